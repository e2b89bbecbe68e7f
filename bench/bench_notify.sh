#!/bin/sh
# bench_notify.sh - build rollcall-notify, -rules, -ingest, -gateway-sim and bench_notify (RelWithDebInfo) and run the benchmark.
# Usage: bench/bench_notify.sh [bench_notify options]   (BUILD_DIR overrides build-bench)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build-bench}
for tool in cmake redis-server; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench_notify.sh: $tool is not on PATH (redis-server and cmake are needed)" >&2
        exit 1
    fi
done
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target bench_notify rollcall-notify rollcall-rules rollcall-ingest \
    rollcall-gateway-sim -j"$(nproc)" >/dev/null
exec "$build/bench/bench_notify" --notify "$build/services/rollcall-notify" \
    --rules "$build/services/rollcall-rules" --ingest "$build/services/rollcall-ingest" \
    --sim "$build/sim/rollcall-gateway-sim" --policies-dir "$root/policies" \
    --templates-dir "$root/templates" "$@"
