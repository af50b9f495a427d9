//! Where an error points (ErrorResponse's position, psql's `LINE 1: ... ^`): statements that
//! fail while PostgreSQL analyses them — unknown columns, tables, functions, operators and
//! types, literals that are no value of their type, on one line and on several, generation
//! expressions' refusals — run on a real
//! PostgreSQL 15 and on Orbit; SQLSTATE, message and position must be the same
//! (`query/src/bind/error_position.rs`).

use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};

const SETUP: &str = "CREATE TABLE te (a int PRIMARY KEY, b text)";

const FAILING: &[&str] = &[
    "SELECT nosuch FROM te",
    "SELECT te.nosuch FROM te",
    "SELECT * FROM nosuch",
    "SELECT nofunc(1)",
    "SELECT lower(1)",
    "SELECT sum(b) FROM te",
    "SELECT 1 + 'abc'",
    "SELECT a + 'x' FROM te",
    "SELECT 'x'::int + 1",
    "SELECT '2020-13-45'::date",
    "SELECT * FROM te WHERE a = 'x'",
    "SELECT a FROM te WHERE a = '99999999999'",
    "SELECT coalesce(a, 'x') FROM te",
    "SELECT ARRAY[1, 'x']",
    "SELECT * FROM te WHERE a IN (1, 'x')",
    "SELECT CAST('x' AS nosuchtype)",
    "SELECT a::nosuchtype FROM te",
    "SELECT 1 FROM te WHERE a = ANY(SELECT b FROM te)",
    "SELECT now() + 1",
    "SELECT b FROM te WHERE b > 1",
    "SELECT generate_series(1, 'x')",
    "INSERT INTO te VALUES ('x', 'y')",
    "INSERT INTO te VALUES (1, 'y'), ('z', 'w')",
    "UPDATE te SET a = 'q'",
    "VALUES (1), ('x')",
    "SELECT * FROM te LIMIT 'x'",
    "SELECT 1\n  +\n   'y'",
    "SELECT a\nFROM te WHERE b >\n 1",
    // Generation expressions (bind/generated.rs): bound as written, so positions are the
    // statement's.
    "CREATE TABLE tg (a int, b int GENERATED ALWAYS AS (b) STORED)",
    "CREATE TABLE tg (a int, b int GENERATED ALWAYS AS (a) STORED,\n c int GENERATED ALWAYS AS (1 + b) STORED)",
    "CREATE TABLE tg (a int, b int GENERATED ALWAYS AS (1 + zz) STORED)",
    "CREATE TABLE tg (a int, b int GENERATED ALWAYS AS (1 + ctid::text::int) STORED)",
    "CREATE TABLE tg (a int, b date GENERATED ALWAYS AS ('x') STORED)",
];

/// (SQLSTATE, message, position) of a statement that fails.
async fn failure(c: &tokio_postgres::Client, sql: &str) -> (String, String, Option<String>) {
    let e = c.simple_query(sql).await.err().unwrap_or_else(|| panic!("{sql}: no error"));
    let d = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
    (d.code().code().to_string(), d.message().to_string(), d.position().map(|p| format!("{p:?}")))
}

#[test]
fn errors_point_where_postgresql_points() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let orbit = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let p = pg_connect(pg.port).await;
        let o = pg_connect(orbit.pg_port).await;
        p.batch_execute(SETUP).await.expect("setup on PostgreSQL");
        o.batch_execute(SETUP).await.expect("setup on Orbit");
        for sql in FAILING {
            let want = failure(&p, sql).await;
            assert!(want.2.is_some(), "{sql}: PostgreSQL gives no position: {want:?}");
            assert_eq!(failure(&o, sql).await, want, "{sql}");
        }
    });
}
