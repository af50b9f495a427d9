//! Interval input as PostgreSQL 15's interval_in reads it (`datetime.c` DecodeInterval and
//! DecodeISO8601Interval, `timestamp.c` AdjustIntervalForTypmod): the text split into fields
//! ([`super::fields`]), read right to left so a unit applies to the number before it, each unit
//! at most once, every sum checked (22015 on overflow), the years and months checked together
//! last (22008 `interval out of range`). A typmod's field range (`INTERVAL '1 2' DAY TO HOUR`)
//! decides what a bare number is and truncates the value.

use super::fields::{self, FieldType};
use super::{interval_field_overflow, IntervalStyle, USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC};
use crate::error::{Result, SqlError};
use orbit_engine::table::Interval;

/// The bits of an interval typmod's field range (PostgreSQL's INTERVAL_MASK of MONTH, YEAR,
/// DAY, HOUR, MINUTE, SECOND).
pub const MONTH: u16 = 1 << 1;
pub const YEAR: u16 = 1 << 2;
pub const DAY: u16 = 1 << 3;
pub const HOUR: u16 = 1 << 10;
pub const MINUTE: u16 = 1 << 11;
pub const SECOND: u16 = 1 << 12;
/// INTERVAL_FULL_RANGE: every field.
pub const FULL_RANGE: u16 = 0x7fff;

/// Why a text is no interval (PostgreSQL's DTERR codes as interval_in reports them).
enum Dterr {
    BadFormat,
    FieldOverflow,
}

/// The fields seen so far (DTK_M bits), each unit allowed once.
mod seen {
    pub const YEAR: u32 = 1 << 0;
    pub const MONTH: u32 = 1 << 1;
    pub const DAY: u32 = 1 << 2;
    pub const HOUR: u32 = 1 << 3;
    pub const MINUTE: u32 = 1 << 4;
    pub const SECOND: u32 = 1 << 5;
    pub const MILLISECOND: u32 = 1 << 6;
    pub const MICROSECOND: u32 = 1 << 7;
    pub const WEEK: u32 = 1 << 8;
    pub const DECADE: u32 = 1 << 9;
    pub const CENTURY: u32 = 1 << 10;
    pub const MILLENNIUM: u32 = 1 << 11;
    pub const ALL_SECS: u32 = SECOND | MILLISECOND | MICROSECOND;
    pub const TIME: u32 = HOUR | MINUTE | ALL_SECS;
}

/// An interval being read (PostgreSQL's pg_itm_in): each part summed with overflow checks.
#[derive(Default)]
struct ItmIn {
    usec: i64,
    mday: i32,
    mon: i32,
    year: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Decade,
    Century,
    Millennium,
    /// A unit of the table that intervals do not take (`quarter`, `timezone`).
    Other,
}

enum Word {
    Unit(Unit),
    Ago,
    Ignore,
}

/// PostgreSQL's deltatktbl: words are compared on their first 10 letters (TOKMAXLEN), so
/// `microseconds` is `microsecon` and `millenniums` is `millennium`.
fn word(w: &str) -> Option<Word> {
    let w = if w.len() > 10 { &w[..10] } else { w };
    use Unit::*;
    Some(Word::Unit(match w {
        "@" => return Some(Word::Ignore),
        "ago" => return Some(Word::Ago),
        "c" | "cent" | "centuries" | "century" => Century,
        "d" | "day" | "days" => Day,
        "dec" | "decade" | "decades" | "decs" => Decade,
        "h" | "hour" | "hours" | "hr" | "hrs" => Hour,
        "m" | "min" | "mins" | "minute" | "minutes" => Minute,
        "microsecon" | "us" | "usec" | "usecond" | "useconds" | "usecs" => Microsecond,
        "mil" | "millennia" | "millennium" | "mils" => Millennium,
        "millisecon" | "ms" | "msec" | "msecond" | "mseconds" | "msecs" => Millisecond,
        "mon" | "mons" | "month" | "months" => Month,
        "qtr" | "quarter" | "timezone" | "timezone_h" | "timezone_m" => Other,
        "s" | "sec" | "second" | "seconds" | "secs" => Second,
        "w" | "week" | "weeks" => Week,
        "y" | "year" | "years" | "yr" | "yrs" => Year,
        _ => return None,
    }))
}

