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
// messages. Real providers are connected, edited and tested through their
// driver (channel_save.go); the sandbox has its own form, an outbox and a
// form that writes to the inbox as a customer would.

func (s *Server) showChannels(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderChannels(w, r, t, http.StatusOK, settings.ChannelsPage{})
}

// showNewChannel opens the connect form of one type (?type=), for a link
// that goes straight to it.
func (s *Server) showNewChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	typ := app.ChannelType(r.URL.Query().Get("type"))
	if _, ok := s.driver(typ); !ok {
		s.renderError(w, r, app.Errorf(app.ENOTFOUND, "Parley cannot connect this type of channel here."))
		return
	}
	s.renderChannels(w, r, t, http.StatusOK, settings.ChannelsPage{ConnectType: typ})
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
		} else if d, ok := s.driver(c.Type); ok {
			row.Provider = s.providerView(d.Spec(), c, s.webhookURL(t.Tenant, c.ID))
		}
		p.Channels = append(p.Channels, row)
	}
	for _, typ := range app.ChannelTypes {
		if d, ok := s.driver(typ); ok {
			p.Connect = append(p.Connect, settings.ConnectOption{Spec: d.Spec(), Fields: formFields(d.Spec(), nil, s.cfg.AllowAPIBaseURL)})
		}
	}
	p.Shell = s.settingsShell(r, t, "The accounts that carry your team's messages to clients and back.")
	p.Tabs = settingsTabs(t.User, "channels")
	s.render(w, r, status, settings.Channels(p))
}

// providerView is what a real provider's card shows: its public settings
// in the spec's order, and for each secret only whether it is saved. The
// webhook URL is computed from the configuration, like the one the
// provider's requests are checked against, rather than read back.
func (s *Server) providerView(spec app.ChannelSpec, ch app.Channel, hook string) *settings.ProviderView {
	v := &settings.ProviderView{Spec: spec, Fields: formFields(spec, &ch, s.cfg.AllowAPIBaseURL)}
	if spec.Webhook {
		v.WebhookURL = hook
	}
	if ch.Type == app.ChannelEmail {
		v.RelaySecret = ch.Secrets[app.WebhookSecretKey]
	}
	for _, f := range v.Fields {
		switch {
		case f.Secret:
			v.Settings = append(v.Settings, settings.SettingValue{Label: f.Label, Secret: true, Saved: f.Saved})
		case f.Value != "":
			v.Settings = append(v.Settings, settings.SettingValue{Label: f.Label, Value: f.Value})
		case f.Default != "":
			v.Settings = append(v.Settings, settings.SettingValue{Label: f.Label, Value: f.Default + " (default)"})
		}
	}
	return v
}

// formFields are the inputs of a provider's form: the spec's settings,
// then the API base URL every channel accepts. With ch (an edit) they carry
// its public values and which secrets are saved, never a secret's value.
func formFields(spec app.ChannelSpec, ch *app.Channel, allowBaseURL bool) []settings.FormField {
	var public map[string]any
	if ch != nil {
		public, _ = publicSettings(*ch)
	}
	fields := make([]settings.FormField, 0, len(spec.Fields)+1)
	for _, f := range spec.Fields {
		ff := settings.FormField{SettingField: f}
		if f.Secret {
			ff.Saved = ch != nil && ch.Secrets[f.Key] != ""
		} else {
			ff.Value = settingText(public[f.Key])
		}
		fields = append(fields, ff)
	}
	if !allowBaseURL {
		return fields // only the operator can allow another API host
	}
	base := settings.FormField{Advanced: true, Value: settingText(public[apiBaseURLKey]), SettingField: app.SettingField{
		Key: apiBaseURLKey, Label: "API base URL", Kind: "url",
		Help: "Leave empty for the provider's own API. Set it only for a regional endpoint or your own API server."}}
	return append(fields, base)
}

// settingText shows a public setting's JSON value as the form had it.
func settingText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// providerInput reads a provider channel's form: every field of the spec,
// an empty secret meaning "keep the saved one".
func providerInput(r *http.Request, typ app.ChannelType, fields []settings.FormField) ChannelInput {
	in := ChannelInput{Type: typ, Name: r.PostFormValue("name"), Settings: map[string]string{}}
	for _, f := range fields {
		in.Settings[f.Key] = r.PostFormValue(settings.FieldName(f.Key))
	}
	return in
}

