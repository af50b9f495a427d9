//! List commands (<https://redis.io/commands/?group=list>), following Redis 7.0's `t_list.c`:
//! argument parsing order, error texts, reply types (null bulk vs null array vs empty array),
//! and the deletion of keys whose list becomes empty.
//!
//! Lists are `VecDeque<Bytes>`: O(1) pushes and pops at both ends and O(1) indexing.
//! Blocking commands (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP) validate their arguments, then
//! try once: with data they reply as Redis does, without they set [`Ctx::block_ms`] and return
//! a null array (the connection layer parks the client and runs them again).

use crate::redis::args::{self, is};
use crate::redis::flags::*;
use crate::redis::{CommandSpec, Ctx, Exec, KeySpec};
use crate::reply::{errors, Reply};
use crate::value::{parse_i64_strict, ListValue, Value};
use bytes::Bytes;

const fn spec(name: &'static str, arity: i32, flags: u32, keys: KeySpec, h: crate::redis::Handler) -> CommandSpec {
    CommandSpec { name, arity, flags, keys, group: "list", exec: Exec::Engine(h) }
}
const ONE: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };
const TWO: KeySpec = KeySpec::Range { first: 1, last: 2, step: 1 };
const ALL_BUT_LAST: KeySpec = KeySpec::Range { first: 1, last: -2, step: 1 };

pub const COMMANDS: &[CommandSpec] = &[
    spec("lpush", -3, WRITE | DENYOOM | FAST, ONE, lpush),
    spec("rpush", -3, WRITE | DENYOOM | FAST, ONE, rpush),
    spec("lpushx", -3, WRITE | DENYOOM | FAST, ONE, lpushx),
    spec("rpushx", -3, WRITE | DENYOOM | FAST, ONE, rpushx),
    spec("linsert", 5, WRITE | DENYOOM, ONE, linsert),
    spec("lpop", -2, WRITE | FAST, ONE, lpop),
    spec("rpop", -2, WRITE | FAST, ONE, rpop),
    spec("llen", 2, READONLY | FAST, ONE, llen),
    spec("lindex", 3, READONLY, ONE, lindex),
    spec("lset", 4, WRITE | DENYOOM, ONE, lset),
    spec("lrange", 4, READONLY, ONE, lrange),
    spec("ltrim", 4, WRITE, ONE, ltrim),
    spec("lrem", 4, WRITE, ONE, lrem),
    spec("lpos", -3, READONLY, ONE, lpos),
    spec("rpoplpush", 3, WRITE | DENYOOM, TWO, rpoplpush),
    spec("lmove", 5, WRITE | DENYOOM, TWO, lmove),
    spec("lmpop", -4, WRITE, KeySpec::NumKeys { count_at: 1, dest: false }, lmpop),
    spec("blpop", -3, WRITE | NOSCRIPT | BLOCKING, ALL_BUT_LAST, blpop),
    spec("brpop", -3, WRITE | NOSCRIPT | BLOCKING, ALL_BUT_LAST, brpop),
    spec("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, TWO, brpoplpush),
    spec("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, TWO, blmove),
    spec("blmpop", -5, WRITE | BLOCKING, KeySpec::NumKeys { count_at: 2, dest: false }, blmpop),
];

/// Which end of a list: LEFT (head) or RIGHT (tail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Head,
    Tail,
}

/// Handlers are written as `Result<Reply, Reply>` so that `?` can return an error reply.
#[inline]
fn flat(r: Result<Reply, Reply>) -> Reply {
    r.unwrap_or_else(|e| e)
}

/// Redis's `getListPositionFromObjectOrReply`: LEFT or RIGHT, else a syntax error.
fn end_arg(arg: &[u8]) -> Result<End, Reply> {
    if is(arg, "right") {
        Ok(End::Tail)
    } else if is(arg, "left") {
        Ok(End::Head)
    } else {
        Err(Reply::err(errors::SYNTAX))
    }
}

/// Redis's `getRangeLongFromObjectOrReply` with an explicit message: a non-integer and a value
/// outside `min..=max` both reply `ERR <msg>`.
fn long_in(arg: &[u8], min: i64, max: i64, msg: &'static str) -> Result<i64, Reply> {
    match parse_i64_strict(arg) {
        Some(v) if v >= min && v <= max => Ok(v),
        _ => Err(Reply::err(msg)),
    }
}

#[inline]
fn pop_end(list: &mut ListValue, end: End) -> Option<Bytes> {
    match end {
        End::Head => list.pop_front(),
        End::Tail => list.pop_back(),
    }
}

#[inline]
fn push_end(list: &mut ListValue, end: End, v: Bytes) {
    match end {
        End::Head => list.push_front(v),
        End::Tail => list.push_back(v),
    }
}

/// Pops up to `n` elements from `end`, in pop order, as bulk replies.
fn pop_many(list: &mut ListValue, end: End, n: usize) -> Vec<Reply> {
    let n = n.min(list.len());
    match end {
        End::Head => list.drain(..n).map(Reply::Bulk).collect(),
        End::Tail => {
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                match list.pop_back() {
                    Some(v) => out.push(Reply::Bulk(v)),
                    None => break,
                }
            }
            out
        }
    }
}

fn new_list() -> Value {
    Value::List(ListValue::new())
}

fn wrongtype() -> Reply {
    Reply::err(errors::WRONGTYPE)
}

// ---------------------------------------------------------------------------------------------
// LPUSH / RPUSH / LPUSHX / RPUSHX

fn push_generic(ctx: &mut Ctx, args: &[Bytes], end: End, only_existing: bool) -> Reply {
    let now = ctx.now_ms;
    let key = &args[1];
    let db = ctx.db();
    let list = if only_existing {
        match db.get_list_mut(key, now) {
            Ok(Some(l)) => l,
            Ok(None) => return Reply::Int(0),
            Err(e) => return e.into(),
        }
    } else {
        match db.get_or_create(key, now, new_list) {
            Ok(Value::List(l)) => l,
            Ok(_) | Err(_) => return wrongtype(),
        }
    };
    let elems = &args[2..];
    list.reserve(elems.len());
    for e in elems {
        push_end(list, end, e.clone());
    }
    let len = list.len() as i64;
    ctx.signal_ready(key);
    ctx.dirty(elems.len() as u64);
    Reply::Int(len)
}

