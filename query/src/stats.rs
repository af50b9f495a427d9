//! Planner statistics (issue 6): what ANALYZE collects per table and column, where it is kept,
//! and the estimates the planner makes from it (PostgreSQL's `analyze.c` and `selfuncs.c`, in
//! small).
//!
//! Collection: every shard reads its part of the table once ([`collect`]): its row count, per
//! column the NULLs, the width and the distinct values (exactly, as a set of 64-bit hashes, up
//! to [`EXACT_DISTINCT_MAX`] per shard; past that a HyperLogLog sketch), and a uniform sample of
//! at most [`sample_rows`] rows (reservoir sampling, seeded per table and shard so a fixed data
//! set gives fixed statistics). The coordinator ([`merge`]) takes from each shard's sample a share
//! proportional to its row count and computes, as PostgreSQL's `compute_scalar_stats` does from
//! its sample: the most common values (PostgreSQL's `analyze_mcv_list` test), the equi-depth
//! histogram of the other values (100 buckets) and `n_distinct` (negative when it scales with
//! the table: more than a tenth of the rows); NULL fraction, width and distinct count come from
//! the full pass rather than the sample. On a table of at most 30000 rows the sample is the
//! table, and the numbers are PostgreSQL's own.
//!
//! Keeping: the merged statistics are replicated to every shard ([`install`], a thread-local
//! map by table OID), because a statement is planned synchronously on whichever shard accepted
//! its connection. They are not logged: a restart forgets them, and ANALYZE recomputes them.

use crate::expr::{self, CmpOp, Ctx, Expr};
use orbit_engine::table::{key, Datum, SqlType, Table, TableDef};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::Hasher;
use std::sync::Arc;

/// PostgreSQL's `default_statistics_target` default: most common values and histogram buckets
/// kept per column; ANALYZE runs with the session's value (`Plan::Maintenance`).
pub const STATISTICS_TARGET: usize = 100;
/// Rows sampled per table for a statistics target (PostgreSQL: 300 x the target).
pub fn sample_rows(target: usize) -> usize {
    300 * target
}
/// Distinct values a shard counts exactly per column before it switches to the sketch.
pub const EXACT_DISTINCT_MAX: usize = 100_000;
/// HyperLogLog registers: 2^14 (16 KiB per column per shard, about 0.8% standard error).
const HLL_BITS: u32 = 14;

/// PostgreSQL's defaults when there are no statistics (`utils/selfuncs.h`).
pub const DEFAULT_EQ_SEL: f64 = 0.005;
pub const DEFAULT_INEQ_SEL: f64 = 0.3333333333333333;
pub const DEFAULT_RANGE_INEQ_SEL: f64 = 0.005;
pub const DEFAULT_MATCH_SEL: f64 = 0.005;
pub const DEFAULT_UNK_SEL: f64 = 0.005;
pub const DEFAULT_NUM_DISTINCT: f64 = 200.0;
/// Rows assumed for a relation with no statistics and no stored rows to count (a computed
/// relation, a function scan): PostgreSQL's guess for a set-returning function.
pub const DEFAULT_ROWS: f64 = 1000.0;

/// One column's statistics, as pg_stats shows them.
#[derive(Debug, Clone)]
pub struct ColumnStats {
    pub null_frac: f64,
    pub avg_width: i32,
    /// PostgreSQL's convention: > 0 a count, < 0 minus a fraction of the rows, 0 unknown.
    pub n_distinct: f64,
    /// Most common values with their frequencies, most common first.
    pub mcv: Vec<(Datum, f64)>,
    /// Equi-depth histogram bounds of the values not in `mcv`, ascending.
    pub histogram: Vec<Datum>,
}

impl ColumnStats {
    /// Distinct non-NULL values in a table of `rows` rows.
    pub fn distinct(&self, rows: f64) -> f64 {
        if self.n_distinct < 0.0 {
            -self.n_distinct * rows
        } else {
            self.n_distinct
        }
    }
}

/// A table's statistics: row count and the analyzed columns (by column number).
#[derive(Debug, Clone, Default)]
pub struct TableStats {
    pub reltuples: f64,
    pub columns: HashMap<usize, ColumnStats>,
}

thread_local! {
    /// This shard's copy of every table's statistics, by table OID.
    static STATS: RefCell<HashMap<u32, Arc<TableStats>>> = RefCell::new(HashMap::new());
}

/// The statistics of a table (None: never analyzed since start-up, or a different table of the
/// same name: a table rewritten by ALTER gets a new OID).
pub fn of(def: &TableDef) -> Option<Arc<TableStats>> {
    STATS.with(|s| s.borrow().get(&def.oid).cloned())
}

/// Installs `stats` for the table with OID `oid` on this shard, and forgets the statistics of
/// tables no longer in `live` (dropped or rewritten) when given.
pub fn install(oid: u32, stats: Arc<TableStats>, live: Option<&HashSet<u32>>) {
    STATS.with(|s| {
        let mut s = s.borrow_mut();
        if let Some(live) = live {
            s.retain(|o, _| live.contains(o));
        }
        s.insert(oid, stats);
    });
}

