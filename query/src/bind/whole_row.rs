//! A whole-row reference as the argument of to_json / to_jsonb / row_to_json
//! (`SELECT to_json(t) FROM t`): bound to [`JsonFn::Record`] over the FROM item's columns,
//! which writes the row as PostgreSQL writes a record (`{"id":1,"name":"x"}`). Orbit has no
//! record type, so a whole-row reference elsewhere is still a missing column (42703).

use super::{fold, Binder, Scope};
use crate::error::Result;
use crate::expr::Expr;
use crate::json_build::JsonFn;
use crate::scalar::Builtin;
use orbit_engine::table::{Datum, SqlType};
use sqlparser::ast;

impl Binder<'_> {
    /// `to_json(t)`, `to_jsonb(t)` or `row_to_json(t)` where `t` names a FROM item and no
    /// column: the record built from its columns; None for any other call.
    pub(super) fn whole_row_json(
        &mut self,
        name: &str,
        f: &ast::Function,
        scope: Option<&Scope>,
    ) -> Result<Option<Expr>> {
        let jsonb = match name {
            "to_json" | "row_to_json" => false,
            "to_jsonb" => true,
            _ => return Ok(None),
        };
        let ast::FunctionArguments::List(l) = &f.args else { return Ok(None) };
        let ([ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Identifier(id)))], None, true) =
            (l.args.as_slice(), l.duplicate_treatment, l.clauses.is_empty())
        else {
            return Ok(None);
        };
        let Some(scope) = scope else { return Ok(None) };
        let alias = fold(id);
        let columns: Vec<(String, Expr)> = match &scope.joined {
            None => {
                if scope.alias != alias || scope.def.columns.iter().any(|c| c.name == alias) {
                    return Ok(None);
                }
                scope.def.columns.iter().enumerate().map(|(i, c)| (c.name.clone(), Expr::Column(i, c.ty))).collect()
            }
            Some(js) => {
                let named_column = js.merged.iter().any(|(n, _)| *n == alias)
                    || js.tables.iter().any(|(d, _, _)| d.columns.iter().any(|c| c.name == alias));
                let Some((def, _, off)) = js.tables.iter().find(|(_, a, _)| *a == alias) else { return Ok(None) };
                if named_column {
                    return Ok(None);
                }
                def.columns.iter().enumerate().map(|(i, c)| (c.name.clone(), Expr::Column(off + i, c.ty))).collect()
            }
        };
        let mut args = Vec::with_capacity(columns.len() * 2);
        for (n, e) in columns {
            args.push(Expr::Const(Datum::Text(n), SqlType::Text));
            args.push(e);
        }
        let f = JsonFn::Record { jsonb };
        Ok(Some(Expr::Call(Builtin::Json(f), args, f.ty())))
    }
}
