package app_test

import (
	"strings"
	"testing"

	"parley/app"
)

func TestRenderMarkdown(t *testing.T) {
	t.Parallel()
	img := "/help/files/01ARZ3NDEKTSV4RRFFQ69G5FAV/screen.png"
	for _, tt := range []struct {
		name  string
		src   string
		want  []string
		never []string
	}{
		{"Emphasis", "Some **bold** and _italic_.", []string{"<strong>bold</strong>", "<em>italic</em>"}, nil},
		{"HeadingAnchors", "## Install the app\n\n## Install the app\n\n### Über uns", []string{
			`<h2 id="install-the-app">Install the app<a href="#install-the-app" class="anchor" title="Link to this section">#</a></h2>`,
			`<h2 id="install-the-app-2">`, `<h3 id="uber-uns">`}, nil},
		{"HeadingIDFromVisibleText", "## Use **Settings** <b>now</b> [here](/x)", []string{`id="use-settings-now-here"`}, nil},
		{"ReservedID", "## Main", []string{`id="main-2"`}, []string{`id="main"`}},
		{"Table", "| a | b |\n|---|---|\n| 1 | 2 |", []string{"<table>", "<td>1</td>"}, nil},
		{"TaskList", "- [x] done\n- [ ] todo", []string{`<input checked="" disabled="" type="checkbox">`}, nil},
		{"Autolink", "See https://example.com/docs now", []string{`<a href="https://example.com/docs" rel="nofollow noopener" target="_blank">`}, nil},
		{"RelativeLink", "[Billing](/help/categories/billing)", []string{`<a href="/help/categories/billing">Billing</a>`}, []string{"nofollow"}},
		{"Mailto", "[Write](mailto:help@example.com)", []string{`href="mailto:help@example.com"`}, nil},
		{"Code", "```go\nfmt.Println(\"<b>\")\n```", []string{`<code class="language-go">`, "&lt;b&gt;"}, nil},
		{"OwnImage", "![Screen](" + img + ")", []string{`<img src="` + img + `" alt="Screen">`}, nil},
		{"ForeignImage", "![Tracker](https://evil.example/t.png)", []string{"Tracker"}, []string{"<img", "evil"}},
		{"ProtocolRelativeImage", `<img src="//evil.example/t.png" alt="x">`, nil, []string{"evil"}},
		{"DataImage", "![x](data:image/png;base64,AAAA)", nil, []string{"<img", "data:"}},
		{"Script", "<script>alert(1)</script>\n\ntext", []string{"text"}, []string{"<script", "alert"}},
		{"InlineScript", "a <script>alert(1)</script> b", []string{"a", "b"}, []string{"<script", "alert"}},
		{"EventHandler", `<p onclick="alert(1)">hi</p>`, []string{"<p>hi</p>"}, []string{"onclick"}},
		{"SVG", `<svg onload="alert(1)"><circle/></svg>`, nil, []string{"<svg", "onload"}},
		{"JavascriptLink", `[x](javascript:alert(1)) <a href="JaVaScRiPt:alert(2)">y</a> <a href="jav&#x09;ascript:alert(3)">z</a>`,
			nil, []string{"javascript", "alert", "href"}},
		{"DataLink", `<a href="data:text/html;base64,PHNjcmlwdD4=">d</a>`, nil, []string{"data:", "href"}},
		{"HTMX", `<div hx-get="/api/v1/me" hx-trigger="load" data-hx-post="/x" hx-on:click="x">d</div>`, []string{"<div>d</div>"},
			[]string{"hx-", "/api/v1/me"}},
		{"Form", `<form action="/x"><input name="q"><button>Go</button></form>`, nil, []string{"<form", "<input", "<button"}},
		{"Iframe", `<iframe src="https://evil.example"></iframe>`, nil, []string{"iframe", "evil"}},
		{"Style", `<p style="position:fixed">x</p><style>body{}</style>`, []string{"<p>x</p>"}, []string{"style", "position"}},
		{"ClassClobber", `<a class="site-button" href="/x">x</a> <h2 id="main">m</h2>`, []string{`<a href="/x">x</a>`}, []string{"site-button"}},
		{"Details", "<details><summary>More</summary>Hidden</details>", []string{"<details>", "<summary>More</summary>"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := app.RenderMarkdown(tt.src)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.never {
				if strings.Contains(strings.ToLower(got), strings.ToLower(n)) {
					t.Errorf("output has %q:\n%s", n, got)
				}
			}
		})
	}
}

func TestMarkdownHeadingsAndText(t *testing.T) {
	t.Parallel()
	r := app.ParseMarkdown("Intro with a [link](/x) and `code`.\n\n## First step\n\n- one\n- two\n\n<div>Block <b>html</b></div>\n\n" +
		"<script>hidden()</script>\n\n### Détails\n\n| a | b |\n|---|---|\n| c | d |\n")
	var hs []string
	for _, h := range r.Headings {
		hs = append(hs, h.ID+"="+h.Text)
	}
	if got := strings.Join(hs, " "); got != "first-step=First step details=Détails" {
		t.Errorf("headings: got %q", got)
	}
	for _, w := range []string{"Intro with a link and code.", "First step", "one", "Block html", "Détails"} {
		if !strings.Contains(r.Text, w) {
			t.Errorf("text lacks %q: %q", w, r.Text)
		}
	}
	for _, n := range []string{"hidden", "<", "#", "](/x)"} {
		if strings.Contains(r.Text, n) {
			t.Errorf("text has %q: %q", n, r.Text)
		}
	}
}

func TestKBHelpers(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Reset your password!":        "reset-your-password",
		"  Straße & Über — How to?  ": "strasse-uber-how-to",
		"パスワード":                       "article",
		"v2.0: what's new":            "v2-0-what-s-new",
		strings.Repeat("word ", 40):   strings.TrimSuffix(strings.Repeat("word-", 16), "-"),
	} {
		if got := app.KBSlug(in, "article"); got != want {
			t.Errorf("KBSlug(%q): got %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"en": "en", "PT_br": "pt-BR", "zh-hant-tw": "zh-Hant-TW", "de-CH": "de-CH", "es-419": "es-419"} {
		if got, ok := app.NormalizeLocale(in); !ok || got != want {
			t.Errorf("NormalizeLocale(%q): got %q %v, want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "english", "e", "en-", "en_GB_x", "<b>"} {
		if _, ok := app.NormalizeLocale(bad); ok {
			t.Errorf("NormalizeLocale(%q) accepted", bad)
		}
	}
	if got := app.Excerpt("One two three four five six", 14); got != "One two three…" {
		t.Errorf("Excerpt: got %q", got)
	}
}
