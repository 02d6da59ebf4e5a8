package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestGenAndLoad makes a tiny data set and drives every flow briefly
// against a real server: each flow must answer right (no errors), each
// flow must get its floor, and the send must reach the provider.
func TestGenAndLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds parley and starts a server")
	}
	ctx := context.Background()
	data, out := t.TempDir(), t.TempDir()
	var log io.Writer = io.Discard
	if testing.Verbose() {
		log = os.Stderr
	}
	m, err := generate(ctx, genOptions{Data: data, Cache: t.TempDir(), Seed: 3, Tenants: 2, Clients: 10, ChatsEvery: 1,
		Large: 300, Articles: 5, Workers: 2}, log)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Small) != 2 || m.Large.Token == "" || len(m.Large.Articles) != 5 || len(m.Small[1].Clients) != 10 {
		t.Fatalf("got manifest %+v, want 2 small tenants of 10 clients and a large one with a token and 5 articles", m)
	}
	res, err := measureLoad(ctx, loadOptions{Data: data, Out: out, Quick: true, Concurrency: 2,
		Duration: 300 * time.Millisecond, SendRate: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Failures {
		if !strings.HasPrefix(f, "machine: ") { // a busy machine is a caution, not a failure
			t.Errorf("failure: %s", f)
		}
	}
	floors := map[string]bool{}
	flows := 0
	for _, r := range res.Rows {
		switch {
		case r.Section == "Floor":
			floors[r.Name] = r.Throughput > 0
		case r.Requests == 0 || r.Errors > 0:
			t.Errorf("%s: got %d requests, %d errors; want some and none", r.Name, r.Requests, r.Errors)
		default:
			flows++
		}
	}
	for _, r := range res.Rows {
		if r.Floor != "" && !floors[r.Floor] {
			t.Errorf("%s: floor %q was not measured", r.Name, r.Floor)
		}
	}
	if want := 15; flows < want { // 14 flows and the send's accept-to-provider
		t.Errorf("got %d flow rows, want at least %d", flows, want)
	}
}
