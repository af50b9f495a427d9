//! Binding of queries beyond one SELECT over stored tables ([`crate::relation`] runs them):
//! derived tables and VALUES in FROM, set operations, WITH [RECURSIVE], generate_series() in
//! FROM, and subqueries in expressions with their references to enclosing queries.
//!
//! Every query level (the top statement, each subquery) collects the relations its FROM
//! computes and the subqueries its expressions hold; [`Binder::query`] wraps them with the
//! level's plan into a [`Plan::Query`]. A name that no FROM item of the level has is looked up
//! in the enclosing levels' FROM items (innermost first, as PostgreSQL does); such an outer
//! reference makes the subquery directly inside that level correlated.

use super::{fold, Binder, JoinScope, OutputColumn, Plan, Scope, SelectPlan, SortKey};
use crate::error::{code, Result, SqlError};
use crate::expr::{CmpOp, Expr};
use crate::relation::{self, Correlated, Derived, LinkKind, QueryPlan, SetOp, Source, SubLink, LINK_BASE, OUTER_BASE};
use crate::types::CastContext;
use orbit_engine::table::{ColumnDef, Datum, SqlType, TableDef};
use sqlparser::ast;
use std::sync::Arc;

mod rows_from;
mod search_cycle;
pub(super) use rows_from::syntax as rows_from_syntax;
pub(in crate::bind) use search_cycle::{byte_offset, splice};

/// A statement sqlparser printed, with the markers of `ROWS FROM`, `GROUP BY DISTINCT` and
/// SEARCH / CYCLE clauses printed back as PostgreSQL's syntax.
pub(crate) fn markers_printed(text: &str) -> String {
    let text = text.replace(&format!("\"{}\"", rows_from::MARK), "ROWS FROM");
    let text = text.replace(&format!("\"{}\"(), ", super::grouping::DISTINCT_MARK), "DISTINCT ");
    search_cycle::print_back(&text)
}
pub(super) use search_cycle::syntax as search_cycle_syntax;

/// The binder's state for relations and subqueries.
#[derive(Default)]
pub(super) struct State {
    next_id: usize,
    /// The FROM scopes of the enclosing query levels, innermost last.
    frames: Vec<Frame>,
    /// The WITH queries in scope, innermost last.
    ctes: Vec<CteName>,
    /// How many queries are being bound, one inside another (1: the statement's own).
    query_depth: usize,
    /// The tables the statement's data-modifying WITH queries change: the rest of the
    /// statement may not read them (see [`Binder::check_not_modified`]).
    pub(super) modified: Vec<String>,
    /// This level's subqueries in expressions.
    links: Vec<SubLink>,
    /// This level's computed FROM relations.
    inputs: Vec<Derived>,
    /// The (table OID, attribute number) each column of a derived table or WITH query bound
    /// so far comes from (0, 0: computed), by the definition's name: a column read through it
    /// reports its base table in RowDescription, as PostgreSQL traces it.
    pub(super) origins: std::collections::HashMap<String, Vec<(u32, i16)>>,
    /// The next SELECT keeps untyped literals in its select list untyped (a set operation's
    /// branch: the operation resolves their type).
    pub(super) keep_unknown: bool,
    /// The views being expanded, outermost first (a view naming itself is a loop).
    pub(super) views_expanding: Vec<String>,
    /// While CREATE [MATERIALIZED] VIEW binds its query: each `*` / `t.*` select item of it
    /// bound, with the columns it stood for (`bind/view_text.rs`).
    pub(super) star_log: Option<Vec<super::view_text::StarItem>>,
    /// The check options of the views the INSERT or UPDATE being bound went through, over
    /// the relation it names now (`bind/updatable_views.rs`); taken by its binding.
    pub(super) view_checks: Vec<super::updatable_views::ViewCheckClause>,
    /// The aggregate rules of the levels that hold the subqueries being bound, innermost last
    /// ([`super::sublink_levels`]: an aggregate of only their columns is theirs).
    pub(super) enclosing: Vec<super::sublink_levels::Enclosing>,
    /// The aggregate call bound next is an enclosing level's (already decided).
    pub(super) agg_up: bool,
    /// The `row [NOT] IN (SELECT ...)` nodes (their addresses) AND-ed at the top of the
    /// SELECT WHERE being bound: they bind as [`LinkKind::AnyRow`] sublinks.
    pub(super) row_in_filter: Vec<usize>,
    /// The relations parenthesized joins compute (their definitions' names): the columns of
    /// them the level never reads are not computed ([`super::nested_join::prune`]).
    pub(super) nested_relations: Vec<String>,
}

impl State {
    /// For the enclosing level `f` (a frame index) of a subquery in an expression: the index
    /// of its aggregate rules in [`State::enclosing`], when it and every level inside it are
    /// subqueries in expressions (not FROM items left of a LATERAL one).
    pub(super) fn sublink_level(&self, f: usize) -> Option<usize> {
        let frames = self.frames.get(f..)?;
        if frames.is_empty() || !frames.iter().all(|x| x.sublink) {
            return None;
        }
        Some(frames[0].enclosing)
    }

    /// The outer references resolved so far in enclosing level `f`.
    pub(super) fn captures_of(&self, f: usize) -> Captures {
        self.frames.get(f).map(|x| x.captures.clone()).unwrap_or_default()
    }

    /// Adds an outer reference resolved in enclosing level `f`: `r` stands for `e`, an
    /// expression of that level; `moved` are references an aggregate moved there no longer
    /// needs.
    pub(super) fn capture(&mut self, f: usize, r: usize, e: Expr, moved: Vec<usize>) {
        if let Some(x) = self.frames.get_mut(f) {
            x.captures.push((r, e));
            x.moved.extend(moved);
        }
    }

    /// How many enclosing levels are in scope (the level being bound is this index).
    pub(super) fn depth(&self) -> usize {
        self.frames.len()
    }

    /// How many queries are being bound, one inside another.
    pub(super) fn query_depth(&self) -> usize {
        self.query_depth
    }

    pub(super) fn fresh_id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn links_mut(&mut self) -> &mut [SubLink] {
        &mut self.links
    }

    /// This level's subqueries in expressions (a parenthesized join takes them as a level of
    /// its own: `bind/nested_join.rs`).
    pub(super) fn links_vec(&mut self) -> &mut Vec<SubLink> {
        &mut self.links
    }

    /// How many subqueries and computed relations the statement has so far.
    pub(super) fn collected(&self) -> (usize, usize) {
        (self.links.len(), self.inputs.len())
    }

    /// Drops those collected since [`State::collected`] said `at`.
    pub(super) fn forget_since(&mut self, at: (usize, usize)) {
        self.links.truncate(at.0);
        self.inputs.truncate(at.1);
    }
}

struct Frame {
    def: Option<TableDef>,
    alias: String,
    joined: Option<JoinScope>,
    /// Outer references resolved in this frame: (reference number, the column).
    captures: Vec<(usize, Expr)>,
    /// The FROM items left of a derived table that is not LATERAL: in scope only for
    /// PostgreSQL's error that they cannot be referenced from there.
    blocked: bool,
    /// The FROM items left of a parenthesized join: in scope only for the LATERAL items inside
    /// it (its ON conditions and plain subqueries get the "cannot be referenced" error).
    lateral_only: bool,
    /// The level of a subquery in an expression (not FROM items left of a LATERAL one).
    sublink: bool,
    /// Outer references read by the arguments of aggregates that went to this level.
    moved: Vec<usize>,
    /// A subquery's level: the index of its aggregate rules in [`State::enclosing`].
    enclosing: usize,
}

/// Outer references a subquery reads: (reference number, the column in the enclosing row).
type Captures = Vec<(usize, Expr)>;

struct CteName {
    name: String,
    def: Arc<TableDef>,
    refs: usize,
    /// A recursive WITH query's references to itself (in its recursive term).
    self_refs: usize,
    /// An INSERT, UPDATE or DELETE without RETURNING: nothing to read.
    no_returning: bool,
}

fn leaf_query(body: &ast::SetExpr) -> ast::Query {
    ast::Query {
        with: None,
        body: Box::new(body.clone()),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: vec![],
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: vec![],
    }
}

fn columns_of(cols: &[OutputColumn], aliases: &[String]) -> Vec<ColumnDef> {
    cols.iter()
        .enumerate()
        .map(|(i, c)| {
            let ty = if c.ty == SqlType::Unknown { SqlType::Text } else { c.ty };
            ColumnDef::new(aliases.get(i).cloned().unwrap_or_else(|| c.name.clone()), ty)
        })
        .collect()
}

/// Whether a query body is, or combines, a `TABLE name` item.
fn names_table(body: &ast::SetExpr) -> bool {
    match body {
        ast::SetExpr::Table(_) => true,
        ast::SetExpr::SetOperation { left, right, .. } => names_table(left) || names_table(right),
        _ => false,
    }
}

/// Rewrites each `TABLE name` item of a query body as `SELECT * FROM name`.
fn table_as_select(body: &mut ast::SetExpr) -> Result<()> {
    match body {
        ast::SetExpr::Table(t) => {
            let Some(name) = &t.table_name else { return Err(SqlError::syntax("TABLE")) };
            let from = match &t.schema_name {
                Some(s) => format!("{s}.{name}"),
                None => name.to_string(),
            };
            let stmt = super::parse(&format!("SELECT * FROM {from}"))?.pop();
            let Some(ast::Statement::Query(q)) = stmt else { return Err(SqlError::syntax("TABLE")) };
            *body = *q.body;
            Ok(())
        }
        ast::SetExpr::SetOperation { left, right, .. } => {
            table_as_select(left)?;
            table_as_select(right)
        }
        _ => Ok(()),
    }
}

pub(super) fn alias_columns(alias: Option<&ast::TableAlias>, available: usize, what: &str) -> Result<Vec<String>> {
    let Some(a) = alias else { return Ok(vec![]) };
    if a.columns.len() > available {
        if a.name.value == super::ctas_columns::MARK {
            return Err(SqlError::new(code::SYNTAX_ERROR, "too many column names were specified"));
        }
        return Err(SqlError::new(
            "42P10",
            format!(
                "{what} \"{}\" has {available} columns available but {} columns specified",
                fold(&a.name),
                a.columns.len()
            ),
        ));
    }
    Ok(a.columns.iter().map(|c| fold(&c.name)).collect())
}

