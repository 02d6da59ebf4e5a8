package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The soak part: mixed load for a long time (10 minutes by default) with
// replication on, sampling every 10 seconds what tends to go wrong slowly:
// memory, write-ahead logs that are never checkpointed, replica lag,
// goroutines and file descriptors that leak, and errors. It ends with a
// verdict, PASS or FAIL with the reasons (soakVerdict says the rules).

// soakOptions configures the soak part.
type soakOptions struct {
	Data, Out string
	Quick     bool
	Duration  time.Duration
	Every     time.Duration // sampling interval
	Rate      int           // requests per second, all flows together
	Streams   int           // SSE subscribers held open on the large tenant
	Small     int           // small tenants that take part
}

func runSoak(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	o := soakOptions{}
	fs.StringVar(&o.Data, "data", "", "data directory made by gen (default .cache/bench/data, quick: .cache/bench/quick/data)")
	fs.StringVar(&o.Out, "out", "", "results directory (default .cache/bench/results, quick: .cache/bench/quick/results)")
	fs.BoolVar(&o.Quick, "quick", false, "the quick data")
	fs.DurationVar(&o.Duration, "duration", 10*time.Minute, "how long the load runs")
	fs.DurationVar(&o.Every, "every", 10*time.Second, "sampling interval")
	fs.IntVar(&o.Rate, "rate", 60, "requests per second, all flows together")
	fs.IntVar(&o.Streams, "subscribers", 300, "SSE subscribers held open on the large tenant")
	fs.IntVar(&o.Small, "small", 20, "small tenants that take part")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Duration < 2*o.Every || o.Rate < 1 {
		return errors.New("soak: --duration must be at least two samples long and --rate at least 1")
	}
	o.Data, o.Out = benchDirs(o.Data, o.Out, o.Quick)
	res, v, err := soak(ctx, o)
	err = keepResults(o.Out, res, err)
	if err != nil {
		return err
	}
	fmt.Println(v)
	if !v.Pass {
		return errors.New("the soak failed: " + strings.Join(v.Reasons, "; "))
	}
	return nil
}

// soakSample is what one sample saw. Counters (requests, errors) are
// totals since the start; CPU is the cores used since the last sample.
type soakSample struct {
	At         time.Duration
	RSS        int64
	Cores      float64
	WALMax     int64 // the largest tenant -wal file
	WALTotal   int64 // all tenant -wal files
	ControlWAL int64
	Lag        float64 // parley_replication_lag_seconds
	ReplErrors float64 // parley_replication_errors_total
	Goroutines float64
	FDs        int
	Requests   int64
	Errors     int64
	Streams    int // SSE streams open
	Dropped    int64
}

func (s soakSample) String() string {
	return fmt.Sprintf("%6s  rss %6.1f MB  cpu %.2f  wal max %5.1f MB total %6.1f MB control %5.1f MB  lag %5.2f s  goroutines %5.0f  fds %5d  requests %7d  errors %d  streams %d (dropped %d)",
		fmtClock(s.At), mb(s.RSS), s.Cores, mb(s.WALMax), mb(s.WALTotal), mb(s.ControlWAL), s.Lag, s.Goroutines, s.FDs,
		s.Requests, s.Errors, s.Streams, s.Dropped)
}

func fmtClock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

