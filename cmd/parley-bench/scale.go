package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The scale part: what many small tenants cost one node. A fresh server
// opens each of the small tenants on its first request (cold open: file
// open, migrations check, Litestream registration, pools); then, with all
// of them open and replicated to <data>/replica, the node idles, and then
// every tenant commits about once a second. The aim is "1,000 replicating
// tenants on one node": every commit succeeds, the replica keeps within
// three sync intervals, and the node keeps up with the rate asked.

// scaleOptions configures the scale part.
type scaleOptions struct {
	Data, Out string
	Quick     bool
	// Tenants caps how many small tenants take part (0: all in the manifest).
	Tenants int
	// Idle and Busy are how long the idle and the committing phase last.
	Idle, Busy time.Duration
}

// maxReplicaLag is the aim's bound on replication lag: Parley counts a
// file as lagging past three sync intervals (tenantdb Replicator.Health).
const maxReplicaLag = 3 * time.Second

func runScale(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	o := scaleOptions{}
	fs.StringVar(&o.Data, "data", "", "data directory made by gen (default .cache/bench/data, quick: .cache/bench/quick/data)")
	fs.StringVar(&o.Out, "out", "", "results directory (default .cache/bench/results, quick: .cache/bench/quick/results)")
	fs.BoolVar(&o.Quick, "quick", false, "the quick data and 10 s phases")
	fs.IntVar(&o.Tenants, "tenants", 0, "small tenants to use (0: all)")
	fs.DurationVar(&o.Idle, "idle", 0, "idle phase (default 30s, quick 10s)")
	fs.DurationVar(&o.Busy, "busy", 0, "committing phase (default 60s, quick 10s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Data, o.Out = benchDirs(o.Data, o.Out, o.Quick)
	if o.Idle == 0 {
		o.Idle = pick(o.Quick, 10*time.Second, 30*time.Second)
	}
	if o.Busy == 0 {
		o.Busy = pick(o.Quick, 10*time.Second, 60*time.Second)
	}
	res, err := measureScale(ctx, o)
	return keepResults(o.Out, res, err)
}

func measureScale(ctx context.Context, o scaleOptions) (*Results, error) {
	m, err := readManifest(o.Data)
	if err != nil {
		return nil, err
	}
	tenants := m.Small
	if o.Tenants > 0 && o.Tenants < len(tenants) {
		tenants = tenants[:o.Tenants]
	}
	if len(tenants) == 0 {
		return nil, errors.New("scale: the manifest has no small tenants")
	}
	res := &Results{Part: "scale", Started: time.Now().UTC()}
	defer func() { res.Duration = time.Since(res.Started).Seconds() }()
	s, err := startServer(ctx, serverOptions{Data: o.Data, MaxOpen: 2000})
	if err != nil {
		return res, err
	}
	defer s.Stop()
	fails := &failures{}
	before, _ := s.RSSBytes()
	logf("scale: cold-opening %d tenants, one at a time", len(tenants))
	cold, warm, errs := coldOpens(ctx, s, tenants, fails)
	n := len(tenants)
	label := fmt.Sprintf("%s tenants", thousands(n))
	c50, c99 := latencies(cold)
	w50, w99 := latencies(warm)
	res.Rows = append(res.Rows,
		Row{Section: "Tenants", Name: "tenant cold open: first API request after start", Requests: n, Errors: errs, P50: c50, P99: c99,
			Note: "GET /api/v1/clients?limit=1 with the tenant's token, one tenant at a time: opens the file, registers it for replication; " + machineLoad()},
		Row{Section: "Tenants", Name: "the same tenant's second request (warm)", Requests: len(warm), Errors: 0, P50: w50, P99: w99})
	logf("scale: cold p50 %.1f ms p99 %.1f ms, warm p50 %.1f ms p99 %.1f ms, %d errors; %s", c50, c99, w50, w99, errs, machineLoad())
	// The server's own measure of an open, whoever asked for it: the
	// reconciler's pass over every tenant at start-up opens tenants too,
	// so some first requests above found their tenant open already.
	if mt, err := scrapeMetrics(ctx, s); err == nil {
		const open = "parley_tenant_open_seconds"
		if b := histogram(mt, open); len(b) > 0 {
			res.Rows = append(res.Rows, Row{Section: "Tenants", Name: "tenant file open, as the server times it", Requests: int(mt[open+"_count"]),
				P50: 1000 * b.quantile(0.50), P99: 1000 * b.quantile(0.99),
				Note: "parley_tenant_open_seconds (open, migrations check, replication set-up), estimated from its buckets; counts the opens of the start-up reconcile pass too"})
		}
	}

	// The first sync of each newly registered file uploads a snapshot;
	// the idle phase starts once the replica has caught up.
	settled := waitReplicated(ctx, s, time.Minute)
	logf("scale: replica caught up %s of the last open; %d tenants open, idle for %s", settled, n, o.Idle)
	idle, err := watch(ctx, s, o.Idle, nil)
	if err != nil {
		return res, err
	}
	open := idle.lastMetric("parley_tenants_open")
	// The start-up reconcile pass opens the large tenant too.
	perTenant := float64(idle.maxRSS-before) / max(open, float64(n)) / 1024
	res.Rows = append(res.Rows,
		Row{Section: "Tenants", Name: "RSS, " + label + " open and replicated, idle", Value: mb(idle.maxRSS), Unit: "MB",
			Note: fmt.Sprintf("%.0f tenants open per parley_tenants_open; %.0f KB per open tenant over the %.0f MB before the first open", open, perTenant, mb(before))},
		Row{Section: "Tenants", Name: "CPU, " + label + " open and replicated, idle", Value: round2(idle.cores), Unit: "cores",
			Note: fmt.Sprintf("over %s, once the replica had caught up with the opens (%s of the last)", o.Idle, settled)})
	logf("scale: idle RSS %.0f MB, %.2f cores, %.0f open", mb(idle.maxRSS), idle.cores, open)

	logf("scale: each of %d tenants commits a note once a second for %s", n, o.Busy)
	load := newCommitLoad(s, tenants, fails)
	busy, err := watch(ctx, s, o.Busy, load.run)
	if err != nil {
		return res, err
	}
	drain := waitReplicated(ctx, s, 30*time.Second)
	l50, l99 := latencies(load.durations())
	asked := float64(n) * o.Busy.Seconds()
	done := load.count.Load()
	cErrs := int(load.errors.Load())
	keptUp := float64(done) >= 0.95*asked
	met := cErrs == 0 && busy.maxLag <= maxReplicaLag.Seconds() && keptUp && busy.replErrs == 0
	res.Rows = append(res.Rows,
		Row{Section: "Tenants", Name: "commits: every tenant adds a note once a second", Concurrency: commitWorkers, Requests: int(done), Errors: cErrs,
			Throughput: round2(float64(done) / o.Busy.Seconds()), P50: l50, P99: l99,
			Note: fmt.Sprintf("asked for %.0f/s (POST /api/v1/clients/{id}/notes); %s", float64(n), machineLoad())},
		Row{Section: "Tenants", Name: "RSS, " + label + " committing", Value: mb(busy.maxRSS), Unit: "MB", Note: "highest sample"},
		Row{Section: "Tenants", Name: "CPU, " + label + " committing", Value: round2(busy.cores), Unit: "cores",
			Note: fmt.Sprintf("%d cores on this machine", cpuCount())},
		Row{Section: "Tenants", Name: "replica lag while committing (highest)", Value: round2(busy.maxLag), Unit: "s",
			Aim: "1,000 replicating tenants on one node: lag ≤ 3 s, no errors, rate kept", Met: &met,
			Note: fmt.Sprintf("parley_replication_lag_seconds sampled every second; %d files lagging at most; %d replication errors; all replicated %s of the load's end",
				int(busy.maxLagging), int(busy.replErrs), drain)})
	logf("scale: %d commits (%.0f/s asked), %d errors, p50 %.1f ms p99 %.1f ms, RSS %.0f MB, %.2f cores, lag max %.2f s; %s",
		done, float64(n), cErrs, l50, l99, mb(busy.maxRSS), busy.cores, busy.maxLag, machineLoad())
	res.Failures = fails.list()
	return res, nil
}

// coldOpens makes each tenant's first and second request, one tenant at a
// time, so that each open is timed alone.
func coldOpens(ctx context.Context, s *server, tenants []TenantInfo, fails *failures) (cold, warm []time.Duration, errs int) {
	get := func(t TenantInfo) (time.Duration, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", s.Base+"/api/v1/clients?limit=1", nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+t.Token)
		start := time.Now()
		resp, err := s.Do(req, t.Slug)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		return took, err
	}
	for i, t := range tenants {
		d, err := get(t)
		if err != nil {
			errs++
			fails.add("cold open %s: %v", t.Slug, err)
			continue
		}
		cold = append(cold, d)
		if d, err := get(t); err == nil {
			warm = append(warm, d)
		}
		if (i+1)%200 == 0 {
			logf("scale: %d/%d opened", i+1, len(tenants))
		}
	}
	return cold, warm, errs
}

// commitWorkers is how many commits may be in flight at once: far more
// than a server keeping up needs (1,000 commits a second at 10 ms each
// are 10 in flight), so the pool is never what limits the rate.
const commitWorkers = 64

// commitLoad has every tenant commit once a second, spread evenly over
// the second, from a pool of workers.
type commitLoad struct {
	s       *server
	tenants []TenantInfo
	fails   *failures

	count, errors atomic.Int64
	mu            sync.Mutex
	took          []time.Duration
}

func newCommitLoad(s *server, tenants []TenantInfo, fails *failures) *commitLoad {
	return &commitLoad{s: s, tenants: tenants, fails: fails}
}

func (l *commitLoad) durations() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.took
}