// ---------------------------------------------------------------------------------------------
// Collection on each shard.

/// A HyperLogLog sketch of a set of 64-bit hashes.
#[derive(Clone)]
struct Hll {
    registers: Vec<u8>,
}

impl Hll {
    fn new() -> Hll {
        Hll { registers: vec![0; 1 << HLL_BITS] }
    }

    fn add(&mut self, h: u64) {
        let idx = (h >> (64 - HLL_BITS)) as usize;
        // The rank of the first set bit after the index bits; the guard bit bounds it.
        let rest = (h << HLL_BITS) | (1 << (HLL_BITS - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if self.registers[idx] < rank {
            self.registers[idx] = rank;
        }
    }

    fn merge(&mut self, o: &Hll) {
        for (a, b) in self.registers.iter_mut().zip(&o.registers) {
            *a = (*a).max(*b);
        }
    }

    /// Flajolet et al.'s estimate with the linear-counting correction for small sets.
    fn estimate(&self) -> f64 {
        let m = self.registers.len() as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self.registers.iter().map(|&r| (-(r as f64)).exp2()).sum();
        let e = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        if e <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            e
        }
    }
}

fn value_hash(d: &Datum) -> u64 {
    // SipHash with fixed keys: the same value hashes alike on every shard.
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    h.write(&key::encode(std::iter::once(d)));
    h.finish()
}

/// One column's counts on one shard.
pub struct ColumnPart {
    nulls: u64,
    width_sum: f64,
    exact: Option<HashSet<u64>>,
    sketch: Hll,
}

/// What one shard found: its rows, per analyzed column its counts, and its sample (the analyzed
/// columns of at most [`sample_rows`] rows, in random order).
pub struct ShardSample {
    rows: u64,
    columns: Vec<ColumnPart>,
    sample: Vec<Vec<Datum>>,
}

/// The width PostgreSQL would store a value in (`avg_width`): fixed-width types their length,
/// variable-width ones their bytes plus the varlena header.
fn datum_width(d: &Datum) -> usize {
    let var = |n: usize| n + if n < 127 { 1 } else { 4 };
    match d {
        Datum::Null => 0,
        Datum::Bool(_) => 1,
        Datum::Int2(_) => 2,
        Datum::Int4(_) | Datum::Float4(_) | Datum::Date(_) | Datum::Oid(..) | Datum::Enum(..) => 4,
        Datum::Int8(_) | Datum::Float8(_) | Datum::Timestamp(_) | Datum::TimestampTz(_) | Datum::Time(_) => 8,
        Datum::TimeTz(..) => 12,
        Datum::Interval(_) | Datum::Uuid(_) => 16,
        Datum::Text(s) | Datum::Bpchar(s) | Datum::Json(s) | Datum::Jsonb(s) => var(s.len()),
        Datum::Bytea(b) => var(b.len()),
        // numeric: a 2-byte header and 2 bytes per 4 decimal digits.
        Datum::Numeric(s) => var(2 + s.bytes().filter(u8::is_ascii_digit).count().div_ceil(4) * 2),
        Datum::Array(a) => 24 + a.items.iter().map(datum_width).sum::<usize>(),
        // A heap tuple's header, then the fields.
        Datum::Record(fields) => 24 + fields.iter().map(datum_width).sum::<usize>(),
    }
}

/// The width the planner assumes for a value of type `t` without statistics (PostgreSQL's
/// `get_typavgwidth`).
pub fn type_width(t: SqlType) -> f64 {
    match t {
        SqlType::Bool => 1.0,
        SqlType::Int2 => 2.0,
        SqlType::Int4 | SqlType::Float4 | SqlType::Date => 4.0,
        SqlType::Int8 | SqlType::Float8 | SqlType::Timestamp(_) | SqlType::TimestampTz(_) | SqlType::Time(_) => 8.0,
        SqlType::TimeTz(_) => 12.0,
        SqlType::Interval(_) | SqlType::Uuid => 16.0,
        SqlType::Varchar(Some(n)) | SqlType::Bpchar(Some(n)) => {
            let max = n as f64;
            if max <= 32.0 {
                max
            } else {
                32.0 + (max.min(1000.0) - 32.0) / 2.0
            }
        }
        _ => 32.0,
    }
}

/// The length of a fixed-width type (`typlen`), None for variable-width ones.
fn fixed_width(t: SqlType) -> Option<i32> {
    match t {
        SqlType::Bool => Some(1),
        SqlType::Int2 => Some(2),
        SqlType::Int4 | SqlType::Float4 | SqlType::Date => Some(4),
        SqlType::Int8 | SqlType::Float8 | SqlType::Timestamp(_) | SqlType::TimestampTz(_) | SqlType::Time(_) => Some(8),
        SqlType::Interval(_) | SqlType::Uuid => Some(16),
        _ => None,
    }
}

/// Reads one shard's part of a table for ANALYZE: `cols` are the columns to analyze.
pub fn collect(table: &Table, cols: &[usize], seed: u64, target: usize) -> ShardSample {
    let sample_size = sample_rows(target);
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut columns: Vec<ColumnPart> = cols
        .iter()
        .map(|_| ColumnPart { nulls: 0, width_sum: 0.0, exact: Some(HashSet::new()), sketch: Hll::new() })
        .collect();
    let mut sample: Vec<Vec<Datum>> = Vec::new();
    let mut seen: u64 = 0;
    let project =
        |row: &[Datum]| -> Vec<Datum> { cols.iter().map(|&c| row.get(c).cloned().unwrap_or(Datum::Null)).collect() };
    for (_, row) in table.scan() {
        for (part, &c) in columns.iter_mut().zip(cols) {
            let d = row.get(c).unwrap_or(&Datum::Null);
            if d.is_null() {
                part.nulls += 1;
                continue;
            }
            part.width_sum += datum_width(d) as f64;
            let h = value_hash(d);
            part.sketch.add(h);
            if let Some(set) = &mut part.exact {
                set.insert(h);
                if set.len() > EXACT_DISTINCT_MAX {
                    part.exact = None;
                }
            }
        }
        seen += 1;
        // Algorithm R: every row ends up in the reservoir with the same probability.
        if sample.len() < sample_size {
            sample.push(project(row));
        } else {
            let j = rng.gen_range(0..seen) as usize;
            if j < sample_size {
                sample[j] = project(row);
            }
        }
    }
    // Random order, so that any prefix is a uniform sample too (the coordinator takes one).
    for i in (1..sample.len()).rev() {
        let j = rng.gen_range(0..=i);
        sample.swap(i, j);
    }
    ShardSample { rows: seen, columns, sample }
}

// ---------------------------------------------------------------------------------------------
// Merging on the coordinator.

/// PostgreSQL 15's `analyze_mcv_list`: how many of the candidate most common values (counts in
/// descending order) are common enough, compared with the average of the other values, to be
/// worth keeping.
fn analyze_mcv_list(counts: &[usize], stadistinct: f64, stanullfrac: f64, samplerows: f64, totalrows: f64) -> usize {
    let mut num_mcv = counts.len();
    if samplerows == totalrows || totalrows <= 1.0 {
        return num_mcv;
    }
    let ndistinct_table = if stadistinct < 0.0 { -stadistinct * totalrows } else { stadistinct };
    let mut sumcount: f64 = counts[..num_mcv.saturating_sub(1)].iter().map(|&c| c as f64).sum();
    while num_mcv > 0 {
        let mut selec = (1.0 - sumcount / samplerows - stanullfrac).clamp(0.0, 1.0);
        let otherdistinct = ndistinct_table - (num_mcv as f64 - 1.0);
        if otherdistinct > 1.0 {
            selec /= otherdistinct;
        }
        let (big_n, n) = (totalrows, samplerows);
        let count = counts[num_mcv - 1] as f64;
        let k = big_n * count / n;
        let variance = n * k * (big_n - k) * (big_n - n) / (big_n * big_n * (big_n - 1.0));
        let stddev = variance.sqrt();
        if count > selec * samplerows + 2.0 * stddev + 0.5 {
            break;
        }
        num_mcv -= 1;
        if num_mcv == 0 {
            break;
        }
        sumcount -= counts[num_mcv - 1] as f64;
    }
    num_mcv
}

/// One column's statistics from the merged sample (`values`: that column of every sampled row)
/// and the full-pass counts of every shard.
fn column_stats(values: Vec<&Datum>, parts: &[&ColumnPart], totalrows: f64, ty: SqlType, target: usize) -> ColumnStats {
    let samplerows = values.len() as f64;
    let nulls: u64 = parts.iter().map(|p| p.nulls).sum();
    let null_frac = if totalrows > 0.0 { nulls as f64 / totalrows } else { 0.0 };
    let nonnull_total = totalrows - nulls as f64;
    let width_sum: f64 = parts.iter().map(|p| p.width_sum).sum();
    let avg_width = if nonnull_total > 0.0 { (width_sum / nonnull_total).round() as i32 } else { 0 };
    let mut vals: Vec<(Vec<u8>, &Datum)> =
        values.into_iter().filter(|d| !d.is_null()).map(|d| (key::encode(std::iter::once(d)), d)).collect();
    if vals.is_empty() {
        // Only NULLs: PostgreSQL's "assume the column is entirely null", with a fixed-width
        // type's length as the width.
        let avg_width = fixed_width(ty).unwrap_or(0);
        return ColumnStats { null_frac, avg_width, n_distinct: 0.0, mcv: Vec::new(), histogram: Vec::new() };
    }
    // json has no equality operator: PostgreSQL keeps only the NULL fraction and width.
    if matches!(vals[0].1, Datum::Json(_)) {
        return ColumnStats { null_frac, avg_width, n_distinct: 0.0, mcv: Vec::new(), histogram: Vec::new() };
    }
    vals.sort_by(|a, b| a.0.cmp(&b.0));
    // Runs of equal values: (first index, count).
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for (i, v) in vals.iter().enumerate() {
        match groups.last_mut() {
            Some((first, n)) if vals[*first].0 == v.0 => *n += 1,
            _ => groups.push((i, 1)),
        }
    }
    let ndistinct_sample = groups.len();
    let nmultiple = groups.iter().filter(|g| g.1 > 1).count();
    // The distinct count: exact when every shard still had its set, else the merged sketch.
    let exact: Option<HashSet<u64>> = parts.iter().try_fold(HashSet::new(), |mut acc, p| {
        acc.extend(p.exact.as_ref()?);
        (acc.len() <= EXACT_DISTINCT_MAX).then_some(acc)
    });
    let mut stadistinct = match exact {
        Some(set) => set.len() as f64,
        None if nmultiple == 0 => -(1.0 - null_frac),
        None => {
            let mut sketch = Hll::new();
            for p in parts {
                sketch.merge(&p.sketch);
            }
            (sketch.estimate() + 0.5).floor().clamp(ndistinct_sample as f64, nonnull_total.max(1.0))
        }
    };
    if stadistinct > 0.1 * totalrows {
        stadistinct = -(stadistinct / totalrows);
    }
    // Most common values: those seen more than once, most frequent first (ties in value order).
    let mut track: Vec<(usize, usize)> = groups.iter().copied().filter(|g| g.1 > 1).collect();
    track.sort_by_key(|g| std::cmp::Reverse(g.1));
    track.truncate(target);
    let num_mcv = if track.len() == ndistinct_sample && stadistinct > 0.0 && track.len() <= target {
        track.len()
    } else {
        let counts: Vec<usize> = track.iter().map(|g| g.1).collect();
        if counts.is_empty() {
            0
        } else {
            analyze_mcv_list(&counts, stadistinct, null_frac, samplerows, totalrows)
        }
    };
    track.truncate(num_mcv);
    let mcv: Vec<(Datum, f64)> = track.iter().map(|&(i, n)| (vals[i].1.clone(), n as f64 / samplerows)).collect();
    // The histogram over the other values (PostgreSQL's compute_scalar_stats).
    let mut histogram = Vec::new();
    let mut num_hist = ndistinct_sample - num_mcv;
    if num_hist > target {
        num_hist = target + 1;
    }
    if num_hist >= 2 {
        let in_mcv: HashSet<usize> = track.iter().map(|g| g.0).collect();
        let rest: Vec<&Datum> = groups
            .iter()
            .filter(|g| !in_mcv.contains(&g.0))
            .flat_map(|&(first, n)| vals[first..first + n].iter().map(|v| v.1))
            .collect();
        let nvals = rest.len();
        let (delta, deltafrac) = ((nvals - 1) / (num_hist - 1), (nvals - 1) % (num_hist - 1));
        let (mut pos, mut posfrac) = (0, 0);
        for _ in 0..num_hist {
            histogram.push(rest[pos].clone());
            pos += delta;
            posfrac += deltafrac;
            if posfrac >= num_hist - 1 {
                pos += 1;
                posfrac -= num_hist - 1;
            }
        }
    }
    ColumnStats { null_frac, avg_width, n_distinct: stadistinct, mcv, histogram }
}

/// The table's statistics from every shard's findings; `old` keeps the columns not analyzed
/// this time (ANALYZE t (a) leaves b's statistics as they were, as in PostgreSQL).
pub fn merge(
    def: &TableDef,
    cols: &[usize],
    parts: Vec<ShardSample>,
    old: Option<&TableStats>,
    statistics_target: usize,
) -> TableStats {
    let total: u64 = parts.iter().map(|p| p.rows).sum();
    let mut out = TableStats { reltuples: total as f64, columns: old.map(|o| o.columns.clone()).unwrap_or_default() };
    if total == 0 {
        // PostgreSQL keeps no column statistics for an empty table.
        for c in cols {
            out.columns.remove(c);
        }
        return out;
    }
    // Each shard's share of the sample, proportional to its rows.
    let mut rows: Vec<&Vec<Datum>> = Vec::new();
    let target = sample_rows(statistics_target).min(total as usize);
    for p in &parts {
        let share = ((target as u128 * p.rows as u128 + total as u128 / 2) / total as u128) as usize;
        rows.extend(p.sample.iter().take(share));
    }
    for (k, &c) in cols.iter().enumerate() {
        let values: Vec<&Datum> = rows.iter().map(|r| &r[k]).collect();
        let col_parts: Vec<&ColumnPart> = parts.iter().map(|p| &p.columns[k]).collect();
        let ty = def.columns.get(c).map_or(SqlType::Text, |d| d.ty);
        out.columns.insert(c, column_stats(values, &col_parts, total as f64, ty, statistics_target));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Estimates.

/// A table's row count for the planner: ANALYZE's count, else the rows this shard holds times
/// the shards (rows are spread evenly by key hash), else [`DEFAULT_ROWS`] for a relation that is
/// computed rather than stored.
pub fn table_rows(def: &TableDef) -> f64 {
    if let Some(s) = of(def) {
        return s.reltuples;
    }
    if crate::relation::is_derived(def) || crate::catalog::is_view(def) {
        return DEFAULT_ROWS;
    }
    let (here, shards) = orbit_shards::state::with_shard(|s| (s.tables.get(&def.name).map(|t| t.len()), s.count));
    here.map_or(DEFAULT_ROWS, |n| (n * shards) as f64)
}

/// What the planner knows of one column of a relation: its statistics, the relation's rows,
/// and whether it is a single-column primary key (unique without statistics too).
#[derive(Clone, Copy)]
pub struct ColumnInfo<'a> {
    pub stats: Option<&'a ColumnStats>,
    pub rows: f64,
    pub unique: bool,
    pub ty: SqlType,
}

impl ColumnInfo<'_> {
    /// Distinct values (PostgreSQL's `get_variable_numdistinct`): from statistics, else the
    /// rows for a unique column, else the default 200, never above the rows.
    pub fn distinct(&self) -> f64 {
        let rows = self.rows.max(1.0);
        let d = match self.stats {
            Some(s) if s.n_distinct != 0.0 => s.distinct(rows),
            _ if self.unique => rows,
            _ => DEFAULT_NUM_DISTINCT,
        };
        d.clamp(1.0, rows)
    }

    fn null_frac(&self) -> f64 {
        self.stats.map_or(0.0, |s| s.null_frac)
    }
}

/// Resolves a column number of the rows being estimated to what is known of it.
pub trait Columns {
    fn column(&self, i: usize) -> Option<ColumnInfo<'_>>;
}

/// The columns of one stored table (column numbers are the table's).
pub struct TableColumns<'a> {
    pub def: &'a TableDef,
    pub stats: Option<Arc<TableStats>>,
    pub rows: f64,
}

