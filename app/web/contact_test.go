package web_test

import (
	"context"
	"image/color"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// contactEnv is a workspace with its contact form, an admin browser and
// direct access to its file.
type contactEnv struct {
	e  *env
	ws *tenantdb.Workspace
	db *tenantdb.DB
}

func contactSetup(t *testing.T) *contactEnv {
	t.Helper()
	e := setup(t)
	ws := e.workspace("acme")
	return &contactEnv{e: e, ws: ws, db: e.db(ws)}
}

// openForm renders the contact form on url and returns its signed token.
func openForm(t *testing.T, b *browser, rawURL string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", rawURL, nil)
	res := b.do(req)
	if res.Status != 200 {
		t.Fatalf("GET %s: got %d; body %s", rawURL, res.Status, snippet(res.Body))
	}
	tok := res.Doc(t).Find("[data-testid=contact-form] input[name=t]").AttrOr("value", "")
	if tok == "" {
		t.Fatal("the contact form has no token")
	}
	return tok
}

// contactFields is a valid submission with token tok.
func contactFields(tok string, mutate ...func(url.Values)) url.Values {
	v := url.Values{"t": {tok}, "name": {"Ada Lovelace"}, "email": {"Ada@Example.com"},
		"message": {"Hello, my order #42 has not arrived."}, "website": {""}}
	for _, m := range mutate {
		m(v)
	}
	return v
}

// countWebsiteMessages counts the messages stored through the website channel.
func (c *contactEnv) countWebsiteMessages(t *testing.T) int {
	t.Helper()
	page, err := c.db.ListChats(context.Background(), app.ChatFilter{}, app.ChatScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ch := range page.Chats {
		msgs, _, err := c.db.ListMessages(context.Background(), ch.ID, app.ChatScope{All: true}, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Transport == app.TransportWebsite {
				n++
			}
		}
	}
	return n
}

// TestContactForm drives the public contact form through every kind of
// input: good, bad, spam, too fast, forged, and files.
func TestContactForm(t *testing.T) {
	t.Parallel()
	c := contactSetup(t)
	e := c.e
	formURL := hostURL("acme", "/help/contact")

	t.Run("FormRenders", func(t *testing.T) {
		res := e.browser().get("acme", "/help/contact")
		if res.Status != 200 {
			t.Fatalf("got %d", res.Status)
		}
		doc := res.Doc(t)
		hp := doc.Find("input[name=website]")
		if hp.Length() != 1 || hp.AttrOr("tabindex", "") != "-1" || hp.AttrOr("autocomplete", "") != "off" ||
			hp.Parent().AttrOr("aria-hidden", "") != "true" || !hp.Parent().HasClass("hp-field") {
			t.Errorf("honeypot input is not hidden from people: %s", snippet(res.Body))
		}
		for _, sel := range []string{"label[for=f-name]", "label[for=f-email]", "label[for=f-message]", "label[for=f-attachment]",
			"form[enctype='multipart/form-data'][action='/help/contact']", "nav a[aria-current=page][href='/help/contact']"} {
			if doc.Find(sel).Length() != 1 {
				t.Errorf("missing %s", sel)
			}
		}
		// The file input is last, so a file over the limit leaves the text.
		if last := doc.Find("[data-testid=contact-form] input, [data-testid=contact-form] textarea").Last(); last.AttrOr("name", "") != "attachment" {
			t.Errorf("the last input is %q, want the file", last.AttrOr("name", ""))
		}
	})

	html := []byte("<!DOCTYPE html><html><body><script>alert(1)</script></body></html>")
	for _, tt := range []struct {
		name       string
		mutate     func(url.Values)
		file       *upload
		wait       time.Duration
		wantStatus int
		wantSel    string // an element that must be there
		wantText   string
	}{
		{name: "ErrNameRequired", mutate: func(v url.Values) { v.Set("name", "  ") }, wantStatus: 422, wantSel: "[data-testid=error-name]", wantText: "Enter your name"},
		{name: "ErrNameTooLong", mutate: func(v url.Values) { v.Set("name", strings.Repeat("n", 101)) }, wantStatus: 422, wantSel: "[data-testid=error-name]", wantText: "100"},
		{name: "ErrEmailRequired", mutate: func(v url.Values) { v.Set("email", "") }, wantStatus: 422, wantSel: "[data-testid=error-email]", wantText: "Enter your email"},
		{name: "ErrEmailInvalid", mutate: func(v url.Values) { v.Set("email", "ada@@example") }, wantStatus: 422, wantSel: "[data-testid=error-email]", wantText: "valid email"},
		{name: "ErrEmailWithQuery", mutate: func(v url.Values) { v.Set("email", "ada@example.com?cc=x@evil.example") }, wantStatus: 422, wantSel: "[data-testid=error-email]", wantText: "valid email"},
		{name: "ErrMessageRequired", mutate: func(v url.Values) { v.Set("message", "\n  \n") }, wantStatus: 422, wantSel: "[data-testid=error-message]", wantText: "Write your message"},
		{name: "ErrMessageTooLong", mutate: func(v url.Values) { v.Set("message", strings.Repeat("é", 10001)) }, wantStatus: 422, wantSel: "[data-testid=error-message]", wantText: "10,000"},
		{name: "ErrHTMLRenamedPNG", file: &upload{"attachment", "photo.png", html}, wantStatus: 422, wantSel: "[data-testid=error-attachment]", wantText: "cannot be sent"},
		{name: "ErrFileTooLarge", file: &upload{"attachment", "big.pdf", append([]byte("%PDF-1.4\n"), make([]byte, app.MaxAttachmentBytes)...)}, wantStatus: 422, wantSel: "[data-testid=error-attachment]", wantText: "10 MB"},
		{name: "ErrFileLostOnOtherError", mutate: func(v url.Values) { v.Set("email", "nope") }, file: &upload{"attachment", "ok.png", pngBytes(t, color.White)}, wantStatus: 422, wantSel: "[data-testid=file-lost]", wantText: "choose it again"},
		{name: "ErrTooFast", wait: -1, wantStatus: 422, wantSel: "[data-testid=contact-alert]", wantText: "quick"},
		{name: "ErrForgedToken", mutate: func(v url.Values) { v.Set("t", v.Get("t")[:len(v.Get("t"))-3]+"AAA") }, wantStatus: 422, wantSel: "[data-testid=contact-alert]", wantText: "could not be checked"},
		{name: "ErrMadeUpToken", mutate: func(v url.Values) { v.Set("t", "1700000000.abc.def") }, wantStatus: 422, wantSel: "[data-testid=contact-alert]", wantText: "could not be checked"},
		{name: "ErrNoToken", mutate: func(v url.Values) { v.Del("t") }, wantStatus: 422, wantSel: "[data-testid=contact-alert]", wantText: "could not be checked"},
		{name: "ErrTokenExpired", wait: 25 * time.Hour, wantStatus: 422, wantSel: "[data-testid=contact-alert]", wantText: "more than a day"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser()
			tok := openForm(t, b, formURL)
			switch {
			case tt.wait > 0:
				e.clock.Advance(tt.wait)
			case tt.wait == 0:
				e.clock.Advance(5 * time.Second)
			}
			before := c.countWebsiteMessages(t)
			fields := contactFields(tok, func(v url.Values) {
				if tt.mutate != nil {
					tt.mutate(v)
				}
			})
			var files []upload
			if tt.file != nil {
				files = append(files, *tt.file)
			}
			res := b.postMultipart(formURL, fields, files...)
			if res.Status != tt.wantStatus {
				t.Fatalf("got %d, want %d; body %s", res.Status, tt.wantStatus, snippet(res.Body))
			}
			if got := res.Text(t, tt.wantSel); !strings.Contains(got, tt.wantText) {
				t.Errorf("%s: got %q, want it to say %q", tt.wantSel, got, tt.wantText)
			}
			doc := res.Doc(t)
			// What was typed is kept (the message and the name as typed,
			// trimmed), never the file.
			if got := doc.Find("textarea[name=message]").Text(); got != strings.TrimSpace(fields.Get("message")) {
				t.Errorf("message not kept: got %.40q", got)
			}
			if tt.name != "ErrNameRequired" && tt.name != "ErrNameTooLong" {
				if got := doc.Find("input[name=name]").AttrOr("value", ""); got != fields.Get("name") {
					t.Errorf("name not kept: got %q", got)
				}
			}
			if doc.Find("input[name=t]").AttrOr("value", "") == "" {
				t.Error("the form came back without a token")
			}
			if after := c.countWebsiteMessages(t); after != before {
				t.Errorf("a refused form stored %d message(s)", after-before)
			}
		})
	}

	t.Run("TooFastThenSentKeepsOneMessage", func(t *testing.T) {
		b := e.browser()
		tok := openForm(t, b, formURL)
		fields := contactFields(tok, func(v url.Values) { v.Set("email", "grace@example.com") })
		res := b.postMultipart(formURL, fields)
		if res.Status != 422 {
			t.Fatalf("instant post: got %d, want 422", res.Status)
		}
		kept := res.Doc(t).Find("input[name=t]").AttrOr("value", "")
		if kept != tok {
			t.Error("a post sent too soon got a new token; sending it again would make a second message")
		}
		e.clock.Advance(4 * time.Second)
		before := c.countWebsiteMessages(t)
		for i := range 2 { // a double click
			res = b.postMultipart(formURL, contactFields(kept, func(v url.Values) { v.Set("email", "grace@example.com") }))
			if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/help/contact/sent?r=") {
				t.Fatalf("send %d: got %d %q", i, res.Status, res.Header.Get("Location"))
			}
		}
		if got := c.countWebsiteMessages(t) - before; got != 1 {
			t.Errorf("a form sent twice stored %d messages, want 1", got)
		}
	})

	t.Run("HoneypotThanksButStoresNothing", func(t *testing.T) {
		b := e.browser()
		tok := openForm(t, b, formURL)
		e.clock.Advance(5 * time.Second)
		before := c.countWebsiteMessages(t)
		res := b.postMultipart(formURL, contactFields(tok, func(v url.Values) {
			v.Set("website", "http://spam.example")
			v.Set("email", "bot@spam.example")
		}))
		human := e.browser()
		htok := openForm(t, human, formURL)
		e.clock.Advance(5 * time.Second)
		hres := human.postMultipart(formURL, contactFields(htok, func(v url.Values) { v.Set("email", "bot@spam.example") }))
		if res.Status != hres.Status || res.Status != http.StatusSeeOther {
			t.Fatalf("bot got %d, person got %d; both want 303", res.Status, hres.Status)
		}
		botPage, humanPage := b.get("acme", res.Header.Get("Location")), human.get("acme", hres.Header.Get("Location"))
		if botPage.Text(t, "[data-testid=contact-sent]") != humanPage.Text(t, "[data-testid=contact-sent]") {
			t.Errorf("the bot's thank-you page differs from a person's")
		}
		if got := c.countWebsiteMessages(t) - before; got != 1 {
			t.Errorf("got %d new messages, want 1 (the person's, not the bot's)", got)
		}
		// Even an instant bot with no token is thanked.
		if res := e.browser().postMultipart(formURL, url.Values{"website": {"x"}, "message": {"buy"}}); res.Status != http.StatusSeeOther {
			t.Errorf("tokenless bot: got %d, want 303", res.Status)
		}
	})

	t.Run("SentPage", func(t *testing.T) {
		b := e.browser()
		tok := openForm(t, b, formURL)
		e.clock.Advance(5 * time.Second)
		res := b.postMultipart(formURL, contactFields(tok, func(v url.Values) { v.Set("email", "Anna.Lee@Example.co.uk") }))
		page := b.get("acme", res.Header.Get("Location"))
		if got := page.Text(t, "[data-testid=sent-email]"); got != "a…@e….uk" {
			t.Errorf("masked email: got %q", got)
		}
		if strings.Contains(page.Body, "anna.lee") || !strings.Contains(page.Body, `name="robots" content="noindex"`) {
			t.Error("the sent page shows the whole address or may be indexed")
		}
		for _, tt := range []struct{ name, query string }{
			{"ErrNoReceipt", ""},
			{"ErrForgedReceipt", "?r=" + url.QueryEscape("PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg.1800000000.AAAA")},
			{"ErrArbitraryText", "?r=%3Cscript%3Ealert(1)%3C/script%3E"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				res := b.get("acme", "/help/contact/sent"+tt.query)
				if res.Status != 200 || res.Doc(t).Find("[data-testid=sent-email]").Length() != 0 {
					t.Errorf("got %d with an address shown", res.Status)
				}
				if strings.Contains(res.Body, "<script>alert") || strings.Contains(res.Body, "alert(1)") {
					t.Error("the sent page reflects the URL")
				}
			})
		}
		t.Run("ErrReceiptExpired", func(t *testing.T) {
			loc := res.Header.Get("Location")
			e.clock.Advance(2 * time.Hour)
			if b.get("acme", loc).Doc(t).Find("[data-testid=sent-email]").Length() != 0 {
				t.Error("an old receipt still shows the address")
			}
		})
	})
}

