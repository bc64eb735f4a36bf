#!/usr/bin/env bash
# usage: scripts/bench/ab-cpu.sh BIN_A BIN_B   (env OPS="today clock", ROUNDS=8, DUR=2 s, PRE=op to run first)
# A/B CPU µs per request and req/s (issue 15): two binaries served side by side (both pinned to CPU 0),
# rounds alternating between them, medians printed. A B: binaries. OPS, ROUNDS, DUR.
set -uo pipefail
# One bench at a time on a shared machine.
exec 9>/tmp/gatehouse-bench.lock; flock 9
cd "$(dirname "$0")/../.."
A=$1; B=$2; ROUNDS=${ROUNDS:-8}; DUR=${DUR:-2}; TCK=$(getconf CLK_TCK)
W=$(mktemp -d /tmp/ab.XXXX)
declare -A PID PORT
i=0
for x in A B; do
  bin=${!x}; port=$((18200 + i)); i=$((i+1)); PORT[$x]=$port
  mkdir -p $W/$x
  taskset -c 0 $bin serve --state $W/$x/state --listen 127.0.0.1:$port --demo >$W/$x/server.log 2>&1 & PID[$x]=$!
  for k in $(seq 100); do curl -s -o /dev/null localhost:$port/healthz && break; sleep 0.1; done
  python3 scripts/bench/setup.py "$bin" "$W/$x/state" http://127.0.0.1:$port "$W/$x/creds.lua" --clockers ${CLOCKERS:-256} >/dev/null
  [ -n "${PRE:-}" ] && OP=$PRE PATH_=/ CREDS=$W/$x/creds.lua taskset -c 1 wrk -t2 -c64 -d${PRE_DUR:-3}s -s scripts/bench/wrk.lua http://127.0.0.1:$port/ >/dev/null
done
for op in ${OPS:-today}; do
  for x in A B; do : > $W/$x.$op; done
  for r in $(seq $ROUNDS); do
    for x in A B; do
      g=${PID[$x]}; port=${PORT[$x]}
      path=/; o=$op; [ $op = healthz ] && { o=get; path=/healthz; }
      t0=$(awk '{print $14+$15}' /proc/$g/stat)
      out=$(OP=$o PATH_=$path CREDS=$W/$x/creds.lua taskset -c 1 wrk -t2 -c64 -d${DUR}s -s scripts/bench/wrk.lua http://127.0.0.1:$port$path 2>&1)
      t1=$(awk '{print $14+$15}' /proc/$g/stat)
      n=$(echo "$out" | awk '/requests in/{print $1}')
      python3 -c "print(($t1-$t0)/$TCK*1e6/$n)" >> $W/$x.$op
      echo "$out" | awk '/Requests\/sec/{print $2}' >> $W/$x.$op.rps
    done
  done
  python3 - $W/A.$op $W/B.$op $op <<'PY'
import sys, statistics as s
a=[float(x) for x in open(sys.argv[1])]; b=[float(x) for x in open(sys.argv[2])]
print(f"{sys.argv[3]}: A median {s.median(a):.1f} µs/req (min {min(a):.1f}), B median {s.median(b):.1f} (min {min(b):.1f}), B/A {s.median(b)/s.median(a):.3f}")
ra=[float(x) for x in open(sys.argv[1]+".rps")]; rb=[float(x) for x in open(sys.argv[2]+".rps")]
print(f"{sys.argv[3]}: A median {s.median(ra):.0f} req/s, B median {s.median(rb):.0f} req/s, B/A {s.median(rb)/s.median(ra):.3f}")
PY
done
kill ${PID[A]} ${PID[B]}; wait 2>/dev/null; rm -rf $W
