//! Grouped SELECTs (GROUP BY, HAVING, aggregates) and the steps after projection that every
//! SELECT shares (ORDER BY, DISTINCT [ON], OFFSET, LIMIT).
//!
//! Aggregation runs in two phases: every shard scans its rows, groups them by the GROUP BY
//! values and keeps one partial state per aggregate and group; the coordinating shard merges
//! the partial states of equal groups, finishes them, and computes HAVING, the select list and
//! the sort keys over the group (the binder has rewritten those expressions so that
//! `Expr::Column(k)` is the k-th GROUP BY value and `Expr::Agg(n)` the n-th aggregate).
//! `agg(DISTINCT ...)` and `agg(... ORDER BY ...)` keep their inputs instead of a state (the
//! order and duplicates are only known once all shards are merged) and run them at the end.
//!
//! Memory: a shard's groups and collected inputs are bounded by its rows, as a scan's result
//! is. On the coordinator the merged groups, their aggregate states (string_agg and array_agg
//! grow with their inputs), the output rows and ORDER BY's and DISTINCT's buffers are charged to
//! the statement's memory account ([`crate::memory`]; 53200 past `orbit.query_memory_limit`), and
//! a cancel request or `statement_timeout` stops the merge, the sort and DISTINCT.

use crate::bind::{Distinct, SelectPlan, SortKey};
use crate::error::{code, Result, SqlError};
use crate::exec::{matches, no_table, QueryResult};
use crate::expr::{self, AggFunc, AggOrder, AggSpec, AggState, Ctx, Expr};
use crate::group_key::{GroupTable, Part};
use crate::memory::{Held, Ticker};
use orbit_engine::table::{Datum, Row};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashSet;

/// A value as GROUP BY and DISTINCT compare it: NULLs are one group, -0 and 0 are equal, all
/// NaNs are equal (PostgreSQL's float equality), text compares by bytes. The owned form of
/// [`crate::group_key::Part`], which defines the equality.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum KeyPart {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Text(String),
    Numeric(bool, String),
    Bytes(Vec<u8>),
}

pub(crate) fn key_part(d: &Datum) -> KeyPart {
    match crate::group_key::part(d) {
        Part::Null => KeyPart::Null,
        Part::Bool(b) => KeyPart::Bool(b),
        Part::Int(i) => KeyPart::Int(i),
        Part::Float(f) => KeyPart::Float(f),
        Part::Text(s) => KeyPart::Text(s.to_string()),
        Part::Numeric(neg, digits) => KeyPart::Numeric(neg, digits.to_string()),
        Part::Bytes(b) => KeyPart::Bytes(b.into_owned()),
    }
}

pub(crate) fn key_of(vals: &[Datum]) -> Vec<KeyPart> {
    vals.iter().map(key_part).collect()
}

/// How GROUP BY finds its groups and DISTINCT its duplicates (PostgreSQL's AggStrategy), as
/// decided when the statement was bound under `enable_hashagg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// A hash table of groups (HashAggregate; DISTINCT's and set operations' hash sets).
    Hash,
    /// `enable_hashagg = off`: the rows are sorted by the key and each run of equal keys is one
    /// group (PostgreSQL's GroupAggregate over a Sort; Unique over a Sort for DISTINCT), so the
    /// groups come out in key order.
    Sort,
    /// `enable_hashagg = off` but a key does not sort (json, jsonpath): hashed all the same,
    /// at PostgreSQL's disable_cost more, as cost_agg does when no sorted path exists.
    HashDisabled,
}

impl Strategy {
    /// The strategy of a SELECT whose GROUP BY values are `group_by` (`grouping_sets`: ROLLUP,
    /// CUBE, GROUPING SETS) and whose DISTINCT (not ON) compares `projection`. Reads
    /// `enable_hashagg` (noted: a prepared statement binds again when it changes) only where
    /// something is hashed. Grouping sets keep hashing: Orbit has no sorted grouping-set plan
    /// (PostgreSQL's chain of sorts), and is HashDisabled for them under the switch.
    pub(crate) fn bound(
        group_by: &[Expr],
        grouping_sets: &[Vec<usize>],
        distinct: crate::bind::Distinct,
        projection: &[Expr],
    ) -> Strategy {
        let grouping = !group_by.is_empty();
        let dedup = distinct == crate::bind::Distinct::All;
        if !grouping && !dedup {
            return Strategy::Hash;
        }
        if crate::settings::bound_value("enable_hashagg").is_none_or(|v| v == "on") {
            return Strategy::Hash;
        }
        let keys_sort = (!grouping || grouping_sets.is_empty() && group_by.iter().all(|e| sortable(e.ty())))
            && (!dedup || projection.iter().all(|e| sortable(e.ty())));
        if keys_sort {
            Strategy::Sort
        } else {
            Strategy::HashDisabled
        }
    }
}

impl Strategy {
    /// The strategy of a set operation whose columns have types `tys`: UNION ALL keeps every
    /// row (nothing to hash or sort), the others hash, or sort under `enable_hashagg = off`.
    pub(crate) fn set_op(op: crate::relation::SetOp, all: bool, tys: &[orbit_engine::table::SqlType]) -> Strategy {
        if op == crate::relation::SetOp::Union && all {
            return Strategy::Hash;
        }
        if crate::settings::bound_value("enable_hashagg").is_none_or(|v| v == "on") {
            Strategy::Hash
        } else if tys.iter().all(|t| sortable(*t)) {
            Strategy::Sort
        } else {
            Strategy::HashDisabled
        }
    }
}

/// Whether values of type `ty` have an order (a btree operator class in PostgreSQL): json and
/// jsonpath have none.
pub(crate) fn sortable(ty: orbit_engine::table::SqlType) -> bool {
    use orbit_engine::table::SqlType;
    match ty {
        SqlType::Json | SqlType::JsonPath | SqlType::Void => false,
        SqlType::Array(_) => ty.elem().is_none_or(sortable),
        _ => true,
    }
}

