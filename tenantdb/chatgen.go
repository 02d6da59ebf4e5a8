package tenantdb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"parley/app"
)

// chatGenVersion changes whenever GenerateChats makes different data for
// the same seed and clients, so that files cached by an older generator are
// not reused.
const chatGenVersion = 2

// The generated conversations run over these two years, in order.
var (
	chatGenFrom = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	chatGenTo   = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

const (
	// chatGenPerChat is the mean number of messages and notes per chat: 20
	// makes 2,000,000 for 100,000 clients.
	chatGenPerChat = 20
	// chatGenBatch is how many lines of history (messages, notes, system
	// lines, reads) share a transaction.
	chatGenBatch = 100_000
	// chatGenRareWords is the size of the made-up vocabulary that gives the
	// search index its rare words (a few messages each).
	chatGenRareWords = 20_000
)

// GenerateChats gives every live client of db that has a contact Parley can
// send to a chat with made-up history, for benchmarks and demos: 20 messages
// and notes per chat on average (most chats 5–30, one in 30 up to 300, one
// in 2,000 thousands: 38,000 in the biggest of 100,000 chats), in sessions
// where the client writes and the team answers, over 2024–2025 in order.
// Outbound messages end read, delivered, sent or (2%) failed; 7% of the
// team's lines are internal notes, 40% of them with an @mention; the text
// comes from templates with common words ("order" is in almost half the
// messages, "thanks" in a quarter), five-digit order numbers and rare
// made-up words (chatGenRareWord). About half the chats are assigned; most
// chats whose last word was the team's are resolved; recent chats whose
// client wrote last are often unread.
//
// The rows are those the app writes (messages, chats with their counters,
// members, system lines, notifications of mentions and unread messages, and
// the event of every step: ChatStarted, MessageReceived, MessageQueued,
// MessageStatusChanged, ChatNotePosted, ChatAssigned, ChatRead,
// ChatStatusChanged), inserted in time order in large batches by prepared
// statements; the search index is filled by its triggers. The same clients
// and seed give the same data, ids included (ids are made from each line's
// time and the seed). The tenant must have no chats yet; a sandbox channel
// is connected if no channel can carry email.
// progress, if not nil, gets a line every tenth of the way.
func GenerateChats(ctx context.Context, db *DB, seed int64, progress io.Writer) error {
	g, err := newChatGen(ctx, db, seed)
	if err != nil {
		return err
	}
	g.plan()
	refs := g.order()
	start, reported := time.Now(), 0
	for from := 0; from < len(refs); from += chatGenBatch {
		batch := refs[from:min(from+chatGenBatch, len(refs))]
		if err := db.update(ctx, func(tx *sql.Tx) error { return g.writeBatch(ctx, tx, batch) }); err != nil {
			return fmt.Errorf("generated history up to line %d: %w", from, err)
		}
		if done := from + len(batch); progress != nil && (done-reported >= len(refs)/10 || done == len(refs)) {
			reported = done
			fmt.Fprintf(progress, "chatgen: %d/%d lines (%d messages and notes), %s\n", done, len(refs), g.messages,
				time.Since(start).Round(time.Second))
		}
	}
	return db.update(ctx, func(tx *sql.Tx) error { return g.writeLatest(ctx, tx) })
}

// ChatFixture returns the path of a closed tenant file holding the clients
// of ClientFixture(n, seed) with the chats GenerateChats(seed) gives them
// (2,000,000 messages and notes for 100,000 clients), cached in cacheDir
// under a name made of n, seed, a hash of the tenant migrations and both
// generators' versions. Copy it before opening it, as ClientFixture says.
func ChatFixture(ctx context.Context, cacheDir string, n int, seed int64, progress io.Writer) (string, error) {
	schema, err := schemaKey()
	if err != nil {
		return "", err
	}
	path := filepath.Join(cacheDir, fmt.Sprintf("chats-%d-seed%d-schema%s-gen%d-chatgen%d.db", n, seed, schema,
		clientGenVersion, chatGenVersion))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	clients, err := ClientFixture(ctx, cacheDir, n, seed, progress)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(cacheDir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	built, err := buildChatFixture(ctx, tmp, clients, seed, progress)
	if err != nil {
		return "", fmt.Errorf("build chat fixture: %w", err)
	}
	return path, os.Rename(built, path)
}

// buildChatFixture fills a copy of the clients file under dir and closes it.
func buildChatFixture(ctx context.Context, dir, clients string, seed int64, progress io.Writer) (string, error) {
	m := NewManager(ManagerConfig{Dir: filepath.Join(dir, "tenants"), CacheKiB: 1 << 20, ReadConns: 1})
	defer m.Close(ctx)
	const id = "bench"
	file := m.TenantPath(id)
	if err := copyFixture(clients, file); err != nil {
		return "", err
	}
	db, release, err := m.Acquire(ctx, id)
	if err != nil {
		return "", err
	}
	err = GenerateChats(ctx, db, seed, progress)
	release()
	if err != nil {
		return "", err
	}
	if err := m.Close(ctx); err != nil {
		return "", err
	}
	if _, err := os.Stat(file + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s-wal is still there after closing the tenant", file)
	}
	return file, nil
}

func copyFixture(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// The kinds of line in a generated chat's history.
const (
	lineIn      uint8 = iota // a message from the client
	lineOut                  // a message to the client
	lineNote                 // an internal note
	lineAssign               // a system line and ChatAssigned
	lineResolve              // a system line and ChatStatusChanged
	lineRead                 // the team opened the chat: ChatRead, no line
)

// chatGen plans and writes the chats. It is not safe for concurrent use.
type chatGen struct {
	seed     uint64
	r        *rand.Rand // draws the plan
	ids      io.Reader  // ULID entropy, read in plan then write order
	users    []*app.User
	workers  []int // users who are told of new messages (may work conversations)
	admin    int
	channels map[app.Transport]app.Channel
	clients  []*genChatClient
	chats    []*genChat
	// line draws the details of one line, from a source seeded by the
	// line's place, so a line can be drawn again (the chat row needs the
	// text of its last message before that message is written).
	linePCG *rand.PCG
	line    *rand.Rand
	nouns   *rand.Zipf
	members map[genMember]bool
	latests map[string]*genLatest // by channel id
	// messages counts the messages and notes written, for progress.
	messages int
}

// genLatest is what a channel last carried.
type genLatest struct {
	in, out, errAt int64
	err            string
}

type genChatClient struct {
	id, name, first, preferred string
	createdAt                  time.Time
	contacts                   []app.Contact // those something can be sent to, oldest first
	lastIn                     int64         // newest inbound message, unix ms
}

// genChat is a planned chat: its lines in time order.
type genChat struct {
	client   *genChatClient
	id       string
	at       []int64 // unix ms
	kind     []uint8
	contact  []int8 // lineIn, lineOut: index in client.contacts
	user     []int8 // the team's lines: index in users
	assignee int8   // -1: unassigned
	resolved bool
	unread   int // inbound messages after the last read
	readRun  int // while writing: inbound messages since the last read
}

type genMember struct {
	chat          int32
	user, contact int16
}

// genRef is one line of one chat, in the order of the whole history.
type genRef struct {
	at   int64
	chat int32
	i    int32
}

func newChatGen(ctx context.Context, db *DB, seed int64) (*chatGen, error) {
	var chats int
	if err := db.reader().QueryRowContext(ctx, `SELECT count(*) FROM chats`).Scan(&chats); err != nil {
		return nil, err
	}
	if chats > 0 {
		return nil, fmt.Errorf("the tenant has %d chats already; generate chats into a tenant without any", chats)
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], uint64(seed))
	copy(key[8:], "parley chatgen")
	g := &chatGen{seed: uint64(seed), r: rand.New(rand.NewPCG(uint64(seed), 0xc4a7)), ids: rand.NewChaCha8(key),
		admin: -1, channels: map[app.Transport]app.Channel{}, linePCG: rand.NewPCG(0, 0), members: map[genMember]bool{},
		latests: map[string]*genLatest{}}
	g.line = rand.New(g.linePCG)
	g.nouns = rand.NewZipf(g.line, 1.1, 4, uint64(len(genNouns)-1))
	users, err := db.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.Status != app.UserActive || len(g.users) == 100 {
			continue
		}
		if u.Role == app.RoleAdmin && g.admin < 0 {
			g.admin = len(g.users)
		}
		if u.Role.Can(app.PermWorkConversations) {
			g.workers = append(g.workers, len(g.users))
		}
		g.users = append(g.users, u)
	}
	if g.admin < 0 {
		return nil, errors.New("the tenant has no active admin to answer its clients")
	}
	if err := g.loadChannels(ctx, db); err != nil {
		return nil, err
	}
	return g, g.loadClients(ctx, db)
}

// loadChannels finds the channel of each transport, connecting the sandbox
// (as of the start of the history) when nothing can carry email.
func (g *chatGen) loadChannels(ctx context.Context, db *DB) error {
	if _, err := db.channelFor(ctx, db.reader(), app.TransportEmail, "", ""); err != nil {
		w := *db
		w.now = func() time.Time { return chatGenFrom.Add(-24 * time.Hour) }
		if _, err := w.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor); err != nil {
			return err
		}
	}
	for _, t := range app.Transports {
		if ch, err := db.channelFor(ctx, db.reader(), t, "", ""); err == nil {
			g.channels[t] = ch
		}
	}
	return nil
}

