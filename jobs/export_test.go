package jobs_test

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// waitExport polls the export until its status is no longer pending.
func waitExport(t *testing.T, db *tenantdb.DB, id string) tenantdb.Export {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		e, err := db.ExportByID(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status != tenantdb.ExportPending {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("export %s: still pending", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestExportJobBuildsArchive(t *testing.T) {
	t.Parallel()
	e := setupProviders(t, nil)
	ctx := context.Background()
	c, err := e.db.CreateClient(ctx, app.ClientInput{FirstName: "Greta", LastName: "Lindqvist",
		Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "greta@example.com"}}}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.AddNote(ctx, c.ID, app.NoteInput{Type: app.NoteGeneral, Body: "Allergic to hazelnuts."}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	req, err := e.db.RequestExport(ctx, c.ID, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	// Enqueuing twice is harmless: the job is unique by (tenant, export).
	for range 2 {
		if err := e.jobs.EnqueueExport(ctx, e.tenant, req.ID); err != nil {
			t.Fatal(err)
		}
	}
	got := waitExport(t, e.db, req.ID)
	if got.Status != tenantdb.ExportReady || got.ExpiresAt == nil {
		t.Fatalf("export: got %+v, want ready with an expiry", got)
	}
	_, f, err := e.db.OpenExport(ctx, req.ID, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, _ := f.Stat()
	zr, err := zip.NewReader(f, info.Size())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Client struct {
			FirstName string `json:"first_name"`
		} `json:"client"`
		Notes []struct {
			Body string `json:"body"`
		} `json:"notes"`
	}
	for _, zf := range zr.File {
		if zf.Name == "client.json" {
			rc, _ := zf.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
		}
	}
	if doc.Client.FirstName != "Greta" || len(doc.Notes) != 1 || doc.Notes[0].Body != "Allergic to hazelnuts." {
		t.Errorf("client.json: got %+v, want Greta with her note", doc)
	}
}

// TestExportJobAfterErasure: a job for an export whose client was erased
// before it ran ends quietly and leaves no archive.
func TestExportJobAfterErasure(t *testing.T) {
	t.Parallel()
	e := setupProviders(t, nil)
	ctx := context.Background()
	c, err := e.db.CreateClient(ctx, app.ClientInput{FirstName: "Hugo"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	erased, err := e.db.RequestExport(ctx, c.ID, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.EraseClient(ctx, c.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	other, err := e.db.CreateClient(ctx, app.ClientInput{FirstName: "Ida"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	later, err := e.db.RequestExport(ctx, other.ID, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{erased.ID, later.ID} {
		if err := e.jobs.EnqueueExport(ctx, e.tenant, id); err != nil {
			t.Fatal(err)
		}
	}
	// The erased export's job was inserted first; by the time the later
	// one is built (and a little after) it has had its turn.
	waitExport(t, e.db, later.ID)
	time.Sleep(100 * time.Millisecond)
	if _, err := e.db.ExportByID(ctx, erased.ID); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("erased client's export: got %v, want not found", err)
	}
	entries, _ := os.ReadDir(filepath.Join(e.db.FilesDir(), "exports"))
	if len(entries) != 1 || entries[0].Name() != later.ID+".zip" {
		var names []string
		for _, d := range entries {
			names = append(names, d.Name())
		}
		t.Errorf("exports directory: got %v, want only %s.zip", names, later.ID)
	}
}
