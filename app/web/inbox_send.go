package web

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"parley/app"
	"parley/views/client"
	"parley/views/inbox"
	"parley/views/ui"
)

// maxComposerBody bounds a message post: every attachment at its largest,
// plus room for the text.
const maxComposerBody = app.MaxAttachments*app.MaxAttachmentBytes + 1<<20

// sendInputFrom reads the composer: text, contact, template, note mode and
// the attached files (each read to one byte past the limit, so that the
// storage's check names the file that is too large).
func sendInputFrom(w http.ResponseWriter, r *http.Request) (app.SendInput, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxComposerBody)
	err := r.ParseMultipartForm(8 << 20) // #nosec G120 -- the body is capped by http.MaxBytesReader on the line above
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return app.SendInput{}, app.InvalidField("attachments", "Attach at most 10 files of up to 10 MB each to one message.")
	case err != nil && !errors.Is(err, http.ErrNotMultipart):
		return app.SendInput{}, app.InvalidField("attachments", "The message could not be read; please attach the files again.")
	}
	in := app.SendInput{Text: r.PostFormValue("text"), ContactID: r.PostFormValue("contact_id"),
		TemplateID: r.PostFormValue("template_id"), Note: r.PostFormValue("note") == "true",
		ChannelID: r.PostFormValue("channel_id"), Subject: r.PostFormValue("subject"),
		Marketing: r.PostFormValue("marketing") == "true"}
	if r.MultipartForm == nil {
		return in, nil
	}
	for _, fh := range r.MultipartForm.File["files"] {
		if fh.Filename == "" && fh.Size == 0 {
			continue // the empty part of a file input left blank
		}
		if len(in.Uploads) > app.MaxAttachments {
			break // enough for the storage to refuse the count
		}
		u, err := readUpload(fh)
		if err != nil {
			return in, app.InvalidField("attachments", "The file “"+fh.Filename+"” could not be read; please attach it again.")
		}
		in.Uploads = append(in.Uploads, u)
	}
	return in, nil
}

func readUpload(fh *multipart.FileHeader) (app.Upload, error) {
	f, err := fh.Open()
	if err != nil {
		return app.Upload{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, app.MaxAttachmentBytes+1))
	return app.Upload{Filename: fh.Filename, Data: data}, err
}

// sendMessage posts the composer: a message to the client (queued for the
// delivery worker) or an internal note. htmx gets a fresh composer and a
// "chat-sent" event that makes the conversation fetch what is new.
func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("chatID")
	in, err := sendInputFrom(w, r)
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	var m app.Message
	if err == nil {
		m, err = t.DB.SendMessage(r.Context(), id, in, t.scope(), t.actor())
	}
	form := formFrom(r, "text", "contact_id", "template_id", "note", "channel_id", "subject", "marketing")
	if err != nil {
		if !isFormError(err) {
			s.chatError(w, r, err)
			return
		}
		s.refuseMessage(w, r, t, id, withError(form, err))
		return
	}
	if !in.Note {
		s.enqueueSend(r.Context(), t, m.ID)
	}
	if !isFragment(r, "composer") {
		redirect(w, r, chatPath(id, ""))
		return
	}
	c, err := s.freshComposer(r, t, id, ui.Form{Values: map[string]string{"contact_id": form.Value("contact_id")}})
	if err != nil {
		s.chatError(w, r, err)
		return
	}
	c.Focus = true
	w.Header().Set("HX-Trigger", "chat-sent")
	s.render(w, r, http.StatusOK, inbox.ComposerForm(c))
}

// refuseMessage shows the composer again with what was typed and why it
// was refused: in place for htmx (keeping the chosen files unless they
// were the problem), else the whole inbox.
func (s *Server) refuseMessage(w http.ResponseWriter, r *http.Request, t *tenantReq, chatID string, form ui.Form) {
	status := http.StatusUnprocessableEntity
	if isFragment(r, "composer") {
		c, err := s.freshComposer(r, t, chatID, form)
		if err != nil {
			s.chatError(w, r, err)
			return
		}
		c.KeepFiles = form.Error("attachments") == ""
		s.render(w, r, status, inbox.ComposerForm(c))
		return
	}
	c, err := s.conversation(r, t, chatID, url.Values{})
	if err != nil {
		s.chatError(w, r, err)
		return
	}
	c.Composer.Form, c.Composer.Focus = form, true
	s.renderInbox(w, r, t, status, &c)
}

func (s *Server) freshComposer(r *http.Request, t *tenantReq, chatID string, form ui.Form) (inbox.Composer, error) {
	ctx := r.Context()
	chat, err := t.DB.ChatByID(ctx, chatID, t.scope())
	if err != nil {
		return inbox.Composer{}, err
	}
	tm, err := s.loadTeam(ctx, t)
	if err != nil {
		return inbox.Composer{}, err
	}
	return s.composer(ctx, t, chat, nil, tm, form)
}

// retryMessage queues a failed message again.
func (s *Server) retryMessage(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	m, err := t.DB.RetryMessage(r.Context(), id, t.scope(), t.actor())
	if app.ErrorCode(err) == app.ECONFLICT {
		// Sent meanwhile (another retry, a late report): show where it is.
		m, err = t.DB.MessageByID(r.Context(), id, t.scope())
	} else if err == nil {
		s.enqueueSend(r.Context(), t, m.ID)
	}
	if err != nil {
		s.chatError(w, r, err)
		return
	}
	if isFragment(r, "status-"+id) {
		s.render(w, r, http.StatusOK, inbox.MsgFoot(m, true, false))
		return
	}
	redirect(w, r, chatPath(m.ChatID, "#m-"+m.ID))
}

