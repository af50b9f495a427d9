//! CREATE [OR REPLACE] TRIGGER and DROP TRIGGER as they run ([`crate::triggers`]): a trigger
//! is a catalog entry, created, swapped and dropped as functions are ([`super::catalog_types`]),
//! undone by ROLLBACK. DROP TABLE drops its table's triggers the same way.

use super::{catalog_types, QueryResult};
use crate::bind::triggers::TriggerPlan;
use crate::error::{Result, SqlError};
use crate::triggers::Trigger;
use crate::txn::Txn;
use orbit_engine::table::TableDef;
use std::sync::Arc;

#[derive(Clone, PartialEq)]
struct Entry {
    t: Trigger,
    key: String,
}

impl Entry {
    fn new(t: Trigger) -> Entry {
        let key = Trigger::entry_name(&t.table, &t.name).split_off(crate::triggers::MARK.len_utf8());
        Entry { t, key }
    }
}

impl crate::catalog_types::CatalogType for Entry {
    const MARK: char = crate::triggers::MARK;

    fn of_def(def: &TableDef) -> Option<Entry> {
        Trigger::of_def(def).map(Entry::new)
    }

    fn oid(&self) -> u32 {
        self.t.oid
    }
}

impl catalog_types::EntryDdl for Entry {
    fn name(&self) -> &str {
        &self.key
    }

    fn to_def(&self) -> TableDef {
        self.t.to_def()
    }
}

pub(super) async fn run(txn: &mut Txn, plan: &TriggerPlan) -> Result<QueryResult> {
    match plan {
        TriggerPlan::Create { t, or_replace } => {
            let entry = Trigger::entry_name(&t.table, &t.name);
            match crate::bind::lookup_table(&entry) {
                Some(now) if *or_replace => {
                    let old = Trigger::of_def(&now).ok_or_else(|| SqlError::internal("bad trigger entry"))?;
                    catalog_types::swap(txn, &now, &Entry::new(Trigger { oid: old.oid, ..t.clone() })).await?;
                }
                Some(_) => {
                    return Err(SqlError::new(
                        "42710",
                        format!(
                            "trigger \"{}\" for relation \"{}\" already exists",
                            t.name,
                            crate::schema::relname(&t.table)
                        ),
                    ))
                }
                None => catalog_types::create(txn, &Entry::new(Trigger { oid: 0, ..t.clone() })).await?,
            }
            Ok(QueryResult { tag: "CREATE TRIGGER".into(), ..Default::default() })
        }
        TriggerPlan::Drop { entry, notice } => {
            let mut r = QueryResult { tag: "DROP TRIGGER".into(), ..Default::default() };
            if let Some(n) = notice {
                r.notices.push(SqlError::new("00000", n.clone()));
            }
            if let Some(e) = entry {
                let def = crate::bind::lookup_table(e).ok_or_else(|| SqlError::internal("trigger entry gone"))?;
                let t = Trigger::of_def(&def).ok_or_else(|| SqlError::internal("bad trigger entry"))?;
                catalog_types::drop_entry(txn, &Entry::new(t), &def).await?;
            }
            Ok(r)
        }
        TriggerPlan::Enable { entries, state } => {
            for e in entries {
                let now = crate::bind::lookup_table(e).ok_or_else(|| SqlError::internal("trigger entry gone"))?;
                let t = Trigger::of_def(&now).ok_or_else(|| SqlError::internal("bad trigger entry"))?;
                if t.enabled != *state {
                    catalog_types::swap(txn, &now, &Entry::new(Trigger { enabled: *state, ..t })).await?;
                }
            }
            Ok(QueryResult { tag: "ALTER TABLE".into(), ..Default::default() })
        }
        TriggerPlan::Rename { entry, new_entry } => {
            let key = |e: &str| e[crate::triggers::MARK.len_utf8()..].to_string();
            catalog_types::rename_type::<Entry>(txn, &key(entry), &key(new_entry)).await?;
            Ok(QueryResult { tag: "ALTER TRIGGER".into(), ..Default::default() })
        }
    }
}

/// Drops the triggers of the tables and views a DROP drops.
pub(crate) async fn drop_of_tables(txn: &mut Txn, tables: &[Arc<TableDef>]) -> Result<()> {
    for table in tables {
        for t in crate::triggers::of_table(&table.name) {
            let entry = Trigger::entry_name(&t.table, &t.name);
            if let Some(def) = crate::bind::lookup_table(&entry) {
                catalog_types::drop_entry(txn, &Entry::new((*t).clone()), &def).await?;
            }
        }
    }
    Ok(())
}

/// Moves the triggers of a table renamed (or moved to another schema) from `from` to `to`.
pub(super) async fn rename_of_table(txn: &mut Txn, from: &str, to: &str) -> Result<()> {
    for t in crate::triggers::of_table(from) {
        let entry = Trigger::entry_name(&t.table, &t.name);
        if crate::bind::lookup_table(&entry).is_some() {
            let key = |e: &str| e[crate::triggers::MARK.len_utf8()..].to_string();
            catalog_types::rename_type::<Entry>(txn, &key(&entry), &key(&Trigger::entry_name(to, &t.name))).await?;
        }
    }
    Ok(())
}

/// RENAME COLUMN: the table's triggers naming the column (UPDATE OF, NEW.col / OLD.col in
/// WHEN) name it by its new name.
pub(super) async fn rename_column(txn: &mut Txn, table: &str, old: &str, new: &str) -> Result<()> {
    for t in crate::triggers::of_table(table) {
        let columns: Vec<String> =
            t.columns.iter().map(|c| if c == old { new.to_string() } else { c.clone() }).collect();
        let when = t.when.as_deref().map(|w| renamed_in_when(w, old, new));
        if columns == t.columns && when == t.when {
            continue;
        }
        let entry = Trigger::entry_name(&t.table, &t.name);
        let now = crate::bind::lookup_table(&entry).ok_or_else(|| SqlError::internal("trigger entry gone"))?;
        catalog_types::swap(txn, &now, &Entry::new(Trigger { columns, when, ..(*t).clone() })).await?;
    }
    Ok(())
}

/// A WHEN condition's text with `NEW.old` / `OLD.old` naming `new` instead.
fn renamed_in_when(w: &str, old: &str, new: &str) -> String {
    let Ok(t) = crate::plpgsql::scan::tokens(w) else { return w.to_string() };
    let mut out = String::with_capacity(w.len());
    let mut last = 0;
    for k in 2..t.len() {
        if (t[k - 2].is("new") || t[k - 2].is("old")) && t[k - 1].is_op(".") && t[k].word() == Some(old) {
            out.push_str(&w[last..t[k].start]);
            out.push_str(&crate::regtypes::quote_ident(new));
            last = t[k].end;
        }
    }
    out.push_str(&w[last..]);
    out
}
