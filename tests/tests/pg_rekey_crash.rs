//! ALTER TABLE that re-keys a table with secondary indexes (DROP CONSTRAINT of its primary key,
//! DROP COLUMN of a key column) runs in several durable steps: the indexes go, the rows move to
//! row ids, the indexes are built again. The server is stopped (`std::process::abort`, as a
//! SIGKILL: nothing is flushed or cleaned up) between each pair of steps by
//! `ORBIT_CRASH_AT=<point>`, restarted, and every index is checked against a full scan: the
//! table is the old one with all its indexes (the statement was never acknowledged), never a
//! mix; once the statement finishes, the new one with all its indexes survives a SIGKILL.
//! With 1 and 2 shards. Real server, tokio-postgres client.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use std::path::Path;
use tokio_postgres::Client;

const ROWS: i32 = 300;

/// The points where the statement stops, in the order it reaches them.
const POINTS: [&str; 5] = ["guard-saved", "rekey-index-dropped", "rekey-rewritten", "rekey-index-built", "ddl-done"];

fn start(dir: &Path, shards: &str) -> Orbit {
    Orbit::start_in(dir, &["--shards", shards, "--fsync", "always"])
}

async fn setup(c: &Client) {
    c.batch_execute(&format!(
        "CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL, b text, UNIQUE (a)); \
         CREATE INDEX t_b ON t (b); \
         INSERT INTO t SELECT g, g + 1000, 'b' || (g % 17) FROM generate_series(1, {ROWS}) g"
    ))
    .await
    .expect("setup");
}

/// Every row by a full scan (`a + 0` and `b || ''` use no index), ordered by id.
async fn full_scan(c: &Client) -> Vec<(i32, i32, String)> {
    c.query("SELECT id, a + 0, b || '' FROM t WHERE id + 0 > 0 ORDER BY 1", &[])
        .await
        .expect("scan")
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// The table as it must be: the primary key there or not (`keyed`), both other indexes listed
/// and each of them (and the key) finding exactly what the full scan finds, for every row;
/// `extra`: rows inserted since the setup.
async fn check(c: &Client, keyed: bool, extra: &[(i32, i32, &str)], what: &str) {
    let pk: i64 = c.query_one("SELECT count(*) FROM pg_constraint WHERE conname = 't_pkey'", &[]).await.unwrap().get(0);
    assert_eq!(pk, i64::from(keyed), "{what}: primary key constraint");
    let names: Vec<String> = c
        .query("SELECT indexname::text FROM pg_indexes WHERE tablename = 't' ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let want: &[&str] = if keyed { &["t_a_key", "t_b", "t_pkey"] } else { &["t_a_key", "t_b"] };
    assert_eq!(names, want, "{what}: indexes");
    let mut expected: Vec<(i32, i32, String)> = (1..=ROWS).map(|g| (g, g + 1000, format!("b{}", g % 17))).collect();
    expected.extend(extra.iter().map(|(i, a, b)| (*i, *a, b.to_string())));
    expected.sort();
    let scanned = full_scan(c).await;
    assert_eq!(scanned, expected, "{what}: full scan");
    // The reads below go through the indexes.
    let plan: Vec<String> =
        c.query("EXPLAIN SELECT id FROM t WHERE a = 1001", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert!(plan.iter().any(|l| l.contains("Index Scan using t_a_key")), "{what}: {plan:?}");
    let plan: Vec<String> =
        c.query("EXPLAIN SELECT id FROM t WHERE b = 'b3'", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert!(plan.iter().any(|l| l.contains("t_b")), "{what}: {plan:?}");
    let by_a = c.prepare("SELECT id, b FROM t WHERE a = $1").await.unwrap();
    let by_id = c.prepare("SELECT a FROM t WHERE id = $1").await.unwrap();
    for (id, a, b) in &scanned {
        let rows = c.query(&by_a, &[a]).await.unwrap();
        assert_eq!(rows.len(), 1, "{what}: a = {a} through t_a_key");
        assert_eq!((rows[0].get::<_, i32>(0), rows[0].get::<_, String>(1)), (*id, b.clone()), "{what}: a = {a}");
        if keyed {
            let rows = c.query(&by_id, &[id]).await.unwrap();
            assert_eq!(rows.len(), 1, "{what}: id = {id} through t_pkey");
            assert_eq!(rows[0].get::<_, i32>(0), *a, "{what}: id = {id}");
        }
    }
    let by_b = c.prepare("SELECT id FROM t WHERE b = $1 ORDER BY id").await.unwrap();
    let mut bs: Vec<&String> = scanned.iter().map(|(_, _, b)| b).collect();
    bs.sort();
    bs.dedup();
    for b in bs {
        let ids: Vec<i32> = c.query(&by_b, &[b]).await.unwrap().iter().map(|r| r.get(0)).collect();
        let want: Vec<i32> = scanned.iter().filter(|(_, _, x)| x == b).map(|(i, _, _)| *i).collect();
        assert_eq!(ids, want, "{what}: b = {b} through t_b");
    }
    // The unique index still refuses a taken value.
    let e = c.execute("INSERT INTO t VALUES (100000, 1001, 'dup')", &[]).await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("23505"), "{what}: {e}");
}

/// Runs `statement` on a server that aborts at `point`; the client sees the connection go.
fn crash_at(dir: &Path, shards: &str, point: &str, statement: &str) {
    let rt = pg_runtime();
    let mut o = Orbit::start_in_with_env(dir, &["--shards", shards, "--fsync", "always"], &[("ORBIT_CRASH_AT", point)]);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert!(c.batch_execute(statement).await.is_err(), "{point}: the server aborts before it answers");
    });
    let status = o.child.take().expect("running").wait().expect("wait");
    assert!(!status.success(), "{point}: aborted");
    assert!(o.log().contains("ORBIT_CRASH_AT"), "{point}: the statement reached its crash point");
}

fn crash_between_the_steps(shards: &str) {
    let dir = tempfile::tempdir().unwrap();
    let rt = pg_runtime();
    let mut o = start(dir.path(), shards);
    rt.block_on(async { setup(&pg_connect(o.pg_port).await).await });
    o.kill9();
    let statements = [
        "ALTER TABLE t DROP CONSTRAINT t_pkey",
        "ALTER TABLE t DROP COLUMN id",
        "BEGIN; ALTER TABLE t DROP CONSTRAINT t_pkey",
    ];
    for statement in statements {
        for point in POINTS {
            // In a block, `ddl-done` is before COMMIT too.
            crash_at(dir.path(), shards, point, statement);
            let mut o = start(dir.path(), shards);
            rt.block_on(async {
                let c = pg_connect(o.pg_port).await;
                check(&c, true, &[], &format!("{shards} shards, {statement:?} stopped at {point}")).await;
            });
            o.kill9();
        }
    }
    // Uninterrupted: the new table and all its indexes, also after a SIGKILL.
    let mut o = start(dir.path(), shards);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("ALTER TABLE t DROP CONSTRAINT t_pkey").await.expect("alter");
        check(&c, false, &[], "after the ALTER").await;
        c.batch_execute("INSERT INTO t VALUES (5000, 6000, 'b3'), (5001, 6001, 'new')").await.unwrap();
    });
    o.kill9();
    let mut o = start(dir.path(), shards);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        check(&c, false, &[(5000, 6000, "b3"), (5001, 6001, "new")], "after the ALTER and a SIGKILL").await;
    });
    o.kill9();
}

