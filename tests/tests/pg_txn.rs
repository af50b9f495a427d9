//! SQL transactions end to end (issue 5): BEGIN/COMMIT/ROLLBACK undo and isolation, savepoints,
//! the implicit transaction of a multi-statement Query, row locks (a writer waits for another
//! transaction's row, then re-checks it; no lost update under concurrent increments), deadlock
//! detection (40P01), locks released when a client goes away, and an invariant checker: money
//! moved between accounts on both shards by concurrent transactions while readers sum it.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

async fn one_i64(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// The values of the first column of a simple query's rows (NULL as "NULL").
async fn texts(c: &Client, sql: &str) -> Vec<String> {
    c.simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some(r.get(0).unwrap_or("NULL").to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn rollback_undoes_and_uncommitted_changes_stay_private() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)").await.unwrap();
        a.batch_execute("INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')").await.unwrap();

        a.batch_execute("BEGIN").await.unwrap();
        a.batch_execute("INSERT INTO t VALUES (4, 'four')").await.unwrap();
        a.batch_execute("UPDATE t SET v = 'ONE' WHERE id = 1").await.unwrap();
        a.batch_execute("DELETE FROM t WHERE id = 2").await.unwrap();
        // The transaction sees its own changes, by key and by scan; others do not.
        assert_eq!(texts(&a, "SELECT v FROM t WHERE id = 1").await, ["ONE"]);
        assert_eq!(texts(&a, "SELECT id FROM t ORDER BY id").await, ["1", "3", "4"]);
        assert_eq!(one_i64(&a, "SELECT count(*) FROM t").await, 3);
        assert_eq!(texts(&b, "SELECT v FROM t WHERE id = 1").await, ["one"]);
        assert_eq!(texts(&b, "SELECT id FROM t ORDER BY id").await, ["1", "2", "3"]);
        a.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(texts(&a, "SELECT id || v FROM t ORDER BY id").await, ["1one", "2two", "3three"]);

        // COMMIT publishes all of it.
        a.batch_execute("BEGIN; INSERT INTO t VALUES (4, 'four'); UPDATE t SET v = 'ONE' WHERE id = 1; DELETE FROM t WHERE id = 2")
            .await
            .unwrap();
        assert_eq!(texts(&b, "SELECT id FROM t ORDER BY id").await, ["1", "2", "3"]);
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(texts(&b, "SELECT id || v FROM t ORDER BY id").await, ["1ONE", "3three", "4four"]);

        // A key inserted and deleted in one transaction, and a key changed by UPDATE.
        a.batch_execute("BEGIN; INSERT INTO t VALUES (9, 'x'); DELETE FROM t WHERE id = 9; UPDATE t SET id = 10 WHERE id = 4; COMMIT")
            .await
            .unwrap();
        assert_eq!(texts(&b, "SELECT id FROM t ORDER BY id").await, ["1", "3", "10"]);

        // An error fails the block (25P02) until ROLLBACK, which undoes everything in it.
        a.batch_execute("BEGIN").await.unwrap();
        a.batch_execute("INSERT INTO t VALUES (20, 'x')").await.unwrap();
        let e = a.batch_execute("INSERT INTO t VALUES (1, 'dup')").await.unwrap_err();
        assert_eq!(code(&e), "23505");
        let e = a.batch_execute("SELECT 1").await.unwrap_err();
        assert_eq!(code(&e), "25P02");
        let m = a.simple_query("COMMIT").await.unwrap();
        assert!(matches!(m.last(), Some(SimpleQueryMessage::CommandComplete(_))));
        assert_eq!(one_i64(&b, "SELECT count(*) FROM t WHERE id = 20").await, 0);

        // A multi-statement Query outside a block is one implicit transaction.
        let e = a.batch_execute("INSERT INTO t VALUES (30, 'x'); INSERT INTO t VALUES (31, 'y'); SELECT 1 / 0").await;
        assert_eq!(code(&e.unwrap_err()), "22012");
        assert_eq!(one_i64(&b, "SELECT count(*) FROM t WHERE id >= 30").await, 0);
        a.batch_execute("INSERT INTO t VALUES (30, 'x'); INSERT INTO t VALUES (31, 'y')").await.unwrap();
        assert_eq!(one_i64(&b, "SELECT count(*) FROM t WHERE id >= 30").await, 2);

        // READ ONLY refuses writes.
        a.batch_execute("BEGIN READ ONLY").await.unwrap();
        let e = a.batch_execute("DELETE FROM t").await.unwrap_err();
        assert_eq!(code(&e), "25006");
        a.batch_execute("ROLLBACK").await.unwrap();
        // SERIALIZABLE runs (tests/tests/pg_serializable.rs).
        a.batch_execute("BEGIN ISOLATION LEVEL SERIALIZABLE").await.unwrap();
        let level: String = a.query_one("SHOW transaction_isolation", &[]).await.unwrap().get(0);
        assert_eq!(level, "serializable");
        a.batch_execute("ROLLBACK").await.unwrap();
    });
}

