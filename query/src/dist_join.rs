//! Join steps that run on the shards (distribution). An inner join's step ([`crate::join`]'s
//! `rows_where`) runs where it costs least ([`choose`], [`crate::cost::join_distribution`]):
//!
//! - On the coordinating shard (as before): the table's rows come to the coordinator (all that
//!   pass its own conditions, or only those with the keys of the rows so far: key reduction),
//!   which hashes them and probes with the rows so far.
//! - Broadcast: the rows so far (only the columns the step reads: its hash keys and the columns
//!   of the rest of its conditions) go to every shard ([`Probe`]); each shard hashes them, probes
//!   with its part of the table (its rows the transaction's snapshot sees, its own conditions
//!   checked there, [`crate::exec::broadcast_scan`]) and sends back each matching row once, cut
//!   to the columns the rest of the plan reads, with the rows so far it matched. The rows the
//!   transaction itself wrote to the table are probed on the coordinator instead of the shards'
//!   versions of them.
//! - Co-located: when the step's hash keys are the full primary keys of both tables, in key
//!   order and of the same types, equal keys hash to the same shard, so each shard joins its
//!   parts of the two tables ([`CoJoin`], [`crate::exec::colocated_scan`]) and only the joined
//!   rows move. It is the first step of a join (both tables read by it), and not when the
//!   transaction has its own rows in either table (then the coordinator joins them as before).
//! - Repartition ([`crate::shuffle`]): each row so far goes to one shard, the one its join key
//!   hashes to, and so does each row of the table, shard to shard (not through the
//!   coordinator); each shard hashes the rows so far it got, probes with the table's rows it got
//!   and sends back the matches, as broadcast does. When the table is partitioned on the step's
//!   keys already (its whole primary key among them, [`partitioned_on`]; the co-located case's
//!   generalisation to any step) the table stays: a row so far goes to the shard that holds its
//!   key's rows, which probes with its part of the table. Index lookups ([`crate::index_join`])
//!   also send keys only to the shard that holds them, but bring the rows found back to the
//!   coordinator, which joins them: they stay the choice for few rows so far
//!   ([`crate::join::step_work`]), repartitioning is weighed only for a step that reads its
//!   table whole.
//!
//! The figures ([`crate::cost::join_distribution`]) count each row that crosses between shards
//! at `parallel_tuple_cost`, which dominates: with the matches coming back to the coordinator,
//! a repartition that moves the table never moves fewer rows than the cheaper of the other two
//! (`left + table (n-1)/n + matched` against `table` and `left n + matched`), so it is chosen
//! only where spreading the hashing pays for the difference (many shards, few matches); the
//! partitioned form, which moves only the rows so far, is chosen whenever they and their
//! matches are fewer than the table's rows and lookups cost more.
//!
//! With one shard every step runs on the coordinator. Outer joins, FOR UPDATE and the joins of
//! UPDATE/DELETE ... FROM keep to the coordinator.

use crate::error::Result;
use crate::expr::{self, Ctx, Expr};
use crate::join_key::{self, Buckets};
use orbit_engine::table::{Datum, Row};
use std::sync::Arc;

/// Where a join step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    /// The table's rows come to the coordinating shard, which joins them.
    Coordinator,
    /// The rows so far go to every shard, which joins them with its part of the table.
    Broadcast,
    /// Both tables are partitioned alike on the join key: each shard joins its parts.
    CoLocated,
    /// Each row so far goes to the one shard its key hashes to; so does each row of the table
    /// (`table_moves`), unless the table is partitioned on the step's keys already (then a
    /// row so far goes to the shard that holds its key's rows). Each shard joins what it has.
    Repartition { table_moves: bool },
}

impl Distribution {
    /// EXPLAIN's line for a step that runs on the shards (None on the coordinator).
    pub fn line(self, shards: usize) -> Option<String> {
        match self {
            Distribution::Coordinator => None,
            Distribution::Broadcast => Some(format!("Distribution: broadcast ({shards} shards)")),
            Distribution::CoLocated => Some(format!("Distribution: co-located ({shards} shards)")),
            Distribution::Repartition { table_moves: true } => {
                Some(format!("Distribution: repartition ({shards} shards)"))
            }
            Distribution::Repartition { table_moves: false } => {
                Some(format!("Distribution: repartition of the rows so far ({shards} shards)"))
            }
        }
    }

