//! The session's prepared statements (<https://www.postgresql.org/docs/15/sql-prepare.html>):
//! SQL `PREPARE` / `EXECUTE` / `DEALLOCATE`, the extended protocol's named statements (Parse,
//! Close) — one namespace, as in PostgreSQL, so `EXECUTE` runs a statement a driver parsed and
//! `DEALLOCATE` drops it — and `DISCARD`. A child of `conn` (it changes the connection's state).
//!
//! Statements are not transactional: a PREPARE inside a block that rolls back stays, as in
//! PostgreSQL. Their number is bounded by [`MAX_STATEMENTS`].

use super::{run_other_set, Conn, TxStatus, MAX_STATEMENTS};
use orbit_engine::table::Datum;
use orbit_query::bind::{execute_args, Discard};
use orbit_query::error::code;
use orbit_query::prepared::Statement;
use orbit_query::{Plan, Prepared, SqlError};
use std::rc::Rc;

/// How many statements deep an EXECUTE may lead (a Parse'd `EXECUTE b` whose `b` is itself an
/// EXECUTE ...): each level is one lookup, so the bound only stops a chain that never ends.
const MAX_EXECUTE_DEPTH: usize = 16;

pub(super) fn get(c: &Conn, name: &str) -> Option<Rc<Prepared>> {
    c.statements.borrow().get(name).map(|s| s.prepared.clone())
}

/// The statement's text as pg_stat_statements keys it.
pub(super) fn normalized(c: &Conn, name: &str) -> Rc<str> {
    c.statements.borrow().get(name).map_or_else(|| Rc::from(""), |s| s.normalized.clone())
}

/// The query string the statement was parsed from.
pub(super) fn source(c: &Conn, name: &str) -> Rc<str> {
    c.statements.borrow().get(name).map_or_else(|| Rc::from(""), |s| Rc::from(s.source.as_str()))
}

fn exists(c: &Conn, name: &str) -> bool {
    c.statements.borrow().contains_key(name)
}

pub(super) fn missing(name: &str) -> SqlError {
    if name.is_empty() {
        SqlError::new(code::UNDEFINED_PREPARED_STATEMENT, "unnamed prepared statement does not exist")
    } else {
        SqlError::new(code::UNDEFINED_PREPARED_STATEMENT, format!("prepared statement \"{name}\" does not exist"))
    }
}

/// Whether a statement called `name` may be added: a named one must be new (42P05), and the
/// session holds at most [`MAX_STATEMENTS`].
pub(super) fn check_new(c: &Conn, name: &str) -> Result<(), SqlError> {
    if !name.is_empty() && exists(c, name) {
        return Err(SqlError::new(
            code::DUPLICATE_PREPARED_STATEMENT,
            format!("prepared statement \"{name}\" already exists"),
        ));
    }
    if c.statements.borrow().len() >= MAX_STATEMENTS && !exists(c, name) {
        return Err(SqlError::new(
            code::PROGRAM_LIMIT_EXCEEDED,
            format!("too many prepared statements (at most {MAX_STATEMENTS})"),
        ));
    }
    Ok(())
}

/// Adds (or, for the unnamed statement, replaces) a statement; `source` is the query string
/// that made it.
pub(super) fn store(c: &Conn, name: String, prepared: Prepared, source: &str, from_sql: bool) {
    let s = Statement {
        prepared: Rc::new(prepared),
        normalized: Rc::from(orbit_query::catalog::normalize(source)),
        source: source.to_string(),
        prepare_time_us: orbit_query::datetime::now_us(),
        from_sql,
        generic_plans: 0,
    };
    c.statements.borrow_mut().insert(name, s);
}

/// Statement `name`'s plan, bound again after DDL: replaces `old` if the session still has it.
pub(super) fn replace(c: &Conn, name: &str, old: &Rc<Prepared>, new: Rc<Prepared>) {
    if let Some(s) = c.statements.borrow_mut().get_mut(name).filter(|s| Rc::ptr_eq(&s.prepared, old)) {
        s.prepared = new;
    }
}

/// Statement `name` bound again from the query string that made it (`source`), with its
/// parameter types `oids`: a SQL PREPARE's statement is found in the string that held it.
pub(super) fn bind_again(c: &Conn, name: &str, source: &str, oids: &[u32]) -> Result<Prepared, SqlError> {
    if !c.statements.borrow().get(name).is_some_and(|s| s.from_sql) {
        return orbit_query::bind::prepare(source, oids);
    }
    orbit_query::bind::bind_prepared_again(source, name)?.ok_or_else(|| missing(name))
}

/// Close of a statement: gone if it existed (no error otherwise, as the protocol says).
pub(super) fn close(c: &Conn, name: &str) {
    c.statements.borrow_mut().remove(name);
}

/// One more execution of the named statement (pg_prepared_statements' plan counters).
pub(super) fn count_execution(c: &Conn, name: &str) {
    if let Some(s) = c.statements.borrow_mut().get_mut(name) {
        s.generic_plans += 1;
    }
}

/// `DEALLOCATE [PREPARE] name | ALL`: the tag, or 26000 for a statement that does not exist.
pub(super) fn deallocate(c: &Conn, name: Option<&str>) -> Result<&'static str, SqlError> {
    match name {
        None => {
            // The unnamed statement is the protocol's, not one of the session's named ones.
            c.statements.borrow_mut().retain(|n, _| n.is_empty());
            Ok("DEALLOCATE ALL")
        }
        Some(n) => {
            if n.is_empty() || c.statements.borrow_mut().remove(n).is_none() {
                return Err(missing(n));
            }
            Ok("DEALLOCATE")
        }
    }
}

