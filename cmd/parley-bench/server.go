package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// defaultBaseDomain is the base domain gen makes data for; nothing resolves
// it, the load client dials the server's loopback port whatever the host.
const defaultBaseDomain = "bench.test"

// server is a `parley serve` child process on 127.0.0.1, started by
// startServer and driven over loopback.
type server struct {
	// Base is the web server's address, "http://127.0.0.1:PORT".
	Base string
	// Admin is the --admin-addr (/metrics, /debug/pprof), "http://127.0.0.1:PORT2".
	Admin string
	PID   int
	// Outbox is the sandbox outbox server the child delivers to.
	Outbox *outbox
	// BaseDomain is the child's --base-domain.
	BaseDomain string

	addr   string // 127.0.0.1:PORT
	cmd    *exec.Cmd
	exited chan error
	logf   *os.File
	client *http.Client
}

// serverOptions say how to start the child.
type serverOptions struct {
	Data string
	// ReplicaURL is "" for <Data>/replica (replication on, as in
	// production) or "none" to turn replication off.
	ReplicaURL string
	// MaxOpen is --max-open-tenants; 0 means 2000, so 1,001 tenants fit.
	MaxOpen   int
	ExtraArgs []string

	// BaseDomain defaults to the manifest's, else defaultBaseDomain.
	BaseDomain string
	// Bin is a built parley binary; "" builds ./cmd/parley into
	// .cache/bench/bin once per run.
	Bin string
	// LogPath receives the child's stderr (log level error); "" is
	// <Data>/server.log.
	LogPath string
	// Conns sizes the keep-alive pool of Client; 0 means 256.
	Conns int
}

// startServer builds (once) and starts `parley serve` on a free loopback
// port with its own sandbox outbox, and waits until /healthz answers.
func startServer(ctx context.Context, o serverOptions) (*server, error) {
	if o.Bin == "" {
		bin, err := buildParley(ctx)
		if err != nil {
			return nil, err
		}
		o.Bin = bin
	}
	if o.BaseDomain == "" {
		o.BaseDomain = defaultBaseDomain
		if m, err := readManifest(o.Data); err == nil && m.BaseDomain != "" {
			o.BaseDomain = m.BaseDomain
		}
	}
	if o.MaxOpen == 0 {
		o.MaxOpen = 2000
	}
	if o.LogPath == "" {
		o.LogPath = filepath.Join(o.Data, "server.log")
	}
	if o.Conns == 0 {
		o.Conns = 256
	}
	box, err := startOutbox()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--data", o.Data, "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
		"--base-domain", o.BaseDomain, "--log-level", "error", "--max-open-tenants", strconv.Itoa(o.MaxOpen),
		"--sandbox-outbox-url", box.URL}
	if o.ReplicaURL != "" {
		args = append(args, "--replica-url", o.ReplicaURL)
	}
	args = append(args, o.ExtraArgs...)
	if err := os.MkdirAll(filepath.Dir(o.LogPath), 0o750); err != nil {
		box.Close()
		return nil, err
	}
	logf, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		box.Close()
		return nil, err
	}
	cmd := exec.Command(o.Bin, args...)
	cmd.Stderr = logf
	// A harness killed outright takes its server with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		box.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		box.Close()
		return nil, fmt.Errorf("start parley serve: %w", err)
	}
	s := &server{PID: cmd.Process.Pid, Outbox: box, BaseDomain: o.BaseDomain, cmd: cmd, logf: logf,
		exited: make(chan error, 1)}
	addrs := make(chan [2]string, 1)
	go s.readBanner(stdout, addrs)
	go func() { s.exited <- cmd.Wait() }()
	select {
	case a := <-addrs:
		s.addr, s.Base, s.Admin = a[0], "http://"+a[0], "http://"+a[1]
	case err := <-s.exited:
		s.exited <- err
		s.cleanup()
		return nil, fmt.Errorf("parley serve exited before it listened (%v): see %s", err, o.LogPath)
	case <-time.After(5 * time.Minute):
		s.Stop()
		return nil, errors.New("parley serve did not print its address within 5 minutes")
	case <-ctx.Done():
		s.Stop()
		return nil, ctx.Err()
	}
	s.client = s.newClient(o.Conns, nil)
	if err := s.waitHealthy(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

var (
	bannerWeb   = regexp.MustCompile(`running on http://[^:]+:(\d+)`)
	bannerAdmin = regexp.MustCompile(`Metrics: +http://([^/\s]+)/metrics`)
)

// readBanner finds the ports in the banner `parley serve` prints once it
// listens, then drains stdout so the child never blocks on it.
func (s *server) readBanner(r io.Reader, addrs chan<- [2]string) {
	sc := bufio.NewScanner(r)
	var web string
	for sc.Scan() {
		line := sc.Text()
		if m := bannerWeb.FindStringSubmatch(line); m != nil {
			web = "127.0.0.1:" + m[1]
		}
		if m := bannerAdmin.FindStringSubmatch(line); m != nil && web != "" {
			addrs <- [2]string{web, m[1]}
			break
		}
	}
	io.Copy(io.Discard, r)
}

func (s *server) waitHealthy(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Base+"/healthz", nil)
		res, err := s.client.Do(req)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("parley serve is not healthy after a minute: %v", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// newClient returns a keep-alive client whose every connection goes to the
// child's loopback port, whatever the URL's host names.
func (s *server) newClient(conns int, jar http.CookieJar) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, s.addr)
		},
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
		ResponseHeaderTimeout: time.Minute,
	}
	return &http.Client{Transport: tr, Jar: jar, Timeout: 2 * time.Minute,
		// The load looks at redirects, it does not follow them.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Client is a keep-alive client sized for the load; it does not follow
// redirects.
func (s *server) Client() *http.Client { return s.client }

// URL is the address of path on the workspace slug ("" for the base domain).
func (s *server) URL(slug, path string) string {
	host := s.BaseDomain
	if slug != "" {
		host = slug + "." + host
	}
	return "http://" + host + path
}

// Do sends req to the workspace slug: the Host is <slug>.<base domain>, the
// connection goes to 127.0.0.1.
func (s *server) Do(req *http.Request, tenantSlug string) (*http.Response, error) {
	req.URL.Scheme = "http"
	// One URL host for every workspace, so that they share the pool of
	// keep-alive connections.
	req.URL.Host = s.addr
	req.Host = tenantSlug + "." + s.BaseDomain
	return s.client.Do(req)
}

// Stop sends SIGTERM and waits for the child to drain and exit (killing it
// after a minute).
func (s *server) Stop() error {
	defer s.cleanup()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case err := <-s.exited:
		s.exited <- err
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("parley serve: %w", err)
		}
		return err
	case <-time.After(time.Minute):
		s.cmd.Process.Kill()
		return errors.New("parley serve did not stop within a minute of SIGTERM")
	}
}

