//! pg_get_viewdef's text: a view's query printed back as PostgreSQL 15's ruleutils.c prints it
//! (`get_query_def`), e.g.
//!
//! ```text
//!  SELECT t.a,
//!     count(*) AS n
//!    FROM t
//!      JOIN u ON t.a = u.a
//!   WHERE t.c > 1
//!   GROUP BY t.a
//!   ORDER BY t.a;
//! ```
//!
//! Columns qualified by their FROM item, every select-list item but a same-named column given
//! its `AS` name, `*` expanded, string constants labelled with their type (`'x'::text`),
//! `LIKE` as `~~`, `BETWEEN` as two comparisons, `IN (...)` as `= ANY (ARRAY[...])`, ORDER BY / GROUP BY positions and output names
//! replaced by the expressions; with `pretty` only the parentheses precedence needs (psql's
//! `\d+` view), else every operator parenthesised. PostgreSQL prints the query it parsed and
//! analysed, with the implicit casts it inserted; this prints the stored SQL text, so only
//! queries whose printing needs no type analysis beyond the plain cases are printed this way:
//! one SELECT or a chain of one set operation over SELECTs (`a UNION b UNION c`; mixed or
//! nested set operations are not), without WITH, subqueries, DISTINCT ON, window functions, CASE,
//! casts of numbers, NATURAL or FULL joins, derived tables; IN lists of constants over an int or text
//! column) over tables and views of schema
//! public, with operands of one type family (columns, integer/decimal/string constants that
//! take the other operand's type) and the functions count/sum/avg/min/max/lower/upper/length.
//! Any other view's definition is the SQL text Orbit keeps ([`deparse`] gives None).

use crate::regtypes::quote_ident;
use orbit_engine::table::{SqlType, TableDef};
use sqlparser::ast;
use std::sync::Arc;

/// The view query `sql` as pg_get_viewdef prints it (`pretty`: its second argument true), or
/// None when it uses what this printer does not cover.
/// `names`: the view's column names (a column list in CREATE VIEW renames the items).
pub(crate) fn deparse(sql: &str, names: &[String], pretty: bool) -> Option<String> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let q = sqlparser::parser::Parser::new(&dialect).try_with_sql(sql).ok()?.parse_query().ok()?;
    let mut p =
        Printer { pretty, indent: 0, out: String::new(), rtes: Vec::new(), joins_plain: true, has_using: false };
    p.query(&q, names)?;
    p.out.push(';');
    Some(p.out)
}

/// What decides whether an expression needs parentheses under another (ruleutils.c's
/// `isSimpleNode`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A column, constant or function call.
    Simple,
    /// A binary operator (its name); `None` for a prefix one.
    Op(Option<&'static str>),
    And,
    Or,
    Not,
    /// IS [NOT] NULL.
    NullTest,
    /// `x = ANY (ARRAY[...])` (an IN list): parenthesised under any operator.
    ArrayOp,
}

struct Node {
    text: String,
    kind: Kind,
    /// The value's type (None: an untyped string constant, typed by its context).
    ty: Option<SqlType>,
    /// An untyped string constant's text.
    literal: Option<String>,
    /// A column's name (it needs no `AS` when the output is named as it).
    column: Option<String>,
}

impl Node {
    fn new(text: String, kind: Kind, ty: SqlType) -> Node {
        Node { text, kind, ty: Some(ty), literal: None, column: None }
    }
}

/// A FROM item: the name it is referred to by and its relation.
struct Rte {
    refname: String,
    def: Arc<TableDef>,
}

struct Printer {
    pretty: bool,
    indent: i32,
    out: String,
    rtes: Vec<Rte>,
    /// Every join is INNER, LEFT or CROSS (a merged USING column is then the left one's).
    joins_plain: bool,
    /// Some join has USING.
    has_using: bool,
}

fn fold(id: &ast::Ident) -> String {
    crate::bind::fold_ident(id)
}

fn is_int(t: SqlType) -> bool {
    matches!(t, SqlType::Int2 | SqlType::Int4 | SqlType::Int8)
}

/// Operands of one family PostgreSQL has operators for without a cast.
fn same_family(a: SqlType, b: SqlType) -> bool {
    (is_int(a) && is_int(b))
        || (a.is_decimal() && b.is_decimal())
        || (a == SqlType::Text && b == SqlType::Text)
        || a == b
}

impl Printer {
    /// ruleutils.c's appendContextKeyword.
    fn keyword(&mut self, s: &str, before: i32, after: i32, plus: i32) {
        self.indent += before;
        let trimmed = self.out.trim_end_matches(' ').len();
        self.out.truncate(trimmed);
        self.out.push('\n');
        self.out.push_str(&" ".repeat((self.indent.max(0) + plus) as usize));
        self.out.push_str(s);
        self.indent = (self.indent + after).max(0);
    }

