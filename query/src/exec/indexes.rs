//! CREATE INDEX and DROP INDEX over the shards.
//!
//! CREATE INDEX builds the index's table from the table's rows (writers are held off as for
//! ALTER TABLE: new row locks on the table are refused with 55P03 until it ends, and the build
//! waits for the locks already held), through a staging table and swap, so a crash leaves the
//! whole index or none; then the table's definition gains the index, by the same staging and
//! swap of the table's definition alone (its rows stay in place: `utility::redefine`). A crash between the two leaves an index no table lists: no write keeps it
//! up to date and no read uses it; DROP INDEX removes it. DROP INDEX takes the index out of the
//! table's definition first, then drops the index's table.

use super::undo::{Created, ShardRows};
use super::utility::{
    carry_writes, committed_rows, holder, index_entries, keeps_undo, redefine, release_unless_held, set_altering,
    stage_and_swap_as,
};
use super::{drop_relations, notice, shard_of_key, QueryResult};
use crate::error::{code, Result, SqlError};
use crate::txn::Txn;
use orbit_engine::table::{IndexDef, Row, TableDef};
use orbit_shards::state;
use std::sync::Arc;

fn exists_error(name: &str) -> SqlError {
    SqlError::new(code::DUPLICATE_TABLE, format!("relation \"{}\" already exists", crate::schema::relname(name)))
}

pub(super) async fn create_index(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    index: &IndexDef,
    if_not_exists: bool,
) -> Result<QueryResult> {
    let mut r = QueryResult { tag: "CREATE INDEX".into(), ..Default::default() };
    if crate::bind::lookup_table(&index.name).is_some() || crate::sequence::exists(&index.name).await? {
        if if_not_exists {
            r.notices.push(notice(
                code::DUPLICATE_TABLE,
                format!("relation \"{}\" already exists, skipping", crate::schema::relname(&index.name)),
            ));
            return Ok(r);
        }
        return Err(exists_error(&index.name));
    }
    set_altering(table, true, txn).await?;
    let built = build(txn, table, index).await;
    if built.is_err() {
        release_unless_held(txn, table).await;
    }
    built?;
    Ok(r)
}

/// Builds the index from the committed rows; the entries of the rows the transaction changed
/// go into its write set (uniqueness is checked over the rows it sees).
pub(super) async fn build(txn: &mut Txn, table: &Arc<TableDef>, index: &IndexDef) -> Result<()> {
    let (_, n) = state::local();
    let rows = committed_rows(txn, table).await?;
    let own = txn.overlay_rows(table);
    let (entries, deletes) = index_entries(table, index, &rows, &own)?;
    let mut per_shard: Vec<Vec<(Vec<u8>, Row)>> = vec![Vec::new(); n];
    for (k, e) in entries {
        per_shard[shard_of_key(&k, n)].push((k, e));
    }
    stage_and_swap_as(&index.name, None, table.index_table(index), per_shard, None).await?;
    drop(rows);
    // The table's definition gains the index (its rows unchanged: kept where they are).
    let mut def = (**table).clone();
    def.indexes.push(index.clone());
    redefine(table, def, holder(txn)).await?;
    if own.is_empty() {
        return Ok(());
    }
    // The entries of the transaction's changes: the changed committed rows' entries out, the
    // new ones in.
    let idef = crate::bind::lookup_table(&index.name).ok_or_else(|| super::no_table(&index.name))?;
    for k in deletes {
        txn.write(&idef, k, None)?;
    }
    for r in own.values().flatten() {
        if let Some((k, e)) = crate::index::entry(table, index, r)? {
            txn.write(&idef, k, Some(e))?;
        }
    }
    carry_writes(txn, table, own).await
}

/// DROP INDEX; in a transaction that outlives the statement, also what ROLLBACK needs to put
/// the indexes back (their entries, their tables' definitions and rows).
pub(super) async fn drop_index(
    txn: &mut Txn,
    names: &[String],
    if_exists: bool,
) -> Result<(QueryResult, Vec<Created>)> {
    let mut r = QueryResult { tag: "DROP INDEX".into(), ..Default::default() };
    // PostgreSQL checks every name before dropping any.
    let mut found = Vec::new();
    for name in names {
        match crate::bind::lookup_table(name) {
            None if if_exists => r
                .notices
                .push(notice("00000", format!("index \"{}\" does not exist, skipping", crate::schema::relname(name)))),
            None => {
                return Err(SqlError::new(
                    code::UNDEFINED_OBJECT,
                    format!("index \"{}\" does not exist", crate::schema::relname(name)),
                ))
            }
            Some(d) if d.index_of.is_none() => {
                return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{name}\" is not an index"))
                    .hint("Use DROP TABLE to remove a table."))
            }
            Some(d) => {
                let base = crate::bind::index_owner(&d);
                if let Some(b) = &base {
                    if b.indexes.iter().any(|x| x.name == *name && x.constraint) {
                        return Err(SqlError::new(
                            code::DEPENDENT_OBJECTS_STILL_EXIST,
                            format!(
                                "cannot drop index {name} because constraint {name} on table {} requires it",
                                b.name
                            ),
                        )
                        .hint(format!("You can drop constraint {name} on table {} instead.", b.name)));
                    }
                }
                found.push((name.clone(), base));
            }
        }
    }
    let mut undo = Vec::new();
    for (name, base) in found {
        if let Some(table) = base {
            undo.extend(remove_from_table(txn, &table, &name).await?);
        }
        undo.extend(drop_kept(txn, &name).await?);
        // Its entries for the transaction's changes go with it.
        txn.forget_writes(&name);
    }
    Ok((r, undo))
}

