//! ALTER TABLE ... ALTER COLUMN ... TYPE on a table with rows on every shard: the rewritten
//! rows and the new definition survive a SIGKILL and a restart (every row found by its key on
//! the shard its new key hashes to, every index answering under the new type's ordering); a
//! server stopped between the statement's steps (`ORBIT_CRASH_AT`: the table swapped in, an
//! index rebuilt) comes back with the old table and indexes whole; an open block's ALTER is
//! undone by the restart. With 1 and 2 shards. Real server, tokio-postgres client.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use std::path::Path;
use tokio_postgres::Client;

const ROWS: i32 = 300;

fn start(dir: &Path, shards: &str) -> Orbit {
    Orbit::start_in(dir, &["--shards", shards, "--fsync", "always"])
}

async fn setup(c: &Client) {
    c.batch_execute(&format!(
        "CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL, b text, UNIQUE (a)); \
         CREATE INDEX t_b ON t (b); \
         INSERT INTO t SELECT g, g + 1000, (g % 17)::text FROM generate_series(1, {ROWS}) g"
    ))
    .await
    .expect("setup");
}

const ALTER: &str = "ALTER TABLE t ALTER id TYPE bigint, ALTER b TYPE int USING b::int";

async fn types(c: &Client) -> Vec<String> {
    c.query(
        "SELECT data_type::text FROM information_schema.columns WHERE table_name = 't' ORDER BY ordinal_position",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// The table before the ALTER: types, every row by a full scan, by its key, through both
/// indexes (text ordering for b: '10' < '9').
async fn check_old(c: &Client, what: &str) {
    assert_eq!(types(c).await, ["integer", "integer", "text"], "{what}: types");
    let rows: Vec<(i32, i32, String)> = c
        .query("SELECT id, a + 0, b || '' FROM t WHERE id + 0 > 0 ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let want: Vec<(i32, i32, String)> = (1..=ROWS).map(|g| (g, g + 1000, (g % 17).to_string())).collect();
    assert_eq!(rows, want, "{what}: full scan");
    let by_id = c.prepare("SELECT a FROM t WHERE id = $1").await.unwrap();
    let by_a = c.prepare("SELECT id FROM t WHERE a = $1").await.unwrap();
    for g in 1..=ROWS {
        let r = c.query(&by_id, &[&g]).await.unwrap();
        assert_eq!(r.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), [g + 1000], "{what}: id = {g}");
        let r = c.query(&by_a, &[&(g + 1000)]).await.unwrap();
        assert_eq!(r.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), [g], "{what}: a = {}", g + 1000);
    }
    let small: Vec<String> = c
        .query("SELECT DISTINCT b FROM t WHERE b < '2' ORDER BY b", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(small, ["0", "1", "10", "11", "12", "13", "14", "15", "16"], "{what}: b through t_b");
}

/// The table after the ALTER: bigint keys found on their shards, b an integer ordered as one.
/// `refusals`: also try duplicate keys (not in a block: the error would end it).
async fn check_new(c: &Client, extra: &[(i64, i32, i32)], what: &str, refusals: bool) {
    assert_eq!(types(c).await, ["bigint", "integer", "integer"], "{what}: types");
    let rows: Vec<(i64, i32, i32)> = c
        .query("SELECT id, a + 0, b + 0 FROM t WHERE id + 0 > 0 ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let mut want: Vec<(i64, i32, i32)> = (1..=ROWS).map(|g| (i64::from(g), g + 1000, g % 17)).collect();
    want.extend_from_slice(extra);
    assert_eq!(rows, want, "{what}: full scan");
    let by_id = c.prepare("SELECT a FROM t WHERE id = $1").await.unwrap();
    for (id, a, _) in &want {
        let r = c.query(&by_id, &[id]).await.unwrap();
        assert_eq!(r.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), [*a], "{what}: id = {id}");
    }
    let small: Vec<i32> = c
        .query("SELECT DISTINCT b FROM t WHERE b < 12 ORDER BY b", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(small, (0..12).collect::<Vec<_>>(), "{what}: b through t_b");
    if !refusals {
        return;
    }
    let e = c.execute("INSERT INTO t VALUES (100000, 1001, 1)", &[]).await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("23505"), "{what}: {e}");
    let e = c.execute("INSERT INTO t VALUES (1, 99999, 1)", &[]).await.unwrap_err();
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

fn retype_survives_restarts(shards: &str) {
    let dir = tempfile::tempdir().unwrap();
    let rt = pg_runtime();
    let mut o = start(dir.path(), shards);
    rt.block_on(async { setup(&pg_connect(o.pg_port).await).await });
    o.kill9();
    // Stopped between its steps: the old table and indexes, whole.
    for point in ["guard-saved", "retype-rewritten", "retype-index-built"] {
        crash_at(dir.path(), shards, point, ALTER);
        let mut o = start(dir.path(), shards);
        rt.block_on(async {
            let c = pg_connect(o.pg_port).await;
            check_old(&c, &format!("{shards} shards, stopped at {point}")).await;
        });
        o.kill9();
    }
    // An open block's ALTER: undone by the restart.
    let mut o = start(dir.path(), shards);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(&format!("BEGIN; {ALTER}")).await.expect("alter in a block");
        check_new(&c, &[], "in the block", false).await;
    });
    o.kill9();
    let mut o = start(dir.path(), shards);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        check_old(&c, &format!("{shards} shards, block killed before COMMIT")).await;
        // Done: the new definition and rewritten rows, also after a SIGKILL.
        c.batch_execute(ALTER).await.expect("alter");
        check_new(&c, &[], "after the ALTER", true).await;
        c.batch_execute("INSERT INTO t VALUES (5000000000, 7000, 3)").await.unwrap();
    });
    o.kill9();
    let mut o = start(dir.path(), shards);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        check_new(&c, &[(5_000_000_000, 7000, 3)], &format!("{shards} shards, after the ALTER and a SIGKILL"), true)
            .await;
    });
    o.kill9();
}

#[test]
fn a_retyped_table_survives_sigkill_and_restarts_one_shard() {
    retype_survives_restarts("1");
}

#[test]
fn a_retyped_table_survives_sigkill_and_restarts_two_shards() {
    retype_survives_restarts("2");
}
