//! The PostgreSQL frontend: wire protocol v3
//! (<https://www.postgresql.org/docs/15/protocol.html>). Message encoding and decoding come from
//! the `pgwire` crate (codecs only, no runtime); the connection state machine ([`conn`]) is ours
//! and runs on the shard that accepted the connection. [`auth`] does trust, cleartext password
//! and SCRAM-SHA-256; [`messages`] frames and bounds what a client sends. SQL itself is
//! `orbit-query`'s.

pub mod auth;
pub mod conn;
pub mod messages;
mod notify;

pub use conn::serve;

/// How clients prove who they are (PostgreSQL's `pg_hba.conf` methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Trust,
    Password,
    ScramSha256,
}

/// PostgreSQL's default max_connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 100;

/// PostgreSQL's default authentication_timeout.
pub const DEFAULT_AUTHENTICATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The PostgreSQL frontend's settings, shared read-only by every shard.
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// The one user that may log in (`--pg-user`).
    pub user: String,
    pub method: AuthMethod,
    /// SCRAM secret (or cleartext password) for `user`, when a password is configured.
    pub secret: Option<auth::Secret>,
    /// At most this many sessions at once, over every shard (`--pg-max-connections`,
    /// PostgreSQL's max_connections): past it a new one gets 53300 "sorry, too many clients
    /// already".
    pub max_connections: usize,
    /// The most a client may take from connecting to being authenticated
    /// (`--pg-authentication-timeout`, PostgreSQL's authentication_timeout) before the
    /// connection is closed.
    pub authentication_timeout: std::time::Duration,
}

impl PgConfig {
    /// `password`: None means trust. `method`: "password" or "scram-sha-256" (the default when
    /// a password is given).
    pub fn new(user: String, password: Option<String>, method: Option<&str>) -> Result<PgConfig, String> {
        let method = match (method, &password) {
            (Some("trust"), _) | (None, None) => AuthMethod::Trust,
            (Some("password"), Some(_)) => AuthMethod::Password,
            (Some("scram-sha-256") | None, Some(_)) => AuthMethod::ScramSha256,
            (Some(m @ ("password" | "scram-sha-256")), None) => {
                return Err(format!("pg-auth: '{m}' needs a password (pg-password)"))
            }
            (Some(m), _) => return Err(format!("pg-auth: '{m}' is not one of trust, password, scram-sha-256")),
        };
        let secret = match (method, password) {
            (AuthMethod::Trust, _) | (_, None) => None,
            (_, Some(p)) => Some(auth::Secret::new(&p)),
        };
        Ok(PgConfig {
            user,
            method,
            secret,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            authentication_timeout: DEFAULT_AUTHENTICATION_TIMEOUT,
        })
    }
}
