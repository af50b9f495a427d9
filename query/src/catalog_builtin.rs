//! PostgreSQL 15's catalog values of the built-in objects Orbit has, which do not depend on
//! anything Orbit keeps: its types' input/output/receive/send/typmod functions, subscript
//! handlers and alignment (pg_type), the names of those functions (a `regproc` prints them),
//! and its parameters' categories, descriptions, contexts, types and bounds (pg_settings).
//! Read from PostgreSQL 15's own catalogs (`pg_type`, `pg_proc`, `pg_settings`).

/// A base type's pg_type entries Orbit does not compute: (type OID, typispreferred,
/// typsubscript, [typinput, typoutput, typreceive, typsend, typmodin, typmodout, typanalyze],
/// typalign).
#[rustfmt::skip]
const TYPES: &[(u32, bool, u32, [u32; 7], u8)] = &[
    (16, true, 0, [1242, 1243, 2436, 2437, 0, 0, 0], b'c'),
    (17, false, 0, [1244, 31, 2412, 2413, 0, 0, 0], b'i'),
    (18, false, 0, [1245, 33, 2434, 2435, 0, 0, 0], b'c'),
    (19, false, 6180, [34, 35, 2422, 2423, 0, 0, 0], b'c'),
    (20, false, 0, [460, 461, 2408, 2409, 0, 0, 0], b'd'),
    (21, false, 0, [38, 39, 2404, 2405, 0, 0, 0], b's'),
    (23, false, 0, [42, 43, 2406, 2407, 0, 0, 0], b'i'),
    (24, false, 0, [44, 45, 2444, 2445, 0, 0, 0], b'i'),
    (25, true, 0, [46, 47, 2414, 2415, 0, 0, 0], b'i'),
    (26, true, 0, [1798, 1799, 2418, 2419, 0, 0, 0], b'i'),
    (114, false, 0, [321, 322, 323, 324, 0, 0, 0], b'i'),
    (700, false, 0, [200, 201, 2424, 2425, 0, 0, 0], b'i'),
    (701, true, 0, [214, 215, 2426, 2427, 0, 0, 0], b'd'),
    (705, false, 0, [109, 110, 2416, 2417, 0, 0, 0], b'c'),
    (1042, false, 0, [1044, 1045, 2430, 2431, 2913, 2914, 0], b'i'),
    (1043, false, 0, [1046, 1047, 2432, 2433, 2915, 2916, 0], b'i'),
    (1082, false, 0, [1084, 1085, 2468, 2469, 0, 0, 0], b'i'),
    (1083, false, 0, [1143, 1144, 2470, 2471, 2909, 2910, 0], b'd'),
    (1114, false, 0, [1312, 1313, 2474, 2475, 2905, 2906, 0], b'd'),
    (1184, true, 0, [1150, 1151, 2476, 2477, 2907, 2908, 0], b'd'),
    (1186, true, 0, [1160, 1161, 2478, 2479, 2903, 2904, 0], b'd'),
    (1266, false, 0, [1350, 1351, 2472, 2473, 2911, 2912, 0], b'd'),
    (1700, false, 0, [1701, 1702, 2460, 2461, 2917, 2918, 0], b'i'),
    (2202, false, 0, [2212, 2213, 2446, 2447, 0, 0, 0], b'i'),
    (2205, false, 0, [2218, 2219, 2452, 2453, 0, 0, 0], b'i'),
    (2206, false, 0, [2220, 2221, 2454, 2455, 0, 0, 0], b'i'),
    (2950, false, 0, [2952, 2953, 2961, 2962, 0, 0, 0], b'c'),
    (3802, false, 6098, [3806, 3804, 3805, 3803, 0, 0, 0], b'i'),
    (4072, false, 0, [4001, 4003, 4002, 4004, 0, 0, 0], b'i'),
    (4089, false, 0, [4084, 4085, 4087, 4088, 0, 0, 0], b'i'),
];

