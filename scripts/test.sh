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
  full="build/$preset/Testing/Temporary/LastTest.log" # every test's whole output
  ok=1
  ctest --preset "$preset" -j "$jobs" 2>&1 | tee "$log" || ok=0
  # Criterion's own count across every suite (ctest counts suites).
  cases=$(awk '/Synthesis: Tested:/ { for (i = 1; i <= NF; i++) {
            if ($i == "Tested:") t += $(i + 1); if ($i == "Passing:") p += $(i + 1);
            if ($i == "Failing:") f += $(i + 1); if ($i == "Crashing:") c += $(i + 1) } }
          END { printf "Criterion: %d tested, %d passing, %d failing, %d crashing", t, p, f, c }' "$full")
  if [ $ok -eq 1 ]; then
    summary+=("$preset: $(grep -E 'tests passed' "$log" | tail -1); $cases")
  else
    status=1
    summary+=("$preset: FAILED - $(grep -E 'tests passed|tests failed' "$log" | tail -1); $cases")
  fi
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
