//! Decorrelated subqueries of WHERE: `EXISTS (...)`, `NOT EXISTS (...)`, `x IN (SELECT ...)` and
//! `x NOT IN (SELECT ...)`, when one is an AND-ed part of a query level's WHERE, become hash
//! SEMI and ANTI joins of the level's FROM rows (PostgreSQL's pull-up of sublinks), instead of a
//! subquery run per distinct outer value.
//!
//! The subquery's equalities between its own columns and the outer query's (`l2.l_orderkey =
//! l1.l_orderkey`) become the join keys; its other conditions that read outer columns
//! (`l2.l_suppkey <> l1.l_suppkey`) a residual condition checked on each candidate pair; the
//! rest of its WHERE stays in its plan, so the inner relation is read once (the filters go to
//! the shards with the scan) and hashed by the keys. The inner plan only returns the key
//! columns and the columns the residual reads. A subquery with its own
//! joins is joined first and hashed the same way; one with GROUP BY is grouped by its correlation
//! columns too (its groups per outer key) when outer columns appear only in its WHERE's
//! equalities.
//!
//! `x IN (...)` is a semi join with `x = <the subquery's value>` as one more key (or, when the
//! two types do not hash alike, in the residual). `x NOT IN (...)` keeps PostgreSQL's NULL
//! semantics exactly (an anti join that knows NULLs): among the inner rows of the outer row's
//! correlation keys that pass the residual, a NULL value, or a NULL `x` with any row, makes the
//! condition NULL, so the row goes. A subquery that is not of these shapes (an aggregate without
//! GROUP BY, LIMIT, its own subqueries, one under OR or NOT, no equality with an outer column)
//! keeps running per outer row ([`crate::relation`]).

use crate::bind::{Distinct, Plan, SelectPlan};
use crate::error::Result;
use crate::expr::{self, CmpOp, Ctx, Expr};
use crate::group::{key_of, KeyPart};
use crate::relation::{walk, LinkKind, SubLink, LINK_BASE, OUTER_BASE};
use crate::txn::Txn;
use orbit_engine::table::{Datum, Row, SqlType};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The placeholder for `x` of `x [NOT] IN (...)` in a condition over a pair, until it is
/// rewritten; `X_MARKER - k` for the k-th element of a row IN's left side.
const X_MARKER: usize = usize::MAX;

/// The most elements of a row IN's left side (PostgreSQL's limit on a row's columns).
const MAX_ROW_ELEMENTS: usize = 1664;

/// The most elements of a NULL-aware anti join's key ([`Table::NullAware`]'s NULL masks).
const NULL_AWARE_MAX_KEYS: usize = 32;

fn x_marker(e: &Expr) -> Option<usize> {
    match e {
        Expr::Param(i, _) if *i > X_MARKER - MAX_ROW_ELEMENTS => Some(X_MARKER - *i),
        _ => None,
    }
}

/// Outer rows a semi or anti join probes between two checks for a cancel request.
const CANCEL_CHECK_ROWS: usize = 1 << 14;

/// One decorrelated subquery of WHERE: the FROM rows that have (SEMI) or have not (ANTI) a
/// matching row of `plan`.
#[derive(Debug, Clone)]
pub struct SemiJoin {
    /// NOT EXISTS or NOT IN: the rows without a match are kept.
    pub anti: bool,
    /// The inner relation: each row is the key values (`keys.len()` of them) then the columns
    /// the residual and a NOT IN's comparison read.
    pub plan: Box<Plan>,
    /// The outer side of each key, over the FROM row.
    pub keys: Vec<Expr>,
    /// Conditions on a candidate pair: over the FROM row (`width` columns) followed by the
    /// inner row.
    pub residual: Option<Expr>,
    /// `x NOT IN (...)`: the comparison `x = value` over the same pair, with NULL semantics.
    pub not_in: Option<Expr>,
    /// The width of the FROM row.
    pub width: usize,
    /// For EXPLAIN: the inner side of each key and the inner columns after the keys, as bound
    /// over the subquery's own FROM row.
    pub inner_exprs: Vec<Expr>,
    /// An uncorrelated `(x1, ..., xn) NOT IN (SELECT ...)`: the keys are the row's elements and
    /// the join knows NULLs (PostgreSQL's row comparison): an outer row goes when some inner
    /// row equals it on every element where both are not NULL (true or NULL), stays when each
    /// inner row differs from it somewhere (false).
    pub null_aware: bool,
}

