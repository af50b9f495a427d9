//! Stored generated columns, `GENERATED ALWAYS AS (expr) STORED`
//! (<https://www.postgresql.org/docs/15/ddl-generated-columns.html>): the column option as
//! CREATE TABLE and ADD COLUMN take it, the expression checked as PostgreSQL checks it
//! (immutable functions only, no other generated column, no subquery, aggregate or window
//! function; assignable to the column's type), kept as SQL text in the column's definition
//! ([`ColumnDef::generated`]), and computed for every row INSERT, UPDATE, ON CONFLICT DO UPDATE,
//! COPY FROM and foreign key actions write ([`GeneratedColumns`], called where those check a
//! row's constraints). Also what other DDL must respect: ALTER COLUMN TYPE and DROP COLUMN of
//! a column one reads, RENAME COLUMN, foreign keys over one, and `ALTER COLUMN ... DROP
//! EXPRESSION`.

use super::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

impl Binder<'_> {
    /// `GENERATED ALWAYS AS (expr) STORED` on column `col` of table `table`: the expression's
    /// text kept (checked once the table's columns are known: [`Binder::check_generated`]).
    pub(super) fn generated_option(
        &mut self,
        col: &mut ColumnDef,
        generated_as: &ast::GeneratedAs,
        expr: &ast::Expr,
        mode: Option<&ast::GeneratedExpressionMode>,
        table: &str,
    ) -> Result<()> {
        if !matches!(mode, Some(ast::GeneratedExpressionMode::Stored)) {
            // PostgreSQL 15 has stored generated columns only (its grammar wants STORED).
            return Err(SqlError::syntax(")"));
        }
        // (sqlparser reads `GENERATED ALWAYS AS (e) STORED` as ExpStored.)
        if !matches!(generated_as, ast::GeneratedAs::Always | ast::GeneratedAs::ExpStored) {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                "for a generated column, GENERATED ALWAYS must be specified",
            ));
        }
        let relname = crate::schema::relname(table);
        if col.identity != orbit_engine::table::Identity::No {
            return Err(both_identity(&col.name, relname));
        }
        if col.default_expr.is_some() {
            return Err(both_default(&col.name, relname));
        }
        if col.generated.is_some() {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                format!("multiple generation clauses specified for column \"{}\" of table \"{relname}\"", col.name),
            ));
        }
        let inner = match expr {
            ast::Expr::Nested(e) => e.as_ref(),
            e => e,
        };
        col.generated = Some(super::alter_column::lower_cast_types(&inner.to_string()));
        AS_WRITTEN.with(|m| {
            let mut m = m.borrow_mut();
            // Entries a failed statement left are dropped before they pile up.
            if m.len() >= MAX_AS_WRITTEN {
                m.clear();
            }
            m.insert(col.name.clone(), inner.clone())
        });
        Ok(())
    }

    /// The generated columns of `def` (its columns all known) with PostgreSQL's refusals.
    pub(super) fn check_generated(&mut self, def: &TableDef) -> Result<()> {
        let checked = def
            .columns
            .iter()
            .filter(|c| c.generated.is_some())
            .try_for_each(|c| self.generation_expr_as_written(def, c, true).map(|_| ()));
        AS_WRITTEN.with(|m| m.borrow_mut().clear());
        checked
    }

    /// [`Binder::generation_expr`] of a column this statement defines. With `positioned` (CREATE
    /// TABLE) the expression as the statement wrote it is bound, so its errors point into the
    /// statement (PostgreSQL's LINE/caret), where the kept text's positions would point
    /// nowhere; without (ADD COLUMN: PostgreSQL's ALTER TABLE reports no position) the kept text.
    pub(super) fn generation_expr_as_written(
        &mut self,
        def: &TableDef,
        col: &ColumnDef,
        positioned: bool,
    ) -> Result<Expr> {
        let written = AS_WRITTEN.with(|m| m.borrow_mut().remove(&col.name));
        // Only the expression this column was given (compared by its kept text).
        let written = written.filter(|e| {
            col.generated.as_deref() == Some(super::alter_column::lower_cast_types(&e.to_string()).as_str())
        });
        match written {
            Some(e) if positioned => self.generation_expr_of(def, col, &e, true),
            _ => self.generation_expr(def, col),
        }
    }

    /// Column `col`'s generation expression bound over `def`'s rows, assigned to its type. The
    /// checks run in the order of PostgreSQL's `cookDefault`: the expression's own errors as it
    /// is bound (42703, 42P10, 0A000, 42803, 42P20, 42P02), then no generated column read
    /// (42P17), then IMMUTABLE (42P17), then the assignment to the column's type (42804).
    pub(super) fn generation_expr(&mut self, def: &TableDef, col: &ColumnDef) -> Result<Expr> {
        let text = col.generated.as_deref().unwrap_or("NULL");
        let e = super::constraints::parse_stored(text).map_err(|e| {
            SqlError::internal(format!("stored generation expression of \"{}\" does not parse: {e}", col.name))
        })?;
        // Positions in the kept text are no positions in the statement.
        self.generation_expr_of(def, col, &e, false).map_err(|e| SqlError { position: None, ..e })
    }

    /// [`Binder::generation_expr`] of expression `e` (`written`: as the statement being bound
    /// wrote it, so its spans are positions in the statement).
    fn generation_expr_of(&mut self, def: &TableDef, col: &ColumnDef, e: &ast::Expr, written: bool) -> Result<Expr> {
        let at = |b: &Binder<'_>, name: &str| if written { column_span(e, name).and_then(|s| b.pos(&s)) } else { None };
        if super::constraints::has_subquery(e) {
            return Err(SqlError::unsupported("cannot use subquery in column generation expression"));
        }
        if let Some(sys) =
            SYSTEM_COLUMNS.iter().find(|s| def.column(s).is_none() && super::alter_type::mentions_column(e, s))
        {
            return Err(SqlError::new(
                code::INVALID_COLUMN_REFERENCE,
                format!("cannot use system column \"{sys}\" in column generation expression"),
            )
            .at(at(self, sys)));
        }
        let scope = Scope { def, alias: def.name.clone(), joined: None };
        let outer = self.window.banned_in("column generation expressions");
        let banned = std::mem::replace(&mut self.aggs_banned_in, "column generation expressions");
        let saved = self.allow_aggs;
        self.allow_aggs = false;
        let bound = self.expr(e, Some(&scope));
        self.allow_aggs = saved;
        self.aggs_banned_in = banned;
        self.window.ban(outer);
        let bound = bound?;
        if !self.params.is_empty() {
            return Err(SqlError::new(code::UNDEFINED_PARAMETER, "there is no parameter $1"));
        }
        if let Some(g) =
            def.columns.iter().find(|g| g.generated.is_some() && super::alter_type::mentions_column(e, &g.name))
        {
            return Err(SqlError::new(
                "42P17",
                format!("cannot use generated column \"{}\" in column generation expression", g.name),
            )
            .detail("A generated column cannot reference another generated column.")
            .at(at(self, &g.name)));
        }
        // (The assignment cast added below is not checked, as in PostgreSQL.)
        if super::index_exprs::calls_mutable(e) || reads_session_settings(&bound) {
            return Err(SqlError::new("42P17", "generation expression is not immutable"));
        }
        let (name, ty) = (col.name.clone(), col.ty);
        let e = self.coerce(bound, ty, CastContext::Assignment, |from| {
            SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("column \"{name}\" is of type {} but default expression is of type {}", ty.name(), from.name()),
            )
            .hint("You will need to rewrite or cast the expression.")
        })?;
        // varchar(n) from another string type still has its length checked (22001).
        Ok(match (ty, &e) {
            (SqlType::Varchar(Some(_)), Expr::Cast(..) | Expr::Const(..)) => e,
            (SqlType::Varchar(Some(_)), _) => Expr::Cast(Box::new(e), ty, false),
            _ => e,
        })
    }
}

