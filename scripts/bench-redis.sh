#!/usr/bin/env bash
# Side-by-side redis-benchmark: Orbit (one shard) vs redis-server (one thread), same machine,
# same CPUs (server on CPU 0, load generator on CPU 1), runs alternated A B A B, medians and
# ratios printed as a markdown table. Usage: scripts/bench-redis.sh [requests] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
ROUNDS=${2:-2}
TESTS=set,get,incr,lpush,rpop,sadd,hset,zadd
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
cargo build --release -q -p orbit
BIN=target/release/orbit
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ping() { for _ in $(seq 1 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }

run_one() { # name port pipeline round
  taskset -c "$CLIENT_CPU" redis-benchmark -p "$2" -t "$TESTS" -n "$N" -P "$3" -c 50 -r 100000 --csv -q \
    | tail -n +2 | tr -d '"' | awk -F, -v s="$1" -v p="$3" -v r="$4" '{print s","p","r","$1","$2","$6}' >> "$OUT/results.csv"
}

for round in $(seq 1 "$ROUNDS"); do
  for server in orbit redis; do
    port=$(free_port)
    if [ "$server" = orbit ]; then
      taskset -c "$SERVER_CPU" "$BIN" serve --shards 1 --redis-port "$port" --pg-port "$(free_port)" \
        --data-dir "$OUT/orbit-$round" --log-level warn &
    else
      taskset -c "$SERVER_CPU" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$OUT" --daemonize no --loglevel warning &
    fi
    pid=$!
    wait_ping "$port"
    for p in 1 16; do
      redis-cli -p "$port" flushall >/dev/null
      run_one "$server" "$port" "$p" "$round"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done

python3 - "$OUT/results.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.reader(open(sys.argv[1])))
data = {}
for server, p, rnd, test, rps, p99 in rows:
    data.setdefault((test, p), {}).setdefault(server, []).append((float(rps), float(p99)))
print("| test | pipeline | Orbit ops/s | Redis ops/s | Orbit/Redis | Orbit p99 ms | Redis p99 ms |")
print("|---|---|---|---|---|---|---|")
for (test, p), d in sorted(data.items(), key=lambda kv: (int(kv[0][1]), kv[0][0])):
    o = statistics.median(r for r, _ in d["orbit"]); r = statistics.median(x for x, _ in d["redis"])
    op = statistics.median(q for _, q in d["orbit"]); rp = statistics.median(q for _, q in d["redis"])
    print(f"| {test} | {p} | {o:,.0f} | {r:,.0f} | {o/r:.2f} | {op:.3f} | {rp:.3f} |")
PY
