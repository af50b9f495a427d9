#!/bin/bash
# Durability benchmarks for docs/BENCHMARKS.md and docs/DURABILITY.md. Release build
# (`cargo build --release -p orbit`); redis-server, redis-cli and redis-benchmark from Debian;
# client on the same box as the server.
#   scripts/bench-durability.sh            # every section
#   scripts/bench-durability.sh snapshot   # only the GET latency during snapshots of 1M keys
B=${ORBIT_BIN:-${CARGO_TARGET_DIR:-target}/release/orbit}
strip() { sed 's/\x1b\[[0-9;]*m//g'; }
D=$(mktemp -d /tmp/bench-durability.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$D"' EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

fsync_throughput() {
  # Same CPUs for both servers (CPU 0) and the load generator on CPU 1, one Orbit shard vs
  # Redis's one thread: with two shards on a 2-core box the shards and redis-benchmark fight
  # for the CPUs and the figure measures that, not the log. Orbit with --fsync no is the
  # baseline that shows what the fsyncs cost.
  echo "== fsync always: SET throughput, 50 clients, P=1, server on CPU 0, load on CPU 1"
  taskset -c 0 $B serve --redis-port 7801 --pg-port 7802 --http-port 7804 --data-dir $D/o1 --shards 1 --fsync always --log-level warn 2>$D/o1.log &
  OP=$!
  taskset -c 0 $B serve --redis-port 7805 --pg-port 7806 --http-port 7807 --data-dir $D/o0 --shards 1 --fsync no --log-level warn 2>$D/o0.log &
  NP=$!
  taskset -c 0 redis-server --port 7803 --bind 127.0.0.1 --save '' --appendonly yes --appendfsync always --dir $D --daemonize no >/dev/null 2>&1 &
  RP=$!
  sleep 1.5
  for round in 1 2 3; do
    echo "orbit always (round $round): $(taskset -c 1 redis-benchmark -p 7801 -t set -n 100000 -c 50 -r 100000 -q 2>/dev/null | tr '\r' '\n' | grep 'requests per second' | tail -1)"
    echo "redis always (round $round): $(taskset -c 1 redis-benchmark -p 7803 -t set -n 100000 -c 50 -r 100000 -q 2>/dev/null | tr '\r' '\n' | grep 'requests per second' | tail -1)"
    echo "orbit no     (round $round): $(taskset -c 1 redis-benchmark -p 7805 -t set -n 100000 -c 50 -r 100000 -q 2>/dev/null | tr '\r' '\n' | grep 'requests per second' | tail -1)"
  done
  redis-cli -p 7801 info persistence | grep group_commit
  kill $OP $NP $RP; wait $OP $NP $RP 2>/dev/null
}

recovery() {
  echo "== recovery: 1M SETs (fsync no), then restart"
  $B serve --redis-port 7811 --pg-port 7812 --http-port 7814 --data-dir $D/o2 --shards 2 --fsync no --snapshot-log-size 0 --log-level info 2>$D/o2.log &
  OP=$!; sleep 1.5
  redis-benchmark -p 7811 -t set -n 1000000 -r 1000000 -d 16 -P 16 -c 20 -q 2>/dev/null | tr '\r' '\n' | grep 'requests per second' | tail -1
  redis-cli -p 7811 dbsize
  kill -TERM $OP; wait $OP
  du -sh $D/o2
  $B serve --redis-port 7811 --pg-port 7812 --http-port 7814 --data-dir $D/o2 --shards 2 --fsync no --snapshot-log-size 0 --log-level info 2>$D/o2b.log &
  OP=$!; sleep 6
  strip < $D/o2b.log | grep -E "recovered|ready"
  redis-cli -p 7811 dbsize
  redis-cli -p 7811 save
  kill -TERM $OP; wait $OP
  echo "== recovery from the snapshot"
  $B serve --redis-port 7811 --pg-port 7812 --http-port 7814 --data-dir $D/o2 --shards 2 --fsync no --log-level info 2>$D/o2c.log &
  OP=$!; sleep 6
  strip < $D/o2c.log | grep -E "recovered|ready"
  redis-cli -p 7811 dbsize
  kill -TERM $OP; wait $OP
}

# GET latency while snapshots of exactly 1M keys (key:000000000000 .. key:000000999999, the
# names redis-benchmark's -r 1000000 draws from) run back to back, and without.
snapshot() {
  echo "== snapshot latency: GET p50/p99/max without and during BGSAVEs of 1M keys (2 shards)"
  $B serve --redis-port 7821 --pg-port 7822 --http-port 7824 --data-dir $D/o3 --shards 2 --fsync everysec --snapshot-log-size 0 --log-level info 2>$D/o3.log &
  OP=$!; sleep 1.5
  awk 'BEGIN { for (i = 0; i < 1000000; i++) { k = sprintf("key:%012d", i); v = sprintf("value-%010d", i);
         printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v } }' \
    | redis-cli -p 7821 --pipe | tail -1
  echo "keys: $(redis-cli -p 7821 dbsize)"
  GETS="redis-benchmark -p 7821 -t get -n 300000 -r 1000000 -c 10"
  echo "-- without a snapshot ($GETS)"
  $GETS 2>/dev/null | tr '\r' '\n' | grep -E -A2 "throughput summary|latency summary" | grep -v -- --
  echo "-- during back-to-back BGSAVEs (same command)"
  $GETS > $D/gets-during.txt 2>/dev/null &
  BP=$!
  started=0
  while kill -0 $BP 2>/dev/null; do
    if redis-cli -p 7821 info persistence | grep -q "rdb_bgsave_in_progress:0"; then
      redis-cli -p 7821 bgsave >/dev/null && started=$((started + 1))
    fi
    sleep 0.02
  done
  wait $BP
  tr '\r' '\n' < $D/gets-during.txt | grep -E -A2 "throughput summary|latency summary" | grep -v -- --
  sleep 1
  echo "BGSAVEs started during the run: $started"
  strip < $D/o3.log | grep "snapshot written" | grep -o "shard=[0-9]* keys=[0-9]*\|ms=[0-9]*" | paste - - \
    | awk '{ split($3, m, "="); n++; s += m[2]; if (m[2] > mx) mx = m[2]; if (mn == "" || m[2] < mn) mn = m[2] }
           END { printf "snapshots written: %d (per shard), duration ms min %d avg %.0f max %d\n", n, mn, s / n, mx }'
  redis-cli -p 7821 info stats | grep reactor
  kill -TERM $OP; wait $OP
}

case "${1:-all}" in
  fsync) fsync_throughput ;;
  recovery) recovery ;;
  snapshot) snapshot ;;
  all) fsync_throughput; recovery; snapshot ;;
  *) echo "usage: $0 [all|fsync|recovery|snapshot]" >&2; exit 2 ;;
esac
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
