#!/bin/sh
# bench_rules.sh - build rollcall-rules, rollcall-ingest and bench_rules (RelWithDebInfo) and run the benchmark.
# Usage: bench/bench_rules.sh [bench_rules options]   (BUILD_DIR overrides build-bench)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
for tool in cmake redis-server; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench_rules.sh: $tool is not on PATH (redis-server and cmake are needed)" >&2
        exit 1
    fi
done
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target bench_rules rollcall-rules rollcall-ingest -j"$(nproc)" >/dev/null
exec "$build/bench/bench_rules" --rules "$build/services/rollcall-rules" \
    --ingest "$build/services/rollcall-ingest" --policies-dir "$root/policies" "$@"
