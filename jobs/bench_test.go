package jobs_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"parley/app"
	"parley/jobs"
)

// BenchmarkEnqueueSend measures one River insert of a send job on the
// control DB (River's single connection), while the workers run.
func BenchmarkEnqueueSend(b *testing.B) {
	e := setup(b, app.SandboxSettings{}, func(c *jobs.Config) { c.PollInterval = time.Second })
	ctx := context.Background()
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if err := e.jobs.EnqueueSend(ctx, e.tenant, fmt.Sprintf("missing-%d", i)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
