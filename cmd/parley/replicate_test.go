package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// replSyncInterval is the sync interval the replication tests run with.
const replSyncInterval = 200 * time.Millisecond

// startReplServer runs `parley serve` in a child process replicating to the
// default replica, <data>/replica.
func startReplServer(t *testing.T, bin, data string) *crashServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--demo", "--data", data, "--addr", addr, "--admin-addr", "",
		"--base-domain", "localhost", "--log-level", "error", "--replica-sync-interval", replSyncInterval.String())
	stdout, _ := cmd.StdoutPipe()
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	banner := bufio.NewScanner(stdout)
	if !banner.Scan() || !strings.Contains(banner.Text(), "Parley is running") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no start-up banner: %q\n%s", banner.Text(), logs.String())
	}
	go io.Copy(io.Discard, stdout)
	return &crashServer{cmd: cmd, addr: addr}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *crashServer) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// post sends an API request to a tenant and decodes the answer into out.
func (s *crashServer) post(slug, path, token string, body, out any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", "http://"+s.addr+path, bytes.NewReader(b))
	req.Host = slug + ".localhost"
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	return res.StatusCode, json.NewDecoder(res.Body).Decode(out)
}

// replTenant is a workspace the test writes to, with the clients the server
// acknowledged, in order.
type replTenant struct {
	slug, token string
	acked       []ackedWrite
}

type ackedWrite struct {
	name string
	at   time.Time
}

// addClient creates a client and records it once the server acknowledges it.
func (tn *replTenant) addClient(t *testing.T, srv *crashServer, name string) bool {
	var c struct{ ID string }
	code, err := srv.post(tn.slug, "/api/v1/clients", tn.token, map[string]string{"first_name": name}, &c)
	if err != nil {
		return false // cut off by the kill: not acknowledged
	}
	if code != http.StatusCreated {
		t.Errorf("%s: create client: got %d, want 201", tn.slug, code)
		return false
	}
	tn.acked = append(tn.acked, ackedWrite{name, time.Now()})
	return true
}

// writeUntilKilled writes steadily to every tenant, one writer each, and
// kills the server with SIGKILL after a random moment. It returns when the
// process is gone, with the time of the kill.
func writeUntilKilled(t *testing.T, srv *crashServer, tenants []*replTenant, phase string) time.Time {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, tn := range tenants {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if !tn.addClient(t, srv, fmt.Sprintf("%s-%s-%04d", phase, tn.slug, i)) {
					return
				}
			}
		})
	}
	time.Sleep(time.Duration(800+rand.IntN(700)) * time.Millisecond)
	killed := time.Now()
	srv.kill()
	close(stop)
	wg.Wait()
	return killed
}

