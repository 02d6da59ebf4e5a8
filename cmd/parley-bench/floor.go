package main

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"parley/tenantdb"

	_ "modernc.org/sqlite" // the SQLite driver the app uses
)

// The floor: what the machine does with no application in the way, driven
// the same way (same concurrency, same time, keep-alive over loopback) in
// the same run. A bare net/http handler writing a page of each flow's
// median size, and raw SQLite point lookups on the large tenant's file.
// A flow's ratio is its throughput over the bare handler's at its size:
// how much of the machine's HTTP capacity the app keeps.

// floorName names the bare-HTTP floor row for a page size.
func floorName(size int) string { return "bare net/http handler, " + sizeLabel(size) + " page" }

// floorSize rounds a page size to two significant digits, so that flows
// with nearly the same size share one floor run.
func floorSize(n int) int {
	if n < 100 {
		return max(n, 1)
	}
	p := math.Pow(10, math.Floor(math.Log10(float64(n)))-1)
	return int(math.Round(float64(n)/p) * p)
}

func sizeLabel(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// measureFloors drives the bare handler at each flow's median page size and
// the SQLite point lookups, for min(duration, 3 s) each (1 s in quick mode).
func measureFloors(ctx context.Context, m *Manifest, o loadOptions, flows []measuredFlow, fails *failureLog) ([]Row, error) {
	d := min(o.Duration, pick(o.Quick, time.Second, 3*time.Second))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	page := make([]byte, 8<<20)
	for i := range page {
		page[i] = 'a' + byte(i%26)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page[:min(n, len(page))])
	})}
	go srv.Serve(ln)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 64}}
	defer client.CloseIdleConnections()
	base := "http://" + ln.Addr().String() + "/?n="
	var sizes []int
	for _, f := range flows {
		if size := floorSize(f.medianSize()); !f.Floorless && f.Rate == 0 && f.N > 0 && !slices.Contains(sizes, size) {
			sizes = append(sizes, size)
		}
	}
	slices.Sort(sizes)
	var rows []Row
	for _, size := range sizes {
		u := base + strconv.Itoa(size)
		out := drive(ctx, flow{Name: floorName(size), Do: func(ctx context.Context, i int) (int, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			res, err := client.Do(req)
			if err != nil {
				return 0, err
			}
			defer res.Body.Close()
			n, err := io.Copy(io.Discard, res.Body)
			return int(n), err
		}}, o.Concurrency, d, fails)
		rows = append(rows, floorRow(floorName(size), o.Concurrency, out, ""))
		say("load: floor %-32s %8.1f/s", floorName(size), out.throughput())
	}
	row, err := sqliteFloor(ctx, m, o, d, fails)
	if err != nil {
		return nil, err
	}
	return append(rows, row), nil
}

func floorRow(name string, conc int, out outcome, note string) Row {
	p50, p99 := latencies(out.Lat)
	return Row{Section: "Floor", Name: name, Concurrency: conc, Requests: out.N, Errors: out.Errs,
		Throughput: round2(out.throughput()), P50: round3(p50), P99: round3(p99), Note: note}
}

// sqliteFloor selects one client by id at a time from the large tenant's
// file, through a read-only handle with the app's reader pragmas, while the
// server has the file open.
func sqliteFloor(ctx context.Context, m *Manifest, o loadOptions, d time.Duration, fails *failureLog) (Row, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(5000)", "query_only(1)", "cache_size(-1024)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+tenantFile(o.Data, m.Large.ID)+"?"+q.Encode())
	if err != nil {
		return Row{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(o.Concurrency)
	db.SetMaxIdleConns(o.Concurrency)
	stmt, err := db.PrepareContext(ctx, "SELECT id, first_name, last_name, status FROM clients WHERE id = ?")
	if err != nil {
		return Row{}, fmt.Errorf("sqlite floor: %w", err)
	}
	defer stmt.Close()
	ids := m.Large.Clients
	name := "SQLite point lookup: one client by id"
	out := drive(ctx, flow{Name: name, Do: func(ctx context.Context, i int) (int, error) {
		var id, first, last, status string
		err := stmt.QueryRowContext(ctx, ids[i%len(ids)]).Scan(&id, &first, &last, &status)
		return len(id) + len(first) + len(last) + len(status), err
	}}, o.Concurrency, d, fails)
	say("load: floor %-32s %8.1f/s", name, out.throughput())
	return floorRow(name, o.Concurrency, out,
		fmt.Sprintf("SELECT by id in this process with modernc.org/sqlite (the app's driver), on the large tenant's file while the server has it open: %d sampled ids, %d read-only connections", len(ids), o.Concurrency)), nil
}

// tenantFile is where a tenant's file lives in a data directory.
func tenantFile(data, id string) string {
	return tenantdb.TenantFile(filepath.Join(data, "tenants"), id)
}

// flowRows turns the measured flows into rows with their floor ratio and aim.
func flowRows(flows []measuredFlow, floors []Row, o loadOptions) []Row {
	tput := map[string]float64{}
	for _, f := range floors {
		tput[f.Name] = f.Throughput
	}
	var rows []Row
	for _, f := range flows {
		p50, p99 := latencies(f.Lat)
		r := Row{Section: "Flows", Name: f.Name, Concurrency: cmp.Or(f.Conc, o.Concurrency), Requests: f.N, Errors: f.Errs,
			Throughput: round2(f.throughput()), P50: round3(p50), P99: round3(p99), Note: rowNote(f)}
		if !f.Floorless && f.N > 0 {
			r.Floor = floorName(floorSize(f.medianSize()))
			if t := tput[r.Floor]; t > 0 {
				r.Ratio = round3(r.Throughput / t)
			}
		}
		if f.Rate > 0 {
			// A paced flow's throughput is the pace, not a capacity.
			r.Floor, r.Ratio, r.Concurrency = "", 0, 0
		}
		if f.AimP99 > 0 {
			r.Aim = fmt.Sprintf("p99 < %g ms", f.AimP99)
			r.Met = metP99(p99, f.AimP99, f.Errs)
		}
		rows = append(rows, r)
		rows = append(rows, f.outcome.Extra...)
	}
	return rows
}

func rowNote(f measuredFlow) string {
	note := f.Path
	if f.Note != "" {
		note += ": " + f.Note
	}
	if f.N > 0 {
		note += fmt.Sprintf("; median answer %s", sizeLabel(f.medianSize()))
	}
	return note
}

// metP99 says whether a p99 kept its limit with no errors.
func metP99(p99, limit float64, errs int) *bool {
	met := p99 > 0 && p99 < limit && errs == 0
	return &met
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
