//! Run-time parameters a session can `SET`, `RESET` and `SHOW`: their canonical names, their
//! defaults, and the values Orbit honours. A parameter whose value would change behaviour that
//! Orbit does not have (a DateStyle output other than ISO) is
//! refused with 0A000 rather than accepted and ignored; an unknown parameter is 42704 and a
//! malformed value 22023, as PostgreSQL answers.

use crate::error::{code, Result, SqlError};
use std::cell::RefCell;
use std::rc::Rc;

/// A session's parameters and their values (SHOW's), as the connection keeps them.
pub type Session = Rc<Vec<(&'static str, String)>>;

/// The parameters a bind read, each with its value then (None: a custom parameter the session
/// did not have).
pub type Read = Vec<(String, Option<String>)>;

/// How many custom parameter names one thread keeps (each is kept for the process's life, as
/// the session's parameter list names parameters by `&'static str`).
const CUSTOM_NAMES: usize = 4096;

thread_local! {
    /// The parameters of the session whose statement is being bound, and the ones the bind
    /// read (`current_setting(name)` binds to the value: [`bound_value`]).
    static BINDING: RefCell<(Option<Session>, Read)> = const { RefCell::new((None, Vec::new())) };
    /// Custom parameter names (`app.user_id`) by their lower-case form, as first spelled.
    static CUSTOM: RefCell<std::collections::HashMap<String, &'static str>> = RefCell::new(Default::default());
}

/// The next bind is for a statement of the session with these parameters (set right before
/// the binder runs, as [`crate::relation_lock::bind_as`]; the outermost bind's end forgets it).
pub fn bind_with(session: Session) {
    BINDING.with(|b| b.borrow_mut().0 = Some(session));
}

/// The outermost bind starts: no parameter read yet.
pub(crate) fn bind_started() {
    BINDING.with(|b| b.borrow_mut().1.clear());
    crate::cost::forget_constants();
}

/// Forgets the session of the bind that ended.
pub(crate) fn bind_ended() {
    BINDING.with(|b| b.borrow_mut().0 = None);
    crate::cost::forget_constants();
    crate::datetime::bind_clock(None);
}

/// Parameter `name`'s value in the session being bound (None: no session, or no such
/// parameter); noted, so that a prepared statement is bound again once it changes
/// ([`changed`]). A custom parameter's absence is noted too: once the session sets it, the
/// statement binds again and reads it.
pub(crate) fn bound_value(name: &str) -> Option<String> {
    let key = match canonical(name) {
        Some(canon) => canon.to_string(),
        None if name.contains('.') => name.to_ascii_lowercase(),
        None => return None,
    };
    BINDING.with(|b| {
        let mut b = b.borrow_mut();
        let v = value_in(b.0.as_ref()?, &key);
        if !b.1.iter().any(|(k, _)| *k == key) {
            b.1.push((key, v.clone()));
        }
        v
    })
}

/// Parameter `name`'s value in `session` (a custom one's name in any case).
fn value_in(session: &[(&'static str, String)], name: &str) -> Option<String> {
    session.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
}

/// Parameter `name`'s value in the session being bound, not noted (a statement does not bind
/// again when it changes).
pub(crate) fn peek_value(name: &str) -> Option<String> {
    let canon = canonical(name)?;
    BINDING.with(|b| b.borrow().0.as_ref()?.iter().find(|(k, _)| *k == canon).map(|(_, v)| v.clone()))
}

/// The parameters the last bind read, with their values then.
pub(crate) fn read_by_bind() -> Read {
    BINDING.with(|b| b.borrow().1.clone())
}

/// Whether a parameter a statement read when it was bound (`read`) has another value in the
/// session now (or a custom one it lacked exists now): the statement is bound again, as
/// PostgreSQL re-plans a cached statement.
pub fn changed(read: &Read, session: &[(&'static str, String)]) -> bool {
    read.iter().any(|(k, v)| value_in(session, k) != *v)
}

/// Whether `name` (a name [`set_value`] returned) is a custom parameter: one no module defines,
/// which a session makes by setting it (PostgreSQL's placeholder variables). SHOW ALL and
/// pg_settings do not list them; RESET and a rolled-back SET make them empty, not absent.
pub fn is_custom(name: &str) -> bool {
    canonical(name).is_none()
}

/// The custom parameter `name` (`SET app.user_id = 7`, `set_config('request.jwt', ..)`), as
/// PostgreSQL's find_option makes a placeholder: two or more identifiers joined by dots, and
/// not under the prefix `orbit`, which Orbit's own parameters reserve (as a loaded module
/// reserves its prefix in PostgreSQL). A name without a dot is an unknown parameter.
pub fn custom(name: &str) -> Result<&'static str> {
    if !name.contains('.') {
        return Err(unrecognized(name));
    }
    let invalid_name = || SqlError::new(code::INVALID_NAME, format!("invalid configuration parameter name \"{name}\""));
    if !valid_custom_name(name) {
        return Err(
            invalid_name().detail("Custom parameter names must be two or more simple identifiers separated by dots.")
        );
    }
    let prefix = &name[..name.find('.').unwrap_or(0)];
    if prefix.eq_ignore_ascii_case("orbit") {
        return Err(invalid_name().detail(format!("\"{prefix}\" is a reserved prefix.")));
    }
    let key = name.to_ascii_lowercase();
    CUSTOM.with(|names| {
        let mut names = names.borrow_mut();
        if let Some(n) = names.get(&key) {
            return Ok(*n);
        }
        if names.len() >= CUSTOM_NAMES {
            return Err(SqlError::new(
                "53400",
                format!("too many custom configuration parameters (at most {CUSTOM_NAMES} names)"),
            ));
        }
        let kept: &'static str = Box::leak(name.to_string().into_boxed_str());
        names.insert(key, kept);
        Ok(kept)
    })
}

/// PostgreSQL's valid_custom_variable_name: identifiers (a letter, `_` or a non-ASCII byte,
/// then also digits and `$`) joined by single dots, at least two of them.
fn valid_custom_name(name: &str) -> bool {
    name.split('.').count() >= 2
        && name.split('.').all(|part| {
            let mut bytes = part.bytes();
            bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b >= 0x80)
                && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80)
        })
}

/// Canonical name, whether PostgreSQL reports it to the client (ParameterStatus) when it
/// changes, and its default (None: set at start-up from the connection).
pub const PARAMETERS: &[(&str, bool, Option<&str>)] = &[
    ("application_name", true, Some("")),
    ("client_encoding", true, None),
    ("client_min_messages", false, Some("notice")),
    ("DateStyle", true, Some("ISO, MDY")),
    ("default_transaction_isolation", false, Some("read committed")),
    ("default_transaction_read_only", true, Some("off")),
    ("default_transaction_deferrable", false, Some("off")),
    ("extra_float_digits", false, Some("1")),
    // How long a session may sit idle in an open block / outside one before it is ended with
    // PostgreSQL's FATAL 25P03 / 57P05 (0: no limit; net/src/pg/conn.rs `idle_limit`).
    ("idle_in_transaction_session_timeout", false, Some("0")),
    ("idle_session_timeout", false, Some("0")),
    ("in_hot_standby", true, Some("off")),
    ("integer_datetimes", true, Some("on")),
    ("IntervalStyle", true, Some("postgres")),
    ("is_superuser", true, Some("on")),
    ("lock_timeout", false, Some("0")),
    // How long a lock wait lasts before the deadlock check runs (crate::txn::Cancel).
    ("deadlock_timeout", false, Some("1s")),
    ("search_path", false, Some("\"$user\", public")),
    ("server_encoding", true, Some("UTF8")),
    ("server_version", true, Some("15.0")),
    ("session_authorization", true, None),
    // SET ROLE: `none`, or the one role (crate::bind `role_setting`).
    ("role", false, Some("none")),
    ("standard_conforming_strings", true, Some("on")),
    ("statement_timeout", false, Some("0")),
    ("TimeZone", true, Some("UTC")),
    ("transaction_isolation", false, Some("read committed")),
    ("transaction_read_only", false, Some("off")),
    ("transaction_deferrable", false, Some("off")),
    ("orbit_version", true, None),
    // The memory one statement may hold on its coordinating shard (crate::memory).
    ("orbit.query_memory_limit", false, Some("4GB")),
    // Planner switch (PostgreSQL's): whether a join step may merge inputs in key order.
    ("enable_mergejoin", false, Some("on")),
    // Planner switches: whether a join step may be hashed, or looked up by key in its table's
    // key or index for each row so far (a nested loop); off is a penalty, not a ban
    // (crate::index_join::Methods).
    ("enable_hashjoin", false, Some("on")),
    ("enable_nestloop", false, Some("on")),
    // Planner switch: whether GROUP BY may hash its groups; off, a grouping whose keys all sort
    // runs as PostgreSQL's GroupAggregate over a Sort and gives its groups in key order
    // (crate::group::Strategy). A key that cannot be sorted still hashes (a penalty, not a ban).
    ("enable_hashagg", false, Some("on")),
    // Planner switches: whether a table may be read whole (a sequential scan) or through its
    // primary key or an index (an index scan) when both can answer the WHERE clause; off is
    // PostgreSQL's disable_cost penalty on that path (crate::index::Access), so a table no
    // key or index serves is still read whole under enable_seqscan = off.
    ("enable_seqscan", false, Some("on")),
    ("enable_indexscan", false, Some("on")),
    // Planner switches for nodes no plan of Orbit's contains (it has no bitmap heap scans,
    // index-only scans, explicit Material or Memoize nodes, parallel workers (Gather Merge,
    // Parallel Append, Parallel Hash), incremental sorts, TID scans, declarative partitions or
    // async Append): both values are accepted and change nothing, exactly as PostgreSQL's own
    // switch does on a plan without such a node. enable_sort: Orbit has no ordered index scan
    // that could deliver ORDER BY's order instead of sorting, so every ORDER BY sorts, as
    // PostgreSQL does under enable_sort = off when no other path gives the order.
    ("enable_bitmapscan", false, Some("on")),
    ("enable_indexonlyscan", false, Some("on")),
    ("enable_sort", false, Some("on")),
    ("enable_material", false, Some("on")),
    ("enable_memoize", false, Some("on")),
    ("enable_gathermerge", false, Some("on")),
    ("enable_incremental_sort", false, Some("on")),
    ("enable_parallel_append", false, Some("on")),
    ("enable_parallel_hash", false, Some("on")),
    ("enable_partition_pruning", false, Some("on")),
    ("enable_partitionwise_join", false, Some("off")),
    ("enable_partitionwise_aggregate", false, Some("off")),
    ("enable_tidscan", false, Some("on")),
    ("enable_async_append", false, Some("on")),
    // How bytea values print as text (`hex` or `escape`): result rows, COPY TO, casts to text,
    // arrays, `||`, format() and JSON ([`crate::types::TextStyle`]).
    ("bytea_output", false, Some("hex")),
    // The memory one sort or hash operator of a statement may hold on the coordinating shard
    // before the statement fails with 53200 (crate::memory::Held::sort, Held::hash). PostgreSQL
    // spills such an operator to disk past work_mem; Orbit does not spill, so past it the
    // statement fails, as it does past orbit.query_memory_limit, which still bounds the whole
    // statement. The default is the default statement bound (4GB, not PostgreSQL's 4MB), so a
    // session that never sets work_mem runs exactly as before the parameter existed.
    ("work_mem", false, Some("4GB")),
    // A hash operator (hash join build table, hash aggregate, DISTINCT and set-operation hash
    // sets) may hold work_mem times this, as in PostgreSQL.
    ("hash_mem_multiplier", false, Some("2")),
    // PostgreSQL's planner cost constants: EXPLAIN's costs (and the plan it draws) read the
    // values the statement is bound with (crate::cost::constants); the executor's own choices,
    // made as it runs with actual row counts (broadcast or shuffle, merge or hash join), use
    // PostgreSQL's defaults.
    ("seq_page_cost", false, Some("1")),
    // Statements that ran at least this long are written to the server's log with their
    // duration, as PostgreSQL's `LOG:  duration: ... ms  statement: ...` (-1: none, 0: all;
    // net/src/pg/conn.rs, [`log_min_duration`]).
    ("log_min_duration_statement", false, Some("-1")),
    // Which statements are written to the server's log when they arrive, as PostgreSQL's
    // `LOG:  statement: ...` / `execute <name>: ...` (none, ddl, mod, all; [`logs_statement`]).
    ("log_statement", false, Some("none")),
    // `replica`: foreign keys are neither checked nor acted on (crate::foreign_key), as
    // PostgreSQL's RI triggers do not fire in a replica session (Orbit has no other triggers
    // or rules); `origin` and `local` enforce them.
    ("session_replication_role", false, Some("origin")),
    // `on`: `expr = NULL` (a NULL constant on either side) is bound as `expr IS NULL`, as in
    // PostgreSQL (crate::bind `null_equals`).
    ("transform_null_equals", false, Some("off")),
    // Most common values and histogram buckets ANALYZE keeps per column (and 300 times it rows
    // sampled), read when ANALYZE is bound (crate::stats).
    ("default_statistics_target", false, Some("100")),
    ("random_page_cost", false, Some("4")),
    ("cpu_tuple_cost", false, Some("0.01")),
    ("cpu_index_tuple_cost", false, Some("0.005")),
    ("cpu_operator_cost", false, Some("0.0025")),
    ("parallel_tuple_cost", false, Some("0.1")),
    // Orbit compiles no expressions: it behaves as a PostgreSQL built without LLVM, where `jit`
    // is accepted and nothing is ever compiled, `jit_provider` is `llvmjit` (the provider
    // PostgreSQL would load) and pg_jit_available() is false.
    ("jit", false, Some("on")),
    ("jit_provider", false, Some("llvmjit")),
    // JIT's cost thresholds and switches, accepted as such a PostgreSQL accepts them (no query
    // is ever compiled, whatever their values).
    ("jit_above_cost", false, Some("100000")),
    ("jit_inline_above_cost", false, Some("500000")),
    ("jit_optimize_above_cost", false, Some("500000")),
    ("jit_expressions", false, Some("on")),
    ("jit_tuple_deforming", false, Some("on")),
    // `off`: a commit on one shard is acknowledged before its log record is synced under
    // `--fsync always` (crate::txn::Txn::commit); it is still written by the group commit
    // under way, and a later synchronous commit on that shard makes it durable with its own.
    // `local`, `remote_write` and `remote_apply` are `on` (Orbit has no standbys). A commit
    // spanning shards stays synchronous: its two-phase commit needs its records durable.
    ("synchronous_commit", false, Some("on")),
    // Preset (read-only) parameters drivers read: SET is 55P02, as in PostgreSQL.
    ("lc_collate", false, Some("C.UTF-8")),
    ("lc_ctype", false, Some("C.UTF-8")),
    // How to_char/to_number write numbers' locale symbols: Orbit has the C locale's only.
    ("lc_numeric", false, Some("C.UTF-8")),
    ("server_version_num", false, Some("150000")),
    // pgjdbc reads it from pg_settings before getImportedKeys/getExportedKeys.
    ("max_index_keys", false, Some("32")),
    // NAMEDATALEN - 1: longer names are cut (bind/long_names.rs).
    ("max_identifier_length", false, Some("63")),
    // The server's `--pg-max-connections` and `--pg-authentication-timeout` (set per session
    // at start-up, so no default here).
    ("max_connections", false, None),
    ("authentication_timeout", false, None),
    // Parameters pg_dump sets (query/src/catalog_dump.rs has the catalogs it reads).
    ("quote_all_identifiers", false, Some("off")),
    ("row_security", false, Some("on")),
    ("synchronize_seqscans", false, Some("on")),
    // Parameters a pg_dump script sets.
    ("check_function_bodies", false, Some("on")),
    ("xmloption", false, Some("content")),
    ("default_tablespace", false, Some("")),
    ("default_table_access_method", false, Some("heap")),
    // Warns of backslashes in '...' literals when standard_conforming_strings is off, which
    // Orbit never is: either value behaves as PostgreSQL's does with it on.
    ("escape_string_warning", false, Some("on")),
];

/// The canonical spelling of a parameter name (names are case-insensitive).
pub fn canonical(name: &str) -> Option<&'static str> {
    PARAMETERS.iter().map(|p| p.0).find(|p| p.eq_ignore_ascii_case(name))
}

/// Whether changes of this parameter go to the client as ParameterStatus.
pub fn reported(name: &str) -> bool {
    PARAMETERS.iter().any(|p| p.0 == name && p.1)
}

pub fn default_value(name: &str) -> Option<&'static str> {
    PARAMETERS.iter().find(|p| p.0 == name).and_then(|p| p.2)
}

