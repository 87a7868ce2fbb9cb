#!/usr/bin/env bash
# Runs every benchmark six times (benchstat needs six for a confidence interval) and prints medians (benchstat) with the
# machine they came from. Figures are for comparison on one machine, never
# thresholds: nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${BENCH_OUT:-bench/latest.txt}
count=${BENCH_COUNT:-6}
{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(go env GOVERSION) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  go test -run='^$' -bench=. -benchmem -count="$count" ./core/ ./hostshim/ ./hostshim/wazero/
} | tee "$out.raw"
go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da "$out.raw" > "$out" 2>/dev/null \
  || go run golang.org/x/perf/cmd/benchstat@latest "$out.raw" > "$out"
echo; cat "$out"
# What a native-only program links (no wazero, no module): a byte count.
go build -trimpath -ldflags='-s -w' -o /tmp/tokensmith-nativesize ./bench/nativesize
echo "native-only program (bench/nativesize), stripped: $(wc -c < /tmp/tokensmith-nativesize) bytes"
