//! What other sessions see of a transaction block's DDL before it ends, as PostgreSQL's
//! relation locks and catalog snapshots make it:
//! - a table or view the block **created** is not there for other transactions' statements
//!   (42P01, as PostgreSQL's uncommitted catalog rows are invisible to them);
//! - a table the block **altered** (ALTER TABLE, CREATE/DROP INDEX, RENAME: the table's
//!   `altering` mark, PostgreSQL's ACCESS EXCLUSIVE lock held to the end of the block) makes
//!   other transactions' statements that name it **wait** until the block ends, then bind
//!   again against what it left (the new definition after COMMIT, the old one after ROLLBACK);
//! - a table the block **dropped** (hidden under `<name>\u{1}<txid>` until COMMIT) makes them
//!   wait the same way, then find it gone (42P01) or back.
//!
//! The wait happens between binding and running: the binder notes every relation name it
//! looks up ([`Recording`]), the session asks [`waits`] which of them another transaction
//! holds, [`wait`]s for those transactions to end, and binds again. Prepared statements keep
//! the names they read (`Prepared::relations`), so an Execute waits and re-binds the same way.
//! A wait ends with the holder's transaction, a cancel request or `statement_timeout` (57014),
//! `lock_timeout` (55P03), or a deadlock (40P01, the youngest transaction of the cycle gives
//! way, as for row locks: these waits are published with the row locks' wait-for edges).
//! A statement that already wrote a table does not wait for it (it holds its row locks, which
//! the ALTER waits for: PostgreSQL lets a transaction that holds a lock on a relation past
//! the queue for the same reason). A statement that passed the checks is noted as running
//! ([`enter`], [`Running`]) and an ALTER waits for the running statements of other
//! transactions, so one already running when an ALTER begins finishes under the old
//! definition, as PostgreSQL's statements hold their relation locks.
//!
//! A CREATE TABLE / VIEW of a name another open block created waits for that block (then
//! fails with 42P07, or creates it if the block rolled back), as PostgreSQL's does. Catalog
//! listings leave another block's created tables and views out (`catalog::user_tables_seen_by`).
//!
//! Sequences a block created are hidden from others on the shard that holds their row
//! (`sequence.rs`, `CREATED_IN_BLOCK`). Not covered: indexes created in a block are visible
//! to others (an index's table is held by the block, so statements reading it wait anyway).

use crate::error::{Result, SqlError};
use crate::exec::undo::HIDDEN;
use crate::txn::Cancel;
use orbit_engine::table::TableDef;
use orbit_shards::rowlock::Owner;
use orbit_shards::{mesh, rt, state};
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::{Duration, Instant};

thread_local! {
    /// How deep the binder is (a bind may bind inner statements), and the relation names the
    /// outermost bind looked up.
    static RECORD: RefCell<(usize, Vec<(String, u32)>)> = const { RefCell::new((0, Vec::new())) };
    /// The transaction whose statement is being bound (None: none started yet).
    static VIEWER: Cell<Option<Owner>> = const { Cell::new(None) };
}

/// The next bind is for transaction `owner`'s statement (set right before the binder runs:
/// binding does not yield, so no other session binds in between; the outermost bind's end
/// forgets it).
pub fn bind_as(owner: Option<Owner>) {
    VIEWER.with(|v| v.set(owner));
}

/// While alive, the relation names the binder looks up are noted (the outermost one starts
/// the list afresh).
pub(crate) struct Recording;

impl Recording {
    pub(crate) fn start() -> Recording {
        RECORD.with(|r| {
            let mut r = r.borrow_mut();
            if r.0 == 0 {
                r.1.clear();
                crate::settings::bind_started();
                crate::catalog_sizes::bind_started();
            }
            r.0 += 1;
        });
        Recording
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        let outermost = RECORD.with(|r| {
            let mut r = r.borrow_mut();
            r.0 -= 1;
            r.0 == 0
        });
        // A bind that no session announced sees no block's uncommitted tables.
        if outermost {
            VIEWER.with(|v| v.set(None));
            crate::settings::bind_ended();
        }
    }
}

/// The names the last bind looked up, with the OID each had (0: none).
pub fn recorded() -> Vec<(String, u32)> {
    RECORD.with(|r| r.borrow().1.clone())
}

