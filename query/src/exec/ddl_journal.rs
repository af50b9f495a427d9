//! The durable note of what an open transaction block's DDL created, so that a crash before
//! COMMIT undoes it at start-up as ROLLBACK would have.
//!
//! CREATE TABLE / VIEW / INDEX / SEQUENCE and ALTER TABLE ... RENAME TO apply at once and are
//! durable at once (the catalog has no uncommitted state). In a block, each one is also
//! written, once it ran, as a row of the system table [`JOURNAL`] (transaction id, position in
//! the transaction's list of objects, kind, name, OID, old name), durably, before the
//! statement's reply. COMMIT deletes the transaction's rows **through its write set**, so they
//! go in the same step (or the same two-phase commit) as its row changes: after a crash either
//! the commit happened and the rows are gone, or it did not and the rows are there. ROLLBACK
//! (and ROLLBACK TO) deletes them after undoing the objects. At start-up, before the server
//! accepts clients, every row left is a transaction a crash ended: its objects are undone,
//! newest first, each only if it is still the one that was created (same name and OID: a
//! later statement of the block that gave it a new OID rewrote its row), then the rows go.
//!
//! Not covered: what ALTER TABLE replaced, DROP INDEX / VIEW / SEQUENCE and CREATE OR REPLACE
//! VIEW keep in memory for ROLLBACK (a crash keeps their change); a crash between a CREATE and
//! its row (the statement was not acknowledged) keeps the object. DROP TABLE needs no row:
//! the hidden table's name says it all ([`super::undo::restore_hidden`]).

use super::undo::Created;
use super::{gone, io_error};
use crate::error::{Result, SqlError};
use crate::txn::Txn;
use orbit_engine::table::{ColumnDef, Datum, Row, SqlType, TableDef};
use orbit_shards::tables as shard_tables;
use orbit_shards::{mesh, state, wal};
use std::sync::Arc;

/// The system table of the open blocks' created objects.
pub const JOURNAL: &str = "pg_orbit_pending_ddl";

const KIND_TABLE: i16 = 0;
const KIND_VIEW: i16 = 1;
const KIND_INDEX: i16 = 2;
const KIND_SEQUENCE: i16 = 3;
const KIND_RENAMED: i16 = 4;

fn table_def() -> TableDef {
    let col = |n: &str, ty| ColumnDef { not_null: true, ..ColumnDef::new(n, ty) };
    TableDef {
        name: JOURNAL.to_string(),
        columns: vec![
            col("txid", SqlType::Int8),
            col("n", SqlType::Int8),
            col("kind", SqlType::Int2),
            col("name", SqlType::Text),
            col("oid", SqlType::Int8),
            ColumnDef::new("old_name", SqlType::Text),
        ],
        pk: vec![0, 1],
        pk_name: format!("{JOURNAL}_pkey"),
        oid: 0,
        ..TableDef::default_empty()
    }
}

/// One journaled object of a transaction: its position in `Txn::created` and the OID its row
/// says.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    n: usize,
    oid: u32,
}

async fn ensure_table() -> Result<Arc<TableDef>> {
    if let Some(def) = crate::bind::lookup_table(JOURNAL) {
        return Ok(def);
    }
    super::create_table(table_def(), true).await?;
    crate::bind::lookup_table(JOURNAL).ok_or_else(|| SqlError::internal("DDL journal table missing"))
}

/// The row for object `o` at position `n` of transaction `txid` (None: not journaled).
fn row_of(txid: u64, n: usize, o: &Created) -> Option<(Row, u32)> {
    let (kind, name, oid, old) = match o {
        Created::Relation { name, oid, view } => (if *view { KIND_VIEW } else { KIND_TABLE }, name, *oid, None),
        Created::Index { name, oid } => (KIND_INDEX, name, *oid, None),
        Created::Sequence { name } => (KIND_SEQUENCE, name, 0, None),
        Created::Renamed { from, to, oid } => (KIND_RENAMED, to, *oid, Some(from)),
        _ => return None,
    };
    let row = vec![
        Datum::Int8(txid as i64),
        Datum::Int8(n as i64),
        Datum::Int2(kind),
        Datum::Text(name.clone()),
        Datum::Int8(oid as i64),
        old.map_or(Datum::Null, |o| Datum::Text(o.clone())),
    ];
    Some((row, oid))
}

/// Puts rows (or deletes keys) of the journal, durably, each on the shard its key hashes to.
async fn store(def: &TableDef, rows: Vec<Row>, deletes: Vec<Vec<u8>>) -> Result<()> {
    let (_, shards) = state::local();
    let mut tickets = Vec::new();
    for row in rows {
        let k = def.key_of(&row);
        let shard = super::shard_of_key(&k, shards);
        let t = mesh::run_on(shard, move |s| shard_tables::put(s, JOURNAL, vec![(k, row)], None))
            .await
            .map_err(gone)?
            .map_err(|e| SqlError::internal(format!("DDL journal: {e:?}")))?;
        tickets.extend(t);
    }
    for k in deletes {
        let shard = super::shard_of_key(&k, shards);
        let (_, t) = mesh::run_on(shard, move |s| shard_tables::delete(s, JOURNAL, &[k], None)).await.map_err(gone)?;
        tickets.extend(t);
    }
    wal::wait_all(tickets).await.map_err(io_error)
}

