//! SQL transactions: every statement runs inside one — the client's explicit block
//! (BEGIN … COMMIT), the implicit one of a multi-statement Query message, or its own.
//!
//! A transaction's changes are private until COMMIT: they live in its write set ([`Txn`]), by
//! table and encoded primary key (a row, or None for a deleted one), and every row it changes
//! (or inserts at) is locked on the row's shard ([`orbit_shards::rowlock`]) from the statement
//! that changes it until the transaction ends. A writer that finds a row locked by another
//! transaction waits for it, then re-reads the committed row; waits that form a cycle are found
//! after [`DEADLOCK_TIMEOUT`] and the youngest transaction in the cycle fails with 40P01, as
//! PostgreSQL's `deadlock_timeout` check does.
//!
//! Reads see committed rows overlaid with the transaction's own changes, at one of three
//! isolation levels ([`Isolation`]):
//! - READ COMMITTED (the default, as in PostgreSQL): each statement sees the latest committed
//!   rows. A reader spanning shards takes shared intents on every shard through the cross-shard
//!   scheduler ([`orbit_shards::tx`]), and a commit spanning shards takes exclusive ones on its
//!   rows, so no reader sees part of a commit. A writer re-checks its WHERE against the row it
//!   locked (PostgreSQL's re-check of an updated row).
//! - REPEATABLE READ: the transaction's first statement takes a snapshot
//!   ([`orbit_engine::table::mvcc`]) and every statement reads the rows as they were then, from
//!   the versions each shard keeps while a snapshot needs them. Changing (or locking) a row that
//!   a commit after the snapshot changed fails with 40001, as PostgreSQL's "could not serialize
//!   access due to concurrent update": first updater wins.
//! - SERIALIZABLE: REPEATABLE READ's snapshot, and the transaction records what it reads; a
//!   transaction that wrote something fails its COMMIT with 40001 if a row it read changed since
//!   its snapshot (or a commit spanning shards has prepared a change to it) ([`crate::serializable`] says
//!   why that is serializable and where it aborts more often than PostgreSQL's SSI). Read-only
//!   transactions commit without a check and never fail.
//!
//! COMMIT applies the write set shard by shard, logging each change, and releases the locks.
//! Each shard applies its part in one step, under one commit timestamp. A commit spanning
//! shards is also atomic across a crash: it runs two-phase commit over the shards' own logs
//! ([`apply_together`]; the coordinating shard's log holds the decision). ROLLBACK drops the
//! write set and releases the locks.
//!
//! DDL applies at once; ROLLBACK drops the objects the transaction created and gives back the
//! tables its DROP TABLEs hid (`exec/undo.rs`); ALTER TABLE is not undone yet.

use crate::error::{code, Result, SqlError};
use crate::serializable::{self, TableReads};
use orbit_engine::table::in_doubt::{PartTable, PreparedPart};
use orbit_engine::table::{mvcc, Datum, Row, TableDef};
use orbit_shards::rowlock::{self, Lock, LockMode, Owner};
use orbit_shards::tx::{Intent, Mode};
use orbit_shards::{mesh, rt, state, tables as shard_tables, twophase, wal, ShardId};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// Bytes one transaction's write set may hold (estimated: keys, rows and the map's own
/// overhead) before it fails with 54000: one client cannot take the server's memory. Enough
/// for `pgbench -i -s 100` (10M accounts rows in one transaction).
pub const MAX_TXN_BYTES: usize = 6 << 30;

/// The write set's overhead per row, next to its key and row: the map entry and the vectors.
const ENTRY_BYTES: usize = 64;

/// What taking a row lock another transaction holds does (`FOR UPDATE [NOWAIT | SKIP LOCKED]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockWait {
    /// Wait for the holder to end.
    #[default]
    Wait,
    /// Fail with 55P03.
    NoWait,
    /// Leave the row out.
    SkipLocked,
}

/// The isolation levels Orbit runs (PostgreSQL's names in [`Isolation::name`]). READ
/// UNCOMMITTED runs as READ COMMITTED, as in PostgreSQL, but keeps its name: SHOW answers it
/// (pgjdbc's `getTransactionIsolation` reads it back) and changing between the two after the
/// first query is 25001 there too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    #[default]
    ReadCommitted,
    ReadUncommitted,
    RepeatableRead,
    Serializable,
}

impl Isolation {
    /// The name `SHOW transaction_isolation` prints.
    pub fn name(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "read committed",
            Isolation::ReadUncommitted => "read uncommitted",
            Isolation::RepeatableRead => "repeatable read",
            Isolation::Serializable => "serializable",
        }
    }

    /// A setting's value (as [`crate::settings`] stores it).
    pub fn from_setting(v: &str) -> Isolation {
        if v.eq_ignore_ascii_case("repeatable read") {
            Isolation::RepeatableRead
        } else if v.eq_ignore_ascii_case("serializable") {
            Isolation::Serializable
        } else if v.eq_ignore_ascii_case("read uncommitted") {
            Isolation::ReadUncommitted
        } else {
            Isolation::ReadCommitted
        }
    }
}

/// What locking a row checks against the transaction's snapshot (REPEATABLE READ only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapshotCheck {
    /// Nothing: an INSERT's probe for a taken key (a concurrent insert is a 23505, as in
    /// PostgreSQL).
    Off,
    /// 40001 if a commit after the snapshot changed the row: UPDATE, DELETE, SELECT FOR UPDATE.
    Changed,
    /// 40001 if a row is there now and a commit after the snapshot put it there or changed it:
    /// ON CONFLICT's arbiter rows (PostgreSQL's check that the conflicting row is visible).
    Present,
}

fn serialization_failure() -> SqlError {
    SqlError::new("40001", "could not serialize access due to concurrent update")
}

fn too_old(_: mvcc::TooOld) -> SqlError {
    SqlError::new("72000", "snapshot too old")
}

/// A SELECT's locking clause: `FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE` and what to do
/// with rows another transaction holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowLocking {
    pub wait: LockWait,
    /// FOR SHARE and FOR KEY SHARE take shared locks; FOR UPDATE and FOR NO KEY UPDATE
    /// exclusive ones (Orbit has these two modes: KEY SHARE conflicts with NO KEY UPDATE here,
    /// where PostgreSQL lets them pass).
    pub mode: LockMode,
    /// The clause as PostgreSQL names it in errors: `FOR UPDATE`, `FOR SHARE`, ...
    pub clause: &'static str,
}

/// How long a lock wait lasts before the waiter checks for a deadlock (PostgreSQL's default
/// `deadlock_timeout`).
pub const DEADLOCK_TIMEOUT: Duration = Duration::from_secs(1);

/// The scheduler's "db" of a table's rows: above every Redis db, one per table OID.
pub fn sql_db(oid: u32) -> usize {
    (1usize << 40) + oid as usize
}

/// What a table's changes count in the write set's bound.
fn writes_bytes(rows: &BTreeMap<Vec<u8>, Option<Row>>) -> usize {
    rows.iter().map(|(k, r)| k.len() + ENTRY_BYTES + r.as_ref().map_or(0, |r| r.iter().map(Datum::memory).sum())).sum()
}

/// A row change: the encoded primary key and the row (None: deleted).
type KeyedRow = (Vec<u8>, Option<Row>);

