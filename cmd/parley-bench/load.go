package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The load part: every flow of the issue driven at a fixed concurrency for
// a bounded time against a real `parley serve` (replication on), mostly on
// the large tenant, and the floor measured in the same run.

// loadOptions configures the load part.
type loadOptions struct {
	Data, Out   string
	Quick       bool
	Concurrency int
	// Duration is how long each flow is driven.
	Duration time.Duration
	// SendRate is the steady rate of sends a second (not flat out, so the
	// figure is the latency of a send, not of a queue).
	SendRate float64
	// Only runs the flows whose name contains it ("" runs all).
	Only string
}

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	o := loadOptions{}
	fs.StringVar(&o.Data, "data", "", "data directory made by gen (default .cache/bench/data, quick: .cache/bench/quick/data)")
	fs.StringVar(&o.Out, "out", "", "results directory (default .cache/bench/results, quick: .cache/bench/quick/results)")
	fs.BoolVar(&o.Quick, "quick", false, "the quick data and 2 s per flow")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "requests in flight at once per flow")
	fs.DurationVar(&o.Duration, "duration", 0, "how long each flow runs (default 10s, quick 2s)")
	fs.Float64Var(&o.SendRate, "send-rate", 20, "sends a second in the send flow")
	fs.StringVar(&o.Only, "only", "", "run only the flows whose name contains this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Data, o.Out = benchDirs(o.Data, o.Out, o.Quick)
	if o.Duration == 0 {
		o.Duration = pick(o.Quick, 2*time.Second, 10*time.Second)
	}
	if o.Concurrency < 1 {
		return errors.New("--concurrency must be at least 1")
	}
	res, err := measureLoad(ctx, o)
	return keepResults(o.Out, res, err)
}

