//! pg_get_viewdef's text: a view's query printed back as PostgreSQL 15's ruleutils.c prints it
//! (`get_query_def`), e.g.
//!
//! ```text
//!  SELECT t.a,
//!     count(*) AS n,
//!         CASE
//!             WHEN t.c > 1 THEN 'big'::text
//!             ELSE NULL::text
//!         END AS size
//!    FROM t
//!      JOIN u ON t.a = u.a
//!   WHERE t.c > 1 AND (EXISTS ( SELECT 1
//!            FROM v
//!           WHERE v.a = t.a))
//!   GROUP BY t.a, t.c
//!   ORDER BY t.a;
//! ```
//!
//! Columns qualified by their FROM item (an inner query's FROM item named as an outer one is
//! renamed `name_1`, as ruleutils' set_rtable_names does), every select-list item but a
//! same-named column given its `AS` name, `*` expanded, constants labelled with their type
//! (`'x'::text`, `NULL::integer`, `1::numeric`), the implicit casts PostgreSQL's parser inserts
//! shown where ruleutils shows them (operator and function arguments, CASE and COALESCE
//! results: `t.a::numeric + 1.5`, `length(t.v::text)`), `LIKE` as `~~`, `BETWEEN` as two
//! comparisons, `IN (...)` as `= ANY (ARRAY[...])`, ORDER BY / GROUP BY positions and output
//! names replaced by the expressions, CASE on lines of its own; with `pretty` only the
//! parentheses precedence needs (psql's `\d+` view), else every operator parenthesised.
//!
//! PostgreSQL prints the query it parsed and analysed; this prints the stored SQL text, so it
//! covers only what it can type without the analyser: one SELECT or a chain of one set
//! operation over SELECTs, over tables and views of schema public and derived tables
//! (`( SELECT ...) s`), with scalar, EXISTS and IN subqueries, DISTINCT, CASE, COALESCE /
//! NULLIF / GREATEST / LEAST, casts between the number, text and varchar types, IS [NOT]
//! DISTINCT FROM, IS [NOT] TRUE / FALSE / UNKNOWN and a table of functions
//! ([`function_result`]), window functions and WINDOW, DISTINCT ON, non-recursive WITH,
//! FULL JOIN ... ON and NATURAL joins (printed `JOIN u USING (a)`, as PostgreSQL does). Any
//! other view's definition (WITH RECURSIVE, a window frame, FULL JOIN USING, LATERAL, a
//! constant of a type it cannot print as PostgreSQL does...) is the SQL text Orbit keeps
//! ([`deparse`] gives None): never a text PostgreSQL would not print.

use orbit_engine::table::{SqlType, TableDef};
use sqlparser::ast;
use std::cell::Cell;
use std::sync::Arc;

/// ruleutils.c's indentation steps: a query level, a JOIN keyword, a CASE's WHEN lines.
const INDENT_STD: i32 = 8;
const INDENT_JOIN: i32 = 4;
const INDENT_VAR: i32 = 4;
/// Past this indentation ruleutils wraps it (PRETTYINDENT_LIMIT).
const INDENT_LIMIT: i32 = 40;

/// The view query `sql` as pg_get_viewdef prints it (`pretty`: its second argument true), or
/// None when it uses what this printer does not cover.
/// `names`: the view's column names (a column list in CREATE VIEW renames the items).
pub(crate) fn deparse(sql: &str, names: &[String], pretty: bool) -> Option<String> {
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let q = sqlparser::parser::Parser::new(&dialect).try_with_sql(sql).ok()?.parse_query().ok()?;
    let mut p = Printer::new(pretty, 0, Vec::new(), Vec::new(), true);
    p.query(&q, Some(names))?;
    let mut out = trim_line_ends(&p.out);
    out.push(';');
    Some(out)
}

/// The spaces appendContextKeyword writes for indentation `level` plus `plus`.
fn indent_amount(level: i32, plus: i32) -> usize {
    let level = level.max(0);
    let amount = if level < INDENT_LIMIT {
        level + plus
    } else {
        (INDENT_LIMIT + (level - INDENT_LIMIT) / (INDENT_STD / 2)) % INDENT_LIMIT + plus
    };
    amount.max(0) as usize
}

/// Spaces before a line break removed, as appendContextKeyword removes them before it starts
/// a line (outside quoted constants and identifiers, which keep theirs).
fn trim_line_ends(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut quote: Option<char> = None;
    for ch in s.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None if ch == '\'' || ch == '"' => quote = Some(ch),
            None if ch == '\n' => {
                let kept = out.trim_end_matches(' ').len();
                out.truncate(kept);
            }
            None => {}
        }
        out.push(ch);
    }
    out
}

/// PostgreSQL 15's keywords that are not unreserved (`pg_get_keywords()` with catcode other
/// than `U`): quote_identifier quotes them.
const QUOTED_KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// An identifier as ruleutils prints it (quote_identifier): quoted unless lower case letters,
/// digits and underscores not starting with a digit, and not a keyword other than an
/// unreserved one (`"case"`).
fn quote_ident(s: &str) -> String {
    if QUOTED_KEYWORDS.contains(&s) {
        return format!("\"{s}\"");
    }
    crate::regtypes::quote_ident(s)
}

/// What decides whether an expression needs parentheses under another (ruleutils.c's
/// `isSimpleNode`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// A column, constant, function call, cast or CASE.
    Simple,
    /// A binary operator (its name); `None` for a prefix one.
    Op(Option<&'static str>),
    And,
    Or,
    Not,
    /// IS [NOT] NULL, IS [NOT] TRUE/FALSE/UNKNOWN, IS DISTINCT FROM, a subquery (SubLink).
    Test,
    /// Parenthesised under any operator: `x = ANY (ARRAY[...])` (an IN list), a cast that is
    /// no function call (an I/O conversion, a relabelling) of an operator's result.
    ArrayOp,
}

/// A constant without a type of its own: PostgreSQL gives it the type its context asks for.
#[derive(Clone, PartialEq, Eq, Debug)]
enum Lit {
    /// A string constant (`'x'`).
    Str(String),
    /// `NULL`.
    Null,
}

#[derive(Clone, Debug)]
struct Node {
    text: String,
    kind: Kind,
    /// The value's type (None: an untyped constant, typed by its context).
    ty: Option<SqlType>,
    /// An untyped constant.
    literal: Option<Lit>,
    /// A column's name (it needs no `AS` when the output is named as it).
    column: Option<String>,
    /// A function call, aggregate or function-call cast (ruleutils' FuncExpr / Aggref):
    /// ORDER BY and GROUP BY parenthesise these even when not pretty.
    func: bool,
    /// A constant (ORDER BY and GROUP BY print a constant as a position).
    constant: bool,
}

impl Node {
    fn new(text: String, kind: Kind, ty: SqlType) -> Node {
        Node { text, kind, ty: Some(ty), literal: None, column: None, func: false, constant: false }
    }

    fn literal(lit: Lit) -> Node {
        Node {
            text: String::new(),
            kind: Kind::Simple,
            ty: None,
            literal: Some(lit),
            column: None,
            func: false,
            constant: true,
        }
    }

    fn constant(text: String, ty: SqlType) -> Node {
        Node { constant: true, ..Node::new(text, Kind::Simple, ty) }
    }
}

/// Where a FROM item's rows come from.
#[derive(Clone)]
enum Source {
    Relation(Arc<TableDef>),
    /// A derived table: its query as printed.
    Derived(String),
    /// A WITH query (by its name).
    Cte(String),
}

/// A FROM item: the name the SQL text refers to it by, the name it is printed with (unique
/// across the query levels around it), its columns.
#[derive(Clone)]
struct Rte {
    sql_name: String,
    refname: String,
    columns: Vec<(String, SqlType)>,
    source: Source,
}

impl Rte {
    fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|(c, _)| c == name)
    }
}

struct Printer {
    pretty: bool,
    /// The indentation the query started at (a subquery's is where it is printed).
    base: i32,
    /// ruleutils' context->indentLevel.
    indent: i32,
    /// Indentation an expression adds while it prints its parts (CASE's WHEN lines).
    extra: Cell<i32>,
    out: String,
    rtes: Vec<Rte>,
    /// The FROM items of the query levels around this one, the innermost last.
    outer: Vec<Vec<Rte>>,
    /// The names the query levels around this one print their FROM items with.
    taken: Vec<String>,
    /// Every join is INNER, LEFT or CROSS (a merged USING column is then the left one's).
    joins_plain: bool,
    /// Some join has USING.
    has_using: bool,
    /// Output names are visible (the view's and a derived table's; not a subquery
    /// expression's, whose `?column?` items print without `AS`).
    col_names_visible: bool,
    /// The WITH queries in scope: their names and columns.
    ctes: Vec<(String, Vec<(String, SqlType)>)>,
    /// This SELECT's named windows (WINDOW w AS (...)): their names and printed texts.
    windows: Vec<(String, String)>,
    /// Which of the last SELECT's items were untyped constants (printed as text).
    untyped_items: Vec<bool>,
}

/// A sort key's text with its direction as ruleutils prints it: ` DESC`, and NULLS FIRST/LAST
/// only where it is not the direction's default; None for `USING op`.
fn with_direction(mut t: String, o: &ast::OrderByExpr) -> Option<String> {
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
    Some(t)
}

