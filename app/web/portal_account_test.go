package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/app"
	"parley/tenantdb"
)

// ptChats is a workspace where two clients talk with the team: Ana (whom
// the tests sign in) and Bob, whose conversation she must never see.
type ptChats struct {
	e       *env
	m       *ptMailer
	ws      *tenantdb.Workspace
	sandbox app.Channel
	ana     *app.Client
	bob     *app.Client
	anaChat string
	// Ana's conversation, as stored.
	anaAsks, teamReply, teamNote, teamFailed app.Message
	bobAsks                                  app.Message
}

// ptConversations fills acme with Ana's and Bob's conversations: each
// wrote in with a file; the team answered Ana (with a file), wrote an
// internal note, assigned the chat (a system line) and had one reply
// fail.
func ptConversations(t *testing.T) *ptChats {
	t.Helper()
	ctx := context.Background()
	e, m, ws := ptEnv(t)
	c := &ptChats{e: e, m: m, ws: ws}
	db := e.db(ws)
	chs, err := db.ListChannels(ctx)
	if err != nil || len(chs) == 0 {
		t.Fatalf("channels: %v %v", chs, err)
	}
	c.sandbox = chs[0]
	c.ana = ptClient(t, e, ws, "Ana", "García", "ana@example.com")
	c.bob = ptClient(t, e, ws, "Bob", "Stone", "bob@example.com")
	c.anaAsks = c.inbound(t, "ana@example.com", "Where is my order #1042?", "a1", app.Upload{Filename: "receipt.png", Data: png})
	c.bobAsks = c.inbound(t, "bob@example.com", "Bob's private question", "b1", app.Upload{Filename: "bob.txt", Data: []byte("Bob's file")})
	chat, err := db.ChatOfClient(ctx, c.ana.ID, app.ChatScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	c.anaChat = chat.ID
	c.teamReply = c.send(t, app.SendInput{Text: "It ships tomorrow.", Uploads: []app.Upload{{Filename: "label.txt", Data: []byte("tracking 123")}}})
	c.teamNote = c.send(t, app.SendInput{Text: "VIP customer, internal only", Note: true})
	c.teamFailed = c.send(t, app.SendInput{Text: "Held back offer", Uploads: []app.Upload{{Filename: "offer.txt", Data: []byte("offer")}}})
	if err := db.RecordSendFailed(ctx, c.teamFailed.ID, "no consent"); err != nil {
		t.Fatal(err)
	}
	admin, err := db.UserByEmail(ctx, "admin@acme.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateChat(ctx, c.anaChat, app.ChatUpdate{AssigneeID: &admin.ID}, app.ChatScope{All: true}, app.UserActor(admin)); err != nil {
		t.Fatal(err)
	}
	return c
}

// inbound writes a message from email into the inbox, as a provider would.
func (c *ptChats) inbound(t *testing.T, email, text, id string, files ...app.Upload) app.Message {
	t.Helper()
	m, _, err := c.e.db(c.ws).ReceiveMessage(context.Background(), app.InboundMessage{ChannelID: c.sandbox.ID,
		From: app.ContactInput{Type: app.ContactEmail, Value: email}, Text: text, ProviderMessageID: id, Uploads: files})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// send writes the team's message (or note) in Ana's chat.
func (c *ptChats) send(t *testing.T, in app.SendInput) app.Message {
	t.Helper()
	m, err := c.e.db(c.ws).SendMessage(context.Background(), c.anaChat, in, app.ChatScope{All: true}, app.CLIActor)
	if err != nil {
		t.Fatalf("send %q: %v", in.Text, err)
	}
	return m
}

// ptMessages returns the ids and texts of the messages a page shows.
func ptMessages(t *testing.T, res response) (ids, texts []string) {
	t.Helper()
	doc := res.Doc(t)
	doc.Find(`[data-testid=portal-message]`).Each(func(_ int, s *goquery.Selection) {
		ids = append(ids, s.AttrOr("data-id", ""))
		texts = append(texts, strings.TrimSpace(s.Find(`[data-testid=portal-message-text]`).Text()))
	})
	return ids, texts
}

// TestPortalConversation checks what Ana sees: her messages and the
// team's replies, oldest first, with their files, and nothing else: no
// internal note, no system line, no failed reply, nothing of Bob's.
func TestPortalConversation(t *testing.T) {
	t.Parallel()
	c := ptConversations(t)
	b := ptSignIn(t, c.e, c.ws, "ana@example.com")
	res := b.get("acme", "/portal")
	if res.Status != 200 {
		t.Fatalf("got %d: %s", res.Status, snippet(res.Body))
	}
	ids, texts := ptMessages(t, res)
	if got, want := strings.Join(texts, " | "), "Where is my order #1042? | It ships tomorrow."; got != want {
		t.Errorf("messages: got %q, want %q", got, want)
	}
	if len(ids) == 2 && (ids[0] != c.anaAsks.ID || ids[1] != c.teamReply.ID) {
		t.Errorf("message ids: got %v, want %s, %s", ids, c.anaAsks.ID, c.teamReply.ID)
	}
	for _, hidden := range []string{"VIP customer", "Held back offer", "Bob", "assigned", "Admin of acme", "offer.txt", "bob.txt"} {
		if strings.Contains(res.Body, hidden) {
			t.Errorf("the page shows %q", hidden)
		}
	}
	doc := res.Doc(t)
	mine := doc.Find(`[data-testid=portal-message][data-mine=true]`)
	if mine.Length() != 1 || !strings.Contains(mine.Text(), "You") {
		t.Errorf("Ana's own messages: got %d marked mine (%q), want 1 by You", mine.Length(), mine.Text())
	}
	if theirs := doc.Find(`[data-testid=portal-message][data-mine=false] .acct-meta`).Text(); !strings.Contains(theirs, "Acme Inc") {
		t.Errorf("the team's reply is signed %q, want the workspace's name", theirs)
	}
	var files []string
	doc.Find(`[data-testid=portal-attachment]`).Each(func(_ int, s *goquery.Selection) { files = append(files, s.AttrOr("href", "")) })
	want := []string{"/portal/attachments/" + c.anaAsks.Attachments[0].ID, "/portal/attachments/" + c.teamReply.Attachments[0].ID}
	if strings.Join(files, ",") != strings.Join(want, ",") {
		t.Errorf("files: got %v, want %v", files, want)
	}
	if doc.Find(`[data-testid=portal-poll]`).AttrOr("hx-get", "") != "/portal/messages/new?after="+c.teamReply.ID {
		t.Errorf("poll: got %q, want after the newest message", doc.Find(`[data-testid=portal-poll]`).AttrOr("hx-get", ""))
	}
	if doc.Find(`[data-testid=portal-reply-form] input[name=key]`).AttrOr("value", "") == "" {
		t.Errorf("the reply form has no key")
	}

	bobBrowser := ptSignIn(t, c.e, c.ws, "bob@example.com")
	_, bobTexts := ptMessages(t, bobBrowser.get("acme", "/portal"))
	if got := strings.Join(bobTexts, " | "); got != "Bob's private question" {
		t.Errorf("Bob sees %q, want only his own message", got)
	}
}

// TestPortalConversationPaging checks paging back through a long
// conversation, and that a cursor naming anything but one of Ana's
// visible messages answers like an id that does not exist.
func TestPortalConversationPaging(t *testing.T) {
	t.Parallel()
	c := ptConversations(t)
	for i := range 33 {
		c.inbound(t, "ana@example.com", "Follow-up "+string(rune('A'+i%26))+string(rune('0'+i/26)), "f"+string(rune('A'+i)))
	}
	b := ptSignIn(t, c.e, c.ws, "ana@example.com")
	first := b.get("acme", "/portal")
	ids, _ := ptMessages(t, first)
	if len(ids) != 30 {
		t.Fatalf("first page: got %d messages, want 30", len(ids))
	}
	older := first.Doc(t).Find(`[data-testid=portal-older]`).AttrOr("href", "")
	if older != "/portal?before="+url.QueryEscape(ids[0]) {
		t.Fatalf("older link: got %q", older)
	}
	second := b.get("acme", older)
	ids2, texts2 := ptMessages(t, second)
	if len(ids2) != 5 || texts2[0] != "Where is my order #1042?" {
		t.Errorf("second page: got %d messages starting %q, want 5 from the first", len(ids2), texts2)
	}
	doc := second.Doc(t)
	if doc.Find(`[data-testid=portal-older]`).Length() != 0 || doc.Find(`[data-testid=portal-latest]`).Length() != 1 ||
		doc.Find(`[data-testid=portal-poll]`).Length() != 0 {
		t.Errorf("second page: want no older link, a link back to the latest, and no polling")
	}
	missing := b.get("acme", "/portal?before=01JZZZZZZZZZZZZZZZZZZZZZZZ")
	if missing.Status != http.StatusNotFound {
		t.Fatalf("unknown cursor: got %d, want 404", missing.Status)
	}
	for name, id := range map[string]string{"BobsMessage": c.bobAsks.ID, "InternalNote": c.teamNote.ID, "FailedReply": c.teamFailed.ID} {
		res := b.get("acme", "/portal?before="+id)
		if res.Status != http.StatusNotFound || stripNonce(res.Body) != stripNonce(missing.Body) {
			t.Errorf("%s as cursor: got %d, want the same 404 as an unknown id", name, res.Status)
		}
	}
}

// TestPortalAttachments checks that Ana downloads the files of her own
// conversation and nothing else, with the same 404 for all the rest.
func TestPortalAttachments(t *testing.T) {
	t.Parallel()
	c := ptConversations(t)
	b := ptSignIn(t, c.e, c.ws, "ana@example.com")
	missing := b.get("acme", "/portal/attachments/01JZZZZZZZZZZZZZZZZZZZZZZZ")
	if missing.Status != http.StatusNotFound {
		t.Fatalf("unknown file: got %d, want 404", missing.Status)
	}
	for _, tt := range []struct {
		name        string
		id          string
		wantStatus  int
		wantType    string
		wantDispose string
		wantBody    string
	}{
		{name: "OKHerOwnImage", id: c.anaAsks.Attachments[0].ID, wantStatus: 200, wantType: "image/png", wantDispose: "inline", wantBody: string(png)},
		{name: "OKTeamsFile", id: c.teamReply.Attachments[0].ID, wantStatus: 200, wantType: "text/plain; charset=utf-8",
			wantDispose: "attachment", wantBody: "tracking 123"},
		{name: "ErrBobsFile", id: c.bobAsks.Attachments[0].ID, wantStatus: 404},
		{name: "ErrFailedReplysFile", id: c.teamFailed.Attachments[0].ID, wantStatus: 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := b.get("acme", "/portal/attachments/"+tt.id)
			if res.Status != tt.wantStatus {
				t.Fatalf("got %d, want %d", res.Status, tt.wantStatus)
			}
			if tt.wantStatus == 404 {
				if stripNonce(res.Body) != stripNonce(missing.Body) {
					t.Errorf("404 differs from an unknown id's")
				}
				return
			}
			if got := res.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type: got %q, want %q", got, tt.wantType)
			}
			if got := res.Header.Get("Content-Disposition"); !strings.HasPrefix(got, tt.wantDispose+";") {
				t.Errorf("Content-Disposition: got %q, want %s", got, tt.wantDispose)
			}
			if got := res.Header.Get("Content-Security-Policy"); !strings.Contains(got, "sandbox") {
				t.Errorf("CSP: got %q, want a sandbox", got)
			}
			if res.Body != tt.wantBody {
				t.Errorf("body: got %q", res.Body)
			}
		})
	}
	if res := c.e.browser().get("acme", "/portal/attachments/"+c.anaAsks.Attachments[0].ID); res.Status != http.StatusSeeOther {
		t.Errorf("a file without signing in: got %d, want 303", res.Status)
	}
}

