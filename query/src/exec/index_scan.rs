//! Reads through a secondary index: a filter with `column = value` on every column of a unique
//! index reads the one entry for those values (on the one shard that holds it); a filter with
//! equalities on the leading columns of any index, or a range (`<`, `<=`, `>`, `>=`, BETWEEN) on
//! its first column not pinned, reads that ordered key range of the entries on every shard
//! instead of every row; then the rows the entries point at are fetched by primary key and the
//! whole filter is checked on them. The transaction's own changes to the index and the table
//! are overlaid, as for a scan.
//!
//! An expression key (`lower(email)`) counts as pinned by a filter conjunct comparing the same
//! bound expression with a value; a partial index is read only for a filter whose conjuncts
//! include every conjunct of its predicate (the rows it lacks cannot match then).
//!
//! The index is chosen when the statement runs (a filter's comparisons are few): a unique index
//! read in full first, then the index whose leading columns the filter pins most. There are no
//! statistics yet, so a range that covers most of a table is still read through the index.

use super::{matches, on_every_shard_at, read_key, shard_of_key};
use crate::error::Result;
use crate::expr::{self, CmpOp, Ctx, Expr};
use crate::txn::Txn;
use orbit_engine::table::{key, Datum, IndexDef, Row, SqlType, TableDef};
use orbit_shards::{mesh, state};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// The access-path switches `enable_seqscan` and `enable_indexscan` a SELECT over one stored
/// table was bound under. As in PostgreSQL a switched-off path costs `disable_cost` more, not a
/// ban: with index scans off and sequential scans on, the table is read whole instead of
/// through its primary key (a lookup or a key range) or an index; with sequential scans off,
/// a key or index that serves the filter is used (as it is anyway: Orbit reads through one
/// whenever one applies) and a table none serves is still read whole, its Seq Scan costing
/// `disable_cost` more in EXPLAIN; with both off, as with both on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paths {
    pub seqscan: bool,
    pub indexscan: bool,
}

impl Paths {
    pub const ALL: Paths = Paths { seqscan: true, indexscan: true };

    /// The session's switches, read by the binder (noted: a prepared statement binds again
    /// when they change).
    pub(crate) fn bound() -> Paths {
        let on = |name: &str| crate::settings::bound_value(name).is_none_or(|v| v == "on");
        Paths { seqscan: on("enable_seqscan"), indexscan: on("enable_indexscan") }
    }

    /// Whether a key or index that serves the filter is read through (else the table is read
    /// whole): the cheaper path once the switched-off ones cost `disable_cost` more.
    pub fn use_index(self) -> bool {
        self.indexscan || !self.seqscan
    }
}

/// How a read uses an index: values for its leading columns, then maybe a range of values of
/// the next one (`col > x`, `col <= y`, BETWEEN): bounds with whether they are inclusive.
pub(crate) struct Access<'a> {
    pub index: &'a IndexDef,
    pub eq: Vec<Expr>,
    pub lower: Option<(Expr, bool)>,
    pub upper: Option<(Expr, bool)>,
}

impl Access<'_> {
    fn has_range(&self) -> bool {
        self.lower.is_some() || self.upper.is_some()
    }

    fn point(&self) -> bool {
        self.index.unique && self.eq.len() == self.index.columns.len()
    }
}

/// The column-versus-value comparisons of a filter usable as index bounds: (column, op as
/// `column op value`, value).
fn comparisons(filter: &Expr, table: &TableDef) -> Vec<(usize, CmpOp, Expr)> {
    let mut parts = Vec::new();
    crate::join::conjuncts(filter, &mut parts);
    let same_kind = |a: SqlType, b: SqlType| {
        (a.is_integer() && b.is_integer())
            || (a.is_float() && b.is_float())
            || (a.is_string() && b.is_string())
            || a == b
    };
    let flip = CmpOp::flipped;
    parts
        .into_iter()
        .filter_map(|p| match p {
            Expr::Cmp(op @ (CmpOp::Lt | CmpOp::LtEq | CmpOp::Gt | CmpOp::GtEq), a, b) => match (*a, *b) {
                (Expr::Column(i, t), v) if v.is_row_independent() && same_kind(t, v.ty()) => Some((i, op, v)),
                (v, Expr::Column(i, t)) if v.is_row_independent() && same_kind(t, v.ty()) => Some((i, flip(op), v)),
                _ => None,
            },
            _ => None,
        })
        .filter(|(i, _, _)| *i < table.columns.len())
        .collect()
}

