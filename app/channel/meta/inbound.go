package meta

import (
	"fmt"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"parley/app"
)

// pending is an inbound message parsed from a webhook, before its media
// are downloaded (parsing needs no network, so it can be fuzzed alone).
type pending struct {
	msg   app.InboundMessage
	media []mediaRef
}

// mediaRef is an attachment to download: by Graph media id (WhatsApp) or
// by URL.
type mediaRef struct {
	kind     string // image, video, audio, document, sticker, file, share…
	id       string
	url      string
	mimeType string
	filename string
	label    string // a line said before the attachment ("Shared a post: …")
}

// addLine appends a line to the message's text.
func (p *pending) addLine(line string) {
	if p.msg.Text == "" {
		p.msg.Text = line
		return
	}
	p.msg.Text += "\n" + line
}

// failedLine is what replaces an attachment that could not be downloaded:
// the message is kept, and the team learns what is missing and why.
func failedLine(kind string, err error) string {
	return fmt.Sprintf("[The %s attachment could not be downloaded: %v]", kind, err)
}

// uploadName names a downloaded file: its own name when the sender gave
// one, else its kind and an extension sniffed from the bytes the way
// app.CheckUpload will.
func uploadName(given, kind string, data []byte) string {
	if base := path.Base(strings.ReplaceAll(given, `\`, "/")); given != "" && base != "." && base != "/" {
		return base
	}
	return kind + app.AttachmentTypes[http.DetectContentType(data)]
}

// unixTime reads a Unix time in seconds (WhatsApp's strings), or now.
func unixTime(s string, now time.Time) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return now
	}
	return time.Unix(n, 0).UTC()
}

// milliTime reads a Unix time in milliseconds (Instagram's), or now.
func milliTime(ms int64, now time.Time) time.Time {
	if ms <= 0 {
		return now
	}
	return time.UnixMilli(ms).UTC()
}

// baseType is a content type without parameters ("text/plain" for
// "text/plain; charset=utf-8"), as Meta's media endpoints want it.
func baseType(ct string) string {
	t, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "application/octet-stream"
	}
	return t
}

// split cuts s into pieces of at most limit runes (or bytes, when bytes
// is set), preferring to cut after a space or line break in the second
// half of a piece so words stay whole.
func split(s string, limit int, bytes bool) []string {
	var parts []string
	for s != "" {
		cut := cutPoint(s, limit, bytes)
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	return parts
}

func cutPoint(s string, limit int, bytes bool) int {
	n, lastBreak := 0, -1
	for i, r := range s {
		w := 1
		if bytes {
			w = utf8.RuneLen(r)
		}
		if n+w > limit {
			switch {
			case lastBreak > i/2:
				return lastBreak
			case i == 0: // a limit below one character: cut after it
				_, size := utf8.DecodeRuneInString(s)
				return size
			}
			return i
		}
		n += w
		if r == ' ' || r == '\n' {
			lastBreak = i + 1
		}
	}
	return len(s)
}
