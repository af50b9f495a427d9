//! orbit-engine: the data and its semantics. One [`keyspace::Keyspace`] per shard holds the Redis
//! databases; [`redis`] implements the Redis commands on it and returns protocol-neutral
//! [`reply::Reply`] values that `orbit-net` encodes. Synchronous and single-threaded: no runtime,
//! no sockets, no locks.

pub mod error;
pub mod keyspace;
pub mod log;
pub mod redis;
pub mod reply;
pub mod table;
pub mod value;

pub use error::{Error, Result};
