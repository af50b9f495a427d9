//! CREATE [OR REPLACE] VIEW and DROP VIEW, and the expansion of a view named in FROM.
//!
//! A view is a catalog entry like a table ([`TableDef::view`] holds its query as SQL text, its
//! columns are the query's output columns at creation, named by the column list if given), so
//! it is durable and replicated the way tables are, and it holds no rows. A query naming it
//! binds the stored query in its place, as a derived table named as the view (PostgreSQL's
//! rewriter does the same with the view's `_RETURN` rule). INSERT, UPDATE and DELETE through
//! a view are `updatable_views.rs`'s. CREATE RECURSIVE VIEW is written by tokens as the CREATE
//! VIEW over a WITH RECURSIVE query PostgreSQL's grammar expands it into
//! ([`recursive_view_syntax`]); a trailing `WITH [LOCAL | CASCADED] CHECK OPTION` as the
//! `check_option` option ([`check_option_syntax`]), kept in [`TableDef::view_check`] (an
//! automatically updatable view only, 0A000 otherwise, as PostgreSQL's DefineView says).

use super::{fold, lookup_table, Binder, Plan};
use crate::error::{code, Result, SqlError};
use orbit_engine::table::{ColumnDef, SqlType, TableDef};
use sqlparser::ast;
use std::sync::Arc;

/// How deeply views may name views before the expansion is taken for a loop.
const MAX_VIEW_DEPTH: usize = 32;

impl Binder<'_> {
    pub(super) fn create_view(&mut self, cv: &ast::CreateView) -> Result<Plan> {
        if cv.materialized {
            return Err(SqlError::unsupported("materialized views are not supported yet"));
        }
        if cv.if_not_exists || cv.or_alter {
            return Err(SqlError::new(code::SYNTAX_ERROR, "syntax error at or near \"NOT\""));
        }
        let temp = crate::temp_tables::new_relation(&cv.name, cv.temporary)?;
        let mut name = match &temp {
            Some(n) => n.clone(),
            None => super::new_object_name(self.sql, &cv.name)?,
        };
        // The text kept: the query with its `*` written as the columns it stands for now.
        let ((_, cols), text) = self.with_stars_expanded(&cv.query, |b| b.query(&cv.query))?;
        // A view reading a temporary relation is temporary itself, as PostgreSQL's DefineView
        // makes it (in a schema named explicitly, 42P16; PostgreSQL sends the NOTICE first,
        // Orbit only the error, since a binding error carries no notices).
        let mut made_temp = false;
        if temp.is_none() {
            let probe = TableDef { view: Some(cv.query.to_string()), ..TableDef::default_empty() };
            // Reading the text again parses it: the statement's NOTICEs so far are kept.
            let notices = super::long_names::take_notices();
            let reads_temp = crate::exec::views::reads(&probe).iter().any(|r| crate::temp_tables::is_temp_relation(r));
            super::long_names::restore_notices(notices);
            if reads_temp {
                let rel = crate::schema::split(&name).1.to_string();
                if cv.name.0.len() > 1 {
                    return Err(crate::temp_tables::not_temp_schema());
                }
                name = crate::schema::qualify(&crate::temp_tables::schema_for_create()?, &rel);
                made_temp = true;
            }
        }
        if cv.columns.len() > cols.len() {
            return Err(SqlError::new(code::SYNTAX_ERROR, "CREATE VIEW specifies more column names than columns"));
        }
        let mut columns: Vec<ColumnDef> = Vec::with_capacity(cols.len());
        for (i, c) in cols.iter().enumerate() {
            let cname = cv.columns.get(i).map_or_else(|| c.name.clone(), |v| fold(&v.name));
            if columns.iter().any(|x| x.name == cname) {
                return Err(SqlError::new(
                    code::DUPLICATE_COLUMN,
                    format!("column \"{cname}\" specified more than once"),
                ));
            }
            // An untyped literal's column is text, as in PostgreSQL.
            let ty = if c.ty == SqlType::Unknown { SqlType::Text } else { c.ty };
            // An anonymous record is a pseudo-type no relation's column may have (a table's
            // row type may be: it reads back from the log as a record of no known fields).
            super::no_pseudo_type_column(&cname, ty)?;
            columns.push(ColumnDef::new(cname, ty));
        }
        let mut def = TableDef { name, columns, view: Some(text), ..TableDef::default_empty() };
        // A check option needs an automatically updatable view (DefineView checks that before
        // the options' values).
        let options = super::utility::view_options(&cv.options)?;
        if options.iter().any(|(n, _)| n == "check_option") {
            if let Some(e) = super::updatable_views::check_option_refused(self.sql, &def) {
                return Err(e);
            }
        }
        def.view_check = super::utility::view_check_option(&options)?;
        Ok(Plan::CreateView { def, or_replace: cv.or_replace, made_temp })
    }

    /// Whether `name` (in FROM) is a view: then the relation its query makes, named `alias`
    /// (or the view's name), with the view's column names (the alias's first).
    pub(super) fn view_relation(
        &mut self,
        name: &ast::ObjectName,
        alias: Option<&ast::TableAlias>,
    ) -> Result<Option<(Arc<TableDef>, String)>> {
        let Ok(tname) = self.relation_name(name) else { return Ok(None) };
        let Some(def) = lookup_table(&tname) else { return Ok(None) };
        super::matviews::refuse_unpopulated(&def)?;
        let Some(stored) = def.view.as_deref() else { return Ok(None) };
        // A partition reads its root's rows within its partition constraint.
        let computed = crate::partitions::query_text(&def);
        let text = computed.as_deref().unwrap_or(stored);
        self.note_relation(name, &tname);
        if self.sub.views_expanding.len() >= MAX_VIEW_DEPTH || self.sub.views_expanding.contains(&tname) {
            return Err(SqlError::new(
                "42P17",
                format!("infinite recursion detected in rules for relation \"{tname}\""),
            ));
        }
        // The statement's NOTICEs so far are kept; the view's own (its text read again, a
        // `timestamp(7)` in it) were sent when it was created, as PostgreSQL sends them.
        let outer_notices = super::long_names::take_notices();
        let parsed = super::parse(text);
        let query = match parsed {
            Ok(mut stmts) => match stmts.pop() {
                Some(ast::Statement::Query(q)) => q,
                _ => {
                    super::long_names::restore_notices(outer_notices);
                    return Err(SqlError::internal(format!("the definition of view \"{tname}\" is not a query")));
                }
            },
            Err(e) => {
                super::long_names::restore_notices(outer_notices);
                return Err(e);
            }
        };
        // The view's column names, the alias's first (as written: the binder folds them).
        let quoted = |n: &str| ast::TableAliasColumnDef { name: ast::Ident::with_quote('"', n), data_type: None };
        let renamed = super::subquery::alias_columns(alias, def.columns.len(), "table")?.len();
        let names: Vec<ast::TableAliasColumnDef> = def
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| match alias {
                Some(a) if i < renamed => a.columns[i].clone(),
                _ => quoted(&c.name),
            })
            .collect();
        // Without an alias the view is known by its name within its schema (`s.v` and a
        // temporary view's `pg_temp_N.v` as `v`), as a table is.
        let alias_name =
            alias.map_or_else(|| ast::Ident::with_quote('"', crate::schema::relname(&tname)), |a| a.name.clone());
        let derived = ast::TableFactor::Derived {
            lateral: false,
            subquery: query,
            alias: Some(ast::TableAlias { explicit: true, name: alias_name, columns: names, at: None }),
            sample: None,
        };
        self.sub.views_expanding.push(tname);
        let r = self.special_relation(&derived);
        self.sub.views_expanding.pop();
        super::long_names::restore_notices(outer_notices);
        r
    }

    /// A statement written through view `name` onto its base relation, bound with the view
    /// counted among those being expanded (a loop of views is 42P17, as in a query).
    pub(super) fn through_view<T>(
        &mut self,
        name: &ast::ObjectName,
        bind: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let tname = self.relation_name(name)?;
        if self.sub.views_expanding.len() >= MAX_VIEW_DEPTH || self.sub.views_expanding.contains(&tname) {
            return Err(SqlError::new(
                "42P17",
                format!("infinite recursion detected in rules for relation \"{tname}\""),
            ));
        }
        self.sub.views_expanding.push(tname);
        let r = bind(self);
        self.sub.views_expanding.pop();
        r
    }
}

