// Package meta connects Parley to Meta's Graph API: WhatsApp Cloud API
// channels and Instagram messaging (through the Messenger Platform, with a
// Facebook page linked to the Instagram professional account). Both share
// the Graph API's client, error format, webhook signature and subscription
// handshake, so one Driver serves both channel types.
//
// An Instagram client is known by their Instagram-scoped id (IGSID), not
// their username: a username can be changed and then claimed by someone
// else, while the IGSID stays that person's. The username, when Meta's
// profile lookup gives it, is only the contact's label.
package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"time"

	"parley/app"
	"parley/app/channel"
)

// GraphVersion is the Graph API version every call is pinned to, so a
// version Meta releases later cannot change the wire format under Parley.
// v26.0 (released 29 July 2026) is the newest in Meta's Graph API changelog.
const GraphVersion = "v26.0"

// DefaultBaseURL is the Graph API's host; a channel's api_base_url
// replaces it (tests point it at a fake server).
const DefaultBaseURL = "https://graph.facebook.com"

// Setting keys.
const (
	keyAccessToken   = "access_token"
	keyPhoneNumberID = "phone_number_id"
	keyPageID        = "page_id"
	keyAppSecret     = "app_secret"
	keyVerifyToken   = "verify_token"
	keyAPIBaseURL    = "api_base_url"
)

// signatureHeader carries "sha256=" + hex(HMAC-SHA256(app secret, body)).
const signatureHeader = "X-Hub-Signature-256"

// Options configure a Driver.
type Options = channel.Options

// Driver talks to Meta for every WhatsApp Cloud and Instagram channel of
// every tenant; all per-channel state comes from the app.Channel passed in.
type Driver struct {
	client *http.Client
	now    func() time.Time
}

// New returns a Driver.
func New(opts Options) *Driver {
	opts = opts.WithDefaults()
	return &Driver{client: opts.Client, now: opts.Now}
}

// WhatsApp returns the driver of WhatsApp Cloud API channels.
func (d *Driver) WhatsApp() app.WebhookDriver { return whatsApp{d} }

// Instagram returns the driver of Instagram channels.
func (d *Driver) Instagram() app.WebhookDriver { return instagram{d} }

var (
	_ app.WebhookHandshaker = whatsApp{}
	_ app.WebhookHandshaker = instagram{}
)

// checkSignature verifies Meta's X-Hub-Signature-256 over the raw body.
// Without an app secret nothing can be proven, so everything is refused.
func checkSignature(secret, header string, body []byte) error {
	sig, ok := strings.CutPrefix(header, "sha256=")
	if secret == "" || !ok || len(sig) != hex.EncodedLen(sha256.Size) {
		return app.ErrBadSignature
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return app.ErrBadSignature
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return app.ErrBadSignature
	}
	return nil
}

// challengePattern limits what the handshake echoes back: Meta's challenge
// is a number, and anything else reflected into a response is a risk.
var challengePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,256}$`)

// handshake answers Meta's subscription check: the challenge when the
// verify token the admin typed in Meta's webhook form matches the channel's.
func handshake(ch app.Channel, query map[string][]string) (string, error) {
	first := func(k string) string {
		if v := query[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	want := ch.Setting(keyVerifyToken)
	got, challenge := first("hub.verify_token"), first("hub.challenge")
	if first("hub.mode") != "subscribe" || want == "" ||
		subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 || !challengePattern.MatchString(challenge) {
		return "", app.ErrBadSignature
	}
	return challenge, nil
}

// fetcher downloads media only from Meta's hosts (and the channel's
// api_base_url host, where tests serve media).
func (d *Driver) fetcher(ch app.Channel, hosts ...string) channel.Fetcher {
	if base := ch.Setting(keyAPIBaseURL); base != "" {
		if h := channel.HostOf(base); h != "" {
			hosts = append(hosts, h)
		}
	}
	return channel.Fetcher{Client: d.client, Hosts: hosts}
}
