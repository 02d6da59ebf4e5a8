package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"parley/app"
	"parley/tenantdb"
)

// ClientErasureArgs names a client whose requested erasure is to be carried
// out; the job is unique by them. The request is committed in the tenant
// file first (tenantdb.RequestErasure); the reconciler enqueues the pending
// ones whose job was lost.
type ClientErasureArgs struct {
	TenantID string `json:"tenant_id"`
	ClientID string `json:"client_id"`
}

// Kind is the job kind River stores.
func (ClientErasureArgs) Kind() string { return "client_erasure" }

// erasureTimeout bounds one attempt. Erasing 38,000 messages takes about
// eight minutes; an attempt cut off keeps what it erased, and the next one
// goes on from there.
const erasureTimeout = time.Hour

type erasureWorker struct {
	river.WorkerDefaults[ClientErasureArgs]
	c *Client
}

func (w *erasureWorker) Timeout(*river.Job[ClientErasureArgs]) time.Duration { return erasureTimeout }

// Work erases the client. Erasing is idempotent, so an attempt that failed
// half-way (or a second job for the same client) finishes the work; one
// that finds nothing pending (done already, or never asked) ends the job.
func (w *erasureWorker) Work(ctx context.Context, job *river.Job[ClientErasureArgs]) error {
	return w.c.withTenant(ctx, job.Args.TenantID, func(db *tenantdb.DB) error {
		res, err := db.CompleteErasure(ctx, job.Args.ClientID)
		if app.ErrorCode(err) == app.ENOTFOUND {
			return nil
		} else if err != nil {
			if job.Attempt >= job.MaxAttempts {
				// The request stays pending: the reconciler enqueues it again.
				w.c.log.ErrorContext(ctx, "client erasure failed", "tenant", job.Args.TenantID,
					"client", job.Args.ClientID, "err", err)
			}
			return err
		}
		w.c.log.InfoContext(ctx, "client erased", "tenant", job.Args.TenantID, "client", job.Args.ClientID,
			"messages", res.Messages, "events_anonymised", res.Events)
		return nil
	})
}

// EnqueueErasure queues the erasure of a client whose erasure request has
// committed. Enqueuing one that already has a job to run does nothing, so
// a lost enqueue can be repaired by asking again.
func (c *Client) EnqueueErasure(ctx context.Context, tenantID, clientID string) error {
	_, err := c.river.Insert(ctx, ClientErasureArgs{TenantID: tenantID, ClientID: clientID},
		&river.InsertOpts{UniqueOpts: *sendUnique})
	return err
}
