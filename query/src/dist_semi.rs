//! Semi and anti joins ([`crate::semi_join`]) on the shards. A level whose FROM is one stored
//! table read by a scan of every shard's part can run its decorrelated EXISTS / NOT EXISTS /
//! IN / NOT IN where that table is ([`choose`], [`crate::cost::semi_join_distribution`]):
//!
//! - On the coordinating shard (as before): the outer table's rows that pass WHERE's plain part
//!   come to the coordinator, which hashes the inner rows and probes with them.
//! - Broadcast: the coordinator reads the inner rows (the join keys and the columns the
//!   residual and NOT IN read, [`crate::semi_join::inner_rows`]) and sends them to every shard;
//!   each shard hashes them, probes with its part of the outer table (WHERE's plain part checked
//!   there) and sends back only the rows the join keeps. Any inner plan qualifies (it ran on
//!   the coordinator), a NULL-aware NOT IN too (every shard sees every inner row).
//! - Co-located: the inner plan is a scan of one stored table and the join keys pair the whole
//!   primary keys of both tables with the same types ([`crate::dist_join::colocated`]): equal
//!   keys live on the same shard, so each shard hashes its own part of the inner table and
//!   probes with its part of the outer one; an outer row with no match on its shard has none
//!   anywhere (an anti join keeps it). Not for a NULL-aware NOT IN (a NULL element matches
//!   across keys).
//!
//! Rows the transaction wrote are not in the shards' parts: a transaction with its own rows in
//! the outer table joins on the coordinator; with rows in a co-located inner table it weighs
//! broadcast instead (the broadcast inner rows are read as the transaction sees them). Each
//! shard charges its hash table and the rows it keeps against `orbit.query_memory_limit`
//! (53200 from the shard), the coordinator the broadcast rows and the rows that come back.

use crate::bind::Plan;
use crate::error::{Result, SqlError};
use crate::expr::{self, Ctx, Expr};
use crate::relation::Correlated;
use crate::semi_join::SemiJoin;
use crate::txn::Txn;
use orbit_engine::table::{Datum, Row, TableDef};
use std::sync::Arc;

/// Where one semi or anti join of a level runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SemiDistribution {
    Coordinator,
    Broadcast,
    CoLocated,
}

impl SemiDistribution {
    /// EXPLAIN's line for a join on the shards (None on the coordinator).
    pub fn line(self, shards: usize) -> Option<String> {
        match self {
            SemiDistribution::Coordinator => None,
            SemiDistribution::Broadcast => Some(format!("Distribution: broadcast of the inner rows ({shards} shards)")),
            SemiDistribution::CoLocated => Some(format!("Distribution: co-located ({shards} shards)")),
        }
    }
}

/// The outer table of a level whose FROM rows the shards can produce: one stored table read by
/// a scan of every shard's part (no key or index lookup serving WHERE's plain part).
pub(crate) fn outer_table<'c>(c: &'c Correlated, plain: Option<&Expr>) -> Option<&'c Arc<TableDef>> {
    let t = c.table.as_ref()?;
    (c.join.is_none() && crate::exec::scanned_on_shards(t, plain)).then_some(t)
}

/// The inner plan's one stored table, its conditions and outputs, when it is a plain scan that
/// each shard can run over its own part.
fn inner_scan(sj: &SemiJoin) -> Option<(&Arc<TableDef>, Option<&Expr>, &[Expr])> {
    let Plan::Select(p) = sj.plan.as_ref() else { return None };
    let t = p.table.as_ref()?;
    if p.grouped
        || p.join.is_some()
        || p.key.is_some()
        || !p.windows.is_empty()
        || !p.srfs.is_empty()
        || crate::relation::is_derived(t)
        || crate::catalog::is_view(t)
    {
        return None;
    }
    Some((t, p.filter.as_ref(), &p.projection))
}

/// Whether `sj` joins `outer` to its inner table on both whole primary keys (same types), so
/// each shard can join its own parts.
pub(crate) fn colocated(outer: &TableDef, sj: &SemiJoin) -> bool {
    if sj.null_aware {
        return false;
    }
    let Some((inner, _, projection)) = inner_scan(sj) else { return false };
    let mut pairs = Vec::new();
    for (o, i) in sj.keys.iter().zip(projection) {
        if let (Expr::Column(a, _), Expr::Column(b, _)) = (o, i) {
            pairs.push((*a, *b));
        }
    }
    crate::dist_join::colocated(outer, inner, &pairs)
}