/// A recursive WITH query the statement reads once, as `SELECT <row expressions> FROM q LIMIT n
/// [OFFSET m]` (no WHERE, grouping, DISTINCT, ORDER BY, window or set-returning calls): its
/// recursion may stop once it has n + m rows, as PostgreSQL's evaluation stops when the parent
/// fetches no more (`WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t) SELECT *
/// FROM t LIMIT 10` ends). Its rows come in the same order either way.
fn stop_recursion_early(ctes: &mut [Derived], plan: &Plan, outside_refs: &[(String, usize)]) {
    let Plan::Select(sp) = plan else { return };
    let Some(t) = &sp.table else { return };
    let simple = simple_reader(sp);
    // A constant count (LIMIT's is cast to bigint).
    fn constant(e: &Expr) -> Option<u64> {
        match e {
            Expr::Const(d, _) => d.as_i64().and_then(|v| u64::try_from(v).ok()),
            Expr::Cast(inner, _, _) => constant(inner),
            _ => None,
        }
    }
    // Each recursive WITH query read once outside itself: a cap on its reader's rows caps it.
    for d in ctes.iter_mut() {
        if let Source::Recursive { once, .. } = &mut d.source {
            *once = outside_refs.iter().any(|(n, r)| *n == d.def.name && *r == 1);
        }
    }
    if !simple {
        return;
    }
    let Some(limit) = sp.limit.as_ref().and_then(constant) else { return };
    let Some(offset) = sp.offset.as_ref().map_or(Some(0), constant) else { return };
    for d in ctes.iter_mut().filter(|d| d.def.name == t.name) {
        cap_recursion(&mut d.source, limit.saturating_add(offset));
    }
}

/// A recursive WITH query of which `n` rows are enough: it stops once it has them. When it is
/// a UNION ALL whose recursive term is itself a query over a nested recursive WITH query read
/// once (`... UNION ALL (WITH RECURSIVE x AS (...) SELECT * FROM x)`), each round needs at
/// most `n` rows of the nested one too, which PostgreSQL's evaluation, pulling rows as its
/// parent asks, never goes past: that query is capped as well (it may be infinite alone).
fn cap_recursion(source: &mut Source, n: u64) {
    let Source::Recursive { enough, all, step, once: true, .. } = source else { return };
    *enough = Some(n);
    if !*all {
        return;
    }
    let Source::Query(plan) = step.as_mut() else { return };
    let Plan::Query(qp) = plan.as_mut() else { return };
    if !qp.links.is_empty() || !qp.inputs.is_empty() {
        return;
    }
    let Plan::Select(sp) = &qp.body else { return };
    let Some(t) = &sp.table else { return };
    if !simple_reader(sp) || sp.limit.is_some() || sp.offset.is_some() {
        return;
    }
    let name = t.name.clone();
    for d in qp.ctes.iter_mut().filter(|d| d.def.name == name) {
        cap_recursion(&mut d.source, n);
    }
}

/// A SELECT that passes its one FROM item's rows through in order (row expressions only).
fn simple_reader(sp: &super::SelectPlan) -> bool {
    sp.join.is_none()
        && sp.filter.is_none()
        && sp.key.is_none()
        && !sp.grouped
        && sp.aggs.is_empty()
        && sp.having.is_none()
        && matches!(sp.distinct, super::Distinct::None)
        && sp.order_by.is_empty()
        && sp.windows.is_empty()
        && sp.srfs.is_empty()
        && sp.for_update.is_none()
        && !sp.limit_ties
}

fn has_link(e: &Expr, ids: &[usize]) -> bool {
    ids.iter().any(|&id| relation::reads_link(e, id))
}