#[test]
fn a_rekey_stopped_between_its_steps_leaves_the_old_table_and_indexes_one_shard() {
    crash_between_the_steps("1");
}

#[test]
fn a_rekey_stopped_between_its_steps_leaves_the_old_table_and_indexes_two_shards() {
    crash_between_the_steps("2");
}

/// DROP CONSTRAINT ... CASCADE of a key a foreign key uses: the referencing table loses its
/// foreign key first (its own rewrite), then the key goes. Stopped between the steps, both
/// tables come back as they were: the foreign key still there and still enforced.
#[test]
fn a_cascading_key_drop_stopped_between_its_steps_leaves_both_tables() {
    let dir = tempfile::tempdir().unwrap();
    let rt = pg_runtime();
    let shards = "2";
    let mut o = start(dir.path(), shards);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        setup(&c).await;
        c.batch_execute(
            "CREATE TABLE child (x int PRIMARY KEY, id int REFERENCES t); INSERT INTO child VALUES (1, 5), (2, 7)",
        )
        .await
        .unwrap();
    });
    o.kill9();
    for point in ["guard-saved", "rekey-index-dropped", "rekey-index-built", "ddl-done"] {
        crash_at(dir.path(), shards, point, "ALTER TABLE t DROP CONSTRAINT t_pkey CASCADE");
        let mut o = start(dir.path(), shards);
        rt.block_on(async {
            let c = pg_connect(o.pg_port).await;
            check(&c, true, &[], &format!("CASCADE stopped at {point}")).await;
            let fks: i64 = c
                .query_one("SELECT count(*) FROM pg_constraint WHERE conname = 'child_id_fkey'", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(fks, 1, "{point}: the foreign key is back");
            let e = c.execute("INSERT INTO child VALUES (3, 99999)", &[]).await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("23503"), "{point}: {e}");
        });
        o.kill9();
    }
}