/// A transaction's changes to one table.
#[derive(Debug, Clone)]
pub(crate) struct TableWrites {
    pub def: Arc<TableDef>,
    /// Encoded primary key → the row as this transaction leaves it (None: deleted).
    pub rows: BTreeMap<Vec<u8>, Option<Row>>,
}

#[derive(Debug, Clone)]
struct Savepoint {
    name: String,
    writes: BTreeMap<String, TableWrites>,
    changed: usize,
    /// How many objects the transaction had created.
    created: usize,
}

/// A connection's cancel switch (PostgreSQL's CancelRequest): armed while a statement runs; a
/// request while armed makes the statement's next wait fail with 57014.
#[derive(Debug, Default)]
pub struct Cancel {
    armed: std::cell::Cell<bool>,
    /// Waiting for a row lock (pg_stat_activity's wait event).
    waiting: std::cell::Cell<bool>,
    requested: std::cell::Cell<bool>,
    waker: std::cell::RefCell<Option<std::task::Waker>>,
    /// `statement_timeout`: when the running statement is cancelled.
    deadline: std::cell::Cell<Option<std::time::Instant>>,
    /// `lock_timeout`: how long one row lock wait may last.
    pub(crate) lock_timeout: std::cell::Cell<Option<Duration>>,
    /// `deadlock_timeout`: how long a lock wait lasts before the deadlock check runs (and
    /// between checks); None: [`DEADLOCK_TIMEOUT`].
    deadlock_timeout: std::cell::Cell<Option<Duration>>,
    /// The running statement's memory account (`orbit.query_memory_limit`).
    pub(crate) memory: std::rc::Rc<crate::memory::QueryMemory>,
}

impl Cancel {
    /// A statement starts (true) or ends (false); a request left from before is forgotten.
    pub fn arm(&self, on: bool) {
        self.armed.set(on);
        self.requested.set(false);
        if !on {
            self.deadline.set(None);
            // What the statement held is gone with it.
            self.memory.release_to(0);
        }
    }

    /// A statement starts under `statement_timeout` and `lock_timeout` (None: no limit). The
    /// statement is cancelled (57014) at its next lock wait, shard hop or commit after the
    /// timeout, or during a lock wait when it expires; a lock wait longer than `lock_timeout`
    /// fails with 55P03.
    pub fn arm_with(
        &self,
        statement_timeout: Option<Duration>,
        lock_timeout: Option<Duration>,
        deadlock_timeout: Option<Duration>,
    ) {
        self.arm(true);
        self.deadline.set(statement_timeout.map(|t| std::time::Instant::now() + t));
        self.lock_timeout.set(lock_timeout);
        self.deadlock_timeout.set(deadlock_timeout);
    }

    /// How long a lock wait of the running statement lasts before each deadlock check.
    pub fn deadlock_timeout(this: Option<&Cancel>) -> Duration {
        this.and_then(|c| c.deadlock_timeout.get()).unwrap_or(DEADLOCK_TIMEOUT)
    }

    /// The statement about to run starts a new memory account of `limit_bytes`
    /// (`orbit.query_memory_limit`), each sort and hash table under `operators` (`work_mem`;
    /// see [`crate::memory`]).
    pub fn limit_memory(&self, limit_bytes: usize, operators: crate::memory::OperatorLimits) {
        self.memory.start_with(limit_bytes, operators);
    }

    /// A CancelRequest for this connection: takes effect only while a statement runs.
    pub fn request(&self) {
        if self.armed.get() {
            self.requested.set(true);
            if let Some(w) = self.waker.borrow_mut().take() {
                w.wake();
            }
        }
    }

    pub fn waiting(&self) -> bool {
        self.waiting.get()
    }

    pub fn check(&self) -> Result<()> {
        if self.requested.get() {
            return Err(canceled());
        }
        if self.deadline.get().is_some_and(|d| std::time::Instant::now() >= d) {
            return Err(timed_out());
        }
        Ok(())
    }

    /// Sleeps `d` (None: until cancelled) on the shard's timer; a CancelRequest or the
    /// statement's timeout ends it with 57014.
    pub(crate) async fn sleep(&self, d: Option<Duration>) -> Result<()> {
        self.check()?;
        let end = d.and_then(|d| std::time::Instant::now().checked_add(d));
        // PostgreSQL sleeps in steps of at most 10 minutes toward the end it computed first.
        const STEP: Duration = Duration::from_secs(600);
        loop {
            let step = match end {
                Some(e) => match e.checked_duration_since(std::time::Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(STEP),
                    _ => return Ok(()),
                },
                None => STEP,
            };
            let timer = std::pin::pin!(rt::sleep(step));
            let cancel = std::pin::pin!(async {
                let requested = std::pin::pin!(self.requested());
                let deadline = std::pin::pin!(until(self.deadline.get()));
                futures::future::select(requested, deadline).await;
            });
            if let futures::future::Either::Right(_) = futures::future::select(timer, cancel).await {
                return self.check().and(Err(timed_out()));
            }
        }
    }

