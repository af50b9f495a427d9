#!/usr/bin/env python3
"""Two big tables joined on one Orbit binary started with --shards 2 (no PostgreSQL): per query
the server's CPU time (utime+stime of the whole process, /proc/<pid>/stat) and wall time of the
round with the least CPU over ROUNDS rounds, a hash of its rows (to compare binaries) and the
`Distribution:` lines of its EXPLAIN (where each join step ran). For comparing a binary with
repartitioned join steps against one without: run both with the same ROWS.

The queries (a has ROWS rows, b 1.25 x ROWS, c 1.9 x ROWS; the sizes put each query where the
cost model picks the distribution named):
  fk_few      a JOIN b ON b.id = a.k, a tenth of a.k set (else NULL): few matches among many rows
              so far, b partitioned on the key (repartition of the rows so far)
  fk_all      a JOIN b ON b.id = a.k2, every a.k2 set: as many matches as rows so far (the
              coordinator reads b)
  nonkey_few  a JOIN c ON c.u = a.k3, c.u not c's key, a fiftieth of a.k3 set: both sides move
              (repartition)
Usage: two_tables.py BINARY ROWS ROUNDS OUT.json"""
import hashlib, json, os, shutil, socket, subprocess, sys, tempfile, time
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tpch
binary, rows, rounds, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
pg, rp, hp = port(), port(), port()
d = tempfile.mkdtemp()
proc = subprocess.Popen([binary, "serve", "--shards", "2", "--fsync", "no", "--data-dir", d, "--redis-port", str(rp),
                         "--pg-port", str(pg), "--http-port", str(hp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    f = open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick
QUERIES = {
    "fk_few": "SELECT count(*), sum(b.w) FROM a JOIN b ON b.id = a.k",
    "fk_all": "SELECT count(*), sum(b.w) FROM a JOIN b ON b.id = a.k2",
    "nonkey_few": "SELECT count(*), sum(c.w) FROM a JOIN c ON c.u = a.k3",
}
nb, nc = rows * 5 // 4, rows * 19 // 10
try:
    for _ in range(100):
        try:
            conn = tpch.connect(f"127.0.0.1:{pg}", "postgres"); break
        except Exception:
            time.sleep(0.2)
    with conn.cursor() as cur:
        t = time.perf_counter()
        cur.execute("CREATE TABLE a (id int PRIMARY KEY, k int, k2 int, k3 int, v int)")
        cur.execute(f"INSERT INTO a SELECT i, CASE WHEN i % 10 = 0 THEN 1 + (i * 7) % {nb} END, "
                    f"1 + (i * 7) % {nb}, CASE WHEN i % 50 = 0 THEN (i * 3) % {nc} END, i % 100 "
                    f"FROM generate_series(1, {rows}) AS i")
        cur.execute("CREATE TABLE b (id int PRIMARY KEY, w int)")
        cur.execute(f"INSERT INTO b SELECT i, i % 1000 FROM generate_series(1, {nb}) AS i")
        cur.execute("CREATE TABLE c (id int PRIMARY KEY, u int, w int)")
        cur.execute(f"INSERT INTO c SELECT i, (i * 13) % {nc + 1}, i % 1000 FROM generate_series(1, {nc}) AS i")
        cur.execute("ANALYZE")
        print(f"loaded in {time.perf_counter()-t:.1f}s", flush=True)
    res = {}
    for name, sql in QUERIES.items():
        best = None
        for _ in range(rounds):
            c0 = cpu()
            got, wall, err = tpch.run(conn, sql, 600)
            c1 = cpu()
            if err:
                best = {"error": err}; break
            r = {"wall_ms": round(wall * 1000, 1), "cpu_ms": round((c1 - c0) * 1000, 1),
                 "rows": hashlib.sha1(repr(got).encode()).hexdigest()[:12]}
            if best is None or r["cpu_ms"] < best["cpu_ms"]:
                best = r
        with conn.cursor() as cur:
            cur.execute("EXPLAIN (COSTS OFF) " + sql)
            plan = [r[0].strip() for r in cur.fetchall()]
        best["dist"] = [l for l in plan if "Distribution:" in l or "Hash Inner Join" in l or "Index Scan" in l]
        res[name] = best
        print(name, best, flush=True)
    json.dump(res, open(out, "w"), indent=1)
finally:
    proc.kill(); shutil.rmtree(d, ignore_errors=True)
