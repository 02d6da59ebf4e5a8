package web_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"

	"parley/app"
	"parley/tenantdb"
)

// kbArticleRes is an article as the API answers, as far as tests read it.
type kbArticleRes struct {
	ID               string  `json:"id"`
	TranslationGroup string  `json:"translation_group"`
	Locale           string  `json:"locale"`
	Slug             string  `json:"slug"`
	CategoryID       *string `json:"category_id"`
	Title            string  `json:"title"`
	BodyMarkdown     string  `json:"body_markdown"`
	Published        bool    `json:"published"`
	PublishedVersion *struct {
		Title        string `json:"title"`
		BodyMarkdown string `json:"body_markdown"`
	} `json:"published_version"`
	HasChanges bool    `json:"has_unpublished_changes"`
	URL        *string `json:"url"`
}

type kbListRes struct {
	Data       []kbArticleRes `json:"data"`
	NextCursor *string        `json:"next_cursor"`
}

// kbAPI is a workspace with a token per role, the OpenAPI router, and a
// second workspace's admin.
type kbAPI struct {
	e                   *env
	db                  *tenantdb.DB
	admin, agent, sales apiClient
	other               apiClient
	router              routers.Router
}

func kbAPISetup(t *testing.T) *kbAPI {
	t.Helper()
	e := setup(t)
	ws := e.workspace("acme")
	k := &kbAPI{e: e, db: e.db(ws), admin: e.apiClient(ws, app.RoleAdmin), agent: e.apiClient(ws, app.RoleAgent),
		sales: e.apiClient(ws, app.RoleSales), other: e.apiClient(e.workspace("globex"), app.RoleAdmin)}
	if err := e.control.MapDomain(context.Background(), ws.Tenant.ID, "help.acme.example"); err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(k.admin.call("GET", "/api/v1/openapi.json", nil).Body))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid: %v", err)
	}
	if k.router, err = legacyrouter.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	return k
}

// check calls the API, wants status, and holds the exchange to openapi.json.
func (k *kbAPI) check(t *testing.T, c apiClient, method, path string, body any, want int) response {
	t.Helper()
	res := c.call(method, path, body)
	if res.Status != want {
		t.Fatalf("%s %s: got %d, want %d; body %s", method, path, res.Status, want, snippet(res.Body))
	}
	if err := validateExchange(context.Background(), k.router, c, method, path, body, res); err != nil {
		t.Errorf("%s %s → %d does not conform to openapi.json: %v", method, path, res.Status, err)
	}
	return res
}

