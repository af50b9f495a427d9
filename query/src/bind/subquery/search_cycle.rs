//! WITH RECURSIVE's SEARCH and CYCLE clauses
//! (<https://www.postgresql.org/docs/15/queries-with.html#QUERIES-WITH-SEARCH>):
//!
//! ```sql
//! WITH RECURSIVE t(a, b) AS (SELECT ... UNION ALL SELECT ... FROM t ...)
//!   SEARCH { DEPTH | BREADTH } FIRST BY a, b SET seq
//!   CYCLE a, b SET is_cycle [ TO value DEFAULT value ] USING path
//! ```
//!
//! sqlparser has neither, so [`syntax`] writes the clauses, verbatim, as the name of a WITH
//! query of its own after the one they belong to: `, "<mark>clauses" AS (SELECT 1)`, which
//! binding reads back ([`Clauses::read`]) and does not bind as a query. Binding rewrites the query as PostgreSQL's rewriter does (rewriteSearchAndCycle):
//! both terms get the added columns — the non-recursive term `ARRAY[ROW(a, b)]` (depth first),
//! `ROW(0, a, b)` (breadth first: the depth, then the columns), the cycle mark's DEFAULT and
//! `ARRAY[ROW(a, b)]` as the path; the recursive term the parent row's sequence with the new
//! row appended (or its depth plus one), the cycle mark's value when `ROW(a, b)` is already on
//! the parent's path, and the parent's path extended — and the recursive term reads only
//! parent rows whose cycle mark is not the mark value. The added columns are read by name in
//! the recursive term (`WHERE NOT is_cycle`), but its `*` of the WITH query lists only the
//! query's own columns, as in PostgreSQL.

use super::{alias_columns, columns_of, CteName};
use crate::bind::{fold, Binder};
use crate::error::{code, Result, SqlError};
use crate::relation::{self, Derived, Source};
use orbit_engine::table::SqlType;
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};
use std::sync::Arc;

/// What starts the quoted name the clauses are written as (a control character: no name a
/// client writes).
const MARK: char = '\u{1}';

/// The name of the relation the non-recursive term's rows are read from while the added
/// columns are computed over them.
const BASE: &str = "\u{1}search base";

/// `sql` with each WITH query's SEARCH / CYCLE clauses written as a WITH query named
/// `"<MARK>clauses"` after it; None when it has none.
pub(in crate::bind) fn syntax(sql: &str) -> Option<String> {
    let lower = sql.to_ascii_lowercase();
    if !lower.contains("search") && !lower.contains("cycle") {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().ok()?;
    let solid: Vec<&TokenWithSpan> = tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).collect();
    let mut edits = Vec::new();
    let mut i = 0;
    while i < solid.len() {
        if solid[i].token == Token::RParen && closes_with_query(&solid, i) {
            if let Some(end) = clauses_end(&solid, i + 1) {
                let from = byte_offset(sql, solid[i + 1].span.start)?;
                let to = byte_offset(sql, solid[end].span.end)?;
                let clauses = sql[from..to].replace('"', "\"\"");
                edits.push((from, to, format!(", \"{MARK}{clauses}\" AS (SELECT 1)")));
                i = end + 1;
                continue;
            }
        }
        i += 1;
    }
    splice(sql, edits)
}

