package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"

	"parley/app"
	"parley/app/channel"
	"parley/tenantdb"
)

// ChannelInput is a channel as an admin gives it (the settings form and
// POST /api/v1/channels): every setting as text, secrets included.
type ChannelInput struct {
	Type     app.ChannelType   `json:"type"`
	Name     string            `json:"name"`
	Settings map[string]string `json:"settings"`
	Active   *bool             `json:"active"`
}

// apiBaseURLKey is the setting every channel accepts to point it at another
// API host than the provider's (a regional endpoint, or a test's fake).
const apiBaseURLKey = "api_base_url"

// webhookURL is the exact public URL a provider calls for a channel, from
// the configured scheme and base domain (not the request's Host), since
// Twilio signs the URL it was given and a proxy may rewrite the Host.
func (s *Server) webhookURL(t *app.Tenant, channelID string) string {
	scheme := "http"
	if s.cfg.HTTPS {
		scheme = "https"
	}
	return scheme + "://" + t.Slug + "." + s.cfg.BaseDomain + "/hooks/" + url.PathEscape(channelID)
}

// driver returns the provider package for a channel type.
func (s *Server) driver(typ app.ChannelType) (app.Driver, bool) {
	d, ok := s.cfg.Drivers[typ]
	return d, ok
}

// storeChannel creates a channel (old is nil) or changes one. Settings are
// checked by the provider package, split into the ones that may be shown
// again and the secrets (sealed at rest), and the webhook is registered
// with providers that need it before anything is stored, so a token the
// provider refuses saves nothing. A secret left blank on an update keeps
// the stored one.
func (s *Server) storeChannel(ctx context.Context, t *tenantReq, old *app.Channel, in ChannelInput) (app.Channel, error) {
	d, ok := s.driver(in.Type)
	if !ok {
		return app.Channel{}, app.InvalidField("type", "Choose one of: "+channelTypeList()+".")
	}
	spec := d.Spec()
	set := map[string]string{}
	errs := app.Error{Code: app.EINVALID, Message: "Check the channel's settings."}
	for k, v := range in.Settings {
		if _, known := spec.Field(k); !known && k != apiBaseURLKey {
			errs.Fields = append(errs.Fields, app.FieldError{Field: "settings." + k, Message: "Unknown setting for a " + spec.Label + " channel."})
			continue
		}
		set[k] = strings.TrimSpace(v)
	}
	if err := errs.OrNil(); err != nil {
		return app.Channel{}, err
	}
	id := tenantdb.NewChannelID()
	var kept []string // secrets carried over from the stored channel
	if old != nil {
		id = old.ID
		for _, f := range spec.Fields {
			if f.Secret && set[f.Key] == "" && old.Secrets[f.Key] != "" {
				set[f.Key] = old.Secrets[f.Key]
				kept = append(kept, f.Key)
			}
		}
		if _, given := in.Settings[apiBaseURLKey]; !given {
			set[apiBaseURLKey] = old.Setting(apiBaseURLKey)
		}
	}
	if set[apiBaseURLKey] == "" {
		delete(set, apiBaseURLKey)
	}
	// Every field's error at once, all before the provider is called: a
	// refused save must not repoint a bot's webhook.
	name, nameErr := app.CheckChannelName(in.Name)
	if err := joinFieldErrors(nameErr, s.checkBaseURL(set[apiBaseURLKey]), d.Validate(set)); err != nil {
		return app.Channel{}, err
	}
	if err := secretsFollowEndpoint(spec, old, set, kept); err != nil {
		return app.Channel{}, err
	}
	in.Name = name
	public, secrets := splitSettings(spec, set)
	public[channel.WebhookURLKey] = s.webhookURL(t.Tenant, id)
	secrets[app.WebhookSecretKey] = newWebhookSecret()
	if old != nil && old.Secrets[app.WebhookSecretKey] != "" {
		secrets[app.WebhookSecretKey] = old.Secrets[app.WebhookSecretKey]
	}
	b, _ := json.Marshal(public)
	ch := app.Channel{ID: id, Type: in.Type, Name: in.Name, Settings: b, Secrets: secrets, Active: true}
	if old != nil {
		ch.Active = old.Active
	}
	if in.Active != nil {
		ch.Active = *in.Active
	}
	if reg, ok := d.(app.WebhookRegistrar); ok && ch.Active && webhookChanged(old, ch) {
		if err := reg.RegisterWebhook(ctx, ch, ch.Setting(channel.WebhookURLKey)); err != nil {
			return app.Channel{}, app.InvalidField("settings", "The provider refused to register Parley's webhook: "+err.Error())
		}
	}
	if old == nil {
		return t.DB.ConnectChannelID(ctx, id, in.Type, in.Name, public, secrets, t.actor())
	}
	if err := t.DB.UpdateChannel(ctx, id, in.Name, public, secrets, ch.Active, t.actor()); err != nil {
		return app.Channel{}, err
	}
	return t.DB.ChannelByID(ctx, id)
}

