//! Generic key commands: DEL, EXISTS, TYPE, RENAME, COPY, KEYS, SCAN, expiry, OBJECT, ...
//! (<https://redis.io/commands/?group=generic>). Multi-key commands here act on the keys this
//! shard owns; the shard layer splits a command over shards and merges the replies.

use crate::keyspace::{Entry, DATABASES};
use crate::redis::args::{self, is};
use crate::redis::flags::*;
use crate::redis::glob;
use crate::redis::{CommandSpec, Ctx, Exec, KeySpec};
use crate::reply::{errors, Reply};
use crate::value::{StrEncoding, Value};
use bytes::Bytes;

const fn spec(name: &'static str, arity: i32, flags: u32, keys: KeySpec, h: crate::redis::Handler) -> CommandSpec {
    CommandSpec { name, arity, flags, keys, group: "generic", exec: Exec::Engine(h) }
}
const ONE: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };
const ALL: KeySpec = KeySpec::Range { first: 1, last: -1, step: 1 };
const TWO: KeySpec = KeySpec::Range { first: 1, last: 2, step: 1 };

pub const COMMANDS: &[CommandSpec] = &[
    spec("del", -2, WRITE, ALL, del),
    spec("unlink", -2, WRITE | FAST, ALL, del),
    spec("exists", -2, READONLY | FAST, ALL, exists),
    spec("touch", -2, READONLY | FAST, ALL, exists),
    spec("type", 2, READONLY | FAST, ONE, type_),
    spec("rename", 3, WRITE, TWO, rename),
    spec("renamenx", 3, WRITE | FAST, TWO, renamenx),
    spec("copy", -3, WRITE | DENYOOM, TWO, copy),
    spec("move", 3, WRITE | FAST, ONE, move_),
    spec("keys", 2, READONLY | ALL_SHARDS, KeySpec::None, keys),
    spec("scan", -2, READONLY | ALL_SHARDS, KeySpec::None, scan),
    spec("randomkey", 1, READONLY | ALL_SHARDS | RANDOM, KeySpec::None, randomkey),
    spec("dbsize", 1, READONLY | FAST | ALL_SHARDS, KeySpec::None, dbsize),
    spec("flushdb", -1, WRITE | ALL_SHARDS, KeySpec::None, flushdb),
    spec("flushall", -1, WRITE | ALL_SHARDS, KeySpec::None, flushall),
    spec("swapdb", 3, WRITE | FAST | ALL_SHARDS, KeySpec::None, swapdb),
    spec("expire", -3, WRITE | FAST, ONE, expire),
    spec("pexpire", -3, WRITE | FAST, ONE, pexpire),
    spec("expireat", -3, WRITE | FAST, ONE, expireat),
    spec("pexpireat", -3, WRITE | FAST, ONE, pexpireat),
    spec("ttl", 2, READONLY | FAST, ONE, ttl),
    spec("pttl", 2, READONLY | FAST, ONE, pttl),
    spec("expiretime", 2, READONLY | FAST, ONE, expiretime),
    spec("pexpiretime", 2, READONLY | FAST, ONE, pexpiretime),
    spec("persist", 2, WRITE | FAST, ONE, persist),
    spec("object", -2, READONLY, KeySpec::Range { first: 2, last: 2, step: 1 }, object),
];

fn del(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let mut n = 0;
    for k in &args[1..] {
        let db = ctx.db();
        db.expire_if_needed(k, now);
        if db.remove(k).is_some() {
            n += 1;
        }
    }
    ctx.dirty(n as u64);
    Reply::Int(n)
}

fn exists(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let db = ctx.db();
    Reply::Int(args[1..].iter().filter(|k| db.contains(k, now)).count() as i64)
}

fn type_(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get(&args[1], now) {
        Some(e) => Reply::simple(e.value.type_name()),
        None => Reply::simple("none"),
    }
}

fn rename_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) -> Reply {
    let now = ctx.now_ms;
    let (src, dst) = (&args[1], &args[2]);
    let db = ctx.db();
    if !db.contains(src, now) {
        return Reply::err(errors::NO_SUCH_KEY);
    }
    if src == dst {
        return if nx { Reply::Int(0) } else { Reply::Ok };
    }
    if nx && db.contains(dst, now) {
        return Reply::Int(0);
    }
    let entry = db.remove(src).expect("checked above");
    db.remove(dst);
    db.set_entry(dst.clone(), entry);
    ctx.dirty(1);
    if nx {
        Reply::Int(1)
    } else {
        Reply::Ok
    }
}

