package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The report part: BENCHMARKS.md from every part's stored results.

func runReport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "report the quick run (.cache/bench/quick)")
	out := fs.String("out", "", "results directory (default .cache/bench/results, quick: .cache/bench/quick/results)")
	data := fs.String("data", "", "data directory, for the data sizes (default .cache/bench/data, quick: .cache/bench/quick/data)")
	file := fs.String("file", "", "Markdown file to write (default BENCHMARKS.md, quick: .cache/bench/quick/BENCHMARKS.md)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	*data, *out = benchDirs(*data, *out, *quick)
	if *file == "" {
		*file = pick(*quick, ".cache/bench/quick/BENCHMARKS.md", "BENCHMARKS.md")
	}
	parts, err := readResults(*out)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("no results in %s: run parley-bench load (or all) first", *out)
	}
	m, _ := readManifest(*data) // the data section is left out if it is gone
	f, err := os.Create(*file + ".tmp")
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	writeReport(w, reportInput{Parts: parts, Manifest: m, Machine: thisMachine(ctx), Quick: *quick || strings.Contains(*out, "quick")})
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(*file+".tmp", *file)
}

// reportInput is everything the report shows.
type reportInput struct {
	Parts    []Results
	Manifest *Manifest
	Machine  machine
	Quick    bool
}

// machine describes where the run happened.
type machine struct {
	CPU, OS, Go, Commit string
	Cores               int
	RAMBytes            int64
	Date                time.Time
}

// sectionOrder is the order of the report's tables; other sections follow.
var sectionOrder = []string{"Flows", "Floor", "Tenants", "Live updates", "Soak"}

var sectionIntro = map[string]string{
	"Flows": "Each flow was driven at a fixed concurrency (requests in flight at once) for a fixed time, over loopback, " +
		"against a real `parley serve` with replication on, mostly on the large tenant. Throughput counts answers that were " +
		"right (status and content); an error is a wrong status, a failed request or a page missing what it must show. " +
		"The ratio is the flow's throughput divided by the bare handler's at the same page size (Floor table).",
	"Floor": "What this machine does with no application in the way, measured in the same run and driven the same way: " +
		"a bare Go `net/http` handler writing a fixed page of each flow's median size, and raw SQLite point lookups.",
}

func writeReport(w io.Writer, in reportInput) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("# Parley benchmarks\n\n")
	if in.Quick {
		p("> Quick run (`make bench-quick`): small data and short runs, for development. The committed figures come from `make bench`.\n\n")
	}
	p("These figures come from `cmd/parley-bench`, which builds a data set through Parley's own storage code, starts a real\n")
	p("`parley serve` on this machine and drives it over loopback. The client, the server and the floor share the machine's\n")
	p("cores, so a figure is what one machine does alone, client included.\n\n")
	p("**The floor.** Next to each flow the same run measures a bare Go `net/http` handler that writes a fixed page of the\n")
	p("same size, driven the same way. It is the most this machine can serve at that size with no routing, session,\n")
	p("database or template in the way. **Ratio** is the flow's throughput divided by that floor's: 0.25 means Parley keeps a\n")
	p("quarter of the bare HTTP capacity for that page. It makes figures comparable across machines and shows where the time\n")
	p("goes: a low ratio on a small page is app work, not network.\n\n")
	mc := in.Machine
	p("## Machine and run\n\n")
	p("| | |\n|---|---|\n")
	p("| CPU | %s, %d cores |\n", mc.CPU, mc.Cores)
	p("| RAM | %s |\n", gib(mc.RAMBytes))
	p("| OS | %s |\n", mc.OS)
	p("| Go | %s |\n", mc.Go)
	p("| Date | %s |\n", mc.Date.UTC().Format("2006-01-02 15:04 MST"))
	p("| Commit | %s |\n", mc.Commit)
	for _, r := range in.Parts {
		p("| Part `%s` | started %s, took %s |\n", r.Part, r.Started.UTC().Format("15:04:05"), (time.Duration(r.Duration * float64(time.Second))).Round(time.Second))
	}
	p("\nTo repeat: `make bench` (about an hour the first time: the large tenant's file is built once into `.cache/bench`),\n")
	p("or `make bench-quick` (under 3 minutes once cached; writes `.cache/bench/quick/BENCHMARKS.md`). One part alone:\n")
	p("`go run ./cmd/parley-bench load --duration 10s --concurrency 4`, then `go run ./cmd/parley-bench report`.\n\n")
	if m := in.Manifest; m != nil {
		writeData(w, m)
	}
	writeAims(w, in.Parts)
	rows := map[string][]Row{}
	var extra []string
	for _, r := range in.Parts {
		for _, row := range r.Rows {
			if !slices.Contains(sectionOrder, row.Section) && !slices.Contains(extra, row.Section) {
				extra = append(extra, row.Section)
			}
			rows[row.Section] = append(rows[row.Section], row)
		}
	}
	for _, sec := range append(slices.Clone(sectionOrder), extra...) {
		if len(rows[sec]) == 0 {
			continue
		}
		p("## %s\n\n", sec)
		if intro := sectionIntro[sec]; intro != "" {
			p("%s\n\n", intro)
		}
		writeTable(w, rows[sec])
	}
	var failed bool
	for _, r := range in.Parts {
		if len(r.Failures) == 0 {
			continue
		}
		if !failed {
			p("## Failures\n\nThe first failures of each kind, as the harness saw them.\n\n")
			failed = true
		}
		p("**%s**\n\n", r.Part)
		for _, f := range r.Failures {
			p("- %s\n", mdEscape(f))
		}
		p("\n")
	}
}

