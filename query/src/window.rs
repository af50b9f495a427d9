//! Window functions (`f(...) OVER (PARTITION BY ... ORDER BY ... frame)`), as PostgreSQL 15
//! computes them (<https://www.postgresql.org/docs/15/functions-window.html>,
//! <https://www.postgresql.org/docs/15/sql-expressions.html#SYNTAX-WINDOW-FUNCTIONS>).
//!
//! They run on the coordinator over the query's rows once WHERE, GROUP BY and HAVING are done
//! (for a grouped query each row is a group: its GROUP BY values and finished aggregates), and
//! before the select list, DISTINCT, ORDER BY and LIMIT. The binder puts window call k's result
//! after the aggregates: `Expr::Agg(aggs + k)`. Each call sorts the rows by its PARTITION BY and
//! ORDER BY values and walks each partition; aggregates over a frame that keeps its start (the
//! default frame, `UNBOUNDED PRECEDING`) extend one running state, other frames recompute
//! (with an EXCLUDE clause, each row's frame afresh, as PostgreSQL does). Set-returning
//! functions of the select list run after them, over each row with its window values.
//!
//! Memory: each call's partition and sort values and its results are charged to the
//! statement's memory account ([`crate::memory`]; 53200 past `orbit.query_memory_limit`), and a
//! cancel request or `statement_timeout` stops the sort and the walk of a partition (checked
//! every 64k rows, or frame rows fed to an aggregate).

use crate::bind::SelectPlan;
use crate::error::{Result, SqlError};
use crate::expr::{self, AggFunc, AggOrder, AggSpec, AggState, Ctx, Expr};
use crate::group::cmp_keys;
use crate::memory::{Held, Ticker};
use orbit_engine::table::{Datum, Row};
use std::cmp::Ordering;

/// Where the binder numbers window calls until it knows how many aggregates the query has:
/// `Expr::Agg(WINDOW_BASE + k)` is window call k.
pub const WINDOW_BASE: usize = 1 << 30;

#[derive(Debug, Clone)]
pub enum WinFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    /// ntile(buckets)
    Ntile,
    /// lag(value [, offset [, default]])
    Lag,
    Lead,
    FirstValue,
    LastValue,
    /// nth_value(value, n)
    NthValue,
    /// An aggregate over the frame.
    Agg(Box<AggSpec>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameUnits {
    Rows,
    Range,
    Groups,
}

/// One end of a frame; the offsets are row-independent expressions (constants, parameters).
#[derive(Debug, Clone)]
pub enum FrameBound {
    UnboundedPreceding,
    Preceding(Expr),
    CurrentRow,
    Following(Expr),
    UnboundedFollowing,
}

#[derive(Debug, Clone)]
pub struct Frame {
    pub units: FrameUnits,
    pub start: FrameBound,
    pub end: FrameBound,
    /// RANGE with an offset: the ORDER BY value minus and plus the offset, over the row
    /// `[value, offset]`.
    pub range_sub: Option<Expr>,
    pub range_add: Option<Expr>,
    /// `EXCLUDE CURRENT ROW | GROUP | TIES | NO OTHERS`.
    pub exclude: Exclude,
}

/// The rows a frame's EXCLUDE clause takes out of it; peers are rows equal in the window's
/// ORDER BY (all rows of the partition without one), in every frame mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exclude {
    NoOthers,
    CurrentRow,
    /// The current row and its peers.
    Group,
    /// The current row's peers, not the row itself.
    Ties,
}

impl Frame {
    /// PostgreSQL's default: RANGE UNBOUNDED PRECEDING (to the current row and its peers).
    pub fn default_frame() -> Frame {
        Frame {
            units: FrameUnits::Range,
            start: FrameBound::UnboundedPreceding,
            end: FrameBound::CurrentRow,
            range_sub: None,
            range_add: None,
            exclude: Exclude::NoOthers,
        }
    }
}

/// One window function call with its window.
#[derive(Debug, Clone)]
pub struct WindowCall {
    pub func: WinFunc,
    /// The arguments of a non-aggregate window function (an aggregate's are in its spec).
    pub args: Vec<Expr>,
    pub partition_by: Vec<Expr>,
    pub order_by: Vec<AggOrder>,
    pub frame: Frame,
    pub ty: orbit_engine::table::SqlType,
}

impl WindowCall {
    /// Applies `f` to every expression over the input row (the grouped query's rewrite).
    pub fn map_exprs<E>(
        &mut self,
        f: &mut dyn FnMut(&Expr) -> std::result::Result<Expr, E>,
    ) -> std::result::Result<(), E> {
        for e in self.args.iter_mut().chain(self.partition_by.iter_mut()) {
            *e = f(e)?;
        }
        for o in &mut self.order_by {
            o.expr = f(&o.expr)?;
        }
        if let WinFunc::Agg(spec) = &mut self.func {
            for e in [&mut spec.arg, &mut spec.delim, &mut spec.filter].into_iter().flatten() {
                *e = f(e)?;
            }
        }
        Ok(())
    }
}

