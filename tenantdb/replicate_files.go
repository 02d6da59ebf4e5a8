package tenantdb

import (
	"cmp"
	"context"
	"crypto/md5" // #nosec G501 -- for S3's SSE-C key checksum header only
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/benbjohnson/litestream"
	lss3 "github.com/benbjohnson/litestream/s3"
)

// A tenant's files (attachments, help center images, portal logos) live
// in <id>.files next to its database file and are replicated to the same
// target, next to the database's replica, under FilesReplica(id)/<path in
// the files directory>. They are immutable: written once under a new name
// (an id, or a content hash for logos), then only deleted. So replicating
// a file is an upload once it is written and a delete once it is removed,
// and the state of one name needs no ordering with any other.
//
// The request that writes or removes a file only queues its name
// (DB.replicateFiles); workers look at the local file when they get to
// it (present: upload, gone: delete on the replica) and retry failures
// with a doubling pause up to 5 minutes. What the queue loses (a crash, a
// replica down past shutdown, a file written by an admin command's
// process) is found by a reconcile pass at start and every
// ReplicaConfig.FilesReconcileEvery.
//
// Data exports (exports/) are not replicated: an archive is rebuilt from
// the database on request, lives a few days, and holds a client's personal
// data, which erasure must not have to chase into the replica.

// FilesReplica returns the name the files of tenant id are replicated under.
func FilesReplica(id string) string { return TenantReplica(id) + ".files" }

// TenantFilesDir returns where the files of the tenant with id live in dir
// (DB.FilesDir of its handle).
func TenantFilesDir(dir, id string) string { return filepath.Join(dir, id+".files") }

// unreplicatedDir holds the files that are not replicated: data exports.
const unreplicatedDir = "exports"

// replicatedPath reports whether rel, a slash path in a files directory,
// is replicated: not an export, not a temporary file (dot names).
func replicatedPath(rel string) bool {
	first, _, _ := strings.Cut(rel, "/")
	return first != unreplicatedDir && !strings.HasPrefix(path.Base(rel), ".") && !strings.HasSuffix(rel, ".part")
}

// replicateFiles queues the files at rel (slash paths in the tenant's
// files directory) just written or removed, for the replica to follow.
// It returns at once and never fails: a replica that is slow or down
// only delays the copy.
func (db *DB) replicateFiles(rels ...string) {
	if db.files == nil {
		return
	}
	for _, rel := range rels {
		db.files.enqueue(db.TenantID, db.FilesDir(), rel)
	}
}

// ---------- Where files go ----------

// replicaFile is a file held by the replica.
type replicaFile struct {
	rel     string // slash path under the tenant's prefix
	size    int64
	modTime time.Time
}

// fileStore is a replica target's store of plain files, addressed by
// slash keys (FilesReplica(id) + "/" + rel).
type fileStore interface {
	put(ctx context.Context, key string, r io.ReadSeeker, size int64) error
	// get returns an error matching fs.ErrNotExist when key is missing.
	get(ctx context.Context, key string) (io.ReadCloser, error)
	// remove succeeds when key is already missing.
	remove(ctx context.Context, key string) error
	// list returns the files under prefix, with keys relative to it.
	list(ctx context.Context, prefix string) ([]replicaFile, error)
}

// fileStore returns the plain-file store of the target: its directory, or
// its bucket and prefix with the endpoint, region and credentials the
// database replica uses.
func (t ReplicaTarget) fileStore(ctx context.Context) (fileStore, error) {
	switch t.Kind {
	case "file":
		return dirFiles{root: t.Dir}, nil
	case "s3":
		return newS3Files(ctx, t)
	}
	return nil, errors.New("no replica target")
}

// dirFiles stores files in a directory target.
type dirFiles struct{ root string }

func (d dirFiles) path(key string) string { return filepath.Join(d.root, filepath.FromSlash(key)) }

// put writes beside the final name and renames, so a reader never sees
// half a file.
func (d dirFiles) put(ctx context.Context, key string, r io.ReadSeeker, size int64) error {
	_, err := copyAtomic(d.path(key), r)
	return err
}

func (d dirFiles) get(ctx context.Context, key string) (io.ReadCloser, error) {
	return os.Open(d.path(key))
}

