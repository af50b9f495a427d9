//! The operator's view: /metrics parses as Prometheus text and its counters move, /health and
//! /ready answer, INFO parses with redis-py's parser, SLOWLOG records slow commands, LATENCY
//! HISTOGRAM and INFO latencystats report per-command latencies.

use orbit_tests::Orbit;
use std::io::{Read, Write};
use std::process::Command;

fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status: u16 = resp.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn sample(body: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let lines = body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[test]
fn metrics_parse_and_counters_move() {
    let o = Orbit::start(&["--shards", "2"]);
    assert_eq!(http_get(o.http_port, "/health").0, 200);
    // /ready turns 200 once every shard has recovered and listens (PING may answer a moment
    // before the last shard is up).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while http_get(o.http_port, "/ready").0 != 200 {
        assert!(std::time::Instant::now() < deadline, "/ready never turned 200");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(http_get(o.http_port, "/nope").0, 404);
    let (status, before) = http_get(o.http_port, "/metrics");
    assert_eq!(status, 200);
    let sets_before = sample(&before, "orbit_commands_total", &[("cmd", "set")]);
    let mut c = o.client();
    for i in 0..50 {
        let _: () = redis::cmd("SET").arg(format!("k{i}")).arg(i).query(&mut c).unwrap();
    }
    let (_, after) = http_get(o.http_port, "/metrics");
    assert_eq!(sample(&after, "orbit_commands_total", &[("cmd", "set")]) - sets_before, 50.0);
    assert_eq!(sample(&after, "orbit_keys", &[]), 50.0);
    assert!(sample(&after, "orbit_connections", &[]) >= 1.0);
    assert!(sample(&after, "orbit_used_memory_bytes", &[]) > 0.0);
    // Per-shard labels: both shards report.
    assert!(after.contains("shard=\"0\"") && after.contains("shard=\"1\""));
    // A MULTI/EXEC over keys of both shards is one scheduled transaction on each of them.
    let tx_before = sample(&after, "orbit_tx_scheduled_total", &[]);
    let _: ((), ()) = redis::pipe().atomic().set("k1", 1).set("k2", 2).query(&mut c).unwrap();
    let (_, after_tx) = http_get(o.http_port, "/metrics");
    assert!(sample(&after_tx, "orbit_tx_scheduled_total", &[]) > tx_before);
    assert_eq!(sample(&after_tx, "orbit_tx_queued", &[]), 0.0);
}

#[test]
fn info_parses_with_redis_py_and_slowlog_records() {
    let o = Orbit::start(&["--shards", "2"]);
    let mut c = o.client();
    let _: () = redis::cmd("CONFIG").arg("SET").arg("slowlog-log-slower-than").arg("0").query(&mut c).unwrap();
    let _: () = redis::cmd("SET").arg("slow-key").arg("v").query(&mut c).unwrap();
    let entries: Vec<redis::Value> = redis::cmd("SLOWLOG").arg("GET").arg(100).query(&mut c).unwrap();
    let text = format!("{entries:?}");
    assert!(text.contains("slow-key"), "{text}");
    let n: i64 = redis::cmd("SLOWLOG").arg("LEN").query(&mut c).unwrap();
    assert!(n >= 1);
    let _: () = redis::cmd("SLOWLOG").arg("RESET").query(&mut c).unwrap();
    let hist: redis::Value = redis::cmd("LATENCY").arg("HISTOGRAM").arg("set").query(&mut c).unwrap();
    assert!(format!("{hist:?}").contains("histogram_usec"), "{hist:?}");

    let script = format!(
        r#"
import redis
r = redis.Redis(port={port}, protocol=2)
info = r.info("everything")
assert info["redis_version"].startswith("7."), info
assert info["connected_clients"] >= 1
assert "cmdstat_set" in info and info["cmdstat_set"]["calls"] >= 1, info.get("cmdstat_set")
assert "latency_percentiles_usec_set" in info, [k for k in info if k.startswith("latency")]
assert info["db0"]["keys"] == 1, info.get("db0")
assert r.info("memory")["used_memory"] > 0
print("ok")
"#,
        port = o.port
    );
    let out = Command::new("python3").arg("-c").arg(script).output().unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn reactor_stalls_are_counted() {
    let o = Orbit::start(&["--shards", "2"]);
    let (_, body) = http_get(o.http_port, "/metrics");
    // Both shards export the counter from the start.
    let names = |body: &str| {
        let lines = body.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == "orbit_reactor_stalls_total")
            .filter_map(|s| s.labels.get("shard").map(|v| v.to_string()))
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(names(&body).into_iter().collect::<Vec<_>>(), ["0", "1"], "{body}");
    // 200k keys, then KEYS * walks each shard's half in one go: hundreds of ms in which the
    // shard serves nothing else.
    let mut c = o.client();
    for batch in 0..200 {
        let mut mset = redis::cmd("MSET");
        for i in 0..1000 {
            mset.arg(format!("key:{batch}:{i}")).arg(i);
        }
        let _: () = mset.query(&mut c).unwrap();
    }
    let (_, before) = http_get(o.http_port, "/metrics");
    let stalls_before = sample(&before, "orbit_reactor_stalls_total", &[]);
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    assert_eq!(keys.len(), 200_000);
    let (_, after) = http_get(o.http_port, "/metrics");
    let stalls_after = sample(&after, "orbit_reactor_stalls_total", &[]);
    assert!(stalls_after > stalls_before, "KEYS * over 200k keys counted no stall: {stalls_before} -> {stalls_after}");
    assert!(sample(&after, "orbit_reactor_stall_usec_total", &[]) >= 1000.0 * stalls_after);
    // INFO stats has the total and each shard's count.
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).unwrap();
    let field = |name: &str| -> f64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {info}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert!(field("reactor_stalls") >= stalls_after, "{info}");
    assert!(field("shard0_reactor_stalls") + field("shard1_reactor_stalls") >= stalls_after, "{info}");
}

/// The status of GET `path`, or None while nothing listens on the port (or the connection
/// breaks: the server is still starting).
fn try_http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    resp.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn ready_is_503_until_recovery_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // One shard (the one serving HTTP) replays the whole log; no snapshot, so it is all log.
    let args = ["--shards", "1", "--fsync", "no", "--snapshot-log-size", "0"];
    let mut o = Orbit::start_in(&data, &args);
    let mut c = o.client();
    // 300k keys in 300 MSETs: ~42 MB of log that replays key by key (~0.3 s in a release build,
    // more in a debug one), yielding to the HTTP endpoint after each 1 MiB.
    let value = "v".repeat(100);
    let mut pipe = redis::pipe();
    for batch in 0..300 {
        let mut mset = redis::cmd("MSET");
        for i in 0..1000 {
            mset.arg(format!("k:{batch}:{i}")).arg(&value);
        }
        pipe.add_command(mset).ignore();
    }
    let _: () = pipe.query(&mut c).unwrap();
    drop(c);
    // A clean stop writes and syncs the whole log.
    assert!(o.terminate(std::time::Duration::from_secs(20)).is_some_and(|s| s.success()), "{}", o.log());
    // Start again and watch /ready from before anything listens.
    let mut o = Orbit::launch_in(&data, &args);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let status = try_http_status(o.http_port, "/ready");
        if let Some(s) = status {
            if seen.last() != Some(&s) {
                seen.push(s);
            }
            if s == 503 {
                // Alive while loading.
                assert_eq!(try_http_status(o.http_port, "/health"), Some(200));
            }
            if s == 200 {
                break;
            }
        }
        assert!(std::time::Instant::now() < deadline, "/ready never turned 200: {seen:?}\n{}", o.log());
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(seen, [503, 200], "/ready during recovery, then after\n{}", o.log());
    o.wait_for_ping();
    let mut c = o.client();
    let keys: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert_eq!(keys, 300_000);
    assert!(o.log().contains("recovered"), "{}", o.log());
}