/// The index to read for `filter`: a unique index whose every column the filter pins first,
/// then the one whose leading columns it pins most (a range on the next column counting half).
pub(crate) fn choose<'a>(table: &'a TableDef, filter: &Expr) -> Option<Access<'a>> {
    if table.indexes.is_empty() {
        return None;
    }
    let eq = crate::bind::equalities(filter, table);
    let cmp = comparisons(filter, table);
    // Only expression keys can serve a filter without column comparisons.
    if eq.is_empty() && cmp.is_empty() && table.indexes.iter().all(|x| x.exprs.is_empty()) {
        return None;
    }
    let mut best: Option<Access> = None;
    for ix in &table.indexes {
        if !ix.is_special() {
            if eq.is_empty() && cmp.is_empty() {
                continue;
            }
            let vals: Vec<Expr> =
                ix.columns.iter().map_while(|c| eq.iter().find(|(i, _)| i == c).map(|(_, v)| v.clone())).collect();
            let mut lower_upper = (None, None);
            if let Some(&next) = ix.columns.get(vals.len()) {
                bounds(cmp.iter().filter(|(i, _, _)| *i == next).map(|(_, op, v)| (*op, v)), &mut lower_upper);
            }
            consider(Access { index: ix, eq: vals, lower: lower_upper.0, upper: lower_upper.1 }, &mut best);
            continue;
        }
        // An expression index: its keys are matched as bound expressions; a partial one only
        // serves a filter that implies its predicate.
        if !crate::index::implied_by(table, ix, Some(filter)).unwrap_or(false) {
            continue;
        }
        let Ok(b) = crate::index::bound_index(table, ix) else { continue };
        let mut exprs = b.0.iter();
        let keys: Vec<Option<Expr>> =
            ix.columns
                .iter()
                .map(|&c| {
                    if c == IndexDef::EXPR {
                        exprs.next().cloned()
                    } else {
                        Some(Expr::Column(c, table.columns[c].ty))
                    }
                })
                .collect();
        let key_cmp = |k: &Expr| expr_comparisons(filter, k);
        let mut vals = Vec::new();
        for k in keys.iter() {
            let Some(k) = k else { break };
            match key_cmp(k).into_iter().find(|(op, _)| *op == CmpOp::Eq) {
                Some((_, v)) => vals.push(v),
                None => break,
            }
        }
        let mut lower_upper = (None, None);
        if let Some(Some(next)) = keys.get(vals.len()) {
            let c = key_cmp(next);
            bounds(c.iter().map(|(op, v)| (*op, v)), &mut lower_upper);
        }
        consider(Access { index: ix, eq: vals, lower: lower_upper.0, upper: lower_upper.1 }, &mut best);
    }
    best
}

/// A bound of a key range: a value and whether it is inclusive.
pub(crate) type KeyBound = Option<(Expr, bool)>;

/// The lower and upper bounds the filter's comparisons of column `col` with values give
/// (`col > x`, `col <= y`, BETWEEN; the first of each). A `character(n)` column has none: its
/// comparisons ignore trailing blanks, its encoded keys do not.
pub(crate) fn column_bounds(filter: &Expr, table: &TableDef, col: usize) -> (KeyBound, KeyBound) {
    let mut out = (None, None);
    if matches!(table.columns.get(col).map(|c| c.ty), Some(SqlType::Bpchar(_))) {
        return out;
    }
    let cmp = comparisons(filter, table);
    bounds(cmp.iter().filter(|(i, _, _)| *i == col).map(|(_, op, v)| (*op, v)), &mut out);
    out
}

