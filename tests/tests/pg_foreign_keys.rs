//! FOREIGN KEY constraints end to end (real server, tokio-postgres): the errors' DETAIL lines
//! as PostgreSQL writes them, a DELETE of a referenced row waiting for the transaction that
//! inserted a row referencing it (the referenced row is locked shared, as PostgreSQL's RI
//! checks lock it FOR KEY SHARE), and constraints that survive a SIGKILL and a change of the
//! shard count.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, SimpleQueryMessage};

const SETUP: &str = "CREATE TABLE p (id int PRIMARY KEY, name text); \
     CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p, v text); \
     CREATE TABLE cc (id int PRIMARY KEY, p_id int REFERENCES p ON DELETE CASCADE); \
     INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c')";

/// (SQLSTATE, message, detail) of a statement that must fail.
async fn failure(c: &Client, sql: &str) -> (String, String, String) {
    let e = c.simple_query(sql).await.expect_err(sql);
    let db = e.as_db_error().unwrap_or_else(|| panic!("{sql}: not a server error: {e}"));
    (db.code().code().to_string(), db.message().to_string(), db.detail().unwrap_or_default().to_string())
}

async fn rows(c: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    c.simple_query(sql)
        .await
        .expect(sql)
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect()),
            _ => None,
        })
        .collect()
}

#[test]
fn violations_name_the_constraint_and_key_as_postgresql_does() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(SETUP).await.expect("setup");
        assert_eq!(
            failure(&c, "INSERT INTO c VALUES (1, 5, 'x')").await,
            (
                "23503".into(),
                "insert or update on table \"c\" violates foreign key constraint \"c_p_id_fkey\"".into(),
                "Key (p_id)=(5) is not present in table \"p\".".into()
            )
        );
        c.batch_execute("INSERT INTO c VALUES (1, 1, 'x')").await.expect("insert");
        assert_eq!(
            failure(&c, "DELETE FROM p WHERE id = 1").await,
            (
                "23503".into(),
                "update or delete on table \"p\" violates foreign key constraint \"c_p_id_fkey\" on table \"c\"".into(),
                "Key (id)=(1) is still referenced from table \"c\".".into()
            )
        );
        let (code, msg, detail) = failure(&c, "DROP TABLE p").await;
        assert_eq!((code.as_str(), msg.as_str()), ("2BP01", "cannot drop table p because other objects depend on it"));
        assert_eq!(
            detail,
            "constraint c_p_id_fkey on table c depends on table p\nconstraint cc_p_id_fkey on table cc depends on table p"
        );
        let (code, _, detail) = failure(&c, "TRUNCATE p").await;
        assert_eq!((code.as_str(), detail.as_str()), ("0A000", "Table \"c\" references \"p\"."));
    });
}

#[test]
fn deleting_a_parent_waits_for_the_transaction_inserting_its_child() {
    let o = Orbit::start(&["--shards", "2"]);
    pg_runtime().block_on(async {
        let s1 = pg_connect(o.pg_port).await;
        let s2 = pg_connect(o.pg_port).await;
        s1.batch_execute(SETUP).await.expect("setup");

        // The child's transaction commits: the DELETE, once let through, sees the reference.
        s1.batch_execute("BEGIN; INSERT INTO c VALUES (1, 1, 'pending')").await.expect("insert");
        // Connected first, so the DELETE is sent as soon as the task first runs.
        let s3 = pg_connect(o.pg_port).await;
        let s4 = pg_connect(o.pg_port).await;
        let delete = tokio::spawn(async move {
            s3.simple_query("DELETE FROM p WHERE id = 1").await.map(|_| ()).map_err(|e| e.code().cloned())
        });
        // Other sessions carry on meanwhile (the wait is on the one row only).
        assert_eq!(rows(&s2, "SELECT count(*) FROM p").await, vec![vec![Some("3".to_string())]]);
        s2.batch_execute("DELETE FROM p WHERE id = 3").await.expect("an unreferenced row goes");
        assert!(!delete.is_finished(), "the DELETE of a row a pending transaction references went ahead");
        s1.batch_execute("COMMIT").await.expect("commit");
        let r = delete.await.expect("join");
        assert_eq!(r, Err(Some(SqlState::FOREIGN_KEY_VIOLATION)), "the DELETE did not see the committed child");

        // The child's transaction rolls back: the DELETE goes ahead once it has.
        s1.batch_execute("BEGIN; INSERT INTO c VALUES (2, 2, 'undone')").await.expect("insert");
        let delete = tokio::spawn(async move {
            s4.simple_query("DELETE FROM p WHERE id = 2").await.map(|_| ()).map_err(|e| e.code().cloned())
        });
        assert_eq!(rows(&s2, "SELECT id FROM c ORDER BY id").await, vec![vec![Some("1".to_string())]]);
        assert!(!delete.is_finished(), "the DELETE of a row a pending transaction references went ahead");
        s1.batch_execute("ROLLBACK").await.expect("rollback");
        assert_eq!(delete.await.expect("join"), Ok(()));
        assert_eq!(rows(&s2, "SELECT id FROM p ORDER BY id").await, vec![vec![Some("1".to_string())]]);
    });
}

