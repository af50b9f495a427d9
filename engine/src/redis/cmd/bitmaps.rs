//! Bitmap commands (<https://redis.io/commands/?group=bitmap>), following Redis 7.0's
//! `bitops.c`: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO.
//!
//! Strings are bit arrays where bit 0 is the most significant bit of byte 0. Offsets are
//! limited to the 512MB string size (`proto-max-bulk-len`), as Redis limits them.

use crate::redis::args::{self, is};
use crate::redis::cmd::strings::MAX_STRING_BYTES;
use crate::redis::flags::*;
use crate::redis::{CommandSpec, Ctx, Exec, KeySpec};
use crate::reply::{errors, Reply};
use crate::value::{parse_i64_strict, StrValue, Value};
use bytes::Bytes;

const fn spec(name: &'static str, arity: i32, flags: u32, keys: KeySpec, h: crate::redis::Handler) -> CommandSpec {
    CommandSpec { name, arity, flags, keys, group: "bitmap", exec: Exec::Engine(h) }
}
const ONE: KeySpec = KeySpec::Range { first: 1, last: 1, step: 1 };

pub const COMMANDS: &[CommandSpec] = &[
    spec("setbit", 4, WRITE | DENYOOM, ONE, setbit),
    spec("getbit", 3, READONLY | FAST, ONE, getbit),
    spec("bitcount", -2, READONLY, ONE, bitcount),
    spec("bitpos", -3, READONLY, ONE, bitpos),
    spec("bitop", -4, WRITE | DENYOOM, KeySpec::Range { first: 2, last: -1, step: 1 }, bitop),
    spec("bitfield", -2, WRITE | DENYOOM, ONE, bitfield),
    spec("bitfield_ro", -2, READONLY | FAST, ONE, bitfield_ro),
];

const BIT_OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
const BIT_VALUE_ERR: &str = "ERR bit is not an integer or out of range";
const BIT_ARG_ERR: &str = "ERR The bit argument must be 1 or 0.";
const BITFIELD_TYPE_ERR: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

// ---------------------------------------------------------------------------------------------
// Low level helpers
// ---------------------------------------------------------------------------------------------

/// Number of set bits in `s` (Redis's `redisPopcount`), eight bytes at a time.
pub fn popcount(s: &[u8]) -> u64 {
    let mut chunks = s.chunks_exact(32);
    let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
    for ch in &mut chunks {
        let w = |i: usize| {
            u64::from_ne_bytes([ch[i], ch[i + 1], ch[i + 2], ch[i + 3], ch[i + 4], ch[i + 5], ch[i + 6], ch[i + 7]])
        };
        a += w(0).count_ones() as u64;
        b += w(8).count_ones() as u64;
        c += w(16).count_ones() as u64;
        d += w(24).count_ones() as u64;
    }
    let mut bits = a + b + c + d;
    let mut rest = chunks.remainder().chunks_exact(8);
    for ch in &mut rest {
        let mut w = [0u8; 8];
        w.copy_from_slice(ch);
        bits += u64::from_ne_bytes(w).count_ones() as u64;
    }
    for &byte in rest.remainder() {
        bits += byte.count_ones() as u64;
    }
    bits
}

/// Redis's `redisBitpos`: the position of the first bit equal to `bit` in `s`. When looking for
/// a 0 in a string of all ones it returns `s.len() * 8` (the string is taken as zero padded on
/// the right); when looking for a 1 in a string of all zeros it returns -1.
fn raw_bitpos(s: &[u8], bit: bool) -> i64 {
    let skip_byte = if bit { 0u8 } else { 0xff };
    let skip_word = if bit { 0u64 } else { u64::MAX };
    let mut i = 0;
    let mut words = s.chunks_exact(8);
    for ch in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(ch);
        if u64::from_ne_bytes(w) != skip_word {
            break;
        }
        i += 8;
    }
    while i < s.len() {
        let b = s[i];
        if b != skip_byte {
            let in_byte = if bit { b.leading_zeros() } else { (!b).leading_zeros() };
            return (i as i64) * 8 + in_byte as i64;
        }
        i += 1;
    }
    if bit {
        -1
    } else {
        (s.len() as i64) * 8
    }
}

/// Redis's `getBitOffsetFromArgument`: a bit offset, optionally in the `#N` form (N times
/// `bits`) when `hash_bits` is non-zero, below 2^32 (512MB of bits).
fn bit_offset(arg: &[u8], hash_bits: u64) -> Result<u64, Reply> {
    let use_hash = hash_bits > 0 && arg.first() == Some(&b'#');
    let digits = if use_hash { &arg[1..] } else { arg };
    let mut off = parse_i64_strict(digits).ok_or_else(|| Reply::err(BIT_OFFSET_ERR))?;
    if use_hash {
        // C multiplies signed integers here; a wrapped product comes out negative or huge
        // and is rejected below, as in Redis on the usual two's complement machines.
        off = off.wrapping_mul(hash_bits as i64);
    }
    if off < 0 || ((off >> 3) as u64) >= MAX_STRING_BYTES {
        return Err(Reply::err(BIT_OFFSET_ERR));
    }
    Ok(off as u64)
}

/// The string at `key`, created or zero padded so that bit `maxbit` exists (Redis's
/// `lookupStringForBitCommand`). Also returns whether it was created or grown.
fn string_for_bits<'a>(ctx: &'a mut Ctx, key: &[u8], maxbit: u64) -> Result<(&'a mut Vec<u8>, bool), Reply> {
    let now = ctx.now_ms;
    let need = (maxbit >> 3) as usize + 1;
    match ctx.db().get_or_create(key, now, || Value::Str(StrValue::raw(Vec::new()))) {
        Ok(Value::Str(s)) => {
            // Redis unshares the string before writing bits: it is raw from now on.
            let s = s.bytes_mut();
            let grown = s.len() < need;
            if grown {
                s.resize(need, 0);
            }
            Ok((s, grown))
        }
        Ok(_) | Err(_) => Err(Reply::err(errors::WRONGTYPE)),
    }
}

// ---------------------------------------------------------------------------------------------
// SETBIT / GETBIT
// ---------------------------------------------------------------------------------------------

