//! SQL cursors: DECLARE, FETCH, MOVE and CLOSE
//! (<https://www.postgresql.org/docs/15/sql-declare.html>, sql-fetch.html, sql-move.html,
//! sql-close.html) and the `pg_cursors` view. Django's `QuerySet.iterator()`, psycopg's named
//! cursors and SQLAlchemy's `yield_per` read large results through them.
//!
//! A cursor's query runs to its end when it is declared and its rows are kept with the
//! session, so every FETCH reads the snapshot DECLARE saw (as PostgreSQL's does) and a WITH
//! HOLD cursor needs nothing more at COMMIT. What differs from PostgreSQL: an error the query
//! would raise at some row comes from DECLARE rather than from the FETCH that reaches it;
//! FOR UPDATE locks every row at DECLARE; and a cursor declared without SCROLL or NO SCROLL
//! can always move backward (PostgreSQL allows it only where the plan can scan backward).
//! The rows a session's cursors hold are bounded together by `orbit.query_memory_limit`
//! (53200 past it).
//!
//! Positions follow PostgreSQL's portal code (`PortalRunFetch`/`PortalRunSelect`): a cursor
//! sits before its first row, on a row, or after its last; FETCH's counts, the rows a MOVE
//! passes and the "cursor can only scan forward" errors of a NO SCROLL cursor are its.
//!
//! `UPDATE/DELETE ... WHERE CURRENT OF` (sql-update, sql-delete; PostgreSQL's execCurrent.c):
//! a cursor whose query is a plain scan of one table keeps each row's key beside it
//! ([`Updatable::Scan`]), so the statement changes the row with the key the cursor is on,
//! found on its one shard as it is now (deleted: no row; updated, also through the cursor with
//! a new key: the latest version, as PostgreSQL follows the update chain).
//!
//! The connection owns the registry; each of its transactions holds a handle
//! ([`crate::Txn::cursors`]) and tells it when it ends: COMMIT closes the cursors it declared
//! without HOLD and keeps the others, ROLLBACK (or ROLLBACK TO a savepoint older than the
//! DECLARE) closes every cursor it declared.

use crate::bind::OutputColumn;
use crate::error::{code, Result, SqlError};
use orbit_engine::table::{Datum, Row, SqlType, TableDef};
use orbit_shards::rowlock::Owner;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// pg_cursors' OID in PostgreSQL 15.
pub const VIEW_OID: u32 = 12077;

/// FETCH ALL's count.
pub const ALL: i64 = i64::MAX;

/// Where a FETCH or MOVE goes (PostgreSQL's FetchDirection with its count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchOp {
    /// FORWARD n, NEXT (1), ALL ([`ALL`]), a bare count.
    Forward(i64),
    /// BACKWARD n, PRIOR (1).
    Backward(i64),
    /// ABSOLUTE n, FIRST (1), LAST (-1).
    Absolute(i64),
    /// RELATIVE n.
    Relative(i64),
}

/// DECLARE's options.
#[derive(Debug, Clone)]
pub struct Declare {
    pub name: String,
    /// Some(true): SCROLL; Some(false): NO SCROLL; None: neither (taken as SCROLL).
    pub scroll: Option<bool>,
    pub hold: bool,
    pub binary: bool,
    /// The query string that declared it (pg_cursors.statement).
    pub statement: String,
    pub columns: Vec<OutputColumn>,
    /// What `WHERE CURRENT OF` may change through it.
    pub updatable: Updatable,
}

/// What `UPDATE/DELETE ... WHERE CURRENT OF` may change through a cursor (PostgreSQL's
/// execCurrentOf: a FOR UPDATE/SHARE reference to the table, or else a scan of it under
/// nothing but a Limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updatable {
    /// A plain scan of one table (filtered, limited; ORDER BY only with FOR UPDATE/SHARE): each
    /// row's primary key (or row id) values follow its output values, `hidden` of them, which
    /// the cursor keeps beside the row, encoded.
    Scan { table: String, oid: u32, locked: bool, hidden: usize },
    /// Any other query. `locked`: it has FOR UPDATE/SHARE (joins, subqueries: PostgreSQL can
    /// change the rows of each table it locks, Orbit does not keep their keys).
    No { locked: bool },
}

