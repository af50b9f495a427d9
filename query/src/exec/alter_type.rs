//! `ALTER TABLE ... ALTER COLUMN ... TYPE` as it runs (bound in `bind/alter_type.rs`).
//!
//! The table is rewritten under its new definition as ALTER TABLE's other actions are
//! ([`super::utility::rewrite_columns`]): each row's value converted on the coordinator, the
//! rows placed by their new keys (a key column's new encoding hashes elsewhere: the row moves
//! to its new shard), staged and swapped in; a failing conversion (22P02, 22003, 22001) fails
//! the statement before the swap, leaving the table as it was. Then every index of the table
//! is built again from the converted rows (its keys ordered by the new type; every entry
//! carries the primary key, so all of them change when a key column does), each by its own
//! staging and swap. Several swaps: the statement runs under a guard
//! ([`super::ddl_journal::guarded_tables`]) so that an error or a crash between them puts
//! the table and its indexes back. In a block, ROLLBACK puts back the old definition, rows and
//! index entries.

use super::undo::{self, Created};
use super::utility::{committed_rows, index_entries, keeps_undo, rewrite_columns, stage_and_swap_as};
use super::{no_table, shard_of_key, QueryResult};
use crate::bind::{AlterColumn, ColumnChange, Retype};
use crate::error::{Result, SqlError};
use crate::txn::Txn;
use orbit_engine::table::{IndexDef, Row, TableDef};
use orbit_shards::state;
use std::sync::Arc;

pub(super) async fn retype(txn: &mut Txn, ac: &AlterColumn, rt: &Retype) -> Result<QueryResult> {
    let table = &ac.table;
    let cn = &table.columns[rt.column].name;
    refuse_if_viewed(table, cn)?;
    let (r, kept) = rewrite_columns(txn, table, &ac.def, &ColumnChange::Retype(rt.column, rt.conv.clone())).await?;
    undo::keep(txn, kept)?;
    super::crash_point("retype-rewritten");
    let now = crate::bind::lookup_table(&table.name).ok_or_else(|| no_table(&table.name))?;
    for index in &now.indexes {
        rebuild_index(txn, &now, index).await?;
        super::crash_point("retype-index-built");
    }
    Ok(r)
}

/// PostgreSQL's 0A000 when a view reads the column (a view names it, or selects `*`: a view
/// depends on every column its `*` expanded to).
fn refuse_if_viewed(table: &TableDef, cn: &str) -> Result<()> {
    if let Some(v) = super::views::column_readers(&table.name, cn, true).first() {
        return Err(SqlError::unsupported("cannot alter type of a column used by a view or rule")
            .detail(format!("rule _RETURN on view {} depends on column \"{cn}\"", crate::schema::relname(&v.name))));
    }
    Ok(())
}

/// Builds `index` of the retyped `table` again from its rows; the old entries are kept for
/// ROLLBACK in a block. Uniqueness is checked over the rows the transaction sees (two values
/// that convert to one: PostgreSQL's 23505 `could not create unique index`).
async fn rebuild_index(txn: &mut Txn, table: &Arc<TableDef>, index: &IndexDef) -> Result<()> {
    let (_, n) = state::local();
    let old = crate::index::index_table(table, index)?;
    let rows = committed_rows(txn, table).await?;
    let own = txn.overlay_rows(table);
    let (entries, deletes) = index_entries(table, index, &rows, &own)?;
    drop(rows);
    let mut per_shard: Vec<Vec<(Vec<u8>, Row)>> = vec![Vec::new(); n];
    for (k, e) in entries {
        per_shard[shard_of_key(&k, n)].push((k, e));
    }
    let kept = if keeps_undo(txn) {
        Some(Created::Replaced {
            name: index.name.clone(),
            oid: 0,
            old: Box::new((*old).clone()),
            rows: super::indexes::per_shard(committed_rows(txn, &old).await?),
        })
    } else {
        None
    };
    stage_and_swap_as(&index.name, Some(&old), table.index_table(index), per_shard, None).await?;
    undo::keep(txn, kept.into_iter().collect())?;
    // The transaction's own entries: written again under the new encoding.
    txn.forget_writes(&index.name);
    if own.is_empty() {
        return Ok(());
    }
    let idef = crate::bind::lookup_table(&index.name).ok_or_else(|| no_table(&index.name))?;
    for k in deletes {
        txn.write(&idef, k, None)?;
    }
    for r in own.values().flatten() {
        if let Some((k, e)) = crate::index::entry(table, index, r)? {
            txn.write(&idef, k, Some(e))?;
        }
    }
    Ok(())
}
