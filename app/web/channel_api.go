package web

import (
	"net/http"
	"time"

	"parley/app"
	"parley/app/channel"
)

// channelJSON is a channel as the API shows it: its settings that may be
// shown again and the names of the secrets that are set, never their values.
type channelJSON struct {
	ID             string          `json:"id"`
	Type           app.ChannelType `json:"type"`
	Name           string          `json:"name"`
	Active         bool            `json:"active"`
	WebhookURL     string          `json:"webhook_url"`
	Settings       map[string]any  `json:"settings"`
	SecretsSet     []string        `json:"secrets_set"`
	CreatedAt      time.Time       `json:"created_at"`
	LastInboundAt  *time.Time      `json:"last_inbound_at"`
	LastOutboundAt *time.Time      `json:"last_outbound_at"`
	LastError      string          `json:"last_error"`
	LastErrorAt    *time.Time      `json:"last_error_at"`
	// RelaySecret is the key a mail relay signs with (email channels).
	RelaySecret string `json:"relay_secret,omitempty"`
}

func toChannelJSON(ch app.Channel) channelJSON {
	set, secrets := publicSettings(ch)
	hook, _ := set[channel.WebhookURLKey].(string)
	delete(set, channel.WebhookURLKey)
	if secrets == nil {
		secrets = []string{}
	}
	out := channelJSON{ID: ch.ID, Type: ch.Type, Name: ch.Name, Active: ch.Active, WebhookURL: hook, Settings: set,
		SecretsSet: secrets, CreatedAt: ch.CreatedAt, LastInboundAt: ch.LastInboundAt, LastOutboundAt: ch.LastOutboundAt,
		LastError: ch.LastError, LastErrorAt: ch.LastErrorAt}
	if ch.Type == app.ChannelEmail {
		out.RelaySecret = ch.Secrets[app.WebhookSecretKey]
	}
	return out
}

type channelList struct {
	Data []channelJSON `json:"data"`
}

func (s *Server) apiListChannels(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	chs, err := t.DB.ListChannels(r.Context())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	out := channelList{Data: []channelJSON{}}
	for _, ch := range chs {
		out.Data = append(out.Data, toChannelJSON(ch))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiGetChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ch, err := t.DB.ChannelByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toChannelJSON(ch))
}

func (s *Server) apiCreateChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var in ChannelInput
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	ch, err := s.storeChannel(r.Context(), t, nil, in)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/channels/"+ch.ID)
	writeJSON(w, http.StatusCreated, toChannelJSON(ch))
}

// apiUpdateChannel changes a channel: a name, some settings (secrets not
// given are kept), or active. The type cannot change.
func (s *Server) apiUpdateChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	old, err := t.DB.ChannelByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	var in ChannelInput
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if in.Type != "" && in.Type != old.Type {
		s.writeAPIError(w, r, app.InvalidField("type", "A channel's type cannot change; connect a new channel instead."))
		return
	}
	if old.Type == app.ChannelSandbox {
		s.writeAPIError(w, r, app.Errorf(app.EINVALID, "The sandbox is set up in Settings → Channels."))
		return
	}
	merged := ChannelInput{Type: old.Type, Name: old.Name, Active: in.Active, Settings: map[string]string{}}
	if in.Name != "" {
		merged.Name = in.Name
	}
	current, _ := publicSettings(old)
	for k, v := range current {
		if str, ok := v.(string); ok && k != channel.WebhookURLKey {
			merged.Settings[k] = str
		}
	}
	for k, v := range in.Settings {
		merged.Settings[k] = v
	}
	ch, err := s.storeChannel(r.Context(), t, &old, merged)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toChannelJSON(ch))
}

func (s *Server) apiDeleteChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ch, err := t.DB.ChannelByID(r.Context(), r.PathValue("id"))
	if err == nil {
		_, err = s.dropChannel(r.Context(), t, ch)
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// channelCheck is the answer of the test call: what the provider said.
type channelCheck struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

func (s *Server) apiTestChannel(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	ch, err := t.DB.ChannelByID(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	ok, msg := s.checkChannel(r, ch)
	writeJSON(w, http.StatusOK, channelCheck{OK: ok, Message: msg})
}

// checkChannel asks the provider whether the channel's credentials work.
func (s *Server) checkChannel(r *http.Request, ch app.Channel) (bool, string) {
	d, ok := s.driver(ch.Type)
	if !ok {
		return false, "Parley cannot test " + string(ch.Type) + " channels."
	}
	if ch.SecretsUnreadable {
		return false, ch.LastError
	}
	found, err := d.Check(r.Context(), ch)
	if err != nil {
		return false, err.Error()
	}
	return true, found
}
