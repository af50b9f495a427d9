//! One Redis connection: read, parse every complete command in the buffer, run them in order,
//! encode all replies into one buffer and write it once per read batch. A connection lives on
//! the shard that accepted it for its whole life. Pub/sub messages and CLIENT KILL reach it
//! through channels the loop waits on beside the socket.

use super::encode::{encode, Proto};
use super::parse::{Limits, Parser, ProtocolError};
use super::state::{self, ClientHandle};
use super::{commands, route, stats};
use bytes::{Bytes, BytesMut};
use futures::channel::{mpsc, oneshot};
use futures::future::{select, Either};
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use orbit_engine::keyspace::now_ms;
use orbit_engine::redis::{self, flags, CommandSpec, Exec};
use orbit_engine::reply::Reply;
use orbit_shards::rt::{self, TcpListener, TcpStream};
use orbit_shards::{mesh, shard_for, state as shard_state, wal};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

const READ_CHUNK_BYTES: usize = 16 * 1024;

/// Accepts connections until shutdown is requested; each connection gets its own task.
pub async fn serve(listener: TcpListener) {
    let in_flight = Rc::new(Cell::new(0usize));
    loop {
        let accept = listener.accept();
        futures::pin_mut!(accept);
        let stop = rt::shutdown_signal();
        futures::pin_mut!(stop);
        match select(accept, stop).await {
            Either::Left((Ok(stream), _)) => {
                let maxclients = state::with_net(|n| n.config.maxclients);
                let open = state::with_net(|n| n.clients.len());
                let in_flight = in_flight.clone();
                rt::spawn(async move {
                    let mut stream = stream;
                    if open >= maxclients {
                        stats::with(|s| s.rejected_connections += 1);
                        let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
                        return;
                    }
                    connection(stream, in_flight).await;
                });
            }
            Either::Left((Err(e), _)) => {
                tracing::warn!(error = %e, "accept failed");
                rt::sleep(Duration::from_millis(5)).await;
            }
            Either::Right(_) => break,
        }
    }
    // Stop accepting; give in-flight batches up to 2 s to finish.
    let deadline = Instant::now() + Duration::from_secs(2);
    while in_flight.get() > 0 && Instant::now() < deadline {
        rt::sleep(Duration::from_millis(5)).await;
    }
}

/// What the command loop does after running a command.
pub enum Next {
    Continue,
    /// Write what is buffered, then close.
    Close,
    /// Park until a key is ready or the timeout passes, then run again.
    Block { spec: &'static CommandSpec, args: Vec<Bytes>, timeout_ms: u64 },
}

pub struct Conn {
    pub handle: Rc<ClientHandle>,
    /// Log records the replies in the output buffer wait for (`--fsync always`): the batch's
    /// replies are written once all are durable.
    pub durable: Vec<wal::Ticket>,
    pub db: usize,
    pub proto: Proto,
    pub authed: bool,
    pub subscribed: bool,
}

impl Conn {
    pub fn reply(&self, out: &mut Vec<u8>, r: &Reply) {
        if r.is_error() {
            stats::with(|s| s.error_replies += 1);
        }
        encode(out, r, self.proto);
    }

    fn in_subscribe_context(&self) -> bool {
        self.subscribed && self.proto == Proto::Resp2
    }
}

fn peer(stream: &TcpStream) -> (String, String) {
    let a = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let l = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
    (a, l)
}

async fn connection(mut stream: TcpStream, in_flight: Rc<Cell<usize>>) {
    let _ = stream.set_nodelay(true);
    let (addr, laddr) = peer(&stream);
    let (push_tx, mut push_rx) = mpsc::unbounded();
    let (kill_tx, mut kill_rx) = oneshot::channel();
    let id = state::next_client_id();
    let handle = Rc::new(ClientHandle {
        id,
        addr,
        laddr,
        created_ms: now_ms(),
        name: RefCell::new(None),
        db: Cell::new(0),
        resp: Cell::new(2),
        last_cmd: RefCell::new("NULL".into()),
        last_interaction_ms: Cell::new(now_ms()),
        subs: Cell::new(0),
        psubs: Cell::new(0),
        ssubs: Cell::new(0),
        qbuf: Cell::new(0),
        blocked: Cell::new(false),
        kill: RefCell::new(Some(kill_tx)),
        push: push_tx,
        push_bytes: Cell::new(0),
    });
    state::with_net(|n| n.clients.insert(id, handle.clone()));
    stats::with(|s| s.total_connections += 1);
    let requirepass = state::with_net(|n| n.config.requirepass.is_some());
    let mut conn = Conn { handle: handle.clone(), durable: Vec::new(), db: 0, proto: Proto::Resp2, authed: !requirepass, subscribed: false };

    let mut inbuf = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut rbuf = vec![0u8; READ_CHUNK_BYTES];
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK_BYTES);
    let mut parser = Parser::new();
    let mut closing = false;

