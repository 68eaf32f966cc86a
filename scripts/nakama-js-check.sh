#!/usr/bin/env bash
# Runs the official Nakama JavaScript SDK (@heroiclabs/nakama-js 2.8.0, from the npm
# registry) against a freshly started Outpost. Needs node and npm; builds the debug binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --quiet --bin outpost
bin="$root/target/debug/outpost"
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$root/scripts/nakama-js" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
game=$(cd "$work" && "$bin" --data-dir data game create nakama-js)
(cd "$work" && OUTPOST_SERVER_KEY=njs-server-key OUTPOST_HTTP_KEY=njs-http-key \
  OUTPOST_SERVER_LISTEN=127.0.0.1:0 OUTPOST_CONSOLE_LISTEN=127.0.0.1:0 OUTPOST_LOG_LEVEL=warn \
  exec "$bin" serve >"$work/out.log" 2>"$work/err.log") &
pid=$!
for _ in $(seq 1 100); do
  grep -q '^ready https=' "$work/out.log" 2>/dev/null && break
  sleep 0.1
done
port=$(sed -n 's/^ready https=.*:\([0-9]*\)$/\1/p' "$work/out.log")
[ -n "$port" ] || { cat "$work/err.log"; echo "server did not start"; exit 1; }
cd "$root/scripts/nakama-js"
NODE_EXTRA_CA_CERTS="$work/certs/cert.pem" OUTPOST_PORT="$port" OUTPOST_SERVER_KEY=njs-server-key \
  OUTPOST_HTTP_KEY=njs-http-key GAME_ID="$game" OUTPOST_BIN="$bin" OUTPOST_WORKDIR="$work" node check.mjs
