#!/usr/bin/env bash
# Prints the path of a sample executable, built in release mode now (its output on stderr):
#   Benchmarks/sample-binary.sh [bundled]   SessionSample (OURS_BIN instead when set: a build of
#                                           another commit, to compare in one sitting)
#   Benchmarks/sample-binary.sh hummingbird HummingbirdSample (HummingbirdSupport trait)
#   Benchmarks/sample-binary.sh vapor       VaporSample (VaporSupport trait)
# The framework samples build in folders of their own, so that the default build's products are
# not rebuilt each time one or the other is asked for. The one place that knows how each sample
# is built: the benchmarks and Samples/cluster/run-local.sh call it. Installs the packages of
# INSTALL first (an install-dependencies.sh task, default bench).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh "${INSTALL:-bench}"
case "${1:-bundled}" in
  hummingbird) product=HummingbirdSample; build=(-c release --traits HummingbirdSupport --scratch-path .build-hummingbird) ;;
  vapor) product=VaporSample; build=(-c release --traits VaporSupport --scratch-path .build-vapor-release) ;;
  bundled)
    if [ -n "${OURS_BIN:-}" ]; then echo "$OURS_BIN"; exit 0; fi
    product=SessionSample; build=(-c release) ;;
  *) echo "usage: $0 [bundled|hummingbird|vapor]" >&2; exit 2 ;;
esac
swift build "${build[@]}" --product "$product" >&2
echo "$(swift build "${build[@]}" --show-bin-path)/$product"
