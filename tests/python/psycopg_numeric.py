"""psycopg 3 with numeric: Decimal parameters (text and binary) go in and come back equal,
with text and with binary results, scale kept; numeric(p, s) rounds. Exits non-zero on a
mismatch. Usage: psycopg_numeric.py PORT"""
import sys
from decimal import Decimal

import psycopg

port = int(sys.argv[1])
values = [Decimal("1.50"), Decimal("-7"), Decimal("0.000"), Decimal("123456789012345678901234567890.123456789"),
          Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("1E+3"), Decimal("-0.0001")]
with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
    c.execute("CREATE TABLE py_num (k int PRIMARY KEY, v numeric, m numeric(10,3))")
    for binary in (False, True):
        cur = c.cursor(binary=binary)
        for i, v in enumerate(values):
            got = cur.execute("SELECT %s::numeric", (v,)).fetchone()[0]
            if not (got == v or (got.is_nan() and v.is_nan())) or str(got) != str(v).replace("E+3", "E+3"):
                # 1E+3 is sent as text "1E+3" and read back as 1000.
                if not (v == Decimal("1E+3") and got == Decimal("1000")):
                    sys.exit(f"binary={binary}: {v!r} came back as {got!r}")
    c.execute("INSERT INTO py_num VALUES (%s, %s, %s), (%s, %s, %s)",
              (1, Decimal("2.50"), Decimal("1.0005"), 2, Decimal("-3"), Decimal("-99.9994")))
    for binary in (False, True):
        rows = c.cursor(binary=binary).execute("SELECT k, v, m, v * m, sum(m) FROM py_num GROUP BY k, v, m ORDER BY k").fetchall()
        want = [(1, Decimal("2.50"), Decimal("1.001"), Decimal("2.50250"), Decimal("1.001")),
                (2, Decimal("-3"), Decimal("-99.999"), Decimal("299.997"), Decimal("-99.999"))]
        if rows != want or [str(r[1]) for r in rows] != ["2.50", "-3"]:
            sys.exit(f"binary={binary}: {rows!r}")
    try:
        c.execute("INSERT INTO py_num VALUES (3, 0, %s)", (Decimal("10000000"),))
        sys.exit("numeric(10,3) took 10000000")
    except psycopg.errors.NumericValueOutOfRange as e:
        if "numeric field overflow" not in str(e):
            sys.exit(f"wrong error: {e}")
print("ok")
