//! INSERT ... ON CONFLICT. The arbiter is the primary key or a unique index (DO NOTHING with
//! no target: all of them). Every key a proposed row could collide on is locked first (the
//! row's primary key; its entry in an arbiter index, and the row that entry points at), so the
//! outcome cannot change under the statement: a proposed row whose arbiter value is taken —
//! committed, changed earlier in the transaction, or by an earlier row of this statement — is
//! skipped (DO NOTHING) or updates the row that holds it (DO UPDATE, whose expressions see that
//! row followed by the proposed one as EXCLUDED); DO UPDATE refuses to change one row twice
//! (21000), as PostgreSQL does. The other unique indexes are checked as for INSERT. DO UPDATE
//! runs the table's BEFORE UPDATE ROW triggers on each row it updates ([`Triggers`]); the
//! caller fires the rest.

use super::{check_not_null, ctx, duplicate, matches, returning_rows, QueryResult, Written};
use crate::bind::{Arbiter, OnConflict};
use crate::error::{Result, SqlError};
use crate::expr;
use crate::txn::{SnapshotCheck, Txn};
use orbit_engine::table::{Datum, Row, TableDef};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The key a row has for an arbiter (None: it cannot collide there, a NULL in a unique index).
fn arbiter_key(table: &TableDef, a: Arbiter, row: &[Datum]) -> Result<Option<Vec<u8>>> {
    Ok(match a {
        Arbiter::PrimaryKey => Some(table.key_of(row)),
        Arbiter::Index(i) => crate::index::entry(table, &table.indexes[i], row)?.map(|(k, _)| k),
    })
}

/// The triggers an upsert fires itself ([`crate::triggers`]).
pub(super) struct Triggers<'a> {
    /// DO UPDATE's BEFORE UPDATE ROW triggers, run on each row it updates.
    pub update: Option<&'a crate::triggers::Fired>,
    /// Whether the caller wants the rows written (for AFTER ROW triggers).
    pub after: bool,
}

