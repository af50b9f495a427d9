//! DDL inside a transaction block, undone by ROLLBACK, as PostgreSQL's transactional DDL:
//! - the objects a transaction creates (tables, views, indexes, sequences) are noted in it, and
//!   ROLLBACK — or ROLLBACK TO a savepoint from before them — drops them again;
//! - DROP TABLE hides the table at once under a name clients do not use
//!   (`<name>\u{1}<transaction id>`, [`HIDDEN`]): the name is free for the rest of the
//!   transaction (`DROP TABLE IF EXISTS t; CREATE TABLE t ...` works), COMMIT drops the hidden
//!   table, ROLLBACK gives it its name back. A crash before COMMIT gives it back at start-up
//!   ([`restore_hidden`]), as if the transaction had rolled back.
//!
//! - ALTER TABLE (ADD/DROP/RENAME COLUMN, ADD PRIMARY KEY, constraints), DROP INDEX, DROP VIEW,
//!   CREATE OR REPLACE VIEW and DROP SEQUENCE apply at once and keep in the transaction what
//!   they replaced (the table's old definition and rows, the index's entries, the view's
//!   definition, the sequence's row): ROLLBACK puts it back. The table stays held until the
//!   transaction ends ([`super::utility::set_altering`]; other transactions' statements wait
//!   for it, [`crate::relation_lock`]), so the rows put back are the table's committed rows. A
//!   statement that commits alone keeps no copy.
//!
//! Undo runs newest first over every kind, so `DROP t; CREATE t` rolls back to the old `t`.
//! What is not transactional yet (docs/ARCHITECTURE.md): a crash before COMMIT keeps what ALTER
//! replaced (what was created or renamed
//! is undone at start-up from [`super::ddl_journal`], hidden tables get their names back); and
//! COMMIT's drops are not atomic with its row changes across a crash.

use super::{drop_tables, drop_tables_now, indexes, rename, views};
use crate::bind::Plan;
use crate::error::Result;
use crate::txn::Txn;
use orbit_engine::table::{Datum, Row, TableDef};
use orbit_shards::rowlock::Owner;
use std::sync::Arc;

/// A relation's rows as they were, per shard (key, row).
pub(crate) type ShardRows = Vec<Vec<(Vec<u8>, Row)>>;

/// An object a statement created, a table it hid, or what it replaced.
#[derive(Debug)]
pub(crate) enum Created {
    /// A table or a view (with the OID it got: it is dropped only if it is still that one).
    Relation {
        name: String,
        oid: u32,
        view: bool,
    },
    Index {
        name: String,
        oid: u32,
    },
    Sequence {
        name: String,
    },
    /// A table DROP TABLE hid under `hidden` (dropped at COMMIT, renamed back by ROLLBACK).
    Hidden {
        name: String,
        hidden: String,
    },
    /// Table `name` (now OID `oid`) replaced by ALTER TABLE: its old definition and rows.
    Replaced {
        name: String,
        oid: u32,
        old: Box<TableDef>,
        rows: ShardRows,
    },
    /// A dropped view (no rows) or index (its entries), created again by ROLLBACK.
    Dropped {
        def: Box<TableDef>,
        rows: ShardRows,
    },
    /// A dropped sequence's row in the sequences' table (or the one ALTER SEQUENCE ...
    /// RESTART replaced: put back as it was).
    DroppedSequence {
        row: Row,
    },
    /// ALTER SEQUENCE ... OWNED BY: the owning table sequence `name` had (only the owner goes
    /// back: the values nextval handed out since stay taken).
    SequenceOwner {
        name: String,
        owned_by: Option<String>,
    },
    /// ALTER TABLE `from` RENAME TO `to`.
    Renamed {
        from: String,
        to: String,
        oid: u32,
    },
    /// ALTER SEQUENCE `from` RENAME TO `to` (ROLLBACK renames it back, with the DEFAULTs
    /// calling it).
    SequenceRenamed {
        from: String,
        to: String,
    },
    /// Relations that go at COMMIT (the indexes of a dropped column: ROLLBACK gives the
    /// column back, and its indexes with it).
    DropAtCommit {
        names: Vec<String>,
    },
}

