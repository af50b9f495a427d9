//! The catalogs pg_dump reads beyond psql's: the relations of objects Orbit has none of (read
//! as empty, with PostgreSQL 15's columns), pg_init_privs and pg_opfamily (what initdb made
//! that Orbit has too), pg_settings, and the columns pg_dump reads from the other system views
//! (`tableoid`, owners, ACLs, storage details), appended to [`crate::catalog`]'s views by
//! [`extra_columns`] and [`extend`]. `acldefault()` is here too.
//! (<https://www.postgresql.org/docs/15/catalogs.html>)
//!
//! `tableoid` is an ordinary column here (Orbit's relations have no system columns), which
//! `*` leaves out as PostgreSQL does its system column ([`crate::catalog_star::star_columns`]).

use crate::catalog::View;
use crate::txn::Txn;
use orbit_engine::table::{ArrayType, Datum, OidKind, Row, SqlType};

const I8A: SqlType = SqlType::Array(ArrayType::of_oid(20));
const TA: SqlType = SqlType::Array(ArrayType::of_oid(25));
/// `"char"` and `"char"[]` columns.
const C: SqlType = SqlType::Char;
const CA: SqlType = SqlType::Array(ArrayType::of_oid(18));
/// `regproc` columns (function OIDs; Orbit's functions have none, so these read as numbers).
const RP: SqlType = SqlType::Oid(OidKind::RegProc);

use SqlType::{Bool as B, Float4 as F4, Int2 as I2, Int4 as I4, Int8 as I8, Text as T};

const PG_CATALOG_NS: i64 = 11;
/// pg_namespace's OID, the classoid of a schema's pg_init_privs row.
const PG_NAMESPACE_OID: i64 = 2615;
/// pg_settings' OID in PostgreSQL 15.
pub(crate) const PG_SETTINGS_OID: u32 = 12104;
const PG_INIT_PRIVS_OID: u32 = 3394;
const PG_OPFAMILY_OID: u32 = 2753;
const PG_PROC_OID: u32 = 1255;
const PG_EXTENSION_OID: u32 = 3079;
const PG_LANGUAGE_OID: u32 = 2612;
/// pg_type's `record`: what a function returning rows of several columns returns.
const RECORD_OID: u32 = 2249;