    'conn: loop {
        if !conn.durable.is_empty() && wal::wait_all(conn.durable.drain(..)).await.is_err() {
            // Not durable: acknowledge nothing of this batch (the client sees the connection
            // close); later writes are refused with -MISCONF until the log works again.
            break;
        }
        if !out.is_empty() {
            stats::with(|s| s.net_output_bytes += out.len() as u64);
            if stream.write_all(&out).await.is_err() {
                break;
            }
            out.clear();
            if out.capacity() > 1024 * 1024 {
                out = Vec::with_capacity(READ_CHUNK_BYTES);
            }
        }
        if closing {
            break;
        }
        // Wait for bytes, a pub/sub message, or a kill.
        let ev = {
            let read = stream.read(&mut rbuf);
            futures::pin_mut!(read);
            let other = select(push_rx.next(), &mut kill_rx);
            match select(read, other).await {
                Either::Left((r, _)) => Either::Left(r),
                Either::Right((Either::Left((m, _)), _)) => Either::Right(Some(m)),
                Either::Right((Either::Right(_), _)) => Either::Right(None),
            }
        };
        let n = match ev {
            Either::Left(Ok(0)) | Either::Left(Err(_)) => break,
            Either::Left(Ok(n)) => n,
            Either::Right(Some(Some(msg))) => {
                deliver(&conn, &mut out, msg, &mut push_rx);
                continue;
            }
            Either::Right(Some(None)) | Either::Right(None) => break,
        };
        stats::with(|s| s.net_input_bytes += n as u64);
        inbuf.extend_from_slice(&rbuf[..n]);
        handle.last_interaction_ms.set(now_ms());
        let qlimit = state::with_net(|n| n.config.client_query_buffer_limit);
        if inbuf.len() > qlimit {
            tracing::warn!(client = id, bytes = inbuf.len(), "closing client that reached max query buffer length");
            break;
        }
        in_flight.set(in_flight.get() + 1);
        let limits = Limits {
            max_bulk_bytes: state::with_net(|n| n.config.proto_max_bulk_len),
            unauthenticated: !conn.authed,
        };
        loop {
            let args = match parser.next(&mut inbuf, &limits) {
                Ok(Some(args)) => args,
                Ok(None) => break,
                Err(ProtocolError(msg)) => {
                    conn.reply(&mut out, &Reply::err(format!("ERR Protocol error: {msg}")));
                    closing = true;
                    break;
                }
            };
            if args.is_empty() {
                continue;
            }
            match command(&mut conn, args, &mut out).await {
                Next::Continue => {}
                Next::Close => {
                    closing = true;
                    break;
                }
                Next::Block { spec, args, timeout_ms } => {
                    // Write what came before, then park.
                    if !conn.durable.is_empty() && wal::wait_all(conn.durable.drain(..)).await.is_err() {
                        in_flight.set(in_flight.get() - 1);
                        break 'conn;
                    }
                    if !out.is_empty() {
                        if stream.write_all(&out).await.is_err() {
                            in_flight.set(in_flight.get() - 1);
                            break 'conn;
                        }
                        out.clear();
                    }
                    handle.blocked.set(true);
                    let r = block(&conn, spec, args, timeout_ms, &mut stream, &mut inbuf, &mut kill_rx).await;
                    handle.blocked.set(false);
                    match r {
                        Some(reply) => conn.reply(&mut out, &reply),
                        None => {
                            in_flight.set(in_flight.get() - 1);
                            break 'conn;
                        }
                    }
                }
            }
        }
        handle.qbuf.set(inbuf.len());
        in_flight.set(in_flight.get() - 1);
        if inbuf.capacity() > 1024 * 1024 && inbuf.is_empty() {
            inbuf = BytesMut::with_capacity(READ_CHUNK_BYTES);
        }
    }
    commands::pubsub::drop_client(&handle);
    state::with_net(|n| n.clients.remove(&id));
}

/// Encodes a pub/sub message and any others already queued.
fn deliver(conn: &Conn, out: &mut Vec<u8>, first: Reply, rx: &mut mpsc::UnboundedReceiver<Reply>) {
    let mut msg = Some(first);
    while let Some(m) = msg {
        conn.reply(out, &m);
        msg = rx.try_recv().ok();
    }
    conn.handle.push_bytes.set(0);
}

