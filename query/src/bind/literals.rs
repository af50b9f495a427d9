//! String literals as PostgreSQL 15's scanner (scan.l, parser.c) reads them, where sqlparser's
//! tokenizer reads them otherwise: `U&'...'` and `U&"..."` with `UESCAPE`, the Unicode escapes
//! of `E'...'` (surrogate pairs, PostgreSQL's errors and their positions), and a literal
//! continued on the next line (`'a'` newline `'b'` is `'ab'`).
//!
//! Before sqlparser sees the text, each such literal is written as the plain literal it means,
//! followed by newlines and spaces so that everything after it keeps its line and column:
//! positions (error cursors, spans) still point into the text the client sent. Only
//! `standard_conforming_strings = on` is read (the only value Orbit has).

use crate::error::{code, Result, SqlError};
use crate::unicode_escapes::{
    decode_uescape, is_surrogate_first, is_surrogate_second, is_valid_code_point, surrogate_pair,
};

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_char(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

/// The 1-based character position of byte `at` of `sql`.
fn position(sql: &str, at: usize) -> Option<usize> {
    Some(sql.get(..at.min(sql.len()))?.chars().count() + 1)
}

/// PostgreSQL's "MESSAGE at or near "TOKEN"" (scanner_yyerror), pointing at the token.
fn near(sql: &str, message: &str, at: usize, len: usize) -> SqlError {
    let token = sql.get(at..(at + len).min(sql.len())).unwrap_or("");
    let message = if token.is_empty() {
        format!("{message} at end of input")
    } else {
        format!("{message} at or near \"{token}\"")
    };
    SqlError::new(code::SYNTAX_ERROR, message).at(position(sql, at))
}

/// Past the whitespace and comments from byte `i`.
fn skip_blank(b: &[u8], mut i: usize) -> usize {
    loop {
        if i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            match skip_block_comment(b, i) {
                Some(end) => i = end,
                None => return b.len(),
            }
        } else {
            return i;
        }
    }
}

/// Past a (nested) block comment starting at `i`; None when it does not end.
fn skip_block_comment(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 0usize;
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// After a literal's closing quote at `i - 1`: the index of the quote that continues it
/// (whitespace holding a newline, `--` comments allowed after the newline, then a quote).
fn continuation(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while j < b.len() && matches!(b[j], b' ' | b'\t' | b'\x0c' | b'\r') {
        j += 1;
    }
    if j >= b.len() || b[j] != b'\n' {
        return None;
    }
    loop {
        if j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        } else if b[j..].starts_with(b"--") {
            while j < b.len() && b[j] != b'\n' {
                j += 1;
            }
        } else {
            break;
        }
    }
    (j < b.len() && b[j] == b'\'').then_some(j)
}

/// A literal found: its text's byte range and what it is read as.
struct Literal {
    end: usize,
    /// The plain literal to write instead, if it must be rewritten.
    replacement: Option<String>,
}

/// A standard-conforming `'...'` from the quote at `q` (continuations too): its contents.
fn standard(sql: &str, q: usize) -> Option<(String, usize, bool)> {
    let b = sql.as_bytes();
    let (mut out, mut i, mut continued) = (String::new(), q + 1, false);
    loop {
        let close = i + b[i..].iter().position(|&c| c == b'\'')?;
        out.push_str(&sql[i..close]);
        if b.get(close + 1) == Some(&b'\'') {
            out.push('\'');
            i = close + 2;
            continue;
        }
        match continuation(b, close + 1) {
            Some(next) => {
                continued = true;
                i = next + 1;
            }
            None => return Some((out, close + 1, continued)),
        }
    }
}

fn quote(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        if c == q {
            out.push(q);
        }
        out.push(c);
    }
    out.push(q);
    out
}

