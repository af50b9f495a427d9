//! Typed values of the Redis keyspace. Collections hold [`Bytes`] elements so that replies can
//! hand them out without copying. Hashes and sets are insertion-ordered hash maps
//! ([`indexmap`]): O(1) random access for SPOP/SRANDMEMBER/HRANDFIELD and a stable cursor for
//! HSCAN/SSCAN (see [`crate::keyspace::scan_positions`]).

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use std::collections::VecDeque;

pub type FastBuild = std::hash::BuildHasherDefault<rustc_hash::FxHasher>;
pub type ListValue = VecDeque<Bytes>;

/// Redis's `set-max-intset-entries` default.
pub const INTSET_MAX_ENTRIES: usize = 512;

/// A hash, and whether Redis 7.0 would hold it as a hash table rather than a listpack. Redis
/// converts when HSET/HSETNX get a field or value over 64 bytes or the hash grows past 128
/// fields, and never converts back: the encoding depends on the hash's history, so it is kept
/// here (see `cmd::hashes`). Reads and writes of the fields go through `Deref` to the map.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HashValue {
    map: IndexMap<Bytes, Bytes, FastBuild>,
    hashtable: bool,
}

impl HashValue {
    /// True while Redis would keep it a listpack (fields in insertion order, scanned whole).
    pub fn is_listpack(&self) -> bool {
        !self.hashtable
    }

    pub fn convert_to_hashtable(&mut self) {
        self.hashtable = true;
    }
}

impl std::ops::Deref for HashValue {
    type Target = IndexMap<Bytes, Bytes, FastBuild>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl std::ops::DerefMut for HashValue {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.map
    }
}

/// A set, and whether Redis 7.0 would hold it as a hash table rather than an intset: Redis
/// converts when a non-integer member is added or the set grows past 512 members, and never
/// converts back. Add members with [`SetValue::add`] so the conversion is noted; everything else
/// goes through `Deref` to the set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetValue {
    set: IndexSet<Bytes, FastBuild>,
    hashtable: bool,
}

impl SetValue {
    pub fn with_capacity(n: usize) -> SetValue {
        SetValue { set: IndexSet::with_capacity_and_hasher(n, FastBuild::default()), hashtable: false }
    }

    /// `setTypeAdd`: true if `m` was new.
    pub fn add(&mut self, m: Bytes) -> bool {
        if !self.hashtable && parse_i64_strict(&m).is_none() {
            self.hashtable = true;
        }
        let added = self.set.insert(m);
        if self.set.len() > INTSET_MAX_ENTRIES {
            self.hashtable = true;
        }
        added
    }

    /// True while Redis would keep it an intset (members then sorted as integers).
    pub fn is_intset(&self) -> bool {
        !self.hashtable
    }

    pub fn convert_to_hashtable(&mut self) {
        self.hashtable = true;
    }
}

impl std::ops::Deref for SetValue {
    type Target = IndexSet<Bytes, FastBuild>;
    fn deref(&self) -> &Self::Target {
        &self.set
    }
}

impl std::ops::DerefMut for SetValue {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.set
    }
}

impl IntoIterator for SetValue {
    type Item = Bytes;
    type IntoIter = indexmap::set::IntoIter<Bytes>;
    fn into_iter(self) -> Self::IntoIter {
        self.set.into_iter()
    }
}

impl FromIterator<Bytes> for SetValue {
    /// A set built member by member, as Redis's `createIntsetObject` + `setTypeAdd`.
    fn from_iter<I: IntoIterator<Item = Bytes>>(iter: I) -> SetValue {
        let mut s = SetValue::default();
        for m in iter {
            s.add(m);
        }
        s
    }
}

pub use crate::redis::zset::ZSet;

/// Redis's `OBJ_SHARED_INTEGERS`: integer strings below this are shared objects in Redis
/// (`OBJECT REFCOUNT` answers `INT_MAX` for them).
pub const SHARED_INTEGERS: i64 = 10_000;

