//! Shard-local state: the engine's keyspace and what goes with it. It lives in a thread-local
//! of the shard's executor thread, so nothing on the data path is shared or locked; other
//! shards reach it only by sending a closure through [`crate::mesh`].

use crate::ShardId;
use orbit_engine::keyspace::Keyspace;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use std::cell::RefCell;

/// Counters a shard keeps about itself (for INFO and metrics).
#[derive(Debug, Default, Clone)]
pub struct ShardStats {
    pub commands: u64,
    pub connections_received: u64,
    pub connections_open: u64,
    pub cross_shard_sent: u64,
    pub cross_shard_received: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub rejected_connections: u64,
}

pub struct Shard {
    pub id: ShardId,
    /// Number of shards in this process.
    pub count: usize,
    pub keyspace: Keyspace,
    pub rng: SmallRng,
    pub stats: ShardStats,
    /// Clients parked on keys of this shard.
    pub waiters: crate::exec::Waiters,
    /// `maxmemory` and its policy.
    pub limits: crate::evict::Limits,
    /// The write-ahead log (disabled until recovery has run).
    pub wal: crate::wal::Wal,
    pub snapshot: crate::snapshot::SnapshotState,
    /// Transactions queued on this shard and their intent locks.
    pub tx: crate::tx::TxQueue,
    /// WATCHed keys of this shard.
    pub watches: crate::tx::Watches,
    /// This shard's partitions of the SQL tables, and the replicated catalog.
    pub tables: orbit_engine::table::Tables,
    /// Row locks of the SQL transactions writing to this shard's tables.
    pub row_locks: crate::rowlock::RowLocks,
}

impl Shard {
    pub fn new(id: ShardId, count: usize) -> Shard {
        Shard {
            id,
            count,
            keyspace: Keyspace::new(),
            rng: SmallRng::seed_from_u64(0x5eed ^ id as u64),
            stats: ShardStats::default(),
            waiters: Default::default(),
            limits: Default::default(),
            wal: crate::wal::Wal::disabled(),
            snapshot: Default::default(),
            tx: Default::default(),
            watches: Default::default(),
            tables: Default::default(),
            row_locks: Default::default(),
        }
    }
}

thread_local! {
    static SHARD: RefCell<Option<Shard>> = const { RefCell::new(None) };
}

/// Installs the state of this thread's shard. Called once when the shard starts.
pub fn install(shard: Shard) {
    SHARD.with(|s| *s.borrow_mut() = Some(shard));
}

/// Runs `f` with this thread's shard. The closure cannot await, so the borrow never spans a
/// suspension point. Panics if called off a shard thread (a programming error).
pub fn with_shard<R>(f: impl FnOnce(&mut Shard) -> R) -> R {
    SHARD.with(|s| {
        let mut s = s.borrow_mut();
        f(s.as_mut().expect("with_shard called off a shard thread"))
    })
}

thread_local! {
    static BEFORE_JOB: std::cell::Cell<Option<fn()>> = const { std::cell::Cell::new(None) };
}

/// Registers what runs before each job the mesh runs on this thread's shard, outside its
/// borrow (the query layer refreshes its catalog caches there: code inside a job sees the
/// shard borrowed and cannot read the catalog itself).
pub fn set_before_job(hook: fn()) {
    BEFORE_JOB.with(|h| h.set(Some(hook)));
}

/// Runs the hook [`set_before_job`] registered, if any.
pub fn before_job() {
    if let Some(h) = BEFORE_JOB.with(|h| h.get()) {
        h();
    }
}

/// Like [`with_shard`], but None where the shard is already borrowed further up the stack
/// (code that runs inside a `with_shard` closure) or off a shard thread.
pub fn try_with_shard<R>(f: impl FnOnce(&mut Shard) -> R) -> Option<R> {
    SHARD.with(|s| {
        let mut s = s.try_borrow_mut().ok()?;
        Some(f(s.as_mut()?))
    })
}

/// This thread's shard id and the shard count.
pub fn local() -> (ShardId, usize) {
    with_shard(|s| (s.id, s.count))
}
