//! Subqueries that reach across query levels, with PostgreSQL's rules
//! (parse_agg.c's agglevelsup and check_ungrouped_columns):
//!
//! - An aggregate inside a subquery whose arguments read only columns of the enclosing level
//!   belongs to that level (`SELECT (SELECT sum(t.x)) FROM t` is grouped, one row). It is bound
//!   with the enclosing level's aggregate list and rules (not allowed in its WHERE, not nested
//!   in its aggregates); the subquery reads its value as an outer reference. Names inside a
//!   subquery of its arguments count by where they resolve: those the inner subquery's own FROM
//!   items (or WITH queries) have count for no level, so `(SELECT max((SELECT i.x FROM i WHERE
//!   i.k = o.k)))` over `o` is `o`'s aggregate; the inner subquery then runs over `o`'s rows
//!   (its references to `o` become its captures there, [`Enclosing::links`]).
//! - A correlated subquery in the select list, HAVING or ORDER BY of a grouped query reads the
//!   level's groups: its outer references must be GROUP BY values or aggregates (42803
//!   otherwise). The level is split: the grouped rows (GROUP BY values, then aggregates) are
//!   a relation computed first, and the select list, HAVING, ORDER BY and the subqueries run
//!   over it as over any FROM rows ([`crate::relation::Source::Correlated`]).
//! - A correlated subquery in a JOIN's ON: an INNER join's condition goes to WHERE (when no
//!   RIGHT or FULL join follows, that is the same rows); a LEFT join's conjuncts whose
//!   subqueries read only its right table filter that table before the join (the join keeps its
//!   method on the rest of ON); otherwise a LEFT join's right side becomes a
//!   LATERAL item ([`crate::lateral`]): per left row, the right table's rows that pass the
//!   whole condition, subqueries included, padded with NULLs when none does. A RIGHT join is
//!   that the other way round; a FULL join both (the LEFT one's rows, then the right rows the
//!   RIGHT one padded). A LATERAL join's: an INNER one's go to WHERE as well, a LEFT one's are
//!   computed over the item's rows for each left row.

use super::{fold, Binder, Distinct, Plan, Scope, SelectPlan, SortSource};
use crate::error::{code, Result, SqlError};
use crate::expr::{AggSpec, Expr};
use crate::join::{JoinKind, JoinPlan};
use crate::lateral::Lateral;
use crate::relation::{self, Correlated, Derived, LinkKind, QueryPlan, Source, SubLink, LINK_BASE, OUTER_BASE};
use orbit_engine::table::{ColumnDef, Datum, SqlType, TableDef};
use sqlparser::ast;
use std::ops::ControlFlow;
use std::sync::Arc;

/// The aggregate rules of the query level a subquery is in, kept while the subquery binds.
pub(super) struct Enclosing {
    pub aggs: Vec<AggSpec>,
    pub allow: bool,
    pub banned: &'static str,
    pub in_agg: bool,
    /// Subqueries in the arguments of aggregates that went to this level: they run over its
    /// rows (their outer references to it become their captures).
    pub links: Vec<SubLink>,
}

/// Rewrites the placeholders of subqueries `ids` in `e` into the columns that hold their
/// values: the `k`-th at `base + k`, of type `tys[k]`.
fn links_to_columns(e: &mut Expr, ids: &[usize], tys: &[SqlType], base: usize) -> Result<()> {
    relation::walk(e, &mut |e| {
        if let Expr::Param(i, _) = e {
            if let Some(k) = i.checked_sub(LINK_BASE).and_then(|id| ids.iter().position(|x| *x == id)) {
                *e = Expr::Column(base + k, tys[k]);
                return Ok(true);
            }
        }
        Ok(false)
    })
}

fn reads_any_link(e: &Expr, ids: &[usize]) -> bool {
    ids.iter().any(|&id| relation::reads_link(e, id))
}

/// The expressions of a subquery over the row of the level it is in: the columns it captures
/// and the left side of `x op ANY/ALL (...)`.
fn row_exprs(l: &mut SubLink) -> Vec<&mut Expr> {
    let mut out: Vec<&mut Expr> = l.captures.iter_mut().map(|(_, e)| e).collect();
    match &mut l.kind {
        LinkKind::Any(t) | LinkKind::All(t) => out.push(t),
        LinkKind::AnyRow(ts) => out.extend(ts.iter_mut()),
        _ => {}
    }
    out
}

/// The outer references (their numbers) an expression reads.
fn outer_refs(e: &Expr, out: &mut Vec<usize>) {
    e.visit(&mut |x| {
        if let Expr::Param(i, _) = x {
            if let Some(r) = i.checked_sub(OUTER_BASE) {
                out.push(r);
            }
        }
    });
}

/// The outer references a plan reads anywhere (its nested subqueries included).
pub(super) fn plan_outer_refs(plan: &Plan) -> Result<Vec<usize>> {
    let mut plan = plan.clone();
    let mut refs = Vec::new();
    relation::map_plan(&mut plan, &mut |e| {
        outer_refs(e, &mut refs);
        Ok(true)
    })?;
    Ok(refs)
}

