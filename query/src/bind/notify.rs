//! LISTEN, UNLISTEN, NOTIFY, and `SELECT pg_notify(channel, payload) [, ...]` /
//! `SELECT * FROM pg_listening_channels()` alone in a statement: the connection holds a
//! session's channels and its transaction's notifications, so these are plans it runs
//! ([`Plan::Listen`], [`Plan::Unlisten`], [`Plan::Notify`], [`Plan::ListeningChannels`]);
//! `net/src/pg/notify.rs` delivers them. pg_notify inside a larger query (another select
//! item, over a FROM clause's rows) is 0A000.

use super::{Binder, Plan, Result};
use crate::error::{code, SqlError};
use crate::expr::Expr;
use crate::OutputColumn;
use orbit_engine::table::{Datum, SqlType};
use sqlparser::ast;

/// The longest channel name (NAMEDATALEN - 1 bytes).
pub const MAX_CHANNEL: usize = 63;
/// The longest payload (PostgreSQL's NOTIFY_PAYLOAD_MAX_LENGTH - 1 bytes).
pub const MAX_PAYLOAD: usize = 7999;

/// A notification's channel and payload as NOTIFY and pg_notify check them (a NULL channel is
/// an empty one, a NULL payload an empty one).
pub fn checked(channel: Option<&str>, payload: Option<&str>) -> Result<(String, String)> {
    let channel = channel.unwrap_or_default();
    if channel.is_empty() {
        return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "channel name cannot be empty"));
    }
    if channel.len() > MAX_CHANNEL {
        return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "channel name too long"));
    }
    let payload = payload.unwrap_or_default();
    if payload.len() > MAX_PAYLOAD {
        return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "payload string too long"));
    }
    Ok((channel.to_string(), payload.to_string()))
}

/// Whether the query is its select list alone (and FROM, which callers look at): no WITH,
/// WHERE, GROUP BY, HAVING, DISTINCT, ORDER BY, LIMIT, FETCH or locking clause, which a
/// statement the connection runs itself (set_config, pg_notify) would otherwise skip.
pub(super) fn alone(q: &ast::Query) -> bool {
    let ast::SetExpr::Select(s) = q.body.as_ref() else { return false };
    let no_groups = matches!(&s.group_by, ast::GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty());
    q.with.is_none()
        && q.order_by.is_none()
        && q.limit_clause.is_none()
        && q.fetch.is_none()
        && q.locks.is_empty()
        && s.selection.is_none()
        && s.having.is_none()
        && s.distinct.is_none()
        && no_groups
}

/// Whether `f` calls function `name` (maybe qualified with pg_catalog).
fn called(f: &ast::Function, name: &str) -> bool {
    let parts: Vec<String> = f.name.0.iter().map(|p| p.to_string().to_ascii_lowercase()).collect();
    match parts.as_slice() {
        [n] => n == name,
        [s, n] => s == "pg_catalog" && n == name,
        _ => false,
    }
}

fn unsupported() -> SqlError {
    SqlError::unsupported(
        "pg_notify() is supported only alone: SELECT pg_notify('channel', 'payload') [, pg_notify(...)]",
    )
}

impl Binder<'_> {
    /// LISTEN / UNLISTEN / NOTIFY statements.
    pub(super) fn notify_statement(&mut self, stmt: &ast::Statement) -> Option<Plan> {
        Some(match stmt {
            ast::Statement::LISTEN { channel } => Plan::Listen(super::fold(channel)),
            ast::Statement::UNLISTEN { channel } if channel.quote_style.is_none() && channel.value == "*" => {
                Plan::Unlisten(None)
            }
            ast::Statement::UNLISTEN { channel } => Plan::Unlisten(Some(super::fold(channel))),
            ast::Statement::NOTIFY { channel, payload } => {
                let call = [
                    Expr::Const(Datum::Text(super::fold(channel)), SqlType::Text),
                    Expr::Const(payload.clone().map_or(Datum::Null, Datum::Text), SqlType::Text),
                ];
                Plan::Notify { calls: vec![call], row: false }
            }
            _ => return None,
        })
    }

    /// The plan of `SELECT pg_notify(...) [, ...]` or of `SELECT [*] FROM
    /// pg_listening_channels()` / `SELECT pg_listening_channels()` if `q` is one of them.
    pub(super) fn notify_query(&mut self, q: &ast::Query) -> Option<Result<(Plan, Vec<OutputColumn>)>> {
        let ast::SetExpr::Select(s) = q.body.as_ref() else { return None };
        let plain = alone(q);
        let text = |name: String, ty| OutputColumn { name, ty, table_oid: 0, column: 0 };
        // pg_listening_channels() as the one FROM item or the one select item.
        let listing = match (s.from.as_slice(), s.projection.as_slice()) {
            ([from], [ast::SelectItem::Wildcard(_)]) if from.joins.is_empty() => match &from.relation {
                ast::TableFactor::Table { name, args: Some(a), alias, .. }
                    if a.args.is_empty()
                        && name
                            .0
                            .last()
                            .is_some_and(|p| p.to_string().eq_ignore_ascii_case("pg_listening_channels"))
                        && name.0.len() <= 2 =>
                {
                    Some(alias.as_ref().map_or("pg_listening_channels".to_string(), |a| super::fold(&a.name)))
                }
                _ => None,
            },
            ([], [ast::SelectItem::UnnamedExpr(ast::Expr::Function(f))])
                if called(f, "pg_listening_channels")
                    && matches!(&f.args, ast::FunctionArguments::List(l) if l.args.is_empty()) =>
            {
                Some("pg_listening_channels".to_string())
            }
            _ => None,
        };
        if let Some(name) = listing {
            return plain.then(|| Ok((Plan::ListeningChannels, vec![text(name, SqlType::Text)])));
        }
        let call = |item: &ast::SelectItem| match item {
            ast::SelectItem::UnnamedExpr(ast::Expr::Function(f)) if called(f, "pg_notify") => {
                Some((f.clone(), "pg_notify".to_string()))
            }
            ast::SelectItem::ExprWithAlias { expr: ast::Expr::Function(f), alias } if called(f, "pg_notify") => {
                Some((f.clone(), super::fold(alias)))
            }
            _ => None,
        };
        if !s.projection.iter().any(|item| call(item).is_some()) {
            return None;
        }
        let Some(calls) = s.projection.iter().map(call).collect::<Option<Vec<_>>>() else {
            return Some(Err(unsupported()));
        };
        if !s.from.is_empty() || !plain {
            return Some(Err(unsupported()));
        }
        let mut bound = Vec::with_capacity(calls.len());
        let mut columns = Vec::with_capacity(calls.len());
        for (f, name) in calls {
            let ast::FunctionArguments::List(list) = &f.args else { return Some(Err(unsupported())) };
            let args = self.alone_args("pg_notify", &list.args, &[SqlType::Text, SqlType::Text], unsupported);
            match args.map(<[Expr; 2]>::try_from) {
                Ok(Ok(a)) => bound.push(a),
                Ok(Err(_)) => return Some(Err(unsupported())),
                Err(e) => return Some(Err(e)),
            }
            columns.push(text(name, SqlType::Void));
        }
        Some(Ok((Plan::Notify { calls: bound, row: true }, columns)))
    }
}