    /// Resolves once a request arrives.
    async fn requested(&self) {
        std::future::poll_fn(|cx| {
            if self.requested.get() {
                std::task::Poll::Ready(())
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await
    }
}

/// Marks the session as waiting for a lock while it lives.
pub(crate) struct Waiting(std::rc::Rc<Cancel>);

impl Waiting {
    pub(crate) fn new(c: std::rc::Rc<Cancel>) -> Waiting {
        c.waiting.set(true);
        Waiting(c)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiting.set(false);
    }
}

fn canceled() -> SqlError {
    SqlError::new("57014", "canceling statement due to user request")
}

fn timed_out() -> SqlError {
    SqlError::new("57014", "canceling statement due to statement timeout")
}

/// Resolves at `deadline` (never when None).
async fn until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(d) => rt::sleep(d.saturating_duration_since(std::time::Instant::now())).await,
        None => std::future::pending().await,
    }
}

/// One transaction: its write set, the shards where it holds row locks, its savepoints.
#[derive(Debug)]
pub struct Txn {
    pub id: Owner,
    pub(crate) writes: BTreeMap<String, TableWrites>,
    lock_shards: BTreeSet<ShardId>,
    /// The write set's estimated size in bytes, and its bound ([`MAX_TXN_BYTES`]).
    changed: usize,
    max_bytes: usize,
    savepoints: Vec<Savepoint>,
    /// `BEGIN READ ONLY` (or default_transaction_read_only): writes fail with 25006.
    pub read_only: bool,
    /// `DEFERRABLE` (transaction_deferrable): shown by SHOW; Orbit takes no other action on it.
    pub deferrable: bool,
    /// Whether a statement that reads or writes rows has run (PostgreSQL's first snapshot):
    /// the access mode and DEFERRABLE can no longer change (25001).
    pub(crate) queried: bool,
    /// The connection's cancel switch, checked while waiting for a row lock.
    pub cancel: Option<std::rc::Rc<Cancel>>,
    /// The session's last nextval per sequence (currval), shared by its transactions.
    pub sequences: std::rc::Rc<std::cell::RefCell<std::collections::HashMap<String, i64>>>,
    /// The session's prepared statements (pg_prepared_statements lists them).
    pub prepared_statements: crate::prepared::Session,
    /// The session's cursors: told when this transaction ends ([`crate::cursors`]).
    pub cursors: crate::cursors::Session,
    /// The session's parameters as its statement runs (pg_settings lists them).
    pub settings: crate::settings::Session,
    /// LOCK TABLE's holds on tables (`bind/lock.rs`), released when the transaction ends.
    pub relation_locks: Vec<crate::relation_lock::Running>,
    /// Transaction-level advisory locks (`pg_advisory_xact_lock`), released when it ends.
    pub advisory: std::cell::RefCell<Vec<crate::advisory::XactHold>>,
    /// When the transaction started (microseconds since 2000-01-01 UTC): now() and
    /// CURRENT_TIMESTAMP, as in PostgreSQL.
    pub started_us: i64,
    /// Rows of the derived relations (subqueries, CTEs) of the running statement.
    pub(crate) relations: crate::relation::Registry,
    /// The isolation level; it can change until the first statement takes the snapshot.
    pub isolation: Isolation,
    /// REPEATABLE READ's (and SERIALIZABLE's) snapshot, from the first statement on.
    snapshot: Option<mvcc::Snapshot>,
    /// SERIALIZABLE: what the transaction read, checked at COMMIT (bounded).
    reads: std::cell::RefCell<crate::serializable::ReadSet>,
    /// The objects this transaction's DDL created, oldest first: ROLLBACK drops them.
    pub(crate) created: Vec<crate::exec::undo::Created>,
    /// Which of `created` have their row in the DDL journal (undone at start-up after a crash).
    pub(crate) journal: Vec<crate::exec::ddl_journal::Entry>,
    /// The transaction is one statement that commits at once (no block): its DDL keeps no
    /// copy to undo it with, and holds no table past the statement.
    pub alone: bool,
    /// Its DDL holds tables against other writers until it ends (PostgreSQL's ACCESS
    /// EXCLUSIVE lock to the end of the block).
    pub(crate) holds_tables: bool,
    /// The materialized view REFRESH (or CREATE MATERIALIZED VIEW) is filling: the one
    /// relation of its kind the transaction's INSERT and DELETE may write.
    pub(crate) writing_matview: Option<String>,
    /// The memory account of a transaction without a cancel switch (an internal one).
    memory: std::rc::Rc<crate::memory::QueryMemory>,
    /// SET CONSTRAINTS modes and the checks deferred foreign keys owe at COMMIT.
    pub(crate) deferred: crate::foreign_key::Deferred,
    /// The session's backend pid (0: an internal transaction): after COMMIT, its temporary
    /// tables' ON COMMIT actions run ([`crate::temp_tables::at_commit`]).
    pub session_pid: i32,
}

impl Default for Txn {
    fn default() -> Self {
        Txn::new()
    }
}

fn gone(e: orbit_shards::Error) -> SqlError {
    SqlError::new(code::CONNECTION_EXCEPTION, format!("shard unavailable: {e}"))
}

fn io_error(e: impl std::fmt::Display) -> SqlError {
    SqlError::new(code::IO_ERROR, format!("could not write to the log: {e}"))
}

fn no_table(name: &str) -> SqlError {
    SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{name}\" does not exist"))
}

fn shard_of(key: &[u8], n: usize) -> ShardId {
    orbit_shards::route::shard_for_row(key, n)
}

impl Txn {
    pub fn new() -> Txn {
        Txn {
            id: orbit_shards::tx::next_id(),
            writes: BTreeMap::new(),
            lock_shards: BTreeSet::new(),
            changed: 0,
            max_bytes: MAX_TXN_BYTES,
            savepoints: Vec::new(),
            read_only: false,
            deferrable: false,
            queried: false,
            cancel: None,
            sequences: Default::default(),
            prepared_statements: Default::default(),
            cursors: Default::default(),
            settings: Default::default(),
            relation_locks: Vec::new(),
            advisory: Default::default(),
            started_us: crate::datetime::now_us(),
            relations: Default::default(),
            isolation: Isolation::ReadCommitted,
            snapshot: None,
            reads: Default::default(),
            created: Vec::new(),
            journal: Vec::new(),
            alone: false,
            holds_tables: false,
            writing_matview: None,
            memory: Default::default(),
            deferred: Default::default(),
            session_pid: 0,
        }
    }

    /// The running statement's memory account: the connection's, or this transaction's own.
    pub fn memory(&self) -> std::rc::Rc<crate::memory::QueryMemory> {
        self.cancel.as_ref().map_or(&self.memory, |c| &c.memory).clone()
    }

    /// Whether a statement that reads or writes rows has run in the transaction.
    pub fn has_queried(&self) -> bool {
        self.queried
    }

    /// Whether a savepoint is open (PostgreSQL's subtransaction).
    pub fn in_savepoint(&self) -> bool {
        !self.savepoints.is_empty()
    }

    /// Whether a statement has run (REPEATABLE READ: the snapshot is taken), after which the
    /// isolation level cannot change (25001).
    pub fn has_snapshot(&self) -> bool {
        self.snapshot.is_some()
    }

    /// At the start of each statement that reads or writes rows: a REPEATABLE READ transaction's
    /// first one takes the snapshot, at a moment when no commit spanning shards is half applied
    /// (with shared intents on every shard, as a READ COMMITTED read spanning shards takes).
    pub(crate) async fn begin_statement(&mut self) -> Result<()> {
        if matches!(self.isolation, Isolation::ReadCommitted | Isolation::ReadUncommitted) || self.snapshot.is_some() {
            return Ok(());
        }
        let (_, n) = state::local();
        if n == 1 {
            self.snapshot = Some(mvcc::Snapshot::take());
            return Ok(());
        }
        let intents = (0..n)
            .map(|s| {
                let mut i = Intent::default();
                i.whole(Mode::Shared);
                (s, i.seal())
            })
            .collect();
        let held = orbit_shards::tx::acquire(intents).await.map_err(gone)?;
        self.snapshot = Some(mvcc::Snapshot::take());
        held.release().await;
        Ok(())
    }

    /// The snapshot reads go through (None: the latest committed rows, READ COMMITTED).
    pub(crate) fn read_at(&self) -> Option<u64> {
        self.snapshot.as_ref().map(|s| s.at())
    }

    /// Notes that the running statement read `read` of `def` (a table or an index table): a
    /// SERIALIZABLE transaction's COMMIT checks it ([`crate::serializable`]). Nothing is kept at
    /// the other levels, nor in a READ ONLY transaction (it commits without a check).
    pub(crate) fn note_read(&self, def: &TableDef, read: impl FnOnce() -> crate::serializable::Read) {
        // Built only when it is kept: the other levels read without a copy of the key.
        if self.isolation == Isolation::Serializable && !self.read_only {
            self.reads.borrow_mut().note(def, read());
        }
    }

    /// Whether the transaction changed nothing (yet).
    pub fn is_empty(&self) -> bool {
        self.writes.values().all(|w| w.rows.is_empty())
    }

    /// This transaction's changes to `def` (None when it changed none, or the table it changed
    /// under that name was dropped and created again).
    pub(crate) fn overlay(&self, def: &TableDef) -> Option<&TableWrites> {
        self.writes.get(&def.name).filter(|w| w.def.oid == def.oid && !w.rows.is_empty())
    }

