package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"parley/app"
	"parley/tenantdb"
)

// Inbox hands jobs' callbacks (the sandbox's delayed reports and
// customer answers) to the tenant's shared inbound and status paths.
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

// ReportArgs are provider status reports applied later, each at its At
// time: one job snoozes between them instead of one job per report, so a
// simulated send costs River one insert.
type ReportArgs struct {
	TenantID string             `json:"tenant_id"`
	Reports  []app.StatusReport `json:"reports"`
	// Early marks a provider's report that arrived before Parley recorded
	// the send it is about (the provider answered the send and called back
	// in the same instant): it is tried again a few times instead of being
	// dropped as unknown.
	Early bool `json:"early,omitempty"`
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

// Work applies every report that is due (applying one twice changes
// nothing: a status only moves forward) and snoozes until the next.
func (w *reportWorker) Work(ctx context.Context, job *river.Job[ReportArgs]) error {
	now := w.c.cfg.Now()
	for _, rep := range job.Args.Reports {
		if rep.At.After(now) {
			return river.JobSnooze(rep.At.Sub(now))
		}
		err := w.c.inbox.ReportStatus(ctx, job.Args.TenantID, rep)
		if app.ErrorCode(err) == app.ENOTFOUND && job.Args.Early && job.Attempt < earlyReportTries {
			return err // River tries again shortly, by when the send is recorded
		} else if app.ErrorCode(err) == app.ENOTFOUND {
			return nil // the message is gone (retention, a deleted tenant): nothing to tick
		} else if err != nil {
			return err
		}
	}
	return nil
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

// ScheduleReports applies reps, each at its At time (the sandbox's ticks).
func (c *Client) ScheduleReports(ctx context.Context, tenantID string, reps []app.StatusReport) error {
	if len(reps) == 0 {
		return nil
	}
	_, err := c.river.Insert(ctx, ReportArgs{TenantID: tenantID, Reports: reps}, &river.InsertOpts{ScheduledAt: reps[0].At})
	return err
}

// earlyReportTries is how often an early report is tried (over about a
// minute and a half of River's backoff) before it is dropped as unknown.
const earlyReportTries = 4

// RetryReport applies a provider's report about a message Parley does not
// know yet, a little later (see ReportArgs.Early).
func (c *Client) RetryReport(ctx context.Context, tenantID string, rep app.StatusReport) error {
	_, err := c.river.Insert(ctx, ReportArgs{TenantID: tenantID, Reports: []app.StatusReport{rep}, Early: true},
		&river.InsertOpts{ScheduledAt: c.cfg.Now().Add(time.Second)})
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
