//! Partial and expression indexes end to end (`--shards 2`): their definitions survive a
//! SIGKILL and keep enforcing and serving reads after it; two sessions inserting the same
//! `lower(email)` meet on one entry lock (the second waits for the first, then fails with
//! 23505, or succeeds after a rollback); COPY keeps a partial unique index; psql's `\d`
//! lists them as on a real PostgreSQL 15.

use futures::SinkExt;
use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};
use std::process::Command;
use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

const SETUP: &str = "
CREATE TABLE jobs (id int PRIMARY KEY, user_id int, done bool, email text);
CREATE UNIQUE INDEX one_active ON jobs (user_id) WHERE done = false;
CREATE UNIQUE INDEX jobs_email_ci ON jobs (lower(email));
CREATE INDEX jobs_user_expr ON jobs (user_id, (id + 1)) WHERE email IS NOT NULL;
INSERT INTO jobs VALUES (1, 1, false, 'Ann@x.com'), (2, 1, true, 'bob@x.com'), (3, 2, false, 'Cy@x.com');
";

async fn indexdefs(c: &Client) -> Vec<String> {
    let rows = c
        .query("SELECT indexdef FROM pg_indexes WHERE tablename = 'jobs' ORDER BY indexname", &[])
        .await
        .expect("pg_indexes");
    rows.iter().map(|r| r.get(0)).collect()
}

/// The SQLSTATE, message and detail of a statement that must fail.
async fn failure(c: &Client, sql: &str) -> (SqlState, String, Option<String>) {
    let e = c.batch_execute(sql).await.expect_err(sql);
    let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
    (db.code().clone(), db.message().to_string(), db.detail().map(str::to_string))
}

async fn ids(c: &Client, sql: &str) -> Vec<i32> {
    c.query(sql, &[]).await.expect(sql).iter().map(|r| r.get(0)).collect()
}

#[test]
fn partial_and_expression_indexes_survive_a_sigkill() {
    let mut o = Orbit::start(&["--shards", "2", "--fsync", "always"]);
    let rt = pg_runtime();
    let before = rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(SETUP).await.expect("setup");
        indexdefs(&c).await
    });
    assert_eq!(
        before,
        vec![
            "CREATE UNIQUE INDEX jobs_email_ci ON public.jobs USING btree (lower(email))",
            "CREATE UNIQUE INDEX jobs_pkey ON public.jobs USING btree (id)",
            "CREATE INDEX jobs_user_expr ON public.jobs USING btree (user_id, ((id + 1))) WHERE (email IS NOT NULL)",
            "CREATE UNIQUE INDEX one_active ON public.jobs USING btree (user_id) WHERE (done = false)",
        ]
    );
    o.restart();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert_eq!(indexdefs(&c).await, before);
        let (code, msg, detail) = failure(&c, "INSERT INTO jobs VALUES (4, 3, true, 'ANN@X.COM')").await;
        assert_eq!(code, SqlState::UNIQUE_VIOLATION);
        assert_eq!(msg, "duplicate key value violates unique constraint \"jobs_email_ci\"");
        assert_eq!(detail.as_deref(), Some("Key (lower(email))=(ann@x.com) already exists."));
        let (code, _, detail) = failure(&c, "INSERT INTO jobs VALUES (4, 1, false, 'd@x.com')").await;
        assert_eq!(code, SqlState::UNIQUE_VIOLATION);
        assert_eq!(detail.as_deref(), Some("Key (user_id)=(1) already exists."));
        c.batch_execute("INSERT INTO jobs VALUES (4, 1, true, 'd@x.com')").await.expect("outside the predicate");
        assert_eq!(ids(&c, "SELECT id FROM jobs WHERE lower(email) = 'cy@x.com'").await, vec![3]);
        assert_eq!(ids(&c, "SELECT id FROM jobs WHERE user_id = 1 AND done = false").await, vec![1]);
        assert_eq!(
            ids(&c, "SELECT id FROM jobs WHERE user_id = 1 AND id + 1 = 5 AND email IS NOT NULL").await,
            vec![4]
        );
        // The reads above went through the indexes.
        let plan: Vec<String> = c
            .query("EXPLAIN SELECT id FROM jobs WHERE lower(email) = 'cy@x.com'", &[])
            .await
            .expect("explain")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(plan.iter().any(|l| l.contains("Index Scan using jobs_email_ci on jobs")), "{plan:?}");
        let plan: Vec<String> = c
            .query("EXPLAIN SELECT id FROM jobs WHERE user_id = 1", &[])
            .await
            .expect("explain")
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(!plan.iter().any(|l| l.contains("one_active")), "a partial index read for rows it lacks: {plan:?}");
    });
}