fn lpush(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    push_generic(ctx, args, End::Head, false)
}

fn rpush(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    push_generic(ctx, args, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    push_generic(ctx, args, End::Head, true)
}

fn rpushx(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    push_generic(ctx, args, End::Tail, true)
}

// ---------------------------------------------------------------------------------------------
// LINSERT

fn linsert(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let after = if is(&args[2], "after") {
        true
    } else if is(&args[2], "before") {
        false
    } else {
        return Reply::err(errors::SYNTAX);
    };
    let now = ctx.now_ms;
    let key = &args[1];
    let list = match ctx.db().get_list_mut(key, now) {
        Ok(Some(l)) => l,
        Ok(None) => return Reply::Int(0),
        Err(e) => return e.into(),
    };
    let pivot = &args[3];
    let Some(pos) = list.iter().position(|e| e == pivot) else {
        return Reply::Int(-1);
    };
    list.insert(if after { pos + 1 } else { pos }, args[4].clone());
    let len = list.len() as i64;
    ctx.signal_ready(key);
    ctx.dirty(1);
    Reply::Int(len)
}

// ---------------------------------------------------------------------------------------------
// LPOP / RPOP

fn pop_generic(ctx: &mut Ctx, args: &[Bytes], end: End) -> Result<Reply, Reply> {
    if args.len() > 3 {
        return Err(Reply::err(errors::wrong_args(if end == End::Head { "lpop" } else { "rpop" })));
    }
    let count = match args.get(2) {
        Some(a) => Some(long_in(a, 0, i64::MAX, errors::POSITIVE)?),
        None => None,
    };
    let now = ctx.now_ms;
    let key = &args[1];
    let db = ctx.db();
    let list = match db.get_list_mut(key, now)? {
        Some(l) => l,
        None => return Ok(if count.is_some() { Reply::NilArray } else { Reply::Nil }),
    };
    let (reply, popped) = match count {
        None => match pop_end(list, end) {
            Some(v) => (Reply::Bulk(v), 1),
            None => (Reply::Nil, 0),
        },
        Some(0) => return Ok(Reply::Array(Vec::new())),
        Some(n) => {
            let items = pop_many(list, end, usize::try_from(n).unwrap_or(usize::MAX));
            let k = items.len();
            (Reply::Array(items), k)
        }
    };
    let empty = list.is_empty();
    if empty {
        db.remove(key);
    }
    if popped > 0 {
        ctx.dirty(popped as u64);
    }
    Ok(reply)
}

fn lpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(pop_generic(ctx, args, End::Head))
}

fn rpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(pop_generic(ctx, args, End::Tail))
}

// ---------------------------------------------------------------------------------------------
// LLEN / LINDEX / LSET / LRANGE

fn llen(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_list(&args[1], now) {
        Ok(Some(l)) => Reply::Int(l.len() as i64),
        Ok(None) => Reply::Int(0),
        Err(e) => e.into(),
    }
}

/// A Redis list index (negative from the tail) as a position, if in range.
fn norm_index(idx: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if idx < 0 { idx + len } else { idx };
    if i < 0 || i >= len {
        None
    } else {
        Some(i as usize)
    }
}

fn lindex(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    // As Redis: the key is looked up (and type-checked) before the index is parsed.
    let list = match ctx.db().get_list(&args[1], now) {
        Ok(Some(l)) => l,
        Ok(None) => return Reply::Nil,
        Err(e) => return e.into(),
    };
    let idx = match args::int(&args[2]) {
        Ok(i) => i,
        Err(e) => return e,
    };
    match norm_index(idx, list.len()).and_then(|i| list.get(i)) {
        Some(v) => Reply::Bulk(v.clone()),
        None => Reply::Nil,
    }
}

fn lset(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let list = match ctx.db().get_list_mut(&args[1], now) {
        Ok(Some(l)) => l,
        Ok(None) => return Reply::err(errors::NO_SUCH_KEY),
        Err(e) => return e.into(),
    };
    let idx = match args::int(&args[2]) {
        Ok(i) => i,
        Err(e) => return e,
    };
    let Some(slot) = norm_index(idx, list.len()).and_then(|i| list.get_mut(i)) else {
        return Reply::err(errors::INDEX_OUT_OF_RANGE);
    };
    *slot = args[3].clone();
    ctx.dirty(1);
    Reply::Ok
}

/// Redis's range clamping for LRANGE/LTRIM: `Some((start, end))` inclusive, or None if empty.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize))
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(lrange_r(ctx, args))
}

