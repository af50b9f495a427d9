//! Parsed statements kept per thread by their shape, so that a statement sent again with other
//! literals (pgbench's `UPDATE ... SET abalance = abalance + -567 WHERE aid = 81234`, an
//! application's queries over the simple protocol) is not parsed again: sqlparser took ~17 µs
//! of the ~77 µs of CPU a one-row UPDATE cost a shard (`perf record` of the release build
//! under `pgbench -c 4 -f update.sql`, 2026-12-03).
//!
//! A text's *shape* is the text with each literal's digits (numbers) or characters (strings)
//! masked, everything else as written. Two texts of one shape have their literals at the same
//! lines and columns and every other character the same, so sqlparser makes the same tree of
//! them, with the same spans (error positions stay right), but for the literals' values. The
//! first text of a shape is parsed, and its tree kept if each literal the scanner found is
//! exactly one `Expr::Value` at the literal's position with the value the scanner read (a
//! literal that is no value node — a type's length, `DATE '...'` — or that parsing rewrote
//! makes the shape one that is always parsed). A later text of the shape gets a copy of that
//! tree with its own literals' values put in place.
//!
//! The scanner reads only what it is sure of and gives up (the text is parsed as usual) on
//! comments, dollar quotes, prefixed strings (`E'...'`, `U&'...'`, `B'...'`), backslashes in
//! strings, numbers run into names or dots, long texts and many literals. Only queries,
//! INSERT, UPDATE, DELETE, MERGE and transaction control are kept; a parse that raised a
//! NOTICE (a name cut to 63 bytes) is never kept.

use crate::error::Result;
use sqlparser::ast::{self, Statement};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;

/// Texts longer than this are parsed each time.
const MAX_TEXT_BYTES: usize = 2048;
/// Texts with more literals than this are parsed each time.
const MAX_LITERALS: usize = 64;
/// Shapes kept per thread; the cache is emptied when it is full.
const MAX_SHAPES: usize = 256;

/// A literal the scanner read: where it starts (sqlparser's 1-based line and column) and its
/// value as sqlparser reads it.
#[derive(Debug, PartialEq)]
struct Literal {
    line: u64,
    column: u64,
    value: ast::Value,
}