impl Binder<'_> {
    fn new_id(&mut self) -> usize {
        self.sub.next_id += 1;
        self.sub.next_id
    }

    /// Any query (SELECT, VALUES, set operations, WITH): its plan and result columns.
    pub(super) fn query(&mut self, q: &ast::Query) -> Result<(Plan, Vec<OutputColumn>)> {
        if names_table(&q.body) {
            // `TABLE name` is `SELECT * FROM name`, as in PostgreSQL.
            let mut q = q.clone();
            table_as_select(&mut q.body)?;
            return self.query(&q);
        }
        let saved_links = std::mem::take(&mut self.sub.links);
        let saved_inputs = std::mem::take(&mut self.sub.inputs);
        let pushed = self.sub.ctes.len();
        self.sub.query_depth += 1;
        let r = self.query_level(q);
        self.sub.query_depth -= 1;
        // Each WITH query's references from outside itself.
        let outside_refs: Vec<(String, usize)> =
            self.sub.ctes[pushed..].iter().map(|c| (c.def.name.clone(), c.refs - c.self_refs)).collect();
        self.sub.ctes.truncate(pushed);
        let links = std::mem::replace(&mut self.sub.links, saved_links);
        let inputs = std::mem::replace(&mut self.sub.inputs, saved_inputs);
        let (plan, cols, mut ctes) = r?;
        stop_recursion_early(&mut ctes, &plan, &outside_refs);
        Ok((self.finish_level(plan, ctes, links, inputs)?, cols))
    }

    fn query_level(&mut self, q: &ast::Query) -> Result<(Plan, Vec<OutputColumn>, Vec<Derived>)> {
        crate::stack_depth::check()?;
        let mut ctes = Vec::new();
        // Whether this query's select list keeps untyped literals: not its WITH queries'.
        let keep = std::mem::take(&mut self.sub.keep_unknown);
        if let Some(with) = &q.with {
            self.bind_ctes(with, &mut ctes)?;
        }
        self.sub.keep_unknown = keep;
        let (plan, cols) = match q.body.as_ref() {
            ast::SetExpr::Select(_) => self.select_query(q)?,
            // `WITH ... INSERT/UPDATE/DELETE`: the statement, its WITH queries in scope.
            ast::SetExpr::Insert(stmt)
            | ast::SetExpr::Update(stmt)
            | ast::SetExpr::Delete(stmt)
            | ast::SetExpr::Merge(stmt) => {
                if q.order_by.is_some() || q.limit_clause.is_some() || q.fetch.is_some() {
                    return Err(SqlError::syntax(if q.order_by.is_some() { "ORDER" } else { "LIMIT" }));
                }
                self.sub.keep_unknown = false;
                self.statement(stmt)?
            }
            _ => {
                self.sub.keep_unknown = false;
                self.set_query(q)?
            }
        };
        Ok((plan, cols, ctes))
    }

    /// A query whose body is not a SELECT: a SELECT over the body's rows applies ORDER BY
    /// and LIMIT.
    fn set_query(&mut self, q: &ast::Query) -> Result<(Plan, Vec<OutputColumn>)> {
        let set_op = match q.body.as_ref() {
            ast::SetExpr::SetOperation { op, .. } => Some(match op {
                ast::SetOperator::Intersect => "INTERSECT",
                ast::SetOperator::Except | ast::SetOperator::Minus => "EXCEPT",
                ast::SetOperator::Union => "UNION",
            }),
            _ => None,
        };
        if !q.locks.is_empty() {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                if set_op.is_some() {
                    "FOR UPDATE is not allowed with UNION/INTERSECT/EXCEPT"
                } else {
                    "FOR UPDATE cannot be applied to VALUES"
                },
            ));
        }
        let (source, cols) = self.set_expr(&q.body)?;
        let id = self.new_id();
        let def = Arc::new(relation::derived_def(id, columns_of(&cols, &[])));
        let label = if set_op.is_some() { "*SELECT*" } else { "*VALUES*" };
        self.sub.inputs.push(Derived { def: def.clone(), label: label.into(), source });
        let projection: Vec<Expr> = def.columns.iter().enumerate().map(|(i, c)| Expr::Column(i, c.ty)).collect();
        let cols: Vec<OutputColumn> = def
            .columns
            .iter()
            .map(|c| OutputColumn { name: c.name.clone(), ty: c.ty, table_oid: 0, column: 0 })
            .collect();
        let scope = Scope { def: &def, alias: label.into(), joined: None };
        let mut order_by = Vec::new();
        if let Some(ob) = &q.order_by {
            let ast::OrderByKind::Expressions(list) = &ob.kind else {
                return Err(SqlError::unsupported("ORDER BY ALL is not supported"));
            };
            for o in list {
                let plain = matches!(&o.expr, ast::Expr::Identifier(_))
                    || matches!(&o.expr, ast::Expr::Value(v) if matches!(v.value, ast::Value::Number(..)));
                if set_op.is_some() && !plain {
                    return Err(SqlError::new(
                        code::FEATURE_NOT_SUPPORTED,
                        "invalid UNION/INTERSECT/EXCEPT ORDER BY clause",
                    )
                    .detail("Only result column names can be used, not expressions or functions.")
                    .hint("Add the expression/function to every SELECT, or move the UNION into a FROM clause."));
                }
                let source = self.sort_source(&o.expr, &projection, &cols, Some(&scope), "ORDER BY")?;
                let desc = super::sort_desc(&o.options)?;
                let nulls_first = o.options.nulls_first.unwrap_or(desc);
                order_by.push(SortKey { source, desc, nulls_first });
            }
        }
        let (mut limit, mut offset) = (None, None);
        match &q.limit_clause {
            None => {}
            Some(ast::LimitClause::LimitOffset { limit: l, offset: o, limit_by }) if limit_by.is_empty() => {
                if let Some(l) = l {
                    limit = Some(self.count_expr(l, "LIMIT")?);
                }
                if let Some(o) = o {
                    offset = Some(self.count_expr(&o.value, "OFFSET")?);
                }
            }
            Some(_) => return Err(SqlError::syntax(",")),
        }
        let mut limit_ties = false;
        if let Some(f) = &q.fetch {
            (limit, limit_ties) = self.fetch_clause(f, limit.is_some(), !order_by.is_empty())?;
        }
        let plan = SelectPlan { order_by, limit, limit_ties, offset, ..SelectPlan::reading(def, projection) };
        Ok((Plan::Select(Box::new(plan)), cols))
    }

    /// A query body as a row source: a SELECT (or parenthesised query), VALUES, or a set
    /// operation of two bodies with PostgreSQL's column type resolution.
    fn set_expr(&mut self, body: &ast::SetExpr) -> Result<(Source, Vec<OutputColumn>)> {
        match body {
            ast::SetExpr::Select(_) | ast::SetExpr::Query(_) => {
                let leaf;
                let q = match body {
                    ast::SetExpr::Query(q) => q.as_ref(),
                    _ => {
                        leaf = leaf_query(body);
                        &leaf
                    }
                };
                self.sub.keep_unknown = true;
                let r = self.query(q);
                self.sub.keep_unknown = false;
                let (plan, cols) = r?;
                Ok((Source::Query(Box::new(plan)), cols))
            }
            ast::SetExpr::Values(v) => self.values(v),
            ast::SetExpr::SetOperation { left, op, set_quantifier, right } => {
                let op = match op {
                    ast::SetOperator::Union => SetOp::Union,
                    ast::SetOperator::Intersect => SetOp::Intersect,
                    ast::SetOperator::Except => SetOp::Except,
                    ast::SetOperator::Minus => return Err(SqlError::syntax("MINUS")),
                };
                let all = match set_quantifier {
                    ast::SetQuantifier::All => true,
                    ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
                    _ => return Err(SqlError::syntax("BY")),
                };
                let (l, lc) = self.set_expr(left)?;
                let (r, rc) = self.set_expr(right)?;
                if lc.len() != rc.len() {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        format!("each {} query must have the same number of columns", op.name()),
                    ));
                }
                let mut tys = Vec::with_capacity(lc.len());
                for (a, b) in lc.iter().zip(&rc) {
                    let items = [Expr::Const(Datum::Null, a.ty), Expr::Const(Datum::Null, b.ty)];
                    tys.push(self.common_type(&items, op.name())?);
                }
                let l = self.coerce_source(l, &lc, &tys, op.name())?;
                let r = self.coerce_source(r, &rc, &tys, op.name())?;
                let cols = lc
                    .iter()
                    .zip(&tys)
                    .map(|(c, t)| OutputColumn { name: c.name.clone(), ty: *t, table_oid: 0, column: 0 })
                    .collect();
                let strategy = crate::group::Strategy::set_op(op, all, &tys);
                Ok((Source::SetOp { op, all, left: Box::new(l), right: Box::new(r), strategy }, cols))
            }
            _ => Err(SqlError::unsupported("this kind of query is not supported here")),
        }
    }

    /// Makes a source's columns the types `tys`: a SELECT's or VALUES' expressions are coerced
    /// in place (so untyped literals take the type), anything else gets casts over its rows.
    fn coerce_source(&mut self, src: Source, cols: &[OutputColumn], tys: &[SqlType], what: &str) -> Result<Source> {
        if cols.iter().zip(tys).all(|(c, t)| c.ty == *t) {
            return Ok(src);
        }
        let mismatch = |from: SqlType, to: SqlType| {
            SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("{what} types {} and {} cannot be matched", from.name(), to.name()),
            )
        };
        match src {
            Source::Query(plan) => match *plan {
                Plan::Select(mut sp) if sp.projection.len() == tys.len() => {
                    for (e, &t) in sp.projection.iter_mut().zip(tys) {
                        if e.ty() != t {
                            *e = self.coerce(e.clone(), t, CastContext::Implicit, |f| mismatch(f, t))?;
                        }
                    }
                    Ok(Source::Query(Box::new(Plan::Select(sp))))
                }
                Plan::Query(mut q) if matches!(&q.body, Plan::Select(sp) if sp.projection.len() == tys.len()) => {
                    if let Plan::Select(sp) = &mut q.body {
                        for (e, &t) in sp.projection.iter_mut().zip(tys) {
                            if e.ty() != t {
                                *e = self.coerce(e.clone(), t, CastContext::Implicit, |f| mismatch(f, t))?;
                            }
                        }
                    }
                    Ok(Source::Query(Box::new(Plan::Query(q))))
                }
                other => self.project_source(Source::Query(Box::new(other)), cols, tys, &mismatch),
            },
            Source::Values(mut rows) => {
                for r in &mut rows {
                    for (e, &t) in r.iter_mut().zip(tys) {
                        if e.ty() != t {
                            *e = self.coerce(e.clone(), t, CastContext::Implicit, |f| mismatch(f, t))?;
                        }
                    }
                }
                Ok(Source::Values(rows))
            }
            other => self.project_source(other, cols, tys, &mismatch),
        }
    }

    fn project_source(
        &mut self,
        src: Source,
        cols: &[OutputColumn],
        tys: &[SqlType],
        mismatch: &dyn Fn(SqlType, SqlType) -> SqlError,
    ) -> Result<Source> {
        let mut exprs = Vec::with_capacity(tys.len());
        for (i, (c, &t)) in cols.iter().zip(tys).enumerate() {
            exprs.push(self.coerce(Expr::Column(i, c.ty), t, CastContext::Implicit, |f| mismatch(f, t))?);
        }
        Ok(Source::Project(Box::new(src), exprs))
    }

    /// `VALUES (...), (...)`: each column takes the common type of its values.
    fn values(&mut self, v: &ast::Values) -> Result<(Source, Vec<OutputColumn>)> {
        let Some(first) = v.rows.first() else { return Err(SqlError::syntax(")")) };
        let n = first.content.len();
        if v.rows.iter().any(|r| r.content.len() != n) {
            return Err(SqlError::new(code::SYNTAX_ERROR, "VALUES lists must all be the same length"));
        }
        let mut rows = Vec::with_capacity(v.rows.len());
        for r in &v.rows {
            let mut row = Vec::with_capacity(n);
            for e in &r.content {
                if super::is_default_keyword(e) {
                    return Err(SqlError::new(code::SYNTAX_ERROR, "DEFAULT is not allowed in this context"));
                }
                row.push(self.expr(e, None)?);
            }
            rows.push(row);
        }
        let mut cols = Vec::with_capacity(n);
        for i in 0..n {
            let column: Vec<Expr> = rows.iter().map(|r: &Vec<Expr>| r[i].clone()).collect();
            let ty = self.common_type(&column, "VALUES")?;
            for r in &mut rows {
                let e = r[i].clone();
                r[i] = self.coerce(e, ty, CastContext::Implicit, |f| {
                    SqlError::new(
                        code::DATATYPE_MISMATCH,
                        format!("VALUES types {} and {} cannot be matched", ty.name(), f.name()),
                    )
                })?;
            }
            cols.push(OutputColumn { name: format!("column{}", i + 1), ty, table_oid: 0, column: 0 });
        }
        Ok((Source::Values(rows), cols))
    }

    /// The WITH list: each query bound in order, later ones seeing earlier ones.
    fn bind_ctes(&mut self, with: &ast::With, out: &mut Vec<Derived>) -> Result<()> {
        let first = self.sub.ctes.len();
        if with.recursive {
            super::recursion_check::check(with).map_err(|r| {
                let pos = self.pos(&r.at);
                r.into_error(pos)
            })?;
        }
        for (i, cte) in with.cte_tables.iter().enumerate() {
            if search_cycle::Clauses::is_marker(cte) {
                continue;
            }
            let name = fold(&cte.alias.name);
            if self.sub.ctes[first..].iter().any(|c| c.name == name) {
                return Err(SqlError::new("42712", format!("WITH query name \"{name}\" specified more than once")));
            }
            if cte.from.is_some() {
                return Err(SqlError::syntax("FROM"));
            }
            // Its SEARCH / CYCLE clauses, written as the next WITH query (`search_cycle`).
            let clauses = match with.cte_tables.get(i + 1) {
                Some(next) if search_cycle::Clauses::is_marker(next) => Some(
                    search_cycle::Clauses::read(&next.alias.name)
                        .ok_or_else(|| SqlError::internal("SEARCH / CYCLE clauses not read back"))?,
                ),
                _ => None,
            };
            let q = cte.query.as_ref();
            if let ast::SetExpr::Merge(ast::Statement::Merge(m)) = q.body.as_ref() {
                return Err(
                    SqlError::unsupported("MERGE not supported in WITH query").at(self.pos(&m.merge_token.0.span))
                );
            }
            if with.recursive && q.order_by.is_none() && q.limit_clause.is_none() && q.with.is_none() {
                if let ast::SetExpr::SetOperation { op: ast::SetOperator::Union, left, right, set_quantifier } =
                    q.body.as_ref()
                {
                    let all = match set_quantifier {
                        ast::SetQuantifier::All => true,
                        ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
                        _ => return Err(SqlError::syntax("BY")),
                    };
                    let d = self.recursive_cte(&name, &cte.alias, left, right, all, clauses.as_ref(), out)?;
                    out.push(d);
                    continue;
                }
            }
            if clauses.is_some() {
                return Err(
                    SqlError::new(code::SYNTAX_ERROR, "WITH query is not recursive").at(self.pos(&cte.alias.name.span))
                );
            }
            // A data-modifying WITH query runs once, before the statement, whether or not it
            // is read (its RETURNING rows are what it reads as); PostgreSQL allows it only in
            // the statement's own WITH.
            let dml =
                matches!(q.body.as_ref(), ast::SetExpr::Insert(_) | ast::SetExpr::Update(_) | ast::SetExpr::Delete(_));
            if dml && self.sub.query_depth > 1 {
                return Err(SqlError::new(
                    code::FEATURE_NOT_SUPPORTED,
                    "WITH clause containing a data-modifying statement must be at the top level",
                )
                .at(self.pos(&cte.alias.name.span)));
            }
            let (plan, cols) = self.query(q)?;
            if dml {
                if let Some(t) = self.dml_target(q.body.as_ref()) {
                    self.sub.modified.push(t);
                }
            }
            let no_returning = dml && cols.is_empty();
            let aliases = alias_columns(Some(&cte.alias), cols.len(), "WITH query")?;
            let id = self.new_id();
            let def = Arc::new(relation::derived_def(id, columns_of(&cols, &aliases)));
            self.sub.origins.insert(def.name.clone(), cols.iter().map(|c| (c.table_oid, c.column)).collect());
            self.sub.ctes.push(CteName { name: name.clone(), def: def.clone(), refs: 0, self_refs: 0, no_returning });
            out.push(Derived { def, label: name, source: Source::Query(Box::new(plan)) });
        }
        Ok(())
    }

    /// The table an INSERT, UPDATE or DELETE body changes (its name as the catalog keys it).
    fn dml_target(&self, body: &ast::SetExpr) -> Option<String> {
        let name = match body {
            ast::SetExpr::Insert(ast::Statement::Insert(i)) => match &i.table {
                ast::TableObject::TableName(n) => n,
                _ => return None,
            },
            ast::SetExpr::Update(ast::Statement::Update(u)) => match &u.table.relation {
                ast::TableFactor::Table { name, .. } => name,
                _ => return None,
            },
            ast::SetExpr::Delete(ast::Statement::Delete(d)) => {
                let tables = match &d.from {
                    ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
                };
                match &tables.first()?.relation {
                    ast::TableFactor::Table { name, .. } => name,
                    _ => return None,
                }
            }
            _ => return None,
        };
        self.resolve_table(name).ok().map(|(t, _)| t)
    }

    /// A table a data-modifying WITH query of this statement changes, read again by the rest
    /// of the statement: PostgreSQL reads it as it was before the statement (one snapshot for
    /// every part), which Orbit's read-your-writes transactions do not give, so it is refused
    /// rather than answered differently.
    pub(super) fn check_not_modified(&self, table: &str) -> Result<()> {
        if self.sub.modified.iter().any(|t| t == table) {
            return Err(SqlError::unsupported(format!(
                "reading or changing table \"{}\" again after a WITH query of the same statement changed it is not supported",
                crate::schema::relname(table)
            )));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn recursive_cte(
        &mut self,
        name: &str,
        alias: &ast::TableAlias,
        left: &ast::SetExpr,
        right: &ast::SetExpr,
        all: bool,
        clauses: Option<&search_cycle::Clauses>,
        out: &mut Vec<Derived>,
    ) -> Result<Derived> {
        // With SEARCH / CYCLE: the terms with the added columns, and how many of the columns
        // are the query's own (the recursive term's `*` of it lists those).
        let (base, bc, rewritten, own) = match clauses {
            Some(c) => {
                let (base, bc, step, own) = self.search_cycle(c, name, alias, left, right, out)?;
                (base, bc, Some(step), Some(own))
            }
            None => {
                let (base, bc) = self.set_expr(left)?;
                (base, bc, None, None)
            }
        };
        let right = rewritten.as_ref().unwrap_or(right);
        let tys: Vec<SqlType> =
            bc.iter().map(|c| if c.ty == SqlType::Unknown { SqlType::Text } else { c.ty }).collect();
        let base = self.coerce_source(base, &bc, &tys, "UNION")?;
        let aliases = alias_columns(Some(alias), bc.len(), "WITH query")?;
        let mut typed = bc.clone();
        for (c, t) in typed.iter_mut().zip(&tys) {
            c.ty = *t;
        }
        let id = self.new_id();
        let def = Arc::new(relation::derived_def(id, columns_of(&typed, &aliases)));
        self.sub.ctes.push(CteName {
            name: name.to_string(),
            def: def.clone(),
            refs: 0,
            self_refs: 0,
            no_returning: false,
        });
        let hidden = own.map(|n| crate::catalog_star::hide_after(&def.name, n));
        let bound = self.set_expr(right);
        drop(hidden);
        let (step, sc) = bound?;
        let refs = self.sub.ctes.last().map_or(0, |c| c.refs);
        if let Some(c) = self.sub.ctes.last_mut() {
            c.self_refs = refs;
        }
        if sc.len() != tys.len() {
            return Err(SqlError::new(code::SYNTAX_ERROR, "each UNION query must have the same number of columns"));
        }
        for (i, (c, &t)) in sc.iter().zip(&tys).enumerate() {
            let items = [Expr::Const(Datum::Null, t), Expr::Const(Datum::Null, c.ty)];
            let common = self.common_type(&items, "UNION")?;
            if common != t {
                return Err(SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!(
                        "recursive query \"{name}\" column {} has type {} in non-recursive term but type {} overall",
                        i + 1,
                        super::base(t).name(),
                        super::base(common).name()
                    ),
                )
                .hint("Cast the output of the non-recursive term to the correct type."));
            }
        }
        let step = self.coerce_source(step, &sc, &tys, "UNION")?;
        let source = if refs == 0 {
            let strategy = crate::group::Strategy::set_op(SetOp::Union, all, &tys);
            Source::SetOp { op: SetOp::Union, all, left: Box::new(base), right: Box::new(step), strategy }
        } else {
            Source::Recursive {
                name: name.to_string(),
                base: Box::new(base),
                step: Box::new(step),
                all,
                enough: None,
                once: false,
            }
        };
        Ok(Derived { def, label: name.to_string(), source })
    }

    /// A FROM item that is not a stored table: a derived table, a WITH query, a function. None
    /// for a stored table (or a system view).
    pub(super) fn special_relation(&mut self, f: &ast::TableFactor) -> Result<Option<(Arc<TableDef>, String)>> {
        match f {
            ast::TableFactor::Derived { lateral, subquery, alias, .. } => {
                // LATERAL: [`Binder::from_item`] put the FROM items to the left in scope.
                let _ = lateral;
                let Some(alias) = alias else {
                    return Err(SqlError::new(code::SYNTAX_ERROR, "subquery in FROM must have an alias")
                        .hint("For example, FROM (SELECT ...) [AS] foo."));
                };
                let q = subquery.as_ref();
                let (source, cols) = if q.with.is_none()
                    && q.order_by.is_none()
                    && q.limit_clause.is_none()
                    && q.locks.is_empty()
                    && matches!(q.body.as_ref(), ast::SetExpr::Values(_) | ast::SetExpr::SetOperation { .. })
                {
                    self.set_expr(&q.body)?
                } else {
                    let (plan, cols) = self.query(q)?;
                    (Source::Query(Box::new(plan)), cols)
                };
                let name = fold(&alias.name);
                let aliases = alias_columns(Some(alias), cols.len(), "table")?;
                let id = self.new_id();
                let def = Arc::new(relation::derived_def(id, columns_of(&cols, &aliases)));
                self.sub.origins.insert(def.name.clone(), cols.iter().map(|c| (c.table_oid, c.column)).collect());
                self.sub.inputs.push(Derived { def: def.clone(), label: name.clone(), source });
                Ok(Some((def, name)))
            }
            ast::TableFactor::UNNEST { alias, array_exprs, with_offset: false, with_ordinality, .. } => {
                let args: Vec<ast::FunctionArg> = array_exprs
                    .iter()
                    .map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e.clone())))
                    .collect();
                self.unnest(&args, alias.as_ref(), *with_ordinality).map(Some)
            }
            ast::TableFactor::Table { name, alias, args: Some(args), with_ordinality, .. } => {
                self.function_item(name, &args.args, alias.as_ref(), *with_ordinality).map(Some)
            }
            // `LATERAL f(...)`: the same function (a function in FROM is LATERAL anyway).
            ast::TableFactor::Function { name, args, with_ordinality, alias, .. } => {
                self.function_item(name, args, alias.as_ref(), *with_ordinality).map(Some)
            }
            ast::TableFactor::Table { name, alias, args: None, .. } if name.0.len() == 1 => {
                let Some(n) = name.0[0].as_ident().map(fold) else { return Ok(None) };
                let Some(pos) = self.sub.ctes.iter().rposition(|c| c.name == n) else {
                    return self.view_relation(name, alias.as_ref());
                };
                if self.sub.ctes[pos].no_returning {
                    let at = name.0[0].as_ident().and_then(|id| self.pos(&id.span));
                    return Err(SqlError::new(
                        code::FEATURE_NOT_SUPPORTED,
                        format!("WITH query \"{n}\" does not have a RETURNING clause"),
                    )
                    .at(at));
                }
                self.sub.ctes[pos].refs += 1;
                let def = self.sub.ctes[pos].def.clone();
                let def = match alias {
                    Some(a) if !a.columns.is_empty() => Arc::new(renamed(&def, a)?),
                    _ => def,
                };
                Ok(Some((def, alias.as_ref().map_or(n, |a| fold(&a.name)))))
            }
            ast::TableFactor::Table { name, alias, args: None, .. } => self.view_relation(name, alias.as_ref()),
            _ => Ok(None),
        }
    }

    fn function_item(
        &mut self,
        name: &ast::ObjectName,
        args: &[ast::FunctionArg],
        alias: Option<&ast::TableAlias>,
        ordinality: bool,
    ) -> Result<(Arc<TableDef>, String)> {
        let fname = name.0.last().and_then(|p| p.as_ident()).map(fold).unwrap_or_default();
        match fname.as_str() {
            "unnest" => self.unnest(args, alias, ordinality),
            "generate_series" => self.series(args, alias, ordinality),
            "pg_partition_ancestors" => {
                // Its one column is `relid`.
                let named = ast::TableAlias {
                    explicit: true,
                    name: alias.map_or_else(|| ast::Ident::new("pg_partition_ancestors"), |a| a.name.clone()),
                    columns: match alias {
                        Some(a) if !a.columns.is_empty() => a.columns.clone(),
                        _ => vec![ast::TableAliasColumnDef { name: ast::Ident::new("relid"), data_type: None }],
                    },
                    at: None,
                };
                self.unnest(&[partition_ancestors(args)?], Some(&named), ordinality)
            }
            n if super::json_ops::is_json_set(n) || super::srf::is_text_set(n) => {
                let cols = self.set_arrays(n, args, None)?.unwrap_or_default();
                self.zip_relation(&fname, cols, alias, ordinality)
            }
            n if super::json_ops::is_to_record(n) => {
                let at = name.0.last().and_then(|p| p.as_ident()).and_then(|i| self.pos(&i.span));
                let (columns, source) = self.json_record_relation(n, at, args, alias, ordinality)?;
                let listed = alias_columns(alias, columns.len() + usize::from(ordinality), "table")?;
                self.function_relation_of(&fname, columns, &listed, alias, ordinality, source)
            }
            "pg_options_to_table" if !ordinality => self.options_to_table(args, alias),
            rows_from::MARK => self.rows_from(args, alias, ordinality),
            _ => Err(SqlError::unsupported(format!("function {fname}() in FROM is not supported yet"))),
        }
    }

    /// A FROM function whose columns are arrays side by side (each with its default name and
    /// type; a column with no name takes the alias's or the function's, as a one-column
    /// function does).
    fn zip_relation(
        &mut self,
        function: &str,
        cols: Vec<(Expr, &str, SqlType)>,
        alias: Option<&ast::TableAlias>,
        ordinality: bool,
    ) -> Result<(Arc<TableDef>, String)> {
        let listed = alias_columns(alias, cols.len() + usize::from(ordinality), "table")?;
        let mut columns = Vec::with_capacity(cols.len() + 1);
        let mut args = Vec::with_capacity(cols.len());
        for (i, (e, default, ty)) in cols.into_iter().enumerate() {
            let name = match (listed.get(i), default, alias) {
                (Some(n), _, _) => n.clone(),
                (None, "", Some(a)) => fold(&a.name),
                (None, "", None) => function.to_string(),
                (None, d, _) => d.to_string(),
            };
            columns.push(ColumnDef::new(name, ty));
            args.push(e);
        }
        self.function_relation_of(function, columns, &listed, alias, ordinality, Source::Zip { args, ordinality })
    }

    fn series(
        &mut self,
        args: &[ast::FunctionArg],
        alias: Option<&ast::TableAlias>,
        ordinality: bool,
    ) -> Result<(Arc<TableDef>, String)> {
        let (args, ty) = self.series_args(args, None)?;
        self.function_relation("generate_series", Source::Series { args, ty, ordinality }, ty, alias, ordinality)
    }

    /// `generate_series`'s arguments, bound and cast to the signature PostgreSQL picks, and the
    /// type of its values.
    pub(super) fn series_args(
        &mut self,
        args: &[ast::FunctionArg],
        scope: Option<&Scope>,
    ) -> Result<(Vec<Expr>, SqlType)> {
        let mut bound = Vec::new();
        for a in args {
            let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a else {
                return Err(SqlError::unsupported("named arguments of generate_series are not supported"));
            };
            bound.push(self.expr(e, scope)?);
        }
        let types: Vec<SqlType> = bound.iter().map(|e| e.ty()).collect();
        let no_function = || {
            let names: Vec<String> = types.iter().map(|t| super::base(*t).name()).collect();
            SqlError::new(
                code::UNDEFINED_FUNCTION,
                format!("function generate_series({}) does not exist", names.join(", ")),
            )
            .hint("No function matches the given name and argument types. You might need to add explicit type casts.")
        };
        if !(2..=3).contains(&bound.len()) {
            return Err(no_function());
        }
        let ty = if types.iter().any(|t| t.is_decimal()) {
            SqlType::NUMERIC
        } else if types.iter().all(|t| t.is_integer() || *t == SqlType::Unknown) {
            if types.contains(&SqlType::Int8) {
                SqlType::Int8
            } else {
                SqlType::Int4
            }
        } else if bound.len() == 3 && types[..2].iter().any(|t| t.is_datetime()) {
            // (timestamp, timestamp, interval); a date or timestamptz makes it timestamptz.
            let tz = types[..2].iter().any(|t| matches!(t, SqlType::TimestampTz(_) | SqlType::Date));
            if types[..2].iter().any(|t| {
                !matches!(t, SqlType::Timestamp(_) | SqlType::TimestampTz(_) | SqlType::Date | SqlType::Unknown)
            }) || !matches!(types[2], SqlType::Interval(_) | SqlType::Unknown)
            {
                return Err(no_function());
            }
            let ty = if tz { SqlType::TIMESTAMPTZ } else { SqlType::TIMESTAMP };
            let mut args = Vec::with_capacity(3);
            for (i, e) in bound.into_iter().enumerate() {
                let to = if i == 2 { SqlType::INTERVAL } else { ty };
                args.push(self.coerce(e, to, CastContext::Implicit, |_| no_function())?);
            }
            // A timestamptz series steps in the session's zone (relation::series reads it last).
            if let (SqlType::TimestampTz(_), Some(zone)) = (ty, super::temporal::session_zone()) {
                args.push(zone);
            }
            return Ok((args, ty));
        } else {
            return Err(no_function());
        };
        let mut args = Vec::with_capacity(bound.len());
        for e in bound {
            args.push(self.coerce(e, ty, CastContext::Implicit, |_| no_function())?);
        }
        Ok((args, ty))
    }

    /// `unnest(array)` in FROM: one row per element (every dimension's, in storage order),
    /// none for NULL or an empty array.
    fn unnest(
        &mut self,
        args: &[ast::FunctionArg],
        alias: Option<&ast::TableAlias>,
        ordinality: bool,
    ) -> Result<(Arc<TableDef>, String)> {
        if args.len() > 1 {
            // unnest(a, b, ...): the arrays side by side, every column named unnest.
            let mut cols = Vec::with_capacity(args.len());
            for a in args {
                let (arg, ty) = self.unnest_arg(std::slice::from_ref(a), None)?;
                cols.push((arg, "unnest", ty));
            }
            return self.zip_relation("unnest", cols, alias, ordinality);
        }
        let (arg, ty) = self.unnest_arg(args, None)?;
        // An array of a composite type (or a table's rows): a column per field.
        if let SqlType::Composite(oid) = ty {
            if !crate::composites::is_anonymous(oid) {
                let fields = crate::composites::fields_of(oid)?;
                let source = Source::Unnest { arg, ordinality, split_options: false, fields: Some(fields.len()) };
                let columns = fields.into_iter().map(|f| (f.name, f.ty)).collect();
                return self.fields_relation("unnest", source, columns, alias, ordinality);
            }
        }
        self.function_relation(
            "unnest",
            Source::Unnest { arg, ordinality, split_options: false, fields: None },
            ty,
            alias,
            ordinality,
        )
    }

    /// `pg_options_to_table(text[])`: the `name=value` options of a catalog's options column as
    /// rows (option_name, option_value).
    fn options_to_table(
        &mut self,
        args: &[ast::FunctionArg],
        alias: Option<&ast::TableAlias>,
    ) -> Result<(Arc<TableDef>, String)> {
        let text_array = SqlType::Array(orbit_engine::table::ArrayType::of_oid(25));
        let (arg, _) = match self.unnest_arg(args, None) {
            Ok((a, _)) if a.ty() == text_array => (a, ()),
            _ => {
                return Err(SqlError::new(code::UNDEFINED_FUNCTION, "function pg_options_to_table() does not exist")
                    .hint(
                    "No function matches the given name and argument types. You might need to add explicit type casts.",
                ))
            }
        };
        let listed = alias_columns(alias, 2, "table")?;
        let name = |i: usize, n: &str| listed.get(i).cloned().unwrap_or_else(|| n.to_string());
        let columns = vec![
            ColumnDef::new(name(0, "option_name"), SqlType::Text),
            ColumnDef::new(name(1, "option_value"), SqlType::Text),
        ];
        let id = self.new_id();
        let def = Arc::new(relation::derived_def(id, columns));
        let label = alias.map_or("pg_options_to_table".to_string(), |a| fold(&a.name));
        let source = Source::Unnest { arg, ordinality: false, split_options: true, fields: None };
        self.sub.inputs.push(Derived { def: def.clone(), label: label.clone(), source });
        Ok((def, label))
    }

    /// `unnest`'s argument, bound, and the type of its elements.
    pub(super) fn unnest_arg(&mut self, args: &[ast::FunctionArg], scope: Option<&Scope>) -> Result<(Expr, SqlType)> {
        let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))] = args else {
            return Err(SqlError::unsupported("unnest() of several arrays is not supported yet"));
        };
        let arg = self.expr(e, scope)?;
        let SqlType::Array(a) = arg.ty() else {
            let t = arg.ty();
            if t == SqlType::Unknown {
                return Err(SqlError::new("42725", "function unnest(unknown) is not unique")
                    .hint("Could not choose a best candidate function. You might need to add explicit type casts."));
            }
            return Err(SqlError::new(
                code::UNDEFINED_FUNCTION,
                format!("function unnest({}) does not exist", super::base(t).name()),
            )
            .hint(
                "No function matches the given name and argument types. You might need to add explicit type casts.",
            ));
        };
        Ok((arg, a.elem()))
    }

    /// A FROM function's relation of several named columns (a composite result's fields),
    /// renamed by the alias's column list, with `ordinality` last.
    fn fields_relation(
        &mut self,
        function: &str,
        source: Source,
        fields: Vec<(String, SqlType)>,
        alias: Option<&ast::TableAlias>,
        ordinality: bool,
    ) -> Result<(Arc<TableDef>, String)> {
        let listed = alias_columns(alias, fields.len() + usize::from(ordinality), "table")?;
        let columns = fields
            .into_iter()
            .enumerate()
            .map(|(i, (n, t))| ColumnDef::new(listed.get(i).cloned().unwrap_or(n), t))
            .collect();
        self.function_relation_of(function, columns, &listed, alias, ordinality, source)
    }

    /// A FROM function returning one column of type `ty`, named by the alias as PostgreSQL
    /// names it (the alias's column list, else the alias, else the function's name); `WITH
    /// ORDINALITY` adds an int8 column `ordinality` (or the alias list's second name).
    fn function_relation(
        &mut self,
        function: &str,
        source: Source,
        ty: SqlType,
        alias: Option<&ast::TableAlias>,
        ordinality: bool,
    ) -> Result<(Arc<TableDef>, String)> {
        let listed = alias_columns(alias, 1 + usize::from(ordinality), "table")?;
        let name = match (alias, listed.first()) {
            (_, Some(n)) => n.clone(),
            (Some(a), None) => fold(&a.name),
            (None, None) => function.to_string(),
        };
        self.function_relation_of(function, vec![ColumnDef::new(name, ty)], &listed, alias, ordinality, source)
    }

    /// A FROM function's relation of `columns` (then `ordinality`, an int8 named by the
    /// alias's list after them or `ordinality`), labelled by the alias or the function.
    fn function_relation_of(
        &mut self,
        function: &str,
        mut columns: Vec<ColumnDef>,
        listed: &[String],
        alias: Option<&ast::TableAlias>,
        ordinality: bool,
        source: Source,
    ) -> Result<(Arc<TableDef>, String)> {
        if ordinality {
            let n = listed.get(columns.len()).cloned().unwrap_or_else(|| "ordinality".to_string());
            columns.push(ColumnDef::new(n, SqlType::Int8));
        }
        let id = self.new_id();
        let def = Arc::new(relation::derived_def(id, columns));
        let label = alias.map_or(function.to_string(), |a| fold(&a.name));
        self.sub.inputs.push(Derived { def: def.clone(), label: label.clone(), source });
        Ok((def, label))
    }

    /// A column name: in this level's FROM, else in an enclosing level's (an outer reference,
    /// a placeholder parameter the subquery gets the value of when it runs).
    pub(super) fn column_or_outer(
        &mut self,
        scope: Option<&Scope>,
        qualifier: Option<&ast::Ident>,
        id: &ast::Ident,
    ) -> Result<Expr> {
        // An argument of a SQL function being inlined (bind/sql_functions.rs).
        if let Some(e) = self.sql_function_argument(qualifier, id) {
            return Ok(e);
        }
        let err = match self.column(scope, qualifier, id) {
            Ok(e) => return Ok(e),
            Err(e) => e,
        };
        if !(err.code == code::UNDEFINED_COLUMN || err.code == code::UNDEFINED_TABLE) {
            return Err(err);
        }
        let mut blocked_err = None;
        for f in (0..self.sub.frames.len()).rev() {
            let found = {
                let fr = &self.sub.frames[f];
                let Some(def) = &fr.def else { continue };
                let s = Scope { def, alias: fr.alias.clone(), joined: fr.joined.clone() };
                if !self.frame_visible(f) {
                    if blocked_err.is_none() {
                        blocked_err = super::lateral::blocked_reference(&s, qualifier, id);
                    }
                    continue;
                }
                match self.column(Some(&s), qualifier, id) {
                    Ok(e) => Some(e),
                    // `q.col` where an enclosing level has `q` but not `col`: that is the error.
                    Err(e) if qualifier.is_some() && e.code == code::UNDEFINED_COLUMN && blocked_err.is_none() => {
                        blocked_err = Some(e);
                        None
                    }
                    Err(_) => None,
                }
            };
            if let Some(e) = found {
                let r = self.new_id();
                let ty = e.ty();
                self.sub.frames[f].captures.push((r, e));
                return Ok(Expr::Param(OUTER_BASE + r, ty));
            }
        }
        // No column at any level: a FROM item's name is its whole row (bind/whole_row.rs), as
        // PostgreSQL's transformColumnRef tries a relation after the columns.
        if qualifier.is_none() && blocked_err.is_none() {
            if let Some(e) = super::whole_row::whole_row_value(scope, &fold(id))? {
                return Ok(e);
            }
            // An enclosing level's FROM item's whole row (`SELECT (SELECT t) FROM t`): an outer
            // reference to its text, computed over that level's row.
            let name = fold(id);
            if let Some((f, e)) =
                self.find_in_frames(|_, s| super::whole_row::whole_row_value(Some(s), &name).transpose())
            {
                return Ok(self.capture_outer(f, e?));
            }
        }
        Err(blocked_err.map_or(err, |e| e.at(self.pos(&qualifier.map(|q| q.span).unwrap_or(id.span)))))
    }

    /// The columns of an enclosing level's FROM item `alias` as outer references (a whole-row
    /// reference tested field by field, `t IS NULL` in a subquery); None if no enclosing level
    /// has such an item, or a column of that name comes first.
    pub(super) fn outer_row_fields(&mut self, alias: &str) -> Option<Vec<Expr>> {
        self.outer_item_columns(alias, false).map(|c| c.into_iter().map(|(_, e)| e).collect())
    }

    /// The columns (names and outer references) of an enclosing level's FROM item `alias`:
    /// its whole row (`star` false: None when a column of that name comes first) or `alias.*`
    /// in a subquery's select list.
    pub(super) fn outer_item_columns(&mut self, alias: &str, star: bool) -> Option<Vec<(String, Expr)>> {
        let (f, cols) = self.find_in_frames(|b, s| {
            if !star && b.column(Some(s), None, &ast::Ident::with_quote('"', alias)).is_ok() {
                return Some(None);
            }
            super::whole_row::item_columns(Some(s), alias, star).map(Some)
        })?;
        Some(cols?.into_iter().map(|(name, e)| (name, self.capture_outer(f, e))).collect())
    }

    /// `t.*` as a value where `t` is an enclosing level's FROM item (`SELECT (SELECT
    /// (t.*)::text) FROM t`): an outer reference to its whole row, as a bare `t` is.
    pub(super) fn outer_qualified_star(&mut self, name: &ast::ObjectName) -> Option<Result<Expr>> {
        let [part] = name.0.as_slice() else { return None };
        let alias = fold(part.as_ident()?);
        let (f, e) = self.find_in_frames(|_, s| super::whole_row::star_value(Some(s), &alias).transpose())?;
        Some(e.map(|e| self.capture_outer(f, e)))
    }

    /// The innermost enclosing level (frame index) whose FROM items `find` finds something in,
    /// with what it found; frames names cannot reach are skipped.
    fn find_in_frames<T>(&self, mut find: impl FnMut(&Self, &Scope) -> Option<T>) -> Option<(usize, T)> {
        for f in (0..self.sub.frames.len()).rev() {
            if !self.frame_visible(f) {
                continue;
            }
            let fr = &self.sub.frames[f];
            let Some(def) = &fr.def else { continue };
            let s = Scope { def, alias: fr.alias.clone(), joined: fr.joined.clone() };
            if let Some(t) = find(self, &s) {
                return Some((f, t));
            }
        }
        None
    }

    /// `e`, an expression over enclosing frame `f`'s row, as an outer reference it captures.
    fn capture_outer(&mut self, f: usize, e: Expr) -> Expr {
        let r = self.new_id();
        let ty = e.ty();
        self.sub.frames[f].captures.push((r, e));
        Expr::Param(OUTER_BASE + r, ty)
    }

    /// The enclosing level (frame index) a column name resolves in, as
    /// [`Binder::column_or_outer`] would find it (None: this level's, or none).
    pub(super) fn outer_frame_of(&self, qualifier: Option<&ast::Ident>, id: &ast::Ident) -> Option<usize> {
        (0..self.sub.frames.len()).rev().find(|&f| {
            let fr = &self.sub.frames[f];
            let Some(def) = &fr.def else { return false };
            let s = Scope { def, alias: fr.alias.clone(), joined: fr.joined.clone() };
            self.frame_visible(f) && self.column(Some(&s), qualifier, id).is_ok()
        })
    }

    /// Puts the FROM items so far (`combined`, named by `js`) in scope for the FROM item
    /// bound next: as an enclosing level (a LATERAL item reads them as outer references), or
    /// `blocked` (only for the error that says they cannot be referenced there).
    pub(super) fn push_from_frame(&mut self, combined: &TableDef, js: &JoinScope, blocked: bool) {
        self.sub.frames.push(Frame {
            def: Some(combined.clone()),
            alias: String::new(),
            joined: Some(js.clone()),
            captures: vec![],
            blocked,
            lateral_only: false,
            sublink: false,
            moved: vec![],
            enclosing: 0,
        });
    }

    /// Puts the FROM items left of a parenthesized join in scope for the LATERAL items inside
    /// it (as PostgreSQL allows: they are on the left of a join the LATERAL item is on the right
    /// of); its ON conditions and other items see them blocked.
    pub(super) fn push_nested_join_frame(&mut self, combined: &TableDef, js: &JoinScope) {
        self.push_from_frame(combined, js, false);
        if let Some(f) = self.sub.frames.last_mut() {
            f.lateral_only = true;
        }
    }

    /// Whether names resolve in enclosing frame `f`: not a blocked one, and a lateral-only one
    /// only from inside a LATERAL item (the nearest FROM frame above it is one that sees).
    fn frame_visible(&self, f: usize) -> bool {
        let fr = &self.sub.frames[f];
        if fr.blocked {
            return false;
        }
        if !fr.lateral_only {
            return true;
        }
        self.sub.frames[f + 1..].iter().find(|g| !g.sublink && !g.lateral_only).is_some_and(|g| !g.blocked)
    }

    /// Takes the frame [`Binder::push_from_frame`] pushed: the outer references resolved in it.
    pub(super) fn pop_from_frame(&mut self) -> Captures {
        self.sub.frames.pop().map(|f| f.captures).unwrap_or_default()
    }

    /// Takes back the relation the FROM item just bound added to this level's inputs (a
    /// LATERAL item becomes part of the relation that joins it per row).
    pub(super) fn take_input(&mut self, def: &TableDef) -> Option<Derived> {
        let pos = self.sub.inputs.iter().rposition(|d| d.def.name == def.name)?;
        Some(self.sub.inputs.remove(pos))
    }

    /// Takes this level's computed relations (a parenthesized join starts a level of its own).
    pub(super) fn take_inputs(&mut self) -> Vec<Derived> {
        std::mem::take(&mut self.sub.inputs)
    }

    /// Puts back the relations [`Binder::take_inputs`] took; returns the ones computed since.
    pub(super) fn restore_inputs(&mut self, saved: Vec<Derived>) -> Vec<Derived> {
        std::mem::replace(&mut self.sub.inputs, saved)
    }

    /// Adds a relation this level computes.
    pub(super) fn add_input(&mut self, d: Derived) {
        self.sub.inputs.push(d);
    }

    /// Whether `e` reads a correlated subquery of this level (its value is a column the level's
    /// FROM rows get, which a LATERAL join's ON, run before, cannot read).
    pub(super) fn reads_correlated_link(&self, e: &Expr) -> bool {
        self.sub.links.iter().any(|l| !l.captures.is_empty() && relation::reads_link(e, l.id))
    }

    /// The column names of the WITH query `name` in scope (innermost first), if any.
    pub(super) fn cte_column_names(&self, name: &str) -> Option<Vec<String>> {
        let c = self.sub.ctes.iter().rev().find(|c| c.name == name)?;
        Some(c.def.columns.iter().map(|c| c.name.clone()).collect())
    }

    pub(super) fn lateral_id(&mut self) -> usize {
        self.new_id()
    }

    /// Binds a subquery of an expression with `scope` (the level it is in) as its outer scope.
    fn sublink_query(&mut self, q: &ast::Query, scope: Option<&Scope>) -> Result<(Plan, Vec<OutputColumn>, Captures)> {
        self.sub.frames.push(Frame {
            def: scope.map(|s| s.def.clone()),
            alias: scope.map(|s| s.alias.clone()).unwrap_or_default(),
            joined: scope.and_then(|s| s.joined.clone()),
            captures: vec![],
            blocked: false,
            lateral_only: false,
            sublink: true,
            moved: vec![],
            enclosing: self.sub.enclosing.len(),
        });
        self.sub.enclosing.push(super::sublink_levels::Enclosing {
            aggs: std::mem::take(&mut self.aggs),
            allow: self.allow_aggs,
            banned: self.aggs_banned_in,
            in_agg: self.in_agg,
            links: Vec::new(),
        });
        let depth = self.expr_depth;
        let excluded = self.excluded.take();
        self.allow_aggs = false;
        self.in_agg = false;
        self.expr_depth = 0;
        let keep = std::mem::take(&mut self.sub.keep_unknown);
        let srf = std::mem::take(&mut self.srf);
        let r = self.query(q);
        self.srf = srf;
        self.sub.keep_unknown = keep;
        let outer = self.sub.enclosing.pop().ok_or_else(|| SqlError::internal("no enclosing level"))?;
        // Subqueries in the arguments of aggregates that went to the enclosing level are its.
        self.sub.links.extend(outer.links);
        self.aggs = outer.aggs;
        (self.allow_aggs, self.aggs_banned_in, self.in_agg, self.expr_depth) =
            (outer.allow, outer.banned, outer.in_agg, depth);
        self.excluded = excluded;
        let frame = self.sub.frames.pop();
        let (plan, cols) = r?;
        refuse_outer_aggregates(&plan)?;
        let (mut captures, moved) = frame.map(|f| (f.captures, f.moved)).unwrap_or_default();
        if !moved.is_empty() {
            // An aggregate that went to the enclosing level no longer reads its arguments here.
            let read = super::sublink_levels::plan_outer_refs(&plan)?;
            captures.retain(|(r, _)| !moved.contains(r) || read.contains(r));
        }
        Ok((plan, cols, captures))
    }

    /// `(SELECT ...)`, `[NOT] EXISTS (...)`, `x [NOT] IN (SELECT ...)`, `x op ANY/ALL (SELECT ...)`.
    pub(super) fn sublink(&mut self, e: &ast::Expr, scope: Option<&Scope>) -> Result<Expr> {
        use ast::Expr as E;
        let id = self.new_id();
        let (kind, plan, ty, captures, negated) = match e {
            E::Subquery(q) => {
                let (plan, cols, captures) = self.sublink_query(q, scope)?;
                if cols.len() != 1 {
                    return Err(SqlError::new(code::SYNTAX_ERROR, "subquery must return only one column"));
                }
                (LinkKind::Scalar, plan, cols[0].ty, captures, false)
            }
            E::Exists { subquery, negated } => {
                let (plan, _, captures) = self.sublink_query(subquery, scope)?;
                (LinkKind::Exists, plan, SqlType::Bool, captures, *negated)
            }
            E::In { expr, target: ast::InTarget::Subquery(q), negated, .. }
                if super::row_compare::row_elements(expr).is_some() =>
            {
                let items = super::row_compare::row_elements(expr).unwrap_or_default();
                let xs = items.iter().map(|i| self.expr(i, scope)).collect::<Result<Vec<_>>>()?;
                let (plan, cols, captures) = self.sublink_query(q, scope)?;
                if cols.len() != xs.len() {
                    let msg = if cols.len() > xs.len() {
                        "subquery has too many columns"
                    } else {
                        "subquery has too few columns"
                    };
                    return Err(SqlError::new(code::SYNTAX_ERROR, msg));
                }
                let mut tests = Vec::with_capacity(xs.len());
                for (x, c) in xs.into_iter().zip(&cols) {
                    tests.push(self.compare(CmpOp::Eq, x, Expr::Param(LINK_BASE + id, resolved(c.ty)))?);
                }
                (LinkKind::AnyRow(tests), plan, SqlType::Bool, captures, *negated)
            }
            E::In { expr, target: ast::InTarget::Subquery(q), negated, .. } => {
                let x = self.expr(expr, scope)?;
                let (plan, cols, captures) = self.sublink_query(q, scope)?;
                if cols.len() != 1 {
                    let msg =
                        if cols.len() > 1 { "subquery has too many columns" } else { "subquery has too few columns" };
                    return Err(SqlError::new(code::SYNTAX_ERROR, msg));
                }
                let t = self.compare(CmpOp::Eq, x, Expr::Param(LINK_BASE + id, resolved(cols[0].ty)))?;
                (LinkKind::Any(t), plan, SqlType::Bool, captures, *negated)
            }
            E::AnyOp { left, compare_op, right, .. } | E::AllOp { left, compare_op, right } => {
                let E::Subquery(q) = right.as_ref() else {
                    return Err(SqlError::unsupported("ANY/ALL over arrays is not supported yet"));
                };
                let Some(op) = super::arrays::quantified_operator(compare_op) else {
                    return Err(SqlError::unsupported(format!("operator {compare_op} with ANY/ALL is not supported")));
                };
                // A row constructor of one field compares that field with the subquery's column
                // (PostgreSQL compares a row's fields with the columns).
                let left = match super::row_compare::row_elements(left) {
                    Some(items) if items.len() == 1 => &items[0].clone(),
                    _ => left.as_ref(),
                };
                let x = self.expr(left, scope)?;
                let (plan, cols, captures) = self.sublink_query(q, scope)?;
                if cols.len() != 1 {
                    let msg =
                        if cols.len() > 1 { "subquery has too many columns" } else { "subquery has too few columns" };
                    return Err(SqlError::new(code::SYNTAX_ERROR, msg));
                }
                let element = Expr::Param(LINK_BASE + id, resolved(cols[0].ty));
                let t = match op {
                    Some(op) => self.compare(op, x, element)?,
                    None => self.text_match(compare_op, x, element, scope)?,
                };
                let kind = if matches!(e, E::AllOp { .. }) { LinkKind::All(t) } else { LinkKind::Any(t) };
                (kind, plan, SqlType::Bool, captures, false)
            }
            // ARRAY(SELECT ...) comes here as a function call named array.
            E::Function(f) => {
                let ast::FunctionArguments::Subquery(q) = &f.args else {
                    return Err(SqlError::internal("not a subquery"));
                };
                let (plan, cols, captures) = self.sublink_query(q, scope)?;
                if cols.len() != 1 {
                    return Err(SqlError::new(code::SYNTAX_ERROR, "subquery must return only one column"));
                }
                let elem = if cols[0].ty == SqlType::Unknown { SqlType::Text } else { cols[0].ty };
                let ty = elem.array_of().ok_or_else(|| match elem {
                    SqlType::Array(_) => SqlError::unsupported("ARRAY(subquery) of arrays is not supported yet"),
                    t => SqlError::new(
                        code::UNDEFINED_OBJECT,
                        format!("could not find array type for data type {}", t.name()),
                    ),
                })?;
                (LinkKind::Array, plan, ty, captures, false)
            }
            _ => return Err(SqlError::internal("not a subquery")),
        };
        let ty = if ty == SqlType::Unknown { SqlType::Text } else { ty };
        self.sub.links.push(SubLink { id, kind, plan: Box::new(plan), ty, captures });
        let ph = Expr::Param(LINK_BASE + id, ty);
        Ok(if negated { Expr::Not(Box::new(ph)) } else { ph })
    }

    /// The plan of a query level with its relations and subqueries: correlated subqueries
    /// become columns computed over the FROM rows ([`Source::Correlated`]); the rest wraps it.
    pub(super) fn finish_level(
        &mut self,
        plan: Plan,
        ctes: Vec<Derived>,
        links: Vec<SubLink>,
        mut inputs: Vec<Derived>,
    ) -> Result<Plan> {
        super::nested_join::prune(&plan, &links, &mut inputs, &self.sub.nested_relations);
        super::lateral::push_where(&plan, &mut inputs);
        // A row IN of WHERE is placed with the correlated ones even when it reads no outer
        // column: there it can become a semi or anti join (or runs once, its value kept).
        let (mut corr, plain): (Vec<SubLink>, Vec<SubLink>) =
            links.into_iter().partition(|l| !l.captures.is_empty() || matches!(l.kind, LinkKind::AnyRow(_)));
        let mut plan = plan;
        if !corr.is_empty() {
            (plan, corr, inputs) = self.place_sublinks(plan, corr, inputs)?;
        }
        if !corr.is_empty() {
            let Plan::Select(mut sp) = plan else {
                return Err(SqlError::unsupported("correlated subqueries are not supported here yet"));
            };
            if sp.for_update.is_some() {
                return Err(SqlError::unsupported("FOR UPDATE with subqueries is not supported yet"));
            }
            let width = match (&sp.table, &sp.join) {
                (Some(t), _) => t.row_len(),
                (None, Some(j)) => j.inputs.iter().map(|d| d.row_len()).sum(),
                (None, None) => 0,
            };
            // EXISTS and IN parts of WHERE that decorrelate: semi and anti joins.
            let semi = crate::semi_join::extract(&mut sp, &mut corr, width);
            let ids: Vec<usize> = corr.iter().map(|l| l.id).collect();
            let in_join = sp
                .join
                .as_ref()
                .is_some_and(|j| j.steps.iter().any(|s| s.on.as_ref().is_some_and(|e| has_link(e, &ids))));
            let outside_where = sp.projection.iter().any(|e| has_link(e, &ids))
                || sp.having.as_ref().is_some_and(|e| has_link(e, &ids))
                || sp.order_by.iter().any(|k| matches!(&k.source, super::SortSource::Input(e) if has_link(e, &ids)));
            let in_limit = sp.limit.iter().chain(sp.offset.iter()).any(|e| has_link(e, &ids));
            if in_join || in_limit || (sp.grouped && outside_where) {
                return Err(SqlError::unsupported("correlated subqueries are not supported here yet"));
            }
            let tys: Vec<SqlType> = corr.iter().map(|l| l.ty).collect();
            let mut f = |e: &mut Expr| -> Result<bool> {
                if let Expr::Param(i, _) = e {
                    if let Some(k) = i.checked_sub(LINK_BASE).and_then(|id| ids.iter().position(|x| *x == id)) {
                        *e = Expr::Column(width + k, tys[k]);
                        return Ok(true);
                    }
                }
                Ok(false)
            };
            relation::map_select(&mut sp, &mut f)?;
            let columns = (0..width + corr.len()).map(|i| ColumnDef::new(format!("\0c{i}"), SqlType::Text)).collect();
            let id = self.new_id();
            let def = Arc::new(relation::derived_def(id, columns));
            let c = Correlated {
                table: sp.table.take(),
                join: sp.join.take(),
                width,
                filter: sp.filter.take(),
                links: corr,
                semi,
            };
            sp.key = None;
            sp.table = Some(def.clone());
            inputs.push(Derived { def, label: "SubPlan".into(), source: Source::Correlated(Box::new(c)) });
            plan = Plan::Select(sp);
        }
        if plain.is_empty() && inputs.is_empty() && ctes.is_empty() {
            return Ok(plan);
        }
        if let Plan::Select(sp) = &plan {
            // FOR UPDATE locks rows of stored tables: not of computed ones.
            if sp.for_update.is_some() && !inputs.is_empty() {
                return Err(SqlError::unsupported(
                    "FOR UPDATE with subqueries, WITH or derived tables is not supported yet",
                ));
            }
        }
        Ok(Plan::Query(Box::new(QueryPlan { ctes, links: plain, inputs, body: plan })))
    }

    /// The statement's plan with the subqueries and relations its top level collected (those
    /// of INSERT, UPDATE and DELETE; a query's are wrapped by [`Binder::query`]).
    pub(super) fn finish_statement(&mut self, plan: Plan) -> Result<Plan> {
        let links = std::mem::take(&mut self.sub.links);
        let inputs = std::mem::take(&mut self.sub.inputs);
        if links.is_empty() && inputs.is_empty() {
            return Ok(plan);
        }
        let (corr, mut links): (Vec<SubLink>, Vec<SubLink>) = links.into_iter().partition(|l| !l.captures.is_empty());
        let plan = if corr.is_empty() { plan } else { self.keyed(plan, corr, &mut links)? };
        Ok(Plan::Query(Box::new(QueryPlan { ctes: vec![], links, inputs, body: plan })))
    }

    /// UPDATE/DELETE with correlated subqueries: a SELECT over the target table finds the keys
    /// of the rows WHERE lets through and the values of the subqueries SET and RETURNING read
    /// (per row, on the coordinating shard); the statement then changes the rows with those
    /// keys ([`LinkKind::Keyed`]).
    fn keyed(&mut self, plan: Plan, corr: Vec<SubLink>, links: &mut Vec<SubLink>) -> Result<Plan> {
        let (table, filter, sets, returning, checks) = match plan {
            Plan::Update { current_of: Some(_), .. } | Plan::Delete { current_of: Some(_), .. } => {
                return Err(SqlError::unsupported(
                    "correlated subqueries in UPDATE or DELETE ... WHERE CURRENT OF are not supported",
                ))
            }
            Plan::Update { table, filter, sets, returning, join: None, checks, .. } => {
                (table, filter, Some(sets), returning, checks)
            }
            Plan::Delete { table, filter, returning, join: None, .. } => (table, filter, None, returning, vec![]),
            _ => return Err(SqlError::unsupported("correlated subqueries are not supported in this statement yet")),
        };
        let key_expr = match table.pk.as_slice() {
            [] => Expr::Column(table.columns.len(), SqlType::Int8),
            [k] => Expr::Column(*k, table.columns[*k].ty),
            _ => {
                return Err(SqlError::unsupported(
                    "correlated subqueries in UPDATE and DELETE of a table with a composite primary key are not supported yet",
                ))
            }
        };
        let reads = |id: usize| {
            sets.iter().flatten().any(|(_, e)| relation::reads_link(e, id))
                || returning.iter().flatten().any(|e| relation::reads_link(e, id))
        };
        let outputs: Vec<(usize, SqlType)> = corr.iter().filter(|l| reads(l.id)).map(|l| (l.id, l.ty)).collect();
        let mut projection = vec![key_expr.clone()];
        projection.extend(outputs.iter().map(|&(id, ty)| Expr::Param(LINK_BASE + id, ty)));
        let inner = SelectPlan { filter, ..SelectPlan::reading(table.clone(), projection) };
        let inner = self.finish_level(Plan::Select(Box::new(inner)), vec![], corr, vec![])?;
        let id = self.new_id();
        links.push(SubLink {
            id,
            kind: LinkKind::Keyed { key: key_expr, outputs },
            plan: Box::new(inner),
            ty: SqlType::Bool,
            captures: vec![],
        });
        let filter = Some(Expr::Param(LINK_BASE + id, SqlType::Bool));
        Ok(match sets {
            Some(sets) => {
                Plan::Update { table, filter, key: None, sets, returning, join: None, current_of: None, checks }
            }
            None => Plan::Delete { table, filter, key: None, returning, join: None, current_of: None },
        })
    }

    /// A query's plan as a SELECT (INSERT ... SELECT takes one): a [`Plan::Query`] becomes a
    /// relation of the current level that a SELECT reads whole.
    pub(super) fn as_select(&mut self, plan: Plan, cols: &[OutputColumn]) -> Result<SelectPlan> {
        let plan = match plan {
            Plan::Select(sp) => return Ok(*sp),
            other => other,
        };
        let id = self.new_id();
        let def = Arc::new(relation::derived_def(id, columns_of(cols, &[])));
        self.sub.inputs.push(Derived {
            def: def.clone(),
            label: "*SELECT*".into(),
            source: Source::Query(Box::new(plan)),
        });
        let projection = def.columns.iter().enumerate().map(|(i, c)| Expr::Column(i, c.ty)).collect();
        Ok(SelectPlan::reading(def, projection))
    }
}

