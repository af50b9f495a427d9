#!/usr/bin/env bash
# Regenerates the tables in docs/BENCHMARKS.md. Every row is printed by bench-harness itself,
# with the exact command that reproduces it; this script only runs the commands and puts their
# rows between the doc's `<!-- BEGIN name -->` / `<!-- END name -->` markers.
#
# Usage: bench-harness/benchmarks.sh [section ...]
#   sections: machine resp redis-benchmark memory scaling pgbench sysbench tpch (default: all)
# Environment: SECS (seconds per workload per round, default 3), ROUNDS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-3}
ROUNDS=${ROUNDS:-3}
SECTIONS=("$@")
[ ${#SECTIONS[@]} -eq 0 ] && SECTIONS=(machine resp redis-benchmark memory scaling pgbench sysbench tpch)

cargo build --release -q -p orbit -p bench-harness
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Runs each argument as a bench-harness command line and collects its markdown rows; the
# header each command prints is kept once.
rows() {
  local out=$1; shift
  {
    echo "_Generated $(date -u '+%Y-%m-%d %H:%M UTC') at commit \`$(git rev-parse --short HEAD)\`;"\
      "load average when the section began: $(cut -d' ' -f1-3 /proc/loadavg)._"
    echo
  } > "$TMP/raw"
  for cmd in "$@"; do
    echo ">> bench-harness $cmd" >&2
    # shellcheck disable=SC2086 # the command lines are word-split on purpose
    cargo run --release -q -p bench-harness -- $cmd --markdown >> "$TMP/raw"
  done
  awk '!seen[$0]++' "$TMP/raw" > "$out"
}

section() {
  case $1 in
    machine)
      {
        echo "- CPU: $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), kernel $(uname -r)"
        echo "- memory: $(free -g | awk '/^Mem:/ {print $2}') GiB"
        echo "- $(redis-server --version | cut -d' ' -f1-3), $(pgbench --version 2>/dev/null || echo 'pgbench: not installed')"
      } > "$TMP/machine.md"
      ;;
    resp)
      local c="compare --rounds $ROUNDS --duration-s $SECS"
      rows "$TMP/resp.md" \
        "$c --workload get-set --mix 1:1 --pipeline 1" \
        "$c --workload get-set --mix 10:1 --pipeline 1" \
        "$c --workload get-set --mix 1:1 --pipeline 16" \
        "$c --workload get-set --mix 10:1 --pipeline 16" \
        "$c --workload get-set --mix 10:1 --pipeline 16 --distribution zipfian" \
        "$c --workload incr --pipeline 1" \
        "$c --workload incr --pipeline 16" \
        "$c --workload lpush-rpop --mix 1:1 --keys 1000 --pipeline 1" \
        "$c --workload zadd-zrange --mix 1:1 --keys 1000 --pipeline 1" \
        "$c --workload mixed --mix 1:1 --pipeline 1" \
        "$c --workload mixed --mix 1:1 --pipeline 16"
      ;;
    redis-benchmark)
      rows "$TMP/redis-benchmark.md" \
        "redis-benchmark --rounds $ROUNDS -n 50000 -P 1" \
        "redis-benchmark --rounds $ROUNDS -n 1000000 -P 16"
      ;;
    memory)
      rows "$TMP/memory.md" "memory --keys 1000000"
      ;;
    scaling)
      rows "$TMP/scaling.md" "scaling --duration-s $SECS --pipeline 16"
      ;;
    pgbench)
      # The issue's measure: pgbench -c 4 -j 2 -T 30 against both, rounds alternated.
      rows "$TMP/pgbench.md" \
        "pgbench --scale 1 -c 4 -j 2 --duration-s 30 --rounds 2" \
        "pgbench --scale 1 -c 4 -j 2 --duration-s 30 --rounds 2 --protocol prepared --only select,TPC-B"
      ;;
    sysbench)
      # sysbench's OLTP scripts against both, as pgbench's section runs them.
      rows "$TMP/sysbench.md" \
        "sysbench --tables 4 --table-size 10000 --threads 4 --duration-s 20 --rounds 2"
      ;;
    tpch)
      # The 22 TPC-H-style queries on both servers (bench-harness/tpch).
      {
        echo "_Generated $(date -u '+%Y-%m-%d %H:%M UTC') at commit \`$(git rev-parse --short HEAD)\`;"\
          "load average when the section began: $(cut -d' ' -f1-3 /proc/loadavg)._"
        echo
        bench-harness/tpch/run.sh 0.01 3
      } > "$TMP/tpch.md"
      ;;
    *)
      echo "unknown section $1" >&2
      exit 2
      ;;
  esac
}

for s in "${SECTIONS[@]}"; do
  section "$s"
done

python3 - docs/BENCHMARKS.md "$TMP" "${SECTIONS[@]}" <<'PY'
import pathlib, re, sys
doc, tmp, names = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
text = doc.read_text()
for name in names:
    rows = (tmp / f"{name}.md").read_text()
    pattern = re.compile(rf"(<!-- BEGIN {re.escape(name)} -->\n).*?(<!-- END {re.escape(name)} -->)", re.S)
    if not pattern.search(text):
        sys.exit(f"docs/BENCHMARKS.md has no BEGIN/END markers for {name}")
    text = pattern.sub(lambda m: m.group(1) + rows + m.group(2), text)
doc.write_text(text)
print(f"docs/BENCHMARKS.md: regenerated {', '.join(names)}")
PY
