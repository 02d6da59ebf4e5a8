package tenantdb_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// BenchmarkTenantColdOpen measures opening a closed tenant file: open the
// pools, check migrations, clear expired sessions, run a first query. It
// cycles through 100 tenants so the OS page cache is warm but SQLite's is not.
func BenchmarkTenantColdOpen(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	control, err := tenantdb.OpenControl(ctx, filepath.Join(dir, "control.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer control.Close()
	m := tenantdb.NewManager(tenantdb.ManagerConfig{Dir: filepath.Join(dir, "tenants")})
	defer m.Close(ctx)
	var ids []string
	for i := range 100 {
		ws, err := tenantdb.Provision(ctx, control, m, tenantdb.NewWorkspace{Slug: fmt.Sprintf("bench-%03d", i),
			Name: "Bench", AdminEmail: "a@bench.example", AdminPassword: "correct horse battery"}, app.CLIActor)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, ws.Tenant.ID)
		m.Forget(ws.Tenant.ID)
	}
	durations := make([]time.Duration, 0, b.N)
	i := 0
	b.ResetTimer()
	for b.Loop() {
		id := ids[i%len(ids)]
		i++
		start := time.Now()
		db, release, err := m.Acquire(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.UserByEmail(ctx, "a@bench.example"); err != nil {
			b.Fatal(err)
		}
		durations = append(durations, time.Since(start))
		release()
		b.StopTimer()
		if err := m.Forget(id); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds()), "p99-µs")
}
