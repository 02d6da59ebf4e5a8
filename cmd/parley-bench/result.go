package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"
)

// Row is one measured line of a run: a flow driven over HTTP, a floor it is
// compared with, or a scale figure (cold opens, memory, fan-out).
type Row struct {
	// Section groups rows in BENCHMARKS.md: "Floor", "Flows", "Tenants",
	// "Live updates", "Soak".
	Section string `json:"section"`
	// Name says what was measured, e.g. "client profile page".
	Name string `json:"name"`
	// Concurrency is how many workers drove the flow at once (0 if n/a).
	Concurrency int `json:"concurrency,omitempty"`
	// Requests and Errors count what was sent and what failed (a wrong
	// status, a transport error, a body that did not look right).
	Requests int `json:"requests,omitempty"`
	Errors   int `json:"errors"`
	// Throughput is completed requests per second (0 if n/a).
	Throughput float64 `json:"throughput,omitempty"`
	// P50 and P99 are latencies in milliseconds.
	P50 float64 `json:"p50_ms,omitempty"`
	P99 float64 `json:"p99_ms,omitempty"`
	// Floor names the floor row (same Section "Floor") this flow's
	// throughput is divided by; Ratio is that quotient (0 if no floor).
	Floor string  `json:"floor,omitempty"`
	Ratio float64 `json:"ratio,omitempty"`
	// Aim is the promise this row is held to, e.g. "p99 < 5 ms", and Met
	// whether the run kept it (nil when there is no aim).
	Aim string `json:"aim,omitempty"`
	Met *bool  `json:"met,omitempty"`
	// Value and Unit carry a figure that is not a latency (RSS in MB, CPU
	// in cores, WAL bytes, seconds until all subscribers had a message).
	Value float64 `json:"value,omitempty"`
	Unit  string  `json:"unit,omitempty"`
	// Note is one short sentence of context.
	Note string `json:"note,omitempty"`
}

// Results is what one part of a run (load, scale, sse, soak) measured.
type Results struct {
	Part     string    `json:"part"`
	Started  time.Time `json:"started"`
	Duration float64   `json:"duration_s"`
	Rows     []Row     `json:"rows"`
	// Failures are errors worth reading whole (first few of each kind).
	Failures []string `json:"failures,omitempty"`
}

// latencies turns a sample of durations into p50 and p99 in milliseconds.
func latencies(d []time.Duration) (p50, p99 float64) {
	if len(d) == 0 {
		return 0, 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q * float64(len(s)-1))
		return float64(s[i]) / float64(time.Millisecond)
	}
	return at(0.50), at(0.99)
}

// writeResults stores r as <dir>/<part>.json for the report to read.
func writeResults(dir string, r Results) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, r.Part+".json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, r.Part+".json"))
}

// keepResults stores what a part measured (res, which may be nil), even
// when the part stopped early with err, and returns err, or the store's
// error when the part had none.
func keepResults(out string, res *Results, err error) error {
	if res == nil {
		return err
	}
	if werr := writeResults(out, *res); werr != nil && err == nil {
		return werr
	}
	return err
}

// readResults loads every part stored in dir, sorted by part name.
func readResults(dir string) ([]Results, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var all []Results
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r Results
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		all = append(all, r)
	}
	return all, nil
}
