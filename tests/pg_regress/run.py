#!/usr/bin/env python3
"""PostgreSQL's own regression tests, run differentially against Orbit.

Each named test file of PostgreSQL 15's `src/test/regress/sql` goes through psql (as pg_regress
runs it: `psql -X -a -q`, errors interleaved) against a fresh Orbit and against a fresh database
of a real PostgreSQL 15, both after the same setup (`test_setup.sql`, with its server-side
`COPY ... FROM 'file'` turned into psql's `\\copy` and its C-function lines dropped). The two
outputs are diffed; the report gives, per file, how many of PostgreSQL's output lines Orbit
reproduces exactly. Not a pass/fail test: a measure of how far Orbit is from PostgreSQL on
tests that other people wrote, and a list of the differences (`OUTDIR/<test>.diff`).

usage: run.py [--orbit BIN] [--out DIR] [--shards N] test ...   (default: every test in TESTS)
Environment: PG_PORT (use a running PostgreSQL 15 on 127.0.0.1 as user postgres instead of
starting a throwaway cluster), ORBIT_PORT (first port to use for Orbit; default 17633).
The regression files come from tests/pg_regress/fetch.sh (Debian's postgresql-15 source).
"""
import argparse, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PG_BIN = "/usr/lib/postgresql/15/bin"
# Both servers get the same session settings; ISO dates because Orbit prints only ISO.
ENV = dict(os.environ, PGTZ="PST8PDT", PGDATESTYLE="ISO, MDY", PGAPPNAME="pg_regress", LC_ALL="C",
           PGUSER="postgres")
ENV.pop("PGOPTIONS", None)
ENV.pop("PGDATABASE", None)

# The files measured by default: the data types, queries and DML parts of the schedule that
# do not need what Orbit does not have (geometric types, inheritance, ...).
TESTS = """boolean char varchar text int2 int4 int8 float4 float8 numeric uuid strings numerology
date time timetz timestamp timestamptz interval case select select_distinct select_distinct_on
select_having select_implicit select_into union subselect join aggregates window with limit
insert update delete returning insert_conflict arrays json jsonb jsonpath sequence transactions
truncate create_view prepare portals namespace temp groupingsets copy2 copyselect copydml
drop_if_exists errors identity generated enum domain constraints foreign_key create_table
alter_table btree_index create_index tsrf rangefuncs random matview expressions misc_functions
functional_deps select_views rowtypes merge plpgsql triggers""".split()


