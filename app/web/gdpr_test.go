package web_test

import (
	"archive/zip"
	"context"
	"database/sql"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"

	"parley/app"
	"parley/app/web"
	"parley/jobs"
	"parley/tenantdb"
)

// exportQueue builds exports at once, in the request that enqueues them,
// unless hold is set; it counts what was enqueued.
type exportQueue struct {
	mu       sync.Mutex
	tenants  *tenantdb.Manager
	hold     bool
	enqueued []string
}

func (q *exportQueue) EnqueueExport(ctx context.Context, tenantID, exportID string) error {
	q.mu.Lock()
	q.enqueued = append(q.enqueued, exportID)
	hold := q.hold
	q.mu.Unlock()
	if hold {
		return nil
	}
	db, release, err := q.tenants.Acquire(ctx, tenantID)
	if err != nil {
		return err
	}
	defer release()
	_, err = db.BuildExport(ctx, exportID)
	return err
}

func (q *exportQueue) count(id string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, e := range q.enqueued {
		if e == id {
			n++
		}
	}
	return n
}

// erasureQueue records the erasures enqueued; run carries them out as
// their job would.
type erasureQueue struct {
	mu       sync.Mutex
	tenants  *tenantdb.Manager
	enqueued [][2]string // tenant, client
}

func (q *erasureQueue) EnqueueErasure(ctx context.Context, tenantID, clientID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.enqueued = append(q.enqueued, [2]string{tenantID, clientID})
	return nil
}

func (q *erasureQueue) count(clientID string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, e := range q.enqueued {
		if e[1] == clientID {
			n++
		}
	}
	return n
}

// run works every job enqueued so far; a second job for one client finds
// nothing to do, as the real one does.
func (q *erasureQueue) run(t *testing.T) {
	t.Helper()
	q.mu.Lock()
	jobs := q.enqueued
	q.enqueued = nil
	q.mu.Unlock()
	ctx := context.Background()
	for _, j := range jobs {
		db, release, err := q.tenants.Acquire(ctx, j[0])
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.CompleteErasure(ctx, j[1])
		release()
		if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
			t.Fatalf("erasure job for %s: %v", j[1], err)
		}
	}
}

func gdprEnv(t *testing.T) (*env, *exportQueue, *erasureQueue) {
	t.Helper()
	q, eq := &exportQueue{}, &erasureQueue{}
	e := setup(t, func(c *web.Config) { c.Exports, c.Erasures = q, eq })
	q.tenants, eq.tenants = e.tenants, e.tenants
	return e, q, eq
}

// erasureRes is an erasure request as the API answers it.
type erasureRes struct {
	ClientID    string    `json:"client_id"`
	Status      string    `json:"status"`
	RequestedAt time.Time `json:"requested_at"`
	RequestedBy struct {
		Type string `json:"type"`
	} `json:"requested_by"`
}

// exportRes is an export as the API answers it.
type exportRes struct {
	ID          string `json:"id"`
	ClientID    string `json:"client_id"`
	Status      string `json:"status"`
	DownloadURL string `json:"download_url"`
	Downloads   int    `json:"downloads"`
}

// zipFiles reads an archive's files by name.
func zipFiles(t *testing.T, body string) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("archive: %v", err)
	}
	out := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = string(b)
	}
	return out
}