#[test]
fn savepoints() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE s (id int PRIMARY KEY, v int)").await.unwrap();
        let e = a.batch_execute("SAVEPOINT x").await.unwrap_err();
        assert_eq!(
            (code(&e), e.as_db_error().unwrap().message()),
            ("25P01".into(), "SAVEPOINT can only be used in transaction blocks")
        );
        a.batch_execute("BEGIN; INSERT INTO s VALUES (1, 1); SAVEPOINT a; INSERT INTO s VALUES (2, 2); SAVEPOINT b")
            .await
            .unwrap();
        a.batch_execute("UPDATE s SET v = 100").await.unwrap();
        a.batch_execute("ROLLBACK TO SAVEPOINT b").await.unwrap();
        assert_eq!(texts(&a, "SELECT v FROM s ORDER BY id").await, ["1", "2"]);
        a.batch_execute("ROLLBACK TO a").await.unwrap();
        assert_eq!(texts(&a, "SELECT id FROM s ORDER BY id").await, ["1"]);
        // After an error, ROLLBACK TO a savepoint brings the block back.
        let e = a.batch_execute("INSERT INTO s VALUES (1, 0)").await.unwrap_err();
        assert_eq!(code(&e), "23505");
        assert_eq!(code(&a.batch_execute("SELECT 1").await.unwrap_err()), "25P02");
        a.batch_execute("ROLLBACK TO SAVEPOINT a").await.unwrap();
        a.batch_execute("INSERT INTO s VALUES (3, 3)").await.unwrap();
        let e = a.batch_execute("RELEASE SAVEPOINT nosuch").await.unwrap_err();
        assert_eq!(
            (code(&e), e.as_db_error().unwrap().message()),
            ("3B001".into(), "savepoint \"nosuch\" does not exist")
        );
        a.batch_execute("ROLLBACK").await.unwrap();
        a.batch_execute("BEGIN; INSERT INTO s VALUES (3, 3); SAVEPOINT a; RELEASE a; COMMIT").await.unwrap();
        assert_eq!(texts(&a, "SELECT id FROM s ORDER BY id").await, ["3"]);
    });
}

