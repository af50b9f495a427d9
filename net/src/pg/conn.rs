//! One PostgreSQL connection: start-up (SSLRequest/GSSENCRequest answered 'N', protocol 3.0,
//! authentication, ParameterStatus, BackendKeyData), then the simple and extended query
//! protocols (<https://www.postgresql.org/docs/15/protocol-flow.html>) with the transaction
//! status PostgreSQL reports in ReadyForQuery. Replies are buffered and written when the client
//! waits for them (Sync, Flush, end of a simple query) or when no complete message is left in
//! the read buffer.
//!
//! Transactions ([`orbit_query::Txn`]): a BEGIN block holds one until COMMIT or ROLLBACK
//! (after an error, only ROLLBACK — or ROLLBACK TO a savepoint — is accepted, 25P02 otherwise);
//! a Query message of several statements outside a block runs them in one implicit
//! transaction that an error rolls back; any other statement commits on its own. In the
//! extended protocol the Executes outside a block run in one implicit transaction that Sync
//! commits (an error rolls it back), as PostgreSQL does.

use super::auth::{ScramError, ScramServer};
use super::messages::{self, decode, next_message, put, put_data_row, put_error, Frame};
use super::{AuthMethod, PgConfig};
use bytes::{Bytes, BytesMut};
use futures::{AsyncReadExt, AsyncWriteExt};
use orbit_engine::table::{Datum, SqlType};
use orbit_query::bind::reindex::ReindexKind;
use orbit_query::error::code;
use orbit_query::{bind, types, OutputColumn, Plan, Prepared, SqlError};
use orbit_shards::rt::{self, TcpListener, TcpStream};
use pgwire::messages::data::{FieldDescription, NoData, ParameterDescription, RowDescription};
use pgwire::messages::extendedquery::{BindComplete, CloseComplete, ParseComplete, PortalSuspended};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, NotificationResponse, ReadyForQuery, TransactionStatus,
};
use pgwire::messages::startup::{Authentication, BackendKeyData, ParameterStatus, SecretKey};
use pgwire::messages::PgWireFrontendMessage as F;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Instant;

const READ_CHUNK_BYTES: usize = 16 * 1024;
/// Write out buffered replies once they reach this size.
const WRITE_FLUSH_BYTES: usize = 64 * 1024;
/// Prepared statements and portals a connection may hold (each bounded by the message limit).
const MAX_STATEMENTS: usize = 10_000;

const SSL_REQUEST: i32 = 80877103;
const GSSENC_REQUEST: i32 = 80877104;
const CANCEL_REQUEST: i32 = 80877102;

static NEXT_PID: AtomicI32 = AtomicI32::new(1000);

thread_local! {
    /// The connections of this shard by backend pid: their secret and cancel switch.
    static BACKENDS: std::cell::RefCell<HashMap<i32, (i32, Rc<orbit_query::txn::Cancel>)>> =
        std::cell::RefCell::new(HashMap::new());
}

/// Removes the connection from [`BACKENDS`] when it ends.
struct Registered(i32);

impl Drop for Registered {
    fn drop(&mut self) {
        BACKENDS.with(|b| b.borrow_mut().remove(&self.0));
        orbit_query::catalog::unregister(self.0);
        // Session-level advisory locks end with the session.
        orbit_query::advisory::release_session(self.0);
    }
}

/// The longest query text pg_stat_activity keeps (PostgreSQL's track_activity_query_size).
const ACTIVITY_QUERY_BYTES: usize = 1024;

/// A statement (or Query message) starts: pg_stat_activity shows it as active.
fn begin_activity(c: &Conn, query: &str) {
    let now = orbit_query::datetime::now_us();
    let mut a = c.activity.borrow_mut();
    a.state = "active";
    let mut end = query.len().min(ACTIVITY_QUERY_BYTES);
    while !query.is_char_boundary(end) {
        end -= 1;
    }
    a.query.clear();
    a.query.push_str(&query[..end]);
    a.query_start_us = Some(now);
    a.state_change_us = now;
    if a.xact_start_us.is_none() {
        a.xact_start_us = Some(now);
    }
}

/// The session waits for the client again (ReadyForQuery): idle, or idle in a transaction.
fn end_activity(c: &Conn) {
    let mut a = c.activity.borrow_mut();
    let state = match c.status {
        TxStatus::Idle => "idle",
        TxStatus::InBlock => "idle in transaction",
        TxStatus::Failed => "idle in transaction (aborted)",
    };
    if a.state != state {
        a.state = state;
        a.state_change_us = orbit_query::datetime::now_us();
    }
    if c.status == TxStatus::Idle {
        a.xact_start_us = None;
    }
}

