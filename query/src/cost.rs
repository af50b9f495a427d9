//! EXPLAIN's cost model: PostgreSQL's cost units and cost constants (the session's
//! `seq_page_cost`, `random_page_cost`, `cpu_tuple_cost`, `cpu_index_tuple_cost`,
//! `cpu_operator_cost` and `parallel_tuple_cost`, by default 1.0, 4.0, 0.01, 0.005, 0.0025 and
//! 0.1, [`constants`]), applied to the row counts
//! [`crate::stats`] estimates. What it models, and what not: Orbit keeps rows in memory, so a
//! "page" is a notional 8 kB of rows (row width plus PostgreSQL's 28 bytes of tuple header and
//! line pointer), kept so that numbers read like PostgreSQL's; a scan under a Gather is one
//! shard's part (shards run in parallel, as PostgreSQL's parallel workers do), and the Gather
//! charges `parallel_tuple_cost` per row that crosses to the coordinating shard. Memory, the
//! log, locks and the mesh's batching are not modelled. The numbers order plans; they are not
//! time.

use std::fmt;

/// The cost constants a statement is planned with: the session's `seq_page_cost`,
/// `random_page_cost`, `cpu_tuple_cost`, `cpu_index_tuple_cost`, `cpu_operator_cost` and
/// `parallel_tuple_cost` while it is bound (read once per bind, [`constants`]), PostgreSQL's
/// defaults elsewhere.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constants {
    pub seq_page: f64,
    pub random_page: f64,
    pub cpu_tuple: f64,
    pub cpu_index_tuple: f64,
    pub cpu_operator: f64,
    pub parallel_tuple: f64,
}

impl Constants {
    pub const DEFAULT: Constants = Constants {
        seq_page: 1.0,
        random_page: 4.0,
        cpu_tuple: 0.01,
        cpu_index_tuple: 0.005,
        cpu_operator: 0.0025,
        parallel_tuple: 0.1,
    };

    fn of_binding() -> Constants {
        let d = Constants::DEFAULT;
        let read = |name: &str, default: f64| {
            crate::settings::bound_value(name).and_then(|v| v.parse::<f64>().ok()).unwrap_or(default)
        };
        Constants {
            seq_page: read("seq_page_cost", d.seq_page),
            random_page: read("random_page_cost", d.random_page),
            cpu_tuple: read("cpu_tuple_cost", d.cpu_tuple),
            cpu_index_tuple: read("cpu_index_tuple_cost", d.cpu_index_tuple),
            cpu_operator: read("cpu_operator_cost", d.cpu_operator),
            parallel_tuple: read("parallel_tuple_cost", d.parallel_tuple),
        }
    }
}

thread_local! {
    static CONSTANTS: std::cell::Cell<Option<Constants>> = const { std::cell::Cell::new(None) };
}

/// The cost constants of the statement being bound (the session's settings, read at the
/// bind's first estimate), or PostgreSQL's defaults outside a bind.
pub fn constants() -> Constants {
    CONSTANTS.with(|c| {
        c.get().unwrap_or_else(|| {
            let k = Constants::of_binding();
            c.set(Some(k));
            k
        })
    })
}

/// A bind starts or ends: the next estimate reads the settings again.
pub(crate) fn forget_constants() {
    CONSTANTS.with(|c| c.set(None));
}
/// The notional page.
pub const PAGE_BYTES: f64 = 8192.0;
/// Per-row overhead PostgreSQL's heap adds (tuple header 24 bytes, line pointer 4).
pub const ROW_OVERHEAD_BYTES: f64 = 28.0;

/// One plan node's estimate: startup and total cost, rows and average row width in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub startup: f64,
    pub total: f64,
    pub rows: f64,
    pub width: f64,
}

/// PostgreSQL's `clamp_row_est`: at least one row, whole rows.
pub fn clamp_rows(rows: f64) -> f64 {
    if rows.is_nan() || rows <= 1.0 {
        1.0
    } else {
        rows.round()
    }
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(cost={:.2}..{:.2} rows={} width={})",
            self.startup,
            self.total,
            self.rows.max(0.0).round() as u64,
            self.width.max(0.0).round() as u64
        )
    }
}

/// A sequential read of `rows` rows of `width` bytes, checking `quals` conditions on each.
pub fn seq_scan(rows: f64, width: f64, quals: usize, out_rows: f64) -> Estimate {
    let pages = (rows * (width + ROW_OVERHEAD_BYTES) / PAGE_BYTES).ceil();
    let total = pages * constants().seq_page + rows * (constants().cpu_tuple + quals as f64 * constants().cpu_operator);
    Estimate { startup: 0.0, total, rows: out_rows, width }
}

/// A read through an index (the primary key's or a secondary one): one random page per row
/// found, as for an uncorrelated index in PostgreSQL.
pub fn index_scan(found: f64, width: f64, quals: usize, out_rows: f64) -> Estimate {
    let total = found
        * (constants().random_page
            + constants().cpu_index_tuple
            + constants().cpu_tuple
            + quals as f64 * constants().cpu_operator);
    Estimate { startup: 0.0, total, rows: out_rows, width }
}

