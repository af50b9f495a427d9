//! `ALTER TABLE t RENAME TO u` (and ALTER INDEX's: [`rename_index`]): one `TableRename` log
//! record per shard. Shard 0 (the catalog
//! owner) decides and takes a catalog generation, then every other shard applies the rename
//! under it, as CREATE and DROP do. The table keeps its OID, rows, indexes (their names too, as
//! in PostgreSQL) and the sequences its columns own (their `owned_by` rows follow the name).
//! Writers are held off while it runs, as for every ALTER TABLE (55P03 for a new write).

use super::utility::{carry_writes, set_altering};
use super::{durable, gone, io_error, QueryResult};
use crate::error::{code, Result, SqlError};
use crate::txn::Txn;
use orbit_engine::table::TableDef;
use orbit_shards::mesh;
use orbit_shards::tables as shard_tables;
use std::sync::Arc;

fn exists_error(name: &str) -> SqlError {
    SqlError::new(code::DUPLICATE_TABLE, format!("relation \"{}\" already exists", crate::schema::relname(name)))
}

/// `ALTER SEQUENCE s RENAME TO t` (or ALTER TABLE / INDEX of a sequence). The tables whose
/// DEFAULT calls it are held first (no insert takes a value meanwhile); the sequence's row is
/// copied under the new name, each of those tables gets a definition naming the new one (as
/// PostgreSQL's defaults follow the sequence's OID), then the old row goes
/// ([`crate::sequence::finish_rename`]). A crash between the steps leaves a working database
/// (both rows, the defaults naming either). The session's currval of it follows. In a block
/// the tables stay held until it ends; ROLLBACK and a crash before COMMIT run the same the
/// other way (`undo::Created::SequenceRenamed`).
pub(super) async fn rename_sequence(txn: &mut Txn, from: &str, to: &str) -> Result<()> {
    if !crate::sequence::exists_for(from, txn.id).await? {
        return Err(SqlError::new(
            code::UNDEFINED_TABLE,
            format!("relation \"{}\" does not exist", crate::schema::relname(from)),
        ));
    }
    let parts = [to.to_string()];
    if crate::bind::lookup_table(to).is_some()
        || crate::catalog::resolve(&parts).is_some()
        || crate::regtypes::relation_named(to)
        || crate::sequence::exists(to).await?
    {
        return Err(exists_error(to));
    }
    let calling = crate::sequence::tables_calling(from);
    for (k, (table, _)) in calling.iter().enumerate() {
        if let Err(e) = set_altering(table, true, txn).await {
            for (t, _) in &calling[..k] {
                super::utility::release_unless_held(txn, t).await;
            }
            return Err(e);
        }
    }
    let r = async {
        let copied = crate::sequence::copy_renamed(from, to).await?;
        for (table, columns) in &calling {
            let mut def = (**table).clone();
            for &i in columns {
                def.columns[i].default_expr = Some(crate::sequence::nextval_default(to));
            }
            super::indexes::swap_definition_keeping(txn, table, def, false).await?;
        }
        super::crash_point("sequence-defaults-renamed");
        crate::sequence::finish_rename(from, to, copied).await
    }
    .await;
    if r.is_err() {
        for (t, _) in &calling {
            if let Some(now) = crate::bind::lookup_table(&t.name) {
                super::utility::release_unless_held(txn, &now).await;
            }
        }
    }
    r?;
    crate::sequence::rename_in_session(&mut txn.sequences.borrow_mut(), from, to);
    Ok(())
}

pub(super) async fn rename_table(txn: &mut Txn, table: &Arc<TableDef>, new_name: &str) -> Result<QueryResult> {
    // The views and materialized views that read it keep their queries as SQL text naming it:
    // each is written again naming the new name (`views::with_relation_renamed`), after the
    // rename; one whose text cannot be rewritten refuses it.
    let readers: Vec<Arc<TableDef>> = crate::catalog::user_tables()
        .into_iter()
        .filter(|v| (v.view.is_some() || v.matview.is_some()) && !v.name.contains(super::undo::HIDDEN))
        .filter(|v| super::views::reads(v).contains(&table.name))
        .collect();
    let mut rewritten = Vec::with_capacity(readers.len());
    for v in &readers {
        let Some(text) = super::views::with_relation_renamed(v, &table.name, new_name) else {
            return Err(SqlError::unsupported(format!(
                "ALTER TABLE ... RENAME TO of \"{}\", which view {} reads, is not supported yet",
                table.name, v.name
            )));
        };
        rewritten.push((v.clone(), text));
    }
    // Any relation's name is taken: tables, indexes (primary keys' too), sequences, system
    // catalogs.
    let parts = [new_name.to_string()];
    if crate::bind::lookup_table(new_name).is_some()
        || crate::catalog::resolve(&parts).is_some()
        || crate::regtypes::relation_named(new_name)
        || crate::sequence::exists(new_name).await?
    {
        return Err(exists_error(new_name));
    }
    set_altering(table, true, txn).await?;
    let r = rename_everywhere(table, new_name).await;
    let renamed = match &r {
        Ok(_) => Arc::new(TableDef { name: new_name.to_string(), ..(**table).clone() }),
        Err(_) => table.clone(),
    };
    // In a block the table stays held until the block ends, failed or not (ROLLBACK may put
    // back a definition an earlier ALTER of the block replaced).
    let _ = set_altering(&renamed, !txn.alone, txn).await;
    let r = r?;
    // The transaction's changes to the table follow it to its new name (same OID).
    let own = txn.overlay_rows(table);
    if !own.is_empty() {
        txn.rewrite_writes(&table.name, &renamed, own)?;
    }
    follow_in_views(txn, rewritten).await?;
    Ok(r)
}

