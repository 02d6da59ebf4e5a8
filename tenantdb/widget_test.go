package tenantdb_test

import (
	"context"
	"strings"
	"testing"

	"parley/app"
	"parley/tenantdb"
)

// TestWebChatVisitorToken checks a visitor token opens only unaltered and
// only in the workspace that sealed it.
func TestWebChatVisitorToken(t *testing.T) {
	f, db := providerDB(t)
	other := f.provision(t, "globex")
	otherDB, release, err := f.tenants.Acquire(context.Background(), other.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	id := tenantdb.NewWebChatVisitorID()
	if len(id) != 26 || strings.ToLower(id) != id {
		t.Fatalf("visitor id %q: want 26 lower-case characters", id)
	}
	if again := tenantdb.NewWebChatVisitorID(); again == id {
		t.Fatalf("two visitor ids are the same: %s", id)
	}
	token, err := db.SealWebChatVisitor(id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(token, id) {
		t.Errorf("token %q shows the visitor id", token)
	}
	if got, ok := db.OpenWebChatVisitor(token); !ok || got != id {
		t.Errorf("open: got %q %v, want %q", got, ok, id)
	}
	flipped := []byte(token)
	flipped[len(flipped)-3] ^= 1
	for name, tok := range map[string]string{
		"Empty":           "",
		"Garbage":         "hello",
		"Altered":         string(flipped),
		"Truncated":       token[:len(token)-4],
		"OtherWorkspaces": mustSeal(t, otherDB, id),
	} {
		t.Run(name, func(t *testing.T) {
			if got, ok := db.OpenWebChatVisitor(tok); ok {
				t.Errorf("opened %q as visitor %q, want refused", tok, got)
			}
		})
	}
}

func mustSeal(t *testing.T, db *tenantdb.DB, id string) string {
	t.Helper()
	tok, err := db.SealWebChatVisitor(id)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestReceiveWebChatMessage checks a visitor's first message makes a lead
// with a website contact, that keys dedupe within one visitor only, that
// the team's reply goes back by the website transport, and that the
// visitor's view holds their messages and the replies to them, nothing else.
func TestReceiveWebChatMessage(t *testing.T) {
	db, sandbox := chatDB(t)
	ctx := context.Background()
	ana, bob := tenantdb.NewWebChatVisitorID(), tenantdb.NewWebChatVisitorID()

	if _, err := db.WebChatVisitor(ctx, ana); app.ErrorCode(err) != app.ENOTFOUND {
		t.Fatalf("a visitor who has not written: got %v, want ENOTFOUND", err)
	}
	m, v, dup, err := db.ReceiveWebChatMessage(ctx, ana, "key-0001", "  Do you ship to Norway?  ")
	if err != nil || dup {
		t.Fatalf("first message: %v (duplicate %v)", err, dup)
	}
	if m.Transport != app.TransportWebsite || m.Text != "Do you ship to Norway?" || m.ContactID != v.ContactID || v.ChatID != m.ChatID {
		t.Errorf("message: got transport %s text %q contact %s chat %s; visitor %+v", m.Transport, m.Text, m.ContactID, m.ChatID, v)
	}
	p, err := db.ClientProfile(ctx, v.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Website visitor " + ana[:6]; p.Client.Name() != want || p.Client.Status != app.ClientLead {
		t.Errorf("lead: got %q (%s), want %q (lead)", p.Client.Name(), p.Client.Status, want)
	}
	if len(p.Contacts) != 1 || p.Contacts[0].Type != app.ContactWebsite || p.Contacts[0].Value != ana ||
		p.Contacts[0].Display() != "visitor "+ana[:6] {
		t.Errorf("contacts: got %+v, want one website contact %s", p.Contacts, ana)
	}

	again, _, dup, err := db.ReceiveWebChatMessage(ctx, ana, "key-0001", "Do you ship to Norway?")
	if err != nil || !dup || again.ID != m.ID {
		t.Errorf("same key again: got %s dup=%v err=%v, want the first message %s", again.ID, dup, err, m.ID)
	}
	// Another visitor using the same key writes their own message and
	// never gets the first visitor's back.
	bm, bv, dup, err := db.ReceiveWebChatMessage(ctx, bob, "key-0001", "Hello from Bob")
	if err != nil || dup || bm.ID == m.ID || bv.ClientID == v.ClientID || bm.Text != "Hello from Bob" {
		t.Fatalf("other visitor, same key: got %+v dup=%v err=%v", bm, dup, err)
	}

	for _, tt := range []struct {
		name, key, text, field string
	}{
		{"ErrTextEmpty", "key-0002", "   ", "text"},
		{"ErrTextTooLong", "key-0002", strings.Repeat("é", tenantdb.WebChatMessageLimit+1), "text"},
		{"ErrKeyShort", "k", "Hi", "key"},
		{"ErrKeyBadCharacters", "key 0002<", "Hi", "key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := db.ReceiveWebChatMessage(ctx, tenantdb.NewWebChatVisitorID(), tt.key, tt.text)
			if fe := app.ErrorFields(err); app.ErrorCode(err) != app.EINVALID || len(fe) != 1 || fe[0].Field != tt.field {
				t.Errorf("got %v (fields %v), want EINVALID on %s", err, fe, tt.field)
			}
		})
	}
	if _, _, _, err := db.ReceiveWebChatMessage(ctx, tenantdb.NewWebChatVisitorID(), "key-0003", strings.Repeat("é", tenantdb.WebChatMessageLimit)); err != nil {
		t.Errorf("a message of exactly the limit: %v", err)
	}

	// The team answers: the reply goes to the visitor's website contact.
	reply, err := db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "Yes, in 3 days."}, allChats, app.Actor{Type: app.ActorUser, ID: "u1", Name: "Ada Lovelace"})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Transport != app.TransportWebsite || reply.ContactID != v.ContactID {
		t.Errorf("reply: transport %s to contact %s, want website to %s", reply.Transport, reply.ContactID, v.ContactID)
	}
	if _, err := db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "Internal: VIP?", Note: true}, allChats, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	// A message on another of the client's contacts is not the visitor's.
	if _, err := db.AddContact(ctx, v.ClientID, app.ContactInput{Type: app.ContactEmail, Value: "ana@example.com"}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	receive(t, db, sandbox, app.ContactInput{Type: app.ContactEmail, Value: "ana@example.com"}, "By email", "mail-1")
	m2, _, _, err := db.ReceiveWebChatMessage(ctx, ana, "key-0004", "Thanks!")
	if err != nil {
		t.Fatal(err)
	}

	v, err = db.WebChatVisitor(ctx, ana)
	if err != nil {
		t.Fatal(err)
	}
	got := texts(t, db, v, tenantdb.WebChatPage{})
	if want := "Do you ship to Norway?|Yes, in 3 days.|Thanks!"; got != want {
		t.Errorf("visitor's messages: got %q, want %q", got, want)
	}
	if got := texts(t, db, v, tenantdb.WebChatPage{After: m.ID}); got != "Yes, in 3 days.|Thanks!" {
		t.Errorf("after the first: got %q", got)
	}
	if got := texts(t, db, v, tenantdb.WebChatPage{Before: m2.ID, Limit: 1}); got != "Yes, in 3 days." {
		t.Errorf("one before the last: got %q", got)
	}
	msgs, more, err := db.WebChatMessages(ctx, v, tenantdb.WebChatPage{Limit: 2})
	if err != nil || !more || len(msgs) != 2 || msgs[1].ID != m2.ID {
		t.Errorf("newest two: got %d messages more=%v (%v), want the newest two and more", len(msgs), more, err)
	}
	bobs, err := db.WebChatVisitor(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.WebChatMessages(ctx, bobs, tenantdb.WebChatPage{After: m.ID}); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("another visitor's message as a cursor: got %v, want EINVALID", err)
	}
	if got := texts(t, db, bobs, tenantdb.WebChatPage{}); got != "Hello from Bob" {
		t.Errorf("Bob's messages: got %q, want only his own", got)
	}
}

