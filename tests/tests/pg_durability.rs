//! SQL tables are durable: the catalog and every row survive a clean restart (SIGTERM), a
//! SIGKILL with `--fsync always` (every acknowledged statement is back), a snapshot followed by
//! more changes and a SIGKILL (snapshot plus log replay give the exact state), and a change of
//! the shard count (rows move to their new owner shard). Real server, tokio-postgres client.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_postgres::{Client, SimpleQueryMessage};

type Dump = Vec<(String, Vec<Vec<Option<String>>>)>;

/// Every row of each table, as text, in primary-key order (`order` is the ORDER BY list).
async fn dump(c: &Client, tables: &[(&str, &str)]) -> Dump {
    let mut out = Vec::new();
    for (t, order) in tables {
        let msgs = c.simple_query(&format!("SELECT * FROM {t} ORDER BY {order}")).await.expect("select");
        let rows = msgs
            .iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect()),
                _ => None,
            })
            .collect();
        out.push((t.to_string(), rows));
    }
    out
}

const TABLES: [(&str, &str); 2] = [("items", "id"), ("pairs", "a, b")];

/// Creates tables and changes them every way a statement can: multi-row inserts, updates of
/// values and of primary keys (rows move between shards), deletes, a dropped table.
async fn populate(c: &Client, tag: &str, base: i64) {
    if base == 0 {
        c.batch_execute(
            "CREATE TABLE items (id int8 PRIMARY KEY, name varchar(40) NOT NULL, qty int4 DEFAULT 7, price float8, \
             ok bool, raw bytea, small int2, f4 real); \
             CREATE TABLE pairs (a text, b int4, note text, PRIMARY KEY (a, b))",
        )
        .await
        .expect("create");
    }
    let ins = c
        .prepare("INSERT INTO items (id, name, price, ok, raw, small, f4) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .await
        .unwrap();
    for i in base..base + 120 {
        let raw = vec![i as u8, 0, 0xff];
        c.execute(
            &ins,
            &[
                &i,
                &format!("{tag}-{i}"),
                &(i as f64 * 1.25),
                &(i % 3 == 0),
                &raw,
                &((i % 100) as i16),
                &(i as f32 / 4.0),
            ],
        )
        .await
        .unwrap();
    }
    c.batch_execute(&format!(
        "INSERT INTO pairs VALUES ('{tag}', 1, 'one'), ('{tag}', 2, NULL), ('{tag}x', 1, 'é ünïcode'); \
         UPDATE items SET qty = qty + id, name = name || '!' WHERE id % 5 = 0 AND id >= {base}; \
         UPDATE items SET id = id + 100000 WHERE id % 7 = 0 AND id >= {base} AND id < {base} + 120; \
         DELETE FROM items WHERE id % 11 = 0 AND id >= {base} AND id < {base} + 120; \
         UPDATE pairs SET b = 3 WHERE a = '{tag}' AND b = 2; \
         DELETE FROM pairs WHERE a = '{tag}x'"
    ))
    .await
    .expect("changes");
    c.batch_execute(&format!(
        "CREATE TABLE scratch (k int4 PRIMARY KEY); INSERT INTO scratch VALUES ({base}); DROP TABLE scratch"
    ))
    .await
    .expect("drop");
}

async fn assert_tables_work(c: &Client) {
    // The catalog came back whole: the primary key is enforced, the dropped table is gone.
    let e = c.batch_execute("INSERT INTO pairs VALUES ('a', 1, 'again')").await.expect_err("duplicate key");
    assert_eq!(e.code().map(|c| c.code()), Some("23505"));
    let e = c.batch_execute("SELECT * FROM scratch").await.expect_err("dropped table");
    assert_eq!(e.code().map(|c| c.code()), Some("42P01"));
    // New DDL after recovery gets a catalog generation no older one shadows.
    c.batch_execute("CREATE TABLE scratch (k int4 PRIMARY KEY); INSERT INTO scratch VALUES (1); DROP TABLE scratch")
        .await
        .expect("DDL after restart");
}

fn start(dir: &Path, args: &[&str]) -> Orbit {
    Orbit::start_in(dir, args)
}

#[test]
fn tables_survive_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2"];
    let mut o = start(dir.path(), &args);
    let rt = pg_runtime();
    let before = rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        populate(&c, "a", 0).await;
        // A truncated table stays empty after the restart.
        c.batch_execute("CREATE TABLE emptied (id int PRIMARY KEY); INSERT INTO emptied VALUES (1), (2), (3)")
            .await
            .unwrap();
        c.batch_execute("TRUNCATE emptied").await.unwrap();
        dump(&c, &TABLES).await
    });
    assert!(before[0].1.len() > 90, "{before:?}");
    assert!(o.terminate(Duration::from_secs(20)).is_some_and(|s| s.success()), "clean exit");
    let o2 = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        assert_eq!(dump(&c, &TABLES).await, before);
        assert!(c.query("SELECT id FROM emptied", &[]).await.unwrap().is_empty(), "TRUNCATE survives restart");
        assert_tables_work(&c).await;
        // A primary-key lookup finds each row on the shard it hashes to.
        for id in [1i64, 2, 3, 100007, 119] {
            let n = c.query("SELECT id FROM items WHERE id = $1", &[&id]).await.unwrap().len();
            let expect = before[0].1.iter().filter(|r| r[0].as_deref() == Some(&id.to_string())).count();
            assert_eq!(n, expect, "id {id}");
        }
    });
}

