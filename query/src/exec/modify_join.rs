//! `UPDATE ... FROM` and `DELETE ... USING`: the joined rows that pass WHERE pick the target
//! rows; a target row joined with several rows changes once, by its first match (PostgreSQL
//! leaves which one unspecified). Each picked row is locked and WHERE re-checked on its latest
//! version, as a plain UPDATE/DELETE does (PostgreSQL's READ COMMITTED re-check, the other
//! tables' rows kept as they were read).

use super::{check_not_null, matches, returning_rows, write_updates, QueryResult, Written};
use crate::error::{Result, SqlError};
use crate::expr::{self, Ctx, Expr};
use crate::join::JoinPlan;
use crate::txn::{SnapshotCheck, Txn};
use orbit_engine::table::{Row, TableDef};
use std::collections::HashSet;
use std::sync::Arc;

/// The target rows to change, each with its key and joined row (the target's latest values
/// first).
async fn matched(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    join: &JoinPlan,
    filter: Option<&Expr>,
    params: &[orbit_engine::table::Datum],
) -> Result<Vec<(Vec<u8>, Row)>> {
    let width = table.row_len();
    let mut seen = HashSet::new();
    let mut first = Vec::new();
    for row in crate::join::rows(txn, join, params).await? {
        if row.len() < width || !matches(filter, &row, params)? {
            continue;
        }
        let k = table.key_of(&row[..width]);
        if seen.insert(k.clone()) {
            first.push((k, row));
        }
    }
    let with = |latest: &Row, joined: &Row| -> Row {
        let mut r = latest.clone();
        r.extend_from_slice(&joined[width..]);
        r
    };
    let mut out = Vec::with_capacity(first.len());
    let mut to_lock = Vec::new();
    for (k, joined) in first {
        match txn.own(table, &k) {
            Some(Some(latest)) => {
                let r = with(latest, &joined);
                if matches(filter, &r, params)? {
                    out.push((k, r));
                }
            }
            Some(None) => {}
            None => to_lock.push((k, joined)),
        }
    }
    let keys = to_lock.iter().map(|(k, _)| k.clone()).collect();
    let latest = txn.lock_changing(table, keys, SnapshotCheck::Changed).await?;
    for ((k, joined), latest) in to_lock.into_iter().zip(latest) {
        if let Some(latest) = latest {
            let r = with(&latest, &joined);
            if matches(filter, &r, params)? {
                out.push((k, r));
            }
        }
    }
    Ok(out)
}

