//! HyperLogLog commands (<https://redis.io/commands/?group=hyperloglog>), a port of Redis 7.0's
//! `hyperloglog.c`: the value is a plain string with Redis's exact layout, so `GET` returns the
//! bytes Redis would store and a `SET` of a Redis-made HLL works here.
//!
//! Layout: a 16-byte header (`HYLL`, encoding byte, 3 unused bytes, the cached cardinality as a
//! little-endian u64 whose top bit marks the cache invalid), then either the dense encoding
//! (16384 6-bit registers, 12288 bytes) or the sparse one (ZERO / XZERO / VAL run-length
//! opcodes). A sparse HLL is promoted to dense when a register exceeds 32 or the string would
//! grow past `hll-sparse-max-bytes` (3000). Cardinality uses Ertl's improved estimator, as
//! Redis does since 5.0.

use crate::redis::flags::*;
use crate::redis::{CommandSpec, Ctx, Exec, KeySpec};
use crate::reply::{errors, Reply};
use crate::value::{StrValue, Value};
use bytes::Bytes;

const fn spec(name: &'static str, arity: i32, flags: u32, keys: KeySpec, h: crate::redis::Handler) -> CommandSpec {
    CommandSpec { name, arity, flags, keys, group: "hyperloglog", exec: Exec::Engine(h) }
}

pub const COMMANDS: &[CommandSpec] = &[
    spec("pfadd", -2, WRITE | DENYOOM | FAST, KeySpec::Range { first: 1, last: 1, step: 1 }, pfadd),
    spec("pfcount", -2, READONLY, KeySpec::Range { first: 1, last: -1, step: 1 }, pfcount),
    spec("pfmerge", -2, WRITE | DENYOOM, KeySpec::Range { first: 1, last: -1, step: 1 }, pfmerge),
];

/// Redis's texts (`isHLLObjectOrReply` and `invalid_hll_err`).
pub const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
pub const CORRUPTED: &str = "INVALIDOBJ Corrupted HLL object detected";

const HDR_SIZE: usize = 16;
const P: u32 = 14;
const Q: u32 = 64 - P;
const REGISTERS: usize = 1 << P;
const P_MASK: u64 = REGISTERS as u64 - 1;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
const DENSE_BYTES: usize = (REGISTERS * BITS).div_ceil(8);
const DENSE_SIZE: usize = HDR_SIZE + DENSE_BYTES;
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
const MAX_ENCODING: u8 = 1;
/// `hll-sparse-max-bytes` default.
const SPARSE_MAX_BYTES: usize = 3000;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7; // 0.5 / ln(2)
const SEED: u64 = 0xadc8_3b19;

/// A sparse HLL whose opcodes do not add up to 16384 registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Corrupt;

// ---------------------------------------------------------------------------------------------
// Hashing

/// MurmurHash2, 64-bit version (MurmurHash64A), endian-neutral as in Redis.
fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rem = chunks.remainder();
    if !rem.is_empty() {
        for (i, &b) in rem.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// `hllPatLen`: the register an element maps to and the length of its `000..1` pattern.
fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, SEED);
    let index = (hash & P_MASK) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------------------------------
// Dense representation (the register bytes after the header)

fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = regs.get(byte).copied().unwrap_or(0) as u32;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u32) as u8
}

fn dense_put(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = val as u32;
    let max = REGISTER_MAX as u32;
    if let Some(b) = regs.get_mut(byte) {
        *b = ((*b as u32 & !(max << fb)) | (v << fb)) as u8;
    }
    // The last register never reaches into the byte after the array (Redis touches the sds
    // terminator there without changing it).
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = ((*b as u32 & !(max >> (8 - fb))) | (v >> (8 - fb))) as u8;
    }
}

/// `hllDenseSet`: raises register `i` to `count`; true if it changed.
fn dense_set(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        true
    } else {
        false
    }
}

