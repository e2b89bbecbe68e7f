#!/bin/sh
# bench_ingest.sh - build rollcall-ingest and bench_ingest (RelWithDebInfo) and run the benchmark.
# Usage: bench/bench_ingest.sh [bench_ingest options]   (BUILD_DIR overrides build-bench)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
for tool in cmake redis-server redis-benchmark; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench_ingest.sh: $tool is not on PATH (redis-server, redis-tools and cmake are needed)" >&2
        exit 1
    fi
done
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target bench_ingest rollcall-ingest -j"$(nproc)" >/dev/null
exec "$build/bench/bench_ingest" --ingest "$build/services/rollcall-ingest" "$@"