fn unrecognized(name: &str) -> SqlError {
    SqlError::new(code::UNDEFINED_OBJECT, format!("unrecognized configuration parameter \"{name}\""))
}

fn invalid(name: &str, value: &str) -> SqlError {
    SqlError::new(code::INVALID_PARAMETER_VALUE, format!("invalid value for parameter \"{name}\": \"{value}\""))
}

fn only(name: &str, what: &str) -> SqlError {
    SqlError::unsupported(format!("parameter \"{name}\" can only be {what} in Orbit"))
}

fn read_only(name: &str) -> SqlError {
    SqlError::new("55P02", format!("parameter \"{name}\" cannot be changed"))
}

/// A Boolean parameter value as PostgreSQL's parse_bool reads it: on/off, true/false, yes/no,
/// 1/0 and unambiguous prefixes of the words, in any case.
fn boolean(v: &str) -> Option<bool> {
    let v = v.trim().to_ascii_lowercase();
    let prefix = |word: &str, min: usize| v.len() >= min && word.starts_with(v.as_str());
    if v == "1" || prefix("true", 1) || prefix("yes", 1) || prefix("on", 2) {
        Some(true)
    } else if v == "0" || prefix("false", 1) || prefix("no", 1) || prefix("off", 2) {
        Some(false)
    } else {
        None
    }
}