/// Replaces the sublinks that are AND-ed parts of `sp`'s WHERE (and read nowhere else) and
/// that decorrelate by semi and anti joins: they leave `links` and WHERE. `width` is the width
/// of the FROM row.
pub(crate) fn extract(sp: &mut SelectPlan, links: &mut Vec<SubLink>, width: usize) -> Vec<SemiJoin> {
    let Some(filter) = sp.filter.take() else { return vec![] };
    let mut parts = Vec::new();
    split(filter, &mut parts);
    let mut out = Vec::new();
    let mut taken = vec![false; parts.len()];
    for (n, p) in parts.iter().enumerate() {
        let (id, negated) = match p {
            Expr::Param(i, _) if *i >= LINK_BASE && *i < OUTER_BASE => (*i - LINK_BASE, false),
            Expr::Not(inner) => match inner.as_ref() {
                Expr::Param(i, _) if *i >= LINK_BASE && *i < OUTER_BASE => (*i - LINK_BASE, true),
                _ => continue,
            },
            _ => continue,
        };
        let Some(pos) =
            links.iter().position(|l| l.id == id && (!l.captures.is_empty() || matches!(l.kind, LinkKind::AnyRow(_))))
        else {
            continue;
        };
        let elsewhere = parts.iter().enumerate().any(|(m, q)| m != n && crate::relation::reads_link(q, id));
        if elsewhere || reads_outside_where(sp, id) {
            continue;
        }
        if let Some(sj) = build(&links[pos], negated, width) {
            links.remove(pos);
            out.push(sj);
            taken[n] = true;
        }
    }
    sp.filter = parts
        .into_iter()
        .zip(taken)
        .filter(|(_, t)| !t)
        .map(|(p, _)| p)
        .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
    out
}

fn split(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::And(a, b) => {
            split(*a, out);
            split(*b, out);
        }
        other => out.push(other),
    }
}

/// Whether sublink `id`'s placeholder is read by any part of `sp` but its WHERE (taken out).
fn reads_outside_where(sp: &SelectPlan, id: usize) -> bool {
    let mut copy = sp.clone();
    let mut found = false;
    let _ = crate::relation::map_select(&mut copy, &mut |e: &mut Expr| {
        found |= crate::relation::reads_link(e, id);
        Ok(true)
    });
    found
}

/// Whether a key of these two types can be hashed by GROUP BY's equality (equal values, equal
/// key parts, as `=` compares them).
fn same_key(a: SqlType, b: SqlType) -> bool {
    (a.is_integer() && b.is_integer())
        || (matches!(a, SqlType::Text | SqlType::Varchar(_)) && matches!(b, SqlType::Text | SqlType::Varchar(_)))
        || (a.same_key_type(b)
            && !matches!(a, SqlType::Interval(_) | SqlType::Json | SqlType::Jsonb | SqlType::Float4 | SqlType::Float8))
}

fn reads_outer(e: &Expr) -> bool {
    let mut found = false;
    e.visit(&mut |x| found |= matches!(x, Expr::Param(i, _) if *i >= OUTER_BASE));
    found
}

fn reads_param(e: &Expr) -> bool {
    let mut found = false;
    e.visit(&mut |x| found |= matches!(x, Expr::Param(i, _) if *i >= LINK_BASE));
    found
}

fn reads_inner(e: &Expr) -> bool {
    let mut found = false;
    e.visit(&mut |x| found |= matches!(x, Expr::Column(..) | Expr::Agg(..)));
    found
}

/// Whether an EXISTS subquery's LIMIT may be dropped: a positive constant or NULL (no limit)
/// keeps a row when there is one, as PostgreSQL's simplify_EXISTS_query drops it (LIMIT 0, a
/// parameter or an OFFSET keep the subquery as it is).
pub(crate) fn exists_limit_ignored(sp: &SelectPlan) -> bool {
    let Some(e) = &sp.limit else { return true };
    sp.offset.is_none()
        && match expr::fold(e.clone()).unwrap_or_else(|_| e.clone()) {
            Expr::Const(Datum::Null, _) => true,
            Expr::Const(Datum::Int8(n), _) => n > 0,
            Expr::Const(Datum::Int4(n), _) => n > 0,
            _ => false,
        }
}

