//! CREATE TYPE ... AS (fields) and DROP TYPE of composite types ([`crate::composites`]): a
//! composite type is a catalog entry, created and dropped the way an enum type's is
//! ([`super::catalog_types`]), undone by ROLLBACK.

use super::{catalog_types, QueryResult};
use crate::composites::{self, CompositePlan, CompositeType};
use crate::error::Result;
use crate::txn::Txn;

pub(super) async fn run(txn: &mut Txn, plan: &CompositePlan) -> Result<QueryResult> {
    match plan {
        CompositePlan::Create { name, fields } => {
            let t = CompositeType { oid: 0, name: name.clone(), fields: fields.clone() };
            catalog_types::create(txn, &t).await?;
            Ok(QueryResult { tag: "CREATE TYPE".into(), ..Default::default() })
        }
        CompositePlan::Drop { names, skipped } => {
            let mut r = QueryResult { tag: "DROP TYPE".into(), ..Default::default() };
            super::domains::skipped_types(&mut r, skipped);
            // PostgreSQL checks every type before dropping any; CASCADE (which would drop the
            // columns and fields of the type) is refused when binding.
            let mut found = Vec::new();
            for n in names {
                let (t, def) = catalog_types::current::<CompositeType>(n)?;
                let deps = composites::dependents(t.oid);
                if !deps.is_empty() {
                    let shown = crate::enums::display_name(&t.name);
                    let lines = deps.iter().map(|(_, what, array)| {
                        format!("{what} depends on type {shown}{}", if *array { "[]" } else { "" })
                    });
                    return Err(super::domains::type_depended_on(&shown, lines));
                }
                found.push((t, def));
            }
            for (t, def) in found {
                catalog_types::drop_entry(txn, &t, &def).await?;
            }
            Ok(r)
        }
    }
}
