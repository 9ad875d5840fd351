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
#   Benchmarks/wrk-sample.sh --store redis-tls      # Redis over TLS (rediss://, a CA made here)
#   Benchmarks/wrk-sample.sh --store redis-cluster  # a 3-master Redis Cluster on loopback
#   Benchmarks/wrk-sample.sh --store redis-sentinel # a master, a replica and 3 sentinels
#   Benchmarks/wrk-sample.sh --store peers          # no store server: the sample keeps its copies in
#                                                   # a second sample process's <SessionPeer> endpoint
#                                                   # (msm's sticky topology, memcached inside the app);
#                                                   # that process's CPU is the store's
# Environment: RUNS (default 3), DURATION (default 10s), PORT (default 8090), PEER_PORT (8081),
# PEER_BIN (an already built peer binary: used instead of building --peer DIR), STORE_PORT (21211),
# CONNECTIONS (wrk -c, default 16; with 1 no two requests overlap, which shows the store commands
# a lone request costs, since concurrent requests for one session share its load and write),
# SESSIONS (default 1: one hot session; 1000: each connection cycles through 1000 sessions, the
# realistic load, see round-robin.lua), NODES (store nodes, default 1; 2: ids n1/n2 on ports
# STORE_PORT and STORE_PORT+1, with backups), OURS_BIN (a SessionSample binary to measure instead
# of building this tree), BASE_BIN (a second SessionSample binary, a build of another commit: it runs
# beside the first on BASE_PORT, default PORT+1, on the same stores, and every measurement is taken
# of both in turn, new then base, so that drift hits both alike), STICKY
# (with --store: msm's sticky attribute, default true like the product; false for non-sticky),
# LOCKING (with --store: msm's lockingMode, e.g. all, auto or uriPattern:…; default none; any
# other value runs non-sticky, as locking requires), WAIT_REPLICAS (with a Redis store: the
# waitForReplicas attribute, default 0; redis-sentinel has one replica to wait for), CLUSTER_MASTERS
# (with redis-cluster: masters, default 3; 1 measures the routing alone, every slot on one master),
# HB_BIN (a HummingbirdSample binary, built with the HummingbirdSupport trait: the sample's routes on
# Hummingbird with our middleware, on HB_PORT, default PORT+2, on the same stores and configuration,
# measured in turn with the others as server "hb"), VAPOR_BIN (a VaporSample binary, VaporSupport
# trait: our middleware on Vapor, on VAPOR_PORT, default PORT+3, server "vapor"), VAPOR_PEER_BIN (a
# release build of shared/peers/vapor-sessions: Vapor's own SessionsMiddleware with its memory
# driver, started twice: with Vapor's default cookie on VAPOR_PEER_PORT, default PEER_PORT+1, server
# "vapor-own", and with PEER_COOKIE=maxage on VAPOR_PEER_PORT+1, server "vapor-own-maxage").
# With --store, the end of the output compares the sessions' final counts with the /count
# requests answered 2xx (lost updates: fewer counted than acknowledged).
# For Benchmarks/bench.sh: ROUTES (default "plain count read"), WARMUP (default 5s), LOADS (session
# counts measured in the same sitting, e.g. "1000 1"; default SESSIONS), UNKNOWN_IDS=1 (the loads
# are instead "random": a different well-formed id the store does not know on every request, and
# "repeated": one such id), RESULTS (a file: the raw result lines, the lost updates and the
# server's RSS are appended to it, and the table is left to the caller).
# CPU per request: the app's (utime + stime from /proc/<pid>/stat, all its threads) and the store
# servers' (summed over every store process started here: nodes, replicas, sentinels), read before
# and after each wrk run and divided by the requests wrk completed, in µs. CPU_CHECK=1 also runs
# `perf stat -e task-clock` on the app over each run and prints both figures to stderr (an
# independent measure of the same interval, to check the column).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
RUNS=${RUNS:-3}; DURATION=${DURATION:-10s}; CONNECTIONS=${CONNECTIONS:-16}; PORT=${PORT:-8090}; PEER_PORT=${PEER_PORT:-8081}
SESSIONS=${SESSIONS:-1}; NODES=${NODES:-1}; ROUTES=${ROUTES:-plain count read}; WARMUP=${WARMUP:-5s}; LOADS=${LOADS:-$SESSIONS}
UNKNOWN_IDS=${UNKNOWN_IDS:-}; RESULTS=${RESULTS:-}; STICKY=${STICKY:-true}; LOCKING=${LOCKING:-none}; WAIT_REPLICAS=${WAIT_REPLICAS:-0}
[ "$LOCKING" != none ] && STICKY=false
BASE_BIN=${BASE_BIN:-}; BASE_PORT=${BASE_PORT:-$((PORT + 1))}; CPU_CHECK=${CPU_CHECK:-}
HB_BIN=${HB_BIN:-}; HB_PORT=${HB_PORT:-$((PORT + 2))}
VAPOR_BIN=${VAPOR_BIN:-}; VAPOR_PORT=${VAPOR_PORT:-$((PORT + 3))}
VAPOR_PEER_BIN=${VAPOR_PEER_BIN:-}; VAPOR_PEER_PORT=${VAPOR_PEER_PORT:-$((PEER_PORT + 1))}
ROUTES=${ROUTES//,/ }  # commas too: bench.sh passes its environment as words
peer_dir=""; store=memory; STORE_PORT=${STORE_PORT:-21211}
while [ $# -gt 0 ]; do
  case "$1" in
    --peer) peer_dir=$(cd "$2" && pwd); shift 2 ;;
    --store) store=$2; shift 2 ;;
    *) echo "usage: $0 [--peer DIR] [--store memory|memcached|redis|redis-tls|redis-cluster|redis-sentinel|peers]" >&2; exit 2 ;;
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

