package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"parley/app"
	"parley/views/settings"
	"parley/views/ui"
)

// Settings → Channels: the provider accounts that carry the team's
// messages. For now that is the sandbox, with its outbox and a form that
// writes to the inbox as a customer would.

func (s *Server) showChannels(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderChannels(w, r, t, http.StatusOK, settings.ChannelsPage{})
}

func (s *Server) renderChannels(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, p settings.ChannelsPage) {
	chs, err := t.DB.ListChannels(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	for _, c := range chs {
		row := settings.ChannelRow{Channel: c}
		if c.Type == app.ChannelSandbox {
			var set app.SandboxSettings
			_ = json.Unmarshal(c.Settings, &set) // written by ConnectChannel; a bad value shows the defaults
			row.Sandbox = &set
		}
		p.Channels = append(p.Channels, row)
	}
	p.Shell = s.settingsShell(r, t, "The accounts that carry your team's messages to clients and back.")
	p.Tabs = settingsTabs(t.User, "channels")
	s.render(w, r, status, settings.Channels(p))
}

// sandboxSettingsFrom reads the sandbox's settings from its form.
func sandboxSettingsFrom(r *http.Request) (app.SandboxSettings, error) {
	set := app.SandboxSettings{AutoReply: r.PostFormValue("auto_reply") == "true"}
	if v := strings.TrimSpace(r.PostFormValue("fail_attempts")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10 {
			return set, app.InvalidField("fail_attempts", "Enter a whole number from 0 to 10.")
		}
		set.FailAttempts = n
	}
	return set, nil
}

func (s *Server) connectChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	set, err := sandboxSettingsFrom(r)
	if err == nil {
		_, err = t.DB.ConnectChannel(r.Context(), app.ChannelSandbox, r.PostFormValue("name"), set, t.actor())
	}
	if isFormError(err) {
		form := withError(formFrom(r, "name", "auto_reply", "fail_attempts"), err)
		s.renderChannels(w, r, t, errorStatus(err), settings.ChannelsPage{Form: form})
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Sandbox connected. Replies in the inbox now go to its outbox.")
	redirect(w, r, "/settings/channels")
}

// saveChannel renames a channel, changes its settings or turns it off.
// Settings Parley has no form for (a real provider's) are kept as they are.
func (s *Server) saveChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	ch, err := t.DB.ChannelByID(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	var set any = ch.Settings
	if ch.Type == app.ChannelSandbox {
		set, err = sandboxSettingsFrom(r)
	}
	if err == nil {
		err = t.DB.UpdateChannel(r.Context(), id, r.PostFormValue("name"), set, r.PostFormValue("active") == "true", t.actor())
	}
	if isFormError(err) {
		form := withError(formFrom(r, "name", "auto_reply", "fail_attempts", "active"), err)
		s.renderChannels(w, r, t, errorStatus(err), settings.ChannelsPage{EditID: id, EditForm: form})
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Channel saved.")
	redirect(w, r, "/settings/channels")
}

// outboxChannel returns the sandbox channel the path names; any other
// channel has no outbox.
func (s *Server) outboxChannel(r *http.Request, t *tenantReq) (app.Channel, error) {
	ch, err := t.DB.ChannelByID(r.Context(), r.PathValue("id"))
	if err == nil && ch.Type != app.ChannelSandbox {
		err = app.Errorf(app.ENOTFOUND, "Channel not found.")
	}
	return ch, err
}

// outboxSize is how many of the newest sandbox messages the outbox shows.
const outboxSize = 100

func (s *Server) showSandboxOutbox(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderOutbox(w, r, t, http.StatusOK, ui.Form{})
}

func (s *Server) renderOutbox(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, form ui.Form) {
	ch, err := s.outboxChannel(r, t)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	entries, err := t.DB.SandboxOutbox(r.Context(), outboxSize)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := settings.OutboxPage{Channel: ch, Form: form, Tabs: settingsTabs(t.User, "channels"),
		Shell: s.settingsShell(r, t, "What the sandbox carried, and a customer's side of the conversation.")}
	for _, e := range entries {
		if e.ChannelID == ch.ID {
			p.Entries = append(p.Entries, settings.OutboxEntry{MessageID: e.Key, Transport: e.Transport,
				Recipient: e.Recipient, Text: e.Text, Attachments: e.Attachments, CreatedAt: e.CreatedAt})
		}
	}
	s.render(w, r, status, settings.Outbox(p))
}

// writeAsCustomer hands a message to the shared inbound path as if a
// customer had written it on the sandbox channel.
func (s *Server) writeAsCustomer(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ch, err := s.outboxChannel(r, t)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	in := app.InboundMessage{ChannelID: ch.ID, SenderName: r.PostFormValue("sender_name"), Text: r.PostFormValue("text"),
		From:              app.ContactInput{Type: app.ContactType(r.PostFormValue("from_type")), Value: r.PostFormValue("from")},
		ProviderMessageID: "sandbox-in-" + app.NewSecret("")[:16]}
	if app.TransportFor(in.From.Type) == "" {
		err = app.InvalidField("from_type", "Choose email, SMS, WhatsApp, Telegram or Instagram.")
	} else {
		_, _, err = t.DB.ReceiveMessage(r.Context(), in)
	}
	if isFormError(err) || app.ErrorCode(err) == app.ENOTFOUND {
		form := withError(formFrom(r, "from_type", "from", "sender_name", "text"), err)
		s.renderOutbox(w, r, t, errorStatus(err), form)
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "The message is in the inbox.")
	redirect(w, r, "/settings/channels/"+url.PathEscape(ch.ID)+"/outbox")
}
