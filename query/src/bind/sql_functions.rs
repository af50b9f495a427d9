//! Binds CREATE FUNCTION ... LANGUAGE sql and DROP FUNCTION ([`crate::functions_sql`]), and
//! the calls of SQL functions.
//!
//! A call is inlined, as PostgreSQL inlines simple SQL functions (`inline_function`): the body's
//! last statement, a SELECT, with `$n` and the arguments' names replaced by the call's
//! arguments (each cast to its parameter's type, DEFAULTs for those left out), is bound where
//! the call is. A body `SELECT expr` without FROM becomes the expression; any other SELECT a
//! scalar subquery of its first row (NULL when none); a set-returning function is, in FROM, the
//! derived table of its query (LATERAL when its arguments read columns), and in the select list
//! `unnest(ARRAY(query))`. STRICT is `CASE WHEN arg IS NULL OR ... THEN NULL ELSE body END`
//! (no rows in FROM). The result is cast to the declared return type.
//!
//! Differences from PostgreSQL that follow from inlining: an argument's name in the body wins
//! over a column of the same name (PostgreSQL prefers the column); an argument used twice is
//! evaluated twice; a function that calls itself (possible through CREATE OR REPLACE) is
//! refused with 0A000, as PostgreSQL would evaluate it at run time; bodies of several statements
//! or ending in INSERT/UPDATE/DELETE are refused with 0A000 at CREATE.

use super::{fold, Binder, Plan, Scope};
use crate::error::{code, Result, SqlError};
use crate::functions_sql::{Arg, FunctionPlan, SqlFunction};
use crate::types::{self, CastContext};
use orbit_engine::table::SqlType;
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::cell::RefCell;
use std::ops::ControlFlow;
use std::sync::Arc;

