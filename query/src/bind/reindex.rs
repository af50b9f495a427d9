//! `REINDEX [ ( option [, ...] ) ] { INDEX | TABLE | SCHEMA | DATABASE | SYSTEM } [ CONCURRENTLY ]
//! name` (<https://www.postgresql.org/docs/15/sql-reindex.html>), which sqlparser has no grammar
//! for: the statement is rewritten by tokens into a marker SET holding its text ([`syntax`]),
//! read back here into [`Plan::Reindex`] (`exec/indexes.rs` `reindex` runs it).
//!
//! Each secondary index named is built again from its table's committed rows and swapped in
//! for the old one (a crash leaves the old index or the new one, never half); a primary key's
//! index is the table's own rows in key order, so there is nothing to build for it. Writers of
//! the table are held off meanwhile, also with CONCURRENTLY (PostgreSQL's lets them go on).
//! Orbit's system catalogs are views without indexes: REINDEX SYSTEM has nothing to build.

use super::alter_sequence::bare;
use super::{fold, Binder, Plan};
use crate::error::{code, Result, SqlError};
use orbit_engine::table::TableDef;
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::sync::Arc;

/// The marker SET's variable (quoted: no parameter has that name).
pub(super) const MARKER: &str = "\"orbit reindex\"";

/// The one database's name (current_database()).
const DATABASE: &str = "postgres";

/// At `tokens[i]` = `REINDEX` starting a statement: the statement as the marker SET holding
/// its text, and the index of the token that ends it (its `;`, or the end).
pub(super) fn syntax(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    if !bare(tokens.get(i), "REINDEX") {
        return None;
    }
    let end = (i..tokens.len()).find(|&j| tokens[j] == Token::SemiColon).unwrap_or(tokens.len());
    let text: String = tokens[i..end].iter().map(|t| t.to_string()).collect();
    Some((format!("SET {MARKER} TO '{}'", text.replace('\'', "''")), end))
}

/// What a REINDEX statement names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReindexKind {
    Index,
    Table,
    Schema,
    Database,
    System,
}

impl ReindexKind {
    /// As PostgreSQL names the statement in its errors (`REINDEX SCHEMA cannot run ...`).
    pub fn statement(self) -> &'static str {
        match self {
            ReindexKind::Index => "REINDEX INDEX",
            ReindexKind::Table => "REINDEX TABLE",
            ReindexKind::Schema => "REINDEX SCHEMA",
            ReindexKind::Database => "REINDEX DATABASE",
            ReindexKind::System => "REINDEX SYSTEM",
        }
    }
}

/// A bound REINDEX: per table, the names of its secondary indexes to build again.
#[derive(Debug, Clone)]
pub struct ReindexPlan {
    pub kind: ReindexKind,
    pub concurrently: bool,
    pub tables: Vec<(Arc<TableDef>, Vec<String>)>,
    /// NOTICEs PostgreSQL sends when binding (a table without indexes).
    pub notices: Vec<String>,
}

/// PostgreSQL's syntax error at token `t` (None: the end of the statement).
fn syntax_at(t: Option<&Token>) -> SqlError {
    match t {
        Some(t) => SqlError::syntax(&t.to_string()),
        None => SqlError::new(code::SYNTAX_ERROR, "syntax error at end of input"),
    }
}

/// The user tables (not views) `keep` takes, each with its secondary indexes' names.
fn every_table(keep: impl Fn(&TableDef) -> bool) -> Vec<(Arc<TableDef>, Vec<String>)> {
    crate::catalog::user_tables()
        .into_iter()
        .filter(|t| t.view.is_none() && keep(t))
        .map(|t| {
            let names = t.indexes.iter().map(|x| x.name.clone()).collect();
            (t, names)
        })
        .collect()
}

/// A boolean option value as PostgreSQL's defGetBoolean reads it (none: true).
fn option_bool(name: &str, v: Option<&str>) -> Result<bool> {
    match v.map(|s| s.to_ascii_lowercase()) {
        None => Ok(true),
        Some(s) if ["true", "on", "1", "yes"].contains(&s.as_str()) => Ok(true),
        Some(s) if ["false", "off", "0", "no"].contains(&s.as_str()) => Ok(false),
        Some(_) => Err(SqlError::new(code::SYNTAX_ERROR, format!("{name} requires a Boolean value"))),
    }
}

