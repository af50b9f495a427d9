//! Running engine commands on a shard: the single entry point through which every Redis
//! command touches a keyspace. It stamps the clock, runs the handler, wakes clients blocked on
//! keys that received elements, and appends what changed to the shard's log (the command's
//! rewrite where it set one, else its argv, with the clock it ran with). Also the primitives
//! of cross-shard commands: fetch a copy of an entry, put one.
//!
//! Durability contract: an [`Outcome`] with a `durable` ticket must not be acknowledged to the
//! client before [`crate::wal::wait`] (or `wait_all` for a batch) has returned Ok.

use crate::state::Shard;
use bytes::Bytes;
use orbit_engine::keyspace::{now_ms, Entry, Key};
use orbit_engine::redis::{self, CommandSpec, Ctx};
use orbit_engine::reply::Reply;
use std::collections::{BTreeMap, HashMap};

/// What a command run produced.
#[derive(Debug)]
pub struct Outcome {
    pub reply: Reply,
    /// Set when a blocking command found nothing: park the client for this long (0: forever).
    pub block_ms: Option<u64>,
    /// Set when the reply may only go out once this log record is durable.
    pub durable: Option<crate::wal::Ticket>,
}

impl Outcome {
    pub fn reply(reply: Reply) -> Outcome {
        Outcome { reply, block_ms: None, durable: None }
    }
}

/// Wakes a parked client from any shard. A wake that comes while the client is not waiting is
/// kept until it waits (so none is lost).
#[derive(Default)]
pub struct Notify {
    flag: std::sync::atomic::AtomicBool,
    waker: futures::task::AtomicWaker,
}

impl Notify {
    pub fn wake(&self) {
        self.flag.store(true, std::sync::atomic::Ordering::Release);
        self.waker.wake();
    }