/// The semi or anti join for a correlated sublink, if it decorrelates.
fn build(l: &SubLink, negated: bool, width: usize) -> Option<SemiJoin> {
    // IN: the comparisons with the placeholder on the right (one per element of a row IN);
    // their left sides are over the FROM row.
    let tests: Vec<Expr> = match &l.kind {
        LinkKind::Exists => vec![],
        LinkKind::Any(t) => vec![t.clone()],
        LinkKind::AnyRow(ts) if ts.len() <= MAX_ROW_ELEMENTS => ts.clone(),
        _ => return None,
    };
    if !tests.iter().all(|t| matches!(t, Expr::Cmp(CmpOp::Eq, x, _) if !reads_param(x))) {
        return None;
    }
    let Plan::Select(sp) = l.plan.as_ref() else { return None };
    let limit_ok = sp.limit.is_none() || (matches!(l.kind, LinkKind::Exists) && exists_limit_ignored(sp));
    if sp.for_update.is_some()
        || !limit_ok
        || sp.offset.is_some()
        || !sp.grouping_sets.is_empty()
        || !sp.windows.is_empty()
        || !sp.srfs.is_empty()
        || sp.join.as_ref().is_some_and(|j| j.steps.iter().any(|s| s.on.as_ref().is_some_and(reads_outer)))
    {
        return None;
    }
    // A grouped subquery: with a GROUP BY list (an aggregate without one always has a row), and
    // outer columns only in WHERE; its correlation columns are then grouped by too.
    if sp.grouped
        && (sp.group_by.is_empty()
            || sp.group_by.iter().any(reads_outer)
            || sp.having.as_ref().is_some_and(reads_param)
            || sp.aggs.iter().any(|a| {
                a.arg.iter().chain(a.filter.iter()).chain(a.delim.iter()).any(reads_param)
                    || a.order_by.iter().any(|o| reads_param(&o.expr))
            }))
    {
        return None;
    }
    // The subquery's values (IN): over its own row, reading no outer column.
    if sp.projection.len() < tests.len() || sp.projection[..tests.len()].iter().any(reads_param) {
        return None;
    }
    let values: Vec<Expr> = sp.projection[..tests.len()].to_vec();
    // An outer reference as the FROM row's column it captured.
    let capture = |r: usize| l.captures.iter().find(|(id, _)| *id == r).map(|(_, e)| e.clone());
    let to_outer = |e: &Expr| -> Option<Expr> {
        let mut e = e.clone();
        let mut ok = true;
        let _ = walk(&mut e, &mut |x: &mut Expr| {
            if let Expr::Param(i, _) = x {
                if *i >= OUTER_BASE {
                    match capture(*i - OUTER_BASE) {
                        Some(c) => *x = c,
                        None => ok = false,
                    }
                    return Ok(true);
                }
                if *i >= LINK_BASE {
                    ok = false;
                }
            }
            Ok(false)
        });
        ok.then_some(e)
    };
    let mut conj = Vec::new();
    if let Some(f) = &sp.filter {
        split(f.clone(), &mut conj);
    }
    let (mut inner_keys, mut outer_keys, mut rest, mut residual) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for c in conj {
        if !reads_outer(&c) {
            rest.push(c);
            continue;
        }
        if let Expr::Cmp(CmpOp::Eq, a, b) = &c {
            let pair = match (reads_outer(a), reads_inner(a), reads_outer(b), reads_inner(b)) {
                (false, true, true, false) => Some((a, b)),
                (true, false, false, true) => Some((b, a)),
                _ => None,
            };
            if let Some((i, o)) = pair {
                if !reads_param(i) && same_key(i.ty(), o.ty()) {
                    if let Some(o) = to_outer(o) {
                        inner_keys.push((**i).clone());
                        outer_keys.push(o);
                        continue;
                    }
                    return None;
                }
            }
        }
        residual.push(c);
    }
    let ncorr = inner_keys.len();
    let mut not_in_parts = Vec::new();
    let mut in_x: Vec<Option<Expr>> = vec![None; tests.len()];
    let mut pairs = Vec::with_capacity(tests.len());
    for (t, v) in tests.iter().zip(&values) {
        let Expr::Cmp(_, x, rhs) = t else { return None };
        // The subquery's value as the comparison reads it (with its casts).
        let mut y = (**rhs).clone();
        let _ = walk(&mut y, &mut |e: &mut Expr| {
            if matches!(e, Expr::Param(i, _) if *i == LINK_BASE + l.id) {
                *e = v.clone();
                return Ok(true);
            }
            Ok(false)
        });
        pairs.push((to_outer(x)?, y));
    }
    // An uncorrelated row NOT IN of hashable elements: a NULL-aware anti join on them.
    let null_aware = negated
        && ncorr == 0
        && residual.is_empty()
        && matches!(l.kind, LinkKind::AnyRow(_))
        && !sp.grouped
        && pairs.len() <= NULL_AWARE_MAX_KEYS
        && pairs.iter().all(|(x, y)| same_key(x.ty(), y.ty()) && !reads_param(y));
    for (k, (x, y)) in pairs.into_iter().enumerate() {
        if (null_aware || !negated) && same_key(x.ty(), y.ty()) && !reads_param(&y) {
            inner_keys.push(y);
            outer_keys.push(x);
        } else {
            // `x = value` over the pair: a marker stands for `x` (over the FROM row already)
            // until the rewrite below.
            let t = Expr::Cmp(CmpOp::Eq, Box::new(Expr::Param(X_MARKER - k, x.ty())), Box::new(y));
            if negated {
                not_in_parts.push(t);
            } else {
                residual.push(t);
            }
            in_x[k] = Some(x);
        }
    }
    // NOT IN: the row comparison is the AND of the element equalities (three-valued).
    let not_in = not_in_parts.into_iter().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
    if ncorr == 0 && !null_aware && (inner_keys.is_empty() || sp.grouped) {
        return None;
    }
    if sp.grouped {
        // The subquery's groups per correlation key: its GROUP BY plus the key columns.
        if !residual.is_empty() || not_in.is_some() || in_x.iter().any(Option::is_some) {
            return None;
        }
        let mut p: SelectPlan = (**sp).clone();
        p.filter = rest.into_iter().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
        p.key = None;
        p.distinct = Distinct::None;
        p.order_by = vec![];
        (p.limit, p.limit_ties) = (None, false);
        let glen = p.group_by.len();
        let mut projection = Vec::new();
        for (k, e) in inner_keys[..ncorr].iter().enumerate() {
            p.group_by.push(e.clone());
            projection.push(Expr::Column(glen + k, e.ty()));
        }
        // IN's value, over the group.
        projection.extend(inner_keys[ncorr..].iter().cloned());
        p.projection = projection;
        return Some(SemiJoin {
            anti: negated,
            plan: Box::new(Plan::Select(Box::new(p))),
            keys: outer_keys,
            residual: None,
            not_in: None,
            width,
            inner_exprs: inner_keys,
            null_aware: false,
        });
    }
    // The inner columns the residual and the NOT IN comparison read follow the keys.
    let mut cols: Vec<(usize, SqlType)> = Vec::new();
    let mut note = |e: &Expr| {
        e.visit(&mut |x| {
            if let Expr::Column(i, t) = x {
                if !cols.iter().any(|(c, _)| c == i) {
                    cols.push((*i, *t));
                }
            }
        })
    };
    residual.iter().for_each(&mut note);
    if let Some(t) = &not_in {
        note(t);
    }
    let nkeys = inner_keys.len();
    let rewrite = |e: &Expr| -> Option<Expr> {
        let mut e = e.clone();
        let mut ok = true;
        let _ = walk(&mut e, &mut |n: &mut Expr| match n {
            Expr::Param(..) if x_marker(n).is_some() => {
                match x_marker(n).and_then(|k| in_x.get(k).cloned().flatten()) {
                    Some(x) => *n = x,
                    None => ok = false,
                }
                Ok(true)
            }
            Expr::Param(i, _) if *i >= OUTER_BASE => {
                match capture(*i - OUTER_BASE) {
                    Some(c) => *n = c,
                    None => ok = false,
                }
                Ok(true)
            }
            Expr::Param(i, _) if *i >= LINK_BASE => {
                ok = false;
                Ok(true)
            }
            Expr::Column(i, t) => {
                let j = cols.iter().position(|(c, _)| c == i).unwrap_or(0);
                *n = Expr::Column(width + nkeys + j, *t);
                Ok(true)
            }
            Expr::Agg(..) => {
                ok = false;
                Ok(true)
            }
            _ => Ok(false),
        });
        ok.then_some(e)
    };
    let residual = match residual.into_iter().reduce(|a, b| Expr::And(Box::new(a), Box::new(b))) {
        Some(r) => Some(rewrite(&r)?),
        None => None,
    };
    let not_in = match &not_in {
        Some(t) => Some(rewrite(t)?),
        None => None,
    };
    let mut p: SelectPlan = (**sp).clone();
    p.filter = rest.into_iter().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
    p.key = None;
    p.distinct = Distinct::None;
    p.order_by = vec![];
    (p.limit, p.limit_ties) = (None, false);
    let outputs: Vec<Expr> = inner_keys.iter().cloned().chain(cols.iter().map(|&(i, t)| Expr::Column(i, t))).collect();
    // Not grouped to drop duplicates: GROUP BY over many distinct combinations costs more
    // than the rows it saves (TPC-H Q21: 60k pairs of lineitem).
    p.projection = outputs.clone();
    Some(SemiJoin {
        anti: negated,
        plan: Box::new(Plan::Select(Box::new(p))),
        keys: outer_keys,
        residual,
        not_in,
        width,
        inner_exprs: outputs,
        null_aware,
    })
}

