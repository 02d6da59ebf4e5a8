package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// arrivals is an HTTP sandbox outbox that records when each message arrived.
type arrivals struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m struct {
		Key string `json:"key"`
	}
	if r.Method == http.MethodPost && json.NewDecoder(r.Body).Decode(&m) == nil {
		a.mu.Lock()
		if _, ok := a.at[m.Key]; !ok {
			a.at[m.Key] = time.Now()
		}
		a.mu.Unlock()
		fmt.Fprintf(w, `{"id": "bench-%s"}`, m.Key)
		return
	}
	http.NotFound(w, r)
}

// BenchmarkSendAccept measures sends over the API at a steady 50 a second
// on a running server with River and the sandbox: the HTTP accept (202)
// latency, and the time from the 202 to the message reaching the provider
// (the sandbox's outbox server), as p50/p99.
func BenchmarkSendAccept(b *testing.B) {
	out := &arrivals{at: map[string]time.Time{}}
	outbox := httptest.NewServer(out)
	defer outbox.Close()
	m, base := startServer(b, func(c *Config) {
		c.Demo, c.SandboxOutboxURL, c.JobPollInterval, c.LogLevel = true, outbox.URL, 50*time.Millisecond, "error"
	})
	token := benchToken(b, m)
	quietSandbox(b, m)
	chats := benchChats(b, base, token)
	accepted := map[string]time.Time{}
	var lat []time.Duration
	// A steady 50 sends a second (a busy team's peak, many times over),
	// so the figure is the latency of a send, not of a queue that grows.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		<-tick.C
		start := time.Now()
		res := benchAPI(b, base, token, "POST", "/api/v1/chats/"+chats[i%len(chats)]+"/messages", map[string]string{"text": "Benchmark reply"})
		var msg app.Message
		json.NewDecoder(res.Body).Decode(&msg)
		res.Body.Close()
		now := time.Now()
		if res.StatusCode != http.StatusAccepted {
			b.Fatalf("send: got %d", res.StatusCode)
		}
		lat = append(lat, now.Sub(start))
		accepted[msg.ID] = now
	}
	b.StopTimer()
	var toProvider []time.Duration
	deadline := time.Now().Add(time.Minute)
	for len(toProvider) < len(accepted) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		toProvider = toProvider[:0]
		out.mu.Lock()
		for id, acc := range accepted {
			if at, ok := out.at[id]; ok {
				toProvider = append(toProvider, at.Sub(acc))
			}
		}
		out.mu.Unlock()
	}
	if len(toProvider) < len(accepted) {
		b.Fatalf("%d of %d messages reached the provider", len(toProvider), len(accepted))
	}
	reportPercentiles(b, "accept", lat)
	reportPercentiles(b, "to-provider", toProvider)
}

// BenchmarkInboundIngest measures the inbound path over HTTP (the sandbox
// inbound API, which takes the path provider webhooks take), each message
// from a new sender: client, chat, member, message, event.
func BenchmarkInboundIngest(b *testing.B) {
	m, base := startServer(b, func(c *Config) { c.Demo, c.LogLevel = true, "error" })
	token := benchToken(b, m)
	var lat []time.Duration
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		res := benchAPI(b, base, token, "POST", "/api/v1/sandbox/inbound", map[string]any{
			"from": map[string]string{"type": "email", "value": fmt.Sprintf("ingest-%d@example.com", i)},
			"text": "Hello, I have a question about my order", "provider_message_id": fmt.Sprintf("ingest-%d", i)})
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			b.Fatalf("inbound: got %d", res.StatusCode)
		}
		lat = append(lat, time.Since(t0))
	}
	b.ReportMetric(float64(len(lat))/time.Since(start).Seconds(), "msgs/s")
	reportPercentiles(b, "ingest", lat)
}

// quietSandbox turns off the demo sandbox's customer answers, so the
// benchmark measures the delivery path, not the simulated customers.
func quietSandbox(b *testing.B, m *Main) {
	withDemo(b, m, func(ctx context.Context, db *tenantdb.DB) {
		chs, err := db.ListChannels(ctx)
		if err != nil || len(chs) == 0 {
			b.Fatalf("channels: %v", err)
		}
		if err := db.UpdateChannel(ctx, chs[0].ID, chs[0].Name, app.SandboxSettings{}, nil, true, app.CLIActor); err != nil {
			b.Fatal(err)
		}
	})
}

// withDemo runs fn with the demo workspace's open file.
func withDemo(b *testing.B, m *Main, fn func(context.Context, *tenantdb.DB)) {
	b.Helper()
	ctx := context.Background()
	ten, err := m.Control.TenantBySlug(ctx, demoSlug)
	if err != nil {
		b.Fatal(err)
	}
	db, release, err := m.Tenants.Acquire(ctx, ten.ID)
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	fn(ctx, db)
}

func reportPercentiles(b *testing.B, name string, d []time.Duration) {
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, name+"-p50-ms")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, name+"-p99-ms")
}

func benchToken(b *testing.B, m *Main) string {
	var secret string
	withDemo(b, m, func(ctx context.Context, db *tenantdb.DB) {
		var err error
		if _, secret, err = db.CreateToken(ctx, app.NewAPIToken{Name: "bench", Role: app.RoleAdmin}, app.CLIActor); err != nil {
			b.Fatal(err)
		}
	})
	return secret
}

func benchChats(b *testing.B, base, token string) []string {
	res := benchAPI(b, base, token, "GET", "/api/v1/chats", nil)
	defer res.Body.Close()
	var page struct{ Data []app.Chat }
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil || len(page.Data) == 0 {
		b.Fatalf("chats: %v", err)
	}
	var ids []string
	for _, c := range page.Data {
		ids = append(ids, c.ID)
	}
	return ids
}

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

func benchAPI(b *testing.B, base, token, method, path string, body any) *http.Response {
	b.Helper()
	var buf bytes.Buffer
	if body != nil {
		json.NewEncoder(&buf).Encode(body)
	}
	req, _ := http.NewRequest(method, "http://"+base+path, &buf)
	req.Host = "demo." + base
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	return res
}
