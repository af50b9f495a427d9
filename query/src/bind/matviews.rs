//! Materialized views: `CREATE MATERIALIZED VIEW [IF NOT EXISTS] name [(cols)] AS query [WITH
//! [NO] DATA]`, `REFRESH MATERIALIZED VIEW [CONCURRENTLY] name [WITH [NO] DATA]` and `DROP
//! MATERIALIZED VIEW` (<https://www.postgresql.org/docs/15/sql-creatematerializedview.html>).
//!
//! A materialized view is a table (rows on the shards, indexes, statistics) whose definition
//! carries its query ([`TableDef::matview`], logged with the table): CREATE is CREATE TABLE AS
//! with that mark, REFRESH deletes its rows and inserts its query's, in the statement's
//! transaction (so readers keep seeing the old rows until it commits, as with PostgreSQL's
//! CONCURRENTLY). Only those two write it: INSERT, UPDATE, DELETE and COPY FROM are
//! PostgreSQL's 42809 `cannot change materialized view`, TRUNCATE and ALTER TABLE actions other
//! than RENAME its `is not a table`. One made WITH NO DATA is unpopulated: reading it is 55000
//! until a REFRESH fills it. sqlparser has no `WITH [NO] DATA` after CREATE MATERIALIZED VIEW's
//! query: [`data_syntax`] writes it as an option before AS.

use super::{Binder, Plan};
use crate::error::{code, Result, SqlError};
use orbit_engine::table::{MatView, TableDef};
use sqlparser::ast;
use sqlparser::tokenizer::Token;
use std::sync::Arc;

/// The option [`data_syntax`] writes for `WITH NO DATA` (`WITH DATA` is the default).
const NO_DATA: &str = "\u{1}no_data";

/// `CREATE MATERIALIZED VIEW ... AS query WITH [NO] DATA` at `tokens[i]`: the statement with
/// the clause gone (`WITH NO DATA` written as the option [`NO_DATA`] before AS), and the index
/// of the token that ends it.
pub(super) fn data_syntax(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    let solid: Vec<usize> = (i..tokens.len()).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).collect();
    let kw = |k: usize| match tokens.get(*solid.get(k)?) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    };
    if kw(1).as_deref() != Some("MATERIALIZED") || kw(2).as_deref() != Some("VIEW") {
        return None;
    }
    let end = super::ctas_columns::statement_end(tokens, &solid, 3);
    let has = |k: Option<usize>, w: &str| k.and_then(kw).as_deref() == Some(w);
    if !has(end.checked_sub(1), "DATA") {
        return None;
    }
    let (clause, no_data) = if has(end.checked_sub(2), "WITH") {
        (end - 2, false)
    } else if has(end.checked_sub(3), "WITH") && has(end.checked_sub(2), "NO") {
        (end - 3, true)
    } else {
        return None;
    };
    // The AS before the query: the first one at depth 0 past the name.
    let mut depth = 0i32;
    let mut as_at = None;
    for (k, &j) in solid.iter().enumerate().take(clause).skip(3) {
        match &tokens[j] {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Word(w) if depth == 0 && w.quote_style.is_none() && w.value.eq_ignore_ascii_case("AS") => {
                as_at = Some(k);
                break;
            }
            _ => {}
        }
    }
    let as_at = as_at?;
    let text = |from: usize, to: usize| tokens[from..to].iter().map(|t| t.to_string()).collect::<String>();
    let stop = solid.get(end).copied().unwrap_or(tokens.len());
    let option = if no_data { format!("WITH (\"{NO_DATA}\" = true) ") } else { String::new() };
    Some((format!("{}{option}{}", text(i, solid[as_at]), text(solid[as_at], solid[clause])), stop))
}