/// The encoded key range of keys starting with `prefix` whose next value is within `lower`
/// and `upper` (values with whether they are inclusive): from (included) and to (excluded;
/// None: to the end). None: the range is empty.
pub(crate) fn key_bounds(
    prefix: &[u8],
    lower: Option<&(Datum, bool)>,
    upper: Option<&(Datum, bool)>,
) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    let with = |v: &Datum| {
        let mut k = prefix.to_vec();
        k.extend(key::encode(std::iter::once(v)));
        k
    };
    let from = match lower {
        Some((v, true)) => with(v),
        Some((v, false)) => after_prefix(&with(v))?,
        None => prefix.to_vec(),
    };
    let to = match upper {
        Some((v, false)) => Some(with(v)),
        Some((v, true)) => after_prefix(&with(v)),
        None => after_prefix(prefix),
    };
    // `k > 10 AND k < 5`: nothing (an ordered map's range must not start past its end).
    if to.as_ref().is_some_and(|t| from >= *t) {
        return None;
    }
    Some((from, to))
}

/// The lower and upper bounds among comparisons `key op value` (the first of each).
fn bounds<'e>(cmp: impl Iterator<Item = (CmpOp, &'e Expr)>, out: &mut (KeyBound, KeyBound)) {
    for (op, v) in cmp {
        match op {
            CmpOp::Gt | CmpOp::GtEq if out.0.is_none() => out.0 = Some((v.clone(), op == CmpOp::GtEq)),
            CmpOp::Lt | CmpOp::LtEq if out.1.is_none() => out.1 = Some((v.clone(), op == CmpOp::LtEq)),
            _ => {}
        }
    }
}

/// Keeps `a` as the best access if it beats `best`: a unique index read in full, then the
/// most leading keys pinned (a range on the next counting half).
fn consider<'a>(a: Access<'a>, best: &mut Option<Access<'a>>) {
    if a.eq.is_empty() && !a.has_range() {
        return;
    }
    let score = |a: &Access| (a.point(), a.eq.len() * 2 + a.has_range() as usize);
    if best.as_ref().is_none_or(|b| score(&a) > score(b)) {
        *best = Some(a);
    }
}

/// The filter's comparisons of `key` (an expression over the row, matched as bound) with a
/// value not depending on the row, as `key op value`.
fn expr_comparisons(filter: &Expr, key: &Expr) -> Vec<(CmpOp, Expr)> {
    let mut parts = Vec::new();
    crate::join::conjuncts(filter, &mut parts);
    let want = format!("{key:?}");
    let kt = key.ty();
    let same_kind = |b: SqlType| {
        (kt.is_integer() && b.is_integer())
            || (kt.is_float() && b.is_float())
            || (kt.is_string() && b.is_string())
            || kt == b
    };
    let flip = CmpOp::flipped;
    parts
        .into_iter()
        .filter_map(|p| match p {
            Expr::Cmp(op @ (CmpOp::Eq | CmpOp::Lt | CmpOp::LtEq | CmpOp::Gt | CmpOp::GtEq), a, b) => {
                if format!("{a:?}") == want && b.is_row_independent() && same_kind(b.ty()) {
                    Some((op, *b))
                } else if format!("{b:?}") == want && a.is_row_independent() && same_kind(a.ty()) {
                    Some((flip(op), *a))
                } else {
                    None
                }
            }
            _ => None,
        })
        .collect()
}

/// The smallest key greater than every key that starts with `prefix` (None: there is none).
pub(crate) fn after_prefix(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut k = prefix.to_vec();
    while let Some(last) = k.pop() {
        if last < 0xFF {
            k.push(last + 1);
            return Some(k);
        }
    }
    None
}

