package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// The conversations API: /api/v1/chats, their messages, and the messages
// search. Every query runs in the token's chat scope (t.scope()): a chat the
// token may not see answers exactly as one that does not exist. openapi.json
// describes each shape here; chat_api_test.go holds the two together.

// chatResource is one chat with its participants: the answer of GET and
// PATCH /chats/{id} and of POST /clients/{id}/chat.
type chatResource struct {
	app.Chat
	Members []tenantdb.ChatMember `json:"members"`
}

// chatList is one page of GET /api/v1/chats. NextCursor is null on the
// last page.
type chatList struct {
	Data       []app.Chat `json:"data"`
	NextCursor *string    `json:"next_cursor"`
}

// messageList is one page of a chat's messages, oldest first. NextCursor is
// the before of the page of older messages, null when HasMore is false.
type messageList struct {
	Data       []app.Message `json:"data"`
	HasMore    bool          `json:"has_more"`
	NextCursor *string       `json:"next_cursor"`
}

// writeChat answers with the chat and its members.
func (s *Server) writeChat(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, c app.Chat) {
	members, err := t.DB.ChatMembers(r.Context(), c.ID)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, status, chatResource{Chat: c, Members: nonNil(members)})
}

// writeChatError writes err; a chat folded into another by a client merge
// answers 301 naming the survivor's chat in ref, with a Location on reads
// only (see writeClientError for why writes get none).
func (s *Server) writeChatError(w http.ResponseWriter, r *http.Request, err error) {
	if ref := app.ErrorRef(err); app.ErrorCode(err) == app.EMOVED && ref != "" && r.Method == http.MethodGet {
		loc := "/api/v1/chats/" + ref + strings.TrimPrefix(r.URL.Path, "/api/v1/chats/"+r.PathValue("id"))
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
	}
	s.writeAPIError(w, r, err)
}

func (s *Server) apiListChats(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	f, err := chatFilterFrom(r)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	page, err := t.DB.ListChats(r.Context(), f, t.scope())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	out := chatList{Data: nonNil(page.Chats)}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	writeJSON(w, http.StatusOK, out)
}

// chatFilterFrom reads the chat list's query parameters, naming every bad
// one in a single error. The cursor is checked by ListChats.
func chatFilterFrom(r *http.Request) (app.ChatFilter, error) {
	q := r.URL.Query()
	f := app.ChatFilter{Cursor: q.Get("cursor")}
	e := &app.Error{Code: app.EINVALID, Message: "Please correct the query parameters."}
	fail := func(field, msg string) { e.Fields = append(e.Fields, app.FieldError{Field: field, Message: msg}) }
	if v := q.Get("status"); v != "" {
		st := app.ChatStatus(v)
		if !slices.Contains(app.ChatStatuses, st) {
			fail("status", "Choose a status: open, snoozed or resolved.")
		}
		f.Status = &st
	}
	switch v := q.Get("assignee"); v {
	case "":
	case "none":
		f.AssigneeID = new(string)
	case "me":
		// A token is not a member of the team, so nothing is assigned to it.
		fail("assignee", "An API token has no chats of its own: give a team member's id, or none for unassigned chats.")
	default:
		f.AssigneeID = &v
	}
	if v := q.Get("unread"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			fail("unread", "Enter true or false.")
		}
		f.Unread = b
	}
	if v := q.Get("transport"); v != "" {
		tr, err := app.ParseTransport("transport", v)
		if err != nil {
			fail("transport", app.ErrorMessage(err))
		}
		f.Transport = &tr
	}
	if v := q.Get("client_id"); v != "" {
		f.ClientID = &v
	}
	var ok bool
	if f.Limit, ok = limitFrom(q.Get("limit"), 50); !ok {
		fail("limit", limitMessage)
	}
	return f, e.OrNil()
}

func (s *Server) apiGetChat(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	c, err := t.DB.ChatByID(r.Context(), r.PathValue("id"), t.scope())
	if err != nil {
		s.writeChatError(w, r, err)
		return
	}
	s.writeChat(w, r, t, http.StatusOK, c)
}

