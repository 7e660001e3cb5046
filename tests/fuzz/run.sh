#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang in a build
# folder of their own and runs each for VIGIL_FUZZ_SECONDS seconds on a
# temporary copy of its seed corpus (corpus/<name without fuzz_>/), so the
# repository is never written. Exits non-zero when a target crashes, leaks,
# times out or trips a sanitizer; the reproducer is then kept under
# <build>/fuzz-artifacts/<target>/ (see README.md to replay it).
#
# Knobs (environment):
#   VIGIL_FUZZ_SECONDS    seconds per target (default 10; 0 = build and
#                         replay the seed corpora only)
#   VIGIL_FUZZ_BUILD_DIR  build folder (default build-fuzz)
#   VIGIL_FUZZ_TARGETS    space-separated targets to run (default: all)
#   VIGIL_FUZZ_ARGS       extra libFuzzer flags, e.g. "-jobs=2 -workers=2"
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${VIGIL_FUZZ_SECONDS:-10}
build=${VIGIL_FUZZ_BUILD_DIR:-build-fuzz}
[[ "$build" == /* ]] || build="$root/$build"
read -r -a extra <<<"${VIGIL_FUZZ_ARGS:-}"

if ! command -v clang >/dev/null; then
  echo "fuzz: clang not found (deploy/install-deps.sh --test installs it)" >&2
  exit 1
fi

if [[ -n "${VIGIL_FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"$VIGIL_FUZZ_TARGETS"
else
  targets=()
  for src in "$here"/fuzz_*.c; do
    [[ -e "$src" ]] && targets+=("$(basename "$src" .c)")
  done
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz: no targets"
  exit 0
fi

mkdir -p "$build"
log="$build/fuzz-build.log"
if ! cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_FUZZ=ON >"$log" 2>&1 ||
   ! cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >>"$log" 2>&1; then
  grep -E -A5 'error|Error' "$log" | head -n 60
  echo "fuzz: build failed; full log in $log" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for t in "${targets[@]}"; do
  bin="$build/tests/fuzz/$t"
  seeds="$here/corpus/${t#fuzz_}"
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  if [[ -d "$seeds" ]]; then
    cp -R "$seeds"/. "$work/$t/corpus/"
  fi
  if [[ "$seconds" == 0 ]]; then
    mode=(-runs=0)
  else
    mode=(-max_total_time="$seconds")
  fi
  "$bin" "${mode[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/$t/artifacts/" "${extra[@]}" \
    "$work/$t/corpus" >"$work/$t/log" 2>&1
  rc=$?
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$work/$t/log" | tail -n 1)
  if [[ $rc -ne 0 || -n "$(ls -A "$work/$t/artifacts")" ]]; then
    failed=$((failed + 1))
    keep="$build/fuzz-artifacts/$t"
    mkdir -p "$keep"
    cp -R "$work/$t/artifacts"/. "$keep/" 2>/dev/null
    cp "$work/$t/log" "$keep/fuzz.log"
    echo "fuzz: $t FAILED (exit $rc); artifacts and log in $keep"
    grep -E -B2 -A25 'ERROR|==[0-9]+==|check failed|runtime error|deadly signal' \
      "$work/$t/log" | head -n 60
  else
    echo "fuzz: $t ok (${runs:-?} runs, ${seconds}s)"
  fi
done
[[ $failed -eq 0 ]]
