#!/bin/bash
# Bulk-load timings (docs/BENCHMARKS.md, "Bulk load") against a PostgreSQL-protocol server on
# 127.0.0.1:PORT, user postgres, database postgres: pgbench -i -s 10 step by step (dtg, v, p),
# COPY FROM STDIN of 1M 5-column rows (int, text, numeric, date, bigint) in text and CSV,
# CREATE INDEX and ALTER TABLE ... ADD PRIMARY KEY on the 1M-row table.
# usage: bulk_load.sh PORT [DATA_DIR]   (the two 1M-row files are made in DATA_DIR once)
set -e
P=$1
D=${2:-/tmp/bulk-load-data}
mkdir -p "$D"
if [ ! -s "$D/rows.txt" ]; then
    python3 - "$D" <<'PY'
import datetime, random, sys
random.seed(1)
d0 = datetime.date(2000, 1, 1)
with open(sys.argv[1] + "/rows.txt", "w") as f, open(sys.argv[1] + "/rows.csv", "w") as g:
    for i in range(1, 1000001):
        t = "name %d %s" % (i, "x" * (i % 20))
        n = "%d.%02d" % (random.randint(0, 99999), random.randint(0, 99))
        d = (d0 + datetime.timedelta(days=i % 9000)).isoformat()
        b = random.randint(-2**62, 2**62)
        f.write("%d\t%s\t%s\t%s\t%d\n" % (i, t, n, d, b))
        g.write('%d,"%s",%s,%s,%d\n' % (i, t, n, d, b))
PY
fi
PSQL="psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $P -U postgres postgres"
step() {
    local label=$1; shift
    local s e
    s=$(date +%s.%N)
    "$@" > /dev/null 2>&1 || { echo "FAILED: $label"; exit 1; }
    e=$(date +%s.%N)
    printf "%-34s %8.2f s\n" "$label" "$(echo "$e - $s" | bc)"
}
PGB="pgbench -q -h 127.0.0.1 -p $P -U postgres -s 10"
step "pgbench -i -I dtg -s 10" $PGB -i -I dtg postgres
step "pgbench -i -I v" $PGB -i -I v postgres
step "pgbench -i -I p" $PGB -i -I p postgres
$PSQL -c "DROP TABLE IF EXISTS c5" -c "CREATE TABLE c5 (a int, b text, c numeric, d date, e bigint)" 2>/dev/null
step "COPY 1M rows, text" sh -c "$PSQL -c 'COPY c5 FROM STDIN' < $D/rows.txt"
$PSQL -c "TRUNCATE c5"
step "COPY 1M rows, CSV" sh -c "$PSQL -c 'COPY c5 FROM STDIN (FORMAT csv)' < $D/rows.csv"
step "CREATE INDEX on 1M rows (bigint)" $PSQL -c "CREATE INDEX c5_e ON c5 (e)"
step "ADD PRIMARY KEY, 1M rows, 1 index" $PSQL -c "ALTER TABLE c5 ADD PRIMARY KEY (a)"
$PSQL -t -c "SELECT count(*), sum(a) FROM c5"
