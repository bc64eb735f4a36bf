#!/usr/bin/env bash
# Smoke-test a (cross-built) gatehouse binary, under qemu-user when it is not for this machine.
#
#   scripts/qemu-smoke.sh BINARY
#
# 1. `BINARY serve --state <fresh temp dir> --listen 127.0.0.1:0`, wait for the stdout line
#    `listening on http://127.0.0.1:PORT`, GET /healthz (expects HTTP 200);
# 2. one write while it runs (the CLI goes through the server's admin socket):
#    `user add --username smoke-live ... --json` (exit 0, stdout one JSON document);
# 3. SIGTERM, expects exit status 0 within SMOKE_STOP_TIMEOUT seconds;
# 4. one write on the stopped store (the CLI opens the store itself):
#    `user add --username smoke --password smoke-pass-1 --json`;
# 5. serve again on the same store (it must reopen after the write), /healthz, SIGTERM, exit 0.
#
# The emulator is chosen from the ELF header (aarch64 -> qemu-aarch64, arm -> qemu-arm, x86_64 on
# an x86_64 host -> none); QEMU=... overrides. Quiet on success (one line); on failure it says
# which step failed and prints the server's output.
# Env: SMOKE_START_TIMEOUT (default 90 s), SMOKE_STOP_TIMEOUT (default 30 s), SMOKE_KEEP=1 keeps
# the temp dir.
set -euo pipefail

die() { echo "qemu-smoke: FAIL: $*" >&2; exit 1; }
[ $# -eq 1 ] || { echo "usage: $0 BINARY" >&2; exit 2; }
BIN="$(readlink -f "$1")"
{ [ -f "$BIN" ] && [ -x "$BIN" ]; } || die "$1: not an executable file"
START_TIMEOUT="${SMOKE_START_TIMEOUT:-90}"
STOP_TIMEOUT="${SMOKE_STOP_TIMEOUT:-30}"

ensure_pkg() {  # ensure_pkg COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    [ "$(id -u)" = 0 ] || die "$1 is missing (apt-get install $2)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null \
            || die "apt-get install $2 failed"
    fi
}

# --- which emulator -------------------------------------------------------------------------
[ "$(head -c4 "$BIN" | od -An -c | tr -d ' ')" = '177ELF' ] || die "$BIN is not an ELF binary"
machine="$(od -An -t u2 -j 18 -N 2 "$BIN" | tr -d ' ')"
if [ -n "${QEMU+x}" ]; then
    EMU="$QEMU"
else
    case "$machine:$(uname -m)" in
        183:aarch64|40:armv7l|40:armv8l|62:x86_64) EMU="" ;;
        183:*) EMU=qemu-aarch64 ;;
        40:*)  EMU=qemu-arm ;;
        *) die "$BIN: ELF machine $machine, no emulator known for it on $(uname -m)" ;;
    esac
fi
if [ -n "$EMU" ]; then ensure_pkg "$EMU" qemu-user; RUN=("$EMU" "$BIN"); else RUN=("$BIN"); fi
ensure_pkg curl curl

# --- a clean environment and a fresh state dir ----------------------------------------------
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep '^GATEHOUSE_' || true)
TMP="$(mktemp -d)"
STATE="$TMP/state"
mkdir -p "$STATE"
PID=""
STEP="setup"
cleanup() {
    rc=$?
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    if [ "$rc" != 0 ]; then
        for f in "$TMP"/*.out "$TMP"/*.err; do
            [ -s "$f" ] || continue
            echo "----- ${f#"$TMP"/} (last 40 lines) -----" >&2
            tail -n 40 "$f" >&2; echo >&2
        done
    fi
    if [ "${SMOKE_KEEP:-0}" = 1 ]; then echo "qemu-smoke: kept $TMP" >&2; else rm -rf "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$TMP"

PORT=""
start_server() {  # start_server TAG
    STEP="serve ($1)"
    "${RUN[@]}" serve --state "$STATE" --listen 127.0.0.1:0 >"$TMP/serve-$1.out" 2>"$TMP/serve-$1.err" &
    PID=$!
    local deadline=$((SECONDS + START_TIMEOUT)) line=""
    while :; do
        line="$(grep -s -m1 -oE 'listening on http://127\.0\.0\.1:[0-9]+' "$TMP/serve-$1.out" || true)"
        [ -n "$line" ] && break
        if ! kill -0 "$PID" 2>/dev/null; then
            local rc=0; wait "$PID" || rc=$?; PID=""
            die "$STEP exited with status $rc before printing 'listening on http://127.0.0.1:PORT'"
        fi
        [ "$SECONDS" -lt "$deadline" ] || die "$STEP printed no 'listening on' line within ${START_TIMEOUT}s"
        sleep 0.2
    done
    PORT="${line##*:}"
}

check_healthz() {
    STEP="GET /healthz"
    local code
    code="$(curl -sS -o "$TMP/healthz.out" -w '%{http_code}' --max-time 20 \
        "http://127.0.0.1:$PORT/healthz" 2>"$TMP/curl.err")" || die "$STEP: curl failed: $(cat "$TMP/curl.err")"
    [ "$code" = 200 ] || die "$STEP returned HTTP $code (expected 200)"
}

stop_server() {
    STEP="SIGTERM"
    kill -TERM "$PID" || die "could not signal pid $PID"
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$PID" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || die "server still running ${STOP_TIMEOUT}s after SIGTERM"
        sleep 0.2
    done
    local rc=0; wait "$PID" || rc=$?; PID=""
    [ "$rc" = 0 ] || die "server exited with status $rc after SIGTERM (expected 0)"
}

user_add() {  # user_add TAG USERNAME PASSWORD
    STEP="user add ($1)"
    local rc=0
    "${RUN[@]}" user add --state "$STATE" --username "$2" --password "$3" --json \
        >"$TMP/user-add-$1.out" 2>"$TMP/user-add-$1.err" || rc=$?
    [ "$rc" = 0 ] || die "$STEP exited with status $rc"
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/user-add-$1.out" 2>/dev/null \
            || die "$STEP: stdout is not one JSON document"
    else
        [ "$(tr -d ' \t\r\n' <"$TMP/user-add-$1.out" | head -c1)" = '{' ] || die "$STEP: stdout is not a JSON object"
    fi
}

# --- the run --------------------------------------------------------------------------------
start_server first
check_healthz
user_add running smoke-live smoke-pass-1
stop_server
user_add stopped smoke smoke-pass-1

start_server second
check_healthz
stop_server

echo "qemu-smoke: ok ($(basename "$BIN")${EMU:+ under $EMU}: serve, /healthz 200, user add (live), SIGTERM exit 0, user add (stopped), reopen)"
