//! Timestamp and date input as PostgreSQL 15's DecodeDateTime reads split fields
//! (`datetime.c`: DecodeDateTime, DecodeDate, DecodeNumber, DecodeNumberField, DecodeTime,
//! DecodeTimezone, ValidateDate) under DateStyle MDY: each field's meaning from its shape and
//! what came before it (`Jan-08-99`, `990108`, `1999.008`, `99 01 08`, `J2451545`, `T040506`),
//! time zone abbreviations before keywords, zone names and POSIX rules (`PST+8`) after a
//! complete date, every field at most once.

use super::fields::{self, FieldType};
use super::{date2j, days_in_month, j2date, USECS_PER_DAY, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC};
use crate::zone::abbrevs::{self, Abbrev};
use jiff::tz::TimeZone;

/// PostgreSQL's DTERR codes.
#[derive(Debug)]
pub enum Dterr {
    BadFormat,
    FieldOverflow,
    /// A month or day out of range: the hint names DateStyle.
    MdFieldOverflow,
    TzDispOverflow,
    /// A zone name the database lacks.
    BadTimezone(String),
}

type R<T> = std::result::Result<T, Dterr>;

// Field kinds as bits (PostgreSQL's DTK_M of its token types).
const fn m(bit: u32) -> u32 {
    1 << bit
}
const MONTH: u32 = m(1);
const YEAR: u32 = m(2);
const DAY: u32 = m(3);
const TZ: u32 = m(5);
const DTZ: u32 = m(6);
const DYNTZ: u32 = m(7);
const AMPM: u32 = m(9);
const HOUR: u32 = m(10);
const MINUTE: u32 = m(11);
const SECOND: u32 = m(12);
const MILLISECOND: u32 = m(13);
const MICROSECOND: u32 = m(14);
const DOY: u32 = m(15);
const DOW: u32 = m(16);
const ADBC: u32 = m(18);
const DTZMOD: u32 = m(28);
const DATE_M: u32 = YEAR | MONTH | DAY;
const TIME_M: u32 = HOUR | MINUTE | SECOND | MILLISECOND | MICROSECOND;

/// A broken-down date and time being read (PostgreSQL's pg_tm and fsec).
#[derive(Debug, Default, Clone)]
pub struct Tm {
    pub year: i64,
    pub mon: i64,
    pub mday: i64,
    pub hour: i64,
    pub min: i64,
    pub sec: i64,
    pub fsec: i64,
    yday: i64,
}

/// What a text said besides its fields.
pub enum Special {
    Epoch,
    Late,
    Early,
    Now,
}

/// The zone a text named.
pub enum Zone {
    /// Seconds east of UTC (a numeric offset or a fixed abbreviation, `dst` added).
    East(i64),
    /// A zone whose offset at the local time applies (a name, a POSIX rule, a dynamic
    /// abbreviation).
    Named(TimeZone),
    /// A dynamic abbreviation (`msk`) and its zone: the abbreviation's offset at the time.
    Abbrev(TimeZone, String),
}

pub struct Decoded {
    pub tm: Tm,
    pub special: Option<Special>,
    pub zone: Option<Zone>,
    /// `today`/`tomorrow`/`yesterday`: the session's current date plus this many days.
    pub relative_day: Option<i64>,
}

enum Token {
    Reserved(Reserved),
    Month(i64),
    Units(Unit),
    IsoTime,
    AmPm(bool),
    AdBc(bool),
    Dow,
    DstModifier,
    Ignore,
}

enum Reserved {
    Epoch,
    Late,
    Early,
    Now,
    Today,
    Tomorrow,
    Yesterday,
    Zulu,
}

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Julian,
    Time,
    Other,
}

