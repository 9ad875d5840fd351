#!/usr/bin/env bash
# Command 2: installs what the tests need and runs the whole test suite.
# With CI set, warnings in our targets are errors and a missing test server fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh test
# Users of the bundled server must not fetch Hummingbird or Vapor: the default graph is checked first.
Scripts/check-default-build.sh
# The suite covers the Hummingbird and Vapor adapters too: built and tested with their traits on.
set -- --traits HummingbirdSupport,VaporSupport "$@"
swift build --build-tests "$@"
# One test at a time: the suite starts dozens of real servers and sample processes, and its
# deadline tests (a request closed at its deadline, a store command timed out) measure time; run in
# parallel on a 2-core machine, the heavy tests starved the others past their deadlines now and
# then. Serial, the suite takes about 10 minutes here.
#
# Quiet when green: each suite's log goes to a capture printed only for a failing test
# (SessionTesting's `.capturedLog` trait; TEST_LOG=print prints every line as it is logged), and
# the "started" line of every test and test case is left out (TEST_OUTPUT=full keeps them): what
# remains is one line per test and suite that passed or failed, the failures with their logs, and
# the summary.
if [ "${TEST_OUTPUT:-}" = full ]; then
  exec swift test --skip-build --no-parallel "$@"
fi
swift test --skip-build --no-parallel "$@" 2>&1 | grep --line-buffered -v -E '^◇ (Test|Suite) .* started\.$'