#[test]
fn writers_wait_for_row_locks_and_recheck() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE acc (id int PRIMARY KEY, bal int NOT NULL)").await.unwrap();
        a.batch_execute("INSERT INTO acc VALUES (1, 100), (2, 100)").await.unwrap();
        a.batch_execute("BEGIN; UPDATE acc SET bal = bal - 30 WHERE id = 1").await.unwrap();
        // B's update of the same row waits for A, then applies to A's committed value.
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let waiter = tokio::spawn(async move {
            let n = b.execute("UPDATE acc SET bal = bal * 2 WHERE id = 1 AND bal < 100", &[]).await.unwrap();
            d.store(true, Ordering::SeqCst);
            (b, n)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!done.load(Ordering::SeqCst), "the second writer must wait for the first transaction");
        // A reader is not blocked and sees the committed value.
        let c = pg_connect(o.pg_port).await;
        assert_eq!(one_i64(&c, "SELECT bal::int8 FROM acc WHERE id = 1").await, 100);
        a.batch_execute("COMMIT").await.unwrap();
        let (b, n) = waiter.await.unwrap();
        // Its WHERE was re-checked against A's committed row (70 < 100): it matched.
        assert_eq!(n, 1);
        assert_eq!(one_i64(&c, "SELECT bal::int8 FROM acc WHERE id = 1").await, 140);

        // Rolled back instead: the waiter sees the old row, whose WHERE no longer matches.
        a.batch_execute("BEGIN; UPDATE acc SET bal = 0 WHERE id = 2").await.unwrap();
        let waiter =
            tokio::spawn(async move { b.execute("UPDATE acc SET bal = 1 WHERE id = 2 AND bal = 0", &[]).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        a.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(waiter.await.unwrap().unwrap(), 0);
        assert_eq!(one_i64(&c, "SELECT bal::int8 FROM acc WHERE id = 2").await, 100);

        // Inserting a key another transaction inserted waits, then fails once that commits.
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("BEGIN; INSERT INTO acc VALUES (3, 1)").await.unwrap();
        let waiter = tokio::spawn(async move { b.execute("INSERT INTO acc VALUES (3, 2)", &[]).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(code(&waiter.await.unwrap().unwrap_err()), "23505");

        // A client that goes away mid-transaction releases its locks.
        let gone = pg_connect(o.pg_port).await;
        gone.batch_execute("BEGIN; UPDATE acc SET bal = -1 WHERE id = 3").await.unwrap();
        drop(gone);
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.batch_execute("UPDATE acc SET bal = 7 WHERE id = 3").await.unwrap();
        assert_eq!(one_i64(&c, "SELECT bal::int8 FROM acc WHERE id = 3").await, 7);
    });
}

#[test]
fn deadlock_is_detected_and_one_side_fails() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE d (id int PRIMARY KEY, v int)").await.unwrap();
        a.batch_execute("INSERT INTO d VALUES (1, 0), (2, 0)").await.unwrap();
        a.batch_execute("BEGIN; UPDATE d SET v = 1 WHERE id = 1").await.unwrap();
        b.batch_execute("BEGIN; UPDATE d SET v = 2 WHERE id = 2").await.unwrap();
        let ta = tokio::spawn(async move {
            let r = a.batch_execute("UPDATE d SET v = 1 WHERE id = 2").await;
            (a, r)
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let rb = b.batch_execute("UPDATE d SET v = 2 WHERE id = 1").await;
        // B is younger: it is the one that fails; A then gets the row.
        assert_eq!(code(&rb.unwrap_err()), "40P01");
        b.batch_execute("ROLLBACK").await.unwrap();
        let (a, ra) = ta.await.unwrap();
        ra.unwrap();
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(texts(&b, "SELECT v FROM d ORDER BY id").await, ["1", "1"]);
    });
}

#[test]
fn concurrent_increments_lose_nothing_and_transfers_keep_the_total() {
    let o = Orbit::start(&["--shards", "2"]);
    let clients = 4u64;
    let rounds = 150u64;
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("CREATE TABLE ctr (id int PRIMARY KEY, n int8 NOT NULL)").await.unwrap();
        c.batch_execute("INSERT INTO ctr VALUES (1, 0), (2, 0)").await.unwrap();
        c.batch_execute("CREATE TABLE acct (id int PRIMARY KEY, bal int NOT NULL)").await.unwrap();
        let accounts = 16i32;
        for i in 0..accounts {
            c.execute("INSERT INTO acct VALUES ($1, 1000)", &[&i]).await.unwrap();
        }
        let total = 1000 * accounts as i64;
        let stop = Arc::new(AtomicBool::new(false));
        let checked = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for w in 0..clients {
            let port = o.pg_port;
            tasks.push(tokio::spawn(async move {
                let c = pg_connect(port).await;
                let mut seed = w * 7919 + 1;
                let mut next = move || {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed
                };
                for _ in 0..rounds {
                    c.batch_execute("UPDATE ctr SET n = n + 1 WHERE id = 1").await.unwrap();
                    c.batch_execute("BEGIN; UPDATE ctr SET n = n + 1 WHERE id = 2; COMMIT").await.unwrap();
                    // A transfer between two accounts, in a fixed order or not (deadlocks retried).
                    let (x, y) = ((next() % 16) as i32, (next() % 16) as i32);
                    let amt = (next() % 50) as i32;
                    loop {
                        let r = async {
                            c.batch_execute("BEGIN").await?;
                            c.execute("UPDATE acct SET bal = bal - $1 WHERE id = $2", &[&amt, &x]).await?;
                            c.execute("UPDATE acct SET bal = bal + $1 WHERE id = $2", &[&amt, &y]).await?;
                            c.batch_execute("COMMIT").await
                        }
                        .await;
                        match r {
                            Ok(()) => break,
                            Err(e) if code(&e) == "40P01" => c.batch_execute("ROLLBACK").await.unwrap(),
                            Err(e) => panic!("transfer: {e}"),
                        }
                    }
                }
            }));
        }
        let reader = {
            let (stop, checked, port) = (stop.clone(), checked.clone(), o.pg_port);
            tokio::spawn(async move {
                let c = pg_connect(port).await;
                while !stop.load(Ordering::SeqCst) {
                    let sum: i64 = c.query_one("SELECT sum(bal) FROM acct", &[]).await.unwrap().get(0);
                    assert_eq!(sum, total, "a reader saw part of a transfer");
                    checked.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        for t in tasks {
            t.await.unwrap();
        }
        stop.store(true, Ordering::SeqCst);
        reader.await.unwrap();
        assert!(checked.load(Ordering::SeqCst) > 0);
        let n1 = one_i64(&c, "SELECT n FROM ctr WHERE id = 1").await;
        let n2 = one_i64(&c, "SELECT n FROM ctr WHERE id = 2").await;
        assert_eq!((n1, n2), ((clients * rounds) as i64, (clients * rounds) as i64));
        assert_eq!(one_i64(&c, "SELECT sum(bal) FROM acct").await, total);
    });
}

#[test]
fn cancel_request_stops_a_statement_waiting_for_a_lock() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE cx (id int PRIMARY KEY, v int)").await.unwrap();
        a.batch_execute("INSERT INTO cx VALUES (1, 0)").await.unwrap();
        a.batch_execute("BEGIN; UPDATE cx SET v = 1 WHERE id = 1").await.unwrap();
        let token = b.cancel_token();
        let waiter = tokio::spawn(async move {
            let r = b.batch_execute("UPDATE cx SET v = 2 WHERE id = 1").await;
            (b, r)
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        // A cancel with the wrong secret would do nothing; the driver's token has the right one.
        token.cancel_query(NoTls).await.unwrap();
        let (b, r) = waiter.await.unwrap();
        let e = r.unwrap_err();
        assert_eq!(code(&e), "57014");
        assert_eq!(e.as_db_error().unwrap().message(), "canceling statement due to user request");
        // The cancelled statement left nothing behind: A commits, B goes on.
        a.batch_execute("COMMIT").await.unwrap();
        b.batch_execute("UPDATE cx SET v = v + 10 WHERE id = 1").await.unwrap();
        assert_eq!(texts(&b, "SELECT v FROM cx").await, ["11"]);
        // A cancel while nothing runs is ignored.
        b.cancel_token().cancel_query(NoTls).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(texts(&b, "SELECT v FROM cx").await, ["11"]);
    });
}

/// One frontend message: type byte, length, body.
fn message(t: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![t];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// Parse + Bind + Execute of one statement on the unnamed statement and portal.
fn run_unnamed(sql: &str) -> Vec<u8> {
    let mut parse = b"\0".to_vec();
    parse.extend_from_slice(sql.as_bytes());
    parse.extend_from_slice(b"\0\0\0");
    let mut out = message(b'P', &parse);
    out.extend(message(b'B', b"\0\0\0\0\0\0\0\0"));
    out.extend(message(b'E', b"\0\0\0\0\0"));
    out
}

#[test]
fn extended_protocol_statements_before_sync_are_one_implicit_transaction() {
    use std::io::{Read, Write};
    let o = Orbit::start(&["--shards", "2"]);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", o.pg_port)).unwrap();
    let mut body = 196608i32.to_be_bytes().to_vec();
    body.extend_from_slice(b"user\0postgres\0\0");
    let mut pkt = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    pkt.extend_from_slice(&body);
    s.write_all(&pkt).unwrap();
    let until_ready = |s: &mut std::net::TcpStream| {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 4096];
        while !got.ends_with(b"Z\0\0\0\x05I") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "closed");
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).into_owned()
    };
    until_ready(&mut s);
    s.write_all(&[run_unnamed("CREATE TABLE pipe (id int PRIMARY KEY)"), message(b'S', b"")].concat()).unwrap();
    until_ready(&mut s);
    // Two inserts, the second fails, then Sync: both are rolled back.
    let batch =
        [run_unnamed("INSERT INTO pipe VALUES (1)"), run_unnamed("INSERT INTO pipe VALUES (1)"), message(b'S', b"")]
            .concat();
    s.write_all(&batch).unwrap();
    let reply = until_ready(&mut s);
    assert!(reply.contains("23505"), "{reply}");
    // Two good inserts and Sync: both there.
    let batch =
        [run_unnamed("INSERT INTO pipe VALUES (2)"), run_unnamed("INSERT INTO pipe VALUES (3)"), message(b'S', b"")]
            .concat();
    s.write_all(&batch).unwrap();
    until_ready(&mut s);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        assert_eq!(texts(&c, "SELECT id FROM pipe ORDER BY id").await, ["2", "3"]);
    });
}

