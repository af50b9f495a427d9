#!/usr/bin/env python3
"""Server CPU time per TPC-H query, robust against a loaded machine: each query runs 7 times on
each server (alternated) and the best difference of the server's CPU time (all its threads,
/proc/<pid>/task/*/schedstat) is printed. The data must be loaded (tpch.py).

Usage: cpu_time.py 13,19,21 PORT:PID [PORT:PID ...]   (PID "pg": the connection's own
PostgreSQL backend, which leaves out parallel workers)
"""
import sys, os, time, psycopg
def cpu_ns(pid):
    t = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try: t += int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
        except FileNotFoundError: pass
    return t
qs = sys.argv[1].split(",")
servers = [s.split(":") for s in sys.argv[2:]]
conns = {p: psycopg.connect(host="127.0.0.1", port=int(p), user="postgres", dbname="postgres", autocommit=True) for p, _ in servers}
# pid "pg": the connection's own PostgreSQL backend
servers = [(p, conns[p].execute("select pg_backend_pid()").fetchone()[0] if pid == "pg" else pid) for p, pid in servers]
for q in qs:
    sql = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "queries", f"q{int(q):02d}.sql")).read()
    best = {p: 1e18 for p, _ in servers}
    for r in range(7):
        for p, pid in servers:
            c = conns[p]
            a = cpu_ns(pid); c.execute(sql).fetchall(); b = cpu_ns(pid)
            best[p] = min(best[p], b - a)
    print(f"q{int(q):02d} " + "  ".join(f"port {p}: {best[p]/1e6:.2f} ms CPU" for p, _ in servers))
