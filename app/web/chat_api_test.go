package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"

	"parley/app"
	"parley/app/web"
	"parley/tenantdb"
)

// chatAPIDelivery is a fake delivery queue: it records each message handed
// to it, so tests can tell a send enqueued once and a note never.
type chatAPIDelivery struct {
	mu  sync.Mutex
	ids []string
}

func (d *chatAPIDelivery) EnqueueSend(_ context.Context, _, messageID string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ids = append(d.ids, messageID)
	return nil
}

func (d *chatAPIDelivery) RetryReport(context.Context, string, app.StatusReport) error { return nil }

// count is how many times id was enqueued; "" counts every message.
func (d *chatAPIDelivery) count(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, got := range d.ids {
		if id == "" || got == id {
			n++
		}
	}
	return n
}

// chatAPIEnv is a workspace "acme" with an admin token and, unless asked
// otherwise, the sandbox channel connected.
type chatAPIEnv struct {
	e       *env
	ws      *tenantdb.Workspace
	db      *tenantdb.DB
	a       apiClient
	sent    *chatAPIDelivery
	sandbox app.Channel
}

func chatAPISetup(t *testing.T, withSandbox bool) *chatAPIEnv {
	t.Helper()
	sent := &chatAPIDelivery{}
	e := setup(t, func(c *web.Config) { c.Delivery = sent })
	ws := e.workspace("acme")
	c := &chatAPIEnv{e: e, ws: ws, db: e.db(ws), a: e.apiClient(ws, app.RoleAdmin), sent: sent}
	if withSandbox {
		c.connectSandbox(t)
	}
	return c
}

func (c *chatAPIEnv) connectSandbox(t *testing.T) {
	t.Helper()
	ch, err := c.db.ConnectChannel(context.Background(), app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	c.sandbox = ch
}

// Shapes the tests read; the conformance test checks the full shapes.
type (
	chatAPIChat struct {
		ID             string     `json:"id"`
		ClientID       string     `json:"client_id"`
		ClientName     string     `json:"client_name"`
		Status         string     `json:"status"`
		SnoozedUntil   *time.Time `json:"snoozed_until"`
		AssigneeID     string     `json:"assignee_id"`
		AssigneeName   string     `json:"assignee_name"`
		UnreadCount    int        `json:"unread_count"`
		MessageCount   int        `json:"message_count"`
		LastTransport  string     `json:"last_transport"`
		ReplyContactID string     `json:"reply_contact_id"`
		Members        []struct {
			Kind      string `json:"kind"`
			UserID    string `json:"user_id"`
			ContactID string `json:"contact_id"`
			Transport string `json:"transport"`
		} `json:"members"`
	}
	chatAPIChatList struct {
		Data       []chatAPIChat `json:"data"`
		NextCursor *string       `json:"next_cursor"`
	}
	chatAPIMessage struct {
		ID            string `json:"id"`
		ChatID        string `json:"chat_id"`
		Kind          string `json:"kind"`
		Direction     string `json:"direction"`
		Transport     string `json:"transport"`
		ContactID     string `json:"contact_id"`
		ContactValue  string `json:"contact_value"`
		Text          string `json:"text"`
		TemplateID    string `json:"template_id"`
		Marketing     bool   `json:"marketing"`
		Status        string `json:"status"`
		FailureReason string `json:"failure_reason"`
		Sender        struct {
			Type string `json:"type"`
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"sender"`
		Mentions []string `json:"mentions"`
	}
	chatAPIMessageList struct {
		Data       []chatAPIMessage `json:"data"`
		HasMore    bool             `json:"has_more"`
		NextCursor *string          `json:"next_cursor"`
	}
	chatAPISearchList struct {
		Data []struct {
			Message      chatAPIMessage `json:"message"`
			ClientName   string         `json:"client_name"`
			SnippetParts []struct {
				Text  string `json:"text"`
				Match bool   `json:"match"`
			} `json:"snippet_parts"`
		} `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}
)

// inbound has a customer write through the sandbox and returns the message.
func (c *chatAPIEnv) inbound(t *testing.T, typ, value, text, providerID string) chatAPIMessage {
	t.Helper()
	res := c.a.call("POST", "/api/v1/sandbox/inbound", map[string]any{
		"from": map[string]any{"type": typ, "value": value}, "text": text, "provider_message_id": providerID})
	if res.Status != http.StatusCreated {
		t.Fatalf("inbound %q: got %d, want 201; body: %s", text, res.Status, snippet(res.Body))
	}
	return decode[chatAPIMessage](t, res)
}

// chat reads a chat as the admin sees it.
func (c *chatAPIEnv) chat(t *testing.T, id string) chatAPIChat {
	t.Helper()
	res := c.a.call("GET", "/api/v1/chats/"+id, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("get chat %s: got %d; body: %s", id, res.Status, snippet(res.Body))
	}
	return decode[chatAPIChat](t, res)
}

// start opens the chat of a client through the API.
func (c *chatAPIEnv) start(t *testing.T, clientID string) chatAPIChat {
	t.Helper()
	res := c.a.call("POST", "/api/v1/clients/"+clientID+"/chat", nil)
	if res.Status != http.StatusCreated && res.Status != http.StatusOK {
		t.Fatalf("start chat: got %d; body: %s", res.Status, snippet(res.Body))
	}
	return decode[chatAPIChat](t, res)
}

// send posts body to a chat and fails the test unless it answers want.
func (c *chatAPIEnv) send(t *testing.T, chatID string, body map[string]any, want int) chatAPIMessage {
	t.Helper()
	res := c.a.call("POST", "/api/v1/chats/"+chatID+"/messages", body)
	if res.Status != want {
		t.Fatalf("send: got %d, want %d; body: %s", res.Status, want, snippet(res.Body))
	}
	return decode[chatAPIMessage](t, res)
}

// colleague adds a team member with role and returns their id.
func (c *chatAPIEnv) colleague(t *testing.T, email string, role app.Role) string {
	t.Helper()
	u, err := c.db.CreateUser(context.Background(), app.NewUser{Email: email, Name: "Colleague " + email,
		Password: "correct horse battery", Role: role}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// state is everything a refused request must leave as it was: the newest
// event and the clients (apiClient.state), what was enqueued, and each
// named chat with its messages.
func (c *chatAPIEnv) state(chats ...string) string {
	out := []string{c.a.state(), strconv.Itoa(c.sent.count(""))}
	for _, id := range chats {
		out = append(out, c.a.call("GET", "/api/v1/chats/"+id, nil).Body,
			c.a.call("GET", "/api/v1/chats/"+id+"/messages?limit=200", nil).Body)
	}
	return strings.Join(out, "\n")
}

// chatAPIRun sends each case as caller. A refused request must change
// nothing: the state of the chats in watch is compared before and after.
func chatAPIRun(t *testing.T, c *chatAPIEnv, caller apiClient, cases []apiCase, watch ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := ""
			if tc.status >= 400 {
				before = c.state(watch...)
			}
			res := caller.call(tc.method, tc.path, tc.body)
			if res.Status != tc.status {
				t.Fatalf("%s %s: got %d, want %d; body: %s", tc.method, tc.path, res.Status, tc.status, snippet(res.Body))
			}
			if tc.text != "" && !strings.Contains(res.Body, tc.text) {
				t.Errorf("body: got %s, want it to contain %q", snippet(res.Body), tc.text)
			}
			if tc.status < 400 {
				return
			}
			e := decode[apiErrorRes](t, res)
			if tc.field != "" && !slices.ContainsFunc(e.Error.Fields, func(f app.FieldError) bool { return f.Field == tc.field }) {
				t.Errorf("error fields: got %+v, want one naming %q", e.Error.Fields, tc.field)
			}
			if e.Error.Ref != tc.ref {
				t.Errorf("error ref: got %q, want %q", e.Error.Ref, tc.ref)
			}
			if after := c.state(watch...); after != before {
				t.Errorf("a refused request changed something:\nbefore: %s\nafter:  %s", snippet(before), snippet(after))
			}
		})
	}
}

const chatAPINever = "01JNEVEREXISTEDAAAAAAAAAAA"

func TestChatAPISandboxInbound(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, false)
	const path = "/api/v1/sandbox/inbound"
	body := func(change func(m map[string]any)) map[string]any {
		m := map[string]any{"from": map[string]any{"type": "email", "value": "Zoe@Example.com"}, "text": "Hi, is my order on its way?",
			"provider_message_id": "sbx-1", "sender_name": "Zoe Quinn"}
		if change != nil {
			change(m)
		}
		return m
	}
	chatAPIRun(t, c, c.a, []apiCase{
		{name: "ErrNoSandboxChannel", method: "POST", path: path, body: body(nil), status: 409,
			text: "Connect the sandbox channel in Settings → Channels first."},
	})
	c.connectSandbox(t)
	chatAPIRun(t, c, c.a, []apiCase{
		{name: "ErrFromTypeOther", method: "POST", path: path, body: body(func(m map[string]any) {
			m["from"] = map[string]any{"type": "other", "value": "x"}
		}), status: 422, field: "from.type"},
		{name: "ErrFromTypeUnknown", method: "POST", path: path, body: body(func(m map[string]any) {
			m["from"] = map[string]any{"type": "fax", "value": "x"}
		}), status: 422, field: "from.type"},
		{name: "ErrBadEmail", method: "POST", path: path, body: body(func(m map[string]any) {
			m["from"] = map[string]any{"type": "email", "value": "zoe@"}
		}), status: 422, field: "from.value"},
		{name: "ErrBadPhone", method: "POST", path: path, body: body(func(m map[string]any) {
			m["from"] = map[string]any{"type": "phone", "value": "12"}
		}), status: 422, field: "from.value"},
		{name: "ErrProviderIDRequired", method: "POST", path: path, body: body(func(m map[string]any) { m["provider_message_id"] = " " }),
			status: 422, field: "provider_message_id"},
		{name: "ErrTextRequired", method: "POST", path: path, body: body(func(m map[string]any) { m["text"] = "  " }),
			status: 422, field: "text"},
		{name: "ErrUnknownField", method: "POST", path: path, body: body(func(m map[string]any) { m["channel_id"] = "x" }),
			status: 422, field: "channel_id"},
		{name: "ErrUnknownNestedField", method: "POST", path: path, body: body(func(m map[string]any) {
			m["from"] = map[string]any{"type": "email", "value": "zoe@example.com", "label": "home"}
		}), status: 422, field: "label"},
		{name: "OK", method: "POST", path: path, body: body(nil), status: 201, text: `"provider_message_id":"sbx-1"`},
		// The same provider id again (even with another text) is the same
		// message: 200, nothing written.
		{name: "Repeat", method: "POST", path: path, body: body(func(m map[string]any) { m["text"] = "resent" }), status: 200,
			text: `"text":"Hi, is my order on its way?"`},
	})

	first := c.a.call("POST", path, body(nil))
	again := c.a.call("POST", path, body(nil))
	m1, m2 := decode[chatAPIMessage](t, first), decode[chatAPIMessage](t, again)
	if first.Status != http.StatusOK || again.Status != http.StatusOK || m1.ID != m2.ID || m1.ID == "" {
		t.Fatalf("repeats: got %d %s and %d %s, want 200 with one id", first.Status, m1.ID, again.Status, m2.ID)
	}
	if loc := again.Header.Get("Location"); loc != "/api/v1/messages/"+m1.ID {
		t.Errorf("Location: got %q", loc)
	}
	if m1.Direction != "in" || m1.Kind != "message" || m1.Status != "received" || m1.Transport != "email" ||
		m1.ContactValue != "zoe@example.com" || m1.Sender.Type != "client" {
		t.Errorf("inbound message: got %+v", m1)
	}
	chat := c.chat(t, m1.ChatID)
	if chat.MessageCount != 1 || chat.UnreadCount != 1 || chat.ClientName != "Zoe Quinn" || chat.LastTransport != "email" {
		t.Errorf("chat after repeats: got %+v, want one unread message from Zoe Quinn", chat)
	}
	list := decode[chatAPIMessageList](t, c.a.call("GET", "/api/v1/chats/"+m1.ChatID+"/messages", nil))
	if len(list.Data) != 1 || list.Data[0].ID != m1.ID {
		t.Errorf("messages: got %+v, want the one message", list.Data)
	}
	// A known sender's new message lands in the same chat.
	m3 := c.inbound(t, "email", "zoe@example.com", "Any news?", "sbx-2")
	if m3.ChatID != m1.ChatID {
		t.Errorf("second message chat: got %s, want %s", m3.ChatID, m1.ChatID)
	}
}