/// How Redis 7.0 would encode a string object. Redis chooses it when the object is made and
/// keeps it until the object is changed in place (which makes it `raw`), so it depends on the
/// string's history, not only on its bytes: `SET k abc` is embstr, `APPEND k ""` makes it raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrEncoding {
    /// An integer in `[0, SHARED_INTEGERS)`: one of Redis's shared objects.
    SharedInt,
    Int,
    Embstr,
    #[default]
    Raw,
}

/// Redis's `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`.
const EMBSTR_MAX_BYTES: usize = 44;

/// A string value: its bytes and the encoding Redis would give it. Reading goes through
/// `Deref<Target = Vec<u8>>`; any mutable access (`DerefMut`) makes it `raw`, as Redis's
/// `dbUnshareStringValue` does before every in-place change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StrValue {
    bytes: Vec<u8>,
    enc: StrEncoding,
}

impl StrValue {
    /// A string stored from a client's argument (SET, MSET, APPEND to a new key, ...), encoded
    /// as Redis's `tryObjectEncoding` does: int if it reads as a long, embstr up to 44 bytes.
    pub fn new(bytes: Vec<u8>) -> StrValue {
        if bytes.len() <= 20 {
            if let Some(n) = parse_i64_strict(&bytes) {
                return StrValue::from_int_bytes(n, bytes);
            }
        }
        StrValue::created(bytes)
    }

    /// A string made by `createStringObject` (INCRBYFLOAT results): embstr or raw by length.
    pub fn created(bytes: Vec<u8>) -> StrValue {
        let enc = if bytes.len() <= EMBSTR_MAX_BYTES { StrEncoding::Embstr } else { StrEncoding::Raw };
        StrValue { bytes, enc }
    }

    /// A string built in place (SETRANGE, SETBIT, BITOP, HyperLogLogs): raw.
    pub fn raw(bytes: Vec<u8>) -> StrValue {
        StrValue { bytes, enc: StrEncoding::Raw }
    }

    /// An integer result (INCR family): `createStringObjectFromLongLongForValue`.
    pub fn from_int(n: i64) -> StrValue {
        StrValue::from_int_bytes(n, n.to_string().into_bytes())
    }

    fn from_int_bytes(n: i64, bytes: Vec<u8>) -> StrValue {
        let enc = if (0..SHARED_INTEGERS).contains(&n) { StrEncoding::SharedInt } else { StrEncoding::Int };
        StrValue { bytes, enc }
    }

    /// A copy as COPY makes it (`dupStringObject`): same encoding, but never shared.
    pub fn duplicate(&self) -> StrValue {
        let enc = if self.enc == StrEncoding::SharedInt { StrEncoding::Int } else { self.enc };
        StrValue { bytes: self.bytes.clone(), enc }
    }

    pub fn encoding(&self) -> StrEncoding {
        self.enc
    }

    /// The bytes for an in-place change: the string becomes raw.
    pub fn bytes_mut(&mut self) -> &mut Vec<u8> {
        self.enc = StrEncoding::Raw;
        &mut self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl std::ops::Deref for StrValue {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.bytes
    }
}

impl std::ops::DerefMut for StrValue {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        self.bytes_mut()
    }
}

impl From<Vec<u8>> for StrValue {
    fn from(bytes: Vec<u8>) -> StrValue {
        StrValue::new(bytes)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(StrValue),
    Hash(HashValue),
    List(ListValue),
    Set(SetValue),
    /// Boxed: the skip list is the largest value type, and inline it would make every
    /// entry (strings included) pay for its size.
    ZSet(Box<ZSet>),
}

impl Value {
    /// The name `TYPE` replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The encoding `OBJECT ENCODING` replies with, following Redis 7.0's default thresholds.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => match s.encoding() {
                StrEncoding::SharedInt | StrEncoding::Int => "int",
                StrEncoding::Embstr => "embstr",
                StrEncoding::Raw => "raw",
            },
            Value::Hash(h) => {
                if h.is_listpack() {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
            Value::List(_) => "quicklist",
            Value::Set(s) => {
                if s.is_intset() {
                    "intset"
                } else {
                    "hashtable"
                }
            }
            Value::ZSet(z) => {
                if z.is_listpack() {
                    "listpack"
                } else {
                    "skiplist"
                }
            }
        }
    }