/// Parks a blocking command until one of its keys is signalled, the timeout passes (the
/// command's timeout reply), or the client goes away (None). Bytes the client sends meanwhile are
/// kept for after the block, as Redis does.
async fn block(
    conn: &Conn,
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
    timeout_ms: u64,
    stream: &mut TcpStream,
    inbuf: &mut BytesMut,
    kill_rx: &mut oneshot::Receiver<()>,
) -> Option<Reply> {
    let deadline = (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms));
    let timeout_reply = match spec.name {
        "blmove" | "brpoplpush" => Reply::Nil,
        _ => Reply::NilArray,
    };
    let (_, n) = shard_state::local();
    let db = conn.db;
    let mut rbuf = vec![0u8; 4096];
    loop {
        // Register on every key's owner, then try again: a push that landed between the first
        // attempt and the registration is not missed.
        let mut waits = Vec::new();
        for p in spec.key_positions(&args) {
            let key = args[p].clone();
            match mesh::run_on(shard_for(&key, n), move |s| s.waiters.register(db, key)).await {
                Ok(rx) => waits.push(rx),
                Err(e) => return Some(Reply::err(format!("ERR {e}"))),
            }
        }
        let o = route::run(spec, db, args.clone()).await;
        if o.block_ms.is_none() {
            if let Some(t) = o.durable {
                wal::wait(t).await.ok()?;
            }
            return Some(o.reply);
        }
        let remaining = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(r) if !r.is_zero() => Some(r),
                _ => return Some(timeout_reply),
            },
            None => None,
        };
        // Wait for a wake-up, the timeout, a kill, or the socket (EOF = client gone).
        loop {
            let woke = futures::future::select_all(waits.iter_mut());
            let timer = async {
                match remaining {
                    Some(r) => rt::sleep(r).await,
                    None => futures::future::pending::<()>().await,
                }
            };
            futures::pin_mut!(timer);
            let read = stream.read(&mut rbuf);
            futures::pin_mut!(read);
            let side = select(read, &mut *kill_rx);
            match select(select(woke, timer), side).await {
                Either::Left((Either::Left(_), _)) => break,
                Either::Left((Either::Right(_), _)) => return Some(timeout_reply),
                Either::Right((Either::Left((Ok(k), _)), _)) if k > 0 => {
                    inbuf.extend_from_slice(&rbuf[..k]);
                    if inbuf.len() > state::with_net(|n| n.config.client_query_buffer_limit) {
                        return None;
                    }
                }
                Either::Right(_) => return None,
            }
        }
    }
}

/// Runs one command and appends its reply (or replies) to `out`.
pub(crate) async fn command(conn: &mut Conn, args: Vec<Bytes>, out: &mut Vec<u8>) -> Next {
    let spec = match redis::check(&args) {
        Ok(s) => s,
        Err(e) => {
            if let Some(s) = redis::lookup(&args[0]) {
                stats::with(|st| st.commands.entry(s.name).or_default().rejected += 1);
            }
            conn.reply(out, &e);
            return Next::Continue;
        }
    };
    conn.handle.last_cmd.replace(spec.name.to_string());
    if !conn.authed && spec.flags & flags::NO_AUTH == 0 {
        stats::with(|st| st.commands.entry(spec.name).or_default().rejected += 1);
        conn.reply(out, &Reply::err("NOAUTH Authentication required."));
        return Next::Continue;
    }
    if conn.in_subscribe_context()
        && !matches!(
            spec.name,
            "subscribe" | "ssubscribe" | "unsubscribe" | "sunsubscribe" | "psubscribe" | "punsubscribe" | "ping" | "quit" | "reset"
        )
    {
        conn.reply(
            out,
            &Reply::err(format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                spec.name
            )),
        );
        return Next::Continue;
    }
    wait_if_paused(spec).await;
    let started = Instant::now();
    let (next, failed) = match spec.exec {
        Exec::Conn => commands::run(conn, spec, args, out).await,
        Exec::Engine(_) => {
            let o = route::run(spec, conn.db, args.clone()).await;
            match o.block_ms {
                Some(t) => (Next::Block { spec, args, timeout_ms: t }, false),
                None => {
                    let failed = o.reply.is_error();
                    conn.durable.extend(o.durable);
                    conn.reply(out, &o.reply);
                    (Next::Continue, failed)
                }
            }
        }
    };
    let usec = started.elapsed().as_micros() as u64;
    stats::with(|st| {
        st.total_commands += 1;
        let c = st.commands.entry(spec.name).or_default();
        c.calls += 1;
        c.usec += usec;
        if failed {
            c.failed += 1;
        }
    });
    next
}

/// CLIENT PAUSE: hold commands (all, or only writes) until the pause ends.
async fn wait_if_paused(spec: &'static CommandSpec) {
    loop {
        let (until, writes_only) = state::with_net(|n| (n.pause_until_ms, n.pause_writes_only));
        if until == 0 || now_ms() >= until {
            return;
        }
        if writes_only && !spec.is_write() && spec.name != "publish" {
            return;
        }
        if matches!(spec.name, "client" | "ping" | "quit" | "reset" | "auth" | "hello") {
            return;
        }
        rt::sleep(Duration::from_millis(5)).await;
    }
}