func (d dirFiles) remove(ctx context.Context, key string) error {
	if err := os.Remove(d.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (d dirFiles) list(ctx context.Context, prefix string) ([]replicaFile, error) {
	return listDir(d.path(prefix))
}

// listDir lists the replicated files under dir (none if dir is missing).
func listDir(dir string) ([]replicaFile, error) {
	var out []replicaFile
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the directory, or a file removed meanwhile
		} else if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			if rel != "." && !replicatedPath(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() || !replicatedPath(rel) {
			return nil
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		out = append(out, replicaFile{rel: rel, size: fi.Size(), modTime: fi.ModTime()})
		return nil
	})
	return out, err
}

// s3Files stores files in an S3-compatible bucket under the target's prefix.
type s3Files struct {
	client *s3.Client
	bucket string
	prefix string
	// sse sets the server-side encryption the replica URL asks for.
	sseC                   [3]*string // algorithm, key, key MD5
	kmsKeyID, storageClass string
}

// newS3Files builds an S3 client from the settings Litestream parsed from
// the replica URL (endpoint, region, path style, credentials, encryption):
// Litestream's own client is not exported.
func newS3Files(ctx context.Context, t ReplicaTarget) (*s3Files, error) {
	rc, err := t.client(ControlReplica)
	if err != nil {
		return nil, err
	}
	c, ok := rc.(*lss3.ReplicaClient)
	if !ok {
		return nil, fmt.Errorf("replica client %T is not S3", rc)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if c.SkipVerify {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // #nosec G402 -- only when the operator sets skip-verify on the replica (Litestream's option, for self-signed S3 endpoints)
	}
	region := c.Region
	if region == "" {
		region = lss3.DefaultRegion // looked up below when on AWS
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(region), config.WithHTTPClient(&http.Client{Transport: tr})}
	if c.AccessKeyID != "" && c.SecretAccessKey != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3 config: %w", err)
	}
	s3opts := func(o *s3.Options) {
		o.UsePathStyle = c.ForcePathStyle
		if c.Endpoint != "" {
			endpoint := c.Endpoint
			if !strings.Contains(endpoint, "://") {
				endpoint = "https://" + endpoint
			}
			o.BaseEndpoint = aws.String(endpoint)
			// S3-compatible stores refuse the SDK's default aws-chunked checksums.
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	}
	client := s3.NewFromConfig(cfg, s3opts)
	if c.Region == "" && c.Endpoint == "" {
		if cfg.Region, err = manager.GetBucketRegion(ctx, client, c.Bucket); err != nil {
			return nil, fmt.Errorf("s3: bucket region: %w", err)
		}
		client = s3.NewFromConfig(cfg, s3opts)
	}
	f := &s3Files{client: client, bucket: t.bucket, prefix: t.prefix, kmsKeyID: c.SSEKMSKeyID, storageClass: c.StorageClass}
	if c.SSECustomerKey != "" {
		key, err := base64.StdEncoding.DecodeString(c.SSECustomerKey)
		if err != nil {
			return nil, fmt.Errorf("s3: SSE-C key: %w", err)
		}
		sum := md5.Sum(key) // #nosec G401 -- S3's SSE-C protocol requires the key's MD5 in a header; not used for security
		f.sseC = [3]*string{aws.String(cmp.Or(c.SSECustomerAlgorithm, "AES256")), aws.String(c.SSECustomerKey),
			aws.String(base64.StdEncoding.EncodeToString(sum[:]))}
	}
	return f, nil
}

func (f *s3Files) key(k string) string { return path.Join(f.prefix, k) }

func (f *s3Files) put(ctx context.Context, key string, r io.ReadSeeker, size int64) error {
	in := &s3.PutObjectInput{Bucket: &f.bucket, Key: aws.String(f.key(key)), Body: r, ContentLength: aws.Int64(size),
		SSECustomerAlgorithm: f.sseC[0], SSECustomerKey: f.sseC[1], SSECustomerKeyMD5: f.sseC[2]}
	if f.kmsKeyID != "" {
		in.ServerSideEncryption, in.SSEKMSKeyId = s3types.ServerSideEncryptionAwsKms, aws.String(f.kmsKeyID)
	}
	if f.storageClass != "" {
		in.StorageClass = s3types.StorageClass(f.storageClass)
	}
	_, err := f.client.PutObject(ctx, in)
	return err
}

func (f *s3Files) get(ctx context.Context, key string) (io.ReadCloser, error) {
	out, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &f.bucket, Key: aws.String(f.key(key)),
		SSECustomerAlgorithm: f.sseC[0], SSECustomerKey: f.sseC[1], SSECustomerKeyMD5: f.sseC[2]})
	var missing *s3types.NoSuchKey
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	} else if err != nil {
		return nil, err
	}
	return out.Body, nil
}

