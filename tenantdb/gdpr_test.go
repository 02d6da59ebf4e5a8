package tenantdb_test

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// subject is a client with something in every table that holds personal
// data, a profile merged into them, and words unique to them (needles)
// that must not survive erasure anywhere in the file.
type subject struct {
	db      *tenantdb.DB
	f       *fixture
	client  *app.Client
	merged  *app.Client
	other   *app.Client
	chatID  string
	attID   string
	needles []string
}

func gdprSetup(t *testing.T) *subject {
	t.Helper()
	f, db := providerDB(t)
	ctx := context.Background()
	ch, err := db.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateCustomField(ctx, app.CustomFieldInput{Label: "Tier", Type: app.FieldText}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	s := &subject{db: db, f: f}
	s.client = mustCreate(t, db, app.ClientInput{FirstName: "Zebedee", LastName: "Quartermaine", BirthDate: "1971-02-03",
		PassportNumber: "X1234567", Comments: "Met at the Ploughshare fair.", Tags: []string{"oatmilk"},
		CustomFields: map[string]string{"tier": "platinumzq"},
		Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "zebedee@example.com"},
			{Type: app.ContactPhone, Value: "+447911123456"}},
		Addresses: []app.AddressInput{{Type: app.AddressShipping, Street: "7 Gorsemoor Lane", City: "Tiverstock", Country: "GB"}}})
	s.merged = mustCreate(t, db, app.ClientInput{FirstName: "Zeb", LastName: "Quartermaine-Old",
		Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "zq.old@example.com"}}})
	s.other = mustCreate(t, db, app.ClientInput{FirstName: "Ottilie", LastName: "Brandt",
		Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "ottilie@example.com"}}})
	actor := app.Actor{Type: app.ActorUser, ID: "01JUSERAAAAAAAAAAAAAAAAAAA", Name: "Agent Smith"}
	note, err := db.AddNote(ctx, s.client.ID, app.NoteInput{Type: app.NoteGeneral, Body: "Prefers lapsang tea."}, actor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.EditNote(ctx, s.client.ID, note.ID, app.NoteInput{Type: app.NoteGeneral, Body: "Prefers oolong tea."}, actor, true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddNote(ctx, s.merged.ID, app.NoteInput{Type: app.NoteSales, Body: "Asked about halberds."}, actor); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordConsent(ctx, s.client.ID, app.ConsentInput{Purpose: app.PurposeMarketing, State: app.ConsentGranted,
		Source: app.SourceTeam, Note: "Signed the Quillfeather form."}, actor); err != nil {
		t.Fatal(err)
	}
	// The merged profile's conversation moves into the survivor's.
	receive(t, db, ch, app.ContactInput{Type: app.ContactEmail, Value: "zq.old@example.com"}, "Old thread about marzipan.", "p-old")
	if _, err := db.MergeClients(ctx, s.client.ID, app.MergeInput{OtherID: s.merged.ID}, actor); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: ch.ID, OptOut: app.OptOutStop, Text: "STOP",
		From: app.ContactInput{Type: app.ContactPhone, Value: "+447911123456"}, ProviderMessageID: "p-2"}); err != nil {
		t.Fatal(err)
	}
	in, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: ch.ID, SenderName: "Zebedee Q",
		From: app.ContactInput{Type: app.ContactEmail, Value: "zebedee@example.com"}, Text: "Any cardamom buns left?",
		ProviderMessageID: "p-1", Uploads: []app.Upload{{Filename: "zebedee-passport.txt", Data: []byte("scan of X1234567")}}})
	if err != nil {
		t.Fatal(err)
	}
	s.chatID = in.ChatID
	out, err := db.SendMessage(ctx, s.chatID, app.SendInput{Text: "Two cardamom buns saved for Zebedee."}, allChats, actor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SandboxDeliver(ctx, app.Outbound{Key: out.ID, Channel: ch, Transport: out.Transport, To: "zebedee@example.com",
		Text: out.Text}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SendMessage(ctx, s.chatID, app.SendInput{Text: "Internal: he whispers about saffronzq.", Note: true}, allChats, actor); err != nil {
		t.Fatal(err)
	}
	msgs, _, err := db.ListMessages(ctx, s.chatID, allChats, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if len(m.Attachments) > 0 {
			s.attID = m.Attachments[0].ID
		}
	}
	// Ottilie's own history, which erasing Zebedee must leave alone.
	receive(t, db, ch, app.ContactInput{Type: app.ContactEmail, Value: "ottilie@example.com"}, "Ottilie asks about cardamom too.", "p-3")
	if _, err := db.AddNote(ctx, s.other.ID, app.NoteInput{Type: app.NoteGeneral, Body: "Ottilie likes oolong as well."}, actor); err != nil {
		t.Fatal(err)
	}
	s.needles = []string{"zebedee", "quartermaine", "zebedee@example.com", "zq.old@example.com", "7911123456",
		"1971-02-03", "x1234567", "ploughshare", "oatmilk", "platinumzq", "gorsemoor", "tiverstock", "lapsang",
		"halberds", "quillfeather", "marzipan", "buns", "saffronzq", "zebedee-passport"}
	return s
}

func buildExport(t *testing.T, db *tenantdb.DB, clientID string) tenantdb.Export {
	t.Helper()
	ctx := context.Background()
	e, err := db.RequestExport(ctx, clientID, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != tenantdb.ExportPending {
		t.Fatalf("requested export: got status %s, want pending", e.Status)
	}
	if e, err = db.BuildExport(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	return e
}

// exportDoc is client.json as a test reads it.
type exportDoc struct {
	Format        string           `json:"format"`
	Client        map[string]any   `json:"client"`
	MergedClients []map[string]any `json:"merged_clients"`
	Contacts      []map[string]any `json:"contacts"`
	Addresses     []map[string]any `json:"addresses"`
	Notes         []map[string]any `json:"notes"`
	Consents      []map[string]any `json:"consents"`
	History       []map[string]any `json:"consent_history"`
	Chats         []map[string]any `json:"chats"`
	Messages      []struct {
		Kind        string           `json:"kind"`
		Visibility  string           `json:"visibility"`
		Body        string           `json:"body"`
		Attachments []map[string]any `json:"attachments"`
	} `json:"messages"`
	Events []struct {
		Type    string         `json:"type"`
		Payload map[string]any `json:"payload"`
	} `json:"events"`
}

func TestExportArchiveHoldsEverything(t *testing.T) {
	t.Parallel()
	s := gdprSetup(t)
	ctx := context.Background()
	e := buildExport(t, s.db, s.client.ID)
	if e.Status != tenantdb.ExportReady || e.Size == 0 || len(e.SHA256) != 64 || e.ExpiresAt == nil ||
		!e.ExpiresAt.Equal(e.CompletedAt.Add(7*24*time.Hour)) {
		t.Fatalf("built export: got %+v, want ready with size, digest and a 7-day expiry", e)
	}
	got, f, err := s.db.OpenExport(ctx, e.ID, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got.Downloads != 1 {
		t.Errorf("downloads: got %d, want 1", got.Downloads)
	}
	info, _ := f.Stat()
	zr, err := zip.NewReader(f, info.Size())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[zf.Name] = string(b)
	}
	if !strings.Contains(files["README.txt"], "consent_history") || !strings.Contains(files["README.txt"], "visibility") {
		t.Errorf("README.txt does not describe the fields: %.200s", files["README.txt"])
	}
	if got := files["attachments/"+s.attID+"-zebedee-passport.txt"]; got != "scan of X1234567" {
		t.Errorf("attachment file: got %q; archive has %v", got, slices.Sorted(mapsKeys(files)))
	}
	var doc exportDoc
	if err := json.Unmarshal([]byte(files["client.json"]), &doc); err != nil {
		t.Fatalf("client.json: %v", err)
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"format", doc.Format == "parley.client-export.v1"},
		{"profile", doc.Client["first_name"] == "Zebedee" && doc.Client["passport_number"] == "X1234567"},
		{"custom field", fmt.Sprint(doc.Client["custom_fields"]) == "[map[key:tier label:Tier type:text value:platinumzq]]"},
		{"tags", fmt.Sprint(doc.Client["tags"]) == "[oatmilk]"},
		{"merged profile", len(doc.MergedClients) == 1 && doc.MergedClients[0]["first_name"] == "Zeb"},
		{"contacts", len(doc.Contacts) == 3},
		{"addresses", len(doc.Addresses) == 1 && doc.Addresses[0]["street"] == "7 Gorsemoor Lane"},
		{"notes", len(doc.Notes) == 2},
		{"consents", len(doc.Consents) == 1 && doc.Consents[0]["state"] == "granted"},
		{"consent history", len(doc.History) == 1 && doc.History[0]["note"] == "Signed the Quillfeather form."},
		{"chats", len(doc.Chats) == 2},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("client.json %s: wrong; got %s", c.name, snippetOf(files["client.json"]))
		}
	}
	var internal, withFile, marzipan bool
	for _, m := range doc.Messages {
		internal = internal || (m.Kind == "note" && m.Visibility == "internal" && strings.Contains(m.Body, "saffronzq"))
		marzipan = marzipan || strings.Contains(m.Body, "marzipan")
		for _, a := range m.Attachments {
			withFile = withFile || a["file"] == "attachments/"+s.attID+"-zebedee-passport.txt"
		}
	}
	if !internal || !withFile || !marzipan {
		t.Errorf("messages: internal note %v, attachment with its file %v, merged chat's message %v; want all", internal, withFile, marzipan)
	}
	types := map[string]bool{}
	for _, ev := range doc.Events {
		types[ev.Type] = true
	}
	for _, want := range []string{"ClientCreated", "NoteEdited", "ConsentChanged", "ClientMerged", "MessageReceived",
		"ChatNotePosted", "ContactOptOutChanged", "ClientExportRequested"} {
		if !types[want] {
			t.Errorf("events: no %s among %v", want, slices.Sorted(mapsKeys(types)))
		}
	}
	// Ottilie's data is not in Zebedee's archive.
	if strings.Contains(strings.ToLower(files["client.json"]), "ottilie") {
		t.Errorf("client.json holds another client's data")
	}
	// The request and the download are in the log.
	for _, typ := range []string{app.EventExportRequested, app.EventExportDownloaded} {
		evs, err := s.db.ListEvents(ctx, app.EventFilter{Type: &typ})
		if err != nil || len(evs) != 1 || evs[0].AggregateID != s.client.ID || evs[0].Actor.Type != app.ActorCLI {
			t.Errorf("%s events: got %+v (%v), want one about the client by the operator", typ, evs, err)
		}
	}
}

func TestExportLifecycle(t *testing.T) {
	t.Parallel()
	s := gdprSetup(t)
	ctx := context.Background()
	t.Run("ErrNotReady", func(t *testing.T) {
		e, err := s.db.RequestExport(ctx, s.client.ID, app.CLIActor)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.db.OpenExport(ctx, e.ID, app.CLIActor); app.ErrorCode(err) != app.ECONFLICT {
			t.Errorf("open pending: got %v, want conflict", err)
		}
		if err := s.db.FailExport(ctx, e.ID, "Disk full."); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.db.ExportByID(ctx, e.ID); got.Status != tenantdb.ExportFailed || got.Error != "Disk full." {
			t.Errorf("failed export: got %+v", got)
		}
		// A job that runs again does not rebuild it.
		if got, err := s.db.BuildExport(ctx, e.ID); err != nil || got.Status != tenantdb.ExportFailed {
			t.Errorf("build failed export: got %s, %v, want failed unchanged", got.Status, err)
		}
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		if _, err := s.db.ExportByID(ctx, "01JNEVEREXISTEDAAAAAAAAAAA"); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("unknown export: got %v, want not found", err)
		}
		if _, err := s.db.RequestExport(ctx, "01JNEVEREXISTEDAAAAAAAAAAA", app.CLIActor); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("export of unknown client: got %v, want not found", err)
		}
		if _, err := s.db.RequestExport(ctx, s.merged.ID, app.CLIActor); app.ErrorCode(err) != app.EMOVED || app.ErrorRef(err) != s.client.ID {
			t.Errorf("export of merged client: got %v, want moved to the survivor", err)
		}
	})
	t.Run("Expires", func(t *testing.T) {
		e := buildExport(t, s.db, s.client.ID)
		path := filepath.Join(s.db.FilesDir(), "exports", e.ID+".zip")
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("archive: %v", err)
		}
		s.f.advance(7*24*time.Hour + time.Second)
		got, err := s.db.ExportByID(ctx, e.ID)
		if err != nil || got.Status != tenantdb.ExportExpired {
			t.Errorf("after 7 days: got %s, %v, want expired", got.Status, err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("archive after expiry: got %v, want it deleted", err)
		}
		if _, _, err := s.db.OpenExport(ctx, e.ID, app.CLIActor); app.ErrorCode(err) != app.EGONE {
			t.Errorf("open expired: got %v, want gone", err)
		}
	})
}

