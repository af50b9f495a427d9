//! INSERT, UPDATE and DELETE through a view: PostgreSQL's automatically updatable views
//! (rewriteHandler.c's rewriteTargetView). A view whose query is a plain SELECT from one table
//! or view — no DISTINCT, GROUP BY, HAVING, set operation, WITH, LIMIT/OFFSET, aggregate, window
//! or set-returning function — takes the statement into its base relation: the statement is
//! written again, before binding, against the base relation (named by the statement's alias,
//! or the view's name), its references to view columns replaced by the view's expressions for
//! them, the view's WHERE AND-ed to an UPDATE's or DELETE's, the assigned or inserted view
//! columns mapped to the base columns they are (a view column that is an expression is not
//! updatable: 0A000 naming it), RETURNING computed as the view's columns. A view over a view is
//! written again in turn. Anything else is PostgreSQL's 55000 `cannot update view "v"` with its
//! DETAIL and HINT. INSERT ... ON CONFLICT maps its target columns, DO UPDATE's assignments
//! and `EXCLUDED.col` the same way.
//!
//! WITH CHECK OPTION (rewriteTargetView's WithCheckOptions): going through a view with a check
//! option, or under one whose check is CASCADED, adds the view's WHERE to the statement's
//! checks ([`ViewCheckClause`], the innermost view's first), which each level below writes
//! again over its own base relation as it does the statement; the base table's INSERT or
//! UPDATE then checks every row it writes against them (44000, [`super::ViewCheckExpr`]).
//! A view with INSTEAD OF triggers of the statement's event is not written through: the
//! statement is bound against the view itself and its triggers do the write
//! ([`crate::triggers`]). Not built: rules, column defaults of the view itself.

use super::{fold, lookup_table, Binder};
use crate::error::{code, Result, SqlError};
use orbit_engine::table::ViewCheck;
use sqlparser::ast;
use sqlparser::ast::{Visit, VisitMut};
use std::ops::ControlFlow;

/// Which statement goes through the view.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Verb {
    Insert,
    Update,
    Delete,
}

impl Verb {
    fn phrase(self) -> &'static str {
        match self {
            Verb::Insert => "insert into",
            Verb::Update => "update",
            Verb::Delete => "delete from",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            Verb::Insert => {
                "To enable inserting into the view, provide an INSTEAD OF INSERT trigger or an unconditional ON INSERT DO INSTEAD rule."
            }
            Verb::Update => {
                "To enable updating the view, provide an INSTEAD OF UPDATE trigger or an unconditional ON UPDATE DO INSTEAD rule."
            }
            Verb::Delete => {
                "To enable deleting from the view, provide an INSTEAD OF DELETE trigger or an unconditional ON DELETE DO INSTEAD rule."
            }
        }
    }
}

/// A view's WITH CHECK OPTION on a statement through it (PostgreSQL's WithCheckOption), as
/// the statement is written again level by level: the view's name, its WHERE over the
/// relation the statement names at this level (None: it has none; a CASCADED check still
/// passes on to the views below), and whether it is CASCADED.
#[derive(Clone, Debug)]
pub(super) struct ViewCheckClause {
    pub(super) view: String,
    pub(super) cond: Option<ast::Expr>,
    pub(super) cascaded: bool,
    /// The check is a partition's constraint (23514, not 44000).
    pub(super) partition: bool,
}

/// One column of the view: its name, its expression over the base relation (qualified by the
/// statement's alias), and the base column it is (None: an expression, not updatable).
struct ViewColumn {
    name: String,
    expr: ast::Expr,
    base: Option<String>,
}

