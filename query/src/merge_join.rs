//! Merge joins: a join step whose two inputs already come in the order of its join keys walks
//! both once, side by side, and builds no hash table. Each shard keeps a table's rows in
//! primary-key order (`orbit_engine::table`, keys encoded so that their bytes sort as the
//! values), so the inputs are ordered when the step's equalities pair the leading primary-key
//! columns of both tables ([`key`]; a prefix will do: lineitem's `(l_orderkey, l_linenumber)`
//! is in `l_orderkey` order) and each table is read by a plain scan of its part:
//!
//! - on every shard, for a first step whose equalities are the whole primary keys of both
//!   tables (co-located, [`crate::dist_join::colocated`]: equal keys live on the same shard),
//!   each shard merges its two parts ([`crate::exec::colocated_scan`]); outer joins too, since
//!   a row without a partner on its shard has none anywhere;
//! - on the coordinating shard with one shard, whose scan sends the rows in key order.
//!
//! With several shards and a key prefix only, the coordinator would need a k-way merge of the
//! shards' ordered parts; it hash-joins instead. Rows the transaction wrote itself are not in
//! the shards' order: such a step hash-joins as before (EXPLAIN ANALYZE shows what ran).
//!
//! The merge ([`merge`]) handles inner, LEFT, RIGHT and FULL joins: runs of equal keys on both
//! sides are joined pair by pair (their cross product), the rest of the ON condition checked
//! per pair, a row without a partner padded with NULLs on an outer side; NULL keys never match.
//! Keys compare as the hash join's ([`crate::join_key`]): integers of every width as `i64`,
//! text bytewise ("C" collation, as Orbit compares text everywhere), numerics by value, which is
//! the stored key order. An input found out of order is an internal error, never a wrong join.
//!
//! Chosen by cost against the hash join ([`crate::cost::merge_join`]); `SET enable_mergejoin =
//! off` turns it off, as in PostgreSQL.

use crate::error::{Result, SqlError};
use crate::join::JoinKind;
use crate::join_key::{self, JoinKey};
use orbit_engine::table::{Row, TableDef};
use std::cmp::Ordering;

/// Where a merge step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The coordinating shard merges the two ordered scans (one shard).
    Coordinator,
    /// Every shard merges its parts of the two tables (co-located on the primary key).
    OnShards,
}

/// The step's equalities `eq` ((column of `left`, column of `right`), as stored) that pair the
/// leading primary-key columns of both tables, in key order, as long as they go (at least one),
/// with types whose values compare as their stored keys do: the columns both inputs are
/// ordered by. None for a table with a hidden row id.
pub(crate) fn key(left: &TableDef, right: &TableDef, eq: &[(usize, usize)]) -> Option<Vec<(usize, usize)>> {
    if left.has_row_id() || right.has_row_id() {
        return None;
    }
    let mut out = Vec::new();
    for (&a, &b) in left.pk.iter().zip(&right.pk) {
        let alike = match (left.columns.get(a), right.columns.get(b)) {
            (Some(x), Some(y)) => crate::join::hashable(x.ty, y.ty),
            _ => false,
        };
        if !alike || !eq.contains(&(a, b)) {
            break;
        }
        out.push((a, b));
    }
    (!out.is_empty()).then_some(out)
}

/// The order of two join keys of the same columns: the order of their stored encodings
/// ([`orbit_engine::table::key`]: an integer's `i64`, a string's bytes, else the encoding).
fn compare(a: &JoinKey<'_>, b: &JoinKey<'_>) -> Ordering {
    match (a, b) {
        (JoinKey::Int(x), JoinKey::Int(y)) => x.cmp(y),
        (JoinKey::Bytes(x), JoinKey::Bytes(y)) => x.cmp(y),
        (JoinKey::Encoded(x), JoinKey::Encoded(y)) => x.cmp(y),
        // Keys of one column list are of one kind; told apart by kind if not.
        (x, y) => rank(x).cmp(&rank(y)),
    }
}

fn rank(k: &JoinKey<'_>) -> u8 {
    match k {
        JoinKey::Int(_) => 0,
        JoinKey::Bytes(_) => 1,
        JoinKey::Encoded(_) => 2,
    }
}

/// What a merge gives, in key order: a joined pair, or a row of one side without a partner
/// (for an outer join on that side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Out {
    Pair(usize, usize),
    Left(usize),
    Right(usize),
}

