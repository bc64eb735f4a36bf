#!/usr/bin/env bash
# Fuzz campaign: schemathesis against the live /openapi.json with valid credentials for every
# family (hooks in scripts/fuzz_hooks.py). Starts `gatehouse serve --demo` on a temp state dir
# and an ephemeral port, sets credentials up with the CLI, runs every check that applies:
# no 5xx, answers match their documented schema, status code and content type, no hang.
#
#   scripts/fuzz.sh --short   # CI: a few minutes at most; exit 1 on any finding
#   scripts/fuzz.sh --long    # the campaign the README's figures come from (FUZZ_MAX_TIME s)
#
# Installs schemathesis from PyPI into a venv under the cargo target dir (idempotent).
# Exit 0 = no findings, 1 = findings (report under $FUZZ_OUT), 3 = schemathesis could not be
# installed here (no network): reported loudly by .ci/run as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=short
case "${1:---short}" in
  --short) mode=short ;;
  --long) mode=long ;;
  *) echo "usage: $0 [--short|--long]" >&2; exit 2 ;;
esac

target="${CARGO_TARGET_DIR:-$PWD/target}"
venv="$target/fuzz-venv"
ST_VERSION="${FUZZ_ST_VERSION:-4.32.5}"
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  python3 -m venv "$venv" >/dev/null 2>&1 || { echo "!! python3 -m venv failed (python3-venv missing?)" >&2; exit 3; }
  "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$ST_VERSION" >/dev/null 2>&1 \
    || { echo "!! could not install schemathesis $ST_VERSION from PyPI" >&2; exit 3; }
fi

cargo build -q --bin gatehouse
bin="$target/debug/gatehouse"

state="$(mktemp -d /tmp/gatehouse-fuzz.XXXXXX)"
out="${FUZZ_OUT:-$state/report}"
mkdir -p "$out"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  [ -n "${FUZZ_KEEP:-}" ] || rm -rf "$state/store" "$state/blobs"
}
trap cleanup EXIT

# Lockouts off: the fuzzer fails sign-ins on purpose, and must not lock out its own user.
GATEHOUSE_AUTH__LOCKOUT_AFTER_FAILURES=0 GATEHOUSE_LOG_LEVEL=warn \
  "$bin" serve --demo --state "$state" --listen 127.0.0.1:0 >"$state/stdout" 2>"$state/server.log" &
server_pid=$!
base=""
for _ in $(seq 1 300); do
  base="$(sed -n 's/^listening on \(http:\/\/[^ ]*\).*/\1/p' "$state/stdout" | head -1)"
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$state/server.log" >&2; echo "!! server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "!! server did not start" >&2; exit 1; }

gh() { "$bin" "$@" --state "$state" --json; }
jget() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# Not the demo's pre-approved handheld: a licence key is delivered once, to the first request
# after approval, and this script must be the one that receives it.
export FUZZ_BASE="$base" FUZZ_USER=fuzzer FUZZ_PASSWORD=fuzz-pass-1 FUZZ_IMEI=352099001769990
gh user add --username "$FUZZ_USER" --password "$FUZZ_PASSWORD" --role admin --name Fuzzer >/dev/null
client="$(gh client add --name fuzz)"
FUZZ_APP_KEY="$(jget '["app_key"]' <<<"$client")"
FUZZ_PRIVATE_KEY="$(jget '["private_key"]' <<<"$client")"
export FUZZ_APP_KEY FUZZ_PRIVATE_KEY
post() {  # POST JSON with python3 (CI machines need not have curl)
  python3 -c 'import sys, urllib.request as u
r = u.Request(sys.argv[1], data=sys.argv[2].encode(), headers={"content-type": "application/json"})
print(u.urlopen(r, timeout=30).read().decode())' "$base$1" "$2"
}
# A licence key is delivered once, to the request after approval (so not the demo's pre-approved IMEI).
post /codelayer/system/license "{\"imei\":\"$FUZZ_IMEI\",\"appID\":\"POABS\"}" >/dev/null
gh device approve --imei "$FUZZ_IMEI" >/dev/null
FUZZ_LICENCE="$(post /codelayer/system/license "{\"imei\":\"$FUZZ_IMEI\",\"appID\":\"POABS\"}" | jget '["licenses"][0]["key"]')"
export FUZZ_LICENCE
post /codelayer/system/register_device "{\"imei\":\"$FUZZ_IMEI\",\"appID\":\"POABS\",\"clientID\":\"ESTATE\",\"deviceName\":\"fuzz\",\"mobileNumber\":\"+62822997572\"}" >/dev/null

if [ "$mode" = short ]; then
  max_examples="${FUZZ_MAX_EXAMPLES:-5}"; max_time="${FUZZ_MAX_TIME:-120}"; phases=examples,coverage,fuzzing
else
  max_examples="${FUZZ_MAX_EXAMPLES:-400}"; max_time="${FUZZ_MAX_TIME:-1500}"; phases=examples,coverage,fuzzing
fi
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,missing_required_header,unsupported_method,allow_header_conformance
echo "== schemathesis $ST_VERSION ($mode) against $base/openapi.json: up to $max_examples cases per operation, $max_time s"
rc=0
SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH="$PWD/scripts" "$venv/bin/st" run "$base/openapi.json" \
  --checks "$checks" --phases "$phases" \
  --max-examples "$max_examples" --max-time "$max_time" \
  --max-response-time "${FUZZ_MAX_RESPONSE_S:-10}" --request-timeout 30 \
  --workers "${FUZZ_WORKERS:-2}" --suppress-health-check all --no-color \
  --generation-database none ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
  --report ndjson,junit --report-dir "$out" ${FUZZ_EXTRA:-} 2>&1 | tee "$out/summary.txt" || rc=$?
if grep -qiE '^(thread .* panicked|.*handler panicked)' "$state/server.log"; then
  echo "!! the server logged a panic:"; grep -iE 'panicked' "$state/server.log" | head -5; rc=1
fi
kill -0 "$server_pid" 2>/dev/null || { echo "!! the server died during the run"; rc=1; }
echo "== report: $out (server log: $state/server.log)"
exit "$rc"
