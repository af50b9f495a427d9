//! Temporary tables across sessions (which one slt session cannot show): each session sees
//! its own temporary tables (and sequences and views) and no other's, a temporary table shadows a permanent one of the
//! same name only for its session, and a session's temporary tables go when it ends — also
//! when the client just vanishes — and never outlive a SIGKILL of the server. Comments, unlike
//! them, are durable. With 1 and 2 shards.

use orbit_tests::{pg_connect, pg_runtime, Orbit};
use tokio_postgres::Client;

async fn one_text(c: &Client, sql: &str) -> String {
    c.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get::<_, String>(0)
}

async fn one_i64(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get::<_, i64>(0)
}

/// The temporary tables (not their indexes) of every session, as a new session's pg_class
/// lists them.
async fn temp_tables(port: u16) -> i64 {
    let c = pg_connect(port).await;
    one_i64(&c, "SELECT count(*) FROM pg_class WHERE relpersistence = 't' AND relkind = 'r'").await
}

/// Waits (polling, at most 30 s) until `want` temporary tables are left: a session's are
/// dropped by the server once it notices the connection closed.
async fn wait_for_temp_tables(port: u16, want: i64) {
    let mut n = -1;
    for _ in 0..300 {
        n = temp_tables(port).await;
        if n == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{n} temporary tables left, want {want}");
}

fn sessions_see_their_own(shards: &str) {
    let o = Orbit::start(&["--shards", shards]);
    let rt = pg_runtime();
    rt.block_on(async {
        let a = pg_connect(o.pg_port).await;
        let b = pg_connect(o.pg_port).await;
        a.batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'permanent'); \
             CREATE TEMP TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'); \
             CREATE TEMP TABLE only_a (x int); CREATE TEMP SEQUENCE a_seq; \
             CREATE VIEW a_view AS SELECT v FROM t",
        )
        .await
        .unwrap();
        // a's temporary sequence and its view over its temporary t (a temporary view too) are
        // out of b's reach.
        assert_eq!(one_i64(&a, "SELECT nextval('a_seq')").await, 1);
        assert_eq!(one_text(&a, "SELECT v FROM a_view").await, "a");
        for sql in ["SELECT nextval('a_seq')", "SELECT * FROM a_view"] {
            let e = b.simple_query(sql).await.unwrap_err();
            assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("42P01"), "{sql}: {e}");
        }
        // b sees the permanent t, not a's temporary one.
        assert_eq!(one_text(&b, "SELECT v FROM t").await, "permanent");
        let e = b.simple_query("SELECT * FROM only_a").await.unwrap_err();
        assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("42P01"), "{e}");
        assert_eq!(one_i64(&b, "SELECT pg_my_temp_schema()::int8").await, 0);
        // Its own temporary t shadows the permanent one for it alone.
        b.batch_execute("CREATE TEMP TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'b')")
            .await
            .unwrap();
        assert_eq!(one_text(&a, "SELECT v FROM t").await, "a");
        assert_eq!(one_text(&b, "SELECT v FROM t").await, "b");
        assert_eq!(one_text(&b, "SELECT v FROM pg_temp.t").await, "b");
        assert_eq!(one_text(&b, "SELECT v FROM public.t").await, "permanent");
        let schema_a = one_text(&a, "SELECT nspname::text FROM pg_namespace WHERE oid = pg_my_temp_schema()").await;
        let schema_b = one_text(&b, "SELECT nspname::text FROM pg_namespace WHERE oid = pg_my_temp_schema()").await;
        assert!(schema_a.starts_with("pg_temp_") && schema_b.starts_with("pg_temp_"), "{schema_a} {schema_b}");
        assert_ne!(schema_a, schema_b);
        let other = format!("SELECT pg_is_other_temp_schema(oid)::text FROM pg_namespace WHERE nspname = '{schema_a}'");
        assert_eq!(one_text(&b, &other).await, "true");
        assert_eq!(one_text(&a, &other).await, "false");
        // Named by its schema, another session's temporary table is out of reach but for DROP
        // (PostgreSQL's messages; a superuser may drop it there too).
        for (sql, verb) in [
            (format!("SELECT * FROM {schema_a}.only_a"), "access"),
            (format!("INSERT INTO {schema_a}.only_a VALUES (1)"), "access"),
            (format!("UPDATE {schema_a}.t SET v = 'x'"), "access"),
            (format!("ALTER TABLE {schema_a}.only_a ADD COLUMN y int"), "alter"),
            (format!("CREATE INDEX ON {schema_a}.only_a (x)"), "create indexes on"),
            (format!("TRUNCATE {schema_a}.only_a"), "truncate"),
        ] {
            let e = b.simple_query(&sql).await.unwrap_err();
            let d = e.as_db_error().unwrap_or_else(|| panic!("{sql}: {e}"));
            assert_eq!(
                (d.code().code(), d.message()),
                ("0A000", format!("cannot {verb} temporary tables of other sessions").as_str()),
                "{sql}"
            );
        }
        assert_eq!(one_text(&a, "SELECT v FROM t").await, "a");
        b.batch_execute(&format!("DROP TABLE {schema_a}.only_a")).await.unwrap();
        a.batch_execute("CREATE TEMP TABLE only_a (x int)").await.unwrap();
        // Rows written by one session's statements on every shard stay its own.
        a.batch_execute("INSERT INTO t SELECT g, 'a' FROM generate_series(2, 100) g").await.unwrap();
        assert_eq!(one_i64(&a, "SELECT count(*) FROM t").await, 100);
        assert_eq!(one_i64(&b, "SELECT count(*) FROM t").await, 1);
        assert_eq!(temp_tables(o.pg_port).await, 3);
        // a vanishes (its connection closes without Terminate): its tables go, b's stay.
        drop(a);
        wait_for_temp_tables(o.pg_port, 1).await;
        assert_eq!(one_text(&b, "SELECT v FROM t").await, "b");
        // A new session may take the freed schema number; it starts with no temporary tables.
        let c = pg_connect(o.pg_port).await;
        assert_eq!(one_text(&c, "SELECT v FROM t").await, "permanent");
        c.batch_execute("CREATE TEMP TABLE only_a (x int)").await.unwrap();
        assert_eq!(one_i64(&c, "SELECT count(*) FROM only_a").await, 0);
        drop(b);
        drop(c);
        wait_for_temp_tables(o.pg_port, 0).await;
        let d = pg_connect(o.pg_port).await;
        assert_eq!(one_i64(&d, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pg_temp%'").await, 0);
        assert_eq!(one_i64(&d, "SELECT count(*) FROM pg_class WHERE relpersistence = 't'").await, 0);
    });
}

