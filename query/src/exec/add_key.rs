//! ALTER TABLE ... ADD PRIMARY KEY on a table that has UNIQUE constraints or other indexes
//! (pg_dump adds a table's UNIQUE constraints and its primary key after its rows, in name
//! order, so `a_name_key` comes before `a_pkey`). Index entries point at rows by primary key
//! (or row id), so as DROP of a key does (`drop_key.rs`): the new key is checked over the rows
//! first, then each index goes (as DROP INDEX), the rows are re-keyed
//! ([`utility::rekey`]) and each index is built again over them (as CREATE INDEX). Each step
//! is undone by ROLLBACK in a block; an error or a crash between the steps puts back the table
//! and its indexes from the copies [`super::ddl_journal::guard`] made first.

use super::undo::Created;
use super::utility::{self, committed_rows, release_unless_held, set_altering, visible};
use super::QueryResult;
use crate::error::{code, Result, SqlError};
use crate::txn::Txn;
use crate::types;
use orbit_engine::table::{key, Row, TableDef};
use std::sync::Arc;

/// The rows the transaction sees hold no duplicate and no NULL under the new key `def.pk`
/// (PostgreSQL builds the unique index first — NULLs never collide there; of several
/// duplicated keys the sort meets the smallest first — then checks NOT NULL).
pub(super) fn check_new_key<'a>(
    table: &TableDef,
    def: &TableDef,
    seen: impl Iterator<Item = &'a Row>,
    pk_name: &str,
) -> Result<()> {
    let pk = &def.pk;
    // Keys only, pointing at their rows: nothing of the table is copied.
    let mut keyed: Vec<(Vec<u8>, &Row)> = seen.map(|row| (key::encode(pk.iter().map(|&i| &row[i])), row)).collect();
    let has_null = keyed.iter().find_map(|(_, row)| pk.iter().find(|&&c| row[c].is_null()).copied());
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let dup = keyed.windows(2).find(|w| w[0].0 == w[1].0 && pk.iter().all(|&c| !w[0].1[c].is_null()));
    if let Some(w) = dup {
        let row = w[0].1;
        let cols: Vec<&str> = pk.iter().map(|&i| def.columns[i].name.as_str()).collect();
        let vals: Vec<String> = pk.iter().map(|&i| types::to_text(&row[i]).unwrap_or_else(|| "null".into())).collect();
        return Err(SqlError::new(code::UNIQUE_VIOLATION, format!("could not create unique index \"{pk_name}\""))
            .detail(format!("Key ({})=({}) is duplicated.", cols.join(", "), vals.join(", ")))
            .on_table(&table.name)
            .on_constraint(pk_name));
    }
    if let Some(c) = has_null {
        return Err(SqlError::new(
            code::NOT_NULL_VIOLATION,
            format!("column \"{}\" of relation \"{}\" contains null values", table.columns[c].name, table.name),
        )
        .on_table(&table.name)
        .on_column(&table.columns[c].name));
    }
    Ok(())
}

/// [`utility::add_primary_key`] of a table with indexes.
pub(super) async fn with_indexes(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    pk: &[usize],
    pk_name: &str,
) -> Result<(QueryResult, Vec<Created>)> {
    // Checked before anything changes: a statement that commits alone keeps nothing to undo
    // the dropped indexes with.
    set_altering(table, true, txn).await?;
    let checked = async {
        let rows = committed_rows(txn, table).await?;
        let own = txn.overlay_rows(table);
        let mut def = (**table).clone();
        def.pk = pk.to_vec();
        check_new_key(table, &def, visible(&rows, &own), pk_name)
    }
    .await;
    if let Err(e) = checked {
        release_unless_held(txn, table).await;
        return Err(e);
    }
    // The table stays this transaction's until it ends, also between the steps.
    txn.holds_tables = true;
    let me = Some(txn.id);
    let kept_indexes = table.indexes.clone();
    let mut undo = Vec::new();
    let now = super::drop_key::drop_indexes(txn, table, &kept_indexes, &mut undo).await?;
    let (_, n) = orbit_shards::state::local();
    let (r, kept) = utility::rekey(txn, &now, pk, pk_name, n, me).await?;
    undo.extend(kept);
    super::crash_point("rekey-rewritten");
    super::drop_key::build_indexes(txn, &table.name, &kept_indexes, &mut undo).await?;
    if txn.alone {
        undo.clear();
    }
    Ok((r, undo))
}