thread_local! {
    /// Shape → the statements parsed from its first text (None: a shape parsed each time).
    static SHAPES: RefCell<HashMap<String, Option<Vec<Statement>>>> = RefCell::new(HashMap::new());
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// `sql`'s shape and its literals in order; None where the scanner gives up on it.
fn shape(sql: &str) -> Option<(String, Vec<Literal>)> {
    if sql.len() > MAX_TEXT_BYTES {
        return None;
    }
    let chars: Vec<char> = sql.chars().collect();
    let mut key = String::with_capacity(sql.len());
    let mut literals = Vec::new();
    let (mut line, mut column) = (1u64, 1u64);
    let mut i = 0;
    // Moves past chars[i], keeping sqlparser's line and column count.
    let step = |i: &mut usize, line: &mut u64, column: &mut u64| {
        if chars[*i] == '\n' {
            *line += 1;
            *column = 1;
        } else {
            *column += 1;
        }
        *i += 1;
    };
    while i < chars.len() {
        let c = chars[i];
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        match c {
            '\'' => {
                // A prefixed literal (E'', U&'', B'', X'', N'') is not plain.
                if prev.is_some_and(|p| is_ident_char(p) || p == '&') {
                    return None;
                }
                let (at_line, at_column) = (line, column);
                key.push('\'');
                step(&mut i, &mut line, &mut column);
                let mut value = String::new();
                loop {
                    let ch = *chars.get(i)?;
                    if ch == '\\' {
                        return None;
                    }
                    if ch == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            value.push('\'');
                            key.push_str("ss");
                            step(&mut i, &mut line, &mut column);
                            step(&mut i, &mut line, &mut column);
                            continue;
                        }
                        key.push('\'');
                        step(&mut i, &mut line, &mut column);
                        break;
                    }
                    value.push(ch);
                    key.push(if ch == '\n' { '\n' } else { 's' });
                    step(&mut i, &mut line, &mut column);
                }
                literals.push(Literal {
                    line: at_line,
                    column: at_column,
                    value: ast::Value::SingleQuotedString(value),
                });
            }
            '0'..='9' if !prev.is_some_and(|p| is_ident_char(p) || p == '.') => {
                let (at_line, at_column) = (line, column);
                let start = i;
                let digits = |i: &mut usize, line: &mut u64, column: &mut u64, key: &mut String| {
                    let from = *i;
                    while chars.get(*i).is_some_and(char::is_ascii_digit) {
                        key.push('9');
                        step(i, line, column);
                    }
                    *i > from
                };
                digits(&mut i, &mut line, &mut column, &mut key);
                if chars.get(i) == Some(&'.') {
                    key.push('.');
                    step(&mut i, &mut line, &mut column);
                    if !digits(&mut i, &mut line, &mut column, &mut key) {
                        return None;
                    }
                }
                if chars.get(i).is_some_and(|e| *e == 'e' || *e == 'E') {
                    key.push(chars[i]);
                    step(&mut i, &mut line, &mut column);
                    if chars.get(i).is_some_and(|s| *s == '+' || *s == '-') {
                        key.push(chars[i]);
                        step(&mut i, &mut line, &mut column);
                    }
                    if !digits(&mut i, &mut line, &mut column, &mut key) {
                        return None;
                    }
                }
                if chars.get(i).is_some_and(|n| is_ident_char(*n) || *n == '.') {
                    return None;
                }
                let raw: String = chars[start..i].iter().collect();
                literals.push(Literal { line: at_line, column: at_column, value: ast::Value::Number(raw, false) });
            }
            '"' => {
                // A quoted name, as written.
                key.push('"');
                step(&mut i, &mut line, &mut column);
                loop {
                    let ch = *chars.get(i)?;
                    key.push(ch);
                    step(&mut i, &mut line, &mut column);
                    if ch == '"' {
                        if chars.get(i) == Some(&'"') {
                            key.push('"');
                            step(&mut i, &mut line, &mut column);
                            continue;
                        }
                        break;
                    }
                }
            }
            // A parameter ($1) is part of the shape; a dollar quote is not read here.
            '$' if !prev.is_some_and(is_ident_char) && !next.is_some_and(|n| n.is_ascii_digit()) => return None,
            '-' if next == Some('-') => return None,
            '/' if next == Some('*') => return None,
            _ => {
                key.push(c);
                step(&mut i, &mut line, &mut column);
            }
        }
        if literals.len() > MAX_LITERALS {
            return None;
        }
    }
    Some((key, literals))
}

/// Whether statements of this kind are kept.
fn kept_kind(s: &Statement) -> bool {
    matches!(
        s,
        Statement::Query(_)
            | Statement::Insert(_)
            | Statement::Update { .. }
            | Statement::Delete(_)
            | Statement::Merge { .. }
            | Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
    )
}

/// Whether each literal is exactly one value node of `stmts`, at its position, with its value.
fn literals_in_place(stmts: &mut [Statement], literals: &[Literal]) -> bool {
    let mut seen = vec![false; literals.len()];
    let mut ok = true;
    let _ = visit_values(stmts, |v| {
        let start = v.span.start;
        if let Some(k) = literals.iter().position(|l| l.line == start.line && l.column == start.column) {
            if seen[k] || v.value != literals[k].value {
                ok = false;
                return ControlFlow::Break(());
            }
            seen[k] = true;
        }
        ControlFlow::Continue(())
    });
    ok && seen.iter().all(|s| *s)
}

/// Puts `literals`' values into the value nodes at their positions.
fn put_literals(stmts: &mut [Statement], literals: Vec<Literal>) {
    let mut literals: Vec<Option<Literal>> = literals.into_iter().map(Some).collect();
    let _ = visit_values(stmts, |v| {
        let start = v.span.start;
        let found =
            literals.iter_mut().find(|l| l.as_ref().is_some_and(|l| l.line == start.line && l.column == start.column));
        if let Some(l) = found.and_then(Option::take) {
            v.value = l.value;
        }
        ControlFlow::Continue(())
    });
}

/// Calls `f` on each value node of `stmts` until it breaks.
fn visit_values(
    stmts: &mut [Statement],
    mut f: impl FnMut(&mut ast::ValueWithSpan) -> ControlFlow<()>,
) -> ControlFlow<()> {
    for s in stmts {
        ast::visit_expressions_mut(s, |e| match e {
            ast::Expr::Value(v) => f(v),
            _ => ControlFlow::Continue(()),
        })?;
    }
    ControlFlow::Continue(())
}

