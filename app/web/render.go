package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"parley/app"
	"parley/views/errorpage"
	"parley/views/ui"
)

// codeStatus is the one map from domain error codes to HTTP statuses.
var codeStatus = map[string]int{
	app.ECONFLICT:     http.StatusConflict,
	app.EINTERNAL:     http.StatusInternalServerError,
	app.EINVALID:      http.StatusUnprocessableEntity,
	app.ENOTFOUND:     http.StatusNotFound,
	app.EUNAUTHORIZED: http.StatusUnauthorized,
	app.EFORBIDDEN:    http.StatusForbidden,
	app.EGONE:         http.StatusGone,
	app.ERATELIMITED:  http.StatusTooManyRequests,
	app.EUNAVAILABLE:  http.StatusServiceUnavailable,
	app.EDISABLED:     http.StatusForbidden,
	app.EMOVED:        http.StatusMovedPermanently,
}

// errorStatus returns the HTTP status for err.
func errorStatus(err error) int {
	if s, ok := codeStatus[app.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// render writes a component with status. Components get the request's CSP
// nonce through the context.
//
// The page is rendered into memory first and written in one piece with its
// length: a failed render becomes an error page instead of half a page, and
// the response goes out in one write instead of many small chunks.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	buf.Grow(32 << 10)
	if err := c.Render(r.Context(), &buf); err != nil {
		s.log.ErrorContext(r.Context(), "render failed", "err", err)
		status, buf = http.StatusInternalServerError, bytes.Buffer{}
		buf.WriteString("Internal error. It has been logged; please try again.")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// logIfInternal logs an error once, at the HTTP boundary, if it is not a
// domain error whose message is meant for the user.
func (s *Server) logIfInternal(r *http.Request, err error) {
	if app.ErrorCode(err) == app.EINTERNAL {
		s.log.ErrorContext(r.Context(), "internal error", "err", err, "path", r.URL.Path)
	}
}

// renderError shows err as a full error page with its status.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	s.logIfInternal(r, err)
	status := errorStatus(err)
	p := errorpage.Page{Status: status, Title: http.StatusText(status), Message: app.ErrorMessage(err), HomeHref: "/"}
	switch status {
	case http.StatusNotFound:
		p.Title = "Page not found"
	case http.StatusForbidden:
		p.Title = "No access"
	case http.StatusServiceUnavailable:
		p.Title = "Temporarily unavailable"
		p.HomeHref = ""
	case http.StatusInternalServerError:
		p.Title = "Something went wrong"
		p.Message = "Internal error. It has been logged; please try again."
	}
	s.render(w, r, status, errorpage.Error(p))
}

// plainNotFound answers an unknown host or path outside any workspace.
func plainNotFound(w http.ResponseWriter) {
	http.Error(w, "404 page not found", http.StatusNotFound)
}

// apiError is the JSON error body of /api/v1.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Fields  []app.FieldError `json:"fields,omitempty"`
	// Ref names the object the error points to: the client that already has
	// a contact (409), the client a merged one became (301).
	Ref string `json:"ref,omitempty"`
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// application/json is never sniffed as HTML (nosniff is set), so
	// escaping <, > and & would only make the bytes harder to read.
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// writeAPIError writes err in the API's error shape.
func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	s.logIfInternal(r, err)
	if app.ErrorCode(err) == app.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
	}
	writeJSON(w, errorStatus(err), apiError{Error: apiErrorBody{
		Code: app.ErrorCode(err), Message: app.ErrorMessage(err), Fields: app.ErrorFields(err), Ref: app.ErrorRef(err),
	}})
}

// formFrom returns the values of the named form fields, for redisplay.
func formFrom(r *http.Request, names ...string) ui.Form {
	f := ui.Form{Values: map[string]string{}, Errors: map[string]string{}}
	for _, n := range names {
		f.Values[n] = r.PostFormValue(n)
	}
	return f
}

// withError adds err to a form: field errors next to their inputs, anything
// else as the form's message.
func withError(f ui.Form, err error) ui.Form {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	f.Message = app.ErrorMessage(err)
	for _, fe := range app.ErrorFields(err) {
		f.Errors[fe.Field] = fe.Message
	}
	return f
}

// redirect sends the browser to path; htmx requests get HX-Redirect so the
// whole page changes, not a fragment.
func redirect(w http.ResponseWriter, r *http.Request, path string) {
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" {
		w.Header().Set("HX-Redirect", path)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, path, http.StatusSeeOther) // #nosec G710 -- callers pass local paths; a user-supplied next goes through localPath first
}

// localPath returns next if it is a path on this host, "/" otherwise, so a
// crafted ?next= cannot send a user elsewhere after sign-in.
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || u.IsAbs() || u.Host != "" {
		return "/"
	}
	return next
}