/// The positions of `n` items in ascending order of their first `nk` values (`value(i, k)`),
/// NULLs last: the order of PostgreSQL's Sort under a GroupAggregate. On a shard, which has no
/// statement to cancel: bounded by the shard's rows, as its scan is.
fn key_order_here<'a>(n: usize, nk: usize, value: impl Fn(usize, usize) -> &'a Datum) -> Vec<usize> {
    let keys = crate::sort_key::SortKeys::new(n, &vec![(false, false); nk], value);
    let mut perm: Vec<usize> = (0..n).collect();
    perm.sort_by(|&a, &b| keys.cmp(a, b));
    perm
}

/// [`key_order_here`] on the coordinator: the sort's keys charged to `held` (a sort's charge,
/// bound by `work_mem`), a cancel request or `statement_timeout` stops it.
async fn key_order<'a>(
    n: usize,
    nk: usize,
    value: impl Fn(usize, usize) -> &'a Datum,
    ticker: &mut Ticker,
    held: &mut Held,
) -> Result<Vec<usize>> {
    let keys = crate::sort_key::SortKeys::new(n, &vec![(false, false); nk], value);
    held.add(keys.bytes())?;
    keys.order(ticker).await
}

/// One input of an aggregate that runs at the end: its value, string_agg's delimiter and the
/// values of the call's ORDER BY.
#[derive(Debug, Clone)]
struct Input {
    value: Datum,
    delim: Datum,
    keys: Vec<Datum>,
}

/// An aggregate's accumulator within one group.
#[derive(Debug, Clone)]
enum Acc {
    State(AggState),
    /// DISTINCT or ORDER BY inside the call: the inputs, fed to a state once all are known.
    Collect(Vec<Input>),
}

impl Acc {
    fn new(spec: &AggSpec) -> Acc {
        if spec.distinct || !spec.order_by.is_empty() {
            Acc::Collect(Vec::new())
        } else {
            Acc::State(AggState::new(spec))
        }
    }

    /// Adds one input row; returns about how many bytes the accumulator grew by.
    fn update(&mut self, spec: &AggSpec, row: &[Datum], params: &[Datum]) -> Result<usize> {
        let cx = Ctx { row, params, aggs: &[] };
        if let Some(f) = &spec.filter {
            if expr::truth(expr::eval(f, &cx)?) != Some(true) {
                return Ok(0);
            }
        }
        if let (Acc::State(st), None) = (&mut *self, &spec.delim) {
            if !matches!(spec.func, AggFunc::StringAgg | AggFunc::ArrayAgg) {
                // Read in place (a column's value is not copied per row); these states keep
                // their size.
                const NULL: &Datum = &Datum::Null;
                match &spec.arg {
                    Some(a) => st.update_ref(spec, expr::operand(a, &cx)?.as_ref())?,
                    None => st.update_ref(spec, NULL)?,
                }
                return Ok(0);
            }
        }
        let value = match &spec.arg {
            Some(a) => expr::eval(a, &cx)?,
            None => Datum::Null,
        };
        let delim = match &spec.delim {
            Some(d) => expr::eval(d, &cx)?,
            None => Datum::Null,
        };
        // string_agg and array_agg keep their inputs; the other states stay the same size.
        let grown = match spec.func {
            AggFunc::StringAgg | AggFunc::ArrayAgg => value.memory() + delim.memory(),
            _ => 0,
        };
        match self {
            Acc::State(st) if spec.delim.is_some() => st.update_two(spec, value, delim)?,
            Acc::State(st) => st.update(spec, value)?,
            Acc::Collect(inputs) => {
                // NULL inputs change no aggregate but count(*) (which takes neither).
                if value.is_null() && !matches!(spec.func, AggFunc::CountStar | AggFunc::ArrayAgg) {
                    return Ok(0);
                }
                let keys = spec.order_by.iter().map(|o| expr::eval(&o.expr, &cx)).collect::<Result<Vec<_>>>()?;
                let size =
                    std::mem::size_of::<Input>() + value.memory() + delim.memory() + crate::memory::row_bytes(&keys);
                inputs.push(Input { value, delim, keys });
                return Ok(size);
            }
        }
        Ok(grown)
    }

    /// About how many bytes the accumulator holds.
    fn memory(&self) -> usize {
        std::mem::size_of::<Acc>()
            + match self {
                Acc::State(AggState::Text(Some((d, t)))) => d.as_ref().map_or(0, String::capacity) + t.capacity(),
                Acc::State(AggState::Items(Some(items))) => items.iter().map(Datum::memory).sum(),
                Acc::State(AggState::Extreme(d)) => d.memory(),
                Acc::State(_) => 0,
                Acc::Collect(inputs) => inputs
                    .iter()
                    .map(|i| {
                        std::mem::size_of::<Input>()
                            + i.value.memory()
                            + i.delim.memory()
                            + crate::memory::row_bytes(&i.keys)
                    })
                    .sum(),
            }
    }

    fn merge(&mut self, spec: &AggSpec, other: Acc) -> Result<()> {
        match (self, other) {
            (Acc::State(a), Acc::State(b)) => a.merge(spec, b),
            (Acc::Collect(a), Acc::Collect(b)) => {
                a.extend(b);
                Ok(())
            }
            _ => Err(SqlError::internal("aggregate states do not match")),
        }
    }

    fn finish(self, spec: &AggSpec) -> Result<Datum> {
        let mut inputs = match self {
            Acc::State(st) => return st.finish(spec),
            Acc::Collect(inputs) => inputs,
        };
        if !spec.order_by.is_empty() {
            inputs.sort_by(|a, b| {
                cmp_keys(&a.keys, &b.keys, spec.order_by.iter().map(|o: &AggOrder| (o.desc, o.nulls_first)))
            });
        } else if spec.distinct {
            // PostgreSQL removes duplicates by sorting: the values come in ascending order,
            // NULLs last (what array_agg and string_agg show).
            let by_value = [(false, false)];
            inputs.sort_by(|a, b| {
                cmp_keys(std::slice::from_ref(&a.value), std::slice::from_ref(&b.value), by_value.iter().copied())
            });
        }
        let mut st = AggState::new(spec);
        let mut seen = HashSet::new();
        for i in inputs {
            // DISTINCT applies to all the arguments (string_agg's delimiter too).
            if spec.distinct && !seen.insert((key_part(&i.value), key_part(&i.delim))) {
                continue;
            }
            st.update_two(spec, i.value, i.delim)?;
        }
        st.finish(spec)
    }
}

