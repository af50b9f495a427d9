//! FOREIGN KEY constraints at run time, as PostgreSQL's RI triggers do them, once per statement
//! after its rows are written:
//!
//! - a row written to a referencing table ([`after_insert`], [`after_update`] where the key
//!   changed) whose key holds no NULL (MATCH SIMPLE) needs a referenced row with that key as
//!   the transaction sees it (its own writes included); the referenced row is locked shared
//!   (FOR KEY SHARE), so a DELETE of it by another transaction waits for this one to end;
//! - a referenced row deleted or whose key changes ([`after_delete`], [`after_update`]) applies
//!   each referencing constraint's action to the rows that reference the old key: NO ACTION
//!   (unless another row still has the key) and RESTRICT fail with 23503, CASCADE deletes or
//!   updates them, SET NULL / SET DEFAULT change them, all through the statement write path
//!   (so their own constraints, indexes and foreign keys apply) in the same transaction.
//!
//! Referencing rows are found through a secondary index on the constraint's columns, one read
//! per key, where one exists; else by one filtered scan of the referencing table for all the
//! statement's keys.

use crate::error::{Result, SqlError};
use crate::expr::{CmpOp, Expr};
use crate::txn::{SnapshotCheck, Txn};
use crate::types;
use orbit_engine::table::{Datum, FkAction, ForeignKeyDef, IndexDef, Row, TableDef};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// PostgreSQL's foreign_key_violation.
const FOREIGN_KEY_VIOLATION: &str = "23503";

type Boxed<'a> = Pin<Box<dyn Future<Output = Result<()>> + 'a>>;

/// Whether an UPDATE changed the columns of a foreign key in its `n`th row.
type KeyChanged<'a> = dyn Fn(&ForeignKeyDef, usize) -> bool + 'a;

/// The constraint's key of `row` over `cols`, None when a value is NULL (MATCH SIMPLE: such a
/// row references nothing).
fn key_values(row: &[Datum], cols: &[usize]) -> Option<Vec<Datum>> {
    cols.iter().map(|&i| row.get(i).filter(|d| !d.is_null()).cloned()).collect()
}

/// `vals` cast to the types of `def`'s `cols` (a key compared across the two tables).
fn cast_key(vals: &[Datum], def: &TableDef, cols: &[usize]) -> Result<Vec<Datum>> {
    vals.iter().zip(cols).map(|(v, &c)| types::cast(v.clone(), def.columns[c].ty, false)).collect()
}

fn key_text(def: &TableDef, cols: &[usize], vals: &[Datum]) -> String {
    let names: Vec<&str> = cols.iter().map(|&i| def.columns[i].name.as_str()).collect();
    let vals: Vec<String> = vals.iter().map(|d| types::to_text(d).unwrap_or_else(|| "null".into())).collect();
    format!("({})=({})", names.join(", "), vals.join(", "))
}

/// `col = value` for each column of `cols`, and-ed.
fn eq_filter(def: &TableDef, cols: &[usize], vals: &[Datum]) -> Expr {
    let mut parts = cols.iter().zip(vals).map(|(&c, v)| {
        let ty = def.columns[c].ty;
        Expr::Cmp(CmpOp::Eq, Box::new(Expr::Column(c, ty)), Box::new(Expr::Const(v.clone(), ty)))
    });
    let first = parts.next().expect("a foreign key has a column");
    parts.fold(first, |a, b| Expr::And(Box::new(a), Box::new(b)))
}

/// Any of `filters`, as a balanced tree (a long statement's keys nest no deeper than log n).
fn any_of(mut filters: Vec<Expr>) -> Option<Expr> {
    while filters.len() > 1 {
        let mut next = Vec::with_capacity(filters.len().div_ceil(2));
        let mut it = filters.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => Expr::Or(Box::new(a), Box::new(b)),
                None => a,
            });
        }
        filters = next;
    }
    filters.pop()
}

/// Whether the referenced columns are (in some order) the parent's primary key.
fn by_primary_key(parent: &TableDef, fk: &ForeignKeyDef) -> bool {
    let mut a = fk.parent_columns.clone();
    let mut b = parent.pk.clone();
    a.sort_unstable();
    b.sort_unstable();
    !b.is_empty() && a == b
}

/// Which of `keys` (in the parent's column types) a row of `parent` has, as this transaction
/// sees it; with `lock`, the rows found are locked shared and re-read as committed then.
async fn present(
    txn: &mut Txn,
    parent: &Arc<TableDef>,
    fk: &ForeignKeyDef,
    keys: &[Vec<Datum>],
    lock: bool,
) -> Result<Vec<bool>> {
    let mut out = vec![false; keys.len()];
    if by_primary_key(parent, fk) {
        let mut to_read = Vec::new();
        for (n, vals) in keys.iter().enumerate() {
            let mut row = vec![Datum::Null; parent.columns.len()];
            for (&c, v) in fk.parent_columns.iter().zip(vals) {
                row[c] = v.clone();
            }
            let k = parent.key_of(&row);
            match txn.own(parent, &k) {
                Some(r) => out[n] = r.is_some(),
                None => to_read.push((n, k)),
            }
        }
        if to_read.is_empty() {
            return Ok(out);
        }
        if lock {
            let got = txn.lock_key_share(parent, to_read.iter().map(|(_, k)| k.clone()).collect()).await?;
            for ((n, _), r) in to_read.iter().zip(got) {
                out[*n] = r.is_some();
            }
        } else {
            let at = txn.read_at();
            for (n, k) in to_read {
                txn.note_read(parent, || crate::serializable::Read::Key(k.clone()));
                out[n] = crate::exec::read_key(parent, k, None, &[], at).await?.is_some();
            }
        }
        return Ok(out);
    }
    // A UNIQUE constraint's columns: found through its index.
    for (n, vals) in keys.iter().enumerate() {
        let filter = eq_filter(parent, &fk.parent_columns, vals);
        for (k, _) in crate::exec::scan(txn, parent, Some(&filter), None, &[]).await? {
            if !lock || txn.own(parent, &k).is_some() {
                out[n] = true;
                break;
            }
            let latest = txn.lock_key_share(parent, vec![k]).await?.pop().flatten();
            if latest.is_some_and(|r| key_values(&r, &fk.parent_columns).as_deref() == Some(vals)) {
                out[n] = true;
                break;
            }
        }
    }
    Ok(out)
}

