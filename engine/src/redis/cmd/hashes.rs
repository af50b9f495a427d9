//! Hash commands (<https://redis.io/commands/?group=hash>), following Redis 7.0's `t_hash.c`:
//! argument checks before key lookups where Redis does them, error texts, reply types, and
//! what each command logs (HINCRBYFLOAT logs the resulting HSET).
//!
//! Small hashes (Redis's "listpack" encoding: at most 128 entries, fields and values at most 64
//! bytes) keep insertion order like a listpack does: deletes shift instead of swapping, so
//! HGETALL/HKEYS/HVALS/HSCAN reply in the order Redis would.

use crate::keyspace::scan_positions;
use crate::redis::args::{self, is};
use crate::redis::cmd::keys::{parse_cursor, parse_scan};
use crate::redis::flags::*;
use crate::redis::float::{string2ld, LongDouble};
use crate::redis::glob;
use crate::redis::{CommandSpec, Ctx, Exec, KeySpec};
use crate::reply::{errors, Reply};
use crate::value::{parse_i64_strict, HashValue, Value};
use bytes::Bytes;
use rand::Rng;

const fn spec(name: &'static str, arity: i32, flags: u32, h: crate::redis::Handler) -> CommandSpec {
    CommandSpec { name, arity, flags, keys: ONE, group: "hash", exec: Exec::Engine(h) }
}
const ONE: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };

pub const COMMANDS: &[CommandSpec] = &[
    spec("hset", -4, WRITE | DENYOOM | FAST, hset),
    spec("hmset", -4, WRITE | DENYOOM | FAST, hmset),
    spec("hsetnx", 4, WRITE | DENYOOM | FAST, hsetnx),
    spec("hget", 3, READONLY | FAST, hget),
    spec("hmget", -3, READONLY | FAST, hmget),
    spec("hdel", -3, WRITE | FAST, hdel),
    spec("hexists", 3, READONLY | FAST, hexists),
    spec("hlen", 2, READONLY | FAST, hlen),
    spec("hstrlen", 3, READONLY | FAST, hstrlen),
    spec("hkeys", 2, READONLY, hkeys),
    spec("hvals", 2, READONLY, hvals),
    spec("hgetall", 2, READONLY, hgetall),
    spec("hincrby", 4, WRITE | DENYOOM | FAST, hincrby),
    spec("hincrbyfloat", 4, WRITE | DENYOOM | FAST, hincrbyfloat),
    spec("hrandfield", -2, READONLY | RANDOM, hrandfield),
    spec("hscan", -3, READONLY, hscan),
];

/// `hash-max-listpack-entries` / `hash-max-listpack-value` defaults.
const LISTPACK_MAX_ENTRIES: usize = 128;
const LISTPACK_MAX_VALUE: usize = 64;

/// The most elements HRANDFIELD with a negative count replies with. Redis would stream any
/// count until memory runs out; Orbit refuses counts past this instead.
pub const MAX_RANDOM_REPLY: u64 = 1 << 22;

fn new_hash() -> Value {
    Value::Hash(HashValue::default())
}

/// `hashTypeTryConversion` (HSET, HSETNX) and the check at the top of `hashTypeSet`: a field
/// or value over 64 bytes makes the hash a hash table, before anything is set.
fn try_conversion(h: &mut HashValue, args: &[Bytes]) {
    if h.is_listpack() && args.iter().any(|a| a.len() > LISTPACK_MAX_VALUE) {
        h.convert_to_hashtable();
    }
}

/// After `hashTypeSet`: past 128 fields the hash becomes a hash table.
fn check_entries(h: &mut HashValue) {
    if h.len() > LISTPACK_MAX_ENTRIES {
        h.convert_to_hashtable();
    }
}

/// Removes `field`, keeping insertion order while the hash is a listpack, as Redis does.
fn remove_field(h: &mut HashValue, field: &[u8]) -> bool {
    if h.is_listpack() {
        h.shift_remove(field).is_some()
    } else {
        h.swap_remove(field).is_some()
    }
}