func soak(ctx context.Context, o soakOptions) (*Results, soakVerdict, error) {
	m, err := readManifest(o.Data)
	if err != nil {
		return nil, soakVerdict{}, err
	}
	if _, err := raiseFileLimit(); err != nil {
		return nil, soakVerdict{}, err
	}
	res := &Results{Part: "soak", Started: time.Now().UTC()}
	defer func() { res.Duration = time.Since(res.Started).Seconds() }()
	s, err := startServer(ctx, serverOptions{Data: o.Data, MaxOpen: 2000})
	if err != nil {
		return res, soakVerdict{}, err
	}
	defer s.Stop()
	fails := &failures{}
	mix, err := newSoakMix(ctx, s, m, o.Small, fails)
	if err != nil {
		return res, soakVerdict{}, err
	}
	chatID, err := sseChat(ctx, s, m.Large)
	if err != nil {
		return res, soakVerdict{}, err
	}
	streams, err := newStreamSet(ctx, s, m, mix.browser(m.Large.Slug), chatID, o.Streams)
	if err != nil {
		return res, soakVerdict{}, err
	}
	defer streams.close()
	go drainArrivals(streams)
	if err := streams.grow(ctx, o.Streams); err != nil {
		fails.add("open %d SSE streams: %v", o.Streams, err)
	}
	logf("soak: %s of mixed load at %d requests/s over the large tenant and %d small ones, %d SSE streams; a sample every %s",
		o.Duration, o.Rate, len(mix.small), streams.open(), o.Every)

	lctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		mix.run(lctx, o.Rate)
	}()
	var samples []soakSample
	start := time.Now()
	cpu, _ := s.CPUSeconds()
	last := start
	tick := time.NewTicker(o.Every)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-tick.C:
		case <-lctx.Done():
			running = false
		}
		now := time.Now()
		if !running && len(samples) > 0 && now.Sub(last) < o.Every/2 {
			break // the last tick was the end already
		}
		smp := takeSample(ctx, s, o.Data, now.Sub(start))
		if c, err := s.CPUSeconds(); err == nil {
			smp.Cores, cpu, last = (c-cpu)/now.Sub(last).Seconds(), c, now
		}
		smp.Requests, smp.Errors = mix.totals()
		smp.Streams, smp.Dropped = streams.open(), streams.ended.Load()
		samples = append(samples, smp)
		fmt.Println(smp)
		// A dropped stream is what a browser would open again (htmx
		// reconnects); keep the count of subscribers steady.
		if running && streams.open() < o.Streams {
			if err := streams.grow(ctx, o.Streams); err != nil {
				fails.add("reopen SSE streams: %v", err)
			}
		}
	}
	<-loadDone
	if ctx.Err() != nil {
		return res, soakVerdict{}, ctx.Err()
	}
	v := soakVerdict{}.judge(samples)
	res.Rows = append(mix.rows(o.Duration), soakRows(samples, v)...)
	res.Failures = append(fails.list(), v.Reasons...)
	return res, v, nil
}

// takeSample reads the server's memory, files and metrics.
func takeSample(ctx context.Context, s *server, data string, at time.Duration) soakSample {
	smp := soakSample{At: at}
	smp.RSS, _ = s.RSSBytes()
	smp.WALMax, smp.WALTotal, smp.ControlWAL, _ = walSizes(data)
	smp.FDs, _ = openFiles(s.PID)
	if m, err := scrapeMetrics(ctx, s); err == nil {
		smp.Lag, smp.ReplErrors, smp.Goroutines = m["parley_replication_lag_seconds"], m["parley_replication_errors_total"], m["go_goroutines"]
	}
	return smp
}

func drainArrivals(ss *streamSet) {
	for {
		select {
		case <-ss.arrivals:
		case <-ss.ctx.Done():
			return
		}
	}
}

// soakVerdict is the soak's outcome: PASS, or FAIL with the reasons.
type soakVerdict struct {
	Pass    bool
	Reasons []string
}

func (v soakVerdict) String() string {
	if v.Pass {
		return "PASS"
	}
	return "FAIL: " + strings.Join(v.Reasons, "; ")
}

// The verdict's bounds. Growth is judged over the last half of the run, so
// that warming up (caches filling, tenants opening) does not count: the
// least-squares line through the last half's samples must not rise, from
// its first sample to its last, by more than the allowance.
const (
	soakMaxLag = 3.0 // seconds: Parley counts a file as lagging past three 1 s sync intervals
	// memory: 10% of the RSS half-way, and at least 16 MB
	soakRSSShare, soakRSSFloor = 0.10, 16 << 20
	// a WAL: 25% of its size half-way, and at least 8 MB
	soakWALShare, soakWALFloor = 0.25, 8 << 20
	// goroutines and open files: 20%, and at least 100
	soakLeakShare, soakLeakFloor = 0.20, 100
)