/// The rows a statement returned or changed (pg_stat_statements' `rows`).
fn rows_of(r: &orbit_query::QueryResult) -> u64 {
    if !r.rows.is_empty() {
        return r.rows.len() as u64;
    }
    r.tag.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// A CancelRequest: the connection with this pid and secret, on whichever shard serves it,
/// gets its running statement cancelled. A wrong secret does nothing (PostgreSQL answers
/// nothing either way).
async fn cancel_request(pkt: &[u8]) {
    if pkt.len() < 16 {
        return;
    }
    let pid = i32::from_be_bytes([pkt[8], pkt[9], pkt[10], pkt[11]]);
    let secret = i32::from_be_bytes([pkt[12], pkt[13], pkt[14], pkt[15]]);
    let _ = orbit_shards::mesh::run_on_all(move |_| {
        BACKENDS.with(|b| {
            if let Some((s, cancel)) = b.borrow().get(&pid) {
                if *s == secret {
                    cancel.request();
                }
            }
        })
    })
    .await;
}

/// COPY's sub-protocol (a child module: it uses the connection's buffers).
#[path = "copy.rs"]
mod copy;

/// Prepared statements: PREPARE, EXECUTE, DEALLOCATE, DISCARD and the protocol's named ones.
#[path = "prepared.rs"]
mod prepared;

/// Sessions open now, over every shard (they all count against one max_connections).
static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A session's place under max_connections, given back when the session ends.
struct SessionSlot;

impl SessionSlot {
    fn take(max: usize) -> Option<SessionSlot> {
        use std::sync::atomic::Ordering::Relaxed;
        SESSIONS.fetch_update(Relaxed, Relaxed, |n| (n < max).then_some(n + 1)).ok().map(|_| SessionSlot)
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        SESSIONS.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Accepts PostgreSQL connections until shutdown; each gets its own task on this shard.
pub async fn serve(listener: TcpListener, cfg: Arc<PgConfig>) {
    rt::accept_until_shutdown(&listener, "pg", |stream| {
        let cfg = cfg.clone();
        rt::spawn(async move {
            if let Err(e) = connection(stream, cfg).await {
                tracing::debug!(error = %e, "pg connection ended");
            }
        });
    })
    .await;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxStatus {
    Idle,
    InBlock,
    Failed,
}

struct Portal {
    stmt: Rc<Prepared>,
    /// The name of the session's statement it was bound from.
    statement: String,
    /// The statement's text with constants replaced (pg_stat_statements' key).
    text: Rc<str>,
    /// The query string its statement was parsed from.
    source: Rc<str>,
    params: Vec<Datum>,
    /// Per result column: binary?
    binary: Vec<bool>,
    /// Rows and tag once executed; rows are sent from `sent` on.
    result: Option<(Vec<Vec<Datum>>, String)>,
    sent: usize,
}

/// The parameters SET LOCAL in a block, each with the value COMMIT gives it back.
type Locals = Vec<(&'static str, String)>;

/// A savepoint's name, and the session's parameters, SET LOCAL ones and LISTEN / NOTIFY marks
/// when it was made.
type SavedAt = (String, orbit_query::settings::Session, Locals, (usize, usize));

struct Conn {
    stream: TcpStream,
    rbuf: BytesMut,
    /// What one read fills (allocated and zeroed once per connection, not per read).
    chunk: Box<[u8]>,
    out: BytesMut,
    status: TxStatus,
    /// The session's prepared statements, named and unnamed ([`prepared`]).
    statements: orbit_query::prepared::Session,
    /// The session's open cursors (DECLARE ... CURSOR), shared with its transactions.
    cursors: orbit_query::cursors::Session,
    portals: HashMap<String, Portal>,
    /// After an error in the extended protocol: skip messages until Sync.
    skip_to_sync: bool,
    /// ReadyForQuery was the last message sent: the session waits for a new command (the idle
    /// timeouts apply, `query_loop`).
    at_ready: bool,
    /// The run-time parameters reported at start-up, for SHOW.
    settings: orbit_query::settings::Session,
    /// The transaction of a BEGIN block (or of a multi-statement Query's implicit block).
    txn: Option<orbit_query::Txn>,
    /// The id the next implicit transaction takes ([`statement_owner`]).
    reserved_txn_id: std::cell::Cell<Option<u64>>,
    /// The parameters as the session started (what RESET goes back to).
    startup: orbit_query::settings::Session,
    /// The parameters at BEGIN (what ROLLBACK goes back to) and those SET LOCAL since, each
    /// with the value COMMIT gives it back (PostgreSQL's GUC stack: the value before the
    /// block, or the one a plain SET in the block gave it).
    settings_at_begin: Option<orbit_query::settings::Session>,
    local_settings: Locals,
    /// Per open savepoint (by name): the parameters and the SET LOCAL ones when it was made
    /// (what ROLLBACK TO goes back to).
    settings_at_savepoints: Vec<SavedAt>,
    /// LISTEN / NOTIFY: the session's channels and its transaction's notifications.
    pub(super) notify: super::notify::Session,
    /// Set by a CancelRequest for this backend while a statement runs.
    cancel: Rc<orbit_query::txn::Cancel>,
    /// The session's last nextval per sequence (currval).
    sequences: Rc<std::cell::RefCell<HashMap<String, i64>>>,
    /// What this session is doing, as pg_stat_activity shows it.
    activity: Rc<std::cell::RefCell<orbit_query::catalog::Activity>>,
    /// Until the session is ready: when start-up and authentication must be over
    /// (PostgreSQL's authentication_timeout); each read and write waits at most until then.
    deadline: Option<Instant>,
}

type IoResult<T> = std::io::Result<T>;

fn closed() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "client closed the connection")
}

impl Conn {
    /// Bounds the next read and write by the start-up deadline, if there is one.
    fn bound_by_deadline(&self) -> IoResult<()> {
        if let Some(d) = self.deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "authentication timed out"));
            }
            self.stream.set_read_timeout(Some(left)).map_err(|e| std::io::Error::other(e.to_string()))?;
            self.stream.set_write_timeout(Some(left)).map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        Ok(())
    }

    /// The session is ready: reads and writes wait as long as they need from now on.
    fn end_deadline(&mut self) -> IoResult<()> {
        self.deadline = None;
        self.stream.set_read_timeout(None).map_err(|e| std::io::Error::other(e.to_string()))?;
        self.stream.set_write_timeout(None).map_err(|e| std::io::Error::other(e.to_string()))
    }

    async fn flush(&mut self) -> IoResult<()> {
        self.bound_by_deadline()?;
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// Reads more bytes; Err on EOF.
    async fn read_more(&mut self) -> IoResult<()> {
        self.bound_by_deadline()?;
        let n = self.stream.read(&mut self.chunk).await?;
        if n == 0 {
            return Err(closed());
        }
        self.rbuf.extend_from_slice(&self.chunk[..n]);
        Ok(())
    }

    async fn fatal(&mut self, e: SqlError) -> IoResult<()> {
        put_error(&mut self.out, &e, "FATAL");
        self.flush().await?;
        Err(std::io::Error::other(e.message))
    }

    /// Reads the next typed message (authentication and query phases).
    async fn message(&mut self) -> IoResult<(u8, BytesMut)> {
        loop {
            match next_message(&mut self.rbuf) {
                Frame::Message(t, m) => return Ok((t, m)),
                Frame::BadLength => {
                    self.fatal(SqlError::new(code::PROTOCOL_VIOLATION, "invalid message length")).await?;
                }
                Frame::Incomplete => {
                    // The client waits for what we have buffered before it sends more.
                    self.flush().await?;
                    self.read_more().await?;
                }
            }
        }
    }

    /// Reads an untyped start-up packet: (protocol code, whole packet).
    async fn startup_packet(&mut self) -> IoResult<(i32, BytesMut)> {
        while self.rbuf.len() < 4 {
            self.read_more().await?;
        }
        let len = i32::from_be_bytes([self.rbuf[0], self.rbuf[1], self.rbuf[2], self.rbuf[3]]);
        if !(8..=messages::SMALL_MESSAGE_LIMIT as i32).contains(&len) {
            self.fatal(SqlError::new(code::PROTOCOL_VIOLATION, "invalid length of startup packet")).await?;
        }
        while self.rbuf.len() < len as usize {
            self.read_more().await?;
        }
        let pkt = self.rbuf.split_to(len as usize);
        let code = i32::from_be_bytes([pkt[4], pkt[5], pkt[6], pkt[7]]);
        Ok((code, pkt))
    }
}

async fn connection(stream: TcpStream, cfg: Arc<PgConfig>) -> IoResult<()> {
    let _ = stream.set_nodelay(true);
    let mut c = Conn {
        stream,
        rbuf: BytesMut::with_capacity(READ_CHUNK_BYTES),
        chunk: vec![0; READ_CHUNK_BYTES].into_boxed_slice(),
        out: BytesMut::with_capacity(READ_CHUNK_BYTES),
        status: TxStatus::Idle,
        txn: None,
        reserved_txn_id: std::cell::Cell::new(None),
        startup: Default::default(),
        settings_at_begin: None,
        local_settings: Vec::new(),
        settings_at_savepoints: Vec::new(),
        notify: super::notify::Session::new(0),
        cancel: Rc::default(),
        sequences: Rc::default(),
        activity: Rc::default(),
        deadline: Some(Instant::now() + cfg.authentication_timeout),
        statements: Rc::default(),
        cursors: Rc::default(),
        portals: HashMap::new(),
        skip_to_sync: false,
        at_ready: false,
        settings: Default::default(),
    };
    let params = loop {
        let (code, pkt) = c.startup_packet().await?;
        match code {
            SSL_REQUEST | GSSENC_REQUEST => {
                // TLS and GSSAPI encryption are not offered: 'N', then the client goes on in
                // the clear (or gives up, if it requires encryption).
                if !c.rbuf.is_empty() {
                    // Bytes after the request before our answer: PostgreSQL treats this as a
                    // protocol violation (a buffer-stuffing attack on TLS).
                    return c
                        .fatal(SqlError::new(code::PROTOCOL_VIOLATION, "received unencrypted data after SSL request"))
                        .await;
                }
                c.bound_by_deadline()?;
                c.stream.write_all(b"N").await?;
            }
            CANCEL_REQUEST => {
                cancel_request(&pkt).await;
                return Ok(());
            }
            v if v >> 16 == 3 => {
                let body = &pkt[8..];
                let mut params = HashMap::new();
                let mut fields = body.split(|&b| b == 0);
                while let Some(k) = fields.next() {
                    if k.is_empty() {
                        break;
                    }
                    let v = fields.next().unwrap_or(&[]);
                    params.insert(String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned());
                }
                if v & 0xffff != 0 {
                    // A newer 3.x minor: tell the client we speak 3.0 (and no _pq_ options).
                    let unrecognized: Vec<String> = params.keys().filter(|k| k.starts_with("_pq_.")).cloned().collect();
                    put(&mut c.out, pgwire::messages::startup::NegotiateProtocolVersion::new(0, unrecognized));
                }
                break params;
            }
            v => {
                let (major, minor) = (v >> 16, v & 0xffff);
                return c
                    .fatal(SqlError::new(
                        code::FEATURE_NOT_SUPPORTED,
                        format!("unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.0"),
                    ))
                    .await;
            }
        }
    };
    // Past max_connections, PostgreSQL's FATAL before authentication (its InitProcess finds no
    // free slot). CancelRequest and SSLRequest above take none. The one role is a superuser,
    // so superuser_reserved_connections leaves it all the slots.
    let Some(_slot) = SessionSlot::take(cfg.max_connections) else {
        return c.fatal(SqlError::new("53300", "sorry, too many clients already")).await;
    };
    let Some(user) = params.get("user").cloned() else {
        return c
            .fatal(SqlError::new(
                code::INVALID_AUTHORIZATION_SPECIFICATION,
                "no PostgreSQL user name specified in startup packet",
            ))
            .await;
    };
    let database = params.get("database").filter(|d| !d.is_empty()).cloned().unwrap_or_else(|| user.clone());
    authenticate(&mut c, &cfg, &user).await?;
    if database != "postgres" && database != cfg.user {
        return c
            .fatal(SqlError::new(code::INVALID_CATALOG_NAME, format!("database \"{database}\" does not exist")))
            .await;
    }
    let client_encoding = match params.get("client_encoding").map(|e| e.to_ascii_uppercase().replace(['-', '_'], "")) {
        None => "UTF8".to_string(),
        Some(e) if e == "UTF8" || e == "UNICODE" => "UTF8".to_string(),
        Some(e) if e == "SQLASCII" => "SQL_ASCII".to_string(),
        Some(_) => {
            let asked = params.get("client_encoding").cloned().unwrap_or_default();
            return c
                .fatal(SqlError::new(
                    code::FEATURE_NOT_SUPPORTED,
                    format!("conversion to client encoding \"{asked}\" is not supported yet"),
                ))
                .await;
        }
    };
    put(&mut c.out, Authentication::Ok);
    // The GUC_REPORT parameters PostgreSQL 15 sends, in its order, and Orbit's version.
    let application_name = params.get("application_name").cloned().unwrap_or_default();
    let max_connections = cfg.max_connections.to_string();
    let authentication_timeout = orbit_query::settings::show_ms(cfg.authentication_timeout.as_millis() as i64);
    let report = [
        ("application_name", application_name.as_str()),
        ("client_encoding", client_encoding.as_str()),
        ("DateStyle", "ISO, MDY"),
        ("default_transaction_read_only", "off"),
        ("in_hot_standby", "off"),
        ("integer_datetimes", "on"),
        ("IntervalStyle", "postgres"),
        ("is_superuser", "on"),
        ("server_encoding", "UTF8"),
        ("server_version", "15.0"),
        ("session_authorization", user.as_str()),
        ("max_connections", max_connections.as_str()),
        ("authentication_timeout", authentication_timeout.as_str()),
        ("standard_conforming_strings", "on"),
        ("TimeZone", "UTC"),
        ("orbit_version", crate::SERVER_VERSION),
    ];
    c.settings = std::rc::Rc::new(report.iter().map(|(k, v)| (*k, v.to_string())).collect());
    for &(name, _, default) in orbit_query::settings::PARAMETERS {
        if let (Some(d), false) = (default, c.settings.iter().any(|(k, _)| *k == name)) {
            std::rc::Rc::make_mut(&mut c.settings).push((name, d.to_string()));
        }
    }
    // `options` (libpq's PGOPTIONS: `-c name=value`, `--name=value`) and the other parameters
    // in the start-up packet are SETs, applied in that order as PostgreSQL applies them.
    let options = match params.get("options").map(|o| startup_options(o)).transpose() {
        Ok(o) => o.unwrap_or_default(),
        Err(e) => return c.fatal(e).await,
    };
    // A parameter the packet also names is set again from it, after: the packet's value wins.
    for (k, v) in options.iter().filter(|(k, _)| !params.keys().any(|p| p.eq_ignore_ascii_case(k))) {
        match orbit_query::settings::set_value(k, std::slice::from_ref(v)) {
            Ok((name, value)) => set_setting(&mut c, name, value),
            Err(e) => return c.fatal(e).await,
        }
    }
    for (k, v) in &params {
        if matches!(
            k.as_str(),
            "user" | "database" | "options" | "replication" | "application_name" | "client_encoding"
        ) || k.starts_with("_pq_.")
        {
            continue;
        }
        match orbit_query::settings::set_value(k, std::slice::from_ref(v)) {
            Ok((name, value)) => set_setting(&mut c, name, value),
            Err(e) => return c.fatal(e).await,
        }
    }
    for (k, v) in c.settings.iter().filter(|(k, _)| orbit_query::settings::reported(k)) {
        put(&mut c.out, ParameterStatus::new(k.to_string(), v.clone()));
    }
    c.startup = c.settings.clone();
    let pid = NEXT_PID.fetch_add(1, Ordering::Relaxed);
    c.notify = super::notify::Session::new(pid);
    let secret: i32 = rand::random();
    BACKENDS.with(|b| b.borrow_mut().insert(pid, (secret, c.cancel.clone())));
    let _registered = Registered(pid);
    {
        let now = orbit_query::datetime::now_us();
        let peer = c.stream.peer_addr().ok();
        let mut a = c.activity.borrow_mut();
        a.pid = pid;
        a.user = user.clone();
        a.application_name =
            c.settings.iter().find(|(k, _)| *k == "application_name").map(|(_, v)| v.clone()).unwrap_or_default();
        a.client_addr = peer.map(|p| p.ip().to_string()).unwrap_or_default();
        a.client_port = peer.map_or(-1, |p| p.port() as i32);
        a.backend_start_us = now;
        a.state_change_us = now;
        a.state = "idle";
        a.signals = Some(c.cancel.clone());
    }
    orbit_query::catalog::register(c.activity.clone());
    put(&mut c.out, BackendKeyData::new(pid, SecretKey::I32(secret)));
    ready(&mut c);
    c.flush().await?;
    c.end_deadline()?;
    let r = query_loop(&mut c).await;
    // A session that ends inside a block (or an unsynced implicit transaction) rolls it back, as
    // PostgreSQL does: its locks go, and its DDL is undone.
    if let Some(t) = c.txn.take() {
        t.rollback().await;
    }
    // Its temporary tables go with it (also when the client vanished).
    if let Err(e) = orbit_query::temp_tables::discard(pid, true).await {
        tracing::warn!(pid, error = %e.message, "cannot drop the temporary tables of an ended session");
    }
    r
}

async fn authenticate(c: &mut Conn, cfg: &PgConfig, user: &str) -> IoResult<()> {
    let failed = |user: &str| {
        SqlError::new(code::INVALID_PASSWORD, format!("password authentication failed for user \"{user}\""))
    };
    match (cfg.method, &cfg.secret) {
        (AuthMethod::Trust, _) | (_, None) => {
            if user != cfg.user {
                return c
                    .fatal(SqlError::new(
                        code::INVALID_AUTHORIZATION_SPECIFICATION,
                        format!("role \"{user}\" does not exist"),
                    ))
                    .await;
            }
            Ok(())
        }
        (AuthMethod::Password, Some(secret)) => {
            put(&mut c.out, Authentication::CleartextPassword);
            let (t, msg) = c.message().await?;
            let pw = match (t, decode(msg)) {
                (b'p', Some(F::PasswordMessageFamily(p))) => p.into_password().ok().map(|p| p.password),
                _ => None,
            };
            let Some(pw) = pw else {
                return c
                    .fatal(SqlError::new(
                        code::PROTOCOL_VIOLATION,
                        format!("expected password response, got message type {}", t as char),
                    ))
                    .await;
            };
            if user != cfg.user || pw.is_empty() || !secret.check_password(&pw) {
                return c.fatal(failed(user)).await;
            }
            Ok(())
        }
        (AuthMethod::ScramSha256, Some(secret)) => {
            put(&mut c.out, Authentication::SASL(vec!["SCRAM-SHA-256".to_string()]));
            let (t, msg) = c.message().await?;
            let initial = match (t, decode(msg)) {
                (b'p', Some(F::PasswordMessageFamily(p))) => p.into_sasl_initial_response().ok(),
                _ => None,
            };
            let Some(initial) = initial else {
                return c.fatal(SqlError::new(code::PROTOCOL_VIOLATION, "expected SASL response")).await;
            };
            if initial.auth_method != "SCRAM-SHA-256" {
                return c
                    .fatal(SqlError::new(
                        code::PROTOCOL_VIOLATION,
                        "client selected an invalid SASL authentication mechanism",
                    ))
                    .await;
            }
            let data = initial.data.unwrap_or_default();
            let (server, first) = match ScramServer::start(secret, &data) {
                Ok(x) => x,
                Err(e) => return c.fatal(scram_error(e, user)).await,
            };
            put(&mut c.out, Authentication::SASLContinue(Bytes::from(first)));
            let (t, msg) = c.message().await?;
            let resp = match (t, decode(msg)) {
                (b'p', Some(F::PasswordMessageFamily(p))) => p.into_sasl_response().ok(),
                _ => None,
            };
            let Some(resp) = resp else {
                return c.fatal(SqlError::new(code::PROTOCOL_VIOLATION, "expected SASL response")).await;
            };
            match server.finish(&resp.data) {
                // An unknown user fails like a wrong password, so names cannot be probed.
                Ok(_) if user != cfg.user => c.fatal(failed(user)).await,
                Ok(final_msg) => {
                    put(&mut c.out, Authentication::SASLFinal(Bytes::from(final_msg)));
                    Ok(())
                }
                Err(e) => c.fatal(scram_error(e, user)).await,
            }
        }
    }
}

fn scram_error(e: ScramError, user: &str) -> SqlError {
    match e {
        ScramError::BadProof => {
            SqlError::new(code::INVALID_PASSWORD, format!("password authentication failed for user \"{user}\""))
        }
        ScramError::Malformed(why) => SqlError::new(code::PROTOCOL_VIOLATION, "malformed SCRAM message").detail(why),
    }
}

fn ready(c: &mut Conn) {
    end_activity(c);
    // Outside a transaction: what the one that ended (it committed: a failed one discarded
    // them) did with LISTEN / NOTIFY applies, and the notifications delivered meanwhile go out.
    if c.status == TxStatus::Idle && c.txn.is_none() {
        c.notify.commit();
        send_notifications(c);
    }
    let s = match c.status {
        TxStatus::Idle => TransactionStatus::Idle,
        TxStatus::InBlock => TransactionStatus::Transaction,
        TxStatus::Failed => TransactionStatus::Error,
    };
    put(&mut c.out, ReadyForQuery::new(s));
    c.at_ready = true;
}

fn aborted() -> SqlError {
    SqlError::new(
        code::IN_FAILED_SQL_TRANSACTION,
        "current transaction is aborted, commands ignored until end of transaction block",
    )
}

/// How long the session may wait for the client's next message after ReadyForQuery before it
/// ends: `idle_in_transaction_session_timeout` in an open (or failed) block,
/// `idle_session_timeout` outside one (0: no limit), with the FATAL PostgreSQL sends then.
fn idle_limit(c: &Conn) -> Option<(std::time::Duration, SqlError)> {
    let (name, state, message) = match c.status {
        TxStatus::Idle => ("idle_session_timeout", "57P05", "terminating connection due to idle-session timeout"),
        TxStatus::InBlock | TxStatus::Failed => (
            "idle_in_transaction_session_timeout",
            "25P03",
            "terminating connection due to idle-in-transaction timeout",
        ),
    };
    let v = c.settings.iter().find(|(k, _)| *k == name)?;
    Some((orbit_query::settings::timeout(&v.1)?, SqlError::new(state, message)))
}

async fn query_loop(c: &mut Conn) -> IoResult<()> {
    // The read timeout set on the socket now (None: none).
    let mut read_limit = None;
    loop {
        // Waiting at ReadyForQuery: the idle timeouts apply (not inside an extended-protocol
        // exchange; a message already buffered is read without waiting).
        let limit = if c.at_ready { idle_limit(c) } else { None };
        let wanted = limit.as_ref().map(|(d, _)| *d);
        if wanted != read_limit {
            c.stream.set_read_timeout(wanted).map_err(|e| std::io::Error::other(e.to_string()))?;
            read_limit = wanted;
        }
        // A listening session idle outside a block gets its notifications as they come.
        let got = if c.at_ready && c.status == TxStatus::Idle && c.notify.listens() {
            let inbox = c.notify.inbox.clone();
            let read = std::pin::pin!(c.message());
            let note = std::pin::pin!(inbox.wait());
            match futures::future::select(read, note).await {
                futures::future::Either::Left((m, _)) => Some(m),
                // The read stops at a message boundary or keeps what it read in `rbuf`.
                futures::future::Either::Right(((), _)) => None,
            }
        } else {
            Some(c.message().await)
        };
        let Some(got) = got else {
            send_notifications(c);
            c.flush().await?;
            continue;
        };
        let (t, msg) = match got {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => match limit {
                Some((_, fatal)) => {
                    tracing::info!(pid = c.activity.borrow().pid, "{}", fatal.message);
                    return c.fatal(fatal).await;
                }
                None => return Err(e),
            },
            Err(e) => return Err(e),
        };
        c.at_ready = false;
        if c.skip_to_sync && t != b'S' && t != b'X' {
            continue;
        }
        let Some(m) = decode(msg) else {
            if !matches!(t, b'Q' | b'P' | b'B' | b'D' | b'E' | b'C' | b'S' | b'H' | b'X' | b'd' | b'c' | b'f' | b'p') {
                return c
                    .fatal(SqlError::new(code::PROTOCOL_VIOLATION, format!("invalid frontend message type {t}")))
                    .await;
            }
            return c.fatal(SqlError::new(code::PROTOCOL_VIOLATION, "invalid message format")).await;
        };
        match m {
            F::Query(q) => {
                simple_query(c, &q.query).await;
                ready(c);
                c.flush().await?;
            }
            F::Parse(p) => {
                let r = parse(c, p.name.unwrap_or_default(), &p.query, &p.type_oids);
                if r.is_ok() {
                    put(&mut c.out, ParseComplete::new());
                }
                extended(c, r);
            }
            F::Bind(b) => {
                let r = bind_portal(c, b);
                if r.is_ok() {
                    put(&mut c.out, BindComplete::new());
                }
                extended(c, r);
            }
            F::Describe(d) => {
                let r = describe(c, d.target_type, &d.name.unwrap_or_default());
                extended(c, r);
            }
            F::Execute(e) => {
                let r = execute(c, &e.name.unwrap_or_default(), e.max_rows).await;
                extended(c, r);
            }
            F::Close(cl) => {
                let name = cl.name.unwrap_or_default();
                if cl.target_type == b'S' {
                    prepared::close(c, &name);
                } else {
                    c.portals.remove(&name);
                }
                put(&mut c.out, CloseComplete::new());
            }
            F::Sync(_) => {
                c.skip_to_sync = false;
                if c.status == TxStatus::Idle {
                    // The implicit transaction ends: it commits (an error here is the
                    // commit's), and its portals go with it.
                    c.portals.clear();
                    if let Some(t) = c.txn.take() {
                        if let Err(e) = t.commit().await {
                            put_error(&mut c.out, &e, "ERROR");
                            c.notify.discard();
                        }
                    }
                }
                ready(c);
                c.flush().await?;
            }
            F::Flush(_) => c.flush().await?,
            F::Terminate(_) => return Ok(()),
            F::CopyData(_) | F::CopyDone(_) | F::CopyFail(_) => {
                // Outside COPY these are ignored, as PostgreSQL does.
            }
            _ => {
                return c
                    .fatal(SqlError::new(code::PROTOCOL_VIOLATION, format!("invalid frontend message type {t}")))
                    .await;
            }
        }
        if c.out.len() >= WRITE_FLUSH_BYTES {
            c.flush().await?;
        }
    }
}

/// Reports an extended-protocol error: ErrorResponse, then skip to Sync.
fn extended(c: &mut Conn, r: Result<(), SqlError>) {
    if let Err(e) = r {
        put_error(&mut c.out, &e, "ERROR");
        fail_transaction(c);
        c.skip_to_sync = true;
    }
}

fn is_tx_exit(plan: &Plan) -> bool {
    matches!(plan, Plan::Commit { .. } | Plan::Rollback { .. } | Plan::RollbackTo(_))
}

fn is_tx_control(plan: &Plan) -> bool {
    matches!(
        plan,
        Plan::Begin { .. }
            | Plan::Commit { .. }
            | Plan::Rollback { .. }
            | Plan::Savepoint(_)
            | Plan::ReleaseSavepoint(_)
            | Plan::RollbackTo(_)
    )
}

fn outside_block(what: &str) -> SqlError {
    SqlError::new(code::NO_ACTIVE_SQL_TRANSACTION, format!("{what} can only be used in transaction blocks"))
}

/// BEGIN, COMMIT, ROLLBACK and savepoints: the transaction and status change, and the tag
/// PostgreSQL replies with.
async fn transaction(c: &mut Conn, plan: &Plan) -> Result<&'static str, SqlError> {
    let warn =
        |c: &mut Conn, code: &'static str, msg: &str| put_error(&mut c.out, &SqlError::new(code, msg), "WARNING");
    match plan {
        // AND CHAIN: the block ends as without it, and a new one with its modes starts.
        Plan::Commit { chain: true } | Plan::Rollback { chain: true } => {
            let commit = matches!(plan, Plan::Commit { .. });
            if c.status == TxStatus::Idle {
                return Err(outside_block(if commit { "COMMIT AND CHAIN" } else { "ROLLBACK AND CHAIN" }));
            }
            let modes = c.txn.as_ref().map(|t| (t.read_only, t.isolation, t.deferrable));
            let end = if commit { Plan::Commit { chain: false } } else { Plan::Rollback { chain: false } };
            let tag = Box::pin(transaction(c, &end)).await?;
            let (read_only, isolation, deferrable) = match modes {
                Some((r, i, d)) => (Some(r), Some(i), Some(d)),
                None => (None, None, None),
            };
            Box::pin(transaction(c, &Plan::Begin { read_only, isolation, deferrable, start: false })).await?;
            Ok(tag)
        }
        Plan::Begin { read_only, isolation, deferrable, start } => {
            let tag = if *start { "START TRANSACTION" } else { "BEGIN" };
            if c.status != TxStatus::Idle {
                warn(c, code::ACTIVE_SQL_TRANSACTION, "there is already a transaction in progress");
                return Ok(tag);
            }
            if c.txn.is_none() {
                c.txn = Some(new_txn(c));
            }
            let txn = c.txn.as_mut().expect("just set");
            // After a query earlier in the same Query message (its implicit transaction becomes
            // the block), the modes are PostgreSQL's SET TRANSACTION, checked as there.
            if txn.has_snapshot() || txn.has_queried() {
                let active = |m: &str| Err(SqlError::new(code::ACTIVE_SQL_TRANSACTION, m));
                if isolation.is_some_and(|i| i != txn.isolation) {
                    return active("SET TRANSACTION ISOLATION LEVEL must be called before any query");
                }
                if *read_only == Some(false) && txn.read_only && txn.has_queried() {
                    return active("transaction read-write mode must be set before any query");
                }
                // PostgreSQL's check_transaction_deferrable refuses any value then, even the
                // one in force.
                if deferrable.is_some() && txn.has_queried() {
                    return active("SET TRANSACTION [NOT] DEFERRABLE must be called before any query");
                }
            }
            if let Some(ro) = read_only {
                txn.read_only = *ro;
            }
            if let Some(i) = isolation {
                txn.isolation = *i;
            }
            if let Some(d) = deferrable {
                txn.deferrable = *d;
            }
            let level = txn.isolation.name();
            let modes = block_modes(txn);
            c.status = TxStatus::InBlock;
            c.settings_at_begin = Some(c.settings.clone());
            // SHOW transaction_isolation (and _read_only, _deferrable) tells the block's modes
            // until it ends.
            for name in ["transaction_isolation", "transaction_read_only", "transaction_deferrable"] {
                note_local(c, name);
            }
            let mut to = vec![("transaction_isolation", level.to_string())];
            to.extend(modes);
            apply_settings(c, to);
            Ok(tag)
        }
        Plan::Commit { chain: false } => {
            let status = std::mem::replace(&mut c.status, TxStatus::Idle);
            // The commit runs under the block's parameters, SET LOCAL ones included
            // (`synchronous_commit`), before they are undone.
            let at_commit = c.settings.clone();
            end_block_settings(c, status == TxStatus::InBlock);
            let txn = c.txn.take().map(|mut t| {
                t.settings = at_commit;
                t
            });
            match status {
                TxStatus::Idle => {
                    warn(c, code::NO_ACTIVE_SQL_TRANSACTION, "there is no transaction in progress");
                    if let Some(t) = txn {
                        t.commit().await?;
                    }
                    Ok("COMMIT")
                }
                TxStatus::InBlock => {
                    if let Some(t) = txn {
                        if let Err(e) = t.commit().await {
                            c.notify.discard();
                            return Err(e);
                        }
                    }
                    c.notify.commit();
                    Ok("COMMIT")
                }
                TxStatus::Failed => {
                    c.notify.discard();
                    if let Some(t) = txn {
                        t.rollback().await;
                    }
                    Ok("ROLLBACK")
                }
            }
        }
        Plan::Rollback { chain: false } => {
            if c.status == TxStatus::Idle {
                warn(c, code::NO_ACTIVE_SQL_TRANSACTION, "there is no transaction in progress");
            }
            c.status = TxStatus::Idle;
            end_block_settings(c, false);
            c.notify.discard();
            if let Some(t) = c.txn.take() {
                t.rollback().await;
            }
            Ok("ROLLBACK")
        }
        Plan::Savepoint(name) => match (c.status, c.txn.as_mut()) {
            (TxStatus::InBlock, Some(t)) => {
                t.savepoint(name);
                let mark = c.notify.mark();
                c.settings_at_savepoints.push((name.clone(), c.settings.clone(), c.local_settings.clone(), mark));
                Ok("SAVEPOINT")
            }
            (TxStatus::Failed, _) => Err(aborted()),
            _ => Err(outside_block("SAVEPOINT")),
        },
        Plan::ReleaseSavepoint(name) => match (c.status, c.txn.as_mut()) {
            (TxStatus::InBlock, Some(t)) => {
                t.release(name)?;
                if let Some(i) = c.settings_at_savepoints.iter().rposition(|(n, ..)| n == name) {
                    // A READ ONLY set inside the savepoint ends with it (PostgreSQL's
                    // CommitSubTransaction puts XactReadOnly back); its other SETs stay.
                    let read_only = setting_in(&c.settings_at_savepoints[i].1, "transaction_read_only");
                    c.settings_at_savepoints.truncate(i);
                    apply_settings(c, vec![("transaction_read_only", read_only)]);
                    follow_read_only(c);
                }
                Ok("RELEASE")
            }
            (TxStatus::Failed, _) => Err(aborted()),
            _ => Err(outside_block("RELEASE SAVEPOINT")),
        },
        Plan::RollbackTo(name) => match (c.status, c.txn.as_mut()) {
            (TxStatus::InBlock | TxStatus::Failed, Some(t)) => {
                t.rollback_to(name).await?;
                c.status = TxStatus::InBlock;
                // The parameters SET since the savepoint go back too.
                if let Some(i) = c.settings_at_savepoints.iter().rposition(|(n, ..)| n == name) {
                    c.settings_at_savepoints.truncate(i + 1);
                    let (_, at, locals, mark) = c.settings_at_savepoints[i].clone();
                    c.local_settings = locals;
                    c.notify.roll_back_to(mark);
                    restore_settings(c, &at);
                    follow_read_only(c);
                }
                Ok("ROLLBACK")
            }
            _ => Err(outside_block("ROLLBACK TO SAVEPOINT")),
        },
        _ => Ok(""),
    }
}