/// Whether `name` is a function only a window can call.
pub fn is_window_only(name: &str) -> bool {
    matches!(
        name,
        "row_number"
            | "rank"
            | "dense_rank"
            | "percent_rank"
            | "cume_dist"
            | "ntile"
            | "lag"
            | "lead"
            | "first_value"
            | "last_value"
            | "nth_value"
    )
}

/// Renumbers window call k's placeholder to `Agg(aggs + k)`, inside `e`.
pub fn renumber(e: &mut Expr, aggs: usize) {
    if let Expr::Agg(i, _) = e {
        if *i >= WINDOW_BASE {
            *i = *i - WINDOW_BASE + aggs;
        }
    }
    for c in e.children_mut() {
        renumber(c, aggs);
    }
}

/// Whether `e` calls a window function (a placeholder the binder has not renumbered yet).
pub fn has_window(e: &Expr) -> bool {
    let mut found = false;
    e.visit(&mut |x| found |= matches!(x, Expr::Agg(i, _) if *i >= WINDOW_BASE));
    found
}

/// The select list and ORDER BY values of every row, with the window functions computed over
/// all of them, charged to `held`. Each input is a row (for a grouped query, a group's values)
/// with its finished aggregates.
pub async fn project(
    txn: &crate::txn::Txn,
    p: &SelectPlan,
    rows: Vec<(Row, Vec<Datum>)>,
    params: &[Datum],
    held: &mut Held,
) -> Result<Vec<(Vec<Datum>, Row)>> {
    let mut ticker = Ticker::new(txn);
    // The results of the calls, with the aggregates they follow, while the calls run.
    let mut window = Held::new(txn.memory(), "window");
    let mut results: Vec<Vec<Datum>> = Vec::with_capacity(rows.len());
    for (_, aggs) in &rows {
        window.row(aggs)?;
        results.push(aggs.clone());
    }
    // With one window (every call's PARTITION BY and ORDER BY alike) the rows come out in its
    // order, as PostgreSQL's WindowAgg over its Sort returns them.
    let spec = |c: &WindowCall| {
        format!(
            "{:?}{:?}",
            c.partition_by,
            c.order_by.iter().map(|o| (&o.expr, o.desc, o.nulls_first)).collect::<Vec<_>>()
        )
    };
    let one_window = p.windows.windows(2).all(|w| spec(&w[0]) == spec(&w[1]));
    let mut last_order = None;
    for call in &p.windows {
        let (values, order) = compute(call, &rows, params, &mut ticker, &mut window).await?;
        for (r, v) in results.iter_mut().zip(values) {
            r.push(v);
        }
        last_order = Some(order);
    }
    let order = match last_order {
        Some(o) if one_window && o.len() == rows.len() => o,
        _ => (0..rows.len()).collect(),
    };
    window.add(order.len() * std::mem::size_of::<usize>())?;
    // The select list's set-returning calls run over the rows the windows saw.
    let mut out = Vec::with_capacity(rows.len());
    for i in order {
        ticker.tick(1).await?;
        let (row, aggs) = (&rows[i].0, &results[i]);
        crate::srf::project(p, &Ctx { row, params, aggs }, &mut out, held)?;
    }
    Ok(out)
}

/// An offset of a frame bound, evaluated once: PostgreSQL's errors for NULL and negative.
fn offset(e: &Expr, params: &[Datum], units: FrameUnits, which: &str) -> Result<Datum> {
    let v = expr::eval(e, &Ctx { row: &[], params, aggs: &[] })?;
    if v.is_null() {
        return Err(SqlError::new("22004", format!("frame {which} offset must not be null")));
    }
    // A NaN offset (float or numeric) is as invalid as a negative one (in_range_float8_float8).
    let negative = match &v {
        Datum::Interval(iv) => crate::datetime::interval_span(iv) < 0,
        Datum::Float8(f) if f.is_nan() => true,
        Datum::Float4(f) if f.is_nan() => true,
        Datum::Numeric(n) if n == "NaN" => true,
        d => expr::compare(d, &Datum::Int8(0)) == Some(Ordering::Less),
    };
    if negative {
        return Err(match units {
            FrameUnits::Range => SqlError::new("22013", "invalid preceding or following size in window function"),
            _ => SqlError::new("22013", format!("frame {which} offset must not be negative")),
        });
    }
    Ok(v)
}

fn count_of(d: &Datum) -> usize {
    usize::try_from(d.as_i64().unwrap_or(0)).unwrap_or(usize::MAX)
}

/// The frame offsets of a call, evaluated once (PostgreSQL does when a partition starts).
struct Offsets {
    start: Option<Datum>,
    end: Option<Datum>,
}

/// One partition as a call sees it: its rows (indexes into the input) in window order, their
/// ORDER BY values and their peer groups.
struct Partition<'a> {
    rows: &'a [usize],
    keys: &'a [Vec<Datum>],
    /// Peer group of each position, and each group's [start, end).
    group: Vec<usize>,
    groups: Vec<(usize, usize)>,
}

