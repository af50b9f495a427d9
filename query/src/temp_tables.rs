//! Temporary tables (`CREATE TEMP TABLE`, `SELECT ... INTO TEMP`, PostgreSQL's
//! <https://www.postgresql.org/docs/15/sql-createtable.html>): a session's temporary relations
//! live in its own schema `pg_temp_N`, a schema entry like CREATE SCHEMA's ([`crate::schema`]),
//! made on the session's first temporary table and dropped (CASCADE) when the session ends,
//! by DISCARD TEMP / DISCARD ALL, and at start-up for any a crash left behind.
//!
//! The relations themselves are ordinary tables of that schema, stored like every table (rows
//! hash-partitioned over all shards, indexes, sequences, undo, the log): the whole executor
//! then serves them unchanged, and what makes them temporary is only how names find them —
//! the session's `pg_temp_N` is searched before the search path for relations, `pg_temp`
//! names it, and no other session's path reaches it (docs/ARCHITECTURE.md says why the rows
//! are not kept on the session's shard only).
//!
//! `N` is the smallest number ≥ 3 no live session holds (PostgreSQL's backend ids start there
//! in practice); the session's pid maps to it in one process-wide table, since the sessions of
//! every shard share the catalog's names.

use crate::error::{code, Result, SqlError};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The prefix of a temporary schema's name.
pub const PREFIX: &str = "pg_temp_";

/// The lowest `N` of `pg_temp_N`.
const FIRST: u32 = 3;

/// At most this many sessions hold a temporary schema at once (a bound on the table below;
/// past it CREATE TEMP TABLE is 53200 out of memory).
const MAX_SCHEMAS: usize = 100_000;

/// `ON COMMIT` of a temporary table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCommit {
    PreserveRows,
    DeleteRows,
    Drop,
}

#[derive(Default)]
struct Sessions {
    /// pid → N of the session's `pg_temp_N`.
    by_pid: HashMap<i32, u32>,
    /// N → pid (0: reserved while a leftover of a crash is dropped).
    by_number: BTreeMap<u32, i32>,
    /// pid → the session's tables with ON COMMIT DELETE ROWS / DROP: (catalog name, OID, action).
    on_commit: HashMap<i32, Vec<(String, u32, OnCommit)>>,
}

static SESSIONS: Mutex<Option<Sessions>> = Mutex::new(None);

/// How many sessions have ON COMMIT actions noted: a commit of any other session does not
/// take the lock above.
static WITH_ON_COMMIT: AtomicUsize = AtomicUsize::new(0);

fn with<R>(f: impl FnOnce(&mut Sessions) -> R) -> R {
    let mut g = SESSIONS.lock().unwrap_or_else(|p| p.into_inner());
    f(g.get_or_insert_with(Sessions::default))
}

/// Whether `schema` is a temporary schema's name (`pg_temp_N`).
pub fn is_temp_schema(schema: &str) -> bool {
    schema.strip_prefix(PREFIX).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a relation's catalog name is in a temporary schema.
pub fn is_temp_relation(name: &str) -> bool {
    is_temp_schema(crate::schema::split(name).0)
}

/// The name of session `pid`'s temporary schema, if it was given one.
pub fn schema_of(pid: i32) -> Option<String> {
    with(|s| s.by_pid.get(&pid).map(|n| format!("{PREFIX}{n}")))
}

/// The temporary schema of the session binding (or running) a statement on this thread, if it
/// exists in the catalog.
pub fn current() -> Option<String> {
    let name = schema_of(crate::catalog::binding_pid())?;
    crate::schema::oid_of(&name).map(|_| name)
}

/// The temporary schema a CREATE TEMP of the session binding on this thread goes to: its own,
/// given a number now if it has none (the schema itself is made when the CREATE runs).
pub fn schema_for_create() -> Result<String> {
    let pid = crate::catalog::binding_pid();
    if let Some(s) = schema_of(pid) {
        return Ok(s);
    }
    // A number whose schema a crash left in the catalog is not taken until it is dropped.
    let leftovers: Vec<u32> = crate::schema::all()
        .into_iter()
        .filter_map(|(_, n, _)| n.strip_prefix(PREFIX).and_then(|d| d.parse().ok()))
        .collect();
    with(|s| {
        if s.by_number.len() >= MAX_SCHEMAS {
            return Err(SqlError::new("53200", "out of memory")
                .detail(format!("More than {MAX_SCHEMAS} sessions hold temporary tables.")));
        }
        let mut n = FIRST;
        while s.by_number.contains_key(&n) || leftovers.contains(&n) {
            n += 1;
        }
        s.by_number.insert(n, pid);
        s.by_pid.insert(pid, n);
        Ok(format!("{PREFIX}{n}"))
    })
}

/// ON COMMIT as SQL writes it.
pub(crate) fn on_commit_sql(o: sqlparser::ast::OnCommit) -> &'static str {
    match o {
        sqlparser::ast::OnCommit::DeleteRows => "ON COMMIT DELETE ROWS",
        sqlparser::ast::OnCommit::PreserveRows => "ON COMMIT PRESERVE ROWS",
        sqlparser::ast::OnCommit::Drop => "ON COMMIT DROP",
    }
}

