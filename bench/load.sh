#!/usr/bin/env bash
# Load benchmark: the shopping API's GET /products (release build) pinned to core 0, wrk pinned
# to core 1, for three workloads under three auth modes, all in one run so ratios compare like
# with like. Usage: bench/load.sh   (DURATION=10 CONNECTIONS=32 ROUNDS=3 by default)
# WORKLOADS="same invalid" runs some workloads only; BIN=path measures a bench-server binary
# built elsewhere (e.g. from an older checkout) instead of building this one.
# Machines here are noisy: each workload runs ROUNDS times with the modes interleaved, and the
# table shows medians (with the spread of req/s).
# Columns: JWKS = fetches during the run (after warm-up); RSS grew = resident memory added
# during the run (for first-sight/rotation: the 10,000 cached tokens).
#
# Workloads: same (one token), first-sight (20,000 tokens, none sent twice), rotation (10,000
# tokens in rotation from a cold cache: mostly first sights, the warm-up itself), warm-rotation
# (the same 10,000 tokens, each sent once before the timed window (bench/once.lua), so the window
# measures the warmed state many clients reusing their tokens live in), invalid (a bad
# signature), dpop (below), memory (below).
#
# Memory: WORKLOADS=memory bench/load.sh (also part of the default run)
#   for MEMORY_SIZES (default "10000 100000") tokens: a scopegate server with a cache of that
#   capacity gets every token once (bench/once.lua); RSS growth / cached tokens is the memory per
#   entry. The same with the cache off (CACHE_CAPACITY=0) shows what the same traffic costs
#   without caching. No timed window: wrk stops once every token was answered.
#   Before/after: MEMORY_BEFORE_BIN=/path/to/an/older/bench-server adds its rows.
#
# Before/after: BEFORE_BIN=/path/to/an/older/bench-server bench/load.sh
#   runs only the `refresh` workload: 10,000 tokens in rotation for REFRESH_DURATION (130 s)
#   with the key set refreshed every REFRESH_INTERVAL_S (60 s, Logto's max-age=0 at the
#   library's floor), so each run spans two refreshes; the older binary and this checkout's
#   (or AFTER_BIN) alternate, ROUNDS times each, in one session. Build the older binary from a
#   separate checkout with this bench/server (it uses only API the older library has), e.g.
#     git worktree add /tmp/before b1e3c12 && cp -r bench/server /tmp/before/bench/
#     (cd /tmp/before && cargo build --release -p scopegate-bench-server)
#   Column checks = signature verifications during the run (scopegate_signature_checks_total).
#
# DPoP: WORKLOADS=dpop bench/load.sh (also part of the default run)
#   one DPoP-bound token with a fresh pre-made proof per request (PROOF_COUNT proofs, each with
#   its own jti, default 150,000), against the same claims without cnf as a plain Bearer token,
#   and against a raw ES256 verification of the same proofs per request (AUTH_MODE=es256, the
#   floor of any DPoP check); ROUNDS rounds, the three interleaved, medians and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
WORKLOADS=${WORKLOADS:-same first-sight rotation warm-rotation invalid dpop memory}
MEMORY_SIZES=${MEMORY_SIZES:-10000 100000}
PROOF_COUNT=${PROOF_COUNT:-150000}
WORK=$(mktemp -d)
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

need_wrk_and_two_cores

BIN=${BIN:-$(bench_server)}

# start_server MODE TOKENS [BINARY] -> sets SERVER (pid) and ADDR
start_server() {
  start_pinned "${3:-$BIN}" AUTH_MODE="$1" TOKEN_COUNT="$2" PROOF_COUNT="${SERVER_PROOFS:-0}"
}

jwks_requests() {
  curl -s "http://$ADDR/bench/stats" | sed -E 's/.*"jwks_requests":([0-9]+).*/\1/'
}

signature_checks() {
  curl -s "http://$ADDR/bench/stats" | sed -E 's/.*"signature_checks":([0-9]+).*/\1/'
}

