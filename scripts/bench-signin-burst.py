#!/usr/bin/env python3
"""Writes/s on the box while 20 Daily Activity sign-ins (PBKDF2 each) arrive at once.

Usage: scripts/bench-signin-burst.py [PATH/TO/gatehouse]   (default target/release/gatehouse)

Starts the binary on 127.0.0.1:0 with a temporary state directory, signs a writer in, then
runs 4 writer threads posting tasks (each an acknowledged, flushed write) for a quiet window
and again while a burst of 20 concurrent logins is handled. Prints writes/s for both windows.
Only loopback traffic; bounded in time (about 15 s).
"""
import hashlib, hmac, json, os, subprocess, sys, tempfile, threading, time
import http.client

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/gatehouse"


def cli(state, *args):
    out = subprocess.run([BIN, *args, "--state", state, "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"gatehouse {args}: {out.stderr}")
    return json.loads(out.stdout) if out.stdout.strip() else None


class Api:
    def __init__(self, addr):
        self.host, self.port = addr.split(":")
        self.n = 0
        self.lock = threading.Lock()

    def rid(self):
        with self.lock:
            self.n += 1
            return f"bench-{os.getpid()}-{self.n}"

    def call(self, method, path, headers, body=None):
        c = http.client.HTTPConnection(self.host, int(self.port), timeout=60)
        data = json.dumps(body).encode() if body is not None else None
        h = dict(headers)
        h["x-request-id"] = self.rid()
        if data is not None:
            h["content-type"] = "application/json"
        c.request(method, "/daily/v1" + path, body=data, headers=h)
        r = c.getresponse()
        text = r.read()
        c.close()
        return r.status, (json.loads(text) if text else None), h["x-request-id"]


def verify(api, ak, pk):
    rid = api.rid()
    ts = int(time.time())
    sig = hmac.new(pk.encode(), f"{rid}\n{ts}".encode(), hashlib.sha256).hexdigest()
    c = http.client.HTTPConnection(api.host, int(api.port), timeout=60)
    c.request("POST", "/daily/v1/authorize/verify", body=json.dumps({"timestamp": ts, "signature": sig}),
              headers={"x-app-key": ak, "x-request-id": rid, "content-type": "application/json"})
    r = c.getresponse()
    v = json.loads(r.read())
    return v["data"]["client_token"]


def login(api, ak, ct, user, pw):
    st, v, _ = api.call("POST", "/user/login", {"x-app-key": ak, "authorization": f"Bearer {ct}"},
                        {"username": user, "password": pw, "device_id": f"dev-{user}"})
    assert st == 200, v
    return v["data"]["user_token"]


def chain(api, ak, ct, user, pw):
    ut = login(api, ak, ct, user, pw)
    _, v, _ = api.call("GET", "/authorize/refresh-token", {"x-app-key": ak, "authorization": f"Bearer {ut}"})
    rt = v["data"]["refresh_token"]
    _, v, _ = api.call("GET", "/authorize/access-token", {"x-app-key": ak, "authorization": f"Bearer {rt}"})
    return ut, v["data"]["access_token"]


def main():
    state = tempfile.mkdtemp(prefix="gh-bench-")
    srv = subprocess.Popen([BIN, "serve", "--state", state, "--listen", "127.0.0.1:0"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        addr = None
        for line in srv.stdout:
            if line.startswith("listening on http://"):
                addr = line.strip().split("http://")[1]
                break
        api = Api(addr)
        c = cli(state, "client", "add", "--name", "bench")
        ak, pk = c["app_key"], c["private_key"]
        cli(state, "user", "add", "--username", "writer", "--password", "writer-pass-1", "--role", "clerk")
        for i in range(20):
            cli(state, "user", "add", "--username", f"burst{i}", "--password", "burst-pass-1", "--role", "labourer")
        ct = verify(api, ak, pk)
        ut, at = chain(api, ak, ct, "writer", "writer-pass-1")
        wh = {"x-app-key": ak, "authorization": f"Bearer {at}", "x-user-token": ut}
        done = [0]
        lat = []
        stop = threading.Event()
        lk = threading.Lock()

        def writer():
            while not stop.is_set():
                t0 = time.time()
                st, _, _ = api.call("POST", "/tasks", wh, {"title": "bench"})
                dt = time.time() - t0
                if st in (200, 201):
                    with lk:
                        done[0] += 1
                        lat.append((t0, dt))

        ws = [threading.Thread(target=writer) for _ in range(4)]
        for w in ws:
            w.start()
        time.sleep(1.0)  # warm up
        with lk:
            d0, lat[:] = done[0], []
        time.sleep(3.0)
        with lk:
            quiet = (done[0] - d0) / 3.0
            qmax = max((d for _, d in lat), default=0)
            d1, lat[:] = done[0], []
        t_burst = time.time()
        bs = [threading.Thread(target=login, args=(api, ak, ct, f"burst{i}", "burst-pass-1")) for i in range(20)]
        for b in bs:
            b.start()
        for b in bs:
            b.join()
        burst_secs = time.time() - t_burst
        with lk:
            burst = (done[0] - d1) / burst_secs
            bmax = max((d for _, d in lat), default=0)
        stop.set()
        for w in ws:
            w.join()
        print(f"binary: {BIN}")
        print(f"quiet:  {quiet:.1f} writes/s (slowest write {qmax*1000:.0f} ms)")
        print(f"burst of 20 sign-ins took {burst_secs:.2f} s: {burst:.1f} writes/s meanwhile (slowest write {bmax*1000:.0f} ms)")
    finally:
        srv.terminate()
        srv.wait(timeout=20)


if __name__ == "__main__":
    main()
