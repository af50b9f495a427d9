//! System views that list, in PostgreSQL 15's shapes, what the catalog copy and the shards
//! already hold: pg_views and information_schema.views (user views, their definitions as
//! pg_get_viewdef prints them), pg_matviews, information_schema.sequences, pg_stat_user_tables (live rows
//! counted on every shard), the role views pg_user, pg_authid and pg_auth_members (the
//! bootstrap superuser; no role memberships), and pg_shdescription (initdb's comment on the
//! database). Rows are built when read, as
//! [`crate::catalog::rows`] builds the others.
//!
//! Not here: the system views themselves in pg_views / information_schema.views (Orbit's are
//! built in code, without an SQL definition), pg_locks, pg_statistic (ANALYZE's statistics are
//! read through pg_stats) and information_schema.routines (Orbit's built-in functions are not
//! catalog objects).

use crate::catalog::View;
use crate::error::{code, Result, SqlError};
use crate::txn::Txn;
use orbit_engine::table::{ArrayType, Datum, Row, SqlType, TableDef, ViewCheck};
use orbit_shards::mesh;

use SqlType::{Bool as B, Int4 as I4, Int8 as I8, Text as T};
/// `name` (the catalogs' identifiers).
const N: SqlType = SqlType::Name;
/// `timestamptz` (the catalogs' times).
const TZ: SqlType = SqlType::TIMESTAMPTZ;

const TA: SqlType = SqlType::Array(ArrayType::of_oid(25));

const PG_VIEWS_OID: u32 = 12028;
const PG_MATVIEWS_OID: u32 = 12038;
const PG_USER_OID: u32 = 12014;
const PG_AUTHID_OID: u32 = 1260;
const PG_AUTH_MEMBERS_OID: u32 = 1261;
const PG_STAT_USER_TABLES_OID: u32 = 12161;
const VIEWS_OID: u32 = 13483;
const SEQUENCES_OID: u32 = 13386;
const TRIGGERS_OID: u32 = 13440;
const DOMAINS_OID: u32 = 13320;
const DOMAIN_CONSTRAINTS_OID: u32 = 13310;
const PG_SHDESCRIPTION_OID: u32 = 2396;