func TestEraseLeavesNothingPersonal(t *testing.T) {
	t.Parallel()
	s := gdprSetup(t)
	ctx := context.Background()
	db := s.db
	e := buildExport(t, db, s.client.ID)
	otherBefore, err := db.ClientProfile(ctx, s.other.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := countEvents(t, db)
	// The scan finds every needle before the erasure.
	found := map[string]bool{}
	for _, hit := range scanFile(t, db.Path(), s.needles) {
		found[strings.Split(hit, `"`)[1]] = true
	}
	for _, n := range s.needles {
		if !found[n] {
			t.Errorf("needle %q is nowhere before the erasure: the scan cannot prove it gone", n)
		}
	}
	who := app.Actor{Type: app.ActorUser, ID: "01JADMINAAAAAAAAAAAAAAAAAA", Name: "Dora Admin"}
	// As the web and the job do it: the request, then the erasure (by
	// whoever asked, whatever runs it).
	if _, err := db.RequestErasure(ctx, s.client.ID, who); err != nil {
		t.Fatal(err)
	}
	res, err := db.CompleteErasure(ctx, s.client.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.MergedClients != 1 || res.Contacts != 3 || res.Notes != 2 || res.Addresses != 1 || res.Consents != 1 ||
		res.ConsentChanges != 1 || res.Chats != 2 || res.Messages < 5 || res.Attachments != 1 || res.Exports != 1 ||
		res.Tags != 1 || res.CustomValues != 1 || res.Events == 0 {
		t.Errorf("erasure counts: got %+v", res)
	}

	t.Run("NoNeedleInAnyTable", func(t *testing.T) {
		for _, hit := range scanFile(t, db.Path(), s.needles) {
			t.Error(hit)
		}
	})
	t.Run("SearchForgets", func(t *testing.T) {
		raw := openRaw(t, db.Path())
		for _, w := range []string{"zebedee", "quartermaine", "oolong", "cardamom", "saffronzq", "marzipan"} {
			var n int
			if err := raw.QueryRow(`SELECT (SELECT count(*) FROM clients_fts WHERE clients_fts MATCH ?1
					AND rowid != (SELECT seq FROM clients WHERE id = ?2))
				+ (SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?1 AND rowid NOT IN
					(SELECT m.seq FROM messages m JOIN chats c ON c.id = m.chat_id WHERE c.client_id = ?2))`, w, s.other.ID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("search for %q: %d matches, want none", w, n)
			}
		}
		page, err := db.SearchClients(ctx, app.ClientFilter{Query: "zebedee"})
		if err != nil || len(page.Hits) != 0 {
			t.Errorf("client search: got %d hits (%v), want none", len(page.Hits), err)
		}
	})
	t.Run("EventsAnonymised", func(t *testing.T) {
		// The request writes ClientErasureStarted and holds back the one
		// message still queued (MessageStatusChanged); the job ClientErased.
		if after := countEvents(t, db); after != before+3 {
			t.Errorf("events: got %d, want the %d there were and the erasure's three", after, before)
		}
		for _, typ := range []string{app.EventClientErasureStarted, app.EventClientErased} {
			evs, err := db.ListEvents(ctx, app.EventFilter{Type: &typ})
			if err != nil || len(evs) != 1 || evs[0].Actor != who || evs[0].AggregateID != s.client.ID {
				t.Fatalf("%s events: got %+v (%v), want one by who asked", typ, evs, err)
			}
		}
		typ := app.EventClientErased
		evs, err := db.ListEvents(ctx, app.EventFilter{Type: &typ})
		if err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		json.Unmarshal(evs[0].Payload, &p)
		if p["messages"] != float64(res.Messages) || p["contacts"] != float64(3) {
			t.Errorf("erasure event payload: got %v, want the counts", p)
		}
		all, err := db.ListEvents(ctx, app.EventFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		var erased int
		for _, ev := range all {
			if strings.Contains(string(ev.Payload), `"erased":true`) {
				erased++
				if ev.Type == app.EventConsentChanged && !strings.Contains(string(ev.Payload), `"state":"granted"`) {
					t.Errorf("consent event lost its state: %s", ev.Payload)
				}
			}
		}
		if erased != res.Events {
			t.Errorf("anonymised events: got %d, want %d", erased, res.Events)
		}
	})
	t.Run("Gone", func(t *testing.T) {
		for _, id := range []string{s.client.ID, s.merged.ID} {
			if _, err := db.ClientByID(ctx, id); app.ErrorCode(err) != app.ENOTFOUND {
				t.Errorf("client %s after erasure: got %v, want not found", id, err)
			}
		}
		if _, err := db.EraseClient(ctx, s.client.ID, who); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("erasing again: got %v, want not found", err)
		}
		if _, err := db.CompleteErasure(ctx, s.client.ID); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("a job running again: got %v, want not found (nothing to do)", err)
		}
		if ids, err := db.PendingErasures(ctx, s.f.clock().Add(time.Hour), 10); err != nil || len(ids) != 0 {
			t.Errorf("pending erasures after it is done: got %v (%v), want none", ids, err)
		}
		if _, err := db.ExportByID(ctx, e.ID); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("export after erasure: got %v, want not found", err)
		}
		if _, err := os.Stat(filepath.Join(db.FilesDir(), "exports", e.ID+".zip")); !os.IsNotExist(err) {
			t.Errorf("export archive after erasure: got %v, want deleted", err)
		}
		if _, err := os.Stat(filepath.Join(db.FilesDir(), s.attID)); !os.IsNotExist(err) {
			t.Errorf("attachment file after erasure: got %v, want deleted", err)
		}
	})
	t.Run("OthersUntouched", func(t *testing.T) {
		after, err := db.ClientProfile(ctx, s.other.ID)
		if err != nil {
			t.Fatal(err)
		}
		b1, _ := json.Marshal(otherBefore)
		b2, _ := json.Marshal(after)
		if !bytes.Equal(b1, b2) {
			t.Errorf("other client changed:\n%s\n%s", b1, b2)
		}
		hits, _, err := db.SearchMessages(ctx, "cardamom", allChats, "", 10)
		if err != nil || len(hits) != 1 {
			t.Errorf("other client's message search: got %d hits (%v), want 1", len(hits), err)
		}
		page, err := db.SearchClients(ctx, app.ClientFilter{Query: "oolong"})
		if err != nil || len(page.Hits) != 1 || page.Hits[0].Client.ID != s.other.ID {
			t.Errorf("other client's note search: got %+v (%v)", page.Hits, err)
		}
	})
	t.Run("OptOutSurvives", func(t *testing.T) {
		back := mustCreate(t, db, app.ClientInput{FirstName: "New", Contacts: []app.ContactInput{{Type: app.ContactPhone, Value: "+447911123456"}}})
		p, err := db.ClientProfile(ctx, back.ID)
		if err != nil || len(p.Contacts) != 1 || p.Contacts[0].OptedOutAt == nil {
			t.Errorf("re-imported number: got %+v (%v), want it still opted out", p.Contacts, err)
		}
	})
	t.Run("WriterBackToFastSecureDelete", func(t *testing.T) {
		if v, err := tenantdb.WriterPragmaForTest(db, "secure_delete"); err != nil || v != 2 {
			t.Errorf("writer secure_delete after the erasure: got %d (%v), want 2 (fast)", v, err)
		}
	})
}

