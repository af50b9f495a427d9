//! The ordered-set aggregates `percentile_cont(f)`, `percentile_disc(f)` (one fraction or an
//! array of them) and `mode()`, and the hypothetical-set ones `rank(a)`, `dense_rank(a)`,
//! `percent_rank(a)` and `cume_dist(a)`, `WITHIN GROUP (ORDER BY x)`. The binder
//! ([`crate::bind`]'s `ordered_set_call`) collects each group's non-NULL `x` values in the
//! requested order as an `array_agg(x ORDER BY ...)` (so the shards' partial states merge as
//! array_agg's do); these final functions then read the sorted values, as PostgreSQL's
//! `percentile_cont_final` and friends read their sorted tuplesort.

use crate::error::{code, Result, SqlError};
use orbit_engine::table::{ArrayValue, Datum, SqlType};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderedSetFn {
    /// (sorted values, fraction [or fractions]) -> float8 [array]: linear interpolation.
    PercentileCont { many: bool },
    /// (sorted values, fraction [or fractions]) -> the value [array]: the first value whose
    /// position reaches the fraction.
    PercentileDisc { many: bool },
    /// (sorted values) -> the most frequent value (the first in the order among equally
    /// frequent ones).
    Mode,
    /// The hypothetical-set aggregates rank/dense_rank/percent_rank/cume_dist(a) WITHIN GROUP
    /// (ORDER BY x [DESC] [NULLS ...]): (the group's x values, NULLs included, in that order;
    /// the hypothetical row's a) -> where a row `a` would rank among them.
    Hypothetical { kind: Hypothetical, desc: bool, nulls_first: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hypothetical {
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
}

impl OrderedSetFn {
    pub fn name(self) -> &'static str {
        match self {
            OrderedSetFn::PercentileCont { .. } => "percentile_cont",
            OrderedSetFn::PercentileDisc { .. } => "percentile_disc",
            OrderedSetFn::Mode => "mode",
            OrderedSetFn::Hypothetical { kind: Hypothetical::Rank, .. } => "rank",
            OrderedSetFn::Hypothetical { kind: Hypothetical::DenseRank, .. } => "dense_rank",
            OrderedSetFn::Hypothetical { kind: Hypothetical::PercentRank, .. } => "percent_rank",
            OrderedSetFn::Hypothetical { kind: Hypothetical::CumeDist, .. } => "cume_dist",
        }
    }
}

fn fraction(d: &Datum) -> Result<Option<f64>> {
    let f = match d {
        Datum::Null => return Ok(None),
        Datum::Float8(f) => *f,
        other => other.as_f64().ok_or_else(|| SqlError::internal("percentile fraction is not a number"))?,
    };
    if !(0.0..=1.0).contains(&f) {
        return Err(SqlError::new(
            code::NUMERIC_VALUE_OUT_OF_RANGE,
            format!(
                "percentile value {} is not between 0 and 1",
                crate::types::to_text(&Datum::Float8(f)).unwrap_or_default()
            ),
        ));
    }
    Ok(Some(f))
}

fn as_f64(d: &Datum) -> Result<f64> {
    match d {
        Datum::Numeric(s) => s.parse::<f64>().or_else(|_| match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(SqlError::internal("numeric value not readable as float8")),
        }),
        other => other.as_f64().ok_or_else(|| SqlError::internal("percentile_cont input is not a number")),
    }
}

