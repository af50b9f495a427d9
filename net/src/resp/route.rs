//! Routing an engine command to the shard(s) that own its keys.
//!
//! - No keys, or one shard: one hop to the owner (inline when it is the local shard).
//! - MGET, MSET, DEL, UNLINK, EXISTS, TOUCH over several shards: split per shard, run the parts
//!   concurrently, merge the replies (order kept for MGET, counts summed).
//! - Any other command whose keys span shards (RENAME, SMOVE, SINTERSTORE, ZUNIONSTORE, ...):
//!   copies of its keys are fetched from their owners, the command runs on a scratch keyspace,
//!   and changed keys are written back to their owners. The result equals Redis's.
//! - Every command whose keys span shards runs as a transaction (`orbit_shards::tx`): it holds
//!   intent locks on all its keys while it runs, so no client sees half of it.
//! - ALL_SHARDS commands (DBSIZE, KEYS, SCAN, FLUSHDB, RANDOMKEY, SWAPDB) run everywhere and
//!   their replies are merged.

use bytes::Bytes;
use orbit_engine::keyspace::{now_ms, Entry, Keyspace};
use orbit_engine::redis::{self, flags, CommandSpec, Ctx};
use orbit_engine::reply::Reply;
use orbit_shards::exec::{self, Outcome};
use orbit_shards::{mesh, shard_for, state, tx, wal, ShardId};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::collections::BTreeMap;

fn gone(e: orbit_shards::Error) -> Outcome {
    Outcome::reply(Reply::err(format!("ERR {e}")))
}

/// The merged reply of a multi-shard command, once every part's log record is durable.
async fn settle(reply: Reply, tickets: Vec<wal::Ticket>) -> Reply {
    match wal::wait_all(tickets).await {
        Ok(()) => reply,
        Err(e) => Reply::err(wal::misconf(&e)),
    }
}

/// Runs `args` on shard `to`.
pub async fn on_shard(to: ShardId, spec: &'static CommandSpec, db: usize, args: Vec<Bytes>) -> Outcome {
    match mesh::run_on(to, move |s| exec::run(s, spec, db, &args)).await {
        Ok(o) => o,
        Err(e) => gone(e),
    }
}

/// Runs an engine command wherever its keys live, atomically: a command whose keys sit on one
/// shard runs there in one step unless a queued transaction holds one of its keys; then, and
/// for every command whose keys span shards, it runs as a transaction ([`orbit_shards::tx`]).
/// Arguments are copied (reference counts only) only when they travel to another shard.
pub async fn run(spec: &'static CommandSpec, db: usize, args: &[Bytes]) -> Outcome {
    let (me, n) = state::local();
    let write = spec.is_write();
    if spec.flags & flags::ALL_SHARDS != 0 {
        if matches!(spec.name, "scan" | "randomkey") {
            return Outcome::reply(all_shards(spec, db, args.to_vec()).await);
        }
        if n == 1 {
            let inline = state::with_shard(|s| (!s.tx.blocks_whole(write)).then(|| exec::run(s, spec, db, args)));
            if let Some(o) = inline {
                return o;
            }
        }
        let mode = if write { tx::Mode::Exclusive } else { tx::Mode::Shared };
        let intents = (0..n)
            .map(|i| {
                let mut intent = tx::Intent::default();
                intent.whole(mode);
                (i, intent.seal())
            })
            .collect();
        return in_tx(intents, || async { Outcome::reply(all_shards(spec, db, args.to_vec()).await) }).await;
    }
    if n == 1 {
        let inline = state::with_shard(|s| {
            let free = s.tx.is_idle() || {
                let keys = spec.key_positions(args);
                !s.tx.blocks(write, keys.iter().map(|&p| (db, &args[p][..])))
            };
            free.then(|| exec::run(s, spec, db, args))
        });
        if let Some(o) = inline {
            return o;
        }
        let positions = spec.key_positions(args);
        let intents = intents(spec, db, args, &positions, n);
        return in_tx(intents, || run_held(spec, db, args)).await;
    }
    let positions = spec.key_positions(args);
    if positions.is_empty() {
        return state::with_shard(|s| exec::run(s, spec, db, args));
    }
    let first = shard_for(&args[positions[0]], n);
    if positions[1..].iter().all(|&p| shard_for(&args[p], n) == first) {
        let tried = if first == me {
            state::with_shard(|s| {
                (!s.tx.blocks(write, positions.iter().map(|&p| (db, &args[p][..]))))
                    .then(|| exec::run(s, spec, db, args))
            })
        } else {
            let a = args.to_vec();
            let pos = positions.clone();
            let r = mesh::run_on(first, move |s| {
                (!s.tx.blocks(write, pos.iter().map(|&p| (db, &a[p][..])))).then(|| exec::run(s, spec, db, &a))
            })
            .await;
            match r {
                Ok(o) => o,
                Err(e) => return gone(e),
            }
        };
        if let Some(o) = tried {
            return o;
        }
    }
    if !spec.is_write() && matches!(spec.name, "mget" | "exists" | "touch") {
        return Outcome::reply(read_split(spec, db, args, n).await);
    }
    let intents = intents(spec, db, args, &positions, n);
    in_tx(intents, || run_held(spec, db, args)).await
}

