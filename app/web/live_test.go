package web_test

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// liveStream is an open GET /inbox/events, read line by line.
type liveStream struct {
	events chan string // "name data"
	seen   map[string]bool
	cancel context.CancelFunc
}

func (b *browser) openLive(t *testing.T, host string) *liveStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", hostURL(host, "/inbox/events"), nil)
	res, err := b.c.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("events: got %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &liveStream{events: make(chan string, 100), seen: map[string]bool{}, cancel: cancel}
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		name := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && name != "":
				s.events <- name + " " + strings.TrimPrefix(line, "data: ")
				name = ""
			}
		}
	}()
	t.Cleanup(cancel)
	return s
}

// waitFor returns once the stream has delivered the event named name with
// data. Signals are idempotent and a stream sends each once per batch, so
// order is not checked.
func (s *liveStream) waitFor(t *testing.T, name, data string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for !s.seen[name+" "+data] {
		select {
		case ev := <-s.events:
			s.seen[ev] = true
		case <-timeout:
			t.Fatalf("no %q %q on the stream", name, data)
		}
	}
	delete(s.seen, name+" "+data)
}

// none checks that nothing about chat arrived.
func (s *liveStream) none(t *testing.T, chatID string) {
	t.Helper()
	for {
		select {
		case ev := <-s.events:
			if strings.Contains(ev, chatID) {
				t.Errorf("got %q, want nothing about chat %s", ev, chatID)
			}
		default:
			return
		}
	}
}

func TestLiveSignalsFollowWhatEachUserMaySee(t *testing.T) {
	e := setup(t)
	ws := e.workspace("acme")
	db := e.db(ws)
	ctx := context.Background()
	ch, err := db.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateUser(ctx, app.NewUser{Email: "agent@acme.example", Name: "Agent", Password: "correct horse battery",
		Role: app.RoleAgent}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	admin, agent := e.browser(), e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	agent.login("acme", "agent@acme.example", "correct horse battery")
	adminLive, agentLive := admin.openLive(t, "acme"), agent.openLive(t, "acme")

	// Another workspace's messages never reach acme's streams.
	beta := e.workspace("beta")
	betaDB := e.db(beta)
	betaCh, _ := betaDB.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
	other := receiveFor(t, betaDB, betaCh, "beta@example.com", "b1")

	// An unassigned chat: everyone who works conversations hears of it.
	m := receiveFor(t, db, ch, "ola@example.com", "a1")
	for _, s := range []*liveStream{adminLive, agentLive} {
		s.waitFor(t, "chat-"+m.ChatID, app.EventMessageReceived)
		s.waitFor(t, "chats", m.ChatID)
		s.waitFor(t, "notify", m.ChatID)
		s.none(t, other.ChatID)
	}

	// Assigned to the admin, the chat leaves the agent's sight.
	adminID := ws.Admin.ID
	if _, err := db.UpdateChat(ctx, m.ChatID, app.ChatUpdate{AssigneeID: &adminID}, app.ChatScope{All: true}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	receiveFor(t, db, ch, "ola@example.com", "a2")
	adminLive.waitFor(t, "chat-"+m.ChatID, app.EventChatAssigned)
	adminLive.waitFor(t, "chat-"+m.ChatID, app.EventMessageReceived)
	agentLive.none(t, m.ChatID)
}

func receiveFor(t *testing.T, db *tenantdb.DB, ch app.Channel, email, id string) app.Message {
	t.Helper()
	m, _, err := db.ReceiveMessage(context.Background(), app.InboundMessage{ChannelID: ch.ID,
		From: app.ContactInput{Type: app.ContactEmail, Value: email}, Text: "Hello", ProviderMessageID: id})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
