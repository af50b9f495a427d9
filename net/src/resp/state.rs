//! Per-shard state of the RESP frontend: this shard's copy of the server settings, the clients
//! connected to this shard, and its pub/sub subscriptions. Thread-local like the shard's data;
//! other shards reach it through the mesh (CLIENT LIST, CLIENT KILL, PUBLISH, CONFIG SET).

use crate::server::ServerConfig;
use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use orbit_engine::reply::Reply;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_CLIENT_ID: AtomicU64 = AtomicU64::new(1);

pub fn next_client_id() -> u64 {
    NEXT_CLIENT_ID.fetch_add(1, Ordering::Relaxed)
}

/// What CLIENT LIST shows of a connection, and the means to close it from elsewhere.
pub struct ClientHandle {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub created_ms: u64,
    pub name: RefCell<Option<Bytes>>,
    pub db: Cell<usize>,
    pub resp: Cell<u8>,
    pub last_cmd: Cell<&'static str>,
    pub last_interaction_ms: Cell<u64>,
    pub subs: Cell<usize>,
    pub psubs: Cell<usize>,
    pub ssubs: Cell<usize>,
    pub qbuf: Cell<usize>,
    pub blocked: Cell<bool>,
    pub kill: RefCell<Option<oneshot::Sender<()>>>,
    /// Pub/sub messages waiting to be written, with their approximate size in bytes.
    pub push: mpsc::UnboundedSender<Reply>,
    pub push_bytes: Cell<usize>,
}

impl ClientHandle {
    /// Asks the connection to close. Returns false if it was already asked.
    pub fn kill(&self) -> bool {
        match self.kill.borrow_mut().take() {
            Some(tx) => {
                let _ = tx.send(());
                true
            }
            None => false,
        }
    }
}

/// Channel and pattern subscriptions of the clients on this shard.
#[derive(Default)]
pub struct PubSub {
    pub channels: HashMap<Bytes, Vec<Rc<ClientHandle>>>,
    pub patterns: HashMap<Bytes, Vec<Rc<ClientHandle>>>,
    pub shard_channels: HashMap<Bytes, Vec<Rc<ClientHandle>>>,
}

#[derive(Default)]
pub struct NetShard {
    pub config: ServerConfig,
    pub clients: HashMap<u64, Rc<ClientHandle>>,
    pub pubsub: PubSub,
    /// Clients paused by CLIENT PAUSE until this time (ms), and whether only writes pause.
    pub pause_until_ms: u64,
    pub pause_writes_only: bool,
}

thread_local! {
    static NET: RefCell<NetShard> = RefCell::new(NetShard::default());
}

pub fn install(config: ServerConfig) {
    NET.with(|n| n.borrow_mut().config = config);
}

/// Runs `f` with this shard's frontend state (never across an await).
pub fn with_net<R>(f: impl FnOnce(&mut NetShard) -> R) -> R {
    NET.with(|n| f(&mut n.borrow_mut()))
}

pub fn config() -> ServerConfig {
    with_net(|n| n.config.clone())
}
