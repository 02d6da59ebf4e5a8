package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserClients drives Chromium through the client pages: create a
// client, add a contact and a pinned note, create a likely duplicate (the
// form asks first), find the client by a fragment of its phone number as
// you type, and merge the duplicate into it. Any console error or CSP
// violation fails the test. PARLEY_SCREENSHOTS=DIR keeps screenshots.
func TestBrowserClients(t *testing.T) {
	needChromium(t)
	_, workspace := acmeWorkspace(t)
	b := startBrowser(t, 120*time.Second)
	tb := b.newTab("admin")
	tb.run("open the sign-in page", chromedp.Navigate(workspace+"/login"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
	tb.run("fill the sign-in form", fill("#f-email", "ada@acme.example"), fill("#f-password", "analytical-engine-1843"))
	tb.follow("sign in", `[data-testid=login-form] button[type=submit]`, `[data-testid=current-user]`)

	// 1. Create a client with an email and a phone typed in national form.
	tb.follow("open Clients", `[data-testid=nav-clients]`, `[data-testid=empty]`)
	tb.follow("start a new client", `[data-testid=new-client]`, `[data-testid=client-form]`)
	tb.run("fill the new client",
		fill("#f-first_name", "Anna"), fill("#f-last_name", "Kowalska"), fill("#f-birth_date", "04011990"),
		fill("#f-contact_email", "anna@example.com"), fill("#f-contact_phone", "+44 7911 123456"), fill("#f-tags", "vip, b2b"))
	tb.shot("client-new")
	tb.follow("create the client", `[data-testid=save-client]`, `[data-testid=profile-header]`)
	annaURL := tb.location()
	if got := tb.text(`.page-header h1`); got != "Anna Kowalska" {
		t.Errorf("profile heading: got %q, want %q", got, "Anna Kowalska")
	}
	if got := tb.text(`[data-testid=contact][data-contact-type=phone] a`); got != "+44 7911 123456" {
		t.Errorf("phone shown: got %q, want it in international form", got)
	}

	// 2. Add a Telegram contact and a pinned note whose text looks like markup.
	tb.run("open the contact form", chromedp.Click(chromedp.CSS(`#contacts summary`)))
	tb.run("fill the contact form",
		chromedp.SetValue(chromedp.CSS(`#f-contact-type`), "telegram"),
		fill(`#f-contact-value`, "@Anna_K"))
	tb.follow("add the contact", `[data-testid=contact-form] button[type=submit]`, `[data-testid=contact][data-contact-type=telegram]`)
	const noteText = `Calls after 5pm <img src=x onerror="console.error('xss')">`
	tb.run("write a pinned note", fill(`#f-note-body`, noteText), chromedp.Click(chromedp.CSS(`[data-testid=note-form] #f-pinned`)))
	tb.follow("add the note", `[data-testid=note-form] button[type=submit]`, `[data-testid=note][data-pinned=true]`)
	if got := tb.text(`[data-testid=note] .note-body`); got != noteText {
		t.Errorf("note: got %q, want the text exactly as typed", got)
	}
	tb.shot("client-profile")

	// 3. A second client with the same name and date of birth: the form
	// shows the likely duplicate and asks before creating another.
	tb.run("open the new client form", chromedp.Navigate(workspace+"/clients/new"), chromedp.WaitVisible(chromedp.CSS(`#f-first_name`)))
	tb.run("fill a likely duplicate",
		fill("#f-first_name", "Anna"), fill("#f-last_name", "Kowalska"), fill("#f-birth_date", "04011990"),
		fill("#f-contact_email", "a.kowalska@work.example"))
	tb.run("see the live duplicate warning", chromedp.WaitVisible(chromedp.CSS(`[data-testid=duplicates-panel] [data-testid=duplicate]`)))
	tb.follow("try to create it", `[data-testid=save-client]`, `[data-testid=confirm-duplicates]`)
	tb.shot("client-duplicate-warning")
	tb.run("confirm it is another client", chromedp.Click(chromedp.CSS(`#f-confirm`)))
	tb.follow("create it anyway", `[data-testid=save-client]`, `[data-testid=profile-header]`)
	dupURL := tb.location()

	// 4. Search as you type by a fragment from the middle of the phone number.
	tb.follow("open Clients", `[data-testid=nav-clients]`, `[data-testid=client-list]`)
	tb.run("type part of the phone number", fill(`[data-testid=client-search]`, "123456"))
	tb.run("wait for the search results", chromedp.Poll[chromedp.Void](
		`document.querySelectorAll('[data-testid=client-row]').length === 1`, chromedp.WithPollingTimeout(10*time.Second)))
	if got := tb.text(`[data-testid=client-row] [data-testid=client-link]`); got != "Anna Kowalska" {
		t.Errorf("search by phone fragment: got %q, want Anna Kowalska", got)
	}
	if loc := tb.location(); !strings.Contains(loc, "q=123456") {
		t.Errorf("search URL: got %s, want it to carry q=123456 so it can be shared", loc)
	}
	tb.shot("client-search")

	// 5. Merge the duplicate into the first client, keeping the duplicate's email.
	tb.run("open the duplicate", chromedp.Navigate(dupURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid=profile-header]`)))
	tb.follow("start a merge", `[data-testid=merge-client]`, `[data-testid=merge-candidates]`)
	tb.follow("compare with the first client", `[data-testid=merge-candidates] [data-testid=compare]`, `[data-testid=merge-form]`)
	tb.shot("client-merge")
	tb.follow("merge them", `[data-testid=confirm-merge]`, `[data-testid=profile-header]`)
	if got := tb.location(); got != dupURL {
		t.Errorf("after merge: got %s, want the survivor %s", got, dupURL)
	}
	contacts := tb.get("count contacts", chromedp.Evaluate[string](`String(document.querySelectorAll('[data-testid=contact]').length)`))
	if contacts != "4" {
		t.Errorf("contacts after merge: got %s, want 4 (email, phone, telegram, work email)", contacts)
	}
	if got := tb.text(`[data-testid=note] .note-body`); got != noteText {
		t.Errorf("moved note: got %q", got)
	}
	tb.run("open the merged-away client", chromedp.Navigate(annaURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid=profile-header]`)))
	if got := tb.location(); got != dupURL {
		t.Errorf("old address of the merged client: got %s, want a redirect to %s", got, dupURL)
	}
	tb.shot("client-merged")

	// The same pages on a phone-sized screen, for people to look at.
	tb.run("switch to a phone viewport",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulatePortrait))
	tb.run("open the profile on a phone", chromedp.Navigate(dupURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid=profile-header]`)))
	tb.shot("client-profile-phone")
	tb.run("open the list on a phone", chromedp.Navigate(workspace+"/clients"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=client-list]`)))
	tb.shot("client-list-phone")
}
