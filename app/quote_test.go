package app_test

import (
	"strings"
	"testing"

	"parley/app"
)

func TestSplitQuoted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, body, quoted string
	}{
		{"Gmail",
			"Sounds good, see you then.\n\nOn Tue, Apr 2, 2024 at 9:15 AM Acme Support <support@acme.example> wrote:\n\n> Hello Jane,\n>\n> Thursday?\n",
			"Sounds good, see you then.",
			"On Tue, Apr 2, 2024 at 9:15 AM Acme Support <support@acme.example> wrote:\n\n> Hello Jane,\n>\n> Thursday?"},
		{"GmailWrappedAttribution",
			"Yes.\r\n\r\nOn Tue, Apr 2, 2024 at 9:15 AM Acme Support <support+c7Rk2xQ9@acme.example>\r\nwrote:\r\n\r\n> Hello\r\n",
			"Yes.",
			"On Tue, Apr 2, 2024 at 9:15 AM Acme Support <support+c7Rk2xQ9@acme.example>\nwrote:\n\n> Hello"},
		{"AppleMail",
			"Here is the photo.\n\nMaría\n\n> On 4 Apr 2024, at 11:05, Acme Support <support@acme.example> wrote:\n> \n> Could you send a photo?\n",
			"Here is the photo.\n\nMaría",
			"> On 4 Apr 2024, at 11:05, Acme Support <support@acme.example> wrote:\n> \n> Could you send a photo?"},
		{"OutlookOriginalMessage",
			"Thanks, paid today.\n\n-----Original Message-----\nFrom: Acme Support <support@acme.example>\nSent: Tuesday, April 2, 2024 9:15 AM\nTo: John Smith <john@contoso.com>\nSubject: Invoice\n\nPlease pay.\n",
			"Thanks, paid today.",
			"-----Original Message-----\nFrom: Acme Support <support@acme.example>\nSent: Tuesday, April 2, 2024 9:15 AM\nTo: John Smith <john@contoso.com>\nSubject: Invoice\n\nPlease pay."},
		{"OutlookFromSentBlock",
			"Thanks!\n\n________________________________\nFrom: Acme Support <support@acme.example>\nSent: 02 April 2024 16:40\nTo: Smith, John\nSubject: Invoice\n\nDear John,",
			"Thanks!",
			"________________________________\nFrom: Acme Support <support@acme.example>\nSent: 02 April 2024 16:40\nTo: Smith, John\nSubject: Invoice\n\nDear John,"},
		{"OutlookGerman",
			"Danke!\n\nVon: Acme Support <support@acme.example>\nGesendet: Dienstag, 2. April 2024 09:15\nAn: Jürgen\nBetreff: Rechnung\n\nHallo",
			"Danke!",
			"Von: Acme Support <support@acme.example>\nGesendet: Dienstag, 2. April 2024 09:15\nAn: Jürgen\nBetreff: Rechnung\n\nHallo"},
		{"TrailingQuote",
			"Agreed.\n\n> Can we ship on Monday?\n> Acme",
			"Agreed.",
			"> Can we ship on Monday?\n> Acme"},
		{"OKInterleavedNotSplit",
			"> Can we ship Monday?\nYes.\n> And the invoice?\nAttached.",
			"> Can we ship Monday?\nYes.\n> And the invoice?\nAttached.", ""},
		{"OKOnlyQuoteNotSplit", "> just a quote\n> nothing else", "> just a quote\n> nothing else", ""},
		{"OKWroteInBodyNotSplit", "On Monday I wrote:\nthe address is wrong.", "On Monday I wrote:\nthe address is wrong.", ""},
		{"OKFromInBodyNotSplit", "From: the warehouse\nThe parcel left today.", "From: the warehouse\nThe parcel left today.", ""},
		{"OKEmpty", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, quoted := app.SplitQuoted(tt.text)
			if body != tt.body || quoted != tt.quoted {
				t.Errorf("got %q / %q, want %q / %q", body, quoted, tt.body, tt.quoted)
			}
		})
	}
}

// FuzzSplitQuoted: the split never loses or invents text.
func FuzzSplitQuoted(f *testing.F) {
	f.Add("Thanks.\n\nOn Tue, 2 Apr 2024 at 9:15, Acme <a@acme.example> wrote:\n\n> Hello\n")
	f.Add("Danke!\n\nVon: Acme\nGesendet: Dienstag\nAn: Jürgen\n")
	f.Add("Hi\n\nOn Mon, Kim wrote:\n> x")
	f.Add("Hi\n-----Original Message-----\nFrom: x")
	f.Fuzz(func(t *testing.T, text string) {
		body, quoted := app.SplitQuoted(text)
		if quoted == "" && body != text {
			t.Fatalf("nothing quoted but body changed: %q -> %q", text, body)
		}
		norm := strings.ReplaceAll(text, "\r\n", "\n")
		if quoted != "" && (!strings.Contains(norm, quoted) || !strings.HasPrefix(norm, body) || strings.TrimSpace(body) == "") {
			t.Fatalf("split %q into %q / %q, want a non-empty prefix and a part of it", text, body, quoted)
		}
	})
}
