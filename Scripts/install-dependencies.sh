#!/usr/bin/env bash
# Installs the Debian packages a task needs, and nothing that is already there.
#   Scripts/install-dependencies.sh run     what running the sample needs
#   Scripts/install-dependencies.sh test    what the test suite needs (real servers the tests start)
#   Scripts/install-dependencies.sh bench   what the benchmark scripts need
#   Scripts/install-dependencies.sh cluster what Samples/cluster/run-local.sh needs (stores, nginx)
# Uses sudo when not root. Safe to run repeatedly.
set -euo pipefail

run_packages=(pkg-config libhiredis-dev)
test_packages=(memcached redis-server redis-tools redis-sentinel nginx-light docker-compose openssl chromium chromium-driver)
cluster_packages=(memcached redis-server nginx-light openssl)
bench_packages=(wrk curl redis-server redis-tools redis-sentinel memcached libmemcached-tools openssl)

case "${1:-run}" in
  run) wanted=("${run_packages[@]}") ;;
  test) wanted=("${run_packages[@]}" "${test_packages[@]}") ;;
  bench) wanted=("${run_packages[@]}" "${bench_packages[@]}") ;;
  cluster) wanted=("${run_packages[@]}" "${cluster_packages[@]}") ;;
  *) echo "usage: $0 run|test|bench|cluster" >&2; exit 2 ;;
esac

missing=()
for package in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "missing packages: ${missing[*]} (install them with your package manager)" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
