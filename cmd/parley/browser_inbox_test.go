package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"parley/app"
	"parley/tenantdb"
)

// TestBrowserInbox drives two people in two browser profiles through the
// team inbox: the admin connects the sandbox, a customer writes (through
// the sandbox's API), the conversation appears live in the admin's and
// the agent's inbox with the unread badge, the agent opens it (the unread
// count falls for both), answers with a template chosen by typing "/",
// and the reply's ticks advance from queued to read without a reload
// while the server's worker and the sandbox deliver it. Then a note with
// an @mention, message search and the phone layout. Any console error or
// CSP violation fails the test. PARLEY_SCREENSHOTS=DIR keeps screenshots.
func TestBrowserInbox(t *testing.T) {
	needChromium(t)
	m, workspace := acmeWorkspace(t, func(c *Config) { c.JobPollInterval = 100 * time.Millisecond })
	token := inboxTenantSetup(t, m)
	b := startBrowser(t, 180*time.Second)

	// 1. The admin connects the sandbox in Settings → Channels.
	admin := b.newTab("admin")
	admin.signIn(workspace, "ada@acme.example", "analytical-engine-1843")
	admin.run("open Settings → Channels", chromedp.Navigate(workspace+"/settings/channels"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=sandbox-form]`)))
	admin.follow("connect the sandbox", `[data-testid=sandbox-form] button[type=submit]`, `[data-testid=channel]`)
	admin.shot("inbox-channels")
	admin.follow("open the inbox", `[data-testid=nav-inbox]`, `[data-testid=chat-list] [data-testid=empty]`)

	agent := b.newTab("agent")
	agent.signIn(workspace, "grace@acme.example", "compiler-a0-1952")
	agent.run("see the empty inbox", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-list] [data-testid=empty]`)))
	admin.waitLive()
	agent.waitLive()

	// 2. A customer writes: both inboxes show the chat, unread, at once.
	inboxCustomerWrites(t, workspace, token, "Hi! Where is my order #1042? It was due yesterday.")
	for _, tb := range []*tab{admin, agent} {
		tb.run("see the new chat arrive", chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-row][data-unread="1"]`)))
		if got := tb.text(`[data-testid=chat-row] [data-testid=chat-row-name]`); got != "Anna Kowalska" {
			t.Errorf("%s: chat row: got %q, want Anna Kowalska", tb.name, got)
		}
		tb.run("see the unread badge", chromedp.WaitVisible(chromedp.CSS(`[data-testid=nav-unread-count]`)))
		if got := tb.text(`[data-testid=nav-unread-count]`); got != "1" {
			t.Errorf("%s: unread badge: got %q, want 1", tb.name, got)
		}
	}
	admin.shot("inbox-new-chat")

	// 3. The agent opens it: unread falls for both, without a reload.
	agent.run("mark the page", chromedp.Evaluate[chromedp.Void](`window.parleyNoReload = true`))
	agent.run("open the chat", clickNow(`[data-testid=chat-row]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=conversation] [data-testid=composer]`)))
	for _, tb := range []*tab{admin, agent} {
		tb.run("see the chat read", chromedp.WaitNotPresent(chromedp.CSS(`[data-testid=nav-unread-count]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-row][data-unread="0"]`)))
	}
	if loc := agent.location(); !strings.Contains(loc, "/inbox/") {
		t.Errorf("agent's address after opening a chat: got %s, want /inbox/{id} so it can be shared", loc)
	}

	// 4. The agent answers with a template: "/" opens the list, Enter
	// inserts it, Ctrl+Enter sends.
	agent.run("type / and part of a template name", fill(`[data-testid=composer-text]`, "/deliv"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=template-option]`)))
	agent.shot("inbox-template-picker")
	agent.run("choose the template", pressEnter())
	const reply = "Orders ship within 2 working days; you get a tracking link by email."
	if got := agent.value(`[data-testid=composer-text]`); got != reply {
		t.Fatalf("composer after choosing the template: got %q, want %q", got, reply)
	}
	agent.run("send with Ctrl+Enter", chromedp.Focus(chromedp.CSS(`[data-testid=composer-text]`)),
		chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=message][data-direction=out] [data-testid=tick]`)))
	if got := agent.value(`[data-testid=composer-text]`); got != "" {
		t.Errorf("composer after sending: got %q, want it cleared", got)
	}
	seen := agent.tickProgress(`[data-testid=message][data-direction=out] [data-testid=tick]`, "read")
	if len(seen) < 2 {
		t.Errorf("ticks seen: %v, want the reply to move through at least two statuses live", seen)
	}
	if got := agent.get("check the page was never reloaded", chromedp.Evaluate[string](`String(window.parleyNoReload === true)`)); got != "true" {
		t.Errorf("the agent's page was reloaded; the ticks must advance live")
	}
	agent.shot("inbox-reply-read")
	admin.run("see the reply in the list", chromedp.Poll[chromedp.Void](
		`document.querySelector('[data-testid=chat-row-preview]').textContent.includes('tracking link')`,
		chromedp.WithPollingTimeout(10*time.Second)))

	// 5. An internal note with a mention, appended live on the admin's side.
	admin.run("open the chat", clickNow(`[data-testid=chat-row]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=conversation] [data-testid=tick][data-status=read]`)))
	agent.run("write a note", chromedp.Click(chromedp.CSS(`[data-testid=mode-note]`)),
		fill(`[data-testid=composer-text]`, "@ada can you double-check the address?"),
		chromedp.Click(chromedp.CSS(`[data-testid=composer-send]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=message][data-kind=note]`)))
	admin.run("see the note arrive", chromedp.WaitVisible(chromedp.CSS(`[data-testid=message][data-kind=note] mark.mention`)))
	if got := admin.text(`[data-testid=message][data-kind=note] mark.mention`); got != "@ada" {
		t.Errorf("mention: got %q, want @ada", got)
	}
	admin.shot("inbox-conversation")

	// 5b. A photo goes with a reply, through the composer's file input.
	photo := filepath.Join(t.TempDir(), "label.png")
	if err := os.WriteFile(photo, inboxPNG(), 0o600); err != nil {
		t.Fatal(err)
	}
	admin.run("attach a photo", chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=composer-files]`), []string{photo}),
		fill(`[data-testid=composer-text]`, "Here is the shipping label."),
		chromedp.Click(chromedp.CSS(`[data-testid=composer-send]`)),
		chromedp.Poll[chromedp.Void](`(() => { const img = document.querySelector('[data-testid=message] .attachment-image img');
			return !!img && img.complete && img.naturalWidth > 0; })()`, chromedp.WithPollingTimeout(10*time.Second)))

	// 5c. The snooze menu opens, and Esc closes it.
	admin.run("open the snooze menu", chromedp.Click(chromedp.CSS(`[data-testid=snooze-menu] summary`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=snooze-tomorrow]`)))
	admin.shot("inbox-snooze-menu")
	admin.run("close it with Esc", chromedp.KeyEvent(kb.Escape), chromedp.Poll[chromedp.Void](
		`!document.querySelector('[data-testid=snooze-menu]').open`, chromedp.WithPollingTimeout(5*time.Second)))

	// 5d. A message that failed shows why; Retry hands it to the worker again.
	failed := inboxFailMessage(t, m, "Delivery to the provider timed out.")
	admin.run("see the failure arrive", chromedp.WaitVisible(chromedp.CSS(`#m-`+failed+` [data-testid=retry]`)))
	admin.shot("inbox-failed")
	admin.run("retry", chromedp.Click(chromedp.CSS(`#m-`+failed+` [data-testid=retry]`)))
	if seen := admin.tickProgress(`#m-`+failed+` [data-testid=tick]`, "read"); seen[0] == "failed" && len(seen) < 2 {
		t.Errorf("retried message: ticks %v", seen)
	}
	// The sandbox answers like a customer a few seconds later; wait for it,
	// or it moves Anna's chat up the list in the middle of the j / k steps.
	admin.run("wait for the customer's answer", chromedp.Poll[chromedp.Void](
		`document.querySelectorAll('#m-`+failed+` ~ [data-testid=message][data-direction=in]').length > 0`,
		chromedp.WithPollingTimeout(15*time.Second)))

	// 6. Search all messages; a hit opens the chat at the message.
	admin.run("search", fill(`[data-testid=inbox-search]`, "tracking"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=search-hit] mark`)))
	admin.shot("inbox-search")
	admin.follow("open the hit", `[data-testid=search-hit]`, `[data-testid=message].msg-highlight`)

	// 7. j / k move through the list.
	inboxCustomerWrites(t, workspace, token, "")
	inboxTenant(t, m, func(ctx context.Context, db *tenantdb.DB) {
		chs, err := db.ListChannels(ctx)
		if err != nil || len(chs) == 0 {
			t.Fatalf("channels: %v", err)
		}
		for i := range 60 {
			if _, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: chs[0].ID, Text: fmt.Sprintf("Line %d of a long story", i),
				From: app.ContactInput{Type: app.ContactEmail, Value: "bo@example.com"}, ProviderMessageID: fmt.Sprint("story-", i)}); err != nil {
				t.Fatal(err)
			}
		}
	})
	admin.run("clear the search", chromedp.Navigate(workspace+"/inbox"), chromedp.Poll[chromedp.Void](
		`document.querySelectorAll('[data-testid=chat-row]').length === 2`, chromedp.WithPollingTimeout(10*time.Second)))
	admin.run("press j", chromedp.KeyEvent("j"))
	admin.eventually("the first chat opens", `document.querySelector('[data-testid=conversation]') !== null`)
	first := admin.get("read the open chat", chromedp.Evaluate[string](`document.querySelector('[data-testid=conversation]').dataset.chatId`))
	admin.run("press j again", chromedp.KeyEvent("j"))
	admin.eventually("the next chat opens", `document.querySelector('[data-testid=conversation]')?.dataset.chatId !== `+jsString(first))
	admin.run("press k", chromedp.KeyEvent("k"))
	admin.eventually("the first chat opens again", `document.querySelector('[data-testid=conversation]')?.dataset.chatId === `+jsString(first))

	// 8. Scrolling up a long history loads the older messages above, with
	// one day separator for the day.
	if got := admin.get("count messages", chromedp.Evaluate[string](`String(document.querySelectorAll('[data-testid=message]').length)`)); got != "50" {
		t.Errorf("Bo's newest page: got %s messages, want 50", got)
	}
	admin.run("scroll to the top of the history", chromedp.Poll[chromedp.Void](`(() => {
		const s = document.querySelector('.chat-scroll');
		s.scrollTop = -s.scrollHeight; // the newest message is at scrollTop 0: the pane is column-reverse
		return document.querySelectorAll('[data-testid=message]').length === 61;
	})()`, chromedp.WithPollingTimeout(stepTimeout-time.Second)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=history-start]`)))
	if got := admin.get("count day separators", chromedp.Evaluate[string](`String(document.querySelectorAll('[data-testid=day-separator]').length)`)); got != "1" {
		t.Errorf("day separators after loading older messages: got %s, want 1", got)
	}

	// 9. The sandbox's outbox lists what the worker delivered.
	admin.run("open Settings → Channels", chromedp.Navigate(workspace+"/settings/channels"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=channel-outbox]`)))
	admin.follow("open the outbox", `[data-testid=channel-outbox]`, `[data-testid=outbox]`)
	if got := admin.text(`[data-testid=outbox]`); !strings.Contains(got, "tracking link") || !strings.Contains(got, "Your refund is on its way.") {
		t.Errorf("outbox: got %q, want the template reply and the retried message", got)
	}
	admin.shot("inbox-outbox")

	// The same pages on a phone-sized screen: one pane at a time.
	admin.run("switch to a phone viewport",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
	admin.run("open the inbox on a phone", chromedp.Navigate(workspace+"/inbox"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-row]`)))
	admin.shot("inbox-list-phone")
	admin.run("open a chat on a phone", clickNow(`[data-testid=chat-row]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-back]`)), chromedp.WaitNotVisible(chromedp.CSS(`[data-testid=chat-list]`)))
	admin.shot("inbox-chat-phone")
	admin.run("open the client panel on a phone", chromedp.Click(chromedp.CSS(`[data-testid=client-toggle]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=client-panel]`)))
	admin.shot("inbox-client-phone")
}

