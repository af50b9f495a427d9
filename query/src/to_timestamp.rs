//! `to_date(text, format)` and `to_timestamp(text, format)`: PostgreSQL's template patterns
//! read back (`src/backend/utils/adt/formatting.c` DCH_from_char, non-FX mode): YYYY, YY, MM,
//! DD, HH24, HH12/HH, MI, SS, MS, US, AM/PM (A.M./P.M.), Mon/Month, Dy/Day, the FM prefix,
//! "quoted text";
//! other template patterns are 0A000. Separators in the template match any one separator in
//! the input (or none), spaces before a field are skipped, a field followed by a separator
//! (or the end) reads all its digits, otherwise exactly its width. Missing fields are
//! PostgreSQL's defaults (year 1 BC, January, the 1st, midnight); the session time zone is UTC.
//! (<https://www.postgresql.org/docs/15/functions-formatting.html>)

use crate::datetime::{date2j, DATETIME_FIELD_OVERFLOW, INVALID_DATETIME_FORMAT, USECS_PER_DAY, USECS_PER_SEC};
use crate::error::{Result, SqlError};

const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
use crate::datetime::MONTHS;
const DAYS: [&str; 7] = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Year4,
    Year2,
    Month,
    Day,
    Hour24,
    Hour12,
    Minute,
    Second,
    Milli,
    Micro,
    Meridiem,
    MonthName,
    MonthAbbrev,
    DayName,
    DayAbbrev,
}

impl Field {
    /// The width a numeric field reads when another field follows it directly.
    fn width(self) -> Option<usize> {
        Some(match self {
            Field::Year4 => 4,
            Field::Year2
            | Field::Month
            | Field::Day
            | Field::Hour24
            | Field::Hour12
            | Field::Minute
            | Field::Second => 2,
            Field::Milli => 3,
            Field::Micro => 6,
            _ => return None,
        })
    }
}

enum Node {
    /// The field, the pattern as the template writes it, and whether FM came before it.
    Field(Field, String, bool),
    /// A space or another non-letter, non-digit character of the template.
    Separator,
    /// Any other character: skips one input character.
    Char,
}

/// The template's patterns, longest first (matched without regard to case).
const PATTERNS: &[(&str, Option<Field>)] = &[
    ("Y,YYY", None),
    ("HH24", Some(Field::Hour24)),
    ("HH12", Some(Field::Hour12)),
    ("HH", Some(Field::Hour12)),
    ("YYYY", Some(Field::Year4)),
    ("YYY", None),
    ("YY", Some(Field::Year2)),
    ("MONTH", Some(Field::MonthName)),
    ("MON", Some(Field::MonthAbbrev)),
    ("MM", Some(Field::Month)),
    ("MI", Some(Field::Minute)),
    ("MS", Some(Field::Milli)),
    ("DDD", None),
    ("DD", Some(Field::Day)),
    ("DAY", Some(Field::DayName)),
    ("DY", Some(Field::DayAbbrev)),
    ("SSSSS", None),
    ("SSSS", None),
    ("SS", Some(Field::Second)),
    ("US", Some(Field::Micro)),
    ("A.M.", Some(Field::Meridiem)),
    ("P.M.", Some(Field::Meridiem)),
    ("AM", Some(Field::Meridiem)),
    ("PM", Some(Field::Meridiem)),
    ("B.C.", None),
    ("A.D.", None),
    ("BC", None),
    ("AD", None),
    ("IYYY", None),
    ("IYY", None),
    ("IY", None),
    ("IDDD", None),
    ("ID", None),
    ("IW", None),
    ("TZH", None),
    ("TZM", None),
    ("TZ", None),
    ("OF", None),
    ("CC", None),
    ("RM", None),
    ("WW", None),
    ("FX", None),
    ("Y", None),
    ("D", None),
    ("I", None),
    ("J", None),
    ("Q", None),
    ("W", None),
];