/// The catalog name and ON COMMIT action of a CREATE [TEMP] TABLE that makes a temporary
/// table (TEMP, or a name qualified by `pg_temp`); None for a permanent one. ON COMMIT on a
/// permanent table and TEMP in another schema are 42P16, as PostgreSQL's DefineRelation says.
pub(crate) fn new_name(ct: &sqlparser::ast::CreateTable) -> Result<Option<(String, Option<OnCommit>)>> {
    let Some(name) = new_relation(&ct.name, ct.temporary)? else {
        if ct.on_commit.is_some() {
            return Err(SqlError::new(
                code::INVALID_TABLE_DEFINITION,
                "ON COMMIT can only be used on temporary tables",
            ));
        }
        return Ok(None);
    };
    let action = match ct.on_commit {
        Some(sqlparser::ast::OnCommit::DeleteRows) => OnCommit::DeleteRows,
        Some(sqlparser::ast::OnCommit::Drop) => OnCommit::Drop,
        _ => OnCommit::PreserveRows,
    };
    Ok(Some((name, Some(action))))
}

/// The catalog name of a new temporary relation (table, sequence or view): written TEMP, or
/// qualified by `pg_temp` or the session's own `pg_temp_N`; None for a permanent one. TEMP
/// with another schema is 42P16, as PostgreSQL's RangeVarAdjustRelationPersistence says.
pub(crate) fn new_relation(name: &sqlparser::ast::ObjectName, temporary: bool) -> Result<Option<String>> {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(crate::bind::fold_ident).collect();
    let own = schema_of(crate::catalog::binding_pid());
    let temp_schema = |s: &String| s == "pg_temp" || own.as_ref() == Some(s);
    let explicit = matches!(parts.as_slice(), [s, _] if temp_schema(s));
    if !temporary && !explicit {
        return Ok(None);
    }
    let rel = match parts.as_slice() {
        [t] => t.clone(),
        [s, t] if temp_schema(s) => t.clone(),
        [_, _] => return Err(not_temp_schema()),
        _ => return Ok(None),
    };
    let rel = crate::bind::schema::relation_part(&rel)?;
    Ok(Some(crate::schema::qualify(&schema_for_create()?, &rel)))
}

/// 42P16 for a temporary relation asked for in a permanent schema.
pub(crate) fn not_temp_schema() -> SqlError {
    SqlError::new(code::INVALID_TABLE_DEFINITION, "cannot create temporary relation in non-temporary schema")
}

/// A foreign key between a temporary and a permanent table is 42P16, as in PostgreSQL (the
/// temporary side goes with its session).
pub(crate) fn check_foreign_keys(def: &orbit_engine::table::TableDef) -> Result<()> {
    let temp = is_temp_relation(&def.name);
    if def.foreign_keys.iter().any(|fk| is_temp_relation(&fk.parent) != temp) {
        let msg = if temp {
            "constraints on temporary tables may reference only temporary tables"
        } else {
            "constraints on permanent tables may reference only permanent tables"
        };
        return Err(SqlError::new(code::INVALID_TABLE_DEFINITION, msg));
    }
    Ok(())
}

/// Makes `schema` (a temporary schema) if it does not exist yet, as part of `txn` (a ROLLBACK
/// of the block takes it back with the table).
pub(crate) async fn ensure_schema(txn: &mut crate::txn::Txn, schema: &str) -> Result<()> {
    if crate::schema::oid_of(schema).is_some() {
        return Ok(());
    }
    let plan =
        crate::bind::Plan::Schema(crate::schema::SchemaPlan::Create { name: schema.to_string(), if_not_exists: true });
    Box::pin(crate::exec::execute(&plan, &[], txn)).await.map(|_| ())
}

/// Notes a temporary table's ON COMMIT action (PRESERVE ROWS needs nothing).
pub(crate) fn note_on_commit(name: &str, oid: u32, action: OnCommit) {
    if action == OnCommit::PreserveRows {
        return;
    }
    let pid = crate::catalog::binding_pid();
    with(|s| {
        let list = s.on_commit.entry(pid).or_default();
        if list.is_empty() {
            WITH_ON_COMMIT.fetch_add(1, Ordering::Relaxed);
        }
        list.push((name.to_string(), oid, action));
    });
}

