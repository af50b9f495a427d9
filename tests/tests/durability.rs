//! Durability end to end: data, types and TTLs survive restarts (clean and SIGKILL), snapshot
//! plus log replay gives back exactly the state before, acknowledged writes survive SIGKILL at
//! random moments with `--fsync always` (the crash test: `ORBIT_CRASH_ROUNDS=500 cargo test
//! -p orbit-tests --test durability crash` for a longer run by hand), a torn log tail is cut, a
//! damaged record in the middle stops start-up until `--repair`, and a changed `--shards` count
//! re-shards the data.

use orbit_tests::{orbit_bin, Orbit};
use rand::Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Conn = redis::Connection;

/// One key as a client sees it: type, value in a canonical form, and PTTL.
#[derive(Debug, Clone, PartialEq)]
struct KeyDump {
    kind: String,
    value: Vec<Vec<u8>>,
    pttl: i64,
}

/// Every key of every database.
fn dump(c: &mut Conn) -> BTreeMap<(u8, Vec<u8>), KeyDump> {
    let mut out = BTreeMap::new();
    for db in 0..16u8 {
        redis::cmd("SELECT").arg(db).query::<()>(c).unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(c).unwrap();
        for k in keys {
            let kind: String = redis::cmd("TYPE").arg(&k).query(c).unwrap();
            let mut value: Vec<Vec<u8>> = match kind.as_str() {
                "string" => vec![redis::cmd("GET").arg(&k).query(c).unwrap()],
                "list" => redis::cmd("LRANGE").arg(&k).arg(0).arg(-1).query(c).unwrap(),
                "hash" => {
                    let m: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL").arg(&k).query(c).unwrap();
                    let mut m: Vec<Vec<u8>> = m.into_iter().map(|(f, v)| [f, b"=".to_vec(), v].concat()).collect();
                    m.sort();
                    m
                }
                "set" => {
                    let mut m: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(&k).query(c).unwrap();
                    m.sort();
                    m
                }
                "zset" => redis::cmd("ZRANGE").arg(&k).arg(0).arg(-1).arg("WITHSCORES").query(c).unwrap(),
                // Expired between KEYS and TYPE.
                "none" => continue,
                other => panic!("unexpected type {other}"),
            };
            value.shrink_to_fit();
            let pttl: i64 = redis::cmd("PTTL").arg(&k).query(c).unwrap();
            out.insert((db, k), KeyDump { kind, value, pttl });
        }
    }
    redis::cmd("SELECT").arg(0).query::<()>(c).unwrap();
    out
}

/// Equal data and types; a TTL may only have run down (by less than `slack_ms`).
fn assert_same(before: &BTreeMap<(u8, Vec<u8>), KeyDump>, after: &BTreeMap<(u8, Vec<u8>), KeyDump>, slack_ms: i64) {
    let show = |k: &(u8, Vec<u8>)| format!("db{} {}", k.0, String::from_utf8_lossy(&k.1));
    let lost: Vec<String> = before.keys().filter(|k| !after.contains_key(*k)).take(10).map(show).collect();
    let extra: Vec<String> = after.keys().filter(|k| !before.contains_key(*k)).take(10).map(show).collect();
    assert!(lost.is_empty() && extra.is_empty(), "keys lost: {lost:?}; keys that appeared: {extra:?}");
    for (k, b) in before {
        let a = &after[k];
        assert_eq!(a.kind, b.kind, "type of {k:?}");
        assert_eq!(a.value, b.value, "value of {k:?}");
        if b.pttl < 0 {
            assert_eq!(a.pttl, b.pttl, "pttl of {k:?}");
        } else {
            assert!(a.pttl <= b.pttl && a.pttl > b.pttl - slack_ms, "pttl of {k:?}: {} then {}", b.pttl, a.pttl);
        }
    }
}

