//! Sorting on normalized keys (ORDER BY in [`crate::group::finish`], window sorts in
//! [`crate::window`]): each row's sort values are read once into one typed column per key
//! (integers, floats, bytes) and a permutation of the rows is sorted by comparing those
//! columns, in [`crate::memory::sort_by`]'s cancellable runs. The order is exactly
//! [`crate::group::cmp_keys`]'s: NULLs first or last as asked, DESC reversing the rest, values
//! ordered by [`crate::expr::compare`] (text by its bytes, as the "C" collation does;
//! character(n) without its trailing spaces; NaN above every other float, -0 equal to 0). A key
//! column whose values are not all of one kind (mixed types, numerics, intervals, arrays, ...)
//! keeps the values and compares them with `expr::compare`.

use crate::error::Result;
use crate::memory::Ticker;
use orbit_engine::table::Datum;
use std::cmp::Ordering;

/// One sort key's values, one per row.
enum Column<'a> {
    /// Integers of any width, dates, times, timestamps of one type, booleans: as `i64`.
    Int(Vec<Option<i64>>),
    /// float4 and float8 values.
    Float(Vec<Option<f64>>),
    /// Text, character(n) without its trailing spaces, or bytea: their bytes.
    Bytes(Vec<Option<&'a [u8]>>),
    /// Anything else: the values themselves.
    Values(Vec<&'a Datum>),
}

/// What kind of column a key's values make.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Only NULLs so far.
    Unknown,
    Ints,
    Dates,
    Timestamps,
    TimestampTzs,
    Times,
    Bools,
    Floats,
    Texts,
    Bpchars,
    Byteas,
    Other,
}

fn kind(d: &Datum) -> Kind {
    match d {
        Datum::Null => Kind::Unknown,
        Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_) => Kind::Ints,
        Datum::Date(_) => Kind::Dates,
        Datum::Timestamp(_) => Kind::Timestamps,
        Datum::TimestampTz(_) => Kind::TimestampTzs,
        Datum::Time(_) => Kind::Times,
        Datum::Bool(_) => Kind::Bools,
        Datum::Float4(_) | Datum::Float8(_) => Kind::Floats,
        Datum::Text(_) => Kind::Texts,
        Datum::Bpchar(_) => Kind::Bpchars,
        Datum::Bytea(_) => Kind::Byteas,
        _ => Kind::Other,
    }
}

fn int_of(d: &Datum) -> Option<i64> {
    match d {
        Datum::Date(v) => Some(*v as i64),
        Datum::Timestamp(t) | Datum::TimestampTz(t) | Datum::Time(t) => Some(*t),
        Datum::Bool(b) => Some(*b as i64),
        _ => d.as_i64(),
    }
}

fn bytes_of(d: &Datum) -> Option<&[u8]> {
    match d {
        Datum::Text(s) => Some(s.as_bytes()),
        Datum::Bpchar(s) => Some(crate::types::bpchar_text(s).as_bytes()),
        Datum::Bytea(b) => Some(b),
        _ => None,
    }
}

/// The sort keys of `n` rows, read once.
pub(crate) struct SortKeys<'a> {
    /// Each key's column, descending?, NULLs first?
    columns: Vec<(Column<'a>, bool, bool)>,
    rows: usize,
}

impl<'a> SortKeys<'a> {
    /// `value(r, k)` is row r's value of key k; `order[k]` is key k's (descending?, NULLs first?).
    pub(crate) fn new(n: usize, order: &[(bool, bool)], value: impl Fn(usize, usize) -> &'a Datum) -> SortKeys<'a> {
        let columns = order
            .iter()
            .enumerate()
            .map(|(k, &(desc, nulls_first))| {
                let mut kd = Kind::Unknown;
                for r in 0..n {
                    match (kd, kind(value(r, k))) {
                        (_, Kind::Unknown) => {}
                        (Kind::Unknown, x) => kd = x,
                        (a, b) if a == b => {}
                        _ => {
                            kd = Kind::Other;
                            break;
                        }
                    }
                }
                let col = match kd {
                    Kind::Ints | Kind::Dates | Kind::Timestamps | Kind::TimestampTzs | Kind::Times | Kind::Bools => {
                        Column::Int((0..n).map(|r| int_of(value(r, k))).collect())
                    }
                    Kind::Floats => Column::Float((0..n).map(|r| value(r, k).as_f64()).collect()),
                    Kind::Texts | Kind::Bpchars | Kind::Byteas => {
                        Column::Bytes((0..n).map(|r| bytes_of(value(r, k))).collect())
                    }
                    Kind::Unknown | Kind::Other => Column::Values((0..n).map(|r| value(r, k)).collect()),
                };
                (col, desc, nulls_first)
            })
            .collect();
        SortKeys { columns, rows: n }
    }

    /// The bytes the columns and a permutation of the rows take, for the statement's memory
    /// account.
    pub(crate) fn bytes(&self) -> usize {
        self.columns
            .iter()
            .map(|(c, ..)| match c {
                Column::Int(v) => v.len() * std::mem::size_of::<Option<i64>>(),
                Column::Float(v) => v.len() * std::mem::size_of::<Option<f64>>(),
                Column::Bytes(v) => v.len() * std::mem::size_of::<Option<&[u8]>>(),
                Column::Values(v) => v.len() * std::mem::size_of::<&Datum>(),
            })
            .sum::<usize>()
            + self.rows * std::mem::size_of::<usize>()
    }

    /// Orders rows `a` and `b` as [`crate::group::cmp_keys`] orders their values.
    pub(crate) fn cmp(&self, a: usize, b: usize) -> Ordering {
        for (col, desc, nulls_first) in &self.columns {
            let o = match col {
                Column::Int(v) => by(v[a], v[b], *desc, *nulls_first, |x, y| x.cmp(&y)),
                Column::Float(v) => by(v[a], v[b], *desc, *nulls_first, float_cmp),
                Column::Bytes(v) => by(v[a], v[b], *desc, *nulls_first, |x, y| x.cmp(y)),
                Column::Values(v) => {
                    let (x, y) = (v[a], v[b]);
                    let n = |d: &'a Datum| (!d.is_null()).then_some(d);
                    by(n(x), n(y), *desc, *nulls_first, |x, y| crate::expr::compare(x, y).unwrap_or(Ordering::Equal))
                }
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }

    /// The rows' positions in sort order (stable: equal rows keep their order); a cancel
    /// request or `statement_timeout` stops it.
    pub(crate) async fn order(&self, ticker: &mut Ticker) -> Result<Vec<usize>> {
        crate::memory::sort_by(ticker, (0..self.rows).collect(), |&a: &usize, &b: &usize| self.cmp(a, b)).await
    }
}

/// One key's order of two values (None for NULL).
#[inline]
fn by<T>(x: Option<T>, y: Option<T>, desc: bool, nulls_first: bool, cmp: impl Fn(T, T) -> Ordering) -> Ordering {
    match (x, y) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) if nulls_first => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) if nulls_first => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            let o = cmp(x, y);
            if desc {
                o.reverse()
            } else {
                o
            }
        }
    }
}