/// A table with its columns renamed by `alias (a, b, ...)` (the same rows).
/// `pg_partition_ancestors(rel)` as the argument of the `unnest` it is: Orbit has no
/// partitions, so a table is its own only ancestor (psql's `\d` asks).
pub(super) fn partition_ancestors(args: &[ast::FunctionArg]) -> Result<ast::FunctionArg> {
    let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))] = args else {
        return Err(SqlError::unsupported("this form of pg_partition_ancestors() is not supported"));
    };
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let arr = sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(&format!("ARRAY[({e})::regclass]"))
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| SqlError::syntax(&e.to_string()))?;
    Ok(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arr)))
}

pub(super) fn renamed(def: &TableDef, alias: &ast::TableAlias) -> Result<TableDef> {
    let names = alias_columns(Some(alias), def.columns.len(), "table")?;
    let mut d = def.clone();
    for (c, n) in d.columns.iter_mut().zip(names) {
        c.name = n;
    }
    Ok(d)
}

/// The name of a query's first result column, as a scalar subquery's column is named.
pub(super) fn first_column_name(q: &ast::Query) -> Option<String> {
    let mut body = q.body.as_ref();
    loop {
        body = match body {
            ast::SetExpr::SetOperation { left, .. } => left,
            ast::SetExpr::Query(q) => q.body.as_ref(),
            ast::SetExpr::Values(_) => return Some("column1".into()),
            ast::SetExpr::Select(s) => {
                return match s.projection.first()? {
                    ast::SelectItem::ExprWithAlias { alias, .. } => Some(fold(alias)),
                    ast::SelectItem::UnnamedExpr(e) => Some(super::column_name(e)),
                    _ => None,
                }
            }
            _ => return None,
        };
    }
}

