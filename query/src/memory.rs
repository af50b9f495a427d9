//! The memory one statement holds on its coordinating shard, in bytes, against one bound
//! (`orbit.query_memory_limit`), and the cancel checks of the coordinator's long loops.
//!
//! Every operator that holds rows on the coordinator charges what it builds to the statement's
//! [`QueryMemory`]: the rows the shards send back, join build tables and joined rows, groups and
//! aggregate states, sort and DISTINCT buffers, window partitions, set operations, materialised
//! subqueries and CTEs, recursive working tables, set-returning function output. Sizes are
//! estimates ([`Datum::memory`] plus a fixed overhead per row or hash entry). A charge past the
//! bound fails the statement with 53200 "out of memory" (PostgreSQL's text) and a DETAIL naming
//! the operator and the request, and the statement's memory is given back as it unwinds; the
//! session and the server go on.
//!
//! A [`Held`] charge is released when it is dropped (a hash table, a sort's keys); rows an
//! operator hands on stay charged ([`Held::keep`]) until the statement ends or, for a subquery
//! run inside it, until the subquery's result is taken over by its caller ([`QueryMemory::mark`]
//! and [`QueryMemory::release_to`]). The account is thus an upper estimate of what the
//! statement holds at once.
//!
//! One sort or hash operator is bound besides by `work_mem` ([`Held::sort`], [`Held::hash`]):
//! PostgreSQL spills such an operator to disk past it, Orbit does not spill, so a sort's keys
//! (ORDER BY, window partitions) past `work_mem`, or a hash table (hash join and hash semi join
//! build tables, GROUP BY groups, DISTINCT and set-operation hash sets) past `work_mem` times
//! `hash_mem_multiplier`, fail the statement with the same 53200. Its default is the statement
//! bound's, so a session that never sets it is bound by `orbit.query_memory_limit` alone. A
//! distributed step's build table on a shard checks [`QueryMemory::hash_mem`] there.
//!
//! The same loops count their work on a [`Ticker`]: every [`CHECK_EVERY`] units it checks the
//! statement's cancel switch (a CancelRequest, `statement_timeout`) and lets the shard's other
//! tasks run, so that a CancelRequest arriving on this shard is read while a sort runs.

use crate::error::{Result, SqlError};
use crate::txn::Cancel;
use orbit_engine::table::{Datum, Row};
use std::cell::Cell;
use std::cmp::Ordering;
use std::rc::Rc;

/// The default bound of `orbit.query_memory_limit`: a sixth of a 24 GiB machine, so a few
/// large statements at once still leave room for the tables themselves.
pub const DEFAULT_LIMIT_BYTES: usize = 4 << 30;

/// What a row costs beyond its values: the `Vec` that holds them.
pub const ROW_OVERHEAD: usize = std::mem::size_of::<Row>();

/// What a hash table entry costs beyond its key and value (buckets, control bytes, load factor).
pub const ENTRY_OVERHEAD: usize = 32;

/// Units of work (comparisons, rows, candidate pairs) between two cancel checks.
pub const CHECK_EVERY: usize = 1 << 16;

/// The estimated bytes of a row.
pub fn row_bytes(row: &[Datum]) -> usize {
    ROW_OVERHEAD + row.iter().map(Datum::memory).sum::<usize>()
}

/// One statement's memory account (see the module docs). Interior mutability: operators reach
/// it through a shared `&Txn`.
#[derive(Debug)]
pub struct QueryMemory {
    limit: Cell<usize>,
    used: Cell<usize>,
    peak: Cell<usize>,
    /// What one sort may hold (`work_mem`), and one hash table (times `hash_mem_multiplier`).
    work_mem: Cell<usize>,
    hash_mem: Cell<usize>,
}

impl Default for QueryMemory {
    fn default() -> Self {
        QueryMemory::new(DEFAULT_LIMIT_BYTES)
    }
}

impl QueryMemory {
    pub fn new(limit: usize) -> QueryMemory {
        QueryMemory {
            limit: Cell::new(limit),
            used: Cell::new(0),
            peak: Cell::new(0),
            work_mem: Cell::new(usize::MAX),
            hash_mem: Cell::new(usize::MAX),
        }
    }

    /// A statement starts with nothing charged, under `limit` bytes.
    pub fn start(&self, limit: usize) {
        self.start_with(limit, OperatorLimits::NONE);
    }

    /// A statement starts with nothing charged, under `limit` bytes, each of its sorts and hash
    /// tables under `operators`.
    pub fn start_with(&self, limit: usize, operators: OperatorLimits) {
        self.limit.set(limit);
        self.used.set(0);
        self.peak.set(0);
        self.work_mem.set(operators.work_mem_bytes);
        self.hash_mem.set(operators.hash_mem_bytes);
    }

