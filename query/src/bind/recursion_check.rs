//! PostgreSQL's checks that a WITH RECURSIVE query is well formed (parse_cte.c's
//! checkWellFormedRecursion, and parse_agg.c's refusal of aggregates in the recursive term),
//! run on the statement's syntax before it is bound: a recursive query must be
//! `non-recursive-term UNION [ALL] recursive-term`, its self-reference must appear once, in the
//! recursive term, outside subqueries, the nullable side of outer joins and INTERSECT ALL /
//! EXCEPT, with no aggregate over it, and ORDER BY, LIMIT, OFFSET and FOR UPDATE may not sit
//! atop the UNION. Two WITH items that read each other are mutual recursion, which PostgreSQL
//! does not implement either. Without these checks such queries bound to other errors or ran
//! without end.

use super::fold;
use crate::error::{code, SqlError};
use sqlparser::ast::{self, Spanned};
use sqlparser::tokenizer::Span;
use std::ops::ControlFlow;

/// Where a self-reference is found (PostgreSQL's RecursionContext).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Context {
    Ok,
    NonRecursiveTerm,
    Sublink,
    OuterJoin,
    Intersect,
    Except,
}

/// An error of the checks: its SQLSTATE, message and where it points.
pub(super) struct Refusal {
    pub(super) code: &'static str,
    pub(super) message: String,
    pub(super) at: Span,
}

impl Refusal {
    pub(super) fn into_error(self, pos: Option<usize>) -> SqlError {
        SqlError::new(self.code, self.message).at(pos)
    }
}

/// Where `v` first reads the relation `name` (a one-part name), not counting reads inside a
/// query whose own WITH defines a query of that name (which hides it there).
fn mention<V: ast::Visit>(v: &V, name: &str) -> Option<Span> {
    struct Find<'a> {
        name: &'a str,
        /// Per query being visited: whether its WITH hides the name.
        hides: Vec<bool>,
    }
    impl ast::Visitor for Find<'_> {
        type Break = Span;
        fn pre_visit_query(&mut self, q: &ast::Query) -> ControlFlow<Span> {
            let hides = q.with.as_ref().is_some_and(|w| w.cte_tables.iter().any(|c| fold(&c.alias.name) == self.name));
            self.hides.push(hides);
            ControlFlow::Continue(())
        }
        fn post_visit_query(&mut self, _: &ast::Query) -> ControlFlow<Span> {
            self.hides.pop();
            ControlFlow::Continue(())
        }
        fn pre_visit_relation(&mut self, rel: &ast::ObjectName) -> ControlFlow<Span> {
            if self.hides.iter().any(|h| *h) {
                return ControlFlow::Continue(());
            }
            if let [part] = rel.0.as_slice() {
                if let Some(id) = part.as_ident().filter(|id| fold(id) == self.name) {
                    return ControlFlow::Break(id.span);
                }
            }
            ControlFlow::Continue(())
        }
    }
    match v.visit(&mut Find { name, hides: vec![] }) {
        ControlFlow::Break(at) => Some(at),
        ControlFlow::Continue(()) => None,
    }
}

/// Checks the items of `WITH RECURSIVE`; Err on the first one PostgreSQL refuses.
pub(super) fn check(with: &ast::With) -> Result<(), Refusal> {
    let names: Vec<String> = with.cte_tables.iter().map(|c| fold(&c.alias.name)).collect();
    // Each item's references to the items of the same WITH.
    let reads: Vec<Vec<usize>> = with
        .cte_tables
        .iter()
        .map(|c| (0..names.len()).filter(|&j| mention(c.query.as_ref(), &names[j]).is_some()).collect())
        .collect();
    for (i, cte) in with.cte_tables.iter().enumerate() {
        // Mutual recursion: i reads another item that reads i back (through others maybe).
        let mut seen = vec![false; names.len()];
        let mut stack: Vec<usize> = reads[i].iter().copied().filter(|&j| j != i).collect();
        while let Some(j) = stack.pop() {
            if j == i {
                return Err(Refusal {
                    code: code::FEATURE_NOT_SUPPORTED,
                    message: "mutual recursion between WITH items is not implemented".into(),
                    at: cte.alias.name.span,
                });
            }
            if !std::mem::replace(&mut seen[j], true) {
                stack.extend(reads[j].iter().copied());
            }
        }
        if reads[i].contains(&i) {
            check_item(&names[i], cte)?;
        }
    }
    Ok(())
}

fn invalid(message: String, at: Span) -> Refusal {
    Refusal { code: "42P19", message, at }
}

