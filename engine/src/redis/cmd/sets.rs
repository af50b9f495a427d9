//! Set commands (<https://redis.io/commands/?group=set>), following Redis 7.0's `t_set.c`:
//! argument checks before key lookups where Redis does them, error texts, reply types, and
//! what the random commands log (SPOP logs SREM, or DEL when it empties the set).
//!
//! Where Redis 7.0 would hold the members as an intset (at most 512 members, all integers), its
//! replies list them in ascending numeric order; Orbit sorts such replies the same way. Every
//! other set's order is unspecified in Redis (a hash table), so any order matches it.
//!
//! Multi-key commands act on keys that are all in this keyspace: the shard layer gathers them.

use crate::keyspace::{scan_positions, Db, Entry};
use crate::redis::args;
use crate::redis::cmd::keys::{parse_cursor, parse_scan};
use crate::redis::flags::*;
use crate::redis::glob;
use crate::redis::{CommandSpec, Ctx, Exec, KeySpec};
use crate::reply::{errors, Reply};
use crate::value::{parse_i64_strict, SetValue, Value};
use bytes::Bytes;
use rand::Rng;

const fn spec(name: &'static str, arity: i32, flags: u32, keys: KeySpec, h: crate::redis::Handler) -> CommandSpec {
    CommandSpec { name, arity, flags, keys, group: "set", exec: Exec::Engine(h) }
}
const ONE: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };
const ALL: KeySpec = KeySpec::Range { first: 1, last: -1, step: 1 };

pub const COMMANDS: &[CommandSpec] = &[
    spec("sadd", -3, WRITE | DENYOOM | FAST, ONE, sadd),
    spec("srem", -3, WRITE | FAST, ONE, srem),
    spec("smembers", 2, READONLY, ONE, smembers),
    spec("sismember", 3, READONLY | FAST, ONE, sismember),
    spec("smismember", -3, READONLY | FAST, ONE, smismember),
    spec("scard", 2, READONLY | FAST, ONE, scard),
    spec("spop", -2, WRITE | FAST | RANDOM, ONE, spop),
    spec("srandmember", -2, READONLY | RANDOM, ONE, srandmember),
    spec("smove", 4, WRITE | FAST, KeySpec::Range { first: 1, last: 2, step: 1 }, smove),
    spec("sinter", -2, READONLY, ALL, sinter),
    spec("sintercard", -3, READONLY, KeySpec::NumKeys { count_at: 1, dest: false }, sintercard),
    spec("sinterstore", -3, WRITE | DENYOOM, ALL, sinterstore),
    spec("sunion", -2, READONLY, ALL, sunion),
    spec("sunionstore", -3, WRITE | DENYOOM, ALL, sunionstore),
    spec("sdiff", -2, READONLY, ALL, sdiff),
    spec("sdiffstore", -3, WRITE | DENYOOM, ALL, sdiffstore),
    spec("sscan", -3, READONLY, ONE, sscan),
];

/// `set-max-intset-entries` default.
const INTSET_MAX_ENTRIES: usize = 512;

/// The most elements SRANDMEMBER with a negative count replies with. Redis would stream any
/// count until memory runs out; Orbit refuses counts past this instead.
pub const MAX_RANDOM_REPLY: u64 = 1 << 22;

/// Redis's `SPOP_MOVE_STRATEGY_MUL`: SPOP with a count rebuilds the set when fewer than
/// count/5 members stay.
const SPOP_MOVE_STRATEGY_MUL: u64 = 5;

/// SPOP with a count logs its effect as SREM records of at most this many members.
const SREM_BATCH: usize = 1024;

fn new_set() -> Value {
    Value::Set(SetValue::default())
}

fn wrongtype() -> Reply {
    Reply::err(errors::WRONGTYPE)
}

/// True if Redis 7.0 would hold these members as an intset.
fn is_intset<'a>(len: usize, mut members: impl Iterator<Item = &'a Bytes>) -> bool {
    len <= INTSET_MAX_ENTRIES && members.all(|m| parse_i64_strict(m).is_some())
}

/// Puts `members` in the order Redis would reply with them: ascending for an intset.
fn intset_order(members: &mut [Bytes]) {
    if is_intset(members.len(), members.iter()) {
        members.sort_by_cached_key(|m| parse_i64_strict(m).unwrap_or(0));
    }
}

/// Bulk replies for `members`, in Redis's order.
fn member_replies(mut members: Vec<Bytes>) -> Vec<Reply> {
    intset_order(&mut members);
    members.into_iter().map(Reply::Bulk).collect()
}

/// Looks up every key as a set (deleting expired ones); a key of another type is a WRONGTYPE
/// error. Returns the sets, `None` for missing keys, in key order.
fn load_sets<'a>(db: &'a mut Db, keys: &[Bytes], now: u64) -> Result<Vec<Option<&'a SetValue>>, Reply> {
    for k in keys {
        db.get_set(k, now).map_err(Reply::from)?;
    }
    let db: &'a Db = db;
    Ok(keys
        .iter()
        .map(|k| match db.peek(k) {
            Some(Entry { value: Value::Set(s), .. }) => Some(s),
            _ => None,
        })
        .collect())
}