func TestChatAPIList(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, true)
	mail := c.inbound(t, "email", "ann@example.com", "Hello by email", "l-1")
	tg := c.inbound(t, "telegram", "@bob_t", "Hello on Telegram", "l-2")
	sms := c.inbound(t, "phone", "+44 7911 123456", "Hello by text", "l-3")
	admin := c.ws.Admin.ID
	if res := c.a.call("PATCH", "/api/v1/chats/"+tg.ChatID, map[string]any{"assignee_id": admin, "status": "resolved"}); res.Status != 200 {
		t.Fatalf("patch: got %d %s", res.Status, res.Body)
	}
	if res := c.a.call("POST", "/api/v1/chats/"+sms.ChatID+"/read", nil); res.Status != 200 {
		t.Fatalf("read: got %d %s", res.Status, res.Body)
	}
	mailChat := c.chat(t, mail.ChatID)

	ids := func(q string) []string {
		t.Helper()
		res := c.a.call("GET", "/api/v1/chats"+q, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("list %s: got %d %s", q, res.Status, res.Body)
		}
		var out []string
		for _, ch := range decode[chatAPIChatList](t, res).Data {
			out = append(out, ch.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"All", "", []string{sms.ChatID, tg.ChatID, mail.ChatID}},
		{"StatusOpen", "?status=open", []string{sms.ChatID, mail.ChatID}},
		{"StatusResolved", "?status=resolved", []string{tg.ChatID}},
		{"AssigneeUser", "?assignee=" + admin, []string{tg.ChatID}},
		{"AssigneeNone", "?assignee=none", []string{sms.ChatID, mail.ChatID}},
		{"Unread", "?unread=true", []string{tg.ChatID, mail.ChatID}},
		{"UnreadFalse", "?unread=false", []string{sms.ChatID, tg.ChatID, mail.ChatID}},
		{"Transport", "?transport=telegram", []string{tg.ChatID}},
		{"TransportSMS", "?transport=sms", []string{sms.ChatID}},
		{"Client", "?client_id=" + mailChat.ClientID, []string{mail.ChatID}},
		{"Combined", "?status=open&unread=true", []string{mail.ChatID}},
		{"UnknownClient", "?client_id=" + chatAPINever, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("Pages", func(t *testing.T) {
		first := decode[chatAPIChatList](t, c.a.call("GET", "/api/v1/chats?limit=2", nil))
		if len(first.Data) != 2 || first.NextCursor == nil {
			t.Fatalf("first page: got %d chats, cursor %v", len(first.Data), first.NextCursor)
		}
		second := decode[chatAPIChatList](t, c.a.call("GET", "/api/v1/chats?limit=2&cursor="+*first.NextCursor, nil))
		if len(second.Data) != 1 || second.NextCursor != nil || second.Data[0].ID != mail.ChatID {
			t.Errorf("second page: got %+v, cursor %v, want the email chat and no cursor", second.Data, second.NextCursor)
		}
		if res := c.a.call("GET", "/api/v1/chats", nil); !strings.Contains(res.Body, `"next_cursor":null`) {
			t.Errorf("last page: want next_cursor null, got %s", snippet(res.Body))
		}
	})

	chatAPIRun(t, c, c.a, []apiCase{
		{name: "ErrBadStatus", method: "GET", path: "/api/v1/chats?status=closed", status: 422, field: "status"},
		{name: "ErrAssigneeMe", method: "GET", path: "/api/v1/chats?assignee=me", status: 422, field: "assignee", text: "none"},
		{name: "ErrBadUnread", method: "GET", path: "/api/v1/chats?unread=maybe", status: 422, field: "unread"},
		{name: "ErrBadTransport", method: "GET", path: "/api/v1/chats?transport=pigeon", status: 422, field: "transport"},
		{name: "ErrLimitZero", method: "GET", path: "/api/v1/chats?limit=0", status: 422, field: "limit"},
		{name: "ErrLimitTooBig", method: "GET", path: "/api/v1/chats?limit=201", status: 422, field: "limit"},
		{name: "ErrBadCursor", method: "GET", path: "/api/v1/chats?cursor=not-a-cursor", status: 422, field: "cursor"},
		{name: "ErrSeveral", method: "GET", path: "/api/v1/chats?status=closed&limit=x", status: 422, field: "limit", text: `"field":"status"`},
		{name: "EmptyWhenNothingMatches", method: "GET", path: "/api/v1/chats?assignee=" + chatAPINever, status: 200, text: `{"data":[],"next_cursor":null}`},
	}, mail.ChatID)
}

func TestChatAPIGetAndMerged(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, true)
	first := c.inbound(t, "email", "kai@example.com", "First address", "g-1")
	second := c.inbound(t, "email", "kai.other@example.com", "Second address", "g-2")
	keep, gone := c.chat(t, first.ChatID), c.chat(t, second.ChatID)
	if len(keep.Members) != 1 || keep.Members[0].Kind != "client" || keep.Members[0].ContactID != first.ContactID ||
		keep.Members[0].Transport != "email" {
		t.Errorf("members: got %+v, want the client through their email", keep.Members)
	}
	res := c.a.call("GET", "/api/v1/chats/"+keep.ID, nil)
	for _, key := range []string{`"snoozed_until":null`, `"assignee_id":""`, `"reply_contact_id":"` + first.ContactID + `"`} {
		if !strings.Contains(res.Body, key) {
			t.Errorf("chat body lacks %s: %s", key, snippet(res.Body))
		}
	}

	// The same person wrote from two addresses: merging the clients folds
	// the second chat into the first.
	if res := c.a.call("POST", "/api/v1/clients/"+keep.ClientID+"/merge", map[string]any{"other_id": gone.ClientID}); res.Status != 200 {
		t.Fatalf("merge: got %d %s", res.Status, res.Body)
	}
	if got := c.chat(t, keep.ID); got.MessageCount != 2 || got.UnreadCount != 2 {
		t.Errorf("survivor chat: got %d messages, %d unread, want 2 and 2", got.MessageCount, got.UnreadCount)
	}
	for _, tc := range []struct {
		method, path, location string
		body                   any
	}{
		{"GET", "/api/v1/chats/" + gone.ID, "/api/v1/chats/" + keep.ID, nil},
		{"GET", "/api/v1/chats/" + gone.ID + "/messages?limit=5", "/api/v1/chats/" + keep.ID + "/messages?limit=5", nil},
		// Writes name the survivor but carry no Location an HTTP client
		// would follow as a GET.
		{"POST", "/api/v1/chats/" + gone.ID + "/messages", "", map[string]any{"text": "late"}},
		{"POST", "/api/v1/chats/" + gone.ID + "/read", "", nil},
		{"PATCH", "/api/v1/chats/" + gone.ID, "", map[string]any{"status": "resolved"}},
	} {
		res := c.a.call(tc.method, tc.path, tc.body)
		if res.Status != http.StatusMovedPermanently || res.Header.Get("Location") != tc.location {
			t.Errorf("%s %s: got %d Location %q, want 301 Location %q", tc.method, tc.path, res.Status, res.Header.Get("Location"), tc.location)
		}
		if e := decode[apiErrorRes](t, res); e.Error.Code != "moved" || e.Error.Ref != keep.ID {
			t.Errorf("%s %s: got %+v, want moved with ref %s", tc.method, tc.path, e, keep.ID)
		}
	}
	msgs := decode[chatAPIMessageList](t, c.a.call("GET", "/api/v1/chats/"+keep.ID+"/messages", nil))
	if !slices.ContainsFunc(msgs.Data, func(m chatAPIMessage) bool { return m.ID == second.ID }) {
		t.Errorf("survivor messages lack the merged chat's: %+v", msgs.Data)
	}

	chatAPIRun(t, c, c.a, []apiCase{
		{name: "ErrUnknown", method: "GET", path: "/api/v1/chats/" + chatAPINever, status: 404, text: `"code":"not_found"`},
	}, keep.ID)
}

func TestChatAPIMessages(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, true)
	var sent []chatAPIMessage
	for i := range 5 {
		sent = append(sent, c.inbound(t, "email", "lia@example.com", "Message "+strconv.Itoa(i), "m-"+strconv.Itoa(i)))
	}
	other := c.inbound(t, "email", "max@example.com", "Elsewhere", "m-x")
	chatID := sent[0].ChatID
	path := "/api/v1/chats/" + chatID + "/messages"

	var got []string
	before := ""
	for page := 0; ; page++ {
		q := "?limit=2"
		if before != "" {
			q += "&before=" + before
		}
		list := decode[chatAPIMessageList](t, c.a.call("GET", path+q, nil))
		var texts []string
		for _, m := range list.Data {
			texts = append(texts, m.Text)
		}
		got = append(texts, got...)
		if !list.HasMore {
			if list.NextCursor != nil {
				t.Errorf("last page: got cursor %q, want null", *list.NextCursor)
			}
			break
		}
		if list.NextCursor == nil || *list.NextCursor != list.Data[0].ID {
			t.Fatalf("page %d: cursor %v, want the id of its first (oldest) message", page, list.NextCursor)
		}
		before = *list.NextCursor
		if page > 5 {
			t.Fatal("pages never end")
		}
	}
	if want := []string{"Message 0", "Message 1", "Message 2", "Message 3", "Message 4"}; !slices.Equal(got, want) {
		t.Errorf("messages over all pages: got %v, want %v", got, want)
	}

	chatAPIRun(t, c, c.a, []apiCase{
		{name: "OK", method: "GET", path: path, status: 200, text: `"has_more":false,"next_cursor":null`},
		{name: "ErrBeforeUnknown", method: "GET", path: path + "?before=nope", status: 422, field: "before"},
		{name: "ErrBeforeOfOtherChat", method: "GET", path: path + "?before=" + other.ID, status: 422, field: "before"},
		{name: "ErrLimitZero", method: "GET", path: path + "?limit=0", status: 422, field: "limit"},
		{name: "ErrLimitNotNumber", method: "GET", path: path + "?limit=ten", status: 422, field: "limit"},
		{name: "ErrUnknownChat", method: "GET", path: "/api/v1/chats/" + chatAPINever + "/messages", status: 404},
	}, chatID)
}