#[test]
fn select_for_update_locks_the_rows_it_returns() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE q (id int PRIMARY KEY, state text)").await.unwrap();
        a.batch_execute("INSERT INTO q VALUES (1, 'new'), (2, 'new'), (3, 'done')").await.unwrap();
        a.batch_execute("BEGIN").await.unwrap();
        assert_eq!(texts(&a, "SELECT id FROM q WHERE state = 'new' ORDER BY id FOR UPDATE").await, ["1", "2"]);
        // B's update of a locked row waits for A; a row A did not lock is free.
        b.batch_execute("UPDATE q SET state = 'x' WHERE id = 3").await.unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let waiter = tokio::spawn(async move {
            let n = b.execute("UPDATE q SET state = 'taken' WHERE id = 1 AND state = 'new'", &[]).await.unwrap();
            d.store(true, Ordering::SeqCst);
            n
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!done.load(Ordering::SeqCst), "the row locked FOR UPDATE must make the writer wait");
        a.batch_execute("UPDATE q SET state = 'working' WHERE id = 1; COMMIT").await.unwrap();
        // Re-checked after A's commit: the row is no longer 'new'.
        assert_eq!(waiter.await.unwrap(), 0);
        let e = a.batch_execute("SELECT count(*) FROM q FOR UPDATE").await.unwrap_err();
        assert_eq!(e.as_db_error().unwrap().message(), "FOR UPDATE is not allowed with aggregate functions");
        let e = a.batch_execute("BEGIN READ ONLY; SELECT * FROM q FOR UPDATE").await.unwrap_err();
        assert_eq!(code(&e), "25006");
    });
}

#[test]
fn for_share_lets_sharers_through_and_holds_writers() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        let c = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE parent (id int PRIMARY KEY, name text)").await.unwrap();
        a.batch_execute("INSERT INTO parent VALUES (1, 'a'), (2, 'b')").await.unwrap();
        a.batch_execute("BEGIN").await.unwrap();
        assert_eq!(texts(&a, "SELECT id FROM parent WHERE id = 1 FOR SHARE").await, ["1"]);
        // Another sharer is not held up, and NOWAIT finds nothing in its way.
        b.batch_execute("BEGIN").await.unwrap();
        assert_eq!(texts(&b, "SELECT id FROM parent ORDER BY id FOR SHARE NOWAIT").await, ["1", "2"]);
        // A writer, or FOR UPDATE, is: NOWAIT fails, SKIP LOCKED leaves the row out.
        let e = c.batch_execute("BEGIN; SELECT * FROM parent WHERE id = 1 FOR UPDATE NOWAIT").await.unwrap_err();
        assert_eq!(code(&e), "55P03");
        c.batch_execute("ROLLBACK").await.unwrap();
        assert!(texts(&c, "SELECT id FROM parent WHERE id = 1 FOR UPDATE SKIP LOCKED").await.is_empty());
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let writer = tokio::spawn(async move {
            let n = c.execute("UPDATE parent SET name = 'z' WHERE id = 1", &[]).await.unwrap();
            d.store(true, Ordering::SeqCst);
            n
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        a.batch_execute("COMMIT").await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!done.load(Ordering::SeqCst), "the writer must wait for every sharer");
        b.batch_execute("COMMIT").await.unwrap();
        assert_eq!(writer.await.unwrap(), 1);
        // Two sharers that both go on to write deadlock; one of them fails with 40P01.
        a.batch_execute("BEGIN; SELECT * FROM parent WHERE id = 2 FOR SHARE").await.unwrap();
        b.batch_execute("BEGIN; SELECT * FROM parent WHERE id = 2 FOR SHARE").await.unwrap();
        let first = tokio::spawn(async move {
            let r = a.batch_execute("UPDATE parent SET name = 'a' WHERE id = 2").await;
            (a, r)
        });
        let r_b = b.batch_execute("UPDATE parent SET name = 'b' WHERE id = 2").await;
        let failed_b = r_b.as_ref().is_err_and(|e| code(e) == "40P01");
        if failed_b {
            b.batch_execute("ROLLBACK").await.unwrap();
        }
        let (a, r_a) = first.await.unwrap();
        let failed_a = r_a.as_ref().is_err_and(|e| code(e) == "40P01");
        assert!(failed_a != failed_b, "exactly one side of the deadlock fails: {r_a:?} {r_b:?}");
        a.batch_execute("COMMIT").await.unwrap();
        if !failed_b {
            b.batch_execute("COMMIT").await.unwrap();
        }
        let e = a.batch_execute("BEGIN READ ONLY; SELECT * FROM parent FOR SHARE").await.unwrap_err();
        assert_eq!(e.as_db_error().unwrap().message(), "cannot execute SELECT FOR SHARE in a read-only transaction");
    });
}

