package web_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/app"
)

// BenchmarkChatLiveFanOut measures live updates to many open inboxes: n
// signed-in SSE streams of GET /inbox/events, each a real loopback HTTP
// connection, are open when one inbound message is written with
// ReceiveMessage; each repetition waits until every stream has read its
// "chats" signal. It reports, from the start of the write, the p50 and
// p99 of a stream's wait (p50-µs, p99-µs, over every stream of every
// repetition) and of the wait for the last stream (all-p50-µs,
// all-p99-µs); ns/op is one repetition.
//
// The streams are read by a second process (this test binary, running
// TestChatLiveStreamsHelper), which stamps each signal with the wall clock
// as it reads it: one process cannot hold both ends of 10,000 connections
// under the usual limit of 20,000 open files. The tenant is a fresh one
// with one client: the fan-out costs the same whatever the tenant holds
// (one read of the new events and of the chat per commit, then one small
// write per stream).
func BenchmarkChatLiveFanOut(b *testing.B) {
	for _, n := range []int{1000, 10_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchFanOut(b, n) })
	}
}

func benchFanOut(b *testing.B, n int) {
	raiseOpenFiles(b, uint64(n+1024))
	ctx := context.Background()
	e := setup(b)
	ws := e.workspace("live")
	db := e.db(ws)
	ch, err := db.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
	if err != nil {
		b.Fatal(err)
	}
	receive := func(i int) error {
		_, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: ch.ID, Text: "Hi, where is my order?",
			From: app.ContactInput{Type: app.ContactEmail, Value: "fan.out@example.com"}, ProviderMessageID: "fan-" + strconv.Itoa(i)})
		return err
	}
	// The first message creates the client and the chat (two events);
	// each one after it is one MessageReceived, one "chats" per stream.
	if err := receive(-1); err != nil {
		b.Fatal(err)
	}
	br := e.browser()
	br.login("live", "admin@live.example", "correct horse battery")
	u, _ := url.Parse(hostURL("live", "/inbox/events"))
	arrivals := startStreams(b, e, u, br.c.Jar.Cookies(u), n)
	var each, all []time.Duration
	runtime.GC() // the setup's garbage is not the fan-out's
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if err := receive(i); err != nil {
			b.Fatal(err)
		}
		var last time.Time
		for range n {
			at, ok := <-arrivals
			if !ok {
				b.Fatalf("repetition %d: the stream reader stopped", i)
			}
			each = append(each, at.Sub(start))
			if at.After(last) {
				last = at
			}
		}
		all = append(all, last.Sub(start))
	}
	reportQuantiles(b, "", each)
	reportQuantiles(b, "all-", all)
}

// startStreams runs the stream reader process on n streams at u and
// returns the times of the signals it reads, once every stream is
// subscribed. The process ends with the benchmark, before the server.
func startStreams(b *testing.B, e *env, u *url.URL, cookies []*http.Cookie, n int) <-chan time.Time {
	b.Helper()
	var cookie []string
	for _, c := range cookies {
		cookie = append(cookie, c.Name+"="+c.Value)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChatLiveStreamsHelper$", "-test.bench=^$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PARLEY_LIVE_STREAMS="+strconv.Itoa(n), "PARLEY_LIVE_URL="+u.String(),
		"PARLEY_LIVE_ADDR="+e.srv.Listener.Addr().String(), "PARLEY_LIVE_COOKIE="+strings.Join(cookie, "; "))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := bufio.NewScanner(out)
	for lines.Scan() && lines.Text() != "ready" {
	}
	if lines.Text() != "ready" {
		b.Fatalf("the stream reader ended before every stream was open: %v", lines.Err())
	}
	arrivals := make(chan time.Time, n)
	go func() {
		defer close(arrivals)
		for lines.Scan() {
			if ns, err := strconv.ParseInt(lines.Text(), 10, 64); err == nil {
				arrivals <- time.Unix(0, ns)
			}
		}
	}()
	return arrivals
}

// TestChatLiveStreamsHelper is BenchmarkChatLiveFanOut's stream reader: it
// opens the streams, prints "ready" once each is subscribed, then the wall
// time (Unix nanoseconds) of every "chats" or "reset" signal it reads.
func TestChatLiveStreamsHelper(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PARLEY_LIVE_STREAMS"))
	if n == 0 {
		t.Skip("runs only as BenchmarkChatLiveFanOut's stream reader")
	}
	target := os.Getenv("PARLEY_LIVE_ADDR")
	client := &http.Client{Transport: &http.Transport{DisableCompression: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, target)
		}}}
	arrivals := make(chan int64, n)
	ready := make(chan error, n)
	opening := make(chan struct{}, 64) // connections being opened at once
	var readers sync.WaitGroup
	for range n {
		opening <- struct{}{}
		req, _ := http.NewRequest("GET", os.Getenv("PARLEY_LIVE_URL"), nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Cookie", os.Getenv("PARLEY_LIVE_COOKIE"))
		readers.Add(1)
		go func() {
			defer readers.Done()
			res, err := client.Do(req)
			<-opening
			if err == nil && res.StatusCode != http.StatusOK {
				err = fmt.Errorf("GET %s: status %d", req.URL.Path, res.StatusCode)
			}
			if err != nil {
				ready <- err
				return
			}
			defer res.Body.Close()
			readSignals(res.Body, ready, arrivals)
		}()
	}
	for range n {
		if err := <-ready; err != nil {
			t.Fatal(err)
		}
	}
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(w, "ready")
	w.Flush()
	go func() {
		readers.Wait()
		close(arrivals)
	}()
	for at := range arrivals {
		fmt.Fprintln(w, at)
		if len(arrivals) == 0 {
			w.Flush()
		}
	}
	w.Flush()
}

// readSignals reads a stream: the retry line says it is subscribed, then
// each "chats" or "reset" event is an arrival.
func readSignals(body io.Reader, ready chan<- error, arrivals chan<- int64) {
	r := bufio.NewReader(body)
	name := ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch {
		case strings.HasPrefix(line, "retry:"):
			ready <- nil
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimSpace(strings.TrimPrefix(line, "event: "))
		case line == "\n":
			if name == "chats" || name == "reset" {
				arrivals <- time.Now().UnixNano()
			}
			name = ""
		}
	}
}

// raiseOpenFiles lifts the soft limit on open files to at least want (the
// server's end of each stream takes one), within the hard limit.
func raiseOpenFiles(b *testing.B, want uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur >= want {
		return
	}
	if lim.Max < want {
		b.Skipf("the streams need %d open files; the hard limit is %d", want, lim.Max)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
}

func reportQuantiles(b *testing.B, prefix string, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	b.ReportMetric(us(d[len(d)/2]), prefix+"p50-µs")
	b.ReportMetric(us(d[len(d)*99/100]), prefix+"p99-µs")
}
