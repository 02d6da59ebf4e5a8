package channel

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"time"

	"parley/app"
)

// WebhookURLKey names the setting holding the channel's public webhook URL,
// which Parley fills in when the channel is saved; providers that fetch the
// team's attachments (Twilio MMS, Instagram) get them under it.
const WebhookURLKey = "webhook_url"

// MediaLinkLifetime is how long a link to an outbound attachment works:
// long enough for a provider's fetch and its retries, short enough that a
// leaked link soon stops working.
const MediaLinkLifetime = 24 * time.Hour

// MediaURL returns a public, expiring link to one of the team's
// attachments, signed with the channel's webhook secret, for providers
// that fetch media by URL instead of taking an upload.
func MediaURL(ch app.Channel, att app.Attachment, now time.Time) string {
	exp := strconv.FormatInt(now.Add(MediaLinkLifetime).Unix(), 10)
	q := url.Values{"e": {exp}, "s": {mediaSignature(ch, att.ID, exp)}}
	return strings.TrimSuffix(ch.Setting(WebhookURLKey), "/") + "/media/" + url.PathEscape(att.ID) +
		"/" + url.PathEscape(att.Filename) + "?" + q.Encode()
}

// CheckMediaURL reports whether exp and sig are a valid, unexpired
// signature of the attachment's link.
func CheckMediaURL(ch app.Channel, attID, exp, sig string, now time.Time) bool {
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || now.Unix() > n || ch.Secrets[app.WebhookSecretKey] == "" {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(mediaSignature(ch, attID, exp)))
}

func mediaSignature(ch app.Channel, attID, exp string) string {
	m := hmac.New(sha256.New, []byte(ch.Secrets[app.WebhookSecretKey]))
	m.Write([]byte("media\x00" + ch.ID + "\x00" + attID + "\x00" + exp))
	return hex.EncodeToString(m.Sum(nil))
}
