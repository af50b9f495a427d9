//! String commands (<https://redis.io/commands/?group=string>), following Redis 7.0's
//! `t_string.c`: option parsing order, error texts and what each command logs.

use crate::keyspace::Entry;
use crate::redis::args::{self, is};
use crate::redis::flags::*;
use crate::redis::float::{string2ld, LongDouble};
use crate::redis::{CommandSpec, Ctx, Exec, KeySpec};
use crate::reply::{errors, Reply};
use crate::value::{parse_i64_strict, StrValue, Value};
use bytes::Bytes;

/// `proto-max-bulk-len`: the largest string value.
pub const MAX_STRING_BYTES: u64 = 512 * 1024 * 1024;
const TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

const fn spec(name: &'static str, arity: i32, flags: u32, keys: KeySpec, h: crate::redis::Handler) -> CommandSpec {
    CommandSpec { name, arity, flags, keys, group: "string", exec: Exec::Engine(h) }
}
const ONE: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };

pub const COMMANDS: &[CommandSpec] = &[
    spec("get", 2, READONLY | FAST, ONE, get),
    spec("set", -3, WRITE | DENYOOM, ONE, set),
    spec("setnx", 3, WRITE | DENYOOM | FAST, ONE, setnx),
    spec("setex", 4, WRITE | DENYOOM, ONE, setex),
    spec("psetex", 4, WRITE | DENYOOM, ONE, psetex),
    spec("mget", -2, READONLY | FAST, KeySpec::Range { first: 1, last: -1, step: 1 }, mget),
    spec("mset", -3, WRITE | DENYOOM, KeySpec::Range { first: 1, last: -1, step: 2 }, mset),
    spec("msetnx", -3, WRITE | DENYOOM, KeySpec::Range { first: 1, last: -1, step: 2 }, msetnx),
    spec("getset", 3, WRITE | DENYOOM | FAST, ONE, getset),
    spec("getdel", 2, WRITE | FAST, ONE, getdel),
    spec("getex", -2, WRITE | FAST, ONE, getex),
    spec("append", 3, WRITE | DENYOOM | FAST, ONE, append),
    spec("strlen", 2, READONLY | FAST, ONE, strlen),
    spec("getrange", 4, READONLY, ONE, getrange),
    spec("substr", 4, READONLY, ONE, getrange),
    spec("setrange", 4, WRITE | DENYOOM, ONE, setrange),
    spec("incr", 2, WRITE | DENYOOM | FAST, ONE, incr),
    spec("decr", 2, WRITE | DENYOOM | FAST, ONE, decr),
    spec("incrby", 3, WRITE | DENYOOM | FAST, ONE, incrby),
    spec("decrby", 3, WRITE | DENYOOM | FAST, ONE, decrby),
    spec("incrbyfloat", 3, WRITE | DENYOOM | FAST, ONE, incrbyfloat),
    spec("lcs", -3, READONLY, KeySpec::Range { first: 1, last: 2, step: 1 }, lcs),
];

fn get(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_str(&args[1], now) {
        Ok(Some(s)) => Reply::bulk_copy(s),
        Ok(None) => Reply::Nil,
        Err(e) => e.into(),
    }
}

#[derive(Default)]
struct SetFlags {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    /// (unit is seconds, absolute, argument)
    expire: Option<(bool, bool, Bytes)>,
}

