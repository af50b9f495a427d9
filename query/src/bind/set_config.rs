//! `SELECT set_config(name, value, is_local) [, set_config(...) ...]` with nothing else in the
//! statement (pg_dump starts with `SELECT pg_catalog.set_config('search_path', '', false)`;
//! PostgREST and row-security set-ups send `SELECT set_config('request.jwt.claims', $1, true)`):
//! a SET of each session parameter, in order, answered with the values set, as PostgreSQL's
//! set_config does. Evaluated by the connection, which holds the session's parameters
//! ([`Plan::SetConfig`]).
//!
//! Each argument is a constant or a parameter (`$n`, typed text, text and boolean). Any other
//! form of a call (inside a larger expression, next to other select items, with a column as an
//! argument) is 0A000; over a FROM clause's rows it is 0A000 once it runs for a row.

use super::{Binder, Plan, Result};
use crate::error::SqlError;
use crate::expr::Expr;
use crate::OutputColumn;
use orbit_engine::table::{Datum, SqlType};
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
        if !s.from.is_empty() || s.selection.is_some() || q.order_by.is_some() || q.limit_clause.is_some() {
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

    /// One call's arguments: a string or boolean constant, NULL, or a parameter of the type
    /// the argument takes.
    fn set_config_call(&mut self, f: &ast::Function) -> Result<Call> {
        let ast::FunctionArguments::List(list) = &f.args else { return Err(unsupported()) };
        let [name, value, local] = list.args.as_slice() else { return Err(unsupported()) };
        Ok([self.set_config_arg(name, SqlType::Text)?, self.set_config_arg(value, SqlType::Text)?, {
            self.set_config_arg(local, SqlType::Bool)?
        }])
    }

    fn set_config_arg(&mut self, a: &ast::FunctionArg, ty: SqlType) -> Result<Expr> {
        let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a else { return Err(unsupported()) };
        let invalid_bool = |s: &str| SqlError::new("22P02", format!("invalid input syntax for type boolean: \"{s}\""));
        let d = match e {
            ast::Expr::Value(v) => match (&v.value, ty) {
                (ast::Value::Placeholder(p), _) => return self.typed_param(p, &v.span, ty),
                (ast::Value::Null, _) => Datum::Null,
                (ast::Value::SingleQuotedString(s), SqlType::Text) => Datum::Text(s.clone()),
                (ast::Value::Boolean(b), SqlType::Bool) => Datum::Bool(*b),
                (ast::Value::SingleQuotedString(s), SqlType::Bool) => match s.to_ascii_lowercase().as_str() {
                    "t" | "true" | "on" | "yes" | "1" => Datum::Bool(true),
                    "f" | "false" | "off" | "no" | "0" => Datum::Bool(false),
                    _ => return Err(invalid_bool(s)),
                },
                _ => return Err(unsupported()),
            },
            _ => return Err(unsupported()),
        };
        Ok(Expr::Const(d, ty))
    }

    /// Parameter `p` as an argument of type `ty`: an untyped parameter takes that type, a
    /// parameter the client typed must have it (text: any string type).
    fn typed_param(&mut self, p: &str, span: &sqlparser::tokenizer::Span, ty: SqlType) -> Result<Expr> {
        let Expr::Param(n, given) = self.param(p, span)? else { return Err(unsupported()) };
        let fits = given == ty || (ty == SqlType::Text && given.is_string());
        match given {
            SqlType::Unknown => {
                self.params[n] = ty;
                Ok(Expr::Param(n, ty))
            }
            _ if fits => Ok(Expr::Param(n, given)),
            _ => Err(unsupported()),
        }
    }
}