impl Partition<'_> {
    fn key(&self, pos: usize) -> &[Datum] {
        &self.keys[self.rows[pos]]
    }

    /// The frame [start, end) of position `pos`.
    fn frame(&self, call: &WindowCall, off: &Offsets, pos: usize) -> Result<(usize, usize)> {
        let n = self.rows.len();
        let g = self.group[pos];
        let f = &call.frame;
        let start = match (&f.start, f.units) {
            (FrameBound::UnboundedPreceding, _) => 0,
            (FrameBound::CurrentRow, FrameUnits::Rows) => pos,
            (FrameBound::CurrentRow, _) => self.groups[g].0,
            (FrameBound::Preceding(_), FrameUnits::Rows) => pos.saturating_sub(off.start.as_ref().map_or(0, count_of)),
            (FrameBound::Following(_), FrameUnits::Rows) => {
                pos.saturating_add(off.start.as_ref().map_or(0, count_of)).min(n)
            }
            (FrameBound::Preceding(_), FrameUnits::Groups) => {
                self.groups[g.saturating_sub(off.start.as_ref().map_or(0, count_of))].0
            }
            (FrameBound::Following(_), FrameUnits::Groups) => {
                let k = g.saturating_add(off.start.as_ref().map_or(0, count_of));
                self.groups.get(k).map_or(n, |gr| gr.0)
            }
            (b @ (FrameBound::Preceding(_) | FrameBound::Following(_)), FrameUnits::Range) => {
                self.range_edge(call, off.start.as_ref(), pos, matches!(b, FrameBound::Preceding(_)), true)?
            }
            (FrameBound::UnboundedFollowing, _) => n,
        };
        let end = match (&f.end, f.units) {
            (FrameBound::UnboundedFollowing, _) => n,
            (FrameBound::CurrentRow, FrameUnits::Rows) => pos + 1,
            (FrameBound::CurrentRow, _) => self.groups[g].1,
            (FrameBound::Preceding(_), FrameUnits::Rows) => {
                (pos + 1).saturating_sub(off.end.as_ref().map_or(0, count_of))
            }
            (FrameBound::Following(_), FrameUnits::Rows) => {
                pos.saturating_add(1).saturating_add(off.end.as_ref().map_or(0, count_of)).min(n)
            }
            (FrameBound::Preceding(_), FrameUnits::Groups) => {
                let k = off.end.as_ref().map_or(0, count_of);
                if g >= k {
                    self.groups[g - k].1
                } else {
                    0
                }
            }
            (FrameBound::Following(_), FrameUnits::Groups) => {
                let k = g.saturating_add(off.end.as_ref().map_or(0, count_of)).min(self.groups.len() - 1);
                self.groups[k].1
            }
            (b @ (FrameBound::Preceding(_) | FrameBound::Following(_)), FrameUnits::Range) => {
                self.range_edge(call, off.end.as_ref(), pos, matches!(b, FrameBound::Preceding(_)), false)?
            }
            (FrameBound::UnboundedPreceding, _) => 0,
        };
        Ok((start, end.max(start)))
    }

    /// The frame of position `pos` less the rows its EXCLUDE clause takes out: up to three
    /// ranges [start, end), in window order (empty ones are (0, 0)).
    fn pieces(&self, call: &WindowCall, off: &Offsets, pos: usize) -> Result<[(usize, usize); 3]> {
        let (s, e) = self.frame(call, off, pos)?;
        let (gs, ge) = self.groups[self.group[pos]];
        let n = self.rows.len();
        // [a, b) within the frame.
        let clip = |a: usize, b: usize| {
            let (a, b) = (a.max(s), b.min(e));
            if a < b {
                (a, b)
            } else {
                (0, 0)
            }
        };
        Ok(match call.frame.exclude {
            Exclude::NoOthers => [clip(s, e), (0, 0), (0, 0)],
            Exclude::CurrentRow => [clip(0, pos), clip(pos + 1, n), (0, 0)],
            Exclude::Group => [clip(0, gs), clip(ge, n), (0, 0)],
            Exclude::Ties => [clip(0, gs), clip(pos, pos + 1), clip(ge, n)],
        })
    }

    /// RANGE `offset PRECEDING/FOLLOWING`: the first position at or after the bound value
    /// (`start`), or the first after it (the end). A NULL current value's frame is its peers
    /// (the other NULLs), as in PostgreSQL.
    fn range_edge(
        &self,
        call: &WindowCall,
        off: Option<&Datum>,
        pos: usize,
        preceding: bool,
        start: bool,
    ) -> Result<usize> {
        let g = self.group[pos];
        let o = &call.order_by[0];
        let v = &self.key(pos)[0];
        if v.is_null() {
            return Ok(if start { self.groups[g].0 } else { self.groups[g].1 });
        }
        // PRECEDING goes toward the start of the sort order: down when ascending.
        let add = preceding == o.desc;
        let bound_expr = if add { &call.frame.range_add } else { &call.frame.range_sub };
        let Some(bound_expr) = bound_expr else { return Err(SqlError::internal("RANGE offset without bounds")) };
        let off = off.cloned().unwrap_or(Datum::Null);
        let row = [v.clone(), off];
        let bound = match expr::eval(bound_expr, &Ctx { row: &row, params: &[], aggs: &[] }) {
            Ok(b) => b,
            // An integer value plus its offset past bigint's range: the bound lies beyond
            // every value (in_range_int8_int8 answers as for an infinite sum), so the edge is
            // the partition's end in that direction.
            Err(e) if e.code == "22003" && matches!(v, Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_)) => {
                return Ok(if add != o.desc { self.rows.len() } else { 0 });
            }
            Err(e) => return Err(e),
        };
        let order = std::iter::once((o.desc, o.nulls_first));
        // A date column's bound is a timestamp (date + interval): compare it as one.
        let cmp = |p: usize| {
            let k = &self.key(p)[0];
            let k = match (k, &bound) {
                (Datum::Date(d), Datum::Timestamp(_)) => {
                    crate::datetime::date_to_ts(*d).map_or_else(|_| k.clone(), Datum::Timestamp)
                }
                _ => k.clone(),
            };
            cmp_keys(std::slice::from_ref(&k), std::slice::from_ref(&bound), order.clone())
        };
        // The positions are sorted by this key: binary search for the first past the edge.
        let before = |p: usize| if start { cmp(p) == Ordering::Less } else { cmp(p) != Ordering::Greater };
        let (mut lo, mut hi) = (0, self.rows.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if before(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}

/// One call's value for every input row (charged to `held`).
async fn compute(
    call: &WindowCall,
    rows: &[(Row, Vec<Datum>)],
    params: &[Datum],
    ticker: &mut Ticker,
    held: &mut Held,
) -> Result<(Vec<Datum>, Vec<usize>)> {
    let n = rows.len();
    let cx = |i: usize| Ctx { row: &rows[i].0, params, aggs: &rows[i].1 };
    // The partition and sort values of every row and the sort order, while the call runs.
    let mut sorting = Held::sort(held.memory(), "window partitions");
    let mut parts = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        ticker.tick(1).await?;
        let part = call.partition_by.iter().map(|e| expr::eval(e, &cx(i))).collect::<Result<Vec<_>>>()?;
        let key = call.order_by.iter().map(|o| expr::eval(&o.expr, &cx(i))).collect::<Result<Vec<_>>>()?;
        sorting.add(crate::memory::row_bytes(&part) + crate::memory::row_bytes(&key) + 2 * 8)?;
        parts.push(part);
        keys.push(key);
    }
    let part_order = || call.partition_by.iter().map(|_| (false, false));
    let key_order = || call.order_by.iter().map(|o| (o.desc, o.nulls_first));
    // Sorted on the partition and sort values read once into typed columns (crate::sort_key).
    let (np, sort_order) = (call.partition_by.len(), part_order().chain(key_order()).collect::<Vec<_>>());
    let sort_keys = crate::sort_key::SortKeys::new(n, &sort_order, |r, k| {
        const NULL: &Datum = &Datum::Null;
        if k < np {
            parts[r].get(k).unwrap_or(NULL)
        } else {
            keys[r].get(k - np).unwrap_or(NULL)
        }
    });
    sorting.add(sort_keys.bytes())?;
    let order: Vec<usize> = sort_keys.order(ticker).await?;
    drop(sort_keys);
    held.add(n * std::mem::size_of::<Datum>())?;
    let mut out = vec![Datum::Null; n];
    let mut offsets: Option<Offsets> = None;
    let mut first = 0;
    while first < n {
        let mut last = first + 1;
        while last < n && cmp_keys(&parts[order[first]], &parts[order[last]], part_order()) == Ordering::Equal {
            last += 1;
        }
        let prows = &order[first..last];
        let mut group = Vec::with_capacity(prows.len());
        let mut groups: Vec<(usize, usize)> = Vec::new();
        for (pos, &r) in prows.iter().enumerate() {
            let new = match groups.last() {
                None => true,
                Some(&(s, _)) => cmp_keys(&keys[prows[s]], &keys[r], key_order()) != Ordering::Equal,
            };
            if new {
                groups.push((pos, pos + 1));
            } else if let Some(g) = groups.last_mut() {
                g.1 = pos + 1;
            }
            group.push(groups.len() - 1);
        }
        let part = Partition { rows: prows, keys: &keys, group, groups };
        if offsets.is_none() {
            let f = &call.frame;
            let eval_off = |b: &FrameBound, which| match b {
                FrameBound::Preceding(e) | FrameBound::Following(e) => offset(e, params, f.units, which).map(Some),
                _ => Ok(None),
            };
            offsets = Some(Offsets { start: eval_off(&f.start, "starting")?, end: eval_off(&f.end, "ending")? });
        }
        let off = offsets.as_ref().ok_or_else(|| SqlError::internal("frame offsets"))?;
        partition(call, &part, off, rows, params, &mut out, ticker, held).await?;
        first = last;
    }
    Ok((out, order))
}

