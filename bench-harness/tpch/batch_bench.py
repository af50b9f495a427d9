#!/usr/bin/env python3
# The batch path's measurement (docs/BENCHMARKS.md): TPC-H Q1 and Q6 at SF0.01 and a 1M-row
# filter + aggregate and filtered scan on one Orbit binary (1 shard, on CPU 0); prints the best
# wall time and the best server CPU time (all its threads, from /proc schedstat) of ROUNDS runs.
# Usage: bench-harness/tpch/batch_bench.py <orbit binary> <label> [VAR=VALUE ...] (e.g.
# ORBIT_VECTORIZE=0 for the row path).
import os, socket, subprocess, sys, tempfile, time, io
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tpch, psycopg

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

binary, label = sys.argv[1], sys.argv[2]
env = dict(os.environ)
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1); env[k] = v
shards = env.get("SHARDS", "1")
tmp = tempfile.mkdtemp()
op, rp, hp = free_port(), free_port(), free_port()
srv = subprocess.Popen(["taskset", "-c", "0", binary, "serve", "--shards", shards, "--data-dir", tmp,
                        "--redis-port", str(rp), "--pg-port", str(op), "--http-port", str(hp)],
                       env=env, stdout=open(tmp + "/log", "w"), stderr=subprocess.STDOUT)
try:
    for _ in range(200):
        try:
            c = tpch.connect(f"127.0.0.1:{op}", "postgres"); break
        except Exception:
            time.sleep(0.1)
    tpch.generate("0.01", "/tmp/orbit-tpch-0.01")
    tpch.load(c, "/tmp/orbit-tpch-0.01")
    with c.cursor() as cur:
        cur.execute("CREATE TABLE m (id int PRIMARY KEY, x int, y int)")
        buf = io.StringIO()
        for i in range(1, 1_000_001):
            buf.write(f"{i}\t{(i * 7919) % 1000}\t{(i * 104729) % 1000000}\n")
        with cur.copy("COPY m FROM STDIN") as cp:
            cp.write(buf.getvalue())
    qs = {
        "q01": open(os.path.join(HERE, "queries", "q01.sql")).read(),
        "q06": open(os.path.join(HERE, "queries", "q06.sql")).read(),
        "micro_agg": "SELECT count(*), sum(x) FROM m WHERE y < 500000",
        "micro_scan": "SELECT id, x FROM m WHERE y < 2000",
    }
    def cpu_ns():
        tot = 0
        for t in os.listdir(f"/proc/{srv.pid}/task"):
            try:
                tot += int(open(f"/proc/{srv.pid}/task/{t}/schedstat").read().split()[0])
            except OSError:
                pass
        return tot
    for name, sql in qs.items():
        best = 1e9
        best_cpu = 1e18
        ans = None
        for _ in range(int(env.get("ROUNDS", "7"))):
            c0 = cpu_ns()
            rows, t, err = tpch.run(c, sql, 600)
            c1 = cpu_ns()
            if err:
                print(name, "ERROR", err); break
            best = min(best, t); ans = rows
            best_cpu = min(best_cpu, c1 - c0)
        print(f"{label} {name}: wall best {best*1000:.2f} ms, server cpu best {best_cpu/1e6:.2f} ms, rows {len(ans or [])} first {ans[:1] if ans else None}", flush=True)
finally:
    srv.kill()
