package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"

	"parley/app"
	"parley/tenantdb"
)

func TestRetentionSettings(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ws := e.workspace("acme")
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	form := func(kv ...string) url.Values {
		f := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	runClientCases(t, admin, "acme", []clientCase{
		{name: "PageSaysKeepsEverything", path: "/settings/retention", status: 200, sel: "[data-testid=retention-summary]",
			text: "Messages and internal notes are kept for ever."},
		{name: "ErrNotANumber", method: "POST", path: "/settings/retention", form: form("messages_days", "soon"), status: 422,
			sel: "#f-messages_days-error", text: "whole number"},
		{name: "ErrTooLong", method: "POST", path: "/settings/retention", form: form("attachments_days", "9999"), status: 422,
			sel: "#f-attachments_days-error", text: "3650"},
		{name: "OK", method: "POST", path: "/settings/retention", form: form("messages_days", "365", "messages_mode", "anonymise",
			"attachments_days", "90"), status: 303},
		{name: "PageSaysWhatGoes", path: "/settings/retention", status: 200, sel: "[data-testid=retention-summary]",
			text: "older than 365 days lose their text"},
	})
	a := e.apiClient(ws, app.RoleAdmin)
	got := decode[map[string]any](t, a.call("GET", "/api/v1/settings/retention", nil))
	if got["messages_days"] != float64(365) || got["messages_mode"] != "anonymise" || got["attachments_days"] != float64(90) {
		t.Errorf("API policy: got %v", got)
	}
	if res := a.call("PUT", "/api/v1/settings/retention", map[string]any{"messages_days": -2}); res.Status != http.StatusUnprocessableEntity ||
		!strings.Contains(res.Body, "messages_days") {
		t.Errorf("bad policy: got %d %s", res.Status, res.Body)
	}
	if res := e.apiClient(ws, app.RoleAgent).call("GET", "/api/v1/settings/retention", nil); res.Status != http.StatusForbidden {
		t.Errorf("agent: got %d, want 403", res.Status)
	}
}

func TestLegalHoldAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ws := e.workspace("acme")
	a := e.apiClient(ws, app.RoleAdmin)
	c := a.create(map[string]any{"first_name": "Hana"})
	path := "/api/v1/clients/" + c.ID + "/legal-hold"
	if got := decode[map[string]bool](t, a.call("GET", path, nil)); got["legal_hold"] {
		t.Errorf("new client: got on hold")
	}
	if res := a.call("PUT", path, map[string]any{"legal_hold": true}); res.Status != http.StatusOK {
		t.Fatalf("put: got %d %s", res.Status, res.Body)
	}
	if got := decode[map[string]bool](t, a.call("GET", path, nil)); !got["legal_hold"] {
		t.Errorf("after put: not on hold")
	}
	if res := e.apiClient(ws, app.RoleAgent).call("PUT", path, map[string]any{"legal_hold": false}); res.Status != http.StatusForbidden {
		t.Errorf("agent: got %d, want 403", res.Status)
	}
	other := e.apiClient(e.workspace("globex"), app.RoleAdmin)
	foreign, missing := other.call("GET", path, nil), other.call("GET", "/api/v1/clients/nope/legal-hold", nil)
	if foreign.Status != http.StatusNotFound || foreign.Body != missing.Body {
		t.Errorf("another workspace's client: got %d %s, want the same 404 as a made-up id (%s)", foreign.Status, foreign.Body, missing.Body)
	}
}

func TestLegalHoldForm(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ws := e.workspace("acme")
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	c := e.apiClient(ws, app.RoleAdmin).create(map[string]any{"first_name": "Hana"})
	privacy := "/clients/" + c.ID + "/privacy"
	runClientCases(t, admin, "acme", []clientCase{
		{name: "OfferedHold", path: privacy, status: 200, sel: "[data-testid=legal-hold-toggle]", text: "Put on legal hold"},
		{name: "Hold", method: "POST", path: "/clients/" + c.ID + "/legal-hold", form: url.Values{"legal_hold": {"true"}}, status: 303},
		{name: "ErasureRefusedWhileHeld", path: privacy, status: 200, sel: "[data-testid=legal-hold]", text: "on legal hold"},
		{name: "Lift", method: "POST", path: "/clients/" + c.ID + "/legal-hold", form: url.Values{"legal_hold": {"false"}}, status: 303},
		{name: "OfferedAgain", path: privacy, status: 200, sel: "[data-testid=legal-hold-toggle]", text: "Put on legal hold"},
	})
}

