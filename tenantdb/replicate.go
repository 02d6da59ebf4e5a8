package tenantdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/litestream"
	"github.com/benbjohnson/litestream/file"
	lss3 "github.com/benbjohnson/litestream/s3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/superfly/ltx"
)

// ControlReplica is the name the control DB is replicated under.
const ControlReplica = "control"

// TenantReplica returns the name the file of tenant id is replicated under.
func TenantReplica(id string) string { return "tenants/" + id }

// ErrNoReplica means the replica holds nothing to restore (at the time asked).
var ErrNoReplica = errors.New("the replica holds no copy of this database (at that time)")

// ReplicaTarget is where database files are replicated: a local directory or
// an S3-compatible bucket. Each file gets its own prefix under it, named by
// ControlReplica or TenantReplica.
type ReplicaTarget struct {
	// Kind is "file" or "s3".
	Kind string
	// Dir is the root directory of a file target.
	Dir string

	bucket   string
	prefix   string
	query    url.Values
	userinfo *url.Userinfo
}

// ParseReplicaURL parses a replica target: a directory path, file:///path,
// or s3://bucket/prefix?endpoint=... (credentials come from the standard AWS
// environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).
func ParseReplicaURL(s string) (ReplicaTarget, error) {
	if s == "" {
		return ReplicaTarget{}, errors.New("empty replica URL")
	}
	if !strings.Contains(s, "://") {
		dir, err := filepath.Abs(s)
		return ReplicaTarget{Kind: "file", Dir: dir}, err
	}
	u, err := url.Parse(s)
	if err != nil {
		return ReplicaTarget{}, err
	}
	switch u.Scheme {
	case "file":
		if (u.Host != "" && u.Host != "localhost") || !filepath.IsAbs(u.Path) {
			return ReplicaTarget{}, fmt.Errorf("replica URL %q: use file:///absolute/path", s)
		}
		return ReplicaTarget{Kind: "file", Dir: filepath.Clean(u.Path)}, nil
	case "s3":
		_, bucket, prefix, query, userinfo, err := litestream.ParseReplicaURLWithQuery(s)
		if err != nil {
			return ReplicaTarget{}, err
		}
		t := ReplicaTarget{Kind: "s3", bucket: bucket, prefix: prefix, query: query, userinfo: userinfo}
		if _, err := t.client(ControlReplica); err != nil {
			return ReplicaTarget{}, fmt.Errorf("replica URL %q: %w", s, err)
		}
		return t, nil
	}
	return ReplicaTarget{}, fmt.Errorf("replica URL %q: use a directory, file:///path or s3://bucket/prefix", s)
}

// String names the target without its query (which may hold an endpoint's details).
func (t ReplicaTarget) String() string {
	if t.Kind == "s3" {
		return "s3://" + path.Join(t.bucket, t.prefix)
	}
	return t.Dir
}

// client returns a Litestream replica client for the file replicated as name.
// Each file gets its own client: Litestream keeps a file's position in it.
func (t ReplicaTarget) client(name string) (litestream.ReplicaClient, error) {
	switch t.Kind {
	case "file":
		return file.NewReplicaClient(filepath.Join(t.Dir, filepath.FromSlash(name))), nil
	case "s3":
		return lss3.NewReplicaClientFromURL("s3", t.bucket, path.Join(t.prefix, name), t.query, t.userinfo)
	}
	return nil, fmt.Errorf("no replica target")
}

// ReplicaConfig configures a Replicator.
type ReplicaConfig struct {
	Target ReplicaTarget
	// SyncInterval bounds how much acknowledged data a lost disk can lose:
	// new WAL frames are staged and uploaded within about this long of their
	// commit. Defaults to 1s.
	SyncInterval time.Duration
	// Retention is how far back a point-in-time restore reaches. Defaults
	// to 24h.
	Retention time.Duration
	// MaxLag is the replication lag past which Health reports Severe (and
	// /readyz answers 503). Zero never does.
	MaxLag time.Duration
	Now    func() time.Time
	Logger *slog.Logger
	// Registerer receives the replication metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// FilesReconcileEvery is how often every tenant's files are compared
	// with the replica's, besides at start, to ship what the upload queue
	// lost. Defaults to 1h.
	FilesReconcileEvery time.Duration
	// FilesDeleteGrace is how old a replica's file gone locally must be
	// before a reconcile pass deletes it. Defaults to 10m.
	FilesDeleteGrace time.Duration
}

