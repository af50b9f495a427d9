//! Sequences (CREATE/DROP SEQUENCE, nextval/currval/setval, SERIAL and IDENTITY columns),
//! unique across shards.
//!
//! Each sequence is one row of the system table [`SEQ_TABLE`], keyed by its name, so it lives
//! on the shard that name hashes to and is logged, snapshotted and recovered like any row.
//! `nextval` is one step on that shard: it hands out the next values (all a statement needs at
//! once), writes the row back with the last value handed out, and the statement waits until
//! that record is durable before it goes on — so no value is handed out twice, even across a
//! crash. As in PostgreSQL, values taken by a transaction that rolls back are not given back
//! (sequences have gaps), and `currval` is the session's last `nextval` of that sequence.
//!
//! Expressions are evaluated synchronously (on any shard), so the statement replaces every
//! `nextval`/`currval`/`setval` call by its value before evaluating a row
//! ([`resolve`]), in the order PostgreSQL would evaluate them (left to right, row by row).

use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use crate::scalar::Builtin;
use crate::txn::Txn;
use orbit_engine::table::{key, ColumnDef, Datum, Row, SqlType, TableDef};
use orbit_shards::rowlock::Owner;
use orbit_shards::{mesh, state, tables as shard_tables, wal};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

thread_local! {
    /// The sequences whose rows live on this shard that an open transaction block created (by
    /// CREATE SEQUENCE or a SERIAL/IDENTITY column), with that block's transaction: no other
    /// transaction sees them until it ends, as PostgreSQL's uncommitted catalog rows (the
    /// block's COMMIT or ROLLBACK forgets them, [`forget_created`]). In memory only: a crash
    /// ends the block, whose sequences start-up drops (`exec/ddl_journal.rs`).
    static CREATED_IN_BLOCK: RefCell<HashMap<String, Owner>> = RefCell::new(HashMap::new());
}

/// Whether transaction `viewer` (None: none) sees sequence `name`, whose row is on this shard.
pub(crate) fn visible_here(name: &str, viewer: Option<Owner>) -> bool {
    CREATED_IN_BLOCK.with(|c| c.borrow().get(name).is_none_or(|o| Some(*o) == viewer))
}

/// Transaction `me` ended: the sequences its block created are everyone's (or gone).
pub(crate) fn forget_created(me: Owner) {
    CREATED_IN_BLOCK.with(|c| c.borrow_mut().retain(|_, o| *o != me));
}

/// Marks (or unmarks) sequence `name` as created by the open block `pending`, on its shard.
async fn mark_created(name: &str, pending: Option<Owner>, on: bool) -> Result<()> {
    let Some(o) = pending else { return Ok(()) };
    let n = name.to_string();
    mesh::run_on(owner(name), move |_| {
        CREATED_IN_BLOCK.with(|c| {
            let mut c = c.borrow_mut();
            if on {
                c.insert(n, o);
            } else if c.get(&n) == Some(&o) {
                c.remove(&n);
            }
        })
    })
    .await
    .map_err(gone)
}

/// The first character of a sequence's catalog entry: a column-less [`TableDef`] named
/// `\u{3}<sequence>` on every shard (created and dropped by the same `TableCreate` /
/// `TableDrop` records, snapshots and recovery as a table's, shard 0 deciding), so names
/// resolve to the sequence on any shard (`'s'::regclass`, psql's `\d s`) although its row
/// lives on one. The row is the truth: start-up makes the entries follow the rows
/// ([`settle_entries`]).
pub const ENTRY_MARK: char = '\u{3}';

/// The catalog entry of sequence `name`.
pub fn entry(name: &str) -> String {
    format!("{ENTRY_MARK}{name}")
}

/// The column defaults that call nextval on sequence `name` (`nextval('s')`,
/// `nextval('s'::regclass)`; not `nextval('s'::text)`, which names it only when it runs), as
/// PostgreSQL's getObjectDescription names them: `default value for column c of table t`.
pub(crate) fn defaults_using(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (def, columns) in tables_calling(name) {
        for i in columns {
            let c = &def.columns[i].name;
            out.push(format!("default value for column {c} of table {}", crate::schema::relname(&def.name)));
        }
    }
    out
}

/// The sequence a DEFAULT's text `nextval('s')` / `nextval('s'::regclass)` names.
fn default_sequence(text: &str) -> Option<String> {
    let args = text.strip_prefix("nextval(").or_else(|| text.strip_prefix("pg_catalog.nextval("))?.strip_suffix(')')?;
    let quoted = args.strip_suffix("::regclass").unwrap_or(args);
    let inner = quoted.strip_prefix('\'')?.strip_suffix('\'')?;
    if inner.replace("''", "").contains('\'') {
        return None;
    }
    match crate::regtypes::qualified_name(&inner.replace("''", "'")).ok()?.as_slice() {
        [n] => crate::schema::resolve_unqualified_sequence(n).ok(),
        [.., s, n] => Some(crate::schema::qualify(s, n)),
        [] => None,
    }
}

/// Whether a catalog name is a sequence's entry.
pub fn is_entry(name: &str) -> bool {
    name.starts_with(ENTRY_MARK)
}

/// The sequences in a shard's catalog copy (their names; not those a DROP TABLE in an open
/// block hid with their table).
pub(crate) fn entries_in(tables: &orbit_engine::table::Tables) -> Vec<String> {
    tables
        .names()
        .filter(|n| is_entry(n) && !n.contains(crate::exec::undo::HIDDEN))
        .map(|n| n[ENTRY_MARK.len_utf8()..].to_string())
        .collect()
}

/// Gives sequence `name` its catalog entry on every shard (`pending`: the open block that
/// created it, which alone sees it until it ends). An entry already there is kept.
async fn add_entry(name: &str, pending: Option<Owner>) -> Result<()> {
    if crate::bind::lookup_table(&entry(name)).is_some() {
        return Ok(());
    }
    let def = TableDef { name: entry(name), ..TableDef::default_empty() };
    crate::exec::create_table_as(def, true, pending).await.map(std::mem::drop)
}

