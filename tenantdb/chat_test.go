package tenantdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

var allChats = app.ChatScope{All: true}

// chatDB returns a tenant with the sandbox channel connected.
func chatDB(t *testing.T) (*tenantdb.DB, app.Channel) {
	t.Helper()
	db := clientDB(t)
	ch, err := db.ConnectChannel(context.Background(), app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	return db, ch
}

func receive(t *testing.T, db *tenantdb.DB, ch app.Channel, from app.ContactInput, text, providerID string) app.Message {
	t.Helper()
	m, _, err := db.ReceiveMessage(context.Background(), app.InboundMessage{ChannelID: ch.ID, From: from, Text: text,
		ProviderMessageID: providerID})
	if err != nil {
		t.Fatalf("receive %q: %v (fields %v)", text, err, app.ErrorFields(err))
	}
	return m
}

func TestReceiveCreatesClientChatAndDedupes(t *testing.T) {
	db, ch := chatDB(t)
	ctx := context.Background()
	from := app.ContactInput{Type: app.ContactEmail, Value: "New.Person@Example.com"}
	m := receive(t, db, ch, from, "Hello there", "p-1")
	again, dup, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: ch.ID, From: from, Text: "Hello there", ProviderMessageID: "p-1"})
	if err != nil || !dup || again.ID != m.ID {
		t.Fatalf("second delivery: got %v dup=%v id=%s, want the first message %s", err, dup, again.ID, m.ID)
	}
	c, err := db.ChatByID(ctx, m.ChatID, allChats)
	if err != nil {
		t.Fatal(err)
	}
	if c.UnreadCount != 1 || c.MessageCount != 1 || c.LastTransport != app.TransportEmail || c.ReplyContactID != m.ContactID {
		t.Errorf("chat: got unread %d, count %d, transport %s, reply %s", c.UnreadCount, c.MessageCount, c.LastTransport, c.ReplyContactID)
	}
	// A second message from the same address lands in the same chat.
	m2 := receive(t, db, ch, app.ContactInput{Type: app.ContactEmail, Value: "new.person@example.com"}, "Still there?", "p-2")
	if m2.ChatID != m.ChatID {
		t.Errorf("second message chat: got %s, want %s", m2.ChatID, m.ChatID)
	}
	n, err := db.MarkChatRead(ctx, m.ChatID, allChats, app.CLIActor)
	if err != nil || n != 2 {
		t.Errorf("mark read: got %d, %v, want 2", n, err)
	}
	if c, _ := db.ChatByID(ctx, m.ChatID, allChats); c.UnreadCount != 0 {
		t.Errorf("unread after read: got %d, want 0", c.UnreadCount)
	}
}

func TestReceiveMatchesPhoneAcrossTransports(t *testing.T) {
	db, ch := chatDB(t)
	c := mustCreate(t, db, app.ClientInput{FirstName: "Ola", Contacts: []app.ContactInput{{Type: app.ContactPhone, Value: "07911 123456"}}})
	m := receive(t, db, ch, app.ContactInput{Type: app.ContactWhatsApp, Value: "+44 7911 123456"}, "Hi on WhatsApp", "wa-1")
	chat, err := db.ChatByID(context.Background(), m.ChatID, allChats)
	if err != nil || chat.ClientID != c.ID {
		t.Fatalf("chat client: got %s (%v), want %s", chat.ClientID, err, c.ID)
	}
	p, _ := db.ClientProfile(context.Background(), c.ID)
	if len(p.Contacts) != 2 {
		t.Errorf("contacts: got %d, want the phone and the new WhatsApp", len(p.Contacts))
	}
}

