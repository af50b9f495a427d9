//! Binding the string functions of [`crate::text_fns`] and the math functions and operators of
//! [`crate::math_fns`] (`^`, `|/`, `||/`, `@`, `&`, `|`, `#`, `~`, `<<`, `>>`), plus
//! `OVERLAY(s PLACING t FROM i [FOR n])` and `[NOT] SIMILAR TO`: argument types as PostgreSQL
//! 15 resolves them, no match is 42883.

use super::{base, no_function, op_error, promote, Binder, Scope};
use crate::error::{code, Result, SqlError};
use crate::expr::{Expr, Func};
use crate::math_fns::MathFn;
use crate::scalar::Builtin;
use crate::text_fns::TextFn;
use crate::types::CastContext;
use orbit_engine::table::{Datum, SqlType};
use sqlparser::ast;

/// The names [`Binder::text_math_function`] binds.
const NAMES: &[&str] = &[
    "regexp_replace",
    "regexp_match",
    "regexp_count",
    "regexp_instr",
    "regexp_like",
    "regexp_split_to_array",
    "chr",
    "ascii",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "get_byte",
    "set_byte",
    "initcap",
    "translate",
    "similar_to_escape",
    "overlay",
    "md5",
    "octet_length",
    "bit_length",
    "encode",
    "decode",
    "quote_literal",
    "quote_nullable",
    "to_hex",
    "format",
    "regexp_substr",
    "regexp_matches",
    "unistr",
    "get_bit",
    "set_bit",
    "bit_count",
    "pi",
    "cbrt",
    "degrees",
    "radians",
    "sin",
    "cos",
    "tan",
    "cot",
    "asin",
    "acos",
    "atan",
    "atan2",
    "width_bucket",
    "gcd",
    "lcm",
    "div",
    "scale",
    "setseed",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "sind",
    "cosd",
    "tand",
    "cotd",
    "asind",
    "acosd",
    "atand",
    "atan2d",
    "min_scale",
    "trim_scale",
    "numeric_inc",
    "factorial",
    "float4send",
    "float8send",
    "float8_accum",
    "float8_regr_accum",
    "float8_combine",
    "float8_regr_combine",
];

pub(super) fn is_function(name: &str) -> bool {
    NAMES.contains(&name)
}

fn stringy(t: SqlType) -> bool {
    t.is_string() || t == SqlType::Unknown
}

