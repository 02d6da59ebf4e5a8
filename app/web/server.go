// Package web is Parley's HTTP layer: one routes file, middleware, a handler
// file per feature and the JSON API.
package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/prometheus/client_golang/prometheus"

	"parley/app"
	"parley/tenantdb"
)

// Config is what the HTTP layer needs; cmd/parley copies it from its own Config.
type Config struct {
	// BaseDomain is the host (with port, if not 80/443) under which every
	// workspace has a subdomain: acme.<BaseDomain>.
	BaseDomain string
	// HTTPS says the public URLs are https (TLS may end at a proxy). It makes
	// cookies Secure and __Host- prefixed and turns on HSTS.
	HTTPS bool
	// Signup lets anyone create a workspace on the base domain.
	Signup bool
	// SessionIdleTimeout signs a user out after this long without a request.
	SessionIdleTimeout time.Duration
	// SessionLifetime signs a user out this long after sign-in, whatever they do.
	SessionLifetime time.Duration
	// ClientIPHeader names a header set by a trusted proxy with the client's
	// address (for example Fly-Client-IP). Empty uses the connection's address.
	ClientIPHeader string
	Now            func() time.Time
	Logger         *slog.Logger
	Registerer     prometheus.Registerer
	// Delivery queues the sending of a message once it is committed.
	Delivery Delivery
	// Drivers are the provider packages channels can be connected with,
	// by type (the sandbox has its own forms and is not among them).
	Drivers map[app.ChannelType]app.Driver
	// AllowAPIBaseURL lets admins set a channel's api_base_url (another
	// provider API host). Off by default: a workspace must not aim the
	// server, with its credentials, at hosts the operator did not choose.
	AllowAPIBaseURL bool
	// Exports queues the jobs that build subject access exports. Defaults
	// to Delivery when that queues exports too (jobs.Client does).
	Exports ExportQueue
	// Erasures queues the jobs that erase clients. Defaults to Delivery
	// when that queues erasures too (jobs.Client does).
	Erasures ErasureQueue
	// LookupTXT looks up the TXT records that verify a workspace's custom
	// domain (_parley-challenge.<domain>). Defaults to
	// net.DefaultResolver.LookupTXT; tests use a fake.
	LookupTXT func(ctx context.Context, name string) ([]string, error)
}

// Delivery queues outbound messages for the delivery worker.
type Delivery interface {
	// EnqueueSend queues the send of a committed, queued message. It is
	// safe to call twice for one message (the job is unique), and a failure
	// loses nothing: the reconciler finds queued messages without a job.
	EnqueueSend(ctx context.Context, tenantID, messageID string) error
	// RetryReport applies, a little later, a provider's status report
	// about a send Parley has not recorded yet.
	RetryReport(ctx context.Context, tenantID string, rep app.StatusReport) error
}

// Server holds the dependencies of every handler.
type Server struct {
	cfg      Config
	log      *slog.Logger
	control  *tenantdb.Control
	tenants  *tenantdb.Manager
	sessions *scs.SessionManager
	limits   *loginLimits
	// replies throttles what signed-in portal clients send.
	replies  *rateBuckets
	metrics  httpMetrics
	live     *liveHub
	baseHost string // BaseDomain without port, lower-case

	root    http.Handler // the base domain: landing, sign-up
	app     http.Handler // a workspace's team app
	hooks   http.Handler // a workspace's provider webhooks
	api     http.Handler // a workspace's /api/v1
	portal  http.Handler // a workspace's public site, on its host and custom domains
	handler http.Handler
}

// New builds the server and its routes.
func New(cfg Config, control *tenantdb.Control, tenants *tenantdb.Manager) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionIdleTimeout <= 0 {
		cfg.SessionIdleTimeout = 12 * time.Hour
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = 7 * 24 * time.Hour
	}
	if cfg.Exports == nil {
		cfg.Exports, _ = cfg.Delivery.(ExportQueue)
	}
	if cfg.Erasures == nil {
		cfg.Erasures, _ = cfg.Delivery.(ErasureQueue)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, control: control, tenants: tenants,
		limits: newLoginLimits(cfg.Now), replies: newRateBuckets(cfg.Now), metrics: newHTTPMetrics(cfg.Registerer)}
	s.baseHost = hostname(cfg.BaseDomain)
	s.live = newLiveHub(tenants, cfg.Logger)
	s.sessions = s.newSessionManager()
	s.routes()
	return s
}

// Handler returns the root HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// hostname returns host without its port, lower-cased.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// scheme is the public URL scheme.
func (s *Server) scheme() string {
	if s.cfg.HTTPS {
		return "https"
	}
	return "http"
}

// TenantURL returns the public URL of path in the workspace slug.
func TenantURL(cfg Config, slug, path string) string {
	scheme := "http"
	if cfg.HTTPS {
		scheme = "https"
	}
	return scheme + "://" + slug + "." + cfg.BaseDomain + path
}

// clientIP returns the client's address for rate limits and the audit log.
func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.ClientIPHeader != "" {
		if v := strings.TrimSpace(r.Header.Get(s.cfg.ClientIPHeader)); v != "" {
			return v
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