// TestContactFormRateLimits checks the limits per address and per email,
// that they recover with time, and that a limited visitor keeps their text.
func TestContactFormRateLimits(t *testing.T) {
	t.Parallel()
	c := contactSetup(t)
	e := c.e
	formURL := hostURL("acme", "/help/contact")
	send := func(t *testing.T, email string) response {
		t.Helper()
		b := e.browser()
		tok := openForm(t, b, formURL)
		e.clock.Advance(4 * time.Second)
		return b.postMultipart(formURL, contactFields(tok, func(v url.Values) {
			v.Set("email", email)
			v.Set("message", "Message from "+email)
		}))
	}

	t.Run("PerEmail", func(t *testing.T) {
		for i := range 3 {
			if res := send(t, "same@example.com"); res.Status != http.StatusSeeOther {
				t.Fatalf("message %d: got %d", i+1, res.Status)
			}
		}
		res := send(t, "same@example.com")
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("4th message from one email: got %d, want 429", res.Status)
		}
		if got := res.Text(t, "[data-testid=contact-alert]"); !strings.Contains(got, "try again in about") {
			t.Errorf("alert: %q", got)
		}
		if got := res.Doc(t).Find("textarea[name=message]").Text(); got != "Message from same@example.com" {
			t.Errorf("a limited visitor lost their text: %q", got)
		}
		e.clock.Advance(21 * time.Minute)
		if res := send(t, "same@example.com"); res.Status != http.StatusSeeOther {
			t.Errorf("after 21 minutes: got %d, want 303", res.Status)
		}
	})

	t.Run("PerIP", func(t *testing.T) {
		e.clock.Advance(time.Hour) // every budget full again
		// The email limit allows 3; the address allows 5, so the 6th
		// address-wide message is refused whatever the email.
		for i := range 5 {
			if res := send(t, "person"+string(rune('a'+i))+"@example.com"); res.Status != http.StatusSeeOther {
				t.Fatalf("message %d: got %d", i+1, res.Status)
			}
		}
		if res := send(t, "fresh@example.com"); res.Status != http.StatusTooManyRequests {
			t.Fatalf("6th message from one address: got %d, want 429", res.Status)
		}
		e.clock.Advance(3 * time.Minute)
		if res := send(t, "fresh@example.com"); res.Status != http.StatusSeeOther {
			t.Errorf("after 3 minutes: got %d, want 303", res.Status)
		}
	})

	t.Run("PerWorkspace", func(t *testing.T) {
		// acme's address budget is spent; globex's is not.
		e.workspace("globex")
		gURL := hostURL("globex", "/help/contact")
		b := e.browser()
		tok := openForm(t, b, gURL)
		e.clock.Advance(4 * time.Second)
		if res := b.postMultipart(gURL, contactFields(tok)); res.Status != http.StatusSeeOther {
			t.Errorf("another workspace shares the limit: got %d", res.Status)
		}
	})
}

