//! Configuration: defaults, then an optional TOML file (`--config FILE`), then command-line
//! flags, each overriding the one before. Every value is checked here so a bad one stops
//! start-up with a one-line error naming it (exit code 2).

use clap::{Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fsync {
    Always,
    Everysec,
    No,
}

impl Fsync {
    pub fn name(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::Everysec => "everysec",
            Fsync::No => "no",
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "orbit",
    version,
    about = "Orbit: a thread-per-core, multi-model database server speaking the Redis protocol"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args, Default)]
pub struct ServeArgs {
    /// TOML file with settings (keys as the flags' long names); flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long)]
    pub bind: Option<String>,
    /// Port for Redis clients (RESP).
    #[arg(long)]
    pub redis_port: Option<u16>,
    /// Port for PostgreSQL clients (wire protocol v3).
    #[arg(long)]
    pub pg_port: Option<u16>,
    /// The user PostgreSQL clients log in as (default postgres).
    #[arg(long)]
    pub pg_user: Option<String>,
    /// Password of the PostgreSQL user; without it, PostgreSQL clients are trusted.
    #[arg(long)]
    pub pg_password: Option<String>,
    /// How PostgreSQL clients authenticate: trust, password (cleartext) or scram-sha-256
    /// (default: scram-sha-256 when a password is set, else trust).
    #[arg(long)]
    pub pg_auth: Option<String>,
    /// At most this many PostgreSQL sessions at once (PostgreSQL's max_connections; default
    /// 100): past it a new one is refused with 53300 "sorry, too many clients already".
    #[arg(long)]
    pub pg_max_connections: Option<usize>,
    /// Seconds a PostgreSQL client may take from connecting to being authenticated before the
    /// connection is closed (PostgreSQL's authentication_timeout; default 60, 1 to 600).
    #[arg(long)]
    pub pg_authentication_timeout: Option<u64>,
    /// Port of the HTTP endpoint: /metrics (Prometheus), /health, /ready.
    #[arg(long)]
    pub http_port: Option<u16>,
    /// Directory for data files (one folder per shard).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Number of shards (one thread pinned per CPU); default: CPUs available to the process.
    #[arg(long)]
    pub shards: Option<usize>,
    /// When the log is flushed to disk.
    #[arg(long, value_enum)]
    pub fsync: Option<Fsync>,
    /// error, warn, info, debug or trace.
    #[arg(long)]
    pub log_level: Option<String>,
    /// Password clients must give with AUTH (Redis's requirepass).
    #[arg(long)]
    pub requirepass: Option<String>,
    /// Memory limit, e.g. 100mb (0: none).
    #[arg(long)]
    pub maxmemory: Option<String>,
    /// noeviction, allkeys-lru, volatile-lru, allkeys-random, volatile-random, volatile-ttl.
    #[arg(long)]
    pub maxmemory_policy: Option<String>,
    /// A log file rolls over to a new one past this size, e.g. 64mb.
    #[arg(long)]
    pub log_file_size: Option<String>,
    /// Take a snapshot automatically once the log has grown by this much since the last one,
    /// e.g. 256mb (0: only SAVE/BGSAVE).
    #[arg(long)]
    pub snapshot_log_size: Option<String>,
    /// Truncate the log at a damaged record (instead of refusing to start) and set later log
    /// files aside; fall back to an older snapshot if the newest is damaged.
    #[arg(long)]
    pub repair: bool,
}

/// The file's form: the same names as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    bind: Option<String>,
    redis_port: Option<u16>,
    pg_port: Option<u16>,
    pg_user: Option<String>,
    pg_password: Option<String>,
    pg_auth: Option<String>,
    pg_max_connections: Option<usize>,
    pg_authentication_timeout: Option<u64>,
    http_port: Option<u16>,
    data_dir: Option<PathBuf>,
    shards: Option<usize>,
    fsync: Option<Fsync>,
    log_level: Option<String>,
    requirepass: Option<String>,
    maxmemory: Option<String>,
    maxmemory_policy: Option<String>,
    log_file_size: Option<String>,
    snapshot_log_size: Option<String>,
}

/// The settings in force.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub redis_port: u16,
    pub pg_port: u16,
    pub pg: orbit_net::pg::PgConfig,
    pub http_port: u16,
    pub data_dir: PathBuf,
    pub shards: usize,
    pub fsync: Fsync,
    pub log_level: String,
    pub requirepass: Option<String>,
    pub maxmemory: u64,
    pub maxmemory_policy: orbit_net::server::EvictionPolicy,
    pub log_file_bytes: u64,
    pub snapshot_log_bytes: u64,
    pub repair: bool,
}

