#!/usr/bin/env bash
# The peer comparison: the shopping API's GET /products behind scopegate (bench/server) and behind
# each crate a user would otherwise pick, jwt-authorizer, axum-jwt-auth and
# tower-oauth2-resource-server (bench/peers: a workspace of its own, at the crates.io versions its
# Cargo.lock pins, each configured as its README shows), against the same route with auth off
# (the ceiling), all in one run. Each server is pinned to core 0 and wrk to core 1, as in
# bench/load.sh; each workload runs ROUNDS times with the servers interleaved; the tables show
# medians, each also as a ratio to the ceiling's in the same workload and run.
#
# Usage: bench/peers.sh   (DURATION=10 CONNECTIONS=32 ROUNDS=3 by default)
#   WORKLOADS="same flood" runs some workloads only; SERVERS="scopegate axum-jwt-auth" some
#   servers only (the ceiling, `off`, is always measured); BIN=path measures a bench-server built
#   elsewhere (it must know BENCH_ISSUER) for the ceiling, scopegate and the issuer.
#
# One issuer for all: a bench-server (AUTH_MODE=off, on core 1, idle while wrk runs) mints the
# ES384 tokens and serves the key set and discovery; every measured server validates against it,
# scopegate's bench-server too (BENCH_ISSUER and BENCH_JWKS_URI set), so that none carries an
# issuer in its memory.
# Workloads:
#   same         one valid token on every request
#   first-sight  20,000 distinct valid tokens for 4 s, so that none is sent twice (as load.sh's)
#   flood        distinct forged tokens: a real token's header and claims with a fresh random
#                signature (bench/forge.lua, as bench/flood.sh's attacker), so every one costs
#                every server a signature check; replays of one forgery (load.sh's `invalid`)
#                would flatter scopegate, which caches bad signatures
# Servers: off (bench-server, no auth: the ceiling), scopegate (bench-server), harness (the peers'
# handler with no auth: when it matches the ceiling, the peers' ratios measure their auth alone),
# the three peers with their default features, and tower-oauth2-aws-lc (tower-oauth2-resource-
# server with its jwt-aws-lc-rs feature: scopegate's crypto backend, to tell the backend's share).
# Columns: RSS = resident memory after the run (VmRSS); JWKS = key-set fetches during the run.
# Before the rounds, each server is checked to take and refuse what the others do: 200 and the
# ceiling's body for a valid token; 401 without a token, with a bad signature, another audience,
# another issuer, expired, an ID token (typ id+jwt); 403 without the route's scope. The table
# marks a status other than scopegate's with (not-N).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
WORKLOADS=${WORKLOADS:-same first-sight flood}
PEER_SERVERS="jwt-authorizer axum-jwt-auth tower-oauth2-resource-server tower-oauth2-aws-lc"
SERVERS="off ${SERVERS:-scopegate harness $PEER_SERVERS}"
SERVERS=$(echo "$SERVERS" | tr ' ' '\n' | awk 'NF && !seen[$0]++' | tr '\n' ' ')
FIRST_SIGHT_TOKENS=20000
WORK=$(mktemp -d)
trap 'kill "${SERVER:-}" "${ISSUER_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

need_wrk_and_two_cores
BIN=${BIN:-$(bench_server)}
# One package at a time: tower-oauth2-aws-lc's crypto feature stays out of the other builds.
for server in $SERVERS; do
  case $server in
    off | scopegate) ;;
    harness) (cd bench/peers && cargo build --release -q --locked -p peer-none) ;;
    *) (cd bench/peers && cargo build --release -q --locked -p "peer-$server") ;;
  esac
done
PEERS="$(target_dir bench/peers)/release"

CPU=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $CPU; load average $(cut -d' ' -f1-3 /proc/loadavg) at start"

# The issuer: tokens, key set and discovery for every server measured.
mkdir "$WORK/tokens"
env -u BENCH_ISSUER -u BENCH_JWKS_URI TOKENS_DIR="$WORK/tokens" AUTH_MODE=off \
  TOKEN_COUNT=$FIRST_SIGHT_TOKENS taskset -c 1 "$BIN" >"$WORK/issuer.log" 2>&1 &