func TestChatAPISend(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, true)
	bo := c.a.create(map[string]any{"first_name": "Bo", "contacts": []map[string]any{
		{"type": "email", "value": "bo@example.com"}, {"type": "other", "value": "pager 7"}}})
	stranger := c.a.create(map[string]any{"first_name": "Cy", "contacts": []map[string]any{{"type": "email", "value": "cy@example.com"}}})
	nobody := c.a.create(map[string]any{"first_name": "Dee"})
	chat, silent := c.start(t, bo.ID), c.start(t, nobody.ID)
	tpl := decode[app.Template](t, c.a.call("POST", "/api/v1/templates", map[string]any{"name": "Hi", "body": "Hello there!"}))
	path := "/api/v1/chats/" + chat.ID + "/messages"

	chatAPIRun(t, c, c.a, []apiCase{
		{name: "ErrTextRequired", method: "POST", path: path, body: map[string]any{"text": "  \n "}, status: 422, field: "text"},
		{name: "ErrTextMissing", method: "POST", path: path, body: map[string]any{}, status: 422, field: "text"},
		{name: "ErrTextTooLong", method: "POST", path: path, body: map[string]any{"text": strings.Repeat("x", app.MaxMessageText+1)},
			status: 422, field: "text"},
		{name: "ErrTextNotString", method: "POST", path: path, body: map[string]any{"text": 5}, status: 422, field: "text"},
		{name: "ErrUnknownField", method: "POST", path: path, body: map[string]any{"text": "Hi", "subject": "x"}, status: 422, field: "subject"},
		{name: "ErrUnknownTemplate", method: "POST", path: path, body: map[string]any{"text": "Hi", "template_id": chatAPINever},
			status: 422, field: "template_id"},
		{name: "ErrOtherClientsContact", method: "POST", path: path, body: map[string]any{"text": "Hi", "contact_id": stranger.Contacts[0].ID},
			status: 422, field: "contact_id"},
		{name: "ErrContactNotSendable", method: "POST", path: path, body: map[string]any{"text": "Hi", "contact_id": bo.Contacts[1].ID},
			status: 422, field: "contact_id"},
		{name: "ErrNoUsableContact", method: "POST", path: "/api/v1/chats/" + silent.ID + "/messages", body: map[string]any{"text": "Hi"},
			status: 422, field: "contact_id", text: "no contact Parley can send to"},
		{name: "ErrNoteWithContact", method: "POST", path: path, body: map[string]any{"text": "Hi", "note": true, "contact_id": bo.Contacts[0].ID},
			status: 422, field: "contact_id"},
		{name: "ErrNoteWithTemplate", method: "POST", path: path, body: map[string]any{"text": "Hi", "note": true, "template_id": tpl.ID},
			status: 422, field: "template_id"},
		{name: "ErrNoteMarketing", method: "POST", path: path, body: map[string]any{"text": "Hi", "note": true, "marketing": true},
			status: 422, field: "marketing"},
		{name: "ErrUnknownChat", method: "POST", path: "/api/v1/chats/" + chatAPINever + "/messages", body: map[string]any{"text": "Hi"},
			status: 404},
	}, chat.ID, silent.ID)
	if got := c.chat(t, chat.ID); got.MessageCount != 0 || c.sent.count("") != 0 {
		t.Fatalf("after refused sends: got %d messages, %d enqueued, want none", got.MessageCount, c.sent.count(""))
	}
	if got := decode[app.Template](t, c.a.call("GET", "/api/v1/templates/"+tpl.ID, nil)); got.Uses != 0 {
		t.Errorf("template uses after refused sends: got %d, want 0", got.Uses)
	}

	res := c.a.call("POST", path, map[string]any{"text": " Hello there! ", "template_id": tpl.ID})
	if res.Status != http.StatusAccepted {
		t.Fatalf("send: got %d, want 202; body %s", res.Status, res.Body)
	}
	m := decode[chatAPIMessage](t, res)
	if res.Header.Get("Location") != "/api/v1/messages/"+m.ID {
		t.Errorf("Location: got %q", res.Header.Get("Location"))
	}
	if m.Status != "queued" || m.Kind != "message" || m.Direction != "out" || m.Text != "Hello there!" || m.Transport != "email" ||
		m.ContactValue != "bo@example.com" || m.TemplateID != tpl.ID || m.ChatID != chat.ID {
		t.Errorf("sent message: got %+v", m)
	}
	if n := c.sent.count(m.ID); n != 1 || c.sent.count("") != 1 {
		t.Errorf("enqueued: got %d for the message (%d in all), want exactly 1", n, c.sent.count(""))
	}
	if got := decode[app.Template](t, c.a.call("GET", "/api/v1/templates/"+tpl.ID, nil)); got.Uses != 1 || got.LastUsedAt == nil {
		t.Errorf("template uses: got %d (last used %v), want 1", got.Uses, got.LastUsedAt)
	}
	if got := decode[chatAPIMessage](t, c.a.call("GET", "/api/v1/messages/"+m.ID, nil)); got.ID != m.ID || got.Status != "queued" {
		t.Errorf("get message: got %+v", got)
	}

	note := c.send(t, chat.ID, map[string]any{"text": "@admin can you call Bo?", "note": true}, http.StatusCreated)
	if note.Kind != "note" || note.Transport != "internal" || note.Status != "received" || !slices.Equal(note.Mentions, []string{c.ws.Admin.ID}) {
		t.Errorf("note: got %+v", note)
	}
	if c.sent.count(note.ID) != 0 || c.sent.count("") != 1 {
		t.Errorf("a note was enqueued: %d in all", c.sent.count(""))
	}
	// Marketing goes only to a client who consents to it on that channel.
	c.send(t, chat.ID, map[string]any{"text": "Spring sale!", "marketing": true, "contact_id": bo.Contacts[0].ID}, http.StatusUnprocessableEntity)
	if _, err := c.a.db.RecordConsent(context.Background(), bo.ID, app.ConsentInput{Purpose: app.PurposeMarketing,
		State: app.ConsentGranted, Source: app.SourceForm}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	marketing := c.send(t, chat.ID, map[string]any{"text": "Spring sale!", "marketing": true, "contact_id": bo.Contacts[0].ID}, http.StatusAccepted)
	if !marketing.Marketing || marketing.ContactID != bo.Contacts[0].ID {
		t.Errorf("marketing message: got %+v", marketing)
	}
	if got := c.chat(t, chat.ID); got.MessageCount != 3 {
		t.Errorf("message count: got %d, want 3", got.MessageCount)
	}
}

