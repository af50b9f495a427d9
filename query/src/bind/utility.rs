//! COPY, VACUUM and ANALYZE, ALTER TABLE ... ADD PRIMARY KEY, and CREATE TABLE's storage
//! parameters. sqlparser's grammar for COPY, VACUUM and ANALYZE is other databases' and
//! rejects what PostgreSQL takes (`WITH (FREEZE ON)`, `HEADER MATCH`, `VACUUM ANALYZE t1, t2`,
//! `VACUUM (VERBOSE) t`), so a query string holding one of them alone is parsed here from
//! sqlparser's tokens: [`marker`] stands in for it in [`super::parse`]'s result, and the
//! binder parses the text again when it binds that marker.

use super::{fold, span_position, Binder, Plan};
use crate::copy::{CopyOptions, CopyPlan, CopySource, Header};
use crate::error::{code, Result, SqlError};
use orbit_engine::table::{TableDef, ViewCheck};
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Utility {
    Copy,
    Vacuum,
    Analyze,
}

/// The statement's tokens (no whitespace or comments, no `;`), if `sql` holds exactly one
/// COPY, VACUUM or ANALYZE statement and nothing else.
fn lone(sql: &str) -> Option<(Utility, Vec<TokenWithSpan>)> {
    // Most query strings start with another word: decide that without tokenizing (a string
    // that starts with a comment is tokenized).
    let head = sql.trim_start();
    if !head.starts_with("--") && !head.starts_with("/*") {
        let word: String = head.chars().take(7).collect::<String>().to_ascii_lowercase();
        if !(word.starts_with("copy") || word.starts_with("vacuum") || word.starts_with("analy")) {
            return None;
        }
    }
    let toks = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().ok()?;
    let mut toks: Vec<TokenWithSpan> = toks.into_iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).collect();
    let kind = match toks.first().map(|t| &t.token) {
        Some(Token::Word(w)) if w.quote_style.is_none() => match w.value.to_ascii_uppercase().as_str() {
            "COPY" => Utility::Copy,
            "VACUUM" => Utility::Vacuum,
            "ANALYZE" | "ANALYSE" => Utility::Analyze,
            _ => return None,
        },
        _ => return None,
    };
    if toks.iter().any(|t| matches!(&t.token, Token::CopyData { data, .. } if !data.trim().is_empty())) {
        return None;
    }
    if let Some(i) = toks.iter().position(|t| t.token == Token::SemiColon) {
        if !toks[i..].iter().all(|t| matches!(t.token, Token::SemiColon | Token::EOF | Token::CopyData { .. })) {
            return None;
        }
        toks.truncate(i);
    }
    toks.retain(|t| !matches!(t.token, Token::EOF | Token::CopyData { .. }));
    Some((kind, toks))
}

/// A stand-in statement for a query string that is one COPY, VACUUM or ANALYZE statement.
pub(super) fn marker(sql: &str) -> Option<ast::Statement> {
    let (kind, _) = lone(sql)?;
    Some(match kind {
        Utility::Copy => ast::Statement::Copy {
            source: ast::CopySource::Table { table_name: ast::ObjectName(vec![]), columns: vec![] },
            to: false,
            target: ast::CopyTarget::Stdin,
            options: vec![],
            legacy_options: vec![],
            payload: None,
        },
        Utility::Vacuum => ast::Statement::Vacuum(ast::VacuumStatement {
            full: false,
            sort_only: false,
            delete_only: false,
            reindex: false,
            recluster: false,
            table_name: None,
            threshold: None,
            boost: false,
        }),
        Utility::Analyze => ast::Statement::Analyze(ast::Analyze {
            table_name: None,
            partitions: None,
            for_columns: false,
            columns: vec![],
            cache_metadata: false,
            noscan: false,
            compute_statistics: false,
            has_table_keyword: false,
        }),
    })
}

/// A walk over a statement's tokens.
struct Cursor<'a> {
    sql: &'a str,
    toks: Vec<TokenWithSpan>,
    i: usize,
}

/// An option's value as written.
#[derive(Debug, Clone)]
enum OptValue {
    None,
    Text(String),
    /// A quoted string ('...').
    Str(String),
    Star,
    List(Vec<ast::Ident>),
}