/// The span of the first reference to column `cn` in `e` (its first word: `t.b` points at `t`).
fn column_span(e: &ast::Expr, cn: &str) -> Option<sqlparser::tokenizer::Span> {
    use sqlparser::ast::Visit;
    struct Finder<'a>(&'a str, Option<sqlparser::tokenizer::Span>);
    impl ast::Visitor for Finder<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &ast::Expr) -> std::ops::ControlFlow<()> {
            let span = match e {
                ast::Expr::Identifier(id) if fold(id) == self.0 => Some(id.span),
                ast::Expr::CompoundIdentifier(ids) if ids.last().is_some_and(|id| fold(id) == self.0) => {
                    ids.first().map(|id| id.span)
                }
                _ => None,
            };
            match span {
                Some(s) => {
                    self.1 = Some(s);
                    std::ops::ControlFlow::Break(())
                }
                None => std::ops::ControlFlow::Continue(()),
            }
        }
    }
    let mut f = Finder(cn, None);
    let _ = e.visit(&mut f);
    f.1
}

thread_local! {
    /// Expressions as the statement being bound wrote them, by column name, from the column
    /// option ([`Binder::generated_option`]) to the checks once the table's columns are known
    /// ([`Binder::generation_expr_as_written`]); binding does not yield, so no other statement
    /// binds in between, and each entry is replaced or taken by the statement that wrote it.
    static AS_WRITTEN: RefCell<HashMap<String, ast::Expr>> = RefCell::new(HashMap::new());
}