    /// `, ` then an item on a line of its own (wrapColumn 0: every item wraps).
    fn next_item(&mut self) {
        self.out.push_str(", ");
        self.keyword("", -4, 4, 4);
    }

    fn query(&mut self, q: &ast::Query, names: &[String]) -> Option<()> {
        if q.with.is_some() || q.fetch.is_some() || !q.locks.is_empty() || q.for_clause.is_some() {
            return None;
        }
        // A SELECT, or a chain of one set operation over SELECTs (whose ORDER BY names output
        // columns by number, as ruleutils prints a set operation's).
        let (targets, positions) = match q.body.as_ref() {
            ast::SetExpr::Select(s) => (self.select(s, names)?, None),
            body @ ast::SetExpr::SetOperation { .. } => (Vec::new(), Some(self.set_operation(body, names)?)),
            _ => return None,
        };
        if let Some(ob) = &q.order_by {
            let ast::OrderByKind::Expressions(items) = &ob.kind else { return None };
            if ob.interpolate.is_some() {
                return None;
            }
            let mut texts = Vec::new();
            for o in items {
                if o.with_fill.is_some() {
                    return None;
                }
                let mut t = match &positions {
                    None => self.sort_item(&o.expr, &targets, true)?,
                    Some(outputs) => position(&o.expr, outputs)?,
                };
                let desc = match &o.options.sort {
                    None | Some(ast::OrderBySort::Asc) => false,
                    Some(ast::OrderBySort::Desc) => true,
                    Some(ast::OrderBySort::Using(_)) => return None,
                };
                if desc {
                    t.push_str(" DESC");
                }
                match (desc, o.options.nulls_first) {
                    (false, Some(true)) => t.push_str(" NULLS FIRST"),
                    (true, Some(false)) => t.push_str(" NULLS LAST"),
                    _ => {}
                }
                texts.push(t);
            }
            self.keyword(" ORDER BY ", -4, 4, 1);
            self.out.push_str(&texts.join(", "));
        }
        if let Some(lc) = &q.limit_clause {
            let ast::LimitClause::LimitOffset { limit, offset, limit_by } = lc else { return None };
            if !limit_by.is_empty() {
                return None;
            }
            let count = |e: &ast::Expr| match e {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::Number(n, _) if n.parse::<i64>().is_ok() => Some(n.clone()),
                    _ => None,
                },
                _ => None,
            };
            if let Some(o) = offset {
                let n = count(&o.value)?;
                self.keyword(" OFFSET ", -4, 4, 0);
                self.out.push_str(&n);
            }
            if let Some(l) = limit {
                let n = match l {
                    ast::Expr::Value(v) if matches!(v.value, ast::Value::Null) => "ALL".to_string(),
                    e => count(e)?,
                };
                self.keyword(" LIMIT ", -4, 4, 0);
                self.out.push_str(&n);
            }
        }
        Some(())
    }
}

