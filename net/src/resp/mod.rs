//! The Redis frontend: RESP2/RESP3 over TCP. [`conn`] owns a connection's loop and state,
//! [`parse`] and [`encode`] the wire format, [`route`] sends commands to the owning shards,
//! [`commands`] the connection and server commands (HELLO, CLIENT, INFO, CONFIG, pub/sub).

pub mod commands;
pub mod conn;
pub mod encode;
pub mod idle;
pub mod parse;
pub mod route;
pub mod state;
pub mod stats;

pub use conn::serve;