/// At most this many expressions wait in [`AS_WRITTEN`] (PostgreSQL's most columns a table has).
const MAX_AS_WRITTEN: usize = 1600;

/// System columns PostgreSQL refuses in a generation expression (42P10); `tableoid` it allows.
const SYSTEM_COLUMNS: &[&str] = &["ctid", "xmin", "xmax", "cmin", "cmax"];

/// Types whose text input or output reads the session's settings (DateStyle, IntervalStyle,
/// TimeZone, the enum catalog): PostgreSQL marks those I/O functions STABLE, so a cast between
/// them and a string type is not immutable (`date_out`, `timestamptz_in`, `enum_out`, ...).
fn stable_text_io(t: SqlType, output: bool) -> bool {
    match t {
        SqlType::Date | SqlType::Timestamp(_) | SqlType::TimestampTz(_) | SqlType::Interval(_) | SqlType::Enum(_) => {
            true
        }
        // time_in is STABLE, time_out IMMUTABLE.
        SqlType::Time(_) => !output,
        _ => false,
    }
}

/// Whether a cast from `from` to `to` is STABLE in PostgreSQL 15 (pg_cast's functions and the
/// I/O conversions of [`stable_text_io`]).
fn stable_cast(from: SqlType, to: SqlType) -> bool {
    use SqlType as T;
    if from == to || from == T::Unknown {
        // An untyped literal is read once, when the expression is parsed.
        return false;
    }
    if from.is_string() {
        return stable_text_io(to, false);
    }
    if to.is_string() {
        return stable_text_io(from, true);
    }
    // date/timestamp to timestamptz and timestamptz to date/time/timestamp use the time zone.
    matches!(from, T::TimestampTz(_)) || matches!(to, T::TimestampTz(_))
}

