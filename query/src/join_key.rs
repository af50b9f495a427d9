//! Hash-join keys ([`crate::join`]) without an allocation for the common key of one column: an
//! integer-like value (integers, dates, times, oids) is its `i64`, a string-like one (text,
//! character(n) without its trailing spaces, bytea, json) borrows its bytes from the row; a key
//! of several columns, or of another type, is the order-preserving encoding of its values
//! ([`orbit_engine::table::key::encode`]). Two keys are equal exactly when their encodings are
//! (each variant is what `encode` writes for those values, and the encodings of different
//! variants differ in their tag byte), so a join matches the same pairs as by the encodings.
//!
//! The tables hash with [`FastHasher`] (FxHash's multiply and rotate): join keys are short and
//! the statement's own data, not keys a client picks to collide for another session.

use orbit_engine::table::{key, Datum};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// One row's join key (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum JoinKey<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    Encoded(Vec<u8>),
}

/// The key of `row`'s columns `cols`, or None when one of them is NULL (it matches nothing).
pub(crate) fn of<'a>(row: &'a [Datum], cols: &[usize]) -> Option<JoinKey<'a>> {
    if let [c] = cols {
        return one(row.get(*c).unwrap_or(&Datum::Null));
    }
    let vals: Vec<&Datum> = cols.iter().map(|&c| row.get(c).unwrap_or(&Datum::Null)).collect();
    if vals.iter().any(|v| v.is_null()) {
        return None;
    }
    Some(JoinKey::Encoded(key::encode(vals.into_iter())))
}

/// The key of the values `vals` (None when one is NULL).
pub(crate) fn of_values<'a>(vals: &[&'a Datum]) -> Option<JoinKey<'a>> {
    if let [v] = vals {
        return one(v);
    }
    if vals.iter().any(|v| v.is_null()) {
        return None;
    }
    Some(JoinKey::Encoded(key::encode(vals.iter().copied())))
}

/// The key of one value, as [`key::encode`] would tell it apart.
pub(crate) fn one(d: &Datum) -> Option<JoinKey<'_>> {
    Some(match d {
        Datum::Null => return None,
        Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_) | Datum::Oid(..) => JoinKey::Int(d.as_i64()?),
        Datum::Date(v) => JoinKey::Int(*v as i64),
        Datum::Timestamp(t) | Datum::TimestampTz(t) | Datum::Time(t) => JoinKey::Int(*t),
        Datum::Text(s) | Datum::Json(s) | Datum::Jsonb(s) => JoinKey::Bytes(s.as_bytes()),
        Datum::Bpchar(s) => JoinKey::Bytes(s.trim_end_matches(' ').as_bytes()),
        Datum::Bytea(b) => JoinKey::Bytes(b),
        other => JoinKey::Encoded(key::encode(std::iter::once(other))),
    })
}

impl JoinKey<'_> {
    /// The bytes it holds, for the statement's memory account.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            JoinKey::Int(_) => 8,
            JoinKey::Bytes(b) => b.len(),
            JoinKey::Encoded(e) => e.len(),
        }
    }
}

/// FxHash: a multiply and a rotate per word.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(i as u64)
    }

    fn write_u32(&mut self, i: u32) {
        self.add(i as u64)
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i)
    }

    fn write_i64(&mut self, i: i64) {
        self.add(i as u64)
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64)
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Key reduction: the join keys of the rows so far, which a scan of the next table checks on
/// the shards (its columns `cols` of each row, the whole row before it is cut to the columns
/// sent) so that only rows that can match come back. Equal exactly when the join's keys are.
pub(crate) struct Reduce {
    cols: Vec<usize>,
    keys: KeySet,
    /// The rows checked (those that passed the table's conditions): EXPLAIN ANALYZE's rows for
    /// the scan, as without the reduction.
    checked: std::sync::atomic::AtomicUsize,
}

type FastSet<T> = std::collections::HashSet<T, BuildHasherDefault<FastHasher>>;

enum KeySet {
    /// One integer-like column: the values.
    Ints(FastSet<i64>),
    /// Otherwise the key encodings.
    Encoded(FastSet<Vec<u8>>),
}

impl Reduce {
    /// The keys `keys` (values in the order of `cols`; a key with a NULL matches nothing).
    pub(crate) fn new<'a>(cols: Vec<usize>, keys: impl Iterator<Item = Vec<&'a Datum>>) -> Reduce {
        let keys: Vec<Vec<&Datum>> = keys.filter(|k| !k.iter().any(|d| d.is_null())).collect();
        let ints: Option<FastSet<i64>> = match cols.len() {
            1 => keys
                .iter()
                .map(|k| match k.first().and_then(|d| one(d)) {
                    Some(JoinKey::Int(i)) => Some(i),
                    _ => None,
                })
                .collect(),
            _ => None,
        };
        let keys = match ints {
            Some(s) => KeySet::Ints(s),
            None => KeySet::Encoded(keys.iter().map(|k| key::encode(k.iter().copied())).collect()),
        };
        Reduce { cols, keys, checked: std::sync::atomic::AtomicUsize::new(0) }
    }

    /// The rows [`Reduce::contains`] was asked about.
    pub(crate) fn checked(&self) -> usize {
        self.checked.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The bytes it holds, for the statement's memory account.
    pub(crate) fn bytes(&self) -> usize {
        match &self.keys {
            KeySet::Ints(s) => s.len() * (8 + crate::memory::ENTRY_OVERHEAD),
            KeySet::Encoded(s) => s.iter().map(|k| k.len() + crate::memory::ENTRY_OVERHEAD).sum(),
        }
    }

    /// Whether `row` (a whole row of the table) has one of the keys.
    pub(crate) fn contains(&self, row: &[Datum]) -> bool {
        self.checked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match &self.keys {
            KeySet::Ints(s) => matches!(of(row, &self.cols), Some(JoinKey::Int(i)) if s.contains(&i)),
            KeySet::Encoded(s) => {
                let vals: Vec<&Datum> = self.cols.iter().map(|&c| row.get(c).unwrap_or(&Datum::Null)).collect();
                !vals.iter().any(|v| v.is_null()) && s.contains(&key::encode(vals.into_iter()))
            }
        }
    }
}