// Replicator replicates SQLite files with an embedded Litestream while they
// are open: the tenant manager registers each tenant file when it opens it
// and unregisters it (after a final sync) when it closes it. Litestream then
// owns the files' checkpoints.
//
// Litestream's own monitor polls every file twice a sync interval, which
// costs about half a core for a thousand idle files. So a tenant file is
// synced when the manager reports a commit (Changed), at the next half
// interval, and polled only every pollEvery for changes made from elsewhere
// (an admin command's process). The control DB, which River writes through
// its own connection, keeps Litestream's monitor.
type Replicator struct {
	cfg   ReplicaConfig
	log   *slog.Logger
	store *litestream.Store
	errs  *replicaErrors
	// tenantFiles ships the tenants' files (replicate_files.go).
	tenantFiles *fileReplication

	restores  prometheus.Counter
	pollEvery time.Duration
	stop      context.CancelFunc
	stopped   chan struct{}

	mu     sync.Mutex
	files  map[string]*replicated
	closed bool
}

type replicated struct {
	name, path   string
	db           *litestream.DB
	registeredAt time.Time
	// polled files are watched by Litestream's monitor, the others synced
	// by the Replicator when dirty.
	polled bool
	dirty  atomic.Bool
	queued atomic.Bool // waiting for a sync worker or being synced

	// mu serializes the Replicator's syncs with the final one; closed
	// stops them.
	mu                sync.Mutex
	closed            bool
	failures          int
	retryAt, loggedAt time.Time
}

// syncConcurrency is how many files the Replicator syncs at once.
const syncConcurrency = 4

// OpenReplicator starts Litestream's compaction, snapshot and retention
// monitors for cfg.Target. Files are added with Register.
func OpenReplicator(ctx context.Context, cfg ReplicaConfig) (*Replicator, error) {
	if cfg.Target.Kind == "" {
		return nil, errors.New("no replica target")
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.FilesReconcileEvery <= 0 {
		cfg.FilesReconcileEvery = time.Hour
	}
	if cfg.FilesDeleteGrace <= 0 {
		cfg.FilesDeleteGrace = 10 * time.Minute
	}
	files, err := cfg.Target.fileStore(ctx)
	if err != nil {
		return nil, fmt.Errorf("open replication of files: %w", err)
	}
	r := &Replicator{cfg: cfg, log: cfg.Logger, files: map[string]*replicated{},
		pollEvery: max(10*cfg.SyncInterval, 10*time.Second), stopped: make(chan struct{}),
		restores: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_replication_restores_total",
			Help: "Database files found missing at open and restored from the replica."})}
	r.errs = &replicaErrors{now: cfg.Now, counter: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parley_replication_errors_total",
		Help: "Replication errors reported by Litestream (a persistent error is reported at most every 30s per file)."})}
	// Litestream's defaults: 30s, 5m and 1h levels above the per-sync level 0.
	levels := litestream.CompactionLevels{{Level: 0}, {Level: 1, Interval: 30 * time.Second},
		{Level: 2, Interval: 5 * time.Minute}, {Level: 3, Interval: time.Hour}}
	r.store = litestream.NewStore(nil, levels)
	r.store.Logger = slog.New(&replicaLog{next: cfg.Logger.Handler(), errs: r.errs})
	r.store.SnapshotInterval = min(cfg.Retention, 24*time.Hour)
	r.store.SnapshotRetention = cfg.Retention
	// A final sync that cannot reach the replica gives up after this; the
	// changes stay staged locally and go out when the file next opens.
	r.store.ShutdownSyncTimeout = 10 * time.Second
	if err := r.store.Open(ctx); err != nil {
		return nil, fmt.Errorf("open replication: %w", err)
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(r.restores, r.errs.counter, replicaCollector{r})
	}
	r.tenantFiles = newFileReplication(files, cfg, r.errs)
	var loopCtx context.Context
	loopCtx, r.stop = context.WithCancel(context.Background())
	go r.syncLoop(loopCtx)
	return r, nil
}