func TestEraseRefusals(t *testing.T) {
	t.Parallel()
	s := gdprSetup(t)
	ctx := context.Background()
	t.Run("ErrLegalHold", func(t *testing.T) {
		if err := tenantdb.ExecForTest(s.db, `UPDATE clients SET legal_hold = 1 WHERE id = '`+s.client.ID+`'`); err != nil {
			t.Fatal(err)
		}
		before := countEvents(t, s.db)
		_, err := s.db.RequestErasure(ctx, s.client.ID, app.CLIActor)
		if app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(app.ErrorMessage(err), "legal hold") {
			t.Fatalf("erase on hold: got %v, want a conflict naming the legal hold", err)
		}
		if _, err := s.db.EraseClient(ctx, s.client.ID, app.CLIActor); app.ErrorCode(err) != app.ECONFLICT {
			t.Fatalf("erase on hold at once: got %v, want a conflict", err)
		}
		if p, err := s.db.ClientProfile(ctx, s.client.ID); err != nil || len(p.Notes) != 2 || len(p.Contacts) != 3 {
			t.Errorf("client on hold after refused erasure: got %v", err)
		}
		if page, err := s.db.SearchClients(ctx, app.ClientFilter{Query: "zebedee"}); err != nil || len(page.Hits) != 1 {
			t.Errorf("client on hold in search: got %d hits (%v), want 1", len(page.Hits), err)
		}
		if ids, err := s.db.PendingErasures(ctx, s.f.clock().Add(time.Hour), 10); err != nil || len(ids) != 0 {
			t.Errorf("pending erasures: got %v (%v), want none", ids, err)
		}
		if _, err := s.db.CompleteErasure(ctx, s.client.ID); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("a job for a refused request: got %v, want not found (nothing requested)", err)
		}
		if after := countEvents(t, s.db); after != before {
			t.Errorf("events: got %d, want %d (a refusal writes nothing)", after, before)
		}
		tenantdb.ExecForTest(s.db, `UPDATE clients SET legal_hold = 0`)
	})
	t.Run("ErrMergedAway", func(t *testing.T) {
		if _, err := s.db.EraseClient(ctx, s.merged.ID, app.CLIActor); app.ErrorCode(err) != app.EMOVED {
			t.Errorf("erase merged client: got %v, want moved", err)
		}
	})
	t.Run("DeletedClient", func(t *testing.T) {
		if err := s.db.DeleteClient(ctx, s.other.ID, app.CLIActor); err != nil {
			t.Fatal(err)
		}
		// Deleted is not purged: the data is still held, so it can be erased.
		if _, err := s.db.EraseClient(ctx, s.other.ID, app.CLIActor); err != nil {
			t.Errorf("erase deleted client: got %v", err)
		}
		if hits := scanFile(t, s.db.Path(), []string{"ottilie", "brandt"}); len(hits) > 0 {
			t.Errorf("deleted client after erasure: %v", hits)
		}
	})
	t.Run("EventLogStillAppendOnly", func(t *testing.T) {
		for _, stmt := range []string{
			`UPDATE events SET payload = '{}'`,
			`UPDATE events SET type = 'X', redacted_at = '2026-01-01' WHERE redacted_at IS NULL`,
			`UPDATE events SET payload = '{}', redacted_at = '2027-01-01' WHERE redacted_at IS NOT NULL`,
			`DELETE FROM events`,
		} {
			if err := tenantdb.ExecForTest(s.db, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: got %v, want refused", stmt, err)
			}
		}
	})
}

