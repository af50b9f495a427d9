//! Binds CREATE DOMAIN, ALTER DOMAIN and DROP DOMAIN ([`crate::domains::DomainPlan`];
//! <https://www.postgresql.org/docs/15/sql-createdomain.html>, sql-alterdomain.html,
//! sql-dropdomain.html), and resolves a type name to a domain for [`super::sql_type`].
//!
//! sqlparser's CREATE DOMAIN wants AS and takes no NOT NULL / NULL, its DROP DOMAIN one name,
//! and it has no ALTER DOMAIN: before parsing, such a statement is rewritten by tokens
//! ([`domain_syntax`]) into a marker SET holding the statement's text, which binding reads with
//! PostgreSQL's grammar here, sqlparser parsing only the type and the expressions in it.

use super::{fold, Binder, CastContext, Plan};
use crate::domains::{Domain, DomainPlan};
use crate::error::{code, Result, SqlError};
use orbit_engine::table::{CheckDef, SqlType};
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::sync::Arc;

/// The marker SET's variable (quoted: no parameter has that name).
pub(super) const MARKER: &str = "\"orbit domain\"";

fn word(t: Option<&Token>, w: &str) -> bool {
    matches!(t, Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
}

/// `sql` with every CREATE / ALTER / DROP DOMAIN statement replaced by the marker SET holding
/// its text; None when it has none (the common case is decided without tokenizing).
pub(super) fn domain_syntax(sql: &str) -> Option<String> {
    if !sql.as_bytes().windows(6).any(|w| w.eq_ignore_ascii_case(b"domain")) {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    let solid = |from: usize, n: usize| -> Vec<usize> {
        (from..tokens.len()).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).take(n).collect()
    };
    let mut out = String::with_capacity(sql.len() + 32);
    let mut found = false;
    let mut at_start = true;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if at_start && (word(Some(t), "CREATE") || word(Some(t), "ALTER") || word(Some(t), "DROP")) {
            let next = solid(i + 1, 1);
            if next.first().is_some_and(|&j| word(tokens.get(j), "DOMAIN")) {
                let mut depth = 0usize;
                let mut end = tokens.len();
                for (j, t) in tokens.iter().enumerate().skip(i) {
                    match t {
                        Token::LParen => depth += 1,
                        Token::RParen => depth = depth.saturating_sub(1),
                        Token::SemiColon if depth == 0 => {
                            end = j;
                            break;
                        }
                        _ => {}
                    }
                }
                let text: String = tokens[i..end].iter().map(|t| t.to_string()).collect();
                out.push_str(&format!("SET {MARKER} TO '{}'", text.trim_end().replace('\'', "''")));
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        match t {
            Token::Whitespace(_) => {}
            Token::SemiColon => at_start = true,
            _ => at_start = false,
        }
        out.push_str(&t.to_string());
        i += 1;
    }
    found.then_some(out)
}

/// A statement's tokens without whitespace (the comments too).
fn solid_tokens(text: &str) -> Result<Vec<Token>> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, text)
        .tokenize()
        .map_err(|e| SqlError::new(code::SYNTAX_ERROR, e.to_string()))?;
    Ok(tokens.into_iter().filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF)).collect())
}

fn text_of(tokens: &[Token]) -> String {
    tokens.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ")
}

fn syntax_at(tokens: &[Token], i: usize) -> SqlError {
    match tokens.get(i) {
        Some(t) => SqlError::syntax(&t.to_string()),
        None => SqlError::new(code::SYNTAX_ERROR, "syntax error at end of input"),
    }
}

fn parser_error(e: sqlparser::parser::ParserError) -> SqlError {
    let msg = e.to_string();
    // "sql parser error: Expected: ..., found: x at Line: 1, Column: 5"
    let near = msg.split("found: ").nth(1).map(|s| s.split(" at Line").next().unwrap_or(s).to_string());
    match near {
        Some(n) if n != "EOF" => SqlError::syntax(&n),
        _ => SqlError::new(code::SYNTAX_ERROR, "syntax error at end of input"),
    }
}

