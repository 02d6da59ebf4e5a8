package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"parley/app"
)

// Telegram's limits on a message's text and a file's caption, in
// characters. They are counted here in UTF-16 units, as Telegram counts
// its entity offsets, so a split never overshoots.
const (
	maxText    = 4096
	maxCaption = 1024
)

// maxPatience is the longest flood-control wait Send sits out itself: only
// between the parts of one message, where giving up would leave the client
// with half of it.
const maxPatience = 10 * time.Second

// photoTypes go with sendPhoto, which Telegram shows inline; every other
// file goes with sendDocument.
var photoTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// chatIDPattern is a Bot API chat id: an integer, negative for groups.
var chatIDPattern = regexp.MustCompile(`^-?[1-9][0-9]{0,18}$`)

// part is one Bot API call of an outbound message: a text, or a file with
// an optional caption (in text).
type part struct {
	text string
	att  *app.Attachment
}

// Send delivers the message to the client's chat: the text with
// sendMessage (split at Telegram's 4096 characters), each file with
// sendPhoto or sendDocument, the text as the first file's caption when it
// fits. It returns the first message's id as "chat_id:message_id", since a
// message_id is only unique within its chat.
func (d *Driver) Send(ctx context.Context, out app.Outbound) (string, error) {
	chatID, err := chatIDOf(out)
	if err != nil {
		return "", err
	}
	parts := plan(out)
	if len(parts) == 0 {
		return "", &app.SendError{Reason: "The message has no text or file to send.", Permanent: true}
	}
	var first string
	for i, p := range parts {
		id, err := d.sendPart(ctx, out, chatID, p, i > 0)
		if err != nil && i == 0 {
			return "", sendError(err)
		} else if err != nil {
			return first, partialError(i, len(parts), err)
		}
		if i == 0 {
			first = chatID + ":" + id
		}
	}
	return first, nil
}

// chatIDOf is where the message goes: the chat id an inbound message gave
// (out.Address), else the contact's value when it is a numeric id. A bot
// cannot open a chat with a user name, so that is a permanent refusal.
func chatIDOf(out app.Outbound) (string, error) {
	if a := strings.TrimSpace(out.Address); a != "" {
		if chatIDPattern.MatchString(a) {
			return a, nil
		}
		return "", &app.SendError{Reason: fmt.Sprintf("The Telegram chat id %q is not valid.", a), Permanent: true}
	}
	to := strings.TrimPrefix(strings.TrimSpace(out.To), "@")
	switch {
	case chatIDPattern.MatchString(to):
		return to, nil
	case to == "":
		return "", &app.SendError{Reason: "The client has no Telegram chat to send to.", Permanent: true}
	}
	return "", &app.SendError{Permanent: true, Reason: "Telegram bots cannot write first to a user name (@" + to +
		"): the client must send a message to the bot, then replies go to that chat."}
}

// plan splits a message into calls: long text first, then the files, the
// first one carrying the text as caption when it is short enough.
func plan(out app.Outbound) []part {
	var parts []part
	caption := ""
	if strings.TrimSpace(out.Text) != "" {
		if len(out.Attachments) > 0 && utf16Len(out.Text) <= maxCaption {
			caption = out.Text
		} else {
			for _, chunk := range split(out.Text, maxText) {
				parts = append(parts, part{text: chunk})
			}
		}
	}
	for i := range out.Attachments {
		p := part{att: &out.Attachments[i]}
		if i == 0 {
			p.text = caption
		}
		parts = append(parts, p)
	}
	return parts
}

// sendPart makes one part's call. A later part (patient) that meets flood
// control waits a short retry_after once rather than fail a message whose
// start the client already has.
func (d *Driver) sendPart(ctx context.Context, out app.Outbound, chatID string, p part, patient bool) (string, error) {
	id, err := d.sendOnce(ctx, out, chatID, p)
	var ae *apiError
	if !patient || !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.RetryAfter > maxPatience {
		return id, err
	}
	t := time.NewTimer(max(ae.RetryAfter, time.Second))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case <-t.C:
	}
	return d.sendOnce(ctx, out, chatID, p)
}

