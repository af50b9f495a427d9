//! Row locks of SQL transactions on one shard: a row a transaction changes is locked from the
//! statement that changes it until the transaction commits or rolls back, the way PostgreSQL's
//! tuple locks work. Readers never take or wait for these locks (they read the committed row);
//! a writer that finds a row locked by another transaction waits for that lock's release and
//! then looks at the row again (PostgreSQL's READ COMMITTED re-check).
//!
//! A lock is keyed by (table OID, encoded primary key); it also covers keys with no row yet,
//! so two transactions inserting the same key serialize. It is exclusive (writers, FOR UPDATE,
//! FOR NO KEY UPDATE) or shared by several owners (FOR SHARE, FOR KEY SHARE); a sole shared
//! owner may make it exclusive. Waiting is a oneshot per waiter,
//! fired when the lock is released; the woken writer tries again (and may wait again).
//! [`RowLocks::edges`] exposes who waits for whom, for the deadlock check the waiting side runs
//! after a while (PostgreSQL's `deadlock_timeout`).

use futures::channel::oneshot;
use std::collections::hash_map::Entry;
use std::collections::HashMap;

/// The owner of locks: a SQL transaction's id (unique in the process).
pub type Owner = u64;

type LockKey = (u32, Vec<u8>);

/// How a lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Held by several owners at once; conflicts with exclusive.
    Share,
    Exclusive,
}

/// Who holds one lock: one exclusive owner, or shared owners.
#[derive(Debug)]
struct Holders {
    mode: LockMode,
    owners: Vec<Owner>,
}

impl Holders {
    /// An owner other than `owner` whose hold conflicts with taking it in `mode`.
    fn blocker(&self, owner: Owner, mode: LockMode) -> Option<Owner> {
        if self.mode == LockMode::Share && mode == LockMode::Share {
            return None;
        }
        self.owners.iter().copied().find(|&o| o != owner)
    }
}

/// Outcome of a lock attempt.
#[derive(Debug)]
pub enum Lock {
    /// Taken now, or already held by this owner.
    Held,
    /// Held by `holder`; `ready` fires once it is released (then try again).
    Wait { holder: Owner, ready: oneshot::Receiver<()> },
}

struct Waiter {
    owner: Owner,
    wake: oneshot::Sender<()>,
}

#[derive(Default)]
pub struct RowLocks {
    held: HashMap<LockKey, Holders>,
    owned: HashMap<Owner, Vec<LockKey>>,
    waiting: HashMap<LockKey, Vec<Waiter>>,
    /// Waits that are not for a row: a statement waiting for another transaction's hold on a
    /// relation (its ALTER, DROP or CREATE in a block), an ALTER waiting for the row locks on
    /// its table to go. (waiter, holder), published for the deadlock check.
    other_waits: Vec<(Owner, Owner)>,
    /// The statements running on this shard's sessions, by the table OIDs they name (the
    /// owner once per statement): an ALTER of the table waits for them to end, as
    /// PostgreSQL's waits for the statements' relation locks.
    running: HashMap<u32, Vec<Owner>>,
}