/// Whether the bound expression `e` does something PostgreSQL marks STABLE by the types it is
/// applied to (a cast of [`stable_cast`], `||` with such a value, timestamptz arithmetic with
/// an interval, a comparison of timestamptz with date/timestamp, date_part/date_trunc of a
/// timestamptz), which `calls_mutable`'s function names cannot see.
fn reads_session_settings(e: &Expr) -> bool {
    use SqlType as T;
    let tz = |a: &Expr| matches!(a.ty(), T::TimestampTz(_));
    let here = match e {
        Expr::Cast(inner, to, _) => stable_cast(inner.ty(), *to),
        Expr::Concat(a, b) => [a, b].iter().any(|x| !x.ty().is_string() && stable_text_io(x.ty(), true)),
        Expr::Arith(_, a, b, _) => {
            (tz(a) && matches!(b.ty(), T::Interval(_))) || (matches!(a.ty(), T::Interval(_)) && tz(b))
        }
        Expr::Cmp(_, a, b) => tz(a) != tz(b) && [a.ty(), b.ty()].iter().any(|t| matches!(t, T::Date | T::Timestamp(_))),
        Expr::Func(crate::expr::Func::DatePart | crate::expr::Func::DateTrunc, args, _) => args.iter().any(tz),
        _ => false,
    };
    here || e.clone().children_mut().into_iter().any(|c| reads_session_settings(c))
}

/// `GENERATED BY DEFAULT AS (expr) STORED` in a statement sqlparser could not parse: PostgreSQL's
/// grammar takes it and refuses it (42601 at BY), where sqlparser has no such rule.
pub(super) fn by_default_refused(sql: &str) -> Option<SqlError> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&sqlparser::dialect::PostgreSqlDialect {}, sql).tokenize_with_location().ok()?;
    let solid: Vec<&sqlparser::tokenizer::TokenWithSpan> =
        tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).collect();
    let bare = |k: usize, w: &str| matches!(solid.get(k).map(|t| &t.token), Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    let k = (0..solid.len()).find(|&k| {
        bare(k, "GENERATED")
            && bare(k + 1, "BY")
            && bare(k + 2, "DEFAULT")
            && bare(k + 3, "AS")
            && matches!(solid.get(k + 4).map(|t| &t.token), Some(Token::LParen))
    })?;
    // PostgreSQL's gram.y points at the `BY DEFAULT` (generated_when).
    let at = solid[k + 1].span.start;
    Some(
        SqlError::new(code::SYNTAX_ERROR, "for a generated column, GENERATED ALWAYS must be specified")
            .at(super::char_position(sql, at.line, at.column)),
    )
}

/// PostgreSQL's 42601 for a column with both an identity and a generation expression.
pub(super) fn both_identity(column: &str, relname: &str) -> SqlError {
    SqlError::new(
        code::SYNTAX_ERROR,
        format!("both identity and generation expression specified for column \"{column}\" of table \"{relname}\""),
    )
}

/// PostgreSQL's 42601 for a column with both a DEFAULT and a generation expression.
pub(super) fn both_default(column: &str, relname: &str) -> SqlError {
    SqlError::new(
        code::SYNTAX_ERROR,
        format!("both default and generation expression specified for column \"{column}\" of table \"{relname}\""),
    )
}

/// PostgreSQL's 428C9 for an explicit value given a generated column.
pub(super) fn explicit_value(column: &str) -> SqlError {
    SqlError::new("428C9", format!("cannot insert a non-DEFAULT value into column \"{column}\""))
        .detail(format!("Column \"{column}\" is a generated column."))
}

/// PostgreSQL's 428C9 for `UPDATE ... SET b = <not DEFAULT>` of a generated column.
pub(super) fn updated_value(column: &str) -> SqlError {
    SqlError::new("428C9", format!("column \"{column}\" can only be updated to DEFAULT"))
        .detail(format!("Column \"{column}\" is a generated column."))
}

/// PostgreSQL's 42601 for SET DEFAULT / DROP DEFAULT of a generated column.
pub(super) fn is_generated(column: &str, relname: &str, hint: bool) -> SqlError {
    let e = SqlError::new(
        code::SYNTAX_ERROR,
        format!("column \"{column}\" of relation \"{relname}\" is a generated column"),
    );
    if hint {
        e.hint("Use ALTER TABLE ... ALTER COLUMN ... DROP EXPRESSION instead.")
    } else {
        e
    }
}

