//! `maxmemory` enforcement on a shard: before a command that may grow memory runs, keys of this
//! shard are evicted by the configured policy (Redis's approximated LRU: sample a few keys and
//! drop the best candidate) until the process is back under the limit. Work per command is
//! bounded; only if nothing can be evicted does the command get Redis's OOM error.

use crate::state::Shard;
use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Most keys one command evicts before it proceeds (the next commands evict more).
const MAX_EVICTIONS_PER_COMMAND: usize = 128;

/// Keys per shard as last seen by that shard when it was over the limit: lets a shard whose
/// own keyspace is small hand eviction to the shard holding most of the data, so that memory
/// pressure (which is process-wide) does not empty one shard while another stays full.
static SHARD_KEYS: [AtomicUsize; 1024] = [const { AtomicUsize::new(0) }; 1024];

/// Makes room under `maxmemory`. Returns false if the command must be refused (OOM).
pub fn make_room(shard: &mut Shard, used: impl Fn() -> u64) -> bool {
    let lim = shard.limits;
    if lim.maxmemory == 0 || used() <= lim.maxmemory {
        return true;
    }
    if lim.policy == Policy::NoEviction {
        return false;
    }
    let mine = shard.keyspace.total_keys();
    SHARD_KEYS[shard.id % 1024].store(mine, Ordering::Relaxed);
    if shard.count > 1 {
        let (richest, most) = (0..shard.count.min(1024))
            .map(|i| (i, SHARD_KEYS[i].load(Ordering::Relaxed)))
            .max_by_key(|&(_, k)| k)
            .unwrap_or((shard.id, mine));
        if richest != shard.id && mine * 2 < most {
            // Another shard holds most of the data: it evicts, this write proceeds.
            let asked = crate::mesh::try_post(richest, |s| {
                let _ = evict_local(s, &crate::memory::used_bytes);
            });
            if asked {
                return true;
            }
        }
    }
    evict_local(shard, &used)
}

/// Evicts keys of this shard by policy until the process is under the limit (bounded work).
fn evict_local(shard: &mut Shard, used: &dyn Fn() -> u64) -> bool {
    let lim = shard.limits;
    if lim.maxmemory == 0 || lim.policy == Policy::NoEviction {
        return used() <= lim.maxmemory || lim.maxmemory == 0;
    }
    let volatile = matches!(lim.policy, Policy::VolatileLru | Policy::VolatileRandom | Policy::VolatileTtl);
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
        let Some((db, key, _)) = best else {
            // Nothing left to evict here: Redis's EVICT_FAIL, the command gets OOM.
            SHARD_KEYS[shard.id % 1024].store(0, Ordering::Relaxed);
            return used() <= lim.maxmemory;
        };
        shard.keyspace.dbs[db].remove(&key);
        shard.wal.append_delete(db, &key);
        shard.keyspace.dirty += 1;
        shard.stats.evicted_keys += 1;
        if used() <= lim.maxmemory {
            break;
        }
    }
    SHARD_KEYS[shard.id % 1024].store(shard.keyspace.total_keys(), Ordering::Relaxed);
    // Still over after the bounded batch but keys were evicted (a table growth can outweigh
    // one batch): the command proceeds and the next ones evict more, as Redis's
    // EVICT_RUNNING does. Only a shard with nothing to evict refuses (above).
    true
}
