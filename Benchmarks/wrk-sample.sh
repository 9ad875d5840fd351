#!/usr/bin/env bash
# Load benchmark of the sample on loopback: /myapp/plain (no session), /myapp/count and /myapp/read
# with one reused session cookie, `wrk -t1 -c16 -d10s --latency`, a 5 s warm-up and RUNS runs per
# route (median reported), routes interleaved run by run so drift hits all of them alike.
#
#   Benchmarks/wrk-sample.sh                        # our sample only
#   Benchmarks/wrk-sample.sh --peer DIR             # also the Hummingbird peer in DIR (a copy of
#                                                   # shared/peers/hummingbird-sessions), same sitting
# Environment: RUNS (default 3), DURATION (default 10s), PORT (default 8090), PEER_PORT (8081),
# PEER_BIN (an already built peer binary: used instead of building --peer DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
RUNS=${RUNS:-3}; DURATION=${DURATION:-10s}; PORT=${PORT:-8090}; PEER_PORT=${PEER_PORT:-8081}
peer_dir=""
[ "${1:-}" = "--peer" ] && peer_dir=$(cd "$2" && pwd)

Scripts/install-dependencies.sh bench
swift build -c release --product SessionSample >&2
ours_bin=$(swift build -c release --show-bin-path)/SessionSample

peer_bin="${PEER_BIN:-}"
if [ -z "$peer_bin" ] && [ -n "$peer_dir" ]; then
  # Build a copy: the peer's own folder may be read-only.
  work=$(mktemp -d)
  cp -r "$peer_dir/." "$work/"
  (cd "$work" && swift build -c release >&2)
  peer_bin="$work/.build/release/HBSessions"
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_up() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/myapp/plain" && return 0; sleep 0.1; done; echo "server on $1 did not start" >&2; exit 1; }

"$ours_bin" --port "$PORT" --log-level warning & pids+=($!)
wait_up "$PORT"
if [ -n "$peer_bin" ]; then "$peer_bin" "$PEER_PORT" & pids+=($!); wait_up "$PEER_PORT"; fi

cookie_for() { curl -s -i "http://127.0.0.1:$1/myapp/count" | grep -i '^set-cookie:' | head -1 | sed -E 's/^[^:]*: *//; s/;.*//' | tr -d '\r'; }
declare -A cookies
cookies[ours]=$(cookie_for "$PORT")
servers=(ours)
declare -A ports=([ours]=$PORT)
if [ -n "$peer_bin" ]; then servers+=(hummingbird); ports[hummingbird]=$PEER_PORT; cookies[hummingbird]=$(cookie_for "$PEER_PORT"); fi

results=$(mktemp)
one_run() { # server route duration -> RESULT line
  SESSION_COOKIE="${cookies[$1]}" wrk -t1 -c16 -d"$3" --latency -s "$root/Benchmarks/cookie.lua" "http://127.0.0.1:${ports[$1]}/myapp/$2" | grep '^RESULT'
}
for s in "${servers[@]}"; do for r in plain count read; do one_run "$s" "$r" 5s >/dev/null; done; done
for run in $(seq 1 "$RUNS"); do
  for s in "${servers[@]}"; do
    for r in plain count read; do
      line=$(one_run "$s" "$r" "$DURATION")
      echo "$s $r run$run $line" | tee -a "$results" >&2
    done
  done
done

python3 - "$results" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    server, route, _, _, *fields = line.split()
    values = dict(f.split("=") for f in fields)
    rows.setdefault((server, route), []).append(values)
def med(server, route, key):
    return statistics.median(float(v[key]) for v in rows[(server, route)])
print(f"{'server':<12} {'route':<6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'÷ plain':>8}")
servers = sorted({s for s, _ in rows}, key=lambda s: s != "ours")
for s in servers:
    plain = med(s, "plain", "rps")
    for r in ("plain", "count", "read"):
        rps = med(s, r, "rps")
        print(f"{s:<12} {r:<6} {rps:>9.0f} {med(s, r, 'p50_ms'):>8.3f} {med(s, r, 'p99_ms'):>8.3f} {rps / plain:>8.2f}")
if "hummingbird" in servers:
    for r in ("plain", "count", "read"):
        print(f"ours/hummingbird {r}: {med('ours', r, 'rps') / med('hummingbird', r, 'rps'):.2f}")
PY
