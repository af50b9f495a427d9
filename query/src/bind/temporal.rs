//! Binding of the date/time, uuid and json operators and functions: which operator PostgreSQL
//! picks for `timestamp + interval`, `date - date`, `json -> key` and the like (with its
//! resolution of untyped literals), EXTRACT/date_part/date_trunc, the clock functions, typed
//! literals (`TIMESTAMP '...'`, `INTERVAL '...'`) and gen_random_uuid().

use super::{no_function, op_error, sql_type, Binder, Scope};
use crate::datetime::{self as dt, IntervalStyle};
use crate::error::{code, Result, SqlError};
use crate::expr::{ArithOp, Expr, Func, TemporalFn, ZoneOp};
use crate::types::CastContext;
use orbit_engine::table::{Datum, SqlType};
use sqlparser::ast;

/// A cast target `timestamp(p)`, `time(p)` or `interval(p)`: the type without its precision,
/// and p when it rounds (below 6; PostgreSQL takes a larger p as 6, with a warning).
pub(super) fn split_precision(dt: &ast::DataType) -> (ast::DataType, Option<u8>) {
    use ast::DataType as D;
    let p = |p: u64| (p < 6).then_some(p as u8);
    match dt {
        D::Timestamp(Some(n), tz) => (D::Timestamp(None, *tz), p(*n)),
        D::Time(Some(n), tz) => (D::Time(None, *tz), p(*n)),
        D::Interval { fields: None, precision: Some(n) } => (D::Interval { fields: None, precision: None }, p(*n)),
        _ => (dt.clone(), None),
    }
}

/// The precision `p` of `timestamp(p)`, `time(p)` or `interval(p)` as PostgreSQL's typmodin
/// functions take it: 6 (all digits) is kept as written; above 6 it is 6, with PostgreSQL's
/// WARNING (22023) sent with the statement.
pub(super) fn precision(p: Option<u64>, name: &str, zone: &str) -> Result<Option<u8>> {
    match p {
        None => Ok(None),
        Some(p) if p <= 6 => Ok(Some(p as u8)),
        Some(p) => {
            super::long_names::push_notice(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                format!("{name}({p}){zone} precision reduced to maximum allowed, 6"),
            ));
            Ok(Some(6))
        }
    }
}

/// `current_timestamp(p)`, `localtimestamp(p)`, `localtime(p)`: the clock rounded to p digits,
/// of type `ty` (the clock's type with that precision).
fn round_to(e: Expr, ty: SqlType) -> Result<Expr> {
    let p = ty.precision().unwrap_or(6);
    let e = Expr::Func(Func::Temporal(TemporalFn::Round(p)), vec![e], ty);
    crate::expr::fold(e)
}

/// Date, timestamp, timestamptz: the later in this order is the common type.
fn datetime_rank(t: SqlType) -> u8 {
    match t {
        SqlType::Date => 0,
        SqlType::Timestamp(_) => 1,
        _ => 2,
    }
}

/// The common type of two of date/timestamp/timestamptz.
pub(super) fn datetime_common(a: SqlType, b: SqlType) -> SqlType {
    if datetime_rank(a) >= datetime_rank(b) {
        a.base()
    } else {
        b.base()
    }
}

pub(super) fn is_temporal(t: SqlType) -> bool {
    matches!(
        t,
        SqlType::Date
            | SqlType::Timestamp(_)
            | SqlType::TimestampTz(_)
            | SqlType::Time(_)
            | SqlType::TimeTz(_)
            | SqlType::Interval(_)
    )
}