// clientNamesIn reads the first names of every client in a tenant file,
// read-only, alongside a running server if there is one.
func clientNamesIn(t *testing.T, path string) map[string]bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT first_name FROM clients`)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		names[s] = true
	}
	return names
}

func integrityOK(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Errorf("%s: integrity_check: %q, %v", filepath.Base(path), res, err)
	}
}

// tenantFile returns the file of the tenant with slug, looked up in the
// control DB of data.
func tenantFile(t *testing.T, data, slug string) string {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = data
	ten, err := lookUpTenant(context.Background(), cfg, slug)
	if err != nil {
		t.Fatal(err)
	}
	return tenantdb.TenantFile(cfg.TenantDir(), ten.ID)
}

// parleyCLI runs the real binary and returns its exit code and output.
func parleyCLI(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// waitInReplica waits until restoring slug's latest state finds a client
// named name.
func waitInReplica(t *testing.T, data, slug, name string) {
	t.Helper()
	for range 100 {
		out := filepath.Join(t.TempDir(), "probe.db")
		if code, _, _ := cli(t, "restore", "--tenant", slug, "--to", out, "--data", data); code == 0 &&
			clientNamesIn(t, out)[name] {
			return
		}
		time.Sleep(replSyncInterval / 2)
	}
	t.Fatalf("%s: client %s never reached the replica", slug, name)
}

// TestReplicationAfterKillAndLostDisk writes steadily to several tenants
// over the API of the real binary and kills it with SIGKILL:
//
//	(a) restarted on the same disk, it has every acknowledged write and
//	    every file passes integrity_check;
//	(b) killed again, with the tenant files and the control DB deleted
//	    (the replica kept), everything is restored from the replica (the
//	    control DB and a tenant with parley restore, the others by the
//	    server as they open):
//	    what is lost is the writes of the last moments before the kill, and
//	    the test logs how many and how long before it;
//	(c) a restore to a time between two known writes has the first and not
//	    the second;
//	(d) after a restore the server goes on replicating: writes made after
//	    it are found by the next restore.
func TestReplicationAfterKillAndLostDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it")
	}
	t.Parallel()
	bin := buildParley(t)
	data := filepath.Join(t.TempDir(), "data")
	srv := startReplServer(t, bin, data)
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("correct horse battery\n"), 0o600)
	var tenants []*replTenant
	for _, slug := range []string{"demo", "acme", "bravo"} {
		if slug != "demo" {
			if code, _, errOut := cli(t, "tenant", "create", slug, "--name", slug, "--admin-email", "a@"+slug+".example",
				"--admin-password-file", pw, "--data", data); code != 0 {
				srv.kill()
				t.Fatalf("tenant create %s: %s", slug, errOut)
			}
		}
		code, out, errOut := cli(t, "token", "create", "--tenant", slug, "--name", "repl", "--role", "admin", "--data", data)
		if code != 0 {
			srv.kill()
			t.Fatalf("token create %s: %s", slug, errOut)
		}
		tenants = append(tenants, &replTenant{slug: slug, token: strings.TrimSpace(out)})
	}

	// (a) SIGKILL, restart on the same disk.
	writeUntilKilled(t, srv, tenants, "a")
	srv = startReplServer(t, bin, data)
	for _, tn := range tenants {
		path := tenantFile(t, data, tn.slug)
		if !tn.addClient(t, srv, "a-reopen-"+tn.slug) { // opens the tenant in the server
			t.Fatalf("%s: write after restart failed", tn.slug)
		}
		have := clientNamesIn(t, path)
		for _, w := range tn.acked {
			if !have[w.name] {
				t.Errorf("(a) %s: acknowledged client %s lost after SIGKILL", tn.slug, w.name)
			}
		}
		integrityOK(t, path)
	}
	integrityOK(t, filepath.Join(data, "control.db"))

	// (b) SIGKILL, lose the disk but the replica, restore.
	killed := writeUntilKilled(t, srv, tenants, "b")
	files := map[string]string{}
	for _, tn := range tenants {
		files[tn.slug] = tenantFile(t, data, tn.slug)
	}
	loseDataDir(t, data)
	start := time.Now()
	for _, args := range [][]string{{"--control"}, {"--tenant", "acme"}} {
		code, out := parleyCLI(t, bin, append([]string{"restore", "--data", data}, args...)...)
		if code != 0 || !strings.Contains(out, "integrity_check ok") {
			t.Fatalf("restore %v: exit %d: %s", args, code, out)
		}
	}
	restoreTook := time.Since(start)
	srv = startReplServer(t, bin, data)
	defer func() { srv.kill() }()
	lost, total := 0, 0
	var oldestLost time.Duration
	for _, tn := range tenants {
		if !tn.addClient(t, srv, "b-reopen-"+tn.slug) { // demo and bravo are restored as they open
			t.Fatalf("%s: write after the restore failed", tn.slug)
		}
		integrityOK(t, files[tn.slug])
		have := clientNamesIn(t, files[tn.slug])
		var tenantLost []ackedWrite
		for i, w := range tn.acked[:len(tn.acked)-1] {
			total++
			if !have[w.name] {
				tenantLost = append(tenantLost, w)
			} else if len(tenantLost) > 0 {
				t.Errorf("(b) %s: client %s (write %d) lost but a later one, %s, kept: not a point-in-time state",
					tn.slug, tenantLost[0].name, i, w.name)
			}
		}
		lost += len(tenantLost)
		if len(tenantLost) > 0 {
			oldestLost = max(oldestLost, killed.Sub(tenantLost[0].at))
		}
		tn.acked = slices.DeleteFunc(tn.acked, func(w ackedWrite) bool { return !have[w.name] })
	}
	t.Logf("(b) lost %d of %d acknowledged writes to the lost disk; the oldest lost was acknowledged %d ms before the SIGKILL "+
		"(sync interval %s); parley restore of the control DB and a tenant took %d ms",
		lost, total, oldestLost.Milliseconds(), replSyncInterval, restoreTook.Milliseconds())

	// (c) A point in time between two known writes.
	acme := tenants[1]
	acme.addClient(t, srv, "c-first")
	waitInReplica(t, data, "acme", "c-first")
	between := time.Now()
	time.Sleep(50 * time.Millisecond)
	acme.addClient(t, srv, "c-second")
	waitInReplica(t, data, "acme", "c-second") // (d) replication resumed after the restore
	out := filepath.Join(t.TempDir(), "acme-between.db")
	if code, msg := parleyCLI(t, bin, "restore", "--tenant", "acme", "--at", between.Format(time.RFC3339Nano), "--to", out,
		"--data", data); code != 0 {
		t.Fatalf("restore --at: %s", msg)
	}
	have := clientNamesIn(t, out)
	if !have["c-first"] || have["c-second"] || !have[acme.acked[0].name] {
		t.Errorf("(c) restored as of %s: c-first %v, c-second %v, first write %v; want true, false, true",
			between.Format(time.RFC3339Nano), have["c-first"], have["c-second"], have[acme.acked[0].name])
	}
	if code, msg := parleyCLI(t, bin, "restore", "--tenant", "acme", "--data", data); code != 1 ||
		!strings.Contains(msg, "is running on") {
		t.Errorf("restore in place while serving: exit %d, %q; want 1 and a refusal", code, msg)
	}

	// (d) Restore in place to that time with the server stopped, write, restore again.
	srv.stop(t)
	// A clean stop checkpoints: the .db alone, without the -wal Litestream keeps, is complete.
	alone := filepath.Join(t.TempDir(), "alone.db")
	if b, err := os.ReadFile(files["acme"]); err != nil || os.WriteFile(alone, b, 0o600) != nil {
		t.Fatal(err)
	}
	if !clientNamesIn(t, alone)["c-second"] {
		t.Error("after SIGTERM, the .db without its -wal lacks the last write")
	}
	if code, msg := parleyCLI(t, bin, "restore", "--tenant", "acme", "--at", between.Format(time.RFC3339Nano),
		"--data", data); code != 0 || !strings.Contains(msg, "kept at") {
		t.Fatalf("restore in place: exit %d: %s", code, msg)
	}
	srv = startReplServer(t, bin, data)
	acme.addClient(t, srv, "d-after-restore")
	waitInReplica(t, data, "acme", "d-after-restore")
	out = filepath.Join(t.TempDir(), "acme-again.db")
	if code, msg := parleyCLI(t, bin, "restore", "--tenant", "acme", "--to", out, "--data", data); code != 0 {
		t.Fatalf("restore again: %s", msg)
	}
	have = clientNamesIn(t, out)
	if !have["c-first"] || have["c-second"] || !have["d-after-restore"] {
		t.Errorf("(d) restored again: c-first %v, c-second %v, d-after-restore %v; want true, false, true",
			have["c-first"], have["c-second"], have["d-after-restore"])
	}
	integrityOK(t, out)
}

// loseDataDir deletes every database file of data and Litestream's local
// state, as a lost volume would, but keeps the replica (and the secret key,
// which an operator keeps apart from the data's backups).
func loseDataDir(t *testing.T, data string) {
	t.Helper()
	ents, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		switch e.Name() {
		case "replica", "secret.key", demoFile:
			continue
		}
		if err := os.RemoveAll(filepath.Join(data, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBackupStatusAndRestoreCommands drives the commands against a server
// running in-process: status lists every file, a restore to a new file
// works while the server runs, a restore in place and a second server are
// refused, and /readyz and /metrics show replication.
func TestBackupStatusAndRestoreCommands(t *testing.T) {
	t.Parallel()
	m, base := startServer(t, func(c *Config) { c.ReplicaSyncInterval = 100 * time.Millisecond })
	data := m.Config.DataDir
	if code, _, errOut := cli(t, "tenant", "create", "acme", "--name", "Acme", "--admin-email", "a@acme.example", "--data", data); code != 0 {
		t.Fatal(errOut)
	}
	_, token, _ := cli(t, "token", "create", "--tenant", "acme", "--name", "t", "--role", "admin", "--data", data)
	srv := &crashServer{addr: m.Addr()}
	var c struct{ ID string }
	if code, err := srv.post("acme", "/api/v1/clients", strings.TrimSpace(token), map[string]string{"first_name": "Zed"}, &c); code != http.StatusCreated {
		t.Fatalf("create client: %d %v", code, err)
	}

	out := ""
	for range 100 {
		out = filepath.Join(t.TempDir(), "acme.db")
		if code, _, _ := cli(t, "restore", "--tenant", "acme", "--to", out, "--data", data); code == 0 && clientNamesIn(t, out)["Zed"] {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !clientNamesIn(t, out)["Zed"] {
		t.Fatal("the client never reached the replica")
	}
	code, status, errOut := cli(t, "backup", "status", "--data", data)
	if code != 0 || !strings.Contains(status, "(control DB)") || !strings.Contains(status, "acme") {
		t.Errorf("backup status: exit %d, %q, %q", code, status, errOut)
	}
	if code, _, errOut := cli(t, "restore", "--control", "--data", data); code != 1 || !strings.Contains(errOut, "is running on") {
		t.Errorf("restore in place while serving: exit %d, %q", code, errOut)
	}
	second := NewMain(m.Config, io.Discard)
	if err := second.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "is running on") {
		t.Errorf("second server on the same data: got %v, want a refusal", err)
	}
	second.Close()

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrNeither", []string{"restore", "--data", data}, "exactly one of"},
		{"ErrBoth", []string{"restore", "--control", "--tenant", "acme", "--data", data}, "exactly one of"},
		{"ErrBadTime", []string{"restore", "--control", "--at", "yesterday", "--data", data}, "RFC 3339"},
		{"ErrBackupNoSub", []string{"backup", "--data", data}, "status"},
		{"ErrBadReplica", []string{"backup", "status", "--replica-url", "gs://x/y", "--data", data}, "--replica-url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, errOut := cli(t, tt.args...); code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, %q; want 2 and %q", code, errOut, tt.want)
			}
		})
	}
	if code, _, errOut := cli(t, "restore", "--tenant", "nosuch", "--to", filepath.Join(t.TempDir(), "x.db"), "--data", data); code != 1 || !strings.Contains(errOut, "nosuch") {
		t.Errorf("unknown tenant: exit %d, %q", code, errOut)
	}

	req, _ := http.NewRequest("GET", "http://"+m.Addr()+"/readyz", nil)
	req.Host = base
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Status      string
		Checks      map[string]string
		Replication struct {
			Target string
			Files  int
		}
	}
	json.NewDecoder(res.Body).Decode(&ready)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || ready.Checks["replication"] == "off" || ready.Replication.Target != "file" || ready.Replication.Files < 2 {
		t.Errorf("readyz: got %d %+v, want 200 with replication of the control DB and acme", res.StatusCode, ready)
	}
	res, err = http.Get("http://" + m.adminLn.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "parley_replication_lag_seconds") {
		t.Error("metrics lack parley_replication_lag_seconds")
	}
}

// TestCloseShipsEverything: a clean stop syncs every file to the replica,
// however long the sync interval: nothing acknowledged is left behind.
func TestCloseShipsEverything(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.Addr, cfg.AdminAddr = "127.0.0.1:0", ""
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.ShutdownTimeout = 10 * time.Second
	cfg.ReplicaSyncInterval = time.Hour
	m := NewMain(cfg, io.Discard)
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	ws, err := tenantdb.Provision(context.Background(), m.Control, m.Tenants, tenantdb.NewWorkspace{Slug: "acme", Name: "Acme",
		AdminEmail: "a@acme.example", AdminPassword: "correct horse battery"}, app.CLIActor)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "acme.db")
	if code, stdout, errOut := cli(t, "restore", "--tenant", "acme", "--to", out, "--data", cfg.DataDir); code != 0 {
		t.Fatalf("restore: %s %s", stdout, errOut)
	}
	db, err := sql.Open("sqlite", "file:"+out+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM users WHERE id = ?`, ws.Admin.ID).Scan(&n); err != nil || n != 1 {
		t.Errorf("replica after a clean stop: admin rows %d, %v; want 1", n, err)
	}
}