// judge applies the rules to the samples (in time order): any request
// error, replication error or dropped SSE stream fails; so do a lag over
// soakMaxLag in any sample, and memory, a WAL, goroutines or open files
// that keep growing over the last half.
func (soakVerdict) judge(samples []soakSample) soakVerdict {
	var r []string
	if len(samples) < 2 {
		return soakVerdict{Reasons: []string{"fewer than two samples: the run was too short to judge"}}
	}
	first, end := samples[0], samples[len(samples)-1]
	if end.Errors > 0 {
		r = append(r, fmt.Sprintf("%d requests failed", end.Errors))
	}
	if n := end.ReplErrors - first.ReplErrors; n > 0 {
		r = append(r, fmt.Sprintf("%.0f replication errors", n))
	}
	if end.Dropped > 0 {
		r = append(r, fmt.Sprintf("the server ended %d SSE streams", end.Dropped))
	}
	worst := first
	for _, s := range samples {
		if s.Lag > worst.Lag {
			worst = s
		}
	}
	if worst.Lag > soakMaxLag {
		r = append(r, fmt.Sprintf("replica lag %.1f s at %s (bound %.0f s)", worst.Lag, fmtClock(worst.At), soakMaxLag))
	}
	half := samples[len(samples)/2:]
	grows := func(what string, val func(soakSample) float64, share, floor float64, unit func(float64) string) {
		rise, from, ok := trend(half, val)
		if ok && rise > max(share*from, floor) {
			r = append(r, fmt.Sprintf("%s grew by %s over the last half (from %s; allowed %s)", what, unit(rise), unit(from), unit(max(share*from, floor))))
		}
	}
	bytes := func(f float64) string { return fmt.Sprintf("%.1f MB", f/(1<<20)) }
	count := func(f float64) string { return fmt.Sprintf("%.0f", f) }
	grows("memory (RSS)", func(s soakSample) float64 { return float64(s.RSS) }, soakRSSShare, soakRSSFloor, bytes)
	grows("the largest tenant WAL", func(s soakSample) float64 { return float64(s.WALMax) }, soakWALShare, soakWALFloor, bytes)
	grows("the tenant WALs together", func(s soakSample) float64 { return float64(s.WALTotal) }, soakWALShare, soakWALFloor, bytes)
	grows("the control DB WAL", func(s soakSample) float64 { return float64(s.ControlWAL) }, soakWALShare, soakWALFloor, bytes)
	grows("goroutines", func(s soakSample) float64 { return s.Goroutines }, soakLeakShare, soakLeakFloor, count)
	grows("open files", func(s soakSample) float64 { return float64(s.FDs) }, soakLeakShare, soakLeakFloor, count)
	return soakVerdict{Pass: len(r) == 0, Reasons: r}
}

// trend fits a least-squares line to val over the samples' times and
// returns its rise from the first sample's time to the last's, and the
// line's value at the first; ok is false with fewer than three samples.
func trend(samples []soakSample, val func(soakSample) float64) (rise, from float64, ok bool) {
	n := float64(len(samples))
	if n < 3 {
		return 0, 0, false
	}
	var sx, sy, sxx, sxy float64
	for _, s := range samples {
		x, y := s.At.Seconds(), val(s)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return 0, 0, false
	}
	slope := (n*sxy - sx*sy) / den
	icept := (sy - slope*sx) / n
	x0, x1 := samples[0].At.Seconds(), samples[len(samples)-1].At.Seconds()
	return slope * (x1 - x0), icept + slope*x0, true
}

