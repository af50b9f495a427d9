//! Calls of PL/pgSQL functions in statements: each `Builtin::PlCall` replaced by its value on
//! the coordinator before the row it is in is evaluated (the function runs statements over
//! every shard, which no shard evaluating a row can do).

use crate::bind::SelectPlan;
use crate::error::{Result, SqlError};
use crate::exec::QueryResult;
use crate::expr::{self, Ctx, Expr};
use crate::scalar::Builtin;
use crate::txn::Txn;
use orbit_engine::table::Datum;
use std::future::Future;
use std::pin::Pin;

/// Whether an expression calls a PL/pgSQL function.
fn calls(e: &Expr) -> bool {
    let mut yes = false;
    e.visit(&mut |x| yes |= matches!(x, Expr::Call(Builtin::PlCall(..), ..)));
    yes
}

/// Whether any of the expressions calls a PL/pgSQL function.
pub fn any_calls(exprs: &[Expr]) -> bool {
    exprs.iter().any(calls)
}

/// The error of a call where the coordinator cannot make it.
pub fn not_here(oid: u32) -> SqlError {
    let name = crate::functions_sql::by_oid(oid).map_or_else(|| oid.to_string(), |f| f.signature());
    SqlError::unsupported(format!(
        "PL/pgSQL function {name} can be called only in a select list, the WHERE of a query of one table \
         without aggregates, INSERT's VALUES, UPDATE's SET or the WHERE of an UPDATE or DELETE of one table \
         (not in a join's WHERE, an aggregate's argument or a subquery)"
    ))
}

/// Replaces the calls in `e` by their values, innermost first, a CASE's branches only when
/// chosen.
fn resolve<'a>(
    txn: &'a mut Txn,
    e: &'a mut Expr,
    params: &'a [Datum],
) -> Pin<Box<dyn Future<Output = Result<()>> + 'a>> {
    Box::pin(async move {
        if !calls(e) {
            return Ok(());
        }
        let cx = |params| Ctx { row: &[], params, aggs: &[] };
        match e {
            Expr::Case(whens, otherwise, ty) => {
                let ty = *ty;
                let mut chosen = None;
                for (w, t) in whens.iter_mut() {
                    resolve(txn, w, params).await?;
                    if matches!(expr::eval(w, &cx(params))?, Datum::Bool(true)) {
                        chosen = Some(std::mem::replace(t, Expr::Const(Datum::Null, ty)));
                        break;
                    }
                }
                let mut chosen = match chosen {
                    Some(c) => c,
                    None => otherwise.take().map_or(Expr::Const(Datum::Null, ty), |b| *b),
                };
                resolve(txn, &mut chosen, params).await?;
                *e = chosen;
            }
            Expr::Call(Builtin::PlCall(oid, rows), args, ty) => {
                let (oid, rows, ty) = (*oid, *rows, *ty);
                let mut vals = Vec::with_capacity(args.len());
                for a in args.iter_mut() {
                    resolve(txn, a, params).await?;
                    vals.push(expr::eval(a, &cx(params))?);
                }
                let f = crate::functions_sql::by_oid(oid).ok_or_else(|| {
                    SqlError::new(
                        crate::error::code::UNDEFINED_FUNCTION,
                        format!("function with OID {oid} does not exist"),
                    )
                })?;
                let v = super::call(txn, &f, vals, rows).await?;
                *e = Expr::Const(v, ty);
            }
            _ => {
                for c in e.children_mut() {
                    resolve(txn, c, params).await?;
                }
            }
        }
        Ok(())
    })
}

/// Replaces the calls in each row's expressions (INSERT's VALUES), row by row, left to
/// right.
pub async fn resolve_rows(txn: &mut Txn, rows: &mut [Vec<Expr>], params: &[Datum]) -> Result<()> {
    for row in rows.iter_mut() {
        for e in row.iter_mut() {
            resolve(txn, e, params).await?;
        }
    }
    Ok(())
}

