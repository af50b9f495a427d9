//! One statement's memory is bounded (`orbit.query_memory_limit`, issue 6): with the limit set
//! low, a large sort, hash join, GROUP BY, window, DISTINCT and recursive CTE each fail with
//! 53200 "out of memory" (the DETAIL names the operator) and the session and other sessions go
//! on; under the default limit the same queries succeed. `statement_timeout` and a
//! CancelRequest stop a long sort and a long window query with 57014 (queries that would run far
//! longer than the timeout; only the error is checked, no timing).

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use std::time::Duration;
use tokio_postgres::{Client, NoTls};

fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

async fn one_i64(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// Each query, what its DETAIL names, and how many rows it returns under the default limit.
const HEAVY: &[(&str, &str, i64)] = &[
    // Each output row is 50 times its input row: the sort's rows are past the bound.
    ("SELECT repeat(s, 50) AS w FROM big ORDER BY w", "in sort", 20_000),
    // 20 matches per row: 400k joined rows.
    ("SELECT count(*) FROM big a JOIN big b ON a.v = b.v", "in join", 1),
    // The merged string_agg states grow with their inputs.
    ("SELECT v, string_agg(repeat(s, 100), ',') FROM big GROUP BY v", "in GROUP BY", 1_000),
    // Each value aggregates 200 rows' text.
    (
        "SELECT string_agg(s, ',') OVER (ORDER BY id ROWS BETWEEN 200 PRECEDING AND CURRENT ROW) FROM big",
        "in window",
        20_000,
    ),
    ("SELECT DISTINCT repeat(s, 50) FROM big", "", 20_000),
    (
        "WITH RECURSIVE r(n, s) AS (SELECT 1, repeat('x', 1000) UNION ALL SELECT n + 1, s FROM r WHERE n < 20000) \
         SELECT n FROM r",
        // The result or the step's rows, whichever asks last.
        "",
        20_000,
    ),
];

async fn load(c: &Client) {
    c.batch_execute(
        "CREATE TABLE big (id int PRIMARY KEY, v int, s text);
         INSERT INTO big SELECT g, g % 1000, 'row ' || g FROM generate_series(1, 20000) g",
    )
    .await
    .unwrap();
}

#[test]
fn statements_past_the_memory_limit_fail_with_53200_and_sessions_go_on() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        load(&a).await;
        let shown = a.query_one("SHOW orbit.query_memory_limit", &[]).await.unwrap();
        assert_eq!(shown.get::<_, String>(0), "4GB");
        for (sql, operator, rows) in HEAVY {
            // Under the default limit the query runs.
            let got = a.query(*sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            assert_eq!(got.len() as i64, *rows, "{sql}");
            a.batch_execute("SET orbit.query_memory_limit = '8MB'").await.unwrap();
            let e = a.query(*sql, &[]).await.expect_err(sql);
            assert_eq!(code(&e), "53200", "{sql}: {e}");
            let db = e.as_db_error().expect("a server error");
            assert_eq!(db.message(), "out of memory");
            let detail = db.detail().unwrap_or_default();
            assert!(detail.starts_with("Failed on request of size "), "{sql}: {detail}");
            assert!(detail.contains(operator), "{sql}: {detail}");
            // The session goes on, and so does another one, each under its own limit.
            assert_eq!(one_i64(&a, "SELECT count(*) FROM big").await, 20_000);
            assert_eq!(b.query(*sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).len() as i64, *rows);
            a.batch_execute("RESET orbit.query_memory_limit").await.unwrap();
        }
        // Inside a transaction block the statement fails as any other error would.
        a.batch_execute("SET orbit.query_memory_limit = '8MB'; BEGIN").await.unwrap();
        let e = a.query(HEAVY[0].0, &[]).await.unwrap_err();
        assert_eq!(code(&e), "53200");
        assert_eq!(code(&a.batch_execute("SELECT 1").await.unwrap_err()), "25P02");
        a.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(one_i64(&a, "SELECT count(*) FROM big").await, 20_000);
        // Bad values are refused as PostgreSQL refuses them for work_mem.
        for bad in ["'8 parsecs'", "'1gb'", "'10kB'", "'-1'"] {
            let e = a.batch_execute(&format!("SET orbit.query_memory_limit = {bad}")).await.unwrap_err();
            assert_eq!(code(&e), "22023", "{bad}");
        }
    });
}

/// A sort of three million rows and a window whose frames are O(rows^2): far longer than the
/// timeout or the time a cancel takes to arrive.
const LONG: &[&str] = &[
    "SELECT g FROM generate_series(1, 3000000) g ORDER BY (g::int8 * 7919) % 1000003, g",
    "SELECT sum(g::float8) OVER (ORDER BY g ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) \
     FROM generate_series(1, 200000) g",
];

#[test]
fn statement_timeout_stops_a_long_sort_and_window() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        for sql in LONG {
            a.batch_execute("SET statement_timeout = '1s'").await.unwrap();
            let e = a.query(*sql, &[]).await.expect_err(sql);
            assert_eq!(code(&e), "57014", "{sql}: {e}");
            assert_eq!(e.as_db_error().unwrap().message(), "canceling statement due to statement timeout");
            a.batch_execute("RESET statement_timeout").await.unwrap();
            assert_eq!(one_i64(&a, "SELECT count(*) FROM generate_series(1, 10)").await, 10);
        }
    });
}

#[test]
fn cancel_request_stops_a_long_sort_and_window() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let other = pg_connect(o.pg_port).await;
        for sql in LONG {
            let token = a.cancel_token();
            let query = a.query(*sql, &[]);
            tokio::pin!(query);
            // A cancel that comes before the statement starts is ignored (as in PostgreSQL):
            // send one every 50 ms until the statement ends.
            let r = loop {
                tokio::select! {
                    r = &mut query => break r,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {
                        token.cancel_query(NoTls).await.unwrap();
                    }
                }
            };
            let e = r.expect_err(sql);
            assert_eq!(code(&e), "57014", "{sql}: {e}");
            assert_eq!(e.as_db_error().unwrap().message(), "canceling statement due to user request");
            assert_eq!(one_i64(&a, "SELECT count(*) FROM generate_series(1, 10)").await, 10);
            assert_eq!(one_i64(&other, "SELECT count(*) FROM generate_series(1, 10)").await, 10);
        }
    });
}