impl Created {
    /// Memory the entry holds (counted in the transaction's bound).
    pub(crate) fn bytes(&self) -> usize {
        let rows = |r: &ShardRows| -> usize {
            r.iter().flatten().map(|(k, row)| k.len() + 64 + row.iter().map(Datum::memory).sum::<usize>()).sum()
        };
        match self {
            Created::Replaced { rows: r, .. } | Created::Dropped { rows: r, .. } => rows(r),
            Created::DroppedSequence { row } => row.iter().map(Datum::memory).sum(),
            _ => 0,
        }
    }

    /// What the entry is, for the log.
    fn kind(&self) -> &'static str {
        match self {
            Created::Relation { view: true, .. } => "view",
            Created::Relation { .. } => "table",
            Created::Index { .. } => "index",
            Created::Sequence { .. } => "sequence",
            Created::Hidden { .. } => "hidden table",
            Created::Replaced { .. } => "replaced table",
            Created::Dropped { .. } => "dropped view or index",
            Created::DroppedSequence { .. } => "sequence row",
            Created::SequenceOwner { .. } => "sequence owner",
            Created::Renamed { .. } => "renamed relation",
            Created::SequenceRenamed { .. } => "renamed sequence",
            Created::DropAtCommit { .. } => "dropped at commit",
        }
    }
}

/// The mark in a hidden table's name (a control character: only a quoted identifier holding
/// one could name it; catalog listings skip such names, and start-up takes them for tables a
/// crash left hidden).
pub const HIDDEN: char = '\u{1}';

/// The name relation `name` hides under while transaction `txid`'s DROP TABLE is open.
fn hidden_name(name: &str, txid: impl std::fmt::Display) -> String {
    format!("{name}{HIDDEN}{txid}")
}

/// DROP TABLE in `txn`: each table is hidden now and dropped when the transaction commits.
/// Its indexes hide with it, so their names are free for the rest of the transaction too
/// (`DROP TABLE t; CREATE TABLE t (... UNIQUE); CREATE INDEX ...` reuses them, as in
/// PostgreSQL); the table's definition lists them under the names they hide under (an index's
/// rename renames its entry there too, `Tables::rename`; logs written before that keep the
/// entries' own names, which [`commit_drops`] and [`unhide`] still read).
pub(super) async fn drop_at_commit(txn: &mut Txn, tables: &[Arc<TableDef>]) -> Result<()> {
    for t in tables {
        let hidden = hidden_name(&t.name, txn.id);
        rename::rename_everywhere(t, &hidden).await?;
        for ix in &t.indexes {
            if let Some(def) = crate::bind::lookup_table(&ix.name) {
                rename::rename_everywhere(&def, &hidden_name(&ix.name, txn.id)).await?;
            }
        }
        // Its SERIAL / IDENTITY sequences go into hiding with it (their names are free too).
        let id = txn.id;
        crate::sequence::rename_owned(&hidden, |n| format!("{n}{HIDDEN}{id}")).await?;
        txn.created.push(Created::Hidden { name: t.name.clone(), hidden });
    }
    Ok(())
}