/// Rows grouped a batch at a time.
const BATCH: usize = 1024;

/// Groups in the order they were first seen, each with its GROUP BY values and accumulators,
/// found by the hash of their values ([`crate::group_key`]).
#[derive(Debug, Default)]
struct Groups {
    table: GroupTable,
    list: Vec<(Vec<Datum>, Vec<Acc>)>,
    /// On the coordinator: the statement's memory the groups take.
    held: Option<Held>,
}

impl Groups {
    fn add_row(&mut self, p: &SelectPlan, row: &[Datum], params: &[Datum]) -> Result<()> {
        let cx = Ctx { row, params, aggs: &[] };
        let vals = p.group_by.iter().map(|e| expr::eval(e, &cx)).collect::<Result<Vec<_>>>()?;
        if p.grouping_sets.is_empty() {
            return self.add_to(p, vals, row, params);
        }
        // Grouping sets: the row counts in a group of every set, the values the set leaves
        // out NULL, the set's number after them.
        for (n, set) in p.grouping_sets.iter().enumerate() {
            let mut v: Vec<Datum> =
                vals.iter().enumerate().map(|(i, d)| if set.contains(&i) { d.clone() } else { Datum::Null }).collect();
            v.push(Datum::Int4(i32::try_from(n).unwrap_or(i32::MAX)));
            self.add_to(p, v, row, params)?;
        }
        Ok(())
    }

    /// Charges `bytes` to the statement (on the coordinator).
    fn charge(&mut self, bytes: usize) -> Result<()> {
        match &mut self.held {
            Some(h) => h.add(bytes),
            None => Ok(()),
        }
    }

    /// What a new group costs: its values, its place in the hash table and its accumulators.
    fn group_bytes(vals: &[Datum], accs: &[Acc]) -> usize {
        crate::memory::row_bytes(vals) + GroupTable::BYTES_PER_GROUP + accs.iter().map(Acc::memory).sum::<usize>()
    }

    /// The group whose key values are `value(0..n)` (hash `h`), if there is one (the values
    /// after the key, columns the key determines, are not compared: [`key_len`]).
    fn find<'a>(&self, h: u64, n: usize, value: impl Fn(usize) -> &'a Datum) -> Option<usize> {
        let list = &self.list;
        self.table.find(h, |g| {
            let vals = &list[g].0;
            vals.len() >= n && vals[..n].iter().enumerate().all(|(k, v)| crate::group_key::same(v, value(k)))
        })
    }

    /// A new group with the values `vals` (hash `h`): its number.
    fn insert(&mut self, h: u64, vals: Vec<Datum>, accs: Vec<Acc>) -> Result<usize> {
        self.charge(Self::group_bytes(&vals, &accs))?;
        self.list.push((vals, accs));
        Ok(self.table.insert(h))
    }

    fn add_to(&mut self, p: &SelectPlan, vals: Vec<Datum>, row: &[Datum], params: &[Datum]) -> Result<()> {
        let key = key_len(p, vals.len());
        let h = crate::group_key::hash_row(vals[..key].iter());
        let i = match self.find(h, key, |k| &vals[k]) {
            Some(i) => i,
            None => {
                let accs: Vec<Acc> = p.aggs.iter().map(Acc::new).collect();
                self.insert(h, vals, accs)?
            }
        };
        let mut grown = 0;
        for (acc, spec) in self.list[i].1.iter_mut().zip(&p.aggs) {
            grown += acc.update(spec, row, params)?;
        }
        self.charge(grown)
    }

    /// Adds a batch of input rows (at most [`BATCH`]): their GROUP BY values are read (in place
    /// when they are columns) into one column per value, hashed a column at a time, and looked
    /// up; then each row updates its group's accumulators. Errors come as row at a time: those
    /// of the rows before a row whose GROUP BY value fails first.
    fn add_batch(&mut self, p: &SelectPlan, rows: &[&[Datum]], params: &[Datum]) -> Result<()> {
        if !p.grouping_sets.is_empty() {
            for row in rows {
                self.add_row(p, row, params)?;
            }
            return Ok(());
        }
        let nk = p.group_by.len();
        let mut cols: Vec<Vec<Cow<'_, Datum>>> = (0..nk).map(|_| Vec::with_capacity(rows.len())).collect();
        let mut failed = None;
        let mut n = 0;
        'rows: for row in rows {
            let cx = Ctx { row, params, aggs: &[] };
            for (k, e) in p.group_by.iter().enumerate() {
                match expr::operand(e, &cx) {
                    Ok(v) => cols[k].push(v),
                    Err(e) => {
                        failed = Some(e);
                        break 'rows;
                    }
                }
            }
            n += 1;
        }
        let value = |k: usize, r: usize| -> &Datum { &cols[k][r] };
        let key = key_len(p, nk);
        let hashes = crate::group_key::hash_rows(n, key, value);
        for (r, &h) in hashes.iter().enumerate() {
            let g = match self.find(h, key, |k| value(k, r)) {
                Some(g) => g,
                None => {
                    let vals: Vec<Datum> = (0..nk).map(|k| value(k, r).clone()).collect();
                    let accs: Vec<Acc> = p.aggs.iter().map(Acc::new).collect();
                    self.insert(h, vals, accs)?
                }
            };
            let mut grown = 0;
            for (acc, spec) in self.list[g].1.iter_mut().zip(&p.aggs) {
                grown += acc.update(spec, rows[r], params)?;
            }
            self.charge(grown)?;
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Merges the groups one shard sent back, hashing their values first.
    fn merge_part(&mut self, p: &SelectPlan, part: Vec<(Vec<Datum>, Vec<Acc>)>) -> Result<()> {
        const NULL: &Datum = &Datum::Null;
        let nk = key_len(p, part.first().map_or(0, |(v, _)| v.len()));
        let hashes = crate::group_key::hash_rows(part.len(), nk, |k, r| part[r].0.get(k).unwrap_or(NULL));
        for ((vals, accs), h) in part.into_iter().zip(hashes) {
            self.merge_one(p, h, vals, accs)?;
        }
        Ok(())
    }

    /// Merges one group a shard sent back (the hash of its values `h`).
    fn merge_one(&mut self, p: &SelectPlan, h: u64, vals: Vec<Datum>, accs: Vec<Acc>) -> Result<()> {
        match self.find(h, key_len(p, vals.len()), |k| &vals[k]) {
            Some(i) => {
                // The states that keep their inputs take the other's in.
                let grown = accs
                    .iter()
                    .filter(|a| matches!(a, Acc::Collect(_) | Acc::State(AggState::Text(_) | AggState::Items(_))))
                    .map(Acc::memory)
                    .sum();
                self.charge(grown)?;
                for ((mine, other), spec) in self.list[i].1.iter_mut().zip(accs).zip(&p.aggs) {
                    mine.merge(spec, other)?;
                }
            }
            None => {
                self.insert(h, vals, accs)?;
            }
        }
        Ok(())
    }
}