/// [`super::parse`], from the cache where `sql`'s shape is in it.
pub(super) fn parse(sql: &str, parse: impl Fn(&str) -> Result<Vec<Statement>>) -> Result<Vec<Statement>> {
    let Some((key, literals)) = shape(sql) else {
        return parse(sql);
    };
    let cached = SHAPES.with(|s| s.borrow().get(&key).cloned());
    match cached {
        Some(Some(mut stmts)) => {
            super::long_names::clear_notices();
            put_literals(&mut stmts, literals);
            // Every test run (debug builds) checks the copy against a parse of its own.
            #[cfg(debug_assertions)]
            if let Ok(fresh) = parse(sql) {
                debug_assert_eq!(format!("{stmts:?}"), format!("{fresh:?}"), "parse cache: {sql}");
                super::long_names::clear_notices();
            }
            Ok(stmts)
        }
        Some(None) => parse(sql),
        None => {
            let mut stmts = parse(sql)?;
            let notices = super::long_names::take_notices();
            let keep = notices.is_empty()
                && stmts.len() == 1
                && stmts.iter().all(kept_kind)
                && literals_in_place(&mut stmts, &literals);
            super::long_names::restore_notices(notices);
            SHAPES.with(|s| {
                let mut s = s.borrow_mut();
                if s.len() >= MAX_SHAPES {
                    s.clear();
                }
                s.insert(key, keep.then(|| stmts.clone()));
            });
            Ok(stmts)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_plain(sql: &str) -> Result<Vec<Statement>> {
        super::super::parse_text(sql)
    }

    #[test]
    fn shapes_mask_literals_only() {
        let (key, lits) = shape("UPDATE t SET a = a + -567 WHERE id = 81234 AND s = 'it''s'").unwrap();
        assert_eq!(key, "UPDATE t SET a = a + -999 WHERE id = 99999 AND s = 'sssss'");
        assert_eq!(lits.len(), 3);
        assert_eq!(lits[0], Literal { line: 1, column: 23, value: ast::Value::Number("567".into(), false) });
        assert_eq!(lits[2].value, ast::Value::SingleQuotedString("it's".into()));
        // Names with digits, parameters and quoted names stay as written.
        assert_eq!(shape("SELECT t1.c2 FROM \"x1\" WHERE a = $1").unwrap().0, "SELECT t1.c2 FROM \"x1\" WHERE a = $1");
        assert_eq!(shape("SELECT 1.5e-3, 2").unwrap().0, "SELECT 9.9e-9, 9");
        for given_up in [
            "SELECT 1 -- c",
            "SELECT /* c */ 1",
            "SELECT $$a$$",
            "SELECT E'a'",
            "SELECT 'a\\b'",
            "SELECT 1x",
            "SELECT 1.a",
            "SELECT 'open",
        ] {
            assert!(shape(given_up).is_none(), "{given_up}");
        }
    }

    #[test]
    fn a_shape_parsed_once_gives_each_text_its_literals() {
        let texts = [
            "UPDATE pgbench_accounts SET abalance = abalance + -567 WHERE aid = 81234",
            "UPDATE pgbench_accounts SET abalance = abalance + -123 WHERE aid = 45678",
            "SELECT 'ab', 1.5 FROM t WHERE x = 'c''d' LIMIT 10",
            "SELECT 'xy', 2.7 FROM t WHERE x = 'efgh' LIMIT 99",
            "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
            "INSERT INTO t VALUES (3, 'c'), (4, 'd')",
            // Never kept: the literals are no value nodes here.
            "SELECT CAST(x AS varchar(10)), DATE '2020-01-01'",
            "SELECT CAST(x AS varchar(20)), DATE '2021-02-02'",
        ];
        for sql in texts {
            let cached = parse(sql, parse_plain).unwrap();
            let fresh = parse_plain(sql).unwrap();
            assert_eq!(format!("{cached:?}"), format!("{fresh:?}"), "{sql}");
        }
        let shapes = SHAPES.with(|s| {
            let s = s.borrow();
            (s.values().filter(|v| v.is_some()).count(), s.values().filter(|v| v.is_none()).count())
        });
        assert_eq!(shapes, (3, 1));
    }
}
