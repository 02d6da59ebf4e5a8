package tenantdb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

func consentClient(t *testing.T, db *tenantdb.DB) *app.Client {
	t.Helper()
	return mustCreate(t, db, app.ClientInput{FirstName: "Ann", Contacts: []app.ContactInput{
		{Type: app.ContactEmail, Value: "ann@example.com"}, {Type: app.ContactPhone, Value: "+447911123456"}}})
}

func TestConsentStateMachine(t *testing.T) {
	_, db := providerDB(t)
	ctx := context.Background()
	c := consentClient(t, db)
	steps := []struct {
		name  string
		state app.ConsentState
		ok    bool
	}{
		{"ErrRevokeNothing", app.ConsentRevoked, false},
		{"Ask", app.ConsentPending, true},
		{"ErrExpirePending", app.ConsentExpired, false},
		{"Grant", app.ConsentGranted, true},
		{"Renew", app.ConsentGranted, true},
		{"Revoke", app.ConsentRevoked, true},
		{"ErrDenyRevoked", app.ConsentDenied, false},
		{"GrantAgain", app.ConsentGranted, true},
	}
	for _, s := range steps {
		_, err := db.RecordConsent(ctx, c.ID, app.ConsentInput{Purpose: "Marketing ", Channel: "SMS", State: s.state,
			Note: "on the phone"}, app.CLIActor)
		if (err == nil) != s.ok {
			t.Fatalf("%s: got %v, want ok %v", s.name, err, s.ok)
		}
	}
	cs, hist, err := db.ClientConsents(ctx, c.ID)
	if err != nil || len(cs) != 1 || cs[0].Purpose != app.PurposeMarketing || cs[0].Channel != app.TransportSMS ||
		cs[0].State != app.ConsentGranted || cs[0].Source != app.SourceTeam {
		t.Fatalf("consents: got %+v, %v", cs, err)
	}
	var moves []string
	for _, h := range hist {
		moves = append(moves, string(h.From)+">"+string(h.To))
	}
	if got, want := strings.Join(moves, " "), "revoked>granted granted>revoked granted>granted pending>granted not_requested>pending"; got != want {
		t.Errorf("history: got %s, want %s (newest first)", got, want)
	}
	if hist[0].Actor.Type != app.CLIActor.Type || hist[0].Note != "on the phone" {
		t.Errorf("change record: got %+v", hist[0])
	}
	if err := tenantdb.ExecForTest(db, `UPDATE consent_changes SET to_state = 'denied'`); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("editing history: got %v, want refused", err)
	}
	for name, in := range map[string]app.ConsentInput{
		"ErrPurpose": {Purpose: "x", State: app.ConsentPending},
		"ErrChannel": {Purpose: "marketing", Channel: "fax", State: app.ConsentPending},
		"ErrState":   {Purpose: "marketing", State: "maybe"},
		"ErrExpiry":  {Purpose: "marketing", State: app.ConsentPending, ExpiresAt: ptr(time.Now().Add(time.Hour))},
	} {
		if _, err := db.RecordConsent(ctx, c.ID, in, app.CLIActor); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("%s: got %v, want EINVALID", name, err)
		}
	}
	if _, err := db.RecordConsent(ctx, "nobody", app.ConsentInput{Purpose: "marketing", State: app.ConsentPending}, app.CLIActor); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("unknown client: got %v, want ENOTFOUND", err)
	}
	granted, err := db.ConsentsByPurpose(ctx, app.PurposeMarketing, app.ConsentGranted, 10)
	if err != nil || len(granted) != 1 || granted[0].ClientID != c.ID {
		t.Errorf("by purpose: got %+v, %v", granted, err)
	}
}