fn lrange_r(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, Reply> {
    let start = args::int(&args[2])?;
    let end = args::int(&args[3])?;
    let now = ctx.now_ms;
    let Some(list) = ctx.db().get_list(&args[1], now)? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let Some((s, e)) = clamp_range(start, end, list.len()) else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(Reply::Array(list.range(s..=e).map(|v| Reply::Bulk(v.clone())).collect()))
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(ltrim_r(ctx, args))
}

fn ltrim_r(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, Reply> {
    let start = args::int(&args[2])?;
    let end = args::int(&args[3])?;
    let now = ctx.now_ms;
    let key = &args[1];
    let db = ctx.db();
    let Some(list) = db.get_list_mut(key, now)? else {
        return Ok(Reply::Ok);
    };
    let len = list.len();
    let (ltrim, rtrim) = match clamp_range(start, end, len) {
        None => (len, 0),
        Some((s, e)) => (s, len - e - 1),
    };
    list.truncate(len - rtrim);
    list.drain(..ltrim);
    let empty = list.is_empty();
    if empty {
        db.remove(key);
    }
    let removed = (ltrim + rtrim) as u64;
    if removed > 0 {
        ctx.dirty(removed);
    }
    Ok(Reply::Ok)
}

// ---------------------------------------------------------------------------------------------
// LREM

fn lrem(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(lrem_r(ctx, args))
}

fn lrem_r(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, Reply> {
    let count = args::int(&args[2])?;
    let now = ctx.now_ms;
    let key = &args[1];
    let elem = &args[3];
    let db = ctx.db();
    let Some(list) = db.get_list_mut(key, now)? else {
        return Ok(Reply::Int(0));
    };
    // Matches to remove, counted from the head (count > 0), the tail (count < 0), or all (0).
    let limit = count.unsigned_abs();
    let removed: u64 = if count >= 0 {
        let mut removed = 0u64;
        list.retain(|e| {
            if (limit == 0 || removed < limit) && e == elem {
                removed += 1;
                false
            } else {
                true
            }
        });
        removed
    } else {
        // Find the position of the `limit`-th match from the tail: every match at or after it
        // goes (all matches if there are fewer).
        let mut seen = 0u64;
        let mut boundary = 0usize;
        for (i, e) in list.iter().enumerate().rev() {
            if e == elem {
                seen += 1;
                boundary = i;
                if seen == limit {
                    break;
                }
            }
        }
        if seen > 0 {
            let mut i = 0usize;
            list.retain(|e| {
                let keep = i < boundary || e != elem;
                i += 1;
                keep
            });
        }
        seen
    };
    let empty = list.is_empty();
    if empty {
        db.remove(key);
    }
    if removed > 0 {
        ctx.dirty(removed);
    }
    Ok(Reply::Int(removed as i64))
}

// ---------------------------------------------------------------------------------------------
// LPOS

fn lpos(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(lpos_r(ctx, args))
}

fn lpos_r(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, Reply> {
    let elem = &args[2];
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = &args[j];
        let more = j + 1 < args.len();
        if is(opt, "rank") && more {
            j += 1;
            rank = match parse_i64_strict(&args[j]) {
                None => return Err(Reply::err(errors::NOT_INTEGER)),
                Some(v) => v,
            };
            if rank == 0 {
                return Err(Reply::err(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
                     or use negative to start from the end of the list",
                ));
            }
        } else if is(opt, "count") && more {
            j += 1;
            count = Some(long_in(&args[j], 0, i64::MAX, "ERR COUNT can't be negative")?);
        } else if is(opt, "maxlen") && more {
            j += 1;
            maxlen = long_in(&args[j], 0, i64::MAX, "ERR MAXLEN can't be negative")?;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
        j += 1;
    }
    let from_tail = rank < 0;
    // Redis 7.0 negates a negative rank in a C long: LONG_MIN stays negative, so every match
    // passes `matches >= rank` and `matches - rank + 1 >= count` (which wraps) never holds:
    // the search runs from the tail and COUNT is ignored. (Redis 7.2 rejects LONG_MIN.)
    let wrapped = rank == i64::MIN;
    let rank = if wrapped { 1 } else { rank.unsigned_abs() };

    let now = ctx.now_ms;
    let Some(list) = ctx.db().get_list(&args[1], now)? else {
        return Ok(if count.is_some() { Reply::Array(Vec::new()) } else { Reply::Nil });
    };
    let llen = list.len();
    let scan = if maxlen == 0 { llen } else { llen.min(usize::try_from(maxlen).unwrap_or(usize::MAX)) };
    let mut out: Vec<Reply> = Vec::new();
    let mut matches = 0u64;
    let mut visit = |index: usize, e: &Bytes| -> Option<Option<i64>> {
        // Some(Some(pos)): stop with this single match; Some(None): stop; None: continue.
        if e != elem {
            return None;
        }
        matches += 1;
        if matches < rank {
            return None;
        }
        let pos = if from_tail { llen - index - 1 } else { index } as i64;
        match count {
            None => Some(Some(pos)),
            Some(c) => {
                out.push(Reply::Int(pos));
                if c != 0 && !wrapped && matches - rank + 1 >= c as u64 {
                    Some(None)
                } else {
                    None
                }
            }
        }
    };
    let mut single = None;
    if from_tail {
        for (index, e) in list.iter().rev().take(scan).enumerate() {
            if let Some(r) = visit(index, e) {
                single = r;
                break;
            }
        }
    } else {
        for (index, e) in list.iter().take(scan).enumerate() {
            if let Some(r) = visit(index, e) {
                single = r;
                break;
            }
        }
    }
    if count.is_some() {
        return Ok(Reply::Array(out));
    }
    Ok(match single {
        Some(pos) => Reply::Int(pos),
        None => Reply::Nil,
    })
}

// ---------------------------------------------------------------------------------------------
// LMOVE / RPOPLPUSH (and their blocking forms)

/// Redis's `lmoveGenericCommand`: source looked up and type-checked, then the destination
/// type-checked, then the move. A missing source replies a null bulk.
fn lmove_generic(ctx: &mut Ctx, src: &Bytes, dst: &Bytes, from: End, to: End) -> Result<Reply, Reply> {
    let now = ctx.now_ms;
    let db = ctx.db();
    match db.get_list_mut(src, now)? {
        Some(l) if !l.is_empty() => {}
        _ => return Ok(Reply::Nil),
    }
    if src != dst {
        db.get_list(dst, now)?;
    }
    let Some(list) = db.get_list_mut(src, now)? else {
        return Ok(Reply::Nil);
    };
    let Some(v) = pop_end(list, from) else {
        return Ok(Reply::Nil);
    };
    if src == dst {
        push_end(list, to, v.clone());
    } else {
        let empty = list.is_empty();
        if empty {
            db.remove(src);
        }
        match db.get_or_create(dst, now, new_list) {
            Ok(Value::List(d)) => push_end(d, to, v.clone()),
            // Checked above; unreachable, but never panic on it.
            Ok(_) | Err(_) => return Err(wrongtype()),
        }
    }
    ctx.signal_ready(dst);
    ctx.dirty(1);
    Ok(Reply::Bulk(v))
}

fn lmove(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(lmove_r(ctx, args))
}

fn lmove_r(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, Reply> {
    let from = end_arg(&args[3])?;
    let to = end_arg(&args[4])?;
    lmove_generic(ctx, &args[1], &args[2], from, to)
}

fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(lmove_generic(ctx, &args[1], &args[2], End::Tail, End::Head))
}

/// Redis's `blmoveGenericCommand`: a missing source blocks; otherwise it is LMOVE.
fn blmove_generic(ctx: &mut Ctx, args: &[Bytes], from: End, to: End, timeout: u64) -> Result<Reply, Reply> {
    let now = ctx.now_ms;
    let exists = match ctx.db().get_list(&args[1], now)? {
        Some(l) => !l.is_empty(),
        None => false,
    };
    if !exists {
        ctx.block_ms = Some(timeout);
        return Ok(Reply::NilArray);
    }
    lmove_generic(ctx, &args[1], &args[2], from, to)
}

fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match args::timeout_ms(&args[3]) {
        Ok(timeout) => flat(blmove_generic(ctx, args, End::Tail, End::Head, timeout)),
        Err(e) => e,
    }
}

fn blmove(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(blmove_r(ctx, args))
}

fn blmove_r(ctx: &mut Ctx, args: &[Bytes]) -> Result<Reply, Reply> {
    let from = end_arg(&args[3])?;
    let to = end_arg(&args[4])?;
    let timeout = args::timeout_ms(&args[5])?;
    blmove_generic(ctx, args, from, to, timeout)
}

// ---------------------------------------------------------------------------------------------
// BLPOP / BRPOP / LMPOP / BLMPOP

/// Pops from the first non-empty list among `keys` (a wrong type met first is an error).
/// `count` None: one element, reply `[key, element]` (BLPOP); Some(n): up to n elements, reply
/// `[key, [elements...]]` (LMPOP). Returns None when every key is missing or empty.
fn pop_first(ctx: &mut Ctx, keys: &[Bytes], end: End, count: Option<usize>) -> Result<Option<Reply>, Reply> {
    let now = ctx.now_ms;
    let db = ctx.db();
    for key in keys {
        let Some(list) = db.get_list_mut(key, now)? else {
            continue;
        };
        if list.is_empty() {
            continue;
        }
        let (reply, popped) = match count {
            None => match pop_end(list, end) {
                Some(v) => (Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(v)]), 1),
                None => continue,
            },
            Some(n) => {
                let items = pop_many(list, end, n);
                let k = items.len();
                (Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Array(items)]), k)
            }
        };
        let empty = list.is_empty();
        if empty {
            db.remove(key);
        }
        ctx.dirty(popped as u64);
        return Ok(Some(reply));
    }
    Ok(None)
}

