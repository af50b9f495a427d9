//! Advisory locks (<https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-ADVISORY-LOCKS>):
//! `pg_advisory_lock`, `pg_try_advisory_lock`, `pg_advisory_unlock`, `pg_advisory_unlock_all`,
//! their `_shared` forms and the transaction-level `pg_advisory_xact_lock[_shared]` /
//! `pg_try_advisory_xact_lock[_shared]`, on a bigint key or a pair of integers (two separate key
//! spaces, as in PostgreSQL).
//!
//! Locks are the server's, not a shard's: sessions on every shard's thread contend for them, so
//! the table is one process-wide map behind a mutex (advisory locks are taken by migrations and
//! job schedulers, a few per transaction: not the data path). A session holds a lock per mode
//! with a count (taking it again stacks, as PostgreSQL's do); a session's own holds never
//! conflict with its requests. Session-level holds last until unlocked or the session ends
//! ([`release_session`], from the connection's end); transaction-level ones are
//! [`XactHold`]s in the transaction, released when it ends.
//!
//! A call is replaced by its value before the row is evaluated, as nextval is: in SELECT
//! without FROM. A blocking call waits on the shard's timer (1 to 10 ms steps), ended by a
//! CancelRequest, `statement_timeout` (57014) or `lock_timeout` (55P03). Not done: deadlock
//! detection between advisory locks (PostgreSQL's 40P01; here the wait lasts until one of
//! the timeouts), pg_locks. At most 65,536 locks are held server-wide (53200 past that, as
//! PostgreSQL's shared lock table is bounded).

use crate::error::{Result, SqlError};
use crate::expr::{self, Ctx, Expr};
use crate::scalar::Builtin;
use crate::txn::Txn;
use orbit_engine::table::{Datum, SqlType};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// What a call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Waits until the lock is granted (void).
    Lock,
    /// Takes it if free now (bool).
    TryLock,
    /// Releases one session-level hold (bool; WARNING when none is held).
    Unlock,
    /// Releases every session-level hold of the session (void).
    UnlockAll,
}

/// One advisory lock function: its operation, ShareLock (`_shared`) or ExclusiveLock, and
/// whether it is transaction-level (`_xact_`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvisoryFn {
    pub op: Op,
    pub shared: bool,
    pub xact: bool,
}

/// A lock's key: the bigint, or the two integers (key space 2).
type Key = (i64, u8);

#[derive(Default)]
struct Hold {
    pid: i32,
    shared: bool,
    session: u32,
    xact: u32,
}

static LOCKS: LazyLock<Mutex<HashMap<Key, Vec<Hold>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn table() -> std::sync::MutexGuard<'static, HashMap<Key, Vec<Hold>>> {
    LOCKS.lock().unwrap_or_else(|e| e.into_inner())
}

/// The most locks held at once, server-wide (PostgreSQL's shared lock table is bounded too:
/// max_locks_per_transaction × max_connections, 6,400 by default).
const MAX_LOCKS: usize = 65_536;

/// Takes the lock for `pid` if no other session holds it in a conflicting mode; 53200 when the
/// table is full.
fn try_take(key: Key, pid: i32, shared: bool, xact: bool) -> Result<bool> {
    let mut t = table();
    if t.len() >= MAX_LOCKS && !t.contains_key(&key) {
        return Err(SqlError::new("53200", "out of shared memory")
            .hint("You might need to increase max_locks_per_transaction."));
    }
    let holds = t.entry(key).or_default();
    // Another session's hold conflicts unless both are shared; the session's own never does.
    let conflict = holds.iter().any(|h| h.pid != pid && (!shared || !h.shared));
    if conflict {
        if holds.is_empty() {
            t.remove(&key);
        }
        return Ok(false);
    }
    let h = match holds.iter_mut().position(|h| h.pid == pid && h.shared == shared) {
        Some(i) => &mut holds[i],
        None => {
            holds.push(Hold { pid, shared, ..Hold::default() });
            holds.last_mut().expect("pushed")
        }
    };
    if xact {
        h.xact += 1;
    } else {
        h.session += 1;
    }
    Ok(true)
}

/// Gives back one hold; false when `pid` had none of that level and mode.
fn give_back(key: Key, pid: i32, shared: bool, xact: bool) -> bool {
    let mut t = table();
    let Some(holds) = t.get_mut(&key) else { return false };
    let Some(i) = holds.iter().position(|h| h.pid == pid && h.shared == shared) else { return false };
    let count = if xact { &mut holds[i].xact } else { &mut holds[i].session };
    if *count == 0 {
        return false;
    }
    *count -= 1;
    if holds[i].session == 0 && holds[i].xact == 0 {
        holds.remove(i);
    }
    if holds.is_empty() {
        t.remove(&key);
    }
    true
}

/// Releases every session-level hold of `pid` (pg_advisory_unlock_all, and the session's end).
pub fn release_session(pid: i32) {
    let mut t = table();
    t.retain(|_, holds| {
        for h in holds.iter_mut().filter(|h| h.pid == pid) {
            h.session = 0;
        }
        holds.retain(|h| h.session > 0 || h.xact > 0);
        !holds.is_empty()
    });
}

