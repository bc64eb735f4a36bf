#!/usr/bin/env bash
# usage: scripts/bench/dashboard-cost.sh BIN_A BIN_B   (env LABOURERS=25000, LINES=20000)
# What the console's dashboard costs on a busy day (issue 15): each binary serves the demo
# estate (CPU 0), gets LABOURERS labourers, LINES muster lines of today's harvest task (Post
# Muster, batches of 5,000), 5 s of Gatepass Save and 5 s of Clock In (CPU 1); then the two
# calls the console makes every 2 s, /admin/dashboard and /admin/dashboard/charts, are timed
# (20 each, median ms) and the records each call reads are counted from /metrics.
set -uo pipefail
exec 9>/tmp/gatehouse-bench.lock; flock 9
cd "$(dirname "$0")/../.."
LAB=${LABOURERS:-25000}; LINES=${LINES:-20000}
W=$(mktemp -d /tmp/dash.XXXX)
port=18240
for bin in "$@"; do
  port=$((port + 1)); st=$W/$port
  taskset -c 0 "$bin" serve --state "$st" --listen 127.0.0.1:$port --demo >"$W/$port.log" 2>&1 & pid=$!
  for k in $(seq 100); do curl -s -o /dev/null localhost:$port/healthz && break; sleep 0.1; done
  python3 scripts/bench/setup.py "$bin" "$st" http://127.0.0.1:$port "$W/$port.lua" --clockers 256 >/dev/null
  python3 - "$bin" "$st" "$LAB" "$LINES" "$W/$port.lua" $port <<'PY'
import json, re, subprocess, sys, time, urllib.request
b, st, n, lines_n, creds, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
p = st + "/bench-labour.csv"
with open(p, "w") as f:
    f.write("lcode,name,fatherName,gender,musterfirmid,isHelper,ltype,displaycode\n")
    for i in range(n):
        f.write(f"B{i:06},Pekerja {i},Ayah,F,1,F,R,M-B{i:06}\n")
subprocess.run([b, "import", "labour", p, "--state", st, "--json"], check=True, capture_output=True)
c = dict(re.findall(r'(\w+) = "?([^"\n]*)"?', open(creds).read()))
def cl(path, body):
    r = urllib.request.Request(f"http://127.0.0.1:{port}/codelayer/" + path, data=json.dumps(body).encode(),
                               headers={"content-type": "application/json"})
    return json.loads(urllib.request.urlopen(r, timeout=300).read())
tasks = cl("estate/sync/taskdetails", {"key": c["key"]})["Task"]
sp = next(t for t in tasks if t["firmid"] == "1" and t["JobCode"] == "SP")
for b0 in range(0, lines_n, 5000):
    lines = [{"lineID": f"M{i}", "lcode": f"B{i:06}", "grossWeight": 12.0, "BagWeight": 0.5,
              "netWeight": 10.925, "isHelper": "F", "HalfDay": "F", "withMuster": "T",
              "DateTime": time.strftime("%Y-%m-%d 08:15:00")} for i in range(b0, min(b0 + 5000, lines_n))]
    cl("estate/sync/muster", {"key": c["key"], "musters": [{"TaskID": sp["TaskID"], "firmid": "1",
       "DiarySlipNo": f"BENCH{b0}", "JobEnds": "F", "materials": [], "pests": [], "muster": lines}]})
PY
  for op in gatepass clock; do
    OP=$op PATH_=/ CREDS=$W/$port.lua taskset -c 1 wrk -t2 -c64 -d5s -s scripts/bench/wrk.lua http://127.0.0.1:$port/ >/dev/null
  done
  python3 - "$st/admin.sock" $port "$bin" <<'PY'
import socket, statistics, sys, time, urllib.request, json
sock, port, b = sys.argv[1], sys.argv[2], sys.argv[3]
def call(path):
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    raw = b""
    while chunk := s.recv(65536): raw += chunk
    s.close(); return raw
def reads():
    m = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    return int(next(l.split()[1] for l in m.splitlines() if l.startswith("gatehouse_store_records_read_total")))
d = json.loads(call("/admin/dashboard").split(b"\r\n\r\n", 1)[1])["data"]
print(f"{b}: attendance {d['attendance']}, gatepasses {d['gatepasses']}, estate {d['estate']}")
for path in ["/admin/dashboard", "/admin/dashboard/charts"]:
    call(path); ms = []
    r0 = reads()
    for _ in range(20):
        t = time.perf_counter(); call(path); ms.append((time.perf_counter() - t) * 1e3)
    r1 = reads()
    print(f"{b} {path}: median {statistics.median(ms):.2f} ms, max {max(ms):.2f} ms, records read per call {(r1 - r0) / 20:.0f}")
PY
  kill $pid; wait $pid 2>/dev/null
done
rm -rf "$W"