/// One side of a merge: its rows, their key columns, and where it is.
struct Side<'a> {
    rows: &'a [Row],
    cols: &'a [usize],
    at: usize,
    /// The key of the row at `at` (None: NULL), once read.
    cur: Option<Option<JoinKey<'a>>>,
    /// The last key passed, to check the order.
    last: Option<JoinKey<'a>>,
}

impl<'a> Side<'a> {
    fn new(rows: &'a [Row], cols: &'a [usize]) -> Side<'a> {
        Side { rows, cols, at: 0, cur: None, last: None }
    }

    fn done(&self) -> bool {
        self.at >= self.rows.len()
    }

    /// The key of the current row (None: one of its columns is NULL).
    fn key(&mut self) -> Result<Option<JoinKey<'a>>> {
        if let Some(k) = &self.cur {
            return Ok(k.clone());
        }
        let rows: &'a [Row] = self.rows;
        let k = join_key::of(&rows[self.at], self.cols);
        if let (Some(last), Some(now)) = (&self.last, &k) {
            if compare(last, now) == Ordering::Greater {
                return Err(SqlError::internal("merge join input is not in join-key order"));
            }
        }
        self.cur = Some(k.clone());
        Ok(k)
    }

    /// Past the current row.
    fn advance(&mut self) {
        if let Some(Some(k)) = self.cur.take() {
            self.last = Some(k);
        }
        self.at += 1;
    }
}

/// Merges `left` and `right`, each in the order of its key columns (`left_cols`, `right_cols`,
/// the step's equalities in the same order), as a `kind` join: `check` decides each pair of
/// equal keys (the rest of the ON condition; it also counts the pair for cancel checks) and
/// `out` takes each result in key order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn merge(
    left: &[Row],
    left_cols: &[usize],
    right: &[Row],
    right_cols: &[usize],
    kind: JoinKind,
    mut check: impl FnMut(usize, usize) -> Result<bool>,
    mut out: impl FnMut(Out) -> Result<()>,
) -> Result<()> {
    let outer_left = matches!(kind, JoinKind::Left | JoinKind::Full);
    let outer_right = matches!(kind, JoinKind::Right | JoinKind::Full);
    let (mut l, mut r) = (Side::new(left, left_cols), Side::new(right, right_cols));
    let mut right_matched: Vec<bool> = Vec::new();
    loop {
        let lk = if l.done() { None } else { Some(l.key()?) };
        let rk = if r.done() { None } else { Some(r.key()?) };
        let (lk, rk) = match (lk, rk) {
            (None, None) => return Ok(()),
            (Some(None), _) | (Some(_), None) => {
                // A NULL key, or nothing left on the right: no partner.
                if outer_left {
                    out(Out::Left(l.at))?;
                }
                l.advance();
                continue;
            }
            (_, Some(None)) | (None, Some(_)) => {
                if outer_right {
                    out(Out::Right(r.at))?;
                }
                r.advance();
                continue;
            }
            (Some(Some(a)), Some(Some(b))) => (a, b),
        };
        match compare(&lk, &rk) {
            Ordering::Less => {
                if outer_left {
                    out(Out::Left(l.at))?;
                }
                l.advance();
            }
            Ordering::Greater => {
                if outer_right {
                    out(Out::Right(r.at))?;
                }
                r.advance();
            }
            Ordering::Equal => {
                // The runs of this key on both sides, joined pair by pair.
                let (l0, r0) = (l.at, r.at);
                l.advance();
                while !l.done() && l.key()?.is_some_and(|k| compare(&k, &lk) == Ordering::Equal) {
                    l.advance();
                }
                r.advance();
                while !r.done() && r.key()?.is_some_and(|k| compare(&k, &rk) == Ordering::Equal) {
                    r.advance();
                }
                let (l1, r1) = (l.at, r.at);
                right_matched.clear();
                right_matched.resize(r1 - r0, false);
                for i in l0..l1 {
                    let mut matched = false;
                    for j in r0..r1 {
                        if check(i, j)? {
                            matched = true;
                            right_matched[j - r0] = true;
                            out(Out::Pair(i, j))?;
                        }
                    }
                    if !matched && outer_left {
                        out(Out::Left(i))?;
                    }
                }
                if outer_right {
                    for (j, m) in (r0..r1).zip(&right_matched) {
                        if !m {
                            out(Out::Right(j))?;
                        }
                    }
                }
            }
        }
    }
}

