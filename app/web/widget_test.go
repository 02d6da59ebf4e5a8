package web_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/app"
	"parley/app/web"
	"parley/tenantdb"
)

// chatVisitor is a browser on a site that embeds the widget: it talks to
// the widget's endpoints as the chat panel's script does.
type chatVisitor struct {
	*browser
	host  string
	token string // the X-Parley-Visitor header, when set
}

// widgetReq is a request of the panel.
type widgetReq struct {
	method, path string
	json         any        // a JSON body (the panel's script)
	form         url.Values // a plain form body
	header       map[string]string
}

func (v *chatVisitor) call(r widgetReq) response {
	v.e.t.Helper()
	var body io.Reader
	req, _ := http.NewRequest(r.method, hostURL(v.host, r.path), nil)
	switch {
	case r.json != nil:
		b, _ := json.Marshal(r.json)
		body = bytes.NewReader(b)
		req, _ = http.NewRequest(r.method, hostURL(v.host, r.path), body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
	case r.form != nil:
		req, _ = http.NewRequest(r.method, hostURL(v.host, r.path), strings.NewReader(r.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.method == "POST" {
		req.Header.Set("Sec-Fetch-Site", "same-origin") // the frame posts to its own origin
	}
	if v.token != "" {
		req.Header.Set("X-Parley-Visitor", v.token)
	}
	for k, val := range r.header {
		req.Header.Set(k, val)
	}
	return v.do(req)
}

// say sends a message as the panel's script does and returns its id.
func (v *chatVisitor) say(t *testing.T, text string) string {
	t.Helper()
	res := v.call(widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": text, "key": newTestKey()}})
	if res.Status != http.StatusCreated {
		t.Fatalf("send %q: got %d, want 201; body %s", text, res.Status, snippet(res.Body))
	}
	var out struct {
		Visitor string `json:"visitor"`
		Message struct {
			ID string `json:"id"`
		} `json:"message"`
	}
	if err := json.Unmarshal([]byte(res.Body), &out); err != nil || out.Visitor == "" || out.Message.ID == "" {
		t.Fatalf("send answer %s: %v", res.Body, err)
	}
	return out.Message.ID
}

func newTestKey() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "k-" + hex.EncodeToString(b)
}

// chatPage is GET /widget/messages as JSON.
type chatPage struct {
	Messages []struct {
		ID   string `json:"id"`
		Mine bool   `json:"mine"`
		Name string `json:"name"`
		Text string `json:"text"`
	} `json:"messages"`
	More  bool `json:"more"`
	Reset bool `json:"reset"`
}

func (v *chatVisitor) messages(t *testing.T, query string) chatPage {
	t.Helper()
	res := v.call(widgetReq{method: "GET", path: "/widget/messages" + query})
	if res.Status != http.StatusOK {
		t.Fatalf("messages: got %d; body %s", res.Status, snippet(res.Body))
	}
	var p chatPage
	if err := json.Unmarshal([]byte(res.Body), &p); err != nil {
		t.Fatalf("messages %s: %v", res.Body, err)
	}
	return p
}

func (p chatPage) texts() string {
	var out []string
	for _, m := range p.Messages {
		out = append(out, m.Text)
	}
	return strings.Join(out, "|")
}

type widgetEnv struct {
	e     *env
	ws    *tenantdb.Workspace
	db    *tenantdb.DB
	admin *browser
}

func widgetSetup(t *testing.T, mutate ...func(*web.Config)) *widgetEnv {
	t.Helper()
	e := setup(t, mutate...)
	ws := e.workspace("acme")
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	return &widgetEnv{e: e, ws: ws, db: e.db(ws), admin: admin}
}

func (w *widgetEnv) visitor() *chatVisitor { return &chatVisitor{browser: w.e.browser(), host: "acme"} }

// chatOf returns the chat visitor token names.
func (w *widgetEnv) visitorChat(t *testing.T, v *chatVisitor) tenantdb.WebChatVisitor {
	t.Helper()
	var token string
	for _, c := range v.c.Jar.Cookies(&url.URL{Scheme: "http", Host: "acme." + baseDomain, Path: "/widget/"}) {
		if c.Name == "parley_visitor" {
			token = c.Value
		}
	}
	if v.token != "" {
		token = v.token
	}
	id, ok := w.db.OpenWebChatVisitor(token)
	if !ok {
		t.Fatalf("the visitor holds no token that opens")
	}
	got, err := w.db.WebChatVisitor(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (w *widgetEnv) countClients(t *testing.T) int {
	t.Helper()
	page, err := w.db.SearchClients(context.Background(), app.ClientFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Hits)
}

// TestWidgetScript checks /widget.js: JavaScript with the workspace's name
// and accent, short-cached with an ETag that revalidates, gzipped for
// browsers that take it, and served on a custom domain too.
func TestWidgetScript(t *testing.T) {
	t.Parallel()
	w := widgetSetup(t)
	if err := w.e.control.MapDomain(context.Background(), w.ws.Tenant.ID, "help.acme.example"); err != nil {
		t.Fatal(err)
	}
	v := w.visitor()
	// Go's transport asks for gzip and unpacks it unless told otherwise.
	plainReq, _ := http.NewRequest("GET", hostURL("acme", "/widget.js"), nil)
	plainReq.Header.Set("Accept-Encoding", "identity")
	res := v.do(plainReq)
	if res.Status != 200 || res.Header.Get("Content-Encoding") != "" {
		t.Fatalf("got %d, want 200", res.Status)
	}
	for h, want := range map[string]string{
		"Content-Type":                 "text/javascript; charset=utf-8",
		"Cache-Control":                "public, max-age=300",
		"Vary":                         "Accept-Encoding",
		"Cross-Origin-Resource-Policy": "cross-origin",
		"X-Content-Type-Options":       "nosniff",
	} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s: got %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(res.Body, `{"accent":"#2563eb","name":"Acme Inc"}`) || strings.Contains(res.Body, "__PARLEY_CONFIG__") {
		t.Errorf("the script lacks the workspace's settings: %s", snippet(res.Body))
	}
	if strings.Contains(res.Body, "innerHTML") {
		t.Errorf("the launcher uses innerHTML")
	}
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req, _ := http.NewRequest("GET", hostURL("acme", "/widget.js"), nil)
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("If-None-Match", etag)
	if got := v.do(req); got.Status != http.StatusNotModified || got.Body != "" {
		t.Errorf("revalidate: got %d with %d bytes, want 304 and nothing", got.Status, len(got.Body))
	}

	req, _ = http.NewRequest("GET", hostURL("acme", "/widget.js"), nil)
	req.Header.Set("Accept-Encoding", "br, gzip")
	gz := v.do(req)
	if gz.Header.Get("Content-Encoding") != "gzip" || gz.Header.Get("ETag") == etag {
		t.Fatalf("gzip: got encoding %q etag %q, want gzip with its own etag", gz.Header.Get("Content-Encoding"), gz.Header.Get("ETag"))
	}
	zr, err := gzip.NewReader(strings.NewReader(gz.Body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != res.Body {
		t.Errorf("the gzipped script differs from the plain one")
	}
	t.Logf("widget.js: %d bytes, %d gzipped", len(res.Body), len(gz.Body))
	if len(gz.Body) > 4096 {
		t.Errorf("widget.js is %d bytes gzipped, want under 4 KB", len(gz.Body))
	}
	req, _ = http.NewRequest("GET", hostURL("acme", "/widget.js"), nil)
	req.Header.Set("Accept-Encoding", "gzip;q=0, identity")
	if got := v.do(req); got.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0: got encoding %q, want none", got.Header.Get("Content-Encoding"))
	}
	if got := v.getOn("help.acme.example", "/widget.js"); got.Status != 200 || !strings.Contains(got.Body, "Acme Inc") {
		t.Errorf("on the custom domain: got %d", got.Status)
	}
}

// TestWidgetFrameHeaders checks the chat panel may be framed by any site
// while its CSP stays strict, and that no other page may be framed.
func TestWidgetFrameHeaders(t *testing.T) {
	t.Parallel()
	w := widgetSetup(t)
	res := w.visitor().get("acme", "/widget/frame")
	if res.Status != 200 {
		t.Fatalf("got %d, want 200", res.Status)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self' 'nonce-", "style-src 'self' 'nonce-",
		"object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors *"} {
		if !strings.Contains(csp, want) {
			t.Errorf("frame CSP lacks %q: %s", want, csp)
		}
	}
	if strings.Contains(csp, "'none'; form") || strings.Contains(csp, "unsafe") {
		t.Errorf("frame CSP is loose: %s", csp)
	}
	if xfo := res.Header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("X-Frame-Options: got %q, want none on the frame", xfo)
	}
	for _, path := range []string{"/help", "/widget/messages", "/login"} {
		other := w.visitor().get("acme", path)
		if !strings.Contains(other.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") || other.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s may be framed: CSP %q, X-Frame-Options %q", path, other.Header.Get("Content-Security-Policy"), other.Header.Get("X-Frame-Options"))
		}
	}
	doc := res.Doc(t)
	if doc.Find("[data-testid=wc-frame]").AttrOr("data-known", "") != "0" || doc.Find("[data-testid=wc-frame]").AttrOr("data-visitor", "") == "" {
		t.Errorf("a new visitor's panel: want data-known=0 and a fresh token")
	}
	if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("the panel set cookies %v before the visitor wrote anything", sc)
	}
	if n := w.countClients(t); n != 0 {
		t.Errorf("opening the panel made %d clients, want none", n)
	}
}

// TestWidgetRoutes drives every widget route with good and bad input.
func TestWidgetRoutes(t *testing.T) {
	t.Parallel()
	w := widgetSetup(t)
	other := w.e.workspace("globex")
	otherDB := w.e.db(other)

	// A visitor who has written, and a token of theirs sealed in another workspace.
	known := w.visitor()
	known.say(t, "Hello")
	kv := w.visitorChat(t, known)
	foreign, err := otherDB.SealWebChatVisitor(kv.ID)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", tenantdb.WebChatMessageLimit+1)

	for _, tt := range []struct {
		name       string
		req        widgetReq
		cookie     string // a parley_visitor cookie to send
		wantStatus int
		want       string // in the body
		newClient  bool   // a new lead was made
	}{
		{name: "FrameOK", req: widgetReq{method: "GET", path: "/widget/frame"}, wantStatus: 200, want: `data-testid="wc-form"`},
		{name: "MessagesNoCookie", req: widgetReq{method: "GET", path: "/widget/messages"}, wantStatus: 200, want: `{"messages":[],"more":false}`},
		{name: "MessagesForgedCookie", req: widgetReq{method: "GET", path: "/widget/messages"}, cookie: "v1:abcdef01:AAAA", wantStatus: 200, want: `{"messages":[],"more":false}`},
		{name: "MessagesOtherWorkspaceCookie", req: widgetReq{method: "GET", path: "/widget/messages"}, cookie: foreign, wantStatus: 200, want: `{"messages":[],"more":false}`},
		{name: "EventsNoCookie", req: widgetReq{method: "GET", path: "/widget/events"}, wantStatus: 204},
		{name: "EventsForgedQuery", req: widgetReq{method: "GET", path: "/widget/events?visitor=v1:00000000:AAAA"}, wantStatus: 204},
		{name: "SendNoCookie", req: widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": "Hi", "key": "k-00000001"}},
			wantStatus: 201, want: `"mine":true`, newClient: true},
		{name: "SendForgedCookie", req: widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": "Hi", "key": "k-00000002"}},
			cookie: "v1:abcdef01:AAAA", wantStatus: 201, want: `"text":"Hi"`, newClient: true},
		{name: "SendOtherWorkspaceCookie", req: widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": "Hi", "key": "k-00000003"}},
			cookie: foreign, wantStatus: 201, want: `"text":"Hi"`, newClient: true},
		{name: "ErrTextEmpty", req: widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": "  ", "key": "k-00000004"}},
			wantStatus: 422, want: `"field":"text"`},
		{name: "ErrTextMissing", req: widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"key": "k-00000005"}},
			wantStatus: 422, want: `"field":"text"`},
		{name: "ErrTextTooLong", req: widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": long, "key": "k-00000006"}},
			wantStatus: 422, want: `under 5000 characters`},
		{name: "ErrBadKey", req: widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": "Hi", "key": "<bad>"}},
			wantStatus: 422, want: `"field":"key"`},
		{name: "ErrNotJSON", req: widgetReq{method: "POST", path: "/widget/messages", header: map[string]string{"Content-Type": "application/json"}},
			wantStatus: 422, want: `not valid JSON`},
		{name: "ErrFormTextEmpty", req: widgetReq{method: "POST", path: "/widget/messages", form: url.Values{"text": {""}}},
			wantStatus: 422, want: `data-testid="wc-text-error">Write a message first.`},
		{name: "ErrFormTextTooLongKept", req: widgetReq{method: "POST", path: "/widget/messages", form: url.Values{"text": {long}}},
			wantStatus: 422, want: long + `</textarea>`},
		{name: "FormSend", req: widgetReq{method: "POST", path: "/widget/messages", form: url.Values{"text": {"From a form"}, "key": {"form-key-1"}}},
			wantStatus: 303, newClient: true},
		{name: "EmailOK", req: widgetReq{method: "POST", path: "/widget/email", json: map[string]string{"email": "new@example.com"}},
			wantStatus: 200, want: `"message":"Thanks, we will answer at new@example.com."`, newClient: true},
		{name: "ErrEmailBad", req: widgetReq{method: "POST", path: "/widget/email", json: map[string]string{"email": "not-an-email"}},
			wantStatus: 422, want: `"field":"email"`},
		{name: "ErrEmailEmpty", req: widgetReq{method: "POST", path: "/widget/email", json: map[string]string{"email": ""}},
			wantStatus: 422, want: `Enter your email address.`},
		{name: "ErrFormEmailBadKept", req: widgetReq{method: "POST", path: "/widget/email", form: url.Values{"email": {"nope@"}, "name": {"Ana"}}},
			wantStatus: 422, want: `value="nope@"`},
		{name: "CrossSitePostRefused", req: widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": "Hi", "key": "k-00000007"},
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, wantStatus: 403},
		{name: "ScriptPostNotFound", req: widgetReq{method: "POST", path: "/widget.js", form: url.Values{}}, wantStatus: 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := w.visitor()
			if tt.cookie != "" {
				v.c.Jar.SetCookies(&url.URL{Scheme: "http", Host: "acme." + baseDomain, Path: "/widget/"},
					[]*http.Cookie{{Name: "parley_visitor", Value: tt.cookie, Path: "/widget"}})
			}
			before := w.countClients(t)
			res := v.call(tt.req)
			if res.Status != tt.wantStatus {
				t.Fatalf("got %d, want %d; body %s", res.Status, tt.wantStatus, snippet(res.Body))
			}
			if tt.want != "" && !strings.Contains(res.Body, tt.want) {
				t.Errorf("body lacks %q: %s", snippet(tt.want), snippet(res.Body))
			}
			if got := w.countClients(t) - before; (got == 1) != tt.newClient || got > 1 {
				t.Errorf("new clients: got %d, want new=%v", got, tt.newClient)
			}
			if tt.newClient {
				// Whatever the cookie said, the visitor is a new one, never
				// the one who wrote before.
				if got := w.visitorChat(t, v); got.ClientID == kv.ClientID {
					t.Errorf("a bad cookie reached the known visitor's chat")
				}
			}
		})
	}
	if got := known.messages(t, "").texts(); got != "Hello" {
		t.Errorf("the known visitor's conversation changed: %q", got)
	}
}

// TestWidgetConversation follows one visitor and the team: the visitor's
// messages reach the inbox, the team's reply (not its notes) reaches the
// visitor, a retried post is stored once, the visitor is known by cookie or
// by header alone, and another visitor never sees any of it.
func TestWidgetConversation(t *testing.T) {
	t.Parallel()
	w := widgetSetup(t)
	ctx := context.Background()
	ana, bob := w.visitor(), w.visitor()

	body := map[string]string{"text": "<script>alert(1)</script> Do you ship?", "key": "ana-key-0001"}
	first := ana.call(widgetReq{method: "POST", path: "/widget/messages", json: body})
	if first.Status != 201 {
		t.Fatalf("send: got %d; %s", first.Status, first.Body)
	}
	var sent struct {
		Visitor string `json:"visitor"`
	}
	json.Unmarshal([]byte(first.Body), &sent)
	cookie := first.Header.Get("Set-Cookie")
	for _, want := range []string{"parley_visitor=", "Path=/widget", "HttpOnly", "SameSite=Lax", "Max-Age=31536000"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	if retry := ana.call(widgetReq{method: "POST", path: "/widget/messages", json: body}); retry.Status != 200 {
		t.Errorf("the same post again: got %d, want 200 (stored once)", retry.Status)
	}
	v := w.visitorChat(t, ana)
	chat, err := w.db.ChatByID(ctx, v.ChatID, app.ChatScope{All: true})
	if err != nil || chat.MessageCount != 1 || chat.UnreadCount != 1 || chat.LastTransport != app.TransportWebsite {
		t.Fatalf("chat: %+v (%v), want one unread website message", chat, err)
	}
	if chat.ClientName != "Website visitor "+v.ID[:6] {
		t.Errorf("lead: got %q, want Website visitor + short id", chat.ClientName)
	}

	// The team sees it, with the website contact to reply to and the
	// website channel among those it may go by.
	if _, err := w.db.ConnectChannel(ctx, app.ChannelTwilioSMS, "SMS", map[string]string{"from_number": "+447700900001", "account_sid": "AC1"},
		map[string]string{"auth_token": "tok", app.WebhookSecretKey: "hook"}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	page := w.admin.get("acme", "/inbox/"+chat.ID)
	if page.Status != 200 {
		t.Fatalf("inbox: got %d", page.Status)
	}
	if strings.Contains(page.Body, "<script>alert(1)") || !strings.Contains(page.Body, "&lt;script&gt;alert(1)&lt;/script&gt; Do you ship?") {
		t.Errorf("the inbox does not show the visitor's text escaped")
	}
	if got := page.Text(t, "[data-testid=composer-contact] option[selected]"); got != "Website · visitor "+v.ID[:6] {
		t.Errorf("reply to: got %q, want the visitor's website contact", got)
	}
	var via []string
	page.Doc(t).Find("[data-testid=composer-channel] option").Each(func(_ int, o *goquery.Selection) { via = append(via, o.Text()) })
	if !slices.Contains(via, "Website (Website)") {
		t.Errorf("Via: got %q, want the website channel offered", via)
	}
	reply := w.admin.post("acme", "/inbox/"+chat.ID+"/messages", url.Values{"text": {"Yes, to 40 countries."}})
	note := w.admin.post("acme", "/inbox/"+chat.ID+"/messages", url.Values{"text": {"Internal: upsell"}, "note": {"true"}})
	if reply.Status != 303 || note.Status != 303 {
		t.Fatalf("team reply %d, note %d; want 303", reply.Status, note.Status)
	}
	msgs, _, _ := w.db.ListMessages(ctx, chat.ID, app.ChatScope{All: true}, "", 10)
	if last := msgs[len(msgs)-2]; last.Transport != app.TransportWebsite || last.ContactID != v.ContactID {
		t.Errorf("reply: transport %s to %s, want website to the visitor", last.Transport, last.ContactID)
	}

	p := ana.messages(t, "")
	if got := p.texts(); got != body["text"]+"|Yes, to 40 countries." {
		t.Errorf("visitor's conversation: got %q", got)
	}
	if !p.Messages[0].Mine || p.Messages[1].Mine || p.Messages[1].Name != "Admin" {
		t.Errorf("lines: got %+v, want the visitor's then Admin's", p.Messages)
	}
	if got := ana.messages(t, "?after="+p.Messages[0].ID).texts(); got != "Yes, to 40 countries." {
		t.Errorf("after the first: got %q", got)
	}

	// Known by the header alone (a browser that refused the cookie).
	header := &chatVisitor{browser: w.e.browser(), host: "acme", token: sent.Visitor}
	if got := header.messages(t, "").texts(); got != p.texts() {
		t.Errorf("by header: got %q, want %q", got, p.texts())
	}
	// The panel draws the conversation for the cookie, escaped.
	frame := ana.get("acme", "/widget/frame")
	doc := frame.Doc(t)
	if n := doc.Find("[data-testid=wc-line]").Length(); n != 2 || doc.Find("[data-testid=wc-frame]").AttrOr("data-known", "") != "1" {
		t.Errorf("panel: %d lines, want 2 and data-known=1", n)
	}
	if strings.Contains(frame.Body, "<script>alert(1)") {
		t.Errorf("the panel shows the visitor's text unescaped")
	}

	// Bob sees none of it, even when he names Ana's messages.
	bob.say(t, "I am Bob")
	if got := bob.messages(t, "").texts(); got != "I am Bob" {
		t.Errorf("Bob's conversation: got %q", got)
	}
	stolen := bob.messages(t, "?after="+p.Messages[0].ID)
	if !stolen.Reset || stolen.texts() != "I am Bob" {
		t.Errorf("Bob asking after Ana's message: got %+v, want his own newest page", stolen)
	}
	if got := bob.messages(t, "?before="+p.Messages[1].ID).texts(); strings.Contains(got, "ship") {
		t.Errorf("Bob asking before Ana's message: got %q", got)
	}
	bobFrame := bob.get("acme", "/widget/frame?before="+url.QueryEscape(p.Messages[1].ID))
	if strings.Contains(bobFrame.Body, "ship?") {
		t.Errorf("Bob's panel shows Ana's words")
	}
}

// TestWidgetEmail checks the answer to a left email does not tell whether
// another client has it, and that the panel then knows the address.
func TestWidgetEmail(t *testing.T) {
	t.Parallel()
	w := widgetSetup(t)
	ctx := context.Background()
	if _, err := w.db.CreateClient(ctx, app.ClientInput{FirstName: "Taken",
		Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "taken@example.com"}}}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	answers := map[string]string{}
	for _, email := range []string{"free@example.com", "taken@example.com"} {
		v := w.visitor()
		v.say(t, "Hi")
		res := v.call(widgetReq{method: "POST", path: "/widget/email", json: map[string]string{"email": email, "name": "Ana"}})
		if res.Status != 200 {
			t.Fatalf("%s: got %d; %s", email, res.Status, res.Body)
		}
		var out map[string]string
		json.Unmarshal([]byte(res.Body), &out)
		answers[email] = strings.ReplaceAll(out["message"], email, "X")
		if got := v.get("acme", "/widget/frame").Text(t, "[data-testid=wc-email-done]"); got != "We will also answer at "+email+"." {
			t.Errorf("%s: panel says %q", email, got)
		}
		if got := w.visitorChat(t, v); got.Email != email {
			t.Errorf("%s: visitor's email %q", email, got.Email)
		}
	}
	if answers["free@example.com"] != answers["taken@example.com"] {
		t.Errorf("the answers differ: %q vs %q", answers["free@example.com"], answers["taken@example.com"])
	}

	// The plain form comes back to the panel.
	v := w.visitor()
	res := v.call(widgetReq{method: "POST", path: "/widget/email", form: url.Values{"email": {"plain@example.com"}}})
	if res.Status != 303 || res.Header.Get("Location") != "/widget/frame?sent=email" {
		t.Errorf("form: got %d to %q", res.Status, res.Header.Get("Location"))
	}
}

// TestWidgetRateLimits checks a visitor sending too fast is refused, and
// that waiting lets them write again.
func TestWidgetRateLimits(t *testing.T) {
	t.Parallel()
	w := widgetSetup(t)
	v := w.visitor()
	for i := range 20 {
		res := v.call(widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": "Hi", "key": "rate-key-" + string(rune('a'+i))}})
		if res.Status != 201 {
			t.Fatalf("message %d: got %d; %s", i+1, res.Status, res.Body)
		}
	}
	res := v.call(widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": "Hi", "key": "rate-key-over"}})
	if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(res.Body, "too fast") {
		t.Fatalf("message 21: got %d %q; %s, want 429", res.Status, res.Header.Get("Retry-After"), res.Body)
	}
	form := v.call(widgetReq{method: "POST", path: "/widget/messages", form: url.Values{"text": {"Still typing"}}})
	if form.Status != http.StatusTooManyRequests || form.Text(t, "[data-testid=wc-text-error]") == "" || form.Text(t, "[data-testid=wc-text]") != "Still typing" {
		t.Errorf("refused form: got %d, want 429 with the error and the text kept", form.Status)
	}
	// Another visitor from the same address still may.
	w.visitor().say(t, "Me too")
	w.e.clock.Advance(3 * time.Second)
	if res := v.call(widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": "Hi", "key": "rate-key-later"}}); res.Status != 201 {
		t.Errorf("after waiting: got %d, want 201", res.Status)
	}

	// An address may start 20 conversations, then one a minute.
	for i := range 18 {
		if res := w.visitor().call(widgetReq{method: "POST", path: "/widget/email", json: map[string]string{"email": "a@example.com"}}); res.Status != 200 {
			t.Fatalf("new visitor %d: got %d", i+3, res.Status)
		}
	}
	if res := w.visitor().call(widgetReq{method: "POST", path: "/widget/email", json: map[string]string{"email": "a@example.com"}}); res.Status != 429 {
		t.Errorf("visitor 21 from one address: got %d, want 429", res.Status)
	}
}

// TestWidgetCookieOverHTTPS checks the cookie works in a third-party frame
// when served over HTTPS: Secure, SameSite=None, Partitioned.
func TestWidgetCookieOverHTTPS(t *testing.T) {
	t.Parallel()
	w := widgetSetup(t, func(c *web.Config) { c.HTTPS = true })
	res := w.visitor().call(widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": "Hi", "key": "https-key-1"}})
	cookie := res.Header.Get("Set-Cookie")
	for _, want := range []string{"__Secure-parley_visitor=", "Path=/widget", "HttpOnly", "Secure", "SameSite=None", "Partitioned"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
}

// visitorStream is an open GET /widget/events.
type visitorStream struct{ events chan string }

func (v *chatVisitor) openEvents(t *testing.T) *visitorStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", hostURL(v.host, "/widget/events"), nil)
	res, err := v.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: got %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &visitorStream{events: make(chan string, 100)}
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				s.events <- name
			}
		}
	}()
	return s
}

func (s *visitorStream) next(wait time.Duration) string {
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(wait):
		return ""
	}
}

// TestWidgetEvents checks a visitor's stream signals when the team answers
// in their chat, and says nothing of another visitor's chat or of notes.
func TestWidgetEvents(t *testing.T) {
	t.Parallel()
	w := widgetSetup(t)
	ctx := context.Background()
	ana, bob := w.visitor(), w.visitor()
	ana.say(t, "Hi, I am Ana")
	bob.say(t, "Hi, I am Bob")
	anaChat, bobChat := w.visitorChat(t, ana).ChatID, w.visitorChat(t, bob).ChatID
	stream := ana.openEvents(t)

	// Another visitor's chat, and a note in Ana's: nothing.
	if res := w.admin.post("acme", "/inbox/"+bobChat+"/messages", url.Values{"text": {"Hello Bob"}}); res.Status != 303 {
		t.Fatalf("reply to Bob: %d", res.Status)
	}
	if _, err := w.db.SendMessage(ctx, anaChat, app.SendInput{Text: "Ana is a VIP", Note: true}, app.ChatScope{All: true}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	bob.say(t, "Bob again")
	if ev := stream.next(500 * time.Millisecond); ev != "" {
		t.Fatalf("Ana's stream got %q about other chats or a note, want nothing", ev)
	}
	// The team answers Ana: a signal, then the reply is there to fetch.
	if res := w.admin.post("acme", "/inbox/"+anaChat+"/messages", url.Values{"text": {"Hello Ana"}}); res.Status != 303 {
		t.Fatalf("reply to Ana: %d", res.Status)
	}
	if ev := stream.next(5 * time.Second); ev != "message" {
		t.Fatalf("Ana's stream: got %q, want message", ev)
	}
	if got := ana.messages(t, "").texts(); got != "Hi, I am Ana|Hello Ana" {
		t.Errorf("after the signal: got %q", got)
	}

	// The stream by the header's token in the query, as EventSource sends it.
	res := ana.call(widgetReq{method: "POST", path: "/widget/messages", json: map[string]string{"text": "ok", "key": "ev-key-0001"}})
	var out struct {
		Visitor string `json:"visitor"`
	}
	json.Unmarshal([]byte(res.Body), &out)
	byQuery := &chatVisitor{browser: w.e.browser(), host: "acme"}
	req, _ := http.NewRequest("GET", hostURL("acme", "/widget/events?visitor="+url.QueryEscape(out.Visitor)), nil)
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	r, err := byQuery.c.Do(req.WithContext(ctx2))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Errorf("stream by query token: got %d, want 200", r.StatusCode)
	}
}