/// BLPOP/BRPOP: keys, then the timeout (parsed first, as Redis does).
fn bpop_generic(ctx: &mut Ctx, args: &[Bytes], end: End) -> Result<Reply, Reply> {
    let last = args.len() - 1;
    let timeout = args::timeout_ms(&args[last])?;
    match pop_first(ctx, &args[1..last], end, None)? {
        Some(r) => Ok(r),
        None => {
            ctx.block_ms = Some(timeout);
            Ok(Reply::NilArray)
        }
    }
}

fn blpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(bpop_generic(ctx, args, End::Head))
}

fn brpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(bpop_generic(ctx, args, End::Tail))
}

/// Redis's `lmpopGenericCommand`: numkeys at `numkeys_at`, the keys, LEFT|RIGHT, [COUNT n].
/// For BLMPOP the timeout (argv[1]) is parsed after these, as in Redis.
fn lmpop_generic(ctx: &mut Ctx, args: &[Bytes], numkeys_at: usize, blocking: bool) -> Result<Reply, Reply> {
    let numkeys = long_in(&args[numkeys_at], 1, i64::MAX, "ERR numkeys should be greater than 0")?;
    let where_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(numkeys_at + 1))
        .filter(|&w| w < args.len())
        .ok_or_else(|| Reply::err(errors::SYNTAX))?;
    let end = end_arg(&args[where_at])?;
    let mut count: Option<i64> = None;
    let mut j = where_at + 1;
    while j < args.len() {
        let more = j + 1 < args.len();
        if count.is_none() && is(&args[j], "count") && more {
            j += 1;
            count = Some(long_in(&args[j], 1, i64::MAX, "ERR count should be greater than 0")?);
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
        j += 1;
    }
    let count = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
    let timeout = if blocking { Some(args::timeout_ms(&args[1])?) } else { None };
    let keys = &args[numkeys_at + 1..where_at];
    match pop_first(ctx, keys, end, Some(count))? {
        Some(r) => Ok(r),
        None => {
            if let Some(t) = timeout {
                ctx.block_ms = Some(t);
            }
            Ok(Reply::NilArray)
        }
    }
}

fn lmpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(lmpop_generic(ctx, args, 1, false))
}

fn blmpop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    flat(lmpop_generic(ctx, args, 2, true))
}

#[cfg(test)]
mod tests {
    use crate::redis::testing::{arr, bulk, T};
    use crate::reply::Reply;

    fn int(n: i64) -> Reply {
        Reply::Int(n)
    }

    fn err(s: &str) -> Reply {
        Reply::err(s.to_string())
    }

    const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

    fn range(t: &mut T, k: &str) -> Reply {
        t.cmd(&["LRANGE", k, "0", "-1"])
    }

    fn exists(t: &mut T, k: &str) -> bool {
        t.ks.dbs[0].peek(k.as_bytes()).is_some()
    }