fn parent_of(fk: &ForeignKeyDef) -> Result<Arc<TableDef>> {
    crate::bind::lookup_table(&fk.parent).ok_or_else(|| crate::exec::no_table(&fk.parent))
}

/// Checks that every row of `rows` written to `table` references an existing row under each of
/// `table`'s foreign keys (`changed`: only those whose columns it names as changed). With
/// `may_defer`, a constraint deferred now queues its checks for COMMIT instead.
async fn check_references(
    txn: &mut Txn,
    table: &TableDef,
    rows: &[&Row],
    changed: Option<&KeyChanged<'_>>,
    may_defer: bool,
) -> Result<()> {
    for fk in &table.foreign_keys {
        if may_defer && txn.deferred.defers(&table.name, fk) {
            let written: Vec<&Row> =
                rows.iter().enumerate().filter(|(n, _)| changed.is_none_or(|f| f(fk, *n))).map(|(_, r)| *r).collect();
            defer_references(txn, table, fk, &written)?;
            continue;
        }
        let mut keys: Vec<Vec<Datum>> = Vec::new();
        for (n, row) in rows.iter().enumerate() {
            if changed.is_some_and(|f| !f(fk, n)) {
                continue;
            }
            if fk.match_full {
                let nulls = fk.columns.iter().filter(|&&c| row.get(c).is_none_or(|d| d.is_null())).count();
                if nulls > 0 && nulls < fk.columns.len() {
                    return Err(SqlError::new(
                        FOREIGN_KEY_VIOLATION,
                        format!(
                            "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                            crate::schema::relname(&table.name),
                            fk.name
                        ),
                    )
                    .detail("MATCH FULL does not allow mixing of null and nonnull key values.")
                    .on_table(&table.name)
                    .on_constraint(&fk.name));
                }
            }
            if let Some(k) = key_values(row, &fk.columns) {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        if keys.is_empty() {
            continue;
        }
        let parent = parent_of(fk)?;
        // A value the referenced column's type cannot hold (a bigint past integer's range) is
        // in no row there.
        let cast: Vec<Option<Vec<Datum>>> =
            keys.iter().map(|k| cast_key(k, &parent, &fk.parent_columns).ok()).collect();
        let fits: Vec<Vec<Datum>> = cast.iter().flatten().cloned().collect();
        let mut found_fits = present(txn, &parent, fk, &fits, true).await?.into_iter();
        let found: Vec<bool> = cast.iter().map(|c| c.is_some() && found_fits.next().unwrap_or(false)).collect();
        if let Some(n) = found.iter().position(|f| !f) {
            return Err(SqlError::new(
                FOREIGN_KEY_VIOLATION,
                format!(
                    "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                    crate::schema::relname(&table.name),
                    fk.name
                ),
            )
            .detail(format!(
                "Key {} is not present in table \"{}\".",
                key_text(table, &fk.columns, &keys[n]),
                crate::schema::relname(&parent.name)
            ))
            .on_table(&table.name)
            .on_constraint(&fk.name));
        }
    }
    Ok(())
}

/// The foreign keys that reference `table`, with their tables, about in the order they were
/// made (PostgreSQL fires their triggers in that order: the first to fail is reported).
fn referencing_constraints(table: &TableDef) -> Vec<(Arc<TableDef>, ForeignKeyDef)> {
    let mut out = Vec::new();
    let mut tables = crate::catalog::user_tables();
    tables.sort_by_key(|t| t.oid);
    for t in tables {
        for fk in &t.foreign_keys {
            if fk.parent == table.name {
                out.push((t.clone(), fk.clone()));
            }
        }
    }
    out
}

/// DROP TABLE of `tables`: refused (2BP01, as without CASCADE) while a table not dropped with
/// them references one.
pub(crate) fn check_drop(tables: &[Arc<TableDef>]) -> Result<()> {
    let mut lines = Vec::new();
    let mut first = None;
    for t in tables {
        for (child, fk) in referencing_constraints(t) {
            if tables.iter().any(|d| d.name == child.name) {
                continue;
            }
            first.get_or_insert_with(|| t.name.clone());
            lines.push(format!(
                "constraint {} on table {} depends on table {}",
                fk.name,
                crate::schema::shown(&child.name),
                crate::schema::shown(&t.name)
            ));
        }
    }
    let Some(name) = first else { return Ok(()) };
    Err(SqlError::new(
        crate::error::code::DEPENDENT_OBJECTS_STILL_EXIST,
        format!("cannot drop table {} because other objects depend on it", crate::schema::shown(&name)),
    )
    .detail(lines.join("\n"))
    .hint("Use DROP ... CASCADE to drop the dependent objects too."))
}

/// The rows of `child` that reference one of `keys` (in `child`'s column types) under `fk`,
/// locked for change, each with the index of its key.
async fn referencing_rows(
    txn: &mut Txn,
    child: &Arc<TableDef>,
    fk: &ForeignKeyDef,
    keys: &[Vec<Datum>],
) -> Result<Vec<(Vec<u8>, Row, usize)>> {
    let mut wanted = fk.columns.clone();
    wanted.sort_unstable();
    let indexed = child.indexes.iter().any(|x| {
        let mut lead = x.columns.iter().take(wanted.len()).copied().collect::<Vec<_>>();
        lead.sort_unstable();
        lead == wanted
    });
    let mut found: Vec<(Vec<u8>, Row)> = Vec::new();
    if indexed {
        for vals in keys {
            let filter = eq_filter(child, &fk.columns, vals);
            found.extend(crate::exec::scan(txn, child, Some(&filter), None, &[]).await?);
        }
    } else {
        let filter = any_of(keys.iter().map(|k| eq_filter(child, &fk.columns, k)).collect());
        found = crate::exec::scan(txn, child, filter.as_ref(), None, &[]).await?;
    }
    let which = |row: &Row| key_values(row, &fk.columns).and_then(|k| keys.iter().position(|x| *x == k));
    let mut out = Vec::new();
    let mut to_lock = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (k, _) in found {
        if !seen.insert(k.clone()) {
            continue;
        }
        match txn.own(child, &k) {
            Some(Some(r)) => {
                if let Some(n) = which(r) {
                    out.push((k, r.clone(), n));
                }
            }
            Some(None) => {}
            None => to_lock.push(k),
        }
    }
    let latest = txn.lock_changing(child, to_lock.clone(), SnapshotCheck::Changed).await?;
    for (k, row) in to_lock.into_iter().zip(latest) {
        if let Some(row) = row {
            if let Some(n) = which(&row) {
                out.push((k, row, n));
            }
        }
    }
    Ok(out)
}

/// Applies the actions of the foreign keys that reference `table` to the rows referencing
/// `gone`: the old keys of rows deleted (`new` None) or whose referenced key changed (`new`
/// the key it changed to, in the parent's column order of the constraint).
fn apply_actions<'a>(
    txn: &'a mut Txn,
    table: &'a Arc<TableDef>,
    deleting: bool,
    changes: Vec<(Row, Option<Row>)>,
) -> Boxed<'a> {
    Box::pin(async move {
        // The children's AFTER triggers, fired once every action has run (PostgreSQL queues
        // them): the trigger set and the rows (old, new) it fires for.
        let mut after: Vec<(crate::triggers::Fired, Vec<RowPair>)> = Vec::new();
        for (child, fk) in referencing_constraints(table) {
            let action = if deleting { fk.on_delete } else { fk.on_update };
            // Old key (parent types) -> new key, for the rows whose referenced key went away.
            let mut old_keys: Vec<Vec<Datum>> = Vec::new();
            let mut new_keys: Vec<Option<Vec<Datum>>> = Vec::new();
            for (old, new) in &changes {
                let Some(ok) = key_values(old, &fk.parent_columns) else { continue };
                let nk = new.as_ref().map(|n| fk.parent_columns.iter().map(|&i| n[i].clone()).collect::<Vec<_>>());
                if nk.as_ref() == Some(&ok) || old_keys.contains(&ok) {
                    continue;
                }
                old_keys.push(ok);
                new_keys.push(nk);
            }
            if old_keys.is_empty() {
                continue;
            }
            if action == FkAction::NoAction && txn.deferred.defers(&child.name, &fk) {
                let owed = old_keys.into_iter().map(|key| Owed::Unreferenced {
                    parent: table.name.clone(),
                    child: child.name.clone(),
                    fk: fk.name.clone(),
                    key,
                });
                txn.deferred.owe(owed.collect::<Vec<_>>())?;
                continue;
            }
            if action == FkAction::NoAction {
                // Checked at the end of the statement: a key another row still has is fine.
                let still = present(txn, table, &fk, &old_keys, false).await?;
                let mut it = still.iter();
                old_keys.retain(|_| !it.next().copied().unwrap_or(false));
                let mut it = still.iter();
                new_keys.retain(|_| !it.next().copied().unwrap_or(false));
                if old_keys.is_empty() {
                    continue;
                }
            }
            // A key the referencing columns' type cannot hold is referenced by no row: an
            // impossible value stands in for it.
            let child_keys: Vec<Vec<Datum>> = old_keys
                .iter()
                .map(|k| cast_key(k, &child, &fk.columns).unwrap_or_else(|_| vec![Datum::Null; fk.columns.len()]))
                .collect();
            let rows = referencing_rows(txn, &child, &fk, &child_keys).await?;
            let Some((_, _, first)) = rows.first() else { continue };
            let mut first = *first;
            let mut action = action;
            if action == FkAction::SetDefault {
                // Rows set to a default that is the very key going away still reference it
                // (PostgreSQL then fails as NO ACTION does).
                let defaults = Some(default_key(&child, &fk)?).filter(|d| d.iter().all(|v| !v.is_null()));
                if let Some(d) = defaults.and_then(|d| cast_key(&d, table, &fk.parent_columns).ok()) {
                    if let Some(n) = old_keys.iter().position(|k| *k == d) {
                        if rows.iter().any(|(_, _, m)| *m == n) {
                            first = n;
                            action = FkAction::NoAction;
                        }
                    }
                }
            }
            // The child's triggers fire for the rows the action changes: its statement-level ones
            // once for the action (PostgreSQL runs one statement per referenced row instead).
            let fired = match action {
                FkAction::NoAction | FkAction::Restrict => None,
                FkAction::Cascade if deleting => crate::triggers::Fired::of(&child, crate::triggers::Op::Delete, &[]),
                _ => crate::triggers::Fired::of(&child, crate::triggers::Op::Update, &fk.columns),
            };
            if let Some(f) = &fired {
                f.statement(txn, true).await?;
            }
            match action {
                FkAction::NoAction | FkAction::Restrict => {
                    return Err(still_referenced_error(table, &child, &fk, &old_keys[first]));
                }
                FkAction::Cascade if deleting => {
                    let mut rows: Vec<(Vec<u8>, Row)> = rows.into_iter().map(|(k, r, _)| (k, r)).collect();
                    if let Some(f) = fired.as_ref().filter(|f| f.has_row_triggers()) {
                        let kept = f
                            .before_rows(txn, rows.iter().map(|(_, r)| (Some(r.clone()), r.clone())).collect())
                            .await?;
                        rows = rows.into_iter().zip(kept).filter(|(_, k)| k.is_some()).map(|(r, _)| r).collect();
                    }
                    let gone: Vec<(Option<Row>, Option<Row>)> = if fired.is_some() {
                        rows.iter().map(|(_, r)| (Some(r.clone()), None)).collect()
                    } else {
                        Vec::new()
                    };
                    delete_rows(txn, &child, rows).await?;
                    if let Some(f) = fired {
                        after.push((f, gone));
                    }
                }
                _ => {
                    let defaults = if action == FkAction::SetDefault { Some(default_key(&child, &fk)?) } else { None };
                    let mut old_rows = Vec::with_capacity(rows.len());
                    let mut updates = Vec::with_capacity(rows.len());
                    for (k, row, n) in rows {
                        let mut new = row.clone();
                        for (j, &c) in fk.columns.iter().enumerate() {
                            new[c] = match action {
                                FkAction::Cascade => match &new_keys[n] {
                                    Some(nk) => types::cast(nk[j].clone(), child.columns[c].ty, false)?,
                                    None => Datum::Null,
                                },
                                FkAction::SetDefault => defaults.as_ref().map_or(Datum::Null, |d| d[j].clone()),
                                _ => Datum::Null,
                            };
                        }
                        updates.push((k, new));
                        old_rows.push(row);
                    }
                    if let Some(f) = fired.as_ref().filter(|f| f.has_row_triggers()) {
                        let pairs =
                            old_rows.iter().zip(&updates).map(|(o, (_, n))| (Some(o.clone()), n.clone())).collect();
                        let kept = f.before_rows(txn, pairs).await?;
                        let mut still = Vec::with_capacity(kept.len());
                        let mut olds = Vec::with_capacity(kept.len());
                        for ((o, (k, _)), n) in old_rows.into_iter().zip(updates).zip(kept) {
                            if let Some(n) = n {
                                still.push((k, n));
                                olds.push(o);
                            }
                        }
                        updates = still;
                        old_rows = olds;
                    }
                    let mut changes = Vec::with_capacity(updates.len());
                    for (k, mut new) in updates {
                        crate::bind::fill_generated(&child, &mut new)?;
                        crate::exec::check_not_null(&child, &new)?;
                        let nk = child.key_of(&new);
                        changes.push((k, nk, new));
                    }
                    let pairs: Vec<(Option<Row>, Option<Row>)> = if fired.is_some() {
                        old_rows.iter().zip(&changes).map(|(o, c)| (Some(o.clone()), Some(c.2.clone()))).collect()
                    } else {
                        Vec::new()
                    };
                    let old_refs: Vec<&Row> = old_rows.iter().collect();
                    Box::pin(crate::exec::write_updates(txn, &child, &old_refs, changes)).await?;
                    if let Some(f) = fired {
                        after.push((f, pairs));
                    }
                }
            }
        }
        for (f, rows) in after {
            let pairs: Vec<(Option<&Row>, Option<&Row>)> = rows.iter().map(|(o, n)| (o.as_ref(), n.as_ref())).collect();
            f.after_rows(txn, &pairs).await?;
            f.statement(txn, false).await?;
        }
        Ok(())
    })
}

