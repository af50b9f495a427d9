//! `SELECT set_config(name, value, is_local) [, set_config(...) ...]` with nothing else in the
//! statement (pg_dump starts with `SELECT pg_catalog.set_config('search_path', '', false)`;
//! PostgREST and row-security set-ups send `SELECT set_config('request.jwt.claims', $1, true)`):
//! a SET of each session parameter, in order, answered with the values set, as PostgreSQL's
//! set_config does. Evaluated by the connection, which holds the session's parameters
//! ([`Plan::SetConfig`]).
//!
//! Each argument is computed from constants and parameters (`$1`, `$1::text`, `'v' || $2`),
//! cast to text, text and boolean. Any other form of a call (inside a larger expression, next
//! to other select items, with a column or subquery in an argument) is 0A000; over a FROM
//! clause's rows it is 0A000 once it runs for a row.

use super::{Binder, Plan, Result};
use crate::error::SqlError;
use crate::expr::Expr;
use crate::OutputColumn;
use orbit_engine::table::SqlType;
use sqlparser::ast;

/// Whether `e` calls set_config (maybe as pg_catalog.set_config).
fn is_set_config(f: &ast::Function) -> bool {
    let parts: Vec<String> = f.name.0.iter().map(|p| p.to_string().to_ascii_lowercase()).collect();
    matches!(
        parts.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
        ["set_config"] | ["pg_catalog", "set_config"]
    )
}

/// One call's name, value and is_local: constants, or parameters of the statement.
pub type Call = [Expr; 3];

fn unsupported() -> SqlError {
    SqlError::unsupported(
        "set_config() is supported only alone: SELECT set_config('name', 'value', is_local) [, set_config(...)]",
    )
}

impl Binder<'_> {
    /// The plan of `SELECT set_config(...) [, ...]` if `q` is that statement; an error if it
    /// calls set_config in a form Orbit does not run.
    pub(super) fn set_config(&mut self, q: &ast::Query) -> Option<Result<(Plan, Vec<OutputColumn>)>> {
        let ast::SetExpr::Select(s) = q.body.as_ref() else { return None };
        let call = |item: &ast::SelectItem| match item {
            ast::SelectItem::UnnamedExpr(ast::Expr::Function(f)) if is_set_config(f) => Some((f.clone(), None)),
            ast::SelectItem::ExprWithAlias { expr: ast::Expr::Function(f), alias } if is_set_config(f) => {
                Some((f.clone(), Some(alias.value.clone())))
            }
            _ => None,
        };
        if !s.projection.iter().any(|item| call(item).is_some()) {
            return None;
        }
        // Over the rows of a FROM clause (pg_dump's `SELECT set_config(name, ..) FROM pg_settings
        // WHERE name = '...'`): bound as an ordinary call, which refuses to run for a row
        // (crate::catalog_fns::CatalogFn::SetConfigPerRow); with no row it never runs.
        if !s.from.is_empty() || !super::notify::alone(q) {
            return None;
        }
        let Some(calls) = s.projection.iter().map(call).collect::<Option<Vec<_>>>() else {
            return Some(Err(unsupported()));
        };
        let mut bound = Vec::with_capacity(calls.len());
        let mut columns = Vec::with_capacity(calls.len());
        for (f, alias) in calls {
            match self.set_config_call(&f) {
                Ok(c) => bound.push(c),
                Err(e) => return Some(Err(e)),
            }
            columns.push(OutputColumn {
                name: alias.unwrap_or_else(|| "set_config".into()),
                ty: SqlType::Text,
                table_oid: 0,
                column: 0,
            });
        }
        Some(Ok((Plan::SetConfig(bound), columns)))
    }

    /// One call's arguments: text, text and boolean.
    fn set_config_call(&mut self, f: &ast::Function) -> Result<Call> {
        let ast::FunctionArguments::List(list) = &f.args else { return Err(unsupported()) };
        let sig = [SqlType::Text, SqlType::Text, SqlType::Bool];
        match <[Expr; 3]>::try_from(self.alone_args("set_config", &list.args, &sig, unsupported)?) {
            Ok(call) => Ok(call),
            Err(_) => Err(unsupported()),
        }
    }

    /// A call's arguments (set_config's, pg_notify's) as the types `sig` of its one signature
    /// (42883 when they cannot be cast there implicitly): expressions of constants and
    /// parameters only ([`computed_alone`]).
    pub(super) fn alone_args(
        &mut self,
        name: &str,
        args: &[ast::FunctionArg],
        sig: &[SqlType],
        unsupported: fn() -> SqlError,
    ) -> Result<Vec<Expr>> {
        if args.len() != sig.len() {
            return Err(unsupported());
        }
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a else { return Err(unsupported()) };
            if !computed_alone(e) {
                return Err(unsupported());
            }
            bound.push(self.expr(e, None)?);
        }
        let types: Vec<SqlType> = bound.iter().map(Expr::ty).collect();
        bound
            .into_iter()
            .zip(sig)
            .map(|(e, to)| {
                self.coerce(e, *to, crate::types::CastContext::Implicit, |_| super::no_function(name, &types))
            })
            .collect()
    }
}

/// Whether `e` is computed from constants and parameters alone (literals, `$n`, casts,
/// operators and calls of such), which the connection evaluates itself: no column, subquery
/// or anything else a statement's execution provides.
fn computed_alone(e: &ast::Expr) -> bool {
    use ast::Expr as E;
    match e {
        E::Value(_) | E::TypedString { .. } => true,
        E::Cast { expr, .. } | E::Nested(expr) | E::UnaryOp { expr, .. } => computed_alone(expr),
        E::BinaryOp { left, right, .. } => computed_alone(left) && computed_alone(right),
        E::Function(f) => {
            let name = f.name.to_string().to_ascii_lowercase();
            let side_effects =
                ["nextval", "currval", "lastval", "setval", "pg_sleep", "pg_advisory", "pg_try_advisory"]
                    .iter()
                    .any(|n| name.trim_start_matches("pg_catalog.").starts_with(n));
            !side_effects
                && f.over.is_none()
                && f.filter.is_none()
                && matches!(&f.args, ast::FunctionArguments::List(l) if l.clauses.is_empty()
                    && l.args.iter().all(|a| matches!(a,
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) if computed_alone(x))))
        }
        _ => false,
    }
}
