package tenantdb_test

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"io/fs"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/prometheus/client_golang/prometheus"

	"parley/app"
	"parley/tenantdb"
)

// filesFixture is a replicating server's storage as in production (control
// DB, replicator, tenant manager with a clock the test moves), for the
// replication of tenant files.
type filesFixture struct {
	dir     string
	target  tenantdb.ReplicaTarget
	control *tenantdb.Control
	rep     *tenantdb.Replicator
	reg     *prometheus.Registry

	mu  sync.Mutex
	now time.Time
}

func (f *filesFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *filesFixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// filesSetup starts a replicator to target whose reconcile pass deletes a
// replica's file gone locally once it is grace old.
func filesSetup(t *testing.T, target tenantdb.ReplicaTarget, grace time.Duration) *filesFixture {
	t.Helper()
	ctx := context.Background()
	f := &filesFixture{dir: t.TempDir(), target: target, reg: prometheus.NewRegistry(), now: time.Now().UTC()}
	var err error
	if f.control, err = tenantdb.OpenControl(ctx, filepath.Join(f.dir, "control.db"), nil); err != nil {
		t.Fatal(err)
	}
	if f.rep, err = tenantdb.OpenReplicator(ctx, tenantdb.ReplicaConfig{Target: target, SyncInterval: testSyncInterval,
		FilesDeleteGrace: grace, Registerer: f.reg}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.control.Close()
		if err := f.rep.Close(ctx); err != nil {
			t.Errorf("close replicator: %v", err)
		}
	})
	return f
}

// manager starts a tenant manager; rep nil replicates nothing (an admin
// command's process, or a server that crashed before shipping).
func (f *filesFixture) manager(t *testing.T, rep *tenantdb.Replicator) *tenantdb.Manager {
	t.Helper()
	m := tenantdb.NewManager(tenantdb.ManagerConfig{Dir: f.tenantDir(), Now: f.clock, Sealer: testSealer(t),
		Replicator: rep, TenantKnown: f.control.HasTenant})
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

func (f *filesFixture) tenantDir() string { return filepath.Join(f.dir, "tenants") }

func (f *filesFixture) provision(t *testing.T, m *tenantdb.Manager, slug string) string {
	t.Helper()
	ws, err := tenantdb.Provision(context.Background(), f.control, m, tenantdb.NewWorkspace{Slug: slug, Name: slug,
		AdminEmail: "admin@" + slug + ".example", AdminPassword: "correct horse battery"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	return ws.Tenant.ID
}

// acquire opens a tenant until release (or the end of the test).
func acquire(t *testing.T, m *tenantdb.Manager, id string) (db *tenantdb.DB, release func()) {
	t.Helper()
	db, release, err := m.Acquire(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return db, release
}

// receiveFile receives an SMS with a file from phone and returns the
// message.
func receiveFile(t *testing.T, db *tenantdb.DB, ch app.Channel, phone, providerID string, data []byte) app.Message {
	t.Helper()
	m, _, err := db.ReceiveMessage(context.Background(), app.InboundMessage{ChannelID: ch.ID, Text: "see file",
		From: app.ContactInput{Type: app.ContactPhone, Value: phone}, ProviderMessageID: providerID,
		Uploads: []app.Upload{{Filename: "scan.txt", Data: data}}})
	if err != nil || len(m.Attachments) != 1 {
		t.Fatalf("receive a file: %v (%d attachments)", err, len(m.Attachments))
	}
	return m
}

// replicaFiles fetches every file the replica holds for tenant id, by its
// path in the files directory.
func replicaFiles(t *testing.T, target tenantdb.ReplicaTarget, id string) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	if _, err := target.RestoreFiles(context.Background(), id, dir); err != nil {
		t.Fatalf("fetch the replica's files: %v", err)
	}
	got := map[string][]byte{}
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			got[filepath.ToSlash(rel)], _ = os.ReadFile(p)
		}
		return err
	})
	return got
}

