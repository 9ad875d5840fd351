#!/usr/bin/env bash
# Load benchmark of the sample on loopback: /myapp/plain (no session), /myapp/count and /myapp/read
# with SESSIONS session cookies (default: one hot session), `wrk -t1 -c16 -d10s --latency`, a 5 s warm-up and RUNS runs per
# route (median reported), routes interleaved run by run so drift hits all of them alike.
#
#   Benchmarks/wrk-sample.sh                        # our sample only
#   Benchmarks/wrk-sample.sh --peer DIR             # also the Hummingbird peer in DIR (a copy of
#                                                   # shared/peers/hummingbird-sessions), same sitting
#   Benchmarks/wrk-sample.sh --store memcached      # sessions in a memcached (or: redis) that the
#                                                   # script starts on loopback; also prints the
#                                                   # store commands per request of each route
#   Benchmarks/wrk-sample.sh --store redis-cluster  # a 3-master Redis Cluster on loopback
#   Benchmarks/wrk-sample.sh --store redis-sentinel # a master, a replica and 3 sentinels
# Environment: RUNS (default 3), DURATION (default 10s), PORT (default 8090), PEER_PORT (8081),
# PEER_BIN (an already built peer binary: used instead of building --peer DIR), STORE_PORT (21211),
# CONNECTIONS (wrk -c, default 16; with 1 no two requests overlap, which shows the store commands
# a lone request costs, since concurrent requests for one session share its load and write),
# SESSIONS (default 1: one hot session; 1000: each connection cycles through 1000 sessions, the
# realistic load, see round-robin.lua), NODES (store nodes, default 1; 2: ids n1/n2 on ports
# STORE_PORT and STORE_PORT+1, with backups), OURS_BIN (a SessionSample binary to measure instead
# of building this tree: a baseline from another commit, measured in the same sitting), STICKY
# (with --store: msm's sticky attribute, default true like the product; false for non-sticky),
# LOCKING (with --store: msm's lockingMode, e.g. all, auto or uriPattern:…; default none; any
# other value runs non-sticky, as locking requires), WAIT_REPLICAS (with a Redis store: the
# waitForReplicas attribute, default 0; redis-sentinel has one replica to wait for), CLUSTER_MASTERS
# (with redis-cluster: masters, default 3; 1 measures the routing alone, every slot on one master).
# With --store, the end of the output compares the sessions' final counts with the /count
# requests answered 2xx (lost updates: fewer counted than acknowledged).
# For Benchmarks/bench.sh: ROUTES (default "plain count read"), WARMUP (default 5s), LOADS (session
# counts measured in the same sitting, e.g. "1000 1"; default SESSIONS), UNKNOWN_IDS=1 (the loads
# are instead "random": a different well-formed id the store does not know on every request, and
# "repeated": one such id), RESULTS (a file: the raw result lines, the lost updates and the
# server's RSS are appended to it, and the table is left to the caller).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
RUNS=${RUNS:-3}; DURATION=${DURATION:-10s}; CONNECTIONS=${CONNECTIONS:-16}; PORT=${PORT:-8090}; PEER_PORT=${PEER_PORT:-8081}
SESSIONS=${SESSIONS:-1}; NODES=${NODES:-1}; ROUTES=${ROUTES:-plain count read}; WARMUP=${WARMUP:-5s}; LOADS=${LOADS:-$SESSIONS}
UNKNOWN_IDS=${UNKNOWN_IDS:-}; RESULTS=${RESULTS:-}; STICKY=${STICKY:-true}; LOCKING=${LOCKING:-none}; WAIT_REPLICAS=${WAIT_REPLICAS:-0}
[ "$LOCKING" != none ] && STICKY=false
peer_dir=""; store=memory; STORE_PORT=${STORE_PORT:-21211}
while [ $# -gt 0 ]; do
  case "$1" in
    --peer) peer_dir=$(cd "$2" && pwd); shift 2 ;;
    --store) store=$2; shift 2 ;;
    *) echo "usage: $0 [--peer DIR] [--store memory|memcached|redis|redis-cluster|redis-sentinel]" >&2; exit 2 ;;
  esac
done

