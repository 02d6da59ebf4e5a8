// Package inbox renders the team inbox: the chat list, the conversation
// with its composer, the client panel, message search and the live
// fragments that keep them current.
package inbox

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/a-h/templ"

	"parley/app"
	"parley/views/layout"
	"parley/views/ui"
)

// Filter is the chat list's filter as the URL carries it. Zero values are
// the defaults, so a plain /inbox shows the open chats the user may see.
type Filter struct {
	// View is "" (every chat the user may see), "mine" or "unassigned".
	View string
	// Status is "" (open), "snoozed", "resolved" or "any".
	Status    string
	Unread    bool
	Transport string
}

// Values returns the filter's non-default parameters.
func (f Filter) Values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("view", f.View)
	set("status", f.Status)
	set("transport", f.Transport)
	if f.Unread {
		v.Set("unread", "1")
	}
	return v
}

// Query is the filter as a query string with its "?", or "" for the defaults.
func (f Filter) Query() string { return withQuery("", f.Values()) }

// ChatHref is the address of a chat opened with this filter kept.
func (f Filter) ChatHref(chatID string) string { return "/inbox/" + url.PathEscape(chatID) + f.Query() }

// Active reports whether anything narrows the list beyond the defaults.
func (f Filter) Active() bool { return f.Status != "" || f.Unread || f.Transport != "" }

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// Page is the inbox: the list, and the open chat if one is selected.
type Page struct {
	Shell layout.Shell
	List  ListPane
	Chat  *Conversation
}

// ListPane is the left pane: search, filters and the chats (or the search
// results while a search is on).
type ListPane struct {
	List       ChatList
	CanViewAll bool
	// Search is set while a message search is shown instead of the chats.
	Search *SearchResults
}

// ChatList is one or more pages of chats, refreshed as a whole by live
// updates and extended by "load more".
type ChatList struct {
	Filter   Filter
	Chats    []app.Chat
	Selected string
	// MoreHref is the next page as a fragment, NextHref as a full page;
	// both are empty on the last page.
	MoreHref string
	NextHref string
	// Shown counts the rows on the page after this render, so a live
	// refresh redraws as many.
	Shown int
	Now   time.Time
	Error string
	// RowsOnly renders the rows and the next "load more" only (appended
	// by htmx), with the shown count updated out of band.
	RowsOnly bool
}

// SearchResults are message search hits, newest first.
type SearchResults struct {
	Query    string
	Hits     []app.MessageSearchHit
	MoreHref string
	NextHref string
	Error    string
	Now      time.Time
	// Selected is the message opened from the results, if any.
	Selected string
	RowsOnly bool
}

// HitHref opens the chat of a hit at the message, keeping the search.
func (r SearchResults) HitHref(h app.MessageSearchHit) string {
	return withQuery("/inbox/"+url.PathEscape(h.Message.ChatID), url.Values{"at": {h.Message.ID}, "q": {r.Query}}) +
		"#m-" + h.Message.ID
}

// Conversation is the open chat: header, history, composer and the
// client panel beside it.
type Conversation struct {
	Head     Head
	History  History
	Composer Composer
	Client   *ClientPanel
	// Live says the history ends with the newest message, so new ones are
	// appended as they come; LiveState is what the live fetch sends.
	Live      bool
	LiveState LiveState
	// NewerHref opens the newest page when this one (a search hit's
	// surroundings) is older.
	NewerHref string
}

// LiveState is what the page tells the live endpoint: the last message
// shown, the first one of the initial page (ticks are redrawn from there
// on) and the version of the header it shows.
type LiveState struct {
	ChatID string
	After  string
	From   string
	Head   string
}

// Head is the conversation's header: who, status and the team's actions.
type Head struct {
	Chat    app.Chat
	Users   []ui.Option
	CanWork bool
	// Back is the list the phone's back link returns to.
	Back    string
	Error   string
	Success string
	Now     time.Time
}

