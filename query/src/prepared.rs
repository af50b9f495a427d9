//! A session's named prepared statements — SQL `PREPARE` and the extended protocol's named
//! Parse share one namespace, as in PostgreSQL — and the `pg_prepared_statements` view of them
//! (<https://www.postgresql.org/docs/15/view-pg-prepared-statements.html>). The connection
//! owns the registry; every transaction of the session holds a handle to it
//! ([`crate::Txn::prepared_statements`]) so the view, read like any system view, lists the
//! reading session's statements.

use crate::bind::Prepared;
use orbit_engine::table::{ArrayType, ArrayValue, ColumnDef, Datum, OidKind, Row, SqlType, TableDef};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// pg_prepared_statements' OID in PostgreSQL 15.
pub const VIEW_OID: u32 = 12095;

/// One prepared statement of a session.
#[derive(Debug)]
pub struct Statement {
    pub prepared: Rc<Prepared>,
    /// The text pg_stat_statements keys it by (constants replaced).
    pub normalized: Rc<str>,
    /// The query string that created it (the whole Query message for PREPARE, as PostgreSQL
    /// shows it; the Parse message's query otherwise).
    pub source: String,
    pub prepare_time_us: i64,
    /// Created by SQL PREPARE (else by the protocol's Parse).
    pub from_sql: bool,
    /// Executions. Orbit binds a statement once and runs that plan with each execution's
    /// parameters (a generic plan, in PostgreSQL's words); it never makes custom plans.
    pub generic_plans: i64,
}

/// The session's statements by name (the unnamed statement is "": it is not listed).
pub type Session = Rc<RefCell<HashMap<String, Statement>>>;

fn def() -> Arc<TableDef> {
    let regtypes = SqlType::Array(ArrayType::of_oid(2211));
    session_view(
        "pg_prepared_statements",
        VIEW_OID,
        &[
            ("name", SqlType::Text),
            ("statement", SqlType::Text),
            ("prepare_time", SqlType::TIMESTAMPTZ),
            ("parameter_types", regtypes),
            ("from_sql", SqlType::Bool),
            ("generic_plans", SqlType::Int8),
            ("custom_plans", SqlType::Int8),
        ],
    )
}

/// The definition of a system view of one session's objects (pg_prepared_statements,
/// pg_cursors): its rows come from the session's registry held by the reading transaction.
pub(crate) fn session_view(name: &str, oid: u32, columns: &[(&str, SqlType)]) -> Arc<TableDef> {
    Arc::new(TableDef {
        name: name.to_string(),
        columns: columns.iter().map(|(n, t)| ColumnDef::new(*n, *t)).collect(),
        pk: vec![0],
        pk_name: String::new(),
        oid,
        ..TableDef::default_empty()
    })
}

/// The view, if `(schema, name)` names it.
pub fn resolve(schema: &str, name: &str) -> Option<Arc<TableDef>> {
    (schema == "pg_catalog" && name == "pg_prepared_statements").then(def)
}

/// The view's rows: the statements of the session `statements` belongs to.
pub fn rows(statements: &Session) -> Vec<Row> {
    let statements = statements.borrow();
    let mut named: Vec<(&String, &Statement)> = statements.iter().filter(|(n, _)| !n.is_empty()).collect();
    named.sort_by_key(|(_, s)| s.prepare_time_us);
    named
        .into_iter()
        .map(|(name, s)| {
            let types = s.prepared.param_types.iter().map(|t| Datum::Oid(OidKind::RegType, t.oid())).collect();
            vec![
                Datum::Text(name.clone()),
                Datum::Text(s.source.clone()),
                Datum::TimestampTz(s.prepare_time_us),
                Datum::Array(Box::new(ArrayValue::from_items(SqlType::Oid(OidKind::RegType), types))),
                Datum::Bool(s.from_sql),
                Datum::Int8(s.generic_plans),
                Datum::Int8(0),
            ]
        })
        .collect()
}
