package tenantdb_test

import (
	"context"
	"database/sql"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// refusedMessage is the neutral answer to a domain that cannot be used, as
// the base domain gets it.
func refusedMessage(t *testing.T) string {
	t.Helper()
	_, err := tenantdb.NormalizeDomain("parley.example", "parley.example")
	if err == nil {
		t.Fatal("the base domain was accepted")
	}
	return app.ErrorMessage(err)
}

// TestNormalizeDomain checks what a custom domain may be, and its stored
// form.
func TestNormalizeDomain(t *testing.T) {
	t.Parallel()
	refused := refusedMessage(t)
	for _, tt := range []struct {
		name, in, want string
		wantErr        string // part of the message; "refused" is the neutral refusal
	}{
		{name: "OK", in: "help.acme.com", want: "help.acme.com"},
		{name: "OKLowerCased", in: "  Help.ACME.com ", want: "help.acme.com"},
		{name: "OKTrailingDot", in: "help.acme.com.", want: "help.acme.com"},
		{name: "OKUnicodeToPunycode", in: "hilfe.bücher.example", want: "hilfe.xn--bcher-kva.example"},
		{name: "OKPunycodeKept", in: "xn--bcher-kva.example", want: "xn--bcher-kva.example"},
		{name: "OKFullwidthMapped", in: "ｈｅｌｐ.acme.com", want: "help.acme.com"},
		{name: "OKApexDomain", in: "acme.com", want: "acme.com"},
		{name: "OKLookalikeOfBase", in: "notparley.example", want: "notparley.example"},
		{name: "ErrEmpty", in: "  ", wantErr: "Enter a domain"},
		{name: "ErrURL", in: "https://help.acme.com", wantErr: "without http://"},
		{name: "ErrPath", in: "help.acme.com/help", wantErr: "without http:// or a path"},
		{name: "ErrQuery", in: "help.acme.com?x=1", wantErr: "a path"},
		{name: "ErrPort", in: "help.acme.com:8443", wantErr: "without a port"},
		{name: "ErrWildcard", in: "*.acme.com", wantErr: "Wildcards"},
		{name: "ErrSpace", in: "help acme.com", wantErr: "letters, digits"},
		{name: "ErrEmail", in: "me@acme.com", wantErr: "letters, digits"},
		{name: "ErrUnderscore", in: "help_desk.acme.com", wantErr: "not a valid domain"},
		{name: "ErrLeadingHyphen", in: "-help.acme.com", wantErr: "not a valid domain"},
		{name: "ErrEmptyLabel", in: "help..acme.com", wantErr: "not a valid domain"},
		{name: "ErrLabelTooLong", in: strings.Repeat("a", 64) + ".acme.com", wantErr: "not a valid domain"},
		{name: "ErrSingleLabel", in: "intranet", wantErr: "full domain"},
		{name: "ErrIPv4", in: "192.0.2.10", wantErr: "refused"},
		{name: "ErrIPv4WithPort", in: "192.0.2.10:80", wantErr: "refused"},
		{name: "ErrIPv6", in: "[2001:db8::1]", wantErr: "refused"},
		{name: "ErrIPv6Bare", in: "2001:db8::1", wantErr: "refused"},
		{name: "ErrNumericTLD", in: "010.0.0.1", wantErr: "refused"},
		{name: "ErrLocalhost", in: "localhost", wantErr: "full domain"},
		{name: "ErrLocalhostSubdomain", in: "help.localhost", wantErr: "refused"},
		{name: "ErrLocalName", in: "printer.local", wantErr: "refused"},
		{name: "ErrInternalName", in: "wiki.corp.internal", wantErr: "refused"},
		{name: "ErrBaseDomain", in: "Parley.Example", wantErr: "refused"},
		{name: "ErrBaseSubdomain", in: "acme.parley.example", wantErr: "refused"},
		{name: "ErrBaseDeepSubdomain", in: "help.acme.parley.example", wantErr: "refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tenantdb.NormalizeDomain(tt.in, "parley.example")
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			want := tt.wantErr
			if want == "refused" {
				want = refused
			}
			if err == nil || !strings.Contains(app.ErrorMessage(err), want) {
				t.Fatalf("got %q, %v; want an error saying %q", got, err, want)
			}
			if fs := app.ErrorFields(err); len(fs) != 1 || fs[0].Field != "domain" {
				t.Errorf("fields: got %+v, want one on domain", fs)
			}
		})
	}
	if got := tenantdb.DisplayDomain("hilfe.xn--bcher-kva.example"); got != "hilfe.bücher.example" {
		t.Errorf("DisplayDomain: got %q", got)
	}
}

