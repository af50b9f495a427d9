//! LATERAL FROM items: a derived table or function in FROM that reads columns of the FROM items
//! to its left (`FROM t, LATERAL (SELECT ... WHERE s.x = t.a) s`, `FROM t, generate_series(1,
//! t.n)`), as PostgreSQL runs them: a nested loop with the item on the inner side, run again for
//! each outer row.
//!
//! The binder (`bind/lateral.rs`) turns the FROM items up to and including the LATERAL one into
//! one computed relation ([`Lateral`]) whose row is their combined row, so the rest of the
//! FROM clause, WHERE and the select list see the same columns at the same places. Here, on the
//! coordinating shard, the items to the left are joined ([`crate::join::rows_where`], with the
//! parts of WHERE that read only them), and for each
//! distinct set of the outer values the LATERAL item reads it is computed once with those
//! values in place of its outer references (memoised within the statement, the memo bounded),
//! and its rows are joined to the outer row (INNER/CROSS, or LEFT with NULLs when none passes ON).
//! The rows built are bounded as a join step's are (53200), and a cancel request or
//! `statement_timeout` stops it.

use crate::error::{Result, SqlError};
use crate::expr::Expr;
use crate::join::{Built, JoinKind, JoinPlan};
use crate::relation::{self, Source};
use crate::txn::Txn;
use orbit_engine::table::{Datum, Row, TableDef};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// Rows of the LATERAL item kept for reuse (over all remembered outer values); past it the memo
/// is emptied and starts again.
const MEMO_ROWS: usize = 1_000_000;

/// The FROM items up to a LATERAL one, joined per outer row.
#[derive(Debug, Clone)]
pub struct Lateral {
    /// The FROM items to the left, joined as written.
    pub left: JoinPlan,
    /// Width of their combined row (the LATERAL item's row follows it).
    pub left_width: usize,
    /// The parts of the query's WHERE that read only the left items' columns: they filter the
    /// left rows before the LATERAL item runs for them (the WHERE is checked again after).
    pub left_filter: Option<Expr>,
    /// INNER, CROSS or LEFT (the binder refuses RIGHT and FULL: 42P10).
    pub kind: JoinKind,
    /// The ON condition, over the combined row.
    pub on: Option<Expr>,
    /// The LATERAL item, with `Param(OUTER_BASE + n)` for its outer references.
    pub right: Source,
    pub right_def: Arc<TableDef>,
    /// The outer references it reads: (reference number, the column of the left row).
    pub captures: Vec<(usize, Expr)>,
}

/// The combined rows: each left row followed by each row of the LATERAL item computed for it.
pub(crate) async fn rows(txn: &mut Txn, l: &Lateral, params: &[Datum]) -> Result<Vec<Row>> {
    let left = crate::join::rows_where(txn, &l.left, l.left_filter.as_ref(), params).await?;
    let right_width = l.right_def.row_len();
    let mut memo: HashMap<Vec<crate::group::KeyPart>, Rc<Vec<Row>>> = HashMap::new();
    let mut memo_rows = 0usize;
    let mut memo_bytes = 0usize;
    let mut built = Built::new(txn);
    let mut out: Vec<Row> = Vec::new();
    for row in left {
        built.pair(txn)?;
        let mut outer = Vec::with_capacity(l.captures.len());
        for (_, e) in &l.captures {
            outer.push(crate::expr::eval(e, &crate::expr::Ctx { row: &row, params, aggs: &[] })?);
        }
        let key = crate::group::key_of(&outer);
        let rights = match memo.get(&key) {
            Some(r) => r.clone(),
            None => {
                let r = Rc::new(run_for(txn, l, &outer, right_width, params).await?);
                if memo_rows + r.len() > MEMO_ROWS {
                    memo.clear();
                    memo_rows = 0;
                    txn.memory().release(memo_bytes);
                    memo_bytes = 0;
                }
                // The memo's rows are what this run keeps charged: each run's own charge was
                // given back (a memo that is emptied gives its rows back too).
                let bytes: usize = r.iter().map(|row| crate::memory::row_bytes(row)).sum();
                txn.memory().charge("LATERAL", bytes)?;
                memo_bytes += bytes;
                memo_rows += r.len().max(1);
                memo.insert(key, r.clone());
                r
            }
        };
        let mut matched = false;
        for r in rights.iter() {
            built.pair(txn)?;
            let mut joined = Vec::with_capacity(l.left_width + right_width);
            joined.extend_from_slice(&row[..l.left_width.min(row.len())]);
            joined.resize(l.left_width, Datum::Null);
            joined.extend_from_slice(r);
            if !crate::exec::matches(l.on.as_ref(), &joined, params)? {
                continue;
            }
            matched = true;
            built.row(&joined)?;
            out.push(joined);
        }
        if !matched && l.kind == JoinKind::Left {
            let mut joined = row;
            joined.resize(l.left_width + right_width, Datum::Null);
            built.row(&joined)?;
            out.push(joined);
        }
    }
    drop(memo);
    txn.memory().release(memo_bytes);
    Ok(out)
}

/// The LATERAL item's rows with `outer` in place of its outer references.
async fn run_for(txn: &mut Txn, l: &Lateral, outer: &[Datum], width: usize, params: &[Datum]) -> Result<Vec<Row>> {
    let mut source = l.right.clone();
    relation::map_source(&mut source, &mut |e| Ok(relation::put_outer(e, &l.captures, outer)))?;
    let mark = txn.memory().mark();
    let rows = relation::materialise(txn, &source, &l.right_def, params).await;
    // What this run charged is given back; the caller charges the rows it keeps in its memo.
    txn.memory().release_to(mark);
    let mut rows = rows?;
    for r in &mut rows {
        if r.len() > width {
            return Err(SqlError::internal("a LATERAL item's row is wider than its columns"));
        }
        r.resize(width, Datum::Null);
    }
    Ok(rows)
}

/// Applies `f` to every expression of a [`Lateral`] (as [`relation::map_source`]).
pub(crate) fn map(l: &mut Lateral, f: &mut dyn FnMut(&mut Expr) -> Result<bool>) -> Result<()> {
    for s in &mut l.left.steps {
        if let Some(e) = &mut s.on {
            relation::walk(e, f)?;
        }
    }
    if let Some(e) = &mut l.on {
        relation::walk(e, f)?;
    }
    if let Some(e) = &mut l.left_filter {
        relation::walk(e, f)?;
    }
    for (_, e) in &mut l.captures {
        relation::walk(e, f)?;
    }
    relation::map_source(&mut l.right, f)
}
