package web_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// BenchmarkSignedInPage measures a signed-in page request (the Team page:
// session lookup, user reload, two list queries, render) over loopback.
// It reports the median and p99 latency alongside ns/op.
func BenchmarkSignedInPage(b *testing.B) {
	e := setup(b)
	e.workspace("acme")
	br := e.browser()
	br.login("acme", "admin@acme.example", "correct horse battery")
	if res := br.get("acme", "/settings/team"); res.Status != http.StatusOK {
		b.Fatalf("team page: got %d", res.Status)
	}
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		res := br.get("acme", "/settings/team")
		durations = append(durations, time.Since(start))
		if res.Status != http.StatusOK {
			b.Fatalf("got %d", res.Status)
		}
	}
	reportPercentiles(b, durations)
}

// reportPercentiles adds p50 and p99 (in microseconds) to the benchmark output.
func reportPercentiles(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}

// bigTenant installs the generated client fixture (PARLEY_BENCH_CLIENTS
// clients, 100,000 by default; built once into .cache/bench) as the file
// of workspace "big" and returns a browser signed in as its admin, with a
// sample of client ids.
func bigTenant(b *testing.B) (*env, *browser, []string) {
	b.Helper()
	ctx := context.Background()
	n := 100_000
	if s := os.Getenv("PARLEY_BENCH_CLIENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("PARLEY_BENCH_CLIENTS=%q: want a number", s)
		}
	} else if testing.Short() {
		n = 2000
	}
	fixture, err := tenantdb.ClientFixture(ctx, filepath.Join("..", "..", ".cache", "bench"), n, 1, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	e := setup(b)
	ws := e.workspace("big")
	if err := e.tenants.Forget(ws.Tenant.ID); err != nil {
		b.Fatal(err)
	}
	if err := copyFile(fixture, e.tenants.TenantPath(ws.Tenant.ID)); err != nil {
		b.Fatal(err)
	}
	br := e.browser()
	br.login("big", "admin@bench.example", tenantdb.ClientFixturePassword)
	var ids []string
	db := e.db(ws)
	cursor := ""
	for len(ids) < 1000 {
		page, err := db.SearchClients(ctx, app.ClientFilter{Sort: app.SortActivity, Limit: 200, Cursor: cursor})
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range page.Hits {
			ids = append(ids, h.Client.ID)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	return e, br, ids
}

func copyFile(src, dst string) error {
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(dst + suffix)
	}
	in, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, in, 0o600)
}

// benchPages requests each path in turn as the signed-in browser and
// reports p50 and p99.
func benchPages(b *testing.B, br *browser, paths []string, header map[string]string) {
	b.Helper()
	durations := make([]time.Duration, 0, b.N)
	i := 0
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("GET", hostURL("big", paths[i%len(paths)]), nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		i++
		start := time.Now()
		res := br.do(req)
		durations = append(durations, time.Since(start))
		if res.Status != http.StatusOK {
			b.Fatalf("%s: got %d", req.URL.Path, res.Status)
		}
	}
	reportPercentiles(b, durations)
}

// BenchmarkClientProfilePage measures the profile page of random clients of
// a 100,000-client workspace over loopback: session, profile, timeline, render.
func BenchmarkClientProfilePage(b *testing.B) {
	_, br, ids := bigTenant(b)
	var paths []string
	for _, id := range ids {
		paths = append(paths, "/clients/"+id)
	}
	benchPages(b, br, paths, nil)
}

// BenchmarkClientListPage measures the clients page: the first page by
// name, by newest and by activity, and a filtered one.
func BenchmarkClientListPage(b *testing.B) {
	_, br, _ := bigTenant(b)
	benchPages(b, br, []string{"/clients", "/clients?sort=created", "/clients?sort=activity", "/clients?status=active"}, nil)
}

// BenchmarkClientSearchPage measures search as you type: the results
// fragment for a name prefix, a phone fragment and a word from a note.
func BenchmarkClientSearchPage(b *testing.B) {
	_, br, _ := bigTenant(b)
	benchPages(b, br, []string{"/clients?q=ann", "/clients?q=mar", "/clients?q=7911", "/clients?q=4471", "/clients?q=invoice"},
		map[string]string{"HX-Request": "true", "HX-Target": "client-results"})
}
