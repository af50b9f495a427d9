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
    rt::accept_until_shutdown(&listener, "redis", |stream| {
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
    })
    .await;
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
    Block {
        spec: &'static CommandSpec,
        args: Vec<Bytes>,
        timeout_ms: u64,
    },
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
    /// Inside MULTI: the queued commands.
    pub multi: Option<commands::multi::Multi>,
    /// WATCHed keys.
    pub watched: Vec<commands::multi::Watched>,
    /// Running EXEC's queue: its transaction holds the keys of the commands it runs.
    pub in_exec: bool,
    /// Replies encoded into the output buffer since it was last written (to answer each with an
    /// error instead when the log could not make the batch durable).
    pub replies: Cell<usize>,
    /// CLIENT REPLY OFF: no reply (nor pub/sub message) is sent.
    pub replies_off: Cell<bool>,
    /// CLIENT REPLY SKIP: how many replies from now on are not sent (its own and the next
    /// command's).
    pub replies_skipped: Cell<u8>,
}

impl Conn {
    pub fn reply(&self, out: &mut Vec<u8>, r: &Reply) {
        if r.is_error() {
            stats::with(|s| s.error_replies += 1);
        }
        if self.replies_off.get() {
            return;
        }
        if self.replies_skipped.get() > 0 {
            self.replies_skipped.set(self.replies_skipped.get() - 1);
            return;
        }
        encode(out, r, self.proto);
        self.replies.set(self.replies.get() + 1);
    }

    /// Waits until the replies in `out` may go out (their log records are durable). If the log
    /// failed, every reply of the batch becomes the -MISCONF error: nothing in it is acknowledged
    /// (the writes stay in memory and reach the log when it works again; later writes are refused
    /// until then).
    pub async fn settle_batch(&mut self, out: &mut Vec<u8>) {
        if self.durable.is_empty() {
            return;
        }
        if let Err(e) = wal::wait_all(self.durable.drain(..)).await {
            let n = self.replies.get();
            out.clear();
            self.replies.set(0);
            let err = Reply::err(wal::misconf(&e));
            for _ in 0..n {
                self.reply(out, &err);
            }
        }
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
        last_cmd: Cell::new("NULL"),
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
    let mut conn = Conn {
        handle: handle.clone(),
        durable: Vec::new(),
        db: 0,
        proto: Proto::Resp2,
        authed: !requirepass,
        subscribed: false,
        multi: None,
        watched: Vec::new(),
        in_exec: false,
        replies: Cell::new(0),
        replies_off: Cell::new(false),
        replies_skipped: Cell::new(0),
    };

    let mut inbuf = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut rbuf = vec![0u8; READ_CHUNK_BYTES];
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK_BYTES);
    let mut parser = Parser::new();
    let mut closing = false;
    let mut protocol_error: Option<String> = None;

    'conn: loop {
        conn.settle_batch(&mut out).await;
        if !out.is_empty() {
            stats::with(|s| s.net_output_bytes += out.len() as u64);
            if stream.write_all(&out).await.is_err() {
                break;
            }
            out.clear();
            conn.replies.set(0);
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
        let limits =
            Limits { max_bulk_bytes: state::with_net(|n| n.config.proto_max_bulk_len), unauthenticated: !conn.authed };
        // Parse every complete command in the buffer, then run them in order.
        let mut batch: Vec<Vec<Bytes>> = Vec::new();
        loop {
            match parser.next(&mut inbuf, &limits) {
                Ok(Some(args)) if args.is_empty() => continue,
                Ok(Some(args)) => {
                    batch.push(args);
                    if batch.len() >= MAX_BATCH_COMMANDS {
                        break;
                    }
                }
                Ok(None) => break,
                Err(ProtocolError(msg)) => {
                    protocol_error = Some(msg);
                    break;
                }
            }
        }
        let mut batch = batch.into_iter().peekable();
        while let Some(args) = batch.next() {
            // A run of single-shard commands bound for other shards goes as one hop per shard.
            if let Some(target) = squashable(&conn, &args) {
                let mut run = vec![(target, args)];
                while let Some(t) = batch.peek().and_then(|a| squashable(&conn, a)) {
                    let a = batch.next().expect("peeked");
                    run.push((t, a));
                }
                if run.len() > 1 {
                    run_squashed(&mut conn, run, &mut out).await;
                    continue;
                }
                let (_, args) = run.pop().expect("one command");
                if let Flow::Break =
                    run_one(&mut conn, args, &mut out, &mut stream, &mut inbuf, &mut kill_rx, &mut closing).await
                {
                    in_flight.set(in_flight.get() - 1);
                    break 'conn;
                }
                continue;
            }
            if let Flow::Break =
                run_one(&mut conn, args, &mut out, &mut stream, &mut inbuf, &mut kill_rx, &mut closing).await
            {
                in_flight.set(in_flight.get() - 1);
                break 'conn;
            }
            if closing {
                break;
            }
        }
        if let Some(msg) = protocol_error.take() {
            if !closing {
                conn.reply(&mut out, &Reply::err(format!("ERR Protocol error: {msg}")));
                closing = true;
            }
        }
        handle.qbuf.set(inbuf.len());
        in_flight.set(in_flight.get() - 1);
        if inbuf.capacity() > 1024 * 1024 && inbuf.is_empty() {
            inbuf = BytesMut::with_capacity(READ_CHUNK_BYTES);
        }
    }
    commands::pubsub::drop_client(&handle);
    commands::multi::forget(&mut conn);
    state::with_net(|n| n.clients.remove(&id));
}

