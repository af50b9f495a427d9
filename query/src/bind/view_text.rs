//! A view's query text as PostgreSQL's stored parse tree would print it: with its `*`
//! expanded, and following a column's rename.
//!
//! PostgreSQL expands `SELECT *` and `t.*` when a view is created (the parse tree it keeps
//! lists the columns), so a column added to the table later is not the view's, and
//! pg_get_viewdef prints `SELECT t.a, t.b FROM t`. Orbit keeps a view's query as SQL text; so
//! while CREATE [MATERIALIZED] VIEW binds the query, every star item bound is noted with the
//! columns it stood for ([`Binder::note_star`]), and the text kept is the query with each such
//! item written as those columns, qualified by the FROM item that has them. The written query
//! is bound again and kept only if it gives the same columns (names and types) as the query
//! as written; otherwise (a star the binder read through another path) the text stays as the
//! client wrote it.
//!
//! ALTER TABLE ... RENAME COLUMN: PostgreSQL's views hold the column by number and follow the
//! rename. Orbit binds each reader's query noting every identifier that resolves to the
//! column ([`note_column`]), writes those with the new name (an unaliased select item naming
//! it gets `AS old`, so the view's columns keep their names, at every query level), and binds
//! the result against the table as the rename leaves it ([`RENAMED`]): it is kept only if it
//! binds, gives the same columns and reaches the column as many times. A query joining on it
//! with USING or NATURAL, or where the check fails, is refused as before (0A000).

use super::{Binder, JoinScope};
use sqlparser::ast::{self, Visit, VisitMut, Visitor, VisitorMut};
use std::ops::ControlFlow;

/// A star item bound: where its `*` is in the statement's text (the binder binds copies of
/// parts of the syntax tree, a set operation's branches, so the place identifies it), and its
/// columns as (qualifier, name); an empty qualifier is a USING join's merged column, named
/// alone.
pub(crate) struct StarItem {
    at: Option<sqlparser::tokenizer::Span>,
    columns: Vec<(String, String)>,
}

/// Where `item`'s `*` is (None: not a star, or a star made by a rewrite, with no place).
fn star_span(item: &ast::SelectItem) -> Option<sqlparser::tokenizer::Span> {
    let span = match item {
        ast::SelectItem::Wildcard(o) | ast::SelectItem::QualifiedWildcard(_, o) => o.wildcard_token.0.span,
        _ => return None,
    };
    (span != sqlparser::tokenizer::Span::empty()).then_some(span)
}

impl Binder<'_> {
    /// Notes `item`'s expansion while a view's query is being bound (not a view's it reads).
    pub(super) fn note_star(&mut self, item: &ast::SelectItem, columns: Vec<(String, String)>) {
        // Not a star of a view the query reads, nor of an inlined SQL function's body: their
        // places are in other texts.
        if !self.sub.views_expanding.is_empty() || super::sql_functions::inlining() {
            return;
        }
        if let Some(log) = self.sub.star_log.as_mut() {
            log.push(StarItem { at: star_span(item), columns });
        }
    }

    /// Runs `bind` (the binding of a view's `query`) noting its star items, then gives its
    /// result and the text to keep for the view: `query` with the stars expanded when that
    /// binds to the same columns, else `query` as written.
    pub(super) fn with_stars_expanded<T>(
        &mut self,
        query: &ast::Query,
        bind: impl FnOnce(&mut Self) -> crate::error::Result<T>,
    ) -> crate::error::Result<(T, String)> {
        let saved = self.sub.star_log.replace(Vec::new());
        let saved_relations = RELATION_LOG.with(|l| l.replace(Some(Vec::new())));
        let r = bind(self);
        let log = std::mem::replace(&mut self.sub.star_log, saved).unwrap_or_default();
        let relations = RELATION_LOG.with(|l| l.replace(saved_relations)).unwrap_or_default();
        let r = r?;
        let as_written = query.to_string();
        if log.is_empty() && relations.is_empty() {
            return Ok((r, as_written));
        }
        let expanded = if log.is_empty() { None } else { expand(query, &log) };
        let expanded = match (expanded, relations.is_empty()) {
            (Some(q), true) => q,
            (None, true) => return Ok((r, as_written)),
            (q, false) => qualified(q.unwrap_or_else(|| query.clone()), &relations),
        };
        let same = |a: &[super::OutputColumn], b: &[super::OutputColumn]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.name == y.name && x.ty == y.ty)
        };
        let saved = self.sub.star_log.take();
        let before = self.query(query);
        let after = self.query(&expanded);
        self.sub.star_log = saved;
        match (before, after) {
            (Ok((_, b)), Ok((_, a))) if same(&b, &a) => Ok((r, expanded.to_string())),
            _ => Ok((r, as_written)),
        }
    }
}

