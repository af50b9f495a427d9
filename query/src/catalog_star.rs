//! What `SELECT *` (and a whole-row reference) lists of a system view: PostgreSQL's column
//! list in its order, less the columns Orbit does not have, and without `tableoid` (a system
//! column in PostgreSQL, so left out of `*`; named, it is read as any column).

use orbit_engine::table::TableDef;

/// The columns of `def` that `*` (and a whole-row reference) lists, in its order: every column,
/// except for a system view: not `tableoid` (a system column in PostgreSQL, read only when
/// named), and in PostgreSQL's column order ([`STAR_ORDER`]).
pub(crate) fn star_columns(def: &TableDef) -> Vec<usize> {
    if let Some(n) = HIDDEN.with(|h| h.borrow().iter().rev().find(|(name, _)| *name == def.name).map(|(_, n)| *n)) {
        return (0..n.min(def.columns.len())).collect();
    }
    let all = 0..def.columns.len();
    if def.oid == 0 || def.oid >= 16384 || !crate::catalog::is_view(def) {
        return all.collect();
    }
    let shown = |i: &usize| def.columns[*i].name != "tableoid";
    let view = crate::catalog::all_views().find(|v| v.oid == def.oid);
    let qualified = view.map(|v| format!("{}.{}", v.schema, v.name)).unwrap_or_default();
    let Some((_, order)) = STAR_ORDER.iter().find(|(n, _)| *n == qualified) else {
        return all.filter(shown).collect();
    };
    let mut out: Vec<usize> =
        order.iter().filter_map(|name| def.columns.iter().position(|c| c.name == *name)).collect();
    out.extend(all.filter(|i| shown(i) && !order.contains(&def.columns[*i].name.as_str())));
    out
}