pub(super) async fn update_from(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    join: &JoinPlan,
    filter: Option<&Expr>,
    sets: &[(usize, Expr)],
    written: Written<'_>,
    params: &[orbit_engine::table::Datum],
) -> Result<QueryResult> {
    txn.check_writable("UPDATE")?;
    let set_exprs: Vec<Expr> = sets.iter().map(|(_, e)| e.clone()).collect();
    if crate::sequence::any_uses(&set_exprs) {
        return Err(SqlError::unsupported("nextval(), currval() and setval() are not supported in UPDATE ... FROM"));
    }
    let set_columns: Vec<usize> = sets.iter().map(|(i, _)| *i).collect();
    let fired = crate::triggers::Fired::of(table, crate::triggers::Op::Update, &set_columns);
    if let Some(f) = &fired {
        f.statement(txn, true).await?;
    }
    let width = table.row_len();
    let rows = matched(txn, table, join, filter, params).await?;
    // Compute every new row first: an error leaves the write set untouched.
    let generated = crate::bind::GeneratedColumns::of(table)?;
    let mut computed = Vec::with_capacity(rows.len());
    for (k, joined) in rows {
        let cx = Ctx { row: &joined, params, aggs: &[] };
        let mut new: Row = joined[..width].to_vec();
        for (i, e) in sets {
            new[*i] = expr::eval(e, &cx)?;
        }
        computed.push((k, joined, new));
    }
    if let Some(f) = fired.as_ref().filter(|f| f.has_row_triggers()) {
        // BEFORE ROW triggers may change each new row or skip it.
        let pairs = computed.iter().map(|(_, joined, new)| (Some(joined[..width].to_vec()), new.clone())).collect();
        let kept = f.before_rows(txn, pairs).await?;
        computed = computed.into_iter().zip(kept).filter_map(|((k, j, _), n)| n.map(|n| (k, j, n))).collect();
    }
    let mut changes = Vec::with_capacity(computed.len());
    let mut returned = Vec::with_capacity(computed.len());
    let old: Vec<Row> = computed.iter().map(|(_, r, _)| r[..width].to_vec()).collect();
    for (k, joined, mut new) in computed {
        generated.fill(&mut new)?;
        check_not_null(table, &new)?;
        let nk = table.key_of(&new);
        if written.returning.is_some() || !written.checks.is_empty() {
            let mut r = new.clone();
            r.extend_from_slice(&joined[width..]);
            returned.push(r);
        }
        changes.push((k, nk, new));
    }
    let refused = written.refused(table, &returned, params)?;
    let out = returning_rows(written.returning, &returned, params)?;
    let count = changes.len();
    let new_rows: Vec<Row> = if fired.is_some() { changes.iter().map(|c| c.2.clone()).collect() } else { Vec::new() };
    write_updates(txn, table, &old.iter().collect::<Vec<_>>(), changes).await?;
    if let Some(e) = refused {
        return Err(e);
    }
    if let Some(f) = &fired {
        let pairs: Vec<(Option<&Row>, Option<&Row>)> =
            old.iter().zip(&new_rows).map(|(o, n)| (Some(o), Some(n))).collect();
        f.after_rows(txn, &pairs).await?;
        f.statement(txn, false).await?;
    }
    Ok(QueryResult { rows: out, tag: format!("UPDATE {count}"), notices: vec![] })
}

pub(super) async fn delete_using(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    join: &JoinPlan,
    filter: Option<&Expr>,
    returning: Option<&[Expr]>,
    params: &[orbit_engine::table::Datum],
) -> Result<QueryResult> {
    txn.check_writable("DELETE")?;
    let fired = crate::triggers::Fired::of(table, crate::triggers::Op::Delete, &[]);
    if let Some(f) = &fired {
        f.statement(txn, true).await?;
    }
    let mut rows = matched(txn, table, join, filter, params).await?;
    let width = table.row_len();
    if let Some(f) = fired.as_ref().filter(|f| f.has_row_triggers()) {
        // BEFORE ROW triggers may skip a row (NULL).
        let pairs = rows.iter().map(|(_, r)| (Some(r[..width].to_vec()), r[..width].to_vec())).collect();
        let kept = f.before_rows(txn, pairs).await?;
        rows = rows.into_iter().zip(kept).filter(|(_, k)| k.is_some()).map(|(r, _)| r).collect();
    }
    let joined: Vec<Row> = rows.iter().map(|(_, r)| r.clone()).collect();
    let out = returning_rows(returning, &joined, params)?;
    let count = rows.len();
    if !table.indexes.is_empty() {
        let width = table.row_len();
        let old: Vec<Row> = rows.iter().map(|(_, r)| r[..width].to_vec()).collect();
        let changes: Vec<crate::index::RowChange> = old.iter().map(|r| (Some(r), None)).collect();
        crate::index::maintain(txn, table, &changes).await?;
    }
    let gone: Vec<Row> = if crate::foreign_key::is_referenced(table) || fired.is_some() {
        rows.iter().map(|(_, r)| r[..width].to_vec()).collect()
    } else {
        Vec::new()
    };
    for (k, _) in rows {
        txn.write(table, k, None)?;
    }
    crate::foreign_key::after_delete(txn, table, &gone).await?;
    if let Some(f) = &fired {
        let pairs: Vec<(Option<&Row>, Option<&Row>)> = gone.iter().map(|r| (Some(r), None)).collect();
        f.after_rows(txn, &pairs).await?;
        f.statement(txn, false).await?;
    }
    Ok(QueryResult { rows: out, tag: format!("DELETE {count}"), notices: vec![] })
}
