package jobs_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"parley/app"
	"parley/jobs"
	"parley/tenantdb"
)

// TestRetentionSweepRunsDailyPerTenant: the fan-out starts each tenant's
// sweep, the sweep removes what expired and records it, and the day's
// sweep is not started twice however often the fan-out runs.
func TestRetentionSweepRunsDailyPerTenant(t *testing.T) {
	t.Parallel()
	var db *tenantdb.DB
	e := setupWith(t, func(*jobs.Client, *tenantdb.Manager) map[app.ChannelType]app.Provider { return nil },
		func(c *jobs.Config) { c.RetentionEvery = 100 * time.Millisecond })
	db = e.db
	ctx := context.Background()
	staleSession(t, db, "stale")
	swept := waitFor(t, "the day's sweep", func() (int, bool) {
		evs, _, err := db.EventsAfter(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Type == app.EventRetentionSwept {
				n++
			}
		}
		return n, n > 0
	})
	// Another stale session: the fan-out keeps running, but today's sweep
	// has run, so it stays until tomorrow's.
	staleSession(t, db, "stale2")
	time.Sleep(500 * time.Millisecond) // several fan-out rounds
	evs, _, _ := db.EventsAfter(ctx, 0, 1000)
	n := 0
	for _, ev := range evs {
		if ev.Type == app.EventRetentionSwept {
			n++
		}
	}
	if swept != 1 || n != 1 {
		t.Errorf("sweeps recorded: got %d then %d, want one a day", swept, n)
	}
}

// staleSession writes a long-expired session into the tenant's file, as a
// second connection (the file is in WAL mode).
func staleSession(t *testing.T, db *tenantdb.DB, token string) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db.Path()+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(`INSERT INTO sessions (token, data, expiry) VALUES (?, x'00', '2001-01-01 00:00:00+00:00')`, token); err != nil {
		t.Fatal(err)
	}
}
