//! `maxmemory` enforcement on a shard: before a command that may grow memory runs, keys of this
//! shard are evicted by the configured policy (Redis's approximated LRU: sample a few keys and
//! drop the best candidate) until the process is back under the limit. Work per command is
//! bounded; if nothing can be evicted the command gets Redis's OOM error.

use crate::state::Shard;
use orbit_engine::keyspace::now_ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    #[default]
    NoEviction,
    AllKeysLru,
    VolatileLru,
    AllKeysRandom,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    pub fn parse(s: &str) -> Option<Policy> {
        Some(match s.to_ascii_lowercase().as_str() {
            "noeviction" => Policy::NoEviction,
            "allkeys-lru" => Policy::AllKeysLru,
            "volatile-lru" => Policy::VolatileLru,
            "allkeys-random" => Policy::AllKeysRandom,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Policy::NoEviction => "noeviction",
            Policy::AllKeysLru => "allkeys-lru",
            Policy::VolatileLru => "volatile-lru",
            Policy::AllKeysRandom => "allkeys-random",
            Policy::VolatileRandom => "volatile-random",
            Policy::VolatileTtl => "volatile-ttl",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// 0: no limit.
    pub maxmemory: u64,
    pub policy: Policy,
    pub samples: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { maxmemory: 0, policy: Policy::NoEviction, samples: 5 }
    }
}

/// Most keys one command may evict before it gives up and fails with OOM.
const MAX_EVICTIONS_PER_COMMAND: usize = 128;

/// Makes room under `maxmemory`. Returns false if the command must be refused (OOM).
pub fn make_room(shard: &mut Shard, used: impl Fn() -> u64) -> bool {
    let lim = shard.limits;
    if lim.maxmemory == 0 || used() <= lim.maxmemory {
        return true;
    }
    if lim.policy == Policy::NoEviction {
        return false;
    }
    let volatile = matches!(lim.policy, Policy::VolatileLru | Policy::VolatileRandom | Policy::VolatileTtl);
    let now = now_ms();
    for _ in 0..MAX_EVICTIONS_PER_COMMAND {
        // Candidates across the databases of this shard.
        let mut best: Option<(usize, orbit_engine::keyspace::Key, u64)> = None;
        for db in 0..shard.keyspace.dbs.len() {
            let cands = shard.keyspace.dbs[db].sample(lim.samples, volatile, &mut shard.rng);
            for (k, e) in cands {
                // Lower score = evict first.
                let score = match lim.policy {
                    Policy::AllKeysLru | Policy::VolatileLru => e.access_s as u64,
                    Policy::VolatileTtl => e.expire_at_ms.unwrap_or(u64::MAX),
                    _ => 0,
                };
                if best.as_ref().is_none_or(|b| score < b.2) {
                    best = Some((db, k, score));
                }
            }
            if best.is_some() && matches!(lim.policy, Policy::AllKeysRandom | Policy::VolatileRandom) {
                break;
            }
        }
        let Some((db, key, _)) = best else { return false };
        shard.keyspace.dbs[db].remove(&key);
        shard.wal.append_delete(db, &key);
        shard.keyspace.dirty += 1;
        shard.stats.evicted_keys += 1;
        let _ = now;
        if used() <= lim.maxmemory {
            return true;
        }
    }
    used() <= lim.maxmemory
}