    /// Whether the step's table is read on the shards at its step (not up front).
    pub(crate) fn reads_at_step(self) -> bool {
        matches!(self, Distribution::Broadcast | Distribution::Repartition { .. })
    }
}

/// Where a hash-join step runs, from its rows so far (`left`), the rows of its table after its
/// own conditions (`table`), whether the coordinator would read the table with the keys of the
/// rows so far (`reduced`), the rows it joins to (`out`) and whether the table is partitioned
/// on the step's keys ([`partitioned_on`]): the cheapest of the three figures of
/// [`crate::cost::join_distribution`] (a tie keeps the coordinator, then broadcast). On the
/// shards only for a table the shards can scan whole and with fewer rows so far than
/// [`u32::MAX`].
pub(crate) fn choose(
    shards: usize,
    left: f64,
    table: f64,
    reduced: bool,
    out: f64,
    eligible: bool,
    partitioned: bool,
) -> Distribution {
    if shards < 2 || !eligible || left >= u32::MAX as f64 {
        return Distribution::Coordinator;
    }
    let c = crate::cost::join_distribution(shards, left, table, reduced, out, partitioned);
    if c.repartition < c.coordinator && c.repartition < c.broadcast {
        Distribution::Repartition { table_moves: !partitioned }
    } else if c.broadcast < c.coordinator {
        Distribution::Broadcast
    } else {
        Distribution::Coordinator
    }
}

/// Whether `def` is partitioned on a step's keys `right` (its columns, as stored): its whole
/// primary key is among them, so rows with equal keys live on one shard, the one
/// [`crate::exec::shard_of_key`] names for the key's encoding. Per primary-key column, the
/// position in `right` of the key that gives it. None for a table with a hidden row id.
pub(crate) fn partitioned_on(def: &orbit_engine::table::TableDef, right: &[usize]) -> Option<Vec<usize>> {
    if def.has_row_id() || def.pk.is_empty() {
        return None;
    }
    def.pk.iter().map(|c| right.iter().position(|r| r == c)).collect()
}

/// What a broadcast step sends every shard: the rows so far, cut to the columns it reads, and
/// how a row of its table matches them.
pub(crate) struct Probe {
    /// The rows so far (their columns the step reads).
    pub left: Vec<Row>,
    /// The hash-key columns in a row of `left`.
    pub left_keys: Vec<usize>,
    /// The hash-key columns in a row of the table as stored.
    pub right_keys: Vec<usize>,
    /// The rest of the step's conditions, over a row of `left` followed by the table's row cut
    /// to `cols`.
    pub on: Option<Expr>,
    /// The table's columns sent back (None: all).
    pub cols: Option<Arc<[usize]>>,
    pub params: Vec<Datum>,
}

/// A row of the table that matched: cut to the columns sent back, with the rows so far it
/// matched (positions in [`Probe::left`], ascending), and its key when the transaction has rows
/// of its own in the table (the coordinator drops the shards' versions of those).
pub(crate) struct Matched {
    pub key: Option<Vec<u8>>,
    pub row: Row,
    pub with: Vec<u32>,
}

