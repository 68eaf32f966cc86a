#!/usr/bin/env bash
# The README's curl session, run for real against a fresh server: start it, register a game
# through the admin socket, authenticate a device, call RPCs as a player (object body and a
# Nakama-style string body) and as a server (http key). Exits non-zero on the first surprise.
# Usage: scripts/smoke.sh [path/to/outpost]   (default: builds and uses target/debug/outpost)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
  (cd "$root" && cargo build --quiet --bin outpost)
  bin="$root/target/debug/outpost"
fi
work=$(mktemp -d)
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
OUTPOST_SERVER_LISTEN=127.0.0.1:0 OUTPOST_CONSOLE_LISTEN=127.0.0.1:0 OUTPOST_LOG_LEVEL=warn "$bin" serve >out.log 2>err.log &
pid=$!
for _ in $(seq 1 100); do grep -q '^ready https=' out.log 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's/^ready https=//p' out.log)
[ -n "$addr" ] || { cat err.log; echo "smoke: server did not start"; exit 1; }
SK=$(awk '/server key/ {print $3}' out.log)
HK=$(awk '/http key/ {print $3}' out.log)
[ -n "$SK" ] && [ -n "$HK" ] || { echo "smoke: first run did not print the keys"; exit 1; }
url="https://$addr"
curl_() { curl -sS --cacert certs/cert.pem "$@"; }
expect() { # expect NAME TEXT NEEDLE
  case "$2" in *"$3"*) echo "ok   $1" ;; *) echo "FAIL $1: $2"; exit 1 ;; esac
}

GAME=$("$bin" --data-dir data game create "Space Arena")
expect "game create through the admin socket" "$GAME" "-"

auth=$(curl_ -u "$SK:" -X POST "$url/v2/account/authenticate/device?create=true&username=ada" \
  -d '{"id": "device-ada-000001", "vars": {"game_id": "'"$GAME"'"}}')
expect "authenticate creates the account" "$auth" '"created":true'
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
TOKEN=$(printf '%s' "$auth" | json '["token"]')

r=$(curl_ -H "Authorization: Bearer $TOKEN" "$url/v2/rpc/profile_update" -d '{"display_name": "Ada"}')
expect "object body, session game" "$r" '"display_name":"Ada"'
r=$(curl_ -H "Authorization: Bearer $TOKEN" "$url/v2/rpc/profile_get" -d '"{}"')
expect "string body gives a payload string" "$r" '"payload":"{'
USER_ID=$(curl_ -H "Authorization: Bearer $TOKEN" "$url/v2/account" | json '["user"]["id"]')
r=$(curl_ "$url/v2/rpc/profile_update?http_key=$HK" \
  -d '{"game_id": "'"$GAME"'", "user_id": "'"$USER_ID"'", "add_xp": 250}')
expect "server call with the http key" "$r" '"xp":250'
r=$(curl_ -H "Authorization: Bearer $TOKEN" "$url/v2/rpc/profile_update" -d '{"add_xp": 250}')
expect "players cannot grant themselves XP" "$r" '"code":7'
r=$(curl_ "$url/healthcheck")
expect "healthcheck" "$r" '"status":"ok"'
echo "smoke: 7 passed, 0 failed"