#[test]
fn sigkill_with_fsync_always_keeps_every_acknowledged_row() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = start(dir.path(), &args);
    let rt = pg_runtime();
    let acked = rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE acks (id int4 PRIMARY KEY, v text)").await.unwrap();
        // Views are catalog entries: logged like tables, and so are their drops.
        c.batch_execute("CREATE VIEW recent (n) AS SELECT id FROM acks WHERE id >= 280").await.unwrap();
        c.batch_execute("CREATE VIEW gone AS SELECT 1 AS x; DROP VIEW gone").await.unwrap();
        // A view's check option is kept with it.
        c.batch_execute("CREATE VIEW low AS SELECT id, v FROM acks WHERE id < 1000 WITH LOCAL CHECK OPTION")
            .await
            .unwrap();
        let ins = c.prepare("INSERT INTO acks VALUES ($1, $2)").await.unwrap();
        let mut acked = Vec::new();
        for i in 0..300i32 {
            c.execute(&ins, &[&i, &format!("v{i}")]).await.unwrap();
            acked.push(i);
        }
        c.execute("UPDATE acks SET v = 'changed' WHERE id < 10", &[]).await.unwrap();
        c.execute("DELETE FROM acks WHERE id >= 290", &[]).await.unwrap();
        acked
    });
    // Killed right after the last acknowledgement: nothing may be lost.
    o.kill9();
    let o2 = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        let rows = c.query("SELECT id, v FROM acks ORDER BY id", &[]).await.unwrap();
        let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let want: Vec<(i32, String)> = acked
            .into_iter()
            .filter(|&i| i < 290)
            .map(|i| (i, if i < 10 { "changed".to_string() } else { format!("v{i}") }))
            .collect();
        assert_eq!(got, want);
        let recent: Vec<i32> =
            c.query("SELECT n FROM recent ORDER BY n", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(recent, (280..290).collect::<Vec<i32>>());
        let e = c.query("SELECT * FROM gone", &[]).await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("42P01"));
        let e = c.execute("INSERT INTO low VALUES (5000, 'high')", &[]).await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("44000"), "the check option survives restart: {e}");
        let check: String = c
            .query_one("SELECT check_option FROM information_schema.views WHERE table_name = 'low'", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(check, "LOCAL");
    });
}

#[test]
fn a_drop_table_that_did_not_commit_is_undone_by_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = start(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE precious (id int PRIMARY KEY, v text); CREATE INDEX precious_v ON precious (v)")
            .await
            .unwrap();
        c.batch_execute("INSERT INTO precious SELECT g, 'v' || g FROM generate_series(1, 50) g").await.unwrap();
        c.batch_execute("CREATE TABLE doomed (id int PRIMARY KEY)").await.unwrap();
        // A committed DROP is durable; an uncommitted one is in flight when the server dies.
        c.batch_execute("BEGIN; DROP TABLE doomed; COMMIT").await.unwrap();
        c.batch_execute("BEGIN; DROP TABLE precious").await.unwrap();
        let e = c.query("SELECT * FROM precious", &[]).await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("42P01"));
    });
    o.kill9();
    let o2 = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        let n: i64 = c.query_one("SELECT count(*) FROM precious WHERE v = 'v7'", &[]).await.unwrap().get(0);
        assert_eq!(n, 1, "the table, its rows and its index are back");
        let all: i64 = c.query_one("SELECT count(*) FROM precious", &[]).await.unwrap().get(0);
        assert_eq!(all, 50);
        let e = c.query("SELECT * FROM doomed", &[]).await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("42P01"));
        let names: Vec<String> = c
            .query("SELECT relname::text FROM pg_class WHERE relname::text LIKE '%precious%' ORDER BY 1", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(names, ["precious", "precious_pkey", "precious_v"]);
    });
}

