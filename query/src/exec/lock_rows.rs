//! `SELECT ... FOR UPDATE [NOWAIT | SKIP LOCKED]`: the rows the query returns are locked for
//! the transaction, in ORDER BY order, as PostgreSQL's LockRows node does under its Limit: with
//! a LIMIT, rows are locked one at a time until OFFSET + LIMIT of them are held (so a job queue's
//! `ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED` takes one row and leaves the rest to other
//! workers); without one, all at once. A row another transaction holds is waited for (then
//! re-read and re-checked against WHERE: READ COMMITTED), fails the statement (NOWAIT: 55P03)
//! or is left out (SKIP LOCKED).
//!
//! Over a join ([`join_for_update`]) the rows of each table a locking clause reaches are locked
//! through their keys, in the same way, and the join is read again once they are held.

use super::{count, ctx, matches, scan, select, QueryResult};
use crate::bind::SelectPlan;
use crate::error::{code, Result, SqlError};
use crate::expr;
use crate::txn::{LockWait, RowLocking, Txn};
use orbit_engine::table::{Datum, Row};
use orbit_shards::rowlock::LockMode;

pub(super) async fn select_for_update(txn: &mut Txn, p: &SelectPlan, params: &[Datum]) -> Result<QueryResult> {
    let locking =
        p.for_update.unwrap_or(RowLocking { wait: LockWait::Wait, mode: LockMode::Exclusive, clause: "FOR UPDATE" });
    txn.check_writable(&format!("SELECT {}", locking.clause))?;
    let (policy, mode) = (locking.wait, locking.mode);
    if !p.lock_targets.is_empty() {
        return join_for_update(txn, p, params).await;
    }
    let Some(t) = &p.table else { return select(txn, p, params).await };
    if crate::catalog::is_view(t) {
        return Err(crate::catalog::read_only(t));
    }
    if t.matview.is_some() {
        return Err(SqlError::new(
            code::WRONG_OBJECT_TYPE,
            format!("cannot lock rows in materialized view \"{}\"", crate::schema::relname(&t.name)),
        ));
    }
    let limit = count(p.limit.as_ref(), params, "LIMIT", code::INVALID_ROW_COUNT_IN_LIMIT_CLAUSE)?;
    let offset = count(p.offset.as_ref(), params, "OFFSET", code::INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE)?;
    if limit == Some(0) {
        return Ok(QueryResult { tag: "SELECT 0".into(), ..Default::default() });
    }
    // The candidates, in ORDER BY order.
    let mut candidates: Vec<(Vec<Datum>, Row, Vec<u8>)> = Vec::new();
    for (k, row) in scan(txn, t, p.filter.as_ref(), p.key.as_deref(), params).await? {
        let cx = ctx(&row, params);
        let projected = p.projection.iter().map(|e| expr::eval(e, &cx)).collect::<Result<Vec<_>>>()?;
        let keys = crate::group::sort_keys(&p.order_by, &projected, &cx)?;
        candidates.push((keys, projected, k));
    }
    let order: Vec<Vec<u8>> = {
        let ranked: Vec<(Vec<Datum>, Row)> =
            candidates.into_iter().map(|(keys, _, k)| (keys, vec![Datum::Bytea(k)])).collect();
        let mut plan = p.clone();
        plan.distinct = crate::bind::Distinct::None;
        crate::group::finish(txn, ranked, &plan, None, None)
            .await?
            .into_iter()
            .filter_map(|mut r| match r.pop() {
                Some(Datum::Bytea(k)) => Some(k),
                _ => None,
            })
            .collect()
    };
    let want = limit.map(|l| (l + offset.unwrap_or(0)) as usize);
    let mut locked: Vec<Row> = Vec::new();
    // A locked row as it is now, kept if it still matches WHERE.
    let take = |locked: &mut Vec<Row>, row: Option<Row>| -> Result<()> {
        if let Some(row) = row {
            if matches(p.filter.as_ref(), &row, params)? {
                locked.push(row);
            }
        }
        Ok(())
    };
    if want.is_none() {
        let mut to_lock = Vec::new();
        for k in order {
            match txn.own(t, &k) {
                Some(r) => {
                    take(&mut locked, r.cloned())?;
                }
                None => to_lock.push(k),
            }
        }
        for r in txn.lock_with(t, to_lock, policy, mode).await?.into_iter().flatten() {
            take(&mut locked, r)?;
        }
    } else {
        let want = want.unwrap_or(usize::MAX);
        for k in order {
            if locked.len() >= want {
                break;
            }
            let row = match txn.own(t, &k) {
                Some(r) => r.cloned(),
                None => match txn.lock_with(t, vec![k], policy, mode).await?.pop().flatten() {
                    Some(r) => r,
                    // SKIP LOCKED: another transaction holds it.
                    None => continue,
                },
            };
            take(&mut locked, row)?;
        }
    }
    if policy == LockWait::Wait && want.is_none() {
        // Every row is locked now: read them as a plain SELECT does (same rows, same order).
        return select(txn, p, params).await;
    }
    super::finish_select(txn, p, &locked, params, limit, offset).await
}

