//! Multi-version reads for snapshot isolation (REPEATABLE READ).
//!
//! Every commit step on a shard takes a commit timestamp from one process-wide clock
//! ([`tick`]); a REPEATABLE READ transaction takes a snapshot ([`Snapshot::take`]): the clock's
//! value at that moment. A table keeps, next to each row's latest committed version, the
//! versions that commits replaced ([`super::Table`]'s history), but only while some snapshot
//! may still need them: a version replaced at timestamp `ts` is kept only when a snapshot older
//! than `ts` exists or is being taken ([`keeps`]), and dropped once every snapshot is at least
//! `ts` ([`horizon`]). Without REPEATABLE READ transactions nothing is kept, and a commit pays
//! one atomic add and two atomic loads.
//!
//! The clock, the snapshot registry and its two counters are the only state shared between
//! shards here; the registry's mutex is taken only when a REPEATABLE READ transaction starts or
//! ends, never by a commit or a read. Why a commit needs no more: a shard applies its part of a
//! commit in one step on its own thread (one timestamp for the whole step), and a reader's read
//! of that shard runs on the same thread, before or after the step, never inside it. The query
//! layer takes a snapshot only while no commit spanning shards is half applied (it takes
//! shared intents on every shard first), so a snapshot sees all or none of such a commit.
//!
//! Memory: a table keeps at most [`MAX_VERSIONS`] replaced versions per shard; beyond, the oldest
//! go, and snapshots older than them fail with "snapshot too old" (PostgreSQL's
//! `old_snapshot_threshold` error, SQLSTATE 72000) rather than read a wrong version.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

/// Replaced versions one table keeps per shard before the oldest are dropped.
pub const MAX_VERSIONS: usize = 1 << 20;

/// The last commit timestamp handed out.
static CLOCK: AtomicU64 = AtomicU64::new(0);
/// Snapshots being taken right now (between reading the clock and registering).
static TAKING: AtomicUsize = AtomicUsize::new(0);
/// The oldest registered snapshot (u64::MAX: none).
static OLDEST: AtomicU64 = AtomicU64::new(u64::MAX);
/// Registered snapshots: timestamp -> how many transactions hold it.
static ACTIVE: Mutex<BTreeMap<u64, usize>> = Mutex::new(BTreeMap::new());

/// A fresh commit timestamp, larger than every one before: one per commit step on a shard.
pub fn tick() -> u64 {
    CLOCK.fetch_add(1, SeqCst) + 1
}

/// Whether the versions a commit at `ts` replaces must be kept: some snapshot older than `ts`
/// exists, or one is being taken (it may turn out older).
pub fn keeps(ts: u64) -> bool {
    TAKING.load(SeqCst) > 0 || OLDEST.load(SeqCst) < ts
}

/// Versions replaced at a timestamp up to this one are needed by no snapshot (0 while a
/// snapshot is being taken: keep everything).
pub fn horizon() -> u64 {
    if TAKING.load(SeqCst) > 0 {
        return 0;
    }
    OLDEST.load(SeqCst)
}

fn registry() -> std::sync::MutexGuard<'static, BTreeMap<u64, usize>> {
    // The map stays consistent even if a holder panicked: recover it.
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A registered snapshot: reads at it see the commits with timestamps up to [`Snapshot::at`].
/// Dropping it unregisters it.
#[derive(Debug)]
pub struct Snapshot {
    at: u64,
}

impl Snapshot {
    /// Takes a snapshot of everything committed so far (the caller makes sure no commit
    /// spanning shards is half applied).
    pub fn take() -> Snapshot {
        TAKING.fetch_add(1, SeqCst);
        let at = CLOCK.load(SeqCst);
        {
            let mut active = registry();
            *active.entry(at).or_insert(0) += 1;
            OLDEST.store(*active.keys().next().expect("just added"), SeqCst);
        }
        TAKING.fetch_sub(1, SeqCst);
        Snapshot { at }
    }

    pub fn at(&self) -> u64 {
        self.at
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let mut active = registry();
        if let Some(n) = active.get_mut(&self.at) {
            *n -= 1;
            if *n == 0 {
                active.remove(&self.at);
            }
        }
        OLDEST.store(active.keys().next().copied().unwrap_or(u64::MAX), SeqCst);
    }
}

/// A read at a snapshot whose versions were dropped (more than [`MAX_VERSIONS`] changes since).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooOld;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_kept_only_for_older_snapshots() {
        let s = Snapshot::take();
        let ts = tick();
        assert!(ts > s.at());
        assert!(keeps(ts));
        assert!(horizon() <= s.at());
        drop(s);
    }
}
