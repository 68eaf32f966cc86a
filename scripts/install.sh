#!/usr/bin/env bash
# Installs Outpost as a hardened systemd service. Safe to run again (upgrades the binary
# and the unit, keeps config and data).
#
#   sudo scripts/install.sh                      build (cargo build --release) and install
#   sudo scripts/install.sh --binary PATH        install a binary built elsewhere
#   scripts/install.sh --root DIR [--binary P]   stage into DIR (no user, no systemctl)
#
# Installs: /usr/local/bin/outpost, /etc/systemd/system/outpost.service,
# /etc/outpost/outpost.toml (from outpost.toml.example, only if absent), /var/lib/outpost,
# the `outpost` system user; then enables the unit (start it with `systemctl start outpost`).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
root=""
binary=""
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --root) root="${2:?--root needs a directory}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
root="${root%/}"
staging=0
if [ -n "$root" ]; then staging=1; mkdir -p "$root"; root="$(cd "$root" && pwd)"; fi
if [ "$staging" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (or use --root DIR to stage)" >&2
  exit 1
fi

if [ -z "$binary" ]; then
  echo "== building (cargo build --release)"
  (cd "$here" && cargo build --release --bin outpost)
  binary="$here/target/release/outpost"
fi
if [ ! -x "$binary" ]; then
  echo "install.sh: $binary is not an executable" >&2
  exit 1
fi
"$binary" --version >/dev/null || { echo "install.sh: $binary does not run" >&2; exit 1; }

echo "== binary -> $root/usr/local/bin/outpost"
install -d -m 0755 "$root/usr/local/bin"
install -m 0755 "$binary" "$root/usr/local/bin/outpost.new"
mv -f "$root/usr/local/bin/outpost.new" "$root/usr/local/bin/outpost"

if [ "$staging" = 0 ]; then
  if id -u outpost >/dev/null 2>&1; then
    echo "== user outpost exists"
  else
    echo "== creating system user outpost"
    useradd --system --user-group --home-dir /var/lib/outpost --no-create-home \
      --shell /usr/sbin/nologin --comment "Outpost game backend" outpost
  fi
else
  echo "== staging: skipping the outpost user (would be: useradd --system outpost)"
fi
owner() { if [ "$staging" = 0 ]; then chown "$@"; fi; }

echo "== config -> $root/etc/outpost/outpost.toml"
install -d -m 0750 "$root/etc/outpost"
owner root:outpost "$root/etc/outpost"
if [ -e "$root/etc/outpost/outpost.toml" ]; then
  echo "   kept the existing config"
else
  install -m 0640 "$here/outpost.toml.example" "$root/etc/outpost/outpost.toml"
  owner root:outpost "$root/etc/outpost/outpost.toml"
  echo "   created from outpost.toml.example"
fi

echo "== data -> $root/var/lib/outpost"
install -d -m 0750 "$root/var/lib/outpost"
owner -R outpost:outpost "$root/var/lib/outpost"

echo "== docs -> $root/usr/local/share/doc/outpost"
install -d -m 0755 "$root/usr/local/share/doc/outpost"
for doc in OPERATIONS.md RPC.md; do
  if [ -f "$here/docs/$doc" ]; then install -m 0644 "$here/docs/$doc" "$root/usr/local/share/doc/outpost/"; fi
done

echo "== unit -> $root/etc/systemd/system/outpost.service"
install -d -m 0755 "$root/etc/systemd/system"
install -m 0644 "$here/systemd/outpost.service" "$root/etc/systemd/system/outpost.service"

if [ "$staging" = 0 ]; then
  "$root/usr/local/bin/outpost" --config /etc/outpost/outpost.toml config check >/dev/null
  systemctl daemon-reload
  systemctl enable outpost.service
  if systemctl is-active --quiet outpost.service; then
    echo "== restarting the running service on the new binary"
    systemctl restart outpost.service
  fi
  echo
  echo "Installed. Next:"
  echo "  sudo systemctl start outpost && journalctl -u outpost -f   (first start prints the keys)"
  echo "  sudo -u outpost outpost status"
else
  echo
  echo "Staged into $root (not enabled: no systemctl in staging mode)."
fi
