//! Time zones: the session's `TimeZone` and the zones of `AT TIME ZONE`, read from the system's
//! IANA database (`/usr/share/zoneinfo`, the copy Debian's PostgreSQL reads too) through `jiff`.
//! A `timestamptz` stays an instant (microseconds since 2000-01-01 UTC); the zone only decides
//! how it reads as local time: its text form, its casts to `timestamp`/`date`/`time` and back,
//! and the calendar arithmetic and fields of `date_part`, `date_trunc`, `to_char` and `+ interval`
//! (PostgreSQL's timestamptz functions read `session_timezone` the same way).
//!
//! The binder reads the session's zone ([`session`], which marks a prepared statement for
//! binding again when it changes) and writes it into the expressions that need it
//! ([`crate::expr::TemporalFn::Zoned`]): nothing changes for a session in UTC.

use crate::error::{code, Result, SqlError};
pub use jiff::tz::TimeZone;
use jiff::tz::{AmbiguousOffset, Offset};
use jiff::Timestamp;
use std::cell::RefCell;
use std::collections::HashMap;

pub mod abbrevs;

/// Microseconds from 1970-01-01 to 2000-01-01 (PostgreSQL's epoch).
const UNIX_TO_PG_US: i64 = 946_684_800_000_000;

thread_local! {
    /// Zones looked up on this thread, by the name as written (a session's zone is read once
    /// per expression evaluated, not parsed again).
    static ZONES: RefCell<HashMap<String, Option<TimeZone>>> = RefCell::new(HashMap::new());
}

/// The names of UTC that PostgreSQL's own zone list has.
fn is_utc_name(lower: &str) -> bool {
    matches!(
        lower,
        "utc"
            | "gmt"
            | "z"
            | "zulu"
            | "uct"
            | "etc/utc"
            | "etc/gmt"
            | "universal"
            | "etc/universal"
            | "etc/uct"
            | "etc/zulu"
            | "gmt0"
            | "utc0"
            | "greenwich"
            | "etc/greenwich"
    )
}

/// A zone by its IANA name (case-insensitive), None when the database has no such zone.
pub fn by_name(name: &str) -> Option<TimeZone> {
    if name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_-+".contains(&b)) {
        return None;
    }
    if is_utc_name(&name.to_ascii_lowercase()) {
        return Some(TimeZone::UTC);
    }
    ZONES.with(|z| {
        let mut z = z.borrow_mut();
        if let Some(tz) = z.get(name) {
            return tz.clone();
        }
        let tz = TimeZone::get(name).ok();
        if z.len() >= 1024 {
            z.clear();
        }
        z.insert(name.to_string(), tz.clone());
        tz
    })
}

fn not_recognized(name: &str) -> SqlError {
    SqlError::new(code::INVALID_PARAMETER_VALUE, format!("time zone \"{name}\" not recognized"))
}

/// A fixed offset, `east_s` seconds east of UTC.
pub fn fixed(east_s: i64) -> TimeZone {
    TimeZone::fixed(Offset::from_seconds(east_s as i32).unwrap_or(Offset::UTC))
}

/// The zone `AT TIME ZONE` and `timezone(zone, x)` name, as PostgreSQL's DecodeTimezoneName
/// reads it: a time zone abbreviation first (`PST`, `msk`: [`abbrevs`]), then what
/// [`lookup_zone`] takes.
pub fn lookup(name: &str) -> Result<TimeZone> {
    match abbreviation_zone(name) {
        Some(tz) => Ok(tz),
        None => lookup_zone(name),
    }
}

/// An abbreviation's zone: its fixed offset, or the zone it stands for.
pub fn abbreviation_zone(name: &str) -> Option<TimeZone> {
    if name.len() > 64 {
        return None;
    }
    match abbrevs::lookup(&name.to_ascii_lowercase())? {
        abbrevs::Abbrev::Fixed(east, _) => Some(fixed(east as i64)),
        abbrevs::Abbrev::Dynamic(zone) => TimeZone::get(zone).ok(),
    }
}

