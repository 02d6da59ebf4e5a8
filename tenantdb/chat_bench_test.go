package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/app"
)

// The chat benchmarks run on ChatFixture: the client benchmarks' tenant
// (PARLEY_BENCH_CLIENTS clients, 100,000 by default, 2,000 with -short)
// with a chat for every client and 20 messages and notes per chat on
// average (2,000,000 for 100,000 clients), built once into .cache/bench
// and copied for each benchmark:
//
//	make bench-chats
//	PARLEY_BENCH_CLIENTS=10000 go test -run '^$' -bench Chat ./tenantdb
//
// Each reports its p50 and p99 latency in microseconds next to ns/op, as
// the client benchmarks do, with the production manager defaults.

// chatBench is an opened generated tenant with chats.
type chatBench struct {
	*clientBench
	admin   app.Actor
	channel app.Channel
	biggest string // the chat with the most messages
}

func openChatBench(b *testing.B) *chatBench {
	b.Helper()
	ctx := context.Background()
	db := openFixture(b, "chatgen", ChatFixture)
	cb := &chatBench{clientBench: &clientBench{db: db, r: rand.New(rand.NewPCG(clientBenchSeed, 3))}}
	admin, err := db.UserByEmail(ctx, "admin@bench.example")
	if err != nil {
		b.Fatal(err)
	}
	cb.admin = app.UserActor(admin)
	if cb.channel, err = db.channelFor(ctx, db.reader(), app.TransportEmail, "", ""); err != nil {
		b.Fatal(err)
	}
	if err := db.reader().QueryRowContext(ctx, `SELECT id FROM chats ORDER BY message_count DESC LIMIT 1`).Scan(&cb.biggest); err != nil {
		b.Fatal(err)
	}
	return cb
}

// agentScope is what agent1 may see: chats assigned to them, unassigned
// ones and those of clients they own.
func (cb *chatBench) agentScope(b *testing.B) app.ChatScope {
	u, err := cb.db.UserByEmail(context.Background(), "agent1@bench.example")
	if err != nil {
		b.Fatal(err)
	}
	return app.ScopeFor(u.Role, u.ID)
}

var allChatsScope = app.ChatScope{All: true}

// BenchmarkChatList lists the first page of the inbox unfiltered, with each
// filter and in an agent's scope, and a deep page (after a random chat,
// through the cursor).
func BenchmarkChatList(b *testing.B) {
	cb := openChatBench(b)
	open, whatsapp := app.ChatOpen, app.TransportWhatsApp
	agent := cb.agentScope(b)
	scan := func(row rowScanner) (string, error) {
		var c chatCursor
		err := row.Scan(&c.seq, &c.at)
		c.at = c.at.UTC()
		return c.String(), err
	}
	deep := sampleRows(b, cb.clientBench, clientBenchInputs, scan, `SELECT seq, last_message_at FROM chats WHERE merged_into IS NULL`)
	deepOpen := sampleRows(b, cb.clientBench, clientBenchInputs, scan, `SELECT seq, last_message_at FROM chats
		WHERE merged_into IS NULL AND status = 'open'`)
	for _, tc := range []struct {
		name    string
		filter  app.ChatFilter
		scope   app.ChatScope
		cursors []string
	}{
		{"All/First", app.ChatFilter{}, allChatsScope, nil},
		{"Unread/First", app.ChatFilter{Unread: true}, allChatsScope, nil},
		{"Open/First", app.ChatFilter{Status: &open}, allChatsScope, nil},
		{"Assignee/First", app.ChatFilter{AssigneeID: &agent.UserID}, allChatsScope, nil},
		{"Transport/First", app.ChatFilter{Transport: &whatsapp}, allChatsScope, nil},
		{"AgentScope/First", app.ChatFilter{}, agent, nil},
		{"AgentScopeUnread/First", app.ChatFilter{Unread: true}, agent, nil},
		{"All/Deep", app.ChatFilter{}, allChatsScope, deep},
		{"Open/Deep", app.ChatFilter{Status: &open}, allChatsScope, deepOpen},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := tc.filter
			benchLatency(b, func(i int) error {
				if tc.cursors != nil {
					f.Cursor = tc.cursors[i%len(tc.cursors)]
				}
				page, err := cb.db.ListChats(context.Background(), f, tc.scope)
				if err == nil && len(page.Chats) == 0 && f.Cursor == "" {
					err = errors.New("first page: empty")
				}
				return err
			})
		})
	}
}