fn rename(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    rename_generic(ctx, args, true)
}

fn copy(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let (src, dst) = (&args[1], &args[2]);
    let mut target_db = ctx.db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "replace") {
            replace = true;
        } else if is(&args[i], "db") && i + 1 < args.len() {
            let v = match args::int(&args[i + 1]) {
                Ok(v) => v,
                Err(e) => return e,
            };
            if v < 0 || v >= DATABASES as i64 || v > i32::MAX as i64 {
                return Reply::err(errors::DB_INDEX);
            }
            target_db = v as usize;
            i += 1;
        } else {
            return Reply::err(errors::SYNTAX);
        }
        i += 1;
    }
    if src == dst && target_db == ctx.db {
        return Reply::err("ERR source and destination objects are the same");
    }
    let Some(mut entry) = ctx.db().get(src, now).cloned() else {
        return Reply::Int(0);
    };
    if let Value::Str(s) = &entry.value {
        entry.value = Value::Str(s.duplicate());
    }
    let dest = &mut ctx.ks.dbs[target_db];
    if dest.contains(dst, now) {
        if !replace {
            return Reply::Int(0);
        }
        dest.remove(dst);
    }
    dest.set_entry(dst.clone(), entry);
    ctx.dirty(1);
    Reply::Int(1)
}

fn move_(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let Ok(target) = args::int(&args[2]) else {
        return Reply::err(errors::NOT_INTEGER);
    };
    if target < 0 || target >= DATABASES as i64 {
        return Reply::err(errors::DB_INDEX);
    }
    let target = target as usize;
    if target == ctx.db {
        return Reply::err("ERR source and destination objects are the same");
    }
    let key = &args[1];
    if !ctx.db().contains(key, now) {
        return Reply::Int(0);
    }
    if ctx.ks.dbs[target].contains(key, now) {
        return Reply::Int(0);
    }
    let entry = ctx.db().remove(key).expect("checked above");
    ctx.ks.dbs[target].set_entry(key.clone(), entry);
    ctx.dirty(1);
    Reply::Int(1)
}

fn keys(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let pat = &args[1];
    let all = &pat[..] == b"*";
    let out =
        ctx.db().keys(now).filter(|k| all || glob::matches(pat, k, false)).map(|k| Reply::Bulk(k.clone())).collect();
    Reply::Array(out)
}

/// Options of SCAN/HSCAN/SSCAN/ZSCAN after the cursor: (MATCH pattern, COUNT, TYPE).
pub struct ScanOpts {
    pub pattern: Option<Bytes>,
    pub count: usize,
    pub type_name: Option<Bytes>,
}

