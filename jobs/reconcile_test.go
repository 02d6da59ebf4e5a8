package jobs

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"parley/app"
	"parley/tenantdb"
)

// reconcileEnv is a job client that is not started (its workers are driven
// by the test, one pass at a time, and nothing else runs: the retention
// sweep would open every tenant), a manager recording due times, and the
// tenants "alpha" and "zulu", closed.
type reconcileEnv struct {
	c         *Client
	control   *tenantdb.Control
	tenants   *tenantdb.Manager
	reg       *prometheus.Registry
	now       time.Time
	alpha     string
	zulu      string
	zuluChat  string
	zuluWakes time.Time
}

func reconcileSetup(t *testing.T) *reconcileEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	e := &reconcileEnv{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), reg: prometheus.NewRegistry()}
	clock := func() time.Time { return e.now }
	var err error
	if e.control, err = tenantdb.OpenControl(ctx, filepath.Join(dir, "control.db"), clock); err != nil {
		t.Fatal(err)
	}
	e.tenants = tenantdb.NewManager(tenantdb.ManagerConfig{Dir: filepath.Join(dir, "tenants"), Now: clock,
		Registerer: e.reg, Control: e.control})
	if e.c, err = New(ctx, Config{ControlPath: filepath.Join(dir, "control.db"), Control: e.control,
		Tenants: e.tenants, Now: clock}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.c.db.Close()
		e.tenants.Close(ctx)
		e.control.Close()
	})
	for _, slug := range []string{"alpha", "zulu"} {
		ws, err := tenantdb.Provision(ctx, e.control, e.tenants, tenantdb.NewWorkspace{Slug: slug, Name: slug,
			AdminEmail: "admin@" + slug + ".example", AdminName: "Admin", AdminPassword: "long-enough-pw"}, app.CLIActor)
		if err != nil {
			t.Fatal(err)
		}
		if slug == "alpha" {
			e.alpha = ws.Tenant.ID
		} else {
			e.zulu = ws.Tenant.ID
		}
	}
	e.zuluWakes = e.now.Add(time.Hour)
	e.zuluChat = e.snooze(t, e.zulu, e.zuluWakes)
	for _, id := range []string{e.alpha, e.zulu} {
		if err := e.tenants.Forget(id); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *reconcileEnv) snooze(t *testing.T, tenantID string, until time.Time) string {
	t.Helper()
	ctx := context.Background()
	db, release, err := e.tenants.Acquire(ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	c, err := db.CreateClient(ctx, app.ClientInput{FirstName: "Sleepy", Contacts: []app.ContactInput{
		{Type: app.ContactEmail, Value: "sleepy@example.com"}}}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	chat, _, err := db.StartChat(ctx, c.ID, app.ChatScope{All: true}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	status := app.ChatSnoozed
	if _, err := db.UpdateChat(ctx, chat.ID, app.ChatUpdate{Status: &status, SnoozedUntil: &until},
		app.ChatScope{All: true}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	return chat.ID
}

// pass runs the periodic job, then each visit it enqueued, as River would,
// and returns the visits, deleting their jobs (as if completed).
func (e *reconcileEnv) pass(t *testing.T) []ReconcileTenantArgs {
	t.Helper()
	ctx := context.Background()
	if err := (&reconcileWorker{c: e.c}).Work(ctx, &river.Job[ReconcileArgs]{}); err != nil {
		t.Fatal(err)
	}
	res, err := e.c.river.JobList(ctx, river.NewJobListParams().Kinds(ReconcileTenantArgs{}.Kind()).First(100))
	if err != nil {
		t.Fatal(err)
	}
	var visits []ReconcileTenantArgs
	for _, row := range res.Jobs {
		var args ReconcileTenantArgs
		if err := json.Unmarshal(row.EncodedArgs, &args); err != nil {
			t.Fatal(err)
		}
		if err := (&reconcileTenantWorker{c: e.c}).Work(ctx, &river.Job[ReconcileTenantArgs]{JobRow: row, Args: args}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.c.river.JobDelete(ctx, row.ID); err != nil {
			t.Fatal(err)
		}
		visits = append(visits, args)
	}
	return visits
}

// opens returns how many tenant opens the manager has done.
func (e *reconcileEnv) opens(t *testing.T) uint64 {
	t.Helper()
	families, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "parley_tenant_open_seconds" {
			return f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}

func (e *reconcileEnv) chatStatus(t *testing.T) app.ChatStatus {
	t.Helper()
	ctx := context.Background()
	db, release, err := e.tenants.Acquire(ctx, e.zulu)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	chat, err := db.ChatByID(ctx, e.zuluChat, app.ChatScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	return chat.Status
}

// TestReconcilerOpensOnlyWhatIsDue: a closed tenant is opened by the
// reconciler only once something in it is due (here a snoozed chat, which
// is then woken, and the tenant closed again); a closed tenant with nothing
// due is never opened; an open tenant is visited on every pass.
func TestReconcilerOpensOnlyWhatIsDue(t *testing.T) {
	t.Parallel()
	e := reconcileSetup(t)
	steps := []struct {
		name      string
		advance   time.Duration
		want      []ReconcileTenantArgs
		wantOpens uint64
	}{
		{"NothingDueYet", 0, nil, 0},
		{"SnoozeDueWhileClosed", time.Hour, []ReconcileTenantArgs{{TenantID: e.zulu, Closed: true}}, 1},
		{"WokenAndClosedAgain", 24 * time.Hour, nil, 0},
	}
	for _, s := range steps {
		e.now = e.now.Add(s.advance)
		before := e.opens(t)
		if got := e.pass(t); !slices.Equal(got, s.want) {
			t.Errorf("%s: visits: got %+v, want %+v", s.name, got, s.want)
		}
		if got := e.opens(t) - before; got != s.wantOpens {
			t.Errorf("%s: opens: got %d, want %d", s.name, got, s.wantOpens)
		}
		if got := e.tenants.OpenIDs(); len(got) != 0 {
			t.Errorf("%s: open after the pass: got %v, want none", s.name, got)
		}
	}
	if got := e.chatStatus(t); got != app.ChatOpen {
		t.Errorf("snoozed chat: got %s, want %s", got, app.ChatOpen)
	}
	// Open now (chatStatus left it so): visited on every pass, and left open.
	want := []ReconcileTenantArgs{{TenantID: e.zulu, Closed: false}}
	if got := e.pass(t); !slices.Equal(got, want) {
		t.Errorf("open tenant: visits: got %+v, want %+v", got, want)
	}
	if got := e.tenants.OpenIDs(); !slices.Equal(got, []string{e.zulu}) {
		t.Errorf("open tenant: open after the pass: got %v, want [%s]", got, e.zulu)
	}

	// A pass while the last one's visit still waits adds none.
	ctx := context.Background()
	for range 2 {
		if err := (&reconcileWorker{c: e.c}).Work(ctx, &river.Job[ReconcileArgs]{}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.c.river.JobList(ctx, river.NewJobListParams().Kinds(ReconcileTenantArgs{}.Kind()))
	if err != nil || len(res.Jobs) != 1 {
		t.Errorf("two passes: got %d visits (%v), want 1", len(res.Jobs), err)
	}
}

// TestRetentionSweepClosesWhatItOpened: the daily sweep of a closed tenant
// opens it for the sweep and closes it again, so the sweep at every start
// does not leave every tenant of the node open; an open tenant stays open.
func TestRetentionSweepClosesWhatItOpened(t *testing.T) {
	t.Parallel()
	e := reconcileSetup(t)
	ctx := context.Background()
	sweep := func() {
		t.Helper()
		job := &river.Job[RetentionArgs]{Args: RetentionArgs{TenantID: e.zulu, Day: "2026-11-23"}}
		if err := (&retentionWorker{c: e.c}).Work(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	before := e.opens(t)
	sweep()
	if got := e.opens(t) - before; got != 1 {
		t.Errorf("closed tenant: opens: got %d, want 1", got)
	}
	if got := e.tenants.OpenIDs(); len(got) != 0 {
		t.Errorf("closed tenant: open after the sweep: got %v, want none", got)
	}
	e.chatStatus(t) // opens zulu and leaves it open, as a request would
	sweep()
	if got := e.tenants.OpenIDs(); !slices.Equal(got, []string{e.zulu}) {
		t.Errorf("open tenant: open after the sweep: got %v, want [%s]", got, e.zulu)
	}
}