func (s *Server) apiListMessages(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	q := r.URL.Query()
	limit, ok := limitFrom(q.Get("limit"), 50)
	if !ok {
		s.writeAPIError(w, r, app.InvalidField("limit", limitMessage))
		return
	}
	msgs, more, err := t.DB.ListMessages(r.Context(), r.PathValue("id"), t.scope(), q.Get("before"), limit)
	if err != nil {
		s.writeChatError(w, r, err)
		return
	}
	out := messageList{Data: nonNil(msgs), HasMore: more}
	if more && len(msgs) > 0 {
		out.NextCursor = &msgs[0].ID
	}
	writeJSON(w, http.StatusOK, out)
}

// sendMessageRequest is the body of POST /chats/{id}/messages: a message to
// the client, or with note an internal note for the team.
type sendMessageRequest struct {
	Text       string `json:"text"`
	ContactID  string `json:"contact_id"`
	TemplateID string `json:"template_id"`
	Marketing  bool   `json:"marketing"`
	Note       bool   `json:"note"`
}

// check refuses the fields a note cannot use: a note is never sent, so a
// contact, a template use or a marketing flag would be dropped unseen.
func (req sendMessageRequest) check() error {
	if !req.Note {
		return nil
	}
	e := &app.Error{Code: app.EINVALID, Message: "Please correct the highlighted fields."}
	for _, f := range []struct {
		name string
		set  bool
	}{{"contact_id", req.ContactID != ""}, {"template_id", req.TemplateID != ""}, {"marketing", req.Marketing}} {
		if f.set {
			e.Fields = append(e.Fields, app.FieldError{Field: f.name, Message: "An internal note is never sent: leave out " + f.name + "."})
		}
	}
	return e.OrNil()
}

// apiSendMessage writes a message and answers 202: it is queued, and its
// status moves on as the delivery worker sends it. A note is complete when
// written (it is never sent), so it answers 201.
func (s *Server) apiSendMessage(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var req sendMessageRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if err := req.check(); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if strings.TrimSpace(req.TemplateID) != "" && !t.can(app.PermUseTemplates) {
		s.writeAPIError(w, r, app.Errorf(app.EFORBIDDEN, "This token's role (%s) may not use templates.", t.Token.Role.Label()))
		return
	}
	in := app.SendInput{Text: req.Text, ContactID: req.ContactID, TemplateID: req.TemplateID, Marketing: req.Marketing, Note: req.Note}
	m, err := t.DB.SendMessage(r.Context(), r.PathValue("id"), in, t.scope(), t.actor())
	if err != nil {
		s.writeChatError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/messages/"+m.ID)
	if m.Kind == app.KindNote {
		writeJSON(w, http.StatusCreated, m)
		return
	}
	s.enqueueSend(r.Context(), t, m.ID)
	writeJSON(w, http.StatusAccepted, m)
}

// apiStartChat answers the client's chat: 201 when it was made now, 200
// when the client had one.
func (s *Server) apiStartChat(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	c, created, err := t.DB.StartChat(r.Context(), r.PathValue("id"), t.scope(), t.actor())
	if err != nil {
		s.writeClientError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", "/api/v1/chats/"+c.ID)
	}
	s.writeChat(w, r, t, status, c)
}

// updateChatRequest is app.ChatUpdate with its values as the caller wrote
// them, so that each bad one is named as a field.
type updateChatRequest struct {
	AssigneeID   *string `json:"assignee_id"`
	Status       *string `json:"status"`
	SnoozedUntil *string `json:"snoozed_until"`
}

func (req updateChatRequest) update() (app.ChatUpdate, error) {
	u := app.ChatUpdate{AssigneeID: req.AssigneeID}
	e := &app.Error{Code: app.EINVALID, Message: "Please correct the highlighted fields."}
	fail := func(field, msg string) { e.Fields = append(e.Fields, app.FieldError{Field: field, Message: msg}) }
	if req.Status != nil {
		st := app.ChatStatus(*req.Status)
		if !slices.Contains(app.ChatStatuses, st) {
			fail("status", "Choose open, snoozed or resolved.")
		}
		u.Status = &st
	}
	if req.SnoozedUntil != nil {
		at, err := time.Parse(time.RFC3339, *req.SnoozedUntil)
		switch {
		case err != nil:
			fail("snoozed_until", "Enter a time in RFC 3339 form, like 2026-11-24T09:00:00Z.")
		case u.Status == nil || *u.Status != app.ChatSnoozed:
			fail("snoozed_until", "A snooze time goes with status snoozed.")
		}
		u.SnoozedUntil = &at
	}
	return u, e.OrNil()
}

func (s *Server) apiUpdateChat(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var req updateChatRequest
	if err := decodeBody(w, r, &req); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	u, err := req.update()
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	c, err := t.DB.UpdateChat(r.Context(), r.PathValue("id"), u, t.scope(), t.actor())
	if err != nil {
		s.writeChatError(w, r, err)
		return
	}
	s.writeChat(w, r, t, http.StatusOK, c)
}

// markedResult is the answer of POST /chats/{id}/read.
type markedResult struct {
	Marked int `json:"marked"`
}

func (s *Server) apiMarkChatRead(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	n, err := t.DB.MarkChatRead(r.Context(), r.PathValue("id"), t.scope(), t.actor())
	if err != nil {
		s.writeChatError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, markedResult{Marked: n})
}

func (s *Server) apiGetMessage(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	m, err := t.DB.MessageByID(r.Context(), r.PathValue("id"), t.scope())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, m)
}

