//! Joins: INNER, LEFT, RIGHT, FULL and CROSS, with ON, USING or NATURAL, over the tables of a
//! FROM clause. A joined row is the stored rows of its tables laid end to end (a table's
//! hidden row id included), so column `i` of the combined row is the binder's `Expr::Column(i)`.
//!
//! Execution (first version, on the coordinating shard): every table is read as the
//! transaction sees it (each shard scans its part in parallel), or, where the rows so far are
//! few next to a table whose key or index the join's equalities cover, looked up by those keys
//! ([`crate::index_join`]); the tables are joined left to right. An equality between a column of the rows so far and a column of the next
//! table (`ON a.x = b.y`, or USING) makes it a hash join on those values (NULLs never match);
//! any other condition is a nested loop. The rest of the ON condition is checked on every
//! candidate pair; outer joins add the unmatched rows padded with NULLs. The rows a step
//! builds and its hash table are charged to the statement's memory account
//! ([`crate::memory`]; 53200 past `orbit.query_memory_limit`), and a cancel request or
//! `statement_timeout` stops a step (checked every 64k candidate pairs);
//! then WHERE, grouping, ORDER BY and LIMIT run as for one table.
//!
//! Inner joins go through [`rows_where`]: conditions pushed down to the scans, the join order
//! chosen from estimated sizes ([`order`]). With several shards a hash step runs on the shards
//! where that costs less: broadcast, or co-located on the primary key ([`crate::dist_join`]).

use crate::dist_join::Distribution;
use crate::error::Result;
use crate::expr::{self, Ctx, Expr};
use crate::joined::NULLS;
use crate::txn::Txn;
use orbit_engine::table::{Datum, Row, TableDef};
use std::sync::Arc;

/// Candidate pairs a join step looks at between two checks for a cancel request or
/// `statement_timeout` (a nested loop can look at many pairs and keep few).
const CANCEL_CHECK_PAIRS: usize = 1 << 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    Cross,
}

/// One step: the table `inputs[i + 1]` joined to the rows built so far.
#[derive(Debug, Clone)]
pub struct JoinStep {
    pub kind: JoinKind,
    /// The ON condition (USING's equalities included), over the combined row so far plus this
    /// table's row.
    pub on: Option<Expr>,
    /// Equalities usable as hash keys: (column of the rows so far, column of this table's row).
    pub eq: Vec<(usize, usize)>,
}

#[derive(Debug, Clone)]
pub struct JoinPlan {
    pub inputs: Vec<Arc<TableDef>>,
    pub steps: Vec<JoinStep>,
    /// `enable_mergejoin` when the statement was bound: whether a step may merge inputs in
    /// key order ([`crate::merge_join`]).
    pub merge_enabled: bool,
    /// `enable_hashjoin` and `enable_nestloop` when the statement was bound.
    pub methods: crate::index_join::Methods,
}

/// What a join step has built so far, charged to the statement's memory account.
pub(crate) struct Built {
    rows: crate::memory::Held,
    pairs: usize,
}

impl Built {
    pub(crate) fn new(txn: &Txn) -> Built {
        Built { rows: crate::memory::Held::new(txn.memory(), "join"), pairs: 0 }
    }

    /// Counts one output row.
    pub(crate) fn row(&mut self, row: &[Datum]) -> Result<()> {
        self.rows.row(row)
    }

    /// Counts one candidate pair; every so often, checks for a cancel.
    pub(crate) fn pair(&mut self, txn: &Txn) -> Result<()> {
        self.pairs += 1;
        if self.pairs.is_multiple_of(CANCEL_CHECK_PAIRS) {
            txn.check_cancel()?;
        }
        Ok(())
    }
}

/// The columns a join keeps of each of its tables: those `needed` (over the combined row in FROM
/// order; None: all of them) marks. A kept table's row is those columns in order, so the
/// shards send only them and each join step copies only them.
struct Layout {
    /// Per table, its kept columns.
    keep: Vec<Arc<[usize]>>,
    /// Per table, where each of its columns is in its kept row (`usize::MAX`: not kept).
    pos: Vec<Vec<usize>>,
    /// Whether a table keeps fewer columns than it has.
    narrow: Vec<bool>,
}

impl Layout {
    fn new(plan: &JoinPlan, offsets: &[usize], needed: Option<&[bool]>) -> Layout {
        let mut l = Layout { keep: Vec::new(), pos: Vec::new(), narrow: Vec::new() };
        for (t, def) in plan.inputs.iter().enumerate() {
            let len = def.row_len();
            let keep: Vec<usize> = match needed {
                Some(n) => (0..len).filter(|&c| n.get(offsets[t] + c).copied().unwrap_or(true)).collect(),
                None => (0..len).collect(),
            };
            let mut pos = vec![usize::MAX; len];
            for (j, &c) in keep.iter().enumerate() {
                pos[c] = j;
            }
            l.narrow.push(keep.len() < len);
            l.keep.push(keep.into());
            l.pos.push(pos);
        }
        l
    }

    /// Where each column of the combined row (FROM order, `offsets`) is in a row of kept
    /// columns laid side by side in FROM order (`usize::MAX`: not kept), or None when nothing is
    /// narrowed (the rows are the combined row).
    fn kept_map(&self, offsets: &[usize], width: usize) -> Option<Vec<usize>> {
        if !self.narrow.iter().any(|&x| x) {
            return None;
        }
        let mut map = vec![usize::MAX; width];
        let mut at = 0;
        for (t, &o) in offsets.iter().enumerate() {
            for (c, &p) in self.pos[t].iter().enumerate() {
                if p != usize::MAX {
                    map[o + c] = at + p;
                }
            }
            at += self.width(t);
        }
        Some(map)
    }

    /// The columns to ask table `t`'s scan for (None: its whole rows).
    fn cols(&self, t: usize) -> Option<Arc<[usize]>> {
        self.narrow[t].then(|| self.keep[t].clone())
    }

    fn width(&self, t: usize) -> usize {
        self.keep[t].len()
    }

    /// Table `t`'s column `c` in a row of kept columns where `t`'s start at `at`.
    fn at(&self, t: usize, at: usize, c: usize) -> usize {
        match self.pos[t].get(c) {
            Some(&p) if p != usize::MAX => at + p,
            // Not kept (never read): past the row, so it reads as NULL.
            _ => usize::MAX,
        }
    }
}

/// Marks the columns `e` reads in `needed`.
fn mark(e: &Expr, needed: &mut [bool]) {
    e.visit_columns(&mut |c| {
        if let Some(n) = needed.get_mut(c) {
            *n = true;
        }
    });
}

/// The columns of its FROM row (`width` wide) that a SELECT over a join reads after the join:
/// its select list, grouping, aggregates, ordering and windows (not WHERE or ON: the join
/// reads those itself).
pub(crate) fn columns_read(p: &crate::bind::SelectPlan, width: usize) -> Vec<bool> {
    let mut rest = p.clone();
    rest.filter = None;
    rest.join = None;
    rest.key = None;
    // GROUP BY's dependent columns (every other column of a table whose primary key is grouped
    // by, carried with each group for the select list: `SelectPlan::group_dependent`) are read
    // only when what runs over the groups (select list, HAVING, ORDER BY, windows) names them;
    // the others stay out of the joined rows (NULL if ever evaluated). TPC-H Q13 groups by
    // c_custkey: customer's seven other columns, four of them strings, were copied into each of
    // its 15k joined rows.
    if p.grouped && p.grouping_sets.is_empty() && p.group_dependent > 0 {
        let dep = p.group_by.len() - p.group_dependent.min(p.group_by.len());
        let mut over_groups = rest.clone();
        over_groups.group_by.clear();
        over_groups.aggs.clear();
        let mut read = vec![false; p.group_by.len()];
        let _ = crate::relation::map_select(&mut over_groups, &mut |e: &mut Expr| {
            mark(e, &mut read);
            Ok(true)
        });
        for w in &mut over_groups.windows {
            let _ = w.map_exprs::<()>(&mut |e: &Expr| {
                mark(e, &mut read);
                Ok(e.clone())
            });
        }
        let mut k = 0;
        rest.group_by.retain(|_| {
            k += 1;
            k - 1 < dep || read[k - 1]
        });
    }
    let mut needed = vec![false; width];
    let _ = crate::relation::map_select(&mut rest, &mut |e: &mut Expr| {
        mark(e, &mut needed);
        Ok(true)
    });
    // A window aggregate's argument, delimiter and FILTER are in its call's spec.
    for w in &mut rest.windows {
        let _ = w.map_exprs::<()>(&mut |e: &Expr| {
            mark(e, &mut needed);
            Ok(e.clone())
        });
    }
    needed
}

/// The joined rows of `plan`, as `txn` sees the tables, joined in the written order. A step
/// (inner or left) whose table a key or index serves and whose rows so far are few next to it
/// looks its rows up by key ([`crate::index_join`]) instead of reading it whole.
pub async fn rows(txn: &Txn, plan: &JoinPlan, params: &[Datum]) -> Result<Vec<Row>> {
    let mut held = crate::memory::Held::new(txn.memory(), "join");
    let rows = rows_reading_first(txn, plan, params, None, None).await?.0.rows(&mut held)?;
    held.keep();
    Ok(rows)
}