/// Whether a merge costs less than the hash join of the same inputs (`left` and `right` rows
/// read in key order, `rows` out), by [`crate::cost`]'s model: it never does more work than
/// the hash join, whose build it saves.
/// With hash joins switched off (`enable_hashjoin`) and merges on, a merge is always cheaper,
/// as PostgreSQL's penalty on the hash join makes it.
pub(crate) fn cheaper(left: f64, right: f64, rows: f64, methods: crate::index_join::Methods) -> bool {
    if !methods.hash {
        return true;
    }
    let input = |r: f64| crate::cost::Estimate { startup: 0.0, total: 0.0, rows: r, width: 0.0 };
    let (l, r) = (input(left), input(right));
    crate::cost::merge_join(l, r, rows).total < crate::cost::hash_join(l, r, rows).total
}

/// Where the first step of a join in written order merges, if it does: its two tables read
/// whole by plain scans (the second with the parts of ON that read it alone, which use no key
/// or index), joined on equalities that give a merge [`key`], with merge joins enabled, and not
/// looked up by key instead (an inner or left step whose table's key or index serves the
/// equalities, cheaper for the estimated rows: [`crate::index_join::cheaper`]). With several
/// shards only co-located on both whole primary keys ([`crate::dist_join::colocated`]); with
/// one on the coordinator. Not a cross join.
pub(crate) fn written_first_step(plan: &crate::join::JoinPlan, shards: usize) -> Option<Place> {
    let step = plan.steps.first()?;
    let (a, b) = (plan.inputs.first()?, plan.inputs.get(1)?);
    if !plan.merge_enabled || step.kind == JoinKind::Cross || step.eq.is_empty() {
        return None;
    }
    key(a, b, &step.eq)?;
    let pushed = crate::join::pushed_down(plan, 0).0;
    if !crate::exec::scanned_on_shards(a, None) || !crate::exec::scanned_on_shards(b, pushed.as_ref()) {
        return None;
    }
    let (left_rows, right_rows) = (crate::stats::TableColumns::new(a).rows, crate::stats::TableColumns::new(b).rows);
    if matches!(step.kind, JoinKind::Inner | JoinKind::Left)
        && crate::index_join::path(b, &step.eq)
            .is_some_and(|l| crate::index_join::cheaper(&l, left_rows, right_rows, plan.methods))
    {
        return None;
    }
    if !cheaper(left_rows, right_rows, left_rows.max(right_rows), plan.methods) {
        return None;
    }
    if shards > 1 {
        crate::dist_join::colocated(a, b, &step.eq).then_some(Place::OnShards)
    } else {
        Some(Place::Coordinator)
    }
}

/// Where the first step of an inner join in the planner's order (`order`, with the steps'
/// `lookups` and `dists`) merges, if it does: a co-located step on the shards, or with one
/// shard a step joining two tables that plain scans read (their own conditions `local` use no
/// key or index) on equalities that give a merge [`key`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn inner_first(
    plan: &crate::join::JoinPlan,
    sp: &crate::join::Split,
    local: &[Option<crate::expr::Expr>],
    sizes: &[f64],
    order: &[usize],
    lookups: &[bool],
    dists: &[crate::dist_join::Distribution],
    shards: usize,
) -> Option<Place> {
    use crate::dist_join::Distribution;
    let (&a, &b) = (order.first()?, order.get(1)?);
    if !plan.merge_enabled || lookups.first().copied().unwrap_or(false) {
        return None;
    }
    key(&plan.inputs[a], &plan.inputs[b], &equalities(sp, a, b))?;
    let scannable = |t: usize| crate::exec::scanned_on_shards(&plan.inputs[t], local.get(t).and_then(|f| f.as_ref()));
    if !cheaper(sizes[a], sizes[b], sizes[a].max(sizes[b]), plan.methods) {
        return None;
    }
    match dists.first() {
        Some(Distribution::CoLocated) => Some(Place::OnShards),
        Some(Distribution::Coordinator) if shards < 2 && scannable(a) && scannable(b) => Some(Place::Coordinator),
        _ => None,
    }
}