/// A row a referential action changed: (old, new), None where there is none.
type RowPair = (Option<Row>, Option<Row>);

/// The DEFAULTs of the constraint's columns.
fn default_key(child: &TableDef, fk: &ForeignKeyDef) -> Result<Vec<Datum>> {
    let mut d = Vec::new();
    for &c in &fk.columns {
        let e = crate::bind::bind_default(&child.columns[c])?;
        let v = crate::expr::eval(&e, &crate::expr::Ctx { row: &[], params: &[], aggs: &[] })?;
        d.push(types::cast(v, child.columns[c].ty, false)?);
    }
    Ok(d)
}

/// Deletes rows (locked by this transaction) of `table` for a cascade, with their index
/// entries and their own referencing rows' actions.
fn delete_rows<'a>(txn: &'a mut Txn, table: &'a Arc<TableDef>, rows: Vec<(Vec<u8>, Row)>) -> Boxed<'a> {
    Box::pin(async move {
        if !table.indexes.is_empty() {
            let changes: Vec<crate::index::RowChange> = rows.iter().map(|(_, r)| (Some(r), None)).collect();
            crate::index::maintain(txn, table, &changes).await?;
        }
        let mut old = Vec::with_capacity(rows.len());
        for (k, r) in rows {
            txn.write(table, k, None)?;
            old.push(r);
        }
        after_delete(txn, table, &old).await
    })
}

