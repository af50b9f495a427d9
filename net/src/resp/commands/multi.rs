//! MULTI, EXEC, DISCARD, WATCH, UNWATCH (<https://redis.io/docs/interact/transactions/>).
//!
//! Queued commands run at EXEC as one transaction of the shard scheduler
//! ([`orbit_shards::tx`]): intent locks on every key any queued command touches (exclusive for
//! writes, shared for reads, whole shards for FLUSHALL-like commands) and shared locks on the
//! watched keys, held on all shards at once. Nothing else touching those keys runs in between,
//! whichever shards they live on. Errors at queue time abort EXEC (EXECABORT); errors while it
//! runs do not roll back, as in Redis.
//!
//! WATCH registers the client on each key's owner shard; any write to the key there marks the
//! client, and EXEC also fails when a key that was live at WATCH has expired since
//! (Redis 7.0's `isWatchedKeyExpired`).

use crate::resp::conn::{Conn, Next};
use crate::resp::{route, stats};
use bytes::Bytes;
use orbit_engine::keyspace::{now_ms, Db};
use orbit_engine::redis::{self, flags, CommandSpec, Exec};
use orbit_engine::reply::Reply;
use orbit_shards::{mesh, shard_for, state as shard_state, tx, ShardId};
use std::collections::BTreeMap;
use std::time::Instant;

/// A client inside MULTI.
#[derive(Default)]
pub struct Multi {
    queued: Vec<Vec<Bytes>>,
    bytes: usize,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    aborted: bool,
}

/// A WATCHed key: where it lives and whether it was live when watched.
pub struct Watched {
    db: usize,
    key: Bytes,
    shard: ShardId,
    was_live: bool,
}

pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// Commands that run at once inside MULTI instead of being queued.
pub fn runs_immediately(name: &str) -> bool {
    matches!(name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Marks the open transaction (if any) as failed: a command was refused while queueing.
pub fn flag(conn: &mut Conn) {
    if let Some(m) = &mut conn.multi {
        m.aborted = true;
    }
}

/// Queues a command inside MULTI.
pub fn queue(conn: &mut Conn, args: Vec<Bytes>) -> Reply {
    if args[0].eq_ignore_ascii_case(b"object") {
        if let Err(e) = redis::cmd::keys::object_subcommand(&args) {
            flag(conn);
            return e;
        }
    }
    let limit = crate::resp::state::with_net(|n| n.config.client_query_buffer_limit);
    let Some(m) = &mut conn.multi else { return Reply::err("ERR internal: queue outside MULTI") };
    let size: usize = args.iter().map(|a| a.len() + 16).sum();
    if m.bytes + size > limit {
        m.aborted = true;
        return Reply::err("ERR MULTI queue is larger than client-query-buffer-limit");
    }
    m.bytes += size;
    m.queued.push(args);
    Reply::simple("QUEUED")
}

pub fn multi(conn: &mut Conn) -> Reply {
    if conn.multi.is_some() {
        return Reply::err("ERR MULTI calls can not be nested");
    }
    conn.multi = Some(Multi::default());
    Reply::Ok
}

pub async fn discard(conn: &mut Conn) -> Reply {
    if conn.multi.take().is_none() {
        return Reply::err("ERR DISCARD without MULTI");
    }
    unwatch_all(conn).await;
    Reply::Ok
}

pub async fn watch(conn: &mut Conn, args: &[Bytes]) -> Reply {
    if conn.multi.is_some() {
        return Reply::err("ERR WATCH inside MULTI is not allowed");
    }
    let (_, n) = shard_state::local();
    let (db, client) = (conn.db, conn.handle.id);
    for key in &args[1..] {
        if conn.watched.iter().any(|w| w.db == db && w.key == key) {
            continue;
        }
        let shard = shard_for(key, n);
        let k = key.clone();
        let live = mesh::run_on(shard, move |s| {
            let now = now_ms();
            let live = s.keyspace.dbs[db].peek(&k).is_some_and(|e| !Db::is_expired(e, now));
            s.watches.watch(client, db, k);
            live
        })
        .await;
        match live {
            Ok(was_live) => conn.watched.push(Watched { db, key: key.clone(), shard, was_live }),
            Err(e) => return Reply::err(format!("ERR {e}")),
        }
    }
    Reply::Ok
}

/// Forgets every watched key of this client, on every shard.
pub async fn unwatch_all(conn: &mut Conn) {
    if conn.watched.is_empty() {
        return;
    }
    let client = conn.handle.id;
    for (shard, keys) in by_shard(std::mem::take(&mut conn.watched)) {
        let keys: Vec<(usize, Bytes)> = keys.into_iter().map(|w| (w.db, w.key)).collect();
        let _ = mesh::post(shard, move |s| s.watches.unwatch(client, &keys)).await;
    }
}

/// Like [`unwatch_all`], from a closing connection (no await possible in its teardown path).
pub fn forget(conn: &mut Conn) {
    if conn.watched.is_empty() {
        return;
    }
    let client = conn.handle.id;
    let watched = std::mem::take(&mut conn.watched);
    orbit_shards::rt::spawn(async move {
        for (shard, keys) in by_shard(watched) {
            let keys: Vec<(usize, Bytes)> = keys.into_iter().map(|w| (w.db, w.key)).collect();
            let _ = mesh::post(shard, move |s| s.watches.unwatch(client, &keys)).await;
        }
    });
}

fn by_shard(watched: Vec<Watched>) -> BTreeMap<ShardId, Vec<Watched>> {
    let mut m: BTreeMap<ShardId, Vec<Watched>> = BTreeMap::new();
    for w in watched {
        m.entry(w.shard).or_default().push(w);
    }
    m
}

/// The intent locks of a whole EXEC: every queued command's keys and the watched keys.
fn intents(
    queued: &[(&'static CommandSpec, Vec<Bytes>)],
    watched: &[Watched],
    mut db: usize,
) -> Vec<(ShardId, tx::Intent)> {
    let (_, n) = shard_state::local();
    let mut by_shard: BTreeMap<ShardId, tx::Intent> = BTreeMap::new();
    for w in watched {
        by_shard.entry(w.shard).or_default().add_key(w.db, &w.key, tx::Mode::Shared);
    }
    for (spec, args) in queued {
        if spec.name == "select" {
            // Later commands run in the selected db.
            if let Ok(d) = redis::args::db_index(&args[1]) {
                db = d;
            }
            continue;
        }
        if !matches!(spec.exec, Exec::Engine(_)) {
            if spec.name.starts_with("eval") {
                // A script's declared keys, held for writing.
                let positions = spec.key_positions(args);
                for &p in &positions {
                    by_shard.entry(shard_for(&args[p], n)).or_default().add_key(db, &args[p], tx::Mode::Exclusive);
                }
            }
            continue;
        }
        let mode = if spec.is_write() { tx::Mode::Exclusive } else { tx::Mode::Shared };
        if spec.flags & flags::ALL_SHARDS != 0 {
            for i in 0..n {
                by_shard.entry(i).or_default().whole(mode);
            }
            continue;
        }
        let positions = spec.key_positions(args);
        for (shard, intent) in route::intents(spec, db, args, &positions, n) {
            let e = by_shard.entry(shard).or_default();
            *e = merge(std::mem::take(e), intent);
        }
    }
    by_shard.into_iter().map(|(s, i)| (s, i.seal())).collect()
}

fn merge(mut into: tx::Intent, from: tx::Intent) -> tx::Intent {
    into.absorb(from);
    into
}

/// Whether a watched key changed since WATCH (on any shard).
async fn watch_broken(conn: &Conn) -> bool {
    let client = conn.handle.id;
    let mut groups = BTreeMap::new();
    for w in &conn.watched {
        groups.entry(w.shard).or_insert_with(Vec::new).push((w.db, w.key.clone(), w.was_live));
    }
    let checks = groups.into_iter().map(|(shard, keys)| {
        mesh::run_on(shard, move |s| {
            let now = now_ms();
            s.watches.is_touched(client)
                || keys.iter().any(|(db, k, was_live)| {
                    *was_live && s.keyspace.dbs[*db].peek(k).is_none_or(|e| Db::is_expired(e, now))
                })
        })
    });
    futures::future::join_all(checks).await.into_iter().any(|r| r.unwrap_or(true))
}

/// EXEC: runs the queued commands as one transaction; writes the reply array to `out`.
pub async fn exec(conn: &mut Conn, out: &mut Vec<u8>) -> bool {
    let Some(m) = conn.multi.take() else {
        conn.reply(out, &Reply::err("ERR EXEC without MULTI"));
        return true;
    };
    if m.aborted {
        unwatch_all(conn).await;
        conn.reply(out, &Reply::err(EXECABORT));
        return true;
    }
    let queued: Vec<(&'static CommandSpec, Vec<Bytes>)> =
        m.queued.into_iter().filter_map(|args| redis::check(&args).ok().map(|spec| (spec, args))).collect();
    let intents = intents(&queued, &conn.watched, conn.db);
    let held = if intents.is_empty() {
        None
    } else {
        match tx::acquire(intents).await {
            Ok(h) => Some(h),
            Err(e) => {
                conn.reply(out, &Reply::err(format!("ERR {e}")));
                return true;
            }
        }
    };
    if !conn.watched.is_empty() && watch_broken(conn).await {
        unwatch_all(conn).await;
        if let Some(h) = held {
            h.release().await;
        }
        conn.reply(out, &Reply::NilArray);
        return false;
    }
    unwatch_all(conn).await;
    let replies_before = conn.replies.get();
    out.extend_from_slice(format!("*{}\r\n", queued.len()).as_bytes());
    conn.in_exec = true;
    for (spec, args) in queued {
        run_queued(conn, spec, args, out).await;
    }
    conn.in_exec = false;
    // The array is one reply.
    conn.replies.set(replies_before + 1);
    if let Some(h) = held {
        h.release().await;
    }
    false
}

/// Runs one queued command inside EXEC (its keys are held) and appends its reply.
async fn run_queued(conn: &mut Conn, spec: &'static CommandSpec, args: Vec<Bytes>, out: &mut Vec<u8>) {
    let started = Instant::now();
    let failed = match spec.exec {
        Exec::Engine(_) => {
            // Blocking commands do not block inside a transaction: their "nothing" reply stands.
            let o = route::run_held(spec, conn.db, &args).await;
            conn.durable.extend(o.durable);
            conn.reply(out, &o.reply);
            o.reply.is_error()
        }
        Exec::Conn => {
            let (next, failed) = Box::pin(super::run(conn, spec, &args, out)).await;
            debug_assert!(matches!(next, Next::Continue));
            failed
        }
    };
    stats::record(spec.name, started.elapsed().as_micros() as u64, failed, &args, &conn.handle);
}
