#!/usr/bin/env bash
# Soak test with faults (README → Operations): two app nodes and two store nodes on loopback under
# load from many clients, each incrementing its own session, while a loop SIGKILLs and restarts the
# store nodes (they come back empty) and one app node, one fault at a time. Two variants: sticky
# (sessionBackupAsync="false", so a change is in the store before its answer), and non-sticky with
# lockingMode="all". Prints a summary table per variant; exits non-zero on any lost increment, any
# 5xx other than the documented lock-reject 503, or an app node RSS that kept growing.
#
#   Benchmarks/soak.sh                       # both variants, 5 minutes in all
#   DURATION=1800 Benchmarks/soak.sh         # 30 minutes per variant
#   VARIANTS=sticky STORE=memcached Benchmarks/soak.sh
#   BACKUPS=0 Benchmarks/soak.sh             # n2 as a failover node instead: no backups, goes red
#
# Environment: DURATION (seconds per variant, default 150), VARIANTS ("sticky nonsticky"), STORE
# (redis or memcached, default redis), BACKUPS (1), CLIENTS (40), SOAK_PORT (first port, 23400).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-150}; VARIANTS=${VARIANTS:-sticky nonsticky}; STORE=${STORE:-redis}; BACKUPS=${BACKUPS:-1}
bin=$(Benchmarks/sample-binary.sh)
status=0
for variant in $VARIANTS; do
  python3 Benchmarks/soak.py "$bin" "$variant" "$DURATION" "$STORE" "$BACKUPS" || status=1
done
exit $status