/// Floats as `expr::compare` orders them: NaNs equal and above the rest, -0 equal to 0.
fn float_cmp(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

/// Puts `items` in the order `order` (positions, each once).
pub(crate) fn permute<T>(items: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.iter().filter_map(|&i| slots.get_mut(i).and_then(Option::take)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::cmp_keys;

    fn column(vals: Vec<Datum>) {
        for desc in [false, true] {
            for nulls_first in [false, true] {
                let order = [(desc, nulls_first)];
                let keys = SortKeys::new(vals.len(), &order, |r, _| &vals[r]);
                for a in 0..vals.len() {
                    for b in 0..vals.len() {
                        let want = cmp_keys(&vals[a..=a], &vals[b..=b], order.iter().copied());
                        assert_eq!(keys.cmp(a, b), want, "{:?} {:?} {order:?}", vals[a], vals[b]);
                    }
                }
            }
        }
    }

    #[test]
    fn orders_as_cmp_keys() {
        column(vec![Datum::Int4(3), Datum::Null, Datum::Int8(-2), Datum::Int2(3), Datum::Int8(i64::MAX)]);
        let f = [1.5, -0.0, 0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -f64::NAN];
        let mut floats: Vec<Datum> = f.iter().map(|&x| Datum::Float8(x)).collect();
        floats.extend([Datum::Float4(1.5), Datum::Float4(f32::NAN), Datum::Null]);
        column(floats);
        let t = ["b", "a", "", "ab", "a\u{0}", "é", "B", "a "];
        let mut texts: Vec<Datum> = t.iter().map(|s| Datum::Text(s.to_string())).collect();
        texts.push(Datum::Null);
        column(texts);
        column(vec![Datum::Bpchar("a  ".into()), Datum::Bpchar("a".into()), Datum::Bpchar("".into()), Datum::Null]);
        column(vec![Datum::Bool(true), Datum::Bool(false), Datum::Null]);
        column(vec![Datum::Date(3), Datum::Date(-1), Datum::Null]);
        // Numerics, and kinds mixed in one column, keep their values.
        column(vec![Datum::Numeric("1.0".into()), Datum::Numeric("1".into()), Datum::Numeric("-2.5".into())]);
        column(vec![Datum::Int4(1), Datum::Float8(0.5), Datum::Numeric("0.7".into()), Datum::Text("x".into())]);
        column(vec![Datum::Text("a".into()), Datum::Bpchar("b ".into()), Datum::Null]);
        column(vec![Datum::Null, Datum::Null]);
    }

    #[test]
    fn several_keys_and_a_stable_order() {
        let rows: Vec<Vec<Datum>> = [(1, "b"), (0, "z"), (1, "a"), (0, "z"), (1, "b")]
            .iter()
            .map(|&(i, s)| vec![Datum::Int4(i), Datum::Text(s.into())])
            .collect();
        let order = [(true, false), (false, false)];
        let keys = SortKeys::new(rows.len(), &order, |r, k| &rows[r][k]);
        let mut t = Ticker::without_cancel();
        let perm = crate::memory::block_on(keys.order(&mut t)).unwrap();
        assert_eq!(perm, vec![2, 0, 4, 1, 3]);
        assert_eq!(permute(vec!['a', 'b', 'c', 'd', 'e'], &perm), vec!['c', 'a', 'e', 'b', 'd']);
    }
}
