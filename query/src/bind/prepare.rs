//! `PREPARE name [(type, ...)] AS statement`, `EXECUTE name [(arg, ...)]` and `DISCARD`
//! (<https://www.postgresql.org/docs/15/sql-prepare.html>). The session's prepared statements
//! are the connection's, so the binder only checks and binds what it can alone: PREPARE's
//! statement is bound here (a missing table fails at PREPARE, as in PostgreSQL); EXECUTE's
//! arguments are bound once the connection has found the statement ([`execute_args`]), since
//! their types are its parameters'.

use super::{fold, Binder, Plan, Prepared};
use crate::error::{code, Result, SqlError};
use crate::expr::{self, Ctx};
use crate::types::CastContext;
use orbit_engine::table::Datum;
use sqlparser::ast;

/// What `DISCARD` drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discard {
    /// `DISCARD ALL`: prepared statements, portals, parameters (RESET ALL) and sequence state.
    All,
    /// `DISCARD PLANS`: cached plans. Orbit keeps none apart from prepared statements, which
    /// PostgreSQL keeps too (it only re-plans them).
    Plans,
    /// `DISCARD SEQUENCES`: currval/lastval state.
    Sequences,
    /// `DISCARD TEMP`: the session's temporary tables.
    Temp,
}

impl Discard {
    pub fn tag(self) -> &'static str {
        match self {
            Discard::All => "DISCARD ALL",
            Discard::Plans => "DISCARD PLANS",
            Discard::Sequences => "DISCARD SEQUENCES",
            Discard::Temp => "DISCARD TEMP",
        }
    }
}

impl Binder<'_> {
    /// PREPARE, EXECUTE and DISCARD.
    pub(super) fn session_statement(&mut self, stmt: &ast::Statement) -> Result<Plan> {
        use ast::Statement as S;
        match stmt {
            S::Prepare { name, data_types, statement } => {
                // gram.y's PreparableStmt: SELECT (and VALUES, TABLE), INSERT, UPDATE, DELETE,
                // MERGE.
                match statement.as_ref() {
                    S::Query(_) | S::Insert(_) | S::Update(_) | S::Delete(_) | S::Merge(_) => {}
                    other => {
                        // PostgreSQL names the statement's first word as it was written.
                        let text = other.to_string();
                        let word = text.split_whitespace().next().unwrap_or_default();
                        let lower = self.sql.to_ascii_lowercase();
                        let after_as = lower.find(" as ").map_or(0, |i| i + 4);
                        let at = lower[after_as..].find(&word.to_ascii_lowercase()).map(|i| i + after_as);
                        let near = at.map_or(word, |i| &self.sql[i..i + word.len()]);
                        let position = at.map(|i| self.sql[..i].chars().count() + 1);
                        return Err(SqlError::syntax(near).at(position));
                    }
                }
                let oids =
                    data_types.iter().map(|t| super::sql_type(t).map(|t| t.oid())).collect::<Result<Vec<u32>>>()?;
                let inner = super::bind(self.sql, statement, &oids)?;
                Ok(Plan::Prepare { name: fold(name), statement: Box::new(inner) })
            }
            S::Execute {
                name: Some(name),
                parameters,
                immediate: false,
                into,
                using,
                output: false,
                default: false,
                ..
            } if into.is_empty() && using.is_empty() => {
                let [part] = name.0.as_slice() else { return Err(SqlError::syntax(&name.to_string())) };
                let Some(id) = part.as_ident() else { return Err(SqlError::syntax(&name.to_string())) };
                Ok(Plan::Execute { name: fold(id), args: parameters.clone() })
            }
            S::Discard { object_type } => Ok(Plan::Discard(match object_type {
                ast::DiscardObject::ALL => Discard::All,
                ast::DiscardObject::PLANS => Discard::Plans,
                ast::DiscardObject::SEQUENCES => Discard::Sequences,
                ast::DiscardObject::TEMP => Discard::Temp,
            })),
            other => Err(SqlError::syntax(&other.to_string())),
        }
    }
}

/// EXECUTE's arguments as the values of `stmt`'s parameters: each bound as an expression over
/// no table, coerced to its parameter's type by assignment, and evaluated (`now_us`: the
/// transaction's start, for now()), with PostgreSQL's errors (`EvaluateParams` in prepare.c).
/// A statement without parameters ignores its arguments, as PostgreSQL does. The arguments'
/// literals read in the session's style (`session`: its parameters; a timestamptz in its time
/// zone, an interval in its IntervalStyle).
pub fn execute_args(
    sql: &str,
    name: &str,
    stmt: &Prepared,
    args: &[ast::Expr],
    now_us: i64,
    session: &crate::settings::Session,
) -> Result<Vec<Datum>> {
    crate::settings::bind_with(session.clone());
    let r = bind_execute_args(sql, name, stmt, args, now_us);
    crate::settings::bind_ended();
    r
}