fn add_i32(a: &mut i32, b: i64) -> std::result::Result<(), Dterr> {
    let b = i32::try_from(b).map_err(|_| Dterr::FieldOverflow)?;
    *a = a.checked_add(b).ok_or(Dterr::FieldOverflow)?;
    Ok(())
}

impl ItmIn {
    /// AdjustFractMicroseconds: `frac * scale` microseconds, the fraction of a microsecond
    /// rounded half away from zero... past one half only, as PostgreSQL does.
    fn fract_micros(&mut self, frac: f64, scale: i64) -> std::result::Result<(), Dterr> {
        if frac == 0.0 {
            return Ok(());
        }
        let f = frac * scale as f64;
        let mut usec = f as i64;
        let rest = f - usec as f64;
        if rest > 0.5 {
            usec += 1;
        } else if rest < -0.5 {
            usec -= 1;
        }
        self.usec = self.usec.checked_add(usec).ok_or(Dterr::FieldOverflow)?;
        Ok(())
    }

    /// AdjustFractDays: whole days of `frac * scale` to the days, the rest to the time.
    fn fract_days(&mut self, frac: f64, scale: i64) -> std::result::Result<(), Dterr> {
        if frac == 0.0 {
            return Ok(());
        }
        let f = frac * scale as f64;
        let extra = f as i64;
        add_i32(&mut self.mday, extra)?;
        self.fract_micros(f - extra as f64, USECS_PER_DAY)
    }

    /// AdjustFractYears: `frac * scale` years as months, rounded, the rest dropped.
    fn fract_years(&mut self, frac: f64, scale: i64) -> std::result::Result<(), Dterr> {
        let extra = (frac * scale as f64 * 12.0).round_ties_even() as i64;
        add_i32(&mut self.mon, extra)
    }

    fn micros(&mut self, val: i64, frac: f64, scale: i64) -> std::result::Result<(), Dterr> {
        let p = val.checked_mul(scale).ok_or(Dterr::FieldOverflow)?;
        self.usec = self.usec.checked_add(p).ok_or(Dterr::FieldOverflow)?;
        self.fract_micros(frac, scale)
    }

    fn days(&mut self, val: i64, scale: i64) -> std::result::Result<(), Dterr> {
        let v = i32::try_from(val).map_err(|_| Dterr::FieldOverflow)?;
        let d = v.checked_mul(scale as i32).ok_or(Dterr::FieldOverflow)?;
        add_i32(&mut self.mday, d as i64)
    }

    fn months(&mut self, val: i64) -> std::result::Result<(), Dterr> {
        add_i32(&mut self.mon, val)
    }

    fn years(&mut self, val: i64, scale: i64) -> std::result::Result<(), Dterr> {
        let v = i32::try_from(val).map_err(|_| Dterr::FieldOverflow)?;
        let y = v.checked_mul(scale as i32).ok_or(Dterr::FieldOverflow)?;
        add_i32(&mut self.year, y as i64)
    }
}

/// C's strtol on a field: an optional sign and digits; (value, rest). No digits is 0 with the
/// whole field as the rest. Out of i64's range is an overflow.
fn strtoi64(s: &str) -> std::result::Result<(i64, &str), Dterr> {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == start {
        return Ok((0, s));
    }
    let v: i64 = s[..i].parse().map_err(|_| Dterr::FieldOverflow)?;
    Ok((v, &s[i..]))
}

/// ParseFraction: `.ddd` to the end of the field (`.` alone is 0).
fn fraction(s: &str) -> std::result::Result<f64, Dterr> {
    if s == "." {
        return Ok(0.0);
    }
    if !s[1..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(Dterr::BadFormat);
    }
    format!("0{s}").parse::<f64>().map_err(|_| Dterr::BadFormat)
}