/// Drops relation `name` (an index's table), keeping its definition and entries for ROLLBACK
/// unless the statement commits alone.
pub(super) async fn drop_kept(txn: &Txn, name: &str) -> Result<Option<Created>> {
    let kept = match (keeps_undo(txn), crate::bind::lookup_table(name)) {
        (true, Some(def)) => {
            Some(Created::Dropped { rows: per_shard(committed_rows(txn, &def).await?), def: Box::new((*def).clone()) })
        }
        _ => None,
    };
    drop_relations(&[name.to_string()]).await?;
    Ok(kept)
}

/// Rows (key, row) placed on the shards their keys hash to.
pub(super) fn per_shard(rows: Vec<(Vec<u8>, Row)>) -> ShardRows {
    let (_, n) = state::local();
    let mut out: ShardRows = vec![Vec::new(); n];
    for (k, row) in rows {
        out[shard_of_key(&k, n)].push((k, row));
    }
    out
}

/// The table's definition without the index `name` (its rows unchanged); what ROLLBACK needs
/// to put the old definition back.
pub(super) async fn remove_from_table(txn: &mut Txn, table: &Arc<TableDef>, name: &str) -> Result<Option<Created>> {
    let mut def = (**table).clone();
    def.indexes.retain(|x| x.name != name);
    swap_definition(txn, table, def).await
}

/// Swaps `def` in for `table`: a definition that leaves its columns, key and rows as they are
/// (an index gone, a constraint renamed). What ROLLBACK needs to put the old one back comes
/// back when the transaction is a block.
pub(super) async fn swap_definition(txn: &mut Txn, table: &Arc<TableDef>, def: TableDef) -> Result<Option<Created>> {
    let keep = keeps_undo(txn);
    swap_definition_keeping(txn, table, def, keep).await
}

/// [`swap_definition`], keeping what ROLLBACK needs only if `keep` (a statement whose undo
/// puts the old definition back its own way keeps nothing).
pub(super) async fn swap_definition_keeping(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    def: TableDef,
    keep: bool,
) -> Result<Option<Created>> {
    let (_, n) = state::local();
    set_altering(table, true, txn).await?;
    let own = txn.overlay_rows(table);
    let r = async {
        // The rows stay where they are; only ROLLBACK of a block needs them read (to put the
        // old definition back with them).
        let kept = if keep {
            let mut per_shard: Vec<Vec<(Vec<u8>, Row)>> = vec![Vec::new(); n];
            for (k, row) in committed_rows(txn, table).await? {
                per_shard[shard_of_key(&k, n)].push((k, row));
            }
            Some((Box::new((**table).clone()), per_shard))
        } else {
            None
        };
        redefine(table, def, holder(txn)).await?;
        Ok(kept.map(|(old, rows)| Created::Replaced { name: table.name.clone(), oid: 0, old, rows }))
    }
    .await;
    let r = match r {
        Ok(kept) => carry_writes(txn, table, own).await.map(|()| kept),
        Err(e) => Err(e),
    };
    if r.is_err() {
        release_unless_held(txn, table).await;
    }
    r
}

/// REINDEX (`bind/reindex.rs`): each secondary index named is built again from its table's
/// committed rows and swapped in for the old one (its entries for the transaction's own
/// changes stay in its write set, now against the new index); writers of the table are held
/// off meanwhile. A primary key's index is the table itself: nothing to build.
pub(super) async fn reindex(txn: &mut Txn, p: &crate::bind::reindex::ReindexPlan) -> Result<QueryResult> {
    let mut r = QueryResult { tag: "REINDEX".into(), ..Default::default() };
    for n in &p.notices {
        r.notices.push(notice("00000", n.clone()));
    }
    for (table, names) in &p.tables {
        // The table as it is now (an earlier table's rebuild does not change it).
        let Some(table) = crate::bind::lookup_table(&table.name).filter(|t| t.oid == table.oid) else { continue };
        if names.is_empty() {
            continue;
        }
        set_altering(&table, true, txn).await?;
        let built = rebuild(txn, &table, names).await;
        if built.is_err() {
            release_unless_held(txn, &table).await;
        } else if holder(txn).is_none() {
            let _ = set_altering(&table, false, txn).await;
        }
        built?;
    }
    Ok(r)
}

/// Builds `names` (indexes of `table`) again.
async fn rebuild(txn: &mut Txn, table: &Arc<TableDef>, names: &[String]) -> Result<()> {
    let (_, n) = state::local();
    let rows = committed_rows(txn, table).await?;
    for name in names {
        let Some(index) = table.indexes.iter().find(|x| x.name == *name) else { continue };
        let Some(old) = crate::bind::lookup_table(name) else { continue };
        let (entries, _) = index_entries(table, index, &rows, &Default::default())?;
        let mut per_shard: Vec<Vec<(Vec<u8>, Row)>> = vec![Vec::new(); n];
        for (k, e) in entries {
            per_shard[shard_of_key(&k, n)].push((k, e));
        }
        let own = txn.overlay_rows(&old);
        stage_and_swap_as(name, Some(&old), table.index_table(index), per_shard, holder(txn)).await?;
        if !own.is_empty() {
            let now = crate::bind::lookup_table(name).ok_or_else(|| super::no_table(name))?;
            txn.rewrite_writes(name, &now, own)?;
        }
    }
    Ok(())
}