/// The values of one partition's rows, written to `out` by input row and charged to `held`.
#[allow(clippy::too_many_arguments)]
async fn partition(
    call: &WindowCall,
    part: &Partition<'_>,
    off: &Offsets,
    rows: &[(Row, Vec<Datum>)],
    params: &[Datum],
    out: &mut [Datum],
    ticker: &mut Ticker,
    held: &mut Held,
) -> Result<()> {
    let n = part.rows.len();
    let cx = |pos: usize| {
        let i = part.rows[pos];
        Ctx { row: &rows[i].0, params, aggs: &rows[i].1 }
    };
    let arg = |k: usize, pos: usize| match call.args.get(k) {
        Some(e) => expr::eval(e, &cx(pos)),
        None => Ok(Datum::Null),
    };
    match &call.func {
        WinFunc::RowNumber | WinFunc::Rank | WinFunc::DenseRank | WinFunc::PercentRank | WinFunc::CumeDist => {
            for pos in 0..n {
                let g = part.group[pos];
                let (gs, ge) = part.groups[g];
                out[part.rows[pos]] = match call.func {
                    WinFunc::RowNumber => Datum::Int8(pos as i64 + 1),
                    WinFunc::Rank => Datum::Int8(gs as i64 + 1),
                    WinFunc::DenseRank => Datum::Int8(g as i64 + 1),
                    WinFunc::PercentRank if n > 1 => Datum::Float8(gs as f64 / (n - 1) as f64),
                    WinFunc::PercentRank => Datum::Float8(0.0),
                    _ => Datum::Float8(ge as f64 / n as f64),
                };
            }
        }
        WinFunc::Ntile => {
            // The bucket count is read once, at the partition's first row.
            let buckets = arg(0, 0)?;
            if buckets.is_null() {
                return Ok(());
            }
            let k = buckets.as_i64().unwrap_or(0);
            if k <= 0 {
                return Err(SqlError::new("22014", "argument of ntile must be greater than zero"));
            }
            let k = usize::try_from(k).unwrap_or(usize::MAX);
            let (per, extra) = (n / k, n % k);
            for pos in 0..n {
                let b = if per == 0 {
                    pos
                } else if pos < extra * (per + 1) {
                    pos / (per + 1)
                } else {
                    extra + (pos - extra * (per + 1)) / per
                };
                out[part.rows[pos]] = Datum::Int4(b as i32 + 1);
            }
        }
        WinFunc::Lag | WinFunc::Lead => {
            for pos in 0..n {
                let k = if call.args.len() > 1 { arg(1, pos)? } else { Datum::Int4(1) };
                if k.is_null() {
                    continue;
                }
                let k = k.as_i64().unwrap_or(0);
                let k = if matches!(call.func, WinFunc::Lag) { -k } else { k };
                let target = pos as i64 + k;
                out[part.rows[pos]] =
                    if target >= 0 && (target as usize) < n { arg(0, target as usize)? } else { arg(2, pos)? };
            }
        }
        WinFunc::FirstValue | WinFunc::LastValue | WinFunc::NthValue => {
            for pos in 0..n {
                let pieces = part.pieces(call, off, pos)?;
                let len: usize = pieces.iter().map(|(s, e)| e - s).sum();
                // The index of the wanted row among the frame's rows.
                let k = match call.func {
                    WinFunc::FirstValue => Some(0),
                    WinFunc::LastValue => len.checked_sub(1),
                    _ => {
                        let k = arg(1, pos)?;
                        if k.is_null() {
                            continue;
                        }
                        let k = k.as_i64().unwrap_or(0);
                        if k <= 0 {
                            return Err(SqlError::new("22016", "argument of nth_value must be greater than zero"));
                        }
                        Some(usize::try_from(k - 1).unwrap_or(usize::MAX))
                    }
                };
                let Some(mut k) = k.filter(|&k| k < len) else { continue };
                for (s, e) in pieces {
                    if k < e - s {
                        out[part.rows[pos]] = arg(0, s + k)?;
                        break;
                    }
                    k -= e - s;
                }
            }
        }
        WinFunc::Agg(spec) => return aggregate(call, spec, part, off, &cx, out, ticker, held).await,
    }
    // Each row's value, once: the walk above is linear in the partition's rows.
    ticker.tick(n).await?;
    held.add(part.rows.iter().map(|&i| out[i].memory() - std::mem::size_of::<Datum>()).sum())
}