/// One open cursor.
#[derive(Debug)]
pub struct Cursor {
    pub columns: Vec<OutputColumn>,
    pub binary: bool,
    hold: bool,
    no_scroll: bool,
    statement: String,
    created_us: i64,
    rows: Vec<Row>,
    /// Per row, its table's encoded key ([`Updatable::Scan`]; empty otherwise).
    keys: Vec<Vec<u8>>,
    updatable: Updatable,
    /// 0: before the first row; 1..=n: on that row; n + 1: after the last.
    at: usize,
    bytes: usize,
    /// The transaction that declared it, while that is open, and how many savepoints it had
    /// then (a ROLLBACK TO an older one closes it).
    declared_in: Option<(Owner, usize)>,
}

/// A session's cursors.
#[derive(Debug, Default)]
pub struct Cursors {
    open: HashMap<String, Cursor>,
    /// Bytes their rows hold, together.
    bytes: usize,
}

/// The session's cursors, shared by its transactions.
pub type Session = Rc<RefCell<Cursors>>;

fn missing(name: &str) -> SqlError {
    SqlError::new(code::INVALID_CURSOR_NAME, format!("cursor \"{name}\" does not exist"))
}

/// A table's name as PostgreSQL's messages print it (without its schema).
fn relname(t: &TableDef) -> &str {
    crate::schema::relname(&t.name)
}

fn forward_only() -> SqlError {
    SqlError::new("55000", "cursor can only scan forward")
        .hint("Declare it with SCROLL option to enable backward scan.")
}

impl Cursors {
    /// Whether a cursor of this name is open.
    pub fn contains(&self, name: &str) -> bool {
        self.open.contains_key(name)
    }

    /// The open cursor of this name.
    pub fn get(&self, name: &str) -> Option<&Cursor> {
        self.open.get(name)
    }

    /// Opens cursor `d.name` over `rows`, declared by transaction `txn` (with `savepoints`
    /// savepoints) under a bound of `limit` bytes for all the session's cursors.
    pub fn declare(
        &mut self,
        d: &Declare,
        mut rows: Vec<Row>,
        txn: Owner,
        savepoints: usize,
        limit: usize,
    ) -> Result<()> {
        if self.open.contains_key(&d.name) {
            return Err(SqlError::new("42P03", format!("cursor \"{}\" already exists", d.name)));
        }
        // The hidden key values the query added after the output columns.
        let keys: Vec<Vec<u8>> = match d.updatable {
            Updatable::Scan { hidden, .. } => rows
                .iter_mut()
                .map(|r| {
                    let at = r.len().saturating_sub(hidden);
                    orbit_engine::table::key::encode(r.drain(at..).collect::<Vec<_>>().iter())
                })
                .collect(),
            Updatable::No { .. } => Vec::new(),
        };
        let bytes: usize = rows.iter().map(|r| crate::memory::row_bytes(r)).sum::<usize>()
            + keys.iter().map(|k| k.len() + std::mem::size_of::<Vec<u8>>()).sum::<usize>();
        if self.bytes + bytes > limit {
            return Err(crate::memory::out_of_memory("cursor rows", bytes, self.bytes, limit));
        }
        self.bytes += bytes;
        self.open.insert(
            d.name.clone(),
            Cursor {
                columns: d.columns.clone(),
                binary: d.binary,
                hold: d.hold,
                no_scroll: d.scroll == Some(false),
                statement: d.statement.clone(),
                created_us: crate::datetime::now_us(),
                rows,
                keys,
                updatable: d.updatable.clone(),
                at: 0,
                bytes,
                declared_in: Some((txn, savepoints)),
            },
        );
        Ok(())
    }

    /// FETCH (`rows` Some: the rows it returns are pushed there) or MOVE (None) on cursor
    /// `name`; the count for the command tag.
    pub fn fetch(&mut self, name: &str, op: FetchOp, rows: Option<&mut Vec<Row>>) -> Result<u64> {
        let c = self.open.get_mut(name).ok_or_else(|| missing(name))?;
        c.run_fetch(op, rows)
    }