impl Binder<'_> {
    /// `SUBSTRING(s FROM pattern)` (a POSIX regular expression) and `SUBSTRING(s FROM pattern
    /// FOR escape)` (a SQL one), which PostgreSQL picks over the character positions when the
    /// pattern is a string (an untyped literal too).
    pub(super) fn regexp_substring(&mut self, args: Vec<Expr>, types: &[SqlType]) -> Result<Expr> {
        let (f, sig): (TextFn, &[SqlType]) = match types.len() {
            2 => (TextFn::RegexpSubstr, &[SqlType::Text, SqlType::Text]),
            _ => (TextFn::SimilarSubstr, &[SqlType::Text, SqlType::Text, SqlType::Text]),
        };
        let args = self.coerce_all("substring", args, types, sig, sig.len())?;
        Ok(Expr::Call(Builtin::Text(f), args, SqlType::Text))
    }

    /// substr/substring, btrim/ltrim/rtrim and overlay of a bytea (the caller saw a bytea first
    /// argument): the bytea versions, whose other arguments are bytea and int4.
    pub(super) fn bytea_function(&mut self, name: &str, args: Vec<Expr>, types: &[SqlType]) -> Result<Option<Expr>> {
        use crate::bytea_fns::ByteaFn;
        use SqlType::{Bytea as B, Int4 as I};
        let (f, sig, required): (ByteaFn, &[SqlType], usize) = match name {
            "substr" | "substring" => (ByteaFn::Substr, &[B, I, I], 2),
            "btrim" => (ByteaFn::Trim { start: true, end: true }, &[B, B], 2),
            "ltrim" => (ByteaFn::Trim { start: true, end: false }, &[B, B], 2),
            "rtrim" => (ByteaFn::Trim { start: false, end: true }, &[B, B], 2),
            "overlay" => (ByteaFn::Overlay, &[B, B, I, I], 3),
            _ => return Ok(None),
        };
        if args.len() < required || args.len() > sig.len() {
            return Err(no_function(name, types));
        }
        let mut out = Vec::with_capacity(args.len());
        for (a, to) in args.into_iter().zip(sig) {
            let from = a.ty();
            let fits = match to {
                B => matches!(from, B | SqlType::Unknown),
                _ => from.is_integer() || from == SqlType::Unknown,
            };
            if !fits {
                return Err(no_function(name, types));
            }
            out.push(self.coerce(a, *to, CastContext::Implicit, |_| no_function(name, types))?);
        }
        Ok(Some(Expr::Call(Builtin::Text(TextFn::Bytea(f)), out, B)))
    }

    /// Coerces every argument to its type in `sig` (all must be given: `args.len()` between
    /// `required` and `sig.len()`); a text parameter takes only strings and untyped literals.
    fn coerce_all(
        &mut self,
        name: &str,
        args: Vec<Expr>,
        types: &[SqlType],
        sig: &[SqlType],
        required: usize,
    ) -> Result<Vec<Expr>> {
        if args.len() < required || args.len() > sig.len() {
            return Err(no_function(name, types));
        }
        let mut out = Vec::with_capacity(args.len());
        for (a, to) in args.into_iter().zip(sig) {
            let from = a.ty();
            if *to == SqlType::Text && !stringy(from) {
                return Err(no_function(name, types));
            }
            if *to == SqlType::Float8 && !(from.is_numeric() || from == SqlType::Unknown) {
                return Err(no_function(name, types));
            }
            out.push(self.coerce(a, *to, CastContext::Implicit, |_| no_function(name, types))?);
        }
        Ok(out)
    }

    /// The functions of this module by name; None for any other name.
    pub(super) fn text_math_function(
        &mut self,
        name: &str,
        args: Vec<Expr>,
        types: &[SqlType],
    ) -> Result<Option<Expr>> {
        use SqlType::{Float8 as F, Int4 as I, Text as T};
        let text = |f: TextFn, args: Vec<Expr>, ty: SqlType| Ok(Some(Expr::Call(Builtin::Text(f), args, ty)));
        let math = |f: MathFn, args: Vec<Expr>, ty: SqlType| Ok(Some(Expr::Call(Builtin::Math(f), args, ty)));
        match name {
            "regexp_replace" => {
                if types.len() > 4 || types.get(3).is_some_and(|t| t.is_integer()) {
                    let args = self.coerce_all(name, args, types, &[T, T, T, I, I, T], 4)?;
                    return text(TextFn::RegexpReplaceAt, args, T);
                }
                let args = self.coerce_all(name, args, types, &[T, T, T, T], 3)?;
                text(TextFn::RegexpReplace, args, T)
            }
            "regexp_match" => {
                let args = self.coerce_all(name, args, types, &[T, T, T], 2)?;
                text(TextFn::RegexpMatch, args, T.array_of().unwrap_or(T))
            }
            "regexp_count" => text(TextFn::RegexpCount, self.coerce_all(name, args, types, &[T, T, I, T], 2)?, I),
            "regexp_instr" => {
                let args = self.coerce_all(name, args, types, &[T, T, I, I, I, T, I], 2)?;
                text(TextFn::RegexpInstr, args, I)
            }
            "regexp_substr" => {
                let args = self.coerce_all(name, args, types, &[T, T, I, I, T, I], 2)?;
                text(TextFn::RegexpNth, args, T)
            }
            // The rows of regexp_matches (its set-returning call unnests them, `bind/srf.rs`).
            "regexp_matches" => {
                let args = self.coerce_all(name, args, types, &[T, T, T], 2)?;
                text(TextFn::RegexpMatches, args, T.array_of().unwrap_or(T))
            }
            "unistr" => text(TextFn::Unistr, self.coerce_all(name, args, types, &[T], 1)?, T),
            "get_bit" | "set_bit" | "bit_count" => {
                use crate::bytea_fns::ByteaFn;
                let (f, sig, ty): (ByteaFn, &[SqlType], SqlType) = match name {
                    "get_bit" => (ByteaFn::GetBit, &[SqlType::Bytea, SqlType::Int8], I),
                    "set_bit" => (ByteaFn::SetBit, &[SqlType::Bytea, SqlType::Int8, I], SqlType::Bytea),
                    _ => (ByteaFn::BitCount, &[SqlType::Bytea], SqlType::Int8),
                };
                // The bytea versions (bit strings are not built); an untyped literal is one.
                if types.len() != sig.len() || !matches!(types[0], SqlType::Bytea | SqlType::Unknown) {
                    return Err(no_function(name, types));
                }
                let mut out = Vec::with_capacity(args.len());
                for (a, to) in args.into_iter().zip(sig) {
                    let from = a.ty();
                    if *to != SqlType::Bytea && !(from.is_integer() || from == SqlType::Unknown) {
                        return Err(no_function(name, types));
                    }
                    out.push(self.coerce(a, *to, CastContext::Implicit, |_| no_function(name, types))?);
                }
                text(TextFn::Bytea(f), out, ty)
            }
            "regexp_like" => {
                text(TextFn::RegexpLike, self.coerce_all(name, args, types, &[T, T, T], 2)?, SqlType::Bool)
            }
            "regexp_split_to_array" => {
                let args = self.coerce_all(name, args, types, &[T, T, T], 2)?;
                text(TextFn::RegexpSplit, args, T.array_of().unwrap_or(T))
            }
            "chr" => text(TextFn::Chr, self.coerce_all(name, args, types, &[I], 1)?, T),
            "ascii" => text(TextFn::Ascii, self.coerce_all(name, args, types, &[T], 1)?, I),
            "sha224" | "sha256" | "sha384" | "sha512" | "get_byte" | "set_byte" => {
                let (f, sig, ty): (TextFn, &[SqlType], SqlType) = match name {
                    "get_byte" => (TextFn::GetByte, &[SqlType::Bytea, I], I),
                    "set_byte" => (TextFn::SetByte, &[SqlType::Bytea, I, I], SqlType::Bytea),
                    _ => (TextFn::Sha(name[3..].parse().unwrap_or(512)), &[SqlType::Bytea], SqlType::Bytea),
                };
                // bytea only (an untyped literal is read as one): text has no implicit cast.
                if types.len() != sig.len() || !matches!(types[0], SqlType::Bytea | SqlType::Unknown) {
                    return Err(no_function(name, types));
                }
                let mut out = Vec::with_capacity(args.len());
                for (a, to) in args.into_iter().zip(sig) {
                    let from = a.ty();
                    if *to == I && !(from.is_integer() || from == SqlType::Unknown) {
                        return Err(no_function(name, types));
                    }
                    out.push(self.coerce(a, *to, CastContext::Implicit, |_| no_function(name, types))?);
                }
                text(f, out, ty)
            }
            "initcap" => text(TextFn::Initcap, self.coerce_all(name, args, types, &[T], 1)?, T),
            "translate" => text(TextFn::Translate, self.coerce_all(name, args, types, &[T, T, T], 3)?, T),
            "similar_to_escape" => text(TextFn::SimilarEscape, self.coerce_all(name, args, types, &[T, T], 1)?, T),
            "overlay" if types.first() == Some(&SqlType::Bytea) => self.bytea_function(name, args, types),
            "overlay" => text(TextFn::Overlay, self.coerce_all(name, args, types, &[T, T, I, I], 3)?, T),
            "md5" | "octet_length" | "bit_length" => {
                let f = match name {
                    "md5" => TextFn::Md5,
                    "octet_length" => TextFn::OctetLength,
                    _ => TextFn::BitLength,
                };
                let ty = if f == TextFn::Md5 { T } else { I };
                if types == [SqlType::Bytea] {
                    return text(f, args, ty);
                }
                text(f, self.coerce_all(name, args, types, &[T], 1)?, ty)
            }
            "encode" => {
                if types.len() != 2 || !matches!(types[0], SqlType::Bytea | SqlType::Unknown) {
                    return Err(no_function(name, types));
                }
                let mut it = args.into_iter();
                let b = it.next().ok_or_else(|| no_function(name, types))?;
                let b = self.coerce(b, SqlType::Bytea, CastContext::Implicit, |_| no_function(name, types))?;
                let mut out = vec![b];
                out.extend(self.coerce_all(name, it.collect(), &types[1..], &[T], 1)?);
                text(TextFn::Encode, out, T)
            }
            "decode" => text(TextFn::Decode, self.coerce_all(name, args, types, &[T, T], 2)?, SqlType::Bytea),
            "quote_literal" | "quote_nullable" => {
                let [a]: [Expr; 1] = args.try_into().map_err(|_| no_function(name, types))?;
                // quote_literal(anyelement): any other value by its text form.
                let ctx = if stringy(a.ty()) { CastContext::Implicit } else { CastContext::Explicit };
                let a = self.coerce(a, T, ctx, |_| no_function(name, types))?;
                let f = if name == "quote_literal" { TextFn::QuoteLiteral } else { TextFn::QuoteNullable };
                text(f, vec![a], T)
            }
            "to_hex" => {
                let to = match types {
                    [SqlType::Int8] => SqlType::Int8,
                    // int2 fits the int4 and the int8 versions alike.
                    [SqlType::Int2] => return Err(super::temporal::not_unique_function(name, types)),
                    [SqlType::Int4] => I,
                    _ => return Err(no_function(name, types)),
                };
                text(TextFn::ToHex, self.coerce_all(name, args, types, &[to], 1)?, T)
            }
            "format" => {
                if args.is_empty() || !stringy(types[0]) {
                    return Err(no_function(name, types));
                }
                // format(text, VARIADIC "any"): untyped literals are text, other values are
                // read in their text form.
                let mut out = Vec::with_capacity(args.len());
                for a in args {
                    out.push(if a.ty() == SqlType::Unknown {
                        self.coerce(a, T, CastContext::Implicit, |_| no_function(name, types))?
                    } else {
                        super::temporal::shown_in_zone(a, false)
                    });
                }
                text(TextFn::Format, out, T)
            }
            "pi" => math(MathFn::Pi, self.coerce_all(name, args, types, &[], 0)?, F),
            "cbrt" | "degrees" | "radians" | "sin" | "cos" | "tan" | "cot" | "asin" | "acos" | "atan" => {
                let f = match name {
                    "cbrt" => MathFn::Cbrt,
                    "degrees" => MathFn::Degrees,
                    "radians" => MathFn::Radians,
                    "sin" => MathFn::Sin,
                    "cos" => MathFn::Cos,
                    "tan" => MathFn::Tan,
                    "cot" => MathFn::Cot,
                    "asin" => MathFn::Asin,
                    "acos" => MathFn::Acos,
                    _ => MathFn::Atan,
                };
                math(f, self.coerce_all(name, args, types, &[F], 1)?, F)
            }
            // random() draws on each shard's own generator: there is no session seed to set.
            "setseed" => Err(SqlError::unsupported("setseed() is not supported: random() is not seeded per session")),
            "atan2" => math(MathFn::Atan2, self.coerce_all(name, args, types, &[F, F], 2)?, F),
            "width_bucket" if types.len() == 2 => self.width_bucket_array(args, types),
            "width_bucket" => {
                if types.len() != 4 || !types[3].is_integer() && types[3] != SqlType::Unknown {
                    return Err(no_function(name, types));
                }
                math(MathFn::WidthBucket, self.coerce_all(name, args, types, &[F, F, F, I], 4)?, I)
            }
            "gcd" | "lcm" => {
                let known: Vec<SqlType> = types.iter().copied().filter(|t| *t != SqlType::Unknown).collect();
                if args.len() != 2 || !known.iter().all(|t| t.is_integer() || t.is_decimal()) {
                    return Err(no_function(name, types));
                }
                let f = if name == "gcd" { MathFn::Gcd } else { MathFn::Lcm };
                if known.iter().any(|t| t.is_decimal()) {
                    let n = SqlType::NUMERIC;
                    return math(f, self.coerce_all(name, args, types, &[n, n], 2)?, n);
                }
                // int2 arguments fit the int4 and the int8 versions alike.
                if known.iter().all(|t| *t == SqlType::Int2) {
                    return Err(super::temporal::not_unique_function(name, types));
                }
                let ty = match known.iter().copied().reduce(promote) {
                    Some(SqlType::Int8) => SqlType::Int8,
                    _ => I,
                };
                math(f, self.coerce_all(name, args, types, &[ty, ty], 2)?, ty)
            }
            "div" | "scale" => {
                if !types.iter().all(|t| t.is_integer() || t.is_decimal() || *t == SqlType::Unknown) {
                    return Err(no_function(name, types));
                }
                let n = SqlType::NUMERIC;
                if name == "div" {
                    math(MathFn::Div, self.coerce_all(name, args, types, &[n, n], 2)?, n)
                } else {
                    math(MathFn::Scale, self.coerce_all(name, args, types, &[n], 1)?, I)
                }
            }
            "sinh" | "cosh" | "tanh" | "asinh" | "acosh" | "atanh" | "sind" | "cosd" | "tand" | "cotd" | "asind"
            | "acosd" | "atand" | "float8send" => {
                let (f, ty) = match name {
                    "sinh" => (MathFn::Sinh, F),
                    "cosh" => (MathFn::Cosh, F),
                    "tanh" => (MathFn::Tanh, F),
                    "asinh" => (MathFn::Asinh, F),
                    "acosh" => (MathFn::Acosh, F),
                    "atanh" => (MathFn::Atanh, F),
                    "sind" => (MathFn::Sind, F),
                    "cosd" => (MathFn::Cosd, F),
                    "tand" => (MathFn::Tand, F),
                    "cotd" => (MathFn::Cotd, F),
                    "asind" => (MathFn::Asind, F),
                    "acosd" => (MathFn::Acosd, F),
                    "atand" => (MathFn::Atand, F),
                    _ => (MathFn::Float8Send, SqlType::Bytea),
                };
                math(f, self.coerce_all(name, args, types, &[F], 1)?, ty)
            }
            "atan2d" => math(MathFn::Atan2d, self.coerce_all(name, args, types, &[F, F], 2)?, F),
            "float4send" => {
                math(MathFn::Float4Send, self.coerce_all(name, args, types, &[SqlType::Float4], 1)?, SqlType::Bytea)
            }
            "min_scale" | "trim_scale" | "numeric_inc" => {
                if !types.iter().all(|t| t.is_integer() || t.is_decimal() || *t == SqlType::Unknown) {
                    return Err(no_function(name, types));
                }
                let n = SqlType::NUMERIC;
                let (f, ty) = match name {
                    "min_scale" => (MathFn::MinScale, I),
                    "trim_scale" => (MathFn::TrimScale, n),
                    _ => (MathFn::NumericInc, n),
                };
                math(f, self.coerce_all(name, args, types, &[n], 1)?, ty)
            }
            "float8_accum" | "float8_regr_accum" | "float8_combine" | "float8_regr_combine" => {
                let fa = SqlType::Float8.array_of().unwrap_or(SqlType::Float8);
                let (f, sig): (MathFn, &[SqlType]) = match name {
                    "float8_accum" => (MathFn::Float8Accum, &[fa, F]),
                    "float8_regr_accum" => (MathFn::Float8RegrAccum, &[fa, F, F]),
                    "float8_combine" => (MathFn::Float8Combine, &[fa, fa]),
                    _ => (MathFn::Float8RegrCombine, &[fa, fa]),
                };
                math(f, self.coerce_all(name, args, types, sig, sig.len())?, fa)
            }
            "factorial" => {
                if !types.iter().all(|t| t.is_integer() || *t == SqlType::Unknown) {
                    return Err(no_function(name, types));
                }
                math(MathFn::Factorial, self.coerce_all(name, args, types, &[SqlType::Int8], 1)?, SqlType::NUMERIC)
            }
            _ => Ok(None),
        }
    }

    /// width_bucket(anyelement, anyarray): the operand and the thresholds' elements of one
    /// type, as polymorphic arguments resolve (an untyped literal takes the other's type; no
    /// implicit cast between two known types).
    fn width_bucket_array(&mut self, args: Vec<Expr>, types: &[SqlType]) -> Result<Option<Expr>> {
        let name = "width_bucket";
        let elem = match (types[0], types[1]) {
            (SqlType::Unknown, SqlType::Array(a)) => a.elem(),
            (t, SqlType::Unknown) if t != SqlType::Unknown => t,
            (t, SqlType::Array(a)) if base(t) == base(a.elem()) => t,
            _ => return Err(no_function(name, types)),
        };
        let Some(array) = elem.array_of() else { return Err(no_function(name, types)) };
        let mut args = args.into_iter();
        let (Some(op), Some(th)) = (args.next(), args.next()) else { return Err(no_function(name, types)) };
        let op = self.coerce(op, elem, CastContext::Implicit, |_| no_function(name, types))?;
        let th = self.coerce(th, array, CastContext::Implicit, |_| no_function(name, types))?;
        Ok(Some(Expr::Call(Builtin::Math(MathFn::WidthBucketArray), vec![op, th], SqlType::Int4)))
    }

    /// `^`, `&`, `|`, `#`, `<<`, `>>`; None for another operator.
    pub(super) fn math_operator(&mut self, op: &ast::BinaryOperator, l: Expr, r: Expr) -> Result<Option<Expr>> {
        use ast::BinaryOperator as B;
        let (f, sym) = match op {
            B::PGExp => (None, "^"),
            B::BitwiseAnd => (Some(MathFn::BitAnd), "&"),
            B::BitwiseOr => (Some(MathFn::BitOr), "|"),
            B::PGBitwiseXor => (Some(MathFn::BitXor), "#"),
            B::PGBitwiseShiftLeft => (Some(MathFn::Shl), "<<"),
            B::PGBitwiseShiftRight => (Some(MathFn::Shr), ">>"),
            _ => return Ok(None),
        };
        let (lt, rt) = (l.ty(), r.ty());
        let numeric_or_unknown = |t: SqlType| t.is_numeric() || t == SqlType::Unknown;
        if !numeric_or_unknown(lt) || !numeric_or_unknown(rt) {
            return Err(op_error(lt, sym, rt));
        }
        let err = |_| op_error(lt, sym, rt);
        let Some(f) = f else {
            // numeric ^ numeric when a numeric meets no float; float8 otherwise.
            let numeric = (lt.is_decimal() || rt.is_decimal()) && !lt.is_float() && !rt.is_float();
            let ty = if numeric { SqlType::NUMERIC } else { SqlType::Float8 };
            let l = self.coerce(l, ty, CastContext::Implicit, err)?;
            let r = self.coerce(r, ty, CastContext::Implicit, err)?;
            return Ok(Some(Expr::Call(Builtin::Power, vec![l, r], ty)));
        };
        let int = |t: SqlType| t.is_integer() || t == SqlType::Unknown;
        if !int(lt) || !int(rt) {
            return Err(op_error(lt, sym, rt));
        }
        let (lty, rty) = if matches!(f, MathFn::Shl | MathFn::Shr) {
            (if lt == SqlType::Unknown { SqlType::Int4 } else { lt }, SqlType::Int4)
        } else {
            let ty = match (lt, rt) {
                (SqlType::Unknown, SqlType::Unknown) => SqlType::Int4,
                (SqlType::Unknown, t) | (t, SqlType::Unknown) => t,
                (a, b) => promote(a, b),
            };
            (ty, ty)
        };
        let l = self.coerce(l, lty, CastContext::Implicit, err)?;
        let r = self.coerce(r, rty, CastContext::Implicit, err)?;
        Ok(Some(Expr::Call(Builtin::Math(f), vec![l, r], lty)))
    }

    /// The prefix operators `@` (abs), `|/` (sqrt), `||/` (cbrt) and `~` (bitwise not).
    pub(super) fn math_prefix(
        &mut self,
        op: &ast::UnaryOperator,
        e: &ast::Expr,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        use ast::UnaryOperator as U;
        let v = self.expr(e, scope)?;
        let t = v.ty();
        let sym = op.to_string();
        let no_op = || {
            SqlError::new(code::UNDEFINED_FUNCTION, format!("operator does not exist: {sym} {}", t.name())).hint(
                "No operator matches the given name and argument type. You might need to add an explicit type cast.",
            )
        };
        if !(t.is_numeric() || t == SqlType::Unknown) {
            return Err(no_op());
        }
        match op {
            U::PGAbs => {
                let v = if t == SqlType::Unknown {
                    self.coerce(v, SqlType::Float8, CastContext::Implicit, |_| no_op())?
                } else {
                    v
                };
                let ty = base(v.ty());
                Ok(Expr::Func(Func::Abs, vec![v], ty))
            }
            U::PGSquareRoot | U::PGCubeRoot => {
                let v = self.coerce(v, SqlType::Float8, CastContext::Implicit, |_| no_op())?;
                let f = if matches!(op, U::PGSquareRoot) { Builtin::Sqrt } else { Builtin::Math(MathFn::Cbrt) };
                Ok(Expr::Call(f, vec![v], SqlType::Float8))
            }
            U::BitwiseNot => {
                if !(t.is_integer() || t == SqlType::Unknown) {
                    return Err(no_op());
                }
                let v = self.coerce(
                    v,
                    if t == SqlType::Unknown { SqlType::Int4 } else { t },
                    CastContext::Implicit,
                    |_| no_op(),
                )?;
                let ty = v.ty();
                Ok(Expr::Call(Builtin::Math(MathFn::BitNot), vec![v], ty))
            }
            other => Err(SqlError::unsupported(format!("operator {other} is not supported yet"))),
        }
    }

    /// `OVERLAY(s PLACING t FROM i [FOR n])`.
    pub(super) fn overlay(
        &mut self,
        parts: [&ast::Expr; 3],
        count: Option<&ast::Expr>,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        let mut args = Vec::with_capacity(4);
        for p in parts.into_iter().chain(count) {
            args.push(self.expr(p, scope)?);
        }
        let types: Vec<SqlType> = args.iter().map(|a| a.ty()).collect();
        self.text_math_function("overlay", args, &types)?.ok_or_else(|| no_function("overlay", &types))
    }

    /// `b [NOT] LIKE p [ESCAPE e]` of a bytea (bytealike / byteanlike, like_escape(bytea,
    /// bytea)): the pattern and escape are bytea too.
    pub(super) fn bytea_like(
        &mut self,
        a: Expr,
        p: Expr,
        escape: Option<&ast::Expr>,
        negated: bool,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        let (at, pt) = (a.ty(), p.ty());
        let opname = if negated { "!~~" } else { "~~" };
        if !matches!(pt, SqlType::Bytea | SqlType::Unknown) {
            return Err(op_error(at, opname, pt));
        }
        let p = self.coerce(p, SqlType::Bytea, CastContext::Implicit, |_| op_error(at, opname, pt))?;
        let mut args = vec![a, p];
        if let Some(esc) = escape {
            let e = self.expr(esc, scope)?;
            let et = e.ty();
            if !matches!(et, SqlType::Bytea | SqlType::Unknown) {
                return Err(no_function("like_escape", &[SqlType::Bytea, et]));
            }
            args.push(self.coerce(e, SqlType::Bytea, CastContext::Implicit, |_| {
                no_function("like_escape", &[SqlType::Bytea, et])
            })?);
        }
        let f = crate::bytea_fns::ByteaFn::Like { negated };
        Ok(Expr::Call(Builtin::Text(TextFn::Bytea(f)), args, SqlType::Bool))
    }

    /// `s [NOT] SIMILAR TO p [ESCAPE e]`: `s ~ similar_to_escape(p, e)` (`.` matching newlines
    /// as in PostgreSQL's regular expressions).
    pub(super) fn similar_to(
        &mut self,
        expr: &ast::Expr,
        pattern: &ast::Expr,
        escape: Option<&ast::Expr>,
        negated: bool,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        let a = self.expr(expr, scope)?;
        let p = self.expr(pattern, scope)?;
        let (at, pt) = (a.ty(), p.ty());
        let sym = if negated { "!~" } else { "~" };
        if !stringy(at) || !stringy(pt) {
            return Err(op_error(at, sym, pt));
        }
        let a = self.coerce(a, SqlType::Text, CastContext::Implicit, |_| op_error(at, sym, pt))?;
        let p = self.coerce(p, SqlType::Text, CastContext::Implicit, |_| op_error(at, sym, pt))?;
        let mut esc_args = vec![p];
        if let Some(esc) = escape {
            let e = self.expr(esc, scope)?;
            let et = e.ty();
            let e = self.coerce(e, SqlType::Text, CastContext::Implicit, |_| {
                no_function("similar_to_escape", &[SqlType::Text, et])
            })?;
            esc_args.push(e);
        }
        let regex = Expr::Call(Builtin::Text(TextFn::SimilarEscape), esc_args, SqlType::Text);
        let dot_all = Expr::Const(Datum::Text("(?s)".into()), SqlType::Text);
        let m =
            Expr::Call(Builtin::RegexMatch, vec![a, Expr::Concat(Box::new(dot_all), Box::new(regex))], SqlType::Bool);
        Ok(if negated { Expr::Not(Box::new(m)) } else { m })
    }
}

