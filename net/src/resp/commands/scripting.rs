//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT (<https://redis.io/docs/interact/programmability/eval-intro/>).
//!
//! Every shard thread owns a Lua state (`orbit_script::Scripts`) and the same script cache: a
//! script loaded anywhere (EVAL of a new body, SCRIPT LOAD) is loaded on every shard, SCRIPT
//! FLUSH flushes every shard. A script runs where its declared keys live:
//! - all KEYS on one shard (or none: the connection's shard): the whole script runs on that
//!   shard in one step, its redis.call commands straight against the shard's keyspace and log,
//!   so nothing interleaves with it — unless a queued transaction holds one of its keys, when it
//!   waits behind it as a one-shard transaction. A command on an undeclared key of the same shard
//!   works (as on a single Redis); one on a key of another shard is refused.
//! - KEYS on several shards: one transaction over all of them (exclusive locks); copies of the
//!   keys are fetched, the script runs on a scratch keyspace on the connection's shard, and the
//!   keys whose entries changed are written back to their owners. Only declared keys may be used.
//!
//! Commands run from a script are logged one by one (effects replication, Redis 7's default).

use crate::resp::conn::Conn;
use crate::resp::route::Scratch;
use bytes::Bytes;
use orbit_engine::keyspace::now_ms;
use orbit_engine::redis::{self, flags, Ctx, Exec};
use orbit_engine::reply::{errors, Reply};
use orbit_script::Scripts;
use orbit_shards::exec::{self, Outcome};
use orbit_shards::state::Shard;
use orbit_shards::{mesh, shard_for, state as shard_state, tx, wal, ShardId};
use rand::SeedableRng;
use std::cell::RefCell;

thread_local! {
    static SCRIPTS: RefCell<Option<Scripts>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's Lua state (created on first use).
fn with_scripts<R>(f: impl FnOnce(&mut Scripts) -> R) -> R {
    SCRIPTS.with(|cell| f(cell.borrow_mut().get_or_insert_with(Scripts::new)))
}

/// Number of cached scripts on this shard (INFO memory `number_of_cached_scripts`).
pub fn cached_scripts() -> usize {
    SCRIPTS.with(|cell| cell.borrow().as_ref().map_or(0, |s| s.len()))
}

/// Loads `body` here and on every other shard. Returns its SHA or the compile error.
async fn load_everywhere(body: &Bytes) -> Result<String, Reply> {
    let sha = with_scripts(|s| s.load(body))?;
    let (me, n) = shard_state::local();
    for i in (0..n).filter(|&i| i != me) {
        let body = body.clone();
        let _ = mesh::run_on(i, move |_| with_scripts(|s| s.load(&body).map(|_| ()))).await;
    }
    Ok(sha)
}

/// EVAL / EVALSHA / EVAL_RO / EVALSHA_RO. `held`: inside EXEC, whose transaction already
/// holds the script's keys.
pub async fn eval(conn: &Conn, args: &[Bytes], by_sha: bool, read_only: bool, held: bool) -> Outcome {
    if by_sha && args[1].len() != 40 {
        return Outcome::reply(Reply::err(orbit_script::errors::NOSCRIPT));
    }
    let numkeys = match redis::args::int(&args[2]) {
        Ok(n) => n,
        Err(e) => return Outcome::reply(e),
    };
    if numkeys > (args.len() - 3) as i64 {
        return Outcome::reply(Reply::err("ERR Number of keys can't be greater than number of args"));
    }
    if numkeys < 0 {
        return Outcome::reply(Reply::err("ERR Number of keys can't be negative"));
    }
    let numkeys = numkeys as usize;
    let keys: Vec<Bytes> = args[3..3 + numkeys].to_vec();
    let argv: Vec<Bytes> = args[3 + numkeys..].to_vec();
    let sha = if by_sha {
        let sha = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        if !with_scripts(|s| s.exists(&sha)) {
            return Outcome::reply(Reply::err(orbit_script::errors::NOSCRIPT));
        }
        sha
    } else {
        let sha = orbit_script::sha1hex(&args[1]);
        if with_scripts(|s| s.exists(&sha)) {
            sha
        } else {
            match load_everywhere(&args[1]).await {
                Ok(sha) => sha,
                Err(e) => return Outcome::reply(e),
            }
        }
    };
    let db = conn.db;
    let (me, n) = shard_state::local();
    let target = match keys.first() {
        None => me,
        Some(k) => shard_for(k, n),
    };
    if keys.iter().all(|k| shard_for(k, n) == target) {
        let job = Job { sha, keys, argv, db, read_only };
        let first = {
            let job = job.clone();
            mesh::run_on(target, move |s| {
                let free = held || s.tx.is_idle() || !s.tx.blocks(true, job.keys.iter().map(|k| (job.db, &k[..])));
                free.then(|| job.run_on_shard(s))
            })
            .await
        };
        return match first {
            Ok(Some(o)) => o,
            Ok(None) => {
                let mut intent = tx::Intent::default();
                for k in &job.keys {
                    intent.add_key(db, k, tx::Mode::Exclusive);
                }
                let held = match tx::acquire(vec![(target, intent.seal())]).await {
                    Ok(h) => h,
                    Err(e) => return Outcome::reply(Reply::err(format!("ERR {e}"))),
                };
                let o = mesh::run_on(target, move |s| job.run_on_shard(s)).await;
                held.release().await;
                o.unwrap_or_else(|e| Outcome::reply(Reply::err(format!("ERR {e}"))))
            }
            Err(e) => Outcome::reply(Reply::err(format!("ERR {e}"))),
        };
    }
    Outcome::reply(run_across_shards(Job { sha, keys, argv, db, read_only }, n, held).await)
}

#[derive(Clone)]
struct Job {
    sha: String,
    keys: Vec<Bytes>,
    argv: Vec<Bytes>,
    db: usize,
    read_only: bool,
}

/// Checks one command a script wants to run: the reply to give instead, if refused.
fn refuse(args: &[Bytes], read_only: bool) -> Result<&'static redis::CommandSpec, Reply> {
    let spec = match redis::check(args) {
        Ok(s) => s,
        Err(_) if redis::lookup(&args[0]).is_none() => {
            return Err(Reply::err(orbit_script::errors::UNKNOWN_COMMAND));
        }
        Err(_) => return Err(Reply::err(orbit_script::errors::WRONG_ARITY)),
    };
    if spec.flags & flags::NOSCRIPT != 0 {
        return Err(Reply::err(orbit_script::errors::NOT_ALLOWED));
    }
    if read_only && spec.is_write() {
        return Err(Reply::err(orbit_script::errors::WRITE_IN_READ_ONLY));
    }
    Ok(spec)
}

