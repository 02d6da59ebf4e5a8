package tenantdb_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

func TestRetentionPolicyDefaultsKeepEverything(t *testing.T) {
	f, db := providerDB(t)
	ctx := context.Background()
	p, err := db.RetentionPolicy(ctx)
	if err != nil || p != (app.RetentionPolicy{MessagesMode: app.RetainDelete}) {
		t.Fatalf("default policy: got %+v, %v", p, err)
	}
	sms := connect(t, db, app.ChannelTwilioSMS, "SMS")
	receive(t, db, sms, app.ContactInput{Type: app.ContactPhone, Value: "+447911123456"}, "old news", "SM1")
	f.advance(10 * 365 * 24 * time.Hour)
	res, err := db.Sweep(ctx, 10)
	if err != nil || res.Messages+res.Anonymised+res.Attachments != 0 {
		t.Errorf("sweep with no policy: got %+v, %v, want nothing removed", res, err)
	}
	for name, bad := range map[string]app.RetentionPolicy{
		"ErrNegative": {MessagesDays: -1}, "ErrTooLong": {AttachmentsDays: 4000}, "ErrMode": {MessagesDays: 30, MessagesMode: "shred"},
	} {
		if _, err := db.SetRetentionPolicy(ctx, bad, app.CLIActor); app.ErrorCode(err) != app.EINVALID {
			t.Errorf("%s: got %v, want EINVALID", name, err)
		}
	}
}

// TestSweepMessages: messages past the policy's age go (or lose their
// content), with their files, in batches; newer ones, and a client on
// legal hold, are untouched; search forgets what went; the sweep records
// counts in the event log.
func TestSweepMessages(t *testing.T) {
	for _, mode := range []string{app.RetainDelete, app.RetainAnonymise} {
		t.Run(mode, func(t *testing.T) {
			f, db := providerDB(t)
			ctx := context.Background()
			sms := connect(t, db, app.ChannelTwilioSMS, "SMS")
			old, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: sms.ID, From: app.ContactInput{Type: app.ContactPhone,
				Value: "+447911123456"}, Text: "zanzibar invoice", ProviderMessageID: "SM-old",
				Uploads: []app.Upload{{Filename: "a.txt", Data: []byte("hello file")}}})
			if err != nil {
				t.Fatal(err)
			}
			held := receive(t, db, sms, app.ContactInput{Type: app.ContactPhone, Value: "+447911123457"}, "zanzibar hold", "SM-held")
			heldChat, _ := db.ChatByID(ctx, held.ChatID, allChats)
			if err := db.SetLegalHold(ctx, heldChat.ClientID, true, app.CLIActor); err != nil {
				t.Fatal(err)
			}
			// More than one batch of old messages.
			for i := range tenantdb.SweepBatch {
				receive(t, db, sms, app.ContactInput{Type: app.ContactPhone, Value: "+447911123458"}, "bulk "+strconv.Itoa(i), "SM-b"+strconv.Itoa(i))
			}
			f.advance(40 * 24 * time.Hour)
			recent := receive(t, db, sms, app.ContactInput{Type: app.ContactPhone, Value: "+447911123456"}, "zanzibar again", "SM-new")
			if _, err := db.SetRetentionPolicy(ctx, app.RetentionPolicy{MessagesDays: 30, MessagesMode: mode}, app.CLIActor); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(db.FilesDir(), old.Attachments[0].ID)
			first, err := db.Sweep(ctx, 1)
			if err != nil || !first.More {
				t.Fatalf("first sweep: got %+v, %v, want a full batch and more to do", first, err)
			}
			second, err := db.Sweep(ctx, 10)
			if err != nil || second.More {
				t.Fatalf("second sweep: got %+v, %v", second, err)
			}
			swept := first.Messages + first.Anonymised + second.Messages + second.Anonymised
			if swept != tenantdb.SweepBatch+1 {
				t.Errorf("swept: got %d, want %d", swept, tenantdb.SweepBatch+1)
			}
			if _, err := os.Stat(file); !os.IsNotExist(err) {
				t.Errorf("the old message's file: got %v, want it removed", err)
			}
			hits, _, err := db.SearchMessages(ctx, "zanzibar", allChats, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			found := map[string]bool{}
			for _, h := range hits {
				found[h.Message.ID] = true
			}
			if found[old.ID] || !found[recent.ID] || !found[held.ID] {
				t.Errorf("search after sweep: got %v, want the recent and held messages only", found)
			}
			m, err := db.MessageByID(ctx, old.ID, allChats)
			switch mode {
			case app.RetainDelete:
				if app.ErrorCode(err) != app.ENOTFOUND {
					t.Errorf("deleted message: got %v, want ENOTFOUND", err)
				}
			case app.RetainAnonymise:
				if err != nil || m.Text != "" || m.Sender.Name != "" || m.ContactValue != "" || len(m.Attachments) != 0 {
					t.Errorf("anonymised message: got %+v, %v", m, err)
				}
			}
			c, _ := db.ChatByID(ctx, recent.ChatID, allChats)
			if c.LastPreview != "zanzibar again" {
				t.Errorf("chat preview: got %q", c.LastPreview)
			}
			evs, _, _ := db.EventsAfter(ctx, 0, 5000)
			var swepts int
			for _, e := range evs {
				if e.Type == app.EventRetentionSwept {
					swepts++
				}
			}
			if swepts != 2 {
				t.Errorf("RetentionSwept events: got %d, want 2", swepts)
			}
		})
	}
}

