#!/usr/bin/env python3
"""Merge join against hash join (query/src/merge_join.rs) on one Orbit binary: two tables of
ROWS rows each joined on their primary keys (inner and FULL), a table joined on the leading
column of another's two-column key (orders/lines), each with `enable_mergejoin` on and off,
with --shards 1 and 2. Prints per query and setting the least server CPU time (utime+stime of
the process from /proc/<pid>/stat, 10 ms ticks: less disturbed than wall time by other work on
the machine) and the best wall time of ROUNDS measurements of REPS runs each (the client on the same machine), and the
join node EXPLAIN draws; checks that both settings give the same answer. Linux only.
Usage: mergejoin.py BINARY [ROWS] [ROUNDS]"""
import os, shutil, socket, subprocess, sys, tempfile, time
import psycopg

binary = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5


def port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


QUERIES = [
    ("inner, both keys", "SELECT count(*), sum(a.v + b.w) FROM ma a JOIN mb b ON a.id = b.id"),
    ("full, both keys", "SELECT count(*), count(a.id), count(b.id) FROM ma a FULL JOIN mb b ON a.id = b.id"),
    ("left, key prefix", "SELECT count(*), sum(l.q) FROM mo o LEFT JOIN ml l ON l.o_id = o.id"),
    ("full, key prefix", "SELECT count(*), count(o.id), count(l.o_id) FROM mo o FULL JOIN ml l ON l.o_id = o.id"),
]


TICK = os.sysconf("SC_CLK_TCK")
# Runs per measurement (the CPU clock ticks every 10 ms).
REPS = 4


def cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def run(shards):
    pg, rp, hp = port(), port(), port()
    d = tempfile.mkdtemp()
    proc = subprocess.Popen([binary, "serve", "--shards", str(shards), "--fsync", "no", "--data-dir", d,
                             "--redis-port", str(rp), "--pg-port", str(pg), "--http-port", str(hp)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                c = psycopg.connect(f"host=127.0.0.1 port={pg} user=postgres dbname=postgres", autocommit=True)
                break
            except Exception:
                time.sleep(0.2)
        x = c.execute
        x("CREATE TABLE ma (id int PRIMARY KEY, v int)")
        x("CREATE TABLE mb (id int PRIMARY KEY, w int)")
        # Overlapping halves: a full join has matched and unmatched rows on both sides.
        x(f"INSERT INTO ma SELECT i, i % 100 FROM generate_series(1, {rows}) AS g(i)")
        x(f"INSERT INTO mb SELECT i, i % 7 FROM generate_series({rows // 2 + 1}, {rows + rows // 2}) AS g(i)")
        x("CREATE TABLE mo (id bigint PRIMARY KEY, t text)")
        x("CREATE TABLE ml (o_id bigint, n int, q int, PRIMARY KEY (o_id, n))")
        x(f"INSERT INTO mo SELECT i, 't' || (i % 5) FROM generate_series(1, {rows // 4}) AS g(i)")
        x(f"INSERT INTO ml SELECT 1 + i / 4, i % 4, i % 9 FROM generate_series(0, {rows - 1}) AS g(i)")
        x("ANALYZE")
        for title, q in QUERIES:
            answers = {}
            for setting in ("on", "off"):
                x(f"SET enable_mergejoin = {setting}")
                plan = [r[0] for r in x("EXPLAIN (COSTS OFF) " + q).fetchall()]
                node = next((l.strip().lstrip("-> ") for l in plan if " Join" in l), plan[0])
                best, least = None, None
                for _ in range(rounds):
                    t, c0 = time.perf_counter(), cpu(proc.pid)
                    for _ in range(REPS):
                        answers[setting] = x(q).fetchall()
                    dt, dc = (time.perf_counter() - t) / REPS, (cpu(proc.pid) - c0) / REPS
                    best = dt if best is None else min(best, dt)
                    least = dc if least is None else min(least, dc)
                print(f"| {shards} | {title} | {setting} | {least * 1000:.0f} ms | {best * 1000:.1f} ms | {node} |",
                      flush=True)
            assert answers["on"] == answers["off"], (title, answers)
        c.close()
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)


print(f"rows={rows} rounds={rounds}")
print("| shards | query | enable_mergejoin | server CPU | wall | join node |")
print("|---|---|---|---|---|---|")
for shards in (1, 2):
    run(shards)