/// Drops the catalog entries of sequences `names` on every shard (those without one are
/// skipped).
async fn drop_entries(names: &[String]) -> Result<()> {
    let entries: Vec<String> = names.iter().map(|n| entry(n)).collect();
    crate::exec::drop_relations(&entries).await
}

/// At start-up (on the catalog's shard, once every shard recovered and the DDL of unfinished
/// blocks is undone): every sequence row has its catalog entry and every entry its row — a
/// crash between the two steps of CREATE or DROP SEQUENCE, or a data directory written before
/// sequences had entries, leaves them apart.
pub async fn settle_entries() {
    let rows: Vec<String> = match mesh::run_on_all(|s| {
        s.tables.get(SEQ_TABLE).map_or_else(Vec::new, |t| {
            t.scan()
                .filter_map(|(_, r)| match r.first() {
                    Some(Datum::Text(n)) => Some(n.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
    })
    .await
    {
        Ok(parts) => parts.into_iter().flatten().collect(),
        Err(e) => {
            tracing::warn!(error = %e, "recovery: cannot read the sequences");
            return;
        }
    };
    let entries = state::with_shard(|s| entries_in(&s.tables));
    for n in rows.iter().filter(|n| !entries.contains(n)) {
        if let Err(e) = add_entry(n, None).await {
            tracing::warn!(sequence = %n, error = %e.message, "recovery: cannot add a sequence's catalog entry");
        }
    }
    let orphans: Vec<String> = entries.into_iter().filter(|n| !rows.contains(n)).collect();
    if let Err(e) = drop_entries(&orphans).await {
        tracing::warn!(error = %e.message, "recovery: cannot drop catalog entries of dropped sequences");
    }
}

/// The system table holding every sequence's state (the `pg_` prefix is reserved: users cannot
/// create or change tables named so).
pub const SEQ_TABLE: &str = "pg_orbit_sequence";

const NAME: usize = 0;
const INCREMENT: usize = 1;
const MIN: usize = 2;
const MAX: usize = 3;
const START: usize = 4;
const CYCLE: usize = 5;
const LAST: usize = 6;
const CALLED: usize = 7;
const OWNED_BY: usize = 8;

pub fn table_def() -> TableDef {
    let col = |n: &str, ty| ColumnDef { not_null: true, ..ColumnDef::new(n, ty) };
    TableDef {
        name: SEQ_TABLE.to_string(),
        columns: vec![
            col("name", SqlType::Text),
            col("increment", SqlType::Int8),
            col("min_value", SqlType::Int8),
            col("max_value", SqlType::Int8),
            col("start_value", SqlType::Int8),
            col("cycle", SqlType::Bool),
            col("last_value", SqlType::Int8),
            col("is_called", SqlType::Bool),
            ColumnDef::new("owned_by", SqlType::Text),
        ],
        pk: vec![NAME],
        pk_name: format!("{SEQ_TABLE}_pkey"),
        oid: 0,
        ..TableDef::default_empty()
    }
}

/// A sequence's definition (`CREATE SEQUENCE` options, or a SERIAL/IDENTITY column's).
#[derive(Debug, Clone, PartialEq)]
pub struct SeqDef {
    pub name: String,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub start: i64,
    pub cycle: bool,
    /// The table whose column uses it (SERIAL, IDENTITY, OWNED BY): dropped with it.
    pub owned_by: Option<String>,
}

impl SeqDef {
    /// PostgreSQL's defaults for a sequence of type `ty` (bigint unless `AS` says otherwise).
    pub fn new(name: &str, ty: SqlType, increment: i64) -> SeqDef {
        let top = match ty {
            SqlType::Int2 => i16::MAX as i64,
            SqlType::Int4 => i32::MAX as i64,
            _ => i64::MAX,
        };
        let (min, max) = if increment > 0 { (1, top) } else { (-top - 1, -1) };
        let start = if increment > 0 { min } else { max };
        SeqDef { name: name.to_string(), increment, min, max, start, cycle: false, owned_by: None }
    }

    fn row(&self) -> Row {
        vec![
            Datum::Text(self.name.clone()),
            Datum::Int8(self.increment),
            Datum::Int8(self.min),
            Datum::Int8(self.max),
            Datum::Int8(self.start),
            Datum::Bool(self.cycle),
            Datum::Int8(self.start),
            Datum::Bool(false),
            self.owned_by.clone().map_or(Datum::Null, Datum::Text),
        ]
    }
}

fn gone(e: orbit_shards::Error) -> SqlError {
    SqlError::new(code::CONNECTION_EXCEPTION, format!("shard unavailable: {e}"))
}

fn io_error(e: impl std::fmt::Display) -> SqlError {
    SqlError::new(code::IO_ERROR, format!("could not write to the log: {e}"))
}

fn missing(name: &str) -> SqlError {
    SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{name}\" does not exist"))
}

fn key_of(name: &str) -> Vec<u8> {
    key::encode(std::iter::once(&Datum::Text(name.to_string())))
}

fn owner(name: &str) -> orbit_shards::ShardId {
    let (_, n) = state::local();
    crate::exec::shard_of_key(&key_of(name), n)
}

fn int(row: &Row, i: usize) -> i64 {
    row[i].as_i64().unwrap_or_default()
}

/// Creates the system table on first use.
async fn ensure_table() -> Result<Arc<TableDef>> {
    if let Some(def) = crate::bind::lookup_table(SEQ_TABLE) {
        return Ok(def);
    }
    crate::exec::create_table(table_def(), true).await?;
    crate::bind::lookup_table(SEQ_TABLE).ok_or_else(|| SqlError::internal("sequence table missing"))
}

/// Whether a sequence of this name exists (also one another open block created: its name is
/// taken).
pub async fn exists(name: &str) -> Result<bool> {
    exists_at(name, None, true).await
}

/// Whether transaction `viewer` sees a sequence of this name (not one another open block
/// created).
pub async fn exists_for(name: &str, viewer: Owner) -> Result<bool> {
    exists_at(name, Some(viewer), false).await
}

async fn exists_at(name: &str, viewer: Option<Owner>, any: bool) -> Result<bool> {
    if crate::bind::lookup_table(SEQ_TABLE).is_none() {
        return Ok(false);
    }
    let (k, n) = (key_of(name), name.to_string());
    mesh::run_on(owner(name), move |s| {
        s.tables.get(SEQ_TABLE).is_some_and(|t| t.contains(&k)) && (any || visible_here(&n, viewer))
    })
    .await
    .map_err(gone)
}

/// 22023 unless a sequence's START or RESTART value `v` is within `min..=max`, in PostgreSQL's
/// words.
fn within(what: &str, v: i64, min: i64, max: i64) -> Result<()> {
    let bound = if v < min {
        format!("less than MINVALUE ({min})")
    } else if v > max {
        format!("greater than MAXVALUE ({max})")
    } else {
        return Ok(());
    };
    Err(SqlError::new(code::INVALID_PARAMETER_VALUE, format!("{what} value ({v}) cannot be {bound}")))
}

/// `CREATE SEQUENCE` (also run for SERIAL and IDENTITY columns). Sequences and tables share
/// one namespace, as relations do in PostgreSQL.
/// `pending`: the open block creating it (others do not see it until that block ends).
pub async fn create(def: &SeqDef, if_not_exists: bool, pending: Option<Owner>) -> Result<Vec<SqlError>> {
    if def.min >= def.max {
        return Err(SqlError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("MINVALUE ({}) must be less than MAXVALUE ({})", def.min, def.max),
        ));
    }
    within("START", def.start, def.min, def.max)?;
    if def.increment == 0 {
        return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "INCREMENT must not be zero"));
    }
    let taken = || {
        SqlError::new(
            code::DUPLICATE_TABLE,
            format!("relation \"{}\" already exists", crate::schema::relname(&def.name)),
        )
    };
    if crate::bind::lookup_table(&def.name).is_some() || exists(&def.name).await? {
        if if_not_exists {
            return Ok(vec![SqlError::new(
                "00000",
                format!("relation \"{}\" already exists, skipping", crate::schema::relname(&def.name)),
            )]);
        }
        return Err(taken());
    }
    let table = ensure_table().await?;
    // Hidden from others before its row is there, so none sees it in between.
    mark_created(&def.name, pending, true).await?;
    let mut txn = Txn::new();
    let r = match crate::exec::insert_rows(&mut txn, &table, vec![def.row()]).await {
        Ok(()) => txn.commit().await,
        Err(e) if e.code == code::UNIQUE_VIOLATION => Err(taken()),
        Err(e) => Err(e),
    };
    if r.is_err() {
        mark_created(&def.name, pending, false).await?;
    }
    r?;
    crate::exec::crash_point("sequence-row-written");
    if let Err(e) = add_entry(&def.name, pending).await {
        // No sequence without its entry: the row goes again (start-up settles what a crash
        // leaves between the two).
        drop(std::slice::from_ref(&def.name)).await?;
        return Err(e);
    }
    Ok(vec![])
}

