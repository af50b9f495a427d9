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

/// Splits a condition into its AND-ed parts. An OR whose every branch has a part in common
/// gives that part too (`(a AND x) OR (a AND y)` is `a AND (x OR y)`, as PostgreSQL's planner
/// rewrites it), so a join condition repeated in each branch can still drive the join.
pub(crate) fn conjuncts(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::And(a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        Expr::Or(..) => {
            fn arms(e: &Expr, out: &mut Vec<Expr>) {
                match e {
                    Expr::Or(a, b) => {
                        arms(a, out);
                        arms(b, out);
                    }
                    other => out.push(other.clone()),
                }
            }
            let mut branches = Vec::new();
            arms(e, &mut branches);
            let parts: Vec<Vec<Expr>> = branches
                .iter()
                .map(|b| {
                    let mut p = Vec::new();
                    conjuncts(b, &mut p);
                    p
                })
                .collect();
            let text = |e: &Expr| format!("{e:?}");
            let common: Vec<Expr> = parts[0]
                .iter()
                .filter(|c| parts[1..].iter().all(|p| p.iter().any(|x| text(x) == text(c))))
                .cloned()
                .collect();
            if common.is_empty() {
                out.push(e.clone());
                return;
            }
            let common_text: Vec<String> = common.iter().map(text).collect();
            let mut rest = Vec::new();
            for p in parts {
                let left: Vec<Expr> = p.into_iter().filter(|x| !common_text.contains(&text(x))).collect();
                match and_all(left) {
                    // A branch that is only the common part: the OR is true whenever it is.
                    None => {
                        out.extend(common);
                        return;
                    }
                    Some(b) => rest.push(b),
                }
            }
            out.extend(common);
            if let Some(first) = rest.pop() {
                out.push(rest.into_iter().rev().fold(first, |acc, b| Expr::Or(Box::new(b), Box::new(acc))));
            }
        }
        other => out.push(other.clone()),
    }
}

/// `e` with every column `i` read as column `f(i)`.
fn remap(e: &Expr, f: &dyn Fn(usize) -> usize) -> Expr {
    fn walk(e: &mut Expr, f: &dyn Fn(usize) -> usize) {
        if let Expr::Column(i, _) = e {
            *i = f(*i);
            return;
        }
        for c in e.children_mut() {
            walk(c, f);
        }
    }
    let mut e = e.clone();
    walk(&mut e, f);
    e
}

fn and_all(mut es: Vec<Expr>) -> Option<Expr> {
    let first = es.pop()?;
    Some(es.into_iter().rev().fold(first, |acc, e| Expr::And(Box::new(e), Box::new(acc))))
}

/// Whether an equality of two columns of these types can be a hash key (their values encode
/// alike when equal, as [`hash_key`] encodes them).
fn hashable(a: orbit_engine::table::SqlType, b: orbit_engine::table::SqlType) -> bool {
    (a.is_integer() && b.is_integer()) || (a.is_float() && b.is_float()) || (a.is_string() && b.is_string()) || a == b
}

