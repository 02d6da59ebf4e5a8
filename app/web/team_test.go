package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"parley/app"
)

// member invites someone with role and signs them in through the invite link.
func member(t *testing.T, e *env, admin *browser, email string, role app.Role) *browser {
	t.Helper()
	res := admin.post("acme", "/settings/team/invites", url.Values{"email": {email}, "name": {email}, "role": {string(role)}})
	link := res.Text(t, "[data-testid=invite-link]")
	u, err := url.Parse(link)
	if err != nil || link == "" {
		t.Fatalf("invite %s: status %d, link %q", email, res.Status, link)
	}
	br := e.browser()
	if res := br.post("acme", u.Path, url.Values{"name": {"Member " + string(role)}, "password": {"a good long password"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("accept %s: got %d", email, res.Status)
	}
	return br
}

// TestPermissions: each role reaches exactly the settings its permissions allow.
func TestPermissions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.workspace("acme")
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	roles := map[app.Role]*browser{
		app.RoleAdmin: admin,
		app.RoleLead:  member(t, e, admin, "lead@acme.example", app.RoleLead),
		app.RoleAgent: member(t, e, admin, "agent@acme.example", app.RoleAgent),
		app.RoleSales: member(t, e, admin, "sales@acme.example", app.RoleSales),
	}
	pages := map[string]app.Permission{
		"/settings/team": app.PermManageTeam, "/settings/tokens": app.PermManageTokens,
		"/settings/audit": app.PermViewAudit, "/settings/account": "", "/inbox": "", "/clients": app.PermViewClients,
	}
	for role, br := range roles {
		for path, perm := range pages {
			want := http.StatusOK
			if perm != "" && !role.Can(perm) {
				want = http.StatusForbidden
			}
			if res := br.get("acme", path); res.Status != want {
				t.Errorf("%s GET %s: got %d, want %d", role, path, res.Status, want)
			}
		}
	}
	// A forbidden POST changes nothing.
	res := roles[app.RoleAgent].post("acme", "/settings/team/invites", url.Values{"email": {"x@acme.example"}, "role": {"admin"}})
	if res.Status != http.StatusForbidden {
		t.Errorf("agent invites: got %d, want 403", res.Status)
	}
	// Signed-out visitors are sent to sign in, and come back afterwards.
	res = e.browser().get("acme", "/settings/audit?type=UserLoggedIn")
	if loc := res.Header.Get("Location"); res.Status != http.StatusSeeOther || loc != "/login?next=%2Fsettings%2Faudit%3Ftype%3DUserLoggedIn" {
		t.Errorf("signed out: got %d %q, want 303 to /login with next", res.Status, loc)
	}
}

// TestDeactivationAndRoles: a deactivated user loses their session at once;
// the last admin cannot be demoted or deactivated.
func TestDeactivationAndRoles(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ws := e.workspace("acme")
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	agent := member(t, e, admin, "agent@acme.example", app.RoleAgent)
	if res := agent.get("acme", "/inbox"); res.Status != http.StatusOK {
		t.Fatalf("agent inbox: got %d", res.Status)
	}
	u, err := e.db(ws).UserByEmail(context.Background(), "agent@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	if res := admin.post("acme", "/settings/team/users/"+u.ID+"/deactivate", nil); res.Status != http.StatusSeeOther {
		t.Fatalf("deactivate: got %d", res.Status)
	}
	if res := agent.get("acme", "/inbox"); res.Status != http.StatusSeeOther {
		t.Errorf("deactivated agent's next request: got %d, want 303 to sign in", res.Status)
	}
	res := e.browser().post("acme", "/login", url.Values{"email": {"agent@acme.example"}, "password": {"a good long password"}})
	if res.Status != http.StatusForbidden || !strings.Contains(res.Body, "deactivated") {
		t.Errorf("deactivated login: got %d, want 403 saying deactivated", res.Status)
	}

	// Promote, then demote: events record both.
	admin.post("acme", "/settings/team/users/"+u.ID+"/reactivate", nil)
	admin.post("acme", "/settings/team/users/"+u.ID+"/role", url.Values{"role": {"lead"}})
	if got, _ := e.db(ws).UserByID(context.Background(), u.ID); got.Role != app.RoleLead || !got.Active() {
		t.Errorf("after reactivate + promote: got %s/%s, want lead/active", got.Role, got.Status)
	}
	// The only admin cannot demote themselves away (no form for it) nor be demoted by the API of the store.
	err = e.db(ws).ChangeRole(context.Background(), ws.Admin.ID, app.RoleAgent, app.CLIActor)
	if app.ErrorCode(err) != app.ECONFLICT {
		t.Errorf("demote last admin: got %v, want ECONFLICT", err)
	}
	res = admin.post("acme", "/settings/team/users/"+ws.Admin.ID+"/deactivate", nil)
	flash := admin.get("acme", "/settings/team").Text(t, "[data-testid=alert]")
	if !strings.Contains(flash, "cannot deactivate yourself") {
		t.Errorf("self-deactivate: got status %d and flash %q, want a refusal", res.Status, flash)
	}
	if res := admin.post("acme", "/settings/team/users/"+u.ID+"/role", url.Values{"role": {"owner"}}); res.Status != http.StatusSeeOther {
		t.Errorf("bad role: got %d, want 303 back with a message", res.Status)
	}
	if got := admin.get("acme", "/settings/team").Text(t, "[data-testid=alert]"); !strings.Contains(got, "Choose a role") {
		t.Errorf("bad role flash: got %q", got)
	}
}

// TestAuditLog: admins see events filtered by actor, type and date, paged.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ws := e.workspace("acme")
	admin := e.browser()
	for range 3 {
		admin.login("acme", "admin@acme.example", "correct horse battery")
	}
	// Make more than one page of events.
	for i := range 60 {
		if _, _, err := e.db(ws).CreateToken(context.Background(), app.NewAPIToken{Name: "t" + string(rune('a'+i%26)), Role: app.RoleAgent}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	types := func(res response) []string {
		var out []string
		res.Doc(t).Find("[data-testid=audit-row]").Each(func(_ int, row *goquery.Selection) {
			typ, _ := row.Attr("data-event-type")
			out = append(out, typ)
		})
		return out
	}
	res := admin.get("acme", "/settings/audit")
	if got := types(res); res.Status != http.StatusOK || len(got) != 50 {
		t.Fatalf("first page: got %d rows (status %d), want 50", len(got), res.Status)
	}
	older, ok := res.Doc(t).Find("[data-testid=older]").Attr("href")
	if !ok {
		t.Fatal("no link to older events")
	}
	page2 := types(admin.get("acme", older))
	if len(page2) == 0 || len(page2) > 50 {
		t.Errorf("second page: got %d rows", len(page2))
	}
	res = admin.get("acme", "/settings/audit?type=UserLoggedIn&actor="+ws.Admin.ID)
	got := types(res)
	if len(got) != 3 {
		t.Errorf("filtered by type and actor: got %d rows %v, want 3 UserLoggedIn", len(got), got)
	}
	for _, typ := range got {
		if typ != app.EventUserLoggedIn {
			t.Errorf("filtered row of type %s", typ)
		}
	}
	if got := types(admin.get("acme", "/settings/audit?from=2026-11-24")); len(got) != 0 {
		t.Errorf("from tomorrow: got %d rows, want 0", len(got))
	}
	if got := types(admin.get("acme", "/settings/audit?from=2026-11-23&to=2026-11-23&type=WorkspaceCreated")); len(got) != 1 {
		t.Errorf("today's WorkspaceCreated: got %d rows, want 1", len(got))
	}
	res = admin.get("acme", "/settings/audit?from=yesterday")
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Body, "YYYY-MM-DD") {
		t.Errorf("bad date: got %d, want 422 explaining the format", res.Status)
	}
}

// TestTokensUI: admins create a token (shown once) and revoke it; the API
// then refuses it.
func TestTokensUI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.workspace("acme")
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	res := admin.post("acme", "/settings/tokens", url.Values{"name": {"Website sync"}, "role": {"lead"}})
	secret := res.Text(t, "[data-testid=new-token]")
	if res.Status != http.StatusCreated || !strings.HasPrefix(secret, app.TokenPrefix) {
		t.Fatalf("create: got %d, secret %q", res.Status, secret)
	}
	me := e.api("acme", "/api/v1/me", secret)
	if me.Status != http.StatusOK || !strings.Contains(me.Body, `"role":"lead"`) || !strings.Contains(me.Body, `"audit.view"`) {
		t.Fatalf("me: got %d %s", me.Status, me.Body)
	}
	list := admin.get("acme", "/settings/tokens")
	if strings.Contains(list.Body, secret) {
		t.Error("the secret is shown again on the list")
	}
	form := list.Doc(t).Find("[data-testid=tokens] form").First()
	action, _ := form.Attr("action")
	if res := admin.post("acme", action, nil); res.Status != http.StatusSeeOther {
		t.Fatalf("revoke: got %d", res.Status)
	}
	if res := e.api("acme", "/api/v1/me", secret); res.Status != http.StatusUnauthorized {
		t.Errorf("revoked token: got %d, want 401", res.Status)
	}
	res = admin.post("acme", "/settings/tokens", url.Values{"name": {""}, "role": {"king"}})
	if res.Status != http.StatusUnprocessableEntity || res.Text(t, "[data-testid=error-name]") == "" || res.Text(t, "[data-testid=error-role]") == "" {
		t.Errorf("bad token form: got %d, want 422 with errors on name and role", res.Status)
	}
}

