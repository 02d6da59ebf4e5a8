package web_test

import (
	"net/http"
	"slices"
	"testing"
	"time"
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
