//! What other sessions see of a transaction block's DDL before it ends (issue 5, "DDL is
//! transactional"), as in PostgreSQL: a created table is not there for them (42P01); a table
//! the block altered or dropped makes their statements wait until the block ends, then they
//! run against what it left; lock_timeout and deadlocks (40P01) end such waits; a prepared
//! statement waits too and is bound again (0A000 "cached plan must not change result type"
//! when its result columns changed).

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::{Client, SimpleQueryMessage};

fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

/// The values of the first column of a simple query's rows.
async fn texts(c: &Client, sql: &str) -> Vec<String> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e} {:?}", e.as_db_error()))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_string()),
            _ => None,
        })
        .collect()
}

/// Runs `sql` on `c` in the background; the flag says whether it has finished.
fn spawn_query(
    c: &Arc<Client>,
    sql: &'static str,
) -> (tokio::task::JoinHandle<Result<Vec<String>, tokio_postgres::Error>>, Arc<AtomicBool>) {
    let (c, done) = (c.clone(), Arc::new(AtomicBool::new(false)));
    let d = done.clone();
    let h = tokio::spawn(async move {
        let r = c.simple_query(sql).await.map(|ms| {
            ms.into_iter()
                .filter_map(|m| match m {
                    SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_string()),
                    _ => None,
                })
                .collect()
        });
        d.store(true, Ordering::SeqCst);
        r
    });
    (h, done)
}

/// The background statement has not finished: it waits for the other block (which has not
/// ended, so it cannot have finished however slow the machine is).
async fn still_waiting(done: &AtomicBool) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!done.load(Ordering::SeqCst), "the statement did not wait for the open block");
}

#[test]
fn a_created_table_is_invisible_to_others_until_commit() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("BEGIN; CREATE TABLE fresh (id int PRIMARY KEY, v text); INSERT INTO fresh VALUES (1, 'x')")
            .await
            .unwrap();
        a.batch_execute("CREATE VIEW fresh_v AS SELECT id FROM fresh").await.unwrap();
        // The block itself sees both.
        assert_eq!(texts(&a, "SELECT v FROM fresh").await, ["x"]);
        assert_eq!(texts(&a, "SELECT id FROM fresh_v").await, ["1"]);
        for sql in ["SELECT * FROM fresh", "INSERT INTO fresh VALUES (2, 'y')", "SELECT * FROM fresh_v"] {
            let e = b.batch_execute(sql).await.unwrap_err();
            assert_eq!(code(&e), "42P01", "{sql}: {e}");
        }
        // Nor in the catalog.
        let listed = "SELECT count(*) FROM pg_class WHERE relname IN ('fresh', 'fresh_v', 'fresh_pkey')";
        assert_eq!(texts(&b, listed).await, ["0"]);
        assert_eq!(texts(&a, listed).await, ["3"]);
        // Altered in the block, still the block's alone.
        a.batch_execute("ALTER TABLE fresh ADD COLUMN w int DEFAULT 7").await.unwrap();
        let e = b.batch_execute("SELECT * FROM fresh").await.unwrap_err();
        assert_eq!(code(&e), "42P01", "{e}");
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(texts(&b, listed).await, ["3"]);
        assert_eq!(texts(&b, "SELECT v || ',' || w FROM fresh").await, ["x,7"]);
        assert_eq!(texts(&b, "SELECT id FROM fresh_v").await, ["1"]);

        // Rolled back: never there for anyone.
        a.batch_execute("BEGIN; CREATE TABLE gone (id int)").await.unwrap();
        let e = b.batch_execute("SELECT * FROM gone").await.unwrap_err();
        assert_eq!(code(&e), "42P01", "{e}");
        a.batch_execute("ROLLBACK").await.unwrap();
        let e = b.batch_execute("SELECT * FROM gone").await.unwrap_err();
        assert_eq!(code(&e), "42P01", "{e}");
    });
}