fn parse_with<T>(
    tokens: &[Token],
    f: impl FnOnce(&mut sqlparser::parser::Parser) -> std::result::Result<T, sqlparser::parser::ParserError>,
) -> Result<T> {
    if tokens.is_empty() {
        return Err(SqlError::new(code::SYNTAX_ERROR, "syntax error at end of input"));
    }
    let dialect = PostgreSqlDialect {};
    let mut p = sqlparser::parser::Parser::new(&dialect).with_tokens(tokens.to_vec());
    let v = f(&mut p).map_err(parser_error)?;
    match p.peek_token().token {
        Token::EOF => Ok(v),
        t => Err(SqlError::syntax(&t.to_string())),
    }
}

/// A (possibly schema-qualified) name at `tokens[*i..]`, folded; advances past it.
fn name_at(tokens: &[Token], i: &mut usize) -> Result<Vec<String>> {
    let mut parts = Vec::new();
    loop {
        match tokens.get(*i) {
            Some(Token::Word(w)) => parts.push(fold(&match w.quote_style {
                Some(q) => ast::Ident::with_quote(q, w.value.clone()),
                None => ast::Ident::new(w.value.clone()),
            })),
            _ => return Err(syntax_at(tokens, *i)),
        }
        *i += 1;
        if matches!(tokens.get(*i), Some(Token::Period)) {
            *i += 1;
            continue;
        }
        break;
    }
    if parts.len() > 2 {
        return Err(SqlError::new(
            code::FEATURE_NOT_SUPPORTED,
            format!("cross-database references are not implemented: {}", parts.join(".")),
        ));
    }
    Ok(parts)
}

fn undefined(shown: &str) -> SqlError {
    SqlError::new(code::UNDEFINED_OBJECT, format!("type \"{shown}\" does not exist"))
}

/// The domain a name names (42704 when none; 42809 when it names another type).
fn existing(parts: &[String]) -> Result<Arc<Domain>> {
    if let Some(d) = crate::domains::resolve(parts) {
        return Ok(d);
    }
    let shown = parts.join(".");
    let other = ast::DataType::Custom(
        ast::ObjectName::from(parts.iter().map(|p| ast::Ident::new(p.clone())).collect::<Vec<_>>()),
        vec![],
    );
    if let Ok(t) = super::sql_type(&other) {
        return Err(SqlError::new("42809", format!("{} is not a domain", t.name())));
    }
    Err(undefined(&shown))
}

/// Where a clause of CREATE DOMAIN starts (at depth 0): COLLATE, DEFAULT, CONSTRAINT, NOT
/// NULL, NULL, CHECK.
fn clause_start(tokens: &[Token], k: usize) -> bool {
    let t = tokens.get(k);
    word(t, "COLLATE")
        || word(t, "DEFAULT")
        || word(t, "CONSTRAINT")
        || word(t, "CHECK")
        || (word(t, "NOT") && word(tokens.get(k + 1), "NULL") && !word(tokens.get(k.wrapping_sub(1)), "IS"))
        // ALTER DOMAIN ... ADD CONSTRAINT ... NOT VALID
        || (word(t, "NOT") && word(tokens.get(k + 1), "VALID") && k + 2 == tokens.len())
        || (word(t, "NULL")
            && !word(tokens.get(k.wrapping_sub(1)), "NOT")
            && !word(tokens.get(k.wrapping_sub(1)), "IS"))
}

/// The end of the clause starting at `from` (`min` tokens at least).
fn clause_end(tokens: &[Token], from: usize, min: usize) -> usize {
    let mut depth = 0usize;
    let mut k = from;
    while k < tokens.len() {
        match &tokens[k] {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            _ if depth == 0 && k >= from + min && clause_start(tokens, k) => return k,
            _ => {}
        }
        k += 1;
    }
    tokens.len()
}