fn sadd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let s = match ctx.db().get_or_create(&args[1], now, new_set) {
        Ok(Value::Set(s)) => s,
        _ => return wrongtype(),
    };
    let mut added = 0;
    for m in &args[2..] {
        if s.add(m.clone()) {
            added += 1;
        }
    }
    if added > 0 {
        ctx.dirty(added);
    }
    Reply::Int(added as i64)
}

fn srem(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let key = &args[1];
    let db = ctx.db();
    let s = match db.get_set_mut(key, now) {
        Err(e) => return e.into(),
        Ok(None) => return Reply::Int(0),
        Ok(Some(s)) => s,
    };
    let mut removed = 0;
    for m in &args[2..] {
        if s.swap_remove(&m[..]) {
            removed += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    db.remove_if_empty(key);
    if removed > 0 {
        ctx.dirty(removed);
    }
    Reply::Int(removed as i64)
}

fn smembers(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_set(&args[1], now) {
        Err(e) => e.into(),
        Ok(None) => Reply::Set(Vec::new()),
        Ok(Some(s)) => Reply::Set(member_replies(s.iter().cloned().collect())),
    }
}

fn sismember(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_set(&args[1], now) {
        Err(e) => e.into(),
        Ok(s) => Reply::Int(s.is_some_and(|s| s.contains(&args[2][..])) as i64),
    }
}

fn smismember(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_set(&args[1], now) {
        Err(e) => e.into(),
        Ok(s) => {
            Reply::Array(args[2..].iter().map(|m| Reply::Int(s.is_some_and(|s| s.contains(&m[..])) as i64)).collect())
        }
    }
}

fn scard(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    match ctx.db().get_set(&args[1], now) {
        Err(e) => e.into(),
        Ok(s) => Reply::Int(s.map_or(0, |s| s.len()) as i64),
    }
}

fn spop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if args.len() > 3 {
        return Reply::err(errors::SYNTAX);
    }
    if args.len() == 3 {
        return spop_count(ctx, args);
    }
    let now = ctx.now_ms;
    let key = &args[1];
    let db = &mut ctx.ks.dbs[ctx.db];
    let s = match db.get_set_mut(key, now) {
        Err(e) => return e.into(),
        Ok(None) => return Reply::Nil,
        Ok(Some(s)) => s,
    };
    let i = ctx.rng.gen_range(0..s.len());
    let Some(m) = s.swap_remove_index(i) else {
        return Reply::Nil;
    };
    db.remove_if_empty(key);
    ctx.dirty(1);
    ctx.propagate(vec![Bytes::from_static(b"SREM"), key.clone(), m.clone()]);
    Reply::Bulk(m)
}

fn spop_count(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let count = match args::positive(&args[2]) {
        Ok(n) => n as u64,
        Err(e) => return e,
    };
    let now = ctx.now_ms;
    let key = &args[1];
    let db = &mut ctx.ks.dbs[ctx.db];
    let s = match db.get_set_mut(key, now) {
        Err(e) => return e.into(),
        Ok(None) => return Reply::Set(Vec::new()),
        Ok(Some(s)) => s,
    };
    if count == 0 {
        return Reply::Set(Vec::new());
    }
    let size = s.len();
    if count >= size as u64 {
        // The whole set: delete the key, log DEL.
        let members: Vec<Bytes> = match db.remove(key) {
            Some(Entry { value: Value::Set(s), .. }) => s.into_iter().collect(),
            _ => Vec::new(),
        };
        ctx.dirty(size as u64);
        ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
        return Reply::Set(member_replies(members));
    }
    let rng = &mut *ctx.rng;
    let mut popped = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let i = rng.gen_range(0..s.len());
        if let Some(m) = s.swap_remove_index(i) {
            popped.push(m);
        }
    }
    // Redis's CASE 3 (few members left): the remaining ones move to a new set, which is an
    // intset again if they are all integers.
    if (size as u64 - count) * SPOP_MOVE_STRATEGY_MUL <= count {
        *s = std::mem::take(s).into_iter().collect();
    }
    ctx.dirty(popped.len() as u64);
    for chunk in popped.chunks(SREM_BATCH) {
        let mut rec = Vec::with_capacity(chunk.len() + 2);
        rec.push(Bytes::from_static(b"SREM"));
        rec.push(key.clone());
        rec.extend(chunk.iter().cloned());
        ctx.propagate(rec);
    }
    Reply::Set(popped.into_iter().map(Reply::Bulk).collect())
}

