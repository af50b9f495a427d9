//! `CREATE TABLE t (LIKE source [INCLUDING | EXCLUDING option] ..., other elements)`, as
//! PostgreSQL's transformTableLikeClause: the source's columns (names, types, NOT NULL) where
//! the LIKE stands, and with the options:
//! - DEFAULTS: the columns' DEFAULT expressions (a SERIAL column's still calls its sequence);
//! - GENERATED: stored generated columns' expressions;
//! - IDENTITY: identity columns, each with a new sequence of the default options (PostgreSQL
//!   copies the source sequence's options; Orbit's binder cannot read them);
//! - CONSTRAINTS: CHECK constraints, under their names;
//! - INDEXES: the primary key, UNIQUE constraints and every other index, under new names;
//! - COMMENTS: the comments on the columns and CHECK constraints (not on indexes);
//! - STORAGE, COMPRESSION, STATISTICS: accepted; Orbit keeps no such per-column settings, so
//!   there is nothing to copy;
//! - ALL: all of them; a later option overrides an earlier one.
//!
//! Foreign keys are never copied, as in PostgreSQL. sqlparser reads `LIKE` only as the whole
//! element list, so each LIKE element is first written as a marked column by tokens
//! ([`syntax`]), which [`Binder::create_table_like`] replaces by the generated definitions.

use super::{Binder, Plan, Result};
use crate::error::{code, SqlError};
use crate::regtypes::quote_ident;
use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::Token;

/// The start of a marked column's name: the LIKE element's text follows.
pub(super) const MARK: &str = "\u{1}like ";

/// At `tokens[i]`, CREATE: for `CREATE [GLOBAL | LOCAL] [TEMP | TEMPORARY | UNLOGGED] TABLE
/// [IF NOT EXISTS] name (elements)` with a LIKE element, the statement up to its closing
/// parenthesis with each LIKE element written as the column `"<MARK>text" int`, and the index
/// after that parenthesis.
pub(super) fn syntax(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    let word = |j: usize, k: Keyword| matches!(&tokens[j], Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    let next = |j: usize| (j + 1..tokens.len()).find(|&k| !matches!(tokens[k], Token::Whitespace(_)));
    let mut j = next(i)?;
    while [Keyword::GLOBAL, Keyword::LOCAL, Keyword::TEMP, Keyword::TEMPORARY, Keyword::UNLOGGED]
        .iter()
        .any(|&k| word(j, k))
    {
        j = next(j)?;
    }
    if !word(j, Keyword::TABLE) {
        return None;
    }
    j = next(j)?;
    if word(j, Keyword::IF) {
        j = next(next(next(j)?)?)?;
    }
    // The name: words joined by dots.
    while matches!(tokens[j], Token::Word(_) | Token::Period) {
        j = next(j)?;
    }
    if tokens[j] != Token::LParen {
        return None;
    }
    let open = j;
    // The elements at depth 1, as token ranges.
    let (mut depth, mut start, mut elements) = (0usize, open + 1, Vec::new());
    let mut close = None;
    for (k, t) in tokens.iter().enumerate().skip(open) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    elements.push(start..k);
                    close = Some(k);
                    break;
                }
            }
            Token::Comma if depth == 1 => {
                elements.push(start..k);
                start = k + 1;
            }
            _ => {}
        }
    }
    let close = close?;
    let first_word = |r: &std::ops::Range<usize>| r.clone().find(|&k| !matches!(tokens[k], Token::Whitespace(_)));
    if !elements.iter().any(|r| first_word(r).is_some_and(|k| word(k, Keyword::LIKE))) {
        return None;
    }
    let text = |r: std::ops::Range<usize>| tokens[r].iter().map(|t| t.to_string()).collect::<String>();
    let mut out = text(i..open + 1);
    for (n, r) in elements.into_iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        match first_word(&r).filter(|&k| word(k, Keyword::LIKE)) {
            Some(like) => {
                let spec = text(like + 1..r.end);
                out.push_str(&format!(" \"{MARK}{}\" int", spec.trim().replace('"', "\"\"")));
            }
            None => out.push_str(&text(r)),
        }
    }
    out.push(')');
    Some((out, close + 1))
}

