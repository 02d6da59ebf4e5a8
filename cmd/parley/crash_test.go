package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// buildParley builds the real binary once per test.
func buildParley(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "parley")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// fakeOutbox is the sandbox's outbox server speaking the HTTPOutbox wire
// format, standing in for a provider outside the process the test kills.
// It counts every POST per message key: a key posted twice is a message
// sent twice. It answers a repeated key with the first id, as the contract
// says, so the count (not the idempotence) is what the test checks.
type fakeOutbox struct {
	mu    sync.Mutex
	posts map[string]int
	ids   map[string]string
}

func (f *fakeOutbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A little latency widens the window in which a kill cuts a send off.
	time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method {
	case http.MethodPost:
		var m struct {
			TenantID string `json:"tenant_id"`
			Key      string `json:"key"`
		}
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.Key == "" {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		k := m.TenantID + "/" + m.Key
		f.posts[k]++
		if f.ids[k] == "" {
			f.ids[k] = fmt.Sprintf("fake-%d", len(f.ids)+1)
		}
		fmt.Fprintf(w, `{"id": %q}`, f.ids[k])
	case http.MethodGet:
		id := f.ids[r.URL.Query().Get("tenant_id")+"/"+r.URL.Query().Get("key")]
		if id == "" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"id": %q}`, id)
	}
}

// crashServer is one run of `parley serve` in a child process.
type crashServer struct {
	cmd  *exec.Cmd
	addr string
}

func startCrashServer(t *testing.T, bin, data, outboxURL string) *crashServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--demo", "--data", data, "--addr", addr, "--admin-addr", "",
		"--base-domain", "localhost", "--sandbox-outbox-url", outboxURL, "--send-retry-base", "20ms", "--send-timeout", "2s",
		"--reconcile-interval", "300ms", "--job-poll-interval", "20ms", "--log-level", "error")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	banner := bufio.NewScanner(stdout)
	if !banner.Scan() || !strings.Contains(banner.Text(), "Parley is running") {
		cmd.Process.Kill()
		t.Fatalf("no start-up banner: %q", banner.Text())
	}
	go io.Copy(io.Discard, stdout)
	return &crashServer{cmd: cmd, addr: addr}
}

func (s *crashServer) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

func (s *crashServer) api(method, path, token string, body any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+s.addr+path, r)
	req.Host = "demo.localhost"
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	return (&http.Client{Timeout: 10 * time.Second}).Do(req)
}

// TestKillDuringDeliveryLosesAndDoublesNothing sends messages over the
// API while killing the server with SIGKILL at random moments, many times,
// then lets a last run finish: every accepted message reached the provider
// exactly once, and so did every message that was committed at all.
func TestKillDuringDeliveryLosesAndDoublesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it many times")
	}
	t.Parallel()
	bin := buildParley(t)
	fake := &fakeOutbox{posts: map[string]int{}, ids: map[string]string{}}
	outbox := httptest.NewServer(fake)
	defer outbox.Close()
	data := filepath.Join(t.TempDir(), "data")

	srv := startCrashServer(t, bin, data, outbox.URL)
	token, err := exec.Command(bin, "token", "create", "--data", data, "--tenant", "demo", "--name", "crash test",
		"--role", "admin").Output()
	if err != nil {
		srv.kill()
		t.Fatalf("token: %v", err)
	}
	tok := strings.TrimSpace(string(token))
	chats := demoChatIDs(t, srv, tok)

	var accepted []string
	const rounds = 12
	for round := range rounds {
		if round > 0 {
			srv = startCrashServer(t, bin, data, outbox.URL)
		}
		accepted = append(accepted, sendUntilKilled(t, srv, tok, chats, round)...)
	}
	srv = startCrashServer(t, bin, data, outbox.URL)
	defer srv.kill()

	db := openCrashTenant(t, data)
	waitAllSent(t, db, chats)
	msgs := outboundMessages(t, db, chats)
	fake.mu.Lock()
	defer fake.mu.Unlock()
	tenantID := db.TenantID
	for _, id := range accepted {
		if _, ok := msgs[id]; !ok {
			t.Errorf("accepted message %s is missing", id)
		}
	}
	twice := 0
	for id, m := range msgs {
		if n := fake.posts[tenantID+"/"+id]; n != 1 {
			t.Errorf("message %s (%s): sent %d times, want 1", id, m.Status, n)
			twice += max(0, n-1)
		}
	}
	if len(fake.posts) != len(msgs) {
		t.Errorf("provider got %d distinct messages, tenant has %d", len(fake.posts), len(msgs))
	}
	t.Logf("%d kills, %d messages accepted over HTTP, %d committed, %d at the provider, %d sent twice",
		rounds, len(accepted), len(msgs), len(fake.posts), twice)
}

// sendUntilKilled sends messages from four clients of the API until a
// SIGKILL at a random moment, and returns the ids the server accepted.
func sendUntilKilled(t *testing.T, srv *crashServer, token string, chats []string, round int) []string {
	var mu sync.Mutex
	var accepted []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				chat := chats[(w+i)%len(chats)]
				res, err := srv.api("POST", "/api/v1/chats/"+chat+"/messages", token,
					map[string]any{"text": fmt.Sprintf("round %d writer %d message %d", round, w, i)})
				if err != nil {
					continue // killed mid-request: not accepted
				}
				var m app.Message
				json.NewDecoder(res.Body).Decode(&m)
				res.Body.Close()
				if res.StatusCode == http.StatusAccepted {
					mu.Lock()
					accepted = append(accepted, m.ID)
					mu.Unlock()
				} else {
					t.Errorf("send: got %d, want 202", res.StatusCode)
				}
			}
		})
	}
	time.Sleep(time.Duration(100+rand.IntN(600)) * time.Millisecond)
	srv.kill()
	close(stop)
	wg.Wait()
	return accepted
}

func demoChatIDs(t *testing.T, srv *crashServer, token string) []string {
	t.Helper()
	res, err := srv.api("GET", "/api/v1/chats", token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var page struct{ Data []app.Chat }
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil || len(page.Data) == 0 {
		t.Fatalf("chats: %v, got %d", err, len(page.Data))
	}
	var ids []string
	for _, c := range page.Data {
		ids = append(ids, c.ID)
	}
	return ids
}

// openCrashTenant opens the demo tenant's file alongside the running
// server (SQLite in WAL mode allows a second process to read).
func openCrashTenant(t *testing.T, data string) *tenantdb.DB {
	t.Helper()
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.DataDir = data
	control, err := tenantdb.OpenControl(ctx, cfg.ControlPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tenants := tenantdb.NewManager(tenantdb.ManagerConfig{Dir: cfg.TenantDir()})
	ten, err := control.TenantBySlug(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	db, release, err := tenants.Acquire(ctx, ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(); tenants.Close(ctx); control.Close() })
	return db
}

// outboundMessages returns every message the team sent in chats, by id.
func outboundMessages(t *testing.T, db *tenantdb.DB, chats []string) map[string]app.Message {
	t.Helper()
	out := map[string]app.Message{}
	for _, chat := range chats {
		before := ""
		for {
			msgs, more, err := db.ListMessages(context.Background(), chat, app.ChatScope{All: true}, before, 200)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				if m.Kind == app.KindMessage && m.Direction == app.DirectionOut {
					out[m.ID] = m
				}
			}
			if !more {
				break
			}
			before = msgs[0].ID
		}
	}
	return out
}

// waitAllSent waits until no outbound message is queued any more.
func waitAllSent(t *testing.T, db *tenantdb.DB, chats []string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		queued := 0
		for _, m := range outboundMessages(t, db, chats) {
			if m.Status == app.StatusQueued {
				queued++
			} else if m.Status == app.StatusFailed {
				t.Errorf("message %s failed: %s", m.ID, m.FailureReason)
			}
		}
		if queued == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still queued after the last restart", queued)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