/// `E'...'` from the quote at `q`: its escapes as written, except the Unicode ones, which
/// are checked and decoded as scan.l's `xeunicode` rules do.
fn escaped(sql: &str, q: usize) -> Result<Option<Literal>> {
    let b = sql.as_bytes();
    let (mut out, mut i, mut rewrite) = (String::from("E'"), q + 1, false);
    // The first half of a surrogate pair, waiting for the second.
    let mut first: Option<u32> = None;
    loop {
        let Some(&c) = b.get(i) else { return Ok(None) };
        if let Some(f) = first {
            // Only the second half of the pair may follow.
            let esc = unicode_escape(b, i);
            match esc {
                Some((v, len)) if is_surrogate_second(v) => {
                    push_escaped(&mut out, char::from_u32(surrogate_pair(f, v)).unwrap_or('\u{fffd}'));
                    first = None;
                    i += len;
                    continue;
                }
                Some((_, len)) => return Err(near(sql, "invalid Unicode surrogate pair", i, len)),
                None => {
                    let len = sql[i..].chars().next().map_or(0, char::len_utf8);
                    return Err(near(sql, "invalid Unicode surrogate pair", i, len));
                }
            }
        }
        match c {
            b'\\' if matches!(b.get(i + 1), Some(b'u' | b'U')) => {
                let Some((v, len)) = unicode_escape(b, i) else {
                    return Err(SqlError::new("22025", "invalid Unicode escape")
                        .hint("Unicode escapes must be \\uXXXX or \\UXXXXXXXX.")
                        .at(position(sql, i)));
                };
                rewrite = true;
                if is_surrogate_first(v) {
                    first = Some(v);
                } else if is_surrogate_second(v) {
                    return Err(near(sql, "invalid Unicode surrogate pair", i, len));
                } else if !is_valid_code_point(v) {
                    return Err(near(sql, "invalid Unicode escape value", i, len));
                } else {
                    push_escaped(&mut out, char::from_u32(v).unwrap_or('\u{fffd}'));
                }
                i += len;
            }
            b'\\' => {
                let Some(n) = sql.get(i + 1..).and_then(|r| r.chars().next()) else { return Ok(None) };
                out.push('\\');
                out.push(n);
                i += 1 + n.len_utf8();
            }
            b'\'' if b.get(i + 1) == Some(&b'\'') => {
                out.push_str("''");
                i += 2;
            }
            b'\'' => match continuation(b, i + 1) {
                Some(next) => {
                    rewrite = true;
                    i = next + 1;
                }
                None => {
                    out.push('\'');
                    return Ok(Some(Literal { end: i + 1, replacement: rewrite.then_some(out) }));
                }
            },
            _ => {
                let ch = sql[i..].chars().next().unwrap_or('\0');
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
}

/// `\uXXXX` or `\UXXXXXXXX` at `i`: the code and the escape's length.
fn unicode_escape(b: &[u8], i: usize) -> Option<(u32, usize)> {
    let digits = match b.get(i..i + 2)? {
        b"\\u" => 4,
        b"\\U" => 8,
        _ => return None,
    };
    let hex = b.get(i + 2..i + 2 + digits)?;
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    Some((u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?, 2 + digits))
}

/// A character inside an `E'...'` literal, escaped where it must be.
fn push_escaped(out: &mut String, c: char) {
    if c == '\\' || c == '\'' {
        out.push('\\');
    }
    out.push(c);
}

/// `U&'...'` or `U&"..."` at `u`, with an optional `UESCAPE 'c'` after it (parser.c's
/// base_yylex and str_udeescape).
fn unicode_literal(sql: &str, u: usize) -> Result<Option<Literal>> {
    let b = sql.as_bytes();
    let q = u + 2;
    let (contents, end) = if b[q] == b'\'' {
        let Some((s, end, _)) = standard(sql, q) else { return Ok(None) };
        (s, end)
    } else {
        let mut s = String::new();
        let mut i = q + 1;
        loop {
            let Some(close) = b[i..].iter().position(|&c| c == b'"').map(|p| p + i) else { return Ok(None) };
            s.push_str(&sql[i..close]);
            if b.get(close + 1) == Some(&b'"') {
                s.push('"');
                i = close + 2;
            } else {
                break (s, close + 1);
            }
        }
    };
    let mut escape = '\\';
    let mut end_all = end;
    let next = skip_blank(b, end);
    if b.len() >= next + 7
        && sql.get(next..next + 7).is_some_and(|w| w.eq_ignore_ascii_case("uescape"))
        && !b.get(next + 7).copied().is_some_and(is_ident_char)
    {
        let lit = skip_blank(b, next + 7);
        let Some((e, lit_end, _)) = (b.get(lit) == Some(&b'\'')).then(|| standard(sql, lit)).flatten() else {
            let len = if lit < b.len() { token_len(b, lit) } else { 0 };
            return Err(near(sql, "UESCAPE must be followed by a simple string literal", lit, len));
        };
        let mut chars = e.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if !(c.is_ascii_hexdigit() || matches!(c, '+' | '\'' | '"') || c.is_ascii_whitespace()) => {
                escape = c
            }
            _ => return Err(near(sql, "invalid Unicode escape character", lit, lit_end - lit)),
        }
        end_all = lit_end;
    }
    let decoded = decode_uescape(&contents, escape).map_err(|e| {
        let mut err = SqlError::new(code::SYNTAX_ERROR, e.message).at(position(sql, u + 3 + e.offset));
        if let Some(h) = e.hint {
            // The hint names the escape character in use.
            err = err.hint(if escape == '\\' { h.to_string() } else { h.replace('\\', &escape.to_string()) });
        }
        err
    })?;
    let q = if b[q] == b'\'' { '\'' } else { '"' };
    Ok(Some(Literal { end: end_all, replacement: Some(quote(&decoded, q)) }))
}

/// The length of the token at `i` for an error's "at or near": a word, a literal or one
/// character.
fn token_len(b: &[u8], i: usize) -> usize {
    if is_ident_start(b[i]) {
        return b[i..].iter().take_while(|&&c| is_ident_char(c)).count();
    }
    std::str::from_utf8(&b[i..]).ok().and_then(|s| s.chars().next()).map_or(1, char::len_utf8)
}

/// Whether `sql` may hold a literal [`rewrite`] changes (never false for one that does).
fn may_need(sql: &str) -> bool {
    let b = sql.as_bytes();
    b.contains(&b'&') || b.contains(&b'\\') || (b.contains(&b'\n') && b.contains(&b'\''))
}

/// `sql` with its `U&` literals, `E'...'` literals holding Unicode escapes and continued
/// literals written as plain literals (positions of the rest kept); None when it has none.
/// Errors are PostgreSQL's scanner's, placed in `sql`.
pub(super) fn rewrite(sql: &str) -> Result<Option<String>> {
    if !may_need(sql) {
        return Ok(None);
    }
    let b = sql.as_bytes();
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            match skip_block_comment(b, i) {
                Some(end) => i = end,
                None => break,
            }
        } else if c == b'"' {
            let mut j = i + 1;
            loop {
                match b[j.min(b.len())..].iter().position(|&x| x == b'"') {
                    Some(p) if b.get(j + p + 1) == Some(&b'"') => j += p + 2,
                    Some(p) => {
                        i = j + p + 1;
                        break;
                    }
                    None => return Ok(finish(sql, edits)),
                }
            }
        } else if c == b'$' {
            // A dollar quote: `$tag$ ... $tag$` (not a `$1` parameter).
            let tag_len = b[i + 1..].iter().take_while(|&&x| is_ident_char(x) && x != b'$').count();
            let starts = b.get(i + 1).is_some_and(|&x| x == b'$' || is_ident_start(x));
            if starts && b.get(i + 1 + tag_len) == Some(&b'$') {
                let tag = &sql[i..i + tag_len + 2];
                match sql[i + tag.len()..].find(tag) {
                    Some(p) => i += tag.len() + p + tag.len(),
                    None => return Ok(finish(sql, edits)),
                }
            } else {
                i += 1;
            }
        } else if is_ident_start(c) {
            let next = b.get(i + 1).copied();
            let lit = if matches!(c, b'U' | b'u') && next == Some(b'&') && matches!(b.get(i + 2), Some(b'\'' | b'"')) {
                unicode_literal(sql, i)?
            } else if matches!(c, b'E' | b'e') && next == Some(b'\'') {
                escaped(sql, i + 1)?
            } else if matches!(c, b'B' | b'b' | b'X' | b'x' | b'N' | b'n') && next == Some(b'\'') {
                // Bit strings and national ones: read past, never rewritten.
                standard(sql, i + 1).map(|(_, end, _)| Literal { end, replacement: None })
            } else {
                i += b[i..].iter().take_while(|&&x| is_ident_char(x)).count();
                continue;
            };
            let Some(lit) = lit else { break };
            if let Some(r) = lit.replacement {
                edits.push((i, lit.end, r));
            }
            i = lit.end;
        } else if c.is_ascii_digit() {
            i += b[i..].iter().take_while(|&&x| x.is_ascii_alphanumeric() || x == b'.' || x == b'_').count();
        } else if c == b'\'' {
            let Some((s, end, continued)) = standard(sql, i) else { break };
            if continued {
                edits.push((i, end, quote(&s, '\'')));
            }
            i = end;
        } else {
            i += 1;
        }
    }
    Ok(finish(sql, edits))
}