    /// The row as this transaction sees it at `key`, if it changed it: Some(None) = deleted.
    pub(crate) fn own(&self, def: &TableDef, key: &[u8]) -> Option<Option<&Row>> {
        self.overlay(def).and_then(|w| w.rows.get(key)).map(|r| r.as_ref())
    }

    /// Sleeps `d` (None: until cancelled), ended by a cancel request or `statement_timeout`
    /// (57014) while the statement runs under one ([`Cancel::sleep`]).
    pub(crate) async fn sleep(&self, d: Option<Duration>) -> Result<()> {
        match (&self.cancel, d) {
            (Some(c), d) => c.sleep(d).await,
            (None, Some(d)) => {
                rt::sleep(d).await;
                Ok(())
            }
            (None, None) => Err(SqlError::unsupported("an endless pg_sleep outside a cancellable statement")),
        }
    }

    /// Fails if the running statement was cancelled or ran past `statement_timeout`.
    pub fn check_cancel(&self) -> Result<()> {
        match &self.cancel {
            Some(c) => c.check(),
            None => Ok(()),
        }
    }

    pub(crate) fn check_writable(&self, what: &str) -> Result<()> {
        if self.read_only {
            return Err(SqlError::new("25006", format!("cannot execute {what} in a read-only transaction")));
        }
        Ok(())
    }

    /// Records the row at `key` as this transaction leaves it (the key must be locked).
    pub(crate) fn write(&mut self, def: &Arc<TableDef>, key: Vec<u8>, row: Option<Row>) -> Result<()> {
        self.write_rows(def, std::iter::once((key, row)))
    }

    /// [`Txn::write`] of many rows of one table (the table's entry found once, not per row:
    /// COPY writes a batch at a time).
    pub(crate) fn write_rows(
        &mut self,
        def: &Arc<TableDef>,
        rows: impl IntoIterator<Item = (Vec<u8>, Option<Row>)>,
    ) -> Result<()> {
        let w = match self.writes.get_mut(def.name.as_str()) {
            Some(w) => w,
            None => self
                .writes
                .entry(def.name.clone())
                .or_insert_with(|| TableWrites { def: def.clone(), rows: BTreeMap::new() }),
        };
        if w.def.oid != def.oid {
            *w = TableWrites { def: def.clone(), rows: BTreeMap::new() };
        }
        let size = |key: &[u8], row: &Option<Row>| {
            key.len() + ENTRY_BYTES + row.as_ref().map_or(0, |r| r.iter().map(Datum::memory).sum::<usize>())
        };
        for (key, row) in rows {
            let added = size(&key, &row);
            let removed = match w.rows.get(&key) {
                Some(old) => size(&key, old),
                None => 0,
            };
            w.rows.insert(key, row);
            self.changed = (self.changed + added).saturating_sub(removed);
            if self.changed > self.max_bytes {
                return Err(SqlError::new(
                    code::PROGRAM_LIMIT_EXCEEDED,
                    format!("the changes of one transaction may take at most {} MB of memory", self.max_bytes >> 20),
                ));
            }
        }
        Ok(())
    }

    /// This transaction's changes to `def` (empty when it changed none): what DDL that rewrites
    /// the table carries over to the new definition ([`Txn::rewrite_writes`]).
    pub(crate) fn overlay_rows(&self, def: &TableDef) -> BTreeMap<Vec<u8>, Option<Row>> {
        self.overlay(def).map(|w| w.rows.clone()).unwrap_or_default()
    }

    /// DDL swapped `new` in for the table this transaction changed as `old_name` (a new OID, and
    /// maybe new columns, keys or name): its changes to that table now stand as `rows` under
    /// `new`, and COMMIT applies them to the new table.
    pub(crate) fn rewrite_writes(
        &mut self,
        old_name: &str,
        new: &Arc<TableDef>,
        rows: BTreeMap<Vec<u8>, Option<Row>>,
    ) -> Result<()> {
        self.forget_writes(old_name);
        let after = writes_bytes(&rows);
        if !rows.is_empty() {
            self.writes.insert(new.name.clone(), TableWrites { def: new.clone(), rows });
        }
        self.keep_bytes(after)
    }

    /// Forgets this transaction's changes to relation `name` (an index it dropped).
    pub(crate) fn forget_writes(&mut self, name: &str) {
        if let Some(w) = self.writes.remove(name) {
            self.changed = self.changed.saturating_sub(writes_bytes(&w.rows));
        }
    }

    /// After ROLLBACK TO put back definitions the DDL since the savepoint replaced: they are
    /// the definitions the savepoint's changes were made under, but with new OIDs. The changes
    /// follow them, so COMMIT still applies them.
    fn follow_put_back(&mut self) {
        for w in self.writes.values_mut() {
            let Some(now) = crate::bind::lookup_table(&w.def.name) else { continue };
            if now.oid != w.def.oid && (TableDef { oid: now.oid, ..(*w.def).clone() }) == *now {
                w.def = now;
            }
        }
    }

    /// Counts `bytes` more held by the transaction (what its DDL keeps to undo) in its bound.
    pub(crate) fn keep_bytes(&mut self, bytes: usize) -> Result<()> {
        self.changed += bytes;
        if self.changed > self.max_bytes {
            return Err(SqlError::new(
                code::PROGRAM_LIMIT_EXCEEDED,
                format!("the changes of one transaction may take at most {} MB of memory", self.max_bytes >> 20),
            ));
        }
        Ok(())
    }

    /// Locks the rows at `keys` of `def` for this transaction, waiting for other transactions
    /// that hold them, and returns each row as committed once locked (None: no row there).
    pub(crate) async fn lock(&mut self, def: &TableDef, keys: Vec<Vec<u8>>) -> Result<Vec<Option<Row>>> {
        let got = self.lock_checked(def, keys, LockWait::Wait, LockMode::Exclusive, SnapshotCheck::Off).await?;
        Ok(got.into_iter().map(Option::flatten).collect())
    }

    /// [`Txn::lock`] in shared mode (FOR KEY SHARE, as PostgreSQL's foreign key checks lock a
    /// referenced row): the rows as committed once locked.
    pub(crate) async fn lock_key_share(&mut self, def: &TableDef, keys: Vec<Vec<u8>>) -> Result<Vec<Option<Row>>> {
        let got = self.lock_checked(def, keys, LockWait::Wait, LockMode::Share, SnapshotCheck::Off).await?;
        Ok(got.into_iter().map(Option::flatten).collect())
    }

    /// [`Txn::lock`] of rows this transaction is about to change: under REPEATABLE READ, `check`
    /// decides when a commit after the snapshot makes it fail with 40001.
    pub(crate) async fn lock_changing(
        &mut self,
        def: &TableDef,
        keys: Vec<Vec<u8>>,
        check: SnapshotCheck,
    ) -> Result<Vec<Option<Row>>> {
        let got = self.lock_checked(def, keys, LockWait::Wait, LockMode::Exclusive, check).await?;
        Ok(got.into_iter().map(Option::flatten).collect())
    }

