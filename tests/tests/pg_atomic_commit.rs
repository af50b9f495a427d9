//! A SQL transaction whose rows span shards commits atomically across a crash: two-phase commit
//! over the shards' own logs (docs/DURABILITY.md, "Transactions spanning shards").
//!
//! - Crash points, cut exactly: the real logs of one cross-shard COMMIT (server stopped
//!   cleanly) are cut at the records that end each phase — one shard's PREPARE only, every
//!   PREPARE but no decision, the decision but a participant not applied, a participant cut in
//!   the middle of applying — and a server started on each copy must show all of the
//!   transaction or none of it, as the decision says (also when it starts with another shard
//!   count, re-sharding); it then keeps committing across restarts.
//! - kill -9 under load: `--shards 4 --fsync always`, clients transferring amounts between
//!   accounts on different shards (each transfer also inserts its ledger row); the server is
//!   killed at random moments, restarted, and each time every account's balance must equal its
//!   start plus what the ledger rows say (so no transfer is half there) and every
//!   acknowledged transfer's ledger row must be there.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use rand::Rng;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_postgres::{Client, SimpleQueryMessage};

// Record kinds of the log (docs/DURABILITY.md).
const ROW_PUT: u16 = 34;
const ROW_DELETE: u16 = 35;
const TXN_PREPARE: u16 = 37;
const TXN_COMMIT: u16 = 38;
const TXN_RESOLVE: u16 = 39;

/// One frame of a log file: its kind and where it ends.
#[derive(Debug, Clone, Copy)]
struct Frame {
    kind: u16,
    end: u64,
}

/// The frames of a log file (up to its end or its zero padding), read with the frame layout of
/// docs/DURABILITY.md: u32 body length, u32 CRC, u16 kind, u16 reserved, u64 sequence, body.
fn frames(path: &Path) -> Vec<Frame> {
    let buf = std::fs::read(path).expect("read log");
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + 20 <= buf.len() {
        let len = u32::from_le_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
        let kind = u16::from_le_bytes(buf[off + 8..off + 10].try_into().unwrap());
        if kind == 0 || off + 20 + len > buf.len() {
            break;
        }
        off += 20 + len;
        out.push(Frame { kind, end: off as u64 });
    }
    out
}

/// The one log file of shard `i` in `dir`.
fn log_file(dir: &Path, i: usize) -> std::path::PathBuf {
    let shard = dir.join(format!("shard-{i}"));
    let mut logs: Vec<_> = std::fs::read_dir(&shard)
        .expect("shard dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    assert_eq!(logs.len(), 1, "one log file in {}", shard.display());
    logs.pop().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
            // On disk before the server's O_DIRECT reads (its start-up probe) look at it.
            std::fs::File::open(to.join(e.file_name())).and_then(|f| f.sync_all()).unwrap();
        }
    }
}

fn cut(path: &Path, at: u64) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(at).unwrap();
    f.sync_all().unwrap();
}

async fn rows(c: &Client, sql: &str) -> Vec<Vec<String>> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).unwrap_or("NULL").to_string()).collect()),
            _ => None,
        })
        .collect()
}

/// `t` before the transaction: ids 1..=20 with v = 0.
fn before() -> Vec<Vec<String>> {
    (1..=20).map(|i| vec![i.to_string(), "0".into()]).collect()
}

/// `t` after it: every v + `add`, 19 and 20 deleted, 101..=103 inserted.
fn after(add: i64) -> Vec<Vec<String>> {
    (1..=18).chain(101..=103).map(|i| vec![i.to_string(), (1 + add).to_string()]).collect()
}

/// The two tests run one after the other: each starts servers with several shards, and on a
/// small loaded machine two at once make a start-up exceed the harness's 20 s wait (seen at
/// the first start of an empty data directory too, before any recovery code runs).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const TXN: &str = "BEGIN; UPDATE t SET v = 1; DELETE FROM t WHERE id IN (19, 20); \
                   INSERT INTO t VALUES (101, 1), (102, 1), (103, 1); COMMIT";