thread_local! {
    /// The functions whose bodies are being bound, innermost last.
    static EXPANDING: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

thread_local! {
    /// Set while `"orbit plpgsql rows"(f(...))` binds its call: the PL/pgSQL call is then its
    /// rows as an array.
    static AS_ROWS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

thread_local! {
    /// Set while CALL binds its call (`Some`), holding the procedure it called once bound.
    static CALLING: RefCell<Option<Option<SqlFunction>>> = const { RefCell::new(None) };
}

/// The type name a CREATE PROCEDURE is written as a function returning
/// ([`procedure_syntax`]).
const PROCEDURE_MARKER: &str = "orbit procedure";

/// `sql` with each `CREATE [OR REPLACE] PROCEDURE name (params) ...` written as `CREATE [OR
/// REPLACE] FUNCTION name (params) RETURNS "orbit procedure" ...` (sqlparser's CREATE
/// PROCEDURE is another dialect's); None when it has none.
pub(super) fn procedure_syntax(sql: &str) -> Option<String> {
    crate::plpgsql::scan::rewrite_creates(sql, "procedure", |t, _, j| {
        // The parameter list's closing parenthesis.
        let open = (j + 1..t.len()).find(|&k| t[k].is_op("(") || t[k].is_op(";"))?;
        if !t[open].is_op("(") {
            return None;
        }
        let mut depth = 0;
        let close = (open..t.len()).find(|&k| {
            if t[k].is_op("(") {
                depth += 1;
            } else if t[k].is_op(")") {
                depth -= 1;
            }
            depth == 0
        })?;
        Some(crate::plpgsql::scan::Edit {
            from: t[j].start,
            to: t[close].end,
            with: format!("FUNCTION{} RETURNS \"{PROCEDURE_MARKER}\"", &sql[t[j].end..t[close].end]),
            next: close + 1,
        })
    })
}

/// The marker function whose argument, a PL/pgSQL function's call, is its rows as an array.
const PLPGSQL_ROWS: &str = "\"orbit plpgsql rows\"";

/// The most SQL function calls nested in one another's bodies.
const MAX_DEPTH: usize = 64;

/// The most query levels a FROM item's SQL function is inlined at: each inlining nests one, so
/// a function reaching itself through FROM stops here.
const MAX_FROM_DEPTH: usize = 32;

/// The name of the derived table a FROM item's arguments are computed in.
const LIFTED: &str = "orbit sql function arguments";

/// The names templates give their placeholders (quoted: no client's identifier).
const HOLE: &str = "orbit template hole";

/// The names a call's arguments have in its inlined body: `<ARG_HOLE><call> <i>`.
const ARG_HOLE: &str = "orbit sql function argument ";

/// A call's arguments, bound where the call is.
struct BoundArgs {
    call: usize,
    /// The query level the call is at ([`super::subquery::State::depth`]).
    level: usize,
    args: Vec<super::Expr>,
}

thread_local! {
    /// The arguments of the calls being inlined, innermost last.
    static ARGS: RefCell<Vec<BoundArgs>> = const { RefCell::new(Vec::new()) };
    static NEXT_CALL: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Keeps a call's arguments in [`ARGS`] while its body is bound.
struct ArgsInScope;

impl Drop for ArgsInScope {
    fn drop(&mut self) {
        ARGS.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

/// PostgreSQL's syntax error for `text` (no position: it would point into the body, not the
/// statement the client sent).
fn syntax(text: &str) -> impl Fn(sqlparser::parser::ParserError) -> SqlError + '_ {
    move |e| {
        let mut err = super::syntax_error(text, &e.to_string());
        err.position = None;
        err
    }
}

pub(super) fn parse_expr(text: &str) -> Result<ast::Expr> {
    Parser::new(&PostgreSqlDialect {}).try_with_sql(text).and_then(|mut p| p.parse_expr()).map_err(syntax(text))
}

fn parse_statements(text: &str) -> Result<Vec<ast::Statement>> {
    Parser::parse_sql(&PostgreSqlDialect {}, text).map_err(syntax(text))
}

fn parse_query(text: &str) -> Result<ast::Query> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_query())
        .map_err(syntax(text))
        .map(|q| *q)
}

fn hole(i: usize) -> String {
    format!("\"{HOLE} {i}\"")
}

/// `e` with each hole `i` (an identifier written by [`hole`]) replaced by `fill[i]`.
fn fill<V: ast::VisitMut>(v: &mut V, fill: &[ast::Expr]) {
    let _ = ast::visit_expressions_mut(v, |e| {
        if let ast::Expr::Identifier(id) = e {
            if let Some(i) = id.value.strip_prefix(HOLE).and_then(|r| r.trim().parse::<usize>().ok()) {
                if let Some(x) = fill.get(i) {
                    *e = x.clone();
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// `CAST((e) AS t)`.
fn cast(e: ast::Expr, t: SqlType) -> Result<ast::Expr> {
    let mut c = parse_expr(&format!("CAST({} AS {})", hole(0), t.name()))?;
    fill(&mut c, &[ast::Expr::Nested(Box::new(e))]);
    Ok(c)
}

/// The type a parameter or result is declared with; 0A000 for the polymorphic pseudo-types.
fn declared_type(dt: &ast::DataType) -> Result<SqlType> {
    let written = dt.to_string().to_ascii_lowercase();
    if written.starts_with("any") && !written.starts_with("any[") || written == "record" || written == "internal" {
        return Err(SqlError::unsupported(format!(
            "SQL functions with arguments or results of type {written} are not supported"
        )));
    }
    let t = super::sql_type(dt)?;
    // The catalog entry keeps it as a column's type: one the log can hold.
    if SqlType::from_oid(t.oid()).is_none_or(|x| x == SqlType::Unknown || x == SqlType::Void) {
        return Err(SqlError::unsupported(format!(
            "SQL functions with arguments or results of type {written} are not supported"
        )));
    }
    Ok(t)
}

/// A function's STRICT and its volatility (provolatile's letter).
fn traits(cf: &ast::CreateFunction) -> (bool, char) {
    let strict = matches!(
        cf.called_on_null,
        Some(ast::FunctionCalledOnNull::Strict | ast::FunctionCalledOnNull::ReturnsNullOnNullInput)
    );
    let volatility = match cf.behavior {
        Some(ast::FunctionBehavior::Immutable) => 'i',
        Some(ast::FunctionBehavior::Stable) => 's',
        _ => 'v',
    };
    (strict, volatility)
}

/// The name of the marker SET a function's COST, ROWS and [NOT] LEAKPROOF are written as
/// ([`options_syntax`]; sqlparser lacks them), followed by `cost`, `rows` or `leakproof`.
const OPTION_MARK: &str = "\u{1}option ";

/// `sql` with a CREATE FUNCTION / PROCEDURE's `COST n`, `ROWS n`, `LEAKPROOF` and
/// `NOT LEAKPROOF` written as marker SET clauses (`SET "<mark>cost" TO n`), which
/// [`function_options`] reads back; None when it has none.
pub(super) fn options_syntax(sql: &str) -> Option<String> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let lower = sql.to_ascii_lowercase();
    if !(lower.contains("cost") || lower.contains("rows") || lower.contains("leakproof")) {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().ok()?;
    let solid: Vec<_> = tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).collect();
    let kw = |i: usize, k: Keyword| matches!(solid.get(i).map(|t| &t.token), Some(Token::Word(w)) if w.keyword == k && w.quote_style.is_none());
    let word = |i: usize, name: &str| matches!(solid.get(i).map(|t| &t.token), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(name));
    let number = |i: usize| matches!(solid.get(i).map(|t| &t.token), Some(Token::Number(..)));
    let offset = |i: usize, end: bool| {
        let t = solid[i];
        super::subquery::byte_offset(sql, if end { t.span.end } else { t.span.start })
    };
    let mut edits = Vec::new();
    // Inside a CREATE FUNCTION / PROCEDURE statement, outside parentheses.
    let mut creating = false;
    let mut depth = 0usize;
    let mut i = 0;
    while i < solid.len() {
        let t = &solid[i].token;
        match t {
            Token::SemiColon => creating = false,
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        if kw(i, Keyword::CREATE) && (i == 0 || matches!(solid[i - 1].token, Token::SemiColon)) {
            let mut j = i + 1;
            if kw(j, Keyword::OR) && kw(j + 1, Keyword::REPLACE) {
                j += 2;
            }
            creating = kw(j, Keyword::FUNCTION) || kw(j, Keyword::PROCEDURE);
        }
        if creating && depth == 0 {
            let replaced = if (word(i, "cost") || word(i, "rows")) && number(i + 1) {
                let what = if word(i, "cost") { "cost" } else { "rows" };
                Some((i, i + 1, format!("SET \"{OPTION_MARK}{what}\" TO {}", solid[i + 1].token)))
            } else if word(i, "leakproof") {
                let not = i > 0 && kw(i - 1, Keyword::NOT);
                Some((if not { i - 1 } else { i }, i, format!("SET \"{OPTION_MARK}leakproof\" TO {}", !not)))
            } else {
                None
            };
            if let Some((from, to, text)) = replaced {
                edits.push((offset(from, false)?, offset(to, true)?, text));
                i = to + 1;
                continue;
            }
        }
        i += 1;
    }
    super::subquery::splice(sql, edits)
}

/// A CREATE FUNCTION's COST, ROWS and LEAKPROOF (its marker SET clauses, [`options_syntax`]),
/// with CREATE FUNCTION's checks of them; 0A000 for its other SET clauses.
fn function_options(cf: &ast::CreateFunction) -> Result<crate::functions_sql::Options> {
    let mut o = crate::functions_sql::Options::default();
    for p in &cf.set_params {
        let name = p.name.to_string();
        let what = name.trim_matches('"').strip_prefix(OPTION_MARK);
        let value = match &p.value {
            ast::FunctionSetValue::Values(v) if v.len() == 1 => v[0].to_string(),
            _ => String::new(),
        };
        match what {
            Some("cost") => {
                let v: f32 = value.parse().unwrap_or(0.0);
                if v <= 0.0 {
                    return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "COST must be positive"));
                }
                o.cost = Some(v);
            }
            Some("rows") => {
                let v: f32 = value.parse().unwrap_or(0.0);
                if v <= 0.0 {
                    return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "ROWS must be positive"));
                }
                o.rows = Some(v);
            }
            Some("leakproof") => o.leakproof = value == "true",
            _ => return Err(SqlError::unsupported("SET clauses of functions are not supported")),
        }
    }
    Ok(o)
}

/// CREATE FUNCTION's refusal of ROWS for a function that does not return a set.
fn rows_need_a_set(f: &SqlFunction) -> Result<()> {
    if f.options.rows.is_some() && !f.setof {
        return Err(SqlError::new(
            code::INVALID_PARAMETER_VALUE,
            "ROWS is not applicable when function does not return a set",
        ));
    }
    Ok(())
}

/// A parameter's or result column's name as written.
fn ident_name(id: &ast::Ident) -> String {
    fold(id)
}

impl Binder<'_> {
    pub(super) fn create_function(&mut self, cf: &ast::CreateFunction) -> Result<Plan> {
        if cf.or_alter || cf.temporary || cf.if_not_exists || cf.using.is_some() || cf.remote_connection.is_some() {
            return Err(SqlError::syntax(&cf.name.to_string()));
        }
        let body_text = match &cf.function_body {
            Some(ast::CreateFunctionBody::AsBeforeOptions { body, link_symbol: None })
            | Some(ast::CreateFunctionBody::AsAfterOptions(body)) => match body {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => s.clone(),
                    ast::Value::DollarQuotedString(d) => d.value.clone(),
                    _ => return Err(SqlError::syntax(&body.to_string())),
                },
                _ => return Err(SqlError::syntax(&body.to_string())),
            },
            Some(ast::CreateFunctionBody::Return(e)) => format!("SELECT {e}"),
            Some(ast::CreateFunctionBody::BeginAtomic(b)) => {
                b.statements.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            }
            Some(_) => return Err(SqlError::syntax(&cf.name.to_string())),
            None => return Err(SqlError::new("42P13", "no function body specified")),
        };
        let standard_body = matches!(
            cf.function_body,
            Some(ast::CreateFunctionBody::Return(_) | ast::CreateFunctionBody::BeginAtomic(_))
        );
        let plpgsql = match cf.language.as_ref().map(fold) {
            Some(l) if l == "sql" => false,
            Some(l) if l == "plpgsql" && !standard_body => true,
            None if standard_body => false,
            None => return Err(SqlError::new("42P13", "no language specified")),
            Some(l) if matches!(l.as_str(), "plpgsql" | "c" | "internal") => {
                return Err(SqlError::unsupported(format!("functions in language \"{l}\" are not supported")))
            }
            Some(l) => return Err(SqlError::new(code::UNDEFINED_OBJECT, format!("language \"{l}\" does not exist"))),
        };
        let procedure = matches!(&cf.return_type, Some(ast::FunctionReturnType::DataType(ast::DataType::Custom(n, _)))
            if n.to_string() == format!("\"{PROCEDURE_MARKER}\""));
        if procedure {
            if !plpgsql {
                return Err(SqlError::unsupported("procedures in language sql are not supported yet"));
            }
            // Its OUT and INOUT parameters are CALL's row; without them it returns nothing.
            // Its OUT parameters are arguments of CALL too (their values ignored, as NULL in
            // PostgreSQL's calls): they bind as INOUT ones.
            let outputs =
                cf.args.iter().flatten().any(|a| matches!(a.mode, Some(ast::ArgMode::Out | ast::ArgMode::InOut)));
            let args = cf.args.as_ref().map(|args| {
                args.iter()
                    .map(|a| {
                        let mode = if matches!(a.mode, Some(ast::ArgMode::Out)) {
                            Some(ast::ArgMode::InOut)
                        } else {
                            a.mode.clone()
                        };
                        ast::OperateFunctionArg { mode, ..a.clone() }
                    })
                    .collect()
            });
            let void = ast::FunctionReturnType::DataType(ast::DataType::Custom(
                ast::ObjectName::from(vec![ast::Ident::new("void")]),
                vec![],
            ));
            let cf = ast::CreateFunction { return_type: if outputs { None } else { Some(void) }, args, ..cf.clone() };
            let mut plan = self.create_plpgsql_function(&cf, body_text)?;
            if let Plan::Function(FunctionPlan::Create { f, .. }) = &mut plan {
                f.procedure = true;
            }
            return Ok(plan);
        }
        if plpgsql {
            return self.create_plpgsql_function(cf, body_text);
        }
        if matches!(cf.security, Some(ast::FunctionSecurity::Definer)) {
            return Err(SqlError::unsupported("SECURITY DEFINER functions are not supported"));
        }
        let options = function_options(cf)?;
        let name = super::new_object_name(self.sql, &cf.name)?;
        let mut args = Vec::new();
        // OUT and INOUT parameters: the result's columns.
        let mut outs: Vec<(String, SqlType)> = Vec::new();
        for a in cf.args.iter().flatten() {
            let arg_name = a.name.as_ref().map(ident_name).unwrap_or_default();
            match &a.mode {
                None | Some(ast::ArgMode::In) => {}
                Some(ast::ArgMode::Out) => {
                    outs.push((arg_name, declared_type(&a.data_type)?));
                    continue;
                }
                Some(ast::ArgMode::InOut) => outs.push((arg_name.clone(), declared_type(&a.data_type)?)),
                Some(m) => {
                    return Err(SqlError::unsupported(format!("{m} parameters of SQL functions are not supported")))
                }
            }
            if !arg_name.is_empty() && args.iter().any(|x: &Arg| x.name == arg_name) {
                return Err(SqlError::new("42P13", format!("parameter name \"{arg_name}\" used more than once")));
            }
            let ty = declared_type(&a.data_type)?;
            let default = match &a.default_expr {
                Some(d) => Some(d.to_string()),
                None if args.iter().any(|x: &Arg| x.default.is_some()) => {
                    return Err(SqlError::new(
                        "42P13",
                        "input parameters after one with a default value must also have defaults",
                    ))
                }
                None => None,
            };
            args.push(Arg { name: arg_name, ty, default });
        }
        let is_record = |dt: &ast::DataType| dt.to_string().eq_ignore_ascii_case("record");
        // One OUT parameter names the result's column.
        let single_out = match outs.as_slice() {
            [(n, _)] if !n.is_empty() => Some(n.clone()),
            _ => None,
        };
        let (ret, out, setof) = match &cf.return_type {
            // OUT parameters give the result: their one type, or a record of them.
            _ if !outs.is_empty() => {
                let setof = matches!(cf.return_type, Some(ast::FunctionReturnType::SetOf(_)));
                let declared = match &cf.return_type {
                    Some(ast::FunctionReturnType::DataType(dt) | ast::FunctionReturnType::SetOf(dt)) => Some(dt),
                    None => None,
                };
                let one = (outs.len() == 1).then(|| outs[0].1);
                match (declared, one) {
                    (None, _) => {}
                    (Some(dt), None) if is_record(dt) => {}
                    (Some(dt), Some(t)) if !is_record(dt) && declared_type(dt)? == t => {}
                    (Some(_), one) => {
                        let want = one.map_or("record".to_string(), super::type_display);
                        return Err(SqlError::new(
                            "42P13",
                            format!("function result type must be {want} because of OUT parameters"),
                        ));
                    }
                }
                for (i, o) in outs.iter_mut().enumerate() {
                    if o.0.is_empty() {
                        o.0 = format!("column{}", i + 1);
                    }
                }
                match one {
                    Some(t) => (t, Vec::new(), setof),
                    None => (SqlType::Unknown, outs, setof),
                }
            }
            None => return Err(SqlError::new("42P13", "function result type must be specified")),
            Some(ast::FunctionReturnType::DataType(ast::DataType::Table(Some(cols)))) => {
                let out = cols
                    .iter()
                    .map(|c| Ok((ident_name(&c.name), declared_type(&c.data_type)?)))
                    .collect::<Result<Vec<_>>>()?;
                (SqlType::Unknown, out, true)
            }
            // `record`: the columns each call's column definition list gives.
            Some(ast::FunctionReturnType::DataType(dt) | ast::FunctionReturnType::SetOf(dt)) if is_record(dt) => {
                (SqlType::Unknown, Vec::new(), matches!(cf.return_type, Some(ast::FunctionReturnType::SetOf(_))))
            }
            // A table's row type: one row of its columns.
            Some(ast::FunctionReturnType::DataType(dt)) => match self.table_row_type(dt)? {
                Some(out) => (SqlType::Unknown, out, false),
                None => (declared_type(dt)?, Vec::new(), false),
            },
            Some(ast::FunctionReturnType::SetOf(dt)) => match self.table_row_type(dt)? {
                Some(out) => (SqlType::Unknown, out, true),
                None => (declared_type(dt)?, Vec::new(), true),
            },
        };
        if ret == SqlType::Void {
            return Err(SqlError::unsupported("SQL functions returning void are not supported"));
        }
        let (strict, volatility) = traits(cf);
        let record = ret == SqlType::Unknown && out.is_empty();
        let f = SqlFunction {
            oid: 0,
            name,
            args,
            ret,
            out,
            setof,
            volatility,
            strict,
            body: body_text,
            rel_oid: 0,
            record,
            plpgsql: false,
            trigger: false,
            single_out,
            procedure: false,
            options,
        };
        rows_need_a_set(&f)?;
        // pg_dump's scripts set check_function_bodies off: a body may read a table created later.
        if crate::settings::bound_value("check_function_bodies").is_none_or(|v| v != "off") {
            check_body(&f)?;
        }
        Ok(Plan::Function(FunctionPlan::Create { f, or_replace: cf.or_replace }))
    }

    /// `CREATE FUNCTION ... LANGUAGE plpgsql` ([`crate::plpgsql`]): IN parameters and a
    /// scalar or `void` result; the body is read now, so a syntax error is CREATE's.
    fn create_plpgsql_function(&mut self, cf: &ast::CreateFunction, body: String) -> Result<Plan> {
        let not_yet = |what: &str| SqlError::unsupported(format!("PL/pgSQL functions {what} are not supported yet"));
        if matches!(cf.security, Some(ast::FunctionSecurity::Definer)) {
            return Err(SqlError::unsupported("SECURITY DEFINER functions are not supported"));
        }
        let options = function_options(cf)?;
        let name = super::new_object_name(self.sql, &cf.name)?;
        let mut args: Vec<Arg> = Vec::new();
        // The OUT and INOUT parameters (an INOUT one is also an argument, of the same name).
        let mut outs: Vec<(String, SqlType)> = Vec::new();
        for a in cf.args.iter().flatten() {
            if matches!(a.mode, Some(ast::ArgMode::Out)) {
                let n = a.name.as_ref().map(ident_name).unwrap_or_else(|| format!("column{}", outs.len() + 1));
                if outs.iter().any(|o| o.0 == n) || args.iter().any(|x| x.name == n) {
                    return Err(SqlError::new("42P13", format!("parameter name \"{n}\" used more than once")));
                }
                outs.push((n, declared_type(&a.data_type)?));
                continue;
            }
            if matches!(a.mode, Some(ast::ArgMode::InOut)) {
                let Some(n) = a.name.as_ref().map(ident_name) else {
                    return Err(not_yet("with an unnamed INOUT parameter"));
                };
                outs.push((n, declared_type(&a.data_type)?));
            } else if !matches!(a.mode, None | Some(ast::ArgMode::In)) {
                return Err(not_yet("with VARIADIC parameters"));
            }
            let arg_name = a.name.as_ref().map(ident_name).unwrap_or_default();
            if !arg_name.is_empty()
                && outs.iter().any(|o| o.0 == arg_name)
                && !matches!(a.mode, Some(ast::ArgMode::InOut))
            {
                return Err(SqlError::new("42P13", format!("parameter name \"{arg_name}\" used more than once")));
            }
            if !arg_name.is_empty() && args.iter().any(|x| x.name == arg_name) {
                return Err(SqlError::new("42P13", format!("parameter name \"{arg_name}\" used more than once")));
            }
            let default = match &a.default_expr {
                Some(d) => Some(d.to_string()),
                None if args.iter().any(|x| x.default.is_some()) => {
                    return Err(SqlError::new(
                        "42P13",
                        "input parameters after one with a default value must also have defaults",
                    ))
                }
                None => None,
            };
            args.push(Arg { name: arg_name, ty: declared_type(&a.data_type)?, default });
        }
        let mut trigger = false;
        let mut setof = false;
        let is_record = |dt: &ast::DataType| dt.to_string().eq_ignore_ascii_case("record");
        // One OUT parameter: the function returns its value, of its type.
        let mut single_out = None;
        if let [(n, t)] = outs.as_slice() {
            let declared = match &cf.return_type {
                Some(ast::FunctionReturnType::DataType(dt)) => Some(dt),
                Some(ast::FunctionReturnType::SetOf(dt)) => {
                    setof = true;
                    Some(dt)
                }
                None => None,
            };
            if let Some(dt) = declared {
                if is_record(dt) || declared_type(dt)? != *t {
                    return Err(SqlError::new(
                        "42P13",
                        format!("function result type must be {} because of OUT parameters", super::type_display(*t)),
                    ));
                }
            }
            single_out = Some(n.clone());
        }
        let ret = match &cf.return_type {
            _ if single_out.is_some() => outs[0].1,
            _ if !outs.is_empty() => {
                match &cf.return_type {
                    None => {}
                    Some(ast::FunctionReturnType::DataType(dt)) if is_record(dt) => {}
                    Some(ast::FunctionReturnType::SetOf(dt)) if is_record(dt) => setof = true,
                    Some(_) => {
                        return Err(SqlError::new(
                            "42P13",
                            "function result type must be record because of OUT parameters",
                        ))
                    }
                }
                SqlType::Unknown
            }
            None => return Err(SqlError::new("42P13", "function result type must be specified")),
            Some(ast::FunctionReturnType::DataType(ast::DataType::Table(Some(cols)))) => {
                for c in cols {
                    outs.push((ident_name(&c.name), declared_type(&c.data_type)?));
                }
                setof = true;
                SqlType::Unknown
            }
            Some(ast::FunctionReturnType::DataType(ast::DataType::Table(None))) => return Err(SqlError::syntax(")")),
            Some(ast::FunctionReturnType::SetOf(dt)) => {
                if is_record(dt) || self.table_row_type(dt)?.is_some() {
                    return Err(not_yet("returning SETOF record or a table's rows"));
                }
                setof = true;
                declared_type(dt)?
            }
            Some(ast::FunctionReturnType::DataType(dt)) => {
                let written = dt.to_string().to_ascii_lowercase();
                match written.as_str() {
                    "void" => SqlType::Void,
                    "trigger" => {
                        if !args.is_empty() {
                            return Err(SqlError::new("42P13", "trigger functions cannot have declared arguments")
                                .hint(
                                "The arguments of the trigger can be accessed through TG_NARGS and TG_ARGV instead.",
                            ));
                        }
                        trigger = true;
                        SqlType::Void
                    }
                    "event_trigger" => return Err(SqlError::unsupported("event triggers are not supported")),
                    "record" => return Err(not_yet("returning record")),
                    _ => match self.table_row_type(dt)? {
                        Some(_) => return Err(not_yet("returning a table's row type")),
                        None => declared_type(dt)?,
                    },
                }
            }
        };
        // A composite type of its own (CREATE TYPE ... AS): RETURN's value is cast to it.
        if ret.is_transient_record() || matches!(ret, SqlType::Composite(o) if crate::composites::is_anonymous(o)) {
            return Err(not_yet("returning a composite type"));
        }
        let (strict, volatility) = traits(cf);
        let params: Vec<(String, SqlType)> = args.iter().map(|a| (a.name.clone(), a.ty)).collect();
        crate::plpgsql::parse_with_outs(&body, &params, &outs, crate::schema::relname(&name), trigger)?;
        let f = SqlFunction {
            oid: 0,
            name,
            args,
            ret,
            out: if single_out.is_some() { Vec::new() } else { outs },
            setof,
            volatility,
            strict,
            body,
            rel_oid: 0,
            record: false,
            plpgsql: true,
            trigger,
            single_out,
            procedure: false,
            options,
        };
        rows_need_a_set(&f)?;
        Ok(Plan::Function(FunctionPlan::Create { f, or_replace: cf.or_replace }))
    }

    /// The columns of table `dt` names (`RETURNS SETOF t`), None when it names no table.
    fn table_row_type(&mut self, dt: &ast::DataType) -> Result<Option<Vec<(String, SqlType)>>> {
        let ast::DataType::Custom(n, mods) = dt else { return Ok(None) };
        if !mods.is_empty() || super::sql_type(dt).is_ok_and(|t| !t.is_transient_record()) {
            return Ok(None);
        }
        let Ok(table) = super::object_name(self.sql, n) else { return Ok(None) };
        let Some(def) = super::lookup_table(&table) else { return Ok(None) };
        Ok(Some(def.columns.iter().map(|c| (c.name.clone(), c.ty)).collect()))
    }

    pub(super) fn drop_function(&mut self, df: &ast::DropFunction) -> Result<Plan> {
        self.drop_routines(df, false)
    }

    /// DROP FUNCTION, or (`procedures`) DROP PROCEDURE: each must be of its kind (42809).
    pub(super) fn drop_routines(&mut self, df: &ast::DropFunction, procedures: bool) -> Result<Plan> {
        let mut entries = Vec::new();
        let mut skipped = Vec::new();
        for d in &df.func_desc {
            let found = find_function(d, df.if_exists, &mut skipped, procedures)?;
            if let Some(f) = found {
                if f.procedure != procedures {
                    let kind = if procedures { "procedure" } else { "function" };
                    return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("{} is not a {kind}", f.signature())));
                }
                let entry = SqlFunction::entry_name(&f.name, &f.arg_types());
                if entries.contains(&entry) {
                    return Err(SqlError::new(
                        code::UNDEFINED_FUNCTION,
                        format!("function {} does not exist", f.signature()),
                    ));
                }
                entries.push(entry);
            }
        }
        Ok(Plan::Function(FunctionPlan::Drop { entries, skipped, procedures }))
    }

    /// `CALL p(args)`: `SELECT p(args)` bound with procedures allowed; its one row is the
    /// procedure's OUT parameters.
    pub(super) fn call_procedure(&mut self, f: &ast::Function) -> Result<(Plan, Vec<super::OutputColumn>)> {
        let q = Parser::new(&PostgreSqlDialect {})
            .try_with_sql(&format!("SELECT {f}"))
            .and_then(|mut p| p.parse_query())
            .map_err(|e| SqlError::new(code::SYNTAX_ERROR, e.to_string()))?;
        CALLING.with(|c| *c.borrow_mut() = Some(None));
        let bound = self.query(&q);
        let called = CALLING.with(|c| c.borrow_mut().take()).flatten();
        let (query, _) = bound?;
        let Some(p) = called else {
            return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("{f} is not a procedure"))
                .hint("To call a function, use SELECT."));
        };
        let column =
            |name: &str, ty: SqlType| super::OutputColumn { name: name.to_string(), ty, table_oid: 0, column: 0 };
        let columns: Vec<super::OutputColumn> = match (&p.single_out, p.out.is_empty()) {
            (Some(n), _) => vec![column(n, p.ret)],
            (None, false) => p.out.iter().map(|(n, t)| column(n, *t)).collect(),
            (None, true) => vec![],
        };
        Ok((Plan::Call { query: Box::new(query), outputs: columns.len() }, columns))
    }

    /// `ALTER FUNCTION f[(argtypes)] OWNER TO r` (pg_dump's scripts): every function is the
    /// bootstrap superuser's, so OWNER TO it changes nothing, as in PostgreSQL; another role, and
    /// the other actions, are 0A000.
    pub(super) fn alter_function(&mut self, af: &ast::AlterFunction) -> Result<Plan> {
        if !matches!(af.kind, ast::AlterFunctionKind::Function) {
            return Err(SqlError::unsupported("ALTER AGGREGATE is not supported"));
        }
        let ast::AlterFunctionOperation::OwnerTo(owner) = &af.operation else {
            return Err(SqlError::unsupported("ALTER FUNCTION is only supported for OWNER TO"));
        };
        let mut skipped = Vec::new();
        if find_function(&af.function, false, &mut skipped, false)?.is_none() {
            return Err(SqlError::internal("function not found"));
        }
        if super::lock::owner_oid(owner)? != 10 {
            return Err(SqlError::unsupported("changing a function's owner is not supported (Orbit keeps no owners)"));
        }
        Ok(Plan::Skipped { tag: "ALTER FUNCTION", notice: String::new() })
    }

    /// The type of a FROM item's argument `e` when it binds on its own (None when it reads
    /// columns of the FROM items before it). What binding noted (aggregates) is taken back.
    fn probe_type(&mut self, e: &ast::Expr) -> Option<SqlType> {
        let noted = self.noted();
        let t = self.expr(e, None).map(|x| x.ty());
        self.forget_since(noted);
        t.ok()
    }

    /// How many aggregates and subqueries this level has noted so far.
    fn noted(&mut self) -> (usize, usize) {
        (self.aggs.len(), self.sub.links_vec().len())
    }

    /// Forgets the aggregates and subqueries noted since [`Binder::noted`] said `at` (an
    /// expression bound only to learn its type, or bound again by another path).
    fn forget_since(&mut self, at: (usize, usize)) {
        self.aggs.truncate(at.0);
        self.sub.links_vec().truncate(at.1);
    }

    /// A call of a SQL function bound by inlining its body; None when no SQL function has the
    /// name (a built-in's then). The arguments are bound here, once; the body reads each as an
    /// identifier only this call's arguments answer to ([`Binder::sql_function_argument`]),
    /// so no name of the body's FROM can capture them.
    pub(super) fn sql_function_call(
        &mut self,
        f: &ast::Function,
        scope: Option<&Scope>,
    ) -> Result<Option<super::Expr>> {
        // Taken first: an argument's own PL/pgSQL call must not see it.
        let as_rows = AS_ROWS.with(|r| r.replace(false));
        let Ok(parts) = name_parts(&f.name) else { return Ok(None) };
        let cands = crate::functions_sql::resolve(&parts);
        if cands.is_empty() {
            return Ok(None);
        }
        let Some(call) = call_args(f)? else { return Ok(None) };
        let noted = self.noted();
        let mut given = Vec::new();
        // CALL's procedure is this call, not one in its arguments.
        let calling = CALLING.with(|c| c.borrow_mut().take());
        let bound: Result<()> = call
            .positional
            .iter()
            .chain(call.named.iter().map(|(_, e)| e))
            .try_for_each(|e| self.expr(e, scope).map(|b| given.push(b)));
        CALLING.with(|c| *c.borrow_mut() = calling);
        bound?;
        let npos = call.positional.len();
        let pos_types: Vec<Option<SqlType>> = given[..npos].iter().map(|e| Some(e.ty())).collect();
        let named_types: Vec<(String, Option<SqlType>)> =
            call.named.iter().zip(&given[npos..]).map(|((n, _), e)| (n.clone(), Some(e.ty()))).collect();
        let (func, map) = match choose(&cands, &parts, &pos_types, &named_types) {
            Ok(chosen) => chosen,
            // None of them fits: a built-in function of the name may (its own 42883 if not),
            // which binds the arguments again.
            Err(e) if e.code == code::UNDEFINED_FUNCTION && parts.len() == 1 && call.named.is_empty() => {
                self.forget_since(noted);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let mut args = Vec::with_capacity(func.args.len());
        for (a, m) in func.args.iter().zip(&map) {
            let e = match m {
                Some(i) => given[*i].clone(),
                None => self.expr(&parse_expr(a.default.as_deref().unwrap_or("NULL"))?, None)?,
            };
            let to = a.ty;
            args.push(self.coerce(e, to, CastContext::Explicit, |from| {
                SqlError::new("42846", format!("cannot cast type {} to {}", from.name(), to.name()))
            })?);
        }
        if func.trigger {
            return Err(SqlError::unsupported("trigger functions can only be called as triggers"));
        }
        // A procedure only by CALL; CALL only a procedure.
        let calling = CALLING.with(|c| c.borrow().is_some());
        if func.procedure != calling {
            let e = if calling {
                SqlError::new(code::WRONG_OBJECT_TYPE, format!("{} is not a procedure", func.signature()))
                    .hint("To call a function, use SELECT.")
            } else {
                SqlError::new(code::WRONG_OBJECT_TYPE, format!("{} is a procedure", func.signature()))
                    .hint("To call a procedure, use CALL.")
            };
            return Err(e);
        }
        if calling {
            CALLING.with(|c| *c.borrow_mut() = Some(Some((*func).clone())));
        }
        if func.plpgsql {
            // Called, not inlined: the coordinator makes the call before the row is
            // evaluated ([`crate::plpgsql`]).
            let row = crate::plpgsql::row_type(&func)?;
            if as_rows {
                let ty = row.array_of().ok_or_else(|| SqlError::unsupported("an array of this result type"))?;
                return Ok(Some(super::Expr::Call(crate::scalar::Builtin::PlCall(func.oid, true), args, ty)));
            }
            if func.setof {
                // In a select list: the unnest of its rows.
                let e = parse_expr(&format!("unnest({PLPGSQL_ROWS}({f}))"))?;
                self.forget_since(noted);
                return Ok(Some(self.expr(&e, scope)?));
            }
            return Ok(Some(super::Expr::Call(crate::scalar::Builtin::PlCall(func.oid, false), args, row)));
        }
        let id = NEXT_CALL.with(|c| {
            c.set(c.get().wrapping_add(1));
            c.get()
        });
        let holes: Vec<ast::Expr> = (0..args.len())
            .map(|i| ast::Expr::Identifier(ast::Ident::with_quote('"', format!("{ARG_HOLE}{id} {i}"))))
            .collect();
        let body = self.inlined(&func, &holes)?;
        // An argument with a volatile call (nextval, random(), clock_timestamp(), ...) that the
        // body reads more than once would be computed once per read here; PostgreSQL does not
        // inline such a call and computes the argument once. Orbit only inlines: refused.
        for (i, a) in args.iter().enumerate() {
            if volatile(a) && hole_uses(&body, &format!("{ARG_HOLE}{id} {i}")) > 1 {
                return Err(SqlError::unsupported(format!(
                    "a volatile argument (such as nextval() or random()) that the body of {} reads more than once is not supported yet",
                    func.signature()
                )));
            }
        }
        let _expanding = Expanding::enter(&func)?;
        let level = self.sub.depth();
        ARGS.with(|s| s.borrow_mut().push(BoundArgs { call: id, level, args }));
        let _in_scope = ArgsInScope;
        Ok(Some(self.expr(&body, scope)?))
    }

    /// The argument of an inlined call an identifier of its body names ([`ARG_HOLE`]): itself
    /// at the call's level, an outer reference to it from a subquery of the body.
    pub(super) fn sql_function_argument(
        &mut self,
        qualifier: Option<&ast::Ident>,
        id: &ast::Ident,
    ) -> Option<super::Expr> {
        if qualifier.is_some() || id.quote_style != Some('"') {
            return None;
        }
        let (call, i) = id.value.strip_prefix(ARG_HOLE)?.split_once(' ')?;
        let (call, i): (usize, usize) = (call.parse().ok()?, i.parse().ok()?);
        let (level, e) = ARGS.with(|s| {
            s.borrow().iter().find(|a| a.call == call).and_then(|a| Some((a.level, a.args.get(i)?.clone())))
        })?;
        if level >= self.sub.depth() {
            return Some(e);
        }
        let r = self.sub.fresh_id();
        let ty = e.ty();
        self.sub.capture(level, r, e, Vec::new());
        Some(super::Expr::Param(crate::relation::OUTER_BASE + r, ty))
    }

    /// The AST a call of `func` stands for, `args` standing for its parameters.
    fn inlined(&mut self, func: &SqlFunction, args: &[ast::Expr]) -> Result<ast::Expr> {
        let mut q = body_query(func)?;
        substitute(&mut q, func, args);
        // A composite result given as its fields: a record of them; rows of several columns
        // (OUT parameters, a table's row type) an anonymous record of them.
        let q = match composite_fields(func) {
            Some(fields) if !one_composite_column(&q, fields.len()) => as_records(q, func.ret, &fields)?,
            // `record`: the body's row as an anonymous record.
            _ if func.record => {
                let mut outer = parse_query("SELECT ROW(\"orbit body\".*) FROM (SELECT 1) AS \"orbit body\"")?;
                set_from_subquery(&mut outer, q);
                outer
            }
            _ if func.returns_rows() => {
                let names: Vec<String> = func.out.iter().map(|(n, _)| quoted(n)).collect();
                let mut outer =
                    parse_query(&format!("SELECT ROW({}) FROM (SELECT 1) AS \"orbit body\"", names.join(", ")))?;
                set_from_subquery(&mut outer, shaped(record_rows_as_columns(q, func.out.len())?, &func.out)?);
                outer
            }
            _ => q,
        };
        if (func.returns_rows() || func.record) && !func.setof {
            let mut outer = parse_query("SELECT * FROM (SELECT 1) AS \"orbit body\" LIMIT 1")?;
            set_from_subquery(&mut outer, q);
            return strict(func, args, ast::Expr::Subquery(Box::new(outer)));
        }
        if func.setof {
            // In the select list: unnest(ARRAY(query)).
            let name = crate::schema::relname(&func.name).to_string();
            let q = if func.returns_rows() || func.record { q } else { shaped(q, &[(name, func.ret)])? };
            let mut e = parse_expr("unnest(ARRAY(SELECT 1))")?;
            let _ = ast::visit_expressions_mut(&mut e, |x| {
                if let ast::Expr::Function(f) = x {
                    if let ast::FunctionArguments::Subquery(s) = &mut f.args {
                        **s = q.clone();
                    }
                }
                ControlFlow::<()>::Continue(())
            });
            return strict(func, args, e);
        }
        let e = match single_expression(&q) {
            Some(e) => e,
            None if q.limit_clause.is_none() && q.fetch.is_none() => {
                // The first row, as PostgreSQL's SQL function returns it.
                let mut limited = parse_query("SELECT 1 LIMIT 1")?;
                limited.body = q.body;
                limited.with = q.with;
                limited.order_by = q.order_by;
                ast::Expr::Subquery(Box::new(limited))
            }
            None => {
                let mut outer = parse_query("SELECT * FROM (SELECT 1) AS \"orbit body\" LIMIT 1")?;
                set_from_subquery(&mut outer, q);
                ast::Expr::Subquery(Box::new(outer))
            }
        };
        strict(func, args, cast(e, func.ret)?)
    }

    /// `q` with each call of a set-returning SQL function in its FROM clause written as the
    /// derived table of its query; None when it has none.
    pub(super) fn sql_functions_in_from(&mut self, q: &ast::Query) -> Result<Option<ast::Query>> {
        let ast::SetExpr::Select(sel) = q.body.as_ref() else { return Ok(None) };
        // (Only FROM is copied until something in it changes.)
        let mut from = sel.from.clone();
        let mut changed = false;
        for twj in &mut from {
            changed |= self.rewrite_from_item(&mut twj.relation)?;
            for j in &mut twj.joins {
                changed |= self.rewrite_from_item(&mut j.relation)?;
            }
        }
        if !changed {
            return Ok(None);
        }
        let mut out = q.clone();
        if let ast::SetExpr::Select(sel) = out.body.as_mut() {
            sel.from = from;
        }
        Ok(Some(out))
    }

    /// `"orbit plpgsql rows"(f(...))`: the call bound as its rows' array (None for another
    /// function).
    pub(super) fn plpgsql_rows(&mut self, f: &ast::Function, scope: Option<&Scope>) -> Result<Option<super::Expr>> {
        if f.name.to_string() != PLPGSQL_ROWS {
            return Ok(None);
        }
        let ast::FunctionArguments::List(l) = &f.args else { return Ok(None) };
        let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Function(call)))] = l.args.as_slice()
        else {
            return Ok(None);
        };
        AS_ROWS.with(|r| r.set(true));
        let e = self.sql_function_call(call, scope);
        AS_ROWS.with(|r| r.set(false));
        e
    }

    /// A set-returning PL/pgSQL function (or one of OUT parameters) in FROM: the unnest of
    /// its rows' array, with its columns' names.
    fn plpgsql_from_item(&mut self, t: &mut ast::TableFactor, func: &SqlFunction) -> Result<bool> {
        let ast::TableFactor::Table { name, alias, args: Some(targs), with_ordinality, .. } = &*t else {
            return Ok(false);
        };
        let fname = crate::schema::relname(&func.name).to_string();
        let alias_name = alias.as_ref().map_or(fname.clone(), |a| fold(&a.name));
        // A composite type's rows: a column per field.
        let fields: Option<Vec<String>> = match func.ret {
            SqlType::Composite(oid) if func.out.is_empty() && !crate::composites::is_anonymous(oid) => {
                Some(crate::composites::fields_of(oid)?.into_iter().map(|f| f.name).collect())
            }
            _ => None,
        };
        let mut columns: Vec<String> = match (&func.single_out, func.out.is_empty(), fields) {
            // One OUT parameter names the column (an alias names it otherwise).
            (Some(n), _, _) => vec![n.clone()],
            (_, true, Some(fields)) => fields,
            (_, true, None) => vec![alias_name.clone()],
            (_, false, _) => func.out.iter().map(|c| c.0.clone()).collect(),
        };
        let width = columns.len();
        if let Some(a) = alias {
            if a.columns.len() > columns.len() + *with_ordinality as usize {
                return Err(SqlError::new("42601", format!("too many column aliases specified for function {fname}")));
            }
            for (i, given) in a.columns.iter().enumerate() {
                match columns.get_mut(i) {
                    Some(c) => *c = fold(&given.name),
                    None => columns.push(fold(&given.name)),
                }
            }
        }
        if *with_ordinality && columns.len() == width {
            columns.push("ordinality".into());
        }
        let args: Vec<String> = targs.args.iter().map(ToString::to_string).collect();
        let cols: Vec<String> = columns.iter().map(|c| quoted(c)).collect();
        let q = parse_query(&format!(
            "SELECT * FROM unnest({PLPGSQL_ROWS}({name}({}))){} AS {}({})",
            args.join(", "),
            if *with_ordinality { " WITH ORDINALITY" } else { "" },
            quoted(&alias_name),
            cols.join(", ")
        ))?;
        let ast::SetExpr::Select(mut sel) = *q.body else { return Ok(false) };
        let Some(rel) = sel.from.pop().map(|t| t.relation) else { return Ok(false) };
        *t = rel;
        Ok(true)
    }

    fn rewrite_from_item(&mut self, t: &mut ast::TableFactor) -> Result<bool> {
        let ast::TableFactor::Table { name, alias, args: Some(targs), with_ordinality, .. } = t else {
            return Ok(false);
        };
        let ordinality = *with_ordinality;
        let Ok(parts) = name_parts(name) else { return Ok(false) };
        let cands = crate::functions_sql::resolve(&parts);
        if let Some(f) =
            cands.iter().find(|f| f.plpgsql && (f.setof || f.returns_rows() || composite_fields(f).is_some())).cloned()
        {
            return self.plpgsql_from_item(t, &f);
        }
        if !cands.iter().any(|f| f.setof || f.returns_rows() || f.record || composite_fields(f).is_some()) {
            return Ok(false);
        }
        let call = CallArgs::of(&targs.args)?;
        let Some(call) = call else { return Ok(false) };
        let mut pos_types = Vec::new();
        for e in &call.positional {
            pos_types.push(self.probe_type(e));
        }
        let mut named_types = Vec::new();
        for (n, e) in &call.named {
            named_types.push((n.clone(), self.probe_type(e)));
        }
        let (func, map) = choose(&cands, &parts, &pos_types, &named_types)?;
        let fields = composite_fields(&func);
        if !func.setof && !func.returns_rows() && !func.record && fields.is_none() {
            return Ok(false);
        }
        if self.sub.query_depth() > MAX_FROM_DEPTH {
            return Err(SqlError::unsupported(format!(
                "SQL functions nested more than {MAX_FROM_DEPTH} deep in FROM are not supported ({} may call itself; Orbit inlines SQL functions when it binds a statement)",
                func.signature()
            )));
        }
        let fname = crate::schema::relname(&func.name).to_string();
        let alias_name = alias.as_ref().map_or(fname.clone(), |a| fold(&a.name));
        // A composite result is a row of its fields, as PostgreSQL expands it in FROM.
        let mut columns: Vec<(String, SqlType)> = if func.returns_rows() {
            func.out.clone()
        } else if func.record {
            let at = self.pos(&sqlparser::ast::Spanned::span(&*name));
            definition_list(alias.as_ref()).map_err(|e| e.at(at))?
        } else if let Some(f) = &fields {
            f.clone()
        } else {
            vec![(alias_name.clone(), func.ret)]
        };
        let mut ord_name = "ordinality".to_string();
        if let Some(a) = alias.as_ref().filter(|_| !func.record) {
            if a.columns.len() > columns.len() + ordinality as usize {
                return Err(SqlError::new("42601", format!("too many column aliases specified for function {fname}")));
            }
            for (c, given) in columns.iter_mut().zip(&a.columns) {
                c.0 = fold(&given.name);
            }
            if let Some(o) = a.columns.get(columns.len()) {
                ord_name = fold(&o.name);
            }
        }
        let args = argument_asts(&func, &call, &map)?;
        // Arguments that read columns are computed first, in a one-row derived table the body
        // reads them from by its unique name: written into the body they could be captured by
        // a column of the body's own FROM.
        let lift = call.reads_columns() && !args.is_empty();
        let refs: Vec<ast::Expr> = if lift {
            (0..args.len())
                .map(|i| {
                    ast::Expr::CompoundIdentifier(vec![
                        ast::Ident::with_quote('"', LIFTED),
                        ast::Ident::with_quote('"', format!("a{i}")),
                    ])
                })
                .collect()
        } else {
            args.clone()
        };
        let mut q = body_query(&func)?;
        substitute(&mut q, &func, &refs);
        let mut q = match &fields {
            // The body's columns (or its one composite column's fields), named as the aliases say.
            Some(f) => shaped(as_fields(q, func.ret, f)?, &columns)?,
            None if func.returns_rows() => shaped(record_rows_as_columns(q, columns.len())?, &columns)?,
            None => shaped(q, &columns)?,
        };
        if !func.setof {
            // One row of several columns (OUT parameters): the body's first.
            let mut outer = parse_query("SELECT * FROM (SELECT 1) AS \"orbit body\" LIMIT 1")?;
            set_from_subquery(&mut outer, q);
            q = outer;
        }
        let strict_if = strict_condition(&func, &refs)?;
        let q = if lift {
            let items: Vec<String> = (0..args.len()).map(|i| format!("{} AS \"a{i}\"", hole(i))).collect();
            let filter = if strict_if.is_some() { format!(" WHERE NOT ({})", hole(args.len())) } else { String::new() };
            let mut outer = parse_query(&format!(
                "SELECT \"orbit body\".* FROM (SELECT {}) AS \"{LIFTED}\", LATERAL (SELECT 1) AS \"orbit body\"{filter}",
                items.join(", ")
            ))?;
            let mut fills = args.clone();
            fills.extend(strict_if);
            fill(&mut outer, &fills);
            if let ast::SetExpr::Select(sel) = outer.body.as_mut() {
                if let Some(ast::TableFactor::Derived { subquery, .. }) = sel.from.get_mut(1).map(|t| &mut t.relation) {
                    **subquery = q;
                }
            }
            outer
        } else {
            match strict_if {
                Some(c) => {
                    let mut outer =
                        parse_query(&format!("SELECT * FROM (SELECT 1) AS \"orbit body\" WHERE NOT ({})", hole(0)))?;
                    fill(&mut outer, &[c]);
                    set_from_subquery(&mut outer, q);
                    outer
                }
                None => q,
            }
        };
        // WITH ORDINALITY: the rows numbered in the order the body gives them.
        let q = if ordinality {
            let mut outer = parse_query(&format!(
                "SELECT *, row_number() OVER () AS {} FROM (SELECT 1) AS \"orbit body\"",
                quoted(&ord_name)
            ))?;
            set_from_subquery(&mut outer, q);
            outer
        } else {
            q
        };
        let mut derived_q = parse_query(&format!("SELECT * FROM (SELECT 1) AS {}", quoted(&alias_name)))?;
        let ast::SetExpr::Select(sel) = derived_q.body.as_mut() else { return Ok(false) };
        let Some(mut derived) = sel.from.pop().map(|t| t.relation) else { return Ok(false) };
        let reads_columns = call.reads_columns();
        if let ast::TableFactor::Derived { lateral, subquery, .. } = &mut derived {
            *lateral = reads_columns;
            **subquery = q;
        }
        *t = derived;
        Ok(true)
    }
}