    pub fn limit(&self) -> usize {
        self.limit.get()
    }

    pub fn used(&self) -> usize {
        self.used.get()
    }

    /// What one hash table may hold (`work_mem` times `hash_mem_multiplier`): a shard's build
    /// table of a distributed step checks it there.
    pub fn hash_mem(&self) -> usize {
        self.hash_mem.get()
    }

    /// The most the statement held at once so far.
    pub fn peak(&self) -> usize {
        self.peak.get()
    }

    /// Charges `bytes` for `what`, or fails with 53200 (charging nothing) past the bound.
    pub fn charge(&self, what: &'static str, bytes: usize) -> Result<()> {
        let total = self.used.get().saturating_add(bytes);
        if total > self.limit.get() {
            return Err(out_of_memory(what, bytes, self.used.get(), self.limit.get()));
        }
        self.used.set(total);
        self.peak.set(self.peak.get().max(total));
        Ok(())
    }

    pub fn release(&self, bytes: usize) {
        debug_assert!(bytes <= self.used.get(), "released more than charged");
        self.used.set(self.used.get().saturating_sub(bytes));
    }

    /// What is charged now: a subquery run inside the statement hands back all it charged
    /// after this point with [`QueryMemory::release_to`] once its caller has its rows.
    pub fn mark(&self) -> usize {
        self.used.get()
    }

    pub fn release_to(&self, mark: usize) {
        self.used.set(self.used.get().min(mark));
    }
}

/// PostgreSQL's error for memory it could not get ("out of memory", DETAIL "Failed on request of
/// size N in memory context ..."), with the operator in place of the memory context.
pub fn out_of_memory(what: &str, request: usize, used: usize, limit: usize) -> SqlError {
    SqlError::new("53200", "out of memory").detail(format!(
        "Failed on request of size {request} in {what}: the statement holds {used} bytes and \
         orbit.query_memory_limit is {limit} bytes."
    ))
}

/// The bounds of one sort (`work_mem`) and one hash table (`work_mem` times
/// `hash_mem_multiplier`), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorLimits {
    pub work_mem_bytes: usize,
    pub hash_mem_bytes: usize,
}

impl OperatorLimits {
    /// No bound but the statement's.
    pub const NONE: OperatorLimits = OperatorLimits { work_mem_bytes: usize::MAX, hash_mem_bytes: usize::MAX };

    /// The bounds of a session whose `work_mem` is `work_mem_bytes` and `hash_mem_multiplier`
    /// `multiplier` (PostgreSQL's get_hash_memory_limit: the product, capped).
    pub fn of(work_mem_bytes: usize, multiplier: f64) -> OperatorLimits {
        let hash = (work_mem_bytes as f64 * multiplier).min(usize::MAX as f64) as usize;
        OperatorLimits { work_mem_bytes, hash_mem_bytes: hash }
    }
}

/// Which per-operator bound a [`Held`] is under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OperatorKind {
    /// Only the statement's.
    Other,
    Sort,
    Hash,
}

/// The 53200 of one operator past its own bound (`bound` names it: `work_mem`, or `work_mem
/// times hash_mem_multiplier`), holding `held` bytes when it asked for `request` more.
pub fn operator_out_of_memory(what: &str, request: usize, held: usize, bound: &str, cap: usize) -> SqlError {
    SqlError::new("53200", "out of memory").detail(format!(
        "Failed on request of size {request} in {what}: the operator holds {held} bytes and {bound} is {cap} bytes."
    ))
}

/// What [`operator_out_of_memory`] names a hash table's bound.
pub const HASH_MEM: &str = "work_mem times hash_mem_multiplier";

/// Bytes one operator has charged; released when dropped unless kept.
#[derive(Debug)]
pub struct Held {
    memory: Rc<QueryMemory>,
    what: &'static str,
    bytes: usize,
    kind: OperatorKind,
}

impl Held {
    pub fn new(memory: Rc<QueryMemory>, what: &'static str) -> Held {
        Held { memory, what, bytes: 0, kind: OperatorKind::Other }
    }

    /// A sort's charge: bound by `work_mem` too.
    pub fn sort(memory: Rc<QueryMemory>, what: &'static str) -> Held {
        Held { memory, what, bytes: 0, kind: OperatorKind::Sort }
    }

    /// A hash table's charge: bound by `work_mem` times `hash_mem_multiplier` too.
    pub fn hash(memory: Rc<QueryMemory>, what: &'static str) -> Held {
        Held { memory, what, bytes: 0, kind: OperatorKind::Hash }
    }