#[test]
fn for_update_skip_locked_and_nowait() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        let c = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE jobs (id int PRIMARY KEY, state text)").await.unwrap();
        a.batch_execute("INSERT INTO jobs VALUES (1, 'new'), (2, 'new'), (3, 'new'), (4, 'new'), (5, 'new')")
            .await
            .unwrap();
        // A takes the first job; B's LIMIT 1 SKIP LOCKED takes the next, not every row.
        let first = "SELECT id FROM jobs WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED";
        a.batch_execute("BEGIN").await.unwrap();
        assert_eq!(texts(&a, first).await, ["1"]);
        b.batch_execute("BEGIN").await.unwrap();
        assert_eq!(texts(&b, first).await, ["2"]);
        // NOWAIT fails on a held row at once; a free row locks.
        let e = c.batch_execute("SELECT id FROM jobs WHERE id = 1 FOR UPDATE NOWAIT").await.unwrap_err();
        assert_eq!(code(&e), "55P03");
        assert_eq!(e.as_db_error().unwrap().message(), "could not obtain lock on row in relation \"jobs\"");
        assert_eq!(texts(&c, "SELECT id FROM jobs WHERE id = 5 FOR UPDATE NOWAIT").await, ["5"]);
        // Without LIMIT: every row not held by another; its own are kept.
        assert_eq!(texts(&b, "SELECT id FROM jobs ORDER BY id FOR UPDATE SKIP LOCKED").await, ["2", "3", "4", "5"]);
        a.batch_execute("COMMIT").await.unwrap();
        b.batch_execute("ROLLBACK").await.unwrap();

        // A job queue: workers take jobs with SKIP LOCKED; each job is done exactly once.
        c.batch_execute("UPDATE jobs SET state = 'new'").await.unwrap();
        let mut workers = Vec::new();
        for _ in 0..3 {
            let w = pg_connect(o.pg_port).await;
            workers.push(tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    w.batch_execute("BEGIN").await.unwrap();
                    let got = texts(&w, first).await;
                    let Some(id) = got.first() else {
                        w.batch_execute("COMMIT").await.unwrap();
                        break;
                    };
                    w.batch_execute(&format!("UPDATE jobs SET state = 'done' WHERE id = {id}; COMMIT")).await.unwrap();
                    done.push(id.parse::<i32>().unwrap());
                }
                done
            }));
        }
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.unwrap());
        }
        all.sort_unstable();
        assert_eq!(all, [1, 2, 3, 4, 5]);
        assert_eq!(texts(&c, "SELECT count(*) FROM jobs WHERE state = 'done'").await, ["5"]);
    });
}

#[test]
fn statement_timeout_and_lock_timeout_end_lock_waits() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE tt (id int PRIMARY KEY, v int)").await.unwrap();
        a.batch_execute("INSERT INTO tt VALUES (1, 0), (2, 0)").await.unwrap();
        b.batch_execute("SET statement_timeout = 200").await.unwrap();
        assert_eq!(texts(&b, "SHOW statement_timeout").await, ["200ms"]);
        a.batch_execute("BEGIN; UPDATE tt SET v = 1 WHERE id = 1").await.unwrap();
        let e = b.batch_execute("UPDATE tt SET v = 2 WHERE id = 1").await.unwrap_err();
        assert_eq!(code(&e), "57014");
        assert_eq!(e.as_db_error().unwrap().message(), "canceling statement due to statement timeout");
        // The session goes on; statements within the timeout run.
        b.batch_execute("UPDATE tt SET v = 2 WHERE id = 2").await.unwrap();
        b.batch_execute("SET statement_timeout = 0; SET lock_timeout = '100ms'").await.unwrap();
        let e = b.batch_execute("UPDATE tt SET v = 3 WHERE id = 1").await.unwrap_err();
        assert_eq!(code(&e), "55P03");
        assert_eq!(e.as_db_error().unwrap().message(), "canceling statement due to lock timeout");
        a.batch_execute("COMMIT").await.unwrap();
        b.batch_execute("UPDATE tt SET v = 3 WHERE id = 1").await.unwrap();
        assert_eq!(texts(&b, "SELECT v FROM tt ORDER BY id").await, ["3", "2"]);
        // A long nested-loop join on the coordinator is stopped mid-way too: 20000 x 20000
        // candidate pairs, none kept, would take many minutes to finish.
        b.batch_execute(
            "CREATE TABLE l (x int); CREATE TABLE r (y int); \
             INSERT INTO l SELECT g FROM generate_series(1, 20000) g; INSERT INTO r SELECT * FROM l",
        )
        .await
        .unwrap();
        b.batch_execute("SET lock_timeout = 0; SET statement_timeout = '100ms'").await.unwrap();
        let e = b.batch_execute("SELECT count(*) FROM l LEFT JOIN r ON l.x + r.y < 0").await.unwrap_err();
        assert_eq!(code(&e), "57014");
        // So is a long WITH RECURSIVE (900000 iterations on the coordinator).
        let e = b
            .batch_execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 900000) \
                 SELECT count(*) FROM n",
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "57014");
        b.batch_execute("SET statement_timeout = 0").await.unwrap();
        assert_eq!(texts(&b, "SELECT count(*) FROM l JOIN r ON l.x = r.y").await, ["20000"]);
    });
}

