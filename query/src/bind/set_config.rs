//! `SELECT set_config(name, value, is_local)` alone in a statement (pg_dump starts with
//! `SELECT pg_catalog.set_config('search_path', '', false)`): a SET of the session's
//! parameter that answers with the new value, as PostgreSQL's set_config does. Evaluated by
//! the connection, which holds the session's parameters ([`Plan::SetConfig`]).
//!
//! Only that form: a call inside a larger query (another select item, a non-constant argument)
//! is 0A000; over a FROM clause's rows it is 0A000 once it runs for a row.

use super::{Plan, Result};
use crate::error::SqlError;
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

/// A constant string or boolean argument.
fn constant(a: &ast::FunctionArg) -> Option<ast::Value> {
    match a {
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Value(v))) => Some(v.value.clone()),
        _ => None,
    }
}

/// The plan of `SELECT set_config(...)` if `q` is that statement; an error if it calls
/// set_config in a form Orbit does not run.
pub(super) fn plan(q: &ast::Query) -> Option<Result<(Plan, Vec<OutputColumn>)>> {
    let ast::SetExpr::Select(s) = q.body.as_ref() else { return None };
    let calls = s.projection.iter().any(|item| match item {
        ast::SelectItem::UnnamedExpr(ast::Expr::Function(f))
        | ast::SelectItem::ExprWithAlias { expr: ast::Expr::Function(f), .. } => is_set_config(f),
        _ => false,
    });
    if !calls {
        return None;
    }
    let unsupported = || {
        Some(Err(SqlError::unsupported(
            "set_config() is supported only alone: SELECT set_config('name', 'value', is_local)",
        )))
    };
    let (f, alias) = match s.projection.as_slice() {
        [ast::SelectItem::UnnamedExpr(ast::Expr::Function(f))] => (f, None),
        [ast::SelectItem::ExprWithAlias { expr: ast::Expr::Function(f), alias }] => (f, Some(alias.value.clone())),
        _ => return unsupported(),
    };
    // Over the rows of a FROM clause (pg_dump's `SELECT set_config(name, ..) FROM pg_settings
    // WHERE name = '...'`): bound as an ordinary call, which refuses to run for a row
    // (crate::catalog_fns::CatalogFn::SetConfigPerRow); with no row it never runs.
    if !s.from.is_empty() || s.selection.is_some() || q.order_by.is_some() || q.limit_clause.is_some() {
        return None;
    }
    let ast::FunctionArguments::List(list) = &f.args else { return unsupported() };
    let args: Vec<Option<ast::Value>> = list.args.iter().map(constant).collect();
    let [Some(name), Some(value), Some(local)] = args.as_slice() else { return unsupported() };
    let text = |v: &ast::Value| match v {
        ast::Value::SingleQuotedString(s) => Some(s.clone()),
        _ => None,
    };
    let (Some(name), Some(value)) = (text(name), text(value)) else { return unsupported() };
    let local = match local {
        ast::Value::Boolean(b) => *b,
        ast::Value::SingleQuotedString(s) => match s.to_ascii_lowercase().as_str() {
            "t" | "true" | "on" | "yes" | "1" => true,
            "f" | "false" | "off" | "no" | "0" => false,
            _ => return Some(Err(SqlError::new("22P02", format!("invalid input syntax for type boolean: \"{s}\"")))),
        },
        _ => return unsupported(),
    };
    // The checks and the canonical value of SET; search_path's value is a list ('' the empty
    // one, as pg_dump sets it).
    let values: Vec<String> = if name.eq_ignore_ascii_case("search_path") {
        value.split(',').map(|v| v.trim().trim_matches('"').to_string()).filter(|v| !v.is_empty()).collect()
    } else {
        vec![value]
    };
    Some(crate::settings::set_value(&name, &values).map(|(name, value)| {
        let col = OutputColumn {
            name: alias.unwrap_or_else(|| "set_config".into()),
            ty: SqlType::Text,
            table_oid: 0,
            column: 0,
        };
        (Plan::SetConfig { name, value, local }, vec![col])
    }))
}
