#!/usr/bin/env bash
# compare.sh: otlp-arrow against the OpenTelemetry Collector, side by side on
# one machine, fed by the same load tool (`otlp-arrow bench`), measured in one
# run so the ratios hold. See docs/BENCHMARKS.md.
#
# It builds the Collector (bench/collector/builder-config.yaml: otlpreceiver,
# batchprocessor, fileexporter with zstd) and otlp-arrow into bench/.build/
# (git-ignored), then for each workload in WORKLOADS and each of its request
# sizes runs, one after the other: otlp-arrow end to end over OTLP/gRPC,
# otlp-arrow over Arrow Flight, and the Collector over OTLP/gRPC. The "sdk"
# workload (one service per request, as an instrumented service's SDK sends)
# runs every size in BATCHES; the "gateway" workload (a Collector gateway in
# front: requests of GATEWAY_BATCH spans across 20 services, several in
# flight per connection) runs GATEWAY_BATCH. CPU and RSS come from /proc/<pid> of the
# server process (the load tool's own CPU is reported apart); bytes on disk
# from the writer's counters and from the Collector's output directory.
#
# Environment (defaults in brackets):
#   WORKLOADS ["sdk gateway"]                   GATEWAY_BATCH [8192]
#   BATCHES ["100 1000"]  rows per request      SIGNAL [traces]
#   DURATION [20s]  WARMUP [3s]                 RATE [0] rows/s, 0 = full speed
#   CONNECTIONS [2] WORKERS [8]                 COLLECTOR_FORMAT [proto] or json
#   BUILD_DIR [bench/.build]                    OTLP_ARROW_ENV extra env for `run`,
#                                               e.g. "OTLP_BUS_SYNC_INTERVAL=1s"
#   BENCH ["$BUILD_DIR/otlp-arrow bench"]       the load tool command
#   HALF [1]  also run otlp-arrow over OTLP/gRPC at half the rows/s of its
#             full-speed run, for the p99-at-half-throughput target (0: skip)
#   PARQUET [1]  also run otlp-arrow over OTLP/gRPC writing Parquet files
#             (writer.format: parquet), for the disk target (0: skip)
#   PROFILE [0]  seconds of CPU profile to take from otlp-arrow (admin
#             /debug/pprof) during each full-speed OTLP/gRPC run, into the
#             results as <run>.cpu.prof, with `go tool pprof -top` beside it
#   OTLP_ARROW_BIN  an otlp-arrow binary to measure instead of building
#             this tree's (e.g. an older commit's, for before/after runs)
#   PORT_OFFSET [0]  added to every port below, so that two runs on one
#             machine (two worktrees) do not answer each other's load
# Needs go, jq and curl. Ports 24317-24319, 28080, 25317-25318 on loopback.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/bench/.build}
WORKLOADS=${WORKLOADS:-"sdk gateway"}
BATCHES=${BATCHES:-"100 1000"}
GATEWAY_BATCH=${GATEWAY_BATCH:-8192}
SIGNAL=${SIGNAL:-traces}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}
RATE=${RATE:-0}
CONNECTIONS=${CONNECTIONS:-2}
WORKERS=${WORKERS:-8}
FORMAT=${COLLECTOR_FORMAT:-proto}
OTLP_ARROW_ENV=${OTLP_ARROW_ENV:-}
HALF=${HALF:-1}
PARQUET=${PARQUET:-1}
PROFILE=${PROFILE:-0}
OFF=${PORT_OFFSET:-0}
P_GRPC=$((24317 + OFF)) P_FLIGHT=$((24318 + OFF)) P_HTTP=$((24319 + OFF)) P_ADMIN=$((28080 + OFF))
P_COL_GRPC=$((25317 + OFF)) P_COL_HTTP=$((25318 + OFF))
METRICS=http://127.0.0.1:$P_ADMIN/metrics
BIN=${OTLP_ARROW_BIN:-$BUILD/otlp-arrow}
BENCH=${BENCH:-"$BUILD/otlp-arrow bench"}
RESULTS=$BUILD/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BUILD/bin" "$RESULTS"