/// The statement's result, and when `triggers.after` asks, the rows it wrote in order: (the
/// row an update replaced, the row written).
pub(super) async fn upsert(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    rows: Vec<Row>,
    oc: &OnConflict,
    written: Written<'_>,
    params: &[Datum],
    triggers: Triggers<'_>,
) -> Result<(QueryResult, Vec<(Option<Row>, Row)>)> {
    let arbiters: Vec<Arbiter> = match oc {
        OnConflict::Nothing(Some(a)) | OnConflict::Update { arbiter: a, .. } => vec![*a],
        OnConflict::Nothing(None) => {
            let mut all: Vec<Arbiter> = Vec::new();
            if !table.has_row_id() {
                all.push(Arbiter::PrimaryKey);
            }
            all.extend(table.indexes.iter().enumerate().filter(|(_, x)| x.unique).map(|(i, _)| Arbiter::Index(i)));
            all
        }
    };
    let generated = crate::bind::GeneratedColumns::of(table)?;
    // The rows as this statement sees them, by primary key, and for each arbiter index the
    // primary key of the row holding each value (None: free).
    let mut current: HashMap<Vec<u8>, Option<Row>> = HashMap::new();
    let mut holders: HashMap<(usize, Vec<u8>), Option<Vec<u8>>> = HashMap::new();
    let mut base_keys: Vec<Vec<u8>> = rows.iter().map(|r| table.key_of(r)).collect();
    for a in &arbiters {
        let Arbiter::Index(i) = *a else { continue };
        let ix = &table.indexes[i];
        let idef = crate::index::index_table(table, ix)?;
        let mut to_lock = Vec::new();
        for r in &rows {
            let Some(ek) = arbiter_key(table, *a, r)? else { continue };
            if holders.contains_key(&(i, ek.clone())) {
                continue;
            }
            match txn.own(&idef, &ek) {
                Some(e) => {
                    holders.insert((i, ek), e.map(|e| table.key_of_entry(ix, e)));
                }
                None => {
                    holders.insert((i, ek.clone()), None);
                    to_lock.push(ek);
                }
            }
        }
        let committed = txn.lock_changing(&idef, to_lock.clone(), SnapshotCheck::Present).await?;
        for (ek, e) in to_lock.into_iter().zip(committed) {
            let holder = e.map(|e| table.key_of_entry(ix, &e));
            if let Some(k) = &holder {
                base_keys.push(k.clone());
            }
            holders.insert((i, ek), holder);
        }
    }
    let mut to_lock = Vec::new();
    for k in base_keys {
        if current.contains_key(&k) {
            continue;
        }
        match txn.own(table, &k) {
            Some(r) => {
                current.insert(k, r.cloned());
            }
            None => {
                current.insert(k.clone(), None);
                to_lock.push(k);
            }
        }
    }
    let committed = txn.lock_changing(table, to_lock.clone(), SnapshotCheck::Present).await?;
    for (k, r) in to_lock.into_iter().zip(committed) {
        current.insert(k, r);
    }

    let mut affected = HashSet::new();
    let mut changed = Vec::new();
    let mut index_changes: Vec<(Option<Row>, Row)> = Vec::new();
    let fk = crate::foreign_key::involved(table);
    let mut events = Vec::new();
    let mut fk_changes: Vec<(Option<Row>, Row)> = Vec::new();
    for row in rows {
        // The existing row this one collides with on an arbiter, if any.
        let mut conflict = None;
        for a in &arbiters {
            let Some(k) = arbiter_key(table, *a, &row)? else { continue };
            let holder = match a {
                Arbiter::PrimaryKey => Some(k),
                Arbiter::Index(i) => holders.get(&(*i, k)).cloned().flatten(),
            };
            if let Some(h) = holder.filter(|h| current.get(h).is_some_and(|r| r.is_some())) {
                conflict = Some(h);
                break;
            }
        }
        let (key, before, new) = match (conflict, oc) {
            (None, _) => {
                let k = table.key_of(&row);
                if current.get(&k).is_some_and(|r| r.is_some()) {
                    // Taken on the primary key, which is not an arbiter here.
                    return Err(duplicate(table, &row));
                }
                (k, None, row)
            }
            (Some(_), OnConflict::Nothing(_)) => continue,
            (Some(k), OnConflict::Update { sets, filter, .. }) => {
                if affected.contains(&k) {
                    return Err(SqlError::new(
                        "21000",
                        "ON CONFLICT DO UPDATE command cannot affect row a second time",
                    )
                    .hint("Ensure that no rows proposed for insertion within the same command have duplicate constrained values."));
                }
                let old = current.get(&k).cloned().flatten().expect("a conflicting row exists");
                // EXCLUDED's columns follow the existing row's (without a hidden row id).
                let width = table.columns.len();
                let mut both: Row = old.iter().take(width).cloned().collect();
                both.extend(row.into_iter().take(width));
                if !matches(filter.as_ref(), &both, params)? {
                    continue;
                }
                let mut new = old.clone();
                for (i, e) in sets {
                    new[*i] = expr::eval(e, &ctx(&both, params))?;
                }
                if let Some(f) = triggers.update {
                    // A BEFORE UPDATE ROW trigger may change the new row or skip the update.
                    let Some(changed) = f.before_rows(txn, vec![(Some(old.clone()), new)]).await?.pop().flatten()
                    else {
                        continue;
                    };
                    new = changed;
                    if table.key_of(&new) != k {
                        return Err(SqlError::unsupported(
                            "a BEFORE UPDATE trigger changing the primary key in INSERT ... ON CONFLICT DO UPDATE is not supported",
                        ));
                    }
                }
                generated.fill(&mut new)?;
                check_not_null(table, &new)?;
                (k, Some(old), new)
            }
        };
        // Later rows of this statement see this one.
        for a in &arbiters {
            if let Arbiter::Index(i) = a {
                let old_k = match &before {
                    Some(b) => arbiter_key(table, *a, b)?,
                    None => None,
                };
                if let Some(old_k) = old_k {
                    holders.insert((*i, old_k), None);
                }
                if let Some(new_k) = arbiter_key(table, *a, &new)? {
                    holders.insert((*i, new_k), Some(key.clone()));
                }
            }
        }
        affected.insert(key.clone());
        current.insert(key.clone(), Some(new.clone()));
        txn.write(table, key, Some(new.clone()))?;
        if fk {
            fk_changes.push((before.clone(), new.clone()));
        }
        if triggers.after {
            events.push((before.clone(), new.clone()));
        }
        if !table.indexes.is_empty() {
            index_changes.push((before, new.clone()));
        }
        changed.push(new);
    }
    if !index_changes.is_empty() {
        let changes: Vec<crate::index::RowChange> = index_changes.iter().map(|(o, n)| (o.as_ref(), Some(n))).collect();
        crate::index::maintain(txn, table, &changes).await?;
    }
    if fk {
        crate::foreign_key::after_upsert(txn, table, fk_changes).await?;
    }
    // Inserted and updated rows alike (PostgreSQL checks DO UPDATE's new row too).
    if let Some(e) = written.refused(table, &changed, params)? {
        return Err(e);
    }
    let out = returning_rows(written.returning, &changed, params)?;
    Ok((QueryResult { rows: out, tag: format!("INSERT 0 {}", changed.len()), notices: vec![] }, events))
}
