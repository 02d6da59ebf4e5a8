package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"parley/tenantdb"
)

// Config is every setting of Parley. Each has a flag and a PARLEY_* variable
// (the flag wins); cmd/parley copies it into the packages it configures.
type Config struct {
	// Addr is where the web server listens. Defaults to ":8080".
	Addr string
	// AdminAddr serves /metrics and /debug/pprof; keep it private. Defaults
	// to "127.0.0.1:9090"; empty turns it off.
	AdminAddr string
	// DataDir holds the control DB and the tenant files. Defaults to "./data".
	DataDir string
	// BaseDomain is the public host (with port if not 80/443) whose
	// subdomains are workspaces. Defaults to "localhost:8080".
	BaseDomain string
	// HTTPS says the public URLs are https. Defaults to false.
	HTTPS bool
	// Demo creates the demo workspace at start-up if missing. Defaults to false.
	Demo bool
	// Signup allows anyone to create a workspace. Defaults to false.
	Signup bool
	// MaxOpenTenants caps open tenant files. Defaults to 1000.
	MaxOpenTenants int
	// TenantIdleTimeout closes a tenant file unused this long. Defaults to 10m.
	TenantIdleTimeout time.Duration
	// SessionIdleTimeout signs out after inactivity. Defaults to 12h.
	SessionIdleTimeout time.Duration
	// SessionLifetime signs out this long after sign-in. Defaults to 168h.
	SessionLifetime time.Duration
	// ShutdownTimeout bounds the drain on SIGTERM. Defaults to 20s.
	ShutdownTimeout time.Duration
	// ClientIPHeader is a header a trusted proxy sets to the client address
	// (for example Fly-Client-IP). Defaults to none.
	ClientIPHeader string
	// LogLevel is debug, info, warn or error. Defaults to info.
	LogLevel string
	// SendAttempts is how many times a message is tried before it fails.
	// Defaults to 8.
	SendAttempts int
	// SendTimeout bounds one send attempt; a send cut off by a crash is
	// picked up again about twice this long later. Defaults to 30s.
	SendTimeout time.Duration
	// SendRetryBase is the wait before a send's first retry; each later
	// wait doubles. Defaults to 5s.
	SendRetryBase time.Duration
	// ReconcileInterval is how often queued messages that lost their job
	// are re-queued and snoozed chats woken. Defaults to 1m.
	ReconcileInterval time.Duration
	// JobPollInterval is how often due jobs (retries, scheduled reports)
	// are looked for. Defaults to 1s.
	JobPollInterval time.Duration
	// SandboxOutboxURL sends the sandbox channel's messages to an outbox
	// server over HTTP instead of the workspace's own outbox (tests count
	// deliveries there). Defaults to none.
	SandboxOutboxURL string
	// AllowAPIBaseURL lets workspace admins point a channel at another
	// provider API host (api_base_url): a regional endpoint, or a test's
	// fake. Off by default, so a workspace cannot aim the server and its
	// credentials at hosts the operator did not choose. Defaults to false.
	AllowAPIBaseURL bool
	// AllowPrivateMailHosts lets email channels use SMTP and IMAP servers
	// inside the server's network (localhost, 10.x, 192.168.x): a
	// self-hosted install with a local mail server turns it on. Defaults
	// to false.
	AllowPrivateMailHosts bool
	// ReplicaURL is where every tenant file and the control DB are
	// replicated while open: a directory, file:///path, or
	// s3://bucket/prefix?endpoint=... (credentials from the standard AWS
	// environment), or "none" to replicate nothing. Defaults to
	// <data>/replica.
	ReplicaURL string
	// ReplicaSyncInterval is how soon a commit reaches the replica, so the
	// most a lost disk loses. Defaults to 1s.
	ReplicaSyncInterval time.Duration
	// ReplicaRetention is how far back `parley restore --at` reaches.
	// Defaults to 24h.
	ReplicaRetention time.Duration
	// ReplicaMaxLag is the replication lag past which /readyz answers 503;
	// zero never does. Defaults to 10m.
	ReplicaMaxLag time.Duration
}