pids=(); store_pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; }  # waited for: the next run needs their ports
trap cleanup EXIT

wait_up() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/myapp/plain" && return 0; sleep 0.1; done; echo "server on $1 did not start" >&2; exit 1; }
port_free() { if curl -s -o /dev/null "http://127.0.0.1:$1/"; then echo "port $1 is already in use (an old server?)" >&2; exit 1; fi; }
port_free "$PORT"; [ -n "$BASE_BIN" ] && port_free "$BASE_PORT"; [ -n "$HB_BIN" ] && port_free "$HB_PORT"
[ -n "$VAPOR_BIN" ] && port_free "$VAPOR_PORT"
[ -n "$VAPOR_PEER_BIN" ] && { port_free "$VAPOR_PEER_PORT"; port_free "$((VAPOR_PEER_PORT + 1))"; }

# The store: commands counted from the servers' own statistics (memcached `stats`, Redis
# `INFO commandstats`), summed over the nodes, before and after each run.
store_commands() {
  # A TLS Redis is counted on its plaintext port, ADMIN_OFFSET above its TLS port.
  python3 - "$store" "$((STORE_PORT + ADMIN_OFFSET))" "$NODES" <<'PY'
import socket, sys
kind, first, nodes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
memcached = kind in ("memcached", "peers")
def complete(data):
    if memcached:
        return data.endswith(b"END\r\n")
    head, sep, body = data.partition(b"\r\n")  # a bulk string: $<length>, CRLF, body, CRLF
    return bool(sep) and len(body) >= int(head[1:]) + 2
def commands(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"stats\r\n" if memcached else b"INFO commandstats\r\n")
    data = b""
    while not complete(data):
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    text = data.decode()
    if memcached:
        stats = dict(l.split()[1:3] for l in text.split("\r\n") if l.startswith("STAT "))
        return sum(int(stats.get(k, 0)) for k in ("cmd_get", "cmd_set", "cmd_touch", "delete_hits", "delete_misses"))
    return sum(int(l.split("calls=")[1].split(",")[0]) for l in text.split("\r\n")
               if l.startswith("cmdstat_") and not l.startswith("cmdstat_info:"))
print(sum(commands(first + n) for n in range(nodes)))
PY
}
# The sample's configuration for the store nodes in $nodes: one file per server (port and route).
config_store() {
    # The previous run's servers may still hold the ports for a moment: wait until ours answer.
    for _ in $(seq 1 50); do store_commands >/dev/null 2>&1 && break; sleep 0.2; done
    store_commands >/dev/null || { echo "the $store servers on ports $STORE_PORT.. did not start (ports in use?)" >&2; exit 1; }
    config_args=(--config "$(write_config "$PORT" bench)")
    base_config_args=(--config "$(write_config "$BASE_PORT" base)")
    hb_config_args=(--config "$(write_config "$HB_PORT" hb)")
    vapor_config_args=(--config "$(write_config "$VAPOR_PORT" vapor)")
}
write_config() { # port route -> path of the configuration file
    local config; config=$(mktemp --suffix=.xml)
    # Only when asked for: a baseline binary (BASE_BIN) from before the attribute refuses it.
    local wait=""; [ "$WAIT_REPLICAS" != 0 ] && wait=" waitForReplicas=\"$WAIT_REPLICAS\""
    cat > "$config" <<XML
<Server>
  <Connector port="$1" address="127.0.0.1"/>
  <Engine jvmRoute="$2">
    <Context path="/myapp" app="sample"><Manager memcachedNodes="$nodes" sticky="$STICKY" lockingMode="$LOCKING"$wait$tls_attributes$failover_attribute requestUriIgnorePattern=".*\.(ico|png|gif|jpg|css|js)\$"/></Context>
    $peer_element
  </Engine>
</Server>
XML
    echo "$config"
}