// Target returns where files are replicated.
func (r *Replicator) Target() ReplicaTarget { return r.cfg.Target }

// Register starts replicating the SQLite file at path as name. The file must
// exist; its writer should run with wal_autocheckpoint off (see
// leaveCheckpointsToLitestream) and report each commit with Changed. Register
// after the application opened the file and Unregister after it closed it.
func (r *Replicator) Register(ctx context.Context, name, path string) error {
	return r.register(ctx, name, path, false)
}

// RegisterControl replicates the control DB at path. River writes it through
// a connection of its own, so Litestream's monitor watches it.
func (r *Replicator) RegisterControl(ctx context.Context, c *Control, path string) error {
	if err := leaveCheckpointsToLitestream(ctx, c.p); err != nil {
		return err
	}
	return r.register(ctx, ControlReplica, path, true)
}

func (r *Replicator) register(ctx context.Context, name, path string, polled bool) error {
	r.mu.Lock()
	taken := r.files[name] != nil
	r.mu.Unlock()
	if taken {
		return fmt.Errorf("%s is already replicated", name)
	}
	client, err := r.cfg.Target.client(name)
	if err != nil {
		return err
	}
	if err := client.Init(ctx); err != nil {
		return fmt.Errorf("replica client: %w", err)
	}
	db := litestream.NewDB(path)
	// Half the interval each for staging (WAL to LTX) and upload keeps the
	// window of unreplicated commits within one interval.
	db.MonitorInterval = 0
	if polled {
		db.MonitorInterval = r.cfg.SyncInterval / 2
	}
	rep := litestream.NewReplicaWithClient(db, client)
	rep.SyncInterval = r.cfg.SyncInterval / 2
	// Missing or corrupt local LTX files (a stale local state after a
	// restore, a new replica target) would otherwise stop replication for
	// good; recovering takes a fresh snapshot of the live file.
	rep.AutoRecoverEnabled = true
	if fc, ok := client.(*file.ReplicaClient); ok {
		fc.Replica = rep
	}
	db.Replica = rep

	f := &replicated{name: name, path: path, db: db, registeredAt: r.cfg.Now(), polled: polled}
	f.dirty.Store(true) // the first sync snapshots the file or catches up
	f.mu.Lock()         // no sync before Litestream has opened it
	defer f.mu.Unlock()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errors.New("replication is closed")
	} else if r.files[name] != nil {
		r.mu.Unlock()
		return fmt.Errorf("%s is already replicated", name)
	}
	r.files[name] = f
	r.mu.Unlock()
	if err := r.store.RegisterDB(db); err != nil {
		f.closed = true
		r.mu.Lock()
		delete(r.files, name)
		r.mu.Unlock()
		return errors.Join(err, db.Close(ctx))
	}
	return nil
}

// Changed reports a commit to the file replicated as name; it is synced
// within half a sync interval. It returns at once.
func (r *Replicator) Changed(name string) {
	r.mu.Lock()
	f := r.files[name]
	r.mu.Unlock()
	if f != nil {
		f.dirty.Store(true)
	}
}

// syncLoop queues the files that changed every half interval, and every
// file every pollEvery, for syncConcurrency workers, until ctx ends. A file
// slow to sync (a first snapshot of a large file) holds up only itself.
func (r *Replicator) syncLoop(ctx context.Context) {
	queue := make(chan *replicated, 1024)
	var workers sync.WaitGroup
	for range syncConcurrency {
		workers.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case f := <-queue:
					r.syncFile(ctx, f, time.Now())
					// Cleared only once synced: a file still syncing (a
					// first snapshot of gigabytes) is not queued again, or
					// every worker would wait on its lock while the other
					// files go unreplicated.
					f.queued.Store(false)
				}
			}
		})
	}
	defer func() {
		workers.Wait()
		close(r.stopped)
	}()
	tick := time.NewTicker(r.cfg.SyncInterval / 2)
	defer tick.Stop()
	lastPoll := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		poll := time.Since(lastPoll) >= r.pollEvery
		if poll {
			lastPoll = time.Now()
		}
		r.mu.Lock()
		for _, f := range r.files {
			if !f.polled && (poll || f.dirty.Load()) && f.queued.CompareAndSwap(false, true) {
				select {
				case queue <- f:
				default: // full: a dirty file stays dirty for the next tick
					f.queued.Store(false)
				}
			}
		}
		r.mu.Unlock()
	}
}