/// A view a statement writes through, read for that statement (`sql`: the statement's text,
/// for error positions).
struct Target<'s> {
    sql: &'s str,
    view: String,
    base: ast::ObjectName,
    alias: ast::Ident,
    columns: Vec<ViewColumn>,
    filter: Option<ast::Expr>,
    /// The view's WITH CHECK OPTION.
    check: Option<ViewCheck>,
    /// The view is a partition (its check is the partition constraint's).
    partition: bool,
    /// The names the statement calls the view by (its alias, or its name).
    qualifiers: Vec<String>,
    /// The base relation's columns (a name the view does not show is no column here).
    base_columns: Vec<String>,
    /// The statement names no other relation (no UPDATE ... FROM, DELETE ... USING): an
    /// unqualified name that is a base column the view does not show is then no column.
    alone: bool,
}

impl Binder<'_> {
    /// `INSERT INTO v ...` written against v's base relation, with the check options of the
    /// views gone through so far (`pending`, over v) written against it too and v's added;
    /// None if `v` is no view.
    pub(super) fn insert_through_view(
        &self,
        ins: &ast::Insert,
        pending: &[ViewCheckClause],
    ) -> Result<Option<(ast::Insert, Vec<ViewCheckClause>)>> {
        let ast::TableObject::TableName(name) = &ins.table else { return Ok(None) };
        let alias = ins.table_alias.as_ref().map(|a| a.alias.clone());
        let Some(t) = self.view_target(name, alias.as_ref(), Verb::Insert)? else { return Ok(None) };
        let mut out = ins.clone();
        if let Some(ast::OnInsert::OnConflict(oc)) = &mut out.on {
            t.on_conflict(oc)?;
        }
        // The view's columns the statement fills: those named, or the first ones in order (as
        // many as the rows give).
        let named: Vec<String> = if ins.columns.is_empty() {
            let width = ins.source.as_deref().and_then(source_width).unwrap_or(t.columns.len());
            t.columns.iter().take(width).map(|c| c.name.clone()).collect()
        } else {
            ins.columns.iter().map(|c| c.0.first().and_then(|p| p.as_ident()).map(fold).unwrap_or_default()).collect()
        };
        let mut columns = Vec::with_capacity(named.len());
        for n in &named {
            // A subscripted target (`a[1]`, marked by `array_assign::insert_columns_syntax`)
            // keeps its subscript on the base column.
            let mark = super::array_assign::TARGET_MARK;
            let (n, subscript) = match n.strip_prefix(mark).and_then(|r| r.split_once(mark)) {
                Some((column, subscript)) => (column, Some(subscript)),
                None => (n.as_str(), None),
            };
            let Some(c) = t.columns.iter().find(|c| c.name == n) else {
                return Err(SqlError::new(
                    code::UNDEFINED_COLUMN,
                    format!("column \"{n}\" of relation \"{}\" does not exist", t.view),
                ));
            };
            let Some(b) = &c.base else { return Err(not_updatable_column(Verb::Insert, n, &t.view)) };
            let b = match subscript {
                Some(s) => format!("{mark}{b}{mark}{s}"),
                None => b.clone(),
            };
            columns.push(ast::ObjectName::from(vec![ast::Ident::with_quote('"', b)]));
        }
        out.columns = columns;
        out.table = ast::TableObject::TableName(t.base.clone());
        out.table_alias = Some(ast::TableAliasWithoutColumns { explicit: true, alias: t.alias.clone() });
        out.returning = ins.returning.as_deref().map(|items| t.returning(items)).transpose()?;
        Ok(Some((out, t.checks(pending)?)))
    }

    /// `UPDATE v ...` written against v's base relation, with the check options as
    /// [`Self::insert_through_view`]'s; None if `v` is no view.
    pub(super) fn update_through_view(
        &self,
        up: &ast::Update,
        pending: &[ViewCheckClause],
    ) -> Result<Option<(ast::Update, Vec<ViewCheckClause>)>> {
        let ast::TableFactor::Table { name, alias, .. } = &up.table.relation else { return Ok(None) };
        let Some(mut t) = self.view_target(name, alias.as_ref().map(|a| &a.name), Verb::Update)? else {
            return Ok(None);
        };
        t.alone = up.from.is_none();
        if super::cursors::current_of(up.selection.as_ref()).is_some() {
            return Err(SqlError::unsupported("UPDATE of a view ... WHERE CURRENT OF is not supported yet"));
        }
        let mut out = up.clone();
        out.table.relation = t.relation(&up.table.relation);
        for a in &mut out.assignments {
            t.assignment_targets(&mut a.target, Verb::Update)?;
            t.substitute(&mut a.value)?;
        }
        out.selection = t.condition(up.selection.as_ref())?;
        out.returning = up.returning.as_deref().map(|items| t.returning(items)).transpose()?;
        Ok(Some((out, t.checks(pending)?)))
    }

    /// `DELETE FROM v ...` written against v's base relation; None if `v` is no view.
    pub(super) fn delete_through_view(&self, del: &ast::Delete) -> Result<Option<ast::Delete>> {
        let (ast::FromTable::WithFromKeyword(tables) | ast::FromTable::WithoutKeyword(tables)) = &del.from;
        let [twj] = tables.as_slice() else { return Ok(None) };
        let ast::TableFactor::Table { name, alias, .. } = &twj.relation else { return Ok(None) };
        let Some(mut t) = self.view_target(name, alias.as_ref().map(|a| &a.name), Verb::Delete)? else {
            return Ok(None);
        };
        t.alone = del.using.is_none();
        if super::cursors::current_of(del.selection.as_ref()).is_some() {
            return Err(SqlError::unsupported("DELETE from a view ... WHERE CURRENT OF is not supported yet"));
        }
        let mut out = del.clone();
        let mut twj = twj.clone();
        twj.relation = t.relation(&twj.relation);
        out.from = match &del.from {
            ast::FromTable::WithFromKeyword(_) => ast::FromTable::WithFromKeyword(vec![twj]),
            ast::FromTable::WithoutKeyword(_) => ast::FromTable::WithoutKeyword(vec![twj]),
        };
        out.selection = t.condition(del.selection.as_ref())?;
        out.returning = del.returning.as_deref().map(|items| t.returning(items)).transpose()?;
        Ok(Some(out))
    }

    /// The view `name` read for `verb` (None: no view), or PostgreSQL's error when it is not
    /// automatically updatable.
    fn view_target(
        &self,
        name: &ast::ObjectName,
        alias: Option<&ast::Ident>,
        verb: Verb,
    ) -> Result<Option<Target<'_>>> {
        let Ok(tname) = self.relation_name(name) else { return Ok(None) };
        let Some(def) = lookup_table(&tname) else { return Ok(None) };
        if def.view.is_none() {
            return Ok(None);
        }
        let alias = alias.cloned().unwrap_or_else(|| ast::Ident::with_quote('"', crate::schema::relname(&tname)));
        let view = crate::schema::relname(&tname).to_string();
        let refuse = |detail: &str| {
            SqlError::new("55000", format!("cannot {} view \"{view}\"", verb.phrase())).detail(detail).hint(verb.hint())
        };
        let mut t = read_view(self.sql, &def, alias, &refuse)?;
        if alias_is_default(name, &t.alias) {
            if let Some(last) = name.0.iter().filter_map(|p| p.as_ident()).next_back() {
                if !t.qualifiers.contains(&fold(last)) {
                    t.qualifiers.push(fold(last));
                }
            }
        }
        Ok(Some(t))
    }
}