/// `session_replication_role = replica`: PostgreSQL's RI triggers do not fire, so no
/// reference is checked and no action taken.
fn replica(txn: &Txn) -> bool {
    txn.settings.iter().any(|(k, v)| *k == "session_replication_role" && v == "replica")
}

/// After rows were inserted into `table` (INSERT, COPY): their references checked.
pub(crate) async fn after_insert(txn: &mut Txn, table: &TableDef, rows: &[Row]) -> Result<()> {
    if table.foreign_keys.is_empty() || replica(txn) {
        return Ok(());
    }
    let refs: Vec<&Row> = rows.iter().collect();
    check_references(txn, table, &refs, None, true).await
}

/// After rows of `table` were deleted: the actions of the foreign keys that reference them.
pub(crate) async fn after_delete(txn: &mut Txn, table: &Arc<TableDef>, old: &[Row]) -> Result<()> {
    if old.is_empty() || replica(txn) || !is_referenced(table) {
        return Ok(());
    }
    apply_actions(txn, table, true, old.iter().map(|r| (r.clone(), None)).collect()).await
}

/// After rows of `table` were updated (`old[i]` became `new[i]`): new keys checked, then the
/// actions of the foreign keys that reference a changed key.
pub(crate) async fn after_update(txn: &mut Txn, table: &Arc<TableDef>, old: &[Row], new: &[Row]) -> Result<()> {
    if replica(txn) {
        return Ok(());
    }
    if !table.foreign_keys.is_empty() {
        let changed = |fk: &ForeignKeyDef, n: usize| fk.columns.iter().any(|&c| old[n].get(c) != new[n].get(c));
        let refs: Vec<&Row> = new.iter().collect();
        check_references(txn, table, &refs, Some(&changed), true).await?;
    }
    if !is_referenced(table) {
        return Ok(());
    }
    let changes = old.iter().zip(new).map(|(o, n)| (o.clone(), Some(n.clone()))).collect();
    apply_actions(txn, table, false, changes).await
}

/// After INSERT ... ON CONFLICT wrote rows of `table`: (the row it replaced, if any; the row
/// written) each, checked as the inserts and updates they are.
pub(crate) async fn after_upsert(txn: &mut Txn, table: &Arc<TableDef>, changes: Vec<(Option<Row>, Row)>) -> Result<()> {
    let (updated, inserted): (Vec<_>, Vec<_>) = changes.into_iter().partition(|(old, _)| old.is_some());
    let inserted: Vec<Row> = inserted.into_iter().map(|(_, n)| n).collect();
    after_insert(txn, table, &inserted).await?;
    let (old, new): (Vec<Row>, Vec<Row>) = updated.into_iter().map(|(o, n)| (o.unwrap_or_default(), n)).unzip();
    after_update(txn, table, &old, &new).await
}

