//! `pg_sleep(seconds)`, `pg_sleep_for(interval)` and `pg_sleep_until(timestamptz)`
//! (<https://www.postgresql.org/docs/15/functions-datetime.html#FUNCTIONS-DATETIME-DELAY>),
//! whose result is `void`.
//!
//! Expressions evaluate synchronously, so a statement replaces each call by its (empty) void
//! value before it evaluates a row, as it does nextval ([`resolve`]), sleeping there on the
//! shard's timer: the reactor serves the shard's other sessions meanwhile. A CancelRequest or
//! `statement_timeout` ends the sleep at once with 57014, as PostgreSQL's interrupt check in
//! its sleep loop does. Where rows are evaluated on the shards (a call in a query with FROM)
//! the call is 0A000.

use crate::error::{Result, SqlError};
use crate::expr::{self, Ctx, Expr};
use crate::scalar::Builtin;
use crate::txn::Txn;
use orbit_engine::table::{Datum, SqlType};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SleepFn {
    /// pg_sleep(float8): seconds.
    Seconds,
    /// pg_sleep_for(interval).
    For,
    /// pg_sleep_until(timestamptz).
    Until,
}

/// The void value a call leaves.
pub fn void() -> Expr {
    Expr::Const(Datum::Text(String::new()), SqlType::Void)
}

/// The error where a call cannot be made (rows evaluated on the shards).
pub fn not_here() -> SqlError {
    SqlError::unsupported("pg_sleep(), pg_sleep_for() and pg_sleep_until() are supported in SELECT without FROM")
}

/// Whether any expression calls a sleep function.
pub fn any_uses(exprs: &[Expr]) -> bool {
    let mut found = false;
    for e in exprs {
        e.visit(&mut |x| found |= matches!(x, Expr::Call(Builtin::Sleep(_), ..)));
    }
    found
}

/// How long a call sleeps, as PostgreSQL's pg_sleep computes it (pg_sleep_for and
/// pg_sleep_until are SQL functions over pg_sleep and clock_timestamp()): None is forever
/// (an infinite or too large delay), zero for a negative or NaN one.
fn delay(f: SleepFn, arg: &Datum) -> Result<Option<Duration>> {
    let now = crate::datetime::now_us();
    let seconds = match (f, arg) {
        (SleepFn::Seconds, d) => d.as_f64().unwrap_or_default(),
        (SleepFn::For, Datum::Interval(iv)) => (crate::datetime::ts_plus_interval(now, iv)? - now) as f64 / 1e6,
        (SleepFn::Until, Datum::TimestampTz(ts)) => {
            if *ts == i64::MAX {
                f64::INFINITY
            } else {
                (*ts as f64 - now as f64) / 1e6
            }
        }
        _ => return Err(SqlError::internal("pg_sleep: argument of the wrong type")),
    };
    if seconds.is_nan() || seconds <= 0.0 {
        return Ok(Some(Duration::ZERO));
    }
    Ok(Duration::try_from_secs_f64(seconds).ok())
}

/// Sleeps for every sleep call of `exprs` in turn (innermost first, left to right), each
/// replaced by its void value.
pub async fn resolve(txn: &Txn, exprs: &mut [Expr], params: &[Datum]) -> Result<()> {
    loop {
        let mut next: Option<Option<Duration>> = None;
        for e in exprs.iter_mut() {
            e.try_map_calls(&mut |f, args| {
                let Builtin::Sleep(kind) = f else { return Ok(None) };
                if next.is_some() {
                    return Ok(None);
                }
                let cx = Ctx { row: &[], params, aggs: &[] };
                let arg = match args.first() {
                    Some(a) => expr::eval(a, &cx)?,
                    None => Datum::Null,
                };
                // Strict: a NULL argument is a NULL result, without a sleep.
                if arg.is_null() {
                    return Ok(Some(Expr::Const(Datum::Null, SqlType::Void)));
                }
                next = Some(delay(kind, &arg)?);
                Ok(Some(void()))
            })?;
        }
        match next {
            None => return Ok(()),
            Some(d) => txn.sleep(d).await?,
        }
    }
}
