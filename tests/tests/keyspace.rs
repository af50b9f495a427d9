//! Server-side keyspace behaviour through a real client: active expiry without access,
//! maxmemory eviction and OOM, SELECT/SWAPDB across shards, CLIENT KILL, query buffer limits.

use orbit_tests::Orbit;
use std::time::{Duration, Instant};

#[test]
fn keys_expire_actively_without_being_read() {
    let o = Orbit::start(&["--shards", "2"]);
    let mut c = o.client();
    for i in 0..200 {
        let _: () = redis::cmd("SET").arg(format!("t{i}")).arg("v").arg("PX").arg(100).query(&mut c).unwrap();
    }
    let _: () = redis::cmd("SET").arg("keep").arg("v").query(&mut c).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // DBSIZE counts keys without touching them; only active expiry can shrink it.
        let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
        if n == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "active expiry left {n} keys");
        std::thread::sleep(Duration::from_millis(50));
    }
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).unwrap();
    let expired: u64 = info.lines().find_map(|l| l.strip_prefix("expired_keys:")).unwrap().trim().parse().unwrap();
    assert!(expired >= 200, "{info}");
}

#[test]
fn maxmemory_evicts_under_lru_and_refuses_under_noeviction() {
    let o = Orbit::start(&["--shards", "2"]);
    let mut c = o.client();
    let used: String = redis::cmd("INFO").arg("memory").query(&mut c).unwrap();
    let used: u64 = used.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap();
    let limit = used + 4 * 1024 * 1024;
    let _: () = redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg(limit).query(&mut c).unwrap();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("maxmemory-policy").arg("allkeys-lru").query(&mut c).unwrap();
    let value = "x".repeat(1024);
    for i in 0..20_000 {
        let _: () = redis::cmd("SET").arg(format!("k{i}")).arg(&value).query(&mut c).unwrap();
    }
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert!(n < 20_000 && n > 100, "dbsize {n}");
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).unwrap();
    let evicted: u64 = info.lines().find_map(|l| l.strip_prefix("evicted_keys:")).unwrap().trim().parse().unwrap();
    assert!(evicted > 0);

    let _: () = redis::cmd("CONFIG").arg("SET").arg("maxmemory-policy").arg("noeviction").query(&mut c).unwrap();
    let mut refused = None;
    for i in 0..20_000 {
        if let Err(e) = redis::cmd("SET").arg(format!("n{i}")).arg(&value).query::<()>(&mut c) {
            refused = Some(e.to_string());
            break;
        }
    }
    let refused = refused.expect("a write was refused");
    assert!(
        refused.starts_with("OOM") && refused.contains("command not allowed when used memory > 'maxmemory'"),
        "{refused}"
    );
    // Reads still work.
    let _: Option<String> = redis::cmd("GET").arg("k19999").query(&mut c).unwrap();
}

#[test]
fn select_and_swapdb_work_across_shards() {
    let o = Orbit::start(&["--shards", "3"]);
    let mut c = o.client();
    let _: () = redis::cmd("SELECT").arg(1).query(&mut c).unwrap();
    for i in 0..30 {
        let _: () = redis::cmd("SET").arg(format!("d1:{i}")).arg(i).query(&mut c).unwrap();
    }
    let _: () = redis::cmd("SWAPDB").arg(0).arg(1).query(&mut c).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 0);
    let _: () = redis::cmd("SELECT").arg(0).query(&mut c).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(n, 30);
    let err = redis::cmd("SELECT").arg(16).query::<()>(&mut c).unwrap_err();
    assert!(err.to_string().contains("DB index is out of range"));
}

#[test]
fn client_kill_closes_a_connection_on_any_shard() {
    let o = Orbit::start(&["--shards", "2"]);
    let mut victims: Vec<(i64, redis::Connection)> = (0..6)
        .map(|_| {
            let mut c = o.client();
            let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut c).unwrap();
            (id, c)
        })
        .collect();
    let mut admin = o.client();
    for (id, _) in &victims {
        let n: i64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(*id).query(&mut admin).unwrap();
        assert_eq!(n, 1);
    }
    for (_, c) in victims.iter_mut() {
        assert!(redis::cmd("PING").query::<String>(c).is_err());
    }
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut admin).unwrap();
    assert_eq!(list.lines().count(), 1, "{list}");
}

#[test]
fn a_huge_bulk_length_is_refused_and_others_keep_working() {
    use std::io::{Read, Write};
    let o = Orbit::start(&[]);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", o.port)).unwrap();
    s.write_all(b"*2\r\n$3\r\nGET\r\n$9999999999\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    assert_eq!(got, "-ERR Protocol error: invalid bulk length\r\n");
    let mut c = o.client();
    let pong: String = redis::cmd("PING").query(&mut c).unwrap();
    assert_eq!(pong, "PONG");
}
