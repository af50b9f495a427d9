//! COPY ... FROM STDIN / TO STDOUT (FORMAT binary), PostgreSQL's binary COPY format, end to end:
//! tokio-postgres's `BinaryCopyInWriter` / `BinaryCopyOutStream`, raw streams split across
//! CopyData messages, psycopg's `cursor.copy()` (tests/python/psycopg_copy_binary.py), and
//! broken headers and tuples. Where PostgreSQL 15 is installed the same runs go to it and the
//! streams must be the same byte for byte; the error expectations below are checked on it too.

use futures::{SinkExt, StreamExt};
use orbit_tests::pgcmp::{Raw, RawParam};
use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};
use std::process::Command;
use tokio_postgres::binary_copy::{BinaryCopyInWriter, BinaryCopyOutStream};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Client;

/// Every column type the test copies, with a value for each of two rows (SQL literals); a third
/// row is all NULLs.
const COLUMNS: &[(&str, Type, &str, &str)] = &[
    ("int2", Type::INT2, "-32768", "7"),
    ("int4", Type::INT4, "2147483647", "-1"),
    ("int8", Type::INT8, "-9223372036854775808", "0"),
    ("float4", Type::FLOAT4, "1.5", "'-Infinity'"),
    ("float8", Type::FLOAT8, "'NaN'", "-2.5e-300"),
    ("bool", Type::BOOL, "true", "false"),
    ("text", Type::TEXT, "'héllo, wörld'", "''"),
    ("varchar(8)", Type::VARCHAR, "'abc'", "'12345678'"),
    ("char(3)", Type::BPCHAR, "'x'", "'xyz'"),
    ("bytea", Type::BYTEA, "'\\x00ff10'", "''"),
    ("numeric", Type::NUMERIC, "12345678901234567890.000123", "'NaN'"),
    ("numeric(6,2)", Type::NUMERIC, "-1.5", "0"),
    ("date", Type::DATE, "'2024-02-29'", "'infinity'"),
    ("time", Type::TIME, "'23:59:59.999999'", "'00:00'"),
    ("timestamp", Type::TIMESTAMP, "'2000-01-01 00:00:00'", "'1900-06-30 12:34:56.5'"),
    ("timestamptz", Type::TIMESTAMPTZ, "'2024-05-06 07:08:09+00'", "'-infinity'"),
    ("interval", Type::INTERVAL, "'1 year 2 days 03:04:05.6'", "'-1 mons'"),
    ("uuid", Type::UUID, "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"),
    ("json", Type::JSON, "'{\"a\": [1, 2]}'", "'null'"),
    ("jsonb", Type::JSONB, "'{\"b\": {\"c\": true}}'", "'[]'"),
    ("int4[]", Type::INT4_ARRAY, "'{1,NULL,3}'", "'{}'"),
    ("text[]", Type::TEXT_ARRAY, "'{\"a b\",NULL,\"\"}'", "'{{x,y},{z,w}}'"),
    ("numeric[]", Type::NUMERIC_ARRAY, "'{1.5,-0.001}'", "'{NaN}'"),
    ("float8[]", Type::FLOAT8_ARRAY, "'{1e300,-0.5}'", "'{Infinity}'"),
    ("bool[]", Type::BOOL_ARRAY, "'{t,f,NULL}'", "'{}'"),
];

fn create(table: &str) -> String {
    let cols: Vec<String> = COLUMNS.iter().enumerate().map(|(i, (t, ..))| format!("c{i} {t}")).collect();
    format!("CREATE TABLE {table} (id int4 PRIMARY KEY, {})", cols.join(", "))
}

fn types() -> Vec<Type> {
    std::iter::once(Type::INT4).chain(COLUMNS.iter().map(|c| c.1.clone())).collect()
}

