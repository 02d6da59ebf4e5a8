package tenantdb_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"

	_ "modernc.org/sqlite"
)

// providerDB returns the tenant acme (default country GB) and its fixture
// (for the clock).
func providerDB(t *testing.T) (*fixture, *tenantdb.DB) {
	t.Helper()
	f := setup(t, 10)
	ten := f.provision(t, "acme")
	db, release, err := f.tenants.Acquire(context.Background(), ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	if err := db.SetDefaultCountry(context.Background(), "GB", app.CLIActor); err != nil {
		t.Fatal(err)
	}
	return f, db
}

func connect(t *testing.T, db *tenantdb.DB, typ app.ChannelType, name string) app.Channel {
	t.Helper()
	ch, err := db.ConnectChannel(context.Background(), typ, name, map[string]string{"from_number": "+447700900001"},
		map[string]string{"auth_token": "tok-" + name, app.WebhookSecretKey: "hook-" + name}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func TestChannelSecretsSealedAtRest(t *testing.T) {
	_, db := providerDB(t)
	ctx := context.Background()
	ch := connect(t, db, app.ChannelTwilioSMS, "SMS")
	got, err := db.ChannelByID(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Setting("auth_token") != "tok-SMS" || got.Setting("from_number") != "+447700900001" {
		t.Errorf("settings: got token %q number %q", got.Setting("auth_token"), got.Setting("from_number"))
	}
	// The file itself never holds the secret in the clear.
	raw, err := sql.Open("sqlite", "file:"+filepath.ToSlash(db.Path())+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var settings, secrets string
	if err := raw.QueryRow(`SELECT settings, secrets FROM channels WHERE id = ?`, ch.ID).Scan(&settings, &secrets); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(settings+secrets, "tok-SMS") || !strings.HasPrefix(secrets, "v1:") {
		t.Errorf("stored: settings %s secrets %s, want the token sealed", settings, secrets)
	}
	// An update without secrets keeps them; with secrets replaces them.
	if err := db.UpdateChannel(ctx, ch.ID, "SMS UK", map[string]string{"from_number": "+447700900002"}, nil, true, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.ChannelByID(ctx, ch.ID); got.Setting("auth_token") != "tok-SMS" || got.Name != "SMS UK" {
		t.Errorf("after update: got %q %q", got.Name, got.Setting("auth_token"))
	}
	// Removing erases the credentials and hides the channel.
	if err := db.DeleteChannel(ctx, ch.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ChannelByID(ctx, ch.ID); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("removed channel: got %v, want ENOTFOUND", err)
	}
	if err := raw.QueryRow(`SELECT secrets FROM channels WHERE id = ?`, ch.ID).Scan(&secrets); err != nil || secrets != "" {
		t.Errorf("removed channel secrets: got %q, %v, want erased", secrets, err)
	}
}

func TestChannelForPrefersTheConversationsChannel(t *testing.T) {
	_, db := providerDB(t)
	ctx := context.Background()
	first := connect(t, db, app.ChannelTwilioSMS, "SMS one")
	second := connect(t, db, app.ChannelTwilioSMS, "SMS two")
	from := app.ContactInput{Type: app.ContactPhone, Value: "+447911123456"}
	m := receive(t, db, second, from, "hello on the second number", "SM1")
	sent, err := db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "answer"}, allChats, app.CLIActor)
	if err != nil || sent.ChannelID != second.ID {
		t.Fatalf("reply channel: got %s, %v, want the second number %s", sent.ChannelID, err, second.ID)
	}
	picked, err := db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "from the other", ChannelID: first.ID}, allChats, app.CLIActor)
	if err != nil || picked.ChannelID != first.ID {
		t.Errorf("picked channel: got %s, %v, want %s", picked.ChannelID, err, first.ID)
	}
	tg := connect(t, db, app.ChannelTelegram, "Bot")
	_, err = db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "wrong transport", ChannelID: tg.ID}, allChats, app.CLIActor)
	if app.ErrorCode(err) != app.EINVALID || app.ErrorFields(err)[0].Field != "channel_id" {
		t.Errorf("telegram channel for an SMS contact: got %v, want EINVALID on channel_id", err)
	}
}

