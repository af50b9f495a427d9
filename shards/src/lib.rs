//! orbit-shards: the thread-per-core runtime. [`rt`] starts one glommio executor per shard,
//! pinned to its CPU (all glommio use is in that module); [`route`] maps a key to the shard that
//! owns it; [`mesh`] carries closures between shards over bounded channels and brings the reply
//! back; [`state`] is the shard-local state (the engine keyspace) that only its own thread
//! touches; [`wal`] is its write-ahead log.

pub mod evict;
pub mod exec;
pub mod expire;
pub mod memory;
pub mod mesh;
pub mod recovery;
pub mod route;
pub mod rowlock;
pub mod rt;
pub mod snapshot;
pub mod state;
pub mod tables;
pub mod twophase;
pub mod tx;
pub mod wal;

pub use route::{shard_for, ShardId};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Start(String),
    #[error("shard {0} is gone (shutting down)")]
    ShardGone(ShardId),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
