package web_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"

	"parley/app"
	"parley/app/web"
	"parley/tenantdb"
)

// fakeDNS answers the server's TXT lookups: a name missing from records
// does not exist, and fail breaks every lookup as a dead resolver does.
type fakeDNS struct {
	mu      sync.Mutex
	records map[string][]string
	fail    bool
}

func (f *fakeDNS) set(name string, values []string, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if values == nil {
		delete(f.records, name)
	} else {
		f.records[name] = values
	}
	f.fail = fail
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if v, ok := f.records[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// domainEnv is a server whose DNS is fake, with acme (admin, lead, agent)
// and globex, which is served on help.globex.example.
type domainEnv struct {
	e                   *env
	dns                 *fakeDNS
	acme                *tenantdb.Workspace
	admin, lead, agent  *browser
	adminAPI, agentAPI  apiClient
	neutralRefusalWords string
}

func domainSetup(t *testing.T) *domainEnv {
	t.Helper()
	dns := &fakeDNS{records: map[string][]string{}}
	e := setup(t, func(c *web.Config) { c.LookupTXT = dns.LookupTXT })
	d := &domainEnv{e: e, dns: dns, acme: e.workspace("acme")}
	globex := e.workspace("globex")
	ctx := context.Background()
	if err := e.control.MapDomain(ctx, globex.Tenant.ID, "help.globex.example"); err != nil {
		t.Fatal(err)
	}
	db := e.db(d.acme)
	for _, u := range []app.NewUser{
		{Email: "lead@acme.example", Name: "Lead", Password: "a good long password", Role: app.RoleLead},
		{Email: "agent@acme.example", Name: "Agent", Password: "a good long password", Role: app.RoleAgent},
	} {
		if _, err := db.CreateUser(ctx, u, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	d.admin, d.lead, d.agent = e.browser(), e.browser(), e.browser()
	d.admin.login("acme", "admin@acme.example", "correct horse battery")
	d.lead.login("acme", "lead@acme.example", "a good long password")
	d.agent.login("acme", "agent@acme.example", "a good long password")
	d.adminAPI, d.agentAPI = e.apiClient(d.acme, app.RoleAdmin), e.apiClient(d.acme, app.RoleAgent)
	_, err := tenantdb.NormalizeDomain("192.0.2.1", "")
	d.neutralRefusalWords = app.ErrorMessage(err)
	return d
}

// domains returns acme's domains as stored: name → verified.
func (d *domainEnv) domains(t *testing.T) map[string]bool {
	t.Helper()
	ds, err := d.e.control.Domains(context.Background(), tenantdb.DomainFilter{TenantID: &d.acme.Tenant.ID})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, x := range ds {
		out[x.Domain] = x.Verified()
	}
	return out
}

// token returns the verification value acme's page shows for domain.
func (d *domainEnv) token(t *testing.T, domain string) string {
	t.Helper()
	doc := d.admin.get("acme", "/settings/portal").Doc(t)
	row := doc.Find(`[data-testid=domain-row][data-domain="` + domain + `"]`)
	if row.Length() != 1 {
		t.Fatalf("no row for %s", domain)
	}
	return strings.TrimSpace(row.Find("[data-testid=domain-txt-value]").Text())
}

// TestPortalDomainSettings drives custom domains in Settings → Help center
// & portal: adding (and what is refused, in the form, changing nothing),
// verifying by DNS (served on the domain only then), removing, who may,
// and the audit log.
func TestPortalDomainSettings(t *testing.T) {
	t.Parallel()
	d := domainSetup(t)
	e := d.e

	t.Run("EmptyPageExplains", func(t *testing.T) {
		doc := d.admin.get("acme", "/settings/portal").Doc(t)
		if doc.Find("[data-testid=no-domains]").Length() != 1 || doc.Find("[data-testid=add-domain-form] input[name=domain]").Length() != 1 {
			t.Error("no empty state or no form to add a domain")
		}
		steps := doc.Find("[data-testid=dns-instructions]").Text()
		for _, want := range []string{"TXT", "CNAME", "acme.parley.test", "HTTPS", "operator"} {
			if !strings.Contains(steps, want) {
				t.Errorf("instructions lack %q: %q", want, steps)
			}
		}
	})

	for _, tt := range []struct {
		name, domain string
		wantText     string // "" is the neutral refusal
	}{
		{"ErrEmpty", " ", "Enter a domain"},
		{"ErrURL", "https://help.acme.example/help", "without http://"},
		{"ErrPort", "help.acme.example:8443", "without a port"},
		{"ErrWildcard", "*.acme.example", "Wildcards"},
		{"ErrInvalidName", "help_desk.acme.example", "not a valid domain"},
		{"ErrIPAddress", "192.0.2.7", ""},
		{"ErrLocalhost", "help.localhost", ""},
		{"ErrBaseDomain", "parley.test", ""},
		{"ErrOtherWorkspaceHost", "globex.parley.test", ""},
		{"ErrTakenByOtherWorkspace", "Help.Globex.example", ""},
	} {
		t.Run("Add/"+tt.name, func(t *testing.T) {
			res := d.admin.post("acme", "/settings/portal/domains", url.Values{"domain": {tt.domain}})
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("got %d, want 422; body %s", res.Status, snippet(res.Body))
			}
			want := tt.wantText
			if want == "" {
				want = d.neutralRefusalWords
			}
			if got := res.Text(t, "[data-testid=error-domain]"); !strings.Contains(got, want) {
				t.Errorf("error: got %q, want it to say %q", got, want)
			}
			if tt.wantText == "" && strings.Contains(strings.ToLower(res.Body), "globex inc") {
				t.Error("the refusal names the workspace that uses the domain")
			}
			doc := res.Doc(t)
			if v := doc.Find("input[name=domain]").AttrOr("value", "?"); v != tt.domain {
				t.Errorf("the form lost what was typed: got %q, want %q", v, tt.domain)
			}
			if _, ok := doc.Find("input[name=domain]").Attr("aria-invalid"); !ok {
				t.Error("the input is not marked invalid")
			}
			if n := len(d.domains(t)); n != 0 {
				t.Errorf("a refused domain was added: %v", d.domains(t))
			}
		})
	}

	t.Run("Access", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			b    *browser
			path string
			want int
		}{
			{"ErrAgentCannotAdd", d.agent, "/settings/portal/domains", 403},
			{"ErrLeadCannotAdd", d.lead, "/settings/portal/domains", 403},
			{"ErrAnonymousSignIn", e.browser(), "/settings/portal/domains", 303},
			{"ErrAgentCannotVerify", d.agent, "/settings/portal/domains/help.globex.example/verify", 403},
			{"ErrAgentCannotRemove", d.agent, "/settings/portal/domains/help.globex.example/delete", 403},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res := tt.b.post("acme", tt.path, url.Values{"domain": {"help.acme.example"}})
				if res.Status != tt.want {
					t.Errorf("got %d, want %d", res.Status, tt.want)
				}
			})
		}
		if n := len(d.domains(t)); n != 0 {
			t.Errorf("someone without the permission added a domain: %v", d.domains(t))
		}
	})

	const domain = "help.acme.example"
	t.Run("Add", func(t *testing.T) {
		res := d.admin.post("acme", "/settings/portal/domains", url.Values{"domain": {" Help.ACME.example "}})
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/settings/portal#domains" {
			t.Fatalf("got %d → %q; body %s", res.Status, res.Header.Get("Location"), snippet(res.Body))
		}
		if got := d.domains(t); len(got) != 1 || got[domain] {
			t.Fatalf("stored: %v, want %s pending", got, domain)
		}
		page := d.admin.get("acme", "/settings/portal")
		if got := page.Text(t, "[data-testid=domain-notice]"); !strings.Contains(got, domain+" added") {
			t.Errorf("notice: got %q", got)
		}
		doc := page.Doc(t)
		row := doc.Find(`[data-testid=domain-row][data-domain="` + domain + `"]`)
		for sel, want := range map[string]string{
			"[data-testid=domain-name]":         domain,
			"[data-testid=domain-txt-name]":     "_parley-challenge." + domain,
			"[data-testid=domain-cname-name]":   domain,
			"[data-testid=domain-cname-target]": "acme.parley.test",
		} {
			if got := strings.TrimSpace(row.Find(sel).Text()); got != want {
				t.Errorf("%s: got %q, want %q", sel, got, want)
			}
		}
		if tok := d.token(t, domain); len(tok) != 32 {
			t.Errorf("token shown: %q", tok)
		}
		if !strings.Contains(row.Text(), "Not verified") || row.Find("[data-testid=verify-domain]").Length() != 1 {
			t.Error("a pending domain is not marked so, or has no Verify button")
		}
		// The notice is shown once.
		if strings.Contains(d.admin.get("acme", "/settings/portal").Body, "added. Create") {
			t.Error("the notice is shown twice")
		}
	})

	t.Run("ErrAddTwice", func(t *testing.T) {
		res := d.admin.post("acme", "/settings/portal/domains", url.Values{"domain": {domain}})
		if res.Status != 422 || !strings.Contains(res.Text(t, "[data-testid=error-domain]"), "already on your list") {
			t.Errorf("got %d %q", res.Status, res.Text(t, "[data-testid=error-domain]"))
		}
	})

	anon := e.browser()
	if res := anon.getOn(domain, "/help"); res.Status != http.StatusNotFound {
		t.Fatalf("served before it is verified: %d", res.Status)
	}
	token := d.token(t, domain)
	challenge := "_parley-challenge." + domain
	verifyPath := "/settings/portal/domains/" + domain + "/verify"
	for _, tt := range []struct {
		name       string
		records    []string
		fail       bool
		path       string
		wantStatus int
		wantText   string
	}{
		{name: "ErrNoRecord", wantStatus: 422, wantText: "No TXT record was found at " + challenge},
		{name: "ErrWrongToken", records: []string{"google-site-verification=abc"}, wantStatus: 422, wantText: "google-site-verification=abc"},
		{name: "ErrWrongTokenEscaped", records: []string{`<script>alert(1)</script>`}, wantStatus: 422, wantText: "<script>alert(1)</script>"},
		{name: "ErrResolverFails", fail: true, records: []string{token}, wantStatus: 503, wantText: "did not work just now"},
		{name: "ErrUnknownDomain", records: []string{token}, path: "/settings/portal/domains/help.other.example/verify", wantStatus: 404},
		{name: "ErrOtherWorkspacesDomain", records: []string{token}, path: "/settings/portal/domains/help.globex.example/verify", wantStatus: 404},
	} {
		t.Run("Verify/"+tt.name, func(t *testing.T) {
			d.dns.set(challenge, tt.records, tt.fail)
			path := tt.path
			if path == "" {
				path = verifyPath
			}
			res := d.admin.post("acme", path, nil)
			if res.Status != tt.wantStatus {
				t.Fatalf("got %d, want %d; body %s", res.Status, tt.wantStatus, snippet(res.Body))
			}
			if tt.wantText != "" {
				got := res.Doc(t).Find(`[data-testid=domain-row][data-domain="` + domain + `"] [data-testid=verify-error]`)
				if !strings.Contains(got.Text(), tt.wantText) {
					t.Errorf("error next to the domain: got %q, want %q", got.Text(), tt.wantText)
				}
				if got.AttrOr("role", "") != "alert" {
					t.Error("the error is not announced")
				}
				if strings.Contains(res.Body, "<script>alert(1)") {
					t.Error("a DNS record's value was not escaped")
				}
			}
			if d.domains(t)[domain] {
				t.Fatal("verified by a failed check")
			}
			if res := anon.getOn(domain, "/help"); res.Status != http.StatusNotFound {
				t.Errorf("served on the domain after a failed check: %d", res.Status)
			}
		})
	}

	t.Run("Verify/OK", func(t *testing.T) {
		d.dns.set(challenge, []string{"v=spf1 -all", token}, false)
		res := d.admin.post("acme", verifyPath, nil)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("got %d; body %s", res.Status, snippet(res.Body))
		}
		if !d.domains(t)[domain] {
			t.Fatal("not verified")
		}
		page := d.admin.get("acme", "/settings/portal")
		if !strings.Contains(page.Text(t, "[data-testid=domain-notice]"), "is verified") {
			t.Error("no notice after verifying")
		}
		row := page.Doc(t).Find(`[data-testid=domain-row][data-domain="` + domain + `"]`)
		if !strings.Contains(row.Text(), "Verified") || row.Find("[data-testid=domain-records]").Length() != 0 {
			t.Errorf("verified row: %q", row.Text())
		}
		pub := anon.getOn(domain, "/help")
		if pub.Status != http.StatusOK || !strings.Contains(pub.Body, "Acme Inc") {
			t.Errorf("not served on the domain once verified: %d", pub.Status)
		}
		if res := anon.getOn(domain, "/inbox"); res.Status != http.StatusNotFound {
			t.Errorf("the team app on the custom domain: %d", res.Status)
		}
		// Again: nothing changes, no second event.
		if res := d.admin.post("acme", verifyPath, nil); res.Status != http.StatusSeeOther {
			t.Errorf("verify again: %d", res.Status)
		}
	})

	t.Run("Remove", func(t *testing.T) {
		if res := d.agent.post("acme", "/settings/portal/domains/"+domain+"/delete", nil); res.Status != 403 {
			t.Fatalf("agent removed: %d", res.Status)
		}
		res := d.admin.post("acme", "/settings/portal/domains/"+domain+"/delete", nil)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("got %d; body %s", res.Status, snippet(res.Body))
		}
		if len(d.domains(t)) != 0 {
			t.Errorf("still stored: %v", d.domains(t))
		}
		if res := anon.getOn(domain, "/help"); res.Status != http.StatusNotFound {
			t.Errorf("still served after removal: %d", res.Status)
		}
		if res := d.admin.post("acme", "/settings/portal/domains/"+domain+"/delete", nil); res.Status != http.StatusNotFound {
			t.Errorf("remove twice: got %d, want 404", res.Status)
		}
		if res := d.admin.post("acme", "/settings/portal/domains/help.globex.example/delete", nil); res.Status != http.StatusNotFound {
			t.Errorf("remove another workspace's: got %d, want 404", res.Status)
		}
		if res := anon.getOn("help.globex.example", "/help"); res.Status != http.StatusOK {
			t.Errorf("globex's domain stopped: %d", res.Status)
		}
	})

	t.Run("AuditLog", func(t *testing.T) {
		evs, err := e.db(d.acme).ListEvents(context.Background(), app.EventFilter{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range evs {
			if ev.AggregateType == "custom_domain" {
				got = append(got, ev.Type+":"+ev.AggregateID+":"+ev.Actor.Name)
			}
		}
		want := "CustomDomainRemoved:help.acme.example:Admin of acme,CustomDomainVerified:help.acme.example:Admin of acme,CustomDomainAdded:help.acme.example:Admin of acme"
		if strings.Join(got, ",") != want {
			t.Errorf("events: got %v, want %s", got, want)
		}
	})
}

// TestPortalDomainAPI checks /api/v1/settings/portal/domains against
// openapi.json: add, the refusals, verify with the fake DNS, serve, remove,
// and that only admins may.
func TestPortalDomainAPI(t *testing.T) {
	t.Parallel()
	d := domainSetup(t)
	ctx := context.Background()
	a := d.adminAPI
	spec, err := openapi3.NewLoader().LoadFromData([]byte(a.call("GET", "/api/v1/openapi.json", nil).Body))
	if err != nil {
		t.Fatal(err)
	}
	if err := spec.Validate(ctx); err != nil {
		t.Fatalf("openapi.json is not valid: %v", err)
	}
	router, err := legacyrouter.NewRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, c apiClient, method, path string, body any, want int) response {
		t.Helper()
		res := c.call(method, path, body)
		if res.Status != want {
			t.Fatalf("%s %s: got %d, want %d; body %s", method, path, res.Status, want, snippet(res.Body))
		}
		if err := validateExchange(ctx, router, c, method, path, body, res); err != nil {
			t.Errorf("%s %s → %d does not conform to openapi.json: %v", method, path, res.Status, err)
		}
		return res
	}
	type domainRes struct {
		Domain  string `json:"domain"`
		Display string `json:"display"`
		Status  string `json:"status"`
		Records []struct {
			Type, Name, Value string
		} `json:"dns_records"`
	}

	if got := decode[struct{ Data []domainRes }](t, check(t, a, "GET", "/api/v1/settings/portal/domains", nil, 200)); len(got.Data) != 0 {
		t.Errorf("list: %+v", got)
	}
	for _, tt := range []struct {
		name, domain, want string
	}{
		{"ErrPath", "help.acme.example/x", "a path"},
		{"ErrIP", "[2001:db8::1]", d.neutralRefusalWords},
		{"ErrTaken", "help.globex.example", d.neutralRefusalWords},
	} {
		t.Run("Add/"+tt.name, func(t *testing.T) {
			res := decode[apiErrorRes](t, check(t, a, "POST", "/api/v1/settings/portal/domains", map[string]any{"domain": tt.domain}, 422))
			if len(res.Error.Fields) != 1 || res.Error.Fields[0].Field != "domain" || !strings.Contains(res.Error.Fields[0].Message, tt.want) {
				t.Errorf("got %+v, want domain: %q", res.Error, tt.want)
			}
		})
	}
	check(t, d.agentAPI, "POST", "/api/v1/settings/portal/domains", map[string]any{"domain": "help.acme.example"}, 403)
	check(t, d.agentAPI, "GET", "/api/v1/settings/portal/domains", nil, 403)

	res := check(t, a, "POST", "/api/v1/settings/portal/domains", map[string]any{"domain": "Hilfe.Bücher.example"}, 201)
	added := decode[domainRes](t, res)
	const name = "hilfe.xn--bcher-kva.example"
	if added.Domain != name || added.Display != "hilfe.bücher.example" || added.Status != "pending" || len(added.Records) != 2 ||
		added.Records[0].Name != "_parley-challenge."+name || added.Records[1].Type != "CNAME" || added.Records[1].Value != "acme.parley.test" ||
		res.Header.Get("Location") != "/api/v1/settings/portal/domains/"+name {
		t.Fatalf("added: %+v, Location %q", added, res.Header.Get("Location"))
	}
	check(t, d.agentAPI, "POST", "/api/v1/settings/portal/domains/"+name+"/verify", nil, 403)
	check(t, a, "POST", "/api/v1/settings/portal/domains/"+name+"/verify", nil, 422)
	d.dns.set(added.Records[0].Name, []string{added.Records[0].Value}, true)
	check(t, a, "POST", "/api/v1/settings/portal/domains/"+name+"/verify", nil, 503)
	check(t, a, "POST", "/api/v1/settings/portal/domains/help.globex.example/verify", nil, 404)
	if r := d.e.browser().getOn(name, "/help"); r.Status != http.StatusNotFound {
		t.Errorf("served while pending: %d", r.Status)
	}
	d.dns.set(added.Records[0].Name, []string{added.Records[0].Value}, false)
	// The Unicode form names the same domain.
	verified := decode[domainRes](t, check(t, a, "POST", "/api/v1/settings/portal/domains/"+url.PathEscape("hilfe.bücher.example")+"/verify", nil, 200))
	if verified.Status != "verified" {
		t.Errorf("verify: %+v", verified)
	}
	if r := d.e.browser().getOn(name, "/help"); r.Status != http.StatusOK {
		t.Errorf("not served once verified: %d", r.Status)
	}
	if got := decode[struct{ Data []domainRes }](t, check(t, a, "GET", "/api/v1/settings/portal/domains", nil, 200)); len(got.Data) != 1 || got.Data[0].Status != "verified" {
		t.Errorf("list: %+v", got)
	}
	check(t, a, "GET", "/api/v1/settings/portal", nil, 200)
	check(t, d.agentAPI, "DELETE", "/api/v1/settings/portal/domains/"+name, nil, 403)
	check(t, a, "DELETE", "/api/v1/settings/portal/domains/"+name, nil, 204)
	check(t, a, "DELETE", "/api/v1/settings/portal/domains/"+name, nil, 404)
	if r := d.e.browser().getOn(name, "/help"); r.Status != http.StatusNotFound {
		t.Errorf("served after removal: %d", r.Status)
	}
}
