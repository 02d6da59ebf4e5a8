#!/usr/bin/env bash
# make security: independent checkers over the whole module. Runs go vet,
# govulncheck, gosec and every fuzz target, reports each step's time, and
# exits 1 if any of them finds anything.
#
#   FUZZTIME   how long each fuzz target runs (default 5s)
#   GOVULNDB   a vulnerability database to use instead of the lookup below
#              (a URL, or file:///abs/path of an OSV directory)
set -uo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
MAKE=${MAKE:-make}

# The tools run with `go run pkg@version`: the version is pinned here and the
# module checksums are verified by the Go command, while go.mod stays the
# app's own. (A `tool` line would put the checkers' dependency graphs into
# the app's build list, where minimal version selection can raise the
# versions of modules Parley itself ships, such as golang.org/x/tools.)
GOVULNCHECK=golang.org/x/vuln/cmd/govulncheck@v1.9.0
GOSEC=github.com/securego/gosec/v2/cmd/gosec@v2.30.0

# Offline copies of the Go vulnerability database (OSV files), tried in order
# when vuln.go.dev cannot be reached: the shared folder next to the
# repository, and where it lives on Parley's build machines.
OFFLINE_VULNDBS=(../shared/vulndb /work/shared/vulndb)

# gosec rules turned off for the whole codebase, each with its reason. A false
# positive on one line is excluded at that line instead, with
# `// #nosec G### -- why` (the run below refuses a #nosec without both).
GOSEC_EXCLUDE=(
	# G104 (unchecked errors): every unchecked call here is a deliberate
	# best-effort cleanup on a path that already returns an error (Close,
	# os.Remove of a temporary file, Rollback, a directory Sync) or a write to
	# an http.ResponseWriter whose client has gone; there is nothing to do
	# with those errors, and `_ =` on each would be noise.
	G104
	# G304 (file path from a variable): the rule flags every open of a path
	# that is not a constant, and Parley opens only paths under its data
	# directory or given on its command line. G703 stays on: it follows
	# request input into file paths, which is the attack G304 stands for.
	G304
)

# gosec rules turned off for some files only, as path-regex:rules.
GOSEC_EXCLUDE_PATHS=(
	# The data generators build fixtures reproducibly from a seed: math/rand
	# is the point (G404), and the integer conversions reinterpret seeds and
	# pick from short tables (G115).
	'tenantdb/(chat|client)gen\.go:G404,G115'
	# parley-bench is a developer load tool run on one's own machine: it
	# builds and runs the parley binary (G204), reads and writes files the
	# operator names with ordinary modes (G302, G306), answers as a fake
	# provider (G705), and draws load from seeded generators (G404, G115).
	'cmd/parley-bench/:G204,G302,G306,G705,G404,G115'
)

failed=()
summary=()

# step NAME CMD... runs one checker and records its time and outcome.
step() {
	local name=$1 start rc
	shift
	echo "== $name"
	start=$(date +%s)
	"$@"
	rc=$?
	local took=$(($(date +%s) - start))
	if [ "$rc" -eq 0 ]; then
		summary+=("ok    $name (${took}s)")
	else
		summary+=("FAIL  $name (${took}s)")
		failed+=("$name")
	fi
}

# vulndb prints the database govulncheck should use: GOVULNDB if set, the
# network database if it answers, else the offline copy.
vulndb() {
	if [ -n "${GOVULNDB:-}" ]; then
		echo "$GOVULNDB"
	elif curl -fsS --max-time 10 -o /dev/null https://vuln.go.dev/index/db.json.gz 2>/dev/null; then
		echo "https://vuln.go.dev"
	else
		local dir
		for dir in "${OFFLINE_VULNDBS[@]}"; do
			if [ -d "$dir" ]; then
				echo "file://$(cd "$dir" && pwd)"
				return 0
			fi
		done
		return 1
	fi
}

govulncheck() {
	local db
	if ! db=$(vulndb); then
		echo "govulncheck: vuln.go.dev cannot be reached and there is no offline copy at ${OFFLINE_VULNDBS[*]}" >&2
		echo "(set GOVULNDB=file:///path/to/osv-dir to use another)" >&2
		return 1
	fi
	echo "database: $db"
	# Exits 3 when a vulnerability is reachable from our code; modules we
	# require but whose vulnerable code we never call are listed, not failed.
	$GO run "$GOVULNCHECK" -db "$db" ./...
}

gosec() {
	local exclude
	exclude=$(IFS=,; echo "${GOSEC_EXCLUDE[*]}")
	local paths
	paths=$(IFS=';'; echo "${GOSEC_EXCLUDE_PATHS[*]}")
	# Generated code (views/**/*_templ.go) is scanned too: it has no finding.
	$GO run "$GOSEC" -quiet -color=false \
		-nosec-require-rules -nosec-require-justification \
		-exclude="$exclude" -exclude-rules="$paths" ./...
}

step "go vet" $GO vet ./...
step "govulncheck" govulncheck
step "gosec" gosec
# Every route with another workspace's ids, sessions and tokens, every
# object of every kind, both ways (make test runs the short version).
step "cross-tenant probe" env PARLEY_PROBE=full $GO test -count=1 -run 'TestCrossTenantProbe' ./app/web
step "fuzz (FUZZTIME=${FUZZTIME:-5s} each)" $MAKE --no-print-directory fuzz

echo
echo "== make security"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
	echo "failed: ${failed[*]}"
	exit 1
fi
