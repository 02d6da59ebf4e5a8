package tenantdb

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"parley/app"
)

// ManagerConfig configures a Manager.
type ManagerConfig struct {
	// Dir holds the tenant files, one <tenant id>.db each.
	Dir string
	// MaxOpen is how many tenants stay open at most. Defaults to 1000.
	MaxOpen int
	// IdleTimeout closes a tenant nobody used for this long. Defaults to 10m.
	IdleTimeout time.Duration
	// RetryFailedAfter is how long a tenant that failed to open stays closed
	// before the next request tries again. Defaults to 30s.
	RetryFailedAfter time.Duration
	// ReadConns is the size of each tenant's read pool. Defaults to 4.
	ReadConns int
	// CacheKiB is each connection's page cache. Defaults to 1024.
	CacheKiB int
	// Sealer encrypts channel credentials at rest; nil means channels with
	// credentials cannot be saved (the sandbox needs none).
	Sealer *Sealer
	// AllowAPIBaseURL honours a channel's api_base_url setting (another
	// provider API host: a regional endpoint, or a test's fake server).
	// Off, the setting is ignored wherever channels are read, so a
	// workspace cannot aim Parley's server at arbitrary hosts with its
	// credentials.
	AllowAPIBaseURL bool
	Now             func() time.Time
	Logger          *slog.Logger
	// Registerer receives the manager's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Replicator, when set, replicates every tenant file while it is open
	// (registered once opened, unregistered after a final sync once
	// closed) and restores a missing file from the replica before opening
	// it. Nil replicates nothing.
	Replicator *Replicator
	// TenantKnown reports whether the control DB registers a tenant: a
	// missing file is restored only for a known tenant, never for an id
	// that merely looks like one. Nil restores nothing.
	TenantKnown func(ctx context.Context, id string) (bool, error)
	// Control, when set, records in the control DB when each closed
	// tenant next needs the periodic reconciler (see NextDue), so that
	// closed tenants with nothing due stay closed. Nil records nothing:
	// every tenant stays due.
	Control *Control
}

// finalSyncTimeout bounds the final sync of a tenant closed for idleness.
const finalSyncTimeout = time.Minute

// closeParallel is how many tenants Close closes at once: enough to close
// a thousand within the shutdown timeout, few enough not to start a
// thousand final syncs to the replica together.
const closeParallel = 32

// Manager opens tenant files on demand and keeps the recently used ones open.
// A tenant is opened once however many requests ask for it at the same time,
// and is closed (on eviction or shutdown) only when no request holds it.
type Manager struct {
	cfg ManagerConfig
	log *slog.Logger

	mu      sync.Mutex
	entries map[string]*entry
	lru     *list.List // of *entry, most recently used at the front
	closed  bool

	stop    chan struct{}
	stopped chan struct{}
	// closing counts files being closed in the background after eviction;
	// Close waits for them so no file is left half-closed at exit.
	closing sync.WaitGroup
	// closingIDs holds, per tenant being closed, a channel closed once its
	// file is closed and its replication stopped: the tenant is not opened
	// again before then (Litestream's closing its descriptors would drop
	// the locks of the new connections).
	closingIDs map[string]chan struct{}
	metrics    managerMetrics

	hooksMu sync.RWMutex
	hooks   []func(tenantID string)
}

// OnCommit registers fn to be called after every committed write to any
// tenant file, with the tenant's id. fn must return at once (the live
// feed only signals its reader); it runs on the writer's goroutine.
func (m *Manager) OnCommit(fn func(tenantID string)) {
	m.hooksMu.Lock()
	defer m.hooksMu.Unlock()
	m.hooks = append(m.hooks, fn)
}

func (m *Manager) committed(tenantID string) {
	if rep := m.cfg.Replicator; rep != nil {
		rep.Changed(TenantReplica(tenantID))
	}
	m.hooksMu.RLock()
	defer m.hooksMu.RUnlock()
	for _, fn := range m.hooks {
		fn(tenantID)
	}
}

type entry struct {
	id       string
	ready    chan struct{} // closed once db or err is set
	db       *DB
	err      error
	failedAt time.Time
	refs     int
	lastUsed time.Time
	elem     *list.Element
}

type managerMetrics struct {
	open      prometheus.Gauge
	openTime  prometheus.Histogram
	failures  prometheus.Counter
	evictions prometheus.Counter
}