/// PostgreSQL's datetktbl (DecodeSpecial), compared on the first 10 letters.
fn special(w: &str) -> Option<Token> {
    let w = if w.len() > 10 { &w[..10] } else { w };
    if let Some(m) = super::MONTHS.iter().position(|m| m.len() > 3 && *m == w) {
        return Some(Token::Month(m as i64 + 1));
    }
    Some(match w {
        "-infinity" => Token::Reserved(Reserved::Early),
        "infinity" => Token::Reserved(Reserved::Late),
        "epoch" => Token::Reserved(Reserved::Epoch),
        "now" => Token::Reserved(Reserved::Now),
        "today" => Token::Reserved(Reserved::Today),
        "tomorrow" => Token::Reserved(Reserved::Tomorrow),
        "yesterday" => Token::Reserved(Reserved::Yesterday),
        "allballs" => Token::Reserved(Reserved::Zulu),
        "ad" => Token::AdBc(false),
        "bc" => Token::AdBc(true),
        "am" => Token::AmPm(false),
        "pm" => Token::AmPm(true),
        "at" | "on" => Token::Ignore,
        "dst" => Token::DstModifier,
        "jan" => Token::Month(1),
        "feb" => Token::Month(2),
        "mar" => Token::Month(3),
        "apr" => Token::Month(4),
        "may" => Token::Month(5),
        "jun" => Token::Month(6),
        "jul" => Token::Month(7),
        "aug" => Token::Month(8),
        "sep" | "sept" => Token::Month(9),
        "oct" => Token::Month(10),
        "nov" => Token::Month(11),
        "dec" => Token::Month(12),
        "sun" | "sunday" | "mon" | "monday" | "tue" | "tues" | "tuesday" | "wed" | "wednesday" | "weds" | "thu"
        | "thur" | "thurs" | "thursday" | "fri" | "friday" | "sat" | "saturday" => Token::Dow,
        "j" | "jd" | "julian" => Token::Units(Unit::Julian),
        "t" => Token::IsoTime,
        "d" | "dow" | "doy" | "h" | "isodow" | "isoyear" | "m" | "mm" | "s" | "y" => Token::Units(Unit::Other),
        _ => return None,
    })
}

/// C's strtol: sign and digits; (value, rest); no digits is (0, whole text).
fn strtoint(s: &str) -> R<(i64, &str)> {
    let b = s.as_bytes();
    let mut i = usize::from(b.first().is_some_and(|c| *c == b'+' || *c == b'-'));
    let start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i == start {
        return Ok((0, s));
    }
    let v: i64 = s[..i].parse().map_err(|_| Dterr::FieldOverflow)?;
    if i32::try_from(v).is_err() {
        return Err(Dterr::FieldOverflow);
    }
    Ok((v, &s[i..]))
}

/// C's atoi on leading digits (no overflow check, as PostgreSQL's DecodeNumberField uses it).
fn atoi(s: &str) -> i64 {
    s.bytes().take_while(u8::is_ascii_digit).fold(0i64, |a, d| a.wrapping_mul(10).wrapping_add((d - b'0') as i64))
}

/// ParseFractionalSecond: `.ddd` to the end, as microseconds.
fn fractional_second(s: &str) -> R<i64> {
    if s == "." {
        return Ok(0);
    }
    if !s[1..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(Dterr::BadFormat);
    }
    let f: f64 = format!("0{s}").parse().map_err(|_| Dterr::BadFormat)?;
    Ok((f * 1e6).round_ties_even() as i64)
}

/// DecodeTime: `h:m[:s[.f]]` or `m:s.f`.
fn decode_time(s: &str, tm: &mut Tm) -> R<u32> {
    let (h, rest) = strtoint(s)?;
    let rest = rest.strip_prefix(':').ok_or(Dterr::BadFormat)?;
    let (mut min, rest) = strtoint(rest)?;
    let (mut hour, mut sec, mut fsec) = (h, 0, 0);
    if rest.is_empty() {
    } else if rest.starts_with('.') {
        fsec = fractional_second(rest)?;
        sec = min;
        min = hour;
        hour = 0;
    } else if let Some(r) = rest.strip_prefix(':') {
        let (s2, r) = strtoint(r)?;
        sec = s2;
        if r.starts_with('.') {
            fsec = fractional_second(r)?;
        } else if !r.is_empty() {
            return Err(Dterr::BadFormat);
        }
    } else {
        return Err(Dterr::BadFormat);
    }
    if hour < 0 || !(0..=59).contains(&min) || !(0..=60).contains(&sec) || !(0..=USECS_PER_SEC).contains(&fsec) {
        return Err(Dterr::FieldOverflow);
    }
    tm.hour = hour;
    tm.min = min;
    tm.sec = sec;
    tm.fsec = fsec;
    Ok(TIME_M)
}

fn time_overflows(tm: &Tm) -> bool {
    if !(0..=24).contains(&tm.hour)
        || !(0..=59).contains(&tm.min)
        || !(0..=60).contains(&tm.sec)
        || !(0..=USECS_PER_SEC).contains(&tm.fsec)
    {
        return true;
    }
    tm.hour * USECS_PER_HOUR + tm.min * USECS_PER_MINUTE + tm.sec * USECS_PER_SEC + tm.fsec > USECS_PER_DAY
}

