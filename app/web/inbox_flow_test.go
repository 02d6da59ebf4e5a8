package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/app"
)

// TestInboxList: the list's views and filters, "load more", and a live
// refresh that redraws as many rows as are shown.
func TestInboxList(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	ctx := context.Background()
	adminID := in.ws.Admin.ID
	mk := func(name string, from app.ContactInput) app.Chat {
		mustClient(t, in.e, in.ws, app.ClientInput{FirstName: name, Contacts: []app.ContactInput{from}})
		return in.chatState(t, in.receive(t, from, "Hello from "+name).ChatID)
	}
	mine := mk("Mira", app.ContactInput{Type: app.ContactEmail, Value: "mira@example.com"})
	if _, err := in.db.UpdateChat(ctx, mine.ID, app.ChatUpdate{AssigneeID: &adminID}, allScope, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	done := mk("Dora", app.ContactInput{Type: app.ContactEmail, Value: "dora@example.com"})
	resolved := app.ChatResolved
	if _, err := in.db.UpdateChat(ctx, done.ID, app.ChatUpdate{Status: &resolved}, allScope, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	wa := mk("Walt", app.ContactInput{Type: app.ContactWhatsApp, Value: "+44 7911 123457"})
	if _, err := in.db.MarkChatRead(ctx, wa.ID, allScope, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		form url.Values
		want []string // client first names, in list order
	}{
		{"OpenByDefault", nil, []string{"Walt", "Mira", "Anna"}},
		{"Mine", url.Values{"view": {"mine"}}, []string{"Mira"}},
		{"Unassigned", url.Values{"view": {"unassigned"}}, []string{"Walt", "Anna"}},
		{"Resolved", url.Values{"status": {"resolved"}}, []string{"Dora"}},
		{"AnyStatus", url.Values{"status": {"any"}}, []string{"Walt", "Dora", "Mira", "Anna"}},
		{"WhatsApp", url.Values{"transport": {"whatsapp"}}, []string{"Walt"}},
		{"Unread", url.Values{"unread": {"1"}}, []string{"Mira", "Anna"}},
		{"UnknownValuesAreDefaults", url.Values{"view": {"<x>"}, "status": {"gone"}, "transport": {"fax"}}, []string{"Walt", "Mira", "Anna"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, req := range []inboxRequest{
				{method: "GET", path: "/inbox", form: tt.form},
				{method: "GET", path: "/inbox/list", form: tt.form, target: "list-body", page: "/inbox"},
			} {
				res := in.admin.send(req)
				var got []string
				res.Doc(t).Find("[data-testid=chat-row-name]").Each(func(_ int, s *goquery.Selection) {
					got = append(got, strings.Fields(s.Text())[0])
				})
				if strings.Join(got, ",") != strings.Join(tt.want, ",") {
					t.Errorf("%s %s: got %v, want %v", req.path, tt.form.Encode(), got, tt.want)
				}
			}
		})
	}
	if res := in.admin.send(inboxRequest{method: "GET", path: "/inbox/list", form: url.Values{"view": {"mine"}}, target: "list-body", page: "/inbox"}); res.Header.Get("HX-Push-Url") != "/inbox?view=mine" {
		t.Errorf("pushed address: got %q, want /inbox?view=mine", res.Header.Get("HX-Push-Url"))
	}

	// An agent's widest view is what their scope allows, not "All".
	_, agent := in.user(t, "Grace", app.RoleAgent)
	doc := agent.send(inboxRequest{method: "GET", path: "/inbox"}).Doc(t)
	if got := strings.TrimSpace(doc.Find("[data-testid=view-all]").Parent().Text()); got != "Mine & unassigned" {
		t.Errorf("agent's widest view: got %q, want Mine & unassigned", got)
	}

	// Load more, then a refresh that keeps every row shown.
	for i := range 55 {
		from := app.ContactInput{Type: app.ContactEmail, Value: fmt.Sprintf("c%02d@example.com", i)}
		in.receive(t, from, "Bulk")
	}
	page := in.admin.send(inboxRequest{method: "GET", path: "/inbox"})
	doc = page.Doc(t)
	if n := doc.Find("[data-testid=chat-row]").Length(); n != 50 {
		t.Fatalf("first page: got %d rows, want 50", n)
	}
	more, _ := doc.Find("[data-testid=list-more]").Attr("hx-get")
	res := in.admin.send(inboxRequest{method: "GET", path: more, target: "list-more", page: "/inbox"})
	doc = res.Doc(t)
	if n := doc.Find("[data-testid=chat-row]").Length(); n != 8 {
		t.Errorf("second page: got %d rows, want 8", n)
	}
	if v, _ := doc.Find("#list-shown").Attr("value"); v != "58" {
		t.Errorf("rows shown after load more: got %q, want 58", v)
	}
	res = in.admin.send(inboxRequest{method: "GET", path: "/inbox/list", form: url.Values{"shown": {"58"}}, target: "chat-list", page: "/inbox"})
	if n := res.Doc(t).Find("[data-testid=chat-row]").Length(); n != 58 {
		t.Errorf("live refresh: got %d rows, want all 58 shown", n)
	}
}

// TestInboxSearch: hits with their matches marked, newest first, paged;
// a hit opens its chat at the message, on the page of history around it.
func TestInboxSearch(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	ctx := context.Background()
	from := app.ContactInput{Type: app.ContactEmail, Value: "anna@example.com"}
	target := in.receive(t, from, "About my invoice <b>42</b>")
	for i := range 40 {
		in.receive(t, from, fmt.Sprintf("filler %d", i))
	}
	for i := range 24 {
		in.receive(t, from, fmt.Sprintf("invoice copy %d", i))
	}
	if _, err := in.db.SendMessage(ctx, in.chat.ID, app.SendInput{Text: "checking the invoice", Note: true}, allScope, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	res := in.admin.send(inboxRequest{method: "GET", path: "/inbox/search", form: url.Values{"q": {"invoice"}}})
	doc := res.Doc(t)
	hits := doc.Find("[data-testid=search-hit]")
	if hits.Length() != 20 {
		t.Fatalf("first page: got %d hits, want 20", hits.Length())
	}
	if got := hits.First().Find("[data-testid=hit-snippet]").Text(); !strings.Contains(got, "Note:") || !strings.Contains(got, "checking the invoice") {
		t.Errorf("newest hit: got %q, want the note first", got)
	}
	if got := hits.First().Find("mark").Text(); got != "invoice" {
		t.Errorf("marked: got %q, want invoice", got)
	}
	newest, _ := hits.First().Attr("href")
	if d := in.admin.send(inboxRequest{method: "GET", path: strings.Split(newest, "#")[0]}).Doc(t); d.Find("[data-testid=search-hit][aria-current=page]").Length() != 1 {
		t.Errorf("the open hit is not marked in the results")
	}
	more, _ := doc.Find("[data-testid=hits-more]").Attr("hx-get")
	doc = in.admin.send(inboxRequest{method: "GET", path: more, target: "hits-more", page: "/inbox/search?q=invoice"}).Doc(t)
	page2 := doc.Find("[data-testid=search-hit]")
	if page2.Length() != 6 {
		t.Fatalf("second page: got %d hits, want 6", page2.Length())
	}
	last := page2.Last()
	if id, _ := last.Attr("data-message-id"); id != target.ID {
		t.Fatalf("oldest hit: got %s, want %s", id, target.ID)
	}
	if got := last.Find("[data-testid=hit-snippet]").Text(); !strings.Contains(got, "<b>42") {
		t.Errorf("snippet: got %q, want the text escaped as written", got)
	}
	href, _ := last.Attr("href")
	if !strings.HasPrefix(href, "/inbox/"+in.chat.ID+"?at="+target.ID) || !strings.HasSuffix(href, "#m-"+target.ID) {
		t.Errorf("hit link: got %s", href)
	}
	u, _ := url.Parse(href)
	page := in.admin.send(inboxRequest{method: "GET", path: u.Path + "?" + u.RawQuery})
	doc = page.Doc(t)
	if doc.Find("#m-"+target.ID+".msg-highlight").Length() != 1 {
		t.Errorf("the hit is not highlighted in its chat")
	}
	if doc.Find("[data-testid=search-results]").Length() != 1 {
		t.Errorf("the list pane should keep the search")
	}
	if doc.Find("[data-testid=history-newer]").Length() != 1 || doc.Find("[data-testid=chat-live]").Length() != 0 {
		t.Errorf("an old hit's page: want a link to newer messages and no live appends")
	}
	if n := doc.Find("[data-testid=message]").Length(); n != 32 {
		t.Errorf("messages around the hit: got %d, want the first message, the hit and 30 after", n)
	}
	// A stale hit (a message id of no chat) opens the newest page.
	page = in.admin.send(inboxRequest{method: "GET", path: "/inbox/" + in.chat.ID, form: url.Values{"at": {"01JNEVEREXISTEDAAAAAAAAAAA"}}})
	if page.Status != 200 || page.Doc(t).Find("[data-testid=chat-live]").Length() != 1 {
		t.Errorf("stale ?at=: got %d, want the newest page", page.Status)
	}
	// An agent finds nothing in a chat they may not see.
	lead, _ := in.user(t, "Lena", app.RoleLead)
	if _, err := in.db.UpdateChat(ctx, in.chat.ID, app.ChatUpdate{AssigneeID: &lead.ID}, allScope, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	_, agent := in.user(t, "Grace", app.RoleAgent)
	if n := agent.send(inboxRequest{method: "GET", path: "/inbox/search", form: url.Values{"q": {"invoice"}}}).Doc(t).Find("[data-testid=search-hit]").Length(); n != 0 {
		t.Errorf("agent's search: got %d hits in a chat they may not see", n)
	}
}

// TestInboxHistory: the newest page first, older pages above it, a day's
// separator drawn once where the day starts.
func TestInboxHistory(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	from := app.ContactInput{Type: app.ContactEmail, Value: "anna@example.com"}
	for i := range 55 {
		in.receive(t, from, fmt.Sprintf("day one %d", i))
	}
	in.e.clock.Advance(24 * time.Hour)
	for i := range 10 {
		in.receive(t, from, fmt.Sprintf("day two %d", i))
	}
	chat := "/inbox/" + in.chat.ID
	doc := in.admin.send(inboxRequest{method: "GET", path: chat}).Doc(t)
	msgs := doc.Find("[data-testid=message]")
	if msgs.Length() != 50 {
		t.Fatalf("newest page: got %d messages, want 50", msgs.Length())
	}
	var days []string
	doc.Find("[data-testid=day-separator]").Each(func(_ int, s *goquery.Selection) { days = append(days, s.Text()) })
	if strings.Join(days, ",") != "Yesterday,Today" {
		t.Errorf("day separators: got %v, want Yesterday, Today", days)
	}
	older, _ := doc.Find("[data-testid=history-older]").Attr("hx-get")
	first, _ := msgs.First().Attr("data-message-id")
	if older != chat+"/history?before="+first {
		t.Fatalf("load older: got %q", older)
	}
	res := in.admin.send(inboxRequest{method: "GET", path: older, target: "history-older", page: chat})
	doc = res.Doc(t)
	if n := doc.Find("[data-testid=message]").Length(); n != 16 {
		t.Errorf("older page: got %d messages, want 16", n)
	}
	if doc.Find("[data-testid=history-start]").Length() != 1 || doc.Find("[data-testid=history-older]").Length() != 0 {
		t.Errorf("the oldest page should say the conversation starts there")
	}
	// The page below began with day one's separator: it moves up here.
	if del := doc.Find(`#day-2026-11-23[hx-swap-oob=delete]`); del.Length() != 1 {
		t.Errorf("no out-of-band removal of the lower page's separator; body %s", snippet(res.Body))
	}
	if doc.Find(`[data-testid=day-separator]#day-2026-11-23`).Length() != 1 {
		t.Errorf("the older page should start day one with its separator")
	}
	// Without JavaScript the same page is a whole page with a way back.
	page := in.admin.send(inboxRequest{method: "GET", path: chat, form: url.Values{"before": {first}}})
	if d := page.Doc(t); d.Find("[data-testid=message]").Length() != 16 || d.Find("[data-testid=history-newer]").Length() != 1 {
		t.Errorf("?before= page: got %d messages", d.Find("[data-testid=message]").Length())
	}
}

// TestInboxLive: the live fetch appends what is new, redraws the ticks of
// what was sent and the header when it changed.
func TestInboxLive(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	ctx := context.Background()
	chat := "/inbox/" + in.chat.ID
	a, err := in.db.SendMessage(ctx, in.chat.ID, app.SendInput{Text: "First reply"}, allScope, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	b, err := in.db.SendMessage(ctx, in.chat.ID, app.SendInput{Text: "Second reply"}, allScope, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.db.RecordSent(ctx, a.ID, "prov-a"); err != nil {
		t.Fatal(err)
	}
	if err := in.db.ReportStatus(ctx, app.StatusReport{ChannelID: in.ch.ID, ProviderMessageID: "prov-a", Status: app.StatusRead}); err != nil {
		t.Fatal(err)
	}
	if err := in.db.RecordSendFailed(ctx, b.ID, "Mailbox full"); err != nil {
		t.Fatal(err)
	}
	state := url.Values{"after": {a.ID}, "from": {in.first.ID}, "head": {headVersion(in.chat)}}
	res := in.admin.send(inboxRequest{method: "GET", path: chat + "/live", form: state, target: "messages", page: chat})
	doc := res.Doc(t)
	if n := doc.Find("[data-testid=message]").Length(); n != 1 || !strings.Contains(doc.Find("[data-testid=message]").Text(), "Second reply") {
		t.Errorf("appended: got %d messages, want the second reply", n)
	}
	tick := doc.Find(`#status-` + a.ID + `[hx-swap-oob=true] [data-testid=tick]`)
	if s, _ := tick.Attr("data-status"); s != "read" {
		t.Errorf("first reply's tick out of band: got %q, want read", s)
	}
	if doc.Find(`#status-`+b.ID+`[hx-swap-oob]`).Length() != 0 {
		t.Errorf("a message appended now must not also be swapped out of band")
	}
	if got := doc.Find("[data-testid=failure-reason]").Text(); !strings.Contains(got, "Mailbox full") || doc.Find("[data-testid=retry]").Length() != 1 {
		t.Errorf("failed message: got %q, want its reason and a Retry button", got)
	}
	if doc.Find("#chat-head").Length() != 0 {
		t.Errorf("the header did not change, yet it was redrawn")
	}
	// Someone resolves the chat: the system line is appended, the header redrawn.
	resolved := app.ChatResolved
	if _, err := in.db.UpdateChat(ctx, in.chat.ID, app.ChatUpdate{Status: &resolved}, allScope, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	state.Set("after", b.ID)
	doc = in.admin.send(inboxRequest{method: "GET", path: chat + "/live", form: state, target: "messages", page: chat}).Doc(t)
	if got := doc.Find("[data-testid=message][data-kind=system]").Text(); !strings.Contains(got, "Resolved") {
		t.Errorf("system line: got %q", got)
	}
	if s, _ := doc.Find(`#chat-head[hx-swap-oob=true] [data-testid=chat-status]`).Attr("data-status"); s != "resolved" {
		t.Errorf("header out of band: got status %q, want resolved", s)
	}
	if v, _ := doc.Find(`#live-head[hx-swap-oob=true]`).Attr("value"); v != "resolved|" {
		t.Errorf("header version: got %q", v)
	}
}

// TestInboxHeaderActions: assign, snooze (presets in the browser's time
// zone), resolve and reopen, with refused input changing nothing.
func TestInboxHeaderActions(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	ctx := context.Background()
	grace, agent := in.user(t, "Grace", app.RoleAgent)
	gone, _ := in.user(t, "Gus", app.RoleAgent)
	if err := in.db.SetUserActive(ctx, gone.ID, false, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	chat := "/inbox/" + in.chat.ID
	now := in.e.clock.Now()
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	for _, tt := range []struct {
		name   string
		path   string
		form   url.Values
		status int
		check  func(c app.Chat) string
	}{
		{"AssignToGrace", "/assign", url.Values{"assignee_id": {grace.ID}}, 200, func(c app.Chat) string { return want(c.AssigneeID == grace.ID, "assignee %s", c.AssigneeID) }},
		{"ErrAssignUnknown", "/assign", url.Values{"assignee_id": {"01JNEVEREXISTEDAAAAAAAAAAA"}}, 422, nil},
		{"ErrAssignDeactivated", "/assign", url.Values{"assignee_id": {gone.ID}}, 422, nil},
		{"SnoozeHour", "/status", url.Values{"status": {"snoozed"}, "snooze": {"1h"}}, 200, snoozedUntil(now.Add(time.Hour))},
		{"SnoozeTomorrowWarsaw", "/status", url.Values{"status": {"snoozed"}, "snooze": {"tomorrow"}, "tz": {"Europe/Warsaw"}}, 200, snoozedUntil(at("2026-11-24T08:00:00Z"))},
		{"SnoozeNextWeek", "/status", url.Values{"status": {"snoozed"}, "snooze": {"nextweek"}, "tz": {"nowhere/bogus"}}, 200, snoozedUntil(at("2026-11-30T09:00:00Z"))},
		{"SnoozeCustom", "/status", url.Values{"status": {"snoozed"}, "snooze": {"custom"}, "until": {"2026-12-01T14:30"}}, 200, snoozedUntil(at("2026-12-01T14:30:00Z"))},
		{"ErrSnoozePast", "/status", url.Values{"status": {"snoozed"}, "snooze": {"custom"}, "until": {"2020-01-01T10:00"}}, 422, nil},
		{"ErrSnoozeNoTime", "/status", url.Values{"status": {"snoozed"}, "snooze": {"custom"}}, 422, nil},
		{"ErrSnoozeUnknownPreset", "/status", url.Values{"status": {"snoozed"}, "snooze": {"someday"}}, 422, nil},
		{"ErrStatusUnknown", "/status", url.Values{"status": {"closed"}}, 422, nil},
		{"Resolve", "/status", url.Values{"status": {"resolved"}}, 200, func(c app.Chat) string { return want(c.Status == app.ChatResolved, "status %s", c.Status) }},
		{"Reopen", "/status", url.Values{"status": {"open"}}, 200, func(c app.Chat) string { return want(c.Status == app.ChatOpen, "status %s", c.Status) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := in.counts(t)
			res := in.admin.send(inboxRequest{method: "POST", path: chat + tt.path, form: tt.form, target: "chat-head", page: chat})
			if res.Status != tt.status {
				t.Fatalf("got %d, want %d; body %s", res.Status, tt.status, snippet(res.Body))
			}
			doc := res.Doc(t)
			if doc.Find("[data-testid=chat-head]").Length() != 1 || doc.Find("#live-head[hx-swap-oob=true]").Length() != 1 {
				t.Errorf("want the header and its version out of band")
			}
			if tt.check == nil {
				if doc.Find("[data-testid=head-error]").Length() != 1 {
					t.Errorf("no error in the header")
				}
				if after := in.counts(t); after != before {
					t.Errorf("refused change wrote something: before %+v, after %+v", before, after)
				}
				return
			}
			if msg := tt.check(in.chatState(t, in.chat.ID)); msg != "" {
				t.Error(msg)
			}
		})
	}
	// Without JavaScript: a redirect back with the outcome as a flash.
	res := in.admin.send(inboxRequest{method: "POST", path: chat + "/assign", form: url.Values{"assignee_id": {""}}})
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != chat {
		t.Errorf("plain post: got %d to %q", res.Status, res.Header.Get("Location"))
	}
	if got := in.admin.send(inboxRequest{method: "GET", path: chat}).Text(t, "[data-testid=alert]"); got != "Unassigned." {
		t.Errorf("flash: got %q", got)
	}
	// The agent may assign the chat to themself.
	if res := agent.send(inboxRequest{method: "POST", path: chat + "/assign", form: url.Values{"assignee_id": {grace.ID}}, target: "chat-head", page: chat}); res.Status != 200 {
		t.Errorf("agent assigns to self: got %d", res.Status)
	}
}

func want(ok bool, format string, args ...any) string {
	if ok {
		return ""
	}
	return "got " + fmt.Sprintf(format, args...)
}

func snoozedUntil(at time.Time) func(app.Chat) string {
	return func(c app.Chat) string {
		if c.Status != app.ChatSnoozed || c.SnoozedUntil == nil || !c.SnoozedUntil.Equal(at) {
			return fmt.Sprintf("got %s until %v, want snoozed until %v", c.Status, c.SnoozedUntil, at)
		}
		return ""
	}
}

// TestInboxRetry: a failed message shows why and can be queued again, once.
func TestInboxRetry(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	ctx := context.Background()
	m, err := in.db.SendMessage(ctx, in.chat.ID, app.SendInput{Text: "Will fail"}, allScope, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.db.RecordSendFailed(ctx, m.ID, "Mailbox full"); err != nil {
		t.Fatal(err)
	}
	chat := "/inbox/" + in.chat.ID
	doc := in.admin.send(inboxRequest{method: "GET", path: chat}).Doc(t)
	if got := doc.Find("#m-" + m.ID + " [data-testid=failure-reason]").Text(); got != "Not sent: Mailbox full" {
		t.Errorf("failure: got %q", got)
	}
	path := "/inbox/messages/" + m.ID + "/retry"
	for i, wantQueued := range []int{1, 1} { // the second retry finds it queued and sends nothing
		res := in.admin.send(inboxRequest{method: "POST", path: path, target: "status-" + m.ID, page: chat})
		if s, _ := res.Doc(t).Find("[data-testid=tick]").Attr("data-status"); res.Status != 200 || s != "queued" {
			t.Errorf("retry %d: got %d with tick %q, want 200 and queued", i+1, res.Status, s)
		}
		if got := len(in.delivery.sent()); got != wantQueued {
			t.Errorf("retry %d: enqueued %d times, want %d", i+1, got, wantQueued)
		}
	}
	if err := in.db.RecordSendFailed(ctx, m.ID, "Still full"); err != nil {
		t.Fatal(err)
	}
	if res := in.admin.send(inboxRequest{method: "POST", path: path}); res.Status != http.StatusSeeOther || res.Header.Get("Location") != chat+"#m-"+m.ID {
		t.Errorf("plain retry: got %d to %q", res.Status, res.Header.Get("Location"))
	}
	if got := in.chatState(t, in.chat.ID); got.MessageCount != 2 {
		t.Errorf("retrying wrote a new message: %d messages", got.MessageCount)
	}
}

// TestInboxStartChat: the profile's button starts a conversation or opens
// the one the client has.
func TestInboxStartChat(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	bo := mustClient(t, in.e, in.ws, app.ClientInput{FirstName: "Bo", Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "bo@example.com"}}})
	profile := in.admin.send(inboxRequest{method: "GET", path: "/clients/" + bo.ID})
	if profile.Doc(t).Find("[data-testid=profile-chat][hx-get]").Length() != 1 {
		t.Fatalf("the profile has no conversation button")
	}
	button := func(id string) response {
		return in.admin.send(inboxRequest{method: "GET", path: "/clients/" + id + "/chat", target: "", page: "/clients/" + id})
	}
	res := in.admin.send(inboxRequest{method: "GET", path: "/clients/" + bo.ID + "/chat", target: "profile-chat", page: "/clients/" + bo.ID})
	if res.Doc(t).Find("[data-testid=start-chat]").Length() != 1 {
		t.Errorf("a client without a chat: want Start conversation; body %s", res.Body)
	}
	res = in.admin.send(inboxRequest{method: "POST", path: "/clients/" + bo.ID + "/chat"})
	c, err := in.db.ChatOfClient(context.Background(), bo.ID, allScope)
	if err != nil || res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/inbox/"+c.ID {
		t.Fatalf("start: got %d to %q (%v)", res.Status, res.Header.Get("Location"), err)
	}
	before := in.counts(t)
	if res = in.admin.send(inboxRequest{method: "POST", path: "/clients/" + bo.ID + "/chat"}); res.Header.Get("Location") != "/inbox/"+c.ID {
		t.Errorf("second start: got %q, want the same chat", res.Header.Get("Location"))
	}
	if after := in.counts(t); after != before {
		t.Errorf("opening an existing chat wrote something")
	}
	res = in.admin.send(inboxRequest{method: "GET", path: "/clients/" + bo.ID + "/chat", target: "profile-chat", page: "/clients/" + bo.ID})
	if href, _ := res.Doc(t).Find("[data-testid=open-chat]").Attr("href"); href != "/inbox/"+c.ID {
		t.Errorf("a client with a chat: got %q, want a link to it", href)
	}
	if res := button(bo.ID); res.Header.Get("Location") != "/inbox/"+c.ID {
		t.Errorf("without JavaScript the button's address leads to the chat, got %q", res.Header.Get("Location"))
	}
	if res := in.admin.send(inboxRequest{method: "POST", path: "/clients/01JNEVEREXISTEDAAAAAAAAAAA/chat"}); res.Status != 404 {
		t.Errorf("unknown client: got %d, want 404", res.Status)
	}
}

// TestInboxChannels: connecting the sandbox, editing and turning it off,
// its outbox, and writing to the inbox as a customer.
func TestInboxChannels(t *testing.T) {
	t.Parallel()
	in := inboxSetup(t)
	ctx := context.Background()
	channels := func() []app.Channel {
		chs, err := in.db.ListChannels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return chs
	}
	for _, tt := range []struct {
		name  string
		path  string
		form  url.Values
		field string
	}{
		{"ErrNameMissing", "/settings/channels", url.Values{"name": {" "}}, "name"},
		{"ErrFailAttemptsNegative", "/settings/channels", url.Values{"name": {"Box"}, "fail_attempts": {"-1"}}, "fail_attempts"},
		{"ErrFailAttemptsText", "/settings/channels", url.Values{"name": {"Box"}, "fail_attempts": {"two"}}, "fail_attempts"},
		{"ErrEditNameMissing", "/settings/channels/" + in.ch.ID, url.Values{"name": {""}, "active": {"true"}}, "name"},
		{"ErrEditFailAttemptsTooMany", "/settings/channels/" + in.ch.ID, url.Values{"name": {"Sandbox"}, "fail_attempts": {"11"}}, "fail_attempts"},
		{"ErrCustomerBadEmail", "/settings/channels/" + in.ch.ID + "/inbound", url.Values{"from_type": {"email"}, "from": {"not an email"}, "text": {"hi"}}, "from"},
		{"ErrCustomerNoText", "/settings/channels/" + in.ch.ID + "/inbound", url.Values{"from_type": {"email"}, "from": {"z@example.com"}, "text": {" "}}, "text"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, chs := in.counts(t), channels()
			res := in.admin.send(inboxRequest{method: "POST", path: tt.path, form: tt.form})
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("got %d, want 422; body %s", res.Status, snippet(res.Body))
			}
			// Edit forms give their fields ids of their own: error-{channel}-{field}.
			if res.Doc(t).Find(`[data-testid^="error-"][data-testid$="`+tt.field+`"]`).Length() != 1 {
				t.Errorf("no error next to %s; body %s", tt.field, snippet(res.Body))
			}
			if after := in.counts(t); after != before || fmt.Sprint(channels()) != fmt.Sprint(chs) {
				t.Errorf("refused input wrote something")
			}
		})
	}
	res := in.admin.send(inboxRequest{method: "POST", path: "/settings/channels", form: url.Values{"name": {"Demo box"}, "auto_reply": {"true"}, "fail_attempts": {"2"}}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("connect: got %d", res.Status)
	}
	chs := channels()
	if len(chs) != 2 || chs[1].Name != "Demo box" || string(chs[1].Settings) != `{"fail_attempts":2,"auto_reply":true}` {
		t.Fatalf("connected: got %+v", chs)
	}
	if res := in.admin.send(inboxRequest{method: "POST", path: "/settings/channels/" + chs[1].ID, form: url.Values{"name": {"Demo box"}, "fail_attempts": {"0"}}}); res.Status != http.StatusSeeOther {
		t.Fatalf("turn off: got %d", res.Status)
	}
	if c := channels()[1]; c.Active || string(c.Settings) != `{"fail_attempts":0,"auto_reply":false}` {
		t.Errorf("after turning off: got active %v, settings %s", c.Active, c.Settings)
	}
	if res := in.admin.send(inboxRequest{method: "POST", path: "/settings/channels/01JNEVEREXISTEDAAAAAAAAAAA", form: url.Values{"name": {"x"}}}); res.Status != 404 {
		t.Errorf("unknown channel: got %d, want 404", res.Status)
	}

	// The outbox shows what the sandbox carried.
	m, err := in.db.SendMessage(ctx, in.chat.ID, app.SendInput{Text: "Your parcel left today"}, allScope, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.db.SandboxDeliver(ctx, app.Outbound{Channel: in.ch, Key: m.ID, Transport: app.TransportEmail, To: "anna@example.com", Text: m.Text}); err != nil {
		t.Fatal(err)
	}
	doc := in.admin.send(inboxRequest{method: "GET", path: "/settings/channels/" + in.ch.ID + "/outbox"}).Doc(t)
	if rows := doc.Find("[data-testid=outbox-row]"); rows.Length() != 1 || !strings.Contains(rows.Text(), "Your parcel left today") {
		t.Errorf("outbox: got %d rows: %q", rows.Length(), rows.Text())
	}

	// Writing as a customer lands in the inbox.
	res = in.admin.send(inboxRequest{method: "POST", path: "/settings/channels/" + in.ch.ID + "/inbound",
		form: url.Values{"from_type": {"telegram"}, "from": {"@newbie"}, "sender_name": {"Nina New"}, "text": {"Hi there"}}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("write as customer: got %d; body %s", res.Status, snippet(res.Body))
	}
	doc = in.admin.send(inboxRequest{method: "GET", path: "/inbox"}).Doc(t)
	if got := doc.Find("[data-testid=chat-row-name]").First().Text(); got != "Nina New" {
		t.Errorf("newest chat: got %q, want Nina New", got)
	}
}
