//! MERGE's run (`bind/merge.rs` binds it). The joined rows are read at the statement's
//! snapshot; each takes the first WHEN clause of its kind whose condition holds. The target rows
//! an UPDATE or DELETE would change are locked first and read again: one another transaction
//! changed meanwhile is matched again by ON and its clause chosen anew on its latest values, one
//! it deleted (or that ON no longer matches) goes to the NOT MATCHED clauses, as PostgreSQL 15's
//! READ COMMITTED MERGE does. A target row that a second source row would change again is
//! PostgreSQL's 21000. Then the deletes, updates and inserts are written, through the same
//! paths as DELETE, UPDATE and INSERT (indexes, constraints, foreign keys).

use super::{check_not_null, matches, utility, write_updates, QueryResult};
use crate::bind::merge::{Action, MergePlan, WhenClause};
use crate::error::{Result, SqlError};
use crate::expr::{self, Ctx, Expr};
use crate::triggers::{Fired, Op};
use crate::txn::{SnapshotCheck, Txn};
use orbit_engine::table::{Datum, Row, TableDef};
use std::collections::{HashMap, HashSet};

/// Whether a joined row found a target row (its key slots are never NULL in a stored row).
fn found(table: &TableDef, row: &[Datum]) -> bool {
    if table.has_row_id() {
        return !matches!(row.get(table.columns.len()), None | Some(Datum::Null));
    }
    table.pk.iter().all(|&i| !matches!(row[i], Datum::Null))
}