// TestMarketingNeedsConsent: a marketing message is refused without a
// grant for its channel, at send time and again in the worker if the
// consent is withdrawn while it waits; a grant expires on time.
func TestMarketingNeedsConsent(t *testing.T) {
	f, db := providerDB(t)
	ctx := context.Background()
	sms := connect(t, db, app.ChannelTwilioSMS, "SMS")
	connect(t, db, app.ChannelEmail, "Mail")
	in := receive(t, db, sms, app.ContactInput{Type: app.ContactPhone, Value: "+447911123456"}, "hello", "SM1")
	c, _ := db.ChatByID(ctx, in.ChatID, allChats)
	if _, err := db.AddContact(ctx, c.ClientID, app.ContactInput{Type: app.ContactEmail, Value: "ann@example.com"}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	profile, _ := db.ClientProfile(ctx, c.ClientID)
	contact := map[app.ContactType]string{}
	for _, k := range profile.Contacts {
		contact[k.Type] = k.ID
	}
	send := func(t app.ContactType) error {
		_, err := db.SendMessage(ctx, in.ChatID, app.SendInput{Text: "Spring sale", Marketing: true, ContactID: contact[t]}, allChats, app.CLIActor)
		return err
	}
	grant := func(ch app.Transport, state app.ConsentState, exp *time.Time) {
		if _, err := db.RecordConsent(ctx, c.ClientID, app.ConsentInput{Purpose: app.PurposeMarketing, Channel: ch, State: state, ExpiresAt: exp}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	if err := send(app.ContactPhone); app.ErrorCode(err) != app.EINVALID {
		t.Fatalf("no consent: got %v, want refused", err)
	}
	if _, err := db.SendMessage(ctx, in.ChatID, app.SendInput{Text: "Your order shipped"}, allChats, app.CLIActor); err != nil {
		t.Errorf("a transactional reply: %v", err)
	}
	grant(app.AnyChannel, app.ConsentGranted, ptr(f.clock().Add(time.Hour)))
	grant(app.TransportEmail, app.ConsentDenied, nil)
	if err := send(app.ContactPhone); err != nil {
		t.Errorf("granted for every channel: %v", err)
	}
	if err := send(app.ContactEmail); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("denied on email: got %v, want refused", err)
	}
	queued, err := db.SendMessage(ctx, in.ChatID, app.SendInput{Text: "Last chance", Marketing: true, ContactID: contact[app.ContactPhone]}, allChats, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	f.advance(2 * time.Hour) // the grant lapses while the message waits
	if d, err := db.BeginDelivery(ctx, queued.ID); err != nil || !d.NoConsent {
		t.Errorf("delivery after expiry: got no consent %v, %v, want held back", d.NoConsent, err)
	}
	if n, err := db.ExpireConsents(ctx); err != nil || n != 1 {
		t.Errorf("expiry sweep: got %d, %v, want 1", n, err)
	}
	cs, hist, _ := db.ClientConsents(ctx, c.ClientID)
	for _, k := range cs {
		if k.Channel == app.AnyChannel && k.State != app.ConsentExpired {
			t.Errorf("after the sweep: got %s, want expired", k.State)
		}
	}
	if hist[0].Source != app.SourceRetention || hist[0].To != app.ConsentExpired {
		t.Errorf("sweep record: got %+v", hist[0])
	}
}

// TestSuppressionOutlivesTheContact: a number that replied STOP stays
// opted out when it comes back on another client (after an erasure or a
// re-import), and START lifts it.
func TestSuppressionOutlivesTheContact(t *testing.T) {
	_, db := providerDB(t)
	ctx := context.Background()
	sms := connect(t, db, app.ChannelTwilioSMS, "SMS")
	from := app.ContactInput{Type: app.ContactPhone, Value: "+447911123456"}
	m, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: sms.ID, From: from, Text: "STOP", ProviderMessageID: "SM1", OptOut: app.OptOutStop})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := db.ChatByID(ctx, m.ChatID, allChats)
	if err := db.RemoveContact(ctx, c.ClientID, m.ContactID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	again := mustCreate(t, db, app.ClientInput{FirstName: "Imported", Contacts: []app.ContactInput{{Type: app.ContactWhatsApp, Value: "+447911123456"}}})
	p, _ := db.ClientProfile(ctx, again.ID)
	if p.Contacts[0].OptedOutAt == nil {
		t.Fatal("a re-imported number that replied STOP was not opted out")
	}
	fresh := mustCreate(t, db, app.ClientInput{FirstName: "Other", Contacts: []app.ContactInput{{Type: app.ContactPhone, Value: "+447911123457"}}})
	if p, _ := db.ClientProfile(ctx, fresh.ID); p.Contacts[0].OptedOutAt != nil {
		t.Error("a number that never opted out is opted out")
	}
	if _, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: sms.ID, From: app.ContactInput{Type: app.ContactWhatsApp, Value: "+447911123456"},
		Text: "START", ProviderMessageID: "SM2", OptOut: app.OptOutStart}); err != nil {
		t.Fatal(err)
	}
	if p, _ := db.ClientProfile(ctx, again.ID); p.Contacts[0].OptedOutAt != nil {
		t.Error("START did not lift the opt-out")
	}
}
