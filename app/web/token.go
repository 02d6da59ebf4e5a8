package web

import (
	"net/http"

	"parley/app"
	"parley/views/settings"
	"parley/views/ui"
)

func (s *Server) showTokens(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderTokens(w, r, t, http.StatusOK, settings.TokensPage{Form: ui.Form{}})
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, p settings.TokensPage) {
	tokens, err := t.DB.ListTokens(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p.Shell = s.settingsShell(r, t, "Credentials for Parley's API.")
	p.Tabs = settingsTabs(t.User, "tokens")
	p.Tokens = tokens
	p.APIBase = TenantURL(s.cfg, t.Tenant.Slug, "/api/v1")
	s.render(w, r, status, settings.Tokens(p))
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	form := formFrom(r, "name", "role")
	tok, secret, err := t.DB.CreateToken(r.Context(), app.NewAPIToken{Name: r.PostFormValue("name"),
		Role: app.Role(r.PostFormValue("role"))}, t.actor())
	if err != nil {
		s.logIfInternal(r, err)
		s.renderTokens(w, r, t, errorStatus(err), settings.TokensPage{Form: withError(form, err)})
		return
	}
	s.renderTokens(w, r, t, http.StatusCreated, settings.TokensPage{Form: ui.Form{}, NewSecret: secret, NewName: tok.Name})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if err := t.DB.RevokeToken(r.Context(), r.PathValue("id"), t.actor()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Token revoked. Requests using it are refused from now on.")
	redirect(w, r, "/settings/tokens")
}