fn check_item(name: &str, cte: &ast::Cte) -> Result<(), Refusal> {
    let q = cte.query.as_ref();
    let (left, right) = match q.body.as_ref() {
        ast::SetExpr::SetOperation { op: ast::SetOperator::Union, left, right, .. } => (left, right),
        ast::SetExpr::Insert(_) | ast::SetExpr::Update(_) | ast::SetExpr::Delete(_) | ast::SetExpr::Merge(_) => {
            return Err(invalid(
                format!("recursive query \"{name}\" must not contain data-modifying statements"),
                cte.alias.name.span,
            ))
        }
        _ => {
            return Err(invalid(
                format!(
                    "recursive query \"{name}\" does not have the form non-recursive-term UNION [ALL] recursive-term"
                ),
                cte.alias.name.span,
            ))
        }
    };
    let mut w = Walk { name, context: Context::NonRecursiveTerm, refs: 0, shadowed: 0 };
    w.set_expr(left)?;
    w.context = Context::Ok;
    w.set_expr(right)?;
    if let Some(inner) = &q.with {
        w.context = Context::Sublink;
        for c in &inner.cte_tables {
            w.query(&c.query)?;
        }
    }
    if let Some(ob) = &q.order_by {
        return Err(Refusal {
            code: code::FEATURE_NOT_SUPPORTED,
            message: "ORDER BY in a recursive query is not implemented".into(),
            at: ob.span(),
        });
    }
    if let Some(l) = &q.limit_clause {
        let (limit, offset) = match l {
            ast::LimitClause::LimitOffset { limit, offset, .. } => (limit.as_ref(), offset.as_ref().map(|o| &o.value)),
            ast::LimitClause::OffsetCommaLimit { offset, limit } => (Some(limit), Some(offset)),
        };
        if let Some(o) = offset {
            return Err(Refusal {
                code: code::FEATURE_NOT_SUPPORTED,
                message: "OFFSET in a recursive query is not implemented".into(),
                at: o.span(),
            });
        }
        if let Some(l) = limit {
            return Err(Refusal {
                code: code::FEATURE_NOT_SUPPORTED,
                message: "LIMIT in a recursive query is not implemented".into(),
                at: l.span(),
            });
        }
    }
    if !q.locks.is_empty() {
        return Err(Refusal {
            code: code::FEATURE_NOT_SUPPORTED,
            message: "FOR UPDATE/SHARE in a recursive query is not implemented".into(),
            at: Span::empty(),
        });
    }
    Ok(())
}

/// checkWellFormedRecursionWalker over one item's syntax.
struct Walk<'a> {
    name: &'a str,
    context: Context,
    /// Self-references found where they may be.
    refs: usize,
    /// Nested WITH queries of the same name in scope (their references are not the item's).
    shadowed: usize,
}