fn dense_histo(regs: &[u8], histo: &mut [u32; 64]) {
    for c in regs.chunks_exact(3) {
        let (b0, b1, b2) = (c[0], c[1], c[2]);
        histo[(b0 & 63) as usize] += 1;
        histo[((b0 >> 6 | b1 << 2) & 63) as usize] += 1;
        histo[((b1 >> 4 | b2 << 4) & 63) as usize] += 1;
        histo[(b2 >> 2) as usize] += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Sparse representation (opcodes after the header)

const XZERO_BIT: u8 = 0x40;
const VAL_BIT: u8 = 0x80;

#[derive(Clone, Copy)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

/// Decodes the opcode at `p` (a byte past the end reads as 0, like the sds terminator).
fn op_at(s: &[u8], p: usize) -> Op {
    let b = s[p];
    if b & 0xc0 == 0 {
        Op::Zero((b & 0x3f) as usize + 1)
    } else if b & VAL_BIT != 0 {
        Op::Val(((b >> 2) & 0x1f) + 1, (b & 3) as usize + 1)
    } else {
        let lo = s.get(p + 1).copied().unwrap_or(0) as usize;
        Op::XZero(((((b & 0x3f) as usize) << 8) | lo) + 1)
    }
}

fn val_op(val: u8, len: usize) -> u8 {
    ((val - 1) << 2 | (len as u8 - 1)) | VAL_BIT
}

/// The ZERO or XZERO opcode for `len` zero registers (1..=16384): its bytes and length.
fn zeros_op(len: usize) -> ([u8; 2], usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        let l = len - 1;
        ([(l >> 8) as u8 | XZERO_BIT, (l & 0xff) as u8], 2)
    } else {
        ([(len - 1) as u8, 0], 1)
    }
}

/// The up-to-5-byte opcode sequence replacing one opcode in `sparse_set`.
struct Seq {
    buf: [u8; 5],
    len: usize,
}

impl Seq {
    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    fn push_zeros(&mut self, len: usize) {
        let (op, n) = zeros_op(len);
        for &b in &op[..n] {
            self.push(b);
        }
    }
}

/// `createHLLObject`: an empty sparse HLL (a single XZERO:16384).
fn new_sparse() -> Vec<u8> {
    let mut s = Vec::with_capacity(HDR_SIZE + 2 * REGISTERS.div_ceil(SPARSE_XZERO_MAX_LEN));
    s.extend_from_slice(b"HYLL");
    s.push(SPARSE);
    s.extend_from_slice(&[0; 11]);
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(SPARSE_XZERO_MAX_LEN);
        let (op, len) = zeros_op(n);
        s.extend_from_slice(&op[..len]);
        left -= n;
    }
    s
}

