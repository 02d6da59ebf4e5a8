package tenantdb_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"parley/app"
	"parley/tenantdb"
)

// portalDB is a tenant with the sandbox connected and the client Ana.
func portalDB(t *testing.T) (*fixture, *tenantdb.DB, *app.Client) {
	t.Helper()
	f, db := providerDB(t)
	if _, err := db.ConnectChannel(context.Background(), app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	ana := mustCreate(t, db, app.ClientInput{FirstName: "Ana", LastName: "García",
		Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: "ana@example.com"}}})
	return f, db, ana
}

func portalRequest(email, ip string) tenantdb.PortalLinkRequest {
	return tenantdb.PortalLinkRequest{Email: email, IP: ip, Origin: "https://acme.example.net", SiteName: "Acme"}
}

// TestPortalLinkLifecycle: a request for a client's address makes a link
// whose secret exists only once issued, is replaced by each issue, and
// signs in once; a request for any other address makes none.
func TestPortalLinkLifecycle(t *testing.T) {
	_, db, ana := portalDB(t)
	ctx := context.Background()

	unknown, err := db.RequestPortalLink(ctx, portalRequest("nobody@example.com", "192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.IssuePortalLink(ctx, unknown); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("issue for an unknown address: got %v, want ENOTFOUND", err)
	}

	id, err := db.RequestPortalLink(ctx, portalRequest("ana@example.com", "192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := db.IssuePortalLink(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if first.ClientID != ana.ID || first.To != "ana@example.com" || first.FirstName != "Ana" || first.SiteName != "Acme" ||
		!strings.HasPrefix(first.URL, "https://acme.example.net/portal/login/ppl_") {
		t.Errorf("link mail: got %+v", first)
	}
	second, err := db.IssuePortalLink(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	secret := func(m app.PortalLinkMail) string { return m.URL[strings.LastIndex(m.URL, "/")+1:] }
	if _, err := db.PortalLinkBySecret(ctx, secret(first)); app.ErrorCode(err) != app.EGONE {
		t.Errorf("the first attempt's secret after a second issue: got %v, want EGONE", err)
	}
	l, err := db.PortalLinkBySecret(ctx, secret(second))
	if err != nil || l.Email != "ana@example.com" {
		t.Fatalf("the issued link: got %+v, %v", l, err)
	}
	sess, token, err := db.ConsumePortalLink(ctx, secret(second), "")
	if err != nil {
		t.Fatal(err)
	}
	if sess.ClientID != ana.ID || sess.Email != "ana@example.com" || sess.ClientName != "Ana García" || token == "" {
		t.Errorf("session: got %+v", sess)
	}
	if _, _, err := db.ConsumePortalLink(ctx, secret(second), ""); app.ErrorCode(err) != app.EGONE {
		t.Errorf("the link a second time: got %v, want EGONE", err)
	}
	if _, err := db.IssuePortalLink(ctx, id); app.ErrorCode(err) != app.EGONE {
		t.Errorf("issue a used link: got %v, want EGONE", err)
	}
	got, err := db.PortalSessionByToken(ctx, token)
	if err != nil || got.ID != sess.ID {
		t.Errorf("session by token: got %+v, %v", got, err)
	}
	if _, err := db.PortalSessionByToken(ctx, "pps_"+strings.Repeat("a", 52)); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("an unknown token: got %v, want EUNAUTHORIZED", err)
	}
}

// TestPortalSecretsOnlyHashed: no secret or token, and no address asked
// with, is stored in the clear.
func TestPortalSecretsOnlyHashed(t *testing.T) {
	_, db, _ := portalDB(t)
	ctx := context.Background()
	db.RequestPortalLink(ctx, portalRequest("stranger@example.com", "203.0.113.5"))
	id, err := db.RequestPortalLink(ctx, portalRequest("ana@example.com", "203.0.113.5"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := db.IssuePortalLink(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	secret := m.URL[strings.LastIndex(m.URL, "/")+1:]
	_, token, err := db.ConsumePortalLink(ctx, secret, "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+filepath.Clean(db.Path())+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var dump string
	for _, q := range []string{
		`SELECT group_concat(id || email_hash || ip_hash, ' ') FROM portal_link_requests`,
		`SELECT group_concat(id || coalesce(secret_hash, '') || client_id || contact_id || origin, ' ') FROM portal_links`,
		`SELECT group_concat(id || token_hash || client_id, ' ') FROM portal_sessions`,
		`SELECT group_concat(payload, ' ') FROM events`,
	} {
		var s sql.NullString
		if err := raw.QueryRowContext(ctx, q).Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		dump += s.String + "\n"
	}
	for _, clear := range []string{secret, token, "stranger@example.com", "203.0.113.5", app.HashSecret("stranger@example.com")} {
		if strings.Contains(dump, clear) {
			t.Errorf("the portal tables hold %q in the clear", clear)
		}
	}
	if !strings.Contains(dump, app.HashSecret(secret)) || !strings.Contains(dump, app.HashSecret(token)) {
		t.Errorf("the link and session hashes are not stored")
	}
}

// TestPortalThrottleStorage: the limits are counted in the tenant's file
// (they survive a restart) and refuse before anything is written.
func TestPortalThrottleStorage(t *testing.T) {
	f, db, _ := portalDB(t)
	ctx := context.Background()
	for i := range app.PortalLinksPerEmail {
		if _, err := db.RequestPortalLink(ctx, portalRequest("ana@example.com", "192.0.2.1")); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		f.advance(time.Minute)
	}
	_, err := db.RequestPortalLink(ctx, portalRequest("ana@example.com", "192.0.2.2"))
	th, ok := err.(*tenantdb.PortalThrottled)
	if !ok || app.ErrorCode(err) != app.ERATELIMITED {
		t.Fatalf("over the address limit: got %v, want *PortalThrottled", err)
	}
	// The first request was 3 minutes ago: it leaves the window in 12.
	if th.RetryAfter != 12*time.Minute || !strings.Contains(app.ErrorMessage(err), "12 minutes") {
		t.Errorf("retry after: got %v (%q), want 12m", th.RetryAfter, app.ErrorMessage(err))
	}
	f.advance(12 * time.Minute)
	if _, err := db.RequestPortalLink(ctx, portalRequest("ana@example.com", "192.0.2.2")); err != nil {
		t.Errorf("once the first left the window: %v", err)
	}
}

// TestPortalSessionExpiry: idle and absolute expiry, touching, sign-out
// and the session a new sign-in replaces.
func TestPortalSessionExpiry(t *testing.T) {
	f, db, _ := portalDB(t)
	ctx := context.Background()
	signIn := func(replacing string) (tenantdb.PortalSession, string) {
		t.Helper()
		id, err := db.RequestPortalLink(ctx, portalRequest("ana@example.com", "192.0.2.1"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := db.IssuePortalLink(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		s, tok, err := db.ConsumePortalLink(ctx, m.URL[strings.LastIndex(m.URL, "/")+1:], replacing)
		if err != nil {
			t.Fatal(err)
		}
		return s, tok
	}
	s, tok := signIn("")
	f.advance(90 * time.Minute)
	if err := db.TouchPortalSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	f.advance(90 * time.Minute) // 3 hours after sign-in, 90 minutes after the last view
	if _, err := db.PortalSessionByToken(ctx, tok); err != nil {
		t.Errorf("touched 90 minutes ago: %v", err)
	}
	f.advance(30 * time.Minute)
	if _, err := db.PortalSessionByToken(ctx, tok); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("idle for 2 hours: got %v, want EUNAUTHORIZED", err)
	}

	f.advance(time.Hour) // let the address limit pass
	_, old := signIn("")
	f.advance(20 * time.Minute)
	_, fresh := signIn(old)
	if _, err := db.PortalSessionByToken(ctx, old); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("the session a new sign-in replaced: got %v, want EUNAUTHORIZED", err)
	}
	if err := db.EndPortalSession(ctx, fresh, true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PortalSessionByToken(ctx, fresh); app.ErrorCode(err) != app.EUNAUTHORIZED {
		t.Errorf("after sign-out: got %v, want EUNAUTHORIZED", err)
	}
	if err := db.EndPortalSession(ctx, fresh, true); err != nil {
		t.Errorf("signing out twice: %v", err)
	}
}

// TestPortalCleanup: ended links, sessions and old throttle rows are
// deleted a day later, as new requests come in.
func TestPortalCleanup(t *testing.T) {
	f, db, _ := portalDB(t)
	ctx := context.Background()
	for _, email := range []string{"ana@example.com", "x@example.com", "y@example.com"} {
		if _, err := db.RequestPortalLink(ctx, portalRequest(email, "192.0.2.1")); err != nil {
			t.Fatal(err)
		}
	}
	count := func(table string) int {
		raw, err := sql.Open("sqlite", "file:"+db.Path()+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		var n int
		if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count("portal_link_requests") + count("portal_links"); got != 4 {
		t.Fatalf("rows: got %d, want 3 requests and 1 link", got)
	}
	f.advance(25 * time.Hour)
	if _, err := db.RequestPortalLink(ctx, portalRequest("z@example.com", "192.0.2.9")); err != nil {
		t.Fatal(err)
	}
	if got, want := count("portal_link_requests"), 1; got != want {
		t.Errorf("throttle rows a day later: got %d, want %d", got, want)
	}
	if got := count("portal_links"); got != 0 {
		t.Errorf("links a day after expiry: got %d, want 0", got)
	}
}

// TestPortalMessagesVisibility: what the portal queries return of a chat.
func TestPortalMessagesVisibility(t *testing.T) {
	_, db, ana := portalDB(t)
	ctx := context.Background()
	chs, _ := db.ListChannels(ctx)
	in := receive(t, db, chs[0], app.ContactInput{Type: app.ContactEmail, Value: "ana@example.com"}, "Hi", "p1")
	bob := receive(t, db, chs[0], app.ContactInput{Type: app.ContactEmail, Value: "bob@example.com"}, "Bob here", "p2")
	note, err := db.SendMessage(ctx, in.ChatID, app.SendInput{Text: "internal", Note: true}, allChats, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	failed, err := db.SendMessage(ctx, in.ChatID, app.SendInput{Text: "failed"}, allChats, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RecordSendFailed(ctx, failed.ID, "refused"); err != nil {
		t.Fatal(err)
	}
	reply, err := db.SendMessage(ctx, in.ChatID, app.SendInput{Text: "Hello Ana"}, allChats, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	msgs, more, err := db.PortalMessages(ctx, ana.ID, "", 10)
	if err != nil || more || len(msgs) != 2 || msgs[0].ID != in.ID || msgs[1].ID != reply.ID {
		t.Errorf("messages: got %d (more %v, %v), want Hi and Hello Ana", len(msgs), more, err)
	}
	after, err := db.PortalMessagesAfter(ctx, ana.ID, in.ID)
	if err != nil || len(after) != 1 || after[0].ID != reply.ID {
		t.Errorf("after Hi: got %v, %v", after, err)
	}
	for name, cursor := range map[string]string{"note": note.ID, "failed": failed.ID, "Bob's": bob.ID, "none": "x"} {
		if _, _, err := db.PortalMessages(ctx, ana.ID, cursor, 10); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("%s message as cursor: got %v, want ENOTFOUND", name, err)
		}
		if _, err := db.PortalMessagesAfter(ctx, ana.ID, cursor); app.ErrorCode(err) != app.ENOTFOUND {
			t.Errorf("%s message as poll cursor: got %v, want ENOTFOUND", name, err)
		}
	}
	none := mustCreate(t, db, app.ClientInput{FirstName: "Cy"})
	if msgs, _, err := db.PortalMessages(ctx, none.ID, "", 10); err != nil || len(msgs) != 0 {
		t.Errorf("a client without a chat: got %v, %v", msgs, err)
	}
}

// TestPortalRowsErased: erasing a client removes their portal links and
// sessions, so nothing says when they used the portal.
func TestPortalRowsErased(t *testing.T) {
	_, db, ana := portalDB(t)
	ctx := context.Background()
	id, err := db.RequestPortalLink(ctx, portalRequest("ana@example.com", "192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	mail, err := db.IssuePortalLink(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.ConsumePortalLink(ctx, mail.URL[strings.LastIndex(mail.URL, "/")+1:], ""); err != nil {
		t.Fatal(err)
	}
	rows := func() int {
		t.Helper()
		n, err := tenantdb.CountForTest(db, `SELECT (SELECT count(*) FROM portal_links WHERE client_id = ?1)
			+ (SELECT count(*) FROM portal_sessions WHERE client_id = ?1)`, ana.ID)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := rows(); n != 2 {
		t.Fatalf("portal rows before the erasure: got %d, want the link and the session", n)
	}
	if _, err := db.EraseClient(ctx, ana.ID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 0 {
		t.Errorf("portal rows after the erasure: got %d, want 0", n)
	}
}