/// DecodeTimezone: `+hh`, `-hhmm`, `+hh:mm[:ss]` as seconds east.
pub fn decode_timezone(s: &str) -> R<i64> {
    let sign = match s.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Err(Dterr::BadFormat),
    };
    fn tzdisp(r: R<(i64, &str)>) -> R<(i64, &str)> {
        r.map_err(|_| Dterr::TzDispOverflow)
    }
    let (mut hr, mut rest) = tzdisp(strtoint(&s[1..]))?;
    let (mut min, mut sec) = (0, 0);
    if let Some(r) = rest.strip_prefix(':') {
        let (mi, r) = tzdisp(strtoint(r))?;
        min = mi;
        rest = r;
        if let Some(r) = rest.strip_prefix(':') {
            let (se, r) = tzdisp(strtoint(r))?;
            sec = se;
            rest = r;
        }
    } else if rest.is_empty() && s.len() > 3 {
        min = hr % 100;
        hr /= 100;
    }
    if !(0..=15).contains(&hr) || !(0..60).contains(&min) || !(0..60).contains(&sec) {
        return Err(Dterr::TzDispOverflow);
    }
    if !rest.is_empty() {
        return Err(Dterr::BadFormat);
    }
    Ok(sign * ((hr * 60 + min) * 60 + sec))
}

struct State {
    tm: Tm,
    is2digits: bool,
    order: super::DateOrder,
}

/// DecodeNumberField: a run of digits as a date (`yyyymmdd`, `yymmdd`) or time (`hhmmss`,
/// `hhmm`), maybe with a fraction of a second.
fn decode_number_field(s: &str, fmask: u32, st: &mut State) -> R<u32> {
    let mut s = s;
    if let Some(dot) = s.find('.') {
        let frac = &s[dot..];
        st.tm.fsec = if frac == "." {
            0
        } else {
            let f: f64 = format!("0{}", frac).parse().map_err(|_| Dterr::BadFormat)?;
            (f * 1e6).round_ties_even() as i64
        };
        s = &s[..dot];
    } else if fmask & DATE_M != DATE_M && s.len() >= 6 {
        let len = s.len();
        st.tm.mday = atoi(&s[len - 2..]);
        st.tm.mon = atoi(&s[len - 4..len - 2]);
        st.tm.year = atoi(&s[..len - 4]);
        if len - 4 == 2 {
            st.is2digits = true;
        }
        return Ok(DATE_M);
    }
    if fmask & TIME_M != TIME_M {
        if s.len() == 6 {
            st.tm.sec = atoi(&s[4..]);
            st.tm.min = atoi(&s[2..4]);
            st.tm.hour = atoi(&s[..2]);
            return Ok(TIME_M);
        } else if s.len() == 4 {
            st.tm.sec = 0;
            st.tm.min = atoi(&s[2..]);
            st.tm.hour = atoi(&s[..2]);
            return Ok(TIME_M);
        }
    }
    Err(Dterr::BadFormat)
}

/// DecodeNumber: a number standing alone, read by what the date has so far (DateStyle MDY).
fn decode_number(s: &str, have_text_month: bool, fmask: u32, st: &mut State) -> R<u32> {
    let flen = s.len();
    let (val, rest) = strtoint(s)?;
    if rest.len() == s.len() {
        return Err(Dterr::BadFormat);
    }
    if rest.starts_with('.') {
        // More than two digits before the point: a date or run-together time.
        if flen - rest.len() > 2 {
            return decode_number_field(s, fmask | DATE_M, st);
        }
        st.tm.fsec = fractional_second(rest)?;
    } else if !rest.is_empty() {
        return Err(Dterr::BadFormat);
    }
    // A day of the year after a year.
    if flen == 3 && fmask & DATE_M == YEAR && (1..=366).contains(&val) {
        st.tm.yday = val;
        return Ok(DOY | MONTH | DAY);
    }
    let tmask = match fmask & DATE_M {
        0 => {
            if flen >= 3 || st.order == super::DateOrder::Ymd {
                st.tm.year = val;
                YEAR
            } else if st.order == super::DateOrder::Dmy {
                st.tm.mday = val;
                DAY
            } else {
                st.tm.mon = val;
                MONTH
            }
        }
        YEAR => {
            st.tm.mon = val;
            MONTH
        }
        MONTH => {
            if have_text_month && (flen >= 3 || st.order == super::DateOrder::Ymd) {
                st.tm.year = val;
                YEAR
            } else {
                st.tm.mday = val;
                DAY
            }
        }
        x if x == YEAR | MONTH => {
            if have_text_month && flen >= 3 && st.is2digits {
                st.tm.mday = st.tm.year;
                st.tm.year = val;
                st.is2digits = false;
            } else {
                st.tm.mday = val;
            }
            DAY
        }
        DAY => {
            st.tm.mon = val;
            MONTH
        }
        x if x == MONTH | DAY => {
            st.tm.year = val;
            YEAR
        }
        DATE_M => return decode_number_field(s, fmask, st),
        _ => return Err(Dterr::BadFormat),
    };
    if tmask == YEAR {
        st.is2digits = flen <= 2;
    }
    Ok(tmask)
}