#[test]
fn every_crash_point_of_a_cross_shard_commit_recovers_all_or_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rt = pg_runtime();
    let args = ["--shards", "2", "--fsync", "always"];
    let mut o = Orbit::start(&args);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE t (id int4 PRIMARY KEY, v int8)").await.unwrap();
        // One row per statement: single-shard commits, no two-phase records.
        for i in 1..=20 {
            c.batch_execute(&format!("INSERT INTO t VALUES ({i}, 0)")).await.unwrap();
        }
        c.batch_execute(TXN).await.unwrap();
        assert_eq!(rows(&c, "SELECT * FROM t ORDER BY id").await, after(0));
    });
    assert!(o.terminate(Duration::from_secs(20)).is_some_and(|s| s.success()), "clean stop");
    let logs: Vec<Vec<Frame>> = (0..2).map(|i| frames(&log_file(&o.dir, i))).collect();
    let coordinator = (0..2).find(|&i| logs[i].iter().any(|f| f.kind == TXN_COMMIT)).expect("a shard logged COMMIT");
    let participant = 1 - coordinator;
    for l in &logs {
        assert_eq!(l.iter().filter(|f| f.kind == TXN_PREPARE).count(), 1, "each shard prepared its part");
        assert_eq!(l.iter().filter(|f| f.kind == TXN_RESOLVE).count(), 1, "each shard applied its part");
    }
    // Where each phase ends in a shard's log.
    let end_before = |i: usize, kind: u16| {
        let k = logs[i].iter().position(|f| f.kind == kind).unwrap();
        if k == 0 {
            0
        } else {
            logs[i][k - 1].end
        }
    };
    let end_after = |i: usize, kind: u16| logs[i].iter().find(|f| f.kind == kind).unwrap().end;
    let first_applied = |i: usize| {
        let k = logs[i].iter().position(|f| f.kind == TXN_PREPARE).unwrap();
        let f = logs[i][k + 1..].iter().find(|f| f.kind == ROW_PUT || f.kind == ROW_DELETE).unwrap();
        assert!(f.end < end_after(i, TXN_RESOLVE));
        f.end
    };
    let (c, p) = (coordinator, participant);
    let full = |i: usize| logs[i].last().unwrap().end;
    // (name, cut of the coordinator's log, cut of the participant's, committed?)
    let cases = [
        ("only the coordinator prepared", end_after(c, TXN_PREPARE), end_before(p, TXN_PREPARE), false),
        ("only the participant prepared", end_before(c, TXN_PREPARE), end_after(p, TXN_PREPARE), false),
        ("every part prepared, no decision", end_before(c, TXN_COMMIT), end_after(p, TXN_PREPARE), false),
        ("decided, no part applied", end_after(c, TXN_COMMIT), end_after(p, TXN_PREPARE), true),
        ("decided, the coordinator applied", full(c), end_after(p, TXN_PREPARE), true),
        ("decided, the participant cut while applying", end_after(c, TXN_COMMIT), first_applied(p), true),
        ("decided, the coordinator cut while applying", first_applied(c), full(p), true),
        ("every part applied", full(c), full(p), true),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let tmp = Box::leak(Box::new(tmp));
    eprintln!("TMPDIR {}", tmp.path().display());
    for (n, (name, cut_c, cut_p, committed)) in cases.into_iter().enumerate() {
        let dir = tmp.path().join(format!("case{n}"));
        copy_dir(&o.dir, &dir);
        cut(&log_file(&dir, c), cut_c);
        cut(&log_file(&dir, p), cut_p);
        // Re-sharding settles the parts as well (a copy started with another shard count).
        let resharded = tmp.path().join(format!("case{n}-resharded"));
        copy_dir(&dir, &resharded);
        let mut s = Orbit::start_in(&dir, &args);
        let want = if committed { after(0) } else { before() };
        rt.block_on(async {
            let cl = pg_connect(s.pg_port).await;
            assert_eq!(rows(&cl, "SELECT * FROM t ORDER BY id").await, want, "{name}");
            // The settled state is durable, and transactions of the new run (whose ids start
            // above the logged ones) commit across a crash too.
            cl.batch_execute("BEGIN; UPDATE t SET v = v + 10; COMMIT").await.unwrap();
        });
        s.restart();
        rt.block_on(async {
            let cl = pg_connect(s.pg_port).await;
            let want: Vec<Vec<String>> =
                if committed { after(10) } else { (1..=20).map(|i| vec![i.to_string(), "10".into()]).collect() };
            assert_eq!(rows(&cl, "SELECT * FROM t ORDER BY id").await, want, "{name}, after a second restart");
        });
        s.kill9();
        let mut r = Orbit::start_in(&resharded, &["--shards", "3", "--fsync", "always"]);
        rt.block_on(async {
            let cl = pg_connect(r.pg_port).await;
            let want = if committed { after(0) } else { before() };
            assert_eq!(rows(&cl, "SELECT * FROM t ORDER BY id").await, want, "{name}, re-sharded to 3 shards");
        });
        r.kill9();
    }
}

const ACCOUNTS: i64 = 40;
const START_BALANCE: i64 = 1000;

