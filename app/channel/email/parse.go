package email

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode ISO-8859-x, Windows-125x, Shift_JIS… bodies and headers
	"github.com/emersion/go-message/mail"

	"parley/app"
)

// Limits that keep one odd email from costing much.
const (
	maxText       = 1 << 20 // bytes of text or HTML kept
	maxParts      = 200     // MIME parts looked at
	maxDepth      = 12      // multipart nesting
	maxReferences = 20      // Message-IDs kept as threading hints
)

var (
	addrPattern     = regexp.MustCompile(`[^\s<>,;:"()\[\]@]+@[^\s<>,;:"()\[\]@]+`)
	msgIDInBrackets = regexp.MustCompile(`<([^<>\s]+)>`)
)

// Parse turns one raw email into what it means to Parley: a customer's
// message, or the bounce of one of Parley's own messages (a StatusReport,
// not a message). The relay endpoint and IMAP polling both use it. A
// message from the channel's own address (a loop, or a copy of what
// Parley sent) gives an empty Incoming.
func Parse(raw []byte, ch app.Channel) (app.Incoming, error) {
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return app.Incoming{}, app.Errorf(app.EINVALID, "The email could not be read: %v.", err)
	}
	h := mail.Header{Header: e.Header}
	from, name, ok := sender(h)
	if !ok {
		return app.Incoming{}, app.Errorf(app.EINVALID, "The email has no sender address.")
	}
	var p parts
	walkErr := p.walk(e, 0)
	if walkErr != nil && p.empty() {
		return app.Incoming{}, app.Errorf(app.EINVALID, "The email's MIME structure is broken: %v.", walkErr)
	}
	if st, isBounce := bounce(h, from, &p); isBounce {
		if st == nil {
			return app.Incoming{}, nil
		}
		st.ChannelID = ch.ID
		return app.Incoming{Statuses: []app.StatusReport{*st}}, nil
	}
	own := strings.ToLower(strings.TrimSpace(ch.Setting(KeyFromAddress)))
	if ownAddress(from, own) {
		return app.Incoming{}, nil
	}
	return app.Incoming{Messages: []app.InboundMessage{inbound(raw, h, from, name, own, &p, ch)}}, nil
}

func inbound(raw []byte, h mail.Header, from, name, own string, p *parts, ch app.Channel) app.InboundMessage {
	id := messageIDOf(h, raw)
	subj := subjectOf(h)
	in := app.InboundMessage{
		ChannelID:         ch.ID,
		From:              app.ContactInput{Type: app.ContactEmail, Value: from},
		Transport:         app.TransportEmail,
		SenderName:        name,
		Text:              p.textBody(),
		ProviderMessageID: id,
		Uploads:           p.uploads,
		Direction:         app.DirectionIn,
		Automatic:         automatic(h, p),
		Subject:           subj,
		HTML:              sanitizeHTML(p.htmlBody()),
		ReplyToken:        replyToken(h, own),
		References:        references(h),
		Meta:              map[string]string{"message_id": id, "subject": subj},
	}
	// RFC 5322 §3.6.2: Reply-To is where the author wants answers (a web
	// form's mail comes From the form service, Reply-To the customer).
	if rt := replyTo(h); rt != "" && rt != from && !ownAddress(rt, own) {
		in.SenderMeta = map[string]string{"address": rt}
	}
	return in
}

// sender is the From address (lower-cased) and display name. A From that
// does not parse strictly still yields the first address in it.
func sender(h mail.Header) (addr, name string, ok bool) {
	if list, err := h.AddressList("From"); err == nil && len(list) > 0 {
		addr, name = strings.ToLower(list[0].Address), strings.TrimSpace(list[0].Name)
	} else if m := addrPattern.FindString(h.Get("From")); m != "" {
		addr = strings.ToLower(m)
	}
	_, _, ok = splitAddress(addr)
	return addr, strings.Join(strings.Fields(name), " "), ok
}

func replyTo(h mail.Header) string {
	if list, err := h.AddressList("Reply-To"); err == nil && len(list) == 1 {
		if a := strings.ToLower(list[0].Address); strings.Contains(a, "@") {
			return a
		}
	}
	return ""
}

// ownAddress reports whether addr is the channel's address or one of its
// plus-addresses.
func ownAddress(addr, own string) bool {
	l, d, ok := splitAddress(addr)
	ol, od, _ := splitAddress(own)
	if i := strings.IndexByte(l, '+'); i >= 0 {
		l = l[:i]
	}
	return ok && l == ol && d == od
}

// messageIDOf is the Message-ID without brackets or, for the rare mail
// without one, a hash of the bytes, so the same mail still dedupes.
func messageIDOf(h mail.Header, raw []byte) string {
	v := h.Get("Message-Id")
	if ids := msgIDs(v); len(ids) > 0 {
		return ids[0]
	}
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// subjectOf decodes RFC 2047 words and unfolds the subject.
func subjectOf(h mail.Header) string {
	s, err := h.Subject()
	if err != nil {
		s = h.Get("Subject")
	}
	return strings.Join(strings.Fields(s), " ")
}

// msgIDs lists the message identifiers in a header value, without their
// angle brackets. Clients that forget the brackets still get their ids
// taken, one per word.
func msgIDs(v string) []string {
	var ids []string
	for _, m := range msgIDInBrackets.FindAllStringSubmatch(v, -1) {
		ids = append(ids, m[1])
	}
	if len(ids) == 0 {
		for _, f := range strings.Fields(v) {
			if strings.Contains(f, "@") && !strings.ContainsAny(f, "<>") {
				ids = append(ids, f)
			}
		}
	}
	return ids
}

// references are the threading hints: In-Reply-To first, then References
// newest first (the header lists them oldest first), at most 20.
func references(h mail.Header) []string {
	refs := msgIDs(h.Get("References"))
	slices.Reverse(refs)
	var out []string
	for _, id := range append(msgIDs(h.Get("In-Reply-To")), refs...) {
		if len(out) == maxReferences {
			break
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// replyToken finds Parley's reply token: in a plus-address of the
// channel's own address on any recipient header (replies go to the
// Reply-To Parley set), else in the X-Parley-Reply-Token header.
func replyToken(h mail.Header, own string) string {
	local, domain, ok := splitAddress(own)
	if ok {
		for _, key := range []string{"To", "Cc", "Delivered-To", "X-Original-To"} {
			fields := h.FieldsByKey(key)
			for fields.Next() {
				if tok := plusToken(fields.Value(), local, domain); tok != "" {
					return tok
				}
			}
		}
	}
	if tok := strings.TrimSpace(h.Get(HeaderReplyToken)); tokenPattern.MatchString(tok) {
		return tok
	}
	return ""
}

// plusToken returns the +tag of the first address in v that is
// local+tag@domain, keeping the tag's case.
func plusToken(v, local, domain string) string {
	for _, a := range addrPattern.FindAllString(v, -1) {
		l, d, ok := splitAddress(a)
		i := strings.IndexByte(l, '+')
		if !ok || i < 0 || d != domain || !strings.EqualFold(l[:i], local) {
			continue
		}
		if tok := l[i+1:]; tokenPattern.MatchString(tok) {
			return tok
		}
	}
	return ""
}