/// One domain constraint (`[CONSTRAINT n] NOT NULL | NULL | CHECK (e)`).
enum Constraint {
    NotNull(bool),
    Check(Option<String>, Box<ast::Expr>),
}

/// A constraint at `tokens[*i..]`; advances past it.
fn constraint_at(tokens: &[Token], i: &mut usize) -> Result<Constraint> {
    let mut name = None;
    if word(tokens.get(*i), "CONSTRAINT") {
        *i += 1;
        let n = name_at(tokens, i)?;
        if n.len() != 1 {
            return Err(syntax_at(tokens, *i - 1));
        }
        name = n.into_iter().next();
    }
    if word(tokens.get(*i), "NOT") && word(tokens.get(*i + 1), "NULL") {
        *i += 2;
        return Ok(Constraint::NotNull(true));
    }
    if word(tokens.get(*i), "NULL") {
        *i += 1;
        return Ok(Constraint::NotNull(false));
    }
    if word(tokens.get(*i), "CHECK") {
        *i += 1;
        if !matches!(tokens.get(*i), Some(Token::LParen)) {
            return Err(syntax_at(tokens, *i));
        }
        let end = clause_end(tokens, *i, 1);
        let e = parse_with(&tokens[*i..end], |p| p.parse_expr())?;
        *i = end;
        return Ok(Constraint::Check(name, Box::new(e)));
    }
    match tokens.get(*i) {
        Some(t) if word(Some(t), "UNIQUE") || word(Some(t), "PRIMARY") => Err(SqlError::new(
            code::SYNTAX_ERROR,
            if word(Some(t), "UNIQUE") {
                "unique constraints not possible for domains"
            } else {
                "primary key constraints not possible for domains"
            },
        )),
        _ => Err(syntax_at(tokens, *i)),
    }
}

/// The name PostgreSQL gives an unnamed CHECK of domain `rel` (`<domain>_check`, then
/// `<domain>_check1`, ...), unused among the constraints of `taken`.
fn check_name(rel: &str, taken: &[String]) -> String {
    let base = format!("{rel}_check");
    let mut n = base.clone();
    let mut k = 0;
    while taken.contains(&n) {
        k += 1;
        n = format!("{base}{k}");
    }
    n
}

/// The names of every domain CHECK constraint in the schema of catalog name `name`.
fn schema_constraint_names(name: &str) -> Vec<String> {
    let (schema, _) = crate::schema::split(name);
    crate::domains::all_seen_by(None)
        .iter()
        .filter(|d| crate::schema::split(&d.name).0 == schema)
        .flat_map(|d| d.checks.iter().map(|c| c.name.clone()))
        .collect()
}

/// A CHECK over VALUE bound now (PostgreSQL's errors at CREATE / ALTER), kept as text.
fn check_def(d: &Domain, name: String, e: &ast::Expr) -> Result<CheckDef> {
    // CHECK's own parentheses are not the expression's (pg_dump writes `CHECK ((VALUE > 0))`).
    let mut e = e;
    while let ast::Expr::Nested(inner) = e {
        e = inner.as_ref();
    }
    let c = CheckDef::new(name, super::alter_column::lower_cast_types(&e.to_string()));
    let bound = crate::domains::bind_check(d, &c)?;
    if bound.ty() != SqlType::Bool && bound.ty() != SqlType::Unknown {
        return Err(SqlError::new(
            code::DATATYPE_MISMATCH,
            format!("argument of CHECK must be type boolean, not type {}", bound.ty().name()),
        ));
    }
    Ok(c)
}

/// A DEFAULT bound now against the base type, kept as text.
fn default_def(base: SqlType, e: &ast::Expr) -> Result<String> {
    let mut b = Binder::detached("DEFAULT expressions");
    let bound = b.expr(e, None)?;
    b.coerce(bound, base, CastContext::Assignment, |from| {
        SqlError::new(
            code::DATATYPE_MISMATCH,
            format!("column \"value\" is of type {} but default expression is of type {}", base.name(), from.name()),
        )
        .hint("You will need to rewrite or cast the expression.")
    })?;
    Ok(super::alter_column::default_text(e, base))
}