/// Sort-based grouping (PostgreSQL's GroupAggregate over a Sort): the groups are built in the
/// order of their keys, and a row or part joins the last group or starts the next.
impl Groups {
    /// The GROUP BY values of each row (an error stops at the row whose value fails).
    fn key_values(p: &SelectPlan, rows: &[&[Datum]], params: &[Datum]) -> Result<Vec<Option<Vec<Datum>>>> {
        rows.iter()
            .map(|row| {
                let cx = Ctx { row, params, aggs: &[] };
                p.group_by.iter().map(|e| expr::eval(e, &cx)).collect::<Result<Vec<_>>>().map(Some)
            })
            .collect()
    }

    /// Whether group values `a` and `b` are one group (their first `n` values equal).
    fn same_key(a: &[Datum], b: &[Datum], n: usize) -> bool {
        a.len() >= n && b.len() >= n && (0..n).all(|k| crate::group_key::same(&a[k], &b[k]))
    }

    /// Groups `rows`, whose GROUP BY values are `keys`, visited in the order `perm` (sorted by
    /// key): each run of equal keys is one group, appended in that order.
    fn add_runs(
        &mut self,
        p: &SelectPlan,
        rows: &[&[Datum]],
        keys: &mut [Option<Vec<Datum>>],
        perm: &[usize],
        params: &[Datum],
    ) -> Result<()> {
        for &r in perm {
            let vals = keys[r].take().unwrap_or_default();
            let n = key_len(p, vals.len());
            let joins = self.list.last().is_some_and(|(last, _)| Self::same_key(last, &vals, n));
            if !joins {
                let accs: Vec<Acc> = p.aggs.iter().map(Acc::new).collect();
                self.charge(crate::memory::row_bytes(&vals) + accs.iter().map(Acc::memory).sum::<usize>())?;
                self.list.push((vals, accs));
            }
            let mut grown = 0;
            if let Some((_, accs)) = self.list.last_mut() {
                for (acc, spec) in accs.iter_mut().zip(&p.aggs) {
                    grown += acc.update(spec, rows[r], params)?;
                }
            }
            self.charge(grown)?;
        }
        Ok(())
    }

    /// On a shard: groups its matching rows by sorting them (the partial GroupAggregate).
    fn sort_rows_here(&mut self, p: &SelectPlan, rows: &[&[Datum]], params: &[Datum]) -> Result<()> {
        const NULL: &Datum = &Datum::Null;
        let mut keys = Self::key_values(p, rows, params)?;
        let nk = key_len(p, p.group_by.len());
        let perm = key_order_here(rows.len(), nk, |r, k| keys[r].as_ref().map_or(NULL, |v| &v[k]));
        self.add_runs(p, rows, &mut keys, &perm, params)
    }

    /// On the coordinator: groups rows by sorting them, the sort charged to `sorting`.
    async fn sort_rows(
        &mut self,
        p: &SelectPlan,
        rows: &[&[Datum]],
        params: &[Datum],
        ticker: &mut Ticker,
        sorting: &mut Held,
    ) -> Result<()> {
        const NULL: &Datum = &Datum::Null;
        let mut keys = Self::key_values(p, rows, params)?;
        let nk = key_len(p, p.group_by.len());
        let perm = key_order(rows.len(), nk, |r, k| keys[r].as_ref().map_or(NULL, |v| &v[k]), ticker, sorting).await?;
        // A batch of rows at a time, a cancel request or statement_timeout checked between.
        for batch in perm.chunks(BATCH) {
            ticker.tick(batch.len()).await?;
            self.add_runs(p, rows, &mut keys, batch, params)?;
        }
        Ok(())
    }

    /// On the coordinator: the shards' partial groups (each part in key order) sorted together
    /// by key, equal neighbours merged (the Finalize GroupAggregate).
    async fn merge_sorted(
        &mut self,
        p: &SelectPlan,
        parts: Vec<(Vec<Datum>, Vec<Acc>)>,
        ticker: &mut Ticker,
        sorting: &mut Held,
    ) -> Result<()> {
        const NULL: &Datum = &Datum::Null;
        let nk = key_len(p, p.group_by.len());
        let perm = key_order(parts.len(), nk, |r, k| parts[r].0.get(k).unwrap_or(NULL), ticker, sorting).await?;
        for (vals, accs) in crate::sort_key::permute(parts, &perm) {
            ticker.tick(1).await?;
            let n = key_len(p, vals.len());
            match self.list.last_mut() {
                Some((last, mine)) if Self::same_key(last, &vals, n) => {
                    let grown = accs
                        .iter()
                        .filter(|a| matches!(a, Acc::Collect(_) | Acc::State(AggState::Text(_) | AggState::Items(_))))
                        .map(Acc::memory)
                        .sum();
                    for ((m, other), spec) in mine.iter_mut().zip(accs).zip(&p.aggs) {
                        m.merge(spec, other)?;
                    }
                    self.charge(grown)?;
                }
                _ => {
                    self.charge(crate::memory::row_bytes(&vals) + accs.iter().map(Acc::memory).sum::<usize>())?;
                    self.list.push((vals, accs));
                }
            }
        }
        Ok(())
    }
}