/// The parts of an INNER (or CROSS) LATERAL join's ON that read correlated subqueries go to
/// WHERE (the LATERAL relation starts the FROM row, so the columns are the same; no RIGHT or
/// FULL join may follow, which would keep rows the condition drops). The others are computed
/// with the item: [`Binder::lateral_on_sublinks`].
fn lateral_on_to_where(sp: &mut SelectPlan, corr: &[SubLink], inputs: &mut [Derived]) -> Result<()> {
    let ids: Vec<usize> = corr.iter().map(|l| l.id).collect();
    let keeps = |j: &JoinPlan| !j.steps.iter().any(|s| matches!(s.kind, JoinKind::Right | JoinKind::Full));
    let mut first = match (&sp.table, &sp.join) {
        (Some(t), _) => Some(t.name.clone()),
        (None, Some(j)) if keeps(j) => j.inputs.first().map(|d| d.name.clone()),
        _ => None,
    };
    while let Some(name) = first.take() {
        let Some(d) = inputs.iter_mut().find(|d| d.def.name == name) else { break };
        let Source::Lateral(l) = &mut d.source else { break };
        let inner = matches!(l.kind, JoinKind::Inner | JoinKind::Cross);
        if let Some(on) = l.on.take_if(|_| inner) {
            let mut parts = Vec::new();
            crate::join::conjuncts(&on, &mut parts);
            let (moved, kept): (Vec<Expr>, Vec<Expr>) = parts.into_iter().partition(|p| reads_any_link(p, &ids));
            l.on = kept.into_iter().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
            for m in moved {
                sp.filter = Some(match sp.filter.take() {
                    Some(f) => Expr::And(Box::new(f), Box::new(m)),
                    None => m,
                });
            }
        }
        first = l.left.inputs.first().filter(|_| keeps(&l.left)).map(|d| d.name.clone());
    }
    Ok(())
}

/// `(alias, column)` of column `i` of a level's FROM row, for error messages.
fn column_label(scope: Option<&Scope>, i: usize) -> (String, String) {
    match scope {
        Some(Scope { joined: Some(js), .. }) => {
            let found = js.tables.iter().rev().find(|(_, _, off)| *off <= i);
            let label = |a: &str| super::nested_join::display_alias(a).to_string();
            match found.and_then(|(t, a, off)| t.columns.get(i - off).map(|c| (label(a), c.name.clone()))) {
                Some(l) => l,
                None => (String::new(), format!("?column{i}?")),
            }
        }
        Some(s) => (s.alias.clone(), s.def.columns.get(i).map_or_else(|| format!("?column{i}?"), |c| c.name.clone())),
        None => (String::new(), format!("?column{i}?")),
    }
}

/// The qualifier and name of a column reference.
fn column_ref(e: &ast::Expr) -> Option<(Option<&ast::Ident>, &ast::Ident)> {
    match e {
        ast::Expr::Identifier(id) => Some((None, id)),
        ast::Expr::CompoundIdentifier(parts) => match parts.as_slice() {
            [t, c] | [_, t, c] => Some((Some(t), c)),
            _ => None,
        },
        _ => None,
    }
}

