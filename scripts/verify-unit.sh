#!/usr/bin/env bash
# Check systemd/gatehouse.service without a running systemd (works in a container / CI).
#
#   scripts/verify-unit.sh [UNIT_FILE]      # default: systemd/gatehouse.service
#
# 1. `systemd-analyze verify` on a copy whose ExecStart binary is a stub (the real
#    /usr/local/bin/gatehouse is normally absent here). verify exits 0 on many real mistakes
#    (unknown keys, unparsable values, unknown syscall groups: "…, ignoring"), so ANY diagnostic
#    that names the unit fails the check too.
# 2. The unit must start the installed binary the way install.sh installs it.
# 3. `systemd-analyze security --offline=true`: prints the overall exposure and fails above
#    VERIFY_MAX_EXPOSURE (default 2.0; 0.0 best, 10.0 worst).
# Exit 0 and one line of output when the unit is fine; non-zero with the reasons otherwise.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
UNIT="${1:-$ROOT/systemd/gatehouse.service}"
MAX="${VERIFY_MAX_EXPOSURE:-2.0}"
NAME=gatehouse.service
BIN=/usr/local/bin/gatehouse

die() { echo "verify-unit: FAIL: $*" >&2; exit 1; }
[ -f "$UNIT" ] || die "$UNIT: no such file"

if ! command -v systemd-analyze >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "systemd-analyze missing (apt-get install systemd)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null \
            || { echo "verify-unit: toolchain unavailable: apt-get install systemd failed" >&2; exit 3; }
    fi
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# --- 1. verify ------------------------------------------------------------------------------
mkdir -p "$TMP/bin"
printf '#!/bin/sh\nexit 0\n' >"$TMP/bin/gatehouse"
chmod 0755 "$TMP/bin/gatehouse"
# Same file name (gatehouse.service), only the binary path swapped for the stub.
sed "s#$BIN\\b#$TMP/bin/gatehouse#g" "$UNIT" >"$TMP/$NAME"

rc=0
out="$(systemd-analyze verify --man=no --recursive-errors=no "$TMP/$NAME" 2>&1)" || rc=$?
# Diagnostics about the unit name the file or the unit; other lines (e.g. about units shipped
# by the distribution) are not ours.
ours="$(printf '%s\n' "$out" | grep -F "$NAME" || true)"
if [ "$rc" != 0 ] || [ -n "$ours" ]; then
    printf '%s\n' "${ours:-$out}" | sed "s#$TMP/bin/gatehouse#$BIN#g; s#$TMP/#$(dirname "$UNIT")/#g" >&2
    die "systemd-analyze verify rejected $UNIT (exit $rc)"
fi

# --- 2. consistency with install.sh ---------------------------------------------------------
grep -Eq "^ExecStart=$BIN serve( |\$)" "$UNIT" || die "ExecStart must run '$BIN serve ...'"
grep -Eq '^Type=notify$' "$UNIT" || die "Type=notify expected (the server reports READY=1)"
grep -Eq '^User=gatehouse$' "$UNIT" || die "User=gatehouse expected (install.sh creates that user)"

# --- 3. security exposure -------------------------------------------------------------------
threshold="$(awk -v m="$MAX" 'BEGIN{printf "%d", m * 10 + 0.5}')"
rc=0
sec="$(systemd-analyze security --offline=true --threshold="$threshold" --no-pager "$TMP/$NAME" 2>&1)" || rc=$?
score="$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' | tail -n1)"
[ -n "$score" ] || { printf '%s\n' "$sec" >&2; die "systemd-analyze security printed no exposure level"; }
if [ "$rc" != 0 ]; then
    printf '%s\n' "$sec" | grep -E '^ *✗|Overall' >&2 || printf '%s\n' "$sec" >&2
    die "exposure $score is above VERIFY_MAX_EXPOSURE=$MAX"
fi
echo "verify-unit: ok ($(basename "$UNIT"): systemd-analyze verify clean, security exposure $score, max $MAX)"
