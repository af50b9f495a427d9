//! A date/time text split into typed fields, as PostgreSQL's ParseDateTime splits it
//! (`src/backend/utils/adt/datetime.c`): the first step of reading a timestamp, date, time or
//! interval. Letters are lower-cased; spaces and other punctuation separate fields.

/// What a field looks like (PostgreSQL's DTK_* field types of ParseDateTime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Digits, maybe a fraction (`12`, `1.5`, `.5`, `1999.008`).
    Number,
    /// Digits and two delimiters, or digits and text (`1999-01-08`, `jan-08-99`), or a zone
    /// name (`america/new_york`, `gmt-8`).
    Date,
    /// Digits with colons (`04:05:06.7`).
    Time,
    /// Letters (`jan`, `pst`, `ago`).
    Str,
    /// A sign and letters (`-infinity`).
    Special,
    /// A sign and digits, maybe with `:`, `.` or `-` (`+05:30`, `-1-2`).
    Tz,
}

/// PostgreSQL's MAXDATEFIELDS: a text with more fields is not a date/time.
pub const MAX_FIELDS: usize = 25;
/// PostgreSQL's work buffers: the fields' bytes, each with its terminator, must fit in
/// MAXDATELEN + MAXDATEFIELDS for a timestamp, date or time, in 256 for an interval.
pub const DATE_BUF_BYTES: usize = 128 + MAX_FIELDS;
pub const INTERVAL_BUF_BYTES: usize = 256;

/// The words of PostgreSQL's datetktbl that are no zone: a letters-then-digit field starting
/// with one of them is not read as a zone name (`t04:05` is `t` and a time).
fn core_keyword(w: &str) -> bool {
    matches!(
        w,
        "-infinity"
            | "ad"
            | "allballs"
            | "am"
            | "apr"
            | "april"
            | "at"
            | "aug"
            | "august"
            | "bc"
            | "d"
            | "dec"
            | "december"
            | "dow"
            | "doy"
            | "dst"
            | "epoch"
            | "feb"
            | "february"
            | "fri"
            | "friday"
            | "h"
            | "infinity"
            | "isodow"
            | "isoyear"
            | "j"
            | "jan"
            | "january"
            | "jd"
            | "jul"
            | "julian"
            | "july"
            | "jun"
            | "june"
            | "m"
            | "mar"
            | "march"
            | "may"
            | "mm"
            | "mon"
            | "monday"
            | "nov"
            | "november"
            | "now"
            | "oct"
            | "october"
            | "on"
            | "pm"
            | "s"
            | "sat"
            | "saturday"
            | "sep"
            | "sept"
            | "september"
            | "sun"
            | "sunday"
            | "t"
            | "thu"
            | "thur"
            | "thurs"
            | "thursday"
            | "today"
            | "tomorrow"
            | "tue"
            | "tues"
            | "tuesday"
            | "wed"
            | "wednesday"
            | "weds"
            | "y"
            | "yesterday"
    )
}

/// Splits `s` into fields; None where PostgreSQL's ParseDateTime reports a bad format (a sign
/// followed by neither a digit nor a letter, a byte that is neither, too many fields, more
/// than `buf_bytes` of fields).
pub fn split(s: &str, buf_bytes: usize) -> Option<Vec<(String, FieldType)>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out: Vec<(String, FieldType)> = Vec::new();
    let mut bytes = 0usize;
    let lower = |c: u8| (c as char).to_ascii_lowercase();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if out.len() >= MAX_FIELDS {
            return None;
        }
        let mut f = String::new();
        let ty;
        if c.is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                f.push(b[i] as char);
                i += 1;
            }
            if i < b.len() && b[i] == b':' {
                ty = FieldType::Time;
                f.push(':');
                i += 1;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b':' || b[i] == b'.') {
                    f.push(b[i] as char);
                    i += 1;
                }
            } else if i < b.len() && matches!(b[i], b'-' | b'/' | b'.') {
                let delim = b[i];
                f.push(delim as char);
                i += 1;
                if i < b.len() && b[i].is_ascii_digit() {
                    let mut t = if delim == b'.' { FieldType::Number } else { FieldType::Date };
                    while i < b.len() && b[i].is_ascii_digit() {
                        f.push(b[i] as char);
                        i += 1;
                    }
                    // Three fields only with the same delimiter twice.
                    if i < b.len() && b[i] == delim {
                        t = FieldType::Date;
                        f.push(delim as char);
                        i += 1;
                        while i < b.len() && (b[i].is_ascii_digit() || b[i] == delim) {
                            f.push(b[i] as char);
                            i += 1;
                        }
                    }
                    ty = t;
                } else {
                    ty = FieldType::Date;
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == delim) {
                        f.push(lower(b[i]));
                        i += 1;
                    }
                }
            } else {
                ty = FieldType::Number;
            }
        } else if c == b'.' {
            f.push('.');
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                f.push(b[i] as char);
                i += 1;
            }
            ty = FieldType::Number;
        } else if c.is_ascii_alphabetic() {
            while i < b.len() && b[i].is_ascii_alphabetic() {
                f.push(lower(b[i]));
                i += 1;
            }
            // A date with a text month (`jan-08-99`) or a zone name (`america/new_york`,
            // `gmt-8`), unless the letters are a keyword followed by a digit or `+`.
            let next = b.get(i).copied();
            let is_date = match next {
                Some(b'-' | b'/' | b'.') => true,
                Some(n) if n == b'+' || n.is_ascii_digit() => !core_keyword(&f),
                _ => false,
            };
            if is_date {
                loop {
                    f.push(lower(b[i]));
                    i += 1;
                    if !(i < b.len() && (b"+-/_.:".contains(&b[i]) || b[i].is_ascii_alphanumeric())) {
                        break;
                    }
                }
                ty = FieldType::Date;
            } else {
                ty = FieldType::Str;
            }
        } else if c == b'+' || c == b'-' {
            f.push(c as char);
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && b[i].is_ascii_digit() {
                while i < b.len() && (b[i].is_ascii_digit() || b":.-".contains(&b[i])) {
                    f.push(b[i] as char);
                    i += 1;
                }
                ty = FieldType::Tz;
            } else if i < b.len() && b[i].is_ascii_alphabetic() {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    f.push(lower(b[i]));
                    i += 1;
                }
                ty = FieldType::Special;
            } else {
                return None;
            }
        } else if c.is_ascii_punctuation() {
            i += 1;
            continue;
        } else {
            return None;
        }
        bytes += f.len() + 1;
        if bytes >= buf_bytes {
            return None;
        }
        out.push((f, ty));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use FieldType::*;

    fn fields(s: &str) -> Vec<(String, FieldType)> {
        split(s, DATE_BUF_BYTES).unwrap()
    }

    #[test]
    fn splits_as_parse_date_time() {
        assert_eq!(fields("1 day -02:03"), vec![("1".into(), Number), ("day".into(), Str), ("-02:03".into(), Tz)]);
        assert_eq!(fields("Jan-08-99"), vec![("jan-08-99".into(), Date)]);
        assert_eq!(fields("1999.008"), vec![("1999.008".into(), Number)]);
        assert_eq!(fields("PT-1.5"), vec![("pt-1.5".into(), Date)]);
        assert_eq!(fields("2001-01-01 America/New_York")[1], ("america/new_york".into(), Date));
        assert_eq!(fields("@ 1 day, ago")[1], ("day".into(), Str));
        assert!(split("1 + ", DATE_BUF_BYTES).is_none());
    }
}
