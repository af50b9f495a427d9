//! Ordering of operations that span shards, in the manner of VLL (Ren, Thomson, Abadi) as
//! Dragonfly uses it: a coordinator takes a transaction id from one process-wide counter, every
//! shard the transaction touches queues it in id order and records intent locks on its keys
//! (shared for reads, exclusive for writes, keyed by a fingerprint of db and key, or the whole
//! shard for FLUSHALL-like work). A transaction is *armed* on a shard once no earlier queued
//! transaction there conflicts with it; the coordinator runs its body only when it is armed on
//! every shard it touches, then releases it everywhere.
//!
//! Deadlock freedom: conflicting transactions arm in id order on every shard. A transaction whose
//! id is older than a conflicting transaction already armed on a shard is refused there (it
//! would have to overtake it); its coordinator withdraws it everywhere and retries with a fresh,
//! larger id.
//!
//! Single-shard commands never enter the queue while their keys are free: `blocks` is one
//! emptiness test when nothing is queued. A command whose keys are locked goes through the
//! queue as a one-shard transaction, so it runs after the transactions that hold them.

use crate::{mesh, ShardId};
use futures::channel::oneshot;
use orbit_engine::keyspace::Key;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

pub type TxId = u64;

static NEXT_TX: AtomicU64 = AtomicU64::new(1);

/// A fresh transaction id, larger than every id handed out before.
pub fn next_id() -> TxId {
    NEXT_TX.fetch_add(1, Ordering::Relaxed)
}

/// Makes every id handed out from now on larger than `seen` (at start-up: the largest
/// transaction id the recovered logs name, so a logged two-phase commit decision never matches
/// a transaction of this run).
pub fn note_id_seen(seen: TxId) {
    NEXT_TX.fetch_max(seen.saturating_add(1), Ordering::Relaxed);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Shared,
    Exclusive,
}

impl Mode {
    fn conflicts(self, other: Mode) -> bool {
        self == Mode::Exclusive || other == Mode::Exclusive
    }
}

/// Fingerprint of (db, key): two keys with the same fingerprint merely conflict needlessly.
pub fn fingerprint(db: usize, key: &[u8]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    db.hash(&mut h);
    key.hash(&mut h);
    h.finish()
}

/// What a transaction locks on one shard.
#[derive(Debug, Clone, Default)]
pub struct Intent {
    /// Key fingerprints and modes, sorted and deduplicated (exclusive wins).
    keys: Vec<(u64, Mode)>,
    /// The whole shard (every key of every db).
    whole: Option<Mode>,
}

impl Intent {
    pub fn add_key(&mut self, db: usize, key: &[u8], mode: Mode) {
        self.keys.push((fingerprint(db, key), mode));
    }

    pub fn whole(&mut self, mode: Mode) {
        self.whole = Some(self.whole.map_or(mode, |m| m.max(mode)));
    }

    /// Adds every lock of `other`.
    pub fn absorb(&mut self, other: Intent) {
        self.keys.extend(other.keys);
        if let Some(w) = other.whole {
            self.whole(w);
        }
    }

    /// Sorts and merges duplicate keys; call once all keys are added.
    pub fn seal(mut self) -> Intent {
        self.keys.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        self.keys.dedup_by_key(|k| k.0);
        self
    }

    fn conflicts(&self, other: &Intent) -> bool {
        if let Some(w) = self.whole {
            if other.whole.is_some_and(|o| w.conflicts(o)) || other.keys.iter().any(|&(_, m)| w.conflicts(m)) {
                return true;
            }
        }
        if let Some(w) = other.whole {
            if self.keys.iter().any(|&(_, m)| w.conflicts(m)) {
                return true;
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < self.keys.len() && j < other.keys.len() {
            let (a, b) = (self.keys[i], other.keys[j]);
            match a.0.cmp(&b.0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    if a.1.conflicts(b.1) {
                        return true;
                    }
                    i += 1;
                    j += 1;
                }
            }
        }
        false
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    shared: u32,
    exclusive: u32,
}

impl Counts {
    fn add(&mut self, m: Mode, d: i32) {
        let c = match m {
            Mode::Shared => &mut self.shared,
            Mode::Exclusive => &mut self.exclusive,
        };
        *c = c.checked_add_signed(d).expect("lock count never goes below zero");
    }

    fn blocks(&self, write: bool) -> bool {
        self.exclusive > 0 || (write && self.shared > 0)
    }

    fn is_zero(&self) -> bool {
        self.shared == 0 && self.exclusive == 0
    }
}

struct Queued {
    intent: Intent,
    armed: bool,
    on_armed: Option<oneshot::Sender<()>>,
}

/// Why a shard refused to queue a transaction.
#[derive(Debug)]
pub struct Refused;

/// One shard's transaction queue and intent locks.
#[derive(Default)]
pub struct TxQueue {
    queue: BTreeMap<TxId, Queued>,
    locks: HashMap<u64, Counts>,
    whole: Counts,
    /// Transactions queued since start (for INFO / metrics).
    pub scheduled_total: u64,
    /// Refusals that sent a coordinator back for a fresh id.
    pub refused_total: u64,
}

impl TxQueue {
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether a command touching `keys` (reading, or writing when `write`) must wait for a
    /// queued transaction. `keys` yields (db, key).
    pub fn blocks<'a>(&self, write: bool, mut keys: impl Iterator<Item = (usize, &'a [u8])>) -> bool {
        if self.queue.is_empty() {
            return false;
        }
        if self.whole.blocks(write) {
            return true;
        }
        keys.any(|(db, k)| self.locks.get(&fingerprint(db, k)).is_some_and(|c| c.blocks(write)))
    }

