// Package jobs runs Parley's background work on River, in the control
// database: outbound sends, the reconciler that re-queues sends whose job
// was lost, and the delayed callbacks of the sandbox channel.
//
// River lives in the control DB and messages in tenant files, so no
// transaction spans both. The rule is commit first, enqueue after: a
// message is written (status queued) and committed in its tenant file, then
// its send job is inserted. A crash in between leaves a queued message
// without a job, which the reconciler finds and enqueues; a job for a
// message that is no longer queued does nothing.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // the database/sql driver River's pool uses

	"parley/app"
	"parley/tenantdb"
)

// Config configures the job client.
type Config struct {
	// ControlPath is the control DB's file; River keeps its tables there.
	ControlPath string
	Control     *tenantdb.Control
	Tenants     *tenantdb.Manager
	Logger      *slog.Logger
	Now         func() time.Time
	// Workers is how many jobs run at once. Defaults to 10.
	Workers int
	// SendTimeout bounds one send attempt. Defaults to 30s.
	SendTimeout time.Duration
	// SendAttempts is how many times a send is tried before the message
	// fails. Defaults to 8.
	SendAttempts int
	// RetryBase is the wait before the first retry; each later one doubles
	// it (with jitter), up to 10 minutes. Defaults to 5s.
	RetryBase time.Duration
	// ReconcileEvery is how often queued messages without a job are looked
	// for and snoozed chats woken. Defaults to 1m.
	ReconcileEvery time.Duration
	// RetentionEvery is how often each tenant's retention sweep for the
	// day is started if it has not run yet. Defaults to 1h.
	RetentionEvery time.Duration
	// ReconcileGrace is how old a queued message must be before the
	// reconciler enqueues it (younger ones are the sender's to enqueue).
	// Defaults to 10s.
	ReconcileGrace time.Duration
	// PollInterval is how often River looks for due jobs (retries, delayed
	// reports); new jobs from this process start at once. Defaults to 1s.
	PollInterval time.Duration
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Workers = cmpOr(c.Workers, 10)
	c.SendTimeout = cmpOr(c.SendTimeout, 30*time.Second)
	c.SendAttempts = cmpOr(c.SendAttempts, 8)
	c.RetryBase = cmpOr(c.RetryBase, 5*time.Second)
	c.ReconcileEvery = cmpOr(c.ReconcileEvery, time.Minute)
	c.RetentionEvery = cmpOr(c.RetentionEvery, time.Hour)
	c.ReconcileGrace = cmpOr(c.ReconcileGrace, 10*time.Second)
	c.PollInterval = cmpOr(c.PollInterval, time.Second)
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Client is the River client and the providers its workers send through.
type Client struct {
	cfg       Config
	log       *slog.Logger
	db        *sql.DB
	river     *river.Client[*sql.Tx]
	providers map[app.ChannelType]app.Provider
	inbox     *Inbox
	limits    channelLimits
}

// New opens River's own single-connection pool on the control DB (SQLite
// allows one writer; River's internal services would otherwise contend),
// migrates River's tables and builds the client. Register providers, then
// Start.
func New(ctx context.Context, cfg Config) (*Client, error) {
	cfg.defaults()
	db, err := sql.Open("sqlite", "file:"+cfg.ControlPath+"?"+url.Values{"_pragma": {
		"journal_mode(wal)", "busy_timeout(10000)", "synchronous(normal)"}, "_txlock": {"immediate"}}.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	c := &Client{cfg: cfg, log: cfg.Logger, db: db, providers: map[app.ChannelType]app.Provider{}}
	c.inbox = &Inbox{Tenants: cfg.Tenants}
	if err := c.open(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) open(ctx context.Context) error {
	driver := riversqlite.New(c.db)
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: c.log})
	if err != nil {
		return err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &sendWorker{c: c})
	river.AddWorker(workers, &reconcileWorker{c: c})
	river.AddWorker(workers, &reconcileTenantWorker{c: c})
	river.AddWorker(workers, &reportWorker{c: c})
	river.AddWorker(workers, &inboundWorker{c: c})
	river.AddWorker(workers, &pollWorker{c: c})
	river.AddWorker(workers, &exportWorker{c: c})
	river.AddWorker(workers, &erasureWorker{c: c})
	river.AddWorker(workers, &retentionFanoutWorker{c: c})
	river.AddWorker(workers, &retentionWorker{c: c})
	river.AddWorker(workers, &portalMailWorker{c: c})
	c.river, err = river.NewClient(driver, &river.Config{
		Logger:            c.log,
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: c.cfg.Workers}},
		Workers:           workers,
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: c.cfg.PollInterval,
		MaxAttempts:       c.cfg.SendAttempts,
		JobTimeout:        c.cfg.SendTimeout,
		// A job left running by a crashed process holds its message's
		// unique slot until River rescues it; the attempt's timeout has long
		// passed by then, so this is safe, and it bounds how long a crash
		// delays a send (plus the rescuer's 30s round).
		RescueStuckJobsAfter: 2 * c.cfg.SendTimeout,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(c.cfg.ReconcileEvery),
				func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(c.cfg.RetentionEvery),
				func() (river.JobArgs, *river.InsertOpts) { return RetentionFanoutArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		},
	})
	return err
}

// Register sets the provider that sends through channels of type t.
func (c *Client) Register(t app.ChannelType, p app.Provider) { c.providers[t] = p }

// Start starts working jobs until Stop. Jobs do not inherit ctx's
// cancellation: shutdown goes through Stop, which lets running sends finish.
func (c *Client) Start(ctx context.Context) error { return c.river.Start(context.WithoutCancel(ctx)) }

// Stop lets running jobs finish (until ctx ends, then cancels them) and
// closes River's pool. A job cut off is retried after the next start.
func (c *Client) Stop(ctx context.Context) error {
	err := c.river.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = c.river.StopAndCancel(context.Background())
	}
	return errors.Join(err, c.db.Close())
}

// sendUnique makes a send job unique by its arguments (tenant and message)
// among jobs still to run: a retried message, whose earlier job completed,
// can be enqueued again.
var sendUnique = &river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{rivertype.JobStateAvailable,
	rivertype.JobStatePending, rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}}

// EnqueueSend queues the send of a committed message. Enqueuing a message
// that already has a job to run does nothing.
func (c *Client) EnqueueSend(ctx context.Context, tenantID, messageID string) error {
	_, err := c.river.Insert(ctx, SendArgs{TenantID: tenantID, MessageID: messageID},
		&river.InsertOpts{UniqueOpts: *sendUnique})
	return err
}

// withTenant runs fn with the tenant's open file.
func (c *Client) withTenant(ctx context.Context, tenantID string, fn func(db *tenantdb.DB) error) error {
	db, release, err := c.cfg.Tenants.Acquire(ctx, tenantID)
	if err != nil {
		return err
	}
	defer release()
	return fn(db)
}
