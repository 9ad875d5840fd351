#!/usr/bin/env bash
# Load benchmark of the sample on loopback: /myapp/plain (no session), /myapp/count and /myapp/read
# with one reused session cookie, `wrk -t1 -c16 -d10s --latency`, a 5 s warm-up and RUNS runs per
# route (median reported), routes interleaved run by run so drift hits all of them alike.
#
#   Benchmarks/wrk-sample.sh                        # our sample only
#   Benchmarks/wrk-sample.sh --peer DIR             # also the Hummingbird peer in DIR (a copy of
#                                                   # shared/peers/hummingbird-sessions), same sitting
#   Benchmarks/wrk-sample.sh --store memcached      # sessions in a memcached (or: redis) that the
#                                                   # script starts on loopback; also prints the
#                                                   # store commands per request of each route
# Environment: RUNS (default 3), DURATION (default 10s), PORT (default 8090), PEER_PORT (8081),
# PEER_BIN (an already built peer binary: used instead of building --peer DIR), STORE_PORT (21211),
# CONNECTIONS (wrk -c, default 16; with 1 no two requests overlap, which shows the store commands
# a lone request costs, since concurrent requests for one session share its load and write).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
RUNS=${RUNS:-3}; DURATION=${DURATION:-10s}; CONNECTIONS=${CONNECTIONS:-16}; PORT=${PORT:-8090}; PEER_PORT=${PEER_PORT:-8081}
peer_dir=""; store=memory; STORE_PORT=${STORE_PORT:-21211}
while [ $# -gt 0 ]; do
  case "$1" in
    --peer) peer_dir=$(cd "$2" && pwd); shift 2 ;;
    --store) store=$2; shift 2 ;;
    *) echo "usage: $0 [--peer DIR] [--store memory|memcached|redis]" >&2; exit 2 ;;
  esac
done

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
port_free() { if curl -s -o /dev/null "http://127.0.0.1:$1/"; then echo "port $1 is already in use (an old server?)" >&2; exit 1; fi; }
port_free "$PORT"

# The store: commands counted from the server's own statistics (memcached `stats`, Redis
# `INFO commandstats`) before and after each run.
store_commands() {
  python3 - "$store" "$STORE_PORT" <<'PY'
import socket, sys
kind, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"stats\r\n" if kind == "memcached" else b"INFO commandstats\r\n")
data = b""
def complete(data):
    if kind == "memcached":
        return data.endswith(b"END\r\n")
    head, sep, body = data.partition(b"\r\n")  # a bulk string: $<length>, CRLF, body, CRLF
    return bool(sep) and len(body) >= int(head[1:]) + 2
while not complete(data):
    chunk = s.recv(65536)
    if not chunk: break
    data += chunk
text = data.decode()
if kind == "memcached":
    stats = dict(l.split()[1:3] for l in text.split("\r\n") if l.startswith("STAT "))
    print(sum(int(stats.get(k, 0)) for k in ("cmd_get", "cmd_set", "cmd_touch", "delete_hits", "delete_misses")))
else:
    total = 0
    for line in text.split("\r\n"):
        if line.startswith("cmdstat_") and not line.startswith("cmdstat_info:"):
            total += int(line.split("calls=")[1].split(",")[0])
    print(total)
PY
}
config_args=(--port "$PORT")
case "$store" in
  memory) ;;
  memcached|redis)
    if [ "$store" = memcached ]; then
      memcached -l 127.0.0.1 -p "$STORE_PORT" -U 0 -m 256 $([ "$(id -u)" -eq 0 ] && echo -u root) >/dev/null 2>&1 & pids+=($!)
      nodes="n1:127.0.0.1:$STORE_PORT"
    else
      redis-server --port "$STORE_PORT" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 & pids+=($!)
      nodes="redis://127.0.0.1:$STORE_PORT"
    fi
    sleep 0.5
    config=$(mktemp --suffix=.xml)
    cat > "$config" <<XML
<Server>
  <Connector port="$PORT" address="127.0.0.1"/>
  <Engine jvmRoute="bench">
    <Context path="/myapp" app="sample"><Manager memcachedNodes="$nodes" requestUriIgnorePattern=".*\.(ico|png|gif|jpg|css|js)\$"/></Context>
  </Engine>
</Server>
XML
    config_args=(--config "$config") ;;
  *) echo "unknown store $store (memory, memcached, redis)" >&2; exit 2 ;;
esac

"$ours_bin" "${config_args[@]}" --log-level warning & pids+=($!)
wait_up "$PORT"
if [ -n "$peer_bin" ]; then "$peer_bin" "$PEER_PORT" & pids+=($!); wait_up "$PEER_PORT"; fi

cookie_for() { curl -s -i "http://127.0.0.1:$1/myapp/count" | grep -i '^set-cookie:' | head -1 | sed -E 's/^[^:]*: *//; s/;.*//' | tr -d '\r'; }
declare -A cookies
cookies[ours]=$(cookie_for "$PORT")
servers=(ours)
declare -A ports=([ours]=$PORT)
if [ -n "$peer_bin" ]; then servers+=(hummingbird); ports[hummingbird]=$PEER_PORT; cookies[hummingbird]=$(cookie_for "$PEER_PORT"); fi

results=$(mktemp)
one_run() { # server route duration -> RESULT line (+ store commands per request for ours)
  local before=0 line
  [ "$1" = ours ] && [ "$store" != memory ] && before=$(store_commands)
  line=$(SESSION_COOKIE="${cookies[$1]}" wrk -t1 -c"$CONNECTIONS" -d"$3" --latency -s "$root/Benchmarks/cookie.lua" "http://127.0.0.1:${ports[$1]}/myapp/$2" | grep '^RESULT')
  if [ "$1" = ours ] && [ "$store" != memory ]; then
    local after requests
    after=$(store_commands)
    requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
    line="$line store_cmds_per_req=$(python3 -c "print(round(($after - $before) / max(1, $requests), 3))")"
  fi
  echo "$line"
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
has_store = any("store_cmds_per_req" in v for vs in rows.values() for v in vs)
def paired(server, route):
    # Each run measures plain, count and read back to back: the median of the per-run ratios
    # cancels most of the machine's drift between runs.
    return statistics.median(float(v["rps"]) / float(p["rps"]) for v, p in zip(rows[(server, route)], rows[(server, "plain")]))
print(f"{'server':<12} {'route':<6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'÷ plain':>8} {'paired':>7}" + (f" {'store cmds/req':>15}" if has_store else ""))
servers = sorted({s for s, _ in rows}, key=lambda s: s != "ours")
for s in servers:
    plain = med(s, "plain", "rps")
    for r in ("plain", "count", "read"):
        rps = med(s, r, "rps")
        extra = f" {med(s, r, 'store_cmds_per_req'):>15.3f}" if has_store and s == "ours" else ""
        print(f"{s:<12} {r:<6} {rps:>9.0f} {med(s, r, 'p50_ms'):>8.3f} {med(s, r, 'p99_ms'):>8.3f} {rps / plain:>8.2f} {paired(s, r):>7.2f}{extra}")
if "hummingbird" in servers:
    for r in ("plain", "count", "read"):
        print(f"ours/hummingbird {r}: {med('ours', r, 'rps') / med('hummingbird', r, 'rps'):.2f}")
print("÷ plain: ratio of medians; paired: median of the per-run ratios (same run, back to back)")
PY