/// Whether any foreign key references `table` (whether its writes need [`apply_actions`]).
pub(crate) fn is_referenced(table: &TableDef) -> bool {
    crate::catalog::user_tables().iter().any(|t| t.foreign_keys.iter().any(|f| f.parent == table.name))
}

/// Whether `table`'s writes involve foreign keys at all (as the referencing or referenced side).
pub(crate) fn involved(table: &TableDef) -> bool {
    !table.foreign_keys.is_empty() || is_referenced(table)
}

/// ALTER TABLE ... ADD FOREIGN KEY: the existing rows of `table` checked against the foreign
/// keys `def` adds (PostgreSQL's validation).
pub(crate) async fn validate_new(txn: &mut Txn, table: &Arc<TableDef>, def: &TableDef) -> Result<()> {
    let added: Vec<ForeignKeyDef> =
        def.foreign_keys.iter().filter(|f| !f.not_valid && !table.foreign_keys.contains(f)).cloned().collect();
    if added.is_empty() {
        return Ok(());
    }
    let rows = crate::exec::scan(txn, table, None, None, &[]).await?;
    let probe = TableDef { foreign_keys: added, ..(**table).clone() };
    let refs: Vec<&Row> = rows.iter().map(|(_, r)| r).collect();
    check_references(txn, &probe, &refs, None, false).await
}

/// TRUNCATE of `tables`: refused (0A000) when a table not truncated with it references one;
/// else the order to empty them in, referencing tables first.
pub(crate) fn truncate_order(tables: &[Arc<TableDef>]) -> Result<Vec<Arc<TableDef>>> {
    let listed = |name: &str| tables.iter().any(|t| t.name == name);
    for t in tables {
        if let Some((child, _)) = referencing_constraints(t).into_iter().find(|(c, _)| !listed(&c.name)) {
            let (c, p) = (crate::schema::relname(&child.name), crate::schema::relname(&t.name));
            return Err(SqlError::unsupported("cannot truncate a table referenced in a foreign key constraint")
                .detail(format!("Table \"{c}\" references \"{p}\"."))
                .hint(format!("Truncate table \"{c}\" at the same time, or use TRUNCATE ... CASCADE.")));
        }
    }
    let mut left: Vec<Arc<TableDef>> = tables.to_vec();
    let mut out = Vec::with_capacity(left.len());
    while !left.is_empty() {
        // A table no other table still to be emptied references (a cycle: the first one).
        let free = left
            .iter()
            .position(|t| !left.iter().any(|o| o.name != t.name && o.foreign_keys.iter().any(|f| f.parent == t.name)))
            .unwrap_or(0);
        out.push(left.remove(free));
    }
    Ok(out)
}

/// DROP TABLE ... CASCADE of `names`: the other tables whose foreign keys reference one of
/// them, each with its definition without those constraints, and the NOTICE lines naming the
/// constraints (by their table's OID, PostgreSQL's order). None when a name is not a table
/// (DROP TABLE's own checks report that, before anything is dropped).
pub(crate) type CascadeLines = Vec<(u32, Vec<String>)>;

/// A table and its definition without the constraints a DROP ... CASCADE drops.
pub(crate) type CascadeRewrite = (Arc<TableDef>, TableDef);

pub(crate) fn drop_cascade(names: &[String], if_exists: bool) -> Option<(Vec<CascadeRewrite>, CascadeLines)> {
    let mut dropping = Vec::new();
    for n in names {
        match crate::bind::lookup_table(n) {
            Some(d) if d.view.is_none() && d.index_of.is_none() => dropping.push(d.name.clone()),
            None if if_exists => {}
            _ => return None,
        }
    }
    let mut tables = crate::catalog::user_tables();
    tables.sort_by_key(|t| t.oid);
    let mut out = Vec::new();
    let mut lines = Vec::new();
    for t in tables {
        if dropping.contains(&t.name) || !t.foreign_keys.iter().any(|f| dropping.contains(&f.parent)) {
            continue;
        }
        let mine = t
            .foreign_keys
            .iter()
            .filter(|f| dropping.contains(&f.parent))
            .map(|f| format!("drop cascades to constraint {} on table {}", f.name, crate::schema::shown(&t.name)));
        lines.push((t.oid, mine.collect()));
        let mut def = (*t).clone();
        def.foreign_keys.retain(|f| !dropping.contains(&f.parent));
        out.push((t, def));
    }
    Some((out, lines))
}

/// PostgreSQL's NOTICE for the objects a DROP ... CASCADE dropped with it (in OID order): one
/// line, or "drop cascades to N other objects" with them in its DETAIL.
pub(crate) fn cascade_notice(mut lines: CascadeLines) -> Option<SqlError> {
    lines.sort_by_key(|(oid, _)| *oid);
    let mut lines: Vec<String> = lines.into_iter().flat_map(|(_, l)| l).collect();
    match lines.len() {
        0 => None,
        1 => Some(SqlError::new("00000", lines.remove(0))),
        n => Some(SqlError::new("00000", format!("drop cascades to {n} other objects")).detail(lines.join("\n"))),
    }
}

/// ALTER TABLE ... DROP COLUMN of column `i` of `table`: refused with PostgreSQL's 2BP01
/// while another table's foreign key references the column, unless CASCADE (then
/// [`after_drop_column`] drops those constraints).
pub(crate) fn check_drop_column(table: &TableDef, i: usize, cascade: bool) -> Result<()> {
    let col = table.columns.get(i).map_or("", |c| c.name.as_str());
    let rel = crate::schema::shown(&table.name);
    let lines: Vec<String> = referencing_constraints(table)
        .into_iter()
        .filter(|(child, f)| f.parent_columns.contains(&i) && !(child.name == table.name && f.columns.contains(&i)))
        .map(|(child, f)| {
            let child = crate::schema::shown(&child.name);
            format!("constraint {} on table {child} depends on column {col} of table {rel}", f.name)
        })
        .collect();
    if lines.is_empty() || cascade {
        return Ok(());
    }
    Err(SqlError::new(
        crate::error::code::DEPENDENT_OBJECTS_STILL_EXIST,
        format!("cannot drop column {col} of table {rel} because other objects depend on it"),
    )
    .detail(lines.join("\n"))
    .hint("Use DROP ... CASCADE to drop the dependent objects too."))
}