/// A merge step on the coordinating shard: `left` (rows `left_width` wide) and `right`, each in
/// the order of its `key` columns ((column of a left row, column of a right row)), merged as a
/// `kind` join; a pair also needs its other equalities `rest` and `on` (over the left row,
/// padded to `left_width`, then the right row). Each candidate pair counts for the cancel
/// check; `out` takes the results.
#[allow(clippy::too_many_arguments)]
pub(crate) fn coordinator(
    txn: &crate::txn::Txn,
    left: &[Row],
    right: &[Row],
    key: &[(usize, usize)],
    rest: &[(usize, usize)],
    on: Option<&crate::expr::Expr>,
    kind: JoinKind,
    left_width: usize,
    params: &[orbit_engine::table::Datum],
    out: impl FnMut(Out) -> Result<()>,
) -> Result<()> {
    let (lk, rk): (Vec<usize>, Vec<usize>) = key.iter().copied().unzip();
    let (lr, rr): (Vec<usize>, Vec<usize>) = rest.iter().copied().unzip();
    let mut built = crate::join::Built::new(txn);
    let mut scratch: Row = Vec::new();
    merge(
        left,
        &lk,
        right,
        &rk,
        kind,
        |i, j| {
            built.pair(txn)?;
            if !rest.is_empty() {
                match (join_key::of(&left[i], &lr), join_key::of(&right[j], &rr)) {
                    (Some(a), Some(b)) if a == b => {}
                    _ => return Ok(false),
                }
            }
            let Some(on) = on else { return Ok(true) };
            scratch.clear();
            scratch.extend_from_slice(&left[i]);
            scratch.resize(left_width, orbit_engine::table::Datum::Null);
            scratch.extend_from_slice(&right[j]);
            let cx = crate::expr::Ctx { row: &scratch, params, aggs: &[] };
            Ok(crate::expr::truth(crate::expr::eval(on, &cx)?) == Some(true))
        },
        out,
    )
}

/// The equalities of the planner's conditions `sp` between tables `a` and `b`: (column of
/// `a`, column of `b`), as stored.
pub(crate) fn equalities(sp: &crate::join::Split, a: usize, b: usize) -> Vec<(usize, usize)> {
    (0..sp.multi.len())
        .filter_map(|j| match sp.equality(j)? {
            (x, cx, y, cy) if x == a && y == b => Some((cx, cy)),
            (x, cx, y, cy) if x == b && y == a => Some((cy, cx)),
            _ => None,
        })
        .collect()
}

/// A co-located step's joined pairs (each side cut to its columns) and the rows each side read.
pub(crate) type Joined = (Vec<(Row, Row)>, [usize; 2]);