/// Redis's `parseExtendedStringArgumentsOrReply` for SET (`for_set`) and GETEX.
fn parse_set_flags(args: &[Bytes], from: usize, for_set: bool) -> Result<SetFlags, Reply> {
    let mut f = SetFlags::default();
    let mut j = from;
    while j < args.len() {
        let opt = &args[j];
        let next = args.get(j + 1);
        let has_exp = f.expire.is_some();
        if for_set && is(opt, "nx") && !f.xx {
            f.nx = true;
        } else if for_set && is(opt, "xx") && !f.nx {
            f.xx = true;
        } else if for_set && is(opt, "get") {
            f.get = true;
        } else if for_set && is(opt, "keepttl") && !f.persist && !has_exp {
            f.keepttl = true;
        } else if !for_set && is(opt, "persist") && !has_exp {
            f.persist = true;
        } else if !f.keepttl
            && !f.persist
            && next.is_some()
            && (is(opt, "ex") || is(opt, "px") || is(opt, "exat") || is(opt, "pxat"))
            // The same option again is allowed (the last one wins, `SET k v EX 1 EX 2`); a
            // different expire option is a syntax error.
            && f.expire.as_ref().is_none_or(|(sec, abs, _)| {
                (*sec, *abs) == (is(opt, "ex") || is(opt, "exat"), is(opt, "exat") || is(opt, "pxat"))
            })
        {
            let seconds = is(opt, "ex") || is(opt, "exat");
            let absolute = is(opt, "exat") || is(opt, "pxat");
            f.expire = Some((seconds, absolute, next.cloned().unwrap_or_default()));
            j += 1;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
        j += 1;
    }
    Ok(f)
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute deadline in ms.
fn expire_ms(ctx: &Ctx, cmd: &[u8], arg: &[u8], seconds: bool, absolute: bool) -> Result<u64, Reply> {
    let bad = || Reply::err(errors::invalid_expire(&String::from_utf8_lossy(cmd)));
    let mut ms = args::int(arg)?;
    if ms <= 0 || (seconds && ms > i64::MAX / 1000) {
        return Err(bad());
    }
    if seconds {
        ms *= 1000;
    }
    if !absolute {
        ms = ms.checked_add(ctx.now_ms as i64).ok_or_else(bad)?;
    }
    if ms <= 0 {
        return Err(bad());
    }
    Ok(ms as u64)
}

fn set(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let f = match parse_set_flags(args, 3, true) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let deadline = match &f.expire {
        Some((sec, abs, arg)) => match expire_ms(ctx, &args[0], arg, *sec, *abs) {
            Ok(ms) => Some(ms),
            Err(e) => return e,
        },
        None => None,
    };
    set_generic(ctx, &args[1], &args[2], deadline, f.nx, f.xx, f.get, f.keepttl, Reply::Ok, Reply::Nil)
}

#[allow(clippy::too_many_arguments)]
fn set_generic(
    ctx: &mut Ctx,
    key: &Bytes,
    value: &Bytes,
    deadline: Option<u64>,
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    ok_reply: Reply,
    abort_reply: Reply,
) -> Reply {
    let now = ctx.now_ms;
    let db = ctx.db();
    let mut old = None;
    if get {
        match db.get_str(key, now) {
            Ok(v) => old = Some(v.map(|s| Reply::bulk_copy(s)).unwrap_or(Reply::Nil)),
            Err(e) => return e.into(),
        }
    }
    let found = db.contains(key, now);
    if (nx && found) || (xx && !found) {
        return old.unwrap_or(abort_reply);
    }
    let v = Value::Str(StrValue::new(value.to_vec()));
    if keepttl {
        db.set_keep_ttl(key.clone(), v, now);
    } else {
        db.set_entry(
            key.clone(),
            Entry { value: v, expire_at_ms: deadline, access_s: (now / 1000) as u32, snap_mark: 0 },
        );
    }
    ctx.dirty(1);
    if let Some(at) = deadline {
        // Log the absolute deadline, as Redis propagates SET ... PXAT.
        ctx.propagate(vec![
            Bytes::from_static(b"SET"),
            key.clone(),
            value.clone(),
            Bytes::from_static(b"PXAT"),
            Bytes::from(at.to_string()),
        ]);
    }
    old.unwrap_or(ok_reply)
}

fn setnx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    set_generic(ctx, &args[1], &args[2], None, true, false, false, false, Reply::Int(1), Reply::Int(0))
}

fn setex_generic(ctx: &mut Ctx, args: &[Bytes], seconds: bool) -> Reply {
    let at = match expire_ms(ctx, &args[0], &args[2], seconds, false) {
        Ok(v) => v,
        Err(e) => return e,
    };
    set_generic(ctx, &args[1], &args[3], Some(at), false, false, false, false, Reply::Ok, Reply::Nil)
}

fn setex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    setex_generic(ctx, args, true)
}