/// How many of a group's `n` values are its key: the GROUP BY columns a grouped primary key
/// determines come last and are carried, not hashed nor compared (`SelectPlan::group_dependent`).
fn key_len(p: &SelectPlan, n: usize) -> usize {
    n - p.group_dependent.min(n)
}

/// A grouped SELECT: aggregate per group on every shard, merge here, then HAVING, the select
/// list, ORDER BY, DISTINCT, OFFSET and LIMIT over the groups.
pub async fn select(
    txn: &crate::txn::Txn,
    p: &SelectPlan,
    params: &[Datum],
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<QueryResult> {
    // Sorted groups (enable_hashagg = off): the groups are not hashed, so they are charged to
    // the statement only; the sort's keys and the rows it holds are the sort's (work_mem).
    let sorted = p.group_strategy == Strategy::Sort && !p.group_by.is_empty();
    let held = if sorted { Held::new(txn.memory(), "GROUP BY") } else { Held::hash(txn.memory(), "GROUP BY") };
    let mut groups = Groups { held: Some(held), ..Default::default() };
    let mut sorting = Held::sort(txn.memory(), "sort");
    let mut ticker = Ticker::new(txn);
    match &p.table {
        None if p.join.is_some() => {
            // A batch of joined rows at a time, built into one buffer (all of them when they
            // are sorted first).
            let (mut joined, kept) = crate::exec::joined_rows(txn, p, params).await?;
            let p = kept.as_ref().unwrap_or(p);
            let width = joined.width();
            let mut buf = Vec::new();
            let mut all: Vec<Datum> = Vec::new();
            let mut count = 0;
            loop {
                let n = joined.next_batch(&mut buf, BATCH)?;
                if n == 0 {
                    break;
                }
                ticker.tick(n).await?;
                if sorted {
                    sorting.add(crate::memory::row_bytes(&buf))?;
                    all.append(&mut buf);
                    count += n;
                    continue;
                }
                let refs: Vec<&[Datum]> = if width == 0 { vec![&[]; n] } else { buf.chunks(width).collect() };
                groups.add_batch(p, &refs, params)?;
            }
            if sorted {
                let refs: Vec<&[Datum]> = if width == 0 { vec![&[]; count] } else { all.chunks(width).collect() };
                groups.sort_rows(p, &refs, params, &mut ticker, &mut sorting).await?;
            }
        }
        None => {
            // No FROM: one empty input row, if WHERE lets it through.
            if matches(p.filter.as_ref(), &[], params)? {
                if sorted {
                    groups.sort_rows(p, &[&[]], params, &mut ticker, &mut sorting).await?;
                } else {
                    groups.add_row(p, &[], params)?;
                }
            }
        }
        Some(t)
            if txn.overlay(t).is_some()
                || crate::catalog::is_view(t)
                || crate::relation::is_derived(t)
                || p.paths.use_index()
                    && p.filter.as_ref().is_some_and(|f| {
                        crate::bind::pk_lookup(f, t).is_some()
                            || crate::exec::index_scan::choose(t, f).is_some_and(|a| !a.eq.is_empty())
                    }) =>
        {
            // The transaction changed this table, or its key or an index's equal values find
            // the filter's rows (a range through an index may be most of the table: that
            // stays on the shards): group what it reads, here.
            let rows = crate::exec::scan(txn, t, p.filter.as_ref(), None, params).await?;
            if sorted {
                let refs: Vec<&[Datum]> = rows.iter().map(|(_, r)| r.as_slice()).collect();
                groups.sort_rows(p, &refs, params, &mut ticker, &mut sorting).await?;
            } else {
                for batch in rows.chunks(BATCH) {
                    ticker.tick(batch.len()).await?;
                    let refs: Vec<&[Datum]> = batch.iter().map(|(_, r)| r.as_slice()).collect();
                    groups.add_batch(p, &refs, params)?;
                }
            }
        }
        Some(t) => {
            let name = t.name.clone();
            let plan = p.clone();
            let params_v = params.to_vec();
            let at = txn.read_at();
            // A filter on the leading key columns reads that key range of each shard's part.
            let range = if p.paths.use_index() { crate::exec::key_range(t, p.filter.as_ref(), params)? } else { None };
            txn.note_read(t, || match &range {
                Some((lo, hi)) => crate::serializable::Read::Range(lo.clone(), hi.clone()),
                None => crate::serializable::Read::Table,
            });
            let parts = crate::exec::on_every_shard_at(at, move |s| {
                let t = s.tables.get(&name).ok_or_else(|| no_table(&name))?;
                let scan = || match &range {
                    Some((lo, hi)) => t.range_at(
                        std::ops::Bound::Included(lo.as_slice()),
                        hi.as_deref().map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
                        at,
                    ),
                    None => t.scan_at(at),
                };
                let sorted = plan.group_strategy == Strategy::Sort && !plan.group_by.is_empty();
                if sorted {
                    // The partial GroupAggregate: this shard's matching rows sorted by key.
                    let mut rows: Vec<&[Datum]> = Vec::new();
                    for (_, row) in scan().map_err(crate::exec::too_old)? {
                        if matches(plan.filter.as_ref(), row, &params_v)? {
                            rows.push(row);
                        }
                    }
                    let mut g = Groups::default();
                    g.sort_rows_here(&plan, &rows, &params_v)?;
                    return Ok(g.list);
                }
                // The batch path when it runs the filter and every aggregate (crate::vector).
                if let Some(v) = crate::vector::Aggregation::compile(&plan, &params_v) {
                    let rows = scan().map_err(crate::exec::too_old)?.map(|(_, r)| r);
                    if let Some(groups) = v.run(rows)? {
                        let state = |(vals, states): (Vec<Datum>, Vec<AggState>)| {
                            (vals, states.into_iter().map(Acc::State).collect::<Vec<_>>())
                        };
                        return Ok(groups.into_iter().map(state).collect());
                    }
                }
                let mut g = Groups::default();
                let mut batch: Vec<&[Datum]> = Vec::with_capacity(BATCH);
                for (_, row) in scan().map_err(crate::exec::too_old)? {
                    match matches(plan.filter.as_ref(), row, &params_v) {
                        Ok(true) => batch.push(row),
                        Ok(false) => continue,
                        Err(e) => {
                            // The rows before this one first, as row at a time.
                            g.add_batch(&plan, &batch, &params_v)?;
                            return Err(e);
                        }
                    }
                    if batch.len() == BATCH {
                        g.add_batch(&plan, &batch, &params_v)?;
                        batch.clear();
                    }
                }
                g.add_batch(&plan, &batch, &params_v)?;
                Ok::<_, SqlError>(g.list)
            })
            .await?;
            if sorted {
                let mut all = Vec::new();
                for part in parts {
                    all.extend(part?);
                }
                groups.merge_sorted(p, all, &mut ticker, &mut sorting).await?;
            } else {
                for part in parts {
                    let mut part = part?.into_iter();
                    loop {
                        let batch: Vec<_> = part.by_ref().take(BATCH).collect();
                        if batch.is_empty() {
                            break;
                        }
                        ticker.tick(batch.len()).await?;
                        groups.merge_part(p, batch)?;
                    }
                }
            }
        }
    }
    // Without GROUP BY there is exactly one group, even over no rows.
    if p.group_by.is_empty() && p.grouping_sets.is_empty() && groups.list.is_empty() {
        groups.list.push((vec![], p.aggs.iter().map(Acc::new).collect()));
    }
    // So does each empty grouping set.
    for (n, set) in p.grouping_sets.iter().enumerate() {
        let id = Datum::Int4(i32::try_from(n).unwrap_or(i32::MAX));
        if set.is_empty() && !groups.list.iter().any(|(v, _)| v.last() == Some(&id)) {
            let mut vals = vec![Datum::Null; p.group_by.len()];
            vals.push(id);
            groups.list.push((vals, p.aggs.iter().map(Acc::new).collect()));
        }
    }
    let mut out = Vec::with_capacity(groups.list.len());
    let mut held = Held::new(txn.memory(), output_operator(p));
    let mut windowed = Vec::new();
    for (vals, accs) in std::mem::take(&mut groups.list) {
        ticker.tick(1).await?;
        let aggs = accs.into_iter().zip(&p.aggs).map(|(a, spec)| a.finish(spec)).collect::<Result<Vec<_>>>()?;
        let cx = Ctx { row: &vals, params, aggs: &aggs };
        if let Some(h) = &p.having {
            if expr::truth(expr::eval(h, &cx)?) != Some(true) {
                continue;
            }
        }
        if !p.windows.is_empty() {
            // Window functions run over all the groups that pass HAVING.
            windowed.push((vals, aggs));
            continue;
        }
        crate::srf::project(p, &cx, &mut out, &mut held)?;
    }
    drop(groups);
    if !p.windows.is_empty() {
        out = crate::window::project(txn, p, windowed, params, &mut held).await?;
    }
    let rows = finish(txn, out, p, limit, offset).await?;
    held.keep();
    Ok(QueryResult { tag: format!("SELECT {}", rows.len()), rows, notices: vec![] })
}

/// What a SELECT's output rows are charged as: they are ORDER BY's buffer when it sorts.
pub(crate) fn output_operator(p: &SelectPlan) -> &'static str {
    if p.order_by.is_empty() {
        "result rows"
    } else {
        "sort"
    }
}

