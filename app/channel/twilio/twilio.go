// Package twilio connects Twilio numbers to Parley: SMS/MMS and WhatsApp
// messages through the Programmable Messaging API, and a voice number whose
// calls (and their recordings) are logged in the client's chat.
//
// One webhook URL per channel receives everything Twilio reports for it:
// inbound messages, message status callbacks (Send names the same URL as
// StatusCallback), and for a voice channel the call and recording status
// callbacks. Every request is checked against X-Twilio-Signature first.
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"parley/app"
	"parley/app/channel"
)

// DefaultBaseURL is Twilio's REST API (US1). A channel's api_base_url
// replaces it: a Twilio region's host, or a test's fake server.
const DefaultBaseURL = "https://api.twilio.com"

// Setting keys of a Twilio channel.
const (
	KeyAccountSID = "account_sid"
	KeyAuthToken  = "auth_token"
	KeyFromNumber = "from_number"
	KeyBaseURL    = "api_base_url"
)

// maxAnswer bounds how much of an API answer is read: Twilio's JSON
// resources are a few kilobytes.
const maxAnswer = 1 << 20

// Options configure a Driver.
type Options = channel.Options

// Driver serves every Twilio channel of every tenant; all per-channel state
// comes from the app.Channel it is given. For returns the driver of one
// channel type.
type Driver struct {
	client *http.Client
	now    func() time.Time
}

// New returns a Driver.
func New(opts Options) *Driver {
	opts = opts.WithDefaults()
	return &Driver{client: opts.Client, now: opts.Now}
}

// For returns the driver of one Twilio channel type: twilio_sms,
// twilio_whatsapp or twilio_voice. Any other type is a wiring mistake and
// panics when Parley registers its drivers at start.
func (d *Driver) For(t app.ChannelType) app.WebhookDriver {
	switch t {
	case app.ChannelTwilioSMS, app.ChannelTwilioWhatsApp, app.ChannelTwilioVoice:
		return &typeDriver{Driver: d, typ: t}
	}
	panic(fmt.Sprintf("twilio: %q is not a Twilio channel type", t))
}

// typeDriver is the Driver of one channel type: the type decides the
// transport, the settings' wording, the send rate and which webhooks
// matter.
type typeDriver struct {
	*Driver
	typ app.ChannelType
}

var _ app.WebhookDriver = (*typeDriver)(nil)

// Spec describes the channel type to the settings form.
func (c *typeDriver) Spec() app.ChannelSpec {
	fields := []app.SettingField{
		{Key: KeyAccountSID, Label: "Account SID", Kind: "text", Required: true,
			Help: "On the Twilio Console's home page, under Account Info: AC followed by 32 characters."},
		{Key: KeyAuthToken, Label: "Auth Token", Kind: "password", Required: true, Secret: true,
			Help: "Next to the Account SID; Parley also uses it to check that webhooks come from Twilio."},
		{Key: KeyFromNumber, Label: "Phone number", Kind: "text", Required: true,
			Help: "Your Twilio number in international format, like +14155550100."},
	}
	spec := app.ChannelSpec{Type: c.typ, Fields: fields, Webhook: true}
	switch c.typ {
	case app.ChannelTwilioSMS:
		spec.Label = "Twilio SMS"
		spec.Help = "In the Twilio Console, set the number's “A message comes in” webhook (HTTP POST) to this channel's webhook URL."
		// A US long code sends one message segment a second; Twilio queues
		// the rest, so Parley paces itself the same way.
		spec.SendRate, spec.SendBurst = 1, 5
	case app.ChannelTwilioWhatsApp:
		spec.Label = "WhatsApp via Twilio"
		spec.Help = "In the Twilio Console, set your WhatsApp sender's incoming-message webhook (HTTP POST) to this channel's webhook URL."
		spec.Fields[2].Label = "WhatsApp number"
		spec.Fields[2].Help = "The WhatsApp sender's number in international format, like +14155550100 (without “whatsapp:”)."
		spec.SendRate, spec.SendBurst = 20, 20
	case app.ChannelTwilioVoice:
		spec.Label = "Twilio Voice (call log)"
		spec.Help = "In the Twilio Console, set the number's “Call status changes” webhook to this channel's webhook URL " +
			"(and recordingStatusCallback, to log recordings). Calls appear in the client's chat; nothing can be sent."
	}
	return spec
}

var (
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	authTokenPattern  = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
)