/// The function a DROP or ALTER FUNCTION names (None: not found, its NOTICE added to
/// `skipped` under IF EXISTS): by its argument types, or by its name alone when it has no
/// overloads (42725 otherwise).
fn find_function(
    d: &ast::FunctionDesc,
    if_exists: bool,
    skipped: &mut Vec<String>,
    procedures: bool,
) -> Result<Option<Arc<SqlFunction>>> {
    let parts = name_parts(&d.name)?;
    let shown = parts.join(".");
    let cands = crate::functions_sql::resolve(&parts);
    // A procedure's OUT parameters are arguments of its (CALL's) signature.
    let kind = if procedures { "procedure" } else { "function" };
    Ok(match &d.args {
        Some(args) => {
            let types = args
                .iter()
                .filter(|a| procedures || !matches!(a.mode, Some(ast::ArgMode::Out)))
                .map(|a| declared_type(&a.data_type))
                .collect::<Result<Vec<_>>>()?;
            match cands.iter().find(|f| f.arg_types() == types) {
                Some(f) => Some(f.clone()),
                None => {
                    let list: Vec<String> = types.iter().map(|t| super::type_display(*t)).collect();
                    let what = format!("{kind} {shown}({}) does not exist", list.join(", "));
                    if !if_exists {
                        return Err(SqlError::new(code::UNDEFINED_FUNCTION, what));
                    }
                    skipped.push(format!("{what}, skipping"));
                    None
                }
            }
        }
        None => match cands.as_slice() {
            [f] => Some(f.clone()),
            [] if if_exists => {
                skipped.push(format!("{kind} {shown}() does not exist, skipping"));
                None
            }
            [] => {
                return Err(SqlError::new(
                    code::UNDEFINED_FUNCTION,
                    format!("could not find a function named \"{shown}\""),
                ))
            }
            _ => {
                return Err(SqlError::new("42725", format!("function name \"{shown}\" is not unique"))
                    .hint("Specify the argument list to select the function unambiguously."))
            }
        },
    })
}