// fakeDNS answers TXT lookups from a map; a name missing from it does not
// exist, and fail makes every lookup fail as a broken resolver does.
type fakeDNS struct {
	records map[string][]string
	fail    bool
	asked   []string
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.asked = append(f.asked, name)
	if f.fail {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if v, ok := f.records[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// TestDomainVerification walks a workspace's own domain from added to
// verified to removed: served only while verified, with every refusal
// on the way changing nothing.
func TestDomainVerification(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	ctx := context.Background()
	acme := f.provision(t, "acme")

	d, err := f.control.AddDomain(ctx, acme.ID, " Help.Acme.example ", "parley.example")
	if err != nil {
		t.Fatal(err)
	}
	if d.Domain != "help.acme.example" || d.Verified() || len(d.Token) != 32 || d.TenantSlug != "acme" ||
		d.ChallengeName() != "_parley-challenge.help.acme.example" || !d.CreatedAt.Equal(f.clock()) {
		t.Fatalf("added: %+v", d)
	}
	served := func(t *testing.T, want bool) {
		t.Helper()
		got, err := f.control.TenantByDomain(ctx, "help.acme.example")
		switch {
		case want && (err != nil || got.ID != acme.ID):
			t.Errorf("not served: %v, %v", got, err)
		case !want && app.ErrorCode(err) != app.ENOTFOUND:
			t.Errorf("served before it is verified: %v, %v", got, err)
		}
		canonical, err := f.control.DomainOf(ctx, acme.ID)
		if err != nil || (canonical == "help.acme.example") != want {
			t.Errorf("DomainOf: got %q, %v; want served %v", canonical, err, want)
		}
	}
	served(t, false)

	dns := &fakeDNS{records: map[string][]string{}}
	for _, tt := range []struct {
		name     string
		records  []string
		fail     bool
		wantCode string
		wantText string
	}{
		{name: "ErrNoRecord", wantCode: app.EINVALID, wantText: "No TXT record was found at _parley-challenge.help.acme.example"},
		{name: "ErrWrongToken", records: []string{"v=spf1 -all", "0123456789abcdef"}, wantCode: app.EINVALID, wantText: "holds “v=spf1 -all”"},
		{name: "ErrResolverFails", fail: true, wantCode: app.EUNAVAILABLE, wantText: "did not work just now"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dns.fail = tt.fail
			delete(dns.records, d.ChallengeName())
			if tt.records != nil {
				dns.records[d.ChallengeName()] = tt.records
			}
			_, changed, err := f.control.VerifyDomain(ctx, acme.ID, "help.acme.example", dns.LookupTXT)
			if app.ErrorCode(err) != tt.wantCode || !strings.Contains(app.ErrorMessage(err), tt.wantText) || changed {
				t.Errorf("got %v (%s), changed %v; want %s saying %q", err, app.ErrorCode(err), changed, tt.wantCode, tt.wantText)
			}
			served(t, false)
		})
	}
	if got := dns.asked; len(got) != 3 || got[0] != "_parley-challenge.help.acme.example" {
		t.Errorf("names looked up: %v", got)
	}

	dns.fail = false
	dns.records[d.ChallengeName()] = []string{"something else", `"` + d.Token + `"`}
	f.advance(time.Hour)
	v, changed, err := f.control.VerifyDomain(ctx, acme.ID, "HELP.acme.example", dns.LookupTXT)
	if err != nil || !changed || v.VerifiedAt == nil || !v.VerifiedAt.Equal(f.clock()) {
		t.Fatalf("verify: %+v, changed %v, %v", v, changed, err)
	}
	served(t, true)
	// Verifying again changes nothing and asks no DNS.
	asked := len(dns.asked)
	if _, changed, err := f.control.VerifyDomain(ctx, acme.ID, "help.acme.example", dns.LookupTXT); err != nil || changed || len(dns.asked) != asked {
		t.Errorf("verify again: changed %v, %v, %d lookups", changed, err, len(dns.asked)-asked)
	}

	if _, err := f.control.RemoveDomain(ctx, acme.ID, "help.acme.example"); err != nil {
		t.Fatal(err)
	}
	served(t, false)
	if _, err := f.control.RemoveDomain(ctx, acme.ID, "help.acme.example"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("remove twice: got %v, want not found", err)
	}
	// Added again, it has a new token: the old record proves nothing.
	again, err := f.control.AddDomain(ctx, acme.ID, "help.acme.example", "parley.example")
	if err != nil || again.Token == d.Token || again.Verified() {
		t.Fatalf("added again: %+v, %v", again, err)
	}
	if _, _, err := f.control.VerifyDomain(ctx, acme.ID, "help.acme.example", dns.LookupTXT); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("the old token verified the new claim: %v", err)
	}
}

// TestDomainClaims checks domains between workspaces: a pending claim
// blocks nobody, a verified one blocks everyone else with the neutral
// refusal, and the limits.
func TestDomainClaims(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	ctx := context.Background()
	acme, globex, initech := f.provision(t, "acme"), f.provision(t, "globex"), f.provision(t, "initech")
	refused := refusedMessage(t)
	const base = "parley.example"

	// A squatter's pending claim does not stop the owner.
	squat, err := f.control.AddDomain(ctx, globex.ID, "help.acme.example", base)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := f.control.AddDomain(ctx, acme.ID, "help.acme.example", base)
	if err != nil {
		t.Fatalf("a pending claim blocked the owner: %v", err)
	}
	if squat.Token == mine.Token {
		t.Fatal("two claims share a token")
	}
	if _, err := f.control.AddDomain(ctx, acme.ID, "HELP.acme.example", base); app.ErrorCode(err) != app.EINVALID ||
		!strings.Contains(app.ErrorMessage(err), "already on your list") {
		t.Errorf("own duplicate: got %v", err)
	}
	// The squatter cannot verify with the owner's DNS, which holds the
	// owner's token only.
	dns := &fakeDNS{records: map[string][]string{mine.ChallengeName(): {mine.Token}}}
	if _, _, err := f.control.VerifyDomain(ctx, globex.ID, "help.acme.example", dns.LookupTXT); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("squatter verified: %v", err)
	}
	if _, _, err := f.control.VerifyDomain(ctx, acme.ID, "help.acme.example", dns.LookupTXT); err != nil {
		t.Fatal(err)
	}
	// Once verified, the domain is refused to everyone else in the same
	// words as the base domain, and a pending claim can no longer win.
	if _, err := f.control.AddDomain(ctx, initech.ID, "help.acme.example", base); app.ErrorMessage(err) != refused {
		t.Errorf("verified elsewhere: got %v, want the neutral refusal", err)
	}
	dns.records[squat.ChallengeName()] = []string{mine.Token, squat.Token}
	if _, _, err := f.control.VerifyDomain(ctx, globex.ID, "help.acme.example", dns.LookupTXT); app.ErrorMessage(err) != refused {
		t.Errorf("second verification: got %v, want the neutral refusal", err)
	}
	if got, _ := f.control.TenantByDomain(ctx, "help.acme.example"); got == nil || got.ID != acme.ID {
		t.Errorf("served for %v, want acme", got)
	}
	// Another workspace's domain cannot be removed or seen through acme's.
	if _, err := f.control.RemoveDomain(ctx, initech.ID, "help.acme.example"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("remove another's: got %v, want not found", err)
	}
	if _, err := f.control.TenantDomain(ctx, initech.ID, "help.acme.example"); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("read another's: got %v, want not found", err)
	}

	t.Run("Limit", func(t *testing.T) {
		for i := range tenantdb.MaxTenantDomains {
			if _, err := f.control.AddDomain(ctx, initech.ID, "d"+string(rune('a'+i))+".initech.example", base); err != nil {
				t.Fatal(err)
			}
		}
		_, err := f.control.AddDomain(ctx, initech.ID, "one-more.initech.example", base)
		if app.ErrorCode(err) != app.EINVALID || !strings.Contains(app.ErrorMessage(err), "up to 10") {
			t.Errorf("got %v, want the limit", err)
		}
	})

	t.Run("OperatorMap", func(t *testing.T) {
		// MapDomain verifies at once, and turns a pending claim verified.
		if err := f.control.MapDomain(ctx, globex.ID, "support.globex.example"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.control.AddDomain(ctx, globex.ID, "shop.globex.example", base); err != nil {
			t.Fatal(err)
		}
		if err := f.control.MapDomain(ctx, globex.ID, "shop.globex.example"); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"support.globex.example", "shop.globex.example"} {
			if got, err := f.control.TenantByDomain(ctx, d); err != nil || got.ID != globex.ID {
				t.Errorf("%s: %v, %v", d, got, err)
			}
		}
		// Twice is fine; a domain served elsewhere is refused, plainly.
		if err := f.control.MapDomain(ctx, globex.ID, "shop.globex.example"); err != nil {
			t.Errorf("map twice: %v", err)
		}
		if err := f.control.MapDomain(ctx, globex.ID, "help.acme.example"); app.ErrorCode(err) != app.ECONFLICT {
			t.Errorf("map another's: got %v, want a conflict", err)
		}
		if err := f.control.MapDomain(ctx, globex.ID, "http://x.example/"); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("map a URL: got %v", err)
		}
	})

	t.Run("OperatorUnmapAndList", func(t *testing.T) {
		all, err := f.control.Domains(ctx, tenantdb.DomainFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var acmeHelp []string
		for _, d := range all {
			if d.Domain == "help.acme.example" {
				acmeHelp = append(acmeHelp, d.TenantSlug+":"+map[bool]string{true: "verified", false: "pending"}[d.Verified()])
			}
		}
		if strings.Join(acmeHelp, ",") != "acme:verified,globex:pending" {
			t.Errorf("claims of help.acme.example: %v", acmeHelp)
		}
		id := globex.ID
		own, err := f.control.Domains(ctx, tenantdb.DomainFilter{TenantID: &id})
		if err != nil || len(own) != 3 {
			t.Errorf("globex's domains: %d, %v", len(own), err)
		}
		removed, err := f.control.UnmapDomain(ctx, "Help.Acme.Example")
		if err != nil || len(removed) != 2 || removed[0].TenantSlug != "acme" || removed[1].TenantSlug != "globex" {
			t.Fatalf("unmap: %+v, %v", removed, err)
		}
		if _, err := f.control.TenantByDomain(ctx, "help.acme.example"); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("still served after unmap: %v", err)
		}
		if _, err := f.control.UnmapDomain(ctx, "help.acme.example"); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("unmap twice: got %v, want not found", err)
		}
	})
}

