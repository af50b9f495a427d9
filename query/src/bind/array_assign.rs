//! `UPDATE ... SET a[i] = x` and `SET a[lo:hi] = xs` (also in ON CONFLICT DO UPDATE): an
//! assignment to an array column's element or slice, which sqlparser's grammar lacks. The SET
//! list is written by tokens first: every subscripted assignment of a column becomes one
//! assignment of the column, `a = MARK(MARK(a, i, x), j, y)` in the written order (PostgreSQL
//! nests them the same way), and the binder binds the marker as [`ArrayFn::Assign`] /
//! [`ArrayFn::AssignSlice`] (array_set_element / array_set_slice of one dimension: a NULL or
//! empty array becomes `[i:i]={x}`, an index past the bounds extends it with NULLs).
//!
//! INSERT's column list takes subscripted columns too (`INSERT INTO t (a[1], a[3]) ...`): the
//! list is written by tokens with each such target as a marked name ([`TARGET_MARK`]), and the
//! binder assigns the values in the written order into a NULL of the column's type (not its
//! DEFAULT), as PostgreSQL does, so `(a[2]) VALUES (5)` stores `[2:2]={5}`. Not built: several
//! subscripts (`a[i][j] = x`, 0A000 by the syntax error staying), open slices (`a[:j] = xs`).

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
/// The marker function of an assignment through several subscripts (a jsonb path):
/// `(value, x, s1, s2, ...)`.
pub(super) const PATH_MARK: &str = "\u{1}array_assign_path";

fn word(t: &Token, k: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k))
}

/// One assignment of a SET list: its column (as written and folded), its subscript's token
/// range (or None), and its value's token range.
struct Item {
    column: String,
    key: String,
    subscript: Option<Vec<(usize, usize, Option<usize>)>>,
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
                    // Subscripts: `[e]` or `[lo:hi]`, or several `[e]` (a jsonb path).
                    let mut subs: Vec<(usize, usize, Option<usize>)> = Vec::new();
                    while matches!(tokens.get(j), Some(Token::LBracket)) {
                        let open = j;
                        let colon;
                        (j, colon) = subscript_end(tokens, open + 1)?;
                        subs.push((open + 1, j, colon));
                        j = skip_ws(j + 1);
                    }
                    if matches!(tokens.get(j), Some(Token::Period))
                        || (subs.len() > 1 && subs.iter().any(|s| s.2.is_some()))
                    {
                        return None;
                    }
                    subscript = Some(subs);
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
            let Some(subs) = &a.subscript else { continue };
            let value = text(a.value.0, a.value.1);
            e = match subs.as_slice() {
                [(from, to, Some(c))] if *c > *from && c + 1 < *to => {
                    format!("\"{SLICE_MARK}\"({e}, {}, {}, {value})", text(*from, *c), text(c + 1, *to))
                }
                [(_, _, Some(_))] => return None,
                [(from, to, None)] => format!("\"{ELEM_MARK}\"({e}, {}, {value})", text(*from, *to)),
                several => {
                    let keys: Vec<String> = several.iter().map(|(from, to, _)| text(*from, *to)).collect();
                    format!("\"{PATH_MARK}\"({e}, {value}, {})", keys.join(", "))
                }
            };
        }
        parts.push(format!("{} = {e}", it.column));
    }
    Some((format!("{} {} ", text(i, i + 1), parts.join(", ")), end))
}

/// What marks a subscripted target in INSERT's column list ([`insert_columns_syntax`]): the
/// column's name is `MARK col MARK subscript` (an element) or `MARK col MARK lo MARK hi` (a
/// slice), the subscripts as SQL text.
pub(super) const TARGET_MARK: char = '\u{1}';

/// A subscripted target of INSERT's column list ([`TARGET_MARK`]): the column (folded) and
/// the subscript (`[e]`: one expression; `[lo:hi]`: two).
pub(super) struct SubscriptedTarget {
    pub(super) column: String,
    pub(super) subscripts: Vec<ast::Expr>,
}

