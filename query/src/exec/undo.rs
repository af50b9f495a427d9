//! DDL inside a transaction block, undone by ROLLBACK, as PostgreSQL's transactional DDL:
//! - the objects a transaction creates (tables, views, indexes, sequences) are noted in it, and
//!   ROLLBACK — or ROLLBACK TO a savepoint from before them — drops them again;
//! - DROP TABLE hides the table at once under a name clients do not use
//!   (`<name>\u{1}<transaction id>`, [`HIDDEN`]): the name is free for the rest of the
//!   transaction (`DROP TABLE IF EXISTS t; CREATE TABLE t ...` works), COMMIT drops the hidden
//!   table, ROLLBACK gives it its name back. A crash before COMMIT gives it back at start-up
//!   ([`restore_hidden`]), as if the transaction had rolled back.
//!
//! Undo runs newest first over both kinds, so `DROP t; CREATE t` rolls back to the old `t`.
//! What is not transactional yet (docs/ARCHITECTURE.md): ALTER TABLE and DROP VIEW / INDEX /
//! SEQUENCE apply at once; other sessions see a created object before COMMIT (and no longer see
//! a dropped table), where PostgreSQL makes them wait; a crash before COMMIT keeps what was
//! created; and COMMIT's drops are not atomic with its row changes across a crash.

use super::{drop_tables, drop_tables_now, indexes, rename, views};
use crate::bind::Plan;
use crate::error::Result;
use crate::txn::Txn;
use orbit_engine::table::TableDef;
use std::sync::Arc;

/// An object a statement created, or a table it hid.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// The mark in a hidden table's name (a control character: only a quoted identifier holding
/// one could name it; catalog listings skip such names, and start-up takes them for tables a
/// crash left hidden).
pub const HIDDEN: char = '\u{1}';

/// DROP TABLE in `txn`: each table is hidden now and dropped when the transaction commits.
pub(super) async fn drop_at_commit(txn: &mut Txn, tables: &[Arc<TableDef>]) -> Result<()> {
    for t in tables {
        let hidden = format!("{}{HIDDEN}{}", t.name, txn.id);
        rename::rename_everywhere(t, &hidden).await?;
        txn.created.push(Created::Hidden { name: t.name.clone(), hidden });
    }
    Ok(())
}

/// At COMMIT: drops the tables the transaction's DROP TABLEs hid.
pub(crate) async fn commit_drops(objects: &[Created]) -> Result<()> {
    for o in objects {
        if let Created::Hidden { hidden, .. } = o {
            if let Some(def) = crate::bind::lookup_table(hidden) {
                drop_tables_now(&[def]).await?;
            }
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
    rename::rename_everywhere(&def, name).await.map(drop)
}

/// At start-up (on the catalog's shard, once every shard recovered): the tables a crash left
/// hidden by the DROP TABLE of a transaction that did not commit get their names back.
pub async fn restore_hidden() {
    let hidden: Vec<String> =
        orbit_shards::state::with_shard(|s| s.tables.names().filter(|n| n.contains(HIDDEN)).cloned().collect());
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
        Plan::CreateView { def, .. } => (def.name.clone(), 1),
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
        if let Created::Relation { name, oid, .. } | Created::Index { name, oid } = o {
            if let Some(d) = crate::bind::lookup_table(name) {
                *oid = d.oid;
            }
        }
    }
}

/// Drops `objects` (newest last in the list: dropped first), each if it is still the one that
/// was created (the undo of one can give another a new OID: each is looked up again as the
/// one before it goes). Errors (another session made something depend on it) are logged and
/// the object is left.
pub(crate) async fn undo(mut objects: Vec<Created>) {
    while let Some(o) = objects.pop() {
        let still = |name: &str, oid: u32| crate::bind::lookup_table(name).is_some_and(|d| d.oid == oid);
        let r = match &o {
            Created::Relation { name, oid, view } if still(name, *oid) => {
                let names = std::slice::from_ref(name);
                if *view {
                    views::drop_views(names, true, false).await.map(drop)
                } else {
                    drop_tables(names, true).await.map(drop)
                }
            }
            Created::Index { name, oid } if still(name, *oid) => {
                indexes::drop_index(&Txn::new(), std::slice::from_ref(name), true).await.map(drop)
            }
            Created::Sequence { name } => crate::sequence::drop(std::slice::from_ref(name)).await.map(drop),
            Created::Hidden { name, hidden } => unhide(name, hidden).await,
            _ => Ok(()),
        };
        if let Err(e) = r {
            tracing::warn!(object = ?o, error = %e.message, "ROLLBACK could not drop an object the transaction created");
        }
        follow(&mut objects);
    }
}