ISSUER_PID=$!
wait_ready "$WORK/tokens/ready" "$WORK/issuer.log"
ISSUER_ADDR=$(cat "$WORK/tokens/ready")
ISSUER=$(sed -n 1p "$WORK/tokens/issuer.txt")
JWKS_URI=$(sed -n 2p "$WORK/tokens/issuer.txt")
# What the ceiling answers is what every server must answer.
curl -sf "http://$ISSUER_ADDR/products" >"$WORK/products.json"

# start SERVER -> SERVER (pid), ADDR
start() {
  local binary mode=""
  case $1 in
    off | scopegate) binary=$BIN; mode=$1 ;;
    harness) binary="$PEERS/peer-none" ;;
    *) binary="$PEERS/peer-$1" ;;
  esac
  start_pinned "$binary" AUTH_MODE="$mode" BENCH_ISSUER="$ISSUER" BENCH_JWKS_URI="$JWKS_URI" \
    BENCH_AUDIENCE=https://shopping.api PRODUCTS_FILE="$WORK/products.json"
}

jwks_requests() {
  curl -s "http://$ISSUER_ADDR/bench/stats" | sed -E 's/.*"jwks_requests":([0-9]+).*/\1/'
}

# status [TOKEN] -> the HTTP status of GET /products with that bearer token (none: no header)
status() {
  local auth=()
  [ -z "${1:-}" ] || auth=(-H "Authorization: Bearer $1")
  curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "http://$ADDR/products"
}

# check SERVER: what it takes and refuses, one line of the checks table; stops the run when a
# valid token does not get the ceiling's body
check() {
  local server=$1 same line expected label token got
  same=$(head -n1 "$WORK/tokens/same.txt")
  start "$server"
  if ! curl -sf -H "Authorization: Bearer $same" "http://$ADDR/products" | cmp -s - "$WORK/products.json"; then
    echo "$server: a valid token did not get the ceiling's body" >&2
    cat "$WORK/server.log" >&2
    exit 1
  fi
  line="$server valid:200"
  case $server in
    off | harness) line+=" (no auth)" ;;
    *)
      while read -r expected label token; do
        got=$(status "$token")
        line+=" $label:$got"
        [ "$got" = "$expected" ] || line+="(not-$expected)"
      done < <(echo "401 no-token"; echo "401 bad-signature $(head -n1 "$WORK/tokens/invalid.txt")";
               cat "$WORK/tokens/refused.txt")
      ;;
  esac
  stop_server
  echo "$line" >>"$WORK/checks"
}

# run SERVER WORKLOAD -> one line of results
run() {
  local server=$1 workload=$2 duration=$DURATION script=bench/tokens.lua file=same.txt
  case $workload in
    first-sight) duration=4; file=distinct.txt ;;
    flood) script=bench/forge.lua ;;
  esac
  start "$server"
  local jwks_before
  jwks_before=$(jwks_requests)
  run_wrk "$WORK/wrk.out" "$duration" "$CONNECTIONS" "$script" "$WORK/tokens/$file"
  local rps p50 p99 non2xx rss requests jwks statuses
  read -r rps p50 p99 non2xx <<<"$(wrk_fields "$WORK/wrk.out")"
  rss=$(memory_kb VmRSS)
  requests=$(wrk_requests "$WORK/wrk.out")
  jwks=$(($(jwks_requests) - jwks_before))
  statuses=$(awk '$1 == "status" {printf "%s:%s,", $2, $3}' "$WORK/wrk.out")
  stop_server
  echo "$server $workload $rps $p50 $p99 $non2xx $rss $requests $jwks ${statuses:-none}" >>"$WORK/results"
  echo "  $workload round $round: $(tail -n1 "$WORK/results")" >&2
}

for server in $SERVERS; do
  check "$server"
done
for workload in $WORKLOADS; do
  for round in $(seq 1 "$ROUNDS"); do
    for server in $SERVERS; do
      run "$server" "$workload"
    done
  done
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"