/// Which of a view's columns INSERT and UPDATE may write through it (information_schema's
/// is_updatable and is_insertable_into); None when it is no view or not automatically
/// updatable.
pub(crate) fn view_updatable_columns(def: &orbit_engine::table::TableDef) -> Option<Vec<bool>> {
    def.view.as_ref()?;
    let alias = ast::Ident::with_quote('"', crate::schema::relname(&def.name));
    let t = read_view("", def, alias, &|d| SqlError::new("55000", d)).ok()?;
    Some(t.columns.iter().map(|c| c.base.is_some()).collect())
}

/// PostgreSQL's refusal of a check option on view `def` (being created) that is not
/// automatically updatable or has no updatable column (DefineView's 0A000, rewriteHandler.c's
/// reason as the HINT); None if it takes one.
pub(super) fn check_option_refused(sql: &str, def: &orbit_engine::table::TableDef) -> Option<SqlError> {
    let refuse = |detail: &str| {
        SqlError::new(
            code::FEATURE_NOT_SUPPORTED,
            "WITH CHECK OPTION is supported only on automatically updatable views",
        )
        .hint(detail)
    };
    let alias = ast::Ident::with_quote('"', crate::schema::relname(&def.name));
    match read_view(sql, def, alias, &refuse) {
        Err(e) => Some(e),
        Ok(t) if !t.columns.iter().any(|c| c.base.is_some()) => {
            Some(refuse("Views that have no updatable columns are not automatically updatable."))
        }
        Ok(_) => None,
    }
}

