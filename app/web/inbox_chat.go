package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/a-h/templ"

	"parley/app"
	"parley/views/inbox"
	"parley/views/ui"
)

// chatError answers an error about a chat: one folded into another by a
// client merge sends the browser to the survivor; an htmx request for a
// pane gets the message in the pane; anything else is an error page.
func (s *Server) chatError(w http.ResponseWriter, r *http.Request, err error) {
	if app.ErrorCode(err) == app.EMOVED {
		redirect(w, r, "/inbox/"+url.PathEscape(app.ErrorRef(err)))
		return
	}
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" {
		s.logIfInternal(r, err)
		msg := app.ErrorMessage(err)
		if app.ErrorCode(err) == app.EINTERNAL {
			msg = "Internal error. It has been logged; please try again."
		}
		s.render(w, r, errorStatus(err), ui.Alert(ui.AlertError, msg))
		return
	}
	s.renderError(w, r, err)
}

// showChat opens a chat, marking it read: the whole inbox, or only the
// conversation pane when a row of the list asks for it.
func (s *Server) showChat(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("chatID")
	c, err := s.conversation(r, t, id, r.URL.Query())
	if err != nil {
		s.chatError(w, r, err)
		return
	}
	// Only a chat with something unread is written to: opening one takes
	// no write lock on the tenant's file otherwise.
	if c.Head.Chat.UnreadCount > 0 {
		if _, err := t.DB.MarkChatRead(r.Context(), id, t.scope(), t.actor()); err != nil {
			s.chatError(w, r, err)
			return
		}
		c.Head.Chat.UnreadCount = 0
	}
	if isFragment(r, "inbox-main") {
		s.render(w, r, http.StatusOK, templ.Join(inbox.Main(c), inbox.ListChatInput(id)))
		return
	}
	s.renderInbox(w, r, t, http.StatusOK, &c)
}

// team is what the conversation needs to know of the team: the people a
// chat can be assigned to and the @mention handles.
type team struct {
	options []ui.Option
	handles []string // of the others, for the composer's hint
	known   map[string]bool
}

func (s *Server) loadTeam(ctx context.Context, t *tenantReq) (team, error) {
	users, err := t.DB.ListUsers(ctx)
	if err != nil {
		return team{}, err
	}
	tm := team{known: map[string]bool{}}
	for _, u := range users {
		if !u.Active() {
			continue
		}
		label := u.Name
		if u.ID == t.User.ID {
			label += " (you)"
		} else {
			tm.handles = append(tm.handles, app.MentionHandle(u))
		}
		tm.options = append(tm.options, ui.Option{Value: u.ID, Label: label})
		tm.known[app.MentionHandle(u)] = true
	}
	slices.Sort(tm.handles)
	return tm, nil
}

// conversation builds the open chat's view: the page of history q asks
// for (the newest by default, ?before= an older one, ?at= the one around
// a message), the header, the composer and the client panel.
func (s *Server) conversation(r *http.Request, t *tenantReq, chatID string, q url.Values) (inbox.Conversation, error) {
	ctx, scope := r.Context(), t.scope()
	chat, err := t.DB.ChatByID(ctx, chatID, scope)
	if err != nil {
		return inbox.Conversation{}, err
	}
	tm, err := s.loadTeam(ctx, t)
	if err != nil {
		return inbox.Conversation{}, err
	}
	c := inbox.Conversation{Head: s.chatHead(t, chat, tm, q)}
	c.History = inbox.History{ChatID: chat.ID, Handles: tm.known, CanSend: t.can(app.PermSendMessages), Now: s.cfg.Now()}
	var older bool
	switch {
	case q.Get("at") != "":
		var newer bool
		c.History.Messages, older, newer, err = t.DB.MessagesAround(ctx, chat.ID, scope, q.Get("at"), 20, 30)
		c.History.Highlight, c.Live = q.Get("at"), !newer
		if newer {
			c.NewerHref = "/inbox/" + url.PathEscape(chat.ID)
		}
	case q.Get("before") != "":
		c.History.Messages, older, err = t.DB.ListMessages(ctx, chat.ID, scope, q.Get("before"), chatPageSize)
		c.NewerHref = "/inbox/" + url.PathEscape(chat.ID)
	default:
		c.History.Messages, older, err = t.DB.ListMessages(ctx, chat.ID, scope, "", chatPageSize)
		c.Live = true
	}
	if isFormError(err) || app.ErrorCode(err) == app.ENOTFOUND {
		// A stale ?at= or ?before= (a message merged away): the newest page.
		c.History.Highlight, c.NewerHref, c.Live = "", "", true
		c.History.Messages, older, err = t.DB.ListMessages(ctx, chat.ID, scope, "", chatPageSize)
	}
	if err != nil {
		return inbox.Conversation{}, err
	}
	msgs := c.History.Messages
	if older && len(msgs) > 0 {
		c.History.OlderHref = chatPath(chat.ID, "/history?before="+url.QueryEscape(msgs[0].ID))
		c.History.OlderPage = chatPath(chat.ID, "?before="+url.QueryEscape(msgs[0].ID))
	}
	c.LiveState = inbox.LiveState{ChatID: chat.ID, Head: inbox.HeadVersion(chat)}
	if len(msgs) > 0 {
		c.LiveState.From, c.LiveState.After = msgs[0].ID, msgs[len(msgs)-1].ID
	}
	if c.Client, err = s.clientPanel(ctx, t, chat); err != nil {
		return inbox.Conversation{}, err
	}
	c.Composer, err = s.composer(ctx, t, chat, c.Client, tm, ui.Form{})
	return c, err
}

