//! Redis command semantics on a [`Keyspace`]. Each family is one file under `cmd/`, exporting a
//! `COMMANDS` table of [`CommandSpec`]s (name, arity, flags, key positions, handler) in the shape
//! of Redis's own command table, which also answers `COMMAND INFO/COUNT/LIST`. Handlers take the
//! whole argv (`args[0]` is the command name) and return a [`Reply`].
//!
//! Commands that touch connection state (SELECT, MULTI, SUBSCRIBE, CLIENT, ...) are listed with
//! [`Exec::Conn`]: `orbit-net` runs them. Handlers never block and never do I/O.

pub mod args;
pub mod cmd;
pub mod float;
pub mod glob;
pub mod zset;

use crate::keyspace::{Db, Keyspace};
use crate::reply::{errors, Reply};
use bytes::Bytes;
use rand::rngs::SmallRng;
use std::sync::OnceLock;

/// Command flags, as in Redis's command table.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const FAST: u32 = 1 << 9;
    pub const NO_AUTH: u32 = 1 << 10;
    pub const MAY_REPLICATE: u32 = 1 << 11;
    /// Runs on every shard and merges the replies (DBSIZE, FLUSHDB, KEYS, SCAN, ...).
    pub const ALL_SHARDS: u32 = 1 << 12;
    /// Touches no key and no shard data (TIME, ECHO): runs where the connection is.
    pub const NO_DATA: u32 = 1 << 13;
    pub const RANDOM: u32 = 1 << 14;
    pub const NOPROP: u32 = 1 << 15;

    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
    ];
}

/// Where a command's keys are in its argv.
#[derive(Debug, Clone, Copy)]
pub enum KeySpec {
    /// No keys.
    None,
    /// Keys at `first`, `first+step`, ... up to `last` (negative counts from the end: -1 is the
    /// last argument), as Redis's legacy (first, last, step) triple.
    Range { first: i32, last: i32, step: i32 },
    /// `numkeys` at argv[`count_at`], then that many keys from `count_at + 1` (SINTERCARD,
    /// ZUNION, LMPOP, EVAL...), plus optionally one destination key at argv[1] (`dest`).
    NumKeys { count_at: usize, dest: bool },
    /// Keys named by the handler's own parser (e.g. XREAD-like commands, SORT ... STORE).
    Custom(fn(&[Bytes]) -> Vec<usize>),
}

pub type Handler = fn(&mut Ctx, &[Bytes]) -> Reply;

#[derive(Clone, Copy)]
pub enum Exec {
    /// Runs on the shard that owns the keys, against its keyspace.
    Engine(Handler),
    /// Handled by the connection layer (`orbit-net`).
    Conn,
}

pub struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: N means exactly N args (name included); -N means at least N.
    pub arity: i32,
    pub flags: u32,
    pub keys: KeySpec,
    /// Documentation group (`string`, `list`, ...), for COMMAND DOCS.
    pub group: &'static str,
    pub exec: Exec,
}

impl CommandSpec {
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i32;
        if self.arity >= 0 {
            argc == self.arity
        } else {
            argc >= -self.arity
        }
    }

    pub fn is_write(&self) -> bool {
        self.flags & flags::WRITE != 0
    }

    /// Positions of the keys in `args` (argv including the name). Out-of-range positions
    /// (a malformed numkeys) yield an empty list: the handler then reports the error.
    pub fn key_positions(&self, args: &[Bytes]) -> Vec<usize> {
        match self.keys {
            KeySpec::None => Vec::new(),
            KeySpec::Range { first, last, step } => {
                let n = args.len() as i32;
                let last = if last < 0 { n + last } else { last.min(n - 1) };
                let mut out = Vec::new();
                let mut i = first;
                while i <= last && i < n {
                    out.push(i as usize);
                    i += step.max(1);
                }
                out
            }
            KeySpec::NumKeys { count_at, dest } => {
                let mut out = Vec::new();
                if dest && args.len() > 1 {
                    out.push(1);
                }
                let Some(c) = args.get(count_at) else { return out };
                let Some(n) = crate::value::parse_i64_strict(c) else { return out };
                if n <= 0 || count_at as i64 + n >= args.len() as i64 {
                    return out;
                }
                out.extend(count_at + 1..count_at + 1 + n as usize);
                out
            }
            KeySpec::Custom(f) => f(args),
        }
    }
}