#[test]
fn temporary_tables_are_private_to_their_session_one_shard() {
    sessions_see_their_own("1");
}

#[test]
fn temporary_tables_are_private_to_their_session_two_shards() {
    sessions_see_their_own("2");
}

#[test]
fn no_temporary_table_survives_a_sigkill_and_comments_do() {
    let mut o = Orbit::start(&["--shards", "2", "--fsync", "always"]);
    let rt = pg_runtime();
    rt.block_on(async {
        let a = pg_connect(o.pg_port).await;
        a.batch_execute(
            "CREATE TABLE p (id int PRIMARY KEY, v text); INSERT INTO p VALUES (1, 'x'); \
             COMMENT ON TABLE p IS 'kept'; COMMENT ON COLUMN p.v IS 'a column'; \
             CREATE TEMP TABLE tt (a int PRIMARY KEY); INSERT INTO tt SELECT generate_series(1, 50); \
             COMMENT ON TABLE tt IS 'temporary'",
        )
        .await
        .unwrap();
        assert_eq!(temp_tables(o.pg_port).await, 1);
        // The session is still open when the server dies.
        o.restart();
        let c = pg_connect(o.pg_port).await;
        assert_eq!(one_i64(&c, "SELECT count(*) FROM pg_class WHERE relpersistence = 't'").await, 0);
        assert_eq!(one_i64(&c, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pg_temp%'").await, 0);
        assert_eq!(one_i64(&c, "SELECT count(*) FROM pg_description WHERE description = 'temporary'").await, 0);
        assert_eq!(one_text(&c, "SELECT obj_description('p'::regclass, 'pg_class')").await, "kept");
        assert_eq!(one_text(&c, "SELECT col_description('p'::regclass, 2)").await, "a column");
        // The name is free again, and a new temporary table starts empty.
        c.batch_execute("CREATE TEMP TABLE tt (a int PRIMARY KEY)").await.unwrap();
        assert_eq!(one_i64(&c, "SELECT count(*) FROM tt").await, 0);
        assert_eq!(one_i64(&c, "SELECT count(*) FROM p").await, 1);
        drop(a);
    });
}
