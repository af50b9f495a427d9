//! SERIALIZABLE isolation (issue 5; `query/src/serializable.rs`). Two sessions interleave the
//! same statements on Orbit (`--shards 1` and `--shards 2`, where the rows of a pair sit on
//! different shards) and on a real PostgreSQL 15: write skew (the two doctors on call, by a scan
//! and by key lookups, one-shard and multi-shard commits), a retry, writers that do not conflict,
//! a phantom that closes a cycle, a read-only transaction next to writers; replies (rows, or
//! SQLSTATE, message, detail and hint) must be the same. Then the cases where Orbit answers
//! otherwise than PostgreSQL (documented in ARCHITECTURE.md), and concurrent writers under
//! SERIALIZABLE with retries that must keep an invariant snapshot isolation breaks.

use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};
use rand::{Rng, SeedableRng};
use tokio_postgres::{Client, SimpleQueryMessage};

/// One step: which session (0 = A, 1 = B) runs which statement.
type Step = (usize, &'static str);

/// Doctors 1..8: odd ids live on shard 0 and even ids on shard 1 of `--shards 2` (checked by
/// [`shard_of_int_key`]), so the pairs (1, 2), (3, 4), (5, 6) and (7, 8) span both shards.
const SCRIPT: &[Step] = &[
    (0, "CREATE TABLE doctors (id int PRIMARY KEY, on_call bool NOT NULL)"),
    (0, "INSERT INTO doctors SELECT g, true FROM generate_series(1, 8) g"),
    (0, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (0, "SHOW transaction_isolation"),
    (0, "COMMIT"),
    // Write skew by a scan: each sees two doctors on call and takes one off; one commit fails.
    (0, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (1, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (0, "SELECT count(*) FROM doctors WHERE on_call AND id IN (1, 2)"),
    (1, "SELECT count(*) FROM doctors WHERE on_call AND id IN (1, 2)"),
    (0, "UPDATE doctors SET on_call = false WHERE id = 1"),
    (1, "UPDATE doctors SET on_call = false WHERE id = 2"),
    (0, "COMMIT"),
    (1, "COMMIT"),
    (0, "SELECT id FROM doctors WHERE NOT on_call ORDER BY id"),
    // Write skew by key lookups, the two rows on different shards.
    (0, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (1, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (0, "SELECT id, on_call FROM doctors WHERE id = 3"),
    (0, "SELECT id, on_call FROM doctors WHERE id = 4"),
    (1, "SELECT id, on_call FROM doctors WHERE id = 3"),
    (1, "SELECT id, on_call FROM doctors WHERE id = 4"),
    (0, "UPDATE doctors SET on_call = false WHERE id = 3"),
    (1, "UPDATE doctors SET on_call = false WHERE id = 4"),
    (0, "COMMIT"),
    (1, "COMMIT"),
    // The retry sees A's change and decides otherwise.
    (1, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (1, "SELECT id, on_call FROM doctors WHERE id IN (3, 4) ORDER BY id"),
    (1, "UPDATE doctors SET on_call = true WHERE id = 3"),
    (1, "COMMIT"),
    // Key lookups of different rows: no conflict, both commit.
    (0, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (1, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (0, "SELECT on_call FROM doctors WHERE id = 1"),
    (1, "SELECT on_call FROM doctors WHERE id = 2"),
    (0, "UPDATE doctors SET on_call = true WHERE id = 1"),
    (1, "UPDATE doctors SET on_call = true WHERE id = 2"),
    (0, "COMMIT"),
    (1, "COMMIT"),
    // Both writers change rows on both shards (two-phase commits).
    (0, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (1, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (0, "SELECT count(*) FROM doctors WHERE on_call"),
    (1, "SELECT count(*) FROM doctors WHERE on_call"),
    (0, "UPDATE doctors SET on_call = false WHERE id IN (5, 6)"),
    (1, "UPDATE doctors SET on_call = false WHERE id IN (7, 8)"),
    (0, "COMMIT"),
    (1, "COMMIT"),
    (0, "SELECT id FROM doctors WHERE NOT on_call ORDER BY id"),
    // A read-only transaction next to committing writers commits, and sees its snapshot.
    (1, "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE"),
    (1, "SELECT count(*) FROM doctors WHERE on_call"),
    (0, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (0, "SELECT count(*) FROM doctors WHERE on_call"),
    (0, "UPDATE doctors SET on_call = true WHERE id = 5"),
    (0, "COMMIT"),
    (1, "SELECT count(*) FROM doctors WHERE on_call"),
    (1, "COMMIT"),
    // A phantom closes a cycle: each counts one batch and inserts into the other's.
    (0, "CREATE TABLE receipts (batch int, id int, amount int, PRIMARY KEY (batch, id))"),
    (0, "INSERT INTO receipts VALUES (1, 1, 10)"),
    (0, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (1, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (0, "SELECT count(*) FROM receipts WHERE batch = 2"),
    (1, "SELECT count(*) FROM receipts WHERE batch = 3"),
    (0, "INSERT INTO receipts VALUES (3, 1, 5)"),
    (1, "INSERT INTO receipts VALUES (2, 1, 7)"),
    (0, "COMMIT"),
    (1, "COMMIT"),
    (0, "SELECT batch, id FROM receipts ORDER BY batch, id"),
    // FOR SHARE / FOR UPDATE: first updater wins, as under REPEATABLE READ.
    (0, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (0, "SELECT count(*) FROM doctors"),
    (1, "UPDATE doctors SET on_call = false WHERE id = 2"),
    (0, "SELECT id, on_call FROM doctors WHERE id = 1 FOR SHARE"),
    (0, "SELECT id, on_call FROM doctors WHERE id = 2 FOR UPDATE"),
    (0, "ROLLBACK"),
    (0, "BEGIN ISOLATION LEVEL SERIALIZABLE"),
    (0, "SELECT id, on_call FROM doctors WHERE id = 1 FOR UPDATE"),
    (0, "UPDATE doctors SET on_call = false WHERE id = 1"),
    (0, "COMMIT"),
    // The settings.
    (0, "SET default_transaction_isolation = 'serializable'"),
    (0, "SHOW default_transaction_isolation"),
    (0, "BEGIN"),
    (0, "SHOW transaction_isolation"),
    (0, "COMMIT"),
    (0, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED"),
    (0, "SHOW default_transaction_isolation"),
    (0, "BEGIN"),
    (0, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
    (0, "SHOW transaction_isolation"),
    (0, "COMMIT"),
    (0, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
    (0, "SHOW default_transaction_isolation"),
    (0, "START TRANSACTION READ ONLY, NOT DEFERRABLE"),
    (0, "SHOW transaction_isolation"),
    (0, "COMMIT"),
    // Several statements in one Query message: DEFERRABLE in each, and a BEGIN after a query
    // (the implicit transaction becomes the block, so its modes are checked as SET TRANSACTION).
    (0, "BEGIN DEFERRABLE; SHOW transaction_deferrable; COMMIT; SHOW transaction_deferrable"),
    (0, "SELECT 1; BEGIN NOT DEFERRABLE; COMMIT"),
    (0, "SELECT 1; BEGIN ISOLATION LEVEL REPEATABLE READ; COMMIT"),
    (0, "SELECT 1; BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY; SHOW transaction_read_only; COMMIT"),
];

/// A statement's reply as text: its rows, or its SQLSTATE, message, detail and hint.
async fn reply(c: &Client, sql: &str) -> String {
    match c.simple_query(sql).await {
        Ok(msgs) => {
            let mut out = Vec::new();
            for m in msgs {
                if let SimpleQueryMessage::Row(r) = m {
                    let cells: Vec<String> = (0..r.len()).map(|i| r.get(i).unwrap_or("NULL").to_string()).collect();
                    out.push(cells.join("|"));
                }
            }
            format!("ok [{}]", out.join(", "))
        }
        Err(e) => match e.as_db_error() {
            Some(d) => format!(
                "{} {} | {} | {}",
                d.code().code(),
                d.message(),
                d.detail().unwrap_or(""),
                d.hint().unwrap_or("")
            ),
            None => format!("error {e}"),
        },
    }
}

async fn run_script(port: u16, script: &[Step]) -> Vec<String> {
    let sessions = [pg_connect(port).await, pg_connect(port).await];
    let mut out = Vec::new();
    for (who, sql) in script {
        out.push(format!("{}: {sql} -> {}", ["A", "B"][*who], reply(&sessions[*who], sql).await));
    }
    out
}

/// The shard of an int primary key's row with `shards` shards: Orbit's key encoding of an
/// integer (tag 0x03, then the value with its sign bit flipped, big-endian) hashed as
/// `orbit_shards::route::shard_for_row` does (CRC16/XMODEM mod 16384 slots, mod the shards).
fn shard_of_int_key(id: i64, shards: u16) -> u16 {
    let mut key = vec![0x03u8];
    key.extend_from_slice(&((id as u64) ^ (1 << 63)).to_be_bytes());
    let mut crc: u16 = 0;
    for b in key {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc % 16384 % shards
}

#[test]
fn serializable_answers_as_postgresql_does() {
    for pair in [(1, 2), (3, 4), (5, 6), (7, 8)] {
        assert_ne!(shard_of_int_key(pair.0, 2), shard_of_int_key(pair.1, 2), "{pair:?} on one shard");
    }
    let pg = RealPostgres::start().expect("PostgreSQL 15");
    let rt = pg_runtime();
    let want = rt.block_on(run_script(pg.port, SCRIPT));
    // The script's failures are the ones PostgreSQL gives, at COMMIT.
    let failed: Vec<&String> =
        want.iter().filter(|l| l.contains("-> 40001 could not serialize access due to read/write")).collect();
    assert_eq!(failed.len(), 4, "{want:#?}");
    assert!(failed
        .iter()
        .all(|l| l.contains(": COMMIT -> 40001 could not serialize access due to read/write dependencies")));
    for shards in ["1", "2"] {
        let o = Orbit::start(&["--shards", shards]);
        let got = rt.block_on(run_script(o.pg_port, SCRIPT));
        for (w, g) in want.iter().zip(&got) {
            assert_eq!(g, w, "--shards {shards}: Orbit's reply differs from PostgreSQL's");
        }
        assert_eq!(got.len(), want.len());
    }
}

/// Where Orbit answers otherwise than PostgreSQL: it fails at COMMIT what PostgreSQL may fail at
/// the write, and it fails on one read/write conflict with a concurrent commit where PostgreSQL
/// waits for a dangerous structure (two of them).
#[test]
fn orbit_fails_at_commit_and_on_one_conflict() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let (a, b) = (pg_connect(o.pg_port).await, pg_connect(o.pg_port).await);
        a.batch_execute(
            "CREATE TABLE ctl (k int PRIMARY KEY, batch int); \
             CREATE TABLE receipts (batch int, id int, amount int, PRIMARY KEY (batch, id)); \
             INSERT INTO ctl VALUES (1, 1); INSERT INTO receipts VALUES (1, 1, 10)",
        )
        .await
        .unwrap();
        // The read-only anomaly (Fekete et al.): T1 reads the current batch, T2 closes it, a
        // read-only T3 reports the closed batch, then T1 adds a receipt to it. T3 commits (a
        // read-only transaction never fails here); T1 fails at COMMIT (PostgreSQL: at the INSERT).
        a.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await.unwrap();
        assert_eq!(reply(&a, "SELECT batch FROM ctl WHERE k = 1").await, "ok [1]");
        b.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE; UPDATE ctl SET batch = batch + 1 WHERE k = 1; COMMIT")
            .await
            .unwrap();
        b.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY").await.unwrap();
        assert_eq!(reply(&b, "SELECT batch FROM ctl WHERE k = 1").await, "ok [2]");
        assert_eq!(reply(&b, "SELECT sum(amount) FROM receipts WHERE batch = 1").await, "ok [10]");
        assert_eq!(reply(&b, "COMMIT").await, "ok []");
        assert_eq!(reply(&a, "INSERT INTO receipts VALUES (1, 2, 5)").await, "ok []");
        let r = reply(&a, "COMMIT").await;
        assert!(r.starts_with("40001 could not serialize access due to read/write dependencies"), "{r}");
        assert_eq!(reply(&a, "SELECT count(*) FROM receipts").await, "ok [1]");
        // A phantom with no cycle: A counted batch 2, B inserted into it and committed; A's
        // insert elsewhere commits in PostgreSQL, fails here.
        a.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await.unwrap();
        assert_eq!(reply(&a, "SELECT id FROM receipts WHERE batch = 2").await, "ok []");
        b.batch_execute("INSERT INTO receipts VALUES (2, 1, 7)").await.unwrap();
        assert_eq!(reply(&a, "INSERT INTO receipts VALUES (3, 1, 1)").await, "ok []");
        let r = reply(&a, "COMMIT").await;
        assert!(r.starts_with("40001 "), "{r}");
        // An insert outside the key range another transaction read is no phantom to it: both
        // commit (PostgreSQL fails A's insert: its sequential scans lock whole relations).
        // (A count(*) reads the whole table here: it would conflict.)
        a.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await.unwrap();
        assert_eq!(reply(&a, "SELECT id FROM receipts WHERE batch = 1").await, "ok [1]");
        b.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await.unwrap();
        assert_eq!(reply(&b, "SELECT id FROM receipts WHERE batch = 3").await, "ok []");
        assert_eq!(reply(&b, "INSERT INTO receipts VALUES (4, 1, 1)").await, "ok []");
        assert_eq!(reply(&b, "COMMIT").await, "ok []");
        assert_eq!(reply(&a, "INSERT INTO receipts VALUES (1, 2, 1)").await, "ok []");
        assert_eq!(reply(&a, "COMMIT").await, "ok []");
        // A transaction that read and wrote nothing else commits whatever others did.
        a.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await.unwrap();
        assert_eq!(reply(&a, "INSERT INTO receipts VALUES (5, 1, 1)").await, "ok []");
        b.batch_execute("INSERT INTO receipts VALUES (5, 2, 1)").await.unwrap();
        assert_eq!(reply(&a, "COMMIT").await, "ok []");
        // The isolation level cannot change after the first statement.
        a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM receipts").await.unwrap();
        let r = reply(&a, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE").await;
        assert!(r.starts_with("25001 SET TRANSACTION ISOLATION LEVEL must be called before any query"), "{r}");
        a.batch_execute("ROLLBACK").await.unwrap();
    });
}

const GROUPS: i64 = 4;
const PER_GROUP: i64 = 3;

/// One worker: in a random group, takes a doctor off call if at least two are on call, else puts
/// one on call, under SERIALIZABLE, retrying on 40001. Returns how many retries it took.
async fn worker(port: u16, seed: u64, rounds: usize) -> usize {
    let c = pg_connect(port).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut retried = 0;
    for _ in 0..rounds {
        let grp = rng.gen_range(0..GROUPS);
        let doctor = rng.gen_range(0..PER_GROUP);
        loop {
            let r = async {
                c.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await?;
                // The group's rows: a key range (a count(*) would read the whole table).
                let rows = c.query("SELECT on_call FROM duty WHERE grp = $1", &[&(grp as i32)]).await?;
                let on = rows.iter().filter(|r| r.get::<_, bool>(0)).count();
                let set = if on >= 2 { "false" } else { "true" };
                c.execute(
                    &format!("UPDATE duty SET on_call = {set} WHERE grp = $1 AND id = $2"),
                    &[&(grp as i32), &(doctor as i32)],
                )
                .await?;
                c.batch_execute("COMMIT").await
            }
            .await;
            match r {
                Ok(()) => break,
                Err(e) => {
                    let code = e.code().map(|c| c.code().to_string());
                    assert_eq!(code.as_deref(), Some("40001"), "not a serialization failure: {e}");
                    let _ = c.batch_execute("ROLLBACK").await;
                    retried += 1;
                }
            }
        }
    }
    retried
}

/// Concurrent writers under SERIALIZABLE keep "at least one doctor of each group on call", which
/// write skew under REPEATABLE READ breaks; read-only auditors never fail and always see it hold.
#[test]
fn concurrent_writers_keep_the_invariant() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE duty (grp int, id int, on_call bool NOT NULL, PRIMARY KEY (grp, id)); \
             INSERT INTO duty SELECT g, i, true FROM generate_series(0, 3) g, generate_series(0, 2) i",
        )
        .await
        .unwrap();
        let audits = async {
            let a = pg_connect(o.pg_port).await;
            for _ in 0..30 {
                a.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY").await.unwrap();
                let rows = a.query("SELECT grp, count(*) FILTER (WHERE on_call) FROM duty GROUP BY grp", &[]).await;
                let rows = rows.unwrap();
                a.batch_execute("COMMIT").await.expect("a read-only transaction never fails");
                assert_eq!(rows.len() as i64, GROUPS);
                for r in rows {
                    let on: i64 = r.get(1);
                    assert!(on >= 1, "group {} has nobody on call", r.get::<_, i32>(0));
                }
                tokio::task::yield_now().await;
            }
        };
        let workers = futures::future::join_all((0..4).map(|i| worker(o.pg_port, 7 + i, 40)));
        let (retries, ()) = tokio::join!(workers, audits);
        eprintln!("retries per worker: {retries:?}");
        let rows = c.query("SELECT grp, count(*) FILTER (WHERE on_call) FROM duty GROUP BY grp", &[]).await.unwrap();
        for r in rows {
            assert!(r.get::<_, i64>(1) >= 1, "group {} has nobody on call", r.get::<_, i32>(0));
        }
    });
}