    /// Whether a command that touches every key of the shard must wait.
    pub fn blocks_whole(&self, write: bool) -> bool {
        if self.queue.is_empty() {
            return false;
        }
        self.whole.blocks(write) || self.locks.values().any(|c| c.blocks(write))
    }

    /// Queues transaction `id`. Returns a receiver that fires once it is armed here (at once
    /// when nothing earlier conflicts), or `Refused` when a later conflicting transaction is
    /// already armed.
    pub fn schedule(&mut self, id: TxId, intent: Intent) -> Result<oneshot::Receiver<()>, Refused> {
        if self.queue.range(id + 1..).any(|(_, q)| q.armed && q.intent.conflicts(&intent)) {
            self.refused_total += 1;
            return Err(Refused);
        }
        self.add_locks(&intent, 1);
        let (tx, rx) = oneshot::channel();
        self.queue.insert(id, Queued { intent, armed: false, on_armed: Some(tx) });
        self.scheduled_total += 1;
        self.promote();
        Ok(rx)
    }

    /// Removes transaction `id` (done, or withdrawn) and arms whatever it held back.
    pub fn release(&mut self, id: TxId) {
        if let Some(q) = self.queue.remove(&id) {
            self.add_locks(&q.intent, -1);
            self.promote();
        }
    }

    fn add_locks(&mut self, intent: &Intent, d: i32) {
        if let Some(w) = intent.whole {
            self.whole.add(w, d);
        }
        for &(fp, m) in &intent.keys {
            let c = self.locks.entry(fp).or_default();
            c.add(m, d);
            if c.is_zero() {
                self.locks.remove(&fp);
            }
        }
    }

    /// Arms every queued transaction that no earlier queued transaction conflicts with.
    fn promote(&mut self) {
        let mut earlier: Vec<&Intent> = Vec::new();
        let mut to_arm = Vec::new();
        for (&id, q) in &self.queue {
            if !q.armed && !earlier.iter().any(|e| e.conflicts(&q.intent)) {
                to_arm.push(id);
            }
            earlier.push(&q.intent);
        }
        for id in to_arm {
            if let Some(q) = self.queue.get_mut(&id) {
                q.armed = true;
                if let Some(tx) = q.on_armed.take() {
                    let _ = tx.send(());
                }
            }
        }
    }
}

/// A transaction armed on every shard it touches. Release it with [`Held::release`] once its
/// body has run; dropping it releases too (from a spawned task).
pub struct Held {
    id: TxId,
    shards: Vec<ShardId>,
}

impl Held {
    /// Takes charge of transaction `id`, queued by the caller on `shards`.
    pub fn new(id: TxId, shards: Vec<ShardId>) -> Held {
        Held { id, shards }
    }

    pub fn id(&self) -> TxId {
        self.id
    }

    pub async fn release(mut self) {
        let id = self.id;
        for s in std::mem::take(&mut self.shards) {
            let _ = mesh::post(s, move |sh| sh.tx.release(id)).await;
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.shards.is_empty() {
            return;
        }
        let (id, shards) = (self.id, std::mem::take(&mut self.shards));
        crate::rt::spawn(async move {
            for s in shards {
                let _ = mesh::post(s, move |sh| sh.tx.release(id)).await;
            }
        });
    }
}

/// Queues a transaction on every shard of `intents` and waits until it is armed on all of them.
/// A refusal anywhere withdraws it everywhere and retries with a fresh id.
pub async fn acquire(intents: Vec<(ShardId, Intent)>) -> crate::Result<Held> {
    loop {
        let id = next_id();
        let futs = intents.iter().map(|(s, i)| {
            let i = i.clone();
            mesh::run_on(*s, move |sh| sh.tx.schedule(id, i))
        });
        let results = futures::future::join_all(futs).await;
        let mut held = Held { id, shards: Vec::with_capacity(intents.len()) };
        let mut waits = Vec::with_capacity(intents.len());
        let (mut refused, mut failed) = (false, None);
        for ((s, _), r) in intents.iter().zip(results) {
            match r {
                Ok(Ok(rx)) => {
                    held.shards.push(*s);
                    waits.push(rx);
                }
                Ok(Err(Refused)) => refused = true,
                Err(e) => failed = Some(e),
            }
        }
        if let Some(e) = failed {
            held.release().await;
            return Err(e);
        }
        if refused {
            held.release().await;
            crate::rt::yield_once().await;
            continue;
        }
        for w in waits {
            // The sender lives in the shard's queue until we release: it cannot be dropped first.
            let _ = w.await;
        }
        return Ok(held);
    }
}

/// WATCHed keys on one shard and the clients whose watch a write has broken.
#[derive(Default)]
pub struct Watches {
    by_key: HashMap<(usize, Key), Vec<u64>>,
    touched: HashSet<u64>,
}

impl Watches {
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    pub fn watch(&mut self, client: u64, db: usize, key: Key) {
        let v = self.by_key.entry((db, key)).or_default();
        if !v.contains(&client) {
            v.push(client);
        }
    }