// soakRows are the verdict, the extremes and every sample, for BENCHMARKS.md.
func soakRows(samples []soakSample, v soakVerdict) []Row {
	pass := v.Pass
	var rows []Row
	verdict := Row{Section: "Soak", Name: "verdict", Aim: "PASS: no errors, no growth over the last half, lag ≤ 3 s", Met: &pass,
		Note: v.String() + "; at the end: " + machineLoad()}
	rows = append(rows, verdict)
	if len(samples) == 0 {
		return rows
	}
	var maxRSS, maxWAL, maxTotal, maxCtl int64
	var maxLag, maxG float64
	maxFD := 0
	for _, s := range samples {
		maxRSS, maxWAL, maxTotal, maxCtl = max(maxRSS, s.RSS), max(maxWAL, s.WALMax), max(maxTotal, s.WALTotal), max(maxCtl, s.ControlWAL)
		maxLag, maxG, maxFD = max(maxLag, s.Lag), max(maxG, s.Goroutines), max(maxFD, s.FDs)
	}
	first, last := samples[0], samples[len(samples)-1]
	rows = append(rows,
		Row{Section: "Soak", Name: "RSS, highest sample", Value: mb(maxRSS), Unit: "MB", Note: fmt.Sprintf("first sample %.0f MB, last %.0f MB", mb(first.RSS), mb(last.RSS))},
		Row{Section: "Soak", Name: "largest tenant WAL, highest sample", Value: mb(maxWAL), Unit: "MB", Note: fmt.Sprintf("last %.1f MB", mb(last.WALMax))},
		Row{Section: "Soak", Name: "all tenant WALs together, highest sample", Value: mb(maxTotal), Unit: "MB", Note: fmt.Sprintf("last %.1f MB", mb(last.WALTotal))},
		Row{Section: "Soak", Name: "control DB WAL, highest sample", Value: mb(maxCtl), Unit: "MB", Note: fmt.Sprintf("last %.1f MB", mb(last.ControlWAL))},
		Row{Section: "Soak", Name: "replica lag, highest sample", Value: round2(maxLag), Unit: "s"},
		Row{Section: "Soak", Name: "goroutines, highest sample", Value: maxG, Note: fmt.Sprintf("first %.0f, last %.0f", first.Goroutines, last.Goroutines)},
		Row{Section: "Soak", Name: "open files, highest sample", Value: float64(maxFD), Note: fmt.Sprintf("first %d, last %d", first.FDs, last.FDs)},
	)
	for _, s := range samples {
		rows = append(rows, Row{Section: "Soak", Name: "sample at " + fmtClock(s.At), Value: mb(s.RSS), Unit: "MB RSS",
			Errors: int(s.Errors), Requests: int(s.Requests),
			Note: fmt.Sprintf("CPU %.2f cores; WAL largest %.1f MB, total %.1f MB, control %.1f MB; lag %.2f s; %.0f goroutines; %d open files; %d SSE streams",
				s.Cores, mb(s.WALMax), mb(s.WALTotal), mb(s.ControlWAL), s.Lag, s.Goroutines, s.FDs, s.Streams)})
	}
	return rows
}

// soakTenant is a tenant the soak drives, with a signed-in team session.
type soakTenant struct {
	TenantInfo
	browser *http.Client
}

// soakFlow counts one kind of request.
type soakFlow struct {
	name       string
	count, err atomic.Int64
	mu         sync.Mutex
	took       []time.Duration
}

// soakMix is the mixed load: out of every 10 requests, 3 team pages
// (client profile, chat list), 3 API reads, 2 sends and 2 inbound
// messages, over the large tenant (half of them) and the small ones.
type soakMix struct {
	s     *server
	large soakTenant
	small []soakTenant
	fails *failures
	flows []*soakFlow
	seq   atomic.Int64
}

const (
	flowPage = iota
	flowAPI
	flowSend
	flowInbound
)

func newSoakMix(ctx context.Context, s *server, m *Manifest, small int, fails *failures) (*soakMix, error) {
	mix := &soakMix{s: s, fails: fails, flows: []*soakFlow{{name: "team page (client profile, chat list)"},
		{name: "API read (GET /api/v1/clients/{id})"}, {name: "send (API)"}, {name: "inbound message (sandbox)"}}}
	c, err := signIn(ctx, s, m.Large)
	if err != nil {
		return nil, err
	}
	mix.large = soakTenant{m.Large, c}
	for _, t := range m.Small[:min(small, len(m.Small))] {
		c, err := signIn(ctx, s, t)
		if err != nil {
			return nil, err
		}
		mix.small = append(mix.small, soakTenant{t, c})
	}
	return mix, nil
}

func (mix *soakMix) browser(slug string) *http.Client {
	if slug == mix.large.Slug {
		return mix.large.browser
	}
	for _, t := range mix.small {
		if t.Slug == slug {
			return t.browser
		}
	}
	return nil
}

func (mix *soakMix) totals() (requests, errs int64) {
	for _, f := range mix.flows {
		requests, errs = requests+f.count.Load(), errs+f.err.Load()
	}
	return requests, errs
}

