//! Binding arrays: `ARRAY[...]` constructors, subscripts and slices, `x op ANY/ALL (array)`,
//! the array operators (`||`, `@>`, `<@`, `&&`) and functions, with PostgreSQL 15's type
//! resolution (an untyped literal next to an array is an array of the same type; an element
//! next to an array takes the element type) and its errors.

use super::{no_function, op_error, Binder, Scope};
use crate::array::ArrayFn;
use crate::error::{code, Result, SqlError};
use crate::expr::{CmpOp, Expr};
use crate::scalar::Builtin;
use crate::types::CastContext;
use orbit_engine::table::{ArrayValue, Datum, SqlType};
use sqlparser::ast;

/// The type two array types are compared and combined as: their elements' common type
/// (numbers widen, strings are text), None when they have none.
pub(super) fn common(a: SqlType, b: SqlType) -> Option<SqlType> {
    common_as(a, b, true)
}

/// The type two arrays meet as for an `anyarray` operator (=, <, @>, ...): the same
/// element type (string types meet as text); None otherwise.
pub(super) fn same(a: SqlType, b: SqlType) -> Option<SqlType> {
    common_as(a, b, false)
}

fn common_as(a: SqlType, b: SqlType, widen: bool) -> Option<SqlType> {
    let (SqlType::Array(x), SqlType::Array(y)) = (a, b) else { return None };
    let (x, y) = (x.elem(), y.elem());
    let t = if super::base(x) == super::base(y) {
        if x == y {
            x
        } else {
            super::base(x)
        }
    } else if x.is_numeric() && y.is_numeric() && widen {
        super::promote(x, y)
    } else if x.is_string() && y.is_string() && widen {
        SqlType::Text
    } else if x.is_datetime() && y.is_datetime() && widen {
        super::datetime_common(x, y)
    } else {
        return None;
    };
    t.array_of()
}

fn call(f: ArrayFn, args: Vec<Expr>, ty: SqlType) -> Expr {
    Expr::Call(Builtin::Array(f), args, ty)
}

/// The operators ANY/ALL take: Some(comparison), or Some(None) for a regular expression or
/// LIKE operator (`super::is_text_match`); None for another.
pub(super) fn quantified_operator(op: &ast::BinaryOperator) -> Option<Option<CmpOp>> {
    use ast::BinaryOperator as B;
    Some(match op {
        B::Eq => Some(CmpOp::Eq),
        B::NotEq => Some(CmpOp::NotEq),
        B::Lt => Some(CmpOp::Lt),
        B::LtEq => Some(CmpOp::LtEq),
        B::Gt => Some(CmpOp::Gt),
        B::GtEq => Some(CmpOp::GtEq),
        op if super::is_text_match(op) => None,
        _ => return None,
    })
}

fn not_array(t: SqlType) -> SqlError {
    SqlError::new(
        code::DATATYPE_MISMATCH,
        format!("cannot subscript type {} because it does not support subscripting", super::base(t).name()),
    )
}

