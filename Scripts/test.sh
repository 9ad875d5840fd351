#!/usr/bin/env bash
# Command 2: installs what the tests need and runs the whole test suite.
# With CI set, warnings in our targets are errors and a missing test server fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh test
swift build --build-tests "$@"
exec swift test --skip-build "$@"