/// ALTER TABLE in a block holds the table until the block ends, as PostgreSQL's ACCESS
/// EXCLUSIVE lock: other sessions' statements that name it wait (lock_timeout ends the wait with
/// 55P03), then run against what the block left; the block's own writes go on; a session that
/// goes away inside a block rolls it back, DDL included.
#[test]
fn alter_in_a_block_makes_others_wait_and_a_dropped_session_rolls_back() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = Arc::new(pg_connect(o.pg_port).await);
        a.batch_execute("CREATE TABLE h (id int PRIMARY KEY, v int); INSERT INTO h VALUES (1, 1), (2, 2), (3, 3)")
            .await
            .unwrap();
        a.batch_execute("CREATE TABLE other (id int PRIMARY KEY); INSERT INTO other VALUES (1)").await.unwrap();

        a.batch_execute("BEGIN; ALTER TABLE h ADD COLUMN w int DEFAULT 0").await.unwrap();
        b.batch_execute("SET lock_timeout = '200ms'").await.unwrap();
        for sql in ["UPDATE h SET v = 9 WHERE id = 1", "ALTER TABLE h ADD COLUMN z int", "SELECT count(*) FROM h"] {
            let e = b.batch_execute(sql).await.unwrap_err();
            assert_eq!(code(&e), "55P03", "{sql}: {e}");
            assert_eq!(e.as_db_error().unwrap().message(), "canceling statement due to lock timeout");
        }
        b.batch_execute("SET lock_timeout = 0").await.unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let (b2, d) = (b.clone(), done.clone());
        let writer = tokio::spawn(async move {
            let r = b2.execute("UPDATE h SET v = 9 WHERE id = 1", &[]).await;
            d.store(true, Ordering::SeqCst);
            r
        });
        a.batch_execute("UPDATE h SET w = id * 10").await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!done.load(Ordering::SeqCst), "the UPDATE ran while the ALTER's block was open");
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(writer.await.unwrap().unwrap(), 1);
        assert_eq!(texts(&b, "SELECT v || ',' || w FROM h ORDER BY id").await, ["9,10", "2,20", "3,30"]);

        // A failed ALTER in the block keeps the table held: an earlier ALTER's ROLLBACK puts
        // rows back that no one else may have changed meanwhile.
        a.batch_execute("BEGIN; ALTER TABLE h ADD COLUMN q int").await.unwrap();
        let e = a.batch_execute("ALTER TABLE h ADD CONSTRAINT neg CHECK (v < 0)").await.unwrap_err();
        assert_eq!(code(&e), "23514", "{e}");
        b.batch_execute("SET lock_timeout = '100ms'").await.unwrap();
        let e = b.batch_execute("UPDATE h SET v = 7 WHERE id = 3").await.unwrap_err();
        assert_eq!(code(&e), "55P03", "{e}");
        b.batch_execute("SET lock_timeout = 0").await.unwrap();
        a.batch_execute("ROLLBACK").await.unwrap();
        b.batch_execute("UPDATE h SET v = 7 WHERE id = 3").await.unwrap();
        assert_eq!(texts(&b, "SELECT v || ',' || w FROM h ORDER BY id").await, ["9,10", "2,20", "7,30"]);

        // The session goes away with its DDL uncommitted: all of it is undone.
        let gone = pg_connect(o.pg_port).await;
        gone.batch_execute(
            "BEGIN; ALTER TABLE h DROP COLUMN v; DROP TABLE other; CREATE TABLE fresh (id int PRIMARY KEY); \
             UPDATE h SET w = -1",
        )
        .await
        .unwrap();
        drop(gone);
        let mut back = false;
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if b.batch_execute("UPDATE h SET v = 8 WHERE id = 2").await.is_ok() {
                back = true;
                break;
            }
        }
        assert!(back, "the dropped session's ALTER was not undone");
        assert_eq!(texts(&b, "SELECT v || ',' || w FROM h ORDER BY id").await, ["9,10", "8,20", "7,30"]);
        assert_eq!(texts(&b, "SELECT id FROM other").await, ["1"]);
        let e = b.batch_execute("SELECT * FROM fresh").await.unwrap_err();
        assert_eq!(code(&e), "42P01", "{e}");
    });
}

#[test]
fn a_rebuild_in_a_repeatable_read_block_keeps_rows_committed_after_its_snapshot() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE rr (id int PRIMARY KEY, v int); INSERT INTO rr VALUES (1, 1), (2, 2)")
            .await
            .unwrap();
        // A's snapshot is taken before B's insert commits; A's ALTER rebuilds the table from
        // the latest committed rows (as PostgreSQL rewrites every live row), not its snapshot.
        a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
        assert_eq!(one_i64(&a, "SELECT count(*) FROM rr").await, 2);
        b.batch_execute("INSERT INTO rr VALUES (3, 3)").await.unwrap();
        a.batch_execute("INSERT INTO rr VALUES (4, 4); ALTER TABLE rr ADD COLUMN w int DEFAULT 5").await.unwrap();
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(texts(&b, "SELECT id || ',' || w FROM rr ORDER BY id").await, ["1,5", "2,5", "3,5", "4,5"]);
    });
}

