//! `LOCK [TABLE] [ONLY] name [, ...] [IN ACCESS SHARE MODE] [NOWAIT]`: pg_dump's lock on every
//! table it dumps. ACCESS SHARE conflicts only with ACCESS EXCLUSIVE, the lock Orbit's DDL
//! (ALTER, DROP, CREATE INDEX, RENAME) takes: the block's [`crate::relation_lock::Running`]
//! note on the tables is kept until the block ends, so DDL of other sessions on them waits for
//! it (the connection keeps it with the transaction). The other modes are refused (0A000):
//! they would also have to hold off other sessions' writes.
//! (<https://www.postgresql.org/docs/15/sql-lock.html>)

use super::{Binder, Plan};
use crate::error::{code, Result, SqlError};
use sqlparser::ast;

/// The role OWNER TO names: only the roles Orbit has (42704 for another).
pub(super) fn owner_oid(owner: &ast::Owner) -> Result<u32> {
    let name = match owner {
        ast::Owner::Ident(id) => super::fold(id),
        _ => return Ok(10),
    };
    match name.as_str() {
        crate::schema::USER => Ok(10),
        "pg_database_owner" => Ok(crate::schema::DATABASE_OWNER_OID),
        _ => Err(SqlError::new(code::UNDEFINED_OBJECT, format!("role \"{name}\" does not exist"))),
    }
}

/// `ALTER SCHEMA s OWNER TO r` (a pg_dump script's): a schema's owner is the role that owns it
/// already (no change, as PostgreSQL does for it); another owner is 0A000 (Orbit keeps none).
pub(super) fn schema_owner(a: &ast::AlterSchema) -> Result<Plan> {
    let [ast::AlterSchemaOperation::OwnerTo { owner }] = a.operations.as_slice() else {
        return Err(SqlError::syntax(&a.to_string()));
    };
    let name = a.name.to_string();
    let name = name.trim_matches('"');
    let Some(current) = crate::schema::all().into_iter().find(|(_, n, _)| n == name).map(|(_, _, o)| o) else {
        return Err(SqlError::new("3F000", format!("schema \"{name}\" does not exist")));
    };
    if owner_oid(owner)? != current {
        return Err(SqlError::unsupported("changing a schema's owner is not supported (Orbit keeps no owners)"));
    }
    Ok(Plan::Skipped { tag: "ALTER SCHEMA", notice: String::new() })
}

impl Binder<'_> {
    /// `ALTER TABLE t OWNER TO r` (a pg_dump script's, also for its views and sequences): every
    /// relation is the bootstrap superuser's, so OWNER TO it changes nothing (as in PostgreSQL);
    /// another role is 0A000.
    pub(super) fn table_owner(&mut self, name: &ast::ObjectName, owner: &ast::Owner) -> Result<Plan> {
        let tname = self.relation_name(name)?;
        let known = super::lookup_table(&tname).is_some()
            || crate::catalog_dump::sequence_relation(&tname).is_some()
            || crate::catalog::resolve(
                &name.0.iter().filter_map(|p| p.as_ident()).map(super::fold).collect::<Vec<_>>(),
            )
            .is_some();
        if !known {
            // A sequence lives on the shard its name hashes to: the connection asks and binds again.
            crate::catalog_dump::note_missing_relation(&tname);
            return Err(SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{name}\" does not exist")));
        }
        if owner_oid(owner)? != 10 {
            return Err(SqlError::unsupported("changing a relation's owner is not supported (Orbit keeps no owners)"));
        }
        Ok(Plan::Skipped { tag: "ALTER TABLE", notice: String::new() })
    }

    pub(super) fn lock_tables(&mut self, l: &ast::Lock) -> Result<Plan> {
        match &l.lock_mode {
            Some(ast::LockTableMode::AccessShare) => {}
            // No mode is ACCESS EXCLUSIVE, as in PostgreSQL.
            mode => {
                let mode = mode.as_ref().map_or("ACCESS EXCLUSIVE".to_string(), |m| m.to_string());
                return Err(SqlError::unsupported(format!(
                    "LOCK TABLE IN {mode} MODE is not supported (ACCESS SHARE MODE is)"
                )));
            }
        }
        let mut names = Vec::with_capacity(l.tables.len());
        for t in &l.tables {
            let (name, def) = self.resolve_table(&t.name)?;
            if crate::catalog::is_view(&def) {
                return Err(SqlError::new(
                    code::WRONG_OBJECT_TYPE,
                    format!("\"{}\" is not a table or view", crate::schema::relname(&name)),
                ));
            }
            names.push(name);
        }
        Ok(Plan::LockTables(names))
    }
}