fn fold(id: &ast::Ident) -> String {
    crate::bind::fold_ident(id)
}

fn is_int(t: SqlType) -> bool {
    matches!(t, SqlType::Int2 | SqlType::Int4 | SqlType::Int8)
}

/// The type without its modifier (`varchar(10)` is `varchar`): what an implicit coercion or a
/// common type of several values is.
pub(crate) fn strip_typmod(t: SqlType) -> SqlType {
    match t {
        SqlType::Varchar(_) => SqlType::Varchar(None),
        SqlType::Numeric(_) => SqlType::NUMERIC,
        SqlType::Bpchar(_) => SqlType::Bpchar(None),
        SqlType::Timestamp(_) => SqlType::Timestamp(None),
        SqlType::TimestampTz(_) => SqlType::TimestampTz(None),
        t => t,
    }
}

/// The types this printer reasons about (their operators, casts and constants).
fn known_type(t: SqlType) -> bool {
    matches!(
        t,
        SqlType::Bool
            | SqlType::Int2
            | SqlType::Int4
            | SqlType::Int8
            | SqlType::Float8
            | SqlType::Text
            | SqlType::Varchar(_)
            | SqlType::Numeric(_)
            | SqlType::Date
            | SqlType::Timestamp(_)
            | SqlType::TimestampTz(_)
    )
}

/// The type several values are brought to (PostgreSQL's select_common_type for the types
/// here: the widest integer, numeric over integers, double precision over both).
fn common_type(types: &[SqlType]) -> Option<SqlType> {
    let first = strip_typmod(*types.first()?);
    if types.iter().all(|t| strip_typmod(*t) == first) {
        return Some(first);
    }
    if types.iter().all(|t| is_int(*t)) {
        return types.iter().copied().max_by_key(|t| int_rank(*t));
    }
    if types.iter().all(|t| is_int(*t) || t.is_decimal()) {
        return Some(SqlType::NUMERIC);
    }
    if types.iter().all(|t| is_int(*t) || t.is_decimal() || *t == SqlType::Float8) {
        return Some(SqlType::Float8);
    }
    // (text with varchar: PostgreSQL keeps the first one's type; not printed here.)
    None
}

fn int_rank(t: SqlType) -> u8 {
    match t {
        SqlType::Int2 => 0,
        SqlType::Int4 => 1,
        _ => 2,
    }
}

/// The name FigureColname gives a cast to `t` of what has no name of its own (the type's
/// internal name).
fn type_colname(t: SqlType) -> Option<&'static str> {
    Some(match t {
        SqlType::Bool => "bool",
        SqlType::Int2 => "int2",
        SqlType::Int4 => "int4",
        SqlType::Int8 => "int8",
        SqlType::Float8 => "float8",
        SqlType::Text => "text",
        SqlType::Varchar(_) => "varchar",
        SqlType::Numeric(_) => "numeric",
        SqlType::Date => "date",
        SqlType::Timestamp(_) => "timestamp",
        SqlType::TimestampTz(_) => "timestamptz",
        _ => return None,
    })
}

impl Printer {
    fn new(pretty: bool, indent: i32, outer: Vec<Vec<Rte>>, taken: Vec<String>, col_names_visible: bool) -> Printer {
        Printer {
            pretty,
            base: indent,
            indent,
            extra: Cell::new(0),
            out: String::new(),
            rtes: Vec::new(),
            outer,
            taken,
            joins_plain: true,
            has_using: false,
            col_names_visible,
            ctes: Vec::new(),
            windows: Vec::new(),
            untyped_items: Vec::new(),
        }
    }

    /// ruleutils.c's appendContextKeyword.
    fn keyword(&mut self, s: &str, before: i32, after: i32, plus: i32) {
        self.indent += before;
        let trimmed = self.out.trim_end_matches(' ').len();
        self.out.truncate(trimmed);
        self.out.push('\n');
        self.out.push_str(&" ".repeat(indent_amount(self.indent, plus)));
        self.out.push_str(s);
        self.indent = (self.indent + after).max(0);
    }

    /// `, ` then an item on a line of its own (wrapColumn 0: every item wraps), unless the
    /// item starts a line itself (a CASE).
    fn next_item(&mut self, item: &str) {
        self.out.push_str(", ");
        if !item.starts_with('\n') {
            self.keyword("", -INDENT_STD, INDENT_STD, 4);
        }
    }

    /// The indentation expressions print at.
    fn expr_indent(&self) -> i32 {
        self.indent + self.extra.get()
    }

    /// A query nested in this one (a subquery expression or a derived table), printed at the
    /// current indentation: its text and its items with their output names.
    fn subquery(&self, q: &ast::Query, col_names_visible: bool) -> Option<(String, Vec<(Node, String)>)> {
        let mut outer = self.outer.clone();
        outer.push(self.rtes.clone());
        let mut taken = self.taken.clone();
        taken.extend(self.rtes.iter().map(|r| r.refname.clone()));
        let mut child = Printer::new(self.pretty, self.expr_indent(), outer, taken, col_names_visible);
        child.ctes = self.ctes.clone();
        let targets = child.query(q, None)?;
        Some((child.out, targets))
    }

    /// Prints the query; gives its items with their output names (for a set operation, the
    /// first SELECT's).
    fn query(&mut self, q: &ast::Query, names: Option<&[String]>) -> Option<Vec<(Node, String)>> {
        if q.fetch.is_some() || !q.locks.is_empty() || q.for_clause.is_some() {
            return None;
        }
        if let Some(with) = &q.with {
            self.with(with, q)?;
        }
        // A SELECT, or a chain of one set operation over SELECTs (whose ORDER BY names output
        // columns by number, as ruleutils prints a set operation's).
        let (targets, set_op) = match q.body.as_ref() {
            ast::SetExpr::Select(s) => (self.select(s, names)?, false),
            body @ ast::SetExpr::SetOperation { .. } => (self.set_operation(body, names)?, true),
            _ => return None,
        };
        if let Some(ob) = &q.order_by {
            let ast::OrderByKind::Expressions(items) = &ob.kind else { return None };
            if ob.interpolate.is_some() {
                return None;
            }
            let outputs: Vec<String> = targets.iter().map(|t| t.1.clone()).collect();
            let mut texts = Vec::new();
            for o in items {
                if o.with_fill.is_some() {
                    return None;
                }
                let t = if set_op { position(&o.expr, &outputs)? } else { self.sort_item(&o.expr, &targets, true)? };
                texts.push(with_direction(t, o)?);
            }
            self.keyword(" ORDER BY ", -INDENT_STD, INDENT_STD, 1);
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
                self.keyword(" OFFSET ", -INDENT_STD, INDENT_STD, 0);
                self.out.push_str(&n);
            }
            if let Some(l) = limit {
                let n = match l {
                    ast::Expr::Value(v) if matches!(v.value, ast::Value::Null) => "ALL".to_string(),
                    e => count(e)?,
                };
                self.keyword(" LIMIT ", -INDENT_STD, INDENT_STD, 0);
                self.out.push_str(&n);
            }
        }
        Some(targets)
    }
}

impl Printer {
    /// A WITH clause (not RECURSIVE; no MATERIALIZED, no column names), before a SELECT: each
    /// query on lines of its own, its FROM items named apart from the SELECT's (which
    /// ruleutils names first).
    fn with(&mut self, with: &ast::With, q: &ast::Query) -> Option<()> {
        let ast::SetExpr::Select(main) = q.body.as_ref() else { return None };
        if with.recursive {
            return None;
        }
        // The WITH queries' columns, each seeing the ones before it.
        let ctes_before = self.ctes.len();
        for cte in &with.cte_tables {
            if cte.materialized.is_some() || cte.from.is_some() || !cte.alias.columns.is_empty() {
                return None;
            }
            let name = fold(&cte.alias.name);
            if self.ctes[ctes_before..].iter().any(|(n, _)| *n == name) {
                return None;
            }
            let (_, targets) = self.subquery(&cte.query, true)?;
            let mut columns: Vec<(String, SqlType)> = Vec::new();
            for (n, c) in targets {
                if columns.iter().any(|(x, _)| *x == c) {
                    return None;
                }
                columns.push((c, n.ty?));
            }
            self.ctes.push((name, columns));
        }
        // The names the SELECT prints its FROM items with.
        let mut dry = Printer::new(self.pretty, self.indent, self.outer.clone(), self.taken.clone(), true);
        dry.ctes = self.ctes.clone();
        dry.range_table(&main.from)?;
        let main_names: Vec<String> = dry.rtes.iter().map(|r| r.refname.clone()).collect();
        let all_ctes = std::mem::take(&mut self.ctes);
        self.indent += INDENT_STD;
        self.out.push(' ');
        let mut result = Some(());
        for (i, cte) in with.cte_tables.iter().enumerate() {
            self.out.push_str(if i == 0 { "WITH " } else { ", " });
            self.out.push_str(&quote_ident(&all_ctes[ctes_before + i].0));
            self.out.push_str(" AS (");
            self.keyword("", 0, 0, 0);
            self.ctes = all_ctes[..ctes_before + i].to_vec();
            let taken_before = self.taken.len();
            self.taken.extend(main_names.iter().cloned());
            let printed = self.subquery(&cte.query, true);
            self.taken.truncate(taken_before);
            let Some((text, _)) = printed else {
                result = None;
                break;
            };
            self.out.push_str(&text);
            self.keyword("", 0, 0, 0);
            self.out.push(')');
        }
        self.ctes = all_ctes;
        self.indent -= INDENT_STD;
        self.keyword("", 0, 0, 0);
        result
    }