/// DecodeDate: a field with delimiters (`1999-01-08`, `jan-08-99`, `1999.008`).
fn decode_date(s: &str, fmask: u32, st: &mut State) -> R<u32> {
    let mut parts: Vec<&str> = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && parts.len() < fields::MAX_FIELDS {
        while i < b.len() && !b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i >= b.len() {
            return Err(Dterr::BadFormat);
        }
        let start = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        } else if b[i].is_ascii_alphabetic() {
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
        }
        parts.push(&s[start..i]);
        if i < b.len() {
            i += 1;
        }
    }
    let mut fmask = fmask;
    let mut tmask = 0;
    let mut have_text_month = false;
    let mut done = vec![false; parts.len()];
    for (k, p) in parts.iter().enumerate() {
        if p.bytes().next().is_some_and(|c| c.is_ascii_alphabetic()) {
            match special(p) {
                Some(Token::Ignore) => {
                    done[k] = true;
                    continue;
                }
                Some(Token::Month(mo)) => {
                    st.tm.mon = mo;
                    have_text_month = true;
                }
                _ => return Err(Dterr::BadFormat),
            }
            if fmask & MONTH != 0 {
                return Err(Dterr::BadFormat);
            }
            fmask |= MONTH;
            tmask |= MONTH;
            done[k] = true;
        }
    }
    for (k, p) in parts.iter().enumerate() {
        if done[k] {
            continue;
        }
        if p.is_empty() {
            return Err(Dterr::BadFormat);
        }
        let dmask = decode_number(p, have_text_month, fmask, st)?;
        if fmask & dmask != 0 {
            return Err(Dterr::BadFormat);
        }
        fmask |= dmask;
        tmask |= dmask;
    }
    if fmask & !(DOY | TZ) != DATE_M {
        return Err(Dterr::BadFormat);
    }
    Ok(tmask)
}

/// ValidateDate: two-digit years, BC, day of year, month and day ranges.
fn validate_date(fmask: u32, isjulian: bool, is2digits: bool, bc: bool, tm: &mut Tm) -> R<()> {
    if fmask & YEAR != 0 {
        if isjulian {
        } else if bc {
            if tm.year <= 0 {
                return Err(Dterr::FieldOverflow);
            }
            tm.year = -(tm.year - 1);
        } else if is2digits {
            if tm.year < 0 {
                return Err(Dterr::FieldOverflow);
            }
            if tm.year < 70 {
                tm.year += 2000;
            } else if tm.year < 100 {
                tm.year += 1900;
            }
        } else if tm.year <= 0 {
            return Err(Dterr::FieldOverflow);
        }
    }
    if fmask & DOY != 0 {
        let (y, mo, d) = j2date(date2j(tm.year, 1, 1) + tm.yday - 1);
        tm.year = y;
        tm.mon = mo;
        tm.mday = d;
    }
    if fmask & MONTH != 0 && !(1..=12).contains(&tm.mon) {
        return Err(Dterr::MdFieldOverflow);
    }
    if fmask & DAY != 0 && !(1..=31).contains(&tm.mday) {
        return Err(Dterr::MdFieldOverflow);
    }
    if fmask & DATE_M == DATE_M && tm.mday > days_in_month(tm.year, tm.mon) {
        return Err(Dterr::FieldOverflow);
    }
    Ok(())
}

/// A zone name in the text (`america/new_york`, `gmt+8`, `utc`): the database's zone or a
/// POSIX rule, looked up ignoring case.
fn named_zone(name: &str) -> Option<TimeZone> {
    crate::zone::by_name(name).or_else(|| {
        crate::zone::lookup_zone(name).ok().filter(|_| name.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()))
    })
}