thread_local! {
    /// Set while a CREATE MATERIALIZED VIEW ... WITH NO DATA binds its query, which does not
    /// run: reading an unpopulated materialized view there is no error (binding does not
    /// yield, so no other statement binds meanwhile).
    static NOT_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether reading materialized view `def` is PostgreSQL's 55000 (unpopulated, in a query
/// that runs).
pub(super) fn refuse_unpopulated(def: &TableDef) -> Result<()> {
    if def.matview.as_ref().is_some_and(|m| !m.populated) && !NOT_RUN.with(|n| n.get()) {
        return Err(unpopulated(&def.name));
    }
    Ok(())
}

/// PostgreSQL's 55000 for reading a materialized view no REFRESH filled.
pub(crate) fn unpopulated(name: &str) -> SqlError {
    SqlError::new("55000", format!("materialized view \"{}\" has not been populated", crate::schema::relname(name)))
        .hint("Use the REFRESH MATERIALIZED VIEW command.")
}

/// PostgreSQL's 42809 for INSERT, UPDATE, DELETE or COPY FROM of a materialized view.
pub(crate) fn cannot_change(def: &TableDef) -> SqlError {
    SqlError::new(
        code::WRONG_OBJECT_TYPE,
        format!("cannot change materialized view \"{}\"", crate::schema::relname(&def.name)),
    )
}

/// What `REFRESH MATERIALIZED VIEW` runs (`exec/matviews.rs`).
#[derive(Debug, Clone)]
pub struct Refresh {
    pub view: Arc<TableDef>,
    /// WITH NO DATA: emptied and marked unpopulated.
    pub no_data: bool,
    /// The statement's session (pid, search path) the steps bind as.
    pub session: (i32, String),
}

impl Binder<'_> {
    pub(super) fn create_matview(&mut self, cv: &ast::CreateView) -> Result<Plan> {
        if cv.or_replace {
            return Err(SqlError::syntax("MATERIALIZED"));
        }
        if cv.temporary {
            // PostgreSQL's grammar has no TEMP before MATERIALIZED.
            return Err(SqlError::syntax("MATERIALIZED"));
        }
        let mut no_data = false;
        if let ast::CreateTableOptions::With(opts) = &cv.options {
            for o in opts {
                match o {
                    ast::SqlOption::KeyValue { key, .. } if key.to_string() == format!("\"{NO_DATA}\"") => {
                        no_data = true
                    }
                    _ => {
                        return Err(SqlError::unsupported(
                            "storage parameters of a materialized view are not supported",
                        ))
                    }
                }
            }
        }
        let listed: Vec<String> = cv.columns.iter().map(|c| super::fold(&c.name)).collect();
        let was = NOT_RUN.with(|n| n.replace(no_data));
        let plan = self.with_stars_expanded(&cv.query, |b| {
            b.table_as(&cv.name, &listed, &cv.query, cv.if_not_exists, false, None, no_data)
        });
        NOT_RUN.with(|n| n.set(was));
        let (mut plan, text) = plan?;
        let Plan::Steps { first, .. } = &mut plan else { return Err(SqlError::internal("CREATE MATERIALIZED VIEW")) };
        let Plan::CreateTable { def, .. } = &mut **first else {
            return Err(SqlError::internal("CREATE MATERIALIZED VIEW"));
        };
        // A view reading a temporary relation would be temporary; a materialized one may not.
        let probe = TableDef { view: Some(cv.query.to_string()), ..TableDef::default_empty() };
        let notices = super::long_names::take_notices();
        let reads_temp = crate::exec::views::reads(&probe).iter().any(|r| crate::temp_tables::is_temp_relation(r));
        super::long_names::restore_notices(notices);
        if reads_temp {
            return Err(SqlError::unsupported("materialized views must not use temporary tables or views"));
        }
        def.matview = Some(MatView { query: text, populated: !no_data });
        Ok(plan)
    }

    pub(super) fn refresh_matview(&mut self, r: &ast::RefreshMaterializedView) -> Result<Plan> {
        let tname = self.relation_name(&r.name)?;
        let parts: Vec<String> = r.name.0.iter().filter_map(|p| p.as_ident()).map(super::fold).collect();
        let view = super::lookup_table(&tname).ok_or_else(|| super::rename::missing(&parts))?;
        if view.matview.is_none() {
            // PostgreSQL's ExecRefreshMatView says 0A000 here.
            return Err(SqlError::new(
                "0A000",
                format!("\"{}\" is not a materialized view", crate::schema::relname(&tname)),
            ));
        }
        let no_data = r.with_data == Some(false);
        if r.concurrently {
            if no_data {
                return Err(SqlError::new(
                    code::SYNTAX_ERROR,
                    "CONCURRENTLY and WITH NO DATA options cannot be used together",
                ));
            }
            if view.matview.as_ref().is_some_and(|m| !m.populated) {
                return Err(SqlError::new(
                    "0A000",
                    "CONCURRENTLY cannot be used when the materialized view is not populated",
                ));
            }
            // PostgreSQL's concurrent refresh matches old and new rows by a unique index.
            let unique = view.indexes.iter().any(|x| x.unique && x.predicate.is_none() && x.exprs.is_empty());
            if !unique {
                return Err(SqlError::new(
                    "55000",
                    format!(
                        "cannot refresh materialized view \"{}.{}\" concurrently",
                        crate::schema::split(&tname).0,
                        crate::schema::relname(&tname)
                    ),
                )
                .hint("Create a unique index with no WHERE clause on one or more columns of the materialized view."));
            }
        }
        Ok(Plan::RefreshMatview(Box::new(Refresh { view, no_data, session: super::binding_session() })))
    }
}