/// A co-located merge step on one shard ([`crate::exec::colocated_scan`]): `read(side, cols,
/// keep)` gives each side's rows of this shard's part in key order (passing their own
/// conditions, cut to `cols`); the joined pairs come back (a side an outer join keeps unmatched
/// is padded with NULLs), with each side's rows read. Bounded by the statement's memory
/// (`used` of `limit` before; 53200 past it).
pub(crate) fn on_shard(
    co: &crate::dist_join::CoJoin,
    kind: JoinKind,
    used: usize,
    limit: usize,
    read: impl Fn(usize, Option<&[usize]>, &mut dyn FnMut(Row) -> Result<()>) -> Result<()>,
) -> Result<Joined> {
    let mut bytes = used;
    let charge = |size: usize, bytes: &mut usize| {
        *bytes += size;
        if *bytes > limit {
            return Err(crate::memory::out_of_memory("co-located merge join", size, *bytes - size, limit));
        }
        Ok(())
    };
    // The right side's rows as cut, with any key column the cut leaves out after them.
    let mut right_cols: Option<Vec<usize>> = co.cols[1].as_deref().map(|c| c.to_vec());
    let right_keys: Vec<usize> = match &mut right_cols {
        None => co.right_keys.clone(),
        Some(cols) => co
            .right_keys
            .iter()
            .map(|&k| match cols.iter().position(|&c| c == k) {
                Some(p) => p,
                None => {
                    cols.push(k);
                    cols.len() - 1
                }
            })
            .collect(),
    };
    let [lw, rw] = co.widths;
    let mut sides: [Vec<Row>; 2] = [Vec::new(), Vec::new()];
    for (i, side) in sides.iter_mut().enumerate() {
        let cols = if i == 0 { co.cols[0].as_deref() } else { right_cols.as_deref() };
        read(i, cols, &mut |row: Row| {
            charge(crate::memory::row_bytes(&row), &mut bytes)?;
            side.push(row);
            Ok(())
        })?;
    }
    let [left, right] = &sides;
    let mut out = Vec::new();
    let mut scratch: Row = Vec::new();
    let params = &co.params;
    merge(
        left,
        &co.left_keys,
        right,
        &right_keys,
        kind,
        |i, j| match &co.on {
            None => Ok(true),
            Some(on) => {
                scratch.clear();
                scratch.extend_from_slice(&left[i]);
                scratch.extend(right[j].iter().take(rw).cloned());
                let cx = crate::expr::Ctx { row: &scratch, params, aggs: &[] };
                Ok(crate::expr::truth(crate::expr::eval(on, &cx)?) == Some(true))
            }
        },
        |o| {
            let (a, b) = match o {
                Out::Pair(i, j) => (left[i].clone(), right[j][..rw.min(right[j].len())].to_vec()),
                Out::Left(i) => (left[i].clone(), vec![orbit_engine::table::Datum::Null; rw]),
                Out::Right(j) => {
                    (vec![orbit_engine::table::Datum::Null; lw], right[j][..rw.min(right[j].len())].to_vec())
                }
            };
            charge(crate::memory::row_bytes(&a) + crate::memory::row_bytes(&b), &mut bytes)?;
            out.push((a, b));
            Ok(())
        },
    )?;
    Ok((out, [left.len(), right.len()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_engine::table::Datum;

    fn rows(keys: &[Option<i64>]) -> Vec<Row> {
        keys.iter().enumerate().map(|(i, k)| vec![k.map_or(Datum::Null, Datum::Int8), Datum::Int4(i as i32)]).collect()
    }

    fn run(l: &[Option<i64>], r: &[Option<i64>], kind: JoinKind) -> Vec<Out> {
        let (l, r) = (rows(l), rows(r));
        let mut got = Vec::new();
        merge(
            &l,
            &[0],
            &r,
            &[0],
            kind,
            |_, _| Ok(true),
            |o| {
                got.push(o);
                Ok(())
            },
        )
        .unwrap();
        got
    }

    #[test]
    fn runs_of_equal_keys_join_as_their_cross_product() {
        let got = run(&[Some(1), Some(2), Some(2), Some(4)], &[Some(2), Some(2), Some(3), Some(4)], JoinKind::Inner);
        assert_eq!(got, vec![Out::Pair(1, 0), Out::Pair(1, 1), Out::Pair(2, 0), Out::Pair(2, 1), Out::Pair(3, 3)]);
    }

    #[test]
    fn outer_sides_keep_rows_without_partners_and_nulls_never_match() {
        let l = [None, Some(1), Some(3)];
        let r = [None, Some(3), Some(5)];
        assert_eq!(run(&l, &r, JoinKind::Left), vec![Out::Left(0), Out::Left(1), Out::Pair(2, 1)]);
        assert_eq!(run(&l, &r, JoinKind::Right), vec![Out::Right(0), Out::Pair(2, 1), Out::Right(2)]);
        assert_eq!(
            run(&l, &r, JoinKind::Full),
            vec![Out::Left(0), Out::Right(0), Out::Left(1), Out::Pair(2, 1), Out::Right(2)]
        );
        assert_eq!(run(&[], &r, JoinKind::Full), vec![Out::Right(0), Out::Right(1), Out::Right(2)]);
    }

    #[test]
    fn the_rest_of_the_condition_decides_each_pair() {
        let (l, r) = (rows(&[Some(1), Some(1)]), rows(&[Some(1), Some(1)]));
        let mut got = Vec::new();
        // Only pairs of equal positions pass: each row has one partner, and none is padded.
        merge(
            &l,
            &[0],
            &r,
            &[0],
            JoinKind::Full,
            |i, j| Ok(i == j),
            |o| {
                got.push(o);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(got, vec![Out::Pair(0, 0), Out::Pair(1, 1)]);
        let mut got = Vec::new();
        merge(
            &l,
            &[0],
            &r,
            &[0],
            JoinKind::Full,
            |_, _| Ok(false),
            |o| {
                got.push(o);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(got, vec![Out::Left(0), Out::Left(1), Out::Right(0), Out::Right(1)]);
    }

    #[test]
    fn an_input_out_of_order_is_an_error() {
        let (l, r) = (rows(&[Some(2), Some(1)]), rows(&[Some(1), Some(2)]));
        let e = merge(&l, &[0], &r, &[0], JoinKind::Inner, |_, _| Ok(true), |_| Ok(()));
        assert!(e.is_err());
    }

    #[test]
    fn text_keys_compare_bytewise() {
        let l: Vec<Row> = ["A", "a", "b"].iter().map(|s| vec![Datum::Text(s.to_string())]).collect();
        let r: Vec<Row> = ["a", "b", "c"].iter().map(|s| vec![Datum::Text(s.to_string())]).collect();
        let mut got = Vec::new();
        merge(
            &l,
            &[0],
            &r,
            &[0],
            JoinKind::Inner,
            |_, _| Ok(true),
            |o| {
                got.push(o);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(got, vec![Out::Pair(1, 0), Out::Pair(2, 1)]);
    }
}