// loadClients reads the live clients, oldest first, with the contacts a
// channel can carry.
func (g *chatGen) loadClients(ctx context.Context, db *DB) error {
	byID := map[string]*genChatClient{}
	var all []*genChatClient
	_, err := queryAll(ctx, db.reader(), func(row rowScanner) (struct{}, error) {
		var c genChatClient
		var middle, last string
		err := row.Scan(&c.id, &c.first, &middle, &last, &c.preferred, &c.createdAt)
		c.name = (&app.Client{FirstName: c.first, MiddleName: middle, LastName: last}).Name()
		c.createdAt = c.createdAt.UTC()
		byID[c.id] = &c
		all = append(all, &c)
		return struct{}{}, err
	}, `SELECT id, first_name, middle_name, last_name, preferred_channel, created_at FROM clients
		WHERE deleted_at IS NULL AND merged_into IS NULL ORDER BY created_at, seq`)
	if err != nil {
		return fmt.Errorf("load clients: %w", err)
	}
	contacts, err := queryAll(ctx, db.reader(), scanContact, `SELECT `+contactColumns+` FROM contacts
		WHERE active = 1 ORDER BY client_id, created_at, id`)
	if err != nil {
		return fmt.Errorf("load contacts: %w", err)
	}
	for _, k := range contacts {
		t := app.TransportFor(k.Type)
		if c := byID[k.ClientID]; c != nil && t != "" && g.channels[t].ID != "" {
			c.contacts = append(c.contacts, k)
		}
	}
	for _, c := range all {
		if len(c.contacts) > 0 && len(c.contacts) < 100 {
			g.clients = append(g.clients, c)
		}
	}
	return nil
}

