// Command parley runs Parley and administers its data directory.
//
//	parley serve      run the web server
//	parley tenant     create, list, disable and enable workspaces
//	parley token      create API tokens
//	parley domain     list, map and unmap workspaces' custom domains
//	parley migrate    migrate every tenant file
//	parley restore    restore a tenant file or the control DB from the replica
//	parley backup     show how far replication has got
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // IANA zones for client preferences and snoozes, even on a minimal image
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// usageError is bad command-line usage: exit code 2 and a one-line reason.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const topUsage = `Parley: CRM and omnichannel inbox.

Usage:
  parley serve [flags]                          run the web server
  parley tenant create SLUG --name NAME --admin-email EMAIL [--admin-password-file F]
  parley tenant list | disable SLUG | enable SLUG
  parley token create --tenant SLUG --name NAME [--role ROLE]
  parley domain list [--tenant SLUG]            custom domains, served and pending
  parley domain map --tenant SLUG --domain HOST
                                                serve a workspace's help center and
                                                portal on HOST (verified at once)
  parley domain unmap --domain HOST             stop serving HOST
  parley migrate                                migrate every tenant file
  parley restore (--tenant SLUG | --control) [--at TIME] [--to FILE]
                                                restore from the replica
  parley backup status                          replica position and lag per tenant

Every command takes --data DIR (env PARLEY_DATA, default ./data) and works on
the same data directory while a server runs on it. Use "parley COMMAND --help"
for a command's flags.
`

// run dispatches a command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "parley: %s (see parley --help)\n", ue.msg)
		return 2
	default:
		fmt.Fprintf(stderr, "parley: %v\n", err)
		return 1
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("missing command")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, topUsage)
		return nil
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "tenant":
		return runTenant(ctx, args[1:], stdout, stderr)
	case "token":
		return runToken(ctx, args[1:], stdout, stderr)
	case "domain":
		return runDomain(ctx, args[1:], stdout)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "restore":
		return runRestore(ctx, args[1:], stdout)
	case "backup":
		return runBackup(ctx, args[1:], stdout)
	}
	return usagef("unknown command %q", args[0])
}

// newFlagSet returns a flag set that reports errors as usage errors and
// prints its help to stdout.
func newFlagSet(name, synopsis string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: %s\n\nFlags:\n", synopsis)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses flags that may come before or after positional arguments and
// returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	// The flag package calls Usage itself on -h and on every bad flag; keep
	// it quiet so help prints once and a bad flag gives one line.
	usage := fs.Usage
	fs.Usage = func() {}
	defer func() { fs.Usage = usage }()
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage()
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
