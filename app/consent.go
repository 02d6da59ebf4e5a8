package app

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// ConsentPurpose is what a client agrees to be contacted or profiled for:
// the built-in purposes, or a workspace's own (a slug).
type ConsentPurpose string

// Built-in purposes.
const (
	PurposeMarketing       ConsentPurpose = "marketing"
	PurposeAnalytics       ConsentPurpose = "analytics"
	PurposePersonalisation ConsentPurpose = "personalisation"
)

// ConsentPurposes are the built-in purposes, in the order pages list them.
var ConsentPurposes = []ConsentPurpose{PurposeMarketing, PurposeAnalytics, PurposePersonalisation}

var purposePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,39}$`)

// Label is the purpose for reading.
func (p ConsentPurpose) Label() string {
	switch p {
	case PurposeMarketing:
		return "Marketing"
	case PurposeAnalytics:
		return "Analytics"
	case PurposePersonalisation:
		return "Personalisation"
	}
	return strings.ReplaceAll(string(p), "_", " ")
}

// ConsentState is where one consent stands.
type ConsentState string

// Consent states. A consent starts NotRequested, is asked for (Pending),
// answered (Granted or Denied); a grant ends by the client (Revoked) or by
// time (Expired); and a client may grant again.
const (
	ConsentNotRequested ConsentState = "not_requested"
	ConsentPending      ConsentState = "pending"
	ConsentGranted      ConsentState = "granted"
	ConsentDenied       ConsentState = "denied"
	ConsentRevoked      ConsentState = "revoked"
	ConsentExpired      ConsentState = "expired"
)

// consentMoves are the state machine's edges. A consent collected at once
// (a ticked box on a form) may go from NotRequested straight to its answer.
var consentMoves = map[ConsentState][]ConsentState{
	ConsentNotRequested: {ConsentPending, ConsentGranted, ConsentDenied},
	ConsentPending:      {ConsentGranted, ConsentDenied},
	ConsentGranted:      {ConsentRevoked, ConsentExpired, ConsentGranted},
	ConsentDenied:       {ConsentPending, ConsentGranted},
	ConsentRevoked:      {ConsentPending, ConsentGranted},
	ConsentExpired:      {ConsentPending, ConsentGranted},
}

// CanMove reports whether a consent may go from s to to. Granted to
// Granted renews a grant (a new expiry).
func (s ConsentState) CanMove(to ConsentState) bool {
	for _, t := range consentMoves[s] {
		if t == to {
			return true
		}
	}
	return false
}

// Label is the state for reading.
func (s ConsentState) Label() string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(string(s[:1])) + strings.ReplaceAll(string(s[1:]), "_", " ")
}

// ConsentSource says where a consent change came from.
type ConsentSource string

// Consent sources.
const (
	SourceTeam      ConsentSource = "team"      // recorded by a teammate (a call, a letter)
	SourceForm      ConsentSource = "form"      // a web form
	SourcePortal    ConsentSource = "portal"    // the client in the customer portal
	SourceAPI       ConsentSource = "api"       // an integration
	SourceImport    ConsentSource = "import"    // a data import
	SourceKeyword   ConsentSource = "keyword"   // SMS STOP / START
	SourceRetention ConsentSource = "retention" // the expiry sweep
)

// AnyChannel is a consent's channel when it covers every transport.
const AnyChannel = ""

// Consent is the current state of one client's consent to one purpose on
// one channel (a transport, or AnyChannel).
type Consent struct {
	ClientID  string         `json:"-"`
	Purpose   ConsentPurpose `json:"purpose"`
	Channel   Transport      `json:"channel"`
	State     ConsentState   `json:"state"`
	Source    ConsentSource  `json:"source"`
	ExpiresAt *time.Time     `json:"expires_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// Allows reports whether the consent permits its purpose at time now.
func (c Consent) Allows(now time.Time) bool {
	return c.State == ConsentGranted && (c.ExpiresAt == nil || now.Before(*c.ExpiresAt))
}

// StateAt is the consent's state as it holds at time now: a grant past its
// expiry is Expired, even before the daily sweep records it.
func (c Consent) StateAt(now time.Time) ConsentState {
	if c.State == ConsentGranted && !c.Allows(now) {
		return ConsentExpired
	}
	return c.State
}

// ConsentChange is one recorded change of a consent; changes are never
// edited or deleted.
type ConsentChange struct {
	ID        string         `json:"id"`
	Purpose   ConsentPurpose `json:"purpose"`
	Channel   Transport      `json:"channel"`
	From      ConsentState   `json:"from"`
	To        ConsentState   `json:"to"`
	Source    ConsentSource  `json:"source"`
	Actor     Actor          `json:"actor"`
	Note      string         `json:"note,omitempty"`
	ExpiresAt *time.Time     `json:"expires_at"`
	At        time.Time      `json:"at"`
}

// ConsentInput records a consent change.
type ConsentInput struct {
	Purpose   ConsentPurpose `json:"purpose"`
	Channel   Transport      `json:"channel"`
	State     ConsentState   `json:"state"`
	Source    ConsentSource  `json:"source"`
	ExpiresAt *time.Time     `json:"expires_at"`
	Note      string         `json:"note"`
}