/// A sequence created in a block (CREATE SEQUENCE, or a SERIAL column's) is not there for
/// other sessions until COMMIT (nextval, currval, setval, DROP SEQUENCE: 42P01; the catalog
/// leaves it out), and is gone after ROLLBACK.
#[test]
fn a_created_sequence_is_invisible_to_others_until_commit() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("BEGIN; CREATE SEQUENCE fresh_seq; CREATE TABLE fresh_t (id serial PRIMARY KEY)")
            .await
            .unwrap();
        assert_eq!(texts(&a, "SELECT nextval('fresh_seq')").await, ["1"]);
        assert_eq!(texts(&a, "SELECT nextval('fresh_t_id_seq')").await, ["1"]);
        for sql in [
            "SELECT nextval('fresh_seq')",
            "SELECT setval('fresh_seq', 5)",
            "SELECT nextval('fresh_t_id_seq')",
            "DROP SEQUENCE fresh_seq",
        ] {
            let e = b.batch_execute(sql).await.unwrap_err();
            assert_eq!(code(&e), "42P01", "{sql}: {e}");
        }
        let listed = "SELECT count(*) FROM pg_class WHERE relname IN ('fresh_seq', 'fresh_t_id_seq')";
        assert_eq!(texts(&b, listed).await, ["0"]);
        assert_eq!(texts(&a, listed).await, ["2"]);
        let named = "SELECT count(*) FROM pg_sequences WHERE sequencename IN ('fresh_seq', 'fresh_t_id_seq')";
        assert_eq!(texts(&b, named).await, ["0"]);
        assert_eq!(texts(&a, named).await, ["2"]);
        a.batch_execute("COMMIT").await.unwrap();
        // Committed: everyone's, with the values the block took.
        assert_eq!(texts(&b, "SELECT nextval('fresh_seq')").await, ["2"]);
        assert_eq!(texts(&b, listed).await, ["2"]);

        a.batch_execute("BEGIN; CREATE SEQUENCE gone_seq").await.unwrap();
        assert_eq!(texts(&a, "SELECT nextval('gone_seq')").await, ["1"]);
        let e = b.batch_execute("SELECT nextval('gone_seq')").await.unwrap_err();
        assert_eq!(code(&e), "42P01", "{e}");
        a.batch_execute("ROLLBACK").await.unwrap();
        for c in [&a, &b] {
            let e = c.batch_execute("SELECT nextval('gone_seq')").await.unwrap_err();
            assert_eq!(code(&e), "42P01", "{e}");
        }
        // The name is free again.
        b.batch_execute("CREATE SEQUENCE gone_seq").await.unwrap();
        assert_eq!(texts(&a, "SELECT nextval('gone_seq')").await, ["1"]);
    });
}

#[test]
fn readers_and_writers_wait_for_an_alter_and_see_what_it_left() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = Arc::new(pg_connect(o.pg_port).await);
        a.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 1), (2, 2)")
            .await
            .unwrap();

        // COMMIT: the waiting reader sees the new column, the waiting writer's row gets its
        // DEFAULT.
        a.batch_execute("BEGIN; ALTER TABLE t ADD COLUMN w int DEFAULT 5").await.unwrap();
        let (reader, done) = spawn_query(&b, "SELECT string_agg(id || ',' || w, ';' ORDER BY id) FROM t");
        still_waiting(&done).await;
        a.batch_execute("UPDATE t SET w = 6 WHERE id = 2; COMMIT").await.unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), ["1,5;2,6"]);
        a.batch_execute("BEGIN; ALTER TABLE t ADD COLUMN x int DEFAULT 0").await.unwrap();
        let (writer, done) = spawn_query(&b, "INSERT INTO t (id, v) VALUES (3, 3) RETURNING x");
        still_waiting(&done).await;
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(writer.await.unwrap().unwrap(), ["0"]);

        // ROLLBACK: the waiting statement runs against the old definition.
        a.batch_execute("BEGIN; ALTER TABLE t DROP COLUMN v").await.unwrap();
        let (reader, done) = spawn_query(&b, "SELECT sum(v) FROM t");
        still_waiting(&done).await;
        a.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), ["6"]);

        // CREATE INDEX in a block holds the table the same way.
        a.batch_execute("BEGIN; CREATE INDEX t_v ON t (v)").await.unwrap();
        let (writer, done) = spawn_query(&b, "UPDATE t SET v = 10 WHERE id = 1 RETURNING v");
        still_waiting(&done).await;
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(writer.await.unwrap().unwrap(), ["10"]);
        assert_eq!(texts(&b, "SELECT id FROM t WHERE v = 10").await, ["1"]);

        // lock_timeout ends the wait; the session goes on.
        a.batch_execute("BEGIN; ALTER TABLE t ADD COLUMN y int").await.unwrap();
        b.batch_execute("SET lock_timeout = '100ms'").await.unwrap();
        let e = b.batch_execute("SELECT * FROM t").await.unwrap_err();
        assert_eq!(code(&e), "55P03", "{e}");
        assert_eq!(e.as_db_error().unwrap().message(), "canceling statement due to lock timeout");
        b.batch_execute("SET lock_timeout = 0; SET statement_timeout = '100ms'").await.unwrap();
        let e = b.batch_execute("SELECT * FROM t").await.unwrap_err();
        assert_eq!(code(&e), "57014", "{e}");
        b.batch_execute("SET statement_timeout = 0").await.unwrap();
        a.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(texts(&b, "SELECT count(*) FROM t").await, ["3"]);
    });
}

