//! CREATE TYPE ... AS ENUM, ALTER TYPE and DROP TYPE ([`crate::enums`]). An enum type is a
//! catalog entry, so it is created, swapped (ALTER TYPE: a new definition under the same type
//! OID) and dropped the way a table is — decided on shard 0, applied on every shard, logged
//! with the table records — and undone by ROLLBACK through the transaction's created objects
//! ([`super::undo`]).

use super::{create_table_as, drop_relations, rename, undo, utility, QueryResult};
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

fn exists_error(name: &str) -> SqlError {
    SqlError::new("42710", format!("type \"{}\" already exists", crate::schema::relname(name)))
}

fn gone(name: &str) -> SqlError {
    SqlError::new(code::UNDEFINED_OBJECT, format!("type \"{}\" does not exist", crate::schema::relname(name)))
}

/// The type and its catalog entry now.
fn current(name: &str) -> Result<(EnumType, Arc<orbit_engine::table::TableDef>)> {
    let def = crate::bind::lookup_table(&enums::entry(name)).ok_or_else(|| gone(name))?;
    let t = EnumType::of_def(&def).ok_or_else(|| gone(name))?;
    Ok((t, def))
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
    // The type's OID is its entry's first relation OID (`pk_name` left empty says so; every
    // later definition writes it down).
    let mut def = EnumType { oid: 0, name: name.to_string(), labels }.to_def();
    def.pk_name.clear();
    let made = create_table_as(def, true, utility::holder(txn)).await?;
    if !made.notices.is_empty() {
        return Err(exists_error(name));
    }
    if let Some(d) = crate::bind::lookup_table(&enums::entry(name)) {
        txn.created.push(undo::Created::Relation { name: d.name.clone(), oid: d.oid, view: false });
    }
    Ok(QueryResult { tag: "CREATE TYPE".into(), ..Default::default() })
}

async fn drop(txn: &mut Txn, names: &[String], skipped: &[String], cascade: bool) -> Result<QueryResult> {
    let mut r = QueryResult { tag: "DROP TYPE".into(), ..Default::default() };
    for s in skipped {
        r.notices.push(SqlError::new("00000", format!("type \"{s}\" does not exist, skipping")));
    }
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
        drop_relations(std::slice::from_ref(&def.name)).await?;
        // Put back by ROLLBACK under the same type OID.
        let mut old = t.to_def();
        old.oid = def.oid;
        undo::keep(txn, vec![undo::Created::Dropped { def: Box::new(old), rows: Vec::new() }])?;
    }
    Ok(r)
}

/// Swaps in `new` for type `name` (its entry `now`), kept for ROLLBACK in a block.
async fn swap(txn: &mut Txn, now: &Arc<orbit_engine::table::TableDef>, new: &EnumType) -> Result<()> {
    let shards = orbit_shards::state::local().1;
    let per_shard = (0..shards).map(|_| Vec::new()).collect();
    utility::stage_and_swap_as(&now.name, Some(now), new.to_def(), per_shard, utility::holder(txn)).await?;
    if let Some(d) = crate::bind::lookup_table(&now.name) {
        let mut old = (**now).clone();
        if old.pk_name.is_empty() {
            old.pk_name = new.oid.to_string();
        }
        undo::keep(
            txn,
            vec![undo::Created::Replaced { name: now.name.clone(), oid: d.oid, old: Box::new(old), rows: Vec::new() }],
        )?;
    }
    Ok(())
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
    swap(txn, &def, &new).await?;
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
    swap(txn, &def, &new).await?;
    Ok(QueryResult { tag: "ALTER TYPE".into(), ..Default::default() })
}

async fn rename_type(txn: &mut Txn, name: &str, new_name: &str) -> Result<QueryResult> {
    let (t, def) = current(name)?;
    if crate::bind::lookup_table(&enums::entry(new_name)).is_some() {
        return Err(exists_error(new_name));
    }
    // Written down first: the renamed entry keeps the type's OID whatever its relation OID.
    let def = if def.pk_name.is_empty() {
        let fixed = EnumType { oid: t.oid, ..t.clone() };
        swap(txn, &def, &fixed).await?;
        crate::bind::lookup_table(&def.name).ok_or_else(|| gone(name))?
    } else {
        def
    };
    rename::rename_everywhere(&def, &enums::entry(new_name)).await?;
    if let Some(d) = crate::bind::lookup_table(&enums::entry(new_name)) {
        undo::keep(txn, vec![undo::Created::Renamed { from: def.name.clone(), to: d.name.clone(), oid: d.oid }])?;
    }
    Ok(QueryResult { tag: "ALTER TYPE".into(), ..Default::default() })
}