func TestSweepAttachmentsAndExpired(t *testing.T) {
	f, db := providerDB(t)
	ctx := context.Background()
	sms := connect(t, db, app.ChannelTwilioSMS, "SMS")
	m, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: sms.ID, From: app.ContactInput{Type: app.ContactPhone,
		Value: "+447911123456"}, Text: "see file", ProviderMessageID: "SM1", Uploads: []app.Upload{{Filename: "a.txt", Data: []byte("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateInvite(ctx, app.NewInvite{Email: "late@acme.example", Role: app.RoleAgent}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetRetentionPolicy(ctx, app.RetentionPolicy{AttachmentsDays: 7}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	f.advance(8 * 24 * time.Hour)
	res, err := db.Sweep(ctx, 10)
	if err != nil || res.Attachments != 1 || res.Invites != 1 || res.Messages != 0 {
		t.Fatalf("sweep: got %+v, %v, want the file and the invite", res, err)
	}
	got, err := db.MessageByID(ctx, m.ID, allChats)
	if err != nil || got.Text != "see file" || len(got.Attachments) != 0 {
		t.Errorf("message after its file went: got %+v, %v", got, err)
	}
}

// TestSweepErasesDeletedClients: a client deleted longer ago than the
// policy's grace is erased (a held one is not).
func TestSweepErasesDeletedClients(t *testing.T) {
	f, db := providerDB(t)
	ctx := context.Background()
	gone := mustCreate(t, db, app.ClientInput{FirstName: "Gideon", Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "gideon@example.com"}}})
	held := mustCreate(t, db, app.ClientInput{FirstName: "Hilda"})
	if err := db.SetLegalHold(ctx, held.ID, true, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*app.Client{gone, held} {
		if err := db.DeleteClient(ctx, c.ID, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SetRetentionPolicy(ctx, app.RetentionPolicy{DeletedClientsDays: 30}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if res, err := db.Sweep(ctx, 10); err != nil || res.Clients != 0 {
		t.Fatalf("within the grace: got %+v, %v, want nothing erased", res, err)
	}
	f.advance(31 * 24 * time.Hour)
	res, err := db.Sweep(ctx, 10)
	if err != nil || res.Clients != 1 {
		t.Fatalf("after the grace: got %+v, %v, want one client erased", res, err)
	}
	raw, err := sql.Open("sqlite", "file:"+filepath.ToSlash(db.Path())+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for id, want := range map[string]string{gone.ID: "", held.ID: "Hilda"} {
		var name string
		var erased sql.NullString
		if err := raw.QueryRow(`SELECT first_name, erased_at FROM clients WHERE id = ?`, id).Scan(&name, &erased); err != nil {
			t.Fatal(err)
		}
		if name != want || erased.Valid != (want == "") {
			t.Errorf("client %s: got name %q erased %v, want %q", id, name, erased.Valid, want)
		}
	}
}
