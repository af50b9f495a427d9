//! The server as a process: it starts, answers, spreads connections over shards, stops cleanly
//! on SIGTERM, and refuses bad configuration with a clear error.

use orbit_tests::{free_port, orbit_bin, Orbit};
use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

#[test]
fn ping_echo_through_the_redis_crate() {
    let o = Orbit::start(&["--shards", "2"]);
    let mut c = o.client();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
    let echo: String = redis::cmd("ECHO").arg("hello").query(&mut c).unwrap();
    assert_eq!(echo, "hello");
    let v: String = redis::cmd("PING").arg("x y").query(&mut c).unwrap();
    assert_eq!(v, "x y");
}

#[test]
fn connections_spread_over_shards() {
    let o = Orbit::start(&["--shards", "2"]);
    let mut shards = HashSet::new();
    // The kernel's SO_REUSEPORT hash spreads connections; 64 connections land on both shards
    // with overwhelming probability.
    let mut conns = Vec::new();
    for _ in 0..64 {
        let mut c = o.client();
        let info: String = redis::cmd("CLIENT").arg("INFO").query(&mut c).unwrap();
        let shard = info.split_whitespace().find_map(|kv| kv.strip_prefix("shard=")).unwrap().to_string();
        shards.insert(shard);
        conns.push(c);
    }
    assert_eq!(shards.len(), 2, "all connections landed on one shard: {shards:?}");
}

#[test]
fn keys_on_other_shards_are_reachable() {
    let o = Orbit::start(&["--shards", "3"]);
    let mut c = o.client();
    for i in 0..200 {
        let _: () = redis::cmd("SET").arg(format!("k{i}")).arg(i).query(&mut c).unwrap();
    }
    for i in 0..200 {
        let v: i64 = redis::cmd("GET").arg(format!("k{i}")).query(&mut c).unwrap();
        assert_eq!(v, i);
    }
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 200);
    let keys: Vec<String> = redis::cmd("MGET")
        .arg("k1")
        .arg("k2")
        .arg("nope")
        .query::<Vec<Option<String>>>(&mut c)
        .unwrap()
        .into_iter()
        .map(|v| v.unwrap_or_default())
        .collect();
    assert_eq!(keys, vec!["1", "2", ""]);
    // A full SCAN returns every key exactly as KEYS does.
    let mut cursor = 0u64;
    let mut seen = HashSet::new();
    loop {
        let (next, batch): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(17).query(&mut c).unwrap();
        seen.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 200);
}

#[test]
fn sigterm_exits_zero() {
    let mut o = Orbit::start(&["--shards", "2"]);
    let mut c = o.client();
    let _: () = redis::cmd("SET").arg("a").arg("b").query(&mut c).unwrap();
    let status = o.terminate(Duration::from_secs(5)).expect("exited within 5 s");
    assert!(status.success(), "exit status {status}");
}

#[test]
fn bad_flags_and_busy_ports_exit_2_with_a_message() {
    let out = Command::new(orbit_bin()).args(["serve", "--fsync", "sometimes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fsync"));

    let out = Command::new(orbit_bin()).args(["serve", "--log-level", "loud"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("log-level"));

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(orbit_bin())
        .args(["serve", "--redis-port", &port.to_string(), "--pg-port", &free_port().to_string()])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&port.to_string()) && err.contains("redis-port"), "{err}");

    let out = Command::new(orbit_bin()).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("orbit "));
}

#[test]
fn config_file_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("orbit.toml");
    std::fs::write(&f, "shards = 3\nrequirepass = \"sekret\"\n").unwrap();
    let o = Orbit::start(&["--config", f.to_str().unwrap(), "--shards", "2"]);
    let mut c = o.client();
    let err = redis::cmd("GET").arg("x").query::<Option<String>>(&mut c).unwrap_err();
    assert!(err.to_string().contains("NOAUTH"), "{err}");
    let _: () = redis::cmd("AUTH").arg("sekret").query(&mut c).unwrap();
    let info: String = redis::cmd("INFO").arg("server").query(&mut c).unwrap();
    assert!(info.contains("shards:2"), "{info}");
}
