//! `UPDATE ... SET a[i] = x` and `SET a[lo:hi] = xs` (also in ON CONFLICT DO UPDATE): an
//! assignment to an array column's element or slice, which sqlparser's grammar lacks. The SET
//! list is written by tokens first: every subscripted assignment of a column becomes one
//! assignment of the column, `a = MARK(MARK(a, i, x), j, y)` in the written order (PostgreSQL
//! nests them the same way), and the binder binds the marker as [`ArrayFn::Assign`] /
//! [`ArrayFn::AssignSlice`] (array_set_element / array_set_slice of one dimension: a NULL or
//! empty array becomes `[i:i]={x}`, an index past the bounds extends it with NULLs). Not
//! built: several subscripts (`a[i][j] = x`, 0A000 by the syntax error staying), open slices
//! (`a[:j] = xs`), a subscripted column in INSERT's column list.

use super::{Binder, Scope};
use crate::array::ArrayFn;
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use crate::scalar::Builtin;
use crate::types::CastContext;
use orbit_engine::table::SqlType;
use sqlparser::ast;
use sqlparser::tokenizer::Token;

/// The marker function of an element assignment: `(array, i, x)`.
pub(super) const ELEM_MARK: &str = "\u{1}array_assign";
/// The marker function of a slice assignment: `(array, lo, hi, xs)`.
pub(super) const SLICE_MARK: &str = "\u{1}array_assign_slice";

fn word(t: &Token, k: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k))
}

/// One assignment of a SET list: its column (as written and folded), its subscript's token
/// range (or None), and its value's token range.
struct Item {
    column: String,
    key: String,
    subscript: Option<(usize, usize, Option<usize>)>,
    value: (usize, usize),
    /// A target that is not a column name (a `(a, b)` list): copied as written.
    raw: Option<(usize, usize)>,
}

