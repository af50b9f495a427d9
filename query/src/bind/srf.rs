//! Binding set-returning functions in a select list ([`crate::srf`]): where PostgreSQL allows
//! them (the select list and ORDER BY of a SELECT) and its errors elsewhere (0A000, from its
//! `check_srf_call_placement`, `check_agg_arguments_walker`, `transformCaseExpr`).

use super::{Binder, Scope};
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use crate::srf::{SrfCall, SrfFunc, SRF_BASE};
use sqlparser::ast;

const LATERAL_HINT: &str = "You might be able to move the set-returning function into a LATERAL FROM item.";

/// The set-returning calls of the SELECT being bound, and whether one may appear where the
/// binder is now.
#[derive(Debug, Default)]
pub(super) struct SrfState {
    pub(super) calls: Vec<SrfCall>,
    /// In the select list or ORDER BY.
    allowed: bool,
    /// Elsewhere: the clause as PostgreSQL names it in its error (None: a place Orbit does not
    /// support them, e.g. GROUP BY, FROM).
    clause: Option<&'static str>,
    /// Binding a set-returning call's arguments.
    in_args: bool,
}

impl SrfState {
    /// Set-returning calls are allowed from here on.
    pub(super) fn allow(&mut self) {
        self.allowed = true;
        self.clause = None;
    }

    /// From here on they are refused, PostgreSQL's error naming `clause`.
    pub(super) fn ban(&mut self, clause: Option<&'static str>) {
        self.allowed = false;
        self.clause = clause;
    }
}

pub(super) fn is_srf(name: &str) -> bool {
    matches!(name, "unnest" | "generate_series" | "pg_partition_ancestors" | "generate_subscripts")
}