// BenchmarkChatOpen opens a chat as the inbox does: the chat, then its
// newest page of messages; a random (typical) chat, and the biggest.
func BenchmarkChatOpen(b *testing.B) {
	cb := openChatBench(b)
	typical := cb.sample(b, clientBenchInputs, `SELECT id FROM chats`)
	open := func(ids []string) func(i int) error {
		return func(i int) error {
			ctx, id := context.Background(), ids[i%len(ids)]
			if _, err := cb.db.ChatByID(ctx, id, allChatsScope); err != nil {
				return err
			}
			msgs, _, err := cb.db.ListMessages(ctx, id, allChatsScope, "", 50)
			if err == nil && len(msgs) == 0 {
				err = fmt.Errorf("chat %s: no messages", id)
			}
			return err
		}
	}
	b.Run("Typical", func(b *testing.B) { benchLatency(b, open(typical)) })
	b.Run("Biggest", func(b *testing.B) { benchLatency(b, open([]string{cb.biggest})) })
}

// BenchmarkChatHistory pages back through the biggest chat: the 50
// messages before a random one of its older half.
func BenchmarkChatHistory(b *testing.B) {
	cb := openChatBench(b)
	var count int
	if err := cb.db.reader().QueryRow(`SELECT count(*) FROM messages WHERE chat_id = ?`, cb.biggest).Scan(&count); err != nil {
		b.Fatal(err)
	}
	before := cb.sample(b, clientBenchInputs, `SELECT id FROM messages WHERE chat_id = '`+cb.biggest+`'
		ORDER BY seq LIMIT `+strconv.Itoa(count/2))
	benchLatency(b, func(i int) error {
		msgs, _, err := cb.db.ListMessages(context.Background(), cb.biggest, allChatsScope, before[i%len(before)], 50)
		if err == nil && len(msgs) == 0 {
			err = errors.New("no older messages")
		}
		return err
	})
}

// BenchmarkChatFullText searches messages for a very common word ("order",
// in about one message in five), rare made-up words (a few messages each)
// and two common words: the first page, the fifth, and one far back (after
// a hit from the first year); and the common word in an agent's scope.
func BenchmarkChatFullText(b *testing.B) {
	cb := openChatBench(b)
	ctx := context.Background()
	agent := cb.agentScope(b)
	var rare []string
	for i := 0; i < chatGenRareWords && len(rare) < 200; i += 97 {
		w := chatGenRareWord(i)
		if hits, _, err := cb.db.SearchMessages(ctx, w, allChatsScope, "", 20); err != nil {
			b.Fatal(err)
		} else if len(hits) > 0 {
			rare = append(rare, w)
		}
	}
	if len(rare) == 0 {
		b.Fatal("no rare word has hits")
	}
	later := func(q string, page int) string {
		cursor := ""
		for range page - 1 {
			_, next, err := cb.db.SearchMessages(ctx, q, allChatsScope, cursor, 20)
			if err != nil || next == "" {
				b.Fatalf("search %q page after %q: next %q, %v", q, cursor, next, err)
			}
			cursor = next
		}
		return cursor
	}
	var old string
	if err := cb.db.reader().QueryRow(`SELECT m.id FROM messages_fts f JOIN messages m ON m.seq = f.rowid
		WHERE messages_fts MATCH 'order' AND m.created_at < ? ORDER BY f.rowid DESC LIMIT 1`,
		chatGenFrom.AddDate(1, 0, 0)).Scan(&old); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		queries []string
		scope   app.ChatScope
		before  string
	}{
		{"Common/First", []string{"order"}, allChatsScope, ""},
		{"Common/Page5", []string{"order"}, allChatsScope, later("order", 5)},
		{"Common/FarBack", []string{"order"}, allChatsScope, old},
		{"Rare/First", rare, allChatsScope, ""},
		{"TwoWords/First", []string{"thanks order"}, allChatsScope, ""},
		{"TwoWords/Page5", []string{"thanks order"}, allChatsScope, later("thanks order", 5)},
		{"CommonAgentScope/First", []string{"order"}, agent, ""},
	} {
		b.Run(tc.name, func(b *testing.B) {
			benchLatency(b, func(i int) error {
				q := tc.queries[i%len(tc.queries)]
				hits, _, err := cb.db.SearchMessages(ctx, q, tc.scope, tc.before, 20)
				if err == nil && len(hits) == 0 {
					err = fmt.Errorf("search %q: no hits", q)
				}
				return err
			})
		})
	}
}

