package tenantdb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

type fixture struct {
	control *tenantdb.Control
	tenants *tenantdb.Manager
	now     time.Time
	mu      sync.Mutex
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func setup(t *testing.T, maxOpen int) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	var err error
	if f.control, err = tenantdb.OpenControl(context.Background(), filepath.Join(dir, "control.db"), f.clock); err != nil {
		t.Fatal(err)
	}
	f.tenants = tenantdb.NewManager(tenantdb.ManagerConfig{Dir: filepath.Join(dir, "tenants"), MaxOpen: maxOpen,
		IdleTimeout: time.Hour, Now: f.clock, Sealer: testSealer(t)})
	t.Cleanup(func() {
		if err := f.tenants.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
		f.control.Close()
	})
	return f
}

func (f *fixture) provision(t *testing.T, slug string) *app.Tenant {
	t.Helper()
	ws, err := tenantdb.Provision(context.Background(), f.control, f.tenants, tenantdb.NewWorkspace{
		Slug: slug, Name: slug, AdminEmail: "admin@" + slug + ".example", AdminPassword: "correct horse battery"}, app.CLIActor)
	if err != nil {
		t.Fatalf("provision %s: %v", slug, err)
	}
	return ws.Tenant
}

// TestConcurrentWrites: 50 goroutines writing to 10 tenants at once get no
// SQLITE_BUSY and every write is there afterwards.
func TestConcurrentWrites(t *testing.T) {
	t.Parallel()
	f := setup(t, 1000)
	var tenants []*app.Tenant
	for i := range 10 {
		tenants = append(tenants, f.provision(t, fmt.Sprintf("tenant-%02d", i)))
	}
	const goroutines, writesEach = 50, 20
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*writesEach)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writesEach {
				tn := tenants[(g+i)%len(tenants)]
				db, release, err := f.tenants.Acquire(ctx, tn.ID)
				if err != nil {
					errs <- err
					continue
				}
				_, _, err = db.CreateToken(ctx, app.NewAPIToken{Name: fmt.Sprintf("g%d-w%d", g, i), Role: app.RoleAgent}, app.CLIActor)
				release()
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("write failed: %v", err)
	}
	total := 0
	for _, tn := range tenants {
		db, release, err := f.tenants.Acquire(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		toks, err := db.ListTokens(ctx)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := db.ListEvents(ctx, app.EventFilter{Type: ptr(app.EventTokenCreated), Limit: 500})
		release()
		if err != nil {
			t.Fatal(err)
		}
		if len(toks) != len(evs) {
			t.Errorf("%s: %d tokens but %d TokenCreated events", tn.Slug, len(toks), len(evs))
		}
		total += len(toks)
	}
	if total != goroutines*writesEach {
		t.Errorf("tokens written: got %d, want %d", total, goroutines*writesEach)
	}
}

func ptr[T any](v T) *T { return &v }

// TestEviction: the manager keeps at most MaxOpen tenants open, evicts idle
// ones, never closes a tenant in use, and reopens on demand.
func TestEviction(t *testing.T) {
	t.Parallel()
	f := setup(t, 3)
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		ids = append(ids, f.provision(t, fmt.Sprintf("evict-%d", i)).ID)
	}
	if got := f.tenants.OpenCount(); got > 3 {
		t.Errorf("open after provisioning 5 with MaxOpen 3: got %d, want at most 3", got)
	}
	// Hold one tenant: it must survive idle eviction.
	held, release, err := f.tenants.Acquire(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	f.advance(2 * time.Hour)
	f.tenants.EvictIdle()
	if got := f.tenants.OpenCount(); got != 1 {
		t.Errorf("open after idle eviction: got %d, want 1 (the held one)", got)
	}
	if _, err := held.UserByEmail(ctx, "admin@evict-0.example"); err != nil {
		t.Errorf("held tenant unusable after eviction pass: %v", err)
	}
	release()
	release() // a second release is harmless
	// Reopen on demand.
	for _, id := range ids {
		db, rel, err := f.tenants.Acquire(ctx, id)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if _, err := db.ListUsers(ctx); err != nil {
			t.Errorf("query after reopen: %v", err)
		}
		rel()
	}
}

// TestAcquireUnknownTenant: a request for a tenant with no file fails
// instead of creating an empty database.
func TestAcquireUnknownTenant(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	_, _, err := f.tenants.Acquire(context.Background(), "01NOSUCHTENANT")
	if app.ErrorCode(err) != app.EUNAVAILABLE {
		t.Fatalf("got %v, want EUNAVAILABLE", err)
	}
}

// TestProvisionRefusals: bad or taken slugs are refused with a field error and leave nothing behind.
func TestProvisionRefusals(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	f.provision(t, "acme")
	ctx := context.Background()
	tests := []struct {
		name string
		in   tenantdb.NewWorkspace
		want string
	}{
		{"ErrSlugTaken", tenantdb.NewWorkspace{Slug: "ACME ", Name: "Other", AdminEmail: "a@b.example"}, "already taken"},
		{"ErrSlugReserved", tenantdb.NewWorkspace{Slug: "www", Name: "W", AdminEmail: "a@b.example"}, "reserved"},
		{"ErrSlugHyphenEdge", tenantdb.NewWorkspace{Slug: "-abc", Name: "W", AdminEmail: "a@b.example"}, "lower-case"},
		{"ErrSlugTooLong", tenantdb.NewWorkspace{Slug: strings.Repeat("a", 41), Name: "W", AdminEmail: "a@b.example"}, "3 to 40"},
		{"ErrEmail", tenantdb.NewWorkspace{Slug: "good-slug", Name: "W", AdminEmail: "nope"}, "valid email"},
		{"ErrPassword", tenantdb.NewWorkspace{Slug: "good-slug", Name: "W", AdminEmail: "a@b.example", AdminPassword: "short"}, "at least 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tenantdb.Provision(ctx, f.control, f.tenants, tt.in, app.CLIActor)
			if app.ErrorCode(err) != app.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			var msgs []string
			for _, fe := range app.ErrorFields(err) {
				msgs = append(msgs, fe.Message)
			}
			if !strings.Contains(strings.Join(msgs, " "), tt.want) {
				t.Errorf("got %q, want a message containing %q", msgs, tt.want)
			}
		})
	}
	ts, _ := f.control.ListTenants(ctx)
	if len(ts) != 1 {
		t.Errorf("tenants: got %d, want 1", len(ts))
	}
}

// TestEventLogAppendOnly: the event log refuses updates and deletes.
func TestEventLogAppendOnly(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	tn := f.provision(t, "acme")
	db, release, err := f.tenants.Acquire(context.Background(), tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for _, stmt := range []string{`UPDATE events SET type = 'x'`, `DELETE FROM events`} {
		if err := tenantdb.ExecForTest(db, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v, want append-only refusal", stmt, err)
		}
	}
}