/// DecodeTimeCommon + DecodeTimeForInterval: `h:m`, `h:m:s[.f]`, `m:s.f` as microseconds. In a
/// MINUTE TO SECOND range `a:b` is minutes and seconds.
fn time_for_interval(s: &str, range: u16) -> std::result::Result<i64, Dterr> {
    let (hour, rest) = strtoi64(s)?;
    if !rest.starts_with(':') {
        return Err(Dterr::BadFormat);
    }
    let (mut min, rest) = strtoi64(&rest[1..])?;
    let (mut hour, mut sec, mut usec) = (hour, 0i64, 0i64);
    if rest.is_empty() {
        if range == MINUTE | SECOND {
            sec = min;
            min = hour;
            hour = 0;
        }
    } else if rest.starts_with('.') {
        usec = (fraction(rest).map_err(|_| Dterr::BadFormat)? * 1e6).round_ties_even() as i64;
        sec = min;
        min = hour;
        hour = 0;
    } else if let Some(r) = rest.strip_prefix(':') {
        let (s2, rest) = strtoi64(r)?;
        sec = s2;
        if rest.starts_with('.') {
            usec = (fraction(rest).map_err(|_| Dterr::BadFormat)? * 1e6).round_ties_even() as i64;
        } else if !rest.is_empty() {
            return Err(Dterr::BadFormat);
        }
    } else {
        return Err(Dterr::BadFormat);
    }
    // Minutes and seconds are C ints in PostgreSQL.
    if i32::try_from(min).is_err() || i32::try_from(sec).is_err() {
        return Err(Dterr::FieldOverflow);
    }
    if hour < 0 || !(0..=59).contains(&min) || !(0..=60).contains(&sec) || !(0..=USECS_PER_SEC).contains(&usec) {
        return Err(Dterr::FieldOverflow);
    }
    let mut total = usec;
    for (v, scale) in [(hour, USECS_PER_HOUR), (min, USECS_PER_MINUTE), (sec, USECS_PER_SEC)] {
        total = v.checked_mul(scale).and_then(|p| total.checked_add(p)).ok_or(Dterr::FieldOverflow)?;
    }
    Ok(total)
}

/// The unit of a bare number at the right end, from the typmod's range.
fn unit_of_range(range: u16) -> Unit {
    match range {
        YEAR => Unit::Year,
        MONTH | 0x6 => Unit::Month,
        DAY => Unit::Day,
        HOUR | 0x408 => Unit::Hour,
        MINUTE | 0xC00 | 0xC08 => Unit::Minute,
        _ => Unit::Second,
    }
}

