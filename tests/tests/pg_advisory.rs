//! Advisory locks between sessions, as migrations (Rails, Flyway) and job schedulers take
//! them: a lock held by one session makes another's try fail and its wait last until the
//! holder unlocks, commits (transaction-level locks) or goes away, or until lock_timeout. The
//! same checks run on a real PostgreSQL 15 when it is installed.

use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};
use tokio_postgres::Client;

async fn one_bool(c: &Client, sql: &str) -> bool {
    c.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

async fn checks(port: u16, server: &str) {
    let a = pg_connect(port).await;
    let b = pg_connect(port).await;
    // A session lock: the other session's try fails, the holder's own succeeds (stacks).
    a.batch_execute("SELECT pg_advisory_lock(42)").await.unwrap();
    assert!(!one_bool(&b, "SELECT pg_try_advisory_lock(42)").await, "{server}");
    assert!(one_bool(&a, "SELECT pg_try_advisory_lock(42)").await, "{server}");
    // Shared locks share; an exclusive one held elsewhere keeps them out.
    assert!(one_bool(&b, "SELECT pg_try_advisory_lock_shared(7)").await, "{server}");
    assert!(one_bool(&a, "SELECT pg_try_advisory_lock_shared(7)").await, "{server}");
    assert!(!one_bool(&a, "SELECT pg_try_advisory_lock(7)").await, "{server}");
    // The two-integer key space is another one.
    assert!(one_bool(&b, "SELECT pg_try_advisory_lock(0, 42)").await, "{server}");
    // A wait ends at lock_timeout with 55P03.
    b.batch_execute("SET lock_timeout = '100ms'").await.unwrap();
    let e = b.batch_execute("SELECT pg_advisory_lock(42)").await.unwrap_err();
    assert_eq!(e.code().map(|c| c.code()), Some("55P03"), "{server}: {e}");
    b.batch_execute("SET lock_timeout = 0").await.unwrap();
    // Held twice: one unlock leaves it held, the second frees it; a third warns and is false.
    assert!(one_bool(&a, "SELECT pg_advisory_unlock(42)").await, "{server}");
    assert!(!one_bool(&b, "SELECT pg_try_advisory_lock(42)").await, "{server}");
    assert!(one_bool(&a, "SELECT pg_advisory_unlock(42)").await, "{server}");
    assert!(!one_bool(&a, "SELECT pg_advisory_unlock(42)").await, "{server}");
    assert!(one_bool(&b, "SELECT pg_try_advisory_lock(42)").await, "{server}");
    // A waiting session gets the lock once the holder unlocks.
    let waiter = tokio::spawn({
        let c = pg_connect(port).await;
        async move {
            c.batch_execute("SELECT pg_advisory_lock(42)").await.unwrap();
            one_bool(&c, "SELECT pg_advisory_unlock(42)").await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(!waiter.is_finished(), "{server}: the waiter did not wait");
    assert!(one_bool(&b, "SELECT pg_advisory_unlock(42)").await, "{server}");
    assert!(waiter.await.unwrap(), "{server}");
    // Transaction-level locks last until COMMIT.
    a.batch_execute("BEGIN; SELECT pg_advisory_xact_lock(9)").await.unwrap();
    assert!(!one_bool(&b, "SELECT pg_try_advisory_xact_lock(9)").await, "{server}");
    a.batch_execute("COMMIT").await.unwrap();
    assert!(one_bool(&b, "SELECT pg_try_advisory_xact_lock(9)").await, "{server}");
    // pg_advisory_unlock_all and the session's end free its session locks.
    a.batch_execute("SELECT pg_advisory_unlock_all()").await.unwrap();
    assert!(one_bool(&b, "SELECT pg_try_advisory_lock(7)").await, "{server}");
    drop(b);
    // The server notices the closed connection a moment later.
    let mut freed = false;
    for _ in 0..100 {
        if one_bool(&a, "SELECT pg_try_advisory_lock(0, 42)").await {
            freed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(freed, "{server}: the closed session's lock was not released");
    assert!(one_bool(&a, "SELECT pg_try_advisory_lock(7)").await, "{server}");
}

#[test]
fn advisory_locks_between_sessions() {
    let rt = pg_runtime();
    let orbit = Orbit::start(&["--shards", "2"]);
    rt.block_on(checks(orbit.pg_port, "orbit"));
    match RealPostgres::start() {
        Ok(pg) => rt.block_on(checks(pg.port, "postgresql")),
        Err(why) => println!("PostgreSQL 15 not available ({why}): checked on Orbit alone"),
    }
}
