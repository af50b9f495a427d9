//! ALTER TABLE ... DROP CONSTRAINT of a primary key or UNIQUE constraint, and DROP COLUMN of a
//! primary key column, as PostgreSQL 15 does them.
//!
//! A table that loses its primary key is keyed by hidden row ids from then on, as a table
//! created without one (`TableDef::has_row_id`): the rewrite gives every row a new id and
//! moves it to the shard that id hashes to (`exec::utility::rewrite_columns`). Its columns stay
//! NOT NULL (PostgreSQL 15 keeps `attnotnull`). With CASCADE, the foreign keys that use the
//! dropped key go first, each table's rewritten as by ALTER TABLE, with PostgreSQL's NOTICE
//! ("drop cascades to constraint x on table y"); without it they are 2BP01
//! (`foreign_key::check_drop_key`). The table's other indexes are built again over the row
//! ids (`exec/drop_key.rs`).

use super::Plan;
use crate::error::{Result, SqlError};
use orbit_engine::table::{IndexDef, TableDef};
use std::sync::Arc;

/// `def` without its primary key (its rows are keyed by row ids once rewritten).
pub(super) fn drop_primary_key(def: &mut TableDef) {
    def.pk.clear();
    def.pk_name.clear();
}

/// `ALTER TABLE t DROP CONSTRAINT name [CASCADE]` of `table`'s primary key (`index` None) or
/// of its UNIQUE constraint `index` (whose index relation is `index_name`).
pub(super) fn drop_key_constraint(
    table: Arc<TableDef>,
    index: Option<&IndexDef>,
    index_name: String,
    name: &str,
    cascade: bool,
) -> Result<Plan> {
    crate::foreign_key::check_drop_key(&table, index, name, cascade)?;
    let users = crate::foreign_key::key_users(&table, index);
    let mut lines = Vec::new();
    let mut children = Vec::new();
    let mut own: Vec<String> = Vec::new();
    for (child, fks) in users {
        let rel = crate::schema::relname(&child.name);
        lines
            .push((child.oid, fks.iter().map(|f| format!("drop cascades to constraint {f} on table {rel}")).collect()));
        if child.name == table.name {
            own = fks;
            continue;
        }
        let mut def = (*child).clone();
        def.foreign_keys.retain(|f| !(f.parent == table.name && fks.contains(&f.name)));
        children.push((child, def));
    }
    let then = match index {
        None => {
            let mut def = (*table).clone();
            drop_primary_key(&mut def);
            def.foreign_keys.retain(|f| !own.contains(&f.name));
            Plan::RewriteTable { table, def, change: super::ColumnChange::Rename }
        }
        Some(_) if !own.is_empty() => return Err(SqlError::unsupported(
            "DROP CONSTRAINT ... CASCADE of a UNIQUE constraint the table's own foreign key uses is not supported yet",
        )),
        Some(_) => Plan::DropUniqueConstraint { table, name: index_name },
    };
    if lines.is_empty() {
        return Ok(then);
    }
    Ok(Plan::DropKeyCascade { children, lines, then: Box::new(then) })
}
