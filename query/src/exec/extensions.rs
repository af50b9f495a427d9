//! CREATE EXTENSION and DROP EXTENSION ([`crate::extensions`]): an extension's catalog entry
//! created and dropped through the steps enum types and domains use (`super::catalog_types`),
//! undone by ROLLBACK and the crash journal as theirs are.

use super::{catalog_types, QueryResult};
use crate::error::{code, Result, SqlError};
use crate::extensions::{self, Extension, ExtensionPlan};
use crate::txn::Txn;

impl catalog_types::EntryDdl for Extension {
    fn name(&self) -> &str {
        &self.name
    }

    fn to_def(&self) -> orbit_engine::table::TableDef {
        Extension::to_def(self)
    }
}

pub(super) async fn run(txn: &mut Txn, plan: &ExtensionPlan) -> Result<QueryResult> {
    match plan {
        ExtensionPlan::Create { name, if_not_exists, schema, version } => {
            let mut r = QueryResult { tag: "CREATE EXTENSION".into(), ..Default::default() };
            if extensions::installed(name).is_some() {
                let msg = format!("extension \"{name}\" already exists");
                if *if_not_exists {
                    r.notices.push(SqlError::new(code::DUPLICATE_OBJECT, format!("{msg}, skipping")));
                    return Ok(r);
                }
                return Err(SqlError::new(code::DUPLICATE_OBJECT, msg));
            }
            let ext = Extension { oid: 0, name: name.clone(), schema: schema.clone(), version: version.clone() };
            catalog_types::create(txn, &ext).await.map_err(|e| match e.code {
                // Another session created it meanwhile.
                code::DUPLICATE_OBJECT => {
                    SqlError::new(code::DUPLICATE_OBJECT, format!("extension \"{name}\" already exists"))
                }
                _ => e,
            })?;
            Ok(r)
        }
        ExtensionPlan::Drop { names, if_exists, cascade } => {
            let mut r = QueryResult { tag: "DROP EXTENSION".into(), ..Default::default() };
            // PostgreSQL checks every extension before dropping any.
            let mut found = Vec::new();
            for n in names {
                let Some(ext) = extensions::installed(n) else {
                    if *if_exists {
                        r.notices.push(SqlError::new("00000", format!("extension \"{n}\" does not exist, skipping")));
                        continue;
                    }
                    return Err(SqlError::new(code::UNDEFINED_OBJECT, format!("extension \"{n}\" does not exist")));
                };
                let deps = extensions::dependents(&ext);
                if !deps.is_empty() {
                    let err = if *cascade {
                        SqlError::unsupported(format!(
                            "DROP EXTENSION \"{n}\" CASCADE of the objects using it is not supported yet"
                        ))
                        .detail(deps.join("\n"))
                    } else {
                        SqlError::new(
                            code::DEPENDENT_OBJECTS_STILL_EXIST,
                            format!("cannot drop extension {n} because other objects depend on it"),
                        )
                        .detail(deps.join("\n"))
                        .hint("Use DROP ... CASCADE to drop the dependent objects too.")
                    };
                    return Err(err);
                }
                let def = crate::bind::lookup_table(&format!("{}{n}", extensions::MARK)).ok_or_else(|| {
                    SqlError::new(code::UNDEFINED_OBJECT, format!("extension \"{n}\" does not exist"))
                })?;
                found.push((ext, def));
            }
            for (ext, def) in found {
                catalog_types::drop_entry(txn, &ext, &def).await?;
            }
            Ok(r)
        }
    }
}