// waitReplica waits until the replica holds exactly want for tenant id.
func waitReplica(t *testing.T, target tenantdb.ReplicaTarget, id string, want map[string][]byte, what string) {
	t.Helper()
	var got map[string][]byte
	for range 300 {
		got = replicaFiles(t, target, id)
		if maps.EqualFunc(got, want, bytes.Equal) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: the replica holds %v, want %v", what, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
}

// s3Target starts an in-process S3-compatible server (gofakes3) and
// returns a target on it.
func s3Target(t testing.TB) tenantdb.ReplicaTarget {
	t.Helper()
	fake := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server())
	t.Cleanup(fake.Close) // registered first, so closed after the replicator's final shipping
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CA_BUNDLE", "")
	target, err := tenantdb.ParseReplicaURL("s3://parley-test/region-a?endpoint=" + fake.URL + "&region=us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return target
}

// TestFilesFollowTheTenant: an attachment, a help center image and a logo
// reach the replica once written, and leave it when erasure, the retention
// sweep, deleting the image and removing the logo remove them; exports
// stay local. On a directory and on S3.
func TestFilesFollowTheTenant(t *testing.T) {
	for _, tt := range []struct {
		name   string
		target func(*testing.T) tenantdb.ReplicaTarget
	}{{"File", fileTarget}, {"S3", func(t *testing.T) tenantdb.ReplicaTarget { return s3Target(t) }}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := filesSetup(t, tt.target(t), time.Hour)
			m := f.manager(t, f.rep)
			id := f.provision(t, m, "acme")
			db, _ := acquire(t, m, id)
			sms := connect(t, db, app.ChannelTwilioSMS, "SMS")

			erased := receiveFile(t, db, sms, "+447911123456", "SM1", []byte("passport of Zebedee"))
			swept := receiveFile(t, db, sms, "+447911123457", "SM2", []byte("old invoice"))
			img := testPNG(t, color.RGBA{G: 200, A: 255})
			kb, err := db.UploadKBFile(ctx, app.Upload{Filename: "diagram.png", Data: img}, app.CLIActor)
			if err != nil {
				t.Fatal(err)
			}
			logo := testPNG(t, color.RGBA{R: 200, A: 255})
			b, err := db.SetBranding(ctx, app.Branding{Name: "Acme"}, &app.Upload{Filename: "logo.png", Data: logo}, false, app.CLIActor)
			if err != nil {
				t.Fatal(err)
			}
			logoRel := "portal/" + strings.TrimPrefix(b.LogoURL, "/help/logo/")
			want := map[string][]byte{erased.Attachments[0].ID: []byte("passport of Zebedee"),
				swept.Attachments[0].ID: []byte("old invoice"), "kb/" + kb.ID: img, logoRel: logo}
			waitReplica(t, f.target, id, want, "written")

			chat, err := db.ChatByID(ctx, erased.ChatID, allChats)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.EraseClient(ctx, chat.ClientID, app.CLIActor); err != nil {
				t.Fatal(err)
			}
			delete(want, erased.Attachments[0].ID)
			waitReplica(t, f.target, id, want, "after erasure")

			if _, err := db.SetRetentionPolicy(ctx, app.RetentionPolicy{AttachmentsDays: 30}, app.CLIActor); err != nil {
				t.Fatal(err)
			}
			f.advance(40 * 24 * time.Hour)
			if res, err := db.Sweep(ctx, 10); err != nil || res.Attachments != 1 {
				t.Fatalf("sweep: got %+v, %v; want 1 attachment", res, err)
			}
			delete(want, swept.Attachments[0].ID)
			waitReplica(t, f.target, id, want, "after the retention sweep")

			if err := db.DeleteKBFile(ctx, kb.ID, app.CLIActor); err != nil {
				t.Fatal(err)
			}
			if _, err := db.SetBranding(ctx, app.Branding{Name: "Acme"}, nil, true, app.CLIActor); err != nil {
				t.Fatal(err)
			}
			waitReplica(t, f.target, id, map[string][]byte{}, "after deleting the image and the logo")

			// An export is not replicated.
			if err := os.MkdirAll(filepath.Join(db.FilesDir(), "exports"), 0o750); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(db.FilesDir(), "exports", "x.zip"), []byte("archive"), 0o600)
			if res, err := f.rep.ReconcileFiles(ctx); err != nil || res.Uploads != 0 {
				t.Errorf("reconcile with an export: got %+v, %v; want no upload", res, err)
			}
			if h := f.rep.Health(); h.FilesPending != 0 || strings.Contains(h.LastError, ".files/") {
				t.Errorf("health: got %d pending, last error %q; want none pending, no file error", h.FilesPending, h.LastError)
			}
		})
	}
}