impl Binder<'_> {
    /// An aggregate call in a subquery whose arguments (FILTER and ORDER BY too) name only
    /// columns of the enclosing level: bound as that level's aggregate, and its value read here
    /// as an outer reference. None when it is this level's own (or not in a subquery).
    pub(super) fn outer_level_aggregate(&mut self, f: &ast::Function, scope: Option<&Scope>) -> Result<Option<Expr>> {
        if std::mem::take(&mut self.sub.agg_up) || self.sub.enclosing.is_empty() {
            return Ok(None);
        }
        let mut parts: Vec<&ast::Expr> = Vec::new();
        if let ast::FunctionArguments::List(l) = &f.args {
            for a in &l.args {
                if let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a {
                    parts.push(e);
                }
            }
            for c in &l.clauses {
                if let ast::FunctionArgumentClause::OrderBy(list) = c {
                    parts.extend(list.iter().map(|o| &o.expr));
                }
            }
        }
        parts.extend(f.filter.as_deref());
        // The enclosing levels (frame indexes) the names resolve in; None for this level's
        // own columns, or a name that resolves nowhere. Names inside a subquery of the
        // arguments that its own FROM items have are that subquery's (PostgreSQL's
        // check_agg_arguments counts a Var inside a sublink by its levels above the aggregate).
        let mut scan = LevelScan { binder: self, scope, locals: Vec::new(), levels: Vec::new(), unknown: false };
        for p in &parts {
            let _ = ast::Visit::visit(*p, &mut scan);
        }
        let (levels, nested) = (scan.levels, scan.unknown);
        // PostgreSQL's agglevelsup: the innermost level any argument names.
        let level = match levels.iter().copied().collect::<Option<Vec<usize>>>() {
            Some(fs) if !nested => fs.iter().copied().max(),
            _ => None,
        };
        let Some(level) = level else { return Ok(None) };
        let Some(ei) = self.sub.sublink_level(level) else { return Ok(None) };
        if levels.iter().any(|l| *l != Some(level)) {
            return Err(SqlError::unsupported(
                "an aggregate of columns of two different enclosing query levels is not supported yet",
            ));
        }
        // Bound with that level's aggregates and rules.
        let Some(top) = self.sub.enclosing.get_mut(ei) else { return Ok(None) };
        std::mem::swap(&mut self.aggs, &mut top.aggs);
        let saved = (self.allow_aggs, self.aggs_banned_in, self.in_agg);
        (self.allow_aggs, self.aggs_banned_in, self.in_agg) = (top.allow, top.banned, top.in_agg);
        self.sub.agg_up = true;
        let first_link = self.sub.links_vec().len();
        let r = self.function(f, scope);
        self.sub.agg_up = false;
        let all = self.sub.links_vec();
        let links = all.split_off(first_link.min(all.len()));
        (self.allow_aggs, self.aggs_banned_in, self.in_agg) = saved;
        let frame_captures = self.sub.captures_of(level);
        let Some(top) = self.sub.enclosing.get_mut(ei) else { return Err(SqlError::internal("no enclosing level")) };
        std::mem::swap(&mut self.aggs, &mut top.aggs);
        let mut e = r?;
        let j = top.aggs.len().checked_sub(1).ok_or_else(|| SqlError::internal("no outer aggregate"))?;
        // Its arguments over the enclosing level's row: each outer reference is the column
        // it captured.
        let spec = &mut top.aggs[j];
        let mut exprs: Vec<&mut Expr> = Vec::new();
        exprs.extend(spec.arg.as_mut());
        exprs.extend(spec.delim.as_mut());
        exprs.extend(spec.filter.as_mut());
        exprs.extend(spec.order_by.iter_mut().map(|o| &mut o.expr));
        let mut moved = Vec::new();
        for x in exprs {
            let mut own_cols = false;
            x.visit_columns(&mut |_| own_cols = true);
            let mut refs = Vec::new();
            outer_refs(x, &mut refs);
            if own_cols || refs.iter().any(|r| !frame_captures.iter().any(|(c, _)| c == r)) {
                return Err(SqlError::internal("an outer aggregate's arguments read another level"));
            }
            moved.extend(refs);
            relation::walk(x, &mut |y| {
                if let Expr::Param(i, _) = y {
                    if let Some((_, c)) =
                        i.checked_sub(OUTER_BASE).and_then(|r| frame_captures.iter().find(|(c, _)| *c == r))
                    {
                        *y = c.clone();
                        return Ok(true);
                    }
                }
                Ok(false)
            })?;
        }
        // Its arguments' subqueries run over the enclosing level's rows: what they read of
        // that level becomes what they capture there.
        let mut up = Vec::with_capacity(links.len());
        for mut l in links {
            if !l.captures.is_empty() {
                return Err(SqlError::internal("an outer aggregate's subquery reads this level"));
            }
            for r in plan_outer_refs(&l.plan)? {
                if let Some((_, c)) = frame_captures.iter().find(|(c, _)| *c == r) {
                    if !l.captures.iter().any(|(x, _)| *x == r) {
                        l.captures.push((r, c.clone()));
                        moved.push(r);
                    }
                }
            }
            up.push(l);
        }
        top.links.extend(up);
        // Here its value is an outer reference to the enclosing level's aggregate.
        let r = self.lateral_id();
        let mut ty = None;
        relation::walk(&mut e, &mut |y| {
            if let Expr::Agg(k, t) = y {
                if *k == j {
                    ty = Some(*t);
                    *y = Expr::Param(OUTER_BASE + r, *t);
                    return Ok(true);
                }
            }
            Ok(false)
        })?;
        let ty = ty.ok_or_else(|| SqlError::internal("an outer aggregate without its call"))?;
        self.sub.capture(level, r, Expr::Agg(j, ty), moved);
        Ok(Some(e))
    }

    /// In a grouped query: the outer references of the correlated subqueries its select list,
    /// HAVING and ORDER BY read become references to the groups (GROUP BY values, aggregates);
    /// a column outside GROUP BY is PostgreSQL's 42803.
    pub(super) fn regroup_sublinks(
        &mut self,
        projection: &[Expr],
        having: Option<&Expr>,
        order_by: &[super::SortKey],
        group_by: &[Expr],
        scope: Option<&Scope>,
    ) -> Result<()> {
        // Window and set-returning calls run over the groups too.
        let mut in_calls: Vec<usize> = Vec::new();
        let ids: Vec<usize> = self.sub.links_mut().iter().map(|l| l.id).collect();
        let mut note = |e: &Expr| {
            in_calls.extend(ids.iter().copied().filter(|&id| relation::reads_link(e, id)));
        };
        self.window.map_calls(&mut |e| {
            note(e);
            Ok(e.clone())
        })?;
        for c in &self.srf.calls {
            c.args.iter().for_each(&mut note);
        }
        let reads = |id: usize| {
            in_calls.contains(&id)
                || projection.iter().any(|e| relation::reads_link(e, id))
                || having.is_some_and(|e| relation::reads_link(e, id))
                || order_by.iter().any(|k| matches!(&k.source, SortSource::Input(e) if relation::reads_link(e, id)))
        };
        for l in self.sub.links_mut() {
            if l.captures.is_empty() || !reads(l.id) {
                continue;
            }
            for (_, e) in &mut l.captures {
                *e = crate::group::regroup(e, group_by).map_err(|i| {
                    let (t, c) = column_label(scope, i);
                    SqlError::new(
                        code::GROUPING_ERROR,
                        format!("subquery uses ungrouped column \"{t}.{c}\" from outer query"),
                    )
                })?;
            }
            // `x IN (...)`: x is read over the groups as any select-list expression.
            let tests: Vec<&mut Expr> = match &mut l.kind {
                LinkKind::Any(t) | LinkKind::All(t) => vec![t],
                LinkKind::AnyRow(ts) => ts.iter_mut().collect(),
                _ => vec![],
            };
            for t in tests {
                *t = crate::group::regroup(t, group_by).map_err(|i| {
                    let (t, c) = column_label(scope, i);
                    crate::group::ungrouped(&t, &c)
                })?;
            }
        }
        Ok(())
    }

    /// Places a level's correlated subqueries that [`Binder::finish_level`]'s per-row
    /// relation cannot take as they are: those in JOIN ... ON, and those over the groups of a
    /// grouped query. Gives back the plan, the subqueries left for the level's FROM rows and
    /// the level's relations.
    pub(super) fn place_sublinks(
        &mut self,
        plan: Plan,
        mut corr: Vec<SubLink>,
        mut inputs: Vec<Derived>,
    ) -> Result<(Plan, Vec<SubLink>, Vec<Derived>)> {
        let Plan::Select(mut sp) = plan else { return Ok((plan, corr, inputs)) };
        lateral_on_to_where(&mut sp, &corr, &mut inputs)?;
        self.lateral_on_sublinks(&mut corr, &mut inputs)?;
        if sp.join.is_some() {
            self.join_sublinks(&mut sp, &mut corr, &mut inputs)?;
        }
        let ids: Vec<usize> = corr.iter().map(|l| l.id).collect();
        let in_calls = |id: usize| {
            sp.windows.iter().any(|w| {
                w.args
                    .iter()
                    .chain(&w.partition_by)
                    .chain(w.order_by.iter().map(|o| &o.expr))
                    .any(|e| relation::reads_link(e, id))
            }) || sp.srfs.iter().any(|c| c.args.iter().any(|e| relation::reads_link(e, id)))
        };
        let upper: Vec<usize> = ids
            .iter()
            .copied()
            .filter(|&id| {
                in_calls(id)
                    || sp.projection.iter().any(|e| relation::reads_link(e, id))
                    || sp.having.as_ref().is_some_and(|e| relation::reads_link(e, id))
                    || sp
                        .order_by
                        .iter()
                        .any(|k| matches!(&k.source, SortSource::Input(e) if relation::reads_link(e, id)))
            })
            .collect();
        if !sp.grouped || upper.is_empty() {
            return Ok((Plan::Select(sp), corr, inputs));
        }
        let lower_reads = |id: usize| {
            sp.filter.as_ref().is_some_and(|e| relation::reads_link(e, id))
                || sp.group_by.iter().any(|e| relation::reads_link(e, id))
                || sp.aggs.iter().any(|a| {
                    a.arg
                        .iter()
                        .chain(a.filter.iter())
                        .chain(a.order_by.iter().map(|o| &o.expr))
                        .any(|e| relation::reads_link(e, id))
                })
        };
        if upper.iter().any(|&id| lower_reads(id)) {
            return Err(SqlError::unsupported(
                "a correlated subquery read both before and after grouping is not supported yet",
            ));
        }
        let (upper_links, lower_links): (Vec<SubLink>, Vec<SubLink>) =
            corr.into_iter().partition(|l| upper.contains(&l.id));
        // The grouped rows: the GROUP BY values, with grouping sets the number of the group's
        // set (what grouping() reads, as over a group), then the aggregates.
        let mut ng = sp.group_by.len();
        let mut projection: Vec<Expr> = sp.group_by.iter().enumerate().map(|(k, g)| Expr::Column(k, g.ty())).collect();
        if !sp.grouping_sets.is_empty() {
            projection.push(Expr::Column(ng, SqlType::Int4));
            ng += 1;
        }
        projection.extend(sp.aggs.iter().enumerate().map(|(j, a)| Expr::Agg(j, a.ty)));
        let columns: Vec<ColumnDef> = projection
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let ty = if e.ty() == SqlType::Unknown { SqlType::Text } else { e.ty() };
                ColumnDef::new(format!("\0g{i}"), ty)
            })
            .collect();
        let having_upper = sp.having.as_ref().is_some_and(|h| reads_any_link(h, &upper));
        let mut upper_sp = SelectPlan::reading(Arc::new(TableDef::default_empty()), std::mem::take(&mut sp.projection));
        upper_sp.filter = if having_upper { sp.having.take() } else { None };
        upper_sp.order_by = std::mem::take(&mut sp.order_by);
        upper_sp.distinct = std::mem::replace(&mut sp.distinct, Distinct::None);
        upper_sp.limit = sp.limit.take();
        upper_sp.limit_ties = std::mem::take(&mut sp.limit_ties);
        upper_sp.offset = sp.offset.take();
        // Window functions and set-returning functions run over the groups: over its rows.
        upper_sp.windows = std::mem::take(&mut sp.windows);
        upper_sp.srfs = std::mem::take(&mut sp.srfs);
        sp.projection = projection;
        let id = self.lateral_id();
        let def = Arc::new(relation::derived_def(id, columns));
        upper_sp.table = Some(def.clone());
        // Over the grouped rows: aggregate j is column ng + j; the window or set-returning
        // call after the aggregates is the upper query's own.
        let na = sp.aggs.len();
        let mut to_row = |e: &mut Expr| -> Result<bool> {
            if let Expr::Agg(j, t) = e {
                *e = if *j < na { Expr::Column(ng + *j, *t) } else { Expr::Agg(*j - na, *t) };
                return Ok(true);
            }
            Ok(false)
        };
        relation::map_select(&mut upper_sp, &mut to_row)?;
        let mut upper_links = upper_links;
        for l in &mut upper_links {
            for e in row_exprs(l) {
                relation::walk(e, &mut to_row)?;
            }
        }
        let lower = self.finish_level(Plan::Select(sp), vec![], lower_links, inputs)?;
        inputs = vec![Derived { def, label: "?groups".into(), source: Source::Query(Box::new(lower)) }];
        Ok((Plan::Select(Box::new(upper_sp)), upper_links, inputs))
    }

    /// A LATERAL join whose ON reads correlated subqueries (LEFT, or INNER where WHERE cannot
    /// take them): per left row, the item's rows are computed, then those that pass the whole
    /// condition, its subqueries computed per item row (the condition's left columns are
    /// outer values of the item, as the item's own are); the join itself has no condition.
    fn lateral_on_sublinks(&mut self, corr: &mut Vec<SubLink>, inputs: &mut [Derived]) -> Result<()> {
        for d in inputs.iter_mut() {
            let Source::Lateral(l) = &mut d.source else { continue };
            let Some(mut on) = l.on.take() else { continue };
            let ids: Vec<usize> = corr.iter().map(|x| x.id).filter(|&id| relation::reads_link(&on, id)).collect();
            if ids.is_empty() {
                l.on = Some(on);
                continue;
            }
            let (mut links, others): (Vec<SubLink>, Vec<SubLink>) =
                std::mem::take(corr).into_iter().partition(|x| ids.contains(&x.id));
            *corr = others;
            let left_width = l.left_width;
            let right_def = l.right_def.clone();
            let right_width = right_def.row_len();
            let link_tys: Vec<SqlType> = links.iter().map(|x| x.ty).collect();
            let mut captures = std::mem::take(&mut l.captures);
            let mut over_right = |e: &mut Expr| -> Result<bool> {
                let Expr::Column(c, t) = e else { return Ok(false) };
                if *c >= left_width {
                    *e = Expr::Column(*c - left_width, *t);
                    return Ok(true);
                }
                let r = match captures.iter().find(|(_, x)| matches!(x, Expr::Column(j, _) if j == c)) {
                    Some((r, _)) => *r,
                    None => {
                        let r = self.sub.fresh_id();
                        captures.push((r, Expr::Column(*c, *t)));
                        r
                    }
                };
                *e = Expr::Param(OUTER_BASE + r, *t);
                Ok(true)
            };
            relation::walk(&mut on, &mut over_right)?;
            for x in &mut links {
                for e in row_exprs(x) {
                    relation::walk(e, &mut over_right)?;
                }
            }
            links_to_columns(&mut on, &ids, &link_tys, right_width)?;
            l.captures = captures;
            let passing = self.row_def(std::slice::from_ref(&right_def))?;
            let row: Vec<Expr> = passing.columns.iter().enumerate().map(|(i, c)| Expr::Column(i, c.ty)).collect();
            let correlated = Correlated {
                table: Some(right_def.clone()),
                join: None,
                width: right_width,
                filter: Some(on),
                links,
                semi: vec![],
            };
            let item = std::mem::replace(&mut l.right, Source::Values(vec![]));
            let q = QueryPlan {
                ctes: vec![],
                links: vec![],
                inputs: vec![
                    Derived { def: right_def, label: d.label.clone(), source: item },
                    Derived {
                        def: passing.clone(),
                        label: "SubPlan".into(),
                        source: Source::Correlated(Box::new(correlated)),
                    },
                ],
                body: Plan::Select(Box::new(SelectPlan::reading(passing, row))),
            };
            l.right = Source::Query(Box::new(Plan::Query(Box::new(q))));
        }
        Ok(())
    }

    /// Correlated subqueries in JOIN ... ON (see the module doc).
    fn join_sublinks(&mut self, sp: &mut SelectPlan, corr: &mut Vec<SubLink>, inputs: &mut Vec<Derived>) -> Result<()> {
        let ids: Vec<usize> = corr.iter().map(|l| l.id).collect();
        let Some(j) = sp.join.as_mut() else { return Ok(()) };
        let reads = |s: &crate::join::JoinStep| s.on.as_ref().is_some_and(|e| reads_any_link(e, &ids));
        if !j.steps.iter().any(reads) {
            return Ok(());
        }
        // INNER joins followed by no RIGHT or FULL join: the condition's parts with
        // subqueries are WHERE's.
        let n = j.steps.len();
        for i in 0..n {
            let later_outer = j.steps[i + 1..].iter().any(|s| matches!(s.kind, JoinKind::Right | JoinKind::Full));
            let s = &mut j.steps[i];
            if !(reads(s) && s.kind == JoinKind::Inner && !later_outer) {
                continue;
            }
            let Some(on) = s.on.take() else { continue };
            let mut parts = Vec::new();
            crate::join::conjuncts(&on, &mut parts);
            let (moved, kept): (Vec<Expr>, Vec<Expr>) = parts.into_iter().partition(|p| reads_any_link(p, &ids));
            s.on = kept.into_iter().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
            for m in moved {
                sp.filter = Some(match sp.filter.take() {
                    Some(f) => Expr::And(Box::new(f), Box::new(m)),
                    None => m,
                });
            }
        }
        // LEFT joins whose subquery conditions read only the right table: they filter that
        // table before the join (a condition over the nullable side alone only keeps its rows
        // from matching), so the join keeps its hash or merge method on the rest of ON.
        for i in 0..n {
            self.push_right_sublinks(sp, corr, inputs, i)?;
        }
        // The others: the right side computed per left row (a LATERAL item).
        while let Some(i) = sp.join.as_ref().and_then(|j| j.steps.iter().position(reads)) {
            let Some(j) = sp.join.as_mut() else { break };
            if j.steps[i].kind == JoinKind::Cross {
                return Err(SqlError::internal("a CROSS join with a condition"));
            }
            let step = j.steps.remove(i);
            let rest_steps = j.steps.split_off(i);
            let rest_inputs = j.inputs.split_off(i + 2);
            let right_def = j.inputs.pop().ok_or_else(|| SqlError::internal("a join step without its table"))?;
            let left = JoinPlan {
                inputs: std::mem::take(&mut j.inputs),
                steps: std::mem::take(&mut j.steps),
                merge_enabled: j.merge_enabled,
                methods: j.methods,
            };
            let on = step.on.ok_or_else(|| SqlError::internal("a join condition without its subquery"))?;
            let step_ids: Vec<usize> = ids.iter().copied().filter(|&id| relation::reads_link(&on, id)).collect();
            let (links, others): (Vec<SubLink>, Vec<SubLink>) =
                std::mem::take(corr).into_iter().partition(|l| step_ids.contains(&l.id));
            *corr = others;
            let (def, label, source) = self.lateral_join(left, right_def, step.kind, on, links, inputs)?;
            inputs.push(Derived { def: def.clone(), label, source });
            let mut inputs_now = vec![def];
            inputs_now.extend(rest_inputs);
            **j =
                JoinPlan { inputs: inputs_now, steps: rest_steps, merge_enabled: j.merge_enabled, methods: j.methods };
        }
        Ok(())
    }

    /// For LEFT join step `i` whose ON has conjuncts with subqueries that read only the step's
    /// right table (columns and the subqueries' captures): that table becomes a computed
    /// relation, its rows filtered by those conjuncts (a [`Correlated`] over it), and the step
    /// keeps the rest of ON. Nothing changes where any such conjunct reads the left side.
    fn push_right_sublinks(
        &mut self,
        sp: &mut SelectPlan,
        corr: &mut Vec<SubLink>,
        inputs: &mut Vec<Derived>,
        i: usize,
    ) -> Result<()> {
        let ids: Vec<usize> = corr.iter().map(|l| l.id).collect();
        let Some(j) = sp.join.as_mut() else { return Ok(()) };
        let (Some(step), Some(right_def)) = (j.steps.get(i), j.inputs.get(i + 1)) else { return Ok(()) };
        let Some(on) = step.on.as_ref().filter(|e| step.kind == JoinKind::Left && reads_any_link(e, &ids)) else {
            return Ok(());
        };
        let right_def = right_def.clone();
        let left_width: usize = j.inputs[..=i].iter().map(|d| d.row_len()).sum();
        let right_width = right_def.row_len();
        let mut parts = Vec::new();
        crate::join::conjuncts(on, &mut parts);
        let (mut pushed, kept): (Vec<Expr>, Vec<Expr>) = parts.into_iter().partition(|p| reads_any_link(p, &ids));
        let pushed_ids: Vec<usize> =
            ids.iter().copied().filter(|&id| pushed.iter().any(|p| relation::reads_link(p, id))).collect();
        let mut links: Vec<SubLink> = corr.iter().filter(|l| pushed_ids.contains(&l.id)).cloned().collect();
        // Every column read must be the right table's: moved to its place in that table's row.
        let mut right_only = true;
        let mut rebase = |e: &mut Expr| -> Result<bool> {
            if let Expr::Column(c, _) = e {
                if (left_width..left_width + right_width).contains(c) {
                    *c -= left_width;
                } else {
                    right_only = false;
                }
                return Ok(true);
            }
            Ok(false)
        };
        for p in &mut pushed {
            relation::walk(p, &mut rebase)?;
        }
        for l in &mut links {
            for e in row_exprs(l) {
                relation::walk(e, &mut rebase)?;
            }
        }
        if !right_only {
            return Ok(());
        }
        let mut filter = pushed
            .into_iter()
            .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)))
            .ok_or_else(|| SqlError::internal("no pushed condition"))?;
        let tys: Vec<SqlType> = links.iter().map(|l| l.ty).collect();
        links_to_columns(&mut filter, &pushed_ids, &tys, right_width)?;
        let def = self.row_def(std::slice::from_ref(&right_def))?;
        let row: Vec<Expr> = def.columns.iter().enumerate().map(|(k, c)| Expr::Column(k, c.ty)).collect();
        let label = inputs
            .iter()
            .find(|d| d.def.name == right_def.name)
            .map_or_else(|| crate::schema::relname(&right_def.name).to_string(), |d| d.label.clone());
        let correlated = Correlated {
            table: Some(right_def),
            join: None,
            width: right_width,
            filter: Some(filter),
            links,
            semi: vec![],
        };
        inputs.push(Derived {
            def: def.clone(),
            label,
            source: Source::Project(Box::new(Source::Correlated(Box::new(correlated))), row),
        });
        let Some(j) = sp.join.as_mut() else { return Ok(()) };
        j.inputs[i + 1] = def;
        j.steps[i].on = kept.into_iter().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
        corr.retain(|l| !pushed_ids.contains(&l.id));
        Ok(())
    }

    /// The relation of `left` joined to `right_def` on `on` (which reads `links`): for INNER
    /// and LEFT the right table's rows computed per left row; for RIGHT the left side's rows
    /// computed per right row (a LEFT join the other way round, its rows put back in order).
    fn lateral_join(
        &mut self,
        left: JoinPlan,
        right_def: Arc<TableDef>,
        kind: JoinKind,
        on: Expr,
        links: Vec<SubLink>,
        inputs: &[Derived],
    ) -> Result<(Arc<TableDef>, String, Source)> {
        let left_width: usize = left.inputs.iter().map(|d| d.row_len()).sum();
        let right_width = right_def.row_len();
        let mut all = left.inputs.clone();
        all.push(right_def.clone());
        let def = self.row_def(&all)?;
        let label = inputs
            .iter()
            .find(|d| d.def.name == right_def.name)
            .map_or_else(|| crate::schema::relname(&right_def.name).to_string(), |d| d.label.clone());
        let right = JoinPlan {
            inputs: vec![right_def.clone()],
            steps: vec![],
            merge_enabled: left.merge_enabled,
            methods: left.methods,
        };
        let types: Vec<SqlType> = def.columns.iter().map(|c| c.ty).collect();
        let ty = |i: usize| types.get(i).copied().unwrap_or(SqlType::Int8);
        let per_left = |c: usize| if c < left_width { (true, c) } else { (false, c - left_width) };
        let per_right = |c: usize| if c < left_width { (false, c) } else { (true, c - left_width) };
        let source = match kind {
            JoinKind::Right => {
                let l = self.per_row_join(
                    right,
                    right_width,
                    left,
                    left_width,
                    JoinKind::Left,
                    on,
                    links,
                    &per_right,
                    false,
                )?;
                // Its rows are the right row, then the left side's: put back as the join's.
                let order: Vec<Expr> = (0..left_width)
                    .map(|i| Expr::Column(right_width + i, ty(i)))
                    .chain((0..right_width).map(|i| Expr::Column(i, ty(left_width + i))))
                    .collect();
                Source::Project(Box::new(Source::Lateral(Box::new(l))), order)
            }
            JoinKind::Full => {
                // The LEFT join's rows, then the right rows no left row matched: those the
                // RIGHT join the other way round pads (its left side's marker is NULL).
                let lj = self.per_row_join(
                    left.clone(),
                    left_width,
                    right.clone(),
                    right_width,
                    JoinKind::Left,
                    on.clone(),
                    links.clone(),
                    &per_left,
                    false,
                )?;
                let rj = self.per_row_join(
                    right,
                    right_width,
                    left.clone(),
                    left_width,
                    JoinKind::Left,
                    on,
                    links,
                    &per_right,
                    true,
                )?;
                let mut tables = vec![right_def];
                tables.extend(left.inputs.iter().cloned());
                let mut flipped = (*self.row_def(&tables)?).clone();
                flipped.columns.push(ColumnDef::new("\0matched", SqlType::Bool));
                let flipped = Arc::new(flipped);
                let marker = Expr::Column(right_width + left_width, SqlType::Bool);
                let row: Vec<Expr> = (0..left_width)
                    .map(|i| Expr::Const(Datum::Null, ty(i)))
                    .chain((0..right_width).map(|i| Expr::Column(i, ty(left_width + i))))
                    .collect();
                let mut unmatched = SelectPlan::reading(flipped.clone(), row);
                unmatched.filter = Some(Expr::IsNull(Box::new(marker), false));
                let rest = QueryPlan {
                    ctes: vec![],
                    links: vec![],
                    inputs: vec![Derived { def: flipped, label: label.clone(), source: Source::Lateral(Box::new(rj)) }],
                    body: Plan::Select(Box::new(unmatched)),
                };
                Source::SetOp {
                    op: relation::SetOp::Union,
                    all: true,
                    left: Box::new(Source::Lateral(Box::new(lj))),
                    right: Box::new(Source::Query(Box::new(Plan::Query(Box::new(rest))))),
                    strategy: crate::group::Strategy::Hash,
                }
            }
            _ => {
                let l = self.per_row_join(left, left_width, right, right_width, kind, on, links, &per_left, false)?;
                Source::Lateral(Box::new(l))
            }
        };
        Ok((def, label, source))
    }

    /// A [`Lateral`]: `inner`'s rows that pass `on` (subqueries `links` computed per inner
    /// row), computed per `outer` row. `side` tells where a column of `on`'s row is: (whether
    /// in the outer row, its place there).
    #[allow(clippy::too_many_arguments)]
    fn per_row_join(
        &mut self,
        outer: JoinPlan,
        outer_width: usize,
        inner: JoinPlan,
        inner_width: usize,
        kind: JoinKind,
        on: Expr,
        mut links: Vec<SubLink>,
        side: &dyn Fn(usize) -> (bool, usize),
        marker: bool,
    ) -> Result<Lateral> {
        let mut captures: Vec<(usize, Expr)> = Vec::new();
        let ids: Vec<usize> = links.iter().map(|l| l.id).collect();
        let link_tys: Vec<SqlType> = links.iter().map(|l| l.ty).collect();
        // Over the inner row: an outer column is an outer reference of the item, a
        // subquery's value the column after the row.
        let mut over_inner = |e: &mut Expr| -> Result<bool> {
            let Expr::Column(c, t) = e else { return Ok(false) };
            let (in_outer, k) = side(*c);
            if !in_outer {
                *e = Expr::Column(k, *t);
                return Ok(true);
            }
            let r = match captures.iter().find(|(_, x)| matches!(x, Expr::Column(j, _) if *j == k)) {
                Some((r, _)) => *r,
                None => {
                    let r = self.sub.fresh_id();
                    captures.push((r, Expr::Column(k, *t)));
                    r
                }
            };
            *e = Expr::Param(OUTER_BASE + r, *t);
            Ok(true)
        };
        let mut on = on;
        relation::walk(&mut on, &mut over_inner)?;
        for l in &mut links {
            for e in row_exprs(l) {
                relation::walk(e, &mut over_inner)?;
            }
        }
        links_to_columns(&mut on, &ids, &link_tys, inner_width)?;
        let mut inner_def = self.row_def(&inner.inputs)?;
        let mut row: Vec<Expr> = inner_def.columns.iter().enumerate().map(|(i, c)| Expr::Column(i, c.ty)).collect();
        if marker {
            // A column that is true in every inner row: NULL where a LEFT join padded.
            let mut d = (*inner_def).clone();
            d.columns.push(ColumnDef::new("\0matched", SqlType::Bool));
            inner_def = Arc::new(d);
            row.push(Expr::Const(Datum::Bool(true), SqlType::Bool));
        }
        let (table, join) = match inner.inputs.as_slice() {
            [one] if inner.steps.is_empty() => (Some(one.clone()), None),
            _ => (None, Some(Box::new(inner))),
        };
        let correlated = Correlated { table, join, width: inner_width, filter: Some(on), links, semi: vec![] };
        let right = Source::Project(Box::new(Source::Correlated(Box::new(correlated))), row);
        Ok(Lateral {
            left: outer,
            left_width: outer_width,
            left_filter: None,
            kind,
            on: None,
            right,
            right_def: inner_def,
            captures,
        })
    }

    /// A computed relation whose row is the rows of `tables` end to end, row ids included (as
    /// columns: the relation itself has none, which a key marks; a computed relation's key is
    /// never used to find rows).
    fn row_def(&mut self, tables: &[Arc<TableDef>]) -> Result<Arc<TableDef>> {
        let width: usize = tables.iter().map(|d| d.row_len()).sum();
        let mut columns: Vec<ColumnDef> = Vec::with_capacity(width);
        for d in tables {
            columns.extend(d.columns.iter().cloned());
            if d.has_row_id() {
                columns.push(ColumnDef::new("\0rowid", SqlType::Int8));
            }
        }
        let id = self.lateral_id();
        let mut def = relation::derived_def(id, columns);
        def.pk = vec![0];
        if def.row_len() != width || width == 0 {
            return Err(SqlError::internal("a join's combined row changed its width"));
        }
        Ok(Arc::new(def))
    }
}