/// Binds the statement a marker SET holds.
pub(super) fn bind(values: &[ast::Expr]) -> Result<Plan> {
    let text = match values {
        [ast::Expr::Value(v)] => match &v.value {
            ast::Value::SingleQuotedString(s) => s.clone(),
            _ => return Err(SqlError::internal("bad DOMAIN marker")),
        },
        _ => return Err(SqlError::internal("bad DOMAIN marker")),
    };
    let tokens = solid_tokens(&text)?;
    if word(tokens.first(), "ALTER") {
        if let Some(owner) = owner(&tokens) {
            return owner;
        }
    }
    let plan = if word(tokens.first(), "CREATE") {
        create(&tokens)
    } else if word(tokens.first(), "DROP") {
        drop(&tokens)
    } else {
        alter(&tokens)
    };
    // A position found in a part parsed alone is not one in the statement.
    plan.map(Plan::Domain).map_err(|mut e| {
        e.position = None;
        e
    })
}

/// `ALTER DOMAIN d OWNER TO r` (a pg_dump script's): every object is the bootstrap
/// superuser's, so OWNER TO it changes nothing (as in PostgreSQL; `ALTER TABLE ... OWNER TO`
/// does the same); an unknown role is 42704, another owner 0A000. None for another ALTER.
fn owner(tokens: &[Token]) -> Option<Result<Plan>> {
    let mut i = 2;
    let parts = name_at(tokens, &mut i).ok()?;
    if !(word(tokens.get(i), "OWNER") && word(tokens.get(i + 1), "TO")) {
        return None;
    }
    Some((|| {
        existing(&parts)?;
        let role = match tokens.get(i + 2) {
            Some(Token::Word(w)) if i + 3 == tokens.len() => w,
            _ => return Err(syntax_at(tokens, (i + 3).min(tokens.len()))),
        };
        let name = if role.quote_style.is_some() { role.value.clone() } else { role.value.to_lowercase() };
        match name.as_str() {
            "current_user" | "session_user" | "current_role" if role.quote_style.is_none() => {}
            n if n == crate::schema::USER => {}
            "pg_database_owner" => {
                return Err(SqlError::unsupported("changing a domain's owner is not supported (Orbit keeps no owners)"))
            }
            _ => return Err(SqlError::new(code::UNDEFINED_OBJECT, format!("role \"{name}\" does not exist"))),
        }
        Ok(Plan::Skipped { tag: "ALTER DOMAIN", notice: String::new() })
    })())
}

