//! Binding window function calls (`f(...) OVER (...)`, `OVER w`) and the WINDOW clause, with
//! PostgreSQL's errors for where they may not appear (parse_agg.c's transformWindowFuncCall,
//! transformWindowDefinitions). A call binds to a placeholder `Expr::Agg(WINDOW_BASE + k)`
//! that [`Binder::window_end`] renumbers after the query's aggregates.

use super::{no_function, Binder, Scope};
use crate::error::{code, Result, SqlError};
use crate::expr::{AggOrder, ArithOp, Expr};
use crate::types::CastContext;
use crate::window::{Exclude, Frame, FrameBound, FrameUnits, WinFunc, WindowCall, WINDOW_BASE};
use orbit_engine::table::SqlType;
use sqlparser::ast;
use sqlparser::tokenizer::{Token, Tokenizer};

const WINDOWING_ERROR: &str = "42P20";

/// sqlparser has no frame EXCLUDE clause: [`exclusion_syntax`] rewrites `EXCLUDE <what>` into
/// a last ORDER BY item of the window, a call of this function with `<what>` as its argument,
/// which [`take_exclusion`] takes back out before the window binds.
const EXCLUDE_MARKER: &str = "frame exclude";

/// The window state of the query being bound.
#[derive(Debug, Default)]
pub(super) struct WindowState {
    /// Whether a window function may appear where the binder is now.
    allowed: bool,
    /// Where the binder is when they may not ("WHERE", "HAVING", ...); empty outside a query.
    clause: &'static str,
    /// Binding a window call's arguments (another call there is nested).
    in_call: bool,
    /// Binding a PARTITION BY or ORDER BY of a window.
    in_definition: bool,
    /// The next aggregate [`Binder::function`] binds is a window's (aggregates may be in its
    /// arguments).
    pub(super) aggregate: bool,
    /// The WINDOW clause.
    named: Vec<(String, ast::WindowSpec)>,
    calls: Vec<WindowCall>,
}

impl WindowState {
    /// Window functions may appear (the select list, ORDER BY).
    pub(super) fn allow(&mut self) {
        self.allowed = true;
    }

    /// They may not, in `clause`.
    pub(super) fn ban(&mut self, clause: &'static str) {
        self.allowed = false;
        self.clause = clause;
    }

    /// The clause named for a window function outside a query (UPDATE's SET), until
    /// [`WindowState::ban`] puts the returned one back.
    pub(super) fn banned_in(&mut self, clause: &'static str) -> &'static str {
        self.allowed = false;
        std::mem::replace(&mut self.clause, clause)
    }

    /// Applies `f` (the grouped query's rewrite) to every call's expressions.
    pub(super) fn map_calls(&mut self, f: &mut dyn FnMut(&Expr) -> Result<Expr>) -> Result<()> {
        for c in &mut self.calls {
            c.map_exprs(f)?;
        }
        Ok(())
    }

    pub(super) fn any(&self) -> bool {
        !self.calls.is_empty()
    }
}

pub(super) fn aggregate_name(name: &str) -> bool {
    matches!(
        name,
        "count"
            | "sum"
            | "min"
            | "max"
            | "avg"
            | "string_agg"
            | "bool_and"
            | "every"
            | "bool_or"
            | "bit_and"
            | "bit_or"
            | "bit_xor"
            | "var_samp"
            | "variance"
            | "var_pop"
            | "stddev_samp"
            | "stddev"
            | "stddev_pop"
            | "array_agg"
            | "corr"
            | "covar_pop"
            | "covar_samp"
            | "regr_avgx"
            | "regr_avgy"
            | "regr_count"
            | "regr_intercept"
            | "regr_r2"
            | "regr_slope"
            | "regr_sxx"
            | "regr_sxy"
            | "regr_syy"
    )
}

impl Binder<'_> {
    /// Starts a SELECT: its WINDOW clause, window functions banned until the select list.
    /// Returns the enclosing query's state, for [`Binder::window_end`].
    pub(super) fn window_begin(&mut self, named: &[ast::NamedWindowDefinition]) -> Result<WindowState> {
        let mut state = WindowState { clause: "JOIN conditions", ..Default::default() };
        for ast::NamedWindowDefinition(id, e) in named {
            let name = super::fold(id);
            if state.named.iter().any(|(n, _)| *n == name) {
                return Err(SqlError::new(WINDOWING_ERROR, format!("window \"{name}\" is already defined")));
            }
            let spec = match e {
                ast::NamedWindowExpr::WindowSpec(s) => s.clone(),
                ast::NamedWindowExpr::NamedWindow(other) => {
                    ast::WindowSpec { window_name: Some(other.clone()), ..empty_spec() }
                }
            };
            state.named.push((name, spec));
        }
        Ok(std::mem::replace(&mut self.window, state))
    }