// writeData says what the data set holds and how long gen took.
func writeData(w io.Writer, m *Manifest) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("## Data\n\n")
	p("Made by `parley-bench gen` from seed %d through Parley's storage code: ", m.Seed)
	p("%s small workspaces of %d clients each (%d of them with chats too), and one large workspace of %s clients, "+
		"%s chats and %s messages and notes, with %d published help center articles.\n\n",
		thousands(len(m.Small)), m.Sizes["clients per small tenant"], m.Sizes["small tenants with chats"],
		thousands(int(m.Sizes["large tenant clients"])), thousands(int(m.Sizes["large tenant chats"])),
		thousands(int(m.Sizes["large tenant messages"])), m.Sizes["large tenant articles"])
	if b := m.Sizes["large tenant file bytes"]; b > 0 {
		p("The large workspace's SQLite file is %s.\n\n", gib(b))
	}
	if len(m.Steps) > 0 {
		p("| Step of gen | Time |\n|---|---:|\n")
		for _, s := range m.Steps {
			p("| %s | %s |\n", mdEscape(s.Name), (time.Duration(s.Seconds * float64(time.Second))).Round(100*time.Millisecond))
		}
		p("\nThe large workspace's file is built once and cached in `.cache/bench` (keyed by the schema), so a repeat run copies it.\n\n")
	}
}