func TestChatAPIStartChat(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, true)
	eve := c.a.create(map[string]any{"first_name": "Eve", "contacts": []map[string]any{{"type": "email", "value": "eve@example.com"}}})
	twin := c.a.create(map[string]any{"first_name": "Eve", "last_name": "Twin"})
	path := "/api/v1/clients/" + eve.ID + "/chat"

	res := c.a.call("POST", path, nil)
	created := decode[chatAPIChat](t, res)
	if res.Status != http.StatusCreated || res.Header.Get("Location") != "/api/v1/chats/"+created.ID || created.ClientID != eve.ID ||
		created.Status != "open" || created.MessageCount != 0 || created.Members == nil {
		t.Fatalf("start: got %d Location %q %+v", res.Status, res.Header.Get("Location"), created)
	}
	if !strings.Contains(res.Body, `"last_transport":""`) || !strings.Contains(res.Body, `"members":[]`) {
		t.Errorf("new chat body: %s", snippet(res.Body))
	}
	res = c.a.call("POST", path, nil)
	if again := decode[chatAPIChat](t, res); res.Status != http.StatusOK || again.ID != created.ID || res.Header.Get("Location") != "" {
		t.Errorf("start again: got %d %s, want 200 with %s", res.Status, again.ID, created.ID)
	}
	if res := c.a.call("POST", "/api/v1/clients/"+eve.ID+"/merge", map[string]any{"other_id": twin.ID}); res.Status != 200 {
		t.Fatalf("merge: %d %s", res.Status, res.Body)
	}
	chatAPIRun(t, c, c.a, []apiCase{
		{name: "ErrUnknownClient", method: "POST", path: "/api/v1/clients/" + chatAPINever + "/chat", status: 404, text: "Client not found."},
		{name: "ErrMergedClient", method: "POST", path: "/api/v1/clients/" + twin.ID + "/chat", status: 301, ref: eve.ID},
		{name: "OKExisting", method: "POST", path: path, status: 200, text: `"id":"` + created.ID + `"`},
	}, created.ID)
}

