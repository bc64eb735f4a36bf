#!/usr/bin/env bash
# Cross-build a static Gatehouse release binary for the Pi-class box with Debian's own Rust
# toolchain (rustc-web + libstd-rust-web-dev:<arch>; 1.96 from bookworm-security here), no Docker,
# no rustup target needed.
#
#   scripts/cross-aarch64.sh                 # aarch64-unknown-linux-gnu (default)
#   scripts/cross-aarch64.sh --target armv7  # armv7-unknown-linux-gnueabihf
#   scripts/cross-aarch64.sh --no-install    # fail instead of apt-get installing what is missing
#
# On success it prints one line: the binary's path and size. Run the result with
# scripts/qemu-smoke.sh PATH.
#
# How it stays out of everyone's way:
# - the tree is copied (no target/, no .git) to target/debian-cross/src, mtimes kept so rebuilds
#   stay incremental; the root Cargo.toml / Cargo.lock are never touched;
# - Debian's rustc is older than the rustup one the root Cargo.lock is resolved with. The copy's
#   lockfile is adjusted: every locked crate Debian's rustc refuses (cargo lists them before it
#   compiles anything) is re-resolved with CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback to its
#   newest version that supports that rustc; everything else stays exactly as locked;
# - its own CARGO_TARGET_DIR (target/debian-cross/target), so the main target/ dir's fingerprints
#   (built by rustup's rustc) are never invalidated.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET=aarch64-unknown-linux-gnu
INSTALL=1

usage() { sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "cross-aarch64: $*" >&2; exit 1; }
# Exit 3: the Debian cross toolchain could not be installed (mirror down, no network). CI
# reports that as a skipped step rather than a product failure.
unavailable() { echo "cross-aarch64: toolchain unavailable: $*" >&2; exit 3; }

while [ $# -gt 0 ]; do
    case "$1" in
        --target) [ $# -ge 2 ] || die "--target needs a value"; TARGET="$2"; shift 2 ;;
        --target=*) TARGET="${1#--target=}"; shift ;;
        --no-install) INSTALL=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

case "$TARGET" in
    aarch64|arm64|aarch64-unknown-linux-gnu)
        TARGET=aarch64-unknown-linux-gnu; DEB_ARCH=arm64; GNU=aarch64-linux-gnu ;;
    armv7|armhf|armv7-unknown-linux-gnueabihf)
        TARGET=armv7-unknown-linux-gnueabihf; DEB_ARCH=armhf; GNU=arm-linux-gnueabihf ;;
    *) die "unsupported target '$TARGET' (aarch64 or armv7)" ;;
esac

DEB_RUSTC=/usr/bin/rustc
DEB_CARGO=/usr/bin/cargo
PKGS=(rustc-web cargo-web "libstd-rust-web-dev:$DEB_ARCH" "gcc-$GNU" "libc6-dev-$DEB_ARCH-cross"
      qemu-user curl ca-certificates)

# ---------------------------------------------------------------------------------------------
# 1. Toolchain (idempotent: nothing is run when everything is already there).
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
need_arch=0
dpkg --print-foreign-architectures | grep -qx "$DEB_ARCH" || need_arch=1

if [ "${#missing[@]}" -gt 0 ] || [ "$need_arch" = 1 ]; then
    if [ "$INSTALL" = 0 ]; then
        [ "$need_arch" = 0 ] || missing+=("(dpkg --add-architecture $DEB_ARCH)")
        die "missing: ${missing[*]}; rerun without --no-install"
    fi
    [ "$(id -u)" = 0 ] || die "missing packages (${missing[*]}); run as root to install them"
    [ "$need_arch" = 1 ] && dpkg --add-architecture "$DEB_ARCH"
    aptlog="$(mktemp)"
    # One update. A mirror caught mid-sync fails one index (seen here for armhf security) while the
    # rest is fine, so a failed update is only a warning; a failed install is fatal.
    if ! apt-get update -qq >"$aptlog" 2>&1; then
        echo "cross-aarch64: warning: apt-get update reported errors (continuing):" >&2
        grep -E '^(E|W|Err):' "$aptlog" >&2 || true
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >"$aptlog" 2>&1; then
        cat "$aptlog" >&2
        unavailable "apt-get install ${missing[*]} failed"
    fi
    rm -f "$aptlog"
fi
{ [ -x "$DEB_RUSTC" ] && [ -x "$DEB_CARGO" ]; } || unavailable "$DEB_RUSTC / $DEB_CARGO missing after install"
[ -d "/usr/lib/rustlib/$TARGET/lib" ] || unavailable "no Debian std for $TARGET in /usr/lib/rustlib"

# ---------------------------------------------------------------------------------------------
# 2. Environment: Debian's rustc for everything, target-only flags, nothing inherited that would
#    mix in rustup's toolchain or override the target flags.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS RUSTUP_TOOLCHAIN CARGO_BUILD_TARGET \
      RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER CARGO_BUILD_RUSTC_WRAPPER RUSTDOC
export RUSTC="$DEB_RUSTC"
TUP="$(echo "$TARGET" | tr 'a-z-' 'A-Z_')"
TLOW="$(echo "$TARGET" | tr '-' '_')"
export "CARGO_TARGET_${TUP}_LINKER=$GNU-gcc"
export "CARGO_TARGET_${TUP}_RUSTFLAGS=-C target-feature=+crt-static"
export "CC_${TLOW}=$GNU-gcc" "AR_${TLOW}=$GNU-ar"
export CARGO_TERM_COLOR=never CARGO_TERM_PROGRESS_WHEN=never