fn srandmember(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    if args.len() > 3 {
        return Reply::err(errors::SYNTAX);
    }
    let now = ctx.now_ms;
    let db = &mut ctx.ks.dbs[ctx.db];
    if args.len() == 2 {
        return match db.get_set(&args[1], now) {
            Err(e) => e.into(),
            Ok(None) => Reply::Nil,
            Ok(Some(s)) => match s.get_index(ctx.rng.gen_range(0..s.len())) {
                Some(m) => Reply::Bulk(m.clone()),
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
    let s = match db.get_set(&args[1], now) {
        Err(e) => return e.into(),
        Ok(None) => return Reply::Array(Vec::new()),
        Ok(Some(s)) => s,
    };
    let count = l.unsigned_abs();
    if count == 0 || s.is_empty() {
        return Reply::Array(Vec::new());
    }
    let rng = &mut *ctx.rng;
    let size = s.len();
    // Case 1: repeats allowed (negative count) or a single pick.
    if l < 0 || count == 1 {
        if count > MAX_RANDOM_REPLY {
            return Reply::err("ERR value is out of range");
        }
        let out = (0..count).filter_map(|_| s.get_index(rng.gen_range(0..size))).map(|m| Reply::Bulk(m.clone()));
        return Reply::Array(out.collect());
    }
    // Case 2: the whole set.
    if count >= size as u64 {
        return Reply::Array(member_replies(s.iter().cloned().collect()));
    }
    // Cases 3 and 4: distinct random members.
    let picks = rand::seq::index::sample(rng, size, count as usize);
    Reply::Array(picks.into_iter().filter_map(|i| s.get_index(i)).map(|m| Reply::Bulk(m.clone())).collect())
}

fn smove(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let (src, dst, m) = (&args[1], &args[2], &args[3]);
    let db = ctx.db();
    let src_state = db.get_set(src, now).map(|s| s.is_some());
    let dst_state = db.get_set(dst, now).map(|s| s.is_some());
    match src_state {
        Ok(false) => return Reply::Int(0),
        Err(e) => return e.into(),
        Ok(true) => {}
    }
    if let Err(e) = dst_state {
        return e.into();
    }
    if src == dst {
        let member = matches!(db.get_set(src, now), Ok(Some(s)) if s.contains(&m[..]));
        return Reply::Int(member as i64);
    }
    let removed = match db.get_set_mut(src, now) {
        Ok(Some(s)) => s.swap_remove(&m[..]),
        _ => false,
    };
    if !removed {
        return Reply::Int(0);
    }
    db.remove_if_empty(src);
    let added = match db.get_or_create(dst, now, new_set) {
        Ok(Value::Set(s)) => s.add(m.clone()),
        _ => false,
    };
    ctx.dirty(1 + added as u64);
    Reply::Int(1)
}

/// The members of the intersection of `sets` (all present), walking the smallest set; stops
/// after `limit` members when `limit > 0`.
fn intersect(sets: &mut [&SetValue], limit: usize) -> Vec<Bytes> {
    sets.sort_by_key(|s| s.len());
    let Some((first, rest)) = sets.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for m in first.iter() {
        if rest.iter().all(|s| std::ptr::eq(*s, *first) || s.contains(m)) {
            out.push(m.clone());
            if limit > 0 && out.len() >= limit {
                break;
            }
        }
    }
    out
}

/// Counts the intersection of `sets` (all present), up to `limit` when `limit > 0`.
fn intersect_card(sets: &mut [&SetValue], limit: usize) -> usize {
    sets.sort_by_key(|s| s.len());
    let Some((first, rest)) = sets.split_first() else {
        return 0;
    };
    let mut n = 0;
    for m in first.iter() {
        if rest.iter().all(|s| std::ptr::eq(*s, *first) || s.contains(m)) {
            n += 1;
            if limit > 0 && n >= limit {
                break;
            }
        }
    }
    n
}

/// SINTER's members, or None when a key is missing (an empty result).
fn sinter_members(ctx: &mut Ctx, keys: &[Bytes]) -> Result<Vec<Bytes>, Reply> {
    let now = ctx.now_ms;
    let sets = load_sets(ctx.db(), keys, now)?;
    let Some(mut sets) = sets.into_iter().collect::<Option<Vec<_>>>() else {
        return Ok(Vec::new());
    };
    Ok(intersect(&mut sets, 0))
}

fn sunion_members(ctx: &mut Ctx, keys: &[Bytes]) -> Result<SetValue, Reply> {
    let now = ctx.now_ms;
    let sets = load_sets(ctx.db(), keys, now)?;
    let biggest = sets.iter().flatten().map(|s| s.len()).max().unwrap_or(0);
    let mut out = SetValue::with_capacity(biggest);
    for s in sets.into_iter().flatten() {
        for m in s.iter() {
            out.add(m.clone());
        }
    }
    Ok(out)
}

/// The difference, and whether Redis's SDIFFSTORE result would be a hash table whatever its
/// members: Redis's "algorithm 2" (chosen when the first set is large compared to the others)
/// first adds every member of the first set to the result, then removes the others' members,
/// and a set never converts back to an intset.
fn sdiff_members(ctx: &mut Ctx, keys: &[Bytes]) -> Result<(Vec<Bytes>, bool), Reply> {
    let now = ctx.now_ms;
    let sets = load_sets(ctx.db(), keys, now)?;
    let Some((Some(first), rest)) = sets.split_first() else {
        return Ok((Vec::new(), false));
    };
    let others: Vec<&SetValue> = rest.iter().flatten().copied().collect();
    let algo_one_work = (first.len() * (1 + others.len())) / 2;
    let algo_two_work = first.len() + others.iter().map(|s| s.len()).sum::<usize>();
    let hashtable = algo_one_work > algo_two_work
        && (first.len() > INTSET_MAX_ENTRIES || first.iter().any(|m| parse_i64_strict(m).is_none()));
    let diff = first.iter().filter(|m| !others.iter().any(|s| s.contains(*m))).cloned().collect();
    Ok((diff, hashtable))
}

/// Stores `members` at `dst` (replacing it and its TTL), or deletes `dst` when there are none.
/// Replies with the cardinality, as the *STORE commands do.
fn store(ctx: &mut Ctx, dst: &Bytes, members: SetValue) -> Reply {
    let n = members.len();
    if n == 0 {
        let now = ctx.now_ms;
        let db = ctx.db();
        db.expire_if_needed(dst, now);
        if db.remove(dst).is_some() {
            ctx.dirty(1);
        }
        return Reply::Int(0);
    }
    ctx.db().set(dst.clone(), Value::Set(members));
    ctx.dirty(1);
    Reply::Int(n as i64)
}

/// A new set of `members` as Redis builds a *STORE result (`createIntsetObject` +
/// `setTypeAdd`).
fn to_set(members: Vec<Bytes>) -> SetValue {
    members.into_iter().collect()
}

fn sinter(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match sinter_members(ctx, &args[1..]) {
        Ok(m) => Reply::Set(member_replies(m)),
        Err(e) => e,
    }
}

fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match sinter_members(ctx, &args[2..]) {
        Ok(m) => store(ctx, &args[1], to_set(m)),
        Err(e) => e,
    }
}

fn sunion(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match sunion_members(ctx, &args[1..]) {
        Ok(m) => Reply::Set(member_replies(m.into_iter().collect())),
        Err(e) => e,
    }
}

fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match sunion_members(ctx, &args[2..]) {
        Ok(m) => store(ctx, &args[1], m),
        Err(e) => e,
    }
}

fn sdiff(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match sdiff_members(ctx, &args[1..]) {
        Ok((m, _)) => Reply::Set(member_replies(m)),
        Err(e) => e,
    }
}

fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    match sdiff_members(ctx, &args[2..]) {
        Ok((m, hashtable)) => {
            let mut set = to_set(m);
            if hashtable {
                set.convert_to_hashtable();
            }
            store(ctx, &args[1], set)
        }
        Err(e) => e,
    }
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit], as Redis 7.0's `sinterCardCommand`.
fn sintercard(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let numkeys = match parse_i64_strict(&args[1]) {
        Some(n) if n >= 1 => n,
        _ => return Reply::err("ERR numkeys should be greater than 0"),
    };
    if numkeys > (args.len() - 2) as i64 {
        return Reply::err("ERR Number of keys can't be greater than number of args");
    }
    let numkeys = numkeys as usize;
    let mut limit = 0usize;
    let mut j = 2 + numkeys;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if args::is(&args[j], "limit") && more > 0 {
            j += 1;
            match parse_i64_strict(&args[j]) {
                Some(n) if n >= 0 => limit = usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Reply::err("ERR LIMIT can't be negative"),
            }
        } else {
            return Reply::err(errors::SYNTAX);
        }
        j += 1;
    }
    let now = ctx.now_ms;
    let sets = match load_sets(ctx.db(), &args[2..2 + numkeys], now) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let Some(mut sets) = sets.into_iter().collect::<Option<Vec<_>>>() else {
        return Reply::Int(0);
    };
    Reply::Int(intersect_card(&mut sets, limit) as i64)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. An intset-sized integer set is returned