func TestChatAPIUpdate(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, true)
	m := c.inbound(t, "email", "fay@example.com", "Need help", "u-1")
	path := "/api/v1/chats/" + m.ChatID
	admin := c.ws.Admin.ID
	agent := c.colleague(t, "gus@acme.example", app.RoleAgent)
	const future, past = "2026-11-24T09:00:00Z", "2026-11-22T09:00:00Z"

	chatAPIRun(t, c, c.a, []apiCase{
		{name: "ErrBadStatus", method: "PATCH", path: path, body: map[string]any{"status": "closed"}, status: 422, field: "status"},
		{name: "ErrSnoozeInPast", method: "PATCH", path: path, body: map[string]any{"status": "snoozed", "snoozed_until": past},
			status: 422, field: "snoozed_until"},
		{name: "ErrSnoozeWithoutTime", method: "PATCH", path: path, body: map[string]any{"status": "snoozed"}, status: 422, field: "snoozed_until"},
		{name: "ErrSnoozeBadTime", method: "PATCH", path: path, body: map[string]any{"status": "snoozed", "snoozed_until": "tomorrow"},
			status: 422, field: "snoozed_until"},
		{name: "ErrSnoozeTimeWithoutStatus", method: "PATCH", path: path, body: map[string]any{"snoozed_until": future},
			status: 422, field: "snoozed_until"},
		{name: "ErrUnknownAssignee", method: "PATCH", path: path, body: map[string]any{"assignee_id": chatAPINever}, status: 422, field: "assignee_id"},
		// The assignment is valid but the snooze is not: neither is saved.
		{name: "ErrAssignWithPastSnooze", method: "PATCH", path: path, body: map[string]any{"assignee_id": agent, "status": "snoozed", "snoozed_until": past},
			status: 422, field: "snoozed_until"},
		{name: "ErrUnknownField", method: "PATCH", path: path, body: map[string]any{"priority": "high"}, status: 422, field: "priority"},
		{name: "ErrStatusNotString", method: "PATCH", path: path, body: map[string]any{"status": 1}, status: 422, field: "status"},
		{name: "ErrUnknownChat", method: "PATCH", path: "/api/v1/chats/" + chatAPINever, body: map[string]any{"status": "open"}, status: 404},
		{name: "Assign", method: "PATCH", path: path, body: map[string]any{"assignee_id": agent}, status: 200,
			text: `"assignee_name":"Colleague gus@acme.example"`},
		{name: "Snooze", method: "PATCH", path: path, body: map[string]any{"status": "snoozed", "snoozed_until": "2026-11-24T10:00:00+01:00"},
			status: 200, text: `"snoozed_until":"` + future + `"`},
		{name: "ResolveAndReassign", method: "PATCH", path: path, body: map[string]any{"status": "resolved", "assignee_id": admin},
			status: 200, text: `"status":"resolved"`},
		{name: "NullsChangeNothing", method: "PATCH", path: path, body: map[string]any{"status": nil, "assignee_id": nil}, status: 200,
			text: `"assignee_id":"` + admin + `"`},
		{name: "Unassign", method: "PATCH", path: path, body: map[string]any{"assignee_id": ""}, status: 200, text: `"assignee_id":""`},
	}, m.ChatID)
	if got := c.chat(t, m.ChatID); got.Status != "resolved" || got.SnoozedUntil != nil || got.AssigneeID != "" {
		t.Errorf("chat after updates: got %+v", got)
	}
	// Each change wrote a line in the chat.
	msgs := decode[chatAPIMessageList](t, c.a.call("GET", path+"/messages", nil))
	if n := len(msgs.Data); n != 6 || msgs.Data[n-1].Kind != "system" || msgs.Data[n-1].Text != "Unassigned" {
		t.Errorf("chat lines: got %+v", msgs.Data)
	}

	sales := c.e.apiClient(c.ws, app.RoleSales)
	chatAPIRun(t, c, sales, []apiCase{
		{name: "SalesMayRead", method: "GET", path: path, status: 200},
		{name: "ErrSalesMayNotWork", method: "PATCH", path: path, body: map[string]any{"status": "open"}, status: 403, text: `"code":"forbidden"`},
	}, m.ChatID)
}

func TestChatAPIRead(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, true)
	m := c.inbound(t, "email", "gia@example.com", "One", "r-1")
	c.inbound(t, "email", "gia@example.com", "Two", "r-2")
	path := "/api/v1/chats/" + m.ChatID + "/read"
	chatAPIRun(t, c, c.a, []apiCase{
		{name: "OK", method: "POST", path: path, status: 200, text: `{"marked":2}`},
		{name: "Again", method: "POST", path: path, status: 200, text: `{"marked":0}`},
		{name: "ErrUnknownChat", method: "POST", path: "/api/v1/chats/" + chatAPINever + "/read", status: 404},
	}, m.ChatID)
	if got := c.chat(t, m.ChatID); got.UnreadCount != 0 {
		t.Errorf("unread: got %d, want 0", got.UnreadCount)
	}
}