    /// A write changed (db, key): every client watching it will see EXEC fail.
    pub fn touch(&mut self, db: usize, key: &[u8]) {
        if self.by_key.is_empty() {
            return;
        }
        // Looking up by (db, Key) needs an owned key: a copy, only while some key is watched.
        if let Some(clients) = self.by_key.get(&(db, Key::copy_from_slice(key))) {
            self.touched.extend(clients.iter().copied());
        }
    }

    /// The watched (db, key) pairs.
    pub fn keys(&self) -> impl Iterator<Item = &(usize, Key)> {
        self.by_key.keys()
    }

    pub fn is_touched(&self, client: u64) -> bool {
        self.touched.contains(&client)
    }

    /// Drops the watches of `client` on the given keys (EXEC, DISCARD, UNWATCH, disconnect).
    pub fn unwatch(&mut self, client: u64, keys: &[(usize, Key)]) {
        for k in keys {
            if let Some(v) = self.by_key.get_mut(k) {
                v.retain(|&c| c != client);
                if v.is_empty() {
                    self.by_key.remove(k);
                }
            }
        }
        self.touched.remove(&client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(keys: &[(&str, Mode)]) -> Intent {
        let mut i = Intent::default();
        for (k, m) in keys {
            i.add_key(0, k.as_bytes(), *m);
        }
        i.seal()
    }

    fn armed(rx: &mut oneshot::Receiver<()>) -> bool {
        matches!(rx.try_recv(), Ok(Some(())))
    }

    #[test]
    fn conflicting_transactions_arm_in_id_order() {
        let mut q = TxQueue::default();
        let mut a = q.schedule(1, intent(&[("k", Mode::Exclusive)])).unwrap();
        let mut b = q.schedule(2, intent(&[("k", Mode::Shared)])).unwrap();
        let mut c = q.schedule(3, intent(&[("other", Mode::Exclusive)])).unwrap();
        assert!(armed(&mut a));
        assert!(!armed(&mut b));
        assert!(armed(&mut c), "no conflict: arms at once");
        assert!(q.blocks(false, [(0usize, &b"k"[..])].into_iter()));
        assert!(!q.blocks(false, [(0usize, &b"free"[..])].into_iter()));
        q.release(1);
        assert!(armed(&mut b));
        assert!(q.blocks(true, [(0usize, &b"k"[..])].into_iter()), "shared lock blocks writers");
        assert!(!q.blocks(false, [(0usize, &b"k"[..])].into_iter()), "and not readers");
        q.release(2);
        q.release(3);
        assert!(q.is_idle());
        assert!(q.locks.is_empty());
    }

    #[test]
    fn older_transaction_cannot_overtake_an_armed_one() {
        let mut q = TxQueue::default();
        let _b = q.schedule(5, intent(&[("k", Mode::Exclusive)])).unwrap();
        assert!(q.schedule(4, intent(&[("k", Mode::Shared)])).is_err());
        assert!(q.schedule(3, intent(&[("j", Mode::Exclusive)])).is_ok(), "no conflict: may queue");
        // Two shared readers do not conflict.
        let mut r = TxQueue::default();
        let _x = r.schedule(9, intent(&[("k", Mode::Shared)])).unwrap();
        let mut y = r.schedule(8, intent(&[("k", Mode::Shared)])).unwrap();
        assert!(armed(&mut y));
    }

    #[test]
    fn whole_shard_locks() {
        let mut q = TxQueue::default();
        let mut w = Intent::default();
        w.whole(Mode::Exclusive);
        let mut a = q.schedule(1, intent(&[("k", Mode::Shared)])).unwrap();
        let mut f = q.schedule(2, w.seal()).unwrap();
        assert!(armed(&mut a));
        assert!(!armed(&mut f));
        q.release(1);
        assert!(armed(&mut f));
        assert!(q.blocks(false, [(0usize, &b"anything"[..])].into_iter()));
        assert!(q.blocks_whole(false));
    }

    #[test]
    fn watches_are_touched_by_writes_and_flushes() {
        let mut w = Watches::default();
        w.watch(7, 0, Key::from_static(b"a"));
        w.watch(8, 1, Key::from_static(b"b"));
        w.touch(0, b"x");
        assert!(!w.is_touched(7));
        w.touch(0, b"a");
        assert!(w.is_touched(7));
        assert_eq!(w.keys().count(), 2);
        w.unwatch(7, &[(0, Key::from_static(b"a"))]);
        assert!(!w.is_touched(7));
    }
}