// secretsFollowEndpoint refuses to carry stored secrets to a changed
// endpoint (the API host, a mail server's host, port or security): whoever
// may edit a channel must not be able to send its saved password or token
// to a server of their choosing, so the secrets are asked for again.
func secretsFollowEndpoint(spec app.ChannelSpec, old *app.Channel, set map[string]string, kept []string) error {
	if old == nil || len(kept) == 0 {
		return nil
	}
	changed := old.Setting(apiBaseURLKey) != set[apiBaseURLKey]
	for _, f := range spec.Fields {
		changed = changed || (f.Endpoint && old.Setting(f.Key) != set[f.Key])
	}
	if !changed {
		return nil
	}
	e := app.Error{Code: app.EINVALID, Message: "Check the channel's settings."}
	for _, k := range kept {
		e.Fields = append(e.Fields, app.FieldError{Field: "settings." + k,
			Message: "Enter it again: the server it is sent to changed."})
	}
	return e.OrNil()
}

// joinFieldErrors merges validation errors into one EINVALID error with
// every field's message; any other error is returned as it is.
func joinFieldErrors(errs ...error) error {
	all := app.Error{Code: app.EINVALID, Message: "Check the channel's settings."}
	for _, err := range errs {
		if err == nil {
			continue
		}
		if app.ErrorCode(err) != app.EINVALID || len(app.ErrorFields(err)) == 0 {
			return err
		}
		all.Fields = append(all.Fields, app.ErrorFields(err)...)
	}
	return all.OrNil()
}

// dropChannel removes a channel, first asking providers that were told
// where to call (Telegram) to stop. A provider that cannot be reached does
// not keep the channel: its calls then meet a 404, and the admin is told.
func (s *Server) dropChannel(ctx context.Context, t *tenantReq, ch app.Channel) (warning string, err error) {
	if reg, ok := s.cfg.Drivers[ch.Type].(app.WebhookRegistrar); ok && ch.Active {
		if err := reg.UnregisterWebhook(ctx, ch); err != nil {
			warning = "The provider could not be told to stop calling Parley (" + err.Error() + "); its calls will be refused."
		}
	}
	return warning, t.DB.DeleteChannel(ctx, ch.ID, t.actor())
}

// webhookChanged says whether a channel's credentials or webhook URL
// differ from what was registered before.
func webhookChanged(old *app.Channel, ch app.Channel) bool {
	if old == nil || !old.Active {
		return true
	}
	return !maps.Equal(old.Secrets, ch.Secrets) || old.Setting(channel.WebhookURLKey) != ch.Setting(channel.WebhookURLKey)
}

// splitSettings separates the secrets (sealed at rest, never shown) from
// the settings that may be shown again.
func splitSettings(spec app.ChannelSpec, set map[string]string) (public map[string]any, secrets map[string]string) {
	public, secrets = map[string]any{}, map[string]string{}
	for k, v := range set {
		if f, ok := spec.Field(k); ok && f.Secret {
			if v != "" {
				secrets[k] = v
			}
			continue
		}
		if v != "" {
			public[k] = v
		}
	}
	return public, secrets
}

// checkBaseURL accepts an empty value (the provider's own API) or, when
// the operator allows it, an http(s) URL with a host.
func (s *Server) checkBaseURL(v string) error {
	if v == "" {
		return nil
	}
	if !s.cfg.AllowAPIBaseURL {
		return app.InvalidField("settings."+apiBaseURLKey, "Only the operator can point channels at another API host "+
			"(parley serve --allow-api-base-url); leave it empty for the provider's own.")
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return app.InvalidField("settings."+apiBaseURLKey, "Enter the API's base URL, like https://api.example.com, or leave it empty for the provider's own.")
	}
	return nil
}

// newWebhookSecret returns 43 characters of [A-Za-z0-9_-] (256 bits), a
// shape every provider accepts as a webhook secret.
func newWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func channelTypeList() string {
	var names []string
	for _, t := range app.ChannelTypes {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// publicSettings returns a channel's settings that may be shown, with the
// names of the secrets that are set (their values never leave the server).
func publicSettings(ch app.Channel) (map[string]any, []string) {
	set := map[string]any{}
	_ = json.Unmarshal(ch.Settings, &set) // written by storeChannel as a JSON object
	var secrets []string
	for k := range ch.Secrets {
		if k != app.WebhookSecretKey {
			secrets = append(secrets, k)
		}
	}
	slices.Sort(secrets)
	return set, secrets
}
