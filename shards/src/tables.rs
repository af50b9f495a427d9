//! SQL table changes on a shard: every change to the shard's tables goes through here, which
//! applies it to [`orbit_engine::table::Tables`] and appends its record to the shard's log in the
//! same step (the way [`crate::exec::run`] logs Redis commands). Each call hands back the
//! [`Ticket`] the statement must await ([`crate::wal::wait_all`]) before its reply goes out.
//!
//! DDL is logged on every shard that applies it (each holds the replicated catalog), with its
//! catalog generation, whether or not the generation let it change anything: replay makes the
//! same calls in the same order and so reaches the same catalog. Row changes are logged as
//! their effect: a put of the whole row, or a delete by encoded primary key.

use crate::state::Shard;
use crate::wal::Ticket;
use orbit_engine::table::{Row, TableDef};
use std::sync::Arc;

/// Why a row change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowError {
    /// The log cannot be written (the text to report).
    Unwritable(String),
    NoTable,
    /// The key of a row that is already taken.
    Duplicate(Vec<u8>),
}

/// Err with the log's failure while it refuses writes.
pub fn writable(s: &Shard) -> Result<(), String> {
    match &s.wal.failed {
        Some(e) => Err(e.clone()),
        None => Ok(()),
    }
}

fn ticket(s: &Shard, seq: u64) -> Option<Ticket> {
    s.wal.ticket(s.id, seq)
}

/// CREATE TABLE under `generation`; false if a table of that name exists.
pub fn create(s: &mut Shard, def: Arc<TableDef>, generation: u64) -> (bool, Option<Ticket>) {
    let seq = s.wal.append_table_create(generation, &def);
    let created = s.tables.create(def, generation);
    (created, ticket(s, seq))
}

/// DROP TABLE under `generation`; false if there was no such table.
pub fn drop_table(s: &mut Shard, name: &str, generation: u64) -> (bool, Option<Ticket>) {
    let seq = s.wal.append_table_drop(generation, name);
    let dropped = s.tables.drop_table(name, generation);
    (dropped, ticket(s, seq))
}

/// Inserts every row or none (see [`orbit_engine::table::Table::insert_all`]).
pub fn insert_all(s: &mut Shard, name: &str, rows: Vec<(Vec<u8>, Row)>) -> Result<Option<Ticket>, RowError> {
    writable(s).map_err(RowError::Unwritable)?;
    let t = s.tables.get_mut(name).ok_or(RowError::NoTable)?;
    let mut seq = 0;
    // Log first, then insert: the rows move into the table. A refused batch logs nothing.
    if let Some(k) = duplicate_in(t, &rows) {
        return Err(RowError::Duplicate(k));
    }
    for (_, row) in &rows {
        seq = s.wal.append_row_put(name, row);
    }
    let t = s.tables.get_mut(name).ok_or(RowError::NoTable)?;
    t.insert_all(rows).map_err(RowError::Duplicate)?;
    Ok(ticket(s, seq))
}

fn duplicate_in(t: &orbit_engine::table::Table, rows: &[(Vec<u8>, Row)]) -> Option<Vec<u8>> {
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    rows.iter().find(|(k, _)| t.contains(k) || !seen.insert(k.as_slice())).map(|(k, _)| k.clone())
}

/// Replaces (or inserts) rows at their keys. Does nothing if the table is gone.
pub fn put(s: &mut Shard, name: &str, rows: Vec<(Vec<u8>, Row)>) -> Result<Option<Ticket>, RowError> {
    writable(s).map_err(RowError::Unwritable)?;
    if s.tables.get(name).is_none() {
        return Ok(None);
    }
    let mut seq = 0;
    for (_, row) in &rows {
        seq = s.wal.append_row_put(name, row);
    }
    if let Some(t) = s.tables.get_mut(name) {
        for (k, r) in rows {
            t.put(k, r);
        }
    }
    Ok(ticket(s, seq))
}

/// Deletes the rows at `keys`; returns how many existed. Never refused (it also undoes a failed
/// multi-shard insert): while the log cannot be written the records queue for its retry.
pub fn delete(s: &mut Shard, name: &str, keys: &[Vec<u8>]) -> (usize, Option<Ticket>) {
    let mut seq = 0;
    let mut n = 0;
    for k in keys {
        let Some(t) = s.tables.get_mut(name) else { break };
        if t.delete(k).is_some() {
            n += 1;
            seq = s.wal.append_row_delete(name, k);
        }
    }
    (n, ticket(s, seq))
}
