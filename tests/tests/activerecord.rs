//! ActiveRecord 6.1 (Rails' ORM, Debian's ruby-activerecord with the pg gem) against Orbit,
//! unchanged: the script `tests/ruby/activerecord_app.rb` migrates, reads the schema back,
//! queries and migrates down, printing one line per result; on Orbit (`--shards 2`) it must
//! print what it prints on PostgreSQL 15, line for line (`t.timestamps`' `timestamp(6)` reads
//! back with its precision). Skipped (with a message) where Ruby cannot load active_record
//! and pg: `scripts/test.sh` installs them.

use orbit_tests::{workspace_root, Orbit, RealPostgres};
use std::process::Command;

fn loadable() -> bool {
    Command::new("ruby")
        .args(["-e", "require 'active_record'; require 'pg'"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The script's stdout; panics with its output when it fails.
fn run(port: u16) -> String {
    let path = workspace_root().join("tests/ruby/activerecord_app.rb");
    let out = Command::new("ruby").arg(path).arg(port.to_string()).output().expect("run ruby");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "activerecord_app.rb on port {port} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn activerecord_migrates_and_queries_as_on_postgresql() {
    if !loadable() {
        eprintln!("SKIPPED: ruby cannot load active_record and pg (apt-get install ruby-activerecord ruby-pg)");
        return;
    }
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let want = run(pg.port);
    assert!(want.contains("batches: [2, 1]"), "PostgreSQL printed:\n{want}");
    let o = Orbit::start(&["--shards", "2"]);
    let got = run(o.pg_port);
    for (w, g) in want.lines().zip(got.lines()) {
        assert_eq!(g, w, "Orbit's answer differs from PostgreSQL's");
    }
    assert_eq!(got.lines().count(), want.lines().count(), "Orbit printed:\n{got}");
}
