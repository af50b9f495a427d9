//! `ALTER TABLE [IF EXISTS] t RENAME TO u`, checked as PostgreSQL checks it (42P01 for a
//! missing table, 42P07 for a name any relation has, 42501 for a system catalog).

use super::{fold, Binder, Plan};
use crate::error::{code, Result, SqlError};
use sqlparser::ast;

impl Binder<'_> {
    /// The plan of `ALTER TABLE at RENAME TO new_name` (`at` has that one operation).
    pub(super) fn rename_table(&mut self, at: &ast::AlterTable, new_name: &ast::ObjectName) -> Result<Plan> {
        // The new name is a bare identifier (PostgreSQL's grammar has no schema there).
        let [part] = new_name.0.as_slice() else { return Err(SqlError::syntax(".")) };
        let Some(id) = part.as_ident() else { return Err(SqlError::syntax(&new_name.to_string())) };
        let new_name = fold(id);
        if at.if_exists {
            let tname = self.relation_name(&at.name)?;
            let parts: Vec<String> = at.name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
            if super::lookup_table(&tname).is_none() && crate::catalog::resolve(&parts).is_none() {
                return Ok(Plan::Skipped {
                    tag: "ALTER TABLE",
                    notice: format!("relation \"{tname}\" does not exist, skipping"),
                });
            }
        }
        // ALTER TABLE renames views too, as in PostgreSQL.
        if let Some(view) = self.relation_name(&at.name).ok().and_then(|n| super::lookup_table(&n)) {
            if view.view.is_some() {
                let new_name = crate::schema::qualify(crate::schema::split(&view.name).0, &new_name);
                return Ok(Plan::RenameTable { table: view, new_name });
            }
        }
        let (tname, table) = match self.resolve_table_to(&at.name, "alter") {
            Err(e) if e.code == code::WRONG_OBJECT_TYPE => {
                return Err(SqlError::unsupported("ALTER TABLE ... RENAME TO of an index is not supported yet"))
            }
            r => r?,
        };
        if crate::catalog::is_view(&table) {
            return Err(SqlError::new(
                code::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{tname}\" is a system catalog"),
            ));
        }
        if crate::foreign_key::is_referenced(&table) {
            return Err(SqlError::unsupported(
                "ALTER TABLE ... RENAME TO of a table a foreign key references is not supported yet",
            ));
        }
        // The table stays in its schema.
        let new_name = crate::schema::qualify(crate::schema::split(&table.name).0, &new_name);
        Ok(Plan::RenameTable { table, new_name })
    }
}
