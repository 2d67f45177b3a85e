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
WORKLOADS=${WORKLOADS:-same first-sight rotation invalid dpop}
PROOF_COUNT=${PROOF_COUNT:-150000}
TARGET_DIR=$(target_dir)
WORK=$(mktemp -d)
trap 'kill "${SERVER:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

need_wrk_and_two_cores

if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p scopegate-bench-server
  BIN="$TARGET_DIR/release/bench-server"
fi

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

# run MODE WORKLOAD -> one table row
run() {
  local mode=$1 workload=$2 file duration=$DURATION tokens=10
  case $workload in
    same) file=same.txt ;;
    # 20,000 tokens for 4 s: no token is sent twice at a verify-bound rate (~4,000/s per core),
    # so every request is a first sight. The table shows the request count to check.
    first-sight) file=distinct.txt; duration=4; tokens=20000 ;;
    rotation) file=distinct.txt; tokens=10000 ;;
    invalid) file=invalid.txt ;;
  esac
  start_server "$mode" "$tokens"
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
