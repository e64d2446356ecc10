#!/usr/bin/env bash
# contract.sh: the bus contract's choices side by side in one run (issue 19):
# messages of one service each (bus.per_service_messages, contract 1's
# layout) against messages across services, and the payload compressions
# none, lz4 and zstd. Each variant runs otlp-arrow end to end over OTLP/gRPC
# fed by the load tool (`otlp-arrow bench`, WORKLOAD sdk: one service per
# request, 8 services, WORKERS requests in flight), one variant after the
# other, ROUNDS times in turn. Besides the load tool's figures it reads the
# target's /metrics after each run: bus messages per request and payload
# bytes per message (otlp_arrow_publish_message_bytes). See docs/BENCHMARKS.md.
#
# Environment (defaults in brackets):
#   BATCH [100] rows per request   WORKLOAD [sdk] or gateway   SIGNAL [traces]
#   DURATION [20s] WARMUP [3s]     CONNECTIONS [2] WORKERS [8] ROUNDS [1]
#   VARIANTS [below]: <per-service|mixed>-<none|lz4|zstd>[-pt], -pt with the
#     writer's pass-through (its files compressed as the bus payloads)
#   BUILD_DIR [bench/.build]        REPORT_DIR: only print the table of an earlier run
# Needs go, jq and curl. Ports 24317-24319 and 28080 on loopback.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/bench/.build}
BATCH=${BATCH:-100}
WORKLOAD=${WORKLOAD:-sdk}
SIGNAL=${SIGNAL:-traces}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}
CONNECTIONS=${CONNECTIONS:-2}
WORKERS=${WORKERS:-8}
ROUNDS=${ROUNDS:-1}
VARIANTS=${VARIANTS:-"per-service-none per-service-lz4 mixed-none mixed-lz4 mixed-zstd"}
RESULTS=$BUILD/results/contract-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"

log() { echo "contract: $*" >&2; }

env_of() { # variant <layout>-<compression>[-pt] -> environment of `run`
	case $1 in
	per-service-*) echo -n "OTLP_BUS_PER_SERVICE_MESSAGES=true " ;;
	mixed-*) echo -n "OTLP_BUS_PER_SERVICE_MESSAGES=false " ;;
	*) log "unknown variant $1" && exit 2 ;;
	esac
	local comp=${1%-pt}
	comp=${comp##*-}
	# -pt: the writer appends large enough batches compressed as its files as they are
	if [ "$comp" != "${1##*-}" ]; then echo -n "OTLP_WRITER_PASSTHROUGH=true OTLP_WRITER_COMPRESSION=$comp "; fi
	echo "OTLP_BUS_PAYLOAD_COMPRESSION=$comp"
}

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

metric() { # file name: the sum of the samples of one metric
	awk -v n="$2" '$1 ~ "^"n"([{]|$)" {s += $2} END {printf "%.0f\n", s}' "$1"
}

report() { # results dir: one line per run
	printf '%-22s %9s %12s %8s %9s %10s %8s %7s\n' run rows/s cpu_s/Mrows p99_ms msgs/req bytes/msg rss_MiB load
	for f in "$1"/*.json; do
		name=$(basename "$f" .json)
		m=$1/$name.metrics
		msgs=$(metric "$m" otlp_arrow_publish_message_bytes_count)
		bytes=$(metric "$m" otlp_arrow_publish_message_bytes_sum)
		rows=$(metric "$m" otlp_arrow_ingest_rows_received_total)
		jq -r --arg msgs "$msgs" --arg bytes "$bytes" --arg rows "$rows" --arg batch "$BATCH" --arg load "$(cat "$1/$name.loadavg")" '
			[.config.label, (.rows_per_second|floor),
			(.processes_total.cpu_seconds_per_million_rows*100|round/100), .latency_ms.p99,
			(($msgs|tonumber) / (($rows|tonumber) / ($batch|tonumber)) * 1000 | round / 1000),
			(if ($msgs|tonumber) > 0 then ($bytes|tonumber) / ($msgs|tonumber) | floor else 0 end),
			(.processes_total.rss_bytes_max/1048576|floor), $load] | @tsv' "$f"
	done | while IFS=$'\t' read -r name rps cpu p99 mpr bpm rss load; do
		printf '%-22s %9s %12s %8s %9s %10s %8s %7s\n' "$name" "$rps" "$cpu" "$p99" "$mpr" "$bpm" "$rss" "$load"
	done
}

if [ -n "${REPORT_DIR:-}" ]; then
	report "$REPORT_DIR"
	exit 0
fi
log "building otlp-arrow"
(cd "$ROOT/deploy" && go build -o "$BUILD/otlp-arrow" ./cmd/otlp-arrow)
log "results in $RESULTS"
for round in $(seq 1 "$ROUNDS"); do
	for v in $VARIANTS; do
		dir=$BUILD/run/contract
		rm -rf "$dir" && mkdir -p "$dir"
		# shellcheck disable=SC2046
		env $(env_of "$v") OTLP_OUTPUT_DIR="$dir/out" OTLP_DATA_DIR="$dir/data" OTLP_PROTOBUF_PORT=24317 \
			OTLP_HTTP_PORT=24319 OTLP_ARROW_FLIGHT_PORT=24318 OTLP_ADMIN_PORT=28080 OTLP_NATS_PORT=0 \
			OTLP_JANITOR_ENABLED=false "$BUILD/otlp-arrow" run >"$dir/run.log" 2>&1 &
		PID=$!
		wait_port 127.0.0.1 24317
		wait_port 127.0.0.1 28080
		name=$v-$round
		log "$name: $WORKLOAD workload, $BATCH rows/request (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
		"$BUILD/otlp-arrow" bench -label "$name" -workload "$WORKLOAD" -protocol grpc -endpoint 127.0.0.1:24317 \
			-signal "$SIGNAL" -batch "$BATCH" -connections "$CONNECTIONS" -workers "$WORKERS" -duration "$DURATION" \
			-warmup "$WARMUP" -pid "$PID" -metrics-url http://127.0.0.1:28080/metrics -quiet -json "$RESULTS/$name.json"
		curl -fsS http://127.0.0.1:28080/metrics >"$RESULTS/$name.metrics"
		stop
		echo "$(cut -d' ' -f1 /proc/loadavg)" >"$RESULTS/$name.loadavg"
	done
done

report "$RESULTS"