/// Drops sequences by name; false for each that did not exist.
pub async fn drop(names: &[String]) -> Result<Vec<bool>> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        if !exists(name).await? {
            out.push(false);
            continue;
        }
        let (k, shard) = (key_of(name), owner(name));
        let ticket =
            mesh::run_on(shard, move |s| shard_tables::delete(s, SEQ_TABLE, &[k], None).1).await.map_err(gone)?;
        wal::wait_all(ticket.into_iter().collect::<Vec<_>>()).await.map_err(io_error)?;
        out.push(true);
    }
    let dropped: Vec<String> = names.iter().zip(&out).filter(|(_, d)| **d).map(|(n, _)| n.clone()).collect();
    if !dropped.is_empty() {
        crate::exec::crash_point("sequence-row-dropped");
    }
    drop_entries(&dropped).await?;
    Ok(out)
}

/// A sequence's stored row (kept by DROP SEQUENCE in a transaction, for ROLLBACK).
pub async fn row_of(name: &str) -> Result<Option<Row>> {
    if crate::bind::lookup_table(SEQ_TABLE).is_none() {
        return Ok(None);
    }
    let k = key_of(name);
    mesh::run_on(owner(name), move |s| s.tables.get(SEQ_TABLE).and_then(|t| t.get(&k).cloned())).await.map_err(gone)
}

/// Puts a dropped sequence's row back as it was (ROLLBACK of DROP SEQUENCE), durably.
pub async fn restore(row: Row) -> Result<()> {
    let Some(Datum::Text(name)) = row.first().cloned() else {
        return Err(SqlError::internal("a sequence row without its name"));
    };
    ensure_table().await?;
    put_as(&name, row).await?;
    add_entry(&name, None).await
}

/// The names of the sequences owned by `table` (its SERIAL and IDENTITY columns).
pub async fn owned_by_table(table: &str) -> Result<Vec<String>> {
    if crate::bind::lookup_table(SEQ_TABLE).is_none() {
        return Ok(Vec::new());
    }
    let t = table.to_string();
    let parts = mesh::run_on_all(move |s| {
        let Some(seqs) = s.tables.get(SEQ_TABLE) else { return Vec::new() };
        seqs.scan()
            .filter(|(_, r)| matches!(&r[OWNED_BY], Datum::Text(o) if *o == t))
            .filter_map(|(_, r)| match &r[NAME] {
                Datum::Text(n) => Some(n.clone()),
                _ => None,
            })
            .collect::<Vec<String>>()
    })
    .await
    .map_err(gone)?;
    Ok(parts.into_iter().flatten().collect())
}