/// The first clause of the row's kind whose condition holds.
fn pick(clauses: &[WhenClause], matched: bool, row: &[Datum], params: &[Datum]) -> Result<Option<usize>> {
    for (i, c) in clauses.iter().enumerate() {
        if c.matched == matched && matches(c.condition.as_ref(), row, params)? {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

const INSERT: usize = 0;
const UPDATE: usize = 1;
const DELETE: usize = 2;

/// The triggers a MERGE fires: those of INSERT, UPDATE and DELETE (at [`INSERT`], [`UPDATE`],
/// [`DELETE`]) where a clause takes that action.
fn fired(m: &MergePlan) -> [Option<Fired>; 3] {
    let takes = |f: fn(&Action) -> bool| m.clauses.iter().any(|c| f(&c.action));
    let mut set: Vec<usize> = Vec::new();
    for c in &m.clauses {
        if let Action::Update(sets) = &c.action {
            set.extend(sets.iter().map(|(i, _)| *i));
        }
    }
    [
        if takes(|a| matches!(a, Action::Insert(_))) { Fired::of(&m.table, Op::Insert, &[]) } else { None },
        if takes(|a| matches!(a, Action::Update(_))) { Fired::of(&m.table, Op::Update, &set) } else { None },
        if takes(|a| matches!(a, Action::Delete)) { Fired::of(&m.table, Op::Delete, &[]) } else { None },
    ]
}

fn changes_row(a: &Action) -> bool {
    matches!(a, Action::Update(_) | Action::Delete)
}

fn second_time() -> SqlError {
    SqlError::new("21000", "MERGE command cannot affect row a second time")
        .hint("Ensure that not more than one source row matches any one target row.")
}

/// Each clause's expressions per row, nextval/currval/setval calls resolved in row order
/// ([`crate::sequence::resolve`]); None where the clause calls none.
async fn per_row(txn: &Txn, exprs: &[Expr], rows: usize, params: &[Datum]) -> Result<Option<Vec<Vec<Expr>>>> {
    if !crate::sequence::any_uses(exprs) {
        return Ok(None);
    }
    let mut t = vec![exprs.to_vec(); rows];
    crate::sequence::resolve(txn, &mut t, params).await?;
    Ok(Some(t))
}

pub(super) async fn merge(txn: &mut Txn, m: &MergePlan, params: &[Datum]) -> Result<QueryResult> {
    if m.writes() {
        txn.check_writable("MERGE")?;
    }
    let table = &m.table;
    let fired = fired(m);
    // Statement-level BEFORE triggers of each kind of action a clause takes: INSERT, UPDATE,
    // DELETE (PostgreSQL's order).
    for f in fired.iter().flatten() {
        f.statement(txn, true).await?;
    }
    let width = table.row_len();
    // The target's part of a joined row.
    let at = m.target_at..m.target_at + width;
    let joined = crate::join::rows(txn, &m.join, params).await?;
    // The clause each row takes at the snapshot; the target rows it would change get locked.
    let mut rows: Vec<(Option<Vec<u8>>, Row, Option<usize>)> = Vec::with_capacity(joined.len());
    let mut to_lock = Vec::new();
    let mut locking = HashSet::new();
    for row in joined {
        if row.len() < at.end {
            return Err(SqlError::internal("a MERGE row without its target's columns"));
        }
        let key = found(table, &row[at.clone()]).then(|| table.key_of(&row[at.clone()]));
        let chosen = pick(&m.clauses, key.is_some(), &row, params)?;
        if let Some(k) = &key {
            let writes = chosen.is_some_and(|i| changes_row(&m.clauses[i].action));
            if writes && txn.own(table, k).is_none() && locking.insert(k.clone()) {
                to_lock.push(k.clone());
            }
        }
        rows.push((key, row, chosen));
    }
    drop(locking);
    let latest = txn.lock_changing(table, to_lock.clone(), SnapshotCheck::Changed).await?;
    let latest: HashMap<Vec<u8>, Option<Row>> = to_lock.into_iter().zip(latest).collect();

    // A row whose target another transaction changed or deleted meanwhile takes its clause
    // again, on the target's latest values (the transaction's own rows are as the join read them).
    let mut changed: HashSet<Vec<u8>> = HashSet::new();
    let mut updates: Vec<(usize, Vec<u8>, Row)> = Vec::new();
    let mut deletes: Vec<(Vec<u8>, Row)> = Vec::new();
    let mut inserts: Vec<(usize, Row)> = Vec::new();
    // The actions in the order of the rows that took them: (INSERT, UPDATE, DELETE as 0, 1, 2;
    // the position in its list).
    let mut order: Vec<(usize, usize)> = Vec::new();
    for (key, mut row, mut chosen) in rows {
        let mut matched = key.is_some();
        let now = key.as_ref().and_then(|k| latest.get(k));
        let moved = match now {
            Some(None) => true,
            Some(Some(cur)) => cur[..] != row[at.clone()],
            None => false,
        };
        if moved {
            matched = match now {
                Some(Some(cur)) => {
                    row[at.clone()].clone_from_slice(&cur[..width]);
                    matches(m.on.as_ref(), &row, params)?
                }
                _ => false,
            };
            if !matched {
                for d in &mut row[at.clone()] {
                    *d = Datum::Null;
                }
            }
            chosen = pick(&m.clauses, matched, &row, params)?;
        }
        let Some(i) = chosen else { continue };
        let k = key.filter(|_| matched);
        match (&m.clauses[i].action, k) {
            (Action::Nothing, _) => {}
            (Action::Insert(_), _) => {
                order.push((INSERT, inserts.len()));
                inserts.push((i, row));
            }
            (Action::Update(_) | Action::Delete, Some(k)) => {
                if txn.own(table, &k).is_none() && !latest.contains_key(&k) {
                    return Err(SqlError::internal("MERGE would change a row it did not lock"));
                }
                if !changed.insert(k.clone()) {
                    return Err(second_time());
                }
                match &m.clauses[i].action {
                    Action::Update(_) => {
                        order.push((UPDATE, updates.len()));
                        updates.push((i, k, row));
                    }
                    _ => {
                        order.push((DELETE, deletes.len()));
                        deletes.push((k, row[at.clone()].to_vec()));
                    }
                }
            }
            (Action::Update(_) | Action::Delete, None) => {
                return Err(SqlError::internal("a MATCHED clause for a row without a target"))
            }
        }
    }
    // The new rows, all computed before anything is written.
    let generated = crate::bind::GeneratedColumns::of(table)?;
    let mut resolved: HashMap<usize, Vec<Vec<Expr>>> = HashMap::new();
    for (i, c) in m.clauses.iter().enumerate() {
        let exprs: Vec<Expr> = match &c.action {
            Action::Update(sets) => sets.iter().map(|(_, e)| e.clone()).collect(),
            Action::Insert(values) => values.clone(),
            _ => continue,
        };
        let n = updates.iter().filter(|u| u.0 == i).count() + inserts.iter().filter(|r| r.0 == i).count();
        if let Some(t) = per_row(txn, &exprs, n, params).await? {
            resolved.insert(i, t);
        }
    }
    let mut taken: HashMap<usize, usize> = HashMap::new();
    let mut next_exprs = |i: usize| -> Option<Vec<Expr>> {
        let t = resolved.get(&i)?;
        let n = taken.entry(i).or_insert(0);
        *n += 1;
        t.get(*n - 1).cloned()
    };
    // Each action's new row (None once a BEFORE ROW trigger skipped it; a delete's is the row
    // it deletes).
    let mut updated: Vec<Option<Row>> = Vec::with_capacity(updates.len());
    for (i, _, row) in &updates {
        let Action::Update(sets) = &m.clauses[*i].action else { continue };
        let exprs = next_exprs(*i);
        let cx = Ctx { row, params, aggs: &[] };
        let mut new: Row = row[at.clone()].to_vec();
        for (j, (col, e)) in sets.iter().enumerate() {
            let e = exprs.as_ref().map_or(e, |t| &t[j]);
            new[*col] = expr::eval(e, &cx)?;
        }
        updated.push(Some(new));
    }
    let mut inserted: Vec<Option<Row>> = Vec::with_capacity(inserts.len());
    for (i, row) in &inserts {
        let Action::Insert(values) = &m.clauses[*i].action else { continue };
        let exprs = next_exprs(*i);
        let values = exprs.as_deref().unwrap_or(values);
        let cx = Ctx { row, params, aggs: &[] };
        inserted.push(Some(values.iter().map(|e| expr::eval(e, &cx)).collect::<Result<Row>>()?));
    }
    let mut deleted: Vec<Option<Row>> = deletes.iter().map(|(_, r)| Some(r.clone())).collect();
    if fired.iter().flatten().any(|f| f.has_row_triggers()) {
        // BEFORE ROW triggers, row by row in the source's order: they may change a new row or
        // skip its action.
        for &(kind, n) in &order {
            let Some(f) = fired[kind].as_ref().filter(|f| f.has_row_triggers()) else { continue };
            let (slot, old) = match kind {
                INSERT => (&mut inserted[n], None),
                UPDATE => (&mut updated[n], Some(updates[n].2[at.clone()].to_vec())),
                _ => (&mut deleted[n], Some(deletes[n].1.clone())),
            };
            let Some(new) = slot.take() else { continue };
            let kept = f.before_rows(txn, vec![(old, new.clone())]).await?.pop().flatten();
            *slot = kept.map(|k| if kind == DELETE { new } else { k });
        }
    }
    let mut old = Vec::with_capacity(updates.len());
    let mut new_rows = Vec::with_capacity(updates.len());
    for ((_, k, row), new) in updates.iter().zip(&updated) {
        let Some(mut new) = new.clone() else { continue };
        generated.fill(&mut new)?;
        check_not_null(table, &new)?;
        let nk = table.key_of(&new);
        old.push(row[at.clone()].to_vec());
        new_rows.push((k.clone(), nk, new));
    }
    let mut fresh = Vec::with_capacity(inserts.len());
    for new in inserted.iter_mut().flatten() {
        generated.fill(new)?;
        check_not_null(table, new)?;
        fresh.push(new.clone());
    }
    // The rows written, for the AFTER ROW triggers.
    let written_updates: Vec<Option<Row>> = if fired[UPDATE].is_some() {
        let mut it = new_rows.iter();
        updated.iter().map(|u| u.as_ref().and_then(|_| it.next()).map(|c| c.2.clone())).collect()
    } else {
        Vec::new()
    };
    let deletes: Vec<(Vec<u8>, Row)> =
        deletes.into_iter().zip(&deleted).filter(|(_, d)| d.is_some()).map(|(d, _)| d).collect();
    let count = new_rows.len() + deletes.len() + fresh.len();

    // Written: the deletes first (a key they free may be taken again), the updates, the inserts.
    if !deletes.is_empty() {
        if !table.indexes.is_empty() {
            let changes: Vec<crate::index::RowChange> = deletes.iter().map(|(_, r)| (Some(r), None)).collect();
            crate::index::maintain(txn, table, &changes).await?;
        }
        let gone: Vec<Row> = deletes.iter().map(|(_, r)| r.clone()).collect();
        for (k, _) in deletes {
            txn.write(table, k, None)?;
        }
        crate::foreign_key::after_delete(txn, table, &gone).await?;
    }
    if !new_rows.is_empty() {
        let old: Vec<&Row> = old.iter().collect();
        write_updates(txn, table, &old, new_rows).await?;
    }
    if !fresh.is_empty() {
        let fresh = utility::with_row_ids(table, fresh).await?;
        super::insert_rows_with(txn, table, fresh, true).await?;
    }
    if fired.iter().flatten().any(|f| f.has_row_triggers()) {
        for &(kind, n) in &order {
            let Some(f) = &fired[kind] else { continue };
            match kind {
                INSERT => {
                    if let Some(new) = &inserted[n] {
                        f.after_rows(txn, &[(None, Some(new))]).await?;
                    }
                }
                UPDATE => {
                    if let Some(new) = &written_updates[n] {
                        let old = &updates[n].2[at.clone()];
                        f.after_rows(txn, &[(Some(&old.to_vec()), Some(new))]).await?;
                    }
                }
                _ => {
                    if let Some(gone) = &deleted[n] {
                        f.after_rows(txn, &[(Some(gone), None)]).await?;
                    }
                }
            }
        }
    }
    // Statement-level AFTER triggers: DELETE, UPDATE, INSERT (PostgreSQL's order).
    for f in fired.iter().rev().flatten() {
        f.statement(txn, false).await?;
    }
    Ok(QueryResult { rows: vec![], tag: format!("MERGE {count}"), notices: vec![] })
}