fn q(c: &mut Conn, parts: &[&str]) -> redis::Value {
    let mut cmd = redis::cmd(parts[0]);
    for p in &parts[1..] {
        cmd.arg(*p);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{parts:?}: {e}"))
}

/// A mix of every type, TTLs, commands that log rewrites, and multi-shard commands.
fn populate(c: &mut Conn, tag: &str) {
    for i in 0..200 {
        q(c, &["SET", &format!("{tag}:s:{i}"), &format!("value-{i}")]);
    }
    q(c, &["SET", &format!("{tag}:ttl"), "t", "EX", "1000"]);
    q(c, &["SET", &format!("{tag}:px"), "t"]);
    q(c, &["PEXPIRE", &format!("{tag}:px"), "900000"]);
    q(c, &["SET", &format!("{tag}:gone"), "soon", "PX", "50"]);
    q(c, &["RPUSH", &format!("{tag}:list"), "a", "b", "c", "d"]);
    q(c, &["LPOP", &format!("{tag}:list")]);
    q(c, &["HSET", &format!("{tag}:hash"), "f1", "v1", "f2", "v2", "f3", "v3"]);
    q(c, &["HDEL", &format!("{tag}:hash"), "f2"]);
    q(c, &["HINCRBYFLOAT", &format!("{tag}:hash"), "n", "1.5"]);
    q(c, &["SADD", &format!("{tag}:set"), "x", "y", "z", "w", "v"]);
    q(c, &["SPOP", &format!("{tag}:set")]);
    q(c, &["ZADD", &format!("{tag}:z"), "1", "a", "2.5", "b", "-3", "c"]);
    q(c, &["ZINCRBY", &format!("{tag}:z"), "10", "a"]);
    q(c, &["INCRBYFLOAT", &format!("{tag}:f"), "3.25"]);
    q(c, &["INCR", &format!("{tag}:n")]);
    q(c, &["APPEND", &format!("{tag}:s:1"), "-more"]);
    q(c, &["SETRANGE", &format!("{tag}:s:2"), "2", "XY"]);
    q(c, &["SETBIT", &format!("{tag}:bits"), "77", "1"]);
    q(c, &["PFADD", &format!("{tag}:hll"), "a", "b", "c"]);
    // Multi-shard: split commands and fetch/run/write-back ones.
    q(c, &["MSET", &format!("{tag}:m1"), "1", &format!("{tag}:m2"), "2", &format!("{tag}:m3"), "3"]);
    q(c, &["DEL", &format!("{tag}:s:3"), &format!("{tag}:s:4"), &format!("{tag}:s:5")]);
    q(c, &["RENAME", &format!("{tag}:s:6"), &format!("{tag}:renamed")]);
    q(c, &["SUNIONSTORE", &format!("{tag}:union"), &format!("{tag}:set"), &format!("{tag}:other")]);
    q(c, &["LMOVE", &format!("{tag}:list"), &format!("{tag}:list2"), "LEFT", "RIGHT"]);
    // Other databases.
    q(c, &["SELECT", "5"]);
    q(c, &["SET", &format!("{tag}:in5"), "five"]);
    q(c, &["MOVE", &format!("{tag}:in5"), "6"]);
    q(c, &["SET", &format!("{tag}:also5"), "five"]);
    q(c, &["SELECT", "0"]);
}

fn wait_gone(c: &mut Conn, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis::cmd("EXISTS").arg(key).query::<i64>(c).unwrap() == 1 {
        assert!(Instant::now() < deadline, "{key} did not expire");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn restart_after_sigterm_keeps_data_types_and_ttls() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Orbit::start_in(dir.path(), &["--shards", "2"]);
    let mut c = o.client();
    populate(&mut c, "a");
    // Half before a snapshot, half after: the restart loads the snapshot and replays the log.
    q(&mut c, &["SAVE"]);
    populate(&mut c, "b");
    q(&mut c, &["SET", "short", "x", "PX", "200"]);
    wait_gone(&mut c, "a:gone");
    wait_gone(&mut c, "b:gone");
    let before = dump(&mut c);
    assert!(before.len() > 400);
    drop(c);
    let status = o.terminate(Duration::from_secs(10)).expect("orbit stops on SIGTERM");
    assert!(status.success(), "{status}");
    // "short" expires while the server is down.
    std::thread::sleep(Duration::from_millis(300));
    let o2 = Orbit::start_in(dir.path(), &["--shards", "2"]);
    let mut c = o2.client();
    let mut after = dump(&mut c);
    assert!(!after.contains_key(&(0, b"short".to_vec())), "a key that expired while down is back");
    let mut before = before;
    before.remove(&(0, b"short".to_vec()));
    after.remove(&(0, b"short".to_vec()));
    assert_same(&before, &after, 60_000);
}

#[test]
fn snapshot_and_log_replay_after_sigkill_give_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "3", "--fsync", "always", "--log-file-size", "16kb"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let mut c = o.client();
    populate(&mut c, "x");
    q(&mut c, &["BGSAVE"]);
    // Writes racing with the background snapshot.
    for i in 0..300 {
        q(&mut c, &["SET", &format!("x:s:{}", i % 150), &format!("changed-{i}")]);
        q(&mut c, &["RPUSH", "x:list", &format!("{i}")]);
    }
    // Wait for BGSAVE to finish, then a second snapshot and more writes.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match redis::cmd("SAVE").query::<String>(&mut c) {
            Ok(_) => break,
            Err(e) if e.to_string().contains("in progress") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("SAVE: {e}"),
        }
    }
    populate(&mut c, "y");
    q(&mut c, &["FLUSHDB"]);
    populate(&mut c, "z");
    q(&mut c, &["SWAPDB", "0", "7"]);
    populate(&mut c, "w");
    wait_gone(&mut c, "w:gone");
    let before = dump(&mut c);
    o.kill9();
    let o2 = Orbit::start_in(dir.path(), &args);
    let mut c = o2.client();
    let after = dump(&mut c);
    assert_same(&before, &after, 60_000);
}

