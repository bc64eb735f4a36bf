#!/usr/bin/env bash
# usage: scripts/bench/replay.sh BIN_A BIN_B   (env OP=task_save, LOAD=30 s at most, LOG_MB=24, ROUNDS=3)
# A start after a crash (issue 15): BIN_A serves the demo estate on CPU 0 while wrk runs OP
# from 64 connections until its log holds LOG_MB (or LOAD seconds pass), then it is killed
# with -9, so the state holds most of a checkpoint's worth of log. Copies of that one crashed
# state are then started by A and B in turn, ROUNDS times each: seconds from the start to the
# first /healthz answer, the records the start replayed (its "write-ahead log replayed"), the
# CPU time the process used by then (steadier than the wall clock on a shared machine) and
# the RSS peak by then.
set -uo pipefail
exec 9>/tmp/gatehouse-bench.lock; flock 9
cd "$(dirname "$0")/../.."
A=$1; B=$2; OP=${OP:-task_save}; LOAD=${LOAD:-30}; ROUNDS=${ROUNDS:-3}
W=$(mktemp -d /tmp/replay.XXXX)
port=18290
taskset -c 0 $A serve --state $W/crashed --listen 127.0.0.1:$port --demo >$W/load.log 2>&1 & pid=$!
for k in $(seq 100); do curl -s -o /dev/null localhost:$port/healthz && break; sleep 0.1; done
python3 scripts/bench/setup.py "$A" "$W/crashed" http://127.0.0.1:$port "$W/creds.lua" --clockers 256 >/dev/null
OP=$OP PATH_=/ CREDS=$W/creds.lua taskset -c 1 wrk -t2 -c64 -d${LOAD}s -s scripts/bench/wrk.lua http://127.0.0.1:$port/ >$W/wrk.out 2>&1 & wrk=$!
# The kill comes once the log holds LOG_MB (a checkpoint empties it every 32 MiB or 60 s), or
# when the load ends.
wal=$(find $W/crashed -type d -name wal)
while kill -0 $wrk 2>/dev/null && [ $(du -sm $wal | cut -f1) -lt ${LOG_MB:-24} ]; do sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null; kill $wrk 2>/dev/null; wait $wrk 2>/dev/null
echo "log left by the crash: $(du -shc $(find $W/crashed -type d -name wal) | tail -1 | cut -f1), state $(du -sh $W/crashed | cut -f1)"
for r in $(seq $ROUNDS); do
  for x in A B; do
    bin=${!x}; rm -rf $W/run; cp -a $W/crashed $W/run
    t0=$(date +%s.%N)
    taskset -c 0 $bin serve --state $W/run --listen 127.0.0.1:$port --demo >$W/run.log 2>&1 & p=$!
    until curl -s -o /dev/null localhost:$port/healthz; do sleep 0.005; done
    t1=$(date +%s.%N)
    applied=$(grep 'log replayed' $W/run.log | grep -o 'applied[^0-9]*[0-9]*' | head -1)
    cpu=$(awk -v t=$(getconf CLK_TCK) '{printf "%.0f ms CPU", ($14+$15)*1000/t}' /proc/$p/stat); hwm=$(awk '/VmHWM/{printf "%.1f MiB", $2/1024}' /proc/$p/status)
    python3 -c "print(f'$x round $r: {($t1-$t0):.3f} s to the first answer, $applied, RSS peak $hwm, $cpu')"
    kill $p; wait $p 2>/dev/null
    [ -n "${KEEP_LOG:-}" ] && cp $W/run.log $KEEP_LOG.$x
  done
done
rm -rf $W