impl OptValue {
    fn text(&self) -> Option<&str> {
        match self {
            OptValue::Text(s) | OptValue::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'a> Cursor<'a> {
    fn new(sql: &'a str, toks: Vec<TokenWithSpan>) -> Cursor<'a> {
        Cursor { sql, toks, i: 0 }
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.i).map(|t| &t.token)
    }

    fn done(&self) -> bool {
        self.i >= self.toks.len()
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let yes = self.is_word(w);
        self.i += yes as usize;
        yes
    }

    fn eat(&mut self, t: &Token) -> bool {
        let yes = self.peek() == Some(t);
        self.i += yes as usize;
        yes
    }

    /// PostgreSQL's syntax error at the current token (or at the end of the input).
    fn error(&self) -> SqlError {
        match self.toks.get(self.i) {
            Some(t) => SqlError::syntax(&t.token.to_string()).at(span_position(self.sql, &t.span)),
            None => {
                let end = self.sql.trim_end_matches(|c: char| c.is_whitespace() || c == ';').chars().count() + 1;
                SqlError::new(code::SYNTAX_ERROR, "syntax error at end of input").at(Some(end))
            }
        }
    }

    fn expect(&mut self, t: &Token) -> Result<()> {
        if self.eat(t) {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn ident(&mut self) -> Result<ast::Ident> {
        match self.toks.get(self.i) {
            Some(TokenWithSpan { token: Token::Word(w), span }) => {
                let id = ast::Ident { value: w.value.clone(), quote_style: w.quote_style, span: *span };
                self.i += 1;
                Ok(id)
            }
            _ => Err(self.error()),
        }
    }

    fn object_name(&mut self) -> Result<ast::ObjectName> {
        let mut parts = vec![self.ident()?];
        while self.eat(&Token::Period) {
            parts.push(self.ident()?);
        }
        Ok(ast::ObjectName::from(parts))
    }

    /// `( ident [, ...] )`, the `(` already taken.
    fn ident_list(&mut self) -> Result<Vec<ast::Ident>> {
        let mut out = vec![self.ident()?];
        while self.eat(&Token::Comma) {
            out.push(self.ident()?);
        }
        self.expect(&Token::RParen)?;
        Ok(out)
    }

    fn string(&mut self) -> Result<String> {
        match self.peek() {
            Some(Token::SingleQuotedString(s)) | Some(Token::EscapedStringLiteral(s)) => {
                let s = s.clone();
                self.i += 1;
                Ok(s)
            }
            _ => Err(self.error()),
        }
    }

    /// `( name [value] [, ...] )`, the `(` already taken: a generic option list (COPY's,
    /// VACUUM's). Names are folded to lower case.
    fn options(&mut self) -> Result<Vec<(String, OptValue, Option<usize>)>> {
        let mut out = Vec::new();
        loop {
            let pos = self.toks.get(self.i).and_then(|t| span_position(self.sql, &t.span));
            let name = fold(&self.ident()?);
            let value = match self.peek() {
                Some(Token::Comma) | Some(Token::RParen) => OptValue::None,
                Some(Token::SingleQuotedString(_)) | Some(Token::EscapedStringLiteral(_)) => {
                    OptValue::Str(self.string()?)
                }
                Some(Token::Number(n, _)) => {
                    let n = n.clone();
                    self.i += 1;
                    OptValue::Text(n)
                }
                Some(Token::Minus) => {
                    self.i += 1;
                    match self.peek() {
                        Some(Token::Number(n, _)) => {
                            let n = format!("-{n}");
                            self.i += 1;
                            OptValue::Text(n)
                        }
                        _ => return Err(self.error()),
                    }
                }
                Some(Token::Mul) => {
                    self.i += 1;
                    OptValue::Star
                }
                Some(Token::LParen) => {
                    self.i += 1;
                    OptValue::List(self.ident_list()?)
                }
                Some(Token::Word(w)) => {
                    let v = w.value.clone();
                    self.i += 1;
                    OptValue::Text(v)
                }
                _ => return Err(self.error()),
            };
            out.push((name, value, pos));
            if self.eat(&Token::RParen) {
                return Ok(out);
            }
            self.expect(&Token::Comma)?;
        }
    }

    /// The byte offset in the query text where token `i` starts.
    fn offset_of(&self, i: usize) -> Option<usize> {
        let pos = span_position(self.sql, &self.toks.get(i)?.span)?;
        self.sql.char_indices().nth(pos - 1).map(|(b, _)| b)
    }
}

/// PostgreSQL's Boolean option values.
fn boolean(v: &OptValue) -> Option<bool> {
    match v {
        OptValue::None => Some(true),
        OptValue::Text(s) | OptValue::Str(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "on" | "yes" | "1" => Some(true),
            "false" | "off" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn redundant() -> SqlError {
    SqlError::new(code::SYNTAX_ERROR, "conflicting or redundant options")
}

fn one_byte(s: &str) -> Option<u8> {
    match s.as_bytes() {
        [b] if b.is_ascii() => Some(*b),
        _ => None,
    }
}

/// COPY's options as given, before defaults and checks.
#[derive(Default)]
struct GivenOptions {
    format: Option<String>,
    freeze: Option<bool>,
    delimiter: Option<String>,
    null: Option<String>,
    header: Option<Header>,
    quote: Option<String>,
    escape: Option<String>,
    force_quote: Option<OptValue>,
    force_not_null: Option<Vec<ast::Ident>>,
    force_null: Option<Vec<ast::Ident>>,
    encoding: Option<String>,
}

fn set<T>(slot: &mut Option<T>, v: T) -> Result<()> {
    if slot.is_some() {
        return Err(redundant());
    }
    *slot = Some(v);
    Ok(())
}

fn string_value(name: &str, v: &OptValue) -> Result<String> {
    v.text()
        .map(str::to_string)
        .ok_or_else(|| SqlError::new(code::SYNTAX_ERROR, format!("{name} requires a parameter")))
}

impl GivenOptions {
    fn add(&mut self, name: &str, v: OptValue, pos: Option<usize>) -> Result<()> {
        match name {
            "format" => {
                let f = string_value(name, &v)?.to_ascii_lowercase();
                if !matches!(f.as_str(), "text" | "csv" | "binary") {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!("COPY format \"{}\" not recognized", v.text().unwrap_or_default()),
                    )
                    .at(pos));
                }
                set(&mut self.format, f)
            }
            "freeze" => {
                let b =
                    boolean(&v).ok_or_else(|| SqlError::new(code::SYNTAX_ERROR, "freeze requires a Boolean value"))?;
                set(&mut self.freeze, b)
            }
            "delimiter" => set(&mut self.delimiter, string_value(name, &v)?),
            "null" => set(&mut self.null, string_value(name, &v)?),
            "header" => {
                let h = match (&v, boolean(&v)) {
                    (_, Some(true)) => Header::Yes,
                    (_, Some(false)) => Header::No,
                    (OptValue::Text(s), None) if s.eq_ignore_ascii_case("match") => Header::Match,
                    _ => return Err(SqlError::new(code::SYNTAX_ERROR, "header requires a Boolean value or \"match\"")),
                };
                set(&mut self.header, h)
            }
            "quote" => set(&mut self.quote, string_value(name, &v)?),
            "escape" => set(&mut self.escape, string_value(name, &v)?),
            "force_quote" => match v {
                OptValue::Star | OptValue::List(_) => set(&mut self.force_quote, v),
                _ => Err(list_required(name)),
            },
            "force_not_null" => match v {
                OptValue::List(l) => set(&mut self.force_not_null, l),
                _ => Err(list_required(name)),
            },
            "force_null" => match v {
                OptValue::List(l) => set(&mut self.force_null, l),
                _ => Err(list_required(name)),
            },
            "encoding" => set(&mut self.encoding, string_value(name, &v)?),
            other => Err(SqlError::new(code::SYNTAX_ERROR, format!("option \"{other}\" not recognized")).at(pos)),
        }
    }
}

fn list_required(name: &str) -> SqlError {
    SqlError::new(code::SYNTAX_ERROR, format!("argument to option \"{name}\" must be a list of column names"))
}

/// PostgreSQL 15's heap storage parameters (`WITH (...)` on CREATE TABLE), by kind.
#[derive(Clone, Copy)]
enum Param {
    Bool,
    Int(i64, i64),
    Real(f64, f64),
    IndexCleanup,
}

fn storage_param(namespace: Option<&str>, name: &str) -> Option<Param> {
    const INT_MAX: i64 = i32::MAX as i64;
    let autovacuum = match name {
        "autovacuum_enabled" | "vacuum_truncate" => Some(Param::Bool),
        "autovacuum_vacuum_threshold" => Some(Param::Int(0, INT_MAX)),
        "autovacuum_vacuum_insert_threshold" => Some(Param::Int(-1, INT_MAX)),
        "autovacuum_vacuum_cost_limit" => Some(Param::Int(1, 10_000)),
        "autovacuum_freeze_min_age" => Some(Param::Int(0, 1_000_000_000)),
        "autovacuum_freeze_max_age" => Some(Param::Int(100_000, 2_000_000_000)),
        "autovacuum_freeze_table_age" => Some(Param::Int(0, 2_000_000_000)),
        "autovacuum_multixact_freeze_min_age" => Some(Param::Int(0, 1_000_000_000)),
        "autovacuum_multixact_freeze_max_age" => Some(Param::Int(10_000, 2_000_000_000)),
        "autovacuum_multixact_freeze_table_age" => Some(Param::Int(0, 2_000_000_000)),
        "log_autovacuum_min_duration" => Some(Param::Int(-1, INT_MAX)),
        "autovacuum_vacuum_scale_factor" | "autovacuum_vacuum_insert_scale_factor" => Some(Param::Real(0.0, 100.0)),
        "autovacuum_vacuum_cost_delay" => Some(Param::Real(0.0, 100.0)),
        "vacuum_index_cleanup" => Some(Param::IndexCleanup),
        _ => None,
    };
    match namespace {
        Some("toast") => autovacuum,
        Some(_) => None,
        None => autovacuum.or(match name {
            "fillfactor" => Some(Param::Int(10, 100)),
            "toast_tuple_target" => Some(Param::Int(128, 8160)),
            "parallel_workers" => Some(Param::Int(0, 1024)),
            "user_catalog_table" => Some(Param::Bool),
            "autovacuum_analyze_threshold" => Some(Param::Int(0, INT_MAX)),
            "autovacuum_analyze_scale_factor" => Some(Param::Real(0.0, 100.0)),
            _ => None,
        }),
    }
}

fn expr_text(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => Some(n.to_string()),
            ast::Value::SingleQuotedString(s) => Some(s.clone()),
            ast::Value::Boolean(b) => Some(b.to_string()),
            _ => None,
        },
        ast::Expr::Identifier(id) => Some(id.value.clone()),
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => expr_text(expr).map(|t| format!("-{t}")),
        _ => None,
    }
}

impl Binder<'_> {
    /// CREATE TABLE ... WITH (storage parameters): checked as PostgreSQL checks them, and
    /// returned as pg_class.reloptions lists them (`name=value`). They do not change how Orbit
    /// stores rows (no heap pages to fill, no autovacuum); the catalog keeps them.
    pub(super) fn storage_parameters(&self, options: &ast::CreateTableOptions) -> Result<Vec<String>> {
        let list = match options {
            ast::CreateTableOptions::None => return Ok(Vec::new()),
            ast::CreateTableOptions::With(l) => l,
            _ => return Err(SqlError::unsupported("this form of table options is not supported")),
        };
        self.storage_list(list)
    }

    /// [`Binder::storage_parameters`] of a list (also ALTER TABLE ... SET (...)'s).
    fn storage_list(&self, list: &[ast::SqlOption]) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(list.len());
        let mut seen: Vec<String> = Vec::new();
        for opt in list {
            let (key, value) = match opt {
                ast::SqlOption::KeyValue { key, value } => (key, expr_text(value)),
                ast::SqlOption::Ident(key) => (key, None),
                other => return Err(SqlError::syntax(&other.to_string())),
            };
            let parts: Vec<String> = key.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
            let (namespace, name) = match parts.as_slice() {
                [n] => (None, n.clone()),
                [ns, n] => (Some(ns.clone()), n.clone()),
                _ => return Err(SqlError::syntax(&key.to_string())),
            };
            if let Some(ns) = &namespace {
                if ns != "toast" {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!("unrecognized parameter namespace \"{ns}\""),
                    ));
                }
            }
            let Some(kind) = storage_param(namespace.as_deref(), &name) else {
                return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, format!("unrecognized parameter \"{name}\"")));
            };
            let full = parts.join(".");
            if seen.contains(&full) {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("parameter \"{name}\" specified more than once"),
                ));
            }
            seen.push(full.clone());
            // A parameter without a value means "true", as in PostgreSQL.
            let text = value.unwrap_or_else(|| "true".into());
            out.push(format!("{full}={text}"));
            let invalid = |what: &str| {
                SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("invalid value for {what} option \"{name}\": {text}"),
                )
            };
            match kind {
                Param::Bool => {
                    boolean(&OptValue::Text(text.clone())).ok_or_else(|| invalid("boolean"))?;
                }
                Param::Int(lo, hi) => {
                    let v: i64 = text.trim().parse().map_err(|_| invalid("integer"))?;
                    if v < lo || v > hi {
                        return Err(SqlError::new(
                            code::INVALID_PARAMETER_VALUE,
                            format!("value {text} out of bounds for option \"{name}\""),
                        )
                        .detail(format!("Valid values are between \"{lo}\" and \"{hi}\".")));
                    }
                }
                Param::Real(lo, hi) => {
                    let v: f64 = text.trim().parse().map_err(|_| invalid("floating point"))?;
                    if !(lo..=hi).contains(&v) {
                        return Err(SqlError::new(
                            code::INVALID_PARAMETER_VALUE,
                            format!("value {text} out of bounds for option \"{name}\""),
                        )
                        .detail(format!("Valid values are between \"{lo:.6}\" and \"{hi:.6}\".")));
                    }
                }
                Param::IndexCleanup => {
                    let ok = boolean(&OptValue::Text(text.clone())).is_some() || text.eq_ignore_ascii_case("auto");
                    if !ok {
                        return Err(invalid("enum").detail("Valid values are \"on\", \"off\", and \"auto\"."));
                    }
                }
            }
        }
        Ok(out)
    }

    /// `ALTER TABLE t SET (parameter = value, ...)` / `RESET (parameter, ...)`: the table's
    /// storage parameters changed in its definition (no row is read or written).
    pub(super) fn alter_storage(&mut self, name: &ast::ObjectName, op: &ast::AlterTableOperation) -> Result<Plan> {
        let (_, table) = self.resolve_table_to(name, "alter")?;
        if crate::catalog::is_view(&table) || table.matview.is_some() {
            return Err(SqlError::unsupported("ALTER ... SET (...) of a view is not supported yet"));
        }
        let mut def = (*table).clone();
        match op {
            ast::AlterTableOperation::SetOptionsParens { options } => {
                // As transformRelOptions merges them: the ones set again leave their place, the
                // new values follow the others in the order given.
                let new = self.storage_list(options)?;
                let key = |o: &str| o.split_once('=').map_or(o, |(k, _)| k).to_string();
                let keys: Vec<String> = new.iter().map(|o| key(o)).collect();
                def.reloptions.retain(|o| !keys.contains(&key(o)));
                def.reloptions.extend(new);
            }
            ast::AlterTableOperation::ResetOptions { options } => {
                for n in options {
                    let key: Vec<String> = n.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
                    let key = key.join(".");
                    def.reloptions.retain(|x| x.split_once('=').is_none_or(|(k, _)| k != key));
                }
            }
            _ => return Err(SqlError::internal("not a storage parameter change")),
        }
        Ok(Plan::RewriteTable { table, def, change: super::ColumnChange::Rename })
    }
}

