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

/// PostgreSQL's limit on the grouping sets of one query.
const MAX_GROUPING_SETS: usize = 4096;

/// Where `grouping()` calls are numbered until GROUP BY is bound: `Expr::Agg(GROUPING_BASE + k)`.
const GROUPING_BASE: usize = 1 << 29;

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

/// Inside GROUPING SETS (...) sqlparser reads `ROLLUP (a, b)` and `CUBE (a, b)` as function
/// calls: the set expression they stand for.
fn set_function(e: &ast::Expr) -> Option<ast::Expr> {
    let ast::Expr::Function(f) = e else { return None };
    let name = f.name.0.last().and_then(|p| p.as_ident()).map(super::fold)?;
    let ast::FunctionArguments::List(l) = &f.args else { return None };
    if f.over.is_some() || f.filter.is_some() || l.duplicate_treatment.is_some() || !l.clauses.is_empty() {
        return None;
    }
    let mut elems = Vec::with_capacity(l.args.len());
    for a in &l.args {
        let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) = a else { return None };
        elems.push(match x {
            ast::Expr::Tuple(list) => list.clone(),
            x => vec![x.clone()],
        });
    }
    match name.as_str() {
        "rollup" => Some(ast::Expr::Rollup(elems)),
        "cube" => Some(ast::Expr::Cube(elems)),
        _ => None,
    }
}

/// The GROUP BY item `GROUP BY DISTINCT` is written as (a call of a function whose name starts
/// with a control character no client writes): the grouping sets are deduplicated.
pub(super) const DISTINCT_MARK: &str = "\u{1}d";