fn create(tokens: &[Token]) -> Result<DomainPlan> {
    let mut i = 2;
    let parts = name_at(tokens, &mut i)?;
    let object = ast::ObjectName::from(parts.iter().map(|p| ast::Ident::with_quote('"', p)).collect::<Vec<_>>());
    let name = super::new_object_name("", &object)?;
    if word(tokens.get(i), "AS") {
        i += 1;
    }
    let end = clause_end(tokens, i, 1);
    let dt = parse_with(&tokens[i..end], |p| p.parse_data_type())?;
    i = end;
    let base = super::sql_type(&dt)?;
    if base.is_transient_record() {
        return Err(SqlError::unsupported(format!(
            "domains over the row type of table {} are not supported",
            base.name()
        )));
    }
    let parent = domain_of(&dt)?.map_or(0, |d| d.oid);
    let (_, rel) = crate::schema::split(&name);
    // A built-in type's name is free outside pg_catalog, as in PostgreSQL.
    if crate::domains::lookup_name(&name).is_some() || crate::enums::lookup_name(&name).is_some() {
        return Err(SqlError::new(code::DUPLICATE_OBJECT, format!("type \"{rel}\" already exists")));
    }
    let mut d = Domain {
        oid: 0,
        name: name.clone(),
        base,
        parent,
        not_null: false,
        default: None,
        checks: Vec::new(),
        rel_oid: 0,
    };
    let mut nullness: Option<bool> = None;
    let mut taken = schema_constraint_names(&name);
    while i < tokens.len() {
        if word(tokens.get(i), "COLLATE") {
            return Err(SqlError::unsupported("CREATE DOMAIN ... COLLATE is not supported (Orbit has no collations)"));
        }
        if word(tokens.get(i), "DEFAULT") {
            let end = clause_end(tokens, i + 1, 1);
            if d.default.is_some() {
                return Err(SqlError::new(code::SYNTAX_ERROR, "multiple default expressions"));
            }
            let e = parse_with(&tokens[i + 1..end], |p| p.parse_expr())?;
            d.default = Some(default_def(base, &e)?);
            i = end;
            continue;
        }
        match constraint_at(tokens, &mut i)? {
            Constraint::NotNull(n) => {
                if nullness.is_some_and(|was| was != n) {
                    return Err(SqlError::new(code::SYNTAX_ERROR, "conflicting NULL/NOT NULL constraints"));
                }
                nullness = Some(n);
                d.not_null = n;
            }
            Constraint::Check(n, e) => {
                let n = match n {
                    Some(n) => {
                        if d.checks.iter().any(|c| c.name == n) {
                            return Err(SqlError::new(
                                code::DUPLICATE_OBJECT,
                                format!("constraint \"{n}\" for domain \"{rel}\" already exists"),
                            ));
                        }
                        n
                    }
                    None => check_name(rel, &taken),
                };
                taken.push(n.clone());
                let c = check_def(&d, n, &e)?;
                d.checks.push(c);
            }
        }
    }
    Ok(DomainPlan::Create(d))
}

fn drop(tokens: &[Token]) -> Result<DomainPlan> {
    let mut i = 2;
    let if_exists = word(tokens.get(i), "IF") && word(tokens.get(i + 1), "EXISTS");
    if if_exists {
        i += 2;
    }
    let mut names = Vec::new();
    let mut skipped = Vec::new();
    loop {
        let parts = name_at(tokens, &mut i)?;
        match crate::domains::resolve(&parts) {
            Some(d) => names.push(d.name.clone()),
            None if if_exists => skipped.push(parts.join(".")),
            None => {
                existing(&parts)?;
            }
        }
        if matches!(tokens.get(i), Some(Token::Comma)) {
            i += 1;
            continue;
        }
        break;
    }
    let cascade = word(tokens.get(i), "CASCADE");
    if cascade || word(tokens.get(i), "RESTRICT") {
        i += 1;
    }
    if i < tokens.len() {
        return Err(syntax_at(tokens, i));
    }
    Ok(DomainPlan::Drop { names, skipped, cascade })
}