/// The generated columns of `def` whose expression reads column `cn`, in column order.
pub(super) fn users_of(def: &TableDef, cn: &str) -> Vec<usize> {
    def.columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.generated
                .as_deref()
                .and_then(|t| super::constraints::parse_stored(t).ok())
                .is_some_and(|e| super::alter_type::mentions_column(&e, cn))
        })
        .map(|(i, _)| i)
        .collect()
}

/// ALTER COLUMN ... TYPE of column `i` of `def` (to `ty`, `using` given or not): a column a
/// generated column reads keeps its type (0A000, as PostgreSQL 15); a generated column takes
/// no USING (42611) and its expression must still be assignable to the new type.
pub(super) fn check_retype(b: &mut Binder<'_>, def: &TableDef, i: usize, ty: SqlType, using: bool) -> Result<()> {
    let cn = &def.columns[i].name;
    if let Some(&g) = users_of(def, cn).first() {
        return Err(SqlError::unsupported("cannot alter type of a column used by a generated column")
            .detail(format!("Column \"{cn}\" is used by generated column \"{}\".", def.columns[g].name)));
    }
    if def.columns[i].generated.is_none() {
        return Ok(());
    }
    if using {
        return Err(SqlError::new("42611", "cannot specify USING when altering type of generated column")
            .detail(format!("Column \"{cn}\" is a generated column.")));
    }
    let mut with = def.clone();
    with.columns[i].ty = ty;
    let col = with.columns[i].clone();
    b.generation_expr(&with, &col).map(|_| ())
}

/// `ALTER TABLE t DROP COLUMN cn`: PostgreSQL's 2BP01 when generated columns read it, or with
/// CASCADE their names (to drop first) and the NOTICE that says so (first line the message,
/// the rest its DETAIL). None when no generated column reads it.
pub(super) fn drop_dependents(def: &TableDef, cn: &str, cascade: bool) -> Result<Option<(Vec<String>, String)>> {
    let users: Vec<&str> =
        users_of(def, cn).into_iter().map(|g| def.columns[g].name.as_str()).filter(|&g| g != cn).collect();
    if users.is_empty() {
        return Ok(None);
    }
    let rel = crate::schema::relname(&def.name);
    if !cascade {
        let lines: Vec<String> =
            users.iter().map(|g| format!("column {g} of table {rel} depends on column {cn} of table {rel}")).collect();
        return Err(SqlError::new(
            code::DEPENDENT_OBJECTS_STILL_EXIST,
            format!("cannot drop column {cn} of table {rel} because other objects depend on it"),
        )
        .detail(lines.join("\n"))
        .hint("Use DROP ... CASCADE to drop the dependent objects too."));
    }
    let lines: Vec<String> = users.iter().map(|g| format!("drop cascades to column {g} of table {rel}")).collect();
    let notice = match lines.as_slice() {
        [one] => one.clone(),
        _ => format!("drop cascades to {} other objects\n{}", lines.len(), lines.join("\n")),
    };
    Ok(Some((users.into_iter().map(str::to_string).collect(), notice)))
}

/// The statements of `ALTER TABLE t DROP COLUMN cn CASCADE` when generated columns `users`
/// read `cn`: each of them dropped, then `cn` (with CASCADE, for the foreign keys on it).
pub(super) fn drop_steps(tname: &str, users: &[String], cn: &str) -> Vec<String> {
    use crate::regtypes::quote_ident;
    let (schema, rel) = crate::schema::split(tname);
    let table = format!("{}.{}", quote_ident(schema), quote_ident(rel));
    let mut steps: Vec<String> =
        users.iter().map(|g| format!("ALTER TABLE {table} DROP COLUMN {}", quote_ident(g))).collect();
    steps.push(format!("ALTER TABLE {table} DROP COLUMN {} CASCADE", quote_ident(cn)));
    steps
}

