#!/usr/bin/env bash
# vigil in one command: installs the Debian packages that are missing,
# builds vigild in Release mode into build/, and runs `vigild demo` (an
# in-process Kafka, a local redis-server, the shipped rules and indicators,
# a synthetic SIEM feed). Arguments are passed to `vigild demo`:
#
#   deploy/quickstart.sh                          # the demo on defaults
#   deploy/quickstart.sh --http 127.0.0.1:8089 --duration 120
#
# Works from any folder. Exit status: vigild demo's, or 2 when this
# version of vigild has no demo yet.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build"
vigild="$build/daemon/vigild"

"$root/deploy/install-deps.sh"

echo "== building vigild (Release) in $build"
# The tests need Criterion, which only `install-deps.sh --test` installs.
# Sanitizers and -Werror are reset in case build/ was a developer's.
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DVIGIL_BUILD_TESTS=OFF -DVIGIL_SANITIZE= -DVIGIL_WERROR=OFF \
  -DVIGIL_FUZZ=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null

echo "== vigild demo $*"
rc=0
"$vigild" demo "$@" || rc=$?
help=$("$vigild" --help)
if [[ $rc -ne 2 ]] || ! grep -qE '^ +demo .*not built yet' <<<"$help"; then
  exit "$rc"
fi

# Exit 2 from a vigild without the demo: say so, and show what works.
cat <<EOF

The demo is not built yet in this version of vigild
($("$vigild" --version)). What exists so far:

EOF
sed -n '/^commands:/,/^$/p' <<<"$help"
example="$root/deploy/vigil.example.yaml"
if [[ -f "$example" ]] && ! grep -qE '^ +check .*not built yet' <<<"$help"; then
  echo "== vigild check -c deploy/vigil.example.yaml"
  check_rc=0
  "$vigild" check -c "$example" || check_rc=$?
  echo "(vigild check exited $check_rc)"
fi
echo
echo "The binary is $vigild; run it with --help for the commands above."
exit 2
