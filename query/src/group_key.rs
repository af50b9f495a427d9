//! GROUP BY's hash table on the coordinator ([`crate::group`]): groups found by the hash of
//! their values without a key copied per row. A row's values are read in place as [`Part`]s
//! (the equality of [`crate::group::key_part`], borrowed), hashed with
//! [`crate::join_key::FastHasher`] a batch of rows and a key column at a time, then looked up
//! in an open-addressing table of group numbers that compares against the groups' own values.

use crate::join_key::FastHasher;
use orbit_engine::table::Datum;
use std::borrow::Cow;
use std::hash::{Hash, Hasher};

/// A value as GROUP BY and DISTINCT compare it (see [`crate::group::KeyPart`], its owned
/// form): NULLs are one group, -0 and 0 are equal, all NaNs are equal, integers of any width
/// compare by value, character(n) without its trailing spaces equals text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Part<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Text(&'a str),
    /// A finite numeric: negative?, its digits without leading or trailing zeros around the
    /// point ("1.50" and "01.5" are "1.5"; zero is (false, "")).
    Numeric(bool, &'a str),
    Bytes(Cow<'a, [u8]>),
}

/// The value `d` as GROUP BY compares it; only a value of a type without its own variant
/// (numeric, dates, ...) is copied, into its order-preserving encoding.
pub(crate) fn part(d: &Datum) -> Part<'_> {
    match d {
        Datum::Null => Part::Null,
        Datum::Bool(b) => Part::Bool(*b),
        Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_) => Part::Int(d.as_i64().unwrap_or_default()),
        Datum::Float4(_) | Datum::Float8(_) => {
            let f = d.as_f64().unwrap_or_default();
            Part::Float(if f.is_nan() {
                f64::NAN.to_bits()
            } else if f == 0.0 {
                0
            } else {
                f.to_bits()
            })
        }
        Datum::Text(s) => Part::Text(s),
        // character(n): trailing spaces do not count.
        Datum::Bpchar(s) => Part::Text(s.trim_end_matches(' ')),
        Datum::Bytea(b) => Part::Bytes(Cow::Borrowed(b)),
        Datum::Numeric(s) => match numeric(s) {
            Some((neg, digits)) => Part::Numeric(neg, digits),
            None => Part::Bytes(Cow::Owned(orbit_engine::table::key::encode(std::iter::once(d)))),
        },
        // Other types: equal values have equal order-preserving encodings.
        #[allow(unreachable_patterns)]
        other => Part::Bytes(Cow::Owned(orbit_engine::table::key::encode(std::iter::once(other)))),
    }
}

/// A finite numeric's text (`[-]digits[.digits]`) as its sign and its digits without the
/// zeros that do not change the value: equal exactly when the values are (as their
/// order-preserving encodings are). None for NaN, the infinities and any other text (those
/// compare by their encodings).
fn numeric(s: &str) -> Option<(bool, &str)> {
    let (neg, mag) = match s.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, s),
    };
    let (int, frac) = mag.split_once('.').unwrap_or((mag, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let start = int.len() - int.trim_start_matches('0').len();
    let frac = frac.trim_end_matches('0');
    // The digits from the first significant integer digit to the last significant fraction
    // digit, with the point when there is a fraction: one slice of `mag`.
    let end = if frac.is_empty() { int.len() } else { int.len() + 1 + frac.len() };
    let digits = &mag[start..end];
    if digits.bytes().all(|b| b == b'0' || b == b'.') {
        return Some((false, ""));
    }
    Some((neg, digits))
}

/// Whether two values are one group's.
pub(crate) fn same(a: &Datum, b: &Datum) -> bool {
    match (a, b) {
        // The common cases without building the parts.
        (Datum::Int4(x), Datum::Int4(y)) => x == y,
        (Datum::Int8(x), Datum::Int8(y)) => x == y,
        (Datum::Text(x), Datum::Text(y)) => x == y,
        (Datum::Numeric(x), Datum::Numeric(y)) if x == y => true,
        _ => part(a) == part(b),
    }
}

/// Mixes one value into a row's hash (`h` starts at 0 for the first value).
pub(crate) fn hash_into(h: &mut u64, d: &Datum) {
    let mut s = FastHasher::default();
    s.write_u64(*h);
    part(d).hash(&mut s);
    *h = s.finish();
}

/// The hash of one row's key.
pub(crate) fn hash_row<'a>(vals: impl Iterator<Item = &'a Datum>) -> u64 {
    let mut h = 0;
    for v in vals {
        hash_into(&mut h, v);
    }
    h
}

/// The hashes of `n` rows' keys: `value(k, r)` is key column k of row r. A column at a time.
pub(crate) fn hash_rows<'a>(n: usize, keys: usize, value: impl Fn(usize, usize) -> &'a Datum) -> Vec<u64> {
    let mut h = vec![0u64; n];
    for k in 0..keys {
        for (r, h) in h.iter_mut().enumerate() {
            hash_into(h, value(k, r));
        }
    }
    h
}

