package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/jobs"
	"parley/tenantdb"
)

// waitErased polls until the client's erasure is done: the client answers
// "not found" and no erasure is pending.
func waitErased(t *testing.T, db *tenantdb.DB, clientID string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := db.DataSubject(ctx, clientID)
		pending, perr := db.PendingErasures(ctx, time.Now().Add(time.Hour), 10)
		if perr != nil {
			t.Fatal(perr)
		}
		if app.ErrorCode(err) == app.ENOTFOUND && len(pending) == 0 {
			return
		}
		if err != nil && app.ErrorCode(err) != app.ENOTFOUND {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("client %s: not erased (pending %v)", clientID, pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// eventsOf returns the events of one type.
func eventsOf(t *testing.T, db *tenantdb.DB, typ string) []app.Event {
	t.Helper()
	evs, err := db.ListEvents(context.Background(), app.EventFilter{Type: &typ, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestErasureJobErasesClient(t *testing.T) {
	t.Parallel()
	e := setup(t, app.SandboxSettings{})
	ctx := context.Background()
	// A message queued but not sent yet, and a note.
	m := e.queue(t, "greta@example.com", "Your order of lingonberries")
	if _, err := e.db.SendMessage(ctx, m.ChatID, app.SendInput{Text: "She prefers mornings.", Note: true},
		app.ChatScope{All: true}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	chat, err := e.db.ChatByID(ctx, m.ChatID, app.ChatScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	who := app.Actor{Type: app.ActorUser, ID: "01JADMINAAAAAAAAAAAAAAAAAA", Name: "Dora Admin"}
	if _, err := e.db.RequestErasure(ctx, chat.ClientID, who); err != nil {
		t.Fatal(err)
	}
	// Enqueuing twice is harmless: the job is unique by (tenant, client).
	for range 2 {
		if err := e.jobs.EnqueueErasure(ctx, e.tenant, chat.ClientID); err != nil {
			t.Fatal(err)
		}
	}
	waitErased(t, e.db, chat.ClientID)
	if _, err := e.db.MessageByID(ctx, m.ID, app.ChatScope{All: true}); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("message after erasure: got %v, want not found", err)
	}
	if _, err := e.db.ChatByID(ctx, m.ChatID, app.ChatScope{All: true}); app.ErrorCode(err) != app.ENOTFOUND {
		t.Errorf("chat after erasure: got %v, want not found", err)
	}
	if n := len(e.outbox(t)); n != 0 {
		t.Errorf("outbox: got %d, want nothing sent to a client being erased", n)
	}
	for _, typ := range []string{app.EventClientErasureStarted, app.EventClientErased} {
		if evs := eventsOf(t, e.db, typ); len(evs) != 1 || evs[0].Actor != who {
			t.Errorf("%s: got %+v, want one by who asked", typ, evs)
		}
	}
	for _, typ := range []string{app.EventClientCreated, app.EventNotePosted} {
		for _, ev := range eventsOf(t, e.db, typ) {
			if !strings.Contains(string(ev.Payload), `"erased":true`) || strings.Contains(string(ev.Payload), "greta") ||
				strings.Contains(string(ev.Payload), "mornings") {
				t.Errorf("%s event not anonymised: %s", typ, ev.Payload)
			}
		}
	}
}

// TestErasureLostEnqueueRepaired: a request whose job was never inserted
// (the process died after the commit) is found by the reconciler.
func TestErasureLostEnqueueRepaired(t *testing.T) {
	t.Parallel()
	e := setup(t, app.SandboxSettings{}, func(c *jobs.Config) {
		c.ReconcileEvery, c.ReconcileGrace = 50*time.Millisecond, time.Millisecond
	})
	ctx := context.Background()
	m := e.queue(t, "hugo@example.com", "Lost job")
	chat, err := e.db.ChatByID(ctx, m.ChatID, app.ChatScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.RequestErasure(ctx, chat.ClientID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	waitErased(t, e.db, chat.ClientID)
	if evs := eventsOf(t, e.db, app.EventClientErased); len(evs) != 1 {
		t.Errorf("erased events: got %d, want 1", len(evs))
	}
}

// TestErasureJobWithoutRequest: a job for a client nobody asked to erase
// (or one erased already) ends and changes nothing.
func TestErasureJobWithoutRequest(t *testing.T) {
	t.Parallel()
	e := setup(t, app.SandboxSettings{})
	ctx := context.Background()
	c, err := e.db.CreateClient(ctx, app.ClientInput{FirstName: "Ida"}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.jobs.EnqueueErasure(ctx, e.tenant, c.ID); err != nil {
		t.Fatal(err)
	}
	// A requested erasure enqueued after it: by the time that one is done
	// (and a little after), the first job has had its turn.
	m := e.queue(t, "jo@example.com", "Hello")
	chat, err := e.db.ChatByID(ctx, m.ChatID, app.ChatScope{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.RequestErasure(ctx, chat.ClientID, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if err := e.jobs.EnqueueErasure(ctx, e.tenant, chat.ClientID); err != nil {
		t.Fatal(err)
	}
	waitErased(t, e.db, chat.ClientID)
	time.Sleep(100 * time.Millisecond)
	if got, err := e.db.ClientByID(ctx, c.ID); err != nil || got.FirstName != "Ida" {
		t.Errorf("client never asked about: got %+v (%v), want unchanged", got, err)
	}
}
