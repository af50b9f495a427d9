//! Join removal (PostgreSQL's `remove_useless_joins`): a LEFT JOIN step whose table nothing
//! after the step reads, and whose ON condition pins every row so far to at most one row of that
//! table (equalities covering all the columns of its primary key or of a unique index, each with
//! a column of the rows so far or a value constant over the rows), gives back exactly the rows so
//! far: a row so far keeps its one match or, without one, is padded with NULLs, and either way
//! the table's columns are never read. The step is then not run at all: its table is not read,
//! and EXPLAIN does not show it, as PostgreSQL's plans do not.
//!
//! The decision is taken from the columns the rest of the statement reads (the caller's
//! `needed`, over the combined row in FROM order), so the executor ([`crate::join`]) and EXPLAIN
//! ([`crate::explain`]) take the same one. A table without a primary key or unique index, a
//! partial or expression index, a key only partly pinned, or any read of the table's columns
//! (select list, WHERE, GROUP BY, ORDER BY, another step's ON) keeps the join.

use crate::expr::{CmpOp, Expr};
use crate::join::{JoinKind, JoinPlan};
use orbit_engine::table::{IndexDef, TableDef};

/// Per step of `plan`, whether it is removed, given the columns the statement reads besides the
/// join's own conditions (`needed`; None: all columns, so nothing is removed).
pub(crate) fn removed(plan: &JoinPlan, needed: Option<&[bool]>) -> Vec<bool> {
    let mut out = vec![false; plan.steps.len()];
    let Some(needed) = needed else { return out };
    let mut offsets = Vec::with_capacity(plan.inputs.len());
    let mut width = 0;
    for t in &plan.inputs {
        offsets.push(width);
        width += t.row_len();
    }
    for (k, step) in plan.steps.iter().enumerate() {
        let t = k + 1;
        if step.kind != JoinKind::Left || crate::relation::is_derived(&plan.inputs[t]) {
            continue;
        }
        let (lo, hi) = (offsets[t], offsets[t] + plan.inputs[t].row_len());
        // Read by the rest of the statement, or by another step's condition.
        let mut read = (lo..hi).any(|c| needed.get(c).copied().unwrap_or(true));
        for (j, other) in plan.steps.iter().enumerate() {
            if j == k || read {
                continue;
            }
            if let Some(on) = &other.on {
                on.visit_columns(&mut |c| read |= (lo..hi).contains(&c));
            }
            read |= other.eq.iter().any(|&(l, _)| (lo..hi).contains(&l));
        }
        if read {
            continue;
        }
        // The table's columns the ON pins to one value per row so far.
        let mut pinned = vec![false; plan.inputs[t].columns.len()];
        for &(l, r) in &step.eq {
            if l < lo {
                if let Some(p) = pinned.get_mut(r) {
                    *p = true;
                }
            }
        }
        if let Some(on) = &step.on {
            let mut parts = Vec::new();
            crate::join::conjuncts(on, &mut parts);
            for p in &parts {
                if let Some(c) = pinned_column(p, lo, hi) {
                    if let Some(x) = pinned.get_mut(c - lo) {
                        *x = true;
                    }
                }
            }
        }
        out[k] = unique_key_pinned(&plan.inputs[t], &pinned);
    }
    out
}

/// The column of the step's table (`lo..hi` in the combined row) that an equality `part` sets
/// equal to something read only from the rows so far or constant over the rows.
fn pinned_column(part: &Expr, lo: usize, hi: usize) -> Option<usize> {
    let Expr::Cmp(CmpOp::Eq, a, b) = part else { return None };
    let column = |e: &Expr| match e {
        Expr::Column(c, _) if (lo..hi).contains(c) => Some(*c),
        _ => None,
    };
    // A column of the rows so far or a value constant over the rows (a volatile call could
    // give each candidate pair its own value and match several rows).
    fn before(e: &Expr, lo: usize) -> bool {
        match e {
            Expr::Column(c, _) => *c < lo,
            Expr::Const(..) | Expr::Param(..) => true,
            Expr::Cast(x, _, _) => before(x, lo),
            _ => false,
        }
    }
    match (column(a), column(b)) {
        (Some(c), None) if before(b, lo) => Some(c),
        (None, Some(c)) if before(a, lo) => Some(c),
        _ => None,
    }
}

/// Whether `pinned` covers the table's primary key or a unique index on plain columns (not
/// partial: its predicate may leave several rows with the same key).
fn unique_key_pinned(def: &TableDef, pinned: &[bool]) -> bool {
    let covers = |cols: &[usize]| !cols.is_empty() && cols.iter().all(|&c| pinned.get(c).copied().unwrap_or(false));
    covers(&def.pk)
        || def
            .indexes
            .iter()
            .any(|i| i.unique && i.predicate.is_none() && !i.columns.contains(&IndexDef::EXPR) && covers(&i.columns))
}