func TestChatAPIRetry(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, true)
	in := c.inbound(t, "email", "hal@example.com", "Hello", "rt-1")
	out := c.send(t, in.ChatID, map[string]any{"text": "Hi Hal"}, http.StatusAccepted)
	note := c.send(t, in.ChatID, map[string]any{"text": "internal", "note": true}, http.StatusCreated)
	retry := func(id string) string { return "/api/v1/messages/" + id + "/retry" }

	chatAPIRun(t, c, c.a, []apiCase{
		{name: "ErrQueued", method: "POST", path: retry(out.ID), status: 409, text: "Only a failed message can be sent again."},
		{name: "ErrInbound", method: "POST", path: retry(in.ID), status: 409},
		{name: "ErrNote", method: "POST", path: retry(note.ID), status: 409},
		{name: "ErrUnknown", method: "POST", path: retry(chatAPINever), status: 404},
	}, in.ChatID)

	if err := c.db.RecordSendFailed(context.Background(), out.ID, "The mailbox is full."); err != nil {
		t.Fatal(err)
	}
	if got := decode[chatAPIMessage](t, c.a.call("GET", "/api/v1/messages/"+out.ID, nil)); got.Status != "failed" || got.FailureReason != "The mailbox is full." {
		t.Fatalf("failed message: got %+v", got)
	}
	res := c.a.call("POST", retry(out.ID), nil)
	got := decode[chatAPIMessage](t, res)
	if res.Status != http.StatusAccepted || got.Status != "queued" || got.FailureReason != "" || got.ID != out.ID {
		t.Errorf("retry: got %d %+v", res.Status, got)
	}
	if n := c.sent.count(out.ID); n != 2 {
		t.Errorf("enqueued: got %d times, want 2 (the send and the retry)", n)
	}
	if res := c.a.call("POST", retry(out.ID), nil); res.Status != http.StatusConflict {
		t.Errorf("retry of a requeued message: got %d, want 409", res.Status)
	}
}

func TestChatAPISearch(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, true)
	first := c.inbound(t, "email", "ivy@example.com", "Where is the invoice for March?", "s-1")
	c.inbound(t, "email", "jon@example.com", "Hello", "s-2")
	tagged := c.inbound(t, "email", "jon@example.com", "My <b>invoice</b> & receipt", "s-3")
	note := c.send(t, first.ChatID, map[string]any{"text": "Invoices are sent on Fridays", "note": true}, http.StatusCreated)

	res := c.a.call("GET", "/api/v1/messages/search?q=invoice", nil)
	if res.Status != http.StatusOK {
		t.Fatalf("search: got %d %s", res.Status, res.Body)
	}
	list := decode[chatAPISearchList](t, res)
	var ids []string
	for _, h := range list.Data {
		ids = append(ids, h.Message.ID)
	}
	if want := []string{note.ID, tagged.ID, first.ID}; !slices.Equal(ids, want) || list.NextCursor != nil {
		t.Fatalf("hits: got %v (cursor %v), want %v newest first", ids, list.NextCursor, want)
	}
	hit := list.Data[1]
	var joined strings.Builder
	var matched []string
	for _, p := range hit.SnippetParts {
		joined.WriteString(p.Text)
		if p.Match {
			matched = append(matched, p.Text)
		}
	}
	// The parts are plain text: no <mark>, nothing escaped.
	if joined.String() != "My <b>invoice</b> & receipt" || !slices.Equal(matched, []string{"invoice"}) || hit.ClientName == "" {
		t.Errorf("snippet: got %q matching %v (client %q)", joined.String(), matched, hit.ClientName)
	}

	page := decode[chatAPISearchList](t, c.a.call("GET", "/api/v1/messages/search?q=invoice&limit=2", nil))
	if len(page.Data) != 2 || page.NextCursor == nil || *page.NextCursor != tagged.ID {
		t.Fatalf("first page: got %d hits, cursor %v", len(page.Data), page.NextCursor)
	}
	rest := decode[chatAPISearchList](t, c.a.call("GET", "/api/v1/messages/search?q=invoice&limit=2&before="+*page.NextCursor, nil))
	if len(rest.Data) != 1 || rest.Data[0].Message.ID != first.ID || rest.NextCursor != nil {
		t.Errorf("second page: got %+v", rest)
	}

	chatAPIRun(t, c, c.a, []apiCase{
		{name: "BothWords", method: "GET", path: "/api/v1/messages/search?q=invoice+march", status: 200, text: `"id":"` + first.ID + `"`},
		{name: "NoMatch", method: "GET", path: "/api/v1/messages/search?q=zebra", status: 200, text: `{"data":[],"next_cursor":null}`},
		{name: "ErrQueryMissing", method: "GET", path: "/api/v1/messages/search", status: 422, field: "q"},
		{name: "ErrQueryNoWords", method: "GET", path: "/api/v1/messages/search?q=%21%21", status: 422, field: "q"},
		{name: "ErrLimitZero", method: "GET", path: "/api/v1/messages/search?q=invoice&limit=0", status: 422, field: "limit"},
		{name: "ErrLimitTooBig", method: "GET", path: "/api/v1/messages/search?q=invoice&limit=101", status: 422, field: "limit"},
		{name: "ErrBeforeUnknown", method: "GET", path: "/api/v1/messages/search?q=invoice&before=" + chatAPINever, status: 422, field: "before"},
	})
}

// TestChatAPIScope: a role without conversations.view_all sees unassigned
// chats only; a colleague's chat answers exactly as one that never existed.
func TestChatAPIScope(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, true)
	open := c.inbound(t, "email", "kim@example.com", "Anyone there about the parcel?", "sc-1")
	theirs := c.inbound(t, "email", "lee@example.com", "Private parcel question", "sc-2")
	colleague := c.colleague(t, "mo@acme.example", app.RoleAgent)
	if res := c.a.call("PATCH", "/api/v1/chats/"+theirs.ChatID, map[string]any{"assignee_id": colleague}); res.Status != 200 {
		t.Fatalf("assign: %d %s", res.Status, res.Body)
	}
	out := c.send(t, theirs.ChatID, map[string]any{"text": "On it"}, http.StatusAccepted)
	if err := c.db.RecordSendFailed(context.Background(), out.ID, "Bounced."); err != nil {
		t.Fatal(err)
	}
	agent := c.e.apiClient(c.ws, app.RoleAgent)

	list := decode[chatAPIChatList](t, agent.call("GET", "/api/v1/chats", nil))
	if len(list.Data) != 1 || list.Data[0].ID != open.ChatID {
		t.Errorf("agent's list: got %+v, want only the unassigned chat", list.Data)
	}
	if got := decode[chatAPIChatList](t, agent.call("GET", "/api/v1/chats?assignee="+colleague, nil)); len(got.Data) != 0 {
		t.Errorf("agent's list of the colleague's chats: got %d, want 0", len(got.Data))
	}
	search := decode[chatAPISearchList](t, agent.call("GET", "/api/v1/messages/search?q=parcel", nil))
	if len(search.Data) != 1 || search.Data[0].Message.ID != open.ID {
		t.Errorf("agent's search: got %+v, want only the unassigned chat's message", search.Data)
	}
	if res := agent.call("GET", "/api/v1/chats/"+open.ChatID, nil); res.Status != http.StatusOK {
		t.Errorf("agent reads an unassigned chat: got %d", res.Status)
	}
	lead := decode[chatAPIChatList](t, c.e.apiClient(c.ws, app.RoleLead).call("GET", "/api/v1/chats", nil))
	if len(lead.Data) != 2 {
		t.Errorf("lead's list: got %d chats, want both", len(lead.Data))
	}

	before := c.state(theirs.ChatID, open.ChatID)
	chatAPISameAsMissing(t, agent, map[string]string{"chat": theirs.ChatID, "message": out.ID})
	if after := c.state(theirs.ChatID, open.ChatID); after != before {
		t.Errorf("the agent's requests changed the colleague's chat:\n%s\n%s", snippet(before), snippet(after))
	}
}

