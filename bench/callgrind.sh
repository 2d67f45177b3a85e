#!/usr/bin/env bash
# Instructions per request of a bench-server under callgrind, one token sent again and again:
# a figure the machine's load does not move (user space only: the kernel's network work is the
# same in every mode). Usage: bench/callgrind.sh BIN [MODE] [OUT]
#   BIN: a bench-server binary (cargo build --release -p scopegate-bench-server)
#   MODE: scopegate (default), off, baseline; OUT: where the callgrind dump goes (a temp dir)
# Counters are zeroed after 3 s of warm-up, then wrk runs 15 s on 4 connections. Read the dump
# with `callgrind_annotate --inclusive=no <dump>` to see where the instructions went.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1; MODE=${2:-scopegate}
DIR=$(mktemp -d)
OUT=${3:-$DIR/callgrind}
command -v valgrind >/dev/null || { echo "needs valgrind (Debian: apt-get install valgrind)" >&2; exit 1; }
AUTH_MODE=$MODE TOKEN_COUNT=2 TOKENS_DIR=$DIR \
  valgrind --tool=callgrind --callgrind-out-file="$OUT.%p" "$BIN" >"$DIR/log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 1200); do [ -s "$DIR/ready" ] && break; sleep 0.1; done
ADDR=$(cat "$DIR/ready")
wrk -t1 -c4 -d3s -s bench/tokens.lua "http://$ADDR/products" -- "$DIR/same.txt" >/dev/null
callgrind_control -z "$PID" >/dev/null
wrk -t1 -c4 -d15s -s bench/tokens.lua "http://$ADDR/products" -- "$DIR/same.txt" >"$DIR/wrk"
callgrind_control -d "$PID" >/dev/null
requests=$(awk '/requests in/ {print $1}' "$DIR/wrk")
kill "$PID"; wait "$PID" 2>/dev/null || true
dump=$(ls -t "$OUT".*.* | head -1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "$MODE: $requests requests, $((total / requests)) instructions per request (dump: $dump)"