/// Checks the books: every account's balance is its start plus its ledger credits minus its
/// debits (a transfer half applied breaks this), and every acknowledged transfer is in the
/// ledger. Returns the number of ledger rows.
async fn audit(c: &Client, acked: &[i64]) -> usize {
    let balances = rows(c, "SELECT id, bal FROM acct ORDER BY id").await;
    assert_eq!(balances.len(), ACCOUNTS as usize, "every account is there");
    let mut want: BTreeMap<i64, i64> = (0..ACCOUNTS).map(|i| (i, START_BALANCE)).collect();
    let ledger = rows(c, "SELECT id, src, dst, amount FROM ledger").await;
    let mut ids = std::collections::HashSet::new();
    for r in &ledger {
        let v: Vec<i64> = r.iter().map(|x| x.parse().unwrap()).collect();
        ids.insert(v[0]);
        *want.get_mut(&v[1]).unwrap() -= v[3];
        *want.get_mut(&v[2]).unwrap() += v[3];
    }
    for r in balances {
        let (id, bal): (i64, i64) = (r[0].parse().unwrap(), r[1].parse().unwrap());
        assert_eq!(bal, want[&id], "account {id}: balance against the ledger");
    }
    let total: i64 = want.values().sum();
    assert_eq!(total, ACCOUNTS * START_BALANCE);
    for id in acked {
        assert!(ids.contains(id), "acknowledged transfer {id} is in the ledger");
    }
    ledger.len()
}

/// One client: transfers between random accounts until the server goes away; the ids of the
/// transfers whose COMMIT was acknowledged go into `acked`.
async fn transfer_loop(port: u16, first_id: i64, acked: Arc<Mutex<Vec<i64>>>) {
    let Ok((c, conn)) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"),
        tokio_postgres::NoTls,
    )
    .await
    else {
        return;
    };
    tokio::spawn(conn);
    let mut id = first_id;
    loop {
        let (a, b, x) = {
            let mut rng = rand::thread_rng();
            let a = rng.gen_range(0..ACCOUNTS);
            let b = (a + rng.gen_range(1..ACCOUNTS)) % ACCOUNTS;
            (a, b, rng.gen_range(1..50i64))
        };
        // Lower account first: transfers never wait for each other in a cycle.
        let (lo, hi, dlo, dhi) = if a < b { (a, b, -x, x) } else { (b, a, x, -x) };
        let sql = format!(
            "BEGIN; UPDATE acct SET bal = bal + {dlo} WHERE id = {lo}; UPDATE acct SET bal = bal + {dhi} WHERE id = {hi}; \
             INSERT INTO ledger VALUES ({id}, {a}, {b}, {x}); COMMIT"
        );
        match c.batch_execute(&sql).await {
            Ok(()) => acked.lock().unwrap().push(id),
            Err(e) if e.is_closed() || e.as_db_error().is_none() => return,
            Err(_) => {
                // A statement error (none expected): leave the block and go on.
                if c.batch_execute("ROLLBACK").await.is_err() {
                    return;
                }
            }
        }
        id += 1;
    }
}

#[test]
fn kill9_under_cross_shard_transfers_keeps_every_transfer_whole() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rt = pg_runtime();
    // Small log files and frequent snapshots: some snapshots land between the phases.
    let mut o =
        Orbit::start(&["--shards", "4", "--fsync", "always", "--log-file-size", "64kb", "--snapshot-log-size", "32kb"]);
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(
            "CREATE TABLE acct (id int8 PRIMARY KEY, bal int8 NOT NULL); \
             CREATE TABLE ledger (id int8 PRIMARY KEY, src int8, dst int8, amount int8)",
        )
        .await
        .unwrap();
        let values: Vec<String> = (0..ACCOUNTS).map(|i| format!("({i}, {START_BALANCE})")).collect();
        c.batch_execute(&format!("INSERT INTO acct VALUES {}", values.join(", "))).await.unwrap();
    });
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut next_id = 0i64;
    let mut ledger_rows = 0;
    for round in 0..5 {
        let port = o.pg_port;
        let run_ms = rand::thread_rng().gen_range(300..1500);
        let pid = o.pid();
        // Clients on a runtime of their own; the server is killed from a plain thread at a
        // random moment, which ends them.
        let killer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(run_ms));
            // SAFETY: kill(2) with the PID of the child this test started.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        });
        rt.block_on(async {
            let tasks: Vec<_> =
                (0..8).map(|k| tokio::spawn(transfer_loop(port, next_id + k * 1_000_000, acked.clone()))).collect();
            for t in tasks {
                let _ = t.await;
            }
        });
        killer.join().unwrap();
        next_id += 8 * 1_000_000;
        o.restart();
        let acked_now = acked.lock().unwrap().clone();
        let n = rt.block_on(async {
            let c = pg_connect(o.pg_port).await;
            audit(&c, &acked_now).await
        });
        assert!(n >= ledger_rows, "round {round}: the ledger only grows");
        ledger_rows = n;
    }
    assert!(ledger_rows > 0, "transfers were committed");
    assert!(o.log().contains("snapshot written"), "snapshots were taken under the load");
}