/// An array type's functions (array_in, array_out, array_recv, array_send, its element's
/// typmod functions, array_typanalyze) and subscript handler (array_subscript_handler).
pub(crate) const ARRAY_IO: [u32; 4] = [750, 751, 2400, 2401];
pub(crate) const ARRAY_TYPANALYZE: u32 = 3816;
pub(crate) const ARRAY_SUBSCRIPT: u32 = 6179;

/// The pg_type columns of [`TYPES`] for one type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TypeIo {
    pub(crate) preferred: bool,
    pub(crate) subscript: u32,
    /// typinput, typoutput, typreceive, typsend, typmodin, typmodout, typanalyze.
    pub(crate) procs: [u32; 7],
    pub(crate) align: char,
}

/// The functions and alignment of the type with this OID; an array type's from its element
/// (`elem`): PostgreSQL's array functions, the element's typmod functions, and double
/// alignment only for an element aligned so.
pub(crate) fn type_io(oid: u32, elem: Option<u32>) -> Option<TypeIo> {
    let base = |o: u32| TYPES.iter().find(|t| t.0 == o);
    match elem {
        None => base(oid).map(|t| TypeIo { preferred: t.1, subscript: t.2, procs: t.3, align: t.4 as char }),
        Some(e) => base(e).map(|t| {
            let [i, o, r, s] = ARRAY_IO;
            TypeIo {
                preferred: false,
                subscript: ARRAY_SUBSCRIPT,
                procs: [i, o, r, s, t.3[4], t.3[5], ARRAY_TYPANALYZE],
                align: if t.4 == b'd' { 'd' } else { 'i' },
            }
        }),
    }
}

