package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"parley/app"
	"parley/app/web"
	"parley/tenantdb"
)

// fakeSMS is a provider driver for the settings page: one public setting
// (a number that must start with +), one secret token, and a Check whose
// answer the token decides. It never talks to anything.
type fakeSMS struct{ typ app.ChannelType }

func (d fakeSMS) Spec() app.ChannelSpec {
	return app.ChannelSpec{Type: d.typ, Label: "Fake " + string(d.typ), Help: "Copy both from the fake console.", Webhook: true,
		Fields: []app.SettingField{
			{Key: "from_number", Label: "Phone number", Kind: "text", Required: true, Help: "Like +15550100."},
			{Key: "api_token", Label: "API token", Kind: "password", Required: true, Secret: true},
			{Key: "region", Label: "Region", Kind: "text", Default: "us1"},
		}}
}

func (fakeSMS) Validate(set map[string]string) error {
	e := &app.Error{Code: app.EINVALID, Message: "Check the Fake SMS settings."}
	if !strings.HasPrefix(set["from_number"], "+") {
		e.Fields = append(e.Fields, app.FieldError{Field: "settings.from_number", Message: "Write the number with its country code, like +15550100."})
	}
	if set["api_token"] == "" {
		e.Fields = append(e.Fields, app.FieldError{Field: "settings.api_token", Message: "Enter the API token."})
	}
	return e.OrNil()
}

func (fakeSMS) Check(_ context.Context, ch app.Channel) (string, error) {
	if strings.HasPrefix(ch.Secrets["api_token"], "good-") {
		return "Number " + ch.Setting("from_number"), nil
	}
	return "", errors.New("Authenticate: the token was revoked (20003)")
}

func (fakeSMS) Send(context.Context, app.Outbound) (string, error) {
	return "", errors.New("not sending")
}
func (fakeSMS) Lookup(context.Context, app.Outbound) (string, bool, error) {
	return "", false, app.ErrLookupUnsupported
}

// channelSetup is setup with two fake provider types, signed in as acme's
// admin. (setup gives the tenant manager a secret key, so credentials can
// be sealed.)
func channelSetup(t *testing.T) (*env, *tenantdb.DB, *browser) {
	t.Helper()
	e := setup(t, func(c *web.Config) {
		c.Drivers = map[app.ChannelType]app.Driver{app.ChannelTwilioSMS: fakeSMS{app.ChannelTwilioSMS}, app.ChannelEmail: fakeSMS{app.ChannelEmail}}
	})
	ws := e.workspace("acme")
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")
	return e, e.db(ws), admin
}