fn value_for(key: &str) -> String {
    format!("{key}|{}", "v".repeat(key.len() % 37))
}

/// Writers record each acknowledged write; SIGKILL at a random moment; every acknowledged
/// write must be back with its value after the restart.
#[test]
fn crash_test_fsync_always_loses_no_acknowledged_write() {
    let rounds: usize = std::env::var("ORBIT_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    // Small log files and automatic snapshots, so rolling and snapshots happen under the kill.
    let args = ["--shards", "2", "--fsync", "always", "--log-file-size", "64kb", "--snapshot-log-size", "256kb"];
    let mut all_acked: Vec<String> = Vec::new();
    let mut rng = rand::thread_rng();
    for round in 0..rounds {
        let mut o = Orbit::start_in(dir.path(), &args);
        let acked = Arc::new(Mutex::new(Vec::<String>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for t in 0..4 {
            let url = o.url();
            let acked = acked.clone();
            let stop = stop.clone();
            threads.push(std::thread::spawn(move || {
                let Ok(mut c) = redis::Client::open(url).and_then(|cl| cl.get_connection()) else {
                    return;
                };
                for i in 0..200_000 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let k = format!("r{round}:t{t}:{i}");
                    let r = if i % 5 == 4 {
                        // A multi-shard MSET: both keys are acknowledged together.
                        let k2 = format!("{k}:pair");
                        let ok = redis::cmd("MSET")
                            .arg(&k)
                            .arg(value_for(&k))
                            .arg(&k2)
                            .arg(value_for(&k2))
                            .query::<()>(&mut c);
                        ok.map(|_| vec![k, k2])
                    } else {
                        redis::cmd("SET").arg(&k).arg(value_for(&k)).query::<()>(&mut c).map(|_| vec![k])
                    };
                    match r {
                        Ok(keys) => acked.lock().unwrap().extend(keys),
                        Err(_) => return,
                    }
                }
            }));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..400)));
        o.kill9();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        all_acked.extend(acked.lock().unwrap().drain(..));
        // Restart on the same directory and check everything acknowledged so far.
        let o2 = Orbit::start_in(dir.path(), &args);
        let mut c = o2.client();
        for chunk in all_acked.chunks(500) {
            let got: Vec<Option<String>> = redis::cmd("MGET").arg(chunk).query(&mut c).unwrap();
            for (k, v) in chunk.iter().zip(got) {
                assert_eq!(
                    v.as_deref(),
                    Some(value_for(k).as_str()),
                    "round {round}: acknowledged {k} lost or corrupt"
                );
            }
        }
        drop(c);
        drop(o2);
    }
    assert!(!all_acked.is_empty(), "no write was acknowledged in {rounds} rounds");
}

#[test]
fn crash_with_everysec_never_corrupts() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "2", "--fsync", "everysec", "--log-file-size", "64kb"];
    for round in 0..3 {
        let mut o = Orbit::start_in(dir.path(), &args);
        let mut c = o.client();
        for i in 0..3000 {
            let k = format!("e{round}:{i}");
            q(&mut c, &["SET", &k, &value_for(&k)]);
        }
        o.kill9();
        let o2 = Orbit::start_in(dir.path(), &args);
        let mut c = o2.client();
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
        for k in keys {
            let v: String = redis::cmd("GET").arg(&k).query(&mut c).unwrap();
            assert_eq!(v, value_for(&k), "corrupt value for {k}");
        }
    }
}