/// A table by name from the local shard's catalog copy, as the statement being bound may see
/// it: not one another open block created. Outside a bind every table is there (the executor
/// and DDL see the catalog as it is).
pub(crate) fn lookup(name: &str) -> Option<Arc<TableDef>> {
    let binding = RECORD.with(|r| r.borrow().0 > 0);
    let viewer = VIEWER.with(|v| v.get());
    let (def, indexes) = state::with_shard(|s| {
        let Some(t) = s.tables.get(name) else { return (None, Vec::new()) };
        if binding && t.created_by.is_some_and(|o| Some(o) != viewer) {
            return (None, Vec::new());
        }
        // A table's indexes and the tables its foreign keys reference are noted with it: ALTER
        // INDEX ... RENAME TO and a referenced table's rename change the table's definition
        // without giving it a new OID, and a plan that writes the table names them.
        let indexes = if binding {
            // As [`stale`] will see them: another open block's new index is not there yet.
            let oid = |n: &str| {
                s.tables.get(n).filter(|t| t.created_by.is_none_or(|o| Some(o) == viewer)).map_or(0, |t| t.def.oid)
            };
            let parents = t.def.foreign_keys.iter().map(|f| &f.parent);
            t.def.indexes.iter().map(|x| &x.name).chain(parents).map(|n| (n.clone(), oid(n))).collect()
        } else {
            Vec::new()
        };
        (Some(t.def.clone()), indexes)
    });
    if binding {
        RECORD.with(|r| {
            let mut r = r.borrow_mut();
            let this = (name.to_string(), def.as_ref().map_or(0, |d| d.oid));
            for (n, oid) in std::iter::once(this).chain(indexes) {
                if r.1.len() < 256 && !r.1.iter().any(|(m, _)| *m == n) {
                    r.1.push((n, oid));
                }
            }
        });
    }
    def
}

/// Whether a statement bound when `relations` were as recorded must be bound again: one of
/// them is now another relation (ALTER TABLE gives a table a new OID), is gone, or is there
/// where it was not (a prepared statement's plan follows DDL, as PostgreSQL re-plans).
pub fn stale(relations: &[(String, u32)], me: Option<Owner>) -> bool {
    if relations.is_empty() {
        return false;
    }
    state::with_shard(|s| {
        relations.iter().any(|(name, oid)| {
            let now =
                s.tables.get(name).filter(|t| t.created_by.is_none_or(|o| Some(o) == me)).map_or(0, |t| t.def.oid);
            now != *oid
        })
    })
}

/// A transaction another statement has to wait for.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    holder: Owner,
    what: Held,
}

#[derive(Debug, Clone, PartialEq)]
enum Held {
    /// Table `name` marked as altered by the holder.
    Altered(String),
    /// A table the holder's DROP hid under this name.
    Dropped(String),
    /// A relation of this name the holder's open block created (a CREATE of the same name
    /// waits for that block, as PostgreSQL's does on the catalog's unique index).
    Created(String),
}

/// The relation `plan` creates, if it is a CREATE TABLE or CREATE VIEW.
pub fn creates(plan: &crate::bind::Plan) -> Option<&str> {
    match plan {
        crate::bind::Plan::CreateTable { def, .. }
        | crate::bind::Plan::CreateView { def, .. }
        | crate::bind::Plan::CreatePartition { def, .. } => Some(&def.name),
        _ => None,
    }
}

/// Whether another open block created relation `name`, which a CREATE of transaction `me`
/// must then wait for.
pub fn create_waits(name: &str, me: Option<Owner>) -> Vec<Wait> {
    state::with_shard(|s| match s.tables.get(name).and_then(|t| t.created_by) {
        Some(o) if Some(o) != me => vec![Wait { holder: o, what: Held::Created(name.to_string()) }],
        _ => Vec::new(),
    })
}

/// Which of `names` transaction `me` (None: no transaction yet) must wait for before its
/// statement runs; `wrote` says whether it already wrote a table (then it does not wait).
pub fn waits(names: &[(String, u32)], me: Option<Owner>, wrote: &dyn Fn(&str) -> bool) -> Vec<Wait> {
    if names.is_empty() {
        return Vec::new();
    }
    state::with_shard(|s| waits_in(s, names, me, wrote))
}

/// [`waits`] in shard `s`'s catalog copy.
fn waits_in(s: &state::Shard, names: &[(String, u32)], me: Option<Owner>, wrote: &dyn Fn(&str) -> bool) -> Vec<Wait> {
    let mut out = Vec::new();
    for (name, _) in names {
        match s.tables.get(name) {
            Some(t) => {
                if let Some(o) = t.altering.filter(|&o| Some(o) != me && t.created_by.is_none_or(|c| c != o)) {
                    if !wrote(name) {
                        out.push(Wait { holder: o, what: Held::Altered(name.clone()) });
                    }
                }
            }
            None => {
                let prefix = format!("{name}{HIDDEN}");
                for n in s.tables.names().filter(|n| n.starts_with(&prefix)) {
                    let Ok(o) = n[prefix.len()..].parse::<Owner>() else { continue };
                    if Some(o) != me {
                        out.push(Wait { holder: o, what: Held::Dropped(n.clone()) });
                    }
                }
            }
        }
    }
    out
}

