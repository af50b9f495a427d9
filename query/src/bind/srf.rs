//! Binding set-returning functions in a select list ([`crate::srf`]): where PostgreSQL allows
//! them (the select list and ORDER BY of a SELECT) and its errors elsewhere (0A000, from its
//! `check_srf_call_placement`, `check_agg_arguments_walker`, `transformCaseExpr`).

use super::{Binder, Scope};
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use crate::srf::{SrfCall, SrfFunc, SRF_BASE};
use orbit_engine::table::SqlType;
use sqlparser::ast;

const LATERAL_HINT: &str = "You might be able to move the set-returning function into a LATERAL FROM item.";

/// The set-returning calls of the SELECT being bound, and whether one may appear where the
/// binder is now.
#[derive(Debug, Default)]
pub(super) struct SrfState {
    pub(super) calls: Vec<SrfCall>,
    /// In the select list or ORDER BY.
    allowed: bool,
    /// Elsewhere: the clause as PostgreSQL names it in its error (None: a place Orbit does not
    /// support them, e.g. GROUP BY, FROM).
    clause: Option<&'static str>,
}

impl SrfState {
    /// Set-returning calls are allowed from here on.
    pub(super) fn allow(&mut self) {
        self.allowed = true;
        self.clause = None;
    }

    /// From here on they are refused, PostgreSQL's error naming `clause`.
    pub(super) fn ban(&mut self, clause: Option<&'static str>) {
        self.allowed = false;
        self.clause = clause;
    }
}

pub(super) fn is_srf(name: &str) -> bool {
    matches!(name, "unnest" | "generate_series" | "pg_partition_ancestors" | "generate_subscripts" | "_pg_expandarray")
        || super::json_ops::is_json_set(name)
        || is_text_set(name)
}

/// The set-returning functions whose rows are the elements of a text array an array function
/// computes: regexp_split_to_table (regexp_split_to_array's parts), string_to_table
/// (string_to_array's) and regexp_matches (rows of text[], `TextFn::RegexpMatches`).
pub(super) fn is_text_set(name: &str) -> bool {
    matches!(name, "regexp_split_to_table" | "string_to_table" | "regexp_matches")
}

