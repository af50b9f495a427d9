//! Binding of the ordered-set aggregates `percentile_cont`, `percentile_disc` and `mode`, and
//! of the hypothetical-set ones `rank`, `dense_rank`, `percent_rank` and `cume_dist`
//! (`... WITHIN GROUP (ORDER BY x)`): the group's non-NULL `x` values are collected in order
//! by an `array_agg(x ORDER BY ...) FILTER (WHERE x IS NOT NULL ...)` bound as any aggregate (so
//! grouping, FILTER, outer-level aggregates and the shards' partial states work as for
//! array_agg), and [`crate::ordered_set`] reads them once per group.

use super::{no_function, Binder, Scope};
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use crate::ordered_set::OrderedSetFn;
use crate::scalar::Builtin;
use orbit_engine::table::SqlType;
use sqlparser::ast;

/// The plain aggregates: with WITHIN GROUP, PostgreSQL finds no function of those arguments.
const PLAIN_AGGREGATES: &[&str] = &[
    "count",
    "sum",
    "min",
    "max",
    "avg",
    "string_agg",
    "array_agg",
    "json_agg",
    "jsonb_agg",
    "bool_and",
    "bool_or",
    "bit_and",
    "bit_or",
    "bit_xor",
    "every",
    "variance",
    "var_samp",
    "var_pop",
    "stddev",
    "stddev_samp",
    "stddev_pop",
    "corr",
    "covar_pop",
    "covar_samp",
    "regr_avgx",
    "regr_avgy",
    "regr_count",
    "regr_intercept",
    "regr_r2",
    "regr_slope",
    "regr_sxx",
    "regr_sxy",
    "regr_syy",
];

/// An ordered-set aggregate's direct arguments (those in its parentheses), after PostgreSQL's
/// checks that OVER, DISTINCT and an ORDER BY inside them are not there.
fn direct_arguments<'a>(f: &'a ast::Function, name: &str) -> Result<Vec<&'a ast::Expr>> {
    if f.over.is_some() {
        return Err(SqlError::new(
            code::WRONG_OBJECT_TYPE,
            format!("OVER is not supported for ordered-set aggregate {name}"),
        ));
    }
    match &f.args {
        ast::FunctionArguments::None => Ok(vec![]),
        ast::FunctionArguments::List(l) if l.duplicate_treatment.is_none() && l.clauses.is_empty() => l
            .args
            .iter()
            .map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e),
                _ => Err(SqlError::unsupported("this argument of an ordered-set aggregate is not supported")),
            })
            .collect(),
        _ => Err(SqlError::unsupported("DISTINCT or ORDER BY in the arguments of an ordered-set aggregate")),
    }
}

