package web

import (
	"net/http"
	"strings"

	"parley/app"
	"parley/static"
)

// routes lists every route of Parley. There are three sites, chosen by Host:
// the base domain (landing and sign-up), a workspace's team app at
// {slug}.{base domain} with its /api/v1, and custom domains (portals).
func (s *Server) routes() {
	root := http.NewServeMux()
	root.HandleFunc("GET /{$}", s.showLanding)
	root.HandleFunc("GET /signup", s.showSignup)
	root.HandleFunc("POST /signup", s.signup)
	root.HandleFunc("GET /login", s.showFindWorkspace)
	root.HandleFunc("POST /login", s.findWorkspace)
	s.root = root

	m := http.NewServeMux()
	m.Handle("GET /{$}", s.page("", s.showHome))
	m.Handle("GET /login", s.public(s.showLogin))
	m.Handle("POST /login", s.public(s.login))
	m.Handle("POST /logout", s.public(s.logout))
	m.Handle("GET /login/link", s.public(s.useLoginLink))
	m.Handle("GET /invite/{secret}", s.public(s.showAcceptInvite))
	m.Handle("POST /invite/{secret}", s.public(s.acceptInvite))
	m.Handle("GET /reset/{secret}", s.public(s.showResetPassword))
	m.Handle("POST /reset/{secret}", s.public(s.resetPassword))

	m.Handle("GET /inbox", s.page("", s.showInbox))
	m.Handle("GET /clients", s.page(app.PermViewClients, s.showClients))
	m.Handle("GET /templates", s.page(app.PermUseTemplates, s.showTemplates))
	m.Handle("GET /help-center", s.page(app.PermEditArticles, s.showHelpCenter))

	m.Handle("GET /settings", s.page("", s.showSettings))
	m.Handle("GET /settings/account", s.page("", s.showAccount))
	m.Handle("POST /settings/account", s.page("", s.saveProfile))
	m.Handle("POST /settings/account/password", s.page("", s.changePassword))
	m.Handle("GET /settings/team", s.page(app.PermManageTeam, s.showTeam))
	m.Handle("POST /settings/team/invites", s.page(app.PermManageTeam, s.inviteUser))
	m.Handle("POST /settings/team/invites/{id}/revoke", s.page(app.PermManageTeam, s.revokeInvite))
	m.Handle("POST /settings/team/users/{id}/role", s.page(app.PermManageTeam, s.changeRole))
	m.Handle("POST /settings/team/users/{id}/deactivate", s.page(app.PermManageTeam, s.deactivateUser))
	m.Handle("POST /settings/team/users/{id}/reactivate", s.page(app.PermManageTeam, s.reactivateUser))
	m.Handle("POST /settings/team/users/{id}/reset-password", s.page(app.PermManageTeam, s.createPasswordReset))
	m.Handle("GET /settings/tokens", s.page(app.PermManageTokens, s.showTokens))
	m.Handle("POST /settings/tokens", s.page(app.PermManageTokens, s.createToken))
	m.Handle("POST /settings/tokens/{id}/revoke", s.page(app.PermManageTokens, s.revokeToken))
	m.Handle("GET /settings/audit", s.page(app.PermViewAudit, s.showAudit))
	m.Handle("/", s.public(s.notFound))
	s.app = s.sessions.LoadAndSave(m)

	api := http.NewServeMux()
	api.Handle("GET /api/v1/me", s.apiRoute("", s.apiMe))
	api.Handle("/api/", s.apiRoute("", s.apiNotFound))
	s.api = api

	shared := http.NewServeMux()
	shared.HandleFunc("GET /healthz", s.healthz)
	shared.HandleFunc("GET /readyz", s.readyz)
	shared.Handle("GET /static/", http.StripPrefix("/static/", immutable(http.FileServerFS(static.FS))))
	shared.Handle("/", http.HandlerFunc(s.dispatchHost))

	s.handler = s.observe(s.secure(s.csrf(shared)))
}

// dispatchHost sends a request to the site its Host names.
func (s *Server) dispatchHost(w http.ResponseWriter, r *http.Request) {
	host := hostname(r.Host)
	switch {
	case host == s.baseHost:
		s.root.ServeHTTP(w, r)
	case strings.HasSuffix(host, "."+s.baseHost):
		slug := strings.TrimSuffix(host, "."+s.baseHost)
		if strings.Contains(slug, ".") {
			plainNotFound(w)
			return
		}
		h := s.app
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h = s.api
		}
		s.withTenant(slug, h).ServeHTTP(w, r)
	default:
		s.servePortalDomain(w, r, host)
	}
}

// servePortalDomain answers a custom domain. Custom domains serve only a
// tenant's public portal, never the team app, and never see team cookies;
// until the portal exists every path on them is not found.
func (s *Server) servePortalDomain(w http.ResponseWriter, r *http.Request, host string) {
	_, err := s.control.TenantByDomain(r.Context(), host)
	if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
		s.log.ErrorContext(r.Context(), "custom domain lookup failed", "host", host, "err", err)
		http.Error(w, "Service unavailable.", http.StatusServiceUnavailable)
		return
	}
	plainNotFound(w)
}

// immutable marks versioned static assets as cacheable for a year.
func immutable(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info(r.Context()).route = "GET /static/"
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		h.ServeHTTP(w, r)
	})
}