log() { echo "compare: $*" >&2; }

build_collector() {
	local dist=$BUILD/otelcol-bench
	if [ -x "$dist/otelcol-bench" ]; then return; fi
	log "building the Collector into $dist"
	GOWORK=off GOFLAGS= GOBIN=$BUILD/bin go install go.opentelemetry.io/collector/cmd/builder@v0.165.0
	sed "s#^  output_path: .*#  output_path: $dist#" "$ROOT/bench/collector/builder-config.yaml" >"$BUILD/builder-config.yaml"
	# The contrib fileexporter's test-only dependency otlpencodingextension
	# is not served by every proxy: generate (the builder's own `go mod tidy`
	# fails on it after writing go.mod), tidy tolerating it, build.
	GOWORK=off GOFLAGS= "$BUILD/bin/builder" --config "$BUILD/builder-config.yaml" --skip-compilation ||
		[ -f "$dist/go.mod" ] || { log "the Collector builder wrote no go.mod in $dist"; return 1; }
	(cd "$dist" && GOWORK=off GOFLAGS= go mod tidy -e)
	GOWORK=off GOFLAGS= "$BUILD/bin/builder" --config "$BUILD/builder-config.yaml" --skip-generate --skip-get-modules
}

build_otlp_arrow() {
	# the load tool is this tree's even when OTLP_ARROW_BIN is measured
	log "building otlp-arrow (measuring $BIN)"
	(cd "$ROOT/deploy" && go build -o "$BUILD/otlp-arrow" ./cmd/otlp-arrow)
}

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

wait_free() { # host port...: until nothing listens there (another run's process may be exiting)
	local h=$1
	shift
	for p in "$@"; do
		for _ in $(seq 1 300); do
			if ! (exec 3<>"/dev/tcp/$h/$p") 2>/dev/null; then break; fi
			sleep 0.1
		done
	done
}

start_otlp_arrow() { # dir [extra env]
	wait_free 127.0.0.1 $P_GRPC $P_FLIGHT $P_HTTP $P_ADMIN
	rm -rf "$1" && mkdir -p "$1"
	local dir=$1
	shift
	# shellcheck disable=SC2086
	env -u OTLP_ARROW_ENV -u OTLP_ARROW_BIN "$@" OTLP_OUTPUT_DIR="$dir/out" OTLP_DATA_DIR="$dir/data" OTLP_PROTOBUF_PORT=$P_GRPC OTLP_HTTP_PORT=$P_HTTP \
		OTLP_ARROW_FLIGHT_PORT=$P_FLIGHT OTLP_ADMIN_PORT=$P_ADMIN OTLP_NATS_PORT=0 OTLP_JANITOR_ENABLED=false \
		OTLP_ADMIN_PPROF=true $OTLP_ARROW_ENV "$BIN" run >"$dir/run.log" 2>&1 &
	PID=$!
	wait_port 127.0.0.1 $P_GRPC
	wait_port 127.0.0.1 $P_ADMIN
}

start_collector() { # dir
	wait_free 127.0.0.1 $P_COL_GRPC $P_COL_HTTP
	rm -rf "$1" && mkdir -p "$1/out"
	OTELCOL_GRPC_ENDPOINT=127.0.0.1:$P_COL_GRPC OTELCOL_HTTP_ENDPOINT=127.0.0.1:$P_COL_HTTP OTELCOL_OUTPUT="$1/out" OTELCOL_FORMAT=$FORMAT \
		"$BUILD/otelcol-bench/otelcol-bench" --config "$ROOT/bench/collector/config.yaml" >"$1/collector.log" 2>&1 &
	PID=$!
	wait_port 127.0.0.1 $P_COL_GRPC
}