// Version identifies what the header shows, so a live fetch redraws it
// only when it changed.
func (h Head) Version() string { return HeadVersion(h.Chat) }

// HeadVersion identifies the header state of a chat.
func HeadVersion(c app.Chat) string {
	v := string(c.Status) + "|" + c.AssigneeID
	if c.SnoozedUntil != nil {
		v += "|" + c.SnoozedUntil.UTC().Format(time.RFC3339)
	}
	return v
}

// History is a run of a chat's messages, oldest first.
type History struct {
	ChatID   string
	Messages []app.Message
	// OlderHref loads the page before this one (a fragment); OlderPage is
	// the same page for browsers without JavaScript.
	OlderHref string
	OlderPage string
	// PrevDay is the day of the message shown just before these ("" when
	// none), so a day separator is drawn only where the day changes.
	PrevDay string
	// DropDay names the day separator already on the page that an older
	// page, put above it, makes redundant.
	DropDay   string
	Highlight string
	// Handles are the @mention handles of the team, highlighted in notes.
	Handles map[string]bool
	CanSend bool
	Now     time.Time
}

// Composer is the reply form.
type Composer struct {
	ChatID    string
	Contacts  []app.Contact
	Handles   []string
	Form      ui.Form
	CanSend   bool
	CanNote   bool
	CanManage bool // may connect channels
	// NoChannel says no active channel exists, so only notes can be sent.
	NoChannel bool
	// Channels are the real providers' channels a reply may be sent
	// through instead of the conversation's own (two WhatsApp numbers).
	Channels []app.Channel
	// HasEmail shows the subject field.
	HasEmail bool
	// KeepFiles keeps the chosen files across a refused send (htmx keeps
	// the file input when the refusal was not about the files).
	KeepFiles bool
	Focus     bool
}

// ContactID is the contact selected: the one typed, else the default.
func (c Composer) ContactID(def string) string {
	if v := c.Form.Value("contact_id"); v != "" {
		return v
	}
	return def
}

// Note reports whether the form is in note mode.
func (c Composer) Note() bool { return c.Form.Value("note") == "true" }

// ClientPanel is what the team knows about the client beside the chat.
type ClientPanel struct {
	Profile *app.ClientProfile
	// Notes are the pinned notes and the most recent others.
	Notes     []app.Note
	MoreNotes int
}

// Live is what the live endpoint returns: new messages to append, the
// ticks of recent outbound messages and, when it changed, the header.
type Live struct {
	History History
	Ticks   []app.Message
	State   LiveState
	Head    *Head
}

// TemplatePicker is the composer's list of templates for a query.
type TemplatePicker struct {
	Query     string
	Templates []app.Template
}

// Tick labels a delivery status: a glyph and words for screen readers.
func tick(s app.DeliveryStatus) (glyph, label string) {
	switch s {
	case app.StatusQueued:
		return "", "Queued"
	case app.StatusSent:
		return "✓", "Sent"
	case app.StatusDelivered:
		return "✓✓", "Delivered"
	case app.StatusRead:
		return "✓✓", "Read"
	case app.StatusFailed:
		return "!", "Failed"
	}
	return "", ""
}

// tickTitle says when the message reached its status.
func tickTitle(m app.Message) string {
	_, label := tick(m.Status)
	var at *time.Time
	switch m.Status {
	case app.StatusSent:
		at = m.SentAt
	case app.StatusDelivered:
		at = m.DeliveredAt
	case app.StatusRead:
		at = m.ReadAt
	}
	if at != nil {
		return label + " " + ui.FormatTime(*at)
	}
	return label
}

// listTime shows a chat's last message time compactly: the time today,
// the weekday this week, the date otherwise.
func listTime(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	switch {
	case dayKey(t) == dayKey(now):
		return t.Format("15:04")
	case now.Sub(t) < 6*24*time.Hour && t.Before(now):
		return t.Format("Mon")
	case t.Year() == now.Year():
		return t.Format("2 Jan")
	}
	return t.Format("2 Jan 2006")
}