/// The inner rows of a semi or anti join, hashed by key.
pub(crate) enum Table {
    /// Only the keys matter.
    Keys(HashSet<Vec<KeyPart>>),
    /// The inner rows (keys included) per key, for the residual or NOT IN.
    Rows(HashMap<Vec<KeyPart>, Vec<Row>>),
    /// A NULL-aware anti join's ([`SemiJoin::null_aware`]).
    NullAware(NullAware),
}

/// Charges `bytes` more to the statement's memory (on the coordinator its account, on a shard
/// the shard's count against the same limit): 53200 past the limit.
pub(crate) type Charge<'a> = dyn FnMut(usize) -> Result<()> + 'a;

/// The outer rows' keys (None for a key with a NULL: it matches nothing).
fn outer_keys(sj: &SemiJoin, rows: &[Row], params: &[Datum]) -> Result<Vec<Option<Vec<KeyPart>>>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(outer_key(sj, row, params)?);
    }
    Ok(out)
}

fn outer_key(sj: &SemiJoin, row: &[Datum], params: &[Datum]) -> Result<Option<Vec<KeyPart>>> {
    let cx = Ctx { row, params, aggs: &[] };
    let key: Vec<Datum> = sj.keys.iter().map(|e| expr::eval(e, &cx)).collect::<Result<_>>()?;
    Ok((!key.iter().any(Datum::is_null)).then(|| key_of(&key)))
}