impl<'a> TableColumns<'a> {
    pub fn new(def: &'a TableDef) -> TableColumns<'a> {
        TableColumns { def, stats: of(def), rows: table_rows(def) }
    }

    /// The width of a row of this table (the planner's `width`): statistics' average widths
    /// where there are some, type widths otherwise.
    pub fn width(&self) -> f64 {
        (0..self.def.columns.len())
            .map(|i| match self.stats.as_ref().and_then(|s| s.columns.get(&i)) {
                Some(c) => c.avg_width as f64,
                None => type_width(self.def.columns[i].ty),
            })
            .sum()
    }
}

impl Columns for TableColumns<'_> {
    fn column(&self, i: usize) -> Option<ColumnInfo<'_>> {
        let c = self.def.columns.get(i)?;
        Some(ColumnInfo {
            stats: self.stats.as_ref().and_then(|s| s.columns.get(&i)),
            rows: self.rows,
            unique: self.def.pk == [i] && !self.def.has_row_id(),
            ty: c.ty,
        })
    }
}

/// The constant a side of a comparison is, if it is one (casts of constants included).
fn constant(e: &Expr) -> Option<&Datum> {
    match e {
        Expr::Const(d, _) => Some(d),
        Expr::Cast(inner, ..) => constant(inner),
        _ => None,
    }
}