/// A crash between shard 0 applying a CREATE, DROP, RENAME or ALTER TABLE and the other shards
/// applying it (the statement never acknowledged): after the restart every shard has shard 0's
/// catalog. `ORBIT_CRASH_AFTER_CATALOG_OWNER` makes the server abort at that point.
#[test]
fn a_ddl_a_crash_stopped_between_the_shards_ends_as_shard_0_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let rt = pg_runtime();
    let mut o = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE keep (id int PRIMARY KEY, v text); \
             INSERT INTO keep SELECT g, 'k' || g FROM generate_series(1, 200) g; \
             CREATE TABLE victim (id int PRIMARY KEY); INSERT INTO victim SELECT generate_series(1, 200)",
        )
        .await
        .unwrap();
    });
    o.kill9();
    for (statement, relation) in [
        ("DROP TABLE victim", "victim"),
        ("CREATE TABLE fresh (id int PRIMARY KEY, v text)", "fresh"),
        ("ALTER TABLE keep RENAME TO kept", "keep"),
        ("ALTER TABLE kept ADD COLUMN extra int DEFAULT 7", "kept"),
    ] {
        let mut crashing =
            Orbit::start_in_with_env(dir.path(), &args, &[("ORBIT_CRASH_AFTER_CATALOG_OWNER", relation)]);
        rt.block_on(async {
            let c = pg_connect(crashing.pg_port).await;
            assert!(c.batch_execute(statement).await.is_err(), "{statement}: the server aborts before it answers");
        });
        let status = crashing.child.take().expect("running").wait().expect("wait");
        assert!(!status.success(), "{statement}: aborted");
    }
    for round in 0..2 {
        let mut o = start(dir.path(), &args);
        rt.block_on(async {
            // Each connection is served by one shard: ask from several, so both shards' catalogs answer.
            for k in 0..4 {
                let c = pg_connect(o.pg_port).await;
                // DROP TABLE first hides the table under another name: the crash came there, so
                // the DROP did not happen (round 1: dropped since, by a DROP that finished).
                let victim = c.query_one("SELECT count(*) FROM victim", &[]).await;
                match round {
                    0 => assert_eq!(victim.unwrap().get::<_, i64>(0), 200, "connection {k}"),
                    _ => assert_eq!(victim.unwrap_err().code().map(|c| c.code()), Some("42P01"), "connection {k}"),
                }
                let e = c.query("SELECT * FROM keep", &[]).await.unwrap_err();
                assert_eq!(e.code().map(|c| c.code()), Some("42P01"), "round {round}, connection {k}");
                let r = c.query_one("SELECT count(*), sum(extra), count(DISTINCT v) FROM kept", &[]).await.unwrap();
                let (n, sum, distinct): (i64, i64, i64) = (r.get(0), r.get(1), r.get(2));
                assert_eq!((n, sum, distinct), (200, 1400, 200), "round {round}, connection {k}");
                let n: i64 = c.query_one("SELECT count(*) FROM fresh", &[]).await.unwrap().get(0);
                assert_eq!(n, 0, "round {round}, connection {k}");
            }
            let c = pg_connect(o.pg_port).await;
            if round == 0 {
                // The names work on every shard: rows of each table land on both.
                c.batch_execute(
                    "DROP TABLE victim; CREATE TABLE victim (id int PRIMARY KEY, w text); \
                     INSERT INTO victim SELECT g, 'w' FROM generate_series(1, 100) g; \
                     INSERT INTO fresh SELECT g, 'f' FROM generate_series(1, 100) g",
                )
                .await
                .unwrap();
                for t in ["victim", "fresh"] {
                    let n: i64 = c.query_one(&format!("SELECT count(*) FROM {t}"), &[]).await.unwrap().get(0);
                    assert_eq!(n, 100, "{t}");
                }
                // Dropped again for the checks of round 1 (after a restart that replays the fixes).
                c.batch_execute("DROP TABLE victim; TRUNCATE fresh").await.unwrap();
            }
        });
        o.kill9();
    }
}

