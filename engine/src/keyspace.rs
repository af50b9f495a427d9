//! The Redis keyspace of one shard: 16 databases, each an insertion-ordered hash map of keys to
//! typed values with an optional absolute deadline. Expiry is lazy (a read of an expired key
//! deletes it) plus active (Redis's sampling of keys with a deadline, bounded per call).
//!
//! Point-in-time snapshots without stopping the shard ([`Db::begin_capture`]): a walker visits
//! entries from the end of each map toward index 0 in bounded chunks while commands keep
//! running. Before an entry the walker has not reached yet is changed or deleted, its pre-image
//! is queued for the snapshot; entries created meanwhile are stamped with the snapshot's id and
//! skipped. `swap_remove` only moves the last entry (already visited or new, so stamped) into a
//! hole, and inserts append past the walker's cursor, so every entry present at the start is
//! written exactly once, as it was at the start.
//!
//! Scanning uses [`scan_positions`]: the cursor counts positions *remaining*, walking the entry
//! vector from its end toward index 0. `swap_remove` only moves the last element (already
//! visited) into the hole, and inserts append past the cursor, so every key present for the
//! whole scan is returned at least once, as SCAN promises.

use crate::reply::{errors, Reply};
use crate::value::{FastBuild, Value};
use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use rand::Rng;

pub type Key = Bytes;

/// Number of logical databases (`databases 16` in redis.conf).
pub const DATABASES: usize = 16;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    /// Absolute deadline in Unix milliseconds; `None` for a persistent key.
    pub expire_at_ms: Option<u64>,
    /// Last access, in seconds of the shard's clock (for LRU eviction and OBJECT IDLETIME).
    pub access_s: u32,
    /// Id of the snapshot that already has this entry (or that started before it was
    /// created); see the module docs. Not part of the value.
    pub snap_mark: u32,
}

impl Entry {
    pub fn new(value: Value) -> Entry {
        Entry { value, expire_at_ms: None, access_s: 0, snap_mark: 0 }
    }
}

type Map = IndexMap<Key, Entry, FastBuild>;

/// A snapshot in progress over one database.
#[derive(Debug)]
pub struct Capture {
    pub id: u32,
    /// The database's index when the snapshot started (SWAPDB moves databases).
    pub origin: usize,
    /// Entries at positions >= cursor have been visited (or are newer than the snapshot).
    cursor: usize,
    /// Entries as they were at the start, taken before a change reached them.
    preimages: Vec<(Key, Entry)>,
    /// Maps a FLUSHDB/FLUSHALL detached while the walk was going on: walked to the end.
    detached: Vec<Map>,
}

#[derive(Debug, Default)]
pub struct Db {
    map: Map,
    /// Keys that carry a deadline, for active expiry sampling and `INFO keyspace`.
    expires: IndexSet<Key, FastBuild>,
    capture: Option<Box<Capture>>,
}

/// Why a typed lookup failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongType;

impl From<WrongType> for Reply {
    fn from(_: WrongType) -> Reply {
        Reply::err(errors::WRONGTYPE)
    }
}

macro_rules! typed_accessors {
    ($get:ident, $get_mut:ident, $variant:ident, $ty:ty) => {
        /// The value at `key` if it holds this type; `Err(WrongType)` if it holds another.
        pub fn $get(&mut self, key: &[u8], now_ms: u64) -> Result<Option<&$ty>, WrongType> {
            match self.get(key, now_ms) {
                None => Ok(None),
                Some(Entry { value: Value::$variant(v), .. }) => Ok(Some(v)),
                Some(_) => Err(WrongType),
            }
        }

        pub fn $get_mut(&mut self, key: &[u8], now_ms: u64) -> Result<Option<&mut $ty>, WrongType> {
            match self.get_mut(key, now_ms) {
                None => Ok(None),
                Some(Entry { value: Value::$variant(v), .. }) => Ok(Some(v)),
                Some(_) => Err(WrongType),
            }
        }
    };
}

impl Db {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    pub fn is_expired(e: &Entry, now_ms: u64) -> bool {
        matches!(e.expire_at_ms, Some(t) if t <= now_ms)
    }

