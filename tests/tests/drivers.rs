//! JDBC (pgjdbc, Debian's `libpostgresql-jdbc-java`) and node-postgres (npm `pg` 8, pinned by
//! `tests/node/package-lock.json`) against Orbit, unchanged, with 1 and 2 shards. Each driver
//! runs an ordinary program (`tests/java/JdbcApp.java`, `tests/node/pg_app.js`) that prints
//! what the driver returned in a normalized text form; the output must be PostgreSQL 15's own,
//! which is committed beside the program (`*.expected`). Where PostgreSQL 15 is installed the
//! program runs on it too and must still print exactly that file.
//!
//! Skipped (with a message) only where java or node is absent; `scripts/test.sh` installs
//! both, the JDBC jar and the node packages (`npm ci --prefix tests/node`).

use orbit_tests::{workspace_root, Orbit, RealPostgres};
use std::path::{Path, PathBuf};
use std::process::Command;

const JDBC_JAR: &str = "/usr/share/java/postgresql.jar";

fn has(program: &str) -> bool {
    Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// The program's stdout; panics with its output when it fails.
fn run(mut cmd: Command, what: &str, port: u16) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{what} on port {port} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Fails at the first line where `got` differs from `want`, naming the section it is in.
fn assert_same(want: &str, got: &str, what: &str) {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        let (wl, gl) = (w.get(i).copied().unwrap_or("<end>"), g.get(i).copied().unwrap_or("<end>"));
        if wl != gl {
            let section = w[..i.min(w.len())].iter().rev().find(|l| l.starts_with("== ")).copied().unwrap_or("(start)");
            panic!(
                "{what}: line {} (in section {section}) differs from PostgreSQL's\n  want: {wl}\n  got:  {gl}\nwhole output:\n{got}",
                i + 1
            );
        }
    }
}

/// Runs `program` (a function of the port) on PostgreSQL 15 where installed (it must print the
/// committed `expected` file) and on Orbit with 1 and 2 shards (each must print it too).
fn compare(expected: &Path, program: impl Fn(u16) -> Command, what: &str) {
    let want = std::fs::read_to_string(expected).unwrap_or_else(|e| panic!("read {}: {e}", expected.display()));
    match RealPostgres::start() {
        Ok(pg) => {
            let got = run(program(pg.port), what, pg.port);
            assert_same(&want, &got, &format!("{what} on PostgreSQL 15 (regenerate {})", expected.display()));
        }
        Err(e) => eprintln!("PostgreSQL 15 not available ({e}): comparing with the committed output only"),
    }
    for shards in ["1", "2"] {
        let o = Orbit::start(&["--shards", shards]);
        let got = run(program(o.pg_port), what, o.pg_port);
        assert_same(&want, &got, &format!("{what} on Orbit with {shards} shard(s)"));
    }
}

#[test]
fn jdbc_program_answers_as_on_postgresql() {
    if !has("java") {
        eprintln!("SKIPPED: java is not installed (apt-get install default-jdk-headless libpostgresql-jdbc-java)");
        return;
    }
    assert!(
        Path::new(JDBC_JAR).is_file(),
        "{JDBC_JAR} is missing: apt-get install libpostgresql-jdbc-java (scripts/test.sh does)"
    );
    let root = workspace_root();
    let source = root.join("tests/java/JdbcApp.java");
    compare(
        &root.join("tests/java/JdbcApp.expected"),
        |port| {
            let mut c = Command::new("java");
            // The JVM's time zone is the one pgjdbc sends at start-up (TimeZone).
            c.args(["-Duser.timezone=UTC", "-cp", JDBC_JAR]).arg(&source).arg(port.to_string());
            c
        },
        "JdbcApp.java",
    );
}

/// `tests/node/node_modules`, installed from the lock file if missing.
fn node_modules(dir: &Path) -> PathBuf {
    let modules = dir.join("node_modules");
    if !modules.join("pg").is_dir() {
        let out = Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--prefix"]).arg(dir).output();
        let ok = out.as_ref().is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "npm ci --prefix {} failed (scripts/test.sh runs it): {:?}",
            dir.display(),
            out.map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        );
    }
    modules
}

#[test]
fn node_postgres_program_answers_as_on_postgresql() {
    if !has("node") {
        eprintln!("SKIPPED: node is not installed (apt-get install nodejs npm)");
        return;
    }
    let dir = workspace_root().join("tests/node");
    node_modules(&dir);
    let script = dir.join("pg_app.js");
    compare(
        &dir.join("pg_app.expected"),
        |port| {
            let mut c = Command::new("node");
            // pg parses timestamp without time zone in the process's local zone.
            c.env("TZ", "UTC").arg(&script).arg(port.to_string());
            c
        },
        "pg_app.js",
    );
}
