//! Where in the query an error raised while binding an expression points (the `P` field of
//! ErrorResponse, psql's `LINE 1: ... ^`), for the errors PostgreSQL's parse analysis places:
//! a literal that is no value of the type it meets (22P02 and the other input-syntax errors)
//! at the literal, an unknown function at its name, an operator with no candidates for its
//! operand types at the operator, an unknown type at its name. The binder's expression nodes
//! carry sqlparser's spans; an error is placed by the innermost expression it leaves (an error
//! that already has a position keeps it).

use super::{char_position, span_position, Binder};
use crate::error::{code, SqlError};
use sqlparser::ast::{self, Spanned};
use std::ops::ControlFlow;

impl Binder<'_> {
    /// `err`, raised while `e` was bound, with PostgreSQL's position where it has one.
    pub(super) fn locate(&self, e: &ast::Expr, err: SqlError) -> SqlError {
        if err.position.is_some() {
            return err;
        }
        let at = match err.code {
            c if is_input_error(c) => literal_at(self.sql, e, &err.message),
            code::UNDEFINED_FUNCTION => match e {
                ast::Expr::Function(f) => {
                    let name = f.name.0.last().and_then(|p| p.as_ident()).map(super::fold).unwrap_or_default();
                    let named = err.message.starts_with(&format!("function {name}("))
                        || err.message.contains(&format!(".{name}("));
                    named.then(|| span_position(self.sql, &f.name.span())).flatten()
                }
                ast::Expr::BinaryOp { left, op, .. } => operator_at(self.sql, &err.message, left, &op.to_string()),
                ast::Expr::AnyOp { left, compare_op, .. } | ast::Expr::AllOp { left, compare_op, .. } => {
                    operator_at(self.sql, &err.message, left, &compare_op.to_string())
                }
                // `x [NOT] LIKE ...`: the operator is `~~` (`!~~`, ...), placed at the word
                // after the left operand (NOT's, LIKE's or ILIKE's), as gram.y places it.
                ast::Expr::Like { expr, .. } | ast::Expr::ILike { expr, .. }
                    if err.message.starts_with("operator does not exist: ") && err.message.contains("~~") =>
                {
                    after(self.sql, expr, |rest| rest.find(|c: char| !c.is_whitespace() && c != ')'))
                }
                _ => None,
            },
            // An ambiguous operator points at the operator too.
            "42725" => match e {
                ast::Expr::BinaryOp { left, op, .. } => operator_at(self.sql, &err.message, left, &op.to_string()),
                _ => None,
            },
            code::UNDEFINED_OBJECT => match e {
                ast::Expr::Cast { expr, .. } => type_at(self.sql, &err.message, expr),
                _ => None,
            },
            _ => None,
        };
        err.at(at)
    }
}

/// `err`, raised while `stmt` was bound, placed at the literal it quotes where no expression
/// placed it (a VALUES row, LIMIT, a column's value coerced to the column's type).
pub(super) fn locate_literal(sql: &str, stmt: &ast::Statement, err: SqlError) -> SqlError {
    if err.position.is_some() || !is_input_error(err.code) {
        return err;
    }
    let at = literal_at(sql, stmt, &err.message);
    err.at(at)
}

/// The codes of a value's text that is no value of its type.
fn is_input_error(code: &str) -> bool {
    matches!(code, code::INVALID_TEXT_REPRESENTATION | "22003" | "22007" | "22008")
}

/// The first string literal under `e` whose text is the one the message quotes.
fn literal_at<V: ast::Visit>(sql: &str, e: &V, message: &str) -> Option<usize> {
    // `...: "x"`, `value "x" is out of range ...` or float4in/float8in's `"x" is out of range
    // for type real`; an error naming no value (byteain's) points at the one string literal of
    // the expression that raised it.
    let quoted = match (message.strip_prefix("value \""), message.strip_prefix('"')) {
        (Some(rest), _) => Some(rest.split_once('"')?.0),
        (None, Some(rest)) if rest.contains("\" is out of range for type ") => {
            Some(rest.split_once("\" is out of range for type ")?.0)
        }
        _ => match message.rsplit_once(": \"") {
            Some((_, q)) => Some(q.strip_suffix('"')?),
            None if message.starts_with("invalid input syntax for type ") => None,
            None => return None,
        },
    };
    // A literal cast to a string type is read as that type whatever it holds: an input error
    // about its text comes from a later conversion at run time (`'x'::text::boolean`), which
    // PostgreSQL places nowhere.
    let mut typed_as_text = Vec::new();
    let _ = ast::visit_expressions(e, |x: &ast::Expr| {
        if let ast::Expr::Cast { expr, data_type, .. } = x {
            let ty = data_type.to_string().to_ascii_lowercase();
            let text = ["text", "varchar", "character varying", "char", "character", "bpchar"]
                .iter()
                .any(|t| ty == *t || ty.starts_with(&format!("{t}(")));
            if let (true, ast::Expr::Value(v)) = (text, expr.as_ref()) {
                typed_as_text.push(v.span);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let mut found = Vec::new();
    let _ = ast::visit_expressions(e, |x: &ast::Expr| {
        if let ast::Expr::Value(v) = x {
            if let ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) = &v.value {
                if quoted.is_none_or(|q| s == q) && !typed_as_text.contains(&v.span) {
                    found.push(v.span);
                    if quoted.is_some() {
                        return ControlFlow::Break(());
                    }
                }
            }
        }
        ControlFlow::Continue(())
    });
    match (quoted, &found[..]) {
        (Some(_), [first, ..]) | (None, [first]) => span_position(sql, first),
        _ => None,
    }
}

/// The type a cast names, after the expression cast.
fn type_at(sql: &str, message: &str, cast: &ast::Expr) -> Option<usize> {
    let name = message.strip_prefix("type \"")?.strip_suffix("\" does not exist")?;
    after(sql, cast, |rest| find_word(rest, name))
}

/// The operator `op` after `left`, when the message is about it.
fn operator_at(sql: &str, message: &str, left: &ast::Expr, op: &str) -> Option<usize> {
    let rest = message
        .strip_prefix("operator does not exist: ")
        .or_else(|| message.strip_prefix("operator is not unique: "))?;
    if !rest.contains(&format!(" {op} ")) {
        return None;
    }
    after(sql, left, |rest| rest.find(op))
}

/// The 1-based position of what `find` finds in the text after `e` (its offset, in bytes, into
/// that text).
fn after(sql: &str, e: &ast::Expr, find: impl Fn(&str) -> Option<usize>) -> Option<usize> {
    let end = e.span().end;
    // The span's end is the column just past the expression's last character.
    let start = char_position(sql, end.line, end.column)?.checked_sub(1)?;
    let byte = sql.char_indices().nth(start).map_or(sql.len(), |(b, _)| b);
    let off = find(&sql[byte..])?;
    Some(start + sql[byte..byte + off].chars().count() + 1)
}

/// Where `word` (case-insensitive, maybe quoted) starts in `text`.
fn find_word(text: &str, word: &str) -> Option<usize> {
    let lower = text.to_lowercase();
    (lower.len() == text.len()).then_some(())?;
    lower.find(&word.to_lowercase())
}
