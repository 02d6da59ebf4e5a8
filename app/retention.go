package app

import (
	"fmt"
	"time"
)

// RetentionPolicy is how long a workspace keeps what it holds. Zero keeps
// everything, the default until an admin sets a policy. Clients on legal
// hold are exempt from every part of it.
type RetentionPolicy struct {
	// MessagesDays removes (or, with MessagesMode "anonymise", blanks)
	// messages and notes older than this many days.
	MessagesDays int    `json:"messages_days"`
	MessagesMode string `json:"messages_mode"`
	// AttachmentsDays removes files older than this many days; the
	// messages they came with stay.
	AttachmentsDays int `json:"attachments_days"`
	// DeletedClientsDays erases clients this many days after they were
	// deleted (until then a deletion can be undone by the operator).
	DeletedClientsDays int `json:"deleted_clients_days"`
}

// Retention modes for messages.
const (
	RetainDelete    = "delete"
	RetainAnonymise = "anonymise"
)

// maxRetentionDays is ten years: longer is "keep everything".
const maxRetentionDays = 3650

// Normalize checks the policy, naming each bad field.
func (p *RetentionPolicy) Normalize() error {
	e := &Error{Code: EINVALID, Message: "Check the retention policy."}
	days := func(field string, v int) {
		if v < 0 || v > maxRetentionDays {
			e.Fields = append(e.Fields, FieldError{Field: field, Message: "Enter a number of days from 1 to 3650, or 0 to keep everything."})
		}
	}
	days("messages_days", p.MessagesDays)
	days("attachments_days", p.AttachmentsDays)
	days("deleted_clients_days", p.DeletedClientsDays)
	if p.MessagesMode == "" {
		p.MessagesMode = RetainDelete
	}
	if p.MessagesMode != RetainDelete && p.MessagesMode != RetainAnonymise {
		e.Fields = append(e.Fields, FieldError{Field: "messages_mode", Message: "Choose delete or anonymise."})
	}
	return e.OrNil()
}

// Describe says in plain sentences what the policy removes, for the page
// where admins set it; the last sentence says what is always cleaned.
func (p RetentionPolicy) Describe() []string {
	var out []string
	switch {
	case p.MessagesDays == 0:
		out = append(out, "Messages and internal notes are kept for ever.")
	case p.MessagesMode == RetainAnonymise:
		out = append(out, fmt.Sprintf("Messages and internal notes older than %d days lose their text, subject and sender's name, "+
			"and their files; the conversation keeps that they were sent, when and on which channel.", p.MessagesDays))
	default:
		out = append(out, fmt.Sprintf("Messages and internal notes older than %d days are deleted, with their files.", p.MessagesDays))
	}
	if p.AttachmentsDays == 0 {
		out = append(out, "Attachments are kept as long as their messages.")
	} else {
		out = append(out, fmt.Sprintf("Attachments older than %d days are deleted; their messages stay.", p.AttachmentsDays))
	}
	if p.DeletedClientsDays == 0 {
		out = append(out, "Deleted clients stay in the workspace's file (hidden) for ever.")
	} else {
		out = append(out, fmt.Sprintf("Deleted clients are erased for good %d days after they were deleted: profile, contacts, "+
			"notes, consents, conversations and files.", p.DeletedClientsDays))
	}
	out = append(out, "Clients on legal hold are never swept. Expired invitations, sign-in and reset links and sessions "+
		"are always removed, and consents past their expiry become Expired.")
	return out
}

// Cutoff is the time before which something kept for days is swept (the
// zero time when days is 0: nothing is).
func Cutoff(now time.Time, days int) time.Time {
	if days <= 0 {
		return time.Time{}
	}
	return now.AddDate(0, 0, -days)
}

// SweepResult counts what one retention sweep removed (never what it said).
type SweepResult struct {
	Messages        int `json:"messages"`
	Anonymised      int `json:"anonymised"`
	Attachments     int `json:"attachments"`
	Clients         int `json:"clients"`
	Invites         int `json:"invites"`
	Sessions        int `json:"sessions"`
	Links           int `json:"links"`
	ConsentsExpired int `json:"consents_expired"`
	// More says the sweep stopped at its batch budget with work left; the
	// job continues it.
	More bool `json:"more"`
}

// Total is how many things the sweep removed or changed.
func (r SweepResult) Total() int {
	return r.Messages + r.Anonymised + r.Attachments + r.Clients + r.Invites + r.Sessions + r.Links + r.ConsentsExpired
}

// RetentionPreview counts what a sweep under a policy would remove if it
// ran now (in SweepResult's terms, which it matches once the sweep is
// done), and what legal hold keeps from it. The expired invitations,
// links and sessions every sweep cleans are left out: they are not what a
// policy decides.
type RetentionPreview struct {
	Messages    int `json:"messages"`
	Anonymised  int `json:"anonymised"`
	Attachments int `json:"attachments"`
	Clients     int `json:"clients"`
	// Held is what the policy covers but legal hold keeps.
	Held RetentionHeld `json:"held"`
}

// RetentionHeld counts what a policy would sweep but for legal hold.
type RetentionHeld struct {
	Messages    int `json:"messages"`
	Attachments int `json:"attachments"`
	Clients     int `json:"clients"`
}