/// A FROM item's names as a subquery inside an aggregate's arguments sees them: its
/// qualifier and its columns.
struct Local {
    qualifier: String,
    columns: Vec<String>,
}

/// Finds the query levels the column names of an aggregate's arguments resolve in
/// ([`Binder::outer_level_aggregate`]), subqueries inside them included: a name a subquery's
/// own FROM items have is that subquery's and counts for no level. `unknown`: a subquery's FROM
/// item whose names cannot be known without binding it (then the aggregate stays this level's).
struct LevelScan<'a, 'b> {
    binder: &'a Binder<'b>,
    scope: Option<&'a Scope<'a>>,
    /// The names of the subqueries being visited, outermost first.
    locals: Vec<Vec<Local>>,
    levels: Vec<Option<usize>>,
    unknown: bool,
}

impl ast::Visitor for LevelScan<'_, '_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &ast::Query) -> ControlFlow<()> {
        let mut names = Vec::new();
        if !self.query_names(q, &mut names) {
            self.unknown = true;
        }
        self.locals.push(names);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _: &ast::Query) -> ControlFlow<()> {
        self.locals.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, x: &ast::Expr) -> ControlFlow<()> {
        let Some((q, id)) = column_ref(x) else { return ControlFlow::Continue(()) };
        let local = self.locals.iter().flatten().any(|l| match q {
            Some(q) => l.qualifier == fold(q),
            None => l.columns.iter().any(|c| *c == fold(id)),
        });
        if !local {
            let own = self.scope.is_some() && self.binder.column(self.scope, q, id).is_ok();
            self.levels.push(if own { None } else { self.binder.outer_frame_of(q, id) });
        }
        ControlFlow::Continue(())
    }
}