/// An aggregate over each row's frame: a running state while the frame keeps its start and
/// only grows, a fresh one otherwise. Each value is charged to `held` as it is made (a
/// string_agg over large frames grows as the frame does), and the rows fed are counted on
/// `ticker`.
#[allow(clippy::too_many_arguments)]
async fn aggregate<'a>(
    call: &WindowCall,
    spec: &AggSpec,
    part: &Partition<'_>,
    off: &Offsets,
    cx: &dyn Fn(usize) -> Ctx<'a>,
    out: &mut [Datum],
    ticker: &mut Ticker,
    held: &mut Held,
) -> Result<()> {
    let n = part.rows.len();
    // Each row's input: (passes FILTER, value, delimiter).
    let mut inputs = Vec::with_capacity(n);
    for pos in 0..n {
        let c = cx(pos);
        let pass = match &spec.filter {
            Some(f) => expr::truth(expr::eval(f, &c)?) == Some(true),
            None => true,
        };
        let value = match &spec.arg {
            Some(a) if pass => expr::eval(a, &c)?,
            _ => Datum::Null,
        };
        let delim = match &spec.delim {
            Some(d) if pass => expr::eval(d, &c)?,
            _ => Datum::Null,
        };
        inputs.push((pass, value, delim));
    }
    let feed = |st: &mut AggState, from: usize, to: usize| -> Result<()> {
        for (pass, value, delim) in &inputs[from..to] {
            if !pass {
                continue;
            }
            st.update_two(spec, value.clone(), delim.clone())?;
        }
        Ok(())
    };
    let exact_input = spec.arg.as_ref().is_none_or(|a| a.ty().is_integer() || a.ty().is_decimal());
    let order_free = match spec.func {
        AggFunc::CountStar
        | AggFunc::Count
        | AggFunc::Min
        | AggFunc::Max
        | AggFunc::BoolAnd
        | AggFunc::BoolOr
        | AggFunc::BitAnd
        | AggFunc::BitOr
        | AggFunc::BitXor => true,
        AggFunc::Sum | AggFunc::Avg | AggFunc::Variance { .. } => exact_input,
        _ => false,
    };
    if call.frame.exclude != Exclude::NoOthers {
        return excluding(call, spec, part, off, order_free, &feed, out, ticker, held).await;
    }
    // A frame that ends at the partition's end and moves its start: walked from the last row
    // its state only gains rows at the front, for the aggregates whose result does not depend
    // on the order of their inputs (not floats, whose sums round by order, nor string_agg).
    if order_free
        && matches!(call.frame.end, FrameBound::UnboundedFollowing)
        && !matches!(call.frame.start, FrameBound::UnboundedPreceding)
    {
        let mut state = AggState::new(spec);
        let mut cs = n;
        let mut last: Option<(usize, Datum)> = None;
        for pos in (0..n).rev() {
            let (s, _) = part.frame(call, off, pos)?;
            if let Some((ls, v)) = &last {
                if *ls == s {
                    held.add(v.memory())?;
                    out[part.rows[pos]] = v.clone();
                    continue;
                }
            }
            if s <= cs {
                ticker.tick(1 + cs - s).await?;
                feed(&mut state, s, cs)?;
            } else {
                ticker.tick(1 + n - s).await?;
                state = AggState::new(spec);
                feed(&mut state, s, n)?;
            }
            cs = s;
            let v = state.clone().finish(spec)?;
            held.add(v.memory())?;
            out[part.rows[pos]] = v.clone();
            last = Some((s, v));
        }
        return Ok(());
    }
    let mut tree: Option<StateTree> = None;
    let mut state = AggState::new(spec);
    let (mut cs, mut ce) = (0usize, 0usize);
    let mut last: Option<((usize, usize), Datum)> = None;
    for pos in 0..n {
        let (s, e) = part.frame(call, off, pos)?;
        if let Some((f, v)) = &last {
            if *f == (s, e) {
                held.add(v.memory())?;
                out[part.rows[pos]] = v.clone();
                continue;
            }
        }
        if s == cs && e >= ce {
            ticker.tick(1 + e - ce).await?;
            feed(&mut state, ce, e)?;
        } else if order_free && e - s > TREE_MIN_FRAME {
            // A sliding frame: merge the tree's partial states instead of every row.
            if tree.is_none() {
                ticker.tick(n).await?;
                held.add(2 * n.next_power_of_two() * std::mem::size_of::<AggState>())?;
                tree = Some(StateTree::build(spec, n, &feed)?);
            }
            ticker.tick(1).await?;
            state = match &tree {
                Some(t) => t.range(spec, s, e)?,
                None => return Err(SqlError::internal("window state tree")),
            };
        } else {
            ticker.tick(1 + e - s).await?;
            state = AggState::new(spec);
            feed(&mut state, s, e)?;
        }
        (cs, ce) = (s, e);
        let v = state.clone().finish(spec)?;
        held.add(v.memory())?;
        out[part.rows[pos]] = v.clone();
        last = Some(((s, e), v));
    }
    Ok(())
}