/// `CREATE TABLE t (LIKE source [INCLUDING | EXCLUDING DEFAULTS])` as sqlparser reads it (the
/// whole element list), written as the statement with the marked column [`syntax`] makes.
pub(super) fn marked(ct: &ast::CreateTable, like: &ast::CreateTableLike) -> ast::CreateTable {
    let defaults = match like.defaults {
        Some(ast::CreateTableLikeDefaults::Including) => " INCLUDING DEFAULTS",
        Some(ast::CreateTableLikeDefaults::Excluding) => " EXCLUDING DEFAULTS",
        None => "",
    };
    let column = ast::ColumnDef {
        name: ast::Ident::new(format!("{MARK}{}{defaults}", like.name)),
        data_type: ast::DataType::Int(None),
        options: vec![],
    };
    ast::CreateTable { columns: vec![column], like: None, ..ct.clone() }
}

/// What a LIKE element copies.
#[derive(Default)]
struct Options {
    defaults: bool,
    generated: bool,
    identity: bool,
    constraints: bool,
    indexes: bool,
    comments: bool,
}

/// The source's name and the options of a LIKE element's text.
fn parse_spec(spec: &str) -> Result<(ast::ObjectName, Options)> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let tokens: Vec<Token> = sqlparser::tokenizer::Tokenizer::new(&dialect, spec)
        .tokenize()
        .map_err(|e| SqlError::syntax(&e.to_string()))?
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let option_at = tokens.iter().position(|t| {
        matches!(t, Token::Word(w) if matches!(w.keyword, Keyword::INCLUDING | Keyword::EXCLUDING) && w.quote_style.is_none())
    });
    let name_text: String = tokens[..option_at.unwrap_or(tokens.len())].iter().map(|t| t.to_string()).collect();
    let name = sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(&name_text)
        .and_then(|mut p| p.parse_object_name(false))
        .map_err(|_| SqlError::syntax(&name_text))?;
    let mut o = Options::default();
    let mut rest = tokens[option_at.unwrap_or(tokens.len())..].iter();
    while let Some(t) = rest.next() {
        let on = matches!(t, Token::Word(w) if w.keyword == Keyword::INCLUDING);
        if !on && !matches!(t, Token::Word(w) if w.keyword == Keyword::EXCLUDING) {
            return Err(SqlError::syntax(&t.to_string()));
        }
        let what = rest.next().ok_or_else(|| SqlError::syntax(")"))?;
        let Token::Word(w) = what else { return Err(SqlError::syntax(&what.to_string())) };
        match w.value.to_ascii_uppercase().as_str() {
            "DEFAULTS" => o.defaults = on,
            "GENERATED" => o.generated = on,
            "IDENTITY" => o.identity = on,
            "CONSTRAINTS" => o.constraints = on,
            "INDEXES" => o.indexes = on,
            "COMMENTS" => o.comments = on,
            "STORAGE" | "COMPRESSION" | "STATISTICS" => {}
            "ALL" => {
                o = Options { defaults: on, generated: on, identity: on, constraints: on, indexes: on, comments: on }
            }
            _ => return Err(SqlError::syntax(&w.value)),
        }
    }
    Ok((name, o))
}