// syncFile stages a file's new WAL frames for upload (Litestream's replica
// monitor uploads them). A failing file is retried with a doubling pause up
// to 5 minutes, and logged at most every 30 seconds.
func (r *Replicator) syncFile(ctx context.Context, f *replicated, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || now.Before(f.retryAt) {
		return
	}
	f.dirty.Store(false) // a commit during the sync marks it again
	err := f.db.Sync(ctx)
	if err == nil || ctx.Err() != nil {
		f.failures, f.retryAt = 0, time.Time{}
		return
	}
	f.dirty.Store(true)
	f.failures++
	f.retryAt = now.Add(min(r.cfg.SyncInterval<<min(f.failures, 20), 5*time.Minute))
	if now.Sub(f.loggedAt) >= litestream.SyncErrorLogInterval {
		f.loggedAt = now
		r.errs.record(fmt.Sprintf("%s: sync: %v", f.name, err))
		r.log.Error("replication: staging changes failed", "file", f.name, "err", err, "consecutive_errors", f.failures)
	}
}

// Unregister ships what is left of the file replicated as name to the
// replica and stops replicating it. The application must have closed it.
func (r *Replicator) Unregister(ctx context.Context, name string) error {
	r.mu.Lock()
	f := r.files[name]
	r.mu.Unlock()
	if f == nil {
		return nil
	}
	f.mu.Lock()
	f.closed = true
	// A file closed before its first sync would otherwise skip the final
	// one (Litestream's Close syncs only a file it has looked at).
	syncErr := f.db.Sync(ctx)
	f.mu.Unlock()
	err := r.store.UnregisterDB(ctx, f.path)
	r.mu.Lock()
	delete(r.files, name)
	r.mu.Unlock()
	if err = errors.Join(syncErr, err); err != nil {
		r.errs.record(fmt.Sprintf("final sync of %s: %v", name, err))
		return fmt.Errorf("final sync of %s: %w", name, err)
	}
	return nil
}

// Close ships what is left of every file still registered (the control DB)
// and stops replicating.
func (r *Replicator) Close(ctx context.Context) error {
	r.stop()
	<-r.stopped
	r.mu.Lock()
	r.closed = true
	r.files = map[string]*replicated{}
	r.mu.Unlock()
	filesErr := r.tenantFiles.close(r.store.ShutdownSyncTimeout)
	return errors.Join(r.store.Close(ctx), filesErr)
}

// WatchFiles replicates the files of the tenants in dir (the tenant
// manager's directory) and starts a reconcile pass over them.
func (r *Replicator) WatchFiles(dir string) { r.tenantFiles.watch(dir) }

// ReconcileFiles compares every tenant's files with the replica's now,
// queues what differs, and waits until the queue has shipped it (or ctx
// ends). The server does this at start and every FilesReconcileEvery.
func (r *Replicator) ReconcileFiles(ctx context.Context) (FilesReconciled, error) {
	res, err := r.tenantFiles.reconcile(ctx)
	if err != nil {
		return res, err
	}
	return res, r.tenantFiles.drain(ctx)
}

// leaveCheckpointsToLitestream turns off SQLite's automatic checkpoints on
// the writer: Litestream checkpoints the file itself once it has shipped the
// WAL, and an application checkpoint racing it only costs I/O. The writer
// pool holds one connection for the life of the file, so the pragma sticks.
func leaveCheckpointsToLitestream(ctx context.Context, p *pools) error {
	if _, err := p.write.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		return fmt.Errorf("wal_autocheckpoint: %w", err)
	}
	return nil
}

// HasTenant reports whether the control DB registers a tenant with id. The
// tenant manager restores a missing file only for a tenant it knows.
func (c *Control) HasTenant(ctx context.Context, id string) (bool, error) {
	var n int
	err := c.p.read.QueryRowContext(ctx, `SELECT count(*) FROM tenants WHERE id = ?`, id).Scan(&n)
	return n > 0, err
}

