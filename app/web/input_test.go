package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/app"
)

// TestSignupBadInput: every refused sign-up says why next to the field and
// creates no workspace.
func TestSignupBadInput(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.workspace("taken")
	good := url.Values{"name": {"Acme"}, "slug": {"acme"}, "admin_name": {"Ann"}, "email": {"ann@acme.example"}, "password": {"long enough pw"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vals := range good {
			f[key] = vals
		}
		f.Set(k, v)
		return f
	}
	tests := []struct {
		name      string
		form      url.Values
		wantField string
		wantText  string
	}{
		{"ErrSlugCharacters", with("slug", "Acme Corp!"), "slug", "lower-case letters"},
		{"ErrSlugTooShort", with("slug", "ab"), "slug", "3 to 40"},
		{"ErrSlugReserved", with("slug", "admin"), "slug", "reserved"},
		{"ErrSlugTaken", with("slug", "taken"), "slug", "already taken"},
		{"ErrEmail", with("email", "not-an-email"), "email", "valid email"},
		{"ErrShortPassword", with("password", "short"), "password", "at least 10"},
		{"ErrNameRequired", with("name", ""), "name", "company name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.browser().post("", "/signup", tt.form)
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("got status %d, want 422", res.Status)
			}
			got := res.Text(t, "[data-testid=error-"+tt.wantField+"]")
			if !strings.Contains(got, tt.wantText) {
				t.Errorf("error next to %s: got %q, want it to mention %q", tt.wantField, got, tt.wantText)
			}
			// What was typed comes back, except the password.
			if v, _ := res.Doc(t).Find("input[name=password]").Attr("value"); v != "" {
				t.Error("the password was echoed back into the form")
			}
		})
	}
	ts, err := e.control.ListTenants(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 {
		t.Errorf("tenants after refused sign-ups: got %d, want 1", len(ts))
	}

	t.Run("OK", func(t *testing.T) {
		res := e.browser().post("", "/signup", good)
		if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "http://acme."+baseDomain+"/login/link?token=") {
			t.Fatalf("got %d %q, want 303 to acme's sign-in link", res.Status, res.Header.Get("Location"))
		}
	})
}

// TestInvites covers the life of an invitation and its bad inputs.
func TestInvites(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ws := e.workspace("acme")
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	invite := func(email string) (string, response) {
		res := admin.post("acme", "/settings/team/invites", url.Values{"email": {email}, "name": {"Bea"}, "role": {"agent"}})
		return res.Text(t, "[data-testid=invite-link]"), res
	}
	pathOf := func(link string) string {
		u, err := url.Parse(link)
		if err != nil || !strings.HasPrefix(u.Path, "/invite/") {
			t.Fatalf("bad invite link %q", link)
		}
		return u.Path
	}
	users := func() int {
		us, err := e.db(ws).ListUsers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return len(us)
	}

	t.Run("ErrBadEmail", func(t *testing.T) {
		link, res := invite("bea@")
		if res.Status != http.StatusUnprocessableEntity || link != "" {
			t.Fatalf("got %d with link %q, want 422 and no link", res.Status, link)
		}
		if got := res.Text(t, "[data-testid=error-email]"); !strings.Contains(got, "valid email") {
			t.Errorf("got %q, want a valid-email message", got)
		}
	})

	t.Run("ErrAlreadyMember", func(t *testing.T) {
		_, res := invite("admin@acme.example")
		if got := res.Text(t, "[data-testid=error-email]"); res.Status != http.StatusUnprocessableEntity || !strings.Contains(got, "already a member") {
			t.Errorf("got %d %q, want 422 already a member", res.Status, got)
		}
	})

	t.Run("ErrShortPasswordThenOKThenReused", func(t *testing.T) {
		link, res := invite("bea@acme.example")
		if res.Status != http.StatusCreated || link == "" {
			t.Fatalf("invite: got %d, link %q; want 201 and a link", res.Status, link)
		}
		p := pathOf(link)
		bea := e.browser()
		if res := bea.get("acme", p); res.Status != http.StatusOK || !strings.Contains(res.Body, "bea@acme.example") {
			t.Fatalf("open invite: got %d, want 200 naming the email", res.Status)
		}
		res = bea.post("acme", p, url.Values{"name": {"Bea"}, "password": {"short"}})
		if got := res.Text(t, "[data-testid=error-password]"); res.Status != http.StatusUnprocessableEntity || !strings.Contains(got, "at least 10") {
			t.Fatalf("short password: got %d %q, want 422 at least 10", res.Status, got)
		}
		before := users()
		if res := bea.post("acme", p, url.Values{"name": {"Bea"}, "password": {"a good long password"}}); res.Status != http.StatusSeeOther {
			t.Fatalf("accept: got %d, want 303", res.Status)
		}
		if res := bea.get("acme", "/inbox"); !strings.Contains(res.Text(t, "[data-testid=current-user]"), "Bea") {
			t.Error("after accepting, Bea is not signed in")
		}
		res = e.browser().post("acme", p, url.Values{"name": {"Mallory"}, "password": {"another long password"}})
		if res.Status != http.StatusGone || !strings.Contains(res.Body, "already been used") {
			t.Errorf("reuse: got %d, want 410 already been used", res.Status)
		}
		if got := users(); got != before+1 {
			t.Errorf("users: got %d, want %d", got, before+1)
		}
	})

	t.Run("ErrExpired", func(t *testing.T) {
		link, _ := invite("cy@acme.example")
		e.clock.Advance(app.InviteTTL + time.Minute)
		defer e.clock.Advance(-(app.InviteTTL + time.Minute))
		// Sign in again: the session has idled out after a week.
		before := users()
		res := e.browser().get("acme", pathOf(link))
		if res.Status != http.StatusGone || !strings.Contains(res.Body, "expired") {
			t.Errorf("open expired: got %d, want 410 expired", res.Status)
		}
		res = e.browser().post("acme", pathOf(link), url.Values{"name": {"Cy"}, "password": {"a good long password"}})
		if res.Status != http.StatusGone || users() != before {
			t.Errorf("accept expired: got %d and %d users, want 410 and %d", res.Status, users(), before)
		}
	})

	t.Run("ErrUnknownLink", func(t *testing.T) {
		if res := e.browser().get("acme", "/invite/inv_nope"); res.Status != http.StatusGone {
			t.Errorf("got %d, want 410", res.Status)
		}
	})
}

