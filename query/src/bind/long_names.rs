//! Identifiers longer than PostgreSQL's NAMEDATALEN - 1 (63) bytes, truncated as PostgreSQL's
//! scanner truncates them (`truncate_identifier` in scansup.c): to the longest prefix of at
//! most 63 bytes that ends on a character boundary, with a NOTICE (42622) for each one, sent
//! when the query is parsed. Quoted and unquoted names alike; an unquoted one is folded first
//! (folding lowercases ASCII letters only, so it never changes the length).
//!
//! The query text is rewritten before sqlparser sees it, only where a name is too long, so
//! every later step (binding, the catalog, view text) sees the names PostgreSQL would.

use crate::error::SqlError;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::cell::RefCell;

/// PostgreSQL's NAMEDATALEN - 1: the longest name, in bytes (SHOW max_identifier_length).
pub const MAX_IDENTIFIER_LENGTH: usize = 63;

thread_local! {
    /// The NOTICEs of the last [`super::parse`] on this thread.
    static NOTICES: RefCell<Vec<SqlError>> = const { RefCell::new(Vec::new()) };
}

/// The NOTICEs the last parse on this thread raised (each once), taken.
pub fn take_notices() -> Vec<SqlError> {
    NOTICES.with(|n| std::mem::take(&mut *n.borrow_mut()))
}

/// Adds a NOTICE or WARNING that binding raised (`timestamp(7)`'s "precision reduced"), sent
/// with the parse's.
pub(super) fn push_notice(n: SqlError) {
    NOTICES.with(|v| v.borrow_mut().push(n));
}

/// Puts back the NOTICEs [`take_notices`] took (dropping any raised since).
pub(super) fn restore_notices(notices: Vec<SqlError>) {
    NOTICES.with(|n| *n.borrow_mut() = notices);
}

pub(super) fn clear_notices() {
    NOTICES.with(|n| n.borrow_mut().clear());
}

/// Whether `sql` may hold a name longer than the limit: a run of more than 63 bytes that
/// could be one unquoted word, or a double quote anywhere in a text long enough to hold a
/// quoted one. Never false for a text that holds one (the tokenizer decides the rest).
fn may_hold_long_name(sql: &str) -> bool {
    if sql.len() <= MAX_IDENTIFIER_LENGTH {
        return false;
    }
    if sql.as_bytes().contains(&b'"') {
        return true;
    }
    let mut run = 0usize;
    for &b in sql.as_bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80 {
            run += 1;
            if run > MAX_IDENTIFIER_LENGTH {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// The longest prefix of `s` of at most 63 bytes ending on a character boundary.
fn clip(s: &str) -> &str {
    let mut end = MAX_IDENTIFIER_LENGTH.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `sql` with every name longer than 63 bytes cut to 63, and a NOTICE for each (kept for
/// [`take_notices`]); None when no name is too long (or the text does not tokenize: the
/// parser reports that).
pub(super) fn truncate(sql: &str) -> Option<String> {
    if !may_hold_long_name(sql) {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().ok()?;
    // Byte offsets of each line's start: spans are (line, column in characters), 1-based.
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(sql.char_indices().filter(|&(_, c)| c == '\n').map(|(i, _)| i + 1)).collect();
    let offset = |line: u64, col: u64| -> Option<usize> {
        let start = *line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let col = usize::try_from(col).ok()?.checked_sub(1)?;
        Some(sql[start..].char_indices().nth(col).map_or(sql.len(), |(i, _)| start + i))
    };
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0usize;
    let mut notices = Vec::new();
    for t in &tokens {
        let Token::Word(w) = &t.token else { continue };
        if w.value.len() <= MAX_IDENTIFIER_LENGTH || !matches!(w.quote_style, None | Some('"')) {
            continue;
        }
        let (Some(from), Some(to)) =
            (offset(t.span.start.line, t.span.start.column), offset(t.span.end.line, t.span.end.column))
        else {
            return None;
        };
        let folded = if w.quote_style.is_some() { w.value.clone() } else { w.value.to_ascii_lowercase() };
        let cut = clip(&folded);
        notices.push(SqlError::new("42622", format!("identifier \"{folded}\" will be truncated to \"{cut}\"")));
        out.push_str(&sql[copied..from]);
        if w.quote_style.is_some() {
            out.push('"');
            out.push_str(&cut.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(cut);
        }
        copied = to;
    }
    if notices.is_empty() {
        return None;
    }
    out.push_str(&sql[copied..]);
    NOTICES.with(|n| n.borrow_mut().extend(notices));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_on_character_boundaries() {
        let long = "A".repeat(70);
        let q = format!("select 1 as {long}, 'x{long}' as \"{}\"", "é".repeat(33));
        let out = truncate(&q).unwrap();
        assert_eq!(out, format!("select 1 as {}, 'x{long}' as \"{}\"", "a".repeat(63), "é".repeat(31)));
        let notices = take_notices();
        assert_eq!(notices.len(), 2);
        assert_eq!(
            notices[0].message,
            format!("identifier \"{}\" will be truncated to \"{}\"", "a".repeat(70), "a".repeat(63))
        );
        assert_eq!(truncate("select 1 as short"), None);
        assert_eq!(truncate(&format!("select '{long}'")), None);
    }

    #[test]
    fn quotes_inside_a_cut_name_stay_doubled() {
        let name = format!("a\"\"{}", "b".repeat(70));
        let out = truncate(&format!("select 1 as \"{name}\" from t")).unwrap();
        assert_eq!(out, format!("select 1 as \"a\"\"{}\" from t", "b".repeat(61)));
    }
}