/// `sql` with each byte range `from..to` of `edits` (in order, not overlapping) replaced by
/// its text; None when there is none (or they overlap). The token rewrites before sqlparser
/// reads a statement (`syntax` here, `rows_from::syntax`, `sql_functions::options_syntax`)
/// build their text with it.
pub(in crate::bind) fn splice(sql: &str, edits: Vec<(usize, usize, String)>) -> Option<String> {
    if edits.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + 16 * edits.len());
    let mut copied = 0;
    for (from, to, text) in edits {
        if from < copied {
            return None;
        }
        out.push_str(&sql[copied..from]);
        out.push_str(&text);
        copied = to;
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

/// `text` (a statement sqlparser printed) with each marker WITH query of [`syntax`] printed
/// back as the clauses it holds, after the query they belong to.
pub(crate) fn print_back(text: &str) -> String {
    let open = format!(", \"{MARK}");
    let close = "\" AS (SELECT 1)";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&open) {
        let body = &rest[at + open.len()..];
        // The quoted name ends at a quote not doubled.
        let mut end = None;
        let mut chars = body.char_indices().peekable();
        while let Some((i, ch)) = chars.next() {
            if ch == '"' {
                if chars.peek().map(|(_, c)| *c) == Some('"') {
                    chars.next();
                } else {
                    end = Some(i);
                    break;
                }
            }
        }
        let clauses = end
            .filter(|&e| body[e..].starts_with(close))
            .and_then(|e| Some((e, Clauses::read_text(&body[..e].replace("\"\"", "\""), Location::new(1, 1))?)));
        match clauses {
            Some((e, c)) => {
                out.push_str(&rest[..at]);
                out.push_str(&c.printed());
                rest = &body[e + close.len()..];
            }
            None => {
                out.push_str(&rest[..at + open.len()]);
                rest = body;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether the `)` at `close` ends a WITH query's body: its `(` follows AS [[NOT] MATERIALIZED].
fn closes_with_query(solid: &[&TokenWithSpan], close: usize) -> bool {
    let mut depth = 0i32;
    for j in (0..=close).rev() {
        match solid[j].token {
            Token::RParen => depth += 1,
            Token::LParen => {
                depth -= 1;
                if depth == 0 {
                    return j > 0
                        && (keyword(solid[j - 1], Keyword::AS) || keyword(solid[j - 1], Keyword::MATERIALIZED));
                }
            }
            _ => {}
        }
    }
    false
}

fn keyword(t: &TokenWithSpan, k: Keyword) -> bool {
    matches!(&t.token, Token::Word(w) if w.keyword == k && w.quote_style.is_none())
}

fn word(t: Option<&&TokenWithSpan>, name: &str) -> bool {
    matches!(t.map(|t| &t.token), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(name))
}

fn is_name(t: Option<&&TokenWithSpan>) -> bool {
    matches!(t.map(|t| &t.token), Some(Token::Word(_)))
}

/// The index of the last token of the SEARCH and/or CYCLE clauses starting at `i`, if they
/// are there and well formed (anything else is left for sqlparser to refuse).
fn clauses_end(solid: &[&TokenWithSpan], mut i: usize) -> Option<usize> {
    let mut end = None;
    if word(solid.get(i), "search") {
        if !(word(solid.get(i + 1), "depth") || word(solid.get(i + 1), "breadth"))
            || !word(solid.get(i + 2), "first")
            || !word(solid.get(i + 3), "by")
        {
            return None;
        }
        let j = name_list(solid, i + 4)?;
        if !word(solid.get(j), "set") || !is_name(solid.get(j + 1)) {
            return None;
        }
        end = Some(j + 1);
        i = j + 2;
    }
    if word(solid.get(i), "cycle") {
        let j = name_list(solid, i + 1)?;
        if !word(solid.get(j), "set") || !is_name(solid.get(j + 1)) {
            return None;
        }
        let mut k = j + 2;
        if word(solid.get(k), "to") {
            // TO constant DEFAULT constant: the tokens up to DEFAULT, then up to USING.
            let default = (k + 1..solid.len()).find(|&m| word(solid.get(m), "default"))?;
            k = (default + 1..solid.len()).find(|&m| word(solid.get(m), "using"))?;
            if default == j + 3 || k == default + 1 {
                return None;
            }
        }
        if !word(solid.get(k), "using") || !is_name(solid.get(k + 1)) {
            return None;
        }
        end = Some(k + 1);
    }
    end
}

/// The index after `name [, name ...]` starting at `i`.
fn name_list(solid: &[&TokenWithSpan], mut i: usize) -> Option<usize> {
    loop {
        if !is_name(solid.get(i)) {
            return None;
        }
        if solid.get(i + 1).map(|t| &t.token) != Some(&Token::Comma) {
            return Some(i + 1);
        }
        i += 2;
    }
}

struct Search {
    breadth: bool,
    by: Vec<String>,
    set: String,
    at: Location,
}

struct Cycle {
    columns: Vec<String>,
    mark: String,
    /// TO and DEFAULT (true and false when not written), the second with where it was written.
    value: ast::Expr,
    default: ast::Expr,
    default_at: Location,
    path: String,
    at: Location,
}

/// A WITH query's SEARCH and CYCLE clauses, read back from their marker.
pub(super) struct Clauses {
    search: Option<Search>,
    cycle: Option<Cycle>,
}

impl Clauses {
    /// Whether a WITH query is [`syntax`]'s marker of the clauses of the one before it.
    pub(super) fn is_marker(cte: &ast::Cte) -> bool {
        cte.alias.name.quote_style.is_some() && cte.alias.name.value.starts_with(MARK)
    }

    /// The clauses a marker WITH query's name holds ([`Clauses::is_marker`]); None when it
    /// does not hold them well formed.
    pub(super) fn read(marker: &ast::Ident) -> Option<Clauses> {
        // Where the clauses' text started in the statement: where `, "` and the mark are.
        Clauses::read_text(marker.value.strip_prefix(MARK)?, marker.span.start)
    }

    fn read_text(text: &str, start: Location) -> Option<Clauses> {
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, text).tokenize_with_location().ok()?;
        let at = |l: Location| -> Location {
            if l.line == 1 {
                Location::new(start.line, (start.column + l.column).saturating_sub(3))
            } else {
                Location::new(start.line + l.line - 1, l.column)
            }
        };
        let solid: Vec<&TokenWithSpan> = tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).collect();
        let name = |t: &TokenWithSpan| -> Option<String> {
            match &t.token {
                Token::Word(w) if w.quote_style.is_some() => Some(w.value.clone()),
                Token::Word(w) => Some(w.value.to_ascii_lowercase()),
                _ => None,
            }
        };
        let names = |from: usize| -> Option<(Vec<String>, usize)> {
            let end = name_list(&solid, from)?;
            Some(((from..end).step_by(2).map(|k| name(solid[k])).collect::<Option<Vec<_>>>()?, end))
        };
        let mut i = 0;
        let mut search = None;
        if word(solid.get(i), "search") {
            let (by, j) = names(4)?;
            search = Some(Search {
                breadth: word(solid.get(1), "breadth"),
                by,
                set: name(solid.get(j + 1)?)?,
                at: at(solid[0].span.start),
            });
            i = j + 2;
        }
        let mut cycle = None;
        if word(solid.get(i), "cycle") {
            let (columns, j) = names(i + 1)?;
            let mark = name(solid.get(j + 1)?)?;
            let mut k = j + 2;
            let (mut value, mut default) =
                (ast::Expr::value(ast::Value::Boolean(true)), ast::Expr::value(ast::Value::Boolean(false)));
            let mut default_at = at(solid[i].span.start);
            if word(solid.get(k), "to") {
                let d = (k + 1..solid.len()).find(|&m| word(solid.get(m), "default"))?;
                let u = (d + 1..solid.len()).find(|&m| word(solid.get(m), "using"))?;
                value = constant(text, &solid[k + 1..d])?;
                default = constant(text, &solid[d + 1..u])?;
                default_at = at(solid[d + 1].span.start);
                k = u;
            }
            cycle = Some(Cycle {
                columns,
                mark,
                value,
                default,
                default_at,
                path: name(solid.get(k + 1)?)?,
                at: at(solid[i].span.start),
            });
        }
        Some(Clauses { search, cycle })
    }

    /// The clauses as pg_get_viewdef prints them.
    fn printed(&self) -> String {
        let names =
            |list: &[String]| list.iter().map(|n| crate::regtypes::quote_ident(n)).collect::<Vec<_>>().join(", ");
        let mut out = String::new();
        if let Some(s) = &self.search {
            let order = if s.breadth { "BREADTH" } else { "DEPTH" };
            out.push_str(&format!(
                " SEARCH {order} FIRST BY {} SET {}",
                names(&s.by),
                crate::regtypes::quote_ident(&s.set)
            ));
        }
        if let Some(c) = &self.cycle {
            out.push_str(&format!(" CYCLE {} SET {}", names(&c.columns), crate::regtypes::quote_ident(&c.mark)));
            let plain = c.value.to_string() == "true" && c.default.to_string() == "false";
            if !plain {
                out.push_str(&format!(" TO {} DEFAULT {}", c.value, c.default));
            }
            out.push_str(&format!(" USING {}", crate::regtypes::quote_ident(&c.path)));
        }
        out
    }

    /// The names of the columns the clauses add, in order.
    fn added(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(s) = &self.search {
            out.push(s.set.clone());
        }
        if let Some(c) = &self.cycle {
            out.push(c.mark.clone());
            out.push(c.path.clone());
        }
        out
    }
}

/// A TO or DEFAULT constant: its tokens' text parsed as an expression.
fn constant(text: &str, tokens: &[&TokenWithSpan]) -> Option<ast::Expr> {
    let (first, last) = (tokens.first()?, tokens.last()?);
    let piece = &text[byte_offset(text, first.span.start)?..byte_offset(text, last.span.end)?];
    Parser::new(&PostgreSqlDialect {}).try_with_sql(piece).ok()?.parse_expr().ok()
}

/// The byte offset in `text` of a tokenizer's location (1-based line and character column).
pub(in crate::bind) fn byte_offset(text: &str, l: Location) -> Option<usize> {
    let line = usize::try_from(l.line).ok()?.checked_sub(1)?;
    let start = if line == 0 { 0 } else { text.match_indices('\n').nth(line - 1)?.0 + 1 };
    let skip = usize::try_from(l.column).ok()?.checked_sub(1)?;
    Some(text[start..].char_indices().nth(skip).map_or(text.len(), |(i, _)| start + i))
}

/// `name` quoted as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The one SELECT of a term (written bare or in parentheses), or None.
fn term_select(term: &ast::SetExpr) -> Option<&ast::Select> {
    match term {
        ast::SetExpr::Select(s) => Some(s),
        ast::SetExpr::Query(q) if q.order_by.is_none() && q.limit_clause.is_none() && q.fetch.is_none() => {
            term_select(&q.body)
        }
        _ => None,
    }
}

fn term_select_mut(term: &mut ast::SetExpr) -> Option<&mut ast::Select> {
    match term {
        ast::SetExpr::Select(s) => Some(s),
        ast::SetExpr::Query(q) => term_select_mut(&mut q.body),
        _ => None,
    }
}

/// The name the recursive term's top-level FROM reads the WITH query `cte` by (its alias, or
/// its name).
fn self_reference(select: &ast::Select, cte: &str, hidden: bool) -> Option<String> {
    if hidden {
        return None;
    }
    let factors =
        select.from.iter().flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    for f in factors {
        if let ast::TableFactor::Table { name, alias, args: None, .. } = f {
            if let [part] = name.0.as_slice() {
                if part.as_ident().map(fold).as_deref() == Some(cte) {
                    return Some(alias.as_ref().map_or_else(|| cte.to_string(), |a| fold(&a.name)));
                }
            }
        }
    }
    None
}

fn parse_select(sql: &str) -> Result<ast::Query> {
    let mut stmts = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|e| SqlError::internal(format!("SEARCH / CYCLE rewrite did not parse: {e}")))?;
    match stmts.pop() {
        Some(ast::Statement::Query(q)) => Ok(*q),
        _ => Err(SqlError::internal("SEARCH / CYCLE rewrite is not a query")),
    }
}

/// The derived table's subquery of a `SELECT ... FROM (SELECT 1) AS x` the rewrite parsed.
fn derived_body(q: &mut ast::Query) -> Option<&mut ast::Query> {
    let ast::SetExpr::Select(s) = q.body.as_mut() else { return None };
    match &mut s.from.first_mut()?.relation {
        ast::TableFactor::Derived { subquery, .. } => Some(subquery),
        _ => None,
    }
}

impl Binder<'_> {
    fn loc(&self, l: Location) -> Option<usize> {
        self.pos(&Span::new(l, l))
    }

    /// A recursive WITH query with SEARCH / CYCLE clauses (see the module's documentation):
    /// the non-recursive term's rows (`base`, columns `names` of types `tys`) get the added
    /// columns, and the recursive term `right` is rewritten to compute them. Returns the new
    /// base, its columns, and the recursive term to bind, with the number of the query's own
    /// columns (which the term's `*` of the WITH query lists).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn search_cycle(
        &mut self,
        clauses: &Clauses,
        name: &str,
        alias: &ast::TableAlias,
        left: &ast::SetExpr,
        right: &ast::SetExpr,
        out: &mut Vec<Derived>,
    ) -> Result<(Source, Vec<crate::OutputColumn>, ast::SetExpr, usize)> {
        // parse_cte.c's checks, in its order.
        if term_select(left).is_none() {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                "with a SEARCH or CYCLE clause, the left side of the UNION must be a SELECT",
            ));
        }
        let Some(right_select) = term_select(right) else {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                "with a SEARCH or CYCLE clause, the right side of the UNION must be a SELECT",
            ));
        };
        // A query whose recursive term does not read it is not recursive, for these clauses.
        let mentioned = ast::visit_relations(right, |r| match r.0.as_slice() {
            [p] if p.as_ident().map(fold).as_deref() == Some(name) => std::ops::ControlFlow::Break(()),
            _ => std::ops::ControlFlow::Continue(()),
        });
        if mentioned.is_continue() {
            return Err(SqlError::new(code::SYNTAX_ERROR, "WITH query is not recursive").at(self.pos(&alias.name.span)));
        }
        let hides = matches!(right, ast::SetExpr::Query(q) if q.with.as_ref().is_some_and(|w| w.cte_tables.iter().any(|c| fold(&c.alias.name) == name)));
        let (base, bc) = self.set_expr(left)?;
        let tys: Vec<SqlType> =
            bc.iter().map(|c| if c.ty == SqlType::Unknown { SqlType::Text } else { c.ty }).collect();
        let base = self.coerce_source(base, &bc, &tys, "UNION")?;
        let aliases = alias_columns(Some(alias), bc.len(), "WITH query")?;
        let names: Vec<String> =
            bc.iter().enumerate().map(|(i, c)| aliases.get(i).unwrap_or(&c.name).clone()).collect();
        let position = |n: &String| names.iter().position(|c| c == n);
        let check_list = |list: &[String], what: &str, at: Location| -> Result<Vec<usize>> {
            let mut seen = Vec::new();
            for n in list {
                let Some(i) = position(n) else {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        format!("{what} column \"{n}\" not in WITH query column list"),
                    )
                    .at(self.loc(at)));
                };
                if seen.contains(&i) {
                    return Err(SqlError::new(
                        code::DUPLICATE_COLUMN,
                        format!("{what} column \"{n}\" specified more than once"),
                    )
                    .at(self.loc(at)));
                }
                seen.push(i);
            }
            Ok(seen)
        };
        let mut search_cols = Vec::new();
        if let Some(s) = &clauses.search {
            search_cols = check_list(&s.by, "search", s.at)?;
            if names.contains(&s.set) {
                return Err(SqlError::new(
                    code::SYNTAX_ERROR,
                    format!("search sequence column name \"{}\" already used in WITH query column list", s.set),
                )
                .at(self.loc(s.at)));
            }
        }
        let mut cycle_cols = Vec::new();
        if let Some(c) = &clauses.cycle {
            cycle_cols = check_list(&c.columns, "cycle", c.at)?;
            for (n, what) in [(&c.mark, "cycle mark"), (&c.path, "cycle path")] {
                if names.contains(n) {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        format!("{what} column name \"{n}\" already used in WITH query column list"),
                    )
                    .at(self.loc(c.at)));
                }
            }
            if c.mark == c.path {
                return Err(SqlError::new(
                    code::SYNTAX_ERROR,
                    "cycle mark column name and cycle path column name are the same",
                )
                .at(self.loc(c.at)));
            }
            let items = [self.expr(&c.value, None)?, self.expr(&c.default, None)?];
            self.common_type(&items, "CYCLE").map_err(|e| e.at(self.loc(c.default_at)))?;
        }
        if let (Some(s), Some(c)) = (&clauses.search, &clauses.cycle) {
            for (n, what) in [(&c.mark, "cycle mark"), (&c.path, "cycle path")] {
                if s.set == *n {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        format!("search sequence column name and {what} column name are the same"),
                    )
                    .at(self.loc(s.at)));
                }
            }
        }
        let Some(parent) = self_reference(right_select, name, hides) else {
            return Err(SqlError::new(
                code::FEATURE_NOT_SUPPORTED,
                format!(
                    "with a SEARCH or CYCLE clause, the recursive reference to WITH query \"{name}\" must be at the top level of its right-hand SELECT"
                ),
            ));
        };

        // The non-recursive term's rows, read by name while the added columns are computed.
        let mut typed = bc.clone();
        for (c, t) in typed.iter_mut().zip(&tys) {
            c.ty = *t;
        }
        let id = self.new_id();
        let def = Arc::new(relation::derived_def(id, columns_of(&typed, &names)));
        out.push(Derived { def: def.clone(), label: format!("{name} (non-recursive term)"), source: base });
        let row_of = |rel: &str, cols: &[usize], column: &dyn Fn(usize) -> String| -> String {
            let list: Vec<String> = cols.iter().map(|&i| format!("{}.{}", quoted(rel), column(i))).collect();
            format!("ROW({})", list.join(", "))
        };
        let by_name = |i: usize| quoted(&names[i]);
        let mut items = vec![format!("{}.*", quoted("*t*"))];
        if let Some(s) = &clauses.search {
            let row = row_of("*t*", &search_cols, &by_name);
            let init = if s.breadth {
                format!("ROW(CAST(0 AS bigint), {})", &row[4..row.len() - 1])
            } else {
                format!("ARRAY[{row}]")
            };
            items.push(format!("{init} AS {}", quoted(&s.set)));
        }
        if let Some(c) = &clauses.cycle {
            items.push(format!("CASE WHEN false THEN {} ELSE {} END AS {}", c.value, c.default, quoted(&c.mark)));
            items.push(format!("ARRAY[{}] AS {}", row_of("*t*", &cycle_cols, &by_name), quoted(&c.path)));
        }
        let sql = format!("SELECT {} FROM {} AS {}", items.join(", "), quoted(BASE), quoted("*t*"));
        self.sub.ctes.push(CteName { name: BASE.into(), def, refs: 0, self_refs: 0, no_returning: false });
        let bound = self.query(&parse_select(&sql)?);
        self.sub.ctes.pop();
        let (plan, cols) = bound?;

        // The recursive term: the parent row's added columns read beside its own, then the
        // new row's computed from them.
        let n = names.len();
        let added = clauses.added();
        let mut term = right.clone();
        let select = term_select_mut(&mut term).ok_or_else(|| SqlError::internal("SEARCH / CYCLE term"))?;
        for a in &added {
            select.projection.push(ast::SelectItem::UnnamedExpr(ast::Expr::CompoundIdentifier(vec![
                ast::Ident::with_quote('"', parent.clone()),
                ast::Ident::with_quote('"', a.clone()),
            ])));
        }
        if let Some(c) = &clauses.cycle {
            let not_cycle = ast::Expr::BinaryOp {
                left: Box::new(ast::Expr::CompoundIdentifier(vec![
                    ast::Ident::with_quote('"', parent.clone()),
                    ast::Ident::with_quote('"', c.mark.clone()),
                ])),
                op: ast::BinaryOperator::NotEq,
                right: Box::new(c.value.clone()),
            };
            select.selection = Some(match select.selection.take() {
                Some(w) => ast::Expr::BinaryOp {
                    left: Box::new(ast::Expr::Nested(Box::new(w))),
                    op: ast::BinaryOperator::And,
                    right: Box::new(not_cycle),
                },
                None => not_cycle,
            });
        }
        let own = |i: usize| quoted(&format!("*c{}*", i + 1));
        let parent_col = |k: usize| format!("{}.{}", quoted("*s*"), quoted(&format!("*p{}*", k + 1)));
        let mut items: Vec<String> = (0..n).map(|i| format!("{}.{}", quoted("*s*"), own(i))).collect();
        let mut k = 0;
        if let Some(s) = &clauses.search {
            let row = row_of("*s*", &search_cols, &own);
            items.push(if s.breadth {
                format!("ROW(({}).f1 + 1, {})", parent_col(k), &row[4..row.len() - 1])
            } else {
                format!("{} || ARRAY[{row}]", parent_col(k))
            });
            k += 1;
        }
        if let Some(c) = &clauses.cycle {
            let row = row_of("*s*", &cycle_cols, &own);
            items.push(format!("CASE WHEN {row} = ANY({}) THEN {} ELSE {} END", parent_col(k + 1), c.value, c.default));
            items.push(format!("{} || ARRAY[{row}]", parent_col(k + 1)));
        }
        let aliases: Vec<String> =
            (0..n).map(own).chain((0..added.len()).map(|k| quoted(&format!("*p{}*", k + 1)))).collect();
        let mut step = parse_select(&format!(
            "SELECT {} FROM (SELECT 1) AS {}({})",
            items.join(", "),
            quoted("*s*"),
            aliases.join(", ")
        ))?;
        let inner = derived_body(&mut step).ok_or_else(|| SqlError::internal("SEARCH / CYCLE rewrite"))?;
        match term {
            ast::SetExpr::Query(q) => *inner = *q,
            t => *inner.body = t,
        }
        Ok((Source::Query(Box::new(plan)), cols, *step.body, n))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn syntax_writes_the_marker() {
        let sql = "with recursive t(a) as (select 1 union all select a + 1 from t where a < 3) search depth first by a set seq select * from t";
        let out = super::syntax(sql).expect("rewritten");
        assert_eq!(out, "with recursive t(a) as (select 1 union all select a + 1 from t where a < 3) , \"\u{1}search depth first by a set seq\" AS (SELECT 1) select * from t");
        let stmts = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, &out);
        assert!(stmts.is_ok(), "{stmts:?}");
    }
}
