//! Stored generated columns, `GENERATED ALWAYS AS (expr) STORED`
//! (<https://www.postgresql.org/docs/15/ddl-generated-columns.html>): the column option as
//! CREATE TABLE and ADD COLUMN take it, the expression checked as PostgreSQL checks it
//! (immutable functions only, no other generated column, no subquery, aggregate or window
//! function; assignable to the column's type), kept as SQL text in the column's definition
//! ([`ColumnDef::generated`]), and computed for every row INSERT, UPDATE, ON CONFLICT DO UPDATE
//! and COPY FROM write ([`fill_generated`], called where those check a row's constraints).

use super::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

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
            return Err(SqlError::new(code::SYNTAX_ERROR, "for a generated column, GENERATED ALWAYS must be specified"));
        }
        let relname = crate::schema::relname(table);
        if col.identity != orbit_engine::table::Identity::No {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                format!("both identity and generation expression specified for column \"{}\" of table \"{relname}\"", col.name),
            ));
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
        Ok(())
    }

    /// The generated columns of `def` (its columns all known) with PostgreSQL's refusals.
    pub(super) fn check_generated(&mut self, def: &TableDef) -> Result<()> {
        for c in def.columns.iter().filter(|c| c.generated.is_some()) {
            self.generation_expr(def, c)?;
        }
        Ok(())
    }

    /// Column `col`'s generation expression bound over `def`'s rows, assigned to its type.
    pub(super) fn generation_expr(&mut self, def: &TableDef, col: &ColumnDef) -> Result<Expr> {
        let text = col.generated.as_deref().unwrap_or("NULL");
        let e = super::constraints::parse_stored(text)
            .map_err(|e| SqlError::internal(format!("stored generation expression of \"{}\" does not parse: {e}", col.name)))?;
        if super::constraints::has_subquery(&e) {
            return Err(SqlError::unsupported("cannot use subquery in column generation expression"));
        }
        if let Some(g) = def
            .columns
            .iter()
            .find(|g| g.generated.is_some() && super::alter_type::mentions_column(&e, &g.name))
        {
            return Err(SqlError::new(
                "42P17",
                format!("cannot use generated column \"{}\" in column generation expression", g.name),
            )
            .detail("A generated column cannot reference another generated column."));
        }
        let scope = Scope { def, alias: def.name.clone(), joined: None };
        let outer = self.window.banned_in("column generation expressions");
        let banned = std::mem::replace(&mut self.aggs_banned_in, "column generation expressions");
        let saved = self.allow_aggs;
        self.allow_aggs = false;
        let bound = self.expr(&e, Some(&scope));
        self.allow_aggs = saved;
        self.aggs_banned_in = banned;
        self.window.ban(outer);
        let bound = bound?;
        if !self.params.is_empty() {
            return Err(SqlError::new(code::UNDEFINED_PARAMETER, "there is no parameter $1"));
        }
        if super::index_exprs::calls_mutable(&e) {
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

/// PostgreSQL's 42601 for `UPDATE ... SET b = <not DEFAULT>` of a generated column.
pub(super) fn updated_value(column: &str) -> SqlError {
    SqlError::new("428C9", format!("column \"{column}\" can only be updated to DEFAULT"))
        .detail(format!("Column \"{column}\" is a generated column."))
}

/// A table's generation expressions, bound: (column, expression).
type BoundGenerated = Rc<Vec<(usize, Expr)>>;

/// Cached bound expressions (by the table's OID, which changes with its definition).
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

/// Computes the generated columns of `row` (a full row of `table`, with the values the
/// statement gave the others) from the row's other columns, as PostgreSQL computes them before
/// it checks the row's constraints. Nothing to do for a table without generated columns.
pub fn fill_generated(table: &TableDef, row: &mut [Datum]) -> Result<()> {
    if table.columns.iter().all(|c| c.generated.is_none()) {
        return Ok(());
    }
    let texts: Vec<&str> = table.columns.iter().filter_map(|c| c.generated.as_deref()).collect();
    let key = (table.oid, format!("{}\0{}", table.name, texts.join("\0")));
    let bound = match GENERATED.with(|m| m.borrow().get(&key).cloned()) {
        Some(b) => b,
        None => {
            let b = Rc::new(bind_generated(table)?);
            GENERATED.with(|m| {
                let mut m = m.borrow_mut();
                if m.len() >= MAX_CACHED {
                    m.clear();
                }
                m.insert(key, b.clone());
            });
            b
        }
    };
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
