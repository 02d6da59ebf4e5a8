package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"parley/app"
	"parley/app/channel"
)

// whatsappPrefix marks a WhatsApp address in Twilio's To and From.
const whatsappPrefix = "whatsapp:"

// defaultRetryAfter is how long a send waits after a 429 that names no
// time: Twilio's own queue drains within seconds.
const defaultRetryAfter = 5 * time.Second

// Send creates a Message resource (POST /2010-04-01/Accounts/{sid}/Messages.json)
// and returns its SID. Twilio fetches attachments itself, from Parley's
// signed media links.
func (c *typeDriver) Send(ctx context.Context, out app.Outbound) (string, error) {
	if c.typ == app.ChannelTwilioVoice {
		return "", &app.SendError{Reason: "A voice channel logs calls; it cannot send messages.", Permanent: true}
	}
	acc := accountOf(out.Channel)
	form, err := c.messageForm(acc, out)
	if err != nil {
		return "", err
	}
	res, err := c.call(ctx, acc, http.MethodPost, acc.path("/Messages.json"), form)
	if err != nil {
		return "", fmt.Errorf("twilio: create message: %w", err) // the outcome is unknown: retry
	}
	if res.status/100 != 2 {
		return "", sendError(res, c.now())
	}
	var m struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(res.body, &m); err != nil || m.SID == "" {
		return "", fmt.Errorf("twilio: create message: HTTP %d without a message sid", res.status)
	}
	return m.SID, nil
}

// messageForm builds the Create Message parameters: To, From, Body,
// StatusCallback and one MediaUrl per attachment.
func (c *typeDriver) messageForm(acc account, out app.Outbound) (url.Values, error) {
	to := out.Address
	if to == "" {
		to = out.To
	}
	from := acc.from
	if c.typ == app.ChannelTwilioWhatsApp {
		to, from = whatsappPrefix+strings.TrimPrefix(to, whatsappPrefix), whatsappPrefix+strings.TrimPrefix(from, whatsappPrefix)
	}
	hook := out.Channel.Setting(channel.WebhookURLKey)
	switch {
	case strings.TrimSpace(out.Text) == "" && len(out.Attachments) == 0:
		return nil, &app.SendError{Reason: "The message is empty.", Permanent: true}
	case c.typ == app.ChannelTwilioWhatsApp && len(out.Attachments) > 1:
		return nil, &app.SendError{Reason: "WhatsApp carries one file per message: send the files one at a time.", Permanent: true}
	case len(out.Attachments) > 0 && hook == "":
		return nil, &app.SendError{Reason: "The channel has no public webhook URL, so Twilio cannot fetch the attachments.", Permanent: true}
	}
	form := url.Values{"To": {to}, "From": {from}}
	if out.Text != "" {
		form.Set("Body", out.Text)
	}
	if hook != "" {
		form.Set("StatusCallback", hook)
	}
	now := c.now()
	for _, att := range out.Attachments {
		form.Add("MediaUrl", channel.MediaURL(out.Channel, att, now))
	}
	return form, nil
}

// sendError classifies a refused Create Message: 429 waits, 5xx retries,
// any other 4xx is permanent with Twilio's reason.
func sendError(res answer, now time.Time) error {
	e := parseAPIError(res)
	reason := e.reason()
	if meaning, ok := explained[e.Code]; ok {
		reason = fmt.Sprintf("Twilio %d: %s", e.Code, meaning)
	}
	switch {
	case res.status == http.StatusTooManyRequests:
		return &app.SendError{Reason: reason, RetryAfter: retryAfter(res.header.Get("Retry-After"), now)}
	case res.status >= 500 || res.status < 400:
		return &app.SendError{Reason: reason}
	case res.status == http.StatusUnauthorized:
		return &app.SendError{Reason: reason + " (the channel's Account SID or Auth Token is wrong)", Permanent: true}
	}
	return &app.SendError{Reason: reason, Permanent: true}
}

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if n, err := strconv.Atoi(h); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return defaultRetryAfter
}

// explained are the errors whose Twilio text does not tell the team what
// happened or what to do; Send uses these words instead.
var explained = map[int]string{
	63016: errorMeanings["63016"],
	21610: errorMeanings["21610"],
}

// errorMeanings are the short meanings of Twilio's common delivery errors
// (https://www.twilio.com/docs/api/errors), for status callbacks, which
// carry only the code.
var errorMeanings = map[string]string{
	"20003": "authentication failed: the Account SID or Auth Token is wrong",
	"21211": "the 'To' phone number is not valid",
	"21408": "the Twilio account may not send to this country (enable it under Messaging Geographic Permissions)",
	"21610": "the recipient has opted out (replied STOP); they must text START before they can be messaged again",
	"21614": "the 'To' number is not a mobile number",
	"30001": "queue overflow: too many messages waited for this sender",
	"30002": "the Twilio account is suspended",
	"30003": "unreachable destination handset (switched off or out of coverage)",
	"30004": "message blocked by the recipient or their carrier",
	"30005": "unknown destination handset (the number does not exist)",
	"30006": "landline or unreachable carrier: the number cannot receive text messages",
	"30007": "message filtered by the carrier as spam",
	"30008": "unknown error from the carrier",
	"63016": "outside WhatsApp's 24-hour window: the client has not written in the last 24 hours, " +
		"so only an approved template can be sent until they write again",
}

// failureReason is a failed status callback's reason, "Twilio 30003: <meaning>".
func failureReason(code, message, status string) string {
	code = strings.TrimSpace(code)
	if code == "" || code == "0" {
		return "Twilio: the message is " + status + "."
	}
	if m, ok := errorMeanings[code]; ok {
		return "Twilio " + code + ": " + m
	}
	if m := strings.TrimSpace(message); m != "" {
		return "Twilio " + code + ": " + m
	}
	return "Twilio " + code + ": see https://www.twilio.com/docs/api/errors/" + url.PathEscape(code)
}
