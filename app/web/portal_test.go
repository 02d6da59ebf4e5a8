package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// getOn fetches path on an arbitrary host (a custom domain).
func (b *browser) getOn(host, path string) response {
	req, _ := http.NewRequest("GET", "http://"+host+path, nil)
	return b.do(req)
}

// TestPortalSite checks where the public site is served: under /help,
// /portal and /widget on the workspace host, and only there on a custom
// domain, branded, and without the team session.
func TestPortalSite(t *testing.T) {
	t.Parallel()
	e := setup(t)
	acme := e.workspace("acme")
	e.workspace("globex")
	if err := e.control.MapDomain(context.Background(), acme.Tenant.ID, "help.acme.example"); err != nil {
		t.Fatal(err)
	}
	team := e.browser()
	team.login("acme", "admin@acme.example", "correct horse battery")

	for _, tt := range []struct {
		name       string
		host, path string // host "" with a custom domain in path's place uses getOn
		custom     string
		wantStatus int
		wantBody   string
		wantLoc    string
	}{
		{name: "HelpOnWorkspaceHost", host: "acme", path: "/help", wantStatus: 200, wantBody: "Acme Inc"},
		{name: "UnknownPortalPath", host: "acme", path: "/help/nope/nope", wantStatus: 404, wantBody: "Page not found"},
		{name: "TeamAppStillServed", host: "acme", path: "/inbox", wantStatus: 200},
		{name: "CustomDomainHelp", custom: "help.acme.example", path: "/help", wantStatus: 200, wantBody: "Acme Inc"},
		{name: "CustomDomainRoot", custom: "help.acme.example", path: "/", wantStatus: 302, wantLoc: "/help"},
		{name: "CustomDomainNoTeamApp", custom: "help.acme.example", path: "/inbox", wantStatus: 404},
		{name: "CustomDomainNoAPI", custom: "help.acme.example", path: "/api/v1/me", wantStatus: 404},
		{name: "CustomDomainNoHooks", custom: "help.acme.example", path: "/hooks/x", wantStatus: 404},
		{name: "CustomDomainNoLogin", custom: "help.acme.example", path: "/login", wantStatus: 404},
		{name: "UnmappedDomain", custom: "help.other.example", path: "/help", wantStatus: 404},
		{name: "OtherWorkspaceOwnBrand", host: "globex", path: "/help", wantStatus: 200, wantBody: "Globex Inc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var res response
			if tt.custom != "" {
				res = team.getOn(tt.custom, tt.path)
			} else {
				res = team.get(tt.host, tt.path)
			}
			if res.Status != tt.wantStatus {
				t.Fatalf("got status %d, want %d; body: %s", res.Status, tt.wantStatus, snippet(res.Body))
			}
			if tt.wantBody != "" && !strings.Contains(res.Body, tt.wantBody) {
				t.Errorf("body lacks %q: %s", tt.wantBody, snippet(res.Body))
			}
			if tt.wantLoc != "" && res.Header.Get("Location") != tt.wantLoc {
				t.Errorf("Location: got %q, want %q", res.Header.Get("Location"), tt.wantLoc)
			}
		})
	}

	t.Run("NoTeamSessionOnPortal", func(t *testing.T) {
		res := team.get("acme", "/help")
		if strings.Contains(res.Body, "Admin of acme") || strings.Contains(res.Body, "/logout") {
			t.Errorf("the public page shows the team session: %s", snippet(res.Body))
		}
		if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
			t.Errorf("the public page set cookies %v; it must not touch the team session", sc)
		}
	})
	t.Run("StrictCSP", func(t *testing.T) {
		csp := team.get("acme", "/help").Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self' 'nonce-", "object-src 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
	})
}
