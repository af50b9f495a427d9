//! CREATE [OR REPLACE] FUNCTION and DROP FUNCTION as they run ([`crate::functions_sql`]). A
//! function is a catalog entry, so it is created, swapped and dropped as domains and enum types
//! are ([`super::catalog_types`]): decided on shard 0, applied and logged on every shard, undone
//! by ROLLBACK through the transaction's created and replaced objects ([`super::undo`]).

use super::{catalog_types, QueryResult};
use crate::error::{code, Result, SqlError};
use crate::functions_sql::{FunctionPlan, SqlFunction};
use crate::txn::Txn;
use orbit_engine::table::TableDef;

/// A function as the shared DDL steps see a catalog entry: its entry's name past the mark is
/// the function's name with its argument types (overloads are separate entries).
#[derive(Clone, PartialEq)]
struct Entry {
    f: SqlFunction,
    key: String,
}

impl Entry {
    fn new(f: SqlFunction) -> Entry {
        let key = SqlFunction::entry_name(&f.name, &f.arg_types()).split_off(crate::functions_sql::MARK.len_utf8());
        Entry { f, key }
    }
}

impl crate::catalog_types::CatalogType for Entry {
    const MARK: char = crate::functions_sql::MARK;

    fn of_def(def: &TableDef) -> Option<Entry> {
        SqlFunction::of_def(def).map(Entry::new)
    }

    fn oid(&self) -> u32 {
        self.f.oid
    }
}

impl catalog_types::EntryDdl for Entry {
    fn name(&self) -> &str {
        &self.key
    }

    fn to_def(&self) -> TableDef {
        self.f.to_def()
    }
}

pub(super) async fn run(txn: &mut Txn, plan: &FunctionPlan) -> Result<QueryResult> {
    match plan {
        FunctionPlan::Create { f, or_replace } => create(txn, f, *or_replace).await,
        FunctionPlan::Drop { entries, skipped, procedures } => {
            let mut r = drop(txn, entries, skipped).await?;
            if *procedures {
                r.tag = "DROP PROCEDURE".into();
            }
            Ok(r)
        }
    }
}

fn exists_error(f: &SqlFunction) -> SqlError {
    SqlError::new(
        "42723",
        format!("function \"{}\" already exists with same argument types", crate::schema::relname(&f.name)),
    )
}

async fn create(txn: &mut Txn, f: &SqlFunction, or_replace: bool) -> Result<QueryResult> {
    let entry = SqlFunction::entry_name(&f.name, &f.arg_types());
    let tag = if f.procedure { "CREATE PROCEDURE" } else { "CREATE FUNCTION" };
    let done = QueryResult { tag: tag.into(), ..Default::default() };
    let Some(now) = crate::bind::lookup_table(&entry) else {
        let made = catalog_types::create(txn, &Entry::new(SqlFunction { oid: 0, ..f.clone() })).await;
        return match made {
            Ok(()) => Ok(done),
            Err(e) if e.code == code::DUPLICATE_OBJECT => Err(exists_error(f)),
            Err(e) => Err(e),
        };
    };
    let old = SqlFunction::of_def(&now).ok_or_else(|| SqlError::internal("bad function entry"))?;
    if !or_replace {
        return Err(exists_error(f));
    }
    // PostgreSQL's ProcedureCreate: a replacement keeps the result's shape.
    if old.ret != f.ret
        || old.setof != f.setof
        || old.out != f.out
        || old.record != f.record
        || old.trigger != f.trigger
    {
        return Err(SqlError::new("42P13", "cannot change return type of existing function")
            .hint(format!("Use DROP FUNCTION {} first.", old.signature())));
    }
    for (a, b) in old.args.iter().zip(&f.args) {
        if !a.name.is_empty() && a.name != b.name {
            return Err(SqlError::new("42P13", format!("cannot change name of input parameter \"{}\"", a.name))
                .hint(format!("Use DROP FUNCTION {} first.", old.signature())));
        }
    }
    if old.args.iter().filter(|a| a.default.is_some()).count() > f.args.iter().filter(|a| a.default.is_some()).count() {
        return Err(SqlError::new("42P13", "cannot remove parameter defaults from existing function")
            .hint(format!("Use DROP FUNCTION {} first.", old.signature())));
    }
    catalog_types::swap(txn, &now, &Entry::new(SqlFunction { oid: old.oid, ..f.clone() })).await?;
    Ok(done)
}

/// Drops function `f` (DROP SCHEMA ... CASCADE), put back by ROLLBACK.
pub(super) async fn drop_one(txn: &mut Txn, f: &SqlFunction) -> Result<()> {
    let entry = SqlFunction::entry_name(&f.name, &f.arg_types());
    let Some(def) = crate::bind::lookup_table(&entry) else { return Ok(()) };
    let now = SqlFunction::of_def(&def).ok_or_else(|| SqlError::internal("bad function entry"))?;
    catalog_types::drop_entry(txn, &Entry::new(now), &def).await
}

async fn drop(txn: &mut Txn, entries: &[String], skipped: &[String]) -> Result<QueryResult> {
    let mut r = QueryResult { tag: "DROP FUNCTION".into(), ..Default::default() };
    for s in skipped {
        r.notices.push(SqlError::new("00000", s.clone()));
    }
    for e in entries {
        // Dropped already by an earlier name of the same statement: PostgreSQL's
        // RemoveObjects looks every name up first, so the second finds it too and fails.
        let def = crate::bind::lookup_table(e).ok_or_else(|| SqlError::internal("function entry gone"))?;
        let f = SqlFunction::of_def(&def).ok_or_else(|| SqlError::internal("bad function entry"))?;
        catalog_types::drop_entry(txn, &Entry::new(f), &def).await?;
    }
    Ok(r)
}