fn newest_log(dir: &Path) -> PathBuf {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir.join("shard-0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs.pop().expect("a log file")
}

/// Runs `orbit serve` expecting it to fail at start-up; returns its stderr.
fn start_fails(dir: &Path, extra: &[&str]) -> String {
    let port = orbit_tests::free_port();
    let pg = (0..).map(|_| orbit_tests::free_port()).find(|&p| p != port).expect("a second port");
    let mut child = Command::new(orbit_bin())
        .args(["serve", "--bind", "127.0.0.1", "--redis-port", &port.to_string()])
        .args(["--pg-port", &pg.to_string()])
        .arg("--data-dir")
        .arg(dir)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success());
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return err;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("orbit started despite a damaged log");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn torn_tail_is_cut_and_damage_in_the_middle_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--shards", "1"];
    let mut o = Orbit::start_in(dir.path(), &args);
    let mut c = o.client();
    for i in 0..100 {
        q(&mut c, &["SET", &format!("k{i}"), &format!("v{i}")]);
    }
    drop(c);
    o.terminate(Duration::from_secs(10)).unwrap();
    // A torn record at the end (half a frame of garbage): cut off, start-up goes on.
    let log = newest_log(dir.path());
    let clean_len = std::fs::metadata(&log).unwrap().len();
    let mut bytes = std::fs::read(&log).unwrap();
    bytes.extend_from_slice(&[0x30, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 0, 0]);
    std::fs::write(&log, &bytes).unwrap();
    let mut o = Orbit::start_in(dir.path(), &args);
    let mut c = o.client();
    assert_eq!(redis::cmd("GET").arg("k99").query::<String>(&mut c).unwrap(), "v99");
    assert_eq!(std::fs::metadata(&log).unwrap().len(), clean_len, "the torn tail was not cut");
    drop(c);
    o.terminate(Duration::from_secs(10)).unwrap();
    // A flipped bit in the middle of that file: start-up stops, naming file and offset.
    let mut bytes = std::fs::read(&log).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x04;
    std::fs::write(&log, &bytes).unwrap();
    let err = start_fails(dir.path(), &args);
    let name = log.file_name().unwrap().to_string_lossy().to_string();
    assert!(err.contains(&name) && err.contains("offset"), "{err}");
    assert!(err.contains("--repair"), "{err}");
    // --repair truncates there and starts with the records before the damage.
    let mut repair_args = args.to_vec();
    repair_args.push("--repair");
    let o = Orbit::start_in(dir.path(), &repair_args);
    let mut c = o.client();
    assert_eq!(redis::cmd("GET").arg("k0").query::<String>(&mut c).unwrap(), "v0");
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).unwrap();
    assert!(n > 0 && n < 100, "{n} keys after repair");
}

#[test]
fn changing_the_shard_count_reshards_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = Orbit::start_in(dir.path(), &["--shards", "2"]);
    let mut c = o.client();
    populate(&mut c, "r");
    q(&mut c, &["SAVE"]);
    for i in 0..300 {
        q(&mut c, &["SET", &format!("after:{i}"), &format!("{i}")]);
    }
    wait_gone(&mut c, "r:gone");
    let before = dump(&mut c);
    drop(c);
    o.terminate(Duration::from_secs(10)).unwrap();
    for shards in ["3", "1", "2"] {
        let mut o = Orbit::start_in(dir.path(), &["--shards", shards]);
        let mut c = o.client();
        let after = dump(&mut c);
        assert_same(&before, &after, 120_000);
        drop(c);
        o.terminate(Duration::from_secs(10)).unwrap();
        let layout = std::fs::read_to_string(dir.path().join("LAYOUT")).unwrap();
        assert!(layout.starts_with(&format!("shards {shards}\n")), "{layout}");
    }
    // The folders of shards that no longer exist are gone.
    assert!(!dir.path().join("shard-2").exists());
}

/// A small ext4 file system on a loop device, unmounted when dropped. None where this machine
/// cannot mount one (not root, no loop devices).
struct SmallDisk {
    mnt: tempfile::TempDir,
    _img: tempfile::TempDir,
}