/// A Gather of `child` (one shard's part) from `shards` shards.
pub fn gather(child: Estimate, shards: usize) -> Estimate {
    let rows = child.rows * shards as f64;
    Estimate {
        startup: child.startup,
        total: child.total + rows * constants().parallel_tuple,
        rows,
        width: child.width,
    }
}

/// Aggregation of `input` into `groups` groups with `aggs` aggregates (`cost_agg`: every input
/// row feeds every aggregate and is hashed by the group key; the groups come out at the end).
pub fn aggregate(input: Estimate, groups: f64, aggs: usize, keys: usize, width: f64) -> Estimate {
    let startup = input.total + input.rows * constants().cpu_operator * (aggs + keys) as f64;
    Estimate { startup, total: startup + groups * constants().cpu_tuple, rows: groups, width }
}

/// A sort of `input` (`cost_sort` in memory: 2 x cpu_operator_cost per comparison, N log2 N).
pub fn sort(input: Estimate) -> Estimate {
    let n = input.rows.max(2.0);
    let startup = input.total + 2.0 * constants().cpu_operator * n * n.log2();
    Estimate { startup, total: startup + constants().cpu_operator * input.rows, ..input }
}

/// LIMIT/OFFSET over `input`: the fraction of its run-time cost that produces the rows kept.
pub fn limit(input: Estimate, offset: f64, count: Option<f64>) -> Estimate {
    let rows_in = input.rows.max(1.0);
    let end = count.map_or(rows_in, |c| (offset + c).min(rows_in));
    let run = input.total - input.startup;
    let startup = input.startup + run * (offset.min(rows_in) / rows_in);
    let total = input.startup + run * (end / rows_in);
    Estimate { startup, total, rows: clamp_rows((end - offset).max(0.0)), width: input.width }
}

/// A hash join: `inner` is hashed, `outer` probes it, `rows` come out.
pub fn hash_join(outer: Estimate, inner: Estimate, rows: f64) -> Estimate {
    let startup = inner.total + inner.rows * (constants().cpu_operator + constants().cpu_tuple);
    let total = startup + outer.total + outer.rows * constants().cpu_operator + rows * constants().cpu_tuple;
    Estimate { startup, total, rows, width: outer.width + inner.width }
}

/// A merge join of inputs already in join-key order (PostgreSQL's `final_cost_mergejoin`
/// without sorts): a comparison per row of each side, `rows` out; no table is built.
pub fn merge_join(outer: Estimate, inner: Estimate, rows: f64) -> Estimate {
    let startup = outer.startup + inner.startup;
    let total =
        outer.total + inner.total + (outer.rows + inner.rows) * constants().cpu_operator + rows * constants().cpu_tuple;
    Estimate { startup, total, rows, width: outer.width + inner.width }
}

/// A hash-join step's cost on the coordinating shard, broadcast and repartitioned over `shards`
/// shards ([`crate::dist_join`]), from its rows so far (`left`), its table's rows after their
/// own conditions (`table`), whether the coordinator reads the table with the keys of the rows so
/// far (`reduced`: the keys go to every shard, which checks its rows against them), the rows it
/// joins to (`out`) and whether the table is partitioned on the step's keys (`partitioned`: its
/// primary key is among them, so a row's key names the shard that holds its matches). A row that
/// crosses between shards costs `parallel_tuple_cost` (as under a Gather); hashing a row costs
/// `cpu_operator_cost` plus `cpu_tuple_cost`, probing or picking a row's shard
/// `cpu_operator_cost`; work on the shards is one shard's part (they run in parallel). On the
/// coordinator the table's matching rows come back and are hashed there; broadcast, the rows so
/// far go to every shard, each hashes them and probes with its part of the table, and each
/// matching row comes back once; repartitioned, each row so far goes to one shard (picked on the
/// coordinator), each shard sends the rows of its part of the table to the shards their keys
/// hash to (the `(n - 1) / n` that change shard cross; none when the table is partitioned on
/// the keys), hashes its rows so far and probes with the table's rows it has, and each matching
/// row comes back once.
pub fn join_distribution(
    shards: usize,
    left: f64,
    table: f64,
    reduced: bool,
    out: f64,
    partitioned: bool,
) -> JoinCosts {
    let n = shards.max(1) as f64;
    let matched = table.min(out);
    let hash = constants().cpu_operator + constants().cpu_tuple;
    let produced = out * constants().cpu_tuple;
    let coordinator = if reduced {
        (left * n + matched) * constants().parallel_tuple + table / n * constants().cpu_operator + matched * hash
    } else {
        table * constants().parallel_tuple + table * hash
    } + left * constants().cpu_operator
        + produced;
    let broadcast = (left * n + matched) * constants().parallel_tuple
        + left * hash
        + table / n * constants().cpu_operator
        + produced;
    let (moved, routed) =
        if partitioned { (0.0, 0.0) } else { (table * (n - 1.0) / n, table / n * constants().cpu_operator) };
    let repartition = (left + moved + matched) * constants().parallel_tuple
        + left * constants().cpu_operator
        + routed
        + left / n * hash
        + table / n * constants().cpu_operator
        + produced;
    JoinCosts { coordinator, broadcast, repartition }
}