/// ALTER TABLE ... DROP CONSTRAINT of `table`'s UNIQUE constraint `index` (None: its primary
/// key) named `name`: refused with PostgreSQL's 2BP01 while a foreign key uses its index
/// (with CASCADE, [`key_users`] are dropped with it).
pub(crate) fn check_drop_key(table: &TableDef, index: Option<&IndexDef>, name: &str, cascade: bool) -> Result<()> {
    let oid = match index {
        None => table.oid as i64 + 1_000_000,
        Some(ix) => crate::index::index_table(table, ix).map_or(-1, |d| d.oid as i64),
    };
    let rel = crate::schema::shown(&table.name);
    let lines: Vec<String> = referencing_constraints(table)
        .into_iter()
        .filter(|(_, f)| unique_index_oid(table, f) == oid)
        .map(|(child, f)| {
            format!("constraint {} on table {} depends on index {name}", f.name, crate::schema::shown(&child.name))
        })
        .collect();
    if lines.is_empty() || cascade {
        return Ok(());
    }
    Err(SqlError::new(
        crate::error::code::DEPENDENT_OBJECTS_STILL_EXIST,
        format!("cannot drop constraint {name} on table {rel} because other objects depend on it"),
    )
    .detail(lines.join("\n"))
    .hint("Use DROP ... CASCADE to drop the dependent objects too."))
}

/// The foreign keys that use `table`'s UNIQUE constraint `index` (None: its primary key):
/// each referencing table (`table` itself included) in OID order, with their names.
pub(crate) fn key_users(table: &TableDef, index: Option<&IndexDef>) -> Vec<(Arc<TableDef>, Vec<String>)> {
    let oid = match index {
        None => table.oid as i64 + 1_000_000,
        Some(ix) => crate::index::index_table(table, ix).map_or(-1, |d| d.oid as i64),
    };
    let mut out: Vec<(Arc<TableDef>, Vec<String>)> = Vec::new();
    for (child, f) in referencing_constraints(table) {
        if unique_index_oid(table, &f) != oid {
            continue;
        }
        match out.last_mut() {
            Some((t, names)) if t.name == child.name => names.push(f.name),
            _ => out.push((child, vec![f.name])),
        }
    }
    out
}

/// After column `i` of `table` was dropped: the other tables whose foreign keys reference
/// `table`, without those on the column (DROP COLUMN ... CASCADE; the NOTICE lines name them)
/// and with the others' referenced column numbers moved down past `i`.
pub(crate) fn after_drop_column(table: &TableDef, i: usize) -> (Vec<CascadeRewrite>, CascadeLines) {
    let mut out: Vec<CascadeRewrite> = Vec::new();
    let mut lines = Vec::new();
    let mut tables = crate::catalog::user_tables();
    tables.sort_by_key(|t| t.oid);
    // The table's own foreign keys that referenced the column went with it (its new
    // definition); they are named too.
    let rel = crate::schema::shown(&table.name);
    let own = table
        .foreign_keys
        .iter()
        .filter(|f| f.parent == table.name && f.parent_columns.contains(&i) && !f.columns.contains(&i));
    lines.push((table.oid, own.map(|f| format!("drop cascades to constraint {} on table {rel}", f.name)).collect()));
    for t in tables {
        if t.name == table.name || !t.foreign_keys.iter().any(|f| f.parent == table.name) {
            continue;
        }
        let mut def = (*t).clone();
        let on_column = |f: &ForeignKeyDef| f.parent == table.name && f.parent_columns.contains(&i);
        let gone = def
            .foreign_keys
            .iter()
            .filter(|f| on_column(f))
            .map(|f| format!("drop cascades to constraint {} on table {}", f.name, crate::schema::shown(&t.name)));
        lines.push((t.oid, gone.collect::<Vec<_>>()));
        def.foreign_keys.retain(|f| !on_column(f));
        for f in def.foreign_keys.iter_mut().filter(|f| f.parent == table.name) {
            for c in &mut f.parent_columns {
                if *c > i {
                    *c -= 1;
                }
            }
        }
        if def.foreign_keys != t.foreign_keys {
            out.push((t, def));
        }
    }
    (out, lines)
}

/// TRUNCATE ... CASCADE: the tables that reference one of `tables`, and so on, added to them;
/// their names (within their schemas) in the order added, for the NOTICEs.
pub(crate) fn truncate_cascade(tables: &mut Vec<Arc<TableDef>>) -> Vec<String> {
    let mut added = Vec::new();
    let mut i = 0;
    while i < tables.len() {
        for (child, _) in referencing_constraints(&tables[i]) {
            if !tables.iter().any(|t| t.name == child.name) {
                added.push(crate::schema::relname(&child.name).to_string());
                tables.push(child);
            }
        }
        i += 1;
    }
    added
}

/// A FOREIGN KEY constraint's OID (pg_constraint): this plus its table's OID times 64 plus its
/// position.
const FK_CONSTRAINT_OID_BASE: i64 = 7_000_000;

pub(crate) fn constraint_oid(t: &TableDef, k: usize) -> i64 {
    FK_CONSTRAINT_OID_BASE + t.oid as i64 * 64 + k as i64
}

/// The OID of the referenced table's index the constraint uses (pg_constraint.conindid): its
/// primary key's or the UNIQUE constraint's.
pub(crate) fn unique_index_oid(parent: &TableDef, fk: &ForeignKeyDef) -> i64 {
    if by_primary_key(parent, fk) {
        return parent.oid as i64 + 1_000_000;
    }
    let mut want = fk.parent_columns.clone();
    want.sort_unstable();
    parent
        .indexes
        .iter()
        .filter(|x| x.unique)
        .find(|x| {
            let mut c = x.columns.clone();
            c.sort_unstable();
            c == want
        })
        .and_then(|x| crate::index::index_table(parent, x).ok())
        .map_or(0, |d| d.oid as i64)
}

