#!/usr/bin/env bash
# The benchmark table, in one command (README → Benchmarks):
#
#   Benchmarks/bench.sh                 # about 14 minutes on 2 cores, plus the release build
#   Benchmarks/bench.sh --peer DIR      # also the Hummingbird row: our middleware on Hummingbird
#                                       # (HummingbirdSample, built with the HummingbirdSupport
#                                       # trait) against Hummingbird's own sessions, the peer in DIR
#                                       # (a copy of shared/peers/hummingbird-sessions), and the
#                                       # bundled server, in turn, same sitting (+7 min, + builds)
#   Benchmarks/bench.sh --vapor-peer DIR  # also the Vapor row: our middleware on Vapor (VaporSample,
#                                       # VaporSupport trait) against Vapor's own SessionsMiddleware
#                                       # with its memory driver, the peer in DIR (a copy of
#                                       # shared/peers/vapor-sessions) with its default cookie and
#                                       # with a Max-Age cookie, and the bundled server, in turn
#   BASE_BIN=/path/to/old/SessionSample CONFIGS="memory,redis,redis sticky" Benchmarks/bench.sh
#                                       # compare this tree (or OURS_BIN) with a build of another
#                                       # commit, in one sitting: about 10 minutes for these rows
#
# Builds the sample in release mode (or takes OURS_BIN), then for each configuration starts what
# it needs on loopback (Redis, memcached, a Redis Cluster, Sentinel), runs wrk on /myapp/count (a
# change of the session on every request) with 1000 sessions round-robin and with one hot session:
# a warm-up, then 3 runs of 10 s, the median reported. Every configuration is run by
# Benchmarks/wrk-sample.sh, which stops what it started. A progress line per configuration goes to
# stderr; the Markdown table goes to stdout.
#
# Columns: req/s, p50 and p99 latency, the ratio to /myapp/plain (no session) measured at the start
# of the same sitting, the app's and the store servers' CPU time per request (from /proc/<pid>/stat
# around each wrk run, divided by the requests it completed; median, and the lowest and highest
# run in brackets), the store commands per request (counted by the stores themselves), the lost
# updates (acknowledged /count answers minus the increments found in the sessions at the end; must
# be 0) and the server's RSS at the end. The "unknown ids" rows send /myapp/read with well-formed
# ids no store knows: a different one on each request ("random"), or one over and over ("repeated").
#
# Comparison: with BASE_BIN (a release SessionSample built from another commit), both builds run
# side by side on the same stores and every measurement alternates between them (new, base, new,
# base…); each row gives both medians and new ÷ base. The new build is OURS_BIN, or this tree.
#
# Environment: DURATION (default 10s), RUNS (3), WARMUP (3s), CONFIGS (a subset: whole names as
# in the table's first column, separated by commas, e.g. "memory,redis,redis sticky"; "plain" is
# always measured, as the ratio's base), OURS_BIN, BASE_BIN, CPU_CHECK (1: also `perf stat -e
# task-clock` on the app over each run, both figures printed to stderr, to check the column),
# PEER_BIN (an already built release binary of the Hummingbird peer, instead of --peer DIR),
# VAPOR_PEER_BIN (the same for the Vapor peer, instead of --vapor-peer DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}; RUNS=${RUNS:-3}; WARMUP=${WARMUP:-3s}
peer_dir=""; vapor_peer_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --peer) peer_dir=$(cd "$2" && pwd); shift 2 ;;
    --vapor-peer) vapor_peer_dir=$(cd "$2" && pwd); shift 2 ;;
    *) echo "usage: $0 [--peer DIR] [--vapor-peer DIR]" >&2; exit 2 ;;
  esac
done

