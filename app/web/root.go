package web

import (
	"net/http"

	"parley/app"
	"parley/tenantdb"
	"parley/views/auth"
	"parley/views/ui"
)

func (s *Server) showLanding(w http.ResponseWriter, r *http.Request) {
	info(r.Context()).route = r.Pattern
	s.render(w, r, http.StatusOK, auth.Landing(auth.LandingPage{SignupOpen: s.cfg.Signup}))
}

func (s *Server) showSignup(w http.ResponseWriter, r *http.Request) {
	info(r.Context()).route = r.Pattern
	if !s.cfg.Signup {
		s.renderError(w, r, app.Errorf(app.ENOTFOUND, "Sign-up is closed on this Parley. Ask its operator for a workspace."))
		return
	}
	s.render(w, r, http.StatusOK, auth.Signup(auth.SignupPage{BaseDomain: s.cfg.BaseDomain, Form: ui.Form{}}))
}

// signup creates a workspace and its admin, then carries the admin to the
// workspace's own host with a single-use sign-in link (cookies are host-only,
// so the base domain cannot sign them in there).
func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	info(r.Context()).route = r.Pattern
	if !s.cfg.Signup {
		s.renderError(w, r, app.Errorf(app.ENOTFOUND, "Sign-up is closed on this Parley."))
		return
	}
	form := formFrom(r, "name", "slug", "admin_name", "email")
	in := tenantdb.NewWorkspace{Slug: r.PostFormValue("slug"), Name: r.PostFormValue("name"),
		AdminEmail: r.PostFormValue("email"), AdminName: r.PostFormValue("admin_name"), AdminPassword: r.PostFormValue("password")}
	var err error
	if in.AdminPassword == "" {
		err = app.InvalidField("password", "Choose a password of at least 10 characters.")
	} else if in.AdminName == "" {
		err = app.InvalidField("admin_name", "Enter your name.")
	}
	if err == nil && !s.limits.signupAllowed(s.clientIP(r)) {
		w.Header().Set("Retry-After", "600")
		err = app.Errorf(app.ERATELIMITED, "Too many workspaces were created from your network. Try again in a few minutes.")
	}
	var ws tenantdb.Workspace
	if err == nil {
		ws, err = tenantdb.Provision(r.Context(), s.control, s.tenants, in, app.SystemActor)
	}
	if err != nil {
		s.logIfInternal(r, err)
		s.render(w, r, errorStatus(err), auth.Signup(auth.SignupPage{BaseDomain: s.cfg.BaseDomain, Form: withError(form, err)}))
		return
	}
	s.limits.recordSignup(s.clientIP(r))
	db, release, err := s.tenants.Acquire(r.Context(), ws.Tenant.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	defer release()
	secret, err := db.CreateLoginLink(r.Context(), ws.Admin.ID)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, TenantURL(s.cfg, ws.Tenant.Slug, "/login/link?token="+secret), http.StatusSeeOther)
}

func (s *Server) showFindWorkspace(w http.ResponseWriter, r *http.Request) {
	info(r.Context()).route = r.Pattern
	s.render(w, r, http.StatusOK, auth.FindWorkspace(auth.FindWorkspacePage{BaseDomain: s.cfg.BaseDomain, Form: ui.Form{}}))
}

func (s *Server) findWorkspace(w http.ResponseWriter, r *http.Request) {
	info(r.Context()).route = r.Pattern
	form := formFrom(r, "slug")
	slug := app.NormalizeSlug(r.PostFormValue("slug"))
	t, err := s.control.TenantBySlug(r.Context(), slug)
	if app.ErrorCode(err) == app.ENOTFOUND {
		err = app.InvalidField("slug", "No workspace has this address. Check the spelling.")
	}
	if err != nil {
		s.logIfInternal(r, err)
		s.render(w, r, errorStatus(err), auth.FindWorkspace(auth.FindWorkspacePage{BaseDomain: s.cfg.BaseDomain, Form: withError(form, err)}))
		return
	}
	http.Redirect(w, r, TenantURL(s.cfg, t.Slug, "/login"), http.StatusSeeOther) // #nosec G710 -- the slug is of a workspace found in the control DB, on our own base domain
}