/// The estimated rows of `sj`'s inner plan.
fn inner_estimate(sj: &SemiJoin) -> f64 {
    match sj.plan.as_ref() {
        Plan::Select(p) => match (&p.table, &p.join) {
            (Some(t), _) => {
                let cols = crate::stats::TableColumns::new(t);
                let sel = p.filter.as_ref().map_or(1.0, |f| crate::stats::selectivity(&cols, f, &[]));
                cols.rows * sel
            }
            (None, Some(j)) => j.inputs.iter().map(|t| crate::stats::table_rows(t)).fold(1.0, f64::max),
            (None, None) => 1.0,
        },
        // A computed relation: taken as large, so that it is not broadcast on a guess.
        _ => f64::MAX / 4.0,
    }
}

/// Where each semi join of `c` runs with `shards` shards, as planned: the outer side must be a
/// scan of every shard's part; then a co-located join runs there, and the others where
/// [`crate::cost::semi_join_distribution`] costs less (a tie keeps the coordinator).
pub(crate) fn choose(c: &Correlated, plain: Option<&Expr>, shards: usize) -> Vec<SemiDistribution> {
    let Some(outer) = outer_table(c, plain).filter(|_| shards > 1) else {
        return vec![SemiDistribution::Coordinator; c.semi.len()];
    };
    let cols = crate::stats::TableColumns::new(outer);
    let sel = plain.map_or(1.0, |f| crate::stats::selectivity(&cols, f, &[]));
    let outer_rows = cols.rows * sel;
    c.semi
        .iter()
        .map(|sj| {
            if colocated(outer, sj) {
                return SemiDistribution::CoLocated;
            }
            let inner = inner_estimate(sj);
            let costs = crate::cost::semi_join_distribution(shards, outer_rows, inner, outer_rows * 0.5);
            if costs.broadcast < costs.coordinator {
                SemiDistribution::Broadcast
            } else {
                SemiDistribution::Coordinator
            }
        })
        .collect()
}

/// What a shard needs for one join it runs.
struct OnShard {
    sj: SemiJoin,
    inner: Inner,
}

enum Inner {
    /// Broadcast: the inner rows, the same for every shard.
    Rows(Arc<Vec<Row>>),
    /// Co-located: the shard's part of this table, its conditions and outputs.
    Part { table: String, filter: Option<Expr>, projection: Vec<Expr>, range: Option<crate::exec::KeyRange> },
}