# compare LABEL BINARY -> one row of the before/after table
compare() {
  local label=$1 binary=$2
  REFRESH_INTERVAL_S=${REFRESH_INTERVAL_S:-60} start_server scopegate 10000 "$binary"
  local checks_before jwks_before
  checks_before=$(signature_checks)
  jwks_before=$(jwks_requests)
  run_wrk "$WORK/wrk.out" "${REFRESH_DURATION:-130}" "$CONNECTIONS" bench/tokens.lua "$WORK/distinct.txt"
  local rps p50 p99 non2xx checks jwks
  read -r rps p50 p99 non2xx <<<"$(wrk_fields "$WORK/wrk.out")"
  checks=$(($(signature_checks) - checks_before))
  jwks=$(($(jwks_requests) - jwks_before))
  stop_server
  printf '%s %s %s %s %s %s %s\n' "$label" "$rps" "$p50" "$p99" "$non2xx" "$checks" "$jwks" >>"$WORK/compare"
}

if [ -n "${BEFORE_BIN:-}" ]; then
  AFTER_BIN=${AFTER_BIN:-$BIN}
  for bin in "$BEFORE_BIN" "$AFTER_BIN"; do
    [ -x "$bin" ] || { echo "not an executable: $bin" >&2; exit 1; }
  done
  for round in $(seq 1 "$ROUNDS"); do
    compare before "$BEFORE_BIN"
    compare after "$AFTER_BIN"
  done
  bench_python "$WORK/compare" <<'PY'
runs = grouped(sys.argv[1])

def median(label, column, parse=float):
    return med(runs[label], column, parse)

print(f"{'binary':<8} {'req/s':>8} {'(min-max)':>15} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>8} {'checks':>8} {'JWKS':>5}")
for label in ["before", "after"]:
    rows = runs[label]
    print(f"{label:<8} {median(label, 1):>8.0f} {spread(rows, 1):>15} {median(label, 2, ms):>7.2f} {median(label, 3, ms):>7.2f} "
          f"{max(int(r[4]) for r in rows):>8} {median(label, 5):>8.0f} {max(int(r[6]) for r in rows):>5}")
print(f"after/before (medians): req/s {median('after', 1) / median('before', 1):.2f}x, "
      f"p99 {median('after', 3, ms) / median('before', 3, ms):.2f}x, "
      f"signature checks {median('after', 5) / median('before', 5):.2f}x")
print("checks: signature verifications during one run (10,000 first sights, plus what each refresh flushed)")
PY
  exit 0
fi

# send_once FILE -> every token of FILE sent once to a scopegate server (bench/once.lua), on 8
# connections (enough to keep one core verifying, few enough not to queue past the verification
# pool's deadline); returns once the server has verified them all, or has stopped verifying for
# 3 s (the few a loaded machine sheds with 503 stay uncached: the memory table counts what is
# cached). wrk's clock runs its whole -d even when the script stops sending, so it is
# interrupted here instead (it still prints its summary).
send_once() {
  local file=$1 count wrk_pid checks last=-1 still=0
  count=$(grep -c . "$WORK/$file")
  taskset -c 1 wrk -t1 -c8 -d600s -s bench/once.lua "http://$ADDR/products" -- "$WORK/$file" \
    >"$WORK/once.out" &
  wrk_pid=$!
  while [ "$still" -lt 30 ]; do
    checks=$(signature_checks)
    [ "$checks" -ge "$count" ] && break
    if [ "$checks" = "$last" ]; then still=$((still + 1)); else still=0; last=$checks; fi
    sleep 0.1
  done
  kill -INT "$wrk_pid" 2>/dev/null || true
  wait "$wrk_pid" || true
  WARM_REFUSED=$(awk '/Non-2xx/ {print $5}' "$WORK/once.out"); WARM_REFUSED=${WARM_REFUSED:-0}
  if [ "$WARM_REFUSED" -gt $((count / 100)) ]; then
    echo "warm-up: $WARM_REFUSED of $count tokens refused" >&2; cat "$WORK/once.out" "$WORK/server.log" >&2; exit 1
  fi
}

cached_tokens() {
  curl -s "http://$ADDR/bench/stats" | sed -E 's/.*"cached_tokens":([0-9]+).*/\1/'
}