/// The rows of `table` matching `filter`, read through `index` whose leading columns `values`
/// pins, as this transaction sees them.
pub(super) async fn rows(
    txn: &Txn,
    table: &Arc<TableDef>,
    access: &Access<'_>,
    filter: &Expr,
    params: &[Datum],
) -> Result<Vec<(Vec<u8>, Row)>> {
    let index = access.index;
    let cx = Ctx { row: &[], params, aggs: &[] };
    let vals = access.eq.iter().map(|e| expr::eval(e, &cx)).collect::<Result<Vec<_>>>()?;
    let bound = |b: &Option<(Expr, bool)>| -> Result<Option<(Datum, bool)>> {
        b.as_ref().map(|(e, inclusive)| expr::eval(e, &cx).map(|v| (v, *inclusive))).transpose()
    };
    let (lower, upper) = (bound(&access.lower)?, bound(&access.upper)?);
    if vals.iter().chain(lower.iter().map(|b| &b.0)).chain(upper.iter().map(|b| &b.0)).any(|v| v.is_null()) {
        // `column = NULL`, `column < NULL` match nothing.
        return Ok(Vec::new());
    }
    let idef = crate::index::index_table(table, index)?;
    let prefix = key::encode(vals.iter());
    // The entries' key range: the prefix of the equal values, narrowed by the bounds.
    let Some((from, to)) = key_bounds(&prefix, lower.as_ref(), upper.as_ref()) else { return Ok(Vec::new()) };
    let mut entries: BTreeMap<Vec<u8>, Row> = BTreeMap::new();
    if access.point() {
        match txn.own(&idef, &prefix) {
            Some(Some(e)) => {
                entries.insert(prefix.clone(), e.clone());
            }
            Some(None) => {}
            None => {
                txn.note_read(&idef, || crate::serializable::Read::Key(prefix.clone()));
                if let Some(e) = read_key(&idef, prefix.clone(), None, params, txn.read_at()).await? {
                    entries.insert(prefix.clone(), e);
                }
            }
        }
    } else {
        let (name, oid, f, t) = (idef.name.clone(), idef.oid, from.clone(), to.clone());
        let at = txn.read_at();
        txn.note_read(&idef, || crate::serializable::Read::Range(from.clone(), to.clone()));
        let parts = on_every_shard_at(at, move |s| {
            let Some(tb) = s.tables.get(&name).filter(|tb| tb.def.oid == oid) else { return Ok(Vec::new()) };
            let hi = t.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
            let rows = tb.range_at(Bound::Included(f.as_slice()), hi, at).map_err(super::too_old)?;
            Ok::<_, crate::error::SqlError>(rows.map(|(k, r)| (k.clone(), r.clone())).collect::<Vec<_>>())
        })
        .await?;
        for part in parts {
            entries.extend(part?);
        }
        if let Some(w) = txn.overlay(&idef) {
            let in_range = |k: &Vec<u8>| to.as_ref().is_none_or(|t| k < t);
            for (k, r) in w.rows.range(from.clone()..).take_while(|(k, _)| in_range(k)) {
                match r {
                    Some(r) => entries.insert(k.clone(), r.clone()),
                    None => entries.remove(k),
                };
            }
        }
    }
    // The rows the entries point at, by primary key: the transaction's own first, the others
    // from their shards in one hop per shard.
    let (_, n) = state::local();
    let mut out = Vec::with_capacity(entries.len());
    let mut remote: BTreeMap<usize, Vec<Vec<u8>>> = BTreeMap::new();
    for e in entries.values() {
        let k = table.key_of_entry(index, e);
        match txn.own(table, &k) {
            Some(Some(row)) => {
                if matches(Some(filter), row, params)? {
                    out.push((k, row.clone()));
                }
            }
            Some(None) => {}
            None => {
                txn.note_read(table, || crate::serializable::Read::Key(k.clone()));
                remote.entry(shard_of_key(&k, n)).or_default().push(k)
            }
        }
    }
    for (shard, keys) in remote {
        let (name, oid, f, p) = (table.name.clone(), table.oid, filter.clone(), params.to_vec());
        let at = txn.read_at();
        let got = mesh::run_on(shard, move |s| {
            let mut got = Vec::new();
            if let Some(t) = s.tables.get(&name).filter(|t| t.def.oid == oid) {
                for k in keys {
                    if let Some(row) = t.get_at(&k, at).map_err(super::too_old)? {
                        if matches(Some(&f), row, &p)? {
                            got.push((k, row.clone()));
                        }
                    }
                }
            }
            Ok::<_, crate::error::SqlError>(got)
        })
        .await
        .map_err(super::gone)??;
        out.extend(got);
    }
    Ok(out)
}

/// EXPLAIN's line for a read through an index, if the filter allows one.
pub(crate) fn describe(table: &TableDef, filter: &Expr) -> Option<String> {
    let a = choose(table, filter)?;
    Some(if a.point() {
        format!("Index Scan using {} on {}", a.index.name, table.name)
    } else {
        format!("Index Scan using {} on {} (every shard)", a.index.name, table.name)
    })
}
