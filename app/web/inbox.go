package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"parley/app"
	"parley/views/inbox"
	"parley/views/layout"
)

// The inbox: a chat list (filters, search, live refresh) beside the open
// conversation (inbox_chat.go) and what the team does in it
// (inbox_send.go). Every chat query goes through t.scope(), so a user
// never sees a chat their role does not let them see.

// chatPageSize is how many chats and messages one page shows.
const chatPageSize = 50

// isFragment reports whether an htmx request asks for the element with id
// target (a boosted page load asks for the whole page).
func isFragment(r *http.Request, target string) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" &&
		r.Header.Get("HX-Target") == target
}

// inboxFilterFrom reads the list's filter; values it does not know fall
// back to the defaults rather than failing the page.
func inboxFilterFrom(q url.Values) inbox.Filter {
	var f inbox.Filter
	switch v := q.Get("view"); v {
	case "mine", "unassigned":
		f.View = v
	}
	switch v := q.Get("status"); v {
	case "snoozed", "resolved", "any":
		f.Status = v
	}
	if _, err := app.ParseTransport("transport", q.Get("transport")); err == nil {
		f.Transport = q.Get("transport")
	}
	f.Unread = q.Get("unread") != "" && q.Get("unread") != "0"
	return f
}

// chatFilter turns the list's filter into the storage's.
func chatFilter(f inbox.Filter, t *tenantReq) app.ChatFilter {
	cf := app.ChatFilter{Unread: f.Unread}
	switch f.View {
	case "mine":
		cf.AssigneeID = &t.User.ID
	case "unassigned":
		none := ""
		cf.AssigneeID = &none
	}
	switch f.Status {
	case "any":
	case "":
		open := app.ChatOpen
		cf.Status = &open
	default:
		st := app.ChatStatus(f.Status)
		cf.Status = &st
	}
	if f.Transport != "" {
		tr := app.Transport(f.Transport)
		cf.Transport = &tr
	}
	return cf
}

// chatList reads a page of chats from cursor; before counts the rows the
// page already shows above it.
func (s *Server) chatList(r *http.Request, t *tenantReq, f inbox.Filter, selected, cursor string, limit, before int) inbox.ChatList {
	l := inbox.ChatList{Filter: f, Selected: selected, Now: s.cfg.Now(), Shown: before}
	cf := chatFilter(f, t)
	cf.Limit, cf.Cursor = limit, cursor
	page, err := t.DB.ListChats(r.Context(), cf, t.scope())
	if err != nil {
		s.logIfInternal(r, err)
		l.Error = app.ErrorMessage(err)
		return l
	}
	l.Chats, l.Shown = page.Chats, before+len(page.Chats)
	if page.NextCursor != "" {
		v := f.Values()
		v.Set("cursor", page.NextCursor)
		l.NextHref = "/inbox?" + v.Encode()
		v.Set("fragment", "rows")
		v.Set("shown", strconv.Itoa(l.Shown))
		if selected != "" {
			v.Set("chat", selected)
		}
		l.MoreHref = "/inbox/list?" + v.Encode()
	}
	return l
}

// searchResults runs a message search for the list pane.
func (s *Server) searchResults(r *http.Request, t *tenantReq, query, before string) inbox.SearchResults {
	res := inbox.SearchResults{Query: query, Now: s.cfg.Now()}
	hits, next, err := t.DB.SearchMessages(r.Context(), query, t.scope(), before, 20)
	if err != nil {
		s.logIfInternal(r, err)
		res.Error = app.ErrorMessage(err)
		return res
	}
	res.Hits = hits
	if next != "" {
		v := url.Values{"q": {query}, "before": {next}}
		res.NextHref = "/inbox/search?" + v.Encode()
		v.Set("fragment", "hits")
		res.MoreHref = "/inbox/search?" + v.Encode()
	}
	return res
}

func (s *Server) showHome(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.showInbox(w, r, t)
}

func (s *Server) showInbox(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderInbox(w, r, t, http.StatusOK, nil)
}