// inboxTenantSetup adds the agent Grace and a template to acme, and
// returns an admin API token.
func inboxTenantSetup(t *testing.T, m *Main) string {
	t.Helper()
	var secret string
	inboxTenant(t, m, func(ctx context.Context, db *tenantdb.DB) {
		if _, err := db.CreateUser(ctx, app.NewUser{Email: "grace@acme.example", Name: "Grace Hopper", Password: "compiler-a0-1952",
			Role: app.RoleAgent}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateTemplate(ctx, app.TemplateInput{Name: "Delivery times",
			Body: "Orders ship within 2 working days; you get a tracking link by email."}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
		var err error
		if _, secret, err = db.CreateToken(ctx, app.NewAPIToken{Name: "browser test", Role: app.RoleAdmin}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	})
	return secret
}

var inboundSeq int

// inboxCustomerWrites posts a customer's message to the sandbox's inbound
// API, as the sandbox's simulated customer would. An empty text writes
// from a second customer.
func inboxCustomerWrites(t *testing.T, workspace, token, text string) {
	t.Helper()
	inboundSeq++
	from, name := "anna@example.com", "Anna Kowalska"
	if text == "" {
		from, name, text = "bo@example.com", "Bo Berg", "Do you deliver to Norway?"
	}
	body := `{"from":{"type":"email","value":"` + from + `"},"sender_name":"` + name + `","text":"` + text +
		`","provider_message_id":"browser-` + strings.Repeat("x", inboundSeq) + `"}`
	req, _ := http.NewRequest("POST", workspace+"/api/v1/sandbox/inbound", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	// *.localhost resolves in browsers, not in Go: dial the server itself.
	addr := strings.TrimPrefix(workspace[strings.Index(workspace, ".")+1:], "")
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, strings.Replace(addr, "localhost", "127.0.0.1", 1))
	}}}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("sandbox inbound: got %d, want 201", res.StatusCode)
	}
}

