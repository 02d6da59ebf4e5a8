package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"parley/app"
	"parley/tenantdb"
)

// lockFile is the file a running server holds locked in its data directory.
const lockFile = "parley.lock"

// lockDataDir takes the data directory's lock, which `parley serve` holds
// while it runs: a second server on the same directory (two Litestreams
// writing one replica) and a restore in place are refused meanwhile. The
// kernel releases the lock when the process ends, however it ends.
func lockDataDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := io.ReadAll(io.LimitReader(f, 32))
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("a parley server (pid %s) is running on %s: stop it first",
				strings.TrimSpace(string(b)), dir)
		}
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

const restoreUsage = "parley restore (--tenant SLUG | --control) [--at TIME] [--to FILE]"

func runRestore(ctx context.Context, args []string, stdout io.Writer) error {
	cfg := DefaultConfig()
	fs := newFlagSet("restore", restoreUsage, stdout)
	cfg.bindCommon(fs)
	cfg.bindReplica(fs)
	slug := fs.String("tenant", "", "slug of the tenant to restore")
	control := fs.Bool("control", false, "restore the control DB instead of a tenant")
	atFlag := fs.String("at", "", "restore the state as of this time (RFC 3339, e.g. 2026-11-25T08:00:00Z); default: the latest")
	to := fs.String("to", "", "write the restored file here (a new file; the server may run); default: put it in place (the server must be stopped)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("restore takes no arguments, got %q", pos[0])
	case (*slug == "") == !*control:
		return usagef("restore needs exactly one of --tenant SLUG and --control")
	}
	var at time.Time
	if *atFlag != "" {
		if at, err = time.Parse(time.RFC3339, *atFlag); err != nil {
			return usagef("--at %q: use RFC 3339, e.g. 2026-11-25T08:00:00Z", *atFlag)
		}
	}
	target, err := cfg.replicaTarget()
	if err != nil {
		return usagef("--replica-url: %v", err)
	} else if target.Kind == "" {
		return usagef("replication is off (--replica-url none): there is nothing to restore from")
	}
	what, name, path := "the control DB", tenantdb.ControlReplica, cfg.ControlPath()
	var tenantID, filesDir string
	if !*control {
		t, err := lookUpTenant(ctx, cfg, *slug)
		if err != nil {
			return err
		}
		what = fmt.Sprintf("tenant %s (id %s)", t.Slug, t.ID)
		name, path = tenantdb.TenantReplica(t.ID), tenantdb.TenantFile(cfg.TenantDir(), t.ID)
		tenantID, filesDir = t.ID, tenantdb.TenantFilesDir(cfg.TenantDir(), t.ID)
		if *to != "" {
			filesDir = strings.TrimSuffix(*to, ".db") + ".files"
		}
	}

	var res tenantdb.Restored
	var files tenantdb.FilesRestored
	var aside string
	if *to != "" {
		if files, err = restoreFiles(ctx, target, tenantID, filesDir); err != nil {
			return err
		}
		res, err = target.Restore(ctx, name, *to, at)
	} else {
		unlock, lerr := lockDataDir(cfg.DataDir)
		if lerr != nil {
			return fmt.Errorf("%w, or restore to a new file with --to", lerr)
		}
		// The files first: once the tenant file is in place, the server's
		// reconcile pass takes a file missing beside it for deleted.
		if files, err = restoreFiles(ctx, target, tenantID, filesDir); err == nil {
			res, aside, err = target.RestoreInPlace(ctx, name, path, at)
		}
		unlock()
	}
	if errors.Is(err, tenantdb.ErrNoReplica) {
		if at.IsZero() {
			return fmt.Errorf("%s: the replica at %s holds nothing", what, target)
		}
		return fmt.Errorf("%s: the replica at %s holds nothing as old as %s", what, target, at.Format(time.RFC3339))
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Restored %s as of %s (txid %d, %.1f MB) in %s; integrity_check ok.\n", what,
		res.At.UTC().Format(time.RFC3339Nano), res.TXID, float64(res.Bytes)/(1<<20), res.Took.Round(time.Millisecond))
	if tenantID != "" {
		fmt.Fprintf(stdout, "Fetched %d files (%.1f MB) from the replica into %s (%d were there already).\n",
			files.Files, float64(files.Bytes)/(1<<20), filesDir, files.Present)
	}
	switch {
	case *to != "":
		fmt.Fprintf(stdout, "Written to %s.\n", *to)
	case aside != "":
		fmt.Fprintf(stdout, "Put in place at %s; the file it replaced is kept at %s (delete it when satisfied).\n", path, aside)
	default:
		fmt.Fprintf(stdout, "Put in place at %s.\n", path)
	}
	return nil
}

