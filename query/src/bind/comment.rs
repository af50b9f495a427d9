//! Binds `COMMENT ON` ([`crate::comment`]): finds the object as PostgreSQL's
//! get_object_address does (relations along the search path, the session's temporary schema
//! first), with its errors; `COMMENT ON CONSTRAINT c ON t`, which sqlparser does not read, is
//! rewritten by tokens first ([`constraint_syntax`]).

use super::{fold_ident, Binder, Plan};
use crate::comment::{CommentPlan, Object};
use crate::error::{code, Result, SqlError};
use sqlparser::ast;
use sqlparser::tokenizer::Token;

/// The prefix of the column name a `COMMENT ON CONSTRAINT` is rewritten to.
const CONSTRAINT_MARK: char = '\u{4}';

/// `COMMENT ON CONSTRAINT name ON table IS ...` at token `i` (the statement's first): the same
/// as `COMMENT ON COLUMN table."\u{4}name" IS ...`, which [`Binder::comment`] reads back, and
/// the index of the first token after `table`.
pub(super) fn constraint_syntax(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    use sqlparser::keywords::Keyword;
    let word = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    let mut at: Vec<usize> = (i..tokens.len()).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).collect();
    at.truncate(8);
    let t = |k: usize| at.get(k).map(|&j| &tokens[j]);
    if !(word(t(0)?, Keyword::COMMENT) && word(t(1)?, Keyword::ON) && word(t(2)?, Keyword::CONSTRAINT)) {
        return None;
    }
    let Token::Word(name) = t(3)? else { return None };
    if !word(t(4)?, Keyword::ON) {
        return None;
    }
    // The table: a name, or schema.name.
    let Token::Word(first) = t(5)? else { return None };
    let (table, end) = match (t(6), t(7)) {
        (Some(Token::Period), Some(Token::Word(second))) => (format!("{first}.{second}"), at[7] + 1),
        _ => (first.to_string(), at[5] + 1),
    };
    let ident = match name.quote_style {
        Some(q) => ast::Ident::with_quote(q, name.value.clone()),
        None => ast::Ident::new(name.value.clone()),
    };
    let con = fold_ident(&ident);
    let marked = format!("\"{CONSTRAINT_MARK}{}\"", con.replace('"', "\"\""));
    Some((format!("COMMENT ON COLUMN {table}.{marked}"), end))
}

fn wrong_type(rel: &str, what: &str) -> SqlError {
    SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{rel}\" is not {what}"))
}

/// A relation named by `parts` (`[name]` or `[schema, name]`): its catalog name and kind
/// (pg_class.relkind: r, v, i, S).
fn relation(parts: &[String]) -> Result<(String, char)> {
    let tables = crate::catalog::user_tables();
    let sequences = orbit_shards::state::try_with_shard(|s| crate::sequence::entries_in(&s.tables)).unwrap_or_default();
    let relations = crate::catalog::relations(&tables, &sequences);
    let find = |schema: &str, rel: &str| {
        let ns = crate::schema::oid_of(schema)?;
        relations
            .iter()
            .find(|(_, n, name, _)| *n == ns && name == rel)
            .map(|r| (crate::schema::qualify(schema, rel), r.3))
    };
    let missing = || SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{}\" does not exist", parts.join(".")));
    match parts {
        [rel] => crate::schema::relation_path().iter().find_map(|s| find(s, rel)).ok_or_else(missing),
        [schema, rel] => {
            let schema = match (schema.as_str(), crate::temp_tables::current()) {
                ("pg_temp", Some(temp)) => temp,
                ("pg_temp", None) => return Err(missing()),
                _ => schema.clone(),
            };
            if !crate::schema::exists(&schema) {
                return Err(SqlError::new("3F000", format!("schema \"{schema}\" does not exist")));
            }
            find(&schema, rel).ok_or_else(missing)
        }
        _ => Err(SqlError::new(
            code::FEATURE_NOT_SUPPORTED,
            format!("cross-database references are not implemented: {}", parts.join(".")),
        )),
    }
}

