//! Sorted-set commands (<https://redis.io/commands/?group=sorted-set>), following Redis 7.0's
//! `t_zset.c`: option parsing order, which error wins, error texts, reply shapes, and what the
//! popping commands log.
//!
//! Replies are protocol-neutral: WITHSCORES results are [`Reply::Pairs`] of member (bulk) and
//! score ([`Reply::Double`]): a flat array in RESP2 and an array of [member, score] pairs in
//! RESP3, as Redis 7.0 answers ZRANGE/ZRANGEBYSCORE/ZUNION/ZINTER/ZDIFF/ZRANDMEMBER WITHSCORES
//! and ZPOPMIN/ZPOPMAX with a count. (ZPOPMIN without a count and BZPOPMIN stay flat.)
//!
//! Floats are parsed as Redis does with C's `strtod`: scores and weights with `string2d`
//! (the whole argument, no leading space, overflow rejected, hex accepted), range bounds with
//! `zslParseRange` (plain `strtod`: leading spaces and an empty string accepted).

use crate::keyspace::{scan_positions, Db};
use crate::redis::args::{self, is};
use crate::redis::cmd::keys::{parse_cursor, parse_scan};
use crate::redis::flags::*;
use crate::redis::glob;
use crate::redis::zset::{cmp_entries, LexBound, LexRange, ScoreRange, LISTPACK_MAX_ENTRIES};
use crate::redis::{CommandSpec, Ctx, Exec, KeySpec};
use crate::reply::{errors, Reply};
use crate::value::{fmt_g17, parse_i64_strict, FastBuild, SetValue, Value, ZSet};
use bytes::Bytes;
use indexmap::IndexMap;
use rand::Rng;

const fn spec(name: &'static str, arity: i32, flags: u32, keys: KeySpec, h: crate::redis::Handler) -> CommandSpec {
    CommandSpec { name, arity, flags, keys, group: "sorted-set", exec: Exec::Engine(h) }
}
const ONE: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };
const STORE: KeySpec = KeySpec::NumKeys { count_at: 2, dest: true };
const NUMKEYS: KeySpec = KeySpec::NumKeys { count_at: 1, dest: false };

pub const COMMANDS: &[CommandSpec] = &[
    spec("zadd", -4, WRITE | DENYOOM | FAST, ONE, zadd),
    spec("zincrby", 4, WRITE | DENYOOM | FAST, ONE, zincrby),
    spec("zrem", -3, WRITE | FAST, ONE, zrem),
    spec("zscore", 3, READONLY | FAST, ONE, zscore),
    spec("zmscore", -3, READONLY | FAST, ONE, zmscore),
    spec("zcard", 2, READONLY | FAST, ONE, zcard),
    spec("zcount", 4, READONLY | FAST, ONE, zcount),
    spec("zlexcount", 4, READONLY | FAST, ONE, zlexcount),
    spec("zrange", -4, READONLY, ONE, zrange),
    spec("zrangestore", -5, WRITE | DENYOOM, KeySpec::Range { first: 1, last: 2, step: 1 }, zrangestore),
    spec("zrangebyscore", -4, READONLY, ONE, zrangebyscore),
    spec("zrevrangebyscore", -4, READONLY, ONE, zrevrangebyscore),
    spec("zrangebylex", -4, READONLY, ONE, zrangebylex),
    spec("zrevrangebylex", -4, READONLY, ONE, zrevrangebylex),
    spec("zrevrange", -4, READONLY, ONE, zrevrange),
    spec("zrank", 3, READONLY | FAST, ONE, zrank),
    spec("zrevrank", 3, READONLY | FAST, ONE, zrevrank),
    spec("zremrangebyrank", 4, WRITE, ONE, zremrangebyrank),
    spec("zremrangebyscore", 4, WRITE, ONE, zremrangebyscore),
    spec("zremrangebylex", 4, WRITE, ONE, zremrangebylex),
    spec("zpopmin", -2, WRITE | FAST, ONE, zpopmin),
    spec("zpopmax", -2, WRITE | FAST, ONE, zpopmax),
    spec("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, KeySpec::Range { first: 1, last: -2, step: 1 }, bzpopmin),
    spec("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, KeySpec::Range { first: 1, last: -2, step: 1 }, bzpopmax),
    spec("zunionstore", -4, WRITE | DENYOOM, STORE, zunionstore),
    spec("zinterstore", -4, WRITE | DENYOOM, STORE, zinterstore),
    spec("zdiffstore", -4, WRITE | DENYOOM, STORE, zdiffstore),
    spec("zunion", -3, READONLY, NUMKEYS, zunion),
    spec("zinter", -3, READONLY, NUMKEYS, zinter),
    spec("zdiff", -3, READONLY, NUMKEYS, zdiff),
    spec("zintercard", -3, READONLY, NUMKEYS, zintercard),
    spec("zrandmember", -2, READONLY | RANDOM, ONE, zrandmember),
    spec("zmpop", -4, WRITE, NUMKEYS, zmpop),
    spec("bzmpop", -5, WRITE | BLOCKING, KeySpec::NumKeys { count_at: 2, dest: false }, bzmpop),
    spec("zscan", -3, READONLY | RANDOM, ONE, zscan),
];

/// Most elements one ZRANDMEMBER with a negative count may return (Redis has no bound but the
/// client's output buffer; this keeps a single reply within reason).
const MAX_RANDOM_PICKS: u64 = 1 << 21;

fn done(r: Result<Reply, Reply>) -> Reply {
    match r {
        Ok(r) | Err(r) => r,
    }
}

fn syntax() -> Reply {
    Reply::err(errors::SYNTAX)
}

fn read_zset<'a>(ctx: &'a mut Ctx<'_>, key: &[u8]) -> Result<Option<&'a ZSet>, Reply> {
    let now = ctx.now_ms;
    Ok(ctx.db().get_zset(key, now)?)
}

/// Deletes `key` if it is live; true if it was there.
fn delete_live(ctx: &mut Ctx, key: &[u8]) -> bool {
    let now = ctx.now_ms;
    let db = ctx.db();
    db.expire_if_needed(key, now);
    db.remove(key).is_some()
}

/// Members, or member/score [`Reply::Pairs`] `withscores`.
fn reply_entries<'a>(items: impl Iterator<Item = (&'a Bytes, f64)>, withscores: bool) -> Reply {
    if withscores {
        return Reply::Pairs(items.map(|(m, s)| (Reply::Bulk(m.clone()), Reply::Double(s))).collect());
    }
    Reply::Array(items.map(|(m, _)| Reply::Bulk(m.clone())).collect())
}

// ---------------------------------------------------------------------------------------------
// Number and range parsing

// glibc's `strtod` and Redis's `string2d` live in `redis::float`, shared with the other
// families.
use crate::redis::float::{string2d, strtod};

/// A score (ZADD, ZINCRBY).
fn parse_score(arg: &[u8]) -> Result<f64, Reply> {
    string2d(arg).ok_or_else(|| Reply::err(errors::NOT_FLOAT))
}

/// One end of a score range, `zslParseRange`: `(` makes it exclusive; `strtod` must end at
/// the end of the (C) string.
fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (body, ex) = match arg.first() {
        Some(b'(') => (&arg[1..], true),
        _ => (arg, false),
    };
    let r = strtod(body);
    let c_len = memchr::memchr(0, body).unwrap_or(body.len());
    if r.consumed != c_len || r.value.is_nan() {
        return None;
    }
    Some((r.value, ex))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Reply> {
    let bad = || Reply::err("ERR min or max is not a float");
    let (min, minex) = parse_score_bound(min).ok_or_else(bad)?;
    let (max, maxex) = parse_score_bound(max).ok_or_else(bad)?;
    Ok(ScoreRange { min, max, minex, maxex })
}

/// `zslParseLexRangeItem`: `-`, `+`, `(member` or `[member`.
fn parse_lex_bound(arg: &Bytes) -> Option<(LexBound, bool)> {
    let alone = arg.get(1).is_none_or(|&c| c == 0);
    match arg.first() {
        Some(b'+') if alone => Some((LexBound::Max, true)),
        Some(b'-') if alone => Some((LexBound::Min, true)),
        Some(b'(') => Some((LexBound::Value(arg.slice(1..)), true)),
        Some(b'[') => Some((LexBound::Value(arg.slice(1..)), false)),
        _ => None,
    }
}

fn parse_lex_range(min: &Bytes, max: &Bytes) -> Result<LexRange, Reply> {
    let bad = || Reply::err("ERR min or max not valid string range item");
    let (min, minex) = parse_lex_bound(min).ok_or_else(bad)?;
    let (max, maxex) = parse_lex_bound(max).ok_or_else(bad)?;
    Ok(LexRange { min, minex, max, maxex })
}

// ---------------------------------------------------------------------------------------------
// ZADD / ZINCRBY / ZREM / lookups

fn zadd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zadd_generic(ctx, args, false))
}

fn zincrby(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zadd_generic(ctx, args, true))
}

/// `zaddGenericCommand` (ZINCRBY is ZADD with INCR preset; it parses options the same way).
fn zadd_generic(ctx: &mut Ctx, args: &[Bytes], mut incr: bool) -> Result<Reply, Reply> {
    let key = &args[1];
    let (mut nx, mut xx, mut gt, mut lt, mut ch) = (false, false, false, false, false);
    let mut idx = 2;
    while idx < args.len() {
        let o = &args[idx][..];
        if is(o, "nx") {
            nx = true;
        } else if is(o, "xx") {
            xx = true;
        } else if is(o, "ch") {
            ch = true;
        } else if is(o, "incr") {
            incr = true;
        } else if is(o, "gt") {
            gt = true;
        } else if is(o, "lt") {
            lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let rest = args.len() - idx;
    if rest & 1 == 1 || rest == 0 {
        return Err(syntax());
    }
    let n = rest / 2;
    if nx && xx {
        return Err(Reply::err("ERR XX and NX options at the same time are not compatible"));
    }
    if ((gt || lt) && nx) || (gt && lt) {
        return Err(Reply::err("ERR GT, LT, and/or NX options at the same time are not compatible"));
    }
    if incr && n > 1 {
        return Err(Reply::err("ERR INCR option supports a single increment-element pair"));
    }
    let scores = (0..n).map(|j| parse_score(&args[idx + 2 * j])).collect::<Result<Vec<f64>, Reply>>()?;

    let now = ctx.now_ms;
    let db = ctx.db();
    if db.get_zset(key, now)?.is_none() {
        if xx {
            return Ok(if incr { Reply::Nil } else { Reply::Int(0) });
        }
        db.set(key.clone(), Value::ZSet(Box::default()));
    }
    let Some(zs) = db.get_zset_mut(key, now)? else {
        return Ok(Reply::Int(0));
    };
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut last = 0.0;
    let mut nan = false;
    for (j, &score) in scores.iter().enumerate() {
        let member = &args[idx + 2 * j + 1];
        let mut score = score;
        match zs.score(member) {
            Some(cur) => {
                if nx {
                    continue;
                }
                if incr {
                    score += cur;
                    if score.is_nan() {
                        nan = true;
                        break;
                    }
                }
                if (lt && score >= cur) || (gt && score <= cur) {
                    continue;
                }
                last = score;
                if score != cur {
                    zs.add(member, score);
                    updated += 1;
                }
                processed += 1;
            }
            None => {
                if xx {
                    continue;
                }
                zs.add(member, score);
                added += 1;
                last = score;
                processed += 1;
            }
        }
    }
    db.remove_if_empty(key);
    if nan {
        return Err(Reply::err("ERR resulting score is not a number (NaN)"));
    }
    if added + updated > 0 {
        ctx.dirty(added + updated);
    }
    if added > 0 {
        ctx.signal_ready(key);
    }
    Ok(if incr {
        if processed > 0 {
            Reply::Double(last)
        } else {
            Reply::Nil
        }
    } else {
        Reply::Int((if ch { added + updated } else { added }) as i64)
    })
}

fn zrem(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let key = &args[1];
    let now = ctx.now_ms;
    let db = ctx.db();
    let zs = match db.get_zset_mut(key, now) {
        Ok(Some(z)) => z,
        Ok(None) => return Reply::Int(0),
        Err(e) => return e.into(),
    };
    let mut deleted = 0u64;
    for m in &args[2..] {
        if zs.remove(m).is_some() {
            deleted += 1;
        }
        if zs.is_empty() {
            break;
        }
    }
    db.remove_if_empty(key);
    if deleted > 0 {
        ctx.dirty(deleted);
    }
    Reply::Int(deleted as i64)
}

fn zscore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read_zset(ctx, &args[1]) {
        Ok(Some(z)) => z.score(&args[2]).map_or(Reply::Nil, Reply::Double),
        Ok(None) => Reply::Nil,
        Err(e) => e,
    }
}

fn zmscore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let zs = match read_zset(ctx, &args[1]) {
        Ok(z) => z,
        Err(e) => return e,
    };
    Reply::Array(args[2..].iter().map(|m| zs.and_then(|z| z.score(m)).map_or(Reply::Nil, Reply::Double)).collect())
}

