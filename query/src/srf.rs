//! Set-returning functions (`unnest`, `generate_series`) in a SELECT's select list and ORDER
//! BY, run as PostgreSQL 10+'s ProjectSet node runs them: after the row source and grouping,
//! before ORDER BY / DISTINCT / LIMIT. Per input row (or group) every call's values are
//! computed; the row yields as many output rows as the longest call returns, the shorter calls
//! padded with NULL (they run in lockstep), and none when every call returns none. A call in
//! another's arguments runs first, as PostgreSQL's stacked ProjectSet nodes do: the calls of
//! level 1 (no call in their arguments) run in lockstep, then for each of their rows those of
//! level 2, and so on. Window functions run before them. The select list and ORDER BY read
//! call k's value as `Agg(aggs + windows + k)`
//! (<https://www.postgresql.org/docs/15/xfunc-sql.html#XFUNC-SQL-FUNCTIONS-RETURNING-SET>).

use crate::bind::SelectPlan;
use crate::error::Result;
use crate::expr::{self, Ctx, Expr};
use crate::memory::Held;
use orbit_engine::table::{Datum, Row, SqlType};

/// While a SELECT is bound, call k is `Agg(SRF_BASE + k)`; [`renumber`] moves it after the
/// aggregates once their number is known (below [`crate::window::WINDOW_BASE`], whose
/// placeholders are renumbered the same way).
pub const SRF_BASE: usize = 1 << 29;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrfFunc {
    /// `unnest(array)`: the elements (every dimension's, in storage order).
    Unnest,
    /// `generate_series(start, stop [, step])`.
    GenerateSeries,
}

/// One set-returning call of a select list: its arguments are expressions over the input row
/// (or the group: GROUP BY values and aggregates).
#[derive(Debug, Clone)]
pub struct SrfCall {
    pub func: SrfFunc,
    pub args: Vec<Expr>,
    /// The type of the values it returns.
    pub ty: SqlType,
    /// 1 + the highest level of the calls in its arguments (1: none).
    pub level: usize,
}

fn is_placeholder(i: usize) -> bool {
    (SRF_BASE..crate::window::WINDOW_BASE).contains(&i)
}

/// Placeholders `Agg(SRF_BASE + k)` in `e` become `Agg(first + k)`.
pub fn renumber(e: &mut Expr, first: usize) {
    if let Expr::Agg(i, _) = e {
        if is_placeholder(*i) {
            *i = *i - SRF_BASE + first;
        }
    }
    for c in e.children_mut() {
        renumber(c, first);
    }
}

/// Whether `e` reads a set-returning call (a placeholder not renumbered yet).
pub fn has_srf(e: &Expr) -> bool {
    let mut found = false;
    e.visit(&mut |x| found |= matches!(x, Expr::Agg(i, _) if is_placeholder(*i)));
    found
}

/// The values one call returns for one input row.
fn values(call: &SrfCall, cx: &Ctx, held: &mut Held) -> Result<Vec<Datum>> {
    let args = call.args.iter().map(|e| expr::eval(e, cx)).collect::<Result<Vec<_>>>()?;
    match call.func {
        SrfFunc::Unnest => Ok(match args.into_iter().next() {
            Some(Datum::Array(a)) => a.items,
            _ => vec![],
        }),
        SrfFunc::GenerateSeries => {
            let consts: Vec<Expr> = args.into_iter().zip(&call.args).map(|(d, e)| Expr::Const(d, e.ty())).collect();
            let rows = crate::relation::series(&consts, call.ty, cx.params, held)?;
            Ok(rows.into_iter().map(|r| r.into_iter().next().unwrap_or(Datum::Null)).collect())
        }
    }
}

/// Projects one input row (or group) read through `cx`: its output rows, each with its ORDER
/// BY values, appended to `out` and charged to `held`. Without set-returning calls that is one
/// row.
pub fn project(p: &SelectPlan, cx: &Ctx, out: &mut Vec<(Vec<Datum>, Row)>, held: &mut Held) -> Result<()> {
    if p.srfs.is_empty() {
        let projected = p.projection.iter().map(|e| expr::eval(e, cx)).collect::<Result<Vec<_>>>()?;
        let keys = crate::group::sort_keys(&p.order_by, &projected, cx)?;
        held.sorted_row(&keys, &projected)?;
        out.push((keys, projected));
        return Ok(());
    }
    let first = p.aggs.len() + p.windows.len();
    let mut aggs: Vec<Datum> = cx.aggs.iter().take(first).cloned().collect();
    aggs.resize(first + p.srfs.len(), Datum::Null);
    // The calls' values are held until the rows are built from them.
    let mut calls = Held::new(held.memory(), "set-returning function");
    expand(p, cx, 1, first, &mut aggs, out, &mut calls, held)
}

