package web

import (
	"context"
	"net/http"
	"strings"

	"parley/app"
	"parley/tenantdb"
	"parley/views/portal"
)

// The public site of a workspace: its help center (/help), contact form,
// web chat widget (/widget.js, /widget/…) and customer portal (/portal).
// It is served on the workspace's own host next to the team app, and on
// any custom domain an admin maps (help.acme.com), where it is the only
// thing served.
//
// The public site never reads the team's session: its handlers are not
// wrapped in the team session manager, so a team cookie sent along on the
// workspace host means nothing here, and on a custom domain the browser
// does not send it at all. A customer signed in to the portal has their
// own cookie, scoped to /portal.

// portalReq is what a public-site handler gets: the workspace, the handle
// to its file, and how its pages look.
type portalReq struct {
	Tenant   *app.Tenant
	DB       *tenantdb.DB
	Branding app.Branding
	// CustomDomain is set when the request came in on a mapped domain
	// rather than the workspace's own host.
	CustomDomain bool
	// host is that verified domain, without a port.
	host string
}

// portalPaths are the path prefixes of the public site on a workspace host.
var portalPaths = []string{"/help", "/portal", "/widget"}

// isPortalPath reports whether a path on a workspace host belongs to the
// public site.
func isPortalPath(path string) bool {
	for _, p := range portalPaths {
		if path == p || strings.HasPrefix(path, p+"/") || strings.HasPrefix(path, p+".") {
			return true
		}
	}
	return false
}

// portalRoute adapts a public-site handler: it takes the workspace the
// dispatcher resolved and adds its branding.
func (s *Server) portalRoute(h func(http.ResponseWriter, *http.Request, *portalReq)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info(r.Context()).route = r.Pattern
		t := tenantFrom(r)
		if t == nil {
			plainNotFound(w)
			return
		}
		b, err := t.DB.Branding(r.Context(), t.Tenant.Name)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		_, custom := r.Context().Value(customDomainKey).(bool)
		p := &portalReq{Tenant: t.Tenant, DB: t.DB, Branding: b, CustomDomain: custom}
		if custom {
			p.host = hostname(r.Host) // what servePortalDomain found verified
		}
		h(w, r, p)
	})
}

// customDomainKey marks a request that came in on a custom domain.
type customDomainKeyType struct{}

var customDomainKey customDomainKeyType

// servePortalDomain answers a custom domain: the mapped workspace's public
// site and nothing else. Its root is the help center.
func (s *Server) servePortalDomain(w http.ResponseWriter, r *http.Request, host string) {
	t, err := s.control.TenantByDomain(r.Context(), host)
	if app.ErrorCode(err) == app.ENOTFOUND {
		plainNotFound(w)
		return
	} else if err != nil {
		s.log.ErrorContext(r.Context(), "custom domain lookup failed", "host", host, "err", err)
		http.Error(w, "Service unavailable.", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path == "/" {
		http.Redirect(w, r, "/help", http.StatusFound)
		return
	}
	if !isPortalPath(r.URL.Path) {
		plainNotFound(w)
		return
	}
	ctx := context.WithValue(r.Context(), customDomainKey, true)
	s.withTenantBy(func(context.Context) (*app.Tenant, error) { return t, nil }, s.portal).ServeHTTP(w, r.WithContext(ctx))
}

// origin is where links mailed to a customer lead: the verified custom
// domain the request came in on (served on the standard port), or the
// workspace's own host as configured. Never the raw Host header, whose
// port the client chooses.
func (p *portalReq) origin(s *Server) string {
	if p.host != "" {
		return s.scheme() + "://" + p.host
	}
	return TenantURL(s.cfg, p.Tenant.Slug, "")
}

// portalShell is the page frame of every public page.
func (p *portalReq) shell(title, description string, section portal.Section) portal.Shell {
	return portal.Shell{Title: title, Description: description, Branding: p.Branding, Section: section}
}

// renderPortalError shows err on a branded public page.
func (s *Server) renderPortalError(w http.ResponseWriter, r *http.Request, p *portalReq, err error) {
	s.logIfInternal(r, err)
	status := errorStatus(err)
	heading, text := "Something went wrong", "Please try again in a moment."
	switch status {
	case http.StatusNotFound:
		heading, text = "Page not found", "The page you asked for does not exist here."
	case http.StatusTooManyRequests:
		heading, text = "Too many requests", app.ErrorMessage(err)
	case http.StatusInternalServerError, http.StatusServiceUnavailable:
	default:
		heading, text = http.StatusText(status), app.ErrorMessage(err)
	}
	sh := p.shell(heading, "", "")
	sh.NoIndex = true
	s.render(w, r, status, portal.Message(sh, status, heading, text))
}

// portalNotFound answers any public path no route matched.
func (s *Server) portalNotFound(w http.ResponseWriter, r *http.Request, p *portalReq) {
	s.renderPortalError(w, r, p, app.Errorf(app.ENOTFOUND, "Page not found."))
}