// plan draws every chat's history.
func (g *chatGen) plan() {
	counts := g.counts()
	for i, c := range g.clients {
		r := rand.New(rand.NewPCG(g.seed, 0x5eed<<32|uint64(i)))
		g.chats = append(g.chats, g.planChat(r, c, counts[i]))
	}
}

// counts draws how many messages and notes each chat has: most 5–30, one
// in 30 from 30 to 300, and one in 2,000 (among the oldest clients) shares
// what is left of 20 per chat, the first of them the most.
func (g *chatGen) counts() []int {
	r, n := g.r, len(g.clients)
	counts := make([]int, n)
	whales := r.Perm(max(1, n/3))[:min(max(1, n/2000), max(1, n/3))]
	sum := 0
	for i := range counts {
		switch x := r.Float64(); {
		case slices.Contains(whales, i):
			continue
		case x < 1.0/30:
			counts[i] = int(30 * math.Pow(10, r.Float64()))
		default:
			counts[i] = 5 + int(26*math.Pow(r.Float64(), 1.5))
		}
		sum += counts[i]
	}
	left, weights := float64(chatGenPerChat*n-sum), 0.0
	for j := range whales {
		weights += 1 / float64(j+1)
	}
	for j, i := range whales {
		counts[i] = max(min(1000, 5*n), int(left/weights/float64(j+1)))
	}
	return counts
}

// logUniform draws a duration between lo and hi, short ones as often as
// long ones on a log scale (reply times, reading times).
func logUniform(r *rand.Rand, lo, hi time.Duration) int64 {
	return int64(float64(lo)*math.Pow(float64(hi)/float64(lo), r.Float64())) / int64(time.Millisecond)
}

// planChat draws a chat of n messages and notes: sessions in which the
// client writes (or the team reaches out) and the other side answers, then
// the lines around them (assigned, read, resolved).
func (g *chatGen) planChat(r *rand.Rand, c *genChatClient, n int) *genChat {
	ch := &genChat{client: c, assignee: -1}
	if r.Float64() < 0.55 {
		ch.assignee = int8(g.workers[r.IntN(len(g.workers))])
	}
	primary, secondary := g.pickContacts(r, c)
	start := max(c.createdAt.UnixMilli(), chatGenFrom.UnixMilli()) + logUniform(r, time.Minute, 7*24*time.Hour)
	end := chatGenTo.UnixMilli()
	start = min(start, end-int64(2*time.Hour/time.Millisecond))
	var lens []int
	for left := n; left > 0; left -= lens[len(lens)-1] {
		lens = append(lens, min(left, 2+r.IntN(9)))
	}
	starts := make([]int64, len(lens))
	for j := range starts {
		starts[j] = start + r.Int64N(end-start)
	}
	slices.Sort(starts)
	starts[0] = start
	var lines []genLine
	reply := -1 // the contact the client last wrote from
	t := int64(0)
	for j, l := range lens {
		t = max(starts[j], t+int64(10*time.Minute/time.Millisecond))
		in := r.Float64() < 0.8
		for k := 0; k < l; in = !in {
			run := 1 + r.IntN(3)
			if !in {
				run = 1 + r.IntN(3)/2
			}
			for ; run > 0 && k < l; run, k = run-1, k+1 {
				e := genLine{at: t, kind: lineIn, contact: int8(primary), user: -1}
				if k > 0 {
					e.at = t + lineGap(r, lines[len(lines)-1].kind == lineIn, in)
				}
				t = e.at
				switch {
				case in:
					if secondary >= 0 && r.Float64() < 0.1 {
						e.contact = int8(secondary)
					}
					reply = int(e.contact)
				case r.Float64() < 0.07 && len(lines) > 0: // a chat starts with a message
					e.kind, e.contact, e.user = lineNote, -1, g.sender(r, ch)
				default:
					e.kind, e.contact, e.user = lineOut, int8(g.replyTo(c, reply)), g.sender(r, ch)
				}
				lines = append(lines, e)
			}
		}
	}
	g.finishChat(r, ch, lines)
	return ch
}

// genLine is one line of a chat being planned.
type genLine struct {
	at            int64
	kind          uint8
	contact, user int8
}

// lineGap is the time before the next line: quick within one side's run,
// slower for an answer.
func lineGap(r *rand.Rand, prevIn, nextIn bool) int64 {
	switch {
	case prevIn && nextIn:
		return logUniform(r, 5*time.Second, 3*time.Minute)
	case prevIn:
		return logUniform(r, time.Minute, 3*time.Hour)
	case nextIn:
		return logUniform(r, 30*time.Second, 8*time.Hour)
	}
	return logUniform(r, 20*time.Second, 10*time.Minute)
}

// pickContacts chooses the contact the client mostly writes from (their
// preferred channel, else WhatsApp or Telegram if they have it, else email
// or phone) and, for one chat in five, a second one they sometimes use.
func (g *chatGen) pickContacts(r *rand.Rand, c *genChatClient) (primary, secondary int) {
	primary, secondary = r.IntN(len(c.contacts)), -1
	for i, k := range c.contacts {
		t := app.TransportFor(k.Type)
		if string(t) == c.preferred && r.Float64() < 0.7 ||
			(t == app.TransportWhatsApp || t == app.TransportTelegram) && r.Float64() < 0.4 {
			primary = i
			break
		}
	}
	if len(c.contacts) > 1 && r.Float64() < 0.2 {
		secondary = (primary + 1 + r.IntN(len(c.contacts)-1)) % len(c.contacts)
	}
	return primary, secondary
}