// chatAPISameAsMissing asks every chat route about the ids in ids (a chat,
// a message and, optionally, a client) as caller, and fails unless each
// answer is exactly that for ids that never existed.
func chatAPISameAsMissing(t *testing.T, caller apiClient, ids map[string]string) {
	t.Helper()
	for _, tc := range []struct {
		name, kind, method, path string
		body                     any
	}{
		{"GetChat", "chat", "GET", "/api/v1/chats/%s", nil},
		{"PatchChat", "chat", "PATCH", "/api/v1/chats/%s", map[string]any{"status": "resolved"}},
		{"ListMessages", "chat", "GET", "/api/v1/chats/%s/messages", nil},
		{"Send", "chat", "POST", "/api/v1/chats/%s/messages", map[string]any{"text": "Hi"}},
		{"Note", "chat", "POST", "/api/v1/chats/%s/messages", map[string]any{"text": "Hi", "note": true}},
		{"Read", "chat", "POST", "/api/v1/chats/%s/read", nil},
		{"ListByClient", "chat", "GET", "/api/v1/chats?client_id=%s", nil},
		{"GetMessage", "message", "GET", "/api/v1/messages/%s", nil},
		{"Retry", "message", "POST", "/api/v1/messages/%s/retry", nil},
		{"SearchBefore", "message", "GET", "/api/v1/messages/search?q=parcel&before=%s", nil},
		{"StartChat", "client", "POST", "/api/v1/clients/%s/chat", nil},
	} {
		id, ok := ids[tc.kind]
		if !ok {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			foreign := caller.call(tc.method, strings.Replace(tc.path, "%s", id, 1), tc.body)
			missing := caller.call(tc.method, strings.Replace(tc.path, "%s", chatAPINever, 1), tc.body)
			if foreign.Status != missing.Status || foreign.Body != missing.Body {
				t.Errorf("hidden id: got %d %s\nmissing id: got %d %s", foreign.Status, foreign.Body, missing.Status, missing.Body)
			}
			if s := foreign.Status; s != http.StatusNotFound && s != http.StatusUnprocessableEntity && s != http.StatusOK {
				t.Errorf("hidden id: got %d, want 404 (422 for a cursor, an empty 200 for a filter)", s)
			}
		})
	}
}

// TestChatAPIIsolation: another workspace's chat, message and client ids
// answer exactly as ids that never existed, and are left untouched.
func TestChatAPIIsolation(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, true)
	in := c.inbound(t, "email", "ned@example.com", "Secret parcel plans", "i-1")
	out := c.send(t, in.ChatID, map[string]any{"text": "Noted"}, http.StatusAccepted)
	if err := c.db.RecordSendFailed(context.Background(), out.ID, "Bounced."); err != nil {
		t.Fatal(err)
	}
	chat := c.chat(t, in.ChatID)
	bravoWS := c.e.workspace("bravo")
	bravo := c.e.apiClient(bravoWS, app.RoleAdmin)
	before := c.state(in.ChatID)
	enqueued := c.sent.count("")

	chatAPISameAsMissing(t, bravo, map[string]string{"chat": in.ChatID, "message": out.ID, "client": chat.ClientID})
	if after := c.state(in.ChatID); after != before || c.sent.count("") != enqueued {
		t.Errorf("bravo's requests changed acme's chat:\n%s\n%s", snippet(before), snippet(after))
	}
	if got := decode[chatAPISearchList](t, bravo.call("GET", "/api/v1/messages/search?q=parcel", nil)); len(got.Data) != 0 {
		t.Errorf("bravo's search found acme's messages: %+v", got.Data)
	}
}

func TestChatAPIAuth(t *testing.T) {
	t.Parallel()
	c := chatAPISetup(t, true)
	m := c.inbound(t, "email", "oli@example.com", "Hi", "a-1")
	anon := apiClient{t: t, e: c.e, host: "acme"}
	wrong := apiClient{t: t, e: c.e, host: "acme", token: "prl_wrong"}
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/chats", nil},
		{"GET", "/api/v1/chats/" + m.ChatID, nil},
		{"PATCH", "/api/v1/chats/" + m.ChatID, map[string]any{"status": "resolved"}},
		{"POST", "/api/v1/chats/" + m.ChatID + "/messages", map[string]any{"text": "Hi"}},
		{"POST", "/api/v1/sandbox/inbound", map[string]any{"text": "Hi"}},
		{"GET", "/api/v1/messages/search?q=hi", nil},
	} {
		for name, caller := range map[string]apiClient{"NoToken": anon, "WrongToken": wrong} {
			res := caller.call(tc.method, tc.path, tc.body)
			if res.Status != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s %s: got %d, want 401 with WWW-Authenticate", name, tc.method, tc.path, res.Status)
			}
		}
	}
	if got := c.chat(t, m.ChatID); got.Status != "open" || got.MessageCount != 1 {
		t.Errorf("chat after unauthorised requests: %+v", got)
	}
}