/// Single quotes for a string literal.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Binder<'_> {
    /// CREATE TABLE with LIKE elements (marked columns, [`syntax`]): the statement with them
    /// replaced by the source tables' definitions, then the steps the options add (indexes,
    /// comments) once the table exists.
    pub(super) fn create_table_like(&mut self, ct: &ast::CreateTable) -> Result<Plan> {
        let mut columns = Vec::new();
        let mut constraints = Vec::new();
        let mut rest = Vec::new();
        let new_name = ct.name.to_string();
        for c in &ct.columns {
            let Some(spec) = c.name.value.strip_prefix(MARK) else {
                columns.push(c.clone());
                continue;
            };
            let (source, o) = parse_spec(spec)?;
            let name = self.relation_name(&source)?;
            let def = crate::bind::lookup_table(&name)
                .filter(|d| !crate::sequence::is_entry(&d.name) && d.index_of.is_none())
                .ok_or_else(|| SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{source}\" does not exist")))?;
            let mut elements = Vec::new();
            for col in &def.columns {
                let ty = match crate::domains::by_oid(col.domain) {
                    Some(d) => d.shown(),
                    None => col.ty.name(),
                };
                let mut e = format!("{} {ty}", quote_ident(&col.name));
                if col.not_null {
                    e.push_str(" NOT NULL");
                }
                use orbit_engine::table::Identity;
                match (&col.generated, col.identity) {
                    (Some(g), _) if o.generated => e.push_str(&format!(" GENERATED ALWAYS AS ({g}) STORED")),
                    (Some(_), _) => {}
                    (None, Identity::Always) if o.identity => e.push_str(" GENERATED ALWAYS AS IDENTITY"),
                    (None, Identity::ByDefault) if o.identity => e.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
                    (None, Identity::Always | Identity::ByDefault) => {}
                    (None, Identity::No) => {
                        if let Some(d) = col.default_expr.as_ref().filter(|_| o.defaults) {
                            e.push_str(&format!(" DEFAULT {d}"));
                        }
                    }
                }
                elements.push(e);
            }
            if o.constraints {
                for check in &def.checks {
                    elements.push(format!("CONSTRAINT {} CHECK ({})", quote_ident(&check.name), check.expr));
                }
            }
            if o.indexes {
                let key = |cols: &[usize]| -> String {
                    cols.iter().map(|&i| quote_ident(&def.columns[i].name)).collect::<Vec<_>>().join(", ")
                };
                if !def.pk.is_empty() {
                    elements.push(format!("PRIMARY KEY ({})", key(&def.pk)));
                }
                for ix in &def.indexes {
                    let plain_unique = ix.unique
                        && ix.constraint
                        && ix.exprs.is_empty()
                        && ix.predicate.is_none()
                        && ix.include.is_empty()
                        && !ix.nulls_not_distinct
                        && ix.options.iter().all(|&x| x == 0)
                        && ix.opclasses.iter().all(|&x| x == 0);
                    if plain_unique {
                        elements.push(format!("UNIQUE ({})", key(&ix.columns)));
                        continue;
                    }
                    // Any other index: built as the source's, under a name of the new table.
                    let text = crate::bind::lookup_table(&ix.name)
                        .and_then(|t| crate::catalog::index_def(t.oid as i64, 0, false))
                        .ok_or_else(|| SqlError::internal(format!("index \"{}\" not found", ix.name)))?;
                    let body = text.split_once(" USING btree ").map(|(_, b)| b).unwrap_or_default();
                    let unique = if ix.unique { "UNIQUE " } else { "" };
                    rest.push(format!("CREATE {unique}INDEX ON {new_name} USING btree {body}"));
                }
            }
            if o.comments {
                for (object, text) in crate::comment::stored() {
                    match object {
                        crate::comment::Object::Column(t, column) if t == def.name => rest.push(format!(
                            "COMMENT ON COLUMN {new_name}.{} IS {}",
                            quote_ident(&column),
                            literal(&text)
                        )),
                        crate::comment::Object::Constraint(t, name)
                            if t == def.name && o.constraints && def.checks.iter().any(|c| c.name == name) =>
                        {
                            rest.push(format!(
                                "COMMENT ON CONSTRAINT {} ON {new_name} IS {}",
                                quote_ident(&name),
                                literal(&text)
                            ))
                        }
                        _ => {}
                    }
                }
            }
            if elements.is_empty() {
                continue;
            }
            let parsed = super::parse(&format!("CREATE TABLE x ({})", elements.join(", ")))?;
            let [ast::Statement::CreateTable(generated)] = parsed.as_slice() else {
                return Err(SqlError::internal("CREATE TABLE ... LIKE"));
            };
            columns.extend(generated.columns.iter().cloned());
            constraints.extend(generated.constraints.iter().cloned());
        }
        constraints.extend(ct.constraints.iter().cloned());
        let plain = ast::CreateTable { columns, constraints, like: None, ..ct.clone() };
        let create = self.create_table(&plain)?;
        if rest.is_empty() {
            return Ok(create);
        }
        Ok(Plan::Steps { session: super::binding_session(), first: Box::new(create), rest, select_tag: false })
    }
}