/// Runs `body` as a transaction over `intents`, releasing it afterwards.
async fn in_tx<F, Fut>(intents: Vec<(ShardId, tx::Intent)>, body: F) -> Outcome
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let held = match tx::acquire(intents).await {
        Ok(h) => h,
        Err(e) => return gone(e),
    };
    let o = body().await;
    held.release().await;
    o
}

/// The (db, key) pairs a command touches: its key arguments, and for COPY ... DB n the
/// destination in the other db.
fn touched_keys(spec: &CommandSpec, db: usize, args: &[Bytes], positions: &[usize]) -> Vec<(usize, Bytes)> {
    let mut keys: Vec<(usize, Bytes)> = positions.iter().map(|&p| (db, args[p].clone())).collect();
    if spec.name == "copy" {
        if let Some(i) = args.iter().position(|a| a.eq_ignore_ascii_case(b"db")) {
            if let Some(Ok(t)) = args.get(i + 1).map(|a| redis::args::db_index(a)) {
                keys.push((t, args[2].clone()));
            }
        }
    }
    keys
}

/// The intent locks of one command, per shard: exclusive for writes, shared for reads.
pub fn intents(
    spec: &CommandSpec,
    db: usize,
    args: &[Bytes],
    positions: &[usize],
    n: usize,
) -> Vec<(ShardId, tx::Intent)> {
    let mode = if spec.is_write() { tx::Mode::Exclusive } else { tx::Mode::Shared };
    let mut by_shard: BTreeMap<ShardId, tx::Intent> = BTreeMap::new();
    for (d, k) in touched_keys(spec, db, args, positions) {
        by_shard.entry(shard_for(&k, n)).or_default().add_key(d, &k, mode);
    }
    by_shard.into_iter().map(|(s, i)| (s, i.seal())).collect()
}

/// Runs an engine command whose keys the caller's transaction already holds (or that owns the
/// only shard): no lock checks.
pub async fn run_held(spec: &'static CommandSpec, db: usize, args: &[Bytes]) -> Outcome {
    let (me, n) = state::local();
    if spec.flags & flags::ALL_SHARDS != 0 {
        return Outcome::reply(all_shards(spec, db, args.to_vec()).await);
    }
    let positions = spec.key_positions(args);
    if n == 1 || positions.is_empty() {
        return state::with_shard(|s| exec::run(s, spec, db, args));
    }
    let first = shard_for(&args[positions[0]], n);
    if positions[1..].iter().all(|&p| shard_for(&args[p], n) == first) {
        if first == me {
            return state::with_shard(|s| exec::run(s, spec, db, args));
        }
        return on_shard(first, spec, db, args.to_vec()).await;
    }
    let reply = match spec.name {
        "mset" => split_ok(spec, db, args, n, 2).await,
        "mget" | "del" | "unlink" | "exists" | "touch" => {
            let parts = parts(args, n);
            let outcomes = run_parts(spec, db, &parts).await;
            merge_parts(spec, args, &parts, outcomes).await
        }
        _ => return scratch(spec, db, args, &positions, n).await,
    };
    Outcome::reply(reply)
}

