#!/usr/bin/env bash
# A two-node cluster of the sample on this machine, on loopback, behind nginx on port 8080.
#
#   Samples/cluster/run-local.sh nonsticky-memcached   # two memcached, round-robin, backups
#   Samples/cluster/run-local.sh sticky-memcached      # two memcached, sticky by jvmRoute, failoverNodes
#   Samples/cluster/run-local.sh sticky-peers          # no store server: each app node keeps the other's
#                                                      # copies (<SessionPeer>), sticky by jvmRoute
#   Samples/cluster/run-local.sh sticky-peers3         # the same with three app nodes (node3 on 8093,
#                                                      # its endpoint on 21213)
#   Samples/cluster/run-local.sh nonsticky-redis       # two Redis, round-robin, backups
#   Samples/cluster/run-local.sh nonsticky-locking-redis  # as nonsticky-redis, lockingMode="all"
#   Samples/cluster/run-local.sh nonsticky-redis-tls   # as nonsticky-redis, over TLS (rediss://, a CA made here)
#   Samples/cluster/run-local.sh hummingbird-redis     # as nonsticky-redis, the nodes on Hummingbird 2
#                                                      # (HummingbirdSample, HummingbirdSupport trait)
#   Samples/cluster/run-local.sh vapor-redis           # as nonsticky-redis, node1 on Vapor 4 (VaporSample,
#                                                      # VaporSupport trait), node2 on the bundled server
#   Samples/cluster/run-local.sh status                # what runs
#   Samples/cluster/run-local.sh kill n1|n2|node1|node2|node3|nginx     # SIGKILL one part (a crash)
#   Samples/cluster/run-local.sh revive n1|n2|node1|node2|node3|nginx   # start that part again
#   Samples/cluster/run-local.sh restart node1|node2   # SIGTERM, wait for its end, start it again
#                                                      # (deploying a new version: one node at a time)
#   Samples/cluster/run-local.sh stop                  # stop everything it started
#
# Parts: the stores n1 and n2 (memcached on 21211/21212, or Redis on 26379/26380; sticky-peers has
# none: the app nodes' own endpoints listen on 21211/21212), the app nodes
# node1 and node2 (8091/8092, the configurations in Samples/cluster/<variant>/) and nginx (8080,
# Samples/cluster/nginx-roundrobin.conf or nginx-sticky.conf). Each part's pid, command line and
# log are kept in the run directory; `stop` stops exactly the processes recorded there.
#
# Environment: PORT_OFFSET (added to every port, default 0; the tests use it to run beside other
# servers), RUN_DIR (default Samples/cluster/.run), SESSION_SAMPLE (a SessionSample binary to use
# instead of building the release one), HUMMINGBIRD_SAMPLE and VAPOR_SAMPLE (the same for
# HummingbirdSample and VaporSample).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
RUN_DIR=${RUN_DIR:-$here/.run}
PORT_OFFSET=${PORT_OFFSET:-0}
parts=(n1 n2 node1 node2 node3 nginx)

