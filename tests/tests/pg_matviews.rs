//! Materialized views are durable: after a SIGKILL (`--fsync always`) one made WITH NO DATA is
//! still unpopulated (55000), a refreshed one has its rows (read through its index too) and
//! its query, from the log alone and from a snapshot; writes other than REFRESH stay refused.
//! Real server (`--shards 2`), tokio-postgres.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use tokio_postgres::Client;

async fn code_of(c: &Client, sql: &str) -> String {
    let e = c.batch_execute(sql).await.expect_err(sql);
    e.code().map(|c| c.code().to_string()).unwrap_or_default()
}

async fn check(c: &Client, refreshed: bool) {
    if refreshed {
        let n: i64 = c.query_one("SELECT count(*) FROM totals", &[]).await.unwrap().get(0);
        assert_eq!(n, 10);
        let s: i64 = c.query_one("SELECT s FROM totals WHERE g = 3", &[]).await.unwrap().get(0);
        assert_eq!(s, (1..=100).filter(|i| i % 10 == 3).sum::<i64>());
    } else {
        assert_eq!(code_of(c, "SELECT * FROM totals").await, "55000");
    }
    assert_eq!(code_of(c, "INSERT INTO totals VALUES (99, 1)").await, "42809");
    let kind: String =
        c.query_one("SELECT relkind::text FROM pg_class WHERE relname = 'totals'", &[]).await.unwrap().get(0);
    assert_eq!(kind, "m");
    let def: String =
        c.query_one("SELECT definition FROM pg_matviews WHERE matviewname = 'totals'", &[]).await.unwrap().get(0);
    assert!(def.contains("GROUP BY"), "{def}");
}

#[test]
fn materialized_views_survive_sigkill_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE ev (id int PRIMARY KEY, g int);
             INSERT INTO ev SELECT i, i % 10 FROM generate_series(1, 100) i;
             CREATE MATERIALIZED VIEW totals AS SELECT g, sum(id)::bigint AS s FROM ev GROUP BY g WITH NO DATA;
             CREATE UNIQUE INDEX totals_g ON totals (g);",
        )
        .await
        .unwrap();
        check(&c, false).await;
    });
    o.kill9();
    let mut o = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        check(&c, false).await;
        c.batch_execute("REFRESH MATERIALIZED VIEW totals").await.unwrap();
        check(&c, true).await;
    });
    o.kill9();
    let mut o = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        check(&c, true).await;
    });
    let _: String = redis::cmd("SAVE").query(&mut o.client()).unwrap();
    o.kill9();
    let o = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        check(&c, true).await;
        c.batch_execute("REFRESH MATERIALIZED VIEW CONCURRENTLY totals; DROP MATERIALIZED VIEW totals; DROP TABLE ev")
            .await
            .unwrap();
    });
}