/// A time zone's offset east of UTC in microseconds: UTC and its aliases, or a POSIX offset
/// (`+05`, `-03:30`: hours *west*, as PostgreSQL reads them).
fn zone_offset_east(name: &str) -> Result<i64> {
    let lower = name.trim().to_ascii_lowercase();
    if matches!(lower.as_str(), "utc" | "gmt" | "z" | "zulu" | "uct" | "etc/utc" | "etc/gmt" | "universal") {
        return Ok(0);
    }
    // A fixed abbreviation (`PST`, `ist`) is its offset, before any zone of that name.
    if let Some(crate::zone::abbrevs::Abbrev::Fixed(east, _)) = crate::zone::abbrevs::lookup(&lower) {
        return Ok(east as i64 * crate::datetime::USECS_PER_SEC);
    }
    let (sign, rest) = match lower.as_bytes().first() {
        Some(b'+') => (-1, &lower[1..]),
        Some(b'-') => (1, &lower[1..]),
        Some(b'0'..=b'9') => (-1, lower.as_str()),
        _ => {
            return Err(SqlError::unsupported(format!(
                "time zone \"{name}\" is not supported (Orbit knows UTC and fixed offsets)"
            )))
        }
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let num = |i: usize| parts.get(i).map_or(Some(0), |p| p.parse::<i64>().ok().filter(|_| !p.is_empty()));
    match (parts.len() <= 3, num(0), num(1), num(2)) {
        (true, Some(h), Some(m), Some(s)) if h <= 167 && m < 60 && s < 60 => {
            Ok(sign * ((h * 60 + m) * 60 + s) * crate::datetime::USECS_PER_SEC)
        }
        _ => Err(SqlError::new(code::INVALID_PARAMETER_VALUE, format!("time zone \"{name}\" not recognized"))),
    }
}

/// The session's time zone as a constant for [`zoned`] calls, None in UTC (then nothing
/// converts). Reading it makes a prepared statement bind again when the zone changes.
pub(super) fn session_zone() -> Option<Expr> {
    crate::zone::session().map(|z| Expr::Const(Datum::Text(z), SqlType::Text))
}

/// A [`ZoneOp`] call on `args` in `zone`.
pub(super) fn zoned(op: ZoneOp, mut args: Vec<Expr>, zone: Expr, ty: SqlType) -> Expr {
    args.push(zone);
    Expr::Func(Func::Temporal(TemporalFn::Zoned(op)), args, ty)
}

/// The session's IntervalStyle when it is not `postgres` (noted: a prepared statement binds
/// again when it changes).
fn session_interval_style() -> Option<IntervalStyle> {
    let style = IntervalStyle::of_setting(&crate::settings::bound_value("IntervalStyle")?);
    (style != IntervalStyle::Postgres).then_some(style)
}

/// `e` (a bytea or bytea[]) printed as text in the escape format when the session's
/// `bytea_output` is `escape` (noted: a prepared statement binds again when it changes); else
/// `e` back, as the hex format is every value's own text form.
pub(super) fn bytea_escaped(e: Expr) -> std::result::Result<Expr, Expr> {
    if crate::settings::bound_value("bytea_output").as_deref() != Some("escape") {
        return Err(e);
    }
    Ok(Expr::Call(crate::scalar::Builtin::Text(crate::text_fns::TextFn::ByteaEscape), vec![e], SqlType::Text))
}

/// A bytea[] whose elements print one by one (array_to_string): a text[] of their escape-format
/// texts when the session's `bytea_output` is `escape` (noted), else `e` as it is.
pub(super) fn bytea_items_escaped(e: Expr) -> Expr {
    if crate::settings::bound_value("bytea_output").as_deref() != Some("escape") {
        return e;
    }
    let Some(ty) = SqlType::Text.array_of() else { return e };
    Expr::Call(crate::scalar::Builtin::Text(crate::text_fns::TextFn::ByteaEscapeItems), vec![e], ty)
}

/// A cast of a bytea or bytea[] to a string type in a session whose `bytea_output` is `escape`:
/// the value's escape-format text is cast on to `to`. False for other casts, or in `hex`.
pub(super) fn bytea_output_cast(from: SqlType, to: SqlType) -> bool {
    let string = matches!(to, SqlType::Text | SqlType::Varchar(_) | SqlType::Bpchar(_));
    let bytea = from == SqlType::Bytea || matches!(from, SqlType::Array(a) if a.elem() == SqlType::Bytea);
    string && bytea && crate::settings::bound_value("bytea_output").as_deref() == Some("escape")
}

/// A cast between interval and text that the session's IntervalStyle changes: interval to a
/// string type prints in the style; a string to interval reads a leading minus as
/// `sql_standard` does. The conversion makes text or interval (a cast on to `to` follows);
/// None when the style changes nothing.
pub(super) fn interval_style_cast(from: SqlType, to: SqlType) -> Option<impl FnOnce(Expr) -> Expr> {
    let string = |t: SqlType| matches!(t, SqlType::Text | SqlType::Varchar(_) | SqlType::Bpchar(_));
    let (func, ty) = if matches!(from, SqlType::Interval(_)) && string(to) {
        (TemporalFn::IntervalText(session_interval_style()?), SqlType::Text)
    } else if string(from) && matches!(to, SqlType::Interval(_)) {
        let style = session_interval_style().filter(|s| *s == IntervalStyle::SqlStandard)?;
        (TemporalFn::IntervalParse(style), SqlType::INTERVAL)
    } else {
        return None;
    };
    Some(move |e: Expr| {
        let e = if matches!(from, SqlType::Interval(_)) || from == SqlType::Text {
            e
        } else {
            Expr::Cast(Box::new(e), SqlType::Text, false)
        };
        Expr::Func(Func::Temporal(func), vec![e], ty)
    })
}

/// A value that a function prints in its text form (`||`, concat, format) or as JSON (to_json,
/// json_build_*): a timestamptz is printed in the session's zone, an interval in its
/// IntervalStyle, before it gets there.
pub(super) fn shown_in_zone(e: Expr, json: bool) -> Expr {
    let bytea = match e.ty() {
        SqlType::Bytea => true,
        // JSON makes an array of an array's elements, each printed alone: left as it is.
        SqlType::Array(a) => !json && a.elem() == SqlType::Bytea,
        _ => false,
    };
    if bytea {
        return bytea_escaped(e).unwrap_or_else(|e| e);
    }
    if matches!(e.ty(), SqlType::Interval(_)) {
        return match session_interval_style() {
            Some(style) => Expr::Func(Func::Temporal(TemporalFn::IntervalText(style)), vec![e], SqlType::Text),
            None => e,
        };
    }
    if !matches!(e.ty(), SqlType::TimestampTz(_)) {
        return e;
    }
    match session_zone() {
        Some(zone) => zoned(if json { ZoneOp::JsonText } else { ZoneOp::Text }, vec![e], zone, SqlType::Text),
        None => e,
    }
}

/// LOCALTIMESTAMP, CURRENT_DATE and LOCALTIME: the transaction's start as local time in the
/// session's zone.
fn local_clock(func: Func, ty: SqlType) -> Expr {
    let zone = match func {
        Func::LocalTimestamp | Func::CurrentDate | Func::LocalTime => session_zone(),
        _ => None,
    };
    let Some(zone) = zone else { return Expr::Func(func, vec![], ty) };
    let now = Expr::Func(Func::Now, vec![], SqlType::TIMESTAMPTZ);
    let local = zoned(ZoneOp::ToLocal, vec![now], zone, SqlType::TIMESTAMP);
    if matches!(ty, SqlType::Timestamp(_)) {
        local
    } else {
        Expr::Cast(Box::new(local), ty, false)
    }
}

/// CURRENT_TIME: the transaction's start as a time of day with the session zone's offset.
fn current_time() -> Expr {
    let now = Expr::Func(Func::Now, vec![], SqlType::TIMESTAMPTZ);
    match session_zone() {
        Some(zone) => zoned(ZoneOp::TimeTz, vec![now], zone, SqlType::TIMETZ),
        None => Expr::Cast(Box::new(now), SqlType::TIMETZ, false),
    }
}

/// date_part (EXTRACT) or date_trunc of a bound value; a timestamptz's fields are its local
/// time's in the session's zone.
fn date_part_or_trunc(trunc: bool, unit: Expr, v: Expr) -> Expr {
    if matches!(v.ty(), SqlType::TimestampTz(_)) {
        if let Some(zone) = session_zone() {
            let (op, ty) = if trunc { (ZoneOp::Trunc, SqlType::TIMESTAMPTZ) } else { (ZoneOp::Part, SqlType::Float8) };
            return zoned(op, vec![unit, v], zone, ty);
        }
    }
    let (func, ty) = if trunc { (Func::DateTrunc, v.ty().base()) } else { (Func::DatePart, SqlType::Float8) };
    Expr::Func(func, vec![unit, v], ty)
}

fn not_unique(l: SqlType, sym: &str, r: SqlType) -> SqlError {
    SqlError::new("42725", format!("operator is not unique: {} {sym} {}", l.name(), r.name()))
        .hint("Could not choose a best candidate operator. You might need to add explicit type casts.")
}

pub(super) fn not_unique_function(name: &str, types: &[SqlType]) -> SqlError {
    let args: Vec<String> = types.iter().map(|t| t.name()).collect();
    SqlError::new("42725", format!("function {name}({}) is not unique", args.join(", ")))
        .hint("Could not choose a best candidate function. You might need to add explicit type casts.")
}

impl Binder<'_> {
    /// `l op r` where a date/time value takes part (PostgreSQL's date/time operators).
    pub(super) fn datetime_arith(&mut self, aop: ArithOp, sym: &str, l: Expr, r: Expr) -> Result<Expr> {
        use SqlType::*;
        let (lt, rt) = (l.ty(), r.ty());
        // An untyped literal is read as the other operand's type where that operator exists
        // (timestamp - timestamp), else as the one type the remaining operators take.
        let unknown_as = |known: SqlType, left_known: bool| -> Result<SqlType> {
            Ok(match (aop, known) {
                // timetz has no operator with itself: only timetz - interval.
                (ArithOp::Sub, TimeTz(_)) => SqlType::INTERVAL,
                (ArithOp::Sub, _) => known.base(),
                (ArithOp::Add, Interval(_) | Timestamp(_) | TimestampTz(_) | Time(_) | TimeTz(_)) => SqlType::INTERVAL,
                (ArithOp::Mul, Interval(_)) | (ArithOp::Div, Interval(_)) if left_known || aop == ArithOp::Mul => {
                    Float8
                }
                (ArithOp::Add, Date) => return Err(not_unique(lt, sym, rt)),
                _ => return Err(op_error(lt, sym, rt)),
            })
        };
        let (l, r) = match (lt, rt) {
            (Unknown, t) => {
                let u = unknown_as(t, false)?;
                (self.coerce(l, u, CastContext::Implicit, |_| op_error(lt, sym, rt))?, r)
            }
            (t, Unknown) => {
                let u = unknown_as(t, true)?;
                (l, self.coerce(r, u, CastContext::Implicit, |_| op_error(lt, sym, rt))?)
            }
            _ => (l, r),
        };
        // The result of an operator has no typmod: timestamp(3) + interval is a timestamp.
        let (a, b) = (l.ty().base(), r.ty().base());
        let err = || op_error(lt, sym, rt);
        let coerce_to = |s: &mut Self, e: Expr, t: SqlType| s.coerce(e, t, CastContext::Implicit, |_| err());
        let (l, r, ty) = match (aop, a, b) {
            // time + time: time + interval, time + date and interval + time all take one side by
            // an implicit cast, so PostgreSQL cannot choose.
            (ArithOp::Add, Time(_), Time(_)) => return Err(not_unique(a, sym, b)),
            (ArithOp::Add | ArithOp::Sub, Timestamp(_) | TimestampTz(_), Interval(_)) => (l, r, a),
            (ArithOp::Add, Interval(_), Timestamp(_) | TimestampTz(_)) => (l, r, b),
            (ArithOp::Add, Date, Interval(_))
            | (ArithOp::Add, Interval(_), Date)
            | (ArithOp::Sub, Date, Interval(_)) => (l, r, SqlType::TIMESTAMP),
            (ArithOp::Add | ArithOp::Sub, Date, Int2 | Int4) => (l, coerce_to(self, r, Int4)?, Date),
            (ArithOp::Add, Int2 | Int4, Date) => (coerce_to(self, l, Int4)?, r, Date),
            (ArithOp::Sub, Date, Date) => (l, r, Int4),
            (ArithOp::Sub, x, y) if x.is_datetime() && y.is_datetime() => {
                let t = datetime_common(x, y);
                (coerce_to(self, l, t)?, coerce_to(self, r, t)?, SqlType::INTERVAL)
            }
            (ArithOp::Add | ArithOp::Sub, Time(_), Interval(_)) | (ArithOp::Add, Interval(_), Time(_)) => {
                (l, r, SqlType::TIME)
            }
            (ArithOp::Add | ArithOp::Sub, TimeTz(_), Interval(_)) | (ArithOp::Add, Interval(_), TimeTz(_)) => {
                (l, r, SqlType::TIMETZ)
            }
            // date + time is a timestamp (datetime_timestamp); date + timetz the instant of
            // that local time at the value's offset (datetimetz_timestamptz).
            (ArithOp::Add, Date, Time(_)) | (ArithOp::Add, Time(_), Date) => (l, r, SqlType::TIMESTAMP),
            (ArithOp::Add, Date, TimeTz(_)) | (ArithOp::Add, TimeTz(_), Date) => (l, r, SqlType::TIMESTAMPTZ),
            (ArithOp::Sub, Time(_), Time(_)) | (ArithOp::Add | ArithOp::Sub, Interval(_), Interval(_)) => {
                (l, r, SqlType::INTERVAL)
            }
            (ArithOp::Mul | ArithOp::Div, Interval(_), n) if n.is_numeric() => {
                (l, coerce_to(self, r, Float8)?, SqlType::INTERVAL)
            }
            (ArithOp::Mul, n, Interval(_)) if n.is_numeric() => (coerce_to(self, l, Float8)?, r, SqlType::INTERVAL),
            _ => return Err(err()),
        };
        // timestamptz ± interval moves the local time in the session's zone.
        let interval = matches!(a, Interval(_)) || matches!(b, Interval(_));
        if ty == SqlType::TIMESTAMPTZ && interval && matches!(aop, ArithOp::Add | ArithOp::Sub) {
            if let Some(zone) = session_zone() {
                let (ts, iv) = if matches!(l.ty(), Interval(_)) { (r, l) } else { (l, r) };
                return Ok(zoned(ZoneOp::AddInterval(aop == ArithOp::Sub), vec![ts, iv], zone, ty));
            }
        }
        Ok(Expr::Arith(aop, Box::new(l), Box::new(r), ty))
    }

    /// `doc -> key`, `doc -> index` and their `->>` forms on json and jsonb.
    pub(super) fn json_arrow(&mut self, as_text: bool, l: Expr, r: Expr) -> Result<Expr> {
        let sym = if as_text { "->>" } else { "->" };
        let (lt, rt) = (l.ty(), r.ty());
        if lt == SqlType::Unknown && rt == SqlType::Unknown {
            return Err(not_unique(lt, sym, rt));
        }
        if !matches!(lt, SqlType::Json | SqlType::Jsonb) {
            return Err(op_error(lt, sym, rt));
        }
        let key_ty = match rt {
            // An untyped key is text (the preferred type of its category).
            SqlType::Unknown => SqlType::Text,
            t if t.is_string() => SqlType::Text,
            SqlType::Int2 | SqlType::Int4 => SqlType::Int4,
            _ => return Err(op_error(lt, sym, rt)),
        };
        let r = self.coerce(r, key_ty, CastContext::Implicit, |_| op_error(lt, sym, rt))?;
        let ty = if as_text { SqlType::Text } else { lt };
        Ok(Expr::Func(Func::JsonGet(as_text), vec![l, r], ty))
    }

    /// `EXTRACT(field FROM value)`. PostgreSQL 15 returns numeric; here it is double precision
    /// (numeric is not supported), the same value as date_part.
    pub(super) fn extract(&mut self, field: &ast::DateTimeField, e: &ast::Expr, scope: Option<&Scope>) -> Result<Expr> {
        let unit = match field {
            ast::DateTimeField::Custom(id) => id.value.to_lowercase(),
            ast::DateTimeField::Week(_) => "week".into(),
            f => f.to_string().to_lowercase(),
        };
        let v = self.expr(e, scope)?;
        let v =
            match v.ty() {
                SqlType::Unknown => {
                    return Err(SqlError::new(
                        code::UNDEFINED_FUNCTION,
                        "function pg_catalog.extract(unknown, unknown) is not unique".to_string(),
                    ))
                }
                t if is_temporal(t) => v,
                t => return Err(SqlError::new(
                    code::UNDEFINED_FUNCTION,
                    format!("function pg_catalog.extract(unknown, {}) does not exist", t.name()),
                )
                .hint(
                    "No function matches the given name and argument types. You might need to add explicit type casts.",
                )),
            };
        // PostgreSQL 15's EXTRACT is numeric (date_part stays float8): whole for most fields,
        // with the fractional digits PostgreSQL keeps for seconds, milliseconds and epoch.
        let scale = match unit.as_str() {
            "second" | "seconds" | "sec" | "secs" => 6,
            "epoch" if v.ty() != SqlType::Date => 6,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => 3,
            _ => 0,
        };
        let unit = Expr::Const(Datum::Text(unit), SqlType::Text);
        let part = date_part_or_trunc(false, unit, v);
        let numeric = Expr::Cast(Box::new(part), SqlType::NUMERIC, false);
        Ok(Expr::Call(
            crate::scalar::Builtin::Round,
            vec![numeric, Expr::Const(Datum::Int4(scale), SqlType::Int4)],
            SqlType::NUMERIC,
        ))
    }

    /// `x AT TIME ZONE zone`: a timestamp is read as local time there (giving timestamptz); a
    /// timestamptz is shown as local time there (giving timestamp). A fixed zone (UTC, a POSIX
    /// offset such as `'+05'` — five hours *west* of Greenwich, as in PostgreSQL — or an
    /// interval, east) is one offset; a named zone (`'Europe/Paris'`, or a column naming one)
    /// is looked up per value ([`ZoneOp`]).
    pub(super) fn at_time_zone(&mut self, ts: &ast::Expr, zone: &ast::Expr, scope: Option<&Scope>) -> Result<Expr> {
        let v = self.expr(ts, scope)?;
        let z = self.expr(zone, scope)?;
        self.at_time_zone_of(v, z)
    }

    /// AT TIME ZONE, and `timezone(zone, x)`, of bound operands.
    fn at_time_zone_of(&mut self, v: Expr, z: Expr) -> Result<Expr> {
        let null_zone = matches!(z, Expr::Const(Datum::Null, _));
        let named =
            |s: &mut Self, z: Expr| s.coerce(z, SqlType::Text, CastContext::Implicit, |_| SqlError::internal("zone"));
        let (east_us, zone_name) = match (&z, z.ty()) {
            (Expr::Const(Datum::Text(name), SqlType::Unknown | SqlType::Text), _) => match zone_offset_east(name) {
                Ok(east) => (Some(east), None),
                Err(_) => {
                    crate::zone::lookup(name)?;
                    (None, Some(named(self, z)?))
                }
            },
            (Expr::Const(Datum::Interval(iv), _), _) => {
                if iv.months != 0 || iv.days != 0 {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!(
                            "interval time zone \"{}\" must not include months or days",
                            crate::datetime::format_interval(iv)
                        ),
                    ));
                }
                (Some(iv.micros), None)
            }
            (Expr::Const(Datum::Null, _), _) => (Some(0), None),
            (_, t) if t.is_string() => (None, Some(named(self, z)?)),
            _ => return Err(SqlError::unsupported("AT TIME ZONE takes a zone name or a constant interval here")),
        };
        let (v, op, to) = match v.ty() {
            SqlType::Timestamp(_) => (v, ArithOp::Sub, SqlType::TIMESTAMPTZ),
            SqlType::TimestampTz(_) | SqlType::Date | SqlType::Unknown => {
                let v =
                    self.coerce(v, SqlType::TIMESTAMPTZ, CastContext::Implicit, |_| SqlError::internal("timestamptz"))?;
                (v, ArithOp::Add, SqlType::TIMESTAMP)
            }
            // timetz_zone / timetz_izone: the same instant at the zone's offset (a named zone's
            // at the transaction's start); a time is a timetz in the session's zone first.
            SqlType::Time(_) | SqlType::TimeTz(_) => {
                let v = self.coerce(v, SqlType::TIMETZ, CastContext::Implicit, |_| SqlError::internal("timetz"))?;
                if null_zone {
                    return Ok(Expr::Const(Datum::Null, SqlType::TIMETZ));
                }
                if let Some(zone) = zone_name {
                    let now = Expr::Func(Func::Now, vec![], SqlType::TIMESTAMPTZ);
                    return Ok(zoned(ZoneOp::TimeTzAt, vec![v, now], zone, SqlType::TIMETZ));
                }
                let east = east_us.unwrap_or(0);
                let offset = Expr::Const(
                    Datum::Interval(orbit_engine::table::Interval { months: 0, days: 0, micros: east }),
                    SqlType::INTERVAL,
                );
                return Ok(Expr::Func(Func::Temporal(TemporalFn::TimeTzAt), vec![v, offset], SqlType::TIMETZ));
            }
            t => {
                return Err(SqlError::new(
                    code::UNDEFINED_FUNCTION,
                    format!("function pg_catalog.timezone(unknown, {}) does not exist", t.name()),
                )
                .hint(
                    "No function matches the given name and argument types. You might need to add explicit type casts.",
                ))
            }
        };
        if null_zone {
            return Ok(Expr::Const(Datum::Null, to));
        }
        if let Some(zone) = zone_name {
            let op = if matches!(to, SqlType::Timestamp(_)) { ZoneOp::ToLocal } else { ZoneOp::FromLocal };
            return Ok(zoned(op, vec![v], zone, to));
        }
        let offset = Expr::Const(
            Datum::Interval(orbit_engine::table::Interval { months: 0, days: 0, micros: east_us.unwrap_or(0) }),
            SqlType::INTERVAL,
        );
        // In UTC a timestamptz and a timestamp hold the same count; the offset moves it.
        let v = Expr::Cast(Box::new(v), to, false);
        Ok(Expr::Arith(op, Box::new(v), Box::new(offset), to))
    }

    /// An input error (class 22) of a literal points at the literal, as PostgreSQL's does.
    pub(super) fn at_literal(&self, e: SqlError, literal: &ast::Expr) -> SqlError {
        match literal {
            // 22001 (a value too long for its column) comes from the assignment at run time in
            // PostgreSQL, which places it nowhere.
            ast::Expr::Value(v) if e.code.starts_with("22") && e.code != "22001" => e.at(self.pos(&v.span)),
            _ => e,
        }
    }

    /// `TIMESTAMP '...'`, `DATE '...'`, ...: the literal read as the type.
    pub(super) fn typed_string(&mut self, ts: &ast::TypedString) -> Result<Expr> {
        let to = sql_type(&ts.data_type)?;
        let s = match &ts.value.value {
            ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => s.clone(),
            other => return Err(SqlError::syntax(&other.to_string())),
        };
        let pos = self.pos(&ts.value.span);
        self.coerce(Expr::Const(Datum::Text(s), SqlType::Unknown), to, CastContext::Explicit, |_| {
            SqlError::internal("typed literal")
        })
        .map_err(|e| e.at(pos))
    }

    /// `INTERVAL '...'`, `INTERVAL '1 2' DAY TO HOUR`, `INTERVAL '1.5' SECOND(2)` and
    /// `INTERVAL(2) '...'`: the literal read under the qualifier's field range (what a bare
    /// number is, which fields are kept) and rounded to its precision, as PostgreSQL's
    /// interval_in reads it with the typmod the grammar builds.
    pub(super) fn interval_literal(&mut self, iv: &ast::Interval) -> Result<Expr> {
        let (s, span) = match iv.value.as_ref() {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => (s.clone(), v.span),
                other => return Err(SqlError::syntax(&other.to_string())),
            },
            _ => return Err(SqlError::unsupported("INTERVAL of an expression is not supported")),
        };
        let field = |f: &ast::DateTimeField| f.to_string().to_ascii_uppercase();
        let range = match (&iv.leading_field, &iv.last_field) {
            (None, None) => dt::interval_in::FULL_RANGE,
            (Some(first), last) => dt::interval_in::range_of(&field(first), last.as_ref().map(field).as_deref())
                .ok_or_else(|| SqlError::syntax(&field(first)))?,
            (None, Some(_)) => return Err(SqlError::syntax("TO")),
        };
        // `SECOND(p)` carries p as sqlparser's leading precision; PostgreSQL's grammar takes a
        // precision on SECOND only. `INTERVAL(p) '...'` loses p in sqlparser's tree: it is read
        // back from the text before the literal.
        let p = match (&iv.leading_field, &iv.last_field, iv.leading_precision, iv.fractional_seconds_precision) {
            (Some(ast::DateTimeField::Second), None, p, None) => p,
            (_, Some(ast::DateTimeField::Second), None, p) => p,
            (_, _, None, None) => self.interval_precision_before(&span),
            _ => return Err(SqlError::syntax("(")),
        };
        let precision = precision(p, "INTERVAL", "")?;
        let pos = self.pos(&span);
        let style = crate::zone::style_for_literal()?;
        let v = dt::interval_in::parse(&s, style.interval, range).map_err(|e| e.at(pos))?;
        Ok(Expr::Const(Datum::Interval(dt::interval_typmod(v, precision)), SqlType::Interval(precision)))
    }

    /// The `p` of `INTERVAL(p) '...'` in the statement's text just before the literal.
    fn interval_precision_before(&self, literal: &sqlparser::tokenizer::Span) -> Option<u64> {
        let pos = self.pos(literal)?;
        let before: String = self.sql.chars().take(pos.checked_sub(1)?).collect();
        let rest = before.trim_end().strip_suffix(')')?;
        let open = rest.rfind('(')?;
        let p: u64 = rest[open + 1..].trim().parse().ok()?;
        let word = rest[..open].trim_end();
        let kw = word.len().checked_sub(8).map(|i| &word[i..])?;
        kw.eq_ignore_ascii_case("interval").then_some(p)
    }

    /// A cast to `interval <fields>[(p)]` (`x::interval day to minute`): a literal is read
    /// under the range as `INTERVAL '...' DAY TO MINUTE` is; another value is cast to interval
    /// (rounded to p) and its fields right of the range dropped.
    pub(super) fn interval_fields_cast(
        &mut self,
        expr: &ast::Expr,
        fields: &ast::IntervalFields,
        p: Option<u64>,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        let text = fields.to_string();
        let (first, last) = match text.split_once(" TO ") {
            Some((a, b)) => (a, Some(b)),
            None => (text.as_str(), None),
        };
        let range = dt::interval_in::range_of(first, last).ok_or_else(|| SqlError::syntax(first))?;
        let p = precision(p, "INTERVAL", "")?;
        let to = SqlType::Interval(p);
        if let ast::Expr::Value(v) = expr {
            if let ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) = &v.value {
                let style = crate::zone::style_for_literal()?;
                let pos = self.pos(&v.span);
                let iv = dt::interval_in::parse(s, style.interval, range).map_err(|e| e.at(pos))?;
                return Ok(Expr::Const(Datum::Interval(dt::interval_typmod(iv, p)), to));
            }
        }
        let b = self.expr(expr, scope)?;
        let b = self
            .coerce(b, to, CastContext::Explicit, |f| {
                SqlError::new("42846", format!("cannot cast type {} to interval", f.base().name()))
            })
            .map_err(|e| self.at_literal(e, expr))?;
        Ok(Expr::Func(Func::Temporal(TemporalFn::IntervalRange(range)), vec![b], to))
    }

    /// Arguments that are all strings (or untyped literals), each as text; 42883 otherwise.
    fn text_args(&mut self, name: &str, bound: &mut Vec<Expr>, types: &[SqlType]) -> Result<Vec<Expr>> {
        if !types.iter().all(|t| t.is_string() || *t == SqlType::Unknown) {
            return Err(no_function(name, types));
        }
        std::mem::take(bound)
            .into_iter()
            .map(|e| self.coerce(e, SqlType::Text, CastContext::Implicit, |_| no_function(name, types)))
            .collect()
    }

    /// The date/time and uuid functions; None when `name` is none of them.
    pub(super) fn datetime_function(
        &mut self,
        name: &str,
        f: &ast::Function,
        bound: &mut Vec<Expr>,
    ) -> Result<Option<Expr>> {
        let types: Vec<SqlType> = bound.iter().map(|b| b.ty()).collect();
        let bare = matches!(f.args, ast::FunctionArguments::None);
        let clock = |func, ty| Ok(Some(local_clock(func, ty)));
        match name {
            // SQL's niladic forms take no parentheses; now() and its synonyms take them.
            "current_timestamp" if bare => clock(Func::Now, SqlType::TIMESTAMPTZ),
            "localtimestamp" if bare => clock(Func::LocalTimestamp, SqlType::TIMESTAMP),
            // CURRENT_TIMESTAMP(p), LOCALTIMESTAMP(p), LOCALTIME(p): rounded to p digits.
            "current_timestamp" | "localtimestamp" | "localtime" | "current_time"
                if bound.len() == 1 && matches!(bound[0], Expr::Const(Datum::Int4(0..), _)) =>
            {
                let Some(Expr::Const(Datum::Int4(p), _)) = bound.pop() else { return Ok(None) };
                // The result has the precision as its typmod (PostgreSQL's SQLValueFunction),
                // 6 past 6 with the type's WARNING.
                let (func, ty, typed) = match name {
                    "current_timestamp" => {
                        let p = precision(Some(p as u64), "TIMESTAMP", " WITH TIME ZONE")?;
                        (Func::Now, SqlType::TIMESTAMPTZ, SqlType::TimestampTz(p))
                    }
                    "localtimestamp" => {
                        let p = precision(Some(p as u64), "TIMESTAMP", "")?;
                        (Func::LocalTimestamp, SqlType::TIMESTAMP, SqlType::Timestamp(p))
                    }
                    "current_time" => {
                        let p = precision(Some(p as u64), "TIME", " WITH TIME ZONE")?;
                        return round_to(current_time(), SqlType::TimeTz(p)).map(Some);
                    }
                    _ => (Func::LocalTime, SqlType::TIME, SqlType::Time(precision(Some(p as u64), "TIME", "")?)),
                };
                round_to(local_clock(func, ty), typed).map(Some)
            }
            "current_date" if bare => clock(Func::CurrentDate, SqlType::Date),
            "localtime" if bare => clock(Func::LocalTime, SqlType::TIME),
            "current_time" if bare => Ok(Some(current_time())),
            "now" | "transaction_timestamp" if !bare && bound.is_empty() => clock(Func::Now, SqlType::TIMESTAMPTZ),
            "statement_timestamp" if !bare && bound.is_empty() => clock(Func::StatementTimestamp, SqlType::TIMESTAMPTZ),
            "clock_timestamp" if !bare && bound.is_empty() => clock(Func::ClockTimestamp, SqlType::TIMESTAMPTZ),
            "gen_random_uuid" if !bare && bound.is_empty() => {
                Ok(Some(Expr::Func(Func::GenRandomUuid, vec![], SqlType::Uuid)))
            }
            "random" if !bare && bound.is_empty() => Ok(Some(Expr::Func(Func::Random, vec![], SqlType::Float8))),
            "date_part" | "date_trunc" if bound.len() == 2 => {
                let trunc = name == "date_trunc";
                if !(types[0] == SqlType::Unknown || types[0].is_string()) {
                    return Err(no_function(name, &types));
                }
                let v = bound.pop().unwrap_or(Expr::Const(Datum::Null, SqlType::Unknown));
                let v = match types[1] {
                    SqlType::Unknown => return Err(not_unique_function(name, &types)),
                    // date_trunc of a date works on it as timestamptz (the preferred type).
                    SqlType::Date if trunc => {
                        self.coerce(v, SqlType::TIMESTAMPTZ, CastContext::Implicit, |_| no_function(name, &types))?
                    }
                    // date_part(text, date) is PostgreSQL's SQL function over the timestamp.
                    SqlType::Date if !trunc => {
                        self.coerce(v, SqlType::TIMESTAMP, CastContext::Implicit, |_| no_function(name, &types))?
                    }
                    SqlType::Time(_) | SqlType::TimeTz(_) if !trunc => v,
                    SqlType::Timestamp(_) | SqlType::TimestampTz(_) | SqlType::Interval(_) => v,
                    _ => return Err(no_function(name, &types)),
                };
                let unit = bound.pop().unwrap_or(Expr::Const(Datum::Null, SqlType::Unknown));
                let unit = self.coerce(unit, SqlType::Text, CastContext::Implicit, |_| no_function(name, &types))?;
                Ok(Some(date_part_or_trunc(trunc, unit, v)))
            }
            "interval_hash" if bound.len() == 1 => {
                if !matches!(types[0], SqlType::Interval(_) | SqlType::Unknown) {
                    return Err(no_function(name, &types));
                }
                let v = bound.pop().unwrap_or(Expr::Const(Datum::Null, SqlType::Unknown));
                let v = self.coerce(v, SqlType::INTERVAL, CastContext::Implicit, |_| no_function(name, &types))?;
                Ok(Some(Expr::Func(Func::Temporal(TemporalFn::IntervalHash), vec![v], SqlType::Int4)))
            }
            // timezone(zone, x): x AT TIME ZONE zone.
            "timezone" if bound.len() == 2 => {
                let (Some(v), Some(z)) = (bound.pop(), bound.pop()) else { return Err(no_function(name, &types)) };
                Ok(Some(self.at_time_zone_of(v, z)?))
            }
            // date_trunc(unit, timestamptz, zone): truncated as local time in that zone.
            "date_trunc" if bound.len() == 3 => {
                let text = |t: SqlType| t == SqlType::Unknown || t.is_string();
                let stamp = matches!(types[1], SqlType::TimestampTz(_) | SqlType::Timestamp(_) | SqlType::Date)
                    || types[1] == SqlType::Unknown;
                if !text(types[0]) || !stamp || !text(types[2]) {
                    return Err(no_function(name, &types));
                }
                let mut args = std::mem::take(bound).into_iter();
                let (Some(unit), Some(v), Some(zone)) = (args.next(), args.next(), args.next()) else {
                    return Err(no_function(name, &types));
                };
                let unit = self.coerce(unit, SqlType::Text, CastContext::Implicit, |_| no_function(name, &types))?;
                let v = self.coerce(v, SqlType::TIMESTAMPTZ, CastContext::Implicit, |_| no_function(name, &types))?;
                let zone = self.coerce(zone, SqlType::Text, CastContext::Implicit, |_| no_function(name, &types))?;
                let zone = match zone {
                    Expr::Const(Datum::Text(n), ty) => {
                        Expr::Const(Datum::Text(crate::zone::canonical_lookup_name(&n)?), ty)
                    }
                    z => z,
                };
                Ok(Some(zoned(ZoneOp::Trunc, vec![unit, v], zone, SqlType::TIMESTAMPTZ)))
            }
            // date_bin(stride, source, origin): timestamp, or timestamptz when either is one.
            "date_bin" if bound.len() == 3 => {
                let (a, b) = (types[1], types[2]);
                let known = |t: SqlType| t.is_datetime() || t == SqlType::Unknown;
                if !matches!(types[0], SqlType::Interval(_) | SqlType::Unknown) || !known(a) || !known(b) {
                    return Err(no_function(name, &types));
                }
                let t = match (a, b) {
                    (SqlType::TimestampTz(_), _) | (_, SqlType::TimestampTz(_)) => SqlType::TIMESTAMPTZ,
                    (SqlType::Unknown, SqlType::Unknown) => return Err(not_unique_function(name, &types)),
                    _ => SqlType::TIMESTAMP,
                };
                let mut args = std::mem::take(bound).into_iter();
                let mut out = Vec::with_capacity(3);
                if let Some(stride) = args.next() {
                    out.push(
                        self.coerce(stride, SqlType::INTERVAL, CastContext::Implicit, |_| no_function(name, &types))?,
                    );
                }
                for e in args {
                    out.push(self.coerce(e, t, CastContext::Implicit, |_| no_function(name, &types))?);
                }
                Ok(Some(Expr::Func(Func::Temporal(TemporalFn::DateBin), out, t)))
            }
            "age" if !bound.is_empty() && bound.len() <= 2 => {
                if types.contains(&SqlType::Unknown) {
                    return Err(not_unique_function(name, &types));
                }
                let mut args = std::mem::take(bound);
                if args.len() == 1 {
                    // age(x) is age(today at midnight, x).
                    let today = local_clock(Func::CurrentDate, SqlType::Date);
                    args.insert(0, today);
                }
                let (a, b) = (args[0].ty(), args[1].ty());
                if !(a.is_datetime() && b.is_datetime()) {
                    return Err(no_function(name, &types));
                }
                let t = match datetime_common(a, b) {
                    SqlType::TimestampTz(_) => SqlType::TIMESTAMPTZ,
                    _ => SqlType::TIMESTAMP,
                };
                let mut args = args
                    .into_iter()
                    .map(|e| self.coerce(e, t, CastContext::Implicit, |_| no_function(name, &types)))
                    .collect::<Result<Vec<_>>>()?;
                // The age of timestamptz values is counted on their local times in the session's zone.
                if let (SqlType::TimestampTz(_), Some(zone)) = (t, session_zone()) {
                    args = args
                        .into_iter()
                        .map(|e| zoned(ZoneOp::ToLocal, vec![e], zone.clone(), SqlType::TIMESTAMP))
                        .collect();
                }
                Ok(Some(Expr::Func(Func::Temporal(TemporalFn::Age), args, SqlType::INTERVAL)))
            }
            "to_timestamp" if bound.len() == 1 => {
                let v = bound.pop().unwrap_or(Expr::Const(Datum::Null, SqlType::Unknown));
                if !(types[0].is_numeric() || types[0] == SqlType::Unknown) {
                    return Err(no_function(name, &types));
                }
                let v = self.coerce(v, SqlType::Float8, CastContext::Implicit, |_| no_function(name, &types))?;
                Ok(Some(Expr::Func(Func::Temporal(TemporalFn::ToTimestamp), vec![v], SqlType::TIMESTAMPTZ)))
            }
            "to_char" if bound.len() == 2 && (is_temporal(types[0]) || types[0] == SqlType::Unknown) => {
                if types[0] == SqlType::Unknown {
                    return Err(not_unique_function(name, &types));
                }
                if !(types[1].is_string() || types[1] == SqlType::Unknown) {
                    return Err(no_function(name, &types));
                }
                let fmt = bound.pop().unwrap_or(Expr::Const(Datum::Null, SqlType::Unknown));
                let fmt = self.coerce(fmt, SqlType::Text, CastContext::Implicit, |_| no_function(name, &types))?;
                let v = bound.pop().unwrap_or(Expr::Const(Datum::Null, SqlType::Unknown));
                // A date is formatted as timestamptz (the preferred type), a time as interval.
                let to = match types[0] {
                    SqlType::Date => SqlType::TIMESTAMPTZ,
                    SqlType::Time(_) => SqlType::INTERVAL,
                    t => t,
                };
                let v = self.coerce(v, to, CastContext::Implicit, |_| no_function(name, &types))?;
                if let (SqlType::TimestampTz(_), Some(zone)) = (v.ty(), session_zone()) {
                    return Ok(Some(zoned(ZoneOp::ToChar, vec![v, fmt], zone, SqlType::Text)));
                }
                Ok(Some(Expr::Func(Func::Temporal(TemporalFn::ToChar), vec![v, fmt], SqlType::Text)))
            }
            "to_timestamp" | "to_date" if bound.len() == 2 => {
                let args = self.text_args(name, bound, &types)?;
                let (f, ty) = if name == "to_date" {
                    (TemporalFn::ToDateFormat, SqlType::Date)
                } else {
                    (TemporalFn::ToTimestampFormat, SqlType::TIMESTAMPTZ)
                };
                // to_timestamp reads fields without a zone as local time in the session's zone;
                // a format with a zone pattern (TZH, TZM, OF, TZ) says its own offset.
                let zone_free = match args.get(1) {
                    Some(Expr::Const(Datum::Text(fmt), _)) => {
                        let lower = fmt.to_ascii_lowercase();
                        !lower.contains("tz") && !lower.contains("of")
                    }
                    _ => false,
                };
                if let (SqlType::TimestampTz(_), true, Some(zone)) = (ty, zone_free, session_zone()) {
                    let utc = Expr::Func(Func::Temporal(f), args, ty);
                    let fields = Expr::Cast(Box::new(utc), SqlType::TIMESTAMP, false);
                    return Ok(Some(zoned(ZoneOp::FromLocal, vec![fields], zone, ty)));
                }
                Ok(Some(Expr::Func(Func::Temporal(f), args, ty)))
            }
            // to_char of a number (int2/4/8, float4/8, numeric; read as numeric).
            "to_char"
                if bound.len() == 2
                    && types[0].is_numeric()
                    && (types[1].is_string() || types[1] == SqlType::Unknown) =>
            {
                let mut it = std::mem::take(bound).into_iter();
                let (v, fmt) = (it.next().expect("two"), it.next().expect("two"));
                // Integers as numerics; floats stay floats (rounded as binary values).
                let v = match v.ty() {
                    SqlType::Float4 | SqlType::Float8 => v,
                    _ => self.coerce(v, SqlType::NUMERIC, CastContext::Explicit, |_| no_function(name, &types))?,
                };
                let fmt = self.coerce(fmt, SqlType::Text, CastContext::Implicit, |_| no_function(name, &types))?;
                Ok(Some(Expr::Call(
                    crate::scalar::Builtin::Text(crate::text_fns::TextFn::NumToChar),
                    vec![v, fmt],
                    SqlType::Text,
                )))
            }
            "to_char" => Err(no_function(name, &types)),
            "to_number" if bound.len() == 2 => {
                let args = self.text_args(name, bound, &types)?;
                Ok(Some(Expr::Call(
                    crate::scalar::Builtin::Text(crate::text_fns::TextFn::ToNumber),
                    args,
                    SqlType::NUMERIC,
                )))
            }
            "make_date" if bound.len() == 3 => {
                if !types.iter().all(|t| matches!(t, SqlType::Int2 | SqlType::Int4 | SqlType::Unknown)) {
                    return Err(no_function(name, &types));
                }
                let args = std::mem::take(bound)
                    .into_iter()
                    .map(|e| self.coerce(e, SqlType::Int4, CastContext::Implicit, |_| no_function(name, &types)))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Some(Expr::Func(Func::Temporal(TemporalFn::MakeDate), args, SqlType::Date)))
            }
            // make_time(h, m, s), make_timestamp(y, mo, d, h, mi, s), make_interval([years
            // [, months [, weeks [, days [, hours [, mins [, secs]]]]]]]): the missing trailing
            // arguments are PostgreSQL's defaults, 0.
            // make_timestamptz(year, month, mday, hour, min, sec [, zone]): that local time in the
            // zone (the session's when none is given).
            "make_timestamptz" if bound.len() == 6 || bound.len() == 7 => {
                let zone = if bound.len() == 7 {
                    let z = bound.pop().unwrap_or(Expr::Const(Datum::Null, SqlType::Unknown));
                    if !(z.ty().is_string() || z.ty() == SqlType::Unknown) {
                        return Err(no_function(name, &types));
                    }
                    let z = self.coerce(z, SqlType::Text, CastContext::Implicit, |_| no_function(name, &types))?;
                    // A constant zone is read as parse_sane_timezone reads it (`'+2'` east).
                    Some(match z {
                        Expr::Const(Datum::Text(n), ty) => {
                            Expr::Const(Datum::Text(crate::zone::sane_zone_name(&n)?), ty)
                        }
                        z => Expr::Func(Func::Temporal(TemporalFn::SaneZone), vec![z], SqlType::Text),
                    })
                } else {
                    session_zone()
                };
                let Some(local) = self.datetime_function("make_timestamp", f, bound)? else {
                    return Err(no_function(name, &types));
                };
                Ok(Some(match zone {
                    Some(z) => zoned(ZoneOp::FromLocal, vec![local], z, SqlType::TIMESTAMPTZ),
                    None => Expr::Cast(Box::new(local), SqlType::TIMESTAMPTZ, false),
                }))
            }
            "make_time" | "make_timestamp" | "make_interval" => {
                let (n, f, ty) = match name {
                    "make_time" => (3, TemporalFn::MakeTime, SqlType::TIME),
                    "make_timestamp" => (6, TemporalFn::MakeTimestamp, SqlType::TIMESTAMP),
                    _ => (7, TemporalFn::MakeInterval, SqlType::INTERVAL),
                };
                let given = bound.len();
                if given > n || (name != "make_interval" && given != n) {
                    return Err(no_function(name, &types));
                }
                let mut args = Vec::with_capacity(n);
                for (i, e) in std::mem::take(bound).into_iter().enumerate() {
                    let t = types[i];
                    let last = i == n - 1;
                    let ok = if last {
                        t.is_numeric() || t == SqlType::Unknown
                    } else {
                        t.is_integer() && t != SqlType::Int8 || t == SqlType::Unknown
                    };
                    if !ok {
                        return Err(no_function(name, &types));
                    }
                    let to = if last { SqlType::Float8 } else { SqlType::Int4 };
                    args.push(self.coerce(e, to, CastContext::Implicit, |_| no_function(name, &types))?);
                }
                for i in given..n {
                    let zero = if i == n - 1 { Datum::Float8(0.0) } else { Datum::Int4(0) };
                    let t = if i == n - 1 { SqlType::Float8 } else { SqlType::Int4 };
                    args.push(Expr::Const(zero, t));
                }
                Ok(Some(Expr::Func(Func::Temporal(f), args, ty)))
            }
            "isfinite" if bound.len() == 1 => {
                if !(types[0].is_datetime() || matches!(types[0], SqlType::Interval(_))) {
                    return Err(if types[0] == SqlType::Unknown {
                        not_unique_function(name, &types)
                    } else {
                        no_function(name, &types)
                    });
                }
                Ok(Some(Expr::Func(Func::Temporal(TemporalFn::IsFinite), std::mem::take(bound), SqlType::Bool)))
            }
            "justify_days" | "justify_hours" | "justify_interval" if bound.len() == 1 => {
                let f = match name {
                    "justify_days" => TemporalFn::JustifyDays,
                    "justify_hours" => TemporalFn::JustifyHours,
                    _ => TemporalFn::JustifyInterval,
                };
                let v = bound.pop().unwrap_or(Expr::Const(Datum::Null, SqlType::Unknown));
                let v = self.coerce(v, SqlType::INTERVAL, CastContext::Implicit, |_| no_function(name, &types))?;
                Ok(Some(Expr::Func(Func::Temporal(f), vec![v], SqlType::INTERVAL)))
            }
            _ => Ok(None),
        }
    }
}

