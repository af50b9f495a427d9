//! `UPDATE/DELETE ... WHERE CURRENT OF` through the extended protocol (Parse, Bind, Describe,
//! Execute with parameters), as drivers send it: a statement prepared before the cursor exists
//! and executed as the cursor moves, RETURNING's described columns, the errors of a cursor
//! that is gone. The same steps run on Orbit (1 and 2 shards) and, where installed, on a real
//! PostgreSQL 15, and must give the same outcomes. (The simple-protocol side is in
//! tests/slt/cursors.slt.)

use orbit_tests::pgcmp::{self, Outcome};
use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};
use tokio_postgres::types::ToSql;

/// The steps' outcomes on the server at `port`.
async fn steps(port: u16) -> Vec<(String, Outcome)> {
    let c = pg_connect(port).await;
    c.batch_execute(
        "DROP TABLE IF EXISTS cur_x; CREATE TABLE cur_x (id int PRIMARY KEY, v text, n int);
         INSERT INTO cur_x VALUES (1, 'a', 0), (2, 'b', 0), (3, 'c', 0)",
    )
    .await
    .expect("setup");
    // Prepared before any cursor exists: the cursor is looked up when it runs.
    let update = c.prepare("UPDATE cur_x SET v = $1, n = n + $2 WHERE CURRENT OF c RETURNING id, v, n").await;
    let update = update.expect("prepare UPDATE ... WHERE CURRENT OF");
    let mut out = Vec::new();
    let described: Vec<String> = update.columns().iter().map(|c| format!("{} {}", c.name(), c.type_())).collect();
    let params: Vec<String> = update.params().iter().map(|t| t.to_string()).collect();
    out.push(("described".to_string(), Ok((vec![], vec![], vec![described, params]))));
    let run = |sql: &'static str, p: &'static [&'static (dyn ToSql + Sync)]| {
        let c = &c;
        async move { (sql.to_string(), pgcmp::run(c, sql, p).await) }
    };
    out.push(run("BEGIN", &[]).await);
    out.push(run("DECLARE c CURSOR FOR SELECT id FROM cur_x WHERE id = $1", &[&3i32]).await);
    out.push(run("FETCH c", &[]).await);
    let first = c.query(&update, &[&"first", &1i32]).await.map_err(|e| format!("{:?}", e.code()));
    out.push(("update 1".into(), first.map(|r| (vec![], vec![], r.iter().map(pgcmp::values).collect()))));
    let again = c.query(&update, &[&"again", &1i32]).await.map_err(|e| format!("{:?}", e.code()));
    out.push(("update 2".into(), again.map(|r| (vec![], vec![], r.iter().map(pgcmp::values).collect()))));
    out.push(run("DELETE FROM cur_x WHERE CURRENT OF c RETURNING n", &[]).await);
    let gone = c.query(&update, &[&"gone", &1i32]).await.map_err(|e| format!("{:?}", e.code()));
    out.push(("update deleted".into(), gone.map(|r| (vec![], vec![], r.iter().map(pgcmp::values).collect()))));
    out.push(run("CLOSE c", &[]).await);
    let closed = c.query(&update, &[&"closed", &1i32]).await.map_err(|e| format!("{:?}", e.code()));
    out.push(("update closed".into(), closed.map(|r| (vec![], vec![], r.iter().map(pgcmp::values).collect()))));
    out.push(run("ROLLBACK", &[]).await);
    out.push(run("SELECT id, v, n FROM cur_x ORDER BY id", &[]).await);
    c.batch_execute("DROP TABLE cur_x").await.expect("cleanup");
    out
}

#[test]
fn current_of_through_the_extended_protocol() {
    let rt = pg_runtime();
    let mut runs = Vec::new();
    for shards in ["1", "2"] {
        let o = Orbit::start(&["--shards", shards]);
        runs.push(rt.block_on(steps(o.pg_port)));
    }
    let orbit = &runs[0];
    assert_eq!(orbit, &runs[1], "1 and 2 shards differ");
    // What must hold whether or not PostgreSQL is here to compare with.
    let outcome = |what: &str| orbit.iter().find(|(s, _)| s == what).map(|(_, o)| o.clone()).expect(what);
    let rows = |what: &str| outcome(what).map(|(_, _, rows)| rows);
    assert_eq!(rows("update 1"), Ok(vec![vec!["Some(3)".into(), "Some(\"first\")".into(), "Some(1)".into()]]));
    assert_eq!(rows("update 2"), Ok(vec![vec!["Some(3)".into(), "Some(\"again\")".into(), "Some(2)".into()]]));
    assert_eq!(rows("update deleted"), Ok(vec![]));
    assert_eq!(rows("update closed"), Err("Some(SqlState(E34000))".into()));
    match RealPostgres::start() {
        Ok(pg) => {
            let real = rt.block_on(steps(pg.port));
            assert_eq!(orbit, &real, "Orbit and PostgreSQL 15 differ");
        }
        Err(why) => println!("not compared with PostgreSQL 15: {why}"),
    }
}