// webSession is a person signed in to a workspace of a running server.
type webSession struct {
	srv    *crashServer
	slug   string
	client *http.Client
}

// signIn signs in to slug with the password of its admin.
func signIn(t *testing.T, srv *crashServer, slug, email string) *webSession {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	s := &webSession{srv: srv, slug: slug, client: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	res := s.do(t, "POST", "/login", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"email": {email}, "password": {"correct horse battery"}}.Encode()))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s: sign in: got %d, want 303", slug, res.StatusCode)
	}
	return s
}

func (s *webSession) do(t *testing.T, method, path, contentType string, body io.Reader) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.srv.addr+path, body)
	req.Host = s.slug + ".localhost"
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// attachReply answers a sandbox customer with a file through the inbox
// composer and returns the attachment's id (read over the API).
func attachReply(t *testing.T, srv *crashServer, s *webSession, token string, data []byte) string {
	t.Helper()
	if res := s.do(t, "POST", "/settings/channels", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"type": {"sandbox"}, "name": {"Sandbox"}}.Encode())); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("connect the sandbox: got %d, want 303", res.StatusCode)
	}
	var in struct {
		ChatID string `json:"chat_id"`
	}
	if code, err := srv.post(s.slug, "/api/v1/sandbox/inbound", token, map[string]any{"text": "the contract, please",
		"from": map[string]string{"type": "email", "value": "filed@example.com"}, "provider_message_id": "p-1"}, &in); code != http.StatusCreated {
		t.Fatalf("sandbox inbound: %d %v", code, err)
	}
	chat := struct{ ID string }{in.ChatID}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("text", "the signed contract")
	fw, _ := mw.CreateFormFile("files", "contract.pdf")
	fw.Write(data)
	mw.Close()
	if res := s.do(t, "POST", "/inbox/"+chat.ID+"/messages", mw.FormDataContentType(), &body); res.StatusCode != http.StatusSeeOther {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("send a file: got %d, want 303: %s", res.StatusCode, tail(string(b), 5))
	}
	req, _ := http.NewRequest("GET", "http://"+srv.addr+"/api/v1/chats/"+chat.ID+"/messages", nil)
	req.Host = s.slug + ".localhost"
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct {
		Data []struct{ Attachments []struct{ ID string } }
	}
	raw, _ := io.ReadAll(res.Body)
	json.Unmarshal(raw, &list)
	for _, m := range list.Data {
		for _, a := range m.Attachments {
			return a.ID
		}
	}
	t.Fatalf("%s: no attachment in the chat: %s", s.slug, raw)
	return ""
}

