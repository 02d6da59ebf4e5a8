package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/app"
	"parley/app/web"
	"parley/tenantdb"
)

// inboxDelivery records the messages handed to the delivery worker.
type inboxDelivery struct {
	mu  sync.Mutex
	ids []string
}

func (d *inboxDelivery) EnqueueSend(_ context.Context, _, messageID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ids = append(d.ids, messageID)
	return nil
}

func (d *inboxDelivery) RetryReport(context.Context, string, app.StatusReport) error { return nil }

func (d *inboxDelivery) sent() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.ids...)
}

// inbox is a workspace with the sandbox connected, an admin signed in and
// one client, Anna, who wrote once.
type inbox struct {
	e        *env
	ws       *tenantdb.Workspace
	db       *tenantdb.DB
	admin    *browser
	ch       app.Channel
	anna     *app.Client
	chat     app.Chat
	first    app.Message
	delivery *inboxDelivery
}

func inboxSetup(t *testing.T) *inbox {
	t.Helper()
	d := &inboxDelivery{}
	e := setup(t, func(c *web.Config) { c.Delivery = d })
	ws := e.workspace("acme")
	db := e.db(ws)
	ctx := context.Background()
	ch, err := db.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	anna := mustClient(t, e, ws, app.ClientInput{FirstName: "Anna", LastName: "Kowalska", Contacts: []app.ContactInput{
		{Type: app.ContactEmail, Value: "anna@example.com"}, {Type: app.ContactWhatsApp, Value: "+44 7911 123456"}}})
	in := &inbox{e: e, ws: ws, db: db, ch: ch, anna: anna, delivery: d}
	in.first = in.receive(t, app.ContactInput{Type: app.ContactEmail, Value: "anna@example.com"}, "Hello, where is my order?")
	if in.chat, err = db.ChatByID(ctx, in.first.ChatID, allScope); err != nil {
		t.Fatal(err)
	}
	in.admin = e.browser()
	in.admin.login("acme", "admin@acme.example", "correct horse battery")
	return in
}

var allScope = app.ChatScope{All: true}

var inboxSeq int

// receive hands a customer's message to the inbound path, as a provider would.
func (in *inbox) receive(t *testing.T, from app.ContactInput, text string) app.Message {
	t.Helper()
	inboxSeq++
	m, _, err := in.db.ReceiveMessage(context.Background(), app.InboundMessage{ChannelID: in.ch.ID, From: from, Text: text,
		ProviderMessageID: fmt.Sprintf("p-%d-%d", time.Now().UnixNano(), inboxSeq)})
	if err != nil {
		t.Fatalf("receive %q: %v %v", text, err, app.ErrorFields(err))
	}
	return m
}

