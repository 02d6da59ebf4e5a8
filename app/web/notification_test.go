package web_test

import (
	"context"
	"net/http"
	"testing"

	"parley/app"
)

func TestNotificationsListAndClear(t *testing.T) {
	e := setup(t)
	ws := e.workspace("acme")
	db := e.db(ws)
	ctx := context.Background()
	ch, err := db.ConnectChannel(ctx, app.ChannelSandbox, "Sandbox", app.SandboxSettings{}, nil, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	m := receiveFor(t, db, ch, "ola@example.com", "n1")
	admin := e.browser()
	admin.login("acme", "admin@acme.example", "correct horse battery")

	if got := admin.get("acme", "/notifications/count").Text(t, `[data-testid="nav-notifications-count"]`); got != "1" {
		t.Errorf("badge: got %q, want 1", got)
	}
	res := admin.get("acme", "/notifications")
	if res.Status != http.StatusOK {
		t.Fatalf("page: got %d", res.Status)
	}
	item := res.Doc(t).Find(`[data-testid="notification"]`)
	if item.Length() != 1 || !item.HasClass("unread") {
		t.Fatalf("notifications: got %d, unread %v", item.Length(), item.HasClass("unread"))
	}
	if href, _ := item.Find("a").Attr("href"); href != "/inbox/"+m.ChatID+"?at="+m.ID {
		t.Errorf("link: got %q", href)
	}
	// Seen once, they are read: the badge is empty and the list shows them plain.
	if got := admin.get("acme", "/notifications/count").Text(t, `[data-testid="nav-notifications-count"]`); got != "" {
		t.Errorf("badge after viewing: got %q, want empty", got)
	}
	if admin.get("acme", "/notifications").Doc(t).Find(".notification.unread").Length() != 0 {
		t.Error("still unread after viewing")
	}
	if got := e.browser().get("acme", "/notifications"); got.Status != http.StatusSeeOther {
		t.Errorf("signed out: got %d, want a redirect to sign in", got.Status)
	}
}