/// CREATE VIEW ... WITH (options): each name (folded) with its value as written, unchecked:
/// PostgreSQL checks that a view with a check option is automatically updatable before it
/// checks the options ([`view_check_option`]).
pub(super) fn view_options(options: &ast::CreateTableOptions) -> Result<Vec<(String, Option<String>)>> {
    let list = match options {
        ast::CreateTableOptions::None => return Ok(vec![]),
        ast::CreateTableOptions::With(l) => l,
        _ => return Err(SqlError::unsupported("this form of view options is not supported")),
    };
    let mut out = Vec::with_capacity(list.len());
    for opt in list {
        let (key, value) = match opt {
            ast::SqlOption::KeyValue { key, value } => (key, expr_text(value)),
            ast::SqlOption::Ident(key) => (key, None),
            other => return Err(SqlError::syntax(&other.to_string())),
        };
        let parts: Vec<String> = key.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
        match parts.as_slice() {
            [n] => out.push((n.clone(), value)),
            [ns, _] => {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("unrecognized parameter namespace \"{ns}\""),
                ))
            }
            _ => return Err(SqlError::syntax(&key.to_string())),
        }
    }
    Ok(out)
}

/// The check option among a view's options ([`view_options`]), which are checked as
/// PostgreSQL checks a view's reloptions: `check_option` (`local` or `cascaded`, kept in
/// [`TableDef::view_check`]), and `security_barrier` and `security_invoker` (booleans,
/// checked and not kept, as a table's storage parameters are: Orbit has one user and plans no
/// leaky function apart).
///
/// [`TableDef::view_check`]: orbit_engine::table::TableDef::view_check
pub(super) fn view_check_option(options: &[(String, Option<String>)]) -> Result<Option<ViewCheck>> {
    let mut seen: Vec<&str> = Vec::new();
    let mut check = None;
    for (name, value) in options {
        if !matches!(name.as_str(), "check_option" | "security_barrier" | "security_invoker") {
            return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, format!("unrecognized parameter \"{name}\"")));
        }
        if seen.contains(&name.as_str()) {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                format!("parameter \"{name}\" specified more than once"),
            ));
        }
        seen.push(name);
        // A parameter without a value means "true", as in PostgreSQL.
        let text = value.clone().unwrap_or_else(|| "true".into());
        if name == "check_option" {
            check = Some(match text.to_ascii_lowercase().as_str() {
                "local" => ViewCheck::Local,
                "cascaded" => ViewCheck::Cascaded,
                _ => {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!("invalid value for enum option \"check_option\": {text}"),
                    )
                    .detail("Valid values are \"local\" and \"cascaded\"."))
                }
            });
        } else if boolean(&OptValue::Text(text.clone())).is_none() {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                format!("invalid value for boolean option \"{name}\": {text}"),
            ));
        }
    }
    Ok(check)
}

