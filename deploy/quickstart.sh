#!/usr/bin/env bash
# vigil in one command: installs the Debian packages that are missing,
# builds vigild in Release mode into build/, and runs `vigild demo` (an
# in-process Kafka, a local redis-server, the shipped rules and indicators,
# a synthetic SIEM feed). Arguments are passed to `vigild demo`:
#
#   deploy/quickstart.sh                          # the demo on defaults
#   deploy/quickstart.sh --http 127.0.0.1:8089 --duration 120
#
# Works from any folder. Exit status: vigild demo's.
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
exec "$vigild" demo "$@"