// replyTo is the contact a message to the client goes to, as replyContact
// chooses it: the one they last wrote from, else the first of their
// preferred transport, else their first.
func (g *chatGen) replyTo(c *genChatClient, last int) int {
	if last >= 0 {
		return last
	}
	for i, k := range c.contacts {
		if string(app.TransportFor(k.Type)) == c.preferred {
			return i
		}
	}
	return 0
}

// sender is who on the team writes a line: mostly the assignee.
func (g *chatGen) sender(r *rand.Rand, ch *genChat) int8 {
	if ch.assignee >= 0 && r.Float64() < 0.9 {
		return ch.assignee
	}
	return int8(r.IntN(len(g.users)))
}

// finishChat decides the chat's end (resolved, unread, or open) and lays out
// its lines with the assignment after the first, a read before each answer
// to unread messages and the resolution after the last.
func (g *chatGen) finishChat(r *rand.Rand, ch *genChat, lines []genLine) {
	last := lines[len(lines)-1]
	recent := last.at > chatGenTo.Add(-30*24*time.Hour).UnixMilli()
	tail := 0
	for i := len(lines) - 1; i >= 0 && lines[i].kind == lineIn; i-- {
		tail++
	}
	pUnread, pResolved := 0.08, 0.8
	if recent {
		pUnread, pResolved = 0.7, 0.3
	}
	unreadTail := tail > 0 && r.Float64() < pUnread
	ch.resolved = last.kind == lineOut && r.Float64() < pResolved
	add := func(e genLine) {
		ch.at, ch.kind = append(ch.at, e.at), append(ch.kind, e.kind)
		ch.contact, ch.user = append(ch.contact, e.contact), append(ch.user, e.user)
	}
	unread := 0
	for i, e := range lines {
		if i == 1 && ch.assignee >= 0 {
			by := ch.assignee
			if r.Float64() < 0.5 {
				by = int8(g.admin)
			}
			add(genLine{at: lines[0].at + min((e.at-lines[0].at)/3, 2*60_000), kind: lineAssign, contact: -1, user: by})
		}
		if e.kind != lineIn && unread > 0 {
			add(genLine{at: e.at - min((e.at-lines[i-1].at)/3, 5*60_000), kind: lineRead, contact: -1, user: e.user})
			unread = 0
		}
		add(e)
		if e.kind == lineIn {
			unread++
		}
	}
	switch {
	case unreadTail:
		ch.unread = unread
	case unread > 0:
		add(genLine{at: last.at + logUniform(r, time.Minute, 24*time.Hour), kind: lineRead, contact: -1, user: g.sender(r, ch)})
	case ch.resolved:
		add(genLine{at: last.at + logUniform(r, time.Hour, 48*time.Hour), kind: lineResolve, contact: -1, user: g.sender(r, ch)})
	}
}

// order returns every line of every chat in time order, and gives each
// chat its id (made from the time of its first line).
func (g *chatGen) order() []genRef {
	total := 0
	for _, ch := range g.chats {
		total += len(ch.at)
	}
	refs := make([]genRef, 0, total)
	for ci, ch := range g.chats {
		for i, at := range ch.at {
			refs = append(refs, genRef{at: at, chat: int32(ci), i: int32(i)})
		}
	}
	slices.SortFunc(refs, func(a, b genRef) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.chat, b.chat), cmp.Compare(a.i, b.i))
	})
	for _, ref := range refs {
		if ch := g.chats[ref.chat]; ch.id == "" {
			ch.id = g.newID(ref.at)
		}
	}
	return refs
}

func (g *chatGen) newID(ms int64) string {
	return ulid.MustNew(uint64(ms), g.ids).String()
}

func genTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// genRows gathers rows for a multi-row INSERT, run by a prepared statement
// each time per rows are waiting.
type genRows struct {
	insert    string // INSERT INTO t (columns) VALUES
	cols, per int
	stmt      *sql.Stmt
	args      []any
}

func (r *genRows) add(ctx context.Context, tx *sql.Tx, vals ...any) error {
	r.args = append(r.args, vals...)
	if len(r.args) < r.cols*r.per {
		return nil
	}
	if r.stmt == nil {
		var err error
		if r.stmt, err = tx.PrepareContext(ctx, r.insert+genValues(r.cols, r.per)); err != nil {
			return err
		}
	}
	_, err := r.stmt.ExecContext(ctx, r.args...)
	r.args = r.args[:0]
	return err
}

// flush writes the rows still waiting and closes the statement.
func (r *genRows) flush(ctx context.Context, tx *sql.Tx) error {
	var err error
	if len(r.args) > 0 {
		_, err = tx.ExecContext(ctx, r.insert+genValues(r.cols, len(r.args)/r.cols), r.args...)
		r.args = r.args[:0]
	}
	if r.stmt != nil {
		err = errors.Join(err, r.stmt.Close())
		r.stmt = nil
	}
	return err
}

// genValues returns rows groups of cols placeholders.
func genValues(cols, rows int) string {
	row := "(?" + strings.Repeat(", ?", cols-1) + ")"
	return row + strings.Repeat(", "+row, rows-1)
}

// genWriter is one transaction's statements. A chat is inserted at once
// (the rows after it refer to it); the rest waits for a full statement.
type genWriter struct {
	ctx                                      context.Context
	tx                                       *sql.Tx
	chat                                     *sql.Stmt
	messages, events, members, notifications genRows
}

