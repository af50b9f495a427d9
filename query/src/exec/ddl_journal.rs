//! The durable note of what an open transaction block's DDL created, so that a crash before
//! COMMIT undoes it at start-up as ROLLBACK would have.
//!
//! CREATE TABLE / VIEW / INDEX / SEQUENCE and ALTER TABLE / SEQUENCE ... RENAME TO apply at once and are
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
//! What ALTER TABLE replaced (a table's old definition and rows), DROP INDEX (an index's
//! definition and entries), DROP VIEW and CREATE OR REPLACE VIEW (a view's definition) and
//! DROP SEQUENCE (the sequence's row) is kept
//! in memory for ROLLBACK, and in a block also durably for a crash: a row of [`COPIES`]
//! (transaction id, position, name, the OID the replacing object has, the old definition
//! encoded as a log record) and, for rows, a copy table (`\u{3}copy<txid>.<n>`, with the old
//! key and columns and nothing else: no indexes, constraints or view text) written after the
//! statement. COMMIT deletes the rows through its write set and then drops the copies;
//! ROLLBACK undoes from memory and drops them; start-up puts the old objects back from them
//! (newest first, merged with the journal's rows by position) and drops copies no row names
//! (a crash between COMMIT and their drop). Objects the same block created are not copied
//! (the crash undo drops them anyway).
//!
//! DROP SEQUENCE's row of the sequences' table is kept the same way (a copy table of one row).
//!
//! Not covered: a crash between a DDL statement and its rows (the statement was not
//! acknowledged) keeps its change. DROP TABLE needs no row:
//! the hidden table's name says it all ([`super::undo::restore_hidden`]).

use super::undo::{Created, ShardRows};
use super::{gone, io_error, QueryResult};
use crate::bind::{ColumnChange, Plan};
use crate::error::{Result, SqlError};
use crate::txn::Txn;
use orbit_engine::table::{ColumnDef, Datum, Row, SqlType, TableDef};
use orbit_shards::tables as shard_tables;
use orbit_shards::{mesh, state, wal};
use std::sync::Arc;

/// The system table of the open blocks' created objects.
pub const JOURNAL: &str = "pg_orbit_pending_ddl";

/// The system table of what the open blocks' DDL replaced or dropped.
pub const COPIES: &str = "pg_orbit_pending_copies";

/// The mark in a copy table's name (catalog listings skip such names).
pub const COPY_MARK: char = '\u{3}';

fn copy_name(txid: u64, n: usize) -> String {
    format!("{COPY_MARK}copy{txid}.{n}")
}

fn copies_def() -> TableDef {
    let col = |n: &str, ty| ColumnDef { not_null: true, ..ColumnDef::new(n, ty) };
    TableDef {
        name: COPIES.to_string(),
        columns: vec![
            col("txid", SqlType::Int8),
            col("n", SqlType::Int8),
            col("name", SqlType::Text),
            col("oid", SqlType::Int8),
            col("def", SqlType::Bytea),
            ColumnDef::new("copy", SqlType::Text),
        ],
        pk: vec![0, 1],
        pk_name: format!("{COPIES}_pkey"),
        oid: 0,
        ..TableDef::default_empty()
    }
}

const KIND_TABLE: i16 = 0;
const KIND_VIEW: i16 = 1;
const KIND_INDEX: i16 = 2;
const KIND_SEQUENCE: i16 = 3;
const KIND_RENAMED: i16 = 4;
/// ALTER SEQUENCE ... OWNED BY: the name is the sequence's, the old name its old owner (NULL:
/// none); start-up gives it back.
const KIND_OWNER: i16 = 5;
/// ALTER SEQUENCE ... RENAME TO: the name is the new one, the old name the old one.
const KIND_SEQUENCE_RENAMED: i16 = 6;

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
    /// A row of [`COPIES`] (else of [`JOURNAL`]); `copy`: its copy table, if it has rows.
    copied: bool,
    copy: Option<String>,
}

