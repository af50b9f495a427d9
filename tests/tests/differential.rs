//! Differential test: seeded random command sequences, family by family, run against a real
//! redis-server 7.0 and against Orbit with `--shards 2` and `--shards 1`; every reply must match
//! Redis's (see `orbit_tests::diff` for how replies are compared).
//!
//! CI runs a fixed seed and a bounded count. For longer runs by hand:
//! `ORBIT_DIFF_SEED=<n> ORBIT_DIFF_COMMANDS=<per family> cargo test -p orbit-tests --test differential`.

use orbit_tests::diff::gen::{self, exact, Cmd, Cmp, Gen};
use orbit_tests::diff::Diff;
use orbit_tests::{Orbit, RealRedis};

const DEFAULT_SEED: u64 = 0x0_2b17_d1ff;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// A seed per family, so families can be rerun alone with the same sequence.
fn family_seed(base: u64, name: &str) -> u64 {
    name.bytes().fold(base ^ 0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

fn run(label: &str, family: fn(&mut Gen) -> Cmd, default_count: usize, resp3: bool) {
    let base = env_u64("ORBIT_DIFF_SEED").unwrap_or(DEFAULT_SEED);
    let count = env_u64("ORBIT_DIFF_COMMANDS").map(|c| c as usize).unwrap_or(default_count);
    let seed = family_seed(base, label);
    let redis = RealRedis::start().expect("redis-server must be installed for the differential test");
    let two = Orbit::start(&["--shards", "2"]);
    let one = Orbit::start(&["--shards", "1"]);
    let mut diff =
        Diff::new(label, seed, redis.port, &[("orbit --shards 2", two.port), ("orbit --shards 1", one.port)], resp3);
    let mut g = Gen::new(seed);
    diff.run(&mut g, family, count);
    let ran = diff.finish();
    eprintln!("{label}: {ran} commands matched redis-server (seed {seed})");
}

#[test]
fn strings() {
    run("strings", gen::strings, 5000, false);
}

#[test]
fn keys() {
    run("keys", gen::keys, 5000, false);
}

#[test]
fn bitmaps() {
    run("bitmaps", gen::bitmaps, 5000, false);
}

#[test]
fn hashes() {
    run("hashes", gen::hashes, 5000, false);
}

#[test]
fn lists() {
    run("lists", gen::lists, 5000, false);
}

#[test]
fn sets() {
    run("sets", gen::sets, 5000, false);
}

#[test]
fn zsets() {
    run("zsets", gen::zsets, 6000, false);
}

#[test]
fn hyperloglog() {
    run("hll", gen::hll, 3000, false);
}

#[test]
fn errors() {
    run("errors", gen::errors, 1000, false);
}

/// Every family at once on one key pool: types collide (WRONGTYPE everywhere).
#[test]
fn mixed() {
    run("mixed", gen::mixed, 5000, false);
}

/// MULTI/EXEC/WATCH over keys of both shards.
#[test]
fn transactions() {
    run("transactions", gen::transactions, 1500, false);
}

/// EVAL/EVALSHA/SCRIPT: scripts over declared keys of one or both shards.
#[test]
fn scripting() {
    run("scripting", gen::scripting, 2000, false);
}

/// The same with `HELLO 3`: maps, doubles, sets, nulls and the WITHSCORES pair shapes.
#[test]
fn resp3() {
    run("resp3", gen::mixed, 6000, true);
}

/// Fixed cases for what Redis reads in its own way (C's strtod/strtold/strtoul, long double
/// arithmetic, object encodings that depend on history), compared exactly and in order.
const DIRECTED: &[&[&str]] = &[
    // Timeouts: seconds * 1000 rounded up in a long double; with data present nothing blocks.
    &["RPUSH", "l", "a", "b", "c", "d", "e", "f"],
    &["BLPOP", "l", "-0.0001"],
    &["BLPOP", "l", "0.0001"],
    &["BLPOP", "l", "0x10"],
    &["BLPOP", "l", "+1"],
    &["BLPOP", "l", "1e400"],
    &["BLPOP", "l", "inf"],
    &["BLPOP", "l", "-0.0010001"],
    &["BLPOP", "l", "nan"],
    &["BLPOP", "l", " 1"],
    &["BRPOPLPUSH", "l", "l2", "-0.0001"],
    &["BLMOVE", "l", "l2", "LEFT", "RIGHT", "1e-400"],
    &["BZPOPMIN", "l", "1e400"],
    // SCAN cursors, as strtoul reads them.
    &["MSET", "s1", "1", "s2", "2"],
    &["SCAN", ""],
    &["SCAN", "+0"],
    &["SCAN", "-0"],
    &["SCAN", " 0"],
    &["SCAN", "+"],
    &["SCAN", "0x0"],
    &["SCAN", "18446744073709551616"],
    &["SCAN", "-1", "COUNT", "0"],
    &["SCAN", "18446744073709551615", "MATCH"],
    &["HSCAN", "nohash", "+0", "COUNT", "0"],
    &["SSCAN", "noset", "x"],
    // Floats: hex, overflow, underflow, subnormals.
    &["SET", "f", "0x10"],
    &["INCRBYFLOAT", "f", "1"],
    &["INCRBYFLOAT", "f", "0x1p-2"],
    &["INCRBYFLOAT", "f", "0.1"],
    &["INCRBYFLOAT", "f", "-2.25"],
    &["INCRBYFLOAT", "f", "1e400"],
    &["INCRBYFLOAT", "f", "1e5000"],
    &["INCRBYFLOAT", "f", "1e-400"],
    &["INCRBYFLOAT", "f", "-1e400"],
    &["SET", "f", "9223372036854775807"],
    &["INCRBYFLOAT", "f", "1.5"],
    &["HSET", "h", "f", "1.7976931348623157e308"],
    &["HINCRBYFLOAT", "h", "f", "1.7976931348623157e308"],
    &["HINCRBYFLOAT", "h", "g", "0x10"],
    &["HINCRBYFLOAT", "h", "g", "1e-4940"],
    &["ZADD", "z", "0x10", "a", "1e-310", "b", "-0", "c"],
    &["ZADD", "z", "1e400", "d"],
    &["ZADD", "z", "1e-400", "d"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &["ZRANGEBYSCORE", "z", "1e400", "inf"],
    &["ZRANGEBYSCORE", "z", " 1", "0x20", "WITHSCORES"],
    &["ZCOUNT", "z", "(0x10", "+inf"],
    // Object encodings follow the value's history, as in Redis.
    &["SET", "e", "abc"],
    &["OBJECT", "ENCODING", "e"],
    &["APPEND", "e", ""],
    &["OBJECT", "ENCODING", "e"],
    &["SET", "n", "123"],
    &["OBJECT", "ENCODING", "n"],
    &["OBJECT", "REFCOUNT", "n"],
    &["INCRBYFLOAT", "n", "1"],
    &["OBJECT", "ENCODING", "n"],
    &["INCR", "n"],
    &["OBJECT", "REFCOUNT", "n"],
    &["SET", "big", "12345678901"],
    &["OBJECT", "REFCOUNT", "big"],
    &["COPY", "n", "n2"],
    &["OBJECT", "REFCOUNT", "n2"],
    &["SETRANGE", "sr", "0", "1"],
    &["OBJECT", "ENCODING", "sr"],
    &["SETBIT", "sb", "1", "1"],
    &["OBJECT", "ENCODING", "sb"],
    &["HSET", "hh", "a", "1"],
    &["HSET", "hh", "b", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"],
    &["HDEL", "hh", "b"],
    &["OBJECT", "ENCODING", "hh"],
    &["SADD", "ss", "1", "2", "x"],
    &["SREM", "ss", "x"],
    &["OBJECT", "ENCODING", "ss"],
    &["SDIFFSTORE", "sd", "ss", "nosuch"],
    &["OBJECT", "ENCODING", "sd"],
    &["OBJECT", "FREQ", "n"],
    &["OBJECT", "ENCODING"],
    &["OBJECT", "NOPE", "n"],
    &["OBJECT", "HELP", "extra"],
    // Counts read by getPositiveLongFromObjectOrReply.
    &["SADD", "pos", "a"],
    &["SPOP", "pos", "abc"],
    &["ZPOPMIN", "z", "-1"],
    &["LPOP", "l", "abc"],
    // SET/GETEX options: the same expire option may repeat (the last wins), and an option's
    // argument may look like another option.
    &["SET", "o", "a", "EX", "GET", "EX", "10392"],
    &["SET", "o", "a", "EX", "100", "EX", "200"],
    &["TTL", "o"],
    &["SET", "o", "a", "PX", "GET", "EX", "100"],
    &["SET", "o", "a", "EX", "NX", "EX", "10"],
    &["SET", "o", "a", "EX", "GET"],
    &["GETEX", "o", "EX", "PERSIST", "EX", "10"],
    &["GETEX", "o", "PERSIST", "PERSIST"],
    &["SET", "o", "a", "KEEPTTL", "KEEPTTL", "NX", "NX", "GET", "GET"],
    // LPOS RANK LONG_MIN (Redis 7.0 negates it in a long).
    &["RPUSH", "lp", "a", "b", "a", "c", "a"],
    &["LPOS", "lp", "a", "RANK", "-9223372036854775808"],
    &["LPOS", "lp", "a", "RANK", "-9223372036854775808", "COUNT", "1"],
    &["LPOS", "lp", "a", "RANK", "-9223372036854775808", "COUNT", "1", "MAXLEN", "2"],
    // A valid sparse HyperLogLog with a junk opcode appended (runs past the last register).
    &["PFADD", "hl", "0x10", "1"],
    &["APPEND", "hl", "\u{c0}"],
    &["PFCOUNT", "hl"],
    &["PFMERGE", "hm", "hl"],
    &["PFADD", "hl", "x"],
    // GETEX looks the key up before it validates the expire time.
    &["GETEX", "missing", "PXAT", "0"],
    &["GETEX", "l", "EX", "-1"],
    &["GETEX", "s1", "EX", "-1"],
    // Unknown commands quote arguments as C strings, cut at 128 bytes.
    &["NOSUCHCOMMAND", "a\u{0}b", "\u{e9}t\u{e9}"],
];

fn directed_cases() -> Vec<Cmd> {
    DIRECTED
        .iter()
        .map(|c| {
            let mut cmd = exact(c.iter().map(|a| a.as_bytes().to_vec()).collect());
            if c[0].ends_with("SCAN") {
                // Several shards answer SCAN in several pages.
                cmd.cmp = Cmp::ScanPage;
            }
            cmd
        })
        .collect()
}

#[test]
fn directed() {
    for resp3 in [false, true] {
        let redis = RealRedis::start().expect("redis-server must be installed for the differential test");
        let two = Orbit::start(&["--shards", "2"]);
        let one = Orbit::start(&["--shards", "1"]);
        let label = if resp3 { "directed-resp3" } else { "directed" };
        let mut diff =
            Diff::new(label, 0, redis.port, &[("orbit --shards 2", two.port), ("orbit --shards 1", one.port)], resp3);
        for c in directed_cases() {
            diff.check(&c);
        }
        diff.finish();
    }
}
