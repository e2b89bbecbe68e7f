#!/bin/sh
# bench_reports.sh - build rollcall-reports, -rules, -ingest, the rollcall CLI and bench_reports (RelWithDebInfo) and run the benchmark.
# Usage: bench/bench_reports.sh [bench_reports options]   (BUILD_DIR overrides build-bench)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
for tool in cmake redis-server; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench_reports.sh: $tool is not on PATH (redis-server and cmake are needed)" >&2
        exit 1
    fi
done
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target bench_reports rollcall-reports rollcall-rules rollcall-ingest \
    rollcall -j"$(nproc)" >/dev/null
exec "$build/bench/bench_reports" --reports "$build/services/rollcall-reports" \
    --rules "$build/services/rollcall-rules" --ingest "$build/services/rollcall-ingest" \
    --cli "$build/cli/rollcall" --source "$root" "$@"