// user adds a team member with role and signs them in.
func (in *inbox) user(t *testing.T, name string, role app.Role) (*app.User, *browser) {
	t.Helper()
	email := strings.ToLower(name) + "@acme.example"
	u, err := in.db.CreateUser(context.Background(), app.NewUser{Email: email, Name: name, Password: "a good long password", Role: role}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	b := in.e.browser()
	b.login("acme", email, "a good long password")
	return u, b
}

// chatState reads a chat as it is now.
func (in *inbox) chatState(t *testing.T, id string) app.Chat {
	t.Helper()
	c, err := in.db.ChatByID(context.Background(), id, allScope)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// inboxCounts is what a refused request must leave unchanged.
type inboxCounts struct {
	messages, files int
	lastEvent       int64
}

func (in *inbox) counts(t *testing.T) inboxCounts {
	t.Helper()
	ctx := context.Background()
	var c inboxCounts
	for _, id := range in.chatIDs(t) {
		c.messages += in.chatState(t, id).MessageCount
	}
	entries, _ := os.ReadDir(in.db.FilesDir())
	c.files = len(entries)
	var err error
	if c.lastEvent, err = in.db.LastEventRowID(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

func (in *inbox) chatIDs(t *testing.T) []string {
	t.Helper()
	page, err := in.db.ListChats(context.Background(), app.ChatFilter{Limit: 200}, allScope)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range page.Chats {
		ids = append(ids, c.ID)
	}
	return ids
}

// inboxFile is a file to attach to a multipart post.
type inboxFile struct {
	name string
	data []byte
}

// inboxRequest is a request to the team app: a form (multipart when it
// carries files) and, for htmx, the id of the element it targets.
type inboxRequest struct {
	method string
	path   string
	form   url.Values
	files  []inboxFile
	target string // HX-Target; "" for a plain browser request
	page   string // HX-Current-URL path
}

func (b *browser) send(req inboxRequest) response {
	b.e.t.Helper()
	var body io.Reader
	contentType := ""
	switch {
	case len(req.files) > 0:
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for k, vs := range req.form {
			for _, v := range vs {
				mw.WriteField(k, v)
			}
		}
		for _, f := range req.files {
			w, _ := mw.CreateFormFile("files", f.name)
			w.Write(f.data)
		}
		mw.Close()
		body, contentType = &buf, mw.FormDataContentType()
	case req.method == "POST":
		body, contentType = strings.NewReader(req.form.Encode()), "application/x-www-form-urlencoded"
	}
	path := req.path
	if req.method == "GET" && len(req.form) > 0 {
		path += "?" + req.form.Encode()
	}
	r, _ := http.NewRequest(req.method, hostURL("acme", path), body)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	if req.target != "" {
		r.Header.Set("HX-Request", "true")
		r.Header.Set("HX-Target", req.target)
		r.Header.Set("HX-Current-URL", hostURL("acme", req.page))
	}
	return b.do(r)
}

func testids(doc *goquery.Document, id string) *goquery.Selection {
	return doc.Find("[data-testid=" + id + "]")
}

// png is a tiny image that sniffs as image/png.
var png = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...)

// TestInboxPages: every page and fragment of the inbox answers with what
// it is for.
func TestInboxPages(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	chat := "/inbox/" + in.chat.ID
	for _, tt := range []struct {
		name   string
		req    inboxRequest
		status int
		want   []string // data-testids that must be there
		text   string   // text the body must contain
	}{
		{"Inbox", inboxRequest{method: "GET", path: "/inbox"}, 200, []string{"chat-list", "chat-row", "no-chat", "nav-unread-count"}, "Anna Kowalska"},
		{"Home", inboxRequest{method: "GET", path: "/"}, 200, []string{"chat-list"}, ""},
		{"Unread", inboxRequest{method: "GET", path: "/inbox/unread", target: "nav-unread", page: "/inbox"}, 200, []string{"nav-unread-count"}, ""},
		{"Chat", inboxRequest{method: "GET", path: chat}, 200, []string{"conversation", "chat-head", "message", "composer", "client-panel", "chat-live"}, "Hello, where is my order?"},
		{"ChatPane", inboxRequest{method: "GET", path: chat, target: "inbox-main", page: "/inbox"}, 200, []string{"conversation", "composer"}, `id="list-chat"`},
		{"ListFragment", inboxRequest{method: "GET", path: "/inbox/list", form: url.Values{"view": {"unassigned"}}, target: "list-body", page: "/inbox"}, 200, []string{"chat-list", "chat-row"}, ""},
		{"ListRefresh", inboxRequest{method: "GET", path: "/inbox/list", target: "chat-list", page: "/inbox"}, 200, []string{"chat-row"}, ""},
		{"ListSearch", inboxRequest{method: "GET", path: "/inbox/list", form: url.Values{"q": {"order"}}, target: "list-body", page: "/inbox"}, 200, []string{"search-results", "search-hit"}, "<mark>order</mark>"},
		{"Search", inboxRequest{method: "GET", path: "/inbox/search", form: url.Values{"q": {"where"}}}, 200, []string{"search-results", "search-hit"}, "<mark>where</mark>"},
		{"SearchNothing", inboxRequest{method: "GET", path: "/inbox/search", form: url.Values{"q": {"zebra"}}}, 200, []string{"search-results", "empty"}, ""},
		{"SearchEmptyGoesBack", inboxRequest{method: "GET", path: "/inbox/search", form: url.Values{"q": {" "}}}, 303, nil, ""},
		{"Templates", inboxRequest{method: "GET", path: "/inbox/templates", form: url.Values{"q": {"hours"}}, target: "template-options", page: chat}, 200, nil, "No template matches"},
		{"History", inboxRequest{method: "GET", path: chat + "/history", form: url.Values{"before": {in.first.ID}}, target: "history-older", page: chat}, 200, []string{"history-start"}, ""},
		{"HistoryWithoutJS", inboxRequest{method: "GET", path: chat + "/history", form: url.Values{"before": {in.first.ID}}}, 303, nil, ""},
		{"LiveNothingNew", inboxRequest{method: "GET", path: chat + "/live", form: url.Values{"after": {in.first.ID}, "from": {in.first.ID}, "head": {headVersion(in.chat)}}, target: "messages", page: chat}, 204, nil, ""},
		{"ClientChatButton", inboxRequest{method: "GET", path: "/clients/" + in.anna.ID + "/chat", target: "", page: ""}, 303, nil, ""},
		{"Channels", inboxRequest{method: "GET", path: "/settings/channels"}, 200, []string{"channel", "connect-sandbox", "tab-channels"}, "Sandbox"},
		{"Outbox", inboxRequest{method: "GET", path: "/settings/channels/" + in.ch.ID + "/outbox"}, 200, []string{"outbox-empty", "customer-form"}, ""},
		{"ErrChatUnknown", inboxRequest{method: "GET", path: "/inbox/01JNEVEREXISTEDAAAAAAAAAAA"}, 404, []string{"error-page"}, "Conversation not found."},
		{"ErrOutboxUnknown", inboxRequest{method: "GET", path: "/settings/channels/nope/outbox"}, 404, []string{"error-page"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := in.admin.send(tt.req)
			if res.Status != tt.status {
				t.Fatalf("got %d, want %d; body: %s", res.Status, tt.status, snippet(res.Body))
			}
			doc := res.Doc(t)
			for _, id := range tt.want {
				if testids(doc, id).Length() == 0 {
					t.Errorf("no [data-testid=%s] in %s", id, snippet(res.Body))
				}
			}
			if !strings.Contains(res.Body, tt.text) {
				t.Errorf("body lacks %q", tt.text)
			}
		})
	}
}

func headVersion(c app.Chat) string {
	v := string(c.Status) + "|" + c.AssigneeID
	if c.SnoozedUntil != nil {
		v += "|" + c.SnoozedUntil.UTC().Format(time.RFC3339)
	}
	return v
}

// TestInboxOpenMarksRead: opening a chat clears its unread count and the
// navigation's badge; a live fetch while it is open does the same.
func TestInboxOpenMarksRead(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	from := app.ContactInput{Type: app.ContactEmail, Value: "anna@example.com"}
	in.receive(t, from, "Are you there?")
	if c := in.chatState(t, in.chat.ID); c.UnreadCount != 2 {
		t.Fatalf("unread before: got %d, want 2", c.UnreadCount)
	}
	page := in.admin.send(inboxRequest{method: "GET", path: "/inbox"})
	doc := page.Doc(t)
	if got := strings.TrimSpace(testids(doc, "nav-unread-count").Text()); got != "1" {
		t.Errorf("nav badge: got %q, want 1", got)
	}
	if got := strings.TrimSpace(testids(doc, "unread").Text()); got != "2" {
		t.Errorf("row badge: got %q, want 2", got)
	}
	res := in.admin.send(inboxRequest{method: "GET", path: "/inbox/" + in.chat.ID})
	if res.Status != 200 {
		t.Fatalf("open: got %d", res.Status)
	}
	if c := in.chatState(t, in.chat.ID); c.UnreadCount != 0 {
		t.Errorf("unread after opening: got %d, want 0", c.UnreadCount)
	}
	if n := testids(res.Doc(t), "nav-unread-count").Length(); n != 0 {
		t.Errorf("nav badge after opening: got %d badges, want none", n)
	}
	badge := in.admin.send(inboxRequest{method: "GET", path: "/inbox/unread", target: "nav-unread", page: "/inbox"})
	if strings.Contains(badge.Body, "nav-unread-count") {
		t.Errorf("badge fragment after opening: got %q, want empty", badge.Body)
	}

	// A message arrives while the chat is open: the live fetch appends it
	// and marks it read.
	last := in.receive(t, from, "Hello again")
	msgs, _, _ := in.db.ListMessages(context.Background(), in.chat.ID, allScope, "", 50)
	prev := msgs[len(msgs)-2]
	live := in.admin.send(inboxRequest{method: "GET", path: "/inbox/" + in.chat.ID + "/live",
		form: url.Values{"after": {prev.ID}, "from": {in.first.ID}, "head": {headVersion(in.chat)}}, target: "messages", page: "/inbox/" + in.chat.ID})
	if live.Status != 200 || !strings.Contains(live.Body, "Hello again") {
		t.Fatalf("live: got %d, want the new message; body %s", live.Status, snippet(live.Body))
	}
	doc = live.Doc(t)
	if got, _ := doc.Find("#live-after").Attr("value"); got != last.ID {
		t.Errorf("live cursor: got %q, want %q", got, last.ID)
	}
	if got, _ := doc.Find("#live-after").Attr("hx-swap-oob"); got != "true" {
		t.Errorf("live cursor is not swapped out of band")
	}
	if c := in.chatState(t, in.chat.ID); c.UnreadCount != 0 {
		t.Errorf("unread after a live fetch: got %d, want 0", c.UnreadCount)
	}
}

// TestInboxSend: a reply is queued and handed to the worker, a note with
// a mention is not; files are stored and shown; a template's use counts.
func TestInboxSend(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	ctx := context.Background()
	path := "/inbox/" + in.chat.ID + "/messages"
	grace, _ := in.user(t, "Grace", app.RoleAgent)
	tpl, err := in.db.CreateTemplate(ctx, app.TemplateInput{Name: "Hours", Body: "We are open 9–17."}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}

	res := in.admin.send(inboxRequest{method: "POST", path: path, target: "composer", page: "/inbox/" + in.chat.ID,
		form: url.Values{"text": {"We are open 9–17."}, "template_id": {tpl.ID}}})
	if res.Status != 200 || res.Header.Get("HX-Trigger") != "chat-sent" {
		t.Fatalf("send: got %d %q, want 200 with HX-Trigger chat-sent; body %s", res.Status, res.Header.Get("HX-Trigger"), snippet(res.Body))
	}
	if got := res.Text(t, "[data-testid=composer-text]"); got != "" {
		t.Errorf("composer after send: got %q, want it empty", got)
	}
	msgs, _, _ := in.db.ListMessages(ctx, in.chat.ID, allScope, "", 50)
	sent := msgs[len(msgs)-1]
	if sent.Status != app.StatusQueued || sent.TemplateID != tpl.ID || sent.ContactValue != "anna@example.com" {
		t.Errorf("sent: got %s via template %q to %s", sent.Status, sent.TemplateID, sent.ContactValue)
	}
	if got := in.delivery.sent(); len(got) != 1 || got[0] != sent.ID {
		t.Errorf("enqueued: got %v, want [%s]", got, sent.ID)
	}
	if tpl, _ = in.db.TemplateByID(ctx, tpl.ID); tpl.Uses != 1 {
		t.Errorf("template uses: got %d, want 1", tpl.Uses)
	}

	// A note mentioning Grace: never sent, highlighted, Grace notified.
	res = in.admin.send(inboxRequest{method: "POST", path: path, form: url.Values{"text": {"@grace can you check <b>this</b>?"}, "note": {"true"}}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("note without htmx: got %d, want 303", res.Status)
	}
	if got := in.delivery.sent(); len(got) != 1 {
		t.Errorf("a note was handed to the worker: %v", got)
	}
	page := in.admin.send(inboxRequest{method: "GET", path: "/inbox/" + in.chat.ID})
	doc := page.Doc(t)
	note := doc.Find("[data-testid=message][data-kind=note]")
	if note.Length() != 1 || note.Find("mark.mention").Text() != "@grace" {
		t.Errorf("note: got %d notes, mention %q", note.Length(), note.Find("mark.mention").Text())
	}
	if got := note.Find("[data-testid=message-text]").Text(); got != "@grace can you check <b>this</b>?" {
		t.Errorf("note text: got %q, want it escaped as typed", got)
	}
	if m := lastMessage(t, in); len(m.Mentions) != 1 || m.Mentions[0] != grace.ID {
		t.Errorf("mentions: got %v, want [%s]", m.Mentions, grace.ID)
	}

	// Files: an image shown inline, a text file as a download, on WhatsApp.
	wa := ""
	for _, k := range mustProfile(t, in.e, in.ws, in.anna.ID).Contacts {
		if k.Type == app.ContactWhatsApp {
			wa = k.ID
		}
	}
	res = in.admin.send(inboxRequest{method: "POST", path: path, target: "composer", page: "/inbox/" + in.chat.ID,
		form:  url.Values{"text": {"Here you go"}, "contact_id": {wa}},
		files: []inboxFile{{"photo.png", png}, {"notes.txt", []byte("plain text notes\n")}}})
	if res.Status != 200 {
		t.Fatalf("send files: got %d; body %s", res.Status, snippet(res.Body))
	}
	m := lastMessage(t, in)
	if len(m.Attachments) != 2 || m.Transport != app.TransportWhatsApp {
		t.Fatalf("files: got %d attachments over %s", len(m.Attachments), m.Transport)
	}
	doc = in.admin.send(inboxRequest{method: "GET", path: "/inbox/" + in.chat.ID}).Doc(t)
	if src, _ := doc.Find(".attachment-image img").Attr("src"); src != "/attachments/"+m.Attachments[0].ID {
		t.Errorf("image: got src %q", src)
	}
	if got := doc.Find(".attachment-file").Text(); !strings.Contains(got, "notes.txt") || !strings.Contains(got, "17 B") {
		t.Errorf("file link: got %q, want its name and size", got)
	}
}

func lastMessage(t *testing.T, in *inbox) app.Message {
	t.Helper()
	msgs, _, err := in.db.ListMessages(context.Background(), in.chat.ID, allScope, "", 50)
	if err != nil || len(msgs) == 0 {
		t.Fatal(err)
	}
	return msgs[len(msgs)-1]
}

// TestInboxSendRefused: each refused message writes nothing, shows the
// storage's reason next to the composer and keeps what was typed.
func TestInboxSendRefused(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	ctx := context.Background()
	otherTenant := in.e.workspace("globex")
	foreign, err := in.e.db(otherTenant).CreateTemplate(ctx, app.TemplateInput{Name: "Theirs", Body: "Not yours."}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	bo := mustClient(t, in.e, in.ws, app.ClientInput{FirstName: "Bo", Contacts: []app.ContactInput{{Type: app.ContactOther, Value: "carrier pigeon"}}})
	boChat, _, err := in.db.StartChat(ctx, bo.ID, allScope, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, app.MaxAttachmentBytes+1)
	copy(big, png)
	chat := "/inbox/" + in.chat.ID
	many := make([]inboxFile, app.MaxAttachments+1)
	for i := range many {
		many[i] = inboxFile{fmt.Sprintf("f%d.png", i), png}
	}
	for _, tt := range []struct {
		name  string
		chat  string
		form  url.Values
		files []inboxFile
		field string
	}{
		{"ErrEmptyMessage", chat, url.Values{"text": {"   "}}, nil, "text"},
		{"ErrTextTooLong", chat, url.Values{"text": {strings.Repeat("a", app.MaxMessageText+1)}}, nil, "text"},
		{"ErrOversizeAttachment", chat, url.Values{"text": {"big"}}, []inboxFile{{"big.png", big}}, "attachments"},
		{"ErrForbiddenType", chat, url.Values{"text": {"page"}}, []inboxFile{{"page.png", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")}}, "attachments"},
		{"ErrTooManyFiles", chat, url.Values{"text": {"many"}}, many, "attachments"},
		{"ErrNoteWithFile", chat, url.Values{"text": {"note"}, "note": {"true"}}, []inboxFile{{"a.png", png}}, "attachments"},
		{"ErrUnknownTemplate", chat, url.Values{"text": {"hi"}, "template_id": {"01JNEVEREXISTEDAAAAAAAAAAA"}}, nil, "template_id"},
		{"ErrOtherTenantTemplate", chat, url.Values{"text": {"hi"}, "template_id": {foreign.ID}}, nil, "template_id"},
		{"ErrContactOfAnotherClient", chat, url.Values{"text": {"hi"}, "contact_id": {"01JNEVEREXISTEDAAAAAAAAAAA"}}, nil, "contact_id"},
		{"ErrClientWithoutContact", "/inbox/" + boChat.ID, url.Values{"text": {"hi"}}, nil, "contact_id"},
	} {
		for _, htmx := range []bool{true, false} {
			name := tt.name
			if !htmx {
				name += "WithoutJS"
			}
			t.Run(name, func(t *testing.T) {
				before := in.counts(t)
				req := inboxRequest{method: "POST", path: tt.chat + "/messages", form: tt.form, files: tt.files}
				if htmx {
					req.target, req.page = "composer", tt.chat
				}
				res := in.admin.send(req)
				if res.Status != http.StatusUnprocessableEntity {
					t.Fatalf("got %d, want 422; body %s", res.Status, snippet(res.Body))
				}
				doc := res.Doc(t)
				if testids(doc, "error-"+tt.field).Length() != 1 {
					t.Errorf("no error next to %s; body %s", tt.field, snippet(res.Body))
				}
				if htmx && testids(doc, "inbox").Length() != 0 {
					t.Errorf("htmx got the whole page, want the composer alone")
				}
				if got := doc.Find("[data-testid=composer-text]").Text(); got != tt.form.Get("text") {
					t.Errorf("typed text: got %d characters back, want %d", len(got), len(tt.form.Get("text")))
				}
				if after := in.counts(t); after != before {
					t.Errorf("refused send wrote something: before %+v, after %+v", before, after)
				}
				if len(in.delivery.sent()) != 0 {
					t.Errorf("refused send was enqueued")
				}
			})
		}
	}
}

// TestInboxIsolation: another workspace's chat or file, a chat the agent
// may not see and one that never existed all get the same 404; roles
// without the permission get 403 and change nothing.
func TestInboxIsolation(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	ctx := context.Background()
	lead, _ := in.user(t, "Lena", app.RoleLead)
	_, agent := in.user(t, "Grace", app.RoleAgent)
	_, sales := in.user(t, "Sam", app.RoleSales)
	m, err := in.db.SendMessage(ctx, in.chat.ID, app.SendInput{Text: "Photo", Uploads: []app.Upload{{Filename: "p.png", Data: png}}}, allScope, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	file := m.Attachments[0].ID
	if _, err := in.db.UpdateChat(ctx, in.chat.ID, app.ChatUpdate{AssigneeID: &lead.ID}, allScope, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	// Another workspace with a chat and a file of its own.
	globex := in.e.workspace("globex")
	gdb := in.e.db(globex)
	gch, _ := gdb.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
	gm, _, err := gdb.ReceiveMessage(ctx, app.InboundMessage{ChannelID: gch.ID, From: app.ContactInput{Type: app.ContactEmail, Value: "x@globex.example"},
		Text: "secret", ProviderMessageID: "g1", Uploads: []app.Upload{{Filename: "g.png", Data: png}}})
	if err != nil {
		t.Fatal(err)
	}
	const missing = "01JNEVEREXISTEDAAAAAAAAAAA"
	notFound := in.admin.send(inboxRequest{method: "GET", path: "/inbox/" + missing})
	for _, tt := range []struct {
		name string
		who  *browser
		req  inboxRequest
	}{
		{"AgentOpensOthersChat", agent, inboxRequest{method: "GET", path: "/inbox/" + in.chat.ID}},
		{"AgentLiveOthersChat", agent, inboxRequest{method: "GET", path: "/inbox/" + in.chat.ID + "/history", form: url.Values{"before": {m.ID}}, target: "history-older"}},
		{"AgentSendsToOthersChat", agent, inboxRequest{method: "POST", path: "/inbox/" + in.chat.ID + "/messages", form: url.Values{"text": {"hi"}}}},
		{"AgentAssignsOthersChat", agent, inboxRequest{method: "POST", path: "/inbox/" + in.chat.ID + "/assign", form: url.Values{"assignee_id": {""}}}},
		{"AgentOthersFile", agent, inboxRequest{method: "GET", path: "/attachments/" + file}},
		{"OtherTenantChat", in.admin, inboxRequest{method: "GET", path: "/inbox/" + gm.ChatID}},
		{"OtherTenantChatPost", in.admin, inboxRequest{method: "POST", path: "/inbox/" + gm.ChatID + "/status", form: url.Values{"status": {"resolved"}}}},
		{"OtherTenantFile", in.admin, inboxRequest{method: "GET", path: "/attachments/" + gm.Attachments[0].ID}},
		{"OtherTenantRetry", in.admin, inboxRequest{method: "POST", path: "/inbox/messages/" + gm.ID + "/retry"}},
		{"UnknownFile", in.admin, inboxRequest{method: "GET", path: "/attachments/" + missing}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := in.counts(t)
			res := tt.who.send(tt.req)
			if res.Status != http.StatusNotFound {
				t.Fatalf("got %d, want 404; body %s", res.Status, snippet(res.Body))
			}
			if tt.req.method == "GET" && tt.req.target == "" && strings.HasPrefix(tt.req.path, "/inbox/") &&
				res.Text(t, "[data-testid=error-page] p:last-of-type") != notFound.Text(t, "[data-testid=error-page] p:last-of-type") {
				t.Errorf("message differs from an unknown chat's: %q", res.Text(t, "[data-testid=error-page] p:last-of-type"))
			}
			if after := in.counts(t); after != before {
				t.Errorf("wrote something: before %+v, after %+v", before, after)
			}
		})
	}
	for _, tt := range []struct {
		name string
		req  inboxRequest
	}{
		{"SalesChannels", inboxRequest{method: "GET", path: "/settings/channels"}},
		{"SalesConnect", inboxRequest{method: "POST", path: "/settings/channels", form: url.Values{"name": {"Mine"}}}},
		{"SalesEditChannel", inboxRequest{method: "POST", path: "/settings/channels/" + in.ch.ID, form: url.Values{"name": {"Mine"}}}},
		{"SalesOutbox", inboxRequest{method: "GET", path: "/settings/channels/" + in.ch.ID + "/outbox"}},
		{"SalesWriteAsCustomer", inboxRequest{method: "POST", path: "/settings/channels/" + in.ch.ID + "/inbound", form: url.Values{"from_type": {"email"}, "from": {"z@example.com"}, "text": {"hi"}}}},
		{"SalesAssigns", inboxRequest{method: "POST", path: "/inbox/" + in.chat.ID + "/assign", form: url.Values{"assignee_id": {""}}}},
		{"SalesResolves", inboxRequest{method: "POST", path: "/inbox/" + in.chat.ID + "/status", form: url.Values{"status": {"resolved"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := in.counts(t)
			if res := sales.send(tt.req); res.Status != http.StatusForbidden {
				t.Fatalf("got %d, want 403", res.Status)
			}
			if after := in.counts(t); after != before {
				t.Errorf("wrote something: before %+v, after %+v", before, after)
			}
		})
	}
	if chs, _ := in.db.ListChannels(ctx); len(chs) != 1 || chs[0].Name != "Sandbox" {
		t.Errorf("channels changed: %+v", chs)
	}
	// Signed out, a file is behind the sign-in page.
	if res := in.e.browser().send(inboxRequest{method: "GET", path: "/attachments/" + file}); res.Status != http.StatusSeeOther ||
		!strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("signed out: got %d to %q, want 303 to the sign-in page", res.Status, res.Header.Get("Location"))
	}
}

// TestInboxAttachmentHeaders: files are served as stored, images inline
// and everything else as a download, never sniffed, cached privately.
func TestInboxAttachmentHeaders(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	pdf := append([]byte("%PDF-1.4\n"), make([]byte, 32)...)
	m, err := in.db.SendMessage(context.Background(), in.chat.ID, app.SendInput{Text: "Files", Uploads: []app.Upload{
		{Filename: "Fakturá 1;\"x\".pdf", Data: pdf}, {Filename: "photo.png", Data: png}}}, allScope, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, id, contentType, disposition string
		body                               []byte
	}{
		{"PDF", m.Attachments[0].ID, "application/pdf", `attachment; filename*=UTF-8''Faktur%C3%A1%201%3B_x_.pdf`, pdf},
		{"Image", m.Attachments[1].ID, "image/png", `inline; filename*=UTF-8''photo.png`, png},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := in.admin.send(inboxRequest{method: "GET", path: "/attachments/" + tt.id})
			h := res.Header
			for k, want := range map[string]string{"Content-Type": tt.contentType, "Content-Disposition": tt.disposition,
				"X-Content-Type-Options": "nosniff", "Cache-Control": "private"} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}
			if !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
				t.Errorf("CSP: got %q, want a sandbox", h.Get("Content-Security-Policy"))
			}
			if res.Status != 200 || res.Body != string(tt.body) {
				t.Errorf("got %d and %d bytes, want 200 and the file's %d", res.Status, len(res.Body), len(tt.body))
			}
		})
	}
}