    pub fn add(&mut self, bytes: usize) -> Result<()> {
        let (cap, name) = match self.kind {
            OperatorKind::Other => (usize::MAX, ""),
            OperatorKind::Sort => (self.memory.work_mem.get(), "work_mem"),
            OperatorKind::Hash => (self.memory.hash_mem.get(), HASH_MEM),
        };
        if self.bytes.saturating_add(bytes) > cap {
            return Err(operator_out_of_memory(self.what, bytes, self.bytes, name, cap));
        }
        self.memory.charge(self.what, bytes)?;
        self.bytes += bytes;
        Ok(())
    }

    /// Charges one row.
    pub fn row(&mut self, row: &[Datum]) -> Result<()> {
        self.add(row_bytes(row))
    }

    /// Charges one output row with its sort values.
    pub fn sorted_row(&mut self, keys: &[Datum], row: &[Datum]) -> Result<()> {
        self.add(row_bytes(keys) + row_bytes(row))
    }

    /// Charges rows.
    pub fn rows<'a>(&mut self, rows: impl IntoIterator<Item = &'a Row>) -> Result<()> {
        self.add(rows.into_iter().map(|r| row_bytes(r)).sum())
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The account this charge is in (for another charge of the same statement).
    pub fn memory(&self) -> Rc<QueryMemory> {
        self.memory.clone()
    }

    /// The rows this charge stands for are handed on: they stay charged until the statement (or
    /// the subquery) ends.
    pub fn keep(mut self) {
        self.bytes = 0;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.memory.release(self.bytes);
    }
}

/// Counts the work of one coordinator loop; see the module docs.
pub struct Ticker {
    cancel: Option<Rc<Cancel>>,
    count: usize,
}

impl Ticker {
    pub fn new(txn: &crate::txn::Txn) -> Ticker {
        Ticker { cancel: txn.cancel.clone(), count: 0 }
    }

    /// A ticker that only yields (no statement to cancel).
    pub fn without_cancel() -> Ticker {
        Ticker { cancel: None, count: 0 }
    }

    /// Counts `units` of work; every [`CHECK_EVERY`] units, fails if the statement was cancelled
    /// or ran past `statement_timeout`, after letting the shard's other tasks run.
    pub async fn tick(&mut self, units: usize) -> Result<()> {
        let before = self.count / CHECK_EVERY;
        self.count = self.count.saturating_add(units);
        if self.count / CHECK_EVERY != before {
            self.check().await?;
        }
        Ok(())
    }

    /// Checks at once (at the end of a step).
    pub async fn check(&self) -> Result<()> {
        if let Some(c) = &self.cancel {
            c.check()?;
            orbit_shards::rt::yield_once().await;
            c.check()?;
        }
        Ok(())
    }
}

/// Rows sorted one run of at most [`CHECK_EVERY`] rows at a time: the runs are merged two by
/// two, so a cancel request or `statement_timeout` stops a large sort within a run (a plain
/// `sort_by` cannot be interrupted). Stable, as `sort_by` is.
pub async fn sort_by<T>(ticker: &mut Ticker, v: Vec<T>, cmp: impl Fn(&T, &T) -> Ordering) -> Result<Vec<T>> {
    if v.len() <= CHECK_EVERY {
        let mut v = v;
        v.sort_by(&cmp);
        ticker.tick(v.len()).await?;
        return Ok(v);
    }
    let mut runs: Vec<Vec<T>> = Vec::new();
    let mut rest = v.into_iter();
    loop {
        let mut run: Vec<T> = rest.by_ref().take(CHECK_EVERY).collect();
        if run.is_empty() {
            break;
        }
        run.sort_by(&cmp);
        ticker.check().await?;
        runs.push(run);
    }
    while runs.len() > 1 {
        let mut merged = Vec::with_capacity(runs.len().div_ceil(2));
        let mut it = runs.into_iter();
        while let Some(a) = it.next() {
            match it.next() {
                Some(b) => merged.push(merge(ticker, a, b, &cmp).await?),
                None => merged.push(a),
            }
        }
        runs = merged;
    }
    Ok(runs.pop().unwrap_or_default())
}

/// Elements a merge moves between two counts on its ticker.
const MERGE_BATCH: usize = 4096;

/// Two sorted runs as one; on equal elements the first run's come first.
async fn merge<T>(ticker: &mut Ticker, a: Vec<T>, b: Vec<T>, cmp: &impl Fn(&T, &T) -> Ordering) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let mut a = a.into_iter().peekable();
    let mut b = b.into_iter().peekable();
    loop {
        let take_b = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => cmp(y, x) == Ordering::Less,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => break,
        };
        let next = if take_b { b.next() } else { a.next() };
        out.extend(next);
        // Counted in batches: an await per element would cost more than the move.
        if out.len().is_multiple_of(MERGE_BATCH) {
            ticker.tick(MERGE_BATCH).await?;
        }
    }
    Ok(out)
}