/// `DROP VIEW [IF EXISTS] names [CASCADE | RESTRICT]`.
pub(super) fn drop_view(names: Vec<String>, if_exists: bool, cascade: bool) -> Plan {
    Plan::DropView { names, if_exists, cascade }
}

/// The non-whitespace token indexes from `i` (a CREATE), and the place among them past
/// `CREATE [OR REPLACE] [TEMP | TEMPORARY]`.
fn create_prefix(tokens: &[sqlparser::tokenizer::Token], i: usize) -> (Vec<usize>, usize) {
    use sqlparser::tokenizer::Token;
    let solid: Vec<usize> = (i..tokens.len()).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).collect();
    let kw = |k: usize| solid_word(tokens, &solid, k);
    let mut k = 1; // past CREATE
    if kw(k).as_deref() == Some("OR") && kw(k + 1).as_deref() == Some("REPLACE") {
        k += 2;
    }
    if matches!(kw(k).as_deref(), Some("TEMP" | "TEMPORARY")) {
        k += 1;
    }
    (solid, k)
}

/// The unquoted word (upper-cased) at the `k`-th non-whitespace token.
fn solid_word(tokens: &[sqlparser::tokenizer::Token], solid: &[usize], k: usize) -> Option<String> {
    match &tokens[*solid.get(k)?] {
        sqlparser::tokenizer::Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// `CREATE [OR REPLACE] [TEMP] RECURSIVE VIEW name (col, ...) AS query`, which sqlparser's
/// grammar lacks, written by tokens as PostgreSQL's grammar expands it (makeRecursiveViewSelect):
/// `CREATE VIEW name AS WITH RECURSIVE name (col, ...) AS (query) SELECT col, ... FROM name`,
/// the WITH query named as the view's bare name. Returns the text and the token index after
/// the statement; None if the statement at `i` (a CREATE) is not one.
pub(super) fn recursive_view_syntax(tokens: &[sqlparser::tokenizer::Token], i: usize) -> Option<(String, usize)> {
    use sqlparser::tokenizer::Token;
    let (solid, mut k) = create_prefix(tokens, i);
    let kw = |k: usize| solid_word(tokens, &solid, k);
    if kw(k).as_deref() != Some("RECURSIVE") || kw(k + 1).as_deref() != Some("VIEW") {
        return None;
    }
    let recursive_at = solid[k];
    k += 2;
    // The name (dotted words) up to the column list.
    let name_from = *solid.get(k)?;
    let mut last = None;
    while !matches!(tokens[*solid.get(k)?], Token::LParen) {
        match &tokens[solid[k]] {
            t @ Token::Word(_) => last = Some(t.to_string()),
            Token::Period => {}
            _ => return None,
        }
        k += 1;
    }
    let name_to = solid[k];
    let last = last?;
    let mut names = Vec::new();
    k += 1;
    loop {
        let t = &tokens[*solid.get(k)?];
        if !matches!(t, Token::Word(_)) {
            return None;
        }
        names.push(t.to_string());
        k += 1;
        match tokens[*solid.get(k)?] {
            Token::Comma => k += 1,
            Token::RParen => break,
            _ => return None,
        }
    }
    k += 1;
    if kw(k).as_deref() != Some("AS") {
        return None;
    }
    let query_from = *solid.get(k + 1)?;
    // The query runs to the statement's end.
    let end = super::ctas_columns::statement_end(tokens, &solid, k + 1);
    let stop = solid.get(end).copied().unwrap_or(tokens.len());
    let text = |from: usize, to: usize| tokens[from..to].iter().map(|t| t.to_string()).collect::<String>();
    let cols = names.join(", ");
    Some((
        format!(
            "{}VIEW {} AS WITH RECURSIVE {last} ({cols}) AS ({}) SELECT {cols} FROM {last}",
            text(i, recursive_at),
            text(name_from, name_to),
            text(query_from, stop),
        ),
        stop,
    ))
}

/// `CREATE [OR REPLACE] [TEMP] VIEW name [(cols)] [WITH (options)] AS query WITH [CASCADED |
/// LOCAL] CHECK OPTION`, whose trailing clause sqlparser's grammar lacks, written by tokens
/// with the clause as the option PostgreSQL's DefineView makes of it (`check_option`, last
/// in the options; CASCADED unless LOCAL). Returns the text and the token index after the
/// statement; None if the statement at `i` (a CREATE) is not one.
pub(super) fn check_option_syntax(tokens: &[sqlparser::tokenizer::Token], i: usize) -> Option<(String, usize)> {
    use sqlparser::tokenizer::Token;
    let (solid, mut k) = create_prefix(tokens, i);
    let kw = |k: usize| solid_word(tokens, &solid, k);
    if kw(k).as_deref() != Some("VIEW") {
        return None;
    }
    let end = super::ctas_columns::statement_end(tokens, &solid, k + 1);
    // The clause ends the statement.
    let has = |k: Option<usize>, w: &str| k.and_then(kw).as_deref() == Some(w);
    if !has(end.checked_sub(2), "CHECK") || !has(end.checked_sub(1), "OPTION") {
        return None;
    }
    let (clause, level) = if has(end.checked_sub(3), "WITH") {
        (end - 3, "cascaded")
    } else if has(end.checked_sub(4), "WITH") && has(end.checked_sub(3), "LOCAL") {
        (end - 4, "local")
    } else if has(end.checked_sub(4), "WITH") && has(end.checked_sub(3), "CASCADED") {
        (end - 4, "cascaded")
    } else {
        return None;
    };
    // The name (dotted words), then a column list and an option list in parentheses.
    k += 2;
    while matches!(tokens[*solid.get(k)?], Token::Period) {
        k += 2;
    }
    let skip_parens = |mut k: usize| -> Option<usize> {
        let mut depth = 0i32;
        loop {
            match tokens[*solid.get(k)?] {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ => {}
            }
            k += 1;
            if depth == 0 {
                return Some(k);
            }
        }
    };
    if matches!(tokens[*solid.get(k)?], Token::LParen) {
        k = skip_parens(k)?;
    }
    let text = |from: usize, to: usize| tokens[from..to].iter().map(|t| t.to_string()).collect::<String>();
    let option = format!("check_option = {level}");
    let query_to = solid[clause];
    let stop = solid.get(end).copied().unwrap_or(tokens.len());
    if kw(k).as_deref() == Some("WITH") && matches!(tokens[*solid.get(k + 1)?], Token::LParen) {
        // Last among the options written.
        let close = solid[skip_parens(k + 1)? - 1];
        return Some((format!("{}, {option}{}", text(i, close), text(close, query_to)), stop));
    }
    Some((format!("{} WITH ({option}) {}", text(i, solid[k]), text(solid[k], query_to)), stop))
}