    /// Deletes `key` if its deadline has passed. Returns true if it was deleted.
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: u64) -> bool {
        let expired = match self.map.get(key) {
            Some(e) => Self::is_expired(e, now_ms),
            None => false,
        };
        if expired {
            self.remove(key);
        }
        expired
    }

    /// Looks up a live key (an expired key is deleted and reported absent).
    /// Looks up a live key and stamps its access time (for LRU eviction).
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        self.expire_if_needed(key, now_ms);
        let e = self.map.get_mut(key)?;
        e.access_s = (now_ms / 1000) as u32;
        Some(e)
    }

    /// Looks up a live key for changing it.
    pub fn get_mut(&mut self, key: &[u8], now_ms: u64) -> Option<&mut Entry> {
        self.expire_if_needed(key, now_ms);
        self.before_change(key);
        let e = self.map.get_mut(key)?;
        e.access_s = (now_ms / 1000) as u32;
        Some(e)
    }

    /// Snapshot hook: called before the entry at `key` changes or goes away.
    #[inline]
    fn before_change(&mut self, key: &[u8]) {
        let Some(c) = self.capture.as_deref_mut() else { return };
        if let Some((_, k, e)) = self.map.get_full_mut(key) {
            if e.snap_mark != c.id {
                e.snap_mark = c.id;
                c.preimages.push((k.clone(), e.clone()));
            }
        }
    }

    /// The stamp a new entry gets: the running snapshot's id (it must not be written).
    #[inline]
    fn new_mark(&self) -> u32 {
        self.capture.as_ref().map(|c| c.id).unwrap_or(0)
    }

    /// True if `key` exists and is live.
    pub fn contains(&mut self, key: &[u8], now_ms: u64) -> bool {
        self.get(key, now_ms).is_some()
    }

    /// Looks at a key without expiring it (for snapshots and SCAN filtering).
    pub fn peek(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key)
    }

    typed_accessors!(get_str, get_str_mut, Str, crate::value::StrValue);
    typed_accessors!(get_hash, get_hash_mut, Hash, crate::value::HashValue);
    typed_accessors!(get_list, get_list_mut, List, crate::value::ListValue);
    typed_accessors!(get_set, get_set_mut, Set, crate::value::SetValue);
    typed_accessors!(get_zset, get_zset_mut, ZSet, crate::value::ZSet);

    /// Returns the value at `key` of the type `make` builds, creating it if absent.
    pub fn get_or_create(
        &mut self,
        key: &[u8],
        now_ms: u64,
        make: impl FnOnce() -> Value,
    ) -> Result<&mut Value, WrongType> {
        self.expire_if_needed(key, now_ms);
        if !self.map.contains_key(key) {
            let mut e = Entry::new(make());
            e.snap_mark = self.new_mark();
            self.map.insert(Bytes::copy_from_slice(key), e);
            let e = self.map.get_mut(key).expect("just inserted");
            return Ok(&mut e.value);
        }
        self.before_change(key);
        let want = std::mem::discriminant(&make());
        let e = self.map.get_mut(key).expect("checked above");
        if std::mem::discriminant(&e.value) != want {
            return Err(WrongType);
        }
        Ok(&mut e.value)
    }

    /// Sets `key` to `value`, dropping any deadline (SET semantics).
    pub fn set(&mut self, key: Key, value: Value) {
        self.set_entry(key, Entry::new(value));
    }

    /// Sets `key` to `value` keeping its current deadline if the key is live (KEEPTTL).
    pub fn set_keep_ttl(&mut self, key: Key, value: Value, now_ms: u64) {
        self.expire_if_needed(&key, now_ms);
        self.before_change(&key);
        let mark = self.new_mark();
        match self.map.get_mut(&key) {
            Some(e) => e.value = value,
            None => {
                let mut e = Entry::new(value);
                e.snap_mark = mark;
                self.map.insert(key, e);
            }
        }
    }

    /// Puts a whole entry (value and deadline) at `key`, replacing what was there.
    pub fn set_entry(&mut self, key: Key, mut entry: Entry) {
        self.before_change(&key);
        entry.snap_mark = self.new_mark();
        if entry.expire_at_ms.is_some() {
            self.expires.insert(key.clone());
        } else if !self.expires.is_empty() {
            self.expires.swap_remove(&key[..]);
        }
        self.map.insert(key, entry);
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.before_change(key);
        let e = self.map.swap_remove(key)?;
        if e.expire_at_ms.is_some() {
            self.expires.swap_remove(key);
        }
        Some(e)
    }

    /// Deletes `key` if it holds an empty collection (after a pop or remove).
    pub fn remove_if_empty(&mut self, key: &[u8]) {
        if matches!(self.map.get(key), Some(e) if e.value.is_empty_collection()) {
            self.remove(key);
        }
    }

    /// Sets or clears the deadline of a live key. Returns false if the key is absent.
    pub fn set_expire(&mut self, key: &[u8], at_ms: Option<u64>) -> bool {
        self.before_change(key);
        let Some((_, k, e)) = self.map.get_full_mut(key) else {
            return false;
        };
        match at_ms {
            Some(_) if e.expire_at_ms.is_none() => {
                self.expires.insert(k.clone());
            }
            None if e.expire_at_ms.is_some() => {
                self.expires.swap_remove(key);
            }
            _ => {}
        }
        e.expire_at_ms = at_ms;
        true
    }

    pub fn clear(&mut self) {
        let old = std::mem::take(&mut self.map);
        if let Some(c) = self.capture.as_deref_mut() {
            // The walk goes on over the detached map: unvisited entries are still written.
            if !old.is_empty() {
                c.detached.push(old);
            }
            c.cursor = 0;
        }
        self.expires = IndexSet::default();
    }

    /// Starts capturing a point-in-time image of this database for snapshot `id`, which
    /// [`Db::capture_step`] then writes out. `origin` is the database's index now.
    pub fn begin_capture(&mut self, id: u32, origin: usize) {
        debug_assert!(id != 0);
        self.capture =
            Some(Box::new(Capture { id, origin, cursor: self.map.len(), preimages: Vec::new(), detached: Vec::new() }));
    }

    /// Ends the capture (the snapshot is complete or abandoned).
    pub fn end_capture(&mut self) {
        self.capture = None;
    }

    pub fn capturing(&self) -> bool {
        self.capture.is_some()
    }

    /// Hands up to `budget` entries of the running snapshot to `emit` (db index at the start,
    /// key, entry as it was at the start): queued pre-images first, then detached maps, then
    /// the walk. Returns true when this database is done (nothing queued, walk finished);
    /// entries changed after that are not the snapshot's business.
    pub fn capture_step(&mut self, budget: usize, mut emit: impl FnMut(usize, &Key, &Entry)) -> bool {
        let Some(c) = self.capture.as_deref_mut() else {
            return true;
        };
        let id = c.id;
        let origin = c.origin;
        let mut n = 0;
        for (k, e) in c.preimages.drain(..) {
            emit(origin, &k, &e);
            n += 1;
        }
        while n < budget {
            let Some(m) = c.detached.last_mut() else { break };
            match m.pop() {
                Some((k, e)) => {
                    if e.snap_mark != id {
                        emit(origin, &k, &e);
                        n += 1;
                    }
                }
                None => {
                    c.detached.pop();
                }
            }
        }
        c.cursor = c.cursor.min(self.map.len());
        while n < budget && c.cursor > 0 {
            c.cursor -= 1;
            let (k, e) = self.map.get_index_mut(c.cursor).expect("cursor within the map");
            if e.snap_mark != id {
                e.snap_mark = id;
                emit(origin, k, e);
                n += 1;
            }
        }
        c.cursor == 0 && c.detached.is_empty() && c.preimages.is_empty()
    }

    /// All live keys, expired ones skipped (not deleted).
    pub fn keys(&self, now_ms: u64) -> impl Iterator<Item = &Key> {
        self.map.iter().filter(move |(_, e)| !Self::is_expired(e, now_ms)).map(|(k, _)| k)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Entry)> {
        self.map.iter()
    }

    /// Every entry, by value (moving a database's keys elsewhere).
    pub fn into_entries(self) -> impl Iterator<Item = (Key, Entry)> {
        self.map.into_iter()
    }

    /// A uniformly random live key, or None.
    pub fn random_key(&mut self, now_ms: u64, rng: &mut impl Rng) -> Option<Key> {
        // Like Redis: retry a bounded number of times when the pick is expired.
        for _ in 0..100 {
            if self.map.is_empty() {
                return None;
            }
            let i = rng.gen_range(0..self.map.len());
            let (k, e) = self.map.get_index(i).expect("index in range");
            if !Self::is_expired(e, now_ms) {
                return Some(k.clone());
            }
            let k = k.clone();
            self.remove(&k);
        }
        None
    }

    /// One step of a SCAN over the keys: see [`scan_positions`].
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<(&Key, &Entry)>) {
        let (next, range) = scan_positions(self.map.len(), cursor, count);
        let items = range.filter_map(|i| self.map.get_index(i)).collect();
        (next, items)
    }

    /// Active expiry: samples up to `samples` keys with a deadline and deletes the expired ones.
    /// Returns (sampled, expired). Bounded work: at most `samples` lookups.
    pub fn active_expire(&mut self, now_ms: u64, samples: usize, rng: &mut impl Rng) -> (usize, usize) {
        let mut expired = 0;
        let n = samples.min(self.expires.len());
        for _ in 0..n {
            if self.expires.is_empty() {
                break;
            }
            let i = rng.gen_range(0..self.expires.len());
            let k = self.expires.get_index(i).expect("index in range").clone();
            if self.expire_if_needed(&k, now_ms) {
                expired += 1;
            }
        }
        (n, expired)
    }

    /// Picks up to `samples` random keys (from all keys or only those with a deadline) for the
    /// eviction policies.
    pub fn sample(&self, samples: usize, volatile: bool, rng: &mut impl Rng) -> Vec<(Key, Entry)> {
        let mut out = Vec::with_capacity(samples);
        for _ in 0..samples {
            if volatile {
                if self.expires.is_empty() {
                    break;
                }
                let k = self.expires.get_index(rng.gen_range(0..self.expires.len())).expect("in range");
                if let Some(e) = self.map.get(k) {
                    out.push((k.clone(), e.clone_header()));
                }
            } else {
                if self.map.is_empty() {
                    break;
                }
                let (k, e) = self.map.get_index(rng.gen_range(0..self.map.len())).expect("in range");
                out.push((k.clone(), e.clone_header()));
            }
        }
        out
    }
}