// measureLoad starts the server, prepares the flows, drives each in turn and
// then the floor at each flow's page size.
func measureLoad(ctx context.Context, o loadOptions) (*Results, error) {
	m, err := readManifest(o.Data)
	if err != nil {
		return nil, err
	}
	res := &Results{Part: "load", Started: time.Now().UTC()}
	defer func() { res.Duration = time.Since(res.Started).Seconds() }()
	fails := &failureLog{}
	if load, err := loadAverage(); err == nil && load > float64(cpuCount()) {
		fails.add("machine", fmt.Errorf("busy before the run: load average %.1f on %d cores, so the figures are worse than this machine alone gives", load, cpuCount()))
	}
	s, err := startServer(ctx, serverOptions{Data: o.Data, LogPath: filepath.Join(o.Out, "server.log")})
	if err != nil {
		return res, err
	}
	defer s.Stop()
	say("load: server on %s (admin %s), preparing the flows", s.Base, s.Admin)
	prep := time.Now()
	flows, err := prepareFlows(ctx, s, m, o)
	if err != nil {
		return res, err
	}
	say("load: prepared in %s; waiting for the replica to catch up", time.Since(prep).Round(time.Millisecond))
	// The first start on new data snapshots every file it opens to the
	// replica (gigabytes for the large tenant): the flows wait for it, so
	// that they measure the steady state.
	if took, err := replicaCaughtUp(ctx, s, pick(o.Quick, time.Minute, 15*time.Minute)); err != nil {
		say("load: %v", err)
		fails.add("replication", err)
	} else {
		say("load: replica caught up within %s", took.Round(100*time.Millisecond))
	}
	var measured []measuredFlow
	for _, f := range flows {
		if o.Only != "" && !containsFold(f.Name, o.Only) {
			continue
		}
		out := drive(ctx, f, cmp.Or(f.Conc, o.Concurrency), o.Duration, fails)
		if f.After != nil {
			f.After(ctx, &out)
		}
		measured = append(measured, measuredFlow{flow: f, outcome: out})
		p50, p99 := latencies(out.Lat)
		say("load: %-40s %6d req %8.1f/s  p50 %7.2f ms  p99 %7.2f ms  %d errors", f.Name, out.N, out.throughput(), p50, p99, out.Errs)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	floors, err := measureFloors(ctx, m, o, measured, fails)
	if err != nil {
		return res, err
	}
	res.Rows = append(floors, flowRows(measured, floors, o)...)
	res.Failures = fails.list()
	return res, nil
}

// flow is one thing a user or a system does, driven over and over.
type flow struct {
	Name string
	// Path says what is requested, for the report's note.
	Path string
	// Rate, if set, paces the flow at this many requests a second in all
	// (the workers start each request on a tick).
	Rate float64
	// Aim is the promise held to, as a p99 in milliseconds (0: none).
	AimP99 float64
	// Floorless flows get no ratio (a latency measured elsewhere).
	Floorless bool
	// Conc, if set, overrides the concurrency (1: one request at a time).
	Conc int
	Note string
	// Do makes request i; it returns the response body's size, or an
	// error when the status or the body is wrong.
	Do func(ctx context.Context, i int) (int, error)
	// After, if set, runs once the flow has been driven (the send flow
	// waits there for its messages to reach the provider).
	After func(ctx context.Context, out *outcome)
	// Extra are rows derived from this flow (accept-to-provider).
	Extra []Row
}

// outcome is what driving a flow gave.
type outcome struct {
	N, Errs int
	Lat     []time.Duration
	Sizes   []int
	Elapsed time.Duration
	Extra   []Row
}

func (o outcome) throughput() float64 {
	if o.Elapsed <= 0 {
		return 0
	}
	return float64(o.N-o.Errs) / o.Elapsed.Seconds()
}

// medianSize is the median response body size in bytes.
func (o outcome) medianSize() int {
	if len(o.Sizes) == 0 {
		return 0
	}
	s := slices.Clone(o.Sizes)
	slices.Sort(s)
	return s[len(s)/2]
}

type measuredFlow struct {
	flow
	outcome
}

// drive runs f with conc workers for d (paced if f.Rate is set) and
// collects every request's latency and size.
func drive(ctx context.Context, f flow, conc int, d time.Duration, fails *failureLog) outcome {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var next atomic.Int64
	var mu sync.Mutex
	var out outcome
	ticks := make(chan struct{}, 1)
	if f.Rate > 0 {
		go func() {
			t := time.NewTicker(time.Duration(float64(time.Second) / f.Rate))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					select {
					case ticks <- struct{}{}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	if f.Rate > 0 {
		// Enough workers that a slow answer does not hold back the pace.
		conc = max(conc, int(f.Rate))
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				if f.Rate > 0 {
					select {
					case <-ctx.Done():
						return
					case <-ticks:
					}
				}
				i := int(next.Add(1) - 1)
				t0 := time.Now()
				// A request still running at the deadline finishes on its
				// own context, so it is measured, not cut off.
				size, err := f.Do(context.WithoutCancel(ctx), i)
				lat := time.Since(t0)
				mu.Lock()
				out.N++
				if err != nil {
					out.Errs++
					fails.add(f.Name, err)
				} else {
					out.Lat = append(out.Lat, lat)
					out.Sizes = append(out.Sizes, size)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	out.Elapsed = time.Since(start)
	return out
}

// fetch makes req on client c and returns the body when the status is want.
func fetch(c *http.Client, req *http.Request, want int) ([]byte, error) {
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != want {
		return body, fmt.Errorf("%s %s: got %d, want %d", req.Method, req.URL.RequestURI(), res.StatusCode, want)
	}
	return body, nil
}

// failureLog keeps the first few failures of each flow for the report.
type failureLog struct {
	mu     sync.Mutex
	byFlow map[string]int
	items  []string
}

func (f *failureLog) add(flow string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.byFlow == nil {
		f.byFlow = map[string]int{}
	}
	f.byFlow[flow]++
	if f.byFlow[flow] <= 3 {
		f.items = append(f.items, flow+": "+err.Error())
	}
}

func (f *failureLog) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.items)
	names := make([]string, 0, len(f.byFlow))
	for n, c := range f.byFlow {
		if c > 3 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, fmt.Sprintf("%s: %d failures in all", n, f.byFlow[n]))
	}
	return out
}

// say prints a progress line on stderr.
func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// loadAverage is the machine's one-minute load average.
func loadAverage() (float64, error) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, errors.New("empty /proc/loadavg")
	}
	return strconv.ParseFloat(f[0], 64)
}

// replicaCaughtUp waits until the server reports no replication lag
// (parley_replication_lag_seconds 0 on its admin /metrics) and says how
// long that took.
func replicaCaughtUp(ctx context.Context, s *server, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	lag := "unknown"
	for time.Since(start) < limit {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Admin+"/metrics", nil)
		if body, err := fetch(http.DefaultClient, req, http.StatusOK); err == nil {
			for line := range strings.Lines(string(body)) {
				if v, ok := strings.CutPrefix(line, "parley_replication_lag_seconds "); ok {
					lag = strings.TrimSpace(v)
				}
			}
			if lag == "0" {
				return time.Since(start), nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("the replica had not caught up after %s (lag %s s) when the flows started", limit, lag)
}
