//! Django 5 (psycopg 3 driver) against Orbit, unchanged: `makemigrations` and `migrate` of
//! django.contrib.auth, contenttypes and a small app (varchar_pattern_ops LIKE indexes, identity
//! keys, deferrable foreign keys, many-to-many tables, JSONField), ORM queries (lookups, JSON
//! paths, joins, aggregates, subqueries, window functions, DISTINCT ON, unions,
//! select_for_update, savepoints, `iterator()` through a WITH HOLD cursor), and `migrate ...
//! zero` back. The script, `tests/python/django_app.py`, prints one line per result; its output
//! on Orbit (`--shards 2`) must be PostgreSQL 15's, line for line. Skipped (with a message)
//! where Python's django cannot be imported: `scripts/test.sh` installs it.

use orbit_tests::{workspace_root, Orbit, RealPostgres};
use std::process::Command;

fn importable(module: &str) -> bool {
    Command::new("python3").args(["-c", &format!("import {module}")]).output().is_ok_and(|o| o.status.success())
}

/// The script's stdout; panics with its output when it fails.
fn run(port: u16) -> String {
    let path = workspace_root().join("tests/python/django_app.py");
    let out = Command::new("python3").arg(path).arg(port.to_string()).output().expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "django_app.py on port {port} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn django_migrates_and_queries_as_on_postgresql() {
    if !importable("django") || !importable("psycopg") {
        eprintln!("SKIPPED: python3 cannot import django and psycopg (pip install django 'psycopg[binary]')");
        return;
    }
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let want = run(pg.port);
    assert!(want.contains("iterator: [1, 2, 3, 7, 14, 15]"), "PostgreSQL printed:\n{want}");
    let o = Orbit::start(&["--shards", "2"]);
    let got = run(o.pg_port);
    for (w, g) in want.lines().zip(got.lines()) {
        assert_eq!(g, w, "Orbit's answer differs from PostgreSQL's");
    }
    assert_eq!(got.lines().count(), want.lines().count(), "Orbit printed:\n{got}");
}
