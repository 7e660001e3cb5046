#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds
# with -Werror under AddressSanitizer and UndefinedBehaviorSanitizer, checks
# formatting, runs the unit and integration tests and the fuzz targets
# briefly, and ends with one line "N passed, N failed".
#
# Knobs (environment):
#   VIGIL_BUILD_DIR      build folder (default build-test)
#   VIGIL_TEST_LABEL     run only the tests with this CTest label (unit,
#                        integration)
#   VIGIL_TEST_JOBS      test executables run at once (default 4: most
#                        integration tests wait on daemons, not on the CPU)
#   VIGIL_FUZZ_SECONDS   seconds per fuzz target (default 10; 0 skips)
#   VIGIL_STATIC         0 skips cppcheck and clang-tidy (tests/static/run.sh)
#   VIGIL_SOAK_SECONDS   length of the soak run, tests/bench/soak.sh
#                        (default 120; 0 skips)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${VIGIL_BUILD_DIR:-build-test}
fuzz_seconds=${VIGIL_FUZZ_SECONDS:-10}
soak_seconds=${VIGIL_SOAK_SECONDS:-120}
passed=0
failed=0
failures=()

pass() { passed=$((passed + $1)); }
# Each step starts with its name and the seconds spent so far (the suite's
# budget is well under 15 minutes).
step() { echo "== $1 (${SECONDS}s)"; }
fail() { failed=$((failed + 1)); failures+=("$1"); }

./deploy/install-deps.sh --test || { echo "0 passed, 1 failed"; exit 1; }

step "configure and build ($build, ASan+UBSan, -Werror)"
if ! cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DVIGIL_WERROR=ON \
      -DVIGIL_SANITIZE=address,undefined >"$build.cmake.log" 2>&1; then
  cat "$build.cmake.log"
  echo "0 passed, 1 failed"
  exit 1
fi
if ! cmake --build "$build" -j"$(nproc)" >"$build.build.log" 2>&1; then
  grep -E -A5 'error|Error' "$build.build.log" | head -n 80
  echo "0 passed, 1 failed"
  exit 1
fi

step "release build (-Werror, hardening flags)"
if cmake -S . -B "$build-release" -DCMAKE_BUILD_TYPE=Release -DVIGIL_WERROR=ON \
      -DVIGIL_BUILD_TESTS=OFF >"$build-release.log" 2>&1 &&
   cmake --build "$build-release" -j"$(nproc)" >>"$build-release.log" 2>&1; then
  pass 1
else
  grep -E -A5 'error|Error' "$build-release.log" | head -n 40
  fail "release build"
fi

step "clang-format"
unformatted=$(git ls-files '*.c' '*.h' | while read -r f; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
if [[ -n "$unformatted" ]]; then
  echo "not formatted (run clang-format -i): $unformatted"
  fail "clang-format"
else
  pass 1
fi

if [[ "${VIGIL_STATIC:-1}" != 0 ]]; then
  step "static analysis (cppcheck, clang-tidy)"
  if tests/static/run.sh "$build"; then pass 1; else fail "static analysis"; fi
fi

step "ctest"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
label=()
[[ -n "${VIGIL_TEST_LABEL:-}" ]] && label=(-L "$VIGIL_TEST_LABEL")
log="$build/ctest.log"
(cd "$build" && ctest "${label[@]}" -j"${VIGIL_TEST_JOBS:-4}" \
   --output-on-failure -V) >"$log" 2>&1
ctest_rc=$?
grep -E '^[0-9]+: \[(FAIL|----)\]|SKIPPED|Synthesis|tests passed|Test +#' "$log" | grep -vE 'Passed +[0-9.]+ sec' | tail -n 200
# Criterion prints one synthesis line per executable: count tests, not
# executables.
while read -r tested passing failing crashing; do
  pass "$passing"
  for ((i = 0; i < failing + crashing; i++)); do fail "criterion"; done
done < <(sed -nE 's/.*Synthesis: Tested: ([0-9]+) \| Passing: ([0-9]+) \| Failing: ([0-9]+) \| Crashing: ([0-9]+).*/\1 \2 \3 \4/p' "$log")
# An executable can also fail outside any test (timeout, sanitizer report
# at exit): then ctest's verdict is the count.
if [[ $ctest_rc -ne 0 && $failed -eq 0 ]]; then
  while read -r name; do fail "$name"; done < <(
    sed -nE 's/^[[:space:]]*[0-9]+ - ([^ ]+) .*/\1/p' "$log")
  echo "ctest failed; full log in $log"
fi

# The soak runs in the background while the fuzz targets take the CPU:
# it sends a steady 2 000 events/s and checks what is left at the end,
# which does not depend on the machine being idle.
soak_pid=
if [[ "$soak_seconds" != 0 ]]; then
  step "soak (${soak_seconds}s, tests/bench/soak.sh, in the background)"
  VIGIL_SOAK_SECONDS=$soak_seconds VIGIL_BUILD_DIR=$build tests/bench/soak.sh \
    >"$build/soak.log" 2>&1 &
  soak_pid=$!
fi

if [[ "$fuzz_seconds" != 0 && -x tests/fuzz/run.sh ]]; then
  step "fuzz (${fuzz_seconds}s per target)"
  if VIGIL_FUZZ_SECONDS=$fuzz_seconds tests/fuzz/run.sh; then pass 1; else fail "fuzz"; fi
fi

if [[ -n "$soak_pid" ]]; then
  wait "$soak_pid"
  soak_rc=$?
  step "soak result"
  cat "$build/soak.log"
  if [[ $soak_rc -eq 0 ]]; then pass 1; else fail "soak"; fi
fi

if [[ ${#failures[@]} -gt 0 ]]; then
  printf 'failed: %s\n' "${failures[@]}" | sort | uniq -c
fi
echo "suite took ${SECONDS}s"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