// hxPost is post as htmx sends it, from an element with hx-post.
func (b *browser) hxPost(host, path, target string) response {
	req, _ := http.NewRequest("POST", hostURL(host, path), nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Target", target)
	return b.do(req)
}

func connectForm(number, token string) url.Values {
	return url.Values{"type": {"twilio_sms"}, "name": {"Support <SMS>"},
		"settings.from_number": {number}, "settings.api_token": {token}, "settings.region": {""}, "settings.api_base_url": {""}}
}

// with returns a copy of f with key set to v.
func with(f url.Values, key, v string) url.Values {
	g := url.Values{}
	for k, vs := range f {
		g[k] = append([]string(nil), vs...)
	}
	g.Set(key, v)
	return g
}

// TestChannelSettings: an admin connects, edits, tests and removes a
// provider's channel; refused input changes nothing and secrets never
// reach the page.
func TestChannelSettings(t *testing.T) {
	t.Parallel()
	e, db, admin := channelSetup(t)
	ctx := context.Background()
	list := func() []app.Channel {
		t.Helper()
		chs, err := db.ListChannels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return chs
	}

	page := admin.get("acme", "/settings/channels")
	doc := page.Doc(t)
	if page.Status != 200 || doc.Find("[data-testid=connect-twilio_sms] form[data-testid=connect-form]").Length() != 1 {
		t.Fatalf("page: got %d, want 200 with the Fake SMS connect form", page.Status)
	}
	var types []string
	doc.Find("[data-testid=connect-channel] details.connect-type").Each(func(_ int, d *goquery.Selection) {
		types = append(types, d.AttrOr("data-testid", ""))
	})
	if strings.Join(types, " ") != "connect-email connect-twilio_sms" {
		t.Errorf("connect forms: got %v, want email then twilio_sms (the order of app.ChannelTypes)", types)
	}
	if typ, _ := doc.Find("#f-new-twilio_sms-settings-api_token").Attr("type"); typ != "password" {
		t.Errorf("secret input: got type %q, want password", typ)
	}
	if ph, _ := doc.Find("#f-new-twilio_sms-settings-region").Attr("placeholder"); ph != "us1" {
		t.Errorf("default as placeholder: got %q, want us1", ph)
	}

	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
		field  string // the data-testid of the error next to an input, or "" for the form's alert
	}{
		{"ErrNumberBad", connectForm("5550100", "good-SECRET-1"), 422, "error-new-twilio_sms-settings-from_number"},
		{"ErrTokenMissing", connectForm("+15550100", ""), 422, "error-new-twilio_sms-settings-api_token"},
		{"ErrNameMissing", with(connectForm("+15550100", "good-SECRET-1"), "name", " "), 422, "error-new-twilio_sms-name"},
		{"ErrBaseURLBad", with(connectForm("+15550100", "good-SECRET-1"), "settings.api_base_url", "ftp://x"), 422, "error-new-twilio_sms-settings-api_base_url"},
		{"ErrTypeUnknown", with(connectForm("+15550100", "good-SECRET-1"), "type", "pigeon"), 422, ""},
	} {
		t.Run("Connect"+tt.name, func(t *testing.T) {
			res := admin.post("acme", "/settings/channels", tt.form)
			if res.Status != tt.status {
				t.Fatalf("got %d, want %d; body %s", res.Status, tt.status, snippet(res.Body))
			}
			doc := res.Doc(t)
			if tt.field != "" && doc.Find(`[data-testid="`+tt.field+`"]`).Length() != 1 {
				t.Errorf("no [data-testid=%s]", tt.field)
			}
			if got := doc.Find("[data-testid=connect-channel] [data-testid=alert]").Text(); tt.field == "" && !strings.Contains(got, "cannot connect “pigeon” channels") {
				t.Errorf("connect section's alert: got %q", got)
			}
			if strings.Contains(res.Body, "good-SECRET-1") {
				t.Errorf("the typed secret came back in the page")
			}
			if tt.field != "" {
				if v, _ := doc.Find("#f-new-twilio_sms-settings-from_number").Attr("value"); v != tt.form.Get("settings.from_number") {
					t.Errorf("typed number: got %q, want %q kept", v, tt.form.Get("settings.from_number"))
				}
				if _, open := doc.Find("[data-testid=connect-twilio_sms]").Attr("open"); !open {
					t.Errorf("the refused form is closed")
				}
				if _, open := doc.Find("[data-testid=connect-twilio_sms] .channel-advanced").Attr("open"); open != (tt.form.Get("settings.api_base_url") != "") {
					t.Errorf("advanced section open: got %v", open)
				}
			}
			if n := len(list()); n != 0 {
				t.Errorf("channels: got %d, want 0", n)
			}
		})
	}

	res := admin.post("acme", "/settings/channels", connectForm("+15550100", "good-SECRET-1"))
	if res.Status != http.StatusSeeOther {
		t.Fatalf("connect: got %d, want 303; body %s", res.Status, snippet(res.Body))
	}
	chs := list()
	if len(chs) != 1 || chs[0].Secrets["api_token"] != "good-SECRET-1" || chs[0].Setting("from_number") != "+15550100" || chs[0].Name != "Support <SMS>" {
		t.Fatalf("stored: got %+v", chs)
	}
	id := chs[0].ID
	card := `[data-testid=channel][data-channel-id="` + id + `"]`
	page = admin.get("acme", "/settings/channels")
	doc = page.Doc(t)
	if got := page.Text(t, "[data-testid=alert]"); !strings.Contains(got, "Paste the webhook URL below in Twilio") {
		t.Errorf("flash: got %q", got)
	}
	if strings.Contains(page.Body, "good-SECRET-1") {
		t.Errorf("the secret is in the page")
	}
	wantHook := "http://acme." + baseDomain + "/hooks/" + id
	if got := strings.TrimSpace(doc.Find(card + " [data-testid=channel-webhook-url]").Text()); got != wantHook || got != chs[0].Setting("webhook_url") {
		t.Errorf("webhook URL: got %q, want %q (stored %q)", got, wantHook, chs[0].Setting("webhook_url"))
	}
	if doc.Find(card+" [data-testid=channel-copy][data-copy]").Length() != 1 {
		t.Errorf("no copy button")
	}
	for sel, want := range map[string]string{
		"[data-testid=channel-name]":            "Support <SMS>",
		"[data-testid=channel-type]":            "Fake twilio_sms",
		"[data-testid=channel-setting]":         "+15550100",
		"[data-testid=channel-secret]":          "Saved",
		"[data-testid=channel-webhook-hint]":    "Paste this in Twilio → Phone numbers → Messaging → “A message comes in” (HTTP POST).",
		"[data-testid=channel-last-error]":      "None",
		"#f-" + id + "-settings-api_token-hint": "Saved — leave empty to keep.",
	} {
		if got := strings.TrimSpace(doc.Find(card + " " + sel).First().Text()); got != want {
			t.Errorf("%s: got %q, want %q", sel, got, want)
		}
	}
	if req, _ := doc.Find("#f-" + id + "-settings-api_token").Attr("required"); req != "" || doc.Find("#f-"+id+"-settings-api_token[required]").Length() != 0 {
		t.Errorf("a saved secret is required again")
	}

	edit := func(number, token string, active bool) url.Values {
		f := url.Values{"name": {"Support line"}, "settings.from_number": {number}, "settings.api_token": {token},
			"settings.region": {"eu1"}, "settings.api_base_url": {""}}
		if active {
			f.Set("active", "true")
		}
		return f
	}
	t.Run("EditErrNumberBad", func(t *testing.T) {
		res := admin.post("acme", "/settings/channels/"+id, edit("nope", "good-TYPED", true))
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("got %d, want 422", res.Status)
		}
		doc := res.Doc(t)
		if doc.Find(`[data-testid="error-`+id+`-settings-from_number"]`).Length() != 1 {
			t.Errorf("no error next to the number")
		}
		if v, _ := doc.Find("#f-" + id + "-settings-from_number").Attr("value"); v != "nope" {
			t.Errorf("typed number: got %q, want it kept", v)
		}
		if strings.Contains(res.Body, "good-TYPED") || strings.Contains(res.Body, "good-SECRET-1") {
			t.Errorf("a secret is in the page")
		}
		if ch, _ := db.ChannelByID(ctx, id); ch.Name != "Support <SMS>" || ch.Setting("from_number") != "+15550100" {
			t.Errorf("refused edit changed the channel: %+v", ch)
		}
	})
	t.Run("EditKeepsSecret", func(t *testing.T) {
		if res := admin.post("acme", "/settings/channels/"+id, edit("+15550199", "", true)); res.Status != http.StatusSeeOther {
			t.Fatalf("got %d, want 303; body %s", res.Status, snippet(res.Body))
		}
		ch, _ := db.ChannelByID(ctx, id)
		if ch.Name != "Support line" || ch.Setting("from_number") != "+15550199" || ch.Setting("region") != "eu1" ||
			ch.Secrets["api_token"] != "good-SECRET-1" || !ch.Active {
			t.Errorf("got %q %q %q token %q active %v", ch.Name, ch.Setting("from_number"), ch.Setting("region"), ch.Secrets["api_token"], ch.Active)
		}
	})
	test := func(t *testing.T, want string) {
		t.Helper()
		if res := admin.post("acme", "/settings/channels/"+id+"/test", nil); res.Status != http.StatusSeeOther {
			t.Fatalf("test: got %d, want 303", res.Status)
		}
		if got := admin.get("acme", "/settings/channels").Text(t, "[data-testid=alert]"); got != want {
			t.Errorf("flash: got %q, want %q", got, want)
		}
		res := admin.hxPost("acme", "/settings/channels/"+id+"/test", "check-"+id)
		if got := res.Text(t, "[data-testid=channel-check]"); res.Status != 200 || got != want || strings.Contains(res.Body, "<html") {
			t.Errorf("htmx test: got %d %q, want 200 and the fragment %q", res.Status, got, want)
		}
	}
	t.Run("TestOK", func(t *testing.T) { test(t, "Connected: Number +15550199") })
	t.Run("EditChangesSecret", func(t *testing.T) {
		if res := admin.post("acme", "/settings/channels/"+id, edit("+15550199", "bad-SECRET-2", false)); res.Status != http.StatusSeeOther {
			t.Fatalf("got %d, want 303", res.Status)
		}
		if ch, _ := db.ChannelByID(ctx, id); ch.Secrets["api_token"] != "bad-SECRET-2" || ch.Active {
			t.Errorf("got token %q active %v, want the new token and off", ch.Secrets["api_token"], ch.Active)
		}
	})
	t.Run("TestFails", func(t *testing.T) { test(t, "Test failed: Authenticate: the token was revoked (20003)") })

	t.Run("NewChannelLink", func(t *testing.T) {
		res := admin.get("acme", "/settings/channels/new?type=twilio_sms")
		if _, open := res.Doc(t).Find("[data-testid=connect-twilio_sms]").Attr("open"); res.Status != 200 || !open {
			t.Errorf("got %d open %v, want 200 with the form open", res.Status, open)
		}
		if res := admin.get("acme", "/settings/channels/new?type=pigeon"); res.Status != 404 {
			t.Errorf("unknown type: got %d, want 404", res.Status)
		}
	})

	if _, err := db.CreateUser(ctx, app.NewUser{Email: "agent@acme.example", Name: "Agent", Password: "a good long password", Role: app.RoleAgent}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	agent := e.browser()
	agent.login("acme", "agent@acme.example", "a good long password")
	for _, tt := range []struct {
		name, path string
		form       url.Values
	}{
		{"AgentConnects", "/settings/channels", connectForm("+15550100", "good-AGENT")},
		{"AgentEdits", "/settings/channels/" + id, edit("+15550111", "good-AGENT", true)},
		{"AgentTests", "/settings/channels/" + id + "/test", nil},
		{"AgentRemoves", "/settings/channels/" + id + "/delete", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if res := agent.post("acme", tt.path, tt.form); res.Status != http.StatusForbidden {
				t.Errorf("got %d, want 403", res.Status)
			}
			if chs := list(); len(chs) != 1 || chs[0].Setting("from_number") != "+15550199" || chs[0].Secrets["api_token"] != "bad-SECRET-2" {
				t.Errorf("changed: %+v", chs)
			}
		})
	}
	if res := agent.get("acme", "/settings/channels/new?type=twilio_sms"); res.Status != http.StatusForbidden {
		t.Errorf("agent opens the connect form: got %d, want 403", res.Status)
	}

	res = admin.post("acme", "/settings/channels/"+id+"/delete", nil)
	if res.Status != http.StatusSeeOther {
		t.Fatalf("remove: got %d, want 303", res.Status)
	}
	page = admin.get("acme", "/settings/channels")
	if page.Doc(t).Find(card).Length() != 0 || len(list()) != 0 {
		t.Errorf("removed channel still listed")
	}
	if got := page.Text(t, "[data-testid=alert]"); got != "“Support line” removed. Its conversations and messages stay." {
		t.Errorf("flash: got %q", got)
	}
	if res := admin.post("acme", "/settings/channels/"+id+"/delete", nil); res.Status != 404 {
		t.Errorf("remove again: got %d, want 404", res.Status)
	}
	if res := admin.hxPost("acme", "/settings/channels/"+id+"/test", "check-"+id); res.Status != 404 || res.Text(t, "[data-testid=channel-check]") != "Test failed: Channel not found." {
		t.Errorf("htmx test of a removed channel: got %d %s, want 404 and the fragment", res.Status, snippet(res.Body))
	}
}

