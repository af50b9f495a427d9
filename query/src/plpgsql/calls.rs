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
        "PL/pgSQL function {name} can be called only in a select list, INSERT's VALUES or UPDATE's SET \
         (not in WHERE, an aggregate's argument or a subquery)"
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
        for e in &p.projection {
            e.visit(&mut |x| {
                if let Expr::Call(Builtin::PlCall(o, _), ..) = x {
                    oid = *o;
                }
            });
        }
        oid
    };
    if p.filter.as_ref().is_some_and(calls)
        || p.having.as_ref().is_some_and(calls)
        || sorted_by_call
        || p.distinct != crate::bind::Distinct::None
        || !p.srfs.is_empty()
        || p.group_by.iter().any(calls)
    {
        return Err(not_here(first_call()));
    }
    let width = p.projection.len();
    let (q, templates) = crate::exec::split_calls(p, &calls);
    let mut r = Box::pin(crate::exec::select_plain(txn, &q, params)).await?;
    let rows = std::mem::take(&mut r.rows);
    let mut out = Vec::with_capacity(rows.len());
    for mut row in rows {
        for (i, t) in &templates {
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