def setup_sql(regress):
    out, fname = [], None
    for line in open(os.path.join(regress, "sql", "test_setup.sql")).read().splitlines():
        m = re.match(r"\\set filename :abs_srcdir '(.*)'", line)
        if m:
            fname = os.path.join(regress, m.group(1).lstrip("/"))
            continue
        m = re.match(r"COPY (\w+) FROM :'filename';", line)
        if m:
            out.append(f"\\copy {m.group(1)} from '{fname}'")
            continue
        if line.startswith("\\getenv") or line.startswith("\\set regresslib"):
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def psql(port, db, sql, timeout=900):
    """The file's output through psql; past `timeout` seconds what it printed so far and a line
    saying it stopped (the file's later lines then count as different)."""
    try:
        p = subprocess.run([f"{PG_BIN}/psql", "-X", "-a", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                            "-d", db, "-v", "HIDE_TABLEAM=on", "-v", "HIDE_TOAST_COMPRESSION=on"],
                           input=sql, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                           env=ENV, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.output or b""
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        return out + f"\n!!! psql stopped after {timeout} s\n"
    return p.stdout


def free_port(start):
    port = start
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
        except OSError:
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
                s.close()
                s2 = socket.socket()
                s2.bind(("127.0.0.1", port + 1))
                s2.close()
                return port
            except OSError:
                pass
        port += 2


def wait_port(port, proc):
    for _ in range(600):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited at start")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def as_postgres(args):
    return (["runuser", "-u", "postgres", "--"] + args) if os.geteuid() == 0 else args


class ThrowawayPg:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="orbit-pgregress-")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port(17800)
        data = os.path.join(self.dir, "data")
        subprocess.run(as_postgres([f"{PG_BIN}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                                    "--locale=C.UTF-8"]), check=True, capture_output=True)
        subprocess.run(as_postgres([f"{PG_BIN}/pg_ctl", "-D", data, "-w", "-l", os.path.join(self.dir, "log"), "-o",
                                    f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start"]),
                       check=True, capture_output=True)
        self.data = data

    def stop(self):
        subprocess.run(as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    # A SIGTERM (timeout, kill) still stops the servers this run started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    ap = argparse.ArgumentParser()
    ap.add_argument("--orbit", default=os.path.join(ROOT, "target", "debug", "orbit"))
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "pg_regress", "out"))
    ap.add_argument("--shards", default="2")
    ap.add_argument("tests", nargs="*")
    args = ap.parse_args()
    regress = subprocess.run([os.path.join(ROOT, "tests", "pg_regress", "fetch.sh")], check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()[-1]
    tests = args.tests or TESTS
    os.makedirs(args.out, exist_ok=True)
    setup = setup_sql(regress)
    pg = None
    pg_port = os.environ.get("PG_PORT")
    if not pg_port:
        pg = ThrowawayPg()
        pg_port = pg.port
    rows = []
    try:
        for t in tests:
            sql = open(os.path.join(regress, "sql", t + ".sql")).read()
            port = free_port(int(os.environ.get("ORBIT_PORT", "17633")))
            data = tempfile.mkdtemp(prefix="orbit-pgregress-data-")
            log = open(os.path.join(args.out, f"{t}.orbit.log"), "w")
            proc = subprocess.Popen([args.orbit, "serve", "--redis-port", str(port + 1), "--pg-port", str(port),
                                     "--http-port", "0", "--data-dir", data, "--shards", args.shards, "--fsync", "no"],
                                    stdout=log, stderr=log)
            try:
                wait_port(port, proc)
                db = "regress_" + t
                subprocess.run([f"{PG_BIN}/psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres",
                                "-d", "postgres", "-c", f"DROP DATABASE IF EXISTS {db}", "-c", f"CREATE DATABASE {db}"],
                               check=True, env=ENV, capture_output=True)
                psql(pg_port, db, setup)
                open(os.path.join(args.out, f"{t}.setup.orbit"), "w").write(psql(port, "postgres", setup))
                expected = psql(pg_port, db, sql).replace(db, "postgres")
                got = psql(port, "postgres", sql)
                if proc.poll() is not None:
                    got += f"\n!!! orbit exited with {proc.returncode}\n"
            finally:
                proc.kill()
                proc.wait()
                shutil.rmtree(data, ignore_errors=True)
            pg_file, orbit_file = (os.path.join(args.out, f"{t}.{s}") for s in ("pg", "orbit"))
            open(pg_file, "w").write(expected)
            open(orbit_file, "w").write(got)
            diff = subprocess.run(["diff", "-U2", "--label", "postgresql", "--label", "orbit", pg_file, orbit_file],
                                  capture_output=True, text=True, errors="replace").stdout
            open(os.path.join(args.out, f"{t}.diff"), "w").write(diff)
            lines = diff.splitlines()
            total = len(expected.splitlines())
            missing = sum(1 for l in lines if l.startswith("-") and not l.startswith("---"))
            hunks = sum(1 for l in lines if l.startswith("@@"))
            rows.append((t, total, total - missing, hunks))
            print(f"{t:20} {total - missing:6} of {total:6} lines same ({100.0 * (total - missing) / max(total, 1):5.1f}%)"
                  f"  {hunks} differences", flush=True)
    finally:
        if pg:
            pg.stop()
    total = sum(r[1] for r in rows)
    same = sum(r[2] for r in rows)
    full = sum(1 for r in rows if r[3] == 0)
    print(f"{'TOTAL':20} {same:6} of {total:6} lines same ({100.0 * same / max(total, 1):5.1f}%); "
          f"{full} of {len(rows)} files identical")


if __name__ == "__main__":
    sys.exit(main())
