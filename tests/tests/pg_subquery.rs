//! Subqueries, derived tables, set operations and WITH over the extended protocol (which the
//! .slt files, on the simple protocol, do not reach): parameters inside subqueries (typed from
//! their context there), a prepared statement run again with other values (an InitPlan's value
//! is computed per execution, not kept in the plan), results in binary. Each statement runs on
//! PostgreSQL 15 and on Orbit (--shards 2); parameter types, column types and rows must match.

use orbit_tests::pgcmp::run;
use orbit_tests::{pg_connect, Orbit, RealPostgres};
use tokio_postgres::types::ToSql;

#[test]
fn subqueries_with_parameters_match_postgresql_15() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let orbit = Orbit::start(&["--shards", "2"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    rt.block_on(async {
        let p = pg_connect(pg.port).await;
        let o = pg_connect(orbit.pg_port).await;
        let setup = "CREATE TABLE s (id int PRIMARY KEY, k text, n int); \
                     INSERT INTO s VALUES (1, 'a', 10), (2, 'b', 20), (3, 'a', NULL), (4, 'c', 5), (5, 'b', 7); \
                     CREATE TABLE r (sid int, w int); \
                     INSERT INTO r VALUES (1, 3), (1, 4), (2, 9), (5, 1), (NULL, 2)";
        p.batch_execute(setup).await.expect("setup on PostgreSQL");
        o.batch_execute(setup).await.expect("setup on Orbit");
        let cases: Vec<(&str, Vec<&(dyn ToSql + Sync)>)> = vec![
            ("SELECT id FROM s WHERE id IN (SELECT sid FROM r WHERE w > $1) ORDER BY id", vec![&2i32]),
            ("SELECT id FROM s WHERE id IN (SELECT sid FROM r WHERE w > $1) ORDER BY id", vec![&5i32]),
            ("SELECT id, (SELECT max(w) FROM r WHERE r.sid = s.id AND w < $1) FROM s ORDER BY id", vec![&9i32]),
            ("SELECT id FROM s WHERE n > (SELECT avg(n) FROM s WHERE k <> $1) ORDER BY id", vec![&"b"]),
            ("SELECT id FROM s WHERE EXISTS (SELECT 1 FROM r WHERE r.sid = s.id AND r.w = $1)", vec![&9i32]),
            ("SELECT x FROM (SELECT id * $1 AS x FROM s) d WHERE x > $2 ORDER BY x", vec![&3i32, &6i32]),
            ("SELECT id FROM s WHERE id < $1 UNION SELECT sid FROM r WHERE w = $2 ORDER BY 1", vec![&2i32, &1i32]),
            ("WITH c AS (SELECT id, n FROM s WHERE n >= $1) SELECT count(*), sum(n) FROM c", vec![&7i32]),
            ("SELECT * FROM generate_series($1::int, $2::int) g ORDER BY g DESC", vec![&2i32, &4i32]),
            ("SELECT id FROM s WHERE n > ALL (SELECT w FROM r WHERE w < $1) ORDER BY id", vec![&5i32]),
            ("SELECT id FROM s WHERE id NOT IN (SELECT sid FROM r WHERE w > $1) ORDER BY id", vec![&0i32]),
            ("SELECT (SELECT k FROM s WHERE id = $1), $2::text", vec![&4i32, &"z"]),
            ("VALUES ($1::int, 'p'), (2, $2) ORDER BY 1", vec![&7i32, &"q"]),
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
        // One prepared statement, executed with different values: the subquery runs each time.
        let sql = "SELECT count(*) FROM s WHERE n > (SELECT min(w) FROM r WHERE w > $1)";
        let (ps, os) = (p.prepare(sql).await.expect("prepare"), o.prepare(sql).await.expect("prepare"));
        for v in [0i32, 3, 8, 100] {
            let want: i64 = p.query_one(&ps, &[&v]).await.expect("PostgreSQL").get(0);
            let got: i64 = o.query_one(&os, &[&v]).await.expect("Orbit").get(0);
            if want != got {
                failures.push(format!("{sql} with {v}: postgres {want}, orbit {got}"));
            }
        }
        // UPDATE and DELETE with a parameter inside the subquery.
        for c in [&p, &o] {
            c.execute("UPDATE s SET n = 0 WHERE id IN (SELECT sid FROM r WHERE w = $1)", &[&9i32])
                .await
                .expect("update");
            c.execute("DELETE FROM s WHERE n < (SELECT min(w) FROM r WHERE w > $1)", &[&2i32]).await.expect("delete");
        }
        let want = run(&p, "SELECT id, n FROM s ORDER BY id", &[]).await;
        let got = run(&o, "SELECT id, n FROM s ORDER BY id", &[]).await;
        if want != got {
            failures.push(format!("after UPDATE/DELETE\n    postgres: {want:?}\n    orbit:    {got:?}"));
        }
        assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
    });
}
