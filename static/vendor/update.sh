#!/bin/sh
# Refresh the vendored htmx files from the npm registry.
# Not part of the build: the files it writes are committed as they are.
# Usage: static/vendor/update.sh            (re-fetch the pinned versions)
#        HTMX=2.0.11 SSE=2.2.4 static/vendor/update.sh   (pin other versions)
set -eu

HTMX="${HTMX:-2.0.11}"
SSE="${SSE:-2.2.4}"

here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT INT TERM

cd "$tmp"
npm pack --silent "htmx.org@$HTMX" "htmx-ext-sse@$SSE" >/dev/null
mkdir htmx sse
tar xzf "htmx.org-$HTMX.tgz" -C htmx
tar xzf "htmx-ext-sse-$SSE.tgz" -C sse

cp htmx/package/dist/htmx.min.js "$here/htmx.min.js"
cp sse/package/dist/sse.min.js "$here/htmx-ext-sse.js"
cp htmx/package/LICENSE "$here/htmx.LICENSE"
cp sse/package/LICENSE "$here/htmx-ext-sse.LICENSE"

sum() { sha256sum "$1" | cut -d' ' -f1; }
{
  echo "htmx.org@$HTMX dist/htmx.min.js sha256:$(sum "$here/htmx.min.js")"
  echo "htmx-ext-sse@$SSE dist/sse.min.js sha256:$(sum "$here/htmx-ext-sse.js")"
} > "$here/VERSIONS"

cat "$here/VERSIONS"
