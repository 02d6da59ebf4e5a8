package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"parley/tenantdb"
)

// RetentionFanoutArgs is the periodic job that starts each tenant's sweep
// for the day.
type RetentionFanoutArgs struct{}

// Kind is the job kind River stores.
func (RetentionFanoutArgs) Kind() string { return "retention_fanout" }

// RetentionArgs is one tenant's retention sweep for one day: unique by
// both, so a tenant is swept at most once a day however often the fan-out
// runs.
type RetentionArgs struct {
	TenantID string `json:"tenant_id"`
	Day      string `json:"day"` // YYYY-MM-DD, UTC
}

// Kind is the job kind River stores.
func (RetentionArgs) Kind() string { return "retention_sweep" }

// retentionUnique holds for every state, completed ones included: the
// day's sweep is done once.
var retentionUnique = &river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
	rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled,
	rivertype.JobStateCompleted}}

// sweepBatchesPerRun bounds one run of a tenant's sweep: the job snoozes
// and carries on, so a large tenant shares the workers with sends.
const sweepBatchesPerRun = 20

type retentionFanoutWorker struct {
	river.WorkerDefaults[RetentionFanoutArgs]
	c *Client
}

// Work enqueues today's sweep of every active tenant.
func (w *retentionFanoutWorker) Work(ctx context.Context, _ *river.Job[RetentionFanoutArgs]) error {
	tenants, err := w.c.cfg.Control.ListTenants(ctx)
	if err != nil {
		return err
	}
	day := w.c.cfg.Now().UTC().Format(time.DateOnly)
	for _, t := range tenants {
		if !t.Active() {
			continue
		}
		if _, err := w.c.river.Insert(ctx, RetentionArgs{TenantID: t.ID, Day: day},
			&river.InsertOpts{UniqueOpts: *retentionUnique}); err != nil {
			return fmt.Errorf("enqueue sweep of %s: %w", t.Slug, err)
		}
	}
	return nil
}

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	c *Client
}

// Work sweeps a tenant in bounded runs, snoozing between them while work
// is left. A tenant that was closed is closed again after each run: the
// day's sweep (and the one at every start) would otherwise leave every
// tenant of the node open until its idle timeout.
func (w *retentionWorker) Work(ctx context.Context, job *river.Job[RetentionArgs]) error {
	wasOpen := w.c.cfg.Tenants.IsOpen(job.Args.TenantID)
	err := w.c.withTenant(ctx, job.Args.TenantID, func(db *tenantdb.DB) error {
		res, err := db.Sweep(ctx, sweepBatchesPerRun)
		if err != nil {
			return err
		}
		if res.More {
			return river.JobSnooze(time.Second)
		}
		return nil
	})
	if !wasOpen {
		// One someone else started using meanwhile stays open. A close
		// error is joined only when there is one, so a snooze stays a
		// snooze.
		if cerr := w.c.cfg.Tenants.Forget(job.Args.TenantID); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	return err
}
