#!/usr/bin/env bash
# Command 1: installs what the sample needs and runs it (default: http://127.0.0.1:8080/myapp/,
# embedded memory store). Arguments go to the sample, e.g. --config Samples/cluster/node1.xml.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-dependencies.sh run
exec swift run -c release SessionSample "$@"