/// A zone by name without the abbreviations (what `SET TIME ZONE` takes, PostgreSQL's
/// pg_tzset): an IANA zone, UTC's names, a POSIX offset (`'+05'`, `'-03:30'`: hours *west* of
/// Greenwich, as PostgreSQL reads a number-led zone), or a POSIX TZ rule (`'EST5EDT'`,
/// `'<+03>-3'`, `'pst+8'`).
pub fn lookup_zone(name: &str) -> Result<TimeZone> {
    let trimmed = name.trim();
    if let Some(tz) = by_name(trimmed) {
        return Ok(tz);
    }
    if let Some(east_s) = posix_offset_east(trimmed) {
        return Ok(fixed(east_s));
    }
    if trimmed.bytes().any(|b| b.is_ascii_digit()) && trimmed.len() <= 64 {
        if let Ok(tz) = TimeZone::posix(trimmed) {
            return Ok(tz);
        }
        // POSIX rules name their abbreviations in any case (`pst+8`).
        if let Ok(tz) = TimeZone::posix(&trimmed.to_ascii_uppercase()) {
            return Ok(tz);
        }
        // A daylight-saving name without rules (`FOO8BAR`) takes PostgreSQL's default ones
        // (TZDEFRULESTRING, the US rules), as its tzparse does.
        if !trimmed.contains(',') && trimmed.bytes().last().is_some_and(|b| b.is_ascii_alphabetic()) {
            if let Ok(tz) = TimeZone::posix(&format!("{},M3.2.0,M11.1.0", trimmed.to_ascii_uppercase())) {
                return Ok(tz);
            }
        }
    }
    Err(not_recognized(name))
}

/// `+05`, `-03:30`, `5`: seconds *east* of UTC of a POSIX-style offset (which counts west).
fn posix_offset_east(s: &str) -> Option<i64> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (-1, &s[1..]),
        b'-' => (1, &s[1..]),
        b'0'..=b'9' => (-1, s),
        _ => return None,
    };
    let parts: Vec<&str> = rest.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 3) {
        return None;
    }
    let num = |i: usize| parts.get(i).map_or(0, |p| p.parse::<i64>().unwrap_or(0));
    let (h, m, sec) = (num(0), num(1), num(2));
    (h <= 167 && m < 60 && sec < 60).then_some(sign * ((h * 60 + m) * 60 + sec))
}

/// `SET TIME ZONE` / `SET timezone = ...`: the value as SHOW prints it. A number is hours east
/// of UTC (PostgreSQL shows `-8` as `<-08>+08`); a name is looked up (and shown as the database
/// spells it); a POSIX rule is kept as written.
pub fn setting(value: &str) -> Result<String> {
    let v = value.trim();
    if is_utc_name(&v.to_ascii_lowercase()) {
        return Ok(if v.eq_ignore_ascii_case("utc") { "UTC".to_string() } else { canonical_name(v) });
    }
    if let Ok(hours) = v.parse::<f64>() {
        if !hours.is_finite() || hours.abs() >= 168.0 {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                format!("invalid value for parameter \"TimeZone\": \"{value}\""),
            ));
        }
        let east_s = (hours * 3600.0).round() as i64;
        return Ok(posix_fixed_name(east_s));
    }
    if let Some(tz) = by_name(v) {
        return Ok(tz.iana_name().map(str::to_string).unwrap_or_else(|| v.to_string()));
    }
    // `04:30`, `-04:15`, `+02:00`: a POSIX offset (hours west), shown as written.
    if posix_offset_east(v).is_some() {
        return Ok(v.to_string());
    }
    if v.bytes().any(|b| b.is_ascii_digit()) && v.len() <= 64 && TimeZone::posix(v).is_ok() {
        return Ok(v.to_string());
    }
    Err(SqlError::new(code::INVALID_PARAMETER_VALUE, format!("invalid value for parameter \"TimeZone\": \"{value}\"")))
}