/// Whether an inlined function's body is being bound.
pub(super) fn inlining() -> bool {
    EXPANDING.with(|s| !s.borrow().is_empty())
}

/// Keeps a function on the stack of those being inlined while its body is bound.
struct Expanding;

impl Expanding {
    fn enter(f: &SqlFunction) -> Result<Expanding> {
        EXPANDING.with(|s| {
            let mut s = s.borrow_mut();
            if s.contains(&f.oid) {
                return Err(SqlError::unsupported(format!(
                    "recursive SQL function calls are not supported: {} calls itself (Orbit inlines SQL functions when it binds a statement)",
                    f.signature()
                )));
            }
            if s.len() >= MAX_DEPTH {
                return Err(SqlError::new("54001", "stack depth limit exceeded"));
            }
            s.push(f.oid);
            Ok(Expanding)
        })
    }
}

impl Drop for Expanding {
    fn drop(&mut self) {
        EXPANDING.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

fn name_parts(name: &ast::ObjectName) -> Result<Vec<String>> {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
    if parts.len() != name.0.len() || parts.is_empty() || parts.len() > 2 {
        return Err(SqlError::syntax(&name.to_string()));
    }
    Ok(parts)
}

/// A call's arguments: positional ones, then `name => value` ones.
struct CallArgs {
    positional: Vec<ast::Expr>,
    named: Vec<(String, ast::Expr)>,
}

impl CallArgs {
    fn of(list: &[ast::FunctionArg]) -> Result<Option<CallArgs>> {
        let mut c = CallArgs { positional: Vec::new(), named: Vec::new() };
        for a in list {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    if !c.named.is_empty() {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            "positional argument cannot follow named argument",
                        ));
                    }
                    c.positional.push(e.clone());
                }
                ast::FunctionArg::Named { name, arg: ast::FunctionArgExpr::Expr(e), .. } => {
                    c.named.push((fold(name), e.clone()))
                }
                ast::FunctionArg::ExprNamed {
                    name: ast::Expr::Identifier(name),
                    arg: ast::FunctionArgExpr::Expr(e),
                    ..
                } => c.named.push((fold(name), e.clone())),
                _ => return Ok(None),
            }
        }
        Ok(Some(c))
    }

    fn reads_columns(&self) -> bool {
        let mut found = false;
        for e in self.positional.iter().chain(self.named.iter().map(|(_, e)| e)) {
            let _ = ast::visit_expressions(e, |x: &ast::Expr| {
                if matches!(x, ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_)) {
                    found = true;
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            });
        }
        found
    }
}

