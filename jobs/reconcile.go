package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"parley/app"
	"parley/tenantdb"
)

// ReconcileArgs is the periodic reconciler's job: it picks the tenants to
// visit and enqueues one ReconcileTenantArgs job for each.
type ReconcileArgs struct{}

// Kind is the job kind River stores.
func (ReconcileArgs) Kind() string { return "reconcile" }

// ReconcileTenantArgs is one tenant's visit by the reconciler. Closed says
// the tenant was closed when the pass picked it (it was due): the visit
// closes it again, so that due tenants do not pile up open.
type ReconcileTenantArgs struct {
	TenantID string `json:"tenant_id" river:"unique"`
	Closed   bool   `json:"closed"`
}

// Kind is the job kind River stores.
func (ReconcileTenantArgs) Kind() string { return "reconcile_tenant" }

// reconcileTenantUnique keeps one visit per tenant waiting or running: a
// pass that comes while the last one's visits are still queued adds none.
var reconcileTenantUnique = &river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
	rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled}}

// reconcileTenantOpts: a visit is not retried, the next pass is its retry
// (a retry waiting in River would also keep the next pass's visit out);
// and it yields to sends, which run at the default priority 1.
var reconcileTenantOpts = river.InsertOpts{MaxAttempts: 1, Priority: 2, UniqueOpts: *reconcileTenantUnique}

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	c *Client
}

// Work enqueues a visit of every active tenant that is open now, and of
// every closed one whose recorded due time (see tenantdb.DB.NextDue) has
// passed. A closed tenant with nothing due is not opened: opening every
// tenant every pass kept them all open forever. Each visit is a job of its
// own with its own timeout, so a thousand tenants do not share one.
func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	tenants, err := w.c.cfg.Control.ListTenants(ctx)
	if err != nil {
		return err
	}
	due, err := w.c.cfg.Control.ReconcileDue(ctx, w.c.cfg.Now())
	if err != nil {
		return err
	}
	// Tenant id → whether it is closed, for each tenant to visit.
	visit := map[string]bool{}
	for _, id := range due {
		visit[id] = true
	}
	for _, id := range w.c.cfg.Tenants.OpenIDs() {
		visit[id] = false
	}
	var visits []river.InsertManyParams
	for _, t := range tenants {
		if closed, ok := visit[t.ID]; ok && t.Active() {
			visits = append(visits, river.InsertManyParams{Args: ReconcileTenantArgs{TenantID: t.ID, Closed: closed},
				InsertOpts: &reconcileTenantOpts})
		}
	}
	if len(visits) == 0 {
		return nil
	}
	// One batch: a pass over a thousand tenants is one write to the
	// control DB, not a thousand.
	if _, err := w.c.river.InsertMany(ctx, visits); err != nil {
		return fmt.Errorf("enqueue reconcile visits: %w", err)
	}
	return nil
}

type reconcileTenantWorker struct {
	river.WorkerDefaults[ReconcileTenantArgs]
	c *Client
}

// Work enqueues the tenant's queued messages and requested erasures older
// than the grace period (their job may have been lost between the tenant's
// commit and the insert into River), wakes snoozed chats whose time has
// come, expires consents and enqueues polls of its mailboxes.
func (w *reconcileTenantWorker) Work(ctx context.Context, job *river.Job[ReconcileTenantArgs]) error {
	t, err := w.c.cfg.Control.TenantByID(ctx, job.Args.TenantID)
	if app.ErrorCode(err) == app.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if !t.Active() {
		return nil
	}
	err = w.c.withTenant(ctx, t.ID, func(db *tenantdb.DB) error { return w.reconcile(ctx, t, db) })
	if job.Args.Closed {
		// Closing records the tenant's next due time. One someone else
		// started using meanwhile stays open.
		err = errors.Join(err, w.c.cfg.Tenants.Forget(t.ID))
	}
	if err != nil {
		return fmt.Errorf("reconcile tenant %s: %w", t.Slug, err)
	}
	return nil
}

func (w *reconcileTenantWorker) reconcile(ctx context.Context, t *app.Tenant, db *tenantdb.DB) error {
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
