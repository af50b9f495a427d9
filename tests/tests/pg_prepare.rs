//! SQL PREPARE / EXECUTE / DEALLOCATE / DISCARD against the extended protocol's named
//! statements (Parse, Bind, Describe), which share their namespace in PostgreSQL: the same
//! psycopg script (tests/python/psycopg_prepare.py) runs on Orbit and, where installed, on a
//! real PostgreSQL 15, and must print the same. The SQL side alone is tests/slt/prepare.slt.

use orbit_tests::{Orbit, RealPostgres};
use std::process::Command;

fn run(port: u16) -> String {
    let script = orbit_tests::workspace_root().join("tests/python/psycopg_prepare.py");
    let out = Command::new("python3").arg(script).arg(port.to_string()).output().expect("run python3");
    assert!(
        out.status.success(),
        "psycopg_prepare.py failed on port {port}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sql_and_protocol_statements_share_one_namespace() {
    let o = Orbit::start(&["--shards", "2"]);
    let orbit = run(o.pg_port);
    // What the script must see whether or not PostgreSQL is here to compare with.
    for line in [
        "sql prepare over a protocol name: ERROR 42P05 prepared statement \"proto1\" already exists",
        "sql execute of a protocol statement: SELECT 1 [[b'6']]",
        "parse over a SQL name: ERROR 42P05 prepared statement \"sql1\" already exists",
        "bind/execute of a SQL statement: SELECT 1 [[b'70']]",
        "bind/execute of an EXECUTE: SELECT 1 [[b'40']]",
        "bind of a deallocated statement: ERROR 26000 prepared statement \"proto1\" does not exist",
        "rows: SELECT 1 [[b'1', b'uno']]",
    ] {
        assert!(orbit.lines().any(|l| l == line), "missing {line:?} in:\n{orbit}");
    }
    match RealPostgres::start() {
        Ok(pg) => {
            let real = run(pg.port);
            for (o, p) in orbit.lines().zip(real.lines()) {
                assert_eq!(o, p);
            }
            assert_eq!(orbit.lines().count(), real.lines().count());
        }
        Err(why) => println!("not compared with PostgreSQL 15: {why}"),
    }
}
