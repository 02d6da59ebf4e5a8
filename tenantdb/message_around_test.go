package tenantdb_test

import (
	"context"
	"fmt"
	"testing"

	"parley/app"
)

// TestMessagesAround: the page around a message, at either end of the
// history and in the middle; another chat's message is not found.
func TestMessagesAround(t *testing.T) {
	db, ch := chatDB(t)
	ctx := context.Background()
	from := app.ContactInput{Type: app.ContactEmail, Value: "ann@example.com"}
	var msgs []app.Message
	for i := range 10 {
		msgs = append(msgs, receive(t, db, ch, from, fmt.Sprintf("m%d", i), fmt.Sprintf("p%d", i)))
	}
	chatID := msgs[0].ChatID
	for _, tt := range []struct {
		name          string
		at            int
		first, last   int
		older, newer  bool
		before, after int
	}{
		{"Middle", 5, 3, 7, true, true, 2, 2},
		{"First", 0, 0, 2, false, true, 2, 2},
		{"Last", 9, 7, 9, true, false, 2, 2},
		{"ExactFit", 5, 0, 9, false, false, 5, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, older, newer, err := db.MessagesAround(ctx, chatID, allChats, msgs[tt.at].ID, tt.before, tt.after)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.last-tt.first+1 || got[0].ID != msgs[tt.first].ID || got[len(got)-1].ID != msgs[tt.last].ID {
				t.Errorf("got %d messages from %s, want m%d..m%d", len(got), got[0].Text, tt.first, tt.last)
			}
			if older != tt.older || newer != tt.newer {
				t.Errorf("got older %v newer %v, want %v %v", older, newer, tt.older, tt.newer)
			}
		})
	}
	other := receive(t, db, ch, app.ContactInput{Type: app.ContactEmail, Value: "bo@example.com"}, "other", "q1")
	if _, _, _, err := db.MessagesAround(ctx, chatID, allChats, other.ID, 2, 2); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("another chat's message: got %v, want ENOTFOUND", err)
	}
	lead, err := db.CreateUser(ctx, app.NewUser{Email: "lead@acme.example", Name: "Lead", Password: "a good long password", Role: app.RoleLead}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateChat(ctx, chatID, app.ChatUpdate{AssigneeID: &lead.ID}, allChats, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	agent := app.ChatScope{UserID: "someone-else"}
	if _, _, _, err := db.MessagesAround(ctx, chatID, agent, msgs[5].ID, 2, 2); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("a chat out of scope: got %v, want ENOTFOUND", err)
	}
}

// TestOutboundSince: the team's messages from one on, newest first.
func TestOutboundSince(t *testing.T) {
	db, ch := chatDB(t)
	ctx := context.Background()
	first := receive(t, db, ch, app.ContactInput{Type: app.ContactEmail, Value: "ann@example.com"}, "hi", "p1")
	var sent []app.Message
	for i := range 3 {
		m, err := db.SendMessage(ctx, first.ChatID, app.SendInput{Text: fmt.Sprint("reply ", i)}, allChats, app.CLIActor)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}
	if _, err := db.SendMessage(ctx, first.ChatID, app.SendInput{Text: "a note", Note: true}, allChats, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		from  string
		limit int
		want  []app.Message
	}{
		{"All", "", 10, []app.Message{sent[2], sent[1], sent[0]}},
		{"FromSecond", sent[1].ID, 10, []app.Message{sent[2], sent[1]}},
		{"Limited", "", 1, []app.Message{sent[2]}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.OutboundSince(ctx, first.ChatID, allChats, tt.from, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d messages, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].ID != tt.want[i].ID {
					t.Errorf("message %d: got %q, want %q", i, got[i].Text, tt.want[i].Text)
				}
			}
		})
	}
	if _, err := db.OutboundSince(ctx, first.ChatID, allChats, "01JNEVEREXISTEDAAAAAAAAAAA", 10); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("unknown from: got %v, want ENOTFOUND", err)
	}
}
