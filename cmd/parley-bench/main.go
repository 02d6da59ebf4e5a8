// Command parley-bench is Parley's load and scale harness: it builds a
// reproducible data set through Parley's own storage code, starts a real
// `parley serve` on 127.0.0.1, drives it over loopback, measures the floor
// (a bare net/http handler and raw SQLite lookups) in the same run, and
// writes BENCHMARKS.md.
//
//	parley-bench gen    [--data DIR] [--seed 1] [--tenants 1000] [--clients 100] [--large 100000] [--quick]
//	parley-bench load   [--data DIR] [--concurrency 4] [--duration 10s] [--quick]
//	parley-bench scale  [--data DIR] [--quick]
//	parley-bench sse    [--data DIR] [--quick]
//	parley-bench soak   [--data DIR] [--duration 10m]
//	parley-bench report [--out DIR] [--file BENCHMARKS.md]
//	parley-bench all    [--quick]
//
// Every part writes <out>/<part>.json; report turns them into Markdown.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// commands are the subcommands but all (which runs them); each takes its own flags.
var commands = map[string]func(ctx context.Context, args []string) error{
	"gen":    runGen,
	"load":   runLoad,
	"report": runReport,
	"scale":  runScale,
	"sse":    runSSE,
	"soak":   runSoak,
}

// allParts are the parts `all` runs after gen, in order; a part whose
// command is missing from this build is skipped with a note.
var allParts = []string{"load", "scale", "sse"}

const usage = `usage: parley-bench <command> [flags]

  gen     build the data: small tenants and one large tenant (cached in .cache/bench)
  load    drive each flow of a running server and measure the floor
  scale   tenant cold opens, memory and CPU with every small tenant open and replicating
  sse     live-update fan-out to many subscribers
  soak    mixed load for a long time, with a verdict
  report  write BENCHMARKS.md from the stored results
  all     gen (if the data is missing), load, scale, sse, report

Run "parley-bench <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	run, ok := commands[os.Args[1]]
	if os.Args[1] == "all" {
		run, ok = runAll, true
	}
	if !ok {
		fmt.Fprintf(os.Stderr, "parley-bench: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err := run(ctx, os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "parley-bench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// benchDirs fills in the default data and results directories: under
// .cache/bench, or .cache/bench/quick in quick mode.
func benchDirs(data, out string, quick bool) (string, string) {
	base := filepath.Join(".cache", "bench")
	if quick {
		base = filepath.Join(base, "quick")
	}
	if data == "" {
		data = filepath.Join(base, "data")
	}
	if out == "" {
		out = filepath.Join(base, "results")
	}
	return data, out
}

// runAll makes the data if it is missing, runs every part and writes the
// report: BENCHMARKS.md at the repository root, or
// .cache/bench/quick/BENCHMARKS.md in quick mode.
func runAll(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("all", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "small data and short runs (under 3 minutes once the fixtures are cached)")
	data := fs.String("data", "", "data directory (default .cache/bench/data, quick: .cache/bench/quick/data)")
	out := fs.String("out", "", "results directory (default .cache/bench/results, quick: .cache/bench/quick/results)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	*data, *out = benchDirs(*data, *out, *quick)
	common := []string{"--data", *data, "--out", *out}
	if *quick {
		common = append(common, "--quick")
	}
	start := time.Now()
	if _, err := readManifest(*data); err != nil {
		genArgs := []string{"--data", *data}
		if *quick {
			genArgs = append(genArgs, "--quick")
		}
		if err := runGen(ctx, genArgs); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
	}
	// Each run starts from a clean results directory, so the report never
	// mixes parts of two runs.
	if err := os.RemoveAll(*out); err != nil {
		return err
	}
	var failed []string
	for _, part := range allParts {
		run, ok := commands[part]
		if !ok {
			fmt.Fprintf(os.Stderr, "parley-bench all: no %q part in this build, skipped\n", part)
			continue
		}
		fmt.Fprintf(os.Stderr, "parley-bench all: %s (%s so far)\n", part, time.Since(start).Round(time.Second))
		if err := run(ctx, common); err != nil {
			if ctx.Err() != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "parley-bench all: %s failed: %v\n", part, err)
			failed = append(failed, part)
		}
	}
	file := "BENCHMARKS.md"
	if *quick {
		file = filepath.Join(filepath.Dir(*out), "BENCHMARKS.md")
	}
	if err := runReport(ctx, []string{"--out", *out, "--file", file, "--data", *data}); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "parley-bench all: wrote %s in %s\n", file, time.Since(start).Round(time.Second))
	if len(failed) > 0 {
		return fmt.Errorf("parts failed: %v (their errors are in %s)", failed, file)
	}
	return nil
}
