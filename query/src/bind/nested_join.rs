//! Parenthesized joins in FROM (`a LEFT JOIN (b JOIN c ON ...) ON ...`, `(b JOIN c USING (k))
//! AS bc`, nested to any depth): the join inside the parentheses is bound as a join of its own
//! (any join type, with USING/NATURAL, LATERAL items, subqueries, VALUES and functions inside)
//! and computed as one relation ([`crate::relation::Source::Query`] over its join), which the
//! enclosing join joins as one FROM item: whatever join type it is on either side of.
//!
//! Names follow PostgreSQL's parse analysis (transformFromClauseItem): without an alias, the
//! tables inside stay visible by their names (`b.y`), and an unqualified name sees the join's
//! columns (a USING column once, merged); with an alias, the join is a table of that name whose
//! columns are what its `*` lists, and the tables inside cannot be referenced (42P01 with
//! PostgreSQL's hint).

use super::lateral::LateralItem;
use super::{Binder, JoinScope};
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use crate::relation::{self, Derived, Source};
use orbit_engine::table::{ColumnDef, SqlType, TableDef};
use sqlparser::ast;
use std::sync::Arc;

/// A parenthesized join, bound: its relation and how names reach its columns.
pub(super) struct NestedJoin {
    /// The relation the join computes (one row per joined row).
    pub def: Arc<TableDef>,
    /// The FROM entries names resolve against, as [`JoinScope::tables`] holds them, with
    /// offsets into `def`'s row: the tables inside (no alias), or the join itself (an alias).
    /// An entry named "\0<table>" holds one of the join's merged USING/NATURAL columns (no
    /// name reaches it qualified; error messages name it `<table>`, as PostgreSQL does).
    pub tables: Vec<(Arc<TableDef>, String, usize)>,
    /// Columns of `def` an unqualified name does not find (behind a merged column).
    pub hidden: Vec<usize>,
    /// Tables inside an aliased join (at any depth): in the statement, but not referable.
    pub unreachable: Vec<(String, Arc<TableDef>)>,
    /// The columns its `*` lists, which USING and NATURAL of the enclosing join match: (name,
    /// position in `def`'s row).
    pub visible: Vec<(String, usize)>,
}

/// The parenthesized join inside `f`, with its alias: `((a JOIN b ON ...))` is the same join;
/// None when `f` is not one. Parentheses around a single table are PostgreSQL's syntax error.
pub(super) fn nested(f: &ast::TableFactor) -> Result<Option<(&ast::TableWithJoins, Option<&ast::TableAlias>)>> {
    let ast::TableFactor::NestedJoin { table_with_joins, alias } = f else { return Ok(None) };
    let mut twj = table_with_joins.as_ref();
    // `((j))` parses as a join of one item that is `(j)`.
    while twj.joins.is_empty() {
        match &twj.relation {
            ast::TableFactor::NestedJoin { table_with_joins, alias: None } => twj = table_with_joins,
            _ => return Err(SqlError::syntax(")")),
        }
    }
    Ok(Some((twj, alias.as_ref())))
}

/// The columns `*` lists over a join's scope: its merged USING columns first (as PostgreSQL
/// lists them), then each table's columns that no merged column stands for.
pub(super) fn star(js: &JoinScope) -> Vec<(String, Expr)> {
    let mut out: Vec<(String, Expr)> = js.merged.to_vec();
    for (def, _, off) in &js.tables {
        for i in crate::catalog_star::star_columns(def) {
            let c = &def.columns[i];
            if !js.hidden.contains(&(off + i)) {
                out.push((c.name.clone(), Expr::Column(off + i, c.ty)));
            }
        }
    }
    out
}

/// A relation's column as the nested join's relation carries it (no constraints: the join's
/// outer sides make any column NULL).
fn plain_column(name: &str, ty: SqlType) -> ColumnDef {
    ColumnDef::new(name.to_string(), if ty == SqlType::Unknown { SqlType::Text } else { ty })
}

