//! Active expiry: a per-shard task that samples keys with a deadline and deletes expired ones,
//! as Redis's `activeExpireCycle` does: 20 samples per round, another round while more than a
//! quarter of the samples had expired, at most 16 rounds per database per tick, so one tick's
//! work is bounded and no latency spike follows a mass expiry.

use crate::state;
use orbit_engine::keyspace::now_ms;
use std::time::Duration;

const SAMPLES: usize = 20;
const MAX_ROUNDS: usize = 16;

/// One expiry tick on this shard. Returns the number of keys deleted.
pub fn tick(shard: &mut state::Shard) -> usize {
    let now = now_ms();
    let mut total = 0;
    for db in 0..shard.keyspace.dbs.len() {
        for _ in 0..MAX_ROUNDS {
            let d = &mut shard.keyspace.dbs[db];
            if d.expires_len() == 0 {
                break;
            }
            let (sampled, expired) = d.active_expire(now, SAMPLES, &mut shard.rng);
            total += expired;
            if sampled == 0 || expired * 4 <= sampled {
                break;
            }
        }
    }
    shard.stats.expired_keys += total as u64;
    if total > 0 {
        shard.keyspace.dirty += total as u64;
    }
    total
}

thread_local! {
    /// This shard's ticks per second (Redis's `hz`; CONFIG SET hz changes it on every shard).
    static HZ: std::cell::Cell<u32> = const { std::cell::Cell::new(10) };
}

/// Sets this shard's ticks per second (1 to 500); the next tick waits by it.
pub fn set_hz(hz: u32) {
    HZ.with(|h| h.set(hz.clamp(1, 500)));
}

/// Runs [`tick`] `hz` times a second until shutdown (at the rate [`set_hz`] last set).
pub async fn run(hz: u32) {
    set_hz(hz);
    while !crate::rt::shutdown_requested() {
        let period = Duration::from_millis(1000 / HZ.with(|h| h.get()) as u64);
        crate::rt::sleep(period).await;
        state::with_shard(tick);
    }
}
