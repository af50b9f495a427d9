//! `time with time zone` (timetz): a time of day and the zone offset it was written with
//! (PostgreSQL's TimeTzADT; Orbit keeps the offset in seconds east, PostgreSQL seconds west).
//! Its text forms (timetz_in, timetz_out), its order (timetz_cmp: the instant in UTC, then the
//! zone), its arithmetic with intervals and dates, AT TIME ZONE and EXTRACT.

use super::decode::{self, Zone};
use super::{
    date2j, decode_error, input_now_us, j2date, today_julian, Kind, POSTGRES_EPOCH_JDATE, USECS_PER_DAY, USECS_PER_SEC,
};
use crate::error::{code, Result, SqlError};
use jiff::tz::TimeZone;
use orbit_engine::table::{Datum, Interval};
use std::cmp::Ordering;

/// The largest offset a timetz may have, exclusive (PostgreSQL's TZDISP_LIMIT: 16 hours).
pub const TZDISP_LIMIT: i64 = 16 * 3600;

/// The offset (seconds east) of the local time `local_us` in `tz`.
fn local_offset(tz: &TimeZone, local_us: i64) -> i64 {
    (local_us - crate::zone::from_local(tz, local_us)) / USECS_PER_SEC
}

/// A timetz's text (timetz_in): a time, maybe after a date, with a zone; without one the
/// session's zone (`session`, None: UTC) at the text's date, or today, gives the offset. A zone
/// name with daylight-saving time needs the date (DecodeTimeOnly refuses it otherwise).
pub fn parse(s: &str, session: Option<&TimeZone>) -> Result<(i64, i32)> {
    let d = decode::decode_time_only(s).map_err(|e| decode_error(e, Kind::TimeTz, s))?;
    let Some(time) = d.time else {
        // `now`: the clock's local time in the session's zone, and the offset there.
        let now = input_now_us();
        let east = session.map_or(0, |tz| crate::zone::offset_east(tz, now));
        return Ok(((now + east * USECS_PER_SEC).rem_euclid(USECS_PER_DAY), east as i32));
    };
    let (y, m, day) = d.date.unwrap_or_else(|| j2date(today_julian(session, 0)));
    let local = (date2j(y, m, day) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY + time;
    let east = match &d.zone {
        Some(Zone::East(e)) => *e,
        Some(Zone::Named(tz)) => local_offset(tz, local),
        Some(Zone::Abbrev(tz, a)) => crate::zone::abbrev_offset_east(tz, a, local),
        None => session.map_or(0, |tz| local_offset(tz, local)),
    };
    Ok((time, east as i32))
}

/// A timetz's text (timetz_out): `HH:MM:SS[.ffffff]` and the offset (`-07`, `+05:30`).
pub fn format(t: i64, east: i32) -> String {
    let mut out = super::format_time(t);
    super::push_offset(&mut out, east as i64);
    out
}

/// timetz_cmp: by the instant in UTC, then by the zone (the one further west is greater), so
/// two values are equal only when both their times and zones are.
pub fn cmp(a: (i64, i32), b: (i64, i32)) -> Ordering {
    let utc = |(t, east): (i64, i32)| t - east as i64 * USECS_PER_SEC;
    utc(a).cmp(&utc(b)).then_with(|| b.1.cmp(&a.1))
}

/// timetz ± interval: the interval's time part moves the time of day around the clock; months,
/// days and the zone stay.
pub fn plus_interval(t: i64, east: i32, iv: &Interval, minus: bool) -> Datum {
    let delta = if minus { -(iv.micros % USECS_PER_DAY) } else { iv.micros % USECS_PER_DAY };
    Datum::TimeTz((t + delta).rem_euclid(USECS_PER_DAY), east)
}

/// date + timetz (datetimetz_timestamptz): the instant of that local time at the value's offset.
pub fn on_date(date: i32, t: i64, east: i32) -> Result<Datum> {
    let local = super::date_to_ts(date)?;
    if !super::is_finite_ts(local) {
        return Ok(Datum::TimestampTz(local));
    }
    Ok(Datum::TimestampTz(local + t - east as i64 * USECS_PER_SEC))
}

/// The same time at another offset (timetz_zone / timetz_izone): the time of day moves by the
/// difference, around the clock.
pub fn at_offset(t: i64, east: i32, to_east: i64) -> Datum {
    Datum::TimeTz((t + (to_east - east as i64) * USECS_PER_SEC).rem_euclid(USECS_PER_DAY), to_east as i32)
}

/// A timestamptz's time of day and offset in `tz` (timestamptz_timetz).
pub fn of_timestamptz(ts: i64, tz: &TimeZone) -> Result<Datum> {
    if !super::is_finite_ts(ts) {
        return Err(SqlError::new(super::DATETIME_FIELD_OVERFLOW, "timestamp out of range"));
    }
    let east = crate::zone::offset_east(tz, ts);
    Ok(Datum::TimeTz((ts + east * USECS_PER_SEC).rem_euclid(USECS_PER_DAY), east as i32))
}

/// A time with the offset `tz` has at that time today (time_timetz).
pub fn of_time(t: i64, tz: &TimeZone) -> Datum {
    let today = (today_julian(Some(tz), 0) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY;
    Datum::TimeTz(t, local_offset(tz, today + t) as i32)
}

/// An interval zone's offset for AT TIME ZONE (timetz_izone): seconds east; months or days are
/// an error.
pub fn interval_zone(iv: &Interval) -> Result<i64> {
    if iv.months != 0 || iv.days != 0 {
        return Err(SqlError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("interval time zone \"{}\" must not include months or days", super::format_interval(iv)),
        ));
    }
    Ok(iv.micros / USECS_PER_SEC)
}

/// `date_part(unit, timetz)` (and EXTRACT): the time's fields, the zone's, or the epoch of
/// that time in UTC on 1970-01-01.
pub fn part(unit: &str, t: i64, east: i32) -> Result<Datum> {
    let ty = "time with time zone";
    let lower = unit.to_ascii_lowercase();
    let u = super::canonical_unit(&lower).ok_or_else(|| super::unit_error(unit, ty))?;
    let east = east as i64;
    Ok(Datum::Float8(match u {
        "timezone" => east as f64,
        "timezone_hour" => (east / 3600) as f64,
        "timezone_minute" => (east / 60 % 60) as f64,
        "epoch" => (t - east * USECS_PER_SEC) as f64 / 1e6,
        u => super::time_field(u, t).ok_or_else(|| super::unit_unsupported(unit, ty))?,
    }))
}

/// The binary form (timetz_send): the time (i64) and the zone in seconds *west* (i32).
pub fn to_binary(t: i64, east: i32) -> Vec<u8> {
    let mut b = Vec::with_capacity(12);
    b.extend_from_slice(&t.to_be_bytes());
    b.extend_from_slice(&(-east).to_be_bytes());
    b
}

/// timetz_recv's checks on a binary value: the time within a day, the zone within the limit.
pub fn from_binary(t: i64, west: i32) -> Result<(i64, i32)> {
    if !(0..=USECS_PER_DAY).contains(&t) {
        return Err(SqlError::new(super::DATETIME_FIELD_OVERFLOW, "time out of range"));
    }
    if (west as i64).abs() >= TZDISP_LIMIT {
        return Err(SqlError::new("22009", "time zone displacement out of range"));
    }
    Ok((t, -west))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datetime::USECS_PER_HOUR;

    #[test]
    fn text_forms() {
        assert_eq!(parse("00:01 PDT", None).unwrap(), (60_000_000, -25_200));
        assert_eq!(parse("11:59:59.99 PM PDT", None).unwrap(), (86_399_990_000, -25_200));
        assert_eq!(parse("2003-07-07 15:36:39 America/New_York", None).unwrap().1, -4 * 3600);
        assert_eq!(parse("2003-03-07 15:36:39 America/New_York", None).unwrap().1, -5 * 3600);
        assert!(parse("15:36:39 America/New_York", None).is_err());
        assert_eq!(format(86_399_990_000, -25_200), "23:59:59.99-07");
        assert_eq!(format(0, 19_800), "00:00:00+05:30");
        assert_eq!(parse("05:06:07+05:30", None).unwrap(), (18_367_000_000, 19_800));
    }

    #[test]
    fn order_is_the_instant_then_the_zone() {
        // 12:00-07 and 15:00-04 are the same instant: the one further west is greater.
        let a = (12 * USECS_PER_HOUR, -7 * 3600);
        let b = (15 * USECS_PER_HOUR, -4 * 3600);
        assert_eq!(cmp(a, b), Ordering::Greater);
        assert_eq!(cmp(a, a), Ordering::Equal);
        assert_eq!(cmp((USECS_PER_HOUR, 0), (2 * USECS_PER_HOUR, 0)), Ordering::Less);
    }

    #[test]
    fn clock_arithmetic_wraps() {
        let iv = Interval { months: 0, days: 0, micros: 2 * USECS_PER_HOUR };
        assert_eq!(plus_interval(23 * USECS_PER_HOUR, 0, &iv, false), Datum::TimeTz(USECS_PER_HOUR, 0));
        assert_eq!(plus_interval(USECS_PER_HOUR, 0, &iv, true), Datum::TimeTz(23 * USECS_PER_HOUR, 0));
        assert_eq!(at_offset(0, -7 * 3600, 0), Datum::TimeTz(7 * USECS_PER_HOUR, 0));
    }
}