impl Printer {
    /// One SELECT (ruleutils' get_basic_select_query), its items named `names`: the items with
    /// their names in the query, for ORDER BY.
    fn select(&mut self, s: &ast::Select, names: &[String]) -> Option<Vec<(Node, String)>> {
        self.range_table(&s.from)?;
        if s.top.is_some()
            || s.into.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || !s.named_window.is_empty()
            || s.qualify.is_some()
            || !s.connect_by.is_empty()
        {
            return None;
        }
        self.indent += 4;
        self.out.push_str(" SELECT");
        match &s.distinct {
            None => {}
            Some(ast::Distinct::Distinct) => self.out.push_str(" DISTINCT"),
            Some(_) => return None,
        }
        // The select list, with each item's expression for ORDER BY / GROUP BY references.
        let mut targets: Vec<(Node, String)> = Vec::new();
        for item in &s.projection {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    let n = self.expr(e)?;
                    let name = n.column.clone().unwrap_or_else(|| output_name(e));
                    targets.push((n, name));
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => targets.push((self.expr(expr)?, fold(alias))),
                ast::SelectItem::Wildcard(o) if plain_wildcard(o) => {
                    if self.has_using {
                        return None;
                    }
                    for i in 0..self.rtes.len() {
                        targets.extend(self.all_columns(i));
                    }
                }
                ast::SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(n), o)
                    if plain_wildcard(o) =>
                {
                    let [part] = n.0.as_slice() else { return None };
                    let name = fold(part.as_ident()?);
                    let i = self.rtes.iter().position(|r| r.refname == name)?;
                    targets.extend(self.all_columns(i));
                }
                _ => return None,
            }
        }
        if targets.len() != names.len() {
            return None;
        }
        // The view's column names name the items; ORDER BY reads the query's own.
        let query_names: Vec<String> = targets.iter().map(|t| t.1.clone()).collect();
        for (t, name) in targets.iter_mut().zip(names) {
            t.1 = name.clone();
        }
        for (i, (n, name)) in targets.iter().enumerate() {
            if i == 0 {
                self.out.push(' ');
            } else {
                self.next_item();
            }
            let mut item = self.top(n);
            if n.column.as_deref() != Some(name.as_str()) {
                item.push_str(" AS ");
                item.push_str(&quote_ident(name));
            }
            self.out.push_str(&item);
        }
        for (t, name) in targets.iter_mut().zip(query_names) {
            t.1 = name;
        }
        self.print_from(&s.from)?;
        if let Some(w) = &s.selection {
            let n = self.expr(w)?;
            let text = self.top(&n);
            self.keyword(" WHERE ", -4, 4, 1);
            self.out.push_str(&text);
        }
        match &s.group_by {
            ast::GroupByExpr::Expressions(exprs, mods) if mods.is_empty() => {
                if !exprs.is_empty() {
                    let items = exprs.iter().map(|e| self.sort_item(e, &targets, false)).collect::<Option<Vec<_>>>()?;
                    self.keyword(" GROUP BY ", -4, 4, 1);
                    self.out.push_str(&items.join(", "));
                }
            }
            _ => return None,
        }
        if let Some(h) = &s.having {
            let n = self.expr(h)?;
            let text = self.top(&n);
            self.keyword(" HAVING ", -4, 4, 0);
            self.out.push_str(&text);
        }
        Some(targets)
    }

    /// `a UNION b [UNION c ...]` (one operator throughout, as PostgreSQL prints without
    /// parentheses): each SELECT on its own lines, its items named `names`; the first one's
    /// output names.
    fn set_operation(&mut self, body: &ast::SetExpr, names: &[String]) -> Option<Vec<String>> {
        let mut leaves = Vec::new();
        let mut ops = Vec::new();
        let mut e = body;
        loop {
            match e {
                ast::SetExpr::SetOperation { op, set_quantifier, left, right } => {
                    let ast::SetExpr::Select(r) = right.as_ref() else { return None };
                    leaves.push(r.as_ref());
                    ops.push((op, set_quantifier));
                    e = left;
                }
                ast::SetExpr::Select(l) => {
                    leaves.push(l.as_ref());
                    break;
                }
                _ => return None,
            }
        }
        leaves.reverse();
        if ops.windows(2).any(|w| w[0] != w[1]) {
            return None;
        }
        let (op, quantifier) = *ops.first()?;
        let word = match op {
            ast::SetOperator::Union => "UNION ",
            ast::SetOperator::Intersect => "INTERSECT ",
            ast::SetOperator::Except => "EXCEPT ",
            _ => return None,
        };
        let all = match quantifier {
            ast::SetQuantifier::None | ast::SetQuantifier::Distinct => "",
            ast::SetQuantifier::All => "ALL ",
            _ => return None,
        };
        let mut outputs = None;
        for (i, leaf) in leaves.into_iter().enumerate() {
            // Each SELECT is printed at the operation's indentation, as a query of its own.
            self.indent = 0;
            if i > 0 {
                self.keyword("", 0, 0, 0);
                self.out.push_str(word);
                self.out.push_str(all);
                self.keyword("", 0, 0, 0);
            }
            let targets = self.select(leaf, names)?;
            outputs.get_or_insert_with(|| targets.into_iter().map(|(_, n)| n).collect::<Vec<_>>());
        }
        outputs
    }
}

/// A set operation's ORDER BY item: the output column's number (a number, or an output name).
fn position(e: &ast::Expr, outputs: &[String]) -> Option<String> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => {
                let i: usize = n.parse().ok()?;
                (1..=outputs.len()).contains(&i).then(|| i.to_string())
            }
            _ => None,
        },
        ast::Expr::Identifier(id) => {
            let name = fold(id);
            let mut hits = outputs.iter().enumerate().filter(|(_, n)| **n == name);
            let (i, _) = hits.next()?;
            hits.next().is_none().then(|| (i + 1).to_string())
        }
        _ => None,
    }
}

