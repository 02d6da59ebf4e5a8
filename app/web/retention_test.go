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
