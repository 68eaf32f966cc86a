#!/usr/bin/env bash
# Removes the Outpost service and binary. Keeps /etc/outpost and /var/lib/outpost (the
# database, keys and backups) unless --purge, which also deletes them and the user.
#
#   sudo scripts/uninstall.sh [--purge]
#   scripts/uninstall.sh --root DIR [--purge]      undo a staged install
set -euo pipefail

root=""
purge=0
while [ $# -gt 0 ]; do
  case "$1" in
    --purge) purge=1; shift ;;
    --root) root="${2:?--root needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "uninstall.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
root="${root%/}"
staging=0
if [ -n "$root" ]; then staging=1; fi
if [ "$staging" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "uninstall.sh: run as root (or use --root DIR)" >&2
  exit 1
fi

if [ "$staging" = 0 ] && command -v systemctl >/dev/null; then
  systemctl disable --now outpost.service 2>/dev/null || true
fi
rm -f "$root/etc/systemd/system/outpost.service" "$root/usr/local/bin/outpost"
rm -rf "$root/usr/local/share/doc/outpost"
if [ "$staging" = 0 ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
fi

if [ "$purge" = 1 ]; then
  rm -rf "$root/etc/outpost" "$root/var/lib/outpost"
  if [ "$staging" = 0 ] && id -u outpost >/dev/null 2>&1; then
    userdel outpost || true
  fi
  echo "Outpost removed, with its config, data, backups and user."
else
  echo "Outpost removed. Kept: $root/etc/outpost (config) and $root/var/lib/outpost (database, keys, backups)."
  echo "Delete them too with: uninstall.sh --purge"
fi