# run MODE WORKLOAD -> one table row
run() {
  local mode=$1 workload=$2 file duration=$DURATION tokens=10 warm=
  case $workload in
    same) file=same.txt ;;
    # 20,000 tokens for 4 s: no token is sent twice at a verify-bound rate (~4,000/s per core),
    # so every request is a first sight. The table shows the request count to check.
    first-sight) file=distinct.txt; duration=4; tokens=20000 ;;
    rotation) file=distinct.txt; tokens=10000 ;;
    warm-rotation) file=distinct.txt; tokens=10000; warm=1 ;;
    invalid) file=invalid.txt ;;
  esac
  start_server "$mode" "$tokens"
  # Only scopegate caches: the other modes have nothing to warm.
  [ -z "$warm" ] || [ "$mode" != scopegate ] || send_once "$file"
  local rss_before jwks_before
  rss_before=$(memory_kb VmRSS)
  jwks_before=$(jwks_requests)
  run_wrk "$WORK/wrk.out" "$duration" "$CONNECTIONS" bench/tokens.lua "$WORK/$file"
  local rps p50 p99 non2xx hwm rss jwks requests
  read -r rps p50 p99 non2xx <<<"$(wrk_fields "$WORK/wrk.out")"
  hwm=$(memory_kb VmHWM)
  rss=$(memory_kb VmRSS)
  jwks=$(($(jwks_requests) - jwks_before))
  requests=$(wrk_requests "$WORK/wrk.out")
  stop_server
  printf '%s %s %s %s %s %s %s %s %s %s\n' "$mode" "$workload" "$rps" "$p50" "$p99" "$non2xx" "$hwm" "$((rss - rss_before))" "$jwks" "$requests" >>"$WORK/results"
}

# run_dpop LABEL -> one row of the DPoP table: es256 (raw verify floor), bearer, dpop
run_dpop() {
  local label=$1 mode=scopegate token=dpop_token.txt scheme=DPoP proofs=$PROOF_COUNT
  case $label in
    es256) mode=es256 ;;
    bearer) token=dpop_twin.txt; scheme=Bearer; proofs=1 ;;
  esac
  SERVER_PROOFS=$proofs start_server "$mode" 10
  run_wrk "$WORK/wrk.out" "$DURATION" "$CONNECTIONS" bench/dpop.lua "$WORK/$token" "$WORK/proofs.txt" "$scheme"
  local rps p50 p99 non2xx requests
  read -r rps p50 p99 non2xx <<<"$(wrk_fields "$WORK/wrk.out")"
  requests=$(wrk_requests "$WORK/wrk.out")
  stop_server
  printf '%s %s %s %s %s %s\n' "$label" "$rps" "$p50" "$p99" "$non2xx" "$requests" >>"$WORK/dpop"
}

if [[ " $WORKLOADS " == *" dpop "* ]]; then
  for round in $(seq 1 "$ROUNDS"); do
    for label in es256 bearer dpop; do
      run_dpop "$label"
    done
  done
  bench_python "$WORK/dpop" "$PROOF_COUNT" <<'PY'
runs = grouped(sys.argv[1])

def median(label, column, parse=float):
    return med(runs[label], column, parse)

names = {"es256": "raw ES256 verify/request", "bearer": "Bearer (same claims, no cnf)", "dpop": "DPoP, fresh proof/request"}
print(f"{'dpop workload':<30} {'req/s':>8} {'(min-max)':>15} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>8}  ratios (medians)")
for label in ["es256", "bearer", "dpop"]:
    rows = runs[label]
    ratio = ""
    if label == "dpop":
        ratio = f"{median('dpop', 1) / median('es256', 1):.2f}x raw ES256 floor, {median('dpop', 1) / median('bearer', 1):.2f}x Bearer"
    print(f"{names[label]:<30} {median(label, 1):>8.0f} {spread(rows, 1):>15} {median(label, 2, ms):>7.2f} {median(label, 3, ms):>7.2f} "
          f"{max(int(r[4]) for r in rows):>8}  {ratio}")