impl Binder<'_> {
    /// ALTER TABLE of a materialized view: the actions PostgreSQL refuses for one (columns,
    /// constraints, defaults, types) are its 42809; RENAME, OWNER TO and the rest go on.
    fn refuse_matview_action(&self, at: &ast::AlterTable) -> Result<()> {
        use ast::AlterTableOperation as Op;
        let Ok(tname) = self.relation_name(&at.name) else { return Ok(()) };
        if super::lookup_table(&tname).is_none_or(|d| d.matview.is_none()) {
            return Ok(());
        }
        for op in &at.operations {
            let action = match op {
                Op::RenameTable { .. } | Op::RenameColumn { .. } => continue,
                Op::AddColumn { .. } => "ADD COLUMN",
                Op::DropColumn { .. } => "DROP COLUMN",
                Op::AddConstraint { .. } => "ADD CONSTRAINT",
                Op::DropConstraint { .. } => "DROP CONSTRAINT",
                Op::RenameConstraint { .. } => "RENAME CONSTRAINT",
                Op::AlterColumn { op, .. } => match op {
                    ast::AlterColumnOperation::SetNotNull => "ALTER COLUMN ... SET NOT NULL",
                    ast::AlterColumnOperation::DropNotNull => "ALTER COLUMN ... DROP NOT NULL",
                    ast::AlterColumnOperation::SetDefault { .. } | ast::AlterColumnOperation::DropDefault => {
                        "ALTER COLUMN ... SET DEFAULT"
                    }
                    ast::AlterColumnOperation::SetDataType { .. } => "ALTER COLUMN ... SET DATA TYPE",
                    _ => "ALTER COLUMN",
                },
                _ => continue,
            };
            return Err(SqlError::new(
                code::WRONG_OBJECT_TYPE,
                format!("ALTER action {action} cannot be performed on relation \"{}\"", crate::schema::relname(&tname)),
            )
            .detail("This operation is not supported for materialized views."));
        }
        Ok(())
    }

    /// `ALTER TABLE t ADD [CONSTRAINT name] PRIMARY KEY (columns)`; other forms are not
    /// supported yet.
    pub(super) fn alter_table(&mut self, at: &ast::AlterTable) -> Result<Plan> {
        self.refuse_matview_action(at)?;
        match at.operations.as_slice() {
            [ast::AlterTableOperation::AttachPartitionOf { partition, for_values }] => {
                return self.attach_partition(at, partition, for_values);
            }
            [ast::AlterTableOperation::DetachPartitionOf { partition, mode }] => {
                if mode.is_some() {
                    return Err(crate::partitions::unsupported("DETACH PARTITION CONCURRENTLY or FINALIZE"));
                }
                return self.detach_partition(at, partition);
            }
            _ => {}
        }
        if let Some(plan) = self.alter_constraint(at)? {
            return Ok(plan);
        }
        if let [ast::AlterTableOperation::RenameTable { table_name: ast::RenameTableNameKind::To(new_name) }] =
            at.operations.as_slice()
        {
            return self.rename_table(at, new_name);
        }
        if let [ast::AlterTableOperation::RenameConstraint { old_name, new_name }] = at.operations.as_slice() {
            return self.rename_constraint(at, old_name, new_name);
        }
        if let [op @ (ast::AlterTableOperation::AddColumn { .. }
        | ast::AlterTableOperation::DropColumn { .. }
        | ast::AlterTableOperation::RenameColumn { .. }
        | ast::AlterTableOperation::AlterColumn { .. })] = at.operations.as_slice()
        {
            if at.if_exists {
                let tname = self.relation_name(&at.name)?;
                if super::lookup_table(&tname).is_none() {
                    return Ok(Plan::Skipped {
                        tag: "ALTER TABLE",
                        notice: format!("relation \"{tname}\" does not exist, skipping"),
                    });
                }
            }
            // A partitioned table's columns are its root's: changed there, then every
            // partition's definition follows (`Plan::RefreshPartitions`).
            let (tname, table) = self.resolve_table_to(&at.name, "alter columns of")?;
            if crate::catalog::is_view(&table) {
                return Err(crate::catalog::read_only(&table));
            }
            if table.partition_key.is_some() {
                super::partitions::key_columns_untouched(&table, op)?;
            }
            let partitioned = table.partition_key.is_some();
            let plan = match op {
                ast::AlterTableOperation::AlterColumn { column_name, op } => {
                    self.alter_column(&tname, table, column_name, op)
                }
                op => self.alter_columns(&tname, table, op),
            }?;
            return Ok(if partitioned { Plan::RefreshPartitions { inner: Box::new(plan), root: tname } } else { plan });
        }
        let [ast::AlterTableOperation::AddConstraint {
            constraint: ast::TableConstraint::PrimaryKey(p),
            not_valid: false,
        }] = at.operations.as_slice()
        else {
            if at.operations.len() > 1 {
                // RENAME stands alone in PostgreSQL's grammar.
                if at.operations.iter().any(|op| {
                    matches!(
                        op,
                        ast::AlterTableOperation::RenameColumn { .. }
                            | ast::AlterTableOperation::RenameTable { .. }
                            | ast::AlterTableOperation::RenameConstraint { .. }
                    )
                }) {
                    return Err(SqlError::syntax("RENAME"));
                }
                // Action by action, each bound after the ones before it ran (a constraint on a
                // column the statement adds), in one transaction: all or none.
                let mut steps =
                    at.operations.iter().map(|op| ast::AlterTable { operations: vec![op.clone()], ..at.clone() });
                let first = steps.next().expect("several actions");
                let first = self.alter_table(&first)?;
                let rest = steps.map(|one| ast::Statement::AlterTable(one).to_string()).collect();
                return Ok(Plan::Steps {
                    first: Box::new(first),
                    rest,
                    select_tag: false,
                    session: super::binding_session(),
                });
            }
            if let [ast::AlterTableOperation::OwnerTo { new_owner }] = at.operations.as_slice() {
                return self.table_owner(&at.name, new_owner);
            }
            if let [op @ (ast::AlterTableOperation::SetOptionsParens { .. }
            | ast::AlterTableOperation::ResetOptions { .. })] = at.operations.as_slice()
            {
                return self.alter_storage(&at.name, op);
            }
            match at.operations.as_slice() {
                [ast::AlterTableOperation::DisableTrigger { name }] => {
                    return self.trigger_enabled(&at.name, name, 'D')
                }
                [ast::AlterTableOperation::EnableTrigger { name }] => return self.trigger_enabled(&at.name, name, 'O'),
                [ast::AlterTableOperation::EnableAlwaysTrigger { name }] => {
                    return self.trigger_enabled(&at.name, name, 'A')
                }
                [ast::AlterTableOperation::EnableReplicaTrigger { name }] => {
                    return self.trigger_enabled(&at.name, name, 'R')
                }
                _ => {}
            }
            // The action's leading keywords (`SET (parallel_workers = 4)` is `SET (...)`).
            let what = at.operations.first().map(|o| o.to_string()).unwrap_or_default();
            let mut words: Vec<String> = Vec::new();
            for w in what.split_whitespace().take(2) {
                if w.starts_with('(') {
                    words.push("(...)".into());
                    break;
                }
                words.push(w.to_uppercase());
            }
            return Err(SqlError::unsupported(format!("ALTER TABLE ... {} is not supported yet", words.join(" "))));
        };
        if !p.include.is_empty() || p.index_name.is_some() || p.index_type.is_some() || !p.index_options.is_empty() {
            return Err(SqlError::unsupported("index options on a primary key are not supported yet"));
        }
        if at.if_exists {
            let tname = self.relation_name(&at.name)?;
            if super::lookup_table(&tname).is_none() {
                return Ok(Plan::Skipped {
                    tag: "ALTER TABLE",
                    notice: format!("relation \"{tname}\" does not exist, skipping"),
                });
            }
        }
        let (tname, def) = self.resolve_table_to(&at.name, "alter")?;
        let mut cols = Vec::new();
        for ic in &p.columns {
            let ast::Expr::Identifier(id) = &ic.column.expr else {
                return Err(SqlError::syntax(&ic.column.expr.to_string()));
            };
            let cn = fold(id);
            let i = def.column(&cn).ok_or_else(|| {
                SqlError::new(code::UNDEFINED_COLUMN, format!("column \"{cn}\" of relation \"{tname}\" does not exist"))
            })?;
            if cols.contains(&i) {
                return Err(SqlError::new(
                    code::DUPLICATE_COLUMN,
                    format!("column \"{cn}\" appears twice in primary key constraint"),
                )
                .at(self.pos(&id.span)));
            }
            cols.push(i);
        }
        if !def.has_row_id() {
            return Err(SqlError::new(
                code::INVALID_TABLE_DEFINITION,
                format!("multiple primary keys for table \"{tname}\" are not allowed"),
            ));
        }
        let name = p
            .name
            .as_ref()
            .map(fold)
            .unwrap_or_else(|| super::constraints::make_object_name(crate::schema::relname(&tname), None, "pkey"));
        Ok(Plan::AddPrimaryKey { table: def, columns: cols, name })
    }

    /// ADD COLUMN, DROP COLUMN and RENAME COLUMN, with PostgreSQL's checks and messages.
    fn alter_columns(&mut self, tname: &str, table: Arc<TableDef>, op: &ast::AlterTableOperation) -> Result<Plan> {
        use crate::bind::ColumnChange;
        let mut def = (*table).clone();
        let missing = |cn: &str| {
            SqlError::new(code::UNDEFINED_COLUMN, format!("column \"{cn}\" of relation \"{tname}\" does not exist"))
        };
        let skipped = |notice: String| Ok(Plan::Skipped { tag: "ALTER TABLE", notice });
        match op {
            ast::AlterTableOperation::AddColumn { if_not_exists, column_def: c, .. } => {
                let cname = fold(&c.name);
                if def.column(&cname).is_some() {
                    if *if_not_exists {
                        return skipped(format!("column \"{cname}\" of relation \"{tname}\" already exists, skipping"));
                    }
                    return Err(SqlError::new(
                        code::DUPLICATE_COLUMN,
                        format!("column \"{cname}\" of relation \"{tname}\" already exists"),
                    ));
                }
                let ty = super::column_type(&c.data_type, &cname)?;
                let mut col = orbit_engine::table::ColumnDef::new(cname.clone(), ty);
                col.domain = super::domain::domain_of(&c.data_type)?.map_or(0, |d| d.oid);
                for opt in &c.options {
                    match &opt.option {
                        ast::ColumnOption::NotNull => col.not_null = true,
                        ast::ColumnOption::Null => {}
                        ast::ColumnOption::Generated {
                            generated_as,
                            generation_expr: Some(e),
                            generation_expr_mode,
                            ..
                        } => {
                            self.generated_option(&mut col, generated_as, e, generation_expr_mode.as_ref(), tname)?;
                        }
                        ast::ColumnOption::Default(_) if col.generated.is_some() => {
                            return Err(super::generated::both_default(&cname, crate::schema::relname(tname)));
                        }
                        ast::ColumnOption::Default(e) => {
                            let b = self.expr(e, None)?;
                            let _ = self.assign(b, &col)?;
                            col.default_expr = Some(super::alter_column::default_text(e, ty));
                        }
                        ast::ColumnOption::Collation(n) => super::column_collation(self.sql, ty, n)?,
                        other => {
                            return Err(SqlError::unsupported(format!(
                                "ADD COLUMN with {} is not supported yet",
                                other.to_string().to_uppercase()
                            )))
                        }
                    }
                }
                // A generated column's value for the rows there: its expression over each row.
                let default = match col.generated {
                    Some(_) => {
                        let mut with = def.clone();
                        with.columns.push(col.clone());
                        self.generation_expr_as_written(&with, &col, false)?
                    }
                    None => self.default_of(&col)?,
                };
                // Every row's new value is checked against the column's domain.
                let default = match col.domain {
                    0 => default,
                    d => crate::expr::Expr::Call(crate::scalar::Builtin::DomainCheck(d), vec![default], col.ty),
                };
                def.columns.push(col);
                Ok(Plan::RewriteTable { table, def, change: ColumnChange::Add(default) })
            }
            ast::AlterTableOperation::DropColumn { column_names, if_exists, drop_behavior, .. } => {
                let [name] = column_names.as_slice() else {
                    return Err(SqlError::unsupported("dropping several columns in one action is not supported yet"));
                };
                let cn = fold(name);
                let Some(i) = def.column(&cn) else {
                    if *if_exists {
                        return skipped(format!("column \"{cn}\" of relation \"{tname}\" does not exist, skipping"));
                    }
                    return Err(missing(&cn));
                };
                // A column another table's foreign key references cannot go (2BP01); the
                // others can, the references' column numbers following (exec: RewriteTable).
                let cascade = matches!(drop_behavior, Some(ast::DropBehavior::Cascade));
                crate::foreign_key::check_drop_column(&table, i, cascade)?;
                // The views (and materialized views) that read it: 2BP01, as PostgreSQL's
                // dependencies say (their query is text here: dropping it would break them).
                let readers = crate::exec::views::column_readers(&table.name, &cn, true);
                if !readers.is_empty() {
                    let kind = |v: &TableDef| if v.matview.is_some() { "materialized view" } else { "view" };
                    if cascade {
                        // They go first with the views that read them, then the column:
                        // each reader followed by what reads it (as PostgreSQL lists them),
                        // dropped in reverse.
                        let mut going: Vec<Arc<TableDef>> = Vec::new();
                        for r in &readers {
                            if going.iter().any(|g| g.name == r.name) {
                                continue;
                            }
                            going.push(r.clone());
                            for d in crate::exec::views::dependents(std::slice::from_ref(&r.name)) {
                                if !going.iter().any(|g| g.name == d.name) {
                                    going.push(d);
                                }
                            }
                        }
                        let listed: Vec<String> =
                            going.iter().map(|v| format!("{} {}", kind(v), crate::schema::shown(&v.name))).collect();
                        let drops: Vec<String> = going
                            .iter()
                            .rev()
                            .map(|v| format!("DROP {} {}", kind(v).to_uppercase(), quoted_relation(&v.name)))
                            .collect();
                        return Ok(drop_column_cascade(&table.name, &cn, &listed, drops));
                    }
                    let readers: Vec<String> =
                        readers.iter().map(|v| format!("{} {}", kind(v), crate::schema::shown(&v.name))).collect();
                    return Err(column_still_used(&table.name, &cn, &readers));
                }
                // Triggers that name it (UPDATE OF, or NEW.col / OLD.col in WHEN): 2BP01, or
                // with CASCADE dropped first (steps).
                let triggers = crate::triggers::column_users(&table.name, &cn);
                if !triggers.is_empty() {
                    let shown = crate::schema::shown(&table.name);
                    let listed: Vec<String> =
                        triggers.iter().map(|t| format!("trigger {t} on table {shown}")).collect();
                    if cascade {
                        let drops = triggers
                            .iter()
                            .map(|t| {
                                format!(
                                    "DROP TRIGGER {} ON {}",
                                    crate::regtypes::quote_ident(t),
                                    quoted_relation(&table.name)
                                )
                            })
                            .collect();
                        return Ok(drop_column_cascade(&table.name, &cn, &listed, drops));
                    }
                    return Err(column_still_used(&table.name, &cn, &listed));
                }
                // Generated columns that read it: 2BP01, or with CASCADE dropped first (steps).
                if let Some((users, notice)) = super::generated::drop_dependents(&def, &cn, cascade)? {
                    let rest = super::generated::drop_steps(tname, &users, &cn);
                    return Ok(Plan::Steps {
                        first: Box::new(Plan::Skipped { tag: "ALTER TABLE", notice }),
                        rest,
                        select_tag: false,
                        session: super::binding_session(),
                    });
                }
                // A primary key column takes the primary key with it: the rows get row ids.
                let drops_key = def.pk.contains(&i);
                if drops_key {
                    super::drop_key::drop_primary_key(&mut def);
                }
                def.columns.remove(i);
                for p in &mut def.pk {
                    if *p > i {
                        *p -= 1;
                    }
                }
                super::constraints::drop_column_constraints(&mut def, i, &cn);
                Ok(Plan::RewriteTable { table, def, change: ColumnChange::Drop(i) })
            }
            ast::AlterTableOperation::RenameColumn { old_column_name, new_column_name } => {
                let (old, new) = (fold(old_column_name), fold(new_column_name));
                let Some(i) = def.column(&old) else { return Err(missing(&old)) };
                if def.column(&new).is_some() {
                    return Err(SqlError::new(
                        code::DUPLICATE_COLUMN,
                        format!("column \"{new}\" of relation \"{tname}\" already exists"),
                    ));
                }
                // A view keeps its query as SQL text: each one naming the column is written
                // again with the new name (`bind/view_text.rs`), or the rename is refused.
                // Those naming the new name are checked too: it must not capture a name that
                // meant another relation's column.
                let mut views = Vec::new();
                let mut readers = crate::exec::views::column_readers(&table.name, &old, false);
                for v in crate::exec::views::column_readers(&table.name, &new, false) {
                    if !readers.iter().any(|r| r.oid == v.oid) {
                        readers.push(v);
                    }
                }
                for v in readers {
                    let Some(text) = self.view_with_column_renamed(&v, &table, &old, &new) else {
                        return Err(SqlError::unsupported(format!(
                            "ALTER TABLE ... RENAME COLUMN of \"{old}\", which view {} reads, is not supported yet",
                            crate::schema::shown(&v.name)
                        )));
                    };
                    if v.view.as_ref().or(v.matview.as_ref().map(|m| &m.query)) != Some(&text) {
                        views.push((v, text));
                    }
                }
                super::constraints::rename_column_in_checks(&mut def, &old, &new)?;
                def.columns[i].name = new;
                let change = if views.is_empty() { ColumnChange::Rename } else { ColumnChange::RenameInViews(views) };
                Ok(Plan::RewriteTable { table, def, change })
            }
            _ => Err(SqlError::unsupported("this ALTER TABLE action is not supported yet")),
        }
    }

    /// VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE] [t [(cols)] [, ...]], VACUUM (options) ...,
    /// ANALYZE [VERBOSE] [t [(cols)] [, ...]], ANALYZE (options) ...
    ///
    /// `stmt` is the statement as sqlparser read it: with other statements in the query string,
    /// an ANALYZE (which, unlike VACUUM, may run in a transaction block) is read from its text
    /// as sqlparser prints it back.
    pub(super) fn maintenance_statement(&mut self, vacuum: bool, stmt: &ast::Statement) -> Result<Plan> {
        if let Some((kind, toks)) = lone(self.sql) {
            debug_assert_eq!(kind == Utility::Vacuum, vacuum);
            return self.maintenance_tokens(vacuum, self.sql, toks);
        }
        if vacuum {
            // Several statements in one Query run as one transaction block.
            return Err(SqlError::new(code::ACTIVE_SQL_TRANSACTION, "VACUUM cannot run inside a transaction block"));
        }
        let text = stmt.to_string();
        match lone(&text) {
            Some((Utility::Analyze, toks)) => self.maintenance_tokens(false, &text, toks),
            _ => Err(SqlError::internal(format!("ANALYZE read back as {text}"))),
        }
    }

    fn maintenance_tokens(&mut self, vacuum: bool, sql: &str, toks: Vec<TokenWithSpan>) -> Result<Plan> {
        let what = if vacuum { "VACUUM" } else { "ANALYZE" };
        let mut c = Cursor::new(sql, toks);
        c.i = 1;
        let mut analyze = !vacuum;
        if c.eat(&Token::LParen) {
            for (name, v, pos) in c.options()? {
                let known = if vacuum {
                    matches!(
                        name.as_str(),
                        "full"
                            | "freeze"
                            | "verbose"
                            | "analyze"
                            | "disable_page_skipping"
                            | "skip_locked"
                            | "index_cleanup"
                            | "process_toast"
                            | "truncate"
                            | "parallel"
                    )
                } else {
                    matches!(name.as_str(), "verbose" | "skip_locked")
                };
                if !known {
                    return Err(
                        SqlError::new(code::SYNTAX_ERROR, format!("unrecognized {what} option \"{name}\"")).at(pos)
                    );
                }
                if name == "analyze" {
                    analyze = boolean(&v)
                        .ok_or_else(|| SqlError::new(code::SYNTAX_ERROR, format!("{name} requires a Boolean value")))?;
                }
                if name == "parallel" {
                    let n = v.text().and_then(|t| t.parse::<i64>().ok());
                    if !n.is_some_and(|n| (0..=1024).contains(&n)) {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            "parallel option requires a value between 0 and 1024",
                        )
                        .at(pos));
                    }
                }
            }
        } else if vacuum {
            for w in ["full", "freeze", "verbose"] {
                c.eat_word(w);
            }
            analyze = c.eat_word("analyze") || c.eat_word("analyse");
        } else {
            c.eat_word("verbose");
        }
        let mut tables: Vec<Arc<TableDef>> = Vec::new();
        let mut columns: Vec<Vec<usize>> = Vec::new();
        if !c.done() {
            loop {
                let name = c.object_name()?;
                // PostgreSQL reports no position for VACUUM's and ANALYZE's relations, and an
                // unknown schema as 3F000.
                let tname = super::object_name(sql, &name).map_err(|mut e| {
                    e.position = None;
                    e
                })?;
                let def = super::lookup_table(&tname).ok_or_else(|| {
                    SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{tname}\" does not exist"))
                })?;
                let mut listed = Vec::new();
                if c.eat(&Token::LParen) {
                    let cols = c.ident_list()?;
                    if !analyze {
                        return Err(SqlError::unsupported(
                            "ANALYZE option must be specified when a column list is provided",
                        ));
                    }
                    for id in cols {
                        let cn = fold(&id);
                        match def.column(&cn) {
                            Some(i) if !listed.contains(&i) => listed.push(i),
                            Some(_) => {}
                            None => {
                                return Err(SqlError::new(
                                    code::UNDEFINED_COLUMN,
                                    format!("column \"{cn}\" of relation \"{tname}\" does not exist"),
                                ))
                            }
                        }
                    }
                }
                tables.push(def);
                columns.push(listed);
                if !c.eat(&Token::Comma) {
                    break;
                }
            }
        }
        if !c.done() {
            return Err(c.error());
        }
        let statistics_target = crate::settings::bound_value("default_statistics_target")
            .and_then(|v| v.parse().ok())
            .unwrap_or(crate::stats::STATISTICS_TARGET);
        Ok(Plan::Maintenance { vacuum, analyze, tables, columns, tag: what, statistics_target })
    }

    /// COPY t [(cols)] FROM STDIN / COPY {t [(cols)] | (query)} TO STDOUT, with the option
    /// list or the pre-9.0 option syntax. Files and programs on the server are refused as
    /// PostgreSQL refuses them to a role without pg_read_server_files & co.
    pub(super) fn copy_statement(&mut self) -> Result<Plan> {
        let Some((Utility::Copy, toks)) = lone(self.sql) else {
            return Err(SqlError::unsupported(
                "COPY with inline data or together with other statements is not supported",
            ));
        };
        let mut c = Cursor::new(self.sql, toks);
        c.i = 1;
        // The source: a table with optional columns, or a query.
        let mut query_text = None;
        let mut table = None;
        if c.eat(&Token::LParen) {
            let start = c.i;
            let mut depth = 1;
            while depth > 0 {
                match c.peek() {
                    Some(Token::LParen) => depth += 1,
                    Some(Token::RParen) => depth -= 1,
                    None => return Err(c.error()),
                    _ => {}
                }
                c.i += 1;
            }
            let (from, to) = (c.offset_of(start), c.offset_of(c.i - 1));
            match (from, to) {
                (Some(a), Some(b)) if a < b => query_text = Some(self.sql[a..b].to_string()),
                _ => return Err(c.error()),
            }
        } else {
            let name = c.object_name()?;
            let cols = if c.eat(&Token::LParen) { c.ident_list()? } else { vec![] };
            table = Some((name, cols));
        }
        if query_text.is_some() && c.is_word("from") {
            return Err(c.error());
        }
        let to = if c.eat_word("to") {
            true
        } else if c.eat_word("from") {
            false
        } else {
            return Err(c.error());
        };
        // Where: STDIN/STDOUT (PostgreSQL takes either word either way), a file or a program.
        if !(c.eat_word("stdin") || c.eat_word("stdout")) {
            let hint = "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone.";
            let msg = if c.eat_word("program") {
                "must be superuser or have privileges of the pg_execute_server_program role to COPY to or from an external program"
            } else {
                c.string()?;
                if to {
                    "must be superuser or have privileges of the pg_write_server_files role to COPY to a file"
                } else {
                    "must be superuser or have privileges of the pg_read_server_files role to COPY from a file"
                }
            };
            return Err(SqlError::new(code::INSUFFICIENT_PRIVILEGE, msg).hint(hint));
        }
        let mut given = GivenOptions::default();
        let with = c.eat_word("with");
        if c.eat(&Token::LParen) {
            for (name, v, pos) in c.options()? {
                given.add(&name, v, pos)?;
            }
        } else {
            // The pre-9.0 syntax: BINARY, DELIMITER [AS] 'c', NULL [AS] 's', CSV, HEADER,
            // QUOTE [AS] 'q', ESCAPE [AS] 'e', FORCE QUOTE cols|*, FORCE NOT NULL cols.
            let _ = with;
            loop {
                if c.eat_word("binary") {
                    set(&mut given.format, "binary".to_string())?;
                } else if c.eat_word("csv") {
                    set(&mut given.format, "csv".to_string())?;
                } else if c.eat_word("header") {
                    set(&mut given.header, Header::Yes)?;
                } else if c.eat_word("freeze") {
                    set(&mut given.freeze, true)?;
                } else if c.is_word("delimiter") || c.is_word("null") || c.is_word("quote") || c.is_word("escape") {
                    let w = fold(&c.ident()?);
                    c.eat_word("as");
                    let v = c.string()?;
                    match w.as_str() {
                        "delimiter" => set(&mut given.delimiter, v)?,
                        "null" => set(&mut given.null, v)?,
                        "quote" => set(&mut given.quote, v)?,
                        _ => set(&mut given.escape, v)?,
                    }
                } else if c.eat_word("force") {
                    if c.eat_word("quote") {
                        let v = if c.eat(&Token::Mul) {
                            OptValue::Star
                        } else {
                            let mut l = vec![c.ident()?];
                            while c.eat(&Token::Comma) {
                                l.push(c.ident()?);
                            }
                            OptValue::List(l)
                        };
                        set(&mut given.force_quote, v)?;
                    } else if c.eat_word("not") {
                        if !c.eat_word("null") {
                            return Err(c.error());
                        }
                        let mut l = vec![c.ident()?];
                        while c.eat(&Token::Comma) {
                            l.push(c.ident()?);
                        }
                        set(&mut given.force_not_null, l)?;
                    } else {
                        return Err(c.error());
                    }
                } else {
                    break;
                }
            }
        }
        if c.is_word("where") {
            return Err(SqlError::unsupported("COPY ... WHERE is not supported yet"));
        }
        if !c.done() {
            return Err(c.error());
        }
        // Bind the source.
        let (source, names) = match (table, query_text) {
            (Some((name, cols)), _) => {
                // PostgreSQL reports no position for COPY's relation.
                let (tname, def) = self.resolve_table(&name).map_err(|mut e| {
                    e.position = None;
                    e
                })?;
                let mut idx = Vec::new();
                for id in &cols {
                    let cn = fold(id);
                    let i = def.column(&cn).ok_or_else(|| {
                        SqlError::new(
                            code::UNDEFINED_COLUMN,
                            format!("column \"{cn}\" of relation \"{tname}\" does not exist"),
                        )
                    })?;
                    if def.columns[i].generated.is_some() {
                        return Err(SqlError::new(
                            code::INVALID_COLUMN_REFERENCE,
                            format!("column \"{cn}\" is a generated column"),
                        )
                        .detail("Generated columns cannot be used in COPY."));
                    }
                    if idx.contains(&i) {
                        return Err(SqlError::new(
                            code::DUPLICATE_COLUMN,
                            format!("column \"{cn}\" specified more than once"),
                        ));
                    }
                    idx.push(i);
                }
                if idx.is_empty() {
                    // Without a list: every column but the generated ones (computed on the way in).
                    idx = (0..def.columns.len()).filter(|&i| def.columns[i].generated.is_none()).collect();
                }
                let names: Vec<String> = idx.iter().map(|&i| def.columns[i].name.clone()).collect();
                (CopySource::Table { table: def, columns: idx }, names)
            }
            (None, Some(text)) => {
                let stmts = super::parse(&text)?;
                if let [ast::Statement::Merge(_)] = stmts.as_slice() {
                    return Err(SqlError::unsupported("MERGE not supported in COPY"));
                }
                // A query, or an INSERT / UPDATE / DELETE whose RETURNING rows are copied.
                let (plan, cols, dml) = match stmts.as_slice() {
                    [ast::Statement::Query(q)] => {
                        let dml = matches!(
                            q.body.as_ref(),
                            ast::SetExpr::Insert(_) | ast::SetExpr::Update(_) | ast::SetExpr::Delete(_)
                        );
                        let (plan, cols) = self.query(q)?;
                        (plan, cols, dml)
                    }
                    [s @ (ast::Statement::Insert(_) | ast::Statement::Update(_) | ast::Statement::Delete(_))] => {
                        let (plan, cols) = self.statement(s)?;
                        (plan, cols, true)
                    }
                    _ => return Err(SqlError::unsupported("COPY (...) TO takes a SELECT only")),
                };
                if dml && cols.is_empty() {
                    return Err(SqlError::unsupported("COPY query must have a RETURNING clause"));
                }
                // Its subqueries, WITH queries and set operations run with it.
                let plan = self.finish_statement(plan)?;
                if !dml && !matches!(plan, Plan::Select(_) | Plan::Query(_)) {
                    return Err(SqlError::unsupported("COPY (...) TO takes a SELECT only"));
                }
                (CopySource::Query(Box::new(plan)), cols.into_iter().map(|c| c.name).collect::<Vec<String>>())
            }
            (None, None) => return Err(c.error()),
        };
        let table = match &source {
            CopySource::Table { table, .. } => Some(table.clone()),
            CopySource::Query(_) => None,
        };
        if let Some(t) = table.as_ref().filter(|t| !to && t.matview.is_some()) {
            return Err(SqlError::new(
                code::WRONG_OBJECT_TYPE,
                format!("cannot copy to materialized view \"{}\"", crate::schema::relname(&t.name)),
            ));
        }
        let options = copy_options(given, to, &names, table.as_deref())?;
        Ok(Plan::Copy(Box::new(CopyPlan { source, to, names, options })))
    }
}

