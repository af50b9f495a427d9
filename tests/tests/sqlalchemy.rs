//! SQLAlchemy 2 (psycopg 3 driver) and Alembic against Orbit, unchanged: the inspector's calls
//! (`get_table_names`, `get_columns` with defaults, identity options and a computed (stored
//! generated) column, `get_pk_constraint`, `get_foreign_keys`, `get_indexes`,
//! `get_unique_constraints`, `get_check_constraints`,
//! `get_view_names`, `get_sequence_names`, ...) must answer on Orbit (`--shards 2`) what they
//! answer on PostgreSQL 15, and Alembic's autogenerate must find no changes between a model
//! and the database made from it, and exactly one add_column for a model with one more column.
//!
//! The scripts are `tests/python/sqlalchemy_inspect.py` (one JSON line per inspector call) and
//! `tests/python/alembic_autogen.py`. PostgreSQL's answers are committed in
//! `tests/python/sqlalchemy_inspect.expected`; where PostgreSQL 15 is installed the script runs
//! on it too and must still print exactly that file. Skipped (with a message) where Python's
//! sqlalchemy (or, for the Alembic test, alembic) cannot be imported: `scripts/test.sh`
//! installs both.

use orbit_tests::{workspace_root, Orbit, RealPostgres};
use std::process::Command;

fn importable(module: &str) -> bool {
    Command::new("python3").args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success())
}

/// The script's stdout; panics with its output when it fails.
fn run(script: &str, port: u16) -> String {
    let path = workspace_root().join("tests/python").join(script);
    let out = Command::new("python3").arg(path).arg(port.to_string()).output().expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} on port {port} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn sqlalchemy_inspector_answers_as_on_postgresql() {
    if !importable("sqlalchemy") {
        eprintln!("SKIPPED: python3 cannot import sqlalchemy (pip install sqlalchemy 'psycopg[binary]')");
        return;
    }
    let expected_path = workspace_root().join("tests/python/sqlalchemy_inspect.expected");
    let expected = std::fs::read_to_string(&expected_path).expect("read the expected inspector output");
    match RealPostgres::start() {
        Ok(pg) => assert_eq!(
            run("sqlalchemy_inspect.py", pg.port),
            expected,
            "PostgreSQL 15 no longer prints {}: regenerate it",
            expected_path.display()
        ),
        Err(e) => eprintln!("PostgreSQL 15 not available ({e}): comparing with the committed answers only"),
    }
    let o = Orbit::start(&["--shards", "2"]);
    let got = run("sqlalchemy_inspect.py", o.pg_port);
    for (want, got) in expected.lines().zip(got.lines()) {
        assert_eq!(got, want, "Orbit's answer differs from PostgreSQL's");
    }
    assert_eq!(got.lines().count(), expected.lines().count(), "Orbit printed:\n{got}");
}

#[test]
fn alembic_autogenerate_finds_only_real_changes() {
    if !importable("sqlalchemy") || !importable("alembic") {
        eprintln!("SKIPPED: python3 cannot import sqlalchemy and alembic (pip install sqlalchemy alembic)");
        return;
    }
    let o = Orbit::start(&["--shards", "2"]);
    let out = run("alembic_autogen.py", o.pg_port);
    assert!(out.contains("op.add_column('al_users', sa.Column('age', sa.Integer(), nullable=True))"), "{out}");
    assert_eq!(out.matches("op.").count(), 1, "exactly one operation expected:\n{out}");
    if let Ok(pg) = RealPostgres::start() {
        assert_eq!(run("alembic_autogen.py", pg.port), out, "PostgreSQL 15's migration differs");
    }
}