func (s *server) cleanup() {
	if s.client != nil {
		s.client.CloseIdleConnections()
	}
	s.Outbox.Close()
	s.logf.Close()
}

// RSSBytes is the child's resident memory (VmRSS).
func (s *server) RSSBytes() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.PID))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc status")
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on Linux
// on every common architecture.
const clockTicks = 100

// CPUSeconds is the CPU time the child has used (user + system).
func (s *server) CPUSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.PID))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces; the fields after it do not.
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return 0, errors.New("unexpected /proc stat")
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	// utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (utime + stime) / clockTicks, nil
}

// signIn signs in to t's team UI as its admin and returns a client whose
// cookie jar holds the session. Requests need no CSRF token: Parley's
// cross-origin protection lets through requests that carry no browser
// fetch metadata.
func signIn(ctx context.Context, s *server, t TenantInfo) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	c := s.newClient(64, jar)
	form := url.Values{"email": {t.AdminEmail}, "password": {t.Password}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL(t.Slug, "/login"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sign in to %s: %w", t.Slug, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("sign in to %s as %s: got %s", t.Slug, t.AdminEmail, res.Status)
	}
	return c, nil
}

// outbox is the sandbox provider's outbox server: it records when each
// message (by key) first arrived, as delivery_bench_test.go does.
type outbox struct {
	URL string
	srv *http.Server
	mu  sync.Mutex
	at  map[string]time.Time
}

func startOutbox() (*outbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o := &outbox{URL: "http://" + ln.Addr().String() + "/outbox", at: map[string]time.Time{}}
	o.srv = &http.Server{Handler: o, ReadHeaderTimeout: 10 * time.Second}
	go o.srv.Serve(ln)
	return o, nil
}

// ServeHTTP speaks sandbox.HTTPOutbox's wire format: POST delivers (and
// answers the first id for a repeated key), GET ?key= looks one up.
func (o *outbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		var m struct {
			Key string `json:"key"`
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Key == "" {
			http.Error(w, "bad message", http.StatusBadRequest)
			return
		}
		now := time.Now()
		o.mu.Lock()
		if _, ok := o.at[m.Key]; !ok {
			o.at[m.Key] = now
		}
		o.mu.Unlock()
		fmt.Fprintf(w, `{"id": "bench-%s"}`, m.Key)
	case http.MethodGet:
		key := r.URL.Query().Get("key")
		if _, ok := o.ArrivedAt(key); ok {
			fmt.Fprintf(w, `{"id": "bench-%s"}`, key)
			return
		}
		http.NotFound(w, r)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// ArrivedAt is when the message with key first reached the outbox.
func (o *outbox) ArrivedAt(key string) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.at[key]
	return t, ok
}

// Count is how many distinct messages have arrived.
func (o *outbox) Count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.at)
}

// Close stops the outbox server.
func (o *outbox) Close() error { return o.srv.Close() }

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildParley builds ./cmd/parley into .cache/bench/bin once per run, from
// the module root.
func buildParley(ctx context.Context) (string, error) {
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(root, ".cache", "bench", "bin", "parley")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", builtBin, "./cmd/parley")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/parley: %w\n%s", err, out)
		}
	})
	return builtBin, buildErr
}

// moduleRoot is the nearest directory above the working directory that
// holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run parley-bench from the Parley repository")
		}
		dir = parent
	}
}