func TestNoChannelForTransportIsRefused(t *testing.T) {
	_, db := providerDB(t)
	ctx := context.Background()
	sms := connect(t, db, app.ChannelTwilioSMS, "SMS")
	m := receive(t, db, sms, app.ContactInput{Type: app.ContactPhone, Value: "+447911123456"}, "hi", "SM1")
	c, _ := db.ChatByID(ctx, m.ChatID, allChats)
	if _, err := db.AddContact(ctx, c.ClientID, app.ContactInput{Type: app.ContactEmail, Value: "ann@example.com"}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	profile, _ := db.ClientProfile(ctx, c.ClientID)
	var emailID string
	for _, k := range profile.Contacts {
		if k.Type == app.ContactEmail {
			emailID = k.ID
		}
	}
	_, err := db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "by mail", ContactID: emailID}, allChats, app.CLIActor)
	if app.ErrorCode(err) != app.EINVALID || !strings.Contains(app.ErrorMessage(err), "No channel can send Email") {
		t.Errorf("email without an email channel: got %v, want a clear refusal", err)
	}
}

func TestOptOutStopsAndStartResumes(t *testing.T) {
	_, db := providerDB(t)
	ctx := context.Background()
	sms := connect(t, db, app.ChannelTwilioSMS, "SMS")
	from := app.ContactInput{Type: app.ContactPhone, Value: "+447911123456"}
	m, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: sms.ID, From: from, Text: "STOP", ProviderMessageID: "SM1", OptOut: app.OptOutStop})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "are you sure?"}, allChats, app.CLIActor)
	if app.ErrorCode(err) != app.EINVALID || !strings.Contains(app.ErrorMessage(err), "STOP") {
		t.Fatalf("send after STOP: got %v, want a refusal naming STOP", err)
	}
	if _, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: sms.ID, From: from, Text: "START", ProviderMessageID: "SM2", OptOut: app.OptOutStart}); err != nil {
		t.Fatal(err)
	}
	queued, err := db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "welcome back"}, allChats, app.CLIActor)
	if err != nil {
		t.Fatalf("send after START: %v", err)
	}
	// A STOP that arrives while a message waits in the queue holds it back.
	if _, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: sms.ID, From: from, Text: "stop", ProviderMessageID: "SM3", OptOut: app.OptOutStop}); err != nil {
		t.Fatal(err)
	}
	if d, err := db.BeginDelivery(ctx, queued.ID); err != nil || !d.OptedOut {
		t.Errorf("delivery after a later STOP: got opted out %v, %v, want true", d.OptedOut, err)
	}
	events, _, err := db.EventsAfter(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var optOuts int
	for _, e := range events {
		if e.Type == app.EventContactOptOut {
			optOuts++
		}
	}
	if optOuts != 3 {
		t.Errorf("opt-out events: got %d, want 3", optOuts)
	}
}

func TestWhatsAppWindow(t *testing.T) {
	f, db := providerDB(t)
	ctx := context.Background()
	wa := connect(t, db, app.ChannelWhatsAppCloud, "WhatsApp")
	m := receive(t, db, wa, app.ContactInput{Type: app.ContactWhatsApp, Value: "+447911123456"}, "hi", "wamid.1")
	f.advance(23 * time.Hour)
	if _, err := db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "inside the window"}, allChats, app.CLIActor); err != nil {
		t.Fatalf("inside the window: %v", err)
	}
	f.advance(2 * time.Hour)
	_, err := db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "outside"}, allChats, app.CLIActor)
	if app.ErrorCode(err) != app.EINVALID || !strings.Contains(app.ErrorMessage(err), "24 hours") {
		t.Errorf("outside the window: got %v, want a refusal explaining the 24 hours", err)
	}
	receive(t, db, wa, app.ContactInput{Type: app.ContactWhatsApp, Value: "+447911123456"}, "back again", "wamid.2")
	if _, err := db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "window reopened"}, allChats, app.CLIActor); err != nil {
		t.Errorf("after a new message: %v", err)
	}
}

