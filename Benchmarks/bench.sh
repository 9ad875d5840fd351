#!/usr/bin/env bash
# The benchmark table, in one command (README → Benchmarks):
#
#   Benchmarks/bench.sh                 # about 14 minutes on 2 cores, plus the release build
#   Benchmarks/bench.sh --peer DIR      # also the Hummingbird peer in DIR (a copy of
#                                       # shared/peers/hummingbird-sessions), same sitting (+2 min)
#
# Builds the sample in release mode, then for each configuration starts what it needs on
# loopback (Redis, memcached, a Redis Cluster, Sentinel), runs wrk on /myapp/count (a change of
# the session on every request) with 1000 sessions round-robin and with one hot session: a warm-up,
# then 3 runs of 10 s, the median reported. Every configuration is run by Benchmarks/wrk-sample.sh,
# which stops what it started. A progress line per configuration goes to stderr; the Markdown
# table goes to stdout.
#
# Columns: req/s, p50 and p99 latency, the ratio to /myapp/plain (no session) measured at the start
# of the same sitting, the store commands per request (counted by the stores themselves), the lost
# updates (acknowledged /count answers minus the increments found in the sessions at the end; must
# be 0) and the server's RSS at the end. The "unknown ids" rows send /myapp/read with well-formed
# ids no store knows: a different one on each request ("random"), or one over and over ("repeated").
#
# Environment: DURATION (default 10s), RUNS (3), WARMUP (3s), CONFIGS (a subset, e.g.
# "plain memory redis"; names as in the table's first column).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}; RUNS=${RUNS:-3}; WARMUP=${WARMUP:-3s}
peer_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --peer) peer_dir=$(cd "$2" && pwd); shift 2 ;;
    *) echo "usage: $0 [--peer DIR]" >&2; exit 2 ;;
  esac
done

echo "building the sample (release)…" >&2
binary=$(env -u OURS_BIN Benchmarks/sample-binary.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy: a build during the run cannot change what is measured.
cp "$binary" "$work/SessionSample"
peer_bin=""
if [ -n "$peer_dir" ]; then
  echo "building the Hummingbird peer (release)…" >&2
  cp -r "$peer_dir/." "$work/peer/" 2>/dev/null || { mkdir -p "$work/peer"; cp -r "$peer_dir/." "$work/peer/"; }
  (cd "$work/peer" && swift build -c release >&2)
  peer_bin="$work/peer/.build/release/HBSessions"
fi

# name | wrk-sample.sh arguments | environment
configurations=(
  "plain||ROUTES=plain LOADS=1"
  "memory||"
  "redis|--store redis|STICKY=false"
  "redis 2 nodes (backups)|--store redis|STICKY=false NODES=2"
  "memcached|--store memcached|STICKY=false"
  "memcached 2 nodes (backups)|--store memcached|STICKY=false NODES=2"
  "redis sticky|--store redis|STICKY=true"
  "memcached sticky|--store memcached|STICKY=true"
  "redis locking all|--store redis|LOCKING=all"
  "redis cluster (3 masters)|--store redis-cluster|STICKY=false"
  "redis sentinel|--store redis-sentinel|STICKY=false"
  "unknown ids (redis 2 nodes)|--store redis|STICKY=false NODES=2 UNKNOWN_IDS=1 ROUTES=read"
)
[ -n "$peer_bin" ] && configurations+=("hummingbird peer (memory)||ROUTES=count PEER_BIN=$peer_bin")

start=$(date +%s)
for entry in "${configurations[@]}"; do
  IFS='|' read -r name arguments environment <<<"$entry"
  if [ -n "${CONFIGS:-}" ] && [[ " $CONFIGS " != *" ${name%% *} "* ]]; then continue; fi
  echo "[$(( $(date +%s) - start ))s] $name…" >&2
  file="$work/$(tr ' /()' '____' <<<"$name").txt"
  echo "config $name" > "$file"
  # shellcheck disable=SC2086
  env ROUTES=count LOADS="1000 1" $environment OURS_BIN="$work/SessionSample" RESULTS="$file" RUNS="$RUNS" DURATION="$DURATION" WARMUP="$WARMUP" \
    Benchmarks/wrk-sample.sh $arguments 2>"$work/last.log" \
    || { echo "  failed:" >&2; tail -5 "$work/last.log" >&2; }
done
echo "[$(( $(date +%s) - start ))s] done" >&2

python3 - "$work" <<'PY'
import glob, os, statistics, sys
files = sorted(glob.glob(os.path.join(sys.argv[1], "*.txt")), key=os.path.getmtime)
def parse(path):
    name, runs, lost, rss = None, {}, None, None
    for line in open(path):
        words = line.split()
        if not words: continue
        if words[0] == "config": name = line.split(" ", 1)[1].strip()
        elif words[0] == "rss_kb": rss = int(words[1]) if len(words) > 1 else None
        elif words[0] == "lost-updates":
            values = dict(w.split("=") for w in words[1:])
            lost = int(values["acknowledged"]) - int(values["counted"])
        elif words[2].startswith("run"):
            server, route = words[0], words[1]
            values = dict(w.split("=") for w in words[4:])
            runs.setdefault((server, route), []).append(values)
    return name, runs, lost, rss
tables = [parse(f) for f in files]
plain = None
for name, runs, _, _ in tables:
    if name == "plain":
        plain = statistics.median(float(v["rps"]) for v in runs[("ours", "plain")])
print("| configuration | load | req/s | p50 ms | p99 ms | ÷ plain | store cmds/req | lost updates | RSS MiB |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
loads = {"1000": "1000 sessions round-robin", "1": "1 hot session", "random": "random unknown ids", "repeated": "one unknown id repeated"}
for name, runs, lost, rss in tables:
    for (server, route), values in runs.items():
        def med(key):
            data = [float(v[key]) for v in values if key in v]
            return statistics.median(data) if data else None
        route_name, _, load = route.partition("@")
        label = name if server == "ours" else f"{name}: {server}"
        rps = med("rps")
        ratio = f"{rps / plain:.2f}" if plain else "–"
        commands = med("store_cmds_per_req")
        lost_text = "–" if lost is None or route_name != "count" else str(max(0, lost))
        what = loads.get(load, "no session" if route_name == "plain" else load) + ("" if route_name in ("count", "plain") else f" (/{route_name})")
        print(f"| {label} | {what} | {rps:,.0f} | {med('p50_ms'):.3f} | {med('p99_ms'):.3f} | {ratio} | "
              f"{'–' if commands is None else f'{commands:.2f}'} | {lost_text} | {'–' if rss is None else f'{rss / 1024:.0f}'} |")
print()
print(f"/myapp/count unless noted; wrk -t1 -c16, warm-up, then the median of {os.environ.get('RUNS', '3')} runs; lost updates are counted over both loads of a configuration.")
PY