fn alter(tokens: &[Token]) -> Result<DomainPlan> {
    let mut i = 2;
    let parts = name_at(tokens, &mut i)?;
    let d = existing(&parts)?;
    let rel = crate::schema::relname(&d.name).to_string();
    let at = |k: usize, w: &str| word(tokens.get(k), w);
    let mut new = (*d).clone();
    let (mut check, mut not_null, mut notice) = (None, false, None);
    let done = |k: usize| -> Result<()> {
        match k < tokens.len() {
            true => Err(syntax_at(tokens, k)),
            false => Ok(()),
        }
    };
    if at(i, "SET") && at(i + 1, "DEFAULT") {
        let e = parse_with(&tokens[i + 2..], |p| p.parse_expr())?;
        new.default = Some(default_def(d.base, &e)?);
    } else if at(i, "DROP") && at(i + 1, "DEFAULT") {
        done(i + 2)?;
        new.default = None;
    } else if at(i, "SET") && at(i + 1, "NOT") && at(i + 2, "NULL") {
        done(i + 3)?;
        not_null = !d.not_null;
        new.not_null = true;
    } else if at(i, "DROP") && at(i + 1, "NOT") && at(i + 2, "NULL") {
        done(i + 3)?;
        new.not_null = false;
    } else if at(i, "ADD") {
        i += 1;
        let c = constraint_at(tokens, &mut i)?;
        // NOT VALID: the values columns hold now are not checked (VALIDATE CONSTRAINT does
        // that); new ones are.
        // (PostgreSQL's grammar takes it after a CHECK only.)
        let not_valid = matches!(c, Constraint::Check(..)) && at(i, "NOT") && at(i + 1, "VALID");
        if not_valid {
            i += 2;
        }
        done(i)?;
        match c {
            Constraint::NotNull(true) => {
                not_null = !d.not_null;
                new.not_null = true;
            }
            Constraint::NotNull(false) => {}
            Constraint::Check(n, e) => {
                let n = match n {
                    Some(n) => {
                        if d.checks.iter().any(|c| c.name == n) {
                            return Err(SqlError::new(
                                code::DUPLICATE_OBJECT,
                                format!("constraint \"{n}\" for domain \"{rel}\" already exists"),
                            ));
                        }
                        n
                    }
                    None => check_name(&rel, &schema_constraint_names(&d.name)),
                };
                let mut c = check_def(&d, n, &e)?;
                c.not_valid = not_valid;
                new.checks.push(c.clone());
                check = (!not_valid).then_some(c);
            }
        }
    } else if at(i, "DROP") && at(i + 1, "CONSTRAINT") {
        i += 2;
        let if_exists = at(i, "IF") && at(i + 1, "EXISTS");
        if if_exists {
            i += 2;
        }
        let n = name_at(tokens, &mut i)?;
        if at(i, "CASCADE") || at(i, "RESTRICT") {
            i += 1;
        }
        done(i)?;
        let n = n.join(".");
        match d.checks.iter().position(|c| c.name == n) {
            Some(k) => {
                new.checks.remove(k);
            }
            None if if_exists => {
                notice = Some(format!("constraint \"{n}\" of domain \"{rel}\" does not exist, skipping"));
            }
            None => {
                return Err(SqlError::new(
                    code::UNDEFINED_OBJECT,
                    format!("constraint \"{n}\" of domain \"{rel}\" does not exist"),
                ))
            }
        }
    } else if at(i, "RENAME") && at(i + 1, "CONSTRAINT") {
        i += 2;
        let from = name_at(tokens, &mut i)?.join(".");
        if !at(i, "TO") {
            return Err(syntax_at(tokens, i));
        }
        i += 1;
        let to = name_at(tokens, &mut i)?.join(".");
        done(i)?;
        let Some(k) = d.checks.iter().position(|c| c.name == from) else {
            return Err(SqlError::new(
                code::UNDEFINED_OBJECT,
                format!("constraint \"{from}\" for domain \"{rel}\" does not exist"),
            ));
        };
        if d.checks.iter().any(|c| c.name == to) {
            return Err(SqlError::new(
                code::DUPLICATE_OBJECT,
                format!("constraint \"{to}\" for domain \"{rel}\" already exists"),
            ));
        }
        new.checks[k].name = to;
    } else if at(i, "RENAME") && at(i + 1, "TO") {
        i += 2;
        let to = name_at(tokens, &mut i)?;
        done(i)?;
        let [to] = to.as_slice() else { return Err(syntax_at(tokens, i - 1)) };
        let (schema, _) = crate::schema::split(&d.name);
        let new_name = crate::schema::qualify(schema, to);
        if crate::domains::lookup_name(&new_name).is_some() || crate::enums::lookup_name(&new_name).is_some() {
            return Err(SqlError::new(code::DUPLICATE_OBJECT, format!("type \"{to}\" already exists")));
        }
        return Ok(DomainPlan::Rename { name: d.name.clone(), new_name });
    } else if at(i, "VALIDATE") && at(i + 1, "CONSTRAINT") {
        i += 2;
        let n = name_at(tokens, &mut i)?.join(".");
        done(i)?;
        let Some(k) = d.checks.iter().position(|c| c.name == n) else {
            return Err(SqlError::new(
                code::UNDEFINED_OBJECT,
                format!("constraint \"{n}\" of domain \"{rel}\" does not exist"),
            ));
        };
        // A NOT VALID one: every value of the domain's columns checked, then it is valid.
        if new.checks[k].not_valid {
            new.checks[k].not_valid = false;
            check = Some(new.checks[k].clone());
        }
    } else if at(i, "SET") && at(i + 1, "SCHEMA") {
        return Err(SqlError::unsupported(format!("ALTER DOMAIN ... {} is not supported yet", text_of(&tokens[i..]))));
    } else {
        return Err(syntax_at(tokens, i));
    }
    Ok(DomainPlan::Alter { name: d.name.clone(), new: Box::new(new), check, not_null, notice })
}

