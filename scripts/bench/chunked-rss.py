#!/usr/bin/env python3
"""Peak RSS of the server while many connections upload chunked bodies at once (issue 15).

    scripts/bench/chunked-rss.py BIN [CONNS] [BODY_KIB]

Starts BIN (`serve --demo`, server on CPU 0, this script on CPU 1), resets its peak RSS, then
opens CONNS connections that each send a chunked body of BODY_KIB KiB (64 KiB chunks, as fast
as the socket takes them) to a Codelayer operation, and reads each answer. Prints RSS before,
the peak during (VmHWM after clear_refs) and the answers by status. A chunked body is passed to
hyper untouched by the connection guard, so what hyper's own read buffer grows to per
connection shows here. A measurement, not a test.
"""
import asyncio, collections, os, shutil, subprocess, sys, tempfile, time, urllib.request

BIN = sys.argv[1]
CONNS = int(sys.argv[2]) if len(sys.argv) > 2 else 200
BODY = (int(sys.argv[3]) if len(sys.argv) > 3 else 256) * 1024
PORT = int(os.environ.get("PORT", "18097"))


def status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


async def upload(statuses):
    r, w = await asyncio.open_connection("127.0.0.1", PORT)
    w.write(b"POST /codelayer/response_codes HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    body = b'{"pad":"' + b"p" * (BODY - 10) + b'"}'
    for at in range(0, len(body), 65536):
        part = body[at:at + 65536]
        w.write(b"%x\r\n%s\r\n" % (len(part), part))
        await w.drain()
    w.write(b"0\r\n\r\n")
    await w.drain()
    line = await asyncio.wait_for(r.readline(), 60)
    statuses[line.split(b" ")[1].decode() if line else "closed"] += 1
    w.close()


async def main(pid):
    statuses = collections.Counter()
    await asyncio.gather(*(upload(statuses) for _ in range(CONNS)), return_exceptions=False)
    return statuses


def run():
    os.sched_setaffinity(0, {1})
    work = tempfile.mkdtemp(prefix="gatehouse-chunked-")
    server = subprocess.Popen(["taskset", "-c", "0", BIN, "serve", "--state", f"{work}/state",
                               "--listen", f"127.0.0.1:{PORT}", "--demo"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        time.sleep(1)
        pid = server.pid
        before = status(pid, "VmRSS")
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        t0 = time.time()
        statuses = asyncio.run(main(pid))
        took = time.time() - t0
        print(f"{CONNS} chunked uploads of {BODY >> 10} KiB in {took:.1f} s: "
              f"RSS before {before:.1f} MiB, peak {status(pid, 'VmHWM'):.1f} MiB, "
              f"after {status(pid, 'VmRSS'):.1f} MiB; answers {dict(statuses)}")
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


run()
