#!/usr/bin/env bash
# Availability under a forgery flood (issue 22). The bench server (the shopping API's
# GET /products behind BearerAuthLayer, one tokio worker) is pinned to core 0; on core 1, a
# legitimate client with one valid, cached token on CLIENT_CONNECTIONS connections measures
# req/s, p50 and p99 alone, then again while an attacker without credentials floods
# FLOOD_CONNECTIONS connections with distinct forged ES384 tokens (bench/forge.lua).
#
# Usage: bench/flood.sh [BEFORE_BIN AFTER_BIN]
#   With two bench-server binaries (e.g. one built from an older checkout), both are measured in
#   one run, rounds interleaved. With none, this checkout's bench server is built and measured.
#   DURATION=10 ROUNDS=3 FLOOD_CONNECTIONS=32 CLIENT_CONNECTIONS=4 by default.
# The table shows medians over the rounds; "kept" is during / alone of the same build and round.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-32}
CLIENT_CONNECTIONS=${CLIENT_CONNECTIONS:-4}
WORK=$(mktemp -d)
trap 'kill "${FLOOD:-}" "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "needs 2 cores: one for the server, one for wrk" >&2
  exit 1
fi

if [ $# -eq 2 ]; then
  LABELS=(before after)
  BINS=("$1" "$2")
elif [ $# -eq 0 ]; then
  TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
  cargo build --release -q -p scopegate-bench-server
  LABELS=(this)
  BINS=("$TARGET_DIR/release/bench-server")
else
  echo "usage: bench/flood.sh [BEFORE_BIN AFTER_BIN]" >&2
  exit 2
fi

# start_server BIN -> sets SERVER (pid) and ADDR
start_server() {
  rm -f "$WORK/ready"
  AUTH_MODE=scopegate TOKEN_COUNT=10 TOKENS_DIR=$WORK taskset -c 0 "$1" >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 600); do
    [ -s "$WORK/ready" ] && break
    sleep 0.1
  done
  [ -s "$WORK/ready" ] || { echo "server did not start"; cat "$WORK/server.log"; exit 1; }
  ADDR=$(cat "$WORK/ready")
}

stop_server() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
}

jwks_requests() {
  curl -s "http://$ADDR/bench/stats" | sed -E 's/.*"jwks_requests":([0-9]+).*/\1/'
}

# client OUT: the legitimate client, one cached token
client() {
  taskset -c 1 wrk -t1 -c"$CLIENT_CONNECTIONS" -d"${DURATION}s" --latency -s bench/tokens.lua \
    "http://$ADDR/products" -- "$WORK/same.txt" >"$1"
}

# fields OUT -> "req/s p50 p99 non-2xx" of one wrk output
fields() {
  local non2xx
  non2xx=$(awk '/Non-2xx/ {print $5}' "$1")
  printf '%s %s %s %s' "$(awk '/Requests\/sec/ {print $2}' "$1")" \
    "$(awk '$1 == "50%" {print $2}' "$1")" "$(awk '$1 == "99%" {print $2}' "$1")" "${non2xx:-0}"
}

for round in $(seq 1 "$ROUNDS"); do
  for i in "${!BINS[@]}"; do
    label=${LABELS[$i]}
    start_server "${BINS[$i]}"
    # One request makes the client's token a cached one, as it is in production.
    curl -s -o /dev/null -H "Authorization: Bearer $(head -n1 "$WORK/same.txt")" "http://$ADDR/products"
    client "$WORK/alone.out"
    jwks_before=$(jwks_requests)
    taskset -c 1 wrk -t1 -c"$FLOOD_CONNECTIONS" -d"$((DURATION + 2))s" -s bench/forge.lua \
      "http://$ADDR/products" -- "$WORK/same.txt" >"$WORK/flood.out" &
    FLOOD=$!
    sleep 1
    client "$WORK/during.out"
    wait "$FLOOD"
    jwks=$(($(jwks_requests) - jwks_before))
    stop_server
    statuses=$(awk '$1 == "status" {printf "%s:%s,", $2, $3}' "$WORK/flood.out")
    flood_rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/flood.out")
    echo "$label $round $(fields "$WORK/alone.out") $(fields "$WORK/during.out") $flood_rps ${statuses:-none} $jwks" >>"$WORK/results"
    echo "round $round $label: $(tail -n1 "$WORK/results")" >&2
  done
done

python3 - "$WORK/results" "${LABELS[@]}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
labels = sys.argv[2:]

def ms(text):  # wrk latency: 123.00us, 1.23ms, 1.23s
    for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float(text)

def med(label, column, parse=float):
    return statistics.median(parse(r[column]) for r in rows if r[0] == label)

print(f"{'build':<7} {'alone req/s':>11} {'p50 ms':>7} {'p99 ms':>7} | {'flood req/s':>11} {'p50 ms':>7} {'p99 ms':>7} | "
      f"{'kept':>6} {'p99 x':>6} | {'forgeries/s':>11} {'statuses (all rounds)':<24} {'JWKS':>4} {'legit non-2xx':>13}")
for label in labels:
    mine = [r for r in rows if r[0] == label]
    kept = statistics.median(float(r[6]) / float(r[2]) for r in mine)
    slower = statistics.median(ms(r[8]) / ms(r[4]) for r in mine)
    statuses = {}
    for r in mine:
        for item in r[11].strip(",").split(","):
            if ":" in item:
                status, count = item.split(":")
                statuses[status] = statuses.get(status, 0) + int(count)
    shown = " ".join(f"{s}:{c}" for s, c in sorted(statuses.items())) or "none"
    print(f"{label:<7} {med(label, 2):>11.0f} {med(label, 3, ms):>7.3f} {med(label, 4, ms):>7.3f} | "
          f"{med(label, 6):>11.0f} {med(label, 7, ms):>7.3f} {med(label, 8, ms):>7.3f} | "
          f"{kept:>6.1%} {slower:>5.1f}x | {med(label, 10):>11.0f} {shown:<24} {max(int(r[12]) for r in mine):>4} "
          f"{max(int(r[5]) + int(r[9]) for r in mine):>13}")
    bad = [s for s in statuses if s not in ("401", "503")]
    if bad:
        print(f"  WARNING: {label}: the flood got statuses other than 401/503: {bad}")
if len(labels) == 2:
    b, a = labels
    print(f"after/before, during the flood: {med(a, 6) / med(b, 6):.1f}x req/s, "
          f"p99 {med(a, 8, ms) / med(b, 8, ms):.3f}x; alone: {med(a, 2) / med(b, 2):.2f}x req/s")
print("kept: the client's req/s during the flood / alone (same round); p99 x: during / alone;"
      " JWKS: the most key-set fetches in any flood; legit non-2xx: the most in any round")
PY