func (f *s3Files) remove(ctx context.Context, key string) error {
	_, err := f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &f.bucket, Key: aws.String(f.key(key))})
	return err
}

func (f *s3Files) list(ctx context.Context, prefix string) ([]replicaFile, error) {
	p := f.key(prefix) + "/"
	var out []replicaFile
	pages := s3.NewListObjectsV2Paginator(f.client, &s3.ListObjectsV2Input{Bucket: &f.bucket, Prefix: aws.String(p)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			rel := strings.TrimPrefix(aws.ToString(o.Key), p)
			if replicatedPath(rel) {
				out = append(out, replicaFile{rel: rel, size: aws.ToInt64(o.Size), modTime: aws.ToTime(o.LastModified)})
			}
		}
	}
	return out, nil
}

// ---------- Shipping ----------

// fileConcurrency is how many files are uploaded or deleted at once.
const fileConcurrency = 4

// fileReplication ships tenant files to the replica: a queue of names
// whose local state changed, its workers, and the reconcile loop.
type fileReplication struct {
	store        fileStore
	now          func() time.Time
	log          *slog.Logger
	errs         *replicaErrors
	every, grace time.Duration
	stop         context.CancelFunc
	done         sync.WaitGroup

	mu       sync.Mutex
	tasks    map[string]*fileTask // by key: queued, being shipped, or waiting to retry
	ready    []*fileTask
	dirs     []string // tenant directories to reconcile
	wake     chan struct{}
	drained  chan struct{} // closed and replaced when tasks becomes empty
	loggedAt time.Time
	passes   chan struct{} // asks the reconcile loop for a pass
}

type fileTask struct {
	key, local string
	since      time.Time // when first queued: the age of the oldest pending file
	failures   int
	running    bool
	again      bool // changed while being shipped: ship again
	waiting    bool // waiting to retry after a failure
}

func newFileReplication(store fileStore, cfg ReplicaConfig, errs *replicaErrors) *fileReplication {
	q := &fileReplication{store: store, now: cfg.Now, log: cfg.Logger, errs: errs, every: cfg.FilesReconcileEvery,
		grace: cfg.FilesDeleteGrace, tasks: map[string]*fileTask{}, wake: make(chan struct{}, 1),
		drained: make(chan struct{}), passes: make(chan struct{}, 1)}
	var ctx context.Context
	ctx, q.stop = context.WithCancel(context.Background())
	for range fileConcurrency {
		q.done.Go(func() { q.work(ctx) })
	}
	q.done.Go(func() { q.reconcileLoop(ctx) })
	return q
}

// enqueue notes that the file at rel in the files directory dir of tenant
// id was written or removed.
func (q *fileReplication) enqueue(id, dir, rel string) {
	if !replicatedPath(rel) {
		return
	}
	key := FilesReplica(id) + "/" + rel
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.tasks[key]
	switch {
	case t == nil:
		t = &fileTask{key: key, local: filepath.Join(dir, filepath.FromSlash(rel)), since: q.now()}
		q.tasks[key] = t
		q.pushLocked(t)
	case t.running:
		t.again = true
	}
	// A task queued or waiting to retry looks at the file when it runs.
}

func (q *fileReplication) pushLocked(t *fileTask) {
	q.ready = append(q.ready, t)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *fileReplication) work(ctx context.Context) {
	for {
		q.mu.Lock()
		for len(q.ready) == 0 {
			q.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-q.wake:
			}
			q.mu.Lock()
		}
		t := q.ready[0]
		q.ready = q.ready[1:]
		if len(q.ready) > 0 {
			select { // hand the rest to another worker too
			case q.wake <- struct{}{}:
			default:
			}
		}
		t.running, t.waiting = true, false
		q.mu.Unlock()
		err := q.ship(ctx, t)
		q.finish(ctx, t, err)
	}
}

// ship makes the replica follow the local file: upload it if present,
// delete it if gone.
func (q *fileReplication) ship(ctx context.Context, t *fileTask) error {
	f, err := os.Open(t.local)
	if errors.Is(err, fs.ErrNotExist) {
		return q.store.remove(ctx, t.key)
	} else if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return q.store.put(ctx, t.key, f, fi.Size())
}