async fn fill(c: &Client) {
    c.batch_execute(&create("src")).await.expect("create src");
    let first: Vec<&str> = COLUMNS.iter().map(|c| c.2).collect();
    let second: Vec<&str> = COLUMNS.iter().map(|c| c.3).collect();
    let nulls = vec!["NULL"; COLUMNS.len()];
    for (id, vals) in [(1, first), (2, second), (3, nulls)] {
        let sql = format!("INSERT INTO src VALUES ({id}, {})", vals.join(", "));
        c.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// The whole COPY TO stream.
async fn copy_out(c: &Client, sql: &str) -> Vec<u8> {
    let stream = c.copy_out(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut stream = Box::pin(stream);
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.expect("copy data"));
    }
    out
}

/// The rows of a binary COPY TO, each value's binary form as sent.
async fn binary_rows(c: &Client, sql: &str) -> Vec<Vec<Option<Raw>>> {
    let stream = c.copy_out(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let types = types();
    let rows = BinaryCopyOutStream::new(stream, &types);
    let mut rows = Box::pin(rows);
    let mut out = Vec::new();
    while let Some(row) = rows.next().await {
        let row = row.expect("binary row");
        out.push((0..types.len()).map(|i| row.get::<Option<Raw>>(i)).collect());
    }
    out
}

/// Raw COPY FROM data, sent in CopyData messages of 7 bytes (tuples split anywhere).
async fn copy_in_raw(c: &Client, sql: &str, data: &[u8]) -> Result<u64, tokio_postgres::Error> {
    let sink = c.copy_in::<_, bytes::Bytes>(sql).await?;
    let mut sink = Box::pin(sink);
    for chunk in data.chunks(7) {
        sink.send(bytes::Bytes::copy_from_slice(chunk)).await?;
    }
    sink.as_mut().finish().await
}

/// What one server does with every COPY of the round trip: the source table's stream, its
/// rows, and the streams of the tables filled back from them.
async fn round_trip(c: &Client) -> (Vec<u8>, Vec<Vec<Option<Raw>>>, Vec<u8>, Vec<u8>) {
    fill(c).await;
    let out_sql = |t: &str| format!("COPY (SELECT * FROM {t} ORDER BY id) TO STDOUT (FORMAT binary)");
    let stream = copy_out(c, &out_sql("src")).await;
    let rows = binary_rows(c, &out_sql("src")).await;
    assert_eq!(rows.len(), 3);
    // The stream back in, in small messages: the same table again.
    c.batch_execute(&create("raw_back")).await.unwrap();
    let n = copy_in_raw(c, "COPY raw_back FROM STDIN (FORMAT binary)", &stream).await.expect("raw copy in");
    assert_eq!(n, 3);
    let raw_back = copy_out(c, &out_sql("raw_back")).await;
    // The rows through BinaryCopyInWriter, as parameters in binary form.
    c.batch_execute(&create("writer_back")).await.unwrap();
    let sink = c.copy_in("COPY writer_back FROM STDIN (FORMAT binary)").await.unwrap();
    let writer = BinaryCopyInWriter::new(sink, &types());
    let mut writer = Box::pin(writer);
    for row in &rows {
        let params: Vec<Option<RawParam>> = row.iter().map(|v| v.as_ref().map(|r| RawParam(r.0.clone()))).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        writer.as_mut().write(&refs).await.expect("write row");
    }
    assert_eq!(writer.as_mut().finish().await.expect("finish"), 3);
    let writer_back = copy_out(c, &out_sql("writer_back")).await;
    (stream, rows, raw_back, writer_back)
}

#[test]
fn every_type_round_trips_as_in_postgresql() {
    let o = Orbit::start(&["--shards", "2"]);
    let rt = pg_runtime();
    let (stream, rows, raw_back, writer_back) = rt.block_on(async { round_trip(&pg_connect(o.pg_port).await).await });
    assert!(stream.starts_with(b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0"), "{stream:?}");
    assert!(stream.ends_with(&[0xff, 0xff]));
    assert_eq!(raw_back, stream, "raw COPY FROM then COPY TO changes nothing");
    assert_eq!(writer_back, stream, "BinaryCopyInWriter then COPY TO changes nothing");
    // The all-NULL row, and a typed read of the first.
    assert!(rows[2][1..].iter().all(Option::is_none));
    assert_eq!(rows[0][1], Some(Raw((-32768i16).to_be_bytes().to_vec())));
    // Typed values through BinaryCopyInWriter, read back through BinaryCopyOutStream.
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE typed (id int8 PRIMARY KEY, name text, xs int4[], score float8, ok bool)")
            .await
            .unwrap();
        let types = [Type::INT8, Type::TEXT, Type::INT4_ARRAY, Type::FLOAT8, Type::BOOL];
        let sink = c.copy_in("COPY typed FROM STDIN (FORMAT binary)").await.unwrap();
        let mut w = Box::pin(BinaryCopyInWriter::new(sink, &types));
        for i in 0..2500i64 {
            let name = format!("n{i}");
            let xs = vec![i as i32, -1];
            let score = (i % 3 != 0).then_some(i as f64 / 4.0);
            w.as_mut().write(&[&i, &name, &xs, &score, &(i % 2 == 0)]).await.unwrap();
        }
        assert_eq!(w.as_mut().finish().await.unwrap(), 2500);
        let stream = c.copy_out("COPY (SELECT * FROM typed ORDER BY id) TO STDOUT (FORMAT binary)").await.unwrap();
        let mut rows = Box::pin(BinaryCopyOutStream::new(stream, &types));
        let mut i = 0i64;
        while let Some(row) = rows.next().await {
            let row = row.unwrap();
            assert_eq!(row.get::<i64>(0), i);
            assert_eq!(row.get::<&str>(1), format!("n{i}"));
            assert_eq!(row.get::<Vec<i32>>(2), vec![i as i32, -1]);
            assert_eq!(row.get::<Option<f64>>(3), (i % 3 != 0).then_some(i as f64 / 4.0));
            assert_eq!(row.get::<bool>(4), i % 2 == 0);
            i += 1;
        }
        assert_eq!(i, 2500);
        // COPY TO of a table (not a query) and of a column list.
        let all = copy_out(&c, "COPY typed (id, ok) TO STDOUT (FORMAT binary)").await;
        assert_eq!(all.len(), 19 + 2500 * (2 + 4 + 8 + 4 + 1) + 2);
        // Inside a block the COPY is part of the transaction.
        c.batch_execute("BEGIN").await.unwrap();
        copy_in_raw(&c, "COPY typed (id) FROM STDIN (FORMAT binary)", &one_int8(99_999)).await.unwrap();
        c.batch_execute("ROLLBACK").await.unwrap();
        let n: i64 = c.query_one("SELECT count(*) FROM typed", &[]).await.unwrap().get(0);
        assert_eq!(n, 2500);
    });
    match RealPostgres::start() {
        Ok(pg) => {
            let (p_stream, p_rows, ..) = rt.block_on(async { round_trip(&pg_connect(pg.port).await).await });
            for (i, (o_row, p_row)) in rows.iter().zip(&p_rows).enumerate() {
                for (k, (ov, pv)) in o_row.iter().zip(p_row).enumerate() {
                    let what = if k == 0 { "id" } else { COLUMNS[k - 1].0 };
                    assert_eq!(ov, pv, "row {i}, column {what}");
                }
            }
            assert_eq!(stream, p_stream);
        }
        Err(why) => println!("not compared with PostgreSQL 15: {why}"),
    }
}

/// A binary stream of one tuple: one int8.
fn one_int8(v: i64) -> Vec<u8> {
    let mut d = header();
    d.extend_from_slice(&1i16.to_be_bytes());
    d.extend_from_slice(&8i32.to_be_bytes());
    d.extend_from_slice(&v.to_be_bytes());
    d.extend_from_slice(&(-1i16).to_be_bytes());
    d
}

fn header() -> Vec<u8> {
    let mut d = b"PGCOPY\n\xff\r\n\0".to_vec();
    d.extend_from_slice(&[0; 8]);
    d
}

/// A tuple of `cb (a int4, b text)`.
fn tuple(a: i32, b: &[u8]) -> Vec<u8> {
    let mut d = 2i16.to_be_bytes().to_vec();
    d.extend_from_slice(&4i32.to_be_bytes());
    d.extend_from_slice(&a.to_be_bytes());
    d.extend_from_slice(&(b.len() as i32).to_be_bytes());
    d.extend_from_slice(b);
    d
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A case's expected error: SQLSTATE, message and CONTEXT.
type Expected = Option<(&'static str, &'static str, Option<&'static str>)>;

/// Broken streams and options: name, statement, data and PostgreSQL 15's answer (None: the
/// COPY succeeds).
fn error_cases() -> Vec<(&'static str, String, Vec<u8>, Expected)> {
    let sql = |s: &str| s.to_string();
    let into = sql("COPY cb FROM STDIN (FORMAT binary)");
    let sig = b"PGCOPY\n\xff\r\n\0".as_slice();
    let trailer = (-1i16).to_be_bytes();
    let bad = "22P04";
    vec![
        (
            "bad signature",
            into.clone(),
            cat(&[b"PGCOPX\n\xff\r\n\0", &[0; 8]]),
            Some((bad, "COPY file signature not recognized", None)),
        ),
        ("empty", into.clone(), vec![], Some((bad, "COPY file signature not recognized", None))),
        ("no flags", into.clone(), sig.to_vec(), Some((bad, "invalid COPY file header (missing flags)", None))),
        (
            "no extension length",
            into.clone(),
            cat(&[sig, &[0; 4]]),
            Some((bad, "invalid COPY file header (missing length)", None)),
        ),
        (
            "oids",
            into.clone(),
            cat(&[sig, &[0, 1, 0, 0], &[0; 4]]),
            Some((bad, "invalid COPY file header (WITH OIDS)", None)),
        ),
        (
            "critical flag",
            into.clone(),
            cat(&[sig, &[0, 2, 0, 0], &[0; 4]]),
            Some((bad, "unrecognized critical flags in COPY file header", None)),
        ),
        (
            "short extension",
            into.clone(),
            cat(&[sig, &[0; 4], &[0, 0, 0, 5], b"ab"]),
            Some((bad, "invalid COPY file header (wrong length)", None)),
        ),
        (
            "extension and flag bits skipped",
            into.clone(),
            cat(&[sig, &[0, 0, 0, 1], &[0, 0, 0, 3], b"xyz", &tuple(1, b"x"), &trailer]),
            None,
        ),
        ("no trailer", into.clone(), cat(&[&header(), &tuple(2, b"y")]), None),
        ("half a field count at the end", into.clone(), cat(&[&header(), &tuple(3, b"z"), &[0]]), None),
        (
            "field count",
            into.clone(),
            cat(&[&header(), &3i16.to_be_bytes()]),
            Some((bad, "row field count is 3, expected 2", Some("COPY cb, line 1"))),
        ),
        (
            "int4 of 5 bytes",
            into.clone(),
            cat(&[&header(), &2i16.to_be_bytes(), &5i32.to_be_bytes(), b"abcde", &(-1i32).to_be_bytes(), &trailer]),
            Some(("22P03", "incorrect binary data format", Some("COPY cb, line 1, column a"))),
        ),
        (
            "int4 of 3 bytes, then the end",
            into.clone(),
            cat(&[&header(), &2i16.to_be_bytes(), &3i32.to_be_bytes(), b"abc"]),
            Some(("08P01", "insufficient data left in message", Some("COPY cb, line 1, column a"))),
        ),
        (
            "field size",
            into.clone(),
            cat(&[&header(), &2i16.to_be_bytes(), &4i32.to_be_bytes(), &9i32.to_be_bytes(), &(-2i32).to_be_bytes()]),
            Some((bad, "invalid field size", Some("COPY cb, line 1, column b"))),
        ),
        (
            "bad UTF-8",
            into.clone(),
            cat(&[&header(), &tuple(9, b"\xff\xfe"), &trailer]),
            Some(("22021", "invalid byte sequence for encoding \"UTF8\": 0xff", Some("COPY cb, line 1, column b"))),
        ),
        (
            "data after the trailer",
            into.clone(),
            cat(&[&header(), &tuple(4, b"w"), &trailer, b"zz"]),
            Some((bad, "received copy data after EOF marker", Some("COPY cb, line 2"))),
        ),
        (
            "EOF in a value",
            into.clone(),
            cat(&[&header(), &2i16.to_be_bytes(), &4i32.to_be_bytes(), &[0, 0]]),
            Some((bad, "unexpected EOF in COPY data", Some("COPY cb, line 1, column a"))),
        ),
        (
            "EOF in a length",
            into.clone(),
            cat(&[&header(), &2i16.to_be_bytes(), &4i32.to_be_bytes(), &9i32.to_be_bytes(), &[0, 0]]),
            Some((bad, "unexpected EOF in COPY data", Some("COPY cb, line 1, column b"))),
        ),
        (
            "duplicate key",
            into.clone(),
            cat(&[&header(), &tuple(1, b"dup"), &trailer]),
            Some(("23505", "duplicate key value violates unique constraint \"cb_pkey\"", Some("COPY cb, line 1"))),
        ),
        (
            "NULL key",
            into.clone(),
            cat(&[&header(), &2i16.to_be_bytes(), &(-1i32).to_be_bytes(), &(-1i32).to_be_bytes(), &trailer]),
            Some((
                "23502",
                "null value in column \"a\" of relation \"cb\" violates not-null constraint",
                Some("COPY cb, line 1"),
            )),
        ),
        (
            "delimiter",
            sql("COPY cb FROM STDIN (FORMAT binary, DELIMITER ',')"),
            vec![],
            Some(("42601", "cannot specify DELIMITER in BINARY mode", None)),
        ),
        (
            "null",
            sql("COPY cb FROM STDIN (FORMAT binary, NULL 'x')"),
            vec![],
            Some(("42601", "cannot specify NULL in BINARY mode", None)),
        ),
        (
            "header",
            sql("COPY cb TO STDOUT (FORMAT binary, HEADER)"),
            vec![],
            Some(("0A000", "cannot specify HEADER in BINARY mode", None)),
        ),
        (
            "quote",
            sql("COPY cb FROM STDIN (FORMAT binary, QUOTE '\"')"),
            vec![],
            Some(("0A000", "COPY quote available only in CSV mode", None)),
        ),
    ]
}

/// Runs the error cases on one server: what each gave, then the table's rows.
async fn errors_on(c: &Client) -> (Vec<Option<(String, String, Option<String>)>>, Vec<(i32, String)>) {
    c.batch_execute("CREATE TABLE cb (a int4 PRIMARY KEY, b text)").await.unwrap();
    let mut got = Vec::new();
    for (_, sql, data, _) in error_cases() {
        // Options are checked before any data moves: over the simple protocol (tokio-postgres's
        // copy_in gets out of step when PostgreSQL refuses the COPY at Execute).
        let r = if sql.ends_with("(FORMAT binary)") {
            copy_in_raw(c, &sql, &data).await
        } else {
            c.batch_execute(&sql).await.map(|_| 0)
        };
        got.push(r.err().map(|e| match e.as_db_error() {
            Some(db) => (db.code().code().to_string(), db.message().to_string(), db.where_().map(str::to_string)),
            None => ("client".to_string(), e.to_string(), None),
        }));
    }
    let rows = c.query("SELECT a, b FROM cb ORDER BY a", &[]).await.unwrap();
    (got, rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

fn check_errors(server: &str, got: &[Option<(String, String, Option<String>)>], rows: &[(i32, String)]) {
    for ((name, _, _, want), got) in error_cases().iter().zip(got) {
        let want = want.map(|(c, m, ctx)| (c.to_string(), m.to_string(), ctx.map(str::to_string)));
        assert_eq!(got, &want, "{server}: {name}");
    }
    let want = [(1, "x"), (2, "y"), (3, "z")].map(|(a, b)| (a, b.to_string()));
    assert_eq!(rows, want, "{server}: rows");
}

#[test]
fn broken_streams_fail_as_in_postgresql() {
    let o = Orbit::start(&["--shards", "2"]);
    let rt = pg_runtime();
    let (got, rows) = rt.block_on(async { errors_on(&pg_connect(o.pg_port).await).await });
    check_errors("orbit", &got, &rows);
    match RealPostgres::start() {
        Ok(pg) => {
            let (got, rows) = rt.block_on(async { errors_on(&pg_connect(pg.port).await).await });
            check_errors("postgresql", &got, &rows);
        }
        Err(why) => println!("expectations not checked on PostgreSQL 15: {why}"),
    }
}

fn psycopg(port: u16) -> String {
    let script = orbit_tests::workspace_root().join("tests/python/psycopg_copy_binary.py");
    let out = Command::new("python3").arg(script).arg(port.to_string()).output().expect("run python3");
    assert!(
        out.status.success(),
        "psycopg binary COPY failed on port {port}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn psycopg_copy_writes_and_reads_rows_as_in_postgresql() {
    let o = Orbit::start(&["--shards", "2"]);
    let orbit = psycopg(o.pg_port);
    match RealPostgres::start() {
        Ok(pg) => assert_eq!(orbit, psycopg(pg.port), "the COPY TO streams differ"),
        Err(why) => println!("not compared with PostgreSQL 15: {why}"),
    }
}