#[test]
fn what_an_uncommitted_block_created_is_undone_by_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = start(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE kept (id int PRIMARY KEY, v text)").await.unwrap();
        c.batch_execute("INSERT INTO kept SELECT g, 'v' || g FROM generate_series(1, 20) g").await.unwrap();
        // A committed migration stays, journal and all.
        c.batch_execute(
            "BEGIN; CREATE TABLE done (id serial PRIMARY KEY, n int); INSERT INTO done (n) VALUES (1), (2); \
             CREATE INDEX done_n ON done (n); COMMIT",
        )
        .await
        .unwrap();
        // One that is in flight when the server dies: a table (re-keyed by a later index), a
        // view, a sequence, an index on an existing table and a rename.
        c.batch_execute(
            "BEGIN; CREATE TABLE half (id int, n int); INSERT INTO half VALUES (1, 1); \
             ALTER TABLE half ADD PRIMARY KEY (id); CREATE INDEX half_n ON half (n); \
             CREATE VIEW half_view AS SELECT id FROM half; CREATE SEQUENCE half_seq; \
             CREATE INDEX kept_v ON kept (v); ALTER TABLE kept RENAME TO renamed; DROP TABLE done; \
             CREATE TABLE done (id serial PRIMARY KEY)",
        )
        .await
        .unwrap();
        let n: i64 = c.query_one("SELECT count(*) FROM renamed", &[]).await.unwrap().get(0);
        assert_eq!(n, 20);
    });
    o.kill9();
    let o2 = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        for gone in ["half", "half_view", "renamed"] {
            let e = c.query(&format!("SELECT * FROM {gone}"), &[]).await.unwrap_err();
            assert_eq!(e.code().map(|c| c.code()), Some("42P01"), "{gone} is gone");
        }
        let e = c.query("SELECT nextval('half_seq')", &[]).await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("42P01"));
        let n: i64 = c.query_one("SELECT count(*) FROM kept", &[]).await.unwrap().get(0);
        assert_eq!(n, 20, "the renamed table has its name and rows back");
        let n: i64 = c.query_one("SELECT count(*) FROM done WHERE n = 2", &[]).await.unwrap().get(0);
        assert_eq!(n, 1, "the committed block's table and index stay (dropped and created again in the lost block)");
        let next: i64 = c.query_one("SELECT nextval('done_id_seq')", &[]).await.unwrap().get(0);
        assert_eq!(next, 3, "its sequence is back with its name");
        let names: Vec<String> = c
            .query("SELECT relname::text FROM pg_class WHERE relname::text ~ '^(half|kept|done)' ORDER BY 1", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(names, ["done", "done_id_seq", "done_n", "done_pkey", "kept", "kept_pkey"]);
        // The same migration runs again from scratch, and survives the next crash committed.
        c.batch_execute(
            "BEGIN; CREATE TABLE half (id int PRIMARY KEY, n int); CREATE INDEX kept_v ON kept (v); COMMIT",
        )
        .await
        .unwrap();
    });
    drop(o2);
    let o3 = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o3.pg_port).await;
        c.batch_execute("INSERT INTO half VALUES (1, 1)").await.unwrap();
        let n: i64 = c.query_one("SELECT count(*) FROM kept WHERE v = 'v3'", &[]).await.unwrap().get(0);
        assert_eq!(n, 1);
    });
}

