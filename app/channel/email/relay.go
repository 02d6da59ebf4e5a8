package email

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"parley/app"
)

// HeaderSignature carries the relay's signature of the raw message:
// "sha256=" and the hex HMAC-SHA256 of the body under the channel's
// webhook secret.
const HeaderSignature = "X-Parley-Signature"

// Receive takes a raw message POSTed by a mail relay (a Postfix pipe, a
// Mailgun/SES forwarder): the signature first, then Parse. Attachments
// come inside the message, so nothing is downloaded.
func (d *Driver) Receive(_ context.Context, ch app.Channel, req app.WebhookRequest) (app.Incoming, error) {
	if !ValidSignature(ch.Setting(app.WebhookSecretKey), req.Body, req.Header.Get(HeaderSignature)) {
		return app.Incoming{}, app.ErrBadSignature
	}
	return Parse(req.Body, ch)
}

// ValidSignature reports, in constant time, whether header is
// "sha256=<hex HMAC-SHA256(secret, body)>". An empty secret never
// verifies.
func ValidSignature(secret string, body []byte, header string) bool {
	if secret == "" {
		return false
	}
	hexSum, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	got, err := hex.DecodeString(hexSum)
	if !ok || err != nil {
		return false
	}
	return hmac.Equal(got, Sign(secret, body))
}

// Sign is the HMAC-SHA256 of body under secret: what a relay puts (hex,
// after "sha256=") in X-Parley-Signature.
func Sign(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}