func (q *fileReplication) finish(ctx context.Context, t *fileTask, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t.running = false
	switch {
	case err != nil && ctx.Err() == nil:
		t.failures++
		t.waiting = true
		time.AfterFunc(min(time.Second<<min(t.failures-1, 9), 5*time.Minute), func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			if t.waiting {
				q.pushLocked(t)
			}
		})
		if now := q.now(); now.Sub(q.loggedAt) >= litestream.SyncErrorLogInterval {
			q.loggedAt = now
			q.errs.record(fmt.Sprintf("%s: %v", t.key, err))
			q.log.Error("replication: shipping a file failed", "key", t.key, "err", err, "consecutive_errors", t.failures)
		}
	case t.again:
		t.again = false
		q.pushLocked(t)
	default:
		delete(q.tasks, t.key)
		if len(q.tasks) == 0 {
			close(q.drained)
			q.drained = make(chan struct{})
		}
	}
}

// pending returns how many files wait to be shipped and the age of the
// oldest.
func (q *fileReplication) pending() (int, time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var oldest time.Time
	for _, t := range q.tasks {
		if oldest.IsZero() || t.since.Before(oldest) {
			oldest = t.since
		}
	}
	if oldest.IsZero() {
		return 0, 0
	}
	return len(q.tasks), max(q.now().Sub(oldest), 0)
}

// drain waits until nothing is pending or ctx ends.
func (q *fileReplication) drain(ctx context.Context) error {
	for {
		q.mu.Lock()
		n, drained := len(q.tasks), q.drained
		q.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d files not shipped to the replica (the next start's reconcile ships them): %w", n, ctx.Err())
		case <-drained:
		}
	}
}

// close ships what is pending for up to timeout, then stops.
func (q *fileReplication) close(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := q.drain(ctx)
	q.stop()
	q.done.Wait()
	return err
}

// ---------- Reconciling ----------

// watch adds a directory of tenant files to the reconcile passes and asks
// for a pass: at start, whatever the last run left unshipped goes out.
func (q *fileReplication) watch(dir string) {
	q.mu.Lock()
	if !slices.Contains(q.dirs, dir) {
		q.dirs = append(q.dirs, dir)
	}
	q.mu.Unlock()
	select {
	case q.passes <- struct{}{}:
	default:
	}
}

func (q *fileReplication) reconcileLoop(ctx context.Context) {
	tick := time.NewTicker(q.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.passes:
		case <-tick.C:
		}
		if _, err := q.reconcile(ctx); err != nil && ctx.Err() == nil {
			q.log.Error("replication: reconciling files failed", "err", err)
		}
	}
}

// FilesReconciled counts what a reconcile pass found.
type FilesReconciled struct {
	// Tenants counts the tenants compared, Files their local files.
	Tenants, Files int
	// Uploads counts files missing (or different) on the replica, Deletes
	// files on the replica removed locally: both queued to be shipped.
	Uploads, Deletes int
}