async fn ensure_table() -> Result<Arc<TableDef>> {
    ensure(JOURNAL, table_def).await
}

async fn ensure(name: &str, def: fn() -> TableDef) -> Result<Arc<TableDef>> {
    if let Some(def) = crate::bind::lookup_table(name) {
        return Ok(def);
    }
    super::create_table(def(), true).await?;
    crate::bind::lookup_table(name).ok_or_else(|| SqlError::internal(format!("{name} table missing")))
}

/// The marker OID of a dropped sequence's row in [`COPIES`] (tables have OIDs from 16384 up,
/// a dropped view or index 0).
const SEQUENCE_ROW: u32 = u32::MAX;

/// What a replaced or dropped object was: its name, the OID of what replaced it (0: dropped;
/// [`SEQUENCE_ROW`]: a dropped sequence), its old definition and rows (per shard).
fn replaced(o: &Created) -> Option<(String, u32, TableDef, super::undo::ShardRows)> {
    match o {
        Created::Replaced { name, oid, old, rows } => Some((name.clone(), *oid, (**old).clone(), rows.clone())),
        Created::Dropped { def, rows } => Some((def.name.clone(), 0, (**def).clone(), rows.clone())),
        Created::DroppedSequence { row } => {
            let def = crate::sequence::table_def();
            let name = match row.first() {
                Some(Datum::Text(n)) => n.clone(),
                _ => return None,
            };
            let (_, shards) = state::local();
            let mut rows: super::undo::ShardRows = vec![Vec::new(); shards];
            let k = def.key_of(row);
            rows[super::shard_of_key(&k, shards)].push((k, row.clone()));
            Some((name, SEQUENCE_ROW, def, rows))
        }
        _ => None,
    }
}

/// The name and OID of what [`replaced`] describes, without copying it.
fn replaced_name(o: &Created) -> Option<(&str, u32)> {
    match o {
        Created::Replaced { name, oid, .. } => Some((name, *oid)),
        Created::Dropped { def, .. } => Some((&def.name, 0)),
        Created::DroppedSequence { row } => match row.first() {
            Some(Datum::Text(n)) => Some((n, SEQUENCE_ROW)),
            _ => None,
        },
        _ => None,
    }
}

/// Writes the durable copy of what `o` (position `n` of transaction `txid`) replaced: its
/// rows into a copy table, then its row of [`COPIES`].
async fn save_copy(txid: u64, n: usize, o: &Created) -> Result<Entry> {
    let (name, oid, old, rows) = replaced(o).expect("a replaced object");
    let copy = if rows.iter().all(|r| r.is_empty()) {
        None
    } else {
        let cname = copy_name(txid, n);
        // The old key and columns, nothing that would make it part of the catalog's graph.
        let def = TableDef {
            name: cname.clone(),
            columns: old.columns.clone(),
            pk: old.pk.clone(),
            pk_name: String::new(),
            ..TableDef::default_empty()
        };
        super::create_table(def, true).await?;
        let mut tickets = Vec::new();
        for (shard, part) in rows.iter().enumerate() {
            if part.is_empty() {
                continue;
            }
            let (part, c) = (part.clone(), cname.clone());
            let t = mesh::run_on(shard, move |s| shard_tables::put(s, &c, part, None))
                .await
                .map_err(gone)?
                .map_err(|e| SqlError::internal(format!("DDL copy: {e:?}")))?;
            tickets.extend(t);
        }
        wal::wait_all(tickets).await.map_err(io_error)?;
        Some(cname)
    };
    store_copy_row(txid, n, name, oid, &old, copy.clone()).await?;
    Ok(Entry { n, oid, copied: true, copy })
}

