//! `to_char(timestamp | timestamptz | date | interval, format)`: PostgreSQL's date/time
//! template patterns (<https://www.postgresql.org/docs/15/functions-formatting.html>, table 9.26)
//! with the FM and TH/th modifiers, quoted literal text and `\"`. Names are English (TM is
//! accepted and changes nothing, as under the C locale). Time zone patterns show the zone the
//! value was read in (the session's; empty for a timestamp without time zone, as PostgreSQL does).

use crate::datetime::{self as dt, Fields, USECS_PER_HOUR, USECS_PER_MINUTE, USECS_PER_SEC};
use crate::error::{Result, SqlError};
use orbit_engine::table::Interval;

/// What is being formatted: a point in time (with whether it has a time zone) or an interval.
pub enum Value {
    Timestamp { f: Fields, tz: Option<Shown> },
    Interval(Interval),
}

/// The zone a timestamptz is shown in: its offset east of UTC then, and its abbreviation.
#[derive(Debug, Clone)]
pub struct Shown {
    pub east_s: i64,
    pub abbrev: String,
}

impl Shown {
    pub fn utc() -> Shown {
        Shown { east_s: 0, abbrev: "UTC".into() }
    }
}

/// The patterns, in the order they are tried at each position (longer first, as in
/// PostgreSQL's DCH_keywords), matched without regard to case.
const PATTERNS: &[&str] = &[
    "a.d.", "a.m.", "ad", "am", "b.c.", "bc", "cc", "day", "ddd", "dd", "dy", "d", "ff1", "ff2", "ff3", "ff4", "ff5",
    "ff6", "fx", "hh24", "hh12", "hh", "iddd", "id", "iw", "iyyy", "iyy", "iy", "i", "j", "mi", "mm", "month", "mon",
    "ms", "of", "p.m.", "pm", "q", "rm", "sssss", "ssss", "ss", "tzh", "tzm", "tz", "us", "ww", "w", "y,yyy", "yyyy",
    "yyy", "yy", "y",
];

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const ROMAN: [&str; 12] = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"];

/// How a name is written: as the pattern's letters are (`MONTH`, `Month`, `month`).
fn cased(name: &str, pat: &str) -> String {
    let mut letters = pat.chars().filter(|c| c.is_ascii_alphabetic());
    match (letters.next(), letters.next()) {
        (Some(a), Some(b)) if a.is_ascii_uppercase() && b.is_ascii_uppercase() => name.to_uppercase(),
        (Some(a), _) if a.is_ascii_uppercase() => name.to_string(),
        _ => name.to_lowercase(),
    }
}

/// English ordinal suffix of `n` (`TH`: upper case).
fn ordinal(n: i64, upper: bool) -> &'static str {
    let s = match (n % 100, n % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    };
    match (upper, s) {
        (false, s) => s,
        (true, "st") => "ST",
        (true, "nd") => "ND",
        (true, "rd") => "RD",
        (true, _) => "TH",
    }
}

pub fn to_char(v: &Value, format: &str) -> Result<String> {
    let mut out = String::with_capacity(format.len() + 16);
    let b = format.as_bytes();
    let mut i = 0;
    let mut fill = false;
    while i < b.len() {
        // Literal text in double quotes; \" is a quote.
        if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                let ch = format[i..].chars().next().unwrap_or('"');
                out.push(ch);
                i += ch.len_utf8();
            }
            i += 1;
            continue;
        }
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'"') {
            out.push('"');
            i += 2;
            continue;
        }
        let rest = &format[i..];
        let lower_rest = rest.get(..rest.len().min(5)).unwrap_or(rest).to_ascii_lowercase();
        if lower_rest.starts_with("fm") {
            fill = true;
            i += 2;
            continue;
        }
        if lower_rest.starts_with("tm") {
            i += 2;
            continue;
        }
        let Some(pat) = PATTERNS.iter().find(|p| lower_rest.starts_with(**p)) else {
            let ch = rest.chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        };
        let written = &rest[..pat.len()];
        i += pat.len();
        // A TH/th suffix after a number asks for its ordinal ending.
        let th = match format.get(i..i + 2) {
            Some("TH") => Some(true),
            Some("th") => Some(false),
            _ => None,
        };
        let (text, number) = field(v, pat, written, fill)?;
        out.push_str(&text);
        if let (Some(upper), Some(n)) = (th, number) {
            out.push_str(ordinal(n, upper));
            i += 2;
        }
        fill = false;
    }
    Ok(out)
}

