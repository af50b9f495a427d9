//! Atomicity of operations that span shards, checked by invariants that any partial write would
//! break. Orbit runs with several shards; writer threads move amounts between accounts (keys
//! spread over every shard) inside MULTI/EXEC, with WATCH-based check-and-set, and overwrite a
//! group of keys with one MSET, and run Lua scripts that read and write two accounts; reader threads check, on every read, that the accounts still
//! sum to their starting total (MGET, and GETs inside MULTI/EXEC) and that the group's keys all
//! hold the same value (MGET). A reader that ever sees half of a transaction fails the test.
//!
//! Bounded for CI; for longer runs by hand:
//! `ORBIT_ATOMIC_ROUNDS=50 ORBIT_ATOMIC_OPS=20000 cargo test -p orbit-tests --test atomicity`.

use orbit_tests::{key_slot, Orbit};
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

const ACCOUNTS: usize = 16;
const START: i64 = 100;
const GROUP: usize = 8;

/// Moves ARGV[1] from KEYS[1] to KEYS[2] with plain reads and writes: only atomicity keeps the
/// sum.
const TRANSFER: &str = "local a = tonumber(redis.call('GET', KEYS[1])); \
    local b = tonumber(redis.call('GET', KEYS[2])); \
    redis.call('SET', KEYS[1], a - ARGV[1]); redis.call('SET', KEYS[2], b + ARGV[1]); return a + b";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn accounts() -> Vec<String> {
    (0..ACCOUNTS).map(|i| format!("acct:{i}")).collect()
}

fn group() -> Vec<String> {
    (0..GROUP).map(|i| format!("group:{i}")).collect()
}

/// One writer: transfers inside MULTI/EXEC, optimistic transfers with WATCH, group MSETs.
fn writer(url: String, seed: u64, ops: usize, cas_aborts: Arc<AtomicU64>) {
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let accts = accounts();
    for op in 0..ops {
        let a = &accts[rng.gen_range(0..ACCOUNTS)];
        let b = &accts[rng.gen_range(0..ACCOUNTS)];
        let amount: i64 = rng.gen_range(1..20);
        match rng.gen_range(0..10) {
            0..=4 => {
                let _: (i64, i64) = redis::pipe().atomic().decr(a, amount).incr(b, amount).query(&mut c).unwrap();
            }
            5 if a != b => {
                // A script reading and writing keys of both shards.
                let _: i64 = redis::cmd("EVAL").arg(TRANSFER).arg(2).arg(a).arg(b).arg(amount).query(&mut c).unwrap();
            }
            5..=7 => {
                // Check-and-set: read both, write both only if neither changed meanwhile.
                let _: () = redis::cmd("WATCH").arg(a).arg(b).query(&mut c).unwrap();
                let (va, vb): (i64, i64) = redis::cmd("MGET").arg(a).arg(b).query(&mut c).unwrap();
                let r: Option<((), ())> = if a == b {
                    redis::pipe().atomic().set(a, va).set(b, vb).query(&mut c).unwrap()
                } else {
                    redis::pipe().atomic().set(a, va - amount).set(b, vb + amount).query(&mut c).unwrap()
                };
                if r.is_none() {
                    cas_aborts.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => {
                let v = format!("{seed}-{op}");
                let mut cmd = redis::cmd("MSET");
                for k in group() {
                    cmd.arg(k).arg(&v);
                }
                let _: () = cmd.query(&mut c).unwrap();
            }
        }
    }
}

/// One reader: every observation must satisfy both invariants. Returns how many reads it made.
fn reader(url: String, stop: Arc<AtomicBool>) -> u64 {
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    let accts = accounts();
    let grp = group();
    let mut reads = 0u64;
    let mut turn = 0u64;
    while !stop.load(Ordering::Relaxed) {
        turn += 1;
        match turn % 3 {
            0 => {
                let v: Vec<i64> = redis::cmd("MGET").arg(&accts).query(&mut c).unwrap();
                let sum: i64 = v.iter().sum();
                assert_eq!(sum, START * ACCOUNTS as i64, "MGET saw a partial transfer: {v:?}");
            }
            1 => {
                let mut p = redis::pipe();
                p.atomic();
                for k in &accts {
                    p.get(k);
                }
                let v: Vec<i64> = p.query(&mut c).unwrap();
                let sum: i64 = v.iter().sum();
                assert_eq!(sum, START * ACCOUNTS as i64, "GETs inside MULTI/EXEC saw a partial transfer: {v:?}");
            }
            _ => {
                let v: Vec<Option<String>> = redis::cmd("MGET").arg(&grp).query(&mut c).unwrap();
                assert!(v.windows(2).all(|w| w[0] == w[1]), "MGET saw a partial MSET: {v:?}");
            }
        }
        reads += 1;
    }
    reads
}

#[test]
fn cross_shard_transactions_keep_invariants() {
    let rounds = env_usize("ORBIT_ATOMIC_ROUNDS", 3);
    let ops = env_usize("ORBIT_ATOMIC_OPS", 1500);
    let o = Orbit::start(&["--shards", "2"]);
    let mut c = o.client();
    // The accounts and the group must really span the shards for the test to mean anything.
    for keys in [accounts(), group()] {
        let shards: std::collections::BTreeSet<u16> = keys.iter().map(|k| key_slot(k.as_bytes()) % 2).collect();
        assert_eq!(shards.len(), 2, "{keys:?} should spread over both shards");
    }
    for round in 0..rounds {
        let mut init = redis::cmd("MSET");
        for k in accounts() {
            init.arg(k).arg(START);
        }
        for k in group() {
            init.arg(k).arg("init");
        }
        let _: () = init.query(&mut c).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let aborts = Arc::new(AtomicU64::new(0));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (url, stop) = (o.url(), stop.clone());
                std::thread::spawn(move || reader(url, stop))
            })
            .collect();
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let (url, aborts) = (o.url(), aborts.clone());
                std::thread::spawn(move || writer(url, (round * 10 + w) as u64, ops, aborts))
            })
            .collect();
        let mut failed = None;
        for w in writers {
            if let Err(e) = w.join() {
                failed = Some(e);
            }
        }
        stop.store(true, Ordering::Relaxed);
        let mut reads = 0;
        for r in readers {
            match r.join() {
                Ok(n) => reads += n,
                Err(e) => failed = Some(e),
            }
        }
        if let Some(e) = failed {
            std::panic::resume_unwind(e);
        }
        let v: Vec<i64> = redis::cmd("MGET").arg(accounts()).query(&mut c).unwrap();
        assert_eq!(v.iter().sum::<i64>(), START * ACCOUNTS as i64);
        eprintln!(
            "round {round}: {} writes, {reads} checked reads, {} check-and-set aborts",
            4 * ops,
            aborts.load(Ordering::Relaxed)
        );
    }
}