// run sends rate requests a second, evenly spaced, until ctx ends.
func (mix *soakMix) run(ctx context.Context, rate int) {
	paced(ctx, rate, 32, func(w int) func(int) {
		rnd := rand.New(rand.NewPCG(uint64(w), 1))
		return func(i int) { mix.one(ctx, rnd, i) }
	})
}

// soakCall is one request of the mix.
type soakCall struct {
	flow         int
	tenant       soakTenant
	method, path string
	body         string
	want         int
}

// call picks the i-th request of the mix: half of them on the large
// tenant. Sends and inbound messages on a small tenant need its sandbox
// channel, which only the small tenants with chats have; the others'
// share goes to the large tenant.
func (mix *soakMix) call(rnd *rand.Rand, i int) soakCall {
	c := soakCall{tenant: mix.large, method: "GET", want: http.StatusOK,
		flow: []int{flowPage, flowAPI, flowSend, flowInbound, flowPage, flowAPI, flowPage, flowAPI, flowSend, flowInbound}[i%10]}
	if i%2 == 1 && len(mix.small) > 0 {
		c.tenant = mix.small[rnd.IntN(len(mix.small))]
	}
	if (c.flow == flowSend || c.flow == flowInbound) && len(c.tenant.Chats) == 0 {
		c.tenant = mix.large
	}
	t := c.tenant
	pickID := func(ids []string) string {
		if len(ids) == 0 {
			return "none"
		}
		return ids[rnd.IntN(len(ids))]
	}
	switch c.flow {
	case flowPage:
		c.path = "/clients/" + pickID(t.Clients)
		if i%4 < 2 {
			c.path = "/inbox"
		}
	case flowAPI:
		c.path = "/api/v1/clients/" + pickID(t.Clients)
	case flowSend:
		c.method, c.path, c.want = "POST", "/api/v1/chats/"+pickID(t.Chats)+"/messages", http.StatusAccepted // queued for the provider
		c.body = `{"text":"Thanks, we are on it."}`
	case flowInbound:
		c.method, c.path, c.want = "POST", "/api/v1/sandbox/inbound", http.StatusCreated
		c.body = fmt.Sprintf(`{"from":{"type":"email","value":"soak-%d@example.com"},"text":"Any news on my order?","provider_message_id":"soak-%d-%d"}`,
			rnd.IntN(200), time.Now().UnixNano(), mix.seq.Add(1))
	}
	return c
}

// one makes the i-th request of the mix: team pages with the tenant's
// signed-in session, the rest with its API token.
func (mix *soakMix) one(ctx context.Context, rnd *rand.Rand, i int) {
	c := mix.call(rnd, i)
	f := mix.flows[c.flow]
	req, err := http.NewRequestWithContext(ctx, c.method, mix.s.URL(c.tenant.Slug, c.path), strings.NewReader(c.body))
	if err != nil {
		return
	}
	req.Host = req.URL.Host
	client := c.tenant.browser
	if c.flow != flowPage {
		client = mix.s.Client()
		req.Header.Set("Authorization", "Bearer "+c.tenant.Token)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			err = fmt.Errorf("status %d, want %d: %.200s", resp.StatusCode, c.want, b)
		}
	}
	if ctx.Err() != nil {
		return // cut off at the end: neither done nor failed
	}
	f.count.Add(1)
	if err != nil {
		f.err.Add(1)
		mix.fails.add("%s %s on %s: %v", c.method, c.path, c.tenant.Slug, err)
		return
	}
	f.mu.Lock()
	f.took = append(f.took, time.Since(start))
	f.mu.Unlock()
}

// rows summarise each flow over the whole run.
func (mix *soakMix) rows(d time.Duration) []Row {
	var rows []Row
	for _, f := range mix.flows {
		f.mu.Lock()
		p50, p99 := latencies(f.took)
		f.mu.Unlock()
		n := f.count.Load()
		rows = append(rows, Row{Section: "Soak", Name: f.name, Requests: int(n), Errors: int(f.err.Load()),
			Throughput: round2(float64(n) / d.Seconds()), P50: p50, P99: p99})
	}
	return rows
}
