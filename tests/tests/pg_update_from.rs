//! UPDATE ... FROM and DELETE ... USING against concurrent transactions (issue 6): the target
//! rows a join picks are locked, and a row another transaction changed meanwhile is changed
//! from its committed version with WHERE re-checked on it (PostgreSQL's READ COMMITTED
//! re-check). Real server, tokio-postgres. (Single-statement behaviour is in
//! tests/slt/update_from.slt, checked against PostgreSQL.)

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use std::time::Duration;
use tokio_postgres::Client;

async fn balances(c: &Client) -> Vec<(i32, i32)> {
    let rows = c.query("SELECT id, balance FROM acct ORDER BY id", &[]).await.unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

#[test]
fn joined_updates_and_deletes_wait_and_recheck_the_latest_rows() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute(
            "CREATE TABLE acct (id int PRIMARY KEY, balance int); CREATE TABLE moves (acct_id int, amount int);
             INSERT INTO acct VALUES (1, 100), (2, 200), (3, 300);
             INSERT INTO moves VALUES (1, 10), (1, 10), (2, 5)",
        )
        .await
        .unwrap();

        // A holds row 1; B's joined update waits for it and adds to A's committed balance,
        // once although row 1 matches two moves.
        a.batch_execute("BEGIN; UPDATE acct SET balance = balance + 1000 WHERE id = 1").await.unwrap();
        let waiter = tokio::spawn(async move {
            let n = b
                .execute("UPDATE acct SET balance = balance + m.amount FROM moves m WHERE m.acct_id = acct.id", &[])
                .await
                .unwrap();
            (b, n)
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        a.batch_execute("COMMIT").await.unwrap();
        let (b, n) = waiter.await.unwrap();
        assert_eq!(n, 2);
        assert_eq!(balances(&a).await, vec![(1, 1110), (2, 205), (3, 300)]);

        // A empties row 2; B's joined delete re-checks WHERE on A's committed row and keeps it.
        a.batch_execute("BEGIN; UPDATE acct SET balance = 0 WHERE id = 2").await.unwrap();
        let waiter = tokio::spawn(async move {
            b.execute("DELETE FROM acct USING moves m WHERE m.acct_id = acct.id AND acct.balance > 100", &[])
                .await
                .unwrap()
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(waiter.await.unwrap(), 1);
        assert_eq!(balances(&a).await, vec![(2, 0), (3, 300)]);

        // A deletes row 3 meanwhile: B's joined update skips it.
        let b = pg_connect(o.pg_port).await;
        a.batch_execute("INSERT INTO moves VALUES (3, 1); BEGIN; DELETE FROM acct WHERE id = 3").await.unwrap();
        let waiter = tokio::spawn(async move {
            b.execute("UPDATE acct SET balance = -1 FROM moves m WHERE m.acct_id = acct.id", &[]).await.unwrap()
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        a.batch_execute("COMMIT").await.unwrap();
        assert_eq!(waiter.await.unwrap(), 1);
        assert_eq!(balances(&a).await, vec![(2, -1)]);
    });
}
