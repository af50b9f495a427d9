//! Constraints on the write path: CHECK constraints checked on every row written, and the
//! secondary indexes (UNIQUE constraints, CREATE INDEX) kept up to date with every change.
//!
//! An index's entries are the rows of a table of its own ([`orbit_engine::table::IndexDef`]),
//! hash-partitioned by entry key like any table, so a unique index's entry for a value lives on
//! one shard whatever shard the indexed row lives on. A statement's index changes go into the
//! transaction's write set with its row changes, under the same row locks: a writer locks the
//! entry key it adds (or removes), so two transactions adding the same unique value meet on one
//! lock; the second waits for the first to end, then sees its entry (23505) or, after a
//! rollback, none. COMMIT applies rows and entries together (the cross-shard commit when they
//! live on several shards).
//!
//! Uniqueness is checked for the statement as a whole (an UPDATE that swaps two values passes,
//! where PostgreSQL's row-by-row check may fail it, as for primary keys here).

use crate::error::{code, Result, SqlError};
use crate::expr::{self, Ctx, Expr};
use crate::txn::Txn;
use crate::types;
use orbit_engine::table::{Datum, IndexDef, Row, TableDef};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

/// Bound CHECK expressions cached per table definition (its OID changes with the definition).
const MAX_CACHED: usize = 1024;

/// A table's CHECK constraints, bound: (name, expression), in name order.
type BoundChecks = Rc<Vec<(String, Expr)>>;

/// An index's expression keys and predicate, bound.
pub(crate) type BoundIndex = Rc<(Vec<Expr>, Option<Expr>)>;

thread_local! {
    static CHECKS: RefCell<HashMap<u32, BoundChecks>> = RefCell::new(HashMap::new());
    static INDEXES: RefCell<HashMap<(u32, String), BoundIndex>> = RefCell::new(HashMap::new());
}

/// The bound expression keys and predicate of `index` of `table` (cached by the table's OID,
/// which changes with its definition, and the index's texts: a CREATE INDEX that failed may be
/// followed by another of the same name on the same definition).
pub(crate) fn bound_index(table: &TableDef, index: &IndexDef) -> Result<BoundIndex> {
    let texts: Vec<&str> = index.exprs.iter().map(|x| x.expr.as_str()).chain(index.predicate.as_deref()).collect();
    let key = (table.oid, format!("{}\0{}\0{}", index.name, texts.join("\0"), index.predicate.is_some()));
    if let Some(b) = INDEXES.with(|m| m.borrow().get(&key).cloned()) {
        return Ok(b);
    }
    let b = Rc::new(crate::bind::bind_index(table, index)?);
    INDEXES.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MAX_CACHED {
            m.clear();
        }
        m.insert(key, b.clone());
    });
    Ok(b)
}

/// The entry `row` of `table` has in `index` ([`TableDef::index_entry`]), its expression keys
/// evaluated; None for a row a partial index's predicate is not true for.
pub(crate) fn entry(table: &TableDef, index: &IndexDef, row: &[Datum]) -> Result<Option<(Vec<u8>, Row)>> {
    if !index.is_special() {
        return Ok(table.index_entry(index, row));
    }
    let b = bound_index(table, index)?;
    let cx = Ctx { row, params: &[], aggs: &[] };
    if let Some(p) = &b.1 {
        if expr::truth(expr::eval(p, &cx)?) != Some(true) {
            return Ok(None);
        }
    }
    let computed = b.0.iter().map(|e| expr::eval(e, &cx)).collect::<Result<Vec<_>>>()?;
    Ok(table.index_entry_with(index, row, &computed))
}

/// The conjuncts of `e` (its AND's operands, nested ANDs flattened).
fn and_parts<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
    match e {
        Expr::And(a, b) => {
            and_parts(a, out);
            and_parts(b, out);
        }
        other => out.push(other),
    }
}

/// Whether a row `filter` is true for is sure to be in `index`: the index is not partial, or
/// every conjunct of its predicate is one of the filter's (PostgreSQL's simple cases of
/// predicate implication; a filter that implies it otherwise does not use the index).
pub(crate) fn implied_by(table: &TableDef, index: &IndexDef, filter: Option<&Expr>) -> Result<bool> {
    if index.predicate.is_none() {
        return Ok(true);
    }
    let Some(filter) = filter else { return Ok(false) };
    let b = bound_index(table, index)?;
    let Some(pred) = &b.1 else { return Ok(true) };
    let (mut want, mut have) = (Vec::new(), Vec::new());
    and_parts(pred, &mut want);
    and_parts(filter, &mut have);
    let have: HashSet<String> = have.iter().map(|e| format!("{e:?}")).collect();
    Ok(want.iter().all(|e| have.contains(&format!("{e:?}"))))
}

/// The key names of `index` as PostgreSQL's messages list them (`lower(email)`, `(a + 1)`).
fn key_names(table: &TableDef, index: &IndexDef) -> Vec<String> {
    let mut exprs = index.exprs.iter();
    index
        .columns
        .iter()
        .map(|&i| match table.columns.get(i) {
            Some(c) => c.name.clone(),
            None => exprs.next().map(|x| crate::bind::key_text(table, x, true)).unwrap_or_default(),
        })
        .collect()
}

fn checks_of(table: &TableDef) -> Result<BoundChecks> {
    if let Some(c) = CHECKS.with(|m| m.borrow().get(&table.oid).cloned()) {
        return Ok(c);
    }
    let mut bound = Vec::with_capacity(table.checks.len());
    for c in &table.checks {
        bound.push((c.name.clone(), crate::bind::bind_check(table, c)?));
    }
    // PostgreSQL checks a table's constraints in name order.
    bound.sort_by(|a, b| a.0.cmp(&b.0));
    let bound = Rc::new(bound);
    CHECKS.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MAX_CACHED {
            m.clear();
        }
        m.insert(table.oid, bound.clone());
    });
    Ok(bound)
}