    /// [`Txn::lock`] with a policy for rows another transaction holds: wait for it, fail
    /// (`NOWAIT`: 55P03), or leave the row out (`SKIP LOCKED`: its entry is None).
    /// The rows are locked in `mode` (FOR SHARE: shared), as for changing them
    /// ([`SnapshotCheck::Changed`]).
    pub(crate) async fn lock_with(
        &mut self,
        def: &TableDef,
        keys: Vec<Vec<u8>>,
        policy: LockWait,
        mode: LockMode,
    ) -> Result<Vec<Option<Option<Row>>>> {
        self.lock_checked(def, keys, policy, mode, SnapshotCheck::Changed).await
    }

    async fn lock_checked(
        &mut self,
        def: &TableDef,
        keys: Vec<Vec<u8>>,
        policy: LockWait,
        mode: LockMode,
        check: SnapshotCheck,
    ) -> Result<Vec<Option<Option<Row>>>> {
        let check = match self.read_at() {
            Some(at) if check != SnapshotCheck::Off => Some((at, check)),
            _ => None,
        };
        let (_, n) = state::local();
        let mut out: Vec<Option<Option<Row>>> = vec![None; keys.len()];
        let mut per_shard: BTreeMap<ShardId, Vec<(usize, Vec<u8>)>> = BTreeMap::new();
        for (i, k) in keys.into_iter().enumerate() {
            per_shard.entry(shard_of(&k, n)).or_default().push((i, k));
        }
        self.check_cancel()?;
        for (shard, mut pending) in per_shard {
            self.lock_shards.insert(shard);
            // A statement noted as running on this session's shard went in before any ALTER
            // of the table marked it (which then waits for the statement).
            let entered = state::with_shard(|s| s.row_locks.is_running(self.id, def.oid));
            while !pending.is_empty() {
                let (owner, oid, name) = (self.id, def.oid, def.name.clone());
                let batch = std::mem::take(&mut pending);
                let (got, rest, wait) = mesh::run_on(shard, move |s| {
                    let t = s.tables.get(&name).filter(|t| t.def.oid == oid).ok_or_else(|| no_table(&name))?;
                    if t.altering.is_some_and(|o| o != owner) && !entered && !s.row_locks.owns_in_table(owner, oid) {
                        // Another transaction is altering it (PostgreSQL's ACCESS EXCLUSIVE
                        // lock, held to the end of its block). A statement waits for that
                        // before it runs (`relation_lock`), and one that runs already (noted
                        // as such, or holding rows of the table) goes on: the ALTER waits for
                        // it. Only a statement run outside a session's note gets here.
                        return Err(SqlError::new("55P03", format!("could not obtain lock on relation \"{name}\"")));
                    }
                    let mut got = Vec::with_capacity(batch.len());
                    let mut it = batch.into_iter();
                    while let Some((i, k)) = it.next() {
                        if policy != LockWait::Wait && s.row_locks.blocker(oid, &k, owner, mode).is_some() {
                            if policy == LockWait::NoWait {
                                return Err(SqlError::new(
                                    "55P03",
                                    format!("could not obtain lock on row in relation \"{name}\""),
                                ));
                            }
                            got.push((i, None));
                            continue;
                        }
                        match s.row_locks.lock_in(oid, &k, owner, mode) {
                            Lock::Held => {
                                let t = s.tables.get(&name);
                                let row = t.and_then(|t| t.get(&k).cloned());
                                if let (Some((at, check)), Some(t)) = (check, t) {
                                    let changed = t.changed_since(&k, at).map_err(too_old)?;
                                    if changed && (check == SnapshotCheck::Changed || row.is_some()) {
                                        return Err(serialization_failure());
                                    }
                                }
                                got.push((i, Some(row)));
                            }
                            Lock::Wait { holder, ready } => {
                                let mut rest = vec![(i, k)];
                                rest.extend(it);
                                return Ok::<_, SqlError>((got, rest, Some((holder, ready))));
                            }
                        }
                    }
                    Ok((got, Vec::new(), None))
                })
                .await
                .map_err(gone)??;
                for (i, row) in got {
                    out[i] = row;
                }
                pending = rest;
                if let Some((holder, ready)) = wait {
                    self.wait(shard, holder, ready).await?;
                }
            }
        }
        Ok(out)
    }

    /// Waits for a row lock held by `holder` on `shard`, checking for a deadlock every
    /// `deadlock_timeout` ([`DEADLOCK_TIMEOUT`] by default).
    async fn wait(&self, shard: ShardId, holder: Owner, ready: futures::channel::oneshot::Receiver<()>) -> Result<()> {
        let mut ready = ready;
        let me = self.id;
        let _waiting = self.cancel.as_ref().map(|c| Waiting::new(c.clone()));
        let give_up = || async move {
            let _ = mesh::run_on(shard, move |s| s.row_locks.cancel_waits(me)).await;
        };
        let started = std::time::Instant::now();
        let (deadline, lock_deadline) = match &self.cancel {
            Some(c) => (c.deadline.get(), c.lock_timeout.get().map(|t| started + t)),
            None => (None, None),
        };
        loop {
            let timer = std::pin::pin!(rt::sleep(Cancel::deadlock_timeout(self.cancel.as_deref())));
            // A cancel request, statement_timeout or lock_timeout ends the wait with its error.
            let cancel = std::pin::pin!(async {
                let requested = std::pin::pin!(async {
                    match &self.cancel {
                        Some(c) => c.requested().await,
                        None => std::future::pending().await,
                    }
                    canceled()
                });
                let statement = std::pin::pin!(async {
                    until(deadline).await;
                    timed_out()
                });
                let lock = std::pin::pin!(async {
                    until(lock_deadline).await;
                    SqlError::new("55P03", "canceling statement due to lock timeout")
                });
                match futures::future::select(requested, futures::future::select(statement, lock)).await {
                    futures::future::Either::Left((e, _)) => e,
                    futures::future::Either::Right((futures::future::Either::Left((e, _)), _)) => e,
                    futures::future::Either::Right((futures::future::Either::Right((e, _)), _)) => e,
                }
            });
            match futures::future::select(&mut ready, futures::future::select(timer, cancel)).await {
                futures::future::Either::Left(_) => return Ok(()),
                futures::future::Either::Right((futures::future::Either::Right((e, _)), _)) => {
                    give_up().await;
                    return Err(e);
                }
                futures::future::Either::Right((futures::future::Either::Left(_), _)) => {}
            }
            let edges: Vec<(Owner, Owner)> =
                mesh::run_on_all(|s| s.row_locks.edges()).await.map_err(gone)?.into_iter().flatten().collect();
            let cycle = rowlock::cycle_members(self.id, &edges);
            // The youngest transaction of the cycle gives way; the others keep waiting.
            if cycle.iter().max() == Some(&self.id) {
                give_up().await;
                return Err(SqlError::new("40P01", "deadlock detected").detail(format!(
                    "Transaction {me} waits for a row locked by transaction {holder}, which waits for this \
                     transaction."
                )));
            }
        }
    }

    /// `SAVEPOINT name`.
    pub fn savepoint(&mut self, name: &str) {
        self.savepoints.push(Savepoint {
            name: name.to_string(),
            writes: self.writes.clone(),
            changed: self.changed,
            created: self.created.len(),
        });
    }

    fn find_savepoint(&self, name: &str) -> Result<usize> {
        self.savepoints
            .iter()
            .rposition(|s| s.name == name)
            .ok_or_else(|| SqlError::new("3B001", format!("savepoint \"{name}\" does not exist")))
    }

