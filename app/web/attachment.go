package web

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	"parley/app"
)

// serveAttachment serves a file of a message the user may see. The bytes
// came from a customer, so the browser is told their type (sniffed on the
// way in, never guessed again), to download anything but images, and to
// run nothing from them.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	a, path, err := t.DB.AttachmentByID(r.Context(), r.PathValue("id"), t.scope())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := os.Open(path) // #nosec G703 -- path is FilesDir joined with filepath.Base of the id of a row found in the DB
	if err != nil {
		s.log.ErrorContext(r.Context(), "attachment file missing", "attachment", a.ID, "err", err)
		s.renderError(w, r, app.Errorf(app.ENOTFOUND, "File not found."))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	disposition := "attachment"
	if a.IsImage() {
		disposition = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Disposition", disposition+"; filename*=UTF-8''"+encodeRFC5987(a.Filename))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	h.Set("ETag", `"`+a.SHA256+`"`)
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// encodeRFC5987 percent-encodes a file name for the filename* parameter
// (RFC 5987): every byte but the few unreserved characters.
func encodeRFC5987(s string) string {
	const attrChar = "!#$&+-.^_`|~"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(attrChar, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