/// `SUBSTRING(s SIMILAR p ESCAPE e)` (SQL:2003's form, which sqlparser lacks) written as the
/// `SUBSTRING(s FROM p FOR e)` it means, when `tokens[i]` is that SUBSTRING: the text up to its
/// closing parenthesis and the index past it. The keywords are padded to their length so what
/// follows keeps its line and column.
pub(super) fn substring_similar_syntax(tokens: &[sqlparser::tokenizer::Token], i: usize) -> Option<(String, usize)> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::Token;
    let word = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    if !word(&tokens[i], Keyword::SUBSTRING) {
        return None;
    }
    let open = (i + 1..tokens.len()).find(|&j| !matches!(tokens[j], Token::Whitespace(_)))?;
    if tokens[open] != Token::LParen {
        return None;
    }
    let (mut depth, mut similar, mut escape) = (0i32, None, None);
    let mut j = open;
    while j < tokens.len() {
        match &tokens[j] {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            t if depth == 1 && similar.is_none() && word(t, Keyword::SIMILAR) => {
                let after = (j + 1..tokens.len()).find(|&k| !matches!(tokens[k], Token::Whitespace(_)))?;
                if word(&tokens[after], Keyword::TO) {
                    return None;
                }
                similar = Some(j);
            }
            t if depth == 1 && similar.is_some() && word(t, Keyword::ESCAPE) => escape = Some(j),
            _ => {}
        }
        j += 1;
    }
    let (similar, escape) = (similar?, escape?);
    if j >= tokens.len() {
        return None;
    }
    let mut out = String::new();
    for (k, t) in tokens.iter().enumerate().take(j + 1).skip(i) {
        match k {
            _ if k == similar => out.push_str("FROM   "),
            _ if k == escape => out.push_str("FOR   "),
            _ => out.push_str(&t.to_string()),
        }
    }
    Some((out, j + 1))
}

