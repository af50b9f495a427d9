"""psycopg 3 with the date/time, uuid, json and char(n) types: Python values go in as
parameters and come back equal, with text and with binary results. Exits non-zero on a
mismatch. Usage: psycopg_types.py PORT"""
import datetime
import sys
import uuid

import psycopg
from psycopg.types.json import Json, Jsonb

port = int(sys.argv[1])
tz530 = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
row_in = (
    uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    datetime.datetime(2024, 1, 2, 3, 4, 5, 123456),
    datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=tz530),
    datetime.date(2024, 2, 29),
    datetime.time(23, 59, 59, 1),
    datetime.timedelta(days=-1, seconds=86399, microseconds=5),
    Json({"b": [1, 2], "a": None}),
    Jsonb({"b": 1, "a": [True]}),
    "ab",
)
expected = (
    row_in[0], row_in[1], row_in[2], row_in[3], row_in[4], row_in[5],
    {"b": [1, 2], "a": None}, {"a": [True], "b": 1}, "ab   ",
)
with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
    c.execute(
        "CREATE TABLE py_types (id uuid PRIMARY KEY, ts timestamp, tz timestamptz, d date, t time, "
        "iv interval, j json, jb jsonb, ch char(5))"
    )
    c.execute("INSERT INTO py_types VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", row_in)
    for binary in (False, True):
        cur = c.cursor(binary=binary)
        cur.execute("SELECT * FROM py_types WHERE id = %s AND ts = %s", (row_in[0], row_in[1]))
        got = cur.fetchone()
        assert got == expected, f"binary={binary}: {got!r} != {expected!r}"
        cur.execute("SELECT tz AT TIME ZONE 'UTC', d + 1, iv * 2, jb -> 'a', now() - now() FROM py_types")
        got = cur.fetchone()
        want = (datetime.datetime(2024, 1, 1, 21, 34, 5), datetime.date(2024, 3, 1),
                datetime.timedelta(days=-1, seconds=86398, microseconds=10), [True], datetime.timedelta(0))
        assert got == want, f"binary={binary}: {got!r} != {want!r}"
print("ok")