// Validate trims and checks the settings in place: the SID and token
// formats, the number in E.164 (a "whatsapp:" prefix is dropped, Parley
// adds it), and an optional http(s) api_base_url.
func (c *typeDriver) Validate(s map[string]string) error {
	e := &app.Error{Code: app.EINVALID, Message: "Check the Twilio settings."}
	bad := func(key, msg string) {
		e.Fields = append(e.Fields, app.FieldError{Field: "settings." + key, Message: msg})
	}
	for _, k := range []string{KeyAccountSID, KeyAuthToken, KeyFromNumber, KeyBaseURL} {
		if v, ok := s[k]; ok {
			s[k] = strings.TrimSpace(v)
		}
	}
	if !accountSIDPattern.MatchString(s[KeyAccountSID]) {
		bad(KeyAccountSID, "Enter the Account SID from the Twilio Console: AC followed by 32 letters and digits.")
	}
	if !authTokenPattern.MatchString(s[KeyAuthToken]) {
		bad(KeyAuthToken, "Enter the Auth Token from the Twilio Console: 32 letters and digits.")
	}
	if num, err := normalizeNumber(s[KeyFromNumber]); err != nil {
		bad(KeyFromNumber, err.Error())
	} else {
		s[KeyFromNumber] = num
	}
	if v := s[KeyBaseURL]; v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad(KeyBaseURL, "Enter an http(s) URL, like "+DefaultBaseURL+".")
		} else {
			s[KeyBaseURL] = strings.TrimSuffix(v, "/")
		}
	}
	return e.OrNil()
}

// normalizeNumber returns the sender number in E.164.
func normalizeNumber(v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > len(whatsappPrefix) && strings.EqualFold(v[:len(whatsappPrefix)], whatsappPrefix) {
		v = v[len(whatsappPrefix):]
	}
	if !strings.HasPrefix(v, "+") {
		return "", errors.New("Enter the number in international format, starting with + and the country code, like +14155550100.")
	}
	return app.NormalizePhone(v, "")
}

// Check fetches the Account resource with the channel's credentials.
func (c *typeDriver) Check(ctx context.Context, ch app.Channel) (string, error) {
	acc := accountOf(ch)
	if acc.sid == "" || acc.token == "" {
		return "", app.Errorf(app.EINVALID, "Enter the Account SID and Auth Token.")
	}
	res, err := c.call(ctx, acc, http.MethodGet, acc.path(".json"), nil)
	if err != nil {
		return "", app.Errorf(app.EUNAVAILABLE, "Twilio could not be reached: %v", err)
	}
	switch {
	case res.status == http.StatusUnauthorized || res.status == http.StatusNotFound:
		return "", app.Errorf(app.EINVALID, "Twilio refused the credentials: the Account SID or the Auth Token is wrong. "+
			"Copy both again from the Twilio Console.")
	case res.status != http.StatusOK:
		return "", app.Errorf(app.EUNAVAILABLE, "Twilio answered the check with %s.", parseAPIError(res).reason())
	}
	var a struct {
		FriendlyName string `json:"friendly_name"`
		Status       string `json:"status"`
	}
	if err := json.Unmarshal(res.body, &a); err != nil {
		return "", app.Errorf(app.EUNAVAILABLE, "Twilio answered the check with something that is not an account.")
	}
	if a.Status != "" && a.Status != "active" {
		return "", app.Errorf(app.EINVALID, "The Twilio account %q is %s: it cannot send messages.", a.FriendlyName, a.Status)
	}
	return "Twilio account " + a.FriendlyName, nil
}

// Lookup cannot ask Twilio: creating a Message takes no idempotency key,
// and nothing else identifies an attempt.
func (c *typeDriver) Lookup(context.Context, app.Outbound) (string, bool, error) {
	return "", false, app.ErrLookupUnsupported
}

// account is a channel's credentials and API address.
type account struct {
	sid, token, from, base string
}

func accountOf(ch app.Channel) account {
	base := strings.TrimSuffix(ch.Setting(KeyBaseURL), "/")
	if base == "" {
		base = DefaultBaseURL
	}
	return account{sid: ch.Setting(KeyAccountSID), token: ch.Setting(KeyAuthToken),
		from: ch.Setting(KeyFromNumber), base: base}
}

// path returns the API path of the account, or of a resource under it.
func (a account) path(rest string) string {
	return "/2010-04-01/Accounts/" + url.PathEscape(a.sid) + rest
}

// answer is an API response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// call makes one authenticated API request, with form as the body of a POST.
func (d *Driver) call(ctx context.Context, acc account, method, path string, form url.Values) (answer, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, acc.base+path, body)
	if err != nil {
		return answer{}, err
	}
	req.SetBasicAuth(acc.sid, acc.token)
	req.Header.Set("Accept", "application/json")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := d.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return answer{}, fmt.Errorf("read answer: %w", err)
	}
	return answer{status: res.StatusCode, header: res.Header, body: b}, nil
}

// apiError is Twilio's error body:
// {"code":21211,"message":"...","more_info":"https://www.twilio.com/docs/errors/21211","status":400}.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

func parseAPIError(res answer) apiError {
	var e apiError
	_ = json.Unmarshal(res.body, &e) // anything else keeps the HTTP status alone
	if e.Status == 0 {
		e.Status = res.status
	}
	return e
}

// reason is the error as Twilio states it, "Twilio 21211: <message>".
func (e apiError) reason() string {
	msg := strings.TrimSpace(e.Message)
	if msg == "" {
		msg = "HTTP " + fmt.Sprint(e.Status) + " " + http.StatusText(e.Status)
	}
	if e.Code == 0 {
		return "Twilio: " + msg
	}
	return fmt.Sprintf("Twilio %d: %s", e.Code, msg)
}