fn set_setting(c: &mut Conn, name: &'static str, value: String) {
    let settings = std::rc::Rc::make_mut(&mut c.settings);
    match settings.iter_mut().find(|(k, _)| *k == name) {
        Some(slot) => slot.1 = value,
        None => settings.push((name, value)),
    }
}

/// Changes parameters, telling the client about reported ones whose value changed.
fn apply_settings(c: &mut Conn, to: Vec<(&'static str, String)>) {
    for (name, value) in to {
        let old = c.settings.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
        if old.as_deref() != Some(value.as_str()) {
            if orbit_query::settings::reported(name) {
                put(&mut c.out, ParameterStatus::new(name.to_string(), value.clone()));
            }
            if name == "application_name" {
                c.activity.borrow_mut().application_name = value.clone();
            }
            set_setting(c, name, value);
        }
    }
}

/// transaction_read_only and transaction_deferrable as SHOW prints a transaction's.
fn block_modes(txn: &orbit_query::Txn) -> [(&'static str, String); 2] {
    let on = |b: bool| if b { "on" } else { "off" }.to_string();
    [("transaction_read_only", on(txn.read_only)), ("transaction_deferrable", on(txn.deferrable))]
}

/// `SET TRANSACTION READ ONLY | READ WRITE` / `SET transaction_read_only` and `SET
/// transaction_deferrable` in a block, as PostgreSQL's check_transaction_read_only and
/// check_transaction_deferrable allow them (25001 once a query ran, or inside a savepoint).
fn set_access_mode(c: &mut Conn, name: &'static str, on: bool) -> Result<&'static str, SqlError> {
    let Some(txn) = c.txn.as_mut() else { return Ok("SET") };
    let active = |m: &str| SqlError::new(code::ACTIVE_SQL_TRANSACTION, m);
    if name == "transaction_read_only" {
        // Turning read-only on is always allowed; read-write only before the first query of a
        // transaction that is read-only now, and not inside a savepoint.
        if !on && txn.read_only {
            if txn.in_savepoint() {
                return Err(active("cannot set transaction read-write mode inside a read-only transaction"));
            }
            if txn.has_queried() {
                return Err(active("transaction read-write mode must be set before any query"));
            }
        }
        txn.read_only = on;
    } else {
        // Any value, even the one in force (PostgreSQL's check_transaction_deferrable).
        if txn.in_savepoint() {
            return Err(active("SET TRANSACTION [NOT] DEFERRABLE cannot be called within a subtransaction"));
        }
        if txn.has_queried() {
            return Err(active("SET TRANSACTION [NOT] DEFERRABLE must be called before any query"));
        }
        txn.deferrable = on;
    }
    let modes = block_modes(txn);
    apply_settings(c, modes.into_iter().filter(|(k, _)| *k == name).collect());
    Ok("SET")
}

/// `SET TRANSACTION ISOLATION LEVEL` / `SET transaction_isolation` and `SET TRANSACTION READ
/// ONLY | WRITE`: the block's transaction changes (a WARNING outside a block, as in PostgreSQL);
/// None for any other SET.
fn set_transaction(
    c: &mut Conn,
    name: &str,
    value: Option<&String>,
    local: bool,
) -> Option<Result<&'static str, SqlError>> {
    if name != "transaction_isolation" && name != "transaction_read_only" && name != "transaction_deferrable" {
        return None;
    }
    if c.txn.is_none() || c.status != TxStatus::InBlock {
        // A plain SET of them outside a block sets the implicit transaction's (no WARNING: only
        // SET TRANSACTION warns), which has nothing left to run.
        if !local && name != "transaction_isolation" {
            return Some(Ok("SET"));
        }
        let e =
            SqlError::new(code::NO_ACTIVE_SQL_TRANSACTION, "SET TRANSACTION can only be used in transaction blocks");
        put_error(&mut c.out, &e, "WARNING");
        return Some(Ok("SET"));
    }
    match name {
        "transaction_read_only" => {
            return Some(set_access_mode(c, "transaction_read_only", value.is_some_and(|v| v == "on")))
        }
        "transaction_deferrable" => {
            return Some(set_access_mode(c, "transaction_deferrable", value.is_some_and(|v| v == "on")))
        }
        _ => {}
    }
    let txn = c.txn.as_mut()?;
    let level = orbit_query::Isolation::from_setting(value.map_or("read committed", |v| v.as_str()));
    // After the first query (a READ COMMITTED block's too, which takes no snapshot here).
    if (txn.has_snapshot() || txn.has_queried()) && level != txn.isolation {
        return Some(Err(SqlError::new(
            code::ACTIVE_SQL_TRANSACTION,
            "SET TRANSACTION ISOLATION LEVEL must be called before any query",
        )));
    }
    txn.isolation = level;
    note_local(c, "transaction_isolation");
    apply_settings(c, vec![("transaction_isolation", level.name().to_string())]);
    Some(Ok("SET"))
}

/// `SET [LOCAL] name = value | DEFAULT` and `RESET`: the tag.
fn run_set(c: &mut Conn, plan: &Plan) -> Result<&'static str, SqlError> {
    if let Plan::Sets(plans) = plan {
        // Outside a block PostgreSQL warns once for the statement, not once per mode.
        let in_block = c.txn.is_some() && c.status == TxStatus::InBlock;
        let mut tag = "SET";
        for (k, p) in plans.iter().enumerate() {
            let txn_mode = matches!(p, Plan::Set { name: "transaction_isolation" | "transaction_read_only", .. });
            if k > 0 && txn_mode && !in_block {
                continue;
            }
            tag = run_set(c, p)?;
        }
        return Ok(tag);
    }
    if let Plan::Set { name, value, local } = plan {
        if let Some(r) = set_transaction(c, name, value.as_ref(), *local) {
            return r;
        }
    }
    Ok(run_other_set(c, plan))
}

fn run_other_set(c: &mut Conn, plan: &Plan) -> &'static str {
    match plan {
        Plan::Set { name, value, local } => {
            if *local && c.status == TxStatus::Idle {
                put_error(
                    &mut c.out,
                    &SqlError::new(code::NO_ACTIVE_SQL_TRANSACTION, "SET LOCAL can only be used in transaction blocks"),
                    "WARNING",
                );
                make_custom(c, name);
                return "SET";
            }
            let value = match value {
                Some(v) => v.clone(),
                None => c.startup.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default(),
            };
            if *local {
                note_local(c, name);
            } else {
                // A plain SET in a block outlasts its COMMIT, also after a SET LOCAL.
                c.local_settings.retain(|(k, _)| k != name);
            }
            // Outside a block the next transaction's level (access mode, DEFERRABLE) is the
            // default's.
            if c.status == TxStatus::Idle {
                if let Some(follows) = follower(name) {
                    apply_settings(c, vec![(follows, value.clone())]);
                }
            }
            apply_settings(c, vec![(name, value)]);
            "SET"
        }
        Plan::Reset(which) => {
            // RESET ALL leaves the role, the session authorization and the transaction's modes
            // as they are (PostgreSQL's GUC_NO_RESET_ALL).
            let all_but = |k: &str| {
                !matches!(
                    k,
                    "role"
                        | "session_authorization"
                        | "transaction_isolation"
                        | "transaction_read_only"
                        | "transaction_deferrable"
                )
            };
            let resets = |k: &str| which.map_or(all_but(k), |w| w == k);
            let mut to: Vec<_> = c.startup.iter().filter(|(k, _)| resets(k)).cloned().collect();
            // A custom parameter the session made since it started is left empty.
            let made: Vec<_> = c
                .settings
                .iter()
                .map(|(k, _)| *k)
                .chain(*which)
                .filter(|k| resets(k) && !c.startup.iter().any(|(s, _)| s == k))
                .map(|k| (k, String::new()))
                .collect();
            to.extend(made);
            c.local_settings.retain(|(k, _)| !resets(k));
            // Outside a block the next transaction's modes are the defaults' (as for SET).
            if c.status == TxStatus::Idle {
                let follow: Vec<_> = to.iter().filter_map(|(k, v)| follower(k).map(|f| (f, v.clone()))).collect();
                to.extend(follow);
            }
            apply_settings(c, to);
            "RESET"
        }
        _ => "",
    }
}

