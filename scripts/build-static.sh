#!/usr/bin/env bash
# The shipped x86_64 binary: release profile (LTO, one codegen unit, stripped), statically linked
# against glibc (+crt-static). With --target given, RUSTFLAGS reach only the target artifacts,
# not build scripts or proc macros (which cannot be static).
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" "$@"
bin="${CARGO_TARGET_DIR:-target}/$target/release/gatehouse"
if file "$bin" 2>/dev/null | grep -q "dynamically linked"; then
  echo "error: $bin is dynamically linked" >&2
  exit 1
fi
echo "$bin: $(stat -c %s "$bin") bytes"
