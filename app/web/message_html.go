package web

import (
	"html/template"
	"net/http"

	"parley/app"
)

// emailPage frames an email's HTML part on a page of its own. The HTML was
// sanitised when the mail arrived; the page's CSP is the second wall: no
// script, no network (remote images and fonts are blocked, so opening a
// mail never tells its sender it was read), and a sandbox with no
// permissions at all.
var emailPage = template.Must(template.New("email").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">
<title>{{.Subject}}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:48rem;margin:1.5rem auto;padding:0 1rem;color:#1f2933}
header{border-bottom:1px solid #d9dee3;margin-bottom:1rem;padding-bottom:.5rem;color:#52606d;font-size:13px}
img{max-width:100%;height:auto}</style></head>
<body><header><strong>{{.Subject}}</strong><br>From {{.From}} · {{.When}}</header>
<main data-testid="email-html">{{.HTML}}</main></body></html>`))

const emailPageCSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; sandbox"

func (s *Server) showMessageHTML(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	m, html, err := t.DB.MessageHTML(r.Context(), r.PathValue("id"), t.scope())
	if err == nil && html == "" {
		err = app.Errorf(app.ENOTFOUND, "This message has no formatted version.")
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", emailPageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "private, no-store")
	_ = emailPage.Execute(w, map[string]any{
		"Subject": m.Subject, "From": m.Sender.Name + " <" + m.ContactValue + ">", "When": m.CreatedAt.Format("2 Jan 2006 15:04 UTC"),
		// Sanitised by the email provider package (bluemonday) before it was stored.
		"HTML": template.HTML(html), // #nosec G203 -- sanitised at ingest (bluemonday), and the page's CSP forbids script
	})
}