/// The parameter names of the date/time constructors (PostgreSQL 15's pg_proc.proargnames),
/// and whether a left-out one has a default (make_interval's are all 0).
fn constructor_params(name: &str) -> Option<(&'static [&'static str], bool)> {
    Some(match name {
        "make_interval" => (&["years", "months", "weeks", "days", "hours", "mins", "secs"], true),
        "make_timestamptz" => (&["year", "month", "mday", "hour", "min", "sec", "timezone"], false),
        "make_timestamp" => (&["year", "month", "mday", "hour", "min", "sec"], false),
        "make_date" => (&["year", "month", "day"], false),
        "make_time" => (&["hour", "min", "sec"], false),
        _ => return None,
    })
}

/// Named arguments (`make_interval(days => 10)`, `years := 2`) of the date/time constructors
/// put in their positions, left-out ones before the last given filled with their defaults;
/// None for a call without named arguments or of another function.
/// A call's argument written `name => value` (or `name := value`): the folded name and value.
pub(super) fn named_argument(a: &ast::FunctionArg) -> Option<(String, &ast::Expr)> {
    match a {
        ast::FunctionArg::Named { name, arg: ast::FunctionArgExpr::Expr(e), .. } => Some((super::fold(name), e)),
        ast::FunctionArg::ExprNamed {
            name: ast::Expr::Identifier(name), arg: ast::FunctionArgExpr::Expr(e), ..
        } => Some((super::fold(name), e)),
        _ => None,
    }
}

