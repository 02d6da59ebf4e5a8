package telegram

import (
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{name: "Short", text: "hello", limit: 10, want: []string{"hello"}},
		{name: "AtLineBreak", text: "first line\nsecond", limit: 12, want: []string{"first line\n", "second"}},
		{name: "AtSpace", text: "aaaa bbbb cccc", limit: 10, want: []string{"aaaa bbbb ", "cccc"}},
		{name: "HardCut", text: "abcdefghij", limit: 4, want: []string{"abcd", "efgh", "ij"}},
		// An emoji outside the BMP counts two UTF-16 units, as Telegram counts it.
		{name: "Surrogates", text: strings.Repeat("😀", 5), limit: 4, want: []string{"😀😀", "😀😀", "😀"}},
		{name: "BlankPiecesDropped", text: "abc" + strings.Repeat(" ", 8) + "de", limit: 4, want: []string{"abc ", "   d", "e"}},
		{name: "InvalidUTF8", text: "ab\xffcd", limit: 3, want: []string{"ab\xff", "cd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := split(tt.text, tt.limit)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
