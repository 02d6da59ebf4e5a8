package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/app"
)

// The client API: /api/v1/clients and what hangs off a client. Every
// response is JSON written by writeJSON or writeAPIError; openapi.json
// describes each shape here, and client_api_test.go holds the two together.

// clientFields are the profile fields of a client, as both the list and
// the full resource show them.
type clientFields struct {
	ID             string           `json:"id"`
	Name           string           `json:"name"`
	FirstName      string           `json:"first_name"`
	MiddleName     string           `json:"middle_name"`
	LastName       string           `json:"last_name"`
	Gender         string           `json:"gender"`
	BirthDate      string           `json:"birth_date"`
	PassportNumber string           `json:"passport_number"`
	TaxPIN         string           `json:"tax_pin"`
	Comments       string           `json:"comments"`
	Status         app.ClientStatus `json:"status"`
	OwnerID        string           `json:"owner_id"`
	OwnerName      string           `json:"owner_name"`
	Tags           []string         `json:"tags"`
	Preferences    app.Preferences  `json:"preferences"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
	LastActivityAt time.Time        `json:"last_activity_at"`
}

func clientFieldsOf(c *app.Client) clientFields {
	return clientFields{ID: c.ID, Name: c.Name(), FirstName: c.FirstName, MiddleName: c.MiddleName,
		LastName: c.LastName, Gender: c.Gender, BirthDate: c.BirthDate, PassportNumber: c.PassportNumber,
		TaxPIN: c.TaxPIN, Comments: c.Comments, Status: c.Status, OwnerID: c.OwnerID, OwnerName: c.OwnerName,
		Tags: nonNil(c.Tags), Preferences: c.Preferences, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		LastActivityAt: c.LastActivityAt}
}

// clientResource is one client with everything its profile holds: the
// answer of GET, POST, PATCH and merge.
type clientResource struct {
	clientFields
	// CustomFields are in their canonical text form (see app.CustomField).
	CustomFields map[string]string `json:"custom_fields"`
	Contacts     []app.Contact     `json:"contacts"`
	Addresses    []app.Address     `json:"addresses"`
	Notes        []app.Note        `json:"notes"`
	MergedIDs    []string          `json:"merged_ids"`
	Completeness completeness      `json:"completeness"`
}

type completeness struct {
	Percent int      `json:"percent"`
	Missing []string `json:"missing"`
}

func clientResourceOf(p *app.ClientProfile) clientResource {
	percent, missing := p.Completeness()
	custom := p.Client.CustomValues
	if custom == nil {
		custom = map[string]string{}
	}
	return clientResource{clientFields: clientFieldsOf(p.Client), CustomFields: custom,
		Contacts: nonNil(p.Contacts), Addresses: nonNil(p.Addresses), Notes: nonNil(p.Notes),
		MergedIDs: nonNil(p.MergedIDs), Completeness: completeness{Percent: percent, Missing: nonNil(missing)}}
}

// nonNil makes an empty list [] in JSON rather than null, so clients need
// not tell the two apart.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeClient answers with the client's full resource, read afresh so the
// answer shows what was committed.
func (s *Server) writeClient(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, id string) {
	p, err := t.DB.ClientProfile(r.Context(), id)
	if err != nil {
		s.writeClientError(w, r, err)
		return
	}
	writeJSON(w, status, clientResourceOf(p))
}

// writeClientError writes err; a client merged away answers 301 naming the
// survivor in ref. Only reads get a Location: HTTP clients follow a 301 by
// re-sending as GET, so a write that followed one would answer 200 for a
// change that never happened.
func (s *Server) writeClientError(w http.ResponseWriter, r *http.Request, err error) {
	if ref := app.ErrorRef(err); app.ErrorCode(err) == app.EMOVED && ref != "" && r.Method == http.MethodGet {
		loc := "/api/v1/clients/" + ref + strings.TrimPrefix(r.URL.Path, "/api/v1/clients/"+r.PathValue("id"))
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
	}
	s.writeAPIError(w, r, err)
}

// createClientRequest is app.ClientInput with custom values taken as any
// JSON scalar.
type createClientRequest struct {
	app.ClientInput
	CustomFields customValues `json:"custom_fields"`
}

func (s *Server) apiCreateClient(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var req createClientRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	in := req.ClientInput
	in.CustomFields = req.CustomFields
	c, err := t.DB.CreateClient(r.Context(), in, t.actor())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/clients/"+c.ID)
	s.writeClient(w, r, t, http.StatusCreated, c.ID)
}

func (s *Server) apiGetClient(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.writeClient(w, r, t, http.StatusOK, r.PathValue("id"))
}

// updateClientRequest is app.ClientUpdate (absent or null: unchanged; the
// status included, in the same transaction) with custom values taken as any
// JSON scalar.
type updateClientRequest struct {
	app.ClientUpdate
	CustomFields customValues `json:"custom_fields"`
}

func (s *Server) apiUpdateClient(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var req updateClientRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	id := r.PathValue("id")
	u := req.ClientUpdate
	u.CustomFields = req.CustomFields
	if _, err := t.DB.UpdateClient(r.Context(), id, u, t.actor()); err != nil {
		s.writeClientError(w, r, err)
		return
	}
	s.writeClient(w, r, t, http.StatusOK, id)
}

func (s *Server) apiDeleteClient(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if err := t.DB.DeleteClient(r.Context(), r.PathValue("id"), t.actor()); err != nil {
		s.writeClientError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiAddContact(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var in app.ContactInput
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	c, err := t.DB.AddContact(r.Context(), r.PathValue("id"), in, t.actor())
	if err != nil {
		// The domain names the fields of a contact form ("contact.value");
		// here the body is the contact, so its fields are named bare.
		s.writeClientError(w, r, withoutFieldPrefix(err, "contact."))
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) apiRemoveContact(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if err := t.DB.RemoveContact(r.Context(), r.PathValue("id"), r.PathValue("contactID"), t.actor()); err != nil {
		s.writeClientError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiAddAddress(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var in app.AddressInput
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	a, err := t.DB.AddAddress(r.Context(), r.PathValue("id"), in, t.actor())
	if err != nil {
		s.writeClientError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

func (s *Server) apiRemoveAddress(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if err := t.DB.RemoveAddress(r.Context(), r.PathValue("id"), r.PathValue("addressID"), t.actor()); err != nil {
		s.writeClientError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiAddNote(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var in app.NoteInput
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	n, err := t.DB.AddNote(r.Context(), r.PathValue("id"), in, t.actor())
	if err != nil {
		s.writeClientError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, n)
}

func (s *Server) apiDeleteNote(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if err := t.DB.DeleteNote(r.Context(), r.PathValue("id"), r.PathValue("noteID"), t.actor(), t.can(app.PermManageClients)); err != nil {
		s.writeClientError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiMergeClients(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var in app.MergeInput
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	c, err := t.DB.MergeClients(r.Context(), r.PathValue("id"), in, t.actor())
	if err != nil {
		s.writeClientError(w, r, err)
		return
	}
	s.writeClient(w, r, t, http.StatusOK, c.ID)
}

// clientList is one page of GET /api/v1/clients. NextCursor is null on the
// last page.
type clientList struct {
	Data       []clientSummary `json:"data"`
	NextCursor *string         `json:"next_cursor"`
}

// clientSummary is a client as a list shows it: its profile fields and
// contacts, and for a search what matched.
type clientSummary struct {
	clientFields
	Contacts  []app.Contact    `json:"contacts"`
	Highlight *searchHighlight `json:"highlight,omitempty"`
}

// searchHighlight is what a search matched, as HTML: the matched words in
// <mark>, everything else escaped, ready to put in a page as it is.
type searchHighlight struct {
	Name    string `json:"name,omitempty"`
	Snippet string `json:"snippet,omitempty"`
}

func (s *Server) apiListClients(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	f, err := clientFilterFrom(r)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	page, err := t.DB.SearchClients(r.Context(), f)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	out := clientList{Data: make([]clientSummary, len(page.Hits))}
	for i, h := range page.Hits {
		out.Data[i] = clientSummary{clientFields: clientFieldsOf(h.Client), Contacts: nonNil(h.Contacts)}
		if h.NameMarked != "" || h.Snippet != "" {
			out.Data[i].Highlight = &searchHighlight{Name: markedHTML(h.NameMarked), Snippet: markedHTML(h.Snippet)}
		}
	}
	if page.Next != "" {
		out.NextCursor = &page.Next
	}
	writeJSON(w, http.StatusOK, out)
}

// clientFilterFrom reads the list's query parameters, naming every bad one
// in a single error. The cursor and sort are checked by SearchClients.
func clientFilterFrom(r *http.Request) (app.ClientFilter, error) {
	q := r.URL.Query()
	f := app.ClientFilter{Query: q.Get("q"), Sort: app.ClientSort(q.Get("sort")), Cursor: q.Get("cursor")}
	e := &app.Error{Code: app.EINVALID, Message: "Please correct the query parameters."}
	fail := func(field, msg string) { e.Fields = append(e.Fields, app.FieldError{Field: field, Message: msg}) }
	if v := q.Get("status"); v != "" {
		st := app.ClientStatus(v)
		if !slices.Contains(app.ClientStatuses, st) {
			fail("status", "Choose a status: lead, active, inactive or archived.")
		}
		f.Status = &st
	}
	if v := q.Get("owner_id"); v != "" {
		f.OwnerID = &v
	}
	if v := q.Get("tag"); v != "" {
		f.Tag = &v
	}
	if !slices.Contains([]app.ClientSort{"", app.SortName, app.SortCreated, app.SortActivity}, f.Sort) {
		fail("sort", "Sort by name, created or activity.")
	}
	for _, p := range []struct {
		name string
		dst  **time.Time
		days int // created_to is inclusive: the filter's bound is the next midnight
	}{{"created_from", &f.CreatedFrom, 0}, {"created_to", &f.CreatedTo, 1}} {
		if v := q.Get(p.name); v != "" {
			d, err := time.Parse(time.DateOnly, v)
			if err != nil {
				fail(p.name, "Enter a date as YYYY-MM-DD.")
				continue
			}
			d = d.AddDate(0, 0, p.days)
			*p.dst = &d
		}
	}
	if f.CreatedFrom != nil && f.CreatedTo != nil && !f.CreatedFrom.Before(*f.CreatedTo) {
		fail("created_to", "Must not be before created_from.")
	}
	var ok bool
	if f.Limit, ok = limitFrom(q.Get("limit"), 50); !ok {
		fail("limit", limitMessage)
	}
	return f, e.OrNil()
}

// maxPageSize is the most rows one page of a list holds.
const maxPageSize = 200

var limitMessage = fmt.Sprintf("Enter a whole number from 1 to %d.", maxPageSize)

// limitFrom reads a page size; empty means def.
func limitFrom(v string, def int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 1 && n <= maxPageSize
}

// markedHTML turns a search result's marked text into HTML: each marked
// part in <mark>, every part escaped.
func markedHTML(s string) string {
	var b strings.Builder
	for _, part := range app.SplitMarks(s) {
		if part.Matched {
			b.WriteString("<mark>" + html.EscapeString(part.Text) + "</mark>")
		} else {
			b.WriteString(html.EscapeString(part.Text))
		}
	}
	return b.String()
}

// eventList is one page of a client's timeline, newest first. NextCursor is
// the before of the next page, null on the last.
type eventList struct {
	Data       []eventJSON `json:"data"`
	NextCursor *string     `json:"next_cursor"`
}

// eventJSON is one event of the log. ClientID is the client it happened to,
// which differs from the one asked about for the events of a merged client.
type eventJSON struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	ClientID   string          `json:"client_id"`
	Actor      actorJSON       `json:"actor"`
	OccurredAt time.Time       `json:"occurred_at"`
	Payload    json.RawMessage `json:"payload"`
}

type actorJSON struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *Server) apiClientTimeline(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	q := r.URL.Query()
	f := app.TimelineFilter{Type: q.Get("type"), Before: q.Get("before")}
	if f.Type != "" && !slices.Contains(app.ClientEventTypes, f.Type) {
		s.writeAPIError(w, r, app.InvalidField("type", "Choose an event type: "+strings.Join(app.ClientEventTypes, ", ")+"."))
		return
	}
	var ok bool
	if f.Limit, ok = limitFrom(q.Get("limit"), 30); !ok {
		s.writeAPIError(w, r, app.InvalidField("limit", limitMessage))
		return
	}
	events, next, err := t.DB.ClientTimeline(r.Context(), r.PathValue("id"), f)
	if err != nil {
		s.writeClientError(w, r, err)
		return
	}
	out := eventList{Data: make([]eventJSON, len(events))}
	for i, ev := range events {
		out.Data[i] = eventJSON{ID: ev.ID, Type: ev.Type, ClientID: ev.AggregateID,
			Actor:      actorJSON{Type: ev.Actor.Type, ID: ev.Actor.ID, Name: ev.Actor.Name},
			OccurredAt: ev.OccurredAt.UTC(), Payload: ev.Payload}
	}
	if next != "" {
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
}

// maxBodyBytes caps a request body. A client with every contact, address
// and custom field fits many times over; more is a mistake or an attack.
const maxBodyBytes = 1 << 20

// decodeBody reads one JSON object into dst, refusing unknown fields (a
// misspelt field would otherwise be dropped without a word) and anything
// after the object.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return bodyError(err)
		}
		return app.Errorf(app.EINVALID, "The request body is not valid JSON: it goes on after the object.")
	}
	return nil
}

// bodyError words a decoding error for the API's caller, naming the field
// where there is one.
func bodyError(err error) error {
	var (
		domain  *app.Error
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &domain):
		return domain
	case errors.As(err, &tooBig):
		return app.Errorf(app.EINVALID, "The request body is larger than 1 MiB.")
	case errors.Is(err, io.EOF):
		return app.Errorf(app.EINVALID, "The request body is empty; send a JSON object.")
	case errors.As(err, &syntax):
		return app.Errorf(app.EINVALID, "The request body is not valid JSON: %s (at byte %d).",
			strings.TrimPrefix(syntax.Error(), "json: "), syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return app.Errorf(app.EINVALID, "The request body is not valid JSON: it ends too early.")
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return app.Errorf(app.EINVALID, "The request body must be a JSON object.")
	case errors.As(err, &typeErr):
		return app.InvalidField(jsonPath(typeErr.Field), "Must be "+jsonKind(typeErr.Type)+".")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if unq, uerr := strconv.Unquote(name); uerr == nil {
			name = unq
		}
		return app.InvalidField(name, "There is no field “"+name+"”; see /api/v1/openapi.json for the fields this takes.")
	}
	return app.Errorf(app.EINVALID, "The request body is not valid JSON: %s.", strings.TrimPrefix(err.Error(), "json: "))
}

// jsonPath is a decoding error's field path as the caller wrote it: without
// the Go names of the embedded structs the request types are built from.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	return strings.Join(slices.DeleteFunc(parts, func(p string) bool { return p != "" && p[0] >= 'A' && p[0] <= 'Z' }), ".")
}

// jsonKind names the JSON type a Go type is read from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a " + t.Kind().String()
}

// customValues are custom field values as the API takes them: any JSON
// string, number or boolean, kept as the text app.CustomField.Check reads
// (a number as written, a boolean as "true" or "false"); null is "" and
// clears the value.
type customValues map[string]string

// UnmarshalJSON reads an object of scalars, naming each key whose value is
// an object or an array.
func (v *customValues) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return app.InvalidField("custom_fields", "Send custom fields as an object of key and value.")
	}
	out := make(customValues, len(raw))
	e := &app.Error{Code: app.EINVALID, Message: "Please correct the highlighted fields."}
	for k, r := range raw {
		var s string
		switch {
		case string(r) == "null":
		case string(r) == "true" || string(r) == "false":
			s = string(r)
		case r[0] == '"':
			if err := json.Unmarshal(r, &s); err != nil {
				return err
			}
		case r[0] == '-' || (r[0] >= '0' && r[0] <= '9'):
			s = string(r)
		default:
			e.Fields = append(e.Fields, app.FieldError{Field: "custom_fields." + k,
				Message: "Must be a string, a number, true, false or null."})
			continue
		}
		out[k] = s
	}
	if len(e.Fields) > 0 {
		slices.SortFunc(e.Fields, func(a, b app.FieldError) int { return strings.Compare(a.Field, b.Field) })
		return e
	}
	*v = out
	return nil
}

// withoutFieldPrefix returns err with prefix taken off its field names.
func withoutFieldPrefix(err error, prefix string) error {
	var e *app.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	out := *e
	out.Fields = make([]app.FieldError, len(e.Fields))
	for i, fe := range e.Fields {
		out.Fields[i] = app.FieldError{Field: strings.TrimPrefix(fe.Field, prefix), Message: fe.Message}
	}
	return &out
}