fn template(fmt: &str) -> Result<Vec<Node>> {
    let mut out = Vec::new();
    let mut rest = fmt;
    while let Some(c) = rest.chars().next() {
        let upper = rest.to_ascii_uppercase();
        let mut fm = false;
        let mut body = upper.as_str();
        if body.starts_with("FM") {
            fm = true;
            body = &body[2..];
        }
        if let Some((p, f)) = PATTERNS.iter().find(|(p, _)| body.starts_with(p)) {
            let Some(f) = f else {
                return Err(SqlError::unsupported(format!(
                    "the template pattern \"{p}\" is not supported in {}",
                    "to_date/to_timestamp"
                )));
            };
            let skip = if fm { 2 } else { 0 } + p.len();
            out.push(Node::Field(*f, rest[skip - p.len()..skip].to_string(), fm));
            rest = &rest[skip..];
            continue;
        }
        if c == '"' {
            // Quoted text: each of its characters skips one input character.
            let body = &rest[1..];
            let end = body.find('"').unwrap_or(body.len());
            out.extend(body[..end].chars().map(|_| Node::Char));
            rest = body.get(end + 1..).unwrap_or("");
            continue;
        }
        out.push(if c.is_alphanumeric() { Node::Char } else { Node::Separator });
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

#[derive(Default)]
struct Parsed {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    hour: Option<i64>,
    minute: i64,
    second: i64,
    micros: i64,
    twelve_hour: bool,
    pm: bool,
}

fn format_error(msg: String) -> SqlError {
    SqlError::new(INVALID_DATETIME_FORMAT, msg)
}

fn parse(input: &str, fmt: &str) -> Result<Parsed> {
    let nodes = template(fmt)?;
    let s: Vec<char> = input.chars().collect();
    let mut i = 0;
    let mut p = Parsed::default();
    for (n, node) in nodes.iter().enumerate() {
        match node {
            Node::Separator => {
                if i < s.len() && !s[i].is_alphanumeric() {
                    i += 1;
                }
                continue;
            }
            Node::Char => {
                i += 1;
                continue;
            }
            Node::Field(..) => {}
        }
        let Node::Field(f, name, fm) = node else { continue };
        while i < s.len() && s[i].is_whitespace() {
            i += 1;
        }
        if i >= s.len() {
            break;
        }
        if let Some(width) = f.width() {
            // A separator, a name field or the end next: all the digits; else the width.
            let greedy = *fm
                || match nodes.get(n + 1) {
                    None | Some(Node::Separator) => true,
                    Some(Node::Field(next, ..)) => next.width().is_none(),
                    Some(Node::Char) => false,
                };
            let start = i;
            let (digits_end, limit) = if greedy {
                let mut j = i;
                if j < s.len() && (s[j] == '-' || s[j] == '+') {
                    j += 1;
                }
                while j < s.len() && s[j].is_ascii_digit() {
                    j += 1;
                }
                (j, j)
            } else {
                if s.len() - i < width {
                    return Err(format_error(format!("source string too short for \"{name}\" formatting field"))
                        .detail(format!("Field requires {width} characters, but only {} remain.", s.len() - i))
                        .hint("If your source string is not fixed-width, try using the \"FM\" modifier."));
                }
                let mut j = i;
                while j < i + width && s[j].is_ascii_digit() {
                    j += 1;
                }
                (j, i + width)
            };
            let text: String = s[start..digits_end].iter().collect();
            let v: i64 = match text.parse() {
                Ok(v) => v,
                Err(_) => {
                    let shown: String = s[start..(start + width).min(s.len())].iter().collect();
                    return Err(format_error(format!("invalid value \"{shown}\" for \"{name}\""))
                        .detail("Value must be an integer."));
                }
            };
            if digits_end < limit {
                let shown: String = s[start..limit].iter().collect();
                return Err(format_error(format!("invalid value \"{shown}\" for \"{name}\"")).detail(format!(
                    "Field requires {width} characters, but only {} could be parsed.",
                    digits_end - start
                )));
            }
            i = digits_end;
            let ndigits = text.trim_start_matches(['-', '+']).len() as u32;
            match f {
                Field::Year4 => p.year = Some(v),
                Field::Year2 => {
                    p.year = Some(if ndigits <= 2 && v < 70 {
                        v + 2000
                    } else if ndigits <= 2 {
                        v + 1900
                    } else {
                        v
                    })
                }
                Field::Month => p.month = Some(v),
                Field::Day => p.day = Some(v),
                Field::Hour24 => p.hour = Some(v),
                Field::Hour12 => {
                    p.hour = Some(v);
                    p.twelve_hour = true;
                }
                Field::Minute => p.minute = v,
                Field::Second => p.second = v,
                // A fraction: "3" is 300 milliseconds.
                Field::Milli => p.micros = v * 10i64.pow(3u32.saturating_sub(ndigits)) * 1000,
                Field::Micro => p.micros = v * 10i64.pow(6u32.saturating_sub(ndigits)),
                _ => {}
            }
            continue;
        }
        // The name fields: the longest allowed value that starts the input, without regard
        // to case.
        let rest: String = s[i..].iter().collect::<String>().to_lowercase();
        let found = match f {
            Field::Meridiem => ["a.m.", "p.m.", "am", "pm"]
                .iter()
                .find(|v| rest.starts_with(*v))
                .map(|v| (v.starts_with('p') as usize, v.chars().count())),
            Field::MonthName => MONTHS.iter().position(|m| rest.starts_with(m)).map(|k| (k, MONTHS[k].len())),
            Field::MonthAbbrev => MONTHS.iter().position(|m| rest.starts_with(&m[..3])).map(|k| (k, 3)),
            Field::DayName => DAYS.iter().position(|d| rest.starts_with(d)).map(|k| (k, DAYS[k].len())),
            _ => DAYS.iter().position(|d| rest.starts_with(&d[..3])).map(|k| (k, 3)),
        };
        let Some((k, len)) = found else {
            let shown: String = s[i..].iter().take_while(|c| !c.is_whitespace()).collect();
            return Err(format_error(format!("invalid value \"{shown}\" for \"{name}\""))
                .detail("The given value did not match any of the allowed values for this field."));
        };
        i += len;
        match f {
            Field::Meridiem => {
                p.pm = k == 1;
                p.twelve_hour = true;
            }
            Field::MonthName | Field::MonthAbbrev => p.month = Some(k as i64 + 1),
            _ => {}
        }
    }
    Ok(p)
}

/// The date's Julian day and the time of day in microseconds.
fn resolve(input: &str, p: &Parsed) -> Result<(i64, i64)> {
    let out_of_range =
        || SqlError::new(DATETIME_FIELD_OVERFLOW, format!("date/time field value out of range: \"{input}\""));
    let mut hour = p.hour.unwrap_or(0);
    if p.twelve_hour {
        if !(1..=12).contains(&hour) {
            return Err(format_error(format!("hour \"{hour}\" is invalid for the 12-hour clock"))
                .hint("Use the 24-hour clock, or give an hour between 1 and 12."));
        }
        if p.pm && hour < 12 {
            hour += 12;
        } else if !p.pm && hour == 12 {
            hour = 0;
        }
    }
    // No year: PostgreSQL's year 0, which is 1 BC.
    let year = p.year.unwrap_or(0);
    let (month, day) = (p.month.unwrap_or(1), p.day.unwrap_or(1));
    if !(1..=12).contains(&month) || day < 1 || day > days_in(year, month) {
        return Err(out_of_range());
    }
    if !(0..=23).contains(&hour) || !(0..=59).contains(&p.minute) || !(0..=60).contains(&p.second) {
        return Err(out_of_range());
    }
    let time = ((hour * 60 + p.minute) * 60 + p.second) * USECS_PER_SEC + p.micros;
    Ok((date2j(year, month, day), time))
}

fn days_in(y: i64, m: i64) -> i64 {
    let leap = y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0);
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// to_date(text, format): days since 2000-01-01.
pub fn to_date(input: &str, fmt: &str) -> Result<i32> {
    let p = parse(input, fmt)?;
    let (jd, _) = resolve(input, &p)?;
    i32::try_from(jd - POSTGRES_EPOCH_JDATE)
        .ok()
        .filter(|_| jd >= 0)
        .ok_or_else(|| SqlError::new(DATETIME_FIELD_OVERFLOW, format!("date out of range: \"{input}\"")))
}

/// to_timestamp(text, format): microseconds since 2000-01-01 UTC.
pub fn to_timestamp(input: &str, fmt: &str) -> Result<i64> {
    let p = parse(input, fmt)?;
    let (jd, time) = resolve(input, &p)?;
    (jd - POSTGRES_EPOCH_JDATE)
        .checked_mul(USECS_PER_DAY)
        .and_then(|d| d.checked_add(time))
        .filter(|_| jd >= 0)
        .ok_or_else(|| SqlError::new(DATETIME_FIELD_OVERFLOW, "timestamp out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_templates() {
        let d = to_date("05 Dec 2000", "DD Mon YYYY").unwrap();
        assert_eq!(d, to_date("2000/12/05", "YYYY-MM-DD").unwrap());
        let t = to_timestamp("2011-12-18 11:38 PM", "YYYY-MM-DD HH12:MI PM").unwrap();
        assert_eq!(t.rem_euclid(USECS_PER_DAY), (23 * 60 + 38) * 60 * USECS_PER_SEC);
        assert_eq!(to_date("2021-02-30", "YYYY-MM-DD").unwrap_err().code, "22008");
        assert_eq!(to_date("2000-1", "YYYY-MMDD").unwrap_err().code, "22007");
        assert_eq!(to_timestamp("13", "HH12").unwrap_err().code, "22007");
    }
}