/// `ALTER TABLE ... RENAME COLUMN old TO new`: generation expressions name it by its new name.
pub(crate) fn rename_column(def: &mut TableDef, old: &str, new: &str) -> Result<()> {
    for c in &mut def.columns {
        if let Some(text) = &c.generated {
            let mut e = super::constraints::parse_stored(text).map_err(|e| {
                SqlError::internal(format!("stored generation expression of \"{}\" does not parse: {e}", c.name))
            })?;
            super::constraints::rename_in_expr(&mut e, old, new);
            c.generated = Some(e.to_string());
        }
    }
    Ok(())
}

/// A foreign key over `columns` of `def`: when one of them is generated, no action may write it
/// (ON UPDATE CASCADE / SET NULL / SET DEFAULT, ON DELETE SET NULL / SET DEFAULT: PostgreSQL's
/// 42601), since a generated column takes no value but its expression's.
pub(super) fn check_foreign_key(
    def: &TableDef,
    columns: &[usize],
    on_update: orbit_engine::table::FkAction,
    on_delete: orbit_engine::table::FkAction,
) -> Result<()> {
    use orbit_engine::table::FkAction as A;
    if !columns.iter().any(|&c| def.columns[c].generated.is_some()) {
        return Ok(());
    }
    if matches!(on_update, A::Cascade | A::SetNull | A::SetDefault) {
        return Err(SqlError::new(
            code::SYNTAX_ERROR,
            "invalid ON UPDATE action for foreign key constraint containing generated column",
        ));
    }
    if matches!(on_delete, A::SetNull | A::SetDefault) {
        return Err(SqlError::new(
            code::SYNTAX_ERROR,
            "invalid ON DELETE action for foreign key constraint containing generated column",
        ));
    }
    Ok(())
}

/// What a DROP EXPRESSION marker column name starts with ([`drop_expression_syntax`]).
const DROP_EXPRESSION: &str = "drop expression";

/// At `tokens[i]` = `ALTER` of an ALTER TABLE statement ending at `end` (`solid`: the indexes
/// of its tokens that are not whitespace): each `ALTER [COLUMN] col DROP EXPRESSION [IF
/// EXISTS]` action, which sqlparser has no grammar for, rewritten to `ALTER COLUMN <marker>
/// DROP DEFAULT`, the marker holding the column as written and IF EXISTS
/// ([`drop_expression_column`] reads it back). None when the statement has no such action.
pub(super) fn drop_expression_syntax(
    tokens: &[sqlparser::tokenizer::Token],
    i: usize,
    solid: &[usize],
    end: usize,
) -> Option<String> {
    use super::alter_sequence::{bare, quoted, MARK};
    let at = |k: usize| solid.get(k).map(|&j| &tokens[j]);
    if !bare(at(1), "TABLE") {
        return None;
    }
    let text = |from: usize, to: usize| -> String { tokens[from..to].iter().map(|t| t.to_string()).collect() };
    let mut out = String::new();
    let mut from = i;
    let mut k = 3;
    while k + 1 < solid.len() {
        let action = bare(at(k), "DROP") && bare(at(k + 1), "EXPRESSION");
        let col = k - 1;
        if !action || !(bare(at(col - 1), "ALTER") || bare(at(col - 1), "COLUMN")) {
            k += 1;
            continue;
        }
        let if_exists = bare(at(k + 2), "IF") && bare(at(k + 3), "EXISTS");
        let last = if if_exists { k + 3 } else { k + 1 };
        let column = tokens[solid[col]].to_string();
        let mark = format!("{MARK}{DROP_EXPRESSION}{MARK}{}{MARK}{column}", u8::from(if_exists));
        out.push_str(&text(from, solid[col]));
        out.push_str(&quoted(&mark));
        out.push_str(" DROP DEFAULT");
        from = solid[last] + 1;
        k = last + 1;
    }
    if from == i {
        return None;
    }
    out.push_str(&text(from, end));
    Some(out)
}

