#!/usr/bin/env bash
# The fleet benchmark of issue 11 (redisstore/bench_test.go), on a real
# redis-server and the emulator:
#   - BenchmarkFleet: 1, 8 and 32 processes x 10 callers start with no
#     MoversConnect token, with the Redis store and alone (a memory store per
#     process). ns/op is the time until every process holds a token and has
#     called the API once; grants/lifetime is the token requests of one token
#     lifetime; voided-calls/run the API calls refused because a later grant
#     voided their token; failed-api-calls/run those still failing after the
#     Transport's retry with a new token.
#   - BenchmarkCachedToken: Token with a fresh cached token, memory store vs
#     Redis store; redis-cmds/op counts the commands Redis served meanwhile
#     (0: the hot path never touches Redis).
# Figures are for comparison on one machine, never thresholds.
# BENCH_COUNT runs each (default 3; fleet runs start processes, so -benchtime
# is a fixed count). Needs redis-server (installed as root where missing).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench/fleet.txt}
count=${BENCH_COUNT:-3}
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
  else
    echo "redis-server is missing: apt-get install redis-server" >&2; exit 1
  fi
fi
{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(go env GOVERSION) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(redis-server --version | cut -d' ' -f1-3)"
  go test -run='^$' -bench='^BenchmarkFleet$' -benchtime=5x -count="$count" ./redisstore/
  go test -run='^$' -bench='^BenchmarkCachedToken$' -benchmem -count="$count" ./redisstore/
} | tee "$out"
