//! The system views tools read have PostgreSQL 15's columns: `SELECT * FROM <view> LIMIT 0`
//! is prepared on a real PostgreSQL 15 and on Orbit (`--shards 2`), and the column names (in
//! order) and types compared. Types compare through the substitutions Orbit makes everywhere
//! in its catalogs (docs/ARCHITECTURE.md, System views): `oid` (and `xid`) columns are int8,
//! the text-like types (`inet`, `pg_node_tree`, information_schema's domains) text (`name`
//! columns are `name`, as in PostgreSQL), `aclitem[]`/`anyarray` text[], `oid[]`/`oidvector` int8[], `int2vector` int2[]
//! (but pg_index's indkey and indoption, which are int2vector: [`OTHER_TYPES`]). Values are
//! checked by `tests/slt/catalog_pg15.slt`.

use orbit_tests::{pg_connect, pg_runtime, Orbit, RealPostgres};
use tokio_postgres::types::{Kind, Type};

/// The views compared: those issue #5's tools read.
const VIEWS: &[&str] = &[
    "pg_catalog.pg_type",
    "pg_catalog.pg_attribute",
    "pg_catalog.pg_settings",
    "pg_catalog.pg_trigger",
    "pg_catalog.pg_constraint",
    "pg_catalog.pg_roles",
    "pg_catalog.pg_sequences",
    "pg_catalog.pg_stat_activity",
    "pg_catalog.pg_collation",
    "pg_catalog.pg_stats",
    "information_schema.columns",
    "information_schema.tables",
    "pg_catalog.pg_views",
    "pg_catalog.pg_user",
    "pg_catalog.pg_authid",
    "pg_catalog.pg_auth_members",
    "pg_catalog.pg_stat_user_tables",
    "information_schema.views",
    "information_schema.sequences",
    "pg_catalog.pg_shdescription",
    "pg_catalog.pg_class",
    "pg_catalog.pg_index",
    "pg_catalog.pg_namespace",
    "pg_catalog.pg_database",
];

/// Columns whose type is another substitution, with the type Orbit gives them and why.
const OTHER_TYPES: &[(&str, &str, &str)] = &[
    // int2vector elsewhere is int2[]; pg_index's are int2vector, as in PostgreSQL: clients
    // read them as text ("0 0", which SQLAlchemy splits) and SQL subscripts them from 0
    // (pgjdbc's getIndexInfo) (docs/ARCHITECTURE.md, System views).
    ("pg_catalog.pg_index", "indkey", "int2vector"),
    ("pg_catalog.pg_index", "indoption", "int2vector"),
    // oid as in PostgreSQL: tokio-postgres's type lookup (an enum's OID) reads them as u32.
    ("pg_catalog.pg_type", "typelem", "oid"),
    ("pg_catalog.pg_type", "typbasetype", "oid"),
    ("pg_catalog.pg_type", "typrelid", "oid"),
];

/// A column type's name as Orbit shows the same column: a domain as its base type, then
/// Orbit's catalog substitutions.
fn as_orbit(t: &Type) -> String {
    let (t, domain) = match t.kind() {
        Kind::Domain(base) => (base.clone(), true),
        _ => (t.clone(), false),
    };
    match t.name() {
        "oid" | "xid" => "int8",
        // information_schema's sql_identifier is a domain over name: text here.
        "name" if domain => "text",
        "inet" | "pg_node_tree" | "varchar" => "text",
        "_aclitem" | "anyarray" => "_text",
        "_oid" | "oidvector" => "_int8",
        "int2vector" => "_int2",
        other => other,
    }
    .to_string()
}

async fn columns(port: u16, view: &str, mapped: bool) -> Vec<(String, String)> {
    let c = pg_connect(port).await;
    let st = c
        .prepare(&format!("SELECT * FROM {view} LIMIT 0"))
        .await
        .unwrap_or_else(|e| panic!("{view} on port {port}: {e}"));
    st.columns()
        .iter()
        .map(|col| {
            let ty = if mapped { as_orbit(col.type_()) } else { col.type_().name().to_string() };
            (col.name().to_string(), ty)
        })
        .collect()
}

#[test]
fn system_views_have_postgresql_columns() {
    let Some(pg) = RealPostgres::start_or_skip() else { return };
    let o = Orbit::start(&["--shards", "2"]);
    let rt = pg_runtime();
    let mut differ = Vec::new();
    for view in VIEWS {
        let mut want = rt.block_on(columns(pg.port, view, true));
        for (name, ty) in &mut want {
            if let Some(other) = OTHER_TYPES.iter().find(|o| o.0 == *view && o.1 == name) {
                *ty = other.2.to_string();
            }
        }
        let got = rt.block_on(columns(o.pg_port, view, false));
        if want != got {
            differ.push(format!("{view}\n  PostgreSQL: {want:?}\n  Orbit:      {got:?}"));
        }
    }
    assert!(differ.is_empty(), "columns differ:\n{}", differ.join("\n"));
}
