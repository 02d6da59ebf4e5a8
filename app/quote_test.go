package app_test

import (
	"testing"

	"parley/app"
)

func TestSplitQuoted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, body, quoted string
	}{
		{"Gmail", "Thanks, that works.\n\nOn Tue, 24 Nov 2026 at 10:02, Acme Support <support@acme.test> wrote:\n> Your order shipped.\n",
			"Thanks, that works.", "On Tue, 24 Nov 2026 at 10:02, Acme Support <support@acme.test> wrote:\n> Your order shipped."},
		{"GmailWrapped", "Yes please.\n\nOn Tue, 24 Nov 2026 at 10:02, Acme Support <support@acme.test>\nwrote:\n> Shall we?",
			"Yes please.", "On Tue, 24 Nov 2026 at 10:02, Acme Support <support@acme.test>\nwrote:\n> Shall we?"},
		{"AppleMail", "See you then.\n\n> On 24 Nov 2026, at 10:02, Acme Support <support@acme.test> wrote:\n> \n> Monday works.",
			"See you then.", "> On 24 Nov 2026, at 10:02, Acme Support <support@acme.test> wrote:\n> \n> Monday works."},
		{"Outlook", "Received, thank you.\n\n-----Original Message-----\nFrom: Acme Support <support@acme.test>\nSent: Tuesday, November 24, 2026 10:02 AM\nSubject: Your invoice",
			"Received, thank you.", "-----Original Message-----\nFrom: Acme Support <support@acme.test>\nSent: Tuesday, November 24, 2026 10:02 AM\nSubject: Your invoice"},
		{"OutlookWeb", "Fine by me.\n\n________________________________\nFrom: Acme Support <support@acme.test>\nSent: 24 November 2026 10:02\nTo: Ann",
			"Fine by me.", "________________________________\nFrom: Acme Support <support@acme.test>\nSent: 24 November 2026 10:02\nTo: Ann"},
		{"NoQuote", "Just a question: do you ship to Norway?", "Just a question: do you ship to Norway?", ""},
		{"AllQuote", "> only a quote", "> only a quote", ""},
		{"InlineQuoteKept", "> your question\nMy answer\n> next question\nAnother answer", "> your question\nMy answer\n> next question\nAnother answer", ""},
		{"FromLineInBody", "From: the warehouse, we heard nothing.\nCan you check?", "From: the warehouse, we heard nothing.\nCan you check?", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, quoted := app.SplitQuoted(tt.text)
			if body != tt.body || quoted != tt.quoted {
				t.Errorf("got (%q, %q), want (%q, %q)", body, quoted, tt.body, tt.quoted)
			}
		})
	}
}

func FuzzSplitQuoted(f *testing.F) {
	f.Add("Thanks\n\nOn Mon, Ann wrote:\n> hi")
	f.Add("a\n-----Original Message-----\nFrom: x\nSent: y")
	f.Fuzz(func(t *testing.T, s string) {
		body, quoted := app.SplitQuoted(s)
		if quoted == "" && body != s {
			t.Fatalf("text changed without a quote: %q -> %q", s, body)
		}
		if len(body)+len(quoted) > len(s) {
			t.Fatalf("split is longer than the text")
		}
	})
}