func texts(t *testing.T, db *tenantdb.DB, v tenantdb.WebChatVisitor, p tenantdb.WebChatPage) string {
	t.Helper()
	msgs, _, err := db.WebChatMessages(context.Background(), v, p)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Text)
	}
	return strings.Join(out, "|")
}

// TestWebChatContactNotTypeable checks nobody can add a website contact by
// hand: only the web chat makes them.
func TestWebChatContactNotTypeable(t *testing.T) {
	db := clientDB(t)
	c := mustCreate(t, db, app.ClientInput{FirstName: "Ada"})
	_, err := db.AddContact(context.Background(), c.ID, app.ContactInput{Type: app.ContactWebsite, Value: tenantdb.NewWebChatVisitorID()}, app.CLIActor)
	if app.ErrorCode(err) != app.EINVALID {
		t.Errorf("add a website contact by hand: got %v, want EINVALID", err)
	}
	_, err = db.CreateClient(context.Background(), app.ClientInput{FirstName: "Bo",
		Contacts: []app.ContactInput{{Type: app.ContactWebsite, Value: tenantdb.NewWebChatVisitorID()}}}, app.CLIActor)
	if app.ErrorCode(err) != app.EINVALID {
		t.Errorf("create a client with a website contact: got %v, want EINVALID", err)
	}
}