/// PostgreSQL 15's `SELECT *` column order of the system views whose column lists here are
/// in another order (they grew as clients needed columns), or longer; `*` lists Orbit's columns
/// in this order, then any PostgreSQL does not have.
#[rustfmt::skip]
const STAR_ORDER: &[(&str, &[&str])] = &[
    ("information_schema.columns", &["table_catalog", "table_schema", "table_name", "column_name", "ordinal_position", "column_default", "is_nullable", "data_type", "character_maximum_length", "character_octet_length", "numeric_precision", "numeric_precision_radix", "numeric_scale", "datetime_precision", "interval_type", "interval_precision", "character_set_catalog", "character_set_schema", "character_set_name", "collation_catalog", "collation_schema", "collation_name", "domain_catalog", "domain_schema", "domain_name", "udt_catalog", "udt_schema", "udt_name", "scope_catalog", "scope_schema", "scope_name", "maximum_cardinality", "dtd_identifier", "is_self_referencing", "is_identity", "identity_generation", "identity_start", "identity_increment", "identity_maximum", "identity_minimum", "identity_cycle", "is_generated", "generation_expression", "is_updatable"]),
    ("information_schema.tables", &["table_catalog", "table_schema", "table_name", "table_type", "self_referencing_column_name", "reference_generation", "user_defined_type_catalog", "user_defined_type_schema", "user_defined_type_name", "is_insertable_into", "is_typed", "commit_action"]),
    ("pg_catalog.pg_am", &["oid", "amname", "amhandler", "amtype"]),
    ("pg_catalog.pg_attribute", &["attrelid", "attname", "atttypid", "attstattarget", "attlen", "attnum", "attndims", "attcacheoff", "atttypmod", "attbyval", "attalign", "attstorage", "attcompression", "attnotnull", "atthasdef", "atthasmissing", "attidentity", "attgenerated", "attisdropped", "attislocal", "attinhcount", "attcollation", "attacl", "attoptions", "attfdwoptions", "attmissingval"]),
    ("pg_catalog.pg_class", &["oid", "relname", "relnamespace", "reltype", "reloftype", "relowner", "relam", "relfilenode", "reltablespace", "relpages", "reltuples", "relallvisible", "reltoastrelid", "relhasindex", "relisshared", "relpersistence", "relkind", "relnatts", "relchecks", "relhasrules", "relhastriggers", "relhassubclass", "relrowsecurity", "relforcerowsecurity", "relispopulated", "relreplident", "relispartition", "relrewrite", "relfrozenxid", "relminmxid", "relacl", "reloptions", "relpartbound"]),
    ("pg_catalog.pg_collation", &["oid", "collname", "collnamespace", "collowner", "collprovider", "collisdeterministic", "collencoding", "collcollate", "collctype", "colliculocale", "collversion"]),
    ("pg_catalog.pg_constraint", &["oid", "conname", "connamespace", "contype", "condeferrable", "condeferred", "convalidated", "conrelid", "contypid", "conindid", "conparentid", "confrelid", "confupdtype", "confdeltype", "confmatchtype", "conislocal", "coninhcount", "connoinherit", "conkey", "confkey", "conpfeqop", "conppeqop", "conffeqop", "confdelsetcols", "conexclop", "conbin"]),
    ("pg_catalog.pg_database", &["oid", "datname", "datdba", "encoding", "datlocprovider", "datistemplate", "datallowconn", "datconnlimit", "datfrozenxid", "datminmxid", "dattablespace", "datcollate", "datctype", "daticulocale", "datcollversion", "datacl"]),
    ("pg_catalog.pg_index", &["indexrelid", "indrelid", "indnatts", "indnkeyatts", "indisunique", "indnullsnotdistinct", "indisprimary", "indisexclusion", "indimmediate", "indisclustered", "indisvalid", "indcheckxmin", "indisready", "indislive", "indisreplident", "indkey", "indcollation", "indclass", "indoption", "indexprs", "indpred"]),
    ("pg_catalog.pg_policy", &["oid", "polname", "polrelid", "polcmd", "polpermissive", "polroles", "polqual", "polwithcheck"]),
    ("pg_catalog.pg_publication", &["oid", "pubname", "pubowner", "puballtables", "pubinsert", "pubupdate", "pubdelete", "pubtruncate", "pubviaroot"]),
    ("pg_catalog.pg_rewrite", &["oid", "rulename", "ev_class", "ev_type", "ev_enabled", "is_instead", "ev_qual", "ev_action"]),
    ("pg_catalog.pg_roles", &["rolname", "rolsuper", "rolinherit", "rolcreaterole", "rolcreatedb", "rolcanlogin", "rolreplication", "rolconnlimit", "rolpassword", "rolvaliduntil", "rolbypassrls", "rolconfig", "oid"]),
    ("pg_catalog.pg_sequences", &["schemaname", "sequencename", "sequenceowner", "data_type", "start_value", "min_value", "max_value", "increment_by", "cycle", "cache_size", "last_value"]),
    ("pg_catalog.pg_settings", &["name", "setting", "unit", "category", "short_desc", "extra_desc", "context", "vartype", "source", "min_val", "max_val", "enumvals", "boot_val", "reset_val", "sourcefile", "sourceline", "pending_restart"]),
    ("pg_catalog.pg_stat_activity", &["datid", "datname", "pid", "leader_pid", "usesysid", "usename", "application_name", "client_addr", "client_hostname", "client_port", "backend_start", "xact_start", "query_start", "state_change", "wait_event_type", "wait_event", "state", "backend_xid", "backend_xmin", "query_id", "query", "backend_type"]),
    ("pg_catalog.pg_statistic_ext", &["oid", "stxrelid", "stxname", "stxnamespace", "stxowner", "stxstattarget", "stxkeys", "stxkind", "stxexprs"]),
    ("pg_catalog.pg_stats", &["schemaname", "tablename", "attname", "inherited", "null_frac", "avg_width", "n_distinct", "most_common_vals", "most_common_freqs", "histogram_bounds", "correlation", "most_common_elems", "most_common_elem_freqs", "elem_count_histogram"]),
    ("pg_catalog.pg_tables", &["schemaname", "tablename", "tableowner", "tablespace", "hasindexes", "hasrules", "hastriggers", "rowsecurity"]),
    ("pg_catalog.pg_trigger", &["oid", "tgrelid", "tgparentid", "tgname", "tgfoid", "tgtype", "tgenabled", "tgisinternal", "tgconstrrelid", "tgconstrindid", "tgconstraint", "tgdeferrable", "tginitdeferred", "tgnargs", "tgattr", "tgargs", "tgqual", "tgoldtable", "tgnewtable"]),
    ("pg_catalog.pg_type", &["oid", "typname", "typnamespace", "typowner", "typlen", "typbyval", "typtype", "typcategory", "typispreferred", "typisdefined", "typdelim", "typrelid", "typsubscript", "typelem", "typarray", "typinput", "typoutput", "typreceive", "typsend", "typmodin", "typmodout", "typanalyze", "typalign", "typstorage", "typnotnull", "typbasetype", "typtypmod", "typndims", "typcollation", "typdefaultbin", "typdefault", "typacl"]),
];

thread_local! {
    /// Relations whose `*` lists only their first columns, by definition name (innermost
    /// last): a recursive WITH query with SEARCH / CYCLE read by its own recursive term.
    static HIDDEN: std::cell::RefCell<Vec<(String, usize)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// While the returned guard lives, `*` (and a whole-row reference) of the relation named
/// `name` lists only its first `shown` columns: the columns a recursive WITH query's SEARCH
/// and CYCLE clauses add are not part of its recursive term's `*`, as in PostgreSQL.
pub(crate) fn hide_after(name: &str, shown: usize) -> HiddenGuard {
    HIDDEN.with(|h| h.borrow_mut().push((name.to_string(), shown)));
    HiddenGuard
}

pub(crate) struct HiddenGuard;

impl Drop for HiddenGuard {
    fn drop(&mut self) {
        HIDDEN.with(|h| h.borrow_mut().pop());
    }
}
