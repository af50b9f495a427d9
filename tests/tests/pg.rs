//! The PostgreSQL frontend end to end: the real binary on its --pg-port, with real clients
//! (tokio-postgres over the extended protocol with binary formats, psql over the simple
//! protocol, a psycopg program). The comparison with a real PostgreSQL 15, statement by
//! statement, is in pg_differential.rs.

use orbit_tests::Orbit;
use std::process::Command;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

async fn connect(port: u16, extra: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, conn) =
        tokio_postgres::connect(&format!("host=127.0.0.1 port={port} user=postgres dbname=postgres {extra}"), NoTls)
            .await?;
    tokio::spawn(conn);
    Ok(client)
}

fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

#[test]
fn tokio_postgres_extended_protocol_binary_params_and_errors() {
    let o = Orbit::start(&["--shards", "2"]);
    rt().block_on(async {
        let c = connect(o.pg_port, "").await.expect("connect");
        c.batch_execute(
            "CREATE TABLE kv (k int8 PRIMARY KEY, v text, f float4, b bool NOT NULL DEFAULT false, raw bytea, s int2)",
        )
        .await
        .unwrap();
        // Typed parameters in binary, many rows spread over both shards.
        let ins = c.prepare("INSERT INTO kv (k, v, f, b, raw, s) VALUES ($1, $2, $3, $4, $5, $6)").await.unwrap();
        assert_eq!(ins.params().len(), 6);
        for k in 0..50i64 {
            let raw: Vec<u8> = vec![k as u8, 0xff];
            let n = c
                .execute(&ins, &[&k, &format!("v{k}"), &(k as f32 / 2.0), &(k % 2 == 0), &raw, &(k as i16)])
                .await
                .unwrap();
            assert_eq!(n, 1);
        }
        let row = c.query_one("SELECT v, f, b, raw, s FROM kv WHERE k = $1", &[&7i64]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), "v7");
        assert_eq!(row.get::<_, f32>(1), 3.5);
        assert!(!row.get::<_, bool>(2));
        assert_eq!(row.get::<_, Vec<u8>>(3), vec![7u8, 0xff]);
        assert_eq!(row.get::<_, i16>(4), 7);
        let rows = c.query("SELECT k FROM kv WHERE k >= $1 ORDER BY k DESC LIMIT $2", &[&45i64, &3i64]).await.unwrap();
        let ks: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        assert_eq!(ks, vec![49, 48, 47]);
        let n: i64 = c.query_one("SELECT count(*) FROM kv", &[]).await.unwrap().get(0);
        assert_eq!(n, 50);
        let updated = c.query("UPDATE kv SET v = upper(v) WHERE k < $1 RETURNING k, v", &[&3i64]).await.unwrap();
        let mut got: Vec<(i64, String)> = updated.iter().map(|r| (r.get(0), r.get(1))).collect();
        got.sort();
        assert_eq!(got, vec![(0, "V0".into()), (1, "V1".into()), (2, "V2".into())]);
        // A primary-key change moves the row to the shard its new key hashes to.
        assert_eq!(c.execute("UPDATE kv SET k = 1000 WHERE k = 10", &[]).await.unwrap(), 1);
        let v: String = c.query_one("SELECT v FROM kv WHERE k = 1000", &[]).await.unwrap().get(0);
        assert_eq!(v, "v10");
        assert_eq!(c.execute("DELETE FROM kv WHERE b", &[]).await.unwrap(), 25);
        // Text parameters (types inferred from the column) through the simple protocol's cousin.
        let msgs = c.simple_query("SELECT k, v FROM kv WHERE k = 1; SELECT 1 + 1 AS two").await.unwrap();
        let rows: Vec<Vec<Option<String>>> = msgs
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(String::from)).collect()),
                _ => None,
            })
            .collect();
        assert_eq!(rows, vec![vec![Some("1".into()), Some("V1".into())], vec![Some("2".into())]]);

        // Errors carry PostgreSQL's SQLSTATE, message and detail.
        let e = c.execute("INSERT INTO kv (k, v) VALUES (1, 'x')", &[]).await.unwrap_err();
        assert_eq!(e.code(), Some(&SqlState::UNIQUE_VIOLATION));
        let db = e.as_db_error().unwrap();
        assert_eq!(db.message(), "duplicate key value violates unique constraint \"kv_pkey\"");
        assert_eq!(db.detail(), Some("Key (k)=(1) already exists."));
        let e = c.query("SELECT * FROM nope", &[]).await.unwrap_err();
        assert_eq!(code(&e), "42P01");
        assert_eq!(e.as_db_error().unwrap().message(), "relation \"nope\" does not exist");
        let e = c.query("SELECT nope FROM kv", &[]).await.unwrap_err();
        assert_eq!(code(&e), "42703");
        let e = c.query("SELEKT 1", &[]).await.unwrap_err();
        assert_eq!(code(&e), "42601");
        assert_eq!(e.as_db_error().unwrap().message(), "syntax error at or near \"SELEKT\"");
        let e = c.query("SELECT k FROM kv WHERE k = 'abc'", &[]).await.unwrap_err();
        assert_eq!(code(&e), "22P02");
        assert_eq!(e.as_db_error().unwrap().message(), "invalid input syntax for type bigint: \"abc\"");
        let e = c.query("SELECT 1 / 0", &[]).await.unwrap_err();
        assert_eq!(code(&e), "22012");
        let e = c.execute("INSERT INTO kv (k) VALUES (NULL)", &[]).await.unwrap_err();
        assert_eq!(code(&e), "23502");
        let e = c.execute("CREATE TABLE kv (a int PRIMARY KEY)", &[]).await.unwrap_err();
        assert_eq!(code(&e), "42P07");
        let e = c.execute("INSERT INTO kv (k, v) VALUES ('1'::text, 'x')", &[]).await.unwrap_err();
        assert_eq!(code(&e), "42804");
        // The table is untouched by the failed statements and the connection still serves.
        let n: i64 = c.query_one("SELECT count(*) FROM kv", &[]).await.unwrap().get(0);
        assert_eq!(n, 25);
    });
}