    /// Ends a SELECT: window call placeholders in `exprs` become `Agg(aggs + k)`; the calls
    /// are returned and the enclosing query's state is back.
    pub(super) fn window_end<'e>(
        &mut self,
        outer: WindowState,
        exprs: impl Iterator<Item = &'e mut Expr>,
    ) -> Vec<WindowCall> {
        let aggs = self.aggs.len();
        for e in exprs {
            crate::window::renumber(e, aggs);
        }
        std::mem::replace(&mut self.window, outer).calls
    }

    /// Binds every WINDOW clause definition, used or not: PostgreSQL reports their errors
    /// either way (and an aggregate in one makes the query grouped).
    pub(super) fn window_check_named(&mut self, scope: Option<&Scope>) -> Result<()> {
        let named: Vec<ast::WindowSpec> = self.window.named.iter().map(|(_, s)| s.clone()).collect();
        for spec in named {
            let (spec, exclude) = self.resolve_window(&ast::WindowType::WindowSpec(spec))?;
            self.window.in_definition = true;
            let w = self.window_definition(&spec, scope);
            self.window.in_definition = false;
            let (_, order_by) = w?;
            self.frame(spec.window_frame.as_ref(), exclude, &order_by, scope)?;
        }
        Ok(())
    }

    /// A call of a window function, or of an aggregate with OVER.
    pub(super) fn window_call(&mut self, f: &ast::Function, name: &str, scope: Option<&Scope>) -> Result<Expr> {
        let Some(over) = &f.over else {
            return Err(SqlError::new("42809", format!("window function {name} requires an OVER clause")));
        };
        let aggregate = aggregate_name(name);
        if !aggregate && !crate::window::is_window_only(name) {
            return Err(SqlError::new(
                "42809",
                format!("OVER specified, but {name} is not a window function nor an aggregate function"),
            ));
        }
        if self.in_agg {
            return Err(SqlError::new(
                code::GROUPING_ERROR,
                "aggregate function calls cannot contain window function calls",
            ));
        }
        if self.window.in_call {
            return Err(SqlError::new(WINDOWING_ERROR, "window function calls cannot be nested"));
        }
        if !self.allow_aggs && self.aggs_banned_in == "FILTER" {
            return Err(SqlError::new(WINDOWING_ERROR, "window functions are not allowed in FILTER"));
        }
        if self.window.in_definition {
            return Err(SqlError::new(WINDOWING_ERROR, "window functions are not allowed in window definitions"));
        }
        if !self.window.allowed {
            let clause = if self.window.clause.is_empty() { self.aggs_banned_in } else { self.window.clause };
            return Err(SqlError::new(WINDOWING_ERROR, format!("window functions are not allowed in {clause}")));
        }
        let (spec, exclude) = self.resolve_window(over)?;
        // The window's PARTITION BY and ORDER BY.
        self.window.in_definition = true;
        let window = self.window_definition(&spec, scope);
        self.window.in_definition = false;
        let (partition_by, order_by) = window?;
        let frame = self.frame(spec.window_frame.as_ref(), exclude, &order_by, scope)?;
        // The call itself.
        self.window.in_call = true;
        let bound = if aggregate { self.window_aggregate(f, scope) } else { self.window_function(f, name, scope) };
        self.window.in_call = false;
        let (func, args, ty) = bound?;
        let call = WindowCall { func, args, partition_by, order_by, frame, ty };
        // The same call twice is computed once.
        let text = format!("{call:?}");
        let k = match self.window.calls.iter().position(|c| format!("{c:?}") == text) {
            Some(k) => k,
            None => {
                self.window.calls.push(call);
                self.window.calls.len() - 1
            }
        };
        Ok(Expr::Agg(WINDOW_BASE + k, ty))
    }

    /// The window an OVER clause names or writes, with a named window it builds on merged in
    /// (PostgreSQL's rules: a copied window keeps its PARTITION BY, may gain an ORDER BY if it
    /// has none, and may not have a frame), and its frame's EXCLUDE clause.
    fn resolve_window(&self, over: &ast::WindowType) -> Result<(ast::WindowSpec, Exclude)> {
        let lookup = |id: &ast::Ident| -> Result<ast::WindowSpec> {
            let name = super::fold(id);
            let found = self.window.named.iter().find(|(n, _)| *n == name).map(|(_, s)| s.clone());
            found.ok_or_else(|| SqlError::new("42704", format!("window \"{name}\" does not exist")))
        };
        let mut spec = match over {
            ast::WindowType::NamedWindow(id) => lookup(id)?,
            ast::WindowType::WindowSpec(s) => s.clone(),
        };
        let exclude = take_exclusion(&mut spec);
        // Named windows may build on earlier ones; the WINDOW clause is finite and a window
        // can only name one defined before it, so this ends.
        let mut depth = 0;
        while let Some(base_id) = spec.window_name.take() {
            depth += 1;
            if depth > self.window.named.len() + 1 {
                return Err(SqlError::new(WINDOWING_ERROR, "window definitions refer to each other in a cycle"));
            }
            let mut base = lookup(&base_id)?;
            take_exclusion(&mut base);
            let name = super::fold(&base_id);
            if !spec.partition_by.is_empty() {
                return Err(SqlError::new(
                    WINDOWING_ERROR,
                    format!("cannot override PARTITION BY clause of window \"{name}\""),
                ));
            }
            if !base.order_by.is_empty() && !spec.order_by.is_empty() {
                return Err(SqlError::new(
                    WINDOWING_ERROR,
                    format!("cannot override ORDER BY clause of window \"{name}\""),
                ));
            }
            if base.window_frame.is_some() {
                return Err(SqlError::new(
                    WINDOWING_ERROR,
                    format!("cannot copy window \"{name}\" because it has a frame clause"),
                )
                .hint("Omit the parentheses in this OVER clause."));
            }
            spec = ast::WindowSpec {
                window_name: base.window_name,
                partition_by: base.partition_by,
                order_by: if spec.order_by.is_empty() { base.order_by } else { spec.order_by },
                window_frame: spec.window_frame,
            };
        }
        Ok((spec, exclude))
    }

    fn window_definition(
        &mut self,
        spec: &ast::WindowSpec,
        scope: Option<&Scope>,
    ) -> Result<(Vec<Expr>, Vec<AggOrder>)> {
        let mut partition_by = Vec::with_capacity(spec.partition_by.len());
        for e in &spec.partition_by {
            let b = self.expr(e, scope)?;
            partition_by.push(self.known(b)?);
        }
        let mut order_by = Vec::with_capacity(spec.order_by.len());
        for o in &spec.order_by {
            let desc = super::sort_desc(&o.options)?;
            let b = self.expr(&o.expr, scope)?;
            let nulls_first = o.options.nulls_first.unwrap_or(desc);
            order_by.push(AggOrder { expr: self.known(b)?, desc, nulls_first });
        }
        Ok((partition_by, order_by))
    }

    /// An untyped literal is text.
    fn known(&mut self, e: Expr) -> Result<Expr> {
        if e.ty() == SqlType::Unknown {
            self.coerce(e, SqlType::Text, CastContext::Implicit, |_| SqlError::internal("unknown"))
        } else {
            Ok(e)
        }
    }

    fn frame(
        &mut self,
        f: Option<&ast::WindowFrame>,
        exclude: Exclude,
        order_by: &[AggOrder],
        scope: Option<&Scope>,
    ) -> Result<Frame> {
        let Some(f) = f else { return Ok(Frame::default_frame()) };
        let units = match f.units {
            ast::WindowFrameUnits::Rows => FrameUnits::Rows,
            ast::WindowFrameUnits::Range => FrameUnits::Range,
            ast::WindowFrameUnits::Groups => FrameUnits::Groups,
        };
        use ast::WindowFrameBound as B;
        let end = f.end_bound.clone().unwrap_or(B::CurrentRow);
        // gram.y's checks, in its order.
        let frame_err = |m: &str| Err(SqlError::new(WINDOWING_ERROR, m.to_string()));
        match (&f.start_bound, &end) {
            (B::Following(None), _) => return frame_err("frame start cannot be UNBOUNDED FOLLOWING"),
            (_, B::Preceding(None)) => return frame_err("frame end cannot be UNBOUNDED PRECEDING"),
            (B::CurrentRow, B::Preceding(Some(_))) => {
                return frame_err("frame starting from current row cannot have preceding rows")
            }
            (B::Following(Some(_)), B::Preceding(Some(_))) => {
                return frame_err("frame starting from following row cannot have preceding rows")
            }
            // gram.y words the one-bound form (`ROWS 1 FOLLOWING`) differently.
            (B::Following(Some(_)), B::CurrentRow) if f.end_bound.is_none() => {
                return frame_err("frame starting from following row cannot end with current row")
            }
            (B::Following(Some(_)), B::CurrentRow) => {
                return frame_err("frame starting from following row cannot have preceding rows")
            }
            _ => {}
        }
        let has_offset = matches!(f.start_bound, B::Preceding(Some(_)) | B::Following(Some(_)))
            || matches!(end, B::Preceding(Some(_)) | B::Following(Some(_)));
        if units == FrameUnits::Range && has_offset && order_by.len() != 1 {
            return frame_err("RANGE with offset PRECEDING/FOLLOWING requires exactly one ORDER BY column");
        }
        if units == FrameUnits::Groups && order_by.is_empty() {
            return frame_err("GROUPS mode requires an ORDER BY clause");
        }
        // The offsets' type: bigint for ROWS and GROUPS; for RANGE what the ORDER BY type adds.
        let order_ty = order_by.first().map(|o| o.expr.ty()).unwrap_or(SqlType::Int8);
        let (offset_ty, bound_ty) = match units {
            FrameUnits::Rows | FrameUnits::Groups => (SqlType::Int8, SqlType::Int8),
            FrameUnits::Range if !has_offset => (SqlType::Int8, SqlType::Int8),
            FrameUnits::Range => match order_ty {
                t if t.is_integer() => (SqlType::Int8, SqlType::Int8),
                t if t.is_float() => (SqlType::Float8, SqlType::Float8),
                t if t.is_decimal() => (SqlType::NUMERIC, SqlType::NUMERIC),
                SqlType::Date => (SqlType::INTERVAL, SqlType::TIMESTAMP),
                t @ (SqlType::Timestamp(_) | SqlType::TimestampTz(_) | SqlType::Interval(_)) => (SqlType::INTERVAL, t),
                t => {
                    return Err(SqlError::unsupported(format!(
                        "RANGE with offset PRECEDING/FOLLOWING is not supported for column type {}",
                        t.name()
                    )))
                }
            },
        };
        let what = match units {
            FrameUnits::Rows => "ROWS",
            FrameUnits::Range => "RANGE",
            FrameUnits::Groups => "GROUPS",
        };
        let mut bound = |b: &B| -> Result<FrameBound> {
            Ok(match b {
                B::Preceding(None) => FrameBound::UnboundedPreceding,
                B::Following(None) => FrameBound::UnboundedFollowing,
                B::CurrentRow => FrameBound::CurrentRow,
                B::Preceding(Some(e)) => FrameBound::Preceding(self.frame_offset(e, offset_ty, order_ty, what)?),
                B::Following(Some(e)) => FrameBound::Following(self.frame_offset(e, offset_ty, order_ty, what)?),
            })
        };
        let start = bound(&f.start_bound)?;
        let end = bound(&end)?;
        let _ = scope;
        let (range_sub, range_add) = if units == FrameUnits::Range && has_offset {
            let value = Box::new(Expr::Column(0, order_ty));
            let off = Box::new(Expr::Column(1, offset_ty));
            (
                Some(Expr::Arith(ArithOp::Sub, value.clone(), off.clone(), bound_ty)),
                Some(Expr::Arith(ArithOp::Add, value, off, bound_ty)),
            )
        } else {
            (None, None)
        };
        Ok(Frame { units, start, end, range_sub, range_add, exclude })
    }

    /// A frame offset: no column in it (42P10), of the type the frame needs.
    fn frame_offset(&mut self, e: &ast::Expr, to: SqlType, order_ty: SqlType, what: &str) -> Result<Expr> {
        // sqlparser reads a bare string bound (`'inf' PRECEDING`) as an INTERVAL's text;
        // PostgreSQL reads an untyped literal of the offset's type (float8 for a float column).
        let bare;
        let e = match e {
            ast::Expr::Interval(iv)
                if iv.leading_field.is_none()
                    && iv.last_field.is_none()
                    && iv.leading_precision.is_none()
                    && iv.fractional_seconds_precision.is_none() =>
            {
                match iv.value.as_ref() {
                    ast::Expr::Value(v) if matches!(v.value, ast::Value::SingleQuotedString(_)) => {
                        // The text before the literal (its 1-based character position).
                        let written = super::span_position(self.sql, &v.span)
                            .and_then(|p| self.sql.char_indices().nth(p.saturating_sub(1)))
                            .and_then(|(b, _)| self.sql.get(..b))
                            .is_some_and(|before| {
                                let b = before.trim_end();
                                b.len() >= 8 && b[b.len() - 8..].eq_ignore_ascii_case("interval")
                            });
                        if written {
                            e
                        } else {
                            bare = ast::Expr::Value(v.clone());
                            &bare
                        }
                    }
                    _ => e,
                }
            }
            _ => e,
        };
        // Bound without a table: a column reference is the error PostgreSQL gives.
        let b = match self.expr(e, None) {
            Ok(b) => b,
            Err(err) if err.code == code::UNDEFINED_COLUMN => {
                return Err(SqlError::new("42P10", format!("argument of {what} must not contain variables")))
            }
            Err(err) => return Err(err),
        };
        let from = b.ty();
        self.coerce(b, to, CastContext::Implicit, |from_ty| {
            if what == "RANGE" {
                SqlError::new(
                    code::UNDEFINED_FUNCTION,
                    format!(
                        "RANGE with offset PRECEDING/FOLLOWING is not supported for column type {} and offset type {}",
                        order_ty.name(),
                        from_ty.name()
                    ),
                )
            } else {
                SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!("argument of {what} must be type bigint, not type {}", from.name()),
                )
            }
        })
    }

    /// An aggregate with OVER: bound as the aggregate it is, then taken back out of the
    /// query's aggregates.
    fn window_aggregate(&mut self, f: &ast::Function, scope: Option<&Scope>) -> Result<(WinFunc, Vec<Expr>, SqlType)> {
        if let ast::FunctionArguments::List(l) = &f.args {
            if matches!(l.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct)) {
                return Err(SqlError::unsupported("DISTINCT is not implemented for window functions"));
            }
            if l.clauses.iter().any(|c| matches!(c, ast::FunctionArgumentClause::OrderBy(_))) {
                return Err(SqlError::unsupported("aggregate ORDER BY is not implemented for window functions"));
            }
        }
        let plain = ast::Function { over: None, ..f.clone() };
        let before = self.aggs.len();
        let (saved, banned) = (self.allow_aggs, self.aggs_banned_in);
        self.allow_aggs = true;
        self.window.aggregate = true;
        let e = self.function(&plain, scope);
        self.window.aggregate = false;
        (self.allow_aggs, self.aggs_banned_in) = (saved, banned);
        let e = e?;
        match e {
            Expr::Agg(n, ty) if n + 1 == self.aggs.len() && self.aggs.len() > before => {
                let spec = self.aggs.pop().ok_or_else(|| SqlError::internal("window aggregate"))?;
                Ok((WinFunc::Agg(Box::new(spec)), vec![], ty))
            }
            // string_agg(bytea, bytea) is an aggregate of hex texts decoded after it.
            Expr::Call(crate::scalar::Builtin::Text(crate::text_fns::TextFn::Decode), ..) => {
                Err(SqlError::unsupported("string_agg(bytea, bytea) as a window function is not supported yet"))
            }
            _ => Err(SqlError::internal("window aggregate did not bind to an aggregate")),
        }
    }

    /// row_number, rank, ..., nth_value: their arguments and result type.
    fn window_function(
        &mut self,
        f: &ast::Function,
        name: &str,
        scope: Option<&Scope>,
    ) -> Result<(WinFunc, Vec<Expr>, SqlType)> {
        let mut args = Vec::new();
        match &f.args {
            ast::FunctionArguments::None => {}
            ast::FunctionArguments::List(l) => {
                if matches!(l.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct)) {
                    return Err(SqlError::new(
                        "42809",
                        format!("DISTINCT specified, but {name} is not an aggregate function"),
                    ));
                }
                if !l.clauses.is_empty() {
                    return Err(SqlError::new(
                        "42809",
                        format!("ORDER BY specified, but {name} is not an aggregate function"),
                    ));
                }
                for a in &l.args {
                    match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => args.push(self.expr(e, scope)?),
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => {
                            return Err(SqlError::syntax(name))
                        }
                        _ => return Err(SqlError::unsupported("named function arguments are not supported yet")),
                    }
                }
            }
            ast::FunctionArguments::Subquery(_) => {
                return Err(SqlError::unsupported("subqueries are not supported yet"))
            }
        }
        if f.filter.is_some() {
            return Err(SqlError::unsupported("FILTER is not implemented for non-aggregate window functions"));
        }
        let types: Vec<SqlType> = args.iter().map(|a| a.ty()).collect();
        let int4 =
            |b: &mut Binder, e: Expr| b.coerce(e, SqlType::Int4, CastContext::Implicit, |_| no_function(name, &types));
        let (func, ty) = match (name, args.len()) {
            ("row_number", 0) => (WinFunc::RowNumber, SqlType::Int8),
            ("rank", 0) => (WinFunc::Rank, SqlType::Int8),
            ("dense_rank", 0) => (WinFunc::DenseRank, SqlType::Int8),
            ("percent_rank", 0) => (WinFunc::PercentRank, SqlType::Float8),
            ("cume_dist", 0) => (WinFunc::CumeDist, SqlType::Float8),
            ("rank" | "dense_rank" | "percent_rank" | "cume_dist", _) => {
                return Err(SqlError::new(
                    "42809",
                    format!("WITHIN GROUP is required for ordered-set aggregate {name}"),
                ))
            }
            ("ntile", 1) => {
                args[0] = int4(self, args[0].clone())?;
                (WinFunc::Ntile, SqlType::Int4)
            }
            ("lag" | "lead", 1..=3) => {
                if args.len() > 1 {
                    args[1] = int4(self, args[1].clone())?;
                }
                let ty = if args.len() == 3 {
                    let pair = [args[0].clone(), args[2].clone()];
                    let ty = self.common_type(&pair, "lag").map_err(|_| no_function(name, &types))?;
                    args[0] = self.coerce(args[0].clone(), ty, CastContext::Implicit, |_| no_function(name, &types))?;
                    args[2] = self.coerce(args[2].clone(), ty, CastContext::Implicit, |_| no_function(name, &types))?;
                    ty
                } else {
                    args[0] = self.known(args[0].clone())?;
                    args[0].ty()
                };
                (if name == "lag" { WinFunc::Lag } else { WinFunc::Lead }, ty)
            }
            ("first_value", 1) | ("last_value", 1) => {
                args[0] = self.known(args[0].clone())?;
                (if name == "first_value" { WinFunc::FirstValue } else { WinFunc::LastValue }, args[0].ty())
            }
            ("nth_value", 2) => {
                args[0] = self.known(args[0].clone())?;
                args[1] = int4(self, args[1].clone())?;
                (WinFunc::NthValue, args[0].ty())
            }
            _ => return Err(no_function(name, &types)),
        };
        // A window function's result has no typmod (lag of a timestamp(3) is a timestamp).
        let ty = if ty.precision().is_some() { ty.base() } else { ty };
        Ok((func, args, ty))
    }
}