/// [`rows`], reading only the columns `needed` marks (over the combined row; the ON conditions'
/// are added) of each table, and the first table read with `first` (WHERE's part over it alone:
/// see [`first_table_filter`]). The parts of an inner or left join's ON that read only its new
/// table filter that table's scan (a row failing them matches nothing). The rows hold each
/// table's kept columns side by side, placed in the combined row as the map returned says (None:
/// they are the combined row).
async fn rows_reading_first(
    txn: &Txn,
    plan: &JoinPlan,
    params: &[Datum],
    needed: Option<&[bool]>,
    first: Option<Expr>,
) -> Result<(crate::joined::Joined, Option<Vec<usize>>)> {
    let n = plan.inputs.len();
    let mut offsets = Vec::with_capacity(n);
    let mut width = 0;
    for t in &plan.inputs {
        offsets.push(width);
        width += t.row_len();
    }
    let mut pushed: Vec<Option<Expr>> = vec![None; n];
    let mut ons: Vec<Option<Expr>> = Vec::with_capacity(plan.steps.len());
    for k in 0..plan.steps.len() {
        let (local, rest) = pushed_down(plan, k);
        pushed[k + 1] = local;
        ons.push(rest);
    }
    // LEFT JOIN steps whose table nothing reads and whose key the ON pins: not run.
    let removed = crate::join_removal::removed(plan, needed);
    let needed: Option<Vec<bool>> = needed.map(|nd| {
        let mut nd = nd.to_vec();
        nd.resize(width, true);
        for (k, step) in plan.steps.iter().enumerate() {
            if removed[k] {
                continue;
            }
            if let Some(on) = &ons[k] {
                mark(on, &mut nd);
            }
            for &(l, r) in &step.eq {
                if let Some(x) = nd.get_mut(l) {
                    *x = true;
                }
                if let Some(x) = offsets.get(k + 1).and_then(|o| nd.get_mut(o + r)) {
                    *x = true;
                }
            }
        }
        nd
    });
    let lay = Layout::new(plan, &offsets, needed.as_deref());
    let mut at = Vec::with_capacity(n);
    let mut w = 0;
    for t in 0..n {
        at.push(w);
        w += lay.width(t);
    }
    let table_of = |col: usize| offsets.iter().rposition(|&o| o <= col).filter(|_| col < width);
    // A column of the combined row in the rows as kept (one past the tables stays past them).
    let to_kept = |i: usize| match table_of(i) {
        Some(t) => lay.at(t, at[t], i - offsets[t]),
        None => w + (i - width.min(i)),
    };
    let whole = |t: usize, filter: Option<Expr>| {
        let def = plan.inputs[t].clone();
        let cols = lay.cols(t);
        async move {
            let rows: Vec<Row> = crate::exec::scan_columns(txn, &def, filter.as_ref(), None, params, cols)
                .await?
                .into_iter()
                .map(|(_, r)| r)
                .collect();
            Ok::<_, crate::error::SqlError>(rows)
        }
    };
    let watched = crate::explain::watching(plan as *const JoinPlan as usize);
    // A first step merging its two tables in key order ([`crate::merge_join`]): not for rows
    // the transaction wrote itself (they are not in the shards' order).
    let shards = orbit_shards::state::local().1;
    // Not when WHERE filters the first table's scan (the merge reads it whole) or the first
    // step is removed.
    let first_merge = crate::merge_join::written_first_step(plan, shards)
        .filter(|_| first.is_none() && !removed.first().copied().unwrap_or(false))
        .filter(|_| plan.inputs.iter().take(2).all(|d| txn.overlay(d).is_none()));
    // A first LEFT step with its nullable side broadcast to the shards ([`crate::dist_left`]):
    // the first table is read there, at the step.
    let left_broadcast = first_merge.is_none()
        && !removed.first().copied().unwrap_or(true)
        && crate::dist_left::first_step_broadcast(plan, first.as_ref(), shards)
        && plan.inputs.first().is_some_and(|d| txn.overlay(d).is_none());
    // The rows of each table read so far, and per joined row so far the index of its row in
    // each of them (FROM order; [`NULLS`]: padded): the steps move indexes, the rows are built
    // once by their reader ([`crate::joined::Joined`]).
    let mut inputs: Vec<Vec<Row>> = vec![Vec::new(); n];
    if n > 0 && first_merge != Some(crate::merge_join::Place::OnShards) && !left_broadcast {
        inputs[0] = whole(0, first.clone()).await?;
    }
    let mut tuples: Vec<usize> = (0..inputs.first().map_or(0, |r| r.len())).collect();
    let mut stride = 1;
    let mut held = crate::memory::Held::new(txn.memory(), "join");
    held.add(tuples.len() * std::mem::size_of::<usize>())?;
    let widths: Vec<usize> = (0..n).map(|t| lay.width(t)).collect();
    let mut sizes = vec![tuples.len() as u64];
    let mut steps = Vec::new();
    let mut looked_up = Vec::new();
    let mut merged = Vec::new();
    for (k, (step, def)) in plan.steps.iter().zip(plan.inputs.iter().skip(1)).enumerate() {
        let t = k + 1;
        if removed[k] {
            // Each row so far comes out once, its match (never read) or its NULLs alike.
            held.add(tuples.len() / stride * std::mem::size_of::<usize>())?;
            tuples = tuples.chunks(stride).flat_map(|tu| tu.iter().copied().chain([NULLS])).collect();
            stride += 1;
            sizes.push(0);
            looked_up.push(false);
            merged.push(None);
            steps.push((tuples.len() / stride) as u64);
            continue;
        }
        if let Some(place) = first_merge.filter(|_| k == 0) {
            let on = ons[k].as_ref().map(|e| remap(e, &to_kept));
            let left = std::mem::take(&mut inputs[0]);
            let (l, r, pairs, read) = merge_first(txn, plan, place, left, &lay, pushed[t].take(), on, params).await?;
            held.add(pairs.len() * std::mem::size_of::<usize>())?;
            (inputs[0], inputs[1], tuples, stride) = (l, r, pairs, 2);
            sizes = read.to_vec();
            looked_up.push(false);
            merged.push(Some(place));
            steps.push((tuples.len() / stride) as u64);
            continue;
        }
        if left_broadcast && k == 0 {
            let right = whole(t, pushed[t].take()).await?;
            let kept = JoinStep {
                kind: step.kind,
                on: ons[k].as_ref().map(|e| remap(e, &to_kept)),
                eq: step.eq.iter().map(|&(l, r)| (to_kept(l), lay.at(t, 0, r))).collect(),
            };
            let read = right.len() as u64;
            let (rows, first_read) = crate::dist_left::first_step(
                txn,
                plan,
                first.as_ref(),
                lay.cols(0),
                right,
                kept,
                (widths[0], widths[1]),
                params,
            )
            .await?;
            // Each joined row split into its two tables' rows (a padded side is NULLs).
            held.add(2 * rows.len() * std::mem::size_of::<usize>())?;
            tuples = (0..rows.len()).flat_map(|i| [i, i]).collect();
            stride = 2;
            (inputs[0], inputs[1]) = rows
                .into_iter()
                .map(|mut r| {
                    let right = r.split_off(widths[0].min(r.len()));
                    (r, right)
                })
                .unzip();
            sizes = vec![first_read as u64, read];
            looked_up.push(false);
            merged.push(None);
            steps.push((tuples.len() / stride) as u64);
            continue;
        }
        merged.push(None);
        // The key columns of the rows so far as kept, and of the table as stored (for its key
        // or index).
        let eq: Vec<(usize, usize)> = step.eq.iter().map(|&(l, r)| (to_kept(l), r)).collect();
        // A column of the rows so far as kept: its table and its place in that table's row.
        let src = |kc: usize| {
            let tt = (0..t).rev().find(|&tt| at[tt] <= kc && kc < at[tt] + widths[tt]).unwrap_or(NULLS);
            (tt, kc.wrapping_sub(at.get(tt).copied().unwrap_or(0)))
        };
        let count = tuples.len() / stride;
        let lookup = if matches!(step.kind, JoinKind::Inner | JoinKind::Left) {
            crate::index_join::path(def, &eq).filter(|l| {
                crate::index_join::cheaper(l, count as f64, crate::stats::TableColumns::new(def).rows, plan.methods)
            })
        } else {
            None
        };
        let right = match &lookup {
            Some(l) => {
                // The rows so far as their lookup key values.
                let from: Vec<(usize, usize)> = l.left.iter().map(|&kc| src(kc)).collect();
                let keys: Vec<Row> = tuples
                    .chunks(stride)
                    .map(|tu| from.iter().map(|&(tt, c)| value(&inputs, tu, tt, c).clone()).collect())
                    .collect();
                let by =
                    crate::index_join::Lookup { via: l.via, left: (0..l.left.len()).collect(), right: l.right.clone() };
                crate::index_join::rows(txn, def, &by, &keys, pushed[t].as_ref(), params, lay.cols(t)).await?
            }
            None => whole(t, pushed[t].take()).await?,
        };
        sizes.push(right.len() as u64);
        looked_up.push(lookup.is_some());
        let kept = TupleStep {
            kind: step.kind,
            on: without_keys(ons[k].as_ref(), &step.eq, offsets[t]).map(|e| remap(&e, &to_kept)),
            left_key: eq.iter().map(|&(l, _)| src(l)).collect(),
            right_key: eq.iter().map(|&(_, r)| lay.at(t, 0, r)).collect(),
        };
        tuples = join_tuples(txn, &kept, &inputs[..t], &widths, &tuples, &right, params, &mut held)?;
        inputs[t] = right;
        stride += 1;
        steps.push((tuples.len() / stride) as u64);
    }
    if watched {
        crate::explain::note_join(plan as *const JoinPlan as usize, sizes, (0..plan.inputs.len()).collect(), steps);
        crate::explain::note_lookups(plan as *const JoinPlan as usize, looked_up);
        crate::explain::note_merges(plan as *const JoinPlan as usize, merged);
    }
    let joined = crate::joined::Joined::new(inputs, widths, tuples, (0..n).collect()).holding(held);
    Ok((joined, lay.kept_map(&offsets, width)))
}

