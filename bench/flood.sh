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
. bench/lib.sh

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-32}
CLIENT_CONNECTIONS=${CLIENT_CONNECTIONS:-4}
WORK=$(mktemp -d)
trap 'kill "${FLOOD:-}" "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

need_wrk_and_two_cores

if [ $# -eq 2 ]; then
  LABELS=(before after)
  BINS=("$1" "$2")
elif [ $# -eq 0 ]; then
  LABELS=(this)
  BINS=("$(bench_server)")
else
  echo "usage: bench/flood.sh [BEFORE_BIN AFTER_BIN]" >&2
  exit 2
fi

# start_server BIN -> sets SERVER (pid) and ADDR
start_server() {
  start_pinned "$1" AUTH_MODE=scopegate TOKEN_COUNT=10
}

jwks_requests() {
  curl -s "http://$ADDR/bench/stats" | sed -E 's/.*"jwks_requests":([0-9]+).*/\1/'
}

# client OUT: the legitimate client, one cached token
client() {
  run_wrk "$1" "$DURATION" "$CLIENT_CONNECTIONS" bench/tokens.lua "$WORK/same.txt"
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
    echo "$label $round $(wrk_fields "$WORK/alone.out") $(wrk_fields "$WORK/during.out") $flood_rps ${statuses:-none} $jwks" >>"$WORK/results"
    echo "round $round $label: $(tail -n1 "$WORK/results")" >&2
  done
done

bench_python "$WORK/results" "${LABELS[@]}" <<'PY'
rows = [line.split() for line in open(sys.argv[1])]
labels = sys.argv[2:]

def median(label, column, parse=float):
    return med([r for r in rows if r[0] == label], column, parse)

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
    print(f"{label:<7} {median(label, 2):>11.0f} {median(label, 3, ms):>7.3f} {median(label, 4, ms):>7.3f} | "
          f"{median(label, 6):>11.0f} {median(label, 7, ms):>7.3f} {median(label, 8, ms):>7.3f} | "
          f"{kept:>6.1%} {slower:>5.1f}x | {median(label, 10):>11.0f} {shown:<24} {max(int(r[12]) for r in mine):>4} "
          f"{max(int(r[5]) + int(r[9]) for r in mine):>13}")
    bad = [s for s in statuses if s not in ("401", "503")]
    if bad:
        print(f"  WARNING: {label}: the flood got statuses other than 401/503: {bad}")
if len(labels) == 2:
    b, a = labels
    print(f"after/before, during the flood: {median(a, 6) / median(b, 6):.1f}x req/s, "
          f"p99 {median(a, 8, ms) / median(b, 8, ms):.3f}x; alone: {median(a, 2) / median(b, 2):.2f}x req/s")
print("kept: the client's req/s during the flood / alone (same round); p99 x: during / alone;"
      " JWKS: the most key-set fetches in any flood; legit non-2xx: the most in any round")
PY
