package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIUsage: bad usage exits 2 with one line; --help exits 0.
func TestCLIUsage(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ErrNoCommand", nil, 2, "missing command"},
		{"ErrUnknownCommand", []string{"frobnicate"}, 2, "unknown command"},
		{"ErrUnknownFlag", []string{"serve", "--nope"}, 2, "flag provided but not defined"},
		{"ErrTenantCreateNoSlug", []string{"tenant", "create", "--name", "A", "--admin-email", "a@b.example", "--data", data}, 2, "exactly one SLUG"},
		{"ErrTenantCreateNoName", []string{"tenant", "create", "acme", "--admin-email", "a@b.example", "--data", data}, 2, "--name is required"},
		{"ErrTokenNoTenant", []string{"token", "create", "--name", "x", "--data", data}, 2, "--tenant is required"},
		{"ErrTokenBadRole", []string{"token", "create", "--tenant", "acme", "--name", "x", "--role", "god", "--data", data}, 2, "--role"},
		{"ErrBadLogLevel", []string{"serve", "--log-level", "loud", "--data", data}, 2, "--log-level"},
		{"Help", []string{"--help"}, 0, ""},
		{"ServeHelp", []string{"serve", "--help"}, 0, ""},
		{"TenantCreateHelp", []string{"tenant", "create", "--help"}, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := cli(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit code: got %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			if tt.code == 2 {
				if !strings.Contains(errOut, tt.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
					t.Errorf("stderr: got %q, want one line containing %q", errOut, tt.want)
				}
				if out != "" {
					t.Errorf("stdout on bad usage: got %q, want nothing", out)
				}
			} else if strings.Count(out, "Usage") != 1 {
				t.Errorf("help: got %q, want usage text once", out)
			}
		})
	}
}

// TestCLIWhileServing: the commands work on the data directory of a running
// server, and the server sees their changes at once.
func TestCLIWhileServing(t *testing.T) {
	t.Parallel()
	m, base := startServer(t)
	data := m.Config.DataDir
	_, port, _ := net.SplitHostPort(m.Addr())
	get := func(host, path, token string) (int, string) {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+port+path, nil)
		req.Host = host
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	// Without a password: a set-password link.
	code, out, errOut := cli(t, "tenant", "create", "acme", "--name", "Acme Ltd", "--admin-email", "ops@acme.example", "--data", data, "--base-domain", base)
	if code != 0 || !strings.Contains(out, "http://acme."+base+"/invite/inv_") {
		t.Fatalf("tenant create: code %d, out %q, err %q", code, out, errOut)
	}
	if status, _ := get("acme."+base, "/login", ""); status != http.StatusOK {
		t.Errorf("server sees new tenant: got %d, want 200", status)
	}
	// With a password file.
	pw := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pw, []byte("correct horse battery\n"), 0o600)
	if code, _, errOut := cli(t, "tenant", "create", "beta", "--name", "Beta", "--admin-email", "b@beta.example", "--admin-password-file", pw, "--data", data); code != 0 {
		t.Fatalf("tenant create with password: %d %s", code, errOut)
	}
	// Refusals exit 1 with the reason.
	if code, _, errOut := cli(t, "tenant", "create", "acme", "--name", "Again", "--admin-email", "x@y.example", "--data", data); code != 1 || !strings.Contains(errOut, "already taken") {
		t.Errorf("duplicate slug: code %d, stderr %q", code, errOut)
	}
	if code, _, errOut := cli(t, "tenant", "create", "api", "--name", "API", "--admin-email", "x@y.example", "--data", data); code != 1 || !strings.Contains(errOut, "reserved") {
		t.Errorf("reserved slug: code %d, stderr %q", code, errOut)
	}

	code, token, errOut := cli(t, "token", "create", "--tenant", "acme", "--name", "CI", "--role", "lead", "--data", data)
	token = strings.TrimSpace(token)
	if code != 0 || !strings.HasPrefix(token, "prl_") {
		t.Fatalf("token create: code %d, out %q, err %q", code, token, errOut)
	}
	status, body := get("acme."+base, "/api/v1/me", token)
	var me struct {
		Tenant struct{ Slug string }
		Token  struct{ Role string }
	}
	json.Unmarshal([]byte(body), &me)
	if status != http.StatusOK || me.Tenant.Slug != "acme" || me.Token.Role != "lead" {
		t.Errorf("server sees new token: got %d %s", status, body)
	}

	code, out, _ = cli(t, "tenant", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "acme") || !strings.Contains(out, "beta") {
		t.Errorf("tenant list: code %d, out %q", code, out)
	}
	if code, _, errOut := cli(t, "tenant", "disable", "beta", "--data", data); code != 0 {
		t.Fatalf("disable: %s", errOut)
	}
	if status, _ := get("beta."+base, "/login", ""); status != http.StatusForbidden {
		t.Errorf("disabled tenant: got %d, want 403", status)
	}
	if code, _, _ := cli(t, "tenant", "enable", "beta", "--data", data); code != 0 {
		t.Fatal("enable failed")
	}
	if status, _ := get("beta."+base, "/login", ""); status != http.StatusOK {
		t.Errorf("re-enabled tenant: got %d, want 200", status)
	}
	if code, _, errOut := cli(t, "tenant", "disable", "nosuch", "--data", data); code != 1 || !strings.Contains(errOut, "No tenant") {
		t.Errorf("disable unknown: code %d, %q", code, errOut)
	}

	code, out, errOut = cli(t, "migrate", "--data", data)
	if code != 0 || !strings.Contains(out, "acme: ok") || !strings.Contains(out, "2 tenants, 0 failed") {
		t.Errorf("migrate: code %d, out %q, err %q", code, out, errOut)
	}
}

// TestServeDemoAndHealth: --demo creates the demo workspace once and its
// login works; health, readiness and metrics answer.
func TestServeDemoAndHealth(t *testing.T) {
	t.Parallel()
	m, base := startServer(t, func(c *Config) { c.Demo = true })
	login, err := os.ReadFile(filepath.Join(m.Config.DataDir, demoFile))
	if err != nil || !strings.HasPrefix(string(login), demoEmail+" / ") {
		t.Fatalf("demo login file: %q, %v", login, err)
	}
	info, _ := os.Stat(filepath.Join(m.Config.DataDir, demoFile))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("demo login file mode %v, want 0600", info.Mode().Perm())
	}
	url := "http://" + m.Addr()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Host = base
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s: got %d, want %d", path, res.StatusCode, want)
		}
	}
	req, _ := http.NewRequest("GET", url+"/login", nil)
	req.Host = "demo." + base
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("demo login page: got %d", res.StatusCode)
	}
	res, err = http.Get("http://" + m.adminLn.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, metric := range []string{"parley_tenants_open", "parley_http_requests_total", "go_goroutines"} {
		if !strings.Contains(string(b), metric) {
			t.Errorf("metrics lack %s", metric)
		}
	}
}