/// pg_get_constraintdef's text: `FOREIGN KEY (a) REFERENCES p(id) ON UPDATE .. ON DELETE ..`
/// (the referenced table qualified by its schema outside `public`).
pub(crate) fn definition(t: &TableDef, fk: &ForeignKeyDef) -> String {
    let q = crate::regtypes::quote_ident;
    let cols = |def: &TableDef, c: &[usize]| {
        c.iter().map(|&i| def.columns.get(i).map_or_else(String::new, |c| q(&c.name))).collect::<Vec<_>>().join(", ")
    };
    let parent = crate::bind::lookup_table(&fk.parent);
    let pcols = parent.as_deref().map_or_else(String::new, |p| cols(p, &fk.parent_columns));
    let (schema, rel) = crate::schema::split(&fk.parent);
    // Qualified unless the search path finds it (pg_dump's empty path qualifies every name).
    let pname = match &parent {
        Some(p) => crate::regtypes::format(orbit_engine::table::OidKind::RegClass, p.oid),
        None if schema == "public" => q(rel),
        None => format!("{}.{}", q(schema), q(rel)),
    };
    let word = |a: FkAction| match a {
        FkAction::NoAction => "",
        FkAction::Restrict => "RESTRICT",
        FkAction::Cascade => "CASCADE",
        FkAction::SetNull => "SET NULL",
        FkAction::SetDefault => "SET DEFAULT",
    };
    let mut out = format!("FOREIGN KEY ({}) REFERENCES {pname}({pcols})", cols(t, &fk.columns));
    if fk.match_full {
        out.push_str(" MATCH FULL");
    }
    if fk.on_update != FkAction::NoAction {
        out.push_str(&format!(" ON UPDATE {}", word(fk.on_update)));
    }
    if fk.on_delete != FkAction::NoAction {
        out.push_str(&format!(" ON DELETE {}", word(fk.on_delete)));
    }
    if fk.deferrable {
        out.push_str(" DEFERRABLE");
    }
    if fk.initially_deferred {
        out.push_str(" INITIALLY DEFERRED");
    }
    if fk.not_valid {
        out.push_str(" NOT VALID");
    }
    out
}

/// The OIDs of the tables a foreign key references or belongs to, or that have triggers
/// (pg_class.relhastriggers).
pub(crate) fn tables_with_foreign_keys() -> std::collections::HashSet<i64> {
    let tables = crate::catalog::user_tables();
    let mut out = std::collections::HashSet::new();
    for t in &tables {
        for fk in &t.foreign_keys {
            out.insert(t.oid as i64);
            if let Some(p) = tables.iter().find(|p| p.name == fk.parent) {
                out.insert(p.oid as i64);
            }
        }
    }
    // And those with triggers of their own (CREATE TRIGGER).
    for trig in crate::triggers::all() {
        if let Some(t) = tables.iter().find(|t| t.name == trig.table) {
            out.insert(t.oid as i64);
        }
    }
    out
}

// --- DEFERRABLE constraints: checks kept until COMMIT (or SET CONSTRAINTS ... IMMEDIATE)

/// The most checks a transaction may keep for COMMIT (each is a row key or a referenced key);
/// a statement that would queue more fails with 54000 (PostgreSQL's queue is bounded by memory).
pub const MAX_DEFERRED_CHECKS: usize = 1_000_000;

/// A check a deferred constraint owes at COMMIT.
#[derive(Debug, Clone)]
enum Owed {
    /// The row of `table` with this storage key, if it still exists then, references a row
    /// under foreign key `fk` of `table`.
    References { table: String, fk: String, key: Vec<u8> },
    /// No row of `child` references `key` (in `parent`'s column types) under its foreign key
    /// `fk`, unless `parent` has the key again (NO ACTION after a DELETE or key UPDATE).
    Unreferenced { parent: String, child: String, fk: String, key: Vec<Datum> },
}

impl Owed {
    fn constraint(&self) -> (&str, &str) {
        match self {
            Owed::References { table, fk, .. } => (table, fk),
            Owed::Unreferenced { child, fk, .. } => (child, fk),
        }
    }
}

/// A transaction's SET CONSTRAINTS modes and the checks its deferred constraints owe.
#[derive(Debug, Default)]
pub struct Deferred {
    /// `SET CONSTRAINTS ALL`: deferred or not (it forgets the named modes before it).
    all: Option<bool>,
    /// `SET CONSTRAINTS name`: (table, constraint) deferred or not.
    named: Vec<((String, String), bool)>,
    owed: Vec<Owed>,
}

impl Deferred {
    /// Whether foreign key `fk` of table `table` is checked at COMMIT now.
    fn defers(&self, table: &str, fk: &ForeignKeyDef) -> bool {
        if !fk.deferrable {
            return false;
        }
        let named = self.named.iter().rev().find(|((t, n), _)| t == table && *n == fk.name).map(|(_, d)| *d);
        named.or(self.all).unwrap_or(fk.initially_deferred)
    }

    fn owe(&mut self, checks: impl IntoIterator<Item = Owed>) -> Result<()> {
        for c in checks {
            if self.owed.len() >= MAX_DEFERRED_CHECKS {
                return Err(SqlError::new(
                    "54000",
                    format!("too many deferred foreign key checks (at most {MAX_DEFERRED_CHECKS} per transaction)"),
                ));
            }
            self.owed.push(c);
        }
        Ok(())
    }
}

/// Queues the checks of the rows `rows` of `table` under the deferred foreign key `fk`.
fn defer_references(txn: &mut Txn, table: &TableDef, fk: &ForeignKeyDef, rows: &[&Row]) -> Result<()> {
    let checks = rows.iter().filter(|r| key_values(r, &fk.columns).is_some()).map(|r| Owed::References {
        table: table.name.clone(),
        fk: fk.name.clone(),
        key: table.key_of(r),
    });
    txn.deferred.owe(checks.collect::<Vec<_>>())
}

