package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/app"
	"parley/tenantdb"
)

// TestBrowserPortal drives the customer portal in a real Chromium, beside
// the team: a client asks for a sign-in link, the admin finds it in the
// sandbox outbox (the workspace has no mailbox), the client opens it,
// signs in on the confirmation page, reads the team's reply (and not the
// internal note) and answers; the answer reaches the team's inbox. Then
// the client's preferences and data pages, the phone layout, and signing
// out. Any console error or CSP violation fails the test.
// PARLEY_SCREENSHOTS=DIR keeps screenshots at 1280 and 390 px.
func TestBrowserPortal(t *testing.T) {
	needChromium(t)
	m, workspace := acmeWorkspace(t, func(c *Config) { c.JobPollInterval = 100 * time.Millisecond })
	const (
		teamReply = "Of course. Reply here with the new address and we will update the delivery."
		note      = "VIP: offer free shipping (internal)"
		answer    = "New address: Calle Mayor 1, 28013 Madrid."
	)
	var chatID string
	inboxTenant(t, m, func(ctx context.Context, db *tenantdb.DB) {
		ch, err := db.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateClient(ctx, app.ClientInput{FirstName: "Ana", LastName: "García",
			Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "ana@example.com"}}}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
		in, _, err := db.ReceiveMessage(ctx, app.InboundMessage{ChannelID: ch.ID, ProviderMessageID: "mail-1",
			From: app.ContactInput{Type: app.ContactEmail, Value: "ana@example.com"}, Subject: "Delivery address",
			Text: "Hello! Can I still change the delivery address of order #1042?"})
		if err != nil {
			t.Fatal(err)
		}
		chatID = in.ChatID
		for _, s := range []app.SendInput{{Text: teamReply}, {Text: note, Note: true}} {
			if _, err := db.SendMessage(ctx, chatID, s, app.ChatScope{All: true}, app.CLIActor); err != nil {
				t.Fatal(err)
			}
		}
	})
	b := startBrowser(t, 180*time.Second)

	// 1. The client asks for a sign-in link.
	client := b.newTab("client")
	client.run("open the portal", chromedp.Navigate(workspace+"/portal"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=portal-login-form]`)))
	if got := client.location(); got != workspace+"/portal/login" {
		t.Errorf("signed out, /portal led to %s, want the sign-in page", got)
	}
	client.shot("portal-login")
	client.run("type a wrong address", fill("#p-email", "ana@example"))
	client.follow("ask with it", `[data-testid=portal-login-form] button[type=submit]`, `[data-testid=error-email]`)
	if got := client.value("#p-email"); got != "ana@example" {
		t.Errorf("the refused form kept %q, want what was typed", got)
	}
	client.shot("portal-login-error")
	client.run("correct the address", chromedp.Clear(chromedp.CSS("#p-email")), fill("#p-email", "ana@example.com"))
	client.follow("ask for a link", `[data-testid=portal-login-form] button[type=submit]`, `[data-testid=portal-link-sent]`)
	if got := client.text(`[data-testid=portal-link-sent-text]`); got !=
		"If this address belongs to a customer of Acme Ltd, a sign-in link is on its way. It works for 15 minutes." {
		t.Errorf("answer: got %q", got)
	}
	client.shot("portal-link-sent")

	// 2. The workspace has no mailbox: the link is in the sandbox's outbox.
	admin := b.newTab("admin")
	admin.signIn(workspace, "ada@acme.example", "analytical-engine-1843")
	link := admin.portalLinkFromOutbox(workspace)

	// 3. Opening the link does not sign in; the button does.
	client.run("open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`[data-testid=portal-confirm]`)))
	if got := client.text(`[data-testid=portal-confirm-email]`); got != "ana@example.com" {
		t.Errorf("confirmation page: signing in as %q, want ana@example.com", got)
	}
	client.shot("portal-confirm")
	client.follow("sign in", `[data-testid=portal-confirm-form] button`, `[data-testid=portal-thread]`)
	if got := client.location(); got != workspace+"/portal#latest" {
		t.Errorf("after signing in: at %s, want %s/portal#latest", got, workspace)
	}
	thread := client.text(`[data-testid=portal-thread]`)
	if !strings.Contains(thread, teamReply) || !strings.Contains(thread, "order #1042") {
		t.Errorf("the conversation lacks the messages: %q", thread)
	}
	if strings.Contains(thread, "VIP") {
		t.Errorf("the client sees the internal note: %q", thread)
	}
	client.shot("portal-conversation")

	// 4. The client answers (after sending an empty form by mistake); the
	// team sees it in the inbox, unread.
	client.follow("send an empty answer", `[data-testid=portal-reply-form] button[type=submit]`, `[data-testid=error-text]`)
	client.shot("portal-reply-error")
	client.run("type the answer", fill("#p-text", answer))
	client.follow("send the answer", `[data-testid=portal-reply-form] button[type=submit]`, `[data-testid=alert]`)
	if got := client.lastPortalMessage(); got != answer {
		t.Errorf("newest message in the portal: got %q, want the answer", got)
	}
	client.shot("portal-answered")
	admin.run("open the inbox", chromedp.Navigate(workspace+"/inbox"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-row][data-unread="2"]`)))
	if row := admin.text(`[data-testid=chat-row]`); !strings.Contains(row, "Calle Mayor") || !strings.Contains(row, "Website") {
		t.Errorf("the inbox row of Ana's chat: got %q, want the answer's preview, via Website", row)
	}
	admin.run("open Ana's conversation", chromedp.Navigate(workspace+"/inbox/"+chatID),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=conversation]`)))
	if conv := admin.text(`[data-testid=conversation]`); !strings.Contains(conv, answer) {
		t.Errorf("the team's conversation lacks the client's answer: %q", tail(conv, 5))
	}
	admin.shot("portal-answer-in-inbox")

	// 5. The team answers again: the open portal page shows it without a
	// reload (it polls every 20 seconds).
	const second = "Updated. Your order now goes to Calle Mayor 1."
	client.run("mark the page", chromedp.Evaluate[chromedp.Void](`window.parleyNoReload = true`))
	inboxTenant(t, m, func(ctx context.Context, db *tenantdb.DB) {
		if _, err := db.SendMessage(ctx, chatID, app.SendInput{Text: second}, app.ChatScope{All: true}, app.CLIActor); err != nil {
			t.Fatal(err)
		}
	})
	func() {
		ctx, cancel := context.WithTimeout(client.ctx, 35*time.Second)
		defer cancel()
		err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`(() => {
			const ms = document.querySelectorAll('[data-testid=portal-message-text]');
			return window.parleyNoReload && ms.length && ms[ms.length - 1].innerText.trim() === `+jsString(second)+`;
		})()`, chromedp.WithPollingTimeout(35*time.Second)))
		if err != nil {
			t.Fatalf("the team's new answer never appeared on the open page: %v\n%s", err, client.describe())
		}
	}()
	client.shot("portal-live-answer")

	// 6. Preferences: the client agrees to marketing emails.
	client.follow("open Preferences", `[data-testid=portal-tab-preferences]`, `[data-testid=portal-consents]`)
	client.shot("portal-preferences")
	client.follow("agree to marketing",
		`[data-testid=portal-consent][data-purpose=marketing][data-channel=""] [data-testid=portal-consent-grant]`,
		`[data-testid=portal-consent][data-purpose=marketing][data-state=granted]`)
	client.shot("portal-preferences-saved")

	// 7. Your data: ask for a copy; the list refreshes itself until it is ready.
	client.follow("open Your data", `[data-testid=portal-tab-data]`, `[data-testid=portal-export-form]`)
	client.follow("ask for a copy", `[data-testid=portal-export-form] button`, `[data-testid=portal-export]`)
	client.run("wait for the copy", chromedp.WaitVisible(chromedp.CSS(`[data-testid=portal-export-download]`)))
	client.shot("portal-data")

	// 8. The same pages on a phone.
	client.run("switch to a phone viewport",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
	for _, p := range []struct{ path, want, shot string }{
		{"/portal", `[data-testid=portal-thread]`, "portal-conversation-phone"},
		{"/portal/preferences", `[data-testid=portal-consents]`, "portal-preferences-phone"},
		{"/portal/data", `[data-testid=portal-exports]`, "portal-data-phone"},
	} {
		client.run("open "+p.path+" on a phone", chromedp.Navigate(workspace+p.path), chromedp.WaitVisible(chromedp.CSS(p.want)))
		client.noSideScroll()
		client.shot(p.shot)
	}

	// 9. Signing out ends the session.
	client.follow("sign out", `[data-testid=portal-logout]`, `[data-testid=portal-notice]`)
	client.noSideScroll()
	client.shot("portal-signed-out-phone")
	client.run("try the conversation again", chromedp.Navigate(workspace+"/portal"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=portal-login-form]`)))
	phone := b.newTab("phone")
	phone.run("switch to a phone viewport",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
	phone.run("open the sign-in page on a phone", chromedp.Navigate(workspace+"/portal/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=portal-login-form]`)))
	phone.noSideScroll()
	phone.shot("portal-login-phone")
}

var portalLinkPattern = regexp.MustCompile(`https?://\S+/portal/login/ppl_[a-z0-9]+`)

// portalLinkFromOutbox opens the sandbox channel's outbox, as an admin
// would, until the sign-in email is there, and returns its link.
func (tb *tab) portalLinkFromOutbox(workspace string) string {
	tb.b.t.Helper()
	tb.run("open Settings → Channels", chromedp.Navigate(workspace+"/settings/channels"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=channel-outbox]`)))
	outbox := tb.get("read the outbox address", chromedp.Evaluate[string](
		`document.querySelector('[data-testid=channel-outbox]').getAttribute('href')`))
	deadline := time.Now().Add(stepTimeout)
	for {
		tb.run("open the outbox", chromedp.Navigate(workspace+outbox), chromedp.WaitVisible(chromedp.CSS(`h1, h2`)))
		text := tb.get("read the outbox", chromedp.Evaluate[string](`(() => {
			const t = document.querySelector('[data-testid=outbox]'); return t ? t.innerText : "";
		})()`))
		if link := portalLinkPattern.FindString(text); link != "" {
			tb.shot("portal-link-in-outbox")
			return link
		}
		if time.Now().After(deadline) {
			tb.b.t.Fatalf("%s: no sign-in link in the outbox\n%s", tb.name, tb.describe())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lastPortalMessage returns the text of the newest message of the portal's conversation.
func (tb *tab) lastPortalMessage() string {
	tb.b.t.Helper()
	return tb.get("read the newest message", chromedp.Evaluate[string](`(() => {
		const ms = document.querySelectorAll('[data-testid=portal-message-text]');
		return ms.length ? ms[ms.length - 1].innerText.trim() : "";
	})()`))
}

// noSideScroll fails the test if the page is wider than the screen.
func (tb *tab) noSideScroll() {
	tb.b.t.Helper()
	over := tb.get("measure the page", chromedp.Evaluate[string](
		`String(document.documentElement.scrollWidth - document.documentElement.clientWidth)`))
	if over != "0" {
		tb.b.t.Errorf("%s: the page scrolls sideways by %s px at %s", tb.name, over, tb.location())
	}
}