impl Printer {
    /// Fills the FROM items in order (tables and views of schema public only).
    fn range_table(&mut self, from: &[ast::TableWithJoins]) -> Option<()> {
        let tables = crate::catalog::user_tables();
        let add = |f: &ast::TableFactor, rtes: &mut Vec<Rte>| -> Option<()> {
            let ast::TableFactor::Table { name, alias, args: None, with_hints, version: None, partitions, .. } = f
            else {
                return None;
            };
            if !with_hints.is_empty() || !partitions.is_empty() {
                return None;
            }
            // A table of schema public, qualified (as pg_dump writes it) or not.
            let part = match name.0.as_slice() {
                [part] => part,
                [schema, part] if fold(schema.as_ident()?) == "public" => part,
                _ => return None,
            };
            let tname = fold(part.as_ident()?);
            let def = tables.iter().find(|t| t.name == tname && t.index_of.is_none())?.clone();
            let refname = match alias {
                Some(a) if a.columns.is_empty() => fold(&a.name),
                Some(_) => return None,
                None => tname,
            };
            if rtes.iter().any(|r| r.refname == refname) {
                return None;
            }
            rtes.push(Rte { refname, def });
            Some(())
        };
        let mut rtes = Vec::new();
        for twj in from {
            add(&twj.relation, &mut rtes)?;
            for j in &twj.joins {
                add(&j.relation, &mut rtes)?;
                match &j.join_operator {
                    ast::JoinOperator::Join(_)
                    | ast::JoinOperator::Inner(_)
                    | ast::JoinOperator::Left(_)
                    | ast::JoinOperator::LeftOuter(_)
                    | ast::JoinOperator::CrossJoin(_) => {}
                    _ => self.joins_plain = false,
                }
                if let Some(ast::JoinConstraint::Using(_)) = join_constraint(&j.join_operator) {
                    self.has_using = true;
                }
            }
        }
        self.rtes = rtes;
        Some(())
    }

    fn print_from(&mut self, from: &[ast::TableWithJoins]) -> Option<()> {
        let mut k = 0;
        for (i, twj) in from.iter().enumerate() {
            if i == 0 {
                self.keyword(" FROM ", -4, 4, 2);
            } else {
                self.next_item();
            }
            // A left-deep join tree: one '(' per join (PostgreSQL's non-pretty form).
            if !self.pretty {
                self.out.push_str(&"(".repeat(twj.joins.len()));
            }
            self.out.push_str(&self.rte_text(k));
            k += 1;
            for j in &twj.joins {
                let (word, constraint) = match &j.join_operator {
                    ast::JoinOperator::Join(c) | ast::JoinOperator::Inner(c) => (" JOIN ", Some(c)),
                    ast::JoinOperator::Left(c) | ast::JoinOperator::LeftOuter(c) => (" LEFT JOIN ", Some(c)),
                    ast::JoinOperator::Right(c) | ast::JoinOperator::RightOuter(c) => (" RIGHT JOIN ", Some(c)),
                    ast::JoinOperator::FullOuter(_) => return None,
                    ast::JoinOperator::CrossJoin(ast::JoinConstraint::None) => (" CROSS JOIN ", None),
                    _ => return None,
                };
                self.keyword(word, -4, 4, 4);
                self.out.push_str(&self.rte_text(k));
                k += 1;
                match constraint {
                    None | Some(ast::JoinConstraint::None) if word == " CROSS JOIN " => {}
                    Some(ast::JoinConstraint::On(e)) => {
                        let n = self.expr(e)?;
                        let text = self.top(&n);
                        self.out.push_str(" ON ");
                        if self.pretty {
                            self.out.push_str(&text);
                        } else {
                            self.out.push('(');
                            self.out.push_str(&text);
                            self.out.push(')');
                        }
                    }
                    Some(ast::JoinConstraint::Using(cols)) => {
                        let names = cols
                            .iter()
                            .map(|c| match c.0.as_slice() {
                                [p] => p.as_ident().map(|i| quote_ident(&fold(i))),
                                _ => None,
                            })
                            .collect::<Option<Vec<_>>>()?;
                        self.out.push_str(&format!(" USING ({})", names.join(", ")));
                    }
                    _ => return None,
                }
                if !self.pretty {
                    self.out.push(')');
                }
            }
        }
        Some(())
    }

    fn rte_text(&self, i: usize) -> String {
        let r = &self.rtes[i];
        let name = crate::schema::relname(&r.def.name);
        // Qualified unless the search path finds it, as regclass prints it.
        let shown = crate::regtypes::format(orbit_engine::table::OidKind::RegClass, r.def.oid);
        if r.refname == name {
            shown
        } else {
            format!("{} {}", shown, quote_ident(&r.refname))
        }
    }

    /// Every column of FROM item `i`, as `*` gives them.
    fn all_columns(&self, i: usize) -> Vec<(Node, String)> {
        let r = &self.rtes[i];
        r.def
            .columns
            .iter()
            .map(|c| {
                let mut n =
                    Node::new(format!("{}.{}", quote_ident(&r.refname), quote_ident(&c.name)), Kind::Simple, c.ty);
                n.column = Some(c.name.clone());
                (n, c.name.clone())
            })
            .collect()
    }