enum Flow {
    Continue,
    Break,
}

/// Runs one command in sequence, parking it if it blocks. `Flow::Break`: the client is gone.
async fn run_one(
    conn: &mut Conn,
    args: Vec<Bytes>,
    out: &mut Vec<u8>,
    stream: &mut TcpStream,
    inbuf: &mut BytesMut,
    kill_rx: &mut oneshot::Receiver<()>,
    closing: &mut bool,
) -> Flow {
    match command(conn, args, out).await {
        Next::Continue => {}
        Next::Close => *closing = true,
        Next::Block { spec, args, timeout_ms } => {
            // Write what came before (once durable), then park.
            conn.settle_batch(out).await;
            if !out.is_empty() {
                if stream.write_all(out).await.is_err() {
                    return Flow::Break;
                }
                out.clear();
                conn.replies.set(0);
            }
            conn.handle.blocked.set(true);
            let r = block(conn, spec, args, timeout_ms, stream, inbuf, kill_rx).await;
            conn.handle.blocked.set(false);
            // Unblocking is an interaction: the idle `timeout` counts from here.
            conn.handle.last_interaction_ms.set(now_ms());
            match r {
                Some(reply) => conn.reply(out, &reply),
                None => return Flow::Break,
            }
        }
    }
    Flow::Continue
}

/// Most commands parsed from one read before they are run.
const MAX_BATCH_COMMANDS: usize = 4096;

/// The shard a command can be squashed to: an engine command, not blocking, not all-shards,
/// whose keys all live on one shard, on a connection that may run it now.
fn squashable(conn: &Conn, args: &[Bytes]) -> Option<usize> {
    if !conn.authed || conn.subscribed || conn.multi.is_some() {
        return None;
    }
    let (_, n) = shard_state::local();
    if n == 1 {
        return None;
    }
    let spec = redis::check(args).ok()?;
    if !matches!(spec.exec, Exec::Engine(_)) || spec.flags & (flags::BLOCKING | flags::ALL_SHARDS) != 0 {
        return None;
    }
    if state::with_net(|n| n.pause_until_ms) > now_ms() {
        return None;
    }
    let pos = spec.key_positions(args);
    let first = shard_for(args.get(*pos.first()?)?, n);
    pos[1..].iter().all(|&p| shard_for(&args[p], n) == first).then_some(first)
}