/// Drops the sequences owned by `table` (its SERIAL and IDENTITY columns).
pub async fn drop_owned(table: &str) -> Result<()> {
    if crate::bind::lookup_table(SEQ_TABLE).is_none() {
        return Ok(());
    }
    let t = table.to_string();
    let parts = mesh::run_on_all(move |s| {
        let seqs = s.tables.get(SEQ_TABLE)?;
        let (keys, names): (Vec<Vec<u8>>, Vec<String>) = seqs
            .scan()
            .filter(|(_, r)| matches!(&r[OWNED_BY], Datum::Text(o) if *o == t))
            .map(|(k, r)| (k.clone(), if let Datum::Text(n) = &r[NAME] { n.clone() } else { String::new() }))
            .unzip();
        (!keys.is_empty()).then(|| (shard_tables::delete(s, SEQ_TABLE, &keys, None).1, names))
    })
    .await
    .map_err(gone)?;
    let (tickets, names): (Vec<_>, Vec<_>) = parts.into_iter().flatten().unzip();
    wal::wait_all(tickets.into_iter().flatten().collect::<Vec<_>>()).await.map_err(io_error)?;
    drop_entries(&names.concat()).await
}

/// Renames the sequences owned by table `owner` to `rename(name)` where that differs (DROP
/// TABLE in a block hides them with their table, ROLLBACK gives the names back), durably: each
/// row is written under its new name (on that name's shard) before the old one is deleted.
pub async fn rename_owned(table: &str, rename: impl Fn(&str) -> String) -> Result<()> {
    if crate::bind::lookup_table(SEQ_TABLE).is_none() {
        return Ok(());
    }
    let o = table.to_string();
    let parts = mesh::run_on_all(move |s| {
        let Some(seqs) = s.tables.get(SEQ_TABLE) else { return Vec::new() };
        seqs.scan().filter(|(_, r)| matches!(&r[OWNED_BY], Datum::Text(x) if *x == o)).map(|(_, r)| r.clone()).collect()
    })
    .await
    .map_err(gone)?;
    for row in parts.into_iter().flatten() {
        let Some(Datum::Text(old)) = row.first().cloned() else { continue };
        let new = rename(&old);
        if new == old {
            continue;
        }
        let mut moved = row;
        moved[NAME] = Datum::Text(new);
        restore(moved).await?;
        let (k, shard) = (key_of(&old), owner(&old));
        let ticket =
            mesh::run_on(shard, move |s| shard_tables::delete(s, SEQ_TABLE, &[k], None).1).await.map_err(gone)?;
        wal::wait_all(ticket.into_iter().collect::<Vec<_>>()).await.map_err(io_error)?;
        drop_entries(std::slice::from_ref(&old)).await?;
    }
    Ok(())
}

/// The first step of renaming sequence `from` to `to` (ALTER SEQUENCE ... RENAME TO): its row
/// (keyed by the name) is written under the new name, on that name's shard, with its catalog
/// entry, durably; [`finish_rename`] deletes the old one. A crash in between leaves both,
/// never neither. A sequence an open block created stays that block's under its new name.
/// Returns the row as copied.
pub async fn copy_renamed(from: &str, to: &str) -> Result<Row> {
    let Some(row) = row_of(from).await? else { return Err(missing(crate::schema::relname(from))) };
    let pending = created_by(from).await?;
    mark_created(to, pending, true).await?;
    put_as(to, row.clone()).await?;
    add_entry(to, pending).await?;
    Ok(row)
}

/// The open block that created sequence `name`, if one did.
async fn created_by(name: &str) -> Result<Option<Owner>> {
    let n = name.to_string();
    mesh::run_on(owner(name), move |_| CREATED_IN_BLOCK.with(|c| c.borrow().get(&n).copied())).await.map_err(gone)
}

/// Writes sequence row `row` under name `name` (on that name's shard), durably.
async fn put_as(name: &str, mut row: Row) -> Result<()> {
    row[NAME] = Datum::Text(name.to_string());
    let (k, shard) = (key_of(name), owner(name));
    let put = mesh::run_on(shard, move |s| {
        shard_tables::put(s, SEQ_TABLE, vec![(k, row)], None).map_err(|e| format!("{e:?}"))
    })
    .await
    .map_err(gone)?;
    wal::wait_all(put.map_err(io_error)?.into_iter().collect::<Vec<_>>()).await.map_err(io_error)
}

/// The last step of a rename [`copy_renamed`] began (`copied`: the row it copied): the old row
/// goes, in one step on its shard with the check that it is still the row copied; a nextval
/// that advanced it meanwhile is copied again first, so no value handed out under the old
/// name is handed out again under the new one.
pub async fn finish_rename(from: &str, to: &str, mut copied: Row) -> Result<()> {
    loop {
        let (k, expect) = (key_of(from), copied.clone());
        let step = mesh::run_on(owner(from), move |s| {
            let now = s.tables.get(SEQ_TABLE).and_then(|t| t.get(&k).cloned());
            match now {
                Some(r) if r != expect => Err(Some(r)),
                None => Err(None),
                Some(_) => Ok(shard_tables::delete(s, SEQ_TABLE, &[k], None).1),
            }
        })
        .await
        .map_err(gone)?;
        match step {
            Ok(ticket) => {
                wal::wait_all(ticket.into_iter().collect::<Vec<_>>()).await.map_err(io_error)?;
                break;
            }
            Err(Some(advanced)) => {
                put_as(to, advanced.clone()).await?;
                copied = advanced;
            }
            Err(None) => break,
        }
    }
    let pending = created_by(from).await?;
    mark_created(from, pending, false).await?;
    drop_entries(&[from.to_string()]).await
}

/// The session's currval (and lastval) of sequence `from` are `to`'s after a rename.
pub(crate) fn rename_in_session(session: &mut HashMap<String, i64>, from: &str, to: &str) {
    for (old, new) in [(from.to_string(), to.to_string()), (format!("{LAST_MARK}{from}"), format!("{LAST_MARK}{to}"))] {
        if let Some(v) = session.remove(&old) {
            session.insert(new, v);
        }
    }
}

/// The tables with a column whose DEFAULT calls nextval on sequence `name` (SERIAL, IDENTITY,
/// or written so), with those columns' positions.
pub(crate) fn tables_calling(name: &str) -> Vec<(Arc<TableDef>, Vec<usize>)> {
    let mut out = Vec::new();
    for def in crate::catalog::user_tables() {
        if is_entry(&def.name) || def.view.is_some() {
            continue;
        }
        let columns: Vec<usize> = (def.columns.iter().enumerate())
            .filter(|(_, c)| c.default_expr.as_deref().and_then(default_sequence).is_some_and(|s| s == name))
            .map(|(i, _)| i)
            .collect();
        if !columns.is_empty() {
            out.push((def, columns));
        }
    }
    out
}