/// The function name `VARIADIC arg` is wrapped in (a control character starts it: no name a
/// client writes), as [`variadic_syntax`] writes it.
pub(super) const VARIADIC_MARK: &str = "\"\u{1}v\"";

/// `VARIADIC arg)` as the last argument of a call (sqlparser lacks it), when `tokens[i]` is that
/// VARIADIC: `<mark>(arg))` and the index past the call's closing parenthesis. The mark is
/// padded to VARIADIC's length.
pub(super) fn variadic_syntax(tokens: &[sqlparser::tokenizer::Token], i: usize) -> Option<(String, usize)> {
    use sqlparser::tokenizer::Token;
    let Token::Word(w) = &tokens[i] else { return None };
    if w.quote_style.is_some() || !w.value.eq_ignore_ascii_case("variadic") {
        return None;
    }
    let before = (0..i).rev().find(|&j| !matches!(tokens[j], Token::Whitespace(_)))?;
    if !matches!(tokens[before], Token::LParen | Token::Comma) {
        return None;
    }
    let mut depth = 0i32;
    let mut j = i + 1;
    while j < tokens.len() {
        match &tokens[j] {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket if depth > 0 => depth -= 1,
            Token::RParen => break,
            Token::Comma | Token::SemiColon if depth == 0 => return None,
            _ => {}
        }
        j += 1;
    }
    if j >= tokens.len() {
        return None;
    }
    let mut out = format!("{VARIADIC_MARK}(   ");
    for t in &tokens[i + 1..j] {
        out.push_str(&t.to_string());
    }
    out.push_str("))");
    Some((out, j + 1))
}

