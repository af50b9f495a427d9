#!/usr/bin/env bash
# Cost of the transaction scheduler (issue 8), measured with redis-benchmark, runs alternated
# A B A B, medians printed as markdown tables:
#  1. GET/SET throughput of the binary before the scheduler existed (git rev BASE, default
#     a433c56) vs the current one, both --shards 1 on CPU 0, load on CPU 1;
#  2. MSET of two keys on one shard vs on two shards (hash tags {a} and {b} land on different
#     shards with --shards 2), and MGET of the same, both binaries, --shards 2 on CPUs 0-1,
#     load sharing them (a 2-core machine has no spare core).
# Usage: scripts/bench-tx.sh [requests] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
ROUNDS=${2:-3}
BASE=${BASE:-a433c56}
cargo build --release -q -p orbit
NEW=target/release/orbit
OLD_DIR=${OLD_DIR:-/tmp/orbit-base-$BASE}
if [ ! -x "$OLD_DIR/target/release/orbit" ]; then
  rm -rf "$OLD_DIR"; git worktree add -f --detach "$OLD_DIR" "$BASE" >/dev/null
  (cd "$OLD_DIR" && cargo build --release -q -p orbit)
fi
OLD=$OLD_DIR/target/release/orbit
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ping() { for _ in $(seq 1 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; return 1; }
start() { # bin shards cpus dir -> sets PORT PID
  PORT=$(free_port)
  taskset -c "$3" "$1" serve --shards "$2" --redis-port "$PORT" --pg-port "$(free_port)" --http-port "$(free_port)" \
    --data-dir "$4" --log-level warn & PID=$!
  wait_ping "$PORT"
}
bench() { # label round cpus args...
  local label=$1 round=$2 cpus=$3; shift 3
  taskset -c "$cpus" redis-benchmark -p "$PORT" -n "$N" -c 50 -r 100000 --csv -q "$@" | tail -n +2 | tr -d '"' \
    | awk -F, -v l="$label" -v r="$round" '{print l","r","$1","$2","$6}' >> "$OUT/results.csv"
}
for round in $(seq 1 "$ROUNDS"); do
  for which in before after; do
    bin=$NEW; [ "$which" = before ] && bin=$OLD
    start "$bin" 1 0 "$OUT/$which-$round"
    for p in 1 16; do bench "$which P=$p" "$round" 1 -t get,set -P "$p"; done
    kill "$PID"; wait "$PID" 2>/dev/null || true
  done
  for which in before after; do
    bin=$NEW; [ "$which" = before ] && bin=$OLD
    start "$bin" 2 0-1 "$OUT/multi-$which-$round"
    bench "$which one shard" "$round" 0-1 MSET '{a}x:__rand_int__' v '{a}y:__rand_int__' v
    bench "$which two shards" "$round" 0-1 MSET '{a}x:__rand_int__' v '{b}y:__rand_int__' v
    bench "$which one shard" "$round" 0-1 MGET '{a}x:__rand_int__' '{a}y:__rand_int__'
    bench "$which two shards" "$round" 0-1 MGET '{a}x:__rand_int__' '{b}y:__rand_int__'
    kill "$PID"; wait "$PID" 2>/dev/null || true
  done
done
python3 - "$OUT/results.csv" <<'PY'
import csv, statistics, sys
rows = list(csv.reader(open(sys.argv[1])))
d = {}
for label, rnd, test, rps, p99 in rows:
    test = test.split(" ")[0]
    d.setdefault((test, label), []).append((float(rps), float(p99)))
def med(k): return statistics.median(r for r, _ in d[k]), statistics.median(q for _, q in d[k])
print("| test | pipeline | before ops/s | after ops/s | after/before | before p99 ms | after p99 ms |")
print("|---|---|---|---|---|---|---|")
for t in ("SET", "GET"):
    for p in (1, 16):
        (b, bp), (a, ap) = med((t, f"before P={p}")), med((t, f"after P={p}"))
        print(f"| {t} | {p} | {b:,.0f} | {a:,.0f} | {a/b:.2f} | {bp:.3f} | {ap:.3f} |")
print()
print("| command (2 keys), binary | one shard ops/s | two shards ops/s | two/one | one p99 ms | two p99 ms |")
print("|---|---|---|---|---|---|")
for t in ("MSET", "MGET"):
    for which, what in (("before", "before the scheduler (not atomic)"), ("after", "with the scheduler (atomic)")):
        (o, op), (w, wp) = med((t, f"{which} one shard")), med((t, f"{which} two shards"))
        print(f"| {t}, {what} | {o:,.0f} | {w:,.0f} | {w/o:.2f} | {op:.3f} | {wp:.3f} |")
PY
