package app

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Fold makes text comparable the way the search index compares words:
// lower case, diacritics removed ("Über" and "uber" are the same word).
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s) // the common case, without the transformer's allocations
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, strings.ToLower(s))
	if err != nil {
		return strings.ToLower(s)
	}
	return out
}

// isWordRune reports whether r is part of a word, as the search index splits words.
func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// SearchWords splits what a person typed into search into folded words.
func SearchWords(q string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(q, func(r rune) bool { return !isWordRune(r) }) {
		out = append(out, Fold(w))
	}
	return out
}

// textWord is a word of a text and where it is.
type textWord struct{ start, end int }

func splitWords(text string) []textWord {
	var out []textWord
	start := -1
	for i, r := range text {
		switch {
		case isWordRune(r) && start < 0:
			start = i
		case !isWordRune(r) && start >= 0:
			out = append(out, textWord{start, i})
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, textWord{start, len(text)})
	}
	return out
}

func matchesAny(word string, prefixes []string) bool {
	w := Fold(word)
	for _, p := range prefixes {
		if p != "" && strings.HasPrefix(w, p) {
			return true
		}
	}
	return false
}

// MarkPrefixes returns text with each word that starts with one of the
// folded search words between MarkStart and MarkEnd, and whether any did.
func MarkPrefixes(text string, words []string) (string, bool) {
	var b strings.Builder
	last, found := 0, false
	for _, w := range splitWords(text) {
		if !matchesAny(text[w.start:w.end], words) {
			continue
		}
		b.WriteString(text[last:w.start])
		b.WriteString(MarkStart + text[w.start:w.end] + MarkEnd)
		last, found = w.end, true
	}
	b.WriteString(text[last:])
	return b.String(), found
}

// Snippet returns about n words of text around the first word that starts
// with one of the folded search words, with the matches marked, or "" when
// no word matches.
func Snippet(text string, words []string, n int) string {
	ws := splitWords(text)
	for i, w := range ws {
		if !matchesAny(text[w.start:w.end], words) {
			continue
		}
		from, to := max(0, i-n/3), min(len(ws)-1, i+n-n/3)
		start, end := ws[from].start, ws[to].end
		if from == 0 {
			start = 0 // keep what comes before the first word ("(see …")
		}
		if to == len(ws)-1 {
			end = len(text) // and after the last ("… </b>")
		}
		out, _ := MarkPrefixes(strings.Join(strings.Fields(text[start:end]), " "), words)
		if from > 0 {
			out = "…" + out
		}
		if to < len(ws)-1 {
			out += "…"
		}
		return out
	}
	return ""
}

// MarkedPart is a piece of marked text, matched or not.
type MarkedPart struct {
	Text    string
	Matched bool
}

// SplitMarks cuts text carrying MarkStart/MarkEnd into parts, so that each
// part can be escaped and the matched ones shown as matches.
func SplitMarks(s string) []MarkedPart {
	var out []MarkedPart
	for s != "" {
		before, rest, found := strings.Cut(s, MarkStart)
		if before = strings.ReplaceAll(before, MarkEnd, ""); before != "" {
			out = append(out, MarkedPart{Text: before})
		}
		if !found {
			break
		}
		hit, after, _ := strings.Cut(rest, MarkEnd)
		out = append(out, MarkedPart{Text: hit, Matched: true})
		s = after
	}
	return out
}