/// The DEFAULT that calls nextval on sequence `name` (a catalog name), as Orbit stores it.
pub(crate) fn nextval_default(name: &str) -> String {
    format!("nextval('{}')", name.replace('\'', "''"))
}

/// The sequences owned by table `from` are owned by `to` (ALTER TABLE ... RENAME TO), durably.
pub async fn set_owner(from: &str, to: &str) -> Result<()> {
    if crate::bind::lookup_table(SEQ_TABLE).is_none() {
        return Ok(());
    }
    let (f, t) = (from.to_string(), to.to_string());
    let parts = mesh::run_on_all(move |s| {
        let Some(seqs) = s.tables.get(SEQ_TABLE) else { return Ok(None) };
        let rows: Vec<(Vec<u8>, Row)> = seqs
            .scan()
            .filter(|(_, r)| matches!(&r[OWNED_BY], Datum::Text(o) if *o == f))
            .map(|(k, r)| {
                let mut r = r.clone();
                r[OWNED_BY] = Datum::Text(t.clone());
                (k.clone(), r)
            })
            .collect();
        if rows.is_empty() {
            return Ok(None);
        }
        shard_tables::put(s, SEQ_TABLE, rows, None).map_err(|e| format!("{e:?}"))
    })
    .await
    .map_err(gone)?;
    let mut tickets = Vec::new();
    for p in parts {
        tickets.extend(p.map_err(io_error)?);
    }
    wal::wait_all(tickets).await.map_err(io_error)
}

/// `ALTER SEQUENCE ... OWNED BY table.column | NONE`: the sequence's owning table is `owner`
/// now (dropped with it); returns the one it had (what ROLLBACK puts back), durably.
/// `viewer`: the transaction asking (another open block's new sequence is not there for it).
pub async fn set_owned_by(name: &str, owner_table: Option<String>, viewer: Option<Owner>) -> Result<Option<String>> {
    change_row(name, viewer, move |row| {
        let old = match &row[OWNED_BY] {
            Datum::Text(t) => Some(t.clone()),
            _ => None,
        };
        row[OWNED_BY] = owner_table.map_or(Datum::Null, Datum::Text);
        Ok(old)
    })
    .await
}

/// What `ALTER SEQUENCE` changes besides its owner and RESTART (None: unchanged; MINVALUE /
/// MAXVALUE Some(None): NO MINVALUE / NO MAXVALUE, the type's bound).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeqChanges {
    pub increment: Option<i64>,
    pub min: Option<Option<i64>>,
    pub max: Option<Option<i64>>,
    pub start: Option<i64>,
    pub cycle: Option<bool>,
    /// AS type: the largest value of the new type (smallint, integer or bigint).
    pub as_type: Option<i64>,
}

impl SeqChanges {
    pub fn is_empty(&self) -> bool {
        *self == SeqChanges::default()
    }
}

/// `ALTER SEQUENCE ... INCREMENT / MINVALUE / MAXVALUE / START / [NO] CYCLE`, checked as
/// PostgreSQL's init_params checks them (the current value against the new bounds too), and
/// `RESTART [WITH n]` after them; durably. Returns the row it had (what ROLLBACK puts back, as
/// PostgreSQL's rewrite of the sequence is undone with its transaction). The type whose
/// bounds NO MINVALUE / NO MAXVALUE take is read off the current bounds (Orbit keeps none).
/// AS type: bounds that were the old type's own become the new type's (PostgreSQL's
/// init_params), explicit ones stay (and must fit it).
pub async fn alter(name: &str, c: SeqChanges, restart: Option<Option<i64>>, viewer: Option<Owner>) -> Result<Row> {
    change_row(name, viewer, move |row| {
        let old = row.clone();
        let (mut min, mut max) = (int(row, MIN), int(row, MAX));
        let old_top = if max == i16::MAX as i64 || min == i16::MIN as i64 {
            i16::MAX as i64
        } else if max == i32::MAX as i64 || min == i32::MIN as i64 {
            i32::MAX as i64
        } else {
            i64::MAX
        };
        let top = c.as_type.unwrap_or(old_top);
        if c.as_type.is_some() {
            if max == old_top {
                max = top;
            }
            if min == -old_top - 1 {
                min = -top - 1;
            }
        }
        let inc = c.increment.unwrap_or(int(row, INCREMENT));
        let min = match c.min {
            Some(Some(v)) => v,
            Some(None) if inc > 0 => 1,
            Some(None) => -top - 1,
            None => min,
        };
        let max = match c.max {
            Some(Some(v)) => v,
            Some(None) if inc > 0 => top,
            Some(None) => -1,
            None => max,
        };
        for (v, what) in [(min, "MINVALUE"), (max, "MAXVALUE")] {
            if v < -top - 1 || v > top {
                let ty = match top {
                    32767 => "smallint",
                    2147483647 => "integer",
                    _ => "bigint",
                };
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("{what} ({v}) is out of range for sequence data type {ty}"),
                ));
            }
        }
        if min >= max {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                format!("MINVALUE ({min}) must be less than MAXVALUE ({max})"),
            ));
        }
        let start = c.start.unwrap_or(int(row, START));
        within("START", start, min, max)?;
        let (last, called) = match restart {
            Some(v) => (v.unwrap_or(start), false),
            None => (int(row, LAST), row[CALLED] == Datum::Bool(true)),
        };
        within("RESTART", last, min, max)?;
        row[INCREMENT] = Datum::Int8(inc);
        row[MIN] = Datum::Int8(min);
        row[MAX] = Datum::Int8(max);
        row[START] = Datum::Int8(start);
        if let Some(cy) = c.cycle {
            row[CYCLE] = Datum::Bool(cy);
        }
        row[LAST] = Datum::Int8(last);
        row[CALLED] = Datum::Bool(called);
        Ok(old)
    })
    .await
}

