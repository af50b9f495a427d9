//! sysbench (Debian's 1.0, its bundled OLTP Lua scripts, the libpq driver with server-side
//! prepared statements) run unchanged against Orbit: `prepare` (CREATE TABLE with SERIAL and
//! CHAR(n) defaults, multi-row INSERTs, CREATE INDEX), the read-only and read-write mixes
//! (point selects, ranges with SUM/ORDER BY/DISTINCT, index and non-index UPDATEs, DELETE then
//! INSERT of the same id, each in a BEGIN/COMMIT), and `cleanup`. sysbench does not check what
//! the queries return, so the test checks the invariant its writes keep: every transaction
//! deletes one id and inserts it again, so each table holds ids 1..=N exactly once, also after
//! a SIGKILL in the middle of the load (a transaction applied in half would lose an id).

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use std::process::{Command, Stdio};

const TABLES: u32 = 2;
const ROWS: i64 = 500;

fn sysbench() -> Option<&'static str> {
    let p = "/usr/bin/sysbench";
    std::path::Path::new(p).exists().then_some(p)
}

fn sysbench_cmd(port: u16, workload: &str) -> Command {
    let mut c = Command::new(sysbench().expect("sysbench"));
    c.arg(workload)
        .args(["--db-driver=pgsql", "--pgsql-host=127.0.0.1", "--pgsql-user=postgres", "--pgsql-db=postgres"])
        .arg(format!("--pgsql-port={port}"))
        .arg(format!("--tables={TABLES}"))
        .arg(format!("--table-size={ROWS}"))
        .stdin(Stdio::null());
    c
}

/// Runs sysbench to its end; its output, and whether it succeeded.
fn run(port: u16, workload: &str, args: &[&str]) -> (bool, String) {
    let out = sysbench_cmd(port, workload).args(args).output().expect("run sysbench");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Each table's (rows, distinct ids, min id, max id).
fn table_ids(port: u16) -> Vec<(i64, i64, i32, i32)> {
    pg_runtime().block_on(async {
        let c = pg_connect(port).await;
        let mut out = Vec::new();
        for t in 1..=TABLES {
            let r = c
                .query_one(&format!("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM sbtest{t}"), &[])
                .await
                .expect("count sbtest");
            out.push((r.get(0), r.get(1), r.get(2), r.get(3)));
        }
        out
    })
}

fn whole() -> Vec<(i64, i64, i32, i32)> {
    vec![(ROWS, ROWS, 1, ROWS as i32); TABLES as usize]
}

#[test]
fn oltp_workloads_run_unchanged_and_keep_every_id() {
    if sysbench().is_none() {
        eprintln!("SKIP: /usr/bin/sysbench not found (apt-get install sysbench)");
        return;
    }
    let o = Orbit::start(&["--shards", "2"]);
    let (ok, out) = run(o.pg_port, "oltp_read_write", &["prepare"]);
    assert!(ok, "prepare:\n{out}");
    assert_eq!(table_ids(o.pg_port), whole());
    for workload in ["oltp_read_only", "oltp_read_write", "oltp_write_only", "oltp_point_select"] {
        let (ok, out) = run(o.pg_port, workload, &["--threads=4", "--events=300", "--time=0", "run"]);
        assert!(ok, "{workload}:\n{out}");
        assert!(out.contains("transactions:"), "{workload}:\n{out}");
        assert_eq!(table_ids(o.pg_port), whole(), "after {workload}");
    }
    let (ok, out) = run(o.pg_port, "oltp_read_write", &["cleanup"]);
    assert!(ok, "cleanup:\n{out}");
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        let n: i64 = c
            .query_one("SELECT count(*) FROM pg_class WHERE relname LIKE 'sbtest%'", &[])
            .await
            .expect("pg_class")
            .get(0);
        assert_eq!(n, 0, "cleanup leaves no sbtest table, index or sequence");
    });
}

#[test]
fn a_sigkill_under_oltp_writes_loses_no_id() {
    if sysbench().is_none() {
        eprintln!("SKIP: /usr/bin/sysbench not found (apt-get install sysbench)");
        return;
    }
    let mut o = Orbit::start(&["--shards", "2", "--fsync", "always"]);
    let (ok, out) = run(o.pg_port, "oltp_write_only", &["prepare"]);
    assert!(ok, "prepare:\n{out}");
    // Writes until the server dies under it (sysbench then fails: its output is not checked).
    let mut load = sysbench_cmd(o.pg_port, "oltp_write_only")
        .args(["--threads=4", "--time=60", "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sysbench");
    // Until some of its transactions have committed: index UPDATEs move sum(k) (bounded: 40 s).
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        let sum = "SELECT sum(k)::int8 FROM sbtest1";
        let before: i64 = c.query_one(sum, &[]).await.expect("sum k").get(0);
        for _ in 0..400 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let now: i64 = c.query_one(sum, &[]).await.expect("sum k").get(0);
            if now != before {
                // Some more, so the kill lands among commits in flight.
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                return;
            }
        }
        panic!("no sysbench transaction committed in 40 s");
    });
    o.restart();
    let _ = load.kill();
    let _ = load.wait();
    assert_eq!(table_ids(o.pg_port), whole(), "after SIGKILL and restart");
}