impl Walk<'_> {
    fn reference(&mut self, at: Span) -> Result<(), Refusal> {
        let name = self.name;
        let place = match self.context {
            Context::Ok => {
                self.refs += 1;
                if self.refs > 1 {
                    return Err(invalid(
                        format!("recursive reference to query \"{name}\" must not appear more than once"),
                        at,
                    ));
                }
                return Ok(());
            }
            Context::NonRecursiveTerm => "within its non-recursive term",
            Context::Sublink => "within a subquery",
            Context::OuterJoin => "within an outer join",
            Context::Intersect => "within INTERSECT",
            Context::Except => "within EXCEPT",
        };
        Err(invalid(format!("recursive reference to query \"{name}\" must not appear {place}"), at))
    }

    fn with_context(&mut self, c: Context, f: impl FnOnce(&mut Self) -> Result<(), Refusal>) -> Result<(), Refusal> {
        let saved = self.context;
        self.context = c;
        let r = f(self);
        self.context = saved;
        r
    }

    /// A context that only an OK one changes (an error already found elsewhere stays).
    fn narrowed(&self, c: Context) -> Context {
        if self.context == Context::Ok {
            c
        } else {
            self.context
        }
    }

    fn query(&mut self, q: &ast::Query) -> Result<(), Refusal> {
        let mut shadows = false;
        if let Some(with) = &q.with {
            for c in &with.cte_tables {
                if !with.recursive {
                    self.query(&c.query)?;
                }
                if fold(&c.alias.name) == self.name {
                    shadows = true;
                    self.shadowed += 1;
                }
                if with.recursive {
                    self.query(&c.query)?;
                }
            }
        }
        let r = self.set_expr(&q.body).and_then(|_| self.exprs_of_query(q));
        if shadows {
            self.shadowed -= 1;
        }
        r
    }

    /// ORDER BY, LIMIT and OFFSET of a query: any reference there is in a subquery.
    fn exprs_of_query(&mut self, q: &ast::Query) -> Result<(), Refusal> {
        if let Some(ob) = &q.order_by {
            self.sublinks(ob)?;
        }
        if let Some(l) = &q.limit_clause {
            self.sublinks(l)?;
        }
        Ok(())
    }

    fn set_expr(&mut self, s: &ast::SetExpr) -> Result<(), Refusal> {
        match s {
            ast::SetExpr::Select(sel) => self.select(sel),
            ast::SetExpr::Query(q) => self.query(q),
            ast::SetExpr::SetOperation { op, set_quantifier, left, right } if self.context == Context::Ok => {
                let all = matches!(set_quantifier, ast::SetQuantifier::All);
                match op {
                    ast::SetOperator::Union | ast::SetOperator::Minus => {
                        self.set_expr(left)?;
                        self.set_expr(right)
                    }
                    ast::SetOperator::Intersect => {
                        let c = if all { Context::Intersect } else { Context::Ok };
                        self.with_context(c, |w| {
                            w.set_expr(left)?;
                            w.set_expr(right)
                        })
                    }
                    ast::SetOperator::Except => {
                        let c = if all { Context::Except } else { Context::Ok };
                        self.with_context(c, |w| w.set_expr(left))?;
                        self.with_context(Context::Except, |w| w.set_expr(right))
                    }
                }
            }
            ast::SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left)?;
                self.set_expr(right)
            }
            other => self.sublinks(other),
        }
    }

    fn select(&mut self, sel: &ast::Select) -> Result<(), Refusal> {
        let before = self.refs;
        for twj in &sel.from {
            self.walk_from(twj)?;
        }
        // The select list, WHERE, GROUP BY, HAVING...: references only in subqueries.
        for item in &sel.projection {
            self.sublinks(item)?;
        }
        if let Some(e) = &sel.selection {
            self.sublinks(e)?;
        }
        self.sublinks(&sel.group_by)?;
        if let Some(e) = &sel.having {
            self.sublinks(e)?;
        }
        // An aggregate over the self-reference (parse_agg.c's check of the recursive term).
        if self.refs > before && self.context == Context::Ok {
            let mut found = None;
            let _ = ast::visit_expressions(&sel.projection, |e: &ast::Expr| {
                if let ast::Expr::Function(f) = e {
                    let n = f.name.to_string().to_lowercase();
                    if super::window::aggregate_name(&n) && f.over.is_none() {
                        found = Some(f.name.span());
                        return ControlFlow::Break(());
                    }
                }
                ControlFlow::Continue(())
            });
            if let Some(at) = found {
                return Err(invalid(
                    "aggregate functions are not allowed in a recursive query's recursive term".into(),
                    at,
                ));
            }
        }
        Ok(())
    }

    fn walk_from(&mut self, twj: &ast::TableWithJoins) -> Result<(), Refusal> {
        // Which items are on the nullable side of an outer join: item 0 is the relation, item
        // k the k-th join's.
        let n = twj.joins.len() + 1;
        let mut nullable = vec![false; n];
        for (k, j) in twj.joins.iter().enumerate() {
            use ast::JoinOperator as J;
            match &j.join_operator {
                J::Left(_) | J::LeftOuter(_) => nullable[k + 1] = true,
                J::Right(_) | J::RightOuter(_) => nullable[..=k].iter_mut().for_each(|x| *x = true),
                J::FullOuter(_) => nullable[..=k + 1].iter_mut().for_each(|x| *x = true),
                _ => {}
            }
        }
        let c = self.narrowed(Context::OuterJoin);
        let first = if nullable[0] { c } else { self.context };
        self.with_context(first, |w| w.factor(&twj.relation))?;
        for (k, j) in twj.joins.iter().enumerate() {
            let ctx = if nullable[k + 1] { c } else { self.context };
            self.with_context(ctx, |w| w.factor(&j.relation))?;
            self.sublinks(&j.join_operator)?;
        }
        Ok(())
    }

    fn factor(&mut self, f: &ast::TableFactor) -> Result<(), Refusal> {
        match f {
            ast::TableFactor::Table { name, args: None, .. } => {
                if let [part] = name.0.as_slice() {
                    if let Some(id) = part.as_ident() {
                        if fold(id) == self.name && self.shadowed == 0 {
                            return self.reference(id.span);
                        }
                    }
                }
                Ok(())
            }
            // A subquery in FROM is walked as it stands (PostgreSQL's RangeSubselect).
            ast::TableFactor::Derived { subquery, .. } => self.query(subquery),
            ast::TableFactor::NestedJoin { table_with_joins, .. } => self.walk_from(table_with_joins),
            other => self.sublinks(other),
        }
    }

    /// Any reference inside `v` outside the FROM clauses walked above sits in a subquery.
    fn sublinks<V: ast::Visit>(&mut self, v: &V) -> Result<(), Refusal> {
        if self.shadowed > 0 {
            return Ok(());
        }
        let name = self.name;
        if let Some(at) = mention(v, name) {
            let c = self.narrowed(Context::Sublink);
            return self.with_context(c, |w| w.reference(at));
        }
        Ok(())
    }
}