/// A transaction-level hold, released when the transaction that took it ends (dropped).
#[derive(Debug)]
pub struct XactHold {
    key: Key,
    pid: i32,
    shared: bool,
}

impl Drop for XactHold {
    fn drop(&mut self) {
        give_back(self.key, self.pid, self.shared, true);
    }
}

/// Whether any expression calls an advisory lock function.
pub fn any_uses(exprs: &[Expr]) -> bool {
    let mut found = false;
    for e in exprs {
        e.visit(&mut |x| found |= matches!(x, Expr::Call(Builtin::Advisory(_), ..)));
    }
    found
}

/// The error where a call cannot be made (rows evaluated on the shards).
pub fn not_here() -> SqlError {
    SqlError::unsupported("advisory lock functions are supported in SELECT without FROM")
}

fn key_of(args: &[Datum]) -> Option<Key> {
    match args {
        [k] => Some((k.as_i64()?, 1)),
        [a, b] => Some(((a.as_i64()? << 32) | (b.as_i64()? as u32 as i64), 2)),
        _ => None,
    }
}

fn mode_name(shared: bool) -> &'static str {
    if shared {
        "ShareLock"
    } else {
        "ExclusiveLock"
    }
}

/// Waits for the lock: the shard's timer between tries, until granted or ended by a cancel,
/// `statement_timeout` or `lock_timeout`.
async fn wait_for(txn: &Txn, key: Key, pid: i32, shared: bool, xact: bool) -> Result<()> {
    let lock_deadline = txn.cancel.as_ref().and_then(|c| c.lock_timeout.get()).map(|t| Instant::now() + t);
    let mut step = Duration::from_millis(1);
    loop {
        if try_take(key, pid, shared, xact)? {
            return Ok(());
        }
        if lock_deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(SqlError::new("55P03", "canceling statement due to lock timeout"));
        }
        txn.sleep(Some(step)).await?;
        step = (step * 2).min(Duration::from_millis(10));
    }
}

/// Replaces every advisory lock call of `exprs` by its value, one call at a time in the order
/// the expressions are walked, taking and releasing the locks; returns the WARNINGs of unlocks
/// of locks not held.
pub async fn resolve(txn: &Txn, exprs: &mut [Expr], params: &[Datum]) -> Result<Vec<SqlError>> {
    let mut notices = Vec::new();
    loop {
        // The first call left, with its arguments' values (the binder adds the session's pid
        // last).
        let mut next: Option<(AdvisoryFn, Vec<Datum>)> = None;
        for e in exprs.iter_mut() {
            e.try_map_calls(&mut |f, args| {
                if let (Builtin::Advisory(af), None) = (f, &next) {
                    let cx = Ctx { row: &[], params, aggs: &[] };
                    next = Some((af, args.iter().map(|a| expr::eval(a, &cx)).collect::<Result<Vec<_>>>()?));
                }
                Ok(None)
            })?;
        }
        let Some((af, mut vals)) = next else { return Ok(notices) };
        let pid = vals.pop().and_then(|d| d.as_i64()).unwrap_or_default() as i32;
        let ty = if matches!(af.op, Op::Lock | Op::UnlockAll) { SqlType::Void } else { SqlType::Bool };
        let void = || Datum::Text(String::new());
        let value = match key_of(&vals) {
            // Strict: a NULL key is a NULL result, nothing locked.
            _ if vals.iter().any(Datum::is_null) => Datum::Null,
            _ if af.op == Op::UnlockAll => {
                release_session(pid);
                void()
            }
            None => return Err(SqlError::internal("advisory lock key")),
            Some(k) => match af.op {
                Op::Lock => {
                    wait_for(txn, k, pid, af.shared, af.xact).await?;
                    if af.xact {
                        txn.advisory.borrow_mut().push(XactHold { key: k, pid, shared: af.shared });
                    }
                    void()
                }
                Op::TryLock => {
                    let got = try_take(k, pid, af.shared, af.xact)?;
                    if got && af.xact {
                        txn.advisory.borrow_mut().push(XactHold { key: k, pid, shared: af.shared });
                    }
                    Datum::Bool(got)
                }
                _ => {
                    let had = give_back(k, pid, af.shared, false);
                    if !had {
                        notices.push(SqlError::new(
                            "01000",
                            format!("you don't own a lock of type {}", mode_name(af.shared)),
                        ));
                    }
                    Datum::Bool(had)
                }
            },
        };
        // The same first call, now replaced by its value.
        let mut value = Some(value);
        for e in exprs.iter_mut() {
            e.try_map_calls(&mut |f, _| {
                Ok(match (f, value.take()) {
                    (Builtin::Advisory(_), Some(v)) => Some(Expr::Const(v, ty)),
                    (_, v) => {
                        value = v;
                        None
                    }
                })
            })?;
        }
    }
}