/// The joined rows of `plan` that pass `filter` (over the combined row), as `txn` sees the
/// tables.
///
/// For joins that are all inner (or cross), WHERE and ON are one set of conditions, so they are
/// split into their AND-ed parts and each part runs as early as it can: a part that reads one
/// table filters that table's scan on the shards (where a key or index lookup can serve it), a
/// part that reads several tables runs at the join step where the last of them arrives, and an
/// equality between a column of the rows so far and one of the arriving table is a hash-join
/// key. Tables are joined smallest first (their filtered row counts are known once read), each
/// next table one an equality connects to the rows so far where there is one, so a FROM list
/// with its join conditions in WHERE never builds a cross product it does not need. The rows
/// come out laid out in FROM order, as the binder sees them. Joins with an outer join keep their
/// written order (the conditions of an outer join cannot move across it).
pub async fn rows_where(txn: &Txn, plan: &JoinPlan, filter: Option<&Expr>, params: &[Datum]) -> Result<Vec<Row>> {
    let inner_only = plan.steps.iter().all(|s| matches!(s.kind, JoinKind::Inner | JoinKind::Cross));
    let passes = |f: Option<&Expr>, row: &[Datum]| -> Result<bool> {
        match f {
            None => Ok(true),
            Some(f) => Ok(expr::truth(expr::eval(f, &Ctx { row, params, aggs: &[] })?) == Some(true)),
        }
    };
    if !inner_only || plan.inputs.len() < 2 {
        let mut out = Vec::new();
        for row in rows(txn, plan, params).await? {
            if passes(filter, &row)? {
                out.push(row);
            }
        }
        return Ok(out);
    }
    let n = plan.inputs.len();
    let mut offsets = Vec::with_capacity(n);
    let mut width = 0;
    for t in &plan.inputs {
        offsets.push(width);
        width += t.row_len();
    }
    let table_of = |col: usize| offsets.iter().rposition(|&o| o <= col).filter(|_| col < width);
    let mut parts = Vec::new();
    if let Some(f) = filter {
        conjuncts(f, &mut parts);
    }
    for s in &plan.steps {
        if let Some(on) = &s.on {
            conjuncts(on, &mut parts);
        }
    }
    // Per table, its own conditions; conditions over several tables; the rest (no column, or a
    // column beyond the tables) for the joined rows.
    let mut local: Vec<Vec<Expr>> = vec![Vec::new(); n];
    let mut multi: Vec<(Expr, Vec<usize>)> = Vec::new();
    let mut last: Vec<Expr> = Vec::new();
    for p in parts {
        let mut tables: Vec<usize> = Vec::new();
        let mut outside = false;
        p.visit_columns(&mut |c| match table_of(c) {
            Some(t) => {
                if !tables.contains(&t) {
                    tables.push(t);
                }
            }
            None => outside = true,
        });
        match (outside, tables.as_slice()) {
            (false, [t]) => {
                let off = offsets[*t];
                local[*t].push(remap(&p, &|i| i - off));
            }
            (false, ts) if ts.len() > 1 => multi.push((p, tables)),
            _ => last.push(p),
        }
    }
    // Each table read with its own conditions, the filtered ones first: once one of them has
    // no rows, an inner join has none either and the other tables are not read.
    let mut inputs: Vec<Vec<Row>> = vec![Vec::new(); n];
    let mut reading: Vec<usize> = (0..n).collect();
    reading.sort_by_key(|&t| local[t].is_empty());
    for t in reading {
        let def = &plan.inputs[t];
        let f = and_all(std::mem::take(&mut local[t]));
        let key = f.as_ref().and_then(|f| crate::bind::pk_lookup(f, def));
        let rows = crate::exec::scan(txn, def, f.as_ref(), key.as_deref(), params).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        inputs[t] = rows.into_iter().map(|(_, r)| r).collect();
    }
    // The join order: smallest first, then connected tables, smallest first.
    let connects = |t: usize, set: &[usize]| {
        multi.iter().any(|(p, ts)| {
            ts.len() == 2
                && ts.contains(&t)
                && ts.iter().any(|x| set.contains(x))
                && matches!(p, Expr::Cmp(crate::expr::CmpOp::Eq, a, b)
                    if matches!((a.as_ref(), b.as_ref()), (Expr::Column(..), Expr::Column(..))))
        })
    };
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let mut remaining: Vec<usize> = (0..n).collect();
    while !remaining.is_empty() {
        let connected: Vec<usize> = remaining.iter().copied().filter(|&t| connects(t, &order)).collect();
        let pool = if order.is_empty() || connected.is_empty() { remaining.clone() } else { connected };
        let next = pool.into_iter().min_by_key(|&t| (inputs[t].len(), t)).expect("a table remains");
        remaining.retain(|&t| t != next);
        order.push(next);
    }
    // Offsets of each table in the rows as joined (in `order`).
    let mut exec_off = vec![0; n];
    let mut w = 0;
    for &t in &order {
        exec_off[t] = w;
        w += plan.inputs[t].row_len();
    }
    let to_exec = |i: usize| {
        let t = table_of(i).expect("a column of a table");
        exec_off[t] + (i - offsets[t])
    };
    let mut applied = vec![false; multi.len()];
    let mut acc = std::mem::take(&mut inputs[order[0]]);
    let mut left_width = plan.inputs[order[0]].row_len();
    for k in 1..n {
        let t = order[k];
        let present = &order[..=k];
        let mut eq = Vec::new();
        let mut on = Vec::new();
        for (j, (p, ts)) in multi.iter().enumerate() {
            if applied[j] || !ts.iter().all(|x| present.contains(x)) {
                continue;
            }
            applied[j] = true;
            if let Expr::Cmp(crate::expr::CmpOp::Eq, a, b) = p {
                if let (Expr::Column(x, tx), Expr::Column(y, ty)) = (a.as_ref(), b.as_ref()) {
                    let (tx_table, ty_table) = (table_of(*x), table_of(*y));
                    if hashable(*tx, *ty) && tx_table != ty_table {
                        if ty_table == Some(t) {
                            eq.push((to_exec(*x), *y - offsets[t]));
                            continue;
                        }
                        if tx_table == Some(t) {
                            eq.push((to_exec(*y), *x - offsets[t]));
                            continue;
                        }
                    }
                }
            }
            on.push(remap(p, &to_exec));
        }
        let step = JoinStep { kind: JoinKind::Inner, on: and_all(on), eq };
        let right = std::mem::take(&mut inputs[t]);
        let right_width = plan.inputs[t].row_len();
        acc = join_step(&step, acc, &right, left_width, right_width, params)?;
        left_width += right_width;
    }
    // Back to FROM order, then the conditions left for the joined rows.
    let last = and_all(last);
    let mut out = Vec::with_capacity(acc.len());
    for row in acc {
        let mut r = vec![Datum::Null; width];
        for (t, def) in plan.inputs.iter().enumerate() {
            let (from, to) = (exec_off[t], offsets[t]);
            r[to..to + def.row_len()].clone_from_slice(&row[from..from + def.row_len()]);
        }
        if passes(last.as_ref(), &r)? {
            out.push(r);
        }
    }
    Ok(out)
}