fn sparse_histo(ops: &[u8], histo: &mut [u32; 64]) -> Result<(), Corrupt> {
    let mut idx = 0usize;
    let mut p = 0;
    while p < ops.len() {
        match op_at(ops, p) {
            Op::Zero(n) => {
                idx += n;
                histo[0] += n as u32;
                p += 1;
            }
            Op::XZero(n) => {
                idx += n;
                histo[0] += n as u32;
                p += 2;
            }
            Op::Val(v, n) => {
                idx += n;
                histo[v as usize] += n as u32;
                p += 1;
            }
        }
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// `hllSparseToDense`: converts in place (a no-op for a dense HLL). The header, cached
/// cardinality included, is kept. On error the value is left untouched.
fn sparse_to_dense(s: &mut Vec<u8>) -> Result<(), Corrupt> {
    if s[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&s[..HDR_SIZE]);
    dense[4] = DENSE;
    let regs = &mut dense[HDR_SIZE..];
    let mut idx = 0usize;
    let mut p = HDR_SIZE;
    while p < s.len() {
        match op_at(s, p) {
            Op::Zero(n) => {
                idx += n;
                p += 1;
            }
            Op::XZero(n) => {
                idx += n;
                p += 2;
            }
            Op::Val(v, n) => {
                // As in PFMERGE: redis-server 7.0 (with the CVE-2025-32023 fix) treats a run
                // past the last register as corruption.
                if idx + n > REGISTERS {
                    return Err(Corrupt);
                }
                for i in idx..idx + n {
                    dense_put(regs, i, v);
                }
                idx += n;
                p += 1;
            }
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *s = dense;
    Ok(())
}

fn invalidate_cache(s: &mut [u8]) {
    s[15] |= 0x80;
}

/// `hllSparseSet`: raises register `index` to `count` in a sparse HLL, promoting it to dense
/// when needed. Ok(true) if the register changed.
fn sparse_set(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(s, index, count);
    }

    // Step 1: find the opcode covering the register.
    let mut end = s.len();
    let mut p = HDR_SIZE;
    let mut first = 0usize;
    let mut prev = None;
    let mut span = 0usize;
    let mut op = Op::Zero(0);
    while p < end {
        op = op_at(s, p);
        let oplen;
        (span, oplen) = match op {
            Op::Zero(n) => (n, 1),
            Op::Val(_, n) => (n, 1),
            Op::XZero(n) => (n, 2),
        };
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    let oldlen = if matches!(op, Op::XZero(_)) { 2 } else { 1 };
    let has_next = p + oldlen < end;

    // Step 2: the trivial cases, then the general split into up to 5 bytes.
    'updated: {
        match op {
            Op::Val(old, n) => {
                if old >= count {
                    return Ok(false);
                }
                if n == 1 {
                    s[p] = val_op(count, 1);
                    break 'updated;
                }
            }
            Op::Zero(1) => {
                s[p] = val_op(count, 1);
                break 'updated;
            }
            _ => {}
        }
        let last = first + span - 1;
        let mut seq = Seq { buf: [0; 5], len: 0 };
        match op {
            Op::Val(cur, _) => {
                if index != first {
                    seq.push(val_op(cur, index - first));
                }
                seq.push(val_op(count, 1));
                if index != last {
                    seq.push(val_op(cur, last - index));
                }
            }
            _ => {
                if index != first {
                    seq.push_zeros(index - first);
                }
                seq.push(val_op(count, 1));
                if index != last {
                    seq.push_zeros(last - index);
                }
            }
        }

        // Step 3: put the new sequence in place of the old opcode.
        let delta = seq.len as isize - oldlen as isize;
        if delta > 0 && end + delta as usize > SPARSE_MAX_BYTES {
            return promote(s, index, count);
        }
        let new_len = (end as isize + delta) as usize;
        let old_end = (p + oldlen).min(end);
        s.splice(p..old_end, seq.buf[..seq.len].iter().copied());
        if !has_next {
            // A truncated XZERO at the very end: keep Redis's length arithmetic.
            s.truncate(new_len);
        }
        end = s.len();
    }

    // Step 4: merge adjacent VAL opcodes with the same value, scanning up to 5 opcodes.
    let mut p = prev.unwrap_or(HDR_SIZE);
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        let b = s[p];
        if b & 0xc0 == XZERO_BIT {
            p += 2;
            continue;
        } else if b & 0xc0 == 0 {
            p += 1;
            continue;
        }
        if p + 1 < end && s[p + 1] & VAL_BIT != 0 {
            if let (Op::Val(v1, l1), Op::Val(v2, l2)) = (op_at(s, p), op_at(s, p + 1)) {
                if v1 == v2 && l1 + l2 <= SPARSE_VAL_MAX_LEN {
                    s[p + 1] = val_op(v1, l1 + l2);
                    s.remove(p);
                    end -= 1;
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate_cache(s);
    Ok(true)
}

fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(s)?;
    dense_set(&mut s[HDR_SIZE..], index, count);
    Ok(true)
}

/// `hllAdd` on a validated HLL string.
fn add(s: &mut Vec<u8>, ele: &[u8]) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    if s[4] == DENSE {
        Ok(dense_set(&mut s[HDR_SIZE..], index, count))
    } else {
        sparse_set(s, index, count)
    }
}

// ---------------------------------------------------------------------------------------------
// Estimation

/// Ertl's sigma function ("New cardinality estimation algorithms for HyperLogLog sketches").
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let zp = z;
        z += x * y;
        y += y;
        if zp == z {
            return z;
        }
    }
}

/// Ertl's tau function.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let zp = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if zp == z {
            return z / 3.0;
        }
    }
}

/// C's `llround`: out-of-range and NaN give `LLONG_MIN` (x86-64).
fn llround(x: f64) -> i64 {
    let r = x.round();
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if (-LIMIT..LIMIT).contains(&r) {
        r as i64
    } else {
        i64::MIN
    }
}

