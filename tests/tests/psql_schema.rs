//! Schemas as psql shows them: `\dn`, `\dn+`, `\dt s.*`, `\d s.t`, `\di s.*`, `\dv s.*`, `\ds s.*`,
//! patterns over every schema (`\dt *.items`) and what the search path makes visible (`\dt`,
//! `\d items` after `SET search_path`), from the real `psql` against Orbit (`--shards 2`) and
//! against a real PostgreSQL 15 with the same objects; the output must be the same byte for
//! byte. Then again after a SIGKILL (the schemas and their relations are durable).

use orbit_tests::{psql_output as psql, Orbit, RealPostgres};

/// Two schemas beside public (one needing quotes), a table of the same name in two schemas,
/// a serial column's sequence, a UNIQUE, a CHECK, an index and a view in a schema.
const SETUP: &str = r#"
CREATE SCHEMA app;
CREATE SCHEMA "Other";
CREATE TABLE app.items (id serial PRIMARY KEY, name text NOT NULL UNIQUE, n int CHECK (n > 0));
CREATE INDEX items_n ON app.items (n);
CREATE TABLE items (k int PRIMARY KEY);
CREATE TABLE "Other".t (a int);
CREATE VIEW app.v AS SELECT id FROM app.items;
"#;

/// The psql input compared (one session each, so a SET applies to the command after it).
const COMMANDS: &[&str] = &[
    r"\dn",
    r"\dn app",
    r"\dn+",
    r"\dt app.*",
    r"\d app.items",
    r"\di app.*",
    r"\dv app.*",
    r"\ds app.*",
    r"\d app.items_pkey",
    r"\d app.v",
    r"\dt *.items",
    r#"\d "Other".t"#,
    r#"\dt "Other".*"#,
    r"\dt",
    "SET search_path = app, public\n\\dt",
    "SET search_path = app\n\\d items",
];

fn setup(port: u16) {
    orbit_tests::psql_script(port, SETUP);
}

fn differences(pg: u16, orbit: u16) -> Vec<String> {
    let mut differ = Vec::new();
    for cmd in COMMANDS {
        let want = psql(pg, cmd);
        let got = psql(orbit, cmd);
        assert!(!want.contains("ERROR") && !want.contains("Did not find"), "{cmd} fails on PostgreSQL: {want}");
        if want != got {
            differ.push(format!("{cmd}\n--- PostgreSQL:\n{want}\n--- Orbit:\n{got}"));
        }
    }
    differ
}

#[test]
fn schemas_describe_as_on_postgresql_before_and_after_a_sigkill() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let mut o = Orbit::start(&["--shards", "2", "--fsync", "always"]);
    setup(pg.port);
    setup(o.pg_port);
    let differ = differences(pg.port, o.pg_port);
    assert!(differ.is_empty(), "psql prints differently:\n{}", differ.join("\n"));
    o.restart();
    let differ = differences(pg.port, o.pg_port);
    assert!(differ.is_empty(), "psql prints differently after a SIGKILL:\n{}", differ.join("\n"));
}

/// Sessions with different search paths, running at the same time on the same shards, each
/// resolve unqualified names (at bind time and while their statements run) along their own.
#[test]
fn concurrent_sessions_resolve_names_along_their_own_search_path() {
    let o = Orbit::start(&["--shards", "2"]);
    let rt = orbit_tests::pg_runtime();
    rt.block_on(async {
        let setup = orbit_tests::pg_connect(o.pg_port).await;
        setup
            .batch_execute(
                "CREATE SCHEMA a; CREATE SCHEMA b; \
                 CREATE TABLE a.t (id int PRIMARY KEY, v text); CREATE TABLE b.t (id int PRIMARY KEY, v text); \
                 INSERT INTO a.t SELECT g, 'a' FROM generate_series(1, 50) g; \
                 INSERT INTO b.t SELECT g, 'b' FROM generate_series(1, 50) g; \
                 CREATE SEQUENCE a.s; CREATE SEQUENCE b.s START 1000",
            )
            .await
            .unwrap();
        let mut sessions = Vec::new();
        for i in 0..8 {
            let c = orbit_tests::pg_connect(o.pg_port).await;
            let schema = if i % 2 == 0 { "a" } else { "b" };
            c.batch_execute(&format!("SET search_path = {schema}")).await.unwrap();
            sessions.push((schema, c));
        }
        for _ in 0..20 {
            let rounds = sessions.iter().map(|(schema, c)| async move {
                let rows = c
                    .simple_query(
                        "SELECT DISTINCT v FROM t; SELECT nextval('s'); \
                         SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                         WHERE c.relname = 't' AND pg_table_is_visible(c.oid)",
                    )
                    .await
                    .unwrap();
                let vals: Vec<String> = rows
                    .iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
                        _ => None,
                    })
                    .collect();
                (schema, vals)
            });
            for (schema, vals) in futures::future::join_all(rounds).await {
                assert_eq!(vals.len(), 3, "{vals:?}");
                assert_eq!(vals[0], *schema, "{vals:?}");
                assert_eq!(vals[2], *schema, "pg_table_is_visible in {schema}: {vals:?}");
                let next: i64 = vals[1].parse().unwrap();
                assert_eq!(next >= 1000, *schema == "b", "nextval('s') in {schema}: {next}");
            }
        }
    });
}
