//! Binding of LATERAL FROM items ([`crate::lateral`] runs them): a derived table marked LATERAL,
//! or a function in FROM (LATERAL with or without the keyword, as in PostgreSQL), after other
//! FROM items, sees those items' columns as outer references. When it reads any, the FROM items
//! so far and it become one computed relation whose row is their combined row, so the join's
//! scope (names, offsets) stays as it was. A derived table that is not LATERAL does not see
//! them: naming one is PostgreSQL's 42P01/42703 with its hint.

use super::{fold, Binder, JoinScope, Scope};
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use crate::join::{JoinKind, JoinPlan, JoinStep};
use crate::lateral::Lateral;
use crate::relation::{self, Derived, Source};
use orbit_engine::table::{ColumnDef, TableDef};
use sqlparser::ast;
use std::sync::Arc;

/// A FROM item that reads items to its left, bound and waiting for its join step.
pub(super) struct LateralItem {
    derived: Derived,
    captures: Vec<(usize, Expr)>,
}

/// PostgreSQL's error for a name that only a FROM item this item cannot see has (`s` is those
/// items): None when none of them has it.
pub(super) fn blocked_reference(s: &Scope, qualifier: Option<&ast::Ident>, id: &ast::Ident) -> Option<SqlError> {
    let js = s.joined.as_ref()?;
    match qualifier {
        Some(q) => {
            let qn = fold(q);
            js.tables.iter().any(|(_, a, _)| *a == qn).then(|| {
                SqlError::new(
                    code::UNDEFINED_TABLE,
                    format!("invalid reference to FROM-clause entry for table \"{qn}\""),
                )
                .hint(format!(
                    "There is an entry for table \"{qn}\", but it cannot be referenced from this part of the query."
                ))
            })
        }
        None => {
            let name = fold(id);
            let (_, a, _) = js.tables.iter().find(|(d, _, _)| d.column(&name).is_some())?;
            let a = super::nested_join::display_alias(a);
            Some(
                SqlError::new(code::UNDEFINED_COLUMN, format!("column \"{name}\" does not exist")).hint(format!(
                    "There is a column named \"{name}\" in table \"{a}\", but it cannot be referenced from this part of the query."
                )),
            )
        }
    }
}

impl LateralItem {
    /// A relation that reads FROM items to its left (`captures`: what it reads of them).
    pub(super) fn new(derived: Derived, captures: Vec<(usize, Expr)>) -> LateralItem {
        LateralItem { derived, captures }
    }
}

impl Binder<'_> {
    /// A FROM item of a join; `left` is the items to its left (their combined row and scope),
    /// None for the first. A LATERAL item that reads them comes back with a [`LateralItem`]
    /// for [`Binder::join_step`].
    pub(super) fn bind_from_item(
        &mut self,
        f: &ast::TableFactor,
        left: Option<(&TableDef, &JoinScope)>,
    ) -> Result<(Arc<TableDef>, String, Option<LateralItem>)> {
        let lateral = match f {
            ast::TableFactor::Derived { lateral, .. } => Some(*lateral),
            ast::TableFactor::Table { args: Some(_), .. }
            | ast::TableFactor::Function { .. }
            | ast::TableFactor::UNNEST { .. } => Some(true),
            _ => None,
        };
        let (Some((combined, js)), Some(lateral)) = (left, lateral) else {
            let (def, alias) = self.relation(f)?;
            return Ok((def, alias, None));
        };
        // The levels inside the item have their own FROM items.
        let target = std::mem::take(&mut self.modify_target);
        self.push_from_frame(combined, js, !lateral);
        let r = self.relation(f);
        let captures = self.pop_from_frame();
        self.modify_target = target;
        let (def, alias) = r?;
        if captures.is_empty() {
            return Ok((def, alias, None));
        }
        self.refuse_target_read(js, &captures)?;
        let derived = self.take_input(&def).ok_or_else(|| SqlError::internal("a LATERAL item without its relation"))?;
        if let Source::Query(plan) = &derived.source {
            outer_aggregate(plan, &captures)?;
        }
        Ok((def, alias, Some(LateralItem { derived, captures })))
    }

    /// UPDATE's or DELETE's target (the first item) is not in scope for the FROM items
    /// (PostgreSQL's 42P10, whichever way the column is named): `captures` are what a LATERAL
    /// item reads of the items left of it (`js`).
    pub(super) fn refuse_target_read(&self, js: &JoinScope, captures: &[(usize, Expr)]) -> Result<()> {
        let Some((def, target, 0)) = js.tables.first().filter(|_| self.modify_target) else { return Ok(()) };
        let reads_target = captures.iter().any(|(_, e)| {
            let mut reads = false;
            e.visit_columns(&mut |i| reads |= i < def.row_len());
            reads
        });
        if reads_target {
            return Err(SqlError::new(
                "42P10",
                format!("invalid reference to FROM-clause entry for table \"{target}\""),
            )
            .hint(format!(
                "There is an entry for table \"{target}\", but it cannot be referenced from this part of the query."
            )));
        }
        Ok(())
    }

    /// Adds a join step to `plan`. With a LATERAL item (the last input), the inputs so far and
    /// the step become one computed relation: the plan's only input, with the same row.
    pub(super) fn join_step(
        &mut self,
        plan: &mut JoinPlan,
        js: &JoinScope,
        step: JoinStep,
        item: Option<LateralItem>,
    ) -> Result<()> {
        let Some(item) = item else {
            plan.steps.push(step);
            return Ok(());
        };
        let Some(right_def) = plan.inputs.pop() else {
            return Err(SqlError::internal("a LATERAL join without inputs"));
        };
        if matches!(step.kind, JoinKind::Right | JoinKind::Full) {
            // The first FROM item the LATERAL one reads.
            let first = item.captures.iter().filter_map(|(_, e)| first_column(e)).min();
            let table = first
                .and_then(|c| js.tables.iter().rev().find(|(_, _, off)| *off <= c))
                .map_or_else(String::new, |(_, a, _)| a.clone());
            return Err(SqlError::new(
                "42P10",
                format!("invalid reference to FROM-clause entry for table \"{table}\""),
            )
            .detail("The combining JOIN type must be INNER or LEFT for a LATERAL reference."));
        }
        // (A join step's ON is not where the level's correlated subqueries are computed; the
        // LATERAL one's: `sublink_levels::lateral_on_to_where`.)
        if plan.steps.iter().any(|s| s.on.as_ref().is_some_and(|e| self.reads_correlated_link(e))) {
            return Err(SqlError::unsupported(
                "correlated subqueries in the JOIN conditions left of a LATERAL item are not supported yet",
            ));
        }
        let left = JoinPlan {
            inputs: std::mem::take(&mut plan.inputs),
            steps: std::mem::take(&mut plan.steps),
            merge_enabled: plan.merge_enabled,
            methods: plan.methods,
        };
        let left_width: usize = left.inputs.iter().map(|d| d.row_len()).sum();
        // The combined row: the left inputs' rows (row ids included) as columns, then the
        // item's columns; the relation's own row id slot is the item's.
        let mut columns: Vec<ColumnDef> = Vec::with_capacity(left_width + right_def.columns.len());
        for d in &left.inputs {
            columns.extend(d.columns.iter().cloned());
            if d.has_row_id() {
                columns.push(ColumnDef::new("\0rowid", orbit_engine::table::SqlType::Int8));
            }
        }
        columns.extend(right_def.columns.iter().cloned());
        let id = self.lateral_id();
        let def = Arc::new(relation::derived_def(id, columns));
        debug_assert_eq!(def.row_len(), left_width + right_def.row_len());
        let label = item.derived.label.clone();
        let lateral = Lateral {
            left,
            left_width,
            left_filter: None,
            kind: step.kind,
            on: step.on,
            right: item.derived.source,
            right_def,
            captures: item.captures,
        };
        self.add_input(Derived { def: def.clone(), label, source: Source::Lateral(Box::new(lateral)) });
        plan.inputs.push(def);
        Ok(())
    }
}

