package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"parley/app"
	"parley/tenantdb"
	"parley/views/portal"
	"parley/views/ui"
)

// Signing in to the customer portal (storage in tenantdb/portal_session.go).
//
// A client types an email address on their profile at /portal/login and
// gets a single-use link by email (the workspace's mailbox, or the sandbox
// outbox when it has none), valid for app.PortalLinkTTL. The answer is the
// same whether or not the address is a client's, and so is the work done
// before answering (one write, one job): the email is composed and sent
// by the job. Opening the link shows a page with a Sign in button (mail
// scanners fetch links; only the POST signs in), which starts a portal
// session in a cookie of its own, scoped to /portal: the team's session is
// never read on the public site and the portal's is never read by the team
// app.

// PortalMailQueue queues the job that mails a sign-in link. jobs.Client
// implements it next to Delivery.
type PortalMailQueue interface {
	// EnqueuePortalMail queues the mail of a committed link request; the
	// job of a request that named no client sends nothing.
	EnqueuePortalMail(ctx context.Context, tenantID, requestID string) error
}

// portalCookie names the portal session's cookie. It cannot take the
// __Host- prefix (that demands Path=/): it is host-only and Path=/portal,
// so the team app's paths never receive it.
const portalCookie = "parley_portal"

// portalEnded are the notices of the sign-in page, by its ?ended= code:
// fixed texts, so a crafted link cannot put words on the page.
var portalEnded = map[string]string{
	"signout": "You are signed out.",
	"expired": "Your session has ended. Enter your email address to get a new sign-in link.",
	"changed": "You were signed out because your account details changed. Ask for a new sign-in link.",
}

// portalAccount is the signed-in client of a portal request.
type portalAccount struct {
	tenantdb.PortalSession
	token string
}

// actor is the event-log actor of the client's own changes.
func (a *portalAccount) actor() app.Actor {
	return app.Actor{Type: app.ActorClient, ID: a.ClientID, Name: a.ClientName}
}

// portalAccountHandler is a handler of the signed-in portal.
type portalAccountHandler func(w http.ResponseWriter, r *http.Request, p *portalReq, a *portalAccount)

// portalAccountRoute serves h to a signed-in client; anyone else is sent
// to sign in (htmx requests too, as a whole page).
func (s *Server) portalAccountRoute(h portalAccountHandler) http.Handler {
	return s.portalRoute(func(w http.ResponseWriter, r *http.Request, p *portalReq) {
		info(r.Context()).route = r.Pattern
		a, ended, err := s.portalSignedIn(w, r, p)
		if err != nil {
			s.renderPortalError(w, r, p, err)
			return
		}
		if a == nil {
			redirect(w, r, "/portal/login"+ended)
			return
		}
		h(w, r, p, a)
	})
}

// portalSignedIn returns the request's portal session, nil when there is
// none. A session that ended is forgotten (its cookie cleared) and ended
// says why, as a query for the sign-in page.
func (s *Server) portalSignedIn(w http.ResponseWriter, r *http.Request, p *portalReq) (a *portalAccount, ended string, err error) {
	c, err := r.Cookie(portalCookie)
	if err != nil || c.Value == "" {
		return nil, "", nil
	}
	sess, err := p.DB.PortalSessionByToken(r.Context(), c.Value)
	switch app.ErrorCode(err) {
	case "":
	case app.EUNAUTHORIZED:
		s.clearPortalCookie(w)
		return nil, "?ended=expired", nil
	case app.EGONE:
		if err := p.DB.EndPortalSession(r.Context(), c.Value, false); err != nil {
			return nil, "", err
		}
		s.clearPortalCookie(w)
		return nil, "?ended=changed", nil
	default:
		return nil, "", err
	}
	// Polling for new messages is not the client using the page: it must
	// not keep an open tab's session alive for ever.
	if !isPortalPoll(r) {
		if err := p.DB.TouchPortalSession(r.Context(), sess); err != nil {
			s.log.WarnContext(r.Context(), "portal session last-seen update failed", "err", err)
		}
	}
	return &portalAccount{PortalSession: sess, token: c.Value}, "", nil
}

func isPortalPoll(r *http.Request) bool { return r.URL.Path == "/portal/messages/new" }

func (s *Server) setPortalCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: portalCookie, Value: token, Path: "/portal", Expires: expires, // #nosec G124 -- Secure follows --https (plain HTTP in development), HttpOnly and SameSite are set
		MaxAge: int(expires.Sub(s.cfg.Now()) / time.Second), HttpOnly: true, Secure: s.cfg.HTTPS, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearPortalCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: portalCookie, Value: "", Path: "/portal", MaxAge: -1, HttpOnly: true, // #nosec G124 -- clears the cookie; Secure follows --https
		Secure: s.cfg.HTTPS, SameSite: http.SameSiteLaxMode})
}

// portalAuthShell is the frame of the sign-in pages.
func (p *portalReq) portalAuthShell(title string) portal.Shell {
	sh := p.shell(title, "", portal.SectionPortal)
	sh.NoIndex = true
	return sh
}

// portalLinkMinutes is how long a link works, as the pages say it.
var portalLinkMinutes = int(app.PortalLinkTTL / time.Minute)

