package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"parley/app"
)

// TestTemplates: admins add, edit and delete templates, refused input
// changes nothing, agents see and copy them but cannot change them.
func TestTemplates(t *testing.T) {
	t.Parallel()
	e, ws, admin := clientEnv(t)
	ctx := context.Background()
	db := e.db(ws)
	count := func() int {
		ts, err := db.ListTemplates(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(ts)
	}
	if res := admin.get("acme", "/templates"); res.Status != 200 || res.Doc(t).Find("[data-testid=template-form]").Length() != 1 {
		t.Fatalf("templates page: got %d, want 200 with the new-template form", res.Status)
	}
	res := admin.post("acme", "/templates", url.Values{"name": {"Opening hours"}, "body": {"We are open 9–17, <b>Monday</b> to Friday."}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("create: got %d, want 303", res.Status)
	}
	for _, tt := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"ErrNameMissing", url.Values{"body": {"text"}}, "name"},
		{"ErrBodyMissing", url.Values{"name": {"Empty"}}, "body"},
		{"ErrDuplicateName", url.Values{"name": {"opening HOURS"}, "body": {"again"}}, "name"},
		{"ErrBodyTooLong", url.Values{"name": {"Long"}, "body": {strings.Repeat("a", app.MaxTemplateBody+1)}}, "body"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := admin.post("acme", "/templates", tt.form)
			if res.Status != http.StatusUnprocessableEntity {
				t.Errorf("got %d, want 422", res.Status)
			}
			if res.Doc(t).Find("[data-testid=error-"+tt.field+"]").Length() != 1 {
				t.Errorf("no error next to %s", tt.field)
			}
			if n := count(); n != 1 {
				t.Errorf("templates: got %d, want 1", n)
			}
		})
	}
	ts, _ := db.ListTemplates(ctx, "monday")
	if len(ts) != 1 {
		t.Fatalf("search by a word of the text: got %d templates, want 1", len(ts))
	}
	id := ts[0].ID
	page := admin.get("acme", "/templates")
	if body := page.Text(t, "[data-testid=template] .template-body"); body != "We are open 9–17, <b>Monday</b> to Friday." {
		t.Errorf("template text: got %q, want it as written, escaped", body)
	}
	if res := admin.post("acme", "/templates/"+id, url.Values{"name": {"Hours"}, "body": {"Open 9–18."}}); res.Status != http.StatusSeeOther {
		t.Errorf("edit: got %d, want 303", res.Status)
	}
	if tpl, _ := db.TemplateByID(ctx, id); tpl.Name != "Hours" || tpl.Body != "Open 9–18." {
		t.Errorf("after edit: got %q %q", tpl.Name, tpl.Body)
	}

	if _, err := db.CreateUser(ctx, app.NewUser{Email: "agent@acme.example", Name: "Agent", Password: "a good long password", Role: app.RoleAgent}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	agent := e.browser()
	agent.login("acme", "agent@acme.example", "a good long password")
	page = agent.get("acme", "/templates")
	if page.Status != 200 || page.Doc(t).Find("[data-testid=template]").Length() != 1 || page.Doc(t).Find("[data-testid=template-form]").Length() != 0 {
		t.Errorf("agent's templates page: got %d; want the template listed and no form", page.Status)
	}
	for _, path := range []string{"/templates", "/templates/" + id, "/templates/" + id + "/delete"} {
		if res := agent.post("acme", path, url.Values{"name": {"x"}, "body": {"y"}}); res.Status != http.StatusForbidden {
			t.Errorf("agent POST %s: got %d, want 403", path, res.Status)
		}
	}
	if res := admin.post("acme", "/templates/"+id+"/delete", nil); res.Status != http.StatusSeeOther || count() != 0 {
		t.Errorf("delete: got %d and %d templates, want 303 and none", res.Status, count())
	}
	deletedType := app.EventTemplateDeleted
	evs, err := db.ListEvents(ctx, app.EventFilter{Type: &deletedType})
	if err != nil || len(evs) != 1 || !strings.Contains(string(evs[0].Payload), "Open 9–18.") {
		t.Errorf("the deleted template's text should stay in the event log: %v %v", evs, err)
	}
}

// TestTemplateAPIIsolation: another workspace's template id answers exactly
// like one that never existed.
func TestTemplateAPIIsolation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	acme, globex := e.workspace("acme"), e.workspace("globex")
	tpl, err := e.db(acme).CreateTemplate(context.Background(), app.TemplateInput{Name: "Hours", Body: "Open 9–17."}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	b := e.apiClient(globex, app.RoleAdmin)
	for _, method := range []string{"GET", "PATCH", "DELETE"} {
		var body any
		if method == "PATCH" {
			body = map[string]any{"name": "Mine", "body": "now"}
		}
		foreign := b.call(method, "/api/v1/templates/"+tpl.ID, body)
		missing := b.call(method, "/api/v1/templates/01JNEVEREXISTEDAAAAAAAAAAA", body)
		if foreign.Status != http.StatusNotFound || foreign.Body != missing.Body {
			t.Errorf("%s another workspace's template: got %d %s, want the 404 of a missing one: %s", method, foreign.Status, foreign.Body, missing.Body)
		}
	}
	if got, _ := e.db(acme).TemplateByID(context.Background(), tpl.ID); got.Name != "Hours" {
		t.Errorf("the template changed: %+v", got)
	}
}
