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

/// Runs [`tick`] `hz` times a second until shutdown.
pub async fn run(hz: u32) {
    let period = Duration::from_millis(1000 / hz.clamp(1, 500) as u64);
    while !crate::rt::shutdown_requested() {
        crate::rt::sleep(period).await;
        state::with_shard(tick);
    }
}