/// A SELECT whose select list calls PL/pgSQL functions. Without FROM, the calls are made
/// and the row computed. With FROM, the query runs with each such item's row-reading parts
/// (the largest sub-expressions that read the row and call no PL/pgSQL function) as extra
/// output columns; then the calls of each output row are made in row order and the items
/// computed over those columns, as [`crate::exec`] does for nextval. A call in WHERE, GROUP
/// BY, HAVING, ORDER BY or DISTINCT, or beside a set-returning function, is refused (0A000).
pub async fn select_per_row(txn: &mut Txn, p: &SelectPlan, params: &[Datum]) -> Result<QueryResult> {
    // A set-returning PL/pgSQL function in the select list (`unnest` of its rows): the call
    // made first, when its arguments read no row.
    let resolved;
    let p = if p.srfs.iter().any(|c| any_calls(&c.args)) {
        let mut q = p.clone();
        for c in &mut q.srfs {
            if !any_calls(&c.args) {
                continue;
            }
            let mut reads = false;
            for a in &c.args {
                a.visit(&mut |x| reads |= matches!(x, Expr::Column(..) | Expr::Agg(..)));
            }
            if reads {
                let mut oid = 0;
                for a in &c.args {
                    a.visit(&mut |x| {
                        if let Expr::Call(Builtin::PlCall(o, _), ..) = x {
                            oid = *o;
                        }
                    });
                }
                return Err(not_here(oid));
            }
            let mut rows = vec![std::mem::take(&mut c.args)];
            resolve_rows(txn, &mut rows, params).await?;
            c.args = rows.pop().unwrap_or_default();
        }
        if !any_calls(&q.projection) {
            return Box::pin(crate::exec::select_plain(txn, &q, params)).await;
        }
        resolved = q;
        &resolved
    } else {
        p
    };
    let sorted_by_call = p.order_by.iter().any(|k| match &k.source {
        crate::bind::SortSource::Output(i) => p.projection.get(*i).is_some_and(calls),
        crate::bind::SortSource::Input(e) => calls(e),
    });
    let first_call = || {
        let mut oid = 0;
        for e in p.projection.iter().chain(p.filter.as_ref()) {
            e.visit(&mut |x| {
                if let Expr::Call(Builtin::PlCall(o, _), ..) = x {
                    oid = *o;
                }
            });
        }
        oid
    };
    // WHERE's conditions that call: computed on the coordinator over each row the rest of
    // the query returns (a plain scan of one table: not grouped, windowed or joined), LIMIT and
    // OFFSET applied after them.
    let filter_calls = p.filter.as_ref().is_some_and(calls);
    if filter_calls && (p.grouped || !p.windows.is_empty() || p.join.is_some() || p.limit_ties || !p.srfs.is_empty())
        || p.having.as_ref().is_some_and(calls)
        || sorted_by_call
        || p.distinct != crate::bind::Distinct::None
        || !p.srfs.is_empty()
        || p.group_by.iter().any(calls)
    {
        return Err(not_here(first_call()));
    }
    let width = p.projection.len();
    let mut source = p.clone();
    if let Some(f) = p.filter.as_ref().filter(|_| filter_calls) {
        let mut parts = Vec::new();
        crate::join::conjuncts(f, &mut parts);
        let (calling, plain): (Vec<Expr>, Vec<Expr>) = parts.into_iter().partition(calls);
        source.filter = plain.into_iter().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
        source.limit = None;
        source.offset = None;
        source.projection.extend(calling);
    }
    let (q, templates) = crate::exec::split_calls(&source, &calls);
    let mut r = Box::pin(crate::exec::select_plain(txn, &q, params)).await?;
    let rows = std::mem::take(&mut r.rows);
    let mut out = Vec::with_capacity(rows.len());
    let (mut skip, mut take) = (0usize, usize::MAX);
    if filter_calls {
        use crate::error::code;
        let limit = crate::exec::count(p.limit.as_ref(), params, "LIMIT", code::INVALID_ROW_COUNT_IN_LIMIT_CLAUSE)?;
        let offset =
            crate::exec::count(p.offset.as_ref(), params, "OFFSET", code::INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE)?;
        skip = offset.unwrap_or(0).max(0) as usize;
        take = limit.map_or(usize::MAX, |l| l.max(0) as usize);
    }
    'rows: for mut row in rows {
        if out.len() >= take {
            break;
        }
        // The conditions first (their templates come after the select list's).
        for (_, t) in templates.iter().filter(|(i, _)| *i >= width) {
            let mut t = t.clone();
            crate::exec::with_values(&mut t, &row);
            resolve(txn, &mut t, params).await?;
            let pass = matches!(expr::eval(&t, &Ctx { row: &[], params, aggs: &[] })?, Datum::Bool(true));
            if !pass {
                continue 'rows;
            }
        }
        if skip > 0 {
            skip -= 1;
            continue;
        }
        let templates = templates.iter().filter(|(i, _)| *i < width);
        for (i, t) in templates {
            let mut t = t.clone();
            crate::exec::with_values(&mut t, &row);
            resolve(txn, &mut t, params).await?;
            row[*i] = expr::eval(&t, &Ctx { row: &[], params, aggs: &[] })?;
        }
        row.truncate(width);
        out.push(row);
    }
    r.rows = out;
    Ok(r)
}