// TestFilesReconcile: what the upload queue lost (a file written by a
// process that did not ship it, as after a crash, or a delete that never
// reached the replica) is shipped by the reconcile pass. A replica's file
// is deleted only once past the grace period, and never for a tenant whose
// database file or files directory is missing (being restored, or lost).
func TestFilesReconcile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := filesSetup(t, fileTarget(t), time.Hour)
	unshipped := f.manager(t, nil)
	id := f.provision(t, unshipped, "acme")
	lost := f.provision(t, unshipped, "lost")
	bare := f.provision(t, unshipped, "bare")
	db, release := acquire(t, unshipped, id)
	msg := receiveFile(t, db, connect(t, db, app.ChannelTwilioSMS, "SMS"), "+447911123456", "SM1", []byte("unshipped"))
	release()
	if err := unshipped.Close(ctx); err != nil {
		t.Fatal(err)
	}

	onReplica := func(tenant, rel string, age time.Duration) string {
		p := filepath.Join(f.target.Dir, filepath.FromSlash(tenantdb.FilesReplica(tenant)), rel)
		os.MkdirAll(filepath.Dir(p), 0o750)
		if err := os.WriteFile(p, []byte("on the replica"), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		os.Chtimes(p, old, old)
		return p
	}
	gone := onReplica(id, "01GONE", 2*time.Hour)        // removed locally while the replica was down
	recent := onReplica(id, "01RECENT", 0)              // within the grace period
	restoring := onReplica(lost, "01LOST", 2*time.Hour) // its database file is missing
	undirected := onReplica(bare, "01BARE", 2*time.Hour)
	os.Remove(tenantdb.TenantFile(f.tenantDir(), lost))
	os.MkdirAll(tenantdb.TenantFilesDir(f.tenantDir(), lost), 0o750)

	// The server starts: its first pass ships what was lost.
	f.manager(t, f.rep)
	waitReplica(t, f.target, id, map[string][]byte{msg.Attachments[0].ID: []byte("unshipped"),
		"01RECENT": []byte("on the replica")}, "after the pass at start")
	// Another pass, waited for, finds nothing more to do.
	res, err := f.rep.ReconcileFiles(ctx)
	if err != nil || res != (tenantdb.FilesReconciled{Tenants: 1, Files: 1}) {
		t.Errorf("second pass: got %+v, %v; want 1 tenant with 1 file, nothing to ship", res, err)
	}
	for _, tt := range []struct {
		path string
		kept bool
	}{{gone, false}, {recent, true}, {restoring, true}, {undirected, true}} {
		if _, err := os.Stat(tt.path); (err == nil) != tt.kept {
			t.Errorf("%s: on the replica %v, want %v", filepath.Base(tt.path), err == nil, tt.kept)
		}
	}
	st, err := f.target.FilesStatus(ctx, id, tenantdb.TenantFilesDir(f.tenantDir(), id))
	if err != nil || st != (tenantdb.FilesStatus{Local: 1, Replica: 2, Removed: 1}) {
		t.Errorf("status: got %+v, %v; want 1 local, 2 on the replica, none missing, 1 removed (within the grace period)", st, err)
	}
}

