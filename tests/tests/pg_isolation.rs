//! Isolation levels (issue 5): REPEATABLE READ through MVCC snapshots, next to READ COMMITTED.
//! Two sessions interleave the same statements on Orbit (`--shards 2`) and on a real PostgreSQL
//! 15; their replies (rows, or SQLSTATE and message) must be the same. Then concurrent
//! transfers under REPEATABLE READ on `--shards 4` (multi-shard commits) must keep the total,
//! and every REPEATABLE READ reader must see one total in all of its statements.

use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};
use rand::{Rng, SeedableRng};
use tokio_postgres::{Client, SimpleQueryMessage};

/// One step: which session (0 = A, 1 = B) runs which statement.
type Step = (usize, &'static str);

const SCRIPT: &[Step] = &[
    (0, "CREATE TABLE acc (id int PRIMARY KEY, bal int NOT NULL, tag text)"),
    (0, "CREATE INDEX acc_bal ON acc (bal)"),
    (0, "INSERT INTO acc SELECT g, 100, 't' || g FROM generate_series(1, 10) g"),
    (0, "SHOW transaction_isolation"),
    // A snapshot is taken by the first statement, not by BEGIN.
    (0, "BEGIN ISOLATION LEVEL REPEATABLE READ"),
    (0, "SHOW transaction_isolation"),
    (1, "UPDATE acc SET bal = 50 WHERE id = 10"),
    (0, "SELECT sum(bal), count(*) FROM acc"),
    (1, "UPDATE acc SET bal = 0 WHERE id = 1"),
    (1, "DELETE FROM acc WHERE id = 3"),
    (1, "INSERT INTO acc VALUES (11, 5, 'new')"),
    (1, "SELECT sum(bal), count(*) FROM acc"),
    // A keeps seeing its snapshot: scans, key lookups, index reads, joins, aggregates.
    (0, "SELECT sum(bal), count(*) FROM acc"),
    (0, "SELECT * FROM acc WHERE id = 1"),
    (0, "SELECT * FROM acc WHERE id = 3"),
    (0, "SELECT * FROM acc WHERE id = 11"),
    (0, "SELECT id FROM acc WHERE id BETWEEN 1 AND 4 ORDER BY id"),
    (0, "SELECT count(*) FROM acc WHERE bal = 100"),
    (0, "SELECT id FROM acc WHERE bal < 60 ORDER BY id"),
    (0, "SELECT count(*) FROM acc x JOIN acc y ON x.id = y.id"),
    (0, "SELECT tag, count(*) FROM acc GROUP BY tag ORDER BY tag LIMIT 3"),
    (0, "SELECT id FROM acc WHERE id IN (SELECT id FROM acc WHERE bal > 10) ORDER BY id DESC LIMIT 2"),
    // Its own changes on top of the snapshot.
    (0, "UPDATE acc SET bal = bal + 1 WHERE id = 2"),
    (0, "SELECT id, bal FROM acc WHERE id <= 3 ORDER BY id"),
    // A row a later commit changed or deleted cannot be changed or locked: first updater wins.
    (0, "UPDATE acc SET bal = bal + 1 WHERE id = 1"),
    (0, "ROLLBACK"),
    (0, "BEGIN ISOLATION LEVEL REPEATABLE READ"),
    (0, "SELECT count(*) FROM acc"),
    (1, "UPDATE acc SET tag = 'x' WHERE id = 4"),
    (0, "DELETE FROM acc WHERE id = 4"),
    (0, "ROLLBACK"),
    (0, "BEGIN ISOLATION LEVEL REPEATABLE READ"),
    (0, "SELECT count(*) FROM acc"),
    (1, "UPDATE acc SET tag = 'y' WHERE id = 5"),
    (0, "SELECT id FROM acc WHERE id = 5 FOR UPDATE"),
    (0, "ROLLBACK"),
    // Rows nobody else touched can be changed; the commit is seen by later snapshots.
    (0, "BEGIN ISOLATION LEVEL REPEATABLE READ"),
    (0, "SELECT count(*) FROM acc"),
    (1, "UPDATE acc SET tag = 'z' WHERE id = 6"),
    (0, "UPDATE acc SET bal = 1 WHERE id = 7"),
    (0, "COMMIT"),
    (1, "SELECT id, bal, tag FROM acc WHERE id IN (6, 7) ORDER BY id"),
    // A key a later commit inserted: a plain INSERT gets 23505, ON CONFLICT gets 40001.
    (0, "BEGIN ISOLATION LEVEL REPEATABLE READ"),
    (0, "SELECT count(*) FROM acc"),
    (1, "INSERT INTO acc VALUES (12, 1, 'b')"),
    (0, "INSERT INTO acc VALUES (12, 2, 'a')"),
    (0, "ROLLBACK"),
    (0, "BEGIN ISOLATION LEVEL REPEATABLE READ"),
    (0, "SELECT count(*) FROM acc"),
    (1, "INSERT INTO acc VALUES (13, 1, 'b')"),
    (0, "INSERT INTO acc VALUES (13, 2, 'a') ON CONFLICT DO NOTHING"),
    (0, "ROLLBACK"),
    (0, "BEGIN ISOLATION LEVEL REPEATABLE READ"),
    (0, "SELECT count(*) FROM acc"),
    (1, "INSERT INTO acc VALUES (14, 1, 'b')"),
    (0, "INSERT INTO acc VALUES (14, 2, 'a') ON CONFLICT (id) DO UPDATE SET bal = 3"),
    (0, "ROLLBACK"),
    // READ COMMITTED: each statement sees the latest commits.
    (0, "BEGIN"),
    (0, "SHOW transaction_isolation"),
    (0, "SELECT count(*) FROM acc"),
    (1, "INSERT INTO acc VALUES (15, 1, 'c')"),
    (0, "SELECT count(*) FROM acc"),
    (0, "COMMIT"),
    // SET TRANSACTION: before the first statement only.
    (0, "BEGIN"),
    (0, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"),
    (0, "SHOW transaction_isolation"),
    (0, "SELECT count(*) FROM acc"),
    (1, "DELETE FROM acc WHERE id = 15"),
    (0, "SELECT count(*) FROM acc"),
    (0, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED"),
    (0, "ROLLBACK"),
    (0, "SHOW transaction_isolation"),
    (0, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"),
    (0, "START TRANSACTION ISOLATION LEVEL READ COMMITTED"),
    (0, "SET transaction_isolation = 'repeatable read'"),
    (0, "SHOW transaction_isolation"),
    (0, "COMMIT"),
    // The session default.
    (0, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ"),
    (0, "SHOW default_transaction_isolation"),
    (0, "SHOW transaction_isolation"),
    (0, "BEGIN"),
    (0, "SHOW transaction_isolation"),
    (0, "SELECT count(*) FROM acc"),
    (1, "DELETE FROM acc WHERE id = 14"),
    (0, "SELECT count(*) FROM acc"),
    (0, "COMMIT"),
    (0, "SET default_transaction_isolation = 'read committed'"),
    (0, "SHOW transaction_isolation"),
];

/// A statement's reply as text: its rows, or its SQLSTATE and message.
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
            Some(d) => format!("{} {}", d.code().code(), d.message()),
            None => format!("error {e}"),
        },
    }
}

async fn run_script(port: u16) -> Vec<String> {
    let sessions = [pg_connect(port).await, pg_connect(port).await];
    let mut out = Vec::new();
    for (who, sql) in SCRIPT {
        out.push(format!("{}: {sql} -> {}", ["A", "B"][*who], reply(&sessions[*who], sql).await));
    }
    out
}

#[test]
fn repeatable_read_and_read_committed_answer_as_postgresql_does() {
    let pg = RealPostgres::start().expect("PostgreSQL 15");
    let o = Orbit::start(&["--shards", "2"]);
    let rt = pg_runtime();
    let want = rt.block_on(run_script(pg.port));
    let got = rt.block_on(run_script(o.pg_port));
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(g, w, "Orbit's reply differs from PostgreSQL's");
    }
    assert_eq!(got.len(), want.len());
    // The snapshot really held: A read the same sum twice, around B's commits.
    let a_sums = got.iter().filter(|l| l.as_str() == "A: SELECT sum(bal), count(*) FROM acc -> ok [950|10]").count();
    assert_eq!(a_sums, 2, "{got:#?}");
}

#[test]
fn serializable_is_taken_in_every_form() {
    // What SERIALIZABLE does: tests/tests/pg_serializable.rs.
    let o = Orbit::start(&["--shards", "1"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        for (sql, show) in [
            ("BEGIN ISOLATION LEVEL SERIALIZABLE", "transaction_isolation"),
            ("SET default_transaction_isolation = 'serializable'", "default_transaction_isolation"),
            (
                "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
                "default_transaction_isolation",
            ),
        ] {
            assert_eq!(reply(&c, sql).await, "ok []", "{sql}");
            assert_eq!(reply(&c, &format!("SHOW {show}")).await, "ok [serializable]", "{sql}");
            c.batch_execute("ROLLBACK; RESET default_transaction_isolation").await.unwrap();
        }
    });
}

const ACCOUNTS: i64 = 40;
const TOTAL: i64 = ACCOUNTS * 1000;

/// Moves money between random accounts under REPEATABLE READ, retrying on 40001: how many
/// transfers committed and how many were retried.
async fn transfers(port: u16, seed: u64, count: usize) -> (usize, usize) {
    let c = pg_connect(port).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut done, mut retried) = (0, 0);
    while done < count {
        let from = rng.gen_range(1..=ACCOUNTS);
        let to = (from - 1 + rng.gen_range(1..ACCOUNTS)) % ACCOUNTS + 1;
        let amount = rng.gen_range(1..50);
        let sql = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ; \
             UPDATE acc SET bal = bal - {amount} WHERE id = {from}; \
             UPDATE acc SET bal = bal + {amount} WHERE id = {to}; COMMIT"
        );
        match c.batch_execute(&sql).await {
            Ok(()) => done += 1,
            Err(e) => {
                let code = e.code().map(|c| c.code().to_string());
                assert!(
                    matches!(code.as_deref(), Some("40001" | "40P01")),
                    "a transfer failed with something else than a serialization failure: {e}"
                );
                c.batch_execute("ROLLBACK").await.unwrap();
                retried += 1;
            }
        }
    }
    (done, retried)
}