#[test]
fn a_dropped_table_makes_others_wait_then_is_gone_or_back() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = Arc::new(pg_connect(o.pg_port).await);
        a.batch_execute("CREATE TABLE d (id int PRIMARY KEY); INSERT INTO d VALUES (1), (2)").await.unwrap();
        a.batch_execute("BEGIN; DROP TABLE d").await.unwrap();
        let (reader, done) = spawn_query(&b, "SELECT count(*) FROM d");
        still_waiting(&done).await;
        a.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(reader.await.unwrap().unwrap(), ["2"]);

        a.batch_execute("BEGIN; DROP TABLE d").await.unwrap();
        let (reader, done) = spawn_query(&b, "SELECT count(*) FROM d");
        still_waiting(&done).await;
        a.batch_execute("COMMIT").await.unwrap();
        let e = reader.await.unwrap().unwrap_err();
        assert_eq!(code(&e), "42P01", "{e}");
    });
}

/// T1 holds a row of `t1`; T2's block altered `u` and now alters `t1` (waiting for T1's row);
/// T1 then reads `u` (waiting for T2): a cycle, and the youngest (T2) fails with 40P01, as
/// PostgreSQL's deadlock check fails one of them; T1 then goes on.
#[test]
fn a_wait_for_a_relation_takes_part_in_deadlock_detection() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let t1 = Arc::new(pg_connect(o.pg_port).await);
        let t2 = Arc::new(pg_connect(o.pg_port).await);
        t1.batch_execute(
            "CREATE TABLE t1 (id int PRIMARY KEY, v int); INSERT INTO t1 VALUES (1, 1); \
             CREATE TABLE u (id int PRIMARY KEY); INSERT INTO u VALUES (1)",
        )
        .await
        .unwrap();
        t1.batch_execute("BEGIN; UPDATE t1 SET v = 2 WHERE id = 1").await.unwrap();
        t2.batch_execute("BEGIN; ALTER TABLE u ADD COLUMN c int").await.unwrap();
        let (alter, _) = spawn_query(&t2, "ALTER TABLE t1 ADD COLUMN c int");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (read, _) = spawn_query(&t1, "SELECT count(*) FROM u");
        let e = alter.await.unwrap().unwrap_err();
        assert_eq!(code(&e), "40P01", "{e}");
        t2.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(read.await.unwrap().unwrap(), ["1"]);
        t1.batch_execute("COMMIT").await.unwrap();
        assert_eq!(texts(&t1, "SELECT v FROM t1").await, ["2"]);
    });
}