/// Per-call context: the shard's keyspace, the connection's selected database, the clock.
pub struct Ctx<'a> {
    pub ks: &'a mut Keyspace,
    pub db: usize,
    pub now_ms: u64,
    pub rng: &'a mut SmallRng,
    /// What to append to the log instead of the command as given: commands with relative time
    /// (EXPIRE, SET EX) or randomness (SPOP) log their effect (PEXPIREAT, SREM), as Redis
    /// propagates them. `None` logs argv unchanged when the command changed data.
    pub rewrite: Option<Vec<Vec<Bytes>>>,
    /// Set by a blocking command (BLPOP, BZPOPMIN, ...) that found nothing to pop: the timeout
    /// in ms (0 = forever). The connection layer then parks the client and runs the command
    /// again when one of its keys is signalled ready ([`Ctx::signal_ready`]) or the timeout
    /// passes. Inside MULTI the connection layer treats it as a timeout at once.
    pub block_ms: Option<u64>,
}

impl<'a> Ctx<'a> {
    pub fn new(ks: &'a mut Keyspace, db: usize, now_ms: u64, rng: &'a mut SmallRng) -> Ctx<'a> {
        Ctx { ks, db, now_ms, rng, rewrite: None, block_ms: None }
    }

    /// The selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.ks.dbs[self.db]
    }

    /// Notes that data changed (`n` changes), for the log and snapshots.
    pub fn dirty(&mut self, n: u64) {
        self.ks.dirty += n;
    }

    /// Notes that `key` received elements a blocked client may be waiting for.
    pub fn signal_ready(&mut self, key: &Bytes) {
        self.ks.ready_keys.push((self.db, key.clone()));
    }

    /// Logs `record` instead of the command (can be called several times for several records).
    pub fn propagate(&mut self, record: Vec<Bytes>) {
        self.rewrite.get_or_insert_with(Vec::new).push(record);
    }
}

/// All command families.
fn families() -> [&'static [CommandSpec]; 9] {
    [
        cmd::keys::COMMANDS,
        cmd::strings::COMMANDS,
        cmd::hashes::COMMANDS,
        cmd::lists::COMMANDS,
        cmd::sets::COMMANDS,
        cmd::zsets::COMMANDS,
        cmd::bitmaps::COMMANDS,
        cmd::hll::COMMANDS,
        cmd::server::COMMANDS,
    ]
}

fn table() -> &'static rustc_hash::FxHashMap<&'static [u8], &'static CommandSpec> {
    static TABLE: OnceLock<rustc_hash::FxHashMap<&'static [u8], &'static CommandSpec>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut m = rustc_hash::FxHashMap::default();
        for fam in families() {
            for c in fam {
                debug_assert_eq!(c.name, c.name.to_ascii_lowercase());
                let prev = m.insert(c.name.as_bytes(), c);
                assert!(prev.is_none(), "command {} registered twice", c.name);
            }
        }
        m
    })
}

/// Finds a command by name, case-insensitively.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    table().get(&lower[..]).copied()
}

/// Every command, for COMMAND COUNT/LIST/INFO/DOCS.
pub fn all_commands() -> impl Iterator<Item = &'static CommandSpec> {
    families().into_iter().flat_map(|f| f.iter())
}

/// Checks name and arity: the error Redis gives before running anything.
pub fn check(args: &[Bytes]) -> Result<&'static CommandSpec, Reply> {
    let Some(name) = args.first() else {
        return Err(Reply::err("ERR empty command"));
    };
    let Some(spec) = lookup(name) else {
        return Err(errors::unknown_command(name, &args[1..]));
    };
    if !spec.arity_ok(args.len()) {
        return Err(Reply::err(errors::wrong_args(spec.name)));
    }
    Ok(spec)
}

/// Runs an engine command (name and arity already checked with [`check`]).
pub fn execute(spec: &CommandSpec, ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match spec.exec {
        Exec::Engine(h) => h(ctx, args),
        Exec::Conn => Reply::err(format!("ERR '{}' must be run by the connection", spec.name)),
    }
}

/// Checks and runs one command; a convenience for tests and for replaying the log.
pub fn run(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match check(args) {
        Ok(spec) => execute(spec, ctx, args),
        Err(e) => e,
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A tiny harness for family unit tests: `t.cmd(&["SET", "k", "v"])`.
    use super::*;
    use rand::SeedableRng;

    pub struct T {
        pub ks: Keyspace,
        pub rng: SmallRng,
        pub now_ms: u64,
        pub db: usize,
    }

    impl T {
        pub fn new() -> T {
            T { ks: Keyspace::new(), rng: SmallRng::seed_from_u64(1), now_ms: 1_700_000_000_000, db: 0 }
        }

        pub fn cmd(&mut self, parts: &[&str]) -> Reply {
            let args: Vec<Bytes> = parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect();
            let mut ctx = Ctx::new(&mut self.ks, self.db, self.now_ms, &mut self.rng);
            run(&mut ctx, &args)
        }
    }

    pub fn bulk(s: &str) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    pub fn arr(items: &[&str]) -> Reply {
        Reply::Array(items.iter().map(|s| bulk(s)).collect())
    }
}