func TestSendDeliveryMovesForwardOnly(t *testing.T) {
	db, ch := chatDB(t)
	ctx := context.Background()
	c := mustCreate(t, db, app.ClientInput{FirstName: "Bo", Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "bo@example.com"}}})
	chat, created, err := db.StartChat(ctx, c.ID, allChats, app.CLIActor)
	if err != nil || !created {
		t.Fatalf("start: %v created=%v", err, created)
	}
	tpl, err := db.CreateTemplate(ctx, app.TemplateInput{Name: "Hi", Body: "Hello!"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	m, err := db.SendMessage(ctx, chat.ID, app.SendInput{Text: "Hello!", TemplateID: tpl.ID}, allChats, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != app.StatusQueued || m.ChannelID != ch.ID || m.ContactValue != "bo@example.com" {
		t.Errorf("queued message: got %s via %s to %s", m.Status, m.ChannelID, m.ContactValue)
	}
	if tpl, _ = db.TemplateByID(ctx, tpl.ID); tpl.Uses != 1 || tpl.LastUsedAt == nil {
		t.Errorf("template uses: got %d, want 1", tpl.Uses)
	}
	d, err := db.BeginDelivery(ctx, m.ID)
	if err != nil || d.Attempt != 1 || d.Uncertain {
		t.Fatalf("begin: %v attempt %d uncertain %v", err, d.Attempt, d.Uncertain)
	}
	// An attempt that never reported back makes the next one uncertain.
	if d, err = db.BeginDelivery(ctx, m.ID); err != nil || !d.Uncertain || d.Attempt != 2 {
		t.Fatalf("second begin: %v attempt %d uncertain %v", err, d.Attempt, d.Uncertain)
	}
	if err := db.RecordSent(ctx, m.ID, "prov-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.BeginDelivery(ctx, m.ID); !errors.Is(err, tenantdb.ErrNotQueued) {
		t.Errorf("begin after sent: got %v, want ErrNotQueued", err)
	}
	for _, s := range []app.DeliveryStatus{app.StatusRead, app.StatusDelivered, app.StatusFailed} {
		if err := db.ReportStatus(ctx, app.StatusReport{ChannelID: ch.ID, ProviderMessageID: "prov-1", Status: s}); err != nil {
			t.Fatalf("report %s: %v", s, err)
		}
	}
	m, _ = db.MessageByID(ctx, m.ID, allChats)
	if m.Status != app.StatusRead || m.DeliveredAt == nil || m.ReadAt == nil || m.SentAt == nil {
		t.Errorf("after read, delivered, failed: got %s delivered=%v read=%v", m.Status, m.DeliveredAt, m.ReadAt)
	}
	if err := tenantdb.ExecForTest(db, `UPDATE messages SET status = 'queued' WHERE id = '`+m.ID+`'`); err == nil {
		t.Error("moving a read message back to queued: got nil error, want the trigger's refusal")
	}
}

func TestSendRefusesBadInput(t *testing.T) {
	db := clientDB(t)
	ctx := context.Background()
	c := mustCreate(t, db, app.ClientInput{FirstName: "Cy", Contacts: []app.ContactInput{{Type: app.ContactOther, Value: "pigeon"}}})
	chat, _, err := db.StartChat(ctx, c.ID, allChats, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]app.SendInput{
		"empty":             {Text: "  "},
		"no usable contact": {Text: "Hi"},
		"unknown template":  {Text: "Hi", TemplateID: "nope"},
		"forbidden file":    {Text: "Hi", Uploads: []app.Upload{{Filename: "x.html", Data: []byte("<html><script>alert(1)</script>")}}},
	} {
		if _, err := db.SendMessage(ctx, chat.ID, in, allChats, app.CLIActor); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("%s: got %v, want EINVALID", name, err)
		}
	}
	if chat, _ = db.ChatByID(ctx, chat.ID, allChats); chat.MessageCount != 0 {
		t.Errorf("messages written by refused sends: got %d, want 0", chat.MessageCount)
	}
}

func TestNoteMentionsNotify(t *testing.T) {
	db, _ := chatDB(t)
	ctx := context.Background()
	u, err := db.CreateUser(ctx, app.NewUser{Email: "mia.k@acme.example", Name: "Mia", Password: "long-enough-pw", Role: app.RoleAgent}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	c := mustCreate(t, db, app.ClientInput{FirstName: "Di"})
	chat, _, _ := db.StartChat(ctx, c.ID, allChats, app.CLIActor)
	m, err := db.SendMessage(ctx, chat.ID, app.SendInput{Text: "Can you call her, @mia.k?", Note: true}, allChats, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != app.KindNote || len(m.Mentions) != 1 || m.Mentions[0] != u.ID || m.Status != app.StatusReceived {
		t.Errorf("note: got kind %s mentions %v status %s", m.Kind, m.Mentions, m.Status)
	}
}

func TestMergeClientsMergesChats(t *testing.T) {
	db, ch := chatDB(t)
	ctx := context.Background()
	a := receive(t, db, ch, app.ContactInput{Type: app.ContactEmail, Value: "a@example.com"}, "from a 1", "a1")
	time.Sleep(2 * time.Millisecond)
	b := receive(t, db, ch, app.ContactInput{Type: app.ContactPhone, Value: "+447911000111"}, "from b 1", "b1")
	time.Sleep(2 * time.Millisecond)
	receive(t, db, ch, app.ContactInput{Type: app.ContactEmail, Value: "a@example.com"}, "from a 2", "a2")
	chatA, _ := db.ChatByID(ctx, a.ChatID, allChats)
	chatB, _ := db.ChatByID(ctx, b.ChatID, allChats)
	if _, err := db.MergeClients(ctx, chatA.ClientID, app.MergeInput{OtherID: chatB.ClientID}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	merged, err := db.ChatByID(ctx, chatA.ID, allChats)
	if err != nil || merged.UnreadCount != 3 || merged.MessageCount != 3 {
		t.Fatalf("merged chat: got unread %d count %d (%v), want 3 and 3", merged.UnreadCount, merged.MessageCount, err)
	}
	msgs, _, err := db.ListMessages(ctx, chatA.ID, allChats, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	if got, want := strings.Join(texts, "|"), "from a 1|from b 1|from a 2"; got != want {
		t.Errorf("history: got %s, want %s", got, want)
	}
	if _, err := db.ChatByID(ctx, chatB.ID, allChats); app.ErrorCode(err) != app.EMOVED || app.ErrorRef(err) != chatA.ID {
		t.Errorf("old chat: got %v, want EMOVED to %s", err, chatA.ID)
	}
	page, _ := db.ListChats(ctx, app.ChatFilter{}, allChats)
	if len(page.Chats) != 1 {
		t.Errorf("chat list after merge: got %d chats, want 1", len(page.Chats))
	}
}

func TestListChatsKeysetAndScope(t *testing.T) {
	db, ch := chatDB(t)
	ctx := context.Background()
	for i := range 7 {
		receive(t, db, ch, app.ContactInput{Type: app.ContactTelegram, Value: "user_" + string(rune('a'+i))}, "hi", "t"+string(rune('a'+i)))
	}
	var seen []string
	f := app.ChatFilter{Limit: 3}
	for {
		page, err := db.ListChats(ctx, f, allChats)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Chats {
			seen = append(seen, c.ClientName)
		}
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if got := strings.Join(seen, ","); got != "user_g,user_f,user_e,user_d,user_c,user_b,user_a" {
		t.Errorf("pages: got %s", got)
	}
	// An agent sees unassigned chats and their own, not a colleague's.
	page, _ := db.ListChats(ctx, app.ChatFilter{}, allChats)
	other := "someone-else"
	if err := tenantdb.ExecForTest(db, `UPDATE chats SET assignee_id = '`+other+`' WHERE id = '`+page.Chats[0].ID+`'`); err != nil {
		t.Fatal(err)
	}
	agent := app.ChatScope{UserID: "agent-1"}
	if _, err := db.ChatByID(ctx, page.Chats[0].ID, agent); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("colleague's chat: got %v, want ENOTFOUND", err)
	}
	if p, _ := db.ListChats(ctx, app.ChatFilter{}, agent); len(p.Chats) != 6 {
		t.Errorf("agent's list: got %d chats, want 6", len(p.Chats))
	}
	if _, err := db.ListChats(ctx, app.ChatFilter{Cursor: "!!"}, allChats); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("bad cursor: got %v, want EINVALID", err)
	}
}

func TestSearchMessagesNewestFirst(t *testing.T) {
	db, ch := chatDB(t)
	ctx := context.Background()
	receive(t, db, ch, app.ContactInput{Type: app.ContactEmail, Value: "s@example.com"}, "My invoice is wrong", "s1")
	receive(t, db, ch, app.ContactInput{Type: app.ContactEmail, Value: "s@example.com"}, "Another invoice question", "s2")
	receive(t, db, ch, app.ContactInput{Type: app.ContactEmail, Value: "s@example.com"}, "Unrelated", "s3")
	hits, next, err := db.SearchMessages(ctx, `invo "`, allChats, "", 1)
	if err != nil || len(hits) != 1 || next == "" {
		t.Fatalf("search: got %d hits next %q (%v)", len(hits), next, err)
	}
	if !strings.Contains(hits[0].Snippet, app.MarkStart+"invoice"+app.MarkEnd) || hits[0].Message.Text != "Another invoice question" {
		t.Errorf("first hit: got %q / %q", hits[0].Message.Text, hits[0].Snippet)
	}
	hits, next, _ = db.SearchMessages(ctx, "invoice", allChats, next, 1)
	if len(hits) != 1 || hits[0].Message.Text != "My invoice is wrong" {
		t.Errorf("second page: got %v", hits)
	}
}