    #[test]
    fn push_and_pushx() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["LPUSH", "l", "a", "b", "c"]), int(3));
        assert_eq!(range(&mut t, "l"), arr(&["c", "b", "a"]));
        assert_eq!(t.cmd(&["RPUSH", "l", "d", "e"]), int(5));
        assert_eq!(range(&mut t, "l"), arr(&["c", "b", "a", "d", "e"]));
        assert_eq!(t.cmd(&["LPUSHX", "nope", "a"]), int(0));
        assert_eq!(t.cmd(&["RPUSHX", "nope", "a"]), int(0));
        assert!(!exists(&mut t, "nope"));
        assert_eq!(t.cmd(&["LPUSHX", "l", "x", "y"]), int(7));
        assert_eq!(t.cmd(&["RPUSHX", "l", "z"]), int(8));
        assert_eq!(range(&mut t, "l"), arr(&["y", "x", "c", "b", "a", "d", "e", "z"]));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["LPUSH", "s", "a"]), err(WRONGTYPE));
        assert_eq!(t.cmd(&["RPUSHX", "s", "a"]), err(WRONGTYPE));
        assert_eq!(t.cmd(&["LPUSH", "l"]), err("ERR wrong number of arguments for 'lpush' command"));
        assert_eq!(t.cmd(&["LPUSHX", "l"]), err("ERR wrong number of arguments for 'lpushx' command"));
        // Pushes signal blocked clients.
        assert!(t.ks.ready_keys.iter().any(|(db, k)| *db == 0 && &k[..] == b"l"));
    }

    #[test]
    fn pop_single_and_count() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["LPOP", "missing"]), Reply::Nil);
        assert_eq!(t.cmd(&["LPOP", "missing", "1"]), Reply::NilArray);
        assert_eq!(t.cmd(&["RPOP", "missing", "0"]), Reply::NilArray);
        assert_eq!(t.cmd(&["LPOP", "missing", "-1"]), err("ERR value is out of range, must be positive"));
        assert_eq!(t.cmd(&["LPOP", "missing", "x"]), err("ERR value is out of range, must be positive"));
        assert_eq!(t.cmd(&["LPOP", "l", "1", "2"]), err("ERR wrong number of arguments for 'lpop' command"));
        t.cmd(&["RPUSH", "l", "a", "b", "c", "d", "e"]);
        assert_eq!(t.cmd(&["LPOP", "l", "0"]), Reply::Array(vec![]));
        assert_eq!(t.cmd(&["LPOP", "l"]), bulk("a"));
        assert_eq!(t.cmd(&["RPOP", "l"]), bulk("e"));
        assert_eq!(t.cmd(&["LPOP", "l", "1"]), arr(&["b"]));
        assert_eq!(t.cmd(&["RPOP", "l", "10"]), arr(&["d", "c"]));
        assert!(!exists(&mut t, "l"));
        t.cmd(&["RPUSH", "l", "a", "b", "c"]);
        assert_eq!(t.cmd(&["LPOP", "l", "9223372036854775807"]), arr(&["a", "b", "c"]));
        assert!(!exists(&mut t, "l"));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["LPOP", "s"]), err(WRONGTYPE));
        assert_eq!(t.cmd(&["RPOP", "s", "0"]), err(WRONGTYPE));
    }

    #[test]
    fn pop_dirty_accounting() {
        let mut t = T::new();
        t.cmd(&["RPUSH", "l", "a", "b", "c"]);
        let d = t.ks.dirty;
        t.cmd(&["LPOP", "l", "0"]);
        t.cmd(&["LPOP", "missing"]);
        assert_eq!(t.ks.dirty, d);
        t.cmd(&["LPOP", "l", "2"]);
        assert_eq!(t.ks.dirty, d + 2);
    }

    #[test]
    fn llen_lindex_lset() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["LLEN", "l"]), int(0));
        assert_eq!(t.cmd(&["LINDEX", "l", "0"]), Reply::Nil);
        // Missing key is checked before the index is parsed.
        assert_eq!(t.cmd(&["LINDEX", "l", "x"]), Reply::Nil);
        assert_eq!(t.cmd(&["LSET", "l", "0", "v"]), err("ERR no such key"));
        assert_eq!(t.cmd(&["LSET", "l", "x", "v"]), err("ERR no such key"));
        t.cmd(&["RPUSH", "l", "a", "b", "c"]);
        assert_eq!(t.cmd(&["LLEN", "l"]), int(3));
        assert_eq!(t.cmd(&["LINDEX", "l", "0"]), bulk("a"));
        assert_eq!(t.cmd(&["LINDEX", "l", "-1"]), bulk("c"));
        assert_eq!(t.cmd(&["LINDEX", "l", "3"]), Reply::Nil);
        assert_eq!(t.cmd(&["LINDEX", "l", "-4"]), Reply::Nil);
        assert_eq!(t.cmd(&["LINDEX", "l", "-9223372036854775808"]), Reply::Nil);
        assert_eq!(t.cmd(&["LINDEX", "l", "x"]), err("ERR value is not an integer or out of range"));
        assert_eq!(t.cmd(&["LSET", "l", "1", "B"]), Reply::Ok);
        assert_eq!(t.cmd(&["LSET", "l", "-1", "C"]), Reply::Ok);
        assert_eq!(t.cmd(&["LSET", "l", "3", "X"]), err("ERR index out of range"));
        assert_eq!(t.cmd(&["LSET", "l", "-4", "X"]), err("ERR index out of range"));
        assert_eq!(t.cmd(&["LSET", "l", "x", "X"]), err("ERR value is not an integer or out of range"));
        assert_eq!(range(&mut t, "l"), arr(&["a", "B", "C"]));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["LLEN", "s"]), err(WRONGTYPE));
        assert_eq!(t.cmd(&["LINDEX", "s", "x"]), err(WRONGTYPE));
        assert_eq!(t.cmd(&["LSET", "s", "x", "v"]), err(WRONGTYPE));
    }

    #[test]
    fn lrange_edges() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["LRANGE", "l", "0", "-1"]), Reply::Array(vec![]));
        assert_eq!(t.cmd(&["LRANGE", "l", "x", "-1"]), err("ERR value is not an integer or out of range"));
        t.cmd(&["RPUSH", "l", "a", "b", "c", "d"]);
        assert_eq!(t.cmd(&["LRANGE", "l", "1", "2"]), arr(&["b", "c"]));
        assert_eq!(t.cmd(&["LRANGE", "l", "-100", "100"]), arr(&["a", "b", "c", "d"]));
        assert_eq!(t.cmd(&["LRANGE", "l", "-2", "-1"]), arr(&["c", "d"]));
        assert_eq!(t.cmd(&["LRANGE", "l", "2", "1"]), Reply::Array(vec![]));
        assert_eq!(t.cmd(&["LRANGE", "l", "4", "10"]), Reply::Array(vec![]));
        assert_eq!(t.cmd(&["LRANGE", "l", "0", "-5"]), Reply::Array(vec![]));
        assert_eq!(t.cmd(&["LRANGE", "l", "-9223372036854775808", "9223372036854775807"]), arr(&["a", "b", "c", "d"]));
        t.cmd(&["SET", "s", "v"]);
        // Integers are parsed before the type check.
        assert_eq!(t.cmd(&["LRANGE", "s", "x", "1"]), err("ERR value is not an integer or out of range"));
        assert_eq!(t.cmd(&["LRANGE", "s", "0", "1"]), err(WRONGTYPE));
    }

    #[test]
    fn ltrim_edges() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["LTRIM", "l", "0", "1"]), Reply::Ok);
        t.cmd(&["RPUSH", "l", "a", "b", "c", "d", "e"]);
        assert_eq!(t.cmd(&["LTRIM", "l", "1", "-2"]), Reply::Ok);
        assert_eq!(range(&mut t, "l"), arr(&["b", "c", "d"]));
        let d = t.ks.dirty;
        assert_eq!(t.cmd(&["LTRIM", "l", "0", "100"]), Reply::Ok);
        assert_eq!(t.ks.dirty, d);
        assert_eq!(t.cmd(&["LTRIM", "l", "5", "10"]), Reply::Ok);
        assert!(!exists(&mut t, "l"));
        t.cmd(&["RPUSH", "l", "a", "b"]);
        assert_eq!(t.cmd(&["LTRIM", "l", "1", "0"]), Reply::Ok);
        assert!(!exists(&mut t, "l"));
        assert_eq!(t.cmd(&["LTRIM", "l", "a", "0"]), err("ERR value is not an integer or out of range"));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["LTRIM", "s", "0", "1"]), err(WRONGTYPE));
    }

    #[test]
    fn linsert_cases() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["LINSERT", "l", "BEFORE", "a", "x"]), int(0));
        assert_eq!(t.cmd(&["LINSERT", "l", "middle", "a", "x"]), err("ERR syntax error"));
        t.cmd(&["RPUSH", "l", "a", "b", "c"]);
        assert_eq!(t.cmd(&["LINSERT", "l", "before", "b", "x"]), int(4));
        assert_eq!(t.cmd(&["LINSERT", "l", "AFTER", "c", "y"]), int(5));
        assert_eq!(t.cmd(&["LINSERT", "l", "AFTER", "zz", "y"]), int(-1));
        assert_eq!(range(&mut t, "l"), arr(&["a", "x", "b", "c", "y"]));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["LINSERT", "s", "BEFORE", "a", "x"]), err(WRONGTYPE));
        // The keyword is checked before the key.
        assert_eq!(t.cmd(&["LINSERT", "s", "x", "a", "x"]), err("ERR syntax error"));
    }

    #[test]
    fn lrem_cases() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["LREM", "l", "0", "a"]), int(0));
        t.cmd(&["RPUSH", "l", "a", "b", "a", "c", "a", "b", "a"]);
        assert_eq!(t.cmd(&["LREM", "l", "2", "a"]), int(2));
        assert_eq!(range(&mut t, "l"), arr(&["b", "c", "a", "b", "a"]));
        assert_eq!(t.cmd(&["LREM", "l", "-1", "b"]), int(1));
        assert_eq!(range(&mut t, "l"), arr(&["b", "c", "a", "a"]));
        assert_eq!(t.cmd(&["LREM", "l", "-5", "a"]), int(2));
        assert_eq!(range(&mut t, "l"), arr(&["b", "c"]));
        assert_eq!(t.cmd(&["LREM", "l", "0", "zz"]), int(0));
        t.cmd(&["RPUSH", "l", "b", "b"]);
        assert_eq!(t.cmd(&["LREM", "l", "0", "b"]), int(3));
        assert_eq!(range(&mut t, "l"), arr(&["c"]));
        assert_eq!(t.cmd(&["LREM", "l", "-9223372036854775808", "c"]), int(1));
        assert!(!exists(&mut t, "l"));
        assert_eq!(t.cmd(&["LREM", "l", "x", "c"]), err("ERR value is not an integer or out of range"));
        t.cmd(&["RPUSH", "m", "a", "x", "a", "x", "a"]);
        assert_eq!(t.cmd(&["LREM", "m", "-2", "a"]), int(2));
        assert_eq!(range(&mut t, "m"), arr(&["a", "x", "x"]));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["LREM", "s", "0", "a"]), err(WRONGTYPE));
    }

    #[test]
    fn lpos_cases() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["LPOS", "l", "a"]), Reply::Nil);
        assert_eq!(t.cmd(&["LPOS", "l", "a", "COUNT", "0"]), Reply::Array(vec![]));
        t.cmd(&["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
        assert_eq!(t.cmd(&["LPOS", "l", "c"]), int(2));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "RANK", "2"]), int(6));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "RANK", "-1"]), int(7));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "RANK", "-3"]), int(2));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "RANK", "-4"]), Reply::Nil);
        assert_eq!(t.cmd(&["LPOS", "l", "c", "COUNT", "2"]), Reply::Array(vec![int(2), int(6)]));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "COUNT", "0"]), Reply::Array(vec![int(2), int(6), int(7)]));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "COUNT", "0", "RANK", "2"]), Reply::Array(vec![int(6), int(7)]));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "COUNT", "0", "RANK", "-1"]), Reply::Array(vec![int(7), int(6), int(2)]));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"]), Reply::Array(vec![int(2), int(6)]));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "MAXLEN", "2"]), Reply::Nil);
        assert_eq!(t.cmd(&["LPOS", "l", "c", "RANK", "-1", "MAXLEN", "1"]), int(7));
        assert_eq!(t.cmd(&["LPOS", "l", "zz", "COUNT", "1"]), Reply::Array(vec![]));
        assert_eq!(
            t.cmd(&["LPOS", "l", "c", "RANK", "0"]),
            err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
        );
        assert_eq!(t.cmd(&["LPOS", "l", "c", "RANK", "x"]), err("ERR value is not an integer or out of range"));
        // Redis 7.0: LONG_MIN acts as "from the tail, COUNT ignored".
        assert_eq!(t.cmd(&["LPOS", "l", "c", "RANK", "-9223372036854775808"]), int(7));
        assert_eq!(
            t.cmd(&["LPOS", "l", "c", "RANK", "-9223372036854775808", "COUNT", "1"]),
            t.cmd(&["LPOS", "l", "c", "RANK", "-1", "COUNT", "0"])
        );
        assert_eq!(t.cmd(&["LPOS", "l", "c", "COUNT", "-1"]), err("ERR COUNT can't be negative"));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "COUNT", "x"]), err("ERR COUNT can't be negative"));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "MAXLEN", "-1"]), err("ERR MAXLEN can't be negative"));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "COUNT"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["LPOS", "l", "c", "FOO", "1"]), err("ERR syntax error"));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["LPOS", "s", "c"]), err(WRONGTYPE));
        // Options are parsed before the key is looked at.
        assert!(t.cmd(&["LPOS", "s", "c", "RANK", "0"]).is_error());
        assert!(t.cmd(&["LPOS", "missing", "c", "RANK", "0"]).is_error());
    }

    #[test]
    fn lmove_and_rpoplpush() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["RPOPLPUSH", "src", "dst"]), Reply::Nil);
        assert_eq!(t.cmd(&["LMOVE", "src", "dst", "LEFT", "UP"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["LMOVE", "src", "dst", "LEFT", "RIGHT"]), Reply::Nil);
        assert!(!exists(&mut t, "dst"));
        t.cmd(&["RPUSH", "src", "a", "b", "c"]);
        assert_eq!(t.cmd(&["RPOPLPUSH", "src", "dst"]), bulk("c"));
        assert_eq!(t.cmd(&["LMOVE", "src", "dst", "LEFT", "RIGHT"]), bulk("a"));
        assert_eq!(range(&mut t, "dst"), arr(&["c", "a"]));
        assert_eq!(t.cmd(&["LMOVE", "src", "dst", "right", "left"]), bulk("b"));
        assert!(!exists(&mut t, "src"));
        assert_eq!(range(&mut t, "dst"), arr(&["b", "c", "a"]));
        // Rotation on the same key.
        assert_eq!(t.cmd(&["RPOPLPUSH", "dst", "dst"]), bulk("a"));
        assert_eq!(range(&mut t, "dst"), arr(&["a", "b", "c"]));
        assert_eq!(t.cmd(&["LMOVE", "dst", "dst", "LEFT", "RIGHT"]), bulk("a"));
        assert_eq!(range(&mut t, "dst"), arr(&["b", "c", "a"]));
        t.cmd(&["RPUSH", "one", "x"]);
        assert_eq!(t.cmd(&["RPOPLPUSH", "one", "one"]), bulk("x"));
        assert_eq!(range(&mut t, "one"), arr(&["x"]));
        // Wrong types: source then destination; nothing moves.
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["RPOPLPUSH", "s", "dst"]), err(WRONGTYPE));
        assert_eq!(t.cmd(&["RPOPLPUSH", "dst", "s"]), err(WRONGTYPE));
        assert_eq!(t.cmd(&["LMOVE", "dst", "s", "LEFT", "LEFT"]), err(WRONGTYPE));
        assert_eq!(range(&mut t, "dst"), arr(&["b", "c", "a"]));
        // Missing source with a wrong-type destination: null, as Redis.
        assert_eq!(t.cmd(&["RPOPLPUSH", "nosrc", "s"]), Reply::Nil);
        assert!(t.ks.ready_keys.iter().any(|(_, k)| &k[..] == b"dst"));
    }

    #[test]
    fn lmpop_cases() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["LMPOP", "2", "a", "b", "LEFT"]), Reply::NilArray);
        assert_eq!(t.cmd(&["LMPOP", "0", "a", "LEFT"]), err("ERR numkeys should be greater than 0"));
        assert_eq!(t.cmd(&["LMPOP", "x", "a", "LEFT"]), err("ERR numkeys should be greater than 0"));
        assert_eq!(t.cmd(&["LMPOP", "3", "a", "LEFT"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["LMPOP", "9223372036854775807", "a", "LEFT"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["LMPOP", "1", "a", "MIDDLE"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT", "0"]), err("ERR count should be greater than 0"));
        assert_eq!(t.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT", "x"]), err("ERR count should be greater than 0"));
        assert_eq!(t.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["LMPOP", "1"]), err("ERR wrong number of arguments for 'lmpop' command"));
        t.cmd(&["RPUSH", "b", "1", "2", "3"]);
        assert_eq!(t.cmd(&["LMPOP", "2", "a", "b", "LEFT"]), Reply::Array(vec![bulk("b"), arr(&["1"])]));
        assert_eq!(
            t.cmd(&["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "10"]),
            Reply::Array(vec![bulk("b"), arr(&["3", "2"])])
        );
        assert!(!exists(&mut t, "b"));
        t.cmd(&["SET", "s", "v"]);
        t.cmd(&["RPUSH", "c", "1"]);
        assert_eq!(t.cmd(&["LMPOP", "2", "s", "c", "LEFT"]), err(WRONGTYPE));
        assert_eq!(t.cmd(&["LMPOP", "2", "c", "s", "LEFT"]), Reply::Array(vec![bulk("c"), arr(&["1"])]));
    }

    #[test]
    fn blocking_pops() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["BLPOP", "a", "b", "x"]), err("ERR timeout is not a float or out of range"));
        assert_eq!(t.cmd(&["BLPOP", "a", "b", "-1"]), err("ERR timeout is negative"));
        t.cmd(&["SET", "s", "v"]);
        // The timeout is checked before the keys.
        assert_eq!(t.cmd(&["BLPOP", "s", "x"]), err("ERR timeout is not a float or out of range"));
        assert_eq!(t.cmd(&["BLPOP", "s", "0"]), err(WRONGTYPE));
        t.cmd(&["RPUSH", "b", "1", "2"]);
        assert_eq!(t.cmd(&["BLPOP", "a", "b", "0"]), arr(&["b", "1"]));
        assert_eq!(t.cmd(&["BRPOP", "a", "b", "s", "0"]), arr(&["b", "2"]));
        assert!(!exists(&mut t, "b"));

        // Nothing to pop: the handler asks to block.
        let args: Vec<bytes::Bytes> =
            ["BLPOP", "a", "b", "1.5"].iter().map(|s| bytes::Bytes::copy_from_slice(s.as_bytes())).collect();
        let mut ctx = crate::redis::Ctx::new(&mut t.ks, 0, t.now_ms, &mut t.rng);
        assert_eq!(crate::redis::run(&mut ctx, &args), Reply::NilArray);
        assert_eq!(ctx.block_ms, Some(1500));
    }

    fn run_block(t: &mut T, parts: &[&str]) -> (Reply, Option<u64>) {
        let args: Vec<bytes::Bytes> = parts.iter().map(|s| bytes::Bytes::copy_from_slice(s.as_bytes())).collect();
        let mut ctx = crate::redis::Ctx::new(&mut t.ks, 0, t.now_ms, &mut t.rng);
        let r = crate::redis::run(&mut ctx, &args);
        (r, ctx.block_ms)
    }

    #[test]
    fn blocking_moves() {
        let mut t = T::new();
        assert_eq!(run_block(&mut t, &["BRPOPLPUSH", "a", "b", "0"]), (Reply::NilArray, Some(0)));
        assert_eq!(run_block(&mut t, &["BLMOVE", "a", "b", "LEFT", "RIGHT", "2"]), (Reply::NilArray, Some(2000)));
        assert_eq!(t.cmd(&["BLMOVE", "a", "b", "LEFT", "UP", "2"]), err("ERR syntax error"));
        assert_eq!(
            t.cmd(&["BLMOVE", "a", "b", "LEFT", "RIGHT", "x"]),
            err("ERR timeout is not a float or out of range")
        );
        assert_eq!(t.cmd(&["BRPOPLPUSH", "a", "b", "-1"]), err("ERR timeout is negative"));
        t.cmd(&["RPUSH", "a", "1", "2"]);
        assert_eq!(run_block(&mut t, &["BRPOPLPUSH", "a", "b", "0"]), (bulk("2"), None));
        assert_eq!(run_block(&mut t, &["BLMOVE", "a", "b", "LEFT", "RIGHT", "0"]), (bulk("1"), None));
        assert!(!exists(&mut t, "a"));
        assert_eq!(range(&mut t, "b"), arr(&["2", "1"]));
        t.cmd(&["SET", "s", "v"]);
        assert_eq!(t.cmd(&["BRPOPLPUSH", "s", "b", "0"]), err(WRONGTYPE));
        assert_eq!(t.cmd(&["BRPOPLPUSH", "b", "s", "0"]), err(WRONGTYPE));
        assert_eq!(range(&mut t, "b"), arr(&["2", "1"]));
    }

    #[test]
    fn blmpop_cases() {
        let mut t = T::new();
        assert_eq!(run_block(&mut t, &["BLMPOP", "0.1", "2", "a", "b", "LEFT"]), (Reply::NilArray, Some(100)));
        assert_eq!(t.cmd(&["BLMPOP", "x", "0", "a", "LEFT"]), err("ERR numkeys should be greater than 0"));
        // The timeout is parsed after numkeys, direction and COUNT, as Redis does.
        assert_eq!(t.cmd(&["BLMPOP", "x", "1", "a", "UP"]), err("ERR syntax error"));
        assert_eq!(t.cmd(&["BLMPOP", "x", "1", "a", "LEFT"]), err("ERR timeout is not a float or out of range"));
        assert_eq!(t.cmd(&["BLMPOP", "-1", "1", "a", "LEFT"]), err("ERR timeout is negative"));
        t.cmd(&["RPUSH", "b", "1", "2", "3"]);
        assert_eq!(
            run_block(&mut t, &["BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2"]),
            (Reply::Array(vec![bulk("b"), arr(&["3", "2"])]), None)
        );
        assert_eq!(t.cmd(&["BLMPOP", "0", "1", "b", "LEFT"]), Reply::Array(vec![bulk("b"), arr(&["1"])]));
        assert!(!exists(&mut t, "b"));
    }

    #[test]
    fn key_specs() {
        use bytes::Bytes;
        let argv = |p: &[&str]| -> Vec<Bytes> { p.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect() };
        let blpop = crate::redis::lookup(b"blpop").unwrap();
        assert_eq!(blpop.key_positions(&argv(&["BLPOP", "a", "b", "0"])), vec![1, 2]);
        let blmpop = crate::redis::lookup(b"blmpop").unwrap();
        assert_eq!(blmpop.key_positions(&argv(&["BLMPOP", "0", "2", "a", "b", "LEFT"])), vec![3, 4]);
        let lmpop = crate::redis::lookup(b"lmpop").unwrap();
        assert_eq!(lmpop.key_positions(&argv(&["LMPOP", "2", "a", "b", "LEFT"])), vec![2, 3]);
        let lmove = crate::redis::lookup(b"lmove").unwrap();
        assert_eq!(lmove.key_positions(&argv(&["LMOVE", "a", "b", "LEFT", "LEFT"])), vec![1, 2]);
    }

    #[test]
    fn expired_list_is_missing() {
        let mut t = T::new();
        t.cmd(&["RPUSH", "l", "a"]);
        t.ks.dbs[0].set_expire(b"l", Some(t.now_ms));
        assert_eq!(t.cmd(&["LLEN", "l"]), int(0));
        assert_eq!(t.cmd(&["LPUSH", "l", "b"]), int(1));
    }
}
