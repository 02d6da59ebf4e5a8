package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"parley/app"
	"parley/tenantdb"
)

// TestCLIDomainUsage: the domain commands' bad usage exits 2 with one line.
func TestCLIDomainUsage(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ErrNoSubcommand", []string{"domain"}, 2, "list, map or unmap"},
		{"ErrUnknownSubcommand", []string{"domain", "park"}, 2, "unknown domain subcommand"},
		{"ErrMapNoTenant", []string{"domain", "map", "--domain", "help.acme.example", "--data", data}, 2, "--tenant is required"},
		{"ErrMapNoDomain", []string{"domain", "map", "--tenant", "acme", "--data", data}, 2, "--domain is required"},
		{"ErrMapArgument", []string{"domain", "map", "help.acme.example", "--tenant", "acme", "--data", data}, 2, "takes no arguments"},
		{"ErrUnmapNoDomain", []string{"domain", "unmap", "--data", data}, 2, "--domain is required"},
		{"ErrListArgument", []string{"domain", "list", "acme", "--data", data}, 2, "takes no arguments"},
		{"MapHelp", []string{"domain", "map", "--help"}, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := cli(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit code: got %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			if tt.code == 2 && (!strings.Contains(errOut, tt.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || out != "") {
				t.Errorf("got stdout %q, stderr %q; want one line containing %q", out, errOut, tt.want)
			}
			if tt.code == 0 && !strings.Contains(out, "--domain") {
				t.Errorf("help: got %q", out)
			}
		})
	}
}

// TestCLIDomain maps, lists and unmaps custom domains on the data directory
// of a running server, which serves a mapped domain at once and stops when
// it is unmapped; the workspace's audit log says the operator did it.
func TestCLIDomain(t *testing.T) {
	t.Parallel()
	m, base := startServer(t)
	data := m.Config.DataDir
	_, port, _ := net.SplitHostPort(m.Addr())
	get := func(host, path string) int {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:"+port+path, nil)
		req.Host = host
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	for _, slug := range []string{"acme", "beta"} {
		if code, _, errOut := cli(t, "tenant", "create", slug, "--name", slug, "--admin-email", "a@"+slug+".example", "--data", data, "--base-domain", base); code != 0 {
			t.Fatalf("tenant create: %s", errOut)
		}
	}
	const domain = "help.acme.example"
	if got := get(domain, "/help"); got != http.StatusNotFound {
		t.Fatalf("served before it is mapped: %d", got)
	}

	// Beta claims the domain as a workspace admin would, without proving
	// it: that stops neither the operator nor the owner.
	ctx := context.Background()
	s, err := openStore(ctx, Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	beta, err := s.control.TenantBySlug(ctx, "beta")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.control.AddDomain(ctx, beta.ID, domain, "localhost"); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := cli(t, "domain", "map", "--tenant", "acme", "--domain", "Help.ACME.example", "--data", data, "--base-domain", base)
	if code != 0 || !strings.Contains(out, domain+" is now served for tenant acme: http://"+domain+"/help") || !strings.Contains(out, "CNAME record to acme.localhost") {
		t.Fatalf("map: code %d, out %q, err %q", code, out, errOut)
	}
	if got := get(domain, "/help"); got != http.StatusOK {
		t.Errorf("the server does not serve the mapped domain: %d", got)
	}
	if got := get(domain, "/login"); got != http.StatusNotFound {
		t.Errorf("the team app on the mapped domain: %d", got)
	}
	if code, out, _ := cli(t, "domain", "map", "--tenant", "acme", "--domain", domain, "--data", data, "--base-domain", base); code != 0 || !strings.Contains(out, "already served") {
		t.Errorf("map twice: code %d, out %q", code, out)
	}

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrServedForAnother", []string{"--tenant", "beta", "--domain", domain}, "already served for another workspace"},
		{"ErrUnknownTenant", []string{"--tenant", "nosuch", "--domain", "help.nosuch.example"}, "Workspace not found"},
		{"ErrBaseSubdomain", []string{"--tenant", "beta", "--domain", "acme." + base[:strings.Index(base, ":")]}, "can't be used"},
		{"ErrIP", []string{"--tenant", "beta", "--domain", "192.0.2.1"}, "can't be used"},
		{"ErrURL", []string{"--tenant", "beta", "--domain", "https://help.beta.example/"}, "without http://"},
	} {
		t.Run("Map/"+tt.name, func(t *testing.T) {
			args := append([]string{"domain", "map", "--data", data, "--base-domain", base}, tt.args...)
			code, _, errOut := cli(t, args...)
			if code != 1 || !strings.Contains(errOut, tt.want) {
				t.Errorf("got code %d, stderr %q; want 1 saying %q", code, errOut, tt.want)
			}
		})
	}

	// The list shows every claim: the operator's mapping and beta's
	// pending one, and can be narrowed to a tenant.
	code, out, _ = cli(t, "domain", "list", "--data", data)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "DOMAIN") ||
		strings.Join(strings.Fields(lines[1])[:3], " ") != domain+" acme served" ||
		strings.Join(strings.Fields(lines[2])[:3], " ") != domain+" beta pending" {
		t.Errorf("list: code %d, out %q", code, out)
	}
	if code, out, _ := cli(t, "domain", "list", "--tenant", "acme", "--data", data); code != 0 || strings.Contains(out, "beta") || !strings.Contains(out, domain) {
		t.Errorf("list --tenant acme: code %d, out %q", code, out)
	}
	if code, _, errOut := cli(t, "domain", "list", "--tenant", "nosuch", "--data", data); code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("list --tenant nosuch: code %d, %q", code, errOut)
	}

	code, out, errOut = cli(t, "domain", "unmap", "--domain", "HELP.acme.example", "--data", data)
	if code != 0 || !strings.Contains(out, "Removed "+domain+" from tenant acme (was served)") || !strings.Contains(out, "from tenant beta (was pending)") {
		t.Fatalf("unmap: code %d, out %q, err %q", code, out, errOut)
	}
	if got := get(domain, "/help"); got != http.StatusNotFound {
		t.Errorf("still served after unmap: %d", got)
	}
	if code, _, errOut := cli(t, "domain", "unmap", "--domain", domain, "--data", data); code != 1 || !strings.Contains(errOut, "No workspace has") {
		t.Errorf("unmap twice: code %d, %q", code, errOut)
	}

	var got []string
	if err := s.withTenant(ctx, "acme", func(_ *app.Tenant, db *tenantdb.DB) error {
		evs, err := db.ListEvents(ctx, app.EventFilter{Limit: 100})
		for _, ev := range evs {
			if ev.AggregateType == "custom_domain" && ev.Actor.Type == app.ActorCLI {
				got = append(got, ev.Type)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "CustomDomainRemoved,CustomDomainVerified,CustomDomainAdded" {
		t.Errorf("acme's audit log: %v", got)
	}
}
