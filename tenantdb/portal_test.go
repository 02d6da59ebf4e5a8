package tenantdb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"strings"
	"testing"

	"parley/app"
	"parley/tenantdb"
)

// testPNG returns a small valid PNG filled with c.
func testPNG(t *testing.T, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for x := range 4 {
		for y := range 4 {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestSetBranding checks the branding is validated, saved with an event in
// the audit log, and that the logo is stored content-addressed, served only
// while it is the current one, replaced and removed with its file.
func TestSetBranding(t *testing.T) {
	_, db := providerDB(t)
	ctx := context.Background()

	// Defaults: the workspace's name and the default accent.
	b, err := db.Branding(ctx, "Acme Inc")
	if err != nil || b.Name != "Acme Inc" || b.Accent != app.DefaultAccent || b.LogoURL != "" {
		t.Fatalf("default branding: got %+v (%v)", b, err)
	}

	for _, tt := range []struct {
		name      string
		in        app.Branding
		logo      []byte
		wantField []string
	}{
		{name: "ErrNameRequired", in: app.Branding{Name: "  ", Accent: "#112233"}, wantField: []string{"name"}},
		{name: "ErrAccentNotHex", in: app.Branding{Name: "Acme", Accent: "red;}body{display:none"}, wantField: []string{"accent"}},
		{name: "ErrFooterTooLong", in: app.Branding{Name: "Acme", Footer: strings.Repeat("x", 301)}, wantField: []string{"footer"}},
		{name: "ErrLogoSVG", in: app.Branding{Name: "Acme"}, logo: []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), wantField: []string{"logo"}},
		{name: "ErrLogoHTML", in: app.Branding{Name: "Acme"}, logo: []byte(`<!DOCTYPE html><html><script>alert(1)</script></html>`), wantField: []string{"logo"}},
		{name: "ErrLogoTooLarge", in: app.Branding{Name: "Acme"}, logo: append(testPNG(t, color.Black), make([]byte, tenantdb.MaxLogoBytes)...), wantField: []string{"logo"}},
		{name: "ErrNameAndLogo", in: app.Branding{Name: ""}, logo: []byte("GIF89a"), wantField: []string{"name", "logo"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var up *app.Upload
			if tt.logo != nil {
				up = &app.Upload{Filename: "logo.png", Data: tt.logo}
			}
			_, err := db.SetBranding(ctx, tt.in, up, false, app.CLIActor)
			var got []string
			for _, f := range app.ErrorFields(err) {
				got = append(got, f.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.wantField, ",") {
				t.Errorf("got fields %v (%v), want %v", got, err, tt.wantField)
			}
			if after, _ := db.Branding(ctx, "Acme Inc"); after != b {
				t.Errorf("a refused save changed the branding: %+v", after)
			}
		})
	}

	logo := testPNG(t, color.RGBA{R: 200, A: 255})
	saved, err := db.SetBranding(ctx, app.Branding{Name: "  Acme   Support ", Accent: "#AA3355", Footer: "Acme Ltd, 1 Road"},
		&app.Upload{Filename: "logo.png", Data: logo}, false, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if saved.Name != "Acme Support" || saved.Accent != "#aa3355" || !strings.HasPrefix(saved.LogoURL, "/help/logo/logo-") ||
		!strings.HasSuffix(saved.LogoURL, ".png") {
		t.Errorf("saved: got %+v", saved)
	}
	if got, _ := db.Branding(ctx, "Acme Inc"); got != saved {
		t.Errorf("read back: got %+v, want %+v", got, saved)
	}
	file := strings.TrimPrefix(saved.LogoURL, "/help/logo/")
	path, ct, err := db.LogoFile(ctx, file)
	if err != nil || ct != "image/png" {
		t.Fatalf("logo file: %q %q %v", path, ct, err)
	}
	if data, err := os.ReadFile(path); err != nil || !bytes.Equal(data, logo) {
		t.Errorf("logo bytes on disk differ (%v)", err)
	}
	for _, name := range []string{"", "../../acme.db", "logo-0123.png", strings.Replace(file, ".png", ".jpg", 1)} {
		if _, _, err := db.LogoFile(ctx, name); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("LogoFile(%q): got %v, want ENOTFOUND", name, err)
		}
	}

	// The change is in the audit log with the old and new values.
	typ := app.EventSettingsChanged
	evs, err := db.ListEvents(ctx, app.EventFilter{Type: &typ, Limit: 5})
	if err != nil || len(evs) == 0 {
		t.Fatalf("events: %v %v", evs, err)
	}
	var payload struct {
		Branding struct{ From, To app.Branding } `json:"portal_branding"`
	}
	if err := json.Unmarshal(evs[0].Payload, &payload); err != nil || payload.Branding.To.Name != "Acme Support" ||
		payload.Branding.From.Name != "" || evs[0].Actor.Type != app.ActorCLI {
		t.Errorf("event: %s (%v)", evs[0].Payload, err)
	}

	// Saving again without a logo keeps it; a new logo replaces the old
	// one and its file; removing takes it away.
	kept, err := db.SetBranding(ctx, app.Branding{Name: "Acme", Accent: "#aa3355"}, nil, false, app.CLIActor)
	if err != nil || kept.LogoURL != saved.LogoURL {
		t.Errorf("save without logo: got %q (%v), want the logo kept", kept.LogoURL, err)
	}
	other, err := db.SetBranding(ctx, kept, &app.Upload{Filename: "b.png", Data: testPNG(t, color.RGBA{B: 200, A: 255})}, false, app.CLIActor)
	if err != nil || other.LogoURL == saved.LogoURL {
		t.Fatalf("replace logo: got %q (%v)", other.LogoURL, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the replaced logo's file is still there (%v)", err)
	}
	if _, _, err := db.LogoFile(ctx, file); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("the old logo is still served: %v", err)
	}
	gone, err := db.SetBranding(ctx, other, nil, true, app.CLIActor)
	if err != nil || gone.LogoURL != "" {
		t.Errorf("remove logo: got %q (%v)", gone.LogoURL, err)
	}
	if got, _ := db.Branding(ctx, "Acme Inc"); got.LogoURL != "" {
		t.Errorf("logo still set after removal: %+v", got)
	}
}

// TestFormSigningKey checks the key is stable, differs per purpose and
// per workspace.
func TestFormSigningKey(t *testing.T) {
	f := setup(t, 10)
	ctx := context.Background()
	var keys [][]byte
	for _, slug := range []string{"acme", "globex"} {
		ten := f.provision(t, slug)
		db, release, err := f.tenants.Acquire(ctx, ten.ID)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(release)
		a, err1 := db.FormSigningKey(ctx, "contact")
		again, err2 := db.FormSigningKey(ctx, "contact")
		other, err3 := db.FormSigningKey(ctx, "receipt")
		if err1 != nil || err2 != nil || err3 != nil || len(a) != 32 {
			t.Fatalf("%s: %v %v %v", slug, err1, err2, err3)
		}
		if !bytes.Equal(a, again) || bytes.Equal(a, other) {
			t.Errorf("%s: key not stable per purpose or shared across purposes", slug)
		}
		keys = append(keys, a)
	}
	if bytes.Equal(keys[0], keys[1]) {
		t.Error("two workspaces share a form key")
	}
}

// TestTenantDomains checks a tenant's custom domains are listed, and only
// its own.
func TestTenantDomains(t *testing.T) {
	f := setup(t, 10)
	ctx := context.Background()
	acme, globex := f.provision(t, "acme"), f.provision(t, "globex")
	for _, d := range []string{"help.acme.example", "Support.Acme.example"} {
		if err := f.control.MapDomain(ctx, acme.ID, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.control.MapDomain(ctx, globex.ID, "help.globex.example"); err != nil {
		t.Fatal(err)
	}
	got, err := f.control.TenantDomains(ctx, acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range got {
		names = append(names, d.Domain)
		// MapDomain is the operator's: verified at once.
		if d.CreatedAt.IsZero() || d.VerifiedAt == nil {
			t.Errorf("%s: created %v verified %v", d.Domain, d.CreatedAt, d.VerifiedAt)
		}
	}
	if strings.Join(names, ",") != "help.acme.example,support.acme.example" {
		t.Errorf("got %v, want acme's two domains", names)
	}
}