// TestLeaveWebChatEmail checks a left email becomes a contact and names
// the lead, while one another client has is neither added nor merged, and
// only a note tells the team.
func TestLeaveWebChatEmail(t *testing.T) {
	db, _ := chatDB(t)
	ctx := context.Background()
	known := mustCreate(t, db, app.ClientInput{FirstName: "Known", Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "known@example.com"}}})

	ana := tenantdb.NewWebChatVisitorID()
	if _, _, _, err := db.ReceiveWebChatMessage(ctx, ana, "key-0001", "Hi"); err != nil {
		t.Fatal(err)
	}
	v, err := db.LeaveWebChatEmail(ctx, ana, " Ana@Example.com ", "Ana  Lima")
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.ClientProfile(ctx, v.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	// The address is the visitor's word only: the team adds it.
	if p.Client.Name() != "Ana Lima" || hasContact(p, app.ContactEmail, "ana@example.com") || v.Email != "ana@example.com" {
		t.Errorf("after leaving an email: name %q contacts %+v email %q", p.Client.Name(), p.Contacts, v.Email)
	}
	if again, _ := db.WebChatVisitor(ctx, ana); again.Email != "ana@example.com" {
		t.Errorf("visitor's email read back: got %q", again.Email)
	}
	// A name the lead already has is kept.
	if _, err := db.LeaveWebChatEmail(ctx, ana, "ana@example.com", "Someone Else"); err != nil {
		t.Fatal(err)
	}
	if p, _ := db.ClientProfile(ctx, v.ClientID); p.Client.Name() != "Ana Lima" {
		t.Errorf("a second name renamed the lead to %q", p.Client.Name())
	}

	// Another client's address: told the same, nothing merged or added.
	bob := tenantdb.NewWebChatVisitorID()
	bv, err := db.LeaveWebChatEmail(ctx, bob, "known@example.com", "")
	if err != nil || bv.Email != "known@example.com" {
		t.Fatalf("someone else's email: %v (%+v)", err, bv)
	}
	bp, err := db.ClientProfile(ctx, bv.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if bv.ClientID == known.ID || hasContact(bp, app.ContactEmail, "known@example.com") {
		t.Errorf("the visitor took another client's address: %+v", bp.Contacts)
	}
	if kp, _ := db.ClientProfile(ctx, known.ID); len(kp.Contacts) != 1 || kp.Client.Name() != "Known" {
		t.Errorf("the other client changed: %+v", kp)
	}
	if !strings.HasPrefix(bp.Client.Name(), "Website visitor") {
		t.Errorf("lead without a name: got %q, want it still named as a visitor, not by an unconfirmed address", bp.Client.Name())
	}
	msgs, _, err := db.ListMessages(ctx, bv.ChatID, allChats, "", 10)
	if err != nil || len(msgs) != 1 || msgs[0].Kind != app.KindNote || !strings.Contains(msgs[0].Text, "merge") {
		t.Errorf("team note: got %+v (%v), want one note asking to merge", msgs, err)
	}
	if got := texts(t, db, bv, tenantdb.WebChatPage{}); got != "" {
		t.Errorf("the visitor sees %q, want nothing of the note", got)
	}

	for _, tt := range []struct{ name, email, who, field string }{
		{"ErrEmailEmpty", " ", "", "email"},
		{"ErrEmailInvalid", "not an email", "", "email"},
		{"ErrNameTooLong", "x@example.com", strings.Repeat("n", 101), "name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.LeaveWebChatEmail(ctx, tenantdb.NewWebChatVisitorID(), tt.email, tt.who)
			if fe := app.ErrorFields(err); app.ErrorCode(err) != app.EINVALID || len(fe) != 1 || fe[0].Field != tt.field {
				t.Errorf("got %v (fields %v), want EINVALID on %s", err, fe, tt.field)
			}
		})
	}
}

func hasContact(p *app.ClientProfile, typ app.ContactType, value string) bool {
	for _, k := range p.Contacts {
		if k.Type == typ && k.Value == value {
			return true
		}
	}
	return false
}
