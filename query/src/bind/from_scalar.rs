//! A function that returns one value (not a set) in FROM: PostgreSQL reads it as a relation of
//! one row and one column (`FROM string_to_array(current_setting('search_path'), ',') s`,
//! `FROM upper('x')`), the column named by the alias's column list, else the alias, else the
//! function. Bound here as the derived table `(SELECT f(...) AS col) AS alias`, LATERAL when
//! its arguments name columns (they can only be earlier FROM items', as for any function in
//! FROM).

use super::fold;
use sqlparser::ast;
use std::ops::ControlFlow;

/// `q` with each scalar function in its FROM clause written as a derived table; None when it
/// has none.
pub(super) fn rewritten(q: &ast::Query) -> Option<ast::Query> {
    let ast::SetExpr::Select(sel) = q.body.as_ref() else { return None };
    let mut sel = sel.clone();
    let mut changed = false;
    for twj in &mut sel.from {
        changed |= rewrite(&mut twj.relation);
        for j in &mut twj.joins {
            changed |= rewrite(&mut j.relation);
        }
    }
    if !changed {
        return None;
    }
    let mut out = q.clone();
    *out.body = ast::SetExpr::Select(sel);
    Some(out)
}

fn rewrite(t: &mut ast::TableFactor) -> bool {
    let ast::TableFactor::Table { name, alias, args: Some(args), with_ordinality: false, .. } = t else { return false };
    let fname = name.0.last().and_then(|p| p.as_ident()).map(fold).unwrap_or_default();
    if super::subquery::is_from_function(&fname) || !args.settings.as_ref().is_none_or(|s| s.is_empty()) {
        return false;
    }
    // A function with one OUT parameter names its column by it.
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
    let outs: Vec<Option<String>> =
        crate::functions_sql::resolve(&parts).into_iter().map(|f| f.single_out.clone()).collect();
    let out_name = match outs.as_slice() {
        [Some(n), rest @ ..] if rest.iter().all(|o| o.as_ref() == Some(n)) => {
            Some(ast::Ident::with_quote('"', n.clone()))
        }
        _ => None,
    };
    let column = match alias {
        Some(a) if a.columns.len() > 1 => return false,
        Some(a) => a.columns.first().map(|c| c.name.clone()).or(out_name).unwrap_or_else(|| a.name.clone()),
        None => out_name.unwrap_or_else(|| ast::Ident::with_quote('"', fname.clone())),
    };
    let original = args.args.clone();
    let args: Vec<String> = args.args.iter().map(ToString::to_string).collect();
    let alias_name = alias.as_ref().map_or_else(|| ast::Ident::with_quote('"', fname.clone()), |a| a.name.clone());
    let sql = format!("SELECT * FROM (SELECT {name}({}) AS {column}) AS {alias_name}", args.join(", "));
    let parsed = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
        .try_with_sql(&sql)
        .and_then(|mut p| p.parse_query());
    let Ok(parsed) = parsed else { return false };
    let ast::SetExpr::Select(sel) = *parsed.body else { return false };
    let Some(mut derived) = sel.from.into_iter().next().map(|t| t.relation) else { return false };
    // The call as written (its spans: errors point into the statement's own text).
    if let ast::TableFactor::Derived { subquery, .. } = &mut derived {
        if let ast::SetExpr::Select(inner) = subquery.body.as_mut() {
            if let Some(ast::SelectItem::ExprWithAlias { expr: ast::Expr::Function(f), .. }) =
                inner.projection.first_mut()
            {
                f.name = name.clone();
                if let ast::FunctionArguments::List(l) = &mut f.args {
                    l.args = original.clone();
                }
            }
        }
    }
    let mut reads_columns = false;
    let _ = ast::visit_expressions(&derived, |e: &ast::Expr| {
        if matches!(e, ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_)) {
            reads_columns = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    if let ast::TableFactor::Derived { lateral, .. } = &mut derived {
        *lateral = reads_columns;
    }
    *t = derived;
    true
}