/// The call's arguments when it is a plain call (None: a clause only aggregates take, left to
/// the built-in functions' errors).
fn call_args(f: &ast::Function) -> Result<Option<CallArgs>> {
    if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
        return Ok(None);
    }
    match &f.args {
        ast::FunctionArguments::None => Ok(Some(CallArgs { positional: Vec::new(), named: Vec::new() })),
        ast::FunctionArguments::List(l) if l.clauses.is_empty() && l.duplicate_treatment.is_none() => {
            CallArgs::of(&l.args)
        }
        _ => Ok(None),
    }
}

/// PostgreSQL's preferred types of their categories (func_select_candidate's tie-break).
fn preferred(t: SqlType) -> bool {
    matches!(t, SqlType::Text | SqlType::Float8 | SqlType::Bool | SqlType::TimestampTz(_) | SqlType::Interval(_))
}

/// The function a call resolves to and, per parameter, the call's argument that gives it
/// (positional ones first, then named; None: its DEFAULT). An argument type None is unknown
/// (a FROM item's argument reading columns): it fits any parameter.
#[allow(clippy::type_complexity)]
fn choose(
    cands: &[Arc<SqlFunction>],
    parts: &[String],
    pos: &[Option<SqlType>],
    named: &[(String, Option<SqlType>)],
) -> Result<(Arc<SqlFunction>, Vec<Option<usize>>)> {
    // (exact matches, preferred-type matches, string parameters for unknown literals,
    // candidate, map): PostgreSQL's func_select_candidate's criteria, in its order.
    let mut fits: Vec<((usize, usize, usize), &Arc<SqlFunction>, Vec<Option<usize>>)> = Vec::new();
    'cand: for f in cands {
        let n = f.args.len();
        if pos.len() > n {
            continue;
        }
        let mut map: Vec<Option<usize>> = (0..n).map(|j| (j < pos.len()).then_some(j)).collect();
        for (k, (name, _)) in named.iter().enumerate() {
            let Some(j) = f.args.iter().position(|a| !a.name.is_empty() && &a.name == name) else { continue 'cand };
            if map[j].is_some() {
                continue 'cand;
            }
            map[j] = Some(pos.len() + k);
        }
        if map.iter().zip(&f.args).any(|(m, a)| m.is_none() && a.default.is_none()) {
            continue;
        }
        let (mut exact, mut pref, mut strings) = (0, 0, 0);
        for (j, m) in map.iter().enumerate() {
            let Some(i) = m else { continue };
            let given = if *i < pos.len() { pos[*i] } else { named[*i - pos.len()].1 };
            let want = f.args[j].ty;
            match given {
                Some(SqlType::Unknown) => strings += want.is_string() as usize,
                None => {}
                Some(g) if g == want => exact += 1,
                Some(g) if types::can_cast(g, want, CastContext::Implicit) => pref += preferred(want) as usize,
                Some(_) => continue 'cand,
            }
        }
        fits.push(((exact, pref, strings), f, map));
    }
    let shown_types = || {
        let mut v: Vec<String> = pos.iter().map(|t| t.map_or("unknown".to_string(), super::type_display)).collect();
        v.extend(named.iter().map(|(n, t)| format!("{n} => {}", t.map_or("unknown".to_string(), super::type_display))));
        v.join(", ")
    };
    let best = fits.iter().map(|f| f.0).max();
    let Some(best) = best else {
        return Err(SqlError::new(
            code::UNDEFINED_FUNCTION,
            format!("function {}({}) does not exist", parts.join("."), shown_types()),
        )
        .hint("No function matches the given name and argument types. You might need to add explicit type casts."));
    };
    let mut top = fits.into_iter().filter(|f| f.0 == best);
    let first = top.next().map(|(_, f, m)| (f.clone(), m));
    if top.next().is_some() {
        return Err(SqlError::new("42725", format!("function {}({}) is not unique", parts.join("."), shown_types()))
            .hint("Could not choose a best candidate function. You might need to add explicit type casts."));
    }
    first.ok_or_else(|| SqlError::internal("no function chosen"))
}