/// Column `c` of table `tt`'s row in the joined row `tu` (NULL where the row is padded).
fn value<'r>(inputs: &'r [Vec<Row>], tu: &[usize], tt: usize, c: usize) -> &'r Datum {
    const NULL: &Datum = &Datum::Null;
    inputs.get(tt).and_then(|rows| rows.get(tu[tt])).and_then(|r| r.get(c)).unwrap_or(NULL)
}

/// A join step in written order over joined rows held as indexes ([`join_tuples`]).
struct TupleStep {
    kind: JoinKind,
    /// Over the joined row so far and the new table's row side by side (their kept columns).
    on: Option<Expr>,
    /// The equality columns: of the rows so far (table, column), and of the new table's rows.
    left_key: Vec<(usize, usize)>,
    right_key: Vec<usize>,
}

/// One join step: the joined rows so far (`tuples`, an index into each of `inputs` per row,
/// tables in FROM order; `widths` their kept columns) joined with `right`, the new table's
/// rows. The new joined rows, each with the index of its `right` row appended. The indexes are
/// charged to `held`, the hash table to the statement's memory (53200 past the limit); a cancel
/// request or `statement_timeout` stops it.
#[allow(clippy::too_many_arguments)]
fn join_tuples(
    txn: &Txn,
    step: &TupleStep,
    inputs: &[Vec<Row>],
    widths: &[usize],
    tuples: &[usize],
    right: &[Row],
    params: &[Datum],
    held: &mut crate::memory::Held,
) -> Result<Vec<usize>> {
    let stride = inputs.len();
    let mut built = Built::new(txn);
    let mut out: Vec<usize> = Vec::new();
    let mut right_matched = vec![false; right.len()];
    let index = (!step.right_key.is_empty()).then(|| crate::join_key::Buckets::build(right, &step.right_key));
    let mut table = crate::memory::Held::hash(txn.memory(), "hash join build table");
    if let Some(b) = &index {
        table.add(b.bytes())?;
    }
    let one = (stride + 1) * std::mem::size_of::<usize>();
    let mut vals: Vec<&Datum> = Vec::with_capacity(step.left_key.len());
    let mut combined: Row = Vec::new();
    for tu in tuples.chunks(stride.max(1)) {
        let candidates = match &index {
            Some(b) => {
                vals.clear();
                vals.extend(step.left_key.iter().map(|&(tt, c)| value(inputs, tu, tt, c)));
                match crate::join_key::of_values(&vals) {
                    Some(key) => Candidates::Key(b.get(&key)),
                    None => Candidates::Key(b.none()),
                }
            }
            None => Candidates::All(0..right.len()),
        };
        let mut matched = false;
        for j in candidates {
            built.pair(txn)?;
            if let Some(on) = &step.on {
                combined.clear();
                for (tt, &w) in widths.iter().enumerate().take(stride) {
                    let start = combined.len();
                    if let Some(r) = inputs[tt].get(tu[tt]) {
                        combined.extend(r.iter().take(w).cloned());
                    }
                    combined.resize(start + w, Datum::Null);
                }
                combined.extend_from_slice(&right[j]);
                if expr::truth(expr::eval(on, &Ctx { row: &combined, params, aggs: &[] })?) != Some(true) {
                    continue;
                }
            }
            matched = true;
            right_matched[j] = true;
            held.add(one)?;
            out.extend_from_slice(tu);
            out.push(j);
        }
        if !matched && matches!(step.kind, JoinKind::Left | JoinKind::Full) {
            held.add(one)?;
            out.extend_from_slice(tu);
            out.push(NULLS);
        }
    }
    if matches!(step.kind, JoinKind::Right | JoinKind::Full) {
        for (j, _) in right_matched.iter().enumerate().filter(|(_, m)| !**m) {
            held.add(one)?;
            out.extend(std::iter::repeat_n(NULLS, stride));
            out.push(j);
        }
    }
    Ok(out)
}

/// A hash join step's ON (`on`, over the combined row) without its conjuncts that are the
/// step's own key equalities (`eq`: a column so far, a column of the new table whose row starts
/// at `lo`) of types whose join keys are equal exactly when `=` is true (integers, text,
/// character(n) without its padding, and any type with itself but floats and json): the
/// buckets a row so far probes hold only the rows equal to it on them ([`crate::join_key`]), so
/// checking them again per pair only builds the pair to find it true (TPC-H Q13: every one of
/// 15k pairs). The reordered inner joins leave them out the same way ([`rows_where`]).
fn without_keys(on: Option<&Expr>, eq: &[(usize, usize)], lo: usize) -> Option<Expr> {
    use orbit_engine::table::SqlType;
    let on = on?;
    let exact = |a: SqlType, b: SqlType| {
        (a.is_integer() && b.is_integer())
            || (matches!(a, SqlType::Text | SqlType::Varchar(_)) && matches!(b, SqlType::Text | SqlType::Varchar(_)))
            || (matches!(a, SqlType::Bpchar(_)) && matches!(b, SqlType::Bpchar(_)))
            || (a == b && !a.is_float() && !matches!(a, SqlType::Json | SqlType::Jsonb))
    };
    let mut parts = Vec::new();
    conjuncts(on, &mut parts);
    parts.retain(|p| {
        let Expr::Cmp(crate::expr::CmpOp::Eq, a, b) = p else { return true };
        let (Expr::Column(x, tx), Expr::Column(y, ty)) = (a.as_ref(), b.as_ref()) else { return true };
        let key = |l: usize, r: usize| r >= lo && eq.contains(&(l, r - lo));
        !(exact(*tx, *ty) && (key(*x, *y) || key(*y, *x)))
    });
    and_all(parts)
}

/// Step `k` of a join in written order split into the parts of its ON that read only its new
/// table (over that table's row; they filter its scan, for an inner or left step) and the rest.
pub(crate) fn pushed_down(plan: &JoinPlan, k: usize) -> (Option<Expr>, Option<Expr>) {
    let Some(step) = plan.steps.get(k) else { return (None, None) };
    let t = k + 1;
    let lo: usize = plan.inputs.iter().take(t).map(|d| d.row_len()).sum();
    let hi = lo + plan.inputs.get(t).map_or(0, |d| d.row_len());
    let (mut local, mut rest) = (Vec::new(), Vec::new());
    if let Some(on) = &step.on {
        let mut parts = Vec::new();
        conjuncts(on, &mut parts);
        for p in parts {
            let (mut any, mut only_t) = (false, true);
            p.visit_columns(&mut |c| {
                any = true;
                only_t &= (lo..hi).contains(&c);
            });
            if any && only_t && matches!(step.kind, JoinKind::Inner | JoinKind::Left) {
                local.push(remap(&p, &|i| i - lo));
            } else {
                rest.push(p);
            }
        }
    }
    (and_all(local), and_all(rest))
}

/// The first step of a join in written order merged in key order ([`crate::merge_join`]):
/// `left` (the first table's rows as kept, in key order; read here when on the shards) with
/// the second table's rows that pass `pushed`, on the step's ON (`on`, over the rows as kept).
/// The two tables' rows, the joined rows as a pair of indexes into them each ([`NULLS`]:
/// padded), and the rows each table had.
#[allow(clippy::too_many_arguments)]
async fn merge_first(
    txn: &Txn,
    plan: &JoinPlan,
    place: crate::merge_join::Place,
    left: Vec<Row>,
    lay: &Layout,
    pushed: Option<Expr>,
    on: Option<Expr>,
    params: &[Datum],
) -> Result<(Vec<Row>, Vec<Row>, Vec<usize>, [u64; 2])> {
    let (step, a, b) = (&plan.steps[0], &plan.inputs[0], &plan.inputs[1]);
    let key = crate::merge_join::key(a, b, &step.eq).ok_or_else(|| crate::error::SqlError::internal("no merge key"))?;
    let (lw, rw) = (lay.width(0), lay.width(1));
    match place {
        crate::merge_join::Place::OnShards => {
            let co = crate::dist_join::CoJoin {
                filters: [None, pushed],
                cols: [lay.cols(0), lay.cols(1)],
                left_keys: key.iter().map(|&(l, _)| lay.at(0, 0, l)).collect(),
                right_keys: key.iter().map(|&(_, r)| r).collect(),
                on,
                params: params.to_vec(),
                merge: Some(step.kind),
                widths: [lw, rw],
            };
            let (pairs, read) = crate::exec::colocated_scan(txn, a, b, Arc::new(co)).await?;
            // A padded side comes as an empty row: it builds as NULLs.
            let tuples = (0..pairs.len()).flat_map(|i| [i, i]).collect();
            let (ls, rs) = pairs.into_iter().unzip();
            Ok((ls, rs, tuples, [read[0] as u64, read[1] as u64]))
        }
        crate::merge_join::Place::Coordinator => {
            let right: Vec<Row> = crate::exec::scan_columns(txn, b, pushed.as_ref(), None, params, lay.cols(1))
                .await?
                .into_iter()
                .map(|(_, r)| r)
                .collect();
            let kept: Vec<(usize, usize)> = key.iter().map(|&(l, r)| (lay.at(0, 0, l), lay.at(1, 0, r))).collect();
            let mut held = crate::memory::Held::new(txn.memory(), "join");
            let mut tuples = Vec::new();
            crate::merge_join::coordinator(txn, &left, &right, &kept, &[], on.as_ref(), step.kind, lw, params, |o| {
                let pair = match o {
                    crate::merge_join::Out::Pair(i, j) => [i, j],
                    crate::merge_join::Out::Left(i) => [i, NULLS],
                    crate::merge_join::Out::Right(j) => [NULLS, j],
                };
                held.add(2 * std::mem::size_of::<usize>())?;
                tuples.extend(pair);
                Ok(())
            })?;
            let read = [left.len() as u64, right.len() as u64];
            Ok((left, right, tuples, read))
        }
    }
}

