"""An ordinary psycopg 3 program, run against Orbit's PostgreSQL port by tests/tests/pg.rs.

Usage: psycopg_app.py PORT. Exits non-zero (with a traceback) on any unexpected result.
"""
import sys

import psycopg
from psycopg import errors

port = int(sys.argv[1])
DSN = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres") as conn:
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS accounts")
        cur.execute(
            "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance float8 DEFAULT 0, note varchar(10))"
        )
        cur.executemany(
            "INSERT INTO accounts (id, owner, balance, note) VALUES (%s, %s, %s, %s)",
            [(i, f"user{i}", i * 10.5, None if i % 2 else "even") for i in range(1, 21)],
        )
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("SELECT owner, balance, note FROM accounts WHERE id = %s", (4,))
        assert cur.fetchone() == ("user4", 42.0, "even")
        cur.execute("SELECT count(*) FROM accounts WHERE balance > %s", (100,))
        assert cur.fetchone() == (11,)
        cur.execute("UPDATE accounts SET balance = balance + %s WHERE id = %s RETURNING balance", (1.5, 1))
        assert cur.fetchone() == (12.0,)
        cur.execute("DELETE FROM accounts WHERE id > %s", (15,))
        assert cur.rowcount == 5
        cur.execute("SELECT id FROM accounts ORDER BY id DESC LIMIT 3")
        assert [r[0] for r in cur.fetchall()] == [15, 14, 13]
    conn.commit()
    # An error aborts the transaction until rollback, as in PostgreSQL.
    with conn.cursor() as cur:
        try:
            cur.execute("INSERT INTO accounts (id, owner) VALUES (%s, %s)", (1, "again"))
            raise SystemExit("duplicate key was accepted")
        except errors.UniqueViolation as e:
            assert e.sqlstate == "23505", e.sqlstate
            assert e.diag.message_detail == "Key (id)=(1) already exists.", e.diag.message_detail
        try:
            cur.execute("SELECT 1")
            raise SystemExit("statement ran in an aborted transaction")
        except errors.InFailedSqlTransaction:
            pass
    conn.rollback()
    with conn.cursor() as cur:
        try:
            cur.execute("SELECT * FROM missing")
        except errors.UndefinedTable as e:
            assert str(e).startswith('relation "missing" does not exist'), str(e)
    conn.rollback()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT %s::bytea, %s::int2, true, NULL::text", (b"\x00\xff", 7))
        assert cur.fetchone() == (b"\x00\xff", 7, True, None)
# LISTEN / NOTIFY: an idle listener gets what another session sends when it commits.
listener = psycopg.connect(DSN, autocommit=True)
listener.execute("LISTEN orders")
with psycopg.connect(DSN) as sender:
    sender.execute("SELECT pg_notify('orders', %s)", ("42",))
    sender.execute("NOTIFY orders, 'second'")
    sender.commit()
got = [(n.channel, n.payload) for n in listener.notifies(timeout=5, stop_after=2)]
assert got == [("orders", "42"), ("orders", "second")], got
listener.close()
print("ok")