/// The SET list starting after token `i` (a SET) rewritten; None if it has no subscripted
/// assignment or is not a list this reads.
pub(super) fn set_syntax(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    let text = |from: usize, to: usize| tokens[from..to].iter().map(|t| t.to_string()).collect::<String>();
    let skip_ws = |mut j: usize| {
        while matches!(tokens.get(j), Some(Token::Whitespace(_))) {
            j += 1;
        }
        j
    };
    let mut items: Vec<Item> = Vec::new();
    let mut j = skip_ws(i + 1);
    let end;
    loop {
        let start = j;
        let (column, key, subscript, raw);
        match tokens.get(j)? {
            Token::Word(w) => {
                column = tokens[j].to_string();
                key = if w.quote_style.is_some() { w.value.clone() } else { w.value.to_lowercase() };
                j = skip_ws(j + 1);
                if matches!(tokens.get(j), Some(Token::LBracket)) {
                    // One subscript: `[e]` or `[lo:hi]`.
                    let open = j;
                    let mut depth = 0i32;
                    let mut colon = None;
                    loop {
                        j += 1;
                        match tokens.get(j)? {
                            Token::LBracket | Token::LParen => depth += 1,
                            Token::RBracket if depth == 0 => break,
                            Token::RBracket | Token::RParen => depth -= 1,
                            Token::Colon if depth == 0 => colon = Some(j),
                            _ => {}
                        }
                    }
                    subscript = Some((open + 1, j, colon));
                    j = skip_ws(j + 1);
                    if matches!(tokens.get(j), Some(Token::LBracket | Token::Period)) {
                        return None;
                    }
                } else {
                    subscript = None;
                }
                raw = None;
            }
            Token::LParen => {
                // `(a, b) = ...`: copied through.
                let mut depth = 0i32;
                loop {
                    match tokens.get(j)? {
                        Token::LParen => depth += 1,
                        Token::RParen => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                j = skip_ws(j + 1);
                (column, key, subscript, raw) = (String::new(), String::new(), None, Some((start, j)));
            }
            _ => return None,
        }
        if !matches!(tokens.get(j), Some(Token::Eq)) {
            return None;
        }
        let value_start = j + 1;
        let mut depth = 0i32;
        let mut k = value_start;
        let stop = loop {
            match tokens.get(k) {
                None | Some(Token::EOF) | Some(Token::SemiColon) => break k,
                Some(Token::LParen | Token::LBracket) => depth += 1,
                Some(Token::RParen | Token::RBracket) if depth == 0 => break k,
                Some(Token::RParen | Token::RBracket) => depth -= 1,
                Some(Token::Comma) if depth == 0 => break k,
                Some(t) if depth == 0 && (word(t, "WHERE") || word(t, "FROM") || word(t, "RETURNING")) => break k,
                _ => {}
            }
            k += 1;
        };
        if stop == value_start {
            return None;
        }
        items.push(Item { column, key, subscript, value: (value_start, stop), raw });
        if matches!(tokens.get(stop), Some(Token::Comma)) {
            j = skip_ws(stop + 1);
            continue;
        }
        end = stop;
        break;
    }
    if !items.iter().any(|it| it.subscript.is_some()) {
        return None;
    }
    // Each column's subscripted assignments nested, at the place of its first one.
    let mut parts: Vec<String> = Vec::new();
    let mut done: Vec<&str> = Vec::new();
    for it in &items {
        if let Some((from, to)) = it.raw {
            parts.push(format!("{}{}", text(from, to), text(it.value.0 - 1, it.value.1)));
            continue;
        }
        if it.subscript.is_none() {
            parts.push(format!("{} ={}", it.column, text(it.value.0, it.value.1)));
            continue;
        }
        if done.contains(&it.key.as_str()) {
            continue;
        }
        done.push(&it.key);
        let mut e = it.column.clone();
        for a in items.iter().filter(|a| a.raw.is_none() && a.key == it.key && a.subscript.is_some()) {
            let Some((from, to, colon)) = a.subscript else { continue };
            let value = text(a.value.0, a.value.1);
            e = match colon {
                Some(c) if c > from && c + 1 < to => {
                    format!("\"{SLICE_MARK}\"({e}, {}, {}, {value})", text(from, c), text(c + 1, to))
                }
                Some(_) => return None,
                None => format!("\"{ELEM_MARK}\"({e}, {}, {value})", text(from, to)),
            };
        }
        parts.push(format!("{} = {e}", it.column));
    }
    Some((format!("{} {} ", text(i, i + 1), parts.join(", ")), end))
}

impl Binder<'_> {
    /// The marker call [`set_syntax`] wrote: the array with an element or slice assigned.
    pub(super) fn array_assign_call(&mut self, f: &ast::Function, name: &str, scope: Option<&Scope>) -> Result<Expr> {
        let ast::FunctionArguments::List(l) = &f.args else { return Err(SqlError::internal("array assignment")) };
        let args: Vec<&ast::Expr> = l
            .args
            .iter()
            .filter_map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect();
        let slice = name == SLICE_MARK;
        if args.len() != if slice { 4 } else { 3 } {
            return Err(SqlError::internal("array assignment arguments"));
        }
        let a = self.expr(args[0], scope)?;
        let ty = a.ty();
        let SqlType::Array(at) = ty else {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("cannot subscript type {} because it does not support subscripting", ty.name()),
            ));
        };
        let elem = at.elem();
        let mut out = vec![a];
        for e in &args[1..args.len() - 1] {
            let x = self.expr(e, scope)?;
            let from = x.ty();
            out.push(self.coerce(x, SqlType::Int4, CastContext::Implicit, |_| {
                SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!("array subscript must have type integer, not {}", from.name()),
                )
            })?);
        }
        let value = self.expr(args[args.len() - 1], scope)?;
        let target = if slice { ty } else { elem };
        let from = value.ty();
        out.push(self.coerce(value, target, CastContext::Assignment, |_| {
            SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "subscripted assignment to array column requires type {} but expression is of type {}",
                    target.name(),
                    from.name()
                ),
            )
            .hint("You will need to rewrite or cast the expression.")
        })?);
        let func = if slice { ArrayFn::AssignSlice(elem) } else { ArrayFn::Assign(elem) };
        Ok(Expr::Call(Builtin::Array(func), out, ty))
    }
}