/// Runs a run of squashable commands: one closure per target shard, all shards concurrently,
/// each shard's commands in their order; replies are written in the client's order.
async fn run_squashed(conn: &mut Conn, run: Vec<(usize, Vec<Bytes>)>, out: &mut Vec<u8>) {
    let db = conn.db;
    let mut by_shard: std::collections::BTreeMap<usize, Vec<(usize, Vec<Bytes>)>> = Default::default();
    // Arguments stay here too (reference counts only) for the slow log.
    let args_of: Vec<Vec<Bytes>> = run.iter().map(|(_, a)| a.clone()).collect();
    for (i, (t, a)) in run.into_iter().enumerate() {
        by_shard.entry(t).or_default().push((i, a));
    }
    let total: usize = by_shard.values().map(|v| v.len()).sum();
    let futs = by_shard.into_iter().map(|(t, cmds)| {
        mesh::run_on(t, move |s| {
            let mut done = Vec::with_capacity(cmds.len());
            let mut cmds = cmds.into_iter();
            while let Some((i, a)) = cmds.next() {
                let spec = redis::check(&a).expect("checked by squashable");
                if !s.tx.is_idle() {
                    let pos = spec.key_positions(&a);
                    if s.tx.blocks(spec.is_write(), pos.iter().map(|&p| (db, &a[p][..]))) {
                        // A transaction holds a key: this command and the rest of this shard's
                        // run wait for it, in order.
                        let rest: Vec<_> = std::iter::once((i, a)).chain(cmds).collect();
                        return (done, rest);
                    }
                }
                let started = Instant::now();
                let o = orbit_shards::exec::run(s, spec, db, &a);
                done.push((i, spec.name, o.reply, o.durable, started.elapsed().as_micros() as u64));
            }
            (done, Vec::new())
        })
    });
    let mut replies: Vec<Option<Reply>> = vec![None; total];
    for r in futures::future::join_all(futs).await {
        match r {
            Ok((done, rest)) => {
                for (i, name, reply, durable, usec) in done {
                    conn.durable.extend(durable);
                    stats::record(name, usec, reply.is_error(), &args_of[i], &conn.handle);
                    replies[i] = Some(reply);
                }
                for (i, a) in rest {
                    let spec = redis::check(&a).expect("checked by squashable");
                    let started = Instant::now();
                    let o = route::run(spec, db, &a).await;
                    conn.durable.extend(o.durable);
                    stats::record(
                        spec.name,
                        started.elapsed().as_micros() as u64,
                        o.reply.is_error(),
                        &a,
                        &conn.handle,
                    );
                    replies[i] = Some(o.reply);
                }
            }
            Err(e) => {
                for slot in replies.iter_mut().filter(|r| r.is_none()) {
                    *slot = Some(Reply::err(format!("ERR {e}")));
                }
            }
        }
    }
    for r in replies {
        conn.reply(out, &r.unwrap_or_else(|| Reply::err("ERR internal: missing reply")));
    }
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
///
/// The client parks on every key's owner once, with one arrival number, and stays parked in its
/// place until it leaves (see `orbit_shards::exec::Waiters`): woken, it tries again; finding
/// nothing, it settles back and tries once more (an element that came while it was woken was
/// signalled to the next client, or to nobody) before waiting.
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
    let parking =
        Parking::new(conn.db, &spec.key_positions(&args).into_iter().map(|p| args[p].clone()).collect::<Vec<_>>());
    if let Err(e) = parking.park().await {
        parking.leave().await;
        return Some(Reply::err(format!("ERR {e}")));
    }
    let r = block_parked(conn, spec, &args, deadline, &parking, stream, inbuf, kill_rx).await;
    parking.leave().await;
    r
}