ours_bin=$(Benchmarks/sample-binary.sh)

peer_bin="${PEER_BIN:-}"
if [ -z "$peer_bin" ] && [ -n "$peer_dir" ]; then
  # Build a copy: the peer's own folder may be read-only.
  work=$(mktemp -d)
  cp -r "$peer_dir/." "$work/"
  (cd "$work" && swift build -c release >&2)
  peer_bin="$work/.build/release/HBSessions"
fi

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; }  # waited for: the next run needs their ports
trap cleanup EXIT

wait_up() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/myapp/plain" && return 0; sleep 0.1; done; echo "server on $1 did not start" >&2; exit 1; }
port_free() { if curl -s -o /dev/null "http://127.0.0.1:$1/"; then echo "port $1 is already in use (an old server?)" >&2; exit 1; fi; }
port_free "$PORT"

# The store: commands counted from the servers' own statistics (memcached `stats`, Redis
# `INFO commandstats`), summed over the nodes, before and after each run.
store_commands() {
  python3 - "$store" "$STORE_PORT" "$NODES" <<'PY'
import socket, sys
kind, first, nodes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def complete(data):
    if kind == "memcached":
        return data.endswith(b"END\r\n")
    head, sep, body = data.partition(b"\r\n")  # a bulk string: $<length>, CRLF, body, CRLF
    return bool(sep) and len(body) >= int(head[1:]) + 2
def commands(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"stats\r\n" if kind == "memcached" else b"INFO commandstats\r\n")
    data = b""
    while not complete(data):
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    text = data.decode()
    if kind == "memcached":
        stats = dict(l.split()[1:3] for l in text.split("\r\n") if l.startswith("STAT "))
        return sum(int(stats.get(k, 0)) for k in ("cmd_get", "cmd_set", "cmd_touch", "delete_hits", "delete_misses"))
    return sum(int(l.split("calls=")[1].split(",")[0]) for l in text.split("\r\n")
               if l.startswith("cmdstat_") and not l.startswith("cmdstat_info:"))
print(sum(commands(first + n) for n in range(nodes)))
PY
}
# The sample's configuration for the store nodes in $nodes.
config_store() {
    # The previous run's servers may still hold the ports for a moment: wait until ours answer.
    for _ in $(seq 1 50); do store_commands >/dev/null 2>&1 && break; sleep 0.2; done
    store_commands >/dev/null || { echo "the $store servers on ports $STORE_PORT.. did not start (ports in use?)" >&2; exit 1; }
    config=$(mktemp --suffix=.xml)
    # Only when asked for: a baseline binary (OURS_BIN) from before the attribute refuses it.
    local wait=""; [ "$WAIT_REPLICAS" != 0 ] && wait=" waitForReplicas=\"$WAIT_REPLICAS\""
    cat > "$config" <<XML
<Server>
  <Connector port="$PORT" address="127.0.0.1"/>
  <Engine jvmRoute="bench">
    <Context path="/myapp" app="sample"><Manager memcachedNodes="$nodes" sticky="$STICKY" lockingMode="$LOCKING"$wait requestUriIgnorePattern=".*\.(ico|png|gif|jpg|css|js)\$"/></Context>
  </Engine>
</Server>
XML
    config_args=(--config "$config")
}


