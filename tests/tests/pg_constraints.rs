//! UNIQUE constraints and indexes across shards and transactions (issue 5): two transactions
//! adding one value meet on the index entry's lock (the second waits, then fails or goes on
//! as the first commits or rolls back); concurrent writers never leave a duplicate; indexes
//! and CHECK constraints survive SIGKILL under `--fsync always`. Real server, tokio-postgres.
//! (Single-statement behaviour is in tests/slt/constraints.slt, checked against PostgreSQL.)

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::Client;

fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

async fn one_i64(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

#[test]
fn transactions_adding_one_unique_value_meet_on_its_lock() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE u (id int PRIMARY KEY, email text UNIQUE)").await.unwrap();
        a.batch_execute("BEGIN; INSERT INTO u VALUES (1, 'x@example.com')").await.unwrap();
        // B's row has another key (maybe on another shard), but the same email: it waits.
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let waiter = tokio::spawn(async move {
            let r = b.execute("INSERT INTO u VALUES (2, 'x@example.com')", &[]).await;
            d.store(true, Ordering::SeqCst);
            (b, r)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!done.load(Ordering::SeqCst), "the second writer must wait for the first transaction");
        a.batch_execute("COMMIT").await.unwrap();
        let (b, r) = waiter.await.unwrap();
        assert_eq!(code(&r.unwrap_err()), "23505");

        // Rolled back instead: the waiter goes on.
        a.batch_execute("BEGIN; INSERT INTO u VALUES (3, 'y@example.com')").await.unwrap();
        let waiter = tokio::spawn(async move { b.execute("INSERT INTO u VALUES (4, 'y@example.com')", &[]).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        a.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(waiter.await.unwrap().unwrap(), 1);

        // A value freed by an uncommitted DELETE stays taken for others until it commits.
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("BEGIN; DELETE FROM u WHERE id = 4").await.unwrap();
        let waiter = tokio::spawn(async move { b.execute("INSERT INTO u VALUES (5, 'y@example.com')", &[]).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(waiter.await.unwrap().unwrap(), 1);
        // Inside one transaction, its own changes count.
        a.batch_execute("BEGIN; UPDATE u SET email = 'z@example.com' WHERE id = 5").await.unwrap();
        a.batch_execute("INSERT INTO u VALUES (6, 'y@example.com')").await.unwrap();
        let e = a.batch_execute("INSERT INTO u VALUES (7, 'z@example.com')").await.unwrap_err();
        assert_eq!(code(&e), "23505");
        a.batch_execute("ROLLBACK").await.unwrap();
        let c = pg_connect(o.pg_port).await;
        let rows = c.query("SELECT id, email FROM u ORDER BY id", &[]).await.unwrap();
        let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(got, vec![(1, "x@example.com".to_string()), (5, "y@example.com".to_string())]);
    });
}

#[test]
fn concurrent_writers_never_leave_a_duplicate() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let setup = pg_connect(o.pg_port).await;
        setup.batch_execute("CREATE TABLE d (id int PRIMARY KEY, v int UNIQUE, w int)").await.unwrap();
        setup.batch_execute("CREATE INDEX ON d (w)").await.unwrap();
        let mut tasks = Vec::new();
        for t in 0..4i32 {
            let c = pg_connect(o.pg_port).await;
            tasks.push(tokio::spawn(async move {
                let (mut ok, mut dup) = (0, 0);
                for i in 0..60i32 {
                    let id = t * 1000 + i;
                    // Values from a small range, so the clients collide often.
                    let v = (i * 7 + t * 3) % 50;
                    let sql = if i % 5 == 4 {
                        format!("UPDATE d SET v = {v} WHERE id = {}", id - 1)
                    } else {
                        format!("INSERT INTO d VALUES ({id}, {v}, {})", v % 3)
                    };
                    match c.batch_execute(&sql).await {
                        Ok(()) => ok += 1,
                        Err(e) if code(&e) == "23505" => dup += 1,
                        Err(e) => panic!("{sql}: {e}"),
                    }
                }
                (ok, dup)
            }));
        }
        let (mut ok, mut dup) = (0, 0);
        for t in tasks {
            let (a, b) = t.await.unwrap();
            ok += a;
            dup += b;
        }
        assert!(ok > 0 && dup > 0, "the clients collided: {ok} ok, {dup} duplicates");
        let rows = one_i64(&setup, "SELECT count(*) FROM d").await;
        let distinct = one_i64(&setup, "SELECT count(DISTINCT v) FROM d").await;
        assert_eq!(rows, distinct, "no value of the unique column twice");
        // Every row still has its index entries: each value is taken.
        let taken: Vec<i32> = setup.query("SELECT v FROM d", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
        for v in taken {
            let e = setup.batch_execute(&format!("INSERT INTO d VALUES (-1, {v}, 0)")).await.unwrap_err();
            assert_eq!(code(&e), "23505", "value {v} is taken");
        }
    });
}

#[test]
fn indexes_and_checks_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE s (id int PRIMARY KEY, code text UNIQUE, n int CHECK (n >= 0)); \
             CREATE TABLE k (a int, b int)",
        )
        .await
        .unwrap();
        let ins = c.prepare("INSERT INTO s VALUES ($1, $2, $3)").await.unwrap();
        for i in 0..100i32 {
            c.execute(&ins, &[&i, &format!("c{i}"), &i]).await.unwrap();
        }
        c.batch_execute("INSERT INTO k VALUES (1, 1), (2, 2), (3, 3)").await.unwrap();
        c.batch_execute("CREATE UNIQUE INDEX k_a ON k (a)").await.unwrap();
        c.batch_execute("UPDATE s SET code = 'moved' WHERE id = 7").await.unwrap();
        c.batch_execute("DELETE FROM s WHERE id = 8").await.unwrap();
    });
    o.kill9();
    let o2 = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        for (sql, want) in [
            ("INSERT INTO s VALUES (200, 'c1', 1)", "23505"),
            ("INSERT INTO s VALUES (200, 'moved', 1)", "23505"),
            ("INSERT INTO s VALUES (200, 'c0', -1)", "23514"),
            ("INSERT INTO k VALUES (2, 9)", "23505"),
        ] {
            let e = c.batch_execute(sql).await.unwrap_err();
            assert_eq!(code(&e), want, "{sql}");
        }
        // Freed values are free.
        c.batch_execute("INSERT INTO s VALUES (200, 'c7', 1), (201, 'c8', 1)").await.unwrap();
        c.batch_execute("INSERT INTO k VALUES (4, 4)").await.unwrap();
        let names: Vec<String> = c
            .query("SELECT relname FROM pg_class WHERE relkind = 'i' ORDER BY 1", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(names, vec!["k_a", "s_code_key", "s_pkey"]);
    });
}