// BenchmarkChatSend accepts a message from the team into a random chat
// (SendMessage: the message, its event and the chat's counters, committed),
// as the HTTP handler does before it queues delivery.
func BenchmarkChatSend(b *testing.B) {
	cb := openChatBench(b)
	chats := cb.sample(b, clientBenchInputs, `SELECT id FROM chats`)
	benchLatency(b, func(i int) error {
		_, err := cb.db.SendMessage(context.Background(), chats[i%len(chats)],
			app.SendInput{Text: "Thanks for your message! Your order ships tomorrow."}, allChatsScope, cb.admin)
		return err
	})
}

// BenchmarkChatReceive ingests inbound messages from random clients'
// email addresses, each with a new provider id (ReceiveMessage: dedupe,
// find the sender, write message, chat, notifications, event), one at a
// time and from 8 goroutines at once (webhooks arrive in parallel), and
// reports the rate in messages per second.
func BenchmarkChatReceive(b *testing.B) {
	cb := openChatBench(b)
	emails := cb.sample(b, clientBenchInputs, `SELECT value FROM contacts WHERE type = 'email' AND active = 1`)
	var next sync.Mutex
	n := 0
	receive := func() error {
		next.Lock()
		n++
		from, id := emails[n%len(emails)], "bench-"+strconv.Itoa(n)
		next.Unlock()
		_, dup, err := cb.db.ReceiveMessage(context.Background(), app.InboundMessage{ChannelID: cb.channel.ID,
			From: app.ContactInput{Type: app.ContactEmail, Value: from}, Text: "Hi, where is my order?", ProviderMessageID: id})
		if err == nil && dup {
			err = fmt.Errorf("message %s: a duplicate", id)
		}
		return err
	}
	b.Run("Serial", func(b *testing.B) {
		benchLatency(b, func(int) error { return receive() })
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("Parallel8", func(b *testing.B) {
		var mu sync.Mutex
		var durations []time.Duration
		b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				start := time.Now()
				if err := receive(); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			durations = append(durations, mine...)
			mu.Unlock()
		})
		reportLatency(b, durations)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	})
}

// BenchmarkChatMarkRead marks chats with unread messages read: first the
// generated unread chats, then (once each has been read) chats that have
// just received a message, which is not timed.
func BenchmarkChatMarkRead(b *testing.B) {
	cb := openChatBench(b)
	ctx := context.Background()
	unread, err := queryAll(ctx, cb.db.reader(), scanString, `SELECT id FROM chats WHERE unread_count > 0`)
	if err != nil || len(unread) == 0 {
		b.Fatalf("unread chats: %d, %v", len(unread), err)
	}
	cb.r.Shuffle(len(unread), func(i, j int) { unread[i], unread[j] = unread[j], unread[i] })
	var durations []time.Duration
	for i := 0; b.Loop(); i++ {
		id := unread[i%len(unread)]
		if i >= len(unread) {
			b.StopTimer()
			if err := cb.receiveInto(id, i); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		start := time.Now()
		n, err := cb.db.MarkChatRead(ctx, id, allChatsScope, cb.admin)
		durations = append(durations, time.Since(start))
		if err == nil && n == 0 {
			err = fmt.Errorf("chat %s: nothing marked read", id)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	reportLatency(b, durations)
}

// receiveInto has the client of a chat write to it from their first contact.
func (cb *chatBench) receiveInto(chatID string, n int) error {
	ctx := context.Background()
	var typ, value string
	err := cb.db.reader().QueryRowContext(ctx, `SELECT k.type, k.value FROM chats c JOIN contacts k ON k.client_id = c.client_id
		WHERE c.id = ? AND k.active = 1 AND k.type IN ('email', 'telegram', 'whatsapp') ORDER BY k.created_at, k.id LIMIT 1`,
		chatID).Scan(&typ, &value)
	if err != nil {
		return err
	}
	_, _, err = cb.db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: cb.channel.ID,
		From: app.ContactInput{Type: app.ContactType(typ), Value: value}, Text: "Any news?",
		ProviderMessageID: "bench-read-" + strconv.Itoa(n)})
	return err
}

// reportLatency reports the p50 and p99 of durations, as benchLatency does.
func reportLatency(b *testing.B, durations []time.Duration) {
	if len(durations) == 0 {
		return
	}
	slices.Sort(durations)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	b.ReportMetric(us(durations[len(durations)/2]), "p50-µs")
	b.ReportMetric(us(durations[len(durations)*99/100]), "p99-µs")
}

// TestGenerateChatsAsTheAppWould: the generator leaves the same chats,
// messages, members, events and channel state as the app's own calls
// (ReceiveMessage, StartChat, SendMessage, the delivery steps, UpdateChat,
// MarkChatRead) made line by line at the lines' times, ids aside; and the
// same clients and seed make the same data, ids included. (The app also
// notifies the team of messages that the generator writes as already
// read; notifications are left out.)
func TestGenerateChatsAsTheAppWould(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clients := chatGenClients(t)
	generated := openTenantCopy(t, clients)
	if err := GenerateChats(ctx, generated, 3, nil); err != nil {
		t.Fatal(err)
	}
	again := openTenantCopy(t, clients)
	if err := GenerateChats(ctx, again, 3, nil); err != nil {
		t.Fatal(err)
	}
	if got, want := dumpChats(t, again), dumpChats(t, generated); got != want {
		t.Fatal("a second run with the same seed made different data")
	}
	model := openTenantCopy(t, clients)
	replayChats(t, model, 3)
	compareLines(t, labelIDs(dumpChats(t, generated)), labelIDs(dumpChats(t, model)))
	if err := generated.update(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')`)
		return err
	}); err != nil {
		t.Errorf("search index: %v", err)
	}
	if hits, _, err := generated.SearchMessages(ctx, "order", allChatsScope, "", 20); err != nil || len(hits) != 20 {
		t.Errorf("search order: got %d hits, %v, want 20", len(hits), err)
	}
}

