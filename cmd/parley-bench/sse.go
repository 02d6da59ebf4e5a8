package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The sse part: live updates to many open inboxes. N team members' pages
// hold the live stream (GET /inbox/events) of the large tenant open while
// one chat is on screen; a message is written in that chat (a customer's
// inbound through the sandbox, or a sent reply) and we time how long until
// every stream has read that chat's signal ("chat-{id}"). The streams are
// real loopback connections held by this process; the server is the child.

// sseOptions configures the sse part.
type sseOptions struct {
	Data, Out   string
	Quick       bool
	Subscribers []int
	// Repeats is how many messages are timed at each subscriber count.
	Repeats int
}

func runSSE(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sse", flag.ContinueOnError)
	o := sseOptions{}
	subs := ""
	fs.StringVar(&o.Data, "data", "", "data directory made by gen (default .cache/bench/data, quick: .cache/bench/quick/data)")
	fs.StringVar(&o.Out, "out", "", "results directory (default .cache/bench/results, quick: .cache/bench/quick/results)")
	fs.BoolVar(&o.Quick, "quick", false, "the quick data, 200 and 1,000 subscribers")
	fs.StringVar(&subs, "subscribers", "", "subscriber counts, ascending (default 1000,10000; quick 200,1000)")
	fs.IntVar(&o.Repeats, "repeats", 5, "messages timed at each count")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Data, o.Out = benchDirs(o.Data, o.Out, o.Quick)
	if subs == "" {
		subs = pick(o.Quick, "200,1000", "1000,10000")
	}
	for _, f := range strings.Split(subs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--subscribers %q: want counts such as 1000,10000", subs)
		}
		o.Subscribers = append(o.Subscribers, n)
	}
	slices.Sort(o.Subscribers)
	res, err := measureSSE(ctx, o)
	return keepResults(o.Out, res, err)
}

func measureSSE(ctx context.Context, o sseOptions) (*Results, error) {
	m, err := readManifest(o.Data)
	if err != nil {
		return nil, err
	}
	limit, err := raiseFileLimit()
	if err != nil {
		return nil, fmt.Errorf("raise the open files limit: %w", err)
	}
	res := &Results{Part: "sse", Started: time.Now().UTC()}
	defer func() { res.Duration = time.Since(res.Started).Seconds() }()
	s, err := startServer(ctx, serverOptions{Data: o.Data, MaxOpen: 2000})
	if err != nil {
		return res, err
	}
	defer s.Stop()
	logf("sse: open files limit: this process %d, the server %s", limit, serverFileLimit(s.PID))
	fails := &failures{}
	t := m.Large
	chatID, err := sseChat(ctx, s, t)
	if err != nil {
		return res, err
	}
	browser, err := signIn(ctx, s, t)
	if err != nil {
		return res, fmt.Errorf("sign in to %s: %w", t.Slug, err)
	}
	streams, err := newStreamSet(ctx, s, m, browser, chatID, slices.Max(o.Subscribers))
	if err != nil {
		return res, err
	}
	defer streams.close()
	for _, n := range o.Subscribers {
		row, all := fanOut(ctx, s, t, streams, n, o.Repeats, chatID, fails)
		if rss, err := s.RSSBytes(); err == nil {
			// Not per stream: the start-up reconcile pass opens every
			// tenant meanwhile, and each open tenant costs memory too.
			row.Note += fmt.Sprintf("; server RSS %.0f MB with the streams open", mb(rss))
		}
		res.Rows = append(res.Rows, row, all)
		if ctx.Err() != nil {
			break
		}
	}
	res.Failures = fails.list()
	return res, ctx.Err()
}

