#!/usr/bin/env bash
# Runs every check of every workspace module: gofmt, go vet, go test -race,
# and a per-module build without the workspace (as a per-stage image builds).
set -euo pipefail
cd "$(dirname "$0")/.."
modules=$(go list -m -f '{{.Dir}}')

unformatted=$(gofmt -l $modules)
if [ -n "$unformatted" ]; then
	echo "gofmt: these files are not formatted:" >&2
	echo "$unformatted" >&2
	exit 1
fi

pkgs=$(for m in $modules; do echo "$m/..."; done)
go vet $pkgs
for m in $modules; do
	(cd "$m" && GOWORK=off go build ./...)
done

# The dashboard's browser tests drive Debian's chromium (headless): install it
# on a fresh machine, and make its absence a failure rather than a skip.
if [ ! -x /usr/bin/chromium ] && [ -z "${TEST_CHROMIUM:-}" ]; then
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	$sudo apt-get update
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
export TEST_BROWSER_REQUIRED=1

# deploy/pipeline's TestArrowJSReads reads the files and bus payloads with
# Arrow JS under node: install its pinned npm packages (package-lock.json),
# and make their absence a failure rather than a skip.
if [ ! -d deploy/pipeline/testdata/arrowjs/node_modules/apache-arrow ]; then
	npm ci --prefix deploy/pipeline/testdata/arrowjs --no-audit --no-fund
fi
export TEST_ARROWJS_REQUIRED=1

go test -race -timeout 20m "$@" $pkgs

# The Python package (python/): its C shared library is built once, then its
# tests run with the machine's python3 (standard library only), reading the
# files back through `otlp-arrow cat`.
pytmp=$(mktemp -d)
trap 'rm -rf "$pytmp"' EXIT
(cd python && go build -buildmode=c-shared -o "$pytmp/libotlp_arrow.so" .)
(cd deploy && go build -o "$pytmp/otlp-arrow" ./cmd/otlp-arrow)
(cd python && OTLP_ARROW_LIBRARY="$pytmp/libotlp_arrow.so" OTLP_ARROW_BIN="$pytmp/otlp-arrow" python3 -m unittest)