/// The subscripted target a column-list name marks; None if it is a plain name, an error if
/// its subscripts do not parse.
pub(super) fn subscripted_target(name: &str) -> Option<Result<SubscriptedTarget>> {
    let rest = name.strip_prefix(TARGET_MARK)?;
    let mut parts = rest.split(TARGET_MARK);
    let column = parts.next()?.to_string();
    let parse = |text: &str| -> Result<ast::Expr> {
        sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
            .try_with_sql(text)
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| SqlError::syntax(&e.to_string()))
    };
    Some(parts.map(parse).collect::<Result<Vec<_>>>().map(|subscripts| SubscriptedTarget { column, subscripts }))
}

/// `INSERT INTO t [AS alias] (a[i], b[lo:hi], c, ...)` (token `i`: the INTO), which sqlparser's
/// grammar lacks: the column list written with each subscripted target as one name marked
/// [`TARGET_MARK`], which the binder reads back ([`subscripted_target`]). Returns the text
/// and the token index after the list; None if the statement has no subscripted target or a
/// target this does not read (several subscripts `a[i][j]`, an open slice `a[:j]`, a field).
pub(super) fn insert_columns_syntax(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    let solid: Vec<usize> = (i..tokens.len()).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).collect();
    let before = (0..i).rev().find(|&j| !matches!(tokens[j], Token::Whitespace(_)))?;
    if !word(&tokens[before], "INSERT") || !word(&tokens[i], "INTO") {
        return None;
    }
    // The table's name (dotted words), an alias, then the list.
    let mut k = 2;
    while matches!(tokens[*solid.get(k)?], Token::Period) {
        k += 2;
    }
    if word(&tokens[*solid.get(k)?], "AS") {
        k += 2;
    }
    if !matches!(tokens[*solid.get(k)?], Token::LParen) {
        return None;
    }
    let open = solid[k];
    let text = |from: usize, to: usize| tokens[from..to].iter().map(|t| t.to_string()).collect::<String>();
    let mut items: Vec<String> = Vec::new();
    let mut any = false;
    k += 1;
    loop {
        let Token::Word(w) = &tokens[*solid.get(k)?] else { return None };
        let key = if w.quote_style.is_some() { w.value.clone() } else { w.value.to_ascii_lowercase() };
        let name = tokens[solid[k]].to_string();
        k += 1;
        if matches!(tokens[*solid.get(k)?], Token::LBracket) {
            // One subscript: `[e]` or `[lo:hi]`.
            let from = solid[k] + 1;
            let (j, colon) = subscript_end(tokens, from)?;
            let subscripts = match colon {
                Some(c) if text(from, c).trim().is_empty() || text(c + 1, j).trim().is_empty() => return None,
                Some(c) => format!("{}{TARGET_MARK}{}", text(from, c), text(c + 1, j)),
                None => text(from, j),
            };
            let marked = format!("{TARGET_MARK}{key}{TARGET_MARK}{subscripts}").replace('"', "\"\"");
            items.push(format!("\"{marked}\""));
            any = true;
            k = solid.iter().position(|&x| x == j)? + 1;
            if matches!(tokens[*solid.get(k)?], Token::LBracket | Token::Period) {
                return None;
            }
        } else {
            items.push(name);
        }
        match tokens[*solid.get(k)?] {
            Token::Comma => k += 1,
            Token::RParen => break,
            _ => return None,
        }
    }
    if !any {
        return None;
    }
    Some((format!("{} ({})", text(i, open), items.join(", ")), solid[k] + 1))
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
        let path = name == PATH_MARK;
        if (path && args.len() < 4) || (!path && args.len() != if slice { 4 } else { 3 }) {
            return Err(SqlError::internal("array assignment arguments"));
        }
        let column = match args[0] {
            ast::Expr::Identifier(id) => super::fold(id),
            ast::Expr::CompoundIdentifier(p) => p.last().map(super::fold).unwrap_or_default(),
            _ => String::new(),
        };
        let a = self.expr(args[0], scope)?;
        // (x, s..., value), or for a path (x, value, s...).
        let (subscript_args, value_arg) =
            if path { (&args[2..], args[1]) } else { (&args[1..args.len() - 1], args[args.len() - 1]) };
        if a.ty() == SqlType::Jsonb && !slice {
            let mut keys = Vec::with_capacity(subscript_args.len());
            for e in subscript_args {
                keys.push(self.jsonb_subscript_key(e, scope)?);
            }
            let value = self.expr(value_arg, scope)?;
            return self.jsonb_assignment(&column, a, keys, value);
        }
        if path {
            return Err(SqlError::unsupported(format!(
                "assignment to several subscripts of \"{column}\" is not supported yet"
            )));
        }
        let mut subscripts = Vec::with_capacity(2);
        for e in subscript_args {
            subscripts.push(self.expr(e, scope)?);
        }
        let value = self.expr(value_arg, scope)?;
        self.subscripted_assignment(&column, a, subscripts, value)
    }

    /// `j` (jsonb column `column`'s value) with `value` assigned at the path of `keys` (int4
    /// or text, as [`Binder::jsonb_subscript_key`] coerced them).
    pub(super) fn jsonb_assignment(&mut self, column: &str, j: Expr, keys: Vec<Expr>, value: Expr) -> Result<Expr> {
        let from = value.ty();
        let value = self.coerce(value, SqlType::Jsonb, CastContext::Assignment, |_| {
            SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "subscripted assignment to \"{column}\" requires type jsonb but expression is of type {}",
                    from.name()
                ),
            )
            .hint("You will need to rewrite or cast the expression.")
        })?;
        let mut args = vec![j, value];
        args.extend(keys);
        Ok(Expr::Call(Builtin::JsonOp(crate::json::ops::JsonOpFn::SubscriptAssign), args, SqlType::Jsonb))
    }

    /// `array` (column `column`'s value) with `value` assigned to its element
    /// `subscripts[0]` or its slice `subscripts[0]:subscripts[1]`, with PostgreSQL's type
    /// errors (transformAssignmentIndirection's).
    pub(super) fn subscripted_assignment(
        &mut self,
        column: &str,
        array: Expr,
        subscripts: Vec<Expr>,
        value: Expr,
    ) -> Result<Expr> {
        let ty = array.ty();
        if ty == SqlType::Jsonb && subscripts.len() == 1 {
            let keys = subscripts.into_iter().map(|k| self.jsonb_key_of(k, None)).collect::<Result<Vec<_>>>()?;
            return self.jsonb_assignment(column, array, keys, value);
        }
        let SqlType::Array(at) = ty else {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("cannot subscript type {} because it does not support subscripting", ty.name()),
            ));
        };
        let slice = subscripts.len() == 2;
        let elem = at.elem();
        let mut out = vec![array];
        // As array_subscript_transform coerces them (assignment casts: `a[1.5]` is `a[2]`).
        for x in subscripts {
            out.push(self.coerce(x, SqlType::Int4, CastContext::Assignment, |_| {
                SqlError::new(code::DATATYPE_MISMATCH, "array subscript must have type integer")
            })?);
        }
        let target = if slice { ty } else { elem };
        let from = value.ty();
        out.push(self.coerce(value, target, CastContext::Assignment, |_| {
            SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "subscripted assignment to \"{column}\" requires type {} but expression is of type {}",
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

/// The `]` closing a subscript whose text starts at `from` (nested brackets and parentheses
/// skipped), and the `:` of a slice at its top level; None if it never closes.
fn subscript_end(tokens: &[sqlparser::tokenizer::Token], from: usize) -> Option<(usize, Option<usize>)> {
    use sqlparser::tokenizer::Token;
    let mut depth = 0i32;
    let mut colon = None;
    let mut j = from;
    loop {
        match tokens.get(j)? {
            Token::LBracket | Token::LParen => depth += 1,
            Token::RBracket if depth == 0 => return Some((j, colon)),
            Token::RBracket | Token::RParen => depth -= 1,
            Token::Colon if depth == 0 => colon = Some(j),
            _ => {}
        }
        j += 1;
    }
}
