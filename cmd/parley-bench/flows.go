package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The flows of the issue, as a user, a customer or an integration makes
// them. Each checks its answer: the right status and a marker the page must
// show (the client's name, a row, an article body).

// flowSample is how many clients and chats of the large tenant the flows
// cycle through (each is looked up once beforehand for its marker).
const flowSample = 400

// historyPage is how many messages the chat page shows (chatPageSize in
// app/web): a chat with more has an older page.
const historyPage = 50

// largeSet is what the flows know of the large tenant.
type largeSet struct {
	t       TenantInfo
	team    *http.Client // signed in as the admin
	clients []named      // id and name
	chats   []named      // id and the client's name
	history []string     // "/inbox/{id}/history?before=..." of chats with older pages
}

type named struct{ ID, Name string }

// prepareFlows signs in, looks up the markers and builds the flows.
func prepareFlows(ctx context.Context, s *server, m *Manifest, o loadOptions) ([]flow, error) {
	L := &largeSet{t: m.Large}
	var err error
	if L.team, err = signIn(ctx, s, m.Large); err != nil {
		return nil, err
	}
	if err := L.lookUp(ctx, s, o.Quick, o.Concurrency); err != nil {
		return nil, err
	}
	if len(L.history) == 0 {
		return nil, fmt.Errorf("no sampled chat of %s has an older page", m.Large.Slug)
	}
	team := func(path string, hx bool) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodGet, s.URL(L.t.Slug, path), nil)
		if hx {
			req.Header.Set("HX-Request", "true")
		}
		return req, err
	}
	// page GETs path on the team UI and checks the body holds every marker.
	page := func(path string, hx bool, markers ...string) (int, error) {
		req, err := team(path, hx)
		if err != nil {
			return 0, err
		}
		body, err := fetch(L.team, req, http.StatusOK)
		if err != nil {
			return len(body), err
		}
		return len(body), hasMarkers(path, body, markers...)
	}
	search := func(name string, terms []string, path string) flow {
		return flow{Name: name, Path: path,
			Note: fmt.Sprintf("search as you type (the results fragment), %d terms such as %q", len(terms), first(terms)),
			Do: func(ctx context.Context, i int) (int, error) {
				req, _ := team("/clients?q="+url.QueryEscape(terms[i%len(terms)]), true)
				req.Header.Set("HX-Target", "client-results")
				body, err := fetch(L.team, req, http.StatusOK)
				if err == nil {
					err = hasMarkers(req.URL.RequestURI(), body, `data-testid="client-row"`)
				}
				return len(body), err
			}}
	}
	api := func(method, path string, body any, want int) ([]byte, error) {
		var buf bytes.Buffer
		if body != nil {
			json.NewEncoder(&buf).Encode(body)
		}
		req, _ := http.NewRequest(method, "", &buf)
		req.URL, _ = url.Parse(path)
		req.Header.Set("Authorization", "Bearer "+L.t.Token)
		req.Header.Set("Content-Type", "application/json")
		res, err := s.Do(req, L.t.Slug)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		if res.StatusCode != want {
			return b.Bytes(), fmt.Errorf("%s %s: got %d, want %d: %.200s", method, path, res.StatusCode, want, b.String())
		}
		return b.Bytes(), nil
	}
	public := func(path, marker string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, "", nil)
		req.URL, _ = url.Parse(path)
		res, err := s.Do(req, L.t.Slug)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		if res.StatusCode != http.StatusOK {
			return b.Len(), fmt.Errorf("GET %s: got %d, want 200", path, res.StatusCode)
		}
		return b.Len(), hasMarkers(path, b.Bytes(), marker)
	}
	send := newSendFlow(s, L, api, o.SendRate)
	run := time.Now().UnixNano()
	flows := []flow{
		{Name: "sign-in page", Path: "GET /login", Note: "no session",
			Do: func(ctx context.Context, i int) (int, error) {
				return public("/login", `data-testid="login-form"`)
			}},
		{Name: "client profile page", Path: "GET /clients/{id}", AimP99: 5,
			Note: fmt.Sprintf("%d clients of the large tenant in turn; checks the client's name", len(L.clients)),
			Do: func(ctx context.Context, i int) (int, error) {
				c := L.clients[i%len(L.clients)]
				return page("/clients/"+c.ID, false, c.Name)
			}},
		search("client search: name prefix", L.t.NamePrefixes, "GET /clients?q="),
		search("client search: phone fragment", L.t.PhoneFragments, "GET /clients?q="),
		search("client search: full text (notes)", L.t.Words, "GET /clients?q="),
		{Name: "chat list (inbox page)", Path: "GET /inbox", AimP99: 10, Note: "the admin's inbox: every chat, newest first",
			Do: func(ctx context.Context, i int) (int, error) {
				return page("/inbox", false, `data-testid="chat-row"`)
			}},
		{Name: "open a chat", Path: "GET /inbox/{id}",
			Note: fmt.Sprintf("%d chats in turn: the inbox with the conversation; checks the client's name", len(L.chats)),
			Do: func(ctx context.Context, i int) (int, error) {
				c := L.chats[i%len(L.chats)]
				return page("/inbox/"+c.ID, false, c.Name, `data-testid="message"`)
			}},
		{Name: "message history page (older)", Path: "GET /inbox/{id}/history?before=",
			Note: fmt.Sprintf("%d chats: the older page the chat links to (htmx fragment)", len(L.history)),
			Do: func(ctx context.Context, i int) (int, error) {
				return page(L.history[i%len(L.history)], true, `data-testid="message"`)
			}},
		send.flow,
		{Name: "inbound message ingest", Path: "POST /api/v1/sandbox/inbound",
			Note: "the sandbox's inbound API (the path provider webhooks take), each from a new sender: client, chat, message, event",
			Do: func(ctx context.Context, i int) (int, error) {
				b, err := api("POST", "/api/v1/sandbox/inbound", map[string]any{
					"from": map[string]string{"type": "email", "value": fmt.Sprintf("load-%d-%d@example.com", run, i)},
					"text": "Hello, I have a question about my order", "provider_message_id": fmt.Sprintf("load-%d-%d", run, i)},
					http.StatusCreated)
				return len(b), err
			}},
		{Name: "help center article", Path: "GET /help/articles/{slug}",
			Note: fmt.Sprintf("%d published articles, public, no session", len(L.t.Articles)),
			Do: func(ctx context.Context, i int) (int, error) {
				return public("/help/articles/"+L.t.Articles[i%len(L.t.Articles)], `data-testid="kb-article-body"`)
			}},
		{Name: "help center search", Path: "GET /help/search?q=",
			Note: fmt.Sprintf("%d queries such as %q", len(L.t.KBQueries), first(L.t.KBQueries)),
			Do: func(ctx context.Context, i int) (int, error) {
				return public("/help/search?q="+url.QueryEscape(L.t.KBQueries[i%len(L.t.KBQueries)]), `data-testid="kb-result"`)
			}},
		{Name: "API client GET", Path: "GET /api/v1/clients/{id}", Note: "Bearer token, JSON",
			Do: func(ctx context.Context, i int) (int, error) {
				c := L.clients[i%len(L.clients)]
				b, err := api("GET", "/api/v1/clients/"+c.ID, nil, http.StatusOK)
				if err == nil {
					err = hasMarkers("/api/v1/clients/"+c.ID, b, c.ID)
				}
				return len(b), err
			}},
	}
	// The pages held to an aim, once more one request at a time: their
	// latency without waiting behind the others for the cores.
	var all []flow
	for _, f := range flows {
		all = append(all, f)
		if f.AimP99 > 0 && o.Concurrency > 1 {
			f.Name, f.Conc, f.Floorless = f.Name+", one at a time", 1, true
			all = append(all, f)
		}
	}
	flows = all
	if len(m.Small) > 0 {
		flows = append(flows, smallTenantsFlow(ctx, s, m, o))
	}
	return flows, nil
}