fn empty_spec() -> ast::WindowSpec {
    ast::WindowSpec { window_name: None, partition_by: vec![], order_by: vec![], window_frame: None }
}

/// The EXCLUDE clause [`exclusion_syntax`] put in `spec` (as its last ORDER BY item), taken out.
fn take_exclusion(spec: &mut ast::WindowSpec) -> Exclude {
    let Some(last) = spec.order_by.last() else { return Exclude::NoOthers };
    let ast::Expr::Function(f) = &last.expr else { return Exclude::NoOthers };
    let marker = matches!(&f.name.0[..], [schema, name]
        if schema.as_ident().is_some_and(|i| i.value == "pg_catalog")
            && name.as_ident().is_some_and(|i| i.value == EXCLUDE_MARKER && i.quote_style == Some('"')));
    if !marker {
        return Exclude::NoOthers;
    }
    let what = match &f.args {
        ast::FunctionArguments::List(l) => match l.args.first() {
            Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Value(v)))) => match &v.value {
                ast::Value::SingleQuotedString(s) => s.clone(),
                _ => String::new(),
            },
            _ => String::new(),
        },
        _ => String::new(),
    };
    let exclude = match what.as_str() {
        "current row" => Exclude::CurrentRow,
        "group" => Exclude::Group,
        "ties" => Exclude::Ties,
        _ => return Exclude::NoOthers,
    };
    spec.order_by.pop();
    exclude
}