// fanOut grows the streams to n, then times repeats messages; it returns
// a row for one stream's wait and a row for the wait until all had it.
func fanOut(ctx context.Context, s *server, t TenantInfo, streams *streamSet, n, repeats int, chatID string, fails *failures) (each, all Row) {
	name := thousands(n) + " subscribers"
	each = Row{Section: "Live updates", Name: "SSE fan-out, " + name + ": one stream's wait for the new message", Concurrency: n}
	all = Row{Section: "Live updates", Name: "SSE fan-out, " + name + ": wait until every stream has it", Concurrency: n,
		Aim: "every subscriber gets every message"}
	if n >= 10_000 {
		all.Aim = "10,000 SSE subscribers: " + all.Aim
	}
	start := time.Now()
	err := streams.grow(ctx, n)
	opened := streams.open()
	logf("sse: %d streams open (took %s)", opened, time.Since(start).Round(time.Millisecond))
	if err != nil {
		fails.add("open %d streams: %v", n, err)
		logf("sse: could not open %d streams: %v", n, err)
		each.Errors, all.Errors = n-opened, n-opened
	}
	var waits, lasts []time.Duration
	missed := 0
	for i := range repeats {
		if ctx.Err() != nil {
			break
		}
		got, last, err := streams.time(ctx, s, t, chatID, i)
		if err != nil {
			fails.add("message %d to %d streams: %v", i, opened, err)
			all.Errors++
			continue
		}
		waits = append(waits, got...)
		lasts = append(lasts, last)
		missed += opened - len(got)
		logf("sse: %d streams: message %d reached %d streams, the last after %s", opened, i+1, len(got), last.Round(time.Microsecond))
		time.Sleep(500 * time.Millisecond) // the send's later status signals are not the next message's
	}
	each.Requests, each.Errors = len(waits), each.Errors+missed
	each.P50, each.P99 = latencies(waits)
	all.Requests = len(lasts)
	all.P50, all.P99 = latencies(lasts)
	if len(lasts) > 0 {
		all.Value, all.Unit = float64(slices.Max(lasts))/float64(time.Millisecond), "ms (worst)"
	}
	ok := opened == n && missed == 0 && all.Errors == 0 && len(lasts) == repeats
	all.Met = &ok
	all.Note = fmt.Sprintf("%d of %d streams open, %d messages (inbound and sent alternately), %d signals missed, %d streams ended early, %d resets (a stream fell behind)",
		opened, n, len(lasts), missed, streams.ended.Load(), streams.resets.Load())
	each.Note = "from the API request that wrote the message to the stream reading its chat signal; " + machineLoad()
	return each, all
}

// sseChat returns the chat the streams watch: the chat of a fixed
// customer address, which the first inbound message creates.
func sseChat(ctx context.Context, s *server, t TenantInfo) (string, error) {
	m, err := sandboxInbound(ctx, s, t, "sse-setup-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err != nil {
		return "", fmt.Errorf("write the watched chat's first message: %w", err)
	}
	return m.ChatID, nil
}

// sseMessage is the part of the API's message the sse part reads.
type sseMessage struct {
	ID     string `json:"id"`
	ChatID string `json:"chat_id"`
}

const sseCustomer = "live.bench@example.com"

// sandboxInbound writes a customer's message through the sandbox channel.
func sandboxInbound(ctx context.Context, s *server, t TenantInfo, providerID string) (sseMessage, error) {
	body := fmt.Sprintf(`{"from":{"type":"email","value":%q},"text":"Is my order on its way?","provider_message_id":%q}`, sseCustomer, providerID)
	return postMessage(ctx, s, t, "/api/v1/sandbox/inbound", body)
}

// sendReply sends a team reply in the chat.
func sendReply(ctx context.Context, s *server, t TenantInfo, chatID string) (sseMessage, error) {
	return postMessage(ctx, s, t, "/api/v1/chats/"+chatID+"/messages", `{"text":"It left the warehouse this morning."}`)
}