/// PostgREST's and row-security set-ups' per-request settings over the extended protocol:
/// `set_config(name, $1, true)` calls with parameters, several in one statement, in effect for
/// the block; a statement prepared before a custom parameter exists reads it once it does.
#[test]
fn set_config_takes_parameters_and_prepared_statements_see_custom_settings() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let mut a = pg_connect(o.pg_port).await;
        let read = a.prepare("SELECT current_setting('request.jwt.claims', true)").await.unwrap();
        let claims = |r: &tokio_postgres::Row| r.get::<_, Option<String>>(0);
        assert_eq!(claims(&a.query_one(&read, &[]).await.unwrap()), None);

        let t = a.transaction().await.unwrap();
        let row = t
            .query_one(
                "SELECT set_config('request.jwt.claims', $1, true), set_config($2, $3, true) AS method",
                &[&r#"{"sub":"7"}"#, &"request.method", &"GET"],
            )
            .await
            .unwrap();
        assert_eq!((row.get::<_, String>(0), row.get::<_, String>("method")), (r#"{"sub":"7"}"#.into(), "GET".into()));
        assert_eq!(claims(&t.query_one(&read, &[]).await.unwrap()).as_deref(), Some(r#"{"sub":"7"}"#));
        let method: String = t.query_one("SELECT current_setting('request.method')", &[]).await.unwrap().get(0);
        assert_eq!(method, "GET");
        t.commit().await.unwrap();
        // Local to the block: empty after it, not gone.
        assert_eq!(claims(&a.query_one(&read, &[]).await.unwrap()).as_deref(), Some(""));

        // Arguments computed from parameters; a subquery is refused; a NULL name is 22004.
        let n: String = a.query_one("SELECT set_config('app.n', $1::int::text, false)", &[&7i32]).await.unwrap().get(0);
        assert_eq!(n, "7");
        let e = a.query_one("SELECT set_config('app.n', (SELECT 'x'), false)", &[]).await.unwrap_err();
        assert_eq!(code(&e), "0A000");
        let e = a.query_one("SELECT set_config($1, 'x', false)", &[&None::<String>]).await.unwrap_err();
        assert_eq!(code(&e), "22004");
        let e = a.query_one("SELECT set_config($1, 'x', false)", &[&"orbit.nope"]).await.unwrap_err();
        assert_eq!(code(&e), "42602");
    });
}

/// `FOR UPDATE OF t` over a join (Django's `select_for_update(of=...)`, job queues joining
/// their queue table): only the named table's rows are locked, SKIP LOCKED and LIMIT work row
/// by row as over one table, a row changed while the locker waited is read again (and left
/// out once it no longer passes WHERE), and the other table's rows stay free.
#[test]
fn for_update_of_a_table_in_a_join_locks_its_rows_only() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute(
            "CREATE TABLE queues (name text PRIMARY KEY, paused bool); \
             CREATE TABLE jobs (id int PRIMARY KEY, queue text, state text); \
             CREATE TABLE notes (job int, body text); \
             INSERT INTO queues VALUES ('a', false), ('b', true); \
             INSERT INTO jobs VALUES (1, 'a', 'new'), (2, 'a', 'new'), (3, 'b', 'new'), (4, 'a', 'new'); \
             INSERT INTO notes VALUES (1, 'x'), (2, 'y'), (4, 'z')",
        )
        .await
        .unwrap();
        let next = "SELECT j.id FROM jobs j JOIN queues q ON q.name = j.queue \
                    WHERE NOT q.paused AND j.state = 'new' ORDER BY j.id LIMIT 1 FOR UPDATE OF j SKIP LOCKED";
        a.batch_execute("BEGIN").await.unwrap();
        assert_eq!(texts(&a, next).await, ["1"]);
        b.batch_execute("BEGIN").await.unwrap();
        assert_eq!(texts(&b, next).await, ["2"]);
        // The queue rows are not locked: another session updates one at once.
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("SET lock_timeout = '200ms'; UPDATE queues SET paused = false WHERE name = 'a'").await.unwrap();
        // The job rows are: NOWAIT fails on A's.
        let e = c
            .batch_execute(
                "SELECT j.id FROM jobs j, queues q WHERE q.name = j.queue AND j.id = 1 FOR UPDATE OF j NOWAIT",
            )
            .await
            .unwrap_err();
        assert_eq!(code(&e), "55P03");
        // Several names after OF, and a table without a primary key (its row id).
        assert_eq!(
            texts(&c, "SELECT n.body FROM notes n JOIN jobs j ON j.id = n.job WHERE j.id = 4 FOR SHARE OF n, j NOWAIT")
                .await,
            ["z"]
        );
        a.batch_execute("COMMIT").await.unwrap();
        b.batch_execute("COMMIT").await.unwrap();

        // A waits for B's lock on job 4, then sees it as B left it: no longer 'new'.
        b.batch_execute("BEGIN; SELECT j.id FROM jobs j JOIN notes n ON true WHERE j.id = 4 FOR UPDATE OF j")
            .await
            .unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        let waiter = tokio::spawn(async move {
            let rows = texts(
                &a,
                "SELECT j.id, q.name FROM jobs j JOIN queues q ON q.name = j.queue \
                 WHERE j.state = 'new' AND j.id = 4 FOR UPDATE",
            )
            .await;
            d.store(true, Ordering::SeqCst);
            rows
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!done.load(Ordering::SeqCst), "the locker must wait for B's row");
        b.batch_execute("UPDATE jobs SET state = 'done' WHERE id = 4; COMMIT").await.unwrap();
        assert!(waiter.await.unwrap().is_empty());

        for (sql, want) in [
            ("SELECT 1 FROM jobs j LEFT JOIN queues q ON q.name = j.queue FOR UPDATE OF q", "0A000"),
            ("SELECT 1 FROM jobs j JOIN queues q ON q.name = j.queue FOR UPDATE OF jobs", "42P01"),
            ("SELECT 1 FROM jobs j FOR UPDATE OF public.j", "42601"),
        ] {
            assert_eq!(code(&c.batch_execute(sql).await.unwrap_err()), want, "{sql}");
        }
    });
}

/// A session whose notifications (NotificationResponse) come out of a channel.
async fn listener(port: u16) -> (Client, futures::channel::mpsc::UnboundedReceiver<tokio_postgres::Notification>) {
    use futures::StreamExt;
    let (client, mut conn) =
        tokio_postgres::connect(&format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"), NoTls)
            .await
            .unwrap();
    let (tx, rx) = futures::channel::mpsc::unbounded();
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(n) = m {
                let _ = tx.unbounded_send(n);
            }
        }
    });
    (client, rx)
}

/// The next notification within a while, as (channel, payload, sender's process ID).
async fn next_note(
    rx: &mut futures::channel::mpsc::UnboundedReceiver<tokio_postgres::Notification>,
) -> Option<(String, String, i32)> {
    use futures::StreamExt;
    let n = tokio::time::timeout(Duration::from_millis(2000), rx.next()).await.ok()??;
    Some((n.channel().to_string(), n.payload().to_string(), n.process_id()))
}

/// Nothing arrives for a while.
async fn no_note(rx: &mut futures::channel::mpsc::UnboundedReceiver<tokio_postgres::Notification>) -> bool {
    use futures::StreamExt;
    tokio::time::timeout(Duration::from_millis(300), rx.next()).await.is_err()
}