    /// An ORDER BY / GROUP BY item: a select-list position or (ORDER BY) output name stands for
    /// that item's expression; a non-column expression is parenthesised.
    fn sort_item(&self, e: &ast::Expr, targets: &[(Node, String)], order: bool) -> Option<String> {
        let from_target = match e {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, _) => {
                    let i: usize = n.parse().ok()?;
                    Some(&targets.get(i.checked_sub(1)?)?.0)
                }
                _ => None,
            },
            ast::Expr::Identifier(id) if order => {
                let name = fold(id);
                targets.iter().find(|(_, n)| *n == name).map(|(t, _)| t)
            }
            _ => None,
        };
        let owned;
        let n = match from_target {
            Some(n) => n,
            None => {
                owned = self.expr(e)?;
                &owned
            }
        };
        if n.literal.is_some() {
            return None;
        }
        let text = self.top(n);
        Some(match n.kind {
            Kind::Simple if n.column.is_some() => text,
            Kind::Simple => format!("({text})"),
            _ if self.pretty => format!("({text})"),
            _ => text,
        })
    }

    /// A whole expression (a select-list item, WHERE, ON): an untyped constant alone is text.
    fn top(&self, n: &Node) -> String {
        match &n.literal {
            Some(s) => format!("{}::text", quote_literal(s)),
            None => n.text.clone(),
        }
    }
}

/// `*` / `t.*` without EXCLUDE, EXCEPT, REPLACE or RENAME.
fn plain_wildcard(o: &ast::WildcardAdditionalOptions) -> bool {
    o.opt_ilike.is_none()
        && o.opt_exclude.is_none()
        && o.opt_except.is_none()
        && o.opt_replace.is_none()
        && o.opt_rename.is_none()
}

fn join_constraint(op: &ast::JoinOperator) -> Option<&ast::JoinConstraint> {
    match op {
        ast::JoinOperator::Join(c)
        | ast::JoinOperator::Inner(c)
        | ast::JoinOperator::Left(c)
        | ast::JoinOperator::LeftOuter(c)
        | ast::JoinOperator::Right(c)
        | ast::JoinOperator::RightOuter(c)
        | ast::JoinOperator::FullOuter(c)
        | ast::JoinOperator::CrossJoin(c) => Some(c),
        _ => None,
    }
}

/// The name PostgreSQL gives an unnamed select-list item (FigureColname), for the cases this
/// printer covers.
fn output_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(id) => fold(id),
        ast::Expr::CompoundIdentifier(ids) => ids.last().map(fold).unwrap_or_default(),
        ast::Expr::Function(f) => f.name.0.last().and_then(|p| p.as_ident()).map(fold).unwrap_or_default(),
        ast::Expr::Nested(e) => output_name(e),
        // (Only ORDER BY reads these names; the items are named by the view's columns.)
        ast::Expr::Cast { expr, .. } => output_name(expr),
        _ => "?column?".to_string(),
    }
}

fn quote_literal(s: &str) -> String {
    let escaped = s.replace('\'', "''");
    if s.contains('\\') {
        format!("E'{}'", escaped.replace('\\', "\\\\"))
    } else {
        format!("'{escaped}'")
    }
}

/// An integer or decimal constant as ruleutils prints one of type `ty`: negative ones quoted
/// and labelled, an integer constant of numeric type labelled.
fn number_text(n: &str, ty: SqlType) -> Option<String> {
    let neg = n.starts_with('-');
    match ty {
        SqlType::Int4 if neg => Some(format!("'{n}'::integer")),
        SqlType::Int4 => Some(n.to_string()),
        SqlType::Int8 => Some(format!("'{n}'::bigint")),
        t if t.is_decimal() => {
            if neg {
                Some(format!("'{n}'::numeric"))
            } else if n.contains('.') {
                Some(n.to_string())
            } else {
                Some(format!("{n}::numeric"))
            }
        }
        _ => None,
    }
}

impl Printer {
    fn column(&self, qualifier: Option<&ast::Ident>, id: &ast::Ident) -> Option<Node> {
        let name = fold(id);
        let hits: Vec<&Rte> = match qualifier {
            Some(q) => {
                let q = fold(q);
                self.rtes.iter().filter(|r| r.refname == q).collect()
            }
            None => self.rtes.iter().filter(|r| r.def.column(&name).is_some()).collect(),
        };
        // An unqualified name in several FROM items: only a merged USING column of plain
        // joins (the left one's) is printed here.
        let r = match hits.as_slice() {
            [r] => r,
            [r, ..] if qualifier.is_none() && self.joins_plain && self.has_using => r,
            _ => return None,
        };
        let c = &r.def.columns[r.def.column(&name)?];
        let mut n = Node::new(format!("{}.{}", quote_ident(&r.refname), quote_ident(&c.name)), Kind::Simple, c.ty);
        n.column = Some(c.name.clone());
        Some(n)
    }