/// PREPARE and DISCARD (run by the connection, whatever protocol carried them): Some(tag), or
/// None for any other plan. `sql` is the query string the statement came in.
pub(super) fn session_command(c: &mut Conn, sql: &str, plan: &Plan) -> Option<Result<&'static str, SqlError>> {
    match plan {
        Plan::Prepare { name, statement } => Some(check_new(c, name).map(|()| {
            store(c, name.clone(), (**statement).clone(), sql, true);
            "PREPARE"
        })),
        Plan::Discard(what) => Some(discard(c, *what)),
        _ => None,
    }
}

/// DISCARD TEMP and DISCARD ALL (outside a block; inside one ALL is refused by [`discard`])
/// drop the session's temporary tables, before the rest of DISCARD runs.
pub(super) async fn discard_temp(c: &Conn, plan: &Plan) -> Result<(), SqlError> {
    match plan {
        Plan::Discard(Discard::Temp) => {}
        Plan::Discard(Discard::All) if c.status == TxStatus::Idle => {}
        _ => return Ok(()),
    }
    let pid = c.activity.borrow().pid;
    orbit_query::temp_tables::discard(pid, false).await
}

/// `DISCARD ALL` drops what PostgreSQL's does that Orbit has: named prepared statements,
/// portals, parameters back to the session's start (RESET ALL), LISTEN channels (UNLISTEN *)
/// and currval state; `DISCARD
/// SEQUENCES` the last of these; the temporary tables went first ([`discard_temp`]). PLANS finds
/// nothing: Orbit caches no plans besides prepared statements (which DISCARD PLANS keeps in
/// PostgreSQL too).
fn discard(c: &mut Conn, what: Discard) -> Result<&'static str, SqlError> {
    if what == Discard::All && c.status != TxStatus::Idle {
        return Err(SqlError::new(code::ACTIVE_SQL_TRANSACTION, "DISCARD ALL cannot run inside a transaction block"));
    }
    if matches!(what, Discard::All | Discard::Sequences) {
        c.sequences.borrow_mut().clear();
    }
    if what == Discard::All {
        // DISCARD ALL includes pg_advisory_unlock_all().
        orbit_query::advisory::release_session(c.activity.borrow().pid);
        c.statements.borrow_mut().retain(|n, _| n.is_empty());
        c.portals.clear();
        // DISCARD ALL includes CLOSE ALL.
        let _ = c.cursors.borrow_mut().close(None);
        run_other_set(c, &Plan::Reset(None));
        // And UNLISTEN * (applied as the statement's transaction commits).
        c.notify.unlisten(None)?;
    }
    Ok(what.tag())
}

/// A statement to run and its parameters' values.
pub(super) type Execution = (Rc<Prepared>, Vec<Datum>, String);

/// The statement an `EXECUTE name (args)` runs and its parameters' values (arguments bound
/// and evaluated against the statement's parameter types). An EXECUTE the extended protocol
/// parsed may name another EXECUTE: followed, up to [`MAX_EXECUTE_DEPTH`].
pub(super) fn resolve_execute(c: &Conn, sql: &str, plan: &Plan) -> Result<Option<Execution>, SqlError> {
    if let Plan::ExplainExecute { name, args, explain } = plan {
        // EXPLAIN EXECUTE: the named statement's query explained with the arguments in place.
        let target = get(c, name).ok_or_else(|| missing(name))?;
        let now = c.txn.as_ref().map_or_else(orbit_query::datetime::now_us, |t| t.started_us);
        let params = if target.param_types.is_empty() {
            Vec::new()
        } else {
            execute_args(sql, name, &target, args, now, &c.settings)?
        };
        orbit_query::relation_lock::bind_as(c.txn.as_ref().map(|t| t.id));
        let explained =
            orbit_query::bind::explain_execute(&source(c, name), name, explain, &params, &target.param_types)?;
        return Ok(Some((Rc::new(explained), Vec::new(), String::new())));
    }
    let Plan::Execute { name, args } = plan else { return Ok(None) };
    let (mut name, mut args, mut sql) = (name.clone(), args.clone(), Rc::<str>::from(sql));
    for _ in 0..MAX_EXECUTE_DEPTH {
        let target = get(c, &name).ok_or_else(|| missing(&name))?;
        let now = c.txn.as_ref().map_or_else(orbit_query::datetime::now_us, |t| t.started_us);
        let params = if target.param_types.is_empty() {
            Vec::new()
        } else {
            execute_args(&sql, &name, &target, &args, now, &c.settings)?
        };
        // Counted once its parameters are known, where PostgreSQL picks the plan.
        count_execution(c, &name);
        match &target.plan {
            Plan::Execute { name: next, args: next_args } => {
                sql = source(c, &name);
                (name, args) = (next.clone(), next_args.clone());
            }
            _ => return Ok(Some((target, params, name))),
        }
    }
    Err(SqlError::new("54001", "stack depth limit exceeded"))
}

/// The result columns of a statement whose plan is `EXECUTE name`: the named statement's (for
/// Describe), or 26000 when there is none.
pub(super) fn execute_columns(c: &Conn, plan: &Plan) -> Result<Option<Vec<orbit_query::OutputColumn>>, SqlError> {
    if let Plan::Fetch { name, is_move: false, .. } = plan {
        // A FETCH describes its cursor's columns (none while it is not open, as PostgreSQL's).
        return Ok(c.cursors.borrow().get(name).map(|cur| cur.columns.clone()));
    }
    let Plan::Execute { name, .. } = plan else { return Ok(None) };
    let target = get(c, name).ok_or_else(|| missing(name))?;
    Ok(Some(target.columns.clone()))
}
