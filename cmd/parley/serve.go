package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"parley/app"
	"parley/app/channel/sandbox"
	"parley/app/channel/website"
	"parley/app/web"
	"parley/jobs"
	"parley/tenantdb"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("serve", "parley serve [flags]", stdout)
	cfg.bindServe(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("serve takes no arguments, got %q", pos[0])
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	m := NewMain(cfg, stderr)
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	m.printBanner(stdout)
	<-ctx.Done()
	m.Log.Info("shutting down")
	return m.Close()
}

// Main is a running Parley server. Tests start one on :0 with a temporary
// data directory, exactly as `parley serve` does.
type Main struct {
	Config Config
	Log    *slog.Logger
	// Now is the clock everything below uses.
	Now func() time.Time

	Control  *tenantdb.Control
	Tenants  *tenantdb.Manager
	Jobs     *jobs.Client
	drivers  map[app.ChannelType]app.Driver
	Registry *prometheus.Registry

	// Replicator replicates the control DB and every open tenant file; nil
	// with --replica-url none.
	Replicator *tenantdb.Replicator

	srv       *web.Server
	web       *http.Server
	admin     *http.Server
	webLn     net.Listener
	adminLn   net.Listener
	demoLogin string
	served    chan error
	unlock    func() // releases the data directory
}

// NewMain returns a Main that logs JSON to logOut.
func NewMain(cfg Config, logOut io.Writer) *Main {
	level, _ := cfg.level()
	return &Main{Config: cfg, Now: time.Now,
		Log: slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))}
}

// Run opens the data directory, seeds the demo workspace if asked, and
// starts serving in the background.
func (m *Main) Run(ctx context.Context) error {
	version, err := tenantdb.CheckSQLiteVersion(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(m.Config.TenantDir(), 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if m.unlock, err = lockDataDir(m.Config.DataDir); err != nil {
		return err
	}
	m.Registry = prometheus.NewRegistry()
	m.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := m.openReplication(ctx); err != nil {
		return err
	}
	if m.Control, err = tenantdb.OpenControl(ctx, m.Config.ControlPath(), m.Now); err != nil {
		return err
	}
	if m.Replicator != nil {
		if err := m.Replicator.RegisterControl(ctx, m.Control, m.Config.ControlPath()); err != nil {
			return fmt.Errorf("replicate the control DB: %w", err)
		}
	}
	sealer, err := openSealer(m.Config, m.Log)
	if err != nil {
		return err
	}
	m.Tenants = tenantdb.NewManager(tenantdb.ManagerConfig{Dir: m.Config.TenantDir(), MaxOpen: m.Config.MaxOpenTenants,
		IdleTimeout: m.Config.TenantIdleTimeout, Now: m.Now, Logger: m.Log, Registerer: m.Registry, Sealer: sealer,
		AllowAPIBaseURL: m.Config.AllowAPIBaseURL, Replicator: m.Replicator, TenantKnown: m.Control.HasTenant, Control: m.Control})
	if err := m.startJobs(ctx); err != nil {
		return err
	}
	if m.Config.Demo {
		if err := m.seedDemo(ctx); err != nil {
			return fmt.Errorf("demo workspace: %w", err)
		}
	}
	m.srv = web.New(m.webConfig(), m.Control, m.Tenants)
	m.web = &http.Server{Handler: m.srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn)}
	if m.webLn, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return err
	}
	m.served = make(chan error, 2)
	m.web.RegisterOnShutdown(m.srv.Shutdown)
	go func() { m.served <- m.web.Serve(m.webLn) }()
	if m.Config.AdminAddr != "" {
		if m.adminLn, err = net.Listen("tcp", m.Config.AdminAddr); err != nil {
			return fmt.Errorf("admin listener: %w", err)
		}
		m.admin = &http.Server{Handler: m.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { m.served <- m.admin.Serve(m.adminLn) }()
	}
	replica := "none"
	if m.Replicator != nil {
		replica = m.Replicator.Target().String()
	}
	m.Log.Info("parley started", "addr", m.webLn.Addr().String(), "admin_addr", m.Config.AdminAddr,
		"data", m.Config.DataDir, "base_domain", m.Config.BaseDomain, "sqlite", version, "replica", replica)
	return nil
}

// openReplication starts replicating to the configured target and, on a
// fresh or lost volume, first restores the control DB from it (tenant files
// are restored as they open).
func (m *Main) openReplication(ctx context.Context) error {
	target, err := m.Config.replicaTarget()
	if err != nil || target.Kind == "" {
		return err
	}
	restored, err := target.RestoreMissing(ctx, tenantdb.ControlReplica, m.Config.ControlPath())
	if err != nil {
		return fmt.Errorf("restore the control DB from the replica: %w", err)
	} else if restored {
		m.Log.Warn("control DB was missing: restored it from the replica", "replica", target.String())
	}
	m.Replicator, err = tenantdb.OpenReplicator(ctx, tenantdb.ReplicaConfig{Target: target,
		SyncInterval: m.Config.ReplicaSyncInterval, Retention: m.Config.ReplicaRetention, MaxLag: m.Config.ReplicaMaxLag,
		Now: m.Now, Logger: m.Log, Registerer: m.Registry})
	return err
}

func (m *Main) webConfig() web.Config {
	return web.Config{BaseDomain: m.Config.BaseDomain, HTTPS: m.Config.HTTPS, Signup: m.Config.Signup,
		SessionIdleTimeout: m.Config.SessionIdleTimeout, SessionLifetime: m.Config.SessionLifetime,
		ClientIPHeader: m.Config.ClientIPHeader, Now: m.Now, Logger: m.Log, Registerer: m.Registry,
		Delivery: m.Jobs, Drivers: m.drivers, AllowAPIBaseURL: m.Config.AllowAPIBaseURL}
}

// startJobs starts River on the control DB with the providers it sends
// through. Jobs start before the web server, so a send accepted over HTTP
// always has a worker.
func (m *Main) startJobs(ctx context.Context) error {
	var err error
	m.Jobs, err = jobs.New(ctx, jobs.Config{ControlPath: m.Config.ControlPath(), Control: m.Control, Tenants: m.Tenants,
		Logger: m.Log, Now: m.Now, SendAttempts: m.Config.SendAttempts, SendTimeout: m.Config.SendTimeout, RetryBase: m.Config.SendRetryBase,
		ReconcileEvery: m.Config.ReconcileInterval, PollInterval: m.Config.JobPollInterval})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	var outbox sandbox.Outbox = jobs.Outbox{Tenants: m.Tenants}
	if m.Config.SandboxOutboxURL != "" {
		outbox = sandbox.HTTPOutbox{URL: m.Config.SandboxOutboxURL, Client: &http.Client{Timeout: 10 * time.Second}}
	}
	sb := sandbox.New(outbox, m.Jobs)
	sb.Now = m.Now
	m.Jobs.Register(app.ChannelSandbox, sb)
	m.Jobs.Register(app.ChannelWebsite, website.New())
	m.drivers = providerDrivers(m.Now, m.Config.AllowPrivateMailHosts)
	for t, d := range m.drivers {
		m.Jobs.Register(t, d)
	}
	return m.Jobs.Start(ctx)
}

// adminHandler serves metrics and profiles, on a listener kept off the public internet.
func (m *Main) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Addr returns the web listener's address (useful with :0).
func (m *Main) Addr() string { return m.webLn.Addr().String() }

// Close drains requests for up to ShutdownTimeout, then closes every tenant
// file in parallel and the control DB, each synced to the replica as it
// closes.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
	defer cancel()
	var errs []error
	if m.web != nil {
		errs = append(errs, m.web.Shutdown(ctx))
	}
	if m.admin != nil {
		errs = append(errs, m.admin.Shutdown(ctx))
	}
	if m.Jobs != nil {
		errs = append(errs, m.Jobs.Stop(ctx))
	}
	if m.Tenants != nil {
		errs = append(errs, m.Tenants.Close(ctx))
	}
	if m.Control != nil {
		errs = append(errs, m.Control.Close())
	}
	if m.Replicator != nil {
		// The control DB's final sync is bounded by the replicator, not by
		// what the drain left of the timeout.
		errs = append(errs, m.Replicator.Close(context.WithoutCancel(ctx)))
	}
	if m.unlock != nil {
		m.unlock()
	}
	return errors.Join(errs...)
}

