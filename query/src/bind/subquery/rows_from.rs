//! `ROWS FROM (f(...), g(...), ...) [WITH ORDINALITY]` in FROM
//! (<https://www.postgresql.org/docs/15/queries-table-expressions.html#QUERIES-TABLEFUNCTIONS>):
//! the functions' rows side by side, the shorter ones padded with NULLs.
//!
//! sqlparser lacks the syntax, so [`syntax`] writes `ROWS FROM` as a call of a marker
//! function of the same length (positions after it stay the client's). Each function is bound
//! as the FROM function it is on its own (`unnest` of several arrays is several columns, as
//! PostgreSQL expands it), and `relation::Source::RowsFrom` zips their rows. Not built: a
//! column definition list inside ROWS FROM (`f() AS (a int)`, a syntax error here) and
//! functions that are not built-in set-returning ones (SQL and PL/pgSQL functions: 0A000).

use super::fold;
use crate::bind::Binder;
use crate::error::{code, Result, SqlError};
use crate::relation::Source;
use orbit_engine::table::{ColumnDef, TableDef};
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::sync::Arc;

/// The marker function `ROWS FROM` is written as (quoted, nine characters as `ROWS FROM` is
/// when written with one space), starting with a control character no client writes.
pub(super) const MARK: &str = "\u{1}rows_f";

/// `sql` with each `ROWS FROM (` written as a call of [`MARK`]; None when it has none.
pub(in crate::bind) fn syntax(sql: &str) -> Option<String> {
    if !sql.to_ascii_lowercase().contains("rows") {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().ok()?;
    let solid: Vec<_> = tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).collect();
    let word = |i: usize, k: Keyword| matches!(solid.get(i).map(|t| &t.token), Some(Token::Word(w)) if w.keyword == k && w.quote_style.is_none());
    let mut edits = Vec::new();
    for i in 0..solid.len() {
        if word(i, Keyword::ROWS)
            && word(i + 1, Keyword::FROM)
            && solid.get(i + 2).map(|t| &t.token) == Some(&Token::LParen)
        {
            let from = super::search_cycle::byte_offset(sql, solid[i].span.start)?;
            let to = super::search_cycle::byte_offset(sql, solid[i + 1].span.end)?;
            edits.push((from, to, format!("\"{MARK}\"")));
        }
    }
    super::search_cycle::splice(sql, edits)
}

impl Binder<'_> {
    /// `ROWS FROM (...)` (its functions the marker call's arguments).
    pub(super) fn rows_from(
        &mut self,
        args: &[ast::FunctionArg],
        alias: Option<&ast::TableAlias>,
        ordinality: bool,
    ) -> Result<(Arc<TableDef>, String)> {
        let mut parts = Vec::with_capacity(args.len());
        let mut columns: Vec<ColumnDef> = Vec::new();
        for a in args {
            let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Function(f))) = a else {
                return Err(SqlError::new(code::SYNTAX_ERROR, "syntax error at or near \"ROWS\""));
            };
            let ast::FunctionArguments::List(list) = &f.args else {
                return Err(SqlError::syntax(&f.name.to_string()));
            };
            if f.filter.is_some()
                || f.over.is_some()
                || !f.within_group.is_empty()
                || list.duplicate_treatment.is_some()
            {
                return Err(SqlError::syntax(&f.name.to_string()));
            }
            let fname = f.name.0.last().and_then(|p| p.as_ident()).map(fold).unwrap_or_default();
            let inputs = self.sub.inputs.len();
            let (def, _) = self.function_item(&f.name, &list.args, None, false)?;
            // The function's relation, taken back from this level's inputs: its rows are
            // computed as a part of this one.
            let derived = match self.sub.inputs.pop() {
                Some(d) if self.sub.inputs.len() == inputs && d.def.name == def.name => d,
                _ => {
                    return Err(SqlError::unsupported(format!("function {fname}() in ROWS FROM is not supported yet")))
                }
            };
            parts.push((derived.source, def.columns.len()));
            columns.extend(def.columns.iter().cloned());
        }
        let listed = super::alias_columns(alias, columns.len() + usize::from(ordinality), "table")?;
        for (c, n) in columns.iter_mut().zip(&listed) {
            c.name = n.clone();
        }
        // One function of one column is named by the table alias, as a FROM function is.
        if let ([_], [c], [], Some(a)) = (parts.as_slice(), columns.as_mut_slice(), listed.as_slice(), alias) {
            c.name = fold(&a.name);
        }
        let function = match parts.len() {
            1 => columns.first().map_or("rows from", |c| c.name.as_str()).to_string(),
            _ => "rows from".to_string(),
        };
        self.function_relation_of(
            &function,
            columns,
            &listed,
            alias,
            ordinality,
            Source::RowsFrom { parts, ordinality },
        )
    }
}