/// [`save_copy`] of relation `def` as it is committed now, each shard copying its own part
/// into the copy table (same keys, so the same shard): no row travels.
async fn save_in_place(txid: u64, n: usize, def: &Arc<TableDef>) -> Result<Entry> {
    let cname = copy_name(txid, n);
    let copy_def = TableDef {
        name: cname.clone(),
        columns: def.columns.clone(),
        pk: def.pk.clone(),
        pk_name: String::new(),
        ..TableDef::default_empty()
    };
    super::create_table(copy_def, true).await?;
    let (name, oid, copy) = (def.name.clone(), def.oid, cname.clone());
    let parts = mesh::run_on_all(move |s| {
        let t = s.tables.get(&name).filter(|t| t.def.oid == oid).ok_or_else(|| super::no_table(&name))?;
        let rows: Vec<(Vec<u8>, Row)> =
            t.scan_at(None).map_err(super::too_old)?.map(|(k, r)| (k.clone(), r.clone())).collect();
        if rows.is_empty() {
            return Ok(None);
        }
        shard_tables::put(s, &copy, rows, None).map_err(|e| SqlError::internal(format!("DDL copy: {e:?}")))
    })
    .await
    .map_err(gone)?;
    let mut tickets = Vec::new();
    for p in parts {
        tickets.extend(p?);
    }
    wal::wait_all(tickets).await.map_err(io_error)?;
    store_copy_row(txid, n, def.name.clone(), def.oid, def, Some(cname.clone())).await?;
    Ok(Entry { n, oid: def.oid, copied: true, copy: Some(cname) })
}

/// The row of [`COPIES`] for a copied object (its copy table `copy`, if any), durably.
async fn store_copy_row(
    txid: u64,
    n: usize,
    name: String,
    oid: u32,
    old: &TableDef,
    copy: Option<String>,
) -> Result<()> {
    let encoded = orbit_engine::log::Encoder::new().table_create(0, old).to_vec();
    let row = vec![
        Datum::Int8(txid as i64),
        Datum::Int8(n as i64),
        Datum::Text(name),
        Datum::Int8(oid as i64),
        Datum::Bytea(encoded),
        copy.map_or(Datum::Null, Datum::Text),
    ];
    let def = ensure(COPIES, copies_def).await?;
    store_in(&def, vec![row], vec![]).await
}

/// The row of a copied object whose replacing object got a new OID since.
fn copy_row_oid(def: &TableDef, txid: u64, e: &Entry, rows: &[(Vec<u8>, Row)]) -> Option<Row> {
    let k = key(def, txid, e.n);
    rows.iter().find(|(rk, _)| *rk == k).map(|(_, r)| {
        let mut r = r.clone();
        r[3] = Datum::Int8(e.oid as i64);
        r
    })
}

