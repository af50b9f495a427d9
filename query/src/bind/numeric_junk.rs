//! PostgreSQL 15's scanner rules for a number run into the text after it (scan.l's
//! `integer_junk`, `decimal_junk`, `real_junk`, `realfail` and `param_junk`): `123abc`,
//! `0x0o`, `1_2_3`, `0.0e`, `0.0e+a` and `$1a` are 42601 `trailing junk after numeric literal`
//! (`... after parameter`) at that text, where sqlparser would read a number and an alias.

use super::char_position;
use crate::error::{code, SqlError};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// The error for the first number (or `$n` parameter) in `sql` that PostgreSQL's scanner
/// rejects; None when there is none (or the text does not tokenize: the parser reports that).
pub(super) fn check(sql: &str) -> Option<SqlError> {
    let b = sql.as_bytes();
    // Only a digit or point followed by a letter can start such a token: most queries never
    // pay for the tokenizer here.
    if !b.windows(2).any(|w| (w[0].is_ascii_digit() || w[0] == b'.') && ident_start(w[1])) {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().ok()?;
    for t in &tokens {
        let param = match &t.token {
            Token::Number(..) => false,
            Token::Placeholder(p) if p.starts_with('$') => true,
            _ => continue,
        };
        let pos = char_position(sql, t.span.start.line, t.span.start.column)?;
        let offset = sql.char_indices().nth(pos.checked_sub(1)?)?.0;
        let text = &sql[offset..];
        let len = if param { param_junk(text.as_bytes()) } else { number_junk(text.as_bytes()) };
        if let Some(len) = len {
            let what = if param { "parameter" } else { "numeric literal" };
            return Some(
                SqlError::new(
                    code::SYNTAX_ERROR,
                    format!("trailing junk after {what} at or near \"{}\"", &text[..len]),
                )
                .at(Some(pos)),
            );
        }
    }
    None
}

/// scan.l's ident_start: a letter, `_` or any byte of a multibyte character.
fn ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn ident_cont(c: u8) -> bool {
    ident_start(c) || c.is_ascii_digit() || c == b'$'
}

fn digits(b: &[u8], from: usize) -> usize {
    from + b[from.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count()
}

/// The length of `integer|decimal|real` followed by an identifier, or of a `realfail`
/// (`1e+` without exponent digits), at the start of `b`; None for a well-formed number.
fn number_junk(b: &[u8]) -> Option<usize> {
    let int_end = digits(b, 0);
    let mut end = int_end;
    // decimal: digits '.' digits (one side nonempty); `1..` is an integer and `..`.
    if b.get(end) == Some(&b'.') && b.get(end + 1) != Some(&b'.') {
        let frac_end = digits(b, end + 1);
        if int_end == 0 && frac_end == end + 1 {
            return None;
        }
        end = frac_end;
    }
    if end == 0 {
        return None;
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let signed = matches!(b.get(end + 1), Some(b'+' | b'-'));
        let exp_start = end + 1 + usize::from(signed);
        let exp_end = digits(b, exp_start);
        if exp_end > exp_start {
            end = exp_end;
        } else if signed {
            return Some(exp_start);
        }
    }
    junk_after(b, end)
}

/// `$n` followed by an identifier.
fn param_junk(b: &[u8]) -> Option<usize> {
    let end = digits(b, 1);
    (end > 1).then_some(())?;
    junk_after(b, end)
}

fn junk_after(b: &[u8], end: usize) -> Option<usize> {
    if !b.get(end).copied().is_some_and(ident_start) {
        return None;
    }
    Some(end + b[end..].iter().take_while(|c| ident_cont(**c)).count())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn as_postgresql_scans() {
        let near = |sql: &str| check(sql).map(|e| (e.message, e.position));
        let junk = |t: &str| format!("trailing junk after numeric literal at or near \"{t}\"");
        assert_eq!(near("SELECT 123abc"), Some((junk("123abc"), Some(8))));
        assert_eq!(near("SELECT 0x0o").unwrap().0, junk("0x0o"));
        assert_eq!(near("SELECT 1_2_3").unwrap().0, junk("1_2_3"));
        assert_eq!(near("SELECT .0a").unwrap().0, junk(".0a"));
        assert_eq!(near("SELECT 0.0e1a").unwrap().0, junk("0.0e1a"));
        assert_eq!(near("SELECT 0.0e").unwrap().0, junk("0.0e"));
        assert_eq!(near("SELECT 0.0e+a").unwrap().0, junk("0.0e+"));
        assert_eq!(near("PREPARE p1 AS SELECT $1a").unwrap().0, "trailing junk after parameter at or near \"$1a\"");
        for fine in ["SELECT 1e5, 1.5, .5, 5., 1 AS a, t1.c2, 'x1a', \"2b\"", "SELECT 1..5", "SELECT $1 + x2y"] {
            assert_eq!(near(fine), None, "{fine}");
        }
    }
}