func (k *kbAPI) events(t *testing.T) int {
	t.Helper()
	evs, err := k.db.ListEvents(context.Background(), app.EventFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func fieldsOf(t *testing.T, res response) []string {
	t.Helper()
	var out []string
	for _, f := range decode[apiErrorRes](t, res).Error.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestKBAPICategories(t *testing.T) {
	t.Parallel()
	k := kbAPISetup(t)
	c := decode[app.KBCategory](t, k.check(t, k.admin, "POST", "/api/v1/kb/categories",
		map[string]any{"name": "Getting started", "description": "First steps."}, 201))
	if c.Slug != "getting-started" || c.Position != 1 {
		t.Errorf("created: %+v", c)
	}
	path := "/api/v1/kb/categories/" + c.ID
	before := k.events(t)
	for _, tc := range []struct {
		name       string
		caller     apiClient
		method     string
		path       string
		body       any
		status     int
		wantFields string
	}{
		{"AgentLists", k.agent, "GET", "/api/v1/kb/categories", nil, 200, ""},
		{"AgentGets", k.agent, "GET", path, nil, 200, ""},
		{"ErrAgentCreates", k.agent, "POST", "/api/v1/kb/categories", map[string]any{"name": "X"}, 403, ""},
		{"ErrAgentRenames", k.agent, "PATCH", path, map[string]any{"name": "X"}, 403, ""},
		{"ErrAgentDeletes", k.agent, "DELETE", path, nil, 403, ""},
		{"ErrSalesLists", k.sales, "GET", "/api/v1/kb/categories", nil, 403, ""},
		{"ErrNameRequired", k.admin, "POST", "/api/v1/kb/categories", map[string]any{"name": " ", "slug": "Not a slug"}, 422, "name slug"},
		{"ErrSlugTaken", k.admin, "POST", "/api/v1/kb/categories", map[string]any{"name": "Again", "slug": "getting-started"}, 422, "slug"},
		{"ErrUnknownField", k.admin, "POST", "/api/v1/kb/categories", map[string]any{"name": "X", "colour": "red"}, 422, ""},
		{"ErrUnknownID", k.admin, "GET", "/api/v1/kb/categories/nope", nil, 404, ""},
		{"ErrOtherWorkspace", k.other, "GET", path, nil, 404, ""},
		{"ErrOtherWorkspacePatch", k.other, "PATCH", path, map[string]any{"name": "Mine"}, 404, ""},
		{"ErrNoToken", apiClient{t: t, e: k.e, host: "acme"}, "GET", "/api/v1/kb/categories", nil, 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := k.check(t, tc.caller, tc.method, tc.path, tc.body, tc.status)
			if tc.wantFields != "" {
				if got := strings.Join(fieldsOf(t, res), " "); got != tc.wantFields {
					t.Errorf("fields: got %q, want %q", got, tc.wantFields)
				}
			}
		})
	}
	if after := k.events(t); after != before {
		t.Errorf("refused requests wrote %d events", after-before)
	}
	got := decode[app.KBCategory](t, k.check(t, k.admin, "PATCH", path, map[string]any{"name": "Start here"}, 200))
	if got.Name != "Start here" || got.Slug != "getting-started" {
		t.Errorf("renamed: %+v", got)
	}
	list := decode[struct{ Data []app.KBCategory }](t, k.check(t, k.admin, "GET", "/api/v1/kb/categories", nil, 200))
	if len(list.Data) != 1 {
		t.Errorf("list: %+v", list)
	}
	k.check(t, k.admin, "DELETE", path, nil, 204)
	k.check(t, k.admin, "DELETE", path, nil, 404)
}

func TestKBAPIArticles(t *testing.T) {
	t.Parallel()
	k := kbAPISetup(t)
	cat := decode[app.KBCategory](t, k.check(t, k.admin, "POST", "/api/v1/kb/categories", map[string]any{"name": "Billing"}, 201))

	// An agent writes a draft; a lead or admin publishes it.
	draft := decode[kbArticleRes](t, k.check(t, k.agent, "POST", "/api/v1/kb/articles", map[string]any{
		"title": "Pay an invoice", "body_markdown": "Open **Billing**.", "category_id": cat.ID, "published": false}, 201))
	if draft.Published || draft.PublishedVersion != nil || draft.URL != nil || !draft.HasChanges || draft.Slug != "pay-an-invoice" ||
		draft.Locale != "en" || draft.CategoryID == nil || *draft.CategoryID != cat.ID {
		t.Fatalf("draft: %+v", draft)
	}
	path := "/api/v1/kb/articles/" + draft.ID
	before := k.events(t)
	for _, tc := range []struct {
		name       string
		caller     apiClient
		method     string
		path       string
		body       any
		status     int
		wantFields string
	}{
		{"ErrAgentCreatesPublished", k.agent, "POST", "/api/v1/kb/articles", map[string]any{"title": "Now", "body_markdown": "x", "published": true}, 403, ""},
		{"ErrAgentPublishes", k.agent, "PATCH", path, map[string]any{"published": true}, 403, ""},
		{"ErrAgentPublishesWithEdit", k.agent, "PATCH", path, map[string]any{"title": "Changed", "published": true}, 403, ""},
		{"ErrSalesReads", k.sales, "GET", path, nil, 403, ""},
		{"ErrSalesWrites", k.sales, "POST", "/api/v1/kb/articles", map[string]any{"title": "X"}, 403, ""},
		{"ErrTitleRequired", k.admin, "POST", "/api/v1/kb/articles", map[string]any{"title": "", "body_markdown": "x"}, 422, "title"},
		{"ErrEverythingWrong", k.admin, "POST", "/api/v1/kb/articles", map[string]any{"title": strings.Repeat("t", 201),
			"body_markdown": strings.Repeat("b", 200<<10+1), "locale": "english", "slug": "Bad Slug", "description": strings.Repeat("d", 301)},
			422, "title body_markdown description locale slug"},
		{"ErrUnknownCategory", k.admin, "POST", "/api/v1/kb/articles", map[string]any{"title": "X", "category_id": "nope"}, 422, "category_id"},
		{"ErrTranslationOfUnknown", k.admin, "POST", "/api/v1/kb/articles", map[string]any{"title": "X", "translation_of": "nope"}, 422, "translation_of"},
		{"ErrPublishEmpty", k.admin, "POST", "/api/v1/kb/articles", map[string]any{"title": "Empty", "published": true}, 422, "body_markdown"},
		{"ErrWrongType", k.admin, "POST", "/api/v1/kb/articles", map[string]any{"title": "X", "published": "yes"}, 422, "published"},
		{"ErrPatchEmptyTitle", k.admin, "PATCH", path, map[string]any{"title": " "}, 422, "title"},
		{"ErrPatchBadLocale", k.agent, "PATCH", path, map[string]any{"locale": "x"}, 422, "locale"},
		{"ErrUnknownID", k.admin, "GET", "/api/v1/kb/articles/nope", nil, 404, ""},
		{"ErrOtherWorkspaceGet", k.other, "GET", path, nil, 404, ""},
		{"ErrOtherWorkspacePatch", k.other, "PATCH", path, map[string]any{"published": true}, 404, ""},
		{"ErrOtherWorkspaceDelete", k.other, "DELETE", path, nil, 404, ""},
		{"ErrListPublishedMaybe", k.admin, "GET", "/api/v1/kb/articles?published=maybe&locale=english&limit=0", nil, 422, "locale published limit"},
		{"ErrListCursor", k.admin, "GET", "/api/v1/kb/articles?cursor=nope", nil, 422, "cursor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := k.check(t, tc.caller, tc.method, tc.path, tc.body, tc.status)
			if tc.wantFields != "" {
				if got := strings.Join(fieldsOf(t, res), " "); got != tc.wantFields {
					t.Errorf("fields: got %q, want %q", got, tc.wantFields)
				}
			}
		})
	}
	if after := k.events(t); after != before {
		t.Errorf("refused requests wrote %d events", after-before)
	}
	if a := decode[kbArticleRes](t, k.check(t, k.admin, "GET", path, nil, 200)); a.Published || a.Title != "Pay an invoice" {
		t.Errorf("after refused changes: %+v", a)
	}

	pub := decode[kbArticleRes](t, k.check(t, k.admin, "PATCH", path, map[string]any{"published": true}, 200))
	if !pub.Published || pub.URL == nil || *pub.URL != "http://help.acme.example/help/articles/pay-an-invoice" || pub.HasChanges {
		t.Fatalf("published: %+v", pub)
	}
	edited := decode[kbArticleRes](t, k.check(t, k.agent, "PATCH", path, map[string]any{"body_markdown": "Open **Billing** → Invoices."}, 200))
	if !edited.HasChanges || edited.PublishedVersion == nil || edited.PublishedVersion.BodyMarkdown != "Open **Billing**." {
		t.Errorf("agent edit of a published article: %+v", edited)
	}
	if page := k.e.browser().get("acme", "/help/articles/pay-an-invoice"); !strings.Contains(page.Body, "Open <strong>Billing</strong>.") {
		t.Errorf("public page changed before publishing")
	}
	k.check(t, k.agent, "PATCH", path, map[string]any{"slug": "pay"}, 403)
	k.check(t, k.agent, "PATCH", path, map[string]any{"category_id": ""}, 403)
	k.check(t, k.agent, "DELETE", path, nil, 403)

	de := decode[kbArticleRes](t, k.check(t, k.admin, "POST", "/api/v1/kb/articles", map[string]any{"title": "Rechnung bezahlen",
		"body_markdown": "Öffnen Sie **Abrechnung**.", "locale": "de", "translation_of": draft.ID, "published": true,
		"description": "Wie Sie zahlen.", "slug": "rechnung-bezahlen"}, 201))
	if de.TranslationGroup != draft.ID || de.Locale != "de" || de.CategoryID == nil {
		t.Errorf("translation: %+v", de)
	}
	k.check(t, k.admin, "POST", "/api/v1/kb/articles", map[string]any{"title": "Zweite", "locale": "de", "translation_of": draft.ID}, 422)
	note := decode[kbArticleRes](t, k.check(t, k.agent, "POST", "/api/v1/kb/articles", map[string]any{"title": "Internal note"}, 201))

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{note.ID, de.ID, draft.ID}},
		{"?published=true", []string{de.ID, draft.ID}},
		{"?published=false", []string{note.ID}},
		{"?locale=DE", []string{de.ID}},
		{"?category_id=" + cat.ID, []string{de.ID, draft.ID}},
		{"?category_id=none", []string{note.ID}},
		{"?q=invoices", []string{draft.ID}},
		{"?limit=2", []string{note.ID, de.ID}},
	} {
		list := decode[kbListRes](t, k.check(t, k.admin, "GET", "/api/v1/kb/articles"+tc.query, nil, 200))
		var got []string
		for _, a := range list.Data {
			got = append(got, a.ID)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("list %q: got %v, want %v", tc.query, got, tc.want)
		}
		if tc.query == "?limit=2" {
			if list.NextCursor == nil {
				t.Fatal("no next cursor")
			}
			next := decode[kbListRes](t, k.check(t, k.admin, "GET", "/api/v1/kb/articles?limit=2&cursor="+*list.NextCursor, nil, 200))
			if len(next.Data) != 1 || next.Data[0].ID != draft.ID || next.NextCursor != nil {
				t.Errorf("second page: %+v", next)
			}
		}
	}

	k.check(t, k.agent, "DELETE", "/api/v1/kb/articles/"+note.ID, nil, 204)
	unpub := decode[kbArticleRes](t, k.check(t, k.admin, "PATCH", path, map[string]any{"published": false}, 200))
	if unpub.Published || unpub.URL != nil || unpub.PublishedVersion == nil {
		t.Errorf("unpublished: %+v", unpub)
	}
	if page := k.e.browser().get("acme", "/help/articles/pay-an-invoice"); page.Status != 404 {
		t.Errorf("unpublished article page: got %d", page.Status)
	}
	k.check(t, k.admin, "DELETE", "/api/v1/kb/articles/"+de.ID, nil, 204)
	k.check(t, k.admin, "GET", "/api/v1/kb/articles/"+de.ID, nil, 404)
}

// apiRoutePattern finds the /api/v1 routes registered in routes.go.
var apiRoutePattern = regexp.MustCompile(`api\.Handle(?:Func)?\("([A-Z]+) (/api/v1/[^"]*)"`)

// TestOpenAPIDocumentsEveryRoute holds routes.go and openapi.json
// together: every /api/v1 route is documented, with its method.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	k := kbAPISetup(t)
	doc, err := openapi3.NewLoader().LoadFromData([]byte(k.admin.call("GET", "/api/v1/openapi.json", nil).Body))
	if err != nil {
		t.Fatal(err)
	}
	routes := apiRoutePattern.FindAllStringSubmatch(string(src), -1)
	if len(routes) < 40 {
		t.Fatalf("found only %d API routes in routes.go; has the pattern changed?", len(routes))
	}
	for _, m := range routes {
		method, path := m[1], m[2]
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("%s %s is not in openapi.json", method, path)
		}
	}
}