port_of() {
  local base
  case "$1" in
    nginx) base=8080 ;; node1) base=8091 ;; node2) base=8092 ;; node3) base=8093 ;;
    n1) if [[ "$(variant)" == *redis* ]]; then base=26379; else base=21211; fi ;;
    n2) if [[ "$(variant)" == *redis* ]]; then base=26380; else base=21212; fi ;;
  esac
  echo $((base + PORT_OFFSET))
}
variant() { cat "$RUN_DIR/variant" 2>/dev/null || echo none; }
pid_of() { cat "$RUN_DIR/$1.pid" 2>/dev/null || true; }
alive() { local pid; pid=$(pid_of "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
find_tool() { PATH="$PATH:/usr/sbin:/sbin" command -v "$1" || { echo "run-local: $1 is not installed (Scripts/install-dependencies.sh cluster installs it)" >&2; exit 1; }; }

# Starts a recorded part in the background and waits until its port answers.
start_part() {
  local part=$1 port
  port=$(port_of "$part")
  if in_use "$port"; then
    echo "run-local: port $port (for $part) is already in use; stop what uses it, or set PORT_OFFSET" >&2
    exit 1
  fi
  # The command line was written by `launch` (its words one per line).
  mapfile -t command < "$RUN_DIR/$part.cmd"
  nohup "${command[@]}" >>"$RUN_DIR/$part.log" 2>&1 &
  echo $! > "$RUN_DIR/$part.pid"
  for _ in $(seq 1 100); do
    in_use "$port" && return 0
    alive "$part" || break
    sleep 0.1
  done
  echo "run-local: $part did not start on port $port; its log: $RUN_DIR/$part.log" >&2
  tail -5 "$RUN_DIR/$part.log" >&2 || true
  exit 1
}

# Records a part's command line and starts it.
launch() {
  local part=$1; shift
  printf '%s\n' "$@" > "$RUN_DIR/$part.cmd"
  start_part "$part"
}

# A copy of a configuration file with every port moved by PORT_OFFSET.
configure() { # source target
  local script=()
  for base in 8080 8091 8092 8093 21211 21212 21213 26379 26380; do script+=(-e "s/\\b$base\\b/$((base + PORT_OFFSET))/g"); done
  script+=(-e "s|@RUN_DIR@|$RUN_DIR|g")
  sed "${script[@]}" "$1" > "$2"
}

# A throwaway CA and a certificate for 127.0.0.1 and localhost signed by it, in folder $1 (the
# commands the README's TLS walk-through gives).
make_certificates() {
  local dir=$1 openssl
  openssl=$(find_tool openssl)
  mkdir -p "$dir"
  (
    cd "$dir"
    "$openssl" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 30 -subj "/CN=run-local CA"
    "$openssl" req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj "/CN=localhost"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
    "$openssl" x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile server.ext -out server.pem
  ) >"$dir/openssl.log" 2>&1 || { echo "run-local: making certificates failed; see $dir/openssl.log" >&2; exit 1; }
}

# The path of a sample executable (bundled, hummingbird or vapor): the one its environment variable
# names, or a release build of it by Benchmarks/sample-binary.sh (which knows each one's trait and
# build folder). Build output goes to standard error.
sample_binary() {
  local given
  case "$1" in
    bundled) given=${SESSION_SAMPLE:-} ;;
    hummingbird) given=${HUMMINGBIRD_SAMPLE:-} ;;
    vapor) given=${VAPOR_SAMPLE:-} ;;
  esac
  if [ -n "$given" ]; then echo "$given"; return; fi
  INSTALL=cluster OURS_BIN="" "$root/Benchmarks/sample-binary.sh" "$1"
}