/// The (qualifier, name) of each column a star over join `js` stands for, in the order
/// [`Binder::join_wildcard`] gives `cols`.
pub(super) fn join_star_names(
    js: &JoinScope,
    item: &ast::SelectItem,
    cols: &[(String, super::Expr)],
) -> Vec<(String, String)> {
    if let ast::SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(n), _) = item {
        let q = super::star_qualifier(n).unwrap_or_default();
        return cols.iter().map(|(name, _)| (q.clone(), name.clone())).collect();
    }
    // nested_join::star's order: the merged columns, then each table's visible ones.
    let mut out: Vec<(String, String)> = js.merged.iter().map(|(name, _)| (String::new(), name.clone())).collect();
    for (def, alias, off) in &js.tables {
        for i in crate::catalog_star::star_columns(def) {
            if !js.hidden.contains(&(off + i)) {
                out.push((alias.clone(), def.columns[i].name.clone()));
            }
        }
    }
    if out.len() != cols.len() || out.iter().zip(cols).any(|((_, a), (b, _))| a != b) {
        // Not the order this was written for: no expansion (the text stays as written).
        return Vec::new();
    }
    out
}

/// An identifier as written back: bare when PostgreSQL would read it as the same name (and
/// no keyword), else quoted.
fn ident(name: &str, bare_ok: bool) -> ast::Ident {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && sqlparser::keywords::ALL_KEYWORDS.binary_search(&name.to_ascii_uppercase().as_str()).is_err();
    if plain && bare_ok {
        ast::Ident::new(name)
    } else {
        ast::Ident::with_quote('"', name)
    }
}

/// `query` with each noted star item replaced by its columns; None when a noted item is not
/// found in it (or an item stood for no column: a star over a relation without columns).
fn expand(query: &ast::Query, log: &[StarItem]) -> Option<ast::Query> {
    // The star items in visiting order, each with its expansion if noted.
    struct Collect<'a> {
        log: &'a [StarItem],
        found: Vec<Option<Vec<(String, String)>>>,
    }
    impl Visitor for Collect<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &ast::Query) -> ControlFlow<()> {
            selects(&q.body, &mut |s: &ast::Select| {
                for item in &s.projection {
                    if matches!(item, ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..)) {
                        // Each binding of the item noted the same columns, or none is used.
                        let at = star_span(item);
                        let mut noted = self.log.iter().filter(|x| at.is_some() && x.at == at).map(|x| &x.columns);
                        let first = noted.next().filter(|c| !c.is_empty());
                        let agreed = first.filter(|f| noted.all(|c| c == *f)).cloned();
                        self.found.push(agreed);
                    }
                }
            });
            ControlFlow::Continue(())
        }
    }
    let mut c = Collect { log, found: Vec::new() };
    let _ = query.visit(&mut c);
    if c.found.iter().all(Option::is_none) {
        return None;
    }
    struct Replace {
        found: std::vec::IntoIter<Option<Vec<(String, String)>>>,
    }
    impl VisitorMut for Replace {
        type Break = ();
        fn pre_visit_query(&mut self, q: &mut ast::Query) -> ControlFlow<()> {
            selects_mut(&mut q.body, &mut |s: &mut ast::Select| {
                let mut items = Vec::with_capacity(s.projection.len());
                for item in std::mem::take(&mut s.projection) {
                    if !matches!(item, ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..)) {
                        items.push(item);
                        continue;
                    }
                    match self.found.next().flatten() {
                        Some(cols) => items.extend(cols.into_iter().map(|(q, name)| {
                            ast::SelectItem::UnnamedExpr(if q.is_empty() {
                                ast::Expr::Identifier(ident(&name, true))
                            } else {
                                ast::Expr::CompoundIdentifier(vec![ident(&q, true), ident(&name, true)])
                            })
                        })),
                        None => items.push(item),
                    }
                }
                s.projection = items;
            });
            ControlFlow::Continue(())
        }
    }
    let mut out = query.clone();
    let _ = VisitMut::visit(&mut out, &mut Replace { found: c.found.into_iter() });
    Some(out)
}

/// Each SELECT of a query's body (through set operations; not nested queries, which the
/// visitor reaches as queries of their own).
fn selects(body: &ast::SetExpr, f: &mut dyn FnMut(&ast::Select)) {
    match body {
        ast::SetExpr::Select(s) => f(s),
        ast::SetExpr::SetOperation { left, right, .. } => {
            selects(left, f);
            selects(right, f);
        }
        _ => {}
    }
}

fn selects_mut(body: &mut ast::SetExpr, f: &mut dyn FnMut(&mut ast::Select)) {
    match body {
        ast::SetExpr::Select(s) => f(s),
        ast::SetExpr::SetOperation { left, right, .. } => {
            selects_mut(left, f);
            selects_mut(right, f);
        }
        _ => {}
    }
}