// lookUp fetches the name of each sampled client and chat (so each page
// can be checked for it) and the older-page link of each sampled chat.
func (L *largeSet) lookUp(ctx context.Context, s *server, quick bool, conc int) error {
	get := func(path string, v any) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "", nil)
		req.URL, _ = url.Parse(path)
		req.Header.Set("Authorization", "Bearer "+L.t.Token)
		res, err := s.Do(req, L.t.Slug)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, res.Status)
		}
		return json.NewDecoder(res.Body).Decode(v)
	}
	n := pick(quick, flowSample/4, flowSample)
	L.clients = make([]named, min(n, len(L.t.Clients)))
	L.chats = make([]named, min(n, len(L.t.Chats)))
	history := make([]string, len(L.chats))
	older := regexp.MustCompile(`hx-get="(/inbox/[^"]+/history\?before=[^"]+)"`)
	err := inParallel(ctx, conc, len(L.clients), func(i int) error {
		var c struct {
			FirstName  string `json:"first_name"`
			MiddleName string `json:"middle_name"`
			LastName   string `json:"last_name"`
		}
		id := L.t.Clients[i]
		if err := get("/api/v1/clients/"+id, &c); err != nil {
			return err
		}
		L.clients[i] = named{id, strings.Join(strings.Fields(c.FirstName+" "+c.MiddleName+" "+c.LastName), " ")}
		return nil
	})
	if err != nil {
		return err
	}
	err = inParallel(ctx, conc, len(L.chats), func(i int) error {
		var c struct {
			ClientName   string `json:"client_name"`
			MessageCount int    `json:"message_count"`
		}
		id := L.t.Chats[i]
		if err := get("/api/v1/chats/"+id, &c); err != nil {
			return err
		}
		L.chats[i] = named{id, c.ClientName}
		if c.MessageCount <= historyPage {
			return nil // one page: no older page to load
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL(L.t.Slug, "/inbox/"+id), nil)
		body, err := fetch(L.team, req, http.StatusOK)
		if err != nil {
			return err
		}
		if m := older.FindSubmatch(body); m != nil {
			history[i] = html.UnescapeString(string(m[1]))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, h := range history {
		if h != "" {
			L.history = append(L.history, h)
		}
	}
	if len(L.clients) == 0 || len(L.chats) == 0 {
		return fmt.Errorf("the manifest of %s samples no clients or chats", L.t.Slug)
	}
	return nil
}

// inParallel calls fn(0…n-1), conc at a time, and returns the first error.
func inParallel(ctx context.Context, conc, n int, fn func(i int) error) error {
	next := make(chan int)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for i := range n {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// hasMarkers checks that body shows every marker (as text, so HTML-escaped
// in a page).
func hasMarkers(what string, body []byte, markers ...string) error {
	for _, m := range markers {
		if !bytes.Contains(body, []byte(m)) && !bytes.Contains(body, []byte(html.EscapeString(m))) {
			return fmt.Errorf("%s: the answer (%d bytes) lacks %q", what, len(body), m)
		}
	}
	return nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// sendFlow sends replies over the API at a steady rate and, once driven,
// waits for each to reach the sandbox provider's outbox.
type sendFlow struct {
	flow
	mu       sync.Mutex
	accepted map[string]time.Time
}

func newSendFlow(s *server, L *largeSet, api func(method, path string, body any, want int) ([]byte, error), rate float64) *sendFlow {
	sf := &sendFlow{accepted: map[string]time.Time{}}
	sf.flow = flow{Name: "send a message (HTTP accept)", Path: "POST /api/v1/chats/{id}/messages", Rate: rate,
		Note: fmt.Sprintf("a steady %.0f sends a second over the API, to %d chats in turn; 202 once stored and queued", rate, len(L.chats)),
		Do: func(ctx context.Context, i int) (int, error) {
			c := L.chats[i%len(L.chats)]
			b, err := api("POST", "/api/v1/chats/"+c.ID+"/messages", map[string]string{"text": fmt.Sprintf("Load test reply %d", i)}, http.StatusAccepted)
			now := time.Now()
			if err != nil {
				return len(b), err
			}
			var m struct{ ID string }
			if err := json.Unmarshal(b, &m); err != nil || m.ID == "" {
				return len(b), fmt.Errorf("send: no message id in %.200s", b)
			}
			sf.mu.Lock()
			sf.accepted[m.ID] = now
			sf.mu.Unlock()
			return len(b), nil
		}}
	sf.flow.After = func(ctx context.Context, out *outcome) {
		out.Extra = append(out.Extra, sf.toProvider(ctx, s, rate))
	}
	return sf
}

// toProvider waits (up to 30 s) for every accepted message to reach the
// outbox and returns the accept-to-provider row.
func (sf *sendFlow) toProvider(ctx context.Context, s *server, rate float64) Row {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	var lat []time.Duration
	deadline := time.Now().Add(30 * time.Second)
	for {
		lat = lat[:0]
		for id, acc := range sf.accepted {
			if at, ok := s.Outbox.ArrivedAt(id); ok {
				lat = append(lat, at.Sub(acc))
			}
		}
		if len(lat) == len(sf.accepted) || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	p50, p99 := latencies(lat)
	missing := len(sf.accepted) - len(lat)
	return Row{Section: "Flows", Name: "send a message: accept to provider", Requests: len(sf.accepted), Errors: missing,
		P50: p50, P99: p99, Aim: "p99 < 100 ms", Met: metP99(p99, 100, missing),
		Note: fmt.Sprintf("from the 202 to the sandbox provider's outbox server receiving it (River job, consent check, provider call); %d sends a second; errors are messages that had not arrived 30 s later", int(rate))}
}

// smallTenantsFlow reads clients over the API across every small tenant,
// after opening each tenant once.
func smallTenantsFlow(ctx context.Context, s *server, m *Manifest, o loadOptions) flow {
	get := func(t TenantInfo, id string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, "", nil)
		req.URL, _ = url.Parse("/api/v1/clients/" + id)
		req.Header.Set("Authorization", "Bearer "+t.Token)
		res, err := s.Do(req, t.Slug)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		if res.StatusCode != http.StatusOK {
			return b.Len(), fmt.Errorf("%s GET /api/v1/clients/%s: got %d", t.Slug, id, res.StatusCode)
		}
		return b.Len(), hasMarkers(t.Slug+" client", b.Bytes(), id)
	}
	r := rand.New(rand.NewPCG(uint64(m.Seed), 17))
	order := r.Perm(len(m.Small))
	// Open every small tenant once first: cold opens are the scale part's.
	start := time.Now()
	inParallel(ctx, o.Concurrency, len(m.Small), func(i int) error {
		if t := m.Small[i]; len(t.Clients) > 0 {
			get(t, t.Clients[0])
		}
		return nil
	})
	say("load: opened %d small tenants in %s", len(m.Small), time.Since(start).Round(time.Millisecond))
	return flow{Name: fmt.Sprintf("API client GET, %d small tenants", len(m.Small)), Path: "GET /api/v1/clients/{id}",
		Note: "each request to another small tenant (Bearer token), after every one was opened once",
		Do: func(ctx context.Context, i int) (int, error) {
			t := m.Small[order[i%len(order)]]
			if len(t.Clients) == 0 {
				return 0, fmt.Errorf("%s has no sampled clients", t.Slug)
			}
			return get(t, t.Clients[(i/len(order))%len(t.Clients)])
		}}
}