impl Binder<'_> {
    /// A call whose last argument is `VARIADIC array` ([`variadic_syntax`]): concat,
    /// concat_ws and format take the array's elements as their arguments (at run time: the
    /// array may be computed); None when there is no VARIADIC.
    pub(super) fn variadic_call(
        &mut self,
        name: &str,
        f: &ast::Function,
        scope: Option<&Scope>,
    ) -> Result<Option<Expr>> {
        use sqlparser::ast::Spanned;
        let ast::FunctionArguments::List(l) = &f.args else { return Ok(None) };
        let Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Function(last)))) = l.args.last()
        else {
            return Ok(None);
        };
        if last.name.to_string() != VARIADIC_MARK {
            return Ok(None);
        }
        let ast::FunctionArguments::List(inner) = &last.args else { return Ok(None) };
        let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(array))] = &inner.args[..] else {
            return Ok(None);
        };
        if matches!(name, "num_nulls" | "num_nonnulls") && l.args.len() == 1 {
            return self.variadic_count_nulls(name, array, scope).map(Some);
        }
        if let Some(object) = match name {
            "json_build_object" | "jsonb_build_object" => Some(true),
            "json_build_array" | "jsonb_build_array" => Some(false),
            _ => None,
        } {
            return self.variadic_json(name, object, l.args.len(), array, scope).map(Some);
        }
        let f = match name {
            "concat" => TextFn::VariadicConcat,
            "concat_ws" => TextFn::VariadicConcatWs,
            "format" => TextFn::VariadicFormat,
            _ => return Err(SqlError::unsupported(format!("VARIADIC is not supported in a call of {name}()"))),
        };
        let mut args = Vec::with_capacity(l.args.len());
        for a in &l.args[..l.args.len() - 1] {
            let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a else {
                return Err(SqlError::unsupported("named function arguments are not supported yet"));
            };
            args.push(self.expr(e, scope)?);
        }
        let fixed = if f == TextFn::VariadicConcat { 0 } else { 1 };
        let arr = self.expr(array, scope)?;
        let mut types: Vec<SqlType> = args.iter().map(|a| a.ty()).collect();
        types.push(arr.ty());
        if args.len() != fixed {
            return Err(no_function(name, &types));
        }
        if !matches!(arr.ty(), SqlType::Array(_)) {
            let at = self.pos(&array.span());
            return Err(SqlError::new(code::DATATYPE_MISMATCH, "VARIADIC argument must be an array").at(at));
        }
        let mut out = self.coerce_all(name, args, &types[..fixed], &[SqlType::Text], fixed)?;
        out.push(arr);
        Ok(Some(Expr::Call(Builtin::Text(f), out, SqlType::Text)))
    }

    /// `json_build_object(VARIADIC array)` (and jsonb_, and the _array forms): VARIADIC "any"
    /// with the array as the whole argument list.
    fn variadic_json(
        &mut self,
        name: &str,
        object: bool,
        n_args: usize,
        array: &ast::Expr,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        use crate::json_build::JsonFn;
        use sqlparser::ast::Spanned;
        let arr = self.expr(array, scope)?;
        if n_args != 1 {
            return Err(SqlError::unsupported(format!(
                "VARIADIC after other arguments is not supported in a call of {name}()"
            )));
        }
        if !matches!(arr.ty(), SqlType::Array(_)) {
            let at = self.pos(&array.span());
            return Err(SqlError::new(code::DATATYPE_MISMATCH, "VARIADIC argument must be an array").at(at));
        }
        let f = JsonFn::Variadic { object, jsonb: name.starts_with("jsonb") };
        Ok(Expr::Call(Builtin::Json(f), vec![arr], f.ty()))
    }
}
