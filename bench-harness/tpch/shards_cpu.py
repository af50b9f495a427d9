#!/usr/bin/env python3
"""TPC-H on one Orbit binary started with --shards 2 (no PostgreSQL): per query the server's CPU
time (utime+stime of the whole process from /proc/<pid>/stat, 10 ms ticks) and wall time of the
round with the least CPU, over ROUNDS rounds, a hash of its rows (to compare binaries) and the
`Distribution:` lines of its EXPLAIN (which join steps ran on the shards). Data from tpchgen-cli
as tpch.py loads it. Linux only.
Usage: shards_cpu.py BINARY SCALE ROUNDS OUT.json"""
import json, os, subprocess, sys, time, socket, shutil, tempfile, hashlib
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tpch
binary, scale, rounds, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
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
try:
    for _ in range(100):
        try:
            conn = tpch.connect(f"127.0.0.1:{pg}", "postgres"); break
        except Exception:
            time.sleep(0.2)
    data = f"/tmp/orbit-tpch-{scale}"
    tpch.generate(scale, data)
    t = time.perf_counter(); tpch.load(conn, data); print(f"loaded in {time.perf_counter()-t:.1f}s", flush=True)
    qdir = os.path.join(HERE, "queries")
    res = {}
    for q in sorted(f for f in os.listdir(qdir) if f.endswith(".sql")):
        sql = open(os.path.join(qdir, q)).read()
        best = None
        for _ in range(rounds):
            c0 = cpu()
            rows, wall, err = tpch.run(conn, sql, 600)
            c1 = cpu()
            if err:
                best = {"error": err}; break
            r = {"wall_ms": round(wall * 1000, 1), "cpu_ms": round((c1 - c0) * 1000, 1),
                 "rows": hashlib.sha1(repr(rows).encode()).hexdigest()[:12]}
            if best is None or r["cpu_ms"] < best["cpu_ms"]:
                best = r
        try:
            with conn.cursor() as cur:
                cur.execute("EXPLAIN (COSTS OFF) " + sql)
                best["dist"] = [r[0].strip() for r in cur.fetchall() if "Distribution:" in r[0]]
        except Exception as e:
            best["dist"] = [f"explain failed: {e}"[:80]]
        res[q[:-4]] = best
        print(q[:-4], best, flush=True)
    json.dump(res, open(out, "w"), indent=1)
finally:
    proc.kill(); shutil.rmtree(d, ignore_errors=True)
