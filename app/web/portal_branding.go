package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"parley/app"
	"parley/tenantdb"
	"parley/views/settings"
	"parley/views/ui"
)

// Settings → Help center & portal: how the workspace's public pages look
// (name, accent, footer, logo), where they are (with copy buttons) and the
// workspace's custom domains (added and verified in portal_domain.go). The
// logo is served publicly at /help/logo/{file}.

// maxBrandingBody bounds a branding form. It is well above the logo's
// limit, so a logo that is too large is named as such with the rest of the
// form kept, rather than cutting the form off.
const maxBrandingBody = app.MaxAttachmentBytes + 64<<10

func (s *Server) showPortalSettings(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	b, err := t.DB.Branding(r.Context(), t.Tenant.Name)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	form := ui.Form{Values: map[string]string{"name": b.Name, "accent": b.Accent, "footer": b.Footer}}
	s.renderPortalSettings(w, r, t, http.StatusOK, b, form, false)
}

// renderPortalSettings shows the page with form as typed; saved is the
// branding as stored (for the current logo). Each domain option sets the
// custom domains' part (app/web/portal_domain.go).
func (s *Server) renderPortalSettings(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, saved app.Branding,
	form ui.Form, logoLost bool, domain ...func(*settings.PortalPage)) {
	domains, err := s.portalDomainRows(r, t)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	page := settings.PortalPage{
		Shell: s.settingsShell(r, t, "How your help center, contact form and customer portal look, and where they are."),
		Tabs:  settingsTabs(t.User, "portal"), Form: form, LogoURL: saved.LogoURL, LogoLost: logoLost,
		Preview:       settings.BrandingPreview{Name: form.Value("name"), Accent: form.Value("accent"), LogoURL: saved.LogoURL},
		WorkspaceHost: t.Tenant.Slug + "." + s.baseHost,
	}
	for _, u := range s.publicURLs(t.Tenant) {
		page.URLs = append(page.URLs, settings.PublicURL{Key: u.key, Label: u.label, URL: u.url, Hint: u.hint})
	}
	page.Domains = domains
	page.DomainNotice = s.sessions.PopString(r.Context(), sessDomainNotice)
	for _, f := range domain {
		f(&page)
	}
	s.render(w, r, status, settings.Portal(page))
}

// publicURL is one address of the public site.
type publicURL struct{ key, label, url, hint string }

// publicURLs lists the public site's addresses on the workspace's host.
func (s *Server) publicURLs(t *app.Tenant) []publicURL {
	return []publicURL{
		{"help", "Help center", TenantURL(s.cfg, t.Slug, "/help"), "Published articles, searchable by your customers."},
		{"contact", "Contact form", TenantURL(s.cfg, t.Slug, "/help/contact"), "Messages arrive in the inbox; you answer by email."},
		{"portal", "Customer portal", TenantURL(s.cfg, t.Slug, "/portal"), "Customers sign in with their email to follow their conversation."},
	}
}

// brandingForm reads the settings form: the branding, the logo if one was
// chosen, and whether to remove the current one.
func brandingForm(w http.ResponseWriter, r *http.Request) (b app.Branding, logo *app.Upload, remove bool, err error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBrandingBody)
	err = r.ParseMultipartForm(1 << 20) // #nosec G120 -- the body is capped by http.MaxBytesReader on the line above
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return b, nil, false, app.InvalidField("logo", "The logo is far larger than 512 KB. Use a smaller image (a logo 64 pixels high is plenty).")
	case err != nil && !errors.Is(err, http.ErrNotMultipart):
		return b, nil, false, app.InvalidField("logo", "The form could not be read; please choose the logo again.")
	}
	b = app.Branding{Name: r.PostFormValue("name"), Accent: r.PostFormValue("accent"), Footer: r.PostFormValue("footer")}
	remove = r.PostFormValue("remove_logo") == "true"
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["logo"]; len(fhs) > 0 && (fhs[0].Filename != "" || fhs[0].Size > 0) {
			f, err := fhs[0].Open()
			if err != nil {
				return b, nil, remove, app.InvalidField("logo", "The logo could not be read; please choose it again.")
			}
			defer f.Close()
			data, err := io.ReadAll(io.LimitReader(f, tenantdb.MaxLogoBytes+1))
			if err != nil {
				return b, nil, remove, app.InvalidField("logo", "The logo could not be read; please choose it again.")
			}
			logo = &app.Upload{Filename: fhs[0].Filename, Data: data}
		}
	}
	return b, logo, remove, nil
}

func (s *Server) savePortalSettings(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	b, logo, remove, err := brandingForm(w, r)
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll()
	}
	if err == nil {
		_, err = t.DB.SetBranding(r.Context(), b, logo, remove && logo == nil, t.actor())
	}
	if isFormError(err) {
		saved, serr := t.DB.Branding(r.Context(), t.Tenant.Name)
		if serr != nil {
			s.renderError(w, r, serr)
			return
		}
		form := withError(formFrom(r, "name", "accent", "footer", "remove_logo"), err)
		s.renderPortalSettings(w, r, t, errorStatus(err), saved, form, logo != nil && form.Error("logo") == "")
		return
	} else if err != nil {
		s.renderError(w, r, err)
		return
	}
	msg := "Branding saved. Your public pages show it now."
	switch {
	case logo != nil:
		msg = "Branding and logo saved. Your public pages show them now."
	case remove:
		msg = "Branding saved and logo removed."
	}
	s.flash(r, ui.AlertSuccess, msg)
	redirect(w, r, "/settings/portal")
}