// NewManager returns a Manager and starts its idle-eviction loop.
func NewManager(cfg ManagerConfig) *Manager {
	if cfg.MaxOpen <= 0 {
		cfg.MaxOpen = 1000
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.RetryFailedAfter <= 0 {
		cfg.RetryFailedAfter = 30 * time.Second
	}
	if cfg.ReadConns <= 0 {
		cfg.ReadConns = 4
	}
	if cfg.CacheKiB <= 0 {
		cfg.CacheKiB = defaultCacheKiB
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		cfg: cfg, log: cfg.Logger,
		entries: map[string]*entry{}, lru: list.New(), closingIDs: map[string]chan struct{}{},
		stop: make(chan struct{}), stopped: make(chan struct{}),
		metrics: managerMetrics{
			open: prometheus.NewGauge(prometheus.GaugeOpts{Name: "parley_tenants_open", Help: "Tenant files currently open."}),
			openTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "parley_tenant_open_seconds",
				Help: "Time to open a tenant file, migrations included.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
			failures:  prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_tenant_open_failures_total", Help: "Tenant opens that failed."}),
			evictions: prometheus.NewCounter(prometheus.CounterOpts{Name: "parley_tenant_evictions_total", Help: "Tenant files closed for idleness or to make room."}),
		},
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(m.metrics.open, m.metrics.openTime, m.metrics.failures, m.metrics.evictions)
	}
	if cfg.Replicator != nil {
		cfg.Replicator.WatchFiles(cfg.Dir)
	}
	go m.evictIdleLoop()
	return m
}

// TenantPath returns where the file of the tenant with id lives.
func (m *Manager) TenantPath(id string) string { return TenantFile(m.cfg.Dir, id) }

// TenantFile returns where the file of the tenant with id lives in dir.
func TenantFile(dir, id string) string { return filepath.Join(dir, id+".db") }

// Replicator returns the manager's replication, nil if there is none.
func (m *Manager) Replicator() *Replicator { return m.cfg.Replicator }

// Acquire returns the open handle of tenant id, opening and migrating it if
// needed. The caller must call release when done with it. A tenant that
// failed to open answers EUNAVAILABLE until RetryFailedAfter has passed.
func (m *Manager) Acquire(ctx context.Context, id string) (db *DB, release func(), err error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, nil, app.Errorf(app.EUNAVAILABLE, "Parley is shutting down.")
	}
	e := m.entries[id]
	if e != nil && e.err != nil && m.cfg.Now().Sub(e.failedAt) >= m.cfg.RetryFailedAfter {
		m.removeLocked(e) // a failed open is retried after a pause
		e = nil
	}
	if e == nil {
		e = &entry{id: id, ready: make(chan struct{})}
		e.elem = m.lru.PushFront(e)
		m.entries[id] = e
		go m.open(e, m.closingIDs[id]) // #nosec G118 -- the open is shared by every caller waiting on e.ready, so no one caller's context may cancel it; it ends on its own
	}
	e.refs++
	e.lastUsed = m.cfg.Now()
	m.lru.MoveToFront(e.elem)
	m.mu.Unlock()

	select {
	case <-e.ready:
	case <-ctx.Done():
		m.release(e)
		return nil, nil, ctx.Err()
	}
	if e.err != nil {
		m.release(e)
		return nil, nil, e.err
	}
	var once sync.Once
	return e.db, func() { once.Do(func() { m.release(e) }) }, nil
}

// open opens the tenant's file outside the manager's lock, once an earlier
// close of the same tenant (closed, if any) has finished. It does not use the
// requesting context: other requests may be waiting for the same open.
func (m *Manager) open(e *entry, closed <-chan struct{}) {
	if closed != nil {
		<-closed
	}
	start := time.Now()
	db, err := m.openDB(context.Background(), e.id)
	m.metrics.openTime.Observe(time.Since(start).Seconds())

	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.metrics.failures.Inc()
		m.log.Error("tenant open failed", "tenant_id", e.id, "err", err)
		// The cause stays in the chain for the operator (logs, parley migrate);
		// people are shown only the friendly message.
		e.err = fmt.Errorf("%w (cause: %v)", app.Errorf(app.EUNAVAILABLE,
			"This workspace is temporarily unavailable. The operator has been alerted; please try again shortly."), err)
		e.failedAt = m.cfg.Now()
	} else {
		e.db = db
		m.metrics.open.Inc()
		m.evictOverflowLocked()
	}
	close(e.ready)
}