/// What an uncommitted block's ALTER TABLE, DROP INDEX, DROP VIEW, CREATE OR REPLACE VIEW and
/// DROP SEQUENCE replaced comes back after a crash (their durable copies); a committed block's changes stay
/// and leave no copies behind.
#[test]
fn what_an_uncommitted_block_altered_or_dropped_is_put_back_by_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = start(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE acct (id int PRIMARY KEY, v int, note text); \
             INSERT INTO acct SELECT g, g * 10, 'n' || g FROM generate_series(1, 50) g; \
             CREATE INDEX acct_v ON acct (v); CREATE VIEW big AS SELECT id FROM acct WHERE v > 400; \
             CREATE VIEW small AS SELECT id FROM acct WHERE v < 30; \
             CREATE TABLE other (id int PRIMARY KEY, x int); INSERT INTO other VALUES (1, 1); \
             CREATE SEQUENCE keep_seq; SELECT nextval('keep_seq')",
        )
        .await
        .unwrap();
        // Committed: stays.
        c.batch_execute("BEGIN; ALTER TABLE other ADD COLUMN y int DEFAULT 7; COMMIT").await.unwrap();
        // In flight when the server dies.
        c.batch_execute(
            "BEGIN; ALTER TABLE acct DROP COLUMN note; ALTER TABLE acct ADD COLUMN w int DEFAULT 1; \
             UPDATE acct SET v = -v; DROP INDEX acct_v; DROP VIEW small; \
             CREATE OR REPLACE VIEW big AS SELECT id FROM acct WHERE v > 0; \
             ALTER TABLE other RENAME COLUMN x TO z; DROP SEQUENCE keep_seq",
        )
        .await
        .unwrap();
        let n: i64 = c.query_one("SELECT count(*) FROM big", &[]).await.unwrap().get(0);
        assert_eq!(n, 0);
    });
    o.kill9();
    let o2 = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        let cols: Vec<String> = c
            .query("SELECT column_name::text FROM information_schema.columns WHERE table_name = 'acct' ORDER BY ordinal_position", &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(cols, ["id", "v", "note"], "acct's old definition is back");
        let r = c.query_one("SELECT count(*), sum(v), min(note) FROM acct", &[]).await.unwrap();
        assert_eq!((r.get::<_, i64>(0), r.get::<_, i64>(1), r.get::<_, String>(2)), (50, 12750, "n1".to_string()));
        // The index is back and used.
        let plan: Vec<String> =
            c.query("EXPLAIN SELECT id FROM acct WHERE v = 30", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
        assert!(plan.iter().any(|l| l.contains("acct_v")), "{plan:?}");
        let n: i64 = c.query_one("SELECT count(*) FROM acct WHERE v = 30", &[]).await.unwrap().get(0);
        assert_eq!(n, 1);
        // Both views as they were.
        let n: i64 = c.query_one("SELECT count(*) FROM big", &[]).await.unwrap().get(0);
        assert_eq!(n, 10);
        let n: i64 = c.query_one("SELECT count(*) FROM small", &[]).await.unwrap().get(0);
        assert_eq!(n, 2);
        // The committed ALTER stays; the uncommitted rename of its column is undone.
        let r = c.query_one("SELECT x, y FROM other", &[]).await.unwrap();
        assert_eq!((r.get::<_, i32>(0), r.get::<_, i32>(1)), (1, 7));
        // The dropped sequence is back where it was.
        let next: i64 = c.query_one("SELECT nextval('keep_seq')", &[]).await.unwrap().get(0);
        assert_eq!(next, 2);
        // No copies are left in the catalog.
        let n: i64 = c.query_one("SELECT count(*) FROM pg_class WHERE relname::text ~ 'copy|pending'", &[]).await.unwrap().get(0);
        assert_eq!(n, 0);
        // The same change committed survives the next restart.
        c.batch_execute("BEGIN; ALTER TABLE acct DROP COLUMN note; DROP INDEX acct_v; COMMIT").await.unwrap();
    });
    drop(o2);
    let o3 = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o3.pg_port).await;
        let n: i64 = c
            .query_one("SELECT count(*) FROM information_schema.columns WHERE table_name = 'acct'", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 2);
        let n: i64 = c.query_one("SELECT count(*) FROM pg_class WHERE relname = 'acct_v'", &[]).await.unwrap().get(0);
        assert_eq!(n, 0);
    });
}

fn save(o: &Orbit) {
    let mut c = o.client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match redis::cmd("SAVE").query::<String>(&mut c) {
            Ok(_) => break,
            Err(e) if e.to_string().contains("in progress") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("SAVE: {e}"),
        }
    }
}