/// A statement running: noted on its session's shard under the OIDs of the tables it names,
/// so that an ALTER of one of them waits for it to end; the note goes when this is dropped.
#[derive(Debug)]
pub struct Running {
    owner: Owner,
    oids: Vec<u32>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let (owner, oids) = (self.owner, std::mem::take(&mut self.oids));
        if oids.is_empty() {
            return;
        }
        if state::try_with_shard(|s| s.row_locks.leave(owner, &oids)).is_none() {
            // Dropped while the shard's state is borrowed: noted out right after.
            rt::spawn(async move { state::with_shard(|s| s.row_locks.leave(owner, &oids)) });
        }
    }
}

/// Notes transaction `me`'s statement naming `names` as running, in one step with checking
/// that no other transaction holds one of them (an ALTER marks its table, then waits for the
/// running statements: one of the two sees the other). None: one is held now (the session
/// waits for it and binds again).
pub fn enter(names: &[(String, u32)], me: Owner, wrote: &dyn Fn(&str) -> bool) -> Option<Running> {
    if names.is_empty() {
        return Some(Running { owner: me, oids: Vec::new() });
    }
    state::with_shard(|s| {
        if !waits_in(s, names, Some(me), wrote).is_empty() {
            return None;
        }
        let oids: Vec<u32> = names.iter().filter_map(|(n, _)| s.tables.get(n).map(|t| t.def.oid)).collect();
        s.row_locks.enter(me, &oids);
        Some(Running { owner: me, oids })
    })
}

/// Whether `w` still holds on this shard.
fn holds(w: &Wait) -> bool {
    state::with_shard(|s| match &w.what {
        Held::Altered(name) => s.tables.get(name).is_some_and(|t| t.altering == Some(w.holder)),
        Held::Dropped(hidden) => s.tables.get(hidden).is_some(),
        Held::Created(name) => s.tables.get(name).is_some_and(|t| t.created_by == Some(w.holder)),
    })
}

/// Waits until the transactions behind `waits` have ended (see the module's doc for how a wait
/// ends otherwise). `me`: the waiting transaction, if it has started (only a started one can
/// be part of a deadlock).
pub async fn wait(me: Option<Owner>, cancel: Option<&std::rc::Rc<Cancel>>, waits: &[Wait]) -> Result<()> {
    let _waiting = cancel.map(|c| crate::txn::Waiting::new(c.clone()));
    let started = Instant::now();
    let lock_deadline = cancel.and_then(|c| c.lock_timeout.get()).map(|t| started + t);
    let every = Cancel::deadlock_timeout(cancel.map(|c| &**c));
    let mut next_check = started + every;
    let mut pause = Duration::from_millis(1);
    let mut published = false;
    let r = loop {
        let left: Vec<Owner> = waits.iter().filter(|w| holds(w)).map(|w| w.holder).collect();
        if left.is_empty() {
            break Ok(());
        }
        if let Some(c) = cancel {
            if let Err(e) = c.check() {
                break Err(e);
            }
        }
        if lock_deadline.is_some_and(|d| Instant::now() >= d) {
            break Err(SqlError::new("55P03", "canceling statement due to lock timeout"));
        }
        if let Some(me) = me {
            state::with_shard(|s| s.row_locks.note_other_waits(me, &left));
            published = true;
            if Instant::now() >= next_check {
                next_check = Instant::now() + every;
                if let Some(e) = deadlock(me, left[0]).await {
                    break Err(e);
                }
            }
        }
        rt::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    if let (true, Some(me)) = (published, me) {
        state::with_shard(|s| s.row_locks.note_other_waits(me, &[]));
    }
    r
}

/// 40P01 for `me` if it is the youngest transaction of a wait-for cycle it is part of.
pub(crate) async fn deadlock(me: Owner, holder: Owner) -> Option<SqlError> {
    let edges: Vec<(Owner, Owner)> =
        mesh::run_on_all(|s| s.row_locks.edges()).await.ok()?.into_iter().flatten().collect();
    let cycle = orbit_shards::rowlock::cycle_members(me, &edges);
    (cycle.iter().max() == Some(&me)).then(|| {
        SqlError::new("40P01", "deadlock detected").detail(format!(
            "Transaction {me} waits for a relation held by transaction {holder}, which waits for this transaction."
        ))
    })
}