fn setbit(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let offset = match bit_offset(&args[2], 0) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let on = match parse_i64_strict(&args[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Reply::err(BIT_VALUE_ERR),
    };
    let (s, grown) = match string_for_bits(ctx, &args[1], offset) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let byte = (offset >> 3) as usize;
    let mask = 1u8 << (7 - (offset & 7));
    let old = s[byte] & mask != 0;
    if grown || old != on {
        if on {
            s[byte] |= mask;
        } else {
            s[byte] &= !mask;
        }
        ctx.dirty(1);
    }
    Reply::Int(old as i64)
}

fn getbit(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let offset = match bit_offset(&args[2], 0) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let now = ctx.now_ms;
    let s = match ctx.db().get_str(&args[1], now) {
        Ok(Some(s)) => s,
        Ok(None) => return Reply::Int(0),
        Err(e) => return e.into(),
    };
    let byte = (offset >> 3) as usize;
    let bit = match s.get(byte) {
        Some(b) => (b >> (7 - (offset & 7))) & 1,
        None => 0,
    };
    Reply::Int(bit as i64)
}

// ---------------------------------------------------------------------------------------------
// BITCOUNT / BITPOS
// ---------------------------------------------------------------------------------------------

/// Whether the unit argument says BIT (true) or BYTE (false); otherwise a syntax error.
fn unit_is_bit(arg: &[u8]) -> Result<bool, Reply> {
    if is(arg, "bit") {
        Ok(true)
    } else if is(arg, "byte") {
        Ok(false)
    } else {
        Err(Reply::err(errors::SYNTAX))
    }
}

/// The byte range and edge masks Redis derives from a (start, end) pair: negative indexes count
/// from the end, the range is clamped to the string, and in BIT mode the masks hold the bits of
/// the first and last byte that lie outside the range.
struct Span {
    start: i64,
    end: i64,
    first_mask: u8,
    last_mask: u8,
}

fn span(mut start: i64, mut end: i64, len: usize, isbit: bool) -> Span {
    let mut totlen = len as i64;
    if isbit {
        totlen <<= 3;
    }
    if start < 0 {
        start += totlen;
    }
    if end < 0 {
        end += totlen;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= totlen {
        end = totlen - 1;
    }
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    if isbit && start <= end {
        first_mask = !(((1u32 << (8 - (start & 7))) - 1) as u8);
        last_mask = ((1u32 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Span { start, end, first_mask, last_mask }
}

fn bitcount(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    // Redis 7.0 looks the key up before parsing the range: a missing key answers 0 whatever
    // the other arguments are.
    let now = ctx.now_ms;
    let s: &[u8] = match ctx.db().get_str(&args[1], now) {
        Ok(Some(s)) => s,
        Ok(None) => return Reply::Int(0),
        Err(e) => return e.into(),
    };
    let sp = match args.len() {
        4 | 5 => {
            let (start, end) = match (args::int(&args[2]), args::int(&args[3])) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return e,
            };
            if start < 0 && end < 0 && start > end {
                return Reply::Int(0);
            }
            let isbit = match args.get(4) {
                Some(u) => match unit_is_bit(u) {
                    Ok(b) => b,
                    Err(e) => return e,
                },
                None => false,
            };
            span(start, end, s.len(), isbit)
        }
        2 => Span { start: 0, end: s.len() as i64 - 1, first_mask: 0, last_mask: 0 },
        _ => return Reply::err(errors::SYNTAX),
    };
    if sp.start > sp.end {
        return Reply::Int(0);
    }
    let (start, end) = (sp.start as usize, sp.end as usize);
    let mut count = popcount(&s[start..=end]);
    count -= (s[start] & sp.first_mask).count_ones() as u64;
    count -= (s[end] & sp.last_mask).count_ones() as u64;
    Reply::Int(count as i64)
}

fn bitpos(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let bit = match args::int(&args[2]) {
        Ok(0) => false,
        Ok(1) => true,
        Ok(_) => return Reply::err(BIT_ARG_ERR),
        Err(e) => return e,
    };
    let now = ctx.now_ms;
    // A missing key is an infinite run of zeros (Redis 7.0 answers before parsing the range).
    let s: &[u8] = match ctx.db().get_str(&args[1], now) {
        Ok(Some(s)) => s,
        Ok(None) => return Reply::Int(if bit { -1 } else { 0 }),
        Err(e) => return e.into(),
    };
    let mut end_given = false;
    let sp = match args.len() {
        4..=6 => {
            let start = match args::int(&args[3]) {
                Ok(v) => v,
                Err(e) => return e,
            };
            let isbit = match args.get(5) {
                Some(u) => match unit_is_bit(u) {
                    Ok(b) => b,
                    Err(e) => return e,
                },
                None => false,
            };
            let totlen = s.len() as i64;
            let end = if args.len() >= 5 {
                end_given = true;
                match args::int(&args[4]) {
                    Ok(v) => v,
                    Err(e) => return e,
                }
            } else if isbit {
                (totlen << 3) + 7
            } else {
                totlen - 1
            };
            span(start, end, s.len(), isbit)
        }
        3 => Span { start: 0, end: s.len() as i64 - 1, first_mask: 0, last_mask: 0 },
        _ => return Reply::err(errors::SYNTAX),
    };
    if sp.start > sp.end {
        return Reply::Int(-1);
    }
    let (mut start, end) = (sp.start as usize, sp.end as usize);
    let (first_mask, last_mask) = (sp.first_mask, sp.last_mask);
    let mut bytes = end - start + 1;
    // Bits outside the range are forced to the value not looked for.
    let masked = |b: u8, mask: u8| if bit { b & !mask } else { b | mask };
    let pos = 'search: {
        if first_mask != 0 {
            let mut tmp = masked(s[start], first_mask);
            if last_mask != 0 && bytes == 1 {
                tmp = masked(tmp, last_mask);
            }
            let pos = raw_bitpos(&[tmp], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'search pos;
            }
            start += 1;
            bytes -= 1;
        }
        // The last byte is handled on its own when part of it lies outside the range.
        let curbytes = bytes - (last_mask != 0) as usize;
        if curbytes > 0 {
            let pos = raw_bitpos(&s[start..start + curbytes], bit);
            if bytes == curbytes || (pos != -1 && pos != (curbytes as i64) << 3) {
                break 'search pos;
            }
            start += curbytes;
            bytes -= curbytes;
        }
        raw_bitpos(&[masked(s[end], last_mask)], bit)
    };
    // With an explicit end, looking for a 0 does not see the zero padding past the range.
    if end_given && !bit && pos == (bytes as i64) << 3 {
        return Reply::Int(-1);
    }
    if pos == -1 {
        Reply::Int(-1)
    } else {
        Reply::Int(pos + ((start as i64) << 3))
    }
}

// ---------------------------------------------------------------------------------------------
// BITOP
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let op = if is(&args[1], "and") {
        BitOp::And
    } else if is(&args[1], "or") {
        BitOp::Or
    } else if is(&args[1], "xor") {
        BitOp::Xor
    } else if is(&args[1], "not") {
        BitOp::Not
    } else {
        return Reply::err(errors::SYNTAX);
    };
    if op == BitOp::Not && args.len() != 4 {
        return Reply::err("ERR BITOP NOT must be called with a single source key.");
    }
    let now = ctx.now_ms;
    let db = ctx.db();
    let sources = &args[3..];
    // Expire and type-check every source first, then borrow them all at once.
    for k in sources {
        if let Err(e) = db.get_str(k, now) {
            return e.into();
        }
    }
    let srcs: Vec<&[u8]> = sources
        .iter()
        .map(|k| match db.peek(k) {
            Some(e) => match &e.value {
                Value::Str(s) => s.as_slice(),
                _ => &[][..],
            },
            None => &[][..],
        })
        .collect();
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let minlen = srcs.iter().map(|s| s.len()).min().unwrap_or(0);
    let dest = &args[2];
    if maxlen == 0 {
        if db.remove(dest).is_some() {
            ctx.dirty(1);
        }
        return Reply::Int(0);
    }
    let first = srcs[0];
    let res = match op {
        BitOp::Not => first.iter().map(|b| !b).collect::<Vec<u8>>(),
        BitOp::And => {
            // Missing bytes are zeros: everything past the shortest source is 0.
            let mut res = first[..minlen].to_vec();
            for s in &srcs[1..] {
                for (r, b) in res.iter_mut().zip(&s[..minlen]) {
                    *r &= *b;
                }
            }
            res.resize(maxlen, 0);
            res
        }
        BitOp::Or | BitOp::Xor => {
            let mut res = Vec::with_capacity(maxlen);
            res.extend_from_slice(first);
            res.resize(maxlen, 0);
            for s in &srcs[1..] {
                if op == BitOp::Or {
                    for (r, b) in res.iter_mut().zip(s.iter()) {
                        *r |= *b;
                    }
                } else {
                    for (r, b) in res.iter_mut().zip(s.iter()) {
                        *r ^= *b;
                    }
                }
            }
            res
        }
    };
    db.set(dest.clone(), Value::Str(StrValue::raw(res)));
    ctx.dirty(1);
    Reply::Int(maxlen as i64)
}

// ---------------------------------------------------------------------------------------------
// BITFIELD / BITFIELD_RO
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set,
    Incrby,
}

struct BitfieldOp {
    offset: u64,
    value: i64,
    op: FieldOp,
    overflow: Overflow,
    bits: u32,
    signed: bool,
}

/// Redis's `getBitfieldTypeFromArgument`: `i1`..`i64` or `u1`..`u63`.
fn bitfield_type(arg: &[u8]) -> Result<(bool, u32), Reply> {
    // Redis reads the type as a C string: it ends at the first NUL byte.
    let arg = arg.split(|&b| b == 0).next().unwrap_or_default();
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(Reply::err(BITFIELD_TYPE_ERR)),
    };
    match parse_i64_strict(&arg[1..]) {
        Some(n) if n >= 1 && ((signed && n <= 64) || (!signed && n <= 63)) => Ok((signed, n as u32)),
        _ => Err(Reply::err(BITFIELD_TYPE_ERR)),
    }
}

