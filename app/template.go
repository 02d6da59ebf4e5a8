package app

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Template is a ready-made reply: static text (no variables, no nesting)
// that anyone in the workspace can send on any channel. Admins and leads
// write them; Uses counts how often they were sent.
type Template struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Body       string     `json:"body"`
	Uses       int        `json:"uses"`
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Limits of a template.
const (
	MaxTemplateName = 80
	MaxTemplateBody = 4000
)

// TemplateInput is a template as a form or the API gives it.
type TemplateInput struct {
	Name string `json:"name"`
	Body string `json:"body"`
}

// Normalize trims the input and checks its length and characters.
func (in *TemplateInput) Normalize() error {
	in.Name, in.Body = strings.TrimSpace(in.Name), strings.TrimSpace(in.Body)
	e := &Error{Code: EINVALID, Message: "Please correct the highlighted fields."}
	fail := func(field, msg string) { e.Fields = append(e.Fields, FieldError{Field: field, Message: msg}) }
	switch {
	case in.Name == "":
		fail("name", "Give the template a name your team will recognise.")
	case utf8.RuneCountInString(in.Name) > MaxTemplateName || hasControl(in.Name, false):
		fail("name", "A name is at most 80 characters, on one line.")
	}
	switch {
	case in.Body == "":
		fail("body", "Write the text of the reply.")
	case utf8.RuneCountInString(in.Body) > MaxTemplateBody || hasControl(in.Body, true):
		fail("body", "A template is at most 4,000 characters of text.")
	}
	return e.OrNil()
}

// Template event types.
const (
	EventTemplateCreated = "TemplateCreated"
	EventTemplateUpdated = "TemplateUpdated"
	EventTemplateDeleted = "TemplateDeleted"
)