/// PostgreSQL 15's functions named by the catalog rows Orbit lists (the types' functions
/// above, the access methods' handlers), by OID: (OID, name, argument types as
/// pg_get_function_identity_arguments prints them).
#[rustfmt::skip]
const PROCS: &[(u32, &str, &str)] = &[
    (3, "heap_tableam_handler", "internal"), (31, "byteaout", "bytea"), (33, "charout", "\"char\""),
    (34, "namein", "cstring"), (35, "nameout", "name"),
    (38, "int2in", "cstring"), (39, "int2out", "smallint"), (42, "int4in", "cstring"), (43, "int4out", "integer"),
    (44, "regprocin", "cstring"), (45, "regprocout", "regproc"), (46, "textin", "cstring"),
    (47, "textout", "text"), (109, "unknownin", "cstring"), (110, "unknownout", "unknown"),
    (200, "float4in", "cstring"), (201, "float4out", "real"), (214, "float8in", "cstring"),
    (215, "float8out", "double precision"), (321, "json_in", "cstring"), (322, "json_out", "json"),
    (323, "json_recv", "internal"), (324, "json_send", "json"), (330, "bthandler", "internal"),
    (460, "int8in", "cstring"), (461, "int8out", "bigint"), (750, "array_in", "cstring, oid, integer"),
    (751, "array_out", "anyarray"), (1044, "bpcharin", "cstring, oid, integer"), (1045, "bpcharout", "character"),
    (1046, "varcharin", "cstring, oid, integer"), (1047, "varcharout", "character varying"),
    (1084, "date_in", "cstring"), (1085, "date_out", "date"), (1143, "time_in", "cstring, oid, integer"),
    (1144, "time_out", "time without time zone"), (1150, "timestamptz_in", "cstring, oid, integer"),
    (1151, "timestamptz_out", "timestamp with time zone"), (1160, "interval_in", "cstring, oid, integer"),
    (1161, "interval_out", "interval"), (1242, "boolin", "cstring"), (1243, "boolout", "boolean"),
    (1244, "byteain", "cstring"), (1245, "charin", "cstring"), (1312, "timestamp_in", "cstring, oid, integer"),
    (1313, "timestamp_out", "timestamp without time zone"), (1350, "timetz_in", "cstring, oid, integer"),
    (1351, "timetz_out", "time with time zone"), (1701, "numeric_in", "cstring, oid, integer"),
    (1702, "numeric_out", "numeric"), (1798, "oidin", "cstring"), (1799, "oidout", "oid"),
    (2212, "regprocedurein", "cstring"), (2213, "regprocedureout", "regprocedure"),
    (2218, "regclassin", "cstring"), (2219, "regclassout", "regclass"), (2220, "regtypein", "cstring"),
    (2221, "regtypeout", "regtype"), (2400, "array_recv", "internal, oid, integer"),
    (2401, "array_send", "anyarray"), (2404, "int2recv", "internal"), (2405, "int2send", "smallint"),
    (2406, "int4recv", "internal"), (2407, "int4send", "integer"), (2408, "int8recv", "internal"),
    (2409, "int8send", "bigint"), (2412, "bytearecv", "internal"), (2413, "byteasend", "bytea"),
    (2414, "textrecv", "internal"), (2415, "textsend", "text"), (2416, "unknownrecv", "internal"),
    (2417, "unknownsend", "unknown"), (2418, "oidrecv", "internal"), (2419, "oidsend", "oid"),
    (2422, "namerecv", "internal"), (2423, "namesend", "name"), (2424, "float4recv", "internal"),
    (2425, "float4send", "real"), (2426, "float8recv", "internal"),
    (2427, "float8send", "double precision"), (2430, "bpcharrecv", "internal, oid, integer"),
    (2431, "bpcharsend", "character"), (2432, "varcharrecv", "internal, oid, integer"),
    (2433, "varcharsend", "character varying"), (2434, "charrecv", "internal"),
    (2435, "charsend", "\"char\""),
    (2436, "boolrecv", "internal"), (2437, "boolsend", "boolean"), (2444, "regprocrecv", "internal"),
    (2445, "regprocsend", "regproc"), (2446, "regprocedurerecv", "internal"),
    (2447, "regproceduresend", "regprocedure"), (2452, "regclassrecv", "internal"),
    (2453, "regclasssend", "regclass"), (2454, "regtyperecv", "internal"), (2455, "regtypesend", "regtype"),
    (2460, "numeric_recv", "internal, oid, integer"), (2461, "numeric_send", "numeric"),
    (2468, "date_recv", "internal"), (2469, "date_send", "date"), (2470, "time_recv", "internal, oid, integer"),
    (2471, "time_send", "time without time zone"), (2472, "timetz_recv", "internal, oid, integer"),
    (2473, "timetz_send", "time with time zone"), (2474, "timestamp_recv", "internal, oid, integer"),
    (2475, "timestamp_send", "timestamp without time zone"), (2476, "timestamptz_recv", "internal, oid, integer"),
    (2477, "timestamptz_send", "timestamp with time zone"), (2478, "interval_recv", "internal, oid, integer"),
    (2479, "interval_send", "interval"), (2903, "intervaltypmodin", "cstring[]"),
    (2904, "intervaltypmodout", "integer"), (2905, "timestamptypmodin", "cstring[]"),
    (2906, "timestamptypmodout", "integer"), (2907, "timestamptztypmodin", "cstring[]"),
    (2908, "timestamptztypmodout", "integer"), (2909, "timetypmodin", "cstring[]"),
    (2910, "timetypmodout", "integer"), (2911, "timetztypmodin", "cstring[]"),
    (2912, "timetztypmodout", "integer"), (2913, "bpchartypmodin", "cstring[]"),
    (2914, "bpchartypmodout", "integer"), (2915, "varchartypmodin", "cstring[]"),
    (2916, "varchartypmodout", "integer"), (2917, "numerictypmodin", "cstring[]"),
    (2918, "numerictypmodout", "integer"), (2952, "uuid_in", "cstring"), (2953, "uuid_out", "uuid"),
    (2961, "uuid_recv", "internal"), (2962, "uuid_send", "uuid"), (3504, "enum_in", "cstring"),
    (3505, "enum_out", "anyenum"), (3532, "enum_recv", "internal, oid"), (3533, "enum_send", "anyenum"), (3803, "jsonb_send", "jsonb"),
    (3804, "jsonb_out", "jsonb"), (3805, "jsonb_recv", "internal"), (3806, "jsonb_in", "cstring"),
    (3816, "array_typanalyze", "internal"), (4001, "jsonpath_in", "cstring"),
    (4002, "jsonpath_recv", "internal"), (4003, "jsonpath_out", "jsonpath"), (4004, "jsonpath_send", "jsonpath"),
    (4084, "regnamespacein", "cstring"),
    (4085, "regnamespaceout", "regnamespace"), (4087, "regnamespacerecv", "internal"),
    (4088, "regnamespacesend", "regnamespace"), (6098, "jsonb_subscript_handler", "internal"),
    (6179, "array_subscript_handler", "internal"), (6180, "raw_array_subscript_handler", "internal"),
];