// run commits until ctx ends. When the server falls behind, the workers
// are all busy and the schedule slips: the count then shows the rate kept.
func (l *commitLoad) run(ctx context.Context) {
	n := len(l.tenants)
	paced(ctx, n, commitWorkers, func(int) func(int) {
		return func(i int) { l.commit(ctx, l.tenants[i%n]) }
	})
}

// paced hands the numbers 0, 1, 2… to workers goroutines at rate a second,
// evenly spaced, until ctx ends, and waits for the workers. newWorker makes
// each worker's function (so a worker can keep state of its own). When all
// workers are busy the schedule slips rather than piling up requests.
func paced(ctx context.Context, rate, workers int, newWorker func(w int) func(i int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := range workers {
		do := newWorker(w)
		wg.Go(func() {
			for i := range jobs {
				do(i)
			}
		})
	}
	defer wg.Wait()
	defer close(jobs)
	step := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; ; i++ {
		if wait := time.Until(start.Add(time.Duration(i) * step)); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		select {
		case <-ctx.Done():
			return
		case jobs <- i:
		}
	}
}

func (l *commitLoad) commit(ctx context.Context, t TenantInfo) {
	if len(t.Clients) == 0 {
		l.errors.Add(1)
		l.fails.add("commit %s: the manifest lists no client", t.Slug)
		return
	}
	body := fmt.Sprintf(`{"body":"Called back at %s, all fine."}`, time.Now().UTC().Format(time.TimeOnly))
	req, err := http.NewRequestWithContext(ctx, "POST", l.s.Base+"/api/v1/clients/"+t.Clients[0]+"/notes", strings.NewReader(body))
	if err != nil {
		l.errors.Add(1)
		return
	}
	req.Header.Set("Authorization", "Bearer "+t.Token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := l.s.Do(req, t.Slug)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	if ctx.Err() != nil {
		return // cut off at the end of the phase: neither done nor failed
	}
	if err != nil {
		l.errors.Add(1)
		l.fails.add("commit %s: %v", t.Slug, err)
		return
	}
	l.count.Add(1)
	l.mu.Lock()
	l.took = append(l.took, time.Since(start))
	l.mu.Unlock()
}

// phase is what watch saw of the server over one phase.
type phase struct {
	maxRSS     int64
	cores      float64
	maxLag     float64 // seconds
	maxLagging float64
	replErrs   float64 // replication errors during the phase
	metrics    map[string]float64
}

func (p phase) lastMetric(name string) float64 { return p.metrics[name] }

// watch runs load (if any) for d and samples the server every second:
// RSS, replica lag; CPU is averaged over the whole phase.
func watch(ctx context.Context, s *server, d time.Duration, load func(context.Context)) (phase, error) {
	var p phase
	m0, err := scrapeMetrics(ctx, s)
	if err != nil {
		return p, err
	}
	cpu0, err := s.CPUSeconds()
	if err != nil {
		return p, err
	}
	start := time.Now()
	lctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if load != nil {
			load(lctx)
		} else {
			<-lctx.Done()
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	sample := func() {
		if rss, err := s.RSSBytes(); err == nil {
			p.maxRSS = max(p.maxRSS, rss)
		}
		if m, err := scrapeMetrics(ctx, s); err == nil {
			p.metrics = m
			p.maxLag = max(p.maxLag, m["parley_replication_lag_seconds"])
			p.maxLagging = max(p.maxLagging, m["parley_replication_lagging_files"])
		}
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
			sample()
		}
	}
	cpu1, err := s.CPUSeconds()
	if err != nil {
		return p, err
	}
	p.cores = (cpu1 - cpu0) / time.Since(start).Seconds()
	sample()
	p.replErrs = p.metrics["parley_replication_errors_total"] - m0["parley_replication_errors_total"]
	return p, ctx.Err()
}

// waitReplicated waits until no file is behind its replica and says how
// long that took, or "still behind after <limit>".
func waitReplicated(ctx context.Context, s *server, limit time.Duration) string {
	start := time.Now()
	for time.Since(start) < limit && ctx.Err() == nil {
		if m, err := scrapeMetrics(ctx, s); err == nil && m["parley_replication_lag_seconds"] == 0 {
			return "within " + time.Since(start).Round(100*time.Millisecond).String()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "still behind after " + limit.String()
}

// scrapeMetrics reads the admin /metrics page into name → value, for the
// series without labels (and with labels, under their full name).
func scrapeMetrics(ctx context.Context, s *server) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", s.Admin+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: status %d", resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

// buckets is a Prometheus histogram: cumulative counts by upper bound.
type buckets []struct{ le, n float64 }

// histogram collects the buckets of name from a scrape, in order.
func histogram(m map[string]float64, name string) buckets {
	var b buckets
	prefix := name + `_bucket{le="`
	for k, n := range m {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			if le, err := strconv.ParseFloat(strings.TrimSuffix(rest, `"}`), 64); err == nil {
				b = append(b, struct{ le, n float64 }{le, n})
			}
		}
	}
	slices.SortFunc(b, func(x, y struct{ le, n float64 }) int { return cmp.Compare(x.le, y.le) })
	return b
}

// quantile estimates the q-quantile as Prometheus does: linearly within
// the bucket that holds it (the last finite bound if it is in +Inf).
func (b buckets) quantile(q float64) float64 {
	if len(b) == 0 || b[len(b)-1].n == 0 {
		return 0
	}
	rank := q * b[len(b)-1].n
	lo, below := 0.0, 0.0
	for _, x := range b {
		if x.n >= rank {
			if math.IsInf(x.le, 1) {
				return lo
			}
			if x.n == below {
				return x.le
			}
			return lo + (x.le-lo)*(rank-below)/(x.n-below)
		}
		lo, below = x.le, x.n
	}
	return lo
}

// parseMetrics reads Prometheus text exposition: "name{labels} value".
func parseMetrics(r io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			m[line[:i]] = v
		}
	}
	return m, sc.Err()
}

// openFiles counts the server's open file descriptors.
func openFiles(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}

// walSizes returns the largest and the total size of the tenant files'
// write-ahead logs, and the control DB's.
func walSizes(data string) (largest, total, control int64, err error) {
	files, err := filepath.Glob(filepath.Join(data, "tenants", "*-wal"))
	if err != nil {
		return 0, 0, 0, err
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			largest = max(largest, fi.Size())
			total += fi.Size()
		}
	}
	if fi, err := os.Stat(filepath.Join(data, "control.db-wal")); err == nil {
		control = fi.Size()
	}
	return largest, total, control, nil
}