/// REPEATABLE READ readers: the total, read three ways in one transaction (a scan on every
/// shard, an aggregate, key lookups one by one), must be the same each time.
async fn audits(port: u16, rounds: usize) -> usize {
    let c = pg_connect(port).await;
    for _ in 0..rounds {
        c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
        let sum: i64 = c.query_one("SELECT sum(bal)::int8 FROM acc", &[]).await.unwrap().get(0);
        let rows = c.query("SELECT bal FROM acc", &[]).await.unwrap();
        let scanned: i64 = rows.iter().map(|r| r.get::<_, i32>(0) as i64).sum();
        let mut looked_up = 0i64;
        for id in 1..=ACCOUNTS as i32 {
            let r = c.query_one("SELECT bal FROM acc WHERE id = $1", &[&id]).await.unwrap();
            looked_up += r.get::<_, i32>(0) as i64;
        }
        c.batch_execute("COMMIT").await.unwrap();
        assert_eq!((sum, scanned, looked_up), (TOTAL, TOTAL, TOTAL), "a snapshot saw part of a transfer");
    }
    rounds
}

#[test]
fn concurrent_transfers_keep_the_total_in_every_snapshot() {
    let o = Orbit::start(&["--shards", "4"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE acc (id int PRIMARY KEY, bal int NOT NULL)").await.unwrap();
        c.batch_execute(&format!("INSERT INTO acc SELECT g, 1000 FROM generate_series(1, {ACCOUNTS}) g"))
            .await
            .unwrap();
        let port = o.pg_port;
        let writers: Vec<_> = (0..4).map(|i| tokio::spawn(transfers(port, 7 + i, 150))).collect();
        let readers: Vec<_> = (0..2).map(|_| tokio::spawn(audits(port, 15))).collect();
        let mut committed = 0;
        for w in writers {
            committed += w.await.unwrap().0;
        }
        for r in readers {
            assert_eq!(r.await.unwrap(), 15);
        }
        assert_eq!(committed, 600);
        let total: i64 = c.query_one("SELECT sum(bal)::int8 FROM acc", &[]).await.unwrap().get(0);
        assert_eq!(total, TOTAL);
    });
}