/// The name a `regproc` of this OID prints (None: a function Orbit lists nowhere).
pub(crate) fn proc_name(oid: u32) -> Option<&'static str> {
    PROCS.binary_search_by_key(&oid, |p| p.0).ok().map(|i| PROCS[i].1)
}

/// The argument types of the listed function with this OID, each as format_type prints it.
pub(crate) fn proc_args(oid: u32) -> Option<Vec<&'static str>> {
    let args = PROCS.binary_search_by_key(&oid, |p| p.0).ok().map(|i| PROCS[i].2)?;
    Some(if args.is_empty() { Vec::new() } else { args.split(", ").collect() })
}

/// The OID of the listed function of this name (its regproc input).
pub(crate) fn proc_oid(name: &str) -> Option<u32> {
    PROCS.iter().find(|p| p.1 == name).map(|p| p.0)
}

/// PostgreSQL 15's btree equality operators between the types Orbit has: (OID, left type,
/// right type); varchar compares with text's.
#[rustfmt::skip]
const EQUALITY: &[(i64, u32, u32)] = &[
    (15, 23, 20), (91, 16, 16), (92, 18, 18), (94, 21, 21), (96, 23, 23), (98, 25, 25), (410, 20, 20),
    (416, 20, 23), (532, 21, 23), (533, 23, 21), (607, 26, 26), (620, 700, 700), (670, 701, 701),
    (1054, 1042, 1042), (1093, 1082, 1082), (1108, 1083, 1083), (1120, 700, 701), (1130, 701, 700),
    (1320, 1184, 1184), (1330, 1186, 1186), (1550, 1266, 1266), (1752, 1700, 1700), (1862, 21, 20), (1868, 20, 21),
    (1955, 17, 17), (2060, 1114, 1114), (2347, 1082, 1114), (2360, 1082, 1184), (2373, 1114, 1082),
    (2386, 1184, 1082), (2536, 1114, 1184), (2542, 1184, 1114), (2972, 2950, 2950), (3240, 3802, 3802),
];

/// The equality operator `left = right` a foreign key's checks use (pg_constraint's
/// conpfeqop, conppeqop, conffeqop), by type OIDs (None: no such operator).
pub(crate) fn equality_operator(left: u32, right: u32) -> Option<i64> {
    let class = |t: u32| if t == 1043 { 25 } else { t };
    EQUALITY.iter().find(|e| e.1 == class(left) && e.2 == class(right)).map(|e| e.0)
}

/// A parameter's pg_settings description: (name, category, short_desc, extra_desc, context,
/// vartype, min_val, max_val, enumvals).
pub(crate) type SettingInfo = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static [&'static str],
);