// TestDomainEvent checks a domain change lands in the workspace's own log.
func TestDomainEvent(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	ctx := context.Background()
	acme := f.provision(t, "acme")
	db, release, err := f.tenants.Acquire(ctx, acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := db.RecordDomainEvent(ctx, app.EventDomainVerified, "help.acme.example", app.CLIActor, map[string]any{"by": "operator"}); err != nil {
		t.Fatal(err)
	}
	typ := app.EventDomainVerified
	evs, err := db.ListEvents(ctx, app.EventFilter{Type: &typ})
	if err != nil || len(evs) != 1 {
		t.Fatalf("events: %v, %v", evs, err)
	}
	ev := evs[0]
	if ev.AggregateType != "custom_domain" || ev.AggregateID != "help.acme.example" || ev.Actor.Type != app.ActorCLI ||
		!strings.Contains(string(ev.Payload), `"by":"operator"`) || !strings.Contains(string(ev.Payload), `"domain":"help.acme.example"`) {
		t.Errorf("event: %+v %s", ev, ev.Payload)
	}
}

// TestDomainMigration checks a control DB from before verification keeps
// serving the domains the operator had mapped, each with a token.
func TestDomainMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "control.db")
	schema, err := os.ReadFile("migrations/control/0001_tenants.sql")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	mapped := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, q := range []string{string(schema),
		`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at DATETIME NOT NULL)`,
		`INSERT INTO schema_migrations VALUES ('migrations/control/0001_tenants.sql', '2026-01-01 00:00:00')`,
		`INSERT INTO tenants (id, slug, name, created_at) VALUES ('t1', 'acme', 'Acme', '2026-01-01 00:00:00')`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO custom_domains (domain, tenant_id, created_at) VALUES ('help.acme.example', 't1', ?)`, mapped); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	c, err := tenantdb.OpenControl(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := c.TenantByDomain(ctx, "help.acme.example"); err != nil || got.Slug != "acme" {
		t.Fatalf("after migration: %v, %v", got, err)
	}
	ds, err := c.Domains(ctx, tenantdb.DomainFilter{})
	if err != nil || len(ds) != 1 || len(ds[0].Token) != 32 || ds[0].VerifiedAt == nil || !ds[0].VerifiedAt.Equal(mapped) {
		t.Errorf("migrated domain: %+v, %v", ds, err)
	}
}