impl Binder<'_> {
    /// The marker SET's value: the REINDEX statement's text.
    pub(super) fn reindex(&mut self, values: &[ast::Expr]) -> Result<Plan> {
        let [ast::Expr::Value(v)] = values else { return Err(SqlError::internal("REINDEX marker")) };
        let ast::Value::SingleQuotedString(text) = &v.value else { return Err(SqlError::internal("REINDEX marker")) };
        let tokens =
            Tokenizer::new(&PostgreSqlDialect {}, text).tokenize().map_err(|e| SqlError::syntax(&e.message))?;
        let solid: Vec<&Token> = tokens.iter().filter(|t| !matches!(t, Token::Whitespace(_))).collect();
        let at = |k: usize| solid.get(k).copied();
        let word = |k: usize| match at(k) {
            Some(Token::Word(w)) => Some(w),
            _ => None,
        };
        let mut k = 1;
        let mut concurrently = false;
        // ( option [, ...] )
        if at(k) == Some(&Token::LParen) {
            k += 1;
            loop {
                let Some(w) = word(k) else { return Err(syntax_at(at(k))) };
                let name = w.value.to_ascii_lowercase();
                k += 1;
                let value = match at(k) {
                    Some(Token::Word(v)) => {
                        k += 1;
                        Some(v.value.clone())
                    }
                    Some(Token::Number(n, _)) => {
                        k += 1;
                        Some(n.clone())
                    }
                    Some(Token::SingleQuotedString(s)) => {
                        k += 1;
                        Some(s.clone())
                    }
                    _ => None,
                };
                match name.as_str() {
                    "verbose" => {
                        if option_bool("verbose", value.as_deref())? {
                            // PostgreSQL's INFO per index, with its resource usage.
                            return Err(SqlError::unsupported("REINDEX (VERBOSE) is not supported yet"));
                        }
                    }
                    "concurrently" => concurrently = option_bool("concurrently", value.as_deref())?,
                    "tablespace" => {
                        return Err(SqlError::unsupported("REINDEX ... TABLESPACE is not supported yet"));
                    }
                    other => {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            format!("unrecognized REINDEX option \"{other}\""),
                        ));
                    }
                }
                match at(k) {
                    Some(Token::Comma) => k += 1,
                    Some(Token::RParen) => {
                        k += 1;
                        break;
                    }
                    t => return Err(syntax_at(t)),
                }
            }
        }
        let kind = match word(k).map(|w| w.value.to_ascii_uppercase()).as_deref() {
            Some("INDEX") => ReindexKind::Index,
            Some("TABLE") => ReindexKind::Table,
            Some("SCHEMA") => ReindexKind::Schema,
            Some("DATABASE") => ReindexKind::Database,
            Some("SYSTEM") => ReindexKind::System,
            _ => return Err(syntax_at(at(k))),
        };
        k += 1;
        if bare(at(k), "CONCURRENTLY") {
            concurrently = true;
            k += 1;
        }
        // The name: identifiers joined by periods.
        let mut parts = Vec::new();
        loop {
            let Some(w) = word(k) else { return Err(syntax_at(at(k))) };
            parts.push(ast::Ident {
                value: w.value.clone(),
                quote_style: w.quote_style,
                span: sqlparser::tokenizer::Span::empty(),
            });
            k += 1;
            if at(k) == Some(&Token::Period) {
                k += 1;
                continue;
            }
            break;
        }
        if let Some(t) = at(k) {
            return Err(syntax_at(Some(t)));
        }
        let name = ast::ObjectName(parts.iter().cloned().map(ast::ObjectNamePart::Identifier).collect());
        let mut plan = ReindexPlan { kind, concurrently, tables: Vec::new(), notices: Vec::new() };
        // The relation REINDEX INDEX / TABLE names, as its folded name and definition.
        let relation = |b: &Self| -> Result<(String, Option<Arc<TableDef>>)> {
            let tname = b.relation_name(&name)?;
            let def = super::lookup_table(&tname);
            Ok((tname, def))
        };
        let missing = || super::rename::missing(&parts.iter().map(fold).collect::<Vec<_>>());
        match kind {
            ReindexKind::Index => {
                let (tname, def) = relation(self)?;
                let Some(def) = def else {
                    // A primary key's index: the table's own rows, nothing to build.
                    if super::rename::primary_key_named(&tname).is_some() {
                        return Ok(Plan::Reindex(Box::new(plan)));
                    }
                    return Err(missing());
                };
                if let Some(base) = super::index_owner(&def) {
                    plan.tables.push((base, vec![def.name.clone()]));
                } else if def.index_of.is_some() {
                    // An index no table lists (a crash between CREATE INDEX's two steps):
                    // nothing writes it; DROP INDEX removes it.
                    return Err(SqlError::new(
                        "55000",
                        format!("index \"{}\" is not valid", crate::schema::relname(&def.name)),
                    ));
                } else {
                    return Err(SqlError::new(
                        code::WRONG_OBJECT_TYPE,
                        format!("\"{}\" is not an index", crate::schema::relname(&tname)),
                    ));
                }
            }
            ReindexKind::Table => {
                let (tname, def) = relation(self)?;
                let Some(def) = def else { return Err(missing()) };
                if def.index_of.is_some() || def.view.is_some() {
                    return Err(SqlError::new(
                        code::WRONG_OBJECT_TYPE,
                        format!("\"{}\" is not a table or materialized view", crate::schema::relname(&tname)),
                    ));
                }
                if def.pk.is_empty() && def.indexes.is_empty() {
                    let rel = crate::schema::relname(&tname);
                    plan.notices.push(if concurrently {
                        format!("table \"{rel}\" has no indexes that can be reindexed concurrently")
                    } else {
                        format!("table \"{rel}\" has no indexes to reindex")
                    });
                }
                let names = def.indexes.iter().map(|x| x.name.clone()).collect();
                plan.tables.push((def, names));
            }
            ReindexKind::Schema => {
                let [schema] = parts.as_slice() else { return Err(SqlError::syntax(".")) };
                let schema = fold(schema);
                if !crate::schema::exists(&schema) {
                    return Err(SqlError::new("3F000", format!("schema \"{schema}\" does not exist")));
                }
                plan.tables = every_table(|t| crate::schema::split(&t.name).0 == schema);
            }
            ReindexKind::Database | ReindexKind::System => {
                let [db] = parts.as_slice() else { return Err(SqlError::syntax(".")) };
                if fold(db) != DATABASE {
                    return Err(SqlError::unsupported("can only reindex the currently open database"));
                }
                if kind == ReindexKind::System && concurrently {
                    return Err(SqlError::unsupported("cannot reindex system catalogs concurrently"));
                }
                if kind == ReindexKind::Database {
                    // Other sessions' temporary tables are skipped, as PostgreSQL skips them.
                    plan.tables = every_table(|t| {
                        let schema = crate::schema::split(&t.name).0;
                        !crate::temp_tables::is_temp_schema(schema)
                            || crate::temp_tables::current().as_deref() == Some(schema)
                    });
                }
            }
        }
        Ok(Plan::Reindex(Box::new(plan)))
    }
}
