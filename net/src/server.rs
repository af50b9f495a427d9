//! Server-wide settings as the frontends see them (CONFIG GET/SET). Each shard holds its own
//! copy in [`crate::resp::state`]; CONFIG SET changes every shard's copy through the mesh.

/// The Redis version Orbit reports (its compatibility target), so clients enable the features
/// they would with that Redis.
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";
/// Orbit's own version.
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

pub use orbit_shards::evict::Policy as EvictionPolicy;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: String,
    pub port: u16,
    pub dir: String,
    pub requirepass: Option<String>,
    pub maxmemory: u64,
    pub maxmemory_policy: EvictionPolicy,
    pub maxmemory_samples: usize,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: usize,
    pub maxclients: usize,
    /// Idle seconds before a client is closed (0: never).
    pub timeout_s: u64,
    pub appendfsync: String,
    pub hz: u32,
    pub slowlog_log_slower_than_us: i64,
    pub slowlog_max_len: usize,
    pub pubsub_output_limit_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1".into(),
            port: 6379,
            dir: "./orbit-data".into(),
            requirepass: None,
            maxmemory: 0,
            maxmemory_policy: EvictionPolicy::NoEviction,
            maxmemory_samples: 5,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            maxclients: 10000,
            timeout_s: 0,
            appendfsync: "everysec".into(),
            hz: 10,
            slowlog_log_slower_than_us: 10000,
            slowlog_max_len: 128,
            pubsub_output_limit_bytes: 32 * 1024 * 1024,
        }
    }
}
