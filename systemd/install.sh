#!/usr/bin/env bash
# Install (or upgrade) Gatehouse as a systemd service on the box. Run as root:
#
#   systemd/install.sh [--dry-run] [--config FILE] BINARY
#
#   BINARY        the gatehouse binary for this machine (e.g. from scripts/cross-aarch64.sh)
#   --config FILE default configuration to install when /etc/gatehouse/gatehouse.toml does not
#                 exist yet (default: assets/gatehouse.toml next to this script's folder);
#                 an existing configuration is never overwritten
#   --dry-run     print what would be done and change nothing (no root or systemd needed)
#
# What it does, each step only when needed (safe to run again, e.g. to upgrade the binary):
#   system group + user `gatehouse` (no login shell, home /var/lib/gatehouse);
#   /usr/local/bin/gatehouse, /etc/systemd/system/gatehouse.service,
#   /etc/gatehouse/gatehouse.toml (root:gatehouse 0640), /var/backups/gatehouse (gatehouse 0750);
#   systemctl daemon-reload, enable --now (restart when the binary or unit changed);
#   then says where the first-run credentials wait (a 0600 file the console shows once).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
UNIT_SRC="$HERE/gatehouse.service"
CONFIG_SRC="$REPO/assets/gatehouse.toml"
DRY=0
BIN_SRC=""

USER_NAME=gatehouse
BIN_DST=/usr/local/bin/gatehouse
UNIT_DST=/etc/systemd/system/gatehouse.service
CONF_DIR=/etc/gatehouse
CONF_DST=$CONF_DIR/gatehouse.toml
STATE_DIR=/var/lib/gatehouse
BACKUP_DIR=/var/backups/gatehouse
SERVICE=gatehouse.service

usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "install: error: $*" >&2; exit 1; }
say() { echo "install: $*"; }
# run CMD...: execute, or only show it under --dry-run.
run() {
    if [ "$DRY" = 1 ]; then printf 'would run:'; printf ' %q' "$@"; printf '\n'; else "$@"; fi
}

while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY=1; shift ;;
        --config) [ $# -ge 2 ] || die "--config needs a file"; CONFIG_SRC="$2"; shift 2 ;;
        --config=*) CONFIG_SRC="${1#--config=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [ -z "$BIN_SRC" ] || die "only one BINARY expected"; BIN_SRC="$1"; shift ;;
    esac
done

# --- preconditions (checked in --dry-run too) -----------------------------------------------
[ -n "$BIN_SRC" ] || { usage >&2; exit 2; }
[ -f "$BIN_SRC" ] || die "$BIN_SRC: no such file"
[ -f "$UNIT_SRC" ] || die "$UNIT_SRC missing (run this script from the gatehouse source tree)"
if [ "$DRY" = 0 ]; then
    [ "$(id -u)" = 0 ] || die "run as root (or with --dry-run)"
    [ -d /run/systemd/system ] || die "systemd is not running here (try --dry-run)"
    # Catches a binary for another architecture (Exec format error) before anything is changed.
    out="$("$BIN_SRC" --help 2>&1)" || die "$BIN_SRC does not run on this machine: $(echo "$out" | head -n3)"
fi
[ "$DRY" = 1 ] && say "dry run: nothing will be changed"

NOLOGIN=/usr/sbin/nologin
[ -x "$NOLOGIN" ] || NOLOGIN=/sbin/nologin
[ -x "$NOLOGIN" ] || NOLOGIN=/bin/false

# --- user and group -------------------------------------------------------------------------
if ! getent group "$USER_NAME" >/dev/null; then
    run groupadd --system "$USER_NAME"
fi
if ! getent passwd "$USER_NAME" >/dev/null; then
    run useradd --system --gid "$USER_NAME" --home-dir "$STATE_DIR" --no-create-home \
        --shell "$NOLOGIN" --comment "Gatehouse server" "$USER_NAME"
fi