// Demo workspace defaults.
const (
	demoSlug  = "demo"
	demoEmail = "admin@demo.example"
	demoFile  = "demo-login.txt"
)

// seedDemo creates the demo workspace with a random admin password, kept in
// the data directory (mode 0600) so later start-ups can print it again.
func (m *Main) seedDemo(ctx context.Context) error {
	path := filepath.Join(m.Config.DataDir, demoFile)
	_, err := m.Control.TenantBySlug(ctx, demoSlug)
	if err == nil {
		if b, err := os.ReadFile(path); err == nil {
			m.demoLogin = strings.TrimSpace(string(b))
		}
		return nil
	} else if app.ErrorCode(err) != app.ENOTFOUND {
		return err
	}
	password := app.NewSecret("")[:16]
	ws, err := tenantdb.Provision(ctx, m.Control, m.Tenants, tenantdb.NewWorkspace{Slug: demoSlug, Name: "Demo Company",
		AdminEmail: demoEmail, AdminName: "Demo Admin", AdminPassword: password}, app.CLIActor)
	if err != nil {
		return err
	}
	if err := seedDemoClients(ctx, m.Tenants, ws.Tenant.ID, ws.Admin.ID); err != nil {
		return err
	}
	m.demoLogin = demoEmail + " / " + password
	return os.WriteFile(path, []byte(m.demoLogin+"\n"), 0o600)
}

func (m *Main) printBanner(w io.Writer) {
	_, port, _ := net.SplitHostPort(m.Addr())
	fmt.Fprintf(w, "Parley is running on http://localhost:%s\n", port)
	if m.Config.Signup {
		fmt.Fprintf(w, "  Sign up:          %s://%s/signup\n", scheme(m.Config), m.Config.BaseDomain)
	}
	if m.Config.Demo {
		fmt.Fprintf(w, "  Demo workspace:   %s\n", web.TenantURL(m.webConfig(), demoSlug, "/login"))
		if m.demoLogin != "" {
			fmt.Fprintf(w, "  Demo admin login: %s\n", m.demoLogin)
		} else {
			fmt.Fprintf(w, "  Demo admin login: %s (password lost: create a new admin with parley tenant create)\n", demoEmail)
		}
	}
	if m.Config.AdminAddr != "" {
		fmt.Fprintf(w, "  Metrics:          http://%s/metrics\n", m.adminLn.Addr())
	}
}

func scheme(c Config) string {
	if c.HTTPS {
		return "https"
	}
	return "http"
}
