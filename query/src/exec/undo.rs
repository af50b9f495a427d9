//! DDL inside a transaction block, undone by ROLLBACK: the objects a transaction creates
//! (tables, views, indexes, sequences) are noted in it, and ROLLBACK — or ROLLBACK TO a
//! savepoint from before them — drops them again, newest first, as PostgreSQL's transactional
//! DDL leaves no trace of them. This covers what migration tools rely on (a failed migration
//! rolls its CREATEs back). What it does not make transactional (see docs/ARCHITECTURE.md):
//! DROP, ALTER and TRUNCATE still apply at once; other sessions see a created object before
//! COMMIT; and a crash before COMMIT keeps what was created.

use super::{drop_tables, indexes, views};
use crate::bind::Plan;
use crate::error::Result;
use crate::txn::Txn;

/// An object a statement created.
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
            _ => Ok(()),
        };
        if let Err(e) = r {
            tracing::warn!(object = ?o, error = %e.message, "ROLLBACK could not drop an object the transaction created");
        }
        follow(&mut objects);
    }
}