/// `sql` with what PostgreSQL's GROUP BY grammar takes and sqlparser's does not written so
/// sqlparser reads it, positions kept; None when it has none of it:
/// - a GROUPING SETS nested directly in another's list is its elements written in the outer
///   list (which is what it means): `GROUPING SETS (` and its `)` become spaces;
/// - `GROUP BY ALL` before the items is the default (sqlparser reads `GROUP BY ALL` as
///   DuckDB's "group by every other column"): `ALL` becomes spaces;
/// - `GROUP BY DISTINCT` becomes a first item [`DISTINCT_MARK`]`()`.
pub(super) fn syntax(sql: &str) -> Option<String> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let lower = sql.to_ascii_lowercase();
    if !lower.contains("sets") && !lower.contains("group") {
        return None;
    }
    let tokens = Tokenizer::new(&sqlparser::dialect::PostgreSqlDialect {}, sql).tokenize_with_location().ok()?;
    let solid: Vec<_> = tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).collect();
    let kw = |i: usize, k: Keyword| matches!(solid.get(i).map(|t| &t.token), Some(Token::Word(w)) if w.keyword == k && w.quote_style.is_none());
    let is = |i: usize, t: Token| solid.get(i).map(|s| &s.token) == Some(&t);
    let offset = |i: usize, end: bool| {
        let t = solid[i];
        crate::bind::subquery::byte_offset(sql, if end { t.span.end } else { t.span.start })
    };
    // Byte ranges to blank out, and where the DISTINCT mark goes.
    let mut blank: Vec<(usize, usize)> = Vec::new();
    let mut marks: Vec<(usize, usize)> = Vec::new();
    // The token indexes of the `(` of each GROUPING SETS being read, innermost last.
    let mut sets: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut opens: Vec<usize> = Vec::new();
    let mut dropped_closes: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < solid.len() {
        if kw(i, Keyword::GROUP) && kw(i + 1, Keyword::BY) {
            let stop = [
                Keyword::HAVING,
                Keyword::ORDER,
                Keyword::LIMIT,
                Keyword::OFFSET,
                Keyword::WINDOW,
                Keyword::UNION,
                Keyword::INTERSECT,
                Keyword::EXCEPT,
                Keyword::FETCH,
                Keyword::FOR,
            ];
            let item_follows = solid.get(i + 3).is_some_and(|t| !matches!(t.token, Token::SemiColon | Token::RParen))
                && !stop.iter().any(|&k| kw(i + 3, k));
            if kw(i + 2, Keyword::ALL) && item_follows {
                blank.push((offset(i + 2, false)?, offset(i + 2, true)?));
            } else if kw(i + 2, Keyword::DISTINCT) && item_follows {
                marks.push((offset(i + 2, false)?, offset(i + 2, true)?));
            }
        }
        if kw(i, Keyword::GROUPING) && kw(i + 1, Keyword::SETS) && is(i + 2, Token::LParen) {
            // Directly in another GROUPING SETS' list: its words and parentheses go.
            if sets.last().is_some_and(|&outer| opens.len() == depth && opens.last() == Some(&outer)) {
                blank.push((offset(i, false)?, offset(i + 2, true)?));
                dropped_closes.push(depth + 1);
            }
            sets.push(i + 2);
            opens.push(i + 2);
            depth += 1;
            i += 3;
            continue;
        }
        match solid[i].token {
            Token::LParen => {
                opens.push(i);
                depth += 1;
            }
            Token::RParen => {
                if let Some(open) = opens.pop() {
                    if sets.last() == Some(&open) {
                        sets.pop();
                    }
                }
                if dropped_closes.last() == Some(&depth) {
                    dropped_closes.pop();
                    blank.push((offset(i, false)?, offset(i, true)?));
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        i += 1;
    }
    if blank.is_empty() && marks.is_empty() {
        return None;
    }
    let mut out = sql.as_bytes().to_vec();
    for (from, to) in blank {
        out[from..to].fill(b' ');
    }
    let mut out = String::from_utf8(out).ok()?;
    for (from, to) in marks.into_iter().rev() {
        let mark = format!("\"{DISTINCT_MARK}\"(), ");
        out.replace_range(from..to, &format!("{mark:<width$}", width = to - from));
    }
    Some(out)
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

    /// One GROUP BY expression, over the input row.
    fn group_item(
        &mut self,
        item: &ast::Expr,
        projection: &[Expr],
        columns: &[OutputColumn],
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        // A name is an input column first, an output column only if no input column has it.
        let input_column = match item {
            ast::Expr::Identifier(id) => scope.is_some_and(|s| s.def.column(&super::fold(id)).is_some()),
            _ => false,
        };
        let output = if input_column { None } else { self.output_item(item, projection, columns, "GROUP BY", true)? };
        Ok(match output {
            Some(i) => {
                if crate::window::has_window(&projection[i]) {
                    return Err(SqlError::new("42P20", "window functions are not allowed in GROUP BY"));
                }
                if group::has_agg(&projection[i]) {
                    return Err(SqlError::new(code::GROUPING_ERROR, "aggregate functions are not allowed in GROUP BY"));
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
        })
    }

    /// The GROUP BY expressions, over the input row, the grouping sets over them (empty
    /// for a plain GROUP BY; else each set lists the expressions it groups by, the others are
    /// NULL in its groups), and how many of the last expressions are columns a grouped
    /// primary key determines (`SelectPlan::group_dependent`).
    pub(super) fn group_by(
        &mut self,
        items: &[ast::Expr],
        projection: &[Expr],
        columns: &[OutputColumn],
        scope: Option<&Scope>,
    ) -> Result<(Vec<Expr>, Vec<Vec<usize>>, usize)> {
        // GROUP BY DISTINCT: its mark first (`syntax`).
        let distinct = items.first().is_some_and(|i| {
            matches!(i, ast::Expr::Function(f) if f.name.0.len() == 1
                && f.name.0[0].as_ident().is_some_and(|id| id.quote_style.is_some() && id.value == DISTINCT_MARK))
        });
        let items = if distinct { &items[1..] } else { items };
        let mut out: Vec<Expr> = Vec::with_capacity(items.len());
        let mut dependent = 0;
        let has_sets =
            items.iter().any(|i| matches!(i, ast::Expr::Rollup(_) | ast::Expr::Cube(_) | ast::Expr::GroupingSets(_)));
        // Each item's sets of expressions; the query's sets are their cross product.
        let mut sets: Vec<Vec<usize>> = vec![vec![]];
        for item in items {
            let item_sets = self.item_sets(item, &mut out, projection, columns, scope)?;
            let mut product = Vec::with_capacity(sets.len() * item_sets.len());
            for a in &sets {
                for b in &item_sets {
                    let mut s = a.clone();
                    s.extend(b.iter().filter(|i| !a.contains(i)));
                    product.push(s);
                }
            }
            if product.len() > MAX_GROUPING_SETS {
                return Err(SqlError::new(
                    "54001",
                    format!("too many grouping sets present (maximum {MAX_GROUPING_SETS})"),
                ));
            }
            sets = product;
        }
        if distinct {
            // The same set listed again (in any order) is grouped once, where it first came.
            let mut seen: Vec<Vec<usize>> = Vec::with_capacity(sets.len());
            sets.retain(|s| {
                let mut key = s.clone();
                key.sort_unstable();
                let new = !seen.contains(&key);
                if new {
                    seen.push(key);
                }
                new
            });
        }
        // Grouping by the whole primary key groups by every column of the table (PostgreSQL
        // knows the other columns depend on it): they may appear ungrouped in the select list.
        // In a join, each table whose whole key is grouped. A table keyed by a hidden row id
        // has no key a query can group by. With grouping sets, only keys every set groups by.
        if let Some(s) = scope {
            let common: Vec<usize> = (0..out.len()).filter(|i| sets.iter().all(|set| set.contains(i))).collect();
            let grouped = |out: &[Expr], i: usize| {
                out.iter().enumerate().any(|(k, g)| common.contains(&k) && matches!(g, Expr::Column(j, _) if *j == i))
            };
            let tables: Vec<(&orbit_engine::table::TableDef, usize)> = match &s.joined {
                Some(js) => js.tables.iter().map(|(d, _, off)| (d.as_ref(), *off)).collect(),
                None => vec![(s.def, 0)],
            };
            let mut added = Vec::new();
            for (def, off) in tables {
                if !common.is_empty() && !def.pk.is_empty() && def.pk.iter().all(|&i| grouped(&out, off + i)) {
                    for (i, _) in def.columns.iter().enumerate() {
                        if !grouped(&out, off + i) && !added.contains(&(off + i)) {
                            added.push(off + i);
                        }
                    }
                }
            }
            for i in added {
                let ty = s.def.columns.get(i).map(|c| c.ty).unwrap_or(orbit_engine::table::SqlType::Unknown);
                let k = match out.iter().position(|g| matches!(g, Expr::Column(j, _) if *j == i)) {
                    Some(k) => k,
                    None => {
                        out.push(Expr::Column(i, ty));
                        dependent += 1;
                        out.len() - 1
                    }
                };
                for set in &mut sets {
                    if !set.contains(&k) {
                        set.push(k);
                    }
                }
            }
        }
        // Equal keys mean equal dependent columns, so only the keys are hashed and compared
        // (not with grouping sets: a set may leave a key out and keep its dependents).
        Ok(if has_sets { (out, sets, 0) } else { (out, vec![], dependent) })
    }

    /// The sets one GROUP BY item stands for (a plain expression: one set of one), each
    /// expression bound once into `out`.
    fn item_sets(
        &mut self,
        item: &ast::Expr,
        out: &mut Vec<Expr>,
        projection: &[Expr],
        columns: &[OutputColumn],
        scope: Option<&Scope>,
    ) -> Result<Vec<Vec<usize>>> {
        let index = |b: &mut Self, e: &ast::Expr, out: &mut Vec<Expr>| -> Result<Vec<usize>> {
            // `()` is the empty set; `(a, b)` a set of two.
            let parts: Vec<&ast::Expr> = match e {
                ast::Expr::Tuple(list) => list.iter().collect(),
                ast::Expr::Nested(inner) if matches!(inner.as_ref(), ast::Expr::Tuple(_)) => {
                    return b.item_sets(inner, out, projection, columns, scope).map(|s| s.concat())
                }
                e => vec![e],
            };
            let mut set = Vec::new();
            for p in parts {
                let bound = b.group_item(p, projection, columns, scope)?;
                let text = format!("{bound:?}");
                let k = match out.iter().position(|g| format!("{g:?}") == text) {
                    Some(k) => k,
                    None => {
                        out.push(bound);
                        out.len() - 1
                    }
                };
                if !set.contains(&k) {
                    set.push(k);
                }
            }
            Ok(set)
        };
        let elems = |b: &mut Self, list: &[Vec<ast::Expr>], out: &mut Vec<Expr>| -> Result<Vec<Vec<usize>>> {
            let mut v = Vec::with_capacity(list.len());
            for l in list {
                let mut set = Vec::new();
                for e in l {
                    for k in index(b, e, out)? {
                        if !set.contains(&k) {
                            set.push(k);
                        }
                    }
                }
                v.push(set);
            }
            Ok(v)
        };
        Ok(match item {
            ast::Expr::Rollup(list) => {
                let e = elems(self, list, out)?;
                // (a, b, c), (a, b), (a), ().
                (0..=e.len()).rev().map(|n| e[..n].concat()).collect()
            }
            ast::Expr::Cube(list) => {
                let e = elems(self, list, out)?;
                if e.len() > 12 {
                    return Err(SqlError::new("54011", "CUBE is limited to 12 elements"));
                }
                let n = e.len();
                // Every subset, the full one first (PostgreSQL's order does not matter: ORDER BY).
                (0..1usize << n)
                    .rev()
                    .map(|mask| (0..n).filter(|i| mask & (1 << (n - 1 - i)) != 0).flat_map(|i| e[i].clone()).collect())
                    .collect()
            }
            ast::Expr::GroupingSets(list) => {
                let mut all = Vec::new();
                for l in list {
                    // Each listed set may itself be a ROLLUP, CUBE or nested GROUPING SETS:
                    // the cross product of its elements' sets.
                    let mut sets: Vec<Vec<usize>> = vec![vec![]];
                    for e in l {
                        let nested = set_function(e);
                        let e = nested.as_ref().unwrap_or(e);
                        let es = match e {
                            ast::Expr::Rollup(_) | ast::Expr::Cube(_) | ast::Expr::GroupingSets(_) => {
                                self.item_sets(e, out, projection, columns, scope)?
                            }
                            e => vec![index(self, e, out)?],
                        };
                        let mut product = Vec::new();
                        for a in &sets {
                            for b in &es {
                                let mut s = a.clone();
                                s.extend(b.iter().filter(|i| !a.contains(i)));
                                product.push(s);
                            }
                        }
                        sets = product;
                    }
                    all.extend(sets);
                    if all.len() > MAX_GROUPING_SETS {
                        return Err(SqlError::new(
                            "54001",
                            format!("too many grouping sets present (maximum {MAX_GROUPING_SETS})"),
                        ));
                    }
                }
                all
            }
            e => vec![index(self, e, out)?],
        })
    }

    /// `grouping(a, ...)`: bound to a placeholder until GROUP BY is known
    /// ([`Binder::grouping_finish`]).
    pub(super) fn grouping_call(&mut self, f: &ast::Function, scope: Option<&Scope>) -> Result<Expr> {
        if self.in_agg {
            return Err(SqlError::new(code::GROUPING_ERROR, "aggregate function calls cannot be nested"));
        }
        if !self.allow_aggs {
            return Err(SqlError::new(
                code::GROUPING_ERROR,
                format!("grouping operations are not allowed in {}", self.aggs_banned_in),
            ));
        }
        let ast::FunctionArguments::List(l) = &f.args else { return Err(SqlError::syntax(")")) };
        if f.over.is_some() || f.filter.is_some() || l.duplicate_treatment.is_some() || !l.clauses.is_empty() {
            return Err(SqlError::syntax("grouping"));
        }
        if l.args.len() > 31 {
            return Err(SqlError::new("54023", "GROUPING must have fewer than 32 arguments"));
        }
        let mut args = Vec::with_capacity(l.args.len());
        for a in &l.args {
            match a {
                // Folded as the GROUP BY items are, so that equal expressions compare equal.
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    args.push(self.expr(e, scope).and_then(crate::expr::fold)?)
                }
                _ => return Err(SqlError::syntax("grouping")),
            }
        }
        self.grouping_calls.push(args);
        Ok(Expr::Agg(GROUPING_BASE + self.grouping_calls.len() - 1, orbit_engine::table::SqlType::Int4))
    }

    /// Replaces the `grouping()` placeholders in a grouped query's expressions (already over
    /// the group) by their values ([`Binder::grouping_values`]).
    pub(super) fn grouping_finish(&mut self, values: Vec<Expr>, exprs: &mut [&mut Expr]) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        fn replace(e: &mut Expr, values: &[Expr]) {
            if let Expr::Agg(i, _) = e {
                if (GROUPING_BASE..crate::window::WINDOW_BASE).contains(i) {
                    if let Some(v) = values.get(*i - GROUPING_BASE) {
                        *e = v.clone();
                        return;
                    }
                }
            }
            for c in e.children_mut() {
                replace(c, values);
            }
        }
        for e in exprs.iter_mut() {
            replace(e, &values);
        }
        self.window.map_calls(&mut |e| {
            let mut e = e.clone();
            replace(&mut e, &values);
            Ok(e)
        })?;
        Ok(())
    }

    /// Each `grouping()` call's value over the group: a bit per argument, set when the group's
    /// grouping set leaves that argument out (the set a group belongs to is its value after the
    /// GROUP BY values). Checked before the columns outside GROUP BY, as PostgreSQL does.
    pub(super) fn grouping_values(&self, group_by: &[Expr], sets: &[Vec<usize>]) -> Result<Vec<Expr>> {
        let int4 = orbit_engine::table::SqlType::Int4;
        let mut values = Vec::with_capacity(self.grouping_calls.len());
        for args in &self.grouping_calls {
            let mut ks = Vec::with_capacity(args.len());
            for a in args {
                match group::regroup(a, group_by) {
                    Ok(Expr::Column(k, _)) => ks.push(k),
                    _ => {
                        return Err(SqlError::new(
                            code::GROUPING_ERROR,
                            "arguments to GROUPING must be grouping expressions of the associated query level",
                        ))
                    }
                }
            }
            let mask = |set: &[usize]| -> i32 { ks.iter().fold(0, |m, k| (m << 1) | i32::from(!set.contains(k))) };
            let konst = |v: i32| Expr::Const(orbit_engine::table::Datum::Int4(v), int4);
            values.push(if sets.is_empty() {
                konst(0)
            } else {
                let set_col = Box::new(Expr::Column(group_by.len(), int4));
                let whens = sets
                    .iter()
                    .enumerate()
                    .map(|(s, set)| {
                        (
                            Expr::Cmp(crate::expr::CmpOp::Eq, set_col.clone(), Box::new(konst(s as i32))),
                            konst(mask(set)),
                        )
                    })
                    .collect();
                Expr::Case(whens, Some(Box::new(konst(0))), int4)
            });
        }
        Ok(values)
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
