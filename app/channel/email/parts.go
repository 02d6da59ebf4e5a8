package email

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"

	"parley/app"
	"parley/app/channel"
)

// parts is what an email's MIME tree holds, gathered in one walk.
type parts struct {
	text, html []string
	uploads    []app.Upload
	notes      []string
	extra      int // attachments past app.MaxAttachments
	// dsn are the per-recipient blocks of a delivery status report, and
	// original the Message-ID of the message it returns.
	dsn         []dsnBlock
	original    string
	hasOriginal bool
	count       int
}

func (p *parts) empty() bool {
	return len(p.text) == 0 && len(p.html) == 0 && len(p.uploads) == 0 && len(p.dsn) == 0 && !p.hasOriginal
}

// walk visits the MIME tree depth first. A part whose charset or transfer
// encoding is unknown is still read, as it came.
func (p *parts) walk(e *message.Entity, depth int) error {
	mr := e.MultipartReader()
	if mr == nil {
		return p.leaf(e)
	}
	if depth >= maxDepth {
		return errors.New("multipart nested too deeply")
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil
		} else if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return err
		}
		if p.count++; p.count > maxParts {
			return nil
		}
		if err := p.walk(part, depth+1); err != nil {
			return err
		}
	}
}

// leaf files one part: body text, a delivery report, the returned
// original, or an attachment (inline images included).
func (p *parts) leaf(e *message.Entity) error {
	mt, params, err := e.Header.ContentType()
	if err != nil || mt == "" {
		mt, params = "text/plain", nil // RFC 2045 §5.2
	}
	disp, _, _ := e.Header.ContentDisposition()
	ah := mail.AttachmentHeader{Header: e.Header}
	name, _ := ah.Filename()
	name = cleanName(name)
	switch {
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		p.dsn = append(p.dsn, readDSN(e.Body)...)
	case mt == "text/rfc822-headers" || mt == "message/global-headers":
		p.noteOriginal(e.Body)
	case mt == "message/rfc822" || mt == "message/global":
		data, err := io.ReadAll(io.LimitReader(e.Body, channel.MaxMedia+1))
		p.noteOriginal(strings.NewReader(string(data)))
		p.addUpload(nameOr(name, "message.eml"), data, err)
	case (mt == "text/plain" || mt == "text/html") && disp != "attachment" && name == "":
		p.addText(mt, params, e.Body)
	case strings.HasPrefix(mt, "text/") && mt != "text/calendar" && disp != "attachment" && name == "":
		// Other alternatives of the body (text/x-amp-html, text/enriched,
		// text/watch-html) say again what the text says.
	default:
		data, err := io.ReadAll(io.LimitReader(e.Body, channel.MaxMedia+1))
		p.addUpload(nameOr(name, defaultName(mt, len(p.uploads)+1)), data, err)
	}
	return nil
}

func (p *parts) addText(mt string, params map[string]string, body io.Reader) {
	data, _ := io.ReadAll(io.LimitReader(body, maxText)) // a broken encoding keeps what decoded
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	if mt == "text/html" {
		p.html = append(p.html, s)
		return
	}
	if strings.EqualFold(params["format"], "flowed") {
		s = unflow(s, strings.EqualFold(params["delsp"], "yes"))
	}
	p.text = append(p.text, s)
}

// addUpload keeps an attachment, or notes in the text why it did not.
func (p *parts) addUpload(name string, data []byte, err error) {
	switch {
	case len(p.uploads) >= app.MaxAttachments:
		p.extra++
	case err != nil:
		p.notes = append(p.notes, fmt.Sprintf("[The attachment “%s” could not be read: %v.]", name, err))
	case len(data) > channel.MaxMedia:
		p.notes = append(p.notes, fmt.Sprintf("[The attachment “%s” is larger than %d MB and was not imported.]",
			name, channel.MaxMedia>>20))
	case len(data) > 0:
		p.uploads = append(p.uploads, app.Upload{Filename: name, Data: data})
	}
}

// textBody is the message's text: its text/plain parts, else a rendering
// of its HTML, then notes on attachments left out.
func (p *parts) textBody() string {
	text := strings.TrimSpace(strings.Join(p.text, "\n"))
	if text == "" && len(p.html) > 0 {
		text = htmlToText(p.htmlBody())
	}
	notes := p.notes
	if p.extra > 0 {
		notes = append(notes, fmt.Sprintf("[%d more attachments were not imported: at most %d are kept per message.]",
			p.extra, app.MaxAttachments))
	}
	if len(notes) > 0 {
		text = strings.TrimSpace(text + "\n\n" + strings.Join(notes, "\n"))
	}
	return text
}

func (p *parts) htmlBody() string { return strings.Join(p.html, "\n") }

// unflow joins the soft line breaks of format=flowed text (RFC 3676 §4):
// a line ending in a space continues on the next, and a leading space
// was added only to protect the line.
func unflow(s string, delsp bool) string {
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i, l := range lines {
		if strings.HasPrefix(l, " ") {
			l = l[1:]
		}
		if strings.HasSuffix(l, " ") && l != "-- " && i < len(lines)-1 {
			if delsp {
				l = l[:len(l)-1]
			}
			b.WriteString(l)
			continue
		}
		b.WriteString(l)
		if i < len(lines)-1 {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// cleanName keeps only the last element of a sender's file name.
func cleanName(name string) string {
	name = strings.TrimSpace(strings.ReplaceAll(name, "\\", "/"))
	if name == "" {
		return ""
	}
	name = path.Base(name)
	if name == "." || name == "/" || name == ".." {
		return ""
	}
	return name
}

func nameOr(name, fallback string) string {
	if name != "" {
		return name
	}
	return fallback
}

var extensions = map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
	"image/webp": ".webp", "application/pdf": ".pdf", "text/calendar": ".ics", "application/zip": ".zip",
	"audio/mpeg": ".mp3", "video/mp4": ".mp4"}

// defaultName names an unnamed part (an inline image, a calendar invite).
func defaultName(mt string, n int) string {
	if strings.HasPrefix(mt, "image/") {
		return fmt.Sprintf("image-%d%s", n, extensions[mt])
	}
	if mt == "text/calendar" {
		return "invite.ics"
	}
	return fmt.Sprintf("attachment-%d%s", n, extensions[mt])
}