// TestChatAPIOpenAPIConformance validates real responses of every chat
// route against the served OpenAPI document, as TestOpenAPIConformance does
// for the client routes.
func TestChatAPIOpenAPIConformance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := chatAPISetup(t, false)
	a := c.a
	res := a.call("GET", "/api/v1/openapi.json", nil)
	doc, err := openapi3.NewLoader().LoadFromData([]byte(res.Body))
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	router, err := legacyrouter.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	// ChatDetail spells out Chat's fields again (a closed schema cannot
	// extend another); the two must not drift apart.
	chat, detail := doc.Components.Schemas["Chat"].Value, doc.Components.Schemas["ChatDetail"].Value
	for name, p := range chat.Properties {
		if d, ok := detail.Properties[name]; !ok || !reflect.DeepEqual(d.Value, p.Value) {
			t.Errorf("ChatDetail.%s differs from Chat.%s", name, name)
		}
	}
	if len(detail.Properties) != len(chat.Properties)+1 || detail.Properties["members"] == nil ||
		!slices.Equal(detail.Required, append(slices.Clone(chat.Required), "members")) {
		t.Errorf("ChatDetail must be Chat with members: got properties %d, required %v", len(detail.Properties), detail.Required)
	}
	check := func(t *testing.T, caller apiClient, method, path string, body any, want int) response {
		t.Helper()
		res := caller.call(method, path, body)
		if res.Status != want {
			t.Fatalf("%s %s: got %d, want %d; body %s", method, path, res.Status, want, snippet(res.Body))
		}
		if err := validateExchange(ctx, router, caller, method, path, body, res); err != nil {
			t.Errorf("%s %s → %d does not conform to openapi.json: %v", method, path, res.Status, err)
		}
		if want >= 300 && want < 400 {
			// kin-openapi skips 3xx bodies, so they are held to their schema here.
			if err := validateBody(router, method, path, res); err != nil {
				t.Errorf("%s %s → %d body does not conform: %v", method, path, res.Status, err)
			}
		}
		return res
	}
	inbound := func(value, text, id string) map[string]any {
		return map[string]any{"from": map[string]any{"type": "email", "value": value}, "text": text, "provider_message_id": id,
			"sender_name": "Pat Doe"}
	}

	check(t, a, "POST", "/api/v1/sandbox/inbound", inbound("pat@example.com", "Hi", "c-0"), http.StatusConflict)
	c.connectSandbox(t)
	in := decode[chatAPIMessage](t, check(t, a, "POST", "/api/v1/sandbox/inbound", inbound("pat@example.com", "Where is my invoice?", "c-1"), http.StatusCreated))
	check(t, a, "POST", "/api/v1/sandbox/inbound", inbound("pat@example.com", "Where is my invoice?", "c-1"), http.StatusOK)
	check(t, a, "POST", "/api/v1/sandbox/inbound", map[string]any{"from": map[string]any{"type": "other", "value": "x"}, "text": "Hi", "provider_message_id": "c-2"}, http.StatusUnprocessableEntity)
	chatPath := "/api/v1/chats/" + in.ChatID

	tpl := decode[app.Template](t, a.call("POST", "/api/v1/templates", map[string]any{"name": "Invoice", "body": "Your invoice is attached."}))
	out := decode[chatAPIMessage](t, check(t, a, "POST", chatPath+"/messages", map[string]any{"text": "Your invoice is on its way.", "template_id": tpl.ID, "marketing": false}, http.StatusAccepted))
	check(t, a, "POST", chatPath+"/messages", map[string]any{"text": "@admin invoice query", "note": true}, http.StatusCreated)
	check(t, a, "POST", chatPath+"/messages", map[string]any{"text": ""}, http.StatusUnprocessableEntity)
	check(t, a, "POST", "/api/v1/chats/"+chatAPINever+"/messages", map[string]any{"text": "Hi"}, http.StatusNotFound)

	check(t, a, "GET", "/api/v1/chats", nil, http.StatusOK)
	check(t, a, "GET", "/api/v1/chats?status=open&unread=true&transport=email&limit=1", nil, http.StatusOK)
	check(t, a, "GET", "/api/v1/chats?assignee=me", nil, http.StatusUnprocessableEntity)
	check(t, a, "GET", chatPath, nil, http.StatusOK)
	check(t, a, "GET", "/api/v1/chats/"+chatAPINever, nil, http.StatusNotFound)
	check(t, a, "GET", chatPath+"/messages", nil, http.StatusOK)
	check(t, a, "GET", chatPath+"/messages?limit=1", nil, http.StatusOK)
	check(t, a, "GET", chatPath+"/messages?before=nope", nil, http.StatusUnprocessableEntity)
	check(t, a, "GET", "/api/v1/messages/"+out.ID, nil, http.StatusOK)
	check(t, a, "GET", "/api/v1/messages/"+chatAPINever, nil, http.StatusNotFound)
	check(t, a, "GET", "/api/v1/messages/search?q=invoice", nil, http.StatusOK)
	check(t, a, "GET", "/api/v1/messages/search?q=invoice&limit=1", nil, http.StatusOK)
	check(t, a, "GET", "/api/v1/messages/search?q=", nil, http.StatusUnprocessableEntity)
	check(t, a, "POST", chatPath+"/read", nil, http.StatusOK)
	check(t, a, "POST", "/api/v1/messages/"+out.ID+"/retry", nil, http.StatusConflict)
	if err := c.db.RecordSendFailed(ctx, out.ID, "Bounced."); err != nil {
		t.Fatal(err)
	}
	check(t, a, "GET", "/api/v1/messages/"+out.ID, nil, http.StatusOK)
	check(t, a, "POST", "/api/v1/messages/"+out.ID+"/retry", nil, http.StatusAccepted)
	check(t, a, "PATCH", chatPath, map[string]any{"assignee_id": c.ws.Admin.ID, "status": "snoozed", "snoozed_until": "2026-11-24T09:00:00Z"}, http.StatusOK)
	check(t, a, "PATCH", chatPath, map[string]any{"status": "snoozed", "snoozed_until": "2026-11-22T09:00:00Z"}, http.StatusUnprocessableEntity)
	check(t, c.e.apiClient(c.ws, app.RoleSales), "PATCH", chatPath, map[string]any{"status": "open"}, http.StatusForbidden)
	check(t, apiClient{t: t, e: c.e, host: "acme", token: "prl_wrong"}, "GET", "/api/v1/chats", nil, http.StatusUnauthorized)

	quinn := a.create(map[string]any{"first_name": "Quinn", "contacts": []map[string]any{{"type": "email", "value": "quinn@example.com"}}})
	started := decode[chatAPIChat](t, check(t, a, "POST", "/api/v1/clients/"+quinn.ID+"/chat", nil, http.StatusCreated))
	check(t, a, "POST", "/api/v1/clients/"+quinn.ID+"/chat", nil, http.StatusOK)
	check(t, a, "POST", "/api/v1/clients/"+chatAPINever+"/chat", nil, http.StatusNotFound)
	check(t, a, "POST", "/api/v1/chats/"+started.ID+"/messages", map[string]any{"text": "Hello Quinn", "contact_id": quinn.Contacts[0].ID}, http.StatusAccepted)
	// Pat and Quinn are one person: the merged chat answers 301.
	if res := a.call("POST", "/api/v1/clients/"+c.chat(t, in.ChatID).ClientID+"/merge", map[string]any{"other_id": quinn.ID}); res.Status != 200 {
		t.Fatalf("merge: %d %s", res.Status, res.Body)
	}
	check(t, a, "GET", "/api/v1/chats/"+started.ID, nil, http.StatusMovedPermanently)
	check(t, a, "GET", "/api/v1/chats/"+started.ID+"/messages", nil, http.StatusMovedPermanently)
	check(t, a, "POST", "/api/v1/chats/"+started.ID+"/read", nil, http.StatusMovedPermanently)
	check(t, a, "POST", "/api/v1/clients/"+quinn.ID+"/chat", nil, http.StatusMovedPermanently)

	// The validator itself must catch drift in the new shapes.
	good := a.call("GET", chatPath, nil)
	msgs := a.call("GET", chatPath+"/messages", nil)
	for name, tc := range map[string]struct {
		path   string
		res    response
		tamper func(m map[string]any)
	}{
		"ChatExtraField":      {chatPath, good, func(m map[string]any) { m["priority"] = "high" }},
		"ChatMissingMembers":  {chatPath, good, func(m map[string]any) { delete(m, "members") }},
		"ChatWrongStatus":     {chatPath, good, func(m map[string]any) { m["status"] = "closed" }},
		"MessageExtraField":   {chatPath + "/messages", msgs, func(m map[string]any) { m["data"].([]any)[0].(map[string]any)["priority"] = "x" }},
		"MessageWrongKind":    {chatPath + "/messages", msgs, func(m map[string]any) { m["data"].([]any)[0].(map[string]any)["kind"] = "email" }},
		"MessageListNoCursor": {chatPath + "/messages", msgs, func(m map[string]any) { delete(m, "next_cursor") }},
	} {
		m := decode[map[string]any](t, tc.res)
		tc.tamper(m)
		b, _ := json.Marshal(m)
		bad := response{Status: tc.res.Status, Header: tc.res.Header, Body: string(b)}
		if err := validateExchange(ctx, router, a, "GET", tc.path, nil, bad); err == nil {
			t.Errorf("%s: a tampered response passed validation", name)
		}
	}
}
