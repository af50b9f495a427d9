//! The DDL steps enum types ([`super::enum_types`]), composite types
//! ([`super::composite_types`]) and domains ([`super::domains`]) share on
//! their catalog entries ([`crate::catalog_types`]): create, swap in a new definition, rename
//! and drop one — decided on shard 0, applied and logged on every shard as a table's DDL is,
//! each kept in the transaction for ROLLBACK ([`super::undo`]).

use super::{create_table_as, drop_relations, rename, undo, utility};
use crate::catalog_types::{self, CatalogType};
use crate::error::{code, Result, SqlError};
use crate::txn::Txn;
use orbit_engine::table::TableDef;
use std::sync::Arc;

/// What the DDL steps need of a kind besides finding it.
pub(super) trait EntryDdl: CatalogType + Clone {
    /// Its catalog name.
    fn name(&self) -> &str;

    /// Its catalog entry, `pk_name` holding its type OID.
    fn to_def(&self) -> TableDef;
}

impl EntryDdl for crate::enums::EnumType {
    fn name(&self) -> &str {
        &self.name
    }

    fn to_def(&self) -> TableDef {
        crate::enums::EnumType::to_def(self)
    }
}

impl EntryDdl for crate::composites::CompositeType {
    fn name(&self) -> &str {
        &self.name
    }

    fn to_def(&self) -> TableDef {
        crate::composites::CompositeType::to_def(self)
    }
}

impl EntryDdl for crate::domains::Domain {
    fn name(&self) -> &str {
        &self.name
    }

    fn to_def(&self) -> TableDef {
        crate::domains::Domain::to_def(self)
    }
}

pub(super) fn gone(name: &str) -> SqlError {
    SqlError::new(code::UNDEFINED_OBJECT, format!("type \"{}\" does not exist", crate::schema::relname(name)))
}

pub(super) fn exists_error(name: &str) -> SqlError {
    SqlError::new(code::DUPLICATE_OBJECT, format!("type \"{}\" already exists", crate::schema::relname(name)))
}

/// Type `name` of kind `T` and its catalog entry now.
pub(super) fn current<T: EntryDdl>(name: &str) -> Result<(T, Arc<TableDef>)> {
    let def = crate::bind::lookup_table(&catalog_types::entry::<T>(name)).ok_or_else(|| gone(name))?;
    let t = T::of_def(&def).ok_or_else(|| gone(name))?;
    Ok((t, def))
}

/// Creates the entry of new type `t` (its OID unset: the entry's first relation OID is the
/// type's, which an empty `pk_name` says), noted for ROLLBACK; 42710 if the name is taken.
pub(super) async fn create<T: EntryDdl>(txn: &mut Txn, t: &T) -> Result<()> {
    let mut def = t.to_def();
    def.pk_name.clear();
    let made = create_table_as(def, true, utility::holder(txn)).await?;
    if !made.notices.is_empty() {
        return Err(exists_error(t.name()));
    }
    if let Some(d) = crate::bind::lookup_table(&catalog_types::entry::<T>(t.name())) {
        txn.created.push(undo::Created::Relation { name: d.name.clone(), oid: d.oid, view: false });
    }
    Ok(())
}

/// Swaps in `new` for the type whose entry is `now`, kept for ROLLBACK in a block.
pub(super) async fn swap<T: EntryDdl>(txn: &mut Txn, now: &Arc<TableDef>, new: &T) -> Result<()> {
    let shards = orbit_shards::state::local().1;
    let per_shard = (0..shards).map(|_| Vec::new()).collect();
    utility::stage_and_swap_as(&now.name, Some(now), new.to_def(), per_shard, utility::holder(txn)).await?;
    if let Some(d) = crate::bind::lookup_table(&now.name) {
        let mut old = (**now).clone();
        if old.pk_name.is_empty() {
            old.pk_name = new.oid().to_string();
        }
        undo::keep(
            txn,
            vec![undo::Created::Replaced { name: now.name.clone(), oid: d.oid, old: Box::new(old), rows: Vec::new() }],
        )?;
    }
    Ok(())
}

/// Renames type `name` of kind `T` to `new_name` (a catalog name in the same schema).
pub(super) async fn rename_type<T: EntryDdl>(txn: &mut Txn, name: &str, new_name: &str) -> Result<()> {
    let (t, def) = current::<T>(name)?;
    if crate::bind::lookup_table(&catalog_types::entry::<T>(new_name)).is_some() {
        return Err(exists_error(new_name));
    }
    // Written down first: the renamed entry keeps the type's OID whatever its relation OID.
    let def = if def.pk_name.is_empty() {
        swap(txn, &def, &t).await?;
        crate::bind::lookup_table(&def.name).ok_or_else(|| gone(name))?
    } else {
        def
    };
    rename::rename_everywhere(&def, &catalog_types::entry::<T>(new_name)).await?;
    if let Some(d) = crate::bind::lookup_table(&catalog_types::entry::<T>(new_name)) {
        undo::keep(txn, vec![undo::Created::Renamed { from: def.name.clone(), to: d.name.clone(), oid: d.oid }])?;
    }
    Ok(())
}

/// Drops type `t`'s catalog entry `def`, put back by ROLLBACK under the same type OID.
pub(super) async fn drop_entry<T: EntryDdl>(txn: &mut Txn, t: &T, def: &Arc<TableDef>) -> Result<()> {
    drop_relations(std::slice::from_ref(&def.name)).await?;
    let mut old = t.to_def();
    old.oid = def.oid;
    undo::keep(txn, vec![undo::Created::Dropped { def: Box::new(old), rows: Vec::new() }])
}