#[test]
fn constraints_survive_a_kill_and_a_new_shard_count() {
    let mut o = Orbit::start(&["--shards", "2", "--fsync", "always"]);
    let rt = pg_runtime();
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute(SETUP).await.expect("setup");
        c.batch_execute(
            "CREATE TABLE mk (a int, b int, UNIQUE (a, b)); \
             CREATE TABLE mc (id int PRIMARY KEY, x int, y int, CONSTRAINT mc_fk FOREIGN KEY (x, y) REFERENCES mk (a, b) \
             ON UPDATE CASCADE ON DELETE SET NULL); \
             INSERT INTO mk VALUES (1, 1); INSERT INTO mc VALUES (1, 1, 1); INSERT INTO cc VALUES (1, 2)",
        )
        .await
        .expect("more tables");
    });
    let defs = "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' ORDER BY conname";
    let before = rt.block_on(async { rows(&pg_connect(o.pg_port).await, defs).await });
    assert_eq!(before.len(), 3, "{before:?}");
    o.restart();
    for round in 0..2 {
        rt.block_on(async {
            let c = pg_connect(o.pg_port).await;
            assert_eq!(rows(&c, defs).await, before, "round {round}");
            let (code, _, _) = failure(&c, "INSERT INTO c VALUES (9, 42, 'x')").await;
            assert_eq!(code, "23503", "round {round}");
            let (code, _, _) = failure(&c, &format!("INSERT INTO mc VALUES ({}, 7, 7)", 10 + round)).await;
            assert_eq!(code, "23503", "round {round}");
        });
        // Then the same data dir on three shards: the definitions move with the tables.
        o.args = vec!["--shards".into(), "3".into(), "--fsync".into(), "always".into()];
        o.restart();
    }
    rt.block_on(async {
        let c = pg_connect(o.pg_port).await;
        c.batch_execute("UPDATE mk SET a = 5; DELETE FROM p WHERE id = 2").await.expect("actions");
        assert_eq!(rows(&c, "SELECT x, y FROM mc").await, vec![vec![Some("5".to_string()), Some("1".to_string())]]);
        assert_eq!(rows(&c, "SELECT count(*) FROM cc").await, vec![vec![Some("0".to_string())]]);
    });
}

/// psql's `\d` of a referencing table ("Foreign-key constraints:") and of a referenced one
/// ("Referenced by:") prints byte for byte as against PostgreSQL 15.
#[test]
fn psql_describes_foreign_keys_as_postgresql() {
    let pg = match orbit_tests::RealPostgres::start() {
        Ok(pg) => pg,
        Err(why) => {
            println!("skipped: no PostgreSQL 15 to compare with: {why}");
            return;
        }
    };
    let o = Orbit::start(&["--shards", "2"]);
    let setup = "CREATE TABLE p (id int PRIMARY KEY, code text UNIQUE); \
         CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p ON DELETE CASCADE, code text, \
         CONSTRAINT c_code FOREIGN KEY (code) REFERENCES p (code) ON UPDATE SET NULL ON DELETE RESTRICT); \
         CREATE TABLE tree (id int PRIMARY KEY, up int REFERENCES tree)";
    let psql = |port: u16, cmd: &str| {
        let out = std::process::Command::new("psql")
            .args(["-X", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres", "-d", "postgres", "-c", cmd])
            .output()
            .expect("run psql");
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    for port in [pg.port, o.pg_port] {
        let out = psql(port, setup);
        assert!(!out.contains("ERROR"), "{out}");
    }
    for cmd in [r"\d c", r"\d p", r"\d tree"] {
        let want = psql(pg.port, cmd);
        assert!(want.contains("Foreign-key constraints:") || want.contains("Referenced by:"), "{want}");
        assert_eq!(psql(o.pg_port, cmd), want, "{cmd}");
    }
}