#[test]
fn snapshot_then_more_changes_then_sigkill_gives_the_exact_state() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always", "--log-file-size", "16kb"];
    let mut o = start(dir.path(), &args);
    let rt = pg_runtime();
    let before = rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        populate(&c, "a", 0).await;
        c.batch_execute("CREATE VIEW snap_view AS SELECT 42 AS answer").await.unwrap();
        let _: String = redis::cmd("BGSAVE").query(&mut o.client()).unwrap();
        // Changes racing with the background snapshot.
        populate(&c, "b", 1000).await;
        save(&o);
        populate(&c, "c", 2000).await;
        dump(&c, &TABLES).await
    });
    for shard in 0..2 {
        let snaps = std::fs::read_dir(dir.path().join(format!("shard-{shard}")))
            .unwrap()
            .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".snap")))
            .count();
        assert_eq!(snaps, 1, "shard {shard} has its snapshot");
    }
    o.kill9();
    let o2 = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        assert_eq!(dump(&c, &TABLES).await, before);
        assert_tables_work(&c).await;
    });
    // Once more from the snapshot alone (a snapshot right before the kill).
    save(&o2);
    let mut o2 = o2;
    o2.kill9();
    let o3 = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o3.pg_port).await;
        assert_eq!(dump(&c, &TABLES).await, before);
        let answer: i32 = c.query_one("SELECT answer FROM snap_view", &[]).await.unwrap().get(0);
        assert_eq!(answer, 42, "a view is carried by the snapshot");
    });
}

#[test]
fn changing_the_shard_count_moves_rows_to_their_new_owner() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = start(dir.path(), &["--shards", "2", "--fsync", "always"]);
    let rt = pg_runtime();
    let before = rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        populate(&c, "a", 0).await;
        dump(&c, &TABLES).await
    });
    o.kill9();
    for shards in ["1", "3"] {
        let mut o2 = start(dir.path(), &["--shards", shards, "--fsync", "always"]);
        rt.block_on(async {
            let c = pg_connect(o2.pg_port).await;
            assert_eq!(dump(&c, &TABLES).await, before, "--shards {shards}");
            // Lookups by primary key go to one shard: each row must be on its owner.
            for row in &before[0].1 {
                let id: i64 = row[0].as_deref().unwrap().parse().unwrap();
                let n = c.query("SELECT id FROM items WHERE id = $1", &[&id]).await.unwrap().len();
                assert_eq!(n, 1, "id {id} with --shards {shards}");
            }
            assert_tables_work(&c).await;
        });
        o2.kill9();
    }
}

#[test]
fn sequences_never_repeat_a_value_across_sigkill_and_committed_transactions_survive() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = start(dir.path(), &args);
    let rt = pg_runtime();
    let last = rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE orders (id bigserial PRIMARY KEY, item text NOT NULL)").await.unwrap();
        c.batch_execute("CREATE SEQUENCE tickets START 100 INCREMENT 10").await.unwrap();
        let mut last = 0i64;
        for i in 0..40 {
            let id: i64 = c
                .query_one("INSERT INTO orders (item) VALUES ($1) RETURNING id", &[&format!("i{i}")])
                .await
                .unwrap()
                .get(0);
            assert!(id > last);
            last = id;
        }
        // Values taken by a rolled-back transaction are not given back.
        c.batch_execute("BEGIN; INSERT INTO orders (item) VALUES ('gone'); ROLLBACK").await.unwrap();
        let t: i64 = c.query_one("SELECT nextval('tickets')", &[]).await.unwrap().get(0);
        assert_eq!(t, 100);
        // A transaction spanning both shards, committed just before the kill.
        c.batch_execute("BEGIN; INSERT INTO orders (item) VALUES ('a'), ('b'), ('c'), ('d'); COMMIT").await.unwrap();
        last
    });
    o.kill9();
    let o2 = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        let n: i64 = c.query_one("SELECT count(*) FROM orders", &[]).await.unwrap().get(0);
        assert_eq!(n, 44);
        // New values come after every value handed out before the kill (the rolled-back one too).
        let id: i64 = c.query_one("INSERT INTO orders (item) VALUES ('after') RETURNING id", &[]).await.unwrap().get(0);
        assert!(id > last + 5, "{id} must be above {last} and the 5 taken after it");
        let t: i64 = c.query_one("SELECT nextval('tickets')", &[]).await.unwrap().get(0);
        assert_eq!(t, 110);
        let max: i64 = c.query_one("SELECT max(id) FROM orders", &[]).await.unwrap().get(0);
        assert_eq!(max, id);
    });
}