func TestEmailThreading(t *testing.T) {
	_, db := providerDB(t)
	ctx := context.Background()
	mail := connect(t, db, app.ChannelEmail, "Support")
	ann := app.ContactInput{Type: app.ContactEmail, Value: "ann@example.com"}
	first, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: mail.ID, From: ann, Text: "My order is late",
		Subject: "Order 42", ProviderMessageID: "m1@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := db.SendMessage(ctx, first.ChatID, app.SendInput{Text: "Looking into it"}, allChats, app.CLIActor)
	if err != nil || reply.Subject != "Re: Order 42" {
		t.Fatalf("reply subject: got %q, %v, want Re: Order 42", reply.Subject, err)
	}
	d, err := db.BeginDelivery(ctx, reply.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.InReplyTo != "m1@example.com" || len(d.References) != 1 || d.ReplyToken == "" {
		t.Fatalf("delivery thread: got in-reply-to %q refs %v token %q", d.InReplyTo, d.References, d.ReplyToken)
	}
	if err := db.RecordSent(ctx, reply.ID, reply.ID+"@acme.test"); err != nil {
		t.Fatal(err)
	}
	// Another client's colleague answers with the token: the chat is Ann's.
	bob := app.ContactInput{Type: app.ContactEmail, Value: "bob@example.com"}
	other, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: mail.ID, From: app.ContactInput{Type: app.ContactEmail, Value: "zed@example.com"},
		Text: "Unrelated", ProviderMessageID: "z1@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   app.InboundMessage
		chat string
	}{
		{"ReplyToken", app.InboundMessage{From: bob, ReplyToken: d.ReplyToken, References: []string{"nothing@x"}}, first.ChatID},
		{"References", app.InboundMessage{From: app.ContactInput{Type: app.ContactEmail, Value: "carol@example.com"}, References: []string{"unknown@x", reply.ID + "@acme.test"}}, first.ChatID},
		{"KnownAddressOfAnotherClientJoinsTheThread", app.InboundMessage{From: app.ContactInput{Type: app.ContactEmail, Value: "zed@example.com"}, References: []string{"m1@example.com"}}, first.ChatID},
		{"NoThreadGoesBySender", app.InboundMessage{From: app.ContactInput{Type: app.ContactEmail, Value: "zed@example.com"}, ReplyToken: "made-up"}, other.ChatID},
	}
	for i, tt := range tests {
		tt.in.ChannelID, tt.in.Text, tt.in.ProviderMessageID = mail.ID, "reply "+tt.name, tt.name+"@mail"
		tt.in.Transport = app.TransportEmail
		got, _, err := db.ReceiveMessage(ctx, tt.in)
		if err != nil {
			t.Fatalf("%d %s: %v", i, tt.name, err)
		}
		if got.ChatID != tt.chat {
			t.Errorf("%s: got chat %s, want %s", tt.name, got.ChatID, tt.chat)
		}
	}
	// Bob answered the thread but is not made one of Ann's contacts, nor
	// where her replies go: quoting a thread never takes it over.
	c, _ := db.ChatByID(ctx, first.ChatID, allChats)
	profile, _ := db.ClientProfile(ctx, c.ClientID)
	for _, k := range profile.Contacts {
		if k.Value != "ann@example.com" {
			t.Errorf("a sender answering the thread became the client's contact: %s", k.Value)
		}
	}
	next, err := db.SendMessage(ctx, first.ChatID, app.SendInput{Text: "Anything else?"}, allChats, app.CLIActor)
	if err != nil || next.ContactValue != "ann@example.com" {
		t.Errorf("next reply: got %q, %v, want it to go to ann@example.com", next.ContactValue, err)
	}
}

func TestAutomaticAndOutgoingCallDoNotAskForAnswer(t *testing.T) {
	_, db := providerDB(t)
	ctx := context.Background()
	mail := connect(t, db, app.ChannelEmail, "Support")
	voice := connect(t, db, app.ChannelTwilioVoice, "Phone")
	m := receive(t, db, mail, app.ContactInput{Type: app.ContactEmail, Value: "ann@example.com"}, "hello", "m1@x")
	if _, err := db.MarkChatRead(ctx, m.ChatID, allChats, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateChat(ctx, m.ChatID, app.ChatUpdate{Status: ptr(app.ChatResolved)}, allChats, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	auto, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: mail.ID, From: app.ContactInput{Type: app.ContactEmail, Value: "ann@example.com"},
		Text: "I am out of the office", ProviderMessageID: "ooo@x", Automatic: true})
	if err != nil || auto.Meta["automatic"] != "true" {
		t.Fatalf("auto-reply: got meta %v, %v", auto.Meta, err)
	}
	c, _ := db.ChatByID(ctx, m.ChatID, allChats)
	if c.UnreadCount != 0 || c.Status != app.ChatResolved {
		t.Errorf("after an auto-reply: unread %d status %s, want 0 and still resolved", c.UnreadCount, c.Status)
	}
	call, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: voice.ID, Transport: app.TransportPhone,
		From: app.ContactInput{Type: app.ContactPhone, Value: "+447911123456"}, Direction: app.DirectionOut,
		Text: "Outgoing call, 2 min 3 s", ProviderMessageID: "CA1", Meta: map[string]string{"duration": "123"}})
	if err != nil || call.Direction != app.DirectionOut || call.Transport != app.TransportPhone || call.Meta["duration"] != "123" {
		t.Fatalf("call log: got %+v, %v", call, err)
	}
	cc, _ := db.ChatByID(ctx, call.ChatID, allChats)
	if cc.UnreadCount != 0 {
		t.Errorf("an outgoing call counted as unread: %d", cc.UnreadCount)
	}
}