/// Groups argument positions by owning shard (keeping their order within a shard).
fn group(args: &[Bytes], positions: impl Iterator<Item = usize>, n: usize) -> BTreeMap<ShardId, Vec<usize>> {
    let mut m: BTreeMap<ShardId, Vec<usize>> = BTreeMap::new();
    for p in positions {
        m.entry(shard_for(&args[p], n)).or_default().push(p);
    }
    m
}

/// The per-shard parts of a split command: (shard, argument positions, the part's argv).
fn parts(args: &[Bytes], n: usize) -> Vec<(ShardId, Vec<usize>, Vec<Bytes>)> {
    group(args, 1..args.len(), n)
        .into_iter()
        .map(|(shard, pos)| {
            let mut part = Vec::with_capacity(pos.len() + 1);
            part.push(args[0].clone());
            part.extend(pos.iter().map(|&p| args[p].clone()));
            (shard, pos, part)
        })
        .collect()
}

/// Runs the parts on their shards (inside a transaction that holds their keys).
async fn run_parts(spec: &'static CommandSpec, db: usize, parts: &[(ShardId, Vec<usize>, Vec<Bytes>)]) -> Vec<Outcome> {
    futures::future::join_all(parts.iter().map(|(shard, _, part)| on_shard(*shard, spec, db, part.clone()))).await
}

/// A read-only split command (MGET, EXISTS, TOUCH over several shards) as a transaction in
/// one hop where possible: each shard queues it with shared locks and, when it is armed there at
/// once, runs its part in the same step. Values read under a shared lock cannot change until the
/// release, so all parts see the state of the moment the last shard armed — one point in time.
/// A refusal anywhere discards what was read and retries with a fresh id.
async fn read_split(spec: &'static CommandSpec, db: usize, args: &[Bytes], n: usize) -> Reply {
    enum Step {
        Ran(Outcome),
        Wait(futures::channel::oneshot::Receiver<()>),
        Refused,
    }
    let parts = parts(args, n);
    loop {
        let id = tx::next_id();
        let hops = parts.iter().map(|(shard, _, part)| {
            let part = part.clone();
            let mut intent = tx::Intent::default();
            for k in &part[1..] {
                intent.add_key(db, k, tx::Mode::Shared);
            }
            let intent = intent.seal();
            mesh::run_on(*shard, move |s| match s.tx.schedule(id, intent) {
                Err(_) => Step::Refused,
                Ok(mut armed) => match armed.try_recv() {
                    Ok(Some(())) => Step::Ran(exec::run(s, spec, db, &part)),
                    _ => Step::Wait(armed),
                },
            })
        });
        let steps = futures::future::join_all(hops).await;
        let mut queued = Vec::new();
        let mut refused = false;
        let mut steps_ok = Vec::with_capacity(steps.len());
        for ((shard, _, _), step) in parts.iter().zip(steps) {
            match step {
                Ok(Step::Refused) => refused = true,
                Ok(st) => {
                    queued.push(*shard);
                    steps_ok.push(Some(st));
                    continue;
                }
                Err(e) => {
                    tx::Held::new(id, queued).release().await;
                    return gone(e).reply;
                }
            }
            steps_ok.push(None);
        }
        let held = tx::Held::new(id, queued);
        if refused {
            held.release().await;
            orbit_shards::rt::yield_once().await;
            continue;
        }
        let mut outcomes = Vec::with_capacity(parts.len());
        for ((shard, _, part), step) in parts.iter().zip(steps_ok) {
            outcomes.push(match step {
                Some(Step::Ran(o)) => o,
                Some(Step::Wait(armed)) => {
                    let _ = armed.await;
                    on_shard(*shard, spec, db, part.clone()).await
                }
                _ => Outcome::reply(Reply::err("ERR internal: missing part")),
            });
        }
        held.release().await;
        return merge_parts(spec, args, &parts, outcomes).await;
    }
}

