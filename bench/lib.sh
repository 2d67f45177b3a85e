# What bench/load.sh, bench/flood.sh and bench/peers.sh share: wrk and two cores, a server pinned
# to core 0 that reports its address in a `ready` file, wrk pinned to core 1 and its figures, the
# server's memory, and the tables' medians. Sourced, after the caller has set WORK (a scratch
# directory, removed by the caller) and cd'd to the repository root.

# need_wrk_and_two_cores: installs wrk (Debian package) if missing; refuses a machine with fewer
# than 2 cores, since server and load generator each need one.
need_wrk_and_two_cores() {
  if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)"
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  fi
  if [ "$(nproc)" -lt 2 ]; then
    echo "needs 2 cores: one for the server, one for wrk" >&2
    exit 1
  fi
}

# target_dir [DIR]: cargo's target directory for the workspace at DIR (default: here)
target_dir() {
  (cd "${1:-.}" && cargo metadata --format-version 1 --no-deps) |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}

# bench_server: the path of this checkout's bench-server, built (release) first.
bench_server() {
  cargo build --release -q -p scopegate-bench-server
  echo "$(target_dir)/release/bench-server"
}

# wait_ready FILE LOG: waits up to 60 s for FILE, which a bench server writes with its address
# once it listens; stops the script with the server's LOG if the file never comes.
wait_ready() {
  for _ in $(seq 1 600); do
    [ -s "$1" ] && return
    sleep 0.1
  done
  echo "server did not start"
  cat "$2"
  exit 1
}

# start_pinned BINARY [NAME=VALUE...] -> SERVER (pid), ADDR: runs BINARY on core 0 with those
# variables (and TOKENS_DIR=$WORK, where it writes `ready`), and waits until it listens.
start_pinned() {
  local binary=$1
  shift
  rm -f "$WORK/ready"
  env TOKENS_DIR="$WORK" "$@" taskset -c 0 "$binary" >"$WORK/server.log" 2>&1 &
  SERVER=$!
  wait_ready "$WORK/ready" "$WORK/server.log"
  ADDR=$(cat "$WORK/ready")
}

stop_server() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
}

# run_wrk OUT SECONDS CONNECTIONS SCRIPT [ARG...]: one thread of wrk on core 1 against
# GET /products of the server at ADDR, the script's arguments after `--`, output to OUT.
run_wrk() {
  local out=$1 seconds=$2 connections=$3 script=$4
  shift 4
  taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$script" \
    "http://$ADDR/products" -- "$@" >"$out"
}

# wrk_fields OUT -> "req/s p50 p99 non-2xx" of one wrk output
wrk_fields() {
  local non2xx
  non2xx=$(awk '/Non-2xx/ {print $5}' "$1")
  printf '%s %s %s %s' "$(awk '/Requests\/sec/ {print $2}' "$1")" \
    "$(awk '$1 == "50%" {print $2}' "$1")" "$(awk '$1 == "99%" {print $2}' "$1")" "${non2xx:-0}"
}

# wrk_requests OUT -> how many requests one wrk run completed
wrk_requests() {
  awk '/requests in/ {print $1}' "$1"
}

# memory_kb FIELD -> the server's VmRSS (resident now) or VmHWM (peak resident), in KiB
memory_kb() {
  awk -v field="$1:" '$1 == field {print $2}' "/proc/$SERVER/status"
}

# bench_python ARG... < SCRIPT: runs a table's Python with ARG... as sys.argv[1:], after the
# helpers every table uses: grouped() reads a results file, ms() wrk's latencies, med() and
# spread() summarise rows of fields.
bench_python() {
  local script
  script=$(cat)
  python3 -c "$BENCH_PY
$script" "$@"
}

BENCH_PY='
import statistics, sys

def ms(text):  # wrk latency: 123.00us, 1.23ms, 1.23s
    for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float(text)

def grouped(path, width=1):  # the rows of a results file by their first field (first `width`)
    runs = {}
    for line in open(path):
        r = line.split()
        runs.setdefault(r[0] if width == 1 else tuple(r[:width]), []).append(r)
    return runs

def med(rows, column, parse=float):
    return statistics.median(parse(r[column]) for r in rows)

def spread(rows, column):  # "min-max" of a req/s column
    return f"{min(float(r[column]) for r in rows):.0f}-{max(float(r[column]) for r in rows):.0f}"
'
