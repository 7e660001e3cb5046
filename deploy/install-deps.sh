#!/usr/bin/env bash
# Installs the Debian 12 packages vigil needs that are not installed yet.
# Idempotent: when everything is present it changes nothing and needs no
# network. Runs apt-get as root, or through sudo.
#
#   deploy/install-deps.sh           build and run (quickstart, demo)
#   deploy/install-deps.sh --test    also what the test suite uses
#   deploy/install-deps.sh --bench   the test suite's, and the benchmarks'
#                                    peers (tests/bench; not needed by tests)
set -euo pipefail

build_pkgs=(
  build-essential cmake pkg-config
  librdkafka-dev libhiredis-dev libpcre2-dev libev-dev libvectorscan-dev
  libfyaml-dev libjsmn-dev libcjson-dev libmicrohttpd-dev
  libcurl4-openssl-dev
  redis-server
)
test_pkgs=(
  libcriterion-dev clang clang-format clang-tidy cppcheck libclang-rt-14-dev kcat
  prometheus-alertmanager  # the real Alertmanager and amtool for the tests
  prometheus               # promtool checks the feed's /metrics
  chromium                 # the dashboard and HTML report tests
)
bench_pkgs=(
  mtail
)

want=("${build_pkgs[@]}")
case "${1:-}" in
  --test) want+=("${test_pkgs[@]}") ;;
  --bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  "") ;;
  *) echo "usage: $0 [--test|--bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