/// Merges the parts' replies: MGET keeps the argument order, the others sum.
async fn merge_parts(
    spec: &'static CommandSpec,
    args: &[Bytes],
    parts: &[(ShardId, Vec<usize>, Vec<Bytes>)],
    outcomes: Vec<Outcome>,
) -> Reply {
    if spec.name == "mget" {
        let mut out = vec![Reply::Nil; args.len() - 1];
        for ((_, pos, _), o) in parts.iter().zip(outcomes) {
            match o.reply {
                Reply::Array(items) => {
                    for (p, r) in pos.iter().zip(items) {
                        out[p - 1] = r;
                    }
                }
                other => return other,
            }
        }
        return Reply::Array(out);
    }
    let mut sum = 0;
    let mut tickets = Vec::new();
    for o in outcomes {
        tickets.extend(o.durable);
        match o.reply {
            Reply::Int(v) => sum += v,
            other => return settle(other, tickets).await,
        }
    }
    settle(Reply::Int(sum), tickets).await
}

/// Commands of key/value pairs (MSET): each shard gets its pairs.
async fn split_ok(spec: &'static CommandSpec, db: usize, args: &[Bytes], n: usize, step: usize) -> Reply {
    if !(args.len() - 1).is_multiple_of(step) {
        return Reply::err(orbit_engine::reply::errors::wrong_args(spec.name));
    }
    let groups = group(args, (1..args.len()).step_by(step), n);
    let futs = groups.iter().map(|(&shard, pos)| {
        let mut part = vec![args[0].clone()];
        for &p in pos {
            part.extend_from_slice(&args[p..p + step]);
        }
        on_shard(shard, spec, db, part)
    });
    let mut tickets = Vec::new();
    for o in futures::future::join_all(futs).await {
        tickets.extend(o.durable);
        if o.reply.is_error() {
            return settle(o.reply, tickets).await;
        }
    }
    settle(Reply::Ok, tickets).await
}

/// Fetch copies, run on a scratch keyspace, write back what changed.
/// A blocking command that finds nothing here reports its timeout, so the client is parked.
async fn scratch(spec: &'static CommandSpec, db: usize, args: &[Bytes], positions: &[usize], n: usize) -> Outcome {
    // (db, key) pairs the command may read or write. COPY ... DB n writes into another db.
    let mut scratch = match Scratch::fetch(touched_keys(spec, db, args, positions), n).await {
        Ok(s) => s,
        Err(e) => return Outcome::reply(e),
    };
    let now = now_ms();
    let mut rng = rand::rngs::SmallRng::from_entropy();
    let (reply, block_ms) = {
        let mut ctx = Ctx::new(&mut scratch.ks, db, now, &mut rng);
        let r = redis::execute(spec, &mut ctx, args);
        (r, ctx.block_ms)
    };
    Outcome { reply: scratch.write_back(reply, n).await, block_ms, durable: None }
}

/// Copies of some keys of several shards in a keyspace of their own, for work that must see
/// them together (a multi-shard command, a script whose keys span shards); the caller's
/// transaction holds the keys.
pub struct Scratch {
    /// The (db, key) pairs, sorted and deduplicated.
    pub keys: Vec<(usize, Bytes)>,
    before: Vec<Option<Entry>>,
    pub ks: Keyspace,
}

impl Scratch {
    /// Fetches copies of `keys` from their owners.
    pub async fn fetch(mut keys: Vec<(usize, Bytes)>, n: usize) -> Result<Scratch, Reply> {
        keys.sort();
        keys.dedup();
        let fetches = keys.iter().map(|(d, k)| {
            let (d, k) = (*d, k.clone());
            mesh::run_on(shard_for(&k, n), move |s| exec::fetch(s, d, &k))
        });
        let mut before: Vec<Option<Entry>> = Vec::with_capacity(keys.len());
        for r in futures::future::join_all(fetches).await {
            before.push(r.map_err(|e| gone(e).reply)?);
        }
        let mut ks = Keyspace::new();
        for ((d, k), e) in keys.iter().zip(&before) {
            if let Some(e) = e {
                ks.dbs[*d].set_entry(k.clone(), e.clone());
            }
        }
        Ok(Scratch { keys, before, ks })
    }

