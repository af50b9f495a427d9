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

impl Binder<'_> {
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