func clock(t time.Time) string { return t.UTC().Format("15:04") }

func dayKey(t time.Time) string { return t.UTC().Format("2006-01-02") }

// dayLabel names a day separator.
func dayLabel(t, now time.Time) string {
	t, now = t.UTC(), now.UTC()
	switch dayKey(t) {
	case dayKey(now):
		return "Today"
	case dayKey(now.AddDate(0, 0, -1)):
		return "Yesterday"
	}
	if t.Year() == now.Year() {
		return t.Format("Monday, 2 January")
	}
	return t.Format("Monday, 2 January 2006")
}

// item is a message with the day separator drawn before it, if any.
type item struct {
	Msg      app.Message
	Day      string // separator label, "" for none
	DayKey   string
	DayFirst bool
}

// items lays out messages with a separator wherever the day changes.
func (h History) items() []item {
	out := make([]item, 0, len(h.Messages))
	prev := h.PrevDay
	for _, m := range h.Messages {
		it := item{Msg: m, DayKey: dayKey(m.CreatedAt)}
		if it.DayKey != prev {
			it.Day, prev = dayLabel(m.CreatedAt, h.Now), it.DayKey
		}
		out = append(out, it)
	}
	return out
}

// LastDay is the day key of the last message, or prev when there is none.
func LastDay(msgs []app.Message, prev string) string {
	if len(msgs) == 0 {
		return prev
	}
	return dayKey(msgs[len(msgs)-1].CreatedAt)
}

// DayKey is the day a time falls on, as History.PrevDay wants it.
func DayKey(t time.Time) string { return dayKey(t) }

// part is a piece of a message's text: plain, a link or a mention.
type part struct {
	Text    string
	Href    string
	Mention bool
}

var (
	linkPattern    = regexp.MustCompile(`https?://[^\s<>"']+`)
	mentionPattern = regexp.MustCompile(`(?:^|[\s(])(@[\p{L}\p{N}._-]+)`)
)

// textParts cuts a message's text into plain text, links (http and https
// only) and, in notes, @mentions of the team's handles. Every part is
// escaped when rendered.
func textParts(text string, handles map[string]bool, mentions bool) []part {
	var out []part
	for text != "" {
		loc := linkPattern.FindStringIndex(text)
		if loc == nil {
			out = append(out, mentionParts(text, handles, mentions)...)
			break
		}
		link := strings.TrimRight(text[loc[0]:loc[1]], ".,;:!?)]}")
		out = append(out, mentionParts(text[:loc[0]], handles, mentions)...)
		out = append(out, part{Text: link, Href: link})
		text = text[loc[0]+len(link):]
	}
	return out
}

func mentionParts(text string, handles map[string]bool, mentions bool) []part {
	if !mentions || text == "" {
		return []part{{Text: text}}
	}
	var out []part
	last := 0
	for _, m := range mentionPattern.FindAllStringSubmatchIndex(text, -1) {
		start, end := m[2], m[3]
		h := strings.ToLower(strings.TrimRight(text[start+1:end], "._-"))
		if !handles[h] {
			continue
		}
		end = start + 1 + len(h)
		out = append(out, part{Text: text[last:start]}, part{Text: text[start:end], Mention: true})
		last = end
	}
	return append(out, part{Text: text[last:]})
}

// senderLine says who wrote a message and how it travelled; the address
// it went to or came from is in senderTitle.
func senderLine(m app.Message) string {
	name := m.Sender.Name
	if name == "" {
		name = "Unknown"
	}
	if m.Kind != app.KindMessage || m.Transport == "" {
		return name
	}
	if m.Direction == app.DirectionIn {
		return m.Transport.Label()
	}
	return name + " · " + m.Transport.Label()
}