    /// `ROLLBACK TO SAVEPOINT name`: the write set as it was at the savepoint (which stays);
    /// the objects created since are dropped. Row locks taken since are kept until the
    /// transaction ends.
    pub async fn rollback_to(&mut self, name: &str) -> Result<()> {
        let i = self.find_savepoint(name)?;
        self.savepoints.truncate(i + 1);
        self.cursors.borrow_mut().rolled_back_to(self.id, i);
        let sp = &self.savepoints[i];
        self.writes = sp.writes.clone();
        self.changed = sp.changed;
        let since = self.created.split_off(sp.created.min(self.created.len()));
        crate::exec::undo::undo(since, self.id, false).await;
        crate::exec::ddl_journal::forget(self.id, &mut self.journal, self.created.len()).await;
        self.follow_put_back();
        Ok(())
    }

    /// `RELEASE SAVEPOINT name`: forgets it and every later one.
    pub fn release(&mut self, name: &str) -> Result<()> {
        let i = self.find_savepoint(name)?;
        self.savepoints.truncate(i);
        Ok(())
    }

    /// Whether the transaction has changed rows of table `name`.
    pub fn wrote(&self, name: &str) -> bool {
        self.writes.contains_key(name)
    }

    /// Ends the transaction without applying anything.
    pub async fn rollback(mut self) {
        self.cursors.borrow_mut().transaction_ended(self.id, false);
        crate::enums::transaction_ended(self.id);
        self.release_locks().await;
        self.end_snapshot().await;
        crate::exec::undo::undo(std::mem::take(&mut self.created), self.id, false).await;
        crate::exec::ddl_journal::forget(self.id, &mut self.journal, 0).await;
        self.release_tables().await;
    }

    /// The tables its DDL held are free for other writers again.
    async fn release_tables(&mut self) {
        if std::mem::take(&mut self.holds_tables) {
            crate::exec::release_altering(self.id).await;
        }
    }

    /// Gives the snapshot up; if it was the oldest, the shards drop the row versions no other
    /// snapshot needs (they also do at their next commit of each table).
    async fn end_snapshot(&mut self) {
        let Some(snapshot) = self.snapshot.take() else { return };
        let before = mvcc::horizon();
        drop(snapshot);
        if mvcc::horizon() > before {
            let _ = mesh::run_on_all(|s| s.tables.forget_versions()).await;
        }
    }

    async fn release_locks(&mut self) {
        let me = self.id;
        for shard in std::mem::take(&mut self.lock_shards) {
            let _ = mesh::post(shard, move |s| s.row_locks.release_all(me)).await;
        }
    }

    /// Applies the write set (durably, per `--fsync`) and ends the transaction.
    pub async fn commit(mut self) -> Result<()> {
        // Deferred foreign-key checks; one failing rolls the transaction back.
        if let Err(e) = crate::foreign_key::check_deferred(&mut self).await {
            self.rollback().await;
            return Err(e);
        }
        // The DDL journal's rows of the block go in the same step as its changes.
        crate::exec::ddl_journal::commit(&mut self)?;
        let (_, n) = state::local();
        let mut per_shard: BTreeMap<ShardId, Vec<Change>> = BTreeMap::new();
        for (name, w) in std::mem::take(&mut self.writes) {
            let mut parts: BTreeMap<ShardId, Vec<KeyedRow>> = BTreeMap::new();
            for (k, r) in w.rows {
                parts.entry(shard_of(&k, n)).or_default().push((k, r));
            }
            for (shard, rows) in parts {
                per_shard.entry(shard).or_default().push(Change { table: name.clone(), oid: w.def.oid, rows });
            }
        }
        let me = self.id;
        // SERIALIZABLE: a transaction that wrote something checks what it read
        // (`crate::serializable`); one that wrote nothing commits as it is.
        let check = match self.isolation {
            Isolation::Serializable if !per_shard.is_empty() => {
                Some(Check { at: self.read_at().unwrap_or(u64::MAX), reads: self.reads.borrow().per_shard(n) })
            }
            _ => None,
        };
        // `synchronous_commit = off`: a commit on one shard does not wait for its log record
        // to be synced (crate::settings).
        let synchronous = !self.settings.iter().any(|(k, v)| *k == "synchronous_commit" && v == "off");
        let r = match per_shard.len() {
            0 => Ok(()),
            1 => {
                let (shard, changes) = per_shard.into_iter().next().expect("one shard");
                match check {
                    Some(Check { at, mut reads }) => {
                        let here = reads.remove(&shard).unwrap_or_default();
                        // The shards it only read check first and keep its reads until it applied.
                        match check_elsewhere(me, at, reads).await {
                            Ok(checked) => {
                                let r = apply_alone(shard, me, changes, Some((at, here)), synchronous).await;
                                checked.forget().await;
                                r
                            }
                            Err(e) => Err(e),
                        }
                    }
                    None => apply_alone(shard, me, changes, None, synchronous).await,
                }
            }
            _ => apply_together(me, per_shard, &mut self.lock_shards, check).await,
        };
        // The tables its DROP TABLEs hid go now (their rows' changes were skipped above).
        let r = match r {
            Ok(()) => crate::exec::undo::commit_drops(&self.created).await,
            Err(e) => Err(e),
        };
        // The durable copies of what its DDL replaced are not needed any more (or, after a
        // failed commit, put back what a guarded statement changed).
        if r.is_ok() {
            crate::exec::ddl_journal::drop_copies(&mut self.journal).await;
        } else {
            crate::exec::ddl_journal::failed_commit(self.id, &mut self.journal).await;
        }
        self.release_locks().await;
        self.end_snapshot().await;
        self.release_tables().await;
        if r.is_ok() && self.session_pid != 0 {
            Box::pin(crate::temp_tables::at_commit(self.session_pid)).await;
        }
        // A DROP that committed takes its objects' comments with it.
        if r.is_ok() {
            Box::pin(crate::comment::sweep()).await;
        }
        self.cursors.borrow_mut().transaction_ended(self.id, r.is_ok());
        crate::enums::transaction_ended(self.id);
        r
    }

    /// Savepoints the transaction holds now (a cursor declared now closes on a ROLLBACK TO
    /// any of them).
    pub fn savepoint_count(&self) -> usize {
        self.savepoints.len()
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        // Dropped without COMMIT or ROLLBACK (after an error outside a block): rolled back.
        // After either, it declared nothing still open and this finds nothing.
        if let Ok(mut c) = self.cursors.try_borrow_mut() {
            c.transaction_ended(self.id, false);
        }
        crate::enums::transaction_ended(self.id);
        if self.lock_shards.is_empty() && !self.holds_tables {
            return;
        }
        let (me, shards, tables) = (self.id, std::mem::take(&mut self.lock_shards), self.holds_tables);
        rt::spawn(async move {
            for shard in shards {
                let _ = mesh::post(shard, move |s| s.row_locks.release_all(me)).await;
            }
            if tables {
                crate::exec::release_altering(me).await;
            }
        });
    }
}

/// One table's changes on one shard.
struct Change {
    table: String,
    oid: u32,
    rows: Vec<KeyedRow>,
}

impl Change {
    fn into_part(self) -> PartTable {
        PartTable { table: self.table, oid: self.oid, rows: self.rows }
    }

