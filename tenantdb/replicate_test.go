package tenantdb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/prometheus/client_golang/prometheus"

	"parley/app"
	"parley/tenantdb"
)

// replFixture is a control DB and a replicator writing to a real replica
// target (a directory or an in-process S3 server), with tenant managers
// started on demand, as a server starts them.
type replFixture struct {
	dir     string
	control *tenantdb.Control
	rep     *tenantdb.Replicator
	reg     *prometheus.Registry
}

const testSyncInterval = 100 * time.Millisecond

func replSetup(t *testing.T, target tenantdb.ReplicaTarget) *replFixture {
	t.Helper()
	ctx := context.Background()
	f := &replFixture{dir: t.TempDir(), reg: prometheus.NewRegistry()}
	var err error
	if f.control, err = tenantdb.OpenControl(ctx, filepath.Join(f.dir, "control.db"), nil); err != nil {
		t.Fatal(err)
	}
	if f.rep, err = tenantdb.OpenReplicator(ctx, tenantdb.ReplicaConfig{Target: target, SyncInterval: testSyncInterval,
		MaxLag: time.Minute, Registerer: f.reg}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.control.Close()
		if err := f.rep.Close(ctx); err != nil {
			t.Errorf("close replicator: %v", err)
		}
	})
	return f
}

func fileTarget(t *testing.T) tenantdb.ReplicaTarget {
	t.Helper()
	target, err := tenantdb.ParseReplicaURL("file://" + filepath.Join(t.TempDir(), "replica"))
	if err != nil {
		t.Fatal(err)
	}
	return target
}