/// A view's definition read for a statement through it (`alias`: what the statement calls it),
/// or, when it is not automatically updatable, `refuse` of rewriteHandler.c's reason.
fn read_view<'s>(
    sql: &'s str,
    def: &orbit_engine::table::TableDef,
    alias: ast::Ident,
    refuse: &dyn Fn(&str) -> SqlError,
) -> Result<Target<'s>> {
    let computed = crate::partitions::query_text(def);
    let text = computed.as_deref().or(def.view.as_deref()).unwrap_or_default();
    let tname = def.name.as_str();
    let view = crate::schema::relname(tname).to_string();
    let notices = super::long_names::take_notices();
    let parsed = super::parse(text);
    super::long_names::restore_notices(notices);
    let q = match parsed?.pop() {
        Some(ast::Statement::Query(q)) => q,
        _ => return Err(SqlError::internal(format!("the definition of view \"{tname}\" is not a query"))),
    };
    // view_query_is_auto_updatable's checks, in its order.
    let sel = match q.body.as_ref() {
        ast::SetExpr::Select(s) => Some(s),
        _ => None,
    };
    if sel.is_some_and(|s| s.distinct.is_some()) {
        return Err(refuse("Views containing DISTINCT are not automatically updatable."));
    }
    if sel.is_some_and(|s| match &s.group_by {
        ast::GroupByExpr::All(_) => true,
        ast::GroupByExpr::Expressions(e, m) => !e.is_empty() || !m.is_empty(),
    }) {
        return Err(refuse("Views containing GROUP BY are not automatically updatable."));
    }
    if sel.is_some_and(|s| s.having.is_some()) {
        return Err(refuse("Views containing HAVING are not automatically updatable."));
    }
    let Some(sel) = sel else {
        return Err(refuse("Views containing UNION, INTERSECT, or EXCEPT are not automatically updatable."));
    };
    if q.with.is_some() {
        return Err(refuse("Views containing WITH are not automatically updatable."));
    }
    if q.limit_clause.is_some() || q.fetch.is_some() {
        return Err(refuse("Views containing LIMIT or OFFSET are not automatically updatable."));
    }
    let mut calls = Calls::default();
    for item in &sel.projection {
        let _ = Visit::visit(item, &mut calls);
    }
    if calls.aggregate {
        return Err(refuse("Views that return aggregate functions are not automatically updatable."));
    }
    if calls.window {
        return Err(refuse("Views that return window functions are not automatically updatable."));
    }
    if calls.srf {
        return Err(refuse("Views that return set-returning functions are not automatically updatable."));
    }
    let single = "Views that do not select from a single table or view are not automatically updatable.";
    let [from] = sel.from.as_slice() else { return Err(refuse(single)) };
    let ast::TableFactor::Table { name: base, alias: base_alias, args: None, sample, .. } = &from.relation else {
        return Err(refuse(single));
    };
    if !from.joins.is_empty() {
        return Err(refuse(single));
    }
    if sample.is_some() {
        return Err(refuse("Views containing TABLESAMPLE are not automatically updatable."));
    }
    let base_def = super::object_name(sql, base).ok().and_then(|n| lookup_table(&n)).ok_or_else(|| refuse(single))?;
    let base_columns: Vec<String> = base_def.columns.iter().map(|c| c.name.clone()).collect();
    // The view's FROM item's names for its columns: its alias, else the table's name.
    let from_names: Vec<String> = match base_alias {
        Some(a) => vec![fold(&a.name)],
        None => base.0.iter().filter_map(|p| p.as_ident()).map(fold).next_back().into_iter().collect(),
    };
    let qualify = Qualify { alias: alias.clone(), from_names: &from_names, base_columns: &base_columns, depth: 0 };
    // The view's select list, `*` expanded, against its columns.
    let mut exprs: Vec<ast::Expr> = Vec::new();
    for item in &sel.projection {
        match item {
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => exprs.push(e.clone()),
            ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => exprs
                .extend(base_columns.iter().map(|c| ast::Expr::Identifier(ast::Ident::with_quote('"', c.as_str())))),
            _ => return Err(refuse(single)),
        }
    }
    let mut columns = Vec::with_capacity(def.columns.len());
    for (c, mut e) in def.columns.iter().zip(exprs) {
        let mut q = qualify.clone();
        let _ = VisitMut::visit(&mut e, &mut q);
        let base = match &e {
            ast::Expr::CompoundIdentifier(p) if p.len() == 2 && p[0] == alias => Some(fold(&p[1])),
            _ => None,
        };
        columns.push(ViewColumn { name: c.name.clone(), expr: e, base });
    }
    let filter = sel.selection.clone().map(|mut w| {
        let mut q = qualify.clone();
        let _ = VisitMut::visit(&mut w, &mut q);
        w
    });
    let qualifiers = vec![fold(&alias)];
    Ok(Target {
        sql,
        view,
        base: base.clone(),
        alias,
        columns,
        filter,
        // A partition checks its partition constraint on every row written through it.
        check: if def.partition_of.is_some() { Some(ViewCheck::Local) } else { def.view_check },
        partition: def.partition_of.is_some(),
        qualifiers,
        base_columns,
        alone: true,
    })
}