/// log_min_duration_statement: a statement that ran at least that long is written to the
/// server's log with its duration and text as the client sent it (0 logs every one); -1 (the
/// default) and a threshold it stays under log nothing.
#[test]
fn log_min_duration_statement_logs_statements() {
    let o = Orbit::start(&["--shards", "2", "--log-level", "info"]);
    let out = orbit_tests::psql_output(
        o.pg_port,
        "SELECT 'not yet' AS a;\n\
         SET log_min_duration_statement = 0;\n\
         SELECT 'logged' || 1 AS b;\n\
         SET log_min_duration_statement = '1h';\n\
         SELECT 'under the threshold' AS c;\n\
         RESET log_min_duration_statement;\n\
         SELECT 'off again' AS d;\n",
    );
    assert!(out.contains("logged1"), "{out}");
    let log = o.log();
    let line = log.lines().find(|l| l.contains("statement: SELECT 'logged' || 1 AS b;"));
    assert!(line.is_some_and(|l| l.contains("duration: ") && l.contains(" ms")), "{log}");
    for quiet in ["not yet", "under the threshold", "off again"] {
        assert!(!log.contains(quiet), "{quiet} was logged:\n{log}");
    }
}

/// `log_statement`: the query strings (simple protocol) and Execute messages (extended, with
/// the Bind parameters) of the classes it names are written to the server's log as they
/// arrive, as PostgreSQL's `statement: ...` / `execute <name>: ...`; the rest are not.
#[test]
fn log_statement_logs_the_classes_it_names() {
    let o = Orbit::start(&["--shards", "2", "--log-level", "info"]);
    let out = orbit_tests::psql_output(
        o.pg_port,
        "SET log_statement = 'ddl';\n\
         SELECT 'quiet select 1' AS a;\n\
         CREATE TABLE ls_t (a int, b text);\n\
         INSERT INTO ls_t VALUES (1, 'quiet insert');\n\
         SET log_statement = 'mod';\n\
         INSERT INTO ls_t VALUES (2, 'loud insert');\n\
         SELECT 'quiet select 2' AS b;\n\
         EXPLAIN ANALYZE DELETE FROM ls_t WHERE b = 'loud delete';\n\
         SET log_statement = 'all';\n\
         SELECT 'loud select' AS c;\n\
         SET log_statement = 'bogus';\n",
    );
    assert!(out.contains("Available values: none, ddl, mod, all."), "{out}");
    let rt = orbit_tests::pg_runtime();
    rt.block_on(async {
        let c = orbit_tests::pg_connect(o.pg_port).await;
        c.batch_execute("SET log_statement = 'mod'").await.unwrap();
        c.execute("INSERT INTO ls_t VALUES ($1, $2)", &[&3i32, &"it's extended"]).await.unwrap();
        c.query("SELECT b FROM ls_t WHERE a = $1", &[&3i32]).await.unwrap();
        c.batch_execute("SET log_statement = 'none'").await.unwrap();
        c.execute("INSERT INTO ls_t VALUES ($1, 'quiet again')", &[&4i32]).await.unwrap();
    });
    let log = o.log();
    for loud in [
        "statement: CREATE TABLE ls_t (a int, b text);",
        "statement: INSERT INTO ls_t VALUES (2, 'loud insert');",
        "statement: EXPLAIN ANALYZE DELETE FROM ls_t WHERE b = 'loud delete';",
        "statement: SELECT 'loud select' AS c;",
    ] {
        assert!(log.contains(loud), "not logged: {loud}\n{log}");
    }
    // tokio-postgres names its statements (`s0`, ...).
    let extended = ": INSERT INTO ls_t VALUES ($1, $2)  DETAIL:  parameters: $1 = '3', $2 = 'it''s extended'";
    assert!(log.lines().any(|l| l.contains(" execute s") && l.contains(extended)), "{log}");
    for quiet in ["quiet select 1", "quiet insert", "quiet select 2", "SELECT b FROM ls_t", "quiet again"] {
        assert!(!log.contains(quiet), "{quiet} was logged:\n{log}");
    }
}