/// Connection-level commands a script may run (those that need no connection).
fn conn_command(spec: &redis::CommandSpec, args: &[Bytes], db: &mut usize) -> Reply {
    match spec.name {
        "ping" => match args.get(1) {
            Some(m) if args.len() == 2 => Reply::Bulk(m.clone()),
            None => Reply::simple("PONG"),
            _ => Reply::err(errors::wrong_args("ping")),
        },
        "echo" => Reply::Bulk(args[1].clone()),
        "time" => super::connection::time(),
        "select" => match redis::args::db_index(&args[1]) {
            Ok(d) => {
                *db = d;
                Reply::Ok
            }
            Err(e) => e,
        },
        _ => Reply::err(orbit_script::errors::NOT_ALLOWED),
    }
}

const NOT_LOCAL: &str = "ERR Script attempted to access a key that lives on another shard and was not declared in KEYS";

impl Job {
    /// Runs the whole script on this shard, its commands against this shard's keyspace.
    fn run_on_shard(self, s: &mut Shard) -> Outcome {
        let Job { sha, keys, argv, db, read_only } = self;
        let (me, n) = (s.id, s.count);
        let mut db = db;
        let mut durable: Option<wal::Ticket> = None;
        let reply = with_scripts(|scripts| {
            scripts.run(&sha, &keys, &argv, &mut |cmd: &[Bytes]| {
                let spec = match refuse(cmd, read_only) {
                    Ok(s) => s,
                    Err(e) => return e,
                };
                if let Exec::Conn = spec.exec {
                    return conn_command(spec, cmd, &mut db);
                }
                if n > 1 {
                    if spec.flags & flags::ALL_SHARDS != 0 {
                        return Reply::err(
                            "ERR Script attempted to run a command over every shard (not allowed with more than one shard)",
                        );
                    }
                    if spec.key_positions(cmd).iter().any(|&p| shard_for(&cmd[p], n) != me) {
                        return Reply::err(NOT_LOCAL);
                    }
                }
                let o = exec::run(s, spec, db, cmd);
                if o.durable.is_some() {
                    // Records of one shard become durable in order: the last ticket covers all.
                    durable = o.durable;
                }
                o.reply
            })
        });
        Outcome { reply, block_ms: None, durable }
    }
}