/// The system relations pg_dump reads that [`crate::catalog`] does not list. Empty unless
/// [`rows`] says otherwise: Orbit has no extensions but those CREATE EXTENSION installed
/// ([`crate::extensions`]), no functions of its own in pg_proc (its
/// built-in functions are not catalog objects with OIDs; the SQL functions CREATE FUNCTION
/// made are listed, [`crate::functions_sql`]), procedural languages (pg_language lists
/// initdb's internal, c and sql), operators or casts as catalog objects, text search objects, foreign data,
/// default privileges, conversions, range types, transforms, event triggers, subscriptions,
/// large objects or security labels.
pub(crate) const VIEWS: &[View] = &[
    View {
        schema: "pg_catalog",
        name: "pg_extension",
        oid: PG_EXTENSION_OID,
        columns: &[
            ("oid", I8),
            ("extname", T),
            ("extowner", I8),
            ("extnamespace", I8),
            ("extrelocatable", B),
            ("extversion", T),
            ("extconfig", I8A),
            ("extcondition", TA),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_proc",
        oid: PG_PROC_OID,
        columns: &[
            ("oid", I8),
            ("proname", T),
            ("pronamespace", I8),
            ("proowner", I8),
            ("prolang", I8),
            ("procost", F4),
            ("prorows", F4),
            ("provariadic", I8),
            ("prosupport", RP),
            ("prokind", C),
            ("prosecdef", B),
            ("proleakproof", B),
            ("proisstrict", B),
            ("proretset", B),
            ("provolatile", C),
            ("proparallel", C),
            ("pronargs", I2),
            ("pronargdefaults", I2),
            ("prorettype", I8),
            // oidvector in PostgreSQL: its text form here.
            ("proargtypes", T),
            ("proallargtypes", I8A),
            ("proargmodes", CA),
            ("proargnames", TA),
            ("proargdefaults", T),
            ("protrftypes", I8A),
            ("prosrc", T),
            ("probin", T),
            ("prosqlbody", T),
            ("proconfig", TA),
            ("proacl", TA),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_language",
        oid: PG_LANGUAGE_OID,
        columns: &[
            ("oid", I8),
            ("lanname", T),
            ("lanowner", I8),
            ("lanispl", B),
            ("lanpltrusted", B),
            ("lanplcallfoid", I8),
            ("laninline", I8),
            ("lanvalidator", I8),
            ("lanacl", TA),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_operator",
        oid: 2617,
        columns: &[
            ("oid", I8),
            ("oprname", T),
            ("oprnamespace", I8),
            ("oprowner", I8),
            ("oprkind", C),
            ("oprcanmerge", B),
            ("oprcanhash", B),
            ("oprleft", I8),
            ("oprright", I8),
            ("oprresult", I8),
            ("oprcom", I8),
            ("oprnegate", I8),
            ("oprcode", RP),
            ("oprrest", RP),
            ("oprjoin", RP),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_opfamily",
        oid: PG_OPFAMILY_OID,
        columns: &[
            ("oid", I8),
            ("opfmethod", I8),
            ("opfname", T),
            ("opfnamespace", I8),
            ("opfowner", I8),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_ts_parser",
        oid: 3601,
        columns: &[
            ("oid", I8),
            ("prsname", T),
            ("prsnamespace", I8),
            ("prsstart", RP),
            ("prstoken", RP),
            ("prsend", RP),
            ("prsheadline", RP),
            ("prslextype", RP),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_ts_template",
        oid: 3764,
        columns: &[
            ("oid", I8),
            ("tmplname", T),
            ("tmplnamespace", I8),
            ("tmplinit", RP),
            ("tmpllexize", RP),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_ts_dict",
        oid: 3600,
        columns: &[
            ("oid", I8),
            ("dictname", T),
            ("dictnamespace", I8),
            ("dictowner", I8),
            ("dicttemplate", I8),
            ("dictinitoption", T),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_ts_config",
        oid: 3602,
        columns: &[
            ("oid", I8),
            ("cfgname", T),
            ("cfgnamespace", I8),
            ("cfgowner", I8),
            ("cfgparser", I8),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_foreign_data_wrapper",
        oid: 2328,
        columns: &[
            ("oid", I8),
            ("fdwname", T),
            ("fdwowner", I8),
            ("fdwhandler", I8),
            ("fdwvalidator", I8),
            ("fdwacl", TA),
            ("fdwoptions", TA),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_foreign_server",
        oid: 1417,
        columns: &[
            ("oid", I8),
            ("srvname", T),
            ("srvowner", I8),
            ("srvfdw", I8),
            ("srvtype", T),
            ("srvversion", T),
            ("srvacl", TA),
            ("srvoptions", TA),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_foreign_table",
        oid: 3118,
        columns: &[("ftrelid", I8), ("ftserver", I8), ("ftoptions", TA), ("tableoid", I8)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_default_acl",
        oid: 826,
        columns: &[
            ("oid", I8),
            ("defaclrole", I8),
            ("defaclnamespace", I8),
            ("defaclobjtype", C),
            ("defaclacl", TA),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_conversion",
        oid: 2607,
        columns: &[
            ("oid", I8),
            ("conname", T),
            ("connamespace", I8),
            ("conowner", I8),
            ("conforencoding", I4),
            ("contoencoding", I4),
            ("conproc", RP),
            ("condefault", B),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_cast",
        oid: 2605,
        columns: &[
            ("oid", I8),
            ("castsource", I8),
            ("casttarget", I8),
            ("castfunc", I8),
            ("castcontext", C),
            ("castmethod", C),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_range",
        oid: 3541,
        columns: &[
            ("rngtypid", I8),
            ("rngsubtype", crate::catalog::O),
            ("rngmultitypid", I8),
            ("rngcollation", I8),
            ("rngsubopc", I8),
            ("rngcanonical", RP),
            ("rngsubdiff", RP),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_transform",
        oid: 3576,
        columns: &[
            ("oid", I8),
            ("trftype", I8),
            ("trflang", I8),
            ("trffromsql", RP),
            ("trftosql", RP),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_event_trigger",
        oid: 3466,
        columns: &[
            ("oid", I8),
            ("evtname", T),
            ("evtevent", T),
            ("evtowner", I8),
            ("evtfoid", I8),
            ("evtenabled", C),
            ("evttags", TA),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_subscription",
        oid: 6100,
        columns: &[
            ("oid", I8),
            ("subdbid", I8),
            ("subskiplsn", T),
            ("subname", T),
            ("subowner", I8),
            ("subenabled", B),
            ("subbinary", B),
            ("substream", B),
            ("subtwophasestate", C),
            ("subdisableonerr", B),
            ("subconninfo", T),
            ("subslotname", T),
            ("subsynccommit", T),
            ("subpublications", TA),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_largeobject_metadata",
        oid: 2995,
        columns: &[("oid", I8), ("lomowner", I8), ("lomacl", TA), ("tableoid", I8)],
    },
    View {
        schema: "pg_catalog",
        name: "pg_amop",
        oid: 2602,
        columns: &[
            ("oid", I8),
            ("amopfamily", I8),
            ("amoplefttype", I8),
            ("amoprighttype", I8),
            ("amopstrategy", I2),
            ("amoppurpose", C),
            ("amopopr", I8),
            ("amopmethod", I8),
            ("amopsortfamily", I8),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_amproc",
        oid: 2603,
        columns: &[
            ("oid", I8),
            ("amprocfamily", I8),
            ("amproclefttype", I8),
            ("amprocrighttype", I8),
            ("amprocnum", I2),
            ("amproc", RP),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_init_privs",
        oid: PG_INIT_PRIVS_OID,
        columns: &[
            ("objoid", I8),
            ("classoid", I8),
            ("objsubid", I4),
            ("privtype", C),
            ("initprivs", TA),
            ("tableoid", I8),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_seclabels",
        oid: 12099,
        columns: &[
            ("objoid", I8),
            ("classoid", I8),
            ("objsubid", I4),
            ("objtype", T),
            ("objnamespace", I8),
            ("objname", T),
            ("provider", T),
            ("label", T),
        ],
    },
    View {
        schema: "pg_catalog",
        name: "pg_shseclabel",
        oid: 3592,
        columns: &[("objoid", I8), ("classoid", I8), ("provider", T), ("label", T)],
    },
    // No ALTER ROLE / DATABASE ... SET in Orbit.
    View {
        schema: "pg_catalog",
        name: "pg_db_role_setting",
        oid: 2964,
        columns: &[("setdatabase", I8), ("setrole", I8), ("setconfig", TA)],
    },
    // The session's parameters ([`crate::settings`]) with PostgreSQL's descriptions of them
    // ([`crate::catalog_builtin::setting_info`]).
    View {
        schema: "pg_catalog",
        name: "pg_settings",
        oid: PG_SETTINGS_OID,
        columns: &[
            ("name", T),
            ("setting", T),
            ("unit", T),
            ("category", T),
            ("short_desc", T),
            ("extra_desc", T),
            ("context", T),
            ("vartype", T),
            ("source", T),
            ("min_val", T),
            ("max_val", T),
            ("enumvals", TA),
            ("boot_val", T),
            ("reset_val", T),
            ("sourcefile", T),
            ("sourceline", I4),
            ("pending_restart", B),
        ],
    },
];

/// The columns pg_dump reads that [`crate::catalog`]'s view with this OID lacks, appended
/// after its own (their values: [`extend`]).
pub(crate) fn extra_columns(oid: u32) -> &'static [(&'static str, SqlType)] {
    match oid {
        // pg_class
        1259 => &[
            ("tableoid", I8),
            ("reltype", I8),
            ("relpages", I4),
            ("relacl", TA),
            ("relfrozenxid", I8),
            ("relminmxid", I8),
            ("relispopulated", B),
            ("relfilenode", I8),
            ("relallvisible", I4),
            ("relisshared", B),
            ("relhassubclass", B),
            ("relrewrite", I8),
        ],
        // pg_database
        // (datdba, datlocprovider, daticulocale, datacl and dattablespace are the view's own.)
        1262 => &[
            ("tableoid", I8),
            ("datfrozenxid", I8),
            ("datistemplate", B),
            ("datconnlimit", I4),
            ("datminmxid", I8),
            ("datcollversion", T),
        ],
        // pg_type
        1247 => &[("tableoid", I8), ("typacl", TA), ("typowner", I8), ("typisdefined", B)],
        // pg_am
        2601 => &[("tableoid", I8), ("amhandler", RP)],
        // pg_collation
        3456 => &[("tableoid", I8), ("collowner", I8), ("collencoding", I4)],
        // pg_constraint
        2606 => &[("tableoid", I8), ("conislocal", B)],
        // pg_attribute
        1249 => &[
            ("attalign", C),
            ("attislocal", B),
            ("attoptions", TA),
            ("attfdwoptions", TA),
            ("atthasmissing", B),
            ("attmissingval", TA),
            ("attacl", TA),
        ],
        // pg_trigger
        2620 => &[("tableoid", I8), ("tgfoid", I8)],
        // pg_rewrite
        2618 => &[("tableoid", I8), ("is_instead", B), ("ev_enabled", C)],
        // pg_publication
        6104 => &[
            ("tableoid", I8),
            ("pubowner", I8),
            ("pubinsert", B),
            ("pubupdate", B),
            ("pubdelete", B),
            ("pubtruncate", B),
            ("pubviaroot", B),
        ],
        // pg_statistic_ext
        3381 => &[("tableoid", I8), ("stxowner", I8)],
        // pg_namespace, pg_opclass, pg_attrdef, pg_policy, pg_publication_rel,
        // pg_publication_namespace, pg_index, pg_depend
        2615 | 2616 | 2604 | 3256 | 6106 | 6237 => &[("tableoid", I8)],
        _ => &[],
    }
}

/// `attalign` of a column of type `t`: PostgreSQL's typalign.
fn align_of(t: SqlType) -> &'static str {
    match t {
        SqlType::Bool | SqlType::Uuid | SqlType::Char => "c",
        SqlType::Int2 => "s",
        SqlType::Int8
        | SqlType::Float8
        | SqlType::Timestamp(_)
        | SqlType::TimestampTz(_)
        | SqlType::Time(_)
        | SqlType::Interval(_) => "d",
        SqlType::Array(a) if align_of(a.elem()) == "d" => "d",
        _ => "i",
    }
}

/// Appends the values of [`extra_columns`] to each row of the view with this OID.
pub(crate) fn extend(oid: u32, rows: &mut [Row]) {
    let cols = extra_columns(oid);
    if cols.is_empty() {
        return;
    }
    for r in rows.iter_mut() {
        let added: Vec<Datum> = match oid {
            1259 => {
                // A relation with storage has a file node (its OID, as a new one has in
                // PostgreSQL); a view none.
                let stored = matches!(r.get(3), Some(Datum::Text(k)) if k != "v");
                let filenode = if stored { r.first().and_then(Datum::as_i64).unwrap_or(0) } else { 0 };
                // A materialized view no REFRESH filled is not populated.
                let populated = !matches!(r.get(3), Some(Datum::Text(k)) if k == "m")
                    || r.first().and_then(Datum::as_i64).and_then(|o| u32::try_from(o).ok()).is_none_or(|o| {
                        crate::catalog::user_tables()
                            .iter()
                            .all(|t| t.oid != o || t.matview.as_ref().is_none_or(|m| m.populated))
                    });
                vec![
                    Datum::Int8(oid as i64),
                    Datum::Int8(0),
                    Datum::Int4(0),
                    Datum::Null,
                    Datum::Int8(0),
                    Datum::Int8(0),
                    Datum::Bool(populated),
                    Datum::Int8(filenode),
                    Datum::Int4(0),
                    Datum::Bool(false),
                    Datum::Bool(false),
                    Datum::Int8(0),
                ]
            }
            1247 => vec![Datum::Int8(oid as i64), Datum::Null, Datum::Int8(10), Datum::Bool(true)],
            // The one database: owned by the bootstrap superuser, default privileges, libc
            // locale provider, in pg_default.
            1262 => vec![
                Datum::Int8(oid as i64),
                Datum::Int8(0),
                Datum::Bool(false),
                Datum::Int4(-1),
                Datum::Int8(0),
                Datum::Null,
            ],
            // heap_tableam_handler and bthandler's OIDs.
            2601 => {
                let handler = match r.first() {
                    Some(Datum::Int8(2)) => 3,
                    _ => 330,
                };
                vec![Datum::Int8(oid as i64), Datum::Oid(OidKind::RegProc, handler)]
            }
            // Every collation works with any encoding (-1), as the built-in ones in PostgreSQL.
            3456 => vec![Datum::Int8(oid as i64), Datum::Int8(10), Datum::Int4(-1)],
            2606 => vec![Datum::Int8(oid as i64), Datum::Bool(true)],
            1249 => {
                let ty = r.get(2).and_then(|d| d.as_i64()).and_then(|o| u32::try_from(o).ok());
                let align = ty.and_then(SqlType::from_oid).map_or("i", align_of);
                vec![
                    Datum::Text(align.to_string()),
                    Datum::Bool(true),
                    Datum::Null,
                    Datum::Null,
                    Datum::Bool(false),
                    Datum::Null,
                    Datum::Null,
                ]
            }
            6104 => {
                let mut v = vec![Datum::Int8(oid as i64), Datum::Int8(10)];
                v.extend((0..4).map(|_| Datum::Bool(true)));
                v.push(Datum::Bool(false));
                v
            }
            2620 | 3381 => vec![Datum::Int8(oid as i64), Datum::Int8(0)],
            2618 => vec![Datum::Int8(oid as i64), Datum::Bool(true), Datum::Text("O".into())],
            _ => vec![Datum::Int8(oid as i64)],
        };
        debug_assert_eq!(added.len(), cols.len());
        r.extend(added);
    }
}

/// Rows [`crate::catalog`]'s view with this OID lacks: pg_roles' `pg_database_owner`, the
/// role that owns the public schema (pg_namespace.nspowner 6171), which cannot log in;
/// pg_description's comments ([`crate::comment`]); pg_rewrite's view rules and the pg_depend
/// rows of views and column defaults.
pub(crate) fn extra_rows(oid: u32) -> Vec<Row> {
    match oid {
        // pg_description: initdb's comment on the public schema and COMMENT ON's comments.
        2609 => crate::comment::description_rows(),
        2618 => rewrite_rows(),
        2620 => crate::triggers::catalog_rows(),
        2608 => depend_rows(),
        12010 => vec![vec![
            Datum::Text("pg_database_owner".into()),
            Datum::Bool(false),
            Datum::Bool(true),
            Datum::Bool(false),
            Datum::Bool(false),
            Datum::Bool(false),
            Datum::Bool(false),
            Datum::Int4(-1),
            Datum::Bool(false),
            Datum::Int8(6171),
            Datum::Text("********".into()),
            Datum::Null,
            Datum::Null,
        ]],
        _ => vec![],
    }
}

/// The rows of one of [`VIEWS`], as they are now (None: not one of them).
pub(crate) fn rows(oid: u32, txn: &Txn) -> Option<Vec<Row>> {
    if !VIEWS.iter().any(|v| v.oid == oid) {
        return None;
    }
    Some(match oid {
        // The privileges initdb gave its schemas, which pg_namespace.nspacl shows.
        PG_INIT_PRIVS_OID => [
            (PG_CATALOG_NS, "{postgres=UC/postgres,=U/postgres}"),
            (crate::schema::PUBLIC_OID as i64, "{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}"),
        ]
        .into_iter()
        .map(|(ns, acl)| {
            vec![
                Datum::Int8(ns),
                Datum::Int8(PG_NAMESPACE_OID),
                Datum::Int4(0),
                Datum::Text("i".into()),
                acl_array(acl),
                Datum::Int8(PG_INIT_PRIVS_OID as i64),
            ]
        })
        .collect(),
        // The btree operator families of pg_opclass's classes.
        PG_OPFAMILY_OID => OPFAMILIES
            .iter()
            .map(|&(oid, name)| {
                vec![
                    Datum::Int8(oid),
                    Datum::Int8(403),
                    Datum::Text(name.into()),
                    Datum::Int8(PG_CATALOG_NS),
                    Datum::Int8(10),
                    Datum::Int8(PG_OPFAMILY_OID as i64),
                ]
            })
            .collect(),
        PG_SETTINGS_OID => settings_rows(txn),
        PG_PROC_OID => proc_rows(txn),
        // The extensions CREATE EXTENSION installed (crate::extensions).
        PG_EXTENSION_OID => crate::extensions::all()
            .into_iter()
            .map(|e| {
                vec![
                    Datum::Int8(e.oid as i64),
                    Datum::Text(e.name.clone()),
                    Datum::Int8(10),
                    Datum::Int8(crate::schema::oid_of(&e.schema).unwrap_or(0) as i64),
                    Datum::Bool(true),
                    Datum::Text(e.version.clone()),
                    Datum::Null,
                    Datum::Null,
                    Datum::Int8(PG_EXTENSION_OID as i64),
                ]
            })
            .collect(),
        // The languages initdb makes, plpgsql with the OIDs a PostgreSQL 15 cluster gives it
        // (its handler, inline and validator functions: lanispl), which pg_dump joins a
        // function's row with.
        PG_LANGUAGE_OID => [
            (12, "internal", false, false, [0, 0, 2246]),
            (13, "c", false, false, [0, 0, 2247]),
            (14, "sql", false, true, [0, 0, 2248]),
            (crate::plpgsql::LANG_PLPGSQL as i64, "plpgsql", true, true, [13560, 13561, 13562]),
        ]
        .into_iter()
        .map(|(oid, name, pl, trusted, [handler, inline, validator])| {
            vec![
                Datum::Int8(oid),
                Datum::Text(name.into()),
                Datum::Int8(10),
                Datum::Bool(pl),
                Datum::Bool(trusted),
                Datum::Int8(handler),
                Datum::Int8(inline),
                Datum::Int8(validator),
                Datum::Null,
                Datum::Int8(PG_LANGUAGE_OID as i64),
            ]
        })
        .collect(),
        _ => vec![],
    })
}

/// PostgreSQL 15's btree operator families of the operator classes Orbit lists (pg_opclass).
const OPFAMILIES: &[(i64, &str)] = &[
    (397, "array_ops"),
    (424, "bool_ops"),
    (426, "bpchar_ops"),
    (428, "bytea_ops"),
    (434, "datetime_ops"),
    (1970, "float_ops"),
    (1976, "integer_ops"),
    (1982, "interval_ops"),
    (1988, "numeric_ops"),
    (1989, "oid_ops"),
    (1994, "text_ops"),
    (1996, "time_ops"),
    (2000, "timetz_ops"),
    (2095, "text_pattern_ops"),
    (2097, "bpchar_pattern_ops"),
    (2968, "uuid_ops"),
    (4033, "jsonb_ops"),
];

// --- a sequence read as a relation (`SELECT last_value, is_called FROM s`)

/// The OID of the definitions [`sequence_relation`] makes (one for every sequence: which one
/// is in the definition's name).
pub(crate) const SEQUENCE_RELATION_OID: u32 = 12998;

thread_local! {
    /// Names of sequences this thread has seen exist (a sequence lives on the shard its name
    /// hashes to, so the binder, which cannot wait, does not know the others' names), and the
    /// relation the last bind on this thread did not find.
    static SEQUENCES: std::cell::RefCell<(std::collections::HashSet<String>, Option<String>)> =
        std::cell::RefCell::new(Default::default());
}

/// A FROM item names a relation that is no table here: noted, so the connection can ask
/// whether it is a sequence ([`take_missing_relation`]) and bind again.
pub(crate) fn note_missing_relation(name: &str) {
    SEQUENCES.with(|s| s.borrow_mut().1 = Some(name.to_string()));
}

/// The relation the last bind did not find (see [`note_missing_relation`]).
pub fn take_missing_relation() -> Option<String> {
    SEQUENCES.with(|s| s.borrow_mut().1.take())
}

/// `name` is a sequence ([`crate::sequence::exists`] said so): FROM finds it from now on.
pub fn know_sequence(name: String) {
    SEQUENCES.with(|s| {
        let mut s = s.borrow_mut();
        // A bound on what a session can make the thread keep: forget them all past it.
        if s.0.len() >= 10_000 {
            s.0.clear();
        }
        s.0.insert(name);
    })
}

/// A sequence as a FROM item: its one row, with PostgreSQL's columns (last_value, log_cnt,
/// is_called); None for a name not known to be a sequence.
pub(crate) fn sequence_relation(name: &str) -> Option<std::sync::Arc<orbit_engine::table::TableDef>> {
    use orbit_engine::table::{ColumnDef, TableDef};
    if !SEQUENCES.with(|s| s.borrow().0.contains(name)) {
        return None;
    }
    Some(std::sync::Arc::new(TableDef {
        name: name.to_string(),
        columns: vec![ColumnDef::new("last_value", I8), ColumnDef::new("log_cnt", I8), ColumnDef::new("is_called", B)],
        pk: vec![0],
        pk_name: String::new(),
        oid: SEQUENCE_RELATION_OID,
        ..TableDef::default_empty()
    }))
}

/// The row of a sequence read as a relation: log_cnt is 0 (Orbit logs every value it hands
/// out, PostgreSQL's log_cnt counts values logged ahead). A sequence dropped since it was
/// bound is 42P01, as PostgreSQL's lookup says.
pub(crate) async fn sequence_relation_rows(name: &str) -> crate::error::Result<Vec<Row>> {
    const LAST: usize = 6;
    const CALLED: usize = 7;
    match crate::sequence::row_of(name).await? {
        Some(r) => Ok(vec![vec![r[LAST].clone(), Datum::Int8(0), r[CALLED].clone()]]),
        None => {
            SEQUENCES.with(|s| s.borrow_mut().0.remove(name));
            Err(crate::error::SqlError::new(
                crate::error::code::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", crate::schema::relname(name)),
            ))
        }
    }
}

// --- views and column defaults as pg_dump reads them

/// A view's query as Orbit keeps it, for pg_get_viewdef where [`crate::viewdef`] does not
/// print it: each relation it names qualified by its schema unless the search path finds it
/// (pg_dump's empty path qualifies them all, so the text means the same in the restored
/// database), ending with `;` as PostgreSQL's text does.
pub(crate) fn view_text(sql: &str) -> String {
    use sqlparser::ast;
    use std::ops::ControlFlow;
    let Ok(mut stmts) = crate::bind::parse(sql) else { return format!("{sql};") };
    for s in &mut stmts {
        let _ = ast::visit_relations_mut(s, |name| {
            let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(crate::bind::fold_ident).collect();
            let catalog_name = match parts.as_slice() {
                // As the session's path finds it, else as the default path does (the view's
                // creator's; pg_dump's empty path finds nothing).
                [t] => crate::schema::resolve_unqualified(t)
                    .ok()
                    .filter(|n| crate::bind::lookup_table(n).is_some())
                    .or_else(|| Some(t.clone())),
                [.., s, t] => Some(crate::schema::qualify(s, t)),
                [] => None,
            };
            if let Some(def) = catalog_name.and_then(|n| crate::bind::lookup_table(&n)) {
                let (schema, rel) = crate::schema::split(&def.name);
                let shown = crate::regtypes::format(OidKind::RegClass, def.oid);
                let ident = |s: &str| ast::ObjectNamePart::Identifier(quoted(s));
                *name = match shown.contains('.') && !rel.contains('.') {
                    true => ast::ObjectName(vec![ident(schema), ident(rel)]),
                    false => ast::ObjectName(vec![ident(rel)]),
                };
            }
            ControlFlow::<()>::Continue(())
        });
    }
    let text: Vec<String> = stmts.iter().map(|s| crate::bind::markers_printed(&s.to_string())).collect();
    format!("{};", text.join("; "))
}

/// An identifier, quoted where PostgreSQL's quote_ident quotes it.
fn quoted(s: &str) -> sqlparser::ast::Ident {
    if crate::regtypes::quote_ident(s) == s {
        sqlparser::ast::Ident::new(s)
    } else {
        sqlparser::ast::Ident::with_quote('"', s)
    }
}

/// A view's `_RETURN` rule's OID (pg_rewrite.oid): its view's plus this.
const RULE_OID_OFFSET: i64 = 7_000_000;
const PG_REWRITE_OID: i64 = 2618;
const PG_ATTRDEF_OID: i64 = 2604;
const PG_CLASS_OID: i64 = 1259;

/// pg_rewrite: each view's `_RETURN` rule (its query), the rule pg_dump finds a view's
/// dependencies through.
fn rewrite_rows() -> Vec<Row> {
    crate::catalog::user_tables()
        .iter()
        .filter(|t| t.view.is_some())
        .map(|v| {
            vec![
                Datum::Int8(v.oid as i64 + RULE_OID_OFFSET),
                Datum::Text("_RETURN".into()),
                Datum::Int8(v.oid as i64),
                Datum::Text("1".into()),
            ]
        })
        .collect()
}

/// pg_depend rows besides the owned sequences' ([`crate::catalog_objects::depend_rows`]): a
/// view's rule on its view (internal) and on the relations its query reads (normal); a column
/// default on its column (automatic) and on the sequence a `nextval('s')` default takes values
/// from (normal), so pg_dump sets such a default after it created the sequence.
fn depend_rows() -> Vec<Row> {
    let tables = crate::catalog::user_tables();
    let row = |classid: i64, objid: i64, refobjid: i64, refsub: i32, deptype: &str| {
        vec![
            Datum::Int8(classid),
            Datum::Int8(objid),
            Datum::Int4(0),
            Datum::Int8(PG_CLASS_OID),
            Datum::Int8(refobjid),
            Datum::Int4(refsub),
            Datum::Text(deptype.into()),
        ]
    };
    let mut out = Vec::new();
    for t in &tables {
        if t.view.is_some() {
            let rule = t.oid as i64 + RULE_OID_OFFSET;
            // Internal on its view, and normal on it too (PostgreSQL records the query's own
            // reference to the view).
            out.push(row(PG_REWRITE_OID, rule, t.oid as i64, 0, "i"));
            out.push(row(PG_REWRITE_OID, rule, t.oid as i64, 0, "n"));
            for name in crate::exec::views::reads(t) {
                if let Some(r) = crate::bind::lookup_table(&name).filter(|r| r.oid != t.oid) {
                    out.push(row(PG_REWRITE_OID, rule, r.oid as i64, 0, "n"));
                }
            }
            continue;
        }
        for (i, c) in t.columns.iter().enumerate() {
            if c.identity != orbit_engine::table::Identity::No {
                continue;
            }
            if c.default_expr.is_none() && c.default.is_null() {
                continue;
            }
            let attrdef = crate::catalog::attrdef_oid(t, i);
            out.push(row(PG_ATTRDEF_OID, attrdef, t.oid as i64, i as i32 + 1, "a"));
            if let Some(seq) = crate::catalog_fns::column_sequence(c) {
                out.push(row(PG_ATTRDEF_OID, attrdef, crate::catalog::sequence_oid(&seq), 0, "n"));
            }
        }
    }
    out
}

/// pg_proc: the SQL functions CREATE FUNCTION made (those another open block created left
/// out), as PostgreSQL 15's ProcedureCreate fills their rows.
fn proc_rows(txn: &Txn) -> Vec<Row> {
    let oids = |ts: &[u32]| crate::stats::value_array(&ts.iter().map(|&t| Datum::Int8(t as i64)).collect::<Vec<_>>());
    let texts =
        |ts: &[String]| crate::stats::value_array(&ts.iter().map(|t| Datum::Text(t.clone())).collect::<Vec<_>>());
    crate::functions_sql::all_seen_by(Some(txn.id))
        .iter()
        .map(|f| {
            let arg_oids: Vec<u32> = f.args.iter().map(|a| a.ty.oid()).collect();
            let out_oids: Vec<u32> = f.out.iter().map(|c| c.1.oid()).collect();
            let mut names: Vec<String> = f.args.iter().map(|a| a.name.clone()).collect();
            // RETURNS TABLE's columns are parameters of mode 't' (proallargtypes, proargmodes).
            let (all, modes) = if f.out.is_empty() {
                (Datum::Null, Datum::Null)
            } else {
                names.extend(f.out.iter().map(|c| c.0.clone()));
                let mut modes = vec!["i".to_string(); f.args.len()];
                modes.extend(std::iter::repeat_n("t".to_string(), f.out.len()));
                (oids(&[arg_oids.clone(), out_oids].concat()), texts(&modes))
            };
            let names = if names.iter().all(String::is_empty) { Datum::Null } else { texts(&names) };
            let defaults = f.args.iter().filter(|a| a.default.is_some()).count();
            let ret = if f.returns_rows() || f.record {
                RECORD_OID
            } else if f.trigger {
                crate::triggers::TRIGGER_TYPE_OID
            } else {
                f.ret.oid()
            };
            let arg_text: Vec<String> = arg_oids.iter().map(u32::to_string).collect();
            vec![
                Datum::Int8(f.oid as i64),
                Datum::Text(crate::schema::relname(&f.name).to_string()),
                Datum::Int8(crate::schema::namespace_of(&f.name) as i64),
                Datum::Int8(10),
                Datum::Int8(
                    if f.plpgsql { crate::plpgsql::LANG_PLPGSQL } else { crate::functions_sql::LANG_SQL } as i64
                ),
                Datum::Float4(f.options.cost()),
                Datum::Float4(f.options.rows(f.setof)),
                Datum::Int8(0),
                Datum::Oid(OidKind::RegProc, 0),
                Datum::Text(if f.procedure { "p" } else { "f" }.into()),
                Datum::Bool(false),
                Datum::Bool(f.options.leakproof),
                Datum::Bool(f.strict),
                Datum::Bool(f.setof),
                Datum::Text(f.volatility.to_string()),
                Datum::Text("u".into()),
                Datum::Int2(f.args.len() as i16),
                Datum::Int2(defaults as i16),
                Datum::Int8(ret as i64),
                Datum::Text(arg_text.join(" ")),
                all,
                modes,
                names,
                Datum::Null,
                Datum::Null,
                Datum::Text(f.body.clone()),
                Datum::Null,
                Datum::Null,
                Datum::Null,
                Datum::Null,
                Datum::Int8(PG_PROC_OID as i64),
            ]
        })
        .collect()
}

/// An aclitem[] literal as the text[] Orbit shows ACLs as.
fn acl_array(lit: &str) -> Datum {
    let items: Vec<Datum> = lit
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Datum::Text(s.to_string()))
        .collect();
    crate::stats::value_array(&items)
}

/// pg_settings: every parameter PostgreSQL lists (not is_superuser or session_authorization)
/// with the session's value (as SHOW prints it, but times in milliseconds and memory in kB with
/// the unit in `unit`, as PostgreSQL's `setting` column). `source`: `override` for the
/// transaction's own parameters, `client` for an application_name the client sent, `session`
/// for another value than the default (SET, or a start-up parameter: Orbit applies those as
/// SETs), else `default`; `boot_val` Orbit's default (PostgreSQL's for the encodings and
/// locales), `reset_val` the default after a SET, else the value. No configuration file:
/// `sourcefile` and `sourceline` NULL.
fn settings_rows(txn: &Txn) -> Vec<Row> {
    let in_unit = |name: &str, v: &str| match name {
        "statement_timeout"
        | "lock_timeout"
        | "idle_in_transaction_session_timeout"
        | "idle_session_timeout"
        | "deadlock_timeout" => crate::settings::timeout(v).map_or(0, |d| d.as_millis()).to_string(),
        "orbit.query_memory_limit" | "work_mem" => (crate::settings::memory_bytes(v) / 1024).to_string(),
        "authentication_timeout" => crate::settings::timeout(v).map_or(0, |d| d.as_secs()).to_string(),
        "log_min_duration_statement" => crate::settings::log_min_duration(v).map_or("-1".into(), |ms| ms.to_string()),
        _ => v.to_string(),
    };
    let text = |s: &str| Datum::Text(s.to_string());
    let opt = |s: Option<&str>| s.map_or(Datum::Null, text);
    crate::settings::PARAMETERS
        .iter()
        .filter_map(|&(name, _, default)| {
            let info = crate::catalog_builtin::setting_info(name)?;
            let (_, category, short_desc, extra_desc, context, vartype, min_val, max_val, enumvals) = *info;
            let value = txn.settings.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone());
            let value = value.or_else(|| default.map(str::to_string));
            let unit = match name {
                "statement_timeout"
                | "lock_timeout"
                | "idle_in_transaction_session_timeout"
                | "idle_session_timeout"
                | "deadlock_timeout"
                | "log_min_duration_statement" => Some("ms"),
                "orbit.query_memory_limit" | "work_mem" => Some("kB"),
                "authentication_timeout" => Some("s"),
                _ => None,
            };
            let changed = value.is_some() && default.is_some() && value.as_deref() != default;
            let source = match name {
                "transaction_isolation" | "transaction_read_only" | "transaction_deferrable" => "override",
                "application_name" if changed => "client",
                // The server's flag, as PostgreSQL's `-c max_connections=` on its command line.
                "max_connections" if value.as_deref() != Some("100") => "command line",
                "authentication_timeout" if value.as_deref() != Some("1min") => "command line",
                _ if changed => "session",
                _ => "default",
            };
            // PostgreSQL's boot values of the encodings and locales, which the database's
            // replace (client_encoding has no default here: the client's, or UTF8).
            let boot = match name {
                "client_encoding" | "server_encoding" => Some("SQL_ASCII"),
                "lc_collate" | "lc_ctype" => Some("C"),
                "max_connections" => Some("100"),
                "authentication_timeout" => Some("1min"),
                _ => default,
            };
            let boot = boot.map(str::to_string).or_else(|| value.clone());
            let reset = if source == "session" { default.map(str::to_string) } else { value.clone() };
            let enumvals = if enumvals.is_empty() {
                Datum::Null
            } else {
                crate::stats::value_array(&enumvals.iter().map(|e| text(e)).collect::<Vec<_>>())
            };
            Some(vec![
                text(name),
                value.as_deref().map_or(Datum::Null, |v| text(&in_unit(name, v))),
                opt(unit),
                text(category),
                text(short_desc),
                opt(extra_desc),
                text(context),
                text(vartype),
                text(source),
                opt(min_val),
                opt(max_val),
                enumvals,
                boot.as_deref().map_or(Datum::Null, |v| text(&in_unit(name, v))),
                reset.as_deref().map_or(Datum::Null, |v| text(&in_unit(name, v))),
                Datum::Null,
                Datum::Null,
                Datum::Bool(false),
            ])
        })
        .collect()
}

/// acldefault(type, owner): the privileges an object of this kind has before any GRANT or
/// REVOKE (PostgreSQL's `acldefault`), as `aclitem[]`'s text items; `{}` for a kind without
/// default privileges; NULL for a letter that is no object kind (PostgreSQL raises an
/// internal error for one).
pub(crate) fn acldefault(kind: &str, owner: i64) -> Datum {
    let role = match owner {
        10 => "postgres".to_string(),
        6171 => "pg_database_owner".to_string(),
        n => n.to_string(),
    };
    let (owner_privs, public_privs) = match kind {
        "c" => ("", ""),
        "r" => ("arwdDxt", ""),
        "s" => ("rwU", ""),
        "d" => ("CTc", "Tc"),
        "f" => ("X", "X"),
        "l" => ("U", "U"),
        "L" => ("rw", ""),
        "n" => ("UC", ""),
        "t" => ("C", ""),
        "F" | "S" => ("U", ""),
        "T" => ("U", "U"),
        "p" => ("sA", ""),
        _ => return Datum::Null,
    };
    let mut items = Vec::new();
    if !public_privs.is_empty() {
        items.push(Datum::Text(format!("={public_privs}/{role}")));
    }
    if !owner_privs.is_empty() {
        items.push(Datum::Text(format!("{role}={owner_privs}/{role}")));
    }
    crate::stats::value_array(&items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(d: Datum) -> Vec<String> {
        match d {
            Datum::Array(a) => a.items.iter().map(|d| crate::types::to_text(d).unwrap_or_default()).collect(),
            _ => vec![],
        }
    }

    #[test]
    fn acldefault_is_postgresqls() {
        assert_eq!(items(acldefault("r", 10)), ["postgres=arwdDxt/postgres"]);
        assert_eq!(items(acldefault("f", 10)), ["=X/postgres", "postgres=X/postgres"]);
        assert_eq!(items(acldefault("n", 6171)), ["pg_database_owner=UC/pg_database_owner"]);
        assert!(items(acldefault("c", 10)).is_empty());
    }

    #[test]
    fn extra_values_match_extra_columns() {
        for oid in [1259, 1247, 2601, 3456, 2606, 1249, 2620, 2618, 6104, 3381, 2615] {
            let mut rows = vec![vec![Datum::Int8(2), Datum::Null, Datum::Int8(23)]];
            extend(oid, &mut rows);
            assert_eq!(rows[0].len(), 3 + extra_columns(oid).len(), "{oid}");
        }
    }
}
