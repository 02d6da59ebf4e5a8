package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"parley/app"
	"parley/tenantdb"
)

// Inbox is the one inbound path every provider reports through (the
// app.Receiver): messages clients write and status reports on messages
// the team sent.
type Inbox struct {
	Tenants *tenantdb.Manager
}

// Receive hands an inbound message to the tenant's inbound path.
func (in *Inbox) Receive(ctx context.Context, tenantID string, m app.InboundMessage) (app.Message, error) {
	db, release, err := in.Tenants.Acquire(ctx, tenantID)
	if err != nil {
		return app.Message{}, err
	}
	defer release()
	msg, _, err := db.ReceiveMessage(ctx, m)
	return msg, err
}

// ReportStatus applies a provider's status report.
func (in *Inbox) ReportStatus(ctx context.Context, tenantID string, rep app.StatusReport) error {
	db, release, err := in.Tenants.Acquire(ctx, tenantID)
	if err != nil {
		return err
	}
	defer release()
	return db.ReportStatus(ctx, rep)
}

// ReportArgs is a provider status report applied later.
type ReportArgs struct {
	TenantID string           `json:"tenant_id"`
	Report   app.StatusReport `json:"report"`
}

// Kind is the job kind River stores.
func (ReportArgs) Kind() string { return "status_report" }

// InboundArgs is an inbound message received later (the sandbox's
// simulated customer).
type InboundArgs struct {
	TenantID string             `json:"tenant_id"`
	Message  app.InboundMessage `json:"message"`
}

// Kind is the job kind River stores.
func (InboundArgs) Kind() string { return "inbound_message" }

type reportWorker struct {
	river.WorkerDefaults[ReportArgs]
	c *Client
}

func (w *reportWorker) Work(ctx context.Context, job *river.Job[ReportArgs]) error {
	err := w.c.inbox.ReportStatus(ctx, job.Args.TenantID, job.Args.Report)
	if app.ErrorCode(err) == app.ENOTFOUND {
		return nil // the message is gone (retention, a deleted tenant): nothing to tick
	}
	return err
}

type inboundWorker struct {
	river.WorkerDefaults[InboundArgs]
	c *Client
}

func (w *inboundWorker) Work(ctx context.Context, job *river.Job[InboundArgs]) error {
	_, err := w.c.inbox.Receive(ctx, job.Args.TenantID, job.Args.Message)
	if app.ErrorCode(err) == app.ENOTFOUND {
		return nil // the channel was removed
	}
	return err
}

// ScheduleReport applies rep at the given time (the sandbox's ticks).
func (c *Client) ScheduleReport(ctx context.Context, tenantID string, rep app.StatusReport, at time.Time) error {
	_, err := c.river.Insert(ctx, ReportArgs{TenantID: tenantID, Report: rep}, &river.InsertOpts{ScheduledAt: at})
	return err
}

// ScheduleInbound receives m at the given time (the sandbox's customer).
func (c *Client) ScheduleInbound(ctx context.Context, tenantID string, m app.InboundMessage, at time.Time) error {
	_, err := c.river.Insert(ctx, InboundArgs{TenantID: tenantID, Message: m},
		&river.InsertOpts{ScheduledAt: at, UniqueOpts: river.UniqueOpts{ByArgs: true}})
	return err
}

// Outbox is the sandbox's default outbox: the workspace's own table.
type Outbox struct {
	Tenants *tenantdb.Manager
}

// Deliver puts the message in the tenant's sandbox outbox.
func (o Outbox) Deliver(ctx context.Context, out app.Outbound) (string, error) {
	db, release, err := o.Tenants.Acquire(ctx, out.TenantID)
	if err != nil {
		return "", err
	}
	defer release()
	return db.SandboxDeliver(ctx, out)
}

// Find looks a message up in the tenant's sandbox outbox.
func (o Outbox) Find(ctx context.Context, tenantID, key string) (string, bool, error) {
	db, release, err := o.Tenants.Acquire(ctx, tenantID)
	if err != nil {
		return "", false, err
	}
	defer release()
	return db.SandboxFind(ctx, key)
}
