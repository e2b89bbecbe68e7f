#!/usr/bin/env bash
# test.sh - README command 2: install what is missing, then build and run the
# whole test suite twice: an optimised build with warnings as errors, and an
# AddressSanitizer + UndefinedBehaviorSanitizer build. Ends with ctest's summary.
#   scripts/test.sh            both builds
#   scripts/test.sh ci|asan    one of them
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
presets=("${@:-ci asan}")
# shellcheck disable=SC2206
presets=(${presets[*]})

echo "== format check (clang-format, .clang-format)"
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find lib services tests bench fuzz -name '*.[ch]')
clang-format --dry-run --Werror $files

status=0
summary=()
for preset in "${presets[@]}"; do
  echo "== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "== $preset: test"
  log="build/$preset/ctest.log"
  if ctest --preset "$preset" -j "$jobs" 2>&1 | tee "$log"; then
    summary+=("$preset: $(grep -E 'tests passed' "$log" | tail -1)")
  else
    status=1
    summary+=("$preset: FAILED - $(grep -E 'tests passed|tests failed' "$log" | tail -1)")
  fi
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
