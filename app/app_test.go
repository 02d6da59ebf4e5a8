package app_test

import (
	"strings"
	"testing"
	"time"

	"parley/app"
)

func TestValidateSlug(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		slug string
		ok   bool
	}{
		{"acme", true}, {"a1b", true}, {"acme-corp", true}, {strings.Repeat("a", 40), true},
		{"ab", false}, {strings.Repeat("a", 41), false}, {"Acme", false}, {"acme_corp", false},
		{"-acme", false}, {"acme-", false}, {"ac--me", false}, {"www", false}, {"api", false},
		{"admin", false}, {"help", false}, {"static", false}, {"app", false}, {"acme.corp", false},
	} {
		err := app.ValidateSlug(tt.slug)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateSlug(%q): got %v, want ok=%v", tt.slug, err, tt.ok)
		}
		if err != nil && (app.ErrorCode(err) != app.EINVALID || len(app.ErrorFields(err)) != 1 || app.ErrorFields(err)[0].Field != "slug") {
			t.Errorf("ValidateSlug(%q): got %#v, want one EINVALID field error on slug", tt.slug, err)
		}
	}
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		role app.Role
		perm app.Permission
		want bool
	}{
		{app.RoleAdmin, app.PermManageTeam, true},
		{app.RoleAdmin, app.PermManageRetention, true},
		{app.RoleLead, app.PermManageTeam, false},
		{app.RoleLead, app.PermViewAudit, true},
		{app.RoleLead, app.PermViewAllConversations, true},
		{app.RoleAgent, app.PermViewAudit, false},
		{app.RoleAgent, app.PermWorkConversations, true},
		{app.RoleAgent, app.PermManageTemplates, false},
		{app.RoleSales, app.PermManageClients, true},
		{app.RoleSales, app.PermViewAllConversations, false},
		{app.RoleSales, app.PermManageTokens, false},
		{app.Role("owner"), app.PermViewClients, false},
	} {
		if got := tt.role.Can(tt.perm); got != tt.want {
			t.Errorf("%s.Can(%s): got %v, want %v", tt.role, tt.perm, got, tt.want)
		}
	}
	deactivated := &app.User{Role: app.RoleAdmin, Status: app.UserDeactivated}
	if deactivated.Can(app.PermViewClients) {
		t.Error("a deactivated admin can still act")
	}
	var nobody *app.User
	if nobody.Can(app.PermViewClients) {
		t.Error("a nil user can act")
	}
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h, err := app.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q is not argon2id with the expected parameters", h)
	}
	if !app.CheckPassword(h, "correct horse battery") {
		t.Error("right password refused")
	}
	for _, wrong := range []string{"", "correct horse batter", "Correct horse battery"} {
		if app.CheckPassword(h, wrong) {
			t.Errorf("wrong password %q accepted", wrong)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=x$y$z", "$bcrypt$..."} {
		if app.CheckPassword(bad, "anything") {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
	if h2, _ := app.HashPassword("correct horse battery"); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
	if app.CheckPasswordOrDummy("", "anything") {
		t.Error("empty hash accepted")
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	a, b := app.NewSecret(app.TokenPrefix), app.NewSecret(app.TokenPrefix)
	if a == b || !strings.HasPrefix(a, "prl_") || len(a) < 50 {
		t.Errorf("secrets %q and %q: want distinct, prefixed, 256-bit", a, b)
	}
	if app.HashSecret(a) == app.HashSecret(b) || len(app.HashSecret(a)) != 64 {
		t.Error("secret hashes are not distinct SHA-256 hex")
	}
}

func TestInviteUsable(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	used := now.Add(-time.Hour)
	for _, tt := range []struct {
		name string
		inv  app.Invite
		want string
	}{
		{"OK", app.Invite{ExpiresAt: now.Add(time.Hour)}, ""},
		{"ErrExpired", app.Invite{ExpiresAt: now}, "expired"},
		{"ErrUsed", app.Invite{ExpiresAt: now.Add(time.Hour), AcceptedAt: &used}, "already been used"},
		{"ErrRevoked", app.Invite{ExpiresAt: now.Add(time.Hour), RevokedAt: &used}, "withdrawn"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.inv.Usable(now)
			if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(app.ErrorMessage(err), tt.want)) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestValidateMessages(t *testing.T) {
	t.Parallel()
	err := app.Validate(app.NewUser{Email: "nope", Name: "", Password: "short", Role: "king"})
	got := map[string]string{}
	for _, f := range app.ErrorFields(err) {
		got[f.Field] = f.Message
	}
	want := map[string]string{"email": "valid email", "name": "required", "password": "at least 10", "role": "one of"}
	for field, part := range want {
		if !strings.Contains(got[field], part) {
			t.Errorf("field %s: got %q, want it to contain %q", field, got[field], part)
		}
	}
}