/// The table and foreign key a deferred check names, if both still exist.
fn constraint_named(table: &str, fk: &str) -> Option<(Arc<TableDef>, ForeignKeyDef)> {
    let t = crate::bind::lookup_table(table)?;
    let f = t.foreign_keys.iter().find(|f| f.name == fk)?.clone();
    Some((t, f))
}

/// Runs the owed checks `owed` (nothing is deferred while they run).
async fn run_owed(txn: &mut Txn, owed: Vec<Owed>) -> Result<()> {
    for check in owed {
        match check {
            Owed::References { table, fk, key } => {
                let Some((t, f)) = constraint_named(&table, &fk) else { continue };
                let row = match txn.own(&t, &key) {
                    Some(r) => r.cloned(),
                    None => crate::exec::read_key(&t, key, None, &[], txn.read_at()).await?,
                };
                let Some(row) = row else { continue };
                let probe = TableDef { foreign_keys: vec![f], ..(*t).clone() };
                check_references(txn, &probe, &[&row], None, false).await?;
            }
            Owed::Unreferenced { parent, child, fk, key } => {
                let (Some(p), Some((c, f))) = (crate::bind::lookup_table(&parent), constraint_named(&child, &fk))
                else {
                    continue;
                };
                still_referenced(txn, &p, &c, &f, vec![key]).await?;
            }
        }
    }
    Ok(())
}

/// NO ACTION's check of keys of `parent` that went away: fails with 23503 while a row of
/// `child` references one that `parent` does not have again.
async fn still_referenced(
    txn: &mut Txn,
    parent: &Arc<TableDef>,
    child: &Arc<TableDef>,
    fk: &ForeignKeyDef,
    mut keys: Vec<Vec<Datum>>,
) -> Result<()> {
    let still = present(txn, parent, fk, &keys, false).await?;
    let mut it = still.iter();
    keys.retain(|_| !it.next().copied().unwrap_or(false));
    if keys.is_empty() {
        return Ok(());
    }
    let child_keys: Vec<Vec<Datum>> = keys
        .iter()
        .map(|k| cast_key(k, child, &fk.columns).unwrap_or_else(|_| vec![Datum::Null; fk.columns.len()]))
        .collect();
    let rows = referencing_rows(txn, child, fk, &child_keys).await?;
    let Some((_, _, first)) = rows.first() else { return Ok(()) };
    Err(still_referenced_error(parent, child, fk, &keys[*first]))
}

fn still_referenced_error(parent: &TableDef, child: &TableDef, fk: &ForeignKeyDef, key: &[Datum]) -> SqlError {
    SqlError::new(
        FOREIGN_KEY_VIOLATION,
        format!(
            "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\"",
            crate::schema::relname(&parent.name),
            fk.name,
            crate::schema::relname(&child.name)
        ),
    )
    .detail(format!(
        "Key {} is still referenced from table \"{}\".",
        key_text(parent, &fk.parent_columns, key),
        crate::schema::relname(&child.name)
    ))
    .on_table(&child.name)
    .on_constraint(&fk.name)
}

/// COMMIT: the checks the deferred constraints owe, run before anything is applied (the one
/// hook in [`Txn::commit`]; an error there rolls the transaction back, as in PostgreSQL).
pub(crate) async fn check_deferred(txn: &mut Txn) -> Result<()> {
    if txn.deferred.owed.is_empty() {
        return Ok(());
    }
    txn.deferred.all = Some(false);
    txn.deferred.named.clear();
    let owed = std::mem::take(&mut txn.deferred.owed);
    run_owed(txn, owed).await
}

/// `SET CONSTRAINTS {ALL | name [, ...]} {DEFERRED | IMMEDIATE}`: the transaction's modes;
/// IMMEDIATE runs the checks the constraints it names owe now. A name may be qualified by its
/// schema (else every schema of the search path is looked in); it names every foreign key of
/// that name there. Names must be of DEFERRABLE constraints (42809) that exist (42704).
pub(crate) async fn set_constraints(txn: &mut Txn, names: Option<&[String]>, deferred: bool) -> Result<()> {
    match names {
        None => {
            txn.deferred.all = Some(deferred);
            txn.deferred.named.clear();
        }
        Some(names) => {
            let tables = crate::catalog::user_tables();
            let mut found = Vec::new();
            for name in names {
                let (schemas, cname) = match name.rsplit_once('.') {
                    Some((s, n)) => (vec![s.to_string()], n),
                    None => (crate::schema::path(), name.as_str()),
                };
                let mut any = false;
                for t in &tables {
                    let schema = crate::schema::split(&t.name).0;
                    if !schemas.iter().any(|s| s == schema) {
                        continue;
                    }
                    for f in t.foreign_keys.iter().filter(|f| f.name == cname) {
                        if !f.deferrable {
                            return Err(SqlError::new("42809", format!("constraint \"{cname}\" is not deferrable")));
                        }
                        any = true;
                        found.push((t.name.clone(), f.name.clone()));
                    }
                }
                let other = tables.iter().any(|t| {
                    schemas.iter().any(|s| s == crate::schema::split(&t.name).0)
                        && ((!t.pk.is_empty() && t.pk_name == cname)
                            || t.checks.iter().any(|c| c.name == cname)
                            || t.indexes.iter().any(|x| x.constraint && crate::schema::relname(&x.name) == cname))
                });
                if !any && other {
                    return Err(SqlError::new("42809", format!("constraint \"{cname}\" is not deferrable")));
                }
                if !any {
                    return Err(SqlError::new(
                        crate::error::code::UNDEFINED_OBJECT,
                        format!("constraint \"{cname}\" does not exist"),
                    ));
                }
            }
            for c in found {
                txn.deferred.named.retain(|(n, _)| *n != c);
                txn.deferred.named.push((c, deferred));
            }
        }
    }
    if deferred {
        return Ok(());
    }
    // The checks of the constraints now IMMEDIATE run at once.
    let owed = std::mem::take(&mut txn.deferred.owed);
    let (now, later): (Vec<Owed>, Vec<Owed>) = owed.into_iter().partition(|c| {
        let (table, fk) = c.constraint();
        constraint_named(table, fk).is_none_or(|(_, f)| !txn.deferred.defers(table, &f))
    });
    txn.deferred.owed = later;
    run_owed(txn, now).await
}
