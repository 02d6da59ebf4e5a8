package jobs

import (
	"context"
	"errors"

	"github.com/riverqueue/river"

	"parley/app"
	"parley/tenantdb"
)

// ReconcileArgs is the periodic reconciler's job.
type ReconcileArgs struct{}

// Kind is the job kind River stores.
func (ReconcileArgs) Kind() string { return "reconcile" }

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	c *Client
}

// Work goes through every active tenant: it enqueues queued messages and
// requested erasures older than the grace period (their job may have been
// lost between the tenant's commit and the insert into River) and wakes
// snoozed chats whose time has come. One tenant's failure does not stop
// the others.
func (w *reconcileWorker) Work(ctx context.Context, job *river.Job[ReconcileArgs]) error {
	tenants, err := w.c.cfg.Control.ListTenants(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tenants {
		if !t.Active() {
			continue
		}
		if err := w.c.withTenant(ctx, t.ID, func(db *tenantdb.DB) error { return w.reconcile(ctx, t, db) }); err != nil {
			w.c.log.WarnContext(ctx, "reconcile tenant failed", "tenant", t.Slug, "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (w *reconcileWorker) reconcile(ctx context.Context, t *app.Tenant, db *tenantdb.DB) error {
	if _, err := db.WakeSnoozedChats(ctx); err != nil {
		return err
	}
	if err := w.c.pollChannels(ctx, t, db); err != nil {
		return err
	}
	if _, err := db.ExpireConsents(ctx); err != nil {
		return err
	}
	// Queued messages stay queued until their job runs, so one batch per
	// run is enough: the next run sees the rest.
	ids, err := db.QueuedMessages(ctx, w.c.cfg.Now().Add(-w.c.cfg.ReconcileGrace), 500)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := w.c.EnqueueSend(ctx, t.ID, id); err != nil {
			return err
		}
	}
	// An erasure is pending until its job finishes: one still running (or
	// waiting to retry) is not doubled, its job being unique.
	if ids, err = db.PendingErasures(ctx, w.c.cfg.Now().Add(-w.c.cfg.ReconcileGrace), 100); err != nil {
		return err
	}
	for _, id := range ids {
		if err := w.c.EnqueueErasure(ctx, t.ID, id); err != nil {
			return err
		}
	}
	return nil
}