config_args=(--port "$PORT"); base_config_args=(--port "$BASE_PORT"); hb_config_args=(--port "$HB_PORT"); vapor_config_args=(--port "$VAPOR_PORT")
ADMIN_OFFSET=0; tls_attributes=""; failover_attribute=""; peer_element=""
if [ "$store" = redis-tls ]; then
  # A throwaway CA and a certificate for 127.0.0.1, as the README's TLS walk-through makes them.
  tls_dir=$(mktemp -d)
  (
    cd "$tls_dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=bench CA"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem
  ) >/dev/null 2>&1
  ADMIN_OFFSET=50; tls_attributes=" tlsCAFile=\"$tls_dir/ca.pem\""
fi
case "$store" in
  memory) ;;
  memcached|redis|redis-tls)
    nodes=""
    for n in $(seq 1 "$NODES"); do
      port=$((STORE_PORT + n - 1))
      if [ "$store" = redis-tls ]; then
        # Clients on the TLS port; this script counts commands on the plaintext one.
        redis-server --port $((port + ADMIN_OFFSET)) --tls-port "$port" --bind 127.0.0.1 --save "" --appendonly no \
          --tls-cert-file "$tls_dir/server.pem" --tls-key-file "$tls_dir/server.key" --tls-ca-cert-file "$tls_dir/ca.pem" \
          --tls-auth-clients no >/dev/null 2>&1 & pids+=($!); store_pids+=($!)
        entry="rediss://127.0.0.1:$port"
        [ "$NODES" -gt 1 ] && entry="n$n:$entry"
      elif [ "$store" = memcached ]; then
        memcached -l 127.0.0.1 -p "$port" -U 0 -m 256 $([ "$(id -u)" -eq 0 ] && echo -u root) >/dev/null 2>&1 & pids+=($!); store_pids+=($!)
        entry="n$n:127.0.0.1:$port"
      else
        redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 & pids+=($!); store_pids+=($!)
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
        --cluster-config-file nodes.conf --cluster-node-timeout 1000 --cluster-require-full-coverage no >/dev/null 2>&1 & pids+=($!); store_pids+=($!)
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
    redis-server --port "$STORE_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$(mktemp -d)" >/dev/null 2>&1 & pids+=($!); store_pids+=($!)
    redis-server --port $((STORE_PORT + 1)) --bind 127.0.0.1 --save "" --appendonly no --dir "$(mktemp -d)" \
      --replicaof 127.0.0.1 "$STORE_PORT" >/dev/null 2>&1 & pids+=($!); store_pids+=($!)
    for n in 2 3 4; do
      conf=$(mktemp --suffix=.conf)
      printf 'port %s\nbind 127.0.0.1\nsentinel monitor bench 127.0.0.1 %s 2\n' $((STORE_PORT + n)) "$STORE_PORT" > "$conf"
      redis-sentinel "$conf" >/dev/null 2>&1 & pids+=($!); store_pids+=($!)
      sentinels="${sentinels:+$sentinels+}127.0.0.1:$((STORE_PORT + n))"
    done
    for _ in $(seq 1 100); do redis-cli -p $((STORE_PORT + 1)) info replication | grep -q master_link_status:up && break; sleep 0.1; done
    for _ in $(seq 1 100); do redis-cli -p $((STORE_PORT + 2)) sentinel get-master-addr-by-name bench | grep -q 127.0.0.1 && break; sleep 0.1; done
    nodes="redis-sentinel://$sentinels/bench"
    config_store ;;
  peers)
    # No store server: the measured sample is app node 1 with its endpoint n1 on STORE_PORT, and a
    # second sample process is node 2 with its endpoint n2 on STORE_PORT+1, where node 1's copies
    # go (each names its own endpoint as failover node). Commands are counted on n2.
    [ -n "$BASE_BIN$HB_BIN$VAPOR_BIN" ] && { echo "--store peers measures this tree's sample alone" >&2; exit 2; }
    nodes="n1:127.0.0.1:$STORE_PORT,n2:127.0.0.1:$((STORE_PORT + 1))"
    failover_attribute=' failoverNodes="n2"'; peer_element="<SessionPeer nodeId=\"n2\" port=\"$((STORE_PORT + 1))\"/>"
    peer_app_port=$((PORT + 40)); port_free "$peer_app_port"
    "$ours_bin" --config "$(write_config "$peer_app_port" peer)" --log-level warning & pids+=($!); store_pids+=($!)
    wait_up "$peer_app_port"
    failover_attribute=' failoverNodes="n1"'; peer_element="<SessionPeer nodeId=\"n1\" port=\"$STORE_PORT\"/>"
    NODES=1; ADMIN_OFFSET=1
    config_store ;;
  *) echo "unknown store $store (memory, memcached, redis, redis-cluster, redis-sentinel, peers)" >&2; exit 2 ;;