fn psetex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    setex_generic(ctx, args, false)
}

fn mget(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let db = ctx.db();
    Reply::Array(
        args[1..]
            .iter()
            .map(|k| match db.get_str(k, now) {
                Ok(Some(s)) => Reply::bulk_copy(s),
                _ => Reply::Nil,
            })
            .collect(),
    )
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if args.len().is_multiple_of(2) {
        return Reply::err(errors::wrong_args("mset"));
    }
    let db = ctx.db();
    for kv in args[1..].chunks(2) {
        db.set(kv[0].clone(), Value::Str(StrValue::new(kv[1].to_vec())));
    }
    ctx.dirty((args.len() / 2) as u64);
    Reply::Ok
}

fn msetnx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if args.len().is_multiple_of(2) {
        return Reply::err(errors::wrong_args("msetnx"));
    }
    let now = ctx.now_ms;
    let db = ctx.db();
    if args[1..].chunks(2).any(|kv| db.contains(&kv[0], now)) {
        return Reply::Int(0);
    }
    mset(ctx, args);
    Reply::Int(1)
}

fn getset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    set_generic(ctx, &args[1], &args[2], None, false, false, true, false, Reply::Ok, Reply::Nil)
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let db = ctx.db();
    let reply = match db.get_str(&args[1], now) {
        Ok(Some(s)) => Reply::bulk_copy(s),
        Ok(None) => return Reply::Nil,
        Err(e) => return e.into(),
    };
    db.remove(&args[1]);
    ctx.dirty(1);
    reply
}

fn getex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let f = match parse_set_flags(args, 2, false) {
        Ok(f) => f,
        Err(e) => return e,
    };
    let now = ctx.now_ms;
    let key = &args[1];
    // Redis looks the key up (nil, WRONGTYPE) before it validates the expire time.
    let (reply, has_ttl) = match ctx.db().get(key, now) {
        None => return Reply::Nil,
        Some(Entry { value: Value::Str(s), expire_at_ms, .. }) => (Reply::bulk_copy(s), expire_at_ms.is_some()),
        Some(_) => return Reply::err(errors::WRONGTYPE),
    };
    let deadline = match &f.expire {
        Some((sec, abs, arg)) => match expire_ms(ctx, &args[0], arg, *sec, *abs) {
            Ok(ms) => Some(ms),
            Err(e) => return e,
        },
        None => None,
    };
    let db = ctx.db();
    if let Some(at) = deadline {
        if at <= now {
            db.remove(key);
            ctx.dirty(1);
            ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
        } else {
            db.set_expire(key, Some(at));
            ctx.dirty(1);
            ctx.propagate(vec![Bytes::from_static(b"PEXPIREAT"), key.clone(), Bytes::from(at.to_string())]);
        }
    } else if f.persist && has_ttl {
        db.set_expire(key, None);
        ctx.dirty(1);
        ctx.propagate(vec![Bytes::from_static(b"PERSIST"), key.clone()]);
    }
    reply
}

fn append(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let db = ctx.db();
    let len = match db.get_str_mut(&args[1], now) {
        Err(e) => return e.into(),
        Ok(Some(s)) => {
            if s.len() as u64 + args[2].len() as u64 > MAX_STRING_BYTES {
                return Reply::err(TOO_BIG);
            }
            s.extend_from_slice(&args[2]);
            s.len()
        }
        Ok(None) => {
            db.set(args[1].clone(), Value::Str(StrValue::new(args[2].to_vec())));
            args[2].len()
        }
    };
    ctx.dirty(1);
    Reply::Int(len as i64)
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_str(&args[1], now) {
        Ok(s) => Reply::Int(s.map_or(0, |s| s.len()) as i64),
        Err(e) => e.into(),
    }
}