#[test]
fn altered_columns_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = start(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE w (id int PRIMARY KEY, a text, b int)").await.unwrap();
        c.batch_execute("INSERT INTO w VALUES (1, 'x', 10), (2, 'y', 20), (3, 'z', 30)").await.unwrap();
        c.batch_execute("ALTER TABLE w ADD COLUMN c int NOT NULL DEFAULT 5").await.unwrap();
        c.batch_execute("ALTER TABLE w DROP COLUMN a").await.unwrap();
        c.batch_execute("ALTER TABLE w RENAME COLUMN b TO bb").await.unwrap();
        c.batch_execute("INSERT INTO w (id, bb) VALUES (4, 40)").await.unwrap();
    });
    o.kill9();
    let o2 = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        let got = dump(&c, &[("w", "id")]).await;
        let row = |id: &str, bb: &str| vec![Some(id.to_string()), Some(bb.to_string()), Some("5".to_string())];
        assert_eq!(got, vec![("w".to_string(), vec![row("1", "10"), row("2", "20"), row("3", "30"), row("4", "40")])]);
    });
}

/// Schemas and the schema of each table survive a SIGKILL (`--fsync always`), a snapshot with
/// more changes after it, and a change of the shard count; their OIDs stay. A DROP SCHEMA
/// that did not commit is undone by the crash; a ROLLBACK undoes CREATE SCHEMA.
#[test]
fn schemas_survive_sigkill_snapshots_and_resharding() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = start(dir.path(), &args);
    let rt = pg_runtime();
    let list = "SELECT n.nspname::text, n.oid::int8, count(c.oid) FROM pg_namespace n LEFT JOIN pg_class c \
                ON c.relnamespace = n.oid WHERE n.nspname::text IN ('ds', 'de', 'dx', 'public') GROUP BY 1, 2 ORDER BY 1";
    let before = rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE SCHEMA ds; CREATE SCHEMA de; \
             CREATE TABLE ds.t (id int PRIMARY KEY, v text); CREATE INDEX t_v ON ds.t (v); \
             CREATE TABLE t (id int PRIMARY KEY, v text); \
             INSERT INTO ds.t SELECT g, 'ds' || g FROM generate_series(1, 40) g; \
             INSERT INTO t VALUES (1, 'public'); \
             CREATE SEQUENCE ds.q; SELECT nextval('ds.q')",
        )
        .await
        .unwrap();
        c.batch_execute("BEGIN").await.unwrap();
        c.batch_execute("CREATE SCHEMA dx; CREATE TABLE dx.gone (a int)").await.unwrap();
        c.batch_execute("ROLLBACK").await.unwrap();
        let rows = c.query(list, &[]).await.unwrap();
        let before: Vec<(String, i64, i64)> =
            rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1), r.get::<_, i64>(2))).collect();
        assert_eq!(before.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["de", "ds", "public"]);
        // In flight when the server dies: undone at start-up.
        c.batch_execute("BEGIN; DROP SCHEMA de").await.unwrap();
        let e = c.query("CREATE TABLE de.x (a int)", &[]).await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("3F000"));
        c.batch_execute("ROLLBACK; BEGIN; DROP SCHEMA de").await.unwrap();
        before
    });
    o.kill9();
    let check = |port: u16, ds_rows: i64| {
        rt.block_on(async {
            let c = pg_connect(port).await;
            let rows = c.query(list, &[]).await.unwrap();
            let got: Vec<(String, i64, i64)> =
                rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1), r.get::<_, i64>(2))).collect();
            assert_eq!(got, before, "schemas, their OIDs and what they hold");
            let n: i64 = c.query_one("SELECT count(*) FROM ds.t WHERE v LIKE 'ds%'", &[]).await.unwrap().get(0);
            assert_eq!(n, ds_rows);
            let v: String = c.query_one("SELECT v FROM t WHERE id = 1", &[]).await.unwrap().get(0);
            assert_eq!(v, "public");
            let next: i64 = c.query_one("SELECT nextval('ds.q')", &[]).await.unwrap().get(0);
            assert!(next >= 2, "sequence in a schema: {next}");
            c.batch_execute("SET search_path = ds").await.unwrap();
            let n: i64 = c.query_one("SELECT count(*) FROM t", &[]).await.unwrap().get(0);
            assert_eq!(n, ds_rows, "unqualified t is ds.t on this search path");
        })
    };
    let o2 = start(dir.path(), &args);
    check(o2.pg_port, 40);
    // A snapshot, more rows after it, a SIGKILL.
    save(&o2);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        c.batch_execute("INSERT INTO ds.t SELECT g, 'ds' || g FROM generate_series(41, 50) g").await.unwrap();
    });
    let mut o2 = o2;
    o2.kill9();
    let o3 = start(dir.path(), &args);
    check(o3.pg_port, 50);
    drop(o3);
    // Three shards: the catalog and the rows are re-sharded.
    let o4 = start(dir.path(), &["--shards", "3", "--fsync", "always"]);
    check(o4.pg_port, 50);
}