esac

declare -A server_pid
"$ours_bin" "${config_args[@]}" --log-level warning & pids+=($!); server_pid[ours]=$!
wait_up "$PORT"
if [ -n "$BASE_BIN" ]; then
  "$BASE_BIN" "${base_config_args[@]}" --log-level warning & pids+=($!); server_pid[base]=$!
  wait_up "$BASE_PORT"
fi
if [ -n "$HB_BIN" ]; then
  "$HB_BIN" "${hb_config_args[@]}" --log-level warning & pids+=($!); server_pid[hb]=$!
  wait_up "$HB_PORT"
fi
if [ -n "$peer_bin" ]; then "$peer_bin" "$PEER_PORT" & pids+=($!); server_pid[hummingbird]=$!; wait_up "$PEER_PORT"; fi
if [ -n "$VAPOR_BIN" ]; then
  "$VAPOR_BIN" "${vapor_config_args[@]}" --log-level warning & pids+=($!); server_pid[vapor]=$!
  wait_up "$VAPOR_PORT"
fi
if [ -n "$VAPOR_PEER_BIN" ]; then
  "$VAPOR_PEER_BIN" "$VAPOR_PEER_PORT" & pids+=($!); server_pid[vapor-own]=$!; wait_up "$VAPOR_PEER_PORT"
  PEER_COOKIE=maxage "$VAPOR_PEER_BIN" "$((VAPOR_PEER_PORT + 1))" & pids+=($!); server_pid[vapor-own-maxage]=$!; wait_up "$((VAPOR_PEER_PORT + 1))"
fi

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
[ -n "$BASE_BIN" ] && { servers+=(base); ports[base]=$BASE_PORT; }
[ -n "$HB_BIN" ] && { servers+=(hb); ports[hb]=$HB_PORT; }
[ -n "$peer_bin" ] && { servers+=(hummingbird); ports[hummingbird]=$PEER_PORT; }
[ -n "$VAPOR_BIN" ] && { servers+=(vapor); ports[vapor]=$VAPOR_PORT; }
[ -n "$VAPOR_PEER_BIN" ] && { servers+=(vapor-own vapor-own-maxage); ports[vapor-own]=$VAPOR_PEER_PORT; ports[vapor-own-maxage]=$((VAPOR_PEER_PORT + 1)); }
[ -n "$UNKNOWN_IDS" ] && LOADS="random repeated"
for s in "${servers[@]}"; do
  for load in $LOADS; do
    if [ -n "$UNKNOWN_IDS" ]; then cookies[$s:$load]=$(unknown_file "$load"); else cookies[$s:$load]=$(cookie_file "${ports[$s]}" "$load"); fi
  done
done
multi_load=""; [ "$(wc -w <<<"$LOADS")" -gt 1 ] && multi_load=1