RUSTC_VER="$("$RUSTC" --version | awk '{print $2}')"   # e.g. 1.96.0
RUSTC_MM="${RUSTC_VER%.*}"                             # e.g. 1.96
# Our own crate's floor (redb 5 needs 1.90) cannot be re-resolved away: say so plainly.
NEED="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"
if [ -n "$NEED" ] && [ "$(printf '%s\n%s\n' "$NEED" "$RUSTC_MM" | sort -V | head -1)" != "$NEED" ]; then
    die "Debian's rustc $RUSTC_VER is older than the $NEED Gatehouse needs (redb 5); rustc-web from bookworm-security has 1.96"
fi

# ---------------------------------------------------------------------------------------------
# 3. Staged copy of the workspace.
CROSS="$ROOT/target/debian-cross"
STAGE="$CROSS/src"
export CARGO_TARGET_DIR="$CROSS/target"
mkdir -p "$CROSS" "$CARGO_TARGET_DIR"
LOG="$CROSS/build-$TARGET.log"
: >"$LOG"

# One cross build at a time (aarch64 and armv7 share the staged copy).
exec 9>"$CROSS/.lock"
flock 9

rm -rf "$STAGE"
mkdir -p "$STAGE"
tar -C "$ROOT" --exclude=./target --exclude=./.git --exclude=./gatehouse-data -cf - . \
    | tar -C "$STAGE" -xpf -

# The copy's root manifest declares the rustc we have, so the fallback resolver below picks the
# newest versions that rustc supports (not those of an older declared MSRV). Copy only.
if grep -q '^rust-version *=' "$STAGE/Cargo.toml"; then
    sed -i "s/^rust-version *=.*/rust-version = \"$RUSTC_MM\"/" "$STAGE/Cargo.toml"
fi

# Reuse the adjusted lockfile while neither the root lockfile, the manifests nor the rustc changed.
KEY="$( { echo "$RUSTC_VER"; cat "$ROOT/Cargo.lock";
          find "$ROOT" -name Cargo.toml -not -path "$ROOT/target/*" -not -path "$ROOT/.git/*" \
              | LC_ALL=C sort | xargs cat; } | sha256sum | cut -d' ' -f1)"
reused=0
if [ -f "$CROSS/Cargo.lock.adjusted" ] && [ "$(cat "$CROSS/Cargo.lock.key" 2>/dev/null)" = "$KEY" ]; then
    cp -p "$CROSS/Cargo.lock.adjusted" "$STAGE/Cargo.lock"
    reused=1
fi

# ---------------------------------------------------------------------------------------------
# 4. Build; when cargo refuses locked crates for this rustc, re-resolve just those and retry.
build() {
    (cd "$STAGE" && "$DEB_CARGO" build --release --target "$TARGET" --bin gatehouse) >>"$LOG" 2>&1
}
pinned=()
ok=0
: >"$LOG.prev"
for _ in 1 2 3 4 5 6; do
    if build; then ok=1; break; fi
    # cargo >= 1.80: "error: rustc 1.85.0 is not supported by the following packages:
    #   darling@0.24.1 requires rustc 1.88.0"
    mapfile -t bad < <(sed -n 's/^ *\([A-Za-z0-9_-]*@[0-9][^ ]*\) requires rustc .*/\1/p' "$LOG" | sort -u)
    [ "${#bad[@]}" -gt 0 ] || break
    echo "--- re-resolving for rustc $RUSTC_VER: ${bad[*]}" >>"$LOG"
    if ! (cd "$STAGE" && CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback \
            "$DEB_CARGO" update "${bad[@]}") >>"$LOG" 2>&1; then
        break
    fi
    pinned+=("${bad[@]}")
    cat "$LOG" >>"$LOG.prev"; : >"$LOG"   # keep the history, parse only the next run
done
if [ "$ok" != 1 ]; then
    tail -n 60 "$LOG.prev" >&2
    tail -n 60 "$LOG" >&2
    die "build for $TARGET with $("$RUSTC" --version) failed (full log: $LOG)"
fi
if [ "$reused" = 0 ]; then
    cp -p "$STAGE/Cargo.lock" "$CROSS/Cargo.lock.adjusted"
    echo "$KEY" >"$CROSS/Cargo.lock.key"
    echo "re-resolved for rustc $RUSTC_VER: ${pinned[*]:-nothing}" >"$CROSS/Cargo.lock.adjusted.note"
fi

# ---------------------------------------------------------------------------------------------
# 5. Check and report.
BIN="$CARGO_TARGET_DIR/$TARGET/release/gatehouse"
[ -f "$BIN" ] || die "build succeeded but $BIN is missing"
if "$GNU-readelf" -lW "$BIN" | grep -q 'Requesting program interpreter'; then
    die "$BIN is dynamically linked (expected +crt-static)"
fi
OUT="$BIN"
bytes="$(stat -c %s "$OUT")"
printf '%s: %s bytes (%s MiB), static, rustc %s\n' \
    "${OUT#"$ROOT"/}" "$bytes" "$(awk "BEGIN{printf \"%.1f\", $bytes/1048576}")" "$RUSTC_VER"
