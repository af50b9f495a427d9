//! System views: `pg_catalog` relations (pg_class, pg_namespace, pg_attribute, pg_type,
//! pg_database, pg_tables, pg_sequences), `information_schema.tables` and `.columns`, and the
//! statistics views `pg_stat_activity` (every session on every shard and what it runs) and
//! `pg_stat_statements` (calls and times per normalized statement, summed over the shards).
//! The rows of pg_sequence, pg_opclass, pg_depend, pg_tablespace and pg_index's per-column
//! arrays are built in [`crate::catalog_objects`].
//!
//! A view is a [`TableDef`] with a PostgreSQL system OID (below 16384, where user tables never
//! are); reading it builds its rows at that moment from each shard's catalog copy or registry
//! ([`rows`]), and the statement's WHERE, ORDER BY, GROUP BY ... apply to them as to any table.
//! Writing to one is refused (42501). Only the columns listed here exist: a column PostgreSQL has
//! and Orbit does not is 42703 (`oid` columns have the type int8 here, except those drivers read
//! as `oid`; `name` columns are `name`, type 19, and `"char"` columns `"char"`, type 18).

use crate::error::{code, Result, SqlError};
use crate::txn::Txn;
use orbit_engine::table::{ArrayType, ColumnDef, Datum, OidKind, Row, SqlType, TableDef};
use orbit_shards::mesh;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

const PG_CATALOG_NS: i64 = 11;
/// The OID Orbit gives information_schema's namespace (PostgreSQL's varies by installation).
const INFORMATION_SCHEMA_NS: i64 = 13000;

pub(crate) struct View {
    pub(crate) schema: &'static str,
    pub(crate) name: &'static str,
    pub(crate) oid: u32,
    pub(crate) columns: &'static [(&'static str, SqlType)],
}

/// Every system view: this module's, pg_dump's ([`crate::catalog_dump`]) and the listings of
/// [`crate::catalog_listings`].
pub(crate) fn all_views() -> impl Iterator<Item = &'static View> {
    VIEWS.iter().chain(crate::catalog_dump::VIEWS).chain(crate::catalog_listings::VIEWS)
}

/// `oid[]`, `text[]` and `int2[]` columns (oid arrays are int8 arrays here, as oid columns are int8).
const I8A: SqlType = SqlType::Array(ArrayType::of_oid(20));
const TA: SqlType = SqlType::Array(ArrayType::of_oid(25));
/// `"char"` and `"char"[]` columns.
const C: SqlType = SqlType::Char;
const CA: SqlType = SqlType::Array(ArrayType::of_oid(18));
const I2A: SqlType = SqlType::Array(ArrayType::of_oid(21));
/// pg_index's int2vector columns (clients see type 22 and read its text, `1 2`).
const INT2VECTOR: SqlType = SqlType::Array(ArrayType::int2vector());
/// `regproc` columns (pg_type's functions: [`crate::catalog_builtin::proc_name`] names them).
const RP: SqlType = SqlType::Oid(OidKind::RegProc);
/// The `oid` columns drivers read as oid (tokio-postgres's type lookup takes typelem,
/// typbasetype, typrelid and pg_range.rngsubtype as u32): real `oid`, not int8.
pub(crate) const O: SqlType = SqlType::Oid(OidKind::Oid);

use SqlType::{Bool as B, Float4 as F4, Float8 as F8, Int2 as I2, Int4 as I4, Int8 as I8, Text as T};

/// `name` (the catalogs' identifiers: relname, attname, typname, ...).
const N: SqlType = SqlType::Name;

/// `timestamptz` (the catalogs' times).
const TZ: SqlType = SqlType::TIMESTAMPTZ;

/// `real[]` (pg_stats' frequencies).
const F4A: SqlType = SqlType::Array(ArrayType::of_oid(700));
/// pg_stats' OID in PostgreSQL 15.
const PG_STATS_OID: u32 = 12053;
/// information_schema.schemata.
const SCHEMATA_OID: u32 = 12006;