/// The hash at `key` for writing, created if absent.
fn hash_for_write<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<&'a mut HashValue, Reply> {
    let now = ctx.now_ms;
    match ctx.db().get_or_create(key, now, new_hash) {
        Ok(Value::Hash(h)) => Ok(h),
        Ok(_) | Err(_) => Err(Reply::err(errors::WRONGTYPE)),
    }
}

fn hset_generic(ctx: &mut Ctx, args: &[Bytes], name: &str) -> Reply {
    if args.len() % 2 == 1 {
        return Reply::err(errors::wrong_args(name));
    }
    let h = match hash_for_write(ctx, &args[1]) {
        Ok(h) => h,
        Err(e) => return e,
    };
    try_conversion(h, &args[2..]);
    let mut created = 0;
    for pair in args[2..].chunks_exact(2) {
        if h.insert(pair[0].clone(), pair[1].clone()).is_none() {
            created += 1;
        }
    }
    check_entries(h);
    ctx.dirty(((args.len() - 2) / 2) as u64);
    if name == "hset" {
        Reply::Int(created)
    } else {
        Reply::Ok
    }
}

fn hset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    hset_generic(ctx, args, "hset")
}

fn hmset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    hset_generic(ctx, args, "hmset")
}

fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_hash_mut(&args[1], now) {
        Err(e) => return e.into(),
        Ok(Some(h)) if h.contains_key(&args[2][..]) => {
            // Redis converts before it looks for the field.
            try_conversion(h, &args[2..4]);
            return Reply::Int(0);
        }
        Ok(_) => {}
    }
    let h = match hash_for_write(ctx, &args[1]) {
        Ok(h) => h,
        Err(e) => return e,
    };
    try_conversion(h, &args[2..4]);
    h.insert(args[2].clone(), args[3].clone());
    check_entries(h);
    ctx.dirty(1);
    Reply::Int(1)
}

fn hget(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_hash(&args[1], now) {
        Err(e) => e.into(),
        Ok(Some(h)) => match h.get(&args[2][..]) {
            Some(v) => Reply::Bulk(v.clone()),
            None => Reply::Nil,
        },
        Ok(None) => Reply::Nil,
    }
}

fn hmget(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let h = match ctx.db().get_hash(&args[1], now) {
        Err(e) => return e.into(),
        Ok(h) => h,
    };
    let out = args[2..]
        .iter()
        .map(|f| match h.and_then(|h| h.get(&f[..])) {
            Some(v) => Reply::Bulk(v.clone()),
            None => Reply::Nil,
        })
        .collect();
    Reply::Array(out)
}

fn hdel(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let key = &args[1];
    let db = ctx.db();
    let h = match db.get_hash_mut(key, now) {
        Err(e) => return e.into(),
        Ok(None) => return Reply::Int(0),
        Ok(Some(h)) => h,
    };
    let mut deleted = 0;
    for f in &args[2..] {
        if remove_field(h, f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    db.remove_if_empty(key);
    if deleted > 0 {
        ctx.dirty(deleted);
    }
    Reply::Int(deleted as i64)
}

fn hexists(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_hash(&args[1], now) {
        Err(e) => e.into(),
        Ok(h) => Reply::Int(h.is_some_and(|h| h.contains_key(&args[2][..])) as i64),
    }
}

fn hlen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_hash(&args[1], now) {
        Err(e) => e.into(),
        Ok(h) => Reply::Int(h.map_or(0, |h| h.len()) as i64),
    }
}

fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_hash(&args[1], now) {
        Err(e) => e.into(),
        Ok(h) => Reply::Int(h.and_then(|h| h.get(&args[2][..])).map_or(0, |v| v.len()) as i64),
    }
}

fn hkeys(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_hash(&args[1], now) {
        Err(e) => e.into(),
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(h)) => Reply::Array(h.keys().map(|k| Reply::Bulk(k.clone())).collect()),
    }
}