/// PostgreSQL 15's descriptions of the parameters Orbit has ([`crate::settings::PARAMETERS`];
/// server_version_num's bounds are Orbit's value), and Orbit's own two.
#[rustfmt::skip]
const SETTINGS: &[SettingInfo] = &[
    ("DateStyle", "Client Connection Defaults / Locale and Formatting", "Sets the display format for date and time values.", Some("Also controls interpretation of ambiguous date inputs."), "user", "string", None, None, &[]),
    ("IntervalStyle", "Client Connection Defaults / Locale and Formatting", "Sets the display format for interval values.", None, "user", "enum", None, None, &["postgres", "postgres_verbose", "sql_standard", "iso_8601"]),
    ("TimeZone", "Client Connection Defaults / Locale and Formatting", "Sets the time zone for displaying and interpreting time stamps.", None, "user", "string", None, None, &[]),
    ("application_name", "Reporting and Logging / What to Log", "Sets the application name to be reported in statistics and logs.", None, "user", "string", None, None, &[]),
    ("authentication_timeout", "Connections and Authentication / Authentication", "Sets the maximum allowed time to complete client authentication.", None, "sighup", "integer", Some("1"), Some("600"), &[]),
    ("bytea_output", "Client Connection Defaults / Statement Behavior", "Sets the output format for bytea.", None, "user", "enum", None, None, &["escape", "hex"]),
    ("check_function_bodies", "Client Connection Defaults / Statement Behavior", "Check routine bodies during CREATE FUNCTION and CREATE PROCEDURE.", None, "user", "bool", None, None, &[]),
    ("client_encoding", "Client Connection Defaults / Locale and Formatting", "Sets the client's character set encoding.", None, "user", "string", None, None, &[]),
    ("client_min_messages", "Client Connection Defaults / Statement Behavior", "Sets the message levels that are sent to the client.", Some("Each level includes all the levels that follow it. The later the level, the fewer messages are sent."), "user", "enum", None, None, &["debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error"]),
    ("cpu_index_tuple_cost", "Query Tuning / Planner Cost Constants", "Sets the planner's estimate of the cost of processing each index entry during an index scan.", None, "user", "real", Some("0"), Some("1.79769e+308"), &[]),
    ("cpu_operator_cost", "Query Tuning / Planner Cost Constants", "Sets the planner's estimate of the cost of processing each operator or function call.", None, "user", "real", Some("0"), Some("1.79769e+308"), &[]),
    ("cpu_tuple_cost", "Query Tuning / Planner Cost Constants", "Sets the planner's estimate of the cost of processing each tuple (row).", None, "user", "real", Some("0"), Some("1.79769e+308"), &[]),
    ("default_statistics_target", "Query Tuning / Other Planner Options", "Sets the default statistics target.", Some("This applies to table columns that have not had a column-specific target set via ALTER TABLE SET STATISTICS."), "user", "integer", Some("1"), Some("10000"), &[]),
    ("default_table_access_method", "Client Connection Defaults / Statement Behavior", "Sets the default table access method for new tables.", None, "user", "string", None, None, &[]),
    ("default_tablespace", "Client Connection Defaults / Statement Behavior", "Sets the default tablespace to create tables and indexes in.", Some("An empty string selects the database's default tablespace."), "user", "string", None, None, &[]),
    ("default_transaction_deferrable", "Client Connection Defaults / Statement Behavior", "Sets the default deferrable status of new transactions.", None, "user", "bool", None, None, &[]),
    ("default_transaction_isolation", "Client Connection Defaults / Statement Behavior", "Sets the transaction isolation level of each new transaction.", None, "user", "enum", None, None, &["serializable", "repeatable read", "read committed", "read uncommitted"]),
    ("default_transaction_read_only", "Client Connection Defaults / Statement Behavior", "Sets the default read-only status of new transactions.", None, "user", "bool", None, None, &[]),
    ("enable_async_append", "Query Tuning / Planner Method Configuration", "Enables the planner's use of async append plans.", None, "user", "bool", None, None, &[]),
    ("enable_bitmapscan", "Query Tuning / Planner Method Configuration", "Enables the planner's use of bitmap-scan plans.", None, "user", "bool", None, None, &[]),
    ("enable_gathermerge", "Query Tuning / Planner Method Configuration", "Enables the planner's use of gather merge plans.", None, "user", "bool", None, None, &[]),
    ("enable_hashagg", "Query Tuning / Planner Method Configuration", "Enables the planner's use of hashed aggregation plans.", None, "user", "bool", None, None, &[]),
    ("enable_hashjoin", "Query Tuning / Planner Method Configuration", "Enables the planner's use of hash join plans.", None, "user", "bool", None, None, &[]),
    ("enable_incremental_sort", "Query Tuning / Planner Method Configuration", "Enables the planner's use of incremental sort steps.", None, "user", "bool", None, None, &[]),
    ("enable_indexonlyscan", "Query Tuning / Planner Method Configuration", "Enables the planner's use of index-only-scan plans.", None, "user", "bool", None, None, &[]),
    ("enable_indexscan", "Query Tuning / Planner Method Configuration", "Enables the planner's use of index-scan plans.", None, "user", "bool", None, None, &[]),
    ("enable_material", "Query Tuning / Planner Method Configuration", "Enables the planner's use of materialization.", None, "user", "bool", None, None, &[]),
    ("enable_memoize", "Query Tuning / Planner Method Configuration", "Enables the planner's use of memoization.", None, "user", "bool", None, None, &[]),
    ("enable_mergejoin", "Query Tuning / Planner Method Configuration", "Enables the planner's use of merge join plans.", None, "user", "bool", None, None, &[]),
    ("enable_nestloop", "Query Tuning / Planner Method Configuration", "Enables the planner's use of nested-loop join plans.", None, "user", "bool", None, None, &[]),
    ("enable_parallel_append", "Query Tuning / Planner Method Configuration", "Enables the planner's use of parallel append plans.", None, "user", "bool", None, None, &[]),
    ("enable_parallel_hash", "Query Tuning / Planner Method Configuration", "Enables the planner's use of parallel hash plans.", None, "user", "bool", None, None, &[]),
    ("enable_partition_pruning", "Query Tuning / Planner Method Configuration", "Enables plan-time and execution-time partition pruning.", Some("Allows the query planner and executor to compare partition bounds to conditions in the query to determine which partitions must be scanned."), "user", "bool", None, None, &[]),
    ("enable_partitionwise_aggregate", "Query Tuning / Planner Method Configuration", "Enables partitionwise aggregation and grouping.", None, "user", "bool", None, None, &[]),
    ("enable_partitionwise_join", "Query Tuning / Planner Method Configuration", "Enables partitionwise join.", None, "user", "bool", None, None, &[]),
    ("enable_seqscan", "Query Tuning / Planner Method Configuration", "Enables the planner's use of sequential-scan plans.", None, "user", "bool", None, None, &[]),
    ("enable_sort", "Query Tuning / Planner Method Configuration", "Enables the planner's use of explicit sort steps.", None, "user", "bool", None, None, &[]),
    ("enable_tidscan", "Query Tuning / Planner Method Configuration", "Enables the planner's use of TID scan plans.", None, "user", "bool", None, None, &[]),
    ("escape_string_warning", "Version and Platform Compatibility / Previous PostgreSQL Versions", "Warn about backslash escapes in ordinary string literals.", None, "user", "bool", None, None, &[]),
    ("extra_float_digits", "Client Connection Defaults / Locale and Formatting", "Sets the number of digits displayed for floating-point values.", Some("This affects real, double precision, and geometric data types. A zero or negative parameter value is added to the standard number of digits (FLT_DIG or DBL_DIG as appropriate). Any value greater than zero selects precise output mode."), "user", "integer", Some("-15"), Some("3"), &[]),
    ("hash_mem_multiplier", "Resource Usage / Memory", "Multiple of work_mem to use for hash tables.", None, "user", "real", Some("1"), Some("1000"), &[]),
    ("idle_in_transaction_session_timeout", "Client Connection Defaults / Statement Behavior", "Sets the maximum allowed idle time between queries, when in a transaction.", Some("A value of 0 turns off the timeout."), "user", "integer", Some("0"), Some("2147483647"), &[]),
    ("idle_session_timeout", "Client Connection Defaults / Statement Behavior", "Sets the maximum allowed idle time between queries, when not in a transaction.", Some("A value of 0 turns off the timeout."), "user", "integer", Some("0"), Some("2147483647"), &[]),
    ("in_hot_standby", "Preset Options", "Shows whether hot standby is currently active.", None, "internal", "bool", None, None, &[]),
    ("integer_datetimes", "Preset Options", "Shows whether datetimes are integer based.", None, "internal", "bool", None, None, &[]),
    ("jit", "Query Tuning / Other Planner Options", "Allow JIT compilation.", None, "user", "bool", None, None, &[]),
    ("jit_above_cost", "Query Tuning / Planner Cost Constants", "Perform JIT compilation if query is more expensive.", Some("-1 disables JIT compilation."), "user", "real", Some("-1"), Some("1.79769e+308"), &[]),
    ("jit_expressions", "Developer Options", "Allow JIT compilation of expressions.", None, "user", "bool", None, None, &[]),
    ("jit_inline_above_cost", "Query Tuning / Planner Cost Constants", "Perform JIT inlining if query is more expensive.", Some("-1 disables inlining."), "user", "real", Some("-1"), Some("1.79769e+308"), &[]),
    ("jit_optimize_above_cost", "Query Tuning / Planner Cost Constants", "Optimize JIT-compiled functions if query is more expensive.", Some("-1 disables optimization."), "user", "real", Some("-1"), Some("1.79769e+308"), &[]),
    ("jit_provider", "Client Connection Defaults / Shared Library Preloading", "JIT provider to use.", None, "postmaster", "string", None, None, &[]),
    ("jit_tuple_deforming", "Developer Options", "Allow JIT compilation of tuple deforming.", None, "user", "bool", None, None, &[]),
    ("lc_collate", "Preset Options", "Shows the collation order locale.", None, "internal", "string", None, None, &[]),
    ("lc_ctype", "Preset Options", "Shows the character classification and case conversion locale.", None, "internal", "string", None, None, &[]),
    ("lc_numeric", "Client Connection Defaults / Locale and Formatting", "Sets the locale for formatting numbers.", None, "user", "string", None, None, &[]),
    ("deadlock_timeout", "Lock Management", "Sets the time to wait on a lock before checking for deadlock.", None, "superuser", "integer", Some("1"), Some("2147483647"), &[]),
    ("lock_timeout", "Client Connection Defaults / Statement Behavior", "Sets the maximum allowed duration of any wait for a lock.", Some("A value of 0 turns off the timeout."), "user", "integer", Some("0"), Some("2147483647"), &[]),
    ("log_min_duration_statement", "Reporting and Logging / When to Log", "Sets the minimum execution time above which all statements will be logged.", Some("Zero prints all queries. -1 turns this feature off."), "superuser", "integer", Some("-1"), Some("2147483647"), &[]),
    ("max_connections", "Connections and Authentication / Connection Settings", "Sets the maximum number of concurrent connections.", None, "postmaster", "integer", Some("1"), Some("262143"), &[]),
    ("max_identifier_length", "Preset Options", "Shows the maximum identifier length.", None, "internal", "integer", Some("63"), Some("63"), &[]),
    ("max_index_keys", "Preset Options", "Shows the maximum number of index keys.", None, "internal", "integer", Some("32"), Some("32"), &[]),
    ("orbit.query_memory_limit", "Resource Usage / Memory", "Sets the maximum memory one statement may hold on its coordinating shard.", Some("A statement past it fails with SQLSTATE 53200."), "user", "integer", Some("0"), Some("2147483647"), &[]),
    ("orbit_version", "Preset Options", "Shows the Orbit server version.", None, "internal", "string", None, None, &[]),
    ("parallel_tuple_cost", "Query Tuning / Planner Cost Constants", "Sets the planner's estimate of the cost of passing each tuple (row) from worker to leader backend.", None, "user", "real", Some("0"), Some("1.79769e+308"), &[]),
    ("quote_all_identifiers", "Version and Platform Compatibility / Previous PostgreSQL Versions", "When generating SQL fragments, quote all identifiers.", None, "user", "bool", None, None, &[]),
    ("random_page_cost", "Query Tuning / Planner Cost Constants", "Sets the planner's estimate of the cost of a nonsequentially fetched disk page.", None, "user", "real", Some("0"), Some("1.79769e+308"), &[]),
    ("row_security", "Client Connection Defaults / Statement Behavior", "Enable row security.", Some("When enabled, row security will be applied to all users."), "user", "bool", None, None, &[]),
    ("search_path", "Client Connection Defaults / Statement Behavior", "Sets the schema search order for names that are not schema-qualified.", None, "user", "string", None, None, &[]),
    ("seq_page_cost", "Query Tuning / Planner Cost Constants", "Sets the planner's estimate of the cost of a sequentially fetched disk page.", None, "user", "real", Some("0"), Some("1.79769e+308"), &[]),
    ("log_statement", "Reporting and Logging / What to Log", "Sets the type of statements logged.", None, "superuser", "enum", None, None, &["none", "ddl", "mod", "all"]),
    ("transform_null_equals", "Version and Platform Compatibility / Other Platforms and Clients", "Treats \"expr=NULL\" as \"expr IS NULL\".", Some("When turned on, expressions of the form expr = NULL (or NULL = expr) are treated as expr IS NULL, that is, they return true if expr evaluates to the null value, and false otherwise. The correct behavior of expr = NULL is to always return null (unknown)."), "user", "bool", None, None, &[]),
    ("session_replication_role", "Client Connection Defaults / Statement Behavior", "Sets the session's behavior for triggers and rewrite rules.", None, "superuser", "enum", None, None, &["origin", "replica", "local"]),
    ("server_encoding", "Preset Options", "Shows the server (database) character set encoding.", None, "internal", "string", None, None, &[]),
    ("server_version", "Preset Options", "Shows the server version.", None, "internal", "string", None, None, &[]),
    ("server_version_num", "Preset Options", "Shows the server version as an integer.", None, "internal", "integer", Some("150000"), Some("150000"), &[]),
    ("standard_conforming_strings", "Version and Platform Compatibility / Previous PostgreSQL Versions", "Causes '...' strings to treat backslashes literally.", None, "user", "bool", None, None, &[]),
    ("statement_timeout", "Client Connection Defaults / Statement Behavior", "Sets the maximum allowed duration of any statement.", Some("A value of 0 turns off the timeout."), "user", "integer", Some("0"), Some("2147483647"), &[]),
    ("synchronize_seqscans", "Version and Platform Compatibility / Previous PostgreSQL Versions", "Enable synchronized sequential scans.", None, "user", "bool", None, None, &[]),
    ("synchronous_commit", "Write-Ahead Log / Settings", "Sets the current transaction's synchronization level.", None, "user", "enum", None, None, &["local", "remote_write", "remote_apply", "on", "off"]),
    ("transaction_deferrable", "Client Connection Defaults / Statement Behavior", "Whether to defer a read-only serializable transaction until it can be executed with no possible serialization failures.", None, "user", "bool", None, None, &[]),
    ("transaction_isolation", "Client Connection Defaults / Statement Behavior", "Sets the current transaction's isolation level.", None, "user", "enum", None, None, &["serializable", "repeatable read", "read committed", "read uncommitted"]),
    ("transaction_read_only", "Client Connection Defaults / Statement Behavior", "Sets the current transaction's read-only status.", None, "user", "bool", None, None, &[]),
    ("work_mem", "Resource Usage / Memory", "Sets the maximum memory to be used for query workspaces.", Some("This much memory can be used by each internal sort operation and hash table (hash_mem_multiplier times it). Orbit does not spill to disk: an operator past it fails the statement with SQLSTATE 53200."), "user", "integer", Some("64"), Some("2147483647"), &[]),
    ("xmloption", "Client Connection Defaults / Statement Behavior", "Sets whether XML data in implicit parsing and serialization operations is to be considered as documents or content fragments.", None, "user", "enum", None, None, &["content", "document"]),
];

/// The description of parameter `name` (None: one pg_settings does not list, as PostgreSQL
/// hides is_superuser and session_authorization).
pub(crate) fn setting_info(name: &str) -> Option<&'static SettingInfo> {
    SETTINGS.iter().find(|s| s.0 == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procs_are_sorted_and_named() {
        assert!(PROCS.windows(2).all(|w| w[0].0 < w[1].0));
        for t in TYPES {
            for p in t.3.iter().filter(|p| **p != 0) {
                assert!(proc_name(*p).is_some(), "{p}");
            }
        }
        assert_eq!(proc_name(42), Some("int4in"));
        assert_eq!(type_io(1007, Some(23)).map(|t| t.procs[0]), Some(750));
    }

    #[test]
    fn every_parameter_is_described() {
        for (name, _, _) in crate::settings::PARAMETERS {
            let hidden = matches!(*name, "is_superuser" | "session_authorization" | "role");
            assert_eq!(setting_info(name).is_some(), !hidden, "{name}");
        }
    }
}