# --- binary and unit (atomic replace: a running binary is never written in place) -----------
changed=0
install_file() {  # install_file SRC DST MODE; the replaced file is kept as DST.prev
    if [ -f "$2" ] && cmp -s "$1" "$2"; then return 0; fi
    changed=1
    if [ -f "$2" ]; then run cp -p "$2" "$2.prev"; fi
    run install -D -m "$3" -o root -g root "$1" "$2.new"
    run mv -f "$2.new" "$2"
}
install_file "$BIN_SRC" "$BIN_DST" 0755
install_file "$UNIT_SRC" "$UNIT_DST" 0644

# --- configuration (never overwritten) ------------------------------------------------------
if [ ! -d "$CONF_DIR" ]; then
    run install -d -m 0750 -o root -g "$USER_NAME" "$CONF_DIR"
fi
if [ ! -e "$CONF_DST" ]; then
    if [ -f "$CONFIG_SRC" ]; then
        run install -m 0640 -o root -g "$USER_NAME" "$CONFIG_SRC" "$CONF_DST"
    else
        # Every setting has a default; an empty file is a valid configuration.
        say "warning: $CONFIG_SRC not found; installing an empty $CONF_DST (all defaults)"
        if [ "$DRY" = 1 ]; then
            echo "would write: $CONF_DST (comment only, root:$USER_NAME 0640)"
        else
            tmp="$(mktemp "$CONF_DIR/.gatehouse.toml.XXXXXX")"
            printf '# Gatehouse configuration. Every setting has a default; see the documentation.\n' >"$tmp"
            chown "root:$USER_NAME" "$tmp"; chmod 0640 "$tmp"
            mv -f "$tmp" "$CONF_DST"
        fi
    fi
fi

# --- backup folder (left alone when it exists: it may be a mounted USB stick) ---------------
if [ ! -d "$BACKUP_DIR" ]; then
    run install -d -m 0750 -o "$USER_NAME" -g "$USER_NAME" "$BACKUP_DIR"
fi

# --- start ----------------------------------------------------------------------------------
run systemctl daemon-reload
if [ "$changed" = 1 ]; then
    run systemctl enable --quiet "$SERVICE"
    start=(systemctl restart "$SERVICE")   # picks up a new binary/unit; starts it if stopped
else
    start=(systemctl enable --quiet --now "$SERVICE")
fi
# Type=notify: this returns once the server reported READY=1, or fails.
if [ "$DRY" = 1 ]; then
    run "${start[@]}"
elif ! "${start[@]}"; then
    systemctl --no-pager --lines=0 status "$SERVICE" >&2 || true
    journalctl -u "$SERVICE" -b --no-pager -n 30 -o cat >&2 || true
    [ "$changed" = 1 ] && [ -f "$BIN_DST.prev" ] && \
        say "the previous binary is $BIN_DST.prev (roll back: mv $BIN_DST.prev $BIN_DST && systemctl restart gatehouse)" >&2
    die "$SERVICE did not start (see above; full log: journalctl -u gatehouse)"
fi

# --- first-run credentials ------------------------------------------------------------------
# The server never prints or logs them (the journal keeps everything for ever): it writes them to
# a 0600 file in the state directory, which the console shows once and then deletes.
CREDS="$STATE_DIR/first-run-credentials.txt"
if [ "$DRY" = 1 ]; then
    echo "would tell where the first-run credentials wait: $CREDS"
    exit 0
fi
say "gatehouse is running (pid $(systemctl show -p MainPID --value "$SERVICE"), state $STATE_DIR)"
for _ in 1 2 3 4 5 6 7 8 9 10; do   # the first start may still be creating the store
    [ -f "$CREDS" ] && break
    sleep 0.5
done
if [ -f "$CREDS" ]; then
    say "first-run credentials (admin password, client key pair) are in $CREDS (mode 0600)."
    say "open the console (Users screen, F) to see them once (the file is then deleted) and store them safely."
else
    say "no first-run credentials waiting (the store already existed, or the console showed them). Add an admin with:"
    say "  GATEHOUSE_ADMIN_SOCKET=/run/gatehouse/admin.sock gatehouse user add --state $STATE_DIR --username NAME --password PASS [--role R]"
fi
say "console: GATEHOUSE_ADMIN_SOCKET=/run/gatehouse/admin.sock gatehouse console (as root or a member of group $USER_NAME)"
