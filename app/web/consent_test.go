package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/getkin/kin-openapi/openapi3"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"

	"parley/app"
	"parley/tenantdb"
)

// Shapes of the consents API, as the tests read them.
type (
	consentRes struct {
		Purpose   string     `json:"purpose"`
		Channel   string     `json:"channel"`
		State     string     `json:"state"`
		Source    string     `json:"source"`
		ExpiresAt *time.Time `json:"expires_at"`
	}
	consentChangeRes struct {
		Purpose string `json:"purpose"`
		From    string `json:"from"`
		To      string `json:"to"`
		Source  string `json:"source"`
		Note    string `json:"note"`
		Actor   struct {
			Type string `json:"type"`
			Name string `json:"name"`
		} `json:"actor"`
	}
	consentListRes struct {
		Data    []consentRes       `json:"data"`
		History []consentChangeRes `json:"history"`
	}
)

// consentsOf reads a client's consents, failing the test on any answer but 200.
func (a apiClient) consentsOf(id string) consentListRes {
	a.t.Helper()
	res := a.call("GET", "/api/v1/clients/"+id+"/consents", nil)
	if res.Status != http.StatusOK {
		a.t.Fatalf("list consents: got %d, want 200; body: %s", res.Status, snippet(res.Body))
	}
	return decode[consentListRes](a.t, res)
}