impl Probe {
    /// The rows so far by their keys (each shard builds its own).
    pub(crate) fn index(&self) -> Buckets<'_> {
        Buckets::build(&self.left, &self.left_keys)
    }

    /// The rows so far that `row` (a whole row of the table) matches, and the row cut to the
    /// columns sent back; None when it matches none. `scratch` is reused between calls.
    pub(crate) fn probe(
        &self,
        index: &Buckets<'_>,
        row: &[Datum],
        scratch: &mut Row,
    ) -> Result<Option<(Row, Vec<u32>)>> {
        let Some(k) = join_key::of(row, &self.right_keys) else { return Ok(None) };
        let mut with = Vec::new();
        let mut cut: Option<Row> = None;
        for i in index.get(&k) {
            if let Some(on) = &self.on {
                let r = cut.get_or_insert_with(|| crate::exec::narrow(row, self.cols.as_deref()));
                scratch.clear();
                scratch.extend_from_slice(&self.left[i]);
                scratch.extend_from_slice(r);
                if expr::truth(expr::eval(on, &Ctx { row: scratch, params: &self.params, aggs: &[] })?) != Some(true) {
                    continue;
                }
            }
            with.push(i as u32);
        }
        if with.is_empty() {
            return Ok(None);
        }
        Ok(Some((cut.unwrap_or_else(|| crate::exec::narrow(row, self.cols.as_deref())), with)))
    }
}

/// A co-located step: two tables partitioned alike on its hash keys, joined on every shard.
pub(crate) struct CoJoin {
    /// Per side (the first table read, the one joined to it): its own conditions and the
    /// columns sent back (None: all).
    pub filters: [Option<Expr>; 2],
    pub cols: [Option<Arc<[usize]>>; 2],
    /// The hash-key columns of the first table's row as cut to its columns, and of the second
    /// table's row as stored.
    pub left_keys: Vec<usize>,
    pub right_keys: Vec<usize>,
    /// The rest of the step's conditions, over the two rows as cut, end to end.
    pub on: Option<Expr>,
    pub params: Vec<Datum>,
    /// Merge the two parts in key order ([`crate::merge_join`]) as a join of this kind, in
    /// place of hashing the first; the rows an outer side keeps unmatched come back padded
    /// with NULLs to `widths` (each side's width as cut).
    pub merge: Option<crate::join::JoinKind>,
    pub widths: [usize; 2],
}

impl CoJoin {
    /// The rows of `left` (the first table's rows as cut) that `row` (a whole row of the second
    /// table) joins with, and the row as cut; None when none.
    pub(crate) fn probe(
        &self,
        left: &[Row],
        index: &Buckets<'_>,
        row: &[Datum],
        scratch: &mut Row,
    ) -> Result<Option<(Row, Vec<usize>)>> {
        let Some(k) = join_key::of(row, &self.right_keys) else { return Ok(None) };
        let cut = crate::exec::narrow(row, self.cols[1].as_deref());
        let mut with = Vec::new();
        for i in index.get(&k) {
            if let Some(on) = &self.on {
                scratch.clear();
                scratch.extend_from_slice(&left[i]);
                scratch.extend_from_slice(&cut);
                if expr::truth(expr::eval(on, &Ctx { row: scratch, params: &self.params, aggs: &[] })?) != Some(true) {
                    continue;
                }
            }
            with.push(i);
        }
        Ok((!with.is_empty()).then_some((cut, with)))
    }
}