load() { # name protocol endpoint batch [extra bench flags]; WORKLOAD sdk or gateway
	local name=$1 proto=$2 endpoint=$3 batch=$4
	shift 4
	log "$name: $WORKLOAD workload, $proto $SIGNAL, $batch rows/request (loadavg $(cut -d' ' -f1 /proc/loadavg))"
	# shellcheck disable=SC2086
	$BENCH -label "$name" -workload "$WORKLOAD" -protocol "$proto" -endpoint "$endpoint" -signal "$SIGNAL" \
		-batch "$batch" -connections "$CONNECTIONS" -workers "$WORKERS" -rate "$RATE" \
		-duration "$DURATION" -warmup "$WARMUP" -pid "$PID" -json "$RESULTS/$name.json" "$@"
}

# RUNS holds "workload batch suffix" per run: a run's files are
# <target>-<suffix>.json, e.g. otlp-arrow-grpc-100, collector-grpc-gateway-8192.
RUNS=()
for w in $WORKLOADS; do
	case $w in
	sdk) for b in $BATCHES; do RUNS+=("sdk $b $b"); done ;;
	gateway) RUNS+=("gateway $GATEWAY_BATCH gateway-$GATEWAY_BATCH") ;;
	*) log "unknown workload $w (want sdk or gateway)" && exit 2 ;;
	esac
done

build_collector
build_otlp_arrow
log "results in $RESULTS"
# profile name: a CPU profile of otlp-arrow from the middle of a run
# (PROFILE seconds, from 3 s after the warm-up, which starts when the first
# rows arrive), in the background.
PROF_PID=""
profile() {
	PROF_PID=""
	if [ "$PROFILE" = 0 ]; then return; fi
	(
		for _ in $(seq 1 600); do
			if curl -sf "$METRICS" | grep -q '^otlp_arrow_ingest_rows_received_total.* [1-9]'; then break; fi
			sleep 0.5
		done
		sleep "$((${WARMUP%s} + 3))"
		curl -sf -o "$RESULTS/$1.cpu.prof" "http://127.0.0.1:$P_ADMIN/debug/pprof/profile?seconds=$PROFILE" &&
			go tool pprof -top -nodecount 40 "$BIN" "$RESULTS/$1.cpu.prof" >"$RESULTS/$1.cpu.top" 2>/dev/null
	) &
	PROF_PID=$!
}

for run in "${RUNS[@]}"; do
	read -r WORKLOAD b sfx <<<"$run"
	start_otlp_arrow "$BUILD/run/otlp-arrow"
	profile "otlp-arrow-grpc-$sfx"
	load "otlp-arrow-grpc-$sfx" grpc 127.0.0.1:$P_GRPC "$b" -metrics-url "$METRICS"
	if [ -n "$PROF_PID" ]; then wait "$PROF_PID" || log "no profile of otlp-arrow-grpc-$sfx"; fi
	stop
	if [ "$HALF" = 1 ] && [ "$RATE" = 0 ]; then
		half=$(jq '.rows_per_second/2|floor' "$RESULTS/otlp-arrow-grpc-$sfx.json")
		start_otlp_arrow "$BUILD/run/otlp-arrow"
		RATE=$half load "otlp-arrow-grpc-$sfx-half" grpc 127.0.0.1:$P_GRPC "$b" -metrics-url "$METRICS"
		stop
	fi
	if [ "$PARQUET" = 1 ]; then
		start_otlp_arrow "$BUILD/run/otlp-arrow" OTLP_WRITER_FORMAT=parquet
		load "otlp-arrow-grpc-$sfx-parquet" grpc 127.0.0.1:$P_GRPC "$b" -metrics-url "$METRICS"
		stop
	fi
	start_otlp_arrow "$BUILD/run/otlp-arrow"
	load "otlp-arrow-flight-$sfx" flight 127.0.0.1:$P_FLIGHT "$b" -metrics-url "$METRICS"
	stop
	start_collector "$BUILD/run/collector"
	load "collector-grpc-$sfx" grpc 127.0.0.1:$P_COL_GRPC "$b" -disk-dir "$BUILD/run/collector/out" -settle 3s
	stop