/// At COMMIT: drops the tables the transaction's DROP TABLEs hid.
pub(crate) async fn commit_drops(objects: &[Created]) -> Result<()> {
    for o in objects {
        match o {
            Created::Hidden { hidden, .. } => {
                if let Some(def) = crate::bind::lookup_table(hidden) {
                    // Its indexes under the names they hide under.
                    let txid = hidden.split_once(HIDDEN).map_or("", |(_, id)| id);
                    let mut def = (*def).clone();
                    for ix in def.indexes.iter_mut().filter(|ix| !ix.name.contains(HIDDEN)) {
                        ix.name = hidden_name(&ix.name, txid);
                    }
                    drop_tables_now(&[Arc::new(def)]).await?;
                }
            }
            Created::DropAtCommit { names } => {
                let present: Vec<String> =
                    names.iter().filter(|n| crate::bind::lookup_table(n).is_some()).cloned().collect();
                super::drop_relations(&present).await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Gives a hidden table its name back (ROLLBACK, or start-up after a crash).
async fn unhide(name: &str, hidden: &str) -> Result<()> {
    let Some(def) = crate::bind::lookup_table(hidden) else { return Ok(()) };
    if crate::bind::lookup_table(name).is_some() {
        return Err(crate::error::SqlError::new(
            crate::error::code::DUPLICATE_TABLE,
            format!("relation \"{name}\" already exists: the dropped table stays hidden as {hidden:?}"),
        ));
    }
    rename::rename_everywhere(&def, name).await?;
    let txid = hidden.split_once(HIDDEN).map_or("", |(_, id)| id);
    for ix in &def.indexes {
        // The name it hides under and its own.
        let (hidden_ix, own) = match ix.name.split_once(HIDDEN) {
            Some((base, _)) => (ix.name.clone(), base.to_string()),
            None => (hidden_name(&ix.name, txid), ix.name.clone()),
        };
        if crate::bind::lookup_table(&own).is_some() {
            continue;
        }
        if let Some(d) = crate::bind::lookup_table(&hidden_ix) {
            rename::rename_everywhere(&d, &own).await?;
        }
    }
    crate::sequence::rename_owned(name, |n| n.split_once(HIDDEN).map_or(n, |(base, _)| base).to_string()).await
}

/// At start-up (on the catalog's shard, once every shard recovered): the tables a crash left
/// hidden by the DROP TABLE of a transaction that did not commit get their names back.
pub async fn restore_hidden() {
    // Tables only: each one's indexes get their names back with it.
    let hidden: Vec<String> = orbit_shards::state::with_shard(|s| {
        s.tables
            .names()
            .filter(|n| n.contains(HIDDEN) && s.tables.get(n).is_some_and(|t| t.def.index_of.is_none()))
            .cloned()
            .collect()
    });
    for h in hidden {
        let Some((name, _)) = h.split_once(HIDDEN) else { continue };
        match unhide(name, &h).await {
            Ok(()) => tracing::info!(table = name, "recovery: a DROP TABLE that did not commit is undone"),
            Err(e) => {
                tracing::warn!(table = name, error = %e.message, "recovery: cannot undo an uncommitted DROP TABLE")
            }
        }
    }
}

/// The object `plan` creates, if it creates one that does not exist yet (IF NOT EXISTS of an
/// existing one and OR REPLACE of an existing view create nothing to undo).
pub(super) async fn creates(plan: &Plan) -> Result<Option<(String, u8)>> {
    let (name, kind) = match plan {
        Plan::CreateTable { def, .. } => (def.name.clone(), 0),
        Plan::CreateView { def, .. } | Plan::CreatePartition { def, .. } => (def.name.clone(), 1),
        Plan::CreateIndex { index, .. } => (index.name.clone(), 2),
        Plan::CreateSequence { def, .. } => (def.name.clone(), 3),
        _ => return Ok(None),
    };
    let taken = crate::bind::lookup_table(&name).is_some() || crate::sequence::exists(&name).await?;
    Ok((!taken).then_some((name, kind)))
}

/// What a statement that [`creates`] found to create left, once it ran.
pub(super) async fn created(name: String, kind: u8) -> Result<Option<Created>> {
    if kind == 3 {
        return Ok(crate::sequence::exists(&name).await?.then_some(Created::Sequence { name }));
    }
    Ok(crate::bind::lookup_table(&name).map(|d| match kind {
        2 => Created::Index { name, oid: d.oid },
        _ => Created::Relation { name, oid: d.oid, view: d.view.is_some() },
    }))
}

/// After a statement of the transaction that created them: DDL that re-keys a table's catalog
/// entry (CREATE INDEX, ALTER TABLE give it a new OID) leaves the objects this transaction
/// created with their new OIDs, so ROLLBACK still finds them.
pub(super) fn follow(objects: &mut [Created]) {
    for o in objects {
        if let Created::Relation { name, oid, .. }
        | Created::Index { name, oid }
        | Created::Replaced { name, oid, .. }
        | Created::Renamed { to: name, oid, .. } = o
        {
            if let Some(d) = crate::bind::lookup_table(name) {
                *oid = d.oid;
            }
        }
    }
}

/// Drops `objects` (newest last in the list: dropped first), each if it is still the one that
/// was created (the undo of one can give another a new OID: each is looked up again as the
/// one before it goes). Errors (another session made something depend on it) are logged and
/// the object is left. `logged` (start-up after a crash): each object's undo is logged with
/// its time, so a start-up that takes long tells which step it is in.
pub(crate) async fn undo(mut objects: Vec<Created>, me: Owner, logged: bool) {
    while let Some(o) = objects.pop() {
        let started = std::time::Instant::now();
        let what = if logged { o.kind() } else { "" };
        let still = |name: &str, oid: u32| crate::bind::lookup_table(name).is_some_and(|d| d.oid == oid);
        // DDL undoing DDL runs as the transaction (whose holds it meets) and keeps no copy.
        let mut txn = Txn::new();
        txn.id = me;
        txn.alone = true;
        let r = match o {
            Created::Relation { ref name, oid, view } if still(name, oid) => {
                let names = std::slice::from_ref(name);
                let partition = crate::bind::lookup_table(name).is_some_and(|d| d.partition_of.is_some());
                if partition {
                    // A partition holds no rows (the transaction's own undo takes back those it
                    // wrote through it) and is no view DROP VIEW takes.
                    super::drop_relations(names).await.map(drop)
                } else if view {
                    views::drop_views(names, true, false).await.map(drop)
                } else {
                    drop_tables(names, true).await.map(drop)
                }
            }
            Created::Index { ref name, oid } if still(name, oid) => {
                indexes::drop_index(&mut txn, std::slice::from_ref(name), true).await.map(drop)
            }
            Created::Sequence { ref name } => crate::sequence::drop(std::slice::from_ref(name)).await.map(drop),
            Created::Hidden { ref name, ref hidden } => unhide(name, hidden).await,
            Created::Replaced { ref name, oid, old, rows } if still(name, oid) => match crate::bind::lookup_table(name)
            {
                Some(now) => super::utility::stage_and_swap_as(name, Some(&now), *old, rows, None).await.map(drop),
                None => Ok(()),
            },
            Created::Dropped { def, rows } => put_back(*def, rows).await,
            Created::DroppedSequence { row } => crate::sequence::restore(row).await,
            Created::SequenceOwner { ref name, ref owned_by } => {
                crate::sequence::set_owned_by(name, owned_by.clone(), Some(me)).await.map(drop)
            }
            Created::SequenceRenamed { ref from, ref to } => rename::rename_sequence(&mut txn, to, from).await,
            Created::Renamed { ref from, ref to, oid } if still(to, oid) => match crate::bind::lookup_table(to) {
                Some(now) => rename::rename_everywhere(&now, from).await.map(drop),
                None => Ok(()),
            },
            _ => Ok(()),
        };
        if let Err(e) = r {
            tracing::warn!(error = %e.message, "ROLLBACK could not undo a change of the transaction's DDL");
        }
        if logged {
            tracing::info!(object = what, ms = started.elapsed().as_millis() as u64, "recovery: undone");
        }
        follow(&mut objects);
    }
}

/// A dropped view or index, created again as it was.
async fn put_back(def: TableDef, rows: ShardRows) -> Result<()> {
    if crate::bind::lookup_table(&def.name).is_some() {
        // CREATE OR REPLACE VIEW's undo: the replacing view goes first.
        super::drop_relations(std::slice::from_ref(&def.name)).await?;
    }
    if def.view.is_some() {
        return super::create_table(def, false).await.map(drop);
    }
    let name = def.name.clone();
    super::utility::stage_and_swap_as(&name, None, def, rows, None).await.map(drop)
}

/// Notes what a statement replaced, for ROLLBACK (nothing when the statement commits alone);
/// what it holds counts in the transaction's memory bound.
pub(crate) fn keep(txn: &mut Txn, undo: Vec<Created>) -> Result<()> {
    if txn.alone {
        return Ok(());
    }
    for u in undo {
        txn.keep_bytes(u.bytes())?;
        txn.created.push(u);
    }
    Ok(())
}