# CPU time (utime + stime, clock ticks) of the processes given, summed. /proc/<pid>/stat counts
# every thread of the process; the fields after the command name (which may hold spaces) start at
# field 3, so utime (14) and stime (15) are the 12th and 13th words after ") ".
clock_ticks=$(getconf CLK_TCK)
cpu_ticks() {
  local total=0 pid line rest
  for pid in "$@"; do
    read -r line < "/proc/$pid/stat" || continue
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}
per_request_us() { # ticks requests -> µs per request
  python3 -c "print(round($1 * 1e6 / $clock_ticks / max(1, $2), 1))"
}
# The processes whose store commands and CPU a run of a server is charged with: the stores only
# for our sample (both builds use the same stores; their runs never overlap).
ours_or_base() { [ "$1" = ours ] || [ "$1" = base ] || [ "$1" = hb ] || [ "$1" = vapor ]; }
uses_store() { [ "$store" != memory ] && ours_or_base "$1"; }

results=$(mktemp)
declare -A acknowledged  # /count requests of ours (and base) answered 2xx, warm-up included
for s in "${servers[@]}"; do acknowledged[$s]=0; done
one_run() { # server route duration load -> RESULT line, with CPU per request (and store commands)
  local before=0 line app_before store_before perf_file="" perf_pid=""
  uses_store "$1" && before=$(store_commands)
  app_before=$(cpu_ticks "${server_pid[$1]}"); store_before=$(cpu_ticks "${store_pids[@]}")
  if [ -n "$CPU_CHECK" ]; then
    perf_file=$(mktemp)
    perf stat -e task-clock -x, -o "$perf_file" -p "${server_pid[$1]}" & perf_pid=$!
  fi
  line=$(COOKIES="${cookies[$1:$4]}" wrk -t1 -c"$CONNECTIONS" -d"$3" --latency -s "$root/Benchmarks/round-robin.lua" "http://127.0.0.1:${ports[$1]}/myapp/$2" | grep '^RESULT')
  local app_after store_after requests
  app_after=$(cpu_ticks "${server_pid[$1]}"); store_after=$(cpu_ticks "${store_pids[@]}")
  # perf's interval ends with ours (it began just after ours did).
  [ -n "$perf_pid" ] && { kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; }
  requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  line="$line app_cpu_us=$(per_request_us $((app_after - app_before)) "$requests")"
  if uses_store "$1"; then
    line="$line store_cpu_us=$(per_request_us $((store_after - store_before)) "$requests")"
    local after
    after=$(store_commands)
    line="$line store_cmds_per_req=$(python3 -c "print(round(($after - $before) / max(1, $requests), 3))")"
  fi
  if [ -n "$perf_pid" ]; then
    local perf_ms; perf_ms=$(awk -F, '/task-clock/ { print $1 }' "$perf_file")
    echo "cpu check $1 $2@$4: /proc/<pid>/stat $(python3 -c "print(round(($app_after - $app_before) * 1000 / $clock_ticks))") ms, perf task-clock $(python3 -c "print(round(float('${perf_ms:-0}')))") ms over ${requests} requests" >&2
    rm -f "$perf_file"
  fi
  echo "$line"
}
count_acknowledged() { # server route RESULT-line
  if [ "$2" = count ]; then
    acknowledged[$1]=$((acknowledged[$1] + $(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$3") - $(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$3")))
  fi
}
# Servers alternate at every measurement (new, base, new, base…): whatever the machine does
# meanwhile falls on both alike.
for load in $LOADS; do for r in $ROUTES; do for s in "${servers[@]}"; do line=$(one_run "$s" "$r" "$WARMUP" "$load"); count_acknowledged "$s" "$r" "$line"; done; done; done
for run in $(seq 1 "$RUNS"); do
  for load in $LOADS; do
    for r in $ROUTES; do
      for s in "${servers[@]}"; do
        line=$(one_run "$s" "$r" "$DURATION" "$load")
        count_acknowledged "$s" "$r" "$line"
        echo "$s $r${multi_load:+@$load} run$run $line" | tee -a "$results" >&2
      done
    done
  done