/// DecodeInterval over the split fields.
fn decode(fields: &[(String, FieldType)], range: u16, style: IntervalStyle) -> std::result::Result<ItmIn, Dterr> {
    let mut itm = ItmIn::default();
    let mut force_negative = false;
    if style == IntervalStyle::SqlStandard && fields.first().is_some_and(|(f, _)| f.starts_with('-')) {
        force_negative = !fields[1..].iter().any(|(f, _)| f.starts_with(['-', '+']));
    }
    let mut fmask = 0u32;
    let mut is_before = false;
    // The unit the next number (leftwards) takes; None until a unit or time is seen.
    let mut unit: Option<Unit> = None;
    for (i, (f, ty)) in fields.iter().enumerate().rev() {
        let tmask;
        match ty {
            FieldType::Time => {
                itm.usec = time_for_interval(f, range)?;
                if force_negative && itm.usec > 0 {
                    itm.usec = -itm.usec;
                }
                tmask = seen::TIME;
                unit = Some(Unit::Day);
            }
            FieldType::Tz if f[1..].contains(':') && time_for_interval(&f[1..], range).is_ok() => {
                let mut t = time_for_interval(&f[1..], range)?;
                if f.starts_with('-') {
                    t = -t;
                }
                if force_negative && t > 0 {
                    t = -t;
                }
                itm.usec = t;
                tmask = seen::TIME;
                unit = Some(Unit::Day);
            }
            FieldType::Tz | FieldType::Date | FieldType::Number => {
                let u = *unit.get_or_insert(unit_of_range(range));
                let (mut val, rest) = strtoi64(f)?;
                let mut u = u;
                let mut fval;
                if let Some(r) = rest.strip_prefix('-') {
                    // SQL's years-months: `1-2`.
                    let (mut val2, rest2) = strtoi64(r)?;
                    if !(0..12).contains(&val2) || i32::try_from(val2).is_err() {
                        return Err(Dterr::FieldOverflow);
                    }
                    if !rest2.is_empty() {
                        return Err(Dterr::BadFormat);
                    }
                    u = Unit::Month;
                    unit = Some(Unit::Month);
                    if f.starts_with('-') {
                        val2 = -val2;
                    }
                    val = val.checked_mul(12).and_then(|v| v.checked_add(val2)).ok_or(Dterr::FieldOverflow)?;
                    fval = 0.0;
                } else if rest.starts_with('.') {
                    fval = fraction(rest)?;
                    if f.starts_with('-') {
                        fval = -fval;
                    }
                } else if rest.is_empty() {
                    fval = 0.0;
                } else {
                    return Err(Dterr::BadFormat);
                }
                if force_negative {
                    if val > 0 {
                        val = -val;
                    }
                    if fval > 0.0 {
                        fval = -fval;
                    }
                }
                tmask = match u {
                    Unit::Microsecond => {
                        itm.micros(val, fval, 1)?;
                        seen::MICROSECOND
                    }
                    Unit::Millisecond => {
                        itm.micros(val, fval, 1000)?;
                        seen::MILLISECOND
                    }
                    Unit::Second => {
                        itm.micros(val, fval, USECS_PER_SEC)?;
                        if fval == 0.0 {
                            seen::SECOND
                        } else {
                            seen::ALL_SECS
                        }
                    }
                    Unit::Minute => {
                        itm.micros(val, fval, USECS_PER_MINUTE)?;
                        seen::MINUTE
                    }
                    Unit::Hour => {
                        itm.micros(val, fval, USECS_PER_HOUR)?;
                        unit = Some(Unit::Day);
                        seen::HOUR
                    }
                    Unit::Day => {
                        itm.days(val, 1)?;
                        itm.fract_micros(fval, USECS_PER_DAY)?;
                        seen::DAY
                    }
                    Unit::Week => {
                        itm.days(val, 7)?;
                        itm.fract_days(fval, 7)?;
                        seen::WEEK
                    }
                    Unit::Month => {
                        itm.months(val)?;
                        itm.fract_days(fval, 30)?;
                        seen::MONTH
                    }
                    Unit::Year => {
                        itm.years(val, 1)?;
                        itm.fract_years(fval, 1)?;
                        seen::YEAR
                    }
                    Unit::Decade => {
                        itm.years(val, 10)?;
                        itm.fract_years(fval, 10)?;
                        seen::DECADE
                    }
                    Unit::Century => {
                        itm.years(val, 100)?;
                        itm.fract_years(fval, 100)?;
                        seen::CENTURY
                    }
                    Unit::Millennium => {
                        itm.years(val, 1000)?;
                        itm.fract_years(fval, 1000)?;
                        seen::MILLENNIUM
                    }
                    Unit::Other => return Err(Dterr::BadFormat),
                };
            }
            FieldType::Str | FieldType::Special => match word(f) {
                Some(Word::Ignore) => continue,
                Some(Word::Unit(u)) => {
                    unit = Some(u);
                    tmask = 0;
                }
                // `ago` only at the end.
                Some(Word::Ago) if i == fields.len() - 1 => {
                    is_before = true;
                    tmask = 0;
                }
                _ => return Err(Dterr::BadFormat),
            },
        }
        if tmask & fmask != 0 {
            return Err(Dterr::BadFormat);
        }
        fmask |= tmask;
    }
    if fmask == 0 {
        return Err(Dterr::BadFormat);
    }
    if is_before {
        itm.usec = itm.usec.checked_neg().ok_or(Dterr::FieldOverflow)?;
        itm.mday = itm.mday.checked_neg().ok_or(Dterr::FieldOverflow)?;
        itm.mon = itm.mon.checked_neg().ok_or(Dterr::FieldOverflow)?;
        itm.year = itm.year.checked_neg().ok_or(Dterr::FieldOverflow)?;
    }
    Ok(itm)
}