/// The FROM rows of `c` with the semi joins that run on the shards applied there, and which
/// those were (the others are the coordinator's, in order); None when none runs there (the
/// caller reads the FROM rows as before).
pub(crate) async fn scan(
    txn: &mut Txn,
    c: &Correlated,
    plain: Option<&Expr>,
    params: &[Datum],
) -> Result<Option<(Vec<Row>, Vec<bool>)>> {
    let (_, shards) = orbit_shards::state::local();
    let Some(outer) = outer_table(c, plain) else { return Ok(None) };
    if shards < 2 || c.semi.is_empty() || txn.overlay(outer).is_some() {
        return Ok(None);
    }
    let mut plan = choose(c, plain, shards);
    for (d, sj) in plan.iter_mut().zip(&c.semi) {
        // A co-located inner table the transaction wrote to: weigh broadcast instead.
        if *d == SemiDistribution::CoLocated && inner_scan(sj).is_some_and(|(t, _, _)| txn.overlay(t).is_some()) {
            let cols = crate::stats::TableColumns::new(outer);
            let rows = cols.rows * plain.map_or(1.0, |f| crate::stats::selectivity(&cols, f, &[]));
            let costs = crate::cost::semi_join_distribution(shards, rows, inner_estimate(sj), rows * 0.5);
            *d = if costs.broadcast < costs.coordinator {
                SemiDistribution::Broadcast
            } else {
                SemiDistribution::Coordinator
            };
        }
    }
    if plan.iter().all(|d| *d == SemiDistribution::Coordinator) {
        return Ok(None);
    }
    let mut held = crate::memory::Held::new(txn.memory(), "semi join rows sent to the shards");
    let mut jobs = Vec::new();
    for (d, sj) in plan.iter().zip(&c.semi) {
        let inner = match d {
            SemiDistribution::Coordinator => continue,
            SemiDistribution::Broadcast => {
                let rows = crate::semi_join::inner_rows(txn, sj, params, None).await?;
                held.add(rows.iter().map(|r| crate::memory::row_bytes(r)).sum::<usize>() * shards)?;
                Inner::Rows(Arc::new(rows))
            }
            SemiDistribution::CoLocated => {
                let Some((t, filter, projection)) = inner_scan(sj) else {
                    return Err(SqlError::internal("a co-located semi join without an inner scan"));
                };
                let range = crate::exec::key_range(t, filter, params)?;
                crate::exec::note_scan(txn, t, range.as_ref());
                Inner::Part { table: t.name.clone(), filter: filter.cloned(), projection: projection.to_vec(), range }
            }
        };
        jobs.push(OnShard { sj: sj.clone(), inner });
    }
    let range = crate::exec::key_range(outer, plain, params)?;
    crate::exec::note_scan(txn, outer, range.as_ref());
    let jobs = Arc::new(jobs);
    let name = outer.name.clone();
    let filter = plain.cloned();
    let p = params.to_vec();
    let at = txn.read_at();
    let (used, limit, hash_mem) = (txn.memory().used(), txn.memory().limit(), txn.memory().hash_mem());
    let parts = crate::exec::on_every_shard_at(at, move |s| {
        let mut bytes = used;
        let mut charge = |size: usize| {
            bytes += size;
            if bytes > limit {
                return Err(crate::memory::out_of_memory("semi join on a shard", size, bytes - size, limit));
            }
            Ok(())
        };
        let mut tables = Vec::with_capacity(jobs.len());
        for job in jobs.iter() {
            // Each build table is one hash table, under work_mem times hash_mem_multiplier too.
            let mut table_bytes = 0usize;
            let mut charge = |size: usize| {
                if table_bytes.saturating_add(size) > hash_mem {
                    let (what, bound) = ("semi join on a shard", crate::memory::HASH_MEM);
                    return Err(crate::memory::operator_out_of_memory(what, size, table_bytes, bound, hash_mem));
                }
                table_bytes += size;
                charge(size)
            };
            let table = match &job.inner {
                Inner::Rows(rows) => crate::semi_join::build_table(&job.sj, rows.iter().cloned(), &mut charge)?,
                Inner::Part { table, filter, projection, range } => {
                    let t = s.tables.get(table).ok_or_else(|| crate::exec::no_table(table))?;
                    let mut rows = Vec::new();
                    crate::exec::each_row(t, filter.as_ref(), &p, at, range.as_ref(), |_, row| {
                        let cx = Ctx { row, params: &p, aggs: &[] };
                        let r: Row = projection.iter().map(|e| expr::eval(e, &cx)).collect::<Result<_>>()?;
                        rows.push(r);
                        Ok(())
                    })?;
                    crate::semi_join::build_table(&job.sj, rows, &mut charge)?
                }
            };
            tables.push(table);
        }
        let mut probers: Vec<crate::semi_join::Prober> =
            jobs.iter().map(|j| crate::semi_join::Prober::new(&j.sj)).collect();
        let t = s.tables.get(&name).ok_or_else(|| crate::exec::no_table(&name))?;
        let mut out = Vec::new();
        crate::exec::each_row(t, filter.as_ref(), &p, at, range.as_ref(), |_, row| {
            for ((job, table), prober) in jobs.iter().zip(tables.iter_mut()).zip(probers.iter_mut()) {
                if !prober.keeps(&job.sj, table, row, None, &p, &mut charge)? {
                    return Ok(());
                }
            }
            charge(crate::memory::row_bytes(row))?;
            out.push(row.clone());
            Ok(())
        })?;
        Ok::<_, SqlError>(out)
    })
    .await?;
    txn.check_cancel()?;
    drop(held);
    let mut all = Vec::new();
    for part in parts {
        all.extend(part?);
    }
    let mut kept = crate::memory::Held::new(txn.memory(), "rows from shards");
    kept.rows(all.iter())?;
    kept.keep();
    let on_shards = plan.iter().map(|d| *d != SemiDistribution::Coordinator).collect();
    Ok(Some((all, on_shards)))
}

#[cfg(test)]
mod tests {
    use crate::cost::semi_join_distribution;

    #[test]
    fn a_small_inner_side_is_broadcast_to_a_big_outer_side() {
        let c = semi_join_distribution(2, 1e5, 100.0, 5e4);
        assert!(c.broadcast < c.coordinator);
        // An inner side as big as the outer one crosses more often broadcast.
        let c = semi_join_distribution(2, 1e5, 1e5, 5e4);
        assert!(c.broadcast > c.coordinator);
    }

    #[test]
    fn a_left_join_broadcasts_only_a_much_smaller_nullable_side() {
        use crate::cost::left_join_distribution;
        let c = left_join_distribution(2, 1e5, 25.0, 1e5);
        assert!(c.broadcast < c.coordinator);
        // TPC-H Q13's shape: the nullable side (orders) bigger than the preserved one.
        let c = left_join_distribution(2, 1500.0, 15000.0, 15000.0);
        assert!(c.broadcast > c.coordinator);
    }
}
