//! Sequences made by CREATE SEQUENCE alone are in every shard's catalog copy: each session,
//! whichever shard accepted it, names them as regclass, and the catalog entries survive a
//! SIGKILL and restart on the same data dir, while a crash drops those of an uncommitted
//! block's sequences with their rows. Real server (`--shards 2`), tokio-postgres clients.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use tokio_postgres::Client;

const SEQS: [&str; 4] = ["s1", "s2", "s3", "s4"];

/// Sessions enough that the kernel's SO_REUSEPORT spread puts some on each shard.
async fn sessions(port: u16) -> Vec<Client> {
    let mut out = Vec::new();
    for _ in 0..6 {
        out.push(pg_connect(port).await);
    }
    out
}

async fn names(c: &Client, sql: &str) -> Vec<String> {
    c.query(sql, &[]).await.unwrap().iter().map(|r| r.get::<_, String>(0)).collect()
}

/// Every session sees each sequence of `present` as a relation (regclass, nextval by regclass,
/// psql's listing) and none of `absent`.
async fn check_everywhere(port: u16, present: &[&str], absent: &[&str]) {
    for c in sessions(port).await {
        for s in present {
            let back: String = c.query_one(&format!("SELECT '{s}'::regclass::text"), &[]).await.unwrap().get(0);
            assert_eq!(&back, s);
            c.query_one(&format!("SELECT nextval('{s}'::regclass)"), &[]).await.unwrap();
        }
        for s in absent {
            let e = c.query(&format!("SELECT '{s}'::regclass"), &[]).await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("42P01"), "{s} is gone");
        }
        let listed = names(
            &c,
            "SELECT c.relname::text FROM pg_class c WHERE c.relkind = 'S' AND pg_table_is_visible(c.oid) ORDER BY 1",
        )
        .await;
        assert_eq!(listed, present);
    }
}

#[test]
fn sequences_are_in_every_shards_catalog_across_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        for s in SEQS {
            c.batch_execute(&format!("CREATE SEQUENCE {s}")).await.unwrap();
        }
        c.batch_execute("CREATE TABLE t (id int DEFAULT nextval('s1'), v text); DROP SEQUENCE s4").await.unwrap();
        check_everywhere(o.pg_port, &SEQS[..3], &["s4"]).await;
        // A block in flight when the server dies: its sequence goes, the one it dropped comes back.
        c.batch_execute("BEGIN; CREATE SEQUENCE half; DROP SEQUENCE s3").await.unwrap();
        let back: String = c.query_one("SELECT 'half'::regclass::text", &[]).await.unwrap().get(0);
        assert_eq!(back, "half");
    });
    o.kill9();
    let o = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        check_everywhere(o.pg_port, &SEQS[..3], &["s4", "half"]).await;
        for c in sessions(o.pg_port).await {
            c.batch_execute("INSERT INTO t (v) VALUES ('x')").await.unwrap();
        }
        let c = pg_connect(o.pg_port).await;
        let ids: Vec<i32> =
            c.query("SELECT id FROM t ORDER BY id", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(ids.len(), 6);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "a DEFAULT nextval('s1') hands out distinct values: {ids:?}");
    });
}

/// A crash between a sequence's row and its catalog entry (CREATE: the row written, the entry
/// not yet; DROP: the row gone, the entry not yet): start-up makes the entries follow the rows.
#[test]
fn start_up_settles_entries_a_crash_left_apart_from_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let rt = pg_runtime();
    let o = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE SEQUENCE kept; CREATE SEQUENCE dropped").await.unwrap();
    });
    drop(o);
    for (point, sql) in
        [("sequence-row-written", "CREATE SEQUENCE made"), ("sequence-row-dropped", "DROP SEQUENCE dropped")]
    {
        let o = Orbit::start_in_with_env(dir.path(), &args, &[("ORBIT_CRASH_AT", point)]);
        rt.block_on(async {
            let c = pg_connect(o.pg_port).await;
            c.batch_execute(sql).await.expect_err("the server aborts at the crash point");
        });
        drop(o);
    }
    let o = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        check_everywhere(o.pg_port, &["kept", "made"], &["dropped"]).await;
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE SEQUENCE dropped; DROP SEQUENCE made").await.unwrap();
    });
    drop(o);
    let o = Orbit::start_in(dir.path(), &args);
    rt.block_on(check_everywhere(o.pg_port, &["dropped", "kept"], &["made"]));
}

/// The column DEFAULT of table `t`'s column `id`, as psql shows it.
async fn default_of(c: &Client, table: &str) -> String {
    let sql = format!("SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = '{table}'::regclass");
    c.query_one(&sql, &[]).await.unwrap().get(0)
}

async fn insert_id(c: &Client) -> i32 {
    c.query_one("INSERT INTO r (v) VALUES ('x') RETURNING id", &[]).await.unwrap().get(0)
}

/// ALTER SEQUENCE ... RENAME TO across a crash: a block's rename that did not commit is undone
/// at start-up (the sequence and the DEFAULT calling it get the old name back), a committed
/// one stays, and a rename a crash stopped between its steps leaves a sequence the DEFAULT
/// calls that hands out no value twice.
#[test]
fn sequence_rename_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE r (id serial PRIMARY KEY, v text)").await.unwrap();
        assert_eq!(insert_id(&c).await, 1);
        c.batch_execute("ALTER SEQUENCE r_id_seq RENAME TO r_ids").await.unwrap();
        assert_eq!(insert_id(&c).await, 2);
        // In flight when the server dies.
        c.batch_execute("BEGIN; ALTER SEQUENCE r_ids RENAME TO r_half").await.unwrap();
        assert_eq!(insert_id(&c).await, 3);
        assert_eq!(default_of(&c, "r").await, "nextval('r_half'::regclass)");
    });
    o.kill9();
    let o = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert_eq!(default_of(&c, "r").await, "nextval('r_ids'::regclass)");
        check_everywhere(o.pg_port, &["r_ids"], &["r_half", "r_id_seq"]).await;
        // check_everywhere took six values (nextval in each session); the insert of the
        // rolled-back block took 3.
        assert_eq!(insert_id(&c).await, 10);
    });
    drop(o);
    let o = Orbit::start_in_with_env(dir.path(), &args, &[("ORBIT_CRASH_AT", "sequence-defaults-renamed")]);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("ALTER SEQUENCE r_ids RENAME TO r_next")
            .await
            .expect_err("the server aborts at the crash point");
    });
    drop(o);
    let o = Orbit::start_in(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert_eq!(default_of(&c, "r").await, "nextval('r_next'::regclass)");
        assert_eq!(insert_id(&c).await, 11);
        let ids: Vec<i32> =
            c.query("SELECT id FROM r ORDER BY id", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(ids, [1, 2, 10, 11]);
    });
}