func (m *Manager) openDB(ctx context.Context, id string) (*DB, error) {
	path := m.TenantPath(id)
	if err := m.restoreIfMissing(ctx, id, path); err != nil {
		return nil, fmt.Errorf("restore tenant %s from the replica: %w", id, err)
	}
	if _, err := os.Stat(path); err != nil {
		// A tenant file is created by Provision, never by a request for an
		// unknown id, so a missing file is an error, not a new tenant.
		return nil, fmt.Errorf("tenant file %s: %w", path, err)
	}
	// Due first: a crash while the tenant is open then means a visit from
	// the reconciler after restart.
	if c := m.cfg.Control; c != nil {
		if err := c.clearReconcileDue(ctx, id); err != nil {
			return nil, fmt.Errorf("tenant %s: clear reconcile due: %w", id, err)
		}
	}
	rep := m.cfg.Replicator
	db, err := openTenantFile(ctx, path, id, m.cfg.ReadConns, m.cfg.CacheKiB, m.cfg.Now, rep != nil)
	if err != nil {
		return nil, err
	}
	db.committed, db.sealer, db.allowBaseURL = m.committed, m.cfg.Sealer, m.cfg.AllowAPIBaseURL
	if rep != nil {
		db.files = rep.tenantFiles
		// Every open tenant is replicated: one that cannot be stays closed.
		if err := rep.Register(ctx, TenantReplica(id), path); err != nil {
			db.p.close()
			return nil, fmt.Errorf("replicate tenant %s: %w", id, err)
		}
	}
	return db, nil
}

// restoreIfMissing restores the file of a tenant the control DB knows from
// the replica when it is missing on disk (a lost or replaced volume).
func (m *Manager) restoreIfMissing(ctx context.Context, id, path string) error {
	rep := m.cfg.Replicator
	if rep == nil || m.cfg.TenantKnown == nil {
		return nil
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if known, err := m.cfg.TenantKnown(ctx, id); err != nil || !known {
		return err
	}
	start := time.Now()
	// The files first: a tenant file on disk means its files are too (the
	// reconcile pass would take those missing for deleted).
	files, err := restoreFiles(ctx, rep.tenantFiles.store, id, TenantFilesDir(m.cfg.Dir, id))
	if err != nil {
		return fmt.Errorf("files: %w", err)
	}
	restored, err := rep.Target().RestoreMissing(ctx, TenantReplica(id), path)
	if restored {
		rep.restores.Inc()
		m.log.Warn("tenant file was missing: restored it from the replica", "tenant_id", id,
			"files", files.Files, "took_ms", time.Since(start).Milliseconds())
	}
	return err
}

// openTenantFile opens and migrates a tenant file. A replicated file leaves
// checkpoints to Litestream.
func openTenantFile(ctx context.Context, path, id string, readConns, cacheKiB int, now func() time.Time, replicated bool) (*DB, error) {
	p, err := openPools(ctx, path, readConns, cacheKiB)
	if err != nil {
		return nil, err
	}
	if replicated {
		if err := leaveCheckpointsToLitestream(ctx, p); err != nil {
			p.close()
			return nil, err
		}
	}
	applied, err := migrate(ctx, p, "tenant", now())
	if err != nil {
		p.close()
		return nil, fmt.Errorf("migrate tenant %s: %w", id, err)
	}
	db := &DB{TenantID: id, path: path, p: p, now: now, Applied: applied}
	if err := db.deleteExpiredSessions(ctx); err != nil {
		p.close()
		return nil, err
	}
	return db, nil
}

func (m *Manager) release(e *entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.refs--
	e.lastUsed = m.cfg.Now()
}

// evictOverflowLocked closes least recently used, unreferenced tenants while
// more than MaxOpen are open.
func (m *Manager) evictOverflowLocked() {
	for el := m.lru.Back(); el != nil && m.lru.Len() > m.cfg.MaxOpen; {
		prev := el.Prev()
		if e := el.Value.(*entry); e.refs == 0 && isReady(e) {
			m.closeEntryLocked(e)
			m.metrics.evictions.Inc()
		}
		el = prev
	}
}

func (m *Manager) evictIdleLoop() {
	defer close(m.stopped)
	t := time.NewTicker(min(m.cfg.IdleTimeout/2, time.Minute))
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.EvictIdle()
		}
	}
}

// EvictIdle closes every unreferenced tenant idle for longer than IdleTimeout.
func (m *Manager) EvictIdle() {
	m.mu.Lock()
	defer m.mu.Unlock()
	cutoff := m.cfg.Now().Add(-m.cfg.IdleTimeout)
	for el := m.lru.Back(); el != nil; {
		prev := el.Prev()
		if e := el.Value.(*entry); e.refs == 0 && isReady(e) && e.lastUsed.Before(cutoff) {
			m.closeEntryLocked(e)
			m.metrics.evictions.Inc()
		}
		el = prev
	}
}

func isReady(e *entry) bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

// closeEntryLocked removes e and closes its file in the background; the
// close (a WAL checkpoint, the final sync to the replica) must not hold up
// other tenants.
func (m *Manager) closeEntryLocked(e *entry) {
	m.removeLocked(e)
	if e.db != nil {
		m.metrics.open.Dec()
		db := e.db
		e.db = nil
		done := m.markClosingLocked(e.id)
		m.closing.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), finalSyncTimeout)
			defer cancel()
			if err := m.closeDB(ctx, db, done); err != nil {
				m.log.Error("tenant close failed", "tenant_id", e.id, "err", err)
			}
		})
	}
}