/// A time in milliseconds as SHOW prints it: in the largest unit that holds it exactly.
pub fn show_ms(ms: i64) -> String {
    if ms == 0 {
        return "0".into();
    }
    for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1_000)] {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// A `statement_timeout`/`lock_timeout` value as SHOW prints it, as a duration (None: 0, no
/// limit).
pub fn timeout(shown: &str) -> Option<std::time::Duration> {
    let digits: String = shown.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n: u64 = digits.parse().ok()?;
    let ms = match &shown[digits.len()..] {
        "d" => n * 86_400_000,
        "h" => n * 3_600_000,
        "min" => n * 60_000,
        "s" => n * 1_000,
        _ => n,
    };
    (ms > 0).then(|| std::time::Duration::from_millis(ms))
}

/// Whether `log_statement` (its value as SHOW prints it) logs a query string holding
/// `stmts`: `all` any, `mod` one that changes data or the schema, `ddl` one that changes the
/// schema (PostgreSQL's GetCommandLogLevel classes).
pub fn logs_statement(setting: &str, stmts: &[sqlparser::ast::Statement]) -> bool {
    let least = match setting {
        "all" => return !stmts.is_empty(),
        "mod" => LogClass::Mod,
        "ddl" => LogClass::Ddl,
        _ => return false,
    };
    stmts.iter().any(|s| log_class(s) >= least)
}

/// The classes of log_statement, least logged last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LogClass {
    All,
    Mod,
    Ddl,
}