/// Key reduction: the outer rows' distinct keys, when they are few next to the rows of the
/// inner plan's table (at most one in [`REDUCE_RATIO`]): the shards then send only the inner
/// rows of those keys (the others match no outer row, for a semi or an anti join alike).
fn reduction(sj: &SemiJoin, keys: &[Option<Vec<KeyPart>>]) -> Option<HashSet<Vec<KeyPart>>> {
    let Plan::Select(p) = sj.plan.as_ref() else { return None };
    let table = p.table.as_ref()?;
    let set: HashSet<Vec<KeyPart>> = keys.iter().flatten().cloned().collect();
    let rows = crate::stats::TableColumns::new(table).rows;
    ((set.len() as f64) * REDUCE_RATIO <= rows).then_some(set)
}

/// The outer keys reduce the inner rows ([`reduction`]) when they are at most this fraction of
/// the inner table's rows.
const REDUCE_RATIO: f64 = 2.0;

/// A NULL-aware anti join's inner rows ([`SemiJoin::null_aware`]): the distinct rows of keys
/// per NULL mask (bit k set: element k is NULL), and per (mask, elements compared) the rows'
/// parts on those elements, built the first time an outer row needs them.
pub(crate) struct NullAware {
    by_mask: HashMap<u32, Vec<Row>>,
    parts: HashMap<(u32, u32), HashSet<Vec<KeyPart>>>,
}

fn null_mask(key: &[Datum]) -> u32 {
    key.iter().enumerate().filter(|(_, d)| d.is_null()).fold(0, |m, (k, _)| m | (1 << k))
}

fn part_of(key: &[Datum], elements: u32) -> Vec<KeyPart> {
    let picked: Vec<Datum> =
        key.iter().enumerate().filter(|(k, _)| elements & (1 << k) != 0).map(|(_, d)| d.clone()).collect();
    key_of(&picked)
}

impl NullAware {
    fn build(inner: impl IntoIterator<Item = Row>, n: usize, charge: &mut Charge<'_>) -> Result<NullAware> {
        let mut seen = HashSet::new();
        let mut by_mask: HashMap<u32, Vec<Row>> = HashMap::new();
        for mut r in inner {
            r.truncate(n);
            if !seen.insert(key_of(&r)) {
                continue;
            }
            charge(crate::memory::row_bytes(&r) * 2 + crate::memory::ENTRY_OVERHEAD)?;
            by_mask.entry(null_mask(&r)).or_default().push(r);
        }
        Ok(NullAware { by_mask, parts: HashMap::new() })
    }

    /// Whether `(x1, ..., xn) NOT IN (the inner rows)` is true (false and NULL both drop the
    /// row): every inner row differs from `key` on an element where neither is NULL.
    fn keeps(&mut self, key: &[Datum], charge: &mut Charge<'_>) -> Result<bool> {
        let n = key.len();
        let all: u32 = if n >= 32 { u32::MAX } else { (1u32 << n) - 1 };
        let outer = null_mask(key);
        for (&mask, rows) in &self.by_mask {
            let compared = all & !(mask | outer);
            if compared == 0 {
                // No element compares: each comparison is NULL.
                return Ok(false);
            }
            let set = match self.parts.entry((mask, compared)) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    let set: HashSet<Vec<KeyPart>> = rows.iter().map(|r| part_of(r, compared)).collect();
                    charge(set.len() * (n * 16 + crate::memory::ENTRY_OVERHEAD))?;
                    e.insert(set)
                }
            };
            if set.contains(&part_of(key, compared)) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// `sj`'s inner rows hashed (each row: the key values, then the columns the residual and NOT
/// IN read).
pub(crate) fn build_table(
    sj: &SemiJoin,
    inner: impl IntoIterator<Item = Row>,
    charge: &mut Charge<'_>,
) -> Result<Table> {
    let n = sj.keys.len();
    if sj.null_aware {
        return Ok(Table::NullAware(NullAware::build(inner, n, charge)?));
    }
    let with_rows = sj.residual.is_some() || sj.not_in.is_some();
    let mut table = if with_rows { Table::Rows(HashMap::new()) } else { Table::Keys(HashSet::new()) };
    for r in inner {
        let k = &r[..n.min(r.len())];
        // `inner.k = NULL` is never true: such a row matches nothing.
        if k.iter().any(Datum::is_null) {
            continue;
        }
        let key = key_of(k);
        match &mut table {
            Table::Keys(s) => {
                if !s.contains(&key) {
                    charge(crate::memory::row_bytes(k) + crate::memory::ENTRY_OVERHEAD)?;
                    s.insert(key);
                }
            }
            Table::Rows(m) => {
                charge(crate::memory::row_bytes(&r) + crate::memory::ENTRY_OVERHEAD)?;
                m.entry(key).or_default().push(r);
            }
            Table::NullAware(_) => {}
        }
    }
    Ok(table)
}

/// How an outer row is checked against a [`Table`]: the outer columns a candidate pair needs,
/// and the pair being built (reused).
pub(crate) struct Prober {
    outer_cols: Vec<usize>,
    pair: Row,
}

impl Prober {
    pub(crate) fn new(sj: &SemiJoin) -> Prober {
        // A candidate pair: the outer columns the residual and NOT IN read, then the inner row.
        let mut outer_cols: Vec<usize> = Vec::new();
        for e in sj.residual.iter().chain(sj.not_in.iter()) {
            e.visit_columns(&mut |c| {
                if c < sj.width && !outer_cols.contains(&c) {
                    outer_cols.push(c);
                }
            });
        }
        Prober { outer_cols, pair: vec![Datum::Null; sj.width] }
    }

