#!/usr/bin/env bash
# Cost of a SQL commit spanning shards (two-phase commit) against one on a single shard:
# pgbench transactions that update two pgbench_accounts rows (BEGIN; two UPDATEs; END), the
# two rows either on different shards or on the same one (pairs picked with EXPLAIN, which
# names a key's shard), on `orbit --shards 2 --fsync always`.
#
#   scripts/bench-2pc.sh <orbit binary> [seconds per run, default 20] [rounds, default 2]
#
# Run it with the binaries to compare (e.g. before and after a change); each run prints
# pgbench's tps and average latency per workload.
set -euo pipefail
bin="${1:?usage: bench-2pc.sh <orbit binary> [seconds] [rounds]}"
secs="${2:-20}"
rounds="${3:-2}"
clients="${CLIENTS:-4}"
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rp="$(free_port)"; pp="$(free_port)"; hp="$(free_port)"
"$bin" serve --bind 127.0.0.1 --redis-port "$rp" --pg-port "$pp" --http-port "$hp" \
  --data-dir "$work/data" --shards 2 --fsync always >"$work/orbit.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  psql -h 127.0.0.1 -p "$pp" -U postgres -d postgres -qAtc 'SELECT 1' >/dev/null 2>&1 && break
  sleep 0.1
done
export PGHOST=127.0.0.1 PGPORT="$pp" PGUSER=postgres PGDATABASE=postgres
pgbench -i -s 1 -q >/dev/null 2>&1
# The shard of accounts 1..2000, then pairs (a < b) on different shards and on the same one.
for a in $(seq 2000); do echo "EXPLAIN SELECT * FROM pgbench_accounts WHERE aid = $a;"; done |
  psql -qAt | grep -o 'Shard: [0-9]*' | awk '{print $2}' >"$work/shards"
python3 - "$work" <<'EOF'
import sys
work = sys.argv[1]
shard = [int(l) for l in open(f"{work}/shards")]
on = {0: [], 1: []}
for aid, s in enumerate(shard, start=1):
    on[s].append(aid)
n = min(len(on[0]), len(on[1])) - 1
cross = [tuple(sorted((on[0][i], on[1][i]))) for i in range(n)]
same = [(on[0][i], on[0][i + 1]) for i in range(0, n - 1, 2)] + [(on[1][i], on[1][i + 1]) for i in range(0, n - 1, 2)]
with open(f"{work}/pairs.sql", "w") as f:
    f.write("CREATE TABLE cross_pairs (n int PRIMARY KEY, a int, b int);\n")
    f.write("CREATE TABLE same_pairs (n int PRIMARY KEY, a int, b int);\n")
    f.write("INSERT INTO cross_pairs VALUES " + ", ".join(f"({i + 1}, {a}, {b})" for i, (a, b) in enumerate(cross)) + ";\n")
    f.write("INSERT INTO same_pairs VALUES " + ", ".join(f"({i + 1}, {a}, {b})" for i, (a, b) in enumerate(same)) + ";\n")
for name, pairs in (("cross", cross), ("same", same)):
    with open(f"{work}/{name}.pgb", "w") as f:
        f.write(f"\\set n random(1, {len(pairs)})\n")
        f.write(f"SELECT a, b FROM {name}_pairs WHERE n = :n \\gset\n")
        f.write("\\set d random(-5000, 5000)\n")
        f.write("BEGIN;\n")
        f.write("UPDATE pgbench_accounts SET abalance = abalance + :d WHERE aid = :a;\n")
        f.write("UPDATE pgbench_accounts SET abalance = abalance - :d WHERE aid = :b;\n")
        f.write("END;\n")
EOF
psql -q -f "$work/pairs.sql"
for r in $(seq "$rounds"); do
  for w in same cross; do
    out="$(pgbench -n -c "$clients" -j 2 -T "$secs" -f "$work/$w.pgb" 2>&1)"
    tps="$(echo "$out" | grep -o 'tps = [0-9.]*' | head -1 | awk '{print $3}')"
    lat="$(echo "$out" | grep -o 'latency average = [0-9.]* ms' | awk '{print $4}')"
    failed="$(echo "$out" | grep -o 'number of failed transactions: [0-9]*' | awk '{print $5}')"
    echo "round $r  ${w}-shard pair  tps $tps  latency avg ${lat} ms  failed ${failed:-0}"
  done
done