// TestErasureRequest: a request checks, hides the client at once, stops
// what would be sent to them and is recorded once; the erasure itself
// waits for the job (CompleteErasure).
func TestErasureRequest(t *testing.T) {
	t.Parallel()
	s := gdprSetup(t)
	ctx := context.Background()
	db := s.db
	queued, err := db.SendMessage(ctx, s.chatID, app.SendInput{Text: "Your buns are ready."}, allChats, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	failed, err := db.SendMessage(ctx, s.chatID, app.SendInput{Text: "This one bounced."}, allChats, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if err := tenantdb.ExecForTest(db, `UPDATE messages SET status = 'failed' WHERE id = '`+failed.ID+`'`); err != nil {
		t.Fatal(err)
	}
	who := app.Actor{Type: app.ActorUser, ID: "01JADMINAAAAAAAAAAAAAAAAAA", Name: "Dora Admin"}
	req, err := db.RequestErasure(ctx, s.client.ID, who)
	if err != nil {
		t.Fatal(err)
	}
	if req.ClientID != s.client.ID || req.RequestedBy != who || !req.RequestedAt.Equal(s.f.clock()) {
		t.Errorf("request: got %+v, want by %v at %v", req, who, s.f.clock())
	}
	started := app.EventClientErasureStarted
	t.Run("RepeatIsTheSameRequest", func(t *testing.T) {
		s.f.advance(time.Minute)
		before := countEvents(t, db)
		again, err := db.RequestErasure(ctx, s.client.ID, app.CLIActor)
		if err != nil || again != req {
			t.Errorf("second request: got %+v (%v), want the first %+v", again, err, req)
		}
		if after := countEvents(t, db); after != before {
			t.Errorf("events after a second request: got %d, want %d", after, before)
		}
	})
	t.Run("HiddenAtOnce", func(t *testing.T) {
		if _, err := db.ClientByID(ctx, s.client.ID); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("profile: got %v, want not found", err)
		}
		if page, err := db.SearchClients(ctx, app.ClientFilter{Query: "zebedee"}); err != nil || len(page.Hits) != 0 {
			t.Errorf("search: got %d hits (%v), want none", len(page.Hits), err)
		}
		if page, err := db.SearchClients(ctx, app.ClientFilter{}); err != nil || len(page.Hits) != 1 || page.Hits[0].Client.ID != s.other.ID {
			t.Errorf("list: got %+v (%v), want only the other client", page.Hits, err)
		}
		name := "Zed"
		if _, err := db.UpdateClient(ctx, s.client.ID, app.ClientUpdate{FirstName: &name}, app.CLIActor); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("edit: got %v, want not found", err)
		}
	})
	t.Run("NothingSent", func(t *testing.T) {
		m, err := db.MessageByID(ctx, queued.ID, allChats)
		if err != nil || m.Status != app.StatusFailed || !strings.Contains(m.FailureReason, "being erased") {
			t.Errorf("queued message: got %s %q (%v), want failed as being erased", m.Status, m.FailureReason, err)
		}
		if _, err := db.BeginDelivery(ctx, queued.ID); err != tenantdb.ErrNotQueued {
			t.Errorf("its send job: got %v, want not queued", err)
		}
		for name, send := range map[string]func() error{
			"Send": func() error {
				_, err := db.SendMessage(ctx, s.chatID, app.SendInput{Text: "One more thing"}, allChats, app.CLIActor)
				return err
			},
			"Note": func() error {
				_, err := db.SendMessage(ctx, s.chatID, app.SendInput{Text: "fyi", Note: true}, allChats, app.CLIActor)
				return err
			},
			"Retry":  func() error { _, err := db.RetryMessage(ctx, failed.ID, allChats, app.CLIActor); return err },
			"Export": func() error { _, err := db.RequestExport(ctx, s.client.ID, app.CLIActor); return err },
		} {
			if err := send(); app.ErrorCode(err) != app.ECONFLICT || !strings.Contains(app.ErrorMessage(err), "being erased") {
				t.Errorf("%s: got %v, want a conflict saying the client is being erased", name, err)
			}
		}
	})
	t.Run("PendingUntilDone", func(t *testing.T) {
		if ids, err := db.PendingErasures(ctx, req.RequestedAt, 10); err != nil || len(ids) != 0 {
			t.Errorf("pending before the request: got %v (%v), want none", ids, err)
		}
		if ids, err := db.PendingErasures(ctx, s.f.clock(), 10); err != nil || len(ids) != 1 || ids[0] != s.client.ID {
			t.Errorf("pending: got %v (%v), want the client", ids, err)
		}
		// Not erased yet: the data is still there for the job.
		if hits := scanFile(t, db.Path(), []string{"cardamom buns saved"}); len(hits) == 0 {
			t.Errorf("messages went before the job ran")
		}
		res, err := db.CompleteErasure(ctx, s.client.ID)
		if err != nil || res.Chats != 2 || res.Messages == 0 {
			t.Fatalf("the job: got %+v (%v)", res, err)
		}
		if ids, err := db.PendingErasures(ctx, s.f.clock(), 10); err != nil || len(ids) != 0 {
			t.Errorf("pending after the job: got %v (%v), want none", ids, err)
		}
		if hits := scanFile(t, db.Path(), s.needles); len(hits) > 0 {
			t.Errorf("after the job: %v", hits)
		}
		for _, typ := range []string{started, app.EventClientErased} {
			evs, err := db.ListEvents(ctx, app.EventFilter{Type: &typ})
			if err != nil || len(evs) != 1 || evs[0].Actor != who || !evs[0].OccurredAt.Equal(map[string]time.Time{
				started: req.RequestedAt, app.EventClientErased: s.f.clock()}[typ]) {
				t.Errorf("%s: got %+v (%v), want one by who asked", typ, evs, err)
			}
		}
		if _, err := db.RequestErasure(ctx, s.client.ID, who); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("request once erased: got %v, want not found", err)
		}
	})
}

