package app

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// NoteType says what a note is about.
type NoteType string

// Note types.
const (
	NoteGeneral    NoteType = "general"
	NoteSales      NoteType = "sales"
	NoteSupport    NoteType = "support"
	NoteCompliance NoteType = "compliance"
)

// NoteTypes lists every note type.
var NoteTypes = []NoteType{NoteGeneral, NoteSales, NoteSupport, NoteCompliance}

// Label is the type's name as shown to people.
func (t NoteType) Label() string {
	if t == "" {
		return ""
	}
	return strings.ToUpper(string(t[:1])) + string(t[1:])
}

// MaxNoteLength is the longest note body Parley keeps, in characters.
const MaxNoteLength = 10000

// Note is a team member's note on a client. Edits keep the earlier text in
// the event log; pinned notes are listed first.
type Note struct {
	ID         string    `json:"id"`
	ClientID   string    `json:"-"`
	Type       NoteType  `json:"type"`
	Body       string    `json:"body"`
	Pinned     bool      `json:"pinned"`
	AuthorID   string    `json:"author_id"`
	AuthorName string    `json:"author_name"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Edited reports whether the note changed after it was written.
func (n Note) Edited() bool { return n.UpdatedAt.After(n.CreatedAt) }

// NoteInput is a note as a form or the API gives it. An empty type means general.
type NoteInput struct {
	Type   NoteType `json:"type"`
	Body   string   `json:"body"`
	Pinned bool     `json:"pinned"`
}

// Normalize trims the body and checks the type and length.
func (in *NoteInput) Normalize() error {
	in.Body = strings.TrimSpace(in.Body)
	if in.Type == "" {
		in.Type = NoteGeneral
	}
	switch {
	case !slices.Contains(NoteTypes, in.Type):
		return InvalidField("type", "Choose a type: general, sales, support or compliance.")
	case in.Body == "":
		return InvalidField("body", "Write something first.")
	case utf8.RuneCountInString(in.Body) > MaxNoteLength:
		return InvalidField("body", "A note can be at most 10,000 characters.")
	}
	return nil
}

// MayChange reports whether actor may edit or delete the note: its author
// may, and so may whoever can manage any client's notes (anyNote).
func (n Note) MayChange(actor Actor, anyNote bool) bool {
	return anyNote || (n.AuthorID != "" && actor.ID == n.AuthorID)
}

// ErrNoteNotYours refuses a change to someone else's note.
func ErrNoteNotYours() error {
	return Errorf(EFORBIDDEN, "Only the note's author, an admin or a lead can change this note.")
}