// TestPortalReply checks Ana's replies: they land in her chat in the
// team's inbox as website messages, unread, with their files checked by
// content; a refused reply keeps what she typed and stores nothing.
func TestPortalReply(t *testing.T) {
	t.Parallel()
	c := ptConversations(t)
	ctx := context.Background()
	db := c.e.db(c.ws)
	if _, err := db.MarkChatRead(ctx, c.anaChat, app.ChatScope{All: true}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	b := ptSignIn(t, c.e, c.ws, "ana@example.com")
	count := func() int {
		msgs, _, err := db.ListMessages(ctx, c.anaChat, app.ChatScope{All: true}, "", 200)
		if err != nil {
			t.Fatal(err)
		}
		return len(msgs)
	}
	key := "k" + strings.Repeat("x", 20)
	for _, tt := range []struct {
		name       string
		form       url.Values
		files      []inboxFile
		wantStatus int
		wantError  string // data-testid of the error shown
		wantKept   string // text the form keeps
		wantAdded  int
	}{
		{name: "ErrEmpty", form: url.Values{"text": {"   "}, "key": {key + "1"}}, wantStatus: 422, wantError: "error-text"},
		{name: "ErrTooLong", form: url.Values{"text": {strings.Repeat("é", app.MaxMessageText+1)}, "key": {key + "2"}},
			wantStatus: 422, wantError: "error-text", wantKept: "ééééé"},
		{name: "ErrScriptFile", form: url.Values{"text": {"See the page"}, "key": {key + "3"}},
			files:      []inboxFile{{name: "page.html", data: []byte("<html><script>alert(1)</script></html>")}},
			wantStatus: 422, wantError: "error-attachments", wantKept: "See the page"},
		{name: "ErrNoKey", form: url.Values{"text": {"Hello there"}}, wantStatus: 422, wantError: "portal-error", wantKept: "Hello there"},
		{name: "ErrBadKey", form: url.Values{"text": {"Hello there"}, "key": {"../../x"}}, wantStatus: 422, wantError: "portal-error"},
		{name: "OKText", form: url.Values{"text": {"  Thanks! <b>Tomorrow</b> is fine.  "}, "key": {key + "4"}}, wantStatus: 303, wantAdded: 1},
		{name: "OKSameKeyAgain", form: url.Values{"text": {"Thanks! <b>Tomorrow</b> is fine."}, "key": {key + "4"}}, wantStatus: 303},
		{name: "OKFileOnly", form: url.Values{"key": {key + "5"}}, files: []inboxFile{{name: "photo.png", data: png}}, wantStatus: 303, wantAdded: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := count()
			res := b.send(inboxRequest{method: "POST", path: "/portal/messages", form: tt.form, files: tt.files})
			if res.Status != tt.wantStatus {
				t.Fatalf("got %d, want %d: %s", res.Status, tt.wantStatus, snippet(res.Body))
			}
			if tt.wantStatus == 303 && res.Header.Get("Location") != "/portal?done=sent#latest" {
				t.Errorf("Location: got %q", res.Header.Get("Location"))
			}
			if tt.wantError != "" && res.Doc(t).Find(`[data-testid=`+tt.wantError+`]`).Length() == 0 {
				t.Errorf("no %s on the page: %s", tt.wantError, snippet(res.Body))
			}
			if tt.wantKept != "" && !strings.Contains(res.Doc(t).Find(`#p-text`).Text(), tt.wantKept) {
				t.Errorf("the form lost the text %q", tt.wantKept)
			}
			if got := count() - before; got != tt.wantAdded {
				t.Errorf("messages added: got %d, want %d", got, tt.wantAdded)
			}
		})
	}

	msgs, _, err := db.ListMessages(ctx, c.anaChat, app.ChatScope{All: true}, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	text, file := msgs[0], msgs[1]
	if text.Text != "Thanks! <b>Tomorrow</b> is fine." || text.Transport != app.TransportWebsite || text.Direction != app.DirectionIn ||
		text.ContactValue != "ana@example.com" || text.Meta["source"] != "portal" || text.Sender.Type != app.SenderClient {
		t.Errorf("reply stored as %+v", text)
	}
	if len(file.Attachments) != 1 || file.Attachments[0].ContentType != "image/png" {
		t.Errorf("file reply: got attachments %+v", file.Attachments)
	}
	chat, err := db.ChatByID(ctx, c.anaChat, app.ChatScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if chat.UnreadCount != 2 || chat.LastTransport != app.TransportWebsite {
		t.Errorf("chat: got unread %d via %s, want 2 unread via website", chat.UnreadCount, chat.LastTransport)
	}
	page := b.get("acme", "/portal?done=sent")
	if !strings.Contains(page.Body, "Thanks! &lt;b&gt;Tomorrow&lt;/b&gt; is fine.") || page.Doc(t).Find(`[data-testid=alert]`).Length() != 1 {
		t.Errorf("the conversation does not show the escaped reply and the notice: %s", snippet(page.Body))
	}
	team := c.e.browser()
	team.login("acme", "admin@acme.example", "correct horse battery")
	inbox := team.get("acme", "/inbox/"+c.anaChat)
	if !strings.Contains(inbox.Body, "Thanks! &lt;b&gt;Tomorrow&lt;/b&gt; is fine.") {
		t.Errorf("the team's inbox does not show the reply")
	}
	if got := b.get("acme", "/portal/attachments/"+file.Attachments[0].ID); got.Status != 200 {
		t.Errorf("her uploaded file: got %d, want 200", got.Status)
	}
	if _, bobTexts := ptMessages(t, ptSignIn(t, c.e, c.ws, "bob@example.com").get("acme", "/portal")); len(bobTexts) != 1 {
		t.Errorf("Ana's replies reached Bob's conversation: %v", bobTexts)
	}
}

// TestPortalPoll checks the conversation's poll for new messages.
func TestPortalPoll(t *testing.T) {
	t.Parallel()
	c := ptConversations(t)
	b := ptSignIn(t, c.e, c.ws, "ana@example.com")
	poll := func(after string) response {
		req, _ := http.NewRequest("GET", hostURL("acme", "/portal/messages/new?after="+url.QueryEscape(after)), nil)
		req.Header.Set("HX-Request", "true")
		return b.do(req)
	}
	if res := poll(c.teamReply.ID); res.Status != http.StatusNoContent {
		t.Errorf("nothing new: got %d, want 204", res.Status)
	}
	c.send(t, app.SendInput{Text: "Another internal remark", Note: true})
	if res := poll(c.teamReply.ID); res.Status != http.StatusNoContent {
		t.Errorf("after an internal note: got %d, want 204", res.Status)
	}
	news := c.send(t, app.SendInput{Text: "Your parcel left the warehouse."})
	res := poll(c.teamReply.ID)
	if res.Status != 200 {
		t.Fatalf("after a reply: got %d, want 200", res.Status)
	}
	ids, texts := ptMessages(t, res)
	if len(ids) != 1 || ids[0] != news.ID || texts[0] != "Your parcel left the warehouse." {
		t.Errorf("new messages: got %v %v", ids, texts)
	}
	if got := res.Doc(t).Find(`[data-testid=portal-poll]`).AttrOr("hx-get", ""); got != "/portal/messages/new?after="+news.ID {
		t.Errorf("next poll: got %q", got)
	}
	if strings.Contains(res.Body, "Another internal remark") {
		t.Errorf("the poll shows an internal note")
	}
	if res := poll(c.bobAsks.ID); res.Status != 286 {
		t.Errorf("polling after Bob's message: got %d, want 286 (stop)", res.Status)
	}
	// Polling does not keep an idle session alive.
	for range 3 {
		c.e.clock.Advance(50 * time.Minute)
		poll(news.ID)
	}
	if res := b.get("acme", "/portal"); res.Status != http.StatusSeeOther {
		t.Errorf("after 150 minutes of only polling: got %d, want 303 (idle)", res.Status)
	}
	if res := poll(news.ID); res.Status != http.StatusNoContent || res.Header.Get("HX-Redirect") == "" {
		t.Errorf("polling without a session: got %d with HX-Redirect %q, want 204 sending the page to sign in",
			res.Status, res.Header.Get("HX-Redirect"))
	}
}

// TestPortalConsents checks the consents on the preferences page: the
// built-in purposes and any on record, each change recorded with source
// portal and the client as actor, and visible in the team's history.
func TestPortalConsents(t *testing.T) {
	t.Parallel()
	c := ptConversations(t)
	ctx := context.Background()
	db := c.e.db(c.ws)
	if _, err := db.RecordConsent(ctx, c.ana.ID, app.ConsentInput{Purpose: "newsletter", Channel: app.TransportSMS,
		State: app.ConsentPending}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	b := ptSignIn(t, c.e, c.ws, "ana@example.com")
	rows := func() map[string]string {
		res := b.get("acme", "/portal/preferences")
		if res.Status != 200 {
			t.Fatalf("preferences: got %d", res.Status)
		}
		out := map[string]string{}
		res.Doc(t).Find(`[data-testid=portal-consent]`).Each(func(_ int, s *goquery.Selection) {
			out[s.AttrOr("data-purpose", "")+"/"+s.AttrOr("data-channel", "")] = s.AttrOr("data-state", "")
		})
		return out
	}
	want := map[string]string{"marketing/": "not_requested", "analytics/": "not_requested", "personalisation/": "not_requested",
		"newsletter/sms": "pending"}
	if got := rows(); !mapsEqual(got, want) {
		t.Fatalf("consents: got %v, want %v", got, want)
	}
	for _, tt := range []struct {
		name       string
		form       url.Values
		wantStatus int
		wantState  string // marketing/ state after
	}{
		{name: "OKGrant", form: url.Values{"purpose": {"marketing"}, "channel": {""}, "action": {"grant"}}, wantStatus: 303, wantState: "granted"},
		{name: "ErrGrantAgain", form: url.Values{"purpose": {"marketing"}, "channel": {""}, "action": {"grant"}}, wantStatus: 409, wantState: "granted"},
		{name: "ErrBogusAction", form: url.Values{"purpose": {"marketing"}, "channel": {""}, "action": {"erase"}}, wantStatus: 409, wantState: "granted"},
		{name: "ErrUnlistedPurpose", form: url.Values{"purpose": {"lottery"}, "channel": {""}, "action": {"grant"}}, wantStatus: 404, wantState: "granted"},
		{name: "ErrUnlistedChannel", form: url.Values{"purpose": {"marketing"}, "channel": {"sms"}, "action": {"grant"}}, wantStatus: 404, wantState: "granted"},
		{name: "OKRevoke", form: url.Values{"purpose": {"marketing"}, "channel": {""}, "action": {"revoke"}}, wantStatus: 303, wantState: "revoked"},
		{name: "OKDenyPending", form: url.Values{"purpose": {"newsletter"}, "channel": {"sms"}, "action": {"deny"}}, wantStatus: 303, wantState: "revoked"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := b.post("acme", "/portal/preferences/consents", tt.form)
			if res.Status != tt.wantStatus {
				t.Fatalf("got %d, want %d: %s", res.Status, tt.wantStatus, snippet(res.Body))
			}
			if tt.wantStatus == 409 && res.Doc(t).Find(`[data-testid=portal-consent-error]`).Length() != 1 {
				t.Errorf("no error next to the consent")
			}
			if got := rows()["marketing/"]; got != tt.wantState {
				t.Errorf("marketing: got %s, want %s", got, tt.wantState)
			}
		})
	}
	if got := rows()["newsletter/sms"]; got != "denied" {
		t.Errorf("newsletter on SMS: got %s, want denied", got)
	}
	_, hist, err := db.ClientConsents(ctx, c.ana.ID)
	if err != nil {
		t.Fatal(err)
	}
	portalChanges := 0
	for _, h := range hist {
		if h.Source == app.SourcePortal {
			portalChanges++
			if h.Actor.Type != app.ActorClient || h.Actor.ID != c.ana.ID || h.Actor.Name != "Ana García" {
				t.Errorf("consent change by %+v, want the client", h.Actor)
			}
		}
	}
	if portalChanges != 3 {
		t.Errorf("changes from the portal: got %d, want 3", portalChanges)
	}
	bobConsents, _, err := db.ClientConsents(ctx, c.bob.ID)
	if err != nil || len(bobConsents) != 0 {
		t.Errorf("Bob's consents: got %v %v, want none", bobConsents, err)
	}
	team := c.e.browser()
	team.login("acme", "admin@acme.example", "correct horse battery")
	history := team.get("acme", "/clients/"+c.ana.ID+"/consents")
	if !strings.Contains(history.Body, "Customer portal") || !strings.Contains(history.Body, "Ana García") {
		t.Errorf("the team's consent history does not show the portal changes by Ana: %s", snippet(history.Body))
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestPortalPreferredChannel checks the preferred channel form.
func TestPortalPreferredChannel(t *testing.T) {
	t.Parallel()
	c := ptConversations(t)
	ctx := context.Background()
	b := ptSignIn(t, c.e, c.ws, "ana@example.com")
	for _, tt := range []struct {
		name       string
		value      string
		wantStatus int
		want       string
	}{
		{name: "OKWhatsApp", value: "whatsapp", wantStatus: 303, want: "whatsapp"},
		{name: "ErrUnknown", value: "fax", wantStatus: 422, want: "whatsapp"},
		{name: "ErrInternal", value: "internal", wantStatus: 422, want: "whatsapp"},
		{name: "OKNone", value: "", wantStatus: 303, want: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := b.post("acme", "/portal/preferences/channel", url.Values{"preferred_channel": {tt.value}})
			if res.Status != tt.wantStatus {
				t.Fatalf("got %d, want %d", res.Status, tt.wantStatus)
			}
			if tt.wantStatus == 422 && res.Doc(t).Find(`[data-testid=error-preferred_channel]`).Length() != 1 {
				t.Errorf("no error next to the field")
			}
			cl, err := c.e.db(c.ws).ClientByID(ctx, c.ana.ID)
			if err != nil {
				t.Fatal(err)
			}
			if cl.Preferences.Channel != tt.want {
				t.Errorf("preferred channel: got %q, want %q", cl.Preferences.Channel, tt.want)
			}
		})
	}
	evs, _, err := c.e.db(c.ws).ClientTimeline(ctx, c.ana.ID, app.TimelineFilter{Type: app.EventProfileUpdated})
	if err != nil || len(evs) != 2 || evs[0].Actor.Type != app.ActorClient {
		t.Errorf("profile updates: got %d (%v), want 2 by the client", len(evs), err)
	}
}

// TestPortalExports checks copies of the client's data: only her own are
// listed and downloaded (logged with her as actor), and she may ask for a
// new one once a day.
func TestPortalExports(t *testing.T) {
	t.Parallel()
	c := ptConversations(t)
	ctx := context.Background()
	db := c.e.db(c.ws)
	build := func(clientID string, actor app.Actor) tenantdb.Export {
		ex, err := db.RequestExport(ctx, clientID, actor)
		if err != nil {
			t.Fatal(err)
		}
		if ex, err = db.BuildExport(ctx, ex.ID); err != nil || ex.Status != tenantdb.ExportReady {
			t.Fatalf("build export: %v %v", ex.Status, err)
		}
		return ex
	}
	anas := build(c.ana.ID, app.CLIActor)
	bobs := build(c.bob.ID, app.CLIActor)
	b := ptSignIn(t, c.e, c.ws, "ana@example.com")

	page := b.get("acme", "/portal/data")
	doc := page.Doc(t)
	if n := doc.Find(`[data-testid=portal-export]`).Length(); n != 1 {
		t.Fatalf("exports listed: got %d, want 1", n)
	}
	if href := doc.Find(`[data-testid=portal-export-download]`).AttrOr("href", ""); href != "/portal/data/exports/"+anas.ID {
		t.Errorf("download link: got %q", href)
	}
	missing := b.get("acme", "/portal/data/exports/01JZZZZZZZZZZZZZZZZZZZZZZZ")
	for _, tt := range []struct {
		name       string
		id         string
		wantStatus int
	}{
		{name: "OKHers", id: anas.ID, wantStatus: 200},
		{name: "ErrBobs", id: bobs.ID, wantStatus: 404},
		{name: "ErrUnknown", id: "01JZZZZZZZZZZZZZZZZZZZZZZZ", wantStatus: 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := b.get("acme", "/portal/data/exports/"+tt.id)
			if res.Status != tt.wantStatus {
				t.Fatalf("got %d, want %d", res.Status, tt.wantStatus)
			}
			if tt.wantStatus == 404 && stripNonce(res.Body) != stripNonce(missing.Body) {
				t.Errorf("404 differs from an unknown id's")
			}
			if tt.wantStatus == 200 && (res.Header.Get("Content-Type") != "application/zip" || !strings.HasPrefix(res.Body, "PK")) {
				t.Errorf("download: got %q, %q…", res.Header.Get("Content-Type"), res.Body[:min(4, len(res.Body))])
			}
		})
	}
	ex, err := db.ExportByID(ctx, anas.ID)
	if err != nil || ex.Downloads != 1 {
		t.Errorf("downloads: got %d (%v), want 1", ex.Downloads, err)
	}
	evs, _, err := db.ClientTimeline(ctx, c.ana.ID, app.TimelineFilter{Type: app.EventExportDownloaded})
	if err != nil || len(evs) != 1 || evs[0].Actor.Type != app.ActorClient || evs[0].Actor.ID != c.ana.ID {
		t.Errorf("download events: got %+v (%v), want one by the client", evs, err)
	}

	res := b.post("acme", "/portal/data/exports", nil)
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/portal/data?done=requested" {
		t.Fatalf("ask for a copy: got %d to %q", res.Status, res.Header.Get("Location"))
	}
	list, err := db.ClientExports(ctx, c.ana.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("exports: got %d (%v), want 2", len(list), err)
	}
	mine := list[0]
	if mine.Status != tenantdb.ExportPending || mine.RequestedBy.Type != app.ActorClient || mine.RequestedBy.ID != c.ana.ID {
		t.Errorf("requested export: got %s by %+v, want pending by the client", mine.Status, mine.RequestedBy)
	}
	c.m.mu.Lock()
	queued := append([]string(nil), c.m.exports...)
	c.m.mu.Unlock()
	if len(queued) != 1 || queued[0] != mine.ID {
		t.Errorf("export jobs: got %v, want [%s]", queued, mine.ID)
	}
	pending := b.get("acme", "/portal/data?done=requested")
	if pending.Doc(t).Find(`#exports[hx-trigger]`).Length() != 1 || pending.Doc(t).Find(`[data-testid=portal-export-form]`).Length() != 0 {
		t.Errorf("while pending: want the list refreshing itself and no request button")
	}
	refresh := b.send(inboxRequest{method: "GET", path: "/portal/data", target: "exports", page: "/portal/data"})
	if refresh.Status != 200 || strings.Contains(refresh.Body, "<html") || !strings.HasPrefix(strings.TrimSpace(refresh.Body), `<section id="exports"`) {
		t.Errorf("the list refreshing itself: got %d, want the list alone: %s", refresh.Status, snippet(refresh.Body))
	}
	if res := b.post("acme", "/portal/data/exports", nil); res.Status != http.StatusTooManyRequests {
		t.Errorf("ask again while pending: got %d, want 429", res.Status)
	}
	if _, err := db.BuildExport(ctx, mine.ID); err != nil {
		t.Fatal(err)
	}
	c.e.clock.Advance(23 * time.Hour)
	b = ptSignIn(t, c.e, c.ws, "ana@example.com") // the old session idled out
	again := b.post("acme", "/portal/data/exports", nil)
	if again.Status != http.StatusTooManyRequests || again.Doc(t).Find(`[data-testid=portal-export-wait]`).Length() != 1 {
		t.Errorf("ask again within a day: got %d, want 429 saying when", again.Status)
	}
	c.e.clock.Advance(time.Hour)
	if res := b.post("acme", "/portal/data/exports", nil); res.Status != http.StatusSeeOther {
		t.Errorf("ask again a day later: got %d, want 303", res.Status)
	}
	if list, _ := db.ClientExports(ctx, c.bob.ID); len(list) != 1 {
		t.Errorf("Bob's exports: got %d, want 1", len(list))
	}
}

// TestPortalTwoWorkspaces checks that the same address in two workspaces
// is two clients with two portals that share nothing.
func TestPortalTwoWorkspaces(t *testing.T) {
	t.Parallel()
	e, _, acme := ptEnv(t)
	globex := e.workspace("globex")
	ptSandbox(t, e, globex)
	ctx := context.Background()
	for _, w := range []*tenantdb.Workspace{acme, globex} {
		chs, _ := e.db(w).ListChannels(ctx)
		ptClient(t, e, w, "Ana", "García", "ana@example.com")
		if _, _, err := e.db(w).ReceiveMessage(ctx, app.InboundMessage{ChannelID: chs[0].ID, ProviderMessageID: "x",
			From: app.ContactInput{Type: app.ContactEmail, Value: "ana@example.com"}, Text: "Hello " + w.Tenant.Slug}); err != nil {
			t.Fatal(err)
		}
	}
	b := ptSignIn(t, e, acme, "ana@example.com")
	_, texts := ptMessages(t, b.get("acme", "/portal"))
	if strings.Join(texts, ",") != "Hello acme" {
		t.Errorf("acme portal shows %v, want only acme's message", texts)
	}
	if res := b.get("globex", "/portal"); res.Status != http.StatusSeeOther {
		t.Errorf("globex portal with acme's sign-in: got %d, want 303", res.Status)
	}
	if got := len(ptOutbox(t, e, globex, "ana@example.com")); got != 0 {
		t.Errorf("signing in to acme mailed globex's outbox %d times", got)
	}
	b.ptRequest("globex", "ana@example.com", "192.0.2.1")
	if res := b.post("globex", ptLink(t, e, globex, "ana@example.com"), nil); res.Status != http.StatusSeeOther {
		t.Fatalf("sign in to globex: got %d", res.Status)
	}
	_, texts = ptMessages(t, b.get("globex", "/portal"))
	if strings.Join(texts, ",") != "Hello globex" {
		t.Errorf("globex portal shows %v, want only globex's message", texts)
	}
	if _, texts = ptMessages(t, b.get("acme", "/portal")); strings.Join(texts, ",") != "Hello acme" {
		t.Errorf("acme portal after signing in to globex shows %v", texts)
	}
	acmeLink := ptLink(t, e, acme, "ana@example.com")
	if res := e.browser().get("globex", acmeLink); res.Status != http.StatusGone {
		t.Errorf("acme's link on globex: got %d, want 410", res.Status)
	}
}

// TestPortalReplyRateLimit: a signed-in client may send 20 messages at
// once, then one every 10 seconds; a refused one keeps its text.
func TestPortalReplyRateLimit(t *testing.T) {
	t.Parallel()
	c := ptConversations(t)
	b := ptSignIn(t, c.e, c.ws, "ana@example.com")
	post := func(i int) response {
		return b.send(inboxRequest{method: "POST", path: "/portal/messages",
			form: url.Values{"text": {fmt.Sprintf("Message %d", i)}, "key": {fmt.Sprintf("k%021d", i)}}})
	}
	for i := range 20 {
		if res := post(i); res.Status != http.StatusSeeOther {
			t.Fatalf("message %d: got %d, want 303: %s", i, res.Status, snippet(res.Body))
		}
	}
	res := post(20)
	if res.Status != http.StatusUnprocessableEntity || res.Doc(t).Find(`[data-testid=portal-error]`).Length() == 0 {
		t.Fatalf("message 21: got %d, want 422 with the reason: %s", res.Status, snippet(res.Body))
	}
	if !strings.Contains(res.Doc(t).Find(`#p-text`).Text(), "Message 20") {
		t.Error("the refused form lost its text")
	}
	c.e.clock.Advance(10 * time.Second)
	if res := post(21); res.Status != http.StatusSeeOther {
		t.Errorf("after 10 s: got %d, want 303", res.Status)
	}
}
