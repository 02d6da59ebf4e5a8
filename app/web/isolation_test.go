package web_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"parley/app"
)

// TestIsolation checks that nothing of one workspace works on another.
func TestIsolation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a, b := e.workspace("alpha"), e.workspace("bravo")

	t.Run("SessionCookieNotValidOnOtherHost", func(t *testing.T) {
		alice := e.browser()
		alice.login("alpha", "admin@alpha.example", "correct horse battery")
		if res := alice.get("alpha", "/inbox"); res.Status != http.StatusOK || !strings.Contains(res.Text(t, "[data-testid=current-user]"), "Admin of alpha") {
			t.Fatalf("alpha inbox: got %d, want 200 signed in", res.Status)
		}
		// Replay alpha's cookies on bravo's host, as an attacker would.
		thief := e.browser()
		alphaURL, _ := url.Parse(hostURL("alpha", "/"))
		bravoURL, _ := url.Parse(hostURL("bravo", "/"))
		cookies := alice.c.Jar.Cookies(alphaURL)
		if len(cookies) == 0 {
			t.Fatal("no session cookie was set on alpha")
		}
		thief.c.Jar.SetCookies(bravoURL, cookies)
		res := thief.get("bravo", "/inbox")
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("alpha cookie on bravo: got %d %q, want 303 to /login", res.Status, res.Header.Get("Location"))
		}
		// The cookie jar itself must never send alpha's cookie to bravo.
		if got := alice.c.Jar.Cookies(bravoURL); len(got) != 0 {
			t.Errorf("cookie leaked to bravo's host: %v", got)
		}
	})

	t.Run("APITokenOnlyForItsTenant", func(t *testing.T) {
		_, secret, err := e.db(a).CreateToken(context.Background(), app.NewAPIToken{Name: "sync", Role: app.RoleAgent}, app.CLIActor)
		if err != nil {
			t.Fatal(err)
		}
		if res := e.api("alpha", "/api/v1/me", secret); res.Status != http.StatusOK || !strings.Contains(res.Body, `"slug":"alpha"`) {
			t.Fatalf("token on alpha: got %d %s, want 200 naming alpha", res.Status, res.Body)
		}
		res := e.api("bravo", "/api/v1/me", secret)
		if res.Status != http.StatusUnauthorized || !strings.Contains(res.Body, `"code":"unauthorized"`) {
			t.Errorf("alpha token on bravo: got %d %s, want 401 unauthorized", res.Status, res.Body)
		}
	})

	t.Run("ForeignIDLooksLikeMissingID", func(t *testing.T) {
		bob := e.browser()
		bob.login("bravo", "admin@bravo.example", "correct horse battery")
		foreign := bob.post("bravo", "/settings/team/users/"+a.Admin.ID+"/deactivate", nil)
		missing := bob.post("bravo", "/settings/team/users/01JAAAAAAAAAAAAAAAAAAAAAAA/deactivate", nil)
		if foreign.Status != http.StatusNotFound || missing.Status != http.StatusNotFound {
			t.Fatalf("got statuses %d (foreign) and %d (missing), want 404 for both", foreign.Status, missing.Status)
		}
		if f, m := stripNonce(foreign.Body), stripNonce(missing.Body); f != m {
			t.Errorf("foreign id answer differs from missing id answer:\n%s\n---\n%s", snippet(f), snippet(m))
		}
		// And alpha's admin is untouched.
		if u, err := e.db(a).UserByID(context.Background(), a.Admin.ID); err != nil || !u.Active() {
			t.Errorf("alpha admin after bravo's attempt: %v, %v; want active", u, err)
		}
	})

	t.Run("UserCannotLogInOnOtherTenant", func(t *testing.T) {
		res := e.browser().post("bravo", "/login", url.Values{"email": {"admin@alpha.example"}, "password": {"correct horse battery"}})
		if res.Status != http.StatusUnauthorized || !strings.Contains(res.Body, "Email or password is not correct.") {
			t.Errorf("alpha user on bravo: got %d, want 401 with the generic message", res.Status)
		}
	})
	_ = b
}

var nonceAttr = regexp.MustCompile(`nonce="[^"]*"`)

func stripNonce(s string) string { return nonceAttr.ReplaceAllString(s, "") }

// TestUnknownAndDisabledHosts checks hosts that do not name a live workspace.
func TestUnknownAndDisabledHosts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.workspace("sleepy")
	if err := e.control.SetTenantStatus(context.Background(), "sleepy", app.TenantDisabled); err != nil {
		t.Fatal(err)
	}
	br := e.browser()
	if res := br.get("nosuch", "/login"); res.Status != http.StatusNotFound {
		t.Errorf("unknown workspace: got %d, want 404", res.Status)
	}
	req, _ := http.NewRequest("GET", "http://elsewhere.example/login", nil)
	if res := br.do(req); res.Status != http.StatusNotFound {
		t.Errorf("unknown host: got %d, want 404", res.Status)
	}
	res := br.get("sleepy", "/login")
	if res.Status != http.StatusForbidden || !strings.Contains(res.Body, "has been disabled") {
		t.Errorf("disabled workspace: got %d, want 403 saying it is disabled", res.Status)
	}
}

// TestFailedMigrationIsolated breaks one tenant's file so its migration
// fails: that tenant answers 503 and the other keeps working.
func TestFailedMigrationIsolated(t *testing.T) {
	t.Parallel()
	e := setup(t)
	good, bad := e.workspace("good"), e.workspace("broken")
	if err := e.tenants.Forget(bad.Tenant.ID); err != nil {
		t.Fatal(err)
	}
	// Forget the record of the first migration: re-running it collides with
	// the tables it already made, exactly like a migration that fails midway.
	raw, err := sql.Open("sqlite", e.tenants.TenantPath(bad.Tenant.ID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM schema_migrations`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	br := e.browser()
	res := br.get("broken", "/login")
	if res.Status != http.StatusServiceUnavailable || !strings.Contains(res.Body, "temporarily unavailable") {
		t.Errorf("broken tenant: got %d, want 503 temporarily unavailable", res.Status)
	}
	if res.Header.Get("Retry-After") == "" {
		t.Error("broken tenant: no Retry-After header")
	}
	if strings.Contains(res.Body, "already exists") {
		t.Error("broken tenant: the page leaks the SQL error")
	}
	if res := e.api("broken", "/api/v1/me", "prl_x"); res.Status != http.StatusServiceUnavailable || !strings.Contains(res.Body, `"code":"unavailable"`) {
		t.Errorf("broken tenant API: got %d %s, want 503 unavailable", res.Status, res.Body)
	}
	br.login("good", "admin@good.example", "correct horse battery")
	if res := br.get("good", "/inbox"); res.Status != http.StatusOK {
		t.Errorf("good tenant: got %d, want 200", res.Status)
	}
	_ = good
}
