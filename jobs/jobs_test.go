package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"parley/app"
	"parley/app/channel/sandbox"
	"parley/jobs"
	"parley/tenantdb"
)

// env is a control DB, a tenant with the sandbox connected, and a running
// job client sending through the sandbox's own outbox with short delays.
type env struct {
	db      *tenantdb.DB
	channel app.Channel
	jobs    *jobs.Client
	tenant  string
}

func setup(t testing.TB, settings app.SandboxSettings, mutate ...func(*jobs.Config)) *env {
	t.Helper()
	pe := setupWith(t, func(jc *jobs.Client, tenants *tenantdb.Manager) map[app.ChannelType]app.Provider {
		sb := sandbox.New(jobs.Outbox{Tenants: tenants}, jc)
		sb.DeliveredAfter, sb.ReadAfter, sb.ReplyAfter = 10*time.Millisecond, 20*time.Millisecond, 30*time.Millisecond
		return map[app.ChannelType]app.Provider{app.ChannelSandbox: sb}
	}, mutate...)
	ch, err := pe.db.ConnectChannel(context.Background(), app.ChannelSandbox, "Sandbox", settings, nil, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: pe.db, channel: ch, jobs: pe.jobs, tenant: pe.tenant}
}

// queue writes a message to a new client's chat, without enqueuing it.
func (e *env) queue(t testing.TB, email, text string) app.Message {
	t.Helper()
	ctx := context.Background()
	c, err := e.db.CreateClient(ctx, app.ClientInput{FirstName: "Client", Contacts: []app.ContactInput{{Type: app.ContactEmail, Value: email}}}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	chat, _, err := e.db.StartChat(ctx, c.ID, app.ChatScope{All: true}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.db.SendMessage(ctx, chat.ID, app.SendInput{Text: text}, app.ChatScope{All: true}, app.CLIActor)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitStatus polls the message until it reaches want.
func (e *env) waitStatus(t *testing.T, id string, want app.DeliveryStatus) app.Message {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m, err := e.db.MessageByID(context.Background(), id, app.ChatScope{All: true})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == want {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s: status %s (%s), want %s", id, m.Status, m.FailureReason, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) outbox(t *testing.T) []tenantdb.OutboxEntry {
	t.Helper()
	entries, err := e.db.SandboxOutbox(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestSendDeliversAndTicksForward(t *testing.T) {
	t.Parallel()
	e := setup(t, app.SandboxSettings{})
	m := e.queue(t, "a@example.com", "Hello from the team")
	if err := e.jobs.EnqueueSend(context.Background(), e.tenant, m.ID); err != nil {
		t.Fatal(err)
	}
	// Enqueuing twice is harmless: the job is unique by (tenant, message).
	if err := e.jobs.EnqueueSend(context.Background(), e.tenant, m.ID); err != nil {
		t.Fatal(err)
	}
	m = e.waitStatus(t, m.ID, app.StatusRead)
	if m.SentAt == nil || m.DeliveredAt == nil || m.ReadAt == nil || m.ProviderMessageID == "" {
		t.Errorf("times: sent %v delivered %v read %v, provider id %q", m.SentAt, m.DeliveredAt, m.ReadAt, m.ProviderMessageID)
	}
	out := e.outbox(t)
	if len(out) != 1 || out[0].Recipient != "a@example.com" || out[0].Text != "Hello from the team" || out[0].ID != m.ProviderMessageID {
		t.Errorf("outbox: got %+v, want the one message to a@example.com", out)
	}
}

func TestSendRetriesThenSucceeds(t *testing.T) {
	t.Parallel()
	e := setup(t, app.SandboxSettings{FailAttempts: 2})
	m := e.queue(t, "b@example.com", "Third time lucky")
	if err := e.jobs.EnqueueSend(context.Background(), e.tenant, m.ID); err != nil {
		t.Fatal(err)
	}
	m = e.waitStatus(t, m.ID, app.StatusSent)
	if m.SendAttempts != 3 {
		t.Errorf("attempts: got %d, want 3", m.SendAttempts)
	}
	ch, _ := e.db.ChannelByID(context.Background(), e.channel.ID)
	if !strings.Contains(ch.LastError, "failed attempt 2") || ch.LastOutboundAt == nil {
		t.Errorf("channel: last error %q, last outbound %v", ch.LastError, ch.LastOutboundAt)
	}
	if n := len(e.outbox(t)); n != 1 {
		t.Errorf("outbox: got %d messages, want 1", n)
	}
}

func TestSendFailsAfterLastAttemptAndRetryResends(t *testing.T) {
	t.Parallel()
	// The failed job may still be finishing in River when the retry is
	// enqueued (its insert is then skipped as a duplicate); the reconciler
	// picks the requeued message up, as it would in production.
	e := setup(t, app.SandboxSettings{FailAttempts: 4}, func(c *jobs.Config) {
		c.ReconcileEvery, c.ReconcileGrace = 100*time.Millisecond, time.Millisecond
	})
	ctx := context.Background()
	m := e.queue(t, "c@example.com", "Doomed at first")
	if err := e.jobs.EnqueueSend(ctx, e.tenant, m.ID); err != nil {
		t.Fatal(err)
	}
	m = e.waitStatus(t, m.ID, app.StatusFailed)
	if !strings.HasPrefix(m.FailureReason, "Gave up after 4 attempts.") {
		t.Errorf("reason: got %q", m.FailureReason)
	}
	if n := len(e.outbox(t)); n != 0 {
		t.Fatalf("outbox after failure: got %d, want 0", n)
	}
	if _, err := e.db.RetryMessage(ctx, m.ID, app.ChatScope{All: true}, app.CLIActor); err != nil {
		t.Fatal(err)
	}
	if err := e.jobs.EnqueueSend(ctx, e.tenant, m.ID); err != nil {
		t.Fatal(err)
	}
	m = e.waitStatus(t, m.ID, app.StatusRead)
	if m.FailureReason != "" || len(e.outbox(t)) != 1 {
		t.Errorf("after retry: reason %q, outbox %d", m.FailureReason, len(e.outbox(t)))
	}
}

func TestReconcilerSendsQueuedMessagesWithoutAJob(t *testing.T) {
	t.Parallel()
	e := setup(t, app.SandboxSettings{}, func(c *jobs.Config) {
		c.ReconcileEvery, c.ReconcileGrace = 50*time.Millisecond, time.Millisecond
	})
	// Never enqueued: as if the process died between commit and enqueue.
	m := e.queue(t, "d@example.com", "Lost my job")
	e.waitStatus(t, m.ID, app.StatusSent)
	if n := len(e.outbox(t)); n != 1 {
		t.Errorf("outbox: got %d, want 1", n)
	}
}

func TestUncertainAttemptIsLookedUpNotResent(t *testing.T) {
	t.Parallel()
	e := setup(t, app.SandboxSettings{})
	ctx := context.Background()
	// Attempt 1 reached the provider, then the process died before
	// recording it: the attempt is open and the outbox has the message.
	m := e.queue(t, "e@example.com", "Did it arrive?")
	d, err := e.db.BeginDelivery(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.db.SandboxDeliver(ctx, app.Outbound{TenantID: e.tenant, Channel: d.Channel, Key: m.ID,
		Transport: m.Transport, To: m.ContactValue, Text: m.Text})
	if err != nil {
		t.Fatal(err)
	}
	// Attempt 1 of another message died before reaching the provider.
	lost := e.queue(t, "f@example.com", "Never left")
	if _, err := e.db.BeginDelivery(ctx, lost.ID); err != nil {
		t.Fatal(err)
	}
	for _, msg := range []app.Message{m, lost} {
		if err := e.jobs.EnqueueSend(ctx, e.tenant, msg.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.waitStatus(t, m.ID, app.StatusSent); got.ProviderMessageID != id {
		t.Errorf("provider id: got %q, want the first attempt's %q", got.ProviderMessageID, id)
	}
	e.waitStatus(t, lost.ID, app.StatusSent)
	if n := len(e.outbox(t)); n != 2 {
		t.Errorf("outbox: got %d messages, want 2 (each once)", n)
	}
}

func TestSandboxAnswersLikeACustomer(t *testing.T) {
	t.Parallel()
	e := setup(t, app.SandboxSettings{AutoReply: true})
	ctx := context.Background()
	m := e.queue(t, "g@example.com", "How can we help?")
	if err := e.jobs.EnqueueSend(ctx, e.tenant, m.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		chat, err := e.db.ChatByID(ctx, m.ChatID, app.ChatScope{All: true})
		if err != nil {
			t.Fatal(err)
		}
		if chat.UnreadCount == 1 {
			msgs, _, _ := e.db.ListMessages(ctx, chat.ID, app.ChatScope{All: true}, "", 10)
			last := msgs[len(msgs)-1]
			if last.Direction != app.DirectionIn || last.ContactValue != "g@example.com" {
				t.Errorf("reply: got %+v", last)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no answer from the sandbox customer")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
