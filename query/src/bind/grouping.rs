//! Binding the parts of a SELECT that name output columns: ORDER BY, GROUP BY and
//! DISTINCT ON items, each an output column position, a name or an expression, resolved as
//! PostgreSQL's findTargetlistEntrySQL92 does (GROUP BY prefers an input column to an output
//! column of the same name, ORDER BY and DISTINCT ON the reverse).

use super::{Binder, Distinct, Scope, SortKey, SortSource};
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use crate::group;
use crate::OutputColumn;
use sqlparser::ast;

/// A constant item: Some(Ok(n)) for an integer (`ORDER BY 2`, `ORDER BY -1`), Some(Err(()))
/// for any other constant (a string, a fraction, a boolean, NULL), None for an expression.
fn constant(e: &ast::Expr) -> Option<(std::result::Result<i32, ()>, &sqlparser::tokenizer::Span)> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Placeholder(_) => None,
            ast::Value::Number(n, _) => Some((n.parse::<i32>().map_err(|_| ()), &v.span)),
            _ => Some((Err(()), &v.span)),
        },
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => match expr.as_ref() {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => Some((format!("-{n}").parse::<i32>().map_err(|_| ()), &v.span)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

impl Binder<'_> {
    /// The output column `e` names: by position, or (`by_name`) by a name no other different
    /// select-list item has. Ok(None) when it names none.
    fn output_item(
        &self,
        e: &ast::Expr,
        projection: &[Expr],
        columns: &[OutputColumn],
        clause: &str,
        by_name: bool,
    ) -> Result<Option<usize>> {
        if let Some((c, span)) = constant(e) {
            let Ok(n) = c else {
                return Err(
                    SqlError::new(code::SYNTAX_ERROR, format!("non-integer constant in {clause}")).at(self.pos(span))
                );
            };
            let k = usize::try_from(n).unwrap_or(0);
            if k == 0 || k > projection.len() {
                return Err(SqlError::new(
                    code::INVALID_COLUMN_REFERENCE,
                    format!("{clause} position {n} is not in select list"),
                )
                .at(self.pos(span)));
            }
            return Ok(Some(k - 1));
        }
        let ast::Expr::Identifier(id) = e else { return Ok(None) };
        let name = super::fold(id);
        let hits: Vec<usize> = columns.iter().enumerate().filter(|(_, c)| c.name == name).map(|(i, _)| i).collect();
        if !by_name || hits.is_empty() {
            return Ok(None);
        }
        // Two output columns of the same name are ambiguous only when they are different
        // expressions (`SELECT *, id ... ORDER BY id` is not).
        let first = format!("{:?}", projection[hits[0]]);
        if hits[1..].iter().any(|&h| format!("{:?}", projection[h]) != first) {
            return Err(SqlError::new("42702", format!("{clause} \"{name}\" is ambiguous")).at(self.pos(&id.span)));
        }
        Ok(Some(hits[0]))
    }

    /// An ORDER BY or DISTINCT ON item: an output column or an expression over the input
    /// (aggregates allowed).
    pub(super) fn sort_source(
        &mut self,
        e: &ast::Expr,
        projection: &[Expr],
        columns: &[OutputColumn],
        scope: Option<&Scope>,
        clause: &str,
    ) -> Result<SortSource> {
        if let Some(i) = self.output_item(e, projection, columns, clause, true)? {
            return Ok(SortSource::Output(i));
        }
        let saved = self.allow_aggs;
        self.allow_aggs = true;
        let b = self.expr(e, scope);
        self.allow_aggs = saved;
        Ok(SortSource::Input(b?))
    }

    /// The GROUP BY expressions, over the input row.
    pub(super) fn group_by(
        &mut self,
        items: &[ast::Expr],
        projection: &[Expr],
        columns: &[OutputColumn],
        scope: Option<&Scope>,
    ) -> Result<Vec<Expr>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if matches!(item, ast::Expr::Rollup(_) | ast::Expr::Cube(_) | ast::Expr::GroupingSets(_)) {
                return Err(SqlError::unsupported("ROLLUP, CUBE and GROUPING SETS are not supported"));
            }
            // A name is an input column first, an output column only if no input column has it.
            let input_column = match item {
                ast::Expr::Identifier(id) => scope.is_some_and(|s| s.def.column(&super::fold(id)).is_some()),
                _ => false,
            };
            let output =
                if input_column { None } else { self.output_item(item, projection, columns, "GROUP BY", true)? };
            let e = match output {
                Some(i) => {
                    if group::has_agg(&projection[i]) {
                        return Err(SqlError::new(
                            code::GROUPING_ERROR,
                            "aggregate functions are not allowed in GROUP BY",
                        ));
                    }
                    projection[i].clone()
                }
                None => {
                    let (saved, banned) = (self.allow_aggs, self.aggs_banned_in);
                    self.allow_aggs = false;
                    self.aggs_banned_in = "GROUP BY";
                    let b = self.expr(item, scope);
                    self.allow_aggs = saved;
                    self.aggs_banned_in = banned;
                    b?
                }
            };
            out.push(e);
        }
        // Grouping by the whole primary key groups by every column of the table (PostgreSQL
        // knows the other columns depend on it): they may appear ungrouped in the select list.
        // In a join, each table whose whole key is grouped. A table keyed by a hidden row id
        // has no key a query can group by.
        if let Some(s) = scope {
            let grouped = |out: &[Expr], i: usize| out.iter().any(|g| matches!(g, Expr::Column(j, _) if *j == i));
            let tables: Vec<(&orbit_engine::table::TableDef, usize)> = match &s.joined {
                Some(js) => js.tables.iter().map(|(d, _, off)| (d.as_ref(), *off)).collect(),
                None => vec![(s.def, 0)],
            };
            for (def, off) in tables {
                if !out.is_empty() && !def.pk.is_empty() && def.pk.iter().all(|&i| grouped(&out, off + i)) {
                    for (i, c) in def.columns.iter().enumerate() {
                        if !grouped(&out, off + i) {
                            out.push(Expr::Column(off + i, c.ty));
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// `DISTINCT ON (...)`: its items must be the leading ORDER BY items (in any order);
    /// those ORDER BY lacks are added after them, and the result counts the leading sort keys
    /// that decide which rows are duplicates.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn distinct_on(
        &mut self,
        list: &[ast::Expr],
        order_by: &mut Vec<SortKey>,
        projection: &[Expr],
        columns: &[OutputColumn],
        scope: Option<&Scope>,
        grouped: bool,
        group_by: &[Expr],
    ) -> Result<Distinct> {
        let mut items: Vec<SortSource> = Vec::new();
        for e in list {
            let mut s = self.sort_source(e, projection, columns, scope, "DISTINCT ON")?;
            if let SortSource::Input(x) = &s {
                let x = if grouped {
                    group::regroup(x, group_by).map_err(|i| match scope {
                        Some(sc) => group::ungrouped(&sc.alias, &sc.def.columns[i].name),
                        None => SqlError::internal("column without a table"),
                    })?
                } else {
                    x.clone()
                };
                let text = format!("{x:?}");
                s = match projection.iter().position(|p| format!("{p:?}") == text) {
                    Some(i) => SortSource::Output(i),
                    None => SortSource::Input(x),
                };
            }
            if !items.iter().any(|i| format!("{i:?}") == format!("{s:?}")) {
                items.push(s);
            }
        }
        let mismatch = || {
            SqlError::new(
                code::INVALID_COLUMN_REFERENCE,
                "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
            )
        };
        let is_item = |k: &SortKey| items.iter().any(|i| format!("{i:?}") == format!("{:?}", k.source));
        let mut matched = 0;
        let mut skipped = false;
        for k in order_by.iter() {
            if is_item(k) {
                if skipped {
                    return Err(mismatch());
                }
                matched += 1;
            } else {
                skipped = true;
            }
        }
        let missing: Vec<SortSource> = items
            .into_iter()
            .filter(|i| !order_by.iter().any(|k| format!("{:?}", k.source) == format!("{i:?}")))
            .collect();
        if !missing.is_empty() && skipped {
            return Err(mismatch());
        }
        let n = matched + missing.len();
        order_by.extend(missing.into_iter().map(|source| SortKey { source, desc: false, nulls_first: false }));
        Ok(Distinct::On(n))
    }
}