config_args=(--port "$PORT")
case "$store" in
  memory) ;;
  memcached|redis)
    nodes=""
    for n in $(seq 1 "$NODES"); do
      port=$((STORE_PORT + n - 1))
      if [ "$store" = memcached ]; then
        memcached -l 127.0.0.1 -p "$port" -U 0 -m 256 $([ "$(id -u)" -eq 0 ] && echo -u root) >/dev/null 2>&1 & pids+=($!)
        entry="n$n:127.0.0.1:$port"
      else
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 & pids+=($!)
        entry="redis://127.0.0.1:$port"
        [ "$NODES" -gt 1 ] && entry="n$n:$entry"
      fi
      nodes="${nodes:+$nodes,}$entry"
    done
    config_store ;;
  redis-cluster)
    # CLUSTER_MASTERS masters (default 3), no replicas; commands are counted on all of them.
    NODES=${CLUSTER_MASTERS:-3}; seeds=""
    for n in $(seq 0 $((NODES - 1))); do
      port=$((STORE_PORT + n)); dir=$(mktemp -d)
      redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --cluster-enabled yes \
        --cluster-config-file nodes.conf --cluster-node-timeout 1000 --cluster-require-full-coverage no >/dev/null 2>&1 & pids+=($!)
      seeds="${seeds:+$seeds+}127.0.0.1:$port"
    done
    for _ in $(seq 1 50); do store_commands >/dev/null 2>&1 && break; sleep 0.2; done
    if [ "$NODES" -eq 1 ]; then
      redis-cli -p "$STORE_PORT" cluster addslotsrange 0 16383 >/dev/null  # --cluster create needs 3 masters
    else
      redis-cli --cluster create ${seeds//+/ } --cluster-replicas 0 --cluster-yes >/dev/null
    fi
    for _ in $(seq 1 100); do redis-cli -p "$STORE_PORT" cluster info | grep -q cluster_state:ok && break; sleep 0.1; done
    nodes="redis-cluster://$seeds"
    config_store ;;
  redis-sentinel)
    # Master on STORE_PORT, its replica on +1, sentinels on +2..+4; commands counted on the master.
    NODES=1; sentinels=""
    # In folders of their own: a replica writes the RDB it receives to its `dir`.
    redis-server --port "$STORE_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$(mktemp -d)" >/dev/null 2>&1 & pids+=($!)
    redis-server --port $((STORE_PORT + 1)) --bind 127.0.0.1 --save "" --appendonly no --dir "$(mktemp -d)" \
      --replicaof 127.0.0.1 "$STORE_PORT" >/dev/null 2>&1 & pids+=($!)
    for n in 2 3 4; do
      conf=$(mktemp --suffix=.conf)
      printf 'port %s\nbind 127.0.0.1\nsentinel monitor bench 127.0.0.1 %s 2\n' $((STORE_PORT + n)) "$STORE_PORT" > "$conf"
      redis-sentinel "$conf" >/dev/null 2>&1 & pids+=($!)
      sentinels="${sentinels:+$sentinels+}127.0.0.1:$((STORE_PORT + n))"
    done
    for _ in $(seq 1 100); do redis-cli -p $((STORE_PORT + 1)) info replication | grep -q master_link_status:up && break; sleep 0.1; done
    for _ in $(seq 1 100); do redis-cli -p $((STORE_PORT + 2)) sentinel get-master-addr-by-name bench | grep -q 127.0.0.1 && break; sleep 0.1; done
    nodes="redis-sentinel://$sentinels/bench"
    config_store ;;
  *) echo "unknown store $store (memory, memcached, redis, redis-cluster, redis-sentinel)" >&2; exit 2 ;;
esac

"$ours_bin" "${config_args[@]}" --log-level warning & pids+=($!); ours_pid=$!
wait_up "$PORT"
if [ -n "$peer_bin" ]; then "$peer_bin" "$PEER_PORT" & pids+=($!); wait_up "$PEER_PORT"; fi

# One file of cookies per server and load: wrk cycles each connection through them
# (round-robin.lua). Sessions are made by /myapp/count over one keep-alive connection.
cookie_file() { # port sessions
  local file; file=$(mktemp)
  python3 - "$1" "$2" > "$file" <<'PY'
import http.client, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
connection = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(count):
    connection.request("GET", "/myapp/count")
    response = connection.getresponse(); response.read()
    print(response.getheader("Set-Cookie").split(";")[0])
PY
  echo "$file"
}
unknown_file() { # random|repeated: well-formed ids (32 hex digits) no store knows
  local file; file=$(mktemp)
  python3 - "$1" "$NODES" > "$file" <<'PY'
import secrets, sys
nodes = int(sys.argv[2])
for _ in range(100000 if sys.argv[1] == "random" else 1):
    # With node ids, an id names one of the nodes (an id naming none is refused without a read).
    node = f"-n{secrets.randbelow(nodes) + 1}" if nodes > 1 else ""
    print("JSESSIONID=" + secrets.token_hex(16).upper() + node)
PY
  echo "$file"
}
declare -A cookies
servers=(ours)
declare -A ports=([ours]=$PORT)
[ -n "$peer_bin" ] && { servers+=(hummingbird); ports[hummingbird]=$PEER_PORT; }
[ -n "$UNKNOWN_IDS" ] && LOADS="random repeated"
for s in "${servers[@]}"; do
  for load in $LOADS; do
    if [ -n "$UNKNOWN_IDS" ]; then cookies[$s:$load]=$(unknown_file "$load"); else cookies[$s:$load]=$(cookie_file "${ports[$s]}" "$load"); fi
  done