impl Binder<'_> {
    /// A call of `unnest` or `generate_series` in an expression: a placeholder for its value.
    pub(super) fn srf_call(&mut self, f: &ast::Function, name: &str, scope: Option<&Scope>) -> Result<Expr> {
        self.srf_field_call(f, name, scope, None)
    }

    /// A set-returning call's rows as arrays, one per output column (with the columns' default
    /// names and types): the json ones ([`Self::json_set_arrays`]) and [`is_text_set`]'s. None:
    /// `name` is neither.
    pub(super) fn set_arrays(
        &mut self,
        name: &str,
        args: &[ast::FunctionArg],
        scope: Option<&Scope>,
    ) -> Result<Option<Vec<super::json_ops::ArrayColumn>>> {
        if !is_text_set(name) {
            return self.json_set_arrays(name, args, scope);
        }
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => bound.push(self.expr(e, scope)?),
                _ => return Err(SqlError::unsupported(format!("this form of {name}() is not supported"))),
            }
        }
        let types: Vec<SqlType> = bound.iter().map(|b| b.ty()).collect();
        let array_fn = match name {
            "string_to_table" => "string_to_array",
            "regexp_matches" => "regexp_matches",
            _ => "regexp_split_to_array",
        };
        let array = match array_fn {
            "string_to_array" => self.array_function(array_fn, bound, &types),
            _ => self.text_math_function(array_fn, bound, &types),
        };
        // Errors name the function written.
        let array = array.map_err(|mut e| {
            e.message = e.message.replacen(&format!("function {array_fn}("), &format!("function {name}("), 1);
            e.message = e.message.replacen(&format!("{array_fn}() does not"), &format!("{name}() does not"), 1);
            e
        })?;
        let array = match array.ok_or_else(|| super::no_function(name, &types))? {
            Expr::Call(crate::scalar::Builtin::Text(crate::text_fns::TextFn::RegexpSplit), args, ty) => {
                Expr::Call(crate::scalar::Builtin::Text(crate::text_fns::TextFn::RegexpSplitRows), args, ty)
            }
            a => a,
        };
        let row_type = match name {
            "regexp_matches" => array.ty(),
            _ => SqlType::Text,
        };
        Ok(Some(vec![(array, "", row_type)]))
    }

    /// `(f(...)).field` of a set-returning call `f` in the select list; None for any other
    /// field or subscript access.
    pub(super) fn srf_record_field(
        &mut self,
        root: &ast::Expr,
        chain: &[ast::AccessExpr],
        scope: Option<&Scope>,
    ) -> Result<Option<Expr>> {
        let ast::Expr::Nested(inner) = root else { return Ok(None) };
        let ast::Expr::Function(f) = inner.as_ref() else { return Ok(None) };
        let [ast::AccessExpr::Dot(ast::Expr::Identifier(field))] = chain else { return Ok(None) };
        let name = f.name.0.last().and_then(|p| p.as_ident()).map(super::fold).unwrap_or_default();
        if f.over.is_some() || !is_srf(&name) {
            return Ok(None);
        }
        self.srf_field_call(f, &name, scope, Some(&super::fold(field))).map(Some)
    }

    /// [`Self::srf_call`], or with `field` one column of a call returning records
    /// (`(jsonb_each(j)).key`).
    pub(super) fn srf_field_call(
        &mut self,
        f: &ast::Function,
        name: &str,
        scope: Option<&Scope>,
        field: Option<&str>,
    ) -> Result<Expr> {
        if self.in_agg {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                "aggregate function calls cannot contain set-returning function calls",
            )
            .hint(LATERAL_HINT));
        }
        if !self.srf.allowed {
            // An error in the arguments (an aggregate in GROUP BY) comes first, as in PostgreSQL.
            if let ast::FunctionArguments::List(l) = &f.args {
                for a in &l.args {
                    if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a {
                        self.expr(e, scope)?;
                    }
                }
            }
            return Err(match self.srf.clause {
                Some(c) => SqlError::new(
                    code::FEATURE_NOT_SUPPORTED,
                    format!("set-returning functions are not allowed in {c}"),
                ),
                None => SqlError::unsupported(
                    "set-returning functions are supported only in the select list and ORDER BY of a SELECT",
                ),
            });
        }
        let args: &[ast::FunctionArg] = match &f.args {
            ast::FunctionArguments::List(l) if l.clauses.is_empty() && l.duplicate_treatment.is_none() => &l.args,
            ast::FunctionArguments::None => &[],
            _ => return Err(SqlError::unsupported(format!("this form of {name}() is not supported"))),
        };
        if f.filter.is_some() || !f.within_group.is_empty() {
            return Err(SqlError::unsupported(format!("this form of {name}() is not supported")));
        }
        if name == "_pg_expandarray" {
            return self.expand_array(f, args, scope, field);
        }
        // A call in the arguments runs first (a lower level).
        let bound = if super::json_ops::is_json_set(name) || is_text_set(name) {
            match self.set_arrays(name, args, scope)? {
                Some(mut cols) if cols.len() == 1 => {
                    let (a, _, ty) = cols.remove(0);
                    Ok((SrfFunc::Unnest, vec![a], ty))
                }
                Some(cols) => return self.record_srf(cols, field),
                None => Err(SqlError::unsupported(format!("{name}() in the select list is not supported"))),
            }
        } else if name == "unnest" {
            self.unnest_arg(args, scope).map(|(a, ty)| (SrfFunc::Unnest, vec![a], ty))
        } else if name == "pg_partition_ancestors" {
            let arg = [super::subquery::partition_ancestors(args)?];
            self.unnest_arg(&arg, scope).map(|(a, ty)| (SrfFunc::Unnest, vec![a], ty))
        } else if name == "generate_subscripts" {
            // generate_subscripts(a, d): the subscripts of dimension d, lower to upper bound.
            let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a)), ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(d))] =
                args
            else {
                return Err(SqlError::unsupported("this form of generate_subscripts() is not supported"));
            };
            let dialect = sqlparser::dialect::PostgreSqlDialect {};
            let parse = |t: String| {
                sqlparser::parser::Parser::new(&dialect)
                    .try_with_sql(&t)
                    .and_then(|mut p| p.parse_expr())
                    .map_err(|e| SqlError::syntax(&e.to_string()))
            };
            let lo = parse(format!("array_lower({a}, {d})"))?;
            let hi = parse(format!("array_upper({a}, {d})"))?;
            let series = [lo, hi].map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)));
            self.series_args(&series, scope).map(|(a, ty)| (SrfFunc::GenerateSeries, a, ty))
        } else {
            self.series_args(args, scope).map(|(a, ty)| (SrfFunc::GenerateSeries, a, ty))
        };
        let (func, args, ty) = bound?;
        if let Some(f) = field {
            return Err(SqlError::new(
                code::WRONG_OBJECT_TYPE,
                format!("column notation .{f} applied to type {}, which is not a composite type", ty.name()),
            ));
        }
        self.register_srf(func, args, ty)
    }

    /// A set-returning call whose rows are records of several columns (json[b]_each[_text]: key
    /// and value), each column an array unnested in lockstep with the others (one row per
    /// element, as the select list's set-returning calls run): a record of those columns, or
    /// with `field` (`(jsonb_each(j)).key`) that column alone.
    fn record_srf(&mut self, cols: Vec<super::json_ops::ArrayColumn>, field: Option<&str>) -> Result<Expr> {
        if let Some(f) = field {
            let Some((a, _, ty)) = cols.into_iter().find(|(_, n, _)| *n == f) else {
                return Err(SqlError::new(
                    code::UNDEFINED_COLUMN,
                    format!("could not identify column \"{f}\" in record data type"),
                ));
            };
            return self.register_srf(SrfFunc::Unnest, vec![a], ty);
        }
        let mut parts = Vec::with_capacity(cols.len());
        for (a, n, ty) in cols {
            parts.push((n.to_string(), self.register_srf(SrfFunc::Unnest, vec![a], ty)?));
        }
        record_of(parts)
    }

    /// `information_schema._pg_expandarray(a)`: one row per element of `a`, the record `(x, n)`
    /// of the element and its 1-based position, as PostgreSQL defines it (`SELECT $1[s], s -
    /// array_lower($1, 1) + 1 FROM generate_series(array_lower($1, 1), array_upper($1, 1))`).
    /// pgjdbc's getPrimaryKeys and getIndexInfo read `pg_index.indkey` through it. `x` is
    /// `unnest(a)` and `n` `generate_series(1, array_length(a, 1))`, in lockstep; the whole
    /// record is a record, as [`Self::record_srf`]'s.
    fn expand_array(
        &mut self,
        f: &ast::Function,
        args: &[ast::FunctionArg],
        scope: Option<&Scope>,
        field: Option<&str>,
    ) -> Result<Expr> {
        let schema = match f.name.0.as_slice() {
            [s, _] => s.as_ident().map(super::fold),
            _ => None,
        };
        let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(a))] = args else {
            return Err(SqlError::unsupported("this form of _pg_expandarray() is not supported"));
        };
        let array = self.expr(a, scope)?;
        let SqlType::Array(at) = array.ty() else {
            return Err(super::no_function("information_schema._pg_expandarray", &[array.ty()]));
        };
        if schema.as_deref() != Some("information_schema") {
            return Err(super::no_function("_pg_expandarray", &[array.ty()]));
        }
        let dialect = sqlparser::dialect::PostgreSqlDialect {};
        let length = sqlparser::parser::Parser::new(&dialect)
            .try_with_sql(&format!("array_length({a}, 1)"))
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| SqlError::syntax(&e.to_string()))?;
        let one = ast::Expr::value(ast::Value::Number("1".into(), false));
        let series = [one, length].map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)));
        let (series, _) = self.series_args(&series, scope)?;
        let mut x = || self.register_srf(SrfFunc::Unnest, vec![array.clone()], at.elem());
        match field {
            Some("x") => x(),
            Some("n") => self.register_srf(SrfFunc::GenerateSeries, series, SqlType::Int4),
            Some(other) => Err(SqlError::new(
                code::UNDEFINED_COLUMN,
                format!("could not identify column \"{other}\" in record data type"),
            )),
            None => {
                let x = x()?;
                let n = self.register_srf(SrfFunc::GenerateSeries, series, SqlType::Int4)?;
                record_of(vec![("x".to_string(), x), ("n".to_string(), n)])
            }
        }
    }

    /// Registers a set-returning call of the select list: a placeholder for its value.
    fn register_srf(&mut self, func: SrfFunc, args: Vec<Expr>, ty: SqlType) -> Result<Expr> {
        // The arguments live outside the tree folded at the top: fold them here.
        let args = args.into_iter().map(crate::expr::fold).collect::<Result<Vec<_>>>()?;
        let mut level = 1;
        for a in &args {
            a.visit(&mut |x| {
                if let Expr::Agg(i, _) = x {
                    if let Some(c) = i.checked_sub(SRF_BASE).and_then(|k| self.srf.calls.get(k)) {
                        level = level.max(c.level + 1);
                    }
                }
            });
        }
        let call = SrfCall { func, args, ty, level };
        // The same call written twice (in the select list and ORDER BY) is one call, as
        // PostgreSQL matches ORDER BY items to the select list.
        let text = format!("{call:?}");
        let k = match self.srf.calls.iter().position(|c| format!("{c:?}") == text) {
            Some(k) => k,
            None => {
                self.srf.calls.push(call);
                self.srf.calls.len() - 1
            }
        };
        Ok(Expr::Agg(SRF_BASE + k, ty))
    }

    /// PostgreSQL's error for a set-returning call inside `what` (CASE, COALESCE), where it
    /// is not allowed.
    pub(super) fn srf_refused_in(&self, e: &Expr, what: &str) -> Result<()> {
        if crate::srf::has_srf(e) {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                format!("set-returning functions are not allowed in {what}"),
            )
            .hint(LATERAL_HINT));
        }
        Ok(())
    }

    /// Refuses GROUP BY items that name a select-list item reading a set-returning call
    /// (`GROUP BY 1`): PostgreSQL runs such calls below the grouping, Orbit does not.
    pub(super) fn srf_group_by_check(
        &self,
        items: &[ast::Expr],
        projection: &[Expr],
        columns: &[super::OutputColumn],
    ) -> Result<()> {
        let refused = items.iter().any(|item| {
            let output = match item {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::Number(n, _) => n.parse::<usize>().ok().and_then(|i| i.checked_sub(1)),
                    _ => None,
                },
                ast::Expr::Identifier(id) => columns.iter().position(|c| c.name == super::fold(id)),
                _ => None,
            };
            output.and_then(|i| projection.get(i)).is_some_and(crate::srf::has_srf)
        });
        if refused {
            return Err(SqlError::unsupported("set-returning functions in GROUP BY are not supported"));
        }
        Ok(())
    }

    /// Ends a SELECT: its calls, their placeholders in `exprs` renumbered after the `aggs`
    /// aggregates and window functions; the enclosing query's state is back. FOR UPDATE does not
    /// combine with them, nor does a window function that reads one.
    pub(super) fn srf_end<'e>(
        &mut self,
        outer: SrfState,
        windows: &[crate::window::WindowCall],
        for_update: Option<&'static str>,
        exprs: impl Iterator<Item = &'e mut Expr>,
    ) -> Result<Vec<SrfCall>> {
        let calls = std::mem::replace(&mut self.srf, outer).calls;
        if calls.is_empty() {
            return Ok(calls);
        }
        let in_args = |w: &crate::window::WindowCall| {
            let spec_args = match &w.func {
                crate::window::WinFunc::Agg(spec) => vec![spec.arg.as_ref(), spec.filter.as_ref()],
                _ => vec![],
            };
            w.args.iter().chain(spec_args.into_iter().flatten()).any(crate::srf::has_srf)
        };
        if windows.iter().any(in_args) {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                "window function calls cannot contain set-returning function calls",
            )
            .hint(LATERAL_HINT));
        }
        // PostgreSQL runs the calls in a window's PARTITION BY or ORDER BY before the windows.
        let in_definition = |w: &crate::window::WindowCall| {
            w.partition_by.iter().chain(w.order_by.iter().map(|o| &o.expr)).any(crate::srf::has_srf)
        };
        if windows.iter().any(in_definition) {
            return Err(SqlError::unsupported(
                "set-returning functions in a window's PARTITION BY or ORDER BY are not supported",
            ));
        }
        if let Some(clause) = for_update {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                format!("{clause} is not allowed with set-returning functions in the target list"),
            ));
        }
        // Their values follow the aggregates' and the window functions'.
        let first = self.aggs.len() + windows.len();
        for e in exprs {
            crate::srf::renumber(e, first);
        }
        let mut calls = calls;
        for c in &mut calls {
            for a in &mut c.args {
                crate::srf::renumber(a, first);
            }
        }
        Ok(calls)
    }
}

