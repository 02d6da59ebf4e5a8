package main

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	page := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 312
parley_replication_lag_seconds 0.25
parley_http_requests_total{route="GET /inbox",status="200"} 17
parley_tenant_open_seconds_bucket{le="+Inf"} 1000
`
	m, err := parseMetrics(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"go_goroutines": 312, "parley_replication_lag_seconds": 0.25,
		`parley_http_requests_total{route="GET /inbox",status="200"}`: 17} {
		if got := m[name]; got != want {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	page := `parley_tenant_open_seconds_bucket{le="0.001"} 0
parley_tenant_open_seconds_bucket{le="0.002"} 50
parley_tenant_open_seconds_bucket{le="0.004"} 90
parley_tenant_open_seconds_bucket{le="0.008"} 100
parley_tenant_open_seconds_bucket{le="+Inf"} 100
parley_tenant_open_seconds_count 100
`
	m, err := parseMetrics(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	b := histogram(m, "parley_tenant_open_seconds")
	for _, tt := range []struct{ q, want float64 }{{0.50, 0.002}, {0.25, 0.0015}, {0.70, 0.003}, {0.99, 0.0076}} {
		if got := b.quantile(tt.q); got < tt.want-1e-9 || got > tt.want+1e-9 {
			t.Errorf("q%.2f: got %v, want %v", tt.q, got, tt.want)
		}
	}
}