// ReplicationHealth sums up the replication of every registered file.
type ReplicationHealth struct {
	// Target is the kind of replica target: "file" or "s3".
	Target string
	// Files counts the files being replicated.
	Files int
	// Lagging counts files whose oldest unreplicated change is older than
	// three sync intervals (3s at least).
	Lagging int
	// MaxLag is the age of the oldest change not yet in the replica, over
	// every file (tenant files waiting to be shipped included).
	MaxLag time.Duration
	// Severe says MaxLag is past ReplicaConfig.MaxLag.
	Severe bool
	// FilesPending counts tenant files written or removed and not yet
	// shipped to the replica; FilesLag is the age of the oldest.
	FilesPending int
	FilesLag     time.Duration
	// Errors counts replication errors since start; LastError and
	// LastErrorAt describe the latest.
	Errors      int
	LastError   string
	LastErrorAt time.Time
}

// Health reports the replication lag and errors. It does no network I/O.
func (r *Replicator) Health() ReplicationHealth {
	now := r.cfg.Now()
	r.mu.Lock()
	files := make([]*replicated, 0, len(r.files))
	for _, f := range r.files {
		files = append(files, f)
	}
	r.mu.Unlock()
	h := ReplicationHealth{Target: r.cfg.Target.Kind, Files: len(files)}
	alarm := max(3*r.cfg.SyncInterval, 3*time.Second)
	for _, f := range files {
		lag := f.lag(now)
		h.MaxLag = max(h.MaxLag, lag)
		if lag > alarm {
			h.Lagging++
		}
	}
	h.Errors, h.LastError, h.LastErrorAt = r.errs.last()
	h.FilesPending, h.FilesLag = r.tenantFiles.pending()
	h.MaxLag = max(h.MaxLag, h.FilesLag)
	h.Severe = r.cfg.MaxLag > 0 && h.MaxLag > r.cfg.MaxLag
	return h
}

// lag is the age of the oldest change of f that the replica lacks: changes
// staged in local LTX files and not uploaded yet. Commits not yet staged (at
// most half a sync interval old) are not seen.
func (f *replicated) lag(now time.Time) time.Duration {
	local, err := f.db.Pos()
	remote := f.db.Replica.Pos()
	if err == nil && local.TXID != 0 && remote.TXID >= local.TXID {
		return 0
	}
	since := f.registeredAt
	if err == nil && local.TXID != 0 && remote.TXID != 0 {
		if fi, err := os.Stat(f.db.LTXPath(0, remote.TXID+1, remote.TXID+1)); err == nil && fi.ModTime().After(since) {
			since = fi.ModTime()
		}
	} else if t := f.db.LastSuccessfulSyncAt(); t.After(since) {
		since = t
	}
	return max(now.Sub(since), 0)
}

// replicaCollector exports Health as Prometheus gauges, computed on scrape.
type replicaCollector struct{ r *Replicator }

var (
	replicaFilesDesc   = prometheus.NewDesc("parley_replication_files", "Database files being replicated.", nil, nil)
	replicaLagDesc     = prometheus.NewDesc("parley_replication_lag_seconds", "Age of the oldest change not yet in the replica, over every file.", nil, nil)
	replicaLaggingDesc = prometheus.NewDesc("parley_replication_lagging_files", "Files whose oldest unreplicated change is older than three sync intervals.", nil, nil)
	replicaPendingDesc = prometheus.NewDesc("parley_replication_files_pending", "Tenant files (attachments, images, logos) written or removed and not yet shipped to the replica.", nil, nil)
)

func (c replicaCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- replicaFilesDesc
	ch <- replicaLagDesc
	ch <- replicaLaggingDesc
	ch <- replicaPendingDesc
}

func (c replicaCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.r.Health()
	ch <- prometheus.MustNewConstMetric(replicaFilesDesc, prometheus.GaugeValue, float64(h.Files))
	ch <- prometheus.MustNewConstMetric(replicaLagDesc, prometheus.GaugeValue, h.MaxLag.Seconds())
	ch <- prometheus.MustNewConstMetric(replicaLaggingDesc, prometheus.GaugeValue, float64(h.Lagging))
	ch <- prometheus.MustNewConstMetric(replicaPendingDesc, prometheus.GaugeValue, float64(h.FilesPending))
}