/// ParseISO8601Number: what strtod reads (a sign, digits, a fraction, an exponent), at most
/// 1e15 in size; (whole part, fraction, rest).
fn iso_number(s: &str) -> std::result::Result<(i64, f64, &str), Dterr> {
    let b = s.as_bytes();
    if !b.first().is_some_and(|c| c.is_ascii_digit() || *c == b'-' || *c == b'.') {
        return Err(Dterr::BadFormat);
    }
    // The longest prefix that is a float, as strtod takes it.
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut n_digits = i - digits_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        n_digits += i - f;
    }
    if n_digits == 0 {
        return Err(Dterr::BadFormat);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'-' || b[j] == b'+') {
            j += 1;
        }
        let e = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > e {
            i = j;
        }
    }
    let val: f64 = s[..i].parse().map_err(|_| Dterr::BadFormat)?;
    if val.is_nan() || !(-1.0e15..=1.0e15).contains(&val) {
        return Err(Dterr::FieldOverflow);
    }
    let whole = val.trunc() as i64;
    Ok((whole, val - whole as f64, &s[i..]))
}

/// The count of integral digits of an ISO 8601 number (its sign and fraction left out).
fn iso_integer_width(s: &str) -> usize {
    let s = s.strip_prefix('-').unwrap_or(s);
    s.bytes().take_while(u8::is_ascii_digit).count()
}

/// DecodeISO8601Interval: `P1Y2M3DT4H5M6S` (designators, upper case as PostgreSQL requires),
/// `P0001-02-03T04:05:06` and `P00010203T040506` (the alternative formats).
fn decode_iso8601(s: &str) -> std::result::Result<ItmIn, Dterr> {
    let mut itm = ItmIn::default();
    if s.len() < 2 || !s.starts_with('P') {
        return Err(Dterr::BadFormat);
    }
    let mut rest = &s[1..];
    let mut datepart = true;
    let mut havefield = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('T') {
            datepart = false;
            havefield = false;
            rest = r;
            continue;
        }
        let fieldstart = rest;
        let (val, fval, r) = iso_number(rest)?;
        let unit = match r.as_bytes().first() {
            Some(b) if b.is_ascii() => Some(*b as char),
            Some(_) => return Err(Dterr::BadFormat),
            None => None,
        };
        rest = if unit.is_some() { &r[1..] } else { r };
        if datepart {
            match unit {
                Some('Y') => {
                    itm.years(val, 1)?;
                    itm.fract_years(fval, 1)?;
                }
                Some('M') => {
                    itm.months(val)?;
                    itm.fract_days(fval, 30)?;
                }
                Some('W') => {
                    itm.days(val, 7)?;
                    itm.fract_days(fval, 7)?;
                }
                Some('D') => {
                    itm.days(val, 1)?;
                    itm.fract_micros(fval, USECS_PER_DAY)?;
                }
                Some('T') | None | Some('-') => {
                    if unit != Some('-') && iso_integer_width(fieldstart) == 8 && !havefield {
                        itm.years(val / 10000, 1)?;
                        itm.months((val / 100) % 100)?;
                        itm.days(val % 100, 1)?;
                        itm.fract_micros(fval, USECS_PER_DAY)?;
                        if unit.is_none() {
                            return Ok(itm);
                        }
                        datepart = false;
                        havefield = false;
                        continue;
                    }
                    if havefield {
                        return Err(Dterr::BadFormat);
                    }
                    itm.years(val, 1)?;
                    itm.fract_years(fval, 1)?;
                    match unit {
                        None => return Ok(itm),
                        Some('T') => {
                            datepart = false;
                            havefield = false;
                            continue;
                        }
                        _ => {}
                    }
                    let (val, fval, r) = iso_number(rest)?;
                    itm.months(val)?;
                    itm.fract_days(fval, 30)?;
                    rest = r;
                    if rest.is_empty() {
                        return Ok(itm);
                    }
                    if let Some(r) = rest.strip_prefix('T') {
                        rest = r;
                        datepart = false;
                        havefield = false;
                        continue;
                    }
                    rest = rest.strip_prefix('-').ok_or(Dterr::BadFormat)?;
                    let (val, fval, r) = iso_number(rest)?;
                    itm.days(val, 1)?;
                    itm.fract_micros(fval, USECS_PER_DAY)?;
                    rest = r;
                    if rest.is_empty() {
                        return Ok(itm);
                    }
                    if let Some(r) = rest.strip_prefix('T') {
                        rest = r;
                        datepart = false;
                        havefield = false;
                        continue;
                    }
                    return Err(Dterr::BadFormat);
                }
                _ => return Err(Dterr::BadFormat),
            }
        } else {
            match unit {
                Some('H') => itm.micros(val, fval, USECS_PER_HOUR)?,
                Some('M') => itm.micros(val, fval, USECS_PER_MINUTE)?,
                Some('S') => itm.micros(val, fval, USECS_PER_SEC)?,
                None | Some(':') => {
                    if unit.is_none() && iso_integer_width(fieldstart) == 6 && !havefield {
                        itm.micros(val / 10000, 0.0, USECS_PER_HOUR)?;
                        itm.micros((val / 100) % 100, 0.0, USECS_PER_MINUTE)?;
                        itm.micros(val % 100, 0.0, USECS_PER_SEC)?;
                        itm.fract_micros(fval, 1)?;
                        return Ok(itm);
                    }
                    if havefield {
                        return Err(Dterr::BadFormat);
                    }
                    itm.micros(val, fval, USECS_PER_HOUR)?;
                    if unit.is_none() {
                        return Ok(itm);
                    }
                    let (val, fval, r) = iso_number(rest)?;
                    itm.micros(val, fval, USECS_PER_MINUTE)?;
                    rest = r;
                    if rest.is_empty() {
                        return Ok(itm);
                    }
                    rest = rest.strip_prefix(':').ok_or(Dterr::BadFormat)?;
                    let (val, fval, r) = iso_number(rest)?;
                    itm.micros(val, fval, USECS_PER_SEC)?;
                    if r.is_empty() {
                        return Ok(itm);
                    }
                    return Err(Dterr::BadFormat);
                }
                _ => return Err(Dterr::BadFormat),
            }
        }
        havefield = true;
    }
    Ok(itm)
}

