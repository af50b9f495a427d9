//! PostgreSQL-side observability (issue 7): pg_stat_activity lists every session on every shard
//! with what it runs (and a row-lock wait), pg_stat_statements counts calls, time and rows per
//! normalized statement summed over the shards. Real server, tokio-postgres.

use orbit_tests::Orbit;
use std::time::Duration;
use tokio_postgres::{Client, NoTls};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime")
}

async fn connect(port: u16, app: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=postgres dbname=postgres application_name={app}"),
        NoTls,
    )
    .await
    .expect("connect");
    tokio::spawn(conn);
    client
}

#[test]
fn pg_stat_activity_shows_every_session_and_what_it_waits_for() {
    let o = Orbit::start(&["--shards", "2"]);
    rt().block_on(async {
        let watcher = connect(o.pg_port, "watcher").await;
        let holder = connect(o.pg_port, "holder").await;
        let waiter = connect(o.pg_port, "waiter").await;
        let idle: Vec<Client> = futures_connect(o.pg_port, 4).await;
        holder.batch_execute("CREATE TABLE a (id int PRIMARY KEY, v int)").await.unwrap();
        holder.batch_execute("INSERT INTO a VALUES (1, 0)").await.unwrap();
        holder.batch_execute("BEGIN; UPDATE a SET v = 1 WHERE id = 1").await.unwrap();
        let w = tokio::spawn(async move {
            waiter.batch_execute("UPDATE a SET v = 2 WHERE id = 1").await.unwrap();
            waiter
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rows = watcher
            .query(
                "SELECT application_name, state, coalesce(wait_event_type, ''), query, pid FROM pg_stat_activity \
                 WHERE application_name <> '' ORDER BY application_name",
                &[],
            )
            .await
            .unwrap();
        let got: Vec<(String, String, String, String)> =
            rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
        let by = |app: &str| got.iter().find(|g| g.0 == app).cloned().unwrap_or_else(|| panic!("{app} in {got:?}"));
        assert_eq!(by("holder").1, "idle in transaction");
        assert_eq!(by("waiter").1, "active");
        assert_eq!(by("waiter").2, "Lock");
        assert!(by("waiter").3.contains("UPDATE a SET v = "), "{:?}", by("waiter"));
        assert_eq!(by("watcher").1, "active");
        let pids: std::collections::HashSet<i32> = rows.iter().map(|r| r.get(4)).collect();
        assert_eq!(pids.len(), rows.len(), "one row per session");
        // Sessions on both shards: 3 named plus the unnamed ones.
        let total: i64 = watcher.query_one("SELECT count(*) FROM pg_stat_activity", &[]).await.unwrap().get(0);
        assert_eq!(total, 3 + idle.len() as i64);
        holder.batch_execute("COMMIT").await.unwrap();
        let _waiter = w.await.unwrap();
        drop(idle);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let total: i64 = watcher.query_one("SELECT count(*) FROM pg_stat_activity", &[]).await.unwrap().get(0);
        assert_eq!(total, 3, "closed sessions leave the view");
    });
}

async fn futures_connect(port: u16, n: usize) -> Vec<Client> {
    let mut v = Vec::new();
    for _ in 0..n {
        let (client, conn) =
            tokio_postgres::connect(&format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"), NoTls)
                .await
                .expect("connect");
        tokio::spawn(conn);
        v.push(client);
    }
    v
}

#[test]
fn pg_stat_statements_counts_normalized_statements_over_all_shards() {
    let o = Orbit::start(&["--shards", "2"]);
    rt().block_on(async {
        let clients = futures_connect(o.pg_port, 4).await;
        clients[0].batch_execute("CREATE TABLE k (id int PRIMARY KEY, v text)").await.unwrap();
        for (i, c) in clients.iter().enumerate() {
            for j in 0..5 {
                // Simple protocol: constants differ, one normalized statement.
                c.simple_query(&format!("INSERT INTO k VALUES ({}, 'v{j}')", i * 10 + j)).await.unwrap();
            }
            // Extended protocol: the prepared text is the key.
            let st = c.prepare("SELECT v FROM k WHERE id = $1").await.unwrap();
            for j in 0..3i32 {
                c.query(&st, &[&(i as i32 * 10 + j)]).await.unwrap();
            }
        }
        let rows = clients[0]
            .query(
                "SELECT query, calls, rows, total_exec_time >= 0, mean_exec_time <= max_exec_time FROM pg_stat_statements \
                 WHERE query LIKE 'INSERT INTO k%' OR query LIKE 'SELECT v FROM k%' ORDER BY query",
                &[],
            )
            .await
            .unwrap();
        let got: Vec<(String, i64, i64, bool, bool)> =
            rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect();
        assert_eq!(
            got,
            vec![
                ("INSERT INTO k VALUES ($1, $2)".to_string(), 20, 20, true, true),
                ("SELECT v FROM k WHERE id = $1".to_string(), 12, 12, true, true),
            ]
        );
    });
}
