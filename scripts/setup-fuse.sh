#!/usr/bin/env bash
# What the power-loss campaign needs (tests/it/power.rs, scripts/powerfs.py): libfuse2 for fusepy,
# and fusepy itself. Idempotent and quiet; exit 3 when the packages cannot be installed (the
# campaign then skips loudly).
set -uo pipefail
if python3 -c 'import fuse' >/dev/null 2>&1; then
  exit 0
fi
if ! ldconfig -p 2>/dev/null | grep -q 'libfuse\.so\.2'; then
  { apt-get update -qq && apt-get install -y -qq libfuse2 >/dev/null; } 2>/dev/null \
    || { echo "!! setup-fuse: libfuse2 could not be installed" >&2; exit 3; }
fi
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore fusepy==3.0.1 >/dev/null 2>&1 \
  || { echo "!! setup-fuse: fusepy could not be installed" >&2; exit 3; }
python3 -c 'import fuse' >/dev/null 2>&1 || { echo "!! setup-fuse: fusepy does not load" >&2; exit 3; }