// previewBranding redraws the preview as the admin types (htmx).
func (s *Server) previewBranding(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	saved, err := t.DB.Branding(r.Context(), t.Tenant.Name)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p := settings.BrandingPreview{Name: strings.Join(strings.Fields(r.PostFormValue("name")), " "),
		Accent: strings.ToLower(strings.TrimSpace(r.PostFormValue("accent"))), LogoURL: saved.LogoURL}
	s.render(w, r, http.StatusOK, settings.BrandingPreviewCard(p))
}

// serveLogo serves the workspace's current logo to anyone: it is on every
// public page. Its name is its content's hash, so it is cached for good;
// the bytes were sniffed as PNG, JPEG or WebP on upload and are never
// sniffed again.
func (s *Server) serveLogo(w http.ResponseWriter, r *http.Request, p *portalReq) {
	path, ct, err := p.DB.LogoFile(r.Context(), r.PathValue("file"))
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	f, err := os.Open(path) // #nosec G703 -- LogoFile answers only the stored logo's name, checked against logoName
	if err != nil {
		s.log.ErrorContext(r.Context(), "logo file missing", "path", path, "err", err)
		s.renderPortalError(w, r, p, app.Errorf(app.ENOTFOUND, "File not found."))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	// The logo may be shown by the workspace's custom domains too.
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// portalSettingsJSON is the branding as the API shows it, with the public
// addresses and custom domains (read-only).
type portalSettingsJSON struct {
	app.Branding
	URLs          map[string]string  `json:"urls"`
	CustomDomains []customDomainJSON `json:"custom_domains"`
}

type customDomainJSON struct {
	Domain     string     `json:"domain"`
	URL        string     `json:"url"`
	CreatedAt  time.Time  `json:"created_at"`
	VerifiedAt *time.Time `json:"verified_at"`
}

// portalSettingsInput is what PUT takes. The read-only parts of the GET
// answer are accepted and ignored, so a document read can be changed and
// sent back as it is.
type portalSettingsInput struct {
	Name   string `json:"name"`
	Accent string `json:"accent"`
	Footer string `json:"footer"`
	// RemoveLogo takes the logo away; the logo itself is uploaded with
	// PUT /api/v1/settings/portal/logo.
	RemoveLogo    bool            `json:"remove_logo"`
	LogoURL       json.RawMessage `json:"logo_url"`
	URLs          json.RawMessage `json:"urls"`
	CustomDomains json.RawMessage `json:"custom_domains"`
}

func (s *Server) portalSettingsJSON(r *http.Request, t *tenantReq, b app.Branding) (portalSettingsJSON, error) {
	domains, err := s.control.TenantDomains(r.Context(), t.Tenant.ID)
	if err != nil {
		return portalSettingsJSON{}, err
	}
	out := portalSettingsJSON{Branding: b, URLs: map[string]string{}, CustomDomains: []customDomainJSON{}}
	if b.LogoURL != "" {
		out.LogoURL = TenantURL(s.cfg, t.Tenant.Slug, b.LogoURL)
	}
	for _, u := range s.publicURLs(t.Tenant) {
		out.URLs[u.key] = u.url
	}
	for _, d := range domains {
		out.CustomDomains = append(out.CustomDomains, customDomainJSON{Domain: d.Domain, URL: s.scheme() + "://" + d.Domain + "/help",
			CreatedAt: d.CreatedAt, VerifiedAt: d.VerifiedAt})
	}
	return out, nil
}

func (s *Server) writePortalSettings(w http.ResponseWriter, r *http.Request, t *tenantReq, b app.Branding) {
	out, err := s.portalSettingsJSON(r, t, b)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiGetPortalSettings(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	b, err := t.DB.Branding(r.Context(), t.Tenant.Name)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.writePortalSettings(w, r, t, b)
}

func (s *Server) apiPutPortalSettings(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	var in portalSettingsInput
	if err := decodeBody(w, r, &in); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	b, err := t.DB.SetBranding(r.Context(), app.Branding{Name: in.Name, Accent: in.Accent, Footer: in.Footer}, nil, in.RemoveLogo, t.actor())
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.writePortalSettings(w, r, t, b)
}

// apiPutPortalLogo sets the logo from the raw image in the body.
func (s *Server) apiPutPortalLogo(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, tenantdb.MaxLogoBytes+1))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = app.InvalidField("logo", "The logo is larger than 512 KB.")
	}
	var b app.Branding
	if err == nil {
		b, err = t.DB.Branding(r.Context(), t.Tenant.Name)
	}
	if err == nil {
		b, err = t.DB.SetBranding(r.Context(), b, &app.Upload{Filename: "logo", Data: data}, false, t.actor())
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.writePortalSettings(w, r, t, b)
}

// apiDeletePortalLogo removes the logo.
func (s *Server) apiDeletePortalLogo(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	b, err := t.DB.Branding(r.Context(), t.Tenant.Name)
	if err == nil {
		b, err = t.DB.SetBranding(r.Context(), b, nil, true, t.actor())
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.writePortalSettings(w, r, t, b)
}