impl SmallDisk {
    fn new(mb: u32) -> Option<SmallDisk> {
        let img_dir = tempfile::tempdir().ok()?;
        let img = img_dir.path().join("disk.img");
        let mnt = tempfile::tempdir().ok()?;
        let ok = |c: &mut Command| c.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
        if !ok(Command::new("truncate").arg("-s").arg(format!("{mb}M")).arg(&img))
            || !ok(Command::new("mkfs.ext4").arg("-q").arg(&img))
            || !ok(Command::new("mount").arg("-o").arg("loop").arg(&img).arg(mnt.path()))
        {
            return None;
        }
        Some(SmallDisk { mnt, _img: img_dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.mnt.path()).status();
    }
}

#[test]
fn disk_full_refuses_writes_keeps_reads_and_recovers() {
    let Some(disk) = SmallDisk::new(8) else {
        eprintln!("disk_full test not run: cannot mount a loop device here (needs root and /dev/loop*)");
        return;
    };
    let data = disk.mnt.path().join("data");
    let args = ["--shards", "1", "--fsync", "always"];
    let mut o = Orbit::start_in(&data, &args);
    let mut c = o.client();
    q(&mut c, &["SET", "before", "ok"]);
    // Fill the file system.
    let filler = disk.mnt.path().join("filler");
    let _ = Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", filler.display()))
        .args(["bs=1M", "count=16"])
        .stderr(Stdio::null())
        .status();
    let big = "x".repeat(300_000);
    // With --fsync always the log keeps a few MiB written ahead of its records, so the first
    // writes after the disk filled may still fit (and are acknowledged, durably). The write that
    // hits the full disk is not acknowledged (error or closed connection)...
    let mut acknowledged = Vec::new();
    let mut refused = None;
    for i in 0..64 {
        match redis::cmd("SET").arg(format!("big{i}")).arg(&big).query::<String>(&mut c) {
            Ok(_) => acknowledged.push(format!("big{i}")),
            Err(e) => {
                refused = Some(e.to_string());
                break;
            }
        }
    }
    let refused = refused.expect("64 writes of 300 kB to a full 8 MiB disk were all acknowledged");
    assert!(refused.contains("MISCONF") && refused.contains("No space left"), "{refused}");
    // ... later writes get -MISCONF, reads keep working.
    let mut c = o.client();
    let err = redis::cmd("SET").arg("small").arg("1").query::<String>(&mut c).unwrap_err();
    assert!(err.to_string().contains("MISCONF") && err.to_string().contains("No space left"), "{err}");
    assert_eq!(redis::cmd("GET").arg("before").query::<String>(&mut c).unwrap(), "ok");
    // Space comes back: the log retries (once a second) and writes are accepted again.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match redis::cmd("SET").arg("after").arg("yes").query::<String>(&mut c) {
            Ok(_) => break,
            Err(e) if e.to_string().contains("MISCONF") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(e) => panic!("writes not accepted again: {e}"),
        }
    }
    drop(c);
    o.terminate(Duration::from_secs(10)).unwrap();
    let o = Orbit::start_in(&data, &args);
    let mut c = o.client();
    assert_eq!(redis::cmd("GET").arg("before").query::<String>(&mut c).unwrap(), "ok");
    assert_eq!(redis::cmd("GET").arg("after").query::<String>(&mut c).unwrap(), "yes");
    for k in &acknowledged {
        assert_eq!(redis::cmd("STRLEN").arg(k).query::<usize>(&mut c).unwrap(), big.len(), "{k} was acknowledged");
    }
    drop(c);
    drop(o);
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// The user the server runs as in the permission test: `nobody` when the test runs as root
/// (root ignores file permissions), else the test's own user.
fn unprivileged_user() -> Option<(u32, u32)> {
    // SAFETY: getuid cannot fail.
    (unsafe { libc::getuid() } == 0).then_some((65534, 65534))
}