#[allow(clippy::too_many_arguments)]
async fn block_parked(
    conn: &Conn,
    spec: &'static CommandSpec,
    args: &[Bytes],
    deadline: Option<Instant>,
    parking: &Parking,
    stream: &mut TcpStream,
    inbuf: &mut BytesMut,
    kill_rx: &mut oneshot::Receiver<()>,
) -> Option<Reply> {
    // Redis answers every timed-out list or sorted-set block with a null array
    // (`replyToBlockedClientTimedOut`), BLMOVE and BRPOPLPUSH included.
    let timeout_reply = Reply::NilArray;
    let mut rbuf = vec![0u8; 4096];
    let mut woken = false;
    loop {
        let mut o = route::run(spec, conn.db, args).await;
        if o.block_ms.is_some() && woken {
            // Woken for nothing: wait again in our place, and look once more, since an element
            // that arrived while we were marked woken went to the next client or to nobody.
            parking.settle().await;
            o = route::run(spec, conn.db, args).await;
        }
        if o.block_ms.is_none() {
            if let Some(t) = o.durable {
                if let Err(e) = wal::wait(t).await {
                    return Some(Reply::err(wal::misconf(&e)));
                }
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
            let woke = parking.notify.wait();
            futures::pin_mut!(woke);
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
                Either::Left((Either::Left(_), _)) => {
                    woken = true;
                    break;
                }
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

/// A blocked client's registrations on the owners of its keys.
struct Parking {
    db: usize,
    seq: u64,
    by_shard: std::collections::BTreeMap<usize, Vec<Bytes>>,
    notify: std::sync::Arc<orbit_shards::exec::Notify>,
}

impl Parking {
    fn new(db: usize, keys: &[Bytes]) -> Parking {
        let (_, n) = shard_state::local();
        let mut by_shard: std::collections::BTreeMap<usize, Vec<Bytes>> = Default::default();
        for k in keys {
            by_shard.entry(shard_for(k, n)).or_default().push(k.clone());
        }
        Parking { db, seq: orbit_shards::tx::next_id(), by_shard, notify: Default::default() }
    }

    async fn park(&self) -> orbit_shards::Result<()> {
        let (db, seq) = (self.db, self.seq);
        for (&shard, keys) in &self.by_shard {
            let (keys, notify) = (keys.clone(), self.notify.clone());
            mesh::run_on(shard, move |s| {
                for k in keys {
                    s.waiters.park(db, k, seq, notify.clone());
                }
            })
            .await?;
        }
        Ok(())
    }

    async fn settle(&self) {
        let (db, seq) = (self.db, self.seq);
        for (&shard, keys) in &self.by_shard {
            let keys = keys.clone();
            let _ = mesh::run_on(shard, move |s| keys.iter().for_each(|k| s.waiters.settle(db, k, seq))).await;
        }
    }

    async fn leave(&self) {
        let (db, seq) = (self.db, self.seq);
        for (&shard, keys) in &self.by_shard {
            let keys = keys.clone();
            let _ = mesh::run_on(shard, move |s| {
                let now = now_ms();
                for k in &keys {
                    let has_data = s.keyspace.dbs[db].contains(k, now);
                    s.waiters.leave(db, k, seq, has_data);
                }
            })
            .await;
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
            commands::multi::flag(conn);
            conn.reply(out, &e);
            return Next::Continue;
        }
    };
    conn.handle.last_cmd.set(spec.name);
    if !conn.authed && spec.flags & flags::NO_AUTH == 0 {
        stats::with(|st| st.commands.entry(spec.name).or_default().rejected += 1);
        commands::multi::flag(conn);
        conn.reply(out, &Reply::err("NOAUTH Authentication required."));
        return Next::Continue;
    }
    if conn.in_subscribe_context()
        && !matches!(
            spec.name,
            "subscribe"
                | "ssubscribe"
                | "unsubscribe"
                | "sunsubscribe"
                | "psubscribe"
                | "punsubscribe"
                | "ping"
                | "quit"
                | "reset"
        )
    {
        let msg = format!(
            "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            spec.name
        );
        commands::multi::flag(conn);
        if spec.name == "exec" {
            // Redis's execCommandAbort: a refused EXEC discards the transaction.
            conn.multi = None;
            commands::multi::unwatch_all(conn).await;
            conn.reply(out, &Reply::err(format!("EXECABORT Transaction discarded because of: {msg}")));
        } else {
            conn.reply(out, &Reply::err(format!("ERR {msg}")));
        }
        return Next::Continue;
    }
    if conn.multi.is_some() && !commands::multi::runs_immediately(spec.name) {
        let r = commands::multi::queue(conn, args);
        conn.reply(out, &r);
        return Next::Continue;
    }
    wait_if_paused(spec).await;
    let started = Instant::now();
    let mut block = None;
    let (next, failed) = match spec.exec {
        Exec::Conn => commands::run(conn, spec, &args, out).await,
        Exec::Engine(_) => {
            let o = route::run(spec, conn.db, &args).await;
            block = o.block_ms;
            if block.is_none() {
                conn.durable.extend(o.durable);
                conn.reply(out, &o.reply);
            }
            (Next::Continue, o.reply.is_error() && block.is_none())
        }
    };
    stats::record(spec.name, started.elapsed().as_micros() as u64, failed, &args, &conn.handle);
    match block {
        Some(timeout_ms) => Next::Block { spec, args, timeout_ms },
        None => next,
    }
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