// TestErasureRequestRefusals: a client that may not be erased is refused
// before anything is written.
func TestErasureRequestRefusals(t *testing.T) {
	t.Parallel()
	s := gdprSetup(t)
	ctx := context.Background()
	before := countEvents(t, s.db)
	for name, tc := range map[string]struct {
		id   string
		want string
	}{
		"ErrMergedAway": {s.merged.ID, app.EMOVED},
		"ErrUnknown":    {"01JNEVEREXISTEDAAAAAAAAAAA", app.ENOTFOUND},
	} {
		if _, err := s.db.RequestErasure(ctx, tc.id, app.CLIActor); app.ErrorCode(err) != tc.want {
			t.Errorf("%s: got %v, want %s", name, err, tc.want)
		}
	}
	if after := countEvents(t, s.db); after != before {
		t.Errorf("events: got %d, want %d", after, before)
	}
}

// TestSweepLeavesPendingErasureToItsJob: the retention sweep does not
// erase a deleted client whose erasure was requested (the job does, and
// the log says who asked), and erases the others as before.
func TestSweepLeavesPendingErasureToItsJob(t *testing.T) {
	t.Parallel()
	s := gdprSetup(t)
	ctx := context.Background()
	db := s.db
	for _, id := range []string{s.client.ID, s.other.ID} {
		if err := db.DeleteClient(ctx, id, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	who := app.Actor{Type: app.ActorToken, ID: "01JTOKENAAAAAAAAAAAAAAAAAA", Name: "DPO script"}
	if _, err := db.RequestErasure(ctx, s.client.ID, who); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetRetentionPolicy(ctx, app.RetentionPolicy{DeletedClientsDays: 30}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	s.f.advance(31 * 24 * time.Hour)
	res, err := db.Sweep(ctx, 10)
	if err != nil || res.Clients != 1 {
		t.Fatalf("sweep: got %+v, %v, want the other client erased", res, err)
	}
	if hits := scanFile(t, db.Path(), []string{"ottilie"}); len(hits) > 0 {
		t.Errorf("swept client: %v", hits)
	}
	if hits := scanFile(t, db.Path(), []string{"zebedee"}); len(hits) == 0 {
		t.Errorf("the pending erasure was carried out by the sweep, not its job")
	}
	if ids, err := db.PendingErasures(ctx, s.f.clock(), 10); err != nil || len(ids) != 1 || ids[0] != s.client.ID {
		t.Errorf("pending after the sweep: got %v (%v), want the client", ids, err)
	}
	if _, err := db.CompleteErasure(ctx, s.client.ID); err != nil {
		t.Fatal(err)
	}
	typ := app.EventClientErased
	evs, err := db.ListEvents(ctx, app.EventFilter{Type: &typ})
	if err != nil || len(evs) != 2 {
		t.Fatalf("erased events: got %d (%v), want two", len(evs), err)
	}
	by := map[string]app.Actor{}
	for _, ev := range evs {
		by[ev.AggregateID] = ev.Actor
	}
	if by[s.client.ID] != who || by[s.other.ID] != app.SystemActor {
		t.Errorf("erased by: got %v, want the requester for the request and the system for the sweep", by)
	}
}

// TestExportRacingErasure: an archive being built when its client is
// erased does not survive the erasure.
func TestExportRacingErasure(t *testing.T) {
	t.Parallel()
	s := gdprSetup(t)
	ctx := context.Background()
	e, err := s.db.RequestExport(ctx, s.client.ID, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.EraseClient(ctx, s.client.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.BuildExport(ctx, e.ID); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("build after erasure: got %v, want not found", err)
	}
	entries, _ := os.ReadDir(filepath.Join(s.db.FilesDir(), "exports"))
	if len(entries) != 0 {
		t.Errorf("exports directory: got %d files, want none", len(entries))
	}
}

func TestEachEventOldestFirstInRange(t *testing.T) {
	t.Parallel()
	s := gdprSetup(t)
	ctx := context.Background()
	var all []app.Event
	if err := s.db.EachEvent(ctx, app.EventFilter{}, func(ev app.Event) error { all = append(all, ev); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != countEvents(t, s.db) || !slices.IsSortedFunc(all, func(a, b app.Event) int { return strings.Compare(a.ID, b.ID) }) {
		t.Errorf("every event: got %d, want %d oldest first", len(all), countEvents(t, s.db))
	}
	typ := app.EventNoteAdded
	from := s.f.clock().Add(-time.Hour)
	var notes int
	if err := s.db.EachEvent(ctx, app.EventFilter{Type: &typ, From: &from}, func(app.Event) error { notes++; return nil }); err != nil {
		t.Fatal(err)
	}
	if notes != 3 {
		t.Errorf("NoteAdded events: got %d, want 3", notes)
	}
	to := from
	if err := s.db.EachEvent(ctx, app.EventFilter{To: &to}, func(app.Event) error { return fmt.Errorf("unexpected") }); err != nil {
		t.Errorf("events before the range: got %v, want none", err)
	}
}

func countEvents(t *testing.T, db *tenantdb.DB) int {
	t.Helper()
	var n int
	if err := openRaw(t, db.Path()).QueryRow(`SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// openRaw opens a tenant file read-only beside the manager's handle.
func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// scanFile reads every row of every table of the file, the search
// indexes' own tables included, and reports each needle it finds.
func scanFile(t *testing.T, path string, needles []string) []string {
	t.Helper()
	raw := openRaw(t, path)
	tables, err := raw.Query(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	var hits []string
	for _, table := range names {
		rows, err := raw.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				var s string
				switch x := v.(type) {
				case []byte:
					s = string(x)
				case string:
					s = x
				default:
					continue
				}
				s = strings.ToLower(s)
				for _, n := range needles {
					if strings.Contains(s, n) {
						hits = append(hits, fmt.Sprintf("%s.%s holds %q: %.120q", table, cols[i], n, s))
					}
				}
			}
		}
		rows.Close()
	}
	return hits
}

func mapsKeys[M ~map[string]V, V any](m M) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func snippetOf(s string) string {
	if len(s) > 800 {
		return s[:800] + "…"
	}
	return s
}