/// Changes sequence `name`'s row by `change` in one step on its shard, durably.
async fn change_row<T: Send + 'static>(
    name: &str,
    viewer: Option<Owner>,
    change: impl FnOnce(&mut Row) -> Result<T> + Send + 'static,
) -> Result<T> {
    if crate::bind::lookup_table(SEQ_TABLE).is_none() {
        return Err(missing(crate::schema::relname(name)));
    }
    let (k, n) = (key_of(name), name.to_string());
    let (out, ticket) = mesh::run_on(owner(name), move |s| {
        let mut row = s
            .tables
            .get(SEQ_TABLE)
            .and_then(|t| t.get(&k))
            .filter(|_| visible_here(&n, viewer))
            .cloned()
            .ok_or_else(|| missing(crate::schema::relname(&n)))?;
        shard_tables::writable(s).map_err(io_error)?;
        let out = change(&mut row)?;
        let ticket = shard_tables::put(s, SEQ_TABLE, vec![(k, row)], None).map_err(|e| match e {
            shard_tables::RowError::Unwritable(e) => io_error(e),
            _ => missing(&n),
        })?;
        Ok::<_, SqlError>((out, ticket))
    })
    .await
    .map_err(gone)??;
    wal::wait_all(ticket.into_iter().collect::<Vec<_>>()).await.map_err(io_error)?;
    Ok(out)
}

/// The next `count` values of sequence `name`, logged durably before they are returned.
/// `viewer`: the transaction asking (another open block's new sequence is not there for it).
pub async fn next_values(name: &str, count: usize, viewer: Option<Owner>) -> Result<Vec<i64>> {
    if crate::bind::lookup_table(SEQ_TABLE).is_none() {
        return Err(missing(name));
    }
    let (k, n) = (key_of(name), name.to_string());
    let (values, ticket) = mesh::run_on(owner(name), move |s| {
        let row = s
            .tables
            .get(SEQ_TABLE)
            .and_then(|t| t.get(&k))
            .filter(|_| visible_here(&n, viewer))
            .cloned()
            .ok_or_else(|| missing(&n))?;
        shard_tables::writable(s).map_err(io_error)?;
        let (inc, min, max, cycle) =
            (int(&row, INCREMENT), int(&row, MIN), int(&row, MAX), row[CYCLE] == Datum::Bool(true));
        let mut last = int(&row, LAST);
        let mut called = row[CALLED] == Datum::Bool(true);
        let mut values = Vec::with_capacity(count);
        for _ in 0..count {
            let v = if !called {
                last
            } else {
                match last.checked_add(inc).filter(|v| (min..=max).contains(v)) {
                    Some(v) => v,
                    None if cycle => {
                        if inc > 0 {
                            min
                        } else {
                            max
                        }
                    }
                    None => {
                        let (edge, what) = if inc > 0 { (max, "maximum") } else { (min, "minimum") };
                        return Err(SqlError::new(
                            "2200H",
                            format!("nextval: reached {what} value of sequence \"{n}\" ({edge})"),
                        ));
                    }
                }
            };
            values.push(v);
            last = v;
            called = true;
        }
        let mut new = row;
        new[LAST] = Datum::Int8(last);
        new[CALLED] = Datum::Bool(true);
        let ticket = shard_tables::put(s, SEQ_TABLE, vec![(k, new)], None).map_err(|e| match e {
            shard_tables::RowError::Unwritable(e) => io_error(e),
            _ => missing(&n),
        })?;
        Ok::<_, SqlError>((values, ticket))
    })
    .await
    .map_err(gone)??;
    wal::wait_all(ticket.into_iter().collect::<Vec<_>>()).await.map_err(io_error)?;
    Ok(values)
}

/// `setval(name, value, is_called)`.
pub async fn set_value(name: &str, value: i64, is_called: bool, viewer: Option<Owner>) -> Result<i64> {
    if crate::bind::lookup_table(SEQ_TABLE).is_none() {
        return Err(missing(name));
    }
    let (k, n) = (key_of(name), name.to_string());
    let ticket = mesh::run_on(owner(name), move |s| {
        let row = s
            .tables
            .get(SEQ_TABLE)
            .and_then(|t| t.get(&k))
            .filter(|_| visible_here(&n, viewer))
            .cloned()
            .ok_or_else(|| missing(&n))?;
        let (min, max) = (int(&row, MIN), int(&row, MAX));
        if !(min..=max).contains(&value) {
            return Err(SqlError::new(
                code::NUMERIC_VALUE_OUT_OF_RANGE,
                format!("setval: value {value} is out of bounds for sequence \"{n}\" ({min}..{max})"),
            ));
        }
        let mut new = row;
        new[LAST] = Datum::Int8(value);
        new[CALLED] = Datum::Bool(is_called);
        shard_tables::put(s, SEQ_TABLE, vec![(k, new)], None).map_err(|e| match e {
            shard_tables::RowError::Unwritable(e) => io_error(e),
            _ => missing(&n),
        })
    })
    .await
    .map_err(gone)??;
    wal::wait_all(ticket.into_iter().collect::<Vec<_>>()).await.map_err(io_error)?;
    Ok(value)
}

/// Where a sequence function call can be computed (elsewhere it is 0A000).
pub(crate) fn not_here() -> SqlError {
    SqlError::unsupported(
        "nextval(), currval() and setval() are supported in VALUES, UPDATE SET and a SELECT's select list",
    )
}

fn uses(e: &Expr) -> bool {
    let mut found = false;
    e.visit(&mut |x| {
        if let Expr::Call(f, ..) = x {
            found |= f.is_sequence();
        }
    });
    found
}

/// The name `lastval()` calls currval with: the sequence the session's last nextval advanced,
/// noted in the session's currval map under this key (no sequence name starts with NUL) with
/// the sequence's name after it ([`note_last`]).
pub const LASTVAL: &str = "\u{0}lastval";

/// The key of the session's map that names the sequence of its last nextval.
const LAST_MARK: char = '\u{0}';