most = max(int(r[5]) for r in runs["dpop"] + runs["es256"])
print(f"proofs: {sys.argv[2]} per run, at most {most} requests in a run" + ("" if most <= int(sys.argv[2]) else ": WARNING, proofs were reused (replays answer 401)"))
PY
  WORKLOADS=${WORKLOADS//dpop/}
  [ -n "${WORKLOADS// /}" ] || exit 0
fi

# run_memory LABEL TOKENS CAPACITY BINARY -> one row of the memory table: RSS before and after
# TOKENS tokens were each sent once, and the tokens verified (= cached, when CAPACITY >= TOKENS)
run_memory() {
  local label=$1 tokens=$2 capacity=$3 binary=$4
  CACHE_CAPACITY=$capacity start_server scopegate "$tokens" "$binary"
  local rss_before rss cached
  rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
  send_once distinct.txt
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER/status")
  # A server built before /bench/stats reported it: every verified token is cached.
  cached=$(cached_tokens)
  [[ "$cached" =~ ^[0-9]+$ ]] || cached=$(( $(signature_checks) - WARM_REFUSED ))
  stop_server
  printf '%s %s %s %s %s %s %s\n' "$label" "$tokens" "$capacity" "$rss_before" "$rss" "$cached" "$WARM_REFUSED" >>"$WORK/memory"
}

if [[ " $WORKLOADS " == *" memory "* ]]; then
  for tokens in $MEMORY_SIZES; do
    [ -z "${MEMORY_BEFORE_BIN:-}" ] || run_memory before "$tokens" "$tokens" "$MEMORY_BEFORE_BIN"
    run_memory this "$tokens" "$tokens" "$BIN"
    run_memory this "$tokens" 0 "$BIN"
  done
  python3 - "$WORK/memory" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
print(f"{'memory':<8} {'tokens':>7} {'cache':>6} {'RSS before':>11} {'RSS after':>10} {'grew':>9} {'cached':>7} {'refused':>8} {'grew/entry':>11}")
for label, tokens, capacity, before, after, cached, refused in rows:
    grew = (int(after) - int(before)) * 1024
    cache = "off" if capacity == "0" else "on"
    per = f"{grew / int(cached):>9.0f} B" if cache == "on" else f"{grew / int(tokens):>7.0f} B/t"
    print(f"{label:<8} {int(tokens):>7} {cache:>6} {int(before) / 1024:>9.1f}MB {int(after) / 1024:>8.1f}MB "
          f"{grew / 2**20:>7.1f}MB {int(cached) if cache == 'on' else 0:>7} {int(refused):>8} {per:>11}")
print("grew/entry (cache on): RSS growth / cached tokens, the memory per cached entry. Cache off: RSS growth")
print("per token sent (B/t), what the same traffic leaves behind without caching. refused: warm-up 503s.")
PY
  WORKLOADS=${WORKLOADS//memory/}
  [ -n "${WORKLOADS// /}" ] || exit 0
fi

for workload in $WORKLOADS; do
  for round in $(seq 1 "$ROUNDS"); do
    for mode in off baseline scopegate; do
      run "$mode" "$workload"
    done
  done
done

bench_python "$WORK/results" $WORKLOADS <<'PY'
runs = grouped(sys.argv[1], 2)

def median(mode, w, column, parse=float):
    return med(runs[(mode, w)], column, parse)

rps = lambda mode, w: median(mode, w, 2)
print(f"{'workload':<12} {'mode':<10} {'req/s':>8} {'(min-max)':>15} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>8} {'peak RSS':>9} {'RSS grew':>9} {'JWKS':>5}  ratios (medians)")
for w in sys.argv[2:]:
    for mode in ["off", "baseline", "scopegate"]:
        rows = runs[(mode, w)]
        ratio = ""
        if mode == "scopegate":
            ratio = f"{rps('scopegate', w) / rps('off', w):.2f}x ceiling, {rps('scopegate', w) / rps('baseline', w):.2f}x baseline"
            if w == "invalid" and ("baseline", "same") in runs:
                ratio += f", {rps('scopegate', w) / rps('baseline', 'same'):.2f}x baseline's valid-token rate"
        non2xx = max(int(r[5]) for r in rows)
        requests = min(int(r[9]) for r in rows)
        print(f"{w:<12} {mode:<10} {rps(mode, w):>8.0f} {spread(rows, 2):>15} {median(mode, w, 3, ms):>7.2f} {median(mode, w, 4, ms):>7.2f} "
              f"{non2xx:>8} {median(mode, w, 6) / 1024:>7.1f}MB {median(mode, w, 7) / 1024:>7.1f}MB {max(int(r[8]) for r in rows):>5}  {ratio}")
print("non-2xx: the most in any round (the invalid workload must be all 401); JWKS: the most fetches in any round")
if "first-sight" not in sys.argv[2:]:
    sys.exit()
fs = max(int(r[9]) for r in runs[("scopegate", "first-sight")] + runs[("baseline", "first-sight")])
print(f"first-sight: at most {fs} requests in a round for 20,000 distinct tokens, so none was seen twice" if fs <= 20000 else f"WARNING: first-sight sent {fs} requests, more than its 20,000 tokens")
PY