/// One pattern's text, and its number (for TH) when it is a number.
fn field(v: &Value, pat: &str, written: &str, fill: bool) -> Result<(String, Option<i64>)> {
    let num = |n: i64, width: usize| -> (String, Option<i64>) {
        let s = if fill { n.to_string() } else { format!("{n:0width$}") };
        (s, Some(n))
    };
    // Interval fields can be negative: these keep their digits and add the sign's width.
    let signed = |n: i64, width: usize| num(n, if n < 0 { width + 1 } else { width });
    let pad = |s: String, width: usize| if fill { s } else { format!("{s:width$}") };
    let (f, tz, iv) = match v {
        Value::Timestamp { f, tz } => (*f, tz.clone(), None),
        Value::Interval(iv) => {
            let f = Fields {
                year: (iv.months / 12) as i64,
                month: (iv.months % 12) as i64,
                day: iv.days as i64,
                time_us: iv.micros,
            };
            (f, None, Some(iv))
        }
    };
    let t = f.time_us;
    let hour = t / USECS_PER_HOUR;
    let sec_us = t % USECS_PER_MINUTE;
    // Years as written: BC years count up from 1 BC, with the era shown separately.
    let year = if iv.is_none() && f.year <= 0 { 1 - f.year } else { f.year };
    let jd = if iv.is_none() { dt::date2j(f.year, f.month, f.day) } else { 0 };
    let bc = iv.is_none() && f.year <= 0;
    let date_only = |_pattern: &str| -> Result<()> {
        if iv.is_some() {
            return Err(SqlError::new(
                dt::INVALID_DATETIME_FORMAT,
                "invalid format specification for an interval value",
            )
            .hint("Intervals are not tied to specific calendar dates."));
        }
        Ok(())
    };
    Ok(match pat {
        "hh24" => signed(hour, 2),
        "hh" | "hh12" => {
            let h = hour % 12;
            signed(if h == 0 { 12 } else { h }, 2)
        }
        "mi" => signed(t / USECS_PER_MINUTE % 60, 2),
        "ss" => signed(sec_us / USECS_PER_SEC, 2),
        "ms" => signed(sec_us % USECS_PER_SEC / 1000, 3),
        "us" => signed(sec_us % USECS_PER_SEC, 6),
        "ff1" | "ff2" | "ff3" | "ff4" | "ff5" | "ff6" => {
            let digits = (pat.as_bytes()[2] - b'0') as u32;
            num(sec_us % USECS_PER_SEC / 10i64.pow(6 - digits), digits as usize)
        }
        "ssss" | "sssss" => num(t / USECS_PER_SEC, 1),
        "am" | "pm" | "a.m." | "p.m." => {
            let dotted = pat.contains('.');
            let s = match (hour % 24 >= 12, dotted) {
                (false, false) => "am",
                (true, false) => "pm",
                (false, true) => "a.m.",
                (true, true) => "p.m.",
            };
            (cased(s, written), None)
        }
        "ad" | "bc" | "a.d." | "b.c." => {
            let dotted = pat.contains('.');
            let s = match (bc, dotted) {
                (false, false) => "ad",
                (true, false) => "bc",
                (false, true) => "a.d.",
                (true, true) => "b.c.",
            };
            (cased(s, written), None)
        }
        "y,yyy" => {
            let y = year.abs();
            (format!("{},{:03}", y / 1000, y % 1000), Some(y))
        }
        "yyyy" => signed(year, 4),
        "yyy" => num(year % 1000, 3),
        "yy" => num(year % 100, 2),
        "y" => num(year % 10, 1),
        "iyyy" | "iyy" | "iy" | "i" | "iw" | "iddd" | "id" => {
            date_only(pat)?;
            let (week, iso_year) = dt::iso_week(f.year, f.month, f.day);
            // ADJUST_YEAR: a BC ISO year counts up from 1 BC too.
            let iso_year = if iso_year <= 0 { 1 - iso_year } else { iso_year };
            let dow = (jd + 1).rem_euclid(7);
            let isodow = if dow == 0 { 7 } else { dow };
            match pat {
                "iyyy" => num(iso_year, 4),
                "iyy" => num(iso_year % 1000, 3),
                "iy" => num(iso_year % 100, 2),
                "i" => num(iso_year % 10, 1),
                "iw" => num(week, 2),
                "id" => num(isodow, 1),
                _ => num((week - 1) * 7 + isodow, 3),
            }
        }
        "month" | "mon" | "rm" if iv.is_none() || f.month > 0 => {
            let m = (f.month.clamp(1, 12) - 1) as usize;
            match pat {
                "month" => (pad(cased(MONTHS[m], written), 9), None),
                "mon" => (cased(&MONTHS[m][..3], written), None),
                _ => (pad(cased(ROMAN[m], written), 4), None),
            }
        }
        // An interval's month in Roman numerals (DCH_RM): a negative month counts back from
        // December, whole years are December (or January when negative).
        "rm" if f.month != 0 || f.year != 0 => {
            let m = match f.month {
                0 if f.year >= 0 => 12,
                0 => 1,
                m if m < 0 => 13 + m,
                m => m,
            };
            (pad(cased(ROMAN[(m - 1) as usize], written), 4), None)
        }
        "month" | "mon" | "rm" => (String::new(), None),
        "mm" => signed(f.month, 2),
        "day" | "dy" | "d" => {
            date_only(pat)?;
            let dow = (jd + 1).rem_euclid(7) as usize;
            match pat {
                "day" => (pad(cased(DAYS[dow], written), 9), None),
                "dy" => (cased(&DAYS[dow][..3], written), None),
                _ => num(dow as i64 + 1, 1),
            }
        }
        "ddd" => {
            date_only(pat)?;
            num(jd - dt::date2j(f.year, 1, 1) + 1, 3)
        }
        "dd" => num(f.day, 2),
        "ww" => {
            date_only(pat)?;
            num((jd - dt::date2j(f.year, 1, 1)) / 7 + 1, 2)
        }
        "w" => {
            date_only(pat)?;
            num((f.day - 1) / 7 + 1, 1)
        }
        "q" => num((f.month - 1).max(0) / 3 + 1, 1),
        "cc" => {
            // PostgreSQL's DCH_CC over the astronomical year: century 20 is 1901-2000, 6 BC
            // is 600-501 BC; an interval's is its years / 100. Three places when negative.
            let cc = match (iv.is_some(), f.year > 0) {
                (true, _) => f.year / 100,
                (false, true) => (f.year - 1) / 100 + 1,
                (false, false) => f.year / 100 - 1,
            };
            num(cc, if cc < 0 { 3 } else { 2 })
        }
        "j" => {
            date_only(pat)?;
            num(jd, 1)
        }
        "tz" => (tz.as_ref().map_or_else(String::new, |z| cased(&z.abbrev.to_ascii_lowercase(), written)), None),
        "of" => {
            let mut s = String::new();
            if let Some(z) = &tz {
                dt::push_offset(&mut s, z.east_s - z.east_s % 60);
            }
            (s, None)
        }
        "tzh" => (
            tz.as_ref().map_or_else(String::new, |z| {
                format!("{}{:02}", if z.east_s < 0 { '-' } else { '+' }, z.east_s.abs() / 3600)
            }),
            None,
        ),
        "tzm" => (tz.as_ref().map_or_else(String::new, |z| format!("{:02}", z.east_s.abs() / 60 % 60)), None),
        // FX (exact-format input) changes nothing in output.
        _ => (String::new(), None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Value {
        let t = dt::parse_timestamp(s, dt::Kind::Timestamp).unwrap();
        Value::Timestamp { f: dt::ts_fields(t), tz: None }
    }

    #[test]
    fn patterns_as_postgresql() {
        // From PostgreSQL 15.
        let cases = [
            ("2024-01-02 03:04:05.123456", "YYYY-MM-DD HH24:MI:SS.US", "2024-01-02 03:04:05.123456"),
            ("2024-01-02 15:04:05.5", "HH12:MI AM Dy DD Mon YYYY", "03:04 PM Tue 02 Jan 2024"),
            (
                "2024-01-02 00:04:05",
                "FMHH12 am Day| Month| FMDay| FMMonth|",
                "12 am Tuesday  | January  | Tuesday| January|",
            ),
            (
                "2024-03-03",
                "DDDth DDth FMDDth Q WW IW W D ID J CC Y,YYY YYY YY Y",
                "063rd 03rd 3rd 1 09 09 1 1 7 2460373 21 2,024 024 24 4",
            ),
            (
                "2024-01-02 03:04:05",
                "SSSS MS FF3 RM rm \"quoted text\" \\\\ end",
                "11045 000 000 I    i    quoted text \\\\ en3",
            ),
            ("0044-03-15 BC", "YYYY AD BC b.c.", "0044 BC BC b.c."),
            ("2024-12-30", "IYYY-IW-ID", "2025-01-1"),
        ];
        for (input, fmt, want) in cases {
            assert_eq!(to_char(&ts(input), fmt).unwrap(), want, "{input} {fmt}");
        }
        let iv = dt::parse_interval("1 year 2 mons 3 days 25:04:05.5").unwrap();
        assert_eq!(to_char(&Value::Interval(iv), "YYYY MM DD HH24 HH MI SS MS").unwrap(), "0001 02 03 25 01 04 05 500");
        let neg = dt::parse_interval("-1 year -2 mons -3 days -04:05:06").unwrap();
        assert_eq!(to_char(&Value::Interval(neg), "YYYY MM DD HH24 MI SS").unwrap(), "-0001 -02 -3 -04 -05 -06");
        let tz = Value::Timestamp { f: dt::ts_fields(0), tz: Some(Shown::utc()) };
        assert_eq!(to_char(&tz, "TZ tz OF").unwrap(), "UTC utc +00");
    }
}