/// Runs a future to completion on this thread (unit tests of the async operators: they
/// never wait on I/O, they only yield).
#[cfg(test)]
pub(crate) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_fail_past_the_limit_and_release_on_drop() {
        let m = Rc::new(QueryMemory::new(1000));
        let mut a = Held::new(m.clone(), "sort");
        a.add(600).unwrap();
        let mut b = Held::new(m.clone(), "hash join");
        let e = b.add(500).unwrap_err();
        assert_eq!(e.code, "53200");
        assert_eq!(e.message, "out of memory");
        let detail = e.detail.clone().unwrap_or_default();
        assert!(detail.contains("request of size 500 in hash join"), "{detail}");
        assert!(detail.contains("holds 600 bytes"), "{detail}");
        // The failed request charged nothing.
        assert_eq!(m.used(), 600);
        b.add(400).unwrap();
        assert_eq!(m.used(), 1000);
        drop(a);
        assert_eq!(m.used(), 400);
        b.keep();
        assert_eq!(m.used(), 400);
        assert_eq!(m.peak(), 1000);
        m.start(10);
        assert_eq!((m.used(), m.peak(), m.limit()), (0, 0, 10));
    }

    #[test]
    fn one_sort_or_hash_table_is_bound_by_work_mem() {
        let m = Rc::new(QueryMemory::new(1 << 20));
        m.start_with(1 << 20, OperatorLimits::of(1000, 2.0));
        let mut sort = Held::sort(m.clone(), "sort");
        sort.add(900).unwrap();
        let e = sort.add(200).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("53200", "out of memory"));
        let detail = e.detail.clone().unwrap_or_default();
        assert!(
            detail.contains("request of size 200 in sort: the operator holds 900 bytes and work_mem is 1000"),
            "{detail}"
        );
        // Another sort has its own work_mem; a hash table has twice it.
        let mut other = Held::sort(m.clone(), "window partitions");
        other.add(1000).unwrap();
        let mut hash = Held::hash(m.clone(), "hash join build table");
        hash.add(1900).unwrap();
        let e = hash.add(101).unwrap_err();
        assert!(e.detail.unwrap_or_default().contains("hash_mem_multiplier is 2000 bytes"));
        // Operators without their own bound only answer to the statement's.
        Held::new(m.clone(), "result rows").add(10_000).unwrap();
        assert_eq!(m.used(), 900 + 1000 + 1900);
        drop((sort, other, hash));
        // The next statement starts without operator bounds unless given them.
        m.start(1 << 20);
        Held::sort(m.clone(), "sort").add(1 << 19).unwrap();
    }

    #[test]
    fn a_subquery_hands_back_what_it_kept() {
        let m = Rc::new(QueryMemory::new(1 << 20));
        let mut outer = Held::new(m.clone(), "join");
        outer.add(100).unwrap();
        let mark = m.mark();
        let mut inner = Held::new(m.clone(), "rows from shards");
        inner.add(5000).unwrap();
        inner.keep();
        assert_eq!(m.used(), 5100);
        m.release_to(mark);
        assert_eq!(m.used(), 100);
        drop(outer);
        assert_eq!(m.used(), 0);
    }

    #[test]
    fn rows_cost_their_values_and_a_vec() {
        let small = row_bytes(&[Datum::Int4(1)]);
        assert_eq!(small, ROW_OVERHEAD + Datum::Int4(1).memory());
        let text = row_bytes(&[Datum::Text("x".repeat(1000))]);
        assert!(text >= small + 1000);
    }

    fn sorted(v: Vec<(i32, usize)>) -> Vec<(i32, usize)> {
        let mut t = Ticker::without_cancel();
        block_on(sort_by(&mut t, v, |a, b| a.0.cmp(&b.0))).unwrap()
    }

    #[test]
    fn sorting_in_runs_is_a_stable_sort() {
        // Several runs and an odd one at the end; many equal keys to check stability.
        let n = CHECK_EVERY * 3 + 123;
        let v: Vec<(i32, usize)> = (0..n).map(|i| (((i * 7919) % 1000) as i32, i)).collect();
        let mut want = v.clone();
        want.sort_by_key(|a| a.0);
        assert_eq!(sorted(v), want);
        assert_eq!(sorted(vec![(2, 0), (1, 1)]), vec![(1, 1), (2, 0)]);
        assert!(sorted(vec![]).is_empty());
    }

    #[test]
    fn a_cancelled_sort_stops() {
        let cancel = Rc::new(Cancel::default());
        cancel.arm(true);
        cancel.request();
        let mut t = Ticker { cancel: Some(cancel), count: 0 };
        let v: Vec<i32> = (0..(CHECK_EVERY * 2) as i32).rev().collect();
        let r = block_on(sort_by(&mut t, v, |a, b| a.cmp(b)));
        assert_eq!(r.unwrap_err().code, "57014");
    }
}