/// Defaults and PostgreSQL 15's checks (`ProcessCopyOptions`), in its order.
fn copy_options(g: GivenOptions, to: bool, names: &[String], table: Option<&TableDef>) -> Result<CopyOptions> {
    let binary = g.format.as_deref() == Some("binary");
    let csv = g.format.as_deref() == Some("csv");
    if binary && g.delimiter.is_some() {
        return Err(SqlError::new(code::SYNTAX_ERROR, "cannot specify DELIMITER in BINARY mode"));
    }
    if binary && g.null.is_some() {
        return Err(SqlError::new(code::SYNTAX_ERROR, "cannot specify NULL in BINARY mode"));
    }
    if binary && g.header.is_some_and(|h| h != Header::No) {
        return Err(SqlError::unsupported("cannot specify HEADER in BINARY mode"));
    }
    if let Some(e) = &g.encoding {
        let norm: String = e.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
        if norm != "utf8" && norm != "unicode" {
            return Err(SqlError::unsupported(format!("COPY ENCODING '{e}' is not supported: data is UTF8")));
        }
    }
    let mut o = CopyOptions::text(names.len());
    o.csv = csv;
    o.binary = binary;
    o.freeze = g.freeze.unwrap_or(false);
    o.header = g.header.unwrap_or(Header::No);
    let delimiter = g.delimiter.clone().unwrap_or_else(|| if csv { ",".into() } else { "\t".into() });
    o.null = g.null.clone().unwrap_or_else(|| if csv { String::new() } else { "\\N".into() });
    let invalid = |m: &str| SqlError::new(code::INVALID_PARAMETER_VALUE, m.to_string());
    o.delimiter = one_byte(&delimiter)
        .ok_or_else(|| SqlError::unsupported("COPY delimiter must be a single one-byte character"))?;
    if o.delimiter == b'\n' || o.delimiter == b'\r' {
        return Err(invalid("COPY delimiter cannot be newline or carriage return"));
    }
    if o.null.contains('\n') || o.null.contains('\r') {
        return Err(invalid("COPY null representation cannot use newline or carriage return"));
    }
    if !csv && b"\\.abcdefghijklmnopqrstuvwxyz0123456789".contains(&o.delimiter) {
        return Err(invalid(&format!("COPY delimiter cannot be \"{}\"", o.delimiter as char)));
    }
    if !csv && g.quote.is_some() {
        return Err(SqlError::unsupported("COPY quote available only in CSV mode"));
    }
    if let Some(q) = &g.quote {
        o.quote = one_byte(q).ok_or_else(|| SqlError::unsupported("COPY quote must be a single one-byte character"))?;
    }
    if csv && o.delimiter == o.quote {
        return Err(invalid("COPY delimiter and quote must be different"));
    }
    if !csv && g.escape.is_some() {
        return Err(SqlError::unsupported("COPY escape available only in CSV mode"));
    }
    o.escape = match &g.escape {
        Some(e) => {
            one_byte(e).ok_or_else(|| SqlError::unsupported("COPY escape must be a single one-byte character"))?
        }
        None => o.quote,
    };
    if g.force_quote.is_some() && !csv {
        return Err(SqlError::unsupported("COPY force quote available only in CSV mode"));
    }
    if g.force_quote.is_some() && !to {
        return Err(SqlError::unsupported("COPY force quote only available using COPY TO"));
    }
    if g.force_not_null.is_some() && !csv {
        return Err(SqlError::unsupported("COPY force not null available only in CSV mode"));
    }
    if g.force_not_null.is_some() && to {
        return Err(SqlError::unsupported("COPY force not null only available using COPY FROM"));
    }
    if g.force_null.is_some() && !csv {
        return Err(SqlError::unsupported("COPY force null available only in CSV mode"));
    }
    if g.force_null.is_some() && to {
        return Err(SqlError::unsupported("COPY force null only available using COPY FROM"));
    }
    if o.null.as_bytes().contains(&o.delimiter) {
        return Err(invalid("COPY delimiter must not appear in the NULL specification"));
    }
    if csv && o.null.as_bytes().contains(&o.quote) {
        return Err(invalid("CSV quote character must not appear in the NULL specification"));
    }
    if to && o.header == Header::Match {
        return Err(SqlError::unsupported("cannot use \"match\" with HEADER in COPY TO"));
    }
    let flags = |list: &[ast::Ident], what: &str| -> Result<Vec<bool>> {
        let mut out = vec![false; names.len()];
        for id in list {
            let cn = fold(id);
            match names.iter().position(|n| *n == cn) {
                Some(i) => out[i] = true,
                // A column of the table left out of COPY's list, or no such column at all.
                None if table.is_none_or(|t| t.column(&cn).is_some()) => {
                    return Err(SqlError::new(
                        code::INVALID_COLUMN_REFERENCE,
                        format!("{what} column \"{cn}\" not referenced by COPY"),
                    ))
                }
                None => {
                    let t = table.map(|t| t.name.as_str()).unwrap_or_default();
                    return Err(SqlError::new(
                        code::UNDEFINED_COLUMN,
                        format!("column \"{cn}\" of relation \"{t}\" does not exist"),
                    ));
                }
            }
        }
        Ok(out)
    };
    match &g.force_quote {
        Some(OptValue::Star) => o.force_quote = vec![true; names.len()],
        Some(OptValue::List(l)) => o.force_quote = flags(l, "FORCE_QUOTE")?,
        _ => {}
    }
    if let Some(l) = &g.force_not_null {
        o.force_not_null = flags(l, "FORCE_NOT_NULL")?;
    }
    if let Some(l) = &g.force_null {
        o.force_null = flags(l, "FORCE_NULL")?;
    }
    Ok(o)
}