const VIEWS: &[View] = &[
    View {
        schema: "pg_catalog",
        name: "pg_class",
        oid: 1259,
        columns: &[
            ("oid", I8),
            ("relname", N),
            ("relnamespace", I8),
            ("relkind", C),
            ("reltuples", F4),
            ("relnatts", I2),
            ("relhasindex", B),
            ("relpersistence", C),
            ("relowner", I8),
            ("relam", I8),
            ("relchecks", I2),
            ("relhasrules", B),
            ("relhastriggers", B),
            ("relrowsecurity", B),
            ("relforcerowsecurity", B),
            ("relispartition", B),
            ("reltablespace", I8),
            ("reloftype", I8),
            ("relreplident", C),
            ("reltoastrelid", I8),
            ("reloptions", TA),
            ("relpartbound", T),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_index",
        oid: 2610,
        columns: &[
            ("indexrelid", I8),
            ("indrelid", I8),
            ("indnatts", I2),
            ("indisunique", B),
            ("indisprimary", B),
            ("indisclustered", B),
            ("indisvalid", B),
            ("indisreplident", B),
            ("indnkeyatts", I2),
            ("indimmediate", B),
            ("indnullsnotdistinct", B),
            ("indpred", T),
            ("indkey", INT2VECTOR),
            ("indisexclusion", B),
            ("indcheckxmin", B),
            ("indisready", B),
            ("indislive", B),
            ("indcollation", I8A),
            ("indclass", I8A),
            // int2vector in PostgreSQL: an int2 array subscripted from 0, printed "3 0" (pgjdbc's
            // getIndexInfo reads `indoption[ordinal - 1] & 1`; SQLAlchemy splits the text).
            ("indoption", INT2VECTOR),
            ("indexprs", T),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_sequence",
        oid: 2224,
        columns: &[
            ("seqrelid", I8),
            ("seqtypid", I8),
            ("seqstart", I8),
            ("seqincrement", I8),
            ("seqmax", I8),
            ("seqmin", I8),
            ("seqcache", I8),
            ("seqcycle", B),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_opclass",
        oid: 2616,
        columns: &[
            ("oid", I8),
            ("opcmethod", I8),
            ("opcname", N),
            ("opcnamespace", I8),
            ("opcowner", I8),
            ("opcfamily", I8),
            ("opcintype", I8),
            ("opcdefault", B),
            ("opckeytype", I8),
        ],
    },
    // The labels of the enum types (`crate::enums`).
    View {
        schema: "pg_catalog",
        name: "pg_enum",
        oid: 3501,
        columns: &[("oid", I8), ("enumtypid", I8), ("enumsortorder", F4), ("enumlabel", N)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_tablespace",
        oid: 1213,
        columns: &[("oid", I8), ("spcname", N), ("spcowner", I8), ("spcacl", TA), ("spcoptions", TA)],
    },
    // Only the dependencies Orbit records: sequences owned by a table's column.
    View {
        schema: "pg_catalog",
        name: "pg_depend",
        oid: 2608,
        columns: &[
            ("classid", I8),
            ("objid", I8),
            ("objsubid", I4),
            ("refclassid", I8),
            ("refobjid", I8),
            ("refobjsubid", I4),
            ("deptype", C),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_constraint",
        oid: 2606,
        columns: &[
            ("oid", I8),
            ("conname", N),
            ("connamespace", I8),
            ("contype", C),
            ("condeferrable", B),
            ("condeferred", B),
            ("convalidated", B),
            ("conrelid", I8),
            ("conindid", I8),
            ("confrelid", I8),
            ("confupdtype", C),
            ("confdeltype", C),
            ("confmatchtype", C),
            ("conkey", I2A),
            ("confkey", I2A),
            ("conparentid", I8),
            ("contypid", I8),
            ("coninhcount", I4),
            ("connoinherit", B),
            ("conpfeqop", I8A),
            ("conppeqop", I8A),
            ("conffeqop", I8A),
            ("confdelsetcols", I2A),
            ("conexclop", I8A),
            // A CHECK's expression as the SQL text Orbit keeps, in the parentheses
            // pg_get_constraintdef prints (pg_node_tree in PostgreSQL; pg_get_expr prints it,
            // as adbin).
            ("conbin", T),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_attrdef",
        oid: 2604,
        columns: &[("oid", I8), ("adrelid", I8), ("adnum", I2), ("adbin", T)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_collation",
        oid: 3456,
        columns: &[
            ("oid", I8),
            ("collname", N),
            ("collnamespace", I8),
            ("collprovider", C),
            ("collisdeterministic", B),
            ("collcollate", T),
            ("collctype", T),
            ("colliculocale", T),
            ("collversion", T),
        ],
    },
    // Objects Orbit has none of: these read as empty.
    View {
        schema: "pg_catalog",
        name: "pg_inherits",
        oid: 2611,
        columns: &[("inhrelid", I8), ("inhparent", I8), ("inhseqno", I4), ("inhdetachpending", B)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_partitioned_table",
        oid: 3350,
        columns: &[
            ("partrelid", I8),
            ("partstrat", C),
            ("partnatts", I2),
            ("partdefid", I8),
            ("partattrs", I2A),
            ("partclass", I8A),
            ("partcollation", I8A),
            ("partexprs", T),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_policy",
        oid: 3256,
        columns: &[
            ("oid", I8),
            ("polname", N),
            ("polrelid", I8),
            ("polcmd", C),
            ("polpermissive", B),
            ("polqual", T),
            ("polwithcheck", T),
            ("polroles", I8A),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_trigger",
        oid: 2620,
        columns: &[
            ("oid", I8),
            ("tgrelid", I8),
            ("tgparentid", I8),
            ("tgname", N),
            ("tgenabled", C),
            ("tgisinternal", B),
            ("tgtype", I2),
            ("tgconstrrelid", I8),
            ("tgconstrindid", I8),
            ("tgconstraint", I8),
            ("tgdeferrable", B),
            ("tginitdeferred", B),
            ("tgnargs", I2),
            // int2vector, bytea and pg_node_tree in PostgreSQL.
            ("tgattr", I2A),
            ("tgargs", SqlType::Bytea),
            ("tgqual", T),
            ("tgoldtable", N),
            ("tgnewtable", N),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_description",
        oid: 2609,
        columns: &[("objoid", I8), ("classoid", I8), ("objsubid", I4), ("description", T)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_rewrite",
        oid: 2618,
        columns: &[("oid", I8), ("rulename", N), ("ev_class", I8), ("ev_type", C)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_statistic_ext",
        oid: 3381,
        columns: &[
            ("oid", I8),
            ("stxrelid", I8),
            ("stxname", N),
            ("stxnamespace", I8),
            ("stxstattarget", I4),
            ("stxkind", CA),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_publication",
        oid: 6104,
        columns: &[("oid", I8), ("pubname", N), ("puballtables", B)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_publication_namespace",
        oid: 6237,
        columns: &[("oid", I8), ("pnpubid", I8), ("pnnspid", I8)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_publication_rel",
        oid: 6106,
        columns: &[("oid", I8), ("prpubid", I8), ("prrelid", I8), ("prqual", T), ("prattrs", I2A)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_roles",
        oid: 12010,
        columns: &[
            ("rolname", N),
            ("rolsuper", B),
            ("rolinherit", B),
            ("rolcreaterole", B),
            ("rolcreatedb", B),
            ("rolcanlogin", B),
            ("rolreplication", B),
            ("rolconnlimit", I4),
            ("rolbypassrls", B),
            ("oid", I8),
            ("rolpassword", T),
            ("rolvaliduntil", TZ),
            ("rolconfig", TA),
        ],
    },
    View { schema: "pg_catalog", name: "pg_am", oid: 2601, columns: &[("oid", I8), ("amname", T), ("amtype", C)] },
    View {
        schema: "pg_catalog",
        name: "pg_namespace",
        oid: 2615,
        columns: &[("oid", I8), ("nspname", N), ("nspowner", I8), ("nspacl", TA)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_attribute",
        oid: 1249,
        columns: &[
            ("attrelid", I8),
            ("attname", N),
            ("atttypid", I8),
            ("attlen", I2),
            ("attnum", I2),
            ("atttypmod", I4),
            ("attnotnull", B),
            ("atthasdef", B),
            ("attidentity", C),
            ("attisdropped", B),
            ("attcollation", I8),
            ("attgenerated", C),
            ("attstorage", C),
            ("attcompression", C),
            ("attstattarget", I4),
            ("attndims", I4),
            ("attcacheoff", I4),
            ("attbyval", B),
            ("attinhcount", I4),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_type",
        oid: 1247,
        columns: &[
            ("oid", I8),
            ("typname", N),
            ("typnamespace", I8),
            ("typlen", I2),
            ("typtype", C),
            ("typcategory", C),
            ("typelem", O),
            ("typarray", I8),
            ("typbasetype", O),
            ("typrelid", O),
            ("typcollation", I8),
            ("typstorage", C),
            ("typdelim", C),
            ("typbyval", B),
            ("typnotnull", B),
            ("typtypmod", I4),
            ("typndims", I4),
            ("typdefault", T),
            ("typispreferred", B),
            ("typsubscript", RP),
            ("typinput", RP),
            ("typoutput", RP),
            ("typreceive", RP),
            ("typsend", RP),
            ("typmodin", RP),
            ("typmodout", RP),
            ("typanalyze", RP),
            ("typalign", C),
            // pg_node_tree in PostgreSQL; NULL as for every type without a default.
            ("typdefaultbin", T),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_database",
        oid: 1262,
        columns: &[
            ("oid", I8),
            ("datname", N),
            ("encoding", I4),
            ("datcollate", T),
            ("datctype", T),
            ("datallowconn", B),
            // psql's \l: the owner, locale provider (libc), no ICU locale, default
            // privileges (NULL) and the default tablespace.
            ("datdba", I8),
            ("datlocprovider", C),
            ("daticulocale", T),
            ("datacl", TA),
            ("dattablespace", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_tables",
        oid: 12000,
        columns: &[
            ("schemaname", N),
            ("tablename", N),
            ("tableowner", N),
            ("tablespace", N),
            ("hasindexes", B),
            ("hasrules", B),
            ("hastriggers", B),
            ("rowsecurity", B),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_indexes",
        oid: 12051,
        columns: &[("schemaname", N), ("tablename", N), ("indexname", N), ("tablespace", N), ("indexdef", T)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_sequences",
        oid: 12001,
        columns: &[
            ("schemaname", N),
            ("sequencename", N),
            ("start_value", I8),
            ("min_value", I8),
            ("max_value", I8),
            ("increment_by", I8),
            ("cycle", B),
            ("last_value", I8),
            ("sequenceowner", N),
            ("data_type", SqlType::Oid(OidKind::RegType)),
            ("cache_size", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_stat_activity",
        oid: 12002,
        columns: &[
            ("datname", N),
            ("pid", I4),
            ("usename", N),
            ("application_name", T),
            ("client_addr", T),
            ("client_port", I4),
            ("backend_start", TZ),
            ("xact_start", TZ),
            ("query_start", TZ),
            ("state_change", TZ),
            ("wait_event_type", T),
            ("wait_event", T),
            ("state", T),
            ("query", T),
            ("backend_type", T),
            ("datid", I8),
            ("leader_pid", I4),
            ("usesysid", I8),
            ("client_hostname", T),
            // xid in PostgreSQL.
            ("backend_xid", I8),
            ("backend_xmin", I8),
            ("query_id", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_stat_statements",
        oid: 12003,
        columns: &[
            ("queryid", I8),
            ("query", T),
            ("calls", I8),
            ("total_exec_time", F8),
            ("min_exec_time", F8),
            ("max_exec_time", F8),
            ("mean_exec_time", F8),
            ("rows", I8),
        ],
    },
    // Planner statistics from ANALYZE (query/src/stats.rs). `most_common_vals` and
    // `histogram_bounds` are `anyarray` in PostgreSQL; here `text[]` of the values' texts, which
    // prints the same. `correlation` and the element statistics are NULL (not collected).
    View {
        schema: "pg_catalog",
        name: "pg_stats",
        oid: PG_STATS_OID,
        columns: &[
            ("schemaname", N),
            ("tablename", N),
            ("attname", N),
            ("inherited", B),
            ("null_frac", F4),
            ("avg_width", I4),
            ("n_distinct", F4),
            ("most_common_vals", TA),
            ("most_common_freqs", F4A),
            ("histogram_bounds", TA),
            ("correlation", F4),
            ("most_common_elems", TA),
            ("most_common_elem_freqs", F4A),
            ("elem_count_histogram", F4A),
        ],
    },
    View {
        schema: "information_schema",
        name: "schemata",
        oid: SCHEMATA_OID,
        columns: &[
            ("catalog_name", N),
            ("schema_name", N),
            ("schema_owner", N),
            ("default_character_set_catalog", N),
            ("default_character_set_schema", N),
            ("default_character_set_name", N),
            ("sql_path", T),
        ],
    },
    View {
        schema: "information_schema",
        name: "tables",
        oid: 12004,
        columns: &[
            ("table_catalog", N),
            ("table_schema", N),
            ("table_name", N),
            ("table_type", T),
            ("self_referencing_column_name", N),
            ("reference_generation", T),
            ("user_defined_type_catalog", N),
            ("user_defined_type_schema", N),
            ("user_defined_type_name", N),
            ("is_insertable_into", T),
            ("is_typed", T),
            ("commit_action", T),
        ],
    },
    View {
        schema: "information_schema",
        name: "columns",
        oid: 12005,
        columns: &[
            ("table_catalog", N),
            ("table_schema", N),
            ("table_name", N),
            ("column_name", N),
            ("ordinal_position", I4),
            ("column_default", T),
            ("is_nullable", T),
            ("data_type", T),
            ("character_maximum_length", I4),
            ("is_identity", T),
            ("character_octet_length", I4),
            ("numeric_precision", I4),
            ("numeric_precision_radix", I4),
            ("numeric_scale", I4),
            ("datetime_precision", I4),
            ("interval_type", T),
            ("interval_precision", I4),
            ("character_set_catalog", N),
            ("character_set_schema", N),
            ("character_set_name", N),
            ("collation_catalog", N),
            ("collation_schema", N),
            ("collation_name", N),
            ("domain_catalog", N),
            ("domain_schema", N),
            ("domain_name", N),
            ("udt_catalog", N),
            ("udt_schema", N),
            ("udt_name", N),
            ("scope_catalog", N),
            ("scope_schema", N),
            ("scope_name", N),
            ("maximum_cardinality", I4),
            ("dtd_identifier", N),
            ("is_self_referencing", T),
            ("identity_generation", T),
            ("identity_start", T),
            ("identity_increment", T),
            ("identity_maximum", T),
            ("identity_minimum", T),
            ("identity_cycle", T),
            ("is_generated", T),
            ("generation_expression", T),
            ("is_updatable", T),
        ],
    },
    // The constraint views: rows from crate::info_schema.
    View {
        schema: "information_schema",
        name: "table_constraints",
        oid: crate::info_schema::TABLE_CONSTRAINTS_OID,
        columns: &[
            ("constraint_catalog", N),
            ("constraint_schema", N),
            ("constraint_name", N),
            ("table_catalog", N),
            ("table_schema", N),
            ("table_name", N),
            ("constraint_type", T),
            ("is_deferrable", T),
            ("initially_deferred", T),
            ("enforced", T),
            ("nulls_distinct", T),
        ],
    },
    View {
        schema: "information_schema",
        name: "key_column_usage",
        oid: crate::info_schema::KEY_COLUMN_USAGE_OID,
        columns: &[
            ("constraint_catalog", N),
            ("constraint_schema", N),
            ("constraint_name", N),
            ("table_catalog", N),
            ("table_schema", N),
            ("table_name", N),
            ("column_name", N),
            ("ordinal_position", I4),
            ("position_in_unique_constraint", I4),
        ],
    },
    View {
        schema: "information_schema",
        name: "referential_constraints",
        oid: crate::info_schema::REFERENTIAL_CONSTRAINTS_OID,
        columns: &[
            ("constraint_catalog", N),
            ("constraint_schema", N),
            ("constraint_name", N),
            ("unique_constraint_catalog", N),
            ("unique_constraint_schema", N),
            ("unique_constraint_name", N),
            ("match_option", T),
            ("update_rule", T),
            ("delete_rule", T),
        ],
    },
    View {
        schema: "information_schema",
        name: "constraint_column_usage",
        oid: crate::info_schema::CONSTRAINT_COLUMN_USAGE_OID,
        columns: &[
            ("table_catalog", N),
            ("table_schema", N),
            ("table_name", N),
            ("column_name", N),
            ("constraint_catalog", N),
            ("constraint_schema", N),
            ("constraint_name", N),
        ],
    },
    View {
        schema: "information_schema",
        name: "check_constraints",
        oid: crate::info_schema::CHECK_CONSTRAINTS_OID,
        columns: &[("constraint_catalog", N), ("constraint_schema", N), ("constraint_name", N), ("check_clause", T)],
    },
];

fn def_of(v: &View) -> Arc<TableDef> {
    Arc::new(TableDef {
        name: v.name.to_string(),
        columns: v
            .columns
            .iter()
            .chain(crate::catalog_dump::extra_columns(v.oid))
            .map(|(n, t)| ColumnDef::new(*n, *t))
            .collect(),
        pk: vec![0],
        pk_name: String::new(),
        oid: v.oid,
        ..TableDef::default_empty()
    })
}

/// The system view a (folded) relation name denotes: `pg_catalog` views are found unqualified
/// too (pg_catalog is searched first, as in PostgreSQL); information_schema's need the schema.
pub fn resolve(parts: &[String]) -> Option<Arc<TableDef>> {
    let (schema, name) = match parts {
        [n] => ("pg_catalog", n.as_str()),
        [s, n] => (s.as_str(), n.as_str()),
        _ => return None,
    };
    if let Some(v) = crate::prepared::resolve(schema, name).or_else(|| crate::cursors::resolve(schema, name)) {
        return Some(v);
    }
    all_views().find(|v| v.schema == schema && v.name == name).map(def_of)
}

/// Whether a table definition is a system view.
/// Whether `oid` is one of the system views' (pg_relation_size and the other size functions
/// answer 0 for them: their rows are built when read).
pub(crate) fn is_system_view_oid(oid: i64) -> bool {
    oid == crate::prepared::VIEW_OID as i64
        || oid == crate::cursors::VIEW_OID as i64
        || VIEWS.iter().any(|v| v.oid as i64 == oid)
}

pub fn is_view(def: &TableDef) -> bool {
    if def.oid == crate::prepared::VIEW_OID
        || def.oid == crate::cursors::VIEW_OID
        || def.oid == crate::catalog_dump::SEQUENCE_RELATION_OID
    {
        return true;
    }
    def.oid != 0 && def.oid < 16384 && all_views().any(|v| v.oid == def.oid)
}

/// Writing to a system view: PostgreSQL's answer to a role that may not.
pub fn read_only(def: &TableDef) -> SqlError {
    SqlError::new("42501", format!("permission denied for table {}", def.name))
}

// --- sessions (pg_stat_activity)

/// What a session is doing, kept up to date by its connection.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub pid: i32,
    pub user: String,
    pub application_name: String,
    pub client_addr: String,
    pub client_port: i32,
    pub backend_start_us: i64,
    pub xact_start_us: Option<i64>,
    pub query_start_us: Option<i64>,
    pub state_change_us: i64,
    /// `active`, `idle`, `idle in transaction`, `idle in transaction (aborted)`.
    pub state: &'static str,
    pub query: String,
    /// The session's cancel switch, which also tells whether it waits for a row lock.
    pub signals: Option<Rc<crate::txn::Cancel>>,
}

thread_local! {
    /// The process ID of the session whose statement is being bound (pg_backend_pid()).
    static BINDING_PID: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
    static SESSIONS: RefCell<HashMap<i32, Rc<RefCell<Activity>>>> = RefCell::new(HashMap::new());
    static STATEMENTS: RefCell<HashMap<String, StatementStats>> = RefCell::new(HashMap::new());
}

/// The session `pid` binds the next statements on this thread (the connection says so before
/// each bind, as it hands over its search path): pg_backend_pid() is then that value. A
/// prepared statement belongs to one session, so the value bound stays right.
pub fn use_binding_pid(pid: i32) {
    BINDING_PID.with(|p| p.set(pid));
}

pub fn binding_pid() -> i32 {
    BINDING_PID.with(|p| p.get())
}

/// Registers a session of this shard; it is listed until [`unregister`].
pub fn register(a: Rc<RefCell<Activity>>) {
    let pid = a.borrow().pid;
    SESSIONS.with(|s| s.borrow_mut().insert(pid, a));
}

pub fn unregister(pid: i32) {
    SESSIONS.with(|s| s.borrow_mut().remove(&pid));
}

fn ts(us: Option<i64>) -> Datum {
    us.map_or(Datum::Null, Datum::TimestampTz)
}

fn text(s: &str) -> Datum {
    Datum::Text(s.to_string())
}

fn activity_rows_here() -> Vec<Row> {
    SESSIONS.with(|s| {
        s.borrow()
            .values()
            .map(|a| {
                let a = a.borrow();
                let waiting = a.signals.as_ref().is_some_and(|c| c.waiting());
                let (wt, we) = if waiting { (text("Lock"), text("tuple")) } else { (Datum::Null, Datum::Null) };
                vec![
                    text("postgres"),
                    Datum::Int4(a.pid),
                    text(&a.user),
                    text(&a.application_name),
                    text(&a.client_addr),
                    Datum::Int4(a.client_port),
                    Datum::TimestampTz(a.backend_start_us),
                    ts(a.xact_start_us),
                    ts(a.query_start_us),
                    Datum::TimestampTz(a.state_change_us),
                    wt,
                    we,
                    text(a.state),
                    text(&a.query),
                    text("client backend"),
                    // The one database, no parallel workers, the one role; no host name
                    // lookups (log_hostname off); Orbit's transactions have no xid, and
                    // compute_query_id is off, as PostgreSQL's default.
                    Datum::Int8(5),
                    Datum::Null,
                    Datum::Int8(10),
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                ]
            })
            .collect()
    })
}

// --- statements (pg_stat_statements)

/// At most this many distinct statements are tracked per shard (pg_stat_statements.max);
/// statements beyond it are not recorded until a reset.
pub const MAX_TRACKED_STATEMENTS: usize = 5000;

#[derive(Debug, Clone, Default)]
struct StatementStats {
    calls: u64,
    total_ms: f64,
    min_ms: f64,
    max_ms: f64,
    rows: u64,
}

/// A statement's text with its constants replaced by `$n`, as pg_stat_statements shows it:
/// string literals (with `''` escapes) and numbers not part of a name.
pub fn normalize(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let prev_word = i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'$');
        if c == b'\'' {
            let mut j = i + 1;
            while j < b.len() {
                if b[j] == b'\'' {
                    if j + 1 < b.len() && b[j + 1] == b'\'' {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            n += 1;
            out.push_str(&format!("${n}"));
            i = j + 1;
        } else if c.is_ascii_digit() && !prev_word {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.' || b[j] == b'e' || b[j] == b'E') {
                j += 1;
            }
            n += 1;
            out.push_str(&format!("${n}"));
            i = j;
        } else {
            // Copy one whole UTF-8 character.
            let len = match c {
                0x00..=0x7f => 1,
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            let end = (i + len).min(b.len());
            out.push_str(&String::from_utf8_lossy(&b[i..end]));
            i = end;
        }
    }
    out.trim().to_string()
}

/// Records one execution of a statement (already normalized) on this shard.
pub fn record_statement(query: &str, ms: f64, rows: u64) {
    STATEMENTS.with(|s| {
        let mut s = s.borrow_mut();
        if !s.contains_key(query) && s.len() >= MAX_TRACKED_STATEMENTS {
            return;
        }
        let e = s.entry(query.to_string()).or_insert(StatementStats { min_ms: f64::MAX, ..Default::default() });
        e.calls += 1;
        e.total_ms += ms;
        e.min_ms = e.min_ms.min(ms);
        e.max_ms = e.max_ms.max(ms);
        e.rows += rows;
    })
}

fn query_id(q: &str) -> i64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    q.hash(&mut h);
    h.finish() as i64
}

// --- rows

fn type_category(t: SqlType) -> &'static str {
    match t {
        SqlType::Bool => "B",
        t if t.is_numeric() => "N",
        t if t.is_string() => "S",
        SqlType::Timestamp(_) | SqlType::TimestampTz(_) | SqlType::Date | SqlType::Time(_) => "D",
        SqlType::Interval(_) => "T",
        SqlType::Unknown => "X",
        SqlType::Array(_) => "A",
        SqlType::Oid(_) => "N",
        SqlType::Char => "Z",
        _ => "U",
    }
}

/// `typcollation`: the default collation (100) for the string types and their arrays; C (950)
/// for `name` and its array, as PostgreSQL 12 and later.
pub(crate) fn collation_of(t: SqlType) -> i64 {
    if t == SqlType::Name || t.elem() == Some(SqlType::Name) {
        950
    } else if t.is_string() || t.elem().is_some_and(|e| e.is_string()) {
        100
    } else {
        0
    }
}

/// `typstorage`: plain for fixed-size types, main for numeric, extended for the rest.
fn storage_of(t: SqlType) -> &'static str {
    match t {
        SqlType::Numeric(_) => "m",
        SqlType::Unknown => "p",
        t if t.size() > 0 => "p",
        _ => "x",
    }
}

/// pg_attribute's attndims (1 for an array: Orbit keeps no declared dimensions, and `int[]`
/// declares one), attcacheoff (-1 on disk), attbyval (the type's typbyval) and attinhcount
/// (no inheritance).
fn attribute_tail(t: SqlType) -> [Datum; 4] {
    [Datum::Int4(matches!(t, SqlType::Array(_)) as i32), Datum::Int4(-1), Datum::Bool(by_value(t)), Datum::Int4(0)]
}

/// typbyval: the fixed-size types of at most 8 bytes.
fn by_value(t: SqlType) -> bool {
    matches!(t.size(), 1 | 2 | 4 | 8)
}

/// The SQL types Orbit has, as pg_type lists them.
const TYPES: &[SqlType] = &[
    SqlType::Bool,
    SqlType::Bytea,
    SqlType::Char,
    SqlType::Name,
    SqlType::Int8,
    SqlType::Int2,
    SqlType::Int4,
    SqlType::Text,
    SqlType::Json,
    SqlType::Float4,
    SqlType::Float8,
    SqlType::Unknown,
    SqlType::Bpchar(None),
    SqlType::Varchar(None),
    SqlType::Date,
    SqlType::TIME,
    SqlType::TIMETZ,
    SqlType::TIMESTAMP,
    SqlType::TIMESTAMPTZ,
    SqlType::INTERVAL,
    SqlType::Uuid,
    SqlType::Jsonb,
    SqlType::JsonPath,
    SqlType::NUMERIC,
    SqlType::Oid(OidKind::Oid),
    SqlType::Oid(OidKind::RegClass),
    SqlType::Oid(OidKind::RegType),
    SqlType::Oid(OidKind::RegNamespace),
    SqlType::Oid(OidKind::RegProc),
    SqlType::Oid(OidKind::RegProcedure),
];

/// `pg_type.typname`.
pub(crate) fn type_name(t: SqlType) -> String {
    let name = match t {
        SqlType::Bool => "bool",
        SqlType::Bytea => "bytea",
        SqlType::Char => "char",
        SqlType::Name => "name",
        SqlType::Int8 => "int8",
        SqlType::Int2 => "int2",
        SqlType::Int4 => "int4",
        SqlType::Text => "text",
        SqlType::Json => "json",
        SqlType::Float4 => "float4",
        SqlType::Float8 => "float8",
        SqlType::Unknown => "unknown",
        SqlType::Bpchar(_) => "bpchar",
        SqlType::Varchar(_) => "varchar",
        SqlType::Date => "date",
        SqlType::Time(_) => "time",
        SqlType::TimeTz(_) => "timetz",
        SqlType::Timestamp(_) => "timestamp",
        SqlType::TimestampTz(_) => "timestamptz",
        SqlType::Interval(_) => "interval",
        SqlType::Uuid => "uuid",
        SqlType::Jsonb => "jsonb",
        SqlType::JsonPath => "jsonpath",
        SqlType::Numeric(_) => "numeric",
        SqlType::Array(a) if a.is_int2vector() => "int2vector",
        // Array types are named for their element with a leading underscore (`_int4`).
        SqlType::Array(a) => return format!("_{}", type_name(a.elem())),
        SqlType::Oid(k) => k.name(),
        SqlType::Void => "void",
        SqlType::Enum(oid) => {
            return crate::enums::by_oid(oid).map_or_else(String::new, |e| crate::schema::relname(&e.name).to_string())
        }
        SqlType::Composite(oid) if crate::composites::is_anonymous(oid) => "record",
        SqlType::Composite(oid) => {
            return crate::composites::by_oid(oid)
                .map_or_else(String::new, |t| crate::schema::relname(&t.name).to_string())
        }
    };
    name.to_string()
}

/// information_schema's data_type: the type's SQL-standard name.
pub(crate) fn standard_type_name(t: SqlType) -> String {
    match t {
        SqlType::Bool => "boolean".into(),
        SqlType::Int2 => "smallint".into(),
        SqlType::Int4 => "integer".into(),
        SqlType::Int8 => "bigint".into(),
        SqlType::Float4 => "real".into(),
        SqlType::Float8 => "double precision".into(),
        SqlType::Varchar(_) => "character varying".into(),
        SqlType::Bpchar(_) => "character".into(),
        SqlType::Timestamp(_) => "timestamp without time zone".into(),
        SqlType::TimestampTz(_) => "timestamp with time zone".into(),
        SqlType::Time(_) => "time without time zone".into(),
        SqlType::TimeTz(_) => "time with time zone".into(),
        SqlType::Array(_) => "ARRAY".into(),
        SqlType::Char => "\"char\"".into(),
        SqlType::Enum(_) => "USER-DEFINED".into(),
        other => type_name(other),
    }
}

/// information_schema.columns past is_identity for column `i` of `t` (PostgreSQL's
/// `_pg_char_octet_length`, `_pg_numeric_precision`, `_pg_datetime_precision`, ...): no
/// domains, no collations but the default (NULL); an identity column's
/// sequence parameters from its row of the sequence table (`sequences`).
pub(crate) fn column_details(t: &TableDef, i: usize, sequences: &[Row]) -> Vec<Datum> {
    use orbit_engine::table::Identity;
    let c = &t.columns[i];
    let int = |v: i32| Datum::Int4(v);
    let octets = match c.ty {
        SqlType::Varchar(Some(n)) | SqlType::Bpchar(Some(n)) => int(n as i32 * 4),
        SqlType::Text | SqlType::Varchar(None) | SqlType::Bpchar(None) => int(1 << 30),
        _ => Datum::Null,
    };
    let (precision, radix, scale) = match c.ty {
        SqlType::Int2 => (int(16), int(2), int(0)),
        SqlType::Int4 => (int(32), int(2), int(0)),
        SqlType::Int8 => (int(64), int(2), int(0)),
        SqlType::Float4 => (int(24), int(2), Datum::Null),
        SqlType::Float8 => (int(53), int(2), Datum::Null),
        SqlType::Numeric(Some((p, s))) => (int(p as i32), int(10), int(s as i32)),
        SqlType::Numeric(None) => (Datum::Null, int(10), Datum::Null),
        _ => (Datum::Null, Datum::Null, Datum::Null),
    };
    // The fractional-second precision; 6 where the type gives none.
    let datetime = match c.ty {
        SqlType::Date => int(0),
        SqlType::Time(p) | SqlType::Timestamp(p) | SqlType::TimestampTz(p) | SqlType::Interval(p) => {
            int(p.map_or(6, i32::from))
        }
        _ => Datum::Null,
    };
    let seq = crate::catalog_fns::column_sequence(c)
        .filter(|_| c.identity != Identity::No)
        .and_then(|name| sequences.iter().find(|r| r.first() == Some(&Datum::Text(name.clone()))));
    let param = |k: usize| seq.and_then(|r| crate::types::to_text(&r[k])).map_or(Datum::Null, Datum::Text);
    let cycle = seq.is_some_and(|r| r[5] == Datum::Bool(true));
    let generation = match c.identity {
        Identity::No => Datum::Null,
        Identity::Always => text("ALWAYS"),
        Identity::ByDefault => text("BY DEFAULT"),
    };
    let mut out = vec![octets, precision, radix, scale, datetime, Datum::Null, Datum::Null];
    out.extend((0..6).map(|_| Datum::Null));
    // domain_catalog, domain_schema, domain_name.
    match crate::domains::by_oid(c.domain).filter(|_| c.domain != 0) {
        Some(d) => {
            let (schema, rel) = crate::schema::split(&d.name);
            out.extend([text("postgres"), text(schema), text(rel)]);
        }
        None => out.extend((0..3).map(|_| Datum::Null)),
    }
    // udt_catalog, udt_schema, udt_name: an enum's (or enum array's) own schema.
    let udt_schema = match c.ty.elem().unwrap_or(c.ty) {
        SqlType::Enum(o) => {
            crate::enums::by_oid(o).map_or("public".into(), |e| crate::schema::split(&e.name).0.to_string())
        }
        _ => "pg_catalog".to_string(),
    };
    out.extend([text("postgres"), text(&udt_schema), text(&type_name(c.ty))]);
    out.extend((0..4).map(|_| Datum::Null));
    out.extend([text(&(i + 1).to_string()), text("NO"), generation, param(4), param(1), param(3), param(2)]);
    // is_generated, generation_expression (pg_get_expr of its pg_attrdef row).
    let (generated, expression) = match &c.generated {
        Some(g) => (text("ALWAYS"), Datum::Text(crate::bind::pg_text(t, g, false))),
        None => (text("NEVER"), Datum::Null),
    };
    out.extend([text(if cycle { "YES" } else { "NO" }), generated, expression]);
    // A view's column is updatable when it is a column of the view's base relation and the
    // view is automatically updatable (bind/updatable_views.rs).
    let updatable = t.view.is_none() || crate::bind::view_updatable_columns(t).is_some_and(|c| c.get(i) == Some(&true));
    out.push(text(if updatable { "YES" } else { "NO" }));
    out
}

/// A primary key constraint's OID: its table's plus this (index OIDs add 1,000,000).
const PK_CONSTRAINT_OID_OFFSET: i64 = 3_000_000;
/// A column default's OID (pg_attrdef.oid): its table's plus this plus the column index.
const ATTRDEF_OID_OFFSET: i64 = 4_000_000;

/// A column default's pg_attrdef OID.
pub(crate) fn attrdef_oid(t: &TableDef, column: usize) -> i64 {
    t.oid as i64 + ATTRDEF_OID_OFFSET + column as i64
}

/// A column's DEFAULT as SQL text: the expression as written, or the constant's text form.
/// `nextval('s')` (SERIAL's default, or written so) reads as PostgreSQL deparses it, with the
/// argument's regclass cast: `nextval('s'::regclass)`.
pub(crate) fn default_text(c: &ColumnDef) -> Option<String> {
    let quoted = |s: &str| {
        s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') && !s[1..s.len() - 1].replace("''", "").contains('\'')
    };
    if c.identity != orbit_engine::table::Identity::No {
        return None;
    }
    match (&c.default_expr, &c.default) {
        (Some(e), _) => Some(match e.strip_prefix("nextval(").and_then(|s| s.strip_suffix(')')) {
            // The sequence as regclass prints it: qualified unless the search path finds it.
            Some(seq) if quoted(seq) => {
                let name = seq[1..seq.len() - 1].replace("''", "'");
                let shown = crate::regtypes::format(OidKind::RegClass, sequence_oid(&name) as u32);
                format!("nextval('{}'::regclass)", shown.replace('\'', "''"))
            }
            // A string literal reads with its type, as PostgreSQL deparses the constant.
            _ if quoted(e) => format!("{e}::{}", literal_type_name(c.ty)),
            // A negative number is a constant of the literal's own type, printed quoted.
            _ if e.strip_prefix('-').is_some_and(|n| {
                !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                    && n.bytes().filter(|b| *b == b'.').count() <= 1
            }) =>
            {
                let ty = match e.parse::<i64>() {
                    Ok(v) if i32::try_from(v).is_ok() => "integer",
                    Ok(_) => "bigint",
                    Err(_) => "numeric",
                };
                format!("'{e}'::{ty}")
            }
            _ => e.clone(),
        }),
        (None, Datum::Null) => None,
        (None, d) => crate::types::to_text(d),
    }
}

/// The type a deparsed constant is labelled with: format_type without the typmod, and
/// `bpchar` for character(n).
pub(crate) fn literal_type_name(t: SqlType) -> String {
    match t {
        SqlType::Bpchar(_) => "bpchar".to_string(),
        SqlType::Varchar(_) => "character varying".to_string(),
        SqlType::Numeric(_) => "numeric".to_string(),
        SqlType::Array(a) => format!("{}[]", literal_type_name(a.elem())),
        // The constant has the type without its precision (the column's rounds it).
        t => t.base().name(),
    }
}

/// An identifier as PostgreSQL's quote_ident writes it: quoted unless lower case letters,
/// digits and underscores not starting with a digit.
fn quote_ident(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// A UNIQUE constraint's OID: its index's plus this.
const UNIQUE_CONSTRAINT_OID_OFFSET: i64 = 5_000_000;
/// A CHECK constraint's OID: this plus its table's OID times 64 plus its position.
const CHECK_CONSTRAINT_OID_BASE: i64 = 6_000_000;

fn check_oid(t: &TableDef, k: usize) -> i64 {
    CHECK_CONSTRAINT_OID_BASE + t.oid as i64 * 64 + k as i64
}

/// The constraints of a user table as pg_constraint rows: (oid, name, contype, index OID, definition).
pub(crate) fn constraints_of(t: &TableDef) -> Vec<(i64, String, &'static str, i64, String)> {
    let names = |cols: &[usize]| -> String {
        cols.iter().map(|&i| quote_ident(&t.columns[i].name)).collect::<Vec<_>>().join(", ")
    };
    let mut out = Vec::new();
    if !t.has_row_id() {
        out.push((
            t.oid as i64 + PK_CONSTRAINT_OID_OFFSET,
            t.pk_name.clone(),
            "p",
            t.oid as i64 + 1_000_000,
            format!("PRIMARY KEY ({})", names(&t.pk)),
        ));
    }
    for ix in t.indexes.iter().filter(|x| x.constraint) {
        if let Ok(d) = crate::index::index_table(t, ix) {
            let oid = d.oid as i64;
            out.push((
                oid + UNIQUE_CONSTRAINT_OID_OFFSET,
                ix.name.clone(),
                "u",
                oid,
                format!("UNIQUE ({})", names(&ix.columns)),
            ));
        }
    }
    for (k, c) in t.checks.iter().enumerate() {
        let not_valid = if c.not_valid { " NOT VALID" } else { "" };
        out.push((check_oid(t, k), c.name.clone(), "c", 0, format!("CHECK (({})){not_valid}", c.expr)));
    }
    for (k, fk) in t.foreign_keys.iter().enumerate() {
        let parent = crate::bind::lookup_table(&fk.parent);
        let index = parent.as_deref().map_or(0, |p| crate::foreign_key::unique_index_oid(p, fk));
        out.push((
            crate::foreign_key::constraint_oid(t, k),
            fk.name.clone(),
            "f",
            index,
            crate::foreign_key::definition(t, fk),
        ));
    }
    out
}

/// A foreign key's equality operators per column, as oid arrays: referenced = referencing
/// (conpfeqop), referenced = referenced (conppeqop), referencing = referencing (conffeqop).
/// Without a cross-type operator the referencing value is cast to the referenced type, and
/// conpfeqop is conppeqop (as PostgreSQL's ATAddForeignKeyConstraint chooses).
fn foreign_key_operators(t: &TableDef, f: &orbit_engine::table::ForeignKeyDef) -> [Datum; 3] {
    let parent = crate::bind::lookup_table(&f.parent);
    let ty = |d: &TableDef, i: usize| d.columns.get(i).map_or(0, |c| c.ty.oid());
    let (mut pf, mut pp, mut ff) = (Vec::new(), Vec::new(), Vec::new());
    for (&c, &p) in f.columns.iter().zip(&f.parent_columns) {
        let (fk, pk) = (ty(t, c), parent.as_deref().map_or(0, |d| ty(d, p)));
        let same = crate::catalog_builtin::equality_operator(pk, pk);
        let cross = crate::catalog_builtin::equality_operator(pk, fk).or(same);
        let op = |o: Option<i64>| o.map_or(Datum::Null, Datum::Int8);
        pf.push(op(cross));
        pp.push(op(same));
        ff.push(op(crate::catalog_builtin::equality_operator(fk, fk)));
    }
    let array =
        |items: Vec<Datum>| Datum::Array(Box::new(orbit_engine::table::ArrayValue::from_items(SqlType::Int8, items)));
    [array(pf), array(pp), array(ff)]
}

/// pg_get_constraintdef(oid [, pretty]): a constraint's definition (`PRIMARY KEY (a, b)`,
/// `UNIQUE (a)`, `CHECK ((a > 0))`, the CHECK as Orbit keeps its text; pretty drops the
/// expression's outer parentheses, `CHECK (a > 0)`, as PostgreSQL's pretty printer does).
pub fn constraint_def(oid: i64, pretty: bool) -> Option<String> {
    let Some(def) = user_tables().iter().flat_map(|t| constraints_of(t)).find(|c| c.0 == oid).map(|c| c.4) else {
        return crate::domains::constraint_def(oid, pretty);
    };
    let (def, not_valid) = match def.strip_suffix(" NOT VALID") {
        Some(d) if d.starts_with("CHECK") => (d.to_string(), " NOT VALID"),
        _ => (def, ""),
    };
    Some(match def.strip_prefix("CHECK ((").and_then(|d| d.strip_suffix("))")) {
        Some(expr) if pretty => format!("CHECK ({expr}){not_valid}"),
        _ => format!("{def}{not_valid}"),
    })
}

/// pg_get_indexdef(oid, column, pretty): an index's CREATE INDEX statement (the table
/// qualified by its schema unless pretty), or with `column` > 0 that key column's name.
pub fn index_def(oid: i64, column: i64, pretty: bool) -> Option<String> {
    let tables = user_tables();
    let (name, unique, cols, table, ix) =
        match tables.iter().find(|t| !t.has_row_id() && t.oid as i64 + 1_000_000 == oid) {
            Some(t) => (t.pk_name.clone(), true, t.pk.clone(), t.clone(), None),
            None => {
                let (_, t, ix) = secondary_indexes(&tables).into_iter().find(|(d, _, _)| d.oid as i64 == oid)?;
                (ix.name.clone(), ix.unique, ix.columns.clone(), t, Some(ix))
            }
        };
    let mut exprs = ix.iter().flat_map(|x| x.exprs.iter());
    let cols: Vec<String> = cols
        .iter()
        .map(|&i| match table.columns.get(i) {
            Some(c) => quote_ident(&c.name),
            None => exprs.next().map(|x| crate::bind::key_text(&table, x, pretty)).unwrap_or_default(),
        })
        .collect();
    // A key's operator class and ordering follow it in the statement, not in a column's name.
    let keys: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(k, c)| match &ix {
            Some(x) => format!(
                "{c}{}{}",
                crate::index_options::opclass_text(x.opclass(k)),
                crate::index_options::option_text(x.option(k))
            ),
            None => c.clone(),
        })
        .collect();
    let include: Vec<String> = ix
        .iter()
        .flat_map(|x| x.include.iter())
        .filter_map(|&i| table.columns.get(i))
        .map(|c| quote_ident(&c.name))
        .collect();
    if column > 0 {
        return cols.iter().chain(&include).nth(column as usize - 1).cloned();
    }
    let (schema, table_name) = crate::schema::split(&table.name);
    let predicate = ix.as_ref().and_then(|x| x.predicate.as_deref());
    Some(format!(
        "CREATE {}INDEX {} ON {}{} USING btree ({}){}{}{}",
        if unique { "UNIQUE " } else { "" },
        quote_ident(crate::schema::relname(&name)),
        if pretty { String::new() } else { format!("{}.", quote_ident(schema)) },
        quote_ident(table_name),
        keys.join(", "),
        if include.is_empty() { String::new() } else { format!(" INCLUDE ({})", include.join(", ")) },
        if ix.as_ref().is_some_and(|x| x.nulls_not_distinct) { " NULLS NOT DISTINCT" } else { "" },
        predicate.map_or(String::new(), |p| format!(" WHERE {}", crate::bind::pg_text(&table, p, pretty)))
    ))
}

/// The user tables and sequences, from this shard's catalog copy (staging tables of an ALTER
/// in progress and the sequence table are not listed).
pub(crate) fn user_tables() -> Vec<Arc<TableDef>> {
    orbit_shards::state::with_shard(|s| user_tables_in(&s.tables))
}

/// [`user_tables`] as transaction `me` sees them in catalog listings: not the tables and views
/// another open block created ([`crate::relation_lock`]).
pub(crate) fn user_tables_seen_by(me: orbit_shards::rowlock::Owner) -> Vec<Arc<TableDef>> {
    orbit_shards::state::with_shard(|s| {
        let mut out = user_tables_in(&s.tables);
        out.retain(|d| s.tables.get(&d.name).is_none_or(|t| t.created_by.is_none_or(|o| o == me)));
        out
    })
}

/// pg_type's row of a built-in type (or of an array of one), in pg_type's column order.
fn builtin_type_row(t: SqlType) -> Vec<Datum> {
    let text = |s: &str| Datum::Text(s.to_string());
    let oid = |t: Option<SqlType>| Datum::Int8(t.map_or(0, |t| t.oid() as i64));
    let io = crate::catalog_builtin::type_io(t.oid(), t.elem().map(|e| e.oid()));
    let proc = |k: usize| Datum::Oid(OidKind::RegProc, io.map_or(0, |io| io.procs[k]));
    let mut row = vec![
        Datum::Int8(t.oid() as i64),
        text(&type_name(t)),
        Datum::Int8(PG_CATALOG_NS),
        Datum::Int2(t.size()),
        text(if t == SqlType::Unknown { "p" } else { "b" }),
        text(type_category(t)),
        // name is a fixed array of "char" (raw_array_subscript_handler subscripts it).
        Datum::Oid(
            OidKind::Oid,
            if t == SqlType::Name { SqlType::Char.oid() } else { t.elem().map_or(0, |t| t.oid()) },
        ),
        oid(t.array_of()),
        Datum::Oid(OidKind::Oid, 0),
        Datum::Oid(OidKind::Oid, 0),
        Datum::Int8(collation_of(t)),
        text(storage_of(t)),
        text(","),
        Datum::Bool(by_value(t)),
        Datum::Bool(false),
        Datum::Int4(-1),
        Datum::Int4(0),
        Datum::Null,
        Datum::Bool(io.is_some_and(|io| io.preferred)),
        Datum::Oid(OidKind::RegProc, io.map_or(0, |io| io.subscript)),
    ];
    row.extend((0..7).map(proc));
    row.push(text(&io.map_or('i', |io| io.align).to_string()));
    row.push(Datum::Null);
    row
}

/// [`user_tables`] of a shard's catalog: no staging tables, tables a transaction's DROP hid,
/// the sequence table, indexes' tables, or the entries of schemas, sequences, comments, domains
/// and enum types.
pub(crate) fn user_tables_in(tables: &orbit_engine::table::Tables) -> Vec<Arc<TableDef>> {
    tables
        .names()
        .filter(|n| {
            !n.contains('\0')
                && !n.contains(crate::exec::undo::HIDDEN)
                && n.as_str() != crate::sequence::SEQ_TABLE
                && n.as_str() != crate::exec::ddl_journal::JOURNAL
                && n.as_str() != crate::exec::ddl_journal::COPIES
                && !n.starts_with(crate::exec::ddl_journal::COPY_MARK)
                && !crate::schema::is_entry(n)
                && !crate::sequence::is_entry(n)
                && !crate::comment::is_entry(n)
                && !crate::domains::is_entry(n)
                && !crate::enums::is_entry(n)
                && !crate::composites::is_entry(n)
                && !crate::functions_sql::is_entry(n)
                && !crate::extensions::is_entry(n)
        })
        .filter_map(|n| tables.def(n))
        .filter(|d| d.index_of.is_none())
        .collect()
}

/// The name and column names of the table, view or system view with OID `oid` (None for
/// another relation or none).
pub(crate) fn relation_columns(oid: u32) -> Option<(String, Vec<String>)> {
    if let Some(d) = user_tables().into_iter().find(|d| d.oid == oid) {
        let columns = d.columns.iter().map(|c| c.name.clone()).collect();
        return Some((crate::schema::relname(&d.name).to_string(), columns));
    }
    let v = all_views().find(|v| v.oid == oid)?;
    Some((v.name.to_string(), v.columns.iter().map(|(c, _)| c.to_string()).collect()))
}

/// A sequence's OID: sequences have no OID of their own in Orbit, so a stable number from
/// the name.
pub(crate) fn sequence_oid(name: &str) -> i64 {
    2_000_000_000 + query_id(name).rem_euclid(1 << 30)
}

/// pg_class.relkind of a user relation: a partitioned table, a view, a materialized view or a
/// table (a partition is one, though Orbit keeps its rows in its root's storage).
pub(crate) fn relkind(t: &TableDef) -> char {
    if t.partition_key.is_some() {
        'p'
    } else if t.partition_of.is_some() {
        'r'
    } else if t.view.is_some() {
        'v'
    } else if t.matview.is_some() {
        'm'
    } else {
        'r'
    }
}

/// Every relation `regclass` can name, as (OID, namespace OID, name): the user tables given,
/// their indexes, the sequences given (their catalog entries, [`crate::sequence::entry`]) and
/// those the tables' columns read (`nextval('s')` defaults), and the system views.
pub(crate) fn relations(tables: &[Arc<TableDef>], sequences: &[String]) -> Vec<(u32, u32, String, char)> {
    let ns = |n: &str| crate::schema::namespace_of(n);
    let rel = |n: &str| crate::schema::relname(n).to_string();
    let mut out = Vec::new();
    for t in tables {
        out.push((t.oid, ns(&t.name), rel(&t.name), relkind(t)));
        if !t.has_row_id() {
            out.push((t.oid + 1_000_000, ns(&t.name), rel(&t.pk_name), 'i'));
        }
        for c in &t.columns {
            let seq = c.default_expr.as_deref().and_then(|e| e.strip_prefix("nextval('")?.strip_suffix("')"));
            if let Some(seq) = seq {
                let seq = seq.replace("''", "'");
                if !sequences.contains(&seq) {
                    out.push((sequence_oid(&seq) as u32, ns(&seq), rel(&seq), 'S'));
                }
            }
        }
    }
    for seq in sequences {
        out.push((sequence_oid(seq) as u32, ns(seq), rel(seq), 'S'));
    }
    for (d, _, ix) in secondary_indexes(tables) {
        out.push((d.oid, ns(&ix.name), rel(&ix.name), 'i'));
    }
    for v in all_views() {
        let ns = if v.schema == "pg_catalog" { PG_CATALOG_NS } else { INFORMATION_SCHEMA_NS };
        out.push((v.oid, ns as u32, v.name.to_string(), 'v'));
    }
    out
}

/// Every secondary index of a user table: its table of entries (whose OID is the index's),
/// and its definition.
fn secondary_indexes(tables: &[Arc<TableDef>]) -> Vec<(Arc<TableDef>, Arc<TableDef>, orbit_engine::table::IndexDef)> {
    let mut out = Vec::new();
    for t in tables {
        for ix in &t.indexes {
            if let Ok(d) = crate::index::index_table(t, ix) {
                out.push((d, t.clone(), ix.clone()));
            }
        }
    }
    out
}

/// Every sequence's row of the sequence table, from every shard (not those a transaction's
/// DROP TABLE hid with their table).
pub(crate) async fn sequence_rows() -> Result<Vec<Row>> {
    sequence_rows_seen_by(None).await
}

/// [`sequence_rows`] as transaction `me` sees them in catalog listings: not the sequences
/// another open block created ([`crate::sequence::visible_here`]; None: all of them).
pub(crate) async fn sequence_rows_seen_by(me: Option<orbit_shards::rowlock::Owner>) -> Result<Vec<Row>> {
    let hidden = move |r: &Row| match r.first() {
        Some(Datum::Text(n)) => {
            n.contains(crate::exec::undo::HIDDEN) || me.is_some() && !crate::sequence::visible_here(n, me)
        }
        _ => false,
    };
    let parts = mesh::run_on_all(move |s| {
        s.tables
            .get(crate::sequence::SEQ_TABLE)
            .map(|t| t.scan().filter(|(_, r)| !hidden(r)).map(|(_, r)| r.clone()).collect::<Vec<_>>())
    })
    .await
    .map_err(|e| SqlError::new(code::CONNECTION_EXCEPTION, format!("shard unavailable: {e}")))?;
    Ok(parts.into_iter().flatten().flatten().collect())
}

/// Row counts from ANALYZE, summed over the shards (None: never analyzed).
async fn analyzed(name: &str) -> Result<Option<u64>> {
    let n = name.to_string();
    let parts = mesh::run_on_all(move |s| s.tables.get(&n).and_then(|t| t.analyzed_rows))
        .await
        .map_err(|e| SqlError::new(code::CONNECTION_EXCEPTION, format!("shard unavailable: {e}")))?;
    Ok(parts.iter().try_fold(0u64, |acc, p| p.map(|v| acc + v)))
}

/// Column numbers (1-based) as an `int2[]` (pg_index.indkey; PostgreSQL's int2vector).
fn attnums(cols: &[usize]) -> Datum {
    indkey(cols.iter().map(|&i| i as i16 + 1).collect())
}

/// pg_index.indkey: an int2vector in PostgreSQL, whose subscripts start at 0 (SQLAlchemy's
/// index query pairs `generate_subscripts(indkey, 1)` + 1 with pg_get_indexdef's columns).
pub(crate) fn indkey(nums: Vec<i16>) -> Datum {
    let mut a = orbit_engine::table::ArrayValue::from_items(SqlType::Int2, nums.into_iter().map(Datum::Int2).collect());
    for d in &mut a.dims {
        d.lower = 0;
    }
    Datum::Array(Box::new(a))
}

/// The rows of a system view, as they are now.
pub async fn rows(def: &TableDef, txn: &Txn) -> Result<Vec<Row>> {
    if def.oid == crate::catalog_dump::SEQUENCE_RELATION_OID {
        return crate::catalog_dump::sequence_relation_rows(&def.name).await;
    }
    if let Some(rows) = crate::catalog_dump::rows(def.oid, txn) {
        return Ok(rows);
    }
    if let Some(rows) = crate::catalog_listings::rows(def.oid, txn).await? {
        return Ok(rows);
    }
    let mut rows = view_rows(def, txn).await?;
    rows.extend(crate::catalog_dump::extra_rows(def.oid));
    crate::catalog_dump::extend(def.oid, &mut rows);
    Ok(rows)
}

async fn view_rows(def: &TableDef, txn: &Txn) -> Result<Vec<Row>> {
    let gone = |e: orbit_shards::Error| SqlError::new(code::CONNECTION_EXCEPTION, format!("shard unavailable: {e}"));
    Ok(match def.oid {
        crate::prepared::VIEW_OID => crate::prepared::rows(&txn.prepared_statements),
        crate::cursors::VIEW_OID => crate::cursors::rows(&txn.cursors),
        1259 => {
            let mut out = Vec::new();
            for t in user_tables_seen_by(txn.id) {
                let tuples = analyzed(&t.name).await?.map_or(-1.0, |n| n as f32);
                let has_pk = !t.has_row_id();
                let ns = Datum::Int8(crate::schema::namespace_of(&t.name) as i64);
                out.push(vec![
                    Datum::Int8(t.oid as i64),
                    text(crate::schema::relname(&t.name)),
                    ns.clone(),
                    text(&relkind(&t).to_string()),
                    Datum::Float4(tuples),
                    Datum::Int2(t.columns.len() as i16),
                    Datum::Bool(has_pk || !t.indexes.is_empty()),
                    text("p"),
                    Datum::Int8(10),
                    // A partitioned table has no access method of its own.
                    Datum::Int8(if t.partition_key.is_some() { 0 } else { 2 }),
                ]);
                if has_pk {
                    out.push(vec![
                        Datum::Int8(t.oid as i64 + 1_000_000),
                        text(crate::schema::relname(&t.pk_name)),
                        ns,
                        text("i"),
                        Datum::Float4(tuples),
                        Datum::Int2(t.pk.len() as i16),
                        Datum::Bool(false),
                        text("p"),
                        Datum::Int8(10),
                        Datum::Int8(403),
                    ]);
                }
            }
            for (d, t, ix) in secondary_indexes(&user_tables_seen_by(txn.id)) {
                let tuples = analyzed(&t.name).await?.map_or(-1.0, |n| n as f32);
                out.push(vec![
                    Datum::Int8(d.oid as i64),
                    text(crate::schema::relname(&ix.name)),
                    Datum::Int8(crate::schema::namespace_of(&ix.name) as i64),
                    text("i"),
                    Datum::Float4(tuples),
                    Datum::Int2(ix.columns.len() as i16),
                    Datum::Bool(false),
                    text("p"),
                    Datum::Int8(10),
                    Datum::Int8(403),
                ]);
            }
            for r in sequence_rows_seen_by(Some(txn.id)).await? {
                let name = match &r[0] {
                    Datum::Text(n) => n.clone(),
                    _ => String::new(),
                };
                out.push(vec![
                    Datum::Int8(sequence_oid(&name)),
                    text(crate::schema::relname(&name)),
                    Datum::Int8(crate::schema::namespace_of(&name) as i64),
                    text("S"),
                    Datum::Float4(1.0),
                    Datum::Int2(3),
                    Datum::Bool(false),
                    text("p"),
                    Datum::Int8(10),
                    Datum::Int8(0),
                ]);
            }
            for v in all_views() {
                out.push(vec![
                    Datum::Int8(v.oid as i64),
                    text(v.name),
                    Datum::Int8(if v.schema == "pg_catalog" { PG_CATALOG_NS } else { INFORMATION_SCHEMA_NS }),
                    text("v"),
                    Datum::Float4(-1.0),
                    Datum::Int2(v.columns.len() as i16),
                    Datum::Bool(false),
                    text("p"),
                    Datum::Int8(10),
                    Datum::Int8(0),
                ]);
            }
            // Orbit has no rules, triggers, row security, partitions, tablespaces, typed tables
            // or TOAST tables; replica identity is the default (the primary key) for tables and
            // none for the rest, as PostgreSQL reports.
            let checks: std::collections::HashMap<i64, i16> =
                user_tables_seen_by(txn.id).iter().map(|t| (t.oid as i64, t.checks.len() as i16)).collect();
            // A view's check option is its one reloption here (`{check_option=local}`); a
            // table's are its storage parameters.
            let reloptions: std::collections::HashMap<i64, Datum> = user_tables_seen_by(txn.id)
                .iter()
                .filter_map(|t| {
                    let items: Vec<Datum> = match t.view_check {
                        Some(c) => vec![Datum::Text(format!("check_option={}", c.name()))],
                        // `toast.` ones are a TOAST table's in PostgreSQL (Orbit has none).
                        None => {
                            t.reloptions.iter().filter(|o| !o.starts_with("toast.")).cloned().map(Datum::Text).collect()
                        }
                    };
                    if items.is_empty() {
                        return None;
                    }
                    let a = orbit_engine::table::ArrayValue::from_items(SqlType::Text, items);
                    Some((t.oid as i64, Datum::Array(Box::new(a))))
                })
                .collect();
            let fk_tables = crate::foreign_key::tables_with_foreign_keys();
            // A partition's bound, as pg_get_expr(relpartbound, oid) prints it.
            let bounds: std::collections::HashMap<i64, String> = user_tables_seen_by(txn.id)
                .iter()
                .filter_map(|t| Some((t.oid as i64, t.partition_of.as_ref()?.bound.clone())))
                .collect();
            // A temporary schema's relations are relpersistence 't'.
            let temp: Vec<i64> = crate::schema::all()
                .into_iter()
                .filter(|(_, n, _)| crate::temp_tables::is_temp_schema(n))
                .map(|(o, _, _)| o as i64)
                .collect();
            for r in &mut out {
                if matches!(&r[2], Datum::Int8(ns) if temp.contains(ns)) {
                    r[7] = text("t");
                }
                let kind = if r[3] == text("r") || r[3] == text("m") { "d" } else { "n" };
                let relchecks = match &r[0] {
                    Datum::Int8(oid) => checks.get(oid).copied().unwrap_or(0),
                    _ => 0,
                };
                // A table with foreign keys, either side, has PostgreSQL's RI triggers.
                let triggers = matches!(&r[0], Datum::Int8(oid) if fk_tables.contains(oid));
                let options = match &r[0] {
                    Datum::Int8(oid) if r[3] == text("v") || r[3] == text("r") => reloptions.get(oid).cloned(),
                    _ => None,
                };
                let bound = match &r[0] {
                    Datum::Int8(oid) => bounds.get(oid),
                    _ => None,
                };
                r.extend([
                    Datum::Int2(relchecks),
                    Datum::Bool(false),
                    Datum::Bool(triggers),
                    Datum::Bool(false),
                    Datum::Bool(false),
                    Datum::Bool(bound.is_some()),
                    Datum::Int8(0),
                    Datum::Int8(0),
                    text(kind),
                    Datum::Int8(0),
                    options.unwrap_or(Datum::Null),
                    bound.map_or(Datum::Null, |b| text(b)),
                ]);
            }
            out
        }
        2610 => {
            let tables = user_tables_seen_by(txn.id);
            let mut out: Vec<Row> = tables
                .iter()
                .filter(|t| !t.has_row_id())
                .map(|t| {
                    let mut row = vec![
                        Datum::Int8(t.oid as i64 + 1_000_000),
                        Datum::Int8(t.oid as i64),
                        Datum::Int2(t.pk.len() as i16),
                        Datum::Bool(true),
                        Datum::Bool(true),
                        Datum::Bool(false),
                        Datum::Bool(true),
                        Datum::Bool(false),
                        Datum::Int2(t.pk.len() as i16),
                        Datum::Bool(true),
                        Datum::Bool(false),
                        Datum::Null,
                        attnums(&t.pk),
                    ];
                    row.extend(crate::catalog_objects::index_columns(t, &t.pk));
                    row
                })
                .collect();
            for (d, t, ix) in secondary_indexes(&tables) {
                // indkey: 0 for an expression key; indpred and indexprs as pg_get_expr prints them.
                // INCLUDE's columns follow the keys in indkey and count in indnatts only.
                let keys = ix
                    .columns
                    .iter()
                    .chain(&ix.include)
                    .map(|&i| t.columns.get(i).map_or(0, |_| i as i16 + 1))
                    .collect();
                let keys = indkey(keys);
                let pred = ix.predicate.as_deref().map_or(Datum::Null, |p| text(&crate::bind::pg_text(&t, p, false)));
                out.push(vec![
                    Datum::Int8(d.oid as i64),
                    Datum::Int8(t.oid as i64),
                    Datum::Int2((ix.columns.len() + ix.include.len()) as i16),
                    Datum::Bool(ix.unique),
                    Datum::Bool(false),
                    Datum::Bool(false),
                    Datum::Bool(true),
                    Datum::Bool(false),
                    Datum::Int2(ix.columns.len() as i16),
                    Datum::Bool(true),
                    Datum::Bool(ix.nulls_not_distinct),
                    pred,
                    keys,
                ]);
                if let Some(row) = out.last_mut() {
                    let types: Vec<SqlType> = d.columns.iter().take(ix.columns.len()).map(|c| c.ty).collect();
                    row.extend(crate::catalog_objects::index_columns_typed(&types, Some(&ix)));
                    if !ix.exprs.is_empty() {
                        let exprs: Vec<String> =
                            ix.exprs.iter().map(|x| crate::bind::pg_text(&t, &x.expr, false)).collect();
                        if let Some(last) = row.last_mut() {
                            *last = text(&exprs.join(", "));
                        }
                    }
                }
            }
            out
        }
        2224 => crate::catalog_objects::sequence_rows(txn.id).await?,
        2616 => crate::catalog_objects::opclass_rows(),
        2608 => crate::catalog_objects::depend_rows(txn.id).await?,
        1213 => crate::catalog_objects::tablespace_rows(),
        // Primary keys, UNIQUE and CHECK constraints (NOT NULL is not a pg_constraint row in
        // PostgreSQL 15).
        2606 => {
            let mut out = Vec::new();
            for t in user_tables_seen_by(txn.id) {
                for (oid, name, kind, index, _) in constraints_of(&t) {
                    let fk = (kind == "f").then(|| t.foreign_keys.iter().find(|f| f.name == name)).flatten();
                    let cols = |c: &[usize]| {
                        let items = c.iter().map(|&i| Datum::Int2(i as i16 + 1)).collect();
                        Datum::Array(Box::new(orbit_engine::table::ArrayValue::from_items(SqlType::Int2, items)))
                    };
                    let conkey = match (kind, fk) {
                        ("p", _) => cols(&t.pk),
                        ("u", _) => t
                            .indexes
                            .iter()
                            .find(|x| x.constraint && x.name == name)
                            .map_or(Datum::Null, |x| cols(&x.columns)),
                        (_, Some(f)) => cols(&f.columns),
                        // A CHECK's columns, in the order its expression names them.
                        ("c", _) => match t.checks.iter().find(|c| c.name == name) {
                            Some(c) => {
                                let names = crate::bind::check_columns(&c.expr);
                                let mut idx: Vec<usize> = Vec::new();
                                for n in &names {
                                    let i = t.columns.iter().position(|col| &col.name == n);
                                    if let Some(i) = i.filter(|i| !idx.contains(i)) {
                                        idx.push(i);
                                    }
                                }
                                cols(&idx)
                            }
                            None => Datum::Null,
                        },
                        _ => Datum::Null,
                    };
                    let eqops = fk.map_or([Datum::Null, Datum::Null, Datum::Null], |f| foreign_key_operators(&t, f));
                    let [pfeqop, ppeqop, ffeqop] = eqops;
                    let conbin = match t.checks.iter().find(|c| kind == "c" && c.name == name) {
                        Some(c) => text(&format!("({})", c.expr)),
                        None => Datum::Null,
                    };
                    let (confrelid, upd, del, matchtype, confkey) = match fk {
                        Some(f) => (
                            crate::bind::lookup_table(&f.parent).map_or(0, |p| p.oid as i64),
                            text(&(f.on_update.code() as char).to_string()),
                            text(&(f.on_delete.code() as char).to_string()),
                            text(if f.match_full { "f" } else { "s" }),
                            cols(&f.parent_columns),
                        ),
                        None => (0, text(" "), text(" "), text(" "), Datum::Null),
                    };
                    out.push(vec![
                        Datum::Int8(oid),
                        text(crate::schema::relname(&name)),
                        Datum::Int8(crate::schema::namespace_of(&t.name) as i64),
                        text(kind),
                        Datum::Bool(fk.is_some_and(|f| f.deferrable)),
                        Datum::Bool(fk.is_some_and(|f| f.initially_deferred)),
                        Datum::Bool(
                            !fk.is_some_and(|f| f.not_valid)
                                && !t.checks.iter().any(|c| kind == "c" && c.name == name && c.not_valid),
                        ),
                        Datum::Int8(t.oid as i64),
                        Datum::Int8(index),
                        Datum::Int8(confrelid),
                        upd,
                        del,
                        matchtype,
                        conkey,
                        confkey,
                        Datum::Int8(0),
                        Datum::Int8(0),
                        Datum::Int4(0),
                        // A table's PRIMARY KEY, UNIQUE and FOREIGN KEY constraints are not
                        // inherited; its CHECKs are (no NO INHERIT in Orbit).
                        Datum::Bool(kind != "c"),
                        pfeqop,
                        ppeqop,
                        ffeqop,
                        Datum::Null,
                        Datum::Null,
                        conbin,
                    ]);
                }
            }
            out.extend(crate::domains::pg_constraint_rows(txn.id));
            out
        }
        // Column defaults, as the SQL text Orbit keeps (PostgreSQL keeps a node tree).
        2604 => {
            let mut out = Vec::new();
            for t in user_tables_seen_by(txn.id) {
                for (i, c) in t.columns.iter().enumerate() {
                    // A generated column's expression is its pg_attrdef row, as PostgreSQL's.
                    let expr = match &c.generated {
                        Some(g) => crate::bind::pg_text(&t, g, false),
                        None => {
                            let Some(expr) = default_text(c) else { continue };
                            expr
                        }
                    };
                    out.push(vec![
                        Datum::Int8(attrdef_oid(&t, i)),
                        Datum::Int8(t.oid as i64),
                        Datum::Int2(i as i16 + 1),
                        Datum::Text(expr),
                    ]);
                }
            }
            out
        }
        // The collations COLLATE accepts (Orbit compares text bytewise, the C collation).
        // The default collation's locale is the database's (pg_database), so NULL here.
        3456 => [(100, "default", "d", None), (950, "C", "c", Some("C")), (951, "POSIX", "c", Some("POSIX"))]
            .into_iter()
            .map(|(oid, name, provider, locale)| {
                let locale = locale.map_or(Datum::Null, text);
                vec![
                    Datum::Int8(oid),
                    text(name),
                    Datum::Int8(PG_CATALOG_NS),
                    text(provider),
                    Datum::Bool(true),
                    locale.clone(),
                    locale,
                    Datum::Null,
                    Datum::Null,
                ]
            })
            .collect(),
        // A partition's parent (pg_inherits) and a partitioned table's key
        // (pg_partitioned_table), from `crate::partitions`.
        2611 => {
            let tables = user_tables_seen_by(txn.id);
            tables
                .iter()
                .filter_map(|t| {
                    let p = tables.iter().find(|p| Some(&p.name) == t.partition_of.as_ref().map(|x| &x.parent))?;
                    Some(vec![Datum::Int8(t.oid as i64), Datum::Int8(p.oid as i64), Datum::Int4(1), Datum::Bool(false)])
                })
                .collect()
        }
        3350 => {
            let tables = user_tables_seen_by(txn.id);
            tables
                .iter()
                .filter_map(|t| {
                    let key = crate::partitions::key(t)?;
                    // partattrs: a column's number, 0 for an expression.
                    let cols: Vec<i16> = key
                        .columns
                        .iter()
                        .map(|c| {
                            let name = crate::partitions::key_column(c);
                            t.columns.iter().position(|x| Some(&x.name) == name.as_ref()).map_or(0, |i| i as i16 + 1)
                        })
                        .collect();
                    let default = tables
                        .iter()
                        .find(|c| c.partition_of.as_ref().is_some_and(|p| p.parent == t.name && p.bound == "DEFAULT"))
                        .map_or(0, |c| c.oid as i64);
                    let zeros = |n: usize| {
                        let items = vec![Datum::Int8(0); n];
                        Datum::Array(Box::new(orbit_engine::table::ArrayValue::from_items(SqlType::Int8, items)))
                    };
                    Some(vec![
                        Datum::Int8(t.oid as i64),
                        text(&key.strategy.letter().to_string()),
                        Datum::Int2(cols.len() as i16),
                        Datum::Int8(default),
                        indkey(cols.clone()),
                        zeros(cols.len()),
                        zeros(cols.len()),
                        Datum::Null,
                    ])
                })
                .collect()
        }
        3256 | 2620 | 2609 | 2618 | 3381 | 6104 | 6237 | 6106 => vec![],
        3501 => crate::enums::pg_enum_rows(txn.id),
        // The one role: the bootstrap superuser.
        12010 => vec![vec![
            text("postgres"),
            Datum::Bool(true),
            Datum::Bool(true),
            Datum::Bool(true),
            Datum::Bool(true),
            Datum::Bool(true),
            Datum::Bool(true),
            Datum::Int4(-1),
            Datum::Bool(true),
            Datum::Int8(10),
            // pg_roles never shows a password; no VALID UNTIL, no ALTER ROLE ... SET.
            text("********"),
            Datum::Null,
            Datum::Null,
        ]],
        2601 => vec![vec![Datum::Int8(2), text("heap"), text("t")], vec![Datum::Int8(403), text("btree"), text("i")]],
        // The privileges initdb grants on its schemas (aclitem[] shown as text[]); CREATE SCHEMA's
        // have the default (NULL).
        2615 => crate::schema::all()
            .into_iter()
            .map(|(oid, name, owner)| {
                let acl = match oid {
                    crate::schema::PUBLIC_OID => crate::stats::value_array(&[
                        text("pg_database_owner=UC/pg_database_owner"),
                        text("=U/pg_database_owner"),
                    ]),
                    crate::schema::PG_CATALOG_OID | crate::schema::INFORMATION_SCHEMA_OID => {
                        crate::stats::value_array(&[text("postgres=UC/postgres"), text("=U/postgres")])
                    }
                    _ => Datum::Null,
                };
                vec![Datum::Int8(oid as i64), Datum::Text(name), Datum::Int8(owner as i64), acl]
            })
            .collect(),
        SCHEMATA_OID => crate::schema::all()
            .into_iter()
            .map(|(_, name, owner)| {
                let owner = if owner == 10 { "postgres" } else { "pg_database_owner" };
                vec![
                    text("postgres"),
                    Datum::Text(name),
                    text(owner),
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                    Datum::Null,
                ]
            })
            .collect(),
        1249 => {
            let mut out = Vec::new();
            for t in user_tables_seen_by(txn.id) {
                for (i, c) in t.columns.iter().enumerate() {
                    // A domain column's type is the domain (its typmod the domain's own).
                    let (atttypid, atttypmod) = match c.domain {
                        0 => (c.ty.oid(), c.ty.modifier()),
                        d => (d, -1),
                    };
                    out.push(vec![
                        Datum::Int8(t.oid as i64),
                        text(&c.name),
                        Datum::Int8(atttypid as i64),
                        Datum::Int2(c.ty.size()),
                        Datum::Int2(i as i16 + 1),
                        Datum::Int4(atttypmod),
                        Datum::Bool(c.not_null || t.pk.contains(&i)),
                        Datum::Bool(default_text(c).is_some() || c.generated.is_some()),
                        text(match c.identity {
                            orbit_engine::table::Identity::No => "",
                            orbit_engine::table::Identity::ByDefault => "d",
                            orbit_engine::table::Identity::Always => "a",
                        }),
                        Datum::Bool(false),
                        Datum::Int8(collation_of(c.ty)),
                        // attgenerated: 's' for a stored generated column.
                        text(if c.generated.is_some() { "s" } else { "" }),
                        text(storage_of(c.ty)),
                        text(""),
                        Datum::Int4(-1),
                    ]);
                    if let Some(r) = out.last_mut() {
                        r.extend(attribute_tail(c.ty));
                    }
                }
            }
            // Indexes have attributes too: their key columns, in key order.
            let tables = user_tables_seen_by(txn.id);
            let pks =
                tables.iter().filter(|t| !t.has_row_id()).map(|t| (t.oid as i64 + 1_000_000, t.clone(), t.pk.clone()));
            let pks = pks.map(|(oid, t, cols)| (oid, cols.iter().map(|&i| t.columns[i].clone()).collect::<Vec<_>>()));
            // An index's table names its key columns (an expression's as PostgreSQL names it).
            let secondary = secondary_indexes(&tables).into_iter().map(|(d, t, ix)| {
                let keys = d.columns.iter().take(ix.columns.len()).cloned();
                let include = ix.include.iter().filter_map(|&i| t.columns.get(i)).cloned();
                (d.oid as i64, keys.chain(include).collect())
            });
            for (oid, cols) in pks.chain(secondary) {
                for (k, c) in cols.iter().enumerate() {
                    out.push(vec![
                        Datum::Int8(oid),
                        text(&c.name),
                        Datum::Int8(c.ty.oid() as i64),
                        Datum::Int2(c.ty.size()),
                        Datum::Int2(k as i16 + 1),
                        Datum::Int4(c.ty.modifier()),
                        Datum::Bool(false),
                        Datum::Bool(false),
                        text(""),
                        Datum::Bool(false),
                        Datum::Int8(collation_of(c.ty)),
                        text(""),
                        text(storage_of(c.ty)),
                        text(""),
                        Datum::Int4(-1),
                    ]);
                    if let Some(r) = out.last_mut() {
                        r.extend(attribute_tail(c.ty));
                    }
                }
            }
            out
        }
        // Each type, then the array types of those that have one (typelem/typarray link them).
        1247 => TYPES
            .iter()
            .copied()
            .chain(TYPES.iter().filter_map(|t| t.array_of()))
            .chain(std::iter::once(INT2VECTOR))
            .map(builtin_type_row)
            .chain(crate::enums::pg_type_rows(txn.id))
            .chain(crate::composites::pg_type_rows(txn.id))
            .chain(crate::domains::pg_type_rows(txn.id, builtin_type_row))
            .collect(),

        1262 => vec![vec![
            Datum::Int8(5),
            text("postgres"),
            Datum::Int4(6),
            text("C.UTF-8"),
            text("C.UTF-8"),
            Datum::Bool(true),
            Datum::Int8(10),
            text("c"),
            Datum::Null,
            Datum::Null,
            Datum::Int8(1663),
        ]],
        12051 => {
            let tables = user_tables_seen_by(txn.id);
            let mut out = Vec::new();
            for t in tables.iter().filter(|t| !t.has_row_id()) {
                out.push((t.oid as i64 + 1_000_000, t.clone(), t.pk_name.clone()));
            }
            for (d, t, ix) in secondary_indexes(&tables) {
                out.push((d.oid as i64, t, ix.name));
            }
            out.into_iter()
                .filter_map(|(oid, t, name)| {
                    let (schema, table) = crate::schema::split(&t.name);
                    let def = index_def(oid, 0, false)?;
                    Some(vec![text(schema), text(table), text(crate::schema::relname(&name)), Datum::Null, text(&def)])
                })
                .collect()
        }
        12000 => {
            // The default tablespace (NULL), no rules or row security; triggers: a table with
            // foreign keys, either side, has PostgreSQL's RI triggers (as pg_class says).
            let fk_tables = crate::foreign_key::tables_with_foreign_keys();
            user_tables_seen_by(txn.id)
                .iter()
                .filter(|t| t.view.is_none() && t.matview.is_none())
                .map(|t| {
                    let (schema, name) = crate::schema::split(&t.name);
                    vec![
                        text(schema),
                        text(name),
                        text("postgres"),
                        Datum::Null,
                        Datum::Bool(!t.has_row_id() || !t.indexes.is_empty()),
                        Datum::Bool(false),
                        Datum::Bool(fk_tables.contains(&(t.oid as i64))),
                        Datum::Bool(false),
                    ]
                })
                .collect()
        }
        12001 => sequence_rows_seen_by(Some(txn.id))
            .await?
            .into_iter()
            .map(|r| {
                let ty = crate::catalog_objects::sequence_type_of(&r, &user_tables());
                let called = r[7] == Datum::Bool(true);
                let name = match &r[0] {
                    Datum::Text(n) => n.clone(),
                    _ => String::new(),
                };
                let (schema, name) = crate::schema::split(&name);
                vec![
                    text(schema),
                    text(name),
                    r[4].clone(),
                    r[2].clone(),
                    r[3].clone(),
                    r[1].clone(),
                    r[5].clone(),
                    if called { r[6].clone() } else { Datum::Null },
                    text("postgres"),
                    Datum::Oid(OidKind::RegType, ty.oid()),
                    // Orbit hands out one value at a time from the sequence's shard.
                    Datum::Int8(1),
                ]
            })
            .collect(),
        12002 => mesh::run_on_all(|_| activity_rows_here()).await.map_err(gone)?.into_iter().flatten().collect(),
        12003 => {
            let parts = mesh::run_on_all(|_| STATEMENTS.with(|s| s.borrow().clone().into_iter().collect::<Vec<_>>()))
                .await
                .map_err(gone)?;
            let mut all: HashMap<String, StatementStats> = HashMap::new();
            for (q, st) in parts.into_iter().flatten() {
                let e = all.entry(q).or_insert(StatementStats { min_ms: f64::MAX, ..Default::default() });
                e.calls += st.calls;
                e.total_ms += st.total_ms;
                e.min_ms = e.min_ms.min(st.min_ms);
                e.max_ms = e.max_ms.max(st.max_ms);
                e.rows += st.rows;
            }
            all.into_iter()
                .map(|(q, st)| {
                    vec![
                        Datum::Int8(query_id(&q)),
                        Datum::Text(q),
                        Datum::Int8(st.calls as i64),
                        Datum::Float8(st.total_ms),
                        Datum::Float8(st.min_ms),
                        Datum::Float8(st.max_ms),
                        Datum::Float8(st.total_ms / st.calls.max(1) as f64),
                        Datum::Int8(st.rows as i64),
                    ]
                })
                .collect()
        }
        PG_STATS_OID => {
            let mut out = Vec::new();
            for t in user_tables_seen_by(txn.id) {
                let Some(st) = crate::stats::of(&t) else { continue };
                for (i, c) in t.columns.iter().enumerate() {
                    let Some(cs) = st.columns.get(&i) else { continue };
                    let vals: Vec<Datum> = cs.mcv.iter().map(|m| m.0.clone()).collect();
                    let freqs: Vec<f64> = cs.mcv.iter().map(|m| m.1).collect();
                    let (schema, name) = crate::schema::split(&t.name);
                    out.push(vec![
                        text(schema),
                        text(name),
                        text(&c.name),
                        Datum::Bool(false),
                        Datum::Float4(cs.null_frac as f32),
                        Datum::Int4(cs.avg_width),
                        Datum::Float4(cs.n_distinct as f32),
                        if vals.is_empty() { Datum::Null } else { crate::stats::value_array(&vals) },
                        if freqs.is_empty() { Datum::Null } else { crate::stats::freq_array(&freqs) },
                        if cs.histogram.is_empty() { Datum::Null } else { crate::stats::value_array(&cs.histogram) },
                        // ANALYZE here collects neither the physical order's correlation nor
                        // array element statistics.
                        Datum::Null,
                        Datum::Null,
                        Datum::Null,
                        Datum::Null,
                    ]);
                }
            }
            out
        }
        12004 => {
            // Materialized views are not in the SQL standard's view (as in PostgreSQL).
            let mut out: Vec<Row> = user_tables_seen_by(txn.id)
                .iter()
                .filter(|t| t.matview.is_none())
                .map(|t| {
                    let kind = if t.view.is_some() { "VIEW" } else { "BASE TABLE" };
                    let (schema, name) = crate::schema::split(&t.name);
                    // A table, or a view INSERT goes through (bind/updatable_views.rs).
                    let insertable =
                        t.view.is_none() || crate::bind::view_updatable_columns(t).is_some_and(|c| c.contains(&true));
                    vec![
                        text("postgres"),
                        text(schema),
                        text(name),
                        text(kind),
                        text(if insertable { "YES" } else { "NO" }),
                    ]
                })
                .collect();
            for v in all_views() {
                out.push(vec![text("postgres"), text(v.schema), text(v.name), text("VIEW"), text("NO")]);
            }
            // No typed tables or temporary ones.
            for r in &mut out {
                let insertable = r.pop().unwrap_or(Datum::Null);
                r.extend([Datum::Null, Datum::Null, Datum::Null, Datum::Null, Datum::Null]);
                r.extend([insertable, text("NO"), Datum::Null]);
            }
            out
        }
        12005 => {
            let mut out = Vec::new();
            let tables = user_tables_seen_by(txn.id);
            let identity =
                tables.iter().any(|t| t.columns.iter().any(|c| c.identity != orbit_engine::table::Identity::No));
            let sequences = if identity { sequence_rows_seen_by(Some(txn.id)).await? } else { Vec::new() };
            for t in tables {
                for (i, c) in t.columns.iter().enumerate() {
                    let default = default_text(c).map_or(Datum::Null, Datum::Text);
                    let len = match c.ty {
                        SqlType::Varchar(Some(n)) | SqlType::Bpchar(Some(n)) => Datum::Int4(n as i32),
                        _ => Datum::Null,
                    };
                    let nullable = !(c.not_null || t.pk.contains(&i));
                    let (schema, name) = crate::schema::split(&t.name);
                    out.push(vec![
                        text("postgres"),
                        text(schema),
                        text(name),
                        text(&c.name),
                        Datum::Int4(i as i32 + 1),
                        default,
                        text(if nullable { "YES" } else { "NO" }),
                        // A domain over a domain outside pg_catalog: USER-DEFINED, as PostgreSQL's
                        // view says of a domain whose base type is not pg_catalog's.
                        Datum::Text(
                            match crate::domains::by_oid(c.domain).filter(|d| c.domain != 0 && d.parent != 0) {
                                Some(_) => "USER-DEFINED".into(),
                                None => standard_type_name(c.ty),
                            },
                        ),
                        len,
                        text(if c.identity == orbit_engine::table::Identity::No { "NO" } else { "YES" }),
                    ]);
                    if let Some(r) = out.last_mut() {
                        r.extend(column_details(&t, i, &sequences));
                    }
                }
            }
            out
        }
        oid => match crate::info_schema::rows(oid) {
            Some(rows) => rows,
            None => return Err(SqlError::internal(format!("no rows for system view {}", def.name))),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_constants() {
        assert_eq!(normalize("SELECT abalance FROM t WHERE aid = 42;"), "SELECT abalance FROM t WHERE aid = $1;");
        assert_eq!(normalize("INSERT INTO t2 VALUES (1.5, 'it''s', -3)"), "INSERT INTO t2 VALUES ($1, $2, -$3)");
        assert_eq!(normalize("SELECT $1 + col1 FROM t"), "SELECT $1 + col1 FROM t");
        assert_eq!(normalize("SELECT 'é' || x"), "SELECT $1 || x");
    }

    #[test]
    fn resolves_views() {
        assert!(resolve(&["pg_class".into()]).is_some());
        assert!(resolve(&["pg_catalog".into(), "pg_type".into()]).is_some());
        assert!(resolve(&["tables".into()]).is_none());
        assert!(resolve(&["information_schema".into(), "tables".into()]).is_some());
        let d = resolve(&["pg_stat_activity".into()]).unwrap();
        assert!(is_view(&d));
    }
}