done
multi_load=""; [ "$(wc -w <<<"$LOADS")" -gt 1 ] && multi_load=1

results=$(mktemp)
acknowledged=0  # /count requests of ours answered 2xx, warm-up included
one_run() { # server route duration load -> RESULT line (+ store commands per request for ours)
  local before=0 line
  [ "$1" = ours ] && [ "$store" != memory ] && before=$(store_commands)
  line=$(COOKIES="${cookies[$1:$4]}" wrk -t1 -c"$CONNECTIONS" -d"$3" --latency -s "$root/Benchmarks/round-robin.lua" "http://127.0.0.1:${ports[$1]}/myapp/$2" | grep '^RESULT')
  if [ "$1" = ours ] && [ "$store" != memory ]; then
    local after requests
    after=$(store_commands)
    requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
    line="$line store_cmds_per_req=$(python3 -c "print(round(($after - $before) / max(1, $requests), 3))")"
  fi
  echo "$line"
}
count_acknowledged() { # server route RESULT-line
  if [ "$1" = ours ] && [ "$2" = count ]; then
    acknowledged=$((acknowledged + $(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$3") - $(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$3")))
  fi
}
for s in "${servers[@]}"; do for load in $LOADS; do for r in $ROUTES; do line=$(one_run "$s" "$r" "$WARMUP" "$load"); count_acknowledged "$s" "$r" "$line"; done; done; done
for run in $(seq 1 "$RUNS"); do
  for s in "${servers[@]}"; do
    for load in $LOADS; do
      for r in $ROUTES; do
        line=$(one_run "$s" "$r" "$DURATION" "$load")
        count_acknowledged "$s" "$r" "$line"
        echo "$s $r${multi_load:+@$load} run$run $line" | tee -a "$results" >&2
      done
    done
  done
done
if [ -z "$UNKNOWN_IDS" ] && [[ " $ROUTES " == *" count "* ]]; then
  # Every session was created with count=1 by cookie_file; each acknowledged /count added one.
  counted=$(python3 - "$PORT" $(for load in $LOADS; do echo "${cookies[ours:$load]}"; done) <<'PY'
import http.client, sys
port, total = int(sys.argv[1]), 0
connection = http.client.HTTPConnection("127.0.0.1", port)
for path in sys.argv[2:]:
    for cookie in open(path).read().split():
        connection.request("GET", "/myapp/read", headers={"Cookie": cookie})
        body = connection.getresponse().read().decode()
        total += int(dict(l.split("=", 1) for l in body.split("\n") if "=" in l).get("count", 0)) - 1
print(total)
PY
)
  echo "updates: $counted counted in the sessions, $acknowledged /count requests answered 2xx; lost: $((acknowledged > counted ? acknowledged - counted : 0))" >&2
  echo "lost-updates counted=$counted acknowledged=$acknowledged" >> "$results"
fi
echo "rss_kb $(ps -o rss= -p "$ours_pid" | tr -d ' ')" >> "$results"
if [ -n "$RESULTS" ]; then cat "$results" >> "$RESULTS"; exit 0; fi

python3 - "$results" <<'PY'
import re, statistics, sys
rows = {}
lost = None
for line in open(sys.argv[1]):
    if line.startswith("rss_kb"):
        continue
    if line.startswith("lost-updates"):
        lost = dict(f.split("=") for f in line.split()[1:])
        continue
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
if lost:
    counted, acknowledged = int(lost["counted"]), int(lost["acknowledged"])
    print(f"updates: {counted} counted in the sessions, {acknowledged} /count answers 2xx, lost: {max(0, acknowledged - counted)}")
PY