/// `hllCount` from a register histogram.
fn estimate(histo: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    // `E = llroundl(...)` is a double, then converted to uint64_t: the same bits as the i64.
    llround(ALPHA_INF * m * m / z) as u64
}

/// The cardinality of a validated HLL string (Err for a corrupted sparse one).
fn count(s: &[u8]) -> Result<u64, Corrupt> {
    let mut histo = [0u32; 64];
    if s[4] == DENSE {
        dense_histo(&s[HDR_SIZE..], &mut histo);
    } else {
        sparse_histo(&s[HDR_SIZE..], &mut histo)?;
    }
    Ok(estimate(&histo))
}

/// `hllMerge`: max[i] = MAX(max[i], hll[i]).
fn merge(max: &mut [u8; REGISTERS], s: &[u8]) -> Result<(), Corrupt> {
    if s[4] == DENSE {
        let regs = &s[HDR_SIZE..];
        for (i, m) in max.iter_mut().enumerate() {
            let v = dense_get(regs, i);
            if v > *m {
                *m = v;
            }
        }
        return Ok(());
    }
    let mut i = 0usize;
    let mut p = HDR_SIZE;
    while p < s.len() {
        match op_at(s, p) {
            Op::Zero(n) => {
                i += n;
                p += 1;
            }
            Op::XZero(n) => {
                i += n;
                p += 2;
            }
            Op::Val(v, n) => {
                // redis-server 7.0 reports a run past the last register as corruption (a
                // valid sparse HLL followed by junk bytes fails here).
                if i + n > REGISTERS {
                    return Err(Corrupt);
                }
                for m in &mut max[i..i + n] {
                    if v > *m {
                        *m = v;
                    }
                }
                i += n;
                p += 1;
            }
        }
    }
    if i == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// `isHLLObjectOrReply`'s checks on a string value.
fn is_hll(s: &[u8]) -> bool {
    s.len() >= HDR_SIZE && &s[..4] == b"HYLL" && s[4] <= MAX_ENCODING && (s[4] != DENSE || s.len() == DENSE_SIZE)
}

// ---------------------------------------------------------------------------------------------
// Commands

/// Adds `elems` to a validated HLL; returns (registers changed, corrupted).
fn add_all(s: &mut Vec<u8>, elems: &[Bytes], mut updated: u64) -> (u64, bool) {
    for e in elems {
        match add(s, e) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(Corrupt) => return (updated, true),
        }
    }
    if updated > 0 {
        invalidate_cache(s);
    }
    (updated, false)
}

fn pfadd(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let db = ctx.db();
    let (updated, corrupt) = match db.get_str_mut(&args[1], now) {
        Err(e) => return e.into(),
        Ok(Some(s)) => {
            if !is_hll(s) {
                return Reply::err(NOT_HLL);
            }
            add_all(s, &args[2..], 0)
        }
        Ok(None) => {
            let mut s = new_sparse();
            let r = add_all(&mut s, &args[2..], 1);
            db.set(args[1].clone(), Value::Str(StrValue::raw(s)));
            r
        }
    };
    if updated > 0 {
        ctx.dirty(updated);
    }
    if corrupt {
        return Reply::err(CORRUPTED);
    }
    Reply::Int((updated > 0) as i64)
}

fn pfcount(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let db = ctx.db();
    if args.len() > 2 {
        // The union of several HLLs, in a temporary 8-bit-register HLL; keys are not modified.
        let mut max = [0u8; REGISTERS];
        for key in &args[1..] {
            match db.get_str(key, now) {
                Err(e) => return e.into(),
                Ok(None) => {}
                Ok(Some(s)) => {
                    if !is_hll(s) {
                        return Reply::err(NOT_HLL);
                    }
                    if merge(&mut max, s).is_err() {
                        return Reply::err(CORRUPTED);
                    }
                }
            }
        }
        let mut histo = [0u32; 64];
        for &v in max.iter() {
            histo[(v & REGISTER_MAX) as usize] += 1;
        }
        return Reply::Int(estimate(&histo) as i64);
    }

    let (card, recomputed) = match db.get_str_mut(&args[1], now) {
        Err(e) => return e.into(),
        Ok(None) => return Reply::Int(0),
        Ok(Some(s)) => {
            if !is_hll(s) {
                return Reply::err(NOT_HLL);
            }
            if s[15] & 0x80 == 0 {
                let mut b = [0u8; 8];
                b.copy_from_slice(&s[8..16]);
                (u64::from_le_bytes(b), false)
            } else {
                match count(s) {
                    Err(Corrupt) => return Reply::err(CORRUPTED),
                    Ok(c) => {
                        s[8..16].copy_from_slice(&c.to_le_bytes());
                        (c, true)
                    }
                }
            }
        }
    };
    if recomputed {
        ctx.dirty(1);
    }
    Reply::Int(card as i64)
}