// Normalize checks the input's shape (the move itself is checked against
// the stored state).
func (in *ConsentInput) Normalize(now time.Time) error {
	e := &Error{Code: EINVALID, Message: "Check the consent."}
	add := func(field, msg string) { e.Fields = append(e.Fields, FieldError{Field: field, Message: msg}) }
	in.Purpose = ConsentPurpose(strings.ToLower(strings.TrimSpace(string(in.Purpose))))
	if !purposePattern.MatchString(string(in.Purpose)) {
		add("purpose", "Name the purpose: marketing, analytics, personalisation, or your own (2–40 lower-case letters, digits, - or _).")
	}
	in.Channel = Transport(strings.ToLower(strings.TrimSpace(string(in.Channel))))
	if !IsConsentChannel(in.Channel) {
		add("channel", "Choose a channel (email, sms, whatsapp, telegram, instagram, website, phone) or leave it empty for all.")
	}
	switch in.State {
	case ConsentPending, ConsentGranted, ConsentDenied, ConsentRevoked, ConsentExpired:
	default:
		add("state", "Choose pending, granted, denied, revoked or expired.")
	}
	switch in.Source {
	case "":
		in.Source = SourceTeam
	case SourceTeam, SourceForm, SourcePortal, SourceAPI, SourceImport, SourceKeyword:
		// SourceRetention is the expiry sweep's own: it is not given.
	default:
		add("source", "Choose team, form, portal, api, import or keyword.")
	}
	if in.ExpiresAt != nil && (in.State != ConsentGranted || !in.ExpiresAt.After(now)) {
		add("expires_at", "Only a grant can expire, and its expiry must be in the future.")
	}
	in.Note = strings.TrimSpace(in.Note)
	if len([]rune(in.Note)) > 500 || hasControl(in.Note, true) {
		add("note", "Keep the note under 500 characters.")
	}
	return e.OrNil()
}

// IsConsentChannel reports whether a consent can be given on t: a
// transport, or AnyChannel.
func IsConsentChannel(t Transport) bool {
	return t == AnyChannel || slices.Contains(Transports, t)
}

// ConsentChannelLabel is a consent's channel for reading.
func ConsentChannelLabel(t Transport) string {
	if t == AnyChannel {
		return "All channels"
	}
	return t.Label()
}

// Label is the source for reading.
func (s ConsentSource) Label() string {
	switch s {
	case SourceTeam:
		return "Team"
	case SourceForm:
		return "Web form"
	case SourcePortal:
		return "Customer portal"
	case SourceAPI:
		return "API"
	case SourceImport:
		return "Import"
	case SourceKeyword:
		return "SMS keyword"
	case SourceRetention:
		return "Expiry"
	}
	return string(s)
}

// ConsentStates are the states a consent can be found in, in the order
// pages count them. Not requested is every client with no consent to a
// purpose, so nothing is stored for it.
var ConsentStates = []ConsentState{ConsentGranted, ConsentPending, ConsentDenied, ConsentRevoked, ConsentExpired}

// ConsentFilter selects the consents to one purpose in one state, for the
// purpose queries (Settings → Consents and GET /api/v1/consents). The
// state is as it holds now (Consent.StateAt): a grant past its expiry is
// found as Expired, not Granted.
type ConsentFilter struct {
	Purpose ConsentPurpose
	State   ConsentState
	// Channel narrows the list to one channel; AnyChannel selects the
	// consents given for every channel. Nil lists all of them.
	Channel *Transport
	// Cursor is the Next of the page before, with the same filter.
	Cursor string
	Limit  int
}

// Normalize checks the filter, naming each bad field.
func (f *ConsentFilter) Normalize() error {
	e := &Error{Code: EINVALID, Message: "Check the consent query."}
	add := func(field, msg string) { e.Fields = append(e.Fields, FieldError{Field: field, Message: msg}) }
	f.Purpose = ConsentPurpose(strings.ToLower(strings.TrimSpace(string(f.Purpose))))
	if !purposePattern.MatchString(string(f.Purpose)) {
		add("purpose", "Name the purpose: marketing, analytics, personalisation, or your own (2–40 lower-case letters, digits, - or _).")
	}
	switch {
	case f.State == ConsentNotRequested:
		add("state", "Not requested means no consent was recorded, so there is none to list: choose granted, pending, denied, revoked or expired.")
	case !slices.Contains(ConsentStates, f.State):
		add("state", "Choose granted, pending, denied, revoked or expired.")
	}
	if f.Channel != nil && !IsConsentChannel(*f.Channel) {
		add("channel", "Choose a channel (email, sms, whatsapp, telegram, instagram, website, phone), or all for the consents given for every channel.")
	}
	return e.OrNil()
}

// ClientConsent is one consent found by a purpose query, with what a list
// shows of its client.
type ClientConsent struct {
	Consent
	ClientName string
	// Since is when the consent took the state it is listed in: its last
	// change, or the expiry of a grant past it that the sweep has not
	// recorded yet (whose State is then Expired).
	Since time.Time
}

// ConsentPage is one page of a purpose query, the most recent change
// first. Next is the cursor of the page after; empty on the last.
type ConsentPage struct {
	Consents []ClientConsent
	Next     string
}

// ConsentTally counts, for one purpose, the live clients with a consent in
// each state (as it holds now). A client with consents on several channels
// counts once in each state they are in, so a purpose's states may add up
// to more than its clients; States[ConsentNotRequested] counts the live
// clients with no consent to the purpose at all.
type ConsentTally struct {
	Purpose ConsentPurpose
	States  map[ConsentState]int
}

// ConsentSummary is the tally of every purpose: the built-in ones first,
// then the workspace's own by name.
type ConsentSummary struct {
	// Clients is how many live clients the workspace has.
	Clients  int
	Purposes []ConsentTally
}