    /// True for a collection with no elements (Redis deletes such keys).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::Hash(h) => h.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }

    /// An estimate of the heap bytes this value holds, for eviction and `MEMORY USAGE`.
    pub fn mem_bytes(&self) -> usize {
        const ELEM: usize = 48;
        match self {
            Value::Str(s) => s.capacity(),
            Value::Hash(h) => h.iter().map(|(k, v)| k.len() + v.len() + 2 * ELEM).sum(),
            Value::List(l) => l.iter().map(|e| e.len() + ELEM).sum(),
            Value::Set(s) => s.iter().map(|e| e.len() + ELEM).sum(),
            Value::ZSet(z) => z.mem_bytes(),
        }
    }
}

/// Parses a decimal integer the way Redis's `string2ll` does: no spaces, no leading `+`,
/// no leading zeros (except `0` itself), `-0` rejected, within i64.
pub fn parse_i64_strict(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() {
        return None;
    }
    if digits[0] == b'0' {
        return if digits.len() == 1 && !neg { Some(0) } else { None };
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Parses a float the way Redis's `string2d` does (`getDoubleFromObject`): the whole string is
/// a number as glibc's `strtod` reads it (hex floats included), no leading space, no overflow
/// or underflow to zero, no NaN. See [`crate::redis::float`].
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    crate::redis::float::string2d(s)
}

/// Formats a double as C's `%.17g` does (Redis 7.0's reply format for doubles in RESP2).
pub fn fmt_g17(d: f64) -> String {
    fmt_g(d, 17)
}

/// C's `%.<prec>g`.
pub fn fmt_g(d: f64, prec: usize) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let prec = prec.max(1);
    // Scientific form with prec significant digits tells the exponent after rounding.
    let sci = format!("{:.*e}", prec - 1, d);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mant = trim_fraction_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", mant, sign, exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        let fixed = format!("{:.*}", decimals, d);
        trim_fraction_zeros(&fixed).to_string()
    }
}

fn trim_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64_strict(b"0"), Some(0));
        assert_eq!(parse_i64_strict(b"-1"), Some(-1));
        assert_eq!(parse_i64_strict(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_strict(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64_strict(b"9223372036854775808"), None);
        assert_eq!(parse_i64_strict(b"01"), None);
        assert_eq!(parse_i64_strict(b"-0"), None);
        assert_eq!(parse_i64_strict(b"+1"), None);
        assert_eq!(parse_i64_strict(b" 1"), None);
        assert_eq!(parse_i64_strict(b""), None);
    }

    #[test]
    fn g17_matches_c() {
        assert_eq!(fmt_g17(1.5), "1.5");
        assert_eq!(fmt_g17(1.1), "1.1000000000000001");
        assert_eq!(fmt_g17(100.0), "100");
        assert_eq!(fmt_g17(1e20), "1e+20");
        assert_eq!(fmt_g17(0.0001), "0.0001");
        assert_eq!(fmt_g17(0.00001), "1.0000000000000001e-05");
        assert_eq!(fmt_g17(-2.0), "-2");
        assert_eq!(fmt_g17(f64::INFINITY), "inf");
    }

    #[test]
    fn floats_parse_like_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"abc"), None);
        assert_eq!(parse_f64(b""), None);
        // strtod reads hex; Redis rejects what overflows or underflows to zero.
        assert_eq!(parse_f64(b"0x10"), Some(16.0));
        assert_eq!(parse_f64(b"1e400"), None);
        assert_eq!(parse_f64(b"1e-400"), None);
    }
}