func TestGDPRAPI(t *testing.T) {
	t.Parallel()
	e, q, eq := gdprEnv(t)
	ws := e.workspace("acme")
	a := e.apiClient(ws, app.RoleAdmin)
	bravo := e.apiClient(e.workspace("bravo"), app.RoleAdmin)
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData(mustGet(t, a, "/api/v1/openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	router, err := legacyrouter.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, c apiClient, method, path string, want int) response {
		t.Helper()
		res := c.call(method, path, nil)
		if res.Status != want {
			t.Fatalf("%s %s: got %d, want %d; body %s", method, path, res.Status, want, snippet(res.Body))
		}
		if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			if err := validateExchange(ctx, router, c, method, path, nil, res); err != nil {
				t.Errorf("%s %s → %d does not conform to openapi.json: %v", method, path, res.Status, err)
			}
		}
		return res
	}
	kim := a.create(map[string]any{"first_name": "Kim", "last_name": "Sørensen",
		"contacts": []map[string]any{{"type": "email", "value": "kim@example.com"}}})
	a.call("POST", "/api/v1/clients/"+kim.ID+"/notes", map[string]any{"body": "Kim's secret note."})
	lou := a.create(map[string]any{"first_name": "Lou"})
	const never = "01JNEVEREXISTEDAAAAAAAAAAA"
	var export exportRes

	t.Run("ExportAccepted", func(t *testing.T) {
		q.hold = true
		res := check(t, a, "POST", "/api/v1/clients/"+kim.ID+"/export", http.StatusAccepted)
		export = decode[exportRes](t, res)
		if export.Status != "pending" || export.ClientID != kim.ID || res.Header.Get("Location") != "/api/v1/exports/"+export.ID {
			t.Errorf("202: got %+v, Location %q", export, res.Header.Get("Location"))
		}
		if got := decode[exportRes](t, check(t, a, "GET", "/api/v1/exports/"+export.ID, http.StatusOK)); got.Status != "pending" || got.DownloadURL != "" {
			t.Errorf("status while pending: got %+v", got)
		}
		check(t, a, "GET", "/api/v1/exports/"+export.ID+"?download=1", http.StatusConflict)
	})
	t.Run("LostEnqueueRepaired", func(t *testing.T) {
		q.hold = false
		e.clock.Advance(2 * time.Minute) // pending this long, its job was lost
		got := decode[exportRes](t, check(t, a, "GET", "/api/v1/exports/"+export.ID, http.StatusOK))
		if q.count(export.ID) != 2 {
			t.Errorf("enqueued: got %d times, want again after a minute", q.count(export.ID))
		}
		if got = decode[exportRes](t, check(t, a, "GET", "/api/v1/exports/"+export.ID, http.StatusOK)); got.Status != "ready" ||
			got.DownloadURL != "/api/v1/exports/"+export.ID+"?download=1" {
			t.Errorf("after the job: got %+v, want ready with a download URL", got)
		}
	})
	t.Run("Download", func(t *testing.T) {
		for name, req := range map[string]func() response{
			"Query":  func() response { return a.call("GET", "/api/v1/exports/"+export.ID+"?download=1", nil) },
			"Accept": func() response { return acceptZip(a, "/api/v1/exports/"+export.ID) },
		} {
			res := req()
			if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/zip" ||
				!strings.HasPrefix(res.Header.Get("Content-Disposition"), `attachment; filename="parley-export-`+kim.ID) {
				t.Fatalf("%s: got %d %v", name, res.Status, res.Header)
			}
			if files := zipFiles(t, res.Body); !strings.Contains(files["client.json"], "Kim's secret note.") || files["README.txt"] == "" {
				t.Errorf("%s: archive lacks the note or the README", name)
			}
		}
		if got := decode[exportRes](t, a.call("GET", "/api/v1/exports/"+export.ID, nil)); got.Downloads != 2 {
			t.Errorf("downloads: got %d, want 2", got.Downloads)
		}
		typ := app.EventExportDownloaded
		evs, _ := e.db(ws).ListEvents(ctx, app.EventFilter{Type: &typ})
		if len(evs) != 2 || evs[0].Actor.Type != app.ActorToken {
			t.Errorf("download events: got %+v, want two by the token", evs)
		}
	})
	t.Run("Permissions", func(t *testing.T) {
		for _, role := range []app.Role{app.RoleLead, app.RoleSales, app.RoleAgent} {
			c := e.apiClient(ws, role)
			check(t, c, "POST", "/api/v1/clients/"+kim.ID+"/export", http.StatusForbidden)
			check(t, c, "GET", "/api/v1/exports/"+export.ID, http.StatusForbidden)
			check(t, c, "POST", "/api/v1/clients/"+lou.ID+"/erase", http.StatusForbidden)
		}
		check(t, e.apiClient(ws, app.RoleAgent), "GET", "/api/v1/audit", http.StatusForbidden)
	})
	t.Run("OtherWorkspaceSameAsMissing", func(t *testing.T) {
		for _, tc := range []struct{ method, path string }{
			{"POST", "/api/v1/clients/%s/export"},
			{"POST", "/api/v1/clients/%s/erase"},
			{"GET", "/api/v1/exports/%s"},
			{"GET", "/api/v1/exports/%s?download=1"},
		} {
			id := kim.ID
			if strings.Contains(tc.path, "exports") {
				id = export.ID
			}
			foreign := check(t, bravo, tc.method, strings.Replace(tc.path, "%s", id, 1), http.StatusNotFound)
			missing := check(t, bravo, tc.method, strings.Replace(tc.path, "%s", never, 1), http.StatusNotFound)
			if foreign.Body != missing.Body {
				t.Errorf("%s %s: foreign %s, missing %s", tc.method, tc.path, foreign.Body, missing.Body)
			}
		}
		if got := decode[exportRes](t, a.call("GET", "/api/v1/exports/"+export.ID, nil)); got.Downloads != 2 {
			t.Errorf("bravo's attempts counted as downloads: %d", got.Downloads)
		}
	})
	t.Run("EraseRefusedOnLegalHold", func(t *testing.T) {
		if res := a.call("PUT", "/api/v1/clients/"+kim.ID+"/legal-hold", map[string]any{"legal_hold": true}); res.Status != http.StatusOK {
			t.Fatalf("legal hold: got %d %s", res.Status, res.Body)
		}
		res := check(t, a, "POST", "/api/v1/clients/"+kim.ID+"/erase", http.StatusConflict)
		if !strings.Contains(res.Body, "legal hold") {
			t.Errorf("409: got %s, want it to name the legal hold", res.Body)
		}
		check(t, a, "GET", "/api/v1/clients/"+kim.ID, http.StatusOK)
		if n := eq.count(kim.ID); n != 0 {
			t.Errorf("erasures enqueued: got %d, want none", n)
		}
		a.call("PUT", "/api/v1/clients/"+kim.ID+"/legal-hold", map[string]any{"legal_hold": false})
	})
	started := app.EventClientErasureStarted
	t.Run("EraseAccepted", func(t *testing.T) {
		got := decode[erasureRes](t, check(t, a, "POST", "/api/v1/clients/"+kim.ID+"/erase", http.StatusAccepted))
		if got.ClientID != kim.ID || got.Status != "pending" || !got.RequestedAt.Equal(e.clock.Now()) ||
			got.RequestedBy.Type != app.ActorToken {
			t.Errorf("202: got %+v, want pending, asked now by the token", got)
		}
		// The client leaves at once; the job has not run yet.
		check(t, a, "GET", "/api/v1/clients/"+kim.ID, http.StatusNotFound)
		if n := eq.count(kim.ID); n != 1 {
			t.Errorf("erasures enqueued: got %d, want 1", n)
		}
		// Asking again while pending answers the same request and records
		// nothing new (its job is enqueued again, which is harmless).
		e.clock.Advance(time.Minute)
		again := decode[erasureRes](t, check(t, a, "POST", "/api/v1/clients/"+kim.ID+"/erase", http.StatusAccepted))
		if again != got {
			t.Errorf("second request: got %+v, want the first %+v", again, got)
		}
		if evs, _ := e.db(ws).ListEvents(ctx, app.EventFilter{Type: &started}); len(evs) != 1 || evs[0].Actor.Type != app.ActorToken {
			t.Errorf("%s events: got %+v, want one by the token", started, evs)
		}
	})
	t.Run("Erased", func(t *testing.T) {
		eq.run(t)
		typ := app.EventClientErased
		evs, _ := e.db(ws).ListEvents(ctx, app.EventFilter{Type: &typ})
		if len(evs) != 1 || evs[0].AggregateID != kim.ID || evs[0].Actor.Type != app.ActorToken {
			t.Fatalf("erased events: got %+v, want one naming who asked", evs)
		}
		check(t, a, "GET", "/api/v1/clients/"+kim.ID, http.StatusNotFound)
		check(t, a, "GET", "/api/v1/exports/"+export.ID, http.StatusNotFound)
		check(t, a, "POST", "/api/v1/clients/"+kim.ID+"/erase", http.StatusNotFound)
		check(t, a, "POST", "/api/v1/clients/"+kim.ID+"/export", http.StatusNotFound)
		check(t, a, "GET", "/api/v1/clients/"+lou.ID, http.StatusOK)
	})
	t.Run("Audit", func(t *testing.T) {
		res := check(t, a, "GET", "/api/v1/audit?from=2026-11-23&to=2026-11-23", http.StatusOK)
		evs := decode[[]map[string]any](t, res)
		var erased bool
		for _, ev := range evs {
			erased = erased || ev["type"] == "ClientErased"
		}
		for _, word := range []string{"Sørensen", "kim@example.com", "secret note"} {
			if strings.Contains(res.Body, word) {
				t.Errorf("audit export still holds %q of the erased client", word)
			}
		}
		if len(evs) == 0 || !erased || !strings.Contains(res.Header.Get("Content-Disposition"), "parley-audit-acme-from-20261123-to-20261123.json") {
			t.Errorf("audit JSON: got %d events (erasure among them: %v), %q", len(evs), erased, res.Header.Get("Content-Disposition"))
		}
		if evs := decode[[]map[string]any](t, check(t, a, "GET", "/api/v1/audit?from=2026-11-24", http.StatusOK)); len(evs) != 0 {
			t.Errorf("audit after the day: got %d events, want none", len(evs))
		}
		check(t, a, "GET", "/api/v1/audit?format=xml", http.StatusUnprocessableEntity)
		check(t, a, "GET", "/api/v1/audit?from=yesterday", http.StatusUnprocessableEntity)
		csvRes := a.call("GET", "/api/v1/audit?format=csv", nil)
		if csvRes.Status != http.StatusOK || csvRes.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("audit CSV: got %d %q", csvRes.Status, csvRes.Header.Get("Content-Type"))
		}
		rows, err := csv.NewReader(strings.NewReader(csvRes.Body)).ReadAll()
		if err != nil || len(rows) != len(evs)+1 || strings.Join(rows[0], ",") != "id,occurred_at,type,aggregate_type,aggregate_id,actor_type,actor_id,actor_name,payload" {
			t.Errorf("audit CSV: got %d rows (%v), header %v", len(rows), err, rows[0])
		}
	})
}

