//! Dates, times, timestamps and intervals as PostgreSQL keeps them: a timestamp is microseconds
//! since 2000-01-01 00:00 (`timestamptz` the same instant in UTC, the only session time zone
//! here), a date is days since 2000-01-01, a time is microseconds since midnight, an interval is
//! (months, days, microseconds). Calendar math is PostgreSQL's own (`date2j`/`j2date`, Julian
//! day numbers, astronomical years: year 0 is 1 BC), so the supported range (4714-11-24 BC to
//! 294276 AD for timestamps, to 5874897 AD for dates) and leap-year rules match exactly.
//! Text forms are DateStyle ISO, MDY and IntervalStyle postgres (PostgreSQL's defaults).

use crate::error::{code, Result, SqlError};
use orbit_engine::table::{Datum, Interval};

mod decode;
mod fields;
pub mod interval_in;
pub mod timetz;

/// SQLSTATEs of the date/time errors (class 22).
pub const INVALID_DATETIME_FORMAT: &str = "22007";
pub const DATETIME_FIELD_OVERFLOW: &str = "22008";
pub const INTERVAL_FIELD_OVERFLOW: &str = "22015";

pub const USECS_PER_SEC: i64 = 1_000_000;
pub const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
pub const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
pub const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;
const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
const UNIX_EPOCH_JDATE: i64 = 2_440_588;
/// First Julian day past the date range (5874898-01-01).
const DATE_END_JULIAN: i64 = 2_147_483_494;
/// First Julian day past the timestamp range (294277-01-01).
const TIMESTAMP_END_JULIAN: i64 = 109_203_528;
/// 4714-11-24 BC 00:00, the first representable timestamp.
const MIN_TIMESTAMP: i64 = -211_813_488_000_000_000;
const END_TIMESTAMP: i64 = 9_223_371_331_200_000_000;
pub const TS_NOBEGIN: i64 = i64::MIN;
pub const TS_NOEND: i64 = i64::MAX;
pub const DATE_NOBEGIN: i32 = i32::MIN;
pub const DATE_NOEND: i32 = i32::MAX;

/// PostgreSQL's `date2j`: the Julian day number of a (proleptic Gregorian) date.
pub fn date2j(y: i64, m: i64, d: i64) -> i64 {
    let (m, y) = if m > 2 { (m + 1, y + 4800) } else { (m + 13, y + 4799) };
    let century = y.div_euclid(100);
    let mut julian = y * 365 - 32167;
    julian += y.div_euclid(4) - century + century.div_euclid(4);
    julian + 7834 * m / 256 + d
}

/// PostgreSQL's `j2date`: (year, month, day) of a Julian day number (>= 0).
pub fn j2date(jd: i64) -> (i64, i64, i64) {
    let mut julian = jd + 32044;
    let mut quad = julian / 146097;
    let extra = (julian - quad * 146097) * 4 + 3;
    julian += 60 + quad * 3 + extra / 146097;
    quad = julian / 1461;
    julian -= quad * 1461;
    let mut y = julian * 4 / 1461;
    julian = if y != 0 { (julian + 305) % 365 } else { (julian + 306) % 366 } + 123;
    y += quad * 4;
    let q = julian * 2141 / 65536;
    (y - 4800, (q + 10) % 12 + 1, julian - 7834 * q / 256)
}

/// Day of the week, 0 = Sunday.
fn j2day(jd: i64) -> i64 {
    (jd + 1).rem_euclid(7)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Broken-down timestamp: astronomical year, month, day, microseconds of the day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fields {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub time_us: i64,
}

pub fn ts_fields(ts: i64) -> Fields {
    let date = ts.div_euclid(USECS_PER_DAY);
    let (year, month, day) = j2date(date + POSTGRES_EPOCH_JDATE);
    Fields { year, month, day, time_us: ts.rem_euclid(USECS_PER_DAY) }
}

/// A timestamp from fields, None when outside the timestamp range.
fn ts_of(year: i64, month: i64, day: i64, time_us: i64) -> Option<i64> {
    let jd = date2j(year, month, day);
    if !(0..TIMESTAMP_END_JULIAN).contains(&jd) {
        return None;
    }
    let ts = (jd - POSTGRES_EPOCH_JDATE).checked_mul(USECS_PER_DAY)?.checked_add(time_us)?;
    (MIN_TIMESTAMP..END_TIMESTAMP).contains(&ts).then_some(ts)
}

fn ts_out_of_range() -> SqlError {
    SqlError::new(DATETIME_FIELD_OVERFLOW, "timestamp out of range")
}

fn date_out_of_range() -> SqlError {
    SqlError::new(DATETIME_FIELD_OVERFLOW, "date out of range")
}

pub(crate) fn interval_out_of_range() -> SqlError {
    SqlError::new(DATETIME_FIELD_OVERFLOW, "interval out of range")
}

pub fn is_finite_ts(ts: i64) -> bool {
    ts != TS_NOBEGIN && ts != TS_NOEND
}

/// A date as a timestamp at midnight (infinities stay infinite).
pub fn date_to_ts(d: i32) -> Result<i64> {
    match d {
        DATE_NOBEGIN => Ok(TS_NOBEGIN),
        DATE_NOEND => Ok(TS_NOEND),
        d => {
            let ts = d as i64 * USECS_PER_DAY;
            if !(MIN_TIMESTAMP..END_TIMESTAMP).contains(&ts) {
                return Err(SqlError::new(DATETIME_FIELD_OVERFLOW, "date out of range for timestamp"));
            }
            Ok(ts)
        }
    }
}

pub fn ts_to_date(ts: i64) -> i32 {
    match ts {
        TS_NOBEGIN => DATE_NOBEGIN,
        TS_NOEND => DATE_NOEND,
        // Every timestamp's day fits a date.
        ts => ts.div_euclid(USECS_PER_DAY) as i32,
    }
}

pub fn ts_to_time(ts: i64) -> Option<i64> {
    is_finite_ts(ts).then(|| ts.rem_euclid(USECS_PER_DAY))
}

thread_local! {
    /// The start of the open transaction block whose statement is being bound: a text `now`,
    /// `today` read then is that time, as PostgreSQL reads them (GetCurrentTransactionStartTimestamp).
    static BIND_CLOCK: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// The transaction start a statement being bound reads `now` as (None: the clock; set by the
/// connection before binding, cleared when the bind ends).
pub fn bind_clock(started_us: Option<i64>) {
    BIND_CLOCK.with(|c| c.set(started_us));
}

/// What a text `now` or `today` reads: the open block's start while its statement is bound,
/// else the clock.
fn input_now_us() -> i64 {
    BIND_CLOCK.with(|c| c.get()).unwrap_or_else(now_us)
}

/// Microseconds since 2000-01-01 UTC now, from the system clock.
pub fn now_us() -> i64 {
    let since_unix = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    since_unix.as_micros() as i64 - (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY
}

// ---------------------------------------------------------------------------------------------
// Text input.

/// Which type a text is read as (for the error messages and what the value keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Timestamp,
    TimestampTz,
    Date,
    Time,
    TimeTz,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Timestamp => "timestamp",
            Kind::TimestampTz => "timestamp with time zone",
            Kind::Date => "date",
            Kind::Time => "time",
            Kind::TimeTz => "time with time zone",
        }
    }
}

fn bad_syntax(kind: &str, s: &str) -> SqlError {
    SqlError::new(INVALID_DATETIME_FORMAT, format!("invalid input syntax for type {kind}: \"{s}\""))
}

fn field_overflow(s: &str) -> SqlError {
    SqlError::new(DATETIME_FIELD_OVERFLOW, format!("date/time field value out of range: \"{s}\""))
}

/// The months' English names, lower case (their first three letters are the abbreviations).
pub(crate) const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Reads a `timestamp` (zone ignored), `timestamptz` (zone applied) or the timestamp a `date`
/// text names.
pub fn parse_timestamp(s: &str, kind: Kind) -> Result<i64> {
    parse_timestamp_in(s, kind, None)
}

/// A DecodeDateTime error as PostgreSQL's DateTimeParseError reports it.
fn decode_error(e: decode::Dterr, kind: Kind, s: &str) -> SqlError {
    match e {
        decode::Dterr::BadFormat => bad_syntax(kind.name(), s),
        decode::Dterr::FieldOverflow => field_overflow(s),
        decode::Dterr::MdFieldOverflow => field_overflow(s).hint("Perhaps you need a different \"datestyle\" setting."),
        decode::Dterr::TzDispOverflow => {
            SqlError::new("22009", format!("time zone displacement out of range: \"{s}\""))
        }
        decode::Dterr::BadTimezone(z) => {
            SqlError::new(code::INVALID_PARAMETER_VALUE, format!("time zone \"{z}\" not recognized"))
        }
    }
}

/// A numeric zone offset (`+05`, `-0800`, `+1:00:10`) as DecodeTimezone reads it, seconds
/// east; Err(true) when out of range, Err(false) when malformed.
pub fn decode_timezone_offset(s: &str) -> std::result::Result<i64, bool> {
    decode::decode_timezone(s).map_err(|e| matches!(e, decode::Dterr::TzDispOverflow))
}

/// PostgreSQL's IS_VALID_JULIAN: the calendar fields lie in the Julian-day routines' range.
fn valid_julian(y: i64, m: i64) -> bool {
    (y > -4713 || (y == -4713 && m >= 11)) && y < 5_874_898
}

/// Today's date (Julian day) in `session` (None: UTC), plus `days`.
fn today_julian(session: Option<&jiff::tz::TimeZone>, days: i64) -> i64 {
    let now = match session {
        Some(tz) => crate::zone::to_local(tz, input_now_us()),
        None => input_now_us(),
    };
    now.div_euclid(USECS_PER_DAY) + POSTGRES_EPOCH_JDATE + days
}

/// DateStyle's field order: how the numbers of a date without a four-digit year read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateOrder {
    #[default]
    Mdy,
    Dmy,
    Ymd,
}

impl DateOrder {
    /// The order of a DateStyle value as SHOW prints it (`ISO, DMY`).
    pub fn of_setting(v: &str) -> DateOrder {
        if v.ends_with("DMY") {
            DateOrder::Dmy
        } else if v.ends_with("YMD") {
            DateOrder::Ymd
        } else {
            DateOrder::Mdy
        }
    }
}

