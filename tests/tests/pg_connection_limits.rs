//! `--pg-max-connections` (PostgreSQL's max_connections): past the limit a new session gets
//! PostgreSQL's FATAL 53300 "sorry, too many clients already" before authentication, the
//! sessions already in go on, a CancelRequest still reaches them, and a closed session's place
//! is free again. The sessions of every shard count against one limit. SHOW and pg_settings
//! report the limit; SET is 55P02, as for PostgreSQL's postmaster parameters.
//! `--pg-authentication-timeout` (PostgreSQL's authentication_timeout): a client that has not
//! finished start-up and authentication by then is disconnected.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use std::time::Instant;

#[test]
fn sessions_past_max_connections_are_refused() {
    let o = Orbit::start(&["--shards", "2", "--pg-max-connections", "3"]);
    let rt = pg_runtime();
    rt.block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        let c = pg_connect(o.pg_port).await;
        let url = format!("host=127.0.0.1 port={} user=postgres dbname=postgres", o.pg_port);
        // Several tries: the connections land on both shards (SO_REUSEPORT), one limit.
        for _ in 0..4 {
            let e = match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                Ok(_) => panic!("a fourth session was let in"),
                Err(e) => e,
            };
            let d = e.as_db_error().unwrap_or_else(|| panic!("{e}"));
            assert_eq!((d.code().code(), d.message()), ("53300", "sorry, too many clients already"));
            assert_eq!(d.severity(), "FATAL");
        }
        // The sessions in go on.
        let shown: String = a.query_one("SHOW max_connections", &[]).await.unwrap().get(0);
        assert_eq!(shown, "3");
        let row = b
            .query_one("SELECT setting, context, source, boot_val FROM pg_settings WHERE name = 'max_connections'", &[])
            .await
            .unwrap();
        let got: (String, String, String, String) = (row.get(0), row.get(1), row.get(2), row.get(3));
        assert_eq!(got, ("3".into(), "postmaster".into(), "command line".into(), "100".into()));
        let e = c.batch_execute("SET max_connections = 5").await.unwrap_err();
        let d = e.as_db_error().unwrap();
        assert_eq!(
            (d.code().code(), d.message()),
            ("55P02", "parameter \"max_connections\" cannot be changed without restarting the server")
        );
        // A CancelRequest takes no session's place: it reaches a's running statement.
        let token = a.cancel_token();
        let sleeping = tokio::spawn(async move {
            let r = a.simple_query("SELECT pg_sleep(30)").await;
            (a, r)
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        token.cancel_query(tokio_postgres::NoTls).await.unwrap();
        let (a, r) = sleeping.await.unwrap();
        let e = r.unwrap_err();
        assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("57014"), "{e}");
        // A closed session's place is free again (the server notices the close first).
        drop(c);
        let mut d = None;
        for _ in 0..100 {
            if let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                tokio::spawn(conn);
                d = Some(client);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let d = d.expect("no place freed after a session closed");
        let n: i64 = d.query_one("SELECT count(*) FROM pg_stat_activity", &[]).await.unwrap().get(0);
        assert_eq!(n, 3);
        drop((a, b));
    });
}