impl Binder<'_> {
    pub(super) fn ordered_set_call(&mut self, f: &ast::Function, name: &str, scope: Option<&Scope>) -> Result<Expr> {
        match name {
            "percentile_cont" | "percentile_disc" | "mode" => {}
            "rank" | "dense_rank" | "percent_rank" | "cume_dist" => return self.hypothetical_call(f, name, scope),
            // PostgreSQL looks for an ordered-set aggregate of the direct and ordering
            // arguments' types together, and names them (below).
            n if PLAIN_AGGREGATES.contains(&n) => {}
            _ => {
                return Err(SqlError::new(code::UNDEFINED_FUNCTION, format!("function {name} does not exist")).hint(
                    "No function matches the given name and argument types. You might need to add explicit type casts.",
                ))
            }
        }
        let direct = direct_arguments(f, name)?;
        // The direct argument: a fraction (or an array of them) per group, over the group.
        let mut direct_bound = Vec::with_capacity(direct.len());
        for d in &direct {
            direct_bound.push(self.expr(d, scope)?);
        }
        let [o] = f.within_group.as_slice() else {
            let mut types: Vec<SqlType> = direct_bound.iter().map(|d| d.ty()).collect();
            types.extend(std::iter::repeat_n(SqlType::Unknown, f.within_group.len()));
            return Err(no_function(name, &types));
        };
        let x = &o.expr;
        let filter = f.filter.as_ref().map(|c| format!(" AND ({c})")).unwrap_or_default();
        let text = format!("array_agg({x} ORDER BY {o}) FILTER (WHERE ({x}) IS NOT NULL{filter})");
        let call = super::constraints::parse_stored(&text)
            .map_err(|e| SqlError::internal(format!("ordered-set aggregate rewrite: {e}")))?;
        let values = self.expr(&call, scope)?;
        let elem = values.ty().elem().unwrap_or(SqlType::Unknown);
        let mut types: Vec<SqlType> = direct_bound.iter().map(|d| d.ty()).collect();
        types.push(elem);
        if PLAIN_AGGREGATES.contains(&name) {
            return Err(no_function(name, &types));
        }
        if matches!(elem, SqlType::Array(_)) {
            return Err(SqlError::unsupported(format!("{name} over arrays is not supported yet")));
        }
        let fraction = |b: &mut Binder, e: Expr| -> Result<(Expr, bool)> {
            match e.ty() {
                SqlType::Array(a) if a.elem().is_numeric() || a.elem() == SqlType::Unknown => {
                    let to = SqlType::Float8.array_of().expect("float8[]");
                    Ok((b.coerce(e, to, super::CastContext::Implicit, |_| no_function(name, &types))?, true))
                }
                t if t.is_numeric() || t == SqlType::Unknown => Ok((
                    b.coerce(e, SqlType::Float8, super::CastContext::Implicit, |_| no_function(name, &types))?,
                    false,
                )),
                _ => Err(no_function(name, &types)),
            }
        };
        let (func, args, ty) = match (name, direct_bound.len()) {
            ("mode", 0) => (OrderedSetFn::Mode, vec![values], elem),
            ("percentile_cont", 1) => {
                if !elem.is_numeric() {
                    return Err(no_function(name, &types));
                }
                let (p, many) = fraction(self, direct_bound.remove(0))?;
                let ty = if many { SqlType::Float8.array_of().expect("float8[]") } else { SqlType::Float8 };
                (OrderedSetFn::PercentileCont { many }, vec![values, p], ty)
            }
            ("percentile_disc", 1) => {
                let (p, many) = fraction(self, direct_bound.remove(0))?;
                let ty = if many { elem.array_of().ok_or_else(|| no_function(name, &types))? } else { elem };
                (OrderedSetFn::PercentileDisc { many }, vec![values, p], ty)
            }
            _ => return Err(no_function(name, &types)),
        };
        Ok(Expr::Call(Builtin::OrderedSet(func), args, ty))
    }

    /// `rank(a) WITHIN GROUP (ORDER BY x)` and the other hypothetical-set aggregates: the
    /// group's x values (NULLs too) collected in the requested order by an `array_agg(x ORDER
    /// BY ...) [FILTER (...)]`, and `a` (cast to x's type) ranked among them per group. One
    /// ordering column (several are 0A000).
    fn hypothetical_call(&mut self, f: &ast::Function, name: &str, scope: Option<&Scope>) -> Result<Expr> {
        use crate::ordered_set::Hypothetical;
        let direct = direct_arguments(f, name)?;
        if direct.len() != f.within_group.len() {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                format!(
                    "function {name} has {} direct arguments but {} ordering columns",
                    direct.len(),
                    f.within_group.len()
                ),
            )
            .hint("the hypothetical-set aggregate's direct arguments must match its ordering columns"));
        }
        let ([d], [o]) = (direct.as_slice(), f.within_group.as_slice()) else {
            return Err(SqlError::unsupported(format!(
                "{name}(...) WITHIN GROUP with several ordering columns is not supported yet"
            )));
        };
        let desc = super::sort_desc(&o.options)?;
        let nulls_first = o.options.nulls_first.unwrap_or(desc);
        let filter = f.filter.as_ref().map(|c| format!(" FILTER (WHERE {c})")).unwrap_or_default();
        let text = format!("array_agg({} ORDER BY {o}){filter}", o.expr);
        let call = super::constraints::parse_stored(&text)
            .map_err(|e| SqlError::internal(format!("hypothetical-set aggregate rewrite: {e}")))?;
        let values = self.expr(&call, scope)?;
        let elem = values.ty().elem().unwrap_or(SqlType::Unknown);
        let a = self.expr(d, scope)?;
        let at = a.ty();
        let a = self.coerce(a, elem, super::CastContext::Implicit, |_| {
            SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "WITHIN GROUP types {} and {} cannot be matched",
                    super::base(elem).name(),
                    super::base(at).name()
                ),
            )
        })?;
        let (kind, ty) = match name {
            "rank" => (Hypothetical::Rank, SqlType::Int8),
            "dense_rank" => (Hypothetical::DenseRank, SqlType::Int8),
            "percent_rank" => (Hypothetical::PercentRank, SqlType::Float8),
            _ => (Hypothetical::CumeDist, SqlType::Float8),
        };
        Ok(Expr::Call(Builtin::OrderedSet(OrderedSetFn::Hypothetical { kind, desc, nulls_first }), vec![values, a], ty))
    }
}