[ -z "${OURS_BIN:-}" ] && echo "building the sample (release)…" >&2
binary=$(Benchmarks/sample-binary.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Copies: a build during the run cannot change what is measured.
cp "$binary" "$work/SessionSample"
base_bin=""
if [ -n "${BASE_BIN:-}" ]; then
  [ -x "$BASE_BIN" ] || { echo "BASE_BIN=$BASE_BIN is not an executable" >&2; exit 2; }
  cp "$BASE_BIN" "$work/BaseSample"; base_bin="$work/BaseSample"
fi
# A framework row's two binaries, copied into $work: the peer app (a release build of DIR, or the
# binary given in its environment variable) and our sample on that framework (its trait). Prints
# the peer's copy; nothing when neither DIR nor the variable is given.
framework_binaries() { # framework peer-dir peer-bin-variable peer-product sample-kind sample-product
  local framework=$1 dir=$2 given=${!3:-} product=$4
  if [ -n "$dir" ] && [ -n "$given" ]; then echo "give the $framework peer's folder or $3, not both" >&2; exit 2; fi
  if [ -n "$given" ]; then
    cp "$given" "$work/$product"
  elif [ -n "$dir" ]; then
    echo "building the $framework peer (release)…" >&2
    mkdir -p "$work/$product-build"; cp -r "$dir/." "$work/$product-build/"
    (cd "$work/$product-build" && swift build -c release >&2)
    cp "$work/$product-build/.build/release/$product" "$work/$product"
  else
    return 0
  fi
  echo "building $6 (release, with its trait)…" >&2
  cp "$(Benchmarks/sample-binary.sh "$5")" "$work/$6"
  echo "$work/$product"
}
peer_bin=$(framework_binaries Hummingbird "$peer_dir" PEER_BIN HBSessions hummingbird HummingbirdSample)
vapor_peer_bin=$(framework_binaries Vapor "$vapor_peer_dir" VAPOR_PEER_BIN VaporSessions vapor VaporSample)
# Only the framework rows measure the peers.
unset PEER_BIN VAPOR_PEER_BIN

# name | wrk-sample.sh arguments | environment
configurations=(
  "plain||ROUTES=plain LOADS=1"
  "memory||"
  "redis|--store redis|STICKY=false"
  "redis 2 nodes (backups)|--store redis|STICKY=false NODES=2"
  "memcached|--store memcached|STICKY=false"
  "memcached 2 nodes (backups)|--store memcached|STICKY=false NODES=2"
  "redis sticky|--store redis|STICKY=true"
  "redis tls|--store redis-tls|STICKY=false"
  "redis tls sticky|--store redis-tls|STICKY=true"
  "memcached sticky|--store memcached|STICKY=true"
  "sticky peers|--store peers|STICKY=true"
  "redis locking all|--store redis|LOCKING=all"
  "redis cluster (3 masters)|--store redis-cluster|STICKY=false"
  "redis sentinel|--store redis-sentinel|STICKY=false"
  "unknown ids (redis 2 nodes)|--store redis|STICKY=false NODES=2 UNKNOWN_IDS=1 ROUTES=read"
)
# Each server's /myapp/plain and /myapp/count, in turn: ours (the bundled server), hb (our middleware
# on Hummingbird) and hummingbird (its own SessionMiddleware and MemoryPersistDriver).
[ -n "$peer_bin" ] && configurations+=("hummingbird (memory)||ROUTES=plain,count PEER_BIN=$peer_bin HB_BIN=$work/HummingbirdSample")
# The same for Vapor: ours, vapor (our middleware on Vapor), vapor-own (Vapor's SessionsMiddleware
# and memory driver, its default cookie) and vapor-own-maxage (the same with a Max-Age cookie).
[ -n "$vapor_peer_bin" ] && configurations+=("vapor (memory)||ROUTES=plain,count VAPOR_PEER_BIN=$vapor_peer_bin VAPOR_BIN=$work/VaporSample")

# CONFIGS: whole names, separated by commas; an unknown name stops before anything is measured.
declare -A wanted=()
if [ -n "${CONFIGS:-}" ]; then
  IFS=',' read -ra asked <<<"$CONFIGS"
  for name in "${asked[@]}"; do
    name=$(sed -E 's/^ +| +$//g' <<<"$name")
    [ -z "$name" ] && continue
    known=""
    for entry in "${configurations[@]}"; do [ "${entry%%|*}" = "$name" ] && known=1; done
    if [ -z "$known" ]; then
      echo "unknown configuration '$name'; the names are:" >&2
      for entry in "${configurations[@]}"; do echo "  ${entry%%|*}" >&2; done
      exit 2
    fi
    wanted[$name]=1
  done
  wanted[plain]=1
fi

start=$(date +%s)
for entry in "${configurations[@]}"; do
  IFS='|' read -r name arguments environment <<<"$entry"
  if [ ${#wanted[@]} -gt 0 ] && [ -z "${wanted[$name]:-}" ]; then continue; fi
  echo "[$(( $(date +%s) - start ))s] $name…" >&2
  file="$work/$(tr ' /()' '____' <<<"$name").txt"
  echo "config $name" > "$file"
  # shellcheck disable=SC2086
  env ROUTES=count LOADS="1000 1" $environment OURS_BIN="$work/SessionSample" BASE_BIN="$base_bin" RESULTS="$file" RUNS="$RUNS" DURATION="$DURATION" WARMUP="$WARMUP" \
    Benchmarks/wrk-sample.sh $arguments 2>"$work/last.log" \
    || { echo "  failed:" >&2; tail -5 "$work/last.log" >&2; }
  # CPU_CHECK=1 (see wrk-sample.sh): perf's figure beside ours, for each run.
  grep '^cpu check' "$work/last.log" >&2 || true
done
echo "[$(( $(date +%s) - start ))s] done" >&2

RUNS="$RUNS" python3 - "$work" <<'PY'
import glob, os, statistics, sys
files = sorted(glob.glob(os.path.join(sys.argv[1], "*.txt")), key=os.path.getmtime)
def parse(path):
    name, runs, lost, rss = None, {}, {}, {}
    for line in open(path):
        words = line.split()
        if not words: continue
        if words[0] == "config": name = line.split(" ", 1)[1].strip()
        elif words[0] == "rss_kb":
            if len(words) > 2 and words[2].isdigit(): rss[words[1]] = int(words[2])
        elif words[0] == "lost-updates":
            values = dict(w.split("=") for w in words[1:])
            lost[values["server"]] = int(values["acknowledged"]) - int(values["counted"])
        elif len(words) > 2 and words[2].startswith("run"):
            server, route = words[0], words[1]
            values = dict(w.split("=") for w in words[4:])
            runs.setdefault((server, route), []).append(values)
    return name, runs, lost, rss
tables = [parse(f) for f in files]
compare = any(server == "base" for _, runs, _, _ in tables for server, _ in runs)
def series(values, key):
    return [float(v[key]) for v in values if key in v]
def med(values, key):
    data = series(values, key)
    return statistics.median(data) if data else None
def spread(values, key, digits):
    """The median, and the lowest and highest run in brackets: the runs' own spread."""
    data = series(values, key)
    if not data: return "–"
    f = (lambda x: f"{x:,.0f}") if digits == 0 else (lambda x: f"{x:.{digits}f}")
    return f"{f(statistics.median(data))} [{f(min(data))}–{f(max(data))}]"
plain = {}
for name, runs, _, _ in tables:
    if name == "plain":
        for server in ("ours", "base"):
            if (server, "plain") in runs:
                plain[server] = med(runs[(server, "plain")], "rps")
def ratio(values, server):
    rps = med(values, "rps")
    return f"{rps / plain[server]:.2f}" if plain.get(server) and rps else "–"
loads = {"1000": "1000 sessions round-robin", "1": "1 hot session", "random": "random unknown ids", "repeated": "one unknown id repeated"}
if compare:
    print("| configuration | load | req/s new | req/s base | new ÷ base | ÷ plain new | ÷ plain base | app µs/req new | app µs/req base | store µs/req new | store µs/req base | p99 ms new / base | store cmds/req new / base | lost updates | RSS MiB new / base |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
else:
    print("| configuration | load | req/s | p50 ms | p99 ms | ÷ plain | app µs/req | store µs/req | store cmds/req | lost updates | RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
def number(value, digits):
    return "–" if value is None else f"{value:.{digits}f}"
for name, runs, lost, rss in tables:
    for (server, route), values in runs.items():
        if server == "base": continue
        route_name, _, load = route.partition("@")
        label = name if server == "ours" else f"{name}: {server}"
        what = loads.get(load, "no session" if route_name == "plain" else load) + ("" if route_name == "count" or (route_name == "plain" and not load) else f" (/{route_name})")
        def lost_text(s):
            return "–" if s not in lost or route_name != "count" else str(max(0, lost[s]))
        def rss_text(s):
            return "–" if s not in rss else f"{rss[s] / 1024:.0f}"
        if compare and (("base", route) in runs):
            base = runs[("base", route)]
            new_rps, base_rps = med(values, "rps"), med(base, "rps")
            lost_both = "–" if lost_text(server) == "–" else f"{lost_text(server)} / {lost_text('base')}"
            print(f"| {label} | {what} | {spread(values, 'rps', 0)} | {spread(base, 'rps', 0)} | {new_rps / base_rps:.2f} | "
                  f"{ratio(values, 'ours')} | {ratio(base, 'base')} | {spread(values, 'app_cpu_us', 1)} | {spread(base, 'app_cpu_us', 1)} | "
                  f"{spread(values, 'store_cpu_us', 1)} | {spread(base, 'store_cpu_us', 1)} | "
                  f"{number(med(values, 'p99_ms'), 3)} / {number(med(base, 'p99_ms'), 3)} | "
                  f"{number(med(values, 'store_cmds_per_req'), 2)} / {number(med(base, 'store_cmds_per_req'), 2)} | {lost_both} | "
                  f"{rss_text(server)} / {rss_text('base')} |")
        else:
            print(f"| {label} | {what} | {spread(values, 'rps', 0)} | {number(med(values, 'p50_ms'), 3)} | {number(med(values, 'p99_ms'), 3)} | "
                  f"{ratio(values, 'ours')} | {spread(values, 'app_cpu_us', 1)} | {spread(values, 'store_cpu_us', 1)} | "
                  f"{number(med(values, 'store_cmds_per_req'), 2)} | {lost_text(server)} | {rss_text(server)} |")
# The framework rows: every figure as a ratio to the framework's own /plain (no session
# middleware, the peer app's route) of the same row. Per framework: the server whose /plain is
# the base, and the servers measured with their labels.
frameworks = {
    "hummingbird": ("Hummingbird", "hummingbird", [("ours", "bundled server, our sessions"), ("hb", "Hummingbird, our middleware"), ("hummingbird", "Hummingbird, its own sessions")]),
    "vapor-own": ("Vapor", "vapor-own", [("ours", "bundled server, our sessions"), ("vapor", "Vapor, our middleware"),
                                          ("vapor-own-maxage", "Vapor, its own sessions, Max-Age cookie"), ("vapor-own", "Vapor, its own sessions, default cookie")]),
}
for name, runs, lost, rss in tables:
    for base_server, (framework, _, servers) in frameworks.items():
        if (base_server, "plain@1000") not in runs and (base_server, "plain") not in runs:
            continue
        def key(route, load):
            return f"{route}@{load}" if any("@" in r for _, r in runs) else route
        print()
        print(f"**{name}**: /myapp/count as a ratio to {framework}'s /plain (no session) of the same row")
        print()
        print(f"| server | load | req/s | ÷ {framework} /plain | ÷ its own /plain | app µs/req | lost updates |")
        print("|---|---|---:|---:|---:|---:|---:|")
        figures = {}
        for load in ("1000", "1"):
            base_plain = med(runs.get((base_server, key("plain", load)), []), "rps")
            for server, label in servers:
                values = runs.get((server, key("count", load)))
                if not values or not base_plain: continue
                own_plain = med(runs.get((server, key("plain", load)), []), "rps")
                rps = med(values, "rps")
                figures[(server, load)] = (rps / base_plain, rps / own_plain if own_plain else None)
                lost_text = "–" if server not in lost else str(max(0, lost[server]))
                print(f"| {label} | {loads[load]} | {spread(values, 'rps', 0)} | {rps / base_plain:.2f} | "
                      f"{'–' if not own_plain else f'{rps / own_plain:.2f}'} | {spread(values, 'app_cpu_us', 1)} | {lost_text} |")
        print()
        ours_on_it = servers[1][0]
        for load in ("1000", "1"):
            if not all((server, load) in figures for server, _ in servers): continue
            mine, bundled = figures[(ours_on_it, load)], figures[("ours", load)]
            owns = "; ".join(f"÷ {label[len(framework) + 2:]} {mine[0] / figures[(server, load)][0]:.2f}" for server, label in servers[2:])
            print(f"{loads[load]}: our middleware {owns}; our middleware's ratio to its own /plain ÷ the bundled server's "
                  f"{mine[1] / bundled[1]:.2f}; to {framework}'s /plain ÷ the bundled server's to its own {mine[0] / bundled[1]:.2f}")
print()
runs = os.environ.get('RUNS', '3')
print(f"/myapp/count unless noted; wrk -t1 -c16, warm-up, then the median of {runs} runs [lowest–highest run]; "
      "µs/req: CPU time per request of the app process and of the store servers (all of a configuration's store processes); "
      "lost updates are counted over both loads of a configuration."
      + (" new: OURS_BIN or this tree; base: BASE_BIN; the two alternate run by run on the same stores." if compare else ""))
PY