/// Gives the LATERAL relations a query level reads first the parts of its WHERE that read only
/// the FROM items left of the LATERAL item (`plan`'s FROM starts with that relation, so their
/// columns are at the same places), and so on into a LATERAL relation those items start with:
/// the LATERAL item then runs only for the left rows WHERE can let through.
pub(super) fn push_where(plan: &super::Plan, inputs: &mut [Derived]) {
    let super::Plan::Select(sp) = plan else { return };
    let (Some(j), Some(filter)) = (&sp.join, &sp.filter) else { return };
    let mut parts = Vec::new();
    crate::join::conjuncts(filter, &mut parts);
    // A RIGHT or FULL join after the relation keeps rows its filtered input would not match.
    let keeps_left = |j: &JoinPlan| !j.steps.iter().any(|s| matches!(s.kind, JoinKind::Right | JoinKind::Full));
    let mut first = j.inputs.first().filter(|_| keeps_left(j)).map(|d| d.name.clone());
    while let Some(name) = first.take() {
        let Some(d) = inputs.iter_mut().find(|d| d.def.name == name) else { return };
        let Source::Lateral(l) = &mut d.source else { return };
        parts.retain(|p| {
            let mut left_only = true;
            p.visit_columns(&mut |i| left_only &= i < l.left_width);
            left_only && !reads_sublink(p)
        });
        if parts.is_empty() {
            return;
        }
        l.left_filter = parts.iter().cloned().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
        first = l.left.inputs.first().filter(|_| keeps_left(&l.left)).map(|d| d.name.clone());
    }
}

/// Whether an expression reads a subquery's value (a placeholder filled when the statement
/// runs, or a column a correlated subquery adds).
fn reads_sublink(e: &Expr) -> bool {
    let mut found = false;
    e.visit(&mut |x| found |= matches!(x, Expr::Param(i, _) if *i >= relation::LINK_BASE && *i < relation::OUTER_BASE));
    found
}

/// PostgreSQL's 42803 for an aggregate in a LATERAL subquery whose arguments read only columns
/// of the FROM items to its left (it would belong to the query level whose FROM holds it).
fn outer_aggregate(plan: &super::Plan, captures: &[(usize, Expr)]) -> Result<()> {
    if super::subquery::has_outer_aggregate(plan, |r| captures.iter().any(|(c, _)| *c == r)) {
        return Err(SqlError::new(
            code::GROUPING_ERROR,
            "aggregate functions are not allowed in FROM clause of their own query level",
        ));
    }
    Ok(())
}

/// The lowest column an expression reads.
fn first_column(e: &Expr) -> Option<usize> {
    let mut first = None;
    e.visit_columns(&mut |i| first = Some(first.map_or(i, |f: usize| f.min(i))));
    first
}