impl Binder<'_> {
    /// A call of `unnest` or `generate_series` in an expression: a placeholder for its value.
    pub(super) fn srf_call(&mut self, f: &ast::Function, name: &str, scope: Option<&Scope>) -> Result<Expr> {
        if self.in_agg {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                "aggregate function calls cannot contain set-returning function calls",
            )
            .hint(LATERAL_HINT));
        }
        if self.srf.in_args {
            return Err(SqlError::unsupported("set-returning functions in the arguments of another are not supported"));
        }
        if !self.srf.allowed {
            return Err(match self.srf.clause {
                Some(c) => SqlError::new(
                    code::FEATURE_NOT_SUPPORTED,
                    format!("set-returning functions are not allowed in {c}"),
                ),
                None => SqlError::unsupported(
                    "set-returning functions are supported only in the select list and ORDER BY of a SELECT",
                ),
            });
        }
        let args: &[ast::FunctionArg] = match &f.args {
            ast::FunctionArguments::List(l) if l.clauses.is_empty() && l.duplicate_treatment.is_none() => &l.args,
            ast::FunctionArguments::None => &[],
            _ => return Err(SqlError::unsupported(format!("this form of {name}() is not supported"))),
        };
        if f.filter.is_some() || !f.within_group.is_empty() {
            return Err(SqlError::unsupported(format!("this form of {name}() is not supported")));
        }
        self.srf.in_args = true;
        let bound = if name == "unnest" {
            self.unnest_arg(args, scope).map(|(a, ty)| (SrfFunc::Unnest, vec![a], ty))
        } else if name == "pg_partition_ancestors" {
            // Orbit has no partitions: a table is its own only ancestor (psql's \d asks).
            let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))] = args else {
                return Err(SqlError::unsupported("this form of pg_partition_ancestors() is not supported"));
            };
            let dialect = sqlparser::dialect::PostgreSqlDialect {};
            let arr = sqlparser::parser::Parser::new(&dialect)
                .try_with_sql(&format!("ARRAY[({e})::regclass]"))
                .and_then(|mut p| p.parse_expr())
                .map_err(|e| SqlError::syntax(&e.to_string()))?;
            let arg = [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arr))];
            self.unnest_arg(&arg, scope).map(|(a, ty)| (SrfFunc::Unnest, vec![a], ty))
        } else if name == "generate_subscripts" {
            // generate_subscripts(a, d): the subscripts of dimension d, lower to upper bound.
            let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)), ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(d))] =
                args
            else {
                return Err(SqlError::unsupported("this form of generate_subscripts() is not supported"));
            };
            let dialect = sqlparser::dialect::PostgreSqlDialect {};
            let parse = |t: String| {
                sqlparser::parser::Parser::new(&dialect)
                    .try_with_sql(&t)
                    .and_then(|mut p| p.parse_expr())
                    .map_err(|e| SqlError::syntax(&e.to_string()))
            };
            let lo = parse(format!("array_lower({a}, {d})"))?;
            let hi = parse(format!("array_upper({a}, {d})"))?;
            let series = [lo, hi].map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)));
            self.series_args(&series, scope).map(|(a, ty)| (SrfFunc::GenerateSeries, a, ty))
        } else {
            self.series_args(args, scope).map(|(a, ty)| (SrfFunc::GenerateSeries, a, ty))
        };
        self.srf.in_args = false;
        let (func, args, ty) = bound?;
        // The arguments live outside the tree folded at the top: fold them here.
        let args = args.into_iter().map(crate::expr::fold).collect::<Result<Vec<_>>>()?;
        let call = SrfCall { func, args, ty };
        // The same call written twice (in the select list and ORDER BY) is one call, as
        // PostgreSQL matches ORDER BY items to the select list.
        let text = format!("{call:?}");
        let k = match self.srf.calls.iter().position(|c| format!("{c:?}") == text) {
            Some(k) => k,
            None => {
                self.srf.calls.push(call);
                self.srf.calls.len() - 1
            }
        };
        Ok(Expr::Agg(SRF_BASE + k, ty))
    }

    /// PostgreSQL's error for a set-returning call inside `what` (CASE, COALESCE), where it
    /// is not allowed.
    pub(super) fn srf_refused_in(&self, e: &Expr, what: &str) -> Result<()> {
        if crate::srf::has_srf(e) {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                format!("set-returning functions are not allowed in {what}"),
            )
            .hint(LATERAL_HINT));
        }
        Ok(())
    }

    /// Refuses GROUP BY items that name a select-list item reading a set-returning call
    /// (`GROUP BY 1`): PostgreSQL runs such calls below the grouping, Orbit does not.
    pub(super) fn srf_group_by_check(
        &self,
        items: &[ast::Expr],
        projection: &[Expr],
        columns: &[super::OutputColumn],
    ) -> Result<()> {
        let refused = items.iter().any(|item| {
            let output = match item {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::Number(n, _) => n.parse::<usize>().ok().and_then(|i| i.checked_sub(1)),
                    _ => None,
                },
                ast::Expr::Identifier(id) => columns.iter().position(|c| c.name == super::fold(id)),
                _ => None,
            };
            output.and_then(|i| projection.get(i)).is_some_and(crate::srf::has_srf)
        });
        if refused {
            return Err(SqlError::unsupported("set-returning functions in GROUP BY are not supported"));
        }
        Ok(())
    }

    /// Ends a SELECT: its calls, their placeholders in `exprs` renumbered after the `aggs`
    /// aggregates; the enclosing query's state is back. Window functions and FOR UPDATE do not
    /// combine with them here.
    pub(super) fn srf_end<'e>(
        &mut self,
        outer: SrfState,
        windows: &[crate::window::WindowCall],
        for_update: Option<&'static str>,
        exprs: impl Iterator<Item = &'e mut Expr>,
    ) -> Result<Vec<SrfCall>> {
        let calls = std::mem::replace(&mut self.srf, outer).calls;
        if calls.is_empty() {
            return Ok(calls);
        }
        let in_args = |w: &crate::window::WindowCall| {
            let spec_args = match &w.func {
                crate::window::WinFunc::Agg(spec) => vec![spec.arg.as_ref(), spec.filter.as_ref()],
                _ => vec![],
            };
            w.args.iter().chain(spec_args.into_iter().flatten()).any(crate::srf::has_srf)
        };
        if windows.iter().any(in_args) {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                "window function calls cannot contain set-returning function calls",
            )
            .hint(LATERAL_HINT));
        }
        if !windows.is_empty() {
            return Err(SqlError::unsupported(
                "set-returning functions together with window functions are not supported",
            ));
        }
        if let Some(clause) = for_update {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                format!("{clause} is not allowed with set-returning functions in the target list"),
            ));
        }
        let aggs = self.aggs.len();
        for e in exprs {
            crate::srf::renumber(e, aggs);
        }
        Ok(calls)
    }
}