func (g *chatGen) newWriter(ctx context.Context, tx *sql.Tx) (*genWriter, error) {
	chat, err := tx.PrepareContext(ctx, `INSERT INTO chats (id, client_id, status, assignee_id, unread_count,
		message_count, last_message_at, last_transport, last_preview, reply_contact_id, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	return &genWriter{ctx: ctx, tx: tx, chat: chat,
		messages: genRows{insert: `INSERT INTO messages (id, chat_id, kind, direction, transport, channel_id,
			contact_id, contact_value, sender_type, sender_id, sender_name, sender_meta, body, template_id, marketing,
			mentions, status, failure_reason, provider_message_id, send_attempts, attempt_open, created_at, sent_at,
			delivered_at, read_at) VALUES `, cols: 25, per: 40},
		events: genRows{insert: `INSERT INTO events (id, type, aggregate_type, aggregate_id, actor_type, actor_id,
			actor_name, occurred_at, payload) VALUES `, cols: 9, per: 100},
		members: genRows{insert: `INSERT INTO chat_members (id, chat_id, kind, user_id, contact_id, transport, service,
			meta, created_at) VALUES `, cols: 9, per: 100},
		notifications: genRows{insert: `INSERT INTO notifications (user_id, kind, chat_id, message_id, text,
			created_at, read_at) VALUES `, cols: 7, per: 100},
	}, nil
}

// close writes what waits, messages first, and closes the statements.
func (w *genWriter) close() error {
	err := w.chat.Close()
	for _, r := range []*genRows{&w.messages, &w.events, &w.members, &w.notifications} {
		err = errors.Join(err, r.flush(w.ctx, w.tx))
	}
	return err
}

// genMessage is a message row as the app writes it.
type genMessage struct {
	id, chatID, kind, direction, transport, channelID, contactID, contactValue   string
	senderType, senderID, senderName, body, mentions, status, reason, providerID string
	attempts                                                                     int
	at, sent, delivered, read                                                    int64 // unix ms; 0 is NULL
}

func (w *genWriter) message(m genMessage) error {
	t := func(ms int64) any {
		if ms == 0 {
			return nil
		}
		return genTime(ms)
	}
	if m.mentions == "" {
		m.mentions = "[]"
	}
	return w.messages.add(w.ctx, w.tx, m.id, m.chatID, m.kind, m.direction, m.transport, m.channelID, m.contactID,
		m.contactValue, m.senderType, m.senderID, m.senderName, "{}", m.body, "", false, m.mentions, m.status,
		m.reason, m.providerID, m.attempts, 0, genTime(m.at), t(m.sent), t(m.delivered), t(m.read))
}

func (g *chatGen) event(w *genWriter, ms int64, typ, chatID string, actor app.Actor, payload map[string]any) error {
	ev := app.NewEvent(typ, "chat", chatID, actor, payload)
	return w.events.add(w.ctx, w.tx, g.newID(ms), ev.Type, ev.AggregateType, ev.AggregateID, ev.Actor.Type,
		ev.Actor.ID, ev.Actor.Name, genTime(ms), string(ev.Payload))
}

// member records a participant the first time it takes part, as addMember.
func (g *chatGen) member(w *genWriter, ci int, ch *genChat, user, contact int, ms int64) error {
	key := genMember{chat: int32(ci), user: int16(user), contact: int16(contact)}
	if g.members[key] {
		return nil
	}
	g.members[key] = true
	if user >= 0 {
		return w.members.add(w.ctx, w.tx, g.newID(ms), ch.id, "user", g.users[user].ID, "", "", "", "{}", genTime(ms))
	}
	k := ch.client.contacts[contact]
	return w.members.add(w.ctx, w.tx, g.newID(ms), ch.id, "client", "", k.ID, string(app.TransportFor(k.Type)), "", "{}",
		genTime(ms))
}

func (g *chatGen) notify(w *genWriter, user int, kind string, ch *genChat, messageID, text string, ms, read int64) error {
	var readAt any
	if read != 0 {
		readAt = genTime(read)
	}
	return w.notifications.add(w.ctx, w.tx, g.users[user].ID, kind, ch.id, messageID, text, genTime(ms), readAt)
}

// writeBatch writes lines of the history in one transaction.
func (g *chatGen) writeBatch(ctx context.Context, tx *sql.Tx, batch []genRef) error {
	w, err := g.newWriter(ctx, tx)
	if err != nil {
		return err
	}
	for _, ref := range batch {
		if err = g.writeLine(w, int(ref.chat), int(ref.i)); err != nil {
			break
		}
	}
	return errors.Join(err, w.close())
}

func (g *chatGen) writeLine(w *genWriter, ci, i int) error {
	ch := g.chats[ci]
	if i == 0 {
		if err := g.writeChat(w, ci, ch); err != nil {
			return err
		}
	}
	switch ch.kind[i] {
	case lineIn:
		return g.writeIn(w, ci, ch, i)
	case lineOut:
		return g.writeOut(w, ci, ch, i)
	case lineNote:
		return g.writeNote(w, ci, ch, i)
	case lineRead:
		n := ch.readRun
		ch.readRun = 0
		return g.event(w, ch.at[i], app.EventChatRead, ch.id, app.UserActor(g.users[ch.user[i]]),
			map[string]any{"client_id": ch.client.id, "messages": n})
	}
	return g.writeSystemLine(w, ch, i)
}

// writeChat inserts the chat as it will be after its last line (counters,
// last message, unread count, status), with its ChatStarted event.
func (g *chatGen) writeChat(w *genWriter, ci int, ch *genChat) error {
	count, last, lastIn := 0, 0, -1
	for j, k := range ch.kind {
		switch k {
		case lineIn:
			lastIn, last, count = j, j, count+1
		case lineOut:
			last, count = j, count+1
		case lineNote:
			count++
		}
	}
	reply := ""
	if lastIn >= 0 {
		reply = ch.client.contacts[ch.contact[lastIn]].ID
	}
	status, assignee := app.ChatOpen, ""
	if ch.resolved {
		status = app.ChatResolved
	}
	if ch.assignee >= 0 {
		assignee = g.users[ch.assignee].ID
	}
	k := ch.client.contacts[ch.contact[last]]
	if _, err := w.chat.ExecContext(w.ctx, ch.id, ch.client.id, status, assignee, ch.unread, count, genTime(ch.at[last]),
		app.TransportFor(k.Type), preview(g.draw(ci, ch, last).text, 0), reply, genTime(ch.at[0])); err != nil {
		return fmt.Errorf("insert chat: %w", err)
	}
	actor := app.SystemActor
	if ch.kind[0] != lineIn {
		actor = app.UserActor(g.users[ch.user[0]])
	}
	return g.event(w, ch.at[0], app.EventChatStarted, ch.id, actor, map[string]any{"client_id": ch.client.id})
}

// writeIn writes a message from the client, read when the team next
// opened the chat (or unread), as insertInbound does.
func (g *chatGen) writeIn(w *genWriter, ci int, ch *genChat, i int) error {
	d, c, at := g.draw(ci, ch, i), ch.client, ch.at[i]
	k := c.contacts[ch.contact[i]]
	t := app.TransportFor(k.Type)
	channel := g.channels[t]
	id := g.newID(at)
	var read int64
	for j := i + 1; j < len(ch.kind) && read == 0; j++ {
		if ch.kind[j] == lineRead {
			read = ch.at[j]
		}
	}
	if err := g.member(w, ci, ch, -1, int(ch.contact[i]), at); err != nil {
		return err
	}
	if err := w.message(genMessage{id: id, chatID: ch.id, kind: "message", direction: "in", transport: string(t),
		channelID: channel.ID, contactID: k.ID, contactValue: k.Value, senderType: app.SenderClient, senderID: c.id,
		senderName: c.name, body: d.text, status: string(app.StatusReceived), providerID: "in_" + g.newID(at), at: at, read: read}); err != nil {
		return err
	}
	g.messages, ch.readRun, c.lastIn = g.messages+1, ch.readRun+1, at
	g.latest(channel.ID).in = at
	if read == 0 {
		notified := g.workers
		if ch.assignee >= 0 {
			notified = []int{int(ch.assignee)}
		}
		for _, u := range notified {
			if err := g.notify(w, u, "message", ch, id, c.name+": "+preview(d.text, 0), at, 0); err != nil {
				return err
			}
		}
	}
	return g.event(w, at, app.EventMessageReceived, ch.id, app.Actor{Type: app.ActorSystem, Name: c.name},
		map[string]any{"message_id": id, "client_id": c.id, "transport": t, "channel_id": channel.ID, "attachments": 0})
}

// writeOut writes a message from the team as insertOutbound does, already
// at its final delivery status, with the event of each step.
func (g *chatGen) writeOut(w *genWriter, ci int, ch *genChat, i int) error {
	d, at, u := g.draw(ci, ch, i), ch.at[i], g.users[ch.user[i]]
	k := ch.client.contacts[ch.contact[i]]
	t := app.TransportFor(k.Type)
	channel := g.channels[t]
	id := g.newID(at)
	m := genMessage{id: id, chatID: ch.id, kind: "message", direction: "out", transport: string(t), channelID: channel.ID,
		contactID: k.ID, contactValue: k.Value, senderType: app.SenderUser, senderID: u.ID, senderName: u.Name,
		body: d.text, status: string(d.status), reason: d.reason, attempts: d.attempts, at: at, sent: d.sent,
		delivered: d.delivered, read: d.read}
	if d.sent != 0 {
		m.providerID = "sbx_" + id
	}
	if err := w.message(m); err != nil {
		return err
	}
	g.messages++
	if err := g.member(w, ci, ch, int(ch.user[i]), -1, at); err != nil {
		return err
	}
	if err := g.event(w, at, app.EventMessageQueued, ch.id, app.UserActor(u), map[string]any{"message_id": id,
		"client_id": ch.client.id, "transport": t, "channel_id": channel.ID, "template_id": "", "attachments": 0,
		"marketing": false}); err != nil {
		return err
	}
	latest := g.latest(channel.ID)
	from := app.StatusQueued
	for _, step := range []struct {
		to     app.DeliveryStatus
		at     int64
		reason string
	}{{app.StatusSent, d.sent, ""}, {app.StatusDelivered, d.delivered, ""}, {app.StatusRead, d.read, ""},
		{app.StatusFailed, d.failed, d.reason}} {
		if step.at == 0 {
			continue
		}
		if err := g.event(w, step.at, app.EventMessageStatus, ch.id, app.SystemActor, map[string]any{"message_id": id,
			"client_id": ch.client.id, "from": from, "to": step.to, "reason": step.reason}); err != nil {
			return err
		}
		from = step.to
	}
	if d.sent != 0 {
		latest.out = d.sent
	} else {
		latest.errAt, latest.err = d.failed, d.reason
	}
	return nil
}

// writeNote writes an internal note and tells whom it @mentions, as
// insertChatNote does.
func (g *chatGen) writeNote(w *genWriter, ci int, ch *genChat, i int) error {
	d, at, author := g.draw(ci, ch, i), ch.at[i], int(ch.user[i])
	u := g.users[author]
	id := g.newID(at)
	mentioned := []string{}
	if d.mention >= 0 {
		mentioned = append(mentioned, g.users[d.mention].ID)
	}
	b, _ := json.Marshal(mentioned)
	if err := w.message(genMessage{id: id, chatID: ch.id, kind: "note", direction: "out", transport: string(app.TransportInternal),
		senderType: app.SenderUser, senderID: u.ID, senderName: u.Name, body: d.text, mentions: string(b),
		status: string(app.StatusReceived), at: at}); err != nil {
		return err
	}
	g.messages++
	if d.mention >= 0 && d.mention != author {
		if err := g.notify(w, d.mention, "mention", ch, id, u.Name+" mentioned you: "+preview(d.text, 0), at, d.seen); err != nil {
			return err
		}
	}
	return g.event(w, at, app.EventNotePosted, ch.id, app.UserActor(u), map[string]any{"message_id": id,
		"client_id": ch.client.id, "mentions": mentioned})
}

// writeSystemLine writes an assignment or a resolution: the line in the
// history and its event, as assignChat and setChatStatus do.
func (g *chatGen) writeSystemLine(w *genWriter, ch *genChat, i int) error {
	at, u := ch.at[i], g.users[ch.user[i]]
	text, typ := "Resolved", app.EventChatStatusChanged
	payload := map[string]any{"client_id": ch.client.id, "from": app.ChatOpen, "to": app.ChatResolved, "snoozed_until": nil}
	if ch.kind[i] == lineAssign {
		to := g.users[ch.assignee]
		text, typ = "Assigned to "+to.Name, app.EventChatAssigned
		payload = map[string]any{"client_id": ch.client.id, "from": "", "to": to.ID, "to_name": to.Name}
	}
	if err := w.message(genMessage{id: g.newID(at), chatID: ch.id, kind: "system", direction: "out",
		transport: string(app.TransportInternal), senderType: app.SenderUser, senderID: u.ID, senderName: u.Name,
		body: text, status: string(app.StatusReceived), at: at}); err != nil {
		return err
	}
	return g.event(w, at, typ, ch.id, app.UserActor(u), payload)
}

func (g *chatGen) latest(channelID string) *genLatest {
	l := g.latests[channelID]
	if l == nil {
		l = &genLatest{}
		g.latests[channelID] = l
	}
	return l
}

// writeLatest moves what the history changed outside the chats: each
// channel's last inbound, outbound and error, and each client's last
// activity (the newest message they sent).
func (g *chatGen) writeLatest(ctx context.Context, tx *sql.Tx) error {
	t := func(ms int64) any {
		if ms == 0 {
			return nil
		}
		return genTime(ms)
	}
	for id, l := range g.latests {
		if _, err := tx.ExecContext(ctx, `UPDATE channels SET last_inbound_at = coalesce(?, last_inbound_at),
			last_outbound_at = coalesce(?, last_outbound_at) WHERE id = ?`, t(l.in), t(l.out), id); err != nil {
			return err
		}
		if l.err != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE channels SET last_error = ?, last_error_at = ? WHERE id = ?`,
				l.err, t(l.errAt), id); err != nil {
				return err
			}
		}
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE clients SET last_activity_at = max(last_activity_at, ?) WHERE id = ?`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, c := range g.clients {
		if c.lastIn == 0 {
			continue
		}
		if _, err := stmt.ExecContext(ctx, genTime(c.lastIn), c.id); err != nil {
			return fmt.Errorf("client activity: %w", err)
		}
	}
	return nil
}

// genDraw is the drawn content of one line.
type genDraw struct {
	text    string
	mention int   // a note's @mentioned user, -1 for none
	seen    int64 // when the mentioned user read the notification (0: not yet)
	// Delivery of a message to the client.
	status                        app.DeliveryStatus
	reason                        string
	attempts                      int
	sent, delivered, read, failed int64
}

// draw returns line i of chat ci's content, the same every time: its
// source is seeded by the line's place.
func (g *chatGen) draw(ci int, ch *genChat, i int) genDraw {
	g.linePCG.Seed(g.seed^0x11e5, uint64(ci)<<32|uint64(i))
	r, at := g.line, ch.at[i]
	d := genDraw{mention: -1}
	switch ch.kind[i] {
	case lineIn:
		d.text = g.compose(r, ch, genInbound, 1+r.IntN(2), "")
	case lineOut:
		d.text = g.compose(r, ch, genOutbound, 1+r.IntN(2), "")
		drawDelivery(r, &d, at)
	case lineNote:
		lines, handle := genNoteLines, ""
		if len(g.users) > 1 && r.Float64() < 0.4 {
			d.mention = (int(ch.user[i]) + 1 + r.IntN(len(g.users)-1)) % len(g.users)
			lines, handle = genMentionLines, "@"+app.MentionHandle(g.users[d.mention])
		}
		d.text = g.compose(r, ch, lines, 1, handle)
		if at < chatGenTo.Add(-14*24*time.Hour).UnixMilli() {
			d.seen = at + logUniform(r, 10*time.Minute, 48*time.Hour)
		}
	}
	return d
}

// drawDelivery ends an outbound message read (58%), delivered (30%), sent
// (10%) or failed (2%).
func drawDelivery(r *rand.Rand, d *genDraw, at int64) {
	d.attempts = 1
	x := r.Float64()
	if x < 0.02 {
		d.status, d.attempts = app.StatusFailed, 1+r.IntN(3)
		d.failed, d.reason = at+logUniform(r, time.Second, time.Hour), pick(r, genFailures)
		return
	}
	d.status, d.sent = app.StatusSent, at+logUniform(r, time.Second, 5*time.Second)
	if x < 0.12 {
		return
	}
	d.status, d.delivered = app.StatusDelivered, d.sent+logUniform(r, time.Second, 30*time.Second)
	if x < 0.42 {
		return
	}
	d.status, d.read = app.StatusRead, d.delivered+logUniform(r, 10*time.Second, 48*time.Hour)
}

// compose writes n sentences from templates (the first ones more often)
// and, now and then, one with a rare word. In a template _ is a noun (of a
// Zipf distribution), * a five-digit number, ~ a city, ^ the client's first
// name, % handle and $ a rare word.
func (g *chatGen) compose(r *rand.Rand, ch *genChat, templates []string, n int, handle string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		g.fill(&b, r, ch, pick(r, templates), handle)
	}
	if r.Float64() < 0.04 {
		b.WriteByte(' ')
		g.fill(&b, r, ch, genRareLines[r.IntN(len(genRareLines))], handle)
	}
	return b.String()
}

func (g *chatGen) fill(b *strings.Builder, r *rand.Rand, ch *genChat, template, handle string) {
	for _, c := range template {
		switch c {
		case '_':
			b.WriteString(genNouns[g.nouns.Uint64()])
		case '*':
			b.WriteString(strconv.Itoa(10000 + r.IntN(90000)))
		case '~':
			b.WriteString(pick(r, genCities))
		case '^':
			b.WriteString(ch.client.first)
		case '%':
			b.WriteString(handle)
		case '$':
			b.WriteString(chatGenRareWord(r.IntN(chatGenRareWords)))
		default:
			b.WriteRune(c)
		}
	}
}

// chatGenRareWord returns the i-th made-up word (of chatGenRareWords): four
// syllables, so that they are unlike real words and one another.
func chatGenRareWord(i int) string {
	x := uint64(i)*0x9e3779b97f4a7c15 + 0x2545f4914f6cdd1d
	x ^= x >> 31
	var b strings.Builder
	for range 4 {
		b.WriteString(genSyllables[x%uint64(len(genSyllables))])
		x /= uint64(len(genSyllables))
	}
	return b.String()
}

// The generator's phrases. Earlier templates are used more often.
var (
	genInbound = []string{
		"Hi, where is my order #*?",
		"Thanks!",
		"Hello, I ordered the _ last week and it has not arrived yet.",
		"Thank you, that helps a lot.",
		"Can I change the delivery address for order #*?",
		"Is the _ still in stock?",
		"Any update on my order?",
		"Ok",
		"Do you deliver to ~?",
		"Great, thanks for the quick reply!",
		"The _ arrived damaged. Can I get a refund?",
		"Could you send me the invoice for order #*?",
		"I would like to return the _.",
		"How much is the _ with delivery to ~?",
		"What are your opening hours on Saturday?",
		"My payment did not go through, can you check?",
		"Can I book a time to see the _?",
		"Perfect, see you then.",
		"Is there a discount on the _ if I order two?",
		"The tracking link for order #* does not work.",
		"I never got a confirmation email for order #*.",
		"Can you call me back about the _?",
		"Merci beaucoup ! 🙏",
		"Danke schön, das Paket ist angekommen.",
		"¿Tienen envío a ~?",
		"👍",
	}
	genOutbound = []string{
		"Hi ^, thanks for getting in touch!",
		"Your order #* has shipped and should arrive in 2–3 days.",
		"You are welcome! Anything else I can help with?",
		"Sorry for the delay with the _. We are looking into it.",
		"Yes, the _ is in stock. Shall I reserve one for you?",
		"I have sent the invoice for order #* to your email.",
		"We can offer a refund or a replacement for the _.",
		"Thanks ^, the refund for order #* is on its way.",
		"The tracking number for your order is *.",
		"Delivery to ~ takes about a week.",
		"Could you send a photo of the _ so we can check it?",
		"Our opening hours are 9:00 to 18:00, Monday to Saturday.",
		"Good news: the _ is back in stock.",
		"Thank you for your order, ^!",
		"I have updated the delivery address on order #*.",
	}
	genNoteLines = []string{
		"Refund approved for order #*.",
		"Client prefers a call in the afternoon.",
		"Waiting for the courier about order #*.",
		"Second complaint about the _ this month.",
		"Offered ten percent off the next order.",
	}
	genMentionLines = []string{
		"% can you check the _ for this client?",
		"Escalated to %: the _ is faulty.",
		"% please call ^ back about order #*.",
	}
	genRareLines = []string{"It is the $ model.", "Reference $.", "Code $, please.", "Is the $ included?"}
	genCities    = []string{"London", "Berlin", "Paris", "New York", "Manchester", "Munich", "Lyon", "Chicago",
		"Zürich", "Kraków", "São Paulo", "Málaga", "Reykjavík", "Göteborg"}
	genFailures = []string{"The provider refused the recipient.", "The recipient blocked the business.",
		"The number is not on WhatsApp.", "Mailbox full.", "Gave up after three attempts."}
	genSyllables = []string{"ka", "lo", "mi", "ren", "tos", "vu", "zel", "bra", "dun", "fi", "gor", "hep", "jal",
		"kro", "lum", "nav", "pex", "quo", "ris", "sul", "tav", "ub", "vin", "wex", "yor", "zam", "bel", "cor",
		"dax", "ek", "fum", "gil", "hon", "ix", "jut", "kel", "mop", "nix", "orb", "pil"}
)
