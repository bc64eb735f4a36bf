#!/usr/bin/env python3
"""Bench setup against a running gatehouse (scripts/bench.sh): a Codelayer session, a Daily
Activity manager with the whole token chain, optional extra labourers; writes the credentials
as a Lua file for wrk. Stdlib only.

usage: setup.py BIN STATE BASE_URL OUT.lua [--labourers N] [--clockers N]

--clockers N: N employees, each with a user of its own linked to it and signed in (Daily
Activity token chain), clocked in and out once, listed in OUT.lua as `clockers` for the
many-employees Clock In row and Attendance Today.
"""
import hashlib, hmac, json, os, socket, subprocess, sys, time, urllib.request

BIN, STATE, BASE, OUT = sys.argv[1:5]
LABOURERS = int(sys.argv[sys.argv.index("--labourers") + 1]) if "--labourers" in sys.argv else 0
CLOCKERS = int(sys.argv[sys.argv.index("--clockers") + 1]) if "--clockers" in sys.argv else 0
# Not the demo handheld (352099001761481), whose licence key the demo has already delivered.
IMEI = "356938035643809"
RID = [0]


def rid():
    RID[0] += 1
    return f"bench-setup-{os.getpid()}-{RID[0]}"


def cli(*args):
    out = subprocess.run([BIN, *args, "--state", STATE, "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"gatehouse {' '.join(args)}: {out.stderr}")
    return json.loads(out.stdout) if out.stdout.strip() else None


def http(method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def cl(path, body):
    return http("POST", "/codelayer/" + path, body)


# Codelayer handheld session.
cli("user", "add", "--username", "benchguard", "--password", "bench-pass-1", "--role", "supervisor")
first = cl("system/license", {"imei": IMEI, "appID": "POABS"})
cli("device", "approve", "--imei", IMEI)
# A licence key is delivered once: on the first answer when the device is approved at once
# (--demo), else on the first answer after approval.
lic = (first.get("licenses") or [{}])[0].get("key") or \
    cl("system/license", {"imei": IMEI, "appID": "POABS"})["licenses"][0]["key"]
cl("system/register_device", {"imei": IMEI, "appID": "POABS", "clientID": "ESTATE",
                              "deviceName": "bench", "mobileNumber": "+62822997572"})
key = cl("system/auth", {"key": lic, "username": "benchguard", "password": "bench-pass-1",
                         "imei": IMEI, "ver": "1.0.0.0"})["key"]
# Gatepass Save needs a gate guard (a supervisor may not edit passes): a session of its own.
cli("user", "add", "--username", "benchgate", "--password", "bench-pass-1", "--role", "gate_guard")
gate_key = cl("system/auth", {"key": lic, "username": "benchgate", "password": "bench-pass-1",
                              "imei": IMEI, "ver": "1.0.0.0"})["key"]

# Daily Activity manager: verify -> login -> refresh -> access.
c = cli("client", "add", "--name", "bench")
app, priv = c["app_key"], c["private_key"]
cli("user", "add", "--username", "benchboss", "--password", "bench-pass-1", "--role", "manager")
r, ts = rid(), int(time.time())
sig = hmac.new(priv.encode(), f"{r}\n{ts}".encode(), hashlib.sha256).hexdigest()
ct = http("POST", "/daily/v1/authorize/verify", {"timestamp": ts, "signature": sig},
          {"x-app-key": app, "x-request-id": r})["data"]["client_token"]
ut = http("POST", "/daily/v1/user/login",
          {"username": "benchboss", "password": "bench-pass-1", "device_id": "BENCH"},
          {"x-app-key": app, "x-request-id": rid(), "authorization": "Bearer " + ct})["data"]["user_token"]
rt = http("GET", "/daily/v1/authorize/refresh-token", None,
          {"x-app-key": app, "x-request-id": rid(), "authorization": "Bearer " + ut})["data"]["refresh_token"]
at = http("GET", "/daily/v1/authorize/access-token", None,
          {"x-app-key": app, "x-request-id": rid(), "authorization": "Bearer " + rt})["data"]["access_token"]

if LABOURERS:
    path = os.path.join(STATE, "bench-labour.csv")
    with open(path, "w") as f:
        f.write("lcode,name,fatherName,gender,musterfirmid,isHelper,ltype,displaycode\n")
        for n in range(LABOURERS):
            f.write(f"B{n:06},Pekerja {n},Ayah,F,1,{'T' if n % 5 == 0 else 'F'},R,M-B{n:06}\n")
    cli("import", "labour", path)

def admin(method, path, body):
    """One call on the running server's admin socket (HTTP over a Unix socket)."""
    payload = json.dumps(body).encode()
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.path.join(STATE, "admin.sock"))
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: gatehouse\r\nConnection: close\r\n"
              f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload)
    raw = b""
    while chunk := s.recv(65536):
        raw += chunk
    s.close()
    if b" 200 " not in raw.split(b"\r\n", 1)[0]:
        sys.exit(f"admin {path}: {raw[:300]!r}")


def sign_in(username, password):
    u = http("POST", "/daily/v1/user/login",
             {"username": username, "password": password, "device_id": "BENCH-" + username},
             {"x-app-key": app, "x-request-id": rid(), "authorization": "Bearer " + ct})["data"]["user_token"]
    r = http("GET", "/daily/v1/authorize/refresh-token", None,
             {"x-app-key": app, "x-request-id": rid(), "authorization": "Bearer " + u})["data"]["refresh_token"]
    a = http("GET", "/daily/v1/authorize/access-token", None,
             {"x-app-key": app, "x-request-id": rid(), "authorization": "Bearer " + r})["data"]["access_token"]
    return u, a


clockers = []
if CLOCKERS:
    # Employees in the demo's office location (scope: all), users linked to them, signed in.
    emp = os.path.join(STATE, "bench-employees.csv")
    usr = os.path.join(STATE, "bench-users.csv")
    with open(emp, "w") as f, open(usr, "w") as g:
        f.write("code,name,sex,firm,department,designation,group,shift,doj,dob,pan,place,post,district,state,basic_pay\n")
        g.write("username,password,role,name\n")
        for n in range(CLOCKERS):
            f.write(f"BC{n:04},CLOCKER {n},M,1,OFF,STF,,DAY,2024-06-01,1990-05-14,AAAPB{n:04}C,EDAIKAL,"
                    f"EDAIKAL,TIRUNELVELI,TAMIL NADU,12000\n")
            g.write(f"bclock{n},bench-pass-1,clerk,Clocker {n}\n")
    cli("import", "employees", emp)
    cli("import", "users", usr)
    for n in range(CLOCKERS):
        admin("POST", "/admin/attendance/link-user", {"username": f"bclock{n}", "employee_code": f"BC{n:04}"})
        clockers.append(sign_in(f"bclock{n}", "bench-pass-1"))
    # A realistic day for Attendance Today: in and out once each (the Clock In row then goes
    # on with "in", so it starts without a refusal).
    for u, a in clockers:
        for d in ("in", "out"):
            http("POST", f"/daily/v1/attendances/clock-{d}",
                 {"latitude": 8.9600, "longitude": 77.3000, "accuracy": 10},
                 {"x-app-key": app, "x-request-id": rid(), "x-language": "en",
                  "authorization": "Bearer " + a, "x-user-token": u})

faces = cl("estate/sync/faces", {"key": key, "firmID": "1", "version": 0})
with open(OUT, "w") as f:
    f.write(f'key = "{key}"\ngate_key = "{gate_key}"\napp_key = "{app}"\naccess = "{at}"\nuser_token = "{ut}"\n'
            f'face_version = {int(faces.get("version", 0))}\n')
    f.write("clockers = {" + ",".join(f'{{"{u}","{a}"}}' for u, a in clockers) + "}\n")
print(json.dumps({"key": key, "face_version": faces.get("version")}))