func postMessage(ctx context.Context, s *server, t TenantInfo, path, body string) (sseMessage, error) {
	var m sseMessage
	req, err := http.NewRequestWithContext(ctx, "POST", s.Base+path, strings.NewReader(body))
	if err != nil {
		return m, err
	}
	req.Header.Set("Authorization", "Bearer "+t.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Do(req, t.Slug)
	if err != nil {
		return m, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("POST %s: status %d: %.200s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, &m); err != nil || m.ChatID == "" {
		return m, fmt.Errorf("POST %s: no message in the answer: %.200s", path, b)
	}
	return m, nil
}

// streamSet holds SSE streams of one signed-in session open and reports
// when each reads the watched chat's signal.
type streamSet struct {
	client *http.Client
	url    string
	host   string
	cookie string
	// signal is the event name of the watched chat.
	signal string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// round is the message being timed; a stream reports the first
	// signal it reads in each round.
	round    atomic.Int64
	arrivals chan arrival
	opened   atomic.Int64
	ended    atomic.Int64
	// resets counts "reset" signals: a stream fell behind on the server
	// and dropped signals (the page then reloads what it shows).
	resets atomic.Int64
}

type arrival struct {
	round int64
	at    time.Time
}

// newStreamSet prepares to hold up to most streams of the session in browser.
func newStreamSet(ctx context.Context, s *server, m *Manifest, browser *http.Client, chatID string, most int) (*streamSet, error) {
	base, err := url.Parse(s.Base)
	if err != nil {
		return nil, err
	}
	host := m.Large.Slug + "." + m.BaseDomain
	var cookies []string
	if browser.Jar != nil {
		seen := map[string]bool{}
		for _, u := range []string{"http://" + host + "/inbox/events", s.Base + "/inbox/events"} {
			pu, _ := url.Parse(u)
			for _, c := range browser.Jar.Cookies(pu) {
				if !seen[c.Name] {
					seen[c.Name] = true
					cookies = append(cookies, c.Name+"="+c.Value)
				}
			}
		}
	}
	if len(cookies) == 0 {
		return nil, errors.New("the signed-in session has no cookie for the team host")
	}
	addr := base.Host
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		DisableCompression: true, MaxIdleConnsPerHost: -1, ResponseHeaderTimeout: 30 * time.Second,
	}
	sctx, cancel := context.WithCancel(ctx)
	return &streamSet{client: &http.Client{Transport: tr}, url: s.Base + "/inbox/events", host: host,
		cookie: strings.Join(cookies, "; "), signal: "chat-" + chatID, ctx: sctx, cancel: cancel,
		// Room for two rounds of arrivals: a reader never waits on it, so
		// a slow count never slows the streams.
		arrivals: make(chan arrival, 2*most+1024)}, nil
}

func (ss *streamSet) open() int { return int(ss.opened.Load()) }

// grow opens streams until n are open, 64 at a time, and returns once each
// new stream is subscribed (has read the server's "retry:" line).
func (ss *streamSet) grow(ctx context.Context, n int) error {
	want := n - ss.open()
	if want <= 0 {
		return nil
	}
	ready := make(chan error, want)
	opening := make(chan struct{}, 64)
	started, answered := 0, 0
	var firstErr error
	answer := func(err error) {
		answered++
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if answered%2000 == 0 {
			logf("sse: %d streams open", ss.open())
		}
	}
	for started < want && firstErr == nil && ctx.Err() == nil {
		select {
		case opening <- struct{}{}:
			started++
			ss.wg.Go(func() { ss.stream(ready, opening) })
		case err := <-ready:
			answer(err)
		}
	}
	for answered < started {
		select {
		case err := <-ready:
			answer(err)
		case <-time.After(60 * time.Second):
			return fmt.Errorf("%d streams were not subscribed within 60s", started-answered)
		}
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// stream opens one stream and reads it until the set closes.
func (ss *streamSet) stream(ready chan<- error, opening <-chan struct{}) {
	released := false
	release := func(err error) {
		if !released {
			released = true
			<-opening
			ready <- err
		}
	}
	defer release(errors.New("the stream ended before it was subscribed"))
	req, err := http.NewRequestWithContext(ss.ctx, "GET", ss.url, nil)
	if err != nil {
		release(err)
		return
	}
	req.Host = ss.host
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cookie", ss.cookie)
	resp, err := ss.client.Do(req)
	if err != nil {
		release(err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		release(fmt.Errorf("GET /inbox/events: status %d", resp.StatusCode))
		return
	}
	r := bufio.NewReaderSize(resp.Body, 512)
	name, last := "", int64(-1)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if ss.ctx.Err() == nil && released {
				ss.opened.Add(-1)
				ss.ended.Add(1)
			}
			return
		}
		switch {
		case strings.HasPrefix(line, "retry:") && !released:
			ss.opened.Add(1)
			release(nil)
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimSpace(strings.TrimPrefix(line, "event: "))
		case strings.HasPrefix(line, "data: "):
			data := strings.TrimSpace(strings.TrimPrefix(line, "data: "))
			// Only the new message counts, not a later status tick.
			hit := (name == ss.signal && (data == "MessageReceived" || data == "MessageQueued")) || name == "reset"
			if name == "reset" {
				ss.resets.Add(1)
			}
			if round := ss.round.Load(); hit && round != last {
				last = round
				select {
				case ss.arrivals <- arrival{round, time.Now()}:
				case <-ss.ctx.Done():
					return
				}
			}
		case line == "\n":
			name = ""
		}
	}
}

// time writes message i (inbound when i is even, a sent reply when odd)
// and waits until every open stream has read its signal, or 30 seconds.
// It returns each stream's wait and the last one's.
func (ss *streamSet) time(ctx context.Context, s *server, t TenantInfo, chatID string, i int) (waits []time.Duration, last time.Duration, err error) {
	round := ss.round.Add(1)
	n := ss.open()
	start := time.Now()
	if i%2 == 0 {
		_, err = sandboxInbound(ctx, s, t, fmt.Sprintf("sse-%d-%d", start.UnixNano(), i))
	} else {
		_, err = sendReply(ctx, s, t, chatID)
	}
	if err != nil {
		return nil, 0, err
	}
	timeout := time.After(30 * time.Second)
	for len(waits) < n {
		select {
		case a := <-ss.arrivals:
			if a.round != round {
				continue // a late signal of an earlier message
			}
			d := a.at.Sub(start)
			waits = append(waits, d)
			last = max(last, d)
		case <-timeout:
			return waits, last, fmt.Errorf("only %d of %d streams had the signal after 30s", len(waits), n)
		case <-ctx.Done():
			return waits, last, ctx.Err()
		}
	}
	return waits, last, nil
}

// close ends every stream and waits for their readers.
func (ss *streamSet) close() {
	ss.cancel()
	ss.wg.Wait()
	ss.client.CloseIdleConnections()
}

// serverFileLimit reads the server's soft limit on open files.
func serverFileLimit(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Max open files") {
			if f := strings.Fields(line); len(f) >= 5 {
				return f[3]
			}
		}
	}
	return "unknown"
}
