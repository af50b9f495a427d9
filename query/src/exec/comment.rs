//! COMMENT ON ([`crate::comment`]): the object's comment entry is replaced — the old one
//! dropped at COMMIT (hidden until then, as DROP TABLE's), the new one created for this
//! transaction alone until it commits — so the change is transactional and durable, and
//! reaches every shard's catalog copy.

use super::{create_table_as, undo, utility, QueryResult};
use crate::comment::{self, CommentPlan};
use crate::error::Result;
use crate::txn::Txn;
use orbit_engine::table::TableDef;

pub(super) async fn run(txn: &mut Txn, plan: &CommentPlan) -> Result<QueryResult> {
    if let comment::Object::Database(db) = &plan.object {
        if db != "postgres" {
            let warning = crate::error::SqlError::new("3D000", format!("database \"{db}\" does not exist"));
            return Ok(QueryResult { tag: "COMMENT".into(), notices: vec![warning], ..Default::default() });
        }
    }
    let name = comment::entry(&plan.object);
    txn.holds_tables |= !txn.alone;
    if let Some(old) = crate::bind::lookup_table(&name) {
        undo::drop_at_commit(txn, &[old]).await?;
    }
    // '' removes a comment as NULL does; removing a built-in one leaves an empty entry that
    // hides it.
    let text = match &plan.text {
        Some(t) if !t.is_empty() => Some(t.clone()),
        _ if comment::built_in(&plan.object).is_some() => Some(String::new()),
        _ => None,
    };
    if let Some(text) = text {
        let def = TableDef { name: name.clone(), pk_name: text, ..TableDef::default_empty() };
        create_table_as(def, false, utility::holder(txn)).await?;
        txn.created.extend(undo::created(name, 0).await?);
    }
    Ok(QueryResult { tag: "COMMENT".into(), ..Default::default() })
}
