package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMClosesCleanly builds the real binary, serves a request, sends
// SIGTERM and checks that the process exits 0 after closing every tenant
// file (a clean close checkpoints and removes the -wal file).
func TestSIGTERMClosesCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	bin := buildParley(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(dir, "data")
	// Replication off: this test checks Parley's own close (no -wal left).
	// Litestream keeps an already checkpointed -wal on purpose, so as not
	// to upload every tenant again at the next start; cmd/parley's
	// replication tests check what a replicated close leaves.
	cmd := exec.Command(bin, "serve", "--demo", "--data", data, "--addr", addr, "--admin-addr", "", "--base-domain", "localhost",
		"--replica-url", "none")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	banner := bufio.NewScanner(stdout)
	if !banner.Scan() || !strings.Contains(banner.Text(), "Parley is running") {
		t.Fatalf("no start-up banner: %q", banner.Text())
	}
	go io.Copy(io.Discard, stdout)

	req, _ := http.NewRequest("GET", "http://"+addr+"/login", nil)
	req.Host = "demo.localhost"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("demo login page: got %d", res.StatusCode)
	}
	wals, _ := filepath.Glob(filepath.Join(data, "tenants", "*.db-wal"))
	if len(wals) == 0 {
		t.Fatal("expected the open demo tenant to have a -wal file")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want status 0", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not exit within 30s of SIGTERM")
	}
	left, _ := filepath.Glob(filepath.Join(data, "*.db-wal"))
	tenantWALs, _ := filepath.Glob(filepath.Join(data, "tenants", "*.db-wal"))
	if wals := append(left, tenantWALs...); len(wals) != 0 {
		t.Errorf("files not closed cleanly, -wal left: %v", wals)
	}
}