/// FOR UPDATE / FOR SHARE over a join: the joined rows in ORDER BY order, each with the keys of
/// the rows of the locked tables ([`crate::bind::locking::LockTarget`]) behind it; their rows
/// are locked row by row of the result (all of them, or until OFFSET + LIMIT result rows are
/// held), a result row whose row SKIP LOCKED passed over left out. Then the join is read again
/// and keeps the rows made of locked rows only: a row another transaction changed while this
/// one waited is seen as it is now, and dropped if it no longer joins or passes WHERE (what
/// PostgreSQL's EvalPlanQual re-check does).
async fn join_for_update(txn: &mut Txn, p: &SelectPlan, params: &[Datum]) -> Result<QueryResult> {
    let limit = count(p.limit.as_ref(), params, "LIMIT", code::INVALID_ROW_COUNT_IN_LIMIT_CLAUSE)?;
    let offset = count(p.offset.as_ref(), params, "OFFSET", code::INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE)?;
    if limit == Some(0) {
        return Ok(QueryResult { tag: "SELECT 0".into(), ..Default::default() });
    }
    // The join with every locked table's key after the selected columns, unlimited.
    let width = p.projection.len();
    let mut keyed = p.clone();
    keyed.for_update = None;
    keyed.lock_targets = vec![];
    (keyed.limit, keyed.offset) = (None, None);
    for t in &p.lock_targets {
        keyed.projection.extend(t.key.iter().map(|&(i, ty)| expr::Expr::Column(i, ty)));
    }
    let keys_of = |row: &Row| -> Vec<Vec<u8>> {
        let mut at = width;
        p.lock_targets
            .iter()
            .map(|t| {
                let k = orbit_engine::table::key::encode(row[at..at + t.key.len()].iter());
                at += t.key.len();
                k
            })
            .collect()
    };
    let want = limit.map(|l| (l + offset.unwrap_or(0)) as usize);
    // Per locked table, the keys this statement holds.
    let mut held: Vec<std::collections::HashSet<Vec<u8>>> = vec![Default::default(); p.lock_targets.len()];
    let mut kept = 0usize;
    for row in select(txn, &keyed, params).await?.rows {
        if want.is_some_and(|w| kept >= w) {
            break;
        }
        let mut all = true;
        for (i, (t, k)) in p.lock_targets.iter().zip(keys_of(&row)).enumerate() {
            if held[i].contains(&k) || txn.own(&t.def, &k).is_some() {
                held[i].insert(k);
                continue;
            }
            match txn.lock_with(&t.def, vec![k.clone()], t.locking.wait, t.locking.mode).await?.pop().flatten() {
                Some(_) => {
                    held[i].insert(k);
                }
                // SKIP LOCKED: another transaction holds it.
                None => all = false,
            }
        }
        kept += all as usize;
    }
    // The rows again, now that what they are made of is held.
    let mut rows = Vec::new();
    for row in select(txn, &keyed, params).await?.rows {
        if keys_of(&row).iter().zip(&held).all(|(k, h)| h.contains(k)) {
            rows.push(row[..width].to_vec());
        }
    }
    let skip = offset.unwrap_or(0) as usize;
    let rows: Vec<Row> = rows.into_iter().skip(skip).take(limit.map_or(usize::MAX, |l| l as usize)).collect();
    Ok(QueryResult { tag: format!("SELECT {}", rows.len()), rows, notices: vec![] })
}
