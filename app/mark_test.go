package app_test

import (
	"strings"
	"testing"

	"parley/app"
)

func TestMarkPrefixes(t *testing.T) {
	t.Parallel()
	m := func(s string) string {
		return strings.NewReplacer(app.MarkStart, "[", app.MarkEnd, "]").Replace(s)
	}
	for _, tt := range []struct {
		text, query, want string
		found             bool
	}{
		{"Anna Kowalska", "ann", "[Anna] Kowalska", true},
		{"Ben Über", "uber", "Ben [Über]", true},
		{"Joanna Smith", "ann", "Joanna Smith", false},
		{"Anna Annabel", "ann kow", "[Anna] [Annabel]", true},
		{"<b>Ann</b>", "ann", "<b>[Ann]</b>", true},
	} {
		got, found := app.MarkPrefixes(tt.text, app.SearchWords(tt.query))
		if m(got) != tt.want || found != tt.found {
			t.Errorf("MarkPrefixes(%q, %q): got %q %t, want %q %t", tt.text, tt.query, m(got), found, tt.want, tt.found)
		}
	}
	body := "one two three four five six seven eight nine ten invoice eleven twelve thirteen fourteen fifteen sixteen seventeen"
	if got, want := m(app.Snippet(body, app.SearchWords("invoic"), 6)), "…nine ten [invoice] eleven twelve thirteen fourteen…"; got != want {
		t.Errorf("Snippet: got %q, want %q", got, want)
	}
	if got := app.Snippet(body, app.SearchWords("zebra"), 6); got != "" {
		t.Errorf("Snippet without a match: got %q, want empty", got)
	}
}
