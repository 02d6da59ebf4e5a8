package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ChannelType names a provider package under app/channel.
type ChannelType string

// Channel types, one per provider package under app/channel.
const (
	ChannelSandbox        ChannelType = "sandbox"
	ChannelTelegram       ChannelType = "telegram"
	ChannelTwilioSMS      ChannelType = "twilio_sms"
	ChannelTwilioWhatsApp ChannelType = "twilio_whatsapp"
	ChannelTwilioVoice    ChannelType = "twilio_voice"
	ChannelWhatsAppCloud  ChannelType = "whatsapp_cloud"
	ChannelInstagram      ChannelType = "instagram"
	ChannelEmail          ChannelType = "email"
	// ChannelWebsite is built into every workspace: the contact form, web
	// chat and customer portal of its public site (app/channel/website).
	// It is made on first use and never connected by hand.
	ChannelWebsite ChannelType = "website"
)

// ChannelTypes lists the types a workspace can connect, in the order the
// settings page offers them (the sandbox has its own form).
var ChannelTypes = []ChannelType{ChannelEmail, ChannelTelegram, ChannelTwilioSMS, ChannelTwilioWhatsApp,
	ChannelWhatsAppCloud, ChannelInstagram, ChannelTwilioVoice}

// Transport returns what a channel of type t carries.
func (t ChannelType) Transport() Transport {
	switch t {
	case ChannelTelegram:
		return TransportTelegram
	case ChannelTwilioSMS:
		return TransportSMS
	case ChannelTwilioWhatsApp, ChannelWhatsAppCloud:
		return TransportWhatsApp
	case ChannelTwilioVoice:
		return TransportPhone
	case ChannelInstagram:
		return TransportInstagram
	case ChannelEmail:
		return TransportEmail
	case ChannelWebsite:
		return TransportWebsite
	}
	return ""
}

// Channel is a provider account connected to a workspace: it sends the
// team's messages and receives the clients'.
type Channel struct {
	ID   string      `json:"id"`
	Type ChannelType `json:"type"`
	Name string      `json:"name"`
	// Settings are the settings that may be shown again (a JSON object):
	// numbers, hosts, user names. The sandbox keeps its own shape here.
	Settings json.RawMessage `json:"-"`
	// Secrets are the credentials (tokens, passwords, app secrets and the
	// webhook secret Parley generates), stored encrypted and decrypted only
	// for the provider package; never shown, logged or serialised.
	Secrets map[string]string `json:"-"`
	// SecretsUnreadable says the stored credentials could not be decrypted
	// with this server's keys (LastError says so too): sends fail with that
	// reason instead of a provider's refusal.
	SecretsUnreadable bool       `json:"-"`
	Active            bool       `json:"active"`
	CreatedAt         time.Time  `json:"created_at"`
	LastInboundAt     *time.Time `json:"last_inbound_at"`
	LastOutboundAt    *time.Time `json:"last_outbound_at"`
	LastError         string     `json:"last_error"`
	LastErrorAt       *time.Time `json:"last_error_at"`
}

// Serves reports whether the channel can carry messages of transport t.
// The sandbox pretends to be every transport so a new workspace can try
// them all.
func (c Channel) Serves(t Transport) bool {
	switch c.Type {
	case ChannelSandbox:
		return t != TransportInternal && t != TransportPhone
	case ChannelTwilioVoice:
		return false // logs calls; it cannot send a message
	}
	return t != "" && c.Type.Transport() == t
}

// CheckChannelName trims a channel's name and checks its length.
func CheckChannelName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 80 {
		return "", InvalidField("name", "Name the channel (up to 80 characters).")
	}
	return name, nil
}

