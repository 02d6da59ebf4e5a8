package tenantdb_test

import (
	"context"
	"reflect"
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
	granted, err := db.ListConsents(ctx, app.ConsentFilter{Purpose: app.PurposeMarketing, State: app.ConsentGranted})
	if err != nil || len(granted.Consents) != 1 || granted.Consents[0].ClientID != c.ID || granted.Consents[0].ClientName != "Ann" {
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

// consentWorld is a workspace whose clients hold consents recorded a
// minute apart (Ann's two at the same instant), with grants that lapse
// (all Cat has; Bob's on SMS beside his grant for every channel), and a
// deleted, a merged-away and an erased client who had consented.
type consentWorld struct {
	db                      *tenantdb.DB
	ann, bob, cat, dan, eli *app.Client
	annSMS, annAll, bobAll  time.Time
	catExpiry               time.Time
}

func newConsentWorld(t *testing.T) consentWorld {
	t.Helper()
	f, db := providerDB(t)
	ctx := context.Background()
	w := consentWorld{db: db}
	mk := func(name string) *app.Client {
		return mustCreate(t, db, app.ClientInput{FirstName: name, LastName: "Kowalski"})
	}
	w.ann, w.bob, w.cat, w.dan, w.eli = mk("Ann"), mk("Bob"), mk("Cat"), mk("Dan"), mk("Eli")
	gone, merged := mk("Gus"), mk("Mia")
	record := func(c *app.Client, p app.ConsentPurpose, ch app.Transport, st app.ConsentState, exp *time.Time) time.Time {
		t.Helper()
		got, err := db.RecordConsent(ctx, c.ID, app.ConsentInput{Purpose: p, Channel: ch, State: st, ExpiresAt: exp}, app.CLIActor)
		if err != nil {
			t.Fatalf("record %s %s for %s: %v", p, st, c.FirstName, err)
		}
		return got.UpdatedAt
	}
	w.catExpiry = f.clock().Add(30 * time.Minute)
	record(w.cat, app.PurposeMarketing, app.AnyChannel, app.ConsentGranted, &w.catExpiry)
	f.advance(time.Minute)
	for _, c := range []*app.Client{gone, merged, w.eli} {
		record(c, app.PurposeMarketing, app.AnyChannel, app.ConsentGranted, nil)
	}
	record(w.dan, app.PurposeMarketing, app.TransportEmail, app.ConsentDenied, nil)
	record(w.dan, "newsletter", app.AnyChannel, app.ConsentPending, nil)
	f.advance(time.Minute)
	w.bobAll = record(w.bob, app.PurposeMarketing, app.AnyChannel, app.ConsentGranted, nil)
	record(w.bob, app.PurposeMarketing, app.TransportSMS, app.ConsentGranted, ptr(w.catExpiry.Add(5*time.Minute)))
	record(w.bob, app.PurposeAnalytics, app.AnyChannel, app.ConsentDenied, nil)
	f.advance(time.Minute)
	w.annSMS = record(w.ann, app.PurposeMarketing, app.TransportSMS, app.ConsentGranted, nil)
	w.annAll = record(w.ann, app.PurposeMarketing, app.AnyChannel, app.ConsentGranted, nil)
	f.advance(time.Minute)
	record(w.ann, app.PurposeMarketing, app.TransportEmail, app.ConsentPending, nil)
	if err := db.DeleteClient(ctx, gone.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MergeClients(ctx, w.dan.ID, app.MergeInput{OtherID: merged.ID}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EraseClient(ctx, w.eli.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Hour) // Cat's grant lapses; the sweep has not run
	return w
}

// who lists a page's consents as "first name/channel".
func who(p app.ConsentPage) string {
	var out []string
	for _, c := range p.Consents {
		out = append(out, strings.Fields(c.ClientName)[0]+"/"+string(c.Channel))
	}
	return strings.Join(out, " ")
}

// TestListConsents: a purpose query lists the live clients' consents in
// one state, newest first, narrowed to a channel or not; a grant past its
// expiry is listed as expired, as of its expiry; deleted, merged-away and
// erased clients are left out.
func TestListConsents(t *testing.T) {
	w := newConsentWorld(t)
	ctx := context.Background()
	sms, all, email := app.TransportSMS, app.Transport(app.AnyChannel), app.TransportEmail
	for _, tc := range []struct {
		name string
		f    app.ConsentFilter
		want string
	}{
		// Ann's two grants share their time: the channel breaks the tie.
		{"Granted", app.ConsentFilter{Purpose: "marketing", State: app.ConsentGranted}, "Ann/sms Ann/ Bob/"},
		{"GrantedOnSMS", app.ConsentFilter{Purpose: "marketing", State: app.ConsentGranted, Channel: &sms}, "Ann/sms"},
		{"GrantedForEveryChannel", app.ConsentFilter{Purpose: "Marketing ", State: app.ConsentGranted, Channel: &all}, "Ann/ Bob/"},
		{"Pending", app.ConsentFilter{Purpose: "marketing", State: app.ConsentPending}, "Ann/email"},
		{"DeniedOnEmail", app.ConsentFilter{Purpose: "marketing", State: app.ConsentDenied, Channel: &email}, "Dan/email"},
		{"Expired", app.ConsentFilter{Purpose: "marketing", State: app.ConsentExpired}, "Bob/sms Cat/"},
		{"OwnPurpose", app.ConsentFilter{Purpose: "newsletter", State: app.ConsentPending}, "Dan/"},
		{"NobodyRevoked", app.ConsentFilter{Purpose: "marketing", State: app.ConsentRevoked}, ""},
		{"UnknownPurpose", app.ConsentFilter{Purpose: "loyalty", State: app.ConsentGranted}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := w.db.ListConsents(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := who(page); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if page.Next != "" {
				t.Errorf("next: got %q, want none on a single page", page.Next)
			}
		})
	}

	page, err := w.db.ListConsents(ctx, app.ConsentFilter{Purpose: "marketing", State: app.ConsentExpired})
	if err != nil || len(page.Consents) != 2 {
		t.Fatalf("expired: got %+v, %v", page, err)
	}
	if c := page.Consents[1]; c.State != app.ConsentExpired || !c.Since.Equal(w.catExpiry) || c.ClientName != "Cat Kowalski" {
		t.Errorf("lapsed grant: got state %s since %v name %q, want expired since %v", c.State, c.Since, c.ClientName, w.catExpiry)
	}
	page, _ = w.db.ListConsents(ctx, app.ConsentFilter{Purpose: "marketing", State: app.ConsentGranted})
	if c := page.Consents[2]; c.ClientID != w.bob.ID || !c.Since.Equal(w.bobAll) || c.Source != app.SourceTeam || c.ExpiresAt != nil {
		t.Errorf("Bob's grant: got %+v, want since %v from the team, no expiry", c, w.bobAll)
	}
}

// TestListConsentsPages: pages of one walk every consent once, in order,
// across ties of time, and the lapsed grants merge into Expired's order
// with those recorded as expired.
func TestListConsentsPages(t *testing.T) {
	w := newConsentWorld(t)
	ctx := context.Background()
	if _, err := w.db.RecordConsent(ctx, w.bob.ID, app.ConsentInput{Purpose: "marketing", State: app.ConsentExpired}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    app.ConsentFilter
		want string
	}{
		{"Granted", app.ConsentFilter{Purpose: "marketing", State: app.ConsentGranted}, "Ann/sms Ann/"},
		{"Expired", app.ConsentFilter{Purpose: "marketing", State: app.ConsentExpired}, "Bob/ Bob/sms Cat/"},
		{"ExpiredForEveryChannel", app.ConsentFilter{Purpose: "marketing", State: app.ConsentExpired,
			Channel: ptr(app.Transport(app.AnyChannel))}, "Bob/ Cat/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var walked []string
			f := tc.f
			f.Limit = 1
			for range 10 {
				page, err := w.db.ListConsents(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Consents) > 1 {
					t.Fatalf("page of %d, want at most 1", len(page.Consents))
				}
				if s := who(page); s != "" {
					walked = append(walked, s)
				}
				if page.Next == "" {
					break
				}
				f.Cursor = page.Next
			}
			if got := strings.Join(walked, " "); got != tc.want {
				t.Errorf("walked %q, want %q", got, tc.want)
			}
		})
	}
}

func TestListConsentsRefusesBadFilters(t *testing.T) {
	w := newConsentWorld(t)
	fax := app.Transport("fax")
	for _, tc := range []struct {
		name, field string
		f           app.ConsentFilter
	}{
		{"ErrPurpose", "purpose", app.ConsentFilter{Purpose: "x", State: app.ConsentGranted}},
		{"ErrPurposeMissing", "purpose", app.ConsentFilter{State: app.ConsentGranted}},
		{"ErrState", "state", app.ConsentFilter{Purpose: "marketing", State: "maybe"}},
		{"ErrNotRequested", "state", app.ConsentFilter{Purpose: "marketing", State: app.ConsentNotRequested}},
		{"ErrChannel", "channel", app.ConsentFilter{Purpose: "marketing", State: app.ConsentGranted, Channel: &fax}},
		{"ErrCursor", "cursor", app.ConsentFilter{Purpose: "marketing", State: app.ConsentGranted, Cursor: "not-a-cursor"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.db.ListConsents(context.Background(), tc.f)
			fields := app.ErrorFields(err)
			if app.ErrorCode(err) != app.EINVALID || len(fields) == 0 || fields[0].Field != tc.field {
				t.Errorf("got %v %v, want EINVALID naming %s", err, fields, tc.field)
			}
		})
	}
}

// TestCountConsents: the tally counts live clients per purpose and state
// as they hold now, on any channel or on one, and the rest as not
// requested.
func TestCountConsents(t *testing.T) {
	w := newConsentWorld(t)
	ctx := context.Background()
	tally := func(channel *app.Transport) map[app.ConsentPurpose]map[app.ConsentState]int {
		t.Helper()
		sum, err := w.db.CountConsents(ctx, channel)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Clients != 4 { // Ann, Bob, Cat, Dan
			t.Errorf("live clients: got %d, want 4", sum.Clients)
		}
		var order []string
		out := map[app.ConsentPurpose]map[app.ConsentState]int{}
		for _, p := range sum.Purposes {
			order, out[p.Purpose] = append(order, string(p.Purpose)), p.States
		}
		if got := strings.Join(order, " "); got != "marketing analytics personalisation newsletter" {
			t.Errorf("purposes: got %s, want the built-in ones, then the workspace's own", got)
		}
		return out
	}
	got := tally(nil)
	for _, tc := range []struct {
		purpose app.ConsentPurpose
		state   app.ConsentState
		want    int
	}{
		{"marketing", app.ConsentGranted, 2}, // Ann (twice), Bob
		{"marketing", app.ConsentPending, 1}, // Ann on email
		{"marketing", app.ConsentDenied, 1},  // Dan
		{"marketing", app.ConsentExpired, 2}, // Cat, Bob on SMS: lapsed
		{"marketing", app.ConsentRevoked, 0},
		{"marketing", app.ConsentNotRequested, 0},
		{"analytics", app.ConsentDenied, 1},
		{"analytics", app.ConsentNotRequested, 3},
		{"personalisation", app.ConsentNotRequested, 4},
		{"newsletter", app.ConsentPending, 1},
		{"newsletter", app.ConsentNotRequested, 3},
	} {
		if n := got[tc.purpose][tc.state]; n != tc.want {
			t.Errorf("%s %s: got %d, want %d", tc.purpose, tc.state, n, tc.want)
		}
	}
	sms := tally(ptr(app.TransportSMS))
	if sms["marketing"][app.ConsentGranted] != 1 || sms["marketing"][app.ConsentExpired] != 1 ||
		sms["marketing"][app.ConsentNotRequested] != 2 || sms["newsletter"][app.ConsentPending] != 0 {
		t.Errorf("on SMS: got %v", sms)
	}
	// The sweep records the lapsed grants as expired: nothing counts
	// differently.
	if n, err := w.db.ExpireConsents(ctx); err != nil || n != 2 {
		t.Fatalf("expire: got %d, %v, want 2", n, err)
	}
	if swept := tally(nil); !reflect.DeepEqual(swept, got) {
		t.Errorf("after the sweep: got %v, want %v", swept, got)
	}
	if _, err := w.db.CountConsents(ctx, ptr(app.Transport("fax"))); app.ErrorCode(err) != app.EINVALID {
		t.Errorf("bad channel: got %v, want EINVALID", err)
	}
}
