package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/app"
)

// TestPasswordReset: an admin issues a reset link; using it sets the new
// password, signs the member out everywhere else, and works only once.
func TestPasswordReset(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ws := e.workspace("acme")
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	agentLaptop := member(t, e, admin, "agent@acme.example", app.RoleAgent)
	agent, err := e.db(ws).UserByEmail(context.Background(), "agent@acme.example")
	if err != nil {
		t.Fatal(err)
	}

	res := admin.post("acme", "/settings/team/users/"+agent.ID+"/reset-password", nil)
	link := res.Text(t, "[data-testid=invite-link]")
	u, err := url.Parse(link)
	if res.Status != http.StatusCreated || err != nil || !strings.HasPrefix(u.Path, "/reset/rst_") {
		t.Fatalf("issue reset: got %d, link %q", res.Status, link)
	}
	phone := e.browser()
	if res := phone.get("acme", u.Path); res.Status != http.StatusOK || !strings.Contains(res.Body, "agent@acme.example") {
		t.Fatalf("open reset link: got %d", res.Status)
	}
	res = phone.post("acme", u.Path, url.Values{"password": {"short"}})
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Text(t, "[data-testid=error-password]"), "at least 10") {
		t.Fatalf("short password: got %d", res.Status)
	}
	if res := phone.post("acme", u.Path, url.Values{"password": {"a brand new password"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("reset: got %d", res.Status)
	}
	if res := phone.get("acme", "/inbox"); res.Status != http.StatusOK {
		t.Errorf("signed in after reset: got %d, want 200", res.Status)
	}
	if res := agentLaptop.get("acme", "/inbox"); res.Status != http.StatusSeeOther {
		t.Errorf("older session after reset: got %d, want 303 to sign in", res.Status)
	}
	if res := e.browser().post("acme", u.Path, url.Values{"password": {"yet another password"}}); res.Status != http.StatusGone {
		t.Errorf("reuse: got %d, want 410", res.Status)
	}
	e.browser().login("acme", "agent@acme.example", "a brand new password")

	t.Run("ErrExpired", func(t *testing.T) {
		res := admin.post("acme", "/settings/team/users/"+agent.ID+"/reset-password", nil)
		u, _ := url.Parse(res.Text(t, "[data-testid=invite-link]"))
		e.clock.Advance(app.PasswordResetTTL + time.Minute)
		defer e.clock.Advance(-(app.PasswordResetTTL + time.Minute))
		if res := e.browser().post("acme", u.Path, url.Values{"password": {"too late password"}}); res.Status != http.StatusGone || !strings.Contains(res.Body, "expired") {
			t.Errorf("expired reset: got %d, want 410 expired", res.Status)
		}
	})
}

// TestChangePasswordSignsOutOtherSessions: changing one's own password keeps
// the current session and ends the others.
func TestChangePasswordSignsOutOtherSessions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.workspace("acme")
	desk, laptop := e.browser(), e.browser()
	desk.login("acme", "admin@acme.example", "correct horse battery")
	laptop.login("acme", "admin@acme.example", "correct horse battery")
	res := desk.post("acme", "/settings/account/password", url.Values{"current_password": {"wrong one here"}, "new_password": {"a new long password"}})
	if res.Status != http.StatusUnprocessableEntity || !strings.Contains(res.Text(t, "[data-testid=error-current_password]"), "not correct") {
		t.Fatalf("wrong current password: got %d", res.Status)
	}
	res = desk.post("acme", "/settings/account/password", url.Values{"current_password": {"correct horse battery"}, "new_password": {"a new long password"}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("change: got %d", res.Status)
	}
	if res := desk.get("acme", "/settings/account"); res.Status != http.StatusOK {
		t.Errorf("current session after change: got %d, want 200", res.Status)
	}
	if res := laptop.get("acme", "/settings/account"); res.Status != http.StatusSeeOther {
		t.Errorf("other session after change: got %d, want 303", res.Status)
	}
}