    /// Waits for a wake (returns at once when one came since the last wait).
    pub async fn wait(&self) {
        futures::future::poll_fn(|cx| {
            if self.flag.swap(false, std::sync::atomic::Ordering::AcqRel) {
                return std::task::Poll::Ready(());
            }
            self.waker.register(cx.waker());
            if self.flag.swap(false, std::sync::atomic::Ordering::AcqRel) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await
    }
}

struct Parked {
    notify: std::sync::Arc<Notify>,
    /// Woken and not yet back to waiting: the next element goes to the next client in line.
    pending: bool,
}

/// Clients parked on keys of this shard (BLPOP and friends), in arrival order per key. A client
/// stays registered, in its place, from the moment it blocks until it is served, times out or
/// leaves; a wake goes to the oldest client not already woken. One woken but finding nothing
/// (another client took the element) goes back to waiting in its place; one served from
/// another key passes its unused wake to the next in line ([`Waiters::leave`]).
#[derive(Default)]
pub struct Waiters {
    by_key: HashMap<(usize, Key), BTreeMap<u64, Parked>>,
}

impl Waiters {
    /// Parks arrival `seq` on (db, key).
    pub fn park(&mut self, db: usize, key: Key, seq: u64, notify: std::sync::Arc<Notify>) {
        self.by_key.entry((db, key)).or_default().insert(seq, Parked { notify, pending: false });
    }

    /// Arrival `seq` found nothing after a wake and waits again in its place.
    pub fn settle(&mut self, db: usize, key: &Key, seq: u64) {
        if let Some(p) = self.by_key.get_mut(&(db, key.clone())).and_then(|q| q.get_mut(&seq)) {
            p.pending = false;
        }
    }

    /// Arrival `seq` leaves (served, timed out, gone). A wake it did not use (it was woken
    /// here, and the key still holds data) goes to the next in line.
    pub fn leave(&mut self, db: usize, key: &Key, seq: u64, key_has_data: bool) {
        let k = (db, key.clone());
        let Some(q) = self.by_key.get_mut(&k) else { return };
        let unused_wake = q.remove(&seq).is_some_and(|p| p.pending) && key_has_data;
        if q.is_empty() {
            self.by_key.remove(&k);
        } else if unused_wake {
            self.wake_one(db, key);
        }
    }

    /// Wakes the oldest parked client on (db, key) that is not already woken.
    fn wake_one(&mut self, db: usize, key: &Key) {
        let Some(q) = self.by_key.get_mut(&(db, key.clone())) else { return };
        if let Some(p) = q.values_mut().find(|p| !p.pending) {
            p.pending = true;
            p.notify.wake();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Number of keys with parked clients (for INFO).
    pub fn keys(&self) -> usize {
        self.by_key.len()
    }
}

/// Runs one engine command on this shard's keyspace.
pub fn run(shard: &mut Shard, spec: &'static CommandSpec, db: usize, args: &[Bytes]) -> Outcome {
    if spec.is_write() {
        if let Some(e) = &shard.wal.failed {
            return Outcome::reply(Reply::err(crate::wal::misconf(e)));
        }
    }
    if spec.flags & redis::flags::DENYOOM != 0 && !crate::evict::make_room(shard, crate::memory::used_bytes) {
        return Outcome::reply(Reply::err(orbit_engine::reply::errors::OOM));
    }
    let now = now_ms();
    let dirty_before = shard.keyspace.dirty;
    let flushed = if shard.watches.is_empty() || !spec.is_write() || spec.flags & redis::flags::ALL_SHARDS == 0 {
        Vec::new()
    } else {
        watched_keys_flushed(shard, spec, db, args, now)
    };
    let mut ctx = Ctx::new(&mut shard.keyspace, db, now, &mut shard.rng);
    let reply = redis::execute(spec, &mut ctx, args);
    let block_ms = ctx.block_ms;
    let rewrite = ctx.rewrite.take();
    shard.stats.commands += 1;
    let mut durable = None;
    if shard.keyspace.dirty != dirty_before && shard.wal.enabled() {
        let seq = match rewrite {
            Some(records) => records.iter().fold(0, |_, argv| shard.wal.append_command(db, now, argv)),
            None => shard.wal.append_command(db, now, args),
        };
        durable = shard.wal.ticket(shard.id, seq);
    }
    if shard.keyspace.dirty != dirty_before && !shard.watches.is_empty() {
        for p in spec.key_positions(args) {
            shard.watches.touch(db, &args[p]);
        }
        for (d, k) in flushed {
            shard.watches.touch(d, &k);
        }
    }
    if spec.flags & redis::flags::BLOCKING != 0 && block_ms.is_none() && !reply.is_error() {
        // A blocked client that was served may leave elements for the next one in line.
        for p in spec.key_positions(args) {
            shard.keyspace.ready_keys.push((db, args[p].clone()));
        }
    }
    wake_ready(shard);
    Outcome { reply, block_ms, durable }
}

/// The watched keys FLUSHDB, FLUSHALL or SWAPDB would change: those that exist now in the dbs
/// it empties or swaps (Redis's `touchAllWatchedKeysInDb`).
fn watched_keys_flushed(
    shard: &mut Shard,
    spec: &CommandSpec,
    db: usize,
    args: &[Bytes],
    now: u64,
) -> Vec<(usize, Key)> {
    let dbs: Option<Vec<usize>> = match spec.name {
        "flushall" => None,
        "swapdb" => {
            let a = args.get(1).and_then(|a| redis::args::db_index(a).ok());
            let b = args.get(2).and_then(|a| redis::args::db_index(a).ok());
            Some(a.into_iter().chain(b).collect())
        }
        _ => Some(vec![db]),
    };
    let ks = &shard.keyspace;
    let live = |d: usize, k: &[u8]| ks.dbs[d].peek(k).is_some_and(|e| !orbit_engine::keyspace::Db::is_expired(e, now));
    let mut out = Vec::new();
    for (d, k) in shard.watches.keys() {
        let relevant = dbs.as_ref().is_none_or(|v| v.contains(d));
        // SWAPDB also changes a watched key that exists only in the other db.
        let exists = match &dbs {
            Some(v) if spec.name == "swapdb" => v.iter().any(|&x| live(x, k)),
            _ => live(*d, k),
        };
        if relevant && exists {
            out.push((*d, k.clone()));
        }
    }
    out
}

/// Wakes one parked client per key that received elements.
pub fn wake_ready(shard: &mut Shard) {
    if shard.keyspace.ready_keys.is_empty() {
        return;
    }
    let ready = std::mem::take(&mut shard.keyspace.ready_keys);
    if shard.waiters.is_empty() {
        return;
    }
    for (db, key) in ready {
        shard.waiters.wake_one(db, &key);
    }
}

/// A copy of the live entry at (db, key), for a command that runs on another shard.
pub fn fetch(shard: &mut Shard, db: usize, key: &[u8]) -> Option<Entry> {
    let now = now_ms();
    shard.keyspace.dbs[db].get(key, now).cloned()
}

/// Puts (or with `None`, deletes) the entry at (db, key): the write-back of a command that ran
/// on another shard over copies of this shard's keys. Returns the ticket to await before the
/// command's reply goes out, or the error that refused the write.
pub fn apply(
    shard: &mut Shard,
    db: usize,
    key: Key,
    entry: Option<Entry>,
) -> Result<Option<crate::wal::Ticket>, Reply> {
    if let Some(e) = &shard.wal.failed {
        return Err(Reply::err(crate::wal::misconf(e)));
    }
    let seq = match &entry {
        Some(e) => shard.wal.append_put(db, &key, e),
        None => shard.wal.append_delete(db, &key),
    };
    let ticket = shard.wal.ticket(shard.id, seq);
    shard.watches.touch(db, &key);
    let d = &mut shard.keyspace.dbs[db];
    d.remove(&key);
    if let Some(e) = entry {
        let is_collection = !matches!(e.value, orbit_engine::value::Value::Str(_));
        d.set_entry(key.clone(), e);
        if is_collection {
            shard.keyspace.ready_keys.push((db, key));
        }
    }
    shard.keyspace.dirty += 1;
    wake_ready(shard);
    Ok(ticket)
}