fn cont(items: &[Datum], f: f64) -> Result<Datum> {
    let n = items.len();
    let pos = f * (n - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let first = as_f64(&items[lo])?;
    if lo == hi {
        return Ok(Datum::Float8(first));
    }
    let second = as_f64(&items[hi])?;
    Ok(Datum::Float8(first + (second - first) * (pos - lo as f64)))
}

fn disc(items: &[Datum], f: f64) -> Datum {
    let n = items.len();
    let row = ((f * n as f64).ceil() as usize).max(1).min(n);
    items[row - 1].clone()
}

/// Where the hypothetical row `h` ranks among a group's `items` (sorted by the same order):
/// PostgreSQL's hypothetical_rank_final and friends (the row counts as one of the group; an
/// empty group gives rank 1, percent_rank 0, cume_dist 1).
fn hypothetical(kind: Hypothetical, desc: bool, nulls_first: bool, items: &[Datum], h: &Datum) -> Datum {
    let order = |a: &Datum, b: &Datum| -> Ordering {
        match (a.is_null(), b.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, false) => {
                let o = crate::expr::compare(a, b).unwrap_or(Ordering::Equal);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            }
        }
    };
    let before = items.iter().filter(|x| order(x, h) == Ordering::Less).count();
    let peers = items.iter().filter(|x| order(x, h) == Ordering::Equal).count();
    let n = items.len();
    match kind {
        Hypothetical::Rank => Datum::Int8(before as i64 + 1),
        Hypothetical::DenseRank => {
            // Distinct values before it: the sorted items change value that many times.
            let mut distinct = 0i64;
            for (i, x) in items.iter().enumerate().filter(|(_, x)| order(x, h) == Ordering::Less) {
                if i == 0 || order(&items[i - 1], x) != Ordering::Equal {
                    distinct += 1;
                }
            }
            Datum::Int8(distinct + 1)
        }
        Hypothetical::PercentRank => Datum::Float8(if n == 0 { 0.0 } else { before as f64 / n as f64 }),
        Hypothetical::CumeDist => Datum::Float8((before + peers + 1) as f64 / (n + 1) as f64),
    }
}

/// Applies `f` to the group's sorted values (`args[0]`, an array, NULL for a group without
/// values) and its direct argument.
pub fn call(f: OrderedSetFn, args: Vec<Datum>) -> Result<Datum> {
    if let OrderedSetFn::Hypothetical { kind, desc, nulls_first } = f {
        let items: &[Datum] = match args.first() {
            Some(Datum::Array(a)) => &a.items,
            _ => &[],
        };
        return Ok(hypothetical(kind, desc, nulls_first, items, args.get(1).unwrap_or(&Datum::Null)));
    }
    let (items, input_elem): (&[Datum], SqlType) = match args.first() {
        Some(Datum::Array(a)) if !a.items.is_empty() => (&a.items, a.elem),
        _ => return Ok(Datum::Null),
    };
    let direct = args.get(1).unwrap_or(&Datum::Null);
    match f {
        OrderedSetFn::Mode => {
            let (mut best, mut best_n) = (0usize, 0usize);
            let mut i = 0;
            while i < items.len() {
                let mut j = i + 1;
                while j < items.len() && crate::expr::compare(&items[i], &items[j]) == Some(Ordering::Equal) {
                    j += 1;
                }
                if j - i > best_n {
                    (best, best_n) = (i, j - i);
                }
                i = j;
            }
            Ok(items[best].clone())
        }
        OrderedSetFn::PercentileCont { many: false } => match fraction(direct)? {
            Some(p) => cont(items, p),
            None => Ok(Datum::Null),
        },
        OrderedSetFn::PercentileDisc { many: false } => Ok(match fraction(direct)? {
            Some(p) => disc(items, p),
            None => Datum::Null,
        }),
        OrderedSetFn::Hypothetical { .. } => Err(SqlError::internal("hypothetical-set aggregate")),
        OrderedSetFn::PercentileCont { many: true } | OrderedSetFn::PercentileDisc { many: true } => {
            let Datum::Array(fs) = direct else { return Ok(Datum::Null) };
            let elem = match f {
                OrderedSetFn::PercentileCont { .. } => SqlType::Float8,
                _ => input_elem,
            };
            let mut out = Vec::with_capacity(fs.items.len());
            for p in &fs.items {
                out.push(match fraction(p)? {
                    None => Datum::Null,
                    Some(p) if matches!(f, OrderedSetFn::PercentileCont { .. }) => cont(items, p)?,
                    Some(p) => disc(items, p),
                });
            }
            // The result keeps the fractions' shape (PostgreSQL: same dimensions).
            let mut a = ArrayValue::from_items(elem, out);
            if !fs.dims.is_empty() {
                a.dims = fs.dims.clone();
            }
            Ok(Datum::Array(Box::new(a)))
        }
    }
}
