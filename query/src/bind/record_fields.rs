//! Record columns of a derived table, read by field: `(result.keys).x` over
//! `FROM (SELECT information_schema._pg_expandarray(i.indkey) AS keys, ...) result`, as
//! pgjdbc's getPrimaryKeys writes it. Orbit has no anonymous record values: a record-returning
//! set-returning call in a select list is its text (`(1,1)`), so before the derived table is
//! bound each such item gets its fields as hidden items beside it, named `"\0keys.x"`;
//! a field selection on the column reads the hidden one. `SELECT *` leaves them out
//! (`catalog_star::star_columns`).

use super::{fold, Binder, Scope};
use crate::error::Result;
use crate::expr::Expr;
use sqlparser::ast;

/// The fields of the record a set-returning call of this (folded) name returns, where the
/// select list can run it.
fn fields_of(name: &str) -> Option<&'static [&'static str]> {
    match name {
        "_pg_expandarray" => Some(&["x", "n"]),
        "json_each" | "jsonb_each" | "json_each_text" | "jsonb_each_text" => Some(&["key", "value"]),
        _ => None,
    }
}

/// A hidden column's name: a NUL first, which no identifier a client writes can hold.
fn hidden_name(column: &str, field: &str) -> String {
    format!("\0{column}.{field}")
}

/// Whether a column is one of those hidden fields.
pub(crate) fn is_hidden(name: &str) -> bool {
    name.starts_with('\0')
}

/// `q` with each record-valued select item's fields added as hidden items; None when it has
/// none (or is not a plain SELECT: with DISTINCT or GROUP BY the fields would change what is
/// grouped, and those are left as they are).
pub(super) fn with_hidden_fields(q: &ast::Query) -> Option<ast::Query> {
    let ast::SetExpr::Select(sel) = q.body.as_ref() else { return None };
    let grouped = !matches!(&sel.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty());
    if sel.distinct.is_some() || grouped {
        return None;
    }
    let mut extra = Vec::new();
    for item in &sel.projection {
        let (expr, column) = match item {
            ast::SelectItem::ExprWithAlias { expr, alias } => (expr, fold(alias)),
            ast::SelectItem::UnnamedExpr(expr) => (expr, super::column_name(expr)),
            _ => continue,
        };
        let ast::Expr::Function(f) = expr else { continue };
        let name = f.name.0.last().and_then(|p| p.as_ident()).map(fold).unwrap_or_default();
        let Some(fields) = fields_of(&name) else { continue };
        for field in fields {
            extra.push(ast::SelectItem::ExprWithAlias {
                expr: ast::Expr::CompoundFieldAccess {
                    root: Box::new(ast::Expr::Nested(Box::new(expr.clone()))),
                    access_chain: vec![ast::AccessExpr::Dot(ast::Expr::Identifier(ast::Ident::new(*field)))],
                },
                alias: ast::Ident::with_quote('"', hidden_name(&column, field)),
            });
        }
    }
    if extra.is_empty() {
        return None;
    }
    let mut sel = sel.as_ref().clone();
    sel.projection.extend(extra);
    let mut q = q.clone();
    q.body = Box::new(ast::SetExpr::Select(Box::new(sel)));
    Some(q)
}

impl Binder<'_> {
    /// `(column).field` or `(table.column).field` where the column is a derived table's record
    /// column with that field hidden beside it: the hidden column. None otherwise.
    pub(super) fn record_column_field(
        &mut self,
        root: &ast::Expr,
        chain: &[ast::AccessExpr],
        scope: Option<&Scope>,
    ) -> Result<Option<Expr>> {
        let (Some(s), ast::Expr::Nested(inner), [ast::AccessExpr::Dot(ast::Expr::Identifier(field))]) =
            (scope, root, chain)
        else {
            return Ok(None);
        };
        let (qualifier, column) = match inner.as_ref() {
            ast::Expr::Identifier(c) => (None, c),
            ast::Expr::CompoundIdentifier(parts) if parts.len() == 2 => (Some(&parts[0]), &parts[1]),
            _ => return Ok(None),
        };
        let hidden = hidden_name(&fold(column), &fold(field));
        let known = match &s.joined {
            None => s.def.columns.iter().any(|c| c.name == hidden),
            Some(js) => js.tables.iter().any(|(d, _, _)| d.columns.iter().any(|c| c.name == hidden)),
        };
        if !known {
            return Ok(None);
        }
        let id = ast::Ident::with_quote('"', hidden);
        let e = match qualifier {
            Some(t) => ast::Expr::CompoundIdentifier(vec![t.clone(), id]),
            None => ast::Expr::Identifier(id),
        };
        self.expr(&e, scope).map(Some)
    }
}