// restoreFiles fetches the files of the tenant with id (none for the
// control DB) into dir: every file the replica holds, which for a restore
// to a point in time is every file of that time but those deleted since
// (by retention, erasure or a person), as they should be.
func restoreFiles(ctx context.Context, target tenantdb.ReplicaTarget, id, dir string) (tenantdb.FilesRestored, error) {
	if id == "" {
		return tenantdb.FilesRestored{}, nil
	}
	res, err := target.RestoreFiles(ctx, id, dir)
	if err != nil {
		return res, fmt.Errorf("restore the tenant's files: %w", err)
	}
	return res, nil
}

// lookUpTenant finds a tenant by slug in the control DB, which must exist:
// opening a missing one would create an empty registry.
func lookUpTenant(ctx context.Context, cfg Config, slug string) (*app.Tenant, error) {
	if _, err := os.Stat(cfg.ControlPath()); err != nil {
		return nil, fmt.Errorf("no control DB at %s: restore it first with parley restore --control", cfg.ControlPath())
	}
	c, err := tenantdb.OpenControl(ctx, cfg.ControlPath(), nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	t, err := c.TenantBySlug(ctx, slug)
	if err != nil {
		return nil, fmt.Errorf("tenant %q: %s", slug, app.ErrorMessage(err))
	}
	return t, nil
}

func runBackup(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, topUsage)
			return nil
		}
		return usagef("backup needs the subcommand status")
	}
	cfg := DefaultConfig()
	fs := newFlagSet("backup status", "parley backup status", stdout)
	cfg.bindCommon(fs)
	cfg.bindReplica(fs)
	if pos, err := parse(fs, args[1:]); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("backup status takes no arguments")
	}
	target, err := cfg.replicaTarget()
	if err != nil {
		return usagef("--replica-url: %v", err)
	} else if target.Kind == "" {
		return usagef("replication is off (--replica-url none)")
	}
	type row struct{ label, name, path, id string }
	rows := []row{{"(control DB)", tenantdb.ControlReplica, cfg.ControlPath(), ""}}
	if _, err := os.Stat(cfg.ControlPath()); err == nil {
		c, err := tenantdb.OpenControl(ctx, cfg.ControlPath(), nil)
		if err != nil {
			return err
		}
		ts, err := c.ListTenants(ctx)
		c.Close()
		if err != nil {
			return err
		}
		for _, t := range ts {
			rows = append(rows, row{t.Slug, tenantdb.TenantReplica(t.ID), tenantdb.TenantFile(cfg.TenantDir(), t.ID), t.ID})
		}
	} else {
		fmt.Fprintf(stdout, "No control DB at %s (restore it with parley restore --control); tenants are not listed.\n", cfg.ControlPath())
	}
	fmt.Fprintf(stdout, "Replica: %s\n", target)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREPLICA TXID\tREPLICATED AT\tLOCAL TXID\tLAG\tFILES\tFILES PENDING")
	for _, r := range rows {
		remote, err := target.Position(ctx, r.name)
		if err != nil {
			return fmt.Errorf("%s: %w", r.label, err)
		}
		local, err := tenantdb.LocalPosition(r.path)
		if err != nil {
			return fmt.Errorf("%s: %w", r.label, err)
		}
		files, pending := "-", "-"
		if r.id != "" {
			st, err := target.FilesStatus(ctx, r.id, tenantdb.TenantFilesDir(cfg.TenantDir(), r.id))
			if err != nil {
				return fmt.Errorf("%s: files: %w", r.label, err)
			}
			files, pending = strconv.Itoa(st.Local), filesPending(st)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.label, txid(remote.TXID), when(remote.At), txid(local.TXID),
			lag(local, remote), files, pending)
	}
	return tw.Flush()
}

// filesPending says what the replica's copy of a tenant's files lacks:
// uploads of files written, deletes of files removed (a delete waits out
// a grace period when the queue lost it).
func filesPending(st tenantdb.FilesStatus) string {
	if st.Missing == 0 && st.Removed == 0 {
		return "0"
	}
	return fmt.Sprintf("%d to upload, %d to delete", st.Missing, st.Removed)
}

func txid(n uint64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatUint(n, 10)
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// lag is how far the replica is behind what the server has staged: the age
// difference of the newest staged and the newest replicated transaction.
func lag(local, remote tenantdb.ReplicaPosition) string {
	switch {
	case remote.TXID == 0 && local.TXID == 0:
		return "not replicated"
	case local.TXID <= remote.TXID:
		return "0s"
	case remote.TXID == 0:
		return "nothing replicated"
	}
	return fmt.Sprintf("%s (%d txids)", local.At.Sub(remote.At).Round(time.Millisecond), local.TXID-remote.TXID)
}