pub(super) fn named_positional<'a>(
    name: &str,
    args: &'a [ast::FunctionArg],
    type_of: &mut dyn FnMut(&ast::Expr) -> Result<SqlType>,
) -> Result<Option<Vec<&'a ast::Expr>>> {
    static ZERO: std::sync::OnceLock<ast::Expr> = std::sync::OnceLock::new();
    static ZERO_SECS: std::sync::OnceLock<ast::Expr> = std::sync::OnceLock::new();
    let named = named_argument;
    let Some((params, defaults)) = constructor_params(name) else { return Ok(None) };
    if !args.iter().any(|a| named(a).is_some()) {
        return Ok(None);
    }
    let mut slots: Vec<Option<&'a ast::Expr>> = vec![None; params.len()];
    let mut positional = 0;
    // PostgreSQL's message lists the call's arguments as written.
    let missing = |type_of: &mut dyn FnMut(&ast::Expr) -> Result<SqlType>| -> Result<SqlError> {
        let mut shown = Vec::with_capacity(args.len());
        for a in args {
            match (a, named(a)) {
                (ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)), _) => shown.push(type_of(e)?.name()),
                (_, Some((n, e))) => shown.push(format!("{n} => {}", type_of(e)?.name())),
                _ => shown.push("*".into()),
            }
        }
        Ok(SqlError::new(code::UNDEFINED_FUNCTION, format!("function {name}({}) does not exist", shown.join(", ")))
            .hint("No function matches the given name and argument types. You might need to add explicit type casts."))
    };
    for a in args {
        match (a, named(a)) {
            (ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)), _) if positional < params.len() => {
                slots[positional] = Some(e);
                positional += 1;
            }
            (_, Some((n, e))) => {
                let Some(at) = params.iter().position(|p| *p == n) else { return Err(missing(type_of)?) };
                if slots[at].is_some() {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        format!("argument name \"{n}\" used more than once"),
                    ));
                }
                slots[at] = Some(e);
            }
            _ => return Err(missing(type_of)?),
        }
    }
    let zero = || ZERO.get_or_init(|| ast::Expr::Value(ast::Value::Number("0".into(), false).with_empty_span()));
    let zero_secs = || {
        ZERO_SECS.get_or_init(|| ast::Expr::Cast {
            kind: ast::CastKind::DoubleColon,
            expr: Box::new(ast::Expr::Value(ast::Value::Number("0".into(), false).with_empty_span())),
            data_type: ast::DataType::DoublePrecision,
            format: None,
        })
    };
    let n = if defaults { slots.iter().rposition(Option::is_some).map_or(0, |i| i + 1) } else { slots.len() };
    let mut out = Vec::with_capacity(n);
    for (i, s) in slots[..n].iter().enumerate() {
        match s {
            Some(e) => out.push(*e),
            None if defaults && i == params.len() - 1 => out.push(zero_secs()),
            None if defaults => out.push(zero()),
            None => return Err(missing(type_of)?),
        }
    }
    Ok(Some(out))
}