    /// A constant typed as its context asks, or a typed node as is.
    fn typed(&self, n: Node, ty: SqlType) -> Option<Node> {
        let Some(s) = &n.literal else { return Some(n) };
        let text = if ty == SqlType::Text {
            format!("{}::text", quote_literal(s))
        } else if is_int(ty) {
            let v: i64 = s.trim().parse().ok()?;
            number_text(&v.to_string(), SqlType::Int4)?
        } else {
            return None;
        };
        Some(Node::new(text, Kind::Simple, ty))
    }

    /// `child` under `parent` (pretty: parenthesised where precedence needs it).
    fn paren(&self, child: &Node, parent: Kind, left: bool) -> String {
        if !self.pretty || simple_under(child.kind, parent, left) {
            child.text.clone()
        } else {
            format!("({})", child.text)
        }
    }

    /// `text` as an operator's own text: parenthesised when not pretty.
    fn wrap(&self, text: String) -> String {
        if self.pretty {
            text
        } else {
            format!("({text})")
        }
    }

    fn binary(&self, l: Node, op: &'static str, r: Node, result: Option<SqlType>) -> Option<Node> {
        let (l, r) = match (l.ty, r.ty) {
            (Some(_), Some(_)) => (l, r),
            (Some(a), None) => {
                let r = self.typed(r, a)?;
                (l, r)
            }
            (None, Some(b)) => {
                let l = self.typed(l, b)?;
                (l, r)
            }
            _ => return None,
        };
        let (a, b) = (l.ty?, r.ty?);
        if !same_family(a, b) {
            return None;
        }
        let ty = match result {
            Some(t) => t,
            None if is_int(a) => {
                if a == SqlType::Int8 || b == SqlType::Int8 {
                    SqlType::Int8
                } else if a == SqlType::Int4 || b == SqlType::Int4 {
                    SqlType::Int4
                } else {
                    SqlType::Int2
                }
            }
            None if a.is_decimal() => SqlType::NUMERIC,
            None if a == SqlType::Text && op == "||" => SqlType::Text,
            None => return None,
        };
        let kind = Kind::Op(Some(op));
        let text = format!("{} {op} {}", self.paren(&l, kind, true), self.paren(&r, kind, false));
        Some(Node::new(self.wrap(text), kind, ty))
    }

    fn boolean(&self, parts: Vec<Node>, kind: Kind) -> Option<Node> {
        if parts.iter().any(|p| p.ty != Some(SqlType::Bool)) {
            return None;
        }
        let word = if kind == Kind::And { " AND " } else { " OR " };
        let texts: Vec<String> = parts.iter().map(|p| self.paren(p, kind, false)).collect();
        Some(Node::new(self.wrap(texts.join(word)), kind, SqlType::Bool))
    }

