//! Row constructor comparisons (PostgreSQL's "row constructor comparison", section 9.24.5):
//! `(a, b) = (1, 2)`, `ROW(a, b) <> ROW(x, y)`, `(a, b) < (x, y)` and `(a, b) [NOT] IN ((1, 2),
//! (3, 4))`, rewritten before binding into comparisons of the elements with PostgreSQL's NULL
//! rules: `=` is the AND of the element equalities and `<>` the OR of the inequalities;
//! `<`, `<=`, `>`, `>=` compare left to right, the first unequal pair deciding, and a NULL in
//! the pair that decides gives NULL — which `a1 < b1 OR (a1 = b1 AND (...))` gives under
//! three-valued logic. An IN list of rows is the OR of the row equalities.

use crate::error::{code, Result, SqlError};
use sqlparser::ast::{self, BinaryOperator as B, Expr as E};

/// The elements of a row constructor: `(a, b, ...)` or `ROW(...)` (None for anything else).
fn row_items(e: &E) -> Option<Vec<E>> {
    match e {
        E::Tuple(items) => Some(items.clone()),
        E::Nested(inner) => row_items(inner).filter(|_| matches!(inner.as_ref(), E::Tuple(_))),
        E::Function(f) if f.name.to_string().eq_ignore_ascii_case("row") => match &f.args {
            ast::FunctionArguments::List(l) if l.duplicate_treatment.is_none() && l.clauses.is_empty() => l
                .args
                .iter()
                .map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => Some(x.clone()),
                    _ => None,
                })
                .collect(),
            ast::FunctionArguments::None => None,
            _ => None,
        },
        _ => None,
    }
}

/// The elements of `e` when it is a row constructor.
pub(super) fn row_elements(e: &E) -> Option<Vec<E>> {
    row_items(e)
}

/// Notes (by address) the `row [NOT] IN (SELECT ...)` parts AND-ed at the top of `e`.
pub(super) fn top_row_ins(e: &E, out: &mut Vec<usize>) {
    match e {
        E::BinaryOp { left, op: B::And, right } => {
            top_row_ins(left, out);
            top_row_ins(right, out);
        }
        E::Nested(inner) => top_row_ins(inner, out),
        E::In { expr, target: ast::InTarget::Subquery(_), .. } if row_items(expr).is_some() => {
            out.push(e as *const E as usize)
        }
        _ => {}
    }
}

fn bin(left: E, op: B, right: E) -> E {
    E::BinaryOp { left: Box::new(left), op, right: Box::new(right) }
}

fn nested(e: E) -> E {
    E::Nested(Box::new(e))
}

/// `left op right` with both sides row constructors, as element comparisons (None: not such a
/// comparison).
pub(super) fn comparison(left: &E, op: &B, right: &E) -> Option<Result<E>> {
    if !matches!(op, B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq) {
        return None;
    }
    let (l, r) = (row_items(left)?, row_items(right)?);
    Some(compare(l, op, r))
}

fn compare(l: Vec<E>, op: &B, r: Vec<E>) -> Result<E> {
    if l.len() != r.len() {
        return Err(SqlError::new(code::SYNTAX_ERROR, "unequal number of entries in row expressions"));
    }
    if l.is_empty() {
        return Err(SqlError::unsupported("comparison of zero-column rows is not supported"));
    }
    let pairs: Vec<(E, E)> = l.into_iter().zip(r).collect();
    Ok(match op {
        B::Eq | B::NotEq => {
            let joiner = if *op == B::Eq { B::And } else { B::Or };
            let mut it = pairs.into_iter().map(|(a, b)| nested(bin(a, op.clone(), b)));
            let first = it.next().expect("checked non-empty");
            nested(it.fold(first, |acc, x| bin(acc, joiner.clone(), x)))
        }
        _ => {
            let strict = match op {
                B::Lt | B::LtEq => B::Lt,
                _ => B::Gt,
            };
            // From the last pair back: last `a op b`; before it `a strict b OR (a = b AND rest)`.
            let mut rev = pairs.into_iter().rev();
            let (a, b) = rev.next().expect("checked non-empty");
            let mut acc = nested(bin(a, op.clone(), b));
            for (a, b) in rev {
                let eq = nested(bin(a.clone(), B::Eq, b.clone()));
                acc = nested(bin(nested(bin(a, strict.clone(), b)), B::Or, nested(bin(eq, B::And, acc))));
            }
            acc
        }
    })
}