/// An aggregate over frames with an EXCLUDE clause: as PostgreSQL does, each row's frame is
/// aggregated afresh, its rows fed in window order (the excluded rows skipped); the aggregates
/// whose result does not depend on that order merge a [`StateTree`]'s partial states of the
/// frame's pieces instead when the frame is wide.
#[allow(clippy::too_many_arguments)]
async fn excluding(
    call: &WindowCall,
    spec: &AggSpec,
    part: &Partition<'_>,
    off: &Offsets,
    order_free: bool,
    feed: &dyn Fn(&mut AggState, usize, usize) -> Result<()>,
    out: &mut [Datum],
    ticker: &mut Ticker,
    held: &mut Held,
) -> Result<()> {
    let n = part.rows.len();
    let mut tree: Option<StateTree> = None;
    let mut last: Option<([(usize, usize); 3], Datum)> = None;
    for pos in 0..n {
        let pieces = part.pieces(call, off, pos)?;
        if let Some((p, v)) = &last {
            if *p == pieces {
                held.add(v.memory())?;
                out[part.rows[pos]] = v.clone();
                continue;
            }
        }
        let width: usize = pieces.iter().map(|(s, e)| e - s).sum();
        let state = if order_free && width > TREE_MIN_FRAME {
            if tree.is_none() {
                ticker.tick(n).await?;
                held.add(2 * n.next_power_of_two() * std::mem::size_of::<AggState>())?;
                tree = Some(StateTree::build(spec, n, feed)?);
            }
            let Some(t) = &tree else { return Err(SqlError::internal("window state tree")) };
            ticker.tick(1).await?;
            let mut state = AggState::new(spec);
            for (s, e) in pieces {
                if s < e {
                    state.merge(spec, t.range(spec, s, e)?)?;
                }
            }
            state
        } else {
            ticker.tick(1 + width).await?;
            let mut state = AggState::new(spec);
            for (s, e) in pieces {
                feed(&mut state, s, e)?;
            }
            state
        };
        let v = state.finish(spec)?;
        held.add(v.memory())?;
        out[part.rows[pos]] = v.clone();
        last = Some((pieces, v));
    }
    Ok(())
}

