package main

import (
	"strings"
	"testing"
	"time"
)

func met(b bool) *bool { return &b }

// TestWriteReport renders fixed results and checks what a reader relies
// on: the machine, the data, each section's table with its ratio and aim,
// the aims summary and the failures.
func TestWriteReport(t *testing.T) {
	parts := []Results{
		{Part: "load", Started: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Duration: 95,
			Rows: []Row{
				{Section: "Floor", Name: "bare net/http handler, 35 KB page", Concurrency: 4, Requests: 30000, Throughput: 10000, P50: 0.2, P99: 1.5},
				{Section: "Flows", Name: "client profile page", Concurrency: 4, Requests: 9000, Throughput: 900, P50: 3.1, P99: 4.2,
					Floor: "bare net/http handler, 35 KB page", Ratio: 0.09, Aim: "p99 < 5 ms", Met: met(true), Note: "GET /clients/{id}"},
				{Section: "Flows", Name: "chat list (inbox page)", Concurrency: 4, Requests: 4000, Errors: 2, Throughput: 400, P50: 8, P99: 14.5,
					Aim: "p99 < 10 ms", Met: met(false), Note: "a | in a note"},
			},
			Failures: []string{"chat list (inbox page): GET /inbox: got 500, want 200"}},
		{Part: "scale", Rows: []Row{{Section: "Tenants", Name: "RSS, 1,000 tenants open", Value: 512.5, Unit: "MB"}}},
	}
	m := &Manifest{Seed: 1, Small: make([]TenantInfo, 1000), Sizes: map[string]int64{"large tenant clients": 100000,
		"clients per small tenant": 100, "large tenant articles": 200}, Steps: []GenStep{{Name: "small tenants", Seconds: 300}}}
	var b strings.Builder
	writeReport(&b, reportInput{Parts: parts, Manifest: m, Machine: machine{CPU: "Test CPU", Cores: 2, RAMBytes: 8 << 30,
		OS: "Test OS", Go: "go1.26", Commit: "abc1234+dirty", Date: time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)}})
	got := b.String()
	for _, tc := range []struct{ name, want string }{
		{"Machine", "| CPU | Test CPU, 2 cores |"},
		{"Commit", "| Commit | abc1234+dirty |"},
		{"Data", "1,000 small workspaces of 100 clients each"},
		{"GenStep", "| small tenants | 5m0s |"},
		{"FlowRow", "| client profile page | 4 | 9,000 | 0 | 900 | 3.10 | 4.20 | 0.090 | p99 < 5 ms: kept | GET /clients/{id} (floor: bare net/http handler, 35 KB page) |"},
		{"MissedAim", "| chat list (inbox page) | 4 | 4,000 | 2 | 400 | 8.00 | 14.5 |  | p99 < 10 ms: **missed** | a \\| in a note |"},
		{"AimsSummary", "| chat list (inbox page) | p99 < 10 ms | p99 14.5 ms, 2 errors | **missed** |"},
		{"FloorTable", "## Floor"},
		{"ValueRow", "| RSS, 1,000 tenants open | 512 MB |"},
		{"Failures", "- chat list (inbox page): GET /inbox: got 500, want 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(got, tc.want) {
				t.Errorf("report lacks %q:\n%s", tc.want, got)
			}
		})
	}
	if i, j := strings.Index(got, "## Flows"), strings.Index(got, "## Floor"); i < 0 || j < i {
		t.Errorf("got Flows at %d and Floor at %d, want Flows first", i, j)
	}
}

func TestFloorSize(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, 1}, {57, 57}, {512, 510}, {35_880, 36_000}, {1_234_567, 1_200_000}} {
		if got := floorSize(tc.in); got != tc.want {
			t.Errorf("floorSize(%d): got %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestMetP99(t *testing.T) {
	for _, tc := range []struct {
		name     string
		p99, lim float64
		errs     int
		want     bool
	}{
		{"Kept", 4.9, 5, 0, true},
		{"Slow", 5, 5, 0, false},
		{"Errors", 1, 5, 1, false},
		{"NothingMeasured", 0, 5, 0, false},
	} {
		if got := *metP99(tc.p99, tc.lim, tc.errs); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestHasMarkers checks the body check every flow relies on: a name shows
// HTML-escaped in a page, and a missing marker is an error.
func TestHasMarkers(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		markers    []string
		ok         bool
	}{
		{"OK", `<h1 data-testid="client-name">Ann Lee</h1>`, []string{"Ann Lee", `data-testid="client-name"`}, true},
		{"OKEscaped", `<h1>Seán O&#39;Brien</h1>`, []string{"Seán O'Brien"}, true},
		{"ErrMissing", `<h1>Ann Lee</h1>`, []string{"Bob Ray"}, false},
		{"ErrOneOfTwoMissing", `<h1>Ann Lee</h1>`, []string{"Ann Lee", `data-testid="message"`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := hasMarkers("/page", []byte(tc.body), tc.markers...)
			if got := err == nil; got != tc.ok {
				t.Errorf("got error %v, want ok %v", err, tc.ok)
			}
		})
	}
}