/// An aggregate in a subquery whose arguments read only columns of enclosing queries belongs,
/// in PostgreSQL, to the enclosing query (which it makes a grouped one); one that
/// [`super::sublink_levels`] left here (its arguments hold a subquery, or it is in a LATERAL
/// item inside the subquery) is 0A000 rather than the per-outer-row value it would get here.
fn refuse_outer_aggregates(plan: &Plan) -> Result<()> {
    if has_outer_aggregate(plan, |_| true) {
        return Err(SqlError::unsupported(
            "an aggregate of only outer columns in a subquery (an outer-level aggregate) is not supported yet",
        ));
    }
    Ok(())
}

/// Whether an aggregate of `plan`'s own level reads no column of its own and some outer
/// reference `outer` accepts (by its number): PostgreSQL gives such an aggregate to the
/// enclosing level.
pub(super) fn has_outer_aggregate(plan: &Plan, outer: impl Fn(usize) -> bool) -> bool {
    let sp = match plan {
        Plan::Select(sp) => sp,
        Plan::Query(q) => match &q.body {
            Plan::Select(sp) => sp,
            _ => return false,
        },
        _ => return false,
    };
    sp.aggs.iter().filter_map(|a| a.arg.as_ref()).any(|arg| {
        let (mut own, mut reads_outer) = (false, false);
        arg.visit_columns(&mut |_| own = true);
        arg.visit(&mut |e| {
            reads_outer |= matches!(e, Expr::Param(i, _) if i.checked_sub(OUTER_BASE).is_some_and(&outer));
        });
        reads_outer && !own
    })
}

/// A subquery's output column type as a comparison with it sees it: an untyped literal
/// (`SELECT 'R'`) is text, as PostgreSQL 10+ resolves a subquery's unknown outputs (so
/// `bpchar_col IN (SELECT 'R' ...)` compares as text, trailing blanks ignored).
fn resolved(t: SqlType) -> SqlType {
    if t == SqlType::Unknown {
        SqlType::Text
    } else {
        t
    }
}

/// The functions FROM binds as relations of their rows ([`Binder::function_item`]); any other
/// function in FROM returns one value (`bind/from_scalar.rs`).
pub(super) fn is_from_function(name: &str) -> bool {
    matches!(name, "unnest" | "generate_series" | "pg_partition_ancestors" | "pg_options_to_table" | rows_from::MARK)
        || super::json_ops::is_json_set(name)
        || super::json_ops::is_to_record(name)
        || super::srf::is_text_set(name)
}
