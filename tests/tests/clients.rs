//! Other people's clients against the real binary: redis-py (an ordinary program, unchanged),
//! redis-cli, and the `redis` crate in RESP3 mode; pub/sub and blocking pops across shards.

use orbit_tests::Orbit;
use std::process::Command;
use std::time::Duration;

#[test]
fn an_ordinary_redis_py_program_works_unchanged() {
    let o = Orbit::start(&["--shards", "2"]);
    let script = orbit_tests::workspace_root().join("tests/python/redis_py_app.py");
    let out = Command::new("python3").arg(script).arg(o.port.to_string()).output().expect("run python3");
    assert!(
        out.status.success(),
        "redis-py app failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn redis_cli_ping_and_inline_commands() {
    let o = Orbit::start(&[]);
    let out = Command::new("redis-cli").args(["-p", &o.port.to_string(), "ping"]).output().expect("redis-cli");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "PONG");
    // Inline commands, as typed by hand in telnet.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", o.port)).unwrap();
    s.write_all(b"PING\r\nSET k \"a b\"\r\nGET k\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = vec![0u8; 256];
    let mut got = Vec::new();
    while got.len() < b"+PONG\r\n+OK\r\n$3\r\na b\r\n".len() {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(&got[..], b"+PONG\r\n+OK\r\n$3\r\na b\r\n");
}

#[test]
fn protocol_errors_close_only_the_bad_client() {
    use std::io::{Read, Write};
    let o = Orbit::start(&["--shards", "2"]);
    let mut good = o.client();
    let mut bad = std::net::TcpStream::connect(("127.0.0.1", o.port)).unwrap();
    bad.write_all(b"*1\r\n$-5\r\n").unwrap();
    bad.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = String::new();
    bad.read_to_string(&mut got).unwrap();
    assert_eq!(got, "-ERR Protocol error: invalid bulk length\r\n");
    let pong: String = redis::cmd("PING").query(&mut good).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn resp3_hello_returns_a_map_and_typed_replies() {
    use std::io::{Read, Write};
    let o = Orbit::start(&[]);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", o.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"HELLO 3\r\n").unwrap();
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    let hello = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(hello.starts_with('%'), "{hello}");
    assert!(hello.contains("proto\r\n:3"), "{hello}");
    s.write_all(b"GET missing\r\nZADD z 1.5 a\r\nZSCORE z a\r\nHSET h f v\r\nHGETALL h\r\n").unwrap();
    let want = "_\r\n:1\r\n,1.5\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n";
    let mut got = Vec::new();
    while got.len() < want.len() {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(String::from_utf8_lossy(&got), want);
}

#[test]
fn pubsub_reaches_subscribers_on_every_shard() {
    let o = Orbit::start(&["--shards", "2"]);
    // Enough subscribers that both shards hold some.
    let client = redis::Client::open(o.url()).unwrap();
    let mut subs = Vec::new();
    for _ in 0..8 {
        let mut c = client.get_connection().unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _: () = redis::cmd("SUBSCRIBE").arg("chan").query(&mut c).unwrap_or(());
        subs.push(c);
    }
    let mut p = o.client();
    let n: i64 = redis::cmd("PUBLISH").arg("chan").arg("hi").query(&mut p).unwrap();
    assert_eq!(n, 8);
    for c in subs.iter_mut() {
        let msg: Vec<String> = redis::FromRedisValue::from_redis_value(&c.recv_response().unwrap()).unwrap();
        assert_eq!(msg, vec!["message", "chan", "hi"]);
    }
    let numsub: Vec<redis::Value> = redis::cmd("PUBSUB").arg("NUMSUB").arg("chan").query(&mut p).unwrap();
    assert_eq!(numsub.len(), 2);
}

#[test]
fn blpop_is_woken_by_a_push_on_another_connection_and_times_out_otherwise() {
    let o = Orbit::start(&["--shards", "2"]);
    let url = o.url();
    let waiter = std::thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        redis::cmd("BLPOP").arg("q1").arg("q2").arg(5).query::<Option<(String, String)>>(&mut c).unwrap()
    });
    std::thread::sleep(Duration::from_millis(300));
    let mut p = o.client();
    let _: i64 = redis::cmd("RPUSH").arg("q2").arg("job").query(&mut p).unwrap();
    assert_eq!(waiter.join().unwrap(), Some(("q2".to_string(), "job".to_string())));
    let mut c = o.client();
    let t: Option<(String, String)> = redis::cmd("BLPOP").arg("empty").arg("0.2").query(&mut c).unwrap();
    assert_eq!(t, None);
}

/// CONFIG SET timeout N: a client idle for more than N seconds is closed, as Redis closes it;
/// a client in pub/sub mode or blocked in a command is not (a blocked one's own timeout
/// governs it, and its unblocking counts as an interaction). Compared with the real
/// redis-server where one is installed.
#[test]
fn idle_clients_are_closed_past_the_timeout_setting() {
    let o = Orbit::start(&["--shards", "2"]);
    let real = orbit_tests::RealRedis::start();
    let mut urls = vec![("orbit", o.url())];
    if let Some(r) = &real {
        urls.push(("redis-server", r.url()));
    }
    for (who, url) in urls {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut admin = client.get_connection().unwrap();
        let _: () = redis::cmd("CONFIG").arg("SET").arg("timeout").arg(1).query(&mut admin).unwrap();
        let mut idle = client.get_connection().unwrap();
        let _: String = redis::cmd("PING").query(&mut idle).unwrap();
        let mut blocked = client.get_connection().unwrap();
        let mut sub = client.get_connection().unwrap();
        let mut pubsub = sub.as_pubsub();
        pubsub.subscribe("idle-ch").unwrap();
        // Blocked for 3 s, longer than the timeout: it answers nil, and the connection is
        // still open after it.
        let popped: Option<(String, String)> = redis::cmd("BLPOP").arg("nothing").arg(3).query(&mut blocked).unwrap();
        assert_eq!(popped, None, "{who}");
        let _: String = redis::cmd("PING").query(&mut blocked).unwrap();
        // By now `idle` has waited past the timeout (the check runs about once a second).
        std::thread::sleep(Duration::from_millis(1500));
        let r: redis::RedisResult<String> = redis::cmd("PING").query(&mut idle);
        assert!(r.is_err(), "{who}: an idle client was left open: {r:?}");
        // (`admin` was idle too: a new connection publishes.)
        let mut admin = client.get_connection().unwrap();
        let _: i64 = redis::cmd("PUBLISH").arg("idle-ch").arg("m").query(&mut admin).unwrap();
        pubsub.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let m = pubsub.get_message().unwrap();
        assert_eq!(m.get_payload::<String>().unwrap(), "m", "{who}");
        let _: () = redis::cmd("CONFIG").arg("SET").arg("timeout").arg(0).query(&mut admin).unwrap();
    }
}

/// CONFIG SET hz takes effect on every shard's expiry task (keys nobody reads still expire
/// after it), and CONFIG SET save accepts only "" (no save points): Orbit snapshots by log
/// size, so a save point it would not honour is an error rather than a silent OK.
#[test]
fn config_set_hz_and_save() {
    let o = Orbit::start(&["--shards", "2"]);
    let mut c = o.client();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("hz").arg(100).query(&mut c).unwrap();
    let got: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("hz").query(&mut c).unwrap();
    assert_eq!(got, ["hz", "100"]);
    for i in 0..200 {
        let _: () = redis::cmd("SET").arg(format!("e{i}")).arg(1).arg("PX").arg(50).query(&mut c).unwrap();
    }
    let mut left = 200;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(50));
        left = redis::cmd("DBSIZE").query(&mut c).unwrap();
        if left == 0 {
            break;
        }
    }
    assert_eq!(left, 0, "keys nobody read did not expire");
    let _: () = redis::cmd("CONFIG").arg("SET").arg("save").arg("").query(&mut c).unwrap();
    let e = redis::cmd("CONFIG").arg("SET").arg("save").arg("900 1").query::<()>(&mut c).unwrap_err();
    assert!(e.to_string().contains("save points are not supported"), "{e}");
}

/// CLIENT REPLY OFF / ON / SKIP: the replies a client asked not to get are not sent (OFF and
/// SKIP send none of their own), compared byte for byte with the real redis-server where one is
/// installed.
#[test]
fn client_reply_off_on_and_skip() {
    use std::io::{Read, Write};
    let o = Orbit::start(&["--shards", "2"]);
    let real = orbit_tests::RealRedis::start();
    let script = b"CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nCLIENT REPLY ON\r\nGET a\r\nCLIENT REPLY SKIP\r\nSET b 2\r\nGET b\r\nCLIENT REPLY MAYBE\r\nCLIENT REPLY\r\nPING\r\n";
    let want: &[u8] = b"+OK\r\n$1\r\n1\r\n$1\r\n2\r\n-ERR syntax error\r\n-ERR wrong number of arguments for 'client|reply' command\r\n+PONG\r\n";
    let mut ports = vec![o.port];
    if let Some(r) = &real {
        ports.push(r.port);
    }
    for port in ports {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(script).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while !got.ends_with(b"+PONG\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "port {port}: closed after {:?}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want), "port {port}");
    }
}