/// A relation's catalog name as SQL (`schema.name`, each quoted when it must be).
fn quoted_relation(name: &str) -> String {
    let (schema, rel) = crate::schema::split(name);
    format!("{}.{}", crate::regtypes::quote_ident(schema), crate::regtypes::quote_ident(rel))
}

/// DROP COLUMN ... CASCADE of column `cn` of `table` that `listed` objects depend on
/// (`view v`, `trigger t on table x`): the NOTICE naming them, then `drops` and the DROP COLUMN
/// again, as steps.
fn drop_column_cascade(table: &str, cn: &str, listed: &[String], mut drops: Vec<String>) -> Plan {
    let notice = match listed {
        [one] => format!("drop cascades to {one}"),
        _ => {
            let lines: Vec<String> = listed.iter().map(|l| format!("drop cascades to {l}")).collect();
            format!("drop cascades to {} other objects\n{}", lines.len(), lines.join("\n"))
        }
    };
    drops.push(format!(
        "ALTER TABLE {} DROP COLUMN {} CASCADE",
        quoted_relation(table),
        crate::regtypes::quote_ident(cn)
    ));
    Plan::Steps {
        first: Box::new(Plan::Skipped { tag: "ALTER TABLE", notice }),
        rest: drops,
        select_tag: false,
        session: super::binding_session(),
    }
}

/// DROP COLUMN of column `cn` of `table` that `users` depend on: PostgreSQL's 2BP01.
fn column_still_used(table: &str, cn: &str, users: &[String]) -> SqlError {
    let shown = crate::schema::shown(table);
    let lines: Vec<String> = users.iter().map(|u| format!("{u} depends on column {cn} of table {shown}")).collect();
    SqlError::new("2BP01", format!("cannot drop column {cn} of table {shown} because other objects depend on it"))
        .detail(lines.join("\n"))
        .hint("Use DROP ... CASCADE to drop the dependent objects too.")
}