/// `row [NOT] IN (row, ...)`: the OR of the row equalities, negated for NOT IN (None: the left
/// side is not a row constructor).
pub(super) fn in_list(expr: &E, list: &[E], negated: bool) -> Option<Result<E>> {
    let l = row_items(expr)?;
    let mut alts = Vec::with_capacity(list.len());
    for item in list {
        let Some(r) = row_items(item) else {
            return Some(Err(SqlError::new(code::SYNTAX_ERROR, "unequal number of entries in row expressions")));
        };
        match compare(l.clone(), &B::Eq, r) {
            Ok(e) => alts.push(e),
            Err(e) => return Some(Err(e)),
        }
    }
    let mut it = alts.into_iter();
    let first = it.next()?;
    let any = nested(it.fold(first, |acc, x| bin(acc, B::Or, x)));
    Some(Ok(if negated { E::UnaryOp { op: ast::UnaryOperator::Not, expr: Box::new(any) } } else { any }))
}

/// The number of output columns of `q` when its text shows it (a SELECT list, or the first
/// SELECT of a set operation, without `*`).
fn output_width(q: &ast::Query) -> Option<usize> {
    fn body(b: &ast::SetExpr) -> Option<usize> {
        match b {
            ast::SetExpr::Select(s) => s
                .projection
                .iter()
                .all(|i| matches!(i, ast::SelectItem::UnnamedExpr(_) | ast::SelectItem::ExprWithAlias { .. }))
                .then_some(s.projection.len()),
            ast::SetExpr::Query(q) => body(&q.body),
            ast::SetExpr::SetOperation { left, .. } => body(left),
            ast::SetExpr::Values(v) => v.rows.first().map(|r| r.len()),
            _ => None,
        }
    }
    body(&q.body)
}

fn parse(text: &str) -> Result<E> {
    super::constraints::parse_stored(text).map_err(|e| SqlError::internal(format!("row IN rewrite: {e}")))
}

/// `row [NOT] IN (SELECT c1, ..., cn ...)` (None: the left side is not a row constructor).
/// PostgreSQL's value: true if the row equals a row of the subquery, else NULL if some
/// comparison was NULL, else false — written with EXISTS over the subquery's rows (as a derived
/// table whose columns only the rewrite names, so the left side's names still resolve outside):
/// `CASE WHEN EXISTS (... WHERE row = s) THEN true WHEN EXISTS (... WHERE (row = s) IS NULL)
/// THEN NULL ELSE false END`, negated for NOT IN. Where only true matters (`filter`: a
/// top-level AND-ed part of WHERE or ON, IN not negated), the first EXISTS alone, so the
/// planner can run it as a semi join.
pub(super) fn in_subquery(expr: &E, q: &ast::Query, negated: bool, filter: bool) -> Option<Result<E>> {
    let l = row_items(expr)?;
    Some(quantified(l, "=", false, q, negated, filter))
}

/// `row op ANY | ALL (SELECT c1, ..., cn ...)` for a row constructor of several elements
/// (None for anything else): PostgreSQL's row comparison with each of the subquery's rows —
/// ANY true if one is true, else NULL if one is NULL, else false; ALL false if one is false,
/// else NULL if one is NULL, else true — written with EXISTS as [`in_subquery`] writes IN.
pub(super) fn quantified_subquery(left: &E, op: &B, q: &ast::Query, all: bool) -> Option<Result<E>> {
    let l = row_items(left)?;
    if l.len() < 2 {
        return None;
    }
    if !matches!(op, B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq) {
        return None;
    }
    Some(quantified(l, &op.to_string(), all, q, false, false))
}