func (s *Server) showPortalLogin(w http.ResponseWriter, r *http.Request, p *portalReq) {
	info(r.Context()).route = r.Pattern
	a, _, err := s.portalSignedIn(w, r, p)
	if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	if a != nil {
		redirect(w, r, "/portal")
		return
	}
	s.render(w, r, http.StatusOK, portal.PortalSignIn(portal.SignInPage{Shell: p.portalAuthShell("Sign in"),
		Notice: portalEnded[r.URL.Query().Get("ended")], Form: ui.Form{}}))
}

// requestPortalLink answers every well-formed address the same way and
// leaves the rest to the mail job.
func (s *Server) requestPortalLink(w http.ResponseWriter, r *http.Request, p *portalReq) {
	info(r.Context()).route = r.Pattern
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	form := formFrom(r, "email")
	fail := func(status int, err error) {
		s.render(w, r, status, portal.PortalSignIn(portal.SignInPage{Shell: p.portalAuthShell("Sign in"),
			Form: withError(form, err)}))
	}
	in := app.ContactInput{Type: app.ContactEmail, Value: form.Value("email")}
	if strings.TrimSpace(in.Value) == "" {
		fail(http.StatusUnprocessableEntity, app.InvalidField("email", "Enter your email address."))
		return
	}
	if err := in.Normalize("email", ""); err != nil {
		fail(http.StatusUnprocessableEntity, app.InvalidField("email", "Enter a valid email address, like name@example.com."))
		return
	}
	id, err := p.DB.RequestPortalLink(r.Context(), tenantdb.PortalLinkRequest{Email: in.Value, IP: s.clientIP(r),
		Origin: p.origin(s), SiteName: p.Branding.Name})
	var throttled *tenantdb.PortalThrottled
	if errors.As(err, &throttled) {
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter/time.Second)+1))
		fail(http.StatusTooManyRequests, throttled.Err)
		return
	} else if err != nil {
		s.renderPortalError(w, r, p, err)
		return
	}
	if q, ok := s.cfg.Delivery.(PortalMailQueue); !ok {
		s.log.WarnContext(r.Context(), "no portal mail queue configured", "request", id)
	} else if err := q.EnqueuePortalMail(r.Context(), p.Tenant.ID, id); err != nil {
		// The visitor is told the same; they can ask again.
		s.log.ErrorContext(r.Context(), "enqueue portal mail failed", "request", id, "err", err)
	}
	redirect(w, r, "/portal/login/sent")
}

func (s *Server) showPortalLinkSent(w http.ResponseWriter, r *http.Request, p *portalReq) {
	info(r.Context()).route = r.Pattern
	s.render(w, r, http.StatusOK, portal.PortalSignInSent(portal.SignInSentPage{Shell: p.portalAuthShell("Check your email"),
		Minutes: portalLinkMinutes}))
}

// showPortalLink is where a sign-in link opens: a page with a Sign in
// button, so that a mail scanner fetching the link does not use it up.
func (s *Server) showPortalLink(w http.ResponseWriter, r *http.Request, p *portalReq) {
	info(r.Context()).route = r.Pattern
	// The page's address holds the secret: keep it out of Referer headers.
	w.Header().Set("Referrer-Policy", "no-referrer")
	secret := r.PathValue("token")
	l, err := p.DB.PortalLinkBySecret(r.Context(), secret)
	if err != nil {
		s.renderPortalLinkGone(w, r, p, err)
		return
	}
	s.render(w, r, http.StatusOK, portal.PortalSignInConfirm(portal.SignInConfirmPage{Shell: p.portalAuthShell("Sign in"),
		Email: l.Email, Action: "/portal/login/" + url.PathEscape(secret)}))
}

// usePortalLink signs the client in: the link is used up and a new
// session (a new token, whatever the browser held before) begins.
func (s *Server) usePortalLink(w http.ResponseWriter, r *http.Request, p *portalReq) {
	info(r.Context()).route = r.Pattern
	w.Header().Set("Referrer-Policy", "no-referrer")
	var previous string
	if c, err := r.Cookie(portalCookie); err == nil {
		previous = c.Value
	}
	sess, token, err := p.DB.ConsumePortalLink(r.Context(), r.PathValue("token"), previous)
	if err != nil {
		s.renderPortalLinkGone(w, r, p, err)
		return
	}
	s.setPortalCookie(w, token, sess.ExpiresAt)
	redirect(w, r, "/portal#latest")
}

// renderPortalLinkGone shows the one page for a link that cannot be used:
// unknown, used, expired and withdrawn links look the same (410).
func (s *Server) renderPortalLinkGone(w http.ResponseWriter, r *http.Request, p *portalReq, err error) {
	if app.ErrorCode(err) != app.EGONE {
		s.renderPortalError(w, r, p, err)
		return
	}
	s.render(w, r, http.StatusGone, portal.PortalSignInGone(portal.SignInGonePage{
		Shell: p.portalAuthShell("Link expired"), Minutes: portalLinkMinutes}))
}

// portalLogout ends the session, whether or not it was still valid.
func (s *Server) portalLogout(w http.ResponseWriter, r *http.Request, p *portalReq) {
	info(r.Context()).route = r.Pattern
	if c, err := r.Cookie(portalCookie); err == nil && c.Value != "" {
		if err := p.DB.EndPortalSession(r.Context(), c.Value, true); err != nil {
			s.renderPortalError(w, r, p, err)
			return
		}
	}
	s.clearPortalCookie(w)
	redirect(w, r, "/portal/login?ended=signout")
}