/// The readers of a renamed table (or column) get their rewritten queries: a view is replaced (as CREATE
/// OR REPLACE VIEW replaces it), a materialized view gets a new definition (its rows stay);
/// ROLLBACK puts the old ones back.
pub(super) async fn follow_in_views(txn: &mut Txn, rewritten: Vec<(Arc<TableDef>, String)>) -> Result<()> {
    for (v, text) in rewritten {
        let Some(now) = crate::bind::lookup_table(&v.name) else { continue };
        let mut def = (*now).clone();
        if let Some(m) = def.matview.as_mut() {
            m.query = text;
            let kept: Vec<super::undo::Created> =
                super::indexes::swap_definition(txn, &now, def).await?.into_iter().collect();
            super::undo::keep(txn, kept)?;
        } else {
            def.view = Some(text);
            super::views::create_view(&def, true, super::utility::holder(txn)).await?;
            let old = super::undo::Created::Dropped { def: Box::new((*now).clone()), rows: Vec::new() };
            super::undo::keep(txn, vec![old])?;
        }
    }
    Ok(())
}

/// `ALTER INDEX index RENAME TO new_name` of an index of `base`: the index's table is renamed,
/// and `base`'s definition lists it under the new name in the same log record
/// (`Tables::rename`). Writers of `base` are held off meanwhile, as for CREATE INDEX; the
/// transaction's own changes to `base` follow its new definition.
pub(super) async fn rename_index(
    txn: &mut Txn,
    base: &Arc<TableDef>,
    index: &Arc<TableDef>,
    new_name: &str,
) -> Result<QueryResult> {
    set_altering(base, true, txn).await?;
    let own = txn.overlay_rows(base);
    let r = match rename_table(txn, index, new_name).await {
        Ok(r) => carry_writes(txn, base, own).await.map(|()| r),
        Err(e) => Err(e),
    };
    // Same OID: the definition as it is now. In a block it stays held to the block's end.
    let now = crate::bind::lookup_table(&base.name).unwrap_or_else(|| base.clone());
    let _ = set_altering(&now, !txn.alone, txn).await;
    r
}

pub(super) async fn rename_everywhere(table: &Arc<TableDef>, new_name: &str) -> Result<QueryResult> {
    let (from, to, oid) = (table.name.clone(), new_name.to_string(), table.oid);
    let decided = mesh::run_on(0, move |s| {
        shard_tables::writable(s).map_err(io_error)?;
        // The table may have gone or changed since the statement was bound.
        if s.tables.get(&from).is_none_or(|t| t.def.oid != oid) {
            return Err(SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{from}\" does not exist")));
        }
        if s.tables.get(&to).is_some() {
            return Err(exists_error(&to));
        }
        let g = s.tables.next_generation();
        let (renamed, ticket) = shard_tables::rename(s, &from, &to, g);
        Ok::<_, SqlError>((renamed.then_some(g), ticket))
    })
    .await
    .map_err(gone)??;
    let Some(generation) = decided.0 else { return Err(exists_error(new_name)) };
    super::owner_decided(decided.1, &table.name).await?;
    let mut tickets = Vec::new();
    let (from, to) = (table.name.clone(), new_name.to_string());
    let more = mesh::run_on_all(move |s| {
        if s.id != 0 {
            return shard_tables::rename(s, &from, &to, generation).1;
        }
        None
    })
    .await
    .map_err(gone)?;
    tickets.extend(more.into_iter().flatten());
    durable(tickets).await?;
    crate::sequence::set_owner(&table.name, new_name).await?;
    Ok(QueryResult { tag: "ALTER TABLE".into(), ..Default::default() })
}