/// What pg_dump's restore script does to a table and a sequence, in a block a crash ends
/// (ALTER COLUMN ... ADD GENERATED AS IDENTITY with its new sequence, SET DEFAULT, ADD PRIMARY
/// KEY over a table with a UNIQUE index, ALTER SEQUENCE ... OWNED BY / RESTART), is undone at
/// start-up as ROLLBACK would have.
#[test]
fn an_uncommitted_restore_script_is_undone_by_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = start(dir.path(), &args);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE t (id int NOT NULL, c text); \
             INSERT INTO t SELECT g, 'c' || g FROM generate_series(1, 20) g; \
             CREATE UNIQUE INDEX t_c ON t (c); CREATE SEQUENCE s; CREATE TABLE own (k bigint)",
        )
        .await
        .unwrap();
        c.batch_execute(
            "BEGIN; \
             ALTER TABLE t ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME public.t_seq START WITH 21); \
             ALTER TABLE ONLY t ALTER COLUMN c SET DEFAULT 'd'; \
             ALTER TABLE ONLY t ADD CONSTRAINT t_pkey PRIMARY KEY (id); \
             ALTER SEQUENCE s OWNED BY own.k; ALTER SEQUENCE s RESTART WITH 100",
        )
        .await
        .unwrap();
        let id: i32 = c.query_one("INSERT INTO t DEFAULT VALUES RETURNING id", &[]).await.unwrap().get(0);
        assert_eq!(id, 21);
    });
    o.kill9();
    let o2 = start(dir.path(), &args);
    rt.block_on(async {
        let c = pg_connect(o2.pg_port).await;
        let e = c.query_one("SELECT nextval('t_seq')", &[]).await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("42P01"), "the identity's sequence is gone");
        let r = c
            .query_one(
                "SELECT attidentity::text, atthasdef FROM pg_attribute WHERE attrelid = 't'::regclass AND attname = 'id'",
                &[],
            )
            .await
            .unwrap();
        assert_eq!((r.get::<_, String>(0), r.get::<_, bool>(1)), (String::new(), false));
        let n: i64 = c
            .query_one("SELECT count(*) FROM pg_constraint WHERE conrelid = 't'::regclass AND contype = 'p'", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 0, "no primary key");
        let r = c.query_one("INSERT INTO t (id) VALUES (50) RETURNING c", &[]).await.unwrap();
        assert_eq!(r.get::<_, Option<String>>(0), None, "no default");
        let r = c.query_one("SELECT count(*), max(id) FROM t", &[]).await.unwrap();
        assert_eq!((r.get::<_, i64>(0), r.get::<_, i32>(1)), (21, 50));
        // The UNIQUE index is there and checked.
        let e = c.execute("INSERT INTO t VALUES (51, 'c3')", &[]).await.unwrap_err();
        assert_eq!(e.code().map(|c| c.code()), Some("23505"));
        let n: i64 = c.query_one("SELECT count(*) FROM t WHERE c = 'c7'", &[]).await.unwrap().get(0);
        assert_eq!(n, 1);
        // The sequence is as it was: not restarted, owned by nothing (DROP TABLE own leaves it).
        c.batch_execute("DROP TABLE own").await.unwrap();
        let next: i64 = c.query_one("SELECT nextval('s')", &[]).await.unwrap().get(0);
        assert_eq!(next, 1);
    });
}
