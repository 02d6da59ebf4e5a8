package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"parley/app"
)

// Session keys.
const (
	sessUserID    = "user_id"
	sessEpoch     = "epoch"
	sessFlash     = "flash"
	sessFlashKind = "flash_kind"
)

func (s *Server) newSessionManager() *scs.SessionManager {
	sm := scs.New()
	sm.Store = tenantSessionStore{}
	sm.IdleTimeout = s.cfg.SessionIdleTimeout
	sm.Lifetime = s.cfg.SessionLifetime
	sm.Cookie.Name = "parley_session"
	if s.cfg.HTTPS {
		// __Host- makes the browser insist on Secure, Path=/ and no Domain,
		// so the cookie stays on the one workspace host that set it.
		sm.Cookie.Name = "__Host-parley_session"
	}
	sm.Cookie.Domain = ""
	sm.Cookie.Path = "/"
	sm.Cookie.HttpOnly = true
	sm.Cookie.Secure = s.cfg.HTTPS
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Persist = true
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		s.renderError(w, r, err)
	}
	return sm
}

// tenantSessionStore keeps each session in the file of the tenant whose host
// issued it. It takes the tenant from the request context, which withTenant
// sets before the session middleware runs; a session token presented on
// another tenant's host is simply not found there.
type tenantSessionStore struct{}

var errNoTenant = errors.New("session store used outside a workspace request")

func (tenantSessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	t, ok := ctx.Value(tenantKey).(*tenantReq)
	if !ok {
		return nil, false, errNoTenant
	}
	data, expiry, found, err := t.DB.FindSession(ctx, token)
	if found {
		t.session = &storedSession{token: token, data: data, expiry: expiry}
	}
	return data, found, err
}

// sessionSlideSlack is how far a session's idle expiry may lag behind.
// scs re-commits every session on every request to slide its idle timeout;
// skipping rewrites that change nothing but a few seconds of expiry keeps
// page views from turning into writes.
const sessionSlideSlack = time.Minute

func (tenantSessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	t, ok := ctx.Value(tenantKey).(*tenantReq)
	if !ok {
		return errNoTenant
	}
	if seen := t.session; seen != nil && seen.token == token && bytes.Equal(seen.data, b) &&
		expiry.Sub(seen.expiry) < sessionSlideSlack {
		return nil
	}
	return t.DB.CommitSession(ctx, token, b, expiry)
}

func (tenantSessionStore) DeleteCtx(ctx context.Context, token string) error {
	t, ok := ctx.Value(tenantKey).(*tenantReq)
	if !ok {
		return errNoTenant
	}
	return t.DB.DeleteSession(ctx, token)
}

// The context-free methods exist to satisfy scs.Store; scs calls the Ctx ones.
func (tenantSessionStore) Find(string) ([]byte, bool, error)      { return nil, false, errNoTenant }
func (tenantSessionStore) Commit(string, []byte, time.Time) error { return errNoTenant }
func (tenantSessionStore) Delete(string) error                    { return errNoTenant }

// handlerFunc is a workspace handler: it gets the workspace explicitly.
type handlerFunc func(w http.ResponseWriter, r *http.Request, t *tenantReq)

// page serves h to signed-in users whose role holds perm (any signed-in user
// when perm is empty). Others are sent to sign in, or get a 403.
func (s *Server) page(perm app.Permission, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := s.startHandler(r)
		if err := s.loadUser(r, t); err != nil {
			s.renderError(w, r, err)
			return
		}
		if t.User == nil {
			redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()))
			return
		}
		if perm != "" && !t.User.Can(perm) {
			s.renderError(w, r, app.Errorf(app.EFORBIDDEN, "Your role (%s) does not allow this. Ask an admin if you need access.", t.User.Role.Label()))
			return
		}
		h(w, r, t)
	})
}

// public serves h to anyone; t.User is set when someone is signed in.
func (s *Server) public(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := s.startHandler(r)
		if err := s.loadUser(r, t); err != nil {
			s.renderError(w, r, err)
			return
		}
		h(w, r, t)
	})
}

// startHandler records the matched route and returns a per-request copy of
// the workspace taken from the context, the one place handlers get it from.
func (s *Server) startHandler(r *http.Request) *tenantReq {
	info(r.Context()).route = r.Pattern
	t := *tenantFrom(r)
	return &t
}

// loadUser reads the signed-in user afresh on every request, so a
// deactivation or role change takes effect at once. A session whose user is
// gone or deactivated, or that predates a password change, is destroyed.
func (s *Server) loadUser(r *http.Request, t *tenantReq) error {
	id := s.sessions.GetString(r.Context(), sessUserID)
	if id == "" {
		return nil
	}
	u, err := t.DB.UserByID(r.Context(), id)
	if app.ErrorCode(err) == app.ENOTFOUND || (err == nil && (!u.Active() ||
		s.sessions.GetInt64(r.Context(), sessEpoch) != u.SessionEpoch)) {
		return s.sessions.Destroy(r.Context())
	} else if err != nil {
		return err
	}
	t.User = u
	return nil
}

// flash stores a one-time message shown on the next page.
func (s *Server) flash(r *http.Request, kind, msg string) {
	s.sessions.Put(r.Context(), sessFlash, msg)
	s.sessions.Put(r.Context(), sessFlashKind, kind)
}

// popFlash takes the pending one-time message, if any.
func (s *Server) popFlash(r *http.Request) (kind, msg string) {
	msg = s.sessions.PopString(r.Context(), sessFlash)
	kind = s.sessions.PopString(r.Context(), sessFlashKind)
	return kind, msg
}

// signIn starts a fresh session for u: a new token defeats session fixation.
func (s *Server) signIn(r *http.Request, t *tenantReq, u *app.User) error {
	if err := s.sessions.RenewToken(r.Context()); err != nil {
		return err
	}
	s.sessions.Put(r.Context(), sessUserID, u.ID)
	s.sessions.Put(r.Context(), sessEpoch, u.SessionEpoch)
	return t.DB.RecordLogin(r.Context(), u, s.clientIP(r))
}

// apiRoute serves h to requests bearing a live API token of the workspace
// whose role holds perm.
func (s *Server) apiRoute(perm app.Permission, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := s.startHandler(r)
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(secret) == "" {
			s.writeAPIError(w, r, app.Errorf(app.EUNAUTHORIZED, "Send an API token as “Authorization: Bearer <token>”."))
			return
		}
		tok, err := t.DB.TokenBySecret(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		if err := t.DB.TouchToken(r.Context(), tok); err != nil {
			s.log.WarnContext(r.Context(), "token last-used update failed", "err", err)
		}
		t.Token = tok
		if perm != "" && !tok.Role.Can(perm) {
			s.writeAPIError(w, r, app.Errorf(app.EFORBIDDEN, "This token's role (%s) does not allow this.", tok.Role.Label()))
			return
		}
		h(w, r, t)
	})
}