/// A script whose declared keys span shards: one transaction over all of them, the script on a
/// scratch keyspace over copies, changed keys written back.
async fn run_across_shards(job: Job, n: usize, already_held: bool) -> Reply {
    let db = job.db;
    let mut by_shard: std::collections::BTreeMap<ShardId, tx::Intent> = Default::default();
    for k in &job.keys {
        by_shard.entry(shard_for(k, n)).or_default().add_key(db, k, tx::Mode::Exclusive);
    }
    let held = if already_held {
        None
    } else {
        match tx::acquire(by_shard.into_iter().map(|(s, i)| (s, i.seal())).collect()).await {
            Ok(h) => Some(h),
            Err(e) => return Reply::err(format!("ERR {e}")),
        }
    };
    let mut scratch = match Scratch::fetch(job.keys.iter().map(|k| (db, k.clone())).collect(), n).await {
        Ok(s) => s,
        Err(e) => {
            if let Some(h) = held {
                h.release().await;
            }
            return e;
        }
    };
    let now = now_ms();
    let mut rng = rand::rngs::SmallRng::from_entropy();
    let mut cur_db = db;
    let declared = &scratch.keys;
    let ks = &mut scratch.ks;
    let reply = with_scripts(|scripts| {
        scripts.run(&job.sha, &job.keys, &job.argv, &mut |cmd: &[Bytes]| {
            let spec = match refuse(cmd, job.read_only) {
                Ok(s) => s,
                Err(e) => return e,
            };
            if let Exec::Conn = spec.exec {
                return conn_command(spec, cmd, &mut cur_db);
            }
            if spec.flags & flags::ALL_SHARDS != 0 {
                return Reply::err(
                    "ERR Script attempted to run a command over every shard (not allowed with more than one shard)",
                );
            }
            if cur_db != db
                || spec.key_positions(cmd).iter().any(|&p| declared.binary_search(&(db, cmd[p].clone())).is_err())
            {
                return Reply::err(NOT_LOCAL);
            }
            let mut ctx = Ctx::new(ks, cur_db, now, &mut rng);
            redis::execute(spec, &mut ctx, cmd)
        })
    });
    let reply = scratch.write_back(reply, n).await;
    if let Some(h) = held {
        h.release().await;
    }
    reply
}

/// SCRIPT LOAD / EXISTS / FLUSH / KILL / HELP.
pub async fn script(args: &[Bytes]) -> Reply {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match (sub.as_str(), args.len()) {
        ("load", 3) => match load_everywhere(&args[2]).await {
            Ok(sha) => Reply::Bulk(Bytes::from(sha)),
            Err(e) => e,
        },
        ("exists", n) if n >= 3 => Reply::Array(
            args[2..]
                .iter()
                .map(|sha| Reply::Int(with_scripts(|s| s.exists(&String::from_utf8_lossy(sha))) as i64))
                .collect(),
        ),
        ("flush", 2 | 3) => {
            if let Some(mode) = args.get(2) {
                if !(mode.eq_ignore_ascii_case(b"sync") || mode.eq_ignore_ascii_case(b"async")) {
                    return Reply::err("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
                }
            }
            let _ = mesh::run_on_all(|_| with_scripts(|s| s.flush())).await;
            Reply::Ok
        }
        // A script runs to its end (or its time limit) inside one step of its shard: no other
        // client can ever observe one running.
        ("kill", 2) => Reply::err("NOTBUSY No scripts in execution right now."),
        ("help", 2) => Reply::Array(SCRIPT_HELP.iter().map(|l| Reply::Simple((*l).into())).collect()),
        ("load" | "exists" | "flush" | "kill" | "help", _) => {
            Reply::err(format!("ERR wrong number of arguments for 'script|{sub}' command"))
        }
        _ => errors::unknown_subcommand_reply(&args[1], "SCRIPT"),
    }
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Print this help.",
];