/// `tokens` with each window frame's `EXCLUDE CURRENT ROW | GROUP | TIES | NO OTHERS` (which
/// sqlparser does not parse) rewritten for [`take_exclusion`]: the clause goes, and a marker
/// call naming it becomes the window's last ORDER BY item, inserted before the frame's units
/// (`ROWS`, `RANGE`, `GROUPS`) at the window's parenthesis level. None if there is none.
pub(super) fn exclusion_syntax(tokens: &[Token]) -> Option<Vec<Token>> {
    let word =
        |t: &Token, k: &str| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k));
    let next = |i: usize, n: usize| -> Vec<usize> {
        (i + 1..tokens.len()).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).take(n).collect()
    };
    // Text to insert before a token, and token ranges [from, to] to drop.
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut drops: Vec<(usize, usize)> = Vec::new();
    for i in 0..tokens.len() {
        if !word(&tokens[i], "EXCLUDE") {
            continue;
        }
        let after = next(i, 2);
        let is = |k: usize, w: &str| after.get(k).is_some_and(|&j| word(&tokens[j], w));
        let (what, last) = if is(0, "CURRENT") && is(1, "ROW") {
            ("current row", after[1])
        } else if is(0, "GROUP") {
            ("group", after[0])
        } else if is(0, "TIES") {
            ("ties", after[0])
        } else if is(0, "NO") && is(1, "OTHERS") {
            ("no others", after[1])
        } else {
            continue;
        };
        // Back to the window's opening parenthesis: the frame's units, and an ORDER BY before them.
        let (mut depth, mut units, mut order_by, mut open) = (0usize, None, false, false);
        for j in (0..i).rev() {
            match &tokens[j] {
                Token::RParen => depth += 1,
                Token::LParen if depth == 0 => {
                    open = true;
                    break;
                }
                Token::LParen => depth -= 1,
                t if depth == 0 => {
                    if units.is_none() && (word(t, "ROWS") || word(t, "RANGE") || word(t, "GROUPS")) {
                        units = Some(j);
                    } else if units.is_some() && word(t, "ORDER") {
                        order_by = true;
                    }
                }
                _ => {}
            }
        }
        let (true, Some(units)) = (open, units) else { continue };
        drops.push((i, last));
        if what != "no others" {
            let marker = format!("pg_catalog.\"{EXCLUDE_MARKER}\"('{what}')");
            inserts.push((units, if order_by { format!(", {marker} ") } else { format!("ORDER BY {marker} ") }));
        }
    }
    if drops.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (j, t) in tokens.iter().enumerate() {
        for (_, text) in inserts.iter().filter(|(at, _)| *at == j) {
            out.push_str(text);
        }
        if !drops.iter().any(|&(from, to)| (from..=to).contains(&j)) {
            out.push_str(&t.to_string());
        }
    }
    Tokenizer::new(&sqlparser::dialect::PostgreSqlDialect {}, &out).tokenize().ok()
}