/// How PostgreSQL spells a UTC alias it was given (its zone names are case-sensitive on disk,
/// looked up case-insensitively, shown as the database spells them).
fn canonical_name(v: &str) -> String {
    TimeZone::get(v).ok().and_then(|tz| tz.iana_name().map(str::to_string)).unwrap_or_else(|| v.to_string())
}

/// A fixed offset as PostgreSQL names it in SHOW: `<+05:30>-05:30`, `<-08>+08`.
fn posix_fixed_name(east_s: i64) -> String {
    let abs = east_s.abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    let mut hm = format!("{h:02}");
    if m != 0 || s != 0 {
        hm.push_str(&format!(":{m:02}"));
    }
    if s != 0 {
        hm.push_str(&format!(":{s:02}"));
    }
    let (east, west) = if east_s < 0 { ('-', '+') } else { ('+', '-') };
    let posix = if east_s == 0 { hm.clone() } else { format!("{west}{hm}") };
    format!("<{east}{hm}>{posix}")
}

/// The session's zone from its parameters, None for UTC (the common case: no conversion).
pub fn of_settings(settings: &[(&'static str, String)]) -> Option<TimeZone> {
    let v = settings.iter().find(|(k, _)| *k == "TimeZone").map(|(_, v)| v.as_str())?;
    from_setting(v)
}

/// A `TimeZone` parameter's value (as [`setting`] printed it) as a zone; None for UTC.
pub fn from_setting(v: &str) -> Option<TimeZone> {
    if v == "UTC" {
        return None;
    }
    let tz = match fixed_from_name(v) {
        Some(east_s) => fixed(east_s),
        None => lookup_zone(v).ok()?,
    };
    (tz != TimeZone::UTC).then_some(tz)
}

/// `<+05:30>-05:30` (as [`posix_fixed_name`] writes it) back to seconds east.
fn fixed_from_name(v: &str) -> Option<i64> {
    let inner = v.strip_prefix('<')?.split('>').next()?;
    let (sign, rest) = match inner.as_bytes().first()? {
        b'+' => (1, &inner[1..]),
        b'-' => (-1, &inner[1..]),
        _ => return None,
    };
    let p: Vec<i64> = rest.split(':').map(|x| x.parse().ok()).collect::<Option<_>>()?;
    Some(sign * (p.first()? * 3600 + p.get(1).unwrap_or(&0) * 60 + p.get(2).unwrap_or(&0)))
}

/// The zone of the session whose statement is being bound (None: UTC, or no session); the
/// binder writes it into the expressions that read local time, so the statement is noted to
/// be bound again when the zone changes.
pub(crate) fn session() -> Option<String> {
    let v = crate::settings::bound_value("TimeZone")?;
    from_setting(&v).map(|_| v)
}

/// The zone a timestamptz literal without an offset is read in: the session's when the
/// statement is bound, kept (not noted for binding again) — PostgreSQL reads a literal once,
/// when it parses the statement.
pub(crate) fn session_for_literal() -> Option<String> {
    let v = crate::settings::peek_value("TimeZone")?;
    from_setting(&v).map(|_| v)
}

/// The style a literal is read in: the session's zone and IntervalStyle when the statement is
/// bound, kept (not noted for binding again).
pub(crate) fn style_for_literal() -> Result<crate::types::TextStyle> {
    let zone = session_for_literal().map(|z| resolve(&z)).transpose()?;
    let interval = crate::settings::peek_value("IntervalStyle");
    let interval = interval.as_deref().map_or(Default::default(), crate::datetime::IntervalStyle::of_setting);
    let date_order = crate::settings::peek_value("DateStyle");
    let date_order = crate::datetime::DateOrder::of_setting(date_order.as_deref().unwrap_or(""));
    Ok(crate::types::TextStyle { zone, interval, date_order, ..Default::default() })
}

/// The zone a `TemporalFn::Zoned` call carries (the session's setting or an AT TIME ZONE name).
pub fn resolve(name: &str) -> Result<TimeZone> {
    if let Some(east_s) = fixed_from_name(name) {
        return Ok(fixed(east_s));
    }
    // A session's zone is never an abbreviation; an AT TIME ZONE name read per row may be one
    // (a constant one was turned into its offset or zone when bound).
    lookup_zone(name).or_else(|e| abbreviation_zone(name).ok_or(e))
}

/// 400 Gregorian years in microseconds: the calendar, and so a zone's POSIX rule for the
/// years past its table, repeats after them.
const GREGORIAN_CYCLE_US: i64 = 146_097 * 86_400 * 1_000_000;

/// An instant past what `jiff` represents (after 9999) moved back by whole 400-year cycles,
/// where the zone's rule gives the same offset (PostgreSQL applies the rule to any year).
fn instant(utc_us: i64) -> Timestamp {
    let max = Timestamp::MAX.as_microsecond() - UNIX_TO_PG_US - 2 * 86_400 * 1_000_000;
    let utc_us = if utc_us > max && utc_us != i64::MAX {
        utc_us - ((utc_us - max) / GREGORIAN_CYCLE_US + 1) * GREGORIAN_CYCLE_US
    } else {
        utc_us
    };
    let unix = utc_us.saturating_add(UNIX_TO_PG_US);
    Timestamp::from_microsecond(unix.clamp(Timestamp::MIN.as_microsecond(), Timestamp::MAX.as_microsecond()))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Seconds east of UTC in `tz` at the instant `utc_us`.
pub fn offset_east(tz: &TimeZone, utc_us: i64) -> i64 {
    tz.to_offset(instant(utc_us)).seconds() as i64
}

/// The zone's abbreviation at the instant (`EST`, `CEST`; `+0530` where the database has none).
pub fn abbreviation(tz: &TimeZone, utc_us: i64) -> String {
    tz.to_offset_info(instant(utc_us)).abbreviation().to_string()
}

/// The offset (seconds east) a dynamic abbreviation (`MSK` of Europe/Moscow) has for the local
/// time `local_us` in its zone, as PostgreSQL's DetermineTimeZoneAbbrevOffset finds it: the
/// meaning the abbreviation had at that time or most recently before, else the next one; the
/// zone's own offset when the zone never used it.
pub fn abbrev_offset_east(tz: &TimeZone, abbrev: &str, local_us: i64) -> i64 {
    abbrev_offset_east_at(tz, abbrev, from_local(tz, local_us))
}

/// The same at the instant `t0` (PostgreSQL's DetermineTimeZoneAbbrevOffsetTS).
pub fn abbrev_offset_east_at(tz: &TimeZone, abbrev: &str, t0: i64) -> i64 {
    if abbreviation(tz, t0).eq_ignore_ascii_case(abbrev) {
        return offset_east(tz, t0);
    }
    let at = instant(t0);
    let found = tz
        .preceding(at)
        .take(1000)
        .find(|t| t.abbreviation().eq_ignore_ascii_case(abbrev))
        .or_else(|| tz.following(at).take(1000).find(|t| t.abbreviation().eq_ignore_ascii_case(abbrev)));
    match found {
        Some(t) => t.offset().seconds() as i64,
        None => offset_east(tz, t0),
    }
}

/// A dynamic abbreviation's zone (`MSK`: Europe/Moscow) and the abbreviation; None for any
/// other name (no zone file has one of their names).
pub fn dynamic_abbreviation(name: &str) -> Option<(TimeZone, &str)> {
    if name.len() > 10 || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    match abbrevs::lookup(&name.to_ascii_lowercase())? {
        abbrevs::Abbrev::Dynamic(zone) => Some((TimeZone::get(zone).ok()?, name)),
        abbrevs::Abbrev::Fixed(..) => None,
    }
}

/// A constant zone name as [`lookup`] reads it (abbreviations first), written as a name
/// [`resolve`] reads the same way: a fixed abbreviation as its offset, a dynamic one as its
/// zone.
pub fn canonical_lookup_name(name: &str) -> Result<String> {
    if let Some(a) = abbrevs::lookup(&name.to_ascii_lowercase()) {
        return Ok(match a {
            abbrevs::Abbrev::Fixed(east, _) => posix_fixed_name(east as i64),
            abbrevs::Abbrev::Dynamic(zone) => zone.to_string(),
        });
    }
    lookup_zone(name)?;
    Ok(name.to_string())
}

/// A zone named where PostgreSQL's parse_sane_timezone reads it (make_timestamptz's zone): a
/// leading sign is an ISO offset (`'+2'` is *east*, up to 15 hours), a leading digit an
/// error, else an abbreviation or a zone name. The result is a name [`resolve`] reads.
pub fn sane_zone_name(name: &str) -> Result<String> {
    let b = name.as_bytes();
    if b.first().is_some_and(u8::is_ascii_digit) {
        return Err(SqlError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("invalid input syntax for type numeric time zone: \"{name}\""),
        )
        .hint("Numeric time zones must have \"-\" or \"+\" as first character."));
    }
    if b.first().is_some_and(|c| *c == b'+' || *c == b'-') {
        return match crate::datetime::decode_timezone_offset(name) {
            Ok(east) => Ok(posix_fixed_name(east)),
            Err(true) => {
                Err(SqlError::new(code::INVALID_PARAMETER_VALUE, format!("numeric time zone \"{name}\" out of range")))
            }
            Err(false) => Err(not_recognized(name)),
        };
    }
    canonical_lookup_name(name)
}

/// The local time in `tz` of the instant `utc_us` (infinities stay).
pub fn to_local(tz: &TimeZone, utc_us: i64) -> i64 {
    if !crate::datetime::is_finite_ts(utc_us) {
        return utc_us;
    }
    utc_us + offset_east(tz, utc_us) * 1_000_000
}

/// The instant of the local time `local_us` in `tz`. A local time skipped by a forward jump
/// takes the offset before the jump, one repeated by a backward jump the offset after it
/// (PostgreSQL's rule: `'2024-03-10 02:30'` in New York is 03:30 EDT).
pub fn from_local(tz: &TimeZone, local_us: i64) -> i64 {
    if !crate::datetime::is_finite_ts(local_us) {
        return local_us;
    }
    let civil = Offset::UTC.to_datetime(instant(local_us));
    let off = match tz.to_ambiguous_timestamp(civil).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset,
        AmbiguousOffset::Gap { before, .. } => before,
        AmbiguousOffset::Fold { after, .. } => after,
    };
    local_us - off.seconds() as i64 * 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        crate::datetime::parse_timestamp(s, crate::datetime::Kind::Timestamp).unwrap()
    }

    #[test]
    fn new_york_offsets_and_gaps() {
        let ny = lookup("america/new_york").unwrap();
        assert_eq!(offset_east(&ny, ts("2024-01-15 12:00")), -5 * 3600);
        assert_eq!(offset_east(&ny, ts("2024-07-15 12:00")), -4 * 3600);
        // 02:30 does not exist on 2024-03-10: the offset before the jump (EST) reads it.
        assert_eq!(from_local(&ny, ts("2024-03-10 02:30")), ts("2024-03-10 07:30"));
        // 01:30 happens twice on 2024-11-03: the offset after the jump (EST).
        assert_eq!(from_local(&ny, ts("2024-11-03 01:30")), ts("2024-11-03 06:30"));
        assert_eq!(to_local(&ny, ts("2024-07-15 16:00")), ts("2024-07-15 12:00"));
    }

    #[test]
    fn settings_as_postgresql_shows_them() {
        assert_eq!(setting("america/new_york").unwrap(), "America/New_York");
        assert_eq!(setting("UTC").unwrap(), "UTC");
        assert_eq!(setting("-8").unwrap(), "<-08>+08");
        assert_eq!(setting("5.5").unwrap(), "<+05:30>-05:30");
        assert_eq!(offset_east(&from_setting("<+05:30>-05:30").unwrap(), 0), 5 * 3600 + 1800);
        assert_eq!(setting("Mars/Olympus").unwrap_err().code, "22023");
        assert!(from_setting("UTC").is_none());
        assert_eq!(offset_east(&lookup("+05").unwrap(), 0), -5 * 3600);
    }
}
