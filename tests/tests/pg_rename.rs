//! ALTER TABLE ... RENAME TO is durable: after a SIGKILL (`--fsync always`) the table answers to
//! its new name with its rows, indexes and serial sequence, from the log alone and from a
//! snapshot taken after the rename, and the foreign key referencing it references it under
//! the new name (checked); and a rename of a table with rows on every shard leaves no
//! shard behind.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use tokio_postgres::Client;

async fn ids(c: &Client, sql: &str) -> Vec<i32> {
    c.query(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).iter().map(|r| r.get(0)).collect()
}

async fn check_renamed(c: &Client) {
    let e = c.batch_execute("SELECT * FROM ev").await.expect_err("old name");
    assert_eq!(e.code().map(|c| c.code()), Some("42P01"));
    assert_eq!(ids(c, "SELECT id FROM events ORDER BY id").await, (1..=50).collect::<Vec<_>>());
    // The unique index (read through it, and enforcing) and the serial sequence came along.
    assert_eq!(ids(c, "SELECT id FROM events WHERE tag = 'e7'").await, vec![7]);
    let e = c.batch_execute("INSERT INTO events (tag) VALUES ('e7')").await.expect_err("duplicate tag");
    assert_eq!(e.code().map(|c| c.code()), Some("23505"));
    let row = c.query_one("SELECT 'events'::regclass::text, 'ev_tag_key'::regclass::text", &[]).await.unwrap();
    assert_eq!((row.get::<_, String>(0), row.get::<_, String>(1)), ("events".into(), "ev_tag_key".into()));
    let sql = "SELECT confrelid::regclass::text FROM pg_constraint WHERE conname = 'evk_e_fkey'";
    assert_eq!(c.query_one(sql, &[]).await.unwrap().get::<_, String>(0), "events");
    let e = c.batch_execute("INSERT INTO evk VALUES (1, 999)").await.expect_err("no such event");
    assert_eq!(e.code().map(|c| c.code()), Some("23503"));
}

#[test]
fn rename_survives_sigkill_and_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE ev (id serial PRIMARY KEY, tag text UNIQUE)").await.unwrap();
        for i in 1..=50 {
            c.batch_execute(&format!("INSERT INTO ev (tag) VALUES ('e{i}')")).await.unwrap();
        }
        c.batch_execute("CREATE TABLE evk (id int PRIMARY KEY, e int REFERENCES ev (id))").await.unwrap();
        c.batch_execute("ALTER TABLE ev RENAME TO events").await.unwrap();
        check_renamed(&c).await;
    });
    o.kill9();
    let mut o = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        check_renamed(&c).await;
        // The sequence goes on after the values it handed out before the crash (each refused
        // duplicate INSERT in check_renamed took one, 51 and 52, as in PostgreSQL).
        assert_eq!(ids(&c, "INSERT INTO events (tag) VALUES ('new') RETURNING id").await, vec![53]);
        c.batch_execute("DELETE FROM events WHERE id = 53").await.unwrap();
    });
    let _: String = redis::cmd("SAVE").query(&mut o.client()).unwrap();
    o.kill9();
    let o = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        check_renamed(&c).await;
        // The old name is free; DROP of the renamed table drops its sequence.
        c.batch_execute("CREATE TABLE ev (k int PRIMARY KEY); DROP TABLE evk, events").await.unwrap();
        let n: i64 = c.query_one("SELECT count(*) FROM pg_sequences", &[]).await.unwrap().get(0);
        assert_eq!(n, 0);
    });
}