/// The transaction parameter a session default sets for the next transaction.
fn follower(default: &str) -> Option<&'static str> {
    match default {
        "default_transaction_isolation" => Some("transaction_isolation"),
        "default_transaction_read_only" => Some("transaction_read_only"),
        "default_transaction_deferrable" => Some("transaction_deferrable"),
        _ => None,
    }
}

/// At the end of a transaction block: ROLLBACK takes back every SET made in it, COMMIT the SET
/// LOCAL ones.
fn end_block_settings(c: &mut Conn, committed: bool) {
    let Some(before) = c.settings_at_begin.take() else { return };
    let locals = std::mem::take(&mut c.local_settings);
    c.settings_at_savepoints.clear();
    if committed {
        apply_settings(c, locals);
    } else {
        restore_settings(c, &before);
    }
}

/// Sets every parameter back to its value in `at`; a custom parameter made since is left
/// empty (PostgreSQL keeps a placeholder once made).
fn restore_settings(c: &mut Conn, at: &[(&'static str, String)]) {
    let mut to = at.to_vec();
    to.extend(c.settings.iter().filter(|(k, _)| !at.iter().any(|(a, _)| a == k)).map(|(k, _)| (*k, String::new())));
    apply_settings(c, to);
}

/// Parameter `name`'s value in `settings` ("" when it has none).
fn setting_in(settings: &[(&'static str, String)], name: &str) -> String {
    settings.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// The block's access mode as its `transaction_read_only` parameter now says (after a
/// savepoint's end put the parameter back).
fn follow_read_only(c: &mut Conn) {
    let on = setting_in(&c.settings, "transaction_read_only") == "on";
    if let Some(t) = c.txn.as_mut() {
        t.read_only = on;
    }
}

/// A custom parameter a SET LOCAL outside a block names: made, empty (as PostgreSQL's
/// placeholder outlasts the statement's own transaction, where the value lived).
fn make_custom(c: &mut Conn, name: &'static str) {
    if orbit_query::settings::is_custom(name) && !c.settings.iter().any(|(k, _)| *k == name) {
        set_setting(c, name, String::new());
    }
}

/// A SET LOCAL of `name` in a block: COMMIT gives it back its value now, unless an earlier SET
/// LOCAL in the block already noted one.
fn note_local(c: &mut Conn, name: &'static str) {
    if !c.local_settings.iter().any(|(k, _)| *k == name) {
        let now = c.settings.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        c.local_settings.push((name, now));
    }
}

/// Runs a statement in the connection's transaction, or in its own one that commits at once
/// when there is none.
/// Arms the session's cancel switch with its statement_timeout, lock_timeout and
/// deadlock_timeout.
fn arm_cancel(c: &Conn) {
    let timeout =
        |name: &str| c.settings.iter().find(|(k, _)| *k == name).and_then(|(_, v)| orbit_query::settings::timeout(v));
    c.cancel.arm_with(timeout("statement_timeout"), timeout("lock_timeout"), timeout("deadlock_timeout"));
}

/// Waits until no other transaction holds (by its open block's ALTER or DROP) a relation in
/// `names`; true when it waited, so the statement must be bound again.
/// `creates`: the relation the statement creates (another block's creation of that name is
/// waited for too).
async fn wait_relations(c: &Conn, names: &[(String, u32)], creates: Option<&str>) -> Result<bool, SqlError> {
    let me = c.txn.as_ref().map(|t| t.id);
    let wrote = |n: &str| c.txn.as_ref().is_some_and(|t| t.wrote(n));
    let mut waits = orbit_query::relation_lock::waits(names, me, &wrote);
    if let Some(name) = creates {
        waits.extend(orbit_query::relation_lock::create_waits(name, me));
    }
    if waits.is_empty() {
        return Ok(false);
    }
    arm_cancel(c);
    let r = orbit_query::relation_lock::wait(me, Some(&c.cancel), &waits).await;
    c.cancel.arm(false);
    r.map(|()| true)
}

/// The transaction this session's next statement runs as: the open one, else the one the
/// statement's implicit transaction will be (its id taken now, [`new_txn`] uses it).
fn statement_owner(c: &Conn) -> u64 {
    if let Some(t) = &c.txn {
        return t.id;
    }
    match c.reserved_txn_id.get() {
        Some(id) => id,
        None => {
            let id = orbit_shards::tx::next_id();
            c.reserved_txn_id.set(Some(id));
            id
        }
    }
}

/// Notes the statement naming `names` as running ([`orbit_query::relation_lock::enter`]).
fn enter_statement(c: &Conn, names: &[(String, u32)]) -> Option<orbit_query::relation_lock::Running> {
    let wrote = |n: &str| c.txn.as_ref().is_some_and(|t| t.wrote(n));
    orbit_query::relation_lock::enter(names, statement_owner(c), &wrote)
}

/// A prepared statement's plan, after waiting for another block's DDL on what it reads; bound
/// again from its text if DDL changed a relation it reads since it was bound (PostgreSQL
/// re-plans such a cached statement, and refuses one whose result columns changed). The
/// session's statement `name` keeps the new plan.
async fn fresh_plan(c: &Conn, stmt: Rc<Prepared>, source: &str, name: &str) -> Result<Rc<Prepared>, SqlError> {
    let me = c.txn.as_ref().map(|t| t.id);
    let waited = wait_relations(c, &stmt.relations, orbit_query::relation_lock::creates(&stmt.plan)).await?;
    if !waited
        && !orbit_query::relation_lock::stale(&stmt.relations, me)
        && !orbit_query::settings::changed(&stmt.settings, &c.settings)
    {
        return Ok(stmt);
    }
    let oids: Vec<u32> = stmt.param_types.iter().map(|t| t.oid()).collect();
    loop {
        use_search_path(c);
        orbit_query::relation_lock::bind_as(c.txn.as_ref().map(|t| t.id));
        orbit_query::settings::bind_with(c.settings.clone());
        orbit_query::datetime::bind_clock(c.txn.as_ref().map(|t| t.started_us));
        let p = prepared::bind_again(c, name, source, &oids)?;
        let types = |cols: &[OutputColumn]| cols.iter().map(|c| c.ty).collect::<Vec<_>>();
        if types(&p.columns) != types(&stmt.columns) {
            return Err(SqlError::new(code::FEATURE_NOT_SUPPORTED, "cached plan must not change result type"));
        }
        if !wait_relations(c, &p.relations, orbit_query::relation_lock::creates(&p.plan)).await? {
            let p = Rc::new(p);
            prepared::replace(c, name, &stmt, p.clone());
            return Ok(p);
        }
    }
}

/// The statement SQL EXECUTE runs: [`fresh_plan`] of the named one (EXPLAIN EXECUTE's plan,
/// made just now, has no name and is only waited for).
async fn execute_target(c: &Conn, target: Rc<Prepared>, name: &str) -> Result<Rc<Prepared>, SqlError> {
    if name.is_empty() || prepared::get(c, name).is_none() {
        wait_relations(c, &target.relations, None).await?;
        return Ok(target);
    }
    let source = prepared::source(c, name);
    fresh_plan(c, target, &source, name).await
}

/// Runs a statement; one that calls a size function (`reads_sizes`) first gathers the shards'
/// sizes ([`orbit_query::catalog_sizes::with_sizes`]).
async fn run_statement(
    c: &mut Conn,
    plan: &Plan,
    params: &[Datum],
    reads_sizes: bool,
) -> Result<orbit_query::QueryResult, SqlError> {
    arm_cancel(c);
    let memory = c.settings.iter().find(|(k, _)| *k == "orbit.query_memory_limit").map(|(_, v)| v.as_str());
    c.cancel.limit_memory(
        memory.map_or(orbit_query::memory::DEFAULT_LIMIT_BYTES, orbit_query::settings::memory_bytes),
        orbit_query::settings::operator_limits(&c.settings),
    );
    // Every step of the statement resolves names with this session's search path, also after
    // other sessions on this shard ran between its steps.
    let path = search_path(c).to_string();
    // The statement's future is large: on the heap once, so the layers around it move a pointer
    // (not the whole future at every layer) and debug builds' deep recursion keeps its stack.
    let pid = c.activity.borrow().pid;
    let run = orbit_query::schema::with_search_path(&path, pid, Box::pin(run_in_transaction(c, plan, params)));
    let r = orbit_query::catalog_sizes::with_sizes(reads_sizes, run).await.and_then(|r| r);
    c.cancel.arm(false);
    // PL/pgSQL's RAISE NOTICEs, sent also when the statement failed after raising them.
    send_notices(c, &orbit_query::plpgsql::take_notices(pid));
    r
}

/// Hands the session's search_path to name resolution ([`orbit_query::schema`]) before a
/// statement is bound or starts to run.
fn use_search_path(c: &Conn) {
    orbit_query::schema::use_search_path(search_path(c));
    orbit_query::catalog::use_binding_pid(c.activity.borrow().pid);
}

fn search_path(c: &Conn) -> &str {
    let path = c.settings.iter().find(|(k, _)| *k == "search_path").map(|(_, v)| v.as_str());
    path.unwrap_or(orbit_query::schema::DEFAULT_SEARCH_PATH)
}

/// A transaction of this session: its cancel switch and currval values.
/// Ends a statement's own transaction (one outside a transaction block): committed when the
/// statement succeeded (a COPY TO of `INSERT ... RETURNING` too), rolled back on its error.
pub(super) async fn own_txn_ended<T>(t: orbit_query::Txn, r: Result<T, SqlError>) -> Result<T, SqlError> {
    match r {
        Ok(v) => {
            t.commit().await?;
            Ok(v)
        }
        Err(e) => {
            t.rollback().await;
            Err(e)
        }
    }
}

fn new_txn(c: &Conn) -> orbit_query::Txn {
    let mut t = orbit_query::Txn::new();
    // The id the session's running statement was noted under, if it took one.
    if let Some(id) = c.reserved_txn_id.take() {
        t.id = id;
    }
    let level = c.settings.iter().find(|(k, _)| *k == "default_transaction_isolation").map(|(_, v)| v.as_str());
    t.isolation = orbit_query::Isolation::from_setting(level.unwrap_or("read committed"));
    let on = |name: &str| c.settings.iter().any(|(k, v)| *k == name && v == "on");
    t.read_only = on("default_transaction_read_only");
    t.deferrable = on("default_transaction_deferrable");
    t.cancel = Some(c.cancel.clone());
    t.sequences = c.sequences.clone();
    t.prepared_statements = c.statements.clone();
    t.cursors = c.cursors.clone();
    t.session_pid = c.activity.borrow().pid;
    t
}

async fn run_in_transaction(c: &mut Conn, plan: &Plan, params: &[Datum]) -> Result<orbit_query::QueryResult, SqlError> {
    match c.txn.as_mut() {
        Some(t) => {
            t.settings = c.settings.clone();
            orbit_query::execute(plan, params, t).await
        }
        None => {
            let mut t = new_txn(c);
            t.settings = c.settings.clone();
            t.alone = true;
            let r = orbit_query::execute(plan, params, &mut t).await;
            own_txn_ended(t, r).await
        }
    }
}

fn row_description(out: &mut BytesMut, cols: &[OutputColumn], binary: &[bool]) {
    let fields = cols
        .iter()
        .enumerate()
        .map(|(i, col)| {
            FieldDescription::new(
                col.name.clone(),
                col.table_oid as i32,
                col.column,
                col.ty.oid(),
                col.ty.size(),
                col.ty.modifier(),
                binary.get(i).copied().unwrap_or(false) as i16,
            )
        })
        .collect();
    put(out, RowDescription::new(fields));
}

/// The settings in a start-up packet's `options` (PostgreSQL's pg_split_opts and the `-c` /
/// `--` switches): words split at unescaped spaces (`\` escapes the next character), each
/// `-c name=value`, `-cname=value` or `--name=value`, a `-` in the name read as `_`. Other
/// server switches are refused as PostgreSQL refuses an unknown one.
fn startup_options(options: &str) -> Result<Vec<(String, String)>, SqlError> {
    let mut words = Vec::new();
    let mut chars = options.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_ascii_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut word = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_ascii_whitespace()) {
            word.push(if c == '\\' { chars.next().unwrap_or('\\') } else { c });
        }
        words.push(word);
    }
    let invalid = |w: &str| {
        SqlError::new(code::SYNTAX_ERROR, format!("invalid command-line argument for server process: {w}"))
            .hint("Try \"postgres --help\" for more information.")
    };
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        let setting = if let Some(rest) = w.strip_prefix("--") {
            rest.to_string()
        } else if w == "-c" {
            words.next().ok_or_else(|| invalid(&w))?
        } else if let Some(rest) = w.strip_prefix("-c") {
            rest.to_string()
        } else {
            return Err(invalid(&w));
        };
        let Some((name, value)) = setting.split_once('=') else {
            let name = setting.replace('-', "_");
            return Err(SqlError::new(code::SYNTAX_ERROR, format!("-c {name} requires a value")));
        };
        out.push((name.replace('-', "_"), value.to_string()));
    }
    Ok(out)
}

/// One result row; `columns` (the row description's) give the binary form of a `"char"`.
fn data_row(out: &mut BytesMut, row: &[Datum], binary: &[bool], columns: &[OutputColumn], style: &types::TextStyle) {
    let cols: Vec<Option<Vec<u8>>> = row
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if binary.get(i).copied().unwrap_or(false) {
                match columns.get(i) {
                    Some(c) => types::to_binary_as(c.ty, d),
                    None => types::to_binary(d),
                }
            } else {
                types::to_text_in(d, style).map(String::into_bytes)
            }
        })
        .collect();
    put_data_row(out, &cols);
}