impl RowLocks {
    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Whether an owner other than `except` holds a lock on a row of `table` (ALTER TABLE
    /// waits for none).
    pub fn holds_table(&self, table: u32, except: Owner) -> bool {
        self.held.iter().any(|((t, _), h)| *t == table && h.owners.iter().any(|&o| o != except))
    }

    /// A statement of `owner` naming `tables` starts running.
    pub fn enter(&mut self, owner: Owner, tables: &[u32]) {
        for &t in tables {
            self.running.entry(t).or_default().push(owner);
        }
    }

    /// Whether a statement of `owner` naming `table` runs on this shard.
    pub fn is_running(&self, owner: Owner, table: u32) -> bool {
        self.running.get(&table).is_some_and(|o| o.contains(&owner))
    }

    /// The statement [`RowLocks::enter`] noted has ended.
    pub fn leave(&mut self, owner: Owner, tables: &[u32]) {
        for t in tables {
            if let Some(owners) = self.running.get_mut(t) {
                if let Some(i) = owners.iter().position(|&o| o == owner) {
                    owners.swap_remove(i);
                }
                if owners.is_empty() {
                    self.running.remove(t);
                }
            }
        }
    }

    /// The owners other than `except` holding a lock on a row of `table`, or running a
    /// statement that names it.
    pub fn table_holders(&self, table: u32, except: Owner) -> Vec<Owner> {
        let mut out: Vec<Owner> = Vec::new();
        for &o in self.running.get(&table).into_iter().flatten() {
            if o != except && !out.contains(&o) {
                out.push(o);
            }
        }
        for ((t, _), h) in &self.held {
            if *t == table {
                for &o in &h.owners {
                    if o != except && !out.contains(&o) {
                        out.push(o);
                    }
                }
            }
        }
        out
    }

    /// Whether `owner` holds a lock on a row of `table`.
    pub fn owns_in_table(&self, owner: Owner, table: u32) -> bool {
        self.owned.get(&owner).is_some_and(|keys| keys.iter().any(|(t, _)| *t == table))
    }

    /// Publishes that `owner` waits for `holders` on something other than a row (replacing
    /// what it published before; empty: it no longer waits).
    pub fn note_other_waits(&mut self, owner: Owner, holders: &[Owner]) {
        self.other_waits.retain(|&(w, _)| w != owner);
        self.other_waits.extend(holders.iter().filter(|&&h| h != owner).map(|&h| (owner, h)));
    }

    /// Another owner than `owner` whose lock on this row keeps `owner` from taking it in `mode`.
    pub fn blocker(&self, table: u32, key: &[u8], owner: Owner, mode: LockMode) -> Option<Owner> {
        if self.held.is_empty() {
            return None;
        }
        self.held.get(&(table, key.to_vec())).and_then(|h| h.blocker(owner, mode))
    }

    /// Takes the lock on (table, key) exclusively for `owner`, or queues `owner` behind a holder.
    pub fn lock(&mut self, table: u32, key: &[u8], owner: Owner) -> Lock {
        self.lock_in(table, key, owner, LockMode::Exclusive)
    }

    /// Takes the lock on (table, key) in `mode` for `owner` (an exclusive hold covers a shared
    /// one; a sole shared owner's becomes exclusive), or queues `owner` behind a holder.
    pub fn lock_in(&mut self, table: u32, key: &[u8], owner: Owner, mode: LockMode) -> Lock {
        let k = (table, key.to_vec());
        // One hash of the key per lock taken (a COPY takes one per row).
        match self.held.entry(k) {
            Entry::Occupied(mut e) => {
                let h = e.get_mut();
                if let Some(holder) = h.blocker(owner, mode) {
                    let (wake, ready) = oneshot::channel();
                    self.waiting.entry(e.key().clone()).or_default().push(Waiter { owner, wake });
                    return Lock::Wait { holder, ready };
                }
                if !h.owners.contains(&owner) {
                    // Shared, and taken in shared mode.
                    h.owners.push(owner);
                    self.owned.entry(owner).or_default().push(e.key().clone());
                } else if mode == LockMode::Exclusive {
                    h.mode = LockMode::Exclusive;
                }
                Lock::Held
            }
            Entry::Vacant(e) => {
                let k = e.key().clone();
                e.insert(Holders { mode, owners: vec![owner] });
                self.owned.entry(owner).or_default().push(k);
                Lock::Held
            }
        }
    }

    /// Releases every lock `owner` holds and wakes their waiters; also withdraws `owner` from
    /// any queue it waits in.
    pub fn release_all(&mut self, owner: Owner) {
        self.cancel_waits(owner);
        let Some(keys) = self.owned.remove(&owner) else { return };
        for k in keys {
            let waiters = if self.waiting.is_empty() { None } else { self.waiting.remove(&k) };
            if let Entry::Occupied(mut e) = self.held.entry(k) {
                let h = e.get_mut();
                h.owners.retain(|&o| o != owner);
                if h.owners.is_empty() {
                    e.remove();
                }
            }
            // Every waiter tries again (a shared lock may still block some of them).
            for w in waiters.into_iter().flatten() {
                let _ = w.wake.send(());
            }
        }
    }

    /// Withdraws `owner` from every queue it waits in (it gave up: deadlock, error, or gone).
    pub fn cancel_waits(&mut self, owner: Owner) {
        self.other_waits.retain(|&(w, _)| w != owner);
        if self.waiting.is_empty() {
            return;
        }
        self.waiting.retain(|_, ws| {
            ws.retain(|w| w.owner != owner);
            !ws.is_empty()
        });
    }

    /// Wait-for edges (waiter, holder) of this shard.
    pub fn edges(&self) -> Vec<(Owner, Owner)> {
        let mut out = self.other_waits.clone();
        for (k, ws) in &self.waiting {
            if let Some(h) = self.held.get(k) {
                for w in ws {
                    out.extend(h.owners.iter().filter(|&&o| o != w.owner).map(|&o| (w.owner, o)));
                }
            }
        }
        out
    }
}

/// Whether `from` reaches itself through the wait-for `edges` (a deadlock it is part of).
pub fn in_cycle(from: Owner, edges: &[(Owner, Owner)]) -> bool {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![from];
    while let Some(o) = stack.pop() {
        for &(w, h) in edges {
            if w == o {
                if h == from {
                    return true;
                }
                if seen.insert(h) {
                    stack.push(h);
                }
            }
        }
    }
    false
}

/// The transactions on a wait-for cycle through `from` (empty when there is none): those
/// reachable from `from` that also reach it, `from` included.
pub fn cycle_members(from: Owner, edges: &[(Owner, Owner)]) -> Vec<Owner> {
    if !in_cycle(from, edges) {
        return Vec::new();
    }
    let reach = |start: Owner| {
        let mut seen = std::collections::HashSet::from([start]);
        let mut stack = vec![start];
        while let Some(o) = stack.pop() {
            for &(w, h) in edges {
                if w == o && seen.insert(h) {
                    stack.push(h);
                }
            }
        }
        seen
    };
    let mut out: Vec<Owner> = reach(from).into_iter().filter(|&o| o == from || reach(o).contains(&from)).collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_wait_release() {
        let mut l = RowLocks::default();
        assert!(matches!(l.lock(1, b"k", 10), Lock::Held));
        assert!(matches!(l.lock(1, b"k", 10), Lock::Held));
        let Lock::Wait { holder, mut ready } = l.lock(1, b"k", 11) else { panic!("must wait") };
        assert_eq!(holder, 10);
        assert_eq!(l.edges(), vec![(11, 10)]);
        assert!(matches!(ready.try_recv(), Ok(None)));
        l.release_all(10);
        assert!(matches!(ready.try_recv(), Ok(Some(()))));
        assert!(l.edges().is_empty());
        assert!(matches!(l.lock(1, b"k", 11), Lock::Held));
        assert_eq!(l.blocker(1, b"k", 12, LockMode::Share), Some(11));
        assert_eq!(l.blocker(1, b"k", 11, LockMode::Exclusive), None);
        assert_eq!(l.blocker(2, b"k", 12, LockMode::Exclusive), None);
    }

    #[test]
    fn shared_locks() {
        use LockMode::*;
        let mut l = RowLocks::default();
        assert!(matches!(l.lock_in(1, b"k", 1, Share), Lock::Held));
        assert!(matches!(l.lock_in(1, b"k", 2, Share), Lock::Held));
        // A writer waits for both sharers; so does a sharer that wants to write.
        let Lock::Wait { mut ready, .. } = l.lock_in(1, b"k", 3, Exclusive) else { panic!("must wait") };
        let Lock::Wait { ready: mut up, .. } = l.lock_in(1, b"k", 1, Exclusive) else { panic!("must wait") };
        let mut e = l.edges();
        e.sort_unstable();
        assert_eq!(e, vec![(1, 2), (3, 1), (3, 2)]);
        l.release_all(2);
        assert!(matches!(ready.try_recv(), Ok(Some(()))) && matches!(up.try_recv(), Ok(Some(()))));
        // Woken, both try again: the sole sharer upgrades, the other writer waits for it.
        assert!(matches!(l.lock_in(1, b"k", 1, Exclusive), Lock::Held));
        assert!(matches!(l.lock_in(1, b"k", 3, Share), Lock::Wait { holder: 1, .. }));
        l.release_all(1);
        assert!(matches!(l.lock_in(1, b"k", 3, Share), Lock::Held));
        assert!(l.holds_table(1, 1) && !l.holds_table(1, 3));
    }

    #[test]
    fn cancel_and_cycles() {
        let mut l = RowLocks::default();
        let _ = l.lock(1, b"a", 1);
        let _ = l.lock(1, b"b", 2);
        let _w1 = l.lock(1, b"b", 1);
        let _w2 = l.lock(1, b"a", 2);
        let e = l.edges();
        assert!(in_cycle(1, &e) && in_cycle(2, &e));
        assert!(!in_cycle(3, &e));
        assert_eq!(cycle_members(1, &e), vec![1, 2]);
        assert!(cycle_members(3, &e).is_empty());
        l.cancel_waits(2);
        let e = l.edges();
        assert!(!in_cycle(1, &e));
        assert_eq!(e, vec![(1, 2)]);
    }
}