/// A timestamp's text (PostgreSQL's timestamp_in / timestamptz_in); a `timestamptz` without a
/// zone in the text is local time in `session` (None: UTC), as `today` is that zone's midnight.
pub fn parse_timestamp_in(s: &str, kind: Kind, session: Option<&jiff::tz::TimeZone>) -> Result<i64> {
    parse_timestamp_order(s, kind, session, DateOrder::Mdy)
}

/// [`parse_timestamp_in`] under a DateStyle field order.
pub fn parse_timestamp_order(
    s: &str,
    kind: Kind,
    session: Option<&jiff::tz::TimeZone>,
    order: DateOrder,
) -> Result<i64> {
    let d = decode::decode_date_time(s, order).map_err(|e| decode_error(e, kind, s))?;
    let range = || SqlError::new(DATETIME_FIELD_OVERFLOW, format!("timestamp out of range: \"{s}\""));
    match d.special {
        Some(decode::Special::Epoch) => return Ok((UNIX_EPOCH_JDATE - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY),
        Some(decode::Special::Late) => return Ok(TS_NOEND),
        Some(decode::Special::Early) => return Ok(TS_NOBEGIN),
        Some(decode::Special::Now) => {
            let now = input_now_us();
            return Ok(match (kind, session) {
                (Kind::TimestampTz, _) | (_, None) => now,
                (_, Some(tz)) => crate::zone::to_local(tz, now),
            });
        }
        None => {}
    }
    let tm = &d.tm;
    let (y, m, day) = match d.relative_day {
        Some(n) => j2date(today_julian(session, n)),
        None => (tm.year, tm.mon, tm.mday),
    };
    if !valid_julian(y, m) {
        return Err(range());
    }
    let time = tm.hour * USECS_PER_HOUR + tm.min * USECS_PER_MINUTE + tm.sec * USECS_PER_SEC + tm.fsec;
    let local = (date2j(y, m, day) - POSTGRES_EPOCH_JDATE).checked_mul(USECS_PER_DAY).and_then(|v| v.checked_add(time));
    let local = local.ok_or_else(range)?;
    let ts = if kind == Kind::TimestampTz {
        match (&d.zone, session) {
            (Some(decode::Zone::East(e)), _) => local.checked_sub(e * USECS_PER_SEC).ok_or_else(range)?,
            (Some(decode::Zone::Named(tz)), _) => crate::zone::from_local(tz, local),
            (Some(decode::Zone::Abbrev(tz, abbrev)), _) => {
                local - crate::zone::abbrev_offset_east(tz, abbrev, local) * USECS_PER_SEC
            }
            (None, Some(tz)) => crate::zone::from_local(tz, local),
            (None, None) => local,
        }
    } else {
        local
    };
    if !(MIN_TIMESTAMP..END_TIMESTAMP).contains(&ts) {
        return Err(range());
    }
    Ok(ts)
}

/// A date's text (PostgreSQL's date_in); `today` is the session's date.
pub fn parse_date(s: &str) -> Result<i32> {
    parse_date_in(s, None)
}

pub fn parse_date_in(s: &str, session: Option<&jiff::tz::TimeZone>) -> Result<i32> {
    parse_date_order(s, session, DateOrder::Mdy)
}

/// [`parse_date_in`] under a DateStyle field order.
pub fn parse_date_order(s: &str, session: Option<&jiff::tz::TimeZone>, order: DateOrder) -> Result<i32> {
    let d = decode::decode_date_time(s, order).map_err(|e| decode_error(e, Kind::Date, s))?;
    let range = || SqlError::new(DATETIME_FIELD_OVERFLOW, format!("date out of range: \"{s}\""));
    let (y, m, day) = match (d.special, d.relative_day) {
        (Some(decode::Special::Epoch), _) => return Ok((UNIX_EPOCH_JDATE - POSTGRES_EPOCH_JDATE) as i32),
        (Some(decode::Special::Late), _) => return Ok(DATE_NOEND),
        (Some(decode::Special::Early), _) => return Ok(DATE_NOBEGIN),
        (Some(decode::Special::Now), _) => j2date(today_julian(session, 0)),
        (None, Some(n)) => j2date(today_julian(session, n)),
        (None, None) => (d.tm.year, d.tm.mon, d.tm.mday),
    };
    if !valid_julian(y, m) {
        return Err(range());
    }
    let jd = date2j(y, m, day);
    if !(0..DATE_END_JULIAN).contains(&jd) {
        return Err(range());
    }
    Ok((jd - POSTGRES_EPOCH_JDATE) as i32)
}

/// A time's text (PostgreSQL's time_in: DecodeTimeOnly); `now` is the current time of day.
pub fn parse_time(s: &str) -> Result<i64> {
    match decode::decode_time_only(s).map_err(|e| decode_error(e, Kind::Time, s))?.time {
        Some(t) => Ok(t),
        None => Ok(input_now_us().rem_euclid(USECS_PER_DAY)),
    }
}

// ---------------------------------------------------------------------------------------------
// Text output.

fn push_frac(out: &mut String, us: i64) {
    if us != 0 {
        let f = format!("{us:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
}

fn push_clock(out: &mut String, time_us: i64) {
    let (h, rem) = (time_us / USECS_PER_HOUR, time_us % USECS_PER_HOUR);
    let (m, rem) = (rem / USECS_PER_MINUTE, rem % USECS_PER_MINUTE);
    out.push_str(&format!("{h:02}:{m:02}:{:02}", rem / USECS_PER_SEC));
    push_frac(out, rem % USECS_PER_SEC);
}

fn push_ymd(out: &mut String, y: i64, m: i64, d: i64) {
    let shown = if y > 0 { y } else { 1 - y };
    out.push_str(&format!("{shown:04}-{m:02}-{d:02}"));
}

/// `timestamp` text (`tz`: `timestamptz`, shown in UTC as `+00`).
pub fn format_timestamp(ts: i64, tz: bool) -> String {
    format_local(ts, tz.then_some(0))
}

/// A `timestamptz`'s text as local time in `zone` (None: UTC) with its offset there.
pub fn format_timestamptz(ts: i64, zone: Option<&jiff::tz::TimeZone>) -> String {
    match zone {
        Some(tz) if is_finite_ts(ts) => {
            let east = crate::zone::offset_east(tz, ts);
            format_local(ts + east * USECS_PER_SEC, Some(east))
        }
        _ => format_local(ts, Some(0)),
    }
}

/// PostgreSQL's zone offset in a timestamptz's text: `+05`, `-03:30`, `+00:19:32`.
pub fn push_offset(out: &mut String, east_s: i64) {
    let a = east_s.abs();
    out.push(if east_s < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", a / 3600));
    if a % 3600 != 0 {
        out.push_str(&format!(":{:02}", a / 60 % 60));
    }
    if a % 60 != 0 {
        out.push_str(&format!(":{:02}", a % 60));
    }
}

/// A local time's text, with an offset after it when it is a `timestamptz`'s.
fn format_local(ts: i64, offset_east_s: Option<i64>) -> String {
    match ts {
        TS_NOBEGIN => return "-infinity".into(),
        TS_NOEND => return "infinity".into(),
        _ => {}
    }
    let f = ts_fields(ts);
    let mut out = String::with_capacity(32);
    push_ymd(&mut out, f.year, f.month, f.day);
    out.push(' ');
    push_clock(&mut out, f.time_us);
    if let Some(east) = offset_east_s {
        push_offset(&mut out, east);
    }
    if f.year <= 0 {
        out.push_str(" BC");
    }
    out
}

pub fn format_date(d: i32) -> String {
    match d {
        DATE_NOBEGIN => return "-infinity".into(),
        DATE_NOEND => return "infinity".into(),
        _ => {}
    }
    let (y, m, day) = j2date(d as i64 + POSTGRES_EPOCH_JDATE);
    let mut out = String::with_capacity(16);
    push_ymd(&mut out, y, m, day);
    if y <= 0 {
        out.push_str(" BC");
    }
    out
}

pub fn format_time(t: i64) -> String {
    let mut out = String::with_capacity(16);
    push_clock(&mut out, t);
    out
}

/// The `IntervalStyle` parameter: how intervals print (and, for `sql_standard`, how a leading
/// minus reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntervalStyle {
    #[default]
    Postgres,
    PostgresVerbose,
    SqlStandard,
    Iso8601,
}

impl IntervalStyle {
    /// The style of a setting's value as SHOW prints it (`postgres`, `iso_8601`, ...).
    pub fn of_setting(v: &str) -> IntervalStyle {
        match v {
            "postgres_verbose" => IntervalStyle::PostgresVerbose,
            "sql_standard" => IntervalStyle::SqlStandard,
            "iso_8601" => IntervalStyle::Iso8601,
            _ => IntervalStyle::Postgres,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            IntervalStyle::Postgres => "postgres",
            IntervalStyle::PostgresVerbose => "postgres_verbose",
            IntervalStyle::SqlStandard => "sql_standard",
            IntervalStyle::Iso8601 => "iso_8601",
        }
    }
}

/// An interval's fields as PostgreSQL's `pg_itm` splits it: years and months from the months,
/// hours, minutes, seconds and microseconds from the time, each with the sign of its source.
struct IntervalParts {
    year: i64,
    mon: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    usec: i64,
}

impl IntervalParts {
    fn of(iv: &Interval) -> IntervalParts {
        let t = iv.micros;
        IntervalParts {
            year: iv.months as i64 / 12,
            mon: iv.months as i64 % 12,
            day: iv.days as i64,
            hour: t / USECS_PER_HOUR,
            min: t % USECS_PER_HOUR / USECS_PER_MINUTE,
            sec: t % USECS_PER_MINUTE / USECS_PER_SEC,
            usec: t % USECS_PER_SEC,
        }
    }

    fn time_is_zero(&self) -> bool {
        self.hour == 0 && self.min == 0 && self.sec == 0 && self.usec == 0
    }
}

/// Seconds and their fraction without sign (PostgreSQL's AppendSeconds): two digits at least
/// when `pad`, trailing zeros of the fraction dropped.
fn push_seconds(out: &mut String, sec: i64, usec: i64, pad: bool) {
    if pad {
        out.push_str(&format!("{:02}", sec.unsigned_abs()));
    } else {
        out.push_str(&sec.unsigned_abs().to_string());
    }
    push_frac(out, usec.abs());
}

/// Interval text in an IntervalStyle (PostgreSQL's EncodeInterval).
pub fn format_interval_as(iv: &Interval, style: IntervalStyle) -> String {
    match style {
        IntervalStyle::Postgres => format_interval(iv),
        IntervalStyle::Iso8601 => format_interval_iso(iv),
        IntervalStyle::SqlStandard => format_interval_sql(iv),
        IntervalStyle::PostgresVerbose => format_interval_verbose(iv),
    }
}

/// `iso_8601`: ISO 8601's "format with designators" (`P1Y2M3DT4H5M6.5S`, `PT0S` for zero).
fn format_interval_iso(iv: &Interval) -> String {
    let p = IntervalParts::of(iv);
    if iv.months == 0 && iv.days == 0 && iv.micros == 0 {
        return "PT0S".into();
    }
    let mut out = String::from("P");
    let part = |out: &mut String, v: i64, unit: char| {
        if v != 0 {
            out.push_str(&format!("{v}{unit}"));
        }
    };
    part(&mut out, p.year, 'Y');
    part(&mut out, p.mon, 'M');
    part(&mut out, p.day, 'D');
    if !p.time_is_zero() {
        out.push('T');
    }
    part(&mut out, p.hour, 'H');
    part(&mut out, p.min, 'M');
    if p.sec != 0 || p.usec != 0 {
        if p.sec < 0 || p.usec < 0 {
            out.push('-');
        }
        push_seconds(&mut out, p.sec, p.usec, false);
        out.push('S');
    }
    out
}

/// `sql_standard`: `1-2` (year-month), `3 4:05:06` (day-time), one sign in front when every
/// field has it; other values print every part with its sign (`+1-2 -3 +4:05:06`).
fn format_interval_sql(iv: &Interval) -> String {
    let mut p = IntervalParts::of(iv);
    let fields = [p.year, p.mon, p.day, p.hour, p.min, p.sec, p.usec];
    let negative = fields.iter().any(|&v| v < 0);
    let positive = fields.iter().any(|&v| v > 0);
    let year_month = p.year != 0 || p.mon != 0;
    let day_time = p.day != 0 || !p.time_is_zero();
    let standard = !(negative && positive || year_month && day_time);
    let mut out = String::new();
    if negative && standard {
        out.push('-');
        p = IntervalParts {
            year: -p.year,
            mon: -p.mon,
            day: -p.day,
            hour: -p.hour,
            min: -p.min,
            sec: -p.sec,
            usec: -p.usec,
        };
    }
    if !negative && !positive {
        out.push('0');
    } else if !standard {
        let sign = |neg: bool| if neg { '-' } else { '+' };
        out.push_str(&format!(
            "{}{}-{} {}{} {}{}:{:02}:",
            sign(p.year < 0 || p.mon < 0),
            p.year.abs(),
            p.mon.abs(),
            sign(p.day < 0),
            p.day.abs(),
            sign(p.hour < 0 || p.min < 0 || p.sec < 0 || p.usec < 0),
            p.hour.abs(),
            p.min.abs()
        ));
        push_seconds(&mut out, p.sec, p.usec, true);
    } else if year_month {
        out.push_str(&format!("{}-{}", p.year, p.mon));
    } else {
        if p.day != 0 {
            out.push_str(&format!("{} ", p.day));
        }
        out.push_str(&format!("{}:{:02}:", p.hour, p.min));
        push_seconds(&mut out, p.sec, p.usec, true);
    }
    out
}

/// `postgres_verbose`: `@ 1 year 2 mons 3 days 4 hours 5 mins 6 secs`, negative values as
/// the positive one with `ago`.
fn format_interval_verbose(iv: &Interval) -> String {
    let p = IntervalParts::of(iv);
    let mut out = String::from("@");
    let (mut is_zero, mut is_before) = (true, false);
    for (v, unit) in [(p.year, "year"), (p.mon, "mon"), (p.day, "day"), (p.hour, "hour"), (p.min, "min")] {
        if v == 0 {
            continue;
        }
        let v = if is_zero {
            is_before = v < 0;
            v.abs()
        } else if is_before {
            -v
        } else {
            v
        };
        out.push_str(&format!(" {v} {unit}{}", if v == 1 { "" } else { "s" }));
        is_zero = false;
    }
    if p.sec != 0 || p.usec != 0 {
        out.push(' ');
        if p.sec < 0 || (p.sec == 0 && p.usec < 0) {
            if is_zero {
                is_before = true;
            } else if !is_before {
                out.push('-');
            }
        } else if is_before {
            out.push('-');
        }
        push_seconds(&mut out, p.sec, p.usec, false);
        out.push_str(if p.sec.abs() != 1 || p.usec != 0 { " secs" } else { " sec" });
        is_zero = false;
    }
    if is_zero {
        out.push_str(" 0");
    }
    if is_before {
        out.push_str(" ago");
    }
    out
}

/// Interval text in IntervalStyle `postgres` (PostgreSQL's EncodeInterval).
pub fn format_interval(iv: &Interval) -> String {
    let mut out = String::new();
    let (mut is_zero, mut is_before) = (true, false);
    let part = |out: &mut String, v: i64, unit: &str, is_zero: &mut bool, is_before: &mut bool| {
        if v == 0 {
            return;
        }
        let sp = if *is_zero { "" } else { " " };
        let plus = if *is_before && v > 0 { "+" } else { "" };
        let s = if v != 1 { "s" } else { "" };
        out.push_str(&format!("{sp}{plus}{v} {unit}{s}"));
        *is_before = v < 0;
        *is_zero = false;
    };
    let months = iv.months as i64;
    part(&mut out, months / 12, "year", &mut is_zero, &mut is_before);
    part(&mut out, months % 12, "mon", &mut is_zero, &mut is_before);
    part(&mut out, iv.days as i64, "day", &mut is_zero, &mut is_before);
    let t = iv.micros;
    if is_zero || t != 0 {
        let minus = t < 0;
        let sp = if is_zero { "" } else { " " };
        let sign = if minus {
            "-"
        } else if is_before {
            "+"
        } else {
            ""
        };
        let a = t.unsigned_abs();
        let (h, rem) = (a / USECS_PER_HOUR as u64, a % USECS_PER_HOUR as u64);
        let (m, rem) = (rem / USECS_PER_MINUTE as u64, rem % USECS_PER_MINUTE as u64);
        out.push_str(&format!("{sp}{sign}{h:02}:{m:02}:{:02}", rem / USECS_PER_SEC as u64));
        push_frac(&mut out, (rem % USECS_PER_SEC as u64) as i64);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Intervals.

pub(crate) fn interval_field_overflow(s: &str) -> SqlError {
    SqlError::new(INTERVAL_FIELD_OVERFLOW, format!("interval field value out of range: \"{s}\""))
}

/// Reads an interval as PostgreSQL's interval_in does (IntervalStyle postgres, all fields):
/// `1 year 2 mons`, `3 days 04:05:06.5`, `-1 day +02:00`, `1.5 hours`, `@ 1 day ago`, a bare
/// number of seconds, SQL's `1-2` and `3 4:05:06`, ISO 8601's `P1Y2M` and `P0001-02-03`.
pub fn parse_interval(s: &str) -> Result<Interval> {
    interval_in::parse(s, IntervalStyle::Postgres, interval_in::FULL_RANGE)
}

/// An interval's text read in an IntervalStyle: in `sql_standard`, a leading minus with no
/// other sign in the text applies to every field (`-1 2:03:04` is minus 1 day 2:03:04), as
/// PostgreSQL's DecodeInterval reads it.
pub fn parse_interval_in(s: &str, style: IntervalStyle) -> Result<Interval> {
    interval_in::parse(s, style, interval_in::FULL_RANGE)
}

/// PostgreSQL's interval_hash: hashint8 of the low 64 bits of the span intervals compare by,
/// so `'30 days'` and `'1 month'` hash alike (hash_uint32 is lookup3's final mix).
pub fn interval_hash(iv: &Interval) -> i32 {
    let span = interval_span(iv) as i64;
    let (lo, hi) = (span as u32, (span >> 32) as u32);
    let k = lo ^ if span >= 0 { hi } else { !hi };
    let rot = |x: u32, n: u32| x.rotate_left(n);
    let mut a = 0x9e37_79b9u32.wrapping_add(4).wrapping_add(3_923_095);
    let mut b = a;
    let mut c = a;
    a = a.wrapping_add(k);
    c ^= b;
    c = c.wrapping_sub(rot(b, 14));
    a ^= c;
    a = a.wrapping_sub(rot(c, 11));
    b ^= a;
    b = b.wrapping_sub(rot(a, 25));
    c ^= b;
    c = c.wrapping_sub(rot(b, 16));
    a ^= c;
    a = a.wrapping_sub(rot(c, 4));
    b ^= a;
    b = b.wrapping_sub(rot(a, 14));
    c ^= b;
    c = c.wrapping_sub(rot(b, 24));
    c as i32
}

/// The span PostgreSQL compares intervals by: a month is 30 days, a day 24 hours.
pub fn interval_span(iv: &Interval) -> i128 {
    (iv.months as i128 * 30 + iv.days as i128) * USECS_PER_DAY as i128 + iv.micros as i128
}

pub fn interval_neg(iv: &Interval) -> Result<Interval> {
    Ok(Interval {
        months: iv.months.checked_neg().ok_or_else(interval_out_of_range)?,
        days: iv.days.checked_neg().ok_or_else(interval_out_of_range)?,
        micros: iv.micros.checked_neg().ok_or_else(interval_out_of_range)?,
    })
}

pub(crate) fn interval_add(a: &Interval, b: &Interval) -> Result<Interval> {
    Ok(Interval {
        months: a.months.checked_add(b.months).ok_or_else(interval_out_of_range)?,
        days: a.days.checked_add(b.days).ok_or_else(interval_out_of_range)?,
        micros: a.micros.checked_add(b.micros).ok_or_else(interval_out_of_range)?,
    })
}

/// PostgreSQL 15's interval_div (avg(interval) divides its sum by the count so): each field
/// divided, the months' fraction carried into days and the days' into time, rounded to
/// microseconds as TSROUND does.
pub(crate) fn interval_div(iv: &Interval, factor: f64) -> Result<Interval> {
    if factor == 0.0 {
        return Err(SqlError::new("22012", "division by zero"));
    }
    let tsround = |j: f64| (j * 1e6).round_ties_even() / 1e6;
    let m = iv.months as f64 / factor;
    let d = iv.days as f64 / factor;
    if !m.is_finite() || !d.is_finite() || m.abs() > i32::MAX as f64 || d.abs() > i32::MAX as f64 {
        return Err(interval_out_of_range());
    }
    let (months, mut days) = (m as i32, d as i32 as i64);
    let month_remainder_days = tsround((m - months as f64) * 30.0);
    let mut sec_remainder = tsround((d - days as f64 + month_remainder_days - month_remainder_days.trunc()) * 86400.0);
    if sec_remainder.abs() >= 86400.0 {
        days += (sec_remainder / 86400.0) as i64;
        sec_remainder -= ((sec_remainder / 86400.0) as i64) as f64 * 86400.0;
    }
    days += month_remainder_days as i64;
    let t = (iv.micros as f64 / factor + sec_remainder * 1e6).round_ties_even();
    if !t.is_finite() || t.abs() >= 9.2e18 {
        return Err(interval_out_of_range());
    }
    let days = i32::try_from(days).map_err(|_| interval_out_of_range())?;
    Ok(Interval { months, days, micros: t as i64 })
}

/// PostgreSQL's interval_mul (interval_div multiplies by 1/factor the same way).
fn interval_mul(iv: &Interval, factor: f64) -> Result<Interval> {
    let tsround = |j: f64| (j * 1e6).round_ties_even() / 1e6;
    let m = iv.months as f64 * factor;
    let d = iv.days as f64 * factor;
    if !m.is_finite() || !d.is_finite() || m.abs() > i32::MAX as f64 || d.abs() > i32::MAX as f64 {
        return Err(interval_out_of_range());
    }
    let (months, mut days) = (m.trunc() as i32, d.trunc() as i64);
    let month_rem_days = tsround((m - months as f64) * 30.0);
    let mut sec_rem = tsround((d - days as f64 + month_rem_days - month_rem_days.trunc()) * 86400.0);
    if sec_rem.abs() >= 86400.0 {
        days += (sec_rem / 86400.0).trunc() as i64;
        sec_rem -= (sec_rem / 86400.0).trunc() * 86400.0;
    }
    days += month_rem_days.trunc() as i64;
    let t = (iv.micros as f64 * factor + sec_rem * 1e6).round_ties_even();
    if !t.is_finite() || t.abs() >= 9.2e18 {
        return Err(interval_out_of_range());
    }
    let days = i32::try_from(days).map_err(|_| interval_out_of_range())?;
    Ok(Interval { months, days, micros: t as i64 })
}

/// `timestamp + interval` (PostgreSQL's timestamp_pl_interval): months first, the day
/// clamped to the month's end, then days, then time.
pub fn ts_plus_interval(ts: i64, iv: &Interval) -> Result<i64> {
    if !is_finite_ts(ts) {
        return Ok(ts);
    }
    let mut ts = ts;
    if iv.months != 0 {
        let f = ts_fields(ts);
        let total = f.year * 12 + (f.month - 1) + iv.months as i64;
        let (y, m) = (total.div_euclid(12), total.rem_euclid(12) + 1);
        let d = f.day.min(days_in_month(y, m));
        ts = ts_of(y, m, d, f.time_us).ok_or_else(ts_out_of_range)?;
    }
    if iv.days != 0 {
        let f = ts_fields(ts);
        let jd = date2j(f.year, f.month, f.day) + iv.days as i64;
        let (y, m, d) = j2date(jd.max(0));
        if jd < 0 {
            return Err(ts_out_of_range());
        }
        ts = ts_of(y, m, d, f.time_us).ok_or_else(ts_out_of_range)?;
    }
    let ts = ts.checked_add(iv.micros).ok_or_else(ts_out_of_range)?;
    if !(MIN_TIMESTAMP..END_TIMESTAMP).contains(&ts) {
        return Err(ts_out_of_range());
    }
    Ok(ts)
}

/// `timestamptz + interval` in a zone (PostgreSQL's timestamptz_pl_interval): months, then
/// days, move the local time there (so `+ '1 day'` across a DST change keeps the clock time),
/// then the time part moves the instant.
pub fn tstz_plus_interval(ts: i64, iv: &Interval, tz: &jiff::tz::TimeZone) -> Result<i64> {
    use crate::zone::{from_local, to_local};
    if !is_finite_ts(ts) {
        return Ok(ts);
    }
    let mut ts = ts;
    if iv.months != 0 {
        let local = ts_plus_interval(to_local(tz, ts), &Interval { months: iv.months, days: 0, micros: 0 })?;
        ts = from_local(tz, local);
    }
    if iv.days != 0 {
        let local = ts_plus_interval(to_local(tz, ts), &Interval { months: 0, days: iv.days, micros: 0 })?;
        ts = from_local(tz, local);
    }
    let ts = ts.checked_add(iv.micros).ok_or_else(ts_out_of_range)?;
    if !(MIN_TIMESTAMP..END_TIMESTAMP).contains(&ts) {
        return Err(ts_out_of_range());
    }
    Ok(ts)
}

/// date_part / EXTRACT of a timestamptz in a zone: the fields of its local time there, the
/// epoch of the instant, the zone's offset for `timezone`, `timezone_hour`, `timezone_minute`.
pub fn tstz_part(unit: &str, ts: i64, tz: &jiff::tz::TimeZone) -> Result<Datum> {
    let lower = unit.to_ascii_lowercase();
    let east = if is_finite_ts(ts) { crate::zone::offset_east(tz, ts) } else { 0 };
    let v = match canonical_unit(&lower) {
        Some("epoch") => return ts_part(unit, ts, true),
        Some("timezone") => east as f64,
        Some("timezone_hour") => (east / 3600) as f64,
        Some("timezone_minute") => (east / 60 % 60) as f64,
        _ => return ts_part(unit, crate::zone::to_local(tz, ts), true),
    };
    if !is_finite_ts(ts) {
        return Ok(Datum::Null);
    }
    Ok(Datum::Float8(v))
}

/// date_trunc of a timestamptz in a zone (timestamptz_trunc_internal): truncated as local time;
/// a day or longer unit starts at that local midnight (the zone's offset then), a shorter one
/// keeps the value's offset.
pub fn tstz_trunc(unit: &str, ts: i64, tz: &jiff::tz::TimeZone) -> Result<i64> {
    if !is_finite_ts(ts) {
        return ts_trunc(unit, ts, true);
    }
    let east = crate::zone::offset_east(tz, ts) * USECS_PER_SEC;
    let t = ts_trunc(unit, ts + east, true)?;
    let lower = unit.to_ascii_lowercase();
    Ok(match canonical_unit(&lower) {
        Some("microseconds" | "milliseconds" | "second" | "minute" | "hour") => t - east,
        _ => crate::zone::from_local(tz, t),
    })
}

/// `timestamp - timestamp`: the difference in days and time (interval_justify_hours).
fn ts_minus(a: i64, b: i64) -> Result<Interval> {
    if !is_finite_ts(a) || !is_finite_ts(b) {
        return Err(SqlError::new(DATETIME_FIELD_OVERFLOW, "cannot subtract infinite timestamps"));
    }
    let t = a.checked_sub(b).ok_or_else(interval_out_of_range)?;
    let mut days = t / USECS_PER_DAY;
    let mut micros = t - days * USECS_PER_DAY;
    if days > 0 && micros < 0 {
        micros += USECS_PER_DAY;
        days -= 1;
    } else if days < 0 && micros > 0 {
        micros -= USECS_PER_DAY;
        days += 1;
    }
    Ok(Interval { months: 0, days: days as i32, micros })
}

fn date_plus_days(d: i32, n: i64) -> Result<Datum> {
    if d == DATE_NOBEGIN || d == DATE_NOEND {
        return Ok(Datum::Date(d));
    }
    let r = d as i64 + n;
    let jd = r + POSTGRES_EPOCH_JDATE;
    if !(0..DATE_END_JULIAN).contains(&jd) {
        return Err(date_out_of_range());
    }
    Ok(Datum::Date(r as i32))
}

/// Arithmetic where a date/time value takes part; None when neither operand is one (the caller
/// does numbers). The binder has checked that the operator exists for the operand types.
pub fn arith(op: crate::expr::ArithOp, a: &Datum, b: &Datum) -> Result<Option<Datum>> {
    use crate::expr::ArithOp::*;
    use Datum as D;
    let neg = |iv: &Interval| interval_neg(iv);
    Ok(Some(match (op, a, b) {
        (Add, D::Timestamp(t), D::Interval(iv)) | (Add, D::Interval(iv), D::Timestamp(t)) => {
            D::Timestamp(ts_plus_interval(*t, iv)?)
        }
        (Sub, D::Timestamp(t), D::Interval(iv)) => D::Timestamp(ts_plus_interval(*t, &neg(iv)?)?),
        (Add, D::TimestampTz(t), D::Interval(iv)) | (Add, D::Interval(iv), D::TimestampTz(t)) => {
            D::TimestampTz(ts_plus_interval(*t, iv)?)
        }
        (Sub, D::TimestampTz(t), D::Interval(iv)) => D::TimestampTz(ts_plus_interval(*t, &neg(iv)?)?),
        (Add, D::Date(d), D::Interval(iv)) | (Add, D::Interval(iv), D::Date(d)) => {
            D::Timestamp(ts_plus_interval(date_to_ts(*d)?, iv)?)
        }
        (Sub, D::Date(d), D::Interval(iv)) => D::Timestamp(ts_plus_interval(date_to_ts(*d)?, &neg(iv)?)?),
        (Sub, D::Timestamp(x), D::Timestamp(y)) | (Sub, D::TimestampTz(x), D::TimestampTz(y)) => {
            D::Interval(ts_minus(*x, *y)?)
        }
        (Add, D::Date(d), n) | (Add, n, D::Date(d)) if n.as_i64().is_some() => {
            date_plus_days(*d, n.as_i64().unwrap_or_default())?
        }
        (Sub, D::Date(d), n) if n.as_i64().is_some() => date_plus_days(*d, -n.as_i64().unwrap_or_default())?,
        (Sub, D::Date(x), D::Date(y)) => {
            if [*x, *y].iter().any(|d| *d == DATE_NOBEGIN || *d == DATE_NOEND) {
                return Err(SqlError::new(DATETIME_FIELD_OVERFLOW, "cannot subtract infinite dates"));
            }
            D::Int4(x - y)
        }
        (Add, D::Time(t), D::Interval(iv)) | (Add, D::Interval(iv), D::Time(t)) => {
            D::Time((t + iv.micros % USECS_PER_DAY).rem_euclid(USECS_PER_DAY))
        }
        (Sub, D::Time(t), D::Interval(iv)) => D::Time((t - iv.micros % USECS_PER_DAY).rem_euclid(USECS_PER_DAY)),
        (Sub, D::Time(x), D::Time(y)) => D::Interval(Interval { months: 0, days: 0, micros: x - y }),
        (Add, D::TimeTz(t, e), D::Interval(iv)) | (Add, D::Interval(iv), D::TimeTz(t, e)) => {
            timetz::plus_interval(*t, *e, iv, false)
        }
        (Sub, D::TimeTz(t, e), D::Interval(iv)) => timetz::plus_interval(*t, *e, iv, true),
        (Add, D::Date(d), D::TimeTz(t, e)) | (Add, D::TimeTz(t, e), D::Date(d)) => timetz::on_date(*d, *t, *e)?,
        (Add, D::Date(d), D::Time(t)) | (Add, D::Time(t), D::Date(d)) => {
            let ts = date_to_ts(*d)?;
            D::Timestamp(if is_finite_ts(ts) { ts + t } else { ts })
        }
        (Add, D::Interval(x), D::Interval(y)) => D::Interval(interval_add(x, y)?),
        (Sub, D::Interval(x), D::Interval(y)) => D::Interval(interval_add(x, &neg(y)?)?),
        (Mul, D::Interval(iv), n) | (Mul, n, D::Interval(iv)) if n.as_f64().is_some() => {
            D::Interval(interval_mul(iv, n.as_f64().unwrap_or_default())?)
        }
        (Div, D::Interval(iv), n) if n.as_f64().is_some() => {
            let f = n.as_f64().unwrap_or_default();
            if f == 0.0 {
                return Err(SqlError::division_by_zero());
            }
            D::Interval(interval_mul(iv, 1.0 / f)?)
        }
        (_, D::Timestamp(_) | D::TimestampTz(_) | D::Date(_) | D::Time(_) | D::TimeTz(..) | D::Interval(_), _)
        | (_, _, D::Timestamp(_) | D::TimestampTz(_) | D::Date(_) | D::Time(_) | D::TimeTz(..) | D::Interval(_)) => {
            return Err(SqlError::internal("date/time operator without an implementation"))
        }
        _ => return Ok(None),
    }))
}

// ---------------------------------------------------------------------------------------------
// age, justify_*, make_date, to_timestamp, isfinite.

/// `age(a, b)` (PostgreSQL's timestamp_age): the difference in years, months and days as a
/// calendar reads it, then time; a negative day borrows the days of the month it falls in.
pub fn age(a: i64, b: i64) -> Result<Interval> {
    if !is_finite_ts(a) || !is_finite_ts(b) {
        return Err(SqlError::new(DATETIME_FIELD_OVERFLOW, "timestamp out of range"));
    }
    let (f1, f2) = (ts_fields(a), ts_fields(b));
    let neg = a < b;
    let flip = |v: i64| if neg { -v } else { v };
    let mut us = flip(f1.time_us % USECS_PER_SEC - f2.time_us % USECS_PER_SEC);
    let mut sec = flip(f1.time_us / USECS_PER_SEC % 60 - f2.time_us / USECS_PER_SEC % 60);
    let mut min = flip(f1.time_us / USECS_PER_MINUTE % 60 - f2.time_us / USECS_PER_MINUTE % 60);
    let mut hour = flip(f1.time_us / USECS_PER_HOUR - f2.time_us / USECS_PER_HOUR);
    let mut day = flip(f1.day - f2.day);
    let mut mon = flip(f1.month - f2.month);
    let mut year = flip(f1.year - f2.year);
    while us < 0 {
        us += USECS_PER_SEC;
        sec -= 1;
    }
    while sec < 0 {
        sec += 60;
        min -= 1;
    }
    while min < 0 {
        min += 60;
        hour -= 1;
    }
    while hour < 0 {
        hour += 24;
        day -= 1;
    }
    while day < 0 {
        let f = if neg { f1 } else { f2 };
        day += days_in_month(f.year, f.month);
        mon -= 1;
    }
    while mon < 0 {
        mon += 12;
        year -= 1;
    }
    let months = i32::try_from(flip(year * 12 + mon)).map_err(|_| interval_out_of_range())?;
    let micros = flip(((hour * 60 + min) * 60 + sec) * USECS_PER_SEC + us);
    Ok(Interval { months, days: flip(day) as i32, micros })
}

/// justify_hours: whole days of the time part become days, signs made to agree.
pub fn justify_hours(iv: &Interval) -> Result<Interval> {
    let whole = iv.micros / USECS_PER_DAY;
    let mut micros = iv.micros - whole * USECS_PER_DAY;
    let mut days = (iv.days as i64).checked_add(whole).ok_or_else(interval_out_of_range)?;
    if days > 0 && micros < 0 {
        micros += USECS_PER_DAY;
        days -= 1;
    } else if days < 0 && micros > 0 {
        micros -= USECS_PER_DAY;
        days += 1;
    }
    let days = i32::try_from(days).map_err(|_| interval_out_of_range())?;
    Ok(Interval { days, micros, ..*iv })
}

/// justify_days: whole 30-day months of the day part become months, signs made to agree.
pub fn justify_days(iv: &Interval) -> Result<Interval> {
    let whole = iv.days / 30;
    let mut days = iv.days - whole * 30;
    let mut months = iv.months.checked_add(whole).ok_or_else(interval_out_of_range)?;
    if months > 0 && days < 0 {
        days += 30;
        months -= 1;
    } else if months < 0 && days > 0 {
        days -= 30;
        months += 1;
    }
    Ok(Interval { months, days, ..*iv })
}

/// justify_interval: justify_days after justify_hours, with one sign over all three fields.
pub fn justify_interval(iv: &Interval) -> Result<Interval> {
    let whole = iv.micros / USECS_PER_DAY;
    let mut micros = iv.micros - whole * USECS_PER_DAY;
    let mut days = (iv.days as i64).checked_add(whole).ok_or_else(interval_out_of_range)?;
    let mut months = iv.months as i64 + days / 30;
    days %= 30;
    if months > 0 && (days < 0 || (days == 0 && micros < 0)) {
        days += 30;
        months -= 1;
    } else if months < 0 && (days > 0 || (days == 0 && micros > 0)) {
        days -= 30;
        months += 1;
    }
    if days > 0 && micros < 0 {
        micros += USECS_PER_DAY;
        days -= 1;
    } else if days < 0 && micros > 0 {
        micros -= USECS_PER_DAY;
        days += 1;
    }
    Ok(Interval { months: i32::try_from(months).map_err(|_| interval_out_of_range())?, days: days as i32, micros })
}

/// Rounds microseconds to `p` fractional digits, half away from zero (PostgreSQL's
/// AdjustTimestampForTypmod; for timestamps, away from 2000-01-01).
pub fn round_us(us: i64, p: u8) -> i64 {
    let scale = 10i64.pow(6 - p.min(6) as u32);
    let half = scale / 2;
    if us >= 0 {
        (us.saturating_add(half) / scale) * scale
    } else {
        -((us.saturating_neg().saturating_add(half) / scale) * scale)
    }
}

/// A timestamp or timestamptz fitted to the precision `p` of its type (PostgreSQL's
/// AdjustTimestampForTypmod): rounded to `p` fractional digits; infinities stay.
pub fn ts_typmod(ts: i64, p: Option<u8>) -> Result<i64> {
    match p {
        Some(p) if p < 6 && is_finite_ts(ts) => {
            let r = round_us(ts, p);
            // Rounding up past the last timestamp leaves the range.
            if r >= 9_223_371_331_200_000_000 {
                return Err(SqlError::new(DATETIME_FIELD_OVERFLOW, "timestamp out of range"));
            }
            Ok(r)
        }
        _ => Ok(ts),
    }
}

/// A time fitted to the precision `p` of its type (AdjustTimeForTypmod; 23:59:59.9 in
/// `time(0)` is 24:00:00, as in PostgreSQL).
pub fn time_typmod(t: i64, p: Option<u8>) -> i64 {
    match p {
        Some(p) if p < 6 => round_us(t, p),
        _ => t,
    }
}

/// An interval fitted to the precision `p` of its type (AdjustIntervalForTypmod): its time
/// part rounded; months and days stay.
pub fn interval_typmod(iv: Interval, p: Option<u8>) -> Interval {
    match p {
        Some(p) if p < 6 => Interval { micros: round_us(iv.micros, p), ..iv },
        _ => iv,
    }
}

/// A double as C's `%g` prints it (six significant digits), for PostgreSQL's messages.
fn c_g(v: f64) -> String {
    let trim = |m: &str| -> String {
        if m.contains('.') {
            m.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            m.to_string()
        }
    };
    let sci = format!("{v:.5e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant), exp.abs())
    } else {
        trim(&format!("{v:.*}", (5 - exp) as usize))
    }
}

/// make_date(year, month, day); a negative year is BC.
pub fn make_date(y: i64, m: i64, d: i64) -> Result<i32> {
    let bad = || SqlError::new(DATETIME_FIELD_OVERFLOW, format!("date field value out of range: {y}-{m:02}-{d:02}"));
    if y == 0 || !(1..=12).contains(&m) {
        return Err(bad());
    }
    let year = if y < 0 { y + 1 } else { y };
    if d < 1 || d > days_in_month(year, m) {
        return Err(bad());
    }
    let jd = date2j(year, m, d);
    if !(0..DATE_END_JULIAN).contains(&jd) {
        return Err(SqlError::new(DATETIME_FIELD_OVERFLOW, format!("date out of range: {y}-{m:02}-{d:02}")));
    }
    Ok((jd - POSTGRES_EPOCH_JDATE) as i32)
}

/// PostgreSQL's float_time_overflows: hour 0-24, minute 0-59, second 0-60 and no more than
/// 24:00:00 in all; the time in microseconds otherwise.
fn float_time(h: i64, m: i64, sec: f64) -> Option<i64> {
    if !(0..=24).contains(&h) || !(0..=59).contains(&m) || sec.is_nan() {
        return None;
    }
    let us = (sec * USECS_PER_SEC as f64).round_ties_even();
    if !(0.0..=(60 * USECS_PER_SEC) as f64).contains(&us) {
        return None;
    }
    let t = (h * 60 + m) * USECS_PER_MINUTE + us as i64;
    (t <= USECS_PER_DAY).then_some(t)
}

fn time_field_error(h: i64, m: i64, sec: f64) -> SqlError {
    // "%d:%02d:%02g"
    let s = if sec.is_nan() { "NaN".to_string() } else { c_g(sec) };
    let s = if s.len() < 2 { format!("0{s}") } else { s };
    SqlError::new(DATETIME_FIELD_OVERFLOW, format!("time field value out of range: {h}:{m:02}:{s}"))
}

/// make_time(hour, min, sec).
pub fn make_time(h: i64, m: i64, sec: f64) -> Result<i64> {
    float_time(h, m, sec).ok_or_else(|| time_field_error(h, m, sec))
}

/// make_timestamp(year, month, mday, hour, min, sec): a negative year is BC.
pub fn make_timestamp(y: i64, mo: i64, d: i64, h: i64, mi: i64, sec: f64) -> Result<i64> {
    let date = make_date(y, mo, d)?;
    let time = float_time(h, mi, sec).ok_or_else(|| time_field_error(h, mi, sec))?;
    let ts = (date as i64).checked_mul(USECS_PER_DAY).and_then(|v| v.checked_add(time));
    match ts {
        Some(ts) if (MIN_TIMESTAMP..END_TIMESTAMP).contains(&ts) => Ok(ts),
        _ => Err(SqlError::new(
            DATETIME_FIELD_OVERFLOW,
            format!("timestamp out of range: {y}-{mo:02}-{d:02} {h}:{mi:02}:{}", c_g(sec)),
        )),
    }
}

/// make_interval(years, months, weeks, days, hours, mins, secs); the integer parts wrap as
/// PostgreSQL's int arithmetic there does.
pub fn make_interval(
    years: i32,
    months: i32,
    weeks: i32,
    days: i32,
    hours: i32,
    mins: i32,
    secs: f64,
) -> Result<Interval> {
    let overflow = || SqlError::new(DATETIME_FIELD_OVERFLOW, "interval out of range");
    if !secs.is_finite() {
        return Err(overflow());
    }
    let secs = secs + hours as f64 * 3600.0 + mins as f64 * 60.0;
    let us = (secs * USECS_PER_SEC as f64).round_ties_even();
    if !secs.is_finite() || !(i64::MIN as f64..i64::MAX as f64).contains(&us) {
        return Err(overflow());
    }
    Ok(Interval {
        months: years.wrapping_mul(12).wrapping_add(months),
        days: weeks.wrapping_mul(7).wrapping_add(days),
        micros: us as i64,
    })
}

/// PostgreSQL's timestamp_bin: the start of the stride-wide bin, counted from `origin`, that
/// holds `x` (an infinite `x` is itself).
pub fn date_bin(stride: &Interval, x: i64, origin: i64) -> Result<i64> {
    if !is_finite_ts(x) {
        return Ok(x);
    }
    if !is_finite_ts(origin) {
        return Err(SqlError::new(DATETIME_FIELD_OVERFLOW, "origin out of range"));
    }
    if stride.months != 0 {
        return Err(SqlError::unsupported("timestamps cannot be binned into intervals containing months or years"));
    }
    let interval_range = || SqlError::new(DATETIME_FIELD_OVERFLOW, "interval out of range");
    let step = (stride.days as i64)
        .checked_mul(USECS_PER_DAY)
        .and_then(|d| d.checked_add(stride.micros))
        .ok_or_else(interval_range)?;
    if step <= 0 {
        return Err(SqlError::new(DATETIME_FIELD_OVERFLOW, "stride must be greater than zero"));
    }
    let diff = x.checked_sub(origin).ok_or_else(interval_range)?;
    let mut delta = diff - diff % step;
    // The start of the bin even when the origin is after x (not when x starts a bin).
    if origin > x && diff % step != 0 {
        delta -= step;
    }
    match origin.checked_add(delta) {
        Some(r) if (MIN_TIMESTAMP..END_TIMESTAMP).contains(&r) => Ok(r),
        _ => Err(SqlError::new(DATETIME_FIELD_OVERFLOW, "timestamp out of range")),
    }
}

/// to_timestamp(seconds since 1970-01-01 UTC).
pub fn to_timestamp(secs: f64) -> Result<i64> {
    if secs.is_nan() {
        return Err(SqlError::new(DATETIME_FIELD_OVERFLOW, "timestamp cannot be NaN"));
    }
    if secs.is_infinite() {
        return Ok(if secs > 0.0 { TS_NOEND } else { TS_NOBEGIN });
    }
    let unix_offset = ((POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * 86_400) as f64;
    let us = ((secs - unix_offset) * 1e6).round_ties_even();
    if !(MIN_TIMESTAMP as f64..END_TIMESTAMP as f64).contains(&us) {
        return Err(SqlError::new(DATETIME_FIELD_OVERFLOW, format!("timestamp out of range: \"{}\"", c_g(secs))));
    }
    Ok(us as i64)
}

// ---------------------------------------------------------------------------------------------
// date_part / EXTRACT and date_trunc.

fn unit_error(unit: &str, ty: &str) -> SqlError {
    SqlError::new(code::INVALID_PARAMETER_VALUE, format!("unit \"{unit}\" not recognized for type {ty}"))
}

fn unit_unsupported(unit: &str, ty: &str) -> SqlError {
    SqlError::new(code::FEATURE_NOT_SUPPORTED, format!("unit \"{unit}\" not supported for type {ty}"))
}

/// Normalizes a unit name as PostgreSQL's DecodeUnits does (plurals and abbreviations).
fn canonical_unit(u: &str) -> Option<&'static str> {
    // DecodeUnits compares the first 10 letters (TOKMAXLEN): `microseconds` is `microsecon`,
    // `timezone_hour` is `timezone_h`.
    let u = u.get(..10).unwrap_or(u);
    Some(match u {
        "microsecon" | "us" | "usec" | "usecs" | "useconds" | "usecond" => "microseconds",
        "millisecon" | "ms" | "msec" | "msecs" | "mseconds" | "msecond" => "milliseconds",
        "second" | "seconds" | "s" | "sec" | "secs" => "second",
        "minute" | "minutes" | "m" | "min" | "mins" => "minute",
        "hour" | "hours" | "h" | "hr" | "hrs" => "hour",
        "day" | "days" | "d" => "day",
        "week" | "weeks" | "w" => "week",
        "month" | "months" | "mon" | "mons" => "month",
        "quarter" | "qtr" => "quarter",
        "year" | "years" | "y" | "yr" | "yrs" => "year",
        "decade" | "decades" | "dec" | "decs" => "decade",
        "century" | "centuries" | "c" | "cent" => "century",
        "millennium" | "millennia" | "mil" | "mils" => "millennium",
        "epoch" => "epoch",
        "dow" => "dow",
        "isodow" => "isodow",
        "doy" => "doy",
        "isoyear" => "isoyear",
        "julian" | "j" => "julian",
        "timezone" => "timezone",
        "timezone_h" => "timezone_hour",
        "timezone_m" => "timezone_minute",
        _ => return None,
    })
}

/// ISO 8601 week number and ISO year of a date (PostgreSQL's date2isoweek/date2isoyear).
pub(crate) fn iso_week(y: i64, m: i64, d: i64) -> (i64, i64) {
    let dayn = date2j(y, m, d);
    let mut year = y;
    let mut day4 = date2j(y, 1, 4);
    let mut day0 = j2day(day4 - 1);
    if dayn < day4 - day0 {
        year -= 1;
        day4 = date2j(year, 1, 4);
        day0 = j2day(day4 - 1);
    }
    let mut week = (dayn - (day4 - day0)) / 7 + 1;
    if week >= 52 {
        let n4 = date2j(year + 1, 1, 4);
        let n0 = j2day(n4 - 1);
        if dayn >= n4 - n0 {
            year += 1;
            week = (dayn - (n4 - n0)) / 7 + 1;
        }
    }
    (week, year)
}

/// `date_part(unit, timestamp)` (and EXTRACT) as a double; `tz` only names the type.
pub fn ts_part(unit: &str, ts: i64, tz: bool) -> Result<Datum> {
    let ty = if tz { "timestamp with time zone" } else { "timestamp without time zone" };
    let lower = unit.to_ascii_lowercase();
    let u = canonical_unit(&lower).ok_or_else(|| unit_error(unit, ty))?;
    if !is_finite_ts(ts) {
        let sign = if ts == TS_NOEND { 1.0 } else { -1.0 };
        return Ok(match u {
            "year" | "decade" | "century" | "millennium" | "julian" | "isoyear" | "epoch" => {
                Datum::Float8(sign * f64::INFINITY)
            }
            _ => Datum::Null,
        });
    }
    let f = ts_fields(ts);
    let sec_us = f.time_us % USECS_PER_MINUTE;
    let year_ad = |y: i64| if y > 0 { y } else { y - 1 };
    let v: f64 = match u {
        "microseconds" => sec_us as f64,
        "milliseconds" => sec_us as f64 / 1000.0,
        "second" => sec_us as f64 / 1e6,
        "minute" => (f.time_us / USECS_PER_MINUTE % 60) as f64,
        "hour" => (f.time_us / USECS_PER_HOUR) as f64,
        "day" => f.day as f64,
        "month" => f.month as f64,
        "quarter" => ((f.month - 1) / 3 + 1) as f64,
        "week" => iso_week(f.year, f.month, f.day).0 as f64,
        "year" => year_ad(f.year) as f64,
        "decade" => {
            if f.year >= 0 {
                (f.year / 10) as f64
            } else {
                -((8 - (f.year - 1)) / 10) as f64
            }
        }
        "century" => {
            if f.year > 0 {
                ((f.year + 99) / 100) as f64
            } else {
                -((99 - (f.year - 1)) / 100) as f64
            }
        }
        "millennium" => {
            if f.year > 0 {
                ((f.year + 999) / 1000) as f64
            } else {
                -((999 - (f.year - 1)) / 1000) as f64
            }
        }
        "julian" => date2j(f.year, f.month, f.day) as f64 + f.time_us as f64 / USECS_PER_DAY as f64,
        "isoyear" => {
            let y = iso_week(f.year, f.month, f.day).1;
            year_ad(y) as f64
        }
        "dow" => j2day(date2j(f.year, f.month, f.day)) as f64,
        "isodow" => match j2day(date2j(f.year, f.month, f.day)) {
            0 => 7.0,
            d => d as f64,
        },
        "doy" => (date2j(f.year, f.month, f.day) - date2j(f.year, 1, 1) + 1) as f64,
        "epoch" => (ts as f64 - ((UNIX_EPOCH_JDATE - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY) as f64) / 1e6,
        "timezone" | "timezone_hour" | "timezone_minute" if tz => 0.0,
        _ => return Err(unit_unsupported(unit, ty)),
    };
    Ok(Datum::Float8(v))
}

/// EXTRACT from a date (PostgreSQL's extract_date): the date's fields; the time of day's and
/// the zone's are errors for a date.
pub fn date_part(unit: &str, d: i32) -> Result<Datum> {
    let lower = unit.to_ascii_lowercase();
    match canonical_unit(&lower) {
        None => Err(unit_error(unit, "date")),
        Some(
            "microseconds" | "milliseconds" | "second" | "minute" | "hour" | "timezone" | "timezone_hour"
            | "timezone_minute",
        ) => Err(unit_unsupported(unit, "date")),
        Some(_) => ts_part(unit, date_to_ts(d)?, false),
    }
}

pub fn time_part(unit: &str, t: i64) -> Result<Datum> {
    let ty = "time without time zone";
    let lower = unit.to_ascii_lowercase();
    let u = canonical_unit(&lower).ok_or_else(|| unit_error(unit, ty))?;
    Ok(Datum::Float8(match u {
        "epoch" => t as f64 / 1e6,
        u => time_field(u, t).ok_or_else(|| unit_unsupported(unit, ty))?,
    }))
}

/// A time of day's field (`u` a canonical unit) that time and timetz share; None for others.
pub(crate) fn time_field(u: &str, t: i64) -> Option<f64> {
    let sec_us = t % USECS_PER_MINUTE;
    Some(match u {
        "microseconds" => sec_us as f64,
        "milliseconds" => sec_us as f64 / 1000.0,
        "second" => sec_us as f64 / 1e6,
        "minute" => (t / USECS_PER_MINUTE % 60) as f64,
        "hour" => (t / USECS_PER_HOUR) as f64,
        _ => return None,
    })
}

pub fn interval_part(unit: &str, iv: &Interval) -> Result<Datum> {
    let ty = "interval";
    let lower = unit.to_ascii_lowercase();
    let u = canonical_unit(&lower).ok_or_else(|| unit_error(unit, ty))?;
    let sec_us = iv.micros % USECS_PER_MINUTE;
    let (y, m) = (iv.months / 12, iv.months % 12);
    Ok(Datum::Float8(match u {
        "microseconds" => sec_us as f64,
        "milliseconds" => sec_us as f64 / 1000.0,
        "second" => sec_us as f64 / 1e6,
        "minute" => (iv.micros / USECS_PER_MINUTE % 60) as f64,
        "hour" => (iv.micros / USECS_PER_HOUR) as f64,
        "day" => iv.days as f64,
        "month" => m as f64,
        "quarter" => (m / 3 + 1) as f64,
        "year" => y as f64,
        "decade" => (y / 10) as f64,
        "century" => (y / 100) as f64,
        "millennium" => (y / 1000) as f64,
        "epoch" => {
            iv.micros as f64 / 1e6 + 365.25 * 86400.0 * y as f64 + 30.0 * 86400.0 * m as f64 + 86400.0 * iv.days as f64
        }
        _ => return Err(unit_unsupported(unit, ty)),
    }))
}

/// `date_trunc(unit, timestamp)`.
pub fn ts_trunc(unit: &str, ts: i64, tz: bool) -> Result<i64> {
    let ty = if tz { "timestamp with time zone" } else { "timestamp without time zone" };
    let lower = unit.to_ascii_lowercase();
    let u = canonical_unit(&lower).ok_or_else(|| unit_error(unit, ty))?;
    if !is_finite_ts(ts) {
        return Ok(ts);
    }
    let f = ts_fields(ts);
    let day_start = ts - f.time_us;
    let t = |step: i64| day_start + f.time_us - f.time_us % step;
    let first = |y: i64, m: i64| ts_of(y, m, 1, 0).ok_or_else(ts_out_of_range);
    Ok(match u {
        "microseconds" => ts,
        "milliseconds" => t(1000),
        "second" => t(USECS_PER_SEC),
        "minute" => t(USECS_PER_MINUTE),
        "hour" => t(USECS_PER_HOUR),
        "day" => day_start,
        "week" => {
            let jd = date2j(f.year, f.month, f.day);
            day_start - ((j2day(jd) + 6) % 7) * USECS_PER_DAY
        }
        "month" => first(f.year, f.month)?,
        "quarter" => first(f.year, (f.month - 1) / 3 * 3 + 1)?,
        "year" => first(f.year, 1)?,
        "decade" => {
            let y = if f.year > 0 { f.year / 10 * 10 } else { -((8 - (f.year - 1)) / 10) * 10 };
            first(y, 1)?
        }
        "century" => {
            let y = if f.year > 0 { (f.year + 99) / 100 * 100 - 99 } else { -((99 - (f.year - 1)) / 100) * 100 + 1 };
            first(y, 1)?
        }
        "millennium" => {
            let y =
                if f.year > 0 { (f.year + 999) / 1000 * 1000 - 999 } else { -((999 - (f.year - 1)) / 1000) * 1000 + 1 };
            first(y, 1)?
        }
        _ => return Err(unit_unsupported(unit, ty)),
    })
}

pub fn interval_trunc(unit: &str, iv: &Interval) -> Result<Interval> {
    let lower = unit.to_ascii_lowercase();
    let u = canonical_unit(&lower).ok_or_else(|| unit_error(unit, "interval"))?;
    let t = iv.micros;
    let keep = |step: i64| t - t % step;
    let (y, m) = (iv.months / 12, iv.months % 12);
    Ok(match u {
        "microseconds" => *iv,
        "milliseconds" => Interval { micros: keep(1000), ..*iv },
        "second" => Interval { micros: keep(USECS_PER_SEC), ..*iv },
        "minute" => Interval { micros: keep(USECS_PER_MINUTE), ..*iv },
        "hour" => Interval { micros: keep(USECS_PER_HOUR), ..*iv },
        "day" => Interval { micros: 0, ..*iv },
        "month" => Interval { months: iv.months, days: 0, micros: 0 },
        "quarter" => Interval { months: y * 12 + m / 3 * 3, days: 0, micros: 0 },
        "year" => Interval { months: y * 12, days: 0, micros: 0 },
        "decade" => Interval { months: y / 10 * 120, days: 0, micros: 0 },
        "century" => Interval { months: y / 100 * 1200, days: 0, micros: 0 },
        "millennium" => Interval { months: y / 1000 * 12000, days: 0, micros: 0 },
        _ => return Err(unit_unsupported(unit, "interval")),
    })
}

#[cfg(test)]
mod hash_tests {
    use super::*;

    #[test]
    fn interval_hash_is_postgresql_s() {
        let h = |s: &str| interval_hash(&parse_interval(s).unwrap());
        // Values from PostgreSQL 15.
        assert_eq!(h("30 days"), 1574789525);
        assert_eq!(h("1 month"), 1574789525);
        assert_eq!(h("-1 day"), -1092701610);
        assert_eq!(h("0"), -272711505);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        parse_timestamp(s, Kind::Timestamp).unwrap()
    }

    fn iv(s: &str) -> String {
        format_interval(&parse_interval(s).unwrap())
    }

    #[test]
    fn typmods_round_half_away_from_zero() {
        let p3 = |s: &str| format_timestamp(ts_typmod(ts(s), Some(3)).unwrap(), false);
        assert_eq!(p3("2021-03-04 05:06:07.1235"), "2021-03-04 05:06:07.124");
        // Before 2000 the count is negative: away from zero is towards the past.
        assert_eq!(p3("1999-12-31 23:59:59.9995"), "1999-12-31 23:59:59.999");
        assert_eq!(ts_typmod(TS_NOEND, Some(0)).unwrap(), TS_NOEND);
        assert_eq!(ts_typmod(ts("2021-01-01 00:00:00.5"), None).unwrap(), ts("2021-01-01 00:00:00.5"));
        assert!(ts_typmod(9_223_371_331_199_999_999, Some(0)).is_err());
        assert_eq!(time_typmod(USECS_PER_DAY - 5_000, Some(2)), USECS_PER_DAY);
        let i = interval_typmod(parse_interval("1 mon -00:00:01.25").unwrap(), Some(1));
        assert_eq!(format_interval(&i), "1 mon -00:00:01.3");
    }

    #[test]
    fn julian_days_round_trip() {
        for jd in [0, 1, 59, 60, 1_721_425, 2_451_545, 2_460_311, 5_373_484, DATE_END_JULIAN - 1] {
            let (y, m, d) = j2date(jd);
            assert_eq!(date2j(y, m, d), jd, "{jd} -> {y}-{m}-{d}");
        }
        assert_eq!(date2j(2000, 1, 1), POSTGRES_EPOCH_JDATE);
        assert_eq!(date2j(1970, 1, 1), UNIX_EPOCH_JDATE);
    }

    #[test]
    fn timestamps_read_and_print_as_postgresql() {
        // From PostgreSQL 15 (DateStyle ISO, MDY; TimeZone UTC).
        let cases = [
            ("2024-01-02 03:04:05.1234567", "2024-01-02 03:04:05.123457"),
            ("2024-01-02T03:04:05Z", "2024-01-02 03:04:05"),
            ("2024-01-02", "2024-01-02 00:00:00"),
            ("epoch", "1970-01-01 00:00:00"),
            ("2024-01-02 03:04", "2024-01-02 03:04:00"),
            (" 2024-01-02  03:04:05 ", "2024-01-02 03:04:05"),
            ("2024-01-02 03:04:05 BC", "2024-01-02 03:04:05 BC"),
            ("1/2/2024", "2024-01-02 00:00:00"),
            ("20240102", "2024-01-02 00:00:00"),
            ("10000-01-01", "10000-01-01 00:00:00"),
            ("Jan 2 2024", "2024-01-02 00:00:00"),
            ("January 2, 2024 10:00", "2024-01-02 10:00:00"),
            ("2 Jan 2024", "2024-01-02 00:00:00"),
            ("Tue Jan 02 03:04:05 2024", "2024-01-02 03:04:05"),
            ("2024-Jan-02", "2024-01-02 00:00:00"),
            ("J2451545", "2000-01-01 00:00:00"),
        ];
        for (input, out) in cases {
            assert_eq!(format_timestamp(ts(input), false), out, "{input}");
        }
        let tz = parse_timestamp("2024-01-02 03:04:05+05", Kind::TimestampTz).unwrap();
        assert_eq!(format_timestamp(tz, true), "2024-01-01 22:04:05+00");
        let tz = parse_timestamp("2024-01-02 +05:30", Kind::TimestampTz).unwrap();
        assert_eq!(format_timestamp(tz, true), "2024-01-01 18:30:00+00");
        assert_eq!(format_date(parse_date("2024-01-02 +05:30").unwrap()), "2024-01-02");
        assert_eq!(format_timestamp(parse_timestamp("-infinity", Kind::TimestampTz).unwrap(), true), "-infinity");
        assert_eq!(format_date(parse_date("0001-01-01 BC").unwrap()), "0001-01-01 BC");
        assert_eq!(format_time(parse_time("12:34:56.789").unwrap()), "12:34:56.789");
        assert_eq!(format_time(parse_time("24:00").unwrap()), "24:00:00");
        assert_eq!(format_time(parse_time("2024-01-02 03:04:05+05").unwrap()), "03:04:05");
    }

    #[test]
    fn bad_input_errors_match_postgresql() {
        let e = parse_timestamp("xyz", Kind::Timestamp).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("22007", "invalid input syntax for type timestamp: \"xyz\""));
        let e = parse_timestamp("2024-13-01", Kind::Timestamp).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("22008", "date/time field value out of range: \"2024-13-01\""));
        assert_eq!(parse_date("2024-02-30").unwrap_err().message, "date/time field value out of range: \"2024-02-30\"");
        assert_eq!(parse_time("25:00").unwrap_err().message, "date/time field value out of range: \"25:00\"");
        assert_eq!(parse_interval("abc").unwrap_err().message, "invalid input syntax for type interval: \"abc\"");
        let e = parse_timestamp("294277-01-01", Kind::Timestamp).unwrap_err();
        assert_eq!(e.message, "timestamp out of range: \"294277-01-01\"");
        assert_eq!(parse_date("5874898-01-01").unwrap_err().message, "date out of range: \"5874898-01-01\"");
    }

    #[test]
    fn intervals_read_and_print_as_postgresql() {
        let cases = [
            ("1 year 2 mons 3 days 04:05:06.5", "1 year 2 mons 3 days 04:05:06.5"),
            ("-1 day 2 hours", "-1 days +02:00:00"),
            ("1.5 months", "1 mon 15 days"),
            ("1.5 years", "1 year 6 mons"),
            ("90 minutes", "01:30:00"),
            ("-1 year", "-1 years"),
            ("00:00:00", "00:00:00"),
            ("-00:00:01.5", "-00:00:01.5"),
            ("1 day -1 hour", "1 day -01:00:00"),
            ("2 weeks", "14 days"),
            ("3 mons", "3 mons"),
            ("@ 1 day ago", "-1 days"),
            ("100 hours", "100:00:00"),
            ("5", "00:00:05"),
            ("1.5 days", "1 day 12:00:00"),
            ("1 day, 10:17:36", "1 day 10:17:36"),
            ("-1 day, 23:59:59", "-1 days +23:59:59"),
            ("P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06"),
            ("PT1.5S", "00:00:01.5"),
            ("P1W", "7 days"),
            ("P-1M", "-1 mons"),
            ("P1M1Y", "1 year 1 mon"),
            ("PT", "00:00:00"),
        ];
        for (input, out) in cases {
            assert_eq!(iv(input), out, "{input}");
        }
    }

    #[test]
    fn arithmetic_as_postgresql() {
        use crate::expr::ArithOp::*;
        let t = |s: &str| Datum::Timestamp(ts(s));
        let i = |s: &str| Datum::Interval(parse_interval(s).unwrap());
        let d = |s: &str| Datum::Date(parse_date(s).unwrap());
        let show = |v: Option<Datum>| match v {
            Some(Datum::Timestamp(x)) => format_timestamp(x, false),
            Some(Datum::Interval(x)) => format_interval(&x),
            Some(Datum::Date(x)) => format_date(x),
            Some(Datum::Time(x)) => format_time(x),
            other => format!("{other:?}"),
        };
        assert_eq!(show(arith(Add, &t("2024-01-31"), &i("1 month")).unwrap()), "2024-02-29 00:00:00");
        assert_eq!(show(arith(Sub, &t("2024-03-01"), &t("2024-01-01 12:00")).unwrap()), "59 days 12:00:00");
        assert_eq!(arith(Sub, &d("2024-03-01"), &d("2024-01-01")).unwrap(), Some(Datum::Int4(60)));
        assert_eq!(show(arith(Add, &d("2024-01-01"), &Datum::Int4(30)).unwrap()), "2024-01-31");
        assert_eq!(show(arith(Add, &d("2024-01-01"), &i("1 hour")).unwrap()), "2024-01-01 01:00:00");
        assert_eq!(show(arith(Add, &Datum::Time(10 * USECS_PER_HOUR), &i("15 hours")).unwrap()), "01:00:00");
        assert_eq!(show(arith(Sub, &t("2024-01-01"), &i("1 day 1 sec")).unwrap()), "2023-12-30 23:59:59");
        let m15 = arith(Mul, &i("1 month"), &Datum::Float8(1.5)).unwrap();
        assert_eq!(show(arith(Sub, &t("2024-01-01"), &m15.unwrap()).unwrap()), "2023-11-16 00:00:00");
        assert_eq!(show(arith(Div, &i("1 day"), &Datum::Float8(3.0)).unwrap()), "08:00:00");
    }

    #[test]
    fn age_and_justify_as_postgresql() {
        let iv = |s: &str| parse_interval(s).unwrap();
        let show = |r: Result<Interval>| format_interval(&r.unwrap());
        assert_eq!(show(age(ts("2024-03-31"), ts("2024-02-29 12:00"))), "1 mon 1 day 12:00:00");
        assert_eq!(show(age(ts("2024-01-01"), ts("2020-02-29"))), "3 years 10 mons 1 day");
        assert_eq!(show(age(ts("2001-04-10"), ts("1957-06-13"))), "43 years 9 mons 27 days");
        assert_eq!(show(age(ts("1957-06-13"), ts("2001-04-10"))), "-43 years -9 mons -27 days");
        assert_eq!(show(justify_days(&iv("35 days"))), "1 mon 5 days");
        assert_eq!(show(justify_hours(&iv("27 hours"))), "1 day 03:00:00");
        assert_eq!(show(justify_interval(&iv("1 mon -1 hour"))), "29 days 23:00:00");
        assert_eq!(format_timestamp(to_timestamp(1704164645.5).unwrap(), true), "2024-01-02 03:04:05.5+00");
        assert_eq!(format_date(make_date(2024, 2, 29).unwrap()), "2024-02-29");
        assert_eq!(format_date(make_date(-44, 3, 15).unwrap()), "0044-03-15 BC");
        assert_eq!(make_date(2023, 2, 29).unwrap_err().message, "date field value out of range: 2023-02-29");
        assert_eq!(to_timestamp(1e300).unwrap_err().message, "timestamp out of range: \"1e+300\"");
        assert_eq!(to_timestamp(-9.5e12).unwrap_err().message, "timestamp out of range: \"-9.5e+12\"");
        assert_eq!(c_g(123456.7), "123457");
        assert_eq!(c_g(0.0001234), "0.0001234");
    }

    #[test]
    fn parts_and_truncation_as_postgresql() {
        let f = |u: &str, s: &str| ts_part(u, ts(s), false).unwrap();
        assert_eq!(f("second", "2024-01-02 03:04:05.5"), Datum::Float8(5.5));
        assert_eq!(f("epoch", "2024-01-02 03:04:05.5"), Datum::Float8(1704164645.5));
        assert_eq!(f("dow", "2024-01-07"), Datum::Float8(0.0));
        assert_eq!(f("year", "0001-01-01 BC"), Datum::Float8(-1.0));
        assert_eq!(f("week", "2024-12-30"), Datum::Float8(1.0));
        assert_eq!(f("isoyear", "2024-12-30"), Datum::Float8(2025.0));
        assert_eq!(f("century", "2000-01-01"), Datum::Float8(20.0));
        assert_eq!(f("decade", "0002-01-01 BC"), Datum::Float8(-1.0));
        assert_eq!(f("millennium", "2001-01-01"), Datum::Float8(3.0));
        assert_eq!(f("julian", "2024-01-01 12:00"), Datum::Float8(2460311.5));
        assert_eq!(f("doy", "2024-12-31"), Datum::Float8(366.0));
        let e = interval_part("epoch", &parse_interval("1 year 1 mon 1 day").unwrap()).unwrap();
        assert_eq!(e, Datum::Float8(34236000.0));
        let tr = |u: &str, s: &str| format_timestamp(ts_trunc(u, ts(s), false).unwrap(), false);
        assert_eq!(tr("month", "2024-05-17 10:11:12"), "2024-05-01 00:00:00");
        assert_eq!(tr("week", "2024-05-17 10:11:12"), "2024-05-13 00:00:00");
        assert_eq!(
            ts_part("foo", 0, false).unwrap_err().message,
            "unit \"foo\" not recognized for type timestamp without time zone"
        );
    }
}
