package tenantdb_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// dueSetup is a manager that records reconcile due times in its control DB,
// on the fixture's clock.
func dueSetup(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	var err error
	if f.control, err = tenantdb.OpenControl(context.Background(), filepath.Join(dir, "control.db"), f.clock); err != nil {
		t.Fatal(err)
	}
	f.tenants = tenantdb.NewManager(tenantdb.ManagerConfig{Dir: filepath.Join(dir, "tenants"), IdleTimeout: time.Hour,
		Now: f.clock, Sealer: testSealer(t), Control: f.control})
	t.Cleanup(func() {
		if err := f.tenants.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
		f.control.Close()
	})
	return f
}

// dueChat starts a chat with a new client, over a connected sandbox.
func dueChat(t *testing.T, db *tenantdb.DB, name string) (*app.Client, app.Chat) {
	t.Helper()
	ctx := context.Background()
	if chs, _ := db.ListChannels(ctx); len(chs) == 0 {
		if _, err := db.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	c := mustCreate(t, db, app.ClientInput{FirstName: name, Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: name + "@example.com"}}})
	chat, _, err := db.StartChat(ctx, c.ID, app.ChatScope{All: true}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	return c, chat
}

func snooze(t *testing.T, db *tenantdb.DB, name string, until time.Time) {
	t.Helper()
	_, chat := dueChat(t, db, name)
	status := app.ChatSnoozed
	if _, err := db.UpdateChat(context.Background(), chat.ID, app.ChatUpdate{Status: &status, SnoozedUntil: &until},
		app.ChatScope{All: true}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
}

func grantUntil(t *testing.T, db *tenantdb.DB, until time.Time) {
	t.Helper()
	c, _ := dueChat(t, db, "consenting")
	if _, err := db.RecordConsent(context.Background(), c.ID, app.ConsentInput{Purpose: "marketing", Channel: "email",
		State: app.ConsentGranted, ExpiresAt: &until}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
}

func connectMail(t *testing.T, db *tenantdb.DB, settings map[string]string) {
	t.Helper()
	if _, err := db.ConnectChannel(context.Background(), app.ChannelEmail, "Mail", settings, nil, app.CLIActor); err != nil {
		t.Fatal(err)
	}
}

// TestNextDue: a tenant file's next due time is the earliest of what the
// reconciler must do for it, now when a mailbox is polled, and never when
// nothing is pending.
func TestNextDue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		prepare func(t *testing.T, db *tenantdb.DB)
		want    time.Time
	}{
		{"Nothing", func(t *testing.T, db *tenantdb.DB) { dueChat(t, db, "idle") }, tenantdb.ReconcileNever},
		{"EarliestSnooze", func(t *testing.T, db *tenantdb.DB) {
			snooze(t, db, "later", start.Add(5*time.Hour))
			snooze(t, db, "sooner", start.Add(2*time.Hour))
		}, start.Add(2 * time.Hour)},
		{"ConsentExpiry", func(t *testing.T, db *tenantdb.DB) { grantUntil(t, db, start.Add(30*24*time.Hour)) }, start.Add(30 * 24 * time.Hour)},
		{"ConsentBeforeSnooze", func(t *testing.T, db *tenantdb.DB) {
			snooze(t, db, "sleeper", start.Add(2*time.Hour))
			grantUntil(t, db, start.Add(time.Hour))
		}, start.Add(time.Hour)},
		{"QueuedMessage", func(t *testing.T, db *tenantdb.DB) {
			snooze(t, db, "sleeper", start.Add(2*time.Hour))
			_, chat := dueChat(t, db, "waiting")
			if _, err := db.SendMessage(ctx, chat.ID, app.SendInput{Text: "Hello"}, app.ChatScope{All: true}, app.CLIActor); err != nil {
				t.Fatal(err)
			}
		}, start},
		{"PendingErasure", func(t *testing.T, db *tenantdb.DB) {
			c, _ := dueChat(t, db, "leaving")
			if _, err := db.RequestErasure(ctx, c.ID, app.CLIActor); err != nil {
				t.Fatal(err)
			}
		}, start},
		{"PolledMailbox", func(t *testing.T, db *tenantdb.DB) {
			snooze(t, db, "sleeper", start.Add(2*time.Hour))
			connectMail(t, db, map[string]string{"imap_host": "imap.example.com"})
		}, start},
		{"RelayedMailboxIsNotPolled", func(t *testing.T, db *tenantdb.DB) {
			connectMail(t, db, map[string]string{"from": "help@example.com"})
		}, tenantdb.ReconcileNever},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := dueSetup(t)
			tenant := f.provision(t, "acme")
			db, release, err := f.tenants.Acquire(ctx, tenant.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			tc.prepare(t, db)
			got, err := db.NextDue(ctx)
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestManagerRecordsReconcileDue: closing a tenant records its next due
// time in the control DB, opening it clears it (due now: a crash while
// open must not hide it from the reconciler), and ReconcileDue lists the
// active tenants due at a time.
func TestManagerRecordsReconcileDue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := dueSetup(t)
	sleepy, idle, off := f.provision(t, "sleepy"), f.provision(t, "idle"), f.provision(t, "off")
	wake := f.clock().Add(2 * time.Hour)
	db, release, err := f.tenants.Acquire(ctx, sleepy.ID)
	if err != nil {
		t.Fatal(err)
	}
	snooze(t, db, "sleeper", wake)
	release()
	dueAt := func(id string) (time.Time, bool) {
		t.Helper()
		due, ok, err := f.control.ReconcileDueAt(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return due, ok
	}
	if _, ok := dueAt(sleepy.ID); ok {
		t.Errorf("open tenant: got a due time, want unknown")
	}
	if err := f.control.SetTenantStatus(ctx, "off", app.TenantDisabled); err != nil {
		t.Fatal(err)
	}
	for _, tn := range []*app.Tenant{sleepy, idle, off} {
		if err := f.tenants.Forget(tn.ID); err != nil {
			t.Fatal(err)
		}
	}
	if due, ok := dueAt(sleepy.ID); !ok || !due.Equal(wake) {
		t.Errorf("closed with a snooze: got %v (%v), want %v", due, ok, wake)
	}
	if due, ok := dueAt(idle.ID); !ok || !due.Equal(tenantdb.ReconcileNever) {
		t.Errorf("closed with nothing: got %v (%v), want never", due, ok)
	}
	for _, tc := range []struct {
		name string
		at   time.Time
		want []string
	}{
		{"BeforeWake", wake.Add(-time.Second), nil},
		{"AtWake", wake, []string{sleepy.ID}},
	} {
		if got, err := f.control.ReconcileDue(ctx, tc.at); err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}

	// Opened again: unknown, so due at once.
	_, release, err = f.tenants.Acquire(ctx, idle.ID)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if _, ok := dueAt(idle.ID); ok {
		t.Errorf("reopened: got a due time, want unknown")
	}
	if got, err := f.control.ReconcileDue(ctx, f.clock()); err != nil || !slices.Equal(got, []string{idle.ID}) {
		t.Errorf("reopened: got %v, %v; want [%s]", got, err, idle.ID)
	}
	if ids := f.tenants.OpenIDs(); !slices.Equal(ids, []string{idle.ID}) {
		t.Errorf("open ids: got %v, want [%s]", ids, idle.ID)
	}
}