/// DecodeDateTime over the text's fields.
pub fn decode_date_time(s: &str, order: super::DateOrder) -> R<Decoded> {
    let fields = fields::split(s, fields::DATE_BUF_BYTES).ok_or(Dterr::BadFormat)?;
    let mut st = State { tm: Tm::default(), is2digits: false, order };
    let mut fmask = 0u32;
    let mut ptype: Option<Unit> = None;
    let mut have_text_month = false;
    let mut isjulian = false;
    let mut bc = false;
    let mut pm: Option<bool> = None;
    let mut special_v: Option<Special> = None;
    let mut relative_day = None;
    let mut zone_east: Option<i64> = None;
    let mut named: Option<TimeZone> = None;
    let mut abbrev: Option<(TimeZone, String)> = None;
    for (f, ty) in &fields {
        let f = f.as_str();
        let mut tmask: u32;
        match ty {
            FieldType::Date => {
                if ptype == Some(Unit::Julian) {
                    let (jday, rest) = strtoint(f)?;
                    if jday < 0 {
                        return Err(Dterr::FieldOverflow);
                    }
                    let (y, mo, d) = j2date(jday);
                    (st.tm.year, st.tm.mon, st.tm.mday) = (y, mo, d);
                    isjulian = true;
                    zone_east = Some(decode_timezone(rest)?);
                    tmask = DATE_M | TIME_M | TZ;
                    ptype = None;
                } else if ptype.is_some() || fmask & (MONTH | DAY) == MONTH | DAY {
                    if f.as_bytes()[0].is_ascii_digit() || ptype.is_some() {
                        if ptype.is_some() {
                            if ptype != Some(Unit::Time) {
                                return Err(Dterr::BadFormat);
                            }
                            ptype = None;
                        }
                        if fmask & TIME_M == TIME_M {
                            return Err(Dterr::BadFormat);
                        }
                        let dash = f.find('-').ok_or(Dterr::BadFormat)?;
                        zone_east = Some(decode_timezone(&f[dash..])?);
                        tmask = decode_number_field(&f[..dash], fmask, &mut st)? | TZ;
                    } else {
                        named = Some(named_zone(f).ok_or_else(|| Dterr::BadTimezone(f.to_string()))?);
                        tmask = TZ;
                    }
                } else {
                    tmask = decode_date(f, fmask, &mut st)?;
                }
            }
            FieldType::Time => {
                if ptype.is_some() {
                    if ptype != Some(Unit::Time) {
                        return Err(Dterr::BadFormat);
                    }
                    ptype = None;
                }
                tmask = decode_time(f, &mut st.tm)?;
                if time_overflows(&st.tm) {
                    return Err(Dterr::FieldOverflow);
                }
            }
            FieldType::Tz => {
                zone_east = Some(decode_timezone(f)?);
                tmask = TZ;
            }
            FieldType::Number => {
                if let Some(pt) = ptype {
                    let (value, rest) = strtoint(f)?;
                    if !rest.is_empty() && !rest.starts_with('.') {
                        return Err(Dterr::BadFormat);
                    }
                    match pt {
                        Unit::Julian => {
                            if value < 0 {
                                return Err(Dterr::FieldOverflow);
                            }
                            tmask = DATE_M;
                            let (y, mo, d) = j2date(value);
                            (st.tm.year, st.tm.mon, st.tm.mday) = (y, mo, d);
                            isjulian = true;
                            if rest.starts_with('.') {
                                let frac: f64 = if rest == "." {
                                    0.0
                                } else {
                                    format!("0{rest}").parse().map_err(|_| Dterr::BadFormat)?
                                };
                                let t = (frac * USECS_PER_DAY as f64) as i64;
                                st.tm.hour = t / USECS_PER_HOUR;
                                st.tm.min = t % USECS_PER_HOUR / USECS_PER_MINUTE;
                                st.tm.sec = t % USECS_PER_MINUTE / USECS_PER_SEC;
                                st.tm.fsec = t % USECS_PER_SEC;
                                tmask |= TIME_M;
                            }
                        }
                        Unit::Time => {
                            tmask = decode_number_field(f, fmask | DATE_M, &mut st)?;
                            if tmask != TIME_M {
                                return Err(Dterr::BadFormat);
                            }
                        }
                        Unit::Other => return Err(Dterr::BadFormat),
                    }
                    ptype = None;
                } else {
                    let flen = f.len();
                    let dot = f.find('.');
                    tmask = match dot {
                        Some(_) if fmask & DATE_M == 0 => decode_date(f, fmask, &mut st)?,
                        Some(d) if d > 2 => decode_number_field(f, fmask, &mut st)?,
                        _ if flen >= 6 && (fmask & DATE_M == 0 || fmask & TIME_M == 0) => {
                            decode_number_field(f, fmask, &mut st)?
                        }
                        _ => decode_number(f, have_text_month, fmask, &mut st)?,
                    };
                }
            }
            FieldType::Str | FieldType::Special => {
                // Zone abbreviations come before the keywords.
                if let Some(a) = abbrevs::lookup(if f.len() > 10 { &f[..10] } else { f }) {
                    match a {
                        Abbrev::Fixed(east, dst) => {
                            zone_east = Some(east as i64);
                            tmask = if dst { DTZ | TZ } else { TZ };
                        }
                        Abbrev::Dynamic(zone) => {
                            let tz = TimeZone::get(zone).map_err(|_| Dterr::BadTimezone(f.to_string()))?;
                            abbrev = Some((tz, f.to_string()));
                            tmask = DYNTZ | TZ;
                        }
                    }
                } else {
                    match special(f) {
                        Some(Token::Ignore) => continue,
                        Some(Token::Reserved(r)) => {
                            tmask = DATE_M | TIME_M | TZ;
                            match r {
                                Reserved::Now => special_v = Some(Special::Now),
                                Reserved::Epoch => special_v = Some(Special::Epoch),
                                Reserved::Late => special_v = Some(Special::Late),
                                Reserved::Early => special_v = Some(Special::Early),
                                Reserved::Today | Reserved::Tomorrow | Reserved::Yesterday => {
                                    tmask = DATE_M;
                                    relative_day = Some(match r {
                                        Reserved::Tomorrow => 1,
                                        Reserved::Yesterday => -1,
                                        _ => 0,
                                    });
                                }
                                Reserved::Zulu => {
                                    tmask = TIME_M | TZ;
                                    st.tm.hour = 0;
                                    st.tm.min = 0;
                                    st.tm.sec = 0;
                                    zone_east = Some(0);
                                }
                            }
                        }
                        Some(Token::Month(mo)) => {
                            tmask = MONTH;
                            if fmask & MONTH != 0
                                && !have_text_month
                                && fmask & DAY == 0
                                && (1..=31).contains(&st.tm.mon)
                            {
                                st.tm.mday = st.tm.mon;
                                tmask = DAY;
                            }
                            have_text_month = true;
                            st.tm.mon = mo;
                        }
                        Some(Token::DstModifier) => {
                            tmask = DTZMOD | DTZ;
                            zone_east = Some(zone_east.unwrap_or(0) + 3600);
                        }
                        Some(Token::AmPm(p)) => {
                            tmask = AMPM;
                            pm = Some(p);
                        }
                        Some(Token::AdBc(b)) => {
                            tmask = ADBC;
                            bc = b;
                        }
                        Some(Token::Dow) => tmask = DOW,
                        Some(Token::Units(u)) => {
                            tmask = 0;
                            if ptype.is_some() {
                                return Err(Dterr::BadFormat);
                            }
                            ptype = Some(u);
                        }
                        Some(Token::IsoTime) => {
                            tmask = 0;
                            if fmask & DATE_M != DATE_M || ptype.is_some() {
                                return Err(Dterr::BadFormat);
                            }
                            ptype = Some(Unit::Time);
                        }
                        None => {
                            // An all-letters zone name (`utc`, `portugal`).
                            named = Some(named_zone(f).ok_or(Dterr::BadFormat)?);
                            tmask = TZ;
                        }
                    }
                }
            }
        }
        if tmask & fmask != 0 {
            return Err(Dterr::BadFormat);
        }
        fmask |= tmask;
    }
    if ptype.is_some() {
        return Err(Dterr::BadFormat);
    }
    let mut tm = st.tm;
    if special_v.is_none() || matches!(special_v, Some(Special::Now)) {
        if special_v.is_none() {
            if relative_day.is_none() {
                validate_date(fmask, isjulian, st.is2digits, bc, &mut tm)?;
            }
            if let Some(p) = pm {
                if tm.hour > 12 {
                    return Err(Dterr::FieldOverflow);
                }
                if !p && tm.hour == 12 {
                    tm.hour = 0;
                } else if p && tm.hour != 12 {
                    tm.hour += 12;
                }
            }
            if fmask & DATE_M != DATE_M {
                return Err(Dterr::BadFormat);
            }
        }
        if (named.is_some() || abbrev.is_some() || fmask & TZ == 0) && fmask & DTZMOD != 0 {
            return Err(Dterr::BadFormat);
        }
    }
    let zone = match (named, abbrev, zone_east) {
        (Some(tz), _, _) => Some(Zone::Named(tz)),
        (None, Some((tz, a)), _) => Some(Zone::Abbrev(tz, a)),
        (None, None, Some(e)) => Some(Zone::East(e)),
        (None, None, None) => None,
    };
    Ok(Decoded { tm, special: special_v, zone, relative_day })
}

