//! `CREATE SCHEMA name [AUTHORIZATION role] schema_element [...]`
//! (<https://www.postgresql.org/docs/15/sql-createschema.html>): the schema, then the tables,
//! views, indexes and sequences its elements create in it. sqlparser reads no elements, so the
//! statement is written by tokens into a marker SET holding the header and each element's text
//! ([`syntax`]), bound here into [`Plan::Steps`]: the schema's creation first, then each
//! element as a later step, bound with the new schema at the front of the search path (as
//! PostgreSQL's CreateSchemaCommand runs them), in PostgreSQL 15's order (sequences, tables,
//! views, indexes: transformCreateSchemaStmt's, so a view may name a table written after it).
//! All of it or none, as any statement's steps.

use super::alter_sequence::bare;
use super::{Binder, Plan};
use crate::error::{Result, SqlError};
use sqlparser::ast;
use sqlparser::tokenizer::Token;

/// The marker SET's variable (quoted: no parameter has that name).
pub(super) const MARKER: &str = "\"orbit create schema\"";

/// At `tokens[i]` = `CREATE` starting a statement: a `CREATE SCHEMA` with elements (a top-level
/// CREATE or GRANT after its header) as the marker SET holding the header's and each
/// element's text, and the index of the token that ends it (its `;`, or the end).
pub(super) fn syntax(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    let solid = |j: usize| !matches!(tokens[j], Token::Whitespace(_));
    let schema = (i + 1..tokens.len()).find(|&j| solid(j))?;
    if !bare(tokens.get(i), "CREATE") || !bare(tokens.get(schema), "SCHEMA") {
        return None;
    }
    let end = (i..tokens.len()).find(|&j| tokens[j] == Token::SemiColon).unwrap_or(tokens.len());
    let mut depth = 0i32;
    let mut starts = Vec::new();
    for (j, t) in tokens.iter().enumerate().take(end).skip(schema + 1) {
        match t {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth -= 1,
            _ if depth == 0 && (bare(Some(t), "CREATE") || bare(Some(t), "GRANT")) => starts.push(j),
            _ => {}
        }
    }
    let first = *starts.first()?;
    let text = |from: usize, to: usize| -> String {
        let s: String = tokens[from..to].iter().map(|t| t.to_string()).collect();
        format!("'{}'", s.trim().replace('\'', "''"))
    };
    let mut parts = vec![text(i, first)];
    for (k, &s) in starts.iter().enumerate() {
        parts.push(text(s, starts.get(k + 1).copied().unwrap_or(end)));
    }
    Some((format!("SET {MARKER} TO {}", parts.join(", ")), end))
}

/// The kinds of element, in the order PostgreSQL 15 runs them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Sequence,
    Table,
    View,
    Index,
}

impl Binder<'_> {
    /// The marker SET [`syntax`] wrote: the schema's CREATE, then its elements as steps.
    pub(super) fn create_schema_elements(&mut self, values: &[ast::Expr]) -> Result<Plan> {
        let texts = values
            .iter()
            .map(|v| match v {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::SingleQuotedString(s) => Ok(s.clone()),
                    _ => Err(SqlError::internal("CREATE SCHEMA marker")),
                },
                _ => Err(SqlError::internal("CREATE SCHEMA marker")),
            })
            .collect::<Result<Vec<String>>>()?;
        let Some((header, elements)) = texts.split_first() else {
            return Err(SqlError::internal("CREATE SCHEMA marker"));
        };
        let stmts = super::parse(header)?;
        let [stmt] = stmts.as_slice() else { return Err(SqlError::syntax(header)) };
        let crate::schema::SchemaPlan::Create { name, if_not_exists } = super::schema::bind(stmt)? else {
            return Err(SqlError::internal("CREATE SCHEMA marker"));
        };
        if if_not_exists {
            return Err(SqlError::unsupported("CREATE SCHEMA IF NOT EXISTS cannot include schema elements"));
        }
        let mut steps: Vec<(Kind, String)> = Vec::with_capacity(elements.len());
        for text in elements {
            let stmts = super::parse(text)?;
            let [stmt] = stmts.as_slice() else { return Err(SqlError::syntax(text)) };
            let (kind, qualifier) = match stmt {
                ast::Statement::CreateSequence { name: n, .. } => (Kind::Sequence, schema_of(n)),
                ast::Statement::CreateTable(ct) => (Kind::Table, schema_of(&ct.name)),
                ast::Statement::CreateView(cv) => (Kind::View, schema_of(&cv.name)),
                ast::Statement::CreateIndex(ci) => (Kind::Index, schema_of(&ci.table_name)),
                ast::Statement::Grant { .. } => {
                    return Err(SqlError::unsupported("GRANT is not supported yet"));
                }
                _ => {
                    // gram.y's schema_stmt: CREATE TABLE / INDEX / SEQUENCE / TRIGGER / VIEW
                    // and GRANT; another word after CREATE is a syntax error there.
                    let word = text.split_whitespace().nth(1).unwrap_or(text);
                    return Err(SqlError::syntax(word));
                }
            };
            if let Some(other) = qualifier.filter(|q| *q != name) {
                return Err(SqlError::new(
                    "42P15",
                    format!("CREATE specifies a schema ({other}) different from the one being created ({name})"),
                ));
            }
            steps.push((kind, text.clone()));
        }
        steps.sort_by_key(|(k, _)| *k);
        let (pid, path) = super::binding_session();
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        Ok(Plan::Steps {
            first: Box::new(Plan::Schema(crate::schema::SchemaPlan::Create { name, if_not_exists: false })),
            rest: steps.into_iter().map(|(_, t)| t).collect(),
            select_tag: false,
            session: (pid, format!("{quoted}, {path}")),
        })
    }
}

/// The schema a created object's (or an index's table's) name is qualified with.
fn schema_of(name: &ast::ObjectName) -> Option<String> {
    match name.0.as_slice() {
        [schema, _] => schema.as_ident().map(super::fold),
        _ => None,
    }
}
