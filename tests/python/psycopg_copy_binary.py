"""COPY ... (FORMAT BINARY) through psycopg 3's cursor.copy(): write_row with typed rows in, rows
read back with read_row and the raw binary stream out. Run by tests/tests/copy_binary.rs
against Orbit and against a real PostgreSQL 15; prints the raw COPY TO stream (hex) so the
test can compare the two servers byte for byte.

Usage: psycopg_copy_binary.py PORT. Exits non-zero (with a traceback) on any unexpected result.
"""
import datetime
import sys
import uuid
from decimal import Decimal

import psycopg
from psycopg import errors
from psycopg.types.json import Jsonb

port = int(sys.argv[1])
TYPES = [
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "bool",
    "text",
    "varchar(10)",
    "bytea",
    "numeric",
    "date",
    "timestamp",
    "timestamptz",
    "interval",
    "uuid",
    "jsonb",
    "int4[]",
    "text[]",
    "numeric[]",
]
ROWS = [
    (
        1,
        -7,
        2**40,
        1.5,
        -2.25,
        True,
        "héllo\ttab",
        "short",
        b"\x00\xffbin",
        Decimal("12345.6789"),
        datetime.date(2024, 2, 29),
        datetime.datetime(2024, 2, 29, 12, 30, 45, 123456),
        datetime.datetime(2001, 1, 1, 0, 0, tzinfo=datetime.timezone.utc),
        datetime.timedelta(days=3, seconds=7),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        Jsonb({"a": [1, 2]}),
        [1, None, 3],
        ["x", "y z"],
        [Decimal("1.5"), Decimal("-0.001")],
    ),
    (2,) + (None,) * (len(TYPES) - 1),
    (
        3,
        32767,
        -(2**63),
        float("inf"),
        float("nan"),
        False,
        "",
        "",
        b"",
        Decimal("-0.000001"),
        datetime.date(1999, 12, 31),
        datetime.datetime(1970, 1, 1),
        datetime.datetime(2030, 6, 1, 23, 59, 59, tzinfo=datetime.timezone.utc),
        datetime.timedelta(microseconds=-1),
        uuid.UUID(int=0),
        Jsonb([]),
        [],
        [None],
        [Decimal("NaN")],
    ),
]
# The key column comes first.
ROWS = [(i + 1,) + r for i, r in enumerate(ROWS)]

with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
    conn.execute("DROP TABLE IF EXISTS cb")
    # id (int4) is the key; c0.. are the other types.
    conn.execute(f"CREATE TABLE cb (id int4 PRIMARY KEY, {', '.join(f'c{i} {t}' for i, t in enumerate(TYPES))})")
    names = ["id"] + [f"c{i}" for i in range(len(TYPES))]
    all_types = ["int4"] + [t.split("(")[0] for t in TYPES]
    with conn.cursor() as cur:
        with cur.copy(f"COPY cb ({', '.join(names)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(all_types)
            for row in ROWS:
                copy.write_row(row)
        assert cur.rowcount == len(ROWS), cur.rowcount
        with cur.copy("COPY (SELECT * FROM cb ORDER BY id) TO STDOUT (FORMAT BINARY)") as copy:
            copy.set_types(all_types)
            got = list(copy.rows())
        assert len(got) == len(ROWS), got
        for want, row in zip(ROWS, got):
            for w, g, t in zip(want, row, all_types):
                if isinstance(w, Jsonb):
                    w = w.obj
                if isinstance(w, float) and w != w:
                    assert g != g, (t, g)
                elif t == "numeric[]" and w and w[0].is_nan():
                    assert g[0].is_nan(), (t, g)
                else:
                    assert w == g, (t, w, g)
        # The raw stream, for the byte-for-byte comparison with PostgreSQL.
        with cur.copy("COPY (SELECT * FROM cb ORDER BY id) TO STDOUT (FORMAT BINARY)") as copy:
            raw = b"".join(bytes(b) for b in copy)
        print(raw.hex())
        # A wrong type in the stream: the server's binary recv rejects it (int8 for an int4).
        try:
            with cur.copy("COPY cb (id) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int8"])
                copy.write_row((99,))
            raise AssertionError("int8 data accepted for an int4 column")
        except errors.InvalidBinaryRepresentation as e:
            assert e.diag.message_primary == "incorrect binary data format", e.diag.message_primary
            assert e.diag.context.startswith("COPY cb, line 1, column id"), e.diag.context
        # Inside a transaction block the COPY is part of it.
        conn.autocommit = False
        with cur.copy("COPY cb (id, c0) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "int2"])
            copy.write_row((50, 5))
        conn.rollback()
        conn.autocommit = True
        cur.execute("SELECT count(*) FROM cb WHERE id = 50")
        assert cur.fetchone() == (0,)
