package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startServer runs a whole Parley server on 127.0.0.1:0 with a fresh data
// directory and returns it with its base domain (localhost:PORT).
func startServer(t testing.TB, mutate ...func(*Config)) (*Main, string) {
	t.Helper()
	// Reserve a port first: the base domain must name it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	cfg := DefaultConfig()
	cfg.Addr, cfg.AdminAddr = addr, "127.0.0.1:0"
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.BaseDomain = "localhost:" + port
	cfg.ShutdownTimeout = 5 * time.Second
	for _, f := range mutate {
		f(&cfg)
	}
	var logs bytes.Buffer
	m := NewMain(cfg, &logs)
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", tail(logs.String(), 40))
		}
	})
	return m, cfg.BaseDomain
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cli runs a parley command line in-process and returns its exit code and output.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}