fn bad_interval(s: &str) -> SqlError {
    SqlError::new(super::INVALID_DATETIME_FORMAT, format!("invalid input syntax for type interval: \"{s}\""))
}

/// interval_in: the text read in `style` (its sign rule) under a typmod's `range`, then
/// truncated to the range (precision is the caller's, `interval_typmod`).
pub fn parse(s: &str, style: IntervalStyle, range: u16) -> Result<Interval> {
    let decoded = match fields::split(s, fields::INTERVAL_BUF_BYTES) {
        Some(f) => decode(&f, range, style),
        None => Err(Dterr::BadFormat),
    };
    let itm = match decoded {
        Err(Dterr::BadFormat) => decode_iso8601(s),
        other => other,
    };
    let itm = match itm {
        Ok(itm) => itm,
        Err(Dterr::BadFormat) => return Err(bad_interval(s)),
        Err(Dterr::FieldOverflow) => return Err(interval_field_overflow(s)),
    };
    let months = itm.year as i64 * 12 + itm.mon as i64;
    let months = i32::try_from(months).map_err(|_| super::interval_out_of_range())?;
    Ok(restrict(Interval { months, days: itm.mday, micros: itm.usec }, range))
}

/// AdjustIntervalForTypmod's field part: the fields right of the range's last one dropped
/// (`YEAR` keeps whole years, `DAY TO HOUR` whole hours).
pub fn restrict(iv: Interval, range: u16) -> Interval {
    let Interval { mut months, mut days, mut micros } = iv;
    match range {
        YEAR => {
            months = months / 12 * 12;
            days = 0;
            micros = 0;
        }
        MONTH | 0x6 => {
            days = 0;
            micros = 0;
        }
        DAY => micros = 0,
        HOUR | 0x408 => micros = micros / USECS_PER_HOUR * USECS_PER_HOUR,
        MINUTE | 0xC00 | 0xC08 => micros = micros / USECS_PER_MINUTE * USECS_PER_MINUTE,
        _ => {}
    }
    Interval { months, days, micros }
}

