// Package sandbox is the channel that needs no account: it accepts any
// contact, "delivers" to an outbox the team can look at, and reports sent,
// delivered and read through the same path real providers use, so a new
// workspace (and every test) sees the whole delivery pipeline work.
package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"parley/app"
)

// Outbox is where the sandbox delivers. Deliver must be idempotent by the
// message's key (a second call returns the first id), and Find answers
// whether a key was delivered: together they let the delivery worker
// resolve an attempt whose outcome was lost without sending twice.
type Outbox interface {
	Deliver(ctx context.Context, out app.Outbound) (id string, err error)
	Find(ctx context.Context, tenantID, key string) (id string, found bool, err error)
}

// Reporter applies provider callbacks later, durably: the delivery and
// read reports, and the customer's answer.
type Reporter interface {
	// ScheduleReports applies each report at its At time, in order.
	ScheduleReports(ctx context.Context, tenantID string, reps []app.StatusReport) error
	ScheduleInbound(ctx context.Context, tenantID string, in app.InboundMessage, at time.Time) error
}

// Provider is the sandbox channel's provider.
type Provider struct {
	Outbox   Outbox
	Reporter Reporter
	Now      func() time.Time
	// DeliveredAfter and ReadAfter are how long after sending the sandbox
	// reports a message delivered and read; ReplyAfter when it answers.
	DeliveredAfter, ReadAfter, ReplyAfter time.Duration
}

// New returns a sandbox provider with human-scale delays: a message is
// delivered after a second, read after three, answered after five.
func New(outbox Outbox, reporter Reporter) *Provider {
	return &Provider{Outbox: outbox, Reporter: reporter, Now: time.Now,
		DeliveredAfter: time.Second, ReadAfter: 3 * time.Second, ReplyAfter: 5 * time.Second}
}

// Settings decodes a sandbox channel's settings.
func Settings(ch app.Channel) app.SandboxSettings {
	var s app.SandboxSettings
	_ = json.Unmarshal(ch.Settings, &s) // written by ConnectChannel from this struct
	return s
}

// Send delivers to the outbox, failing the message's first FailAttempts
// attempts when the channel is set to, and schedules its reports.
func (p *Provider) Send(ctx context.Context, out app.Outbound) (string, error) {
	set := Settings(out.Channel)
	if out.Attempt <= set.FailAttempts {
		return "", &app.SendError{Reason: fmt.Sprintf("The sandbox failed attempt %d on purpose (it fails the first %d of each message).",
			out.Attempt, set.FailAttempts)}
	}
	id, err := p.Outbox.Deliver(ctx, out)
	if err != nil {
		return "", fmt.Errorf("sandbox outbox: %w", err)
	}
	now := p.Now()
	reps := []app.StatusReport{
		{ChannelID: out.Channel.ID, ProviderMessageID: id, Status: app.StatusDelivered, At: now.Add(p.DeliveredAfter)},
		{ChannelID: out.Channel.ID, ProviderMessageID: id, Status: app.StatusRead, At: now.Add(p.ReadAfter)},
	}
	if err := p.Reporter.ScheduleReports(ctx, out.TenantID, reps); err != nil {
		return id, nil // sent; only the ticks are lost
	}
	if set.AutoReply {
		in := app.InboundMessage{ChannelID: out.Channel.ID, Transport: out.Transport,
			From: app.ContactInput{Type: contactType(out.Transport), Value: out.To}, Text: reply(out.Text),
			ProviderMessageID: "reply-" + id}
		_ = p.Reporter.ScheduleInbound(ctx, out.TenantID, in, now.Add(p.ReplyAfter)) // a lost answer is only a lost demo line
	}
	return id, nil
}

// Lookup asks the outbox whether the message with key was delivered.
func (p *Provider) Lookup(ctx context.Context, out app.Outbound) (string, bool, error) {
	return p.Outbox.Find(ctx, out.TenantID, out.Key)
}

// contactType is the contact a reply over transport t comes from.
func contactType(t app.Transport) app.ContactType {
	switch t {
	case app.TransportEmail:
		return app.ContactEmail
	case app.TransportWhatsApp:
		return app.ContactWhatsApp
	case app.TransportTelegram:
		return app.ContactTelegram
	case app.TransportInstagram:
		return app.ContactInstagram
	}
	return app.ContactPhone
}

var replies = []string{
	"Thanks, that's really helpful!",
	"Great, thank you. One more question: how long does delivery usually take?",
	"Perfect, that works for me.",
	"Thanks for getting back to me so quickly.",
	"Got it. I'll check and let you know.",
}

// reply picks the customer's answer, the same for the same text.
func reply(text string) string {
	h := fnv.New32a()
	h.Write([]byte(text))
	return replies[h.Sum32()%uint32(len(replies))] // #nosec G115 -- replies is a short constant list
}