// TestChannelSettingsSandbox: the sandbox keeps its own form, has no Test
// button or webhook URL, and can be removed like any channel.
func TestChannelSettingsSandbox(t *testing.T) {
	t.Parallel()
	_, db, admin := channelSetup(t)
	if res := admin.post("acme", "/settings/channels", url.Values{"name": {"Box"}, "fail_attempts": {"0"}}); res.Status != http.StatusSeeOther {
		t.Fatalf("connect the sandbox: got %d", res.Status)
	}
	chs, _ := db.ListChannels(context.Background())
	if len(chs) != 1 || chs[0].Type != app.ChannelSandbox {
		t.Fatalf("got %+v, want one sandbox", chs)
	}
	doc := admin.get("acme", "/settings/channels").Doc(t)
	card := doc.Find("[data-testid=channel]")
	if card.Find("[data-testid=channel-test]").Length() != 0 || card.Find("[data-testid=channel-webhook-url]").Length() != 0 ||
		strings.TrimSpace(card.Find("[data-testid=channel-type]").Text()) != "Sandbox" {
		t.Errorf("sandbox card: got %q", card.Text())
	}
	if res := admin.post("acme", "/settings/channels/"+chs[0].ID+"/delete", nil); res.Status != http.StatusSeeOther {
		t.Fatalf("remove: got %d", res.Status)
	}
	if chs, _ := db.ListChannels(context.Background()); len(chs) != 0 {
		t.Errorf("after remove: got %d channels", len(chs))
	}
}