fn send_notices(c: &mut Conn, notices: &[SqlError]) {
    let level = c.settings.iter().find(|(k, _)| *k == "client_min_messages").map_or("notice", |(_, v)| v.as_str());
    let wanted = orbit_query::settings::notices_wanted(level);
    for n in notices {
        // INFO is always sent (PostgreSQL's client_min_messages does not hold it back); a
        // WARNING unless client_min_messages is error or above.
        match n.severity_given() {
            Some("INFO") => {
                put_error(&mut c.out, n, "INFO");
                continue;
            }
            Some(s) if s == "WARNING" && orbit_query::settings::warnings_wanted(level) => {
                put_error(&mut c.out, n, s);
                continue;
            }
            Some(s) if s != "WARNING" && wanted => {
                put_error(&mut c.out, n, s);
                continue;
            }
            Some(_) => continue,
            None => {}
        }
        if !wanted {
            continue;
        }
        // SQLSTATE class 01 is PostgreSQL's "Warning" class: sent as a WARNING; so is COMMENT
        // ON DATABASE's "database does not exist" (3D000 is never a NOTICE) and a type's
        // precision reduced to the maximum (22023, raised by binding).
        let warning = n.code.starts_with("01") || n.code == "3D000" || n.code == "22023";
        put_error(&mut c.out, n, if warning { "WARNING" } else { "NOTICE" });
    }
}