/// Runs the calls of `level` in lockstep for the row `cx` with the values of the lower levels'
/// calls in `aggs`, and for each row they make the next level (past the last, the row is
/// projected into `out`).
#[allow(clippy::too_many_arguments)]
fn expand(
    p: &SelectPlan,
    cx: &Ctx,
    level: usize,
    first: usize,
    aggs: &mut Vec<Datum>,
    out: &mut Vec<(Vec<Datum>, Row)>,
    calls: &mut Held,
    held: &mut Held,
) -> Result<()> {
    let at_level: Vec<usize> = (0..p.srfs.len()).filter(|&k| p.srfs[k].level == level).collect();
    if at_level.is_empty() {
        let c = Ctx { row: cx.row, params: cx.params, aggs };
        let projected = p.projection.iter().map(|e| expr::eval(e, &c)).collect::<Result<Vec<_>>>()?;
        let keys = crate::group::sort_keys(&p.order_by, &projected, &c)?;
        held.sorted_row(&keys, &projected)?;
        out.push((keys, projected));
        return Ok(());
    }
    let sets = {
        let c = Ctx { row: cx.row, params: cx.params, aggs };
        at_level.iter().map(|&k| values(&p.srfs[k], &c, calls)).collect::<Result<Vec<_>>>()?
    };
    let n = sets.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..n {
        for (&k, set) in at_level.iter().zip(&sets) {
            aggs[first + k] = set.get(i).cloned().unwrap_or(Datum::Null);
        }
        expand(p, cx, level + 1, first, aggs, out, calls, held)?;
    }
    for &k in &at_level {
        aggs[first + k] = Datum::Null;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use orbit_engine::table::{ArrayValue, TableDef};
    use std::sync::Arc;

    fn int_array(v: &[i32]) -> Expr {
        let a = ArrayValue::from_items(SqlType::Int4, v.iter().map(|&i| Datum::Int4(i)).collect());
        Expr::Const(Datum::Array(Box::new(a)), SqlType::Int4.array_of().unwrap_or(SqlType::Int4))
    }

    fn plan(srfs: Vec<SrfCall>) -> SelectPlan {
        let projection = (0..srfs.len()).map(|k| Expr::Agg(k, SqlType::Int4)).collect();
        SelectPlan { srfs, ..SelectPlan::reading(Arc::new(TableDef::default_empty()), projection) }
    }

    fn run(p: &SelectPlan) -> Vec<Row> {
        let mut out = Vec::new();
        let mut held = Held::new(Default::default(), "test");
        project(p, &Ctx { row: &[], params: &[], aggs: &[] }, &mut out, &mut held).expect("project");
        out.into_iter().map(|(_, r)| r).collect()
    }

    #[test]
    fn calls_run_in_lockstep_padding_the_shorter_with_null() {
        let p = plan(vec![
            SrfCall { func: SrfFunc::Unnest, args: vec![int_array(&[7, 8])], ty: SqlType::Int4, level: 1 },
            SrfCall {
                func: SrfFunc::GenerateSeries,
                args: vec![Expr::Const(Datum::Int4(1), SqlType::Int4), Expr::Const(Datum::Int4(3), SqlType::Int4)],
                ty: SqlType::Int4,
                level: 1,
            },
        ]);
        let want = vec![
            vec![Datum::Int4(7), Datum::Int4(1)],
            vec![Datum::Int4(8), Datum::Int4(2)],
            vec![Datum::Null, Datum::Int4(3)],
        ];
        assert_eq!(run(&p), want);
    }

    #[test]
    fn a_call_in_another_runs_first_and_the_outer_once_per_its_row() {
        let int = |v: i32| Expr::Const(Datum::Int4(v), SqlType::Int4);
        // generate_series(1, generate_series(1, 3)), unnest('{7,8}'): the unnest runs in
        // lockstep with the inner call.
        let mut p = plan(vec![
            SrfCall { func: SrfFunc::GenerateSeries, args: vec![int(1), int(3)], ty: SqlType::Int4, level: 1 },
            SrfCall {
                func: SrfFunc::GenerateSeries,
                args: vec![int(1), Expr::Agg(0, SqlType::Int4)],
                ty: SqlType::Int4,
                level: 2,
            },
            SrfCall { func: SrfFunc::Unnest, args: vec![int_array(&[7, 8])], ty: SqlType::Int4, level: 1 },
        ]);
        p.projection = vec![Expr::Agg(1, SqlType::Int4), Expr::Agg(2, SqlType::Int4)];
        let got: Vec<Vec<i64>> = run(&p).iter().map(|r| r.iter().map(|d| d.as_i64().unwrap_or(-1)).collect()).collect();
        assert_eq!(got, vec![vec![1, 7], vec![1, 8], vec![2, 8], vec![1, -1], vec![2, -1], vec![3, -1]]);
    }

    #[test]
    fn a_row_whose_calls_all_return_nothing_yields_no_row() {
        let p = plan(vec![SrfCall { func: SrfFunc::Unnest, args: vec![int_array(&[])], ty: SqlType::Int4, level: 1 }]);
        assert!(run(&p).is_empty());
    }

    #[test]
    fn output_rows_are_charged_and_bounded() {
        let series = |stop: i32| SrfCall {
            func: SrfFunc::GenerateSeries,
            args: vec![Expr::Const(Datum::Int4(1), SqlType::Int4), Expr::Const(Datum::Int4(stop), SqlType::Int4)],
            ty: SqlType::Int4,
            level: 1,
        };
        let memory = std::rc::Rc::new(crate::memory::QueryMemory::new(1 << 20));
        let mut held = Held::new(memory.clone(), "result rows");
        let mut out = Vec::new();
        let cx = Ctx { row: &[], params: &[], aggs: &[] };
        project(&plan(vec![series(10)]), &cx, &mut out, &mut held).expect("project");
        assert_eq!(out.len(), 10);
        assert!(held.bytes() >= 10 * crate::memory::ROW_OVERHEAD);
        assert_eq!(memory.used(), held.bytes());
        // A million rows do not fit in 1 MB: 53200, whether in the series or the rows.
        let e = project(&plan(vec![series(1_000_000)]), &cx, &mut out, &mut held).unwrap_err();
        assert_eq!(e.code, "53200");
        drop(held);
        assert_eq!(memory.used(), 0);
    }

    #[test]
    fn placeholders_move_after_the_aggregates() {
        let mut e = Expr::Agg(SRF_BASE + 1, SqlType::Int4);
        assert!(has_srf(&e));
        renumber(&mut e, 3);
        assert!(matches!(e, Expr::Agg(4, _)));
        assert!(!has_srf(&e));
    }
}