func senderTitle(m app.Message) string {
	switch {
	case m.ContactValue == "":
		return ""
	case m.Direction == app.DirectionIn:
		return "From " + m.Sender.Name + " <" + m.ContactValue + ">"
	}
	return "To " + m.ContactValue
}

// size shows a file size for people.
func size(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.0f KB", float64(n)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// contactLabel names a contact in the composer's select.
func contactLabel(k app.Contact) string {
	l := app.TransportFor(k.Type).Label() + " · " + k.Display()
	if k.Label != "" {
		l += " (" + k.Label + ")"
	}
	if k.OptedOutAt != nil {
		l += " · opted out"
	}
	return l
}

func statusColour(s app.ChatStatus) string {
	switch s {
	case app.ChatOpen:
		return "green"
	case app.ChatSnoozed:
		return "amber"
	}
	return "gray"
}

func initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		out = append(out, []rune(strings.ToUpper(w))[0])
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

func unreadLabel(n int) string {
	if n > 99 {
		return "99+"
	}
	return fmt.Sprint(n)
}

func attachmentHref(a app.Attachment) templ.SafeURL {
	return templ.SafeURL("/attachments/" + url.PathEscape(a.ID))
}

func chatURL(chatID, suffix string) string { return "/inbox/" + url.PathEscape(chatID) + suffix }

func transportOptions() []ui.Option {
	out := []ui.Option{{Value: "", Label: "Any channel"}}
	for _, t := range app.Transports {
		out = append(out, ui.Option{Value: string(t), Label: t.Label()})
	}
	return out
}

var statusOptions = []ui.Option{{Value: "", Label: "Open"}, {Value: "snoozed", Label: "Snoozed"},
	{Value: "resolved", Label: "Resolved"}, {Value: "any", Label: "Any status"}}

// view is one of the list's assignment tabs.
type view struct{ Value, Label, Hint string }

func views(canViewAll bool) []view {
	all := view{"", "All", "Every conversation of the workspace."}
	if !canViewAll {
		all = view{"", "Mine & unassigned", "Conversations assigned to you, unassigned ones and those of clients you own."}
	}
	return []view{all, {"mine", "Mine", "Assigned to you."}, {"unassigned", "Unassigned", "Nobody has taken these yet."}}
}

func emptyListText(f Filter) (title, text string) {
	switch {
	case f.Active():
		return "No conversation matches", "Try another status or channel, or clear the filters."
	case f.View == "mine":
		return "Nothing assigned to you", "Conversations assigned to you show up here."
	case f.View == "unassigned":
		return "Everything is assigned", "New conversations nobody has taken yet show up here."
	}
	return "Your inbox is empty", "When clients write to you on any channel, their conversations show up here, one per client."
}

func searchQuery(l ListPane) string {
	if l.Search != nil {
		return l.Search.Query
	}
	return ""
}

func orAll(v string) string {
	if v == "" {
		return "all"
	}
	return v
}

func openChatID(c *Conversation) string {
	if c == nil {
		return ""
	}
	return c.Head.Chat.ID
}

func current(is bool) string {
	if is {
		return "page"
	}
	return "false"
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

func iso(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func shortText(s string, n int) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}

func msgClass(m app.Message) string {
	switch {
	case m.Kind == app.KindNote:
		return "msg-note"
	case m.Direction == app.DirectionIn:
		return "msg-in"
	}
	return "msg-out"
}

// composerMessage is the form's own message, shown only when no field
// carries the error (field errors show next to their input).
func composerMessage(f ui.Form) string {
	if len(f.Errors) > 0 {
		return ""
	}
	return f.Message
}

// splitText separates an email's quoted history (folded under "Show quoted
// text") from the new words; other messages are all body.
func splitText(m app.Message) (body, quoted string) {
	if m.Transport != app.TransportEmail || m.Direction != app.DirectionIn {
		return m.Text, ""
	}
	return app.SplitQuoted(m.Text)
}