fn column_of(e: &Expr) -> Option<usize> {
    match e {
        Expr::Column(i, _) => Some(*i),
        _ => None,
    }
}

/// Whether the key encodings of a column's values and a constant order alike (both integers,
/// both floats, both strings, or one type).
fn comparable(col: SqlType, d: &Datum) -> bool {
    let ty = match d {
        Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_) => SqlType::Int8,
        Datum::Float4(_) | Datum::Float8(_) => SqlType::Float8,
        Datum::Text(_) | Datum::Bpchar(_) => SqlType::Text,
        Datum::Numeric(_) => SqlType::NUMERIC,
        Datum::Date(_) => SqlType::Date,
        Datum::Timestamp(_) => SqlType::TIMESTAMP,
        Datum::TimestampTz(_) => SqlType::TIMESTAMPTZ,
        _ => return false,
    };
    (col.is_integer() && ty == SqlType::Int8)
        || (col.is_float() && ty == SqlType::Float8)
        || (col.is_string() && ty == SqlType::Text)
        || (col.is_decimal() && ty.is_decimal())
        || col == ty
}

fn enc(d: &Datum) -> Vec<u8> {
    key::encode(std::iter::once(d))
}

/// `col = value`'s selectivity (PostgreSQL's `var_eq_const`).
fn eq_const(c: &ColumnInfo, d: &Datum) -> f64 {
    if d.is_null() {
        return 0.0;
    }
    if c.unique && c.stats.is_none() {
        return 1.0 / c.rows.max(1.0);
    }
    let Some(s) = c.stats else { return DEFAULT_EQ_SEL };
    if comparable(c.ty, d) {
        let k = enc(d);
        if let Some((_, f)) = s.mcv.iter().find(|(v, _)| enc(v) == k) {
            return *f;
        }
    }
    let sum_mcv: f64 = s.mcv.iter().map(|m| m.1).sum();
    let others = c.distinct() - s.mcv.len() as f64;
    let sel = (1.0 - sum_mcv - s.null_frac).max(0.0);
    let sel = if others > 1.0 { sel / others } else { sel };
    // Not more common than the least common MCV.
    match s.mcv.last() {
        Some((_, least)) => sel.min(*least),
        None => sel,
    }
}