/// A join step's candidate rows of its table for one row so far: those of its key, or all.
enum Candidates<'b> {
    Key(crate::join_key::Chain<'b>),
    All(std::ops::Range<usize>),
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            Candidates::Key(c) => c.next(),
            Candidates::All(r) => r.next(),
        }
    }
}

/// Splits a condition into its AND-ed parts. An OR whose every branch has a part in common
/// gives that part too (`(a AND x) OR (a AND y)` is `a AND (x OR y)`, as PostgreSQL's planner
/// rewrites it), so a join condition repeated in each branch can still drive the join.
pub(crate) fn conjuncts(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::And(a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        Expr::Or(..) => {
            fn arms(e: &Expr, out: &mut Vec<Expr>) {
                match e {
                    Expr::Or(a, b) => {
                        arms(a, out);
                        arms(b, out);
                    }
                    other => out.push(other.clone()),
                }
            }
            let mut branches = Vec::new();
            arms(e, &mut branches);
            let parts: Vec<Vec<Expr>> = branches
                .iter()
                .map(|b| {
                    let mut p = Vec::new();
                    conjuncts(b, &mut p);
                    p
                })
                .collect();
            let text = |e: &Expr| format!("{e:?}");
            let common: Vec<Expr> = parts[0]
                .iter()
                .filter(|c| parts[1..].iter().all(|p| p.iter().any(|x| text(x) == text(c))))
                .cloned()
                .collect();
            if common.is_empty() {
                out.push(e.clone());
                return;
            }
            let common_text: Vec<String> = common.iter().map(text).collect();
            let mut rest = Vec::new();
            for p in parts {
                let left: Vec<Expr> = p.into_iter().filter(|x| !common_text.contains(&text(x))).collect();
                match and_all(left) {
                    // A branch that is only the common part: the OR is true whenever it is.
                    None => {
                        out.extend(common);
                        return;
                    }
                    Some(b) => rest.push(b),
                }
            }
            out.extend(common);
            if let Some(first) = rest.pop() {
                out.push(rest.into_iter().rev().fold(first, |acc, b| Expr::Or(Box::new(b), Box::new(acc))));
            }
        }
        other => out.push(other.clone()),
    }
}

/// `e` with every column `i` read as column `f(i)`.
fn remap(e: &Expr, f: &dyn Fn(usize) -> usize) -> Expr {
    fn walk(e: &mut Expr, f: &dyn Fn(usize) -> usize) {
        if let Expr::Column(i, _) = e {
            *i = f(*i);
            return;
        }
        for c in e.children_mut() {
            walk(c, f);
        }
    }
    let mut e = e.clone();
    walk(&mut e, f);
    e
}

fn and_all(mut es: Vec<Expr>) -> Option<Expr> {
    let first = es.pop()?;
    Some(es.into_iter().rev().fold(first, |acc, e| Expr::And(Box::new(e), Box::new(acc))))
}

/// Whether an equality of two columns of these types can be a hash key (their values encode
/// alike when equal, as [`crate::join_key`] keys them).
pub(crate) fn hashable(a: orbit_engine::table::SqlType, b: orbit_engine::table::SqlType) -> bool {
    (a.is_integer() && b.is_integer())
        || (a.is_float() && b.is_float())
        || (a.is_string() && b.is_string())
        || a.same_key_type(b)
}

/// A join's conditions sorted by what they read ([`split`]), in terms of the combined row.
pub(crate) struct Split {
    /// Where each table's row starts in the combined row, and the combined width.
    pub offsets: Vec<usize>,
    pub width: usize,
    /// Per table, the conditions on it alone (over the table's own row).
    pub local: Vec<Vec<Expr>>,
    /// Conditions over several tables, with the tables they read.
    pub multi: Vec<(Expr, Vec<usize>)>,
    /// Conditions for the joined rows (no column, or a column beyond the tables).
    pub last: Vec<Expr>,
    /// The plan's switches (`enable_hashjoin`, `enable_nestloop`).
    pub methods: crate::index_join::Methods,
}

impl Split {
    /// The table a column of the combined row belongs to.
    pub fn table_of(&self, col: usize) -> Option<usize> {
        self.offsets.iter().rposition(|&o| o <= col).filter(|_| col < self.width)
    }

    /// `(table a, column of a, table b, column of b)` when condition `j` is an equality of two
    /// columns of different tables whose values hash alike.
    pub fn equality(&self, j: usize) -> Option<(usize, usize, usize, usize)> {
        if let Expr::Cmp(crate::expr::CmpOp::Eq, a, b) = &self.multi[j].0 {
            if let (Expr::Column(x, tx), Expr::Column(y, ty)) = (a.as_ref(), b.as_ref()) {
                let (ta, tb) = (self.table_of(*x)?, self.table_of(*y)?);
                if ta != tb && hashable(*tx, *ty) {
                    return Some((ta, x - self.offsets[ta], tb, y - self.offsets[tb]));
                }
            }
        }
        None
    }
}

/// Key reduction ([`rows_where`]): a table not read yet is read with the keys of the rows so
/// far when they are at most this fraction of its (estimated) rows.
const REDUCE_RATIO: f64 = 4.0;

/// Whether every join of `plan` is inner (or cross), so WHERE and ON are one set of conditions
/// the planner may reorder.
pub(crate) fn reorderable(plan: &JoinPlan) -> bool {
    (2..=MAX_REORDER_TABLES).contains(&plan.inputs.len())
        && plan.steps.iter().all(|s| matches!(s.kind, JoinKind::Inner | JoinKind::Cross))
}

/// Tables the planner reorders at most (sets of tables are bit masks of a u64); a longer FROM
/// list is joined in its written order.
pub const MAX_REORDER_TABLES: usize = 64;

/// WHERE and ON of an inner join split into their AND-ed parts, each by the tables it reads.
pub(crate) fn split(plan: &JoinPlan, filter: Option<&Expr>) -> Split {
    let n = plan.inputs.len();
    let mut offsets = Vec::with_capacity(n);
    let mut width = 0;
    for t in &plan.inputs {
        offsets.push(width);
        width += t.row_len();
    }
    let mut sp = Split {
        offsets,
        width,
        local: vec![Vec::new(); n],
        multi: Vec::new(),
        last: Vec::new(),
        methods: plan.methods,
    };
    let mut parts = Vec::new();
    if let Some(f) = filter {
        conjuncts(f, &mut parts);
    }
    for s in &plan.steps {
        if let Some(on) = &s.on {
            conjuncts(on, &mut parts);
        }
    }
    for p in parts {
        let mut tables: Vec<usize> = Vec::new();
        let mut outside = false;
        p.visit_columns(&mut |c| match sp.table_of(c) {
            Some(t) => {
                if !tables.contains(&t) {
                    tables.push(t);
                }
            }
            None => outside = true,
        });
        match (outside, tables.as_slice()) {
            (false, [t]) => {
                let off = sp.offsets[*t];
                sp.local[*t].push(remap(&p, &|i| i - off));
            }
            (false, ts) if ts.len() > 1 => {
                // An OR over several tables implies, for each table every branch restricts, the
                // OR of those restrictions (PostgreSQL's extract_restriction_or_clauses): that
                // filters the table's scan, and the OR itself still runs at the join.
                if matches!(p, Expr::Or(..)) {
                    for &t in &tables {
                        if let Some(r) = or_restriction(&p, &|c| sp.table_of(c) == Some(t)) {
                            let off = sp.offsets[t];
                            sp.local[t].push(remap(&r, &|i| i - off));
                        }
                    }
                }
                sp.multi.push((uncast_equality(p), tables))
            }
            _ => sp.last.push(p),
        }
    }
    sp
}

/// An equality of two integer columns, one widened to the other's type by a cast (the binder
/// writes `int4_col = int8_col` as `int4_col::int8 = int8_col`), as the equality of the columns
/// themselves, so that it can be a hash key: widening is exact, integers compare by value
/// whatever their width, and their hash keys are their `i64` ([`crate::join_key`]).
fn uncast_equality(p: Expr) -> Expr {
    fn width(t: orbit_engine::table::SqlType) -> u8 {
        use orbit_engine::table::SqlType;
        match t {
            SqlType::Int2 => 2,
            SqlType::Int4 => 4,
            _ => 8,
        }
    }
    fn column(e: &Expr) -> Option<Expr> {
        match e {
            Expr::Column(..) => Some(e.clone()),
            Expr::Cast(inner, to, _) => match inner.as_ref() {
                Expr::Column(_, from) if from.is_integer() && to.is_integer() && width(*to) >= width(*from) => {
                    Some((**inner).clone())
                }
                _ => None,
            },
            _ => None,
        }
    }
    if let Expr::Cmp(crate::expr::CmpOp::Eq, a, b) = &p {
        if matches!(a.as_ref(), Expr::Cast(..)) || matches!(b.as_ref(), Expr::Cast(..)) {
            if let (Some(x), Some(y)) = (column(a), column(b)) {
                return Expr::Cmp(crate::expr::CmpOp::Eq, Box::new(x), Box::new(y));
            }
        }
    }
    p
}

/// What an OR implies for the columns `mine` accepts: the OR of each branch's AND-ed parts that
/// read only such columns, if every branch has some (None otherwise).
fn or_restriction(e: &Expr, mine: &dyn Fn(usize) -> bool) -> Option<Expr> {
    fn arms<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        match e {
            Expr::Or(a, b) => {
                arms(a, out);
                arms(b, out);
            }
            other => out.push(other),
        }
    }
    let mut branches = Vec::new();
    arms(e, &mut branches);
    let mut implied = Vec::with_capacity(branches.len());
    for b in branches {
        let mut parts = Vec::new();
        conjuncts(b, &mut parts);
        let kept: Vec<Expr> = parts
            .into_iter()
            .filter(|p| {
                let (mut any, mut all) = (false, true);
                p.visit_columns(&mut |c| {
                    any = true;
                    all &= mine(c);
                });
                any && all
            })
            .collect();
        implied.push(and_all(kept)?);
    }
    let first = implied.pop()?;
    Some(implied.into_iter().rev().fold(first, |acc, b| Expr::Or(Box::new(b), Box::new(acc))))
}