/// PostgreSQL 15's OIDs and columns of these views (oid columns int8, as in
/// [`crate::catalog`]).
pub(crate) const VIEWS: &[View] = &[
    View {
        schema: "pg_catalog",
        name: "pg_views",
        oid: PG_VIEWS_OID,
        columns: &[("schemaname", N), ("viewname", N), ("viewowner", N), ("definition", T)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_matviews",
        oid: PG_MATVIEWS_OID,
        columns: &[
            ("schemaname", N),
            ("matviewname", N),
            ("matviewowner", N),
            ("tablespace", N),
            ("hasindexes", B),
            ("ispopulated", B),
            ("definition", T),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_user",
        oid: PG_USER_OID,
        columns: &[
            ("usename", N),
            ("usesysid", I8),
            ("usecreatedb", B),
            ("usesuper", B),
            ("userepl", B),
            ("usebypassrls", B),
            ("passwd", T),
            ("valuntil", TZ),
            ("useconfig", TA),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_authid",
        oid: PG_AUTHID_OID,
        columns: &[
            ("oid", I8),
            ("rolname", N),
            ("rolsuper", B),
            ("rolinherit", B),
            ("rolcreaterole", B),
            ("rolcreatedb", B),
            ("rolcanlogin", B),
            ("rolreplication", B),
            ("rolbypassrls", B),
            ("rolconnlimit", I4),
            ("rolpassword", T),
            ("rolvaliduntil", TZ),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_auth_members",
        oid: PG_AUTH_MEMBERS_OID,
        columns: &[("roleid", I8), ("member", I8), ("grantor", I8), ("admin_option", B)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_shdescription",
        oid: PG_SHDESCRIPTION_OID,
        columns: &[("objoid", I8), ("classoid", I8), ("description", T)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_stat_user_tables",
        oid: PG_STAT_USER_TABLES_OID,
        columns: &[
            ("relid", I8),
            ("schemaname", N),
            ("relname", N),
            ("seq_scan", I8),
            ("seq_tup_read", I8),
            ("idx_scan", I8),
            ("idx_tup_fetch", I8),
            ("n_tup_ins", I8),
            ("n_tup_upd", I8),
            ("n_tup_del", I8),
            ("n_tup_hot_upd", I8),
            ("n_live_tup", I8),
            ("n_dead_tup", I8),
            ("n_mod_since_analyze", I8),
            ("n_ins_since_vacuum", I8),
            ("last_vacuum", TZ),
            ("last_autovacuum", TZ),
            ("last_analyze", TZ),
            ("last_autoanalyze", TZ),
            ("vacuum_count", I8),
            ("autovacuum_count", I8),
            ("analyze_count", I8),
            ("autoanalyze_count", I8),
        ],
    },
    View {
        schema: "information_schema",
        name: "views",
        oid: VIEWS_OID,
        columns: &[
            ("table_catalog", N),
            ("table_schema", N),
            ("table_name", N),
            ("view_definition", T),
            ("check_option", T),
            ("is_updatable", T),
            ("is_insertable_into", T),
            ("is_trigger_updatable", T),
            ("is_trigger_deletable", T),
            ("is_trigger_insertable_into", T),
        ],
    },
    View {
        schema: "information_schema",
        name: "sequences",
        oid: SEQUENCES_OID,
        columns: &[
            ("sequence_catalog", N),
            ("sequence_schema", N),
            ("sequence_name", N),
            ("data_type", T),
            ("numeric_precision", I4),
            ("numeric_precision_radix", I4),
            ("numeric_scale", I4),
            ("start_value", T),
            ("minimum_value", T),
            ("maximum_value", T),
            ("increment", T),
            ("cycle_option", T),
        ],
    },
    // The triggers (`crate::triggers`), one row per event.
    View {
        schema: "information_schema",
        name: "triggers",
        oid: TRIGGERS_OID,
        columns: &[
            ("trigger_catalog", N),
            ("trigger_schema", N),
            ("trigger_name", N),
            ("event_manipulation", T),
            ("event_object_catalog", N),
            ("event_object_schema", N),
            ("event_object_table", N),
            ("action_order", I4),
            ("action_condition", T),
            ("action_statement", T),
            ("action_orientation", T),
            ("action_timing", T),
            ("action_reference_old_table", N),
            ("action_reference_new_table", N),
            ("action_reference_old_row", N),
            ("action_reference_new_row", N),
            ("created", TZ),
        ],
    },
    // The domains (`crate::domains`).
    View {
        schema: "information_schema",
        name: "domains",
        oid: DOMAINS_OID,
        columns: &[
            ("domain_catalog", N),
            ("domain_schema", N),
            ("domain_name", N),
            ("data_type", T),
            ("character_maximum_length", I4),
            ("character_octet_length", I4),
            ("character_set_catalog", N),
            ("character_set_schema", N),
            ("character_set_name", N),
            ("collation_catalog", N),
            ("collation_schema", N),
            ("collation_name", N),
            ("numeric_precision", I4),
            ("numeric_precision_radix", I4),
            ("numeric_scale", I4),
            ("datetime_precision", I4),
            ("interval_type", T),
            ("interval_precision", I4),
            ("domain_default", T),
            ("udt_catalog", N),
            ("udt_schema", N),
            ("udt_name", N),
            ("scope_catalog", N),
            ("scope_schema", N),
            ("scope_name", N),
            ("maximum_cardinality", I4),
            ("dtd_identifier", N),
        ],
    },
    View {
        schema: "information_schema",
        name: "domain_constraints",
        oid: DOMAIN_CONSTRAINTS_OID,
        columns: &[
            ("constraint_catalog", N),
            ("constraint_schema", N),
            ("constraint_name", N),
            ("domain_catalog", N),
            ("domain_schema", N),
            ("domain_name", N),
            ("is_deferrable", T),
            ("initially_deferred", T),
        ],
    },
];

fn text(s: &str) -> Datum {
    Datum::Text(s.to_string())
}

/// The rows of one of [`VIEWS`] as they are now (None: not one of them).
pub(crate) async fn rows(oid: u32, txn: &Txn) -> Result<Option<Vec<Row>>> {
    Ok(Some(match oid {
        PG_VIEWS_OID | VIEWS_OID => user_views(oid, txn),
        // The one login role: the bootstrap superuser (pg_user lists login roles only).
        PG_USER_OID => vec![vec![
            text("postgres"),
            Datum::Int8(10),
            Datum::Bool(true),
            Datum::Bool(true),
            Datum::Bool(true),
            Datum::Bool(true),
            text("********"),
            Datum::Null,
            Datum::Null,
        ]],
        // pg_roles' two roles; no passwords (trust authentication).
        PG_AUTHID_OID => [(10, "postgres", true), (6171, "pg_database_owner", false)]
            .into_iter()
            .map(|(oid, name, superuser)| {
                let mut row = vec![Datum::Int8(oid), text(name), Datum::Bool(superuser), Datum::Bool(true)];
                row.extend((0..5).map(|_| Datum::Bool(superuser)));
                row.extend([Datum::Int4(-1), Datum::Null, Datum::Null]);
                row
            })
            .collect(),
        PG_AUTH_MEMBERS_OID => vec![],
        // The one database's comment (initdb's unless COMMENT ON DATABASE changed it;
        // shobj_description reads it too); Orbit has no template databases.
        PG_SHDESCRIPTION_OID => crate::comment::shdescription_rows(),
        PG_STAT_USER_TABLES_OID => stat_user_tables(txn).await?,
        PG_MATVIEWS_OID => matviews(txn),
        SEQUENCES_OID => sequences(txn).await?,
        TRIGGERS_OID => crate::triggers::information_schema_rows(),
        DOMAINS_OID => crate::domains::information_schema_rows(txn.id, false),
        DOMAIN_CONSTRAINTS_OID => crate::domains::information_schema_rows(txn.id, true),
        _ => return Ok(None),
    }))
}

/// The user relations `keep` selects (views, materialized views), by name, each with its
/// query as pg_get_viewdef(oid) prints it.
fn with_definitions(txn: &Txn, keep: impl Fn(&TableDef) -> bool) -> Vec<(std::sync::Arc<TableDef>, Datum)> {
    let mut views: Vec<_> = crate::catalog::user_tables_seen_by(txn.id).into_iter().filter(|t| keep(t)).collect();
    views.sort_by(|a, b| a.name.cmp(&b.name));
    views
        .into_iter()
        .map(|t| {
            let args = vec![Datum::Int8(t.oid as i64), Datum::Bool(false)];
            let definition =
                crate::catalog_fns::call(crate::catalog_fns::CatalogFn::ViewDef, args).unwrap_or(Datum::Null);
            (t, definition)
        })
        .collect()
}

/// pg_views or information_schema.views: every user view with its query as
/// pg_get_viewdef(oid) prints it, its check option, and whether it is automatically updatable
/// (Orbit has no INSTEAD OF triggers).
fn user_views(oid: u32, txn: &Txn) -> Vec<Row> {
    with_definitions(txn, |t| t.view.is_some())
        .into_iter()
        .map(|(t, definition)| {
            let (schema, name) = crate::schema::split(&t.name);
            if oid == PG_VIEWS_OID {
                vec![text(schema), text(name), text("postgres"), definition]
            } else {
                let check = t.view_check.map_or("NONE", |c| if c == ViewCheck::Local { "LOCAL" } else { "CASCADED" });
                let mut row = vec![text("postgres"), text(schema), text(name), definition, text(check)];
                // An automatically updatable view with an updatable column takes UPDATE,
                // DELETE and INSERT (bind/updatable_views.rs); the is_trigger_ columns say
                // whether an INSTEAD OF trigger takes UPDATE, DELETE, INSERT.
                let writable = crate::bind::view_updatable_columns(&t).is_some_and(|c| c.contains(&true));
                let yes_no = |b: bool| text(if b { "YES" } else { "NO" });
                row.extend([yes_no(writable), yes_no(writable)]);
                use crate::triggers::{has_instead, Op};
                row.extend([Op::Update, Op::Delete, Op::Insert].map(|op| yes_no(has_instead(&t, op))));
                row
            }
        })
        .collect()
}

/// pg_matviews: every materialized view with its query as pg_get_viewdef(oid) prints it.
fn matviews(txn: &Txn) -> Vec<Row> {
    with_definitions(txn, |t| t.matview.is_some())
        .into_iter()
        .map(|(t, definition)| {
            let (schema, name) = crate::schema::split(&t.name);
            let populated = t.matview.as_ref().is_some_and(|m| m.populated);
            vec![
                text(schema),
                text(name),
                text("postgres"),
                Datum::Null,
                Datum::Bool(!t.indexes.is_empty()),
                Datum::Bool(populated),
                definition,
            ]
        })
        .collect()
}

/// pg_stat_user_tables: every user table with its live rows counted on every shard now
/// (PostgreSQL's n_live_tup is its statistics collector's running count). Orbit counts no
/// scans, row changes, dead rows or vacuums: those are 0, and the times NULL, as in a fresh
/// PostgreSQL cluster; idx_scan and idx_tup_fetch are NULL for a table without indexes.
async fn stat_user_tables(txn: &Txn) -> Result<Vec<Row>> {
    let tables: Vec<_> = crate::catalog::user_tables_seen_by(txn.id).into_iter().filter(|t| t.view.is_none()).collect();
    let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    let counts =
        mesh::run_on_all(move |s| names.iter().map(|n| s.tables.get(n).map_or(0, |t| t.len())).collect::<Vec<_>>())
            .await
            .map_err(|e| SqlError::new(code::CONNECTION_EXCEPTION, format!("shard unavailable: {e}")))?;
    Ok(tables
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let live: usize = counts.iter().map(|c| c.get(k).copied().unwrap_or(0)).sum();
            let indexed = !t.has_row_id() || !t.indexes.is_empty();
            let index_count = |_| if indexed { Datum::Int8(0) } else { Datum::Null };
            let (schema, name) = crate::schema::split(&t.name);
            let mut row = vec![Datum::Int8(t.oid as i64), text(schema), text(name), Datum::Int8(0), Datum::Int8(0)];
            row.extend((0..2).map(index_count));
            row.extend((0..4).map(|_| Datum::Int8(0)));
            row.push(Datum::Int8(live as i64));
            row.extend((0..3).map(|_| Datum::Int8(0)));
            row.extend((0..4).map(|_| Datum::Null));
            row.extend((0..4).map(|_| Datum::Int8(0)));
            row
        })
        .collect())
}

/// information_schema.sequences: every sequence but identity columns' (as PostgreSQL's), its
/// type as [`crate::catalog_objects`] reads it and its parameters as text.
async fn sequences(txn: &Txn) -> Result<Vec<Row>> {
    let tables = crate::catalog::user_tables();
    let mut rows = crate::catalog::sequence_rows_seen_by(Some(txn.id)).await?;
    rows.retain(|r| !crate::catalog_objects::is_identity_sequence(r, &tables));
    Ok(rows
        .iter()
        .map(|r| {
            let name = match &r[0] {
                Datum::Text(n) => n.clone(),
                _ => String::new(),
            };
            let (schema, name) = crate::schema::split(&name);
            let ty = crate::catalog_objects::sequence_type_of(r, &tables);
            let bits = match ty {
                SqlType::Int2 => 16,
                SqlType::Int4 => 32,
                _ => 64,
            };
            let param = |k: usize| crate::types::to_text(&r[k]).map_or(Datum::Null, Datum::Text);
            vec![
                text("postgres"),
                text(schema),
                text(name),
                text(&ty.name()),
                Datum::Int4(bits),
                Datum::Int4(2),
                Datum::Int4(0),
                param(4),
                param(2),
                param(3),
                param(1),
                text(if r[5] == Datum::Bool(true) { "YES" } else { "NO" }),
            ]
        })
        .collect())
}