fn row_text(row: &[Datum]) -> String {
    let vals: Vec<String> = row.iter().map(|d| types::to_text(d).unwrap_or_else(|| "null".into())).collect();
    format!("({})", vals.join(", "))
}

/// Checks `row` (the table's columns, maybe followed by its row id) against the table's CHECK
/// constraints: one that is false fails with 23514 (NULL passes), as in PostgreSQL.
pub(crate) fn check_row(table: &TableDef, row: &[Datum]) -> Result<()> {
    if table.checks.is_empty() {
        return Ok(());
    }
    for (name, e) in checks_of(table)?.iter() {
        let v = expr::eval(e, &Ctx { row, params: &[], aggs: &[] })?;
        if expr::truth(v) == Some(false) {
            return Err(SqlError::new(
                code::CHECK_VIOLATION,
                format!(
                    "new row for relation \"{}\" violates check constraint \"{name}\"",
                    crate::schema::relname(&table.name)
                ),
            )
            .detail(format!("Failing row contains {}.", row_text(&row[..table.columns.len().min(row.len())])))
            .on_table(&table.name)
            .on_constraint(name));
        }
    }
    Ok(())
}

/// The table holding `index`'s entries, as this shard's catalog has it.
pub(crate) fn index_table(table: &TableDef, index: &IndexDef) -> Result<Arc<TableDef>> {
    crate::bind::lookup_table(&index.name)
        .filter(|d| d.index_of.as_deref() == Some(table.name.as_str()))
        .ok_or_else(|| SqlError::internal(format!("index \"{}\" of table \"{}\" is missing", index.name, table.name)))
}

/// PostgreSQL's 23505 for a unique index.
pub(crate) fn duplicate(table: &TableDef, index: &IndexDef, row: &[Datum], exists: bool) -> SqlError {
    let cols = key_names(table, index);
    let vals: Vec<String> = match entry(table, index, row) {
        Ok(Some((_, e))) => {
            e.iter().take(index.columns.len()).map(|d| types::to_text(d).unwrap_or_else(|| "null".into())).collect()
        }
        _ => Vec::new(),
    };
    let (msg, detail) = if exists {
        (
            format!("duplicate key value violates unique constraint \"{}\"", crate::schema::relname(&index.name)),
            format!("Key ({})=({}) already exists.", cols.join(", "), vals.join(", ")),
        )
    } else {
        (
            format!("could not create unique index \"{}\"", index.name),
            format!("Key ({})=({}) is duplicated.", cols.join(", "), vals.join(", ")),
        )
    };
    SqlError::new(code::UNIQUE_VIOLATION, msg)
        .detail(detail)
        .on_table(&table.name)
        .on_constraint(crate::schema::relname(&index.name))
}

/// One row change of a statement: the row before (None: inserted) and after (None: deleted).
pub(crate) type RowChange<'a> = (Option<&'a Row>, Option<&'a Row>);

/// Adds to `txn` the index changes that `changes` to `table`'s rows make, locking each entry
/// key first; a unique index's value taken by another row (committed, written earlier in this
/// transaction, or twice in `changes`) fails with 23505.
pub(crate) async fn maintain(txn: &mut Txn, table: &TableDef, changes: &[RowChange<'_>]) -> Result<()> {
    for ix in &table.indexes {
        let idef = index_table(table, ix)?;
        let mut dels: Vec<Vec<u8>> = Vec::new();
        let mut puts: Vec<(Vec<u8>, Row, &Row)> = Vec::new();
        for (old, new) in changes {
            let o = match old {
                Some(r) => entry(table, ix, r)?,
                None => None,
            };
            let n = match new {
                Some(r) => entry(table, ix, r)?.map(|e| (e, *r)),
                None => None,
            };
            if let (Some(a), Some((b, _))) = (&o, &n) {
                if a == b {
                    continue;
                }
            }
            if let Some((k, _)) = o {
                dels.push(k);
            }
            if let Some(((k, e), r)) = n {
                puts.push((k, e, r));
            }
        }
        if dels.is_empty() && puts.is_empty() {
            continue;
        }
        let mut lock_set = HashSet::new();
        let to_lock: Vec<Vec<u8>> = dels
            .iter()
            .chain(puts.iter().map(|(k, _, _)| k))
            .filter(|k| txn.own(&idef, k).is_none() && lock_set.insert((*k).clone()))
            .cloned()
            .collect();
        let committed = txn.lock(&idef, to_lock.clone()).await?;
        if ix.unique {
            let present: HashSet<&Vec<u8>> =
                to_lock.iter().zip(&committed).filter(|(_, r)| r.is_some()).map(|(k, _)| k).collect();
            let deleting: HashSet<&Vec<u8>> = dels.iter().collect();
            let mut seen = HashSet::with_capacity(puts.len());
            for (k, _, row) in &puts {
                let taken = !seen.insert(k)
                    || (!deleting.contains(k)
                        && match txn.own(&idef, k) {
                            Some(r) => r.is_some(),
                            None => present.contains(k),
                        });
                if taken {
                    return Err(duplicate(table, ix, row, true));
                }
            }
        }
        for k in dels {
            txn.write(&idef, k, None)?;
        }
        for (k, e, _) in puts {
            txn.write(&idef, k, Some(e))?;
        }
    }
    Ok(())
}