/// Tables up to which the join order is chosen by dynamic programming over every subset
/// (PostgreSQL searches exhaustively below `geqo_threshold`, 12); above it, greedily.
pub const DP_MAX_TABLES: usize = 10;

/// The rows a set of tables (a bit mask) joins to, estimated: the product of their `sizes` and
/// of the selectivities of the conditions among them (an equality of columns PostgreSQL's
/// `eqjoinsel`, 1/max(distinct values); others its defaults).
fn set_rows(sp: &Split, cols: &[crate::stats::TableColumns], sizes: &[f64], mask: usize) -> f64 {
    let mut rows: f64 = (0..sizes.len()).filter(|t| mask & (1 << t) != 0).map(|t| sizes[t]).product();
    for (j, (p, ts)) in sp.multi.iter().enumerate() {
        if !ts.iter().all(|t| mask & (1 << t) != 0) {
            continue;
        }
        rows *= match sp.equality(j) {
            Some((ta, ca, tb, cb)) => {
                use crate::stats::Columns;
                let info = |t: usize, c: usize| {
                    cols[t].column(c).map(|mut i| {
                        i.rows = sizes[t];
                        i
                    })
                };
                match (info(ta, ca), info(tb, cb)) {
                    (Some(a), Some(b)) => crate::stats::join_eq_selectivity(&a, &b),
                    _ => crate::stats::DEFAULT_EQ_SEL,
                }
            }
            None if matches!(p, Expr::Cmp(crate::expr::CmpOp::Eq, ..)) => crate::stats::DEFAULT_EQ_SEL,
            None => crate::stats::DEFAULT_INEQ_SEL,
        };
    }
    rows
}

/// The rows the tables in `mask` (a bit per input) are estimated to join to.
pub(crate) fn estimated_rows(sp: &Split, cols: &[crate::stats::TableColumns], sizes: &[f64], mask: usize) -> f64 {
    set_rows(sp, cols, sizes, mask)
}

/// Whether a hash key joins table `t` to the tables in `mask`.
fn hash_joined(sp: &Split, mask: usize, t: usize) -> bool {
    (0..sp.multi.len()).any(|j| match sp.equality(j) {
        Some((a, _, b, _)) => (a == t && mask & (1 << b) != 0) || (b == t && mask & (1 << a) != 0),
        None => false,
    })
}

/// The work of reading table `t` whole: its rows, unless it was read already (`scanned`, a bit
/// per table).
fn read_work(cols: &[crate::stats::TableColumns], sizes: &[f64], scanned: usize, t: usize) -> f64 {
    if scanned & (1 << t) != 0 {
        0.0
    } else {
        cols[t].rows.max(sizes[t])
    }
}

/// The work of joining table `t` to the tables in `mask` (`rows_before` rows so far, `rows_after`
/// joined), and whether it is by lookups ([`crate::index_join`]): the cheaper of a hash join
/// (or nested loop) over the whole table, read unless it was (`scanned`), and lookups by key
/// of each row so far.
#[allow(clippy::too_many_arguments)]
pub(crate) fn step_work(
    sp: &Split,
    cols: &[crate::stats::TableColumns],
    sizes: &[f64],
    scanned: usize,
    mask: usize,
    t: usize,
    rows_before: f64,
    rows_after: f64,
) -> (f64, bool) {
    // A switched-off method costs PostgreSQL's disable_cost more: the order of the steps
    // avoids it where another order can (crate::index_join::Methods).
    let hashed = hash_joined(sp, mask, t);
    let work = if hashed { rows_before + sizes[t] } else { rows_before * sizes[t] };
    let off = |enabled: bool| if enabled { 0.0 } else { crate::index_join::DISABLE_COST };
    let hash = read_work(cols, sizes, scanned, t)
        + work
        + rows_after
        + if hashed { off(sp.methods.hash) } else { off(sp.methods.nestloop) };
    match crate::index_join::lookup_work(sp, cols, mask, t, rows_before, rows_after, scanned) {
        Some(l) if l + off(sp.methods.nestloop) < hash => (l + off(sp.methods.nestloop), true),
        _ => (hash, false),
    }
}

/// Per step of `order` (after its first table), whether it looks its table up by key, with the
/// estimated rows so far.
pub(crate) fn lookups(
    sp: &Split,
    cols: &[crate::stats::TableColumns],
    sizes: &[f64],
    scanned: usize,
    order: &[usize],
) -> Vec<bool> {
    let mut mask = 0usize;
    let mut out = Vec::with_capacity(order.len().saturating_sub(1));
    for (k, &t) in order.iter().enumerate() {
        if k > 0 {
            let (before, after) = (set_rows(sp, cols, sizes, mask), set_rows(sp, cols, sizes, mask | (1 << t)));
            out.push(step_work(sp, cols, sizes, scanned, mask, t, before, after).1);
        }
        mask |= 1 << t;
    }
    out
}

/// Per step of `order` (after its first table), where it runs ([`crate::dist_join`]), from the
/// estimated `sizes` and whether it looks its table up by key (`lookups`: then on the
/// coordinator): co-located for a first step whose hash keys are both tables' primary keys,
/// else broadcast where [`crate::dist_join::choose`] finds it cheaper for a hash-joined table
/// the shards scan whole. The executor decides a broadcast again with the rows it has.
pub(crate) fn distributions(
    plan: &JoinPlan,
    sp: &Split,
    cols: &[crate::stats::TableColumns],
    sizes: &[f64],
    order: &[usize],
    lookups: &[bool],
    shards: usize,
) -> Vec<Distribution> {
    let mut out = Vec::with_capacity(order.len().saturating_sub(1));
    if shards < 2 {
        return vec![Distribution::Coordinator; order.len().saturating_sub(1)];
    }
    let scannable = |t: usize| {
        let local = and_all(sp.local[t].clone());
        crate::exec::scanned_on_shards(&plan.inputs[t], local.as_ref())
    };
    let mut mask = 0usize;
    for (k, &t) in order.iter().enumerate() {
        if k > 0 {
            let lookup = lookups.get(k - 1).copied().unwrap_or(false);
            let d = if lookup || !hash_joined(sp, mask, t) {
                Distribution::Coordinator
            } else if k == 1 && scannable(order[0]) && scannable(t) && {
                let a = order[0];
                let eq: Vec<(usize, usize)> = (0..sp.multi.len())
                    .filter_map(|j| match sp.equality(j)? {
                        (x, cx, y, cy) if x == a && y == t => Some((cx, cy)),
                        (x, cx, y, cy) if x == t && y == a => Some((cy, cx)),
                        _ => None,
                    })
                    .collect();
                crate::dist_join::colocated(&plan.inputs[a], &plan.inputs[t], &eq)
            } {
                Distribution::CoLocated
            } else {
                let (before, after) = (set_rows(sp, cols, sizes, mask), set_rows(sp, cols, sizes, mask | (1 << t)));
                let reduced = before * REDUCE_RATIO <= sizes[t];
                let right: Vec<usize> = crate::index_join::equalities(sp, mask, t).iter().map(|&(_, r)| r).collect();
                let partitioned = crate::dist_join::partitioned_on(&plan.inputs[t], &right).is_some();
                crate::dist_join::choose(shards, before, sizes[t], reduced, after, scannable(t), partitioned)
            };
            out.push(d);
        }
        mask |= 1 << t;
    }
    out
}

/// The order to join the tables in, given their (filtered) row counts: the left-deep order
/// with the least work, counted as the rows each step reads and builds (a step without a hash
/// key compares every pair; a table not yet read, `scanned` a bit per table, costs its rows,
/// unless looking its rows up by key costs less: [`step_work`]). Exhaustive up to [`DP_MAX_TABLES`] tables, else greedy (the
/// smallest table first, then the table that keeps the rows so far smallest, connected
/// tables first).
pub(crate) fn order(sp: &Split, cols: &[crate::stats::TableColumns], sizes: &[f64], scanned: usize) -> Vec<usize> {
    let n = sizes.len();
    let step_cost = |mask: usize, t: usize, rows_before: f64, rows_after: f64| {
        step_work(sp, cols, sizes, scanned, mask, t, rows_before, rows_after).0
    };
    if n <= DP_MAX_TABLES {
        let full = (1usize << n) - 1;
        let rows: Vec<f64> = (0..=full).map(|m| set_rows(sp, cols, sizes, m)).collect();
        // best[mask]: (cost, order) of the cheapest left-deep join of exactly those tables.
        let mut best: Vec<Option<(f64, Vec<usize>)>> = vec![None; full + 1];
        for t in 0..n {
            best[1 << t] = Some((read_work(cols, sizes, scanned, t), vec![t]));
        }
        for mask in 1..=full {
            let Some((cost, ord)) = best[mask].clone() else { continue };
            for t in 0..n {
                if mask & (1 << t) != 0 {
                    continue;
                }
                let next = mask | (1 << t);
                let c = cost + step_cost(mask, t, rows[mask], rows[next]);
                let better = match &best[next] {
                    None => true,
                    Some((bc, bo)) => {
                        c < *bc * (1.0 - 1e-9)
                            || (c <= *bc * (1.0 + 1e-9) && {
                                let mut o = ord.clone();
                                o.push(t);
                                o < *bo
                            })
                    }
                };
                if better {
                    let mut o = ord.clone();
                    o.push(t);
                    best[next] = Some((c, o));
                }
            }
        }
        return best[full].take().map(|b| b.1).unwrap_or_else(|| (0..n).collect());
    }
    let mut ord: Vec<usize> = Vec::with_capacity(n);
    let first = (0..n).min_by(|&a, &b| sizes[a].total_cmp(&sizes[b]).then(a.cmp(&b))).unwrap_or(0);
    ord.push(first);
    let mut mask = 1usize << first;
    while ord.len() < n {
        let remaining: Vec<usize> = (0..n).filter(|t| mask & (1 << t) == 0).collect();
        let connected: Vec<usize> = remaining.iter().copied().filter(|&t| hash_joined(sp, mask, t)).collect();
        let pool = if connected.is_empty() { remaining } else { connected };
        let next = pool
            .into_iter()
            .min_by(|&a, &b| {
                let ra = set_rows(sp, cols, sizes, mask | (1 << a));
                let rb = set_rows(sp, cols, sizes, mask | (1 << b));
                ra.total_cmp(&rb).then(a.cmp(&b))
            })
            .expect("a table remains");
        ord.push(next);
        mask |= 1 << next;
    }
    ord
}