func chatPath(chatID, suffix string) string { return "/inbox/" + url.PathEscape(chatID) + suffix }

// chatHead builds the conversation header; q is the page's query, for the
// phone's way back to the same list.
func (s *Server) chatHead(t *tenantReq, chat app.Chat, tm team, q url.Values) inbox.Head {
	back := inboxHref("", inboxFilterFrom(q), strings.TrimSpace(q.Get("q")))
	return inbox.Head{Chat: chat, Users: tm.options, CanWork: t.can(app.PermWorkConversations), Back: back, Now: s.cfg.Now()}
}

// pageQuery is the query of the page an htmx request came from, so that
// fragments keep the list's filter in their links.
func pageQuery(r *http.Request) url.Values {
	u, err := url.Parse(r.Header.Get("HX-Current-URL"))
	if err != nil {
		return url.Values{}
	}
	return u.Query()
}

// clientPanel reads what the panel beside the chat shows of the client;
// it is left out for roles that may not see clients.
func (s *Server) clientPanel(ctx context.Context, t *tenantReq, chat app.Chat) (*inbox.ClientPanel, error) {
	if !t.can(app.PermViewClients) {
		return nil, nil
	}
	p, err := t.DB.ClientProfile(ctx, chat.ClientID)
	if err != nil {
		return nil, err
	}
	const recent = 3
	panel := &inbox.ClientPanel{Profile: p}
	others := 0
	for _, n := range p.Notes { // pinned first, then newest first
		switch {
		case n.Pinned:
			panel.Notes = append(panel.Notes, n)
		case others < recent:
			panel.Notes, others = append(panel.Notes, n), others+1
		default:
			panel.MoreNotes++
		}
	}
	return panel, nil
}

// composer builds the reply form, with form holding what was typed after
// a refused send.
func (s *Server) composer(ctx context.Context, t *tenantReq, chat app.Chat, panel *inbox.ClientPanel, tm team, form ui.Form) (inbox.Composer, error) {
	c := inbox.Composer{ChatID: chat.ID, Handles: tm.handles, Form: form, CanSend: t.can(app.PermSendMessages),
		CanManage: t.can(app.PermManageChannels)}
	var profile *app.ClientProfile
	if panel != nil {
		profile = panel.Profile
	} else {
		var err error
		if profile, err = t.DB.ClientProfile(ctx, chat.ClientID); err != nil {
			return c, err
		}
	}
	for _, k := range profile.Contacts {
		if app.TransportFor(k.Type) != "" {
			c.Contacts = append(c.Contacts, k)
		}
	}
	if c.Form.Values == nil {
		c.Form.Values = map[string]string{}
	}
	if c.Form.Values["contact_id"] == "" {
		c.Form.Values["contact_id"] = defaultContact(chat, profile, c.Contacts)
	}
	chs, err := t.DB.ListChannels(ctx)
	if err != nil {
		return c, err
	}
	c.NoChannel = !slices.ContainsFunc(chs, func(ch app.Channel) bool { return ch.Active })
	for _, ch := range chs {
		if ch.Active && ch.Type != app.ChannelSandbox && ch.Type.Transport() != app.TransportPhone {
			c.Channels = append(c.Channels, ch)
		}
	}
	c.HasEmail = slices.ContainsFunc(c.Contacts, func(k app.Contact) bool { return k.Type == app.ContactEmail })
	return c, nil
}

// defaultContact is the contact a reply goes to unless another is chosen,
// as the storage picks it: the one the client last wrote from, else one
// on their preferred channel, else the oldest.
func defaultContact(chat app.Chat, p *app.ClientProfile, usable []app.Contact) string {
	var pref, first *app.Contact
	for i, k := range usable {
		switch {
		case k.ID == chat.ReplyContactID:
			return k.ID
		case pref == nil && string(app.TransportFor(k.Type)) == p.Client.Preferences.Channel:
			pref = &usable[i]
		}
		if first == nil || k.CreatedAt.Before(first.CreatedAt) {
			first = &usable[i]
		}
	}
	switch {
	case pref != nil:
		return pref.ID
	case first != nil:
		return first.ID
	}
	return ""
}