/// The alias of the LATERAL item [`grouped_srfs`] adds, and its columns' prefix.
const BELOW: &str = "?srf";

/// Set-returning calls in GROUP BY (written there, or in the select-list item a GROUP BY item
/// names by number or alias) run below the grouping, as in PostgreSQL (whose planner evaluates
/// them in the scan's target list), and so do those in a window's PARTITION BY or ORDER BY in a
/// query without grouping (below the windows): `q` rewritten so they are one LATERAL item after its FROM
/// items, `LATERAL (SELECT call1 AS "?srf1", ...) AS "?srf"` (the calls in lockstep, as a
/// select list runs them), and every occurrence of those calls in the select list, GROUP BY and
/// ORDER BY (outside subqueries) reads its column. HAVING keeps them (PostgreSQL's error). None
/// when there is no such call, or the select list has a `*` (the item's columns would show).
pub(super) fn grouped_srfs(q: &ast::Query) -> Option<ast::Query> {
    use std::ops::ControlFlow;
    let ast::SetExpr::Select(sel) = q.body.as_ref() else { return None };
    let ast::GroupByExpr::Expressions(items, _) = &sel.group_by else { return None };
    if sel
        .projection
        .iter()
        .any(|i| !matches!(i, ast::SelectItem::UnnamedExpr(_) | ast::SelectItem::ExprWithAlias { .. }))
    {
        return None;
    }
    let select_expr = |i: &ast::SelectItem| match i {
        ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => Some(e.clone()),
        _ => None,
    };
    // The expressions GROUP BY groups by (those in ROLLUP, CUBE and GROUPING SETS too).
    let mut flat: Vec<&ast::Expr> = Vec::new();
    for item in items {
        match item {
            ast::Expr::Rollup(sets) | ast::Expr::Cube(sets) | ast::Expr::GroupingSets(sets) => {
                flat.extend(sets.iter().flatten())
            }
            e => flat.push(e),
        }
    }
    let mut grouped: Vec<ast::Expr> = Vec::new();
    for item in flat {
        let named = match item {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => {
                    n.parse::<usize>().ok().and_then(|i| i.checked_sub(1)).and_then(|i| sel.projection.get(i))
                }
                _ => None,
            },
            ast::Expr::Identifier(id) => sel.projection.iter().find(|i| match i {
                ast::SelectItem::ExprWithAlias { alias, .. } => super::fold(alias) == super::fold(id),
                ast::SelectItem::UnnamedExpr(e) => super::column_name(e) == super::fold(id),
                _ => false,
            }),
            _ => None,
        };
        grouped.push(named.and_then(select_expr).unwrap_or_else(|| item.clone()));
    }
    // A query without grouping: the calls in its windows' PARTITION BY and ORDER BY, which
    // PostgreSQL also runs below (the windows').
    let aggregates = |e: &ast::Expr| {
        let mut found = false;
        let _ = ast::visit_expressions(e, |x| {
            if let ast::Expr::Function(f) = x {
                let name = f.name.0.last().and_then(|p| p.as_ident()).map(super::fold).unwrap_or_default();
                found |= f.over.is_none() && (super::window::aggregate_name(&name) || name == "grouping");
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        found
    };
    let order_by: Vec<&ast::Expr> = match q.order_by.as_ref().map(|o| &o.kind) {
        Some(ast::OrderByKind::Expressions(list)) => list.iter().map(|o| &o.expr).collect(),
        _ => vec![],
    };
    let select_exprs: Vec<&ast::Expr> = sel
        .projection
        .iter()
        .filter_map(|i| match i {
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
            _ => None,
        })
        .collect();
    if items.is_empty() {
        if sel.having.is_some() || select_exprs.iter().copied().chain(order_by.iter().copied()).any(aggregates) {
            return None;
        }
        let mut specs: Vec<ast::WindowSpec> = Vec::new();
        for e in select_exprs.iter().copied().chain(order_by.iter().copied()) {
            let _ = ast::visit_expressions(e, |x| {
                if let ast::Expr::Function(ast::Function { over: Some(ast::WindowType::WindowSpec(w)), .. }) = x {
                    specs.push(w.clone());
                }
                ControlFlow::<()>::Continue(())
            });
        }
        for ast::NamedWindowDefinition(_, w) in &sel.named_window {
            if let ast::NamedWindowExpr::WindowSpec(w) = w {
                specs.push(w.clone());
            }
        }
        if specs.is_empty() {
            return None;
        }
        for w in specs {
            grouped.extend(w.partition_by);
            grouped.extend(w.order_by.into_iter().map(|o| o.expr));
        }
    }
    // The outermost set-returning calls in them, each once.
    struct Calls {
        found: Vec<ast::Expr>,
        depth: usize,
        inside: usize,
    }
    impl ast::Visitor for Calls {
        type Break = ();
        subquery_depth!();
        fn pre_visit_expr(&mut self, e: &ast::Expr) -> ControlFlow<()> {
            if let ast::Expr::Function(f) = e {
                let srf = f.name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| is_srf(&super::fold(i)));
                if srf && self.depth == 0 {
                    if self.inside == 0 && !self.found.contains(e) {
                        self.found.push(e.clone());
                    }
                    self.inside += 1;
                }
            }
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, e: &ast::Expr) -> ControlFlow<()> {
            if let ast::Expr::Function(f) = e {
                let srf = f.name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| is_srf(&super::fold(i)));
                if srf && self.depth == 0 {
                    self.inside -= 1;
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut calls = Calls { found: vec![], depth: 0, inside: 0 };
    for g in &grouped {
        let _ = ast::Visit::visit(g, &mut calls);
    }
    // A call reading an aggregate is PostgreSQL's 42803, which binding GROUP BY gives.
    if calls.found.is_empty() || calls.found.iter().any(aggregates) {
        return None;
    }
    // The LATERAL item, parsed from its text.
    let list: Vec<String> =
        calls.found.iter().enumerate().map(|(k, c)| format!("{c} AS \"{BELOW}{}\"", k + 1)).collect();
    let text = format!("SELECT 1 FROM LATERAL (SELECT {}) AS \"{BELOW}\"", list.join(", "));
    let parsed = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, &text).ok()?;
    let [ast::Statement::Query(lq)] = parsed.as_slice() else { return None };
    let ast::SetExpr::Select(ls) = lq.body.as_ref() else { return None };
    let item = ls.from.first()?.clone();
    // Every occurrence of a call reads the item's column instead.
    struct Replace<'a> {
        calls: &'a [ast::Expr],
        depth: usize,
    }
    impl ast::VisitorMut for Replace<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, _: &mut ast::Query) -> ControlFlow<()> {
            self.depth += 1;
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _: &mut ast::Query) -> ControlFlow<()> {
            self.depth -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
            if self.depth == 0 {
                if let Some(k) = self.calls.iter().position(|c| c == e) {
                    *e = ast::Expr::CompoundIdentifier(vec![
                        ast::Ident::with_quote('"', BELOW),
                        ast::Ident::with_quote('"', format!("{BELOW}{}", k + 1)),
                    ]);
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut r = Replace { calls: &calls.found, depth: 0 };
    let mut sel = sel.as_ref().clone();
    for i in &mut sel.projection {
        // An item that was a call keeps the name PostgreSQL gives it.
        if let ast::SelectItem::UnnamedExpr(e) = i {
            let name = super::column_name(e);
            let mut changed = e.clone();
            let _ = ast::VisitMut::visit(&mut changed, &mut r);
            if changed != *e {
                *i = ast::SelectItem::ExprWithAlias { expr: changed, alias: ast::Ident::with_quote('"', name) };
            }
            continue;
        }
        let _ = ast::VisitMut::visit(i, &mut r);
    }
    if let ast::GroupByExpr::Expressions(items, _) = &mut sel.group_by {
        for g in items {
            let _ = ast::VisitMut::visit(g, &mut r);
        }
    }
    for w in &mut sel.named_window {
        let _ = ast::VisitMut::visit(w, &mut r);
    }
    sel.from.push(item);
    let mut q = q.clone();
    if let Some(ob) = &mut q.order_by {
        let _ = ast::VisitMut::visit(&mut ob.kind, &mut r);
    }
    q.body = Box::new(ast::SetExpr::Select(Box::new(sel)));
    Some(q)
}

/// An anonymous record of the named values (a record-returning call's row), NULL where each
/// is NULL: past the call's last row, while a longer call of the select list goes on.
fn record_of(fields: Vec<(String, Expr)>) -> Result<Expr> {
    let shape = fields.iter().map(|(n, e)| (n.clone(), e.ty())).collect();
    let oid = crate::composites::shape(crate::composites::ANONYMOUS, shape)?;
    let args = fields.into_iter().map(|(_, e)| e).collect();
    Ok(Expr::Call(crate::scalar::Builtin::WholeRow(oid), args, SqlType::Composite(oid)))
}