impl Entry {
    /// A copy of the entry's deadline and access time with an empty string value (cheap; used
    /// where only the metadata matters).
    pub fn clone_header(&self) -> Entry {
        Entry {
            value: Value::Str(crate::value::StrValue::new(Vec::new())),
            expire_at_ms: self.expire_at_ms,
            access_s: self.access_s,
            snap_mark: 0,
        }
    }
}

/// Cursor arithmetic for scanning an insertion-ordered map of `len` entries from the end.
/// `cursor == 0` starts a scan; the returned cursor is 0 when the scan is complete. Returns the
/// next cursor and the positions to visit now.
pub fn scan_positions(len: usize, cursor: u64, count: usize) -> (u64, std::ops::Range<usize>) {
    let remaining = if cursor == 0 { len } else { (cursor as usize).min(len) };
    let take = count.max(1).min(remaining);
    let start = remaining - take;
    (start as u64, start..remaining)
}

/// The keyspace of one shard.
#[derive(Debug)]
pub struct Keyspace {
    pub dbs: Vec<Db>,
    /// Keys pushed to while a client may be blocked on them (BLPOP and friends), as (db, key).
    /// Commands that add list or sorted-set elements record the key here; the shard drains it.
    pub ready_keys: Vec<(usize, Key)>,
    /// Count of changes since the last snapshot (Redis's `dirty`).
    pub dirty: u64,
}

