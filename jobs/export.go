package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"parley/app"
	"parley/tenantdb"
)

// ExportArgs names a subject access export to build; the job is unique by
// them. After building the archive the job sleeps (snoozed, which costs no
// attempt) until the archive expires, then deletes it: an expired archive
// is gone even if nobody looks at the workspace again.
type ExportArgs struct {
	TenantID string `json:"tenant_id"`
	ExportID string `json:"export_id"`
}

// Kind is the job kind River stores.
func (ExportArgs) Kind() string { return "client_export" }

// exportTimeout bounds building one archive (a client with years of
// messages and files).
const exportTimeout = 30 * time.Minute

type exportWorker struct {
	river.WorkerDefaults[ExportArgs]
	c *Client
}

func (w *exportWorker) Timeout(*river.Job[ExportArgs]) time.Duration { return exportTimeout }

// Work builds the archive of a pending export, or expires a built one
// whose time is up. An export that is gone (its client was erased) or
// already failed or expired ends the job.
func (w *exportWorker) Work(ctx context.Context, job *river.Job[ExportArgs]) error {
	var sleep time.Duration
	err := w.c.withTenant(ctx, job.Args.TenantID, func(db *tenantdb.DB) error {
		e, err := db.BuildExport(ctx, job.Args.ExportID)
		if app.ErrorCode(err) == app.ENOTFOUND {
			return nil
		} else if err != nil {
			if job.Attempt >= job.MaxAttempts {
				w.c.log.ErrorContext(ctx, "export failed", "tenant", job.Args.TenantID, "export", job.Args.ExportID, "err", err)
				return db.FailExport(ctx, job.Args.ExportID, "The archive could not be built.")
			}
			return err
		}
		if e.Status != tenantdb.ExportReady || e.ExpiresAt == nil {
			return nil
		}
		if sleep = e.ExpiresAt.Sub(db.Now()); sleep <= 0 {
			_, err = db.ExpireExports(ctx)
		}
		return err
	})
	if err == nil && sleep > 0 {
		return river.JobSnooze(sleep)
	}
	return err
}

// EnqueueExport queues the building of a committed export request.
// Enqueuing one that already has a job to run (or to expire it) does
// nothing, so a lost enqueue can be repaired by asking again.
func (c *Client) EnqueueExport(ctx context.Context, tenantID, exportID string) error {
	_, err := c.river.Insert(ctx, ExportArgs{TenantID: tenantID, ExportID: exportID},
		&river.InsertOpts{UniqueOpts: *sendUnique})
	return err
}