impl Binder<'_> {
    /// `COMMENT ON kind name IS 'text' | NULL`.
    pub(super) fn comment(
        &mut self,
        object_type: &ast::CommentObject,
        object_name: &ast::ObjectName,
        text: &Option<String>,
        if_exists: bool,
    ) -> Result<Plan> {
        use ast::CommentObject as K;
        if if_exists {
            return Err(SqlError::syntax("IF"));
        }
        let parts: Vec<String> = object_name.0.iter().filter_map(|p| p.as_ident()).map(fold_ident).collect();
        if parts.len() != object_name.0.len() || parts.is_empty() {
            return Err(SqlError::syntax(&object_name.to_string()));
        }
        let last = parts.last().cloned().unwrap_or_default();
        let object = match object_type {
            K::Table | K::View | K::Index | K::Sequence => {
                let (name, kind) = relation(&parts)?;
                let (want, what) = match object_type {
                    K::Table => ('r', "a table"),
                    K::View => ('v', "a view"),
                    K::Index => ('i', "an index"),
                    _ => ('S', "a sequence"),
                };
                if kind != want {
                    return Err(wrong_type(&last, what));
                }
                Object::Relation(name)
            }
            K::Column => {
                let [rel @ .., column] = parts.as_slice() else { unreachable!("parts is not empty") };
                if rel.is_empty() {
                    return Err(SqlError::new(code::SYNTAX_ERROR, "column name must be qualified"));
                }
                let (name, kind) = relation(rel)?;
                let relname = rel.last().cloned().unwrap_or_default();
                let def = crate::bind::lookup_table(&name);
                if let Some(con) = column.strip_prefix(CONSTRAINT_MARK) {
                    // COMMENT ON CONSTRAINT con ON rel.
                    let def = def.filter(|_| kind == 'r').ok_or_else(|| wrong_type(&relname, "a table"))?;
                    if !crate::catalog::constraints_of(&def).iter().any(|k| k.1 == con) {
                        return Err(SqlError::new(
                            code::UNDEFINED_OBJECT,
                            format!("constraint \"{con}\" for table \"{relname}\" does not exist"),
                        ));
                    }
                    Object::Constraint(name, con.to_string())
                } else {
                    let def = def.filter(|_| matches!(kind, 'r' | 'v')).ok_or_else(|| {
                        SqlError::new(code::WRONG_OBJECT_TYPE, format!("cannot set comment on relation \"{relname}\""))
                    })?;
                    if !def.columns.iter().any(|c| c.name == *column) {
                        return Err(SqlError::new(
                            code::UNDEFINED_COLUMN,
                            format!("column \"{column}\" of relation \"{relname}\" does not exist"),
                        ));
                    }
                    Object::Column(name, column.clone())
                }
            }
            K::Schema => {
                let [schema] = parts.as_slice() else { return Err(SqlError::syntax(".")) };
                if !crate::schema::exists(schema) {
                    return Err(SqlError::new("3F000", format!("schema \"{schema}\" does not exist")));
                }
                Object::Schema(schema.clone())
            }
            K::Database => {
                // Another database is a WARNING when it runs, not an error (PostgreSQL's
                // CommentObject, for restoring dumps).
                let [db] = parts.as_slice() else { return Err(SqlError::syntax(".")) };
                Object::Database(db.clone())
            }
            K::Domain | K::Type => {
                // A domain (or, for TYPE, an enum type): Orbit keeps no comments on built-in types.
                let found = crate::domains::resolve(&parts).map(|d| d.name.clone()).or_else(|| {
                    matches!(object_type, K::Type)
                        .then(|| crate::enums::resolve(&parts).map(|e| e.name.clone()))
                        .flatten()
                });
                match found {
                    Some(name) => Object::Type(name),
                    None if matches!(object_type, K::Domain) && crate::enums::resolve(&parts).is_some() => {
                        return Err(SqlError::new("42809", format!("\"{}\" is not a domain", parts.join("."))))
                    }
                    None => {
                        return Err(SqlError::new(
                            code::UNDEFINED_OBJECT,
                            format!("type \"{}\" does not exist", parts.join(".")),
                        ))
                    }
                }
            }
            K::Extension => {
                let [x] = parts.as_slice() else { return Err(SqlError::syntax(".")) };
                if crate::extensions::installed(x).is_none() {
                    return Err(SqlError::new(code::UNDEFINED_OBJECT, format!("extension \"{x}\" does not exist")));
                }
                Object::Extension(x.clone())
            }
            other => return Err(SqlError::unsupported(format!("COMMENT ON {other} is not supported"))),
        };
        Ok(Plan::Comment(CommentPlan { object, text: text.clone() }))
    }
}
