#!/usr/bin/env bash
# CI: the Pi build. Cross-compiles the static aarch64 binary with Debian's toolchain, runs it
# under qemu-user (start, /healthz, one write, stop), and dry-runs the installer with it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/cross-aarch64.sh
bin=target/debian-cross/target/aarch64-unknown-linux-gnu/release/gatehouse
scripts/qemu-smoke.sh "$bin"
systemd/install.sh --dry-run "$bin" >/dev/null
echo "aarch64: $(stat -c %s "$bin") bytes, static, smoke test passed"