// TestFilesReplicaDown: a replica that refuses files fails no request; the
// failure is counted, the file waits in the queue (and in the lag), and
// goes out once the replica takes it again.
func TestFilesReplicaDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := filesSetup(t, fileTarget(t), time.Hour)
	m := f.manager(t, f.rep)
	id := f.provision(t, m, "acme")
	db, _ := acquire(t, m, id)
	// A file where the tenant's files go on the replica: every upload fails.
	block := filepath.Join(f.target.Dir, filepath.FromSlash(tenantdb.FilesReplica(id)))
	os.MkdirAll(filepath.Dir(block), 0o750)
	if err := os.WriteFile(block, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	msg := receiveFile(t, db, connect(t, db, app.ChannelTwilioSMS, "SMS"), "+447911123456", "SM1", []byte("kept"))
	var h tenantdb.ReplicationHealth
	for range 200 {
		if h = f.rep.Health(); h.Errors > 0 && strings.Contains(h.LastError, ".files/") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h.FilesPending != 1 || !strings.Contains(h.LastError, msg.Attachments[0].ID) {
		t.Errorf("replica down: got %d pending, last error %q; want 1 pending and the upload's error", h.FilesPending, h.LastError)
	}
	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	waitReplica(t, f.target, id, map[string][]byte{msg.Attachments[0].ID: []byte("kept")}, "replica back")
	if res, err := f.rep.ReconcileFiles(ctx); err != nil || f.rep.Health().FilesPending != 0 {
		t.Errorf("after recovery: %+v, %v, %d pending", res, err, f.rep.Health().FilesPending)
	}
}

// TestFilesRestoredWithTenant: a tenant whose database file and files are
// lost is restored with its files when it next opens, on a directory and
// on S3; the attachment and image read back byte for byte.
func TestFilesRestoredWithTenant(t *testing.T) {
	for _, tt := range []struct {
		name   string
		target func(*testing.T) tenantdb.ReplicaTarget
	}{{"File", fileTarget}, {"S3", func(t *testing.T) tenantdb.ReplicaTarget { return s3Target(t) }}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := filesSetup(t, tt.target(t), time.Hour)
			m := f.manager(t, f.rep)
			id := f.provision(t, m, "acme")
			db, release := acquire(t, m, id)
			data := bytes.Repeat([]byte("scan "), 50_000)
			msg := receiveFile(t, db, connect(t, db, app.ChannelTwilioSMS, "SMS"), "+447911123456", "SM1", data)
			img := testPNG(t, color.RGBA{B: 200, A: 255})
			kb, err := db.UploadKBFile(ctx, app.Upload{Filename: "diagram.png", Data: img}, app.CLIActor)
			if err != nil {
				t.Fatal(err)
			}
			waitReplica(t, f.target, id, map[string][]byte{msg.Attachments[0].ID: data, "kb/" + kb.ID: img}, "written")
			release()
			if err := m.Close(ctx); err != nil {
				t.Fatal(err)
			}
			loseFile(t, tenantdb.TenantFile(f.tenantDir(), id))
			if err := os.RemoveAll(tenantdb.TenantFilesDir(f.tenantDir(), id)); err != nil {
				t.Fatal(err)
			}

			db, _ = acquire(t, f.manager(t, f.rep), id)
			_, path, err := db.AttachmentByID(ctx, msg.Attachments[0].ID, allChats)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, data) {
				t.Errorf("restored attachment: %d bytes, %v; want the %d written", len(got), err, len(data))
			}
			_, path, err = db.KBFileByID(ctx, kb.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, img) {
				t.Errorf("restored image: %d bytes, %v; want the %d written", len(got), err, len(img))
			}
		})
	}
}

// BenchmarkFilesReconcile1000Tenants times a reconcile pass over 1,000
// tenants of 3 files each that are all on the replica already (the
// periodic pass on a healthy server): one listing of the replica and of
// the disk per tenant. The first pass, which uploads the 3,000 files, is
// logged.
func BenchmarkFilesReconcile1000Tenants(b *testing.B) {
	for _, name := range []string{"File", "S3"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			target, err := tenantdb.ParseReplicaURL(filepath.Join(b.TempDir(), "replica"))
			if err != nil {
				b.Fatal(err)
			} else if name == "S3" {
				target = s3Target(b)
			}
			rep, err := tenantdb.OpenReplicator(ctx, tenantdb.ReplicaConfig{Target: target})
			if err != nil {
				b.Fatal(err)
			}
			defer rep.Close(ctx)
			dir := b.TempDir()
			for i := range 1000 {
				id := fmt.Sprintf("01TENANT%06d", i)
				os.WriteFile(tenantdb.TenantFile(dir, id), nil, 0o600)
				files := tenantdb.TenantFilesDir(dir, id)
				os.MkdirAll(filepath.Join(files, "kb"), 0o750)
				for _, rel := range []string{"01ATTACHMENTA", "01ATTACHMENTB", "kb/01IMAGE"} {
					os.WriteFile(filepath.Join(files, rel), bytes.Repeat([]byte{byte(i)}, 2048), 0o600)
				}
			}
			start := time.Now()
			rep.WatchFiles(dir) // starts a pass, which the one below waits out
			if first, err := rep.ReconcileFiles(ctx); err != nil || first.Files != 3000 {
				b.Fatalf("first pass: %+v, %v", first, err)
			}
			b.Logf("first passes (upload 3,000 files of 2 KB): %s", time.Since(start).Round(time.Millisecond))
			for b.Loop() {
				if res, err := rep.ReconcileFiles(ctx); err != nil || res.Uploads+res.Deletes != 0 || res.Tenants != 1000 {
					b.Fatalf("pass: %+v, %v", res, err)
				}
			}
		})
	}
}