impl Binder<'_> {
    /// Binds the parenthesized join `twj` (named `alias`, if given); `left` is the FROM items
    /// to its left, whose names its ON conditions may not use (PostgreSQL's 42P01 with hint)
    /// but its LATERAL items may: then it comes back with its [`LateralItem`].
    pub(super) fn nested_join(
        &mut self,
        twj: &ast::TableWithJoins,
        alias: Option<&ast::TableAlias>,
        left: Option<(&TableDef, &JoinScope)>,
    ) -> Result<(NestedJoin, Option<LateralItem>)> {
        // The join is a level of its own: its subqueries and computed FROM items are its
        // relation's, run when it is.
        let saved_links = std::mem::take(self.sub.links_vec());
        let saved_inputs = self.take_inputs();
        let target = std::mem::take(&mut self.modify_target);
        if let Some((combined, js)) = left {
            self.push_nested_join_frame(combined, js);
        }
        let bound = self.bind_join(std::slice::from_ref(twj));
        let captures = if left.is_some() { self.pop_from_frame() } else { Vec::new() };
        self.modify_target = target;
        let links = std::mem::replace(self.sub.links_vec(), saved_links);
        let inputs = self.restore_inputs(saved_inputs);
        let (plan, combined, js) = bound?;
        if let Some((_, left_js)) = left {
            self.refuse_target_read(left_js, &captures)?;
        }
        let listed = star(&js);
        let mut projection = Vec::new();
        let mut columns = Vec::new();
        let (tables, hidden, unreachable, visible, label);
        match alias {
            None => {
                // The row: the merged columns, then every column of the join's row (row id
                // slots included), so the tables inside keep their layout at an offset.
                let m = js.merged.len();
                for (n, e) in &js.merged {
                    projection.push(e.clone());
                    columns.push(plain_column(n, e.ty()));
                }
                for (i, c) in combined.columns.iter().enumerate() {
                    projection.push(Expr::Column(i, c.ty));
                    columns.push(plain_column(&c.name, c.ty));
                }
                // Each merged column is an entry of its own, named (for error messages only)
                // after the table of the first column it reads, as PostgreSQL names it.
                let mut t = Vec::new();
                for (k, (_, e)) in js.merged.iter().enumerate() {
                    let mut first = None;
                    e.visit_columns(&mut |i| first = first.or(Some(i)));
                    let source = first
                        .and_then(|i| js.tables.iter().rev().find(|(_, _, off)| *off <= i))
                        .map_or("", |(_, a, _)| display_alias(a));
                    let mut merged_def = TableDef::default_empty();
                    merged_def.columns = vec![columns[k].clone()];
                    t.push((Arc::new(merged_def), format!("\0{source}"), k));
                }
                t.extend(js.tables.iter().map(|(d, a, off)| (d.clone(), a.clone(), off + m)));
                tables = t;
                hidden = js.hidden.iter().map(|h| h + m).collect();
                unreachable = js.unreachable.clone();
                // `star` lists the merged columns first, then columns of the join's row.
                visible = listed
                    .iter()
                    .enumerate()
                    .map(|(k, (n, e))| {
                        let pos = match e {
                            Expr::Column(i, _) if k >= m => m + i,
                            _ => k,
                        };
                        (n.clone(), pos)
                    })
                    .collect();
                label = "unnamed_join".to_string();
            }
            Some(a) => {
                let names = super::subquery::alias_columns(Some(a), listed.len(), "join expression")?;
                for (i, (n, e)) in listed.iter().enumerate() {
                    let name = names.get(i).unwrap_or(n);
                    projection.push(e.clone());
                    columns.push(plain_column(name, e.ty()));
                }
                visible = columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
                label = super::fold(&a.name);
                tables = Vec::new();
                hidden = Vec::new();
                let mut u: Vec<(String, Arc<TableDef>)> = js
                    .tables
                    .iter()
                    .filter(|(_, a, _)| !a.starts_with('\0'))
                    .map(|(d, a, _)| (a.clone(), d.clone()))
                    .collect();
                u.extend(js.unreachable.iter().cloned());
                unreachable = u;
            }
        }
        let id = self.lateral_id();
        let def = Arc::new(relation::derived_def(id, columns));
        let tables = if alias.is_some() { vec![(def.clone(), label.clone(), 0)] } else { tables };
        let mut sp = super::SelectPlan::reading(def.clone(), projection);
        sp.table = None;
        sp.join = Some(Box::new(plan));
        let plan = self.finish_level(super::Plan::Select(Box::new(sp)), Vec::new(), links, inputs)?;
        let derived = Derived { def: def.clone(), label, source: Source::Query(Box::new(plan)) };
        // A LATERAL item inside that reads the items left of the parentheses makes the whole
        // parenthesized join LATERAL: computed per row of those items.
        let lateral = if captures.is_empty() {
            self.sub.nested_relations.push(def.name.clone());
            self.add_input(derived);
            None
        } else {
            Some(LateralItem::new(derived, captures))
        };
        Ok((NestedJoin { def, tables, hidden, unreachable, visible }, lateral))
    }
}

/// A FROM entry's name as messages print it (a merged column's entry without its "\0").
pub(super) fn display_alias(alias: &str) -> &str {
    alias.strip_prefix('\0').unwrap_or(alias)
}

/// PostgreSQL's error for a qualified name whose table is inside an aliased join.
pub(super) fn unreachable_table(js: &JoinScope, qualifier: &str) -> Option<SqlError> {
    js.unreachable.iter().any(|(a, _)| a == qualifier).then(|| {
        SqlError::new(
            code::UNDEFINED_TABLE,
            format!("invalid reference to FROM-clause entry for table \"{qualifier}\""),
        )
        .hint(format!(
            "There is an entry for table \"{qualifier}\", but it cannot be referenced from this part of the query."
        ))
    })
}

