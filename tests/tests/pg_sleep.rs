//! pg_sleep on a real server: its result is void (type OID 2278, zero bytes in binary form),
//! the sleep waits on the shard's timer — other sessions of the same shard are answered
//! meanwhile — and a CancelRequest ends it with 57014. tokio-postgres clients.

use orbit_tests::pgcmp::Raw;
use orbit_tests::{pg_connect, pg_runtime, Orbit};
use std::time::Duration;
use tokio_postgres::NoTls;

#[test]
fn pg_sleep_returns_void_in_both_forms() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        let st = c.prepare("SELECT pg_sleep(0.01), pg_sleep_for('1 ms'), pg_sleep(NULL)").await.unwrap();
        for col in st.columns() {
            assert_eq!(col.type_().oid(), 2278, "{}", col.name());
        }
        // tokio-postgres asks for binary results: a void value is zero bytes, NULL stays NULL.
        let row = c.query_one(&st, &[]).await.unwrap();
        assert_eq!(row.get::<_, Raw>(0), Raw(vec![]));
        assert_eq!(row.get::<_, Raw>(1), Raw(vec![]));
        assert_eq!(row.get::<_, Option<Raw>>(2), None);
        // And in text form (the simple protocol): an empty value.
        let msgs = c.simple_query("SELECT pg_sleep(0)").await.unwrap();
        let text: Vec<Option<String>> = msgs
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_string)),
                _ => None,
            })
            .collect();
        assert_eq!(text, [Some(String::new())]);
    });
}

#[test]
fn a_sleeping_session_leaves_its_shard_serving_and_a_cancel_request_ends_it() {
    // One shard: every session lives on the sleeping session's shard.
    let o = Orbit::start(&["--shards", "1"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let others = [pg_connect(o.pg_port).await, pg_connect(o.pg_port).await];
        let token = a.cancel_token();
        let sleep = a.simple_query("SELECT pg_sleep(600)");
        tokio::pin!(sleep);
        // Until the sleep is seen running, poll pg_stat_activity (nothing here waits on a
        // time: the sleep ends only by the cancel below).
        loop {
            tokio::select! {
                r = &mut sleep => panic!("the sleep ended by itself: {r:?}"),
                n = others[0].query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(600)' AND state = 'active'",
                    &[],
                ) => {
                    if n.unwrap().get::<_, i64>(0) == 1 {
                        break;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The shard answers other sessions while the sleep goes on.
        for (i, c) in others.iter().enumerate() {
            tokio::select! {
                r = &mut sleep => panic!("the sleep ended by itself: {r:?}"),
                n = c.query_one("SELECT count(*) FROM generate_series(1, 100)", &[]) => {
                    assert_eq!(n.unwrap().get::<_, i64>(0), 100, "session {i}");
                }
            }
        }
        token.cancel_query(NoTls).await.unwrap();
        let e = sleep.await.expect_err("cancelled");
        assert_eq!(e.code().map(|c| c.code()), Some("57014"));
        assert_eq!(e.as_db_error().unwrap().message(), "canceling statement due to user request");
        // The session goes on.
        let v: i32 = a.query_one("SELECT 1", &[]).await.unwrap().get(0);
        assert_eq!(v, 1);
    });
}
