//! Unicode escapes as PostgreSQL 15 reads them: `unistr()` (varlena.c's unistr) and the
//! contents of `U&'...'` / `U&"..."` with their UESCAPE character (parser.c's
//! str_udeescape), with PostgreSQL's errors. UTF-16 surrogate pairs written as two escapes
//! make one character; a lone or broken half is an error
//! (<https://www.postgresql.org/docs/15/sql-syntax-lexical.html#SQL-SYNTAX-STRINGS-UESCAPE>).

use crate::error::{code, Result, SqlError};

pub(crate) fn is_surrogate_first(c: u32) -> bool {
    (0xD800..=0xDBFF).contains(&c)
}

pub(crate) fn is_surrogate_second(c: u32) -> bool {
    (0xDC00..=0xDFFF).contains(&c)
}

pub(crate) fn surrogate_pair(first: u32, second: u32) -> u32 {
    ((first & 0x3FF) << 10) + 0x10000 + (second & 0x3FF)
}

pub(crate) fn is_valid_code_point(c: u32) -> bool {
    c > 0 && c <= 0x10FFFF
}

/// `n` hex digits at the start of `s`, as a number.
fn hex_n(s: &[u8], n: usize) -> Option<u32> {
    let digits = s.get(..n)?;
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// Where decoding stopped with an error: the message, its hint, and the byte offset in the
/// decoded text the error points at.
pub(crate) struct EscapeError {
    pub message: String,
    pub hint: Option<&'static str>,
    pub offset: usize,
}

/// The contents of a `U&` literal or name (quotes already undoubled) with `escape` as the
/// escape character: `<esc>XXXX`, `<esc>+XXXXXX`, `<esc><esc>`; PostgreSQL's errors, each at
/// the escape where it was found.
pub(crate) fn decode_uescape(s: &str, escape: char) -> std::result::Result<String, EscapeError> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut pair_first: Option<u32> = None;
    let mut i = 0;
    let err = |message: &str, hint: Option<&'static str>, offset| EscapeError { message: message.into(), hint, offset };
    let pair = |i| err("invalid Unicode surrogate pair", None, i);
    while i < b.len() {
        let c = s[i..].chars().next().unwrap_or('\0');
        if c != escape {
            if pair_first.is_some() {
                return Err(pair(i));
            }
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        let e = escape.len_utf8();
        let rest = &s[i + e..];
        let (code, len) = if rest.starts_with(escape) {
            if pair_first.is_some() {
                return Err(pair(i));
            }
            out.push(escape);
            i += 2 * e;
            continue;
        } else if let Some(v) = hex_n(rest.as_bytes(), 4) {
            (v, e + 4)
        } else if let Some(v) = rest.strip_prefix('+').and_then(|r| hex_n(r.as_bytes(), 6)) {
            (v, e + 7)
        } else {
            return Err(err("invalid Unicode escape", Some("Unicode escapes must be \\XXXX or \\+XXXXXX."), i));
        };
        if !is_valid_code_point(code) {
            return Err(err("invalid Unicode escape value", None, i));
        }
        let code = match pair_first.take() {
            Some(first) if is_surrogate_second(code) => surrogate_pair(first, code),
            Some(_) => return Err(pair(i)),
            None if is_surrogate_second(code) => return Err(pair(i)),
            None if is_surrogate_first(code) => {
                pair_first = Some(code);
                i += len;
                continue;
            }
            None => code,
        };
        out.push(char::from_u32(code).ok_or_else(|| err("invalid Unicode escape value", None, i))?);
        i += len;
    }
    if pair_first.is_some() {
        return Err(pair(b.len()));
    }
    Ok(out)
}

/// PostgreSQL's unistr(text): `\XXXX`, `\+XXXXXX`, `\uXXXX`, `\UXXXXXXXX` and `\\`.
pub fn unistr(s: &str) -> Result<String> {
    let invalid_pair = || SqlError::new(code::SYNTAX_ERROR, "invalid Unicode surrogate pair");
    let mut out = String::with_capacity(s.len());
    let mut pair_first: Option<u32> = None;
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c != '\\' {
            if pair_first.is_some() {
                return Err(invalid_pair());
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let b = rest.as_bytes();
        let (code, len) = if b.get(1) == Some(&b'\\') {
            out.push('\\');
            rest = &rest[2..];
            continue;
        } else if let Some(v) = hex_n(&b[1..], 4) {
            (v, 5)
        } else if let Some(v) = (b.get(1) == Some(&b'u')).then(|| hex_n(&b[2..], 4)).flatten() {
            (v, 6)
        } else if let Some(v) = (b.get(1) == Some(&b'+')).then(|| hex_n(&b[2..], 6)).flatten() {
            (v, 8)
        } else if let Some(v) = (b.get(1) == Some(&b'U')).then(|| hex_n(&b[2..], 8)).flatten() {
            (v, 10)
        } else {
            return Err(SqlError::new(code::SYNTAX_ERROR, "invalid Unicode escape")
                .hint("Unicode escapes must be \\XXXX, \\+XXXXXX, \\uXXXX, or \\UXXXXXXXX."));
        };
        if !is_valid_code_point(code) {
            return Err(SqlError::new("22023", format!("invalid Unicode code point: {code:04X}")));
        }
        let code = match pair_first.take() {
            Some(first) if is_surrogate_second(code) => surrogate_pair(first, code),
            Some(_) => return Err(invalid_pair()),
            None if is_surrogate_second(code) => return Err(invalid_pair()),
            None if is_surrogate_first(code) => {
                pair_first = Some(code);
                rest = &rest[len..];
                continue;
            }
            None => code,
        };
        out.push(char::from_u32(code).ok_or_else(invalid_pair)?);
        rest = &rest[len..];
    }
    if pair_first.is_some() {
        return Err(invalid_pair());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unistr_forms() {
        assert_eq!(unistr("\\0064at\\+0000610").unwrap(), "data0");
        assert_eq!(unistr("d\\u0061t\\U000000610").unwrap(), "data0");
        assert_eq!(unistr("a\\\\b").unwrap(), "a\\b");
        assert_eq!(unistr("\\d83d\\de00").unwrap(), "\u{1F600}");
        assert_eq!(unistr("wrong: \\db99").unwrap_err().message, "invalid Unicode surrogate pair");
        assert_eq!(unistr("wrong: \\+2FFFFF").unwrap_err().message, "invalid Unicode code point: 2FFFFF");
        assert_eq!(unistr("wrong: \\xyz").unwrap_err().message, "invalid Unicode escape");
    }

    #[test]
    fn uescape_contents() {
        assert_eq!(decode_uescape("d\\0061t\\+000061", '\\').ok().unwrap(), "data");
        assert_eq!(decode_uescape("d!0061t\\+000061", '!').ok().unwrap(), "dat\\+000061");
        assert_eq!(decode_uescape(" \\", '!').ok().unwrap(), " \\");
        let e = decode_uescape("wrong: \\db99xy", '\\').err().unwrap();
        assert_eq!((e.message.as_str(), e.offset), ("invalid Unicode surrogate pair", 12));
        assert_eq!(decode_uescape("wrong: \\061", '\\').err().unwrap().offset, 7);
    }
}