// providerFormFrom is a refused provider form as typed, secrets left out:
// they are never sent back to the browser.
func providerFormFrom(r *http.Request, fields []settings.FormField, extra ...string) ui.Form {
	names := append([]string{"name"}, extra...)
	for _, f := range fields {
		if !f.Secret {
			names = append(names, settings.FieldName(f.Key))
		}
	}
	return formFrom(r, names...)
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

// connectChannel connects a provider's channel (the form's type), or the
// sandbox when the form names no type.
func (s *Server) connectChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if typ := app.ChannelType(r.PostFormValue("type")); typ != "" && typ != app.ChannelSandbox {
		s.connectProvider(w, r, t, typ)
		return
	}
	set, err := sandboxSettingsFrom(r)
	if err == nil {
		_, err = t.DB.ConnectChannel(r.Context(), app.ChannelSandbox, r.PostFormValue("name"), set, nil, t.actor())
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

// connectProvider checks and saves a new provider channel; refused, the
// page comes back with that type's form open, as typed but for secrets.
func (s *Server) connectProvider(w http.ResponseWriter, r *http.Request, t *tenantReq, typ app.ChannelType) {
	d, ok := s.driver(typ)
	if !ok {
		err := app.InvalidField("type", "This server cannot connect “"+string(typ)+"” channels: choose one of the types below.")
		s.renderChannels(w, r, t, errorStatus(err), settings.ChannelsPage{ConnectType: typ, ConnectForm: withError(ui.Form{}, err)})
		return
	}
	fields := formFields(d.Spec(), nil, s.cfg.AllowAPIBaseURL)
	ch, err := s.storeChannel(r.Context(), t, nil, providerInput(r, typ, fields))
	if isFormError(err) {
		form := withError(providerFormFrom(r, fields), err)
		s.renderChannels(w, r, t, errorStatus(err), settings.ChannelsPage{ConnectType: typ, ConnectForm: form})
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, settings.ConnectedMessage(ch))
	redirect(w, r, channelAnchor(ch.ID))
}

// channelAnchor is the settings page scrolled to a channel's card.
func channelAnchor(id string) string { return "/settings/channels#channel-" + url.PathEscape(id) }

// saveChannel renames a channel, changes its settings or turns it off. A
// provider's channel goes through its driver like a new one; a secret left
// empty keeps the saved one.
func (s *Server) saveChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	id := r.PathValue("id")
	ch, err := t.DB.ChannelByID(r.Context(), id)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if ch.Type != app.ChannelSandbox {
		s.saveProvider(w, r, t, ch)
		return
	}
	set, err := sandboxSettingsFrom(r)
	if err == nil {
		err = t.DB.UpdateChannel(r.Context(), id, r.PostFormValue("name"), set, nil, r.PostFormValue("active") == "true", t.actor())
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

func (s *Server) saveProvider(w http.ResponseWriter, r *http.Request, t *tenantReq, old app.Channel) {
	d, ok := s.driver(old.Type)
	if !ok {
		s.renderError(w, r, app.Errorf(app.EINVALID, "This server cannot connect %s channels, so this one cannot be changed; remove it instead.", old.Type))
		return
	}
	fields := formFields(d.Spec(), &old, s.cfg.AllowAPIBaseURL)
	in := providerInput(r, old.Type, fields)
	active := r.PostFormValue("active") == "true"
	in.Active = &active
	_, err := s.storeChannel(r.Context(), t, &old, in)
	if isFormError(err) {
		form := withError(providerFormFrom(r, fields, "active"), err)
		s.renderChannels(w, r, t, errorStatus(err), settings.ChannelsPage{EditID: old.ID, EditForm: form})
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Channel saved.")
	redirect(w, r, channelAnchor(old.ID))
}

// testChannel asks the provider whether a channel's credentials work. With
// htmx the answer replaces the card's result area; without, it is flashed.
func (s *Server) testChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	fragment := r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true"
	ch, err := t.DB.ChannelByID(r.Context(), r.PathValue("id"))
	if err != nil && fragment && app.ErrorCode(err) == app.ENOTFOUND {
		s.render(w, r, http.StatusNotFound, settings.ChannelCheck(settings.CheckResult{Message: app.ErrorMessage(err)}))
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	ok, msg := s.checkChannel(r, ch)
	res := settings.CheckResult{OK: ok, Message: msg}
	if fragment {
		s.render(w, r, http.StatusOK, settings.ChannelCheck(res))
		return
	}
	kind := ui.AlertSuccess
	if !ok {
		kind = ui.AlertError
	}
	s.flash(r, kind, res.Text())
	redirect(w, r, channelAnchor(ch.ID))
}

// removeChannel removes a channel after the card's confirmation: it stops
// sending and receiving, its messages stay, queued ones on it fail.
func (s *Server) removeChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ch, err := t.DB.ChannelByID(r.Context(), r.PathValue("id"))
	var warning string
	if err == nil {
		warning, err = s.dropChannel(r.Context(), t, ch)
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, strings.TrimSpace("“"+ch.Name+"” removed. Its conversations and messages stay. "+warning))
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