fn getrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let (mut start, mut end) = match (args::int(&args[2]), args::int(&args[3])) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let now = ctx.now_ms;
    let s = match ctx.db().get_str(&args[1], now) {
        Ok(Some(s)) => s,
        Ok(None) => return Reply::bulk(Bytes::new()),
        Err(e) => return e.into(),
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Reply::bulk(Bytes::new());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Reply::bulk(Bytes::new());
    }
    Reply::bulk_copy(&s[start as usize..=end as usize])
}

fn setrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let offset = match args::int(&args[2]) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if offset < 0 {
        return Reply::err("ERR offset is out of range");
    }
    let value = &args[3];
    let now = ctx.now_ms;
    let db = ctx.db();
    let too_big = offset as u64 + value.len() as u64 > MAX_STRING_BYTES;
    let len = match db.get_str_mut(&args[1], now) {
        Err(e) => return e.into(),
        Ok(None) => {
            if value.is_empty() {
                return Reply::Int(0);
            }
            if too_big {
                return Reply::err(TOO_BIG);
            }
            let mut s = vec![0u8; offset as usize];
            s.extend_from_slice(value);
            let n = s.len();
            db.set(args[1].clone(), Value::Str(StrValue::raw(s)));
            n
        }
        Ok(Some(s)) => {
            if value.is_empty() {
                return Reply::Int(s.len() as i64);
            }
            if too_big {
                return Reply::err(TOO_BIG);
            }
            let off = offset as usize;
            if s.len() < off + value.len() {
                s.resize(off + value.len(), 0);
            }
            s[off..off + value.len()].copy_from_slice(value);
            s.len()
        }
    };
    ctx.dirty(1);
    Reply::Int(len as i64)
}

fn incr_generic(ctx: &mut Ctx, key: &Bytes, by: i64) -> Reply {
    let now = ctx.now_ms;
    let db = ctx.db();
    let current = match db.get_str_mut(key, now) {
        Err(e) => return e.into(),
        Ok(Some(s)) => match parse_i64_strict(s) {
            Some(v) => Some((v, s)),
            None => return Reply::err(errors::NOT_INTEGER),
        },
        Ok(None) => None,
    };
    let old = current.as_ref().map_or(0, |(v, _)| *v);
    let Some(new) = old.checked_add(by) else {
        return Reply::err(errors::OVERFLOW);
    };
    match current {
        Some((_, s)) => *s = StrValue::from_int(new),
        None => db.set(key.clone(), Value::Str(StrValue::from_int(new))),
    }
    ctx.dirty(1);
    Reply::Int(new)
}

