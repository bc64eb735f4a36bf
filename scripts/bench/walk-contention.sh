#!/usr/bin/env bash
# Text searches that walk beside the hot reads (issue 15), apart from the full bench table:
#   scripts/bench/walk-contention.sh [BIN]
# Starts BIN (default the bench-profile build) on the demo estate pinned to CPU 0, fills tasks
# with Save Task for FILL seconds (default 6, about 15,000 tasks), then asks Attendance Today
# from 16 connections alone, and again while 16 more connections search the task list for a
# text no task holds (`q=zzz`: every search walks every task). Prints req/s, p50 and p99 of
# each. A measurement, not a test: nothing is asserted. Needs wrk (scripts/bench.sh installs it).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BIN=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/gatehouse}
PORT=${PORT:-18096}
DUR=${DUR:-8}
W=$(mktemp -d /tmp/gatehouse-walks.XXXXXX)
taskset -c 0 "$BIN" serve --state "$W/state" --listen 127.0.0.1:$PORT --demo >"$W/server.log" 2>&1 &
G=$!
trap 'kill $G 2>/dev/null; wait $G 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "localhost:$PORT/healthz" && break; sleep 0.1; done
python3 scripts/bench/setup.py "$BIN" "$W/state" "http://127.0.0.1:$PORT" "$W/creds.lua" --clockers 256 >/dev/null
OP=task_save CREDS=$W/creds.lua taskset -c 1 wrk -t2 -c64 -d"${FILL:-6}s" -s scripts/bench/wrk.lua \
  "http://127.0.0.1:$PORT" >/dev/null
r() {
  OP=$1 PATH_=${2:-/} CREDS=$W/creds.lua taskset -c 1 wrk -t1 -c16 -d"${DUR}s" --latency \
    -s scripts/bench/wrk.lua "http://127.0.0.1:$PORT" 2>&1 |
    awk -v n="$3" '/^Requests\/sec/{r=$2} $1=="50%"{p=$2} $1=="99%"{q=$2} END{printf "%-40s %9s req/s  p50 %8s  p99 %8s\n", n, r, p, q}'
}
python3 - "$W/creds.lua" "$PORT" <<'PY'
import re, sys, json, urllib.request
c = dict(re.findall(r'(\w+) = "?([^"\n]*)"?', open(sys.argv[1]).read()))
r = urllib.request.Request(f"http://127.0.0.1:{sys.argv[2]}/daily/v1/tasks?per_page=1", headers={
    "x-app-key": c["app_key"], "x-request-id": "walks-count", "authorization": "Bearer " + c["access"],
    "x-user-token": c["user_token"]})
print("tasks stored:", json.loads(urllib.request.urlopen(r).read())["data"]["total"])
PY
r today / "Attendance Today, alone"
r da_get "/daily/v1/tasks?q=zzz&per_page=20" "Get Task List q=zzz, beside" >"$W/search.txt" &
S=$!
sleep 0.5
r today / "Attendance Today, beside 16 searches"
wait $S
cat "$W/search.txt"