fn hvals(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_hash(&args[1], now) {
        Err(e) => e.into(),
        Ok(None) => Reply::Array(Vec::new()),
        Ok(Some(h)) => Reply::Array(h.values().map(|v| Reply::Bulk(v.clone())).collect()),
    }
}

fn hgetall(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_hash(&args[1], now) {
        Err(e) => e.into(),
        Ok(None) => Reply::Map(Vec::new()),
        Ok(Some(h)) => Reply::Map(h.iter().map(|(k, v)| (Reply::Bulk(k.clone()), Reply::Bulk(v.clone()))).collect()),
    }
}

fn hincrby(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let incr = match args::int(&args[3]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let now = ctx.now_ms;
    let (key, field) = (&args[1], &args[2]);
    let old = match ctx.db().get_hash(key, now) {
        Err(e) => return e.into(),
        Ok(h) => match h.and_then(|h| h.get(&field[..])) {
            None => 0,
            Some(v) => match parse_i64_strict(v) {
                Some(n) => n,
                None => return Reply::err("ERR hash value is not an integer"),
            },
        },
    };
    let Some(new) = old.checked_add(incr) else {
        return Reply::err(errors::OVERFLOW);
    };
    let h = match hash_for_write(ctx, key) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let value = Bytes::from(new.to_string());
    // `hashTypeSet` converts for a long field or value before setting it.
    try_conversion(h, &[field.clone(), value.clone()]);
    h.insert(field.clone(), value);
    check_entries(h);
    ctx.dirty(1);
    Reply::Int(new)
}

/// Computed in a C `long double` and printed `%.17Lf` as Redis does (see `redis::float`).
fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let Some(incr) = string2ld(&args[3]) else {
        return Reply::err(errors::NOT_FLOAT);
    };
    if incr.is_infinite() {
        return Reply::err("ERR value is NaN or Infinity");
    }
    let now = ctx.now_ms;
    let (key, field) = (&args[1], &args[2]);
    let old = match ctx.db().get_hash(key, now) {
        Err(e) => return e.into(),
        Ok(h) => match h.and_then(|h| h.get(&field[..])) {
            None => LongDouble::ZERO,
            Some(v) => match string2ld(v) {
                Some(n) => n,
                None => return Reply::err("ERR hash value is not a float"),
            },
        },
    };
    let new = old + incr;
    if new.is_nan() || new.is_infinite() {
        return Reply::err(errors::NAN);
    }
    let text = Bytes::from(new.to_human());
    let h = match hash_for_write(ctx, key) {
        Ok(h) => h,
        Err(e) => return e,
    };
    try_conversion(h, &[field.clone(), text.clone()]);
    h.insert(field.clone(), text.clone());
    check_entries(h);
    ctx.dirty(1);
    ctx.propagate(vec![Bytes::from_static(b"HSET"), key.clone(), field.clone(), text.clone()]);
    Reply::Bulk(text)
}

/// Fields, or field/value [`Reply::Pairs`] `withvalues` (flat in RESP2, pairs in RESP3).
fn fields_reply<'a>(items: impl Iterator<Item = (&'a Bytes, &'a Bytes)>, withvalues: bool) -> Reply {
    if withvalues {
        return Reply::Pairs(items.map(|(k, v)| (Reply::Bulk(k.clone()), Reply::Bulk(v.clone()))).collect());
    }
    Reply::Array(items.map(|(k, _)| Reply::Bulk(k.clone())).collect())
}