/// What DecodeTimeOnly read: the time of day (None: `now`, the caller's clock), the date when
/// the text gave one whole, and the zone it named (a `time` ignores it, a `timetz` keeps it).
pub struct TimeOnly {
    pub time: Option<i64>,
    pub date: Option<(i64, i64, i64)>,
    pub zone: Option<Zone>,
}

/// DecodeTimeOnly: a time's text, maybe with a date first (`2003-03-07 15:36:39`) and a zone.
pub fn decode_time_only(s: &str) -> R<TimeOnly> {
    let fields = fields::split(s, fields::DATE_BUF_BYTES).ok_or(Dterr::BadFormat)?;
    let nf = fields.len();
    let mut st = State { tm: Tm::default(), is2digits: false, order: super::DateOrder::Mdy };
    let mut fmask = 0u32;
    let mut ptype: Option<Unit> = None;
    let mut bc = false;
    let mut pm: Option<bool> = None;
    let mut now = false;
    let mut named: Option<TimeZone> = None;
    let mut abbrev = false;
    let mut dynamic: Option<(TimeZone, String)> = None;
    let mut zone_east: Option<i64> = None;
    for (i, (f, ty)) in fields.iter().enumerate() {
        let f = f.as_str();
        let tmask: u32;
        match ty {
            FieldType::Date => {
                if i == 0 && nf >= 2 && (fields[nf - 1].1 == FieldType::Date || fields[1].1 == FieldType::Time) {
                    tmask = decode_date(f, fmask, &mut st)?;
                } else if f.as_bytes()[0].is_ascii_digit() {
                    let dash = f.find('-').ok_or(Dterr::BadFormat)?;
                    zone_east = Some(decode_timezone(&f[dash..])?);
                    tmask = decode_number_field(&f[..dash], fmask | DATE_M, &mut st)? | TZ;
                } else {
                    named = Some(named_zone(f).ok_or_else(|| Dterr::BadTimezone(f.to_string()))?);
                    tmask = TZ;
                }
            }
            FieldType::Time => {
                if ptype.is_some() {
                    if ptype != Some(Unit::Time) {
                        return Err(Dterr::BadFormat);
                    }
                    ptype = None;
                }
                tmask = decode_time(f, &mut st.tm)?;
            }
            FieldType::Tz => {
                zone_east = Some(decode_timezone(f)?);
                tmask = TZ;
            }
            FieldType::Number => {
                if let Some(pt) = ptype {
                    let (_, rest) = strtoint(f)?;
                    if !rest.is_empty() && !rest.starts_with('.') {
                        return Err(Dterr::BadFormat);
                    }
                    if pt != Unit::Time {
                        return Err(Dterr::BadFormat);
                    }
                    tmask = decode_number_field(f, fmask | DATE_M, &mut st)?;
                    if tmask != TIME_M {
                        return Err(Dterr::BadFormat);
                    }
                    ptype = None;
                } else {
                    let flen = f.len();
                    tmask = match f.find('.') {
                        Some(_) if i == 0 && nf >= 2 && fields[nf - 1].1 == FieldType::Date => {
                            decode_date(f, fmask, &mut st)?
                        }
                        Some(d) if d > 2 => decode_number_field(f, fmask | DATE_M, &mut st)?,
                        Some(_) => return Err(Dterr::BadFormat),
                        None if flen > 4 => decode_number_field(f, fmask | DATE_M, &mut st)?,
                        None => decode_number(f, false, fmask | DATE_M, &mut st)?,
                    };
                }
            }
            FieldType::Str | FieldType::Special => {
                if let Some(a) = abbrevs::lookup(if f.len() > 10 { &f[..10] } else { f }) {
                    tmask = match a {
                        Abbrev::Fixed(east, dst) => {
                            zone_east = Some(east as i64);
                            if dst {
                                DTZ | TZ
                            } else {
                                TZ
                            }
                        }
                        Abbrev::Dynamic(zone) => {
                            abbrev = true;
                            let tz = TimeZone::get(zone).map_err(|_| Dterr::BadTimezone(f.to_string()))?;
                            dynamic = Some((tz, f.to_string()));
                            DYNTZ | TZ
                        }
                    };
                } else {
                    match special(f) {
                        Some(Token::Ignore) => continue,
                        Some(Token::Reserved(Reserved::Now)) => {
                            tmask = TIME_M;
                            now = true;
                        }
                        Some(Token::Reserved(Reserved::Zulu)) => {
                            tmask = TIME_M | TZ;
                            (st.tm.hour, st.tm.min, st.tm.sec) = (0, 0, 0);
                            zone_east = Some(0);
                        }
                        Some(Token::DstModifier) => {
                            tmask = DTZMOD | DTZ;
                            zone_east = Some(zone_east.unwrap_or(0) + 3600);
                        }
                        Some(Token::AmPm(p)) => {
                            tmask = AMPM;
                            pm = Some(p);
                        }
                        Some(Token::AdBc(b)) => {
                            tmask = ADBC;
                            bc = b;
                        }
                        Some(Token::Units(u)) => {
                            if ptype.is_some() {
                                return Err(Dterr::BadFormat);
                            }
                            tmask = 0;
                            ptype = Some(u);
                        }
                        Some(Token::IsoTime) => {
                            if ptype.is_some() {
                                return Err(Dterr::BadFormat);
                            }
                            tmask = 0;
                            ptype = Some(Unit::Time);
                        }
                        None => {
                            named = Some(named_zone(f).ok_or(Dterr::BadFormat)?);
                            tmask = TZ;
                        }
                        _ => return Err(Dterr::BadFormat),
                    }
                }
            }
        }
        if tmask & fmask != 0 {
            return Err(Dterr::BadFormat);
        }
        fmask |= tmask;
    }
    if ptype.is_some() {
        return Err(Dterr::BadFormat);
    }
    let mut tm = st.tm;
    validate_date(fmask, false, st.is2digits, bc, &mut tm)?;
    if let Some(p) = pm {
        if tm.hour > 12 {
            return Err(Dterr::FieldOverflow);
        }
        if !p && tm.hour == 12 {
            tm.hour = 0;
        } else if p && tm.hour != 12 {
            tm.hour += 12;
        }
    }
    if !now && time_overflows(&tm) {
        return Err(Dterr::FieldOverflow);
    }
    if fmask & TIME_M != TIME_M {
        return Err(Dterr::BadFormat);
    }
    if (named.is_some() || abbrev || fmask & TZ == 0) && fmask & DTZMOD != 0 {
        return Err(Dterr::BadFormat);
    }
    // A zone with daylight-saving time needs the date to know its offset.
    if let Some(tz) = &named {
        let fixed = tz.to_fixed_offset().is_ok();
        if !fixed && fmask & DATE_M != DATE_M {
            return Err(Dterr::BadFormat);
        }
    }
    if abbrev && fmask & DATE_M != 0 && fmask & DATE_M != DATE_M {
        return Err(Dterr::BadFormat);
    }
    let time = (!now).then(|| tm.hour * USECS_PER_HOUR + tm.min * USECS_PER_MINUTE + tm.sec * USECS_PER_SEC + tm.fsec);
    let date = (fmask & DATE_M == DATE_M).then_some((tm.year, tm.mon, tm.mday));
    let zone = match (named, dynamic, zone_east) {
        (Some(tz), _, _) => Some(Zone::Named(tz)),
        (None, Some((tz, a)), _) => Some(Zone::Abbrev(tz, a)),
        (None, None, Some(e)) => Some(Zone::East(e)),
        (None, None, None) => None,
    };
    Ok(TimeOnly { time, date, zone })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_date_time_mdy(s: &str) -> R<Decoded> {
        decode_date_time(s, super::super::DateOrder::Mdy)
    }

    fn ymd(s: &str) -> (i64, i64, i64) {
        let d = decode_date_time_mdy(s).unwrap_or_else(|e| panic!("{s}: {e:?}"));
        (d.tm.year, d.tm.mon, d.tm.mday)
    }

    #[test]
    fn dates_as_mdy_reads_them() {
        assert_eq!(ymd("Jan-08-99"), (1999, 1, 8));
        assert_eq!(ymd("990108"), (1999, 1, 8));
        assert_eq!(ymd("1999.008"), (1999, 1, 8));
        assert_eq!(ymd("01 08 99"), (1999, 1, 8));
        assert_eq!(ymd("1999 01 08"), (1999, 1, 8));
        assert_eq!(ymd("08-Jan-1999"), (1999, 1, 8));
        assert_eq!(ymd("J2451187"), (1999, 1, 8));
        assert!(matches!(decode_date_time_mdy("99 01 08"), Err(Dterr::MdFieldOverflow)));
        assert!(matches!(decode_date_time_mdy("1999-08-Jan"), Err(Dterr::BadFormat)));
    }

    #[test]
    fn zones_and_times() {
        let d = decode_date_time_mdy("Mon Feb 10 17:32:01 1997 PST").unwrap();
        assert!(matches!(d.zone, Some(Zone::East(-28800))));
        assert_eq!((d.tm.hour, d.tm.min, d.tm.sec), (17, 32, 1));
        let d = decode_date_time_mdy("19970210 173201 -0800").unwrap();
        assert!(matches!(d.zone, Some(Zone::East(-28800))));
        assert_eq!(decode_date_time_mdy("Feb 10 5:32PM 1997").unwrap().tm.hour, 17);
        assert!(matches!(decode_timezone("-0097"), Err(Dterr::TzDispOverflow)));
    }
}
