//! LEFT JOIN steps on the shards. A join in written order (it has an outer join) whose first
//! step is `a LEFT JOIN b` on equalities, with `a` (the preserved side) read by a scan of every
//! shard's part, can run that step on the shards: the coordinator reads `b`'s rows (the nullable
//! side, its own conditions applied, only the columns the rest of the plan reads) and sends them
//! to every shard; each shard hashes them, probes with its part of `a` and sends back the joined
//! rows, a row of `a` without a match padded with NULLs. Broadcasting the preserved side
//! instead would be wrong: a row without a match on one shard may have one on another. Chosen
//! by [`crate::cost::left_join_distribution`] (the nullable side must be small next to the
//! preserved one: every row of `a` comes back either way, so broadcast saves only the
//! coordinator's probing and building of the joined rows); a co-located first step already
//! merges on the shards ([`crate::merge_join`]), and a step an index lookup serves keeps it.
//! Not when the transaction has rows of its own in `a` (they are not in the shards' parts).
//! Each shard charges its hash table and joined rows against `orbit.query_memory_limit` (53200
//! from the shard), the coordinator the broadcast rows and the rows that come back.

use crate::error::{Result, SqlError};
use crate::expr::{self, Ctx, Expr};
use crate::join::{JoinKind, JoinPlan, JoinStep};
use crate::txn::Txn;
use orbit_engine::table::{Datum, Row};
use std::sync::Arc;

/// Whether the first step of `plan` (a join in written order) runs on the shards with its
/// nullable side broadcast, as planned with `shards` shards; `first` is WHERE's part over the
/// first table alone (it filters that table's scan).
pub(crate) fn first_step_broadcast(plan: &JoinPlan, first: Option<&Expr>, shards: usize) -> bool {
    let (Some(step), Some(a), Some(b)) = (plan.steps.first(), plan.inputs.first(), plan.inputs.get(1)) else {
        return false;
    };
    if shards < 2 || step.kind != JoinKind::Left || step.eq.is_empty() || !crate::exec::scanned_on_shards(a, first) {
        return false;
    }
    let ca = crate::stats::TableColumns::new(a);
    let preserved = ca.rows * first.map_or(1.0, |f| crate::stats::selectivity(&ca, f, &[]));
    let (pushed, _) = crate::join::pushed_down(plan, 0);
    let nullable = if crate::relation::is_derived(b) || crate::catalog::is_view(b) {
        // A computed relation: its size is not known here; not broadcast on a guess.
        return false;
    } else {
        let cb = crate::stats::TableColumns::new(b);
        cb.rows * pushed.as_ref().map_or(1.0, |f| crate::stats::selectivity(&cb, f, &[]))
    };
    // An index lookup serving the step stays the coordinator's choice.
    if crate::index_join::path(b, &step.eq)
        .is_some_and(|l| crate::index_join::cheaper(&l, preserved, crate::stats::table_rows(b), plan.methods))
    {
        return false;
    }
    let c = crate::cost::left_join_distribution(shards, preserved, nullable, preserved);
    c.broadcast < c.coordinator
}

/// What every shard gets: the nullable side's rows and how to join its part of the preserved
/// table to them.
struct Broadcast {
    table: String,
    filter: Option<Expr>,
    /// The preserved table's columns kept (None: all).
    cols: Option<Arc<[usize]>>,
    /// The nullable side's rows, as kept.
    right: Vec<Row>,
    /// The step over the rows as kept: its equalities (a column of the preserved row, one of
    /// the nullable row) and the rest of its ON over the two rows end to end.
    step: JoinStep,
    widths: (usize, usize),
    params: Vec<Datum>,
}