/// The OID of the domain a type names (None for another type).
pub(crate) fn domain_oid(dt: &ast::DataType) -> Result<Option<u32>> {
    Ok(domain_of(dt)?.map(|d| d.oid))
}

/// The domain a type names (None for another type; 0A000 for an array of a domain).
pub(super) fn domain_of(dt: &ast::DataType) -> Result<Option<Arc<Domain>>> {
    match dt {
        ast::DataType::Custom(name, mods) if mods.is_empty() => Ok(resolve_name(name)),
        ast::DataType::Array(ast::ArrayElemTypeDef::SquareBracket(t, _) | ast::ArrayElemTypeDef::Qualified(t, _))
            if domain_of(t)?.is_some() =>
        {
            Err(SqlError::unsupported("arrays of domains are not supported yet"))
        }
        _ => Ok(None),
    }
}

fn resolve_name(name: &ast::ObjectName) -> Option<Arc<Domain>> {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
    if parts.len() != name.0.len() {
        return None;
    }
    crate::domains::resolve(&parts)
}

/// The domain of column `column` (1-based) of the table with OID `table_oid`, as a type name
/// CREATE TABLE reads back (None when it has none).
pub(super) fn of_origin(table_oid: u32, column: i16) -> Option<String> {
    if table_oid == 0 || column < 1 {
        return None;
    }
    let t = crate::catalog::user_tables().into_iter().find(|t| t.oid == table_oid)?;
    let oid = t.columns.get(column as usize - 1)?.domain;
    let d = crate::domains::by_oid(oid).filter(|_| oid != 0)?;
    let (schema, rel) = crate::schema::split(&d.name);
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    Some(format!("{}.{}", quote(schema), quote(rel)))
}

/// Domain `name`'s base type, as a column or cast type (None when it names no domain).
pub(super) fn resolve_type(name: &ast::ObjectName) -> Option<SqlType> {
    resolve_name(name).map(|d| d.base)
}

/// A stored domain CHECK's text as pg_get_constraintdef prints it: `VALUE` in capitals.
pub(crate) fn value_keyword_text(expr: &str) -> String {
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, expr).tokenize() else { return expr.to_string() };
    tokens
        .iter()
        .map(|t| match t {
            Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("value") => "VALUE".to_string(),
            t => t.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_become_markers() {
        let q = domain_syntax("create domain d as int not null; select 'domain'").unwrap();
        assert_eq!(q, format!("SET {MARKER} TO 'create domain d as int not null'; select 'domain'"));
        assert!(domain_syntax("select 1").is_none());
        assert!(domain_syntax("select 'domain'").is_none());
    }

    #[test]
    fn value_prints_in_capitals() {
        assert_eq!(value_keyword_text("value > 0 AND \"value\" < 9"), "VALUE > 0 AND \"value\" < 9");
    }
}
