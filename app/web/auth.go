package web

import (
	"net/http"
	"strings"

	"parley/app"
	"parley/views/auth"
	"parley/views/ui"
)

// badLogin is the one answer to a wrong email or password, so that the form
// does not tell which accounts exist.
var badLogin = app.Errorf(app.EUNAUTHORIZED, "Email or password is not correct.")

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	next := localPath(r.URL.Query().Get("next"))
	if t.User != nil {
		redirect(w, r, next)
		return
	}
	s.render(w, r, http.StatusOK, auth.Login(auth.LoginPage{Workspace: t.Tenant.Name, Next: next, Form: ui.Form{}}))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	form := formFrom(r, "email")
	next := localPath(r.PostFormValue("next"))
	email := app.NormalizeEmail(r.PostFormValue("email"))
	password := r.PostFormValue("password")
	fail := func(status int, err error) {
		s.render(w, r, status, auth.Login(auth.LoginPage{Workspace: t.Tenant.Name, Next: next, Form: withError(form, err)}))
	}
	if email == "" || password == "" {
		fail(http.StatusUnprocessableEntity, app.Errorf(app.EINVALID, "Enter your email and password."))
		return
	}
	ip := s.clientIP(r)
	if !s.limits.allow(ip, t.Tenant.ID+"|"+email) {
		w.Header().Set("Retry-After", "60")
		fail(http.StatusTooManyRequests, app.Errorf(app.ERATELIMITED, "Too many sign-in attempts. Wait a minute, then try again."))
		return
	}
	u, err := t.DB.UserByEmail(r.Context(), email)
	if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
		s.renderError(w, r, err)
		return
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	if !app.CheckPasswordOrDummy(hash, password) {
		if u != nil {
			if err := t.DB.RecordLoginFailed(r.Context(), u, ip); err != nil {
				s.logIfInternal(r, err)
			}
		}
		fail(http.StatusUnauthorized, badLogin)
		return
	}
	if !u.Active() {
		fail(http.StatusForbidden, app.Errorf(app.EFORBIDDEN, "This account has been deactivated. Ask an admin of your team to reactivate it."))
		return
	}
	if err := s.signIn(r, t, u); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, next)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	if t.User != nil {
		if err := t.DB.RecordLogout(r.Context(), t.User); err != nil {
			s.logIfInternal(r, err)
		}
	}
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.renderError(w, r, err)
		return
	}
	redirect(w, r, "/login")
}

// useLoginLink signs in with a single-use link (the hop from sign-up on the
// base domain to the new workspace's host).
func (s *Server) useLoginLink(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	u, err := t.DB.ConsumeLoginLink(r.Context(), r.URL.Query().Get("token"))
	if err != nil {
		s.renderLinkProblem(w, r, t, "Sign-in link not valid", err)
		return
	}
	if err := s.signIn(r, t, u); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Welcome to Parley! Your workspace is ready.")
	redirect(w, r, "/")
}

func (s *Server) renderLinkProblem(w http.ResponseWriter, r *http.Request, t *tenantReq, title string, err error) {
	s.logIfInternal(r, err)
	status := errorStatus(err)
	if status == http.StatusNotFound {
		status = http.StatusGone // a bad link and a used one look the same to the person holding it
	}
	s.render(w, r, status, auth.LinkProblem(auth.LinkProblemPage{Workspace: t.Tenant.Name, Title: title, Message: app.ErrorMessage(err)}))
}

func (s *Server) showAcceptInvite(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	inv, err := t.DB.InviteBySecret(r.Context(), r.PathValue("secret"))
	if err == nil {
		err = inv.Usable(t.DB.Now())
	}
	if err != nil {
		s.renderLinkProblem(w, r, t, "Invitation not valid", err)
		return
	}
	s.render(w, r, http.StatusOK, auth.AcceptInvite(auth.AcceptInvitePage{Workspace: t.Tenant.Name,
		Email: inv.Email, RoleLabel: inv.Role.Label(), Action: r.URL.Path, Form: ui.Form{Values: map[string]string{"name": inv.Name}}}))
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	secret := r.PathValue("secret")
	form := formFrom(r, "name")
	u, err := t.DB.AcceptInvite(r.Context(), secret, app.AcceptInvite{Name: r.PostFormValue("name"), Password: r.PostFormValue("password")})
	if app.ErrorCode(err) == app.EINVALID {
		inv, ierr := t.DB.InviteBySecret(r.Context(), secret)
		if ierr != nil {
			s.renderLinkProblem(w, r, t, "Invitation not valid", ierr)
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, auth.AcceptInvite(auth.AcceptInvitePage{Workspace: t.Tenant.Name,
			Email: inv.Email, RoleLabel: inv.Role.Label(), Action: r.URL.Path, Form: withError(form, err)}))
		return
	} else if err != nil {
		s.renderLinkProblem(w, r, t, "Invitation not valid", err)
		return
	}
	if err := s.signIn(r, t, u); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Welcome to "+t.Tenant.Name+", "+strings.Fields(u.Name)[0]+"!")
	redirect(w, r, "/")
}

func (s *Server) showResetPassword(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	u, err := t.DB.PasswordResetUser(r.Context(), r.PathValue("secret"))
	if err != nil {
		s.renderLinkProblem(w, r, t, "Reset link not valid", err)
		return
	}
	s.render(w, r, http.StatusOK, auth.ResetPassword(auth.ResetPasswordPage{Workspace: t.Tenant.Name,
		Email: u.Email, Action: r.URL.Path, Form: ui.Form{}}))
}

// resetPassword sets the new password, which signs the user out of every
// other session, and signs them in here.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	secret := r.PathValue("secret")
	u, err := t.DB.ResetPassword(r.Context(), secret, r.PostFormValue("password"))
	if app.ErrorCode(err) == app.EINVALID {
		ru, rerr := t.DB.PasswordResetUser(r.Context(), secret)
		if rerr != nil {
			s.renderLinkProblem(w, r, t, "Reset link not valid", rerr)
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, auth.ResetPassword(auth.ResetPasswordPage{Workspace: t.Tenant.Name,
			Email: ru.Email, Action: r.URL.Path, Form: withError(ui.Form{}, err)}))
		return
	} else if err != nil {
		s.renderLinkProblem(w, r, t, "Reset link not valid", err)
		return
	}
	if err := s.signIn(r, t, u); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.flash(r, ui.AlertSuccess, "Your new password is set.")
	redirect(w, r, "/")
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, t *tenantReq) {
	s.renderError(w, r, app.Errorf(app.ENOTFOUND, "There is nothing at this address. Check the link, or go back home."))
}