/// Whether `a` and `b`'s primary keys are the step's hash keys `eq` ((column of a, column of
/// b) pairs, as stored) in key order, with the same types: then equal keys encode alike and so
/// live on the same shard. Tables with a hidden row id never qualify.
pub(crate) fn colocated(
    a: &orbit_engine::table::TableDef,
    b: &orbit_engine::table::TableDef,
    eq: &[(usize, usize)],
) -> bool {
    if a.has_row_id() || b.has_row_id() || a.pk.is_empty() || a.pk.len() != b.pk.len() {
        return false;
    }
    a.pk.iter().zip(&b.pk).all(|(&ca, &cb)| {
        let same_type = match (a.columns.get(ca), b.columns.get(cb)) {
            (Some(x), Some(y)) => x.ty.same_key_type(y.ty),
            _ => false,
        };
        same_type && eq.contains(&(ca, cb))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shard_stays_on_the_coordinator() {
        assert_eq!(choose(1, 10.0, 1e6, true, 10.0, true, true), Distribution::Coordinator);
        assert_eq!(choose(2, 10.0, 1e6, true, 10.0, false, true), Distribution::Coordinator);
    }

    #[test]
    fn few_rows_so_far_next_to_a_big_table_broadcast() {
        assert_eq!(choose(2, 10.0, 1e6, true, 10.0, true, false), Distribution::Broadcast);
        assert_eq!(choose(2, 1e5, 1e5, false, 1e5, true, false), Distribution::Coordinator);
    }

    #[test]
    fn a_table_partitioned_on_the_keys_takes_the_rows_so_far() {
        // Each row so far to one shard beats it to every shard.
        let d = choose(2, 10.0, 1e6, true, 10.0, true, true);
        assert_eq!(d, Distribution::Repartition { table_moves: false });
        assert_eq!(choose(2, 1e4, 1e5, true, 1e4, true, true), Distribution::Repartition { table_moves: false });
        // As many rows so far as the table has, each matching: the table's rows coming to the
        // coordinator cross fewer times than the rows so far and the matches.
        assert_eq!(choose(2, 1e5, 1e5, false, 1e5, true, true), Distribution::Coordinator);
    }

    #[test]
    fn both_sides_move_when_neither_is_small_and_few_rows_match() {
        // Rows so far about a table's part per shard, few matches: each side moves once and the
        // hashing is spread over the shards.
        let d = choose(16, 1e5, 1e6, false, 1e3, true, false);
        assert_eq!(d, Distribution::Repartition { table_moves: true });
        // With many matches the coordinator's read of the table costs less.
        assert_eq!(choose(16, 1e5, 1e6, false, 1e6, true, false), Distribution::Coordinator);
    }

    #[test]
    fn partitioned_on_needs_the_whole_primary_key() {
        use orbit_engine::table::{ColumnDef, SqlType, TableDef};
        let col = |n: &str| ColumnDef::new(n, SqlType::Int4);
        let def = TableDef {
            name: "t".into(),
            columns: vec![col("a"), col("b"), col("c")],
            pk: vec![0, 1],
            ..TableDef::default_empty()
        };
        assert_eq!(partitioned_on(&def, &[1, 2, 0]), Some(vec![2, 0]));
        assert_eq!(partitioned_on(&def, &[0]), None);
    }

    #[test]
    fn colocation_ignores_date_time_precisions_only() {
        use orbit_engine::table::{ColumnDef, SqlType, TableDef};
        let keyed = |ty: SqlType| TableDef {
            name: "t".into(),
            columns: vec![ColumnDef::new("k", ty)],
            pk: vec![0],
            ..TableDef::default_empty()
        };
        let (ts3, ts) = (keyed(SqlType::Timestamp(Some(3))), keyed(SqlType::Timestamp(None)));
        assert!(colocated(&ts3, &ts, &[(0, 0)]));
        assert!(colocated(&keyed(SqlType::Interval(Some(0))), &keyed(SqlType::Interval(None)), &[(0, 0)]));
        // A numeric's scale shows in its stored value (1.50 vs 1.5): not co-located.
        let (n2, n) = (keyed(SqlType::Numeric(Some((10, 2)))), keyed(SqlType::Numeric(None)));
        assert!(!colocated(&n2, &n, &[(0, 0)]));
        assert!(!colocated(&ts, &keyed(SqlType::TimestampTz(None)), &[(0, 0)]));
    }

    #[test]
    fn probe_matches_keys_and_the_rest_of_the_conditions() {
        let p = Probe {
            left: vec![vec![Datum::Int4(1)], vec![Datum::Int8(2)], vec![Datum::Null], vec![Datum::Int2(1)]],
            left_keys: vec![0],
            right_keys: vec![1],
            on: None,
            cols: Some(Arc::from(vec![0usize])),
            params: vec![],
        };
        let index = p.index();
        let mut scratch = Vec::new();
        let got = p.probe(&index, &[Datum::Text("x".into()), Datum::Int8(1)], &mut scratch).unwrap();
        assert_eq!(got, Some((vec![Datum::Text("x".into())], vec![0, 3])));
        assert_eq!(p.probe(&index, &[Datum::Null, Datum::Null], &mut scratch).unwrap(), None);
        assert_eq!(p.probe(&index, &[Datum::Null, Datum::Int4(3)], &mut scratch).unwrap(), None);
    }
}