/// [`join_distribution`]'s three figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JoinCosts {
    pub coordinator: f64,
    pub broadcast: f64,
    pub repartition: f64,
}

/// A semi or anti join's cost on the coordinating shard and broadcast over `shards` shards
/// ([`crate::dist_semi`]), from the outer rows after their own conditions (`outer`), the inner
/// rows (`inner`) and the outer rows the join keeps (`kept`). On the coordinator both sides'
/// rows come to it, it hashes the inner rows and probes with the outer ones; broadcast, the
/// inner rows come to the coordinator and go to every shard, each shard hashes them and probes
/// with its part of the outer rows, and only the kept rows come back. Rows crossing between
/// shards cost `parallel_tuple_cost`, as in [`join_distribution`]. (A co-located join, where
/// it applies, moves only the kept rows and is always the cheapest.)
pub fn semi_join_distribution(shards: usize, outer: f64, inner: f64, kept: f64) -> SemiJoinCosts {
    let n = shards.max(1) as f64;
    let hash = constants().cpu_operator + constants().cpu_tuple;
    let coordinator = (outer + inner) * constants().parallel_tuple + inner * hash + outer * constants().cpu_operator;
    let broadcast =
        (inner * (1.0 + n) + kept) * constants().parallel_tuple + inner * hash + outer / n * constants().cpu_operator;
    SemiJoinCosts { coordinator, broadcast }
}

/// [`semi_join_distribution`]'s and [`left_join_distribution`]'s figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SemiJoinCosts {
    pub coordinator: f64,
    pub broadcast: f64,
}

/// A LEFT JOIN step's cost on the coordinating shard and with its nullable side broadcast to
/// every shard's scan of the preserved side ([`crate::dist_left`]), from the preserved rows
/// after their own conditions (`preserved`), the nullable side's rows (`nullable`) and the
/// joined rows (`out`, at least `preserved`). On the coordinator both sides come to it, which
/// hashes the nullable rows, probes with the preserved ones and builds the joined rows;
/// broadcast, the nullable rows come to the coordinator and go to every shard, which hash them,
/// probe with their part and send the joined rows back (built there, one shard's part each).
pub fn left_join_distribution(shards: usize, preserved: f64, nullable: f64, out: f64) -> SemiJoinCosts {
    let n = shards.max(1) as f64;
    let hash = constants().cpu_operator + constants().cpu_tuple;
    let out = out.max(preserved);
    let coordinator = (preserved + nullable) * constants().parallel_tuple
        + nullable * hash
        + preserved * constants().cpu_operator
        + out * constants().cpu_tuple;
    let broadcast = (nullable * (1.0 + n) + out) * constants().parallel_tuple
        + nullable * hash
        + (preserved * constants().cpu_operator + out * constants().cpu_tuple) / n;
    SemiJoinCosts { coordinator, broadcast }
}

/// A nested loop over the materialised `inner`: every pair compared.
pub fn nested_loop(outer: Estimate, inner: Estimate, rows: f64) -> Estimate {
    let startup = outer.startup + inner.total;
    let total =
        outer.total + inner.total + outer.rows * inner.rows * constants().cpu_operator + rows * constants().cpu_tuple;
    Estimate { startup, total, rows, width: outer.width + inner.width }
}

/// An index nested loop: the lookups of every `outer` row's key (`inner`, all of them), `rows`
/// out.
pub fn index_nested_loop(outer: Estimate, inner: Estimate, rows: f64) -> Estimate {
    let total = outer.total + inner.total + rows * constants().cpu_tuple;
    Estimate { startup: outer.startup + inner.startup, total, rows, width: outer.width + inner.width }
}

/// A step that passes over every row of `input` once (WindowAgg, Unique, a filter over computed
/// rows), `ops` operators per row, `rows` out.
pub fn per_row(input: Estimate, ops: usize, rows: f64, width: f64) -> Estimate {
    let total = input.total + input.rows * (constants().cpu_operator * ops as f64 + constants().cpu_tuple);
    Estimate { startup: input.startup, total, rows, width }
}

/// Rows computed on the coordinating shard (VALUES, a function, a derived table).
pub fn computed(rows: f64, width: f64) -> Estimate {
    Estimate { startup: 0.0, total: rows * constants().cpu_tuple, rows, width }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_postgresql() {
        let e = seq_scan(1000.0, 8.0, 1, 333.3);
        assert_eq!(e.to_string(), "(cost=0.00..17.50 rows=333 width=8)");
        assert_eq!(clamp_rows(0.2), 1.0);
    }

    #[test]
    fn limit_takes_its_share() {
        let e = limit(Estimate { startup: 0.0, total: 100.0, rows: 1000.0, width: 4.0 }, 0.0, Some(10.0));
        assert_eq!((e.total, e.rows), (1.0, 10.0));
    }
}
