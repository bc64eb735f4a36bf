#!/usr/bin/env bash
# RSS per phase of the demo-estate rows of scripts/bench.sh http (issue 15), apart from the
# full table:   scripts/bench/demo-rss.sh [BIN]
# Starts BIN (default the bench-profile build) with `serve --demo` pinned to SERVER_CPU, then runs
# each op of OPS (scripts/bench/wrk.lua names) for DURATION s with CONNS connections from
# LOAD_CPU, and prints per phase: RSS before, peak during (VmHWM after clear_refs), after, the
# anonymous / file-backed split at the end (smaps_rollup), and the answers cache's bytes.
# ISOLATE=1 starts a fresh server for every op (what one op holds, without the earlier rows'
# data). LABOURERS=N (default 0) then imports N labourers into the running server's state and
# runs a Get Labor row with 32 connections (the 25 k × 32 case). A measurement, not a test.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/gatehouse}
OPS=${OPS:-healthz clock gatepass task_save labor faces today}
DUR=${DURATION:-8}
CONNS=${CONNS:-64}
SCPU=${SERVER_CPU:-0}
LCPU=${LOAD_CPU:-1}
PORT=${PORT:-18096}
LAB=${LABOURERS:-0}
WORK=$(mktemp -d /tmp/gatehouse-demo-rss.XXXXXX)
GPID=""
cleanup() { [ -n "$GPID" ] && kill "$GPID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$ROOT"
rss() { awk -v k="$2" '$1==k":" {printf "%.1f", $2/1024}' "/proc/$1/status"; }
rollup() { awk '$1=="Anonymous:"{a=$2} $1=="Rss:"{r=$2} END{printf "%.1f/%.1f", a/1024, (r-a)/1024}' "/proc/$1/smaps_rollup"; }
cached() { curl -s "localhost:$PORT/metrics" | awk '/^gatehouse_answers_cached_bytes/{printf "%.1f", $2/1048576}'; }

start() {
  rm -rf "$WORK/state"
  taskset -c "$SCPU" "$BIN" serve --state "$WORK/state" --listen "127.0.0.1:$PORT" --demo >"$WORK/server.log" 2>&1 &
  GPID=$!
  for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
  sleep 1
  echo "idle after start: $(rss "$GPID" VmRSS) MiB (anon/file $(rollup "$GPID"))"
  python3 scripts/bench/setup.py "$BIN" "$WORK/state" "http://127.0.0.1:$PORT" "$WORK/creds.lua" \
    --clockers $((CONNS * 4)) >/dev/null
  echo "after setup ($((CONNS * 4)) clockers): $(rss "$GPID" VmRSS) MiB"
}

# row OP [CONNS]
row() {
  local op=$1 conns=${2:-$CONNS} path=/ before out
  [ "$op" = healthz ] && path=/healthz
  [ "$op" = healthz ] && op=get
  before=$(rss "$GPID" VmRSS)
  echo 5 >"/proc/$GPID/clear_refs"
  out=$(OP=$op PATH_=$path CREDS=$WORK/creds.lua taskset -c "$LCPU" \
    wrk -t2 -c"$conns" -d"${DUR}s" --timeout 10s -s scripts/bench/wrk.lua "http://127.0.0.1:$PORT" 2>&1)
  printf '%-10s %5s conns %9s req/s  RSS before %5s  peak %5s  after %5s MiB  anon/file %s  answers cached %s MiB\n' \
    "${1}" "$conns" "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" "$before" "$(rss "$GPID" VmHWM)" \
    "$(rss "$GPID" VmRSS)" "$(rollup "$GPID")" "$(cached)"
}

[ "${ISOLATE:-}" ] || start
for op in $OPS; do
  if [ "${ISOLATE:-}" ]; then [ -n "$GPID" ] && kill "$GPID" && wait "$GPID" 2>/dev/null; start; fi
  row "$op"
done
if [ "$LAB" -gt 0 ]; then
  python3 - "$WORK/state/bench-labour.csv" "$LAB" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("lcode,name,fatherName,gender,musterfirmid,isHelper,ltype,displaycode\n")
    for i in range(int(sys.argv[2])):
        f.write(f"B{i:06},Pekerja {i},Ayah,F,1,{'T' if i % 5 == 0 else 'F'},R,M-B{i:06}\n")
PY
  before=$(rss "$GPID" VmRSS)
  echo 5 >"/proc/$GPID/clear_refs"
  "$BIN" import labour "$WORK/state/bench-labour.csv" --state "$WORK/state" --json >/dev/null
  sleep 1
  echo "import labour $LAB: RSS before $before  peak $(rss "$GPID" VmHWM)  after $(rss "$GPID" VmRSS) MiB  anon/file $(rollup "$GPID")"
  row labor 32
fi
kill "$GPID"; wait "$GPID" 2>/dev/null || true; GPID=""