/// The rows each input is estimated to keep after its own conditions, before it is read.
pub(crate) fn estimated_sizes(
    plan: &JoinPlan,
    sp: &Split,
    cols: &[crate::stats::TableColumns],
    params: &[Datum],
) -> Vec<f64> {
    (0..plan.inputs.len())
        .map(|t| {
            let sel = and_all(sp.local[t].clone()).map_or(1.0, |f| crate::stats::selectivity(&cols[t], &f, params));
            (cols[t].rows * sel).max(1.0)
        })
        .collect()
}

/// The rows of `def` that pass `filter`, read whole (through its key or an index where the
/// filter allows), cut to the columns `cols`.
async fn read_whole(
    txn: &Txn,
    def: &Arc<TableDef>,
    filter: Option<Expr>,
    params: &[Datum],
    cols: Option<Arc<[usize]>>,
    reduce: Option<Arc<crate::join_key::Reduce>>,
) -> Result<Vec<Row>> {
    let key = filter.as_ref().and_then(|f| crate::bind::pk_lookup(f, def));
    let rows = crate::exec::scan_reduced(txn, def, filter.as_ref(), key.as_deref(), params, cols, reduce).await?;
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

/// The joined rows of `plan` that pass `filter` (over the combined row), as `txn` sees the
/// tables.
///
/// For joins that are all inner (or cross), WHERE and ON are one set of conditions, so they are
/// split into their AND-ed parts and each part runs as early as it can: a part that reads one
/// table filters that table's scan on the shards (where a key or index lookup can serve it), a
/// part that reads several tables runs at the join step where the last of them arrives, and an
/// equality between a column of the rows so far and one of the arriving table is a hash-join
/// key. The tables are read smallest estimated first ([`crate::stats`]); once read, their row
/// counts are known and [`order`] picks the join order with the least estimated work (exhaustive
/// over left-deep orders up to [`DP_MAX_TABLES`] tables; join sizes from the columns' distinct
/// counts), so a FROM list with its join conditions in WHERE never builds a cross product it
/// does not need. The rows
/// come out laid out in FROM order, as the binder sees them. Joins with an outer join keep their
/// written order (the conditions of an outer join cannot move across it).
pub async fn rows_where(txn: &Txn, plan: &JoinPlan, filter: Option<&Expr>, params: &[Datum]) -> Result<Vec<Row>> {
    let mut held = crate::memory::Held::new(txn.memory(), "join");
    let rows = rows_where_reading(txn, plan, filter, params, None).await?.0.rows(&mut held)?;
    held.keep();
    Ok(rows)
}

/// WHERE of a join kept in its written order, split into the part over the first table alone,
/// which filters that table's scan (on the shards, by its key or an index where they serve it),
/// and the rest, checked on the joined rows. Only while no RIGHT or FULL step pads the first
/// table's columns with NULLs (a padded row would fail the pushed part after the join but never
/// reach it before); LEFT, inner and cross steps keep or drop a first-table row whole, so the
/// part filters it the same before the join as after (PostgreSQL pushes it down the same way).
pub(crate) fn first_table_filter(plan: &JoinPlan, filter: Option<&Expr>) -> (Option<Expr>, Option<Expr>) {
    let Some(f) = filter else { return (None, None) };
    let first_width = plan.inputs.first().map_or(0, |t| t.row_len());
    if plan.steps.iter().any(|s| matches!(s.kind, JoinKind::Right | JoinKind::Full)) || first_width == 0 {
        return (None, Some(f.clone()));
    }
    let mut parts = Vec::new();
    conjuncts(f, &mut parts);
    let (mut first, mut rest) = (Vec::new(), Vec::new());
    for p in parts {
        let (mut any, mut only_first) = (false, true);
        p.visit_columns(&mut |c| {
            any = true;
            only_first &= c < first_width;
        });
        if any && only_first {
            first.push(p);
        } else {
            rest.push(p);
        }
    }
    (and_all(first), and_all(rest))
}

/// [`rows_where`], reading only the columns `needed` marks (over the combined row in FROM
/// order; None: all) besides those the join's own conditions read: the shards do not send the
/// others, and the rows returned hold each table's kept columns side by side, column `i` of the
/// combined row at `map[i]` of the map returned (`usize::MAX`: not kept); None: the rows are the
/// combined row. [`columns_read`] gives a SELECT's columns, [`kept_columns`] moves its
/// expressions onto the rows.
pub(crate) async fn rows_where_reading(
    txn: &Txn,
    plan: &JoinPlan,
    filter: Option<&Expr>,
    params: &[Datum],
    needed: Option<&[bool]>,
) -> Result<(crate::joined::Joined, Option<Vec<usize>>)> {
    let inner_only = reorderable(plan);
    if !inner_only || plan.inputs.len() < 2 {
        let (first, rest) = first_table_filter(plan, filter);
        let needed = needed.map(|nd| {
            let mut nd = nd.to_vec();
            if let Some(f) = &rest {
                mark(f, &mut nd);
            }
            nd
        });
        let (joined, map) = rows_reading_first(txn, plan, params, needed.as_deref(), first).await?;
        let rest = rest.map(|rest| match &map {
            Some(m) => remap(&rest, &|i| m.get(i).copied().unwrap_or(i)),
            None => rest,
        });
        return Ok((joined.filtered(rest, params), map));
    }
    let n = plan.inputs.len();
    let sp = split(plan, filter);
    let (offsets, width) = (sp.offsets.clone(), sp.width);
    let table_of = |col: usize| offsets.iter().rposition(|&o| o <= col).filter(|_| col < width);
    // The columns read after the join, or by a condition over several tables.
    let needed: Option<Vec<bool>> = needed.map(|nd| {
        let mut nd = nd.to_vec();
        nd.resize(width, true);
        for (p, _) in &sp.multi {
            mark(p, &mut nd);
        }
        for p in &sp.last {
            mark(p, &mut nd);
        }
        nd
    });
    let lay = Layout::new(plan, &offsets, needed.as_deref());
    let cols: Vec<crate::stats::TableColumns> =
        plan.inputs.iter().map(|d| crate::stats::TableColumns::new(d)).collect();
    // The tables the plan from the estimates looks up by key are not read whole (unless the
    // executor decides otherwise below, with the rows it has).
    let estimates = estimated_sizes(plan, &sp, &cols, params);
    let planned = order(&sp, &cols, &estimates, 0);
    let mut deferred = vec![false; n];
    let planned_lookups = lookups(&sp, &cols, &estimates, 0, &planned);
    for (k, &lk) in planned_lookups.iter().enumerate() {
        deferred[planned[k + 1]] = lk;
    }
    // Where each step runs ([`crate::dist_join`]): a step broadcast to the shards reads its
    // table there, at its step.
    let shards = orbit_shards::state::local().1;
    let planned_dist = distributions(plan, &sp, &cols, &estimates, &planned, &planned_lookups, shards);
    // Nor is a table hash-joined to tables whose joined rows are estimated few next to it: it
    // is read at its step with their keys (key reduction, below).
    let mut mask = 1usize << planned[0];
    for (k, &t) in planned[1..].iter().enumerate() {
        if hash_joined(&sp, mask, t)
            && (set_rows(&sp, &cols, &estimates, mask) * REDUCE_RATIO <= estimates[t]
                || planned_dist[k].reads_at_step())
        {
            deferred[t] = true;
        }
        mask |= 1 << t;
    }
    // A first step that merges its two tables in key order ([`crate::merge_join`]): on the
    // shards when co-located; with one shard on the coordinator, both tables read whole (not
    // when the transaction wrote to either: its rows are not in key order).
    let locals: Vec<Option<Expr>> = (0..n).map(|t| and_all(sp.local[t].clone())).collect();
    let planned_merge = crate::merge_join::inner_first(
        plan,
        &sp,
        &locals,
        &estimates,
        &planned,
        &planned_lookups,
        &planned_dist,
        shards,
    );
    let merge_pair = (planned_merge == Some(crate::merge_join::Place::Coordinator)
        && txn.overlay(&plan.inputs[planned[0]]).is_none()
        && txn.overlay(&plan.inputs[planned[1]]).is_none())
    .then(|| (planned[0], planned[1]));
    if let Some((a, b)) = merge_pair {
        deferred[a] = false;
        deferred[b] = false;
    }
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    // A co-located first step reads both its tables on the shards, joined (not when the
    // transaction wrote to either: the shards do not have its rows).
    let co = (planned_dist.first() == Some(&Distribution::CoLocated)
        && txn.overlay(&plan.inputs[planned[0]]).is_none()
        && txn.overlay(&plan.inputs[planned[1]]).is_none())
    .then(|| (planned[0], planned[1]));
    if let Some((a, b)) = co {
        deferred[a] = true;
        deferred[b] = true;
    }
    let mut dists = Vec::with_capacity(n.saturating_sub(1));
    // Each other table read with its own conditions, the smallest estimated first: once one of
    // them has no rows, an inner join has none either and the other tables are not read.
    let Split { mut local, multi, last, methods, .. } = sp;
    let mut filters: Vec<Option<Expr>> = (0..n).map(|t| and_all(std::mem::take(&mut local[t]))).collect();
    let mut inputs: Vec<Vec<Row>> = vec![Vec::new(); n];
    let mut reading: Vec<usize> = (0..n).filter(|&t| !deferred[t]).collect();
    reading.sort_by(|&a, &b| estimates[a].total_cmp(&estimates[b]).then(a.cmp(&b)));
    let mut scanned = 0usize;
    for t in reading {
        let rows = read_whole(txn, &plan.inputs[t], filters[t].take(), params, lay.cols(t), None).await?;
        if rows.is_empty() {
            return Ok((crate::joined::Joined::built(Vec::new(), width), None));
        }
        inputs[t] = rows;
        scanned |= 1 << t;
    }
    // The join order, now that the sizes of the tables read are known.
    let mut sizes: Vec<f64> =
        (0..n).map(|t| if scanned & (1 << t) != 0 { inputs[t].len() as f64 } else { estimates[t] }).collect();
    let watched = crate::explain::watching(plan as *const JoinPlan as usize);
    let mut step_rows = Vec::new();
    let mut looked_up = Vec::new();
    let sp = Split { offsets: offsets.clone(), width, local: vec![Vec::new(); n], multi, last, methods };
    let order = match co {
        // The co-located pair first, as planned.
        Some((a, b)) => {
            let o = order(&sp, &cols, &sizes, scanned);
            if o[0] == a && o[1] == b {
                o
            } else {
                planned.clone()
            }
        }
        None => order(&sp, &cols, &sizes, scanned),
    };
    if scanned & (1 << order[0]) == 0 && co.is_none() {
        let first = order[0];
        inputs[first] =
            read_whole(txn, &plan.inputs[first], filters[first].take(), params, lay.cols(first), None).await?;
        if inputs[first].is_empty() {
            return Ok((crate::joined::Joined::built(Vec::new(), width), None));
        }
        sizes[first] = inputs[first].len() as f64;
        scanned |= 1 << first;
    }
    // Offsets of each table in the rows as joined (in `order`).
    let mut exec_off = vec![0; n];
    let mut w = 0;
    for &t in &order {
        exec_off[t] = w;
        w += lay.width(t);
    }
    let to_exec = |i: usize| {
        let t = table_of(i).expect("a column of a table");
        lay.at(t, exec_off[t], i - offsets[t])
    };
    let mut applied = vec![false; sp.multi.len()];
    // The joined rows are tuples of row positions into the tables' rows, one per table joined
    // so far (in `order`): a step reads its keys through them, and each joined row is built
    // once, at the end (late materialization).
    let src = |e: usize| -> (usize, usize) {
        let k = order.iter().rposition(|&x| exec_off[x] <= e).unwrap_or(0);
        (k, e - exec_off[order[k]])
    };
    let mut tuples: Vec<usize> = (0..inputs[order[0]].len()).collect();
    let mut held = crate::memory::Held::new(txn.memory(), "join");
    held.add(tuples.len() * std::mem::size_of::<usize>())?;
    let mut scratch: Row = Vec::new();
    for k in 1..n {
        let t = order[k];
        let present = &order[..=k];
        let mut eq = Vec::new();
        let mut on = Vec::new();
        for (j, (p, ts)) in sp.multi.iter().enumerate() {
            if applied[j] || !ts.iter().all(|x| present.contains(x)) {
                continue;
            }
            applied[j] = true;
            if let Expr::Cmp(crate::expr::CmpOp::Eq, a, b) = p {
                if let (Expr::Column(x, tx), Expr::Column(y, ty)) = (a.as_ref(), b.as_ref()) {
                    let (tx_table, ty_table) = (table_of(*x), table_of(*y));
                    if hashable(*tx, *ty) && tx_table != ty_table {
                        if ty_table == Some(t) {
                            eq.push((to_exec(*x), *y - offsets[t]));
                            continue;
                        }
                        if tx_table == Some(t) {
                            eq.push((to_exec(*y), *x - offsets[t]));
                            continue;
                        }
                    }
                }
            }
            on.push(remap(p, &to_exec));
        }
        let stride = k;
        let on = and_all(on);
        // A step run on the shards: the joined pairs (a tuple so far, a row of the table).
        let mut shard_pairs: Option<Vec<(usize, usize)>> = None;
        let mut dist = Distribution::Coordinator;
        let mut merged = None;
        if let Some((a, b)) = co.filter(|_| k == 1) {
            let mut keys = eq.clone();
            if planned_merge == Some(crate::merge_join::Place::OnShards) {
                // A merge compares keys in primary-key order: those columns first (both whole
                // keys, so each side's rows are unique on them and any other equality can follow).
                let pk =
                    crate::merge_join::key(&plan.inputs[a], &plan.inputs[b], &crate::merge_join::equalities(&sp, a, b))
                        .ok_or_else(|| crate::error::SqlError::internal("no merge key"))?;
                keys = pk.iter().map(|&(ca, cb)| (lay.at(a, 0, ca), cb)).collect();
                keys.extend(eq.iter().filter(|p| !keys.contains(p)).copied().collect::<Vec<_>>());
            }
            let co_join = crate::dist_join::CoJoin {
                filters: [filters[a].take(), filters[b].take()],
                cols: [lay.cols(a), lay.cols(b)],
                left_keys: keys.iter().map(|&(l, _)| l).collect(),
                right_keys: keys.iter().map(|&(_, r)| r).collect(),
                on: on.clone(),
                params: params.to_vec(),
                merge: (planned_merge == Some(crate::merge_join::Place::OnShards)).then_some(JoinKind::Inner),
                widths: [lay.width(a), lay.width(b)],
            };
            merged = co_join.merge.map(|_| crate::merge_join::Place::OnShards);
            let (pairs, checked) =
                crate::exec::colocated_scan(txn, &plan.inputs[a], &plan.inputs[b], Arc::new(co_join)).await?;
            if pairs.is_empty() {
                return Ok((crate::joined::Joined::built(Vec::new(), width), None));
            }
            let (l, r): (Vec<Row>, Vec<Row>) = pairs.into_iter().unzip();
            (inputs[a], inputs[b]) = (l, r);
            (sizes[a], sizes[b]) = (checked[0] as f64, checked[1] as f64);
            scanned |= (1 << a) | (1 << b);
            tuples = (0..inputs[a].len()).collect();
            held.add(tuples.len() * std::mem::size_of::<usize>())?;
            shard_pairs = Some((0..inputs[a].len()).map(|i| (i, i)).collect());
            dist = Distribution::CoLocated;
        }
        // The planned merge on the coordinator, when the order from the real sizes kept it.
        if let Some((a, b)) = merge_pair.filter(|&(a, b)| {
            k == 1 && order[0] == a && order[1] == b && scanned & (1 << a) != 0 && scanned & (1 << b) != 0
        }) {
            let key =
                crate::merge_join::key(&plan.inputs[a], &plan.inputs[b], &crate::merge_join::equalities(&sp, a, b))
                    .ok_or_else(|| crate::error::SqlError::internal("no merge key"))?;
            let key: Vec<(usize, usize)> = key.iter().map(|&(ca, cb)| (lay.at(a, 0, ca), lay.at(b, 0, cb))).collect();
            let rest: Vec<(usize, usize)> =
                eq.iter().map(|&(l, r)| (l, lay.at(t, 0, r))).filter(|p| !key.contains(p)).collect();
            let mut pairs = Vec::new();
            let (left, right) = (&inputs[a], &inputs[b]);
            crate::merge_join::coordinator(
                txn,
                left,
                right,
                &key,
                &rest,
                on.as_ref(),
                JoinKind::Inner,
                lay.width(a),
                params,
                |o| {
                    if let crate::merge_join::Out::Pair(i, j) = o {
                        pairs.push((i, j));
                    }
                    Ok(())
                },
            )?;
            shard_pairs = Some(pairs);
            merged = Some(crate::merge_join::Place::Coordinator);
        }
        let count = tuples.len() / stride.max(1);
        // Not read yet: looked up by key if that is cheaper for the rows so far, else read now.
        if scanned & (1 << t) == 0 {
            let mut reduced = None;
            let mask = order[..k].iter().fold(0usize, |m, &x| m | (1 << x));
            let after = set_rows(&sp, &cols, &sizes, mask | (1 << t)) * count as f64
                / set_rows(&sp, &cols, &sizes, mask).max(1.0);
            let by_key = step_work(&sp, &cols, &sizes, scanned, mask, t, count as f64, after).1;
            let lookup = if by_key { crate::index_join::path(&plan.inputs[t], &eq) } else { None };
            if lookup.is_none() {
                let reduces = !eq.is_empty() && count as f64 * REDUCE_RATIO <= sizes[t];
                let eligible = !eq.is_empty() && crate::exec::scanned_on_shards(&plan.inputs[t], filters[t].as_ref());
                let right: Vec<usize> = eq.iter().map(|&(_, r)| r).collect();
                let partitioned = crate::dist_join::partitioned_on(&plan.inputs[t], &right).is_some();
                dist = crate::dist_join::choose(shards, count as f64, sizes[t], reduces, after, eligible, partitioned);
            }
            inputs[t] = match &lookup {
                Some(l) => {
                    // The rows so far as their lookup key values.
                    let keys: Vec<Row> = tuples
                        .chunks(stride)
                        .map(|tu| {
                            l.left
                                .iter()
                                .map(|&e| {
                                    let (kk, c) = src(e);
                                    inputs[order[kk]][tu[kk]].get(c).cloned().unwrap_or(Datum::Null)
                                })
                                .collect()
                        })
                        .collect();
                    let by = crate::index_join::Lookup {
                        via: l.via,
                        left: (0..l.left.len()).collect(),
                        right: l.right.clone(),
                    };
                    let def = &plan.inputs[t];
                    crate::index_join::rows(txn, def, &by, &keys, filters[t].as_ref(), params, lay.cols(t)).await?
                }
                None if dist.reads_at_step() => {
                    // Broadcast: the rows so far (the columns the step reads) to every shard,
                    // which joins them with its rows of the table; repartitioned, each to one
                    // shard ([`crate::shuffle`]).
                    let prefix = exec_off[t];
                    let mut ship: Vec<usize> = eq.iter().map(|&(l, _)| l).collect();
                    if let Some(on) = &on {
                        on.visit_columns(&mut |c| {
                            if c < prefix && !ship.contains(&c) {
                                ship.push(c);
                            }
                        });
                    }
                    let shipped = |c: usize| ship.iter().position(|&x| x == c);
                    let from: Vec<(usize, usize)> = ship.iter().map(|&e| src(e)).collect();
                    let left: Vec<Row> = tuples
                        .chunks(stride)
                        .map(|tu| {
                            from.iter()
                                .map(|&(kk, c)| inputs[order[kk]][tu[kk]].get(c).cloned().unwrap_or(Datum::Null))
                                .collect()
                        })
                        .collect();
                    let mut charged = crate::memory::Held::new(txn.memory(), "join broadcast");
                    charged.rows(&left)?;
                    let probe = crate::dist_join::Probe {
                        left,
                        left_keys: eq.iter().map(|&(l, _)| shipped(l).unwrap_or(usize::MAX)).collect(),
                        right_keys: eq.iter().map(|&(_, r)| r).collect(),
                        on: on.as_ref().map(|e| {
                            remap(e, &|c| {
                                if c < prefix {
                                    shipped(c).unwrap_or(usize::MAX)
                                } else {
                                    c - prefix + ship.len()
                                }
                            })
                        }),
                        cols: lay.cols(t),
                        params: params.to_vec(),
                    };
                    let filter = filters[t].take();
                    let def = &plan.inputs[t];
                    let (matched, checked) = match dist {
                        Distribution::Repartition { table_moves } => {
                            let right: Vec<usize> = eq.iter().map(|&(_, r)| r).collect();
                            let partitioned =
                                if table_moves { None } else { crate::dist_join::partitioned_on(def, &right) };
                            let step = crate::shuffle::Step { table: def, filter: filter.as_ref(), partitioned };
                            crate::shuffle::scan(txn, step, probe).await?
                        }
                        _ => crate::exec::broadcast_scan(txn, def, filter.as_ref(), Arc::new(probe)).await?,
                    };
                    drop(charged);
                    let mut pairs = Vec::new();
                    let mut rows = Vec::with_capacity(matched.len());
                    for (j, m) in matched.into_iter().enumerate() {
                        pairs.extend(m.with.iter().map(|&i| (i as usize, j)));
                        rows.push(m.row);
                    }
                    // In the order of the rows so far, as the coordinator joins them.
                    pairs.sort_unstable();
                    shard_pairs = Some(pairs);
                    reduced = Some(checked);
                    rows
                }
                None => {
                    // Key reduction: few rows so far next to the table send their keys along,
                    // and the shards send back only the rows with those keys.
                    let reduce = (!eq.is_empty() && count as f64 * REDUCE_RATIO <= sizes[t]).then(|| {
                        let left: Vec<(usize, usize)> = eq.iter().map(|&(l, _)| src(l)).collect();
                        let keys = tuples.chunks(stride).map(|tu| {
                            left.iter()
                                .map(|&(kk, c)| inputs[order[kk]][tu[kk]].get(c).unwrap_or(&Datum::Null))
                                .collect::<Vec<&Datum>>()
                        });
                        Arc::new(crate::join_key::Reduce::new(eq.iter().map(|&(_, r)| r).collect(), keys))
                    });
                    let mut charged = crate::memory::Held::new(txn.memory(), "join key reduction");
                    if let Some(r) = &reduce {
                        charged.add(r.bytes())?;
                    }
                    let rows = read_whole(txn, &plan.inputs[t], filters[t].take(), params, lay.cols(t), reduce.clone())
                        .await?;
                    // The table's rows as without the reduction (the shards' rows it checked,
                    // plus any the transaction wrote), for EXPLAIN ANALYZE and later steps.
                    reduced = reduce.map(|r| r.checked().max(rows.len()));
                    rows
                }
            };
            looked_up.push(lookup.is_some());
            sizes[t] = reduced.unwrap_or(inputs[t].len()) as f64;
            scanned |= 1 << t;
        } else {
            looked_up.push(false);
        }
        // The step: the table's rows by its key columns (as kept), each tuple's candidates.
        let left_src: Vec<(usize, usize)> = eq.iter().map(|&(l, _)| src(l)).collect();
        let right_cols: Vec<usize> = eq.iter().map(|&(_, r)| lay.at(t, 0, r)).collect();
        let mut built = Built::new(txn);
        let right = &inputs[t];
        // A step the shards ran has its pairs; the others probe here.
        let probing: &[usize] = if shard_pairs.is_some() { &[] } else { &tuples };
        let index =
            (!eq.is_empty() && shard_pairs.is_none()).then(|| crate::join_key::Buckets::build(right, &right_cols));
        let mut table = crate::memory::Held::hash(txn.memory(), "hash join build table");
        if let Some(b) = &index {
            table.add(b.bytes())?;
        }
        let mut next: Vec<usize> = Vec::new();
        let mut vals: Vec<&Datum> = Vec::with_capacity(left_src.len());
        for tu in probing.chunks(stride) {
            let candidates = match &index {
                Some(b) => {
                    vals.clear();
                    vals.extend(
                        left_src.iter().map(|&(kk, c)| inputs[order[kk]][tu[kk]].get(c).unwrap_or(&Datum::Null)),
                    );
                    match crate::join_key::of_values(&vals) {
                        Some(key) => Candidates::Key(b.get(&key)),
                        None => Candidates::Key(b.none()),
                    }
                }
                None => Candidates::All(0..right.len()),
            };
            for j in candidates {
                built.pair(txn)?;
                if let Some(on) = &on {
                    scratch.clear();
                    for (kk, &x) in order[..k].iter().enumerate() {
                        scratch.extend_from_slice(&inputs[x][tu[kk]]);
                    }
                    scratch.extend_from_slice(&right[j]);
                    if expr::truth(expr::eval(on, &Ctx { row: &scratch, params, aggs: &[] })?) != Some(true) {
                        continue;
                    }
                }
                held.add((stride + 1) * std::mem::size_of::<usize>())?;
                next.extend_from_slice(tu);
                next.push(j);
            }
        }
        for (i, j) in shard_pairs.into_iter().flatten() {
            built.pair(txn)?;
            held.add((stride + 1) * std::mem::size_of::<usize>())?;
            next.extend_from_slice(&tuples[i * stride..(i + 1) * stride]);
            next.push(j);
        }
        drop(table);
        tuples = next;
        step_rows.push((tuples.len() / (stride + 1)) as u64);
        dists.push(dist);
        merges.push(merged);
    }
    if watched {
        let inputs = sizes.iter().map(|&s| s as u64).collect();
        crate::explain::note_join(plan as *const JoinPlan as usize, inputs, order.clone(), step_rows);
        crate::explain::note_lookups(plan as *const JoinPlan as usize, looked_up);
        crate::explain::note_distribution(plan as *const JoinPlan as usize, dists);
        crate::explain::note_merges(plan as *const JoinPlan as usize, merges);
    }
    // The joined rows, built once by their reader (each table's kept columns in FROM order:
    // the combined row when nothing is narrowed); then the conditions left for them.
    let map = lay.kept_map(&offsets, width);
    let last = and_all(sp.last).map(|e| match &map {
        Some(m) => remap(&e, &|i| m.get(i).copied().unwrap_or(i)),
        None => e,
    });
    let mut slots = vec![0; n];
    for (kk, &t) in order.iter().enumerate() {
        slots[t] = kk;
    }
    let widths = (0..n).map(|t| lay.width(t)).collect();
    let joined = crate::joined::Joined::new(inputs, widths, tuples, slots).filtered(last, params).holding(held);
    Ok((joined, map))
}

/// `p`, a SELECT over a join, with the expressions that read its input rows reading them laid
/// out as `map` places the combined row's columns ([`rows_where_reading`]): all of them for a
/// plain SELECT; WHERE, GROUP BY and the aggregates' inputs for a grouped one (its HAVING, select
/// list and ORDER BY read the groups).
pub(crate) fn kept_columns(p: &crate::bind::SelectPlan, map: &[usize]) -> crate::bind::SelectPlan {
    let mut q = p.clone();
    let join = q.join.take();
    let mut to_kept = |e: &mut Expr| -> Result<bool> {
        if let Expr::Column(i, _) = e {
            if let Some(&k) = map.get(*i) {
                *i = k;
            }
            return Ok(true);
        }
        Ok(false)
    };
    if q.grouped {
        use crate::relation::walk;
        for e in q.filter.iter_mut().chain(q.group_by.iter_mut()) {
            let _ = walk(e, &mut to_kept);
        }
        for a in &mut q.aggs {
            for e in [&mut a.arg, &mut a.delim, &mut a.filter].into_iter().flatten() {
                let _ = walk(e, &mut to_kept);
            }
            for o in &mut a.order_by {
                let _ = walk(&mut o.expr, &mut to_kept);
            }
        }
    } else {
        let _ = crate::relation::map_select(&mut q, &mut to_kept);
    }
    q.join = join;
    q
}