// reconcile compares every tenant's files with the replica's and queues
// what differs. Errors are counted and the pass goes on with the next
// tenant.
func (q *fileReplication) reconcile(ctx context.Context) (FilesReconciled, error) {
	q.mu.Lock()
	dirs := slices.Clone(q.dirs)
	q.mu.Unlock()
	var res FilesReconciled
	var errs []error
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		for _, e := range ents {
			id, ok := strings.CutSuffix(e.Name(), ".db")
			if !ok || !e.Type().IsRegular() || ctx.Err() != nil {
				continue
			}
			if err := q.reconcileTenant(ctx, id, TenantFilesDir(dir, id), &res); err != nil {
				errs = append(errs, fmt.Errorf("files of tenant %s: %w", id, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		q.errs.record(fmt.Sprintf("reconcile files: %v", err))
		return res, err
	}
	return res, ctx.Err()
}

// reconcileTenant queues the files of a tenant whose database file is on
// disk (one being restored is not: its replica is not touched) that the
// replica lacks, and the replica's files that are gone locally and older
// than the grace period. The replica is listed first: a file written after
// the local listing cannot be on it yet, so is never taken for removed.
// A tenant without a files directory is left alone: nothing was written
// locally, or the directory was lost, and the replica's copy is what
// remains.
func (q *fileReplication) reconcileTenant(ctx context.Context, id, dir string, res *FilesReconciled) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	remote, err := q.store.list(ctx, FilesReplica(id))
	if err != nil {
		return err
	}
	local, err := listDir(dir)
	if err != nil {
		return err
	}
	res.Tenants++
	res.Files += len(local)
	onReplica := make(map[string]int64, len(remote))
	for _, f := range remote {
		onReplica[f.rel] = f.size
	}
	here := make(map[string]bool, len(local))
	for _, f := range local {
		here[f.rel] = true
		if size, ok := onReplica[f.rel]; !ok || size != f.size {
			res.Uploads++
			q.enqueue(id, dir, f.rel)
		}
	}
	for _, f := range remote {
		if !here[f.rel] && q.now().Sub(f.modTime) >= q.grace {
			res.Deletes++
			q.enqueue(id, dir, f.rel)
		}
	}
	return nil
}

// ---------- Restoring ----------

// FilesRestored describes the files fetched from the replica.
type FilesRestored struct {
	// Files counts the files fetched, Bytes their size; Present counts the
	// files already on disk.
	Files, Present int
	Bytes          int64
}

// RestoreFiles fetches every file the replica holds for tenant id into
// dir (its files directory), leaving the files already there. Every file,
// not only those the database refers to: files are immutable, so the
// replica's set is a superset of the files of any restored state
// (point in time included, but for files deleted since), and fetching
// needs no database open.
func (t ReplicaTarget) RestoreFiles(ctx context.Context, id, dir string) (FilesRestored, error) {
	store, err := t.fileStore(ctx)
	if err != nil {
		return FilesRestored{}, err
	}
	return restoreFiles(ctx, store, id, dir)
}

func restoreFiles(ctx context.Context, store fileStore, id, dir string) (FilesRestored, error) {
	var res FilesRestored
	remote, err := store.list(ctx, FilesReplica(id))
	if err != nil {
		return res, fmt.Errorf("list the replica's files: %w", err)
	}
	for _, f := range remote {
		local := filepath.Join(dir, filepath.FromSlash(f.rel))
		if fi, err := os.Stat(local); err == nil && fi.Size() == f.size {
			res.Present++
			continue
		}
		n, err := fetchFile(ctx, store, FilesReplica(id)+"/"+f.rel, local)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted since the listing
		} else if err != nil {
			return res, fmt.Errorf("fetch %s: %w", f.rel, err)
		}
		res.Files++
		res.Bytes += n
	}
	return res, nil
}

// fetchFile downloads key to local (synced, then renamed into place).
func fetchFile(ctx context.Context, store fileStore, key, local string) (int64, error) {
	body, err := store.get(ctx, key)
	if err != nil {
		return 0, err
	}
	defer body.Close()
	return copyAtomic(local, body)
}

// copyAtomic copies r to path through a synced temporary file beside it
// (a dot name, which neither side of the replica lists) and a rename, so
// no one sees half a file.
func copyAtomic(path string, r io.Reader) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return 0, err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return n, os.Rename(tmp, path)
}

// FilesStatus compares a tenant's files on disk with the replica's copy.
type FilesStatus struct {
	// Local counts the files on disk, Replica those on the replica.
	Local, Replica int
	// Missing counts local files the replica lacks (or holds another size
	// of): pending upload. Removed counts replica files gone locally:
	// pending delete.
	Missing, Removed int
}

// FilesStatus compares the files of tenant id in dir with the replica's.
func (t ReplicaTarget) FilesStatus(ctx context.Context, id, dir string) (FilesStatus, error) {
	store, err := t.fileStore(ctx)
	if err != nil {
		return FilesStatus{}, err
	}
	remote, err := store.list(ctx, FilesReplica(id))
	if err != nil {
		return FilesStatus{}, err
	}
	local, err := listDir(dir)
	if err != nil {
		return FilesStatus{}, err
	}
	st := FilesStatus{Local: len(local), Replica: len(remote)}
	onReplica := map[string]int64{}
	for _, f := range remote {
		onReplica[f.rel] = f.size
	}
	for _, f := range local {
		if size, ok := onReplica[f.rel]; !ok || size != f.size {
			st.Missing++
		}
		delete(onReplica, f.rel)
	}
	st.Removed = len(onReplica)
	return st, nil
}