/// Parses `cursor [MATCH p] [COUNT n] [TYPE t]` starting at `args[at]` (the cursor).
pub fn parse_scan(args: &[Bytes], at: usize, allow_type: bool) -> Result<(u64, ScanOpts), Reply> {
    let cursor = parse_cursor(&args[at])?;
    let mut o = ScanOpts { pattern: None, count: 10, type_name: None };
    let mut i = at + 1;
    while i < args.len() {
        let rest = args.len() - i - 1;
        if is(&args[i], "count") && rest >= 1 {
            let n = args::int(&args[i + 1])?;
            if n < 1 {
                return Err(Reply::err(errors::SYNTAX));
            }
            o.count = n as usize;
            i += 2;
        } else if is(&args[i], "match") && rest >= 1 {
            o.pattern = Some(args[i + 1].clone());
            i += 2;
        } else if allow_type && is(&args[i], "type") && rest >= 1 {
            o.type_name = Some(args[i + 1].clone());
            i += 2;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
    }
    Ok((cursor, o))
}

/// A SCAN cursor, read as Redis's `parseScanCursorOrReply` reads it with `strtoul`: the
/// argument as a C string (up to a NUL), no leading space, an optional sign (a `-` negates
/// modulo 2^64), decimal digits, nothing after them; the empty string is cursor 0.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, Reply> {
    let bad = || Reply::err("ERR invalid cursor");
    let arg = match arg.iter().position(|&c| c == 0) {
        Some(i) => &arg[..i],
        None => arg,
    };
    let Some(&first) = arg.first() else { return Ok(0) };
    if first.is_ascii_whitespace() || first == 0x0b {
        return Err(bad());
    }
    let (neg, digits) = match first {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let mut v: u64 = 0;
    for &c in digits {
        // Past u64: strtoul's ERANGE.
        v = v.checked_mul(10).and_then(|v| v.checked_add((c - b'0') as u64)).ok_or_else(bad)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// SCAN on this shard: the cursor is this shard's own (see `keyspace::scan_positions`).
fn scan(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (cursor, o) = match parse_scan(args, 1, true) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let now = ctx.now_ms;
    let db = ctx.db();
    let (next, items) = db.scan(cursor, o.count);
    let mut out = Vec::new();
    let mut expired = Vec::new();
    for (k, e) in items {
        if matches!(e.expire_at_ms, Some(t) if t <= now) {
            expired.push(k.clone());
            continue;
        }
        if let Some(p) = &o.pattern {
            if &p[..] != b"*" && !glob::matches(p, k, false) {
                continue;
            }
        }
        if let Some(t) = &o.type_name {
            if !t.eq_ignore_ascii_case(e.value.type_name().as_bytes()) {
                continue;
            }
        }
        out.push(Reply::Bulk(k.clone()));
    }
    for k in expired {
        db.expire_if_needed(&k, now);
    }
    Reply::Array(vec![Reply::Bulk(Bytes::from(next.to_string())), Reply::Array(out)])
}

fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let db = &mut ctx.ks.dbs[ctx.db];
    match db.random_key(now, ctx.rng) {
        Some(k) => Reply::Bulk(k),
        None => Reply::Nil,
    }
}

fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) -> Reply {
    Reply::Int(ctx.db().len() as i64)
}

fn flush_opts(args: &[Bytes]) -> Result<(), Reply> {
    match args.len() {
        1 => Ok(()),
        2 if is(&args[1], "async") || is(&args[1], "sync") => Ok(()),
        _ => Err(Reply::err(errors::SYNTAX)),
    }
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if let Err(e) = flush_opts(args) {
        return e;
    }
    let n = ctx.db().len() as u64;
    ctx.db().clear();
    ctx.dirty(n.max(1));
    Reply::Ok
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if let Err(e) = flush_opts(args) {
        return e;
    }
    for db in ctx.ks.dbs.iter_mut() {
        db.clear();
    }
    ctx.dirty(1);
    Reply::Ok
}

fn swapdb(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Ok(a) = args::int(&args[1]) else {
        return Reply::err("ERR invalid first DB index");
    };
    let Ok(b) = args::int(&args[2]) else {
        return Reply::err("ERR invalid second DB index");
    };
    let n = DATABASES as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Reply::err(errors::DB_INDEX);
    }
    ctx.ks.dbs.swap(a as usize, b as usize);
    ctx.dirty(1);
    Reply::Ok
}

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT, as Redis's `expireGenericCommand`.
fn expire_generic(ctx: &mut Ctx, args: &[Bytes], relative: bool, seconds: bool) -> Reply {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        if is(opt, "nx") {
            nx = true;
        } else if is(opt, "xx") {
            xx = true;
        } else if is(opt, "gt") {
            gt = true;
        } else if is(opt, "lt") {
            lt = true;
        } else {
            return Reply::err(format!("ERR Unsupported option {}", String::from_utf8_lossy(opt)));
        }
    }
    if nx && (xx || gt || lt) {
        return Reply::err("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return Reply::err("ERR GT and LT options at the same time are not compatible");
    }
    let mut when = match args::int(&args[2]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Reply::err(errors::invalid_expire(std::str::from_utf8(&args[0]).unwrap_or("expire")));
        }
        when *= 1000;
    }
    let base = if relative { ctx.now_ms as i64 } else { 0 };
    if when > i64::MAX - base {
        return Reply::err(errors::invalid_expire(std::str::from_utf8(&args[0]).unwrap_or("expire")));
    }
    when += base;
    let now = ctx.now_ms;
    let key = &args[1];
    let db = ctx.db();
    let Some(entry) = db.get(key, now) else {
        return Reply::Int(0);
    };
    let current = entry.expire_at_ms.map(|t| t as i64);
    if nx && current.is_some() {
        return Reply::Int(0);
    }
    if xx && current.is_none() {
        return Reply::Int(0);
    }
    if gt && (current.is_none() || when <= current.unwrap_or(0)) {
        return Reply::Int(0);
    }
    if lt && matches!(current, Some(c) if when >= c) {
        return Reply::Int(0);
    }
    if when <= now as i64 {
        db.remove(key);
        ctx.dirty(1);
        ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
        return Reply::Int(1);
    }
    db.set_expire(key, Some(when as u64));
    ctx.dirty(1);
    ctx.propagate(vec![Bytes::from_static(b"PEXPIREAT"), key.clone(), Bytes::from(when.to_string())]);
    Reply::Int(1)
}

