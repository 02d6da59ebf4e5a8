package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"parley/app"
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