/// Two keys on different shards (by Orbit's slot mod 2 rule).
fn keys_on_two_shards() -> (String, String) {
    let mut a = None;
    let mut b = None;
    for i in 0.. {
        let k = format!("bl:{i}");
        match key_slot(k.as_bytes()) % 2 {
            0 if a.is_none() => a = Some(k),
            1 if b.is_none() => b = Some(k),
            _ => {}
        }
        if let (Some(a), Some(b)) = (&a, &b) {
            return (a.clone(), b.clone());
        }
    }
    unreachable!()
}

fn blocked_clients(c: &mut redis::Connection) -> usize {
    let info: String = redis::cmd("INFO").arg("clients").query(c).unwrap();
    info.lines().find_map(|l| l.strip_prefix("blocked_clients:")).unwrap().trim().parse().unwrap()
}

/// Starts `BLPOP keys.. 10` on its own connection once `before` clients are blocked, and waits
/// until it is blocked too.
fn park(o: &Orbit, ctl: &mut redis::Connection, keys: &[&str]) -> std::thread::JoinHandle<Option<(String, String)>> {
    let before = blocked_clients(ctl);
    let url = o.url();
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    let h = std::thread::spawn(move || {
        let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
        redis::cmd("BLPOP").arg(&keys).arg(10).query(&mut c).unwrap()
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while blocked_clients(ctl) <= before {
        assert!(std::time::Instant::now() < deadline, "client did not block");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    h
}

/// Clients blocked on keys of several shards are served one element each, oldest first, and a
/// wake-up absorbed by a client that was served from another key is passed on.
#[test]
fn blocking_pops_across_shards_keep_arrival_order_and_lose_no_wakeup() {
    let o = Orbit::start(&["--shards", "2"]);
    let mut ctl = o.client();
    let (ka, kb) = keys_on_two_shards();
    for round in 0..5 {
        // Both keys get an element at once: the client parked on both takes one, the client
        // parked only on kb must still be woken for the other.
        let both = park(&o, &mut ctl, &[&ka, &kb]);
        let only_b = park(&o, &mut ctl, &[&kb]);
        let _: ((), ()) =
            redis::pipe().rpush(&ka, "1").ignore().rpush(&kb, "2").ignore().query(&mut ctl).unwrap_or(((), ()));
        assert_eq!(both.join().unwrap(), Some((ka.clone(), "1".into())), "round {round}");
        assert_eq!(only_b.join().unwrap(), Some((kb.clone(), "2".into())), "round {round}");

        // Arrival order across shards: c1 and c3 wait on both keys, c2 only on kb.
        let c1 = park(&o, &mut ctl, &[&ka, &kb]);
        let c2 = park(&o, &mut ctl, &[&kb]);
        let c3 = park(&o, &mut ctl, &[&ka, &kb]);
        let _: i64 = redis::cmd("RPUSH").arg(&kb).arg("x").query(&mut ctl).unwrap();
        assert_eq!(c1.join().unwrap(), Some((kb.clone(), "x".into())), "oldest waiter on kb first");
        let _: i64 = redis::cmd("RPUSH").arg(&kb).arg("y").query(&mut ctl).unwrap();
        assert_eq!(c2.join().unwrap(), Some((kb.clone(), "y".into())));
        let _: i64 = redis::cmd("RPUSH").arg(&ka).arg("z").query(&mut ctl).unwrap();
        assert_eq!(c3.join().unwrap(), Some((ka.clone(), "z".into())));
        let left: i64 = redis::cmd("EXISTS").arg(&ka).arg(&kb).query(&mut ctl).unwrap();
        assert_eq!(left, 0, "every element went to exactly one client");
    }
}