// machineLoad says how busy the whole machine was, since other work on it
// slows the server down: the load average and the share of time tasks
// waited for a CPU (pressure stall information, over the last minute).
func machineLoad() string {
	load, _ := os.ReadFile("/proc/loadavg")
	out := fmt.Sprintf("machine load average %s on %d cores", strings.Fields(string(load) + " ?")[0], cpuCount())
	if b, err := os.ReadFile("/proc/pressure/cpu"); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if v, ok := strings.CutPrefix(f, "avg60="); ok {
				out += ", tasks waited for a CPU " + v + "% of the last minute"
				break
			}
		}
	}
	return out
}

// raiseFileLimit lifts this process's soft limit on open files to the
// hard limit: each SSE stream holds a connection.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return lim.Cur, nil
}

// failures keeps the first few errors of a part for the report.
type failures struct {
	mu    sync.Mutex
	items []string
	more  int
}

func (f *failures) add(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.items) < 20 {
		f.items = append(f.items, fmt.Sprintf(format, args...))
		return
	}
	f.more++
}

func (f *failures) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]string(nil), f.items...)
	if f.more > 0 {
		out = append(out, fmt.Sprintf("… and %d more", f.more))
	}
	return out
}

func pick[T any](quick bool, short, long T) T {
	if quick {
		return short
	}
	return long
}

func mb(b int64) float64 { return round2(float64(b) / (1 << 20)) }

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}