    fn from_part(p: PartTable) -> Change {
        Change { table: p.table, oid: p.oid, rows: p.rows }
    }
}

/// A SERIALIZABLE commit's check ([`crate::serializable`]): its snapshot, and what it read by
/// shard.
struct Check {
    at: u64,
    reads: BTreeMap<ShardId, Vec<TableReads>>,
}

/// What `changes` write, as [`serializable::conflicts`] takes it.
fn written(changes: &[Change]) -> Vec<serializable::Written<'_>> {
    changes
        .iter()
        .map(|c| serializable::Written {
            table: &c.table,
            oid: c.oid,
            keys: c.rows.iter().map(|(k, _)| k.as_slice()).collect(),
        })
        .collect()
}

/// Checks a SERIALIZABLE commit's reads on shards it does not write, each in one step that also
/// keeps them there as a commit in progress (until [`serializable::Registered::forget`]): the
/// shards checked, or 40001 (nothing kept).
async fn check_elsewhere(
    owner: Owner,
    at: u64,
    reads: BTreeMap<ShardId, Vec<TableReads>>,
) -> Result<serializable::Registered> {
    let checks = reads.into_iter().map(|(shard, reads)| async move {
        let r = mesh::run_on(shard, move |s| {
            if serializable::conflicts(s, owner, at, &reads, &[]) {
                return false;
            }
            serializable::register(owner, reads);
            true
        })
        .await;
        (shard, r)
    });
    let mut checked = serializable::Registered::new(owner);
    let mut err = None;
    for (shard, r) in futures::future::join_all(checks).await {
        match r {
            Ok(true) => checked.add([shard]),
            Ok(false) => {
                err.get_or_insert_with(serializable::failure);
            }
            Err(e) => {
                err.get_or_insert(gone(e));
            }
        }
    }
    match err {
        Some(e) => {
            checked.forget().await;
            Err(e)
        }
        None => Ok(checked),
    }
}

fn intent_of(changes: &[Change]) -> Intent {
    let mut i = Intent::default();
    for c in changes {
        for (k, _) in &c.rows {
            i.add_key(sql_db(c.oid), k, Mode::Exclusive);
        }
    }
    i.seal()
}

/// Applies `changes` on the shard: each put or delete logged, in one step; releases `owner`'s
/// row locks there. Rows of a table dropped (or dropped and created again) since are skipped.
/// A SERIALIZABLE commit's `check` (its snapshot and its reads here) runs in the same step: a
/// conflict applies nothing, releases the locks and fails with 40001.
fn apply_here(
    s: &mut orbit_shards::state::Shard,
    owner: Owner,
    changes: Vec<Change>,
    check: Option<&(u64, Vec<TableReads>)>,
) -> Result<Option<wal::Ticket>> {
    shard_tables::writable(s).map_err(io_error)?;
    if let Some((at, reads)) = check {
        if serializable::conflicts(s, owner, *at, reads, &written(&changes)) {
            s.row_locks.release_all(owner);
            return Err(serializable::failure());
        }
    }
    let mut ticket = None;
    // One commit timestamp for the whole step: a snapshot sees all of it or none.
    let ts = mvcc::tick();
    for c in changes {
        if s.tables.get(&c.table).is_none_or(|t| t.def.oid != c.oid) {
            continue;
        }
        let (puts, dels): (Vec<_>, Vec<_>) = c.rows.into_iter().partition(|(_, r)| r.is_some());
        let keys: Vec<Vec<u8>> = dels.into_iter().map(|(k, _)| k).collect();
        if !keys.is_empty() {
            let (_, t) = shard_tables::delete(s, &c.table, &keys, Some(ts));
            ticket = t.or(ticket);
        }
        let puts: Vec<(Vec<u8>, Row)> = puts.into_iter().filter_map(|(k, r)| r.map(|r| (k, r))).collect();
        if !puts.is_empty() {
            match shard_tables::put(s, &c.table, puts, Some(ts)) {
                Ok(t) => ticket = t.or(ticket),
                Err(shard_tables::RowError::Unwritable(e)) => return Err(io_error(e)),
                Err(_) => {}
            }
        }
    }
    s.row_locks.release_all(owner);
    Ok(ticket)
}

/// A commit on one shard: one step there, unless a cross-shard transaction holds one of its
/// rows, in which case it queues behind it. `synchronous`: the reply waits until the log record
/// is durable (under `--fsync always`; `synchronous_commit = off` does not).
async fn apply_alone(
    shard: ShardId,
    owner: Owner,
    changes: Vec<Change>,
    check: Option<(u64, Vec<TableReads>)>,
    synchronous: bool,
) -> Result<()> {
    let r = mesh::run_on(shard, move |s| {
        let blocked = {
            let keys = changes.iter().flat_map(|c| c.rows.iter().map(move |(k, _)| (sql_db(c.oid), k.as_slice())));
            s.tx.blocks(true, keys)
        };
        if blocked {
            return Err((changes, check));
        }
        Ok(apply_here(s, owner, changes, check.as_ref()))
    })
    .await
    .map_err(gone)?;
    let ticket = match r {
        Ok(r) => r?,
        Err((changes, check)) => {
            // Only a commit that must queue needs its intent (a big COPY's is large).
            let intent = intent_of(&changes);
            let held = orbit_shards::tx::acquire(vec![(shard, intent)]).await.map_err(gone)?;
            let r = mesh::run_on(shard, move |s| apply_here(s, owner, changes, check.as_ref())).await.map_err(gone);
            held.release().await;
            r??
        }
    };
    if !synchronous {
        // Logged and applied; the shard's committer writes and syncs it in its next round.
        return Ok(());
    }
    wal::wait_all(ticket.into_iter().collect::<Vec<_>>()).await.map_err(io_error)
}

