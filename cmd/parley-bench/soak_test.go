package main

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
)

// steady returns n samples 10 s apart of a server that holds still.
func steady(n int) []soakSample {
	var s []soakSample
	for i := range n {
		s = append(s, soakSample{At: time.Duration(i+1) * 10 * time.Second, RSS: 200 << 20, WALMax: 4 << 20,
			WALTotal: 40 << 20, ControlWAL: 2 << 20, Lag: 0.5, Goroutines: 400, FDs: 500, Requests: int64(600 * (i + 1))})
	}
	return s
}

// with changes each sample i of a steady run.
func with(n int, change func(i int, s *soakSample)) []soakSample {
	s := steady(n)
	for i := range s {
		change(i, &s[i])
	}
	return s
}

func TestSoakVerdict(t *testing.T) {
	tests := []struct {
		name    string
		samples []soakSample
		// want is "PASS" or a part of each reason, in order.
		want []string
	}{
		{"OK", steady(12), nil},
		{"OKWarmUpInFirstHalf", with(12, func(i int, s *soakSample) { s.RSS = int64(100+min(i, 5)*40) << 20 }), nil},
		{"OKSawToothWAL", with(12, func(i int, s *soakSample) { s.WALMax = int64(1+i%3) << 20 }), nil},
		{"OKSmallDrift", with(12, func(i int, s *soakSample) { s.RSS = int64(200+i) << 20 }), nil},
		{"ErrRequests", with(12, func(i int, s *soakSample) { s.Errors = int64(i / 10) }), []string{"1 requests failed"}},
		{"ErrReplication", with(12, func(i int, s *soakSample) { s.ReplErrors = float64(i) }), []string{"11 replication errors"}},
		{"ErrDroppedStreams", with(12, func(i int, s *soakSample) { s.Dropped = int64(i) }), []string{"ended 11 SSE streams"}},
		{"ErrLag", with(12, func(i int, s *soakSample) {
			if i == 4 {
				s.Lag = 7.5
			}
		}), []string{"replica lag 7.5 s at 0:50"}},
		{"ErrMemoryGrows", with(12, func(i int, s *soakSample) { s.RSS = int64(200+i*10) << 20 }), []string{"memory (RSS) grew by 50.0 MB"}},
		{"ErrWALGrows", with(12, func(i int, s *soakSample) { s.WALMax = int64(4+i*2) << 20 }), []string{"largest tenant WAL grew"}},
		{"ErrControlWALGrows", with(12, func(i int, s *soakSample) { s.ControlWAL = int64(2+i*3) << 20 }), []string{"control DB WAL grew"}},
		{"ErrGoroutinesLeak", with(12, func(i int, s *soakSample) { s.Goroutines = float64(400 + i*50) }), []string{"goroutines grew by 250"}},
		{"ErrFilesLeak", with(12, func(i int, s *soakSample) { s.FDs = 500 + i*40 }), []string{"open files grew by 200"}},
		{"ErrSeveral", with(12, func(i int, s *soakSample) { s.Errors, s.Lag = 3, 4 }), []string{"3 requests failed", "replica lag 4.0 s"}},
		{"ErrTooShort", steady(1), []string{"fewer than two samples"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := soakVerdict{}.judge(tt.samples)
			if len(tt.want) == 0 {
				if !v.Pass || v.String() != "PASS" {
					t.Fatalf("got %v, want PASS", v)
				}
				return
			}
			if v.Pass {
				t.Fatalf("got PASS, want FAIL with %q", tt.want)
			}
			if len(v.Reasons) != len(tt.want) {
				t.Fatalf("got reasons %q, want %d like %q", v.Reasons, len(tt.want), tt.want)
			}
			for i, want := range tt.want {
				if !strings.Contains(v.Reasons[i], want) {
					t.Errorf("reason %d: got %q, want it to contain %q", i, v.Reasons[i], want)
				}
			}
		})
	}
}

// TestSoakMix: the mix keeps its shares, and sends and inbound messages go
// only to tenants with a sandbox channel (those with chats).
func TestSoakMix(t *testing.T) {
	large := soakTenant{TenantInfo: TenantInfo{Slug: "large", Clients: []string{"c1"}, Chats: []string{"h1"}}}
	withChats := soakTenant{TenantInfo: TenantInfo{Slug: "small1", Clients: []string{"c2"}, Chats: []string{"h2"}}}
	without := soakTenant{TenantInfo: TenantInfo{Slug: "small2", Clients: []string{"c3"}}}
	mix := &soakMix{large: large, small: []soakTenant{withChats, without}}
	rnd := rand.New(rand.NewPCG(1, 1))
	got := map[int]int{}
	for i := range 1000 {
		c := mix.call(rnd, i)
		got[c.flow]++
		if (c.flow == flowSend || c.flow == flowInbound) && len(c.tenant.Chats) == 0 {
			t.Fatalf("call %d: %s %s on %s, which has no sandbox channel", i, c.method, c.path, c.tenant.Slug)
		}
		if c.method == "POST" && c.want == http.StatusOK {
			t.Errorf("call %d: %s %s wants 200", i, c.method, c.path)
		}
	}
	want := map[int]int{flowPage: 300, flowAPI: 300, flowSend: 200, flowInbound: 200}
	for flow, n := range want {
		if got[flow] != n {
			t.Errorf("flow %d: got %d calls of 1000, want %d", flow, got[flow], n)
		}
	}
}
