//! orbit-net: protocol frontends. [`resp`] speaks Redis's RESP2/RESP3: it parses requests,
//! routes each command to the shard that owns its keys (through `orbit-shards`), and encodes the
//! replies. No data semantics live here; those are in `orbit-engine`.

pub mod http;
pub mod pg;
pub mod resp;
pub mod server;

pub use server::{ServerConfig, SERVER_VERSION};