/// nextval of `name` ran for the session: lastval() reads its currval from now on.
fn note_last(session: &mut HashMap<String, i64>, name: &str) {
    if !session.contains_key(&format!("{LAST_MARK}{name}")) {
        session.retain(|k, _| !k.starts_with(LAST_MARK));
        session.insert(format!("{LAST_MARK}{name}"), 0);
    }
}

/// The sequence a currval call names: lastval()'s is the session's last nextval's (55000
/// before any).
fn currval_name(session: &HashMap<String, i64>, n: String) -> Result<String> {
    if n != LASTVAL {
        return Ok(n);
    }
    session.keys().find_map(|k| k.strip_prefix(LAST_MARK).map(str::to_string)).ok_or_else(lastval_undefined)
}

fn lastval_undefined() -> SqlError {
    SqlError::new("55000", "lastval is not yet defined in this session")
}

/// lastval()'s sequence, which must still exist (PostgreSQL's lastval is undefined again once
/// that sequence is dropped).
async fn lastval_name(txn: &Txn) -> Result<String> {
    let n = currval_name(&txn.sequences.borrow(), LASTVAL.to_string())?;
    if !exists_for(&n, txn.id).await? {
        return Err(lastval_undefined());
    }
    Ok(n)
}

/// Whether any expression calls nextval, currval or setval.
pub fn any_uses(exprs: &[Expr]) -> bool {
    exprs.iter().any(uses)
}

fn name_arg(args: &[Expr]) -> Result<String> {
    match args.first() {
        Some(Expr::Const(Datum::Text(s), _)) => Ok(s.clone()),
        Some(Expr::Const(Datum::Null, _)) => Ok(String::new()),
        _ => Err(SqlError::unsupported("the sequence name must be a constant here")),
    }
}

/// Rewrites the sequence names the calls give (`'s.seq'`, `'seq'`) to the sequences' catalog
/// names ([`crate::schema`]): a qualified name names its schema's, an unqualified one the first
/// that exists along the search path (read before the first await, so another session's
/// statement cannot change it meanwhile).
async fn catalog_names(rows: &mut [Vec<Expr>]) -> Result<()> {
    let is_seq = |f: Builtin| matches!(f, Builtin::NextVal | Builtin::CurrVal | Builtin::SetVal);
    let mut given: Vec<String> = Vec::new();
    for e in rows.iter().flatten() {
        e.visit(&mut |x| {
            if let Expr::Call(f, args, _) = x {
                if let (true, Some(Expr::Const(Datum::Text(n), _))) = (is_seq(*f), args.first()) {
                    if !given.contains(n) && n != LASTVAL {
                        given.push(n.clone());
                    }
                }
            }
        });
    }
    if given.is_empty() {
        return Ok(());
    }
    let path = crate::schema::relation_path();
    let mut names: HashMap<String, String> = HashMap::new();
    for g in given {
        let parts = crate::regtypes::qualified_name(&g)?;
        let name = match parts.as_slice() {
            [n] => {
                let mut found = n.clone();
                for s in &path {
                    let full = crate::schema::qualify(s, n);
                    if exists(&full).await? {
                        found = full;
                        break;
                    }
                }
                found
            }
            // `pg_temp` names the session's own temporary schema.
            [.., s, n] if s == "pg_temp" => match crate::temp_tables::current() {
                Some(temp) => crate::schema::qualify(&temp, n),
                None => crate::schema::qualify(s, n),
            },
            [.., s, n] => crate::schema::qualify(s, n),
            [] => g.clone(),
        };
        names.insert(g, name);
    }
    for e in rows.iter_mut().flatten() {
        e.try_map_calls(&mut |f, args| {
            if let (true, Some(Expr::Const(Datum::Text(n), ty))) = (is_seq(f), args.first()) {
                if let Some(c) = names.get(n).filter(|c| *c != n) {
                    let mut args = args.to_vec();
                    args[0] = Expr::Const(Datum::Text(c.clone()), *ty);
                    return Ok(Some(Expr::Call(f, args, SqlType::Int8)));
                }
            }
            Ok(None)
        })?;
    }
    Ok(())
}

/// [`resolve`] one call at a time in evaluation order: each call's value is fetched (nextval one
/// value, setval written) before the next call is looked at.
async fn resolve_in_order(txn: &Txn, rows: &mut [Vec<Expr>], params: &[Datum]) -> Result<()> {
    let is_seq = |f: Builtin| matches!(f, Builtin::NextVal | Builtin::CurrVal | Builtin::SetVal);
    loop {
        // The first call left, and its arguments' values.
        let mut next: Option<(Builtin, String, Vec<Datum>)> = None;
        for e in rows.iter_mut().flatten() {
            e.try_map_calls(&mut |f, args| {
                if let (true, None) = (is_seq(f), &next) {
                    let cx = crate::expr::Ctx { row: &[], params, aggs: &[] };
                    let rest = args.iter().skip(1).map(|a| crate::expr::eval(a, &cx)).collect::<Result<Vec<_>>>()?;
                    next = Some((f, name_arg(args)?, rest));
                }
                Ok(None)
            })?;
        }
        let Some((f, n, rest)) = next else { return Ok(()) };
        let value = match f {
            Builtin::NextVal => {
                let v = next_values(&n, 1, Some(txn.id)).await?.into_iter().next().ok_or_else(|| missing(&n))?;
                let mut session = txn.sequences.borrow_mut();
                note_last(&mut session, &n);
                session.insert(n, v);
                Datum::Int8(v)
            }
            Builtin::CurrVal => {
                let n = if n == LASTVAL { lastval_name(txn).await? } else { n };
                let known = txn.sequences.borrow().get(&n).copied();
                match known {
                    Some(v) => Datum::Int8(v),
                    None if !exists_for(&n, txn.id).await? => return Err(missing(&n)),
                    None => {
                        return Err(SqlError::new(
                            "55000",
                            format!("currval of sequence \"{n}\" is not yet defined in this session"),
                        ))
                    }
                }
            }
            _ => match rest.first() {
                Some(Datum::Null) | None => Datum::Null,
                Some(d) => {
                    let v = d.as_i64().unwrap_or_default();
                    let called = !matches!(rest.get(1), Some(Datum::Bool(false)));
                    set_value(&n, v, called, Some(txn.id)).await?;
                    if called {
                        txn.sequences.borrow_mut().insert(n, v);
                    }
                    Datum::Int8(v)
                }
            },
        };
        // The same first call, now its value.
        let mut value = Some(value);
        for e in rows.iter_mut().flatten() {
            e.try_map_calls(&mut |f, _| {
                Ok(match (is_seq(f), value.take()) {
                    (true, Some(v)) => Some(Expr::Const(v, SqlType::Int8)),
                    (_, v) => {
                        value = v;
                        None
                    }
                })
            })?;
        }
    }
}