/// Reads `bits` bits at bit `offset` as an unsigned integer; bytes past the end read as 0.
fn get_unsigned(p: &[u8], mut offset: u64, bits: u32) -> u64 {
    let mut value = 0u64;
    for _ in 0..bits {
        let byte = (offset >> 3) as usize;
        let bit = p.get(byte).map_or(0, |b| (b >> (7 - (offset & 7))) & 1);
        value = (value << 1) | bit as u64;
        offset += 1;
    }
    value
}

fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let mut value = get_unsigned(p, offset, bits) as i64;
    if bits < 64 && value & (1i64 << (bits - 1)) != 0 {
        value |= -1i64 << bits;
    }
    value
}

/// Writes the low `bits` bits of `value` at bit `offset` (the string is already long enough).
fn set_unsigned(p: &mut [u8], mut offset: u64, bits: u32, value: u64) {
    for j in 0..bits {
        let bitval = (value >> (bits - 1 - j)) & 1 != 0;
        let byte = (offset >> 3) as usize;
        let mask = 1u8 << (7 - (offset & 7));
        if let Some(b) = p.get_mut(byte) {
            if bitval {
                *b |= mask;
            } else {
                *b &= !mask;
            }
        }
        offset += 1;
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: `Some(limit)` when `value + incr` overflows,
/// with the value WRAP or SAT stores (unused for FAIL).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max: u64 = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || {
        let mask = if bits >= 64 { 0 } else { u64::MAX << bits };
        value.wrapping_add(incr as u64) & !mask
    };
    if value > max || (incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if incr < 0 && incr < minincr {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => 0,
        })
    } else {
        None
    }
}

/// Redis's `checkSignedBitfieldOverflow`, with its exact conditions.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max: i64 = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let msb = 1u64 << (bits - 1);
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & msb != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => max,
        })
    } else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        Some(match ow {
            Overflow::Wrap => wrap(),
            _ => min,
        })
    } else {
        None
    }
}