fn zcard(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match read_zset(ctx, &args[1]) {
        Ok(z) => Reply::Int(z.map_or(0, |z| z.len()) as i64),
        Err(e) => e,
    }
}

fn zcount(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done((|| {
        let r = parse_score_range(&args[2], &args[3])?;
        let n = read_zset(ctx, &args[1])?.map_or(0, |z| z.count_in_score_range(&r));
        Ok(Reply::Int(n as i64))
    })())
}

fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done((|| {
        let r = parse_lex_range(&args[2], &args[3])?;
        let n = read_zset(ctx, &args[1])?.map_or(0, |z| z.count_in_lex_range(&r));
        Ok(Reply::Int(n as i64))
    })())
}

fn zrank_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) -> Reply {
    let zs = match read_zset(ctx, &args[1]) {
        Ok(Some(z)) => z,
        Ok(None) => return Reply::Nil,
        Err(e) => return e,
    };
    match zs.rank(&args[2]) {
        Some(r) => Reply::Int(if rev { zs.len() - 1 - r } else { r } as i64),
        None => Reply::Nil,
    }
}

fn zrank(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    zrank_generic(ctx, args, false)
}

fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    zrank_generic(ctx, args, true)
}

// ---------------------------------------------------------------------------------------------
// ZRANGE and friends

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

enum RangeSpec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

fn zrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, args, 1, false, RangeType::Auto, Direction::Auto))
}

fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, args, 2, true, RangeType::Auto, Direction::Auto))
}

fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, args, 1, false, RangeType::Rank, Direction::Reverse))
}

fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, args, 1, false, RangeType::Score, Direction::Forward))
}

fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, args, 1, false, RangeType::Score, Direction::Reverse))
}

fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, args, 1, false, RangeType::Lex, Direction::Forward))
}

fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zrange_generic(ctx, args, 1, false, RangeType::Lex, Direction::Reverse))
}

/// `zrangeGenericCommand`: `args[argc_start]` is the source key, then min, max, options.
fn zrange_generic(
    ctx: &mut Ctx,
    args: &[Bytes],
    argc_start: usize,
    store: bool,
    mut rangetype: RangeType,
    mut direction: Direction,
) -> Result<Reply, Reply> {
    let key = &args[argc_start];
    let mut minidx = argc_start + 1;
    let mut maxidx = argc_start + 2;
    let mut withscores = false;
    let mut offset: i64 = 0;
    let mut limit: i64 = -1;
    let mut j = argc_start + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j][..];
        if !store && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            offset = args::int(&args[j + 1])?;
            limit = args::int(&args[j + 2])?;
            j += 2;
        } else if direction == Direction::Auto && is(a, "rev") {
            direction = Direction::Reverse;
        } else if rangetype == RangeType::Auto && is(a, "bylex") {
            rangetype = RangeType::Lex;
        } else if rangetype == RangeType::Auto && is(a, "byscore") {
            rangetype = RangeType::Score;
        } else {
            return Err(syntax());
        }
        j += 1;
    }
    if rangetype == RangeType::Auto {
        rangetype = RangeType::Rank;
    }
    let rev = direction == Direction::Reverse;
    if limit != -1 && rangetype == RangeType::Rank {
        return Err(Reply::err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rangetype == RangeType::Lex {
        return Err(Reply::err("ERR syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    if rev && rangetype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let spec = match rangetype {
        RangeType::Score => RangeSpec::Score(parse_score_range(&args[minidx], &args[maxidx])?),
        RangeType::Lex => RangeSpec::Lex(parse_lex_range(&args[minidx], &args[maxidx])?),
        _ => RangeSpec::Rank(args::int(&args[minidx])?, args::int(&args[maxidx])?),
    };
    let Some(zs) = read_zset(ctx, key)? else {
        return if store { Ok(store_result(ctx, &args[1], Vec::new(), true)) } else { Ok(Reply::Array(Vec::new())) };
    };
    let (start, take) = range_window(zs, &spec, rev, offset, limit);
    let items = match start {
        None => zs.iter_at(usize::MAX, false),
        Some(s) => zs.iter_at(s, rev),
    }
    .take(take);
    let keep = |m: &[u8], s: f64| match &spec {
        RangeSpec::Rank(..) => true,
        RangeSpec::Score(r) => {
            if rev {
                r.gte_min(s)
            } else {
                r.lte_max(s)
            }
        }
        RangeSpec::Lex(r) => {
            if rev {
                r.gte_min(m)
            } else {
                r.lte_max(m)
            }
        }
    };
    let items = items.take_while(|(m, s)| keep(m, *s));
    if !store {
        return Ok(reply_entries(items, withscores));
    }
    let items: Vec<(Bytes, f64)> = items.map(|(m, s)| (m.clone(), s)).collect();
    let one_by_one = !matches!(spec, RangeSpec::Rank(..)) || items.len() <= LISTPACK_MAX_ENTRIES;
    Ok(store_result(ctx, &args[1], items, one_by_one))
}

/// Where a ZRANGE starts (a 0-based rank, walking forward or backward) and at most how many
/// elements it takes before its end condition: Redis's rank clamping, `LIMIT offset count`
/// (a negative offset yields nothing, a negative count means all).
fn range_window(zs: &ZSet, spec: &RangeSpec, rev: bool, offset: i64, limit: i64) -> (Option<usize>, usize) {
    let len = zs.len();
    let limit = if limit < 0 { usize::MAX } else { limit as usize };
    let first = match spec {
        RangeSpec::Rank(start, end) => {
            let llen = len as i64;
            let (mut start, mut end) = (*start, *end);
            if start < 0 {
                start += llen;
            }
            if end < 0 {
                end += llen;
            }
            if start < 0 {
                start = 0;
            }
            if start > end || start >= llen {
                return (None, 0);
            }
            if end >= llen {
                end = llen - 1;
            }
            let n = (end - start + 1) as usize;
            let at = if rev { len - 1 - start as usize } else { start as usize };
            return (Some(at), n);
        }
        RangeSpec::Score(r) => {
            if offset > 0 && offset as u64 >= len as u64 {
                return (None, 0);
            }
            if rev {
                zs.last_in_score_range(r)
            } else {
                zs.first_in_score_range(r)
            }
        }
        RangeSpec::Lex(r) => {
            if rev {
                zs.last_in_lex_range(r)
            } else {
                zs.first_in_lex_range(r)
            }
        }
    };
    let Some(first) = first else { return (None, 0) };
    if offset < 0 {
        return (None, 0);
    }
    let offset = offset as u64;
    let at = if rev {
        if offset > first as u64 {
            return (None, 0);
        }
        first - offset as usize
    } else {
        let at = first as u64 + offset;
        if at >= len as u64 {
            return (None, 0);
        }
        at as usize
    };
    (Some(at), limit)
}

/// Stores `items` at `dst` as a sorted set, or deletes `dst` if there are none (the
/// `*STORE` commands' ending). Returns the reply (the stored cardinality).
///
/// `one_by_one`: Redis fills the destination one element at a time, starting as a listpack
/// (ZRANGESTORE unless it knows the result exceeds 128), rather than building it whole and
/// then choosing the encoding (ZUNIONSTORE & co.): this decides which zero scores read back
/// as -0.
fn store_result(ctx: &mut Ctx, dst: &Bytes, items: Vec<(Bytes, f64)>, one_by_one: bool) -> Reply {
    let n = items.len();
    if n == 0 {
        if delete_live(ctx, dst) {
            ctx.dirty(1);
        }
        return Reply::Int(0);
    }
    let z = if one_by_one {
        let mut z = ZSet::new();
        for (m, s) in items {
            z.insert(m, s);
        }
        z
    } else {
        ZSet::from_entries(items)
    };
    ctx.db().set(dst.clone(), Value::ZSet(Box::new(z)));
    ctx.dirty(1);
    ctx.signal_ready(dst);
    Reply::Int(n as i64)
}

// ---------------------------------------------------------------------------------------------
// ZREMRANGEBY*

fn zremrange_finish(ctx: &mut Ctx, key: &Bytes, spec: RangeSpec) -> Result<Reply, Reply> {
    let now = ctx.now_ms;
    let db = ctx.db();
    let Some(zs) = db.get_zset_mut(key, now)? else {
        return Ok(Reply::Int(0));
    };
    let deleted = match &spec {
        RangeSpec::Rank(start, end) => {
            let llen = zs.len() as i64;
            let (mut start, mut end) = (*start, *end);
            if start < 0 {
                start += llen;
            }
            if end < 0 {
                end += llen;
            }
            if start < 0 {
                start = 0;
            }
            if start > end || start >= llen {
                return Ok(Reply::Int(0));
            }
            zs.remove_rank_range(start as usize, end.min(llen - 1) as usize)
        }
        RangeSpec::Score(r) => zs.remove_score_range(r),
        RangeSpec::Lex(r) => zs.remove_lex_range(r),
    };
    db.remove_if_empty(key);
    if deleted > 0 {
        ctx.dirty(deleted as u64);
    }
    Ok(Reply::Int(deleted as i64))
}

fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done((|| {
        let spec = RangeSpec::Rank(args::int(&args[2])?, args::int(&args[3])?);
        zremrange_finish(ctx, &args[1], spec)
    })())
}

fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done((|| {
        let spec = RangeSpec::Score(parse_score_range(&args[2], &args[3])?);
        zremrange_finish(ctx, &args[1], spec)
    })())
}

fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done((|| {
        let spec = RangeSpec::Lex(parse_lex_range(&args[2], &args[3])?);
        zremrange_finish(ctx, &args[1], spec)
    })())
}

// ---------------------------------------------------------------------------------------------
// Popping: ZPOPMIN/ZPOPMAX, BZPOPMIN/BZPOPMAX, ZMPOP/BZMPOP

#[derive(Clone, Copy)]
struct PopShape {
    max: bool,
    /// Reply starts with the key (blocking pops, ZMPOP).
    emitkey: bool,
    /// Elements as [member, score] pairs (ZMPOP/BZMPOP).
    nested: bool,
    /// A null array rather than an empty one when no key has elements (ZMPOP/BZMPOP).
    nil_when_empty: bool,
}