// replicaErrors counts the errors Litestream reports and keeps the last one.
type replicaErrors struct {
	now     func() time.Time
	counter prometheus.Counter

	mu     sync.Mutex
	n      int
	msg    string
	lastAt time.Time
}

func (e *replicaErrors) record(msg string) {
	e.counter.Inc()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	e.msg, e.lastAt = msg, e.now()
}

func (e *replicaErrors) last() (int, string, time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n, e.msg, e.lastAt
}

// replicaLog hands Litestream's log records to Parley's logger. Info records
// (a compaction or snapshot per file and level) go down to Debug so a
// thousand files do not drown the log; errors are also counted.
type replicaLog struct {
	next slog.Handler
	errs *replicaErrors
	db   string // the file the records are about, from Litestream's "db" attribute
}

func (h *replicaLog) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || h.next.Enabled(ctx, demote(l))
}

func (h *replicaLog) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level >= slog.LevelError {
		msg := rec.Message
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" {
				msg += ": " + a.Value.String()
			}
			return true
		})
		if h.db != "" {
			msg = h.db + ": " + msg
		}
		h.errs.record(msg)
	}
	rec.Level = demote(rec.Level)
	if !h.next.Enabled(ctx, rec.Level) {
		return nil
	}
	return h.next.Handle(ctx, rec)
}

func (h *replicaLog) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	for _, a := range as {
		if a.Key == litestream.LogKeyDB {
			c.db = a.Value.String()
		}
	}
	c.next = h.next.WithAttrs(as)
	return &c
}

func (h *replicaLog) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}

func demote(l slog.Level) slog.Level {
	if l < slog.LevelWarn {
		return slog.LevelDebug
	}
	return l
}

// Restored describes a restore from the replica.
type Restored struct {
	// TXID is the Litestream transaction the file was restored to, and At
	// the time that transaction was replicated.
	TXID uint64
	At   time.Time
	// Bytes is the size of the restored file.
	Bytes int64
	Took  time.Duration
}

