package tenantdb_test

import (
	"context"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// previewWorld is a workspace 40 days into its life, the policy below
// about to be saved:
//
//	day 0   Ann writes twice, once with a file; Bea once with a file;
//	        Hal (on legal hold) once with a file
//	day 20  Ann writes again with a file; Dee and Hil (on hold) are
//	        deleted; Mo is merged into Ann
//	day 35  Ann writes with a file; Fay is deleted
//
// Under {messages 30 days, attachments 7 days, deleted clients 10 days} a
// sweep takes Ann's and Bea's day-0 messages (3) with their files (2),
// the file of Ann's day-20 message (1) and Dee (1); legal hold keeps Hal's
// message and file and Hil.
type previewWorld struct {
	f   *fixture
	db  *tenantdb.DB
	hal *app.Client
}

var previewPolicy = app.RetentionPolicy{MessagesDays: 30, AttachmentsDays: 7, DeletedClientsDays: 10}

func newPreviewWorld(t *testing.T) previewWorld {
	t.Helper()
	f, db := providerDB(t)
	ctx := context.Background()
	sms := connect(t, db, app.ChannelTwilioSMS, "SMS")
	n := 0
	write := func(phone, text string, file bool) app.Message {
		t.Helper()
		n++
		in := app.InboundMessage{ChannelID: sms.ID, From: app.ContactInput{Type: app.ContactPhone, Value: phone}, Text: text,
			ProviderMessageID: "SM" + text}
		if file {
			in.Uploads = []app.Upload{{Filename: text + ".txt", Data: []byte(text)}}
		}
		m, _, err := db.ReceiveMessage(ctx, in)
		if err != nil {
			t.Fatalf("receive %s: %v", text, err)
		}
		return m
	}
	const ann, bea, hal = "+447911123456", "+447911123457", "+447911123458"
	write(ann, "a1", true)
	write(ann, "a2", false)
	write(bea, "b1", true)
	h := write(hal, "h1", true)
	halChat, err := db.ChatByID(ctx, h.ChatID, allChats)
	if err != nil {
		t.Fatal(err)
	}
	w := previewWorld{f: f, db: db, hal: &app.Client{ID: halChat.ClientID}}
	if err := db.SetLegalHold(ctx, w.hal.ID, true, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	dee, hil := mustCreate(t, db, app.ClientInput{FirstName: "Dee"}), mustCreate(t, db, app.ClientInput{FirstName: "Hil"})
	mo, fay := mustCreate(t, db, app.ClientInput{FirstName: "Mo"}), mustCreate(t, db, app.ClientInput{FirstName: "Fay"})
	if err := db.SetLegalHold(ctx, hil.ID, true, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	f.advance(20 * 24 * time.Hour)
	a3 := write(ann, "a3", true)
	annChat, _ := db.ChatByID(ctx, a3.ChatID, allChats)
	for _, c := range []*app.Client{dee, hil} {
		if err := db.DeleteClient(ctx, c.ID, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.MergeClients(ctx, annChat.ClientID, app.MergeInput{OtherID: mo.ID}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	f.advance(15 * 24 * time.Hour)
	write(ann, "a4", true)
	if err := db.DeleteClient(ctx, fay.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	f.advance(5 * 24 * time.Hour)
	return w
}

// TestRetentionPreviewMatchesSweep: the preview of a policy, before it is
// saved, counts what the sweep under it then removes, and what legal hold
// keeps; after the sweep only what is held is left to count.
func TestRetentionPreviewMatchesSweep(t *testing.T) {
	for _, mode := range []string{app.RetainDelete, app.RetainAnonymise} {
		t.Run(mode, func(t *testing.T) {
			w := newPreviewWorld(t)
			ctx := context.Background()
			p := previewPolicy
			p.MessagesMode = mode
			before, err := w.db.RetentionPreview(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			want := app.RetentionPreview{Messages: 3, Attachments: 3, Clients: 1,
				Held: app.RetentionHeld{Messages: 1, Attachments: 1, Clients: 1}}
			if mode == app.RetainAnonymise {
				want.Messages, want.Anonymised = 0, 3
			}
			if before != want {
				t.Errorf("preview: got %+v, want %+v", before, want)
			}
			if saved, _ := w.db.RetentionPolicy(ctx); saved.MessagesDays != 0 {
				t.Fatalf("the preview saved the policy: %+v", saved)
			}

			if _, err := w.db.SetRetentionPolicy(ctx, p, app.CLIActor); err != nil {
				t.Fatal(err)
			}
			res, err := w.db.Sweep(ctx, 1000)
			if err != nil || res.More {
				t.Fatalf("sweep: got %+v, %v", res, err)
			}
			got := app.RetentionPreview{Messages: res.Messages, Anonymised: res.Anonymised, Attachments: res.Attachments,
				Clients: res.Clients, Held: before.Held}
			if got != before {
				t.Errorf("the sweep removed %+v, the preview said %+v", res, before)
			}

			after, err := w.db.RetentionPreview(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if after != (app.RetentionPreview{Held: want.Held}) {
				t.Errorf("preview after the sweep: got %+v, want only what is held (%+v)", after, want.Held)
			}
		})
	}
}

// TestRetentionPreviewLegalHold: lifting a hold puts what it kept back in
// the count; the policy's other parts count nothing when they keep
// everything.
func TestRetentionPreviewLegalHold(t *testing.T) {
	w := newPreviewWorld(t)
	ctx := context.Background()
	if err := w.db.SetLegalHold(ctx, w.hal.ID, false, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	got, err := w.db.RetentionPreview(ctx, previewPolicy)
	if err != nil {
		t.Fatal(err)
	}
	want := app.RetentionPreview{Messages: 4, Attachments: 4, Clients: 1, Held: app.RetentionHeld{Clients: 1}}
	if got != want {
		t.Errorf("hold lifted: got %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		name string
		p    app.RetentionPolicy
		want app.RetentionPreview
	}{
		{"KeepEverything", app.RetentionPolicy{}, app.RetentionPreview{}},
		{"OnlyFiles", app.RetentionPolicy{AttachmentsDays: 7}, app.RetentionPreview{Attachments: 4}},
		{"OnlyMessages", app.RetentionPolicy{MessagesDays: 30}, app.RetentionPreview{Messages: 4, Attachments: 3}},
		{"OnlyDeletedClients", app.RetentionPolicy{DeletedClientsDays: 1}, app.RetentionPreview{Clients: 2,
			Held: app.RetentionHeld{Clients: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := w.db.RetentionPreview(ctx, tc.p)
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v, want %+v", got, err, tc.want)
			}
		})
	}
}

func TestRetentionPreviewRefusesBadPolicy(t *testing.T) {
	_, db := providerDB(t)
	for name, p := range map[string]app.RetentionPolicy{
		"ErrNegative": {MessagesDays: -1}, "ErrTooLong": {DeletedClientsDays: 4000}, "ErrMode": {MessagesDays: 3, MessagesMode: "shred"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := db.RetentionPreview(context.Background(), p); app.ErrorCode(err) != app.EINVALID {
				t.Errorf("got %v, want EINVALID", err)
			}
		})
	}
}
