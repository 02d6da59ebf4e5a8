#!/usr/bin/env bash
# Runs sqlmap against every form and API parameter of a running Parley:
# builds parley, starts `parley serve --demo` on a temporary data directory
# on 127.0.0.1, signs in as the demo admin, creates API tokens, and hands
# over to scripts/sqlmap.py, which lists the targets (the signed-in pages'
# forms and links, each route's path ids, every operation of openapi.json,
# and the public site), runs sqlmap on each and prints a summary. Exits 1
# if any parameter is injectable. Not part of CI: it takes a while.
#
#   SQLMAP_LEVEL, SQLMAP_RISK   sqlmap's --level/--risk (default 2 and 2)
#   SQLMAP_TESTS                a regex of sqlmap test titles to run (default: see TESTS in sqlmap.py)
#   SQLMAP_JOBS                 sqlmap processes at once (default 8)
#   SQLMAP_THREADS              --threads of each (default 4)
#   SQLMAP_ONLY                 a regex: test only targets whose name matches
#   PARLEY_BIN                  test this parley binary instead of building one
#   KEEP=1                      keep the temporary directory (logs, sqlmap output)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v sqlmap >/dev/null 2>&1; then
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq sqlmap >/dev/null
fi

tmp=$(mktemp -d -t parley-sqlmap.XXXXXX)
server=""
cleanup() {
	if [ -n "$server" ]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
	if [ "${KEEP:-}" = 1 ]; then
		echo "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

if [ -n "${PARLEY_BIN:-}" ]; then
	cp "$PARLEY_BIN" "$tmp/parley" # a binary built elsewhere (the planted-injection check uses this)
else
	echo "building parley"
	go build -o "$tmp/parley" ./cmd/parley
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data="$tmp/data"
# X-Forwarded-For is trusted here so that sqlmap's requests can each come
# from their own address (its xforwardedfor tamper): the per-address rate
# limits of the sign-in and public forms would otherwise answer 429 before
# the code under test runs.
"$tmp/parley" serve --demo --data "$data" --addr "127.0.0.1:$port" --admin-addr "" --base-domain "localhost:$port" \
	--client-ip-header X-Forwarded-For --log-level error >"$tmp/server.log" 2>&1 &
server=$!
for _ in $(seq 1 300); do
	curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
	kill -0 "$server" 2>/dev/null || { echo "parley serve exited:"; cat "$tmp/server.log"; exit 1; }
	sleep 0.2
done
[ -s "$data/demo-login.txt" ] || { echo "no $data/demo-login.txt"; cat "$tmp/server.log"; exit 1; }

# demo-login.txt reads "email / password".
login=$(cat "$data/demo-login.txt")
email=${login%% / *}
password=${login#* / }
# Two admin tokens: one the API tests use, one the token-revoke form may revoke.
token=$("$tmp/parley" token create --data "$data" --tenant demo --name sqlmap --role admin)
spare=$("$tmp/parley" token create --data "$data" --tenant demo --name sqlmap-spare --role admin)

PYTHONDONTWRITEBYTECODE=1 python3 scripts/sqlmap.py --port "$port" --host "demo.localhost:$port" --email "$email" --password "$password" \
	--token "$token" --spare-token "$spare" --work "$tmp/work" --routes app/web/routes.go --openapi app/web/openapi.json \
	--level "${SQLMAP_LEVEL:-2}" --risk "${SQLMAP_RISK:-2}" --jobs "${SQLMAP_JOBS:-8}" --threads "${SQLMAP_THREADS:-4}" \
	--only "${SQLMAP_ONLY:-}" --tests "${SQLMAP_TESTS:-}"