// apiRetryMessage queues a failed message again and answers 202, as a send does.
func (s *Server) apiRetryMessage(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	m, err := t.DB.RetryMessage(r.Context(), r.PathValue("id"), t.scope(), t.actor())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.enqueueSend(r.Context(), t, m.ID)
	writeJSON(w, http.StatusAccepted, m)
}

// messageSearchList is one page of GET /messages/search, newest first.
// NextCursor is the before of the next page, null on the last.
type messageSearchList struct {
	Data       []messageSearchHit `json:"data"`
	NextCursor *string            `json:"next_cursor"`
}

// messageSearchHit is a message that matched, with an excerpt of its text
// cut into parts: plain text, so the caller escapes it for wherever it goes
// and shows the matched parts as it likes.
type messageSearchHit struct {
	Message      app.Message   `json:"message"`
	ClientName   string        `json:"client_name"`
	SnippetParts []snippetPart `json:"snippet_parts"`
}

type snippetPart struct {
	Text  string `json:"text"`
	Match bool   `json:"match"`
}

// maxSearchPage is the most hits one page of the message search holds.
const maxSearchPage = 100

func (s *Server) apiSearchMessages(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	q := r.URL.Query()
	e := &app.Error{Code: app.EINVALID, Message: "Please correct the query parameters."}
	fail := func(field, msg string) { e.Fields = append(e.Fields, app.FieldError{Field: field, Message: msg}) }
	if len(app.SearchWords(q.Get("q"))) == 0 {
		fail("q", "Enter a word to search for.")
	}
	limit, ok := limitFrom(q.Get("limit"), 20)
	if !ok || limit > maxSearchPage {
		fail("limit", "Enter a whole number from 1 to "+strconv.Itoa(maxSearchPage)+".")
	}
	before := q.Get("before")
	if before != "" {
		// The position must be a message the caller could have been shown;
		// an unknown id would otherwise answer an empty page.
		if _, err := t.DB.MessageByID(r.Context(), before, t.scope()); app.ErrorCode(err) == app.ENOTFOUND {
			fail("before", "No message has that id; pass the next_cursor of the previous page.")
		} else if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
	}
	if err := e.OrNil(); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	hits, next, err := t.DB.SearchMessages(r.Context(), q.Get("q"), t.scope(), before, limit)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	out := messageSearchList{Data: make([]messageSearchHit, len(hits))}
	for i, h := range hits {
		parts := []snippetPart{}
		for _, p := range app.SplitMarks(h.Snippet) {
			parts = append(parts, snippetPart{Text: p.Text, Match: p.Matched})
		}
		out.Data[i] = messageSearchHit{Message: h.Message, ClientName: h.ClientName, SnippetParts: parts}
	}
	if next != "" {
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
}