/// `col = <unknown value>`'s selectivity (`var_eq_non_const`).
fn eq_unknown(c: &ColumnInfo) -> f64 {
    if c.stats.is_none() && !c.unique {
        return DEFAULT_EQ_SEL;
    }
    (1.0 - c.null_frac()) / c.distinct()
}

/// The fraction of the histogram below `k` (`ineq_histogram_selectivity`, with linear
/// interpolation inside the bucket for numbers).
fn histogram_below(h: &[Datum], d: &Datum, k: &[u8]) -> Option<f64> {
    if h.len() < 2 {
        return None;
    }
    let keys: Vec<Vec<u8>> = h.iter().map(enc).collect();
    let i = keys.partition_point(|b| b.as_slice() < k);
    if i == 0 {
        return Some(0.0);
    }
    if i >= keys.len() {
        return Some(1.0);
    }
    let buckets = (h.len() - 1) as f64;
    let within = match (
        h[i - 1].as_f64().or(h[i - 1].as_i64().map(|v| v as f64)),
        h[i].as_f64().or(h[i].as_i64().map(|v| v as f64)),
        d.as_f64().or(d.as_i64().map(|v| v as f64)),
    ) {
        (Some(lo), Some(hi), Some(v)) if hi > lo => ((v - lo) / (hi - lo)).clamp(0.0, 1.0),
        _ => 0.5,
    };
    Some(((i - 1) as f64 + within) / buckets)
}