impl Binder<'_> {
    /// `name[i]` of a `name` value (raw_array_subscript_handler: a catalog's `name` column is a
    /// fixed array of bytes): its byte `i` (from 0) as a `"char"`, `substr(name, i + 1,
    /// 1)::"char"`.
    fn name_char(&mut self, root: &ast::Expr, index: &ast::Expr, scope: Option<&Scope>) -> Result<Expr> {
        let one = || ast::Expr::Value(ast::Value::Number("1".into(), false).into());
        let pos = ast::Expr::BinaryOp {
            left: Box::new(ast::Expr::Nested(Box::new(index.clone()))),
            op: ast::BinaryOperator::Plus,
            right: Box::new(one()),
        };
        let s = self.expr(root, scope)?;
        let pos = self.expr(&pos, scope)?;
        let len = self.expr(&one(), scope)?;
        let types = [s.ty(), pos.ty(), len.ty()];
        let c = self.scalar_function("substr", vec![s, pos, len], &types)?;
        self.coerce(c, SqlType::Char, CastContext::Explicit, |_| SqlError::internal("name subscript"))
    }

    /// `ARRAY[a, b, ...]` (and the inner `[...]` of `ARRAY[[1,2],[3,4]]`).
    pub(super) fn array_constructor(&mut self, a: &ast::Array, scope: Option<&Scope>) -> Result<Expr> {
        if a.elem.is_empty() {
            return Err(SqlError::new(code::INDETERMINATE_DATATYPE, "cannot determine type of empty array")
                .hint("Explicitly cast to the desired type, for example ARRAY[]::integer[]."));
        }
        let mut items = Vec::with_capacity(a.elem.len());
        for e in &a.elem {
            items.push(self.expr(e, scope)?);
        }
        let mut ty = self.common_type(&items, "ARRAY")?;
        // Untyped literals alone make a text array.
        if items.iter().all(|i| i.ty() == SqlType::Unknown) {
            ty = SqlType::Text;
        }
        let items = items
            .into_iter()
            .map(|i| {
                let from = i.ty();
                self.coerce(i, ty, CastContext::Implicit, |_| {
                    SqlError::new(
                        code::DATATYPE_MISMATCH,
                        format!("ARRAY types {} and {} cannot be matched", ty.name(), from.name()),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let out = match ty {
            SqlType::Array(_) => ty,
            t => t.array_of().ok_or_else(|| {
                SqlError::new(code::UNDEFINED_OBJECT, format!("could not find array type for data type {}", t.name()))
            })?,
        };
        Ok(call(ArrayFn::Construct(ty), items, out))
    }

    /// `CAST(ARRAY[] AS t[])` / `ARRAY[]::t[]`: the empty array of that type.
    pub(super) fn empty_array(&self, to: SqlType) -> Result<Expr> {
        match to {
            SqlType::Array(a) => Ok(Expr::Const(Datum::Array(Box::new(ArrayValue::empty(a.elem()))), to)),
            // Not an array type: PostgreSQL cannot type the empty array then either.
            _ => Err(SqlError::new(code::INDETERMINATE_DATATYPE, "cannot determine type of empty array")
                .hint("Explicitly cast to the desired type, for example ARRAY[]::integer[].")),
        }
    }

    /// `a[i]`, `a[i][j]`, `a[lo:hi]`.
    pub(super) fn subscript(
        &mut self,
        root: &ast::Expr,
        chain: &[ast::AccessExpr],
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        // `t.col[i]`: sqlparser reads the qualifier as the root and `.col` as the chain's first
        // step; the column is the qualified name (Django's `con.conkey[1]`).
        let dots = chain.iter().take_while(|c| matches!(c, ast::AccessExpr::Dot(ast::Expr::Identifier(_)))).count();
        let qualifier = match root {
            ast::Expr::Identifier(i) => Some(vec![i.clone()]),
            ast::Expr::CompoundIdentifier(parts) => Some(parts.clone()),
            _ => None,
        };
        if let (true, Some(mut parts)) = (dots > 0, qualifier) {
            parts.extend(chain[..dots].iter().filter_map(|c| match c {
                ast::AccessExpr::Dot(ast::Expr::Identifier(i)) => Some(i.clone()),
                _ => None,
            }));
            let column = ast::Expr::CompoundIdentifier(parts);
            return match &chain[dots..] {
                [] => self.expr(&column, scope),
                rest => self.subscript(&column, rest, scope),
            };
        }
        let a = self.expr(root, scope)?;
        let ty = a.ty();
        if let (SqlType::Name, [ast::AccessExpr::Subscript(ast::Subscript::Index { index })]) = (ty, chain) {
            return self.name_char(root, index, scope);
        }
        if ty == SqlType::Jsonb {
            return self.jsonb_subscript(a, chain, scope);
        }
        let SqlType::Array(at) = ty else {
            let at = self.pos(&sqlparser::ast::Spanned::span(root));
            return Err(not_array(ty).at(at));
        };
        let int = |b: &mut Self, e: &ast::Expr| -> Result<Expr> {
            let x = b.expr(e, scope)?;
            let from = x.ty();
            b.coerce(x, SqlType::Int4, CastContext::Implicit, |_| {
                SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!("array subscript must have type integer, not {}", from.name()),
                )
            })
        };
        let mut indexes = Vec::new();
        let mut slice: Option<(Option<Expr>, Option<Expr>)> = None;
        for c in chain {
            match c {
                ast::AccessExpr::Subscript(ast::Subscript::Index { index }) if slice.is_none() => {
                    indexes.push(int(self, index)?)
                }
                ast::AccessExpr::Subscript(ast::Subscript::Slice { lower_bound, upper_bound, stride: None })
                    if slice.is_none() && indexes.is_empty() =>
                {
                    let lo = lower_bound.as_ref().map(|e| int(self, e)).transpose()?;
                    let hi = upper_bound.as_ref().map(|e| int(self, e)).transpose()?;
                    slice = Some((lo, hi));
                }
                _ => return Err(SqlError::unsupported("this array subscript is not supported")),
            }
        }
        if let Some((lo, hi)) = slice {
            let f = ArrayFn::Slice(lo.is_some(), hi.is_some());
            let mut args = vec![a];
            args.extend(lo);
            args.extend(hi);
            return Ok(call(f, args, ty));
        }
        let mut args = vec![a];
        args.extend(indexes);
        Ok(call(ArrayFn::Subscript, args, at.elem()))
    }

    /// A jsonb subscript, as jsonb_subscript_transform coerces it: to int4 or text (an
    /// untyped literal text), else 42804; the value as text for the path of `#>`.
    pub(super) fn jsonb_subscript_key(&mut self, e: &ast::Expr, scope: Option<&Scope>) -> Result<Expr> {
        let x = self.expr(e, scope)?;
        let at = self.pos(&sqlparser::ast::Spanned::span(e));
        self.jsonb_key_of(x, at)
    }

    /// [`Binder::jsonb_subscript_key`] of a bound subscript (`at`: where errors point).
    pub(super) fn jsonb_key_of(&mut self, x: Expr, at: Option<usize>) -> Result<Expr> {
        let t = x.ty();
        let unsupported = || {
            SqlError::new(code::DATATYPE_MISMATCH, format!("subscript type {} is not supported", t.name()))
                .hint("jsonb subscript must be coercible to either integer or text.")
                .at(at)
        };
        let x = if matches!(t, SqlType::Int2 | SqlType::Int4) {
            self.coerce(x, SqlType::Int4, CastContext::Implicit, |_| unsupported())?
        } else if t == SqlType::Unknown || t.is_string() {
            self.coerce(x, SqlType::Text, CastContext::Implicit, |_| unsupported())?
        } else {
            return Err(unsupported());
        };
        Ok(x)
    }

    /// `j['a'][0]` of a jsonb value: `j #> ARRAY['a', '0']` (jsonb_subscript_fetch reads the
    /// subscripts as a text path the same way).
    fn jsonb_subscript(&mut self, j: Expr, chain: &[ast::AccessExpr], scope: Option<&Scope>) -> Result<Expr> {
        let mut path = Vec::with_capacity(chain.len());
        for c in chain {
            match c {
                ast::AccessExpr::Subscript(ast::Subscript::Index { index }) => {
                    let k = self.jsonb_subscript_key(index, scope)?;
                    path.push(match k.ty() {
                        SqlType::Text => k,
                        _ => Expr::Cast(Box::new(k), SqlType::Text, true),
                    });
                }
                ast::AccessExpr::Subscript(ast::Subscript::Slice { lower_bound, upper_bound, .. }) => {
                    let bound = upper_bound.as_ref().or(lower_bound.as_ref());
                    let at = bound.and_then(|b| self.pos(&sqlparser::ast::Spanned::span(b)));
                    return Err(
                        SqlError::new(code::DATATYPE_MISMATCH, "jsonb subscript does not support slices").at(at)
                    );
                }
                _ => return Err(SqlError::unsupported("this jsonb subscript is not supported")),
            }
        }
        let text_array = SqlType::Text.array_of().ok_or_else(|| SqlError::internal("text[]"))?;
        let path = call(ArrayFn::Construct(SqlType::Text), path, text_array);
        Ok(Expr::Call(
            crate::scalar::Builtin::JsonOp(crate::json::ops::JsonOpFn::PathGet { as_text: false }),
            vec![j, path],
            SqlType::Jsonb,
        ))
    }

    /// `x op ANY (array)` / `x op SOME (array)` / `x op ALL (array)`.
    pub(super) fn quantified(
        &mut self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        all: bool,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        let Some(cmp) = quantified_operator(op) else {
            return Err(SqlError::unsupported(format!("operator {op} with ANY/ALL is not supported yet")));
        };
        if matches!(right, ast::Expr::Subquery(_)) {
            return Err(SqlError::unsupported("ANY/ALL with a subquery is not supported yet"));
        }
        let Some(cmp) = cmp else { return self.quantified_regex(left, op, right, all, scope) };
        let l = self.expr(left, scope)?;
        let r = self.expr(right, scope)?;
        // An untyped array (a literal, a parameter) is an array of the left side's type.
        let r = match r.ty() {
            SqlType::Unknown => {
                let lt = match l.ty() {
                    SqlType::Unknown => SqlType::Text,
                    t => super::base(t),
                };
                let to = lt.array_of().ok_or_else(|| SqlError::unsupported("ANY/ALL over this type"))?;
                self.coerce(r, to, CastContext::Implicit, |_| SqlError::internal("unknown"))?
            }
            SqlType::Array(_) => r,
            _ => return Err(SqlError::new("42809", "op ANY/ALL (array) requires array on right side")),
        };
        let SqlType::Array(at) = r.ty() else { return Err(SqlError::internal("array")) };
        // The comparison as `x op element` resolves it.
        let probe = Expr::Const(Datum::Null, at.elem());
        let Expr::Cmp(_, l, probe) = self.compare(cmp, l, probe)? else { return Err(SqlError::internal("compare")) };
        let et = probe.ty();
        let to = et.array_of().ok_or_else(|| SqlError::internal("array type"))?;
        let r = self.coerce(r, to, CastContext::Implicit, |_| SqlError::internal("array cast"))?;
        Ok(call(ArrayFn::Quantified(cmp, all), vec![*l, r], SqlType::Bool))
    }

    /// `x ~ ANY (patterns)`, `x !~* ALL (patterns)`, `x ~~ ANY (patterns)` (`x LIKE ANY`), ...:
    /// text against a text array.
    fn quantified_regex(
        &mut self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        all: bool,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        use ast::BinaryOperator as B;
        let sym = op.to_string();
        let l = self.expr(left, scope)?;
        let r = self.expr(right, scope)?;
        let (lt, rt) = (l.ty(), r.ty());
        let stringy = |t: SqlType| t.is_string() || t == SqlType::Unknown;
        let elem_ok = match rt {
            SqlType::Unknown => true,
            SqlType::Array(at) => stringy(at.elem()),
            _ => return Err(SqlError::new("42809", "op ANY/ALL (array) requires array on right side")),
        };
        if !stringy(lt) || !elem_ok {
            let elem = match rt {
                SqlType::Array(at) if at.elem() == SqlType::Unknown => SqlType::Text,
                SqlType::Array(at) => at.elem(),
                t => t,
            };
            return Err(op_error(lt, &sym, elem));
        }
        let text_array = SqlType::Text.array_of().ok_or_else(|| SqlError::internal("text[]"))?;
        let like = matches!(op, B::PGLikeMatch | B::PGILikeMatch | B::PGNotLikeMatch | B::PGNotILikeMatch);
        // character(n) matches LIKE patterns with its padding (bpcharlike).
        let l = if like && matches!(lt, SqlType::Bpchar(_)) {
            l
        } else {
            self.coerce(l, SqlType::Text, CastContext::Implicit, |_| op_error(lt, &sym, rt))?
        };
        let r = self.coerce(r, text_array, CastContext::Implicit, |_| op_error(lt, &sym, rt))?;
        let ci = matches!(op, B::PGRegexIMatch | B::PGRegexNotIMatch | B::PGILikeMatch | B::PGNotILikeMatch);
        let negated = matches!(op, B::PGRegexNotMatch | B::PGRegexNotIMatch | B::PGNotLikeMatch | B::PGNotILikeMatch);
        Ok(call(ArrayFn::QuantifiedRegex { like, ci, negated, all }, vec![l, r], SqlType::Bool))
    }

    /// Whether `op` on these operand types is an array operator.
    pub(super) fn is_array_op(op: &ast::BinaryOperator, l: &Expr, r: &Expr) -> bool {
        use ast::BinaryOperator as B;
        let arr = |e: &Expr| matches!(e.ty(), SqlType::Array(_));
        match op {
            B::StringConcat => arr(l) || arr(r),
            B::AtArrow | B::ArrowAt | B::PGOverlap => true,
            _ => false,
        }
    }

    /// `||`, `@>`, `<@`, `&&` with an array operand.
    pub(super) fn array_binary(&mut self, op: &ast::BinaryOperator, l: Expr, r: Expr) -> Result<Expr> {
        use ast::BinaryOperator as B;
        let sym = op.to_string();
        let (lt, rt) = (l.ty(), r.ty());
        let err = || op_error(lt, &sym, rt);
        if *op == B::StringConcat {
            return match (lt, rt) {
                (SqlType::Array(_), SqlType::Array(_)) => {
                    let ty = common(lt, rt).ok_or_else(err)?;
                    let l = self.coerce(l, ty, CastContext::Implicit, |_| err())?;
                    let r = self.coerce(r, ty, CastContext::Implicit, |_| err())?;
                    Ok(call(ArrayFn::Cat(ty.elem().unwrap_or(SqlType::Text)), vec![l, r], ty))
                }
                // An untyped literal next to an array is read as an array.
                (SqlType::Array(_), SqlType::Unknown) | (SqlType::Unknown, SqlType::Array(_)) => {
                    let ty = if lt == SqlType::Unknown { rt } else { lt };
                    let l = self.coerce(l, ty, CastContext::Implicit, |_| err())?;
                    let r = self.coerce(r, ty, CastContext::Implicit, |_| err())?;
                    Ok(call(ArrayFn::Cat(ty.elem().unwrap_or(SqlType::Text)), vec![l, r], ty))
                }
                (SqlType::Array(a), _) => {
                    let r = self.coerce(r, a.elem(), CastContext::Implicit, |_| err())?;
                    Ok(call(ArrayFn::Append(a.elem()), vec![l, r], lt))
                }
                (_, SqlType::Array(a)) => {
                    let l = self.coerce(l, a.elem(), CastContext::Implicit, |_| err())?;
                    Ok(call(ArrayFn::Prepend(a.elem()), vec![l, r], rt))
                }
                _ => Err(err()),
            };
        }
        let f = match op {
            B::AtArrow => ArrayFn::Contains,
            B::ArrowAt => ArrayFn::ContainedBy,
            _ => ArrayFn::Overlaps,
        };
        let ty = match (lt, rt) {
            (SqlType::Array(_), SqlType::Array(_)) => same(lt, rt).ok_or_else(err)?,
            (SqlType::Array(_), SqlType::Unknown) => lt,
            (SqlType::Unknown, SqlType::Array(_)) => rt,
            _ if !matches!(op, B::PGOverlap | B::AtArrow | B::ArrowAt) => return Err(err()),
            _ => {
                return Err(SqlError::unsupported(format!(
                    "operator {sym} is not supported for {} and {}",
                    lt.name(),
                    rt.name()
                )))
            }
        };
        let l = self.coerce(l, ty, CastContext::Implicit, |_| err())?;
        let r = self.coerce(r, ty, CastContext::Implicit, |_| err())?;
        Ok(call(f, vec![l, r], SqlType::Bool))
    }

    /// The array functions by name; None when `name` is not one.
    pub(super) fn array_function(&mut self, name: &str, args: Vec<Expr>, types: &[SqlType]) -> Result<Option<Expr>> {
        let f = match name {
            "array_length" => ArrayFn::Length,
            "array_upper" => ArrayFn::Upper,
            "array_lower" => ArrayFn::Lower,
            "array_ndims" => ArrayFn::Ndims,
            "array_dims" => ArrayFn::Dims,
            "cardinality" => ArrayFn::Cardinality,
            "array_position" => ArrayFn::Position,
            "array_positions" => ArrayFn::Positions,
            "array_remove" => ArrayFn::Remove,
            "array_replace" => ArrayFn::Replace,
            "array_to_string" => ArrayFn::ToString,
            "string_to_array" => ArrayFn::FromString,
            "array_cat" => ArrayFn::Cat(SqlType::Text),
            "array_append" => ArrayFn::Append(SqlType::Text),
            "array_prepend" => ArrayFn::Prepend(SqlType::Text),
            _ => return Ok(None),
        };
        let nf = || no_function(name, types);
        let n = args.len();
        let mut it = args.into_iter();
        let mut next = || it.next().ok_or_else(nf);
        // The array argument: an untyped one can't be resolved (PostgreSQL: the function
        // does not exist for unknown).
        let array_arg = |e: Expr| -> Result<(Expr, SqlType)> {
            match e.ty() {
                SqlType::Array(a) => Ok((e, a.elem())),
                _ => Err(nf()),
            }
        };
        let e = match f {
            ArrayFn::Length | ArrayFn::Upper | ArrayFn::Lower => {
                if n != 2 {
                    return Err(nf());
                }
                let (a, _) = array_arg(next()?)?;
                let d = self.coerce(next()?, SqlType::Int4, CastContext::Implicit, |_| nf())?;
                call(f, vec![a, d], SqlType::Int4)
            }
            ArrayFn::Ndims | ArrayFn::Cardinality | ArrayFn::Dims => {
                if n != 1 {
                    return Err(nf());
                }
                let (a, _) = array_arg(next()?)?;
                let ty = if f == ArrayFn::Dims { SqlType::Text } else { SqlType::Int4 };
                call(f, vec![a], ty)
            }
            ArrayFn::Position | ArrayFn::Positions | ArrayFn::Remove | ArrayFn::Replace => {
                let want = match f {
                    ArrayFn::Position => 2..=3,
                    ArrayFn::Replace => 3..=3,
                    _ => 2..=2,
                };
                if !want.contains(&n) {
                    return Err(nf());
                }
                let (a, elem) = array_arg(next()?)?;
                let aty = a.ty();
                let mut out = vec![a];
                out.push(self.coerce(next()?, elem, CastContext::Implicit, |_| nf())?);
                if f == ArrayFn::Replace {
                    out.push(self.coerce(next()?, elem, CastContext::Implicit, |_| nf())?);
                } else if n == 3 {
                    out.push(self.coerce(next()?, SqlType::Int4, CastContext::Implicit, |_| nf())?);
                }
                let ty = match f {
                    ArrayFn::Position => SqlType::Int4,
                    ArrayFn::Positions => SqlType::Int4.array_of().unwrap_or(SqlType::Int4),
                    _ => aty,
                };
                call(f, out, ty)
            }
            ArrayFn::ToString => {
                if !(2..=3).contains(&n) {
                    return Err(nf());
                }
                let (a, elem) = array_arg(next()?)?;
                let a = if elem == SqlType::Bytea { super::temporal::bytea_items_escaped(a) } else { a };
                let mut out = vec![a];
                for _ in 1..n {
                    let x = next()?;
                    if !(x.ty().is_string() || x.ty() == SqlType::Unknown) {
                        return Err(nf());
                    }
                    out.push(self.coerce(x, SqlType::Text, CastContext::Implicit, |_| nf())?);
                }
                call(f, out, SqlType::Text)
            }
            ArrayFn::FromString => {
                if !(2..=3).contains(&n) {
                    return Err(nf());
                }
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    let x = next()?;
                    if !(x.ty().is_string() || x.ty() == SqlType::Unknown) {
                        return Err(nf());
                    }
                    out.push(self.coerce(x, SqlType::Text, CastContext::Implicit, |_| nf())?);
                }
                call(f, out, SqlType::Text.array_of().unwrap_or(SqlType::Text))
            }
            ArrayFn::Cat(_) => {
                if n != 2 {
                    return Err(nf());
                }
                let (l, r) = (next()?, next()?);
                let ty = match (l.ty(), r.ty()) {
                    (a @ SqlType::Array(_), b @ SqlType::Array(_)) => common(a, b).ok_or_else(nf)?,
                    (a @ SqlType::Array(_), SqlType::Unknown) | (SqlType::Unknown, a @ SqlType::Array(_)) => a,
                    _ => return Err(nf()),
                };
                let l = self.coerce(l, ty, CastContext::Implicit, |_| nf())?;
                let r = self.coerce(r, ty, CastContext::Implicit, |_| nf())?;
                call(ArrayFn::Cat(ty.elem().unwrap_or(SqlType::Text)), vec![l, r], ty)
            }
            ArrayFn::Append(_) | ArrayFn::Prepend(_) => {
                if n != 2 {
                    return Err(nf());
                }
                let (x, y) = (next()?, next()?);
                let (a, v) = if matches!(f, ArrayFn::Append(_)) { (x, y) } else { (y, x) };
                let (a, elem) = array_arg(a)?;
                let aty = a.ty();
                let v = self.coerce(v, elem, CastContext::Implicit, |_| nf())?;
                if matches!(f, ArrayFn::Append(_)) {
                    call(ArrayFn::Append(elem), vec![a, v], aty)
                } else {
                    call(ArrayFn::Prepend(elem), vec![v, a], aty)
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(e))
    }
}