/// `genericZpopCommand`: pops up to `count` (-1: one, reply as without a count) elements from
/// the first of `keys` that exists. Returns the reply and, if it popped, (key, how many).
fn generic_zpop(
    ctx: &mut Ctx,
    keys: &[Bytes],
    count: i64,
    shape: PopShape,
) -> Result<(Reply, Option<(Bytes, usize)>), Reply> {
    let now = ctx.now_ms;
    let db = ctx.db();
    let mut found = None;
    for key in keys {
        if db.get_zset(key, now)?.is_some() {
            found = Some(key);
            break;
        }
    }
    let Some(key) = found else {
        return Ok((if shape.nil_when_empty { Reply::NilArray } else { Reply::Array(Vec::new()) }, None));
    };
    if count == 0 {
        return Ok((Reply::Array(Vec::new()), None));
    }
    let had_count = count >= 0;
    let count = if count < 0 { 1 } else { count as u64 };
    let Some(zs) = db.get_zset_mut(key, now)? else {
        return Ok((Reply::Array(Vec::new()), None));
    };
    let n = count.min(zs.len() as u64) as usize;
    let mut popped = Vec::with_capacity(n);
    for _ in 0..n {
        match if shape.max { zs.pop_max() } else { zs.pop_min() } {
            Some(e) => popped.push(e),
            None => break,
        }
    }
    db.remove_if_empty(key);
    let n = popped.len();
    if n > 0 {
        ctx.dirty(n as u64);
    }
    let reply = if shape.nested {
        let pairs = popped.into_iter().map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)])).collect();
        if shape.emitkey {
            Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Array(pairs)])
        } else {
            Reply::Array(pairs)
        }
    } else if had_count && !shape.emitkey {
        // ZPOPMIN/ZPOPMAX with a count: pairs in RESP3.
        Reply::Pairs(popped.into_iter().map(|(m, s)| (Reply::Bulk(m), Reply::Double(s))).collect())
    } else {
        let mut out = Vec::with_capacity(n * 2 + shape.emitkey as usize);
        if shape.emitkey {
            out.push(Reply::Bulk(key.clone()));
        }
        for (m, s) in popped {
            out.push(Reply::Bulk(m));
            out.push(Reply::Double(s));
        }
        Reply::Array(out)
    };
    Ok((reply, Some((key.clone(), n))))
}

fn pop_record(max: bool, key: Bytes, count: Option<usize>) -> Vec<Bytes> {
    let name = Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" });
    let mut rec = vec![name, key];
    if let Some(n) = count {
        rec.push(Bytes::from(n.to_string()));
    }
    rec
}

fn zpop(ctx: &mut Ctx, args: &[Bytes], max: bool) -> Result<Reply, Reply> {
    if args.len() > 3 {
        return Err(syntax());
    }
    let count = if args.len() == 3 { args::positive(&args[2])? } else { -1 };
    let shape = PopShape { max, emitkey: false, nested: false, nil_when_empty: false };
    Ok(generic_zpop(ctx, &args[1..2], count, shape)?.0)
}

fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zpop(ctx, args, false))
}

fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zpop(ctx, args, true))
}

/// `blockingGenericZpopCommand` after the timeout is parsed: pops from the first non-empty
/// key (logging it as ZPOPMIN/ZPOPMAX), or blocks.
fn blocking_zpop(ctx: &mut Ctx, keys: &[Bytes], timeout_ms: u64, count: i64, shape: PopShape) -> Result<Reply, Reply> {
    let now = ctx.now_ms;
    for key in keys {
        let ready = matches!(ctx.db().get_zset(key, now)?, Some(z) if !z.is_empty());
        if !ready {
            continue;
        }
        let (reply, popped) = generic_zpop(ctx, std::slice::from_ref(key), count, shape)?;
        if let Some((key, n)) = popped {
            ctx.propagate(pop_record(shape.max, key, (count != -1).then_some(n)));
        }
        return Ok(reply);
    }
    ctx.block_ms = Some(timeout_ms);
    Ok(Reply::NilArray)
}

fn bzpop(ctx: &mut Ctx, args: &[Bytes], max: bool) -> Result<Reply, Reply> {
    let last = args.len() - 1;
    let timeout = args::timeout_ms(&args[last])?;
    let shape = PopShape { max, emitkey: true, nested: false, nil_when_empty: false };
    blocking_zpop(ctx, &args[1..last], timeout, -1, shape)
}

fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(bzpop(ctx, args, false))
}

fn bzpopmax(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(bzpop(ctx, args, true))
}

/// `zmpopGenericCommand`: `[timeout] numkeys key... MIN|MAX [COUNT count]`.
fn zmpop_generic(ctx: &mut Ctx, args: &[Bytes], numkeys_idx: usize, block: bool) -> Result<Reply, Reply> {
    let numkeys = parse_i64_strict(&args[numkeys_idx])
        .filter(|&n| n >= 1)
        .ok_or_else(|| Reply::err("ERR numkeys should be greater than 0"))?;
    let where_idx = (numkeys_idx as u64).saturating_add(numkeys as u64).saturating_add(1);
    if where_idx >= args.len() as u64 {
        return Err(syntax());
    }
    let where_idx = where_idx as usize;
    let max = if is(&args[where_idx], "min") {
        false
    } else if is(&args[where_idx], "max") {
        true
    } else {
        return Err(syntax());
    };
    let mut count: i64 = -1;
    let mut j = where_idx + 1;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if count == -1 && is(&args[j], "count") && more > 0 {
            j += 1;
            count = parse_i64_strict(&args[j])
                .filter(|&n| n >= 1)
                .ok_or_else(|| Reply::err("ERR count should be greater than 0"))?;
        } else {
            return Err(syntax());
        }
        j += 1;
    }
    if count == -1 {
        count = 1;
    }
    let keys = &args[numkeys_idx + 1..where_idx];
    let shape = PopShape { max, emitkey: true, nested: true, nil_when_empty: true };
    if block {
        let timeout = args::timeout_ms(&args[1])?;
        return blocking_zpop(ctx, keys, timeout, count, shape);
    }
    let (reply, popped) = generic_zpop(ctx, keys, count, shape)?;
    if let Some((key, n)) = popped {
        ctx.propagate(pop_record(max, key, Some(n)));
    }
    Ok(reply)
}

fn zmpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zmpop_generic(ctx, args, 1, false))
}

fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zmpop_generic(ctx, args, 2, true))
}

// ---------------------------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF (and *STORE, ZINTERCARD)

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// An input of the set operations: sets count as sorted sets with every score 1.
#[derive(Clone, Copy)]
enum Src<'a> {
    Missing,
    Set(&'a SetValue),
    Z(&'a ZSet),
}

impl<'a> Src<'a> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Set(s) => s.len(),
            Src::Z(z) => z.len(),
        }
    }

    fn find(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Set(s) => s.contains(m).then_some(1.0),
            Src::Z(z) => z.score(m),
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = (&'a Bytes, f64)> + 'a> {
        match *self {
            Src::Missing => Box::new(std::iter::empty()),
            Src::Set(s) => Box::new(s.iter().map(|m| (m, 1.0))),
            Src::Z(z) => Box::new(z.entries()),
        }
    }
}

/// `zunionInterAggregate`.
#[inline]
fn aggregate(target: &mut f64, val: f64, agg: Aggregate) {
    match agg {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// `zunionInterDiffGenericCommand`.
fn zsetop(
    ctx: &mut Ctx,
    args: &[Bytes],
    name: &str,
    numkeys_idx: usize,
    store: bool,
    op: SetOp,
    cardinality_only: bool,
) -> Result<Reply, Reply> {
    let setnum = args::int(&args[numkeys_idx])?;
    if setnum < 1 {
        return Err(Reply::err(format!("ERR at least 1 input key is needed for '{name}' command")));
    }
    if setnum as u64 > (args.len() - (numkeys_idx + 1)) as u64 {
        return Err(syntax());
    }
    let setnum = setnum as usize;
    let keys = &args[numkeys_idx + 1..numkeys_idx + 1 + setnum];
    let now = ctx.now_ms;
    {
        let db = ctx.db();
        for k in keys {
            db.expire_if_needed(k, now);
            if let Some(e) = db.peek(k) {
                if !matches!(e.value, Value::ZSet(_) | Value::Set(_)) {
                    return Err(Reply::err(errors::WRONGTYPE));
                }
            }
        }
    }
    let mut weights = vec![1.0; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: u64 = 0;
    let mut j = numkeys_idx + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j][..];
        if op != SetOp::Diff && !cardinality_only && remaining > setnum && is(a, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = string2d(&args[j]).ok_or_else(|| Reply::err("ERR weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff && !cardinality_only && remaining >= 2 && is(a, "aggregate") {
            let v = &args[j + 1][..];
            agg = if is(v, "sum") {
                Aggregate::Sum
            } else if is(v, "min") {
                Aggregate::Min
            } else if is(v, "max") {
                Aggregate::Max
            } else {
                return Err(syntax());
            };
            j += 2;
        } else if !store && !cardinality_only && is(a, "withscores") {
            withscores = true;
            j += 1;
        } else if cardinality_only && remaining >= 2 && is(a, "limit") {
            let bad = || Reply::err("ERR LIMIT can't be negative");
            let v = parse_i64_strict(&args[j + 1]).ok_or_else(bad)?;
            if v < 0 {
                return Err(bad());
            }
            limit = v as u64;
            j += 2;
        } else {
            return Err(syntax());
        }
    }

    let (result, cardinality) = {
        let db: &Db = &ctx.ks.dbs[ctx.db];
        let mut srcs: Vec<(Src, f64)> = keys
            .iter()
            .zip(weights)
            .map(|(k, w)| {
                let src = match db.peek(k).map(|e| &e.value) {
                    Some(Value::ZSet(z)) => Src::Z(z),
                    Some(Value::Set(s)) => Src::Set(s),
                    _ => Src::Missing,
                };
                (src, w)
            })
            .collect();
        if op != SetOp::Diff {
            srcs.sort_by_key(|(s, _)| s.len());
        }
        let mut out: Vec<(Bytes, f64)> = Vec::new();
        let mut cardinality = 0u64;
        match op {
            SetOp::Inter => {
                let (first, w0) = srcs[0];
                for (m, s) in first.iter() {
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    let mut all = true;
                    for &(src, w) in &srcs[1..] {
                        match src.find(m) {
                            Some(v) => aggregate(&mut score, v * w, agg),
                            None => {
                                all = false;
                                break;
                            }
                        }
                    }
                    if !all {
                        continue;
                    }
                    if cardinality_only {
                        cardinality += 1;
                        if limit > 0 && cardinality >= limit {
                            break;
                        }
                    } else {
                        out.push((m.clone(), score));
                    }
                }
            }
            SetOp::Union => {
                let cap = srcs.last().map_or(0, |(s, _)| s.len());
                let mut acc: IndexMap<Bytes, f64, FastBuild> =
                    IndexMap::with_capacity_and_hasher(cap, FastBuild::default());
                for &(src, w) in &srcs {
                    for (m, s) in src.iter() {
                        let mut score = w * s;
                        if score.is_nan() {
                            score = 0.0;
                        }
                        match acc.get_mut(&m[..]) {
                            Some(t) => aggregate(t, score, agg),
                            None => {
                                acc.insert(m.clone(), score);
                            }
                        }
                    }
                }
                out = acc.into_iter().collect();
            }
            SetOp::Diff => {
                let first = srcs[0].0;
                // The first key repeated: nothing survives (`zsetChooseDiffAlgorithm` -> 0).
                if first.len() > 0 && !keys[1..].contains(&keys[0]) {
                    let others = &srcs[1..];
                    let algo_one = (first.len() as u64 * setnum as u64) / 2;
                    let algo_two: u64 = srcs.iter().map(|(s, _)| s.len() as u64).sum();
                    if algo_one <= algo_two {
                        for (m, s) in first.iter() {
                            if !others.iter().any(|(o, _)| o.find(m).is_some()) {
                                out.push((m.clone(), s));
                            }
                        }
                    } else {
                        let mut acc: IndexMap<Bytes, f64, FastBuild> =
                            first.iter().map(|(m, s)| (m.clone(), s)).collect();
                        for (o, _) in others {
                            for (m, _) in o.iter() {
                                acc.swap_remove(&m[..]);
                            }
                            if acc.is_empty() {
                                break;
                            }
                        }
                        out = acc.into_iter().collect();
                    }
                }
            }
        }
        (out, cardinality)
    };

    if cardinality_only {
        return Ok(Reply::Int(cardinality as i64));
    }
    if store {
        return Ok(store_result(ctx, &args[1], result, false));
    }
    let mut result = result;
    result.sort_unstable_by(|a, b| cmp_entries((&a.0, a.1), (&b.0, b.1)));
    Ok(reply_entries(result.iter().map(|(m, s)| (m, *s)), withscores))
}

fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zsetop(ctx, args, "zunionstore", 2, true, SetOp::Union, false))
}

fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zsetop(ctx, args, "zinterstore", 2, true, SetOp::Inter, false))
}

fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zsetop(ctx, args, "zdiffstore", 2, true, SetOp::Diff, false))
}

fn zunion(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zsetop(ctx, args, "zunion", 1, false, SetOp::Union, false))
}

fn zinter(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zsetop(ctx, args, "zinter", 1, false, SetOp::Inter, false))
}

fn zdiff(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zsetop(ctx, args, "zdiff", 1, false, SetOp::Diff, false))
}

fn zintercard(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zsetop(ctx, args, "zintercard", 1, false, SetOp::Inter, true))
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN

fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done(zrandmember_inner(ctx, args))
}

fn zrandmember_inner(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, Reply> {
    let now = ctx.now_ms;
    if args.len() >= 3 {
        let l = args::int(&args[2])?;
        if l == i64::MIN {
            return Err(Reply::err(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ));
        }
        if args.len() > 4 || (args.len() == 4 && !is(&args[3], "withscores")) {
            return Err(syntax());
        }
        let withscores = args.len() == 4;
        if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            return Err(Reply::err("ERR value is out of range"));
        }
        let db = &mut ctx.ks.dbs[ctx.db];
        let rng = &mut *ctx.rng;
        let Some(zs) = db.get_zset(&args[1], now)? else {
            return Ok(Reply::Array(Vec::new()));
        };
        let size = zs.len();
        let (count, uniq) = if l >= 0 { (l as u64, true) } else { (l.unsigned_abs(), false) };
        if count == 0 || size == 0 {
            return Ok(Reply::Array(Vec::new()));
        }
        let w = 1 + withscores as usize;
        if !uniq || count == 1 {
            // With repetitions: `count` independent uniform picks.
            if count > MAX_RANDOM_PICKS {
                return Err(Reply::err("ERR value is out of range"));
            }
            let mut out = Vec::with_capacity(count as usize * w);
            for _ in 0..count {
                if let Some((m, s)) = zs.entry_at(rng.gen_range(0..size)) {
                    out.push((m, s));
                }
            }
            return Ok(reply_entries(out.into_iter(), withscores));
        }
        if count >= size as u64 {
            // The whole set, as Redis walks it: from the highest element down.
            return Ok(reply_entries(zs.iter_rev(), withscores));
        }
        let picks = rand::seq::index::sample(rng, size, count as usize);
        return Ok(reply_entries(picks.into_iter().filter_map(|i| zs.entry_at(i)), withscores));
    }
    let db = &mut ctx.ks.dbs[ctx.db];
    let rng = &mut *ctx.rng;
    let Some(zs) = db.get_zset(&args[1], now)? else {
        return Ok(Reply::Nil);
    };
    if zs.is_empty() {
        return Ok(Reply::Nil);
    }
    Ok(zs.entry_at(rng.gen_range(0..zs.len())).map_or(Reply::Nil, |(m, _)| Reply::Bulk(m.clone())))
}

/// A score as a listpack holds it: integral values (within +-2^62) as integers, others
/// as `%.17g`.
fn listpack_score(s: f64) -> String {
    let lim = (i64::MAX / 2) as f64;
    if s.fract() == 0.0 && (-lim..=lim).contains(&s) {
        (s as i64).to_string()
    } else {
        fmt_g17(s)
    }
}

