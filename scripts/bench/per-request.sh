#!/usr/bin/env bash
# usage: scripts/bench/per-request.sh BIN [OP]   (env DUR=3 s)
# Counts, not timings (issue 15): store records read and getrandom calls per request of OP
# (default clock) over a wrk run against a fresh --demo server, 256 employees signed in.
# Steady on a shared machine where CPU times are not. Needs perf (linux-perf) for the syscall
# count; without it that column says n/a.
set -uo pipefail
exec 9>/tmp/gatehouse-bench.lock; flock 9
cd "$(dirname "$0")/../.."
BIN=$1; OP=${2:-clock}; DUR=${DUR:-3}; PORT=18310
W=$(mktemp -d /tmp/per-request.XXXX)
taskset -c 0 "$BIN" serve --state $W/state --listen 127.0.0.1:$PORT --demo >$W/server.log 2>&1 & P=$!
for k in $(seq 100); do curl -s -o /dev/null localhost:$PORT/healthz && break; sleep 0.1; done
python3 scripts/bench/setup.py "$BIN" "$W/state" http://127.0.0.1:$PORT "$W/creds.lua" --clockers 256 >/dev/null
load() { OP=$OP PATH_=/ CREDS=$W/creds.lua taskset -c 1 wrk -t2 -c64 -d$1s -s scripts/bench/wrk.lua http://127.0.0.1:$PORT/; }
reads() { curl -s localhost:$PORT/metrics | awk '/^gatehouse_store_records_read_total /{print $2}'; }
load 2 >/dev/null
r0=$(reads)
SP=
if command -v perf >/dev/null; then
  perf stat -e 'syscalls:sys_enter_getrandom' -p $P -o $W/stat -- sleep $((DUR + 1)) >/dev/null 2>&1 & SP=$!
  sleep 0.3
fi
load $DUR > $W/wrk 2>&1
[ -n "$SP" ] && wait $SP
r1=$(reads)
n=$(awk '/requests in/{print $1}' $W/wrk)
g=$(awk '/getrandom/{gsub(",","",$1); print $1}' $W/stat 2>/dev/null)
python3 - "$OP" "$n" "$r0" "$r1" "${g:-}" <<'PY'
import sys
op, n, r0, r1, g = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
grand = f"{int(g)/n:.3f}" if g else "n/a"
print(f"{op}: {n} requests, records read per request {(r1-r0)/n:.2f}, getrandom per request {grand}")
PY
kill $P; wait 2>/dev/null; rm -rf $W
