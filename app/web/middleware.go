package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/prometheus/client_golang/prometheus"

	"parley/app"
	"parley/tenantdb"
)

type ctxKey int

const (
	infoKey ctxKey = iota
	tenantKey
)

// reqInfo is filled in as a request goes down the stack, so that the access
// log written on the way out knows the tenant and the route.
type reqInfo struct {
	id     string
	tenant string
	route  string
	nonce  string
}

func info(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(infoKey).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) httpMetrics {
	m := httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parley_http_requests_total",
			Help: "HTTP requests by route and status."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "parley_http_request_duration_seconds",
			Help: "HTTP request latency by route.", Buckets: prometheus.DefBuckets}, []string{"route"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.duration)
	}
	return m
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (flush for SSE).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives each request an id, recovers panics, and writes one
// structured access-log line and the request metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &reqInfo{id: newRequestID(), nonce: newNonce()}
		w.Header().Set("X-Request-Id", ri.id)
		ctx := context.WithValue(r.Context(), infoKey, ri)
		ctx = templ.WithNonce(ctx, ri.nonce)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(ctx, "panic", "request_id", ri.id, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					http.Error(sw, "Internal error.", http.StatusInternalServerError)
				}
			}
			d := time.Since(start)
			route := ri.route
			if route == "" {
				route = "unmatched"
			}
			s.metrics.requests.WithLabelValues(route, fmt.Sprint(sw.status)).Inc()
			s.metrics.duration.WithLabelValues(route).Observe(d.Seconds())
			path := r.URL.Path
			if strings.Contains(route, "{secret}") || strings.Contains(route, "{token}") {
				path = route // the path holds a sign-in, invite or reset secret: never log it
			}
			s.log.InfoContext(ctx, "request", "request_id", ri.id, "method", r.Method, "host", r.Host,
				"path", path, "route", route, "tenant", ri.tenant, "status", sw.status,
				"bytes", sw.bytes, "duration_ms", float64(d.Microseconds())/1000, "ip", s.clientIP(r))
		}()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}

// secure sets the security headers, including a strict CSP with the
// request's nonce: no inline script or style without it, no eval, no framing.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce := info(r.Context()).nonce
		formAction := "'self'"
		if hostname(r.Host) == s.baseHost {
			// Sign-up posts on the base domain and lands on the new workspace's host.
			formAction += " " + s.scheme() + "://*." + s.cfg.BaseDomain
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-"+nonce+"'; "+
			"style-src 'self' 'nonce-"+nonce+"'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "+
			"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action "+formAction)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if s.cfg.HTTPS {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// csrf refuses cross-origin unsafe requests (http.CrossOriginProtection reads
// Sec-Fetch-Site and Origin), with a page that says why.
func (s *Server) csrf(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.writeAPIError(w, r, app.Errorf(app.EFORBIDDEN, "Cross-origin request refused."))
			return
		}
		s.renderError(w, r, app.Errorf(app.EFORBIDDEN,
			"This form was sent from another site, so Parley refused it. Reload the page and try again."))
	}))
	return cop.Handler(next)
}

// tenantReq is what a handler of a workspace gets: the tenant, the handle to
// its file, and who is asking (a signed-in user, or an API token's role).
type tenantReq struct {
	Tenant *app.Tenant
	DB     *tenantdb.DB
	User   *app.User     // the signed-in user, if any
	Token  *app.APIToken // the API token, on /api/v1

	session *storedSession // the session row as read, set by the session store
}

// storedSession is a session row as the session store read it.
type storedSession struct {
	token  string
	data   []byte
	expiry time.Time
}

// can reports whether whoever is asking holds p.
func (t *tenantReq) can(p app.Permission) bool {
	if t.Token != nil {
		return t.Token.Role.Can(p)
	}
	return t.User.Can(p)
}

// actor returns the event-log actor of this request.
func (t *tenantReq) actor() app.Actor {
	if t.Token != nil {
		return app.Actor{Type: app.ActorToken, ID: t.Token.ID, Name: t.Token.Name}
	}
	if t.User != nil {
		return app.UserActor(t.User)
	}
	return app.SystemActor
}

// withTenant resolves the workspace from the Host, acquires its file for the
// length of the request and puts both in the context. It fails closed: a
// lookup error is a 503, never someone else's tenant.
func (s *Server) withTenant(slug string, next http.Handler) http.Handler {
	return s.withTenantBy(func(ctx context.Context) (*app.Tenant, error) { return s.control.TenantBySlug(ctx, slug) }, next)
}

// withTenantBy is withTenant with the lookup given: by slug for a workspace
// host, by domain for a custom one.
func (s *Server) withTenantBy(lookup func(context.Context) (*app.Tenant, error), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := lookup(r.Context())
		if app.ErrorCode(err) == app.ENOTFOUND {
			plainNotFound(w)
			return
		} else if err != nil {
			s.log.ErrorContext(r.Context(), "tenant lookup failed", "host", r.Host, "err", err)
			http.Error(w, "Service unavailable.", http.StatusServiceUnavailable)
			return
		}
		info(r.Context()).tenant = t.Slug
		if !t.Active() {
			err := app.Errorf(app.EDISABLED, "The workspace “%s” has been disabled. Contact your Parley operator if you think this is a mistake.", t.Name)
			if strings.HasPrefix(r.URL.Path, "/api/") {
				s.writeAPIError(w, r, err)
			} else {
				s.renderError(w, r, err)
			}
			return
		}
		db, release, err := s.tenants.Acquire(r.Context(), t.ID)
		if err != nil {
			w.Header().Set("Retry-After", "30")
			if strings.HasPrefix(r.URL.Path, "/api/") {
				s.writeAPIError(w, r, err)
			} else {
				s.renderError(w, r, err)
			}
			return
		}
		defer release()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey, &tenantReq{Tenant: t, DB: db})))
	})
}

// tenantFrom returns the request's workspace, set by withTenant.
func tenantFrom(r *http.Request) *tenantReq {
	t, _ := r.Context().Value(tenantKey).(*tenantReq)
	return t
}
