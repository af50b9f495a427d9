//! CREATE TYPE ... AS ENUM, ALTER TYPE and DROP TYPE ([`crate::enums`]). An enum type is a
//! catalog entry, so it is created, swapped (ALTER TYPE: a new definition under the same type
//! OID) and dropped the way a table is — decided on shard 0, applied on every shard, logged
//! with the table records — and undone by ROLLBACK through the transaction's created objects
//! ([`super::undo`]).

use super::{catalog_types, QueryResult};
use crate::enums::{self, EnumPlan, EnumType, Label};
use crate::error::{code, Result, SqlError};
use crate::txn::Txn;
use std::sync::Arc;

pub(super) async fn run(txn: &mut Txn, plan: &EnumPlan) -> Result<QueryResult> {
    match plan {
        EnumPlan::Create { name, labels } => create(txn, name, labels).await,
        EnumPlan::Drop { names, skipped, cascade } => drop(txn, names, skipped, *cascade).await,
        EnumPlan::AddValue { name, label, if_not_exists, neighbour } => {
            add_value(txn, name, label, *if_not_exists, neighbour.as_ref().map(|(n, b)| (n.as_str(), *b))).await
        }
        EnumPlan::RenameValue { name, from, to } => rename_value(txn, name, from, to).await,
        EnumPlan::Rename { name, new_name } => rename_type(txn, name, new_name).await,
    }
}

/// The type and its catalog entry now.
fn current(name: &str) -> Result<(EnumType, Arc<orbit_engine::table::TableDef>)> {
    catalog_types::current(name)
}

async fn create(txn: &mut Txn, name: &str, labels: &[String]) -> Result<QueryResult> {
    // PostgreSQL's unique index on (enumtypid, enumlabel) refuses a label given twice.
    for (i, l) in labels.iter().enumerate() {
        if labels[..i].contains(l) {
            return Err(SqlError::new(
                code::UNIQUE_VIOLATION,
                "duplicate key value violates unique constraint \"pg_enum_typid_label_index\"",
            ));
        }
    }
    let labels = labels.iter().enumerate().map(|(i, l)| Label { name: l.clone(), pos: (i + 1) as f32 }).collect();
    catalog_types::create(txn, &EnumType { oid: 0, name: name.to_string(), labels }).await?;
    Ok(QueryResult { tag: "CREATE TYPE".into(), ..Default::default() })
}

async fn drop(txn: &mut Txn, names: &[String], skipped: &[String], cascade: bool) -> Result<QueryResult> {
    let mut r = QueryResult { tag: "DROP TYPE".into(), ..Default::default() };
    super::domains::skipped_types(&mut r, skipped);
    // PostgreSQL checks every type before dropping any.
    let mut found = Vec::new();
    for n in names {
        let (t, def) = current(n)?;
        let deps = enums::dependents(t.oid);
        if !deps.is_empty() && !cascade {
            return Err(super::domains::still_depended_on(&enums::display_name(&t.name), &deps));
        }
        found.push((t, def, deps));
    }
    for (t, def, deps) in found {
        // The columns and domains of the type go first, as DROP DOMAIN ... CASCADE drops them.
        if let Some(notice) = super::domains::drop_dependents(txn, &deps).await? {
            r.notices.push(notice);
        }
        catalog_types::drop_entry(txn, &t, &def).await?;
    }
    Ok(r)
}

async fn add_value(
    txn: &mut Txn,
    name: &str,
    label: &str,
    if_not_exists: bool,
    neighbour: Option<(&str, bool)>,
) -> Result<QueryResult> {
    let mut r = QueryResult { tag: "ALTER TYPE".into(), ..Default::default() };
    let (t, def) = current(name)?;
    if t.position(label).is_some() {
        if if_not_exists {
            r.notices.push(SqlError::new("42710", format!("enum label \"{label}\" already exists, skipping")));
            return Ok(r);
        }
        return Err(SqlError::new("42710", format!("enum label \"{label}\" already exists")));
    }
    let pos = enums::new_position(&t, neighbour)?.ok_or_else(|| {
        SqlError::unsupported(
            "ALTER TYPE ... ADD VALUE between two labels whose sort orders have no room left (PostgreSQL renumbers the labels) is not supported yet",
        )
    })?;
    let mut new = t.clone();
    let at = new.labels.iter().position(|l| l.pos > pos).unwrap_or(new.labels.len());
    new.labels.insert(at, Label { name: label.to_string(), pos });
    catalog_types::swap(txn, &def, &new).await?;
    if !txn.alone {
        enums::added_in_block(t.oid, pos, txn.id);
    }
    Ok(r)
}

async fn rename_value(txn: &mut Txn, name: &str, from: &str, to: &str) -> Result<QueryResult> {
    let (t, def) = current(name)?;
    let Some(i) = t.labels.iter().position(|l| l.name == from) else {
        return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, format!("\"{from}\" is not an existing enum label")));
    };
    if t.position(to).is_some() {
        return Err(SqlError::new("42710", format!("enum label \"{to}\" already exists")));
    }
    let mut new = t.clone();
    new.labels[i].name = to.to_string();
    catalog_types::swap(txn, &def, &new).await?;
    Ok(QueryResult { tag: "ALTER TYPE".into(), ..Default::default() })
}

async fn rename_type(txn: &mut Txn, name: &str, new_name: &str) -> Result<QueryResult> {
    catalog_types::rename_type::<EnumType>(txn, name, new_name).await?;
    Ok(QueryResult { tag: "ALTER TYPE".into(), ..Default::default() })
}