// manager starts a tenant manager that replicates; closing it (which the
// test may do earlier) ships every open tenant's last changes.
func (f *replFixture) manager(t *testing.T, maxOpen int) *tenantdb.Manager {
	t.Helper()
	m := tenantdb.NewManager(tenantdb.ManagerConfig{Dir: filepath.Join(f.dir, "tenants"), MaxOpen: maxOpen,
		Replicator: f.rep, TenantKnown: f.control.HasTenant})
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

func (f *replFixture) provision(t *testing.T, m *tenantdb.Manager, slug string) string {
	t.Helper()
	ws, err := tenantdb.Provision(context.Background(), f.control, m, tenantdb.NewWorkspace{Slug: slug, Name: slug,
		AdminEmail: "admin@" + slug + ".example", AdminPassword: "correct horse battery"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	return ws.Tenant.ID
}

func (f *replFixture) path(id string) string {
	return tenantdb.TenantFile(filepath.Join(f.dir, "tenants"), id)
}

func addClient(t *testing.T, m *tenantdb.Manager, id, firstName string) {
	t.Helper()
	ctx := context.Background()
	db, release, err := m.Acquire(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := db.CreateClient(ctx, app.ClientInput{FirstName: firstName}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
}

// clientNames reads the first names of the clients in a tenant file.
func clientNames(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT first_name FROM clients ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		names = append(names, s)
	}
	return names
}

// restore restores a replicated file as of at into a new file.
func (f *replFixture) restore(t *testing.T, name string, at time.Time) (string, tenantdb.Restored) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "restored.db")
	res, err := f.rep.Target().Restore(context.Background(), name, out, at)
	if err != nil {
		t.Fatalf("restore %s: %v", name, err)
	}
	return out, res
}

// waitReplicated waits until the replica holds a client named firstName in
// the tenant's file, restoring it to find out.
func (f *replFixture) waitReplicated(t *testing.T, id, firstName string) {
	t.Helper()
	for range 200 {
		out := filepath.Join(t.TempDir(), "probe.db")
		if _, err := f.rep.Target().Restore(context.Background(), tenantdb.TenantReplica(id), out, time.Time{}); err == nil {
			if slices.Contains(clientNames(t, out), firstName) {
				return
			}
		} else if !errors.Is(err, tenantdb.ErrNoReplica) {
			t.Fatal(err)
		}
		time.Sleep(testSyncInterval / 2)
	}
	t.Fatalf("client %s never reached the replica", firstName)
}

// TestReplicationPointInTime: the replica restores the latest state and the
// state at a time between two known writes, each file passing
// integrity_check (Restore runs it).
func TestReplicationPointInTime(t *testing.T) {
	t.Parallel()
	f := replSetup(t, fileTarget(t))
	m := f.manager(t, 100)
	id := f.provision(t, m, "acme")
	name := tenantdb.TenantReplica(id)

	addClient(t, m, id, "Before")
	f.waitReplicated(t, id, "Before")
	between := time.Now()
	time.Sleep(20 * time.Millisecond) // LTX timestamps are whole milliseconds
	addClient(t, m, id, "After")
	f.waitReplicated(t, id, "After")

	out, _ := f.restore(t, name, between)
	if got := clientNames(t, out); !slices.Equal(got, []string{"Before"}) {
		t.Errorf("restored at %s: got clients %v, want [Before]", between.Format(time.RFC3339Nano), got)
	}
	out, res := f.restore(t, name, time.Time{})
	if got := clientNames(t, out); !slices.Equal(got, []string{"Before", "After"}) {
		t.Errorf("latest: got clients %v, want [Before After]", got)
	}
	if res.TXID == 0 || res.Bytes == 0 || res.At.IsZero() {
		t.Errorf("restore result: got %+v, want a position, a time and a size", res)
	}
	if _, err := f.rep.Target().Restore(context.Background(), name, filepath.Join(t.TempDir(), "x.db"),
		time.Now().Add(-time.Hour)); !errors.Is(err, tenantdb.ErrNoReplica) {
		t.Errorf("restore before the first backup: got %v, want ErrNoReplica", err)
	}
	if _, err := f.rep.Target().Restore(context.Background(), name, out, time.Time{}); err == nil {
		t.Error("restore over an existing file: got nil error")
	}

	pos, err := f.rep.Target().Position(context.Background(), name)
	if err != nil || pos.TXID < res.TXID {
		t.Errorf("replica position: got %+v, %v, want txid >= %d", pos, err, res.TXID)
	}
	if local, err := tenantdb.LocalPosition(f.path(id)); err != nil || local.TXID < pos.TXID {
		t.Errorf("local position: got %+v, %v, want txid >= %d", local, err, pos.TXID)
	}
}

// TestReplicationRestoresMissingFile: a tenant whose file is gone is
// restored from the replica when it opens, and replication goes on from the
// restored file; an id the control DB does not know is not restored.
func TestReplicationRestoresMissingFile(t *testing.T) {
	t.Parallel()
	f := replSetup(t, fileTarget(t))
	ctx := context.Background()
	m := f.manager(t, 100)
	id := f.provision(t, m, "acme")
	addClient(t, m, id, "Kept")
	if err := m.Close(ctx); err != nil { // the final sync ships "Kept"
		t.Fatal(err)
	}
	if h := f.rep.Health(); h.Files != 0 {
		t.Errorf("after close: %d files replicated, want 0", h.Files)
	}
	loseFile(t, f.path(id))

	m = f.manager(t, 100)
	addClient(t, m, id, "Later")
	if got := clientNames(t, f.path(id)); !slices.Equal(got, []string{"Kept", "Later"}) {
		t.Errorf("restored on open: got clients %v, want [Kept Later]", got)
	}
	f.waitReplicated(t, id, "Later")
	out, _ := f.restore(t, tenantdb.TenantReplica(id), time.Time{})
	if got := clientNames(t, out); !slices.Equal(got, []string{"Kept", "Later"}) {
		t.Errorf("replica after the restore: got clients %v, want [Kept Later]", got)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}

	loseFile(t, f.path(id))
	unknown := tenantdb.NewManager(tenantdb.ManagerConfig{Dir: filepath.Join(f.dir, "tenants"), Replicator: f.rep,
		TenantKnown: func(context.Context, string) (bool, error) { return false, nil }})
	defer unknown.Close(ctx)
	if _, _, err := unknown.Acquire(ctx, id); err == nil {
		t.Error("unknown tenant: got a restored file, want an error")
	}
	if _, err := os.Stat(f.path(id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unknown tenant's file: got %v, want it absent", err)
	}
}

// loseFile deletes a tenant file as a lost disk would: with its WAL and
// Litestream's local state.
func loseFile(t *testing.T, path string) {
	t.Helper()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	dir, base := filepath.Split(path)
	if err := os.RemoveAll(filepath.Join(dir, "."+base+"-litestream")); err != nil {
		t.Fatal(err)
	}
}

// TestReplicationRestoreInPlaceResumes: a tenant restored in place to an
// earlier time opens as it was then, keeps the replaced file aside, and
// what is written next reaches the replica (restoring again finds it).
func TestReplicationRestoreInPlaceResumes(t *testing.T) {
	t.Parallel()
	f := replSetup(t, fileTarget(t))
	ctx := context.Background()
	m := f.manager(t, 100)
	id := f.provision(t, m, "acme")
	name := tenantdb.TenantReplica(id)
	addClient(t, m, id, "One")
	f.waitReplicated(t, id, "One")
	between := time.Now()
	time.Sleep(20 * time.Millisecond)
	addClient(t, m, id, "Two")
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}

	_, aside, err := f.rep.Target().RestoreInPlace(ctx, name, f.path(id), between)
	if err != nil {
		t.Fatal(err)
	}
	if got := clientNames(t, aside); !slices.Equal(got, []string{"One", "Two"}) {
		t.Errorf("file kept aside: got clients %v, want [One Two]", got)
	}
	m = f.manager(t, 100)
	addClient(t, m, id, "Three")
	if got := clientNames(t, f.path(id)); !slices.Equal(got, []string{"One", "Three"}) {
		t.Errorf("after the restore: got clients %v, want [One Three]", got)
	}
	f.waitReplicated(t, id, "Three")
	out, _ := f.restore(t, name, time.Time{})
	if got := clientNames(t, out); !slices.Equal(got, []string{"One", "Three"}) {
		t.Errorf("restored again: got clients %v, want [One Three]", got)
	}
}

// TestReplicationEviction: a tenant closed to make room is synced to the
// replica as it closes and can be opened again at once.
func TestReplicationEviction(t *testing.T) {
	t.Parallel()
	f := replSetup(t, fileTarget(t))
	m := f.manager(t, 1)
	a := f.provision(t, m, "alpha")
	b := f.provision(t, m, "bravo")
	for i := range 5 {
		addClient(t, m, a, "A"+string(rune('0'+i)))
		addClient(t, m, b, "B"+string(rune('0'+i)))
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a, b} {
		out, _ := f.restore(t, tenantdb.TenantReplica(id), time.Time{})
		if got := clientNames(t, out); len(got) != 5 {
			t.Errorf("tenant %s: replica has %d clients (%v), want 5", id, len(got), got)
		}
	}
}

// TestReplicationHealth: lag and file counts are exported as metrics.
func TestReplicationHealth(t *testing.T) {
	t.Parallel()
	f := replSetup(t, fileTarget(t))
	m := f.manager(t, 100)
	id := f.provision(t, m, "acme")
	addClient(t, m, id, "X")
	f.waitReplicated(t, id, "X")
	h := f.rep.Health()
	if h.Files != 1 || h.Target != "file" || h.Severe {
		t.Errorf("health: got %+v, want 1 file, target file, not severe", h)
	}
	families, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range families {
		names = append(names, mf.GetName())
	}
	for _, want := range []string{"parley_replication_files", "parley_replication_lag_seconds",
		"parley_replication_lagging_files", "parley_replication_errors_total", "parley_replication_restores_total"} {
		if !slices.Contains(names, want) {
			t.Errorf("metrics lack %s (got %v)", want, names)
		}
	}
}

// TestRestoreSpeed restores a tenant of several MB and logs the rate.
func TestRestoreSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and restores 16 MB")
	}
	t.Parallel()
	f := replSetup(t, fileTarget(t))
	m := f.manager(t, 100)
	id := f.provision(t, m, "big")
	raw, err := sql.Open("sqlite", "file:"+f.path(id)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`CREATE TABLE filler (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	for range 16 {
		if _, err := raw.Exec(`INSERT INTO filler VALUES (randomblob(1048576))`); err != nil {
			t.Fatal(err)
		}
	}
	addClient(t, m, id, "Last")
	f.waitReplicated(t, id, "Last")
	_, res := f.restore(t, tenantdb.TenantReplica(id), time.Time{})
	mb := float64(res.Bytes) / (1 << 20)
	t.Logf("restored %.1f MB in %s: %.1f ms per MB (integrity_check included)", mb, res.Took.Round(time.Millisecond),
		float64(res.Took.Microseconds())/1000/mb)
}

// TestReplicationS3 runs replication and restore against an in-process
// S3-compatible server (gofakes3), through Litestream's S3 client.
func TestReplicationS3(t *testing.T) {
	fake := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server())
	t.Cleanup(fake.Close) // after the managers' final syncs
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CA_BUNDLE", "") // the SDK refuses a custom CA bundle with Litestream's HTTP client
	target, err := tenantdb.ParseReplicaURL("s3://parley-test/region-a?endpoint=" + fake.URL + "&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if target.Kind != "s3" || target.String() != "s3://parley-test/region-a" || strings.Contains(target.String(), "127.0.0.1") {
		t.Errorf("target: got %s %s", target.Kind, target)
	}
	f := replSetup(t, target)
	m := f.manager(t, 100)
	id := f.provision(t, m, "acme")
	addClient(t, m, id, "Before")
	f.waitReplicated(t, id, "Before")
	between := time.Now()
	time.Sleep(20 * time.Millisecond)
	addClient(t, m, id, "After")
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, _ := f.restore(t, tenantdb.TenantReplica(id), between)
	if got := clientNames(t, out); !slices.Equal(got, []string{"Before"}) {
		t.Errorf("restored at a time: got clients %v, want [Before]", got)
	}
	loseFile(t, f.path(id))
	m = f.manager(t, 100)
	addClient(t, m, id, "Again")
	if got := clientNames(t, f.path(id)); !slices.Equal(got, []string{"Before", "After", "Again"}) {
		t.Errorf("restored on open from S3: got clients %v, want [Before After Again]", got)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestParseReplicaURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, kind string
		ok       bool
	}{
		{"/var/lib/parley/replica", "file", true},
		{"file:///var/lib/parley/replica", "file", true},
		{"relative/replica", "file", true},
		{"s3://bucket/prefix?endpoint=http://localhost:9000", "s3", true},
		{"file://host/path", "", false},
		{"gs://bucket/prefix", "", false},
		{"s3:///nobucket", "", false},
	} {
		got, err := tenantdb.ParseReplicaURL(tt.in)
		if (err == nil) != tt.ok || got.Kind != tt.kind {
			t.Errorf("ParseReplicaURL(%q): got %q, %v; want kind %q, ok %v", tt.in, got.Kind, err, tt.kind, tt.ok)
		}
	}
}

// BenchmarkReplication1000Tenants opens 1,000 tenants (copies of one fresh
// file) with and without replication and reports what replication costs:
// heap, goroutines, and CPU while idle and while each tenant takes a write a
// second. Run it once: go test -run '^$' -bench Replication1000 -benchtime 1x ./tenantdb
func BenchmarkReplication1000Tenants(b *testing.B) {
	for _, mode := range []string{"off", "file"} {
		b.Run(mode, func(b *testing.B) {
			for b.Loop() {
				benchReplication(b, mode == "file", 1000)
			}
		})
	}
}

func benchReplication(b *testing.B, replicate bool, n int) {
	ctx := context.Background()
	dir := b.TempDir()
	tenants := filepath.Join(dir, "tenants")
	control, err := tenantdb.OpenControl(ctx, filepath.Join(dir, "control.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer control.Close()
	seed := tenantdb.NewManager(tenantdb.ManagerConfig{Dir: tenants})
	ws, err := tenantdb.Provision(ctx, control, seed, tenantdb.NewWorkspace{Slug: "seed", Name: "Seed",
		AdminEmail: "a@seed.example", AdminPassword: "correct horse battery"}, app.CLIActor)
	if err != nil {
		b.Fatal(err)
	}
	seed.Close(ctx)
	orig, err := os.ReadFile(tenantdb.TenantFile(tenants, ws.Tenant.ID))
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("T%05d", i)
		if err := os.WriteFile(tenantdb.TenantFile(tenants, ids[i]), orig, 0o640); err != nil {
			b.Fatal(err)
		}
	}
	var rep *tenantdb.Replicator
	if replicate {
		target, _ := tenantdb.ParseReplicaURL(filepath.Join(dir, "replica"))
		if rep, err = tenantdb.OpenReplicator(ctx, tenantdb.ReplicaConfig{Target: target}); err != nil {
			b.Fatal(err)
		}
		defer rep.Close(ctx)
	}
	before, rss0 := heapMB(), rssMB()
	g0 := runtime.NumGoroutine()
	m := tenantdb.NewManager(tenantdb.ManagerConfig{Dir: tenants, MaxOpen: n, Replicator: rep})
	defer m.Close(ctx)
	for _, id := range ids {
		_, release, err := m.Acquire(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
	for rep != nil && rep.Health().MaxLag > 0 { // the first snapshot of each file
		time.Sleep(100 * time.Millisecond)
	}
	if rep != nil { // past the first level-1 compaction, which copies every new file once
		time.Sleep(time.Until(time.Now().Truncate(30 * time.Second).Add(65 * time.Second)))
	}
	b.ReportMetric(heapMB()-before, "heap-MB")
	b.ReportMetric(rssMB()-rss0, "rss-MB")
	b.ReportMetric(float64(runtime.NumGoroutine()-g0), "goroutines")
	b.ReportMetric(cpuPercent(func() { time.Sleep(20 * time.Second) }), "idle-cpu-%")
	b.ReportMetric(cpuPercent(func() {
		tick := time.NewTicker(time.Second / time.Duration(n))
		defer tick.Stop()
		for i := range 10 * n {
			<-tick.C
			db, release, err := m.Acquire(ctx, ids[i%n])
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := db.CreateToken(ctx, app.NewAPIToken{Name: "t", Role: app.RoleAgent}, app.CLIActor); err != nil {
				b.Fatal(err)
			}
			release()
		}
	}), "write-cpu-%")
	if rep != nil {
		h := rep.Health()
		b.ReportMetric(h.MaxLag.Seconds(), "max-lag-s")
	}
}

func heapMB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// rssMB returns the process's resident memory (SQLite's page caches live
// outside the Go heap).
func rssMB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(b)) {
		if kb, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var n float64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), &n)
			return n / 1024
		}
	}
	return 0
}

// cpuPercent runs fn and returns the process's CPU time over the wall time,
// in percent of one core.
func cpuPercent(fn func()) float64 {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start, c0 := time.Now(), cpu()
	fn()
	return 100 * float64(cpu()-c0) / float64(time.Since(start))
}