/// A Query message: every statement in turn; the first error ends it. Outside a transaction
/// block, several statements run in one implicit transaction (an error rolls all back).
async fn simple_query(c: &mut Conn, sql: &str) {
    let stmts = bind::parse(sql);
    // The scanner's NOTICEs (a name cut to 63 bytes) come before any statement runs.
    send_notices(c, &bind::take_parse_notices());
    let stmts = match stmts {
        Ok(s) => s,
        Err(e) => return simple_error(c, e),
    };
    if stmts.is_empty() {
        put(&mut c.out, EmptyQueryResponse::new());
        return;
    }
    if orbit_query::settings::logs_statement(setting(c, "log_statement"), &stmts) {
        tracing::info!(pid = c.activity.borrow().pid, "statement: {sql}");
    }
    if stmts.len() > 1 && c.status == TxStatus::Idle && c.txn.is_none() {
        c.txn = Some(new_txn(c));
    }
    begin_activity(c, sql);
    let single = stmts.len() == 1;
    for stmt in &stmts {
        let text = if single {
            orbit_query::catalog::normalize(sql)
        } else {
            orbit_query::catalog::normalize(&stmt.to_string())
        };
        if let Err(e) = simple_statement(c, sql, stmt, &text).await {
            return simple_error(c, e);
        }
        if c.out.len() >= WRITE_FLUSH_BYTES {
            let _ = c.flush().await;
        }
    }
    // The implicit transaction ends with the message.
    if c.status == TxStatus::Idle {
        if let Some(t) = c.txn.take() {
            if let Err(e) = t.commit().await {
                simple_error(c, e);
            }
        }
    }
}

/// The session's value of parameter `name` ("" when it has none).
fn setting<'a>(c: &'a Conn, name: &str) -> &'a str {
    c.settings.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v.as_str())
}

/// `log_statement` at Execute: PostgreSQL's `execute <statement>[/<portal>]: <query>` with the
/// Bind parameters in DETAIL (`$1 = '...'`, quotes doubled), when the class of `source`'s
/// statement is logged.
fn log_execute(c: &Conn, statement: &str, portal: &str, source: &str, params: &[Datum]) {
    let setting = setting(c, "log_statement");
    if setting == "none" || setting.is_empty() {
        return;
    }
    if setting != "all" && !bind::parse(source).is_ok_and(|s| orbit_query::settings::logs_statement(setting, &s)) {
        return;
    }
    let name = if statement.is_empty() { "<unnamed>" } else { statement };
    let portal = if portal.is_empty() { String::new() } else { format!("/{portal}") };
    let pid = c.activity.borrow().pid;
    if params.is_empty() {
        tracing::info!(pid, "execute {name}{portal}: {source}");
        return;
    }
    let shown: Vec<String> = params
        .iter()
        .enumerate()
        .map(|(i, d)| match orbit_query::types::to_text(d) {
            Some(t) if !matches!(d, Datum::Null) => format!("${} = '{}'", i + 1, t.replace('\'', "''")),
            _ => format!("${} = NULL", i + 1),
        })
        .collect();
    tracing::info!(pid, "execute {name}{portal}: {source}  DETAIL:  parameters: {}", shown.join(", "));
}

/// A statement that ran: counted in pg_stat_statements (under `text`, its normalized form), and
/// written to the server's log as the client sent it (`sent`) when it took at least
/// `log_min_duration_statement` (PostgreSQL's `duration: ... ms  statement: ...`).
fn statement_ran(c: &Conn, text: &str, sent: &str, started: std::time::Instant, r: &orbit_query::exec::QueryResult) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    orbit_query::catalog::record_statement(text, ms, rows_of(r));
    let least = c.settings.iter().find(|(k, _)| *k == "log_min_duration_statement");
    if let Some(least) = least.and_then(|(_, v)| orbit_query::settings::log_min_duration(v)) {
        if ms >= least as f64 {
            tracing::info!(pid = c.activity.borrow().pid, "duration: {ms:.3} ms  statement: {sent}");
        }
    }
}