fn log_class(stmt: &sqlparser::ast::Statement) -> LogClass {
    use sqlparser::ast::{SetExpr, Statement as S};
    match stmt {
        // SELECT ... INTO creates a table.
        S::Query(q) => match q.body.as_ref() {
            SetExpr::Select(sel) if sel.into.is_some() => LogClass::Ddl,
            _ => LogClass::All,
        },
        S::Insert(_) | S::Update { .. } | S::Delete(_) | S::Merge { .. } | S::Truncate { .. } => LogClass::Mod,
        S::Copy { to, .. } => {
            if *to {
                LogClass::All
            } else {
                LogClass::Mod
            }
        }
        S::Explain { analyze: true, statement, .. } | S::Prepare { statement, .. } => log_class(statement),
        S::Explain { .. } => LogClass::All,
        other => {
            let text = other.to_string();
            let first = text.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
            // Statements Orbit reads in its own grammar arrive as a marker SET holding them
            // (CREATE/ALTER/DROP DOMAIN, ALTER actions not built).
            let marked =
                first == "SET" && (text.contains("\"orbit domain\"") || text.contains("\"orbit not supported\""));
            if marked || matches!(first.as_str(), "CREATE" | "ALTER" | "DROP" | "GRANT" | "REVOKE" | "COMMENT") {
                LogClass::Ddl
            } else {
                LogClass::All
            }
        }
    }
}

/// A `log_min_duration_statement` value as SHOW prints it, in milliseconds (None: -1, off).
pub fn log_min_duration(shown: &str) -> Option<u64> {
    if shown.starts_with('-') {
        return None;
    }
    Some(timeout(shown).map_or(0, |d| d.as_millis() as u64))
}

/// Memory units as PostgreSQL's memory parameters take them, largest first, in kB.
const MEMORY_UNITS: [(&str, u64); 4] = [("TB", 1 << 30), ("GB", 1 << 20), ("MB", 1 << 10), ("kB", 1)];

/// An `orbit.query_memory_limit` value as SHOW prints it, in bytes.
pub fn memory_bytes(shown: &str) -> usize {
    let digits: String = shown.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n: u64 = digits.parse().unwrap_or(0);
    let kb = MEMORY_UNITS.iter().find(|(u, _)| *u == &shown[digits.len()..]).map_or(1, |(_, k)| *k);
    usize::try_from(n.saturating_mul(kb).saturating_mul(1024)).unwrap_or(usize::MAX)
}

/// The bounds of one sort and one hash table of a session with these parameters (`work_mem`,
/// `hash_mem_multiplier`; [`crate::memory::Held::sort`]).
pub fn operator_limits(settings: &[(&'static str, String)]) -> crate::memory::OperatorLimits {
    let value =
        |name: &str| settings.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str()).or_else(|| default_value(name));
    let work_mem = memory_bytes(value("work_mem").unwrap_or("4GB"));
    let multiplier = value("hash_mem_multiplier").and_then(|v| v.parse().ok()).unwrap_or(2.0);
    crate::memory::OperatorLimits::of(work_mem, multiplier)
}

/// A memory setting (`'64MB'`, `'1.5GB'`, a bare number of kB) as SHOW prints it, as PostgreSQL's
/// parse_int reads `work_mem`: a number (a fraction too), then one of the units B, kB, MB, GB, TB
/// (case-sensitive), rounded to whole kB; past the integer range it is no value ("Value exceeds
/// integer range."), and it must be at least 64kB.
fn memory_value(canon: &str, v: &str) -> Result<String> {
    let t = v.trim();
    let number_len = t
        .char_indices()
        .take_while(|&(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && (c == '+' || c == '-')))
        .count();
    let n: f64 = t[..number_len].parse().map_err(|_| invalid(canon, v))?;
    let unit = t[number_len..].trim();
    let kb = match unit {
        "" | "kB" => n,
        "B" => n / 1024.0,
        _ => match MEMORY_UNITS.iter().find(|(u, _)| *u == unit) {
            Some((_, k)) => n * *k as f64,
            None => {
                return Err(invalid(canon, v)
                    .hint("Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\"."))
            }
        },
    }
    .round_ties_even();
    if !(i32::MIN as f64..=i32::MAX as f64).contains(&kb) {
        return Err(invalid(canon, v).hint("Value exceeds integer range."));
    }
    let kb = kb as i64;
    if !(64..=i32::MAX as i64).contains(&kb) {
        return Err(SqlError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("{kb} kB is outside the valid range for parameter \"{canon}\" (64 .. 2147483647)"),
        ));
    }
    let kb = kb as u64;
    let (unit, size) = MEMORY_UNITS.iter().find(|(_, k)| kb.is_multiple_of(*k)).copied().unwrap_or(("kB", 1));
    Ok(format!("{}{unit}", kb / size))
}

