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

/// ALTER TABLE `name` RENAME TO `new_name` under `generation`; false if it changed nothing
/// (no such table, the new name taken, or a newer change to either name).
pub fn rename(s: &mut Shard, name: &str, new_name: &str, generation: u64) -> (bool, Option<Ticket>) {
    let seq = s.wal.append_table_rename(generation, name, new_name);
    let renamed = s.tables.rename(name, new_name, generation);
    (renamed, ticket(s, seq))
}

/// Inserts every row or none (see [`orbit_engine::table::Table::insert_all`]).
pub fn insert_all(s: &mut Shard, name: &str, rows: Vec<(Vec<u8>, Row)>) -> Result<Option<Ticket>, RowError> {
    writable(s).map_err(RowError::Unwritable)?;
    let t = s.tables.get_mut(name).ok_or(RowError::NoTable)?;
    let mut seq = 0;
    // Log first, then insert: the rows move into the table. A refused batch logs nothing.
    if let Some(k) = t.duplicate_of(&rows) {
        return Err(RowError::Duplicate(k));
    }
    for (_, row) in &rows {
        seq = s.wal.append_row_put(name, row);
    }
    let t = s.tables.get_mut(name).ok_or(RowError::NoTable)?;
    // Checked above, before anything was logged.
    t.insert_checked(rows);
    Ok(ticket(s, seq))
}

/// Replaces (or inserts) rows at their keys. Does nothing if the table is gone. A commit passes
/// its timestamp `ts` ([`orbit_engine::table::mvcc`]): the replaced versions are kept for the
/// snapshots that need them.
pub fn put(s: &mut Shard, name: &str, rows: Vec<(Vec<u8>, Row)>, ts: Option<u64>) -> Result<Option<Ticket>, RowError> {
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
            match ts {
                Some(ts) => t.put_at(k, r, ts),
                None => t.put(k, r),
            }
        }
        t.forget_versions();
    }
    Ok(ticket(s, seq))
}

/// Deletes the rows at `keys`; returns how many existed. Never refused (it also undoes a failed
/// multi-shard insert): while the log cannot be written the records queue for its retry. `ts`
/// as for [`put`].
pub fn delete(s: &mut Shard, name: &str, keys: &[Vec<u8>], ts: Option<u64>) -> (usize, Option<Ticket>) {
    let mut seq = 0;
    let mut n = 0;
    for k in keys {
        let Some(t) = s.tables.get_mut(name) else { break };
        let existed = match ts {
            Some(ts) => t.delete_at(k, ts),
            None => t.delete(k).is_some(),
        };
        if existed {
            n += 1;
            seq = s.wal.append_row_delete(name, k);
        }
    }
    if let (Some(_), Some(t)) = (ts, s.tables.get_mut(name)) {
        t.forget_versions();
    }
    (n, ticket(s, seq))
}

/// Hands out `count` row ids for rows of `name` (a table without a primary key) that will be
/// inserted on this shard: ids whose encoded key hashes to this shard, above every id the
/// shard holds. No other shard can hand out the same id (it would not hash there), and the
/// bound is recovered from the rows themselves, so ids stay unique across restarts without
/// logging the counter. None if the table is gone.
pub fn take_row_ids(s: &mut Shard, name: &str, count: usize) -> Option<Vec<i64>> {
    let (id, shards) = (s.id, s.count);
    let t = s.tables.get_mut(name)?;
    let mut out = Vec::with_capacity(count);
    let mut next = t.next_row_id();
    while out.len() < count {
        let key = orbit_engine::table::key::encode(std::iter::once(&orbit_engine::table::Datum::Int8(next)));
        if crate::route::shard_for_row(&key, shards) == id {
            out.push(next);
        }
        next += 1;
    }
    t.reserve_row_ids_below(next);
    Some(out)
}

/// The staging table `staging` replaces the table it was built for (ALTER TABLE's commit on
/// this shard); false if there was no such staging table.
pub fn swap_in(s: &mut Shard, staging: &str, generation: u64) -> (bool, Option<Ticket>) {
    let seq = s.wal.append_table_swap(generation, staging);
    let swapped = s.tables.swap_in(staging, generation);
    (swapped, ticket(s, seq))
}

/// Generations recovery takes for [`settle_catalog`] above the newest any shard replayed (one
/// each for its drops, renames and creates); shard 0 hands out generations above them.
pub const CATALOG_FIX_GENERATIONS: u64 = 3;

/// Brings this shard's catalog to the catalog owner's after a crash interrupted a CREATE,
/// DROP or RENAME between the shards (at start-up, before the shard serves), logging each
/// change under the generations from `base` on ([`CATALOG_FIX_GENERATIONS`] of them). Returns
/// how many changes it made.
pub fn settle_catalog(s: &mut Shard, fixes: Vec<orbit_engine::table::CatalogFix>, base: u64) -> usize {
    use orbit_engine::table::CatalogFix;
    let mut made = 0;
    for f in fixes {
        let done = match &f {
            CatalogFix::Drop { name } => {
                tracing::info!(table = %name, "recovery: completing an interrupted DROP on this shard");
                drop_table(s, name, base).0
            }
            CatalogFix::Rename { from, to } => {
                tracing::info!(table = %from, to = %to, "recovery: completing an interrupted RENAME on this shard");
                rename(s, from, to, base + 1).0
            }
            CatalogFix::Create { def } => {
                tracing::info!(table = %def.name, "recovery: completing an interrupted CREATE on this shard");
                create(s, def.clone(), base + 2).0
            }
        };
        if done {
            made += 1;
        } else {
            tracing::warn!(fix = ?f, "recovery: could not bring this shard's catalog to shard 0's");
        }
    }
    made
}

/// Settles the staging tables a crash left behind (at start-up, before the shard serves):
/// commits or drops each as the catalog owner decided, and logs it.
pub fn settle_staging(s: &mut Shard, outcomes: Vec<orbit_engine::table::StagingOutcome>) {
    use orbit_engine::table::StagingOutcome;
    for o in outcomes {
        match o {
            StagingOutcome::Commit { staging, generation } => {
                tracing::info!(table = %staging.replace('\0', "#"), "recovery: completing an interrupted ALTER TABLE");
                swap_in(s, &staging, generation);
            }
            StagingOutcome::Abort { staging, generation } => {
                tracing::info!(table = %staging.replace('\0', "#"), "recovery: undoing an interrupted ALTER TABLE");
                drop_table(s, &staging, generation);
            }
        }
    }
}
