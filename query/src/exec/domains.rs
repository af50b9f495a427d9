//! CREATE DOMAIN, ALTER DOMAIN and DROP DOMAIN as they run ([`crate::domains`]). A domain is a
//! catalog entry, so it is created, swapped and dropped as enum types are
//! ([`super::enum_types`]): decided on shard 0, applied and logged on every shard, undone by
//! ROLLBACK through the transaction's created and replaced objects ([`super::undo`]).
//!
//! ALTER DOMAIN ADD CONSTRAINT and SET NOT NULL first read every column of the domain (and of
//! the domains over it) on every shard, as the transaction sees them (23514 / 23502 naming the
//! first column holding a value that fails). DROP DOMAIN ... CASCADE drops those columns first,
//! each as `ALTER TABLE t DROP COLUMN c CASCADE` would.

use super::{catalog_types, utility, QueryResult};
use crate::domains::{self, Domain, DomainPlan};
use crate::error::{code, Result, SqlError};
use crate::txn::Txn;
use orbit_engine::table::{Datum, TableDef};
use std::sync::Arc;

pub(super) async fn run(txn: &mut Txn, plan: &DomainPlan) -> Result<QueryResult> {
    match plan {
        DomainPlan::Create(d) => create(txn, d).await,
        DomainPlan::Drop { names, skipped, cascade } => drop(txn, names, skipped, *cascade).await,
        DomainPlan::Alter { name, new, check, not_null, notice } => {
            alter(txn, name, new, check.as_ref(), *not_null, notice.as_deref()).await
        }
        DomainPlan::Rename { name, new_name } => rename_domain(txn, name, new_name).await,
    }
}

/// The domain and its catalog entry now.
fn current(name: &str) -> Result<(Domain, Arc<TableDef>)> {
    catalog_types::current(name)
}