/// Replaces the sequence calls of each row's expressions by their values, row by row and left
/// to right: the nextval calls of every row are fetched in one step per sequence first.
/// nextval and setval write the sequence: refused in a read-only transaction (25006), the
/// first one called naming itself.
#[inline(never)]
fn refuse_if_read_only(txn: &Txn, rows: &[Vec<Expr>]) -> Result<()> {
    if !txn.read_only {
        return Ok(());
    }
    let mut writer = None;
    for e in rows.iter().flatten() {
        e.visit(&mut |x| {
            if let Expr::Call(f @ (Builtin::NextVal | Builtin::SetVal), ..) = x {
                writer.get_or_insert(*f);
            }
        });
    }
    match writer {
        Some(Builtin::NextVal) => txn.check_writable("nextval()"),
        Some(_) => txn.check_writable("setval()"),
        None => Ok(()),
    }
}

pub async fn resolve(txn: &Txn, rows: &mut [Vec<Expr>], params: &[Datum]) -> Result<()> {
    refuse_if_read_only(txn, rows)?;
    catalog_names(rows).await?;
    // With a setval among them the calls run one by one, left to right, as PostgreSQL
    // evaluates them (`nextval(s), setval(s, 30), nextval(s)`: the last one is 31).
    let mut sets = false;
    for e in rows.iter().flatten() {
        e.visit(&mut |x| sets |= matches!(x, Expr::Call(Builtin::SetVal, ..)));
    }
    if sets {
        return resolve_in_order(txn, rows, params).await;
    }
    // How many values each sequence gives out, in evaluation order.
    let mut wanted: Vec<(String, usize)> = Vec::new();
    for row in rows.iter() {
        for e in row {
            let mut err = None;
            e.visit(&mut |x| {
                if let Expr::Call(Builtin::NextVal, args, _) = x {
                    match name_arg(args) {
                        Ok(n) => match wanted.iter_mut().find(|(w, _)| *w == n) {
                            Some((_, c)) => *c += 1,
                            None => wanted.push((n, 1)),
                        },
                        Err(e) => err = Some(e),
                    }
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
        }
    }
    // currval of a sequence this session never advanced: 42P01 if there is no such sequence.
    let mut unknown: Vec<String> = Vec::new();
    let mut lastval = false;
    for row in rows.iter() {
        for e in row {
            e.visit(&mut |x| {
                if let Expr::Call(Builtin::CurrVal, args, _) = x {
                    match name_arg(args) {
                        Ok(n) if n == LASTVAL => lastval = true,
                        Ok(n) if !txn.sequences.borrow().contains_key(&n) && !wanted.iter().any(|(w, _)| *w == n) => {
                            unknown.push(n)
                        }
                        _ => {}
                    }
                }
            });
        }
    }
    // lastval() before this statement's nextval calls: its sequence must still exist.
    if lastval && wanted.is_empty() {
        lastval_name(txn).await?;
    }
    for n in unknown {
        if !exists_for(&n, txn.id).await? {
            return Err(missing(&n));
        }
    }
    let mut values: HashMap<String, std::vec::IntoIter<i64>> = HashMap::new();
    for (name, count) in wanted {
        values.insert(name.clone(), next_values(&name, count, Some(txn.id)).await?.into_iter());
    }
    let session = txn.sequences.clone();
    for row in rows.iter_mut() {
        for e in row.iter_mut() {
            let mut pending: Vec<(String, i64, bool)> = Vec::new();
            e.try_map_calls(&mut |f, args| match f {
                Builtin::NextVal => {
                    let n = name_arg(args)?;
                    let v = values.get_mut(&n).and_then(|it| it.next()).ok_or_else(|| missing(&n))?;
                    let mut session = session.borrow_mut();
                    note_last(&mut session, &n);
                    session.insert(n, v);
                    Ok(Some(Expr::Const(Datum::Int8(v), SqlType::Int8)))
                }
                Builtin::CurrVal => {
                    let n = currval_name(&session.borrow(), name_arg(args)?)?;
                    match session.borrow().get(&n) {
                        Some(v) => Ok(Some(Expr::Const(Datum::Int8(*v), SqlType::Int8))),
                        None => Err(SqlError::new(
                            "55000",
                            format!("currval of sequence \"{n}\" is not yet defined in this session"),
                        )),
                    }
                }
                Builtin::SetVal => {
                    let n = name_arg(args)?;
                    let cx = crate::expr::Ctx { row: &[], params, aggs: &[] };
                    let v = match args.get(1).map(|a| crate::expr::eval(a, &cx)).transpose()? {
                        Some(Datum::Null) | None => return Ok(Some(Expr::Const(Datum::Null, SqlType::Int8))),
                        Some(d) => d.as_i64().unwrap_or_default(),
                    };
                    let called = match args.get(2).map(|a| crate::expr::eval(a, &cx)).transpose()? {
                        Some(Datum::Bool(b)) => b,
                        _ => true,
                    };
                    pending.push((n, v, called));
                    Ok(Some(Expr::Const(Datum::Int8(v), SqlType::Int8)))
                }
                _ => Ok(None),
            })?;
            for (n, v, called) in pending {
                set_value(&n, v, called, Some(txn.id)).await?;
                if called {
                    session.borrow_mut().insert(n, v);
                }
            }
        }
    }
    Ok(())
}