    /// Whether `sj` keeps the FROM row `row` (`key`: its key, when already computed).
    pub(crate) fn keeps(
        &mut self,
        sj: &SemiJoin,
        table: &mut Table,
        row: &[Datum],
        key: Option<Option<Vec<KeyPart>>>,
        params: &[Datum],
        charge: &mut Charge<'_>,
    ) -> Result<bool> {
        if let Table::NullAware(t) = table {
            let cx = Ctx { row, params, aggs: &[] };
            let key: Vec<Datum> = sj.keys.iter().map(|e| expr::eval(e, &cx)).collect::<Result<_>>()?;
            return t.keeps(&key, charge);
        }
        let key = match key {
            Some(k) => k,
            None => outer_key(sj, row, params)?,
        };
        let no_rows: Vec<Row> = Vec::new();
        // No inner row equals NULL.
        let found = key.and_then(|key| match &*table {
            Table::Keys(s) => s.contains(&key).then_some(&no_rows),
            Table::Rows(m) => m.get(&key),
            Table::NullAware(_) => None,
        });
        if found.is_some_and(|c| !c.is_empty()) {
            for &c in &self.outer_cols {
                self.pair[c] = row.get(c).cloned().unwrap_or(Datum::Null);
            }
        }
        Ok(match (found, &sj.not_in) {
            (None, _) => sj.anti,
            (Some(_), None) if sj.residual.is_none() => !sj.anti,
            (Some(candidates), not_in) => {
                // Some(true): a pair matched; Some(false): none did; None: NULL (NOT IN).
                let mut verdict = Some(false);
                for r in candidates {
                    self.pair.truncate(sj.width);
                    self.pair.extend_from_slice(r);
                    let pcx = Ctx { row: &self.pair, params, aggs: &[] };
                    if let Some(res) = &sj.residual {
                        if expr::truth(expr::eval(res, &pcx)?) != Some(true) {
                            continue;
                        }
                    }
                    match not_in {
                        None => {
                            verdict = Some(true);
                            break;
                        }
                        Some(t) => match expr::truth(expr::eval(t, &pcx)?) {
                            Some(true) => {
                                verdict = Some(true);
                                break;
                            }
                            Some(false) => {}
                            None => verdict = None,
                        },
                    }
                }
                match verdict {
                    Some(true) => !sj.anti,
                    Some(false) => sj.anti,
                    // x NOT IN (...) is NULL: WHERE drops the row.
                    None => false,
                }
            }
        })
    }
}

/// The inner rows of `sj`, as the transaction sees them, each the keys then the columns after
/// them (with `only`, an inner table's rows of those keys alone).
pub(crate) async fn inner_rows(
    txn: &mut Txn,
    sj: &SemiJoin,
    params: &[Datum],
    only: Option<Arc<HashSet<Vec<KeyPart>>>>,
) -> Result<Vec<Row>> {
    Ok(match projected_scan(txn, &sj.plan, params, only, sj.keys.len()).await? {
        Some(rows) => rows,
        None => crate::relation::run_plan(txn, &sj.plan, params).await?,
    })
}

/// The FROM rows `rows` that `sj` keeps, joined on the coordinating shard.
pub(crate) async fn filter(txn: &mut Txn, sj: &SemiJoin, rows: Vec<Row>, params: &[Datum]) -> Result<Vec<Row>> {
    let memory = txn.memory();
    let mut held = crate::memory::Held::hash(memory, "hash semi join build table");
    // No key reduction for a NULL-aware join: an inner row with a NULL element matters to outer
    // rows of other keys.
    let keys = if sj.null_aware { vec![None; rows.len()] } else { outer_keys(sj, &rows, params)? };
    let inner = match looked_up(txn, sj, &rows, &keys, params, &mut held).await? {
        Some(inner) => inner,
        None => {
            let only = if sj.null_aware { None } else { reduction(sj, &keys).map(Arc::new) };
            if let Some(set) = &only {
                held.add(set.iter().map(|k| k.len() * 16 + crate::memory::ENTRY_OVERHEAD).sum())?;
            }
            inner_rows(txn, sj, params, only).await?
        }
    };
    let mut charge = |b: usize| held.add(b);
    let mut table = build_table(sj, inner, &mut charge)?;
    let mut prober = Prober::new(sj);
    let mut out = Vec::with_capacity(rows.len());
    for (done, (row, key)) in rows.into_iter().zip(keys).enumerate() {
        if done % CANCEL_CHECK_ROWS == CANCEL_CHECK_ROWS - 1 {
            txn.check_cancel()?;
        }
        let key = if sj.null_aware { None } else { Some(key) };
        if prober.keeps(sj, &mut table, &row, key, params, &mut charge)? {
            out.push(row);
        }
    }
    drop(table);
    drop(held);
    Ok(out)
}

/// The inner rows of `sj` for the outer rows `rows` (their keys `keys`) read by key: when the
/// inner plan is one stored table whose primary key (or leading columns of it, or an index)
/// the join's keys cover, as plain columns of the outer keys' types, and the outer rows'
/// distinct keys are few next to that table ([`crate::index_join::cheaper`]), each key's rows
/// are looked up ([`crate::index_join::rows`]: the transaction's own writes included, the
/// inner plan's own conditions checked on the shards) instead of the table being read whole
/// (PostgreSQL's nested loop semi join over an index scan; TPC-H Q21's EXISTS and NOT EXISTS
/// on lineitem by l_orderkey). Each row found is projected as the inner plan projects it (the
/// keys, then the columns the residual reads). None where the join cannot or should not.
async fn looked_up(
    txn: &Txn,
    sj: &SemiJoin,
    rows: &[Row],
    keys: &[Option<Vec<KeyPart>>],
    params: &[Datum],
    held: &mut crate::memory::Held,
) -> Result<Option<Vec<Row>>> {
    let Plan::Select(p) = sj.plan.as_ref() else { return Ok(None) };
    let Some(def) = &p.table else { return Ok(None) };
    if sj.null_aware || p.grouped || p.join.is_some() || p.key.is_some() || sj.keys.is_empty() {
        return Ok(None);
    }
    // Each key an inner column of the outer key's type (their encoded keys compare alike).
    let mut eq = Vec::with_capacity(sj.keys.len());
    for (k, (outer, inner)) in sj.keys.iter().zip(&sj.inner_exprs).enumerate() {
        let Expr::Column(c, ty) = inner else { return Ok(None) };
        let (a, b) = (outer.ty(), *ty);
        if !(a == b || (a.is_integer() && b.is_integer())) {
            return Ok(None);
        }
        eq.push((k, *c));
    }
    let Some(lookup) = crate::index_join::path(def, &eq) else { return Ok(None) };
    // The outer rows' distinct keys, as rows of their values (a key with a NULL matches nothing).
    let mut seen: HashSet<&[KeyPart]> = HashSet::new();
    let mut distinct: Vec<Row> = Vec::new();
    for (row, key) in rows.iter().zip(keys) {
        let Some(key) = key else { continue };
        if !seen.insert(key.as_slice()) {
            continue;
        }
        let cx = Ctx { row, params, aggs: &[] };
        distinct.push(sj.keys.iter().map(|e| expr::eval(e, &cx)).collect::<Result<_>>()?);
    }
    drop(seen);
    // EXISTS and IN are not under the join switches (see crate::index_join::Methods).
    let methods = crate::index_join::Methods::ALL;
    if !crate::index_join::cheaper(&lookup, distinct.len() as f64, crate::stats::table_rows(def), methods) {
        return Ok(None);
    }
    held.rows(distinct.iter())?;
    let found = crate::index_join::rows(txn, def, &lookup, &distinct, p.filter.as_ref(), params, None).await?;
    txn.check_cancel()?;
    let mut whole = crate::memory::Held::new(txn.memory(), "rows looked up by key");
    whole.rows(found.iter())?;
    let mut out = Vec::with_capacity(found.len());
    for row in &found {
        let cx = Ctx { row, params, aggs: &[] };
        out.push(p.projection.iter().map(|e| expr::eval(e, &cx)).collect::<Result<Row>>()?);
    }
    Ok(Some(out))
}

/// The inner rows of a plain one-table inner plan, each shard sending only the columns the join
/// needs (a scan sends whole rows), and with `only`, only the rows whose keys (the first
/// `keys` columns) are among those. None where the plan is not that, or the transaction changed
/// the table (the ordinary scan overlays its own writes).
async fn projected_scan(
    txn: &Txn,
    plan: &Plan,
    params: &[Datum],
    only: Option<Arc<HashSet<Vec<KeyPart>>>>,
    nkeys: usize,
) -> Result<Option<Vec<Row>>> {
    let Plan::Select(p) = plan else { return Ok(None) };
    let Some(table) = &p.table else { return Ok(None) };
    if p.grouped
        || p.join.is_some()
        || p.key.is_some()
        || crate::relation::is_derived(table)
        || crate::catalog::is_view(table)
        || txn.overlay(table).is_some()
    {
        return Ok(None);
    }
    let name = table.name.clone();
    let filter = p.filter.clone();
    let projection = p.projection.clone();
    let params_copy = params.to_vec();
    let at = txn.read_at();
    txn.note_read(table, || crate::serializable::Read::Table);
    // Each shard stops once its part alone would be past the statement's memory bound.
    let (used, limit) = (txn.memory().used(), txn.memory().limit());
    let parts = crate::exec::on_every_shard_at(at, move |s| {
        let t = s.tables.get(&name).ok_or_else(|| crate::exec::no_table(&name))?;
        let mut out = Vec::new();
        let mut bytes = used;
        // With `only`, a row's key is checked first (in one reused buffer): most rows stop there,
        // before the filter and before anything is copied.
        let mut key: Vec<KeyPart> = Vec::with_capacity(nkeys);
        for (_, row) in t.scan_at(at).map_err(crate::exec::too_old)? {
            let cx = Ctx { row, params: &params_copy, aggs: &[] };
            if let Some(keys) = &only {
                key.clear();
                for e in projection.iter().take(nkeys) {
                    let v = expr::operand(e, &cx)?;
                    if v.is_null() {
                        break;
                    }
                    key.push(crate::group::key_part(&v));
                }
                if key.len() < nkeys || !keys.contains(key.as_slice()) {
                    continue;
                }
            }
            if !crate::exec::matches(filter.as_ref(), row, &params_copy)? {
                continue;
            }
            let r: Row = projection.iter().map(|e| expr::eval(e, &cx)).collect::<Result<_>>()?;
            let size = crate::memory::row_bytes(&r);
            bytes += size;
            if bytes > limit {
                return Err(crate::memory::out_of_memory("rows from shards", size, bytes - size, limit));
            }
            out.push(r);
        }
        Ok::<_, crate::error::SqlError>(out)
    })
    .await?;
    txn.check_cancel()?;
    let mut all = Vec::new();
    for part in parts {
        all.extend(part?);
    }
    Ok(Some(all))
}

/// The FROM rows that every semi and anti join of `joins` keeps, in order.
pub(crate) async fn apply(
    txn: &mut Txn,
    joins: Vec<&SemiJoin>,
    mut rows: Vec<Row>,
    params: &[Datum],
) -> Result<Vec<Row>> {
    for sj in joins {
        if rows.is_empty() {
            break;
        }
        rows = filter(txn, sj, rows, params).await?;
    }
    Ok(rows)
}

/// Applies `f` (as [`crate::relation::walk`]) to every expression of a semi join.
pub(crate) fn map(sj: &mut SemiJoin, f: &mut dyn FnMut(&mut Expr) -> Result<bool>) -> Result<()> {
    crate::relation::map_plan(&mut sj.plan, f)?;
    for k in &mut sj.keys {
        walk(k, f)?;
    }
    if let Some(r) = &mut sj.residual {
        walk(r, f)?;
    }
    if let Some(t) = &mut sj.not_in {
        walk(t, f)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(a: Option<i32>, b: Option<&str>) -> Row {
        vec![a.map_or(Datum::Null, Datum::Int4), b.map_or(Datum::Null, |s| Datum::Text(s.into()))]
    }

    #[test]
    fn null_aware_not_in_follows_row_comparison() {
        let mut none = |_: usize| Ok(());
        let inner = vec![row(Some(1), Some("a")), row(Some(3), None), row(None, Some("d")), row(Some(1), Some("a"))];
        let mut t = NullAware::build(inner, 2, &mut none).unwrap();
        // Equal to an inner row: IN is true, NOT IN false.
        assert!(!t.keeps(&row(Some(1), Some("a")), &mut none).unwrap());
        // (3, 'x') against (3, NULL): NULL, the row goes.
        assert!(!t.keeps(&row(Some(3), Some("x")), &mut none).unwrap());
        // (5, 'd') against (NULL, 'd'): NULL.
        assert!(!t.keeps(&row(Some(5), Some("d")), &mut none).unwrap());
        // Differs from every inner row somewhere neither is NULL: true.
        assert!(t.keeps(&row(Some(2), Some("b")), &mut none).unwrap());
        // (2, NULL): (3, NULL) and (1, 'a') differ on the first element, (NULL, 'd') compares
        // nothing: NULL.
        assert!(!t.keeps(&row(Some(2), None), &mut none).unwrap());
        // No inner rows: NOT IN is true even for NULLs.
        let mut empty = NullAware::build(Vec::new(), 2, &mut none).unwrap();
        assert!(empty.keeps(&row(None, None), &mut none).unwrap());
    }

    #[test]
    fn null_aware_table_is_charged() {
        let mut budget = 64usize;
        let mut charge = |b: usize| {
            budget = budget.checked_sub(b).ok_or_else(|| crate::error::SqlError::new("53200", "out of memory"))?;
            Ok(())
        };
        let inner: Vec<Row> = (0..100).map(|i| row(Some(i), Some("x"))).collect();
        assert!(NullAware::build(inner, 2, &mut charge).is_err());
    }
}