/// whole (ascending) with cursor 0, as Redis does; other sets walk `scan_positions`.
fn sscan(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let cursor = match parse_cursor(&args[2]) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let now = ctx.now_ms;
    let s = match ctx.db().get_set(&args[1], now) {
        Err(e) => return e.into(),
        Ok(None) => return Reply::Array(vec![Reply::bulk("0"), Reply::Array(Vec::new())]),
        Ok(Some(s)) => s,
    };
    let o = match parse_scan(args, 2, false) {
        Ok((_, o)) => o,
        Err(e) => return e,
    };
    let intset = s.is_intset();
    let (next, mut members) = if intset {
        (0, s.iter().cloned().collect::<Vec<_>>())
    } else {
        let (next, range) = scan_positions(s.len(), cursor, o.count);
        (next, range.filter_map(|i| s.get_index(i).cloned()).collect())
    };
    if intset {
        members.sort_by_cached_key(|m| parse_i64_strict(m).unwrap_or(0));
    }
    if let Some(p) = o.pattern.as_ref().filter(|p| &p[..] != b"*") {
        members.retain(|m| glob::matches(p, m, false));
    }
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(members.into_iter().map(Reply::Bulk).collect()),
    ])
}

#[cfg(test)]
mod tests {
    use crate::redis::testing::{arr, bulk, T};
    use crate::reply::Reply;
    use bytes::Bytes;