#[test]
fn transaction_block_status_and_aborted_transactions() {
    let o = Orbit::start(&["--shards", "2"]);
    rt().block_on(async {
        let mut c = connect(o.pg_port, "").await.unwrap();
        c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v int)").await.unwrap();
        let tx = c.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (1, 1)", &[]).await.unwrap();
        let e = tx.execute("INSERT INTO t VALUES (1, 2)", &[]).await.unwrap_err();
        assert_eq!(code(&e), "23505");
        // Until ROLLBACK every statement is refused with 25P02.
        let e = tx.query("SELECT 1", &[]).await.unwrap_err();
        assert_eq!(code(&e), "25P02");
        assert_eq!(
            e.as_db_error().unwrap().message(),
            "current transaction is aborted, commands ignored until end of transaction block"
        );
        tx.rollback().await.unwrap();
        let n: i64 = c.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
        assert_eq!(n, 0, "ROLLBACK undoes the insert");
        // COMMIT of a failed block answers ROLLBACK (psql shows the tag).
        let out = Command::new("psql")
            .args(["-X", "-h", "127.0.0.1", "-p", &o.pg_port.to_string(), "-U", "postgres"])
            .args(["-c", "BEGIN; SELECT 1/0;", "-c", "SELECT 1", "-c", "COMMIT"])
            .output()
            .expect("psql");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("division by zero"), "{stderr}");
        assert!(stderr.contains("current transaction is aborted"), "{stderr}");
        assert!(stdout.trim_end().ends_with("ROLLBACK"), "{stdout}");
    });
}