/// After a transaction of session `pid` committed: empties its ON COMMIT DELETE ROWS tables
/// and drops its ON COMMIT DROP ones (each in a transaction of its own). A table no longer
/// there (its CREATE was rolled back, or it was dropped) is forgotten.
pub async fn at_commit(pid: i32) {
    if WITH_ON_COMMIT.load(Ordering::Relaxed) == 0 {
        return;
    }
    let Some(list) = with(|s| s.on_commit.get(&pid).cloned()) else { return };
    let mut keep = Vec::new();
    for (name, oid, action) in list {
        let Some(def) = crate::bind::lookup_table(&name) else { continue };
        if def.oid != oid {
            continue;
        }
        let sql = match action {
            OnCommit::DeleteRows => {
                keep.push((name.clone(), oid, action));
                format!("TRUNCATE {}", quoted(&name))
            }
            _ => format!("DROP TABLE {}", quoted(&name)),
        };
        if let Err(e) = run_alone(&sql).await {
            tracing::warn!(table = %name, error = %e.message, "ON COMMIT action failed");
        }
    }
    with(|s| {
        if keep.is_empty() {
            forget_on_commit(s, pid);
        } else {
            s.on_commit.insert(pid, keep);
        }
    });
}

fn forget_on_commit(s: &mut Sessions, pid: i32) {
    if s.on_commit.remove(&pid).is_some() {
        WITH_ON_COMMIT.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A relation's catalog name written as SQL (`"pg_temp_3"."t"`).
fn quoted(name: &str) -> String {
    let (s, r) = crate::schema::split(name);
    format!("\"{}\".\"{}\"", s.replace('"', "\"\""), r.replace('"', "\"\""))
}

/// Runs one statement in a transaction of its own.
async fn run_alone(sql: &str) -> Result<()> {
    let stmt = crate::bind::prepare(sql, &[])?;
    let mut t = crate::txn::Txn::new();
    t.alone = true;
    match Box::pin(crate::exec::execute(&stmt.plan, &[], &mut t)).await {
        Ok(_) => Box::pin(t.commit()).await,
        Err(e) => {
            t.rollback().await;
            Err(e)
        }
    }
}

/// Drops `schema` and everything in it.
async fn drop_schema(schema: &str) -> Result<()> {
    let plan = crate::bind::Plan::Schema(crate::schema::SchemaPlan::Drop {
        names: vec![schema.to_string()],
        if_exists: true,
        cascade: true,
    });
    let mut t = crate::txn::Txn::new();
    t.alone = true;
    match Box::pin(crate::exec::execute(&plan, &[], &mut t)).await {
        Ok(_) => Box::pin(t.commit()).await,
        Err(e) => {
            t.rollback().await;
            Err(e)
        }
    }
}

/// DISCARD TEMP (and DISCARD ALL, and the session's end): drops session `pid`'s temporary
/// schema with its tables. `ending`: the session ends, so its number is given back.
pub async fn discard(pid: i32, ending: bool) -> Result<()> {
    let Some(schema) = schema_of(pid) else { return Ok(()) };
    let r = if crate::schema::oid_of(&schema).is_some() { drop_schema(&schema).await } else { Ok(()) };
    with(|s| {
        forget_on_commit(s, pid);
        if ending {
            if let Some(n) = s.by_pid.remove(&pid) {
                s.by_number.remove(&n);
            }
        }
    });
    r
}

/// At start-up (every shard recovered, no session yet): drops every temporary schema a crash
/// or a kill left in the catalog, so no temporary table outlives its server.
pub async fn drop_leftovers() {
    let left: Vec<String> = crate::schema::all().into_iter().map(|(_, n, _)| n).filter(|n| is_temp_schema(n)).collect();
    for schema in left {
        match drop_schema(&schema).await {
            Ok(()) => tracing::info!(schema = %schema, "recovery: a temporary schema left by a crash is dropped"),
            Err(e) => tracing::warn!(schema = %schema, error = %e.message, "recovery: cannot drop a temporary schema"),
        }
    }
}

/// `pg_my_temp_schema()`: the OID of the session's temporary schema, 0 without one.
pub fn my_temp_schema_oid() -> i64 {
    current().and_then(|s| crate::schema::oid_of(&s)).map_or(0, |o| o as i64)
}

/// `pg_is_other_temp_schema(oid)`: whether `oid` is another session's temporary schema.
pub fn is_other_temp_schema(oid: i64) -> bool {
    let Some(name) = u32::try_from(oid).ok().and_then(crate::schema::name_of) else { return false };
    is_temp_schema(&name) && current().as_deref() != Some(name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_schema_names() {
        assert!(is_temp_schema("pg_temp_3"));
        assert!(!is_temp_schema("pg_temp_"));
        assert!(!is_temp_schema("pg_temp"));
        assert!(!is_temp_schema("pg_temp_x"));
        assert!(is_temp_relation("pg_temp_12.t"));
        assert!(!is_temp_relation("t"));
        assert_eq!(quoted("pg_temp_3.a\"b"), "\"pg_temp_3\".\"a\"\"b\"");
    }
}