/// `col op value`'s selectivity for `<`, `<=`, `>`, `>=` (`scalarineqsel`): the MCVs that pass,
/// plus the histogram's share of the rest.
fn ineq_const(c: &ColumnInfo, op: CmpOp, d: &Datum) -> Option<f64> {
    let s = c.stats?;
    if d.is_null() || !comparable(c.ty, d) {
        return None;
    }
    let k = enc(d);
    let passes = |v: &[u8]| match op {
        CmpOp::Lt => v < k.as_slice(),
        CmpOp::LtEq => v <= k.as_slice(),
        CmpOp::Gt => v > k.as_slice(),
        CmpOp::GtEq => v >= k.as_slice(),
        _ => false,
    };
    let sum_mcv: f64 = s.mcv.iter().map(|m| m.1).sum();
    let mcv_sel: f64 = s.mcv.iter().filter(|(v, _)| passes(&enc(v))).map(|m| m.1).sum();
    let rest = (1.0 - sum_mcv - s.null_frac).max(0.0);
    let hist = match histogram_below(&s.histogram, d, &k) {
        Some(below) => match op {
            CmpOp::Lt | CmpOp::LtEq => below,
            _ => 1.0 - below,
        },
        None if s.mcv.is_empty() => return None,
        // All values are MCVs: nothing else to estimate.
        None => 0.0,
    };
    Some((mcv_sel + hist * rest).clamp(0.0, 1.0))
}

/// The fraction of rows for which a predicate of one column holds, judged on the MCVs and
/// histogram bounds (PostgreSQL's `histogram_selectivity` for operators without a model).
fn generic(c: &ColumnInfo, col: usize, e: &Expr, params: &[Datum]) -> Option<f64> {
    let s = c.stats?;
    if s.mcv.is_empty() && s.histogram.len() < 10 {
        return None;
    }
    let holds = |v: &Datum| -> bool {
        let mut row = vec![Datum::Null; col + 1];
        row[col] = v.clone();
        let r = expr::eval(e, &Ctx { row: &row, params, aggs: &[] });
        matches!(r.map(expr::truth), Ok(Some(true)))
    };
    let sum_mcv: f64 = s.mcv.iter().map(|m| m.1).sum();
    let mcv_sel: f64 = s.mcv.iter().filter(|(v, _)| holds(v)).map(|m| m.1).sum();
    let rest = (1.0 - sum_mcv - s.null_frac).max(0.0);
    let hist = if s.histogram.len() >= 10 {
        s.histogram.iter().filter(|v| holds(v)).count() as f64 / s.histogram.len() as f64
    } else {
        DEFAULT_MATCH_SEL
    };
    Some(mcv_sel + hist * rest)
}

/// The single column a predicate reads, if it reads exactly one.
fn only_column(e: &Expr) -> Option<usize> {
    let mut cols = Vec::new();
    e.visit_columns(&mut |c| {
        if !cols.contains(&c) {
            cols.push(c)
        }
    });
    match cols.as_slice() {
        [c] => Some(*c),
        _ => None,
    }
}