/// A commit on several shards: two-phase commit, so that a crash keeps all parts or none
/// ([`orbit_shards::twophase`], docs/DURABILITY.md):
///
/// 1. every participant logs its part as `TxnPrepare`, unapplied; all must be durable;
/// 2. the coordinator shard (this one if it takes part, else the first participant) logs the
///    `TxnCommit` decision, durably: the commit point;
/// 3. under exclusive intents on its rows everywhere, so that no reader sees some shards' part
///    without the others', every participant applies its part ([`apply_here`]: its rows
///    logged, its row locks released) and logs `TxnResolve`; then the intents are released.
///
/// Phases 1 and 2 change nothing readers see, and the row locks keep writers off the rows, so
/// the intents are held only for the in-memory apply, as before two-phase commit: the syncs
/// do not hold up readers.
///
/// A SERIALIZABLE commit (`check`) first checks its reads on the shards it only read, then each
/// participant checks its reads and its writes in the step that prepares its part; all keep its
/// reads as a commit in progress until every part has applied ([`crate::serializable`]).
///
/// A failure before the decision drops every prepared part (the transaction fails). A decision
/// logged but not durable (the log failed) is in doubt: it reaches the disk with the log's
/// retry, so the parts stay prepared and their rows locked (`lock_shards` is emptied so that
/// the transaction's end releases nothing) until then, and are applied in the background.
async fn apply_together(
    owner: Owner,
    per_shard: BTreeMap<ShardId, Vec<Change>>,
    lock_shards: &mut BTreeSet<ShardId>,
    check: Option<Check>,
) -> Result<()> {
    let intents: Vec<(ShardId, Intent)> = per_shard.iter().map(|(s, c)| (*s, intent_of(c))).collect();
    let (me, _) = state::local();
    let shards: Vec<ShardId> = per_shard.keys().copied().collect();
    let (at, mut reads) = match check {
        Some(c) => (Some(c.at), c.reads),
        None => (None, BTreeMap::new()),
    };
    // The shards that keep its reads until it has applied everywhere (SERIALIZABLE).
    let mut registered = serializable::Registered::new(owner);
    if let Some(at) = at {
        let only_read: Vec<ShardId> = reads.keys().filter(|s| !per_shard.contains_key(s)).copied().collect();
        let only_read = only_read.into_iter().filter_map(|s| reads.remove(&s).map(|r| (s, r))).collect();
        registered = check_elsewhere(owner, at, only_read).await?;
        registered.add(shards.iter().copied());
    }
    let coordinator = if per_shard.contains_key(&me) { me } else { shards[0] };
    // The owner id doubles as the transaction id: unique, and above every id the recovered
    // logs name (`tx::note_id_seen`).
    let txid = owner;
    let prepares = per_shard.into_iter().map(|(shard, changes)| {
        let check = at.map(|at| (at, reads.remove(&shard).unwrap_or_default()));
        let prepare = move |s: &mut orbit_shards::state::Shard| {
            if let Some((at, reads)) = check {
                if serializable::conflicts(s, owner, at, &reads, &written(&changes)) {
                    s.row_locks.release_all(owner);
                    return Err(serializable::failure());
                }
                serializable::register(owner, reads);
            }
            let part = PreparedPart {
                coordinator: coordinator as u32,
                tables: changes.into_iter().map(Change::into_part).collect(),
            };
            twophase::prepare(s, txid, part).map_err(io_error)
        };
        async move { (shard, mesh::run_on(shard, prepare).await) }
    });
    let mut prepared = Vec::new();
    let mut tickets = Vec::new();
    let mut err = None;
    for (shard, r) in futures::future::join_all(prepares).await {
        match r.map_err(gone).and_then(|r| r) {
            Ok(seq) => {
                prepared.push(shard);
                tickets.push(wal::Ticket { shard, seq });
            }
            Err(e) => {
                err.get_or_insert(e);
            }
        }
    }
    if err.is_none() {
        // Durable as the policy makes anything durable (`always`: synced; otherwise written).
        err = wal::wait_all(tickets).await.map_err(io_error).err();
    }
    let decision = match err {
        Some(e) => Err(e),
        None => mesh::run_on(coordinator, move |s| twophase::decide(s, txid))
            .await
            .map_err(gone)
            .and_then(|r| r.map_err(io_error)),
    };
    let seq = match decision {
        Ok(seq) => seq,
        Err(e) => {
            for shard in prepared {
                let _ = mesh::run_on(shard, move |s| twophase::drop_part(s, txid)).await;
            }
            registered.forget().await;
            return Err(e);
        }
    };
    let decision = wal::Ticket { shard: coordinator, seq };
    if let Err(e) = wal::wait(decision).await {
        lock_shards.clear();
        rt::spawn(async move {
            while wal::wait(decision).await.is_err() {
                rt::sleep(Duration::from_secs(1)).await;
            }
            finish_together(owner, coordinator, shards, intents).await;
            registered.forget().await;
        });
        return Err(io_error(format!("{e} (the transaction commits once the log can be written)")));
    }
    finish_together(owner, coordinator, shards, intents).await;
    registered.forget().await;
    Ok(())
}

/// Phase 3 of [`apply_together`]: takes the intents, applies every participant's prepared part,
/// retrying a shard whose log refuses writes every second (its rows stay locked and under the
/// intents meanwhile); then releases the intents, and once every `TxnResolve` is durable lets
/// the coordinator forget its decision.
async fn finish_together(owner: Owner, coordinator: ShardId, shards: Vec<ShardId>, intents: Vec<(ShardId, Intent)>) {
    let txid = owner;
    let Ok(held) = orbit_shards::tx::acquire(intents).await else {
        // Shutting down: recovery settles the parts from the decision.
        return;
    };
    let mut pending = shards;
    let mut resolved = Vec::new();
    loop {
        let applies = pending
            .iter()
            .map(|&shard| async move { (shard, mesh::run_on(shard, move |s| apply_prepared(s, owner, txid)).await) });
        let mut again = Vec::new();
        for (shard, r) in futures::future::join_all(applies).await {
            match r {
                Ok(Ok(seq)) => resolved.push(wal::Ticket { shard, seq }),
                Ok(Err(_)) => again.push(shard),
                // Shutting down: recovery settles the part from the decision.
                Err(_) => {}
            }
        }
        if again.is_empty() {
            break;
        }
        pending = again;
        rt::sleep(Duration::from_secs(1)).await;
    }
    held.release().await;
    rt::spawn(async move {
        for t in resolved {
            if wal::wait_settled(t).await.is_err() {
                // Kept: a decision too many only costs its few bytes in snapshots.
                return;
            }
        }
        let _ = mesh::post(coordinator, move |s| twophase::forget(s, txid)).await;
    });
}

/// Applies this shard's prepared part of `txid` and logs its `TxnResolve`, in one step; Err
/// (the part stays prepared) while the log refuses writes.
fn apply_prepared(s: &mut orbit_shards::state::Shard, owner: Owner, txid: u64) -> std::result::Result<u64, String> {
    shard_tables::writable(s)?;
    let Some(part) = s.tables.in_doubt.resolve(txid) else { return Ok(0) };
    let changes = part.tables.into_iter().map(Change::from_part).collect();
    // apply_here fails only when the log refuses writes, checked in this same step.
    let applied = apply_here(s, owner, changes, None);
    debug_assert!(applied.is_ok());
    Ok(s.wal.append_txn_resolve(txid, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_engine::table::{ColumnDef, SqlType};

    #[test]
    fn the_write_set_is_bounded_by_its_estimated_memory() {
        let def = Arc::new(TableDef {
            name: "t".into(),
            columns: vec![ColumnDef::new("id", SqlType::Int4), ColumnDef::new("v", SqlType::Text)],
            pk: vec![0],
            ..TableDef::default_empty()
        });
        let mut t = Txn::new();
        t.max_bytes = 1 << 20;
        let row = |i: i32| vec![Datum::Int4(i), Datum::Text("x".repeat(1000))];
        // Rewriting one row again and again does not add up.
        for _ in 0..10_000 {
            t.write(&def, def.key_of(&row(1)), Some(row(1))).unwrap();
        }
        let one = t.changed;
        assert!(one > 1000 && one < 2000, "{one}");
        let mut i = 2;
        let err = loop {
            match t.write(&def, def.key_of(&row(i)), Some(row(i))) {
                Ok(()) => i += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err.code, code::PROGRAM_LIMIT_EXCEEDED);
        assert!((i as usize) < (1 << 20) / 1000 + 2, "{i} rows of 1000 bytes fit in 1 MB");
        // Deleting rows it had written gives their memory back.
        let before = t.changed;
        t.write(&def, def.key_of(&row(1)), None).unwrap();
        assert!(t.changed < before);
    }
}