fn key(def: &TableDef, txid: u64, n: usize) -> Vec<u8> {
    def.key_of(&[Datum::Int8(txid as i64), Datum::Int8(n as i64)])
}

/// After a statement of a block: journals the objects it created and rewrites the rows of
/// those whose OID changed since (CREATE INDEX and ALTER TABLE give a table a new OID).
pub(crate) async fn sync(txn: &mut Txn) -> Result<()> {
    if txn.alone {
        return Ok(());
    }
    let mut rows = Vec::new();
    let mut entries = std::mem::take(&mut txn.journal);
    for (n, o) in txn.created.iter().enumerate() {
        let Some((row, oid)) = row_of(txn.id, n, o) else { continue };
        match entries.iter_mut().find(|e| e.n == n) {
            Some(e) if e.oid == oid => {}
            Some(e) => {
                e.oid = oid;
                rows.push(row);
            }
            None => {
                entries.push(Entry { n, oid });
                rows.push(row);
            }
        }
    }
    txn.journal = entries;
    if rows.is_empty() {
        return Ok(());
    }
    let def = ensure_table().await?;
    store(&def, rows, vec![]).await
}

/// At COMMIT: the transaction's rows are deleted in its write set (applied with its changes).
pub(crate) fn commit(txn: &mut Txn) -> Result<()> {
    let entries = std::mem::take(&mut txn.journal);
    if entries.is_empty() {
        return Ok(());
    }
    let def = crate::bind::lookup_table(JOURNAL).ok_or_else(|| SqlError::internal("DDL journal table missing"))?;
    for e in entries {
        txn.write(&def, key(&def, txn.id, e.n), None)?;
    }
    Ok(())
}

/// After ROLLBACK (TO SAVEPOINT) undid the objects from position `from` on: their rows go.
pub(crate) async fn forget(txn_id: u64, journal: &mut Vec<Entry>, from: usize) {
    let (gone_now, kept): (Vec<Entry>, Vec<Entry>) = std::mem::take(journal).into_iter().partition(|e| e.n >= from);
    *journal = kept;
    if gone_now.is_empty() {
        return;
    }
    let Some(def) = crate::bind::lookup_table(JOURNAL) else { return };
    let keys = gone_now.iter().map(|e| key(&def, txn_id, e.n)).collect();
    if let Err(e) = store(&def, vec![], keys).await {
        tracing::warn!(error = %e.message, "could not clear the DDL journal of a rolled back transaction");
    }
}

/// At start-up (on the catalog's shard, once every shard recovered, before clients): undoes
/// the DDL of the transactions a crash ended before COMMIT, newest first, and clears the
/// journal.
pub async fn undo_unfinished() {
    let Some(def) = crate::bind::lookup_table(JOURNAL) else { return };
    let parts = mesh::run_on_all(|s| {
        s.tables
            .get(JOURNAL)
            .and_then(|t| t.scan_at(None).ok().map(|rows| rows.map(|(k, r)| (k.clone(), r.clone())).collect()))
            .unwrap_or_else(Vec::new)
    })
    .await;
    let Ok(parts) = parts else { return };
    let mut rows: Vec<(Vec<u8>, Row)> = parts.into_iter().flatten().collect();
    if rows.is_empty() {
        return;
    }
    let int = |d: &Datum| d.as_i64().unwrap_or_default();
    let text = |d: &Datum| match d {
        Datum::Text(s) => s.clone(),
        _ => String::new(),
    };
    rows.sort_by_key(|(_, r)| (int(&r[0]), int(&r[1])));
    let mut by_txn: Vec<(u64, Vec<Created>)> = Vec::new();
    for (_, r) in &rows {
        let (txid, oid, name) = (int(&r[0]) as u64, int(&r[4]) as u32, text(&r[3]));
        let o = match int(&r[2]) as i16 {
            KIND_TABLE => Created::Relation { name, oid, view: false },
            KIND_VIEW => Created::Relation { name, oid, view: true },
            KIND_INDEX => Created::Index { name, oid },
            KIND_SEQUENCE => Created::Sequence { name },
            KIND_RENAMED => Created::Renamed { from: text(&r[5]), to: name, oid },
            _ => continue,
        };
        match by_txn.last_mut() {
            Some((t, list)) if *t == txid => list.push(o),
            _ => by_txn.push((txid, vec![o])),
        }
    }
    for (txid, objects) in by_txn {
        tracing::info!(
            transaction = txid,
            objects = objects.len(),
            "recovery: undoing the DDL of a transaction that did not commit"
        );
        super::undo::undo(objects, orbit_shards::tx::next_id()).await;
    }
    let keys = rows.into_iter().map(|(k, _)| k).collect();
    if let Err(e) = store(&def, vec![], keys).await {
        tracing::warn!(error = %e.message, "recovery: could not clear the DDL journal");
    }
}