// showChatHistory is the "load older" of a conversation: the page before
// a message, put above the ones shown.
func (s *Server) showChatHistory(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id, before := r.PathValue("chatID"), r.URL.Query().Get("before")
	if r.Header.Get("HX-Request") != "true" {
		http.Redirect(w, r, chatPath(id, "?before="+url.QueryEscape(before)), http.StatusSeeOther) // #nosec G710 -- chatPath builds a local /inbox path with the id path-escaped
		return
	}
	ctx, scope := r.Context(), t.scope()
	msgs, older, err := t.DB.ListMessages(ctx, id, scope, before, chatPageSize)
	if err != nil {
		s.chatError(w, r, err)
		return
	}
	tm, err := s.loadTeam(ctx, t)
	if err != nil {
		s.chatError(w, r, err)
		return
	}
	h := inbox.History{ChatID: id, Messages: msgs, Handles: tm.known, CanSend: t.can(app.PermSendMessages), Now: s.cfg.Now()}
	if older && len(msgs) > 0 {
		h.OlderHref = chatPath(id, "/history?before="+url.QueryEscape(msgs[0].ID))
		h.OlderPage = chatPath(id, "?before="+url.QueryEscape(msgs[0].ID))
	}
	// The page below starts with its day's separator; when this page ends
	// on that day, the separator moves up to where the day starts.
	if next, err := t.DB.MessageByID(ctx, before, scope); err == nil && inbox.LastDay(msgs, "") == inbox.DayKey(next.CreatedAt) {
		h.DropDay = inbox.DayKey(next.CreatedAt)
	}
	s.render(w, r, http.StatusOK, inbox.Messages(h, true))
}

// liveTicks is how many of the latest outbound messages a live fetch
// redraws the ticks of.
const liveTicks = 30

// showChatLive is what the open conversation fetches on each signal of
// its chat: the messages after the last one shown, the ticks of recent
// outbound messages and the header if it changed. It marks the chat read,
// since the user is looking at it. With nothing to say it answers 204.
func (s *Server) showChatLive(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ctx, scope, q := r.Context(), t.scope(), r.URL.Query()
	id, after := r.PathValue("chatID"), q.Get("after")
	chat, err := t.DB.ChatByID(ctx, id, scope)
	if err != nil {
		// The chat left the user's sight (reassigned, merged): the page
		// keeps what it shows, and the list's refresh drops the row.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if chat.UnreadCount > 0 {
		if _, err := t.DB.MarkChatRead(ctx, id, scope, t.actor()); err != nil {
			s.chatError(w, r, err)
			return
		}
	}
	live := inbox.Live{State: inbox.LiveState{ChatID: id, After: after, Head: inbox.HeadVersion(chat)}}
	h := &live.History
	h.ChatID, h.CanSend, h.Now = id, t.can(app.PermSendMessages), s.cfg.Now()
	if after != "" {
		prev, err := t.DB.MessageByID(ctx, after, scope)
		if err != nil || prev.ChatID != id {
			w.WriteHeader(http.StatusNoContent) // not a message of this chat: nothing can be appended safely
			return
		}
		h.PrevDay = inbox.DayKey(prev.CreatedAt)
	}
	if h.Messages, err = t.DB.MessagesAfter(ctx, id, scope, after); err != nil {
		s.chatError(w, r, err)
		return
	}
	if len(h.Messages) > 0 {
		live.State.After = h.Messages[len(h.Messages)-1].ID
	}
	if live.Ticks, err = s.liveTicks(ctx, t, id, q.Get("from"), h.Messages); err != nil {
		s.chatError(w, r, err)
		return
	}
	headChanged := q.Get("head") != live.State.Head
	if len(h.Messages) == 0 && len(live.Ticks) == 0 && !headChanged {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	tm, err := s.loadTeam(ctx, t)
	if err != nil {
		s.chatError(w, r, err)
		return
	}
	h.Handles = tm.known
	if headChanged {
		head := s.chatHead(t, chat, tm, pageQuery(r))
		live.Head = &head
	}
	s.render(w, r, http.StatusOK, inbox.LiveFragment(live))
}

// liveTicks returns the outbound messages whose ticks a live fetch
// redraws: those shown since the page loaded (from on), less the ones
// being appended now.
func (s *Server) liveTicks(ctx context.Context, t *tenantReq, chatID, from string, appended []app.Message) ([]app.Message, error) {
	// With from empty the page started empty: everything it shows came live.
	outs, err := t.DB.OutboundSince(ctx, chatID, t.scope(), from, liveTicks)
	if app.ErrorCode(err) == app.ENOTFOUND {
		return nil, nil
	}
	fresh := map[string]bool{}
	for _, m := range appended {
		fresh[m.ID] = true
	}
	return slices.DeleteFunc(outs, func(m app.Message) bool { return fresh[m.ID] }), err
}
