#!/usr/bin/env bash
# usage: scripts/bench/healthz-ratio.sh BIN [ROUNDS]   (issue 15: /healthz ≥ 0.8× the baseline)
# The warp hello-world (bench-hello) and BIN's /healthz served side by side on CPU 0, wrk on
# CPU 1, 3 s rounds alternating between them: one ratio per round, so a busy moment on this
# shared machine spoils one round, not the comparison. Needs target/release/bench-hello built
# with the same profile as BIN (`cargo build --release --features bench-tools --bin bench-hello`).
set -uo pipefail
exec 9>/tmp/gatehouse-bench.lock; flock 9
cd "$(dirname "$0")/../.."
BIN=$1; ROUNDS=${2:-6}; HELLO=${HELLO:-target/release/bench-hello}
W=$(mktemp -d /tmp/hz.XXXX)
taskset -c 0 "$HELLO" 127.0.0.1:18310 >/dev/null & H=$!
taskset -c 0 "$BIN" serve --state $W/state --listen 127.0.0.1:18311 --demo >/dev/null 2>&1 & G=$!
trap 'kill $H $G 2>/dev/null; wait 2>/dev/null; rm -rf $W' EXIT
for k in $(seq 100); do curl -s -o /dev/null localhost:18311/healthz && break; sleep 0.1; done
for i in $(seq "$ROUNDS"); do
  h=$(taskset -c 1 wrk -t2 -c64 -d3s http://127.0.0.1:18310/ | awk '/Requests\/sec/{print $2}')
  g=$(taskset -c 1 wrk -t2 -c64 -d3s http://127.0.0.1:18311/healthz | awk '/Requests\/sec/{print $2}')
  python3 -c "print('hello %.0f  /healthz %.0f  ratio %.3f' % ($h, $g, $g/$h))"
done | tee $W/rounds
python3 - $W/rounds <<'PY'
import sys, statistics as s
r=[float(l.split()[-1]) for l in open(sys.argv[1])]
print(f"median ratio {s.median(r):.3f} (min {min(r):.3f}, max {max(r):.3f}) over {len(r)} rounds")
PY