// renderInbox renders the whole inbox page with chat open (nil for none).
// The list pane shows search results while the URL carries q.
func (s *Server) renderInbox(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, chat *inbox.Conversation) {
	q := r.URL.Query()
	pane := inbox.ListPane{CanViewAll: t.User.Can(app.PermViewAllConversations)}
	selected := ""
	if chat != nil {
		selected = chat.Head.Chat.ID
	}
	f := inboxFilterFrom(q)
	if query := strings.TrimSpace(q.Get("q")); query != "" {
		res := s.searchResults(r, t, query, q.Get("before"))
		res.Selected = q.Get("at")
		pane.Search, pane.List = &res, inbox.ChatList{Filter: f}
	} else {
		cursor := q.Get("cursor")
		if chat != nil {
			cursor = "" // "before" and "at" belong to the chat, the cursor to the list
		}
		pane.List = s.chatList(r, t, f, selected, cursor, chatPageSize, 0)
	}
	shell := s.shellFor(r, t, layout.SectionInbox, "Inbox", "")
	shell.Full = true
	if n, err := t.DB.UnreadChats(r.Context(), t.scope()); err == nil {
		shell.Unread = &n
	}
	s.render(w, r, status, inbox.Panes(inbox.Page{Shell: shell, List: pane, Chat: chat}))
}

// listChats answers the list pane's fragments: the filter form (the list,
// or search results when it carries q), a live refresh of the rows
// (as many as are shown) and "load more".
func (s *Server) listChats(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	q := r.URL.Query()
	f := inboxFilterFrom(q)
	selected := q.Get("chat")
	shown, _ := strconv.Atoi(q.Get("shown"))
	switch {
	case r.Header.Get("HX-Request") != "true":
		http.Redirect(w, r, inboxHref(selected, f, ""), http.StatusSeeOther) // #nosec G710 -- inboxHref builds a local /inbox path with escaped parts
	case q.Get("fragment") == "rows":
		l := s.chatList(r, t, f, selected, q.Get("cursor"), chatPageSize, shown)
		l.RowsOnly = true
		s.render(w, r, http.StatusOK, inbox.Rows(l))
	case r.Header.Get("HX-Target") == "chat-list":
		l := s.chatList(r, t, f, selected, "", min(max(shown, chatPageSize), 200), 0)
		s.render(w, r, http.StatusOK, templ.Join(inbox.Rows(l), inbox.ShownInput(l.Shown, true)))
	default:
		query := strings.TrimSpace(q.Get("q"))
		w.Header().Set("HX-Push-Url", inboxHref(selected, f, query))
		if query != "" {
			s.render(w, r, http.StatusOK, inbox.SearchBlock(s.searchResults(r, t, query, "")))
			return
		}
		l := s.chatList(r, t, f, selected, "", chatPageSize, 0)
		s.render(w, r, http.StatusOK, templ.Join(inbox.ListBlock(l), inbox.ShownInput(l.Shown, true)))
	}
}

// inboxHref is the address of the inbox with a chat open (or none), the
// list's filter and a search.
func inboxHref(chatID string, f inbox.Filter, query string) string {
	v := f.Values()
	path := "/inbox"
	switch {
	case chatID != "":
		path += "/" + url.PathEscape(chatID)
	case query != "":
		path += "/search"
	}
	if query != "" {
		v.Set("q", query)
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// searchInbox is message search across every chat the user may see: the
// inbox with the hits in the list pane, or the next page of hits.
func (s *Server) searchInbox(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	q := r.URL.Query()
	query := strings.TrimSpace(q.Get("q"))
	if q.Get("fragment") == "hits" && r.Header.Get("HX-Request") == "true" {
		res := s.searchResults(r, t, query, q.Get("before"))
		s.render(w, r, http.StatusOK, inbox.HitItems(res))
		return
	}
	if query == "" {
		http.Redirect(w, r, inboxHref("", inboxFilterFrom(q), ""), http.StatusSeeOther) // #nosec G710 -- inboxHref builds a local /inbox path with escaped parts
		return
	}
	s.renderInbox(w, r, t, http.StatusOK, nil)
}

// showUnread is the navigation's unread badge. A failure shows no badge
// rather than an error inside the navigation.
func (s *Server) showUnread(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	n, err := t.DB.UnreadChats(r.Context(), t.scope())
	if err != nil {
		s.log.WarnContext(r.Context(), "unread count failed", "err", err)
	}
	s.render(w, r, http.StatusOK, layout.UnreadCount(n))
}

// showTemplatePicker lists the templates matching what was typed after "/"
// in the composer.
func (s *Server) showTemplatePicker(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	ts, err := t.DB.ListTemplates(r.Context(), q)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, inbox.TemplateOptions(inbox.TemplatePicker{Query: q, Templates: ts[:min(len(ts), 20)]}))
}