    /// `WHERE CURRENT OF name` in an UPDATE or DELETE of `table`: the encoded key of the row
    /// the cursor is on, and its position, with execCurrentOf's errors in its order.
    pub fn current_of(&self, name: &str, table: &TableDef) -> Result<(Vec<u8>, usize)> {
        let c = self.open.get(name).ok_or_else(|| missing(name))?;
        let not_updatable = || {
            SqlError::new(
                code::INVALID_CURSOR_STATE,
                format!("cursor \"{name}\" is not a simply updatable scan of table \"{}\"", relname(table)),
            )
        };
        let no_reference = || {
            SqlError::new(
                code::INVALID_CURSOR_STATE,
                format!("cursor \"{name}\" does not have a FOR UPDATE/SHARE reference to table \"{}\"", relname(table)),
            )
        };
        if c.declared_in.is_none() {
            return Err(SqlError::new(
                code::INVALID_CURSOR_STATE,
                format!("cursor \"{name}\" is held from a previous transaction"),
            ));
        }
        match &c.updatable {
            Updatable::Scan { oid, .. } if *oid == table.oid => {}
            Updatable::Scan { locked: true, .. } => return Err(no_reference()),
            Updatable::Scan { locked: false, .. } | Updatable::No { locked: false } => return Err(not_updatable()),
            Updatable::No { locked: true } => {
                return Err(SqlError::unsupported(format!(
                    "WHERE CURRENT OF cursor \"{name}\" is not supported: only a cursor over one table, read without joins or subqueries, keeps its rows' keys"
                )))
            }
        }
        if c.at_start() || c.at_end() {
            return Err(SqlError::new(
                code::INVALID_CURSOR_STATE,
                format!("cursor \"{name}\" is not positioned on a row"),
            ));
        }
        Ok((c.keys[c.at - 1].clone(), c.at))
    }

    /// An UPDATE through cursor `name` on row `at` moved that row to key `to` (its primary key
    /// changed): later `WHERE CURRENT OF` finds it there, as PostgreSQL follows the row's
    /// update chain.
    pub fn moved(&mut self, name: &str, at: usize, to: Vec<u8>) {
        if let Some(c) = self.open.get_mut(name) {
            if let Some(k) = c.keys.get_mut(at - 1) {
                let grown = to.len().saturating_sub(k.len());
                c.bytes += grown;
                self.bytes += grown;
                *k = to;
            }
        }
    }

    /// CLOSE `name` (None: CLOSE ALL).
    pub fn close(&mut self, name: Option<&str>) -> Result<()> {
        match name {
            None => {
                self.open.clear();
                self.bytes = 0;
            }
            Some(n) => {
                let c = self.open.remove(n).ok_or_else(|| missing(n))?;
                self.bytes -= c.bytes;
            }
        }
        Ok(())
    }

    /// Transaction `txn` ended: committed, its cursors WITH HOLD stay and the others close;
    /// rolled back, all it declared close.
    pub fn transaction_ended(&mut self, txn: Owner, committed: bool) {
        self.close_where(|c| match c.declared_in {
            Some((t, _)) if t == txn => !(committed && c.hold),
            _ => false,
        });
        for c in self.open.values_mut() {
            if c.declared_in.is_some_and(|(t, _)| t == txn) {
                c.declared_in = None;
            }
        }
    }

    /// Transaction `txn` rolled back to a savepoint it had made when it had `kept` others:
    /// the cursors it declared since then close.
    pub fn rolled_back_to(&mut self, txn: Owner, kept: usize) {
        self.close_where(|c| matches!(c.declared_in, Some((t, n)) if t == txn && n > kept));
    }

    fn close_where(&mut self, close: impl Fn(&Cursor) -> bool) {
        let names: Vec<String> = self.open.iter().filter(|(_, c)| close(c)).map(|(n, _)| n.clone()).collect();
        for n in names {
            if let Some(c) = self.open.remove(&n) {
                self.bytes -= c.bytes;
            }
        }
    }
}

impl Cursor {
    fn n(&self) -> usize {
        self.rows.len()
    }

    fn at_start(&self) -> bool {
        self.at == 0
    }

    fn at_end(&self) -> bool {
        self.at == self.n() + 1
    }

