//! `synchronous_commit` (issue #5) under `--fsync always`: a commit made with it `off` is
//! acknowledged without waiting for its log record to be synced; it is still written in log
//! order, so a later commit with it `on` on the same shard (SET LOCAL, the usual way) is durable
//! together with everything logged before it. After a SIGKILL the synchronous commit is back,
//! and so is every asynchronous one before it. One shard, so every commit is in one log.

use orbit_tests::{pg_connect, pg_runtime, Orbit};

#[test]
fn a_synchronous_commit_survives_sigkill_with_the_asynchronous_ones_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "1", "--fsync", "always"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE acks (id int4 PRIMARY KEY, v text)").await.unwrap();
        c.batch_execute("SET synchronous_commit = off").await.unwrap();
        let shown = c.query_one("SHOW synchronous_commit", &[]).await.unwrap();
        assert_eq!(shown.get::<_, String>(0), "off");
        let ins = c.prepare("INSERT INTO acks VALUES ($1, 'async')").await.unwrap();
        for i in 0..200i32 {
            c.execute(&ins, &[&i]).await.unwrap();
        }
        // The one synchronous commit: SET LOCAL applies to the COMMIT of its block.
        c.batch_execute("BEGIN; SET LOCAL synchronous_commit = on; INSERT INTO acks VALUES (1000, 'sync'); COMMIT")
            .await
            .unwrap();
        // Back to the session's value after the block.
        let shown = c.query_one("SHOW synchronous_commit", &[]).await.unwrap();
        assert_eq!(shown.get::<_, String>(0), "off");
    });
    // Killed right after the synchronous commit's acknowledgement.
    o.kill9();
    let o2 = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        let v: String = c.query_one("SELECT v FROM acks WHERE id = 1000", &[]).await.unwrap().get(0);
        assert_eq!(v, "sync");
        let n: i64 = c.query_one("SELECT count(*) FROM acks WHERE v = 'async'", &[]).await.unwrap().get(0);
        assert_eq!(n, 200);
        // Bad values as PostgreSQL refuses them.
        let e = c.batch_execute("SET synchronous_commit = sometimes").await.unwrap_err();
        let db = e.as_db_error().expect("a server error");
        assert_eq!(db.code().code(), "22023");
        assert_eq!(db.hint(), Some("Available values: local, remote_write, remote_apply, on, off."));
    });
}