/// LISTEN / NOTIFY between sessions (on either shard): a notification reaches an idle
/// listener when the sender's transaction commits, not before, not after a ROLLBACK; a
/// listener inside a block gets it once the block ends; a transaction's notifications come in
/// order, a repeated one once; UNLISTEN stops them; pg_notify() takes parameters.
#[test]
fn listen_notify_delivers_committed_notifications() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let (l, mut rx) = listener(o.pg_port).await;
        l.batch_execute("LISTEN jobs").await.unwrap();
        // Senders on several connections, so some sit on the other shard.
        let mut senders = Vec::new();
        for _ in 0..8 {
            senders.push(pg_connect(o.pg_port).await);
        }
        for (i, s) in senders.iter().enumerate() {
            let pid: i32 = s.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
            s.batch_execute(&format!("NOTIFY jobs, 'hello {i}'")).await.unwrap();
            assert_eq!(next_note(&mut rx).await, Some(("jobs".into(), format!("hello {i}"), pid)));
        }
        let s = &senders[1];
        s.batch_execute("BEGIN; NOTIFY jobs, 'later'").await.unwrap();
        assert!(no_note(&mut rx).await, "a notification goes out at COMMIT");
        s.batch_execute("COMMIT").await.unwrap();
        assert_eq!(next_note(&mut rx).await.map(|n| n.1).as_deref(), Some("later"));
        s.batch_execute("BEGIN; NOTIFY jobs, 'never'; ROLLBACK").await.unwrap();
        s.batch_execute("BEGIN; SAVEPOINT a; NOTIFY jobs, 'undone'; ROLLBACK TO a; NOTIFY jobs, 'kept'; COMMIT")
            .await
            .unwrap();
        assert_eq!(next_note(&mut rx).await.map(|n| n.1).as_deref(), Some("kept"));
        // In order, a repeat once, another channel not heard.
        let mut batch = String::from("BEGIN;");
        for i in 0..50 {
            batch.push_str(&format!("NOTIFY jobs, 'n{i}'; NOTIFY jobs, 'n{i}'; NOTIFY other, 'x';"));
        }
        batch.push_str("COMMIT");
        s.batch_execute(&batch).await.unwrap();
        for i in 0..50 {
            assert_eq!(next_note(&mut rx).await.map(|n| n.1), Some(format!("n{i}")));
        }
        // pg_notify with parameters (node-postgres / psycopg style).
        s.query("SELECT pg_notify($1, $2)", &[&"jobs", &"from params"]).await.unwrap();
        assert_eq!(next_note(&mut rx).await.map(|n| n.1).as_deref(), Some("from params"));
        // A listener inside a block hears nothing until it ends.
        l.batch_execute("BEGIN").await.unwrap();
        s.batch_execute("NOTIFY jobs, 'held'").await.unwrap();
        assert!(no_note(&mut rx).await, "a listener in a block waits for its end");
        l.batch_execute("COMMIT").await.unwrap();
        assert_eq!(next_note(&mut rx).await.map(|n| n.1).as_deref(), Some("held"));
        let channels: Vec<String> =
            l.query("SELECT * FROM pg_listening_channels()", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
        assert_eq!(channels, ["jobs"]);
        l.batch_execute("UNLISTEN jobs").await.unwrap();
        s.batch_execute("NOTIFY jobs, 'gone'").await.unwrap();
        assert!(no_note(&mut rx).await, "UNLISTEN stops them");
        let e = s.batch_execute("SELECT pg_notify('', 'x')").await.unwrap_err();
        assert_eq!(e.as_db_error().unwrap().message(), "channel name cannot be empty");
    });
}

#[test]
fn merge_waits_for_row_locks_and_matches_again() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        let c = pg_connect(o.pg_port).await;
        a.batch_execute("CREATE TABLE inv (id int PRIMARY KEY, qty int NOT NULL)").await.unwrap();
        a.batch_execute("INSERT INTO inv VALUES (1, 10), (2, 10)").await.unwrap();
        let merge = "MERGE INTO inv USING (VALUES (1, 5), (2, 5)) s(id, n) ON inv.id = s.id \
                     WHEN MATCHED AND inv.qty = 0 THEN DELETE \
                     WHEN MATCHED THEN UPDATE SET qty = inv.qty + s.n \
                     WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.n)";

        // B's MERGE waits for A's row 1, then chooses its clause on A's committed value (DELETE).
        a.batch_execute("BEGIN; UPDATE inv SET qty = 0 WHERE id = 1").await.unwrap();
        let waiter = tokio::spawn(async move {
            let n = b.execute(merge, &[]).await.unwrap();
            (b, n)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(texts(&c, "SELECT id || ':' || qty FROM inv ORDER BY id").await, ["1:10", "2:10"]);
        a.batch_execute("COMMIT").await.unwrap();
        let (b, n) = waiter.await.unwrap();
        assert_eq!(n, 2);
        assert_eq!(texts(&c, "SELECT id || ':' || qty FROM inv ORDER BY id").await, ["2:15"]);

        // A row deleted under it is no longer matched: the NOT MATCHED clause inserts it.
        a.batch_execute("BEGIN; DELETE FROM inv WHERE id = 2").await.unwrap();
        let waiter = tokio::spawn(async move {
            let n = b.execute(merge, &[]).await.unwrap();
            (b, n)
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        a.batch_execute("COMMIT").await.unwrap();
        let (_b, n) = waiter.await.unwrap();
        assert_eq!(n, 2);
        assert_eq!(texts(&c, "SELECT id || ':' || qty FROM inv ORDER BY id").await, ["1:5", "2:5"]);

        // REPEATABLE READ: a row changed since the snapshot is 40001, as PostgreSQL says.
        a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM inv").await.unwrap();
        c.batch_execute("UPDATE inv SET qty = qty + 1 WHERE id = 1").await.unwrap();
        let e = a.batch_execute(merge).await.unwrap_err();
        assert_eq!(code(&e), "40001");
        a.batch_execute("ROLLBACK").await.unwrap();
        assert_eq!(texts(&c, "SELECT id || ':' || qty FROM inv ORDER BY id").await, ["1:6", "2:5"]);

        // Concurrent MERGE increments of one row lose none.
        let (clients, rounds) = (4i64, 50i64);
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let port = o.pg_port;
            tasks.push(tokio::spawn(async move {
                let c = pg_connect(port).await;
                for _ in 0..rounds {
                    let n = c
                        .execute(
                            "MERGE INTO inv USING (SELECT 1 AS id) s ON inv.id = s.id \
                             WHEN MATCHED THEN UPDATE SET qty = inv.qty + 1 \
                             WHEN NOT MATCHED THEN INSERT VALUES (s.id, 1)",
                            &[],
                        )
                        .await
                        .unwrap();
                    assert_eq!(n, 1);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(one_i64(&c, "SELECT qty::int8 FROM inv WHERE id = 1").await, 6 + clients * rounds);
    });
}