/// The fraction of rows a condition keeps (PostgreSQL's `clauselist_selectivity`): AND-ed parts
/// multiply (a `>`/`<` pair on one column is one range), OR is `s1 + s2 - s1 s2`, NOT `1 - s`.
pub fn selectivity(cols: &dyn Columns, e: &Expr, params: &[Datum]) -> f64 {
    let mut parts = Vec::new();
    crate::join::conjuncts(e, &mut parts);
    // Range pairs: per column, the selectivity of its lower and upper bound.
    let mut ranges: HashMap<usize, (Option<f64>, Option<f64>)> = HashMap::new();
    let mut s = 1.0;
    for p in &parts {
        if let Expr::Cmp(op @ (CmpOp::Lt | CmpOp::LtEq | CmpOp::Gt | CmpOp::GtEq), a, b) = p {
            let (col, upper) = match (column_of(a), column_of(b)) {
                (Some(c), None) if b.is_row_independent() => (c, matches!(op, CmpOp::Lt | CmpOp::LtEq)),
                (None, Some(c)) if a.is_row_independent() => (c, matches!(op, CmpOp::Gt | CmpOp::GtEq)),
                _ => {
                    s *= clause(cols, p, params);
                    continue;
                }
            };
            let sel = clause(cols, p, params);
            let slot = ranges.entry(col).or_default();
            let side = if upper { &mut slot.1 } else { &mut slot.0 };
            *side = Some(side.map_or(sel, |x: f64| x.min(sel)));
            continue;
        }
        s *= clause(cols, p, params);
    }
    for (col, (lo, hi)) in ranges {
        s *= match (lo, hi) {
            (Some(lo), Some(hi)) => {
                let has_stats = cols.column(col).is_some_and(|c| c.stats.is_some());
                if !has_stats {
                    DEFAULT_RANGE_INEQ_SEL
                } else {
                    let r = lo + hi - 1.0;
                    if r <= 0.0 {
                        1.0e-10
                    } else {
                        r
                    }
                }
            }
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => 1.0,
        };
    }
    s.clamp(0.0, 1.0)
}

/// One condition's selectivity.
fn clause(cols: &dyn Columns, e: &Expr, params: &[Datum]) -> f64 {
    let flip = CmpOp::flipped;
    let value = |e: &Expr| -> Option<Datum> {
        match e {
            Expr::Param(i, _) => params.get(*i).cloned(),
            _ => constant(e).cloned(),
        }
    };
    match e {
        Expr::Const(d, _) => match d {
            Datum::Bool(true) => 1.0,
            _ => 0.0,
        },
        Expr::And(..) => selectivity(cols, e, params),
        Expr::Or(a, b) => {
            let (x, y) = (clause(cols, a, params), clause(cols, b, params));
            x + y - x * y
        }
        Expr::Not(a) => 1.0 - clause(cols, a, params),
        Expr::IsNull(a, negated) => match column_of(a).and_then(|c| cols.column(c)) {
            Some(c) if c.stats.is_some() => {
                let nf = c.null_frac();
                if *negated {
                    1.0 - nf
                } else {
                    nf
                }
            }
            _ => {
                if *negated {
                    1.0 - DEFAULT_UNK_SEL
                } else {
                    DEFAULT_UNK_SEL
                }
            }
        },
        Expr::Cmp(op, a, b) => {
            let (col, op, other) = match (column_of(a), column_of(b)) {
                (Some(c), _) if b.is_row_independent() => (c, *op, b.as_ref()),
                (_, Some(c)) if a.is_row_independent() => (c, flip(*op), a.as_ref()),
                // Two columns of one relation, or expressions: PostgreSQL's defaults.
                _ => return if matches!(op, CmpOp::Eq) { DEFAULT_EQ_SEL } else { DEFAULT_INEQ_SEL },
            };
            let Some(c) = cols.column(col) else { return DEFAULT_INEQ_SEL };
            let v = value(other);
            match op {
                CmpOp::Eq => v.map_or_else(|| eq_unknown(&c), |d| eq_const(&c, &d)),
                CmpOp::NotEq => {
                    let eq = v.map_or_else(|| eq_unknown(&c), |d| eq_const(&c, &d));
                    (1.0 - eq - c.null_frac()).max(0.0)
                }
                _ => v.and_then(|d| ineq_const(&c, op, &d)).unwrap_or(DEFAULT_INEQ_SEL),
            }
        }
        Expr::InList(a, items, negated) => {
            let sel = match column_of(a).and_then(|c| cols.column(c)) {
                Some(c) => items
                    .iter()
                    .map(|i| value(i).map_or_else(|| eq_unknown(&c), |d| eq_const(&c, &d)))
                    .sum::<f64>()
                    .min(1.0),
                None => (DEFAULT_EQ_SEL * items.len() as f64).min(1.0),
            };
            if *negated {
                1.0 - sel
            } else {
                sel
            }
        }
        Expr::InSet(_, _, negated) => {
            // A subquery's values: PostgreSQL estimates the semi-join; here its default.
            let sel = DEFAULT_INEQ_SEL;
            if *negated {
                1.0 - sel
            } else {
                sel
            }
        }
        _ => {
            // A predicate of one column with statistics: judged on its MCVs and histogram.
            if let Some(col) = only_column(e) {
                if let Some(c) = cols.column(col) {
                    if let Some(s) = generic(&c, col, e, params) {
                        return s.clamp(0.0, 1.0);
                    }
                }
            }
            match e {
                Expr::Like(..) => DEFAULT_MATCH_SEL,
                _ => DEFAULT_INEQ_SEL,
            }
        }
    }
}