/// Per parameter, the expression a call gives it: its argument or DEFAULT, cast to its type.
fn argument_asts(func: &SqlFunction, call: &CallArgs, map: &[Option<usize>]) -> Result<Vec<ast::Expr>> {
    let mut out = Vec::with_capacity(func.args.len());
    for (a, m) in func.args.iter().zip(map) {
        let e = match m {
            Some(i) if *i < call.positional.len() => call.positional[*i].clone(),
            Some(i) => call.named[*i - call.positional.len()].1.clone(),
            None => parse_expr(a.default.as_deref().unwrap_or("NULL"))?,
        };
        out.push(cast(e, a.ty)?);
    }
    Ok(out)
}

/// The body's last statement, which [`check_body`] made sure is a query.
/// The fields of the composite type a function returns (`RETURNS pair`, `RETURNS SETOF pair`
/// for a CREATE TYPE ... AS type), None for any other result.
fn composite_fields(func: &SqlFunction) -> Option<Vec<(String, SqlType)>> {
    match func.ret {
        SqlType::Composite(oid) if !func.returns_rows() && !func.ret.is_transient_record() => {
            crate::composites::fields_of(oid).ok().map(|f| f.into_iter().map(|c| (c.name, c.ty)).collect())
        }
        _ => None,
    }
}