/// Session two's INSERT of a `lower(email)` session one inserted and has not committed: it
/// waits on the entry's lock, then fails with 23505 once session one commits, or succeeds once
/// it rolls back.
#[test]
fn concurrent_inserts_of_one_lowered_email_meet_on_the_entry() {
    let o = Orbit::start(&["--shards", "2"]);
    let rt = pg_runtime();
    rt.block_on(async {
        let a = pg_connect(o.pg_port).await;
        let mut b = pg_connect(o.pg_port).await;
        a.batch_execute(SETUP).await.expect("setup");
        for (round, end) in [(0i32, "COMMIT"), (1, "ROLLBACK")] {
            let (x, y) = (format!("Same{round}@x.com"), format!("sAME{round}@X.com"));
            a.batch_execute(&format!("BEGIN; INSERT INTO jobs VALUES (1{round}0, 100, true, '{x}')"))
                .await
                .expect("session one inserts");
            let insert = format!("INSERT INTO jobs VALUES (1{round}1, 101, true, '{y}')");
            let waiting = tokio::spawn(async move {
                let r = b.batch_execute(&insert).await;
                (b, r)
            });
            // Session one keeps working while session two waits on its entry.
            let lowered = format!("SELECT id FROM jobs WHERE lower(email) = 'same{round}@x.com'");
            assert_eq!(ids(&a, &lowered).await, vec![100 + 10 * round]);
            assert!(!waiting.is_finished(), "session two went past session one's uncommitted entry");
            a.batch_execute(end).await.expect(end);
            let (back, r) = waiting.await.expect("session two");
            b = back;
            if end == "COMMIT" {
                let e = r.expect_err("session two after the commit");
                let db = e.as_db_error().expect("a server error");
                assert_eq!(db.code(), &SqlState::UNIQUE_VIOLATION);
                let detail = format!("Key (lower(email))=(same{round}@x.com) already exists.");
                assert_eq!(db.detail(), Some(detail.as_str()));
                assert_eq!(ids(&b, &lowered).await, vec![100]);
            } else {
                r.expect("session two after the rollback");
                assert_eq!(ids(&b, &lowered).await, vec![111]);
            }
        }
    });
}

/// COPY into a table with a partial unique index: rows outside the predicate load, a
/// duplicate inside it fails the COPY with 23505 and loads nothing.
#[test]
fn copy_keeps_a_partial_unique_index() {
    let o = Orbit::start(&["--shards", "2"]);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(SETUP).await.expect("setup");
        let copy = |data: &'static str| {
            let c = &c;
            async move {
                let sink = c.copy_in::<_, bytes::Bytes>("COPY jobs FROM STDIN").await?;
                let mut sink = Box::pin(sink);
                sink.send(bytes::Bytes::from_static(data.as_bytes())).await?;
                sink.as_mut().finish().await
            }
        };
        let n = copy("5\t1\tt\te@x.com\n6\t1\tt\tf@x.com\n7\t9\tf\tg@x.com\n").await.expect("copy outside");
        assert_eq!(n, 3);
        let e = copy("8\t9\tf\th@x.com\n").await.expect_err("copy duplicate");
        assert_eq!(e.as_db_error().map(|d| d.code().clone()), Some(SqlState::UNIQUE_VIOLATION));
        assert_eq!(ids(&c, "SELECT id FROM jobs WHERE user_id = 9 AND done = false").await, vec![7]);
        assert_eq!(ids(&c, "SELECT id FROM jobs WHERE id = 8").await, Vec::<i32>::new());
    });
}

fn psql(port: u16, input: &str) -> String {
    let out = Command::new("psql")
        .args(["-X", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres", "-d", "postgres", "-c", input])
        .output()
        .expect("run psql");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// psql's `\d jobs`, `\d index` and `\di` list the indexes (predicates, expressions, INCLUDE
/// and NULLS NOT DISTINCT) as on PostgreSQL 15, byte for byte.
#[test]
fn psql_describes_partial_and_expression_indexes_as_postgresql() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&["--shards", "2"]);
    let setup = SETUP.to_string()
        + "CREATE INDEX jobs_calc ON jobs (((id * 2) + 1)) WHERE NOT done AND id > 0;
           CREATE UNIQUE INDEX jobs_inc ON jobs (user_id, id) INCLUDE (email) NULLS NOT DISTINCT;";
    for port in [pg.port, o.pg_port] {
        let out = psql(port, &setup);
        assert!(!out.contains("ERROR"), "setup on {port}: {out}");
    }
    for cmd in [r"\d jobs", r"\d one_active", r"\d jobs_calc", r"\d jobs_inc", r"\di"] {
        let want = psql(pg.port, cmd);
        assert!(!want.contains("ERROR") && !want.contains("Did not find"), "{cmd} on PostgreSQL: {want}");
        assert_eq!(psql(o.pg_port, cmd), want, "{cmd}");
    }
}
