//! DEFERRABLE foreign keys end to end (real server, tokio-postgres): a COMMIT that fails its
//! deferred check rolls the whole transaction back and leaves the session idle (ReadyForQuery
//! 'I', as PostgreSQL), a referenced row another session commits before COMMIT satisfies the
//! check, and the constraint's DEFERRABLE / MATCH FULL / NOT VALID flags survive a SIGKILL.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use tokio_postgres::{Client, SimpleQueryMessage};

const SETUP: &str = "CREATE TABLE p (id int PRIMARY KEY, a int, b int, UNIQUE (a, b)); \
     CREATE TABLE d (id int PRIMARY KEY, pid int REFERENCES p DEFERRABLE INITIALLY DEFERRED); \
     INSERT INTO p VALUES (1, 1, 1)";

async fn rows(c: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    c.simple_query(sql)
        .await
        .expect(sql)
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect()),
            _ => None,
        })
        .collect()
}

fn one(v: &str) -> Vec<Vec<Option<String>>> {
    vec![vec![Some(v.to_string())]]
}

#[test]
fn a_failing_deferred_check_fails_commit_and_rolls_back() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(SETUP).await.expect("setup");
        c.batch_execute("BEGIN; INSERT INTO p VALUES (2, 2, 2); INSERT INTO d VALUES (1, 9), (2, 2)")
            .await
            .expect("deferred rows are accepted");
        let e = c.simple_query("COMMIT").await.expect_err("the deferred check fails at COMMIT");
        let db = e.as_db_error().expect("a server error");
        assert_eq!(db.code().code(), "23503");
        assert_eq!(db.message(), "insert or update on table \"d\" violates foreign key constraint \"d_pid_fkey\"");
        assert_eq!(db.detail(), Some("Key (pid)=(9) is not present in table \"p\"."));
        // The session is out of the block (no ROLLBACK needed) and nothing of it was kept.
        assert_eq!(rows(&c, "SELECT count(*) FROM d").await, one("0"));
        assert_eq!(rows(&c, "SELECT count(*) FROM p").await, one("1"));
        // Outside a block the statement's own COMMIT checks it.
        let e = c.simple_query("INSERT INTO d VALUES (3, 8)").await.expect_err("checked at its COMMIT");
        assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("23503"));
        assert_eq!(rows(&c, "SELECT count(*) FROM d").await, one("0"));
    });
}

#[test]
fn a_row_another_session_commits_before_commit_satisfies_the_check() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let s1 = pg_connect(o.pg_port).await;
        let s2 = pg_connect(o.pg_port).await;
        s1.batch_execute(SETUP).await.expect("setup");
        s1.batch_execute("BEGIN; INSERT INTO d VALUES (1, 5)").await.expect("deferred");
        s2.batch_execute("INSERT INTO p VALUES (5, 5, 5)").await.expect("other session");
        s1.batch_execute("COMMIT").await.expect("the row is there at COMMIT");
        assert_eq!(rows(&s2, "SELECT pid FROM d").await, one("5"));
        // SET CONSTRAINTS ... IMMEDIATE in one session does not change another's.
        s1.batch_execute("BEGIN; SET CONSTRAINTS ALL IMMEDIATE").await.expect("immediate");
        s2.batch_execute("BEGIN; INSERT INTO d VALUES (2, 6)").await.expect("still deferred in s2");
        let e = s1.simple_query("INSERT INTO d VALUES (3, 6)").await.expect_err("immediate in s1");
        assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("23503"));
        s1.batch_execute("ROLLBACK").await.expect("rollback");
        s2.batch_execute("INSERT INTO p VALUES (6, 6, 6); COMMIT").await.expect("fixed before COMMIT");
        assert_eq!(rows(&s1, "SELECT count(*) FROM d").await, one("2"));
    });
}

#[test]
fn constraint_flags_survive_a_kill() {
    let mut o = Orbit::start(&["--shards", "2", "--fsync", "always"]);
    let rt = pg_runtime();
    let defs = "SELECT conname, condeferrable, condeferred, convalidated, confmatchtype, pg_get_constraintdef(oid) \
                FROM pg_constraint WHERE contype = 'f' ORDER BY conname";
    let before = rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(SETUP).await.expect("setup");
        c.batch_execute(
            "CREATE TABLE f (x int, y int, FOREIGN KEY (x, y) REFERENCES p (a, b) MATCH FULL DEFERRABLE); \
             CREATE TABLE nv (id int, pid int); INSERT INTO nv VALUES (1, 99); \
             ALTER TABLE nv ADD CONSTRAINT nv_fk FOREIGN KEY (pid) REFERENCES p NOT VALID",
        )
        .await
        .expect("more tables");
        rows(&c, defs).await
    });
    assert_eq!(before.len(), 3, "{before:?}");
    o.restart();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert_eq!(rows(&c, defs).await, before);
        let e = c.simple_query("INSERT INTO f VALUES (1, NULL)").await.expect_err("MATCH FULL");
        assert_eq!(
            e.as_db_error().and_then(|d| d.detail()),
            Some("MATCH FULL does not allow mixing of null and nonnull key values.")
        );
        c.batch_execute("BEGIN; INSERT INTO d VALUES (1, 7); INSERT INTO p VALUES (7, 7, 7); COMMIT")
            .await
            .expect("still deferred");
    });
}