/// Whether a body returns its composite result as one column (`SELECT ROW(1, 'a')::pair`)
/// rather than its fields as columns (`SELECT 1, 'a'`): a plain SELECT of one item, for a
/// type of more than one field.
fn one_composite_column(q: &ast::Query, fields: usize) -> bool {
    fields > 1
        && matches!(q.body.as_ref(), ast::SetExpr::Select(sel) if sel.projection.len() == 1
            && matches!(sel.projection[0], ast::SelectItem::UnnamedExpr(_) | ast::SelectItem::ExprWithAlias { .. }))
}

/// A body's rows as its composite result's fields: the fields of its one composite column
/// (`SELECT (c).f1 AS f1, ...`), or its columns named and cast as the fields ([`shaped`]).
fn as_fields(q: ast::Query, ret: SqlType, fields: &[(String, SqlType)]) -> Result<ast::Query> {
    if !one_composite_column(&q, fields.len()) {
        return shaped(q, fields);
    }
    let items: Vec<String> =
        fields.iter().map(|(n, _)| format!("(CAST(\"c\" AS {})).{} AS {}", ret.name(), quoted(n), quoted(n))).collect();
    let mut outer = parse_query(&format!("SELECT {} FROM (SELECT 1) AS \"orbit body\"(\"c\")", items.join(", ")))?;
    set_from_subquery(&mut outer, q);
    Ok(outer)
}

/// A body of rows of several columns (OUT parameters, a table's row type) that returns each
/// row as one record (`SELECT (1, 2.1)`): its fields as columns (`(c).*`), as PostgreSQL
/// takes them; any other body as it is.
fn record_rows_as_columns(q: ast::Query, columns: usize) -> Result<ast::Query> {
    if !one_composite_column(&q, columns) {
        return Ok(q);
    }
    let star = super::whole_row::FIELD_STAR;
    let mut outer = parse_query(&format!("SELECT \"{star}\"(\"c\") FROM (SELECT 1) AS \"orbit body\"(\"c\")"))?;
    set_from_subquery(&mut outer, q);
    Ok(outer)
}

/// A body's rows as values of its composite result type: `SELECT ROW(f1, ...)::type` over
/// [`as_fields`].
fn as_records(q: ast::Query, ret: SqlType, fields: &[(String, SqlType)]) -> Result<ast::Query> {
    let names: Vec<String> = fields.iter().map(|(n, _)| quoted(n)).collect();
    let mut outer = parse_query(&format!(
        "SELECT CAST(ROW({}) AS {}) FROM (SELECT 1) AS \"orbit body\"",
        names.join(", "),
        ret.name()
    ))?;
    set_from_subquery(&mut outer, as_fields(q, ret, fields)?);
    Ok(outer)
}

/// A column definition list (`f() AS t(a int, b text)`) of a call of a function returning
/// `record`: its columns, each with a type (42601 without one, as PostgreSQL says).
fn definition_list(alias: Option<&ast::TableAlias>) -> Result<Vec<(String, SqlType)>> {
    let required = || SqlError::new("42601", "a column definition list is required for functions returning \"record\"");
    let Some(a) = alias.filter(|a| !a.columns.is_empty()) else { return Err(required()) };
    a.columns
        .iter()
        .map(|c| match &c.data_type {
            Some(dt) => Ok((fold(&c.name), super::sql_type(dt)?)),
            None => Err(required()),
        })
        .collect()
}

/// A name as a quoted identifier in SQL text the rewrites here parse.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn body_query(func: &SqlFunction) -> Result<ast::Query> {
    let mut statements = parse_statements(&func.body)?;
    let n = statements.len();
    match statements.pop() {
        Some(ast::Statement::Query(q)) if n == 1 => Ok(*q),
        // Created with check_function_bodies off.
        _ => Err(SqlError::unsupported(format!(
            "SQL functions whose body is not one SELECT are not supported ({})",
            func.signature()
        ))),
    }
}