#[test]
fn clients_that_do_not_finish_start_up_are_disconnected() {
    use std::io::{Read, Write};
    let o = Orbit::start(&["--pg-authentication-timeout", "1", "--pg-password", "secret"]);
    let started = Instant::now();
    // One sends nothing; one half a start-up packet; one its packet, then no password.
    let silent = std::net::TcpStream::connect(("127.0.0.1", o.pg_port)).unwrap();
    let mut half = std::net::TcpStream::connect(("127.0.0.1", o.pg_port)).unwrap();
    half.write_all(&[0, 0, 0, 40, 0, 3, 0]).unwrap();
    let mut no_password = std::net::TcpStream::connect(("127.0.0.1", o.pg_port)).unwrap();
    let mut pkt = Vec::new();
    pkt.extend_from_slice(&[0, 3, 0, 0]);
    pkt.extend_from_slice(b"user\0postgres\0\0");
    let mut startup = ((pkt.len() + 4) as u32).to_be_bytes().to_vec();
    startup.extend_from_slice(&pkt);
    no_password.write_all(&startup).unwrap();
    for (what, mut s) in [("silent", silent), ("half a packet", half), ("no password", no_password)] {
        s.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        let mut got = Vec::new();
        // Read until the server closes (a password request may come first).
        let r = s.read_to_end(&mut got);
        assert!(r.is_ok(), "{what}: the server did not close the connection: {r:?}");
        if what == "no password" {
            assert_eq!(got.first(), Some(&b'R'), "{what}: {got:?}");
        } else {
            assert!(got.is_empty(), "{what}: {got:?}");
        }
    }
    // Not before the timeout (the three were opened within it).
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    // Sessions that authenticate in time are served, and report the setting.
    let rt = pg_runtime();
    rt.block_on(async {
        let url = format!("host=127.0.0.1 port={} user=postgres password=secret dbname=postgres", o.pg_port);
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let shown: String = c.query_one("SHOW authentication_timeout", &[]).await.unwrap().get(0);
        assert_eq!(shown, "1s");
        let row = c
            .query_one("SELECT setting, unit, context FROM pg_settings WHERE name = 'authentication_timeout'", &[])
            .await
            .unwrap();
        let got: (String, String, String) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(got, ("1".into(), "s".into(), "sighup".into()));
    });
}

/// `idle_in_transaction_session_timeout` and `idle_session_timeout`: a session that waits for
/// its client's next command past them (in an open block / outside one) is ended with
/// PostgreSQL's FATAL 25P03 / 57P05; the block rolls back and its row locks go, so the
/// session waiting for them goes on. A session that keeps sending is not ended.
#[test]
fn idle_sessions_are_ended_by_their_timeouts() {
    let o = Orbit::start(&["--shards", "2"]);
    let rt = pg_runtime();
    rt.block_on(async {
        let url = format!("host=127.0.0.1 port={} user=postgres dbname=postgres", o.pg_port);
        let b = pg_connect(o.pg_port).await;
        b.batch_execute("CREATE TABLE idle_t (id int PRIMARY KEY, v int); INSERT INTO idle_t VALUES (1, 0)")
            .await
            .unwrap();
        let (a, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        let a_conn = tokio::spawn(conn);
        a.batch_execute(
            "SET idle_in_transaction_session_timeout = '300ms'; BEGIN; \
             UPDATE idle_t SET v = 1 WHERE id = 1; INSERT INTO idle_t VALUES (2, 2)",
        )
        .await
        .unwrap();
        // b waits for a's row lock, which a's end releases.
        b.execute("UPDATE idle_t SET v = 3 WHERE id = 1", &[]).await.unwrap();
        let e = a_conn.await.unwrap().unwrap_err();
        let d = e.as_db_error().unwrap_or_else(|| panic!("{e}"));
        assert_eq!(
            (d.severity(), d.code().code(), d.message()),
            ("FATAL", "25P03", "terminating connection due to idle-in-transaction timeout")
        );
        assert!(a.simple_query("SELECT 1").await.is_err());
        let rows = b.query("SELECT id, v FROM idle_t ORDER BY id", &[]).await.unwrap();
        let got: Vec<(i32, i32)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(got, vec![(1, 3)]);

        // Outside a block: idle_session_timeout. Commands sent within it keep the session.
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        let c_conn = tokio::spawn(conn);
        c.batch_execute("SET idle_session_timeout = '2s'").await.unwrap();
        for _ in 0..3 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            c.simple_query("SELECT 1").await.unwrap();
        }
        let shown: String = c.query_one("SHOW idle_session_timeout", &[]).await.unwrap().get(0);
        assert_eq!(shown, "2s");
        c.batch_execute("SET idle_session_timeout = 200").await.unwrap();
        let e = c_conn.await.unwrap().unwrap_err();
        let d = e.as_db_error().unwrap_or_else(|| panic!("{e}"));
        assert_eq!(
            (d.severity(), d.code().code(), d.message()),
            ("FATAL", "57P05", "terminating connection due to idle-session timeout")
        );
        // Other sessions go on.
        let n: i64 = b.query_one("SELECT count(*) FROM idle_t", &[]).await.unwrap().get(0);
        assert_eq!(n, 1);
    });
}