func compareLines(t *testing.T, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			t.Fatalf("line %d:\n got %q\nwant %q", i, g[i], w[i])
		}
	}
	t.Fatalf("got %d lines, want %d", len(g), len(w))
}

// chatGenClients returns a closed tenant file with 40 generated clients,
// an admin and two agents, and the sandbox channel.
func chatGenClients(t *testing.T) string {
	ctx := context.Background()
	dir := t.TempDir()
	control, err := OpenControl(ctx, filepath.Join(dir, "control.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer control.Close()
	m := NewManager(ManagerConfig{Dir: filepath.Join(dir, "tenants")})
	defer m.Close(ctx)
	ws, err := Provision(ctx, control, m, NewWorkspace{Slug: "gen", Name: "Gen", AdminName: "Ada Admin",
		AdminEmail: "admin@gen.example", AdminPassword: ClientFixturePassword}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	db, release, err := m.Acquire(ctx, ws.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"Ben Agent", "Cleo Agent"} {
		if _, err := db.CreateUser(ctx, app.NewUser{Email: fmt.Sprintf("agent%d@gen.example", i+1), Name: name,
			Password: ClientFixturePassword, Role: app.RoleAgent}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	if err := generateClients(ctx, db, 40, 7, nil, (*DB).writeGenBatch); err != nil {
		t.Fatal(err)
	}
	w := *db
	w.now = func() time.Time { return chatGenFrom.Add(-time.Hour) }
	if _, err := w.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	release()
	file := m.TenantPath(ws.Tenant.ID)
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return file
}

// openTenantCopy opens a copy of a closed tenant file.
func openTenantCopy(t *testing.T, file string) *DB {
	dir := t.TempDir()
	if err := copyFixture(file, filepath.Join(dir, "copy.db")); err != nil {
		t.Fatal(err)
	}
	m := NewManager(ManagerConfig{Dir: dir})
	t.Cleanup(func() { m.Close(context.Background()) })
	db, release, err := m.Acquire(context.Background(), "copy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return db
}

// replayChats makes the generator's plan for db through the app's own
// calls, each at the time of its line.
func replayChats(t *testing.T, db *DB, seed int64) {
	ctx := context.Background()
	g, err := newChatGen(ctx, db, seed)
	if err != nil {
		t.Fatal(err)
	}
	g.plan()
	var clock time.Time
	w := *db
	w.now = func() time.Time { return clock }
	ids := make([]string, len(g.chats))
	for _, ref := range g.order() {
		ci, i := int(ref.chat), int(ref.i)
		ch := g.chats[ci]
		clock = genTime(ch.at[i])
		if err := replayLine(ctx, &w, g, ch, g.draw(ci, ch, i), i, &ids[ci], func(at int64) { clock = genTime(at) }); err != nil {
			t.Fatalf("chat %d line %d (kind %d): %v (fields %v)", ci, i, ch.kind[i], err, app.ErrorFields(err))
		}
	}
}

func replayLine(ctx context.Context, db *DB, g *chatGen, ch *genChat, d genDraw, i int, chatID *string, setClock func(int64)) error {
	var actor app.Actor
	if ch.user[i] >= 0 {
		actor = app.UserActor(g.users[ch.user[i]])
	}
	switch ch.kind[i] {
	case lineIn:
		k := ch.client.contacts[ch.contact[i]]
		m, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: g.channels[app.TransportFor(k.Type)].ID,
			From: app.ContactInput{Type: k.Type, Value: k.Value}, Text: d.text, ProviderMessageID: "in_" + newID()})
		*chatID = m.ChatID
		return err
	case lineOut:
		if i == 0 {
			c, _, err := db.StartChat(ctx, ch.client.id, allChatsScope, actor)
			if err != nil {
				return err
			}
			*chatID = c.ID
		}
		m, err := db.SendMessage(ctx, *chatID, app.SendInput{Text: d.text, ContactID: ch.client.contacts[ch.contact[i]].ID},
			allChatsScope, actor)
		if err != nil {
			return err
		}
		return replayDelivery(ctx, db, m, d, setClock)
	case lineNote:
		_, err := db.SendMessage(ctx, *chatID, app.SendInput{Text: d.text, Note: true}, allChatsScope, actor)
		return err
	case lineAssign:
		to := g.users[ch.assignee].ID
		_, err := db.UpdateChat(ctx, *chatID, app.ChatUpdate{AssigneeID: &to}, allChatsScope, actor)
		return err
	case lineResolve:
		resolved := app.ChatResolved
		_, err := db.UpdateChat(ctx, *chatID, app.ChatUpdate{Status: &resolved}, allChatsScope, actor)
		return err
	}
	_, err := db.MarkChatRead(ctx, *chatID, allChatsScope, actor)
	return err
}

// replayDelivery takes a queued message through the worker's attempts and
// the provider's reports to its drawn end.
func replayDelivery(ctx context.Context, db *DB, m app.Message, d genDraw, setClock func(int64)) error {
	if d.status == app.StatusFailed {
		setClock(d.failed)
	}
	for a := 1; a <= d.attempts; a++ {
		if _, err := db.BeginDelivery(ctx, m.ID); err != nil {
			return err
		}
		if a < d.attempts {
			if err := db.RecordAttemptFailed(ctx, m.ID, d.reason, false); err != nil {
				return err
			}
		}
	}
	if d.status == app.StatusFailed {
		return db.RecordSendFailed(ctx, m.ID, d.reason)
	}
	setClock(d.sent)
	if err := db.RecordSent(ctx, m.ID, "sbx_"+m.ID); err != nil {
		return err
	}
	for _, step := range []struct {
		status app.DeliveryStatus
		at     int64
	}{{app.StatusDelivered, d.delivered}, {app.StatusRead, d.read}} {
		if step.at != 0 {
			setClock(step.at)
			if err := db.ReportStatus(ctx, app.StatusReport{ChannelID: m.ChannelID, ProviderMessageID: "sbx_" + m.ID,
				Status: step.status, At: genTime(step.at)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// dumpChats dumps what conversations leave in a tenant, in write order.
func dumpChats(t *testing.T, db *DB) string {
	var out strings.Builder
	for _, q := range []string{
		// reply_token is left out: a random secret made at a chat's first
		// email send, not data the generator models.
		`SELECT seq, id, client_id, status, snoozed_until, assignee_id, unread_count, message_count, last_message_at,
			last_transport, last_preview, reply_contact_id, created_at, merged_into FROM chats ORDER BY seq`,
		`SELECT * FROM messages ORDER BY seq`,
		`SELECT m.* FROM chat_members m JOIN chats c ON c.id = m.chat_id ORDER BY c.seq, m.created_at, m.kind, m.user_id, m.contact_id`,
		`SELECT * FROM events WHERE aggregate_type = 'chat' ORDER BY rowid`,
		`SELECT * FROM channels ORDER BY id`,
	} {
		dumpRows(t, db, &out, q, 1) // the rowid (or id) is left out
	}
	return out.String()
}

// labelIDs replaces each id by its rank of first appearance, so that two
// dumps with different ids compare equal when they refer alike.
func labelIDs(s string) string {
	labels := map[string]string{}
	return regexp.MustCompile(`[0-9A-HJKMNP-TV-Z]{26}`).ReplaceAllStringFunc(s, func(id string) string {
		if labels[id] == "" {
			labels[id] = "#" + strconv.Itoa(len(labels)+1)
		}
		return labels[id]
	})
}
