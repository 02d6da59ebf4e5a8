package web_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	imgpng "image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"

	"parley/app"
)

// upload is one file of a multipart post.
type upload struct {
	field, name string
	data        []byte
}

// postMultipart sends a same-origin multipart form to a full URL, as a
// browser does.
func (b *browser) postMultipart(rawURL string, fields url.Values, files ...upload) response {
	b.e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for _, f := range files {
		w, err := mw.CreateFormFile(f.field, f.name)
		if err != nil {
			b.e.t.Fatal(err)
		}
		w.Write(f.data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", rawURL, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// pngBytes is a small valid PNG of colour c.
func pngBytes(t testing.TB, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := range 8 {
		for y := range 8 {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := imgpng.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPortalBrandingSettings drives Settings → Help center & portal: who
// may open it, saving the branding with a logo, refused input (kept in the
// form), the public logo route and its headers, the custom domains list
// and the preview fragment.
func TestPortalBrandingSettings(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ws := e.workspace("acme")
	db := e.db(ws)
	ctx := context.Background()
	if err := e.control.MapDomain(ctx, ws.Tenant.ID, "help.acme.example"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []app.NewUser{
		{Email: "lead@acme.example", Name: "Lead", Password: "a good long password", Role: app.RoleLead},
		{Email: "agent@acme.example", Name: "Agent", Password: "a good long password", Role: app.RoleAgent},
	} {
		if _, err := db.CreateUser(ctx, u, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	}
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	lead := e.browser()
	lead.login("acme", "lead@acme.example", "a good long password")

	t.Run("Access", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			b      *browser
			method string
			want   int
		}{
			{"AdminOpens", admin, "GET", 200},
			{"ErrLeadForbidden", lead, "GET", 403},
			{"ErrLeadCannotSave", lead, "POST", 403},
			{"ErrAnonymousSignIn", e.browser(), "GET", 303},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var res response
				if tt.method == "GET" {
					res = tt.b.get("acme", "/settings/portal")
				} else {
					res = tt.b.post("acme", "/settings/portal", url.Values{"name": {"Hacked"}})
				}
				if res.Status != tt.want {
					t.Errorf("got %d, want %d", res.Status, tt.want)
				}
			})
		}
		if b, _ := db.Branding(ctx, "Acme Inc"); b.Name != "Acme Inc" {
			t.Errorf("a lead changed the branding: %+v", b)
		}
		if tabs := admin.get("acme", "/settings/account").Doc(t).Find("[data-testid=tab-portal]"); tabs.Length() != 1 {
			t.Error("admins have no Help center & portal tab")
		}
		if tabs := lead.get("acme", "/settings/account").Doc(t).Find("[data-testid=tab-portal]"); tabs.Length() != 0 {
			t.Error("leads are offered a tab they cannot open")
		}
	})

	t.Run("PageShowsURLsAndDomains", func(t *testing.T) {
		res := admin.get("acme", "/settings/portal")
		doc := res.Doc(t)
		for key, want := range map[string]string{"help": "http://acme.parley.test/help", "contact": "http://acme.parley.test/help/contact",
			"portal": "http://acme.parley.test/portal"} {
			if got := strings.TrimSpace(doc.Find("[data-testid=url-" + key + "]").Text()); got != want {
				t.Errorf("%s URL: got %q, want %q", key, got, want)
			}
			if doc.Find("button[data-copy=url-"+key+"]").Length() != 1 {
				t.Errorf("%s URL has no copy button", key)
			}
		}
		if got := doc.Find("[data-testid=domain-row]").Text(); !strings.Contains(got, "help.acme.example") {
			t.Errorf("custom domains: got %q", got)
		}
		if got := doc.Find("[data-testid=dns-instructions]").Text(); !strings.Contains(got, "CNAME") || !strings.Contains(got, "acme.parley.test") {
			t.Errorf("DNS instructions: got %q", got)
		}
		if got := doc.Find("[data-testid=branding-preview]").AttrOr("data-accent", ""); got != app.DefaultAccent {
			t.Errorf("preview accent: got %q", got)
		}
	})

	logo := pngBytes(t, color.RGBA{R: 180, G: 20, B: 60, A: 255})
	svg := []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>`)
	html := []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>")
	for _, tt := range []struct {
		name       string
		fields     url.Values
		file       *upload
		wantStatus int
		wantError  string // data-testid of the field error
		wantText   string
	}{
		{name: "ErrNameRequired", fields: url.Values{"name": {""}, "accent": {"#112233"}}, wantStatus: 422, wantError: "error-name", wantText: "Enter the name"},
		{name: "ErrAccentNotHex", fields: url.Values{"name": {"Acme Help"}, "accent": {"red;}*{color:red"}}, wantStatus: 422, wantError: "error-accent", wantText: "#rrggbb"},
		{name: "ErrFooterTooLong", fields: url.Values{"name": {"Acme Help"}, "footer": {strings.Repeat("f", 301)}}, wantStatus: 422, wantError: "error-footer"},
		{name: "ErrLogoSVG", fields: url.Values{"name": {"Acme Help"}}, file: &upload{"logo", "logo.svg", svg}, wantStatus: 422, wantError: "error-logo", wantText: "SVG"},
		{name: "ErrLogoHTMLRenamedPNG", fields: url.Values{"name": {"Acme Help"}}, file: &upload{"logo", "logo.png", html}, wantStatus: 422, wantError: "error-logo"},
		{name: "ErrLogoTooLarge", fields: url.Values{"name": {"Acme Help"}}, file: &upload{"logo", "big.png", append(pngBytes(t, color.Black), make([]byte, 600<<10)...)}, wantStatus: 422, wantError: "error-logo", wantText: "512 KB"},
		{name: "ErrOtherFieldLosesLogo", fields: url.Values{"name": {""}}, file: &upload{"logo", "logo.png", logo}, wantStatus: 422, wantError: "error-logo", wantText: "choose the file again"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var files []upload
			if tt.file != nil {
				files = append(files, *tt.file)
			}
			res := admin.postMultipart(hostURL("acme", "/settings/portal"), tt.fields, files...)
			if res.Status != tt.wantStatus {
				t.Fatalf("got %d, want %d; body %s", res.Status, tt.wantStatus, snippet(res.Body))
			}
			got := res.Text(t, "[data-testid="+tt.wantError+"]")
			if got == "" || !strings.Contains(got, tt.wantText) {
				t.Errorf("%s: got %q, want it to say %q", tt.wantError, got, tt.wantText)
			}
			doc := res.Doc(t)
			if v := doc.Find("input[name=name]").AttrOr("value", "?"); v != tt.fields.Get("name") {
				t.Errorf("the form lost the name typed: %q", v)
			}
			if b, _ := db.Branding(ctx, "Acme Inc"); b.Name != "Acme Inc" || b.LogoURL != "" {
				t.Errorf("a refused form changed the branding: %+v", b)
			}
		})
	}

	var logoURL string
	t.Run("SaveWithLogo", func(t *testing.T) {
		res := admin.postMultipart(hostURL("acme", "/settings/portal"), url.Values{"name": {"Acme Help <b>"}, "accent": {"#B4143C"},
			"footer": {"Acme Ltd · 1 Road"}}, upload{"logo", "logo.png", logo})
		if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/settings/portal" {
			t.Fatalf("got %d %s; body %s", res.Status, res.Header.Get("Location"), snippet(res.Body))
		}
		b, err := db.Branding(ctx, "Acme Inc")
		if err != nil || b.Name != "Acme Help <b>" || b.Accent != "#b4143c" || b.Footer != "Acme Ltd · 1 Road" || b.LogoURL == "" {
			t.Fatalf("saved: %+v (%v)", b, err)
		}
		logoURL = b.LogoURL
		page := admin.get("acme", "/settings/portal")
		if !strings.Contains(page.Body, "Branding and logo saved") {
			t.Error("no confirmation after saving")
		}
		if src := page.Doc(t).Find("[data-testid=current-logo]").AttrOr("src", ""); src != logoURL {
			t.Errorf("current logo: got %q, want %q", src, logoURL)
		}
		// The public pages carry the branding, escaped.
		pub := e.browser().get("acme", "/help")
		if !strings.Contains(pub.Body, "Acme Help &lt;b&gt;") || strings.Contains(pub.Body, "Acme Help <b>") {
			t.Errorf("public name not shown escaped: %s", snippet(pub.Body))
		}
		if !strings.Contains(pub.Body, "--accent:#b4143c") || !strings.Contains(pub.Body, logoURL) {
			t.Errorf("public page lacks the accent or the logo")
		}
	})

	t.Run("ServeLogo", func(t *testing.T) {
		anon := e.browser()
		for _, tt := range []struct {
			name, host, path string
			want             int
		}{
			{"OnWorkspaceHost", "acme", logoURL, 200},
			{"ErrOtherWorkspace", "globex", logoURL, 404},
			{"ErrGuessedName", "acme", "/help/logo/logo-00000000000000000000000000000000.png", 404},
			{"ErrTraversal", "acme", "/help/logo/..%2f..%2facme.db", 404},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if tt.host == "globex" {
					e.workspace("globex")
				}
				res := anon.get(tt.host, tt.path)
				if res.Status != tt.want {
					t.Fatalf("got %d, want %d", res.Status, tt.want)
				}
				if tt.want != 200 {
					return
				}
				if res.Body != string(logo) {
					t.Error("logo bytes differ")
				}
				for h, want := range map[string]string{"Content-Type": "image/png", "X-Content-Type-Options": "nosniff",
					"Cache-Control": "public, max-age=31536000, immutable"} {
					if got := res.Header.Get(h); got != want {
						t.Errorf("%s: got %q, want %q", h, got, want)
					}
				}
			})
		}
		if res := anon.getOn("help.acme.example", logoURL); res.Status != 200 || res.Body != string(logo) {
			t.Errorf("logo on the custom domain: got %d", res.Status)
		}
	})

	t.Run("Preview", func(t *testing.T) {
		req, _ := http.NewRequest("POST", hostURL("acme", "/settings/portal/preview"),
			strings.NewReader(url.Values{"name": {"<script>x</script>"}, "accent": {"#ffee00"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("HX-Request", "true")
		res := admin.do(req)
		if res.Status != 200 {
			t.Fatalf("got %d", res.Status)
		}
		if strings.Contains(res.Body, "<script>x") || !strings.Contains(res.Body, "&lt;script&gt;") {
			t.Errorf("preview does not escape the name: %s", snippet(res.Body))
		}
		doc := res.Doc(t)
		if got := doc.Find("[data-testid=branding-preview]").AttrOr("data-accent", ""); got != "#ffee00" {
			t.Errorf("preview accent: got %q", got)
		}
		if got := doc.Find("[data-testid=contrast-note]"); !got.HasClass("contrast-warning") || !strings.Contains(got.Text(), "hard to read") {
			t.Errorf("a light accent gets no contrast warning: %q", got.Text())
		}
		// An invalid colour is never drawn.
		bad := url.Values{"name": {"A"}, "accent": {`"/><script>`}}
		req2, _ := http.NewRequest("POST", hostURL("acme", "/settings/portal/preview"), strings.NewReader(bad.Encode()))
		req2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req2.Header.Set("Sec-Fetch-Site", "same-origin")
		if res := admin.do(req2); strings.Contains(res.Body, "<script>") || res.Doc(t).Find("[data-testid=branding-preview]").AttrOr("data-accent", "") != app.DefaultAccent {
			t.Errorf("invalid accent drawn: %s", snippet(res.Body))
		}
	})

	t.Run("RemoveLogo", func(t *testing.T) {
		res := admin.postMultipart(hostURL("acme", "/settings/portal"), url.Values{"name": {"Acme Help"}, "accent": {"#b4143c"},
			"remove_logo": {"true"}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("got %d; body %s", res.Status, snippet(res.Body))
		}
		if b, _ := db.Branding(ctx, "Acme Inc"); b.LogoURL != "" {
			t.Errorf("logo still set: %+v", b)
		}
		if res := e.browser().get("acme", logoURL); res.Status != 404 {
			t.Errorf("removed logo still served: %d", res.Status)
		}
	})

	t.Run("AuditLog", func(t *testing.T) {
		typ := app.EventSettingsChanged
		evs, err := db.ListEvents(ctx, app.EventFilter{Type: &typ, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if strings.Contains(string(ev.Payload), "portal_branding") && ev.Actor.Name == "Admin of acme" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("got %d branding events by the admin, want 2 (save, remove logo)", n)
		}
	})
}

// TestPortalBrandingAPI checks GET/PUT /api/v1/settings/portal and the
// logo endpoints against openapi.json, and that only admins may use them.
func TestPortalBrandingAPI(t *testing.T) {
	t.Parallel()
	e, ws, a := apiSetup(t)
	ctx := context.Background()
	if err := e.control.MapDomain(ctx, ws.Tenant.ID, "help.acme.example"); err != nil {
		t.Fatal(err)
	}
	spec, err := openapi3.NewLoader().LoadFromData([]byte(a.call("GET", "/api/v1/openapi.json", nil).Body))
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := spec.Validate(ctx); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	router, err := legacyrouter.NewRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, c apiClient, method, path string, body any, want int) response {
		t.Helper()
		res := c.call(method, path, body)
		if res.Status != want {
			t.Fatalf("%s %s: got %d, want %d; body %s", method, path, res.Status, want, snippet(res.Body))
		}
		if err := validateExchange(ctx, router, c, method, path, body, res); err != nil {
			t.Errorf("%s %s → %d does not conform to openapi.json: %v", method, path, res.Status, err)
		}
		return res
	}
	type settingsRes struct {
		Name          string            `json:"name"`
		Accent        string            `json:"accent"`
		Footer        string            `json:"footer"`
		LogoURL       string            `json:"logo_url"`
		URLs          map[string]string `json:"urls"`
		CustomDomains []struct {
			Domain string `json:"domain"`
			URL    string `json:"url"`
		} `json:"custom_domains"`
	}

	got := decode[settingsRes](t, check(t, a, "GET", "/api/v1/settings/portal", nil, 200))
	if got.Name != "Acme Inc" || got.Accent != app.DefaultAccent || got.URLs["contact"] != "http://acme.parley.test/help/contact" ||
		len(got.CustomDomains) != 1 || got.CustomDomains[0].URL != "http://help.acme.example/help" {
		t.Errorf("GET: %+v", got)
	}
	// A document read can be sent back changed.
	doc := map[string]any{"name": "Acme Support", "accent": "#0F766E", "footer": "Acme Ltd", "logo_url": "",
		"urls": got.URLs, "custom_domains": []any{}}
	put := decode[settingsRes](t, check(t, a, "PUT", "/api/v1/settings/portal", doc, 200))
	if put.Name != "Acme Support" || put.Accent != "#0f766e" || put.Footer != "Acme Ltd" {
		t.Errorf("PUT: %+v", put)
	}
	bad := decode[apiErrorRes](t, check(t, a, "PUT", "/api/v1/settings/portal", map[string]any{"name": "", "accent": "blue"}, 422))
	if len(bad.Error.Fields) != 2 {
		t.Errorf("PUT invalid: fields %+v, want name and accent", bad.Error.Fields)
	}
	check(t, a, "PUT", "/api/v1/settings/portal", map[string]any{"name": "X", "colour": "#000000"}, 422)

	// The logo: raw bytes in, sniffed; SVG refused.
	logo := pngBytes(t, color.RGBA{G: 120, A: 255})
	res := a.raw("PUT", "/api/v1/settings/portal/logo", "image/png", logo)
	if res.Status != 200 {
		t.Fatalf("PUT logo: %d %s", res.Status, res.Body)
	}
	withLogo := decode[settingsRes](t, res)
	if !strings.HasPrefix(withLogo.LogoURL, "http://acme.parley.test/help/logo/logo-") || withLogo.Name != "Acme Support" {
		t.Errorf("PUT logo: %+v", withLogo)
	}
	if res := a.raw("PUT", "/api/v1/settings/portal/logo", "image/png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)); res.Status != 422 {
		t.Errorf("PUT SVG logo: got %d, want 422", res.Status)
	}
	if got := decode[settingsRes](t, check(t, a, "DELETE", "/api/v1/settings/portal/logo", nil, 200)); got.LogoURL != "" {
		t.Errorf("DELETE logo: %+v", got)
	}

	for _, role := range []app.Role{app.RoleLead, app.RoleAgent, app.RoleSales} {
		c := e.apiClient(ws, role)
		check(t, c, "GET", "/api/v1/settings/portal", nil, 403)
		check(t, c, "PUT", "/api/v1/settings/portal", map[string]any{"name": "Hacked"}, 403)
	}
}

// raw sends body as it is with a content type.
func (a apiClient) raw(method, path, contentType string, body []byte) response {
	a.t.Helper()
	req, _ := http.NewRequest(method, hostURL(a.host, path), io.NopCloser(bytes.NewReader(body)))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+a.token)
	return a.e.browser().do(req)
}