/// The range of SQL's interval qualifier (`YEAR TO MONTH`, `SECOND`), as PostgreSQL's grammar
/// builds it; None for a pair the grammar rejects.
pub fn range_of(leading: &str, last: Option<&str>) -> Option<u16> {
    let bit = |f: &str| match f {
        "YEAR" => Some(YEAR),
        "MONTH" => Some(MONTH),
        "DAY" => Some(DAY),
        "HOUR" => Some(HOUR),
        "MINUTE" => Some(MINUTE),
        "SECOND" => Some(SECOND),
        _ => None,
    };
    let first = bit(leading)?;
    let Some(last) = last else { return Some(first) };
    Some(match (first, bit(last)?) {
        (YEAR, MONTH) => YEAR | MONTH,
        (DAY, HOUR) => DAY | HOUR,
        (DAY, MINUTE) => DAY | HOUR | MINUTE,
        (DAY, SECOND) => DAY | HOUR | MINUTE | SECOND,
        (HOUR, MINUTE) => HOUR | MINUTE,
        (HOUR, SECOND) => HOUR | MINUTE | SECOND,
        (MINUTE, SECOND) => MINUTE | SECOND,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(s: &str) -> Interval {
        parse(s, IntervalStyle::Postgres, FULL_RANGE).unwrap()
    }

    fn err(s: &str, range: u16) -> String {
        parse(s, IntervalStyle::Postgres, range).unwrap_err().message
    }

    #[test]
    fn reads_as_decode_interval() {
        assert_eq!(iv("1 day -02:03"), Interval { months: 0, days: 1, micros: -(2 * 3600 + 180) * USECS_PER_SEC });
        assert_eq!(iv("1-2").months, 14);
        assert_eq!(iv("@ 1 day ago").days, -1);
        assert_eq!(iv("4 millenniums 5 centuries 4 decades 1 year 4 months").months, 4541 * 12 + 4);
        assert_eq!(iv("day 1").micros, USECS_PER_SEC);
        assert!(err("1 day 1 day", FULL_RANGE).starts_with("invalid input syntax"));
        assert!(err("123 11", FULL_RANGE).starts_with("invalid input syntax"));
        assert!(err("2147483648 years", FULL_RANGE).starts_with("interval field value out of range"));
        assert_eq!(err("2147483647 years", FULL_RANGE), "interval out of range");
        assert_eq!(iv("P1Y2M3DT4H5M6S").months, 14);
        assert_eq!(iv("P0001-02-03T04:05:06").days, 3);
        assert!(err("p1d", FULL_RANGE).starts_with("invalid input syntax"));
    }

    #[test]
    fn ranges_decide_bare_numbers_and_truncate() {
        assert_eq!(parse("1 2", IntervalStyle::Postgres, DAY | HOUR).unwrap().micros, 2 * USECS_PER_HOUR);
        assert_eq!(parse("1", IntervalStyle::Postgres, YEAR | MONTH).unwrap().months, 1);
        let ms = parse("1 2:03", IntervalStyle::Postgres, MINUTE | SECOND).unwrap();
        assert_eq!((ms.days, ms.micros), (1, 123 * USECS_PER_SEC));
        let dh = parse("1 2:03:04", IntervalStyle::Postgres, DAY | HOUR).unwrap();
        assert_eq!(dh.micros, 2 * USECS_PER_HOUR);
        assert!(err("123 11", DAY).starts_with("invalid input syntax"));
        assert_eq!(range_of("DAY", Some("SECOND")), Some(DAY | HOUR | MINUTE | SECOND));
        assert_eq!(range_of("MONTH", Some("DAY")), None);
    }
}