// DefaultConfig returns the embedded defaults.
func DefaultConfig() Config {
	return Config{
		Addr: ":8080", AdminAddr: "127.0.0.1:9090", DataDir: "./data", BaseDomain: "localhost:8080",
		MaxOpenTenants: 1000, TenantIdleTimeout: 10 * time.Minute, SessionIdleTimeout: 12 * time.Hour,
		SessionLifetime: 7 * 24 * time.Hour, ShutdownTimeout: 20 * time.Second, LogLevel: "info",
		SendAttempts: 8, SendTimeout: 30 * time.Second, SendRetryBase: 5 * time.Second, ReconcileInterval: time.Minute, JobPollInterval: time.Second,
		ReplicaSyncInterval: time.Second, ReplicaRetention: 24 * time.Hour, ReplicaMaxLag: 10 * time.Minute,
	}
}

// Validate names the first bad setting.
func (c Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("--data must not be empty")
	case c.BaseDomain == "" || strings.ContainsAny(c.BaseDomain, "/ "):
		return fmt.Errorf("--base-domain %q must be a host name, optionally with :port", c.BaseDomain)
	case c.MaxOpenTenants < 1:
		return errors.New("--max-open-tenants must be at least 1")
	case c.TenantIdleTimeout <= 0 || c.SessionIdleTimeout <= 0 || c.SessionLifetime <= 0 || c.ShutdownTimeout <= 0 ||
		c.SendRetryBase <= 0 || c.SendTimeout <= 0 || c.ReconcileInterval <= 0 || c.JobPollInterval <= 0:
		return errors.New("timeouts must be positive durations such as 30s or 12h")
	case c.SendAttempts < 1 || c.SendAttempts > 25:
		return errors.New("--send-attempts must be between 1 and 25")
	case c.SandboxOutboxURL != "" && !strings.HasPrefix(c.SandboxOutboxURL, "http://") && !strings.HasPrefix(c.SandboxOutboxURL, "https://"):
		return fmt.Errorf("--sandbox-outbox-url %q must be an http(s) URL", c.SandboxOutboxURL)
	case c.ReplicaSyncInterval < 10*time.Millisecond:
		return errors.New("--replica-sync-interval must be at least 10ms")
	case c.ReplicaRetention < time.Minute:
		return errors.New("--replica-retention must be at least 1m")
	case c.ReplicaMaxLag < 0:
		return errors.New("--replica-max-lag must not be negative (0 turns the check off)")
	}
	if _, err := c.replicaTarget(); err != nil {
		return fmt.Errorf("--replica-url: %w", err)
	}
	if _, err := c.level(); err != nil {
		return err
	}
	return nil
}

func (c Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("--log-level %q: use debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// ControlPath is the control DB's file.
func (c Config) ControlPath() string { return filepath.Join(c.DataDir, "control.db") }

// TenantDir holds the tenant files.
func (c Config) TenantDir() string { return filepath.Join(c.DataDir, "tenants") }

// replicaTarget returns where files are replicated; Kind is empty when
// replication is off.
func (c Config) replicaTarget() (tenantdb.ReplicaTarget, error) {
	switch c.ReplicaURL {
	case "none":
		return tenantdb.ReplicaTarget{}, nil
	case "":
		return tenantdb.ParseReplicaURL(filepath.Join(c.DataDir, "replica"))
	}
	return tenantdb.ParseReplicaURL(c.ReplicaURL)
}

// envName turns a flag name into its variable: base-domain -> PARLEY_BASE_DOMAIN.
func envName(flagName string) string {
	return "PARLEY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Each binder registers a flag whose default comes from its PARLEY_* variable.
func strFlag(fs *flag.FlagSet, p *string, name, usage string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		*p = v
	}
	fs.StringVar(p, name, *p, usage+" (env "+envName(name)+")")
}

func boolFlag(fs *flag.FlagSet, p *bool, name, usage string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		*p, _ = strconv.ParseBool(v)
	}
	fs.BoolVar(p, name, *p, usage+" (env "+envName(name)+")")
}

func intFlag(fs *flag.FlagSet, p *int, name, usage string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		*p, _ = strconv.Atoi(v)
	}
	fs.IntVar(p, name, *p, usage+" (env "+envName(name)+")")
}

