#!/usr/bin/env bash
# Makes Debian's PostgreSQL server binaries available for the upstream replication tests
# (tests/it/pg.rs starts a private cluster per test from /usr/lib/postgresql/*/bin).
# Idempotent and quiet. Exit 3: the packages could not be installed (mirror trouble).
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && id postgres >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }; then
  echo "!! scripts/ci-postgres.sh: postgresql could not be installed" >&2
  exit 3
fi
# The Debian package starts a cluster of its own on 5432; the tests do not use it.
if command -v pg_ctlcluster >/dev/null 2>&1; then
  for c in /etc/postgresql/*/main; do
    [ -d "$c" ] || continue
    v=$(basename "$(dirname "$c")")
    pg_ctlcluster "$v" main stop >/dev/null 2>&1 || true
  done
fi
ls /usr/lib/postgresql/*/bin/initdb >/dev/null