/// The selectivity of `a = b` between columns of two relations (PostgreSQL's `eqjoinsel`
/// without MCV matching): `(1 - nullfrac_a)(1 - nullfrac_b) / max(nd_a, nd_b)`.
pub fn join_eq_selectivity(a: &ColumnInfo, b: &ColumnInfo) -> f64 {
    (1.0 - a.null_frac()) * (1.0 - b.null_frac()) / a.distinct().max(b.distinct())
}

/// Groups of `rows` rows grouped by these expressions (PostgreSQL's `estimate_num_groups`): the
/// product of the columns' distinct counts (200 for another expression), at most the rows.
pub fn groups(cols: &dyn Columns, by: &[Expr], rows: f64) -> f64 {
    if by.is_empty() {
        return 1.0;
    }
    let mut g = 1.0;
    for e in by {
        g *= match column_of(e).and_then(|c| cols.column(c)) {
            Some(c) => c.distinct(),
            None => DEFAULT_NUM_DISTINCT,
        };
    }
    g.min(rows).max(1.0)
}

/// pg_stats' text of a value list (`anyarray` in PostgreSQL; here `text[]` of the values'
/// texts, which prints the same).
pub fn value_array(vals: &[Datum]) -> Datum {
    use orbit_engine::table::array::ArrayValue;
    let items = vals.iter().map(|d| crate::types::to_text(d).map_or(Datum::Null, Datum::Text)).collect();
    Datum::Array(Box::new(ArrayValue::from_items(SqlType::Text, items)))
}

/// pg_stats' `most_common_freqs` (`real[]`).
pub fn freq_array(freqs: &[f64]) -> Datum {
    use orbit_engine::table::array::ArrayValue;
    let items = freqs.iter().map(|&f| Datum::Float4(f as f32)).collect();
    Datum::Array(Box::new(ArrayValue::from_items(SqlType::Float4, items)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hll_estimates_within_a_few_percent() {
        let mut h = Hll::new();
        for i in 0..200_000i64 {
            h.add(value_hash(&Datum::Int8(i)));
        }
        let e = h.estimate();
        assert!((e - 200_000.0).abs() / 200_000.0 < 0.03, "{e}");
        let mut small = Hll::new();
        for i in 0..100i64 {
            small.add(value_hash(&Datum::Int8(i)));
        }
        assert!((small.estimate() - 100.0).abs() < 3.0);
    }

    #[test]
    fn mcv_list_keeps_only_common_values() {
        // 10 values seen 300 times each in a sample of 30000 of a million rows, and a tail: all
        // ten are far above the average of the rest.
        let counts = vec![300; 10];
        assert_eq!(analyze_mcv_list(&counts, -0.5, 0.0, 30000.0, 1_000_000.0), 10);
        // Values seen twice among 500000 distinct: not worth keeping.
        assert_eq!(analyze_mcv_list(&[2, 2, 2], -0.5, 0.0, 30000.0, 1_000_000.0), 0);
        // A whole-table sample keeps every candidate.
        assert_eq!(analyze_mcv_list(&[2, 2], 5.0, 0.0, 10.0, 10.0), 2);
    }

    #[test]
    fn column_stats_match_postgresql_on_a_small_table() {
        // 1..=10 once each and 7 five more times, one NULL: 16 rows sampled whole.
        let mut vals: Vec<Datum> = (1..=10).map(Datum::Int4).collect();
        vals.extend(std::iter::repeat_n(Datum::Int4(7), 5));
        vals.push(Datum::Null);
        let mut part = ColumnPart { nulls: 1, width_sum: 60.0, exact: Some(HashSet::new()), sketch: Hll::new() };
        for v in &vals {
            if !v.is_null() {
                part.exact.as_mut().expect("exact").insert(value_hash(v));
            }
        }
        let s = column_stats(vals.iter().collect(), &[&part], 16.0, SqlType::Int4, STATISTICS_TARGET);
        assert_eq!(s.null_frac, 1.0 / 16.0);
        assert_eq!(s.n_distinct, -0.625);
        assert_eq!(s.mcv.len(), 1);
        assert_eq!(s.mcv[0].0, Datum::Int4(7));
        assert_eq!(s.mcv[0].1, 6.0 / 16.0);
        assert_eq!(s.histogram, (1..=10).filter(|&i| i != 7).map(Datum::Int4).collect::<Vec<_>>());
    }
}