impl Default for Keyspace {
    fn default() -> Self {
        Keyspace::new()
    }
}

impl Keyspace {
    pub fn new() -> Keyspace {
        Keyspace { dbs: (0..DATABASES).map(|_| Db::default()).collect(), ready_keys: Vec::new(), dirty: 0 }
    }

    pub fn db(&mut self, i: usize) -> &mut Db {
        &mut self.dbs[i]
    }

    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(|d| d.len()).sum()
    }

    /// Deletes every key whose deadline is at or before `now_ms` (after loading data from
    /// disk: keys that expired while the server was down). Returns how many were deleted.
    pub fn purge_expired(&mut self, now_ms: u64) -> usize {
        let mut n = 0;
        for db in &mut self.dbs {
            if db.expires.is_empty() {
                continue;
            }
            let dead: Vec<Key> = db
                .expires
                .iter()
                .filter(|k| db.map.get(&k[..]).is_some_and(|e| Db::is_expired(e, now_ms)))
                .cloned()
                .collect();
            for k in dead {
                db.remove(&k);
                n += 1;
            }
        }
        n
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.as_bytes().to_vec().into())
    }

    #[test]
    fn lazy_expiry_deletes_on_read() {
        let mut db = Db::default();
        db.set(Bytes::from_static(b"k"), s("v"));
        assert!(db.set_expire(b"k", Some(1000)));
        assert_eq!(db.expires_len(), 1);
        assert!(db.get(b"k", 999).is_some());
        assert!(db.get(b"k", 1000).is_none());
        assert_eq!(db.len(), 0);
        assert_eq!(db.expires_len(), 0);
    }

    #[test]
    fn set_clears_ttl_keep_ttl_keeps_it() {
        let mut db = Db::default();
        db.set(Bytes::from_static(b"k"), s("v"));
        db.set_expire(b"k", Some(5000));
        db.set_keep_ttl(Bytes::from_static(b"k"), s("w"), 0);
        assert_eq!(db.get(b"k", 0).unwrap().expire_at_ms, Some(5000));
        db.set(Bytes::from_static(b"k"), s("x"));
        assert_eq!(db.get(b"k", 0).unwrap().expire_at_ms, None);
        assert_eq!(db.expires_len(), 0);
    }

    #[test]
    fn scan_returns_every_stable_key_despite_deletes() {
        let mut db = Db::default();
        for i in 0..1000 {
            db.set(Bytes::from(format!("k{i}")), s("v"));
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            let (next, items) = db.scan(cursor, 10);
            for (k, _) in items {
                seen.insert(k.clone());
            }
            // Delete keys that were never meant to be guaranteed (multiples of 7), mid-scan.
            round += 1;
            let victim = Bytes::from(format!("k{}", round * 7));
            db.remove(&victim);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            if i % 7 != 0 {
                assert!(seen.contains(&Bytes::from(format!("k{i}"))), "missed k{i}");
            }
        }
    }

    #[test]
    fn active_expiry_is_bounded() {
        let mut db = Db::default();
        let mut rng = rand::thread_rng();
        for i in 0..100 {
            let k = Bytes::from(format!("k{i}"));
            db.set(k.clone(), s("v"));
            db.set_expire(&k, Some(10));
        }
        let (sampled, expired) = db.active_expire(20, 20, &mut rng);
        assert_eq!(sampled, 20);
        assert!((1..=20).contains(&expired));
        assert_eq!(db.len(), 100 - expired);
    }

    #[test]
    fn capture_is_point_in_time_under_concurrent_changes() {
        use rand::SeedableRng;
        use std::collections::HashMap;
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let key = |i: u32| Bytes::from(format!("k{i}"));
        for round in 1..=60u32 {
            let mut db = Db::default();
            for i in 0..400 {
                db.set(key(i), s(&format!("v{i}")));
            }
            let expected: HashMap<Key, Value> = db.iter().map(|(k, e)| (k.clone(), e.value.clone())).collect();
            db.begin_capture(round, 3);
            let mut got: HashMap<Key, Value> = HashMap::new();
            let mut version = 0;
            loop {
                for _ in 0..rng.gen_range(0..25) {
                    version += 1;
                    let k = key(rng.gen_range(0..600));
                    match rng.gen_range(0..100) {
                        0..=29 => db.set(k, s(&format!("new{version}"))),
                        30..=54 => {
                            db.remove(&k);
                        }
                        55..=74 => {
                            if let Ok(Some(v)) = db.get_str_mut(&k, 0) {
                                v.extend_from_slice(b"!");
                            }
                        }
                        75..=84 => {
                            db.set_expire(&k, Some(99));
                        }
                        85..=98 => {
                            let _ = db.get_or_create(&k, 0, || Value::Str(crate::value::StrValue::new(Vec::new())));
                        }
                        _ => db.clear(),
                    }
                }
                let done = db.capture_step(rng.gen_range(1..40), |origin, k, e| {
                    assert_eq!(origin, 3);
                    assert!(got.insert(k.clone(), e.value.clone()).is_none(), "{k:?} written twice");
                });
                if done {
                    break;
                }
            }
            db.end_capture();
            assert_eq!(got.len(), expected.len(), "round {round}");
            assert!(got == expected, "round {round}: snapshot differs from the state at its start");
        }
    }
}