/// The ORDER BY values of one output row.
pub fn sort_keys(order_by: &[SortKey], projected: &[Datum], cx: &Ctx) -> Result<Vec<Datum>> {
    let mut keys = Vec::with_capacity(order_by.len());
    for k in order_by {
        keys.push(match &k.source {
            crate::bind::SortSource::Output(i) => projected.get(*i).cloned().unwrap_or(Datum::Null),
            crate::bind::SortSource::Input(e) => expr::eval(e, cx)?,
        });
    }
    Ok(keys)
}

/// Orders two lists of sort values key by key: each key (descending?, NULLs first?).
pub(crate) fn cmp_keys(a: &[Datum], b: &[Datum], order: impl Iterator<Item = (bool, bool)>) -> Ordering {
    for ((x, y), (desc, nulls_first)) in a.iter().zip(b).zip(order) {
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) if nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => {
                let o = expr::compare(x, y).unwrap_or(Ordering::Equal);
                if desc {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// ORDER BY, DISTINCT [ON], OFFSET and LIMIT over output rows (each with its sort values).
/// The rows were charged to the statement's memory as they were projected; DISTINCT's hash set
/// is charged here. A cancel request or `statement_timeout` stops the sort and DISTINCT.
pub async fn finish(
    txn: &crate::txn::Txn,
    mut out: Vec<(Vec<Datum>, Row)>,
    p: &SelectPlan,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<Vec<Row>> {
    let mut ticker = Ticker::new(txn);
    // DISTINCT under enable_hashagg = off: PostgreSQL's Unique over a Sort by the ORDER BY
    // keys and then every output column; the kept rows go on as rows without DISTINCT.
    let unique = p.group_strategy == Strategy::Sort && p.distinct == Distinct::All;
    if unique {
        out = sorted_unique(txn, out, p, &mut ticker).await?;
    } else if !p.order_by.is_empty() {
        // Sorted on the keys read once into typed columns (crate::sort_key), as cmp_keys orders.
        const NULL: &Datum = &Datum::Null;
        let order: Vec<(bool, bool)> = p.order_by.iter().map(|k| (k.desc, k.nulls_first)).collect();
        let keys = crate::sort_key::SortKeys::new(out.len(), &order, |r, k| out[r].0.get(k).unwrap_or(NULL));
        let mut sorting = Held::sort(txn.memory(), "sort");
        sorting.add(keys.bytes())?;
        let perm = keys.order(&mut ticker).await?;
        drop(keys);
        out = crate::sort_key::permute(out, &perm);
    }
    // FETCH ... WITH TIES: rows i and j sort alike (equal ORDER BY values, NULLs alike).
    let ties = p.limit_ties && limit.is_some();
    let nkeys = p.order_by.len();
    let tie = |out: &[(Vec<Datum>, Row)], i: usize, j: usize| {
        (0..nkeys).all(|k| match (out[i].0.get(k), out[j].0.get(k)) {
            (Some(a), Some(b)) => crate::group_key::same(a, b),
            _ => false,
        })
    };
    if p.distinct == Distinct::None || unique {
        let skip = (offset.unwrap_or(0) as usize).min(out.len());
        let mut end = skip.saturating_add(limit.map_or(usize::MAX, |l| l as usize)).min(out.len());
        if ties && end > skip {
            while end < out.len() && tie(&out, end - 1, end) {
                end += 1;
            }
        }
        out.truncate(end);
        return Ok(out.into_iter().skip(skip).map(|(_, r)| r).collect());
    }
    let mut held = Held::hash(txn.memory(), "DISTINCT");
    let (skip, take) = (offset.unwrap_or(0) as usize, limit.map_or(usize::MAX, |l| l as usize));
    let key = |(keys, row): &(Vec<Datum>, Row)| -> usize {
        match p.distinct {
            // The first row (in ORDER BY order) of each set with equal leading sort values.
            Distinct::On(n) => n.min(keys.len()),
            // The first row of each set of equal rows.
            _ => row.len(),
        }
    };
    let value = |i: usize, k: usize| -> &Datum {
        match p.distinct {
            Distinct::On(_) => &out[i].0[k],
            _ => &out[i].1[k],
        }
    };
    // The rows kept so far by the hash of their key (crate::group_key): positions in `out`.
    let mut table = GroupTable::default();
    let mut firsts: Vec<usize> = Vec::new();
    let mut wanted: Vec<usize> = Vec::new();
    for (i, item) in out.iter().enumerate() {
        if wanted.len() >= take && !(ties && take > 0 && wanted.last().is_some_and(|&w| tie(&out, w, i))) {
            break;
        }
        ticker.tick(1).await?;
        let n = key(item);
        let h = crate::group_key::hash_row((0..n).map(|k| value(i, k)));
        let seen = table.find(h, |g| {
            let f = firsts[g];
            key(&out[f]) == n && (0..n).all(|k| crate::group_key::same(value(f, k), value(i, k)))
        });
        if seen.is_some() {
            continue;
        }
        held.add(GroupTable::BYTES_PER_GROUP + std::mem::size_of::<usize>())?;
        table.insert(h);
        firsts.push(i);
        if firsts.len() > skip {
            wanted.push(i);
        }
    }
    drop(table);
    let mut wanted = wanted.into_iter().peekable();
    Ok(out
        .into_iter()
        .enumerate()
        .filter_map(|(i, (_, row))| (wanted.next_if_eq(&i).is_some()).then_some(row))
        .collect())
}

/// DISTINCT by sorting (enable_hashagg = off): the output rows sorted by their ORDER BY values
/// and then every column in order (ascending, NULLs last), each row equal to the one before it
/// dropped. The sort's keys are charged as a sort (`work_mem`).
async fn sorted_unique(
    txn: &crate::txn::Txn,
    out: Vec<(Vec<Datum>, Row)>,
    p: &SelectPlan,
    ticker: &mut Ticker,
) -> Result<Vec<(Vec<Datum>, Row)>> {
    const NULL: &Datum = &Datum::Null;
    let nkeys = p.order_by.len();
    let width = out.first().map_or(0, |(_, r)| r.len());
    let order: Vec<(bool, bool)> =
        p.order_by.iter().map(|k| (k.desc, k.nulls_first)).chain(std::iter::repeat_n((false, false), width)).collect();
    let value = |r: usize, k: usize| -> &Datum {
        let (keys, row) = &out[r];
        if k < nkeys {
            keys.get(k).unwrap_or(NULL)
        } else {
            row.get(k - nkeys).unwrap_or(NULL)
        }
    };
    let keys = crate::sort_key::SortKeys::new(out.len(), &order, value);
    let mut sorting = Held::sort(txn.memory(), "sort");
    sorting.add(keys.bytes())?;
    let perm = keys.order(ticker).await?;
    drop(keys);
    let mut kept: Vec<(Vec<Datum>, Row)> = Vec::with_capacity(out.len());
    for item in crate::sort_key::permute(out, &perm) {
        ticker.tick(1).await?;
        let repeated = kept.last().is_some_and(|(_, last)| {
            last.len() == item.1.len() && last.iter().zip(item.1.iter()).all(|(a, b)| crate::group_key::same(a, b))
        });
        if !repeated {
            kept.push(item);
        }
    }
    Ok(kept)
}

/// Rewrites a bound expression of a grouped query over the group instead of the input row:
/// every subexpression equal to GROUP BY item k becomes `Column(k)`. Err(column) for an input
/// column left outside any GROUP BY item and aggregate (PostgreSQL's 42803).
pub fn regroup(e: &Expr, group_by: &[Expr]) -> std::result::Result<Expr, usize> {
    let text = format!("{e:?}");
    if let Some(k) = group_by.iter().position(|g| format!("{g:?}") == text) {
        return Ok(Expr::Column(k, e.ty()));
    }
    let r = |x: &Expr| regroup(x, group_by);
    let b = |x: &Expr| regroup(x, group_by).map(Box::new);
    let v = |l: &[Expr]| l.iter().map(|x| regroup(x, group_by)).collect::<std::result::Result<Vec<_>, _>>();
    Ok(match e {
        Expr::Column(i, _) => return Err(*i),
        Expr::Const(..) | Expr::Param(..) | Expr::Agg(..) => e.clone(),
        Expr::Arith(op, x, y, t) => Expr::Arith(*op, b(x)?, b(y)?, *t),
        Expr::Cmp(op, x, y) => Expr::Cmp(*op, b(x)?, b(y)?),
        Expr::Concat(x, y) => Expr::Concat(b(x)?, b(y)?),
        Expr::And(x, y) => Expr::And(b(x)?, b(y)?),
        Expr::Or(x, y) => Expr::Or(b(x)?, b(y)?),
        Expr::Not(x) => Expr::Not(b(x)?),
        Expr::Neg(x, t) => Expr::Neg(b(x)?, *t),
        Expr::IsNull(x, n) => Expr::IsNull(b(x)?, *n),
        Expr::IsBool(x, val, n) => Expr::IsBool(b(x)?, *val, *n),
        Expr::InList(x, l, n) => Expr::InList(b(x)?, v(l)?, *n),
        Expr::InSet(x, s, n) => Expr::InSet(b(x)?, s.clone(), *n),
        Expr::Lookup(x, m, t) => Expr::Lookup(b(x)?, m.clone(), *t),
        Expr::Like(x, pat, n, ci) => Expr::Like(b(x)?, b(pat)?, *n, *ci),
        Expr::Cast(x, t, explicit) => Expr::Cast(b(x)?, *t, *explicit),
        Expr::Coalesce(l, t) => Expr::Coalesce(v(l)?, *t),
        Expr::Func(f, l, t) => Expr::Func(*f, v(l)?, *t),
        Expr::Call(f, l, t) => Expr::Call(*f, v(l)?, *t),
        Expr::Case(whens, otherwise, t) => {
            let whens = whens
                .iter()
                .map(|(w, x)| Ok::<_, usize>((r(w)?, r(x)?)))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let otherwise = match otherwise {
                Some(o) => Some(b(o)?),
                None => None,
            };
            Expr::Case(whens, otherwise, *t)
        }
    })
}

/// Whether the expression calls an aggregate.
pub fn has_agg(e: &Expr) -> bool {
    let l = |l: &[Expr]| l.iter().any(has_agg);
    match e {
        Expr::Agg(..) => true,
        Expr::Const(..) | Expr::Column(..) | Expr::Param(..) => false,
        Expr::Arith(_, x, y, _) | Expr::Cmp(_, x, y) | Expr::Concat(x, y) | Expr::And(x, y) | Expr::Or(x, y) => {
            has_agg(x) || has_agg(y)
        }
        Expr::Like(x, y, ..) => has_agg(x) || has_agg(y),
        Expr::Not(x) | Expr::Neg(x, _) | Expr::IsNull(x, _) | Expr::IsBool(x, ..) | Expr::Cast(x, ..) => has_agg(x),
        Expr::InList(x, list, _) => has_agg(x) || l(list),
        Expr::InSet(x, ..) | Expr::Lookup(x, ..) => has_agg(x),
        Expr::Coalesce(list, _) | Expr::Func(_, list, _) | Expr::Call(_, list, _) => l(list),
        Expr::Case(whens, otherwise, _) => {
            whens.iter().any(|(w, t)| has_agg(w) || has_agg(t)) || otherwise.as_deref().is_some_and(has_agg)
        }
    }
}

/// PostgreSQL's message for a column used outside GROUP BY and aggregates.
pub fn ungrouped(table: &str, column: &str) -> SqlError {
    SqlError::new(
        code::GROUPING_ERROR,
        format!("column \"{table}.{column}\" must appear in the GROUP BY clause or be used in an aggregate function"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_engine::table::SqlType;

    #[test]
    fn group_keys_follow_sql_equality() {
        assert_eq!(key_of(&[Datum::Float8(-0.0)]), key_of(&[Datum::Float8(0.0)]));
        assert_eq!(key_of(&[Datum::Float8(f64::NAN)]), key_of(&[Datum::Float8(-f64::NAN)]));
        assert_eq!(key_of(&[Datum::Null]), key_of(&[Datum::Null]));
        assert_ne!(key_of(&[Datum::Text("a".into())]), key_of(&[Datum::Text("A".into())]));
    }

    #[test]
    fn sorted_grouping_needs_keys_with_an_order() {
        assert!(sortable(SqlType::Text) && sortable(SqlType::Jsonb) && sortable(SqlType::Numeric(None)));
        assert!(!sortable(SqlType::Json) && !sortable(SqlType::JsonPath));
        assert!(!sortable(SqlType::Json.array_of().unwrap()));
        // Ascending, NULLs last; equal keys (0 and -0) next to each other.
        let vals = [Datum::Int4(3), Datum::Null, Datum::Float8(-0.0), Datum::Int4(1), Datum::Float8(0.0)];
        let floats: Vec<Datum> = vals.iter().map(|d| d.as_f64().map_or(Datum::Null, Datum::Float8)).collect();
        assert_eq!(key_order_here(floats.len(), 1, |r, _| &floats[r]), vec![2, 4, 3, 0, 1]);
    }

    #[test]
    fn regroup_replaces_group_items_and_finds_ungrouped_columns() {
        let col = |i| Box::new(Expr::Column(i, SqlType::Int4));
        let one = || Box::new(Expr::Const(Datum::Int4(1), SqlType::Int4));
        let g_plus_1 = Expr::Arith(expr::ArithOp::Add, col(1), one(), SqlType::Int4);
        // GROUP BY c1: c1 + 1 reads group value 0.
        let r = regroup(&g_plus_1, &[Expr::Column(1, SqlType::Int4)]).unwrap();
        assert!(matches!(r, Expr::Arith(_, ref x, _, _) if matches!(**x, Expr::Column(0, _))));
        // GROUP BY c1 + 1: the whole expression is group value 0; c1 alone is not grouped.
        assert!(matches!(regroup(&g_plus_1, std::slice::from_ref(&g_plus_1)).unwrap(), Expr::Column(0, _)));
        assert_eq!(regroup(&Expr::Column(1, SqlType::Int4), &[g_plus_1]).unwrap_err(), 1);
    }

    #[test]
    fn string_agg_partial_states_keep_the_delimiter_between_parts() {
        let spec = AggSpec {
            func: AggFunc::StringAgg,
            arg: None,
            ty: SqlType::Text,
            distinct: false,
            delim: None,
            order_by: vec![],
            filter: None,
        };
        let t = |s: &str| Datum::Text(s.into());
        let mut a = AggState::new(&spec);
        a.update_text(t("x"), t(",")).unwrap();
        a.update_text(t("y"), t(";")).unwrap();
        let mut b = AggState::new(&spec);
        b.update_text(t("z"), t("-")).unwrap();
        b.update_text(Datum::Null, t("!")).unwrap();
        a.merge(&spec, b).unwrap();
        assert_eq!(a.finish(&spec).unwrap(), t("x;y-z"));
    }
}
