//! Reads through a secondary index: a filter with `column = value` on every column of a unique
//! index reads the one entry for those values (on the one shard that holds it), and a filter
//! with equalities on the leading columns of any index reads the entries with that key prefix
//! (an ordered range on every shard) instead of every row; then the rows the entries point at
//! are fetched by primary key and the whole filter is checked on them. The transaction's own
//! changes to the index and the table are overlaid, as for a scan.
//!
//! The index is chosen when the statement runs (a filter's equalities are few): a unique index
//! read in full first, then the index whose leading columns the filter pins most.

use super::{matches, on_every_shard, read_key, shard_of_key};
use crate::error::Result;
use crate::expr::{self, Ctx, Expr};
use crate::txn::Txn;
use orbit_engine::table::{key, Datum, IndexDef, Row, TableDef};
use orbit_shards::{mesh, state};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The index to read for `filter`, and the values of its leading columns the filter pins.
pub(crate) fn choose<'a>(table: &'a TableDef, filter: &Expr) -> Option<(&'a IndexDef, Vec<Expr>)> {
    if table.indexes.is_empty() {
        return None;
    }
    let eq = crate::bind::equalities(filter, table);
    if eq.is_empty() {
        return None;
    }
    let mut best: Option<(&IndexDef, Vec<Expr>)> = None;
    for ix in &table.indexes {
        let vals: Vec<Expr> =
            ix.columns.iter().map_while(|c| eq.iter().find(|(i, _)| i == c).map(|(_, v)| v.clone())).collect();
        if vals.is_empty() {
            continue;
        }
        let full_unique = ix.unique && vals.len() == ix.columns.len();
        let better = match &best {
            None => true,
            Some((b, bv)) => {
                let b_full = b.unique && bv.len() == b.columns.len();
                (full_unique && !b_full) || (full_unique == b_full && vals.len() > bv.len())
            }
        };
        if better {
            best = Some((ix, vals));
        }
    }
    best
}

/// The rows of `table` matching `filter`, read through `index` whose leading columns `values`
/// pins, as this transaction sees them.
pub(super) async fn rows(
    txn: &Txn,
    table: &Arc<TableDef>,
    index: &IndexDef,
    values: &[Expr],
    filter: &Expr,
    params: &[Datum],
) -> Result<Vec<(Vec<u8>, Row)>> {
    let cx = Ctx { row: &[], params, aggs: &[] };
    let vals = values.iter().map(|e| expr::eval(e, &cx)).collect::<Result<Vec<_>>>()?;
    if vals.iter().any(|v| v.is_null()) {
        // `column = NULL` matches nothing.
        return Ok(Vec::new());
    }
    let idef = crate::index::index_table(table, index)?;
    let prefix = key::encode(vals.iter());
    let mut entries: BTreeMap<Vec<u8>, Row> = BTreeMap::new();
    if index.unique && vals.len() == index.columns.len() {
        match txn.own(&idef, &prefix) {
            Some(Some(e)) => {
                entries.insert(prefix.clone(), e.clone());
            }
            Some(None) => {}
            None => {
                if let Some(e) = read_key(&idef, prefix.clone(), None, params).await? {
                    entries.insert(prefix.clone(), e);
                }
            }
        }
    } else {
        let (name, oid, p) = (idef.name.clone(), idef.oid, prefix.clone());
        let parts = on_every_shard(move |s| {
            s.tables
                .get(&name)
                .filter(|t| t.def.oid == oid)
                .map(|t| t.scan_prefix(&p).map(|(k, r)| (k.clone(), r.clone())).collect::<Vec<_>>())
                .unwrap_or_default()
        })
        .await?;
        entries.extend(parts.into_iter().flatten());
        if let Some(w) = txn.overlay(&idef) {
            for (k, r) in w.rows.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)) {
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
            None => remote.entry(shard_of_key(&k, n)).or_default().push(k),
        }
    }
    for (shard, keys) in remote {
        let (name, oid, f, p) = (table.name.clone(), table.oid, filter.clone(), params.to_vec());
        let got = mesh::run_on(shard, move |s| {
            let mut got = Vec::new();
            if let Some(t) = s.tables.get(&name).filter(|t| t.def.oid == oid) {
                for k in keys {
                    if let Some(row) = t.get(&k) {
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
    let (ix, vals) = choose(table, filter)?;
    Some(if ix.unique && vals.len() == ix.columns.len() {
        format!("Index Scan using {} on {}", ix.name, table.name)
    } else {
        format!("Index Scan using {} on {} (every shard)", ix.name, table.name)
    })
}