/// Frames wider than this that slide use a [`StateTree`] rather than feeding every row.
const TREE_MIN_FRAME: usize = 32;

/// Partial aggregate states over power-of-two ranges of a partition's rows (a segment tree):
/// any frame's state is O(log rows) merges, for aggregates whose result does not depend on the
/// order their inputs are merged in.
struct StateTree {
    size: usize,
    nodes: Vec<AggState>,
}

impl StateTree {
    fn build(spec: &AggSpec, n: usize, feed: &dyn Fn(&mut AggState, usize, usize) -> Result<()>) -> Result<StateTree> {
        let size = n.next_power_of_two();
        let mut nodes = vec![AggState::new(spec); 2 * size];
        for i in 0..n {
            feed(&mut nodes[size + i], i, i + 1)?;
        }
        for i in (1..size).rev() {
            let mut st = nodes[2 * i].clone();
            st.merge(spec, nodes[2 * i + 1].clone())?;
            nodes[i] = st;
        }
        Ok(StateTree { size, nodes })
    }

    /// The state of rows [start, end).
    fn range(&self, spec: &AggSpec, start: usize, end: usize) -> Result<AggState> {
        let mut acc = AggState::new(spec);
        let (mut l, mut r) = (start + self.size, end + self.size);
        while l < r {
            if l & 1 == 1 {
                acc.merge(spec, self.nodes[l].clone())?;
                l += 1;
            }
            if r & 1 == 1 {
                r -= 1;
                acc.merge(spec, self.nodes[r].clone())?;
            }
            l >>= 1;
            r >>= 1;
        }
        Ok(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_engine::table::SqlType;

    fn call(func: WinFunc, frame: Frame) -> WindowCall {
        WindowCall {
            func,
            args: vec![Expr::Column(0, SqlType::Int4)],
            partition_by: vec![],
            order_by: vec![AggOrder { expr: Expr::Column(0, SqlType::Int4), desc: false, nulls_first: false }],
            frame,
            ty: SqlType::Int8,
        }
    }

    /// sum(column 0) of int4 rows.
    fn sum_of_column_0() -> AggSpec {
        AggSpec {
            func: AggFunc::Sum,
            arg: Some(Expr::Column(0, SqlType::Int4)),
            ty: SqlType::Int8,
            distinct: false,
            delim: None,
            order_by: vec![],
            filter: None,
        }
    }

    /// One call's values, computed at once under an unbounded memory account.
    fn compute_now(call: &WindowCall, rows: &[(Row, Vec<Datum>)], params: &[Datum]) -> Result<Vec<Datum>> {
        let mut held = Held::new(Default::default(), "window");
        crate::memory::block_on(compute(call, rows, params, &mut Ticker::without_cancel(), &mut held)).map(|(v, _)| v)
    }

    #[test]
    fn a_window_past_the_memory_bound_fails_with_53200() {
        let spec = AggSpec { func: AggFunc::StringAgg, delim: None, ..sum_of_column_0() };
        let spec = AggSpec { arg: Some(Expr::Const(Datum::Text("x".repeat(100)), SqlType::Text)), ..spec };
        let memory = std::rc::Rc::new(crate::memory::QueryMemory::new(64 << 10));
        let mut held = Held::new(memory.clone(), "window");
        let r = rows(&(0..1000).collect::<Vec<_>>());
        let frame = Frame::default_frame();
        let got = crate::memory::block_on(compute(
            &call(WinFunc::Agg(Box::new(spec)), frame),
            &r,
            &[],
            &mut Ticker::without_cancel(),
            &mut held,
        ));
        let e = got.unwrap_err();
        assert_eq!(e.code, "53200");
        assert!(e.detail.unwrap_or_default().contains("in window"));
        drop(held);
        assert_eq!(memory.used(), 0);
    }

    fn rows(vals: &[i32]) -> Vec<(Row, Vec<Datum>)> {
        vals.iter().map(|v| (vec![Datum::Int4(*v)], vec![])).collect()
    }

    #[test]
    fn ranks_follow_peers() {
        let r = rows(&[3, 1, 1, 2]);
        let rank = compute_now(&call(WinFunc::Rank, Frame::default_frame()), &r, &[]).unwrap();
        assert_eq!(rank, vec![Datum::Int8(4), Datum::Int8(1), Datum::Int8(1), Datum::Int8(3)]);
        let dense = compute_now(&call(WinFunc::DenseRank, Frame::default_frame()), &r, &[]).unwrap();
        assert_eq!(dense, vec![Datum::Int8(3), Datum::Int8(1), Datum::Int8(1), Datum::Int8(2)]);
    }

    #[test]
    fn rows_frame_sums_a_sliding_window() {
        let spec = sum_of_column_0();
        let one = Expr::Const(Datum::Int8(1), SqlType::Int8);
        let frame = Frame {
            units: FrameUnits::Rows,
            start: FrameBound::Preceding(one.clone()),
            end: FrameBound::Following(one),
            range_sub: None,
            range_add: None,
            exclude: Exclude::NoOthers,
        };
        let got = compute_now(&call(WinFunc::Agg(Box::new(spec)), frame), &rows(&[1, 2, 3, 4]), &[]).unwrap();
        assert_eq!(got, vec![Datum::Int8(3), Datum::Int8(6), Datum::Int8(9), Datum::Int8(7)]);
    }

    #[test]
    fn frames_to_the_end_sum_from_the_back() {
        let spec = sum_of_column_0();
        let frame = Frame {
            units: FrameUnits::Rows,
            start: FrameBound::Following(Expr::Const(Datum::Int8(1), SqlType::Int8)),
            end: FrameBound::UnboundedFollowing,
            range_sub: None,
            range_add: None,
            exclude: Exclude::NoOthers,
        };
        let got = compute_now(&call(WinFunc::Agg(Box::new(spec)), frame), &rows(&[1, 2, 3, 4]), &[]).unwrap();
        assert_eq!(got, vec![Datum::Int8(9), Datum::Int8(7), Datum::Int8(4), Datum::Null]);
    }

    #[test]
    fn wide_sliding_frames_match_a_recount() {
        let spec = AggSpec {
            func: AggFunc::Max,
            arg: Some(Expr::Column(0, SqlType::Int4)),
            ty: SqlType::Int4,
            distinct: false,
            delim: None,
            order_by: vec![],
            filter: None,
        };
        let k = |v: i64| Expr::Const(Datum::Int8(v), SqlType::Int8);
        let frame = Frame {
            units: FrameUnits::Rows,
            start: FrameBound::Preceding(k(40)),
            end: FrameBound::Following(k(40)),
            range_sub: None,
            range_add: None,
            exclude: Exclude::NoOthers,
        };
        let vals: Vec<i32> = (0..300).map(|i| i * 7919 % 1000).collect();
        let got = compute_now(&call(WinFunc::Agg(Box::new(spec)), frame), &rows(&vals), &[]).unwrap();
        // Rows sort by value (the call's ORDER BY): the frame is 40 ranks either side.
        let mut sorted = vals.clone();
        sorted.sort();
        for (i, v) in vals.iter().enumerate() {
            let pos = sorted.iter().position(|x| x == v).unwrap();
            let want = sorted[pos.saturating_sub(40)..(pos + 41).min(sorted.len())].iter().max().copied().unwrap();
            assert_eq!(got[i], Datum::Int4(want), "row {i}");
        }
    }

    #[test]
    fn exclusions_take_the_row_its_peers_or_both_out_of_the_frame() {
        let frame = |exclude| Frame {
            units: FrameUnits::Rows,
            start: FrameBound::UnboundedPreceding,
            end: FrameBound::UnboundedFollowing,
            range_sub: None,
            range_add: None,
            exclude,
        };
        let r = rows(&[1, 2, 2, 3]);
        let sums = |exclude| {
            let got = compute_now(&call(WinFunc::Agg(Box::new(sum_of_column_0())), frame(exclude)), &r, &[]).unwrap();
            got.iter().map(|d| d.as_i64().unwrap_or(-1)).collect::<Vec<_>>()
        };
        assert_eq!(sums(Exclude::NoOthers), vec![8, 8, 8, 8]);
        assert_eq!(sums(Exclude::CurrentRow), vec![7, 6, 6, 5]);
        assert_eq!(sums(Exclude::Group), vec![7, 4, 4, 5]);
        assert_eq!(sums(Exclude::Ties), vec![8, 6, 6, 8]);
        // nth_value counts the frame's rows that are left.
        let mut nth = call(WinFunc::NthValue, frame(Exclude::Group));
        nth.args.push(Expr::Const(Datum::Int4(2), SqlType::Int4));
        let got = compute_now(&nth, &r, &[]).unwrap();
        assert_eq!(got, vec![Datum::Int4(2), Datum::Int4(3), Datum::Int4(3), Datum::Int4(2)]);
    }

    #[test]
    fn ntile_puts_the_extra_rows_in_the_first_buckets() {
        let mut c = call(WinFunc::Ntile, Frame::default_frame());
        c.args = vec![Expr::Const(Datum::Int4(3), SqlType::Int4)];
        let got = compute_now(&c, &rows(&[1, 2, 3, 4, 5, 6, 7]), &[]).unwrap();
        let want: Vec<Datum> = [1, 1, 1, 2, 2, 3, 3].iter().map(|v| Datum::Int4(*v)).collect();
        assert_eq!(got, want);
    }
}