    /// One SELECT (ruleutils' get_basic_select_query), its items named `names` (None: their
    /// own names): the items with their names in the query, for ORDER BY.
    fn select(&mut self, s: &ast::Select, names: Option<&[String]>) -> Option<Vec<(Node, String)>> {
        self.range_table(&s.from)?;
        if s.top.is_some()
            || s.into.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || s.qualify.is_some()
            || !s.connect_by.is_empty()
        {
            return None;
        }
        self.indent += INDENT_STD;
        // The named windows, as their definitions print (one naming another is not printed
        // here).
        self.windows.clear();
        for ast::NamedWindowDefinition(name, def) in &s.named_window {
            let ast::NamedWindowExpr::WindowSpec(spec) = def else { return None };
            let text = self.window_spec(spec)?;
            let name = fold(name);
            if self.windows.iter().any(|(n, _)| *n == name) {
                return None;
            }
            self.windows.push((name, text));
        }
        // The select list, with each item's expression for ORDER BY / GROUP BY references.
        let mut targets: Vec<(Node, String)> = Vec::new();
        for item in &s.projection {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    let n = self.expr(e)?;
                    let name = match &n.column {
                        Some(c) => c.clone(),
                        None => output_name(e)?.0,
                    };
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
                    let i = self.rtes.iter().position(|r| r.sql_name == name)?;
                    targets.extend(self.all_columns(i));
                }
                _ => return None,
            }
        }
        // An item without a type of its own is text (NULL::text, 'x'::text).
        self.untyped_items = targets.iter().map(|(n, _)| n.literal.is_some()).collect();
        for (n, _) in targets.iter_mut() {
            if n.literal.is_some() {
                *n = self.coerce(n.clone(), SqlType::Text)?;
            }
        }
        self.out.push_str(" SELECT");
        match &s.distinct {
            None => {}
            Some(ast::Distinct::Distinct) => self.out.push_str(" DISTINCT"),
            Some(ast::Distinct::On(exprs)) => {
                let items = exprs.iter().map(|e| self.sort_item(e, &targets, true)).collect::<Option<Vec<_>>>()?;
                self.out.push_str(&format!(" DISTINCT ON ({})", items.join(", ")));
            }
            Some(_) => return None,
        }
        // The view's column names name the items; ORDER BY reads the query's own.
        let shown: Vec<String> = match names {
            Some(names) if names.len() == targets.len() => names.to_vec(),
            Some(_) => return None,
            None => targets.iter().map(|t| t.1.clone()).collect(),
        };
        for (i, ((n, _), name)) in targets.iter().zip(&shown).enumerate() {
            let mut item = n.text.clone();
            let as_needed = match &n.column {
                Some(c) => c != name,
                None => self.col_names_visible || name != "?column?",
            };
            if as_needed {
                item.push_str(" AS ");
                item.push_str(&quote_ident(name));
            }
            if i == 0 {
                self.out.push(' ');
            } else {
                self.next_item(&item);
            }
            self.out.push_str(&item);
        }
        self.print_from(&s.from)?;
        if let Some(w) = &s.selection {
            let n = self.expr(w)?;
            if n.ty != Some(SqlType::Bool) {
                return None;
            }
            self.keyword(" WHERE ", -INDENT_STD, INDENT_STD, 1);
            self.out.push_str(&n.text);
        }
        match &s.group_by {
            ast::GroupByExpr::Expressions(exprs, mods) if mods.is_empty() => {
                if !exprs.is_empty() {
                    let items = exprs.iter().map(|e| self.sort_item(e, &targets, false)).collect::<Option<Vec<_>>>()?;
                    self.keyword(" GROUP BY ", -INDENT_STD, INDENT_STD, 1);
                    self.out.push_str(&items.join(", "));
                }
            }
            _ => return None,
        }
        if let Some(h) = &s.having {
            let n = self.expr(h)?;
            if n.ty != Some(SqlType::Bool) {
                return None;
            }
            self.keyword(" HAVING ", -INDENT_STD, INDENT_STD, 0);
            self.out.push_str(&n.text);
        }
        if !self.windows.is_empty() {
            let defs: Vec<String> =
                self.windows.iter().map(|(name, text)| format!("{} AS {text}", quote_ident(name))).collect();
            self.keyword(" WINDOW ", -INDENT_STD, INDENT_STD, 1);
            self.out.push_str(&defs.join(", "));
        }
        Some(targets)
    }

    /// `a UNION b [UNION c ...]` (one operator throughout, as PostgreSQL prints without
    /// parentheses): each SELECT on its own lines, its items named `names`; the first one's
    /// items.
    fn set_operation(&mut self, body: &ast::SetExpr, names: Option<&[String]>) -> Option<Vec<(Node, String)>> {
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
        let mut first: Option<Vec<(Node, String)>> = None;
        let mut columns = Vec::new();
        for (i, leaf) in leaves.into_iter().enumerate() {
            // Each SELECT is printed at the operation's indentation, as a query of its own.
            self.indent = self.base;
            self.joins_plain = true;
            self.has_using = false;
            if i > 0 {
                self.keyword("", 0, 0, 0);
                self.out.push_str(word);
                self.out.push_str(all);
                self.keyword("", 0, 0, 0);
            }
            let targets = self.select(leaf, names)?;
            columns.push((targets.iter().map(|(n, _)| n.ty).collect::<Vec<_>>(), self.untyped_items.clone()));
            first.get_or_insert(targets);
        }
        // PostgreSQL prints the leaves as they are, but an untyped constant takes the
        // column's type: printed here only where that is text.
        let width = columns.first()?.0.len();
        if columns.iter().any(|(types, _)| types.len() != width) {
            return None;
        }
        for i in 0..width {
            if columns.iter().any(|(_, untyped)| untyped[i])
                && columns.iter().any(|(types, _)| types[i] != Some(SqlType::Text))
            {
                return None;
            }
        }
        first
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
    /// The name a FROM item is printed with: its own, or with `_N` appended when a query level
    /// around this one or an earlier item here prints that name (set_rtable_names).
    fn unique_name(&self, name: &str, rtes: &[Rte]) -> Option<String> {
        let used = |n: &str| self.taken.iter().any(|t| t == n) || rtes.iter().any(|r| r.refname == n);
        if !used(name) {
            return Some(name.to_string());
        }
        let mut i = 1;
        loop {
            let candidate = format!("{name}_{i}");
            // (A name near NAMEDATALEN would be cut before its digits: not printed here.)
            if candidate.len() >= 64 {
                return None;
            }
            if !used(&candidate) {
                return Some(candidate);
            }
            i += 1;
        }
    }

    /// Fills the FROM items in order: tables and views of schema public, derived tables.
    fn range_table(&mut self, from: &[ast::TableWithJoins]) -> Option<()> {
        let tables = crate::catalog::user_tables();
        let mut factors = Vec::new();
        for twj in from {
            factors.push(&twj.relation);
            for j in &twj.joins {
                factors.push(&j.relation);
                match &j.join_operator {
                    ast::JoinOperator::Join(_)
                    | ast::JoinOperator::Inner(_)
                    | ast::JoinOperator::Left(_)
                    | ast::JoinOperator::LeftOuter(_)
                    | ast::JoinOperator::CrossJoin(_) => {}
                    _ => self.joins_plain = false,
                }
                if let Some(ast::JoinConstraint::Using(_) | ast::JoinConstraint::Natural) =
                    join_constraint(&j.join_operator)
                {
                    self.has_using = true;
                }
            }
        }
        let mut rtes: Vec<Rte> = Vec::new();
        let mut derived = Vec::new();
        for f in factors {
            let (sql_name, columns, source) = match f {
                ast::TableFactor::Table { name, alias, args: None, with_hints, version: None, partitions, .. } => {
                    if !with_hints.is_empty() || !partitions.is_empty() {
                        return None;
                    }
                    // A WITH query in scope (the innermost of a name), else a table of schema
                    // public, qualified (as pg_dump writes it) or not.
                    if let [part] = name.0.as_slice() {
                        let cname = fold(part.as_ident()?);
                        if let Some((_, columns)) = self.ctes.iter().rev().find(|(n, _)| *n == cname) {
                            let sql_name = match alias {
                                Some(a) if a.columns.is_empty() => fold(&a.name),
                                Some(_) => return None,
                                None => cname.clone(),
                            };
                            if rtes.iter().any(|r| r.sql_name == sql_name) {
                                return None;
                            }
                            let refname = self.unique_name(&sql_name, &rtes)?;
                            rtes.push(Rte { sql_name, refname, columns: columns.clone(), source: Source::Cte(cname) });
                            continue;
                        }
                    }
                    // A relation of another schema: its stored text names it qualified
                    // (`bind/view_text.rs` `note_relation`).
                    let tname = match name.0.as_slice() {
                        [part] => fold(part.as_ident()?),
                        [schema, part] => crate::schema::qualify(&fold(schema.as_ident()?), &fold(part.as_ident()?)),
                        _ => return None,
                    };
                    let def = tables.iter().find(|t| t.name == tname && t.index_of.is_none())?.clone();
                    let sql_name = match alias {
                        Some(a) if a.columns.is_empty() => fold(&a.name),
                        Some(_) => return None,
                        None => crate::schema::relname(&tname).to_string(),
                    };
                    let columns = def.columns.iter().map(|c| (c.name.clone(), c.ty)).collect();
                    (sql_name, columns, Source::Relation(def))
                }
                ast::TableFactor::Derived { lateral: false, subquery, alias: Some(a), sample: None }
                    if a.columns.is_empty() =>
                {
                    derived.push((rtes.len(), subquery.as_ref()));
                    (fold(&a.name), Vec::new(), Source::Derived(String::new()))
                }
                _ => return None,
            };
            if rtes.iter().any(|r| r.sql_name == sql_name) {
                return None;
            }
            let refname = self.unique_name(&sql_name, &rtes)?;
            rtes.push(Rte { sql_name, refname, columns, source });
        }
        // The derived tables' queries see every name of this level (and print at the FROM
        // list's indentation), but none of its columns (they are not LATERAL).
        self.rtes = rtes;
        for (i, q) in derived {
            let level = std::mem::take(&mut self.rtes);
            let taken_before = self.taken.len();
            self.taken.extend(level.iter().map(|r| r.refname.clone()));
            self.indent += INDENT_STD;
            let printed = self.subquery(q, true);
            self.indent -= INDENT_STD;
            self.taken.truncate(taken_before);
            self.rtes = level;
            let (text, targets) = printed?;
            let mut columns: Vec<(String, SqlType)> = Vec::new();
            for (n, name) in targets {
                // Duplicate names PostgreSQL would rename in a column alias list.
                if columns.iter().any(|(c, _)| *c == name) {
                    return None;
                }
                columns.push((name, n.ty?));
            }
            self.rtes[i].columns = columns;
            self.rtes[i].source = Source::Derived(text);
        }
        Some(())
    }

    fn print_from(&mut self, from: &[ast::TableWithJoins]) -> Option<()> {
        let mut k = 0;
        for (i, twj) in from.iter().enumerate() {
            let first = k;
            if i == 0 {
                self.keyword(" FROM ", -INDENT_STD, INDENT_STD, 2);
            } else {
                self.out.push_str(", ");
                self.keyword("", -INDENT_STD, INDENT_STD, 4);
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
                    ast::JoinOperator::FullOuter(c @ ast::JoinConstraint::On(_)) => (" FULL JOIN ", Some(c)),
                    ast::JoinOperator::CrossJoin(ast::JoinConstraint::None) => (" CROSS JOIN ", None),
                    _ => return None,
                };
                self.keyword(word, -INDENT_STD, INDENT_STD, INDENT_JOIN);
                self.out.push_str(&self.rte_text(k));
                k += 1;
                match constraint {
                    None | Some(ast::JoinConstraint::None) if word == " CROSS JOIN " => {}
                    Some(ast::JoinConstraint::On(e)) => {
                        let n = self.expr(e)?;
                        if n.ty != Some(SqlType::Bool) {
                            return None;
                        }
                        self.out.push_str(" ON ");
                        if self.pretty {
                            self.out.push_str(&n.text);
                        } else {
                            self.out.push('(');
                            self.out.push_str(&n.text);
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
                    // NATURAL: PostgreSQL prints the USING list it made (the names the right item
                    // shares with the left side, in the left side's order).
                    Some(ast::JoinConstraint::Natural) if word != " CROSS JOIN " => {
                        let mut left: Vec<&String> = Vec::new();
                        for r in &self.rtes[first..k - 1] {
                            for (c, _) in &r.columns {
                                if !left.contains(&c) {
                                    left.push(c);
                                }
                            }
                        }
                        let right = &self.rtes[k - 1];
                        let shared: Vec<String> =
                            left.into_iter().filter(|c| right.column(c).is_some()).map(|c| quote_ident(c)).collect();
                        // (None shared: PostgreSQL prints CROSS JOIN or ON TRUE; not here.)
                        if shared.is_empty() {
                            return None;
                        }
                        self.out.push_str(&format!(" USING ({})", shared.join(", ")));
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
        match &r.source {
            Source::Relation(def) => {
                let name = crate::schema::relname(&def.name);
                // Qualified unless the search path finds it, as regclass prints it.
                let shown = crate::regtypes::format(orbit_engine::table::OidKind::RegClass, def.oid);
                if r.refname == name {
                    shown
                } else {
                    format!("{} {}", shown, quote_ident(&r.refname))
                }
            }
            Source::Derived(text) => format!("({}) {}", text, quote_ident(&r.refname)),
            Source::Cte(name) if *name == r.refname => quote_ident(name),
            Source::Cte(name) => format!("{} {}", quote_ident(name), quote_ident(&r.refname)),
        }
    }

    /// Every column of FROM item `i`, as `*` gives them.
    fn all_columns(&self, i: usize) -> Vec<(Node, String)> {
        let r = &self.rtes[i];
        r.columns
            .iter()
            .map(|(name, ty)| {
                let mut n = Node::new(format!("{}.{}", quote_ident(&r.refname), quote_ident(name)), Kind::Simple, *ty);
                n.column = Some(name.clone());
                (n, name.clone())
            })
            .collect()
    }

    /// An ORDER BY / GROUP BY item: a select-list position or (ORDER BY) output name stands for
    /// that item's expression; a function call is parenthesised, and when pretty every
    /// expression but a column.
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
                let mut hits = targets.iter().filter(|(_, n)| *n == name);
                let hit = hits.next().map(|(t, _)| t);
                if hit.is_some() && hits.next().is_some() {
                    return None;
                }
                hit
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
        // A constant prints as its position (ruleutils' force_colno): not printed here.
        if n.literal.is_some() || n.constant {
            return None;
        }
        Some(if n.column.is_some() {
            n.text.clone()
        } else if self.pretty || n.func {
            format!("({})", n.text)
        } else {
            n.text.clone()
        })
    }
}

impl Printer {
    /// A window's definition: `(PARTITION BY ... ORDER BY ...)` (a frame clause, or a
    /// definition naming another window, is not printed here).
    fn window_spec(&self, spec: &ast::WindowSpec) -> Option<String> {
        if spec.window_name.is_some() || spec.window_frame.is_some() {
            return None;
        }
        let mut parts = Vec::new();
        if !spec.partition_by.is_empty() {
            let items = spec.partition_by.iter().map(|e| self.sort_item(e, &[], false)).collect::<Option<Vec<_>>>()?;
            parts.push(format!("PARTITION BY {}", items.join(", ")));
        }
        if !spec.order_by.is_empty() {
            let mut items = Vec::new();
            for o in &spec.order_by {
                if o.with_fill.is_some() {
                    return None;
                }
                let t = self.sort_item(&o.expr, &[], false)?;
                items.push(with_direction(t, o)?);
            }
            parts.push(format!("ORDER BY {}", items.join(", ")));
        }
        Some(format!("({})", parts.join(" ")))
    }

    /// A window function's `OVER ...`: a named window's name, or the definition (one equal to
    /// a named window's, which PostgreSQL would share, is not printed here).
    fn over(&self, over: &ast::WindowType) -> Option<String> {
        match over {
            ast::WindowType::NamedWindow(id) => {
                let name = fold(id);
                self.windows.iter().any(|(n, _)| *n == name).then(|| quote_ident(&name))
            }
            ast::WindowType::WindowSpec(spec) => {
                let text = self.window_spec(spec)?;
                if self.windows.iter().any(|(_, t)| *t == text) {
                    return None;
                }
                Some(text)
            }
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

/// The constraint of a join (ON, USING, NATURAL or none), for any join kind that has one.
pub(crate) fn join_constraint(op: &ast::JoinOperator) -> Option<&ast::JoinConstraint> {
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

/// The name PostgreSQL gives an unnamed select-list item (FigureColname) and how sure it is of
/// it (2: a column's or function's name, 1: a CASE's, 0: none, `?column?`); None where this
/// printer does not know it.
fn output_name(e: &ast::Expr) -> Option<(String, u8)> {
    use ast::Expr as E;
    Some(match e {
        E::Identifier(id) => (fold(id), 2),
        E::CompoundIdentifier(ids) => (fold(ids.last()?), 2),
        E::Function(f) => (fold(f.name.0.last()?.as_ident()?), 2),
        E::Nested(e) => output_name(e)?,
        E::Cast { expr, data_type, .. } => {
            let (name, strength) = output_name(expr)?;
            if strength <= 1 {
                let ty = crate::bind::sql_type(data_type).ok()?;
                (type_colname(ty)?.to_string(), 1)
            } else {
                (name, strength)
            }
        }
        E::Case { .. } => ("case".to_string(), 1),
        E::Exists { negated: false, .. } => ("exists".to_string(), 2),
        E::Subquery(q) => {
            let ast::SetExpr::Select(s) = q.body.as_ref() else { return None };
            match s.projection.first()? {
                ast::SelectItem::ExprWithAlias { alias, .. } => (fold(alias), 2),
                ast::SelectItem::UnnamedExpr(e) => (output_name(e)?.0, 2),
                _ => return None,
            }
        }
        _ => ("?column?".to_string(), 0),
    })
}

/// A number constant under minuses and parentheses: whether it is negated, and its digits.
fn signed_number(e: &ast::Expr) -> Option<(bool, String)> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) if !n.starts_with('-') => Some((false, n.clone())),
            _ => None,
        },
        ast::Expr::Nested(inner) => signed_number(inner),
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => signed_number(expr).map(|(neg, n)| (!neg, n)),
        _ => None,
    }
}

/// `YYYY-MM-DD` naming a real day: the text PostgreSQL's date output gives back for it.
fn iso_date(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' || !digits(0..4) || !digits(5..7) || !digits(8..10) {
        return None;
    }
    let (y, m, d): (u32, u32, u32) = (s[0..4].parse().ok()?, s[5..7].parse().ok()?, s[8..10].parse().ok()?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (y >= 1 && (1..=days).contains(&d)).then_some(s)
}

/// `HH:MM:SS` of a real time of day: the text PostgreSQL's time output gives back for it.
fn iso_time(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let part = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r.clone()].iter().all(u8::is_ascii_digit).then(|| s[r].parse().ok()).flatten()
    };
    (part(0..2)? < 24 && part(3..5)? < 60 && part(6..8)? < 60).then_some(s)
}

/// A string constant as ruleutils' simple_quote_literal writes it under
/// standard_conforming_strings (Orbit's only setting): quotes doubled, never `E''`.
fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An integer or decimal constant as ruleutils prints one of type `ty`: negative ones quoted
/// and labelled, an integer constant of numeric type labelled.
fn number_text(n: &str, ty: SqlType) -> Option<String> {
    let neg = n.starts_with('-');
    match ty {
        SqlType::Int4 if neg => Some(format!("'{n}'::integer")),
        SqlType::Int4 => Some(n.to_string()),
        SqlType::Int8 => Some(format!("'{n}'::bigint")),
        SqlType::Int2 => Some(format!("'{n}'::smallint")),
        SqlType::Numeric(None) => {
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

/// A plain decimal constant's text (digits with one point), as numeric prints it back.
fn plain_decimal(s: &str) -> Option<String> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let sign = if s.starts_with('-') && (int != "0" || frac.bytes().any(|b| b != b'0')) { "-" } else { "" };
    Some(if body.contains('.') { format!("{sign}{int}.{frac}") } else { format!("{sign}{int}") })
}

/// What a cast from `from` to `to` is in PostgreSQL: Some(true) a cast function (FuncExpr),
/// Some(false) an I/O conversion or a relabelling; None where this printer does not print it.
fn cast_is_function(from: SqlType, to: SqlType) -> Option<bool> {
    let number = |t: SqlType| is_int(t) || t.is_decimal() || t == SqlType::Float8;
    match (from, to) {
        (a, b) if number(a) && number(b) => Some(true),
        (SqlType::Varchar(_) | SqlType::Text, SqlType::Varchar(Some(_))) => Some(true),
        (SqlType::Varchar(_), SqlType::Varchar(None) | SqlType::Text) => Some(false),
        (SqlType::Text, SqlType::Varchar(None)) => Some(false),
        (a, SqlType::Text) if number(a) || a == SqlType::Date => Some(false),
        (SqlType::Text, b) if is_int(b) || b.is_decimal() => Some(false),
        _ => None,
    }
}

impl Printer {
    fn column(&self, qualifier: Option<&ast::Ident>, id: &ast::Ident) -> Option<Node> {
        let name = fold(id);
        // This level first, then the levels around it, innermost first.
        let levels = std::iter::once(&self.rtes).chain(self.outer.iter().rev());
        for (depth, rtes) in levels.enumerate() {
            let hits: Vec<&Rte> = match qualifier {
                Some(q) => {
                    let q = fold(q);
                    rtes.iter().filter(|r| r.sql_name == q).collect()
                }
                None => rtes.iter().filter(|r| r.column(&name).is_some()).collect(),
            };
            // An unqualified name in several FROM items: only a merged USING column of plain
            // joins (the left one's) is printed here.
            let r = match hits.as_slice() {
                [] => continue,
                [r] => r,
                [r, ..] if qualifier.is_none() && depth == 0 && self.joins_plain && self.has_using => r,
                _ => return None,
            };
            let (cname, ty) = r.columns.get(r.column(&name)?)?.clone();
            let mut n = Node::new(format!("{}.{}", quote_ident(&r.refname), quote_ident(&cname)), Kind::Simple, ty);
            n.column = Some(cname);
            return Some(n);
        }
        None
    }

    /// An untyped constant given type `ty` as PostgreSQL's parser gives it (a constant of that
    /// type: `'x'::text`, `5`, `NULL::integer`), or None where its text is not known here.
    fn typed(&self, n: &Node, ty: SqlType) -> Option<Node> {
        let lit = n.literal.as_ref()?;
        let text = match lit {
            Lit::Null => {
                if ty != strip_typmod(ty) || !known_type(ty) {
                    return None;
                }
                format!("NULL::{}", ty.name())
            }
            Lit::Str(s) => match ty {
                SqlType::Text | SqlType::Varchar(_) => format!("{}::{}", quote_literal(s), ty.name()),
                t if is_int(t) => {
                    let v: i64 = s.trim().parse().ok()?;
                    let fits = match t {
                        SqlType::Int2 => i16::try_from(v).is_ok(),
                        SqlType::Int4 => i32::try_from(v).is_ok(),
                        _ => true,
                    };
                    if !fits {
                        return None;
                    }
                    number_text(&v.to_string(), t)?
                }
                SqlType::Numeric(None) => number_text(&plain_decimal(s.trim())?, SqlType::NUMERIC)?,
                // Dates and timestamps only in the ISO form they print back in (DateStyle ISO).
                SqlType::Date => format!("'{}'::date", iso_date(s)?),
                SqlType::Timestamp(None) => {
                    let text = match s.split_once(' ') {
                        None => format!("{} 00:00:00", iso_date(s)?),
                        Some((d, t)) => format!("{} {}", iso_date(d)?, iso_time(t)?),
                    };
                    format!("'{text}'::timestamp without time zone")
                }
                SqlType::Bool => match s.trim().to_ascii_lowercase().as_str() {
                    "t" | "true" | "y" | "yes" | "on" | "1" => "true".to_string(),
                    "f" | "false" | "n" | "no" | "off" | "0" => "false".to_string(),
                    _ => return None,
                },
                _ => return None,
            },
        };
        Some(Node::constant(text, ty))
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

    /// `n` cast to `name`: `t.a::bigint`, `(t.a + 1)::bigint` (not pretty: `(t.a)::bigint`).
    fn cast_text(&self, n: &Node, name: &str) -> String {
        if self.pretty && n.kind == Kind::Simple {
            format!("{}::{name}", n.text)
        } else {
            format!("({})::{name}", n.text)
        }
    }

    /// `n` brought to type `ty` as the parser's implicit coercion does, the cast shown as
    /// ruleutils shows it in an operator's or a function's argument.
    fn coerce(&self, n: Node, ty: SqlType) -> Option<Node> {
        if n.literal.is_some() {
            return self.typed(&n, ty);
        }
        let from = n.ty?;
        if from == ty || strip_typmod(from) == ty {
            return Some(n);
        }
        let func = match (from, ty) {
            (SqlType::Varchar(_), SqlType::Text) => false,
            (a, b) if is_int(a) && is_int(b) && int_rank(a) < int_rank(b) => true,
            (a, SqlType::Numeric(None)) if is_int(a) => true,
            (a, SqlType::Float8) if is_int(a) || a.is_decimal() => true,
            _ => return None,
        };
        let text = self.cast_text(&n, &ty.name());
        Some(Node { func, ..Node::new(text, Kind::Simple, ty) })
    }

    /// A binary operator PostgreSQL resolves without the catalogs here: comparisons and
    /// arithmetic of numbers (the narrower operand cast), comparisons of text, booleans and
    /// dates, `||` of text (and text with a number, whose operator takes any type).
    fn binary(&self, l: Node, op: &'static str, r: Node) -> Option<Node> {
        let (l, r, ty) = self.operands(l, op, r)?;
        let kind = Kind::Op(Some(op));
        let text = format!("{} {op} {}", self.paren(&l, kind, true), self.paren(&r, kind, false));
        Some(Node::new(self.wrap(text), kind, ty))
    }

    /// The operands of `l op r` as the operator PostgreSQL picks takes them (an untyped
    /// constant typed, the implicit casts added) and the operator's result type.
    fn operands(&self, l: Node, op: &'static str, r: Node) -> Option<(Node, Node, SqlType)> {
        let compare = matches!(op, "=" | "<>" | "<" | "<=" | ">" | ">=");
        let (l, r) = match (l.ty, r.ty) {
            (Some(_), Some(_)) => (l, r),
            // An untyped constant takes the other operand's type (text for varchar, whose
            // operators are text's).
            (Some(a), None) => {
                let t = if matches!(a, SqlType::Varchar(_)) { SqlType::Text } else { strip_typmod(a) };
                let r = self.typed(&r, t)?;
                (l, r)
            }
            (None, Some(b)) => {
                let t = if matches!(b, SqlType::Varchar(_)) { SqlType::Text } else { strip_typmod(b) };
                let l = self.typed(&l, t)?;
                (l, r)
            }
            _ => return None,
        };
        let (a, b) = (l.ty?, r.ty?);
        if !known_type(a) || !known_type(b) {
            return None;
        }
        let number = |t: SqlType| is_int(t) || t.is_decimal() || t == SqlType::Float8;
        let textish = |t: SqlType| matches!(t, SqlType::Text | SqlType::Varchar(_));
        if op == "||" {
            return if textish(a) && textish(b) {
                Some((self.coerce(l, SqlType::Text)?, self.coerce(r, SqlType::Text)?, SqlType::Text))
            } else if (a == SqlType::Text && (number(b) || b == SqlType::Bool))
                || (b == SqlType::Text && (number(a) || a == SqlType::Bool))
            {
                Some((l, r, SqlType::Text))
            } else {
                None
            };
        }
        if number(a) && number(b) {
            // Integers of different widths have operators of their own (but `%`).
            let operand =
                if is_int(a) && is_int(b) && (op != "%" || a == b) { None } else { Some(common_type(&[a, b])?) };
            let result = match operand {
                None => common_type(&[a, b])?,
                Some(t) => t,
            };
            let (l, r) = match operand {
                None => (l, r),
                Some(t) => (self.coerce(l, t)?, self.coerce(r, t)?),
            };
            if op == "%" && result == SqlType::Float8 {
                return None;
            }
            return if compare {
                Some((l, r, SqlType::Bool))
            } else if matches!(op, "+" | "-" | "*" | "/" | "%") {
                Some((l, r, result))
            } else {
                None
            };
        }
        if textish(a) && textish(b) && (compare || matches!(op, "~~" | "!~~" | "~~*" | "!~~*")) {
            return Some((self.coerce(l, SqlType::Text)?, self.coerce(r, SqlType::Text)?, SqlType::Bool));
        }
        if compare && strip_typmod(a) == strip_typmod(b) && !textish(a) {
            return Some((l, r, SqlType::Bool));
        }
        None
    }

    fn boolean(&self, parts: Vec<Node>, kind: Kind) -> Option<Node> {
        if parts.iter().any(|p| p.ty != Some(SqlType::Bool)) {
            return None;
        }
        let word = if kind == Kind::And { " AND " } else { " OR " };
        let texts: Vec<String> = parts.iter().map(|p| self.paren(p, kind, false)).collect();
        Some(Node::new(self.wrap(texts.join(word)), kind, SqlType::Bool))
    }

    fn not(&self, n: Node) -> Option<Node> {
        if n.ty != Some(SqlType::Bool) {
            return None;
        }
        Some(Node::new(self.wrap(format!("NOT {}", self.paren(&n, Kind::Not, false))), Kind::Not, SqlType::Bool))
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
                ast::Value::SingleQuotedString(s) => Some(Node::literal(Lit::Str(s.clone()))),
                ast::Value::Null => Some(Node::literal(Lit::Null)),
                ast::Value::Boolean(b) => Some(Node::constant(if *b { "true" } else { "false" }.into(), SqlType::Bool)),
                _ => None,
            },
            E::UnaryOp { op: ast::UnaryOperator::Minus, expr } => {
                // PostgreSQL's grammar folds a minus into the number constant it applies to
                // (doNegate), through parentheses and other minuses: `-(-5)` is 5.
                if let Some((negative, n)) = signed_number(e) {
                    return self.number(&if negative { format!("-{n}") } else { n });
                }
                let n = self.expr(expr)?;
                let ty = n.ty.filter(|t| is_int(*t) || t.is_decimal() || *t == SqlType::Float8)?;
                let kind = Kind::Op(None);
                Some(Node::new(self.wrap(format!("- {}", self.paren(&n, kind, false))), kind, ty))
            }
            E::UnaryOp { op: ast::UnaryOperator::Not, expr } => self.not(self.expr(expr)?),
            E::BinaryOp { op: op @ (B::And | B::Or), .. } => {
                let mut parts = Vec::new();
                Self::flatten(e, op, &mut parts);
                let nodes = parts.into_iter().map(|p| self.expr(p)).collect::<Option<Vec<_>>>()?;
                self.boolean(nodes, if *op == B::And { Kind::And } else { Kind::Or })
            }
            // `a ~~ b` and the other LIKE operators, as pg_get_viewdef prints LIKE.
            E::BinaryOp {
                left,
                op: op @ (B::PGLikeMatch | B::PGNotLikeMatch | B::PGILikeMatch | B::PGNotILikeMatch),
                right,
            } => {
                let negated = matches!(op, B::PGNotLikeMatch | B::PGNotILikeMatch);
                self.like(left, right, negated, matches!(op, B::PGILikeMatch | B::PGNotILikeMatch))
            }
            E::BinaryOp { left, op, right } => {
                let name = match op {
                    B::Eq => "=",
                    B::NotEq => "<>",
                    B::Lt => "<",
                    B::LtEq => "<=",
                    B::Gt => ">",
                    B::GtEq => ">=",
                    B::Plus => "+",
                    B::Minus => "-",
                    B::Multiply => "*",
                    B::Divide => "/",
                    B::Modulo => "%",
                    B::StringConcat => "||",
                    _ => return None,
                };
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                if l.literal.is_some() && r.literal.is_some() {
                    return None;
                }
                self.binary(l, name, r)
            }
            E::Like { negated, any: false, expr, pattern, escape_char: None } => {
                self.like(expr, pattern, *negated, false)
            }
            E::ILike { negated, any: false, expr, pattern, escape_char: None } => {
                self.like(expr, pattern, *negated, true)
            }
            E::Between { expr, negated: false, low, high } => {
                let ge = self.binary(self.expr(expr)?, ">=", self.expr(low)?)?;
                let le = self.binary(self.expr(expr)?, "<=", self.expr(high)?)?;
                self.boolean(vec![ge, le], Kind::And)
            }
            E::IsNull(inner) | E::IsNotNull(inner) => {
                let n = self.expr(inner)?;
                if n.literal.is_some() {
                    return None;
                }
                let word = if matches!(e, E::IsNull(_)) { "IS NULL" } else { "IS NOT NULL" };
                self.test(&n, word)
            }
            E::IsTrue(inner)
            | E::IsNotTrue(inner)
            | E::IsFalse(inner)
            | E::IsNotFalse(inner)
            | E::IsUnknown(inner)
            | E::IsNotUnknown(inner) => {
                let word = match e {
                    E::IsTrue(_) => "IS TRUE",
                    E::IsNotTrue(_) => "IS NOT TRUE",
                    E::IsFalse(_) => "IS FALSE",
                    E::IsNotFalse(_) => "IS NOT FALSE",
                    E::IsUnknown(_) => "IS UNKNOWN",
                    _ => "IS NOT UNKNOWN",
                };
                let n = self.expr(inner)?;
                if n.ty != Some(SqlType::Bool) {
                    return None;
                }
                self.test(&n, word)
            }
            E::IsDistinctFrom(a, b) => self.distinct(a, b),
            E::IsNotDistinctFrom(a, b) => self.not(self.distinct(a, b)?),
            E::Function(f) => self.function(f),
            // SUBSTR(...), which sqlparser keeps apart: the function substr.
            E::Substring { expr, substring_from: Some(from), substring_for, special: true, shorthand: true } => {
                let mut args = vec![self.expr(expr)?, self.expr(from)?];
                if let Some(f) = substring_for {
                    args.push(self.expr(f)?);
                }
                self.call("substr", args, false, None)
            }
            E::Cast { kind: ast::CastKind::Cast | ast::CastKind::DoubleColon, expr, data_type, format: None } => {
                self.cast(expr, data_type)
            }
            E::In { expr, target: ast::InTarget::List(list), negated, global: false } => {
                self.in_list(expr, list, *negated)
            }
            E::In { expr, target: ast::InTarget::Subquery(q), negated, global: false } => {
                let n = self.in_subquery(expr, q)?;
                if *negated {
                    self.not(n)
                } else {
                    Some(n)
                }
            }
            E::Exists { subquery, negated } => {
                let (text, _) = self.subquery(subquery, false)?;
                let n = Node::new(format!("(EXISTS ({text}))"), Kind::Test, SqlType::Bool);
                if *negated {
                    self.not(n)
                } else {
                    Some(n)
                }
            }
            E::Subquery(q) => {
                let (text, targets) = self.subquery(q, false)?;
                let [(item, _)] = targets.as_slice() else { return None };
                Some(Node::new(format!("({text})"), Kind::Test, item.ty?))
            }
            E::Case { operand, conditions, else_result, .. } => {
                // The WHEN lines print one step in, the expressions in them too.
                self.extra.set(self.extra.get() + INDENT_VAR);
                let parts = self.case_parts(operand.as_deref(), conditions, else_result.as_deref());
                self.extra.set(self.extra.get() - INDENT_VAR);
                let (operand, whens, results, else_node) = parts?;
                let level = self.expr_indent();
                let pad = |l: i32| " ".repeat(indent_amount(l, 0));
                let mut text = format!("\n{}CASE", pad(level));
                if let Some(o) = operand {
                    text.push(' ');
                    text.push_str(&o.text);
                }
                for (w, r) in whens.iter().zip(&results) {
                    text.push_str(&format!("\n{}WHEN {} THEN {}", pad(level + INDENT_VAR), w, r.text));
                }
                text.push_str(&format!("\n{}ELSE {}", pad(level + INDENT_VAR), else_node.text));
                text.push_str(&format!("\n{}END", pad(level)));
                Some(Node::new(text, Kind::Simple, else_node.ty?))
            }
            _ => None,
        }
    }

    /// A CASE's operand, WHEN texts, results and ELSE (NULL when it has none), the results
    /// brought to their common type.
    #[allow(clippy::type_complexity)]
    fn case_parts(
        &self,
        operand: Option<&ast::Expr>,
        conditions: &[ast::CaseWhen],
        else_result: Option<&ast::Expr>,
    ) -> Option<(Option<Node>, Vec<String>, Vec<Node>, Node)> {
        let operand = match operand {
            Some(o) => {
                let n = self.expr(o)?;
                n.ty?;
                Some(n)
            }
            None => None,
        };
        let mut whens = Vec::new();
        let mut results = Vec::new();
        for c in conditions {
            let w = self.expr(&c.condition)?;
            let w = match &operand {
                // `CASE x WHEN v`: PostgreSQL prints v of the comparison `x = v`; only one
                // needing no cast is printed here.
                Some(o) => {
                    let ty = o.ty?;
                    let v = if w.literal.is_some() {
                        self.typed(&w, if matches!(ty, SqlType::Varchar(_)) { return None } else { ty })?
                    } else {
                        w
                    };
                    if v.ty.map(strip_typmod) != Some(strip_typmod(ty)) || matches!(ty, SqlType::Varchar(_)) {
                        return None;
                    }
                    self.binary(o.clone(), "=", v.clone())?;
                    v.text
                }
                None => {
                    if w.ty != Some(SqlType::Bool) {
                        return None;
                    }
                    w.text
                }
            };
            whens.push(w);
            results.push(self.expr(&c.result)?);
        }
        results.push(match else_result {
            Some(e) => self.expr(e)?,
            None => Node::literal(Lit::Null),
        });
        let types: Vec<SqlType> = results.iter().filter_map(|r| r.ty).collect();
        let ty = if types.is_empty() { SqlType::Text } else { common_type(&types)? };
        let mut results = results.into_iter().map(|r| self.coerce(r, ty)).collect::<Option<Vec<_>>>()?;
        let else_node = results.pop()?;
        Some((operand, whens, results, else_node))
    }

    /// `x IS NULL`, `x IS TRUE`...: the argument parenthesised unless simple.
    fn test(&self, n: &Node, word: &str) -> Option<Node> {
        let text = format!("{} {word}", self.paren(n, Kind::Test, true));
        Some(Node::new(self.wrap(text), Kind::Test, SqlType::Bool))
    }

    /// `a IS DISTINCT FROM b`: operands typed as for `=`.
    fn distinct(&self, a: &ast::Expr, b: &ast::Expr) -> Option<Node> {
        let (l, r) = (self.expr(a)?, self.expr(b)?);
        if l.literal.is_some() && r.literal.is_some() {
            return None;
        }
        let (l, r, _) = self.operands(l, "=", r)?;
        let text =
            format!("{} IS DISTINCT FROM {}", self.paren(&l, Kind::Test, true), self.paren(&r, Kind::Test, false));
        Some(Node::new(self.wrap(text), Kind::Test, SqlType::Bool))
    }

    /// `x IN (SELECT y ...)`: `(x IN ( SELECT ...))`, for a comparison needing no cast.
    fn in_subquery(&self, expr: &ast::Expr, q: &ast::Query) -> Option<Node> {
        let l = self.expr(expr)?;
        let lt = l.ty?;
        let (text, targets) = self.subquery(q, false)?;
        let [(item, _)] = targets.as_slice() else { return None };
        let rt = item.ty?;
        let same = (is_int(lt) && is_int(rt)) || strip_typmod(lt) == strip_typmod(rt);
        if !same || !known_type(lt) || matches!(lt, SqlType::Varchar(_)) || matches!(rt, SqlType::Varchar(_)) {
            return None;
        }
        Some(Node::new(format!("({} IN ({text}))", l.text), Kind::Test, SqlType::Bool))
    }

    /// `x::type` / `CAST(x AS type)`: of a column or an expression `t.a::bigint` (not pretty:
    /// `(t.a)::bigint`); of a string constant, the constant of that type (`'x'::text`, `5`); a
    /// cast to the value's own type is left out, as PostgreSQL's parser leaves it out.
    fn cast(&self, expr: &ast::Expr, data_type: &ast::DataType) -> Option<Node> {
        let ty = crate::bind::sql_type(data_type).ok()?;
        if !known_type(ty) {
            return None;
        }
        let n = self.expr(expr)?;
        if let Some(lit) = &n.literal {
            // A string constant of a type with a modifier: its text would be the coerced value.
            return match (lit, ty) {
                (Lit::Str(s), SqlType::Varchar(Some(len))) if s.chars().count() <= len as usize => {
                    Some(Node::constant(format!("{}::{}", quote_literal(s), ty.name()), ty))
                }
                _ => self.typed(&n, ty),
            };
        }
        let from = n.ty?;
        if from == ty {
            return Some(n);
        }
        let func = cast_is_function(from, ty)?;
        // A constant of the cast's type, cast only to add a modifier: the constant bare.
        let decimal = n.constant && from == SqlType::NUMERIC && plain_decimal(&n.text).as_deref() == Some(&n.text);
        let text = if decimal && strip_typmod(ty) == SqlType::NUMERIC {
            format!("{}::{}", n.text, ty.name())
        } else {
            self.cast_text(&n, &ty.name())
        };
        // A function-call cast is simple; another is as simple as its argument (isSimpleNode
        // of a CoerceViaIO or RelabelType, whose operator argument is never simple).
        let kind = if func || n.kind == Kind::Simple { Kind::Simple } else { Kind::ArrayOp };
        Some(Node { func, ..Node::new(text, kind, ty) })
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
            if n.column.is_some() || (n.literal.is_none() && n.ty != Some(ty)) || n.literal == Some(Lit::Null) {
                return None;
            }
            if n.literal.is_some() {
                items.push(self.typed(&n, ty)?);
            } else {
                items.push(n);
            }
        }
        let op = if negated { "<>" } else { "=" };
        if let [one] = &items[..] {
            let one = Node::new(one.text.clone(), Kind::Simple, ty);
            return self.binary(l, op, one);
        }
        let texts: Vec<&str> = items.iter().map(|n| n.text.as_str()).collect();
        let quantifier = if negated { "ALL" } else { "ANY" };
        let text = format!("{} {op} {quantifier} (ARRAY[{}])", l.text, texts.join(", "));
        Some(Node::new(self.wrap(text), Kind::ArrayOp, SqlType::Bool))
    }

    fn number(&self, n: &str) -> Option<Node> {
        if let Ok(v) = n.parse::<i64>() {
            let ty = if i32::try_from(v).is_ok() { SqlType::Int4 } else { SqlType::Int8 };
            return Some(Node::constant(number_text(&v.to_string(), ty)?, ty));
        }
        let text = plain_decimal(n)?;
        if !n.contains('.') {
            return None;
        }
        Some(Node::constant(number_text(&text, SqlType::NUMERIC)?, SqlType::NUMERIC))
    }

    fn like(&self, expr: &ast::Expr, pattern: &ast::Expr, negated: bool, ilike: bool) -> Option<Node> {
        let op = match (negated, ilike) {
            (false, false) => "~~",
            (true, false) => "!~~",
            (false, true) => "~~*",
            (true, true) => "!~~*",
        };
        let (l, r) = (self.expr(expr)?, self.expr(pattern)?);
        if !matches!(l.ty, Some(SqlType::Text | SqlType::Varchar(_))) {
            return None;
        }
        self.binary(l, op, r)
    }

    fn function(&self, f: &ast::Function) -> Option<Node> {
        if f.filter.is_some() || !f.within_group.is_empty() || f.null_treatment.is_some() {
            return None;
        }
        let over = match &f.over {
            Some(w) => Some(format!(" OVER {}", self.over(w)?)),
            None => None,
        };
        if !matches!(f.parameters, ast::FunctionArguments::None) {
            return None;
        }
        let [part] = f.name.0.as_slice() else { return None };
        let ident = part.as_ident()?;
        let name = fold(ident);
        let l = match &f.args {
            ast::FunctionArguments::List(l) => l,
            // `now()` is a list of none; a bare name (CURRENT_DATE) is not printed here.
            _ => return None,
        };
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
                    let text = format!("count(*){}", over.unwrap_or_default());
                    let n = Node::new(text, Kind::Simple, SqlType::Int8);
                    return (!distinct).then_some(Node { func: true, ..n });
                }
                _ => return None,
            }
        }
        self.call(&name, args, distinct, over)
    }

    /// A call of function `name` with arguments `args` (`over`: its window, when a window
    /// function's call).
    fn call(&self, name: &str, args: Vec<Node>, distinct: bool, over: Option<String>) -> Option<Node> {
        // The SQL-standard forms PostgreSQL keeps as expressions of their own.
        let special = match name {
            "coalesce" => Some("COALESCE"),
            "greatest" => Some("GREATEST"),
            "least" => Some("LEAST"),
            "nullif" => Some("NULLIF"),
            _ => None,
        };
        if let Some(word) = special {
            if distinct || args.is_empty() || over.is_some() {
                return None;
            }
            return self.special_function(word, args);
        }
        let (params, result) = match window_function_result(name, &args) {
            Some(r) if over.is_some() && !distinct => r,
            Some(_) => return None,
            None => function_result(name, &args, distinct)?,
        };
        if over.is_some() && !is_aggregate(name) && window_function_result(name, &args).is_none() {
            return None;
        }
        let mut texts = Vec::new();
        for (a, p) in args.into_iter().zip(params) {
            let a = match p {
                // A parameter of any type (concat's): an untyped constant stays as written.
                None => match &a.literal {
                    Some(Lit::Str(s)) => Node::constant(quote_literal(s), SqlType::Unknown),
                    Some(Lit::Null) => return None,
                    None => a,
                },
                Some(p) => self.coerce(a, p)?,
            };
            // Arguments print without parentheses of their own (the call's are enough).
            texts.push(a.text);
        }
        let text = format!(
            "{name}({}{}){}",
            if distinct { "DISTINCT " } else { "" },
            texts.join(", "),
            over.unwrap_or_default()
        );
        Some(Node { func: true, ..Node::new(text, Kind::Simple, result) })
    }

    /// COALESCE, GREATEST, LEAST (arguments brought to their common type) and NULLIF (typed
    /// as `=`).
    fn special_function(&self, word: &str, args: Vec<Node>) -> Option<Node> {
        let (texts, ty) = if word == "NULLIF" {
            let [a, b] = <[Node; 2]>::try_from(args).ok()?;
            if a.literal.is_some() {
                return None;
            }
            // Arguments print as a function's: no parentheses of their own. The result has
            // the first argument's type as the comparison takes it.
            let (l, r, _) = self.operands(a, "=", b)?;
            let ty = l.ty?;
            (vec![l.text, r.text], ty)
        } else {
            let types: Vec<SqlType> = args.iter().filter_map(|a| a.ty).collect();
            let ty = if types.is_empty() { SqlType::Text } else { common_type(&types)? };
            let texts = args.into_iter().map(|a| self.coerce(a, ty).map(|n| n.text)).collect::<Option<Vec<_>>>()?;
            (texts, ty)
        };
        Some(Node::new(format!("{word}({})", texts.join(", ")), Kind::Simple, ty))
    }
}