/// A marker column name of [`drop_expression_syntax`]: the column as written and IF EXISTS.
pub(super) fn drop_expression_column(id: &ast::Ident) -> Option<(ast::Ident, bool)> {
    let rest = id.value.strip_prefix('\u{1}')?.strip_prefix(DROP_EXPRESSION)?.strip_prefix('\u{1}')?;
    let (if_exists, col) = rest.split_once('\u{1}')?;
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let col = sqlparser::parser::Parser::new(&dialect).try_with_sql(col).ok()?.parse_identifier().ok()?;
    Some((col, if_exists == "1"))
}

/// `ALTER TABLE t ALTER COLUMN col DROP EXPRESSION [IF EXISTS]`: the column becomes an ordinary
/// one keeping its values (a catalog change only); 55000 for a column that is not generated
/// (a NOTICE with IF EXISTS).
pub(super) fn drop_expression(
    tname: &str,
    table: Arc<TableDef>,
    column: &ast::Ident,
    if_exists: bool,
    op: &ast::AlterColumnOperation,
) -> Result<Plan> {
    if !matches!(op, ast::AlterColumnOperation::DropDefault) {
        return Err(SqlError::syntax("DROP"));
    }
    let relname = crate::schema::relname(tname);
    let cn = fold(column);
    let Some(i) = table.column(&cn) else {
        return Err(SqlError::new(
            code::UNDEFINED_COLUMN,
            format!("column \"{cn}\" of relation \"{relname}\" does not exist"),
        ));
    };
    if table.columns[i].generated.is_none() {
        let what = format!("column \"{cn}\" of relation \"{relname}\" is not a stored generated column");
        if if_exists {
            return Ok(Plan::Skipped { tag: "ALTER TABLE", notice: format!("{what}, skipping") });
        }
        return Err(SqlError::new("55000", what));
    }
    let mut def = (*table).clone();
    def.columns[i].generated = None;
    Ok(Plan::AlterColumn(Box::new(super::alter_column::AlterColumn {
        table,
        def,
        check_not_null: None,
        sequence: None,
        default_sequence: None,
        retype: None,
    })))
}

/// A table's generation expressions, bound: (column, expression).
type BoundGenerated = Rc<Vec<(usize, Expr)>>;

/// At most this many tables' bound expressions are cached per thread (then the cache starts over).
const MAX_CACHED: usize = 1024;

thread_local! {
    static GENERATED: RefCell<HashMap<(u32, String), BoundGenerated>> = RefCell::new(HashMap::new());
}

/// The generation expressions of `def`, bound over its rows.
pub fn bind_generated(def: &TableDef) -> Result<Vec<(usize, Expr)>> {
    let mut b = Binder::detached("column generation expressions");
    def.columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.generated.is_some())
        .map(|(i, c)| b.generation_expr(def, c).map(|e| (i, e)))
        .collect()
}

/// The generated columns of a table, bound once for a statement and computed for each row it
/// writes ([`GeneratedColumns::fill`]); empty for a table without generated columns.
#[derive(Clone, Default)]
pub struct GeneratedColumns(Option<BoundGenerated>);

impl GeneratedColumns {
    /// `table`'s generation expressions, bound over its rows (from a per-thread cache keyed by
    /// the table's columns and expressions, so a changed definition binds again).
    pub fn of(table: &TableDef) -> Result<GeneratedColumns> {
        if table.columns.iter().all(|c| c.generated.is_none()) {
            return Ok(GeneratedColumns(None));
        }
        let mut layout = String::new();
        for c in &table.columns {
            layout.push_str(&format!("{}\0{:?}\0{}\0", c.name, c.ty, c.generated.as_deref().unwrap_or("")));
        }
        let key = (table.oid, layout);
        if let Some(b) = GENERATED.with(|m| m.borrow().get(&key).cloned()) {
            return Ok(GeneratedColumns(Some(b)));
        }
        let b = Rc::new(bind_generated(table)?);
        GENERATED.with(|m| {
            let mut m = m.borrow_mut();
            if m.len() >= MAX_CACHED {
                m.clear();
            }
            m.insert(key, b.clone());
        });
        Ok(GeneratedColumns(Some(b)))
    }