/// The first step of a join in written order, its nullable side `right` (rows as kept, read on
/// the coordinator) broadcast to every shard's scan of the preserved table (`first` filtering
/// it, `cols` the columns kept): the joined rows, and how many rows of the preserved table
/// passed `first`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn first_step(
    txn: &Txn,
    plan: &JoinPlan,
    first: Option<&Expr>,
    cols: Option<Arc<[usize]>>,
    right: Vec<Row>,
    step: JoinStep,
    widths: (usize, usize),
    params: &[Datum],
) -> Result<(Vec<Row>, usize)> {
    let a = plan.inputs.first().ok_or_else(|| SqlError::internal("a join without tables"))?;
    let range = crate::exec::key_range(a, first, params)?;
    crate::exec::note_scan(txn, a, range.as_ref());
    let (_, shards) = orbit_shards::state::local();
    let mut held = crate::memory::Held::new(txn.memory(), "rows broadcast to the shards");
    held.add(right.iter().map(|r| crate::memory::row_bytes(r)).sum::<usize>() * shards)?;
    let job = Arc::new(Broadcast {
        table: a.name.clone(),
        filter: first.cloned(),
        cols,
        right,
        step,
        widths,
        params: params.to_vec(),
    });
    let at = txn.read_at();
    let (used, limit, hash_mem) = (txn.memory().used(), txn.memory().limit(), txn.memory().hash_mem());
    let parts = crate::exec::on_every_shard_at(at, move |s| {
        let job = &job;
        let t = s.tables.get(&job.table).ok_or_else(|| crate::exec::no_table(&job.table))?;
        let (left_cols, right_cols): (Vec<usize>, Vec<usize>) = job.step.eq.iter().copied().unzip();
        let index = crate::join_key::Buckets::build(&job.right, &right_cols);
        if index.bytes() > hash_mem {
            let (what, size) = ("broadcast left join build table", index.bytes());
            return Err(crate::memory::operator_out_of_memory(what, size, 0, crate::memory::HASH_MEM, hash_mem));
        }
        let mut bytes = used + index.bytes();
        if bytes > limit {
            return Err(crate::memory::out_of_memory("broadcast left join build table", index.bytes(), used, limit));
        }
        let (lw, rw) = job.widths;
        let (mut out, mut read) = (Vec::new(), 0usize);
        let mut combined: Row = Vec::with_capacity(lw + rw);
        let mut keep = |row: Row, bytes: &mut usize| {
            let size = crate::memory::row_bytes(&row);
            *bytes += size;
            if *bytes > limit {
                return Err(crate::memory::out_of_memory("broadcast left join", size, *bytes - size, limit));
            }
            out.push(row);
            Ok(())
        };
        crate::exec::each_row(t, job.filter.as_ref(), &job.params, at, range.as_ref(), |_, row| {
            read += 1;
            let l = crate::exec::narrow(row, job.cols.as_deref());
            let mut matched = false;
            if let Some(k) = crate::join_key::of(&l, &left_cols) {
                for j in index.get(&k) {
                    combined.clear();
                    combined.extend_from_slice(&l);
                    combined.resize(lw, Datum::Null);
                    combined.extend_from_slice(&job.right[j]);
                    let passes = match &job.step.on {
                        None => true,
                        Some(on) => {
                            expr::truth(expr::eval(on, &Ctx { row: &combined, params: &job.params, aggs: &[] })?)
                                == Some(true)
                        }
                    };
                    if passes {
                        matched = true;
                        keep(combined.clone(), &mut bytes)?;
                    }
                }
            }
            if !matched {
                let mut padded = l;
                padded.resize(lw + rw, Datum::Null);
                keep(padded, &mut bytes)?;
            }
            Ok(())
        })?;
        Ok::<_, SqlError>((out, read))
    })
    .await?;
    txn.check_cancel()?;
    drop(held);
    let (mut all, mut read) = (Vec::new(), 0);
    for part in parts {
        let (rows, n) = part?;
        all.extend(rows);
        read += n;
    }
    let mut kept = crate::memory::Held::new(txn.memory(), "rows from shards");
    kept.rows(all.iter())?;
    kept.keep();
    Ok((all, read))
}
