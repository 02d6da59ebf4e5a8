package web

import (
	"net/http"

	"parley/app"
	"parley/views/settings"
	"parley/views/ui"
)

func (s *Server) showTeam(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderTeam(w, r, t, http.StatusOK, settings.TeamPage{InviteForm: ui.Form{}})
}

// renderTeam fills in the members and invites around p's form state.
func (s *Server) renderTeam(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, p settings.TeamPage) {
	users, err := t.DB.ListUsers(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	invites, err := t.DB.ListPendingInvites(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	p.Shell = s.settingsShell(r, t, "Who works in "+t.Tenant.Name+" and what they may do.")
	p.Tabs = settingsTabs(t.User, "team")
	p.Me, p.Users, p.Invites, p.Now = t.User, users, invites, t.DB.Now()
	s.render(w, r, status, settings.Team(p))
}

func (s *Server) inviteUser(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	form := formFrom(r, "email", "name", "role")
	inv, secret, err := t.DB.CreateInvite(r.Context(), app.NewInvite{Email: r.PostFormValue("email"),
		Name: r.PostFormValue("name"), Role: app.Role(r.PostFormValue("role"))}, t.actor())
	if err != nil {
		s.logIfInternal(r, err)
		s.renderTeam(w, r, t, errorStatus(err), settings.TeamPage{InviteForm: withError(form, err)})
		return
	}
	// The link is shown on this response only; it is not stored anywhere.
	s.renderTeam(w, r, t, http.StatusCreated, settings.TeamPage{InviteForm: ui.Form{},
		NewLink:    TenantURL(s.cfg, t.Tenant.Slug, "/invite/"+secret),
		NewLinkFor: "Invitation created for " + inv.Email + ". Send them this link; it works once and for 7 days:"})
}

// createPasswordReset issues a reset link for a team member who forgot
// their password; like an invite link, it is shown once.
func (s *Server) createPasswordReset(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	secret, u, err := t.DB.CreatePasswordReset(r.Context(), r.PathValue("id"), t.actor())
	if err != nil {
		s.teamAction(w, r, err, "")
		return
	}
	s.renderTeam(w, r, t, http.StatusCreated, settings.TeamPage{InviteForm: ui.Form{},
		NewLink:    TenantURL(s.cfg, t.Tenant.Slug, "/reset/"+secret),
		NewLinkFor: "Password-reset link for " + u.Name + ". Send it to them; it works once and for 24 hours:"})
}

func (s *Server) revokeInvite(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.teamAction(w, r, t.DB.RevokeInvite(r.Context(), r.PathValue("id"), t.actor()), "Invitation withdrawn.")
}

func (s *Server) changeRole(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	role, err := app.ParseRole("role", r.PostFormValue("role"))
	if err == nil {
		err = t.DB.ChangeRole(r.Context(), r.PathValue("id"), role, t.actor())
	}
	s.teamAction(w, r, err, "Role changed.")
}

func (s *Server) deactivateUser(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.teamAction(w, r, t.DB.SetUserActive(r.Context(), r.PathValue("id"), false, t.actor()),
		"User deactivated; they were signed out everywhere.")
}

func (s *Server) reactivateUser(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.teamAction(w, r, t.DB.SetUserActive(r.Context(), r.PathValue("id"), true, t.actor()), "User reactivated.")
}

// teamAction ends a team change: not-found is a 404 page; a refused change
// goes back to the team page with the reason; success with a confirmation.
func (s *Server) teamAction(w http.ResponseWriter, r *http.Request, err error, ok string) {
	switch app.ErrorCode(err) {
	case "":
		s.flash(r, ui.AlertSuccess, ok)
	case app.ECONFLICT, app.EINVALID:
		s.flash(r, ui.AlertError, app.ErrorMessage(err))
	default:
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/settings/team")
}