// Restore writes the file replicated as name, as it was at time at (zero:
// the latest state), to the new file out, and checks it with PRAGMA
// integrity_check. It returns ErrNoReplica when nothing was replicated by
// then. out must not exist.
func (t ReplicaTarget) Restore(ctx context.Context, name, out string, at time.Time) (Restored, error) {
	start := time.Now()
	if _, err := os.Stat(out); err == nil {
		return Restored{}, fmt.Errorf("restore to %s: the file exists", out)
	}
	client, err := t.client(name)
	if err != nil {
		return Restored{}, err
	}
	if err := client.Init(ctx); err != nil {
		return Restored{}, fmt.Errorf("replica client: %w", err)
	}
	plan, err := litestream.CalcRestorePlan(ctx, client, 0, at, slog.New(slog.DiscardHandler))
	if errors.Is(err, litestream.ErrTxNotAvailable) || errors.Is(err, litestream.ErrNoSnapshots) {
		return Restored{}, ErrNoReplica
	} else if err != nil {
		return Restored{}, fmt.Errorf("restore plan: %w", err)
	}
	last := plan[len(plan)-1]
	opt := litestream.NewRestoreOptions()
	opt.OutputPath, opt.TXID = out, last.MaxTXID
	if err := litestream.NewReplicaWithClient(nil, client).Restore(ctx, opt); err != nil {
		return Restored{}, fmt.Errorf("restore %s: %w", name, err)
	}
	if err := integrityCheck(ctx, out); err != nil {
		removeDBFiles(out)
		return Restored{}, fmt.Errorf("restored %s: %w", name, err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		return Restored{}, err
	}
	return Restored{TXID: uint64(last.MaxTXID), At: last.CreatedAt, Bytes: fi.Size(), Took: time.Since(start)}, nil
}

// RestoreMissing restores the file replicated as name to path when path does
// not exist, and reports whether it did. A replica that holds nothing is not
// an error: it returns false.
func (t ReplicaTarget) RestoreMissing(ctx context.Context, name, path string) (bool, error) {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	tmp := path + ".restoring"
	removeDBFiles(tmp)
	if _, err := t.Restore(ctx, name, tmp, time.Time{}); errors.Is(err, ErrNoReplica) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := putInPlace(tmp, path); err != nil {
		return false, err
	}
	return true, nil
}

// RestoreInPlace replaces the file at path with the one replicated as name,
// as it was at time at (zero: the latest state). Nothing may have the file
// open. The current file, with its WAL, is kept beside it under the returned
// name until the operator deletes it.
func (t ReplicaTarget) RestoreInPlace(ctx context.Context, name, path string, at time.Time) (res Restored, aside string, err error) {
	tmp := path + ".restoring"
	removeDBFiles(tmp)
	if res, err = t.Restore(ctx, name, tmp, at); err != nil {
		return res, "", err
	}
	if _, err := os.Stat(path); err == nil {
		aside = path + ".pre-restore-" + time.Now().UTC().Format("20060102T150405.000Z")
		if err := os.Rename(path, aside); err != nil {
			return res, "", err
		}
		if err := os.Rename(path+"-wal", aside+"-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, aside, err
		}
	}
	return res, aside, putInPlace(tmp, path)
}

// putInPlace moves a restored file to path. Whatever is left of an earlier
// file there goes first: a stray -wal would be replayed into the restored
// file, and Litestream's local state describes the old one.
func putInPlace(restored, path string) error {
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	if err := os.RemoveAll(litestreamMetaDir(path)); err != nil {
		return err
	}
	if err := os.Rename(restored, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// litestreamMetaDir is where Litestream keeps its local state for the file at path.
func litestreamMetaDir(path string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+litestream.MetaDirSuffix)
}

func removeDBFiles(path string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}

// integrityCheck runs PRAGMA integrity_check on the file at path.
func integrityCheck(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity_check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity_check: %s", strings.Join(problems, "; "))
	}
	return nil
}

// IntegrityCheck runs PRAGMA integrity_check on the SQLite file at path.
func IntegrityCheck(ctx context.Context, path string) error { return integrityCheck(ctx, path) }

// ReplicaPosition is how far a file's replication has got: the last
// Litestream transaction and when it was staged or uploaded.
type ReplicaPosition struct {
	TXID uint64
	At   time.Time
}

// Position returns the newest transaction the replica holds of the file
// replicated as name (zero if none).
func (t ReplicaTarget) Position(ctx context.Context, name string) (ReplicaPosition, error) {
	client, err := t.client(name)
	if err != nil {
		return ReplicaPosition{}, err
	}
	if err := client.Init(ctx); err != nil {
		return ReplicaPosition{}, fmt.Errorf("replica client: %w", err)
	}
	var pos ReplicaPosition
	for _, level := range []int{0, 1, 2, 3, litestream.SnapshotLevel} {
		itr, err := client.LTXFiles(ctx, level, 0, false)
		if err != nil {
			return pos, err
		}
		for itr.Next() {
			if info := itr.Item(); uint64(info.MaxTXID) > pos.TXID {
				pos = ReplicaPosition{TXID: uint64(info.MaxTXID), At: info.CreatedAt}
			}
		}
		if err := itr.Close(); err != nil {
			return pos, err
		}
	}
	return pos, nil
}

// LocalPosition returns the newest transaction Litestream has staged for the
// file at path (zero if none). It reads the local state a running server
// keeps beside the file; commits not staged yet are not counted.
func LocalPosition(path string) (ReplicaPosition, error) {
	dir := filepath.Join(litestreamMetaDir(path), "ltx", "0")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return ReplicaPosition{}, nil
	} else if err != nil {
		return ReplicaPosition{}, err
	}
	var pos ReplicaPosition
	for _, ent := range ents {
		_, maxTXID, err := ltx.ParseFilename(ent.Name())
		if err != nil || uint64(maxTXID) <= pos.TXID {
			continue
		}
		fi, err := ent.Info()
		if err != nil {
			continue // removed by compaction meanwhile
		}
		pos = ReplicaPosition{TXID: uint64(maxTXID), At: fi.ModTime().UTC()}
	}
	return pos, nil
}