/// HRANDFIELD key [count [WITHVALUES]], as Redis 7.0's `hrandfieldCommand`.
fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    if args.len() == 2 {
        let db = &mut ctx.ks.dbs[ctx.db];
        return match db.get_hash(&args[1], now) {
            Err(e) => e.into(),
            Ok(None) => Reply::Nil,
            Ok(Some(h)) => match h.get_index(ctx.rng.gen_range(0..h.len())) {
                Some((k, _)) => Reply::Bulk(k.clone()),
                None => Reply::Nil,
            },
        };
    }
    let l = match args::int(&args[2]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if l == i64::MIN {
        return Reply::err(format!("ERR value is out of range, value must between {} and {}", -i64::MAX, i64::MAX));
    }
    let withvalues = args.len() == 4;
    if args.len() > 4 || (withvalues && !is(&args[3], "withvalues")) {
        return Reply::err(errors::SYNTAX);
    }
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Reply::err("ERR value is out of range");
    }
    let db = &mut ctx.ks.dbs[ctx.db];
    let h = match db.get_hash(&args[1], now) {
        Err(e) => return e.into(),
        Ok(None) => return Reply::Array(Vec::new()),
        Ok(Some(h)) => h,
    };
    let rng = &mut *ctx.rng;
    let count = l.unsigned_abs();
    if count == 0 || h.is_empty() {
        return Reply::Array(Vec::new());
    }
    let size = h.len();
    // Case 1: repeats allowed (negative count) or a single pick.
    if l < 0 || count == 1 {
        if count > MAX_RANDOM_REPLY {
            return Reply::err("ERR value is out of range");
        }
        let picks: Vec<usize> = (0..count).map(|_| rng.gen_range(0..size)).collect();
        return fields_reply(picks.into_iter().filter_map(|i| h.get_index(i)), withvalues);
    }
    // Case 2: the whole hash.
    if count >= size as u64 {
        return fields_reply(h.iter(), withvalues);
    }
    // Cases 3 and 4: distinct random fields. A listpack replies in its own order.
    let mut picks = rand::seq::index::sample(rng, size, count as usize).into_vec();
    if h.is_listpack() {
        picks.sort_unstable();
    }
    fields_reply(picks.into_iter().filter_map(|i| h.get_index(i)), withvalues)
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]. A listpack-sized hash is returned whole with
/// cursor 0, as Redis does; larger ones walk `scan_positions`.
fn hscan(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let cursor = match parse_cursor(&args[2]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let now = ctx.now_ms;
    let h = match ctx.db().get_hash(&args[1], now) {
        Err(e) => return e.into(),
        Ok(None) => return Reply::Array(vec![Reply::bulk("0"), Reply::Array(Vec::new())]),
        Ok(Some(h)) => h,
    };
    let o = match parse_scan(args, 2, false) {
        Ok((_, o)) => o,
        Err(e) => return e,
    };
    let (next, range) = if h.is_listpack() { (0, 0..h.len()) } else { scan_positions(h.len(), cursor, o.count) };
    let pat = o.pattern.as_ref().filter(|p| &p[..] != b"*");
    let mut out = Vec::with_capacity(range.len() * 2);
    for i in range {
        let Some((k, v)) = h.get_index(i) else {
            continue;
        };
        if let Some(p) = pat {
            if !glob::matches(p, k, false) {
                continue;
            }
        }
        out.push(Reply::Bulk(k.clone()));
        out.push(Reply::Bulk(v.clone()));
    }
    Reply::Array(vec![Reply::Bulk(Bytes::from(next.to_string())), Reply::Array(out)])
}

#[cfg(test)]
mod tests {
    use crate::redis::testing::{arr, bulk, T};
    use crate::reply::Reply;

    const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

    fn map(pairs: &[(&str, &str)]) -> Reply {
        Reply::Map(pairs.iter().map(|(k, v)| (bulk(k), bulk(v))).collect())
    }

    fn strings(r: Reply) -> Vec<String> {
        let r = match r {
            Reply::Pairs(p) => Reply::Array(p.into_iter().flat_map(|(k, v)| [k, v]).collect()),
            other => other,
        };
        match r {
            Reply::Array(v) => v
                .into_iter()
                .map(|r| match r {
                    Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => panic!("not a bulk: {other:?}"),
                })
                .collect(),
            other => panic!("not an array: {other:?}"),
        }
    }

    #[test]
    fn hset_hget_hmset() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["HSET", "h", "a", "1", "b", "2"]), Reply::Int(2));
        assert_eq!(t.cmd(&["HSET", "h", "a", "10", "c", "3"]), Reply::Int(1));
        assert_eq!(t.cmd(&["HGET", "h", "a"]), bulk("10"));
        assert_eq!(t.cmd(&["HGET", "h", "zz"]), Reply::Nil);
        assert_eq!(t.cmd(&["HGET", "nokey", "a"]), Reply::Nil);
        assert_eq!(
            t.cmd(&["HSET", "h", "a", "1", "b"]),
            Reply::err("ERR wrong number of arguments for 'hset' command")
        );
        assert_eq!(
            t.cmd(&["HMSET", "h", "a", "1", "b"]),
            Reply::err("ERR wrong number of arguments for 'hmset' command")
        );
        assert_eq!(t.cmd(&["HSET", "h", "a"]), Reply::err("ERR wrong number of arguments for 'hset' command"));
        assert_eq!(t.cmd(&["HMSET", "h", "d", "4"]), Reply::Ok);
        assert_eq!(t.cmd(&["HMGET", "h", "a", "x", "d"]), Reply::Array(vec![bulk("10"), Reply::Nil, bulk("4")]));
        assert_eq!(t.cmd(&["HMGET", "nokey", "a"]), Reply::Array(vec![Reply::Nil]));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["HSET", "s", "a", "1"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["HGET", "s", "a"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["HMGET", "s", "a"]), Reply::err(WRONGTYPE));
        // Same value counts as a write, as in Redis.
        let before = t.ks.dirty;
        t.cmd(&["HSET", "h", "a", "10"]);
        assert_eq!(t.ks.dirty, before + 1);
    }

    #[test]
    fn hsetnx() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["HSETNX", "h", "a", "1"]), Reply::Int(1));
        assert_eq!(t.cmd(&["HSETNX", "h", "a", "2"]), Reply::Int(0));
        assert_eq!(t.cmd(&["HGET", "h", "a"]), bulk("1"));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["HSETNX", "s", "a", "1"]), Reply::err(WRONGTYPE));
    }

    #[test]
    fn hdel_deletes_empty_key_and_keeps_order() {
        let mut t = T::new();
        t.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"]);
        assert_eq!(t.cmd(&["HDEL", "h", "b", "x", "b"]), Reply::Int(1));
        assert_eq!(t.cmd(&["HKEYS", "h"]), arr(&["a", "c", "d"]));
        assert_eq!(t.cmd(&["HVALS", "h"]), arr(&["1", "3", "4"]));
        assert_eq!(t.cmd(&["HGETALL", "h"]), map(&[("a", "1"), ("c", "3"), ("d", "4")]));
        let before = t.ks.dirty;
        assert_eq!(t.cmd(&["HDEL", "h", "zz"]), Reply::Int(0));
        assert_eq!(t.ks.dirty, before);
        assert_eq!(t.cmd(&["HDEL", "h", "a", "c", "d", "a"]), Reply::Int(3));
        assert_eq!(t.cmd(&["EXISTS", "h"]), Reply::Int(0));
        assert_eq!(t.cmd(&["HDEL", "h", "a"]), Reply::Int(0));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["HDEL", "s", "a"]), Reply::err(WRONGTYPE));
    }

    #[test]
    fn small_readers() {
        let mut t = T::new();
        t.cmd(&["HSET", "h", "a", "hello", "b", ""]);
        assert_eq!(t.cmd(&["HEXISTS", "h", "a"]), Reply::Int(1));
        assert_eq!(t.cmd(&["HEXISTS", "h", "z"]), Reply::Int(0));
        assert_eq!(t.cmd(&["HEXISTS", "no", "z"]), Reply::Int(0));
        assert_eq!(t.cmd(&["HLEN", "h"]), Reply::Int(2));
        assert_eq!(t.cmd(&["HLEN", "no"]), Reply::Int(0));
        assert_eq!(t.cmd(&["HSTRLEN", "h", "a"]), Reply::Int(5));
        assert_eq!(t.cmd(&["HSTRLEN", "h", "b"]), Reply::Int(0));
        assert_eq!(t.cmd(&["HSTRLEN", "h", "z"]), Reply::Int(0));
        assert_eq!(t.cmd(&["HSTRLEN", "no", "z"]), Reply::Int(0));
        assert_eq!(t.cmd(&["HKEYS", "no"]), Reply::Array(vec![]));
        assert_eq!(t.cmd(&["HVALS", "no"]), Reply::Array(vec![]));
        assert_eq!(t.cmd(&["HGETALL", "no"]), Reply::Map(vec![]));
        t.cmd(&["SET", "s", "v"]);
        for c in ["HEXISTS", "HSTRLEN"] {
            assert_eq!(t.cmd(&[c, "s", "a"]), Reply::err(WRONGTYPE));
        }
        for c in ["HLEN", "HKEYS", "HVALS", "HGETALL"] {
            assert_eq!(t.cmd(&[c, "s"]), Reply::err(WRONGTYPE));
        }
    }

    #[test]
    fn hincrby() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["HINCRBY", "h", "n", "5"]), Reply::Int(5));
        assert_eq!(t.cmd(&["HINCRBY", "h", "n", "-7"]), Reply::Int(-2));
        assert_eq!(t.cmd(&["HGET", "h", "n"]), bulk("-2"));
        assert_eq!(t.cmd(&["HINCRBY", "h", "n", "x"]), Reply::err("ERR value is not an integer or out of range"));
        t.cmd(&["HSET", "h", "s", "abc", "big", "9223372036854775807", "sp", " 1"]);
        assert_eq!(t.cmd(&["HINCRBY", "h", "s", "1"]), Reply::err("ERR hash value is not an integer"));
        assert_eq!(t.cmd(&["HINCRBY", "h", "sp", "1"]), Reply::err("ERR hash value is not an integer"));
        assert_eq!(t.cmd(&["HINCRBY", "h", "big", "1"]), Reply::err("ERR increment or decrement would overflow"));
        assert_eq!(t.cmd(&["HINCRBY", "h", "big", "0"]), Reply::Int(i64::MAX));
        t.cmd(&["SET", "str", "v"]);
        assert_eq!(t.cmd(&["HINCRBY", "str", "n", "1"]), Reply::err(WRONGTYPE));
        // The increment is checked before the key's type.
        assert_eq!(t.cmd(&["HINCRBY", "str", "n", "x"]), Reply::err("ERR value is not an integer or out of range"));
        // A failed increment on a missing key creates nothing.
        assert_eq!(t.cmd(&["HINCRBY", "fresh", "n", "x"]), Reply::err("ERR value is not an integer or out of range"));
        assert_eq!(t.cmd(&["EXISTS", "fresh"]), Reply::Int(0));
    }

    #[test]
    fn hincrbyfloat_logs_hset() {
        let mut t = T::new();
        t.cmd(&["HSET", "h", "f", "10.50"]);
        let args: Vec<bytes::Bytes> =
            ["HINCRBYFLOAT", "h", "f", "0.1"].iter().map(|s| bytes::Bytes::from(s.to_string())).collect();
        let mut ctx = crate::redis::Ctx::new(&mut t.ks, 0, t.now_ms, &mut t.rng);
        assert_eq!(crate::redis::run(&mut ctx, &args), bulk("10.6"));
        let logged = ctx.rewrite.clone().expect("propagated");
        assert_eq!(
            logged,
            vec![vec![
                bytes::Bytes::from_static(b"HSET"),
                bytes::Bytes::from_static(b"h"),
                bytes::Bytes::from_static(b"f"),
                bytes::Bytes::from_static(b"10.6"),
            ]]
        );
        assert_eq!(t.cmd(&["HINCRBYFLOAT", "h", "g", "5.0e3"]), bulk("5000"));
        assert_eq!(t.cmd(&["HINCRBYFLOAT", "h", "g", "-5000"]), bulk("0"));
        assert_eq!(t.cmd(&["HINCRBYFLOAT", "h", "g", "abc"]), Reply::err("ERR value is not a valid float"));
        assert_eq!(t.cmd(&["HINCRBYFLOAT", "h", "g", "inf"]), Reply::err("ERR value is NaN or Infinity"));
        t.cmd(&["HSET", "h", "s", "x"]);
        assert_eq!(t.cmd(&["HINCRBYFLOAT", "h", "s", "1"]), Reply::err("ERR hash value is not a float"));
        // A long double does not overflow at DBL_MAX (redis-server 7.0's reply).
        t.cmd(&["HSET", "h", "m", "1.7976931348623157e308"]);
        assert_eq!(
            t.cmd(&["HINCRBYFLOAT", "h", "m", "1.7976931348623157e308"]),
            bulk("359538626972463139991842093548208868096772893888658356970628841530353257046248792709403737216774171128857586838851041378617416726902272110715794556052955234146997955372576789671236326588091188869859074894581254961338834769297758245552436667197907705664206565009503223382416235440319971852753604933726679072768")
        );
        t.cmd(&["HSET", "h", "m", "1e4932"]);
        assert_eq!(
            t.cmd(&["HINCRBYFLOAT", "h", "m", "1e4932"]),
            Reply::err("ERR increment would produce NaN or Infinity")
        );
        t.cmd(&["SET", "str", "v"]);
        assert_eq!(t.cmd(&["HINCRBYFLOAT", "str", "f", "1"]), Reply::err(WRONGTYPE));
    }

    #[test]
    fn hrandfield_counts() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["HRANDFIELD", "no"]), Reply::Nil);
        assert_eq!(t.cmd(&["HRANDFIELD", "no", "5"]), Reply::Array(vec![]));
        assert_eq!(t.cmd(&["HRANDFIELD", "no", "-5", "WITHVALUES"]), Reply::Array(vec![]));
        t.cmd(&["HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"]);
        let one = strings(Reply::Array(vec![t.cmd(&["HRANDFIELD", "h"])]));
        assert!(["a", "b", "c", "d", "e"].contains(&one[0].as_str()));
        assert_eq!(t.cmd(&["HRANDFIELD", "h", "0"]), Reply::Array(vec![]));
        // count >= size: the whole hash, in order.
        assert_eq!(t.cmd(&["HRANDFIELD", "h", "10"]), arr(&["a", "b", "c", "d", "e"]));
        assert_eq!(
            t.cmd(&["HRANDFIELD", "h", "5", "withvalues"]),
            Reply::Pairs(
                [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")]
                    .iter()
                    .map(|(f, v)| (bulk(f), bulk(v)))
                    .collect()
            )
        );
        // Distinct fields, in listpack order.
        for _ in 0..20 {
            let got = strings(t.cmd(&["HRANDFIELD", "h", "3"]));
            assert_eq!(got.len(), 3);
            let mut sorted = got.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted, got);
        }
        // Negative: repeats allowed, exactly |count| elements.
        let got = strings(t.cmd(&["HRANDFIELD", "h", "-20"]));
        assert_eq!(got.len(), 20);
        let got = strings(t.cmd(&["HRANDFIELD", "h", "-7", "WITHVALUES"]));
        assert_eq!(got.len(), 14);
        for pair in got.chunks(2) {
            assert_eq!((pair[0].as_bytes()[0] - b'a' + b'1') as char, pair[1].chars().next().unwrap());
        }
        assert_eq!(t.cmd(&["HRANDFIELD", "h", "x"]), Reply::err("ERR value is not an integer or out of range"));
        assert_eq!(t.cmd(&["HRANDFIELD", "h", "1", "foo"]), Reply::err("ERR syntax error"));
        assert_eq!(t.cmd(&["HRANDFIELD", "h", "1", "withvalues", "x"]), Reply::err("ERR syntax error"));
        assert_eq!(
            t.cmd(&["HRANDFIELD", "h", "-9223372036854775808"]),
            Reply::err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        );
        assert_eq!(
            t.cmd(&["HRANDFIELD", "h", "-9223372036854775807", "withvalues"]),
            Reply::err("ERR value is out of range")
        );
        assert_eq!(t.cmd(&["HRANDFIELD", "h", "-9223372036854775807"]), Reply::err("ERR value is out of range"));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["HRANDFIELD", "s"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["HRANDFIELD", "s", "1"]), Reply::err(WRONGTYPE));
        // Argument errors come before the type check.
        assert_eq!(t.cmd(&["HRANDFIELD", "s", "1", "foo"]), Reply::err("ERR syntax error"));
    }

    #[test]
    fn hrandfield_large_hash_distinct() {
        let mut t = T::new();
        let mut args = vec!["HSET".to_string(), "h".to_string()];
        for i in 0..300 {
            args.push(format!("f{i}"));
            args.push(format!("{i}"));
        }
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        assert_eq!(t.cmd(&refs), Reply::Int(300));
        for n in [10, 150, 299] {
            let mut got = strings(t.cmd(&["HRANDFIELD", "h", &n.to_string()]));
            got.sort();
            got.dedup();
            assert_eq!(got.len(), n);
        }
    }

    #[test]
    fn hscan_small_and_large() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["HSCAN", "no", "0"]), Reply::Array(vec![bulk("0"), Reply::Array(vec![])]));
        // Options are not checked for a missing key, as in Redis.
        assert_eq!(t.cmd(&["HSCAN", "no", "0", "FOO"]), Reply::Array(vec![bulk("0"), Reply::Array(vec![])]));
        assert_eq!(t.cmd(&["HSCAN", "no", "x"]), Reply::err("ERR invalid cursor"));
        t.cmd(&["HSET", "h", "a1", "1", "b1", "2", "a2", "3"]);
        assert_eq!(
            t.cmd(&["HSCAN", "h", "0", "COUNT", "1"]),
            Reply::Array(vec![bulk("0"), arr(&["a1", "1", "b1", "2", "a2", "3"])])
        );
        assert_eq!(
            t.cmd(&["HSCAN", "h", "0", "MATCH", "a*"]),
            Reply::Array(vec![bulk("0"), arr(&["a1", "1", "a2", "3"])])
        );
        assert_eq!(t.cmd(&["HSCAN", "h", "0", "COUNT", "0"]), Reply::err("ERR syntax error"));
        assert_eq!(t.cmd(&["HSCAN", "h", "0", "COUNT"]), Reply::err("ERR syntax error"));
        assert_eq!(t.cmd(&["HSCAN", "h", "0", "TYPE", "string"]), Reply::err("ERR syntax error"));
        assert_eq!(
            t.cmd(&["HSCAN", "h", "0", "COUNT", "x"]),
            Reply::err("ERR value is not an integer or out of range")
        );
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["HSCAN", "s", "0"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["HSCAN", "s", "x"]), Reply::err("ERR invalid cursor"));

        // A hash with a long value is a hashtable: scanned with a cursor.
        let long = "x".repeat(100);
        for i in 0..50 {
            t.cmd(&["HSET", "big", &format!("f{i}"), &long]);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        let mut rounds = 0;
        loop {
            let Reply::Array(parts) = t.cmd(&["HSCAN", "big", &cursor, "COUNT", "7"]) else { panic!() };
            let Reply::Bulk(c) = &parts[0] else { panic!() };
            let items = strings(parts[1].clone());
            assert!(items.len() <= 14);
            for pair in items.chunks(2) {
                assert_eq!(pair[1], long);
                seen.insert(pair[0].clone());
            }
            cursor = String::from_utf8_lossy(c).into_owned();
            rounds += 1;
            if cursor == "0" {
                break;
            }
        }
        assert!(rounds > 1);
        assert_eq!(seen.len(), 50);
    }
}