/// `query` with each relation name noted in `log` (by the span of its one part) written
/// qualified with its schema.
fn qualified(mut query: ast::Query, log: &[(sqlparser::tokenizer::Span, String)]) -> ast::Query {
    let _ = ast::visit_relations_mut(&mut query, |name: &mut ast::ObjectName| {
        if let [part] = name.0.as_slice() {
            if let Some(id) = part.as_ident() {
                if let Some((_, schema)) = log.iter().find(|(at, _)| *at == id.span) {
                    let schema = ast::ObjectNamePart::Identifier(ident(schema, true));
                    name.0.insert(0, schema);
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    query
}

impl Binder<'_> {
    /// Notes that the unqualified relation name `name` (in a view's query being created)
    /// resolved to `catalog_name`, of a schema other than public: the stored text names it
    /// qualified, so that the view reads the same relation whatever the search path it is
    /// read under (PostgreSQL keeps the relation's OID).
    pub(super) fn note_relation(&self, name: &ast::ObjectName, catalog_name: &str) {
        if !self.sub.views_expanding.is_empty() || super::sql_functions::inlining() {
            return;
        }
        let [part] = name.0.as_slice() else { return };
        let Some(id) = part.as_ident() else { return };
        let (schema, _) = crate::schema::split(catalog_name);
        if !catalog_name.contains('.')
            || crate::schema::is_entry(catalog_name)
            || schema == "pg_catalog"
            || crate::temp_tables::is_temp_schema(schema)
            || id.span == sqlparser::tokenizer::Span::empty()
        {
            return;
        }
        RELATION_LOG.with(|l| {
            if let Some(log) = l.borrow_mut().as_mut() {
                log.push((id.span, schema.to_string()));
            }
        });
    }
}

/// The column a RENAME COLUMN follows into views: identifiers resolving to it are noted.
struct ColumnLog {
    oid: u32,
    column: String,
    at: Vec<sqlparser::tokenizer::Span>,
}

thread_local! {
    /// While a view's query is bound for CREATE VIEW: the spans of its unqualified relation
    /// names that resolved outside schema public, with their schemas.
    static RELATION_LOG: std::cell::RefCell<Option<Vec<(sqlparser::tokenizer::Span, String)>>> =
        const { std::cell::RefCell::new(None) };
    static COLUMN_LOG: std::cell::RefCell<Option<ColumnLog>> = const { std::cell::RefCell::new(None) };
    /// While a view's rewritten query is checked: (table OID, old name, new name), the table as
    /// the rename will leave it ([`super::lookup_table`] reads it so).
    static RENAMED: std::cell::RefCell<Option<(u32, String, String)>> = const { std::cell::RefCell::new(None) };
}

/// Notes that identifier `id` resolved to column `i` of `def` (a base table's definition, or
/// any other relation: only the noted table's column is kept).
pub(super) fn note_column(def: &orbit_engine::table::TableDef, i: usize, id: &ast::Ident) {
    if id.span == sqlparser::tokenizer::Span::empty() {
        return;
    }
    COLUMN_LOG.with(|l| {
        if let Some(l) = l.borrow_mut().as_mut() {
            let ours = def.oid == l.oid && def.view.is_none() && def.columns.get(i).is_some_and(|c| c.name == l.column);
            if ours && !l.at.contains(&id.span) {
                l.at.push(id.span);
            }
        }
    });
}

/// `def` as the RENAME COLUMN being checked leaves it, if it is that table.
pub(super) fn as_renamed(
    def: std::sync::Arc<orbit_engine::table::TableDef>,
) -> std::sync::Arc<orbit_engine::table::TableDef> {
    RENAMED.with(|r| match r.borrow().as_ref() {
        Some((oid, old, new)) if def.oid == *oid && def.view.is_none() => {
            let mut d = (*def).clone();
            if let Some(c) = d.columns.iter_mut().find(|c| c.name == *old) {
                c.name = new.clone();
            }
            std::sync::Arc::new(d)
        }
        _ => def,
    })
}

impl Binder<'_> {
    /// Binds `query` noting where it reads column `column` of the table with OID `oid`:
    /// its output columns and those places (None: it does not bind).
    fn reads_of_column(
        &mut self,
        query: &ast::Query,
        oid: u32,
        column: &str,
    ) -> Option<(Vec<super::OutputColumn>, Vec<sqlparser::tokenizer::Span>)> {
        let saved = COLUMN_LOG.with(|l| l.replace(Some(ColumnLog { oid, column: column.to_string(), at: Vec::new() })));
        let r = self.query(query);
        let log = COLUMN_LOG.with(|l| l.replace(saved));
        let (_, cols) = r.ok()?;
        Some((cols, log.map(|l| l.at).unwrap_or_default()))
    }

    /// The query text of view (or materialized view) `view` once column `old` of `table` is
    /// named `new` (its text as it is when it does not read the column); None when it cannot
    /// be written so, or would mean something else once the column has the new name (see the
    /// module's comment).
    pub(super) fn view_with_column_renamed(
        &mut self,
        view: &orbit_engine::table::TableDef,
        table: &orbit_engine::table::TableDef,
        old: &str,
        new: &str,
    ) -> Option<String> {
        let text = view.view.as_ref().or(view.matview.as_ref().map(|m| &m.query))?;
        let parse = |t: &str| match super::parse(t) {
            Ok(mut stmts) if stmts.len() == 1 => match stmts.pop() {
                Some(ast::Statement::Query(q)) => Some(q),
                _ => None,
            },
            _ => None,
        };
        let notices = super::long_names::take_notices();
        let r = (|| {
            let query = parse(text)?;
            if joins_on_column(&query, old) {
                return None;
            }
            let (cols, at) = self.reads_of_column(&query, table.oid, old)?;
            // A query not reading the column is checked as it is: a name of it that meant
            // another relation's column must not come to mean the renamed one.
            let written = if at.is_empty() {
                text.clone()
            } else {
                let mut renamed = (*query).clone();
                let _ = VisitMut::visit(&mut renamed, &mut RenameColumn { at: &at, old, new });
                renamed.to_string()
            };
            let again = parse(&written)?;
            RENAMED.with(|r| r.replace(Some((table.oid, old.to_string(), new.to_string()))));
            let checked = self.reads_of_column(&again, table.oid, new);
            RENAMED.with(|r| r.replace(None));
            let (cols2, at2) = checked?;
            let same =
                cols.len() == cols2.len() && cols.iter().zip(&cols2).all(|(a, b)| a.name == b.name && a.ty == b.ty);
            (same && at2.len() == at.len()).then_some(written)
        })();
        super::long_names::restore_notices(notices);
        r
    }
}

/// Whether `query` joins on a column named `column` by USING, or has a NATURAL join (whose
/// columns follow the names).
fn joins_on_column(query: &ast::Query, column: &str) -> bool {
    struct Find<'a> {
        column: &'a str,
    }
    impl Visitor for Find<'_> {
        type Break = ();
        fn pre_visit_query(&mut self, q: &ast::Query) -> ControlFlow<()> {
            let mut hit = false;
            selects(&q.body, &mut |s: &ast::Select| {
                for twj in &s.from {
                    hit |= twj_joins_on(twj, self.column);
                }
            });
            if hit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    query.visit(&mut Find { column }).is_break()
}

fn twj_joins_on(twj: &ast::TableWithJoins, column: &str) -> bool {
    let nested = |f: &ast::TableFactor| match f {
        ast::TableFactor::NestedJoin { table_with_joins, .. } => twj_joins_on(table_with_joins, column),
        _ => false,
    };
    nested(&twj.relation)
        || twj.joins.iter().any(|j| {
            let on = match crate::viewdef::join_constraint(&j.join_operator) {
                Some(ast::JoinConstraint::Natural) => true,
                Some(ast::JoinConstraint::Using(names)) => names
                    .iter()
                    .any(|n| n.0.last().and_then(|p| p.as_ident()).is_some_and(|i| super::fold(i) == column)),
                _ => false,
            };
            on || nested(&j.relation)
        })
}

/// Writes the identifiers at `at` as `new`; a select item that is one of them alone gets
/// `AS old`, keeping its output name.
struct RenameColumn<'a> {
    at: &'a [sqlparser::tokenizer::Span],
    old: &'a str,
    new: &'a str,
}

impl RenameColumn<'_> {
    fn names_it(&self, e: &ast::Expr) -> bool {
        match e {
            ast::Expr::Identifier(id) => self.at.contains(&id.span),
            ast::Expr::CompoundIdentifier(ids) => ids.last().is_some_and(|id| self.at.contains(&id.span)),
            _ => false,
        }
    }
}

impl VisitorMut for RenameColumn<'_> {
    type Break = ();
    fn pre_visit_query(&mut self, q: &mut ast::Query) -> ControlFlow<()> {
        selects_mut(&mut q.body, &mut |s: &mut ast::Select| {
            for item in s.projection.iter_mut() {
                if let ast::SelectItem::UnnamedExpr(e) = item {
                    if self.names_it(e) {
                        *item = ast::SelectItem::ExprWithAlias { expr: e.clone(), alias: ident(self.old, true) };
                    }
                }
            }
        });
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        let hit = self.names_it(e);
        match e {
            ast::Expr::Identifier(id) if hit => *id = ident(self.new, true),
            ast::Expr::CompoundIdentifier(ids) if hit => {
                if let Some(last) = ids.last_mut() {
                    *last = ident(self.new, true);
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}
