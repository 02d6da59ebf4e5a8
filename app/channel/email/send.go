package email

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"parley/app"
)

// HeaderReplyToken carries the chat's reply token on every message Parley
// sends, next to the plus-addressed Reply-To: a reply that keeps neither
// still threads by its In-Reply-To.
const HeaderReplyToken = "X-Parley-Reply-Token" // #nosec G101 -- a header name, not a credential

var (
	tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_=.-]{1,100}$`)
	// msgIDPattern is what Parley puts between angle brackets: an id-left
	// and id-right without spaces, brackets or quotes (RFC 5322 §3.6.4).
	msgIDPattern = regexp.MustCompile(`^[^\s<>"()\[\]\\,;:@]+@[^\s<>"()\[\]\\,;:@]+$`)
	keyPattern   = regexp.MustCompile(`[^A-Za-z0-9._-]`)
)

// Send submits the message to the channel's SMTP server and returns its
// Message-ID (without angle brackets), which is derived from out.Key so a
// retried send carries the same id.
//
// The From name is the channel's from_name, never out.SenderName: a mail
// client files the sender under the name it sees, and a customer's address
// book should hold "Acme Support", not whichever agent answered first.
func (d *Driver) Send(ctx context.Context, out app.Outbound) (string, error) {
	c, err := configOf(out.Channel)
	if err != nil {
		return "", &app.SendError{Reason: app.ErrorMessage(err), Permanent: true}
	}
	msg, id, err := d.compose(c, out)
	var se *app.SendError
	if errors.As(err, &se) {
		return "", se
	} else if err != nil {
		return "", &app.SendError{Reason: err.Error(), Permanent: true}
	}
	if err := d.submit(ctx, c.smtp, msg); err != nil {
		return "", err
	}
	return id, nil
}

// Lookup cannot ask an SMTP server whether it took a message, so it always
// answers "not found" — with the Message-ID a resend will carry. That
// makes a resend safe enough: the retry has the same Message-ID, and
// receiving mail systems (Gmail, Outlook, most MUAs) collapse messages
// with the same Message-ID into one.
func (d *Driver) Lookup(_ context.Context, out app.Outbound) (string, bool, error) {
	c, err := configOf(out.Channel)
	if err != nil {
		return "", false, err
	}
	_, domain, _ := splitAddress(c.fromAddress)
	return messageID(out.Key, domain, out.Channel.Secrets[app.WebhookSecretKey]), false, nil
}

// messageID is the Message-ID (without brackets) of the message with key:
// the same for every attempt. With the channel's secret it carries a MAC
// of the key, so nobody outside can predict the Message-IDs replies
// thread on (message keys are time-ordered ids).
func messageID(key, domain, secret string) string {
	left := keyPattern.ReplaceAllString(key, "")
	if left == "" || left != key || len(left) > 100 {
		sum := sha256.Sum256([]byte(key))
		left = hex.EncodeToString(sum[:16])
	}
	if secret != "" {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte("message-id\x00" + key))
		left += "." + hex.EncodeToString(mac.Sum(nil)[:8])
	}
	return left + "@" + domain
}

// compose builds the MIME message: text/plain and an HTML alternative,
// threading headers, the plus-addressed Reply-To and the attachments.
func (d *Driver) compose(c config, out app.Outbound) (*gomail.Msg, string, error) {
	to := strings.TrimSpace(out.Address)
	if to == "" {
		to = strings.TrimSpace(out.To)
	}
	local, domain, _ := splitAddress(c.fromAddress)
	id := messageID(out.Key, domain, out.Channel.Secrets[app.WebhookSecretKey])
	m := gomail.NewMsg(gomail.WithEncoding(gomail.EncodingQP), gomail.WithCharset(gomail.CharsetUTF8),
		gomail.WithNoDefaultUserAgent())
	if err := m.FromFormat(c.fromName, c.fromAddress); err != nil {
		return nil, "", fmt.Errorf("The channel's sender address %s is not valid.", c.fromAddress)
	}
	if _, _, ok := splitAddress(to); !ok || !validAddress(strings.ToLower(to)) {
		return nil, "", fmt.Errorf("%q is not a valid email address.", to)
	}
	if err := m.To(to); err != nil {
		return nil, "", fmt.Errorf("%q is not a valid email address.", to)
	}
	m.Subject(subject(c, out.Subject))
	m.SetMessageIDWithValue(id)
	m.SetDateWithValue(d.now())
	if v := bracketIDs([]string{out.InReplyTo}); v != "" {
		m.SetGenHeader(gomail.HeaderInReplyTo, v)
	}
	// RFC 5322 §3.6.4: References ends with the Message-ID being answered.
	refs := out.References
	if out.InReplyTo != "" && !slices.ContainsFunc(refs, func(r string) bool { return sameID(r, out.InReplyTo) }) {
		refs = append(slices.Clip(refs), out.InReplyTo)
	}
	if v := bracketIDs(refs); v != "" {
		m.SetGenHeader(gomail.HeaderReferences, v)
	}
	if tok := out.ReplyToken; tokenPattern.MatchString(tok) {
		if err := m.ReplyToFormat(c.fromName, local+"+"+tok+"@"+domain); err != nil {
			return nil, "", fmt.Errorf("The reply address for token %q is not valid.", tok)
		}
		m.SetGenHeader(HeaderReplyToken, tok)
	}
	m.SetGenHeader(gomail.HeaderXMailer, "Parley")
	m.SetBodyString(gomail.TypeTextPlain, out.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, htmlBody(out.Text))
	if err := attach(m, out); err != nil {
		return nil, "", err
	}
	return m, id, nil
}

func subject(c config, s string) string {
	if s = strings.Join(strings.Fields(s), " "); s != "" {
		return s
	}
	if c.fromName != "" {
		return "Message from " + c.fromName
	}
	return "Message from " + c.fromAddress
}

// bracketIDs formats Message-IDs for In-Reply-To and References, skipping
// any that would not be a valid msg-id (and could inject a header).
func bracketIDs(ids []string) string {
	var b []string
	for _, id := range ids {
		if id = trimID(id); msgIDPattern.MatchString(id) {
			b = append(b, "<"+id+">")
		}
	}
	return strings.Join(b, " ")
}

func sameID(a, b string) bool { return trimID(a) == trimID(b) }

func trimID(id string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(id), "<"), ">")
}

// htmlBody is the text as HTML: escaped, with its line breaks kept.
func htmlBody(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	return "<div dir=\"auto\">" + strings.ReplaceAll(html.EscapeString(text), "\n", "<br>\n") + "</div>"
}

func attach(m *gomail.Msg, out app.Outbound) error {
	for _, att := range out.Attachments {
		if out.Open == nil {
			return fmt.Errorf("The attachment %q cannot be read.", att.Filename)
		}
		data, err := out.Open(att)
		if err != nil { // storage trouble: worth another attempt
			return &app.SendError{Reason: fmt.Sprintf("The attachment %q could not be read: %v", att.Filename, err)}
		}
		ct := att.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := m.AttachReader(att.Filename, bytes.NewReader(data),
			gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return fmt.Errorf("The attachment %q cannot be attached: %v", att.Filename, err)
		}
	}
	return nil
}