impl LevelScan<'_, '_> {
    /// The names the FROM items (and WITH queries) of `q` bring into scope; false when one's
    /// cannot be known here.
    fn query_names(&self, q: &ast::Query, out: &mut Vec<Local>) -> bool {
        if let Some(with) = &q.with {
            for c in &with.cte_tables {
                let columns = if c.alias.columns.is_empty() {
                    match output_names(&c.query) {
                        Some(n) => n,
                        None => return false,
                    }
                } else {
                    c.alias.columns.iter().map(|c| fold(&c.name)).collect()
                };
                out.push(Local { qualifier: fold(&c.alias.name), columns });
            }
        }
        self.body_names(&q.body, out)
    }

    fn body_names(&self, body: &ast::SetExpr, out: &mut Vec<Local>) -> bool {
        match body {
            ast::SetExpr::Select(s) => s.from.iter().all(|twj| self.join_names(twj, out)),
            ast::SetExpr::Query(q) => self.query_names(q, out),
            ast::SetExpr::SetOperation { left, right, .. } => self.body_names(left, out) && self.body_names(right, out),
            ast::SetExpr::Values(_) => true,
            _ => false,
        }
    }

    fn join_names(&self, twj: &ast::TableWithJoins, out: &mut Vec<Local>) -> bool {
        std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)).all(|f| self.factor_names(f, out))
    }

    fn factor_names(&self, f: &ast::TableFactor, out: &mut Vec<Local>) -> bool {
        let renamed = |alias: &Option<ast::TableAlias>, mut cols: Vec<String>| {
            if let Some(a) = alias {
                for (c, n) in cols.iter_mut().zip(&a.columns) {
                    *c = fold(&n.name);
                }
            }
            cols
        };
        match f {
            ast::TableFactor::Table { name, alias, args, .. } => {
                let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
                let Some(last) = parts.last().cloned() else { return false };
                let qualifier = alias.as_ref().map_or_else(|| last.clone(), |a| fold(&a.name));
                let columns = if args.is_some() {
                    // A function in FROM: its column is named by the alias (or the function).
                    match alias {
                        Some(a) if !a.columns.is_empty() => a.columns.iter().map(|c| fold(&c.name)).collect(),
                        _ => vec![qualifier.clone()],
                    }
                } else if let Some(l) = out.iter().find(|l| parts.len() == 1 && l.qualifier == last) {
                    // A WITH query of the same subquery.
                    renamed(alias, l.columns.clone())
                } else if let Some(cols) = (parts.len() == 1).then(|| self.binder.cte_column_names(&last)).flatten() {
                    renamed(alias, cols)
                } else {
                    let full = match parts.as_slice() {
                        [t] => crate::schema::resolve_unqualified(t),
                        [s, t] => crate::schema::resolve_qualified(s, t),
                        _ => return false,
                    };
                    let Some(def) = full.ok().and_then(|n| super::lookup_table(&n)) else { return false };
                    renamed(alias, def.columns.iter().map(|c| c.name.clone()).collect())
                };
                out.push(Local { qualifier, columns });
                true
            }
            ast::TableFactor::Derived { subquery, alias: Some(a), .. } => {
                let Some(cols) = output_names(subquery) else { return false };
                out.push(Local { qualifier: fold(&a.name), columns: renamed(&Some(a.clone()), cols) });
                true
            }
            ast::TableFactor::NestedJoin { table_with_joins, alias: None } => self.join_names(table_with_joins, out),
            _ => false,
        }
    }
}

/// The output column names of a query whose select list names them without `*`.
fn output_names(q: &ast::Query) -> Option<Vec<String>> {
    let mut body = q.body.as_ref();
    loop {
        match body {
            ast::SetExpr::Query(q) => body = q.body.as_ref(),
            ast::SetExpr::SetOperation { left, .. } => body = left.as_ref(),
            _ => break,
        }
    }
    let ast::SetExpr::Select(s) = body else { return None };
    s.projection
        .iter()
        .map(|item| match item {
            ast::SelectItem::ExprWithAlias { alias, .. } => Some(fold(alias)),
            ast::SelectItem::UnnamedExpr(e) => Some(match e {
                ast::Expr::Identifier(i) => fold(i),
                ast::Expr::CompoundIdentifier(p) => p.last().map(fold)?,
                _ => "?column?".to_string(),
            }),
            _ => None,
        })
        .collect()
}
