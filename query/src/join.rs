//! Joins: INNER, LEFT, RIGHT, FULL and CROSS, with ON, USING or NATURAL, over the tables of a
//! FROM clause. A joined row is the stored rows of its tables laid end to end (a table's
//! hidden row id included), so column `i` of the combined row is the binder's `Expr::Column(i)`.
//!
//! Execution (first version, on the coordinating shard): every table is read as the
//! transaction sees it (each shard scans its part in parallel), then the tables are joined
//! left to right. An equality between a column of the rows so far and a column of the next
//! table (`ON a.x = b.y`, or USING) makes it a hash join on those values (NULLs never match);
//! any other condition is a nested loop. The rest of the ON condition is checked on every
//! candidate pair; outer joins add the unmatched rows padded with NULLs. The joined rows are
//! bounded ([`MAX_JOIN_ROWS`], 53200 beyond), then WHERE, grouping, ORDER BY and LIMIT run as
//! for one table.
//!
//! Not here yet: pushing filters down to the shards, joins on the partition key run shard-locally,
//! and a planner that orders the joins (issue 6).

use crate::error::{Result, SqlError};
use crate::expr::{self, Ctx, Expr};
use crate::txn::Txn;
use orbit_engine::table::{key, Datum, Row, TableDef};
use std::collections::HashMap;
use std::sync::Arc;

/// Joined rows one query may build before it fails with 53200.
pub const MAX_JOIN_ROWS: usize = 10_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    Cross,
}

/// One step: the table `inputs[i + 1]` joined to the rows built so far.
#[derive(Debug, Clone)]
pub struct JoinStep {
    pub kind: JoinKind,
    /// The ON condition (USING's equalities included), over the combined row so far plus this
    /// table's row.
    pub on: Option<Expr>,
    /// Equalities usable as hash keys: (column of the rows so far, column of this table's row).
    pub eq: Vec<(usize, usize)>,
}

#[derive(Debug, Clone)]
pub struct JoinPlan {
    pub inputs: Vec<Arc<TableDef>>,
    pub steps: Vec<JoinStep>,
}

fn too_many() -> SqlError {
    SqlError::new("53200", "out of memory")
        .detail(format!("A join would build more than {MAX_JOIN_ROWS} rows; Orbit bounds the rows one query holds."))
}

fn hash_key(row: &[Datum], cols: impl Iterator<Item = usize>) -> Option<Vec<u8>> {
    let vals: Vec<&Datum> = cols.map(|c| row.get(c).unwrap_or(&Datum::Null)).collect();
    if vals.iter().any(|v| v.is_null()) {
        return None;
    }
    Some(key::encode(vals.into_iter()))
}

/// The joined rows of `plan`, as `txn` sees the tables.
pub async fn rows(txn: &Txn, plan: &JoinPlan, params: &[Datum]) -> Result<Vec<Row>> {
    let mut tables = Vec::with_capacity(plan.inputs.len());
    for t in &plan.inputs {
        let rows: Vec<Row> = crate::exec::scan(txn, t, None, None, params).await?.into_iter().map(|(_, r)| r).collect();
        tables.push(rows);
    }
    let mut tables = tables.into_iter();
    let mut acc = tables.next().unwrap_or_default();
    let mut left_width = plan.inputs.first().map_or(0, |d| d.row_len());
    for (step, (right, def)) in plan.steps.iter().zip(tables.zip(plan.inputs.iter().skip(1))) {
        acc = join_step(step, acc, &right, left_width, def.row_len(), params)?;
        left_width += def.row_len();
    }
    Ok(acc)
}

fn join_step(
    step: &JoinStep,
    left: Vec<Row>,
    right: &[Row],
    left_width: usize,
    right_width: usize,
    params: &[Datum],
) -> Result<Vec<Row>> {
    let passes = |combined: &[Datum]| -> Result<bool> {
        match &step.on {
            None => Ok(true),
            Some(on) => Ok(expr::truth(expr::eval(on, &Ctx { row: combined, params, aggs: &[] })?) == Some(true)),
        }
    };
    let mut out: Vec<Row> = Vec::new();
    let mut right_matched = vec![false; right.len()];
    // Candidate right rows per left row: by hash of the equality columns, or all of them.
    let index: Option<HashMap<Vec<u8>, Vec<usize>>> = (!step.eq.is_empty()).then(|| {
        let mut m: HashMap<Vec<u8>, Vec<usize>> = HashMap::new();
        for (j, r) in right.iter().enumerate() {
            if let Some(k) = hash_key(r, step.eq.iter().map(|&(_, rc)| rc)) {
                m.entry(k).or_default().push(j);
            }
        }
        m
    });
    let all: Vec<usize> = if index.is_none() { (0..right.len()).collect() } else { Vec::new() };
    let none: Vec<usize> = Vec::new();
    for l in left {
        let candidates = match &index {
            Some(m) => match hash_key(&l, step.eq.iter().map(|&(lc, _)| lc)) {
                Some(k) => m.get(&k).unwrap_or(&none),
                None => &none,
            },
            None => &all,
        };
        let mut matched = false;
        for &j in candidates {
            let mut combined = Vec::with_capacity(left_width + right_width);
            combined.extend_from_slice(&l);
            combined.extend_from_slice(&right[j]);
            if passes(&combined)? {
                matched = true;
                right_matched[j] = true;
                out.push(combined);
                if out.len() > MAX_JOIN_ROWS {
                    return Err(too_many());
                }
            }
        }
        if !matched && matches!(step.kind, JoinKind::Left | JoinKind::Full) {
            let mut padded = l;
            padded.resize(left_width + right_width, Datum::Null);
            out.push(padded);
        }
    }
    if matches!(step.kind, JoinKind::Right | JoinKind::Full) {
        for (j, r) in right.iter().enumerate() {
            if !right_matched[j] {
                let mut padded = vec![Datum::Null; left_width];
                padded.extend_from_slice(r);
                out.push(padded);
                if out.len() > MAX_JOIN_ROWS {
                    return Err(too_many());
                }
            }
        }
    }
    Ok(out)
}