done
if [ -z "$UNKNOWN_IDS" ] && [[ " $ROUTES " == *" count "* ]]; then
  for s in "${servers[@]}"; do
    # Every session was created with count=1 by cookie_file; each acknowledged /count added one.
    counted=$(python3 - "${ports[$s]}" $(for load in $LOADS; do echo "${cookies[$s:$load]}"; done) <<'PY'
import http.client, re, sys
port, total = int(sys.argv[1]), 0
connection = http.client.HTTPConnection("127.0.0.1", port)
for path in sys.argv[2:]:
    for cookie in open(path).read().split():
        connection.request("GET", "/myapp/read", headers={"Cookie": cookie})
        body = connection.getresponse().read().decode()
        # "count=N" on a line of its own (ours) or among other fields (the Hummingbird and Vapor peers).
        found = re.search(r"(?:^|\s)count=(\d+)", body)
        total += (int(found.group(1)) if found else 0) - 1
print(total)
PY
)
    echo "updates ($s): $counted counted in the sessions, ${acknowledged[$s]} /count requests answered 2xx; lost: $((acknowledged[$s] > counted ? acknowledged[$s] - counted : 0))" >&2
    echo "lost-updates server=$s counted=$counted acknowledged=${acknowledged[$s]}" >> "$results"
  done
fi
for s in "${servers[@]}"; do echo "rss_kb $s $(ps -o rss= -p "${server_pid[$s]}" | tr -d ' ')" >> "$results"; done
if [ -n "$RESULTS" ]; then cat "$results" >> "$RESULTS"; exit 0; fi

python3 - "$results" <<'PY'
import statistics, sys
rows, lost = {}, {}
for line in open(sys.argv[1]):
    if line.startswith("rss_kb"):
        continue
    if line.startswith("lost-updates"):
        values = dict(f.split("=") for f in line.split()[1:])
        lost[values["server"]] = values
        continue
    server, route, _, _, *fields = line.split()
    values = dict(f.split("=") for f in fields)
    rows.setdefault((server, route), []).append(values)
def med(server, route, key):
    data = [float(v[key]) for v in rows[(server, route)] if key in v]
    return statistics.median(data) if data else None
has_store = any("store_cmds_per_req" in v for vs in rows.values() for v in vs)
def paired(server, route):
    # Each run measures plain, count and read back to back: the median of the per-run ratios
    # cancels most of the machine's drift between runs.
    return statistics.median(float(v["rps"]) / float(p["rps"]) for v, p in zip(rows[(server, route)], rows[(server, "plain")]))
print(f"{'server':<16} {'route':<6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'÷ plain':>8} {'paired':>7} {'app µs/req':>11}"
      + (f" {'store µs/req':>13} {'store cmds/req':>15}" if has_store else ""))
servers = [s for s in ("ours", "base", "hb", "hummingbird", "vapor", "vapor-own", "vapor-own-maxage") if any(k[0] == s for k in rows)]
routes = [r for r in ("plain", "count", "read") if ("ours", r) in rows]
for s in servers:
    plain = med(s, "plain", "rps") if "plain" in routes else None
    for r in routes:
        rps = med(s, r, "rps")
        ratio = f"{rps / plain:>8.2f} {paired(s, r):>7.2f}" if plain else f"{'–':>8} {'–':>7}"
        extra = ""
        if has_store:
            store_cpu, commands = med(s, r, "store_cpu_us"), med(s, r, "store_cmds_per_req")
            extra = f" {'–' if store_cpu is None else f'{store_cpu:.1f}':>13} {'–' if commands is None else f'{commands:.3f}':>15}"
        print(f"{s:<16} {r:<6} {rps:>9.0f} {med(s, r, 'p50_ms'):>8.3f} {med(s, r, 'p99_ms'):>8.3f} {ratio} {med(s, r, 'app_cpu_us'):>11.1f}{extra}")
for other in ("base", "hb", "hummingbird", "vapor", "vapor-own", "vapor-own-maxage"):
    if other in servers:
        for r in routes:
            print(f"ours/{other} {r}: req/s {med('ours', r, 'rps') / med(other, r, 'rps'):.2f}, "
                  f"app CPU per request {med('ours', r, 'app_cpu_us') / med(other, r, 'app_cpu_us'):.2f}")
print("÷ plain: ratio of medians; paired: median of the per-run ratios (same run, back to back); µs/req: CPU time per request")
for server, values in lost.items():
    counted, acknowledged = int(values["counted"]), int(values["acknowledged"])
    print(f"updates ({server}): {counted} counted in the sessions, {acknowledged} /count answers 2xx, lost: {max(0, acknowledged - counted)}")
PY
