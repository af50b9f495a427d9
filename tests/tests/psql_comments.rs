//! Comments and temporary tables as psql shows them (`\d+`, `\dt+`, `\dn+`, `\dv+`, `\dt` and
//! `\d` of a temporary table), from the real `psql` against Orbit (`--shards 2`) and against a
//! real PostgreSQL 15 (a cluster of its own: COMMENT ON DATABASE changes it) with the same
//! objects; the output must be the same byte for byte. Then again after a SIGKILL (comments
//! are durable).

use orbit_tests::{psql_output as psql, Orbit, RealPostgres};

const SETUP: &str = r#"
CREATE SCHEMA cm;
COMMENT ON SCHEMA cm IS 'a schema';
CREATE TABLE ct (id int PRIMARY KEY, b text, c int CONSTRAINT c_chk CHECK (c > 0));
COMMENT ON TABLE ct IS 'the table';
COMMENT ON COLUMN ct.b IS 'column b';
COMMENT ON CONSTRAINT c_chk ON ct IS 'a check';
CREATE VIEW cv AS SELECT id, b FROM ct;
COMMENT ON VIEW cv IS 'a view';
COMMENT ON COLUMN cv.b IS 'view column';
CREATE TABLE cm.t2 (x int);
COMMENT ON TABLE cm.t2 IS 'in a schema';
COMMENT ON DATABASE postgres IS 'the database';
"#;

/// One psql session each. (`\dt+` of a table with a text column is left out: its size differs,
/// PostgreSQL counting the TOAST table's index.)
const COMMANDS: &[&str] = &[
    r"\d+ ct",
    r"\dt+ cm.*",
    r"\dn+ cm",
    r"\dv+ cv",
    r"\d+ cv",
    "SELECT shobj_description(5, 'pg_database'), obj_description('public'::regnamespace, 'pg_namespace');",
    "SELECT d.description, k.conname FROM pg_description d JOIN pg_constraint k ON k.oid = d.objoid;",
    "CREATE TEMP TABLE tt (a int PRIMARY KEY, b text);\nCOMMENT ON COLUMN tt.b IS 'temp column';\n\\d+ tt\n\\dt tt",
];

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
fn comments_describe_as_on_postgresql_before_and_after_a_sigkill() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let mut o = Orbit::start(&["--shards", "2", "--fsync", "always"]);
    orbit_tests::psql_script(pg.port, SETUP);
    orbit_tests::psql_script(o.pg_port, SETUP);
    let differ = differences(pg.port, o.pg_port);
    assert!(differ.is_empty(), "psql prints differently:\n{}", differ.join("\n"));
    o.restart();
    let differ = differences(pg.port, o.pg_port);
    assert!(differ.is_empty(), "psql prints differently after a SIGKILL:\n{}", differ.join("\n"));
}