/// `sql` with the edits made, each padded so the text after it keeps its line and column.
fn finish(sql: &str, edits: Vec<(usize, usize, String)>) -> Option<String> {
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len());
    let mut last = 0;
    for (start, end, r) in edits {
        out.push_str(&sql[last..start]);
        out.push_str(&r);
        let o = &sql[start..end];
        let (nl_o, nl_r) = (o.matches('\n').count(), r.matches('\n').count());
        let tail = |s: &str| s.rsplit('\n').next().map_or(0, |t| t.chars().count());
        if nl_o > nl_r {
            out.extend(std::iter::repeat_n('\n', nl_o - nl_r));
            out.extend(std::iter::repeat_n(' ', tail(o)));
        } else {
            out.extend(std::iter::repeat_n(' ', tail(o).saturating_sub(tail(&r))));
        }
        last = end;
    }
    out.push_str(&sql[last..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rw(s: &str) -> String {
        rewrite(s).unwrap().unwrap_or_else(|| s.to_string())
    }

    fn err(s: &str) -> (String, Option<u32>) {
        let e = rewrite(s).unwrap_err();
        (e.message, e.position)
    }

    #[test]
    fn unicode_literals_become_plain_ones() {
        assert_eq!(rw("SELECT U&'d\\0061t\\+000061' AS x"), "SELECT 'data'              AS x");
        // The literal and its UESCAPE clause (23 characters) become 5 and 18 spaces.
        assert_eq!(rw("SELECT U&'d!0061t' UESCAPE '!' AS x"), format!("SELECT 'dat'{} AS x", " ".repeat(18)));
        assert_eq!(rw("SELECT 1 AS U&\"\\0061\"").trim_end(), "SELECT 1 AS \"a\"");
        assert_eq!(rw("SELECT E'd\\u0061t\\U00000061'").trim_end(), "SELECT E'data'");
        assert_eq!(rw("SELECT E'\\ud83d\\ude00'").trim_end(), "SELECT E'\u{1F600}'");
        assert_eq!(rw("SELECT 'a\\u' || $$U&'x$$"), "SELECT 'a\\u' || $$U&'x$$");
    }

    #[test]
    fn continued_literals_join_and_keep_positions() {
        let got = rw("SELECT 'first'\n' second'\n AS x");
        // The second line's `' second'` (9 characters) becomes 9 spaces.
        assert_eq!(got, "SELECT 'first second'\n         \n AS x");
        assert_eq!(rw("SELECT 'a' ' b'"), "SELECT 'a' ' b'");
    }

    #[test]
    fn scanner_errors() {
        assert_eq!(err("SELECT U&'wrong: \\061';"), ("invalid Unicode escape".into(), Some(18)));
        assert_eq!(err("SELECT U&'wrong: \\db99';"), ("invalid Unicode surrogate pair".into(), Some(23)));
        assert_eq!(
            err("SELECT U&'wrong: +0061' UESCAPE +;").0,
            "UESCAPE must be followed by a simple string literal at or near \"+\""
        );
        assert_eq!(
            err("SELECT U&'wrong: +0061' UESCAPE '+';").0,
            "invalid Unicode escape character at or near \"'+'\""
        );
        assert_eq!(err("SELECT E'wrong: \\u061';"), ("invalid Unicode escape".into(), Some(17)));
        assert_eq!(
            err("SELECT E'wrong: \\udb99xy';"),
            ("invalid Unicode surrogate pair at or near \"x\"".into(), Some(23))
        );
        assert_eq!(err("SELECT E'wrong: \\U002FFFFF';").0, "invalid Unicode escape value at or near \"\\U002FFFFF\"");
    }
}
