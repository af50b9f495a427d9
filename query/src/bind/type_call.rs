//! A type's name called as a function with one argument (`date(ts)`, `text(12)`, `int4('7')`,
//! `jsonb('{}')`): a cast, as PostgreSQL resolves such a call when no function of that name
//! takes the argument (its cast functions are named after their target types: `date(timestamp)`,
//! `int4(numeric)`; an untyped literal is read as the type; other types cast where an explicit
//! cast exists). Type names that are keywords in PostgreSQL's grammar (`numeric(...)`,
//! `varchar(...)`, `timestamp(...)`, `bool(...)`) are syntax errors there, so they are not
//! taken here either.

use super::{no_function, Binder, CastContext, Scope};
use crate::error::Result;
use crate::expr::Expr;
use orbit_engine::table::SqlType;
use sqlparser::ast;

/// The type names callable as functions, and their types.
fn callable_type(name: &str) -> Option<SqlType> {
    Some(match name {
        "int2" => SqlType::Int2,
        "int4" => SqlType::Int4,
        "int8" => SqlType::Int8,
        "float4" => SqlType::Float4,
        "float8" => SqlType::Float8,
        "text" => SqlType::Text,
        "bpchar" => SqlType::Bpchar(None),
        "date" => SqlType::Date,
        "timestamptz" => SqlType::TIMESTAMPTZ,
        "json" => SqlType::Json,
        "jsonb" => SqlType::Jsonb,
        "uuid" => SqlType::Uuid,
        "bytea" => SqlType::Bytea,
        _ => return None,
    })
}

impl Binder<'_> {
    /// `f` as a cast when it is a callable type's name with one plain argument; None otherwise.
    pub(super) fn type_call(&mut self, f: &ast::Function, name: &str, scope: Option<&Scope>) -> Result<Option<Expr>> {
        let Some(to) = callable_type(name) else { return Ok(None) };
        let qualified = match f.name.0.as_slice() {
            [_] => false,
            [s, _] => s.as_ident().is_some_and(|s| super::fold(s) == "pg_catalog"),
            _ => return Ok(None),
        };
        let ast::FunctionArguments::List(l) = &f.args else { return Ok(None) };
        let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arg))] = l.args.as_slice() else { return Ok(None) };
        if !l.clauses.is_empty() || l.duplicate_treatment.is_some() || f.over.is_some() || f.filter.is_some() {
            return Ok(None);
        }
        let x = self.expr(arg, scope)?;
        let shown = if qualified { format!("pg_catalog.{name}") } else { name.to_string() };
        self.coerce(x, to, CastContext::Explicit, |from| no_function(&shown, &[from])).map(Some)
    }
}
