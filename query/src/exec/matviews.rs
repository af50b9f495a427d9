//! REFRESH MATERIALIZED VIEW (bound in `bind/matviews.rs`): in the statement's transaction,
//! the view's rows are deleted and its query's result inserted (WITH NO DATA: deleted only,
//! and the view marked unpopulated), as steps bound like `Plan::Steps`' later statements. Its
//! readers keep their snapshots' rows until the transaction commits (PostgreSQL's
//! CONCURRENTLY behaviour; its plain REFRESH makes them wait instead). A change of the
//! populated mark is a new definition of the table (`indexes::swap_definition`, kept for
//! ROLLBACK in a block).

use super::{indexes, undo, QueryResult};
use crate::bind::matviews::Refresh;
use crate::error::{code, Result, SqlError};
use crate::txn::Txn;
use orbit_engine::table::TableDef;
use std::sync::Arc;

/// A catalog name as SQL text, schema-qualified (the session's search path may be empty, as
/// pg_dump's scripts set it), each part a quoted identifier.
fn quoted(name: &str) -> String {
    let (schema, rel) = crate::schema::split(name);
    let id = |s: &str| sqlparser::ast::Ident::with_quote('"', s).to_string();
    format!("{}.{}", id(schema), id(rel))
}

pub(super) async fn refresh(txn: &mut Txn, r: &Refresh) -> Result<QueryResult> {
    let name = r.view.name.clone();
    let view = crate::bind::lookup_table(&name).filter(|d| d.matview.is_some()).ok_or_else(|| {
        SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{}\" does not exist", crate::schema::relname(&name)))
    })?;
    let writing = txn.writing_matview.replace(name.clone());
    // The steps run as a block's statements (each keeps its undo), as `Plan::Steps`' do.
    let alone = std::mem::replace(&mut txn.alone, false);
    let done = steps(txn, &view, r).await;
    txn.alone = alone;
    txn.writing_matview = writing;
    done?;
    Ok(QueryResult { tag: "REFRESH MATERIALIZED VIEW".into(), ..Default::default() })
}

async fn steps(txn: &mut Txn, view: &Arc<TableDef>, r: &Refresh) -> Result<()> {
    let Some(m) = view.matview.clone() else { return Ok(()) };
    let target = quoted(&view.name);
    // The rows first; the populated mark last, once they are in (an error before leaves it).
    if m.populated {
        super::run_step(&format!("DELETE FROM {target}"), &r.session, &[], txn).await?;
    }
    if !r.no_data {
        super::run_step(&format!("INSERT INTO {target} {}", m.query), &r.session, &[], txn).await?;
    }
    if m.populated == r.no_data {
        let now = crate::bind::lookup_table(&view.name).unwrap_or_else(|| view.clone());
        mark(txn, &now, !r.no_data).await?;
    }
    Ok(())
}

/// The view's definition with its populated mark set to `populated`.
async fn mark(txn: &mut Txn, view: &Arc<TableDef>, populated: bool) -> Result<()> {
    // Held until the transaction ends, as by any ALTER of a block (its steps run as one).
    txn.holds_tables = true;
    let mut def = (**view).clone();
    if let Some(m) = def.matview.as_mut() {
        m.populated = populated;
    }
    let kept: Vec<undo::Created> = indexes::swap_definition(txn, view, def).await?.into_iter().collect();
    undo::keep(txn, kept)
}