fn incr(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    incr_generic(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    incr_generic(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match args::int(&args[2]) {
        Ok(by) => incr_generic(ctx, &args[1], by),
        Err(e) => e,
    }
}

fn decrby(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match args::int(&args[2]) {
        Ok(i64::MIN) => Reply::err("ERR decrement would overflow"),
        Ok(by) => incr_generic(ctx, &args[1], -by),
        Err(e) => e,
    }
}

/// INCRBYFLOAT computes in a C `long double` in Redis (x87 80-bit on x86-64) and prints
/// `%.17Lf`: `redis::float` reproduces both, so results agree to the last digit.
fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let key = &args[1];
    let db = ctx.db();
    let old = match db.get_str(key, now) {
        Err(e) => return e.into(),
        Ok(Some(s)) => match string2ld(s) {
            Some(v) => v,
            None => return Reply::err(errors::NOT_FLOAT),
        },
        Ok(None) => LongDouble::ZERO,
    };
    let Some(by) = string2ld(&args[2]) else {
        return Reply::err(errors::NOT_FLOAT);
    };
    let new = old + by;
    if new.is_nan() || new.is_infinite() {
        return Reply::err(errors::NAN);
    }
    let text = Bytes::from(new.to_human());
    db.set_keep_ttl(key.clone(), Value::Str(StrValue::created(text.to_vec())), now);
    ctx.dirty(1);
    ctx.propagate(vec![Bytes::from_static(b"SET"), key.clone(), text.clone(), Bytes::from_static(b"KEEPTTL")]);
    Reply::Bulk(text)
}

/// LCS, as Redis 7.0's `lcsCommand` (dynamic programming, then a walk back emitting ranges).
fn lcs(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let db = ctx.db();
    let fetch = |v: Result<Option<&StrValue>, _>| v.map(|o| o.map(|s| s.to_vec()).unwrap_or_default());
    let a = fetch(db.get_str(&args[1], now));
    let b = fetch(db.get_str(&args[2], now));
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return Reply::err("ERR The specified keys must contain string values"),
    };
    let (mut getidx, mut getlen, mut withmatchlen, mut minmatchlen) = (false, false, false, 0i64);
    let mut j = 3;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if is(&args[j], "idx") {
            getidx = true;
        } else if is(&args[j], "len") {
            getlen = true;
        } else if is(&args[j], "withmatchlen") {
            withmatchlen = true;
        } else if is(&args[j], "minmatchlen") && more > 0 {
            minmatchlen = match args::int(&args[j + 1]) {
                Ok(v) => v.max(0),
                Err(e) => return e,
            };
            j += 1;
        } else {
            return Reply::err(errors::SYNTAX);
        }
        j += 1;
    }
    if getidx && getlen {
        return Reply::err("ERR If you want both the length and indexes, please just use IDX.");
    }
    let (alen, blen) = (a.len(), b.len());
    if (alen as u64 + 1) * (blen as u64 + 1) * 4 > MAX_STRING_BYTES {
        return Reply::err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    let w = blen + 1;
    let mut dp = vec![0u32; (alen + 1) * w];
    for i in 1..=alen {
        for k in 1..=blen {
            dp[i * w + k] = if a[i - 1] == b[k - 1] {
                dp[(i - 1) * w + k - 1] + 1
            } else {
                dp[(i - 1) * w + k].max(dp[i * w + k - 1])
            };
        }
    }
    let total = dp[alen * w + blen];
    let compute = getidx || !getlen;
    let mut idx = total as usize;
    let mut result = vec![0u8; idx];
    let mut matches = Vec::new();
    let (mut ars, mut are, mut brs, mut bre) = (alen, 0usize, 0usize, 0usize);
    let (mut i, mut k) = (alen, blen);
    while compute && i > 0 && k > 0 {
        let mut emit = false;
        if a[i - 1] == b[k - 1] {
            result[idx - 1] = a[i - 1];
            if ars == alen {
                ars = i - 1;
                are = i - 1;
                brs = k - 1;
                bre = k - 1;
            } else if ars == i && brs == k {
                ars -= 1;
                brs -= 1;
            } else {
                emit = true;
            }
            if ars == 0 || brs == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            k -= 1;
        } else {
            if dp[(i - 1) * w + k] > dp[i * w + k - 1] {
                i -= 1;
            } else {
                k -= 1;
            }
            if ars != alen {
                emit = true;
            }
        }
        if emit {
            let mlen = (are - ars + 1) as i64;
            if minmatchlen == 0 || mlen >= minmatchlen {
                let mut m = vec![
                    Reply::Array(vec![Reply::Int(ars as i64), Reply::Int(are as i64)]),
                    Reply::Array(vec![Reply::Int(brs as i64), Reply::Int(bre as i64)]),
                ];
                if withmatchlen {
                    m.push(Reply::Int(mlen));
                }
                matches.push(Reply::Array(m));
            }
            ars = alen;
        }
    }
    if getidx {
        Reply::Map(vec![
            (Reply::bulk("matches"), Reply::Array(matches)),
            (Reply::bulk("len"), Reply::Int(total as i64)),
        ])
    } else if getlen {
        Reply::Int(total as i64)
    } else {
        Reply::bulk(result)
    }
}

