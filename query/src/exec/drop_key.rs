//! ALTER TABLE of a table that loses its primary key (DROP CONSTRAINT of it, DROP COLUMN of
//! one of its columns) while it has other indexes: their entries point at rows by primary key,
//! so each goes first (as DROP INDEX), the rows are re-keyed by row ids
//! ([`utility::rewrite_columns_held`]), and each is built again over them (as CREATE INDEX).
//! The table stays held against other writers throughout. Each step is undone by ROLLBACK in
//! a block; an error or a crash between the steps puts back the table and every index as they
//! were before the statement, from the copies [`super::ddl_journal::guard`] made first.

use super::undo::{self, Created};
use super::{indexes, no_table, utility, QueryResult};
use crate::error::Result;
use crate::txn::Txn;
use orbit_engine::table::{IndexDef, TableDef};
use std::sync::Arc;

/// Whether `def` takes `table`'s primary key away while keeping some of its indexes.
pub(super) fn drops_key_with_indexes(table: &TableDef, def: &TableDef) -> bool {
    !table.has_row_id() && def.has_row_id() && !def.indexes.is_empty()
}

pub(super) async fn rewrite(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    def: &TableDef,
    change: &crate::bind::ColumnChange,
) -> Result<(QueryResult, Vec<Created>)> {
    // The table stays this transaction's until it ends, also between the steps.
    txn.holds_tables = true;
    let me = Some(txn.id);
    let kept_indexes = def.indexes.clone();
    let mut undo = Vec::new();
    let now = drop_indexes(txn, table, &kept_indexes, &mut undo).await?;
    let mut plain = def.clone();
    plain.indexes.clear();
    let (r, kept) = utility::rewrite_columns_held(txn, &now, &plain, change, me).await?;
    undo.extend(kept);
    super::crash_point("rekey-rewritten");
    build_indexes(txn, &table.name, &kept_indexes, &mut undo).await?;
    if txn.alone {
        undo.clear();
    }
    Ok((r, undo))
}

/// Drops `kept` of `table`'s indexes (as DROP INDEX: their entries point at rows by a key that
/// is about to change), what undoes each added to `undo`; the table as it is after.
pub(super) async fn drop_indexes(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    kept: &[IndexDef],
    undo: &mut Vec<Created>,
) -> Result<Arc<TableDef>> {
    let mut now = table.clone();
    for ix in kept {
        undo.extend(indexes::remove_from_table(txn, &now, &ix.name).await?);
        undo.extend(indexes::drop_kept(txn, &ix.name).await?);
        txn.forget_writes(&ix.name);
        now = crate::bind::lookup_table(&table.name).ok_or_else(|| no_table(&table.name))?;
        super::crash_point("rekey-index-dropped");
    }
    Ok(now)
}

/// Builds `kept` again over table `name`'s re-keyed rows (as CREATE INDEX), what undoes each
/// added to `undo`.
pub(super) async fn build_indexes(txn: &mut Txn, name: &str, kept: &[IndexDef], undo: &mut Vec<Created>) -> Result<()> {
    for ix in kept {
        let now = crate::bind::lookup_table(name).ok_or_else(|| no_table(name))?;
        indexes::build(txn, &now, ix).await?;
        undo.extend(undo::created(ix.name.clone(), 2).await?);
        super::crash_point("rekey-index-built");
    }
    Ok(())
}
