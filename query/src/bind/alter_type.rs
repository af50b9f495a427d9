//! `ALTER TABLE t ALTER [COLUMN] c [SET DATA] TYPE ty [USING expr]`
//! (<https://www.postgresql.org/docs/15/sql-altertable.html>): the column's new type and how
//! each row's value becomes one of it — the assignment cast of the old value, or the USING
//! expression over the old row, cast by assignment — with PostgreSQL's refusals (42804 and its
//! HINT when no assignment cast exists, for the value and for the DEFAULT). The rewrite of the
//! rows (on every shard, re-homing those whose primary key's encoding moves them) and of the
//! indexes is `exec/alter_type.rs`.

use super::*;

/// What ALTER COLUMN TYPE changes besides the definition: the column and, per row, its new
/// value (an expression over the row as it was).
#[derive(Debug, Clone)]
pub struct Retype {
    pub column: usize,
    pub conv: Expr,
}

impl Binder<'_> {
    /// The new definition (`def`, the table's copy being altered) and the conversion of
    /// column `i` to `data_type`.
    pub(super) fn alter_type(
        &mut self,
        def: &mut TableDef,
        i: usize,
        data_type: &ast::DataType,
        using: Option<&ast::Expr>,
    ) -> Result<Retype> {
        let ty = super::column_type(data_type, &def.columns[i].name)?;
        let old = def.columns[i].clone();
        let cn = old.name.clone();
        let scope_def = def.clone();
        let scope = Scope { def: &scope_def, alias: def.name.clone(), joined: None };
        let from = match using {
            None => Expr::Column(i, old.ty),
            Some(e) => {
                if super::constraints::has_subquery(e) {
                    return Err(SqlError::unsupported("cannot use subquery in transform expression"));
                }
                let banned = std::mem::replace(&mut self.aggs_banned_in, "transform expressions");
                let b = self.expr(e, Some(&scope));
                self.aggs_banned_in = banned;
                let b = b?;
                if !self.params.is_empty() {
                    return Err(SqlError::new(code::UNDEFINED_PARAMETER, "there is no parameter $1"));
                }
                b
            }
        };
        let target = ty.name();
        let conv = self.coerce(from, ty, CastContext::Assignment, |_| match using {
            None => SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("column \"{cn}\" cannot be cast automatically to type {target}"),
            )
            .hint(format!("You might need to specify \"USING {}::{target}\".", crate::regtypes::quote_ident(&cn))),
            Some(_) => SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("result of USING clause for column \"{cn}\" cannot be cast automatically to type {target}"),
            )
            .hint("You might need to add an explicit cast."),
        })?;
        // varchar(n) from another string type still has its length checked (22001).
        let conv = match (ty, &conv) {
            (SqlType::Varchar(Some(_)), Expr::Cast(..) | Expr::Const(..)) => conv,
            (SqlType::Varchar(Some(_)), _) => Expr::Cast(Box::new(conv), ty, false),
            _ => conv,
        };
        // The DEFAULT must become one of the new type by assignment too.
        if let Some(text) = &old.default_expr {
            let parsed = super::constraints::parse_stored(text)
                .map_err(|e| SqlError::internal(format!("stored DEFAULT of column \"{cn}\" does not parse: {e}")))?;
            // Kept as written; PostgreSQL keeps it coerced to the old type ('x' is text).
            let b = self.expr(&parsed, None)?;
            let from = if b.ty() == SqlType::Unknown { old.ty } else { b.ty() };
            if !crate::types::can_cast(from, ty, CastContext::Assignment) {
                return Err(SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!("default for column \"{cn}\" cannot be cast automatically to type {}", ty.name()),
                ));
            }
        }
        if old.identity != orbit_engine::table::Identity::No && !ty.is_integer() {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                "identity column type must be smallint, integer, or bigint",
            ));
        }
        // A column a generated column reads keeps its type (PostgreSQL's 0A000); a generated
        // column's expression must be assignable to its new type.
        super::generated::check_retype(self, def, i, ty, using.is_some())?;
        // An index key that is an expression over the column would change its own type.
        let mentions = |text: &str| super::constraints::parse_stored(text).is_ok_and(|e| mentions_column(&e, &cn));
        if let Some(x) = def.indexes.iter().find(|x| x.exprs.iter().any(|e| mentions(&e.expr))) {
            return Err(SqlError::unsupported(format!(
                "ALTER COLUMN ... TYPE of a column used by the index expression of \"{}\" is not supported yet",
                crate::schema::relname(&x.name)
            )));
        }
        super::foreign_keys::check_retype(def, i, ty, old.ty, using)?;
        def.columns[i].ty = ty;
        def.columns[i].domain = super::domain::domain_of(data_type)?.map_or(0, |d| d.oid);
        def.columns[i].default = Datum::Null;
        // A constant DEFAULT kept as a value (old logs) keeps its text form.
        if old.default_expr.is_none() && !old.default.is_null() {
            def.columns[i].default_expr =
                crate::types::to_text(&old.default).map(|t| format!("'{}'", t.replace('\'', "''")));
        }
        // The CHECK constraints must still bind over the new type.
        for c in &def.checks {
            super::constraints::bind_check(def, c)?;
        }
        Ok(Retype { column: i, conv })
    }
}

/// Whether `e` names column `cn` (unqualified or qualified), as a stored expression text does.
pub(super) fn mentions_column(e: &ast::Expr, cn: &str) -> bool {
    use sqlparser::ast::Visit;
    struct Finder<'a>(&'a str);
    impl ast::Visitor for Finder<'_> {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &ast::Expr) -> std::ops::ControlFlow<()> {
            let hit = match e {
                ast::Expr::Identifier(id) => fold(id) == self.0,
                ast::Expr::CompoundIdentifier(ids) => ids.last().is_some_and(|id| fold(id) == self.0),
                _ => false,
            };
            if hit {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        }
    }
    e.visit(&mut Finder(cn)).is_break()
}
