#!/usr/bin/env bash
# TPC-H-style comparison, release build: starts Orbit (one shard, --fsync always) and a
# throwaway PostgreSQL 15 (defaults) on CPU 0, runs bench-harness/tpch/tpch.py on CPU 1 against
# both (data from tpchgen-cli, rounds alternated, best time per query), and prints the markdown
# rows for docs/BENCHMARKS.md. Usage: bench-harness/tpch/run.sh [scale] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
SCALE=${1:-0.01}
ROUNDS=${2:-3}
TMP=$(mktemp -d)
PGPID=""
ORBITPID=""
cleanup() {
  [ -n "$ORBITPID" ] && kill "$ORBITPID" 2>/dev/null || true
  [ -n "$PGPID" ] && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$TMP/pg" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PGPORT=$(free_port); OPORT=$(free_port); RPORT=$(free_port); HPORT=$(free_port)
cargo build --release -q -p orbit
chown postgres "$TMP" 2>/dev/null || true
runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D "$TMP/pg" -A trust -U postgres >/dev/null
runuser -u postgres -- taskset -c 0 /usr/lib/postgresql/15/bin/pg_ctl -D "$TMP/pg" -l "$TMP/pg.log" \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $TMP" start >/dev/null
PGPID=1
mkdir -p "$TMP/orbit"
taskset -c 0 "${CARGO_TARGET_DIR:-target}/release/orbit" serve --shards 1 --fsync always --data-dir "$TMP/orbit" \
  --redis-port "$RPORT" --pg-port "$OPORT" --http-port "$HPORT" > "$TMP/orbit.log" 2>&1 &
ORBITPID=$!
for _ in $(seq 1 100); do
  psql -h 127.0.0.1 -p "$OPORT" -U postgres -X -tAc 'select 1' >/dev/null 2>&1 && break
  sleep 0.1
done
taskset -c 1 python3 bench-harness/tpch/tpch.py --orbit "127.0.0.1:$OPORT" --postgres "127.0.0.1:$PGPORT" \
  --scale "$SCALE" --rounds "$ROUNDS" --timeout-s 600 --json "$TMP/tpch.json" >&2 || true
python3 - "$TMP/tpch.json" "$SCALE" "$ROUNDS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"_Command: `bench-harness/tpch/run.sh {sys.argv[2]} {sys.argv[3]}`; scale factor {r['scale']}, "
      f"best of {r['rounds']} alternated rounds; Orbit 1 shard `--fsync always`, PostgreSQL 15 defaults, "
      f"both on CPU 0, the client on CPU 1._")
print()
print("| query | PostgreSQL ms | Orbit ms | Orbit/PostgreSQL | same rows |")
print("|---|---|---|---|---|")
for q in r["queries"]:
    ratio = q.get("ratio", "-")
    print(f"| {q['query']} | {q['postgresql_ms']} | {q['orbit_ms']} | {ratio} | {'yes' if q['same_result'] else 'no'} |")
geo = r["geomean_ratio"]
print()
print(f"Geometric mean of the Orbit/PostgreSQL time ratios: **{geo:.2f}**" if geo else "No ratio.")
PY