start() {
  local variant=$1 store nginx_conf
  case "$variant" in
    nonsticky-memcached) store=memcached; nginx_conf=nginx-roundrobin.conf ;;
    sticky-memcached) store=memcached; nginx_conf=nginx-sticky.conf ;;
    sticky-peers) store=peers; nginx_conf=nginx-sticky.conf ;;
    sticky-peers3) store=peers; nginx_conf=nginx-sticky3.conf ;;
    nonsticky-redis|nonsticky-locking-redis|hummingbird-redis|vapor-redis) store=redis; nginx_conf=nginx-roundrobin.conf ;;
    nonsticky-redis-tls) store=redis-tls; nginx_conf=nginx-roundrobin.conf ;;
    *) echo "usage: $0 nonsticky-memcached|sticky-memcached|sticky-peers|sticky-peers3|nonsticky-redis|nonsticky-locking-redis|nonsticky-redis-tls|hummingbird-redis|vapor-redis|status|kill PART|revive PART|restart NODE|stop" >&2; exit 2 ;;
  esac
  for part in "${parts[@]}"; do
    if alive "$part"; then echo "run-local: $part is still running (pid $(pid_of "$part")); run '$0 stop' first" >&2; exit 1; fi
  done
  mkdir -p "$RUN_DIR"
  rm -f "$RUN_DIR"/*.pid "$RUN_DIR"/*.cmd "$RUN_DIR"/*.log
  echo "$variant" > "$RUN_DIR/variant"
  for part in "${parts[@]}"; do
    [ "$part" = node3 ] && [ "$variant" != sticky-peers3 ] && continue
    if in_use "$(port_of "$part")"; then
      echo "run-local: port $(port_of "$part") (for $part) is already in use; stop what uses it, or set PORT_OFFSET" >&2
      exit 1
    fi
  done

  # Each app node's sample: the bundled server's, or (hummingbird-*) both on Hummingbird, or
  # (vapor-*) node1 on Vapor beside node2 on the bundled server: one cluster, two frameworks.
  local node1_sample node2_sample
  case "$variant" in
    hummingbird-*) node1_sample=$(sample_binary hummingbird); node2_sample=$node1_sample ;;
    vapor-*) node1_sample=$(sample_binary vapor); node2_sample=$(sample_binary bundled) ;;
    *) node1_sample=$(sample_binary bundled); node2_sample=$node1_sample ;;
  esac
  # A part that does not start ends the script (exit 1): what started before it is stopped.
  trap 'echo "run-local: starting failed; stopping what started" >&2; stop_all' EXIT

  [ "$store" = redis-tls ] && make_certificates "$RUN_DIR/tls"
  for part in n1 n2; do
    if [ "$store" = peers ]; then
      continue  # the app nodes are the stores
    elif [ "$store" = redis-tls ]; then
      # TLS only (--port 0), with the certificate of the CA made above; clients need no certificate.
      launch "$part" "$(find_tool redis-server)" --bind 127.0.0.1 --port 0 --tls-port "$(port_of "$part")" --save "" --appendonly no \
        --tls-cert-file "$RUN_DIR/tls/server.pem" --tls-key-file "$RUN_DIR/tls/server.key" --tls-ca-cert-file "$RUN_DIR/tls/ca.pem" \
        --tls-auth-clients no
    elif [ "$store" = memcached ]; then
      # memcached refuses to run as root unless told which user to be.
      local user=()
      [ "$(id -u)" -eq 0 ] && user=(-u root)
      launch "$part" "$(find_tool memcached)" -l 127.0.0.1 -p "$(port_of "$part")" -U 0 -m 64 "${user[@]}"
    else
      launch "$part" "$(find_tool redis-server)" --bind 127.0.0.1 --port "$(port_of "$part")" --save "" --appendonly no
    fi
  done
  local sample nodes=(node1 node2)
  [ "$variant" = sticky-peers3 ] && nodes+=(node3)
  local node3_sample=$node1_sample
  for node in "${nodes[@]}"; do
    configure "$here/$variant/$node.xml" "$RUN_DIR/$node.xml"
    sample=${node}_sample
    launch "$node" "${!sample}" --config "$RUN_DIR/$node.xml" --log-level notice
  done
  configure "$here/$nginx_conf" "$RUN_DIR/nginx.conf"
  local user=()
  [ "$(id -u)" -eq 0 ] && user=(-g "daemon off; user root root;") || user=(-g "daemon off;")
  launch nginx "$(find_tool nginx)" -p "$RUN_DIR/" -c "$RUN_DIR/nginx.conf" -e "$RUN_DIR/nginx-error.log" "${user[@]}"
  trap - EXIT

  echo "cluster '$variant' runs:"
  status
  echo "open http://127.0.0.1:$(port_of nginx)/myapp/ (nodes: http://127.0.0.1:$(port_of node1)/myapp/, http://127.0.0.1:$(port_of node2)/myapp/)"
}

status() {
  for part in "${parts[@]}"; do
    [ -f "$RUN_DIR/$part.cmd" ] || continue
    if alive "$part"; then
      printf '  %-6s pid %-8s port %s\n' "$part" "$(pid_of "$part")" "$(port_of "$part")"
    else
      printf '  %-6s stopped       port %s\n' "$part" "$(port_of "$part")"
    fi
  done
}

stop_all() {
  local pids=()
  for part in "${parts[@]}"; do
    alive "$part" && { pids+=("$(pid_of "$part")"); kill -TERM "$(pid_of "$part")" 2>/dev/null || true; }
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -f "$RUN_DIR"/*.pid
}

case "${1:-}" in
  status) [ "$(variant)" = none ] && { echo "nothing started"; exit 0; }; echo "cluster '$(variant)':"; status ;;
  stop) stop_all; echo "stopped" ;;
  kill)
    part=${2:-}; [[ " ${parts[*]} " == *" $part "* ]] || { echo "usage: $0 kill n1|n2|node1|node2|node3|nginx" >&2; exit 2; }
    alive "$part" || { echo "run-local: $part is not running" >&2; exit 1; }
    pid=$(pid_of "$part"); kill -KILL "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "$part (pid $pid) killed" ;;
  revive)
    part=${2:-}; [ -f "$RUN_DIR/$part.cmd" ] || { echo "usage: $0 revive n1|n2|node1|node2|node3|nginx (of a started cluster)" >&2; exit 2; }
    alive "$part" && { echo "run-local: $part is running" >&2; exit 1; }
    start_part "$part"; echo "$part started again (pid $(pid_of "$part"))" ;;
  restart)
    # A rolling restart's step: the node drains (answers close their connections, sticky changes
    # are written before their answers and pending writes finish), stops accepting, ends; then
    # the same command starts it again. The balancer sends its users to the other node meanwhile.
    part=${2:-}; [[ "$part" == node1 || "$part" == node2 || "$part" == node3 ]] || { echo "usage: $0 restart node1|node2|node3" >&2; exit 2; }
    alive "$part" || { echo "run-local: $part is not running" >&2; exit 1; }
    pid=$(pid_of "$part"); kill -TERM "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then echo "run-local: $part (pid $pid) did not end within 30 s of SIGTERM" >&2; exit 1; fi
    start_part "$part"; echo "$part restarted (pid $(pid_of "$part"))" ;;
  *) start "${1:-}" ;;
esac