/// A configuration error: names the key and what is wrong.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    pub fn resolve(args: ServeArgs, cpus: usize) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))?;
                toml::from_str::<FileConfig>(&text).map_err(|e| {
                    let msg = e.message().to_string();
                    ConfigError(format!("config file {}: {msg}", path.display()))
                })?
            }
            None => FileConfig::default(),
        };
        let bind = args.bind.or(file.bind).unwrap_or_else(|| "127.0.0.1".into());
        if bind.parse::<std::net::IpAddr>().is_err() {
            return Err(ConfigError(format!("bind: '{bind}' is not an IP address")));
        }
        let redis_port = args.redis_port.or(file.redis_port).unwrap_or(6379);
        let pg_port = args.pg_port.or(file.pg_port).unwrap_or(5432);
        if pg_port == redis_port {
            return Err(ConfigError(format!("pg-port: {pg_port} is also the redis-port")));
        }
        let http_port = args.http_port.or(file.http_port).unwrap_or(9187);
        if http_port == redis_port || http_port == pg_port {
            return Err(ConfigError(format!("http-port: {http_port} is already the redis-port or pg-port")));
        }
        let shards = args.shards.or(file.shards).unwrap_or(cpus);
        if shards == 0 || shards > 1024 {
            return Err(ConfigError(format!("shards: {shards} is out of range (1..=1024)")));
        }
        let log_level = args.log_level.or(file.log_level).unwrap_or_else(|| "info".into());
        if !["error", "warn", "info", "debug", "trace"].contains(&log_level.as_str()) {
            return Err(ConfigError(format!("log-level: '{log_level}' is not one of error, warn, info, debug, trace")));
        }
        let maxmemory = match args.maxmemory.or(file.maxmemory) {
            Some(v) => orbit_net::resp::commands::config::parse_memory(&v)
                .ok_or_else(|| ConfigError(format!("maxmemory: '{v}' is not a memory size (e.g. 100mb)")))?,
            None => 0,
        };
        let policy = args.maxmemory_policy.or(file.maxmemory_policy).unwrap_or_else(|| "noeviction".into());
        let maxmemory_policy = orbit_net::server::EvictionPolicy::parse(&policy)
            .ok_or_else(|| ConfigError(format!("maxmemory-policy: '{policy}' is not a known policy")))?;
        let size = |name: &str, v: Option<String>, default: u64| -> Result<u64, ConfigError> {
            match v {
                Some(v) => orbit_net::resp::commands::config::parse_memory(&v)
                    .ok_or_else(|| ConfigError(format!("{name}: '{v}' is not a size (e.g. 64mb)"))),
                None => Ok(default),
            }
        };
        let log_file_bytes = size("log-file-size", args.log_file_size.or(file.log_file_size), 64 << 20)?;
        if log_file_bytes < 4096 {
            return Err(ConfigError(format!("log-file-size: {log_file_bytes} is below the minimum of 4kb")));
        }
        let snapshot_log_bytes =
            size("snapshot-log-size", args.snapshot_log_size.or(file.snapshot_log_size), 256 << 20)?;
        let pg_user = args.pg_user.or(file.pg_user).unwrap_or_else(|| "postgres".into());
        if pg_user.is_empty() {
            return Err(ConfigError("pg-user: must not be empty".into()));
        }
        let mut pg = orbit_net::pg::PgConfig::new(
            pg_user,
            args.pg_password.or(file.pg_password),
            args.pg_auth.or(file.pg_auth).as_deref(),
        )
        .map_err(ConfigError)?;
        pg.max_connections =
            args.pg_max_connections.or(file.pg_max_connections).unwrap_or(orbit_net::pg::DEFAULT_MAX_CONNECTIONS);
        if !(1..=262_143).contains(&pg.max_connections) {
            return Err(ConfigError(format!(
                "pg-max-connections: {} is outside the valid range (1 .. 262143)",
                pg.max_connections
            )));
        }
        if let Some(s) = args.pg_authentication_timeout.or(file.pg_authentication_timeout) {
            if !(1..=600).contains(&s) {
                return Err(ConfigError(format!(
                    "pg-authentication-timeout: {s} is outside the valid range (1 .. 600)"
                )));
            }
            pg.authentication_timeout = std::time::Duration::from_secs(s);
        }
        Ok(Config {
            bind,
            redis_port,
            pg_port,
            pg,
            http_port,
            data_dir: args.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("./orbit-data")),
            shards,
            fsync: args.fsync.or(file.fsync).unwrap_or(Fsync::Everysec),
            log_level,
            requirepass: args.requirepass.or(file.requirepass),
            maxmemory,
            maxmemory_policy,
            log_file_bytes,
            snapshot_log_bytes,
            repair: args.repair,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file() {
        let dir = std::env::temp_dir().join(format!("orbit-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("o.toml");
        std::fs::write(&f, "redis-port = 7000\nshards = 3\nfsync = \"always\"\n").unwrap();
        let args = ServeArgs { config: Some(f.clone()), shards: Some(2), ..Default::default() };
        let c = Config::resolve(args, 8).unwrap();
        assert_eq!(c.redis_port, 7000);
        assert_eq!(c.shards, 2);
        assert_eq!(c.fsync, Fsync::Always);
        std::fs::write(&f, "redis-prot = 7000\n").unwrap();
        let err = Config::resolve(ServeArgs { config: Some(f), ..Default::default() }, 8).unwrap_err();
        assert!(err.0.contains("redis-prot"), "{}", err.0);
        let err = Config::resolve(ServeArgs { log_level: Some("loud".into()), ..Default::default() }, 8).unwrap_err();
        assert!(err.0.starts_with("log-level"));
    }
}