    /// The operands of a left-nested chain of one boolean operator, as PostgreSQL's parser
    /// flattens it (only the left side: `a AND (b AND c)` stays nested).
    fn flatten<'a>(e: &'a ast::Expr, op: &ast::BinaryOperator, out: &mut Vec<&'a ast::Expr>) {
        match e {
            ast::Expr::BinaryOp { left, op: o, right } if o == op => {
                Self::flatten(left, op, out);
                out.push(right);
            }
            other => out.push(other),
        }
    }

    fn expr(&self, e: &ast::Expr) -> Option<Node> {
        use ast::BinaryOperator as B;
        use ast::Expr as E;
        match e {
            E::Identifier(id) => self.column(None, id),
            E::CompoundIdentifier(ids) => match ids.as_slice() {
                [q, c] => self.column(Some(q), c),
                _ => None,
            },
            E::Nested(inner) => self.expr(inner),
            E::Value(v) => match &v.value {
                ast::Value::Number(n, _) => self.number(n),
                ast::Value::SingleQuotedString(s) => Some(Node {
                    text: String::new(),
                    kind: Kind::Simple,
                    ty: None,
                    literal: Some(s.clone()),
                    column: None,
                }),
                ast::Value::Boolean(b) => {
                    Some(Node::new(if *b { "true" } else { "false" }.into(), Kind::Simple, SqlType::Bool))
                }
                _ => None,
            },
            E::UnaryOp { op: ast::UnaryOperator::Minus, expr } => {
                if let E::Value(v) = expr.as_ref() {
                    if let ast::Value::Number(n, _) = &v.value {
                        return self.number(&format!("-{n}"));
                    }
                }
                let n = self.expr(expr)?;
                let ty = n.ty.filter(|t| is_int(*t) || t.is_decimal())?;
                let kind = Kind::Op(None);
                Some(Node::new(self.wrap(format!("- {}", self.paren(&n, kind, false))), kind, ty))
            }
            E::UnaryOp { op: ast::UnaryOperator::Not, expr } => {
                let n = self.expr(expr)?;
                if n.ty != Some(SqlType::Bool) {
                    return None;
                }
                Some(Node::new(
                    self.wrap(format!("NOT {}", self.paren(&n, Kind::Not, false))),
                    Kind::Not,
                    SqlType::Bool,
                ))
            }
            E::BinaryOp { op: op @ (B::And | B::Or), .. } => {
                let mut parts = Vec::new();
                Self::flatten(e, op, &mut parts);
                let nodes = parts.into_iter().map(|p| self.expr(p)).collect::<Option<Vec<_>>>()?;
                self.boolean(nodes, if *op == B::And { Kind::And } else { Kind::Or })
            }
            E::BinaryOp { left, op, right } => {
                let (name, result) = match op {
                    B::Eq => ("=", Some(SqlType::Bool)),
                    B::NotEq => ("<>", Some(SqlType::Bool)),
                    B::Lt => ("<", Some(SqlType::Bool)),
                    B::LtEq => ("<=", Some(SqlType::Bool)),
                    B::Gt => (">", Some(SqlType::Bool)),
                    B::GtEq => (">=", Some(SqlType::Bool)),
                    B::Plus => ("+", None),
                    B::Minus => ("-", None),
                    B::Multiply => ("*", None),
                    B::Divide => ("/", None),
                    B::Modulo => ("%", None),
                    B::StringConcat => ("||", None),
                    _ => return None,
                };
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                if l.literal.is_some() && r.literal.is_some() {
                    return None;
                }
                // Division and modulo of integers keep their type; of text there are none.
                self.binary(l, name, r, result)
            }
            E::Like { negated, any: false, expr, pattern, escape_char: None } => {
                self.like(expr, pattern, *negated, false)
            }
            E::ILike { negated, any: false, expr, pattern, escape_char: None } => {
                self.like(expr, pattern, *negated, true)
            }
            E::Between { expr, negated: false, low, high } => {
                let ge = self.binary(self.expr(expr)?, ">=", self.expr(low)?, Some(SqlType::Bool))?;
                let le = self.binary(self.expr(expr)?, "<=", self.expr(high)?, Some(SqlType::Bool))?;
                self.boolean(vec![ge, le], Kind::And)
            }
            E::IsNull(inner) | E::IsNotNull(inner) => {
                let n = self.expr(inner)?;
                if n.literal.is_some() {
                    return None;
                }
                let word = if matches!(e, E::IsNull(_)) { "IS NULL" } else { "IS NOT NULL" };
                let text = format!("{} {word}", self.paren(&n, Kind::NullTest, true));
                Some(Node::new(self.wrap(text), Kind::NullTest, SqlType::Bool))
            }
            E::Function(f) => self.function(f),
            E::Cast { kind: ast::CastKind::Cast | ast::CastKind::DoubleColon, expr, data_type, format: None } => {
                self.cast(expr, data_type)
            }
            E::In { expr, target: ast::InTarget::List(list), negated, global: false } => {
                self.in_list(expr, list, *negated)
            }
            _ => None,
        }
    }

    /// `x::type` / `CAST(x AS type)` of a column or an expression: `t.a::bigint` (not pretty:
    /// `(t.a)::bigint`); of a string constant, the constant of that type (`'x'::text`, `5`).
    /// A cast to the value's own type (which PostgreSQL leaves out) and casts of numbers are
    /// not printed here.
    fn cast(&self, expr: &ast::Expr, data_type: &ast::DataType) -> Option<Node> {
        let ty = crate::bind::sql_type(data_type).ok()?;
        let n = self.expr(expr)?;
        if n.literal.is_some() {
            return match ty {
                SqlType::Text | SqlType::Int4 => self.typed(n, ty),
                _ => None,
            };
        }
        let from = n.ty?;
        // An integer constant cast to numeric (PostgreSQL's text for one coerced to it).
        if ty.is_decimal() && is_int(from) && n.column.is_none() && n.text.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Node::new(format!("({})::numeric", n.text), Kind::Simple, SqlType::NUMERIC));
        }
        if from == ty || (n.column.is_none() && n.kind == Kind::Simple && !n.text.contains('(')) {
            return None;
        }
        let name = ty.name();
        let text = if !self.pretty {
            format!("({})::{name}", n.text)
        } else if n.kind == Kind::Simple {
            format!("{}::{name}", n.text)
        } else {
            format!("({})::{name}", n.text)
        };
        Some(Node::new(text, Kind::Simple, ty))
    }

    /// `x [NOT] IN (...)` as PostgreSQL's parser makes it: `x = ANY (ARRAY[...])` (`<> ALL`),
    /// or an operator for one value; over an integer or text column and constants only.
    fn in_list(&self, expr: &ast::Expr, list: &[ast::Expr], negated: bool) -> Option<Node> {
        let l = self.expr(expr)?;
        let ty = l.ty.filter(|t| matches!(t, SqlType::Int4 | SqlType::Text))?;
        l.column.as_ref()?;
        let mut items = Vec::new();
        for e in list {
            let n = self.expr(e)?;
            if n.column.is_some() || (n.literal.is_none() && n.ty != Some(ty)) {
                return None;
            }
            items.push(self.typed(n, ty)?);
        }
        let op = if negated { "<>" } else { "=" };
        if let [one] = &items[..] {
            let one = Node::new(one.text.clone(), Kind::Simple, ty);
            return self.binary(l, op, one, Some(SqlType::Bool));
        }
        let texts: Vec<&str> = items.iter().map(|n| n.text.as_str()).collect();
        let quantifier = if negated { "ALL" } else { "ANY" };
        let text = format!("{} {op} {quantifier} (ARRAY[{}])", l.text, texts.join(", "));
        Some(Node::new(self.wrap(text), Kind::ArrayOp, SqlType::Bool))
    }

    fn number(&self, n: &str) -> Option<Node> {
        if let Ok(v) = n.parse::<i64>() {
            let ty = if i32::try_from(v).is_ok() { SqlType::Int4 } else { SqlType::Int8 };
            return Some(Node::new(number_text(&v.to_string(), ty)?, Kind::Simple, ty));
        }
        if n.trim_start_matches('-').chars().all(|c| c.is_ascii_digit() || c == '.') && n.contains('.') {
            return Some(Node::new(number_text(n, SqlType::NUMERIC)?, Kind::Simple, SqlType::NUMERIC));
        }
        None
    }

    fn like(&self, expr: &ast::Expr, pattern: &ast::Expr, negated: bool, ilike: bool) -> Option<Node> {
        let op = match (negated, ilike) {
            (false, false) => "~~",
            (true, false) => "!~~",
            (false, true) => "~~*",
            (true, true) => "!~~*",
        };
        let (l, r) = (self.expr(expr)?, self.expr(pattern)?);
        if l.ty != Some(SqlType::Text) {
            return None;
        }
        self.binary(l, op, r, Some(SqlType::Bool))
    }

    fn function(&self, f: &ast::Function) -> Option<Node> {
        if f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() || f.null_treatment.is_some() {
            return None;
        }
        let [part] = f.name.0.as_slice() else { return None };
        let name = fold(part.as_ident()?);
        let ast::FunctionArguments::List(l) = &f.args else { return None };
        if !l.clauses.is_empty() {
            return None;
        }
        let distinct = match l.duplicate_treatment {
            None => false,
            Some(ast::DuplicateTreatment::Distinct) => true,
            Some(ast::DuplicateTreatment::All) => return None,
        };
        let mut args = Vec::new();
        for a in &l.args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => args.push(self.expr(e)?),
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) if name == "count" && l.args.len() == 1 => {
                    return (!distinct).then(|| Node::new("count(*)".into(), Kind::Simple, SqlType::Int8));
                }
                _ => return None,
            }
        }
        let [arg] = args.as_slice() else { return None };
        let ty = arg.ty?;
        let result = match name.as_str() {
            "count" => SqlType::Int8,
            "sum" if matches!(ty, SqlType::Int2 | SqlType::Int4) => SqlType::Int8,
            "sum" if ty == SqlType::Int8 || ty.is_decimal() => SqlType::NUMERIC,
            "avg" if is_int(ty) || ty.is_decimal() => SqlType::NUMERIC,
            "min" | "max" if is_int(ty) || ty.is_decimal() || ty == SqlType::Text => ty,
            "lower" | "upper" if ty == SqlType::Text && !distinct => SqlType::Text,
            "length" if ty == SqlType::Text && !distinct => SqlType::Int4,
            _ => return None,
        };
        // Arguments print without parentheses of their own (the call's are enough).
        let text = format!("{name}({}{})", if distinct { "DISTINCT " } else { "" }, arg.text);
        Some(Node::new(text, Kind::Simple, result))
    }
}

/// ruleutils.c's isSimpleNode for the kinds printed here: whether `child` needs no parentheses
/// as an operand of `parent` (`left`: its first operand).
fn simple_under(child: Kind, parent: Kind, left: bool) -> bool {
    let arith = |op: Option<&str>| match op {
        Some("+" | "-") => Some(false),
        Some("*" | "/" | "%") => Some(true),
        _ => None,
    };
    match child {
        Kind::Simple => true,
        Kind::Op(op) => match parent {
            Kind::Op(pop) => match (arith(op), arith(pop)) {
                (Some(hi), Some(phi)) if hi != phi => hi,
                (Some(_), Some(_)) => left,
                _ => false,
            },
            Kind::And | Kind::Or | Kind::Not => true,
            _ => false,
        },
        Kind::NullTest => matches!(parent, Kind::And | Kind::Or | Kind::Not),
        Kind::Not | Kind::And => matches!(parent, Kind::And | Kind::Or),
        Kind::Or => parent == Kind::Or,
        Kind::ArrayOp => false,
    }
}