    /// Writes the entries that changed back to their owners and returns `reply` once their log
    /// records are durable (or the error that refused a write).
    pub async fn write_back(self, reply: Reply, n: usize) -> Reply {
        let Scratch { keys, before, ks } = self;
        let mut writes = Vec::new();
        for ((d, k), old) in keys.iter().zip(before) {
            let new = ks.dbs[*d].peek(k).cloned();
            if new != old {
                let (d, k) = (*d, k.clone());
                writes.push(mesh::run_on(shard_for(&k, n), move |s| exec::apply(s, d, k, new)));
            }
        }
        let mut tickets = Vec::new();
        for r in futures::future::join_all(writes).await {
            match r {
                Ok(Ok(t)) => tickets.extend(t),
                Ok(Err(refused)) => return settle(refused, tickets).await,
                Err(e) => return settle(gone(e).reply, tickets).await,
            }
        }
        settle(reply, tickets).await
    }
}

/// Commands that run on every shard, with their merge.
async fn all_shards(spec: &'static CommandSpec, db: usize, args: Vec<Bytes>) -> Reply {
    let (_, n) = state::local();
    match spec.name {
        "scan" => return scan(spec, db, args, n).await,
        "randomkey" => return randomkey(spec, db, args, n).await,
        _ => {}
    }
    let futs = (0..n).map(|i| on_shard(i, spec, db, args.clone()));
    let results = futures::future::join_all(futs).await;
    match spec.name {
        "dbsize" => {
            let mut sum = 0;
            for o in results {
                match o.reply {
                    Reply::Int(v) => sum += v,
                    other => return other,
                }
            }
            Reply::Int(sum)
        }
        "keys" => {
            let mut all = Vec::new();
            for o in results {
                match o.reply {
                    Reply::Array(items) => all.extend(items),
                    other => return other,
                }
            }
            Reply::Array(all)
        }
        _ => {
            // FLUSHDB, FLUSHALL, SWAPDB: the same reply everywhere, or the first error.
            let mut first = None;
            let mut tickets = Vec::new();
            for o in results {
                tickets.extend(o.durable);
                if o.reply.is_error() {
                    return settle(o.reply, tickets).await;
                }
                first.get_or_insert(o.reply);
            }
            settle(first.unwrap_or(Reply::Ok), tickets).await
        }
    }
}

/// Bits of a SCAN cursor that name the shard.
fn shard_bits(n: usize) -> u32 {
    usize::BITS - (n.max(2) - 1).leading_zeros()
}

/// SCAN across shards: the cursor is (shard-local cursor << bits) | shard index. A shard's scan
/// runs to its end before the next shard starts, so every key present for the whole scan is
/// returned, as Redis guarantees.
async fn scan(spec: &'static CommandSpec, db: usize, mut args: Vec<Bytes>, n: usize) -> Reply {
    // Options are checked before the cursor is interpreted, as on one shard.
    let cursor = match redis::cmd::keys::parse_scan(&args, 1, true) {
        Ok((c, _)) => c,
        Err(e) => return e,
    };
    let bits = shard_bits(n);
    let mask = (1u64 << bits) - 1;
    let shard = (cursor & mask) as usize;
    let inner = cursor >> bits;
    if shard >= n {
        return Reply::Array(vec![Reply::bulk("0"), Reply::Array(vec![])]);
    }
    args[1] = Bytes::from(inner.to_string());
    let o = on_shard(shard, spec, db, args).await;
    let Reply::Array(mut parts) = o.reply else { return o.reply };
    if parts.len() != 2 {
        return Reply::Array(parts);
    }
    let next_inner = match &parts[0] {
        Reply::Bulk(b) => std::str::from_utf8(b).ok().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0),
        _ => 0,
    };
    let next = if next_inner != 0 {
        (next_inner << bits) | shard as u64
    } else if shard + 1 < n {
        (shard + 1) as u64
    } else {
        0
    };
    parts[0] = Reply::Bulk(Bytes::from(next.to_string()));
    Reply::Array(parts)
}

async fn randomkey(spec: &'static CommandSpec, db: usize, args: Vec<Bytes>, n: usize) -> Reply {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand::thread_rng());
    for i in order {
        let o = on_shard(i, spec, db, args.clone()).await;
        if o.reply != Reply::Nil {
            return o.reply;
        }
    }
    Reply::Nil
}