/// Whether the statement gave no alias of its own (the alias is the view's name).
fn alias_is_default(name: &ast::ObjectName, alias: &ast::Ident) -> bool {
    name.0.iter().filter_map(|p| p.as_ident()).next_back().is_some_and(|l| fold(l) == fold(alias))
}

/// PostgreSQL's error for an assigned or inserted view column that is an expression.
fn not_updatable_column(verb: Verb, column: &str, view: &str) -> SqlError {
    let what = if verb == Verb::Insert { "insert into" } else { "update" };
    SqlError::new(code::FEATURE_NOT_SUPPORTED, format!("cannot {what} column \"{column}\" of view \"{view}\""))
        .detail("View columns that are not columns of their base relation are not updatable.")
}

/// How many columns an INSERT's rows have, when the text says (VALUES, a select list without
/// `*`).
fn source_width(q: &ast::Query) -> Option<usize> {
    match q.body.as_ref() {
        ast::SetExpr::Values(v) => v.rows.first().map(|r| r.len()),
        ast::SetExpr::Select(s) => (!s
            .projection
            .iter()
            .any(|i| matches!(i, ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..))))
        .then_some(s.projection.len()),
        _ => None,
    }
}

impl Target<'_> {
    /// The check options of a statement through this view over its base relation: this
    /// view's first when it has one or a view above has a CASCADED one (a LOCAL one without a
    /// WHERE adds none), then `pending` (the views above, over this one) written again
    /// (rewriteTargetView: inner views' checks run first, and a CASCADED check makes every
    /// view below check as CASCADED).
    fn checks(&self, pending: &[ViewCheckClause]) -> Result<Vec<ViewCheckClause>> {
        let above_cascaded = pending.first().is_some_and(|c| c.cascaded);
        let cascaded = above_cascaded || self.check == Some(ViewCheck::Cascaded);
        let mut out = Vec::with_capacity(pending.len() + 1);
        if (above_cascaded || self.check.is_some()) && (cascaded || self.filter.is_some()) {
            out.push(ViewCheckClause {
                view: self.view.clone(),
                cond: self.filter.clone(),
                cascaded,
                partition: self.partition,
            });
        }
        for c in pending {
            let mut c = c.clone();
            if let Some(e) = &mut c.cond {
                self.substitute(e)?;
            }
            out.push(c);
        }
        Ok(out)
    }

    /// The base relation as the statement's FROM item, named by the alias.
    fn relation(&self, written: &ast::TableFactor) -> ast::TableFactor {
        let mut r = written.clone();
        if let ast::TableFactor::Table { name, alias, .. } = &mut r {
            *name = self.base.clone();
            *alias = Some(ast::TableAlias { explicit: true, name: self.alias.clone(), columns: vec![], at: None });
        }
        r
    }

    /// The statement's WHERE over the base relation, AND-ed to the view's.
    fn condition(&self, selection: Option<&ast::Expr>) -> Result<Option<ast::Expr>> {
        let user = match selection {
            Some(w) => {
                let mut w = w.clone();
                self.substitute(&mut w)?;
                Some(w)
            }
            None => None,
        };
        Ok(match (self.filter.clone(), user) {
            (Some(f), Some(u)) => Some(ast::Expr::BinaryOp {
                left: Box::new(ast::Expr::Nested(Box::new(f))),
                op: ast::BinaryOperator::And,
                right: Box::new(ast::Expr::Nested(Box::new(u))),
            }),
            (f, u) => f.or(u),
        })
    }

    /// RETURNING over the view's columns, as expressions over the base relation named as the
    /// view's columns.
    fn returning(&self, items: &[ast::SelectItem]) -> Result<Vec<ast::SelectItem>> {
        let mut out = Vec::with_capacity(items.len());
        let all = |out: &mut Vec<ast::SelectItem>| {
            out.extend(self.columns.iter().map(|c| ast::SelectItem::ExprWithAlias {
                expr: c.expr.clone(),
                alias: ast::Ident::with_quote('"', c.name.as_str()),
            }))
        };
        for item in items {
            match item {
                ast::SelectItem::Wildcard(_) => all(&mut out),
                ast::SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(n), _)
                    if n.0.last().and_then(|p| p.as_ident()).is_some_and(|i| self.qualifiers.contains(&fold(i))) =>
                {
                    all(&mut out)
                }
                ast::SelectItem::UnnamedExpr(e) => {
                    // A column keeps its name; other expressions are named as before.
                    let name = match e {
                        ast::Expr::Identifier(i) => Some(i.clone()),
                        ast::Expr::CompoundIdentifier(p) => p.last().cloned(),
                        _ => None,
                    };
                    let mut x = e.clone();
                    self.substitute(&mut x)?;
                    out.push(match name {
                        Some(alias) if x != *e => ast::SelectItem::ExprWithAlias { expr: x, alias },
                        _ => ast::SelectItem::UnnamedExpr(x),
                    });
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    let mut x = expr.clone();
                    self.substitute(&mut x)?;
                    out.push(ast::SelectItem::ExprWithAlias { expr: x, alias: alias.clone() });
                }
                other => out.push(other.clone()),
            }
        }
        Ok(out)
    }

    /// ON CONFLICT's target and DO UPDATE over the base relation: the view's columns mapped to
    /// the base columns they are, `EXCLUDED.col` to the view's expression over the row that
    /// was proposed.
    fn on_conflict(&self, oc: &mut ast::OnConflict) -> Result<()> {
        if let Some(ast::ConflictTarget::Columns { columns, predicate }) = &mut oc.conflict_target {
            for c in columns.iter_mut() {
                let n = fold(c);
                match self.column(&n).map(|v| v.base.as_deref()) {
                    Some(Some(b)) => *c = ast::Ident::with_quote('"', b),
                    Some(None) => {
                        return Err(SqlError::unsupported(format!(
                            "ON CONFLICT on view column \"{n}\", which is not a column of its base relation, is not supported yet"
                        )))
                    }
                    None => {
                        return Err(SqlError::new(code::UNDEFINED_COLUMN, format!("column \"{n}\" does not exist"))
                            .at(super::span_position(self.sql, &c.span)))
                    }
                }
            }
            if let Some(p) = predicate {
                self.substitute(p)?;
            }
        }
        if let ast::OnConflictAction::DoUpdate(du) = &mut oc.action {
            for a in &mut du.assignments {
                // PostgreSQL names the statement's command (INSERT) here.
                self.assignment_targets(&mut a.target, Verb::Insert)?;
                self.substitute_upsert(&mut a.value)?;
            }
            if let Some(w) = &mut du.selection {
                self.substitute_upsert(w)?;
            }
        }
        Ok(())
    }

    /// An assignment's target columns (SET's, DO UPDATE's) mapped to the base columns they are
    /// (42703 for a name the view lacks, 0A000 for an expression column).
    fn assignment_targets(&self, target: &mut ast::AssignmentTarget, verb: Verb) -> Result<()> {
        let targets: Vec<&mut ast::ObjectName> = match target {
            ast::AssignmentTarget::ColumnName(n) => vec![n],
            ast::AssignmentTarget::Tuple(ns) => ns.iter_mut().collect(),
        };
        for n in targets {
            let Some(id) = n.0.first().and_then(|p| p.as_ident()) else { continue };
            let cn = fold(id);
            let Some(c) = self.column(&cn) else {
                return Err(SqlError::new(
                    code::UNDEFINED_COLUMN,
                    format!("column \"{cn}\" of relation \"{}\" does not exist", self.view),
                )
                .at(super::span_position(self.sql, &id.span)));
            };
            let Some(b) = &c.base else { return Err(not_updatable_column(verb, &cn, &self.view)) };
            let mut parts = n.0.clone();
            parts[0] = ast::ObjectNamePart::Identifier(ast::Ident::with_quote('"', b));
            *n = ast::ObjectName(parts);
        }
        Ok(())
    }

    /// Replaces the view's columns in `e` by their expressions over the base relation.
    fn substitute(&self, e: &mut ast::Expr) -> Result<()> {
        self.substitute_with(e, false)
    }

    /// [`Self::substitute`], `EXCLUDED.col` too.
    fn substitute_upsert(&self, e: &mut ast::Expr) -> Result<()> {
        self.substitute_with(e, true)
    }

    fn substitute_with(&self, e: &mut ast::Expr, excluded: bool) -> Result<()> {
        let mut s = Substitute { t: self, depth: 0, error: None, excluded };
        let _ = VisitMut::visit(e, &mut s);
        match s.error {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    fn column(&self, name: &str) -> Option<&ViewColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Qualifies the view's own column references by the statement's alias: an unqualified base
/// column outside subqueries, and anything qualified by the view's FROM item's name.
#[derive(Clone)]
struct Qualify<'a> {
    alias: ast::Ident,
    from_names: &'a [String],
    base_columns: &'a [String],
    depth: usize,
}

impl ast::VisitorMut for Qualify<'_> {
    type Break = ();

    subquery_depth!(mut);

    fn post_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        match e {
            ast::Expr::Identifier(id) if self.depth == 0 && self.base_columns.contains(&fold(id)) => {
                *e = ast::Expr::CompoundIdentifier(vec![self.alias.clone(), id.clone()]);
            }
            ast::Expr::CompoundIdentifier(p) if p.len() >= 2 => {
                let q = fold(&p[p.len() - 2]);
                if self.from_names.contains(&q) {
                    let col = p[p.len() - 1].clone();
                    *p = vec![self.alias.clone(), col];
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Replaces the view's columns in a statement's expression ([`Target::substitute`]). Inside a
/// subquery only qualified references are replaced; an unqualified view column there that is
/// not the base column of the same name is refused (its meaning depends on the subquery's own
/// FROM, which is not bound yet).
struct Substitute<'a, 's> {
    t: &'a Target<'s>,
    depth: usize,
    error: Option<SqlError>,
    /// In ON CONFLICT DO UPDATE: `EXCLUDED.col` is the view's expression over the proposed row.
    excluded: bool,
}

impl ast::VisitorMut for Substitute<'_, '_> {
    type Break = ();

    subquery_depth!(mut);

    fn post_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        let replaced = match e {
            ast::Expr::Identifier(id) => {
                let n = fold(id);
                match self.t.column(&n) {
                    Some(c) if self.depth == 0 => Some(c.expr.clone()),
                    Some(c) if c.base.as_deref() == Some(n.as_str()) => None,
                    Some(_) => {
                        self.error = Some(SqlError::unsupported(format!(
                            "an unqualified reference to view column \"{n}\" inside a subquery of a statement on view \"{}\" is not supported yet",
                            self.t.view
                        )));
                        return ControlFlow::Break(());
                    }
                    None if self.depth == 0 && self.t.alone && self.t.base_columns.contains(&n) => {
                        // A base column the view does not show is no column here.
                        self.error = Some(
                            SqlError::new(code::UNDEFINED_COLUMN, format!("column \"{n}\" does not exist"))
                                .at(super::span_position(self.t.sql, &id.span)),
                        );
                        return ControlFlow::Break(());
                    }
                    None => None,
                }
            }
            ast::Expr::CompoundIdentifier(p) if p.len() == 2 && self.excluded && fold(&p[0]) == "excluded" => {
                let n = fold(&p[1]);
                match self.t.column(&n) {
                    Some(c) => {
                        let mut x = c.expr.clone();
                        let mut r = Requalify { from: self.t.alias.clone(), to: p[0].clone() };
                        let _ = VisitMut::visit(&mut x, &mut r);
                        Some(x)
                    }
                    None => None,
                }
            }
            ast::Expr::CompoundIdentifier(p) if p.len() >= 2 => {
                let q = fold(&p[p.len() - 2]);
                let n = fold(&p[p.len() - 1]);
                if !self.t.qualifiers.contains(&q) {
                    None
                } else {
                    match self.t.column(&n) {
                        Some(c) => Some(c.expr.clone()),
                        None => {
                            self.error = Some(
                                SqlError::new(code::UNDEFINED_COLUMN, format!("column {q}.{n} does not exist"))
                                    .at(super::span_position(self.t.sql, &p[0].span)),
                            );
                            return ControlFlow::Break(());
                        }
                    }
                }
            }
            _ => None,
        };
        if let Some(r) = replaced {
            *e = match r {
                r @ (ast::Expr::CompoundIdentifier(_) | ast::Expr::Identifier(_)) => r,
                r => ast::Expr::Nested(Box::new(r)),
            };
        }
        ControlFlow::Continue(())
    }
}

/// Renames a qualifier (`from.col` to `to.col`).
struct Requalify {
    from: ast::Ident,
    to: ast::Ident,
}

impl ast::VisitorMut for Requalify {
    type Break = ();

    fn post_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        if let ast::Expr::CompoundIdentifier(p) = e {
            if p.len() == 2 && p[0] == self.from {
                p[0] = self.to.clone();
            }
        }
        ControlFlow::Continue(())
    }
}

/// Whether a select list calls aggregates, window functions or set-returning functions.
#[derive(Default)]
struct Calls {
    aggregate: bool,
    window: bool,
    srf: bool,
    depth: usize,
}

impl ast::Visitor for Calls {
    type Break = ();

    subquery_depth!();

    fn pre_visit_expr(&mut self, e: &ast::Expr) -> ControlFlow<()> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        if let ast::Expr::Function(f) = e {
            let name = f.name.0.last().and_then(|p| p.as_ident()).map(fold).unwrap_or_default();
            if f.over.is_some() {
                self.window = true;
            } else if super::window::aggregate_name(&name) {
                self.aggregate = true;
            } else if super::srf::is_srf(&name) {
                self.srf = true;
            }
        }
        ControlFlow::Continue(())
    }
}