fn bind_execute_args(sql: &str, name: &str, stmt: &Prepared, args: &[ast::Expr], now_us: i64) -> Result<Vec<Datum>> {
    let want = stmt.param_types.len();
    if args.len() != want {
        return Err(SqlError::new(
            code::SYNTAX_ERROR,
            format!("wrong number of parameters for prepared statement \"{name}\""),
        )
        .detail(format!("Expected {want} parameters but got {}.", args.len())));
    }
    let mut b = Binder { sql, ..Binder::detached("EXECUTE parameters") };
    let mut out = Vec::with_capacity(want);
    for (i, (arg, &ty)) in args.iter().zip(&stmt.param_types).enumerate() {
        let at = super::span_position(sql, &sqlparser::ast::Spanned::span(arg));
        let e = b.expr(arg, None)?;
        let e = b.coerce(e, ty, CastContext::Assignment, |from| {
            SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "parameter ${} of type {} cannot be coerced to the expected type {}",
                    i + 1,
                    from.name(),
                    ty.name()
                ),
            )
            .hint("You will need to rewrite or cast the expression.")
            .at(at)
        })?;
        if let Some(k) = b.params.first().map(|_| b.params.len()) {
            return Err(SqlError::new(code::UNDEFINED_PARAMETER, format!("there is no parameter ${k}")));
        }
        let clock = expr::with_clock(&[], now_us, now_us);
        let v = expr::eval(&e, &Ctx { row: &[], params: &clock, aggs: &[] })?;
        out.push(v);
    }
    Ok(out)
}

/// `EXPLAIN [ANALYZE] EXECUTE name (args)`: `explain` (that statement) bound over the query of
/// the prepared statement `name`, whose text is `source` (the PREPARE's Query message or the
/// Parse message's query), with the values of its parameters `params` written in place of
/// `$n` — PostgreSQL's custom plan for them (its first five executions use one).
pub fn explain_execute(
    source: &str,
    name: &str,
    explain: &ast::Statement,
    params: &[Datum],
    types: &[orbit_engine::table::SqlType],
) -> Result<Prepared> {
    use sqlparser::ast::VisitMut;
    let stmts = super::parse(source)?;
    let query = stmts
        .iter()
        .find_map(|s| match s {
            ast::Statement::Prepare { name: n, statement, .. } if fold(n) == name => Some(statement.as_ref().clone()),
            _ => None,
        })
        .or_else(|| (stmts.len() == 1).then(|| stmts[0].clone()))
        .ok_or_else(|| SqlError::internal(format!("prepared statement \"{name}\" has no query text")))?;
    if matches!(query, ast::Statement::Execute { .. } | ast::Statement::Prepare { .. }) {
        return Err(SqlError::unsupported("EXPLAIN EXECUTE of a statement that is itself EXECUTE"));
    }
    let mut literals = Vec::with_capacity(params.len());
    for (d, t) in params.iter().zip(types) {
        literals.push(literal(d, *t)?);
    }
    struct Substitute<'a>(&'a [ast::Expr]);
    impl ast::VisitorMut for Substitute<'_> {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut ast::Expr) -> std::ops::ControlFlow<()> {
            if let ast::Expr::Value(v) = e {
                if let ast::Value::Placeholder(p) = &v.value {
                    let n: Option<usize> = p.trim_start_matches('$').parse().ok();
                    if let Some(lit) = n.and_then(|n| n.checked_sub(1)).and_then(|i| self.0.get(i)) {
                        *e = lit.clone();
                    }
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut query = query;
    let _ = query.visit(&mut Substitute(&literals));
    let mut explain = explain.clone();
    if let ast::Statement::Explain { statement, .. } = &mut explain {
        **statement = query;
    }
    let text = explain.to_string();
    super::bind(&text, &explain, &[])
}

/// A parameter's value as a SQL literal of its type: numbers as written, anything else a
/// string cast to the type (`'abc'::text`), as PostgreSQL's plans print constants.
fn literal(d: &Datum, ty: orbit_engine::table::SqlType) -> Result<ast::Expr> {
    use orbit_engine::table::SqlType;
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let text = match (d, crate::types::to_text(d)) {
        (Datum::Null, _) | (_, None) => format!("NULL::{}", ty.name()),
        (Datum::Int2(_) | Datum::Int4(_) | Datum::Numeric(_), Some(t)) if ty != SqlType::Int8 && !t.contains('N') => t,
        (Datum::Bool(b), _) => if *b { "true" } else { "false" }.to_string(),
        (_, Some(t)) => format!("'{}'::{}", t.replace('\'', "''"), ty.name()),
    };
    sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| SqlError::internal(format!("parameter value {text} does not parse: {e}")))
}

/// The statement SQL `PREPARE name ... AS statement` in the query string `source` prepared,
/// bound again (after DDL on what it reads, as PostgreSQL re-plans a cached plan); None if
/// `source` holds no PREPARE of that name.
pub fn bind_prepared_again(source: &str, name: &str) -> Result<Option<Prepared>> {
    for stmt in super::parse(source)? {
        let ast::Statement::Prepare { name: n, .. } = &stmt else { continue };
        if fold(n) != name {
            continue;
        }
        if let Plan::Prepare { statement, .. } = super::bind(source, &stmt, &[])?.plan {
            return Ok(Some(*statement));
        }
    }
    Ok(None)
}