/// `q` with `$n` and the parameters' names (bare, or qualified by the function's name)
/// replaced by `args`.
fn substitute(q: &mut ast::Query, func: &SqlFunction, args: &[ast::Expr]) {
    let short = crate::schema::relname(&func.name).to_string();
    let by_name = |id: &ast::Ident| func.args.iter().position(|a| !a.name.is_empty() && a.name == fold(id));
    let _ = ast::visit_expressions_mut(q, |e| {
        let at = match &*e {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Placeholder(p) => {
                    p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()).and_then(|n| n.checked_sub(1))
                }
                _ => None,
            },
            ast::Expr::Identifier(id) => by_name(id),
            ast::Expr::CompoundIdentifier(ids) if ids.len() == 2 && fold(&ids[0]) == short => by_name(&ids[1]),
            _ => None,
        };
        if let Some(a) = at.and_then(|i| args.get(i)) {
            *e = ast::Expr::Nested(Box::new(a.clone()));
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Whether `e` calls something whose value may differ from call to call (or that changes
/// state: a sequence, a sleep, an advisory lock).
fn volatile(e: &super::Expr) -> bool {
    let mut found = false;
    e.visit(&mut |x| {
        found |= match x {
            // now() and the other transaction-time functions are the same at every read.
            super::Expr::Func(f, _, _) => {
                matches!(
                    f,
                    crate::expr::Func::Random | crate::expr::Func::GenRandomUuid | crate::expr::Func::ClockTimestamp
                )
            }
            super::Expr::Call(f, _, _) => {
                f.is_sequence()
                    || matches!(
                        f,
                        crate::scalar::Builtin::Sleep(_)
                            | crate::scalar::Builtin::Advisory(_)
                            | crate::scalar::Builtin::PlCall(..)
                    )
            }
            _ => false,
        }
    });
    found
}

/// How many times the inlined body `body` names the argument hole `name`.
fn hole_uses(body: &ast::Expr, name: &str) -> usize {
    let mut n = 0;
    let _ = ast::visit_expressions(body, |e| {
        if matches!(e, ast::Expr::Identifier(id) if id.value == name) {
            n += 1;
        }
        ControlFlow::<()>::Continue(())
    });
    n
}

/// The expression of a body `SELECT expr` without FROM, WHERE or other clauses.
fn single_expression(q: &ast::Query) -> Option<ast::Expr> {
    if q.with.is_some() || q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
        return None;
    }
    let ast::SetExpr::Select(s) = q.body.as_ref() else { return None };
    if !s.from.is_empty()
        || s.selection.is_some()
        || s.having.is_some()
        || s.distinct.is_some()
        || !matches!(&s.group_by, ast::GroupByExpr::Expressions(g, m) if g.is_empty() && m.is_empty())
    {
        return None;
    }
    match s.projection.as_slice() {
        [ast::SelectItem::UnnamedExpr(e)] | [ast::SelectItem::ExprWithAlias { expr: e, .. }] => Some(e.clone()),
        _ => None,
    }
}

/// `a IS NULL OR b IS NULL ...` over a STRICT function's arguments (None otherwise).
fn strict_condition(func: &SqlFunction, args: &[ast::Expr]) -> Result<Option<ast::Expr>> {
    if !func.strict || args.is_empty() {
        return Ok(None);
    }
    let text: Vec<String> = (0..args.len()).map(|i| format!("{} IS NULL", hole(i))).collect();
    let mut c = parse_expr(&text.join(" OR "))?;
    let nested: Vec<ast::Expr> = args.iter().map(|a| ast::Expr::Nested(Box::new(a.clone()))).collect();
    fill(&mut c, &nested);
    Ok(Some(c))
}

/// `e`, NULL when a STRICT function's argument is.
fn strict(func: &SqlFunction, args: &[ast::Expr], e: ast::Expr) -> Result<ast::Expr> {
    let Some(c) = strict_condition(func, args)? else { return Ok(e) };
    let mut out = parse_expr(&format!("CASE WHEN {} THEN NULL ELSE {} END", hole(0), hole(1)))?;
    fill(&mut out, &[c, e]);
    Ok(out)
}

/// Makes `outer`'s one FROM item (`(SELECT 1) AS ...`) the derived table of `q`.
fn set_from_subquery(outer: &mut ast::Query, q: ast::Query) {
    if let ast::SetExpr::Select(sel) = outer.body.as_mut() {
        if let Some(ast::TableFactor::Derived { subquery, .. }) = sel.from.first_mut().map(|t| &mut t.relation) {
            **subquery = q;
        }
    }
}

/// A set-returning function's query with its result columns named and typed as declared:
/// each item of a plain SELECT cast in place, else the query read as a derived table.
fn shaped(mut q: ast::Query, columns: &[(String, SqlType)]) -> Result<ast::Query> {
    let quoted = |s: &str| ast::Ident::with_quote('"', s);
    if let ast::SetExpr::Select(sel) = q.body.as_mut() {
        let plain = sel.projection.len() == columns.len()
            && sel
                .projection
                .iter()
                .all(|p| matches!(p, ast::SelectItem::UnnamedExpr(_) | ast::SelectItem::ExprWithAlias { .. }));
        // ORDER BY may name an output column by its alias: renaming would break that.
        let aliases: Vec<String> = sel
            .projection
            .iter()
            .filter_map(|p| match p {
                ast::SelectItem::ExprWithAlias { alias, .. } => Some(fold(alias)),
                _ => None,
            })
            .collect();
        let by_alias = match &q.order_by {
            Some(ast::OrderBy { kind: ast::OrderByKind::Expressions(list), .. }) => {
                list.iter().any(|o| matches!(&o.expr, ast::Expr::Identifier(id) if aliases.contains(&fold(id))))
            }
            Some(_) => true,
            None => false,
        };
        if plain && !by_alias {
            for (p, (name, ty)) in sel.projection.iter_mut().zip(columns) {
                let e = match p {
                    ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => e.clone(),
                    _ => unreachable!("checked above"),
                };
                *p = ast::SelectItem::ExprWithAlias { expr: cast(e, *ty)?, alias: quoted(name) };
            }
            return Ok(q);
        }
    }
    let items: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| format!("CAST(\"c{i}\" AS {}) AS \"{}\"", ty.name(), name.replace('"', "\"\"")))
        .collect();
    let names: Vec<String> = (0..columns.len()).map(|i| format!("\"c{i}\"")).collect();
    let mut outer =
        parse_query(&format!("SELECT {} FROM (SELECT 1) AS \"orbit body\"({})", items.join(", "), names.join(", ")))?;
    set_from_subquery(&mut outer, q);
    Ok(outer)
}

/// What CREATE FUNCTION checks of the body: one statement (0A000 for more), a query last
/// (42P13 for another statement), that it binds with the parameters' types, and that its
/// result fits the declared return type (42P13, PostgreSQL's check_sql_fn_retval).
fn check_body(f: &SqlFunction) -> Result<()> {
    let mut statements = parse_statements(&f.body)?;
    let declared = if f.returns_rows() || f.record { "record".to_string() } else { f.ret.name() };
    let mismatch = |detail: String| {
        SqlError::new("42P13", format!("return type mismatch in function declared to return {declared}")).detail(detail)
    };
    let last = match statements.len() {
        0 => {
            return Err(mismatch("Function's final statement must be SELECT or INSERT/UPDATE/DELETE RETURNING.".into()))
        }
        1 => statements.pop(),
        _ => return Err(SqlError::unsupported("SQL functions of more than one statement are not supported")),
    };
    let q = match last {
        Some(ast::Statement::Query(q)) => q,
        Some(ast::Statement::Insert(_) | ast::Statement::Update(_) | ast::Statement::Delete(_)) => {
            return Err(SqlError::unsupported("SQL functions whose body is INSERT, UPDATE or DELETE are not supported"))
        }
        _ => {
            return Err(mismatch("Function's final statement must be SELECT or INSERT/UPDATE/DELETE RETURNING.".into()))
        }
    };
    let mut q = *q;
    // Parameter names stand for `$n` while the body is checked.
    let holes: Vec<ast::Expr> = (1..=f.args.len()).map(|n| parse_expr(&format!("${n}"))).collect::<Result<Vec<_>>>()?;
    substitute(&mut q, f, &holes);
    let mut b = Binder::detached("SQL function bodies");
    b.allow_aggs = true;
    b.params = f.arg_types();
    let _guard = Expanding::enter(f)?;
    let (_, cols) = b.query(&q)?;
    // `record`: whatever columns the body has (each call's column definition list types them).
    if f.record {
        return Ok(());
    }
    // A composite result: one column of the type itself, or the type's fields as columns.
    let fields = composite_fields(f).filter(|_| cols.len() != 1 || cols[0].ty != f.ret);
    let rows = f.returns_rows() || fields.is_some();
    let want: Vec<SqlType> = match &fields {
        _ if f.returns_rows() => f.out.iter().map(|c| c.1).collect(),
        Some(fields) => fields.iter().map(|c| c.1).collect(),
        None => vec![f.ret],
    };
    if !rows && cols.len() != 1 {
        return Err(mismatch("Final statement must return exactly one column.".into()));
    }
    // Rows of several columns returned as one record each (`SELECT (1, 2.1)`): its fields.
    let record_fields = match cols.as_slice() {
        [c] if f.returns_rows() && want.len() > 1 => match c.ty {
            SqlType::Composite(oid) => Some(crate::composites::fields_of(oid)?),
            _ => None,
        },
        _ => None,
    };
    let cols: Vec<super::OutputColumn> = match record_fields {
        Some(fs) => {
            fs.into_iter().map(|fd| super::OutputColumn { name: fd.name, ty: fd.ty, table_oid: 0, column: 0 }).collect()
        }
        None => cols,
    };
    if cols.len() < want.len() {
        return Err(mismatch("Final statement returns too few columns.".into()));
    }
    if cols.len() > want.len() {
        return Err(mismatch("Final statement returns too many columns.".into()));
    }
    for (i, (c, w)) in cols.iter().zip(&want).enumerate() {
        if c.ty == *w || c.ty == SqlType::Unknown || types::can_cast(c.ty, *w, CastContext::Assignment) {
            continue;
        }
        return Err(if rows {
            mismatch(format!(
                "Final statement returns {} instead of {} at column {}.",
                super::type_display(c.ty),
                super::type_display(*w),
                i + 1
            ))
        } else {
            mismatch(format!("Actual return type is {}.", super::type_display(c.ty)))
        });
    }
    Ok(())
}