done

echo
printf '%-36s %10s %9s %9s %12s %9s %11s %8s %s\n' run rows/s p50_ms p99_ms cpu_s/Mrows rss_MiB disk_B/row otlp_B errors
for f in "$RESULTS"/*.json; do
	jq -r '[.config.label, (.rows_per_second|floor), .latency_ms.p50, .latency_ms.p99,
		(.processes_total.cpu_seconds_per_million_rows*100|round/100),
		(.processes_total.rss_bytes_max/1048576|floor),
		((.target.disk_bytes_per_row // .disk_bytes_per_row // 0)*10|round/10),
		(.otlp_bytes_per_row*10|round/10),
		((.errors // {}) | to_entries | map("\(.key)=\(.value)") | join(","))] | @tsv' "$f"
done | while IFS=$'\t' read -r name rps p50 p99 cpu rss disk otlp errs; do
	printf '%-36s %10s %9s %9s %12s %9s %11s %8s %s\n' "$name" "$rps" "$p50" "$p99" "$cpu" "$rss" "$disk" "$otlp" "$errs"
done

# jq definitions of the ratios below: CPU seconds per million rows, bytes on
# disk per row (the writer's counters, or the Collector's directory growth).
JQ_DEFS='def cpu(x): x.processes_total.cpu_seconds_per_million_rows;
	def disk(x): (x.target.disk_bytes_per_row // x.disk_bytes_per_row);'

echo
for run in "${RUNS[@]}"; do
	read -r w b sfx <<<"$run"
	jq -rn --slurpfile o "$RESULTS/otlp-arrow-grpc-$sfx.json" --slurpfile f "$RESULTS/otlp-arrow-flight-$sfx.json" \
		--slurpfile c "$RESULTS/collector-grpc-$sfx.json" --arg b "$w $b" "$JQ_DEFS"'
		"\($b) rows/request: CPU per row otlp-arrow/Collector \((cpu($o[0])/cpu($c[0])*100|round/100))x, " +
		"rows/s otlp-arrow/Collector \(($o[0].rows_per_second/$c[0].rows_per_second*100|round/100))x, " +
		"Flight/Collector CPU per row \((cpu($f[0])/cpu($c[0])*100|round/100))x (Flight/OTLP-gRPC \((cpu($f[0])/cpu($o[0])*100|round/100))x), " +
		"disk per row otlp-arrow/Collector \((disk($o[0])/disk($c[0])*100|round/100))x, " +
		"RSS max \(($o[0].processes_total.rss_bytes_max/1048576|floor)) MiB"'
	if [ -f "$RESULTS/otlp-arrow-grpc-$sfx-parquet.json" ]; then
		jq -rn --slurpfile p "$RESULTS/otlp-arrow-grpc-$sfx-parquet.json" --slurpfile c "$RESULTS/collector-grpc-$sfx.json" --arg b "$w $b" "$JQ_DEFS"'
			"\($b) rows/request, Parquet files: disk per row otlp-arrow/Collector \((disk($p[0])/disk($c[0])*100|round/100))x (target <= 0.6), " +
			"CPU per row otlp-arrow/Collector \((cpu($p[0])/cpu($c[0])*100|round/100))x"'
	fi
	if [ -f "$RESULTS/otlp-arrow-grpc-$sfx-half.json" ]; then
		jq -rn --slurpfile h "$RESULTS/otlp-arrow-grpc-$sfx-half.json" --slurpfile o "$RESULTS/otlp-arrow-grpc-$sfx.json" --arg b "$w $b" "$JQ_DEFS"'
			"\($b) rows/request: p99 at half throughput (\($h[0].rows_per_second|floor) rows/s) \($h[0].latency_ms.p99) ms (target < 20), " +
			"CPU per row at half/full \((cpu($h[0])/cpu($o[0])*100|round/100))x (target <= 1)"'
	fi
done