fn psql(port: u16, sql: &str) -> (String, String) {
    let out = Command::new("psql")
        .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres", "-c", sql])
        .output()
        .expect("run psql");
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn psql_simple_protocol() {
    let o = Orbit::start(&["--shards", "2"]);
    let p = o.pg_port;
    let (out, err) = psql(p, "CREATE TABLE items (sku varchar(8), n int, price float8, PRIMARY KEY (sku, n))");
    assert_eq!(out.trim(), "CREATE TABLE", "{err}");
    let (out, err) = psql(p, "INSERT INTO items VALUES ('a', 1, 0.1), ('a', 2, 1e20), ('b', 1, NULL)");
    assert_eq!(out.trim(), "INSERT 0 3", "{err}");
    let (out, _) = psql(p, "SELECT sku, n, price FROM items ORDER BY price DESC NULLS LAST, sku");
    assert_eq!(out, "a|2|1e+20\na|1|0.1\nb|1|\n");
    let (out, _) = psql(p, "SELECT sku || '-' || n FROM items WHERE sku = 'a' AND n = 2");
    assert_eq!(out, "a-2\n");
    let (out, _) = psql(p, "SELECT count(*), sum(n), min(sku), max(price) FROM items WHERE price IS NOT NULL");
    assert_eq!(out, "2|3|a|1e+20\n");
    let (out, _) = psql(p, "SELECT n FROM items WHERE sku IN ('b', 'c') OR price BETWEEN 0 AND 1 ORDER BY 1");
    assert_eq!(out, "1\n1\n");
    let (_, err) = psql(p, "SELECT * FROM items WHERE");
    assert!(err.contains("ERROR:  syntax error at end of input"), "{err}");
    let (_, err) = psql(p, "SELECT price FROM items WHERE sku = 1");
    assert!(err.contains("operator does not exist: character varying = integer"), "{err}");
    // Several statements in one Query: the error stops the rest.
    let (out, err) = psql(p, "SELECT 'first'; SELECT 1/0; SELECT 'never'");
    assert_eq!(out.trim(), "first");
    assert!(err.contains("division by zero"), "{err}");
    let (out, _) = psql(p, "DELETE FROM items WHERE sku = 'b' RETURNING n");
    assert_eq!(out.trim(), "1\nDELETE 1");
    let (out, _) = psql(p, "SELECT count(*) FROM items");
    assert_eq!(out.trim(), "2");
    // SHOW: the parameters reported at start-up (compared with PostgreSQL in pg_differential).
    let (out, _) = psql(p, "SHOW server_version");
    assert_eq!(out.trim(), "15.0");
    let (out, _) = psql(p, "SHOW ALL");
    assert!(out.lines().any(|l| l.starts_with("orbit_version|")) && out.contains("TimeZone|UTC|"), "{out}");
    let (out, err) = psql(p, "DROP TABLE IF EXISTS items, nothere");
    assert_eq!(out.trim(), "DROP TABLE");
    assert!(err.contains("NOTICE:  table \"nothere\" does not exist, skipping"), "{err}");
}

#[test]
fn an_ordinary_psycopg_program_works_unchanged() {
    let o = Orbit::start(&["--shards", "2"]);
    let script = orbit_tests::workspace_root().join("tests/python/psycopg_app.py");
    let out = Command::new("python3").arg(script).arg(o.pg_port.to_string()).output().expect("run python3");
    assert!(
        out.status.success(),
        "psycopg app failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn scram_and_cleartext_passwords() {
    for method in ["scram-sha-256", "password"] {
        let o = Orbit::start(&["--shards", "1", "--pg-password", "s3cret", "--pg-auth", method]);
        rt().block_on(async {
            let c = connect(o.pg_port, "password=s3cret").await.unwrap_or_else(|e| panic!("{method}: {e}"));
            let v: i32 = c.query_one("SELECT 40 + 2", &[]).await.unwrap().get(0);
            assert_eq!(v, 42);
            let Err(e) = connect(o.pg_port, "password=wrong").await else { panic!("wrong password accepted") };
            assert_eq!(code(&e), "28P01", "{method}");
            assert_eq!(e.as_db_error().unwrap().message(), "password authentication failed for user \"postgres\"");
        });
        let out = Command::new("psql")
            .env("PGPASSWORD", "s3cret")
            .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-p", &o.pg_port.to_string(), "-U", "postgres"])
            .args(["-c", "SELECT 'in'"])
            .output()
            .expect("psql");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "in", "{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn oversized_and_malformed_messages_close_only_that_connection() {
    use std::io::{Read, Write};
    let o = Orbit::start(&["--shards", "1"]);
    let startup = |s: &mut std::net::TcpStream| {
        let mut body = Vec::new();
        body.extend_from_slice(&196608i32.to_be_bytes());
        body.extend_from_slice(b"user\0postgres\0\0");
        let mut pkt = ((body.len() + 4) as i32).to_be_bytes().to_vec();
        pkt.extend_from_slice(&body);
        s.write_all(&pkt).unwrap();
        let mut buf = vec![0u8; 4096];
        let mut got = Vec::new();
        while !got.ends_with(b"Z\0\0\0\x05I") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "closed during start-up");
            got.extend_from_slice(&buf[..n]);
        }
    };
    // A Query message claiming 2 GB: FATAL 08P01, then the server closes.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", o.pg_port)).unwrap();
    startup(&mut s);
    s.write_all(b"Q\x7f\xff\xff\xff").unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    let text = String::from_utf8_lossy(&got);
    assert!(got.first() == Some(&b'E') && text.contains("08P01") && text.contains("invalid message length"), "{text}");
    // A Bind whose body is cut short.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", o.pg_port)).unwrap();
    startup(&mut s);
    s.write_all(b"B\x00\x00\x00\x06\x00\x00").unwrap();
    let mut got = Vec::new();
    s.read_to_end(&mut got).unwrap();
    assert!(String::from_utf8_lossy(&got).contains("08P01"));
    // The server still serves others.
    let (out, err) = psql(o.pg_port, "SELECT 'still here'");
    assert_eq!(out.trim(), "still here", "{err}");
}

/// Statements nested deeper than the stack allows get PostgreSQL's 54001 (they crashed the
/// server with a stack overflow: a chain of operators parses into a tree as deep as it is
/// long), and the connection and the server go on.
#[test]
fn statements_nested_too_deeply_get_54001_and_the_server_keeps_serving() {
    let o = Orbit::start(&["--shards", "2"]);
    rt().block_on(async {
        let c = connect(o.pg_port, "").await.unwrap();
        // 200,000 terms: refused after parsing, before anything walks the tree.
        let long = format!("SELECT {}", vec!["1"; 200_000].join("+"));
        let e = c.simple_query(&long).await.unwrap_err();
        assert_eq!(code(&e), "54001");
        assert_eq!(e.as_db_error().unwrap().message(), "stack depth limit exceeded");
        // 990 terms, within the parse-time bound: an unoptimized build's binder refuses them at
        // its stack check, a release build's answers.
        match c.simple_query(&format!("SELECT {}", vec!["1"; 990].join("+"))).await {
            Err(e) => assert_eq!(code(&e), "54001"),
            Ok(m) => {
                let first = m.iter().find_map(|m| match m {
                    SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                    _ => None,
                });
                assert_eq!(first.as_deref(), Some("990"));
            }
        }
        // The same connection goes on; so does a statement of ordinary depth.
        let n: i64 = c.query_one(&format!("SELECT {}", vec!["1::int8"; 100].join("+")), &[]).await.unwrap().get(0);
        assert_eq!(n, 100);
        c.batch_execute(
            "CREATE TABLE deep (id int PRIMARY KEY, v int); \
                         INSERT INTO deep SELECT g, g FROM generate_series(1, 500) g",
        )
        .await
        .unwrap();
        let or_chain: Vec<String> = (0..150).map(|i| format!("v = {}", i * 2)).collect();
        let n: i64 = c
            .query_one(&format!("SELECT count(*) FROM deep WHERE {}", or_chain.join(" OR ")), &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 149);
        // with.sql's nested WITH queries (seven levels of CTEs read through UNION).
        let nested = "WITH RECURSIVE outermost(x) AS (SELECT 1 UNION (WITH innermost1 AS (SELECT 2 \
            UNION (WITH innermost2 AS (SELECT 3 UNION (WITH innermost3 AS (SELECT 4 \
            UNION (WITH innermost4 AS (SELECT 5 UNION (WITH innermost5 AS (SELECT 6 \
            UNION (WITH innermost6 AS (SELECT 7) SELECT * FROM innermost6)) \
            SELECT * FROM innermost5)) SELECT * FROM innermost4)) SELECT * FROM innermost3)) \
            SELECT * FROM innermost2)) SELECT * FROM outermost UNION SELECT * FROM innermost1)) \
            SELECT * FROM outermost ORDER BY 1";
        let rows: Vec<i32> = c.query(nested, &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(rows, (1..=7).collect::<Vec<i32>>());
    });
    let (out, err) = psql(o.pg_port, "SELECT 'still here'");
    assert_eq!(out.trim(), "still here", "{err}");
}

#[test]
fn explain_shows_the_plan_and_the_shards() {
    let o = Orbit::start(&["--shards", "2"]);
    rt().block_on(async {
        let c = connect(o.pg_port, "").await.unwrap();
        c.batch_execute("CREATE TABLE ex (id int PRIMARY KEY, v int, g text)").await.unwrap();
        let plan = |rows: Vec<tokio_postgres::Row>| rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>();
        let point = plan(c.query("EXPLAIN (COSTS OFF) SELECT * FROM ex WHERE id = $1", &[&5i32]).await.unwrap());
        assert_eq!(point[0], "Index Scan using ex_pkey on ex");
        assert!(point.iter().any(|l| l.contains("Shard: the one the key hashes to (of 2)")), "{point:?}");
        let grouped = plan(
            c.query("EXPLAIN (COSTS OFF) SELECT g, count(*) FROM ex WHERE v > 3 GROUP BY g ORDER BY g", &[])
                .await
                .unwrap(),
        );
        let want = [
            "Sort",
            "  Sort Key: g",
            "  ->  Finalize HashAggregate",
            "        Group Key: g",
            "        ->  Gather (shards: 2, in parallel)",
            "              ->  Partial HashAggregate",
            "                    Group Key: g",
            "                    ->  Seq Scan on ex",
            "                          Filter: (v > 3)",
        ];
        assert_eq!(grouped, want);
        // EXPLAIN ANALYZE runs the statement.
        let ran = plan(
            c.query("EXPLAIN (ANALYZE, COSTS OFF) INSERT INTO ex VALUES (1, 2, 'a'), (2, 3, 'b')", &[]).await.unwrap(),
        );
        assert_eq!(ran[0], "Insert on ex  (actual rows=2)");
        assert!(ran.last().unwrap().starts_with("Execution Time: "));
        let n: i64 = c.query_one("SELECT count(*) FROM ex", &[]).await.unwrap().get(0);
        assert_eq!(n, 2);
        let e = c.query("EXPLAIN (FORMAT XML) SELECT 1", &[]).await.unwrap_err();
        assert_eq!(code(&e), "0A000");
    });
}

#[test]
fn psql_lists_relations() {
    let o = Orbit::start(&["--shards", "2"]);
    let p = o.pg_port;
    let (out, err) =
        psql(p, "CREATE TABLE items (sku text PRIMARY KEY, n int); CREATE TABLE log (id serial, msg text)");
    assert!(err.is_empty(), "{out}{err}");
    let (out, err) = psql(p, "\\dt");
    assert_eq!(out, "public|items|table|postgres\npublic|log|table|postgres\n", "{err}");
    let (out, err) = psql(p, "\\ds");
    assert_eq!(out, "public|log_id_seq|sequence|postgres\n", "{err}");
    let (out, err) = psql(p, "\\di");
    assert_eq!(out, "public|items_pkey|index|postgres|items\n", "{err}");
    let (out, err) = psql(p, "\\dt l*");
    assert_eq!(out, "public|log|table|postgres\n", "{err}");
}

/// A value's binary form as it came (any type).
struct RawBytes(Vec<u8>);

impl<'a> tokio_postgres::types::FromSql<'a> for RawBytes {
    fn from_sql(
        _: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawBytes(raw.to_vec()))
    }

    fn accepts(_: &tokio_postgres::types::Type) -> bool {
        true
    }
}

#[test]
fn records_are_record_typed_on_the_wire_in_text_and_binary() {
    use tokio_postgres::types::Type;
    let o = Orbit::start(&["--shards", "2"]);
    rt().block_on(async {
        let c = connect(o.pg_port, "").await.expect("connect");
        c.batch_execute("CREATE TABLE rw (a int PRIMARY KEY, b text); INSERT INTO rw VALUES (7, 'x y')").await.unwrap();
        let q = c.prepare("SELECT ROW(1, 'a'::text), rw, ARRAY[ROW(2)] FROM rw").await.unwrap();
        let types: Vec<Type> = q.columns().iter().map(|c| c.type_().clone()).collect();
        assert_eq!(types, [Type::RECORD, Type::RECORD, Type::RECORD_ARRAY]);
        // record_send: the field count, then each field's type OID, length and bytes.
        let row = c.query_one(&q, &[]).await.unwrap();
        let mut want = 2i32.to_be_bytes().to_vec();
        want.extend(23u32.to_be_bytes().iter().chain(&4i32.to_be_bytes()).chain(&1i32.to_be_bytes()));
        want.extend(25u32.to_be_bytes().iter().chain(&1i32.to_be_bytes()).chain(b"a"));
        assert_eq!(row.get::<_, RawBytes>(0).0, want);
        let mut want = 2i32.to_be_bytes().to_vec();
        want.extend(23u32.to_be_bytes().iter().chain(&4i32.to_be_bytes()).chain(&7i32.to_be_bytes()));
        want.extend(25u32.to_be_bytes().iter().chain(&3i32.to_be_bytes()).chain(b"x y"));
        assert_eq!(row.get::<_, RawBytes>(1).0, want);
        let text: Vec<String> = match &c.simple_query("SELECT ROW(1, 'a b'), rw FROM rw").await.unwrap()[1] {
            SimpleQueryMessage::Row(r) => (0..2).map(|i| r.get(i).unwrap_or("NULL").to_string()).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(text, [r#"(1,"a b")"#, r#"(7,"x y")"#]);
    });
}