// TestCrossOriginPostRefused: a form posted from another site is refused
// with a clear page and changes nothing.
func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ws := e.workspace("acme")
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	for name, h := range map[string][2]string{
		"SecFetchSite": {"Sec-Fetch-Site", "cross-site"},
		"Origin":       {"Origin", "http://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", hostURL("acme", "/settings/team/invites"),
				strings.NewReader(url.Values{"email": {"evil@evil.example"}, "role": {"admin"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(h[0], h[1])
			res := admin.do(req)
			if res.Status != http.StatusForbidden || !strings.Contains(res.Body, "sent from another site") {
				t.Errorf("got %d, want 403 explaining the refusal", res.Status)
			}
		})
	}
	invs, err := e.db(ws).ListPendingInvites(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != 0 {
		t.Errorf("pending invites after refused posts: got %d, want 0", len(invs))
	}
}

// TestLoginThrottled: repeated failures for one account get a clear 429.
func TestLoginThrottled(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.workspace("acme")
	br := e.browser()
	var last response
	for range 12 {
		last = br.post("acme", "/login", url.Values{"email": {"admin@acme.example"}, "password": {"wrong password!"}})
	}
	if last.Status != http.StatusTooManyRequests || !strings.Contains(last.Body, "Too many sign-in attempts") {
		t.Fatalf("got %d, want 429 too many attempts", last.Status)
	}
	// Even the right password waits until the budget refills.
	if res := br.post("acme", "/login", url.Values{"email": {"admin@acme.example"}, "password": {"correct horse battery"}}); res.Status != http.StatusTooManyRequests {
		t.Errorf("right password while throttled: got %d, want 429", res.Status)
	}
	e.clock.Advance(time.Minute)
	br.login("acme", "admin@acme.example", "correct horse battery")
}

// TestSignupThrottled: one address may create a few workspaces, then waits.
func TestSignupThrottled(t *testing.T) {
	t.Parallel()
	e := setup(t)
	br := e.browser()
	form := func(slug string) url.Values {
		return url.Values{"name": {"Co"}, "slug": {slug}, "admin_name": {"Ann"}, "email": {"ann@co.example"}, "password": {"long enough pw"}}
	}
	for i := range 5 {
		if res := br.post("", "/signup", form(fmt.Sprintf("co-%d", i))); res.Status != http.StatusSeeOther {
			t.Fatalf("sign-up %d: got %d, want 303", i, res.Status)
		}
	}
	res := br.post("", "/signup", form("co-6"))
	if res.Status != http.StatusTooManyRequests || !strings.Contains(res.Body, "Too many workspaces") {
		t.Errorf("sixth sign-up: got %d, want 429", res.Status)
	}
	e.clock.Advance(11 * time.Minute)
	if res := br.post("", "/signup", form("co-7")); res.Status != http.StatusSeeOther {
		t.Errorf("after waiting: got %d, want 303", res.Status)
	}
}
