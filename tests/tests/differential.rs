//! Differential test: seeded random command sequences, family by family, run against a real
//! redis-server 7.0 and against Orbit with `--shards 2` and `--shards 1`; every reply must match
//! Redis's (see `orbit_tests::diff` for how replies are compared).
//!
//! CI runs a fixed seed and a bounded count. For longer runs by hand:
//! `ORBIT_DIFF_SEED=<n> ORBIT_DIFF_COMMANDS=<per family> cargo test -p orbit-tests --test differential`.

use orbit_tests::diff::gen::{self, Cmd, Gen};
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
    let mut g = Gen::new(seed, resp3);
    diff.run(&mut g, family, count);
    let ran = diff.finish();
    eprintln!("{label}: {ran} commands matched redis-server (seed {seed})");
}

#[test]
fn strings() {
    run("strings", gen::strings, 3000, false);
}

#[test]
fn keys() {
    run("keys", gen::keys, 3000, false);
}

#[test]
fn bitmaps() {
    run("bitmaps", gen::bitmaps, 3000, false);
}

#[test]
fn hashes() {
    run("hashes", gen::hashes, 3000, false);
}

#[test]
fn lists() {
    run("lists", gen::lists, 3000, false);
}

#[test]
fn sets() {
    run("sets", gen::sets, 3000, false);
}

#[test]
fn zsets() {
    run("zsets", gen::zsets, 4000, false);
}

#[test]
fn hyperloglog() {
    run("hll", gen::hll, 2000, false);
}

#[test]
fn errors() {
    run("errors", gen::errors, 1000, false);
}

/// Every family at once on one key pool: types collide (WRONGTYPE everywhere).
#[test]
fn mixed() {
    run("mixed", gen::mixed, 3000, false);
}

/// The same with `HELLO 3`: maps, doubles, sets, nulls and the WITHSCORES pair shapes.
#[test]
fn resp3() {
    run("resp3", gen::mixed, 4000, true);
}