/// The row for object `o` at position `n` of transaction `txid` (None: not journaled).
fn row_of(txid: u64, n: usize, o: &Created) -> Option<(Row, u32)> {
    let (kind, name, oid, old) = match o {
        Created::Relation { name, oid, view } => (if *view { KIND_VIEW } else { KIND_TABLE }, name, *oid, None),
        Created::Index { name, oid } => (KIND_INDEX, name, *oid, None),
        Created::Sequence { name } => (KIND_SEQUENCE, name, 0, None),
        Created::Renamed { from, to, oid } => (KIND_RENAMED, to, *oid, Some(from)),
        Created::SequenceOwner { name, owned_by } => (KIND_OWNER, name, 0, owned_by.as_ref()),
        Created::SequenceRenamed { from, to } => (KIND_SEQUENCE_RENAMED, to, 0, Some(from)),
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

/// Puts rows (or deletes keys) of system table `def` (the journal or the copies), durably,
/// each on the shard its key hashes to.
async fn store_in(def: &TableDef, rows: Vec<Row>, deletes: Vec<Vec<u8>>) -> Result<()> {
    let (_, shards) = state::local();
    let mut tickets = Vec::new();
    let table = def.name.clone();
    for row in rows {
        let k = def.key_of(&row);
        let shard = super::shard_of_key(&k, shards);
        let t = table.clone();
        let t = mesh::run_on(shard, move |s| shard_tables::put(s, &t, vec![(k, row)], None))
            .await
            .map_err(gone)?
            .map_err(|e| SqlError::internal(format!("DDL journal: {e:?}")))?;
        tickets.extend(t);
    }
    for k in deletes {
        let shard = super::shard_of_key(&k, shards);
        let t = table.clone();
        let (_, t) = mesh::run_on(shard, move |s| shard_tables::delete(s, &t, &[k], None)).await.map_err(gone)?;
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
    // What this block's DDL replaced, copied once (not for objects the block created).
    let mut oid_changed = Vec::new();
    for (n, o) in txn.created.iter().enumerate() {
        let Some((name, oid)) = replaced_name(o) else { continue };
        let created_here = txn.created[..n].iter().any(|c| {
            matches!(c, Created::Relation { name: c, .. } | Created::Index { name: c, .. } | Created::Sequence { name: c }
                if c == name)
        });
        if created_here {
            continue;
        }
        match entries.iter_mut().find(|e| e.n == n) {
            Some(e) if e.oid == oid => {}
            Some(e) => {
                e.oid = oid;
                oid_changed.push(e.clone());
            }
            None => match save_copy(txn.id, n, o).await {
                Ok(e) => entries.push(e),
                Err(e) => {
                    txn.journal = entries;
                    return Err(e);
                }
            },
        }
    }
    if !oid_changed.is_empty() {
        let def = ensure(COPIES, copies_def).await?;
        let current = read_all(COPIES).await;
        let rows: Vec<Row> = oid_changed.iter().filter_map(|e| copy_row_oid(&def, txn.id, e, &current)).collect();
        store_in(&def, rows, vec![]).await?;
    }
    for (n, o) in txn.created.iter().enumerate() {
        let Some((row, oid)) = row_of(txn.id, n, o) else { continue };
        match entries.iter_mut().find(|e| e.n == n && !e.copied) {
            Some(e) if e.oid == oid => {}
            Some(e) => {
                e.oid = oid;
                rows.push(row);
            }
            None => {
                entries.push(Entry { n, oid, copied: false, copy: None });
                rows.push(row);
            }
        }
    }
    txn.journal = entries;
    if rows.is_empty() {
        return Ok(());
    }
    let def = ensure_table().await?;
    store_in(&def, rows, vec![]).await
}

/// At COMMIT: the transaction's rows are deleted in its write set (applied with its changes).
pub(crate) fn commit(txn: &mut Txn) -> Result<()> {
    let entries = std::mem::take(&mut txn.journal);
    if entries.is_empty() {
        return Ok(());
    }
    let journal = crate::bind::lookup_table(JOURNAL);
    let copies = crate::bind::lookup_table(COPIES);
    for e in &entries {
        let def = if e.copied { &copies } else { &journal };
        let def = def.as_ref().ok_or_else(|| SqlError::internal("DDL journal table missing"))?;
        txn.write(def, key(def, txn.id, e.n), None)?;
    }
    // Dropped once the commit applied ([`drop_copies`]); a guard's are put back if it failed
    // ([`failed_commit`]).
    txn.journal = entries.into_iter().filter(|e| e.copy.is_some() || is_guard(e.n)).collect();
    Ok(())
}

/// After COMMIT or ROLLBACK: the copy tables of what the block replaced go.
pub(crate) async fn drop_copies(journal: &mut Vec<Entry>) {
    let names: Vec<String> = std::mem::take(journal).into_iter().filter_map(|e| e.copy).collect();
    if names.is_empty() {
        return;
    }
    if let Err(e) = super::drop_relations(&names).await {
        tracing::warn!(error = %e.message, "could not drop the copies of a finished transaction's DDL");
    }
}

/// After ROLLBACK (TO SAVEPOINT) undid the objects from position `from` on: their rows go.
pub(crate) async fn forget(txn_id: u64, journal: &mut Vec<Entry>, from: usize) {
    let (gone_now, kept): (Vec<Entry>, Vec<Entry>) = std::mem::take(journal).into_iter().partition(|e| e.n >= from);
    *journal = kept;
    if gone_now.is_empty() {
        return;
    }
    for (table, copied) in [(JOURNAL, false), (COPIES, true)] {
        let Some(def) = crate::bind::lookup_table(table) else { continue };
        let keys: Vec<Vec<u8>> =
            gone_now.iter().filter(|e| e.copied == copied).map(|e| key(&def, txn_id, e.n)).collect();
        if keys.is_empty() {
            continue;
        }
        if let Err(e) = store_in(&def, vec![], keys).await {
            tracing::warn!(error = %e.message, "could not clear the DDL journal of a rolled back transaction");
        }
    }
    let mut copies = gone_now;
    drop_copies(&mut copies).await;
}

/// Every row of system table `name` on every shard (key, row).
async fn read_all(name: &'static str) -> Vec<(Vec<u8>, Row)> {
    let parts = mesh::run_on_all(move |s| {
        s.tables
            .get(name)
            .and_then(|t| t.scan_at(None).ok().map(|rows| rows.map(|(k, r)| (k.clone(), r.clone())).collect()))
            .unwrap_or_else(Vec::new)
    })
    .await;
    parts.map(|p| p.into_iter().flatten().collect()).unwrap_or_default()
}

/// The rows of copy table `name`, per shard.
async fn copy_rows(name: String) -> super::undo::ShardRows {
    let parts = mesh::run_on_all(move |s| {
        s.tables.get(&name).map(|t| t.scan().map(|(k, r)| (k.clone(), r.clone())).collect()).unwrap_or_else(Vec::new)
    })
    .await;
    parts.unwrap_or_default()
}

/// A statement guard's rows in [`COPIES`] take positions from here on (a block's own objects
/// take theirs from 0, their places in `Txn::created`), so start-up tells them apart.
const GUARD_BASE: usize = 1 << 40;

fn is_guard(n: usize) -> bool {
    n >= GUARD_BASE
}

/// The tables `plan` changes in several steps, each durable on its own, which a crash between
/// them would leave half changed (a re-keyed table whose indexes are not built again yet, a
/// referencing table without its foreign key while the key it used is still there): what
/// [`guard`] copies first. Empty for statements whose change is one swap (atomic already).
pub(crate) fn guarded_tables(plan: &Plan) -> Vec<Arc<TableDef>> {
    let mut out: Vec<Arc<TableDef>> = match plan {
        Plan::RewriteTable { table, def, change } if super::drop_key::drops_key_with_indexes(table, def) => {
            let mut out = vec![table.clone()];
            // DROP COLUMN: the referencing tables are rewritten after it.
            if let ColumnChange::Drop(i) = change {
                out.extend(crate::foreign_key::after_drop_column(table, *i).0.into_iter().map(|(c, _)| c));
            }
            out
        }
        Plan::AddPrimaryKey { table, .. } if !table.indexes.is_empty() => vec![table.clone()],
        // ALTER COLUMN ... TYPE: the table, then each index built again.
        Plan::AlterColumn(ac) if ac.retype.is_some() && !ac.table.indexes.is_empty() => vec![ac.table.clone()],
        // The referencing tables lose their foreign keys first, then the key goes.
        Plan::DropKeyCascade { children, then, .. } => {
            let mut out: Vec<Arc<TableDef>> = children.iter().map(|(c, _)| c.clone()).collect();
            let inner = guarded_tables(then);
            match &**then {
                _ if !inner.is_empty() => out.extend(inner),
                Plan::RewriteTable { table, .. } | Plan::AddPrimaryKey { table, .. } => out.push(table.clone()),
                _ => {}
            }
            out
        }
        _ => Vec::new(),
    };
    let mut seen = std::collections::HashSet::new();
    out.retain(|t| seen.insert(t.name.clone()));
    out
}

/// Before a statement that changes `tables` in several steps: each table is held against
/// other writers (as its ALTER would hold it; until the transaction ends), then its
/// definition and rows and each of its indexes' entries are copied durably, as rows of
/// [`COPIES`] at positions from [`GUARD_BASE`] with the OIDs they have now, and copy tables
/// (each shard copies its own part: no row goes through the coordinator).
/// From here until the statement's change commits, an error ([`settle_guard`]) or a crash
/// (start-up, [`undo_unfinished`]) puts back every one of them that changed: the statement
/// happens whole or not at all. Outside a block the rows are deleted by the statement's
/// COMMIT through its write set (the same step as its own changes: the commit point); in a
/// block once the block's journal holds what the statement replaced.
pub(crate) async fn guard(txn: &mut Txn, tables: &[Arc<TableDef>]) -> Result<()> {
    txn.holds_tables = true;
    for table in tables {
        super::utility::set_altering(table, true, txn).await?;
    }
    let mut n = GUARD_BASE + txn.journal.iter().filter(|e| is_guard(e.n)).count();
    for table in tables {
        let mut objects = vec![table.clone()];
        objects.extend(table.indexes.iter().filter_map(|ix| crate::bind::lookup_table(&ix.name)));
        for def in objects {
            txn.journal.push(save_in_place(txn.id, n, &def).await?);
            n += 1;
        }
    }
    super::crash_point("guard-saved");
    Ok(())
}

/// After a guarded statement (`r`: how it ended): on an error, what it changed is put back
/// from the guard's copies and the guard goes; in a block that went on, the guard goes (the
/// block's journal holds what the statement replaced); a statement alone keeps it until its
/// COMMIT deletes the rows ([`commit`]).
pub(crate) async fn settle_guard(txn: &mut Txn, r: Result<QueryResult>) -> Result<QueryResult> {
    let guards: Vec<Entry> = txn.journal.iter().filter(|e| is_guard(e.n)).cloned().collect();
    match &r {
        Err(_) => restore_guarded(txn.id).await,
        Ok(_) if txn.alone => {
            super::crash_point("ddl-done");
            return r;
        }
        Ok(_) => {}
    }
    txn.journal.retain(|e| !is_guard(e.n));
    let mut done = guards;
    if let Some(def) = crate::bind::lookup_table(COPIES) {
        let keys: Vec<Vec<u8>> = done.iter().map(|e| key(&def, txn.id, e.n)).collect();
        if let Err(e) = store_in(&def, vec![], keys).await {
            tracing::warn!(error = %e.message, "could not clear the copies of a guarded DDL statement");
        }
    }
    drop_copies(&mut done).await;
    if r.is_ok() {
        super::crash_point("ddl-done");
    }
    r
}

/// Puts back what transaction `txid`'s guard saved, from its durable rows (none left: its
/// COMMIT deleted them, nothing to do).
async fn restore_guarded(txid: u64) {
    let copies = read_all(COPIES).await;
    restore(guard_objects(&copies, Some(txid)).await).await;
}

/// After the COMMIT of a statement alone that a guard covered failed: if the guard's rows are
/// still there (the commit did not apply), what the statement changed is put back now, as a
/// restart would, and the rows and copies go.
pub(crate) async fn failed_commit(txid: u64, journal: &mut Vec<Entry>) {
    if !journal.iter().any(|e| is_guard(e.n)) {
        return;
    }
    restore_guarded(txid).await;
    let mut done: Vec<Entry> = std::mem::take(journal).into_iter().filter(|e| is_guard(e.n)).collect();
    if let Some(def) = crate::bind::lookup_table(COPIES) {
        let keys: Vec<Vec<u8>> = done.iter().map(|e| key(&def, txid, e.n)).collect();
        if let Err(e) = store_in(&def, vec![], keys).await {
            tracing::warn!(error = %e.message, "could not clear the copies of a guarded DDL statement");
        }
    }
    drop_copies(&mut done).await;
}

/// The objects guard rows saved (of transaction `txid`, or of every one), in the order they
/// were saved: name, OID when saved, definition and rows (read back from the copy tables).
async fn guard_objects(copies: &[(Vec<u8>, Row)], txid: Option<u64>) -> Vec<(String, u32, TableDef, ShardRows)> {
    let mut found: Vec<(u64, u64, &Row)> = copies
        .iter()
        .filter_map(|(_, r)| {
            let (t, n) = (r[0].as_i64()? as u64, r[1].as_i64()? as u64);
            (is_guard(n as usize) && txid.is_none_or(|x| x == t)).then_some((t, n, r))
        })
        .collect();
    found.sort_by_key(|(t, n, _)| (*t, *n));
    let mut out = Vec::new();
    for (_, _, r) in found {
        let Some(c) = decode_copy(r).await else { continue };
        out.push(c);
    }
    out
}

/// A row of [`COPIES`]: the object's name, OID, old definition and rows (None: unreadable, or
/// its copy table is missing; logged).
async fn decode_copy(r: &Row) -> Option<(String, u32, TableDef, ShardRows)> {
    let name = match &r[2] {
        Datum::Text(s) => s.clone(),
        _ => return None,
    };
    let oid = r[3].as_i64().unwrap_or_default() as u32;
    let Datum::Bytea(encoded) = &r[4] else { return None };
    let old = match orbit_engine::log::record::decode(orbit_engine::log::Kind::TableCreate, encoded) {
        Ok(orbit_engine::log::Record::TableCreate { def, .. }) => def,
        _ => {
            tracing::warn!(table = %name, "recovery: an unreadable copy of replaced DDL is left");
            return None;
        }
    };
    let rows = match &r[5] {
        Datum::Text(c) if crate::bind::lookup_table(c).is_none() => {
            tracing::warn!(table = %name, "recovery: the copy of replaced DDL is missing; the change is left");
            return None;
        }
        Datum::Text(c) => copy_rows(c.clone()).await,
        _ => Vec::new(),
    };
    Some((name, oid, old, rows))
}

/// Puts back, newest first, each guarded object that changed since it was saved (its OID is
/// not the saved one, or it is gone): an index's entries after the table's re-key, then the
/// table's old definition (with its indexes) and rows. An index name another table's index
/// took meanwhile is left alone (logged).
async fn restore(saved: Vec<(String, u32, TableDef, ShardRows)>) {
    for (name, oid, old, rows) in saved.into_iter().rev() {
        let now = crate::bind::lookup_table(&name);
        if now.as_ref().is_some_and(|d| d.oid == oid) {
            continue;
        }
        let r = match (&now, &old.index_of) {
            (Some(d), Some(owner)) if d.index_of.as_ref() != Some(owner) => {
                tracing::warn!(index = %name, "a guarded index's name is taken by another relation; it is not put back");
                continue;
            }
            (Some(_), Some(_)) => match super::drop_relations(std::slice::from_ref(&name)).await {
                Ok(()) => super::utility::stage_and_swap_as(&name, None, old, rows, None).await.map(drop),
                Err(e) => Err(e),
            },
            (now, _) => super::utility::stage_and_swap_as(&name, now.as_ref(), old, rows, None).await.map(drop),
        };
        match r {
            Ok(()) => tracing::info!(relation = %name, "put back as it was before an unfinished DDL statement"),
            Err(e) => {
                tracing::warn!(relation = %name, error = %e.message, "could not put back a relation a DDL statement changed")
            }
        }
    }
}

/// At start-up (on the catalog's shard, once every shard recovered, before clients): undoes
/// the DDL of the transactions a crash ended before COMMIT, newest first, and clears the
/// journal. A guarded statement a crash stopped is undone first (it was the newest DDL of
/// its transaction).
pub async fn undo_unfinished() {
    let rows = read_all(JOURNAL).await;
    let copies = read_all(COPIES).await;
    let guarded = guard_objects(&copies, None).await;
    if !guarded.is_empty() {
        tracing::info!(
            relations = guarded.len(),
            "recovery: undoing a DDL statement a crash stopped between its steps"
        );
        restore(guarded).await;
    }
    let int = |d: &Datum| d.as_i64().unwrap_or_default();
    let text = |d: &Datum| match d {
        Datum::Text(s) => s.clone(),
        _ => String::new(),
    };
    // Copy tables no row names: a crash came between a COMMIT and their drop.
    let named: Vec<String> = copies.iter().map(|(_, r)| text(&r[5])).collect();
    let orphans: Vec<String> = state::with_shard(|s| {
        s.tables.names().filter(|n| n.starts_with(COPY_MARK) && !named.contains(n)).cloned().collect()
    });
    if !orphans.is_empty() {
        if let Err(e) = super::drop_relations(&orphans).await {
            tracing::warn!(error = %e.message, "recovery: could not drop copies of committed DDL");
        }
    }
    if rows.is_empty() && copies.is_empty() {
        return;
    }
    // Both tables' objects of each transaction, in the order the transaction made them.
    let mut all: Vec<(u64, u64, Created)> = Vec::new();
    for (_, r) in &rows {
        let (txid, oid, name) = (int(&r[0]) as u64, int(&r[4]) as u32, text(&r[3]));
        let o = match int(&r[2]) as i16 {
            KIND_TABLE => Created::Relation { name, oid, view: false },
            KIND_VIEW => Created::Relation { name, oid, view: true },
            KIND_INDEX => Created::Index { name, oid },
            KIND_SEQUENCE => Created::Sequence { name },
            KIND_RENAMED => Created::Renamed { from: text(&r[5]), to: name, oid },
            KIND_SEQUENCE_RENAMED => Created::SequenceRenamed { from: text(&r[5]), to: name },
            KIND_OWNER => Created::SequenceOwner {
                name,
                owned_by: match &r[5] {
                    Datum::Text(t) => Some(t.clone()),
                    _ => None,
                },
            },
            _ => continue,
        };
        all.push((txid, int(&r[1]) as u64, o));
    }
    for (_, r) in &copies {
        let (txid, n) = (int(&r[0]) as u64, int(&r[1]) as u64);
        if is_guard(n as usize) {
            continue;
        }
        let Some((name, oid, old, rows)) = decode_copy(r).await else { continue };
        let o = match oid {
            0 => Created::Dropped { def: Box::new(old), rows },
            SEQUENCE_ROW => match rows.into_iter().flatten().next() {
                Some((_, row)) => Created::DroppedSequence { row },
                None => continue,
            },
            _ => Created::Replaced { name, oid, old: Box::new(old), rows },
        };
        all.push((txid, n, o));
    }
    all.sort_by_key(|(t, n, _)| (*t, *n));
    let mut by_txn: Vec<(u64, Vec<Created>)> = Vec::new();
    for (txid, _, o) in all {
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
        super::undo::undo(objects, orbit_shards::tx::next_id(), true).await;
    }
    let mut copy_tables: Vec<String> = Vec::new();
    for (table, found) in [(JOURNAL, rows), (COPIES, copies)] {
        let Some(def) = crate::bind::lookup_table(table) else { continue };
        if table == COPIES {
            copy_tables = found
                .iter()
                .filter_map(|(_, r)| if let Datum::Text(c) = &r[5] { Some(c.clone()) } else { None })
                .collect();
        }
        let keys: Vec<Vec<u8>> = found.into_iter().map(|(k, _)| k).collect();
        if keys.is_empty() {
            continue;
        }
        if let Err(e) = store_in(&def, vec![], keys).await {
            tracing::warn!(error = %e.message, "recovery: could not clear the DDL journal");
        }
    }
    if !copy_tables.is_empty() {
        if let Err(e) = super::drop_relations(&copy_tables).await {
            tracing::warn!(error = %e.message, "recovery: could not drop the copies of undone DDL");
        }
    }
}
