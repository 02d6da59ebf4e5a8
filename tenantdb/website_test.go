package tenantdb_test

import (
	"context"
	"testing"

	"parley/app"
)

// TestReceiveWebsiteMessage checks a message from the public site finds
// the client by the contact given, lands in their chat with transport
// website, is stored once per key, and that the team's reply to a contact
// form goes to the email address given (the visitor has left the page).
func TestReceiveWebsiteMessage(t *testing.T) {
	db, _ := chatDB(t)
	ctx := context.Background()
	c := mustCreate(t, db, app.ClientInput{FirstName: "Ada", Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "ada@example.com"}}})
	in := app.WebsiteMessage{From: app.ContactInput{Type: app.ContactEmail, Value: "ADA@example.com"}, Name: "Ada L",
		Text: "My order has not arrived.", Key: "form-1", Source: app.WebsiteContactForm}
	m, dup, err := db.ReceiveWebsiteMessage(ctx, in)
	if err != nil || dup {
		t.Fatalf("receive: %v (duplicate %v)", err, dup)
	}
	chat, err := db.ChatByID(ctx, m.ChatID, allChats)
	if err != nil || chat.ClientID != c.ID || m.Transport != app.TransportWebsite {
		t.Errorf("message: client %s transport %s (%v), want %s website", chat.ClientID, m.Transport, err, c.ID)
	}
	again, dup, err := db.ReceiveWebsiteMessage(ctx, in)
	if err != nil || !dup || again.ID != m.ID {
		t.Errorf("same key again: got %s dup=%v err=%v, want the first message %s", again.ID, dup, err, m.ID)
	}
	ch, err := db.WebsiteChannel(ctx)
	if err != nil || ch.ID != m.ChannelID || ch.Type != app.ChannelWebsite {
		t.Fatalf("website channel: got %+v (%v), want the message's channel %s", ch, err, m.ChannelID)
	}
	reply, err := db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "On its way."}, allChats, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Transport != app.TransportEmail || reply.ContactValue != "ada@example.com" {
		t.Errorf("reply: transport %s to %q, want email to ada@example.com", reply.Transport, reply.ContactValue)
	}

	if err := db.DeleteChannel(ctx, ch.ID, app.CLIActor); app.ErrorCode(err) != app.ECONFLICT {
		t.Errorf("remove the website channel: got %v, want ECONFLICT", err)
	}
	if err := db.UpdateChannel(ctx, ch.ID, "Web", nil, nil, false, app.CLIActor); app.ErrorCode(err) != app.ECONFLICT {
		t.Errorf("turn the website channel off: got %v, want ECONFLICT", err)
	}

	// A stranger becomes a new lead named as they typed.
	m2, _, err := db.ReceiveWebsiteMessage(ctx, app.WebsiteMessage{From: app.ContactInput{Type: app.ContactEmail, Value: "new@example.com"},
		Name: "Grace Hopper", Text: "Hello", Key: "form-2", Source: app.WebsiteContactForm})
	if err != nil {
		t.Fatal(err)
	}
	chat2, err := db.ChatByID(ctx, m2.ChatID, allChats)
	if err != nil || chat2.ClientID == c.ID {
		t.Fatalf("a new address joined an existing client (%v)", err)
	}
	p, err := db.ClientProfile(ctx, chat2.ClientID)
	if err != nil || p.Client.FirstName != "Grace" {
		t.Errorf("new lead: got %+v (%v), want first name Grace", p.Client, err)
	}

	if _, _, err := db.ReceiveWebsiteMessage(ctx, app.WebsiteMessage{From: in.From, Text: "x", Source: app.WebsiteChat}); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("no key: got %v, want EINVALID", err)
	}
}
