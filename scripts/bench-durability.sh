#!/bin/bash
# Durability benchmarks for the report. Release build; client on the same 2-core box.
B=${ORBIT_BIN:-${CARGO_TARGET_DIR:-target}/release/orbit}
strip() { sed 's/\x1b\[[0-9;]*m//g'; }
D=$(mktemp -d /tmp/bench-durability.XXXXXX)
echo "== fsync always: SET throughput, 50 clients, P=1"
$B serve --redis-port 7801 --pg-port 7802 --data-dir $D/o1 --shards 2 --fsync always --log-level warn 2>$D/o1.log &
OP=$!
redis-server --port 7803 --bind 127.0.0.1 --save '' --appendonly yes --appendfsync always --dir $D --daemonize no >/dev/null 2>&1 &
RP=$!
sleep 1.5
for round in 1 2; do
  echo "orbit  (round $round): $(redis-benchmark -p 7801 -t set -n 100000 -c 50 -r 100000 -q 2>/dev/null | tr '\r' '\n' | grep 'requests per second' | tail -1)"
  echo "redis  (round $round): $(redis-benchmark -p 7803 -t set -n 100000 -c 50 -r 100000 -q 2>/dev/null | tr '\r' '\n' | grep 'requests per second' | tail -1)"
done
redis-cli -p 7801 info persistence | grep group_commit
kill $OP $RP; wait $OP $RP 2>/dev/null
echo "== recovery: 1M SETs (fsync no), then restart"
$B serve --redis-port 7811 --pg-port 7812 --data-dir $D/o2 --shards 2 --fsync no --snapshot-log-size 0 --log-level info 2>$D/o2.log &
OP=$!; sleep 1.5
redis-benchmark -p 7811 -t set -n 1000000 -r 1000000 -d 16 -P 16 -c 20 -q 2>/dev/null | tr '\r' '\n' | grep 'requests per second' | tail -1
redis-cli -p 7811 dbsize
kill -TERM $OP; wait $OP
du -sh $D/o2
$B serve --redis-port 7811 --pg-port 7812 --data-dir $D/o2 --shards 2 --fsync no --snapshot-log-size 0 --log-level info 2>$D/o2b.log &
OP=$!; sleep 6
strip < $D/o2b.log | grep -E "recovered|ready"
redis-cli -p 7811 dbsize
echo "== snapshot latency: GET p50/p99/max without and with a BGSAVE of ~1M keys"
redis-benchmark -p 7811 -t get -n 300000 -r 1000000 -c 10 2>/dev/null | tr '\r' '\n' | grep -A2 "latency summary" | tail -2
redis-cli -p 7811 bgsave
redis-benchmark -p 7811 -t get -n 300000 -r 1000000 -c 10 2>/dev/null | tr '\r' '\n' | grep -A2 "latency summary" | tail -2
sleep 3
redis-cli -p 7811 info persistence | grep -E "bgsave|last_save"
kill -TERM $OP; wait $OP
strip < $D/o2b.log | grep "snapshot written"
echo "== recovery from the snapshot"
$B serve --redis-port 7811 --pg-port 7812 --data-dir $D/o2 --shards 2 --fsync no --log-level info 2>$D/o2c.log &
OP=$!; sleep 6
strip < $D/o2c.log | grep -E "recovered|ready"
redis-cli -p 7811 dbsize
kill -TERM $OP; wait $OP