/// A real parameter's value as PostgreSQL reads it (strtod, then the range check) and as SHOW
/// prints it (`%g`: six significant digits).
fn real_value(canon: &str, v: &str, min: f64, max: f64) -> Result<String> {
    let n: f64 = v.trim().parse().ok().filter(|n: &f64| n.is_finite()).ok_or_else(|| invalid(canon, v))?;
    if !(min..=max).contains(&n) {
        return Err(SqlError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("{} is outside the valid range for parameter \"{canon}\" ({} .. {})", g(n), g(min), g(max)),
        ));
    }
    Ok(g(n))
}

/// C's `%g` of a value in a parameter's range (at most six significant digits, no exponent for
/// the magnitudes parameters have).
fn g(n: f64) -> String {
    // %g's exponent form past six digits (`1e+06`, jit_above_cost's `1.79769e+308`).
    if n.abs() >= 1e6 {
        let e = format!("{n:.5e}");
        let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        let exp: i32 = exp.parse().unwrap_or(0);
        return format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let digits = 6 - (n.abs().max(1.0).log10().floor() as i32 + 1);
    let s = format!("{:.*}", digits.max(0) as usize, n);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `RESET name` and `SET name TO DEFAULT` of a parameter no session can change (a preset one,
/// `jit_provider`): PostgreSQL's 55P02, as for SET. Others reset to their session default.
pub fn check_resettable(canon: &'static str) -> Result<()> {
    // RESET session_authorization is PostgreSQL's RESET SESSION AUTHORIZATION (back to the
    // session's user, which Orbit never changed).
    if canon == "session_authorization" {
        return Ok(());
    }
    // SET with the default (or an empty value) is refused with 55P02 exactly for these.
    let probe = default_value(canon).unwrap_or("").to_string();
    match set_value(canon, &[probe]) {
        Err(e) if e.code == "55P02" => Err(e),
        _ => Ok(()),
    }
}

/// Checks `SET name = values` and returns the canonical name and the value as SHOW prints it.
pub fn set_value(name: &str, values: &[String]) -> Result<(&'static str, String)> {
    let one_of = |canon: &str| -> Result<&str> {
        match values {
            [v] => Ok(v.as_str()),
            _ => Err(SqlError::new(code::INVALID_PARAMETER_VALUE, format!("SET {canon} takes only one argument"))),
        }
    };
    let Some(canon) = canonical(name) else {
        // A custom parameter's value is any one string, kept as written.
        let canon = custom(name)?;
        return Ok((canon, one_of(name)?.to_string()));
    };
    let joined = values.join(", ");
    let one = || one_of(canon);
    let int = |v: &str| v.trim().parse::<i64>().map_err(|_| invalid(canon, v));
    let value = match canon {
        "application_name" => {
            // PostgreSQL keeps printable ASCII only, turning the rest into '?'.
            one()?.chars().map(|c| if (' '..='~').contains(&c) { c } else { '?' }).collect()
        }
        "client_encoding" => {
            let v = one()?;
            match v.to_ascii_uppercase().replace(['-', '_'], "").as_str() {
                "UTF8" | "UNICODE" => "UTF8".to_string(),
                "SQLASCII" | "LATIN1" | "WIN1252" | "EUCJP" | "SJIS" => return Err(only(canon, "UTF8")),
                _ => return Err(invalid(canon, v)),
            }
        }
        "DateStyle" => {
            let words: Vec<String> = values
                .iter()
                .flat_map(|v| v.split(',').map(|w| w.trim().to_ascii_uppercase()).collect::<Vec<_>>())
                .collect();
            // The output style is ISO only; the field order (how `01/02/03` reads) is any.
            let mut order = "MDY";
            for w in &words {
                match w.as_str() {
                    "ISO" | "DEFAULT" => {}
                    "MDY" | "US" | "NONEURO" | "NONEUROPEAN" => order = "MDY",
                    "DMY" | "EURO" | "EUROPEAN" => order = "DMY",
                    "YMD" => order = "YMD",
                    "SQL" | "POSTGRES" | "GERMAN" => return Err(only(canon, "ISO")),
                    _ => return Err(invalid(canon, &joined)),
                }
            }
            format!("ISO, {order}")
        }
        "IntervalStyle" => match one()?.to_ascii_lowercase().as_str() {
            v @ ("postgres" | "postgres_verbose" | "sql_standard" | "iso_8601") => v.to_string(),
            v => {
                // An enum parameter's error names it as written (PostgreSQL's parse_and_validate_value).
                return Err(invalid(&name.to_ascii_lowercase(), v)
                    .hint("Available values: postgres, postgres_verbose, sql_standard, iso_8601."));
            }
        },
        // An IANA zone name, a number of hours east of UTC, or a POSIX TZ rule (crate::zone).
        "TimeZone" => crate::zone::setting(one()?)?,
        "standard_conforming_strings" => match one()?.to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" | "1" => "on".to_string(),
            "off" | "false" | "no" | "0" => return Err(only(canon, "on")),
            v => return Err(invalid(canon, v)),
        },
        // The access mode and DEFERRABLE of the transaction and of the session's next ones
        // (the connection applies transaction_* to its open block: `set_transaction`).
        "default_transaction_read_only"
        | "transaction_read_only"
        | "default_transaction_deferrable"
        | "transaction_deferrable" => match boolean(one()?) {
            Some(true) => "on".to_string(),
            Some(false) => "off".to_string(),
            None => {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("parameter \"{canon}\" requires a Boolean value"),
                ))
            }
        },
        "lc_numeric" => {
            let v = one()?;
            match v {
                "C" | "POSIX" | "C.UTF-8" | "C.utf8" => v.to_string(),
                _ => return Err(only(canon, "C")),
            }
        }
        "default_statistics_target" => {
            let n = int(one()?)?;
            if !(1..=10000).contains(&n) {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("{n} is outside the valid range for parameter \"default_statistics_target\" (1 .. 10000)"),
                ));
            }
            n.to_string()
        }
        "extra_float_digits" => {
            let n = int(one()?)?;
            if !(-15..=3).contains(&n) {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("{n} is outside the valid range for parameter \"extra_float_digits\" (-15 .. 3)"),
                ));
            }
            // 1 to 3 all print the shortest exact form (PostgreSQL 12 and later); 0 and below
            // print that many digits more than FLT_DIG/DBL_DIG in result rows and COPY TO
            // (types::TextStyle::float_digits).
            n.to_string()
        }
        "statement_timeout"
        | "lock_timeout"
        | "log_min_duration_statement"
        | "idle_in_transaction_session_timeout"
        | "idle_session_timeout"
        | "deadlock_timeout" => {
            let v = one()?.trim();
            let neg = v.starts_with('-');
            let body = v.trim_start_matches(['-', '+']);
            let digits: String = body.chars().take_while(|c| c.is_ascii_digit()).collect();
            let unit = body[digits.len()..].trim();
            let factor: f64 = match unit {
                "" | "ms" => 1.0,
                "us" => 0.001,
                "s" => 1_000.0,
                "min" => 60_000.0,
                "h" => 3_600_000.0,
                "d" => 86_400_000.0,
                _ => return Err(invalid(canon, v)),
            };
            let n: f64 = digits.parse::<f64>().map_err(|_| invalid(canon, v))? * factor;
            let ms = if neg { -n } else { n }.round();
            // log_min_duration_statement's -1 turns it off.
            let min = match canon {
                "log_min_duration_statement" => -1.0,
                "deadlock_timeout" => 1.0,
                _ => 0.0,
            };
            if !(min..=i32::MAX as f64).contains(&ms) {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("{ms} ms is outside the valid range for parameter \"{canon}\" ({min} .. 2147483647)"),
                ));
            }
            if ms < 0.0 {
                "-1".to_string()
            } else {
                show_ms(ms as i64)
            }
        }
        "orbit.query_memory_limit" => memory_value(canon, one()?)?,
        "log_statement" => {
            let v = one()?;
            match v.to_ascii_lowercase().as_str() {
                w @ ("none" | "ddl" | "mod" | "all") => w.to_string(),
                _ => return Err(invalid(canon, v).hint("Available values: none, ddl, mod, all.")),
            }
        }
        // Which roles exist is the binder's to check (crate::bind `role_setting`).
        "role" => one()?.to_string(),
        "session_replication_role" => {
            let v = one()?;
            match v.to_ascii_lowercase().as_str() {
                w @ ("origin" | "replica" | "local") => w.to_string(),
                _ => return Err(invalid(canon, v).hint("Available values: origin, replica, local.")),
            }
        }
        "bytea_output" => {
            let v = one()?;
            match v.to_ascii_lowercase().as_str() {
                w @ ("hex" | "escape") => w.to_string(),
                _ => return Err(invalid(canon, v).hint("Available values: escape, hex.")),
            }
        }
        "work_mem" => memory_value(canon, one()?)?,
        "synchronous_commit" => {
            let v = one()?;
            match v.to_ascii_lowercase().as_str() {
                w @ ("local" | "remote_write" | "remote_apply" | "on" | "off") => w.to_string(),
                "true" | "yes" | "1" => "on".to_string(),
                "false" | "no" | "0" => "off".to_string(),
                _ => {
                    return Err(invalid(canon, v).hint("Available values: local, remote_write, remote_apply, on, off."))
                }
            }
        }
        "hash_mem_multiplier" => real_value(canon, one()?, 1.0, 1000.0)?,
        "seq_page_cost"
        | "random_page_cost"
        | "cpu_tuple_cost"
        | "cpu_index_tuple_cost"
        | "cpu_operator_cost"
        | "parallel_tuple_cost" => real_value(canon, one()?, 0.0, f64::MAX)?,
        "jit_above_cost" | "jit_inline_above_cost" | "jit_optimize_above_cost" => {
            real_value(canon, one()?, -1.0, f64::MAX)?
        }
        "jit_expressions" | "jit_tuple_deforming" | "transform_null_equals" => on_off(canon, one()?)?.to_string(),
        "jit_provider" | "max_connections" => {
            return Err(SqlError::new(
                "55P02",
                format!("parameter \"{canon}\" cannot be changed without restarting the server"),
            ))
        }
        "authentication_timeout" => {
            return Err(SqlError::new("55P02", format!("parameter \"{canon}\" cannot be changed now")))
        }
        switch if switch.starts_with("enable_") => match boolean(one()?) {
            Some(b) => if b { "on" } else { "off" }.to_string(),
            None => {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("parameter \"{canon}\" requires a Boolean value"),
                ))
            }
        },
        "jit" => match boolean(one()?) {
            Some(b) => if b { "on" } else { "off" }.to_string(),
            None => {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("parameter \"{canon}\" requires a Boolean value"),
                ))
            }
        },
        "client_min_messages" => match one()?.to_ascii_lowercase().as_str() {
            v @ ("debug5" | "debug4" | "debug3" | "debug2" | "debug1" | "debug" | "log" | "notice" | "warning"
            | "error") => {
                if v == "debug" {
                    "debug2".to_string()
                } else {
                    v.to_string()
                }
            }
            v => {
                return Err(invalid(&name.to_ascii_lowercase(), v)
                    .hint("Available values: debug5, debug4, debug3, debug2, debug1, log, notice, warning, error."))
            }
        },
        "default_transaction_isolation" | "transaction_isolation" => match joined.to_ascii_lowercase().as_str() {
            "read committed" => "read committed".to_string(),
            "read uncommitted" => "read uncommitted".to_string(),
            "repeatable read" => "repeatable read".to_string(),
            "serializable" => "serializable".to_string(),
            v => return Err(invalid(canon, v)),
        },
        // Orbit has no row security policies and no synchronized scans (a scan always starts
        // at its range's beginning), so either value of these behaves as PostgreSQL's does.
        "row_security" | "synchronize_seqscans" => on_off(canon, one()?)?.to_string(),
        // Orbit has no function bodies to check and no xml type: either value behaves as
        // PostgreSQL's does.
        "check_function_bodies" => on_off(canon, one()?)?.to_string(),
        "escape_string_warning" => on_off(canon, one()?)?.to_string(),
        "xmloption" => match one()?.to_ascii_lowercase().as_str() {
            v @ ("content" | "document") => v.to_string(),
            v => return Err(invalid(canon, v).hint("Available values: content, document.")),
        },
        // Every table is in pg_default, of access method heap.
        "default_tablespace" => match one()? {
            v @ ("" | "pg_default") => v.to_string(),
            v => return Err(invalid(canon, v).detail(format!("Tablespace \"{v}\" does not exist."))),
        },
        "default_table_access_method" => match one()? {
            "heap" => "heap".to_string(),
            v => return Err(invalid(canon, v).detail(format!("Table access method \"{v}\" does not exist."))),
        },
        // Identifiers print quoted only where they must (quote_ident, regclass, pg_get_*def).
        "quote_all_identifiers" => match on_off(canon, one()?)? {
            "off" => "off".to_string(),
            _ => return Err(only(canon, "off")),
        },
        // Each entry as quote_identifier writes it (PostgreSQL's GUC_LIST_QUOTE); schemas that
        // do not exist are allowed, as in PostgreSQL (they are skipped when names resolve).
        "search_path" => values.iter().map(|v| crate::regtypes::quote_ident(v)).collect::<Vec<_>>().join(", "),
        _ => return Err(read_only(canon)),
    };
    Ok((canon, value))
}

