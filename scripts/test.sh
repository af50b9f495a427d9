#!/usr/bin/env bash
# Runs every Orbit test on a fresh Debian machine. Installs what the tests need first, and only
# what is missing (idempotent): redis-server/redis-tools and PostgreSQL from apt (the real
# servers the differential tests compare against), Java with pgjdbc, Node with npm, sysbench and
# ActiveRecord from apt, redis-py, psycopg, SQLAlchemy, Alembic, Django and tpchgen-cli from PyPI,
# node-postgres from npm (tests/node's lock file).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
[ -x /usr/lib/postgresql/15/bin/initdb ] || missing+=(postgresql postgresql-contrib)
# JDBC and node-postgres (tests/tests/drivers.rs).
command -v java >/dev/null 2>&1 || missing+=(default-jdk-headless)
[ -f /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# sysbench's OLTP scripts against Orbit (tests/tests/sysbench.rs).
command -v sysbench >/dev/null 2>&1 || missing+=(sysbench)
# ActiveRecord with the pg gem (tests/tests/activerecord.rs).
ruby -e "require 'active_record'; require 'pg'" >/dev/null 2>&1 || missing+=(ruby-activerecord ruby-pg)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c "import redis, psycopg, sqlalchemy, alembic, django" >/dev/null 2>&1; then
  echo "installing: redis-py, psycopg, sqlalchemy, alembic, django"
  python3 -m pip install -q "redis>=5" "psycopg[binary]>=3.1" "sqlalchemy>=2" alembic "django==5.1.4"
fi
# node-postgres at the version tests/node/package-lock.json pins.
if [ ! -d tests/node/node_modules/pg ]; then
  echo "installing: node-postgres (npm ci --prefix tests/node)"
  npm ci --prefix tests/node --no-audit --no-fund --silent
fi
# TPC-H's data generator (tests/tests/tpch.rs).
if ! command -v tpchgen-cli >/dev/null 2>&1; then
  echo "installing: tpchgen-cli"
  python3 -m pip install -q "tpchgen-cli==4.0.0"
fi

# No incremental cache in a one-shot run: it only costs disk (CI ran out once).
export CARGO_INCREMENTAL=0
cargo build --workspace --all-targets
log=$(mktemp)
status=0
cargo test --workspace --no-fail-fast 2>&1 | tee "$log" || status=$?
# One closing line over every test binary (cargo prints one per binary, doc tests last).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
exit "$status"
