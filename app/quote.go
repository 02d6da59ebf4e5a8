package app

import (
	"regexp"
	"strings"
)

// Quoted history starts at one of these lines in a reply: Gmail's and
// Apple Mail's "On <date>, <name> wrote:" (which Gmail may wrap onto two
// lines), Outlook's "-----Original Message-----" and its "From: … Sent: …"
// header block, and the underscore rule Outlook on the web draws above it.
var (
	quoteIntro      = regexp.MustCompile(`(?i)^(on|le|am|el|il|op)\s.{4,200}(wrote|a écrit|schrieb|escribió|ha scritto|schreef)\s*:\s*$`)
	quoteIntroStart = regexp.MustCompile(`(?i)^on\s.{4,200}$`)
	quoteIntroEnd   = regexp.MustCompile(`(?i)^.{0,200}wrote\s*:\s*$`)
	originalMessage = regexp.MustCompile(`(?i)^-{2,}\s*(original message|forwarded message|ursprüngliche nachricht|message d'origine)\s*-{2,}\s*$`)
	outlookFrom     = regexp.MustCompile(`(?i)^\*?(from|von|de)\s*:\*?\s+.+`)
	outlookSent     = regexp.MustCompile(`(?i)^\*?(sent|date|gesendet|envoyé)\s*:\*?\s+.+`)
	underscoreRule  = regexp.MustCompile(`^_{10,}\s*$`)
)

// SplitQuoted separates the new words of an email reply from the history
// it quotes, so the chat can fold the history away. quoted is "" when the
// text quotes nothing; a text that is all quote stays whole in body.
func SplitQuoted(text string) (body, quoted string) {
	lines := strings.Split(text, "\n")
	cut := -1
	for i := 0; i < len(lines) && cut < 0; i++ {
		line := strings.TrimSpace(lines[i])
		switch {
		case quoteIntro.MatchString(line), originalMessage.MatchString(line):
			cut = i
		case quoteIntroStart.MatchString(line) && i+1 < len(lines) && quoteIntroEnd.MatchString(strings.TrimSpace(lines[i+1])):
			cut = i
		case underscoreRule.MatchString(line) && i+1 < len(lines) && outlookFrom.MatchString(strings.TrimSpace(lines[i+1])):
			cut = i
		case outlookFrom.MatchString(line) && outlookHeaderFollows(lines[i+1:]):
			cut = i
		case strings.HasPrefix(line, ">") && onlyQuotesFollow(lines[i:]):
			cut = i
		}
	}
	if cut <= 0 {
		return text, ""
	}
	body = strings.TrimRight(strings.Join(lines[:cut], "\n"), " \n\t")
	if body == "" {
		return text, ""
	}
	return body, strings.TrimSpace(strings.Join(lines[cut:], "\n"))
}

// outlookHeaderFollows reports a "Sent:" (or "Date:") line within the next
// few lines: Outlook's quoted header block.
func outlookHeaderFollows(rest []string) bool {
	for i := 0; i < len(rest) && i < 3; i++ {
		if outlookSent.MatchString(strings.TrimSpace(rest[i])) {
			return true
		}
	}
	return false
}

// onlyQuotesFollow reports that from here on every non-blank line is a
// ">" quote: a bottom quote with no intro line.
func onlyQuotesFollow(rest []string) bool {
	for _, l := range rest {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, ">") {
			return false
		}
	}
	return true
}