// markClosingLocked records that tenant id is being closed; closeDB closes
// the returned channel when done.
func (m *Manager) markClosingLocked(id string) chan struct{} {
	done := make(chan struct{})
	m.closingIDs[id] = done
	return done
}

// closeDB closes a tenant's pools, then ships what is left of its WAL to the
// replica and stops replicating it: Litestream must close the file after
// the application has. Then it lets the tenant open again.
func (m *Manager) closeDB(ctx context.Context, db *DB, done chan struct{}) error {
	// Read before the pools close, recorded after: a failure leaves the
	// tenant due (unknown), which costs a visit, never a missed one.
	control := m.cfg.Control
	var due time.Time
	var dueErr error
	if control != nil {
		due, dueErr = db.NextDue(ctx)
	}
	err := db.p.close()
	if control != nil && dueErr == nil {
		dueErr = control.setReconcileDue(ctx, db.TenantID, due)
	}
	if dueErr != nil {
		err = errors.Join(err, fmt.Errorf("record reconcile due: %w", dueErr))
	}
	if rep := m.cfg.Replicator; rep != nil {
		err = errors.Join(err, rep.Unregister(ctx, TenantReplica(db.TenantID)))
	}
	m.mu.Lock()
	if m.closingIDs[db.TenantID] == done {
		delete(m.closingIDs, db.TenantID)
	}
	m.mu.Unlock()
	close(done)
	return err
}

func (m *Manager) removeLocked(e *entry) {
	if m.entries[e.id] == e {
		delete(m.entries, e.id)
		m.lru.Remove(e.elem)
	}
}

// OpenIDs returns the ids of the tenants open now.
func (m *Manager) OpenIDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, e := range m.entries {
		if e.db != nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// IsOpen reports whether tenant id is open now.
func (m *Manager) IsOpen(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[id]
	return e != nil && e.db != nil
}

// OpenCount returns how many tenants are open now.
func (m *Manager) OpenCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.entries {
		if e.db != nil {
			n++
		}
	}
	return n
}

// Usable reports whether the manager accepts requests (it has not been closed).
func (m *Manager) Usable() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("tenant manager is closed")
	}
	if _, err := os.Stat(m.cfg.Dir); err != nil {
		return fmt.Errorf("tenant directory: %w", err)
	}
	return nil
}

// Close stops accepting requests and closes every open tenant in parallel,
// waiting for requests that still hold one (until ctx ends).
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.stop)
	var held []*entry
	for _, e := range m.entries {
		held = append(held, e)
	}
	m.mu.Unlock()
	<-m.stopped

	var wg sync.WaitGroup
	errs := make(chan error, len(held))
	slots := make(chan struct{}, closeParallel)
	for _, e := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- m.closeWhenFree(ctx, e, slots)
		}()
	}
	wg.Wait()
	m.closing.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// closeWhenFree waits for e to open and be released, then closes it once
// one of slots is free (waiting takes none: a tenant still in use must not
// hold up the others).
func (m *Manager) closeWhenFree(ctx context.Context, e *entry, slots chan struct{}) error {
	select {
	case <-e.ready:
	case <-ctx.Done():
		return fmt.Errorf("tenant %s: still opening at shutdown", e.id)
	}
	for {
		m.mu.Lock()
		if e.refs == 0 || ctx.Err() != nil {
			db := e.db
			e.db = nil
			m.removeLocked(e)
			if db == nil {
				m.mu.Unlock()
				return nil
			}
			done := m.markClosingLocked(e.id)
			m.mu.Unlock()
			m.metrics.open.Dec()
			slots <- struct{}{}
			defer func() { <-slots }()
			if err := m.closeDB(context.WithoutCancel(ctx), db, done); err != nil {
				return fmt.Errorf("close tenant %s: %w", e.id, err)
			}
			return nil
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Forget closes tenant id now if it is open and unused. Provisioning calls it
// before removing the file of a tenant it failed to create, and the
// reconciler after visiting a tenant that was closed.
func (m *Manager) Forget(id string) error {
	m.mu.Lock()
	e := m.entries[id]
	if e == nil || e.refs > 0 || !isReady(e) {
		m.mu.Unlock()
		return nil
	}
	m.removeLocked(e)
	db := e.db
	e.db = nil
	if db == nil {
		m.mu.Unlock()
		return nil
	}
	m.metrics.open.Dec()
	done := m.markClosingLocked(id)
	m.mu.Unlock()
	return m.closeDB(context.Background(), db, done)
}