// TestAuditCSVDefusesFormulas: a cell a spreadsheet would run is written
// with a leading apostrophe.
func TestAuditCSVDefusesFormulas(t *testing.T) {
	t.Parallel()
	e, _, _ := gdprEnv(t)
	ws := e.workspace("acme")
	db := e.db(ws)
	names := []string{"=HYPERLINK(\"http://evil\")", "+1+1", "-2+3", "@SUM(A1)", "Plain"}
	for _, name := range names {
		_, secret, err := db.CreateToken(context.Background(), app.NewAPIToken{Name: name, Role: app.RoleAdmin}, app.CLIActor)
		if err != nil {
			t.Fatal(err)
		}
		c := apiClient{t: t, e: e, db: db, host: "acme", token: secret}
		c.create(map[string]any{"first_name": "By " + name})
	}
	// Names are trimmed when typed, so the two blank starts are written
	// straight into the log.
	raw, err := sql.Open("sqlite", e.tenants.TenantPath(ws.Tenant.ID)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"\tTabbed", "\rReturn"} {
		if _, err := raw.Exec(`INSERT INTO events (id, type, aggregate_type, aggregate_id, actor_type, actor_name, occurred_at)
			VALUES (?, 'ClientCreated', 'client', 'x', 'cli', ?, '2026-11-23 09:00:00+00:00')`, "01JBLANKSTART00000000000"+string(rune('A'+i))+"A", name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	raw.Close()
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	res := admin.get("acme", "/settings/audit/export?format=csv&type=ClientCreated")
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Disposition"), `attachment; filename="parley-audit-acme.csv"`) {
		t.Fatalf("export: got %d %v", res.Status, res.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range rows[1:] {
		got[r[7]] = true // actor_name
	}
	for _, name := range names {
		want := name
		if name != "Plain" {
			want = "'" + name
		}
		if !got[want] {
			t.Errorf("actor %q: want the cell %q among %v", name, want, got)
		}
	}
}

func TestGDPRPages(t *testing.T) {
	t.Parallel()
	e, _, eq := gdprEnv(t)
	ws := e.workspace("acme")
	db := e.db(ws)
	ctx := context.Background()
	c, err := db.CreateClient(ctx, app.ClientInput{FirstName: "Mona", LastName: "Lisa",
		Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "mona@example.com"}}}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	held, err := db.CreateClient(ctx, app.ClientInput{FirstName: "Held"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetLegalHold(ctx, held.ID, true, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, app.NewUser{Email: "sales@acme.example", Name: "Sam Sales", Password: "a good long password",
		Role: app.RoleSales}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	base := "/clients/" + c.ID
	form := func(kv ...string) url.Values {
		f := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	exportHref := ""
	runClientCases(t, admin, "acme", []clientCase{
		{name: "ProfileLinksTheSection", path: base, status: 200, sel: "[data-testid=privacy-link] a[href='" + base + "/privacy']",
			text: "Export or erase"},
		{name: "Page", path: base + "/privacy", status: 200, sel: "[data-testid=privacy]", text: "Export data"},
		{name: "Fragment", path: base + "/privacy", header: map[string]string{"HX-Request": "true", "HX-Target": "privacy"},
			status: 200, sel: "section#privacy [data-testid=erase-form]", absent: "nav"},
		{name: "RequestExport", method: "POST", path: base + "/exports", status: 303, location: base + "/privacy",
			flash: "Export requested"},
		{name: "ExportListed", path: base + "/privacy", status: 200, sel: "[data-testid=export-row][data-status=ready]",
			text: "Download", check: func(t *testing.T) {
				doc := admin.get("acme", base+"/privacy").Doc(t)
				exportHref, _ = doc.Find("[data-testid=download-export]").Attr("href")
			}},
		{name: "ErrWrongName", method: "POST", path: base + "/erase", form: form("confirm", "Mona"), status: 422,
			sel: "[data-testid=erase] [data-testid=alert]", text: "exactly as shown", check: func(t *testing.T) {
				if _, err := db.ClientByID(ctx, c.ID); err != nil {
					t.Errorf("client after a refused erasure: %v", err)
				}
			}},
		{name: "HeldCannotBeErased", path: "/clients/" + held.ID + "/privacy", status: 200, sel: "[data-testid=legal-hold]",
			text: "legal hold", absent: "[data-testid=erase-form]"},
		{name: "ErrHeldPosted", method: "POST", path: "/clients/" + held.ID + "/erase", form: form("confirm", "Held"), status: 409,
			sel: "[data-testid=legal-hold]", text: "cannot be erased"},
	})
	t.Run("Download", func(t *testing.T) {
		if exportHref == "" {
			t.Fatal("no download link")
		}
		res := admin.get("acme", exportHref)
		if res.Status != http.StatusOK || res.Header.Get("Content-Type") != "application/zip" {
			t.Fatalf("download: got %d %v", res.Status, res.Header)
		}
		if files := zipFiles(t, res.Body); !strings.Contains(files["client.json"], "mona@example.com") {
			t.Errorf("archive lacks the contact")
		}
		// Another client's path does not reach this export.
		wrong := strings.Replace(exportHref, c.ID, held.ID, 1)
		if res := admin.get("acme", wrong); res.Status != http.StatusNotFound {
			t.Errorf("export under another client: got %d, want 404", res.Status)
		}
	})
	t.Run("SalesMayNot", func(t *testing.T) {
		sales := e.browser()
		sales.login("acme", "sales@acme.example", "a good long password")
		runClientCases(t, sales, "acme", []clientCase{
			{name: "SectionSaysWho", path: base + "/privacy", status: 200, sel: "[data-testid=privacy]", text: "Only admins",
				absent: "[data-testid=erase-form]"},
			{name: "ErrExport", method: "POST", path: base + "/exports", status: 403},
			{name: "ErrDownload", path: exportHref, status: 403},
			{name: "ErrErase", method: "POST", path: base + "/erase", form: form("confirm", "Mona Lisa"), status: 403},
		})
	})
	runClientCases(t, admin, "acme", []clientCase{
		{name: "Erase", method: "POST", path: base + "/erase", form: form("confirm", "  mona   LISA "), status: 303,
			location: "/clients", flash: "erased for good within minutes; it is recorded in the audit log",
			check: func(t *testing.T) {
				if n := eq.count(c.ID); n != 1 {
					t.Errorf("erasures enqueued: got %d, want 1", n)
				}
				typ := app.EventClientErasureStarted
				if evs, _ := db.ListEvents(ctx, app.EventFilter{Type: &typ}); len(evs) != 1 || evs[0].Actor.Name != "Admin of acme" {
					t.Errorf("%s events: got %+v, want one by the admin", typ, evs)
				}
			}},
		// Gone from the app at once, before the job has run.
		{name: "ProfileGone", path: base, status: 404},
		{name: "SectionGone", path: base + "/privacy", status: 404},
		{name: "NotListed", path: "/clients", status: 200, absent: "a[href='" + base + "']"},
		{name: "ErrEraseAgain", method: "POST", path: base + "/erase", form: form("confirm", "Mona Lisa"), status: 404},
		{name: "AuditPageOffersDownloads", path: "/settings/audit?type=ClientCreated", status: 200,
			sel: "[data-testid=audit-export-csv][href='/settings/audit/export?format=csv&type=ClientCreated']", text: "CSV"},
		{name: "ErrAuditFormat", path: "/settings/audit/export?format=xls", status: 422},
	})
}

// lateQueue hands erasures to a job client started after the server (it
// needs the control DB and tenants the server is built with).
type lateQueue struct{ jc atomic.Pointer[jobs.Client] }

func (q *lateQueue) EnqueueErasure(ctx context.Context, tenantID, clientID string) error {
	return q.jc.Load().EnqueueErasure(ctx, tenantID, clientID)
}

// TestErasureRunsAsAJob: asked for on the profile or through the API, the
// erasure answers at once and a real River job erases the client.
func TestErasureRunsAsAJob(t *testing.T) {
	t.Parallel()
	q := &lateQueue{}
	e := setup(t, func(c *web.Config) { c.Erasures = q })
	ws := e.workspace("acme")
	db := e.db(ws)
	ctx := context.Background()
	jc, err := jobs.New(ctx, jobs.Config{ControlPath: filepath.Join(e.dataDir, "control.db"), Control: e.control,
		Tenants: e.tenants, Now: e.clock.Now, PollInterval: 10 * time.Millisecond, ReconcileEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	q.jc.Store(jc)
	if err := jc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := jc.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	ch, err := db.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	// withHistory makes a client who wrote in, with a note in the chat.
	withHistory := func(first, email string) (*app.Client, app.Message) {
		c, err := db.CreateClient(ctx, app.ClientInput{FirstName: first, LastName: "Quist",
			Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: email}}}, app.CLIActor)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: ch.ID, Text: first + " asks about rhubarbzq.",
			From: app.ContactInput{Type: app.ContactEmail, Value: email}, ProviderMessageID: "p-" + first})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "Call " + first + " back.", Note: true},
			app.ChatScope{All: true}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
		return c, m
	}
	waitErased := func(t *testing.T, id string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			_, err := db.DataSubject(ctx, id)
			if app.ErrorCode(err) == app.ENOTFOUND {
				return
			} else if err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("client %s: not erased", id)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	erasedBy := func(t *testing.T, id string) app.Actor {
		t.Helper()
		typ := app.EventClientErased
		evs, err := db.ListEvents(ctx, app.EventFilter{Type: &typ, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.AggregateID == id {
				return ev.Actor
			}
		}
		t.Fatalf("no %s event for %s", typ, id)
		return app.Actor{}
	}

	t.Run("Web", func(t *testing.T) {
		c, m := withHistory("Ulla", "ulla@example.com")
		admin := e.browser()
		admin.login("acme", "admin@acme.example", "correct horse battery")
		runClientCases(t, admin, "acme", []clientCase{
			{name: "Erase", method: "POST", path: "/clients/" + c.ID + "/erase", form: url.Values{"confirm": {"Ulla Quist"}},
				status: 303, location: "/clients", flash: "The erasure has started and runs in the background"},
			{name: "ProfileGone", path: "/clients/" + c.ID, status: 404},
		})
		waitErased(t, c.ID)
		if _, err := db.MessageByID(ctx, m.ID, app.ChatScope{All: true}); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("message after erasure: got %v, want not found", err)
		}
		if by := erasedBy(t, c.ID); by.Type != app.ActorUser || by.Name != "Admin of acme" {
			t.Errorf("erased by: got %+v, want the admin who asked", by)
		}
		typ := app.EventMessageReceived
		evs, _ := db.ListEvents(ctx, app.EventFilter{Type: &typ})
		for _, ev := range evs {
			if strings.Contains(string(ev.Payload), "Ulla") || !strings.Contains(string(ev.Payload), `"erased":true`) {
				t.Errorf("event not anonymised: %s", ev.Payload)
			}
		}
	})
	t.Run("API", func(t *testing.T) {
		c, m := withHistory("Vera", "vera@example.com")
		a := e.apiClient(ws, app.RoleAdmin)
		res := a.call("POST", "/api/v1/clients/"+c.ID+"/erase", nil)
		if got := decode[erasureRes](t, res); res.Status != http.StatusAccepted || got.Status != "pending" {
			t.Fatalf("erase: got %d %+v, want 202 pending", res.Status, got)
		}
		waitErased(t, c.ID)
		if _, err := db.ChatByID(ctx, m.ChatID, app.ChatScope{All: true}); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("chat after erasure: got %v, want not found", err)
		}
		for _, path := range []string{"/api/v1/clients/" + c.ID, "/api/v1/clients/" + c.ID + "/erase"} {
			method := map[bool]string{true: "POST", false: "GET"}[strings.HasSuffix(path, "/erase")]
			if res := a.call(method, path, nil); res.Status != http.StatusNotFound {
				t.Errorf("%s %s once erased: got %d, want 404", method, path, res.Status)
			}
		}
		if by := erasedBy(t, c.ID); by.Type != app.ActorToken {
			t.Errorf("erased by: got %+v, want the token that asked", by)
		}
	})
}

func mustGet(t *testing.T, a apiClient, path string) []byte {
	t.Helper()
	res := a.call("GET", path, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("%s: got %d", path, res.Status)
	}
	return []byte(res.Body)
}

// acceptZip asks for path as the archive by content negotiation.
func acceptZip(a apiClient, path string) response {
	req, _ := http.NewRequest("GET", hostURL(a.host, path), nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Accept", "application/zip")
	return a.e.browser().do(req)
}