fn expire(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    expire_generic(ctx, args, true, true)
}
fn pexpire(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    expire_generic(ctx, args, true, false)
}
fn expireat(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    expire_generic(ctx, args, false, true)
}
fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    expire_generic(ctx, args, false, false)
}

fn ttl_generic(ctx: &mut Ctx, args: &[Bytes], ms: bool, absolute: bool) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get(&args[1], now) {
        None => Reply::Int(-2),
        Some(Entry { expire_at_ms: None, .. }) => Reply::Int(-1),
        Some(Entry { expire_at_ms: Some(t), .. }) => {
            let t = *t as i64;
            if absolute {
                Reply::Int(if ms { t } else { t / 1000 })
            } else {
                let left = (t - now as i64).max(0);
                Reply::Int(if ms { left } else { (left + 500) / 1000 })
            }
        }
    }
}

fn ttl(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    ttl_generic(ctx, args, false, false)
}
fn pttl(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    ttl_generic(ctx, args, true, false)
}
fn expiretime(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    ttl_generic(ctx, args, false, true)
}
fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    ttl_generic(ctx, args, true, true)
}

fn persist(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let db = ctx.db();
    match db.get(&args[1], now) {
        Some(Entry { expire_at_ms: Some(_), .. }) => {
            db.set_expire(&args[1], None);
            ctx.dirty(1);
            Reply::Int(1)
        }
        _ => Reply::Int(0),
    }
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Print this help.",
];

/// The OBJECT subcommand of `args`, or the command table's error for it (also checked when
/// the command is queued inside MULTI, as Redis does).
pub fn object_subcommand(args: &[Bytes]) -> Result<&'static str, Reply> {
    let sub = &args[1];
    let Some(&(name, arity)) =
        [("help", 2), ("encoding", 3), ("freq", 3), ("idletime", 3), ("refcount", 3)].iter().find(|(n, _)| is(sub, n))
    else {
        return Err(errors::unknown_subcommand_reply(sub, "OBJECT"));
    };
    if args.len() != arity {
        return Err(Reply::err(format!("ERR wrong number of arguments for 'object|{name}' command")));
    }
    Ok(name)
}

/// OBJECT is a container command in Redis 7.0: an unknown subcommand and a subcommand with
/// the wrong number of arguments get the errors of the command table, not of the handler.
fn object(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let name = match object_subcommand(args) {
        Ok(name) => name,
        Err(e) => return e,
    };
    if name == "help" {
        return Reply::Array(OBJECT_HELP.iter().map(|l| Reply::Simple((*l).into())).collect());
    }
    let now = ctx.now_ms;
    let db = ctx.db();
    db.expire_if_needed(&args[2], now);
    let Some(e) = db.peek(&args[2]) else {
        return Reply::Nil;
    };
    match name {
        "encoding" => Reply::bulk(e.value.encoding()),
        "refcount" => match &e.value {
            // Redis's shared integers report INT_MAX (`OBJ_SHARED_REFCOUNT`).
            Value::Str(s) if s.encoding() == StrEncoding::SharedInt => Reply::Int(i32::MAX as i64),
            _ => Reply::Int(1),
        },
        "idletime" => {
            let now_s = (now / 1000) as u32;
            Reply::Int(now_s.saturating_sub(e.access_s) as i64)
        }
        _ => Reply::err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
    }
}

#[cfg(test)]
mod tests {
    use crate::redis::testing::{arr, bulk, T};
    use crate::reply::Reply;