    /// PostgreSQL's portalPos: rows between the start and the position.
    fn portal_pos(&self) -> i64 {
        self.at.min(self.n()) as i64
    }

    /// PortalRunSelect: up to `count` rows ([`ALL`]: all) forward or backward from the
    /// position, pushed to `dest`; the rows passed.
    fn run_select(&mut self, forward: bool, count: i64, dest: Option<&mut Vec<Row>>) -> Result<u64> {
        let n = self.n();
        if forward {
            if self.at_end() || count <= 0 {
                return Ok(0);
            }
            let first = self.at + 1;
            let want = usize::try_from(count).unwrap_or(usize::MAX);
            let last = first.saturating_add(want - 1).min(n);
            let got = (last + 1).saturating_sub(first);
            if let Some(o) = dest {
                o.extend(self.rows[first - 1..first - 1 + got].iter().cloned());
            }
            self.at = if got < want { n + 1 } else { last };
            Ok(got as u64)
        } else {
            if self.no_scroll {
                return Err(forward_only());
            }
            if self.at_start() || count <= 0 {
                return Ok(0);
            }
            let from = self.at - 1;
            let want = usize::try_from(count).unwrap_or(usize::MAX);
            let got = want.min(from);
            if let Some(o) = dest {
                o.extend((0..got).map(|k| self.rows[from - 1 - k].clone()));
            }
            self.at = if got < want { 0 } else { from + 1 - got };
            Ok(got as u64)
        }
    }

    /// DoPortalRewind.
    fn rewind(&mut self) -> Result<()> {
        if self.at_start() {
            return Ok(());
        }
        if self.no_scroll {
            return Err(forward_only());
        }
        self.at = 0;
        Ok(())
    }

    /// PortalRunFetch.
    fn run_fetch(&mut self, op: FetchOp, dest: Option<&mut Vec<Row>>) -> Result<u64> {
        let is_move = dest.is_none();
        let (mut forward, mut count) = match op {
            FetchOp::Forward(k) if k < 0 => (false, -k),
            FetchOp::Forward(k) => (true, k),
            FetchOp::Backward(k) if k < 0 => (true, -k),
            FetchOp::Backward(k) => (false, k),
            FetchOp::Absolute(k) if k > 0 => {
                if k - 1 <= self.portal_pos() / 2 {
                    self.rewind()?;
                    if k > 1 {
                        self.run_select(true, k - 1, None)?;
                    }
                } else {
                    let mut pos = self.portal_pos();
                    if self.at_end() {
                        pos += 1;
                    }
                    if k <= pos {
                        self.run_select(false, pos - k + 1, None)?;
                    } else if k > pos + 1 {
                        self.run_select(true, k - pos - 1, None)?;
                    }
                }
                return self.run_select(true, 1, dest);
            }
            FetchOp::Absolute(k) if k < 0 => {
                self.run_select(true, ALL, None)?;
                if k < -1 {
                    self.run_select(false, -k - 1, None)?;
                }
                return self.run_select(false, 1, dest);
            }
            FetchOp::Absolute(_) => {
                self.rewind()?;
                return self.run_select(true, 0, dest);
            }
            FetchOp::Relative(k) if k > 0 => {
                if k > 1 {
                    self.run_select(true, k - 1, None)?;
                }
                return self.run_select(true, 1, dest);
            }
            FetchOp::Relative(k) if k < 0 => {
                if k < -1 {
                    self.run_select(false, -k - 1, None)?;
                }
                return self.run_select(false, 1, dest);
            }
            FetchOp::Relative(_) => (true, 0),
        };
        // A zero count re-fetches the current row, if the cursor is on one.
        if count == 0 {
            let on_row = !self.at_start() && !self.at_end();
            if is_move {
                return Ok(on_row as u64);
            }
            if on_row {
                self.run_select(false, 1, None)?;
                count = 1;
                forward = true;
            }
        }
        // MOVE BACKWARD ALL is a rewind.
        if !forward && count == ALL && is_move {
            let mut passed = self.portal_pos() as u64;
            if passed > 0 && !self.at_end() {
                passed -= 1;
            }
            self.rewind()?;
            return Ok(passed);
        }
        self.run_select(forward, count, dest)
    }
}