fn parse_bitfield_ops(args: &[Bytes]) -> Result<Vec<BitfieldOp>, Reply> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let remargs = args.len() - j - 1;
        let sub = &args[j];
        let op = if is(sub, "get") && remargs >= 2 {
            FieldOp::Get
        } else if is(sub, "set") && remargs >= 3 {
            FieldOp::Set
        } else if is(sub, "incrby") && remargs >= 3 {
            FieldOp::Incrby
        } else if is(sub, "overflow") && remargs >= 1 {
            let t = &args[j + 1];
            overflow = if is(t, "wrap") {
                Overflow::Wrap
            } else if is(t, "sat") {
                Overflow::Sat
            } else if is(t, "fail") {
                Overflow::Fail
            } else {
                return Err(Reply::err("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        };
        let (signed, bits) = bitfield_type(&args[j + 1])?;
        let offset = bit_offset(&args[j + 2], bits as u64)?;
        let value = if op == FieldOp::Get { 0 } else { args::int(&args[j + 3])? };
        ops.push(BitfieldOp { offset, value, op, overflow, bits, signed });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Ok(ops)
}

fn bitfield_generic(ctx: &mut Ctx, args: &[Bytes], readonly_cmd: bool) -> Reply {
    let ops = match parse_bitfield_ops(args) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let highest_write = ops.iter().filter(|o| o.op != FieldOp::Get).map(|o| o.offset + o.bits as u64 - 1).max();
    let Some(maxbit) = highest_write else {
        // Only GETs: a read, where a missing key reads as zeros.
        let now = ctx.now_ms;
        let s: &[u8] = match ctx.db().get_str(&args[1], now) {
            Ok(Some(s)) => s,
            Ok(None) => &[],
            Err(e) => return e.into(),
        };
        return Reply::Array(
            ops.iter()
                .map(|o| {
                    if o.signed {
                        Reply::Int(get_signed(s, o.offset, o.bits))
                    } else {
                        Reply::Int(get_unsigned(s, o.offset, o.bits) as i64)
                    }
                })
                .collect(),
        );
    };
    if readonly_cmd {
        return Reply::err("ERR BITFIELD_RO only supports the GET subcommand");
    }
    let (s, grown) = match string_for_bits(ctx, &args[1], maxbit) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let mut changes = 0u64;
    let mut out = Vec::with_capacity(ops.len());
    for o in &ops {
        match (o.op, o.signed) {
            (FieldOp::Get, true) => out.push(Reply::Int(get_signed(s, o.offset, o.bits))),
            (FieldOp::Get, false) => out.push(Reply::Int(get_unsigned(s, o.offset, o.bits) as i64)),
            (op, true) => {
                let old = get_signed(s, o.offset, o.bits);
                let (over, new, ret) = if op == FieldOp::Incrby {
                    let over = signed_overflow(old, o.value, o.bits, o.overflow);
                    let new = over.unwrap_or_else(|| old.wrapping_add(o.value));
                    (over.is_some(), new, new)
                } else {
                    let over = signed_overflow(o.value, 0, o.bits, o.overflow);
                    (over.is_some(), over.unwrap_or(o.value), old)
                };
                if over && o.overflow == Overflow::Fail {
                    out.push(Reply::Nil);
                } else {
                    out.push(Reply::Int(ret));
                    set_unsigned(s, o.offset, o.bits, new as u64);
                    if grown || old != new {
                        changes += 1;
                    }
                }
            }
            (op, false) => {
                let old = get_unsigned(s, o.offset, o.bits);
                let (over, new, ret) = if op == FieldOp::Incrby {
                    let over = unsigned_overflow(old, o.value, o.bits, o.overflow);
                    let new = over.unwrap_or_else(|| old.wrapping_add(o.value as u64));
                    (over.is_some(), new, new)
                } else {
                    let v = o.value as u64;
                    let over = unsigned_overflow(v, 0, o.bits, o.overflow);
                    (over.is_some(), over.unwrap_or(v), old)
                };
                if over && o.overflow == Overflow::Fail {
                    out.push(Reply::Nil);
                } else {
                    out.push(Reply::Int(ret as i64));
                    set_unsigned(s, o.offset, o.bits, new);
                    if grown || old != new {
                        changes += 1;
                    }
                }
            }
        }
    }
    // Redis counts only the writes; a key created or padded by writes that all failed
    // (OVERFLOW FAIL) still changed, so it is counted here too, to be logged.
    if changes == 0 && grown {
        changes = 1;
    }
    if changes > 0 {
        ctx.dirty(changes);
    }
    Reply::Array(out)
}

fn bitfield(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    bitfield_generic(ctx, args, false)
}

fn bitfield_ro(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    bitfield_generic(ctx, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis::testing::{bulk, T};
    use rand::{Rng, SeedableRng};

    fn int(n: i64) -> Reply {
        Reply::Int(n)
    }

    fn err(s: &'static str) -> Reply {
        Reply::err(s)
    }

    /// Sets `key` to raw bytes.
    fn set_raw(t: &mut T, key: &str, v: &[u8]) {
        t.ks.dbs[0].set(Bytes::copy_from_slice(key.as_bytes()), Value::Str(StrValue::new(v.to_vec())));
    }

    fn make_list(t: &mut T, key: &str) {
        let l = std::iter::once(Bytes::from_static(b"a")).collect();
        t.ks.dbs[0].set(Bytes::copy_from_slice(key.as_bytes()), Value::List(l));
    }

    fn get_raw(t: &mut T, key: &str) -> Option<Vec<u8>> {
        match t.ks.dbs[0].peek(key.as_bytes()) {
            Some(e) => match &e.value {
                Value::Str(s) => Some(s.to_vec()),
                _ => panic!("not a string"),
            },
            None => None,
        }
    }

    fn cmd_args(t: &mut T, parts: &[String]) -> Reply {
        let v: Vec<&str> = parts.iter().map(|s| s.as_str()).collect();
        t.cmd(&v)
    }

    #[test]
    fn setbit_getbit() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["SETBIT", "k", "7", "1"]), int(0));
        assert_eq!(get_raw(&mut t, "k").unwrap(), b"\x01");
        assert_eq!(t.cmd(&["SETBIT", "k", "7", "1"]), int(1));
        assert_eq!(t.cmd(&["SETBIT", "k", "0", "1"]), int(0));
        assert_eq!(get_raw(&mut t, "k").unwrap(), b"\x81");
        assert_eq!(t.cmd(&["SETBIT", "k", "7", "0"]), int(1));
        assert_eq!(get_raw(&mut t, "k").unwrap(), b"\x80");
        assert_eq!(t.cmd(&["SETBIT", "k", "17", "0"]), int(0));
        assert_eq!(get_raw(&mut t, "k").unwrap(), b"\x80\x00\x00");
        assert_eq!(t.cmd(&["GETBIT", "k", "0"]), int(1));
        assert_eq!(t.cmd(&["GETBIT", "k", "1"]), int(0));
        assert_eq!(t.cmd(&["GETBIT", "k", "100000"]), int(0));
        assert_eq!(t.cmd(&["GETBIT", "nokey", "5"]), int(0));
        // "1" is 0x31 = 00110001.
        t.cmd(&["SET", "n", "1"]);
        assert_eq!(t.cmd(&["GETBIT", "n", "2"]), int(1));
        assert_eq!(t.cmd(&["SETBIT", "n", "6", "1"]), int(0));
        assert_eq!(t.cmd(&["GET", "n"]), bulk("3"));
        // Errors.
        const OFF: &str = "ERR bit offset is not an integer or out of range";
        const BIT: &str = "ERR bit is not an integer or out of range";
        assert_eq!(t.cmd(&["SETBIT", "k", "-1", "1"]), err(OFF));
        assert_eq!(t.cmd(&["SETBIT", "k", "4294967296", "1"]), err(OFF));
        assert_eq!(t.cmd(&["SETBIT", "k", "abc", "1"]), err(OFF));
        assert_eq!(t.cmd(&["SETBIT", "k", "#1", "1"]), err(OFF));
        assert_eq!(t.cmd(&["SETBIT", "k", "-1", "2"]), err(OFF));
        assert_eq!(t.cmd(&["SETBIT", "k", "0", "2"]), err(BIT));
        assert_eq!(t.cmd(&["SETBIT", "k", "0", "-1"]), err(BIT));
        assert_eq!(t.cmd(&["SETBIT", "k", "0", "a"]), err(BIT));
        assert_eq!(t.cmd(&["GETBIT", "k", "4294967296"]), err(OFF));
        assert_eq!(t.cmd(&["GETBIT", "k", "-1"]), err(OFF));
        assert_eq!(t.cmd(&["GETBIT", "k", "4294967295"]), int(0));
        make_list(&mut t, "l");
        assert_eq!(t.cmd(&["SETBIT", "l", "0", "1"]), err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["GETBIT", "l", "0"]), err(errors::WRONGTYPE));
        // Offset errors win over WRONGTYPE, as Redis parses first.
        assert_eq!(t.cmd(&["GETBIT", "l", "-1"]), err(OFF));
        assert_eq!(t.cmd(&["SETBIT"]), err("ERR wrong number of arguments for 'setbit' command"));
    }

    #[test]
    fn setbit_dirty_only_on_change() {
        let mut t = T::new();
        t.cmd(&["SETBIT", "k", "3", "1"]);
        let d = t.ks.dirty;
        assert_eq!(t.cmd(&["SETBIT", "k", "3", "1"]), int(1));
        assert_eq!(t.cmd(&["SETBIT", "k", "4", "0"]), int(0));
        assert_eq!(t.ks.dirty, d);
        assert_eq!(t.cmd(&["SETBIT", "k", "20", "0"]), int(0));
        assert_eq!(t.ks.dirty, d + 1);
        assert_eq!(get_raw(&mut t, "k").unwrap().len(), 3);
    }

    #[test]
    fn bitcount_basics() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["BITCOUNT", "no"]), int(0));
        // Redis 7.0 answers 0 for a missing key before looking at the other arguments.
        assert_eq!(t.cmd(&["BITCOUNT", "no", "a", "b", "c", "d", "e"]), int(0));
        assert_eq!(t.cmd(&["BITCOUNT", "no", "0"]), int(0));
        t.cmd(&["SET", "s", "foobar"]);
        assert_eq!(t.cmd(&["BITCOUNT", "s"]), int(26));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "0", "0"]), int(4));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "1", "1"]), int(6));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "1", "1", "BYTE"]), int(6));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "5", "30", "BIT"]), int(17));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "0", "-1"]), int(26));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "0", "-1", "bit"]), int(26));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "0", "1000"]), int(26));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "-2", "1"]), int(0));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "-1", "-2"]), int(0));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "100", "200"]), int(0));
        // Both clamp to 0: byte 0 is counted.
        assert_eq!(t.cmd(&["BITCOUNT", "s", "-100", "-50"]), int(4));
        // The negative start > end check comes before the unit is parsed (Redis 7.0 order).
        assert_eq!(t.cmd(&["BITCOUNT", "s", "-1", "-2", "nope"]), int(0));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "0"]), err(errors::SYNTAX));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "0", "1", "hello"]), err(errors::SYNTAX));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "0", "1", "bit", "x"]), err(errors::SYNTAX));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "a", "1"]), err(errors::NOT_INTEGER));
        assert_eq!(t.cmd(&["BITCOUNT", "s", "0", "b"]), err(errors::NOT_INTEGER));
        t.cmd(&["SET", "str", "ab"]);
        assert_eq!(t.cmd(&["BITCOUNT", "str", "1", "-1"]), int(3));
        t.cmd(&["SET", "str", "__PPxxxxxxxxxxxxxxxxRR__"]);
        assert_eq!(t.cmd(&["BITCOUNT", "str", "2", "-3"]), int(74));
        t.cmd(&["SET", "e", ""]);
        assert_eq!(t.cmd(&["BITCOUNT", "e"]), int(0));
        assert_eq!(t.cmd(&["BITCOUNT", "e", "0", "-1", "BIT"]), int(0));
        t.cmd(&["SETBIT", "foo", "0", "1"]);
        assert_eq!(t.cmd(&["BITCOUNT", "foo", "0", "4294967296"]), int(1));
        assert_eq!(t.cmd(&["BITCOUNT", "foo", "-9223372036854775808", "9223372036854775807", "BIT"]), int(1));
        make_list(&mut t, "l");
        assert_eq!(t.cmd(&["BITCOUNT", "l"]), err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["BITCOUNT", "l", "x", "y"]), err(errors::WRONGTYPE));
    }

    #[test]
    fn bitpos_basics() {
        let mut t = T::new();
        const BITERR: &str = "ERR The bit argument must be 1 or 0.";
        assert_eq!(t.cmd(&["BITPOS", "no", "1"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "no", "0"]), int(0));
        assert_eq!(t.cmd(&["BITPOS", "no", "0", "x", "y", "z", "w"]), int(0));
        assert_eq!(t.cmd(&["BITPOS", "no", "2"]), err(BITERR));
        assert_eq!(t.cmd(&["BITPOS", "no", "x"]), err(errors::NOT_INTEGER));
        set_raw(&mut t, "k", b"\xff\xf0\x00");
        assert_eq!(t.cmd(&["BITPOS", "k", "0"]), int(12));
        set_raw(&mut t, "k", b"\x00\xff\xf0");
        assert_eq!(t.cmd(&["BITPOS", "k", "1", "0"]), int(8));
        assert_eq!(t.cmd(&["BITPOS", "k", "1", "2"]), int(16));
        assert_eq!(t.cmd(&["BITPOS", "k", "1", "2", "-1", "BYTE"]), int(16));
        assert_eq!(t.cmd(&["BITPOS", "k", "1", "7", "15", "BIT"]), int(8));
        assert_eq!(t.cmd(&["BITPOS", "k", "1", "7", "-3", "BIT"]), int(8));
        assert_eq!(t.cmd(&["BITPOS", "k", "0", "8", "-1", "BIT"]), int(20));
        assert_eq!(t.cmd(&["BITPOS", "k", "1", "3", "5"]), int(-1));
        set_raw(&mut t, "z", b"\x00\x00\x00");
        assert_eq!(t.cmd(&["BITPOS", "z", "1"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "z", "1", "7", "-3", "BIT"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "z", "0"]), int(0));
        // All ones: looking for 0 finds the padding unless an end is given.
        set_raw(&mut t, "o", b"\xff\xff\xff");
        assert_eq!(t.cmd(&["BITPOS", "o", "0"]), int(24));
        assert_eq!(t.cmd(&["BITPOS", "o", "0", "0"]), int(24));
        assert_eq!(t.cmd(&["BITPOS", "o", "0", "1"]), int(24));
        assert_eq!(t.cmd(&["BITPOS", "o", "0", "0", "-1"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "o", "0", "0", "-1", "bit"]), int(-1));
        // With five arguments the fifth is the end, not the unit.
        assert_eq!(t.cmd(&["BITPOS", "o", "0", "3", "bit"]), err(errors::NOT_INTEGER));
        assert_eq!(t.cmd(&["BITPOS", "o", "0", "3", "5", "bit", "x"]), err(errors::SYNTAX));
        assert_eq!(t.cmd(&["BITPOS", "o", "0", "3", "5", "foo"]), err(errors::SYNTAX));
        // The unit is checked before the end.
        assert_eq!(t.cmd(&["BITPOS", "o", "0", "3", "x", "foo"]), err(errors::SYNTAX));
        assert_eq!(t.cmd(&["BITPOS", "o", "0", "3", "x", "bit"]), err(errors::NOT_INTEGER));
        assert_eq!(t.cmd(&["BITPOS", "o", "1", "x"]), err(errors::NOT_INTEGER));
        assert_eq!(t.cmd(&["BITPOS", "o", "1", "-1"]), int(16));
        assert_eq!(t.cmd(&["BITPOS", "o", "1", "5", "2"]), int(-1));
        t.cmd(&["SET", "e", ""]);
        assert_eq!(t.cmd(&["BITPOS", "e", "0"]), int(-1));
        assert_eq!(t.cmd(&["BITPOS", "e", "1"]), int(-1));
        make_list(&mut t, "l");
        assert_eq!(t.cmd(&["BITPOS", "l", "1"]), err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["BITPOS", "l", "3"]), err(BITERR));
    }

    /// Bit `i` of `s`, zero past the end.
    fn bit_at(s: &[u8], i: i64) -> bool {
        s.get((i >> 3) as usize).is_some_and(|b| b & (0x80 >> (i & 7)) != 0)
    }

    /// The inclusive bit range [lo, hi] Redis's index rules give (None when empty).
    fn naive_range(len: usize, start: i64, end: i64, isbit: bool) -> Option<(i64, i64)> {
        let tot = if isbit { len as i64 * 8 } else { len as i64 };
        let (mut s, mut e) = (start, end);
        if s < 0 {
            s += tot;
        }
        if e < 0 {
            e += tot;
        }
        s = s.max(0);
        e = e.max(0).min(tot - 1);
        if s > e {
            return None;
        }
        Some(if isbit { (s, e) } else { (s * 8, e * 8 + 7) })
    }

    #[test]
    fn bitcount_and_bitpos_match_naive_model() {
        let mut t = T::new();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for round in 0..400 {
            let len = rng.gen_range(0..40usize);
            let density = rng.gen_range(0..4);
            let s: Vec<u8> = (0..len)
                .map(|_| match density {
                    0 => 0,
                    1 => 0xff,
                    2 => {
                        if rng.gen_bool(0.9) {
                            0xff
                        } else {
                            rng.gen()
                        }
                    }
                    _ => rng.gen(),
                })
                .collect();
            set_raw(&mut t, "k", &s);
            let lim = len as i64 * 8 + 10;
            for _ in 0..20 {
                let isbit = rng.gen_bool(0.5);
                let start = rng.gen_range(-lim..lim);
                let end = rng.gen_range(-lim..lim);
                let unit = if isbit { "BIT" } else { "BYTE" };
                let ctx = format!("round {round} s={s:?} start={start} end={end} {unit}");
                // BITCOUNT
                let expect = if start < 0 && end < 0 && start > end {
                    0
                } else {
                    naive_range(len, start, end, isbit)
                        .map_or(0, |(lo, hi)| (lo..=hi).filter(|&i| bit_at(&s, i)).count() as i64)
                };
                let args = ["BITCOUNT".to_string(), "k".into(), start.to_string(), end.to_string(), unit.into()];
                assert_eq!(cmd_args(&mut t, &args), int(expect), "BITCOUNT {ctx}");
                // BITPOS with and without an end.
                for bit in [false, true] {
                    for end_given in [false, true] {
                        let e = if end_given {
                            end
                        } else if isbit {
                            len as i64 * 8 + 7
                        } else {
                            len as i64 - 1
                        };
                        let expect = match naive_range(len, start, e, isbit) {
                            None => -1,
                            Some((lo, hi)) => match (lo..=hi).find(|&i| bit_at(&s, i) == bit) {
                                Some(p) => p,
                                None if bit || end_given => -1,
                                None => hi + 1,
                            },
                        };
                        let b = (bit as u8).to_string();
                        let args: Vec<String> = if end_given {
                            vec!["BITPOS".into(), "k".into(), b, start.to_string(), end.to_string(), unit.into()]
                        } else if isbit {
                            // No end with a unit is not valid syntax: test BYTE mode only.
                            continue;
                        } else {
                            vec!["BITPOS".into(), "k".into(), b, start.to_string()]
                        };
                        assert_eq!(
                            cmd_args(&mut t, &args),
                            int(expect),
                            "BITPOS bit={bit} end_given={end_given} {ctx}"
                        );
                    }
                }
            }
            // Whole string forms.
            let ones = s.iter().map(|b| b.count_ones() as i64).sum::<i64>();
            assert_eq!(t.cmd(&["BITCOUNT", "k"]), int(ones));
            let first1 = (0..len as i64 * 8).find(|&i| bit_at(&s, i)).unwrap_or(-1);
            assert_eq!(t.cmd(&["BITPOS", "k", "1"]), int(first1));
            let first0 =
                (0..len as i64 * 8).find(|&i| !bit_at(&s, i)).unwrap_or(if len == 0 { -1 } else { len as i64 * 8 });
            assert_eq!(t.cmd(&["BITPOS", "k", "0"]), int(first0));
        }
    }

    #[test]
    fn popcount_and_raw_bitpos() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(3);
        for len in 0..100 {
            let s: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            assert_eq!(popcount(&s), s.iter().map(|b| b.count_ones() as u64).sum::<u64>());
            let mut ones = vec![0xffu8; len];
            let mut zeros = vec![0u8; len];
            assert_eq!(raw_bitpos(&ones, false), len as i64 * 8);
            assert_eq!(raw_bitpos(&zeros, true), -1);
            if len > 0 {
                let i = rng.gen_range(0..len * 8);
                ones[i / 8] &= !(0x80 >> (i % 8));
                zeros[i / 8] |= 0x80 >> (i % 8);
                assert_eq!(raw_bitpos(&ones, false), i as i64);
                assert_eq!(raw_bitpos(&zeros, true), i as i64);
            }
        }
    }

    #[test]
    fn bitop_basics() {
        let mut t = T::new();
        const NOT1: &str = "ERR BITOP NOT must be called with a single source key.";
        set_raw(&mut t, "s", b"\xaa\x00\xff\x55");
        assert_eq!(t.cmd(&["BITOP", "NOT", "d", "s"]), int(4));
        assert_eq!(get_raw(&mut t, "d").unwrap(), b"\x55\xff\x00\xaa");
        assert_eq!(t.cmd(&["BITOP", "not", "s", "s"]), int(4));
        assert_eq!(get_raw(&mut t, "s").unwrap(), b"\x55\xff\x00\xaa");
        assert_eq!(t.cmd(&["BITOP", "NOT", "d", "s", "s"]), err(NOT1));
        assert_eq!(t.cmd(&["BITOP", "NAND", "d", "s"]), err(errors::SYNTAX));
        // Empty results delete the destination.
        t.cmd(&["SET", "e", ""]);
        assert_eq!(t.cmd(&["BITOP", "NOT", "d", "e"]), int(0));
        assert_eq!(get_raw(&mut t, "d"), None);
        t.cmd(&["SET", "d", "x"]);
        assert_eq!(t.cmd(&["BITOP", "AND", "d", "missing", "e"]), int(0));
        assert_eq!(get_raw(&mut t, "d"), None);
        let dirty = t.ks.dirty;
        assert_eq!(t.cmd(&["BITOP", "OR", "d", "missing"]), int(0));
        assert_eq!(t.ks.dirty, dirty);
        // Single input key leaves the string unchanged.
        set_raw(&mut t, "a", b"\x01\x02\xff");
        for op in ["AND", "OR", "XOR"] {
            assert_eq!(t.cmd(&["BITOP", op, "r", "a"]), int(3));
            assert_eq!(get_raw(&mut t, "r").unwrap(), b"\x01\x02\xff");
        }
        // Missing keys are streams of zeros.
        assert_eq!(t.cmd(&["BITOP", "AND", "r", "nokey", "a"]), int(3));
        assert_eq!(get_raw(&mut t, "r").unwrap(), b"\x00\x00\x00");
        assert_eq!(t.cmd(&["BITOP", "OR", "r", "nokey", "a"]), int(3));
        assert_eq!(get_raw(&mut t, "r").unwrap(), b"\x01\x02\xff");
        assert_eq!(t.cmd(&["BITOP", "XOR", "r", "nokey", "a"]), int(3));
        assert_eq!(get_raw(&mut t, "r").unwrap(), b"\x01\x02\xff");
        // Shorter keys are zero padded.
        set_raw(&mut t, "a", b"\x01\x02\xff\xff");
        set_raw(&mut t, "b", b"\x01\x02\xff");
        assert_eq!(t.cmd(&["BITOP", "AND", "r", "a", "b"]), int(4));
        assert_eq!(get_raw(&mut t, "r").unwrap(), b"\x01\x02\xff\x00");
        assert_eq!(t.cmd(&["BITOP", "OR", "r", "a", "b"]), int(4));
        assert_eq!(get_raw(&mut t, "r").unwrap(), b"\x01\x02\xff\xff");
        assert_eq!(t.cmd(&["BITOP", "XOR", "r", "a", "b"]), int(4));
        assert_eq!(get_raw(&mut t, "r").unwrap(), b"\x00\x00\x00\xff");
        // The destination loses its TTL.
        t.cmd(&["EXPIRE", "r", "100"]);
        t.cmd(&["BITOP", "XOR", "r", "a", "b"]);
        assert_eq!(t.cmd(&["TTL", "r"]), int(-1));
        // Wrong type anywhere among the sources.
        make_list(&mut t, "c");
        assert_eq!(t.cmd(&["BITOP", "XOR", "dest", "a", "b", "c", "d"]), err(errors::WRONGTYPE));
        assert_eq!(get_raw(&mut t, "dest"), None);
        // A list destination is simply overwritten.
        assert_eq!(t.cmd(&["BITOP", "OR", "c", "a"]), int(4));
        assert_eq!(t.cmd(&["TYPE", "c"]), Reply::simple("string"));
        // Issue #529: empty string after a non-empty one.
        set_raw(&mut t, "z", &[0u8; 32]);
        assert_eq!(t.cmd(&["BITOP", "OR", "x", "z", "nokey"]), int(32));
        assert_eq!(t.cmd(&["BITOP", "AND"]), err("ERR wrong number of arguments for 'bitop' command"));
    }

    #[test]
    fn bitop_matches_bytewise_model() {
        let mut t = T::new();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
        for _ in 0..100 {
            let n = rng.gen_range(1..5);
            let srcs: Vec<Vec<u8>> = (0..n).map(|_| (0..rng.gen_range(0..80)).map(|_| rng.gen()).collect()).collect();
            for (i, s) in srcs.iter().enumerate() {
                set_raw(&mut t, &format!("s{i}"), s);
            }
            let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
            for op in ["AND", "OR", "XOR"] {
                let mut args = vec!["BITOP".to_string(), op.into(), "dst".into()];
                args.extend((0..n).map(|i| format!("s{i}")));
                assert_eq!(cmd_args(&mut t, &args), int(maxlen as i64));
                let expect: Vec<u8> = (0..maxlen)
                    .map(|j| {
                        let byte = |s: &Vec<u8>| s.get(j).copied().unwrap_or(0);
                        srcs[1..].iter().fold(byte(&srcs[0]), |acc, s| match op {
                            "AND" => acc & byte(s),
                            "OR" => acc | byte(s),
                            _ => acc ^ byte(s),
                        })
                    })
                    .collect();
                let got = get_raw(&mut t, "dst");
                if maxlen == 0 {
                    assert_eq!(got, None);
                } else {
                    assert_eq!(got.unwrap(), expect);
                }
            }
        }
    }

    fn ints(v: &[Option<i64>]) -> Reply {
        Reply::Array(v.iter().map(|x| x.map_or(Reply::Nil, Reply::Int)).collect())
    }

    #[test]
    fn bitfield_basics() {
        let mut t = T::new();
        assert_eq!(t.cmd(&["BITFIELD", "k", "SET", "i8", "0", "-100"]), ints(&[Some(0)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "SET", "i8", "0", "101"]), ints(&[Some(-100)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "i8", "0"]), ints(&[Some(101)]));
        t.cmd(&["DEL", "k"]);
        assert_eq!(t.cmd(&["BITFIELD", "k", "SET", "u8", "0", "255"]), ints(&[Some(0)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "SET", "u8", "0", "100"]), ints(&[Some(255)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u8", "0"]), ints(&[Some(100)]));
        // #N form.
        t.cmd(&["DEL", "k"]);
        t.cmd(&["BITFIELD", "k", "SET", "u8", "#0", "65", "SET", "u8", "#1", "66", "SET", "u8", "#2", "67"]);
        assert_eq!(t.cmd(&["GET", "k"]), bulk("ABC"));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u16", "#1"]), ints(&[Some(67 << 8)]));
        // INCRBY and chaining.
        t.cmd(&["DEL", "k"]);
        assert_eq!(t.cmd(&["BITFIELD", "k", "SET", "u8", "#0", "10"]), ints(&[Some(0)]));
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "INCRBY", "u8", "#0", "100", "INCRBY", "u8", "#0", "100"]),
            ints(&[Some(110), Some(210)])
        );
        // Docs example.
        t.cmd(&["DEL", "k"]);
        assert_eq!(t.cmd(&["BITFIELD", "k", "INCRBY", "i5", "100", "1", "GET", "u4", "0"]), ints(&[Some(1), Some(0)]));
        t.cmd(&["DEL", "k"]);
        let cmd = ["BITFIELD", "k", "incrby", "u2", "100", "1", "OVERFLOW", "SAT", "incrby", "u2", "102", "1"];
        assert_eq!(t.cmd(&cmd), ints(&[Some(1), Some(1)]));
        assert_eq!(t.cmd(&cmd), ints(&[Some(2), Some(2)]));
        assert_eq!(t.cmd(&cmd), ints(&[Some(3), Some(3)]));
        assert_eq!(t.cmd(&cmd), ints(&[Some(0), Some(3)]));
        let fail = ["BITFIELD", "k", "OVERFLOW", "FAIL", "incrby", "u2", "102", "1"];
        assert_eq!(t.cmd(&fail), ints(&[None]));
        // Overflow modes (Redis test suite).
        t.cmd(&["DEL", "k"]);
        t.cmd(&["BITFIELD", "k", "SET", "u8", "0", "100"]);
        assert_eq!(t.cmd(&["BITFIELD", "k", "INCRBY", "u8", "0", "257"]), ints(&[Some(101)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u8", "0"]), ints(&[Some(101)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "INCRBY", "u8", "0", "255"]), ints(&[Some(100)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "overflow", "sat", "INCRBY", "u8", "0", "257"]), ints(&[Some(255)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "overflow", "sat", "INCRBY", "u8", "0", "-255"]), ints(&[Some(0)]));
        t.cmd(&["DEL", "k"]);
        t.cmd(&["BITFIELD", "k", "SET", "i8", "0", "100"]);
        assert_eq!(t.cmd(&["BITFIELD", "k", "INCRBY", "i8", "0", "257"]), ints(&[Some(101)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "INCRBY", "i8", "0", "255"]), ints(&[Some(100)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "overflow", "sat", "INCRBY", "i8", "0", "257"]), ints(&[Some(127)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "overflow", "sat", "INCRBY", "i8", "0", "-255"]), ints(&[Some(-128)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "overflow", "fail", "INCRBY", "i8", "0", "-1"]), ints(&[None]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "i8", "0"]), ints(&[Some(-128)]));
        // SET out of range values.
        assert_eq!(t.cmd(&["BITFIELD", "k", "SET", "u8", "0", "-1", "GET", "u8", "0"]), ints(&[Some(128), Some(255)]));
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "OVERFLOW", "SAT", "SET", "u8", "0", "-1", "GET", "u8", "0"]),
            ints(&[Some(255), Some(255)])
        );
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", "0", "-200", "GET", "i8", "0"]),
            ints(&[Some(-1), Some(-128)])
        );
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", "0", "300", "GET", "i8", "0"]),
            ints(&[Some(-128), Some(127)])
        );
        // Redis's signed check takes this one for a positive overflow.
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", "0", "-9223372036854775808", "GET", "i8", "0"]),
            ints(&[Some(127), Some(127)])
        );
        assert_eq!(t.cmd(&["BITFIELD", "k", "SET", "i8", "0", "300", "GET", "i8", "0"]), ints(&[Some(127), Some(44)]));
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "i8", "0", "300", "GET", "i8", "0"]),
            ints(&[None, Some(44)])
        );
        // Overflow type applies to the following ops only.
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "SET", "u8", "0", "256", "OVERFLOW", "FAIL", "SET", "u8", "0", "256"]),
            ints(&[Some(44), None])
        );
        // Regression for #3221.
        t.cmd(&["SET", "bits", "1"]);
        assert_eq!(t.cmd(&["BITFIELD", "bits", "GET", "u1", "0"]), ints(&[Some(0)]));
        // 64 bit fields.
        t.cmd(&["DEL", "k"]);
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "SET", "i64", "3", "-9223372036854775808", "GET", "i64", "3"]),
            ints(&[Some(0), Some(i64::MIN)])
        );
        assert_eq!(t.cmd(&["BITFIELD", "k", "INCRBY", "i64", "3", "-1"]), ints(&[Some(i64::MAX)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i64", "3", "1"]), ints(&[Some(i64::MAX)]));
        assert_eq!(
            t.cmd(&["BITFIELD", "k", "GET", "u63", "3", "GET", "u1", "66"]),
            ints(&[Some(i64::MAX >> 1), Some(1)])
        );
        assert_eq!(t.cmd(&["STRLEN", "k"]), int(9));
        // Reads past the end are zeros, on missing keys too.
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u8", "1000"]), ints(&[Some(0)]));
        assert_eq!(t.cmd(&["BITFIELD", "nokey", "GET", "i64", "0"]), ints(&[Some(0)]));
        assert_eq!(t.cmd(&["EXISTS", "nokey"]), int(0));
        assert_eq!(t.cmd(&["BITFIELD", "nokey"]), Reply::Array(vec![]));
        assert_eq!(t.cmd(&["BITFIELD", "nokey", "OVERFLOW", "WRAP"]), Reply::Array(vec![]));
    }

    #[test]
    fn bitfield_errors() {
        let mut t = T::new();
        const TYPE: &str =
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
        const OFF: &str = "ERR bit offset is not an integer or out of range";
        for ty in ["u64", "i65", "i0", "u0", "x8", "", "u", "i-1", "I8", "u08", "u8 "] {
            assert_eq!(t.cmd(&["BITFIELD", "k", "GET", ty, "0"]), err(TYPE), "type {ty:?}");
        }
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u8", "-1"]), err(OFF));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u8", "4294967296"]), err(OFF));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u8", "#536870912"]), err(OFF));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "i64", "#9223372036854775807"]), err(OFF));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u8", "#"]), err(OFF));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u8", "#-1"]), err(OFF));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u8", "##1"]), err(OFF));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u8", "#536870911"]), ints(&[Some(0)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u8", "4294967295"]), ints(&[Some(0)]));
        assert_eq!(t.cmd(&["BITFIELD", "k", "SET", "u8", "0", "x"]), err(errors::NOT_INTEGER));
        assert_eq!(t.cmd(&["BITFIELD", "k", "INCRBY", "u8", "0", "1.5"]), err(errors::NOT_INTEGER));
        assert_eq!(t.cmd(&["BITFIELD", "k", "GET", "u8"]), err(errors::SYNTAX));
        assert_eq!(t.cmd(&["BITFIELD", "k", "SET", "u8", "0"]), err(errors::SYNTAX));
        assert_eq!(t.cmd(&["BITFIELD", "k", "FOO", "u8", "0"]), err(errors::SYNTAX));
        assert_eq!(t.cmd(&["BITFIELD", "k", "OVERFLOW"]), err(errors::SYNTAX));
        assert_eq!(t.cmd(&["BITFIELD", "k", "OVERFLOW", "NOPE"]), err("ERR Invalid OVERFLOW type specified"));
        // Parse errors come first, even after valid writes: nothing is written.
        assert_eq!(t.cmd(&["BITFIELD", "k", "SET", "u8", "0", "1", "GET", "u64", "0"]), err(TYPE));
        assert_eq!(t.cmd(&["EXISTS", "k"]), int(0));
        make_list(&mut t, "l");
        assert_eq!(t.cmd(&["BITFIELD", "l", "GET", "u8", "0"]), err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["BITFIELD", "l", "SET", "u8", "0", "1"]), err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["BITFIELD", "l"]), err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["BITFIELD", "l", "GET", "u64", "0"]), err(TYPE));
    }

    #[test]
    fn bitfield_ro() {
        let mut t = T::new();
        const RO: &str = "ERR BITFIELD_RO only supports the GET subcommand";
        assert_eq!(t.cmd(&["BITFIELD_RO", "k"]), Reply::Array(vec![]));
        t.cmd(&["SET", "k", "\x05"]);
        assert_eq!(t.cmd(&["BITFIELD_RO", "k", "GET", "u8", "0", "GET", "i3", "5"]), ints(&[Some(5), Some(-3)]));
        assert_eq!(t.cmd(&["BITFIELD_RO", "k", "SET", "u8", "0", "1"]), err(RO));
        assert_eq!(t.cmd(&["BITFIELD_RO", "k", "GET", "u8", "0", "INCRBY", "u8", "0", "1"]), err(RO));
        // Argument errors are reported before the read-only one.
        assert_eq!(t.cmd(&["BITFIELD_RO", "k", "SET", "u8", "0", "x"]), err(errors::NOT_INTEGER));
        assert_eq!(t.cmd(&["BITFIELD_RO", "k", "OVERFLOW", "SAT"]), Reply::Array(vec![]));
        make_list(&mut t, "l");
        assert_eq!(t.cmd(&["BITFIELD_RO", "l", "SET", "u8", "0", "1"]), err(RO));
        assert_eq!(t.cmd(&["GET", "k"]), bulk("\x05"));
    }

    #[test]
    fn bitfield_dirty() {
        let mut t = T::new();
        let d0 = t.ks.dirty;
        t.cmd(&["BITFIELD", "k", "GET", "u8", "0"]);
        assert_eq!(t.ks.dirty, d0);
        t.cmd(&["BITFIELD", "k", "SET", "u8", "0", "0", "SET", "u8", "8", "0"]);
        assert_eq!(t.ks.dirty, d0 + 2);
        // Writing the same value again changes nothing.
        t.cmd(&["BITFIELD", "k", "SET", "u8", "0", "0", "INCRBY", "u8", "0", "0"]);
        assert_eq!(t.ks.dirty, d0 + 2);
        t.cmd(&["BITFIELD", "k", "SET", "u8", "0", "1"]);
        assert_eq!(t.ks.dirty, d0 + 3);
        // A key created by writes that all failed still counts as a change.
        assert_eq!(t.cmd(&["BITFIELD", "n", "OVERFLOW", "FAIL", "SET", "u2", "0", "9"]), ints(&[None]));
        assert_eq!(get_raw(&mut t, "n").unwrap(), b"\x00");
        assert_eq!(t.ks.dirty, d0 + 4);
    }

    #[test]
    fn bitfield_incrby_matches_wide_arithmetic() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(5);
        for _ in 0..20000 {
            let signed = rng.gen_bool(0.5);
            let bits: u32 = if signed { rng.gen_range(1..=64) } else { rng.gen_range(1..=63) };
            let ow = [Overflow::Wrap, Overflow::Sat, Overflow::Fail][rng.gen_range(0..3)];
            let incr: i64 = match rng.gen_range(0..3) {
                0 => rng.gen_range(-300..300),
                1 => rng.gen(),
                _ => [i64::MIN, i64::MAX, -1, 0, 1][rng.gen_range(0..5)],
            };
            let modulus = 1i128 << bits;
            if signed {
                let (min, max) = (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1);
                let old = (rng.gen::<i64>() as i128).rem_euclid(modulus) + min;
                let sum = old + incr as i128;
                let got = signed_overflow(old as i64, incr, bits, ow);
                if sum >= min && sum <= max {
                    assert_eq!(got, None);
                } else {
                    let g: i128 = got.expect("overflow").into();
                    match ow {
                        Overflow::Wrap => assert_eq!(g, (sum - min).rem_euclid(modulus) + min),
                        Overflow::Sat => assert_eq!(g, if sum > max { max } else { min }),
                        Overflow::Fail => {}
                    }
                }
            } else {
                let max = modulus - 1;
                let old = (rng.gen::<u64>() as i128).rem_euclid(modulus);
                let sum = old + incr as i128;
                let got = unsigned_overflow(old as u64, incr, bits, ow);
                if sum >= 0 && sum <= max {
                    assert_eq!(got, None);
                } else {
                    let g: i128 = got.expect("overflow").into();
                    match ow {
                        Overflow::Wrap => assert_eq!(g, sum.rem_euclid(modulus)),
                        Overflow::Sat => assert_eq!(g, if sum > max { max } else { 0 }),
                        Overflow::Fail => {}
                    }
                }
            }
        }
    }

    #[test]
    fn bitfield_fields_round_trip() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(9);
        let mut buf = vec![0u8; 20];
        for _ in 0..5000 {
            let bits = rng.gen_range(1..=64u32);
            let off = rng.gen_range(0..(20 * 8 - bits as u64 + 1));
            let v: u64 = rng.gen();
            let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
            let before = buf.clone();
            set_unsigned(&mut buf, off, bits, v);
            assert_eq!(get_unsigned(&buf, off, bits), v & mask);
            let sv = get_signed(&buf, off, bits);
            assert_eq!((sv as u64) & mask, v & mask);
            // Bits outside the field are untouched.
            for i in 0..160u64 {
                if i < off || i >= off + bits as u64 {
                    assert_eq!(bit_at(&buf, i as i64), bit_at(&before, i as i64));
                }
            }
        }
    }

    #[test]
    fn command_table() {
        for (name, arity) in [
            ("setbit", 4),
            ("getbit", 3),
            ("bitcount", -2),
            ("bitpos", -3),
            ("bitop", -4),
            ("bitfield", -2),
            ("bitfield_ro", -2),
        ] {
            let c = crate::redis::lookup(name.as_bytes()).expect(name);
            assert_eq!(c.arity, arity, "{name}");
            assert_eq!(c.group, "bitmap");
        }
        let bitop = crate::redis::lookup(b"BITOP").unwrap();
        let args: Vec<Bytes> = ["BITOP", "AND", "d", "a", "b"].iter().map(|s| Bytes::from(*s)).collect();
        assert_eq!(bitop.key_positions(&args), vec![2, 3, 4]);
    }
}