// Setting returns a setting or secret by key ("" when unset).
func (c Channel) Setting(key string) string {
	if v, ok := c.Secrets[key]; ok {
		return v
	}
	var m map[string]any
	if json.Unmarshal(c.Settings, &m) != nil {
		return ""
	}
	switch v := m[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// WebhookSecretKey names the secret Parley generates for every channel:
// Telegram's secret_token, and the HMAC key of the email relay endpoint.
const WebhookSecretKey = "webhook_secret"

// SandboxSettings configure the sandbox channel.
type SandboxSettings struct {
	// FailAttempts makes each message's first N send attempts fail, to show
	// retries (and, past the last retry, a failed message).
	FailAttempts int `json:"fail_attempts"`
	// AutoReply makes the sandbox answer each message like a customer would.
	AutoReply bool `json:"auto_reply"`
}

// Outbound is a message on its way to a provider.
type Outbound struct {
	TenantID string
	Channel  Channel
	// Key identifies the message to the provider across attempts (the
	// message id), so an attempt whose outcome is unknown can be looked up.
	Key       string
	Attempt   int
	Transport Transport
	// To is the contact's value (a phone number, an email address, a user
	// name); Address is the provider's own id for the client when an inbound
	// message gave one (a Telegram chat id, an Instagram-scoped id), and
	// should be preferred.
	To          string
	Address     string
	Text        string
	Attachments []Attachment
	// Email threading: the subject, the Message-IDs this one answers, and
	// the chat's reply token (for a plus-address and a header).
	Subject    string
	InReplyTo  string
	References []string
	ReplyToken string
	SenderName string
	// Open returns an attachment's bytes.
	Open func(Attachment) ([]byte, error)
}

// Provider sends messages through one type of channel.
type Provider interface {
	// Send hands the message to the provider and returns the provider's id
	// for it. A *SendError says whether trying again can help.
	Send(ctx context.Context, out Outbound) (providerID string, err error)
	// Lookup asks the provider whether it already has the message (by
	// out.Key): an earlier attempt may have reached it before Parley could
	// record it. Providers that cannot be asked return ErrLookupUnsupported.
	Lookup(ctx context.Context, out Outbound) (providerID string, found bool, err error)
}

// ErrLookupUnsupported is returned by providers that cannot be asked
// whether they have a message.
var ErrLookupUnsupported = errors.New("the provider cannot look up a message")

// SendError is a provider's refusal, with a reason the team can read.
type SendError struct {
	Reason string
	// Permanent says trying again cannot help (a bad number, a blocked
	// recipient); the message fails at once.
	Permanent bool
	// RetryAfter is set when the provider asked Parley to slow down (HTTP
	// 429 and its Retry-After): the send waits that long and does not count
	// it as a failed attempt.
	RetryAfter time.Duration
}

func (e *SendError) Error() string { return e.Reason }

// ChannelSpec describes a channel type to the settings form, the API and
// validation.
type ChannelSpec struct {
	Type  ChannelType
	Label string // "Telegram bot"
	// Help says in a sentence where the admin finds the credentials.
	Help   string
	Fields []SettingField
	// Webhook says the provider calls Parley at the channel's webhook URL;
	// Poll says Parley fetches new messages itself (IMAP).
	Webhook bool
	Poll    bool
	// SendRate is how many messages a second one account may send (0: no
	// known limit), SendBurst how many at once; sends beyond it wait.
	SendRate  float64
	SendBurst int
}

// Field returns the spec's field by key.
func (s ChannelSpec) Field(key string) (SettingField, bool) {
	for _, f := range s.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return SettingField{}, false
}

// SettingField is one setting of a channel type.
type SettingField struct {
	Key   string
	Label string
	Help  string
	// Kind is the input's type: text, password, number, email or url.
	Kind     string
	Required bool
	// Secret settings are stored encrypted and never shown again.
	Secret bool
	// Endpoint settings say where the secrets are sent (a mail server's
	// host, port and security): changing one asks for the secrets again,
	// so a stored password cannot be redirected to another server.
	Endpoint bool
	Default  string
}

// Driver is a provider package's whole contract with Parley: it sends,
// describes its settings and checks them.
type Driver interface {
	Provider
	Spec() ChannelSpec
	// Validate checks and normalises settings (secrets included) before
	// they are saved, returning field errors keyed "settings.<key>".
	Validate(settings map[string]string) error
	// Check asks the provider whether the channel's credentials work and
	// says what it found ("Bot @acme_bot"), for the Test button.
	Check(ctx context.Context, ch Channel) (string, error)
}

// WebhookDriver is a driver whose provider calls Parley.
type WebhookDriver interface {
	Driver
	// Receive verifies that the request is the provider's (returning
	// ErrBadSignature when it is not) and then parses it (returning an
	// EINVALID error when it is malformed). Media are downloaded here, only
	// from the provider's own hosts.
	Receive(ctx context.Context, ch Channel, req WebhookRequest) (Incoming, error)
}

// WebhookRegistrar is a driver that tells the provider where to call
// (Telegram's setWebhook), done when the channel's settings are saved,
// and to stop calling (deleteWebhook) when the channel is removed.
type WebhookRegistrar interface {
	RegisterWebhook(ctx context.Context, ch Channel, url string) error
	UnregisterWebhook(ctx context.Context, ch Channel) error
}

// WebhookHandshaker answers a provider's subscription check (Meta's GET
// with hub.challenge): the body to answer, or ErrBadSignature.
type WebhookHandshaker interface {
	Handshake(ch Channel, query map[string][]string) (string, error)
}

// Poller is a driver that fetches new messages itself (IMAP). cursor is
// what the last poll returned ("" the first time); the returned cursor is
// saved only after everything in Incoming is stored.
type Poller interface {
	Poll(ctx context.Context, ch Channel, cursor string) (in Incoming, next string, err error)
}

// WebhookRequest is a provider's request as it arrived.
type WebhookRequest struct {
	// URL is the exact public URL the provider called (the configured
	// scheme and host, then path and query), which Twilio signs.
	URL    string
	Header http.Header
	Body   []byte
}

// Incoming is what one webhook request or poll carries.
type Incoming struct {
	Messages []InboundMessage
	Statuses []StatusReport
	// ContentType and Body are the answer the provider expects (Twilio
	// wants TwiML); empty answers 200 with no body.
	ContentType string
	Body        string
}

// ErrBadSignature is returned by a driver for a request that is not
// provably its provider's: a missing, wrong or truncated signature.
var ErrBadSignature = Errorf(EUNAUTHORIZED, "The request's signature does not match.")
