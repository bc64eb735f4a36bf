#!/usr/bin/env bash
# Task text searches against a filled store (issue 15), apart from the full bench table:
#   scripts/bench/text-search.sh BIN [BIN_B]
# For each binary: starts it on the demo estate pinned to CPU 0, fills tasks named as an estate
# names them (wrk OP=task_named, FILL seconds, default 8), waits until a text indexer, if the
# binary has one, has caught up (gatehouse_task_text_pending 0: the trigram index measured at
# the tenth scale stop, branch experiment/task-text-index; main has none and is not waited
# for), then searches the task list from 16 connections for each text of QUERIES: one no task
# holds, a rare one, a common one, a phrase, one shorter than a trigram. Prints req/s, p50,
# p99 and the process's CPU µs per search. A measurement, not a test: nothing is asserted.
set -uo pipefail
exec 9>/tmp/gatehouse-bench.lock; flock 9
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DUR=${DUR:-5}
TCK=$(getconf CLK_TCK)
QUERIES=${QUERIES:-"zzz culvert block weeding%20block%201 zz"}
port=18120
for BIN in "$@"; do
  port=$((port + 1))
  W=$(mktemp -d /tmp/gatehouse-text.XXXXXX)
  taskset -c 0 "$BIN" serve --state "$W/state" --listen 127.0.0.1:$port --demo >"$W/server.log" 2>&1 &
  G=$!
  for _ in $(seq 100); do curl -s -o /dev/null "localhost:$port/healthz" && break; sleep 0.1; done
  python3 scripts/bench/setup.py "$BIN" "$W/state" "http://127.0.0.1:$port" "$W/creds.lua" --clockers 16 >/dev/null
  filled=$(OP=task_named CREDS=$W/creds.lua taskset -c 1 wrk -t2 -c64 -d"${FILL:-8}s" \
    -s scripts/bench/wrk.lua "http://127.0.0.1:$port" | awk '/requests in/{print $1}')
  if curl -s "localhost:$port/metrics" | grep -q '^gatehouse_task_text_pending '; then
    t0=$(date +%s.%N)
    while curl -s "localhost:$port/metrics" | grep -q '^gatehouse_task_text_pending [1-9]'; do sleep 0.1; done
    echo "== $BIN: $filled tasks saved; indexed $(python3 -c "print(round($(date +%s.%N)-$t0,1))") s after the fill"
  else
    echo "== $BIN: $filled tasks saved (no text indexer)"
  fi
  for q in $QUERIES; do
    c0=$(awk '{print $14+$15}' /proc/$G/stat)
    out=$(OP=da_get PATH_="/daily/v1/tasks?q=$q&per_page=20" CREDS=$W/creds.lua taskset -c 1 \
      wrk -t1 -c16 -d"${DUR}s" --latency -s scripts/bench/wrk.lua "http://127.0.0.1:$port" 2>&1)
    c1=$(awk '{print $14+$15}' /proc/$G/stat)
    echo "$out" | awk -v q="$q" -v c="$((c1 - c0))" -v t="$TCK" '
      /requests in/{n=$1} /^Requests\/sec/{r=$2} $1=="50%"{p=$2} $1=="99%"{x=$2}
      END{printf "q=%-20s %9s req/s  p50 %8s  p99 %8s  %9.0f CPU µs/search\n", q, r, p, x, c/t*1e6/n}'
  done
  curl -s "localhost:$port/metrics" | grep '^gatehouse_task_text' || true
  kill $G; wait $G 2>/dev/null; rm -rf "$W"
done