async fn simple_statement(c: &mut Conn, sql: &str, stmt: &orbit_query::Statement, text: &str) -> Result<(), SqlError> {
    let started = std::time::Instant::now();
    // Another open block's DDL on a relation the statement names: wait for that block to end,
    // then bind again against what it left (orbit_query::relation_lock).
    // Binding's WARNINGs (`timestamp(7)`), taken as binding returns (other sessions of the
    // shard bind while this one waits); binding again raises them again: the last's are sent.
    let mut bind_notices;
    let (bound, mut _running) = loop {
        use_search_path(c);
        orbit_query::relation_lock::bind_as(c.txn.as_ref().map(|t| t.id));
        orbit_query::settings::bind_with(c.settings.clone());
        orbit_query::datetime::bind_clock(c.txn.as_ref().map(|t| t.started_us));
        orbit_query::catalog_dump::take_missing_relation();
        // (Left there by anything else the shard ran since: not this binding's.)
        let _ = bind::take_parse_notices();
        let r = bind::bind(sql, stmt, &[]);
        bind_notices = bind::take_parse_notices();
        if c.status == TxStatus::Failed {
            break (r, None);
        }
        // A FROM item that is no table here may be a sequence (on another shard): bind again
        // once that is known.
        if let Some(name) = orbit_query::catalog_dump::take_missing_relation().filter(|_| r.is_err()) {
            if orbit_query::sequence::exists(&name).await? {
                orbit_query::catalog_dump::know_sequence(name);
                continue;
            }
        }
        let failed;
        let (names, creates) = match &r {
            Ok(p) => (p.relations.as_slice(), orbit_query::relation_lock::creates(&p.plan)),
            Err(_) => {
                failed = orbit_query::relation_lock::recorded();
                (failed.as_slice(), None)
            }
        };
        if wait_relations(c, names, creates).await? {
            continue;
        }
        if r.is_err() {
            break (r, None);
        }
        // Running from here on (an ALTER that begins now waits for it); if one began since the
        // check above, wait for it and bind again.
        if let Some(running) = enter_statement(c, names) {
            break (r, Some(running));
        }
    };
    // Binding's WARNINGs come before the statement's outcome.
    send_notices(c, &bind_notices);
    let prepared = match bound {
        Ok(p) => p,
        Err(e) => {
            if c.status == TxStatus::Failed {
                return Err(aborted());
            }
            return Err(e);
        }
    };
    if c.status == TxStatus::Failed && !is_tx_exit(&prepared.plan) {
        return Err(aborted());
    }
    if let Some(i) = prepared.param_types.first().map(|_| 1) {
        return Err(SqlError::new("42P02", format!("there is no parameter ${i}")));
    }
    if let Plan::LockTables(_) = &prepared.plan {
        return lock_tables(c, _running.take());
    }
    prepared::discard_temp(c, &prepared.plan).await?;
    if let Some(tag) = prepared::session_command(c, sql, &prepared.plan) {
        put(&mut c.out, CommandComplete::new(tag?.to_string()));
        return Ok(());
    }
    // EXECUTE runs the named statement with its arguments as parameters.
    let mut _running_target = None;
    let (prepared, params) = match prepared::resolve_execute(c, sql, &prepared.plan)? {
        Some((mut target, args, name)) => {
            // The named statement was bound earlier: another block's DDL since is waited for,
            // and DDL since PREPARE binds it again (as a protocol Execute's).
            let running = loop {
                target = execute_target(c, target, &name).await?;
                if let Some(r) = enter_statement(c, &target.relations) {
                    break r;
                }
            };
            _running_target = Some(running);
            (target, args)
        }
        None => (Rc::new(prepared), Vec::new()),
    };
    if let Plan::Deallocate(name) = &prepared.plan {
        let tag = deallocate(c, name.as_deref())?;
        put(&mut c.out, CommandComplete::new(tag.to_string()));
        return Ok(());
    }
    if is_tx_control(&prepared.plan) {
        let tag = transaction(c, &prepared.plan).await?;
        if matches!(prepared.plan, Plan::Commit { .. } | Plan::Rollback { .. }) {
            c.portals.clear();
        }
        put(&mut c.out, CommandComplete::new(tag.to_string()));
        return Ok(());
    }
    if matches!(prepared.plan, Plan::Set { .. } | Plan::Sets(_) | Plan::Reset(_)) {
        let tag = run_set(c, &prepared.plan)?;
        put(&mut c.out, CommandComplete::new(tag.to_string()));
        return Ok(());
    }
    refuse_in_block(c, &prepared.plan)?;
    if let Plan::Copy(cp) = &prepared.plan {
        let tag = copy::run(c, cp).await?;
        put(&mut c.out, CommandComplete::new(tag));
        return Ok(());
    }
    let r = match &prepared.plan {
        Plan::Show(which) => show(c, *which),
        Plan::SetConfig(calls) => set_config(c, calls, &params)?,
        p @ (Plan::Listen(_) | Plan::Unlisten(_) | Plan::Notify { .. } | Plan::ListeningChannels) => {
            notify_statement(c, p, &params)?
        }
        _ => run_statement(c, &prepared.plan, &params, prepared.reads_sizes).await?,
    };
    statement_ran(c, text, sql, started, &r);
    send_notices(c, &r.notices);
    if let Some((columns, binary)) = fetched_columns(c, &prepared.plan) {
        // FETCH: the cursor's columns, in binary for a BINARY cursor.
        let binary = vec![binary; columns.len()];
        row_description(&mut c.out, &columns, &binary);
        let style = types::TextStyle::of_settings(&c.settings);
        for row in &r.rows {
            data_row(&mut c.out, row, &binary, &columns, &style);
        }
    } else if returns_rows(&prepared) {
        row_description(&mut c.out, &prepared.columns, &[]);
        let style = types::TextStyle::of_settings(&c.settings);
        for row in &r.rows {
            data_row(&mut c.out, row, &[], &[], &style);
        }
    }
    put(&mut c.out, CommandComplete::new(r.tag));
    Ok(())
}

/// At most this many LOCK TABLE statements hold their tables in one block (53200 past it).
const MAX_LOCK_STATEMENTS: usize = 10_000;

/// LOCK TABLE (`bind/lock.rs`): the statement's note on its tables (`running`) stays with the
/// block's transaction until it ends, so other sessions' DDL on them waits.
fn lock_tables(c: &mut Conn, running: Option<orbit_query::relation_lock::Running>) -> Result<(), SqlError> {
    match (c.status, c.txn.as_mut(), running) {
        // A bound on what one block holds, as PostgreSQL's lock table has one.
        (TxStatus::InBlock, Some(t), Some(_)) if t.relation_locks.len() >= MAX_LOCK_STATEMENTS => {
            return Err(SqlError::new("53200", "out of shared memory")
                .hint("You might need to increase max_locks_per_transaction."))
        }
        (TxStatus::InBlock, Some(t), Some(held)) => t.relation_locks.push(held),
        _ => {
            return Err(SqlError::new(
                code::NO_ACTIVE_SQL_TRANSACTION,
                "LOCK TABLE can only be used in transaction blocks",
            ))
        }
    }
    put(&mut c.out, CommandComplete::new("LOCK TABLE".to_string()));
    Ok(())
}

/// VACUUM, CREATE INDEX CONCURRENTLY, REINDEX CONCURRENTLY and REINDEX of a schema, the
/// database or the system catalogs cannot run inside a transaction block (25001), as in
/// PostgreSQL.
fn refuse_in_block(c: &Conn, plan: &Plan) -> Result<(), SqlError> {
    if c.status == TxStatus::Idle {
        return Ok(());
    }
    let what = match plan {
        Plan::Maintenance { vacuum: true, .. } => "VACUUM",
        Plan::CreateIndex { concurrently: true, .. } => "CREATE INDEX CONCURRENTLY",
        Plan::Reindex(r) if r.concurrently => "REINDEX CONCURRENTLY",
        Plan::Reindex(r) if !matches!(r.kind, ReindexKind::Index | ReindexKind::Table) => r.kind.statement(),
        _ => return Ok(()),
    };
    Err(SqlError::new(code::ACTIVE_SQL_TRANSACTION, format!("{what} cannot run inside a transaction block")))
}

/// `SELECT set_config(name, value, is_local) [, ...]`: each call in order a SET (SET LOCAL
/// inside a block; outside one a local change would end with the statement's own transaction,
/// so nothing changes; a NULL value is RESET), and the values as SHOW prints them as the row.
fn set_config(
    c: &mut Conn,
    calls: &[orbit_query::bind::set_config::Call],
    params: &[Datum],
) -> Result<orbit_query::QueryResult, SqlError> {
    use orbit_query::settings;
    let mut row = Vec::with_capacity(calls.len());
    for call in calls {
        let cx = orbit_query::expr::Ctx { row: &[], params, aggs: &[] };
        let arg = |e| orbit_query::expr::eval(e, &cx);
        let (name, value, local) = (arg(&call[0])?, arg(&call[1])?, arg(&call[2])?);
        let Datum::Text(name) = name else {
            return Err(SqlError::new("22004", "SET requires parameter name"));
        };
        let local = matches!(local, Datum::Bool(true));
        let (canon, value) = match value {
            Datum::Text(v) => {
                let (canon, v) = settings::set_config_value(&name, &v)?;
                let v = match canon {
                    "role" | "session_authorization" => {
                        let user = c.settings.iter().find(|(k, _)| *k == "session_authorization");
                        settings::role_value(canon, &v, user.map_or("postgres", |(_, u)| u.as_str()))?
                    }
                    _ => v,
                };
                (canon, Some(v))
            }
            _ => {
                let canon = match settings::canonical(&name) {
                    Some(canon) => {
                        settings::check_resettable(canon)?;
                        canon
                    }
                    None => settings::custom(&name)?,
                };
                (canon, None)
            }
        };
        let idle = c.status == TxStatus::Idle;
        let shown = if local && idle {
            // In effect for this statement only: the value it would have.
            make_custom(c, canon);
            value.unwrap_or_else(|| {
                c.startup.iter().find(|(k, _)| *k == canon).map(|(_, v)| v.clone()).unwrap_or_default()
            })
        } else {
            run_set(c, &Plan::Set { name: canon, value, local })?;
            c.settings.iter().find(|(k, _)| *k == canon).map(|(_, v)| v.clone()).unwrap_or_default()
        };
        row.push(Datum::Text(shown));
    }
    Ok(orbit_query::QueryResult { tag: "SELECT 1".into(), rows: vec![row], ..Default::default() })
}

/// `SHOW name` / `SHOW ALL`: the parameters this connection was told about at start-up.
fn show(c: &Conn, which: Option<&'static str>) -> orbit_query::QueryResult {
    let rows = match which {
        Some(name) => {
            let value = c.settings.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()).unwrap_or_default();
            vec![vec![Datum::Text(value)]]
        }
        None => {
            // Not the custom parameters (PostgreSQL's placeholders are GUC_NO_SHOW_ALL).
            let mut all: Vec<_> = c.settings.iter().filter(|(k, _)| !orbit_query::settings::is_custom(k)).collect();
            all.sort_by_key(|(k, _)| k.to_ascii_lowercase());
            all.into_iter()
                .map(|(k, v)| vec![Datum::Text(k.to_string()), Datum::Text(v.clone()), Datum::Text(String::new())])
                .collect()
        }
    };
    orbit_query::QueryResult { rows, tag: "SHOW".into(), notices: Vec::new() }
}

/// `DEALLOCATE name` / `DEALLOCATE ALL` (drivers such as psycopg send it).
fn deallocate(c: &mut Conn, name: Option<&str>) -> Result<&'static str, SqlError> {
    prepared::deallocate(c, name)
}

/// A FETCH's cursor's columns, and whether it is BINARY (None: not a FETCH, or a MOVE).
fn fetched_columns(c: &Conn, plan: &Plan) -> Option<(Vec<OutputColumn>, bool)> {
    let Plan::Fetch { name, is_move: false, .. } = plan else { return None };
    let cursors = c.cursors.borrow();
    let cursor = cursors.get(name)?;
    Some((cursor.columns.clone(), cursor.binary))
}

fn returns_rows(p: &Prepared) -> bool {
    match &p.plan {
        Plan::Select(_)
        | Plan::Show(_)
        | Plan::SetConfig(_)
        | Plan::Notify { row: true, .. }
        | Plan::ListeningChannels
        | Plan::Explain { .. }
        | Plan::ExplainExecute { .. } => true,
        Plan::Query(q) => q.returns_rows(),
        Plan::Insert { returning, .. } | Plan::Update { returning, .. } | Plan::Delete { returning, .. } => {
            returning.is_some()
        }
        // A parsed EXECUTE: its columns are the named statement's; a FETCH's are its cursor's.
        Plan::Execute { .. } | Plan::Fetch { .. } => !p.columns.is_empty(),
        // A procedure's OUT parameters.
        Plan::Call { outputs, .. } => *outputs > 0,
        _ => false,
    }
}

fn simple_error(c: &mut Conn, e: SqlError) {
    put_error(&mut c.out, &e, "ERROR");
    fail_transaction(c);
}

/// After an error: a block is failed until ROLLBACK; an implicit transaction is rolled back
/// (dropping it releases its row locks).
fn fail_transaction(c: &mut Conn) {
    match c.status {
        TxStatus::InBlock => c.status = TxStatus::Failed,
        TxStatus::Failed => {}
        TxStatus::Idle => {
            c.txn = None;
            c.notify.discard();
        }
    }
}

/// The notifications delivered to the session, as NotificationResponse messages.
fn send_notifications(c: &mut Conn) {
    for (pid, channel, payload) in c.notify.inbox.take() {
        put(&mut c.out, NotificationResponse::new(pid, channel, payload));
    }
}