// sendOnce makes one part's call and returns the new message's id.
func (d *Driver) sendOnce(ctx context.Context, out app.Outbound, chatID string, p part) (string, error) {
	var sent struct {
		MessageID int64 `json:"message_id"`
	}
	if p.att == nil {
		req := struct {
			ChatID json.Number `json:"chat_id"`
			Text   string      `json:"text"`
		}{json.Number(chatID), p.text}
		if err := d.call(ctx, out.Channel, "sendMessage", jsonBody(req), &sent); err != nil {
			return "", err
		}
		return strconv.FormatInt(sent.MessageID, 10), nil
	}
	if out.Open == nil {
		return "", errors.New("telegram: outbound message has no Open function")
	}
	data, err := out.Open(*p.att)
	if err != nil {
		return "", fmt.Errorf("open attachment %s: %w", p.att.ID, err)
	}
	method, field := "sendDocument", "document"
	if photoTypes[p.att.ContentType] {
		method, field = "sendPhoto", "photo"
	}
	err = d.call(ctx, out.Channel, method, fileBody(chatID, field, p.text, *p.att, data), &sent)
	var ae *apiError
	if method == "sendPhoto" && errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		// Telegram refuses as a photo what it cannot process as one (a side
		// too long, an odd ratio, over 10 MB); as a document it goes through.
		err = d.call(ctx, out.Channel, "sendDocument", fileBody(chatID, "document", p.text, *p.att, data), &sent)
	}
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(sent.MessageID, 10), nil
}

// quoteEscaper escapes a file name for a Content-Disposition header, as
// mime/multipart does, and drops line breaks that would end the header.
var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "")

// fileBody is the multipart/form-data upload of one file, the way a
// browser posts a form: chat_id, the optional caption, then the file.
func fileBody(chatID, field, caption string, att app.Attachment, data []byte) *body {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("chat_id", chatID) // writes to a bytes.Buffer cannot fail
	if caption != "" {
		_ = w.WriteField("caption", caption)
	}
	name, ct := att.Filename, att.ContentType
	if name == "" {
		name = "file"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+quoteEscaper.Replace(name)+`"`)
	h.Set("Content-Type", ct)
	pw, _ := w.CreatePart(h)
	_, _ = pw.Write(data)
	_ = w.Close()
	return &body{contentType: w.FormDataContentType(), data: buf.Bytes()}
}

// sendError classifies a failed first call: 429 waits retry_after, other
// 4xx are permanent with Telegram's reason, 5xx and network errors retry.
func sendError(err error) error {
	var ae *apiError
	var appErr *app.Error
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
		return &app.SendError{Reason: ae.Error(), RetryAfter: max(ae.RetryAfter, time.Second)}
	case errors.As(err, &ae):
		return &app.SendError{Reason: ae.Error(), Permanent: ae.permanent()}
	case errors.As(err, &appErr):
		return &app.SendError{Reason: appErr.Message, Permanent: true}
	}
	return err
}

// partialError fails a message some of whose parts the client already got:
// trying again would send those twice, so the team decides instead.
func partialError(done, total int, err error) error {
	return &app.SendError{Permanent: true, Reason: fmt.Sprintf(
		"Telegram took %d of the %d parts of this message, then failed (%v); the rest was not sent, so that the client does not get the first parts twice.",
		done, total, sendError(err))}
}

// utf16Len is the length of s as Telegram counts it.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16Units(r)
	}
	return n
}

func utf16Units(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// split cuts s into pieces of at most limit UTF-16 units, at a line break
// or a space in the second half of a piece when there is one; blank pieces
// are dropped, since Telegram refuses an empty text.
func split(s string, limit int) []string {
	var out []string
	for utf16Len(s) > limit {
		cut, n := 0, 0
		for cut < len(s) {
			r, size := utf8.DecodeRuneInString(s[cut:])
			if n+utf16Units(r) > limit && cut > 0 {
				break
			}
			n += utf16Units(r)
			cut += size
		}
		if i := strings.LastIndexByte(s[:cut], '\n'); i > cut/2 {
			cut = i + 1
		} else if i := strings.LastIndexByte(s[:cut], ' '); i > cut/2 {
			cut = i + 1
		}
		if strings.TrimSpace(s[:cut]) != "" {
			out = append(out, s[:cut])
		}
		s = s[cut:]
	}
	if strings.TrimSpace(s) != "" {
		out = append(out, s)
	}
	return out
}