fn def() -> Arc<TableDef> {
    crate::prepared::session_view(
        "pg_cursors",
        VIEW_OID,
        &[
            ("name", SqlType::Text),
            ("statement", SqlType::Text),
            ("is_holdable", SqlType::Bool),
            ("is_binary", SqlType::Bool),
            ("is_scrollable", SqlType::Bool),
            ("creation_time", SqlType::TIMESTAMPTZ),
        ],
    )
}

/// The view, if `(schema, name)` names it.
pub fn resolve(schema: &str, name: &str) -> Option<Arc<TableDef>> {
    (schema == "pg_catalog" && name == "pg_cursors").then(def)
}

/// The view's rows: the open cursors of the session `cursors` belongs to.
pub fn rows(cursors: &Session) -> Vec<Row> {
    let cursors = cursors.borrow();
    let mut open: Vec<(&String, &Cursor)> = cursors.open.iter().collect();
    open.sort_by_key(|(n, c)| (c.created_us, n.as_str()));
    open.into_iter()
        .map(|(name, c)| {
            vec![
                Datum::Text(name.clone()),
                Datum::Text(c.statement.clone()),
                Datum::Bool(c.hold),
                Datum::Bool(c.binary),
                Datum::Bool(!c.no_scroll),
                Datum::TimestampTz(c.created_us),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(n: i32, no_scroll: bool) -> Cursor {
        Cursor {
            columns: Vec::new(),
            binary: false,
            hold: false,
            no_scroll,
            statement: String::new(),
            created_us: 0,
            rows: (1..=n).map(|i| vec![Datum::Int4(i)]).collect(),
            keys: Vec::new(),
            updatable: Updatable::No { locked: false },
            at: 0,
            bytes: 0,
            declared_in: None,
        }
    }

    fn fetch(c: &mut Cursor, op: FetchOp) -> Vec<i32> {
        let mut out = Vec::new();
        c.run_fetch(op, Some(&mut out)).unwrap();
        out.into_iter().map(|r| if let Datum::Int4(i) = r[0] { i } else { 0 }).collect()
    }

    #[test]
    fn positions_follow_postgresql() {
        // Recorded from PostgreSQL 15 over generate_series(1, 5) declared SCROLL.
        let mut c = cursor(5, false);
        assert_eq!(fetch(&mut c, FetchOp::Forward(2)), [1, 2]);
        assert_eq!(fetch(&mut c, FetchOp::Backward(1)), [1]);
        assert_eq!(fetch(&mut c, FetchOp::Forward(-1)), Vec::<i32>::new());
        assert_eq!(c.run_fetch(FetchOp::Forward(ALL), None).unwrap(), 5);
        assert_eq!(fetch(&mut c, FetchOp::Backward(2)), [5, 4]);
        assert_eq!(fetch(&mut c, FetchOp::Absolute(1)), [1]);
        assert_eq!(fetch(&mut c, FetchOp::Absolute(-2)), [4]);
        assert_eq!(fetch(&mut c, FetchOp::Relative(0)), [4]);
        assert_eq!(fetch(&mut c, FetchOp::Relative(-3)), [1]);
        assert_eq!(fetch(&mut c, FetchOp::Absolute(9)), Vec::<i32>::new());
        assert_eq!(fetch(&mut c, FetchOp::Backward(ALL)), [5, 4, 3, 2, 1]);
        assert_eq!(c.run_fetch(FetchOp::Relative(0), None).unwrap(), 0);
    }

    #[test]
    fn no_scroll_refuses_to_go_back() {
        let mut c = cursor(3, true);
        assert_eq!(fetch(&mut c, FetchOp::Absolute(2)), [2]);
        assert_eq!(c.run_fetch(FetchOp::Relative(0), Some(&mut Vec::new())).unwrap_err().code, "55000");
        assert_eq!(fetch(&mut c, FetchOp::Absolute(3)), [3]);
        assert_eq!(c.run_fetch(FetchOp::Absolute(1), Some(&mut Vec::new())).unwrap_err().code, "55000");
        assert_eq!(c.run_fetch(FetchOp::Absolute(-1), Some(&mut Vec::new())).unwrap_err().code, "55000");
    }
}