/// A hash map keyed by join keys.
pub(crate) type KeyMap<'a, V> = HashMap<JoinKey<'a>, V, BuildHasherDefault<FastHasher>>;

/// The rows of a join step's table by key: per key its first row, then each row's next one of
/// the same key (rows in their order; none for a key NULL).
pub(crate) struct Buckets<'a> {
    first: KeyMap<'a, usize>,
    next: Vec<usize>,
}

const END: usize = usize::MAX;

impl<'a> Buckets<'a> {
    /// `rows` by their columns `cols`.
    pub(crate) fn build(rows: &'a [Vec<Datum>], cols: &[usize]) -> Buckets<'a> {
        let mut first: KeyMap<'a, usize> = KeyMap::default();
        let mut next = vec![END; rows.len()];
        // Last row first, so each chain runs in the rows' order.
        for (j, r) in rows.iter().enumerate().rev() {
            if let Some(k) = of(r, cols) {
                if let Some(head) = first.insert(k, j) {
                    next[j] = head;
                }
            }
        }
        Buckets { first, next }
    }

    /// The bytes it holds, for the statement's memory account.
    pub(crate) fn bytes(&self) -> usize {
        self.first.keys().map(|k| k.bytes() + 8 + crate::memory::ENTRY_OVERHEAD).sum::<usize>() + self.next.len() * 8
    }

    /// The rows (their positions, in order) whose key is `k`.
    pub(crate) fn get(&self, k: &JoinKey<'_>) -> Chain<'_> {
        // The map's keys and `k` borrow from different rows: both read for the shorter time.
        fn find<'c>(m: &'c KeyMap<'c, usize>, k: &JoinKey<'c>) -> Option<usize> {
            m.get(k).copied()
        }
        let at = find(&self.first, k).unwrap_or(END);
        Chain { next: &self.next, at }
    }

    /// No rows at all.
    pub(crate) fn none(&self) -> Chain<'_> {
        Chain { next: &self.next, at: END }
    }
}

/// The rows of one key.
pub(crate) struct Chain<'b> {
    next: &'b [usize],
    at: usize,
}

impl Iterator for Chain<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.at == END {
            return None;
        }
        let j = self.at;
        self.at = self.next[j];
        Some(j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_equal_as_encodings() {
        let vals = [
            Datum::Int2(5),
            Datum::Int4(5),
            Datum::Int8(5),
            Datum::Int8(-5),
            Datum::Text("a".into()),
            Datum::Text("a ".into()),
            Datum::Bpchar("a  ".into()),
            Datum::Float8(5.0),
            Datum::Float8(-0.0),
            Datum::Float8(0.0),
            Datum::Numeric("5".into()),
            Datum::Numeric("5.0".into()),
            Datum::Date(5),
            Datum::Bool(true),
        ];
        for a in &vals {
            for b in &vals {
                let by_encoding = key::encode(std::iter::once(a)) == key::encode(std::iter::once(b));
                assert_eq!(one(a) == one(b), by_encoding, "{a:?} {b:?}");
            }
        }
        assert_eq!(one(&Datum::Null), None);
    }

    #[test]
    fn reduce_keeps_the_keys_rows() {
        let (one_, two, text) = (Datum::Int8(1), Datum::Int4(2), Datum::Text("a".into()));
        let r = Reduce::new(vec![1], [vec![&one_], vec![&Datum::Null]].into_iter());
        assert!(r.contains(&[Datum::Null, Datum::Int2(1)]));
        assert!(!r.contains(&[Datum::Null, Datum::Int2(2)]));
        assert!(!r.contains(&[Datum::Null, Datum::Null]));
        let r = Reduce::new(vec![0, 1], [vec![&two, &text]].into_iter());
        assert!(r.contains(&[Datum::Int8(2), Datum::Bpchar("a  ".into())]));
        assert!(!r.contains(&[Datum::Int8(2), Datum::Text("a ".into())]));
        let r = Reduce::new(vec![0], [vec![&text]].into_iter());
        assert!(r.contains(&[Datum::Text("a".into())]));
        assert!(!r.contains(&[Datum::Int4(1)]));
    }

    #[test]
    fn buckets_keep_row_order() {
        let rows: Vec<Vec<Datum>> =
            [1, 2, 1, 3, 1].iter().map(|&v| vec![Datum::Int4(v)]).chain([vec![Datum::Null]]).collect();
        let b = Buckets::build(&rows, &[0]);
        assert_eq!(b.get(&JoinKey::Int(1)).collect::<Vec<_>>(), vec![0, 2, 4]);
        assert_eq!(b.get(&JoinKey::Int(3)).collect::<Vec<_>>(), vec![3]);
        assert_eq!(b.get(&JoinKey::Int(4)).count(), 0);
        assert_eq!(b.none().count(), 0);
    }
}