#[test]
fn permission_denied_refuses_writes_keeps_reads_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let run_as = unprivileged_user();
    if let Some((uid, gid)) = run_as {
        // The server's user must get into the temp dir and own the data dir.
        chmod(tmp.path(), 0o755);
        let cpath = std::ffi::CString::new(data.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: chown(2) on a path we created.
        assert_eq!(unsafe { libc::chown(cpath.as_ptr(), uid, gid) }, 0, "chown {}", data.display());
    }
    // Small log files, so a roll-over (creating a file in the shard folder) comes soon.
    let args = ["--shards", "1", "--fsync", "always", "--log-file-size", "16kb", "--snapshot-log-size", "0"];
    let mut o = Orbit::start_in_as(&data, &args, run_as);
    let mut c = o.client();
    let value = |i: usize| format!("{i}-{}", "v".repeat(200));
    let mut acked = Vec::new();
    for i in 0..20 {
        q(&mut c, &["SET", &format!("k{i}"), &value(i)]);
        acked.push(i);
    }
    // The shard folder turns read-only: the open log file stays writable, but the next one
    // cannot be created.
    let shard_dir = data.join("shard-0");
    chmod(&shard_dir, 0o555);
    let mut refused = None;
    for i in 20..2000 {
        match redis::cmd("SET").arg(format!("k{i}")).arg(value(i)).query::<String>(&mut c) {
            Ok(_) => acked.push(i),
            Err(e) => {
                refused = Some((i, e.to_string()));
                break;
            }
        }
    }
    let (first_refused, err) = refused.expect("writes kept being acknowledged with the shard folder read-only");
    // The write that hit the error is not acknowledged: it is answered -MISCONF naming the
    // cause (and the connection stays usable); so are the next ones.
    eprintln!("first refused write k{first_refused}: {err}");
    assert!(err.contains("MISCONF") && err.contains("Permission denied"), "{err}");
    let mut c = o.client();
    let err = redis::cmd("SET").arg("refused").arg("1").query::<String>(&mut c).unwrap_err().to_string();
    assert!(err.contains("MISCONF") && err.contains("Permission denied"), "{err}");
    let info: String = redis::cmd("INFO").arg("persistence").query(&mut c).unwrap();
    assert!(info.contains("aof_last_write_status:err"), "{info}");
    // A snapshot cannot be written either, and says why.
    let save = redis::cmd("SAVE").query::<String>(&mut c).unwrap_err().to_string();
    assert!(save.contains("Permission denied"), "{save}");
    // Reads keep working and see every acknowledged write.
    for &i in &acked {
        let v: String = redis::cmd("GET").arg(format!("k{i}")).query(&mut c).unwrap();
        assert_eq!(v, value(i));
    }
    // Permission comes back: the log retries (once a second) and writes are accepted again.
    chmod(&shard_dir, 0o755);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match redis::cmd("SET").arg("after").arg("yes").query::<String>(&mut c) {
            Ok(_) => break,
            Err(e) if e.to_string().contains("MISCONF") && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(e) => panic!("writes not accepted again: {e}"),
        }
    }
    drop(c);
    // SIGKILL: only what the log holds comes back.
    o.restart();
    let mut c = o.client();
    for &i in &acked {
        let v: Option<String> = redis::cmd("GET").arg(format!("k{i}")).query(&mut c).unwrap();
        assert_eq!(v.as_deref(), Some(value(i).as_str()), "acknowledged k{i} lost");
    }
    assert_eq!(redis::cmd("GET").arg("after").query::<String>(&mut c).unwrap(), "yes");
    assert!(acked.len() > 20, "no write was acknowledged before the roll-over failed");
}

/// A field of INFO persistence.
fn persistence_field(c: &mut Conn, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no {field} in {info}"))
}

#[test]
fn changes_since_last_save_reset_by_save_and_bgsave() {
    let o = Orbit::start(&["--shards", "2"]);
    let mut c = o.client();
    let changes = |c: &mut Conn| persistence_field(c, "rdb_changes_since_last_save").parse::<u64>().unwrap();
    assert_eq!(changes(&mut c), 0);
    // Keys over both shards; a command that changes nothing does not count.
    for i in 0..10 {
        q(&mut c, &["SET", &format!("key{i}"), "v"]);
    }
    q(&mut c, &["DEL", "no-such-key"]);
    assert_eq!(changes(&mut c), 10);
    q(&mut c, &["SAVE"]);
    assert_eq!(changes(&mut c), 0);
    q(&mut c, &["SET", "key1", "w"]);
    q(&mut c, &["SADD", "set", "a", "b", "c"]);
    assert_eq!(changes(&mut c), 4);
    q(&mut c, &["BGSAVE"]);
    // BGSAVE replies before the shards' snapshots run: wait for them to complete.
    let deadline = Instant::now() + Duration::from_secs(10);
    while changes(&mut c) != 0 {
        assert!(Instant::now() < deadline, "BGSAVE did not reset rdb_changes_since_last_save");
        std::thread::sleep(Duration::from_millis(20));
    }
    while persistence_field(&mut c, "rdb_bgsave_in_progress") != "0" {
        assert!(Instant::now() < deadline, "BGSAVE did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(persistence_field(&mut c, "rdb_last_bgsave_status"), "ok");
    q(&mut c, &["INCR", "counter"]);
    assert_eq!(changes(&mut c), 1);
}
