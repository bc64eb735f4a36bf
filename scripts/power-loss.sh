#!/usr/bin/env bash
# Power-loss campaign: the state directory on powerfs (a FUSE filesystem that drops every write
# not covered by fsync/fdatasync on a "power cut"), N cuts under write load, restart on what
# survived, every acknowledged write checked. Runs it with the store's fdatasync (must lose
# nothing) and without it (sled's sync_file_range alone: shows what the fix prevents).
#   scripts/power-loss.sh [CUTS]     (default 20; needs root and /dev/fuse)
set -euo pipefail
cd "$(dirname "$0")/.."
cuts="${1:-20}"
scripts/setup-fuse.sh
export CAMPAIGN_POWER_CUTS="$cuts"
cargo test --test it power:: -- --include-ignored --nocapture --test-threads 1 2>&1 \
  | grep -E '^(power|test |!!)|test result'
