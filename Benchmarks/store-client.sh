#!/usr/bin/env bash
# The store clients alone against real servers, beside each server's own benchmark client in the
# same sitting: StoreClientBench (N tasks on the event loops, each get-and-touch then set of a
# 200-byte value) and `redis-benchmark -c N -d 200 -t get,set` (one command per round trip per
# connection, no pipelining), then the same for memcached against `memaslap` (libmemcached-tools;
# 50 % get, 50 % set, 200-byte values, N concurrent connections).
#
#   Benchmarks/store-client.sh                 # N = 16, 64, 256; SECONDS_PER_RUN=5
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}; CONCURRENCY=${CONCURRENCY:-16,64,256}
REDIS_PORT=${REDIS_PORT:-21400}; MEMCACHED_PORT=${MEMCACHED_PORT:-21411}
Scripts/install-dependencies.sh bench
swift build -c release --product StoreClientBench >&2
bench=$(swift build -c release --show-bin-path)/StoreClientBench

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
user_flag=(); [ "$(id -u)" -eq 0 ] && user_flag=(-u root)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null & pids+=($!)
memcached "${user_flag[@]}" -p "$MEMCACHED_PORT" -l 127.0.0.1 -m 256 >/dev/null & pids+=($!)
sleep 0.5

memaslap_config=$(mktemp)
printf 'key\n32 32 1\nvalue\n200 200 1\ncmd\n0 0.5\n1 0.5\n' > "$memaslap_config"

ours=$("$bench" redis "$REDIS_PORT" "$SECONDS_PER_RUN" "$CONCURRENCY")
ours_mc=$("$bench" memcached "$MEMCACHED_PORT" "$SECONDS_PER_RUN" "$CONCURRENCY")
printf '%-10s %5s %12s %12s %8s   %s\n' store N "ours ops/s" "peer ops/s" ratio peer
for n in ${CONCURRENCY//,/ }; do
  # redis-benchmark runs SET then GET; alternating them, one of each costs 1/set + 1/get seconds.
  rates=$(redis-benchmark -p "$REDIS_PORT" -c "$n" -d 200 -t set,get -n $((n * 4000)) -q 2>/dev/null | tr '\r' '\n' \
    | awk '/requests per second/ { print $2 }' | tr '\n' ' ')
  peer=$(python3 -c "s, g = map(float, '$rates'.split()); print(int(2 / (1 / s + 1 / g)))")
  mine=$(echo "$ours" | awk -v n="$n" -F'[ =]' '$3 == n { print $5 }')
  printf '%-10s %5s %12s %12s %8s   %s\n' redis "$n" "$mine" "$peer" "$(python3 -c "print(f'{$mine / $peer:.2f}')")" "redis-benchmark (no pipelining)"
done
for n in ${CONCURRENCY//,/ }; do
  peer=$(memcaslap -s "127.0.0.1:$MEMCACHED_PORT" -T 2 -c "$n" -F "$memaslap_config" -t "${SECONDS_PER_RUN}s" 2>/dev/null \
    | awk '/^Run time/ { for (i = 1; i <= NF; i++) if ($i == "TPS:") print $(i + 1) }' | tail -1)
  mine=$(echo "$ours_mc" | awk -v n="$n" -F'[ =]' '$3 == n { print $5 }')
  ratio=$([ -n "$peer" ] && python3 -c "print(f'{$mine / $peer:.2f}')" || echo "-")
  printf '%-10s %5s %12s %12s %8s   %s\n' memcached "$n" "$mine" "${peer:--}" "$ratio" "memaslap"
done
rm -f "$memaslap_config"
