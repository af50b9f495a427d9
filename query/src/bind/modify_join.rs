//! `UPDATE ... FROM` and `DELETE ... USING`: the target table joined with other tables
//! (<https://www.postgresql.org/docs/15/sql-update.html>). The target comes first in the
//! joined row, so WHERE, SET and RETURNING read the joined row and the target's own values are
//! its first columns.

use super::{column_name, fold, Binder, Plan, Scope};
use crate::error::{Result, SqlError};
use crate::expr::Expr;
use crate::types::CastContext;
use crate::OutputColumn;
use orbit_engine::table::SqlType;
use sqlparser::ast;

impl Binder<'_> {
    /// UPDATE target SET ... FROM `from` WHERE ... RETURNING ... (with the check options of the
    /// views it went through).
    pub(super) fn update_from(
        &mut self,
        up: &ast::Update,
        from: &[ast::TableWithJoins],
        view_checks: &[super::updatable_views::ViewCheckClause],
    ) -> Result<(Plan, Vec<OutputColumn>)> {
        let (join, combined, js) = self.target_join(&up.table, from)?;
        let target = js.tables[0].0.clone();
        let scope = Scope { def: &combined, alias: String::new(), joined: Some(js) };
        let sets = self.assignments(&target, &up.assignments, &scope)?;
        let filter = match &up.selection {
            Some(w) => Some(self.condition(w, Some(&scope), "WHERE")?),
            None => None,
        };
        let (returning, columns) = self.joined_returning(up.returning.as_deref(), &scope)?;
        let checks = self.view_checks(view_checks, &scope)?;
        let plan = Plan::Update {
            table: target,
            filter,
            key: None,
            sets,
            returning,
            join: Some(Box::new(join)),
            current_of: None,
            checks,
        };
        Ok((plan, columns))
    }

    /// DELETE FROM target USING `using` WHERE ... RETURNING ...
    pub(super) fn delete_using(
        &mut self,
        target: &ast::TableWithJoins,
        using: &[ast::TableWithJoins],
        selection: Option<&ast::Expr>,
        returning: Option<&[ast::SelectItem]>,
    ) -> Result<(Plan, Vec<OutputColumn>)> {
        let (join, combined, js) = self.target_join(target, using)?;
        let table = js.tables[0].0.clone();
        let scope = Scope { def: &combined, alias: String::new(), joined: Some(js) };
        let filter = match selection {
            Some(w) => Some(self.condition(w, Some(&scope), "WHERE")?),
            None => None,
        };
        let (returning, columns) = self.joined_returning(returning, &scope)?;
        Ok((
            Plan::Delete { table, filter, key: None, returning, join: Some(Box::new(join)), current_of: None },
            columns,
        ))
    }

    /// The target (a plain table, first) joined with the other tables.
    fn target_join(
        &mut self,
        target: &ast::TableWithJoins,
        others: &[ast::TableWithJoins],
    ) -> Result<(crate::join::JoinPlan, orbit_engine::table::TableDef, super::JoinScope)> {
        if !target.joins.is_empty() {
            return Err(SqlError::syntax("JOIN"));
        }
        let mut list = Vec::with_capacity(others.len() + 1);
        list.push(target.clone());
        list.extend(others.iter().cloned());
        // A LATERAL item joins the items before it, the target first, into one computed
        // relation whose row starts with the target's, as the plain join's does; the item may
        // not read the target (PostgreSQL's 42P10, from bind_from_item).
        let saved = std::mem::replace(&mut self.modify_target, true);
        let bound = self.bind_join(&list);
        self.modify_target = saved;
        bound
    }

    /// RETURNING over the joined row: `*` is every table's columns, as in PostgreSQL.
    fn joined_returning(
        &mut self,
        items: Option<&[ast::SelectItem]>,
        scope: &Scope,
    ) -> Result<(Option<Vec<Expr>>, Vec<OutputColumn>)> {
        let Some(items) = items else { return Ok((None, vec![])) };
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        for item in items {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    let b = self.expr(e, Some(scope))?;
                    cols.push(self.output(&b, column_name(e), Some(scope)));
                    exprs.push(b);
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    let b = self.expr(expr, Some(scope))?;
                    cols.push(self.output(&b, fold(alias), Some(scope)));
                    exprs.push(b);
                }
                ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                    let Some(js) = &scope.joined else { return Err(SqlError::internal("RETURNING without a join")) };
                    for (name, e) in self.join_wildcard(js, item)? {
                        cols.push(self.output(&e, name, Some(scope)));
                        exprs.push(e);
                    }
                }
                _ => return Err(SqlError::unsupported("this RETURNING item is not supported yet")),
            }
        }
        for (e, c) in exprs.iter_mut().zip(cols.iter_mut()) {
            if e.ty() == SqlType::Unknown {
                *e = self.coerce(e.clone(), SqlType::Text, CastContext::Implicit, |_| SqlError::internal("unknown"))?;
                c.ty = SqlType::Text;
            }
        }
        Ok((Some(exprs), cols))
    }
}