    const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

    fn set(items: &[&str]) -> Reply {
        Reply::Set(items.iter().map(|s| bulk(s)).collect())
    }

    fn strings(r: Reply) -> Vec<String> {
        let items = match r {
            Reply::Array(v) | Reply::Set(v) => v,
            other => panic!("not an array: {other:?}"),
        };
        items
            .into_iter()
            .map(|r| match r {
                Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect()
    }

    fn sorted(r: Reply) -> Vec<String> {
        let mut v = strings(r);
        v.sort();
        v
    }

    /// Runs a command and returns its reply and what it logged instead of its argv.
    fn logged(t: &mut T, parts: &[&str]) -> (Reply, Option<Vec<Vec<Bytes>>>) {
        let args: Vec<Bytes> = parts.iter().map(|p| Bytes::copy_from_slice(p.as_bytes())).collect();
        let mut ctx = crate::redis::Ctx::new(&mut t.ks, t.db, t.now_ms, &mut t.rng);
        let r = crate::redis::run(&mut ctx, &args);
        (r, ctx.rewrite.take())
    }

    #[test]
    fn sadd_srem_scard_members() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["SADD", "s", "a", "b", "a", "c"]), Reply::Int(3));
        assert_eq!(t.cmd(&["SADD", "s", "a", "d"]), Reply::Int(1));
        let before = t.ks.dirty;
        assert_eq!(t.cmd(&["SADD", "s", "a"]), Reply::Int(0));
        assert_eq!(t.ks.dirty, before);
        assert_eq!(t.cmd(&["SCARD", "s"]), Reply::Int(4));
        assert_eq!(t.cmd(&["SCARD", "no"]), Reply::Int(0));
        assert_eq!(sorted(t.cmd(&["SMEMBERS", "s"])), vec!["a", "b", "c", "d"]);
        assert_eq!(t.cmd(&["SMEMBERS", "no"]), set(&[]));
        assert_eq!(t.cmd(&["SREM", "s", "a", "x", "a"]), Reply::Int(1));
        assert_eq!(t.cmd(&["SREM", "no", "a"]), Reply::Int(0));
        assert_eq!(t.cmd(&["SREM", "s", "b", "c", "d", "e"]), Reply::Int(3));
        assert_eq!(t.cmd(&["EXISTS", "s"]), Reply::Int(0));
        t.cmd(&["SET", "str", "v"]);
        assert_eq!(t.cmd(&["SADD", "str", "a"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SREM", "str", "a"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SCARD", "str"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SMEMBERS", "str"]), Reply::err(WRONGTYPE));
    }

    #[test]
    fn intset_replies_are_sorted() {
        let mut t = T::new();
        t.cmd(&["SADD", "i", "10", "-3", "2", "100", "0"]);
        assert_eq!(t.cmd(&["SMEMBERS", "i"]), set(&["-3", "0", "2", "10", "100"]));
        t.cmd(&["SADD", "j", "2", "5", "100"]);
        assert_eq!(t.cmd(&["SINTER", "i", "j"]), set(&["2", "100"]));
        assert_eq!(t.cmd(&["SUNION", "j", "i"]), set(&["-3", "0", "2", "5", "10", "100"]));
        assert_eq!(t.cmd(&["SDIFF", "i", "j"]), set(&["-3", "0", "10"]));
        assert_eq!(t.cmd(&["SRANDMEMBER", "i", "10"]), arr(&["-3", "0", "2", "10", "100"]));
        assert_eq!(
            t.cmd(&["SSCAN", "i", "0", "COUNT", "1"]),
            Reply::Array(vec![bulk("0"), arr(&["-3", "0", "2", "10", "100"])])
        );
    }

    #[test]
    fn ismember_and_mismember() {
        let mut t = T::new();
        t.cmd(&["SADD", "s", "a", "b"]);
        assert_eq!(t.cmd(&["SISMEMBER", "s", "a"]), Reply::Int(1));
        assert_eq!(t.cmd(&["SISMEMBER", "s", "z"]), Reply::Int(0));
        assert_eq!(t.cmd(&["SISMEMBER", "no", "z"]), Reply::Int(0));
        assert_eq!(
            t.cmd(&["SMISMEMBER", "s", "a", "z", "b"]),
            Reply::Array(vec![Reply::Int(1), Reply::Int(0), Reply::Int(1)])
        );
        assert_eq!(t.cmd(&["SMISMEMBER", "no", "a"]), Reply::Array(vec![Reply::Int(0)]));
        t.cmd(&["SET", "str", "v"]);
        assert_eq!(t.cmd(&["SISMEMBER", "str", "a"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SMISMEMBER", "str", "a"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SMISMEMBER", "s"]), Reply::err("ERR wrong number of arguments for 'smismember' command"));
    }

    #[test]
    fn spop_single_and_count() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["SPOP", "no"]), Reply::Nil);
        assert_eq!(t.cmd(&["SPOP", "no", "3"]), set(&[]));
        assert_eq!(t.cmd(&["SPOP", "no", "-1"]), Reply::err("ERR value is out of range, must be positive"));
        assert_eq!(t.cmd(&["SPOP", "no", "1", "2"]), Reply::err("ERR syntax error"));
        t.cmd(&["SADD", "s", "a", "b", "c", "d", "e"]);
        let (r, log) = logged(&mut t, &["SPOP", "s"]);
        let Reply::Bulk(m) = r else { panic!("{r:?}") };
        assert_eq!(log, Some(vec![vec![Bytes::from_static(b"SREM"), Bytes::from_static(b"s"), m.clone()]]));
        assert_eq!(t.cmd(&["SISMEMBER", "s", std::str::from_utf8(&m).unwrap()]), Reply::Int(0));
        assert_eq!(t.cmd(&["SPOP", "s", "0"]), set(&[]));
        let (r, log) = logged(&mut t, &["SPOP", "s", "2"]);
        let popped = sorted(r);
        assert_eq!(popped.len(), 2);
        let log = log.expect("logged");
        assert_eq!(log.len(), 1);
        assert_eq!(&log[0][..2], &[Bytes::from_static(b"SREM"), Bytes::from_static(b"s")]);
        let mut logged_members: Vec<String> =
            log[0][2..].iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
        logged_members.sort();
        assert_eq!(logged_members, popped);
        assert_eq!(t.cmd(&["SCARD", "s"]), Reply::Int(2));
        let (r, log) = logged(&mut t, &["SPOP", "s", "5"]);
        assert_eq!(strings(r).len(), 2);
        assert_eq!(log, Some(vec![vec![Bytes::from_static(b"DEL"), Bytes::from_static(b"s")]]));
        assert_eq!(t.cmd(&["EXISTS", "s"]), Reply::Int(0));
        // Last member popped singly deletes the key.
        t.cmd(&["SADD", "one", "x"]);
        assert_eq!(t.cmd(&["SPOP", "one"]), bulk("x"));
        assert_eq!(t.cmd(&["EXISTS", "one"]), Reply::Int(0));
        t.cmd(&["SET", "str", "v"]);
        assert_eq!(t.cmd(&["SPOP", "str"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SPOP", "str", "1"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SPOP", "str", "x"]), Reply::err("ERR value is out of range, must be positive"));
    }

    #[test]
    fn spop_large_batches_srem() {
        let mut t = T::new();
        let mut args = vec!["SADD".to_string(), "s".to_string()];
        for i in 0..3000 {
            args.push(format!("m{i}"));
        }
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        t.cmd(&refs);
        let (r, log) = logged(&mut t, &["SPOP", "s", "2500"]);
        let mut got = strings(r);
        got.sort();
        got.dedup();
        assert_eq!(got.len(), 2500);
        let log = log.unwrap();
        assert_eq!(log.len(), 3);
        assert_eq!(log.iter().map(|r| r.len() - 2).sum::<usize>(), 2500);
        assert_eq!(t.cmd(&["SCARD", "s"]), Reply::Int(500));
    }

    #[test]
    fn srandmember_counts() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["SRANDMEMBER", "no"]), Reply::Nil);
        assert_eq!(t.cmd(&["SRANDMEMBER", "no", "5"]), Reply::Array(vec![]));
        assert_eq!(t.cmd(&["SRANDMEMBER", "no", "-5"]), Reply::Array(vec![]));
        t.cmd(&["SADD", "s", "a", "b", "c", "d", "e"]);
        let one = t.cmd(&["SRANDMEMBER", "s"]);
        assert!(matches!(one, Reply::Bulk(_)));
        assert_eq!(t.cmd(&["SRANDMEMBER", "s", "0"]), Reply::Array(vec![]));
        assert_eq!(sorted(t.cmd(&["SRANDMEMBER", "s", "10"])), vec!["a", "b", "c", "d", "e"]);
        for n in 1..5 {
            let mut got = strings(t.cmd(&["SRANDMEMBER", "s", &n.to_string()]));
            got.sort();
            got.dedup();
            assert_eq!(got.len(), n);
        }
        let got = strings(t.cmd(&["SRANDMEMBER", "s", "-30"]));
        assert_eq!(got.len(), 30);
        assert_eq!(t.cmd(&["SCARD", "s"]), Reply::Int(5));
        assert_eq!(t.cmd(&["SRANDMEMBER", "s", "1", "2"]), Reply::err("ERR syntax error"));
        assert_eq!(t.cmd(&["SRANDMEMBER", "s", "x"]), Reply::err("ERR value is not an integer or out of range"));
        assert_eq!(
            t.cmd(&["SRANDMEMBER", "s", "-9223372036854775808"]),
            Reply::err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        );
        assert_eq!(t.cmd(&["SRANDMEMBER", "s", "-9223372036854775807"]), Reply::err("ERR value is out of range"));
        t.cmd(&["SET", "str", "v"]);
        assert_eq!(t.cmd(&["SRANDMEMBER", "str"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SRANDMEMBER", "str", "2"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SRANDMEMBER", "str", "x"]), Reply::err("ERR value is not an integer or out of range"));
    }

    #[test]
    fn smove_rules() {
        let mut t = T::new();
        t.cmd(&["SADD", "a", "x", "y"]);
        t.cmd(&["SET", "str", "v"]);
        // Missing source: 0 even if the destination has the wrong type.
        assert_eq!(t.cmd(&["SMOVE", "no", "str", "x"]), Reply::Int(0));
        assert_eq!(t.cmd(&["SMOVE", "str", "a", "x"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SMOVE", "a", "str", "x"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SMOVE", "a", "a", "x"]), Reply::Int(1));
        assert_eq!(t.cmd(&["SMOVE", "a", "a", "z"]), Reply::Int(0));
        assert_eq!(t.cmd(&["SMOVE", "a", "b", "z"]), Reply::Int(0));
        assert_eq!(t.cmd(&["EXISTS", "b"]), Reply::Int(0));
        assert_eq!(t.cmd(&["SMOVE", "a", "b", "x"]), Reply::Int(1));
        assert_eq!(t.cmd(&["SMEMBERS", "b"]), set(&["x"]));
        t.cmd(&["SADD", "b", "y"]);
        assert_eq!(t.cmd(&["SMOVE", "a", "b", "y"]), Reply::Int(1));
        assert_eq!(t.cmd(&["EXISTS", "a"]), Reply::Int(0));
        assert_eq!(sorted(t.cmd(&["SMEMBERS", "b"])), vec!["x", "y"]);
    }

    #[test]
    fn inter_union_diff() {
        let mut t = T::new();
        t.cmd(&["SADD", "a", "1", "2", "3", "x"]);
        t.cmd(&["SADD", "b", "2", "3", "4", "x", "y"]);
        t.cmd(&["SADD", "c", "3", "x", "z"]);
        assert_eq!(sorted(t.cmd(&["SINTER", "a", "b", "c"])), vec!["3", "x"]);
        assert_eq!(sorted(t.cmd(&["SINTER", "a"])), vec!["1", "2", "3", "x"]);
        assert_eq!(t.cmd(&["SINTER", "a", "no"]), set(&[]));
        assert_eq!(sorted(t.cmd(&["SUNION", "a", "no", "c"])), vec!["1", "2", "3", "x", "z"]);
        assert_eq!(t.cmd(&["SUNION", "no"]), set(&[]));
        assert_eq!(sorted(t.cmd(&["SDIFF", "b", "a", "no"])), vec!["4", "y"]);
        assert_eq!(t.cmd(&["SDIFF", "no", "a"]), set(&[]));
        assert_eq!(t.cmd(&["SDIFF", "a", "a"]), set(&[]));
        assert!(matches!(t.cmd(&["SINTER", "a", "b"]), Reply::Set(_)));
        t.cmd(&["SET", "str", "v"]);
        // A wrong type anywhere wins, even after a missing key.
        assert_eq!(t.cmd(&["SINTER", "no", "str"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SUNION", "a", "str"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SDIFF", "no", "str"]), Reply::err(WRONGTYPE));
        assert_eq!(t.cmd(&["SINTERSTORE", "d", "no", "str"]), Reply::err(WRONGTYPE));
    }

    #[test]
    fn store_variants() {
        let mut t = T::new();
        t.cmd(&["SADD", "a", "1", "2", "3"]);
        t.cmd(&["SADD", "b", "2", "3", "4"]);
        assert_eq!(t.cmd(&["SINTERSTORE", "d", "a", "b"]), Reply::Int(2));
        assert_eq!(t.cmd(&["SMEMBERS", "d"]), set(&["2", "3"]));
        assert_eq!(t.cmd(&["SUNIONSTORE", "d", "a", "b"]), Reply::Int(4));
        assert_eq!(t.cmd(&["SDIFFSTORE", "d", "a", "b"]), Reply::Int(1));
        assert_eq!(t.cmd(&["SMEMBERS", "d"]), set(&["1"]));
        // The destination may be a source.
        assert_eq!(t.cmd(&["SUNIONSTORE", "a", "a", "b"]), Reply::Int(4));
        // Overwrites other types and drops the TTL.
        t.cmd(&["SET", "str", "v"]);
        t.cmd(&["EXPIRE", "str", "100"]);
        assert_eq!(t.cmd(&["SINTERSTORE", "str", "a", "b"]), Reply::Int(3));
        assert_eq!(t.cmd(&["TYPE", "str"]), Reply::simple("set"));
        assert_eq!(t.cmd(&["TTL", "str"]), Reply::Int(-1));
        // An empty result deletes the destination.
        assert_eq!(t.cmd(&["SINTERSTORE", "str", "a", "missing"]), Reply::Int(0));
        assert_eq!(t.cmd(&["EXISTS", "str"]), Reply::Int(0));
        t.cmd(&["SET", "x", "v"]);
        assert_eq!(t.cmd(&["SDIFFSTORE", "x", "a", "a"]), Reply::Int(0));
        assert_eq!(t.cmd(&["EXISTS", "x"]), Reply::Int(0));
        t.cmd(&["SET", "x", "v"]);
        assert_eq!(t.cmd(&["SUNIONSTORE", "x", "missing"]), Reply::Int(0));
        assert_eq!(t.cmd(&["EXISTS", "x"]), Reply::Int(0));
        let before = t.ks.dirty;
        assert_eq!(t.cmd(&["SUNIONSTORE", "x", "missing"]), Reply::Int(0));
        assert_eq!(t.ks.dirty, before);
    }

    #[test]
    fn sintercard_parsing() {
        let mut t = T::new();
        t.cmd(&["SADD", "a", "1", "2", "3", "4"]);
        t.cmd(&["SADD", "b", "2", "3", "4", "5"]);
        assert_eq!(t.cmd(&["SINTERCARD", "2", "a", "b"]), Reply::Int(3));
        assert_eq!(t.cmd(&["SINTERCARD", "2", "a", "b", "LIMIT", "2"]), Reply::Int(2));
        assert_eq!(t.cmd(&["SINTERCARD", "2", "a", "b", "limit", "0"]), Reply::Int(3));
        assert_eq!(t.cmd(&["SINTERCARD", "2", "a", "no"]), Reply::Int(0));
        assert_eq!(t.cmd(&["SINTERCARD", "1", "a"]), Reply::Int(4));
        assert_eq!(t.cmd(&["SINTERCARD", "0", "a"]), Reply::err("ERR numkeys should be greater than 0"));
        assert_eq!(t.cmd(&["SINTERCARD", "x", "a"]), Reply::err("ERR numkeys should be greater than 0"));
        assert_eq!(
            t.cmd(&["SINTERCARD", "3", "a", "b"]),
            Reply::err("ERR Number of keys can't be greater than number of args")
        );
        assert_eq!(t.cmd(&["SINTERCARD", "2", "a", "b", "LIMIT", "-1"]), Reply::err("ERR LIMIT can't be negative"));
        assert_eq!(t.cmd(&["SINTERCARD", "2", "a", "b", "LIMIT", "x"]), Reply::err("ERR LIMIT can't be negative"));
        assert_eq!(t.cmd(&["SINTERCARD", "2", "a", "b", "LIMIT"]), Reply::err("ERR syntax error"));
        assert_eq!(t.cmd(&["SINTERCARD", "1", "a", "b"]), Reply::err("ERR syntax error"));
        t.cmd(&["SET", "str", "v"]);
        assert_eq!(t.cmd(&["SINTERCARD", "2", "no", "str"]), Reply::err(WRONGTYPE));
        let spec = crate::redis::lookup(b"sintercard").unwrap();
        let args: Vec<Bytes> = ["SINTERCARD", "2", "a", "b", "LIMIT", "1"].iter().map(|s| Bytes::from(*s)).collect();
        assert_eq!(spec.key_positions(&args), vec![2, 3]);
    }

    #[test]
    fn sscan_hashtable_cursor() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["SSCAN", "no", "0"]), Reply::Array(vec![bulk("0"), Reply::Array(vec![])]));
        assert_eq!(t.cmd(&["SSCAN", "no", "abc"]), Reply::err("ERR invalid cursor"));
        let mut args = vec!["SADD".to_string(), "s".to_string()];
        for i in 0..100 {
            args.push(format!("m{i}"));
        }
        let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        t.cmd(&refs);
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        let mut rounds = 0;
        loop {
            let Reply::Array(parts) = t.cmd(&["SSCAN", "s", &cursor, "COUNT", "9", "MATCH", "m1*"]) else { panic!() };
            let Reply::Bulk(c) = &parts[0] else { panic!() };
            for m in strings(parts[1].clone()) {
                assert!(m.starts_with("m1"));
                seen.insert(m);
            }
            cursor = String::from_utf8_lossy(c).into_owned();
            rounds += 1;
            if cursor == "0" {
                break;
            }
        }
        assert!(rounds > 5);
        assert_eq!(seen.len(), 11);
        assert_eq!(t.cmd(&["SSCAN", "s", "0", "COUNT", "0"]), Reply::err("ERR syntax error"));
        assert_eq!(t.cmd(&["SSCAN", "s", "0", "BOGUS"]), Reply::err("ERR syntax error"));
        t.cmd(&["SET", "str", "v"]);
        assert_eq!(t.cmd(&["SSCAN", "str", "0"]), Reply::err(WRONGTYPE));
    }
}