fn is_aggregate(name: &str) -> bool {
    matches!(name, "count" | "sum" | "avg" | "min" | "max" | "bool_and" | "bool_or" | "string_agg")
}

/// A window function's parameter types and result type (for a call with OVER).
fn window_function_result(name: &str, args: &[Node]) -> Option<(Vec<Option<SqlType>>, SqlType)> {
    use SqlType as T;
    let first = args.first().and_then(|a| a.ty);
    match (name, args.len()) {
        ("row_number" | "rank" | "dense_rank", 0) => Some((Vec::new(), T::Int8)),
        ("percent_rank" | "cume_dist", 0) => Some((Vec::new(), T::Float8)),
        ("ntile", 1) if first == Some(T::Int4) => Some((vec![Some(T::Int4)], T::Int4)),
        ("lag" | "lead" | "first_value" | "last_value", 1) => {
            let t = first.filter(|t| known_type(*t))?;
            Some((vec![Some(t)], t))
        }
        ("lag" | "lead", 2) if args[1].ty == Some(T::Int4) => {
            let t = first.filter(|t| known_type(*t))?;
            Some((vec![Some(t), Some(T::Int4)], t))
        }
        _ => None,
    }
}

/// A function's parameter types (None: any type) and result type for arguments `args`, for
/// the functions printed here: PostgreSQL's choice among its overloads is certain only for
/// these argument types.
fn function_result(name: &str, args: &[Node], distinct: bool) -> Option<(Vec<Option<SqlType>>, SqlType)> {
    use SqlType as T;
    let tys: Vec<Option<SqlType>> = args.iter().map(|a| a.ty).collect();
    // Whether argument i is of type t (an untyped constant, or varchar, can be text).
    let is = |i: usize, t: SqlType| match tys.get(i) {
        Some(Some(a)) => *a == t || (t == T::Text && matches!(a, T::Varchar(_))) || (t.is_decimal() && a.is_decimal()),
        Some(None) => args[i].literal != Some(Lit::Null),
        None => false,
    };
    let n = args.len();
    let text_params = |k: usize| Some((vec![Some(T::Text); k], T::Text));
    let aggregate = is_aggregate(name);
    if distinct && !aggregate {
        return None;
    }
    // An aggregate's argument must have a type of its own (PostgreSQL picks among
    // overloads for an untyped one).
    if aggregate && tys.iter().any(|t| t.is_none()) && name != "string_agg" {
        return None;
    }
    let first = tys.first().copied().flatten();
    match (name, n) {
        ("count", 1) => Some((vec![first], T::Int8)),
        ("sum", 1) => match first? {
            T::Int2 | T::Int4 => Some((vec![first], T::Int8)),
            T::Int8 | T::Numeric(_) => Some((vec![first], T::NUMERIC)),
            T::Float8 => Some((vec![first], T::Float8)),
            _ => None,
        },
        ("avg", 1) => match first? {
            t if is_int(t) || t.is_decimal() => Some((vec![first], T::NUMERIC)),
            T::Float8 => Some((vec![first], T::Float8)),
            _ => None,
        },
        ("min" | "max", 1) => match first? {
            t if is_int(t) || t.is_decimal() || matches!(t, T::Text | T::Float8 | T::Date) => Some((vec![first], t)),
            _ => None,
        },
        ("bool_and" | "bool_or", 1) if first == Some(T::Bool) => Some((vec![first], T::Bool)),
        ("string_agg", 2) if is(0, T::Text) && is(1, T::Text) && first.is_some() => text_params(2),
        ("lower" | "upper" | "initcap" | "md5" | "reverse" | "btrim" | "ltrim" | "rtrim", 1) if is(0, T::Text) => {
            text_params(1)
        }
        ("btrim" | "ltrim" | "rtrim", 2) if is(0, T::Text) && is(1, T::Text) => text_params(2),
        ("length" | "char_length" | "octet_length", 1) if is(0, T::Text) => Some((vec![Some(T::Text)], T::Int4)),
        ("strpos", 2) if is(0, T::Text) && is(1, T::Text) => Some((vec![Some(T::Text); 2], T::Int4)),
        ("starts_with", 2) if is(0, T::Text) && is(1, T::Text) => Some((vec![Some(T::Text); 2], T::Bool)),
        ("replace", 3) if (0..3).all(|i| is(i, T::Text)) => text_params(3),
        ("substr", 2 | 3) if is(0, T::Text) && (1..n).all(|i| is(i, T::Int4)) => {
            let mut p = vec![Some(T::Text)];
            p.extend(std::iter::repeat_n(Some(T::Int4), n - 1));
            Some((p, T::Text))
        }
        ("split_part", 3) if is(0, T::Text) && is(1, T::Text) && is(2, T::Int4) => {
            Some((vec![Some(T::Text), Some(T::Text), Some(T::Int4)], T::Text))
        }
        ("repeat", 2) if is(0, T::Text) && is(1, T::Int4) => Some((vec![Some(T::Text), Some(T::Int4)], T::Text)),
        ("lpad" | "rpad", 2 | 3) if is(0, T::Text) && is(1, T::Int4) && (n == 2 || is(2, T::Text)) => {
            let mut p = vec![Some(T::Text), Some(T::Int4)];
            if n == 3 {
                p.push(Some(T::Text));
            }
            Some((p, T::Text))
        }
        ("concat", _) if n > 0 && tys.iter().all(|t| t.is_none_or(known_type)) => Some((vec![None; n], T::Text)),
        ("abs", 1) => match first? {
            t @ (T::Int2 | T::Int4 | T::Int8 | T::Float8) => Some((vec![Some(t)], t)),
            T::Numeric(_) => Some((vec![Some(T::NUMERIC)], T::NUMERIC)),
            _ => None,
        },
        ("round" | "trunc" | "ceil" | "ceiling" | "floor", 1) => match first? {
            T::Numeric(_) => Some((vec![Some(T::NUMERIC)], T::NUMERIC)),
            T::Float8 => Some((vec![Some(T::Float8)], T::Float8)),
            _ => None,
        },
        ("round" | "trunc", 2) if first.is_some_and(|t| t.is_decimal()) && tys[1] == Some(T::Int4) => {
            Some((vec![Some(T::NUMERIC), Some(T::Int4)], T::NUMERIC))
        }
        ("now", 0) => Some((Vec::new(), T::TimestampTz(None))),
        _ => None,
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
    // Parents of lower precedence (function-like parents, with parentheses or separators of
    // their own, print their arguments without asking).
    let low = matches!(parent, Kind::And | Kind::Or | Kind::Not);
    match child {
        Kind::Simple => true,
        Kind::Op(op) => match parent {
            Kind::Op(pop) => match (arith(op), arith(pop)) {
                (Some(hi), Some(phi)) if hi != phi => hi,
                (Some(_), Some(_)) => left,
                _ => false,
            },
            _ => low,
        },
        Kind::Test => low,
        Kind::Not | Kind::And => matches!(parent, Kind::And | Kind::Or),
        Kind::Or => parent == Kind::Or,
        Kind::ArrayOp => false,
    }
}