func durFlag(fs *flag.FlagSet, p *time.Duration, name, usage string) {
	if v, ok := os.LookupEnv(envName(name)); ok {
		*p, _ = time.ParseDuration(v)
	}
	fs.DurationVar(p, name, *p, usage+" (env "+envName(name)+")")
}

// bindCommon registers the settings every subcommand shares.
func (c *Config) bindCommon(fs *flag.FlagSet) {
	strFlag(fs, &c.DataDir, "data", "data directory (control DB and tenant files)")
	strFlag(fs, &c.BaseDomain, "base-domain", "public host whose subdomains are workspaces, with :port if not 80/443")
	boolFlag(fs, &c.HTTPS, "https", "public URLs are https (TLS may end at a proxy)")
	strFlag(fs, &c.LogLevel, "log-level", "debug, info, warn or error")
}

// bindServe registers the settings of `parley serve`.
func (c *Config) bindServe(fs *flag.FlagSet) {
	c.bindCommon(fs)
	strFlag(fs, &c.Addr, "addr", "address the web server listens on")
	strFlag(fs, &c.AdminAddr, "admin-addr", "private address for /metrics and /debug/pprof (empty: off)")
	boolFlag(fs, &c.Demo, "demo", "create the demo workspace if it is missing")
	boolFlag(fs, &c.Signup, "signup", "let anyone create a workspace on the base domain")
	intFlag(fs, &c.MaxOpenTenants, "max-open-tenants", "tenant files kept open at most")
	durFlag(fs, &c.TenantIdleTimeout, "tenant-idle-timeout", "close a tenant file unused this long")
	durFlag(fs, &c.SessionIdleTimeout, "session-idle-timeout", "sign out after this long without a request")
	durFlag(fs, &c.SessionLifetime, "session-lifetime", "sign out this long after sign-in")
	durFlag(fs, &c.ShutdownTimeout, "shutdown-timeout", "how long SIGTERM waits for requests to finish")
	strFlag(fs, &c.ClientIPHeader, "client-ip-header", "header with the client address set by a trusted proxy")
	intFlag(fs, &c.SendAttempts, "send-attempts", "how many times a message is tried before it fails")
	durFlag(fs, &c.SendTimeout, "send-timeout", "how long one send attempt may take")
	durFlag(fs, &c.SendRetryBase, "send-retry-base", "wait before a send's first retry (each later wait doubles)")
	durFlag(fs, &c.ReconcileInterval, "reconcile-interval", "how often sends that lost their job are re-queued")
	durFlag(fs, &c.JobPollInterval, "job-poll-interval", "how often due background jobs are looked for")
	strFlag(fs, &c.SandboxOutboxURL, "sandbox-outbox-url", "deliver sandbox messages to this HTTP outbox (for tests)")
	boolFlag(fs, &c.AllowAPIBaseURL, "allow-api-base-url", "let workspaces point channels at another provider API host")
	boolFlag(fs, &c.AllowPrivateMailHosts, "allow-private-mail-hosts", "let email channels use mail servers inside this network")
	c.bindReplica(fs)
	durFlag(fs, &c.ReplicaSyncInterval, "replica-sync-interval", "how soon a commit reaches the replica (the most a lost disk loses)")
	durFlag(fs, &c.ReplicaRetention, "replica-retention", "how far back a point-in-time restore reaches")
	durFlag(fs, &c.ReplicaMaxLag, "replica-max-lag", "replication lag past which /readyz answers 503 (0: never)")
}

// bindReplica registers the replica target, which serve, restore and backup share.
func (c *Config) bindReplica(fs *flag.FlagSet) {
	strFlag(fs, &c.ReplicaURL, "replica-url", "replica target: a directory, file:///path, s3://bucket/prefix?endpoint=..., or none (default <data>/replica)")
}