fn quantified(l: Vec<E>, sym: &str, all: bool, q: &ast::Query, negated: bool, filter: bool) -> Result<E> {
    (|| {
        let n = output_width(q)
            .ok_or_else(|| SqlError::unsupported("a row IN (subquery) whose select list has * is not supported yet"))?;
        if n > l.len() {
            return Err(SqlError::new(code::SYNTAX_ERROR, "subquery has too many columns"));
        }
        if n < l.len() {
            return Err(SqlError::new(code::SYNTAX_ERROR, "subquery has too few columns"));
        }
        let names: Vec<String> = (1..=n).map(|i| format!("\"?row_in{i}\"")).collect();
        let left: Vec<String> = l.iter().map(|e| format!("({e})")).collect();
        let eq = format!("({}) {sym} ({})", left.join(", "), names.join(", "));
        let from = format!("FROM ({q}) AS \"?row_in\" ({})", names.join(", "));
        let text = if all {
            format!(
                "CASE WHEN EXISTS (SELECT 1 {from} WHERE NOT ({eq})) THEN false \
                 WHEN EXISTS (SELECT 1 {from} WHERE ({eq}) IS NULL) THEN NULL ELSE true END"
            )
        } else if filter && !negated {
            format!("EXISTS (SELECT 1 {from} WHERE {eq})")
        } else {
            let v = format!(
                "CASE WHEN EXISTS (SELECT 1 {from} WHERE {eq}) THEN true \
                 WHEN EXISTS (SELECT 1 {from} WHERE ({eq}) IS NULL) THEN NULL ELSE false END"
            );
            if negated {
                format!("NOT ({v})")
            } else {
                v
            }
        };
        parse(&text)
    })()
}

/// A WHERE or ON condition with its top-level AND-ed `row IN (SELECT ...)` parts rewritten by
/// [`in_subquery`] for a filter (None: it has none).
pub(super) fn filter_in_subqueries(e: &E) -> Option<Result<E>> {
    match e {
        E::BinaryOp { left, op: B::And, right } => {
            let (l, r) = (filter_in_subqueries(left), filter_in_subqueries(right));
            if l.is_none() && r.is_none() {
                return None;
            }
            let l = l.unwrap_or_else(|| Ok(left.as_ref().clone()));
            let r = r.unwrap_or_else(|| Ok(right.as_ref().clone()));
            Some(l.and_then(|l| r.map(|r| bin(l, B::And, r))))
        }
        E::Nested(inner) => filter_in_subqueries(inner).map(|r| r.map(nested)),
        E::In { expr, target: ast::InTarget::Subquery(q), negated: false, .. } => in_subquery(expr, q, false, true),
        _ => None,
    }
}

/// `a IS [NOT] DISTINCT FROM b`: equality where NULL equals NULL and differs from any value,
/// never NULL itself; of rows, element by element. Written as
/// `CASE WHEN a IS NULL THEN b IS NULL WHEN b IS NULL THEN false ELSE a = b END` (its
/// negation for IS DISTINCT FROM).
pub(super) fn distinct_from(a: &E, b: &E, distinct: bool) -> Result<E> {
    let same = match (row_items(a), row_items(b)) {
        (Some(l), Some(r)) => {
            if l.len() != r.len() {
                return Err(SqlError::new(code::SYNTAX_ERROR, "unequal number of entries in row expressions"));
            }
            let mut parts = l.iter().zip(&r).map(|(x, y)| not_distinct(x, y));
            let first = parts.next().ok_or_else(|| SqlError::unsupported("comparison of zero-column rows"))?;
            nested(parts.fold(first, |acc, p| bin(acc, B::And, p)))
        }
        _ => not_distinct(a, b),
    };
    Ok(if distinct { E::UnaryOp { op: ast::UnaryOperator::Not, expr: Box::new(same) } } else { same })
}

fn not_distinct(a: &E, b: &E) -> E {
    let is_null = |e: &E| E::IsNull(Box::new(nested(e.clone())));
    nested(E::Case {
        case_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        end_token: sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
        operand: None,
        conditions: vec![
            ast::CaseWhen { condition: is_null(a), result: is_null(b) },
            ast::CaseWhen { condition: is_null(b), result: E::Value(ast::Value::Boolean(false).into()) },
        ],
        else_result: Some(Box::new(bin(nested(a.clone()), B::Eq, nested(b.clone())))),
    })
}