// writeAims lists every row held to an aim, kept or missed.
func writeAims(w io.Writer, parts []Results) {
	var lines []string
	for _, r := range parts {
		for _, row := range r.Rows {
			if row.Aim == "" || row.Met == nil {
				continue
			}
			verdict := "**missed**"
			if *row.Met {
				verdict = "kept"
			}
			figure := ""
			if row.P99 > 0 {
				figure = fmt.Sprintf("p99 %s ms", num(row.P99))
			} else if row.Unit != "" {
				figure = num(row.Value) + " " + row.Unit
			}
			if row.Errors > 0 {
				figure += fmt.Sprintf(", %d errors", row.Errors)
			}
			lines = append(lines, fmt.Sprintf("| %s | %s | %s | %s |", mdEscape(row.Name), mdEscape(row.Aim), figure, verdict))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "## Aims\n\n| What | Aim | Measured | |\n|---|---|---|---|\n%s\n\n", strings.Join(lines, "\n"))
}

// writeTable writes one section's rows, with only the columns they use.
func writeTable(w io.Writer, rows []Row) {
	type col struct {
		head, align string
		has         func(Row) bool
		cell        func(Row) string
	}
	cols := []col{
		{"What", "---", func(Row) bool { return true }, func(r Row) string { return mdEscape(r.Name) }},
		{"Conc.", "---:", func(r Row) bool { return r.Concurrency > 0 }, func(r Row) string { return intOrBlank(r.Concurrency) }},
		{"Requests", "---:", func(r Row) bool { return r.Requests > 0 }, func(r Row) string { return thousandsOrBlank(r.Requests) }},
		{"Errors", "---:", func(r Row) bool { return r.Requests > 0 || r.Errors > 0 }, func(r Row) string {
			if r.Requests == 0 && r.Errors == 0 {
				return "" // a figure, not requests
			}
			return strconv.Itoa(r.Errors)
		}},
		{"Throughput /s", "---:", func(r Row) bool { return r.Throughput > 0 }, func(r Row) string { return numOrBlank(r.Throughput) }},
		{"p50 ms", "---:", func(r Row) bool { return r.P50 > 0 }, func(r Row) string { return numOrBlank(r.P50) }},
		{"p99 ms", "---:", func(r Row) bool { return r.P99 > 0 }, func(r Row) string { return numOrBlank(r.P99) }},
		{"Value", "---:", func(r Row) bool { return r.Unit != "" }, func(r Row) string {
			if r.Unit == "" {
				return ""
			}
			return num(r.Value) + " " + r.Unit
		}},
		{"Ratio to floor", "---:", func(r Row) bool { return r.Ratio > 0 }, func(r Row) string { return numOrBlank(r.Ratio) }},
		{"Aim", "---", func(r Row) bool { return r.Aim != "" }, func(r Row) string {
			switch {
			case r.Aim == "":
				return ""
			case r.Met == nil:
				return mdEscape(r.Aim)
			case *r.Met:
				return mdEscape(r.Aim) + ": kept"
			}
			return mdEscape(r.Aim) + ": **missed**"
		}},
		{"Notes", "---", func(r Row) bool { return r.Note != "" || r.Floor != "" }, func(r Row) string {
			n := mdEscape(r.Note)
			if r.Floor != "" {
				n = strings.TrimSpace(n + " (floor: " + mdEscape(r.Floor) + ")")
			}
			return n
		}},
	}
	var use []col
	for _, c := range cols {
		if slices.ContainsFunc(rows, c.has) {
			use = append(use, c)
		}
	}
	var head, align []string
	for _, c := range use {
		head, align = append(head, c.head), append(align, c.align)
	}
	fmt.Fprintf(w, "| %s |\n|%s|\n", strings.Join(head, " | "), strings.Join(align, "|"))
	for _, r := range rows {
		cells := make([]string, len(use))
		for i, c := range use {
			cells[i] = c.cell(r)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	fmt.Fprintln(w)
}

// num prints a figure with three significant digits at most (and no
// trailing zeros), thousands separated.
func num(f float64) string {
	switch a := max(f, -f); {
	case a >= 1000:
		return thousands(int(f + 0.5))
	case a >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(f, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(f, 'f', 2, 64)
	}
	return strconv.FormatFloat(f, 'f', 3, 64)
}

func numOrBlank(f float64) string {
	if f == 0 {
		return ""
	}
	return num(f)
}

func intOrBlank(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func thousandsOrBlank(n int) string {
	if n == 0 {
		return ""
	}
	return thousands(n)
}

func gib(b int64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

// mdEscape keeps a cell's text from breaking the table.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// cpuCount is how many cores this machine has.
func cpuCount() int { return runtime.NumCPU() }

// thisMachine reads the CPU, RAM and OS from /proc and /etc, and the
// commit from git (marked +dirty when a tracked file other than
// BENCHMARKS.md, which the run itself rewrites, differs from it).
func thisMachine(ctx context.Context) machine {
	mc := machine{CPU: "unknown", OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(), Cores: cpuCount(),
		Date: time.Now(), Commit: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				mc.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(rest); len(f) > 0 {
					kb, _ := strconv.ParseInt(f[0], 10, 64)
					mc.RAMBytes = kb << 10
				}
			}
		}
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PRETTY_NAME="); ok {
				mc.OS = strings.Trim(v, `"`)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		mc.OS += ", Linux " + strings.TrimSpace(string(b))
	}
	if out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		mc.Commit = strings.TrimSpace(string(out))
		if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no",
			"--", ".", ":(exclude)BENCHMARKS.md").Output(); err == nil && len(strings.TrimSpace(string(st))) > 0 {
			mc.Commit += "+dirty"
		}
	}
	return mc
}
