"""SQL PREPARE/EXECUTE/DEALLOCATE and the extended protocol's named statements share one
namespace, as in PostgreSQL: run by tests/tests/pg_prepare.rs against Orbit and a real
PostgreSQL 15, which must print the same lines. Uses libpq's own Parse/Bind/Describe calls
(psycopg's pgconn), so the statement names are the script's.

Usage: psycopg_prepare.py PORT.
"""
import sys

import psycopg

port = int(sys.argv[1])
conn = psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True)
pg = conn.pgconn


def show(what, r):
    """One result: its error (SQLSTATE and message) or its tag and rows."""
    err = r.error_field(psycopg.pq.DiagnosticField.SQLSTATE)
    if err:
        msg = r.error_field(psycopg.pq.DiagnosticField.MESSAGE_PRIMARY).decode()
        print(f"{what}: ERROR {err.decode()} {msg}")
        return
    rows = [[r.get_value(i, j) for j in range(r.nfields)] for i in range(r.ntuples)]
    print(f"{what}: {r.command_status.decode()} {rows}")


def views():
    return pg.exec_(b"SELECT name, statement, parameter_types::text, from_sql FROM pg_prepared_statements ORDER BY name")


show("create", pg.exec_(b"CREATE TABLE pp (id int PRIMARY KEY, v text)"))
show("parse proto1", pg.prepare(b"proto1", b"SELECT $1::int + 1"))
show("parse proto_ins", pg.prepare(b"proto_ins", b"INSERT INTO pp VALUES ($1, $2)"))
show("view", views())
show("sql prepare over a protocol name", pg.exec_(b"PREPARE proto1 AS SELECT 2"))
show("sql execute of a protocol statement", pg.exec_(b"EXECUTE proto1(5)"))
show("sql execute of an insert", pg.exec_(b"EXECUTE proto_ins(1, 'one')"))
show("sql prepare", pg.exec_(b"PREPARE sql1(int) AS SELECT $1 * 10"))
show("parse over a SQL name", pg.prepare(b"sql1", b"SELECT 3"))
show("bind/execute of a SQL statement", pg.exec_prepared(b"sql1", [b"7"]))
d = pg.describe_prepared(b"sql1")
print("describe sql1:", d.nparams, [d.param_type(i) for i in range(d.nparams)], d.nfields, [d.ftype(i) for i in range(d.nfields)])
show("sql prepare of an update", pg.exec_(b"PREPARE upd AS UPDATE pp SET v = $2 WHERE id = $1 RETURNING v"))
show("bind/execute of an update", pg.exec_prepared(b"upd", [b"1", b"uno"]))
show("parse of an EXECUTE", pg.prepare(b"ex", b"EXECUTE sql1(4)"))
d = pg.describe_prepared(b"ex")
print("describe ex:", d.nparams, d.nfields, [d.ftype(i) for i in range(d.nfields)])
show("bind/execute of an EXECUTE", pg.exec_prepared(b"ex", []))
show("parse of a PREPARE", pg.prepare(b"", b"PREPARE viaparse AS SELECT 'p'"))
show("bind/execute of a PREPARE", pg.exec_prepared(b"", []))
show("execute viaparse", pg.exec_(b"EXECUTE viaparse"))
show("view", views())
show("deallocate a protocol statement", pg.exec_(b"DEALLOCATE proto1"))
show("bind of a deallocated statement", pg.exec_prepared(b"proto1", [b"1"]))
show("deallocate all", pg.exec_(b"DEALLOCATE ALL"))
show("view", views())
show("parse after deallocate all", pg.prepare(b"sql1", b"SELECT 'again'"))
show("discard all", pg.exec_(b"DISCARD ALL"))
show("view", views())
show("rows", pg.exec_(b"SELECT * FROM pp ORDER BY id"))
show("drop", pg.exec_(b"DROP TABLE pp"))