// assignChat gives the chat to a member of the team, or to nobody.
func (s *Server) assignChat(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("chatID")
	assignee := strings.TrimSpace(r.PostFormValue("assignee_id"))
	chat, err := t.DB.UpdateChat(r.Context(), id, app.ChatUpdate{AssigneeID: &assignee}, t.scope(), t.actor())
	msg := "Unassigned."
	if chat.AssigneeName != "" {
		msg = "Assigned to " + chat.AssigneeName + "."
	}
	s.afterChatChange(w, r, t, id, chat, err, msg)
}

// changeChatStatus resolves, reopens or snoozes the chat.
func (s *Server) changeChatStatus(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("chatID")
	st := app.ChatStatus(r.PostFormValue("status"))
	u := app.ChatUpdate{Status: &st}
	var err error
	if st == app.ChatSnoozed {
		var until time.Time
		until, err = snoozeUntil(r.PostFormValue("snooze"), r.PostFormValue("until"), r.PostFormValue("tz"), s.cfg.Now())
		u.SnoozedUntil = &until
	}
	var chat app.Chat
	if err == nil {
		chat, err = t.DB.UpdateChat(r.Context(), id, u, t.scope(), t.actor())
	}
	msg := map[app.ChatStatus]string{app.ChatOpen: "Reopened.", app.ChatResolved: "Resolved.", app.ChatSnoozed: "Snoozed."}[st]
	s.afterChatChange(w, r, t, id, chat, err, msg)
}

// afterChatChange ends a change made from the conversation header: the
// header redrawn for htmx, else back to the chat with a flash message.
func (s *Server) afterChatChange(w http.ResponseWriter, r *http.Request, t *tenantReq, id string, chat app.Chat, err error, ok string) {
	if err != nil && !isFormError(err) {
		s.chatError(w, r, err)
		return
	}
	if !isFragment(r, "chat-head") {
		if err != nil {
			s.flash(r, ui.AlertError, app.ErrorMessage(err))
		} else {
			s.flash(r, ui.AlertSuccess, ok)
		}
		redirect(w, r, chatPath(id, ""))
		return
	}
	status, refused := http.StatusOK, err
	if refused != nil {
		status = http.StatusUnprocessableEntity
		if chat, err = t.DB.ChatByID(r.Context(), id, t.scope()); err != nil {
			s.chatError(w, r, err)
			return
		}
	}
	tm, err := s.loadTeam(r.Context(), t)
	if err != nil {
		s.chatError(w, r, err)
		return
	}
	head := s.chatHead(t, chat, tm, pageQuery(r))
	if refused != nil {
		head.Error = app.ErrorMessage(refused)
	} else {
		head.Success = ok
	}
	s.render(w, r, status, inbox.HeadUpdate(head))
}

// snoozeUntil turns the snooze menu's choice into a time: in an hour,
// tomorrow at 9:00, next Monday at 9:00 (in the browser's time zone when
// it sent one, else UTC) or the time picked.
func snoozeUntil(preset, custom, tz string, now time.Time) (time.Time, error) {
	loc := time.UTC
	if l, err := time.LoadLocation(tz); tz != "" && len(tz) < 64 && err == nil {
		loc = l
	}
	local := now.In(loc)
	nine := func(d time.Time) time.Time { return time.Date(d.Year(), d.Month(), d.Day(), 9, 0, 0, 0, loc) }
	switch preset {
	case "1h":
		return now.Add(time.Hour), nil
	case "tomorrow":
		return nine(local.AddDate(0, 0, 1)), nil
	case "nextweek":
		days := (8 - int(local.Weekday())) % 7
		if days == 0 {
			days = 7
		}
		return nine(local.AddDate(0, 0, days)), nil
	case "custom", "":
		t, err := time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(custom), loc)
		if err != nil {
			return time.Time{}, app.InvalidField("snoozed_until", "Choose a date and time to snooze until.")
		}
		return t, nil
	}
	return time.Time{}, app.InvalidField("snooze", "Choose how long to snooze.")
}

// startChat opens the client's conversation, starting it if they have
// none yet (the client profile's button).
func (s *Server) startChat(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	c, _, err := t.DB.StartChat(r.Context(), r.PathValue("id"), t.scope(), t.actor())
	if err != nil {
		s.clientError(w, r, err)
		return
	}
	redirect(w, r, chatPath(c.ID, ""))
}

// showClientChatButton is the profile's conversation button, loaded after
// the profile: "Open conversation" when the client has a chat the user
// may see, "Start conversation" otherwise.
func (s *Server) showClientChatButton(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	c, err := t.DB.ChatOfClient(r.Context(), id, t.scope())
	if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
		s.clientError(w, r, err)
		return
	}
	if r.Header.Get("HX-Request") != "true" {
		target := "/clients/" + url.PathEscape(id)
		if err == nil {
			target = chatPath(c.ID, "")
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, client.ChatButton(client.ChatLink{ClientID: id, ChatID: c.ID, Unread: c.UnreadCount,
		CanStart: t.can(app.PermSendMessages)}))
}