func TestConsentAPI(t *testing.T) {
	t.Parallel()
	_, _, a := apiSetup(t)
	c := a.create(map[string]any{"first_name": "Rosa"})
	path := "/api/v1/clients/" + c.ID + "/consents"
	grant := func(kv ...any) map[string]any {
		m := map[string]any{"purpose": "marketing", "channel": "sms", "state": "granted"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	a.run(t, []apiCase{
		{name: "ListEmpty", method: "GET", path: path, status: 200, text: `{"data":[],"history":[]}`},
		{name: "ErrImpossibleMove", method: "POST", path: path, body: grant("state", "revoked"), status: 422, field: "state",
			text: "cannot become Revoked"},
		{name: "ErrBadPurpose", method: "POST", path: path, body: grant("purpose", "x"), status: 422, field: "purpose"},
		{name: "ErrBadChannel", method: "POST", path: path, body: grant("channel", "fax"), status: 422, field: "channel"},
		{name: "ErrExpiryNotGrant", method: "POST", path: path, body: grant("state", "pending", "expires_at", "2027-01-01T00:00:00Z"),
			status: 422, field: "expires_at"},
		{name: "ErrExpiryPast", method: "POST", path: path, body: grant("expires_at", "2020-01-01T00:00:00Z"), status: 422, field: "expires_at"},
		{name: "ErrExpiryMalformed", method: "POST", path: path, body: grant("expires_at", "next year"), status: 422, field: "expires_at"},
		{name: "ErrSourceRetention", method: "POST", path: path, body: grant("source", "retention"), status: 422, field: "source"},
		{name: "ErrUnknownField", method: "POST", path: path, body: grant("reason", "asked"), status: 422, field: "reason"},
		{name: "ErrMissingClient", method: "POST", path: "/api/v1/clients/01JNEVEREXISTEDAAAAAAAAAAA/consents", body: grant(), status: 404},
		{name: "OKGranted", method: "POST", path: path, status: 201, text: `"source":"api"`,
			body: grant("purpose", " Marketing", "expires_at", "2027-06-01T02:00:00+02:00", "note", "Ticked the box")},
		{name: "OKOwnPurpose", method: "POST", path: path, body: grant("purpose", "newsletter", "channel", "", "state", "pending", "source", "form"),
			status: 201, text: `"purpose":"newsletter","channel":"","state":"pending","source":"form"`},
	}, c.ID)

	got := a.consentsOf(c.ID)
	if len(got.Data) != 2 || got.Data[0].Purpose != "marketing" || got.Data[0].State != "granted" || got.Data[0].Channel != "sms" ||
		got.Data[0].ExpiresAt == nil || !got.Data[0].ExpiresAt.Equal(time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("consents: got %+v, want marketing granted on sms until 1 June 2027, then newsletter", got.Data)
	}
	if len(got.History) != 2 {
		t.Fatalf("history: got %d changes, want 2", len(got.History))
	}
	if h := got.History[1]; h.From != "not_requested" || h.To != "granted" || h.Source != "api" || h.Note != "Ticked the box" ||
		h.Actor.Type != app.ActorToken || h.Actor.Name != "sync admin" {
		t.Errorf("oldest change: got %+v, want not_requested → granted by the token, with its note", h)
	}
	if got.History[0].Purpose != "newsletter" {
		t.Errorf("history order: got %s first, want the newest (newsletter)", got.History[0].Purpose)
	}
}

// TestConsentAPIAccess: an agent reads consents but cannot record them, and
// another workspace's client answers as one that never existed.
func TestConsentAPIAccess(t *testing.T) {
	t.Parallel()
	e, ws, alpha := apiSetup(t)
	c := alpha.create(map[string]any{"first_name": "Sven"})
	alpha.call("POST", "/api/v1/clients/"+c.ID+"/consents", map[string]any{"purpose": "analytics", "state": "denied"})
	path := "/api/v1/clients/" + c.ID + "/consents"
	e.apiClient(ws, app.RoleAgent).run(t, []apiCase{
		{name: "AgentReads", method: "GET", path: path, status: 200, text: `"state":"denied"`},
		{name: "ErrAgentRecords", method: "POST", path: path, body: map[string]any{"purpose": "analytics", "state": "pending"},
			status: 403, text: `"code":"forbidden"`},
	}, c.ID)

	bravo := e.apiClient(e.workspace("bravo"), app.RoleAdmin)
	before := alpha.consentsOf(c.ID)
	const never = "01JNEVEREXISTEDAAAAAAAAAAA"
	for _, tc := range []struct {
		name, method string
		body         any
	}{
		{"List", "GET", nil},
		{"Record", "POST", map[string]any{"purpose": "analytics", "state": "granted"}},
	} {
		t.Run("Foreign"+tc.name, func(t *testing.T) {
			foreign := bravo.call(tc.method, "/api/v1/clients/"+c.ID+"/consents", tc.body)
			missing := bravo.call(tc.method, "/api/v1/clients/"+never+"/consents", tc.body)
			if foreign.Status != http.StatusNotFound || foreign.Status != missing.Status || foreign.Body != missing.Body {
				t.Errorf("foreign id: got %d %s\nmissing id: got %d %s", foreign.Status, foreign.Body, missing.Status, missing.Body)
			}
		})
	}
	if after := alpha.consentsOf(c.ID); len(after.History) != len(before.History) || after.Data[0].State != "denied" {
		t.Errorf("bravo's requests changed alpha's consents: got %+v", after)
	}
}

// TestConsentAPIConformance holds the consents routes to openapi.json, as
// TestOpenAPIConformance does the other client routes.
func TestConsentAPIConformance(t *testing.T) {
	t.Parallel()
	e, ws, a := apiSetup(t)
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(a.call("GET", "/api/v1/openapi.json", nil).Body))
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	router, err := legacyrouter.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	check := func(c apiClient, method, path string, body any, want int) response {
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
	keep := a.create(map[string]any{"first_name": "Tove"})
	gone := a.create(map[string]any{"first_name": "Tova"})
	base := "/api/v1/clients/" + keep.ID + "/consents"

	check(a, "GET", base, nil, http.StatusOK)
	check(a, "POST", base, map[string]any{"purpose": "marketing", "state": "granted", "expires_at": "2027-01-01T00:00:00Z",
		"note": "Signed the form.", "source": "form"}, http.StatusCreated)
	check(a, "POST", base, map[string]any{"purpose": "marketing", "channel": "whatsapp", "state": "pending"}, http.StatusCreated)
	check(a, "POST", base, map[string]any{"purpose": "marketing", "state": "revoked", "expires_at": nil}, http.StatusCreated)
	check(a, "POST", base, map[string]any{"purpose": "marketing", "state": "revoked"}, http.StatusUnprocessableEntity)
	check(a, "GET", base, nil, http.StatusOK)
	// The change is in the client's timeline too, as ConsentChanged.
	check(a, "GET", "/api/v1/clients/"+keep.ID+"/timeline", nil, http.StatusOK)
	check(a, "GET", "/api/v1/clients/01JNEVEREXISTEDAAAAAAAAAAA/consents", nil, http.StatusNotFound)
	check(e.apiClient(ws, app.RoleAgent), "POST", base, map[string]any{"purpose": "analytics", "state": "pending"}, http.StatusForbidden)

	check(a, "POST", "/api/v1/clients/"+keep.ID+"/merge", map[string]any{"other_id": gone.ID}, http.StatusOK)
	moved := check(a, "GET", "/api/v1/clients/"+gone.ID+"/consents", nil, http.StatusMovedPermanently)
	if loc := moved.Header.Get("Location"); loc != base {
		t.Errorf("merged client's consents: Location %q, want %q", loc, base)
	}
	if err := validateBody(router, "GET", "/api/v1/clients/"+gone.ID+"/consents", moved); err != nil {
		t.Errorf("301 body does not conform: %v", err)
	}
}

// TestConsentPages: the profile loads the consents section; the form
// records a change or comes back with what was typed and what is wrong.
func TestConsentPages(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	c := mustClient(t, e, ws, app.ClientInput{FirstName: "Ulla"})
	profile := "/clients/" + c.ID
	path := profile + "/consents"
	fragment := map[string]string{"HX-Request": "true", "HX-Target": "consents"}
	form := func(kv ...string) url.Values {
		f := url.Values{"purpose": {"marketing"}, "purpose_other": {""}, "channel": {""}, "state": {"granted"},
			"expires_at": {""}, "note": {""}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	state := func(purpose, channel string) string {
		return `[data-testid=consent-row][data-purpose="` + purpose + `"][data-channel="` + channel + `"] [data-testid=consent-state]`
	}
	const note = `<script>alert(1)</script> on the phone`
	runClientCases(t, admin, "acme", []clientCase{
		{name: "ProfileHasSection", path: profile, status: 200, sel: state("marketing", ""), text: "Not requested"},
		{name: "SectionEmpty", path: path, header: fragment, status: 200, sel: state("marketing", "") + ` .badge-gray`,
			text: "Not requested", absent: ".sidebar"},
		{name: "SectionListsBuiltIns", path: path, header: fragment, status: 200, sel: state("personalisation", ""), text: "Not requested"},
		{name: "PageWithoutJS", path: path, status: 200, sel: `[data-testid=back-to-profile][href="` + profile + `"]`, text: "Ulla"},
		{name: "ErrImpossibleMove", method: "POST", path: path, form: form("state", "revoked", "note", note), status: 422,
			sel: "[data-testid=error-consent-state]", text: "cannot become Revoked"},
		{name: "ErrKeepsValues", method: "POST", path: path, form: form("state", "revoked", "note", note), status: 422,
			sel: `[data-testid=consent-form] #f-consent-state option[value=revoked][selected]`},
		{name: "ErrOwnPurpose", method: "POST", path: path, form: form("purpose", "other", "purpose_other", "Mailing list!"), status: 422,
			sel: "[data-testid=error-consent-purpose-other]", text: "Name the purpose"},
		{name: "ErrBadDate", method: "POST", path: path, form: form("expires_at", "31/12/2027"), status: 422,
			sel: "[data-testid=error-consent-expires]", text: "YYYY-MM-DD"},
		{name: "ErrExpiryNotGrant", method: "POST", path: path, form: form("state", "pending", "expires_at", "2027-12-31"), status: 422,
			sel: "[data-testid=error-consent-expires]", text: "Only a grant can expire"},
		{name: "OKGranted", method: "POST", path: path, form: form("expires_at", "2027-12-31", "note", note), status: 303,
			location: profile, flash: "Marketing consent on all channels is now granted."},
		{name: "OKOwnPurpose", method: "POST", path: path, form: form("purpose", "other", "purpose_other", "newsletter", "channel", "sms",
			"state", "pending"), status: 303, location: profile, flash: "newsletter consent on SMS is now pending."},
		{name: "SectionShowsGrant", path: path, header: fragment, status: 200, sel: state("marketing", "") + `[data-state=granted] .badge-green`,
			text: "Granted"},
		{name: "SectionShowsOwnPurpose", path: path, header: fragment, status: 200, sel: state("newsletter", "sms") + " .badge-amber",
			text: "Pending"},
	})

	t.Run("ErrKeepsTypedValues", func(t *testing.T) {
		res := admin.post("acme", path, form("purpose", "other", "purpose_other", `<b>x</b>`, "note", note))
		doc := res.Doc(t)
		if got := doc.Find("#f-consent-note").AttrOr("value", ""); got != note {
			t.Errorf("note kept: got %q, want %q", got, note)
		}
		if got := doc.Find("#f-consent-purpose-other").AttrOr("value", ""); got != `<b>x</b>` {
			t.Errorf("own purpose kept: got %q", got)
		}
		if doc.Find("#f-consent-purpose option[value=other][selected]").Length() != 1 {
			t.Error("purpose select: want Other… still chosen")
		}
		if strings.Contains(res.Body, "<b>x</b>") || strings.Contains(res.Body, "<script>alert") {
			t.Error("what was typed is in the page unescaped")
		}
	})

	t.Run("History", func(t *testing.T) {
		res := clientCase{path: path, header: fragment}.do(admin, "acme")
		doc := res.Doc(t)
		changes := doc.Find("[data-testid=consent-history] [data-testid=consent-change]")
		if changes.Length() != 2 {
			t.Fatalf("history: got %d changes, want 2", changes.Length())
		}
		newest, oldest := changes.First(), changes.Last()
		if newest.AttrOr("data-purpose", "") != "newsletter" || newest.AttrOr("data-to", "") != "pending" {
			t.Errorf("newest change: got %s → %s, want newsletter → pending",
				newest.AttrOr("data-purpose", ""), newest.AttrOr("data-to", ""))
		}
		if oldest.AttrOr("data-from", "") != "not_requested" || oldest.AttrOr("data-to", "") != "granted" {
			t.Errorf("oldest change: got %s → %s, want not_requested → granted", oldest.AttrOr("data-from", ""), oldest.AttrOr("data-to", ""))
		}
		if got := oldest.Find(".badge").Text(); got != "Not requestedGranted" {
			t.Errorf("oldest change's badges: got %q, want Not requested, then Granted", got)
		}
		text := strings.Join(strings.Fields(oldest.Text()), " ")
		for _, want := range []string{"Marketing · All channels", "until 31 Dec 2027", "Team · Admin of acme", note} {
			if !strings.Contains(text, want) {
				t.Errorf("oldest change: got %q, want it to contain %q", text, want)
			}
		}
		if strings.Contains(res.Body, "<script>alert") {
			t.Error("the note is in the page unescaped")
		}
		if doc.Find("details[data-testid=consent-history][open]").Length() != 0 {
			t.Error("history: want it folded")
		}
	})

	t.Run("HTMXForm", func(t *testing.T) {
		post := func(f url.Values) response {
			req, _ := http.NewRequest("POST", hostURL("acme", path), strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			for k, v := range fragment {
				req.Header.Set(k, v)
			}
			return admin.do(req)
		}
		bad := post(form("purpose", "analytics", "state", "revoked"))
		if bad.Status != http.StatusUnprocessableEntity || strings.Contains(bad.Body, "<html") ||
			bad.Doc(t).Find("#consents [data-testid=error-consent-state]").Length() != 1 {
			t.Errorf("refused: got %d, want 422 and the section with the error; body %s", bad.Status, snippet(bad.Body))
		}
		ok := post(form("purpose", "analytics", "state", "denied"))
		if ok.Status != http.StatusNoContent || ok.Header.Get("HX-Redirect") != profile+"#consents" {
			t.Errorf("recorded: got %d HX-Redirect %q, want 204 to the profile", ok.Status, ok.Header.Get("HX-Redirect"))
		}
	})

	t.Run("ExpiredGrant", func(t *testing.T) {
		until := e.clock.Now().Add(time.Hour)
		if _, err := e.db(ws).RecordConsent(context.Background(), c.ID, app.ConsentInput{Purpose: app.PurposeAnalytics,
			Channel: app.TransportEmail, State: app.ConsentGranted, ExpiresAt: &until}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Hour) // the sweep has not run yet
		res := clientCase{path: path, header: fragment}.do(admin, "acme")
		if res.Doc(t).Find(state("analytics", "email")+"[data-state=expired] .badge-amber").Length() != 1 {
			t.Errorf("a grant past its expiry: want it shown as expired; got %s", snippet(res.Body))
		}
	})

	t.Run("UniqueIDs", func(t *testing.T) {
		seen := map[string]int{}
		admin.get("acme", path).Doc(t).Find("[id]").Each(func(_ int, s *goquery.Selection) { seen[s.AttrOr("id", "")]++ })
		for id, n := range seen {
			if n > 1 {
				t.Errorf("id %q is used %d times, want once", id, n)
			}
		}
	})
}

// TestConsentPageAccess: an agent sees the consents without the form and
// cannot post it; another workspace's client is not found.
func TestConsentPageAccess(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	c := mustClient(t, e, ws, app.ClientInput{FirstName: "Vera"})
	path := "/clients/" + c.ID + "/consents"
	agent := member(t, e, admin, "agent@acme.example", app.RoleAgent)
	runClientCases(t, agent, "acme", []clientCase{
		{name: "AgentReads", path: path, status: 200, sel: "[data-testid=consents-table]", absent: "[data-testid=consent-form]"},
		{name: "ErrAgentRecords", method: "POST", path: path, form: url.Values{"purpose": {"marketing"}, "state": {"granted"}},
			status: 403, check: func(t *testing.T) {
				if _, hist, _ := e.db(ws).ClientConsents(context.Background(), c.ID); len(hist) != 0 {
					t.Errorf("history: got %d changes, want none", len(hist))
				}
			}},
	})
	runClientCases(t, admin, "acme", []clientCase{
		{name: "AdminSeesForm", path: path, status: 200, sel: "[data-testid=consent-form]"},
	})

	other := e.workspace("bravo")
	theirs := mustClient(t, e, other, app.ClientInput{FirstName: "Wim"})
	runClientCases(t, admin, "acme", []clientCase{
		{name: "ErrForeignClient", path: "/clients/" + theirs.ID + "/consents", status: 404},
		{name: "ErrForeignRecord", method: "POST", path: "/clients/" + theirs.ID + "/consents",
			form: url.Values{"purpose": {"marketing"}, "state": {"granted"}}, status: 404},
	})
}

// consentsByPurposeEnv is workspace acme with its admin signed in and
// consents recorded a minute apart: Ann grants marketing on SMS and for
// every channel, Bob for every channel and is asked for the newsletter,
// Cat grants (then is deleted), Dan denies analytics; Eve has none.
type consentsByPurposeEnv struct {
	e                  *env
	ws                 *tenantdb.Workspace
	admin              *browser
	ann, bob, cat, dan *app.Client
}

func newConsentsByPurposeEnv(t *testing.T) consentsByPurposeEnv {
	t.Helper()
	e, ws, admin := clientEnv(t)
	c := consentsByPurposeEnv{e: e, ws: ws, admin: admin}
	mk := func(name string) *app.Client {
		return mustClient(t, e, ws, app.ClientInput{FirstName: name, LastName: "Lind"})
	}
	c.ann, c.bob, c.cat, c.dan = mk("Ann"), mk("Bob"), mk("Cat"), mk("Dan")
	mk("Eve")
	db, ctx := e.db(ws), context.Background()
	for _, r := range []struct {
		who     *app.Client
		purpose app.ConsentPurpose
		channel app.Transport
		state   app.ConsentState
	}{
		{c.cat, "marketing", "", app.ConsentGranted},
		{c.bob, "marketing", "", app.ConsentGranted},
		{c.bob, "newsletter", "", app.ConsentPending},
		{c.dan, "analytics", "", app.ConsentDenied},
		{c.ann, "marketing", "sms", app.ConsentGranted},
		{c.ann, "marketing", "", app.ConsentGranted},
	} {
		e.clock.Advance(time.Minute)
		if _, err := db.RecordConsent(ctx, r.who.ID, app.ConsentInput{Purpose: r.purpose, Channel: r.channel, State: r.state}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteClient(ctx, c.cat.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConsentSettings: Settings → Consents counts the live clients per
// purpose and state, lists the clients behind a count (newest change
// first, linked to their profile), narrows both to a channel, and names
// what is wrong with a query it cannot answer.
func TestConsentSettings(t *testing.T) {
	t.Parallel()
	c := newConsentsByPurposeEnv(t)
	const page = "/settings/consents"
	count := func(purpose, state string) string {
		return `[data-testid=consent-summary-row][data-purpose=` + purpose + `] [data-testid=consent-count][data-state=` + state + `]`
	}
	client := func(cl *app.Client, channel string) string {
		return `[data-testid=consent-client][data-client="` + cl.ID + `"][data-channel="` + channel + `"] a[href="/clients/` + cl.ID + `"]`
	}
	fragment := map[string]string{"HX-Request": "true", "HX-Target": "consent-list"}
	runClientCases(t, c.admin, "acme", []clientCase{
		{name: "InSettingsNav", path: page, status: 200, sel: `[data-testid=tab-consents][aria-current=page]`, text: "Consents"},
		{name: "CountsGranted", path: page, status: 200, sel: count("marketing", "granted") + ` a[href="/settings/consents?purpose=marketing&state=granted#consent-list"]`, text: "2"},
		{name: "CountsNotRequested", path: page, status: 200, sel: count("marketing", "not_requested"), text: "2"},
		{name: "CountsEveryBuiltIn", path: page, status: 200, sel: count("personalisation", "not_requested"), text: "4"},
		{name: "CountsOwnPurpose", path: page, status: 200, sel: count("newsletter", "pending"), text: "1"},
		{name: "ZeroIsNoLink", path: page, status: 200, sel: count("marketing", "revoked"), text: "0", absent: count("marketing", "revoked") + " a"},
		{name: "AsksForAChoice", path: page, status: 200, sel: "[data-testid=consent-list-hint]", text: "Choose a count above"},
		{name: "Lists", path: page + "?purpose=marketing&state=granted", status: 200, sel: client(c.ann, "sms"), text: "Ann Lind"},
		{name: "ListsEveryChannel", path: page + "?purpose=marketing&state=granted", status: 200, sel: client(c.bob, ""), text: "Bob Lind"},
		{name: "LeavesDeletedOut", path: page + "?purpose=marketing&state=granted", status: 200, sel: "[data-testid=consent-clients]",
			absent: `[data-client="` + c.cat.ID + `"]`},
		{name: "OnOneChannel", path: page + "?channel=sms&purpose=marketing&state=granted", status: 200, sel: client(c.ann, "sms"),
			absent: `[data-client="` + c.bob.ID + `"]`},
		{name: "CountsOnOneChannel", path: page + "?channel=sms", status: 200, sel: count("marketing", "granted") +
			` a[href="/settings/consents?channel=sms&purpose=marketing&state=granted#consent-list"]`, text: "1"},
		{name: "GivenForAllChannels", path: page + "?channel=all&purpose=marketing&state=granted", status: 200, sel: client(c.bob, ""),
			absent: `[data-channel=sms]`},
		{name: "EmptyReadsWell", path: page + "?purpose=marketing&state=revoked", status: 200, sel: "#consent-list [data-testid=empty]",
			text: "No client's Marketing consent is Revoked on any channel."},
		{name: "Fragment", path: page + "?purpose=analytics&state=denied", header: fragment, status: 200,
			sel: `#consent-list ` + client(c.dan, ""), absent: ".sidebar, [data-testid=consent-summary]"},
		{name: "ErrState", path: page + "?purpose=marketing&state=maybe", status: 422, sel: "[data-testid=error-consent-state]",
			text: "Choose granted"},
		{name: "ErrNotRequested", path: page + "?purpose=marketing&state=not_requested", status: 422,
			sel: "[data-testid=error-consent-state]", text: "no consent was recorded"},
		{name: "ErrPurpose", path: page + "?purpose=Mailing!&state=granted", status: 422, sel: "[data-testid=error-consent-purpose]",
			text: "Name the purpose"},
		{name: "ErrChannel", path: page + "?channel=fax", status: 422, sel: "[data-testid=error-consent-channel]", text: "Choose a channel"},
		{name: "ErrKeepsTheCounts", path: page + "?channel=fax", status: 422, sel: count("marketing", "granted"), text: "2"},
		{name: "ErrKeepsTheChannel", path: page + "?channel=sms&purpose=marketing&state=maybe", status: 422,
			sel: "[data-testid=consent-summary] .card-header p", text: "consents on SMS", absent: "[data-testid=alert]"},
		{name: "ErrCursor", path: page + "?purpose=marketing&state=granted&cursor=nonsense", status: 422, sel: "[data-testid=alert]",
			text: "cursor is not valid"},
	})
}

// TestConsentSettingsPages: a long list is paged newest change first, by
// plain links that htmx also follows for the list alone.
func TestConsentSettingsPages(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	db, ctx := e.db(ws), context.Background()
	var ids []string
	for i := range 52 {
		c := mustClient(t, e, ws, app.ClientInput{FirstName: fmt.Sprintf("Client%02d", i)})
		e.clock.Advance(time.Second)
		if _, err := db.RecordConsent(ctx, c.ID, app.ConsentInput{Purpose: "analytics", State: app.ConsentGranted}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	first := admin.get("acme", "/settings/consents?purpose=analytics&state=granted")
	doc := first.Doc(t)
	rows := doc.Find("[data-testid=consent-client]")
	if rows.Length() != 50 || rows.First().AttrOr("data-client", "") != ids[51] {
		t.Fatalf("first page: got %d rows starting with %s, want 50 starting with the newest", rows.Length(), rows.First().AttrOr("data-client", ""))
	}
	older, ok := doc.Find("[data-testid=older]").Attr("hx-get")
	if !ok {
		t.Fatal("first page: no link to the older page")
	}
	req, _ := http.NewRequest("GET", hostURL("acme", older), nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Target", "consent-list")
	next := admin.do(req)
	ndoc := next.Doc(t)
	var got []string
	ndoc.Find("[data-testid=consent-client]").Each(func(_ int, s *goquery.Selection) { got = append(got, s.AttrOr("data-client", "")) })
	if next.Status != http.StatusOK || strings.Join(got, " ") != ids[1]+" "+ids[0] || strings.Contains(next.Body, "<html") {
		t.Errorf("older page: got %d %v, want the list alone with the two oldest", next.Status, got)
	}
	if ndoc.Find("[data-testid=older]").Length() != 0 || ndoc.Find(`a[href^="/settings/consents?purpose=analytics&state=granted#"]`).Length() != 1 {
		t.Errorf("last page: want a link to the newest and none to older pages")
	}
}

// TestConsentSettingsAccess: every role that may view clients opens the
// page; a visitor who is not signed in is sent to sign in.
func TestConsentSettingsAccess(t *testing.T) {
	t.Parallel()
	c := newConsentsByPurposeEnv(t)
	for _, role := range []app.Role{app.RoleLead, app.RoleAgent, app.RoleSales} {
		br := member(t, c.e, c.admin, string(role)+"@acme.example", role)
		runClientCases(t, br, "acme", []clientCase{
			{name: string(role), path: "/settings/consents?purpose=marketing&state=granted", status: 200,
				sel: `[data-testid=consent-client][data-client="` + c.ann.ID + `"]`},
		})
	}
	runClientCases(t, c.e.browser(), "acme", []clientCase{
		{name: "ErrSignedOut", path: "/settings/consents", status: 303, location: "/login?next="},
	})
	// Another workspace's file holds none of acme's consents.
	other := c.e.workspace("bravo")
	theirs := c.e.browser()
	theirs.login("bravo", "admin@bravo.example", "correct horse battery")
	mustClient(t, c.e, other, app.ClientInput{FirstName: "Wim"})
	runClientCases(t, theirs, "bravo", []clientCase{
		{name: "OtherWorkspace", path: "/settings/consents?purpose=marketing&state=granted", status: 200,
			sel: "#consent-list [data-testid=empty]", text: "No client's"},
	})
}

// Shapes of the purpose queries, as the tests read them.
type (
	purposeConsentRes struct {
		ClientID  string    `json:"client_id"`
		Channel   string    `json:"channel"`
		State     string    `json:"state"`
		Source    string    `json:"source"`
		ChangedAt time.Time `json:"changed_at"`
	}
	purposeConsentListRes struct {
		Data       []purposeConsentRes `json:"data"`
		NextCursor *string             `json:"next_cursor"`
	}
	consentSummaryRes struct {
		Clients int     `json:"clients"`
		Channel *string `json:"channel"`
		Data    []struct {
			Purpose string         `json:"purpose"`
			Clients map[string]int `json:"clients"`
		} `json:"data"`
	}
)

// TestConsentsByPurposeAPI: GET /api/v1/consents lists a purpose's
// consents in one state, page by page; /summary counts them; a bad
// parameter is refused by name.
func TestConsentsByPurposeAPI(t *testing.T) {
	t.Parallel()
	c := newConsentsByPurposeEnv(t)
	a := c.e.apiClient(c.ws, app.RoleAgent)
	const path = "/api/v1/consents"
	a.run(t, []apiCase{
		{name: "OK", method: "GET", path: path + "?purpose=analytics&state=denied", status: 200,
			text: `{"data":[{"client_id":"` + c.dan.ID + `","purpose":"analytics","channel":"","state":"denied","source":"team"`},
		{name: "OKOwnPurpose", method: "GET", path: path + "?purpose=newsletter&state=pending", status: 200, text: c.bob.ID},
		{name: "OKNone", method: "GET", path: path + "?purpose=loyalty&state=granted", status: 200, text: `{"data":[],"next_cursor":null}`},
		{name: "ErrPurposeMissing", method: "GET", path: path + "?state=granted", status: 422, field: "purpose"},
		{name: "ErrPurpose", method: "GET", path: path + "?purpose=Mailing!&state=granted", status: 422, field: "purpose"},
		{name: "ErrState", method: "GET", path: path + "?purpose=marketing&state=maybe", status: 422, field: "state"},
		{name: "ErrNotRequested", method: "GET", path: path + "?purpose=marketing&state=not_requested", status: 422, field: "state"},
		{name: "ErrChannel", method: "GET", path: path + "?purpose=marketing&state=granted&channel=fax", status: 422, field: "channel"},
		{name: "ErrLimit", method: "GET", path: path + "?purpose=marketing&state=granted&limit=0", status: 422, field: "limit"},
		{name: "ErrLimitTooBig", method: "GET", path: path + "?purpose=marketing&state=granted&limit=201", status: 422, field: "limit"},
		{name: "ErrCursor", method: "GET", path: path + "?purpose=marketing&state=granted&cursor=nonsense", status: 422, field: "cursor"},
		{name: "ErrSeveral", method: "GET", path: path + "?purpose=x&state=maybe&channel=fax", status: 422, field: "channel",
			text: `"field":"state"`},
		{name: "Summary", method: "GET", path: path + "/summary", status: 200, text: `"clients":4,"channel":null,"data":[{"purpose":"marketing","clients":{"granted":2,"pending":0,"denied":0,"revoked":0,"expired":0,"not_requested":2}}`},
		{name: "SummaryOnSMS", method: "GET", path: path + "/summary?channel=sms", status: 200, text: `"channel":"sms","data":[{"purpose":"marketing","clients":{"granted":1,`},
		{name: "ErrSummaryChannel", method: "GET", path: path + "/summary?channel=fax", status: 422, field: "channel"},
	})

	// Page by page, newest change first: Ann's two grants (the one for
	// every channel last), then Bob's; Cat was deleted.
	var walked []string
	next := path + "?purpose=marketing&state=granted&limit=1"
	for next != "" && len(walked) < 10 {
		res := a.call("GET", next, nil)
		page := decode[purposeConsentListRes](t, res)
		for _, d := range page.Data {
			walked = append(walked, d.ClientID+"/"+d.Channel)
		}
		next = ""
		if page.NextCursor != nil {
			next = path + "?purpose=marketing&state=granted&limit=1&cursor=" + url.QueryEscape(*page.NextCursor)
		}
	}
	if got, want := strings.Join(walked, " "), c.ann.ID+"/ "+c.ann.ID+"/sms "+c.bob.ID+"/"; got != want {
		t.Errorf("pages: got %s, want %s", got, want)
	}

	sum := decode[consentSummaryRes](t, a.call("GET", path+"/summary", nil))
	var order []string
	for _, p := range sum.Data {
		order = append(order, p.Purpose)
	}
	if strings.Join(order, " ") != "marketing analytics personalisation newsletter" || sum.Data[1].Clients["denied"] != 1 ||
		sum.Data[3].Clients["not_requested"] != 3 {
		t.Errorf("summary: got %+v", sum)
	}
	if res := c.e.api("acme", path+"?purpose=marketing&state=granted", ""); res.Status != http.StatusUnauthorized {
		t.Errorf("no token: got %d, want 401", res.Status)
	}
	bravo := c.e.apiClient(c.e.workspace("bravo"), app.RoleAdmin)
	if res := bravo.call("GET", path+"?purpose=marketing&state=granted", nil); res.Body != "{\"data\":[],\"next_cursor\":null}\n" {
		t.Errorf("another workspace: got %s, want no consents", res.Body)
	}
}

// TestConsentsByPurposeConformance holds the purpose queries to
// openapi.json.
func TestConsentsByPurposeConformance(t *testing.T) {
	t.Parallel()
	c := newConsentsByPurposeEnv(t)
	a := c.e.apiClient(c.ws, app.RoleAdmin)
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(a.call("GET", "/api/v1/openapi.json", nil).Body))
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	router, err := legacyrouter.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/api/v1/consents?purpose=marketing&state=granted&limit=1", http.StatusOK},
		{"/api/v1/consents?purpose=marketing&state=granted&channel=all", http.StatusOK},
		{"/api/v1/consents?purpose=marketing&state=expired", http.StatusOK},
		{"/api/v1/consents?purpose=marketing&state=maybe", http.StatusUnprocessableEntity},
		{"/api/v1/consents/summary", http.StatusOK},
		{"/api/v1/consents/summary?channel=whatsapp", http.StatusOK},
		{"/api/v1/consents/summary?channel=fax", http.StatusUnprocessableEntity},
	} {
		res := a.call("GET", tc.path, nil)
		if res.Status != tc.want {
			t.Fatalf("GET %s: got %d, want %d; body %s", tc.path, res.Status, tc.want, snippet(res.Body))
		}
		if err := validateExchange(ctx, router, a, "GET", tc.path, nil, res); err != nil {
			t.Errorf("GET %s → %d does not conform to openapi.json: %v", tc.path, res.Status, err)
		}
	}
}