#[cfg(test)]
mod tests {
    use crate::redis::testing::{bulk, T};
    use crate::reply::Reply;

    #[test]
    fn set_options() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["SET", "k", "v", "NX"]), Reply::Ok);
        assert_eq!(t.cmd(&["SET", "k", "w", "NX"]), Reply::Nil);
        assert_eq!(t.cmd(&["SET", "k", "w", "XX", "GET"]), bulk("v"));
        assert_eq!(t.cmd(&["SET", "k", "x", "NX", "XX"]), Reply::err("ERR syntax error"));
        assert_eq!(t.cmd(&["SET", "k", "x", "EX", "0"]), Reply::err("ERR invalid expire time in 'set' command"));
        assert_eq!(t.cmd(&["SET", "k", "x", "EX", "10"]), Reply::Ok);
        assert_eq!(t.cmd(&["TTL", "k"]), Reply::Int(10));
        assert_eq!(t.cmd(&["SET", "k", "y", "KEEPTTL"]), Reply::Ok);
        assert_eq!(t.cmd(&["TTL", "k"]), Reply::Int(10));
        assert_eq!(t.cmd(&["SET", "k", "y", "KEEPTTL", "EX", "5"]), Reply::err("ERR syntax error"));
        t.cmd(&["LPUSH", "l", "a"]);
    }

    #[test]
    fn counters() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["INCR", "n"]), Reply::Int(1));
        assert_eq!(t.cmd(&["INCRBY", "n", "10"]), Reply::Int(11));
        assert_eq!(t.cmd(&["DECRBY", "n", "1"]), Reply::Int(10));
        t.cmd(&["SET", "n", "9223372036854775807"]);
        assert_eq!(t.cmd(&["INCR", "n"]), Reply::err("ERR increment or decrement would overflow"));
        t.cmd(&["SET", "s", "abc"]);
        assert_eq!(t.cmd(&["INCR", "s"]), Reply::err("ERR value is not an integer or out of range"));
        t.cmd(&["SET", "f", "10.5"]);
        assert_eq!(t.cmd(&["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
        assert_eq!(t.cmd(&["INCRBYFLOAT", "s", "1"]), Reply::err("ERR value is not a valid float"));
    }

    #[test]
    fn ranges() {
        let mut t = T::new();
        t.cmd(&["SET", "k", "Hello World"]);
        assert_eq!(t.cmd(&["GETRANGE", "k", "0", "4"]), bulk("Hello"));
        assert_eq!(t.cmd(&["GETRANGE", "k", "-5", "-1"]), bulk("World"));
        assert_eq!(t.cmd(&["GETRANGE", "k", "5", "1"]), bulk(""));
        assert_eq!(t.cmd(&["SETRANGE", "k", "6", "Redis"]), Reply::Int(11));
        assert_eq!(t.cmd(&["GET", "k"]), bulk("Hello Redis"));
        assert_eq!(t.cmd(&["SETRANGE", "z", "2", "x"]), Reply::Int(3));
        assert_eq!(t.cmd(&["GET", "z"]), Reply::bulk(&b"\0\0x"[..]));
        assert_eq!(t.cmd(&["APPEND", "z", "yz"]), Reply::Int(5));
    }

    #[test]
    fn lcs_like_redis_docs() {
        let mut t = T::new();
        t.cmd(&["MSET", "key1", "ohmytext", "key2", "mynewtext"]);
        assert_eq!(t.cmd(&["LCS", "key1", "key2"]), bulk("mytext"));
        assert_eq!(t.cmd(&["LCS", "key1", "key2", "LEN"]), Reply::Int(6));
        let Reply::Map(m) = t.cmd(&["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]) else {
            panic!()
        };
        assert_eq!(
            m[0].1,
            Reply::Array(vec![Reply::Array(vec![
                Reply::Array(vec![Reply::Int(4), Reply::Int(7)]),
                Reply::Array(vec![Reply::Int(5), Reply::Int(8)]),
                Reply::Int(4)
            ])])
        );
    }
}