fn zscan(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    done((|| {
        let cursor = parse_cursor(&args[2])?;
        let Some(zs) = read_zset(ctx, &args[1])? else {
            return Ok(Reply::Array(vec![Reply::bulk(Bytes::from_static(b"0")), Reply::Array(Vec::new())]));
        };
        let (_, o) = parse_scan(args, 2, false)?;
        let pat = o.pattern.filter(|p| &p[..] != b"*");
        let keep = |m: &[u8]| pat.as_ref().is_none_or(|p| glob::matches(p, m, false));
        let mut out = Vec::new();
        let next = if zs.is_listpack() {
            // A listpack is returned whole, in order, with the cursor back at 0.
            for (m, s) in zs.iter() {
                if keep(m) {
                    out.push(Reply::Bulk(m.clone()));
                    out.push(Reply::bulk(listpack_score(s)));
                }
            }
            0
        } else {
            let (next, range) = scan_positions(zs.len(), cursor, o.count);
            for i in range {
                if let Some((m, s)) = zs.entry_at(i) {
                    if keep(m) {
                        out.push(Reply::Bulk(m.clone()));
                        out.push(Reply::bulk(fmt_g17(s)));
                    }
                }
            }
            next
        };
        Ok(Reply::Array(vec![Reply::bulk(next.to_string()), Reply::Array(out)]))
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis::testing::{arr, bulk, T};

    fn d(x: f64) -> Reply {
        Reply::Double(x)
    }

    fn err(s: &str) -> Reply {
        Reply::err(s.to_string())
    }

    /// A flat member/score array.
    /// WITHSCORES results: pairs (flat in RESP2, nested in RESP3).
    fn ws(items: &[(&str, f64)]) -> Reply {
        Reply::Pairs(items.iter().map(|(m, s)| (bulk(m), d(*s))).collect())
    }

    /// A flat member/score array in every protocol (ZPOPMIN without a count).
    fn flat(items: &[(&str, f64)]) -> Reply {
        Reply::Array(items.iter().flat_map(|(m, s)| [bulk(m), d(*s)]).collect())
    }

    /// Runs a command and returns the reply, what it logs instead of argv, and its block timeout.
    fn run_ctx(t: &mut T, parts: &[&str]) -> (Reply, Option<Vec<Vec<Bytes>>>, Option<u64>) {
        let args: Vec<Bytes> = parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect();
        let mut ctx = Ctx::new(&mut t.ks, t.db, t.now_ms, &mut t.rng);
        let r = crate::redis::run(&mut ctx, &args);
        (r, ctx.rewrite.take(), ctx.block_ms)
    }

    fn rec(parts: &[&str]) -> Option<Vec<Vec<Bytes>>> {
        Some(vec![parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect()])
    }

    fn setup(t: &mut T, key: &str, pairs: &[(f64, &str)]) {
        let mut cmd = vec!["ZADD".to_string(), key.to_string()];
        for (s, m) in pairs {
            cmd.push(fmt_g17(*s));
            cmd.push(m.to_string());
        }
        let refs: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
        assert!(matches!(t.cmd(&refs), Reply::Int(_)));
    }

    fn big(t: &mut T, key: &str, n: usize) {
        for i in 0..n {
            t.cmd(&["ZADD", key, &i.to_string(), &format!("m{i:04}")]);
        }
    }

    fn put_set(t: &mut T, key: &str, members: &[&str]) {
        let s: SetValue = members.iter().map(|m| Bytes::copy_from_slice(m.as_bytes())).collect();
        t.ks.dbs[0].set(Bytes::copy_from_slice(key.as_bytes()), Value::Set(s));
    }

    #[test]
    fn zadd_options_and_errors() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["ZADD", "z", "1", "a", "2", "b"]), Reply::Int(2));
        assert_eq!(t.cmd(&["ZADD", "z", "3", "a", "4", "c"]), Reply::Int(1));
        assert_eq!(t.cmd(&["ZADD", "z", "CH", "5", "a", "4", "c", "1", "d"]), Reply::Int(2));
        assert_eq!(t.cmd(&["ZADD", "z", "NX", "9", "a", "1", "e"]), Reply::Int(1));
        assert_eq!(t.cmd(&["ZSCORE", "z", "a"]), d(5.0));
        assert_eq!(t.cmd(&["ZADD", "z", "XX", "CH", "9", "a", "1", "f"]), Reply::Int(1));
        assert_eq!(t.cmd(&["ZSCORE", "z", "f"]), Reply::Nil);
        assert_eq!(t.cmd(&["ZADD", "z", "GT", "CH", "1", "a", "10", "b"]), Reply::Int(1));
        assert_eq!(t.cmd(&["ZADD", "z", "LT", "CH", "1", "a", "20", "b"]), Reply::Int(1));
        assert_eq!(t.cmd(&["ZMSCORE", "z", "a", "b", "nope"]), Reply::Array(vec![d(1.0), d(10.0), Reply::Nil]));
        assert_eq!(t.cmd(&["ZADD", "z", "GT", "1", "new"]), Reply::Int(1));
        // INCR
        assert_eq!(t.cmd(&["ZADD", "z", "INCR", "2.5", "a"]), d(3.5));
        assert_eq!(t.cmd(&["ZADD", "z", "NX", "INCR", "1", "a"]), Reply::Nil);
        assert_eq!(t.cmd(&["ZADD", "z", "GT", "INCR", "-1", "a"]), Reply::Nil);
        assert_eq!(t.cmd(&["ZADD", "z", "INCR", "0", "a"]), d(3.5));
        assert_eq!(t.cmd(&["ZADD", "z", "XX", "INCR", "1", "zz"]), Reply::Nil);
        // missing key with XX creates nothing
        assert_eq!(t.cmd(&["ZADD", "nokey", "XX", "1", "a"]), Reply::Int(0));
        assert_eq!(t.cmd(&["ZADD", "nokey", "XX", "INCR", "1", "a"]), Reply::Nil);
        assert_eq!(t.cmd(&["EXISTS", "nokey"]), Reply::Int(0));
        // errors, in Redis's order
        assert_eq!(t.cmd(&["ZADD", "z", "1"]), Reply::err(errors::wrong_args("zadd")));
        assert_eq!(t.cmd(&["ZADD", "z", "NX", "1"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZADD", "z", "NX", "1", "a", "2"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZADD", "z", "NX"]), Reply::err(errors::wrong_args("zadd")));
        assert_eq!(
            t.cmd(&["ZADD", "z", "NX", "XX", "1", "a"]),
            err("ERR XX and NX options at the same time are not compatible")
        );
        assert_eq!(
            t.cmd(&["ZADD", "z", "GT", "LT", "1", "a"]),
            err("ERR GT, LT, and/or NX options at the same time are not compatible")
        );
        assert_eq!(
            t.cmd(&["ZADD", "z", "NX", "GT", "1", "a"]),
            err("ERR GT, LT, and/or NX options at the same time are not compatible")
        );
        assert_eq!(
            t.cmd(&["ZADD", "z", "INCR", "1", "a", "2", "b"]),
            err("ERR INCR option supports a single increment-element pair")
        );
        assert_eq!(t.cmd(&["ZADD", "z", "x", "a"]), err("ERR value is not a valid float"));
        assert_eq!(t.cmd(&["ZADD", "z", "1", "a", "nan", "b"]), err("ERR value is not a valid float"));
        assert_eq!(t.cmd(&["ZADD", "z", "1e400", "a"]), err("ERR value is not a valid float"));
        assert_eq!(t.cmd(&["ZADD", "z", " 1", "a"]), err("ERR value is not a valid float"));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["ZADD", "s", "1", "a"]), Reply::err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["ZADD", "s", "x", "a"]), err("ERR value is not a valid float"));
        // NaN
        assert_eq!(t.cmd(&["ZADD", "n", "inf", "a"]), Reply::Int(1));
        assert_eq!(t.cmd(&["ZADD", "n", "INCR", "-inf", "a"]), err("ERR resulting score is not a number (NaN)"));
        assert_eq!(t.cmd(&["ZINCRBY", "n", "-inf", "a"]), err("ERR resulting score is not a number (NaN)"));
        assert_eq!(t.cmd(&["ZSCORE", "n", "a"]), d(f64::INFINITY));
        // hex and exponents as strtod reads them
        assert_eq!(t.cmd(&["ZADD", "h", "0x10", "a", "1e2", "b", "-.5", "c"]), Reply::Int(3));
        assert_eq!(t.cmd(&["ZMSCORE", "h", "a", "b", "c"]), Reply::Array(vec![d(16.0), d(100.0), d(-0.5)]));
    }

    #[test]
    fn zincrby_and_negative_zero() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["ZINCRBY", "z", "2", "a"]), d(2.0));
        assert_eq!(t.cmd(&["ZINCRBY", "z", "-0.5", "a"]), d(1.5));
        assert_eq!(t.cmd(&["ZINCRBY", "z", "x", "a"]), err("ERR value is not a valid float"));
        assert_eq!(t.cmd(&["ZINCRBY", "z", "nx", "a"]), err("ERR syntax error"));
        t.cmd(&["ZADD", "z", "-0", "zero"]);
        let Reply::Double(v) = t.cmd(&["ZSCORE", "z", "zero"]) else { panic!() };
        assert!(v == 0.0 && v.is_sign_positive(), "listpack-sized sets store -0 as 0");
    }

    #[test]
    fn zrem_zcard_zscore_and_key_deletion() {
        let mut t = T::new();
        setup(&mut t, "z", &[(1.0, "a"), (2.0, "b"), (3.0, "c")]);
        let dirty = t.ks.dirty;
        assert_eq!(t.cmd(&["ZREM", "z", "a", "x", "a"]), Reply::Int(1));
        assert_eq!(t.ks.dirty, dirty + 1);
        assert_eq!(t.cmd(&["ZREM", "z", "x"]), Reply::Int(0));
        assert_eq!(t.ks.dirty, dirty + 1);
        assert_eq!(t.cmd(&["ZCARD", "z"]), Reply::Int(2));
        assert_eq!(t.cmd(&["ZREM", "z", "b", "c", "d"]), Reply::Int(2));
        assert_eq!(t.cmd(&["EXISTS", "z"]), Reply::Int(0));
        assert_eq!(t.cmd(&["ZCARD", "z"]), Reply::Int(0));
        assert_eq!(t.cmd(&["ZSCORE", "z", "a"]), Reply::Nil);
        assert_eq!(t.cmd(&["ZMSCORE", "z", "a", "b"]), Reply::Array(vec![Reply::Nil, Reply::Nil]));
        assert_eq!(t.cmd(&["ZREM", "z", "a"]), Reply::Int(0));
        t.cmd(&["SET", "s", "v"]);
        for c in [
            &["ZREM", "s", "a"][..],
            &["ZCARD", "s"],
            &["ZSCORE", "s", "a"],
            &["ZMSCORE", "s", "a"],
            &["ZRANK", "s", "a"],
        ] {
            assert_eq!(t.cmd(c), Reply::err(errors::WRONGTYPE), "{c:?}");
        }
    }

    #[test]
    fn ranks() {
        for n in [3usize, 300] {
            let mut t = T::new();
            big(&mut t, "z", n);
            assert_eq!(t.cmd(&["ZRANK", "z", "m0000"]), Reply::Int(0));
            assert_eq!(t.cmd(&["ZRANK", "z", "m0002"]), Reply::Int(2));
            assert_eq!(t.cmd(&["ZREVRANK", "z", "m0002"]), Reply::Int(n as i64 - 3));
            assert_eq!(t.cmd(&["ZRANK", "z", "zz"]), Reply::Nil);
            assert_eq!(t.cmd(&["ZRANK", "nokey", "zz"]), Reply::Nil);
        }
        let mut t = T::new();
        assert_eq!(t.cmd(&["ZRANK", "z", "a", "WITHSCORE"]), Reply::err(errors::wrong_args("zrank")));
    }

    #[test]
    fn zcount_and_score_range_parsing() {
        let mut t = T::new();
        setup(&mut t, "z", &[(1.0, "a"), (2.0, "b"), (3.0, "c"), (f64::INFINITY, "i"), (0.0, "z")]);
        assert_eq!(t.cmd(&["ZCOUNT", "z", "-inf", "+inf"]), Reply::Int(5));
        assert_eq!(t.cmd(&["ZCOUNT", "z", "1", "3"]), Reply::Int(3));
        assert_eq!(t.cmd(&["ZCOUNT", "z", "(1", "3"]), Reply::Int(2));
        assert_eq!(t.cmd(&["ZCOUNT", "z", "(1", "(3"]), Reply::Int(1));
        assert_eq!(t.cmd(&["ZCOUNT", "z", "3", "1"]), Reply::Int(0));
        assert_eq!(t.cmd(&["ZCOUNT", "z", "(2", "(2"]), Reply::Int(0));
        assert_eq!(t.cmd(&["ZCOUNT", "z", "inf", "inf"]), Reply::Int(1));
        // strtod: leading spaces, hex, and an empty string (0) are accepted
        assert_eq!(t.cmd(&["ZCOUNT", "z", " 1", "0x2"]), Reply::Int(2));
        assert_eq!(t.cmd(&["ZCOUNT", "z", "", "("]), Reply::Int(0));
        assert_eq!(t.cmd(&["ZCOUNT", "z", "", ""]), Reply::Int(1));
        assert_eq!(t.cmd(&["ZCOUNT", "z", "1e400", "1e400"]), Reply::Int(1));
        for bad in ["x", "1 ", "nan", "(nan", "-", "1x"] {
            assert_eq!(t.cmd(&["ZCOUNT", "z", bad, "1"]), err("ERR min or max is not a float"), "{bad}");
        }
        assert_eq!(t.cmd(&["ZCOUNT", "nokey", "x", "1"]), err("ERR min or max is not a float"));
        assert_eq!(t.cmd(&["ZCOUNT", "nokey", "0", "1"]), Reply::Int(0));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["ZCOUNT", "s", "0", "1"]), Reply::err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["ZCOUNT", "s", "x", "1"]), err("ERR min or max is not a float"));
    }

    #[test]
    fn lex_commands() {
        for extra in [0usize, 200] {
            let mut t = T::new();
            setup(&mut t, "z", &[(0.0, "a"), (0.0, "b"), (0.0, "c"), (0.0, "d"), (0.0, "e")]);
            for i in 0..extra {
                t.cmd(&["ZADD", "z", "0", &format!("f{i:03}")]);
            }
            let n = 5 + extra as i64;
            assert_eq!(t.cmd(&["ZLEXCOUNT", "z", "-", "+"]), Reply::Int(n));
            assert_eq!(t.cmd(&["ZLEXCOUNT", "z", "[b", "[d"]), Reply::Int(3));
            assert_eq!(t.cmd(&["ZLEXCOUNT", "z", "(b", "(d"]), Reply::Int(1));
            assert_eq!(t.cmd(&["ZLEXCOUNT", "z", "+", "-"]), Reply::Int(0));
            assert_eq!(t.cmd(&["ZLEXCOUNT", "z", "[d", "[b"]), Reply::Int(0));
            assert_eq!(t.cmd(&["ZRANGEBYLEX", "z", "[b", "(d"]), arr(&["b", "c"]));
            assert_eq!(t.cmd(&["ZRANGEBYLEX", "z", "-", "[c", "LIMIT", "1", "5"]), arr(&["b", "c"]));
            assert_eq!(t.cmd(&["ZREVRANGEBYLEX", "z", "[d", "[b"]), arr(&["d", "c", "b"]));
            assert_eq!(t.cmd(&["ZREVRANGEBYLEX", "z", "(d", "-", "LIMIT", "1", "1"]), arr(&["b"]));
            assert_eq!(t.cmd(&["ZRANGE", "z", "(a", "[c", "BYLEX"]), arr(&["b", "c"]));
            assert_eq!(t.cmd(&["ZRANGE", "z", "[c", "(a", "BYLEX", "REV"]), arr(&["c", "b"]));
            assert_eq!(t.cmd(&["ZRANGEBYLEX", "z", "[b", "[c", "LIMIT", "-1", "5"]), arr(&[]));
            assert_eq!(t.cmd(&["ZRANGEBYLEX", "z", "[b", "[c", "LIMIT", "0", "0"]), arr(&[]));
            assert_eq!(t.cmd(&["ZREMRANGEBYLEX", "z", "[b", "(d"]), Reply::Int(2));
            assert_eq!(t.cmd(&["ZRANGEBYLEX", "z", "-", "[e"]), arr(&["a", "d", "e"]));
            for bad in ["a", "", "+x", "-x"] {
                assert_eq!(t.cmd(&["ZLEXCOUNT", "z", bad, "+"]), err("ERR min or max not valid string range item"));
                assert_eq!(t.cmd(&["ZRANGEBYLEX", "z", "-", bad]), err("ERR min or max not valid string range item"));
                assert_eq!(
                    t.cmd(&["ZREMRANGEBYLEX", "z", bad, "+"]),
                    err("ERR min or max not valid string range item")
                );
            }
            assert_eq!(
                t.cmd(&["ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"]),
                err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
            );
        }
    }

    #[test]
    fn lex_on_mixed_scores_follows_listpack_scan() {
        // Not a valid lex use, but Redis's listpack answers deterministically: first element
        // >= min in set order, then elements while <= max.
        let mut t = T::new();
        setup(&mut t, "z", &[(1.0, "c"), (2.0, "a"), (3.0, "b"), (4.0, "d")]);
        assert_eq!(t.cmd(&["ZRANGEBYLEX", "z", "[b", "[c"]), arr(&["c", "a", "b"]));
        assert_eq!(t.cmd(&["ZRANGEBYLEX", "z", "[a", "[c"]), arr(&["c", "a", "b"]));
        assert_eq!(t.cmd(&["ZLEXCOUNT", "z", "[a", "[c"]), Reply::Int(3));
        assert_eq!(t.cmd(&["ZREVRANGEBYLEX", "z", "[c", "[a"]), arr(&["b", "a", "c"]));
    }

    #[test]
    fn zrange_by_rank() {
        for extra in [0usize, 200] {
            let mut t = T::new();
            setup(&mut t, "z", &[(1.0, "a"), (2.0, "b"), (3.0, "c")]);
            for i in 0..extra {
                t.cmd(&["ZADD", "z", "10", &format!("x{i:03}")]);
            }
            let last = format!("x{:03}", extra.saturating_sub(1));
            assert_eq!(t.cmd(&["ZRANGE", "z", "0", "2"]), arr(&["a", "b", "c"]));
            assert_eq!(t.cmd(&["ZRANGE", "z", "1", "1", "WITHSCORES"]), ws(&[("b", 2.0)]));
            assert_eq!(t.cmd(&["ZRANGE", "z", "-10000", "0"]), arr(&["a"]));
            assert_eq!(t.cmd(&["ZRANGE", "z", "2", "1"]), arr(&[]));
            assert_eq!(t.cmd(&["ZRANGE", "z", "5000", "6000"]), arr(&[]));
            assert_eq!(t.cmd(&["ZREVRANGE", "z", "-3", "-1"]), arr(&["c", "b", "a"]));
            if extra > 0 {
                assert_eq!(t.cmd(&["ZRANGE", "z", "-1", "-1"]), arr(&[&last]));
                assert_eq!(t.cmd(&["ZREVRANGE", "z", "0", "0"]), arr(&[&last]));
                let Reply::Array(all) = t.cmd(&["ZRANGE", "z", "0", "-1"]) else { panic!() };
                assert_eq!(all.len(), 3 + extra);
            }
            if extra == 0 {
                assert_eq!(t.cmd(&["ZRANGE", "z", "0", "1", "REV", "WITHSCORES"]), ws(&[("c", 3.0), ("b", 2.0)]));
            }
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"]),
                err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
            );
            // LIMIT with the default count -1 is accepted, as in Redis
            assert_eq!(t.cmd(&["ZRANGE", "z", "0", "0", "LIMIT", "5", "-1"]), arr(&["a"]));
            assert_eq!(t.cmd(&["ZRANGE", "z", "a", "1"]), err("ERR value is not an integer or out of range"));
            assert_eq!(t.cmd(&["ZRANGE", "z", "0", "1", "FOO"]), err("ERR syntax error"));
            assert_eq!(t.cmd(&["ZRANGE", "z", "0", "1", "REV", "REV"]), err("ERR syntax error"));
            assert_eq!(t.cmd(&["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"]), err("ERR syntax error"));
            assert_eq!(t.cmd(&["ZREVRANGE", "z", "0", "1", "REV"]), err("ERR syntax error"));
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "0", "1", "LIMIT", "x", "1", "FOO"]),
                err("ERR value is not an integer or out of range")
            );
            assert_eq!(t.cmd(&["ZRANGE", "nokey", "0", "-1"]), arr(&[]));
        }
    }

    #[test]
    fn zrange_by_score() {
        for extra in [0usize, 200] {
            let mut t = T::new();
            setup(&mut t, "z", &[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")]);
            for i in 0..extra {
                t.cmd(&["ZADD", "z", "100", &format!("x{i:03}")]);
            }
            assert_eq!(t.cmd(&["ZRANGEBYSCORE", "z", "2", "3"]), arr(&["b", "c"]));
            assert_eq!(
                t.cmd(&["ZRANGEBYSCORE", "z", "(1", "4", "WITHSCORES"]),
                ws(&[("b", 2.0), ("c", 3.0), ("d", 4.0)])
            );
            assert_eq!(t.cmd(&["ZRANGEBYSCORE", "z", "-inf", "4", "LIMIT", "1", "2"]), arr(&["b", "c"]));
            assert_eq!(t.cmd(&["ZRANGEBYSCORE", "z", "-inf", "4", "LIMIT", "3", "-5"]), arr(&["d"]));
            assert_eq!(t.cmd(&["ZRANGEBYSCORE", "z", "-inf", "4", "LIMIT", "-1", "2"]), arr(&[]));
            assert_eq!(t.cmd(&["ZRANGEBYSCORE", "z", "-inf", "4", "LIMIT", "9999", "2"]), arr(&[]));
            assert_eq!(t.cmd(&["ZREVRANGEBYSCORE", "z", "3", "1"]), arr(&["c", "b", "a"]));
            assert_eq!(t.cmd(&["ZREVRANGEBYSCORE", "z", "(4", "-inf", "LIMIT", "1", "1"]), arr(&["b"]));
            assert_eq!(t.cmd(&["ZREVRANGEBYSCORE", "z", "4", "-inf", "LIMIT", "3", "10"]), arr(&["a"]));
            assert_eq!(t.cmd(&["ZREVRANGEBYSCORE", "z", "4", "-inf", "LIMIT", "4", "10"]), arr(&[]));
            assert_eq!(t.cmd(&["ZRANGE", "z", "(1", "(4", "BYSCORE"]), arr(&["b", "c"]));
            assert_eq!(
                t.cmd(&["ZRANGE", "z", "(4", "(1", "BYSCORE", "REV", "WITHSCORES"]),
                ws(&[("c", 3.0), ("b", 2.0)])
            );
            assert_eq!(t.cmd(&["ZRANGE", "z", "4", "1", "BYSCORE"]), arr(&[]));
            assert_eq!(t.cmd(&["ZRANGEBYSCORE", "z", "x", "1"]), err("ERR min or max is not a float"));
            assert_eq!(t.cmd(&["ZRANGEBYSCORE", "z", "1", "2", "REV"]), err("ERR syntax error"));
            assert_eq!(t.cmd(&["ZRANGEBYSCORE", "z", "1", "2", "BYSCORE"]), err("ERR syntax error"));
            assert_eq!(t.cmd(&["ZRANGEBYSCORE", "z", "1", "2", "LIMIT", "1"]), err("ERR syntax error"));
            if extra > 0 {
                let Reply::Array(v) = t.cmd(&["ZRANGEBYSCORE", "z", "100", "100", "LIMIT", "10", "5"]) else {
                    panic!()
                };
                assert_eq!(v, arr(&["x010", "x011", "x012", "x013", "x014"]).into_array());
                assert_eq!(t.cmd(&["ZCOUNT", "z", "(4", "+inf"]), Reply::Int(extra as i64));
            }
        }
    }

    trait IntoArray {
        fn into_array(self) -> Vec<Reply>;
    }

    impl IntoArray for Reply {
        fn into_array(self) -> Vec<Reply> {
            match self {
                Reply::Array(v) => v,
                _ => panic!("not an array"),
            }
        }
    }

    #[test]
    fn zrangestore() {
        let mut t = T::new();
        setup(&mut t, "src", &[(1.0, "a"), (2.0, "b"), (3.0, "c")]);
        assert_eq!(t.cmd(&["ZRANGESTORE", "dst", "src", "0", "1"]), Reply::Int(2));
        assert_eq!(t.cmd(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"]), ws(&[("a", 1.0), ("b", 2.0)]));
        assert_eq!(t.cmd(&["ZRANGESTORE", "dst", "src", "(1", "+inf", "BYSCORE", "LIMIT", "1", "1"]), Reply::Int(1));
        assert_eq!(t.cmd(&["ZRANGE", "dst", "0", "-1"]), arr(&["c"]));
        assert_eq!(t.cmd(&["ZRANGESTORE", "dst", "src", "[c", "-", "BYLEX", "REV"]), Reply::Int(3));
        assert_eq!(t.cmd(&["ZRANGESTORE", "dst", "src", "0", "-1", "WITHSCORES"]), err("ERR syntax error"));
        // an empty result deletes the destination, whatever it held
        t.cmd(&["SET", "dst2", "x"]);
        t.cmd(&["EXPIRE", "dst", "100"]);
        assert_eq!(t.cmd(&["ZRANGESTORE", "dst", "src", "5", "6"]), Reply::Int(0));
        assert_eq!(t.cmd(&["EXISTS", "dst"]), Reply::Int(0));
        assert_eq!(t.cmd(&["ZRANGESTORE", "dst2", "nosrc", "0", "-1"]), Reply::Int(0));
        assert_eq!(t.cmd(&["EXISTS", "dst2"]), Reply::Int(0));
        // overwrites other types and clears the TTL
        t.cmd(&["SET", "dst3", "x"]);
        t.cmd(&["EXPIRE", "dst3", "100"]);
        assert_eq!(t.cmd(&["ZRANGESTORE", "dst3", "src", "0", "0"]), Reply::Int(1));
        assert_eq!(t.cmd(&["TTL", "dst3"]), Reply::Int(-1));
        assert_eq!(t.cmd(&["TYPE", "dst3"]), Reply::simple("zset"));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["ZRANGESTORE", "dst", "s", "0", "-1"]), Reply::err(errors::WRONGTYPE));
        assert!(t.ks.ready_keys.iter().any(|(_, k)| &k[..] == b"dst3"));
    }

    #[test]
    fn zremrange() {
        for extra in [0usize, 200] {
            let mut t = T::new();
            let reset = |t: &mut T| {
                t.cmd(&["DEL", "z"]);
                setup(t, "z", &[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d"), (5.0, "e")]);
                for i in 0..extra {
                    t.cmd(&["ZADD", "z", "100", &format!("x{i:03}")]);
                }
            };
            reset(&mut t);
            assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "z", "1", "2"]), Reply::Int(2));
            assert_eq!(t.cmd(&["ZRANGE", "z", "0", "2"]), arr(&["a", "d", "e"]));
            assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "z", "10000", "20000"]), Reply::Int(0));
            assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "z", "-1", "-2"]), Reply::Int(0));
            assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "z", "-10000", "0"]), Reply::Int(1));
            assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "z", "0", "-1"]), Reply::Int(2 + extra as i64));
            assert_eq!(t.cmd(&["EXISTS", "z"]), Reply::Int(0));
            reset(&mut t);
            assert_eq!(t.cmd(&["ZREMRANGEBYSCORE", "z", "(1", "3"]), Reply::Int(2));
            assert_eq!(t.cmd(&["ZREMRANGEBYSCORE", "z", "10", "1"]), Reply::Int(0));
            assert_eq!(t.cmd(&["ZREMRANGEBYSCORE", "z", "-inf", "+inf"]), Reply::Int(3 + extra as i64));
            assert_eq!(t.cmd(&["EXISTS", "z"]), Reply::Int(0));
            assert_eq!(t.cmd(&["ZREMRANGEBYSCORE", "z", "x", "1"]), err("ERR min or max is not a float"));
            assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "z", "x", "1"]), err("ERR value is not an integer or out of range"));
            assert_eq!(t.cmd(&["ZREMRANGEBYRANK", "z", "0", "1"]), Reply::Int(0));
        }
    }

    #[test]
    fn zpop() {
        let mut t = T::new();
        setup(&mut t, "z", &[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")]);
        assert_eq!(t.cmd(&["ZPOPMIN", "z"]), flat(&[("a", 1.0)]));
        assert_eq!(t.cmd(&["ZPOPMAX", "z"]), flat(&[("d", 4.0)]));
        assert_eq!(t.cmd(&["ZPOPMIN", "z", "0"]), arr(&[]));
        assert_eq!(t.cmd(&["ZPOPMAX", "z", "10"]), ws(&[("c", 3.0), ("b", 2.0)]));
        assert_eq!(t.cmd(&["EXISTS", "z"]), Reply::Int(0));
        assert_eq!(t.cmd(&["ZPOPMIN", "z"]), arr(&[]));
        assert_eq!(t.cmd(&["ZPOPMIN", "z", "-1"]), err("ERR value is out of range, must be positive"));
        assert_eq!(t.cmd(&["ZPOPMIN", "z", "x"]), err("ERR value is out of range, must be positive"));
        assert_eq!(t.cmd(&["ZPOPMIN", "z", "1", "2"]), err("ERR syntax error"));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["ZPOPMIN", "s"]), Reply::err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["ZPOPMIN", "s", "0"]), Reply::err(errors::WRONGTYPE));
        // deterministic: logged as is
        setup(&mut t, "z", &[(1.0, "a")]);
        let (r, log, block) = run_ctx(&mut t, &["ZPOPMIN", "z"]);
        assert_eq!((r, log, block), (flat(&[("a", 1.0)]), None, None));
    }

    #[test]
    fn bzpop() {
        let mut t = T::new();
        let (r, log, block) = run_ctx(&mut t, &["BZPOPMIN", "z1", "z2", "1.5"]);
        assert_eq!((r, log, block), (Reply::NilArray, None, Some(1500)));
        setup(&mut t, "z2", &[(1.0, "a"), (2.0, "b")]);
        let (r, log, block) = run_ctx(&mut t, &["BZPOPMIN", "z1", "z2", "0"]);
        assert_eq!(r, Reply::Array(vec![bulk("z2"), bulk("a"), d(1.0)]));
        assert_eq!(log, rec(&["ZPOPMIN", "z2"]));
        assert_eq!(block, None);
        let (r, log, _) = run_ctx(&mut t, &["BZPOPMAX", "z2", "0"]);
        assert_eq!(r, Reply::Array(vec![bulk("z2"), bulk("b"), d(2.0)]));
        assert_eq!(log, rec(&["ZPOPMAX", "z2"]));
        assert_eq!(t.cmd(&["EXISTS", "z2"]), Reply::Int(0));
        assert_eq!(t.cmd(&["BZPOPMIN", "z", "x"]), err("ERR timeout is not a float or out of range"));
        assert_eq!(t.cmd(&["BZPOPMIN", "z", "-1"]), err("ERR timeout is negative"));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["BZPOPMIN", "s", "0"]), Reply::err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["BZPOPMIN", "s", "x"]), err("ERR timeout is not a float or out of range"));
        // a non-empty key before a wrong-type one wins
        setup(&mut t, "z", &[(1.0, "a")]);
        assert_eq!(t.cmd(&["BZPOPMIN", "z", "s", "0"]), Reply::Array(vec![bulk("z"), bulk("a"), d(1.0)]));
    }

    #[test]
    fn zmpop_and_bzmpop() {
        let mut t = T::new();
        setup(&mut t, "z2", &[(1.0, "a"), (2.0, "b"), (3.0, "c")]);
        let nested = |key: &str, items: &[(&str, f64)]| {
            Reply::Array(vec![
                bulk(key),
                Reply::Array(items.iter().map(|(m, s)| Reply::Array(vec![bulk(m), d(*s)])).collect()),
            ])
        };
        let (r, log, _) = run_ctx(&mut t, &["ZMPOP", "2", "z1", "z2", "MIN"]);
        assert_eq!(r, nested("z2", &[("a", 1.0)]));
        assert_eq!(log, rec(&["ZPOPMIN", "z2", "1"]));
        let (r, log, _) = run_ctx(&mut t, &["ZMPOP", "2", "z1", "z2", "max", "COUNT", "10"]);
        assert_eq!(r, nested("z2", &[("c", 3.0), ("b", 2.0)]));
        assert_eq!(log, rec(&["ZPOPMAX", "z2", "2"]));
        assert_eq!(t.cmd(&["ZMPOP", "2", "z1", "z2", "MIN"]), Reply::NilArray);
        assert_eq!(t.cmd(&["ZMPOP", "0", "z1", "MIN"]), err("ERR numkeys should be greater than 0"));
        assert_eq!(t.cmd(&["ZMPOP", "x", "z1", "MIN"]), err("ERR numkeys should be greater than 0"));
        assert_eq!(t.cmd(&["ZMPOP", "5", "z1", "MIN"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZMPOP", "9223372036854775807", "z1", "MIN"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZMPOP", "1", "z1", "MID"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZMPOP", "1", "z1", "MIN", "COUNT", "0"]), err("ERR count should be greater than 0"));
        assert_eq!(t.cmd(&["ZMPOP", "1", "z1", "MIN", "COUNT", "1", "COUNT", "1"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZMPOP", "1", "z1", "MIN", "COUNT"]), err("ERR syntax error"));
        // blocking variant
        let (r, log, block) = run_ctx(&mut t, &["BZMPOP", "0.01", "1", "z1", "MIN"]);
        assert_eq!((r, log, block), (Reply::NilArray, None, Some(10)));
        setup(&mut t, "z1", &[(5.0, "e"), (6.0, "f")]);
        let (r, log, block) = run_ctx(&mut t, &["BZMPOP", "0", "2", "z0", "z1", "MIN", "COUNT", "5"]);
        assert_eq!(r, nested("z1", &[("e", 5.0), ("f", 6.0)]));
        assert_eq!(log, rec(&["ZPOPMIN", "z1", "2"]));
        assert_eq!(block, None);
        assert_eq!(t.cmd(&["BZMPOP", "x", "1", "z1", "MIN"]), err("ERR timeout is not a float or out of range"));
        assert_eq!(t.cmd(&["BZMPOP", "0", "0", "z1", "MIN"]), err("ERR numkeys should be greater than 0"));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["ZMPOP", "1", "s", "MIN"]), Reply::err(errors::WRONGTYPE));
    }

    #[test]
    fn set_operations() {
        let mut t = T::new();
        setup(&mut t, "a", &[(1.0, "x"), (2.0, "y"), (3.0, "z")]);
        setup(&mut t, "b", &[(10.0, "y"), (20.0, "z"), (30.0, "w")]);
        put_set(&mut t, "s", &["z", "q"]);
        assert_eq!(
            t.cmd(&["ZUNION", "2", "a", "b", "WITHSCORES"]),
            ws(&[("x", 1.0), ("y", 12.0), ("z", 23.0), ("w", 30.0)])
        );
        assert_eq!(
            t.cmd(&["ZUNION", "2", "a", "b", "WEIGHTS", "2", "0.5", "AGGREGATE", "MAX", "WITHSCORES"]),
            ws(&[("x", 2.0), ("y", 5.0), ("z", 10.0), ("w", 15.0)])
        );
        assert_eq!(t.cmd(&["ZINTER", "2", "a", "b", "AGGREGATE", "min", "WITHSCORES"]), ws(&[("y", 2.0), ("z", 3.0)]));
        assert_eq!(t.cmd(&["ZINTER", "3", "a", "b", "s", "WITHSCORES"]), ws(&[("z", 24.0)]));
        assert_eq!(t.cmd(&["ZUNION", "2", "s", "nokey"]), arr(&["q", "z"]));
        assert_eq!(t.cmd(&["ZINTER", "2", "a", "nokey"]), arr(&[]));
        assert_eq!(t.cmd(&["ZDIFF", "2", "a", "b", "WITHSCORES"]), ws(&[("x", 1.0)]));
        assert_eq!(t.cmd(&["ZDIFF", "3", "b", "a", "s"]), arr(&["w"]));
        assert_eq!(t.cmd(&["ZDIFF", "2", "a", "a"]), arr(&[]));
        assert_eq!(t.cmd(&["ZDIFF", "1", "a"]), arr(&["x", "y", "z"]));
        assert_eq!(t.cmd(&["ZINTERCARD", "2", "a", "b"]), Reply::Int(2));
        assert_eq!(t.cmd(&["ZINTERCARD", "2", "a", "b", "LIMIT", "1"]), Reply::Int(1));
        assert_eq!(t.cmd(&["ZINTERCARD", "2", "a", "b", "LIMIT", "0"]), Reply::Int(2));
        assert_eq!(t.cmd(&["ZINTERCARD", "2", "a", "b", "LIMIT", "-1"]), err("ERR LIMIT can't be negative"));
        assert_eq!(t.cmd(&["ZINTERCARD", "2", "a", "b", "LIMIT", "x"]), err("ERR LIMIT can't be negative"));
        assert_eq!(t.cmd(&["ZINTERCARD", "2", "a", "b", "WITHSCORES"]), err("ERR syntax error"));
        // inf * 0 is NaN: Redis makes it 0; inf + -inf likewise
        setup(&mut t, "inf", &[(f64::INFINITY, "x")]);
        setup(&mut t, "ninf", &[(f64::NEG_INFINITY, "x")]);
        assert_eq!(t.cmd(&["ZUNION", "1", "inf", "WEIGHTS", "0", "WITHSCORES"]), ws(&[("x", 0.0)]));
        assert_eq!(t.cmd(&["ZUNION", "2", "inf", "ninf", "WITHSCORES"]), ws(&[("x", 0.0)]));
        assert_eq!(t.cmd(&["ZINTER", "2", "inf", "ninf", "WITHSCORES"]), ws(&[("x", 0.0)]));
        // errors, in Redis's order
        assert_eq!(t.cmd(&["ZUNION", "0", "a"]), err("ERR at least 1 input key is needed for 'zunion' command"));
        assert_eq!(
            t.cmd(&["ZUNIONSTORE", "d", "0", "a"]),
            err("ERR at least 1 input key is needed for 'zunionstore' command")
        );
        assert_eq!(
            t.cmd(&["ZINTERCARD", "-1", "a"]),
            err("ERR at least 1 input key is needed for 'zintercard' command")
        );
        assert_eq!(t.cmd(&["ZUNION", "x", "a"]), err("ERR value is not an integer or out of range"));
        assert_eq!(t.cmd(&["ZUNION", "3", "a", "b"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZUNION", "2", "a", "b", "WEIGHTS", "1"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"]), err("ERR weight value is not a float"));
        assert_eq!(t.cmd(&["ZUNION", "2", "a", "b", "AGGREGATE", "avg"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZDIFF", "2", "a", "b", "WEIGHTS", "1", "2"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"]), err("ERR syntax error"));
        t.cmd(&["SET", "str", "v"]);
        assert_eq!(t.cmd(&["ZUNION", "2", "a", "str", "FOO"]), Reply::err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["ZINTERCARD", "2", "str", "a"]), Reply::err(errors::WRONGTYPE));
    }

    #[test]
    fn set_operation_stores() {
        let mut t = T::new();
        setup(&mut t, "a", &[(1.0, "x"), (2.0, "y")]);
        setup(&mut t, "b", &[(3.0, "y"), (4.0, "w")]);
        let dirty = t.ks.dirty;
        assert_eq!(t.cmd(&["ZUNIONSTORE", "d", "2", "a", "b"]), Reply::Int(3));
        assert_eq!(t.ks.dirty, dirty + 1);
        assert_eq!(t.cmd(&["ZRANGE", "d", "0", "-1", "WITHSCORES"]), ws(&[("x", 1.0), ("w", 4.0), ("y", 5.0)]));
        assert_eq!(t.cmd(&["ZINTERSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "-1"]), Reply::Int(1));
        assert_eq!(t.cmd(&["ZRANGE", "d", "0", "-1", "WITHSCORES"]), ws(&[("y", -1.0)]));
        assert_eq!(t.cmd(&["ZDIFFSTORE", "d", "2", "a", "b"]), Reply::Int(1));
        assert_eq!(t.cmd(&["ZRANGE", "d", "0", "-1", "WITHSCORES"]), ws(&[("x", 1.0)]));
        // the destination may be a source
        assert_eq!(t.cmd(&["ZUNIONSTORE", "a", "2", "a", "a"]), Reply::Int(2));
        assert_eq!(t.cmd(&["ZRANGE", "a", "0", "-1", "WITHSCORES"]), ws(&[("x", 2.0), ("y", 4.0)]));
        // empty result deletes the destination (of any type)
        t.cmd(&["SET", "d2", "v"]);
        assert_eq!(t.cmd(&["ZINTERSTORE", "d2", "2", "a", "nokey"]), Reply::Int(0));
        assert_eq!(t.cmd(&["EXISTS", "d2"]), Reply::Int(0));
        let dirty = t.ks.dirty;
        assert_eq!(t.cmd(&["ZINTERSTORE", "d2", "2", "a", "nokey"]), Reply::Int(0));
        assert_eq!(t.ks.dirty, dirty);
        assert!(t.ks.ready_keys.iter().any(|(_, k)| &k[..] == b"d"));
        // a set source
        put_set(&mut t, "s", &["p", "x"]);
        assert_eq!(t.cmd(&["ZUNIONSTORE", "d3", "2", "s", "a", "AGGREGATE", "SUM"]), Reply::Int(3));
        assert_eq!(t.cmd(&["ZRANGE", "d3", "0", "-1", "WITHSCORES"]), ws(&[("p", 1.0), ("x", 3.0), ("y", 4.0)]));
    }

    #[test]
    fn big_set_operations() {
        let mut t = T::new();
        big(&mut t, "a", 500);
        for i in (0..500).step_by(2) {
            t.cmd(&["ZADD", "b", "1", &format!("m{i:04}")]);
        }
        assert_eq!(t.cmd(&["ZINTERCARD", "2", "a", "b"]), Reply::Int(250));
        assert_eq!(t.cmd(&["ZDIFFSTORE", "d", "2", "a", "b"]), Reply::Int(250));
        assert_eq!(t.cmd(&["ZRANGE", "d", "0", "1"]), arr(&["m0001", "m0003"]));
        assert_eq!(t.cmd(&["ZDIFFSTORE", "d", "2", "b", "a"]), Reply::Int(0));
        // algorithm 2 (many small subtrahends)
        let mut cmd = vec!["ZDIFF", "12", "a"];
        let names: Vec<String> = (0..11).map(|i| format!("k{i}")).collect();
        for n in &names {
            t.cmd(&["ZADD", n, "1", "m0000"]);
            cmd.push(n);
        }
        let Reply::Array(v) = t.cmd(&cmd) else { panic!() };
        assert_eq!(v.len(), 499);
        assert_eq!(t.cmd(&["ZUNIONSTORE", "u", "2", "a", "b"]), Reply::Int(500));
        assert_eq!(t.cmd(&["ZSCORE", "u", "m0002"]), d(3.0));
        assert_eq!(t.cmd(&["ZRANK", "u", "m0499"]), Reply::Int(499));
    }

    #[test]
    fn zrandmember() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["ZRANDMEMBER", "z"]), Reply::Nil);
        assert_eq!(t.cmd(&["ZRANDMEMBER", "z", "5"]), arr(&[]));
        setup(&mut t, "z", &[(1.0, "a"), (2.0, "b"), (3.0, "c")]);
        let Reply::Bulk(m) = t.cmd(&["ZRANDMEMBER", "z"]) else { panic!() };
        assert!([&b"a"[..], b"b", b"c"].contains(&&m[..]));
        assert_eq!(t.cmd(&["ZRANDMEMBER", "z", "0"]), arr(&[]));
        // count >= size: the whole set, highest first (Redis iterates from the tail)
        assert_eq!(t.cmd(&["ZRANDMEMBER", "z", "10", "WITHSCORES"]), ws(&[("c", 3.0), ("b", 2.0), ("a", 1.0)]));
        let Reply::Array(v) = t.cmd(&["ZRANDMEMBER", "z", "2"]) else { panic!() };
        assert_eq!(v.len(), 2);
        assert_ne!(v[0], v[1]);
        let Reply::Pairs(v) = t.cmd(&["ZRANDMEMBER", "z", "-10", "WITHSCORES"]) else { panic!() };
        assert_eq!(v.len(), 10);
        for (m, score) in &v {
            let Reply::Bulk(m) = m else { panic!() };
            let want = match &m[..] {
                b"a" => 1.0,
                b"b" => 2.0,
                _ => 3.0,
            };
            assert_eq!(*score, d(want));
        }
        assert_eq!(t.cmd(&["ZRANDMEMBER", "z", "1", "FOO"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZRANDMEMBER", "z", "1", "WITHSCORES", "x"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZRANDMEMBER", "z", "x"]), err("ERR value is not an integer or out of range"));
        assert_eq!(
            t.cmd(&["ZRANDMEMBER", "z", "-9223372036854775808"]),
            err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        );
        assert_eq!(
            t.cmd(&["ZRANDMEMBER", "z", "-9223372036854770000", "WITHSCORES"]),
            err("ERR value is out of range")
        );
        assert_eq!(t.cmd(&["ZRANDMEMBER", "z", "-9223372036854770000"]), err("ERR value is out of range"));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["ZRANDMEMBER", "s"]), Reply::err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["ZRANDMEMBER", "s", "1"]), Reply::err(errors::WRONGTYPE));
        // unique picks from a big set
        big(&mut t, "b", 300);
        let Reply::Array(v) = t.cmd(&["ZRANDMEMBER", "b", "50"]) else { panic!() };
        let uniq: std::collections::HashSet<String> = v.iter().map(|r| format!("{r:?}")).collect();
        assert_eq!(uniq.len(), 50);
    }

    #[test]
    fn zscan() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["ZSCAN", "z", "0"]), Reply::Array(vec![bulk("0"), arr(&[])]));
        assert_eq!(t.cmd(&["ZSCAN", "z", "0", "BADOPT"]), Reply::Array(vec![bulk("0"), arr(&[])]));
        assert_eq!(t.cmd(&["ZSCAN", "z", "x"]), err("ERR invalid cursor"));
        setup(&mut t, "z", &[(1.5, "a"), (2.0, "b"), (1e17, "c")]);
        assert_eq!(
            t.cmd(&["ZSCAN", "z", "0", "COUNT", "1"]),
            Reply::Array(vec![bulk("0"), arr(&["a", "1.5", "b", "2", "c", "100000000000000000"])])
        );
        assert_eq!(t.cmd(&["ZSCAN", "z", "0", "MATCH", "b*"]), Reply::Array(vec![bulk("0"), arr(&["b", "2"])]));
        assert_eq!(t.cmd(&["ZSCAN", "z", "0", "TYPE", "zset"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["ZSCAN", "z", "0", "COUNT", "0"]), err("ERR syntax error"));
        // big sets: cursor iteration covers everything
        big(&mut t, "b", 300);
        t.cmd(&["ZADD", "b", "1e17", "m0000"]);
        let mut cursor = "0".to_string();
        let mut seen = std::collections::HashMap::new();
        loop {
            let Reply::Array(parts) = t.cmd(&["ZSCAN", "b", &cursor, "COUNT", "7"]) else { panic!() };
            let Reply::Bulk(c) = &parts[0] else { panic!() };
            let Reply::Array(items) = &parts[1] else { panic!() };
            for pair in items.chunks(2) {
                let (Reply::Bulk(m), Reply::Bulk(s)) = (&pair[0], &pair[1]) else { panic!() };
                seen.insert(m.clone(), s.clone());
            }
            cursor = String::from_utf8(c.to_vec()).unwrap();
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 300);
        assert_eq!(seen[&Bytes::from_static(b"m0000")], Bytes::from_static(b"1e+17"));
        assert_eq!(seen[&Bytes::from_static(b"m0007")], Bytes::from_static(b"7"));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["ZSCAN", "s", "0"]), Reply::err(errors::WRONGTYPE));
    }

    #[test]
    fn dirty_and_ready_signals() {
        let mut t = T::new();
        t.cmd(&["ZADD", "z", "1", "a", "2", "b"]);
        assert_eq!(t.ks.dirty, 2);
        assert_eq!(t.ks.ready_keys.len(), 1);
        t.cmd(&["ZADD", "z", "1", "a"]);
        assert_eq!(t.ks.dirty, 2);
        t.cmd(&["ZADD", "z", "3", "a"]);
        assert_eq!(t.ks.dirty, 3);
        assert_eq!(t.ks.ready_keys.len(), 1);
        t.cmd(&["ZINCRBY", "z", "1", "c"]);
        assert_eq!(t.ks.dirty, 4);
        assert_eq!(t.ks.ready_keys.len(), 2);
        t.cmd(&["ZPOPMIN", "z", "2"]);
        assert_eq!(t.ks.dirty, 6);
        t.cmd(&["ZREMRANGEBYSCORE", "z", "100", "200"]);
        t.cmd(&["ZRANGE", "z", "0", "-1"]);
        assert_eq!(t.ks.dirty, 6);
    }

    #[test]
    fn command_table() {
        use crate::redis::lookup;
        let args = |parts: &[&str]| parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect::<Vec<_>>();
        let c = lookup(b"zunionstore").unwrap();
        assert_eq!(c.key_positions(&args(&["zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"])), vec![1, 3, 4]);
        let c = lookup(b"ZINTER").unwrap();
        assert_eq!(c.key_positions(&args(&["zinter", "2", "a", "b"])), vec![2, 3]);
        let c = lookup(b"bzpopmin").unwrap();
        assert_eq!(c.key_positions(&args(&["bzpopmin", "a", "b", "0"])), vec![1, 2]);
        assert!(c.flags & BLOCKING != 0);
        let c = lookup(b"bzmpop").unwrap();
        assert_eq!(c.key_positions(&args(&["bzmpop", "0", "2", "a", "b", "MIN"])), vec![3, 4]);
        let c = lookup(b"zrangestore").unwrap();
        assert_eq!(c.key_positions(&args(&["zrangestore", "d", "s", "0", "1"])), vec![1, 2]);
        assert!(COMMANDS.iter().all(|c| c.group == "sorted-set"));
    }

    #[test]
    fn float_parsing_like_strtod() {
        assert_eq!(string2d(b"1.5"), Some(1.5));
        assert_eq!(string2d(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(string2d(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(string2d(b"0x1p4"), Some(16.0));
        assert_eq!(string2d(b"0x1.8"), Some(1.5));
        assert_eq!(string2d(b"-0X.8p1"), Some(-1.0));
        assert_eq!(string2d(b"1."), Some(1.0));
        assert_eq!(string2d(b".5e1"), Some(5.0));
        assert_eq!(string2d(b"1e"), None);
        assert_eq!(string2d(b"1e+"), None);
        assert_eq!(string2d(b"0x"), None);
        assert_eq!(string2d(b"1e400"), None);
        assert_eq!(string2d(b"1e-400"), None);
        assert_eq!(string2d(b"0e-400"), Some(0.0));
        assert!(string2d(b"1e-310").is_some());
        assert_eq!(string2d(b"nan"), None);
        assert_eq!(string2d(b" 1"), None);
        assert_eq!(string2d(b"1 "), None);
        assert_eq!(string2d(b""), None);
        assert_eq!(string2d(b"1\x002"), None);
        assert_eq!(parse_score_bound(b"1\x00junk"), Some((1.0, false)));
        assert_eq!(parse_score_bound(b"(\t2"), Some((2.0, true)));
        assert_eq!(parse_score_bound(b"   "), None);
        assert_eq!(parse_score_bound(b"(inf"), Some((f64::INFINITY, true)));
        assert_eq!(parse_score_bound(b"nan(123)"), None);
        let x = strtod(b"0x1234567890abcdef1234p-10");
        assert_eq!(x.consumed, 26);
        assert_eq!(x.value, 0x1234567890abcdef1234u128 as f64 / 1024.0);
        assert_eq!(listpack_score(-0.0), "0");
        assert_eq!(listpack_score(3.0), "3");
        assert_eq!(listpack_score(2.5), "2.5");
        assert_eq!(listpack_score(1e19), "1e+19");
        assert_eq!(listpack_score(f64::INFINITY), "inf");
    }
}