// retentionPreviewEnv is acme, where Ann wrote twice 40 days ago (once with
// a file) and once this week, Hal (on legal hold) once 40 days ago, and Dee
// was deleted 20 days ago, with its admin signed in. The policy saved
// keeps everything. (The clock goes back to write the past: sessions are
// checked against the real time too.)
func retentionPreviewEnv(t *testing.T) (*env, *tenantdb.Workspace, *browser) {
	t.Helper()
	e := setup(t)
	ws := e.workspace("acme")
	db, ctx := e.db(ws), context.Background()
	ch, err := db.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(-40 * 24 * time.Hour)
	write := func(phone, text string, file bool) app.Message {
		t.Helper()
		in := app.InboundMessage{ChannelID: ch.ID, From: app.ContactInput{Type: app.ContactPhone, Value: phone}, Text: text,
			ProviderMessageID: "p-" + text}
		if file {
			in.Uploads = []app.Upload{{Filename: text + ".txt", Data: []byte(text)}}
		}
		m, _, err := db.ReceiveMessage(ctx, in)
		if err != nil {
			t.Fatalf("receive %s: %v", text, err)
		}
		return m
	}
	write("+447911123456", "a1", true)
	write("+447911123456", "a2", false)
	h := write("+447911123458", "h1", true)
	hal, err := db.ChatByID(ctx, h.ChatID, app.ChatScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetLegalHold(ctx, hal.ClientID, true, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(20 * 24 * time.Hour)
	dee := mustClient(t, e, ws, app.ClientInput{FirstName: "Dee"})
	if err := db.DeleteClient(ctx, dee.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(17 * 24 * time.Hour)
	write("+447911123456", "a3", false)
	e.clock.Advance(3 * 24 * time.Hour)
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	return e, ws, admin
}

// TestRetentionPreview: the policy page says what a sweep would remove now,
// under the saved policy and, as the admin types, under the one in the
// form (by htmx, or the Preview button without JavaScript), saving
// nothing; what legal hold keeps is said apart.
func TestRetentionPreview(t *testing.T) {
	t.Parallel()
	e, ws, admin := retentionPreviewEnv(t)
	const preview = "/settings/retention/preview"
	fragment := map[string]string{"HX-Request": "true", "HX-Target": "retention-preview"}
	policy := func(kv ...string) url.Values {
		f := url.Values{"messages_days": {"30"}, "messages_mode": {"delete"}, "attachments_days": {"0"}, "deleted_clients_days": {"10"}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	count := func(what, n string) string {
		return `#retention-preview [data-testid=preview-` + what + `][data-count="` + n + `"]`
	}
	unsaved := func(t *testing.T) {
		if p, _ := e.db(ws).RetentionPolicy(context.Background()); p.MessagesDays != 0 || p.DeletedClientsDays != 0 {
			t.Errorf("a preview saved the policy: %+v", p)
		}
	}
	runClientCases(t, admin, "acme", []clientCase{
		{name: "SavedKeepsEverything", path: "/settings/retention", status: 200, sel: count("messages", "0"),
			text: "none, they are kept for ever"},
		{name: "SaysWhichPolicy", path: "/settings/retention", status: 200, sel: `[data-testid=retention-preview][data-typed=false]`,
			text: "With the saved policy"},
		{name: "Messages", method: "POST", path: preview, form: policy(), header: fragment, status: 200,
			sel: count("messages", "2"), text: "2 messages and notes older than 30 days would be deleted", absent: ".sidebar", check: unsaved},
		{name: "Anonymised", method: "POST", path: preview, form: policy("messages_mode", "anonymise"), header: fragment, status: 200,
			sel: count("messages", "2"), text: "would be anonymised"},
		{name: "FilesGoWithMessages", method: "POST", path: preview, form: policy(), header: fragment, status: 200,
			sel: count("attachments", "1"), text: "1 file would go with those messages"},
		{name: "DeletedClients", method: "POST", path: preview, form: policy(), header: fragment, status: 200,
			sel: count("clients", "1"), text: "1 client deleted more than 10 days ago would be erased for good"},
		{name: "WithinTheGrace", method: "POST", path: preview, form: policy("deleted_clients_days", "30"), header: fragment, status: 200,
			sel: count("clients", "0"), text: "no client deleted more than 30 days ago"},
		{name: "LegalHold", method: "POST", path: preview, form: policy(), header: fragment, status: 200,
			sel: count("held", "2"), text: "Legal hold keeps 1 message, 1 file out of the sweep."},
		{name: "ErrNotANumber", method: "POST", path: preview, form: policy("messages_days", "soon"), header: fragment, status: 422,
			sel: "#retention-preview [data-testid=preview-error]", text: "Correct the policy", check: unsaved},
		{name: "WithoutJavaScript", method: "POST", path: preview, form: policy("messages_days", "2"), status: 200,
			sel: `[data-testid=retention-preview][data-typed=true] [data-testid=preview-messages][data-count="3"]`, text: "older than 2 days",
			check: unsaved},
		{name: "WithoutJavaScriptKeepsTyped", method: "POST", path: preview, form: policy("messages_days", "2"), status: 200,
			sel: `#f-messages_days[value="2"]`},
		{name: "ErrWithoutJavaScript", method: "POST", path: preview, form: policy("attachments_days", "9999"), status: 422,
			sel: "#f-attachments_days-error", text: "3650"},
		{name: "Save", method: "POST", path: "/settings/retention", form: policy(), status: 303},
		{name: "SavedPolicyPreviewed", path: "/settings/retention", status: 200, sel: `[data-testid=retention-preview][data-typed=false]`,
			text: "2 messages and notes older than 30 days would be deleted"},
	})
	agent := member(t, e, admin, "agent@acme.example", app.RoleAgent)
	runClientCases(t, agent, "acme", []clientCase{
		{name: "ErrAgent", method: "POST", path: preview, form: policy(), header: fragment, status: 403},
	})
}

// TestRetentionPreviewAPI: GET counts what the saved policy would sweep,
// POST what the policy sent would, saving nothing; both as openapi.json
// says.
func TestRetentionPreviewAPI(t *testing.T) {
	t.Parallel()
	e, ws, _ := retentionPreviewEnv(t)
	a := e.apiClient(ws, app.RoleAdmin)
	const path = "/api/v1/settings/retention/preview"
	a.run(t, []apiCase{
		{name: "SavedKeepsEverything", method: "GET", path: path, status: 200,
			text: `"messages":0,"anonymised":0,"attachments":0,"clients":0,"held":{"messages":0,"attachments":0,"clients":0}`},
		{name: "Policy", method: "POST", path: path, body: map[string]any{"messages_days": 30, "deleted_clients_days": 10}, status: 200,
			text: `"messages_mode":"delete","attachments_days":0,"deleted_clients_days":10},"messages":2,"anonymised":0,"attachments":1,"clients":1,"held":{"messages":1,"attachments":1,"clients":0}`},
		{name: "ErrPolicy", method: "POST", path: path, body: map[string]any{"messages_days": -1}, status: 422, field: "messages_days"},
		{name: "ErrMode", method: "POST", path: path, body: map[string]any{"messages_days": 3, "messages_mode": "shred"}, status: 422,
			field: "messages_mode"},
		{name: "ErrUnknownField", method: "POST", path: path, body: map[string]any{"days": 3}, status: 422, field: "days"},
	})
	if p, _ := e.db(ws).RetentionPolicy(context.Background()); p.MessagesDays != 0 {
		t.Errorf("a preview saved the policy: %+v", p)
	}
	agent := e.apiClient(ws, app.RoleAgent)
	for _, method := range []string{"GET", "POST"} {
		if res := agent.call(method, path, map[string]any{}); res.Status != http.StatusForbidden {
			t.Errorf("agent %s: got %d, want 403", method, res.Status)
		}
	}

	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(a.call("GET", "/api/v1/openapi.json", nil).Body))
	if err != nil {
		t.Fatal(err)
	}
	router, err := legacyrouter.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method string
		body   any
		want   int
	}{
		{"GET", nil, http.StatusOK},
		{"POST", map[string]any{"messages_days": 30, "messages_mode": "anonymise", "attachments_days": 7}, http.StatusOK},
		{"POST", map[string]any{"messages_days": 9999}, http.StatusUnprocessableEntity},
	} {
		res := a.call(tc.method, path, tc.body)
		if res.Status != tc.want {
			t.Fatalf("%s: got %d, want %d; %s", tc.method, res.Status, tc.want, snippet(res.Body))
		}
		if err := validateExchange(ctx, router, a, tc.method, path, tc.body, res); err != nil {
			t.Errorf("%s %s → %d does not conform to openapi.json: %v", tc.method, path, res.Status, err)
		}
	}
}
