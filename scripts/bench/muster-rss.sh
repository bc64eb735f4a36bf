#!/usr/bin/env bash
# Peak RSS of Post Muster batches (issue 15), apart from the full bench table:
#   scripts/bench/muster-rss.sh [BIN] [BATCHES] [LINES]
# Starts BIN (default the bench-profile build) on the demo estate with 20,000 extra labourers,
# posts BATCHES (default 4) batches of LINES (default 5,000) distinct lines of today's harvest
# task from one handheld, and prints RSS before, the peak while posting (VmHWM after
# clear_refs), and lines stored per second. A measurement, not a test: nothing is asserted.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/release/gatehouse}
BATCHES=${2:-4}
LINES=${3:-5000}
PORT=${PORT:-18095}
WORK=$(mktemp -d /tmp/gatehouse-muster.XXXXXX)
GPID=""
cleanup() { [ -n "$GPID" ] && kill "$GPID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
rss() { awk -v k="$2" '$1==k":" {printf "%.1f", $2/1024}' "/proc/$1/status"; }
"$BIN" serve --state "$WORK/state" --listen "127.0.0.1:$PORT" --demo >"$WORK/server.log" 2>&1 &
GPID=$!
for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
python3 "$ROOT/scripts/bench/setup.py" "$BIN" "$WORK/state" "http://127.0.0.1:$PORT" "$WORK/creds.lua" \
  --labourers $((BATCHES * LINES)) >/dev/null
sleep 1
BEFORE=$(rss "$GPID" VmRSS)
echo 5 > "/proc/$GPID/clear_refs" 2>/dev/null || true
OUT=$(python3 - "$WORK/creds.lua" "$PORT" "$BATCHES" "$LINES" <<'PY'
import json, re, sys, time, urllib.request
c = dict(re.findall(r'(\w+) = "?([^"\n]*)"?', open(sys.argv[1]).read()))
port, batches, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def cl(path, body):
    r = urllib.request.Request(f"http://127.0.0.1:{port}/codelayer/" + path, data=json.dumps(body).encode(),
                               headers={"content-type": "application/json"})
    return json.loads(urllib.request.urlopen(r, timeout=600).read())
tasks = cl("estate/sync/taskdetails", {"key": c["key"]})["Task"]
sp = next(t for t in tasks if t["firmid"] == "1" and t["JobCode"] == "SP")
ok, t0 = 0, time.time()
for b in range(batches):
    lines = []
    for i in range(b * n, (b + 1) * n):
        h = i % 5 == 0
        lines.append({"lineID": f"M{b}-{i}", "lcode": f"B{i:06}", "grossWeight": 12.0, "BagWeight": 0.5,
                      "netWeight": 11.5 if h else 10.925, "isHelper": "T" if h else "F", "HalfDay": "F",
                      "withMuster": "T", "DateTime": time.strftime("%Y-%m-%d 08:15:00")})
    a = cl("estate/sync/muster", {"key": c["key"], "musters": [{"TaskID": sp["TaskID"], "firmid": "1",
           "DiarySlipNo": f"RSS{b}", "JobEnds": "F", "materials": [], "pests": [], "muster": lines}]})
    ok += a["accepted"]
dt = time.time() - t0
print(f"{ok} {ok / dt:.0f} {dt:.2f}")
PY
)
PEAK=$(rss "$GPID" VmHWM)
read -r OK RATE SECS <<<"$OUT"
echo "Post Muster: $BATCHES batches of $LINES lines, $OK stored in $SECS s ($RATE lines/s); RSS before $BEFORE MiB, peak $PEAK MiB"