// TestContactFormInbox checks a sent form arrives in the inbox as a
// website message with its attachment, from the client with that email,
// and that what the visitor typed is shown escaped to the team.
func TestContactFormInbox(t *testing.T) {
	t.Parallel()
	c := contactSetup(t)
	e := c.e
	ctx := context.Background()
	existing, err := c.db.CreateClient(ctx, app.ClientInput{FirstName: "Ada", LastName: "Existing",
		Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "ada@example.com"}}}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	team := e.browser()
	team.login("acme", "admin@acme.example", "correct horse battery")

	visitor := e.browser()
	formURL := hostURL("acme", "/help/contact")
	tok := openForm(t, visitor, formURL)
	e.clock.Advance(10 * time.Second)
	xssName := `<img src=x onerror=alert(1)>`
	xssText := "Hi <script>alert('x')</script> & bye"
	res := visitor.postMultipart(formURL, contactFields(tok, func(v url.Values) {
		v.Set("name", xssName)
		v.Set("message", xssText)
		v.Set("email", "ADA@example.com")
	}), upload{"attachment", "receipt.png", pngBytes(t, color.Black)})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("got %d; body %s", res.Status, snippet(res.Body))
	}

	page, err := c.db.ListChats(ctx, app.ChatFilter{}, app.ChatScope{All: true})
	if err != nil || len(page.Chats) != 1 {
		t.Fatalf("chats: %d (%v), want 1", len(page.Chats), err)
	}
	chat := page.Chats[0]
	if chat.ClientID != existing.ID {
		t.Errorf("the message went to client %s, want the existing client with that email %s", chat.ClientID, existing.ID)
	}
	msgs, _, err := c.db.ListMessages(ctx, chat.ID, app.ChatScope{All: true}, "", 100)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("messages: %v (%v)", msgs, err)
	}
	m := msgs[0]
	if m.Transport != app.TransportWebsite || m.Text != xssText || m.Subject != "Contact form" || len(m.Attachments) != 1 ||
		m.Attachments[0].ContentType != "image/png" || m.Attachments[0].Filename != "receipt.png" {
		t.Errorf("message: transport %s text %q subject %q attachments %+v", m.Transport, m.Text, m.Subject, m.Attachments)
	}

	// The team sees it in the inbox, escaped.
	res = team.get("acme", "/inbox/"+chat.ID)
	if res.Status != 200 {
		t.Fatalf("open chat: %d", res.Status)
	}
	if strings.Contains(res.Body, "<script>alert('x')") || strings.Contains(res.Body, "<img src=x") {
		t.Errorf("the inbox renders what the visitor typed as HTML")
	}
	if !strings.Contains(res.Body, "Hi &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; bye") {
		t.Errorf("the inbox does not show the message text escaped: %s", snippet(res.Body))
	}
	if !strings.Contains(res.Body, "/attachments/"+m.Attachments[0].ID) {
		t.Error("the inbox does not show the attachment")
	}
	// A stranger becomes a new client named as typed (escaped in the list).
	tok = openForm(t, visitor, formURL)
	e.clock.Advance(10 * time.Second)
	visitor.postMultipart(formURL, contactFields(tok, func(v url.Values) {
		v.Set("name", xssName)
		v.Set("email", "stranger@example.com")
	}))
	list := team.get("acme", "/inbox")
	if strings.Contains(list.Body, "<img src=x") || !strings.Contains(list.Body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("the inbox list does not show the new client's name escaped")
	}
}

