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
go test -race -timeout 20m "$@" $pkgs