/// LISTEN, UNLISTEN, NOTIFY / pg_notify() and pg_listening_channels(), for the session's
/// transaction to apply when it commits (`notify.rs`).
fn notify_statement(c: &mut Conn, plan: &Plan, params: &[Datum]) -> Result<orbit_query::QueryResult, SqlError> {
    let done = |tag: &str| orbit_query::QueryResult { tag: tag.into(), ..Default::default() };
    match plan {
        Plan::Listen(channel) => {
            c.notify.listen(channel.clone())?;
            Ok(done("LISTEN"))
        }
        Plan::Unlisten(channel) => {
            c.notify.unlisten(channel.clone())?;
            Ok(done("UNLISTEN"))
        }
        Plan::Notify { calls, row } => {
            let cx = orbit_query::expr::Ctx { row: &[], params, aggs: &[] };
            let text = |d: Datum| match d {
                Datum::Text(t) => Some(t),
                _ => None,
            };
            for [channel, payload] in calls {
                let channel = text(orbit_query::expr::eval(channel, &cx)?);
                let payload = text(orbit_query::expr::eval(payload, &cx)?);
                let (channel, payload) = orbit_query::bind::notify::checked(channel.as_deref(), payload.as_deref())?;
                c.notify.notify(channel, payload)?;
            }
            Ok(match row {
                true => orbit_query::QueryResult {
                    tag: "SELECT 1".into(),
                    rows: vec![vec![Datum::Text(String::new()); calls.len()]],
                    ..Default::default()
                },
                false => done("NOTIFY"),
            })
        }
        _ => {
            let rows: Vec<_> = c.notify.channels().into_iter().map(|ch| vec![Datum::Text(ch)]).collect();
            Ok(orbit_query::QueryResult { tag: format!("SELECT {}", rows.len()), rows, ..Default::default() })
        }
    }
}

fn parse(c: &mut Conn, name: String, sql: &str, oids: &[u32]) -> Result<(), SqlError> {
    prepared::check_new(c, &name)?;
    use_search_path(c);
    orbit_query::relation_lock::bind_as(c.txn.as_ref().map(|t| t.id));
    orbit_query::settings::bind_with(c.settings.clone());
    orbit_query::datetime::bind_clock(c.txn.as_ref().map(|t| t.started_us));
    let prepared = bind::prepare(sql, oids);
    // The scanner's NOTICEs (a name cut to 63 bytes) come before the statement's outcome.
    send_notices(c, &bind::take_parse_notices());
    let mut prepared = match prepared {
        Ok(p) => p,
        Err(e) if c.status == TxStatus::Failed => {
            let _ = e;
            return Err(aborted());
        }
        Err(e) => return Err(e),
    };
    if c.status == TxStatus::Failed && !is_tx_exit(&prepared.plan) {
        return Err(aborted());
    }
    if let Some(columns) = prepared::execute_columns(c, &prepared.plan)? {
        prepared.columns = columns;
    }
    prepared::store(c, name, prepared, sql, false);
    Ok(())
}

fn portal_missing(name: &str) -> SqlError {
    SqlError::new(code::INVALID_CURSOR_NAME, format!("portal \"{name}\" does not exist"))
}

fn bind_portal(c: &mut Conn, b: pgwire::messages::extendedquery::Bind) -> Result<(), SqlError> {
    let sname = b.statement_name.unwrap_or_default();
    let pname = b.portal_name.unwrap_or_default();
    let stmt = prepared::get(c, &sname).ok_or_else(|| prepared::missing(&sname))?;
    let n = stmt.param_types.len();
    let formats = &b.parameter_format_codes;
    if formats.len() > 1 && formats.len() != b.parameters.len() {
        return Err(SqlError::new(
            code::PROTOCOL_VIOLATION,
            format!("bind message has {} parameter formats but {} parameters", formats.len(), b.parameters.len()),
        ));
    }
    if b.parameters.len() != n {
        return Err(SqlError::new(
            code::PROTOCOL_VIOLATION,
            format!(
                "bind message supplies {} parameters, but prepared statement \"{sname}\" requires {n}",
                b.parameters.len()
            ),
        ));
    }
    if c.status == TxStatus::Failed && !is_tx_exit(&stmt.plan) {
        return Err(aborted());
    }
    let style = types::TextStyle::of_settings(&c.settings);
    let mut params = Vec::with_capacity(n);
    for (i, (v, &ty)) in b.parameters.iter().zip(&stmt.param_types).enumerate() {
        let fmt = match formats.len() {
            0 => 0,
            1 => formats[0],
            _ => formats[i],
        };
        let d = match v {
            None => Datum::Null,
            Some(bytes) if fmt == 1 => types::from_binary(ty, bytes, i + 1)?,
            Some(bytes) if fmt == 0 => types::parse_text_in(ty, types::utf8(bytes)?, &style)?,
            Some(_) => {
                return Err(SqlError::new(code::PROTOCOL_VIOLATION, format!("unsupported format code: {fmt}")));
            }
        };
        params.push(d);
    }
    let cols = stmt.columns.len();
    let rf = &b.result_column_format_codes;
    let binary: Vec<bool> = match rf.len() {
        0 => vec![false; cols],
        1 => vec![rf[0] == 1; cols],
        k if k == cols => rf.iter().map(|&f| f == 1).collect(),
        k => {
            return Err(SqlError::new(
                code::PROTOCOL_VIOLATION,
                format!("bind message has {k} result formats but query has {cols} columns"),
            ))
        }
    };
    if let Some(bad) = rf.iter().find(|&&f| f != 0 && f != 1) {
        return Err(SqlError::new(code::PROTOCOL_VIOLATION, format!("unsupported format code: {bad}")));
    }
    if !pname.is_empty() && c.portals.contains_key(&pname) {
        return Err(SqlError::new(code::DUPLICATE_CURSOR, format!("cursor \"{pname}\" already exists")));
    }
    if c.portals.len() >= MAX_STATEMENTS && !c.portals.contains_key(&pname) {
        return Err(SqlError::new(
            code::PROGRAM_LIMIT_EXCEEDED,
            format!("too many portals (at most {MAX_STATEMENTS})"),
        ));
    }
    let text = prepared::normalized(c, &sname);
    let source = prepared::source(c, &sname);
    prepared::count_execution(c, &sname);
    let statement = sname;
    c.portals.insert(pname, Portal { stmt, statement, text, source, params, binary, result: None, sent: 0 });
    Ok(())
}

fn describe(c: &mut Conn, target: u8, name: &str) -> Result<(), SqlError> {
    if target == b'S' {
        let stmt = prepared::get(c, name).ok_or_else(|| prepared::missing(name))?;
        let oids = stmt.param_types.iter().map(|t: &SqlType| t.oid()).collect();
        put(&mut c.out, ParameterDescription::new(oids));
        if returns_rows(&stmt) {
            row_description(&mut c.out, &stmt.columns, &[]);
        } else {
            put(&mut c.out, NoData::new());
        }
    } else {
        // A cursor DECLARE opened is a portal too, as in PostgreSQL (psycopg describes its
        // named cursors so).
        if !c.portals.contains_key(name) {
            if let Some(cur) = c.cursors.borrow().get(name) {
                row_description(&mut c.out, &cur.columns, &vec![cur.binary; cur.columns.len()]);
                return Ok(());
            }
        }
        let p = c.portals.get(name).ok_or_else(|| portal_missing(name))?;
        let (stmt, binary) = (p.stmt.clone(), p.binary.clone());
        if returns_rows(&stmt) {
            row_description(&mut c.out, &stmt.columns, &binary);
        } else {
            put(&mut c.out, NoData::new());
        }
    }
    Ok(())
}

async fn execute(c: &mut Conn, name: &str, max_rows: i32) -> Result<(), SqlError> {
    let portal = c.portals.get(name).ok_or_else(|| portal_missing(name))?;
    let mut stmt = portal.stmt.clone();
    if portal.result.is_none() {
        let mut params = portal.params.clone();
        let (text, source, portal_stmt) = (portal.text.clone(), portal.source.clone(), portal.statement.clone());
        log_execute(c, &portal_stmt, name, &source, &params);
        if c.status == TxStatus::Failed && !is_tx_exit(&stmt.plan) {
            return Err(aborted());
        }
        prepared::discard_temp(c, &stmt.plan).await?;
        if let Some(tag) = prepared::session_command(c, &source, &stmt.plan) {
            put(&mut c.out, CommandComplete::new(tag?.to_string()));
            return Ok(());
        }
        let mut running = None;
        match prepared::resolve_execute(c, &source, &stmt.plan)? {
            Some((mut target, args, name)) => {
                running = loop {
                    target = execute_target(c, target, &name).await?;
                    if let Some(r) = enter_statement(c, &target.relations) {
                        break Some(r);
                    }
                };
                (stmt, params) = (target, args);
            }
            None if c.status != TxStatus::Failed => {
                running = loop {
                    stmt = fresh_plan(c, stmt, &source, &portal_stmt).await?;
                    if let Some(r) = enter_statement(c, &stmt.relations) {
                        break Some(r);
                    }
                };
            }
            None => {}
        }
        let mut _running = running;
        match &stmt.plan {
            Plan::LockTables(_) => return lock_tables(c, _running.take()),
            Plan::Empty => {
                put(&mut c.out, EmptyQueryResponse::new());
                return Ok(());
            }
            Plan::Deallocate(n) => {
                let tag = deallocate(c, n.as_deref())?;
                put(&mut c.out, CommandComplete::new(tag.to_string()));
                return Ok(());
            }
            Plan::Set { .. } | Plan::Sets(_) | Plan::Reset(_) => {
                let tag = run_set(c, &stmt.plan)?;
                put(&mut c.out, CommandComplete::new(tag.to_string()));
                return Ok(());
            }
            p if is_tx_control(p) => {
                let tag = transaction(c, &stmt.plan).await?;
                if matches!(stmt.plan, Plan::Commit { .. } | Plan::Rollback { .. }) {
                    // The transaction's portals end with it (this one has done its work).
                    c.portals.clear();
                }
                put(&mut c.out, CommandComplete::new(tag.to_string()));
                return Ok(());
            }
            Plan::Copy(cp) => {
                let tag = copy::run(c, cp).await?;
                put(&mut c.out, CommandComplete::new(tag));
                return Ok(());
            }
            plan => refuse_in_block(c, plan)?,
        }
        // Outside a block, the statements up to Sync run in one implicit transaction, as in
        // PostgreSQL: an error rolls back what the earlier ones did.
        if c.status == TxStatus::Idle && c.txn.is_none() {
            c.txn = Some(new_txn(c));
        }
        begin_activity(c, &text);
        let started = std::time::Instant::now();
        let r = match &stmt.plan {
            Plan::Show(which) => show(c, *which),
            Plan::SetConfig(calls) => set_config(c, calls, &params)?,
            p @ (Plan::Listen(_) | Plan::Unlisten(_) | Plan::Notify { .. } | Plan::ListeningChannels) => {
                notify_statement(c, p, &params)?
            }
            _ => run_statement(c, &stmt.plan, &params, stmt.reads_sizes).await?,
        };
        statement_ran(c, &text, &text, started, &r);
        send_notices(c, &r.notices);
        let p = c.portals.get_mut(name).ok_or_else(|| portal_missing(name))?;
        p.result = Some((r.rows, r.tag));
    }
    let p = c.portals.get_mut(name).ok_or_else(|| portal_missing(name))?;
    let binary = p.binary.clone();
    let stmt = p.stmt.clone();
    let Some((rows, tag)) = &p.result else { return Ok(()) };
    let remaining = rows.len() - p.sent;
    let take = if max_rows > 0 { remaining.min(max_rows as usize) } else { remaining };
    let start = p.sent;
    let mut out = std::mem::take(&mut c.out);
    let style = types::TextStyle::of_settings(&c.settings);
    for row in &rows[start..start + take] {
        data_row(&mut out, row, &binary, &stmt.columns, &style);
    }
    p.sent += take;
    if p.sent < rows.len() {
        put(&mut out, PortalSuspended::new());
    } else {
        // A SELECT's tag counts the rows this Execute returned, as PostgreSQL's does.
        let tag = if tag.starts_with("SELECT ") { format!("SELECT {take}") } else { tag.clone() };
        put(&mut out, CommandComplete::new(tag));
    }
    c.out = out;
    Ok(())
}