// TestContactFormCustomDomain checks the form works on a mapped domain and
// stores the message in that workspace only; a token from one workspace is
// refused by another.
func TestContactFormCustomDomain(t *testing.T) {
	t.Parallel()
	e := setup(t)
	acme, globex := e.workspace("acme"), e.workspace("globex")
	if err := e.control.MapDomain(context.Background(), globex.Tenant.ID, "support.globex.example"); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	customURL := "http://support.globex.example/help/contact"
	tok := openForm(t, b, customURL)
	e.clock.Advance(5 * time.Second)
	res := b.postMultipart(customURL, contactFields(tok))
	if res.Status != http.StatusSeeOther {
		t.Fatalf("post on custom domain: got %d; body %s", res.Status, snippet(res.Body))
	}
	if page := b.getOn("support.globex.example", res.Header.Get("Location")); page.Text(t, "[data-testid=sent-email]") != "a…@e….com" {
		t.Errorf("sent page on the custom domain: %s", snippet(page.Body))
	}
	count := func(ws *tenantdb.Workspace) int {
		page, err := e.db(ws).ListChats(context.Background(), app.ChatFilter{}, app.ChatScope{All: true})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Chats)
	}
	if count(globex) != 1 || count(acme) != 0 {
		t.Errorf("chats: globex %d, acme %d; want 1 and 0", count(globex), count(acme))
	}

	// globex's token posted to acme: a forgery there.
	tok = openForm(t, b, customURL)
	e.clock.Advance(5 * time.Second)
	res = b.postMultipart(hostURL("acme", "/help/contact"), contactFields(tok))
	if res.Status != 422 || !strings.Contains(res.Text(t, "[data-testid=contact-alert]"), "could not be checked") {
		t.Errorf("another workspace's token: got %d", res.Status)
	}
	if count(acme) != 0 {
		t.Error("acme stored a message sent with globex's token")
	}
	// A cross-site post is refused outright.
	req, _ := http.NewRequest("POST", customURL, strings.NewReader(contactFields(tok).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res := b.do(req); res.Status != http.StatusForbidden {
		t.Errorf("cross-site post: got %d, want 403", res.Status)
	}
}