/// PostgreSQL's error for an unqualified name only a table inside an aliased join has.
pub(super) fn unreachable_column(js: &JoinScope, name: &str) -> Option<SqlError> {
    let (a, _) = js.unreachable.iter().find(|(_, d)| d.column(name).is_some())?;
    Some(SqlError::new(code::UNDEFINED_COLUMN, format!("column \"{name}\" does not exist")).hint(format!(
        "There is a column named \"{name}\" in table \"{a}\", but it cannot be referenced from this part of the query."
    )))
}

/// Whether a FROM item and its joins join only by INNER and CROSS joins, also inside its
/// parenthesized joins (then [`flattenable`] ones are joined table by table).
pub(super) fn all_inner(twj: &ast::TableWithJoins) -> bool {
    use ast::JoinOperator as J;
    let inner_rel = |f: &ast::TableFactor| match nested(f) {
        Ok(Some((inner, _))) => all_inner(inner),
        _ => true,
    };
    inner_rel(&twj.relation)
        && twj
            .joins
            .iter()
            .all(|j| matches!(j.join_operator, J::Join(_) | J::Inner(_) | J::CrossJoin(_)) && inner_rel(&j.relation))
}

/// Whether a parenthesized join (no alias) can be joined table by table into an inner join
/// around it: inner and cross joins with ON (no USING or NATURAL, whose merged columns belong
/// to the parenthesized join), of tables, non-LATERAL subqueries and such joins. Its ON
/// conditions then become conditions of the join around it, which the planner places.
pub(super) fn flattenable(twj: &ast::TableWithJoins) -> bool {
    use ast::JoinConstraint as C;
    use ast::JoinOperator as J;
    let plain = |f: &ast::TableFactor| match f {
        ast::TableFactor::Table { args: None, .. } => true,
        ast::TableFactor::Derived { lateral: false, .. } => true,
        ast::TableFactor::NestedJoin { alias: None, .. } => {
            matches!(nested(f), Ok(Some((inner, None))) if flattenable(inner))
        }
        _ => false,
    };
    plain(&twj.relation)
        && twj.joins.iter().all(|j| {
            matches!(&j.join_operator, J::Join(C::On(_)) | J::Inner(C::On(_)) | J::CrossJoin(C::None))
                && plain(&j.relation)
        })
}

/// Leaves out of the relations of parenthesized joins (`nested`, by name) the columns the
/// level's plan never reads (their values become NULL constants, so the relation's rows carry
/// no copies of them): a SELECT over a join reads its inputs' columns in its select list,
/// WHERE, ON conditions, grouping, ordering, windows and the outer references of its
/// subqueries (`links`). A relation absorbed into a LATERAL join is not among the join's inputs
/// and is left whole.
pub(super) fn prune(plan: &super::Plan, links: &[crate::relation::SubLink], inputs: &mut [Derived], nested: &[String]) {
    let super::Plan::Select(sp) = plan else { return };
    let Some(j) = &sp.join else { return };
    if nested.is_empty() || !j.inputs.iter().any(|d| nested.contains(&d.name)) {
        return;
    }
    let width: usize = j.inputs.iter().map(|d| d.row_len()).sum();
    let mut needed = vec![false; width];
    let mut mark = |e: &Expr| {
        e.visit_columns(&mut |c| {
            if let Some(n) = needed.get_mut(c) {
                *n = true;
            }
        })
    };
    let mut all = sp.as_ref().clone();
    let _ = crate::relation::map_select(&mut all, &mut |e: &mut Expr| {
        mark(e);
        Ok(true)
    });
    for w in &mut all.windows {
        let _ = w.map_exprs::<()>(&mut |e: &Expr| {
            mark(e);
            Ok(e.clone())
        });
    }
    for l in links {
        for (_, e) in &l.captures {
            mark(e);
        }
    }
    let mut off = 0;
    for d in &j.inputs {
        if nested.contains(&d.name) {
            if let Some(input) = inputs.iter_mut().find(|i| i.def.name == d.name) {
                if let Source::Query(p) = &mut input.source {
                    let body = match p.as_mut() {
                        super::Plan::Query(q) => &mut q.body,
                        other => other,
                    };
                    if let super::Plan::Select(isp) = body {
                        for (k, e) in isp.projection.iter_mut().enumerate() {
                            if !needed.get(off + k).copied().unwrap_or(true) {
                                *e = Expr::Const(orbit_engine::table::Datum::Null, e.ty());
                            }
                        }
                    }
                }
            }
        }
        off += d.row_len();
    }
}
