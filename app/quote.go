package app

import (
	"regexp"
	"strings"
)

var (
	// wroteStart and wroteLine are the attribution line of Gmail, Apple
	// Mail, Thunderbird and most others ("On <date>, <name> wrote:"), in the
	// languages Parley's customers write most.
	wroteStart = regexp.MustCompile(`(?i)^(on|am|le|el|il|op|em)\s`)
	wroteLine  = regexp.MustCompile(`(?i)^(on|am|le|el|il|op|em)\s.*\s(wrote|schrieb|a écrit|escribió|ha scritto|schreef|escreveu)\s*:\s*$`)
	// Outlook's separators, and the header block it quotes instead of ">".
	outlookSeparator = regexp.MustCompile(`(?i)^-{3,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original|messaggio originale)\s*-{3,}$`)
	underscores      = regexp.MustCompile(`^_{10,}$`)
	fromLine         = regexp.MustCompile(`(?i)^\*?(from|von|de|da)\s*:`)
	sentLine         = regexp.MustCompile(`(?i)^\*?(sent|date|gesendet|datum|envoyé|enviado|fecha|inviato|data)\s*:`)
	toLine           = regexp.MustCompile(`(?i)^\*?(to|subject|an|betreff|à|objet|para|asunto|a|oggetto)\s*:`)
)

// SplitQuoted separates a reply's own words from the history it quotes,
// so the conversation view can fold the history: Gmail's and Apple Mail's
// "On <date>, <name> wrote:" followed by ">" lines, Outlook's
// "-----Original Message-----" or "From: … Sent: …" block (everything
// after it), and a run of ">" lines that ends the text. A reply written
// between quoted lines is not split, and neither is a text that would have
// no body left; then quoted is "".
func SplitQuoted(text string) (body, quoted string) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	tail := quotedTails(lines)
	for i := range lines {
		at := quoteStart(lines, tail, i)
		if at < 0 {
			continue
		}
		body = strings.TrimRight(strings.Join(lines[:at], "\n"), " \t\n")
		if strings.TrimSpace(body) == "" {
			return text, ""
		}
		return body, strings.TrimRight(strings.Join(lines[at:], "\n"), " \t\n")
	}
	return text, ""
}

// quoteStart returns the line where quoted history starting at line i
// begins (i, or the separator just above an Outlook header), or -1.
func quoteStart(lines []string, tail []bool, i int) int {
	l := strings.TrimSpace(lines[i])
	switch {
	case outlookSeparator.MatchString(l):
		return i
	case fromLine.MatchString(l) && outlookHeader(lines, i):
		if j := prevNonBlank(lines, i); j >= 0 && underscores.MatchString(strings.TrimSpace(lines[j])) {
			return j
		}
		return i
	case wroteStart.MatchString(l):
		end := i
		if !wroteLine.MatchString(l) { // Gmail wraps a long attribution onto a second line
			if i+1 >= len(lines) || !wroteLine.MatchString(l+" "+strings.TrimSpace(lines[i+1])) {
				return -1
			}
			end = i + 1
		}
		if tail[end+1] {
			return i
		}
	case strings.HasPrefix(l, ">") && tail[i]:
		return i
	}
	return -1
}

// outlookHeader reports whether the From: line at i opens a quoted
// header block: a Sent:/Date: line and a To:/Subject: line follow.
func outlookHeader(lines []string, i int) bool {
	var sent, to bool
	for j := i + 1; j < len(lines) && j <= i+6; j++ {
		l := strings.TrimSpace(lines[j])
		sent = sent || sentLine.MatchString(l)
		to = to || toLine.MatchString(l)
	}
	return sent && to
}

// quotedTails reports for each line whether every non-blank line from it
// on starts with ">", and there is at least one (one extra entry for the
// end of the text).
func quotedTails(lines []string) []bool {
	tail := make([]bool, len(lines)+1)
	clean, seen := true, false
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			clean = clean && strings.HasPrefix(l, ">")
			seen = true
		}
		tail[i] = clean && seen
	}
	return tail
}

func prevNonBlank(lines []string, i int) int {
	for j := i - 1; j >= 0; j-- {
		if strings.TrimSpace(lines[j]) != "" {
			return j
		}
	}
	return -1
}