// signIn signs the tab in and waits for the signed-in app.
func (tb *tab) signIn(workspace, email, password string) {
	tb.b.t.Helper()
	tb.run("open the sign-in page", chromedp.Navigate(workspace+"/login"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
	tb.run("fill the sign-in form", fill("#f-email", email), fill("#f-password", password))
	tb.follow("sign in", `[data-testid=login-form] button[type=submit]`, `[data-testid=current-user]`)
}

// waitLive waits until the page's live-update stream is open, so that no
// signal sent from now on can be missed.
func (tb *tab) waitLive() {
	tb.b.t.Helper()
	tb.run("wait for the live stream", chromedp.Poll[chromedp.Void](`(() => {
		const d = document.querySelector('.app')['htmx-internal-data'];
		return !!(d && d.sseEventSource && d.sseEventSource.readyState === 1);
	})()`, chromedp.WithPollingTimeout(10*time.Second)))
}

// tickProgress watches the tick at sel until it shows want and returns
// the statuses it went through.
func (tb *tab) tickProgress(sel, want string) []string {
	tb.b.t.Helper()
	var seen []string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s := tb.get("read the tick", chromedp.Evaluate[string](`(() => {
			const el = document.querySelector(`+jsString(sel)+`); return el ? el.dataset.status : "";
		})()`))
		if s != "" && (len(seen) == 0 || seen[len(seen)-1] != s) {
			seen = append(seen, s)
		}
		if s == want {
			return seen
		}
		time.Sleep(40 * time.Millisecond)
	}
	tb.b.t.Fatalf("%s: the tick never showed %s; it went through %v\n%s", tb.name, want, seen, tb.describe())
	return nil
}

func jsString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `\'`) + "'"
}

