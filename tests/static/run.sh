#!/usr/bin/env bash
# Static analysis of vigil's sources: cppcheck over daemon/src and plugins
# (suppressions with their reasons in tests/static/cppcheck.supp) and
# clang-tidy with the checks of .clang-tidy (false positives are silenced
# in place with NOLINT and a reason). Needs a compile_commands.json: the
# build folder is the first argument (default build-test). Prints every
# finding and exits non-zero when there is one.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build-test}
[[ "$build" == /* ]] || build="$root/$build"
cd "$root" || exit 1

for tool in cppcheck run-clang-tidy; do
  if ! command -v "$tool" >/dev/null; then
    echo "static: $tool not found (deploy/install-deps.sh --test installs it)" >&2
    exit 1
  fi
done
if [[ ! -f "$build/compile_commands.json" ]]; then
  echo "static: no $build/compile_commands.json: configure that build first" >&2
  exit 1
fi

failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

cppcheck --quiet --std=c11 --enable=warning,portability,performance \
  --inline-suppr --suppressions-list="$here/cppcheck.supp" \
  --error-exitcode=1 -j"$(nproc)" -I daemon/src -I plugins/include \
  daemon/src plugins >"$out" 2>&1
if [[ $? -ne 0 || -s "$out" ]]; then
  cat "$out"
  echo "static: cppcheck found the problems above"
  failed=1
else
  echo "static: cppcheck clean"
fi

# Only vigil's own translation units, not the tests'.
run-clang-tidy -quiet -p "$build" -j "$(nproc)" \
  "$root/(daemon/src|plugins)/.*\.c\$" >"$out" 2>&1
if grep -q -E 'warning:|error:' "$out"; then
  grep -E -A3 'warning:|error:' "$out" | sed 's/\x1b\[[0-9;]*m//g'
  echo "static: clang-tidy found the problems above"
  failed=1
else
  echo "static: clang-tidy clean"
fi
exit $failed
