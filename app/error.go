// Package app holds Parley's domain: its types, rules, errors and permissions.
// It imports no other package of Parley's.
package app

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in app/web.
const (
	ECONFLICT     = "conflict"     // the change clashes with existing data
	EINTERNAL     = "internal"     // a bug or an outage; details are logged, not shown
	EINVALID      = "invalid"      // the input is wrong; Fields says where
	ENOTFOUND     = "not_found"    // missing, or belongs to another tenant
	EUNAUTHORIZED = "unauthorized" // not signed in, or bad credentials
	EFORBIDDEN    = "forbidden"    // signed in, but the role may not do this
	EGONE         = "gone"         // a link that expired or was already used
	ERATELIMITED  = "rate_limited" // too many attempts; try again later
	EUNAVAILABLE  = "unavailable"  // the tenant or a dependency cannot serve now
	EDISABLED     = "disabled"     // the workspace was disabled by the operator
	EMOVED        = "moved"        // merged into another object; Ref names it
)

// Error is a domain error whose message is safe to show to the user.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	// Ref is the id of the object the error points to: the client that
	// already has a contact, or the client a merged one became.
	Ref string
}

// FieldError names one input field and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("parley error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidField returns an EINVALID error for a single field.
func InvalidField(field, message string) *Error {
	return &Error{Code: EINVALID, Message: message, Fields: []FieldError{{Field: field, Message: message}}}
}

// OrNil returns e if it names a field, nil otherwise: how a validation
// that collects field errors ends. With one problem, the message says
// which, wherever it is shown.
func (e *Error) OrNil() error {
	switch len(e.Fields) {
	case 0:
		return nil
	case 1:
		e.Message = e.Fields[0].Message
	}
	return e
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, EINTERNAL otherwise.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; internal errors get a generic one.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorFields returns the field errors carried by err, if any.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// ErrorRef returns the Ref of err if it is (or wraps) an *Error.
func ErrorRef(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Ref
	}
	return ""
}