async fn create(txn: &mut Txn, d: &Domain) -> Result<QueryResult> {
    catalog_types::create(txn, &Domain { oid: 0, ..d.clone() }).await?;
    Ok(QueryResult { tag: "CREATE DOMAIN".into(), ..Default::default() })
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

async fn drop(txn: &mut Txn, names: &[String], skipped: &[String], cascade: bool) -> Result<QueryResult> {
    use domains::Dependent;
    let mut r = QueryResult { tag: "DROP DOMAIN".into(), ..Default::default() };
    skipped_types(&mut r, skipped);
    // The domains the statement names: what depends on one of them is no obstacle to the
    // others (it goes itself).
    let named: Vec<u32> = names.iter().filter_map(|n| current(n).ok()).map(|(d, _)| d.oid).collect();
    // PostgreSQL checks every domain before dropping any.
    let mut found = Vec::new();
    for n in names {
        let (d, def) = current(n)?;
        let deps: Vec<Dependent> = domains::dependents(d.oid)
            .into_iter()
            .filter(|x| match x {
                Dependent::Domain(o) => !named.contains(&o.oid),
                Dependent::Column(t, i) => {
                    let of = t.columns[*i].domain;
                    of == d.oid || !named.contains(&of)
                }
            })
            .collect();
        if !deps.is_empty() && !cascade {
            return Err(still_depended_on(&d.shown(), &deps));
        }
        found.push((d, def, deps));
    }
    // A domain over another named one goes first.
    found.sort_by_key(|(d, _, _)| std::cmp::Reverse(depth(d.oid)));
    for (d, def, deps) in found {
        if let Some(notice) = drop_dependents(txn, &deps).await? {
            r.notices.push(notice);
        }
        drop_entry(txn, &d, &def).await?;
    }
    Ok(r)
}

/// DROP's 2BP01 for type `shown` (as messages name it), which `deps` depend on: one DETAIL
/// line each.
pub(super) fn still_depended_on(shown: &str, deps: &[domains::Dependent]) -> SqlError {
    type_depended_on(shown, deps.iter().map(|x| format!("{} depends on type {}", x.describe(), x.depends_on(shown))))
}

/// DROP's 2BP01 for type `shown` with these DETAIL lines (`<object> depends on type <name>`).
pub(super) fn type_depended_on(shown: &str, lines: impl Iterator<Item = String>) -> SqlError {
    SqlError::new(
        code::DEPENDENT_OBJECTS_STILL_EXIST,
        format!("cannot drop type {shown} because other objects depend on it"),
    )
    .detail(lines.collect::<Vec<_>>().join("\n"))
    .hint("Use DROP ... CASCADE to drop the dependent objects too.")
}

/// DROP TYPE / DOMAIN IF EXISTS's NOTICE for each name it did not find.
pub(super) fn skipped_types(r: &mut QueryResult, skipped: &[String]) {
    r.notices.extend(skipped.iter().map(|s| SqlError::new("00000", format!("type \"{s}\" does not exist, skipping"))));
}

/// DROP ... CASCADE of a type (a domain or an enum) that `deps` depend on: the columns first,
/// each as `ALTER TABLE ... DROP COLUMN ... CASCADE` (its undo kept in the transaction like a
/// block's statement), then the domains, innermost first. The NOTICE PostgreSQL sends (None:
/// nothing depended on it).
pub(super) async fn drop_dependents(txn: &mut Txn, deps: &[domains::Dependent]) -> Result<Option<SqlError>> {
    use domains::Dependent;
    if deps.is_empty() {
        return Ok(None);
    }
    let lines: Vec<String> = deps.iter().map(|x| format!("drop cascades to {}", x.describe())).collect();
    let cols: Vec<(Arc<TableDef>, usize)> = deps
        .iter()
        .filter_map(|x| match x {
            Dependent::Column(t, i) => Some((t.clone(), *i)),
            Dependent::Domain(_) => None,
        })
        .collect();
    let alone = std::mem::replace(&mut txn.alone, false);
    let dropped = drop_columns(txn, &cols).await;
    txn.alone = alone;
    dropped?;
    for x in deps.iter().rev() {
        if let Dependent::Domain(o) = x {
            let (o, odef) = current(&o.name)?;
            drop_entry(txn, &o, &odef).await?;
        }
    }
    Ok(Some(match lines.as_slice() {
        [one] => SqlError::new("00000", one.clone()),
        many => {
            SqlError::new("00000", format!("drop cascades to {} other objects", many.len())).detail(many.join("\n"))
        }
    }))
}

/// How many domains `oid` is over.
fn depth(oid: u32) -> usize {
    let mut n = 0;
    let mut at = domains::by_oid(oid).map_or(0, |d| d.parent);
    while at != 0 && n < 64 {
        n += 1;
        at = domains::by_oid(at).map_or(0, |d| d.parent);
    }
    n
}

/// Drops a domain's catalog entry, put back by ROLLBACK under the same type OID.
async fn drop_entry(txn: &mut Txn, d: &Domain, def: &Arc<TableDef>) -> Result<()> {
    catalog_types::drop_entry(txn, d, def).await
}

async fn drop_columns(txn: &mut Txn, cols: &[(Arc<TableDef>, usize)]) -> Result<()> {
    for (t, i) in cols {
        let (schema, rel) = crate::schema::split(&t.name);
        let sql =
            format!("ALTER TABLE {}.{} DROP COLUMN {} CASCADE", quote(schema), quote(rel), quote(&t.columns[*i].name));
        crate::relation_lock::bind_as(Some(txn.id));
        crate::settings::bind_with(txn.settings.clone());
        let step = crate::bind::prepare(&sql, &[])?;
        Box::pin(super::execute(&step.plan, &[], txn)).await?;
    }
    Ok(())
}

/// Checks every stored value of `d`'s columns (and of the columns of the domains over it)
/// against a new CHECK or NOT NULL, as transaction `txn` sees them: table by table in the order
/// PostgreSQL's dependency scan meets them, each row's columns in that order.
async fn check_existing(
    txn: &Txn,
    d: &Domain,
    check: Option<&orbit_engine::table::CheckDef>,
    not_null: bool,
) -> Result<()> {
    let bound = match check {
        Some(c) => Some(domains::bind_check(d, c)?),
        None => None,
    };
    let mut tables: Vec<(Arc<TableDef>, Vec<usize>)> = Vec::new();
    for x in domains::dependents(d.oid) {
        if let domains::Dependent::Column(t, i) = x {
            match tables.iter_mut().find(|(u, _)| u.oid == t.oid) {
                Some((_, cols)) => cols.push(i),
                None => tables.push((t, vec![i])),
            }
        }
    }
    for (table, cols) in tables {
        let rows = utility::committed_rows(txn, &table).await?;
        let own = txn.overlay_rows(&table);
        for (seen, row) in utility::visible(&rows, &own).enumerate() {
            if seen % 65_536 == 65_535 {
                txn.check_cancel()?;
            }
            for &i in &cols {
                let v = row.get(i).unwrap_or(&Datum::Null);
                let fails = match &bound {
                    Some(e) => {
                        let r = crate::expr::eval(
                            e,
                            &crate::expr::Ctx { row: std::slice::from_ref(v), params: &[], aggs: &[] },
                        )?;
                        crate::expr::truth(r) == Some(false)
                    }
                    None => not_null && v.is_null(),
                };
                if fails {
                    let column = &table.columns[i].name;
                    let rel = crate::schema::relname(&table.name);
                    return Err(if bound.is_some() {
                        SqlError::new(
                            code::CHECK_VIOLATION,
                            format!("column \"{column}\" of table \"{rel}\" contains values that violate the new constraint"),
                        )
                    } else {
                        SqlError::new(
                            code::NOT_NULL_VIOLATION,
                            format!("column \"{column}\" of table \"{rel}\" contains null values"),
                        )
                    }
                    .on_table(&table.name)
                    .on_column(column));
                }
            }
        }
    }
    Ok(())
}

async fn alter(
    txn: &mut Txn,
    name: &str,
    new: &Domain,
    check: Option<&orbit_engine::table::CheckDef>,
    not_null: bool,
    notice: Option<&str>,
) -> Result<QueryResult> {
    let mut r = QueryResult { tag: "ALTER DOMAIN".into(), ..Default::default() };
    if let Some(n) = notice {
        r.notices.push(SqlError::new("00000", n.to_string()));
        return Ok(r);
    }
    let (d, def) = current(name)?;
    if check.is_some() || not_null {
        check_existing(txn, &d, check, not_null).await?;
    }
    let new = Domain { oid: d.oid, name: d.name.clone(), ..new.clone() };
    if new.to_def().columns == def.columns && new.checks == def.checks {
        return Ok(r);
    }
    catalog_types::swap(txn, &def, &new).await?;
    Ok(r)
}

async fn rename_domain(txn: &mut Txn, name: &str, new_name: &str) -> Result<QueryResult> {
    catalog_types::rename_type::<Domain>(txn, name, new_name).await?;
    Ok(QueryResult { tag: "ALTER DOMAIN".into(), ..Default::default() })
}