/// The value `SET ROLE value` / `SET SESSION AUTHORIZATION value` gives its parameter (`canon`)
/// in a session of user `user`: Orbit has the one role, so only that (or `none` for the role).
pub fn role_value(canon: &str, value: &str, user: &str) -> Result<String> {
    if canon == "role" && value == "none" {
        return Ok("none".into());
    }
    if value == "pg_database_owner" {
        return Err(SqlError::unsupported(format!(
            "SET {} pg_database_owner is not supported yet",
            if canon == "role" { "ROLE" } else { "SESSION AUTHORIZATION" }
        )));
    }
    if value != user && value != "postgres" {
        return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, format!("role \"{value}\" does not exist")));
    }
    // The session's user stays what SHOW session_authorization reports.
    Ok(if canon == "session_authorization" { user.to_string() } else { value.to_string() })
}

/// `set_config(name, value, ..)`'s parameter and its value as SHOW prints it: SET's checks,
/// with search_path's value read as a list (`''` the empty one, as pg_dump sets it).
pub fn set_config_value(name: &str, value: &str) -> Result<(&'static str, String)> {
    let values: Vec<String> = if name.eq_ignore_ascii_case("search_path") {
        value.split(',').map(|v| v.trim().trim_matches('"').to_string()).filter(|v| !v.is_empty()).collect()
    } else {
        vec![value.to_string()]
    };
    set_value(name, &values)
}