// pressEnter presses Enter as a person does: one key-down carrying its
// text, which the page may cancel. (chromedp.KeyEvent sends the text as a
// separate char event that a cancelled key-down cannot stop.)
func pressEnter() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter",
			WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r"}
		up := down
		up.Type, up.Text, up.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
		for _, ev := range []input.DispatchKeyEventParams{down, up} {
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// clickNow clicks the element sel selects in one step inside the page:
// the list redraws itself on live updates, and a click that first looks
// the row up and then clicks it can find it gone in between.
func clickNow(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`(() => {
		const el = document.querySelector(`+jsString(sel)+`);
		if (!el) return false;
		el.click();
		return true;
	})()`, chromedp.WithPollingTimeout(10*time.Second))
}

// inboxFailMessage writes a reply to Anna that the provider refused, as
// the worker would record it, and returns its id.
func inboxFailMessage(t *testing.T, m *Main, reason string) string {
	t.Helper()
	var id string
	inboxTenant(t, m, func(ctx context.Context, db *tenantdb.DB) {
		page, err := db.ListChats(ctx, app.ChatFilter{}, app.ChatScope{All: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Chats {
			if c.ClientName != "Anna Kowalska" {
				continue
			}
			msg, err := db.SendMessage(ctx, c.ID, app.SendInput{Text: "Your refund is on its way."}, app.ChatScope{All: true}, app.CLIActor)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.RecordSendFailed(ctx, msg.ID, reason); err != nil {
				t.Fatal(err)
			}
			id = msg.ID
		}
	})
	if id == "" {
		t.Fatal("no chat of Anna Kowalska")
	}
	return id
}

// inboxTenant runs fn with acme's tenant file.
func inboxTenant(t *testing.T, m *Main, fn func(context.Context, *tenantdb.DB)) {
	t.Helper()
	ctx := context.Background()
	ten, err := m.Control.TenantBySlug(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	db, release, err := m.Tenants.Acquire(ctx, ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	fn(ctx, db)
}

// inboxPNG is a 2x2 PNG image.
func inboxPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
