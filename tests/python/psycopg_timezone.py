"""psycopg 3 in a session whose TimeZone is not UTC: the zone the client asks for at start-up
(PGTZ), the ParameterStatus after SET TIME ZONE (psycopg reads binary timestamptz results in
that zone), text parameters and COPY read and written as local time, and a prepared statement
that answers in the new zone after SET. Prints one line per check, for the caller to compare
with PostgreSQL 15's. Usage: PGTZ=America/New_York psycopg_timezone.py PORT"""
import datetime
import sys

import psycopg

port = int(sys.argv[1])
with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as c:
    print("startup zone:", c.info.parameter_status("TimeZone"))
    c.execute("DROP TABLE IF EXISTS tz_ev")
    c.execute("CREATE TABLE tz_ev (id int PRIMARY KEY, at timestamptz)")
    # A text parameter without an offset is local time in the session's zone (02:30 does not
    # exist on that day in New York: 03:30 EDT).
    c.execute("INSERT INTO tz_ev VALUES (1, %s::text::timestamptz), (2, %s)",
              ("2026-03-08 02:30", datetime.datetime(2026, 7, 1, 12, 0, tzinfo=datetime.timezone.utc)))
    for binary in (False, True):
        cur = c.cursor(binary=binary)
        cur.execute("SELECT id, at FROM tz_ev ORDER BY id")
        for i, at in cur.fetchall():
            print(f"binary={binary} row {i}:", at.isoformat(), at.astimezone(datetime.timezone.utc).isoformat())
    cur = c.cursor()
    cur.execute("SELECT at::text, at::date, extract(hour FROM at) FROM tz_ev ORDER BY id")
    print("local:", cur.fetchall())
    # A prepared statement binds again when the zone changes (its conversions then read the
    # new zone; a literal without an offset would be read again too, where PostgreSQL keeps the
    # instant it read at PREPARE: the literal here says its offset).
    q = "SELECT '2026-07-01 12:00+00'::timestamptz::text, now()::date = current_date"
    print("prepared before:", c.execute(q, prepare=True).fetchone())
    c.execute("SET TIME ZONE 'Asia/Kolkata'")
    print("zone after SET:", c.info.parameter_status("TimeZone"))
    print("prepared after:", c.execute(q, prepare=True).fetchone())
    cur = c.cursor(binary=True)
    cur.execute("SELECT at FROM tz_ev WHERE id = 2")
    at = cur.fetchone()[0]
    print("binary in Kolkata:", at.isoformat(), at.utcoffset())
    # COPY writes local time, and reads a value without an offset as local time.
    with cur.copy("COPY tz_ev TO STDOUT") as cp:
        print("copy out:", b"".join(bytes(b) for b in cp).decode().splitlines())
    with cur.copy("COPY tz_ev FROM STDIN") as cp:
        cp.write("3\t2026-01-15 09:00\n")
    cur.execute("SELECT at AT TIME ZONE 'UTC' FROM tz_ev WHERE id = 3")
    print("copy in:", cur.fetchone()[0].isoformat())
    c.execute("RESET TimeZone")
    cur = c.cursor()
    cur.execute("SELECT at::text FROM tz_ev WHERE id = 3")
    print("after RESET:", c.info.parameter_status("TimeZone"), cur.fetchone()[0])
    c.execute("DROP TABLE tz_ev")
