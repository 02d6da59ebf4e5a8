package web

import (
	"net/http"

	"parley/app"
	"parley/views/layout"
	"parley/views/settings"
	"parley/views/ui"
)

// settingsTabs lists the Settings tabs the user may open, in order.
func settingsTabs(u *app.User, current string) settings.Tabs {
	all := []struct {
		tab  settings.Tab
		perm app.Permission
	}{
		{settings.Tab{Key: "account", Label: "Your account", Href: "/settings/account"}, ""},
		{settings.Tab{Key: "team", Label: "Team", Href: "/settings/team"}, app.PermManageTeam},
		{settings.Tab{Key: "workspace", Label: "Workspace", Href: "/settings/workspace"}, app.PermManageSettings},
		{settings.Tab{Key: "fields", Label: "Client fields", Href: "/settings/fields"}, app.PermManageSettings},
		{settings.Tab{Key: "channels", Label: "Channels", Href: "/settings/channels"}, app.PermManageChannels},
		{settings.Tab{Key: "portal", Label: "Help center & portal", Href: "/settings/portal"}, app.PermManageSettings},
		{settings.Tab{Key: "retention", Label: "Retention", Href: "/settings/retention"}, app.PermManageRetention},
		{settings.Tab{Key: "consents", Label: "Consents", Href: "/settings/consents"}, app.PermViewClients},
		{settings.Tab{Key: "tokens", Label: "API tokens", Href: "/settings/tokens"}, app.PermManageTokens},
		{settings.Tab{Key: "audit", Label: "Audit log", Href: "/settings/audit"}, app.PermViewAudit},
	}
	tabs := settings.Tabs{Current: current}
	for _, it := range all {
		if it.perm == "" || u.Can(it.perm) {
			tabs.Items = append(tabs.Items, it.tab)
		}
	}
	return tabs
}

func (s *Server) settingsShell(r *http.Request, t *tenantReq, title string) layout.Shell {
	return s.shellFor(r, t, layout.SectionSettings, "Settings", title)
}

// showSettings opens the first tab worth seeing: the team for admins,
// the user's own account for everyone else.
func (s *Server) showSettings(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	target := "/settings/account"
	if t.User.Can(app.PermManageTeam) {
		target = "/settings/team"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (s *Server) showAccount(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderAccount(w, r, t, http.StatusOK, ui.Form{}, ui.Form{})
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, t *tenantReq, status int, profile, password ui.Form) {
	s.render(w, r, status, settings.Account(settings.AccountPage{Shell: s.settingsShell(r, t, "Your profile and password."),
		Tabs: settingsTabs(t.User, "account"), User: t.User, ProfileForm: profile, PasswordForm: password}))
}

func (s *Server) saveProfile(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	form := formFrom(r, "name")
	if err := t.DB.UpdateProfile(r.Context(), t.User, r.PostFormValue("name")); err != nil {
		s.logIfInternal(r, err)
		s.renderAccount(w, r, t, errorStatus(err), withError(form, err), ui.Form{})
		return
	}
	s.flash(r, ui.AlertSuccess, "Profile saved.")
	redirect(w, r, "/settings/account")
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	err := t.DB.ChangePassword(r.Context(), t.User, r.PostFormValue("current_password"), r.PostFormValue("new_password"))
	if err != nil {
		s.logIfInternal(r, err)
		s.renderAccount(w, r, t, errorStatus(err), ui.Form{}, withError(ui.Form{}, err))
		return
	}
	// The change signed the user out everywhere; keep this session alive
	// under a fresh token with the new epoch.
	u, err := t.DB.UserByID(r.Context(), t.User.ID)
	if err == nil {
		err = s.sessions.RenewToken(r.Context())
	}
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), sessEpoch, u.SessionEpoch)
	s.flash(r, ui.AlertSuccess, "Password changed.")
	redirect(w, r, "/settings/account")
}
