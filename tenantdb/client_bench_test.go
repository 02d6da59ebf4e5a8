package tenantdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"parley/app"
)

// The client benchmarks run on a tenant of PARLEY_BENCH_CLIENTS generated
// clients (100,000 by default, 2,000 with -short), built once into
// .cache/bench at the repository root and copied for each benchmark:
//
//	make bench-clients
//	PARLEY_BENCH_CLIENTS=10000 go test -run '^$' -bench 'Client|Search' ./tenantdb
//
// Each reports its p50 and p99 latency in microseconds next to ns/op. The
// tenant is opened by a manager with the production defaults (page cache,
// read pool), and the ids, names, numbers and words asked for are drawn
// from the data at random.
const clientBenchSeed = 1

// clientBench is an opened generated tenant and inputs drawn from its data.
type clientBench struct {
	db *DB
	r  *rand.Rand
}

func openClientBench(b *testing.B) *clientBench {
	db := openFixture(b, "clientgen", ClientFixture)
	return &clientBench{db: db, r: rand.New(rand.NewPCG(clientBenchSeed, 2))}
}

// openFixture builds (or finds in .cache/bench) a generated tenant and
// opens a copy of it, so a benchmark's writes never touch the cache.
func openFixture(b *testing.B, name string, build func(context.Context, string, int, int64, io.Writer) (string, error)) *DB {
	b.Helper()
	ctx := context.Background()
	root, err := repoRoot()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	fixture, err := build(ctx, filepath.Join(root, ".cache", "bench"), clientBenchSize(b), clientBenchSeed, os.Stderr)
	if err != nil {
		b.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		fmt.Fprintf(os.Stderr, "%s: built %s in %s\n", name, fixture, d.Round(time.Second))
	}
	dir := b.TempDir()
	const id = "bench"
	if err := copyFixture(fixture, filepath.Join(dir, "tenants", id+".db")); err != nil {
		b.Fatal(err)
	}
	m := NewManager(ManagerConfig{Dir: filepath.Join(dir, "tenants")})
	b.Cleanup(func() { m.Close(context.Background()) })
	db, release, err := m.Acquire(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(release)
	return db
}

// clientBenchSize reads PARLEY_BENCH_CLIENTS.
func clientBenchSize(b *testing.B) int {
	s := os.Getenv("PARLEY_BENCH_CLIENTS")
	if s == "" {
		if testing.Short() {
			return 2000
		}
		return 100_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 {
		b.Fatalf("PARLEY_BENCH_CLIENTS=%q: want a number of clients, at least 100", s)
	}
	return n
}

// repoRoot is the directory of go.mod above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// sample returns k values of query's single column from random rows, with
// repeats when there are fewer rows.
func (cb *clientBench) sample(b *testing.B, k int, query string) []string {
	return sampleRows(b, cb, k, scanString, query)
}

func sampleRows[T any](b *testing.B, cb *clientBench, k int, scan func(rowScanner) (T, error), query string) []T {
	b.Helper()
	all, err := queryAll(context.Background(), cb.db.reader(), scan, query)
	if err != nil || len(all) == 0 {
		b.Fatalf("sample %q: %d rows, %v", query, len(all), err)
	}
	out := make([]T, k)
	for i := range out {
		out[i] = all[cb.r.IntN(len(all))]
	}
	return out
}

// benchLatency calls op once per iteration, with a new i each time, and
// reports the p50 and p99 of its latency.
func benchLatency(b *testing.B, op func(i int) error) {
	b.Helper()
	var durations []time.Duration
	runtime.GC() // the setup's garbage is not the operation's
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		err := op(i)
		durations = append(durations, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(durations)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	b.ReportMetric(us(durations[len(durations)/2]), "p50-µs")
	b.ReportMetric(us(durations[len(durations)*99/100]), "p99-µs")
}

const clientBenchInputs = 4096

func BenchmarkClientByID(b *testing.B) {
	cb := openClientBench(b)
	ids := cb.sample(b, clientBenchInputs, `SELECT id FROM clients`)
	benchLatency(b, func(i int) error {
		_, err := cb.db.ClientByID(context.Background(), ids[i%len(ids)])
		return err
	})
}

func BenchmarkClientProfile(b *testing.B) {
	cb := openClientBench(b)
	ids := cb.sample(b, clientBenchInputs, `SELECT id FROM clients`)
	benchLatency(b, func(i int) error {
		p, err := cb.db.ClientProfile(context.Background(), ids[i%len(ids)])
		if err == nil && len(p.Contacts) < 2 {
			err = fmt.Errorf("client %s: got %d contacts, want at least 2", p.Client.ID, len(p.Contacts))
		}
		return err
	})
}

// benchSearch searches for each query in turn; every one must find someone.
func benchSearch(b *testing.B, cb *clientBench, queries []string) {
	benchLatency(b, func(i int) error {
		q := queries[i%len(queries)]
		page, err := cb.db.SearchClients(context.Background(), app.ClientFilter{Query: q})
		if err == nil && len(page.Hits) == 0 {
			err = fmt.Errorf("search %q: no hits", q)
		}
		return err
	})
}

// BenchmarkSearchNamePrefix searches for the first 2 or 3 letters of first
// names, as people type them ("an", "mar").
func BenchmarkSearchNamePrefix(b *testing.B) {
	cb := openClientBench(b)
	names := cb.sample(b, clientBenchInputs, `SELECT first_name FROM clients`)
	for i, name := range names {
		r := []rune(strings.ToLower(name))
		names[i] = string(r[:min(len(r), 2+cb.r.IntN(2))])
	}
	benchSearch(b, cb, names)
}

// BenchmarkSearchPhoneFragment searches for 4 to 6 digits from the middle or
// the end of stored numbers.
func BenchmarkSearchPhoneFragment(b *testing.B) {
	cb := openClientBench(b)
	phones := cb.sample(b, clientBenchInputs, `SELECT value FROM contacts WHERE type = 'phone' AND active = 1`)
	for i, p := range phones {
		digits := strings.TrimPrefix(p, "+")
		n := 4 + cb.r.IntN(3)
		from := 2 + cb.r.IntN(len(digits)-n-1)
		phones[i] = digits[from : from+n]
	}
	benchSearch(b, cb, phones)
}

// BenchmarkSearchFullText searches for a word of four letters or more taken
// from a random note, so common words come up as often as they are used.
func BenchmarkSearchFullText(b *testing.B) {
	cb := openClientBench(b)
	notes := cb.sample(b, clientBenchInputs, `SELECT body FROM notes`)
	for i, body := range notes {
		words := slices.DeleteFunc(strings.FieldsFunc(body, func(r rune) bool { return !unicode.IsLetter(r) }),
			func(w string) bool { return len([]rune(w)) < 4 })
		notes[i] = strings.ToLower(words[cb.r.IntN(len(words))])
	}
	benchSearch(b, cb, notes)
}

// BenchmarkClientListPage lists the first page and a deep one (at a random
// client, through the cursor) in each order, and with a status filter.
func BenchmarkClientListPage(b *testing.B) {
	cb := openClientBench(b)
	active := app.ClientActive
	for _, tc := range []struct {
		name   string
		filter app.ClientFilter
		key    string // the cursor's column
	}{
		{"ByName", app.ClientFilter{Sort: app.SortName}, "sort_name"},
		{"ByCreated", app.ClientFilter{Sort: app.SortCreated}, "created_at"},
		{"ByActivity", app.ClientFilter{Sort: app.SortActivity}, "last_activity_at"},
		{"ActiveByName", app.ClientFilter{Sort: app.SortName, Status: &active}, "sort_name"},
		{"ActiveByActivity", app.ClientFilter{Sort: app.SortActivity, Status: &active}, "last_activity_at"},
	} {
		where := "deleted_at IS NULL"
		if tc.filter.Status != nil {
			where += " AND status = '" + string(*tc.filter.Status) + "'"
		}
		scan := func(row rowScanner) (c listCursor, err error) {
			if tc.key == "sort_name" {
				return c, row.Scan(&c.ID, &c.Key)
			}
			var t time.Time
			err = row.Scan(&c.ID, &t)
			c.Key = t.UTC().Format(time.RFC3339Nano) // as SearchClients makes it
			return c, err
		}
		var cursors []string
		for _, c := range sampleRows(b, cb, clientBenchInputs, scan, `SELECT id, `+tc.key+` FROM clients WHERE `+where) {
			cursors = append(cursors, encodeCursor(c))
		}
		b.Run(tc.name+"/First", func(b *testing.B) { benchList(b, cb, tc.filter, nil) })
		b.Run(tc.name+"/Deep", func(b *testing.B) { benchList(b, cb, tc.filter, cursors) })
	}
}

// benchList lists pages of f, the first one or those after cursors.
func benchList(b *testing.B, cb *clientBench, f app.ClientFilter, cursors []string) {
	benchLatency(b, func(i int) error {
		if cursors != nil {
			f.Cursor = cursors[i%len(cursors)]
		}
		page, err := cb.db.SearchClients(context.Background(), f)
		if err == nil && len(page.Hits) == 0 && f.Cursor == "" {
			err = errors.New("first page: empty")
		}
		return err
	})
}

// TestGenerateClientsAsTheAppWould: the batched generator leaves the same
// clients, contacts, addresses, notes, search rows and events as
// CreateClient and AddNote one by one, ids aside.
func TestGenerateClientsAsTheAppWould(t *testing.T) {
	t.Parallel()
	batched := dumpGenerated(t, (*DB).writeGenBatch)
	model := dumpGenerated(t, (*DB).writeGenClients)
	if batched == model {
		return
	}
	got, want := strings.Split(batched, "\n"), strings.Split(model, "\n")
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("line %d: got %q, want %q", i, got[i], want[i])
		}
	}
	t.Fatalf("got %d lines, want %d", len(got), len(want))
}

// dumpGenerated generates 60 clients with write into a new tenant and dumps
// what they left, ordered by creation and with ids blanked.
func dumpGenerated(t *testing.T, write func(*DB, context.Context, *clientGen, []genClient) error) string {
	ctx := context.Background()
	dir := t.TempDir()
	control, err := OpenControl(ctx, filepath.Join(dir, "control.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer control.Close()
	m := NewManager(ManagerConfig{Dir: filepath.Join(dir, "tenants")})
	defer m.Close(ctx)
	ws, err := Provision(ctx, control, m, NewWorkspace{Slug: "gen", Name: "Gen", AdminEmail: "admin@gen.example",
		AdminPassword: ClientFixturePassword}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	db, release, err := m.Acquire(ctx, ws.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := generateClients(ctx, db, 60, 7, nil, write); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, q := range []string{
		`SELECT c.first_name, c.middle_name, c.last_name, c.gender, c.birth_date, c.status, coalesce(u.email, ''),
			c.language, c.timezone, c.currency, c.preferred_channel, c.sort_name, c.created_at, c.updated_at,
			c.last_activity_at, c.deleted_at FROM clients c LEFT JOIN users u ON u.id = c.owner_id ORDER BY c.created_at`,
		`SELECT c.created_at, t.tag FROM client_tags t JOIN clients c ON c.id = t.client_id ORDER BY 1, 2`,
		`SELECT c.created_at, k.type, k.value, k.label, k.verified, k.active, k.created_at, k.updated_at
			FROM contacts k JOIN clients c ON c.id = k.client_id ORDER BY 1, k.rowid`,
		`SELECT c.created_at, a.type, a.street, a.city, a.region, a.postal_code, a.country, a.is_default, a.created_at
			FROM addresses a JOIN clients c ON c.id = a.client_id ORDER BY 1, a.rowid`,
		`SELECT c.created_at, n.type, n.body, n.pinned, n.author_name, n.created_at, n.updated_at
			FROM notes n JOIN clients c ON c.id = n.client_id ORDER BY 1, n.rowid`,
		`SELECT c.created_at, f.name, f.contacts, f.notes, f.keys FROM clients_fts f JOIN clients c ON c.rowid = f.rowid ORDER BY 1`,
		`SELECT e.type, c.created_at, e.actor_type, e.actor_name, e.occurred_at, e.payload
			FROM events e JOIN clients c ON c.id = e.aggregate_id ORDER BY e.rowid`,
	} {
		dumpRows(t, db, &out, q, 0)
	}
	return ulidPattern.ReplaceAllString(out.String(), "ID")
}

var ulidPattern = regexp.MustCompile(`[0-9A-HJKMNP-TV-Z]{26}`)

// dumpRows prints every row q returns to out, one line each, leaving out
// the first skip columns (ids that differ between runs).
func dumpRows(t *testing.T, db *DB, out *strings.Builder, q string, skip int) {
	t.Helper()
	rows, err := db.reader().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(out, vals[skip:]...)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