    /// Computes the generated columns of `row` (a full row of the table, with the values the
    /// statement gave the others) from its other columns, as PostgreSQL computes them before
    /// it checks the row's constraints.
    pub fn fill(&self, row: &mut [Datum]) -> Result<()> {
        let Some(bound) = &self.0 else { return Ok(()) };
        // Every expression reads the row as the statement gave it (none reads a generated column).
        let values = bound
            .iter()
            .map(|(_, e)| crate::expr::eval(e, &Ctx { row, params: &[], aggs: &[] }))
            .collect::<Result<Vec<_>>>()?;
        for ((i, _), v) in bound.iter().zip(values) {
            if let Some(slot) = row.get_mut(*i) {
                *slot = v;
            }
        }
        Ok(())
    }
}

/// [`GeneratedColumns::fill`] for one row of `table` (binding once per call: for statements
/// that write a row here and there, as foreign key actions do).
pub fn fill_generated(table: &TableDef, row: &mut [Datum]) -> Result<()> {
    GeneratedColumns::of(table)?.fill(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ALTER COLUMN actions of an ALTER TABLE statement after the token rewrite.
    fn rewritten_actions(sql: &str) -> Vec<(ast::Ident, ast::AlterColumnOperation)> {
        let text = super::super::postgres_only_syntax(sql).expect("rewritten");
        let dialect = sqlparser::dialect::PostgreSqlDialect {};
        let stmts = sqlparser::parser::Parser::parse_sql(&dialect, &text).expect("parses");
        let [ast::Statement::AlterTable(at)] = stmts.as_slice() else { panic!("{text}") };
        at.operations
            .iter()
            .filter_map(|op| match op {
                ast::AlterTableOperation::AlterColumn { column_name, op } => Some((column_name.clone(), op.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn drop_expression_becomes_a_marker_drop_default() {
        let actions = rewritten_actions(
            "ALTER TABLE s.t ALTER COLUMN \"B b\" DROP EXPRESSION IF EXISTS, ALTER c SET NOT NULL, ALTER d DROP EXPRESSION",
        );
        let read: Vec<Option<(String, bool)>> =
            actions.iter().map(|(c, _)| drop_expression_column(c).map(|(c, e)| (fold(&c), e))).collect();
        assert_eq!(read, [Some(("B b".to_string(), true)), None, Some(("d".to_string(), false))]);
        assert!(matches!(actions[0].1, ast::AlterColumnOperation::DropDefault));
        assert!(matches!(actions[1].1, ast::AlterColumnOperation::SetNotNull));
        // Anything else is left alone.
        assert_eq!(super::super::postgres_only_syntax("ALTER TABLE t ALTER c DROP DEFAULT"), None);
    }

    #[test]
    fn stable_casts_are_those_postgresql_marks_stable() {
        use SqlType as T;
        for (from, to) in [
            (T::TIMESTAMPTZ, T::Text),
            (T::Text, T::TIMESTAMPTZ),
            (T::TIMESTAMP, T::TIMESTAMPTZ),
            (T::TIMESTAMPTZ, T::Date),
            (T::Date, T::Text),
            (T::Varchar(None), T::Date),
            (T::INTERVAL, T::Text),
            (T::Text, T::TIME),
        ] {
            assert!(stable_cast(from, to), "{from:?} -> {to:?}");
        }
        for (from, to) in [
            (T::Int4, T::Text),
            (T::Float8, T::Text),
            (T::TIME, T::Text),
            (T::Date, T::TIMESTAMP),
            (T::Unknown, T::TIMESTAMPTZ),
            (T::TIMESTAMPTZ, T::TIMESTAMPTZ),
            (T::Text, T::Int8),
        ] {
            assert!(!stable_cast(from, to), "{from:?} -> {to:?}");
        }
    }
}
