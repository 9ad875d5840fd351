#!/usr/bin/env bash
# Prints the path of the SessionSample binary the benchmark scripts measure: OURS_BIN when set (a
# build of another commit, to compare in one sitting), else a release build of this tree (built
# now, its output on stderr). Installs the benchmark packages first. With the argument
# `hummingbird`: the HummingbirdSample binary instead (release, HummingbirdSupport trait); with
# `vapor`: the VaporSample binary (release, VaporSupport trait).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh bench
if [ "${1:-}" = hummingbird ]; then
  # The Hummingbird sample needs the trait; its own build folder, so that the default build's
  # products are not rebuilt each time one or the other is asked for.
  swift build -c release --traits HummingbirdSupport --product HummingbirdSample --scratch-path .build-hummingbird >&2
  echo "$(swift build -c release --traits HummingbirdSupport --scratch-path .build-hummingbird --show-bin-path)/HummingbirdSample"
elif [ "${1:-}" = vapor ]; then
  swift build -c release --traits VaporSupport --product VaporSample --scratch-path .build-vapor-release >&2
  echo "$(swift build -c release --traits VaporSupport --scratch-path .build-vapor-release --show-bin-path)/VaporSample"
elif [ -n "${OURS_BIN:-}" ]; then
  echo "$OURS_BIN"
else
  swift build -c release --product SessionSample >&2
  echo "$(swift build -c release --show-bin-path)/SessionSample"
fi