/// `tokens` with each window frame bound that is a string literal with a cast (`RANGE BETWEEN
/// '1 year'::interval PRECEDING AND ...`) put in parentheses: sqlparser reads a quoted bound as
/// an INTERVAL's text alone and then fails at the `::`. A bound is a string literal right after
/// the frame's units (`ROWS`, `RANGE`, `GROUPS`), after their `BETWEEN`, or after that
/// BETWEEN's `AND`, and ends at its `PRECEDING` / `FOLLOWING`. None if there is none.
pub(super) fn frame_literal_syntax(tokens: &[Token]) -> Option<Vec<Token>> {
    let word =
        |t: &Token, k: &str| matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(k));
    let units = |t: &Token| word(t, "ROWS") || word(t, "RANGE") || word(t, "GROUPS");
    let solid: Vec<usize> = (0..tokens.len()).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).collect();
    // (index of the literal, index of its PRECEDING/FOLLOWING)
    let mut wrap: Vec<(usize, usize)> = Vec::new();
    for (k, &i) in solid.iter().enumerate() {
        if !matches!(tokens[i], Token::SingleQuotedString(_)) || k == 0 {
            continue;
        }
        if solid.get(k + 1).is_none_or(|&j| tokens[j] != Token::DoubleColon) {
            continue;
        }
        let prev = &tokens[solid[k - 1]];
        let before_prev = k.checked_sub(2).map(|p| &tokens[solid[p]]);
        let starts_bound = units(prev)
            || word(prev, "BETWEEN") && before_prev.is_some_and(units)
            || word(prev, "AND") && {
                // Back at this depth to the frame's BETWEEN, right after its units.
                let mut depth = 0i32;
                let mut found = false;
                for p in (0..k - 1).rev() {
                    match &tokens[solid[p]] {
                        Token::RParen => depth += 1,
                        Token::LParen if depth == 0 => break,
                        Token::LParen => depth -= 1,
                        t if depth == 0 && word(t, "BETWEEN") => {
                            found = p > 0 && units(&tokens[solid[p - 1]]);
                            break;
                        }
                        _ => {}
                    }
                }
                found
            };
        if !starts_bound {
            continue;
        }
        let mut depth = 0i32;
        let end = solid[k + 1..].iter().copied().find(|&j| match &tokens[j] {
            Token::LParen => {
                depth += 1;
                false
            }
            Token::RParen => {
                depth -= 1;
                false
            }
            t => depth == 0 && (word(t, "PRECEDING") || word(t, "FOLLOWING")),
        });
        if let Some(end) = end {
            wrap.push((i, end));
        }
    }
    if wrap.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (j, t) in tokens.iter().enumerate() {
        if wrap.iter().any(|&(open, _)| open == j) {
            out.push('(');
        }
        if wrap.iter().any(|&(_, close)| close == j) {
            out.push_str(") ");
        }
        out.push_str(&t.to_string());
    }
    Tokenizer::new(&sqlparser::dialect::PostgreSqlDialect {}, &out).tokenize().ok()
}
