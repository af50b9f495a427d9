//! Binding CASE and the scalar functions of [`crate::scalar`]: argument counts and types as
//! PostgreSQL 15 resolves them (untyped literals take the parameter's type, integers widen to
//! float8 where only a float8 version exists, no match is 42883), including the SQL-syntax
//! forms sqlparser parses on their own (`CEIL`, `FLOOR`, `POSITION(a IN b)`,
//! `SUBSTRING(s FROM i FOR n)`, `TRIM([BOTH|LEADING|TRAILING] [chars] FROM s)`).

use super::{no_function, Binder, Scope};
use crate::error::{code, Result, SqlError};
use crate::expr::{CmpOp, Expr};
use crate::scalar::Builtin;
use crate::types::CastContext;
use orbit_engine::table::{Datum, SqlType};
use sqlparser::ast;

/// An argument's declared type in a function signature.
#[derive(Clone, Copy)]
enum Arg {
    Text,
    Int4,
    Int8,
    Float8,
}

impl Binder<'_> {
    /// `CASE`: a simple CASE (`CASE x WHEN v ...`) becomes `CASE WHEN x = v ...`; the results
    /// take their common type (ELSE first, as PostgreSQL's select_common_type sees them).
    pub(super) fn case(
        &mut self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&ast::Expr>,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        let subject = match operand {
            Some(o) => Some(self.expr(o, scope)?),
            None => None,
        };
        let mut whens = Vec::with_capacity(conditions.len());
        let mut results = Vec::with_capacity(conditions.len() + 1);
        for c in conditions {
            let w = self.expr(&c.condition, scope)?;
            let w = match &subject {
                Some(s) => self.compare(CmpOp::Eq, s.clone(), w)?,
                None => self.coerce(w, SqlType::Bool, CastContext::Implicit, |from| {
                    SqlError::new(
                        code::DATATYPE_MISMATCH,
                        format!("argument of CASE/WHEN must be type boolean, not type {}", from.name()),
                    )
                })?,
            };
            whens.push(w);
            results.push(self.expr(&c.result, scope)?);
        }
        let otherwise = match else_result {
            Some(e) => Some(self.expr(e, scope)?),
            None => None,
        };
        let all: Vec<Expr> = otherwise.iter().chain(&results).cloned().collect();
        let ty = self.common_type(&all, "CASE")?;
        // Without ELSE, the NULL it stands for has no precision: nor has the result.
        let ty = if otherwise.is_none() && ty.precision().is_some() { ty.base() } else { ty };
        let fit = |b: &mut Self, e: Expr| {
            let from = e.ty();
            b.coerce(e, ty, CastContext::Implicit, |_| {
                SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!("CASE could not convert type {} to {}", from.name(), ty.name()),
                )
            })
        };
        let mut arms = Vec::with_capacity(whens.len());
        for (w, r) in whens.into_iter().zip(results) {
            arms.push((w, fit(self, r)?));
        }
        let otherwise = match otherwise {
            Some(e) => Some(Box::new(fit(self, e)?)),
            None => None,
        };
        Ok(Expr::Case(arms, otherwise, ty))
    }

    /// The functions sqlparser parses as their own expressions.
    pub(super) fn special_function(&mut self, e: &ast::Expr, scope: Option<&Scope>) -> Result<Expr> {
        use ast::Expr as E;
        let (name, args): (&str, Vec<&ast::Expr>) = match e {
            E::Ceil { expr, field } | E::Floor { expr, field } => {
                if !matches!(field, ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime)) {
                    return Err(SqlError::unsupported("CEIL/FLOOR with a scale or field is not supported"));
                }
                (if matches!(e, E::Ceil { .. }) { "ceil" } else { "floor" }, vec![expr])
            }
            // position(a IN b) is strpos(b, a).
            E::Position { expr, r#in } => ("strpos", vec![r#in, expr]),
            E::Substring { expr, substring_from, substring_for, .. } => {
                let mut args = vec![expr.as_ref()];
                match (substring_from, substring_for) {
                    (Some(f), n) => {
                        args.push(f);
                        args.extend(n.as_deref());
                    }
                    // SUBSTRING(s FOR n) starts at 1.
                    (None, Some(n)) => {
                        let one = Expr::Const(orbit_engine::table::Datum::Int4(1), SqlType::Int4);
                        let s = self.expr(expr, scope)?;
                        let n = self.expr(n, scope)?;
                        let types = [s.ty(), SqlType::Int4, n.ty()];
                        return self.scalar_function("substr", vec![s, one, n], &types);
                    }
                    (None, None) => {}
                }
                ("substr", args)
            }
            E::Trim { trim_where, trim_what, expr, trim_characters } => {
                if trim_characters.is_some() {
                    return Err(SqlError::unsupported("TRIM with a character list is not supported"));
                }
                let name = match trim_where {
                    Some(ast::TrimWhereField::Leading) => "ltrim",
                    Some(ast::TrimWhereField::Trailing) => "rtrim",
                    _ => "btrim",
                };
                let mut args = vec![expr.as_ref()];
                args.extend(trim_what.as_deref());
                (name, args)
            }
            _ => return Err(SqlError::internal("not a special function")),
        };
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            bound.push(self.expr(a, scope)?);
        }
        let types: Vec<SqlType> = bound.iter().map(|b| b.ty()).collect();
        let stringy = |t: &SqlType| t.is_string() || *t == SqlType::Unknown;
        if matches!(e, E::Substring { .. }) && types.len() >= 2 && types[1..].iter().all(stringy) {
            return self.regexp_substring(bound, &types);
        }
        self.scalar_function(name, bound, &types)
    }

    /// Coerces `args` to a signature: `fixed` first, then up to `optional` more of the types
    /// that follow; anything else is 42883 for `name`.
    fn signature(
        &mut self,
        name: &str,
        args: Vec<Expr>,
        types: &[SqlType],
        sig: &[Arg],
        required: usize,
    ) -> Result<Vec<Expr>> {
        if args.len() < required || args.len() > sig.len() {
            return Err(no_function(name, types));
        }
        let mut out = Vec::with_capacity(args.len());
        for (a, want) in args.into_iter().zip(sig) {
            let from = a.ty();
            let to = match want {
                Arg::Text => SqlType::Text,
                Arg::Int4 => SqlType::Int4,
                Arg::Int8 => SqlType::Int8,
                Arg::Float8 => SqlType::Float8,
            };
            // text-category functions take no implicit cast from other categories.
            if matches!(want, Arg::Text) && !(from.is_string() || from == SqlType::Unknown) {
                return Err(no_function(name, types));
            }
            // numeric casts to float8 implicitly (the numeric versions are bound before).
            if from.is_decimal() && !matches!(want, Arg::Float8) {
                return Err(no_function(name, types));
            }
            out.push(self.coerce(a, to, CastContext::Implicit, |_| no_function(name, types))?);
        }
        Ok(out)
    }

    /// A scalar function call by name (after the ones `function` binds itself).
    pub(super) fn scalar_function(&mut self, name: &str, args: Vec<Expr>, types: &[SqlType]) -> Result<Expr> {
        use Arg::{Float8 as F, Int4 as I, Text as T};
        let call = |f: Builtin, args: Vec<Expr>, ty: SqlType| Ok(Expr::Call(f, args, ty));
        let float1 =
            |f: Builtin, b: &mut Self, args| call(f, b.signature(name, args, types, &[F], 1)?, SqlType::Float8);
        match name {
            "greatest" | "least" => {
                if args.is_empty() {
                    return Err(SqlError::syntax(")"));
                }
                let what = if name == "greatest" { "GREATEST" } else { "LEAST" };
                let ty = self.common_type(&args, what)?;
                let args = args
                    .into_iter()
                    .map(|a| {
                        let from = a.ty();
                        self.coerce(a, ty, CastContext::Implicit, |_| {
                            SqlError::new(
                                code::DATATYPE_MISMATCH,
                                format!("{what} types {} and {} cannot be matched", ty.name(), from.name()),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let f = if name == "greatest" { Builtin::Greatest } else { Builtin::Least };
                call(f, args, ty)
            }
            "nextval" | "currval" => {
                let args = self.signature(name, regclass_as_name(args)?, types, &[T], 1)?;
                let f = if name == "nextval" { Builtin::NextVal } else { Builtin::CurrVal };
                call(f, args, SqlType::Int8)
            }
            // currval of the sequence the session's last nextval advanced.
            "lastval" if args.is_empty() => {
                let marker = Expr::Const(Datum::Text(crate::sequence::LASTVAL.into()), SqlType::Text);
                call(Builtin::CurrVal, vec![marker], SqlType::Int8)
            }
            _ if name.starts_with("pg_") && name.contains("advisory_") => {
                use crate::advisory::{AdvisoryFn, Op};
                let base = name.strip_suffix("_shared").unwrap_or(name);
                let (op, xact) = match base {
                    "pg_advisory_lock" => (Op::Lock, false),
                    "pg_advisory_xact_lock" => (Op::Lock, true),
                    "pg_try_advisory_lock" => (Op::TryLock, false),
                    "pg_try_advisory_xact_lock" => (Op::TryLock, true),
                    "pg_advisory_unlock" => (Op::Unlock, false),
                    "pg_advisory_unlock_all" if base == name => (Op::UnlockAll, false),
                    _ => return Err(no_function(name, types)),
                };
                let af = AdvisoryFn { op, shared: base != name, xact };
                let mut args = match (op, args.len()) {
                    (Op::UnlockAll, 0) => args,
                    (Op::UnlockAll, _) => return Err(no_function(name, types)),
                    (_, 1) => self.signature(name, args, types, &[Arg::Int8], 1)?,
                    (_, 2) => self.signature(name, args, types, &[Arg::Int4, Arg::Int4], 2)?,
                    _ => return Err(no_function(name, types)),
                };
                // The session the lock belongs to.
                args.push(Expr::Const(Datum::Int4(crate::catalog::binding_pid()), SqlType::Int4));
                let ty = if matches!(op, Op::Lock | Op::UnlockAll) { SqlType::Void } else { SqlType::Bool };
                call(Builtin::Advisory(af), args, ty)
            }
            "pg_sleep" | "pg_sleep_for" | "pg_sleep_until" => {
                use crate::sleep::SleepFn;
                let (f, to) = match name {
                    "pg_sleep" => (SleepFn::Seconds, SqlType::Float8),
                    "pg_sleep_for" => (SleepFn::For, SqlType::INTERVAL),
                    _ => (SleepFn::Until, SqlType::TIMESTAMPTZ),
                };
                let [a] = <[Expr; 1]>::try_from(args).map_err(|_| no_function(name, types))?;
                let a = self.coerce(a, to, CastContext::Implicit, |_| no_function(name, types))?;
                call(Builtin::Sleep(f), vec![a], SqlType::Void)
            }
            "setval" => {
                if args.len() < 2 || args.len() > 3 {
                    return Err(no_function(name, types));
                }
                let mut it = regclass_as_name(args)?.into_iter();
                let mut out =
                    vec![self.coerce(it.next().expect("2 args"), SqlType::Text, CastContext::Implicit, |_| {
                        no_function(name, types)
                    })?];
                out.push(self.coerce(it.next().expect("2 args"), SqlType::Int8, CastContext::Implicit, |_| {
                    no_function(name, types)
                })?);
                if let Some(b) = it.next() {
                    out.push(self.coerce(b, SqlType::Bool, CastContext::Implicit, |_| no_function(name, types))?);
                }
                call(Builtin::SetVal, out, SqlType::Int8)
            }
            // The numeric versions: for a numeric argument, and round/trunc with a scale.
            "round" | "trunc" | "ceil" | "ceiling" | "floor" | "sign" | "sqrt"
                if types.first().is_some_and(|t| t.is_decimal())
                    || (matches!(name, "round" | "trunc") && args.len() == 2) =>
            {
                let f = match name {
                    "round" => Builtin::Round,
                    "trunc" => Builtin::Trunc,
                    "ceil" | "ceiling" => Builtin::Ceil,
                    "floor" => Builtin::Floor,
                    "sign" => Builtin::Sign,
                    _ => Builtin::Sqrt,
                };
                let max = if matches!(f, Builtin::Round | Builtin::Trunc) { 2 } else { 1 };
                if args.len() > max {
                    return Err(no_function(name, types));
                }
                let mut out = Vec::with_capacity(args.len());
                for (i, a) in args.into_iter().enumerate() {
                    let to = if i == 0 { SqlType::NUMERIC } else { SqlType::Int4 };
                    out.push(self.coerce(a, to, CastContext::Implicit, |_| no_function(name, types))?);
                }
                call(f, out, SqlType::NUMERIC)
            }
            // power(numeric, numeric): a numeric argument and no float one.
            "power" | "pow"
                if types.iter().any(|t| t.is_decimal()) && !types.iter().any(|t| t.is_float()) && args.len() == 2 =>
            {
                let out = args
                    .into_iter()
                    .map(|a| self.coerce(a, SqlType::NUMERIC, CastContext::Implicit, |_| no_function(name, types)))
                    .collect::<Result<Vec<_>>>()?;
                call(Builtin::Power, out, SqlType::NUMERIC)
            }
            // log(b, x) is numeric only; exp, ln and log(x) have float8 and numeric versions.
            "log" if args.len() == 2 => {
                let out = args
                    .into_iter()
                    .map(|a| self.coerce(a, SqlType::NUMERIC, CastContext::Implicit, |_| no_function(name, types)))
                    .collect::<Result<Vec<_>>>()?;
                call(Builtin::Log, out, SqlType::NUMERIC)
            }
            "exp" | "ln" | "log" | "log10" => {
                let f = match name {
                    "exp" => Builtin::Exp,
                    "ln" => Builtin::Ln,
                    _ => Builtin::Log10,
                };
                if types.first().is_some_and(|t| t.is_decimal()) && args.len() == 1 {
                    let out = args
                        .into_iter()
                        .map(|a| self.coerce(a, SqlType::NUMERIC, CastContext::Implicit, |_| no_function(name, types)))
                        .collect::<Result<Vec<_>>>()?;
                    // log(numeric) and log10(numeric) are SQL functions over log(10, x) in
                    // PostgreSQL: their errors carry that CONTEXT.
                    let f = match name {
                        "log" => Builtin::Math(crate::math_fns::MathFn::LogSql),
                        "log10" => Builtin::Math(crate::math_fns::MathFn::Log10Sql),
                        _ => f,
                    };
                    return call(f, out, SqlType::NUMERIC);
                }
                float1(f, self, args)
            }
            "round" => float1(Builtin::Round, self, args),
            "ceil" | "ceiling" => float1(Builtin::Ceil, self, args),
            "floor" => float1(Builtin::Floor, self, args),
            "trunc" => float1(Builtin::Trunc, self, args),
            "sign" => float1(Builtin::Sign, self, args),
            "sqrt" => float1(Builtin::Sqrt, self, args),
            "power" | "pow" => call(Builtin::Power, self.signature(name, args, types, &[F, F], 2)?, SqlType::Float8),
            "mod" => {
                let known: Vec<SqlType> = types.iter().copied().filter(|t| *t != SqlType::Unknown).collect();
                if args.len() != 2 || !known.iter().all(|t| t.is_integer() || t.is_decimal()) {
                    return Err(no_function(name, types));
                }
                let ty = known.iter().copied().reduce(super::promote).unwrap_or(SqlType::Int4);
                let args = args
                    .into_iter()
                    .map(|a| self.coerce(a, ty, CastContext::Implicit, |_| no_function(name, types)))
                    .collect::<Result<Vec<_>>>()?;
                call(Builtin::Mod, args, ty)
            }
            // PostgreSQL's functions behind the boolean `=` and `<>` (boolean.sql calls them).
            "booleq" | "boolne" => {
                let [a, b]: [Expr; 2] = args.try_into().map_err(|_| no_function(name, types))?;
                if !types.iter().all(|t| matches!(t, SqlType::Bool | SqlType::Unknown)) {
                    return Err(no_function(name, types));
                }
                let a = self.coerce(a, SqlType::Bool, CastContext::Implicit, |_| no_function(name, types))?;
                let b = self.coerce(b, SqlType::Bool, CastContext::Implicit, |_| no_function(name, types))?;
                let op = if name == "booleq" { CmpOp::Eq } else { CmpOp::NotEq };
                Ok(Expr::Cmp(op, Box::new(a), Box::new(b)))
            }
            "substr" | "substring" | "btrim" | "ltrim" | "rtrim" if types.first() == Some(&SqlType::Bytea) => {
                self.bytea_function(name, args, types)?.ok_or_else(|| no_function(name, types))
            }
            "substr" | "substring" => {
                call(Builtin::Substr, self.signature(name, args, types, &[T, I, I], 2)?, SqlType::Text)
            }
            "strpos" => call(Builtin::Strpos, self.signature(name, args, types, &[T, T], 2)?, SqlType::Int4),
            "replace" => call(Builtin::Replace, self.signature(name, args, types, &[T, T, T], 3)?, SqlType::Text),
            "btrim" => call(Builtin::Btrim, self.signature(name, args, types, &[T, T], 1)?, SqlType::Text),
            "ltrim" => call(Builtin::Ltrim, self.signature(name, args, types, &[T, T], 1)?, SqlType::Text),
            "rtrim" => call(Builtin::Rtrim, self.signature(name, args, types, &[T, T], 1)?, SqlType::Text),
            "lpad" => call(Builtin::Lpad, self.signature(name, args, types, &[T, I, T], 2)?, SqlType::Text),
            "rpad" => call(Builtin::Rpad, self.signature(name, args, types, &[T, I, T], 2)?, SqlType::Text),
            "left" => call(Builtin::Left, self.signature(name, args, types, &[T, I], 2)?, SqlType::Text),
            "right" => call(Builtin::Right, self.signature(name, args, types, &[T, I], 2)?, SqlType::Text),
            "repeat" => call(Builtin::Repeat, self.signature(name, args, types, &[T, I], 2)?, SqlType::Text),
            "reverse" => call(Builtin::Reverse, self.signature(name, args, types, &[T], 1)?, SqlType::Text),
            "split_part" => call(Builtin::SplitPart, self.signature(name, args, types, &[T, T, I], 3)?, SqlType::Text),
            "starts_with" => call(Builtin::StartsWith, self.signature(name, args, types, &[T, T], 2)?, SqlType::Bool),
            "concat" | "concat_ws" => {
                if args.is_empty() || (name == "concat_ws" && !(types[0].is_string() || types[0] == SqlType::Unknown)) {
                    return Err(no_function(name, types));
                }
                // Untyped literals are text; every other value is printed in its text form.
                let args = args
                    .into_iter()
                    .map(|a| match a.ty() {
                        SqlType::Unknown => {
                            self.coerce(a, SqlType::Text, CastContext::Implicit, |_| SqlError::internal("unknown"))
                        }
                        _ => Ok(super::temporal::shown_in_zone(a, false)),
                    })
                    .collect::<Result<Vec<_>>>()?;
                let f = if name == "concat" { Builtin::Concat } else { Builtin::ConcatWs };
                call(f, args, SqlType::Text)
            }
            "nullif" => {
                let [a, b]: [Expr; 2] = args.try_into().map_err(|_| no_function(name, types))?;
                // The operands as `a = b` resolves them; the result has the first one's type.
                match self.compare(CmpOp::Eq, a, b)? {
                    Expr::Cmp(_, a, b) => {
                        let ty = match a.ty() {
                            SqlType::Unknown => SqlType::Text,
                            t => t,
                        };
                        call(Builtin::Nullif, vec![*a, *b], ty)
                    }
                    _ => Err(SqlError::internal("nullif")),
                }
            }
            "to_json"
            | "to_jsonb"
            | "array_to_json"
            | "json_build_object"
            | "jsonb_build_object"
            | "json_build_array"
            | "jsonb_build_array"
            | "pg_get_serial_sequence"
            | "pg_collation_is_visible"
            | "pg_type_is_visible"
            | "pg_get_viewdef"
            | "quote_ident"
            | "set_config"
            | "acldefault" => self.json_or_catalog_function(name, args, types),
            // Session state the connection holds: these run alone in a statement only
            // (bind/notify.rs).
            "pg_notify" | "pg_listening_channels" => Err(SqlError::unsupported(format!(
                "{name}() is supported only alone in a statement: SELECT {name}(...) [, {name}(...)]"
            ))),
            "current_setting" if args.len() == 2 => {
                // (name, missing_ok): missing_ok changes nothing for the parameters answered.
                let mut args = args;
                let missing_ok = args.pop().ok_or_else(|| no_function(name, types))?;
                let t = missing_ok.ty();
                if !matches!(t, SqlType::Bool | SqlType::Unknown) {
                    return Err(no_function(name, types));
                }
                let missing_ok =
                    self.coerce(missing_ok, SqlType::Bool, CastContext::Implicit, |_| no_function(name, types))?;
                let missing_ok = matches!(missing_ok, Expr::Const(Datum::Bool(true), _));
                match args.first().and_then(|a| session_setting(a, missing_ok)) {
                    Some(e) => Ok(e),
                    None => self.json_or_catalog_function(name, args, &types[..1]),
                }
            }
            "current_setting" => match args.first().filter(|_| args.len() == 1).and_then(|a| session_setting(a, false))
            {
                Some(e) => Ok(e),
                None => self.json_or_catalog_function(name, args, types),
            },
            _ if super::text_math::is_function(name) => match self.text_math_function(name, args, types)? {
                Some(e) => Ok(e),
                None => Err(no_function(name, types)),
            },
            _ => match self.array_function(name, args, types)? {
                Some(e) => Ok(e),
                None => Err(no_function(name, types)),
            },
        }
    }

    /// The JSON-building functions ([`crate::json_build`]) and the catalog functions of
    /// [`crate::catalog_fns`].
    fn json_or_catalog_function(&mut self, name: &str, args: Vec<Expr>, types: &[SqlType]) -> Result<Expr> {
        use crate::catalog_fns::CatalogFn;
        use crate::json_build::JsonFn;
        let jsonb = name.starts_with("jsonb");
        // A timestamptz becomes JSON as its ISO text in the session's zone.
        let args: Vec<Expr> = if name.contains("json") {
            args.into_iter().map(|a| super::temporal::shown_in_zone(a, true)).collect()
        } else {
            args
        };
        let f = match name {
            "to_json" | "to_jsonb" => {
                if args.len() != 1 {
                    return Err(no_function(name, types));
                }
                // anyelement: an untyped literal has no type to resolve it.
                if types[0] == SqlType::Unknown {
                    return Err(SqlError::new(
                        code::DATATYPE_MISMATCH,
                        "could not determine polymorphic type because input has type unknown",
                    ));
                }
                JsonFn::To { jsonb }
            }
            "array_to_json" => {
                // array_to_json(anyarray) and array_to_json(anyarray, boolean).
                let array = types.first().is_some_and(|t| matches!(t, SqlType::Array(_)));
                if !(1..=2).contains(&args.len()) || !array {
                    if types.first() == Some(&SqlType::Unknown) && args.len() <= 2 {
                        return Err(SqlError::new(
                            code::DATATYPE_MISMATCH,
                            "could not determine polymorphic type because input has type unknown",
                        ));
                    }
                    return Err(no_function(name, types));
                }
                let mut it = args.into_iter();
                let mut out: Vec<Expr> = it.next().into_iter().collect();
                if let Some(p) = it.next() {
                    out.push(self.coerce(p, SqlType::Bool, CastContext::Implicit, |_| no_function(name, types))?);
                }
                let f = JsonFn::ArrayToJson;
                return Ok(Expr::Call(Builtin::Json(f), out, f.ty()));
            }
            "json_build_object" | "jsonb_build_object" => JsonFn::BuildObject { jsonb },
            "json_build_array" | "jsonb_build_array" => JsonFn::BuildArray { jsonb },
            "pg_get_serial_sequence"
            | "pg_collation_is_visible"
            | "pg_type_is_visible"
            | "pg_get_viewdef"
            | "quote_ident"
            | "set_config"
            | "acldefault"
            | "current_setting" => {
                let (f, sig): (_, &[SqlType]) = match name {
                    "set_config" => (CatalogFn::SetConfigPerRow, &[SqlType::Text, SqlType::Text, SqlType::Bool]),
                    "acldefault" => (CatalogFn::AclDefault, &[SqlType::Char, SqlType::Int8]),
                    "current_setting" => (CatalogFn::CurrentSetting, &[SqlType::Text]),
                    "pg_get_serial_sequence" => (CatalogFn::SerialSequence, &[SqlType::Text, SqlType::Text]),
                    "pg_collation_is_visible" => (CatalogFn::CollationIsVisible, &[SqlType::Int8]),
                    "pg_type_is_visible" => (CatalogFn::TypeIsVisible, &[SqlType::Int8]),
                    "pg_get_viewdef" => (CatalogFn::ViewDef, &[SqlType::Int8, SqlType::Bool]),
                    _ => (CatalogFn::QuoteIdent, &[SqlType::Text]),
                };
                let arity_ok = args.len() == sig.len() || (f == CatalogFn::ViewDef && args.len() == 1);
                // Text parameters take no implicit cast from other categories.
                let text_ok = sig
                    .iter()
                    .zip(types)
                    .all(|(want, t)| *want != SqlType::Text || t.is_string() || *t == SqlType::Unknown);
                if !arity_ok || !text_ok {
                    return Err(no_function(name, types));
                }
                let mut out = Vec::with_capacity(args.len());
                for (n, (a, to)) in args.into_iter().zip(sig).enumerate() {
                    // pg_get_viewdef(text): the view by name, as regclass reads it (a literal
                    // picks this form in PostgreSQL: unknown prefers text).
                    if f == CatalogFn::ViewDef && n == 0 && (a.ty().is_string() || a.ty() == SqlType::Unknown) {
                        let regclass = SqlType::Oid(orbit_engine::table::OidKind::RegClass);
                        out.push(self.coerce(a, regclass, CastContext::Explicit, |_| no_function(name, types))?);
                        continue;
                    }
                    // An oid or regclass argument is taken as it is (the function reads the OID).
                    if matches!(a.ty(), SqlType::Oid(_)) && *to == SqlType::Int8 {
                        out.push(a);
                        continue;
                    }
                    out.push(self.coerce(a, *to, CastContext::Implicit, |_| no_function(name, types))?);
                }
                let ty = match f {
                    CatalogFn::CollationIsVisible | CatalogFn::TypeIsVisible => SqlType::Bool,
                    // aclitem[]: its items' text, as the catalogs' ACL columns.
                    CatalogFn::AclDefault => SqlType::Array(orbit_engine::table::ArrayType::of_oid(25)),
                    _ => SqlType::Text,
                };
                return Ok(Expr::Call(Builtin::Catalog(f), out, ty));
            }
            _ => return Err(no_function(name, types)),
        };
        // "any" arguments: an untyped literal is text.
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            out.push(if a.ty() == SqlType::Unknown {
                self.coerce(a, SqlType::Text, CastContext::Implicit, |_| no_function(name, types))?
            } else {
                a
            });
        }
        Ok(Expr::Call(Builtin::Json(f), out, f.ty()))
    }

    /// json_agg, jsonb_agg, json_object_agg and jsonb_object_agg are array_agg over each
    /// input's JSON text: replaces the bound arguments by that one step and gives the final
    /// step to put over the aggregate (None for another aggregate). DISTINCT removes equal
    /// texts, the inputs ordered by their values.
    pub(super) fn json_aggregate(
        &mut self,
        name: &str,
        bound: &mut Vec<Expr>,
        written: &[&ast::Expr],
        scope: Option<&Scope>,
    ) -> Result<Option<crate::json_build::JsonFn>> {
        use crate::json_build::JsonFn;
        let jsonb = name.starts_with("jsonb");
        // json_agg(t) of a whole row: each row as a JSON object (as to_json(t)), not its text.
        if let ([ast::Expr::Identifier(id)], [_], "json_agg" | "jsonb_agg") = (written, bound.as_slice(), name) {
            if let Some(record) = super::whole_row::whole_row_record(scope, &crate::bind::fold(id), jsonb) {
                bound[0] = record;
            }
        }
        let nested = matches!(bound.first().map(|b| b.ty()), Some(SqlType::Array(_)))
            || matches!(bound.first(), Some(Expr::Call(Builtin::Json(JsonFn::Record { .. }), _, _)))
                && matches!(written.first(), Some(ast::Expr::Identifier(_)));
        let (step, fin, arity) = match name {
            "json_agg" | "jsonb_agg" => (JsonFn::Item, JsonFn::AggArray { jsonb, nested }, 1),
            "json_object_agg" | "jsonb_object_agg" => (JsonFn::Pair, JsonFn::AggObject { jsonb }, 2),
            _ => return Ok(None),
        };
        let types: Vec<SqlType> = bound.iter().map(|b| b.ty()).collect();
        if bound.len() != arity {
            return Err(no_function(name, &types));
        }
        let mut args = Vec::with_capacity(arity);
        for a in bound.drain(..) {
            args.push(match a.ty() {
                // json_agg takes anyelement; json_object_agg's "any" reads an untyped literal as text.
                SqlType::Unknown if arity == 1 => {
                    return Err(SqlError::new(
                        code::DATATYPE_MISMATCH,
                        "could not determine polymorphic type because input has type unknown",
                    ))
                }
                SqlType::Unknown => {
                    self.coerce(a, SqlType::Text, CastContext::Implicit, |_| no_function(name, &types))?
                }
                // A bytea's JSON is its text in the session's bytea_output.
                SqlType::Bytea => super::temporal::bytea_escaped(a).unwrap_or_else(|a| a),
                _ => a,
            });
        }
        bound.push(Expr::Call(Builtin::Json(step), args, SqlType::Text));
        Ok(Some(fin))
    }
}

/// `current_setting(name [, missing_ok])` of a constant name: the session's value of that
/// parameter now (the statement is bound again when it changes: `Prepared::settings`), or NULL
/// for an unknown one when missing_ok is true. None: answered when the row is evaluated
/// (the fixed parameters, a name that is not a constant, a bind outside a session).
fn session_setting(name: &Expr, missing_ok: bool) -> Option<Expr> {
    let Expr::Const(Datum::Text(n), _) = name else { return None };
    if let Some(v) = crate::settings::bound_value(n) {
        return Some(Expr::Const(Datum::Text(v), SqlType::Text));
    }
    (missing_ok && crate::settings::canonical(n).is_none()).then_some(Expr::Const(Datum::Null, SqlType::Text))
}

/// nextval, currval and setval take the sequence as a `regclass` (PostgreSQL's signature; a
/// text literal is read as one): a regclass constant is handed on as the name it prints as
/// (qualified where the search path does not find it bare), which the statement resolves to
/// its sequence before it runs ([`crate::sequence::resolve`]).
fn regclass_as_name(mut args: Vec<Expr>) -> Result<Vec<Expr>> {
    if let Some(first) = args.first_mut() {
        if matches!(first.ty(), SqlType::Oid(orbit_engine::table::OidKind::RegClass)) {
            let folded = crate::expr::fold(first.clone())?;
            if let Expr::Const(d, _) = &folded {
                *first = match d {
                    Datum::Oid(_, v) => Expr::Const(
                        Datum::Text(crate::regtypes::format(orbit_engine::table::OidKind::RegClass, *v)),
                        SqlType::Text,
                    ),
                    _ => Expr::Const(Datum::Null, SqlType::Text),
                };
            }
        }
    }
    Ok(args)
}