    #[test]
    fn del_exists_type() {
        let mut t = T::new();
        t.cmd(&["SET", "a", "1"]);
        t.cmd(&["SET", "b", "2"]);
        assert_eq!(t.cmd(&["EXISTS", "a", "a", "c"]), Reply::Int(2));
        assert_eq!(t.cmd(&["TYPE", "a"]), Reply::simple("string"));
        assert_eq!(t.cmd(&["DEL", "a", "b", "c"]), Reply::Int(2));
        assert_eq!(t.cmd(&["TYPE", "a"]), Reply::simple("none"));
    }

    #[test]
    fn expire_options() {
        let mut t = T::new();
        t.cmd(&["SET", "k", "v"]);
        assert_eq!(t.cmd(&["TTL", "k"]), Reply::Int(-1));
        assert_eq!(t.cmd(&["EXPIRE", "k", "100", "XX"]), Reply::Int(0));
        assert_eq!(t.cmd(&["EXPIRE", "k", "100", "NX"]), Reply::Int(1));
        assert_eq!(t.cmd(&["TTL", "k"]), Reply::Int(100));
        assert_eq!(t.cmd(&["EXPIRE", "k", "50", "GT"]), Reply::Int(0));
        assert_eq!(t.cmd(&["EXPIRE", "k", "50", "LT"]), Reply::Int(1));
        assert_eq!(t.cmd(&["PERSIST", "k"]), Reply::Int(1));
        assert_eq!(t.cmd(&["TTL", "k"]), Reply::Int(-1));
        assert_eq!(
            t.cmd(&["EXPIRE", "k", "1", "NX", "XX"]),
            Reply::err("ERR NX and XX, GT or LT options at the same time are not compatible")
        );
        assert_eq!(t.cmd(&["EXPIRE", "k", "1", "FOO"]), Reply::err("ERR Unsupported option FOO"));
        assert_eq!(t.cmd(&["EXPIRE", "k", "-1"]), Reply::Int(1));
        assert_eq!(t.cmd(&["EXISTS", "k"]), Reply::Int(0));
        assert_eq!(t.cmd(&["TTL", "k"]), Reply::Int(-2));
    }

    #[test]
    fn rename_and_copy() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["RENAME", "x", "y"]), Reply::err("ERR no such key"));
        t.cmd(&["SET", "x", "1"]);
        assert_eq!(t.cmd(&["RENAME", "x", "y"]), Reply::Ok);
        assert_eq!(t.cmd(&["GET", "y"]), bulk("1"));
        assert_eq!(t.cmd(&["COPY", "y", "z"]), Reply::Int(1));
        assert_eq!(t.cmd(&["COPY", "y", "z"]), Reply::Int(0));
        assert_eq!(t.cmd(&["COPY", "y", "z", "REPLACE"]), Reply::Int(1));
        assert_eq!(t.cmd(&["COPY", "y", "y"]), Reply::err("ERR source and destination objects are the same"));
        assert_eq!(t.cmd(&["COPY", "y", "w", "DB", "1"]), Reply::Int(1));
        assert_eq!(t.cmd(&["RENAMENX", "y", "z"]), Reply::Int(0));
    }

    #[test]
    fn keys_and_scan() {
        let mut t = T::new();
        for k in ["user:1", "user:2", "other"] {
            t.cmd(&["SET", k, "v"]);
        }
        let Reply::Array(mut ks) = t.cmd(&["KEYS", "user:*"]) else { panic!() };
        ks.sort_by_key(|r| format!("{r:?}"));
        assert_eq!(Reply::Array(ks), arr(&["user:1", "user:2"]));
        let Reply::Array(parts) = t.cmd(&["SCAN", "0", "COUNT", "100", "MATCH", "o*"]) else { panic!() };
        assert_eq!(parts[0], bulk("0"));
        assert_eq!(parts[1], arr(&["other"]));
        assert_eq!(t.cmd(&["SCAN", "x"]), Reply::err("ERR invalid cursor"));
        assert_eq!(t.cmd(&["DBSIZE"]), Reply::Int(3));
        assert_eq!(t.cmd(&["FLUSHDB"]), Reply::Ok);
        assert_eq!(t.cmd(&["DBSIZE"]), Reply::Int(0));
    }
}