/// A statement prepared before another block's ALTER waits at Execute, then is bound again:
/// it runs if its result columns are the same, else fails as PostgreSQL's cached plan check.
#[test]
fn a_prepared_statement_waits_and_is_bound_again() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = Arc::new(pg_connect(o.pg_port).await);
        a.batch_execute("CREATE TABLE p (id int PRIMARY KEY, v int); INSERT INTO p VALUES (1, 10)").await.unwrap();
        let by_id = b.prepare("SELECT v FROM p WHERE id = $1").await.unwrap();
        let star = b.prepare("SELECT * FROM p").await.unwrap();

        a.batch_execute("BEGIN; ALTER TABLE p ADD COLUMN w int DEFAULT 1; UPDATE p SET v = 11").await.unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let (b2, d, s) = (b.clone(), done.clone(), by_id.clone());
        let run = tokio::spawn(async move {
            let r = b2.query_one(&s, &[&1i32]).await.map(|r| r.get::<_, i32>(0));
            d.store(true, Ordering::SeqCst);
            r
        });
        still_waiting(&done).await;
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(run.await.unwrap().unwrap(), 11);
        // The same result columns, bound again: fine; SELECT * now has one more column.
        assert_eq!(b.query_one(&by_id, &[&1i32]).await.unwrap().get::<_, i32>(0), 11);
        a.batch_execute("BEGIN; ALTER TABLE p ADD COLUMN z int").await.unwrap();
        let (b2, s) = (b.clone(), star.clone());
        let run = tokio::spawn(async move { b2.query(&s, &[]).await.map(|r| r.len()) });
        tokio::time::sleep(Duration::from_millis(100)).await;
        a.batch_execute("COMMIT").await.unwrap();
        let e = run.await.unwrap().unwrap_err();
        assert_eq!(code(&e), "0A000", "{e}");
        assert_eq!(e.as_db_error().unwrap().message(), "cached plan must not change result type");
    });
}

/// A CREATE of a name another open block created waits for that block: it creates the
/// relation if the block rolled back, and fails with 42P07 if it committed.
#[test]
fn a_create_of_a_name_another_block_created_waits_for_it() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = Arc::new(pg_connect(o.pg_port).await);
        a.batch_execute("BEGIN; CREATE TABLE dup (a int)").await.unwrap();
        let (create, done) = spawn_query(&b, "CREATE TABLE dup (b text)");
        still_waiting(&done).await;
        a.batch_execute("ROLLBACK").await.unwrap();
        create.await.unwrap().unwrap();
        assert_eq!(texts(&a, "SELECT count(*) FROM dup").await, ["0"]);
        let e = a.batch_execute("INSERT INTO dup (a) VALUES (1)").await.unwrap_err();
        assert_eq!(code(&e), "42703", "{e}");

        a.batch_execute("BEGIN; CREATE VIEW dup2 AS SELECT 1 AS x").await.unwrap();
        let (create, done) = spawn_query(&b, "CREATE TABLE dup2 (b text)");
        still_waiting(&done).await;
        a.batch_execute("COMMIT").await.unwrap();
        let e = create.await.unwrap().unwrap_err();
        assert_eq!(code(&e), "42P07", "{e}");
        assert_eq!(texts(&b, "SELECT x FROM dup2").await, ["1"]);
    });
}

/// A statement already running when an ALTER begins (here waiting for a row lock) goes on and
/// finishes; the ALTER waits for it (and for the row's holder), as PostgreSQL's waits for the
/// statements' relation locks, instead of failing the statement with 55P03.
#[test]
fn an_alter_waits_for_the_statements_already_running() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = Arc::new(pg_connect(o.pg_port).await);
        let b = pg_connect(o.pg_port).await;
        let c = Arc::new(pg_connect(o.pg_port).await);
        a.batch_execute("CREATE TABLE r (id int PRIMARY KEY, v int); INSERT INTO r VALUES (1, 1)").await.unwrap();
        b.batch_execute("BEGIN; UPDATE r SET v = 2 WHERE id = 1").await.unwrap();
        let (update, _) = spawn_query(&c, "UPDATE r SET v = v + 10 WHERE id = 1 RETURNING v");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (alter, done) = spawn_query(&a, "ALTER TABLE r ADD COLUMN w int DEFAULT 0");
        still_waiting(&done).await;
        b.batch_execute("COMMIT").await.unwrap();
        assert_eq!(update.await.unwrap().unwrap(), ["12"]);
        alter.await.unwrap().unwrap();
        assert_eq!(texts(&b, "SELECT v || ',' || w FROM r").await, ["12,0"]);
    });
}