fn pfmerge(ctx: &mut Ctx, args: &[Bytes]) -> Reply {
    let now = ctx.now_ms;
    let db = ctx.db();
    let mut max = [0u8; REGISTERS];
    let mut use_dense = false;
    for key in &args[1..] {
        match db.get_str(key, now) {
            Err(e) => return e.into(),
            Ok(None) => {}
            Ok(Some(s)) => {
                if !is_hll(s) {
                    return Reply::err(NOT_HLL);
                }
                use_dense |= s[4] == DENSE;
                if merge(&mut max, s).is_err() {
                    return Reply::err(CORRUPTED);
                }
            }
        }
    }

    let dest = &args[1];
    if !db.contains(dest, now) {
        db.set(dest.clone(), Value::Str(StrValue::raw(new_sparse())));
    }
    // The destination was checked above (it is argv[1], the first source).
    let Ok(Some(s)) = db.get_str_mut(dest, now) else {
        return Reply::err(errors::WRONGTYPE);
    };
    // Redis makes the destination dense when any input is dense.
    if use_dense && sparse_to_dense(s).is_err() {
        return Reply::err(CORRUPTED);
    }
    for (i, &v) in max.iter().enumerate() {
        if v == 0 {
            continue;
        }
        if s[4] == DENSE {
            dense_set(&mut s[HDR_SIZE..], i, v);
        } else {
            // Redis ignores errors here: the destination was validated by the merge.
            let _ = sparse_set(s, i, v);
        }
    }
    invalidate_cache(s);
    ctx.dirty(1);
    Reply::Ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redis::testing::T;

    fn get(t: &mut T, key: &str) -> Vec<u8> {
        match t.cmd(&["GET", key]) {
            Reply::Bulk(b) => b.to_vec(),
            r => panic!("GET {key}: {r:?}"),
        }
    }

    fn set_raw(t: &mut T, key: &str, v: Vec<u8>) {
        t.ks.dbs[0].set(Bytes::copy_from_slice(key.as_bytes()), Value::Str(StrValue::raw(v)));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn murmur_and_pattern() {
        // Cross-checked against redis-server 7.0.15 (register bytes of PFADD results below).
        // "x" sets register 16374 to 2 in Redis (sparse bytes 7ff5 84 08: XZERO:16374, VAL:2,1,
        // ZERO:9).
        assert_eq!(pat_len(b"x"), (16374, 2));
        assert_eq!(pat_len(b""), pat_len(b""));
    }

    #[test]
    fn pfadd_bytes_match_redis() {
        let mut t = T::new();
        // Creating with no elements: XZERO:16384, cache marked invalid.
        assert_eq!(t.cmd(&["PFADD", "e"]), Reply::Int(1));
        assert_eq!(get(&mut t, "e"), hex("48594c4c0100000000000000000000807fff"));
        assert_eq!(t.cmd(&["PFADD", "e"]), Reply::Int(0));
        assert_eq!(t.cmd(&["PFADD", "f", "x"]), Reply::Int(1));
        assert_eq!(get(&mut t, "f"), hex("48594c4c0100000000000000000000807ff58408"));
        assert_eq!(t.cmd(&["PFADD", "f", "x"]), Reply::Int(0));
        assert_eq!(t.cmd(&["PFCOUNT", "f"]), Reply::Int(1));
        // The cached cardinality is written back.
        assert_eq!(get(&mut t, "f"), hex("48594c4c0100000001000000000000007ff58408"));
        assert_eq!(t.cmd(&["PFADD", "a", "x", "y", "z"]), Reply::Int(1));
        assert_eq!(get(&mut t, "a"), hex("48594c4c01000000000000000000008061848058cd8845a08408"));
        assert_eq!(t.cmd(&["PFCOUNT", "a"]), Reply::Int(3));
    }

    #[test]
    fn errors_and_types() {
        let mut t = T::new();
        t.cmd(&["SET", "s", "foo"]);
        assert_eq!(t.cmd(&["PFADD", "s", "x"]), Reply::err(NOT_HLL));
        assert_eq!(t.cmd(&["PFCOUNT", "s"]), Reply::err(NOT_HLL));
        assert_eq!(t.cmd(&["PFCOUNT", "nokey", "s"]), Reply::err(NOT_HLL));
        assert_eq!(t.cmd(&["PFMERGE", "d", "s"]), Reply::err(NOT_HLL));
        assert_eq!(t.cmd(&["EXISTS", "d"]), Reply::Int(0));
        let mut list = crate::value::ListValue::default();
        list.push_back(Bytes::from_static(b"x"));
        t.ks.dbs[0].set(Bytes::from_static(b"l"), Value::List(list));
        assert_eq!(t.cmd(&["PFADD", "l", "x"]), Reply::err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["PFCOUNT", "l"]), Reply::err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["PFMERGE", "d", "l"]), Reply::err(errors::WRONGTYPE));
        assert_eq!(t.cmd(&["PFADD"]), Reply::err(errors::wrong_args("pfadd")));
        assert_eq!(t.cmd(&["PFCOUNT"]), Reply::err(errors::wrong_args("pfcount")));
        assert_eq!(t.cmd(&["PFMERGE"]), Reply::err(errors::wrong_args("pfmerge")));
        assert_eq!(t.cmd(&["PFCOUNT", "nokey"]), Reply::Int(0));
        assert_eq!(t.cmd(&["PFCOUNT", "nokey", "nokey2"]), Reply::Int(0));

        // Dense with a wrong length, unknown encoding, short string.
        let mut v = b"HYLL".to_vec();
        v.extend_from_slice(&[0; 12]);
        set_raw(&mut t, "bad", v.clone());
        assert_eq!(t.cmd(&["PFCOUNT", "bad"]), Reply::err(NOT_HLL));
        v[4] = 2;
        v.resize(DENSE_SIZE, 0);
        set_raw(&mut t, "bad", v);
        assert_eq!(t.cmd(&["PFADD", "bad", "x"]), Reply::err(NOT_HLL));
        set_raw(&mut t, "bad", b"HYLL".to_vec());
        assert_eq!(t.cmd(&["PFADD", "bad", "x"]), Reply::err(NOT_HLL));
    }

    #[test]
    fn corrupted_sparse() {
        let mut t = T::new();
        // A sparse header with no opcodes, and one whose opcodes cover too few registers.
        let mut v = b"HYLL\x01".to_vec();
        v.extend_from_slice(&[0; 10]);
        v.push(0x80);
        set_raw(&mut t, "c", v.clone());
        assert_eq!(t.cmd(&["PFADD", "c", "x"]), Reply::err(CORRUPTED));
        assert_eq!(t.cmd(&["PFCOUNT", "c"]), Reply::err(CORRUPTED));
        assert_eq!(t.cmd(&["PFCOUNT", "c", "c"]), Reply::err(CORRUPTED));
        assert_eq!(t.cmd(&["PFMERGE", "d", "c"]), Reply::err(CORRUPTED));
        v.extend_from_slice(&[0x40, 0x10]);
        set_raw(&mut t, "c", v.clone());
        assert_eq!(t.cmd(&["PFCOUNT", "c"]), Reply::err(CORRUPTED));
        // A valid cached cardinality is returned without looking at the registers, like Redis.
        v[15] = 0;
        v[8] = 7;
        set_raw(&mut t, "c", v);
        assert_eq!(t.cmd(&["PFCOUNT", "c"]), Reply::Int(7));
        // A valid sparse HLL with a junk opcode appended: a run past the last register.
        t.cmd(&["PFADD", "j", "0x10", "1"]);
        t.cmd(&["APPEND", "j", "\u{c0}"]);
        assert_eq!(t.cmd(&["PFMERGE", "k", "j"]), Reply::err(CORRUPTED));
        // ... and so does the conversion to dense when enough elements are added.
        let many: Vec<String> = (0..3000).map(|i| format!("m{i}")).collect();
        let mut args = vec!["PFADD", "j"];
        args.extend(many.iter().map(|s| s.as_str()));
        assert_eq!(t.cmd(&args), Reply::err(CORRUPTED));
        // Truncated XZERO / odd opcodes never panic.
        for tail in [&[0x7fu8][..], &[0x7f, 0xff, 0x7f], &[0xff; 40], &[0x3f; 300]] {
            let mut v = b"HYLL\x01".to_vec();
            v.extend_from_slice(&[0; 10]);
            v.push(0x80);
            v.extend_from_slice(tail);
            set_raw(&mut t, "z", v);
            for i in 0..50 {
                t.cmd(&["PFADD", "z", &i.to_string()]);
            }
            t.cmd(&["PFCOUNT", "z"]);
            t.cmd(&["PFCOUNT", "z", "z"]);
            t.cmd(&["PFMERGE", "z", "z"]);
        }
    }

    fn fnv(b: &[u8]) -> u64 {
        b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| (h ^ x as u64).wrapping_mul(0x100_0000_01b3))
    }

    fn add_range(t: &mut T, key: &str, prefix: &str, n: usize) {
        let elems: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
        for chunk in elems.chunks(1000) {
            let mut cmd = vec!["PFADD", key];
            cmd.extend(chunk.iter().map(|s| s.as_str()));
            t.cmd(&cmd);
        }
    }

    #[test]
    fn estimates_and_bytes_match_redis() {
        // PFADD of "0".."n-1", then PFCOUNT: (n, count, GET length, FNV-1a of GET), all taken
        // from redis-server 7.0.15. Covers sparse growth, promotion to dense at 3000 bytes and
        // the estimator over a wide range.
        let expected: &[(usize, i64, usize, u64)] = &[
            (1, 1, 21, 0x3bbcda53b172f9f4),
            (2, 2, 24, 0x68cb725227c5ee13),
            (3, 3, 27, 0xbfee164f03734c25),
            (10, 10, 48, 0xfe68c5c3da9ea5b4),
            (50, 50, 160, 0x2a463bf3d75a9d39),
            (100, 100, 287, 0x4fde7aaa024ce2e8),
            (200, 201, 507, 0x28c7b3a23b871ad6),
            (500, 503, 1061, 0x6a04184a9670bd19),
            (700, 706, 1407, 0x408f5cd645a62bc1),
            (1000, 1001, 1923, 0x51490756a4354f02),
            (1500, 1512, 2766, 0x00979c1230078229),
            (2000, 2007, 12304, 0x7a421cc0d33d9732),
            (2500, 2517, 12304, 0x05cdab76afad6630),
            (3000, 3004, 12304, 0xbe720211e591dea0),
            (4000, 4003, 12304, 0xe3d54c09b5708092),
            (5000, 4985, 12304, 0x06aa245946333ae4),
            (8000, 7973, 12304, 0x869888ecd834d8ef),
            (10000, 9987, 12304, 0x99d49421db1c95c2),
            (20000, 19891, 12304, 0x7bcf2012ed07835e),
            (50000, 50354, 12304, 0xffb98ef9f62d6acf),
            (100000, 99565, 12304, 0xe06f8585e625cb6e),
        ];
        let mut t = T::new();
        for &(n, count, len, hash) in expected {
            let key = format!("h{n}");
            add_range(&mut t, &key, "", n);
            assert_eq!(t.cmd(&["PFCOUNT", &key]), Reply::Int(count), "n = {n}");
            let v = get(&mut t, &key);
            assert_eq!((v.len(), fnv(&v)), (len, hash), "n = {n}");
            // The cached value is served now.
            assert_eq!(t.cmd(&["PFCOUNT", &key]), Reply::Int(count), "n = {n}");
        }
    }

    #[test]
    fn merge_and_multi_count_match_redis() {
        let mut t = T::new();
        add_range(&mut t, "h100", "", 100);
        add_range(&mut t, "h200", "", 200);
        add_range(&mut t, "h5000", "", 5000);
        add_range(&mut t, "o", "o", 150);
        let dirty = t.ks.dirty;
        // PFCOUNT of several keys leaves them alone (h100's cache stays invalid).
        assert_eq!(t.cmd(&["PFCOUNT", "h100", "o", "nokey"]), Reply::Int(251));
        assert_eq!(t.cmd(&["PFCOUNT", "h5000", "o"]), Reply::Int(5133));
        assert_eq!(t.ks.dirty, dirty);
        let v = get(&mut t, "h100");
        assert_eq!((v.len(), fnv(&v)), (287, 0xf1f9664fb7b774bc));
        // Sparse sources: the new destination stays sparse.
        assert_eq!(t.cmd(&["PFMERGE", "m1", "h100", "o"]), Reply::Ok);
        let v = get(&mut t, "m1");
        assert_eq!((v.len(), fnv(&v)), (598, 0x546e59836c542ee9));
        assert_eq!(t.cmd(&["PFCOUNT", "m1"]), Reply::Int(251));
        // A dense source makes the destination dense.
        assert_eq!(t.cmd(&["PFMERGE", "m2", "h5000", "o"]), Reply::Ok);
        let v = get(&mut t, "m2");
        assert_eq!((v.len(), fnv(&v)), (12304, 0xc00bbc9a08461ce8));
        assert_eq!(t.cmd(&["PFCOUNT", "m2"]), Reply::Int(5133));
        // Merging into an existing sparse key.
        assert_eq!(t.cmd(&["PFMERGE", "h200", "o"]), Reply::Ok);
        let v = get(&mut t, "h200");
        assert_eq!((v.len(), fnv(&v)), (792, 0x188d3512e04c9622));
        assert_eq!(t.cmd(&["PFCOUNT", "h200"]), Reply::Int(352));
        // No sources: an empty HLL is created; merging always counts as a change.
        let dirty = t.ks.dirty;
        assert_eq!(t.cmd(&["PFMERGE", "empty"]), Reply::Ok);
        assert_eq!(get(&mut t, "empty"), hex("48594c4c0100000000000000000000807fff"));
        assert_eq!(t.cmd(&["PFMERGE", "empty"]), Reply::Ok);
        assert_eq!(t.ks.dirty, dirty + 2);
    }

    #[test]
    fn dirty_counts() {
        let mut t = T::new();
        let d0 = t.ks.dirty;
        assert_eq!(t.cmd(&["PFADD", "k", "a", "b", "c"]), Reply::Int(1));
        assert_eq!(t.ks.dirty, d0 + 4); // creation + 3 registers
        assert_eq!(t.cmd(&["PFADD", "k", "a", "b"]), Reply::Int(0));
        assert_eq!(t.ks.dirty, d0 + 4);
        assert_eq!(t.cmd(&["PFCOUNT", "k"]), Reply::Int(3));
        assert_eq!(t.ks.dirty, d0 + 5); // the cache was written
        assert_eq!(t.cmd(&["PFCOUNT", "k"]), Reply::Int(3));
        assert_eq!(t.ks.dirty, d0 + 5);
    }

    #[test]
    fn corrupted_dense_estimate_like_redis() {
        // All registers at 51: Redis's llroundl overflows and it replies LLONG_MIN (checked
        // against redis-server 7.0.15); the cache keeps its invalid bit, as in Redis.
        let mut t = T::new();
        let mut v = b"HYLL\x00".to_vec();
        v.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]);
        let mut regs = vec![0u8; DENSE_BYTES];
        for i in 0..REGISTERS {
            dense_put(&mut regs, i, 51);
        }
        v.extend_from_slice(&regs);
        set_raw(&mut t, "d", v);
        assert_eq!(t.cmd(&["PFCOUNT", "d"]), Reply::Int(i64::MIN));
        assert_eq!(t.cmd(&["PFCOUNT", "d"]), Reply::Int(i64::MIN));
        assert_eq!(t.cmd(&["PFADD", "d", "x"]), Reply::Int(0));
    }
}
