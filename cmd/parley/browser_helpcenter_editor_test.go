package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserHelpCenterEditor drives, in Chromium, what only a browser
// shows: the branding preview and the article preview updating as the
// admin types (htmx, inside the strict CSP), the logo and an article image
// uploaded through file inputs, publishing, reordering categories with
// their buttons, and a visitor sending the contact form, which the team
// then finds in the inbox. Any console error or CSP violation fails it.
func TestBrowserHelpCenterEditor(t *testing.T) {
	needChromium(t)
	_, workspace := acmeWorkspace(t)
	b := startBrowser(t, 150*time.Second)
	pngPath := filepath.Join(t.TempDir(), "logo.png")
	if err := os.WriteFile(pngPath, inboxPNG(), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := b.newTab("admin")
	admin.signIn(workspace, "ada@acme.example", "analytical-engine-1843")

	// 1. Branding: the preview follows the accent typed; the logo goes up
	// with the form and shows on the public pages.
	admin.run("open Settings → Help center & portal", chromedp.Navigate(workspace+"/settings/portal"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=branding-form]`)))
	admin.run("choose a light accent", chromedp.Evaluate[chromedp.Void](`(() => {
		const i = document.querySelector('#f-accent');
		i.value = '#ffcc00';
		i.dispatchEvent(new Event('input', {bubbles: true}));
	})()`))
	admin.eventually("the preview shows the accent", `document.querySelector('[data-testid=branding-preview]').dataset.accent === '#ffcc00'`)
	if got := admin.text(`[data-testid=contrast-note]`); !strings.Contains(got, "hard to read") {
		t.Errorf("contrast note for #ffcc00: %q", got)
	}
	admin.shot("portal-settings-preview")
	admin.run("choose a readable accent and a logo", chromedp.Evaluate[chromedp.Void](`(() => {
		const i = document.querySelector('#f-accent');
		i.value = '#0f766e';
		i.dispatchEvent(new Event('input', {bubbles: true}));
	})()`), chromedp.SetUploadFiles(chromedp.CSS(`#f-logo`), []string{pngPath}))
	admin.follow("save the branding", `[data-testid=save-branding]`, `[data-testid=current-logo]`)
	logo := admin.get("read the logo", chromedp.Evaluate[string](`document.querySelector('[data-testid=current-logo]').getAttribute('src')`))
	if !strings.HasPrefix(logo, "/help/logo/logo-") {
		t.Fatalf("current logo: %q", logo)
	}

	// 2. An article: the preview renders as the admin types, an image is
	// uploaded into the text, then it is published.
	admin.run("open a new article", chromedp.Navigate(workspace+"/help-center/articles/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=kb-form]`)))
	admin.run("write it", fill("#f-title", "Reset your password"),
		fill("#f-body_markdown", "## Steps\n\nOpen **Settings**.\n\n<script>alert(1)</script>"))
	admin.eventually("the preview renders the Markdown", `(() => {
		const p = document.querySelector('[data-testid=kb-preview]');
		return p.querySelector('h2') && p.querySelector('strong') && !p.querySelector('script') &&
			p.querySelector('[data-testid=kb-preview-title]').textContent === 'Reset your password';
	})()`)
	admin.run("choose an image", chromedp.SetUploadFiles(chromedp.CSS(`#f-image`), []string{pngPath}),
		fill("#f-image_alt", "The settings page"))
	admin.follow("upload it", `[data-testid=kb-upload-image]`, `[data-testid=kb-preview] img`)
	if body := admin.value(`#f-body_markdown`); !strings.Contains(body, "![The settings page](/help/files/") ||
		!strings.HasPrefix(body, "## Steps") {
		t.Errorf("body after the upload: %q", body)
	}
	admin.shot("kb-editor")
	admin.follow("publish", `[data-testid=kb-publish]`, `[data-testid=kb-status]`)
	if got := admin.text(`[data-testid=kb-status] .badge`); got != "Published" {
		t.Errorf("status after publishing: %q", got)
	}

	// 3. Categories, reordered with the buttons.
	admin.run("open the categories", chromedp.Navigate(workspace+"/help-center/categories"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=kb-new-category]`)))
	for _, name := range []string{"Billing", "Account"} {
		admin.run("name a category", fill("#f-new-name", name))
		admin.follow("add "+name, `[data-testid=kb-create-category]`, `[data-testid=kb-category]:nth-child(`+map[string]string{"Billing": "1", "Account": "2"}[name]+`)`)
	}
	admin.follow("move Account up", `[data-testid=kb-category]:nth-child(2) [data-testid=kb-category-up]`, `[data-testid=kb-categories]`)
	if got := admin.text(`[data-testid=kb-category]:first-child [data-testid=kb-category-name]`); got != "Account" {
		t.Errorf("first category after moving Account up: %q", got)
	}

	// 4. A visitor writes through the contact form; the team finds it.
	visitor := b.newTab("visitor")
	visitor.run("open the contact form", chromedp.Navigate(workspace+"/help/contact"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=contact-form]`)))
	if src := visitor.get("read the brand", chromedp.Evaluate[string](`document.querySelector('.site-logo').getAttribute('src')`)); src != logo {
		t.Errorf("public logo: %q, want %q", src, logo)
	}
	visitor.run("write", fill("#f-name", "Grace Hopper"), fill("#f-email", "grace@example.com"),
		fill("#f-message", "My <b>order</b> has not arrived."))
	time.Sleep(3 * time.Second) // the form's minimum fill time
	visitor.follow("send", `[data-testid=contact-send]`, `[data-testid=contact-sent]`)
	if got := visitor.text(`[data-testid=sent-email]`); got != "g…@e….com" {
		t.Errorf("sent page address: %q", got)
	}
	visitor.shot("contact-sent")
	admin.run("open the inbox", chromedp.Navigate(workspace+"/inbox"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=chat-row]`)))
	if got := admin.text(`[data-testid=chat-row]`); !strings.Contains(got, "Grace Hopper") || !strings.Contains(got, "My <b>order</b>") {
		t.Errorf("inbox row: %q", got)
	}
}
