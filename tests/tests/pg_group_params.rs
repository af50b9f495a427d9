//! Grouped queries over the extended protocol (which the .slt files, on the simple protocol,
//! do not reach): parameters in WHERE, GROUP BY, HAVING, aggregate arguments, ORDER BY inside
//! string_agg and LIMIT, results in binary. Each statement runs on PostgreSQL 15 and on Orbit
//! (--shards 2); the parameter types each server infers and the rows must be the same.

use orbit_tests::pgcmp::run;
use orbit_tests::{pg_connect, Orbit, RealPostgres};
use tokio_postgres::types::ToSql;

#[test]
fn grouped_queries_with_parameters_match_postgresql_15() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let orbit = Orbit::start(&["--shards", "2"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(async {
        let p = pg_connect(pg.port).await;
        let o = pg_connect(orbit.pg_port).await;
        let setup = "CREATE TABLE g (id int PRIMARY KEY, k text, n int, x float8); \
                     INSERT INTO g VALUES (1, 'a', 10, 0.5), (2, 'b', 20, NULL), (3, 'a', NULL, 2), \
                     (4, 'c', 5, 1), (5, 'b', 7, -1), (6, NULL, 1, 4), (7, 'a', 3, 0.25)";
        p.batch_execute(setup).await.expect("setup on PostgreSQL");
        o.batch_execute(setup).await.expect("setup on Orbit");
        let cases: Vec<(&str, Vec<&(dyn ToSql + Sync)>)> = vec![
            (
                "SELECT k, count(*), sum(n) FROM g WHERE id > $1 GROUP BY k HAVING count(*) >= $2 ORDER BY k",
                vec![&1i32, &2i64],
            ),
            ("SELECT n / $1 AS band, count(*) FROM g GROUP BY n / $1 ORDER BY band", vec![&4i32]),
            ("SELECT k, string_agg(id::text, $1 ORDER BY id DESC) FROM g GROUP BY k ORDER BY k", vec![&"+"]),
            ("SELECT k, sum(x) FROM g GROUP BY k ORDER BY 2 DESC NULLS LAST LIMIT $1", vec![&2i64]),
            ("SELECT DISTINCT k FROM g WHERE n > $1 ORDER BY k", vec![&4i32]),
            ("SELECT count(DISTINCT k), bool_or(n > $1) FROM g", vec![&15i32]),
            (
                "SELECT CASE WHEN n > $1 THEN 'big' ELSE 'small' END AS size, count(*) FROM g GROUP BY 1 ORDER BY 1",
                vec![&6i32],
            ),
            ("SELECT greatest(n, $1), lpad(k, $2, '*') FROM g WHERE id < 4 ORDER BY id", vec![&8i32, &3i32]),
        ];
        let mut failures = vec![];
        for (sql, params) in &cases {
            let want = run(&p, sql, params).await;
            let got = run(&o, sql, params).await;
            assert!(want.is_ok(), "{sql}: PostgreSQL failed: {want:?}");
            if want != got {
                failures.push(format!("{sql}\n    postgres: {want:?}\n    orbit:    {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
    });
}