func TestWebhookReceipts(t *testing.T) {
	f, db := providerDB(t)
	ctx := context.Background()
	ch := connect(t, db, app.ChannelTelegram, "Bot")
	if seen, _ := db.WebhookSeen(ctx, ch.ID, "d1"); seen {
		t.Fatal("a new digest was seen")
	}
	if err := db.RecordWebhook(ctx, ch.ID, "d1"); err != nil {
		t.Fatal(err)
	}
	if seen, _ := db.WebhookSeen(ctx, ch.ID, "d1"); !seen {
		t.Error("a recorded digest was not seen")
	}
	if seen, _ := db.WebhookSeen(ctx, "other", "d1"); seen {
		t.Error("a digest leaked to another channel")
	}
	f.advance(8 * 24 * time.Hour)
	if err := db.RecordWebhook(ctx, ch.ID, "d2"); err != nil {
		t.Fatal(err)
	}
	if seen, _ := db.WebhookSeen(ctx, ch.ID, "d1"); seen {
		t.Error("a week-old digest was not pruned")
	}
}

// TestAPIBaseURLIgnoredUnlessAllowed: a channel's api_base_url reaches
// the provider packages only when the operator allows it.
func TestAPIBaseURLIgnoredUnlessAllowed(t *testing.T) {
	_, db := providerDB(t) // the fixture's manager does not allow it
	ch, err := db.ConnectChannel(context.Background(), app.ChannelTelegram, "Bot",
		map[string]string{"api_base_url": "http://169.254.169.254", "webhook_url": "https://x/hooks/1"}, nil, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.ChannelByID(context.Background(), ch.ID)
	if err != nil || got.Setting("api_base_url") != "" || got.Setting("webhook_url") != "https://x/hooks/1" {
		t.Errorf("got api_base_url %q webhook_url %q, %v, want the base URL dropped and the rest kept",
			got.Setting("api_base_url"), got.Setting("webhook_url"), err)
	}
}

// TestUndoAttemptKeepsUncertainty: a send that waits for the provider's
// rate limit after a cut-off attempt still asks the provider first.
func TestUndoAttemptKeepsUncertainty(t *testing.T) {
	_, db := providerDB(t)
	ctx := context.Background()
	sms := connect(t, db, app.ChannelTwilioSMS, "SMS")
	in := receive(t, db, sms, app.ContactInput{Type: app.ContactPhone, Value: "+447911123456"}, "hi", "SM1")
	m, err := db.SendMessage(ctx, in.ChatID, app.SendInput{Text: "hello"}, allChats, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.BeginDelivery(ctx, m.ID); err != nil { // cut off: never reports back
		t.Fatal(err)
	}
	d, err := db.BeginDelivery(ctx, m.ID)
	if err != nil || !d.Uncertain || d.Attempt != 2 {
		t.Fatalf("second attempt: got uncertain %v attempt %d, %v", d.Uncertain, d.Attempt, err)
	}
	if err := db.UndoAttempt(ctx, m.ID, d.Uncertain); err != nil { // waits for the rate limit
		t.Fatal(err)
	}
	d, err = db.BeginDelivery(ctx, m.ID)
	if err != nil || !d.Uncertain || d.Attempt != 2 {
		t.Errorf("after waiting: got uncertain %v attempt %d, %v, want still uncertain, attempt 2", d.Uncertain, d.Attempt, err)
	}
}
