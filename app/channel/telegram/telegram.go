// Package telegram connects a Telegram bot to a workspace: clients write to
// the bot, the team answers through it. Telegram posts each update to the
// channel's webhook (proved by the secret token Parley gave setWebhook) and
// Parley calls the Bot API (https://core.telegram.org/bots/api) to send.
//
// A client is known by their numeric Telegram user id, not their @user
// name: user names can be changed and then claimed by someone else, while
// the id stays the person's for good. The user name is kept as the
// contact's label, for the team to read.
package telegram

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"parley/app"
	"parley/app/channel"
)

// Setting keys of a Telegram channel.
const (
	// KeyBotToken is the token @BotFather gives a bot.
	KeyBotToken = "bot_token"
	// KeyBaseURL points the channel at another Bot API server (a local
	// telegram-bot-api, or a test's fake); empty means DefaultBaseURL.
	KeyBaseURL = "api_base_url"
)

// DefaultBaseURL is Telegram's own Bot API server.
const DefaultBaseURL = "https://api.telegram.org"

// apiHost is the only host media is downloaded from unless the channel
// names another Bot API server.
const apiHost = "api.telegram.org"

// tokenPattern is the shape of a bot token: the bot's numeric id, a colon,
// and at least 30 URL-safe characters.
var tokenPattern = regexp.MustCompile(`^\d+:[A-Za-z0-9_-]{30,}$`)

// Options configure a Driver.
type Options = channel.Options

// Driver is the Telegram provider. One Driver serves every Telegram channel
// of every workspace: all per-channel state comes from the app.Channel.
type Driver struct {
	client *http.Client
	now    func() time.Time
}

var (
	_ app.WebhookDriver    = (*Driver)(nil)
	_ app.WebhookRegistrar = (*Driver)(nil)
)

// New returns a Driver.
func New(opts Options) *Driver {
	opts = opts.WithDefaults()
	return &Driver{client: opts.Client, now: opts.Now}
}

// Spec describes the Telegram channel type. SendRate follows Telegram's
// advice of about 30 messages a second per bot, with some headroom.
func (d *Driver) Spec() app.ChannelSpec {
	return app.ChannelSpec{
		Type:  app.ChannelTelegram,
		Label: "Telegram bot",
		Help:  "In Telegram, open @BotFather, send /newbot and paste the token it gives you.",
		Fields: []app.SettingField{{
			Key: KeyBotToken, Label: "Bot token", Kind: "password", Required: true, Secret: true,
			Help: "Looks like 123456789:AAH… Anyone with it can act as your bot.",
		}},
		Webhook:   true,
		SendRate:  25,
		SendBurst: 30,
	}
}

// Validate trims the settings and checks the bot token's shape and the
// optional api_base_url, collecting an error per bad field.
func (d *Driver) Validate(settings map[string]string) error {
	e := &app.Error{Code: app.EINVALID, Message: "Check the Telegram settings."}
	add := func(key, msg string) {
		e.Fields = append(e.Fields, app.FieldError{Field: "settings." + key, Message: msg})
	}
	tok := strings.TrimSpace(settings[KeyBotToken])
	switch {
	case tok == "":
		add(KeyBotToken, "Enter the bot token @BotFather gave you.")
	case !tokenPattern.MatchString(tok):
		add(KeyBotToken, "A bot token looks like 123456789:AAH… (digits, a colon, then at least 30 letters, digits, - or _).")
	}
	base := strings.TrimRight(strings.TrimSpace(settings[KeyBaseURL]), "/")
	if base != "" && !validBaseURL(base) {
		add(KeyBaseURL, "Enter an http or https URL, like https://api.telegram.org.")
	}
	if settings != nil {
		settings[KeyBotToken] = tok
		if _, ok := settings[KeyBaseURL]; ok {
			settings[KeyBaseURL] = base
		}
	}
	return e.OrNil()
}

// validBaseURL accepts an absolute http(s) URL with a host and nothing a
// method path could not be appended to.
func validBaseURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" &&
		u.User == nil && u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery
}

// Check calls getMe with the channel's token, for the settings page's Test
// button.
func (d *Driver) Check(ctx context.Context, ch app.Channel) (string, error) {
	var me struct {
		Username  string `json:"username"`
		FirstName string `json:"first_name"`
	}
	if err := d.call(ctx, ch, "getMe", nil, &me); err != nil {
		return "", adminError("Telegram refused the check", err)
	}
	if me.Username == "" {
		return "Bot " + me.FirstName, nil
	}
	return "Bot @" + me.Username, nil
}

// RegisterWebhook points the bot's updates at hookURL with setWebhook, asking
// only for new messages and keeping those that arrived meanwhile. Telegram
// then sends the channel's webhook secret with every update.
func (d *Driver) RegisterWebhook(ctx context.Context, ch app.Channel, hookURL string) error {
	secret := ch.Secrets[app.WebhookSecretKey]
	if !secretPattern.MatchString(secret) {
		return app.Errorf(app.EINVALID, "The channel has no usable webhook secret, so Telegram's updates could not be verified.")
	}
	if hookURL == "" {
		return app.Errorf(app.EINVALID, "The channel has no webhook URL to give Telegram.")
	}
	req := struct {
		URL                string   `json:"url"`
		AllowedUpdates     []string `json:"allowed_updates"`
		DropPendingUpdates bool     `json:"drop_pending_updates"`
		SecretToken        string   `json:"secret_token"`
	}{URL: hookURL, AllowedUpdates: []string{"message"}, SecretToken: secret}
	if err := d.call(ctx, ch, "setWebhook", jsonBody(req), nil); err != nil {
		return adminError("Telegram refused the webhook", err)
	}
	return nil
}

// UnregisterWebhook tells Telegram to stop calling the channel's webhook
// (deleteWebhook), so a removed channel's bot is free for other use and
// Telegram does not retry against a URL that now answers 404.
func (d *Driver) UnregisterWebhook(ctx context.Context, ch app.Channel) error {
	if err := d.call(ctx, ch, "deleteWebhook", jsonBody(struct{}{}), nil); err != nil {
		return adminError("Telegram refused to remove the webhook", err)
	}
	return nil
}

// Lookup is unsupported: the Bot API cannot find a message by anything
// Parley knows before it was sent.
func (d *Driver) Lookup(context.Context, app.Outbound) (string, bool, error) {
	return "", false, app.ErrLookupUnsupported
}

// baseURL is the channel's Bot API server without a trailing slash.
func baseURL(ch app.Channel) string {
	if b := strings.TrimRight(ch.Setting(KeyBaseURL), "/"); b != "" {
		return b
	}
	return DefaultBaseURL
}
