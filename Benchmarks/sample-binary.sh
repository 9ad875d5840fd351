#!/usr/bin/env bash
# Prints the path of the SessionSample binary the benchmark scripts measure: OURS_BIN when set (a
# build of another commit, to compare in one sitting), else a release build of this tree (built
# now, its output on stderr). Installs the benchmark packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh bench
if [ -n "${OURS_BIN:-}" ]; then
  echo "$OURS_BIN"
else
  swift build -c release --product SessionSample >&2
  echo "$(swift build -c release --show-bin-path)/SessionSample"
fi