/// Group numbers by hash: open addressing, linear probing from the hash's top bits (FxHash
/// mixes its input into the high bits of the product). The keys are the groups' own values,
/// compared by the caller; the table keeps each group's hash.
#[derive(Debug, Default)]
pub(crate) struct GroupTable {
    /// Per slot the group number, or EMPTY; a power of two long.
    slots: Vec<usize>,
    /// 64 minus log2 of the slots.
    shift: u32,
    hashes: Vec<u64>,
}

const EMPTY: usize = usize::MAX;

impl GroupTable {
    /// The bytes each group takes in the table (its slots at the emptiest and its hash).
    pub(crate) const BYTES_PER_GROUP: usize = 4 * 8 + 8;

    fn start(&self, h: u64) -> usize {
        (h >> self.shift) as usize
    }

    /// The group whose hash is `h` and for which `eq` holds, if any.
    pub(crate) fn find(&self, h: u64, eq: impl Fn(usize) -> bool) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.start(h);
        loop {
            let g = self.slots[i];
            if g == EMPTY {
                return None;
            }
            if self.hashes[g] == h && eq(g) {
                return Some(g);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds the next group (numbered from 0 in the order added) with hash `h`.
    pub(crate) fn insert(&mut self, h: u64) -> usize {
        let g = self.hashes.len();
        self.hashes.push(h);
        // At most half full.
        if self.hashes.len() * 2 > self.slots.len() {
            let cap = (self.slots.len() * 2).max(16);
            self.slots = vec![EMPTY; cap];
            self.shift = 64 - cap.trailing_zeros();
            for (g, &h) in self.hashes.iter().enumerate() {
                place(&mut self.slots, self.shift, h, g);
            }
        } else {
            place(&mut self.slots, self.shift, h, g);
        }
        g
    }
}

/// Puts group `g` (hash `h`) in the first free slot from its start.
fn place(slots: &mut [usize], shift: u32, h: u64, g: usize) {
    let mask = slots.len() - 1;
    let mut i = (h >> shift) as usize;
    while slots[i] != EMPTY {
        i = (i + 1) & mask;
    }
    slots[i] = g;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::key_part;

    fn values() -> Vec<Datum> {
        vec![
            Datum::Null,
            Datum::Bool(true),
            Datum::Bool(false),
            Datum::Int2(1),
            Datum::Int4(1),
            Datum::Int8(1),
            Datum::Int8(-1),
            Datum::Float4(1.0),
            Datum::Float8(1.0),
            Datum::Float8(0.0),
            Datum::Float8(-0.0),
            Datum::Float8(f64::NAN),
            Datum::Float8(-f64::NAN),
            Datum::Float4(f32::NAN),
            Datum::Text("a".into()),
            Datum::Text("a ".into()),
            Datum::Bpchar("a  ".into()),
            Datum::Text("A".into()),
            Datum::Bytea(b"a".to_vec()),
            Datum::Numeric("1".into()),
            Datum::Numeric("1.0".into()),
            Datum::Numeric("1.5".into()),
            Datum::Numeric("1.50".into()),
            Datum::Numeric("01.5".into()),
            Datum::Numeric("-1.5".into()),
            Datum::Numeric("0".into()),
            Datum::Numeric("0.000".into()),
            Datum::Numeric("-0.0".into()),
            Datum::Numeric("100".into()),
            Datum::Numeric("100.00".into()),
            Datum::Numeric("10".into()),
            Datum::Numeric(".05".into()),
            Datum::Numeric("0.05".into()),
            Datum::Numeric("0.5".into()),
            Datum::Numeric("NaN".into()),
            Datum::Numeric("Infinity".into()),
            Datum::Numeric("-Infinity".into()),
            Datum::Date(1),
        ]
    }

    fn hash(d: &Datum) -> u64 {
        hash_rows(1, 1, |_, _| d)[0]
    }

    #[test]
    fn groups_as_key_part_does() {
        // Numerics are one group exactly when their encodings are equal.
        let enc = |d: &Datum| orbit_engine::table::key::encode(std::iter::once(d));
        for a in &values() {
            for b in &values() {
                let want = key_part(a) == key_part(b);
                if matches!((a, b), (Datum::Numeric(_), Datum::Numeric(_))) {
                    assert_eq!(want, enc(a) == enc(b), "{a:?} {b:?}");
                }
                assert_eq!(same(a, b), want, "{a:?} {b:?}");
                if want {
                    assert_eq!(hash(a), hash(b), "{a:?} {b:?}");
                }
            }
        }
        assert!(same(&Datum::Numeric("1".into()), &Datum::Numeric("1.00".into())));
    }

    #[test]
    fn the_table_finds_every_group() {
        let mut t = GroupTable::default();
        // Keys that differ only in their high bits, and in their low bits.
        let keys: Vec<Datum> = (0..5000i64).map(|i| Datum::Int8(if i % 2 == 0 { i << 40 } else { i })).collect();
        for (g, k) in keys.iter().enumerate() {
            assert_eq!(t.find(hash(k), |x| same(&keys[x], k)), None);
            assert_eq!(t.insert(hash(k)), g);
        }
        for (g, k) in keys.iter().enumerate() {
            assert_eq!(t.find(hash(k), |x| same(&keys[x], k)), Some(g));
        }
        assert_eq!(t.find(hash(&Datum::Int8(7 << 40)), |x| same(&keys[x], &Datum::Int8(7 << 40))), None);
    }
}
