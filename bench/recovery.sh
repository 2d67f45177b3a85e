#!/usr/bin/env bash
# Recovery after an issuer outage at start: how long the shopping API takes to become ready once
# its issuer is back, for each outage length given (seconds). Usage: bench/recovery.sh 2 15 45
# A: the shopping API trusting http://127.0.0.1:P/oidc, where nothing listens (WARM_UP_SECS=0).
# After the outage, B: a second shopping API without ISSUER, whose embedded dev issuer binds P.
# Prints the seconds from B's banner to A's first `/ready` 200, polled every 100 ms, with no token
# traffic: only the background retries and the probes bring the keys.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p shopping-api
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET_DIR/debug/shopping-api
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
for OUTAGE in "$@"; do
  P=$(free_port); A=$(free_port); B=$(free_port)
  ISSUER=http://127.0.0.1:$P/oidc BIND=127.0.0.1:$A WARM_UP_SECS=0 RUST_LOG=error "$BIN" >/dev/null 2>&1 &
  APID=$!
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$A/health" && break; sleep 0.1; done
  sleep "$OUTAGE"
  BIND=127.0.0.1:$B DEV_ISSUER_BIND=127.0.0.1:$P RUST_LOG=error "$BIN" >"$LOG" 2>&1 &
  BPID=$!
  for _ in $(seq 600); do grep -q "listening" "$LOG" && break; sleep 0.05; done
  T0=$(date +%s.%N)
  for _ in $(seq 600); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$A/ready")" = 200 ] && break
    sleep 0.1
  done
  T1=$(date +%s.%N)
  echo "outage ${OUTAGE} s: ready $(python3 -c "print(round($T1 - $T0, 2))") s after the issuer came up"
  kill "$APID" "$BPID"; wait "$APID" "$BPID" 2>/dev/null || true
done