// TestAPIErrors: the API answers in its JSON error shape.
func TestAPIErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.workspace("acme")
	for _, tt := range []struct {
		name, token, path string
		status            int
		code              string
	}{
		{"ErrNoToken", "", "/api/v1/me", 401, "unauthorized"},
		{"ErrBadToken", "prl_notarealtoken", "/api/v1/me", 401, "unauthorized"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := e.api("acme", tt.path, tt.token)
			if res.Status != tt.status || !strings.Contains(res.Body, `{"error":{"code":"`+tt.code+`","message":"`) {
				t.Errorf("got %d %s, want %d with code %s", res.Status, res.Body, tt.status, tt.code)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("content type %q", ct)
			}
		})
	}
}

// TestSecurityHeaders: pages carry a strict CSP whose nonce matches the scripts.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.workspace("acme")
	res := e.browser().get("acme", "/login")
	csp := res.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'self' 'nonce-([^']+)'`).FindStringSubmatch(csp)
	if m == nil || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Fatalf("CSP %q: want a nonce and no unsafe-*", csp)
	}
	if !strings.Contains(res.Body, `nonce="`+m[1]+`"`) {
		t.Error("the page's script does not carry the CSP nonce")
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s: got %q, want %q", h, got, want)
		}
	}
	if again := e.browser().get("acme", "/login").Header.Get("Content-Security-Policy"); again == csp {
		t.Error("two requests got the same nonce")
	}
}