/// A boolean parameter's value as PostgreSQL's parse_bool reads it (`on`, `true`, `yes`, `1`
/// and unique prefixes of them), as SHOW prints it.
fn on_off(canon: &str, v: &str) -> Result<&'static str> {
    let w = v.trim().to_ascii_lowercase();
    let is = |full: &str, min: usize| w.len() >= min && full.starts_with(w.as_str());
    if is("true", 1) || is("yes", 1) || w == "on" || w == "1" {
        Ok("on")
    } else if is("false", 1) || is("no", 1) || is("off", 2) || w == "0" {
        Ok("off")
    } else {
        Err(SqlError::new(code::INVALID_PARAMETER_VALUE, format!("parameter \"{canon}\" requires a Boolean value")))
    }
}

/// Whether a NOTICE goes to a client whose `client_min_messages` is `level`.
pub fn notices_wanted(level: &str) -> bool {
    !matches!(level, "warning" | "error")
}

/// Whether a WARNING reaches a client whose client_min_messages is `level`.
pub fn warnings_wanted(level: &str) -> bool {
    level != "error"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, v: &[&str]) -> Result<(&'static str, String)> {
        set_value(name, &v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn custom_parameters() {
        assert_eq!(set("app.tenant", &["42"]).unwrap(), ("app.tenant", "42".into()));
        // One spelling per name, whatever the case it is set in later.
        assert_eq!(set("APP.Tenant", &["7"]).unwrap().0, "app.tenant");
        assert!(is_custom("app.tenant") && !is_custom("work_mem") && !is_custom("orbit.query_memory_limit"));
        assert_eq!(set("app.list", &["1", "2"]).unwrap_err().code, "22023");
        for bad in ["1a.b", "a.", ".a", "a..b", "a.b-c", "a.$b"] {
            assert_eq!(set(bad, &["1"]).unwrap_err().code, "42602", "{bad}");
        }
        assert!(valid_custom_name("a.b$1.c_2") && valid_custom_name("é.x"));
        assert_eq!(set("orbit.nope", &["1"]).unwrap_err().code, "42602");
        assert_eq!(set("nodot", &["1"]).unwrap_err().code, "42704");
        assert_eq!(set_config_value("search_path", "a, \"b\"").unwrap().1, "a, b");
        assert_eq!(set_config_value("search_path", "").unwrap().1, "");
    }

    #[test]
    fn values() {
        assert_eq!(set("application_name", &["app"]).unwrap(), ("application_name", "app".into()));
        assert_eq!(set("TIMEZONE", &["utc"]).unwrap(), ("TimeZone", "UTC".into()));
        assert_eq!(set("timezone", &["europe/paris"]).unwrap(), ("TimeZone", "Europe/Paris".into()));
        assert_eq!(set("timezone", &["Mars/Olympus"]).unwrap_err().code, "22023");
        assert_eq!(set("datestyle", &["ISO", "MDY"]).unwrap().1, "ISO, MDY");
        assert_eq!(set("nosuch", &["1"]).unwrap_err().code, "42704");
        assert_eq!(set("extra_float_digits", &["x"]).unwrap_err().code, "22023");
        assert_eq!(set("extra_float_digits", &["3"]).unwrap().1, "3");
        assert_eq!(set("search_path", &["$user", "public"]).unwrap().1, "\"$user\", public");
        assert_eq!(set("server_version", &["1"]).unwrap_err().code, "55P02");
        assert_eq!(set("SERVER_VERSION_NUM", &["1"]).unwrap_err().code, "55P02");
        assert_eq!(default_value("server_version_num"), Some("150000"));
        assert_eq!(set("statement_timeout", &["0"]).unwrap().1, "0");
        assert_eq!(set("statement_timeout", &["5000"]).unwrap().1, "5s");
        assert_eq!(set("statement_timeout", &["1500"]).unwrap().1, "1500ms");
        assert_eq!(set("lock_timeout", &["60s"]).unwrap().1, "1min");
        assert_eq!(set("statement_timeout", &["1500us"]).unwrap().1, "2ms");
        assert_eq!(set("statement_timeout", &["-1"]).unwrap_err().code, "22023");
        assert_eq!(timeout("1min"), Some(std::time::Duration::from_secs(60)));
        assert_eq!(timeout("0"), None);
        assert_eq!(set("statement_timeout", &["5 parsecs"]).unwrap_err().code, "22023");
    }

    #[test]
    fn runtime_parameters() {
        let work_mem = |v: &str| set("work_mem", &[v]);
        assert_eq!(work_mem("64MB").unwrap(), ("work_mem", "64MB".into()));
        assert_eq!(work_mem("1.5MB").unwrap().1, "1536kB");
        assert_eq!(work_mem(" 100000B ").unwrap().1, "98kB");
        assert_eq!(work_mem("+100").unwrap().1, "100kB");
        let e = work_mem("-1").unwrap_err();
        assert_eq!(e.message, "-1 kB is outside the valid range for parameter \"work_mem\" (64 .. 2147483647)");
        let e = work_mem("3000000MB").unwrap_err();
        assert_eq!((e.code, e.hint.as_deref()), ("22023", Some("Value exceeds integer range.")));
        assert_eq!(set("hash_mem_multiplier", &["1.5"]).unwrap().1, "1.5");
        assert_eq!(set("hash_mem_multiplier", &["1e2"]).unwrap().1, "100");
        assert_eq!(set("hash_mem_multiplier", &["1.123456789"]).unwrap().1, "1.12346");
        let e = set("hash_mem_multiplier", &["0.5"]).unwrap_err();
        assert_eq!(e.message, "0.5 is outside the valid range for parameter \"hash_mem_multiplier\" (1 .. 1000)");
        assert_eq!(set("bytea_output", &["ESCAPE"]).unwrap().1, "escape");
        let e = set("bytea_output", &["Base64"]).unwrap_err();
        assert_eq!(e.message, "invalid value for parameter \"bytea_output\": \"Base64\"");
        assert_eq!(set("jit", &["o"]).unwrap_err().code, "22023");
        assert_eq!(set("jit", &["off"]).unwrap().1, "off");
        assert_eq!(set("jit_provider", &["llvmjit"]).unwrap_err().code, "55P02");
        assert_eq!(check_resettable("jit_provider").unwrap_err().code, "55P02");
        assert_eq!(check_resettable("server_version").unwrap_err().code, "55P02");
        for p in PARAMETERS.iter().map(|p| p.0).filter(|p| !matches!(*p, "jit_provider" | "server_version")) {
            let fixed = ["server_encoding", "integer_datetimes", "in_hot_standby", "is_superuser"];
            let fixed = fixed.contains(&p)
                || (p.starts_with("lc_") && p != "lc_numeric")
                || p.starts_with("max_")
                || p.ends_with("_num");
            let fixed = fixed || p == "orbit_version" || p == "authentication_timeout";
            assert_eq!(check_resettable(p).is_err(), fixed, "{p}");
        }
        assert_eq!(set("enable_hashjoin", &["no"]).unwrap().1, "off");
        assert_eq!(set("synchronous_commit", &["false"]).unwrap().1, "off");
        assert_eq!(set("synchronous_commit", &["LOCAL"]).unwrap().1, "local");
        assert_eq!(set("synchronous_commit", &["of"]).unwrap_err().code, "22023");
        assert_eq!(set("ENABLE_NESTLOOP", &["1"]).unwrap(), ("enable_nestloop", "on".into()));
        // Every PostgreSQL 15 planner switch is a Boolean, each with its pg_settings row.
        for name in PARAMETERS.iter().map(|p| p.0).filter(|n| n.starts_with("enable_")) {
            assert_eq!(set(name, &["maybe"]).unwrap_err().code, "22023", "{name}");
            assert_eq!(set(name, &["false"]).unwrap().1, "off", "{name}");
            assert!(crate::catalog_builtin::setting_info(name).is_some(), "{name} has no pg_settings row");
        }
        assert_eq!(PARAMETERS.iter().filter(|p| p.0.starts_with("enable_")).count(), 20);
        assert_eq!(default_value("enable_partitionwise_join"), Some("off"));
        assert_eq!(set("enable_hashaggregate", &["off"]).unwrap_err().code, "42704");
        // Unset, a session's operators are bound by the statement bound's default alone.
        let limits = operator_limits(&[]);
        assert_eq!(limits.work_mem_bytes, crate::memory::DEFAULT_LIMIT_BYTES);
        assert_eq!(limits.hash_mem_bytes, 2 * crate::memory::DEFAULT_LIMIT_BYTES);
        let limits = operator_limits(&[("work_mem", "64kB".into()), ("hash_mem_multiplier", "1.5".into())]);
        assert_eq!((limits.work_mem_bytes, limits.hash_mem_bytes), (64 << 10, 96 << 10));
    }

    #[test]
    fn memory_limits() {
        let limit = |v: &str| set("orbit.query_memory_limit", &[v]).map(|(_, shown)| shown);
        assert_eq!(limit("1GB").unwrap(), "1GB");
        assert_eq!(limit("1024MB").unwrap(), "1GB");
        assert_eq!(limit("1536MB").unwrap(), "1536MB");
        assert_eq!(limit("100").unwrap(), "100kB");
        assert_eq!(limit("65536B").unwrap(), "64kB");
        assert_eq!(limit("1gb").unwrap_err().code, "22023");
        assert_eq!(limit("10kB").unwrap_err().code, "22023");
        assert_eq!(limit("-1").unwrap_err().code, "22023");
        assert_eq!(canonical("ORBIT.QUERY_MEMORY_LIMIT"), Some("orbit.query_memory_limit"));
        assert_eq!(memory_bytes("4GB"), 4 << 30);
        assert_eq!(
            memory_bytes(default_value("orbit.query_memory_limit").unwrap()),
            crate::memory::DEFAULT_LIMIT_BYTES
        );
        assert_eq!(memory_bytes("64kB"), 64 << 10);
        assert_eq!(memory_bytes("100"), 100 << 10);
    }
}