bench_python "$WORK/results" "$WORK/checks" "$FIRST_SIGHT_TOKENS" "$WORKLOADS" "$SERVERS" <<'PY'
all_runs = grouped(sys.argv[1], 2)
checks = [line.split() for line in open(sys.argv[2])]
first_sight_tokens = int(sys.argv[3])
workloads, servers = sys.argv[4].split(), sys.argv[5].split()
names = {"off": "ceiling (auth off)", "harness": "peers' harness, auth off",
         "tower-oauth2-aws-lc": "tower-oauth2-r-s, aws-lc-rs"}
titles = {"same": "same token", "first-sight": "first sight", "flood": "forged-token flood"}

def runs(server, w):
    return all_runs[(server, w)]

def figures(server, w):  # medians: req/s, p99 ms, RSS MB
    mine = runs(server, w)
    return med(mine, 2), med(mine, 4, ms), med(mine, 6) / 1024

def base_rss(server, w):
    # Memory against the same code with auth off: bench-server's ceiling for scopegate (one
    # binary, two modes), the peers' harness for the peers (their binaries hold what they link).
    own = "off" if server in ("off", "scopegate") or "harness" not in servers else "harness"
    return figures(own, w)[2]

print("\nWhat each server takes and refuses (each label: the status it got; (not-N): scopegate's status N):")
for c in checks:
    print(f"  {c[0]:<30} " + " ".join(c[1:]))

print(f"\n{'workload':<12} {'server':<30} {'req/s':>8} {'(min-max)':>13} {'p99 ms':>7} {'RSS MB':>7} | "
      f"{'req/s x':>7} {'p99 x':>6} {'RSS x':>6} | {'JWKS':>4}  answers (all rounds)")
print("(x: / the ceiling's median; RSS x: / the same code's with auth off, bench-server's or the peers' harness's)")
for w in workloads:
    ceiling = figures("off", w)
    for server in servers:
        mine = runs(server, w)
        rps, p99, rss = figures(server, w)
        statuses = {}
        for r in mine:
            for item in r[9].strip(",").split(","):
                if ":" in item:
                    status, count = item.split(":")
                    statuses[status] = statuses.get(status, 0) + int(count)
        answers = " ".join(f"{s}:{c}" for s, c in sorted(statuses.items())) or f"non-2xx: {max(int(r[5]) for r in mine)}"
        print(f"{w:<12} {names.get(server, server):<30} {rps:>8.0f} {spread(mine, 2):>13} {p99:>7.2f} {rss:>7.1f} | "
              f"{rps / ceiling[0]:>6.2f}x {p99 / ceiling[1]:>5.1f}x {rss / base_rss(server, w):>5.2f}x | "
              f"{max(int(r[8]) for r in mine):>4}  {answers}")
        if w != "flood" and server != "off" and any(int(r[5]) for r in mine):
            print(f"  WARNING: {server} refused valid tokens in {w}")
if "first-sight" in workloads and "scopegate" in servers:
    most = max(int(r[7]) for r in runs("scopegate", "first-sight"))
    print(f"first sight: scopegate took at most {most} requests in a round for {first_sight_tokens} tokens"
          + ("" if most <= first_sight_tokens else ": WARNING, some tokens were sent twice (cache hits)"))

print("\nFor the README (medians; req/s and p99 / the ceiling's, RSS / the same code's with auth off;"
      " all in the same workload and run):\n")
print("| workload | server | req/s | p99 | RSS |")
print("|---|---|---|---|---|")
for w in workloads:
    rps, p99, rss = figures("off", w)
    print(f"| {titles[w]} | ceiling (auth off) | {rps:,.0f} req/s | {p99:.2f} ms | {rss:.1f} MB |")
    for server in servers:
        if server == "off":
            continue
        mine = figures(server, w)
        print(f"| | {names.get(server, server)} | {mine[0] / rps:.2f}× | {mine[1] / p99:.1f}× | {mine[2] / base_rss(server, w):.2f}× |")
PY