// TestFilesAfterKillAndLostDisk: attachments uploaded through the inbox
// of the real binary reach the replica; after SIGKILL and the loss of the
// data directory, a tenant restored with parley restore and one restored
// by the server as it opens both serve their attachment's bytes again.
func TestFilesAfterKillAndLostDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it")
	}
	t.Parallel()
	bin := buildParley(t)
	data := filepath.Join(t.TempDir(), "data")
	srv := startReplServer(t, bin, data)
	defer func() { srv.kill() }()
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("correct horse battery\n"), 0o600)
	files := map[string][]byte{"acme": bytes.Repeat([]byte("acme contract "), 40_000), "bravo": []byte("bravo's signed contract")}
	attachments, tokens := map[string]string{}, map[string]string{}
	for _, slug := range []string{"acme", "bravo"} {
		if code, _, errOut := cli(t, "tenant", "create", slug, "--name", slug, "--admin-email", "a@"+slug+".example",
			"--admin-password-file", pw, "--data", data); code != 0 {
			t.Fatalf("tenant create %s: %s", slug, errOut)
		}
		_, token, _ := cli(t, "token", "create", "--tenant", slug, "--name", "t", "--role", "admin", "--data", data)
		tokens[slug] = strings.TrimSpace(token)
		attachments[slug] = attachReply(t, srv, signIn(t, srv, slug, "a@"+slug+".example"), tokens[slug], files[slug])
	}
	for slug := range files {
		tn := &replTenant{slug: slug, token: tokens[slug]}
		tn.addClient(t, srv, "after-the-file")
		waitInReplica(t, data, slug, "after-the-file") // the attachment's row too
		for i := 0; ; i++ {
			_, status, _ := cli(t, "backup", "status", "--data", data)
			line := lineOf(status, slug)
			if f := strings.Fields(line); len(f) > 2 && f[len(f)-2] == "1" && f[len(f)-1] == "0" { // 1 file, none pending
				break
			} else if i == 100 {
				t.Fatalf("%s: the file never reached the replica: %q", slug, line)
			}
			time.Sleep(replSyncInterval / 2)
		}
	}

	srv.kill()
	loseDataDir(t, data)
	for _, args := range [][]string{{"--control"}, {"--tenant", "acme"}} {
		code, out := parleyCLI(t, bin, append([]string{"restore", "--data", data}, args...)...)
		if code != 0 || (args[0] == "--tenant" && !strings.Contains(out, "Fetched 1 files")) {
			t.Fatalf("restore %v: exit %d: %s", args, code, out)
		}
	}
	srv = startReplServer(t, bin, data)
	for slug, want := range files { // bravo is restored as it opens
		res := signIn(t, srv, slug, "a@"+slug+".example").do(t, "GET", "/attachments/"+attachments[slug], "", nil)
		got, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Errorf("%s: attachment after the lost disk: got %d, %d bytes; want 200, the %d uploaded", slug, res.StatusCode,
				len(got), len(want))
		}
	}
}

// lineOf returns the line of text that starts with prefix.
func lineOf(text, prefix string) string {
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, prefix+" ") {
			return line
		}
	}
	return ""
}
