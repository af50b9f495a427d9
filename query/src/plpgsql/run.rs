//! The PL/pgSQL interpreter (`pl_exec.c`): runs a [`Function`]'s statements in the caller's
//! transaction, each expression and SQL statement bound with the variables as typed
//! parameters and run by the executor.

use super::parse::condition_state;
use super::{Block, Condition, Function, Into, Level, Ref, Sql, Stmt, Target, VarType};
use crate::error::{code, Result, SqlError};
use crate::exec::QueryResult;
use crate::expr::{self, Ctx, Expr};
use crate::functions_sql::SqlFunction;
use crate::txn::Txn;
use orbit_engine::table::{Datum, SqlType};
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + 'a>>;

/// How deeply PL/pgSQL calls may nest (each call's statements run the executor again).
const MAX_CALL_DEPTH: usize = 200;

/// A body's text, its parameters' type OIDs and names.
type BodyKey = (String, Vec<u32>, Vec<String>);

thread_local! {
    /// Bodies as read, by their text and parameters' types (a function is read once per
    /// thread, not per call).
    static BODIES: RefCell<HashMap<BodyKey, Rc<Function>>> = RefCell::new(HashMap::new());
    /// Declared types resolved, by text, for the catalog version they were resolved at.
    static TYPES: RefCell<(u64, HashMap<String, Resolved>)> = RefCell::new((0, HashMap::new()));
    static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static SAVEPOINTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// The NOTICEs the running statement of each session (by backend pid) raised, sent by
    /// the connection when the statement ends, with its result or its error.
    static PENDING: RefCell<HashMap<i32, Vec<SqlError>>> = RefCell::new(HashMap::new());
}

/// The most NOTICEs one statement keeps for its client (later ones are dropped).
const MAX_PENDING: usize = 10_000;

/// Keeps `notices` for session `pid`'s client.
fn pend(pid: i32, notices: impl IntoIterator<Item = SqlError>) {
    if pid == 0 {
        return;
    }
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        let v = p.entry(pid).or_default();
        for n in notices {
            if v.len() < MAX_PENDING {
                v.push(n);
            }
        }
    });
}

/// The NOTICEs PL/pgSQL code of session `pid`'s statement raised, in order (the connection
/// sends them before the statement's result or error).
pub fn take_notices(pid: i32) -> Vec<SqlError> {
    PENDING.with(|p| p.borrow_mut().remove(&pid).unwrap_or_default())
}

/// A declared type: a scalar, or a row's columns (`t%ROWTYPE`).
#[derive(Clone)]
enum Resolved {
    Scalar(SqlType),
    Row(Rc<Vec<(String, SqlType)>>),
}

/// A record variable's value: its columns and values.
#[derive(Debug, Clone)]
struct RowVal {
    names: Rc<Vec<String>>,
    types: Rc<Vec<SqlType>>,
    vals: Vec<Datum>,
}

/// A variable's value.
#[derive(Debug, Clone)]
struct Val {
    d: Datum,
    ty: SqlType,
    /// A record variable's row (None: not assigned yet, or NULL).
    row: Option<RowVal>,
    /// A `t%ROWTYPE` variable's columns, known before any row is assigned.
    shape: Option<Rc<Vec<(String, SqlType)>>>,
}

impl Val {
    fn null(ty: SqlType) -> Val {
        Val { d: Datum::Null, ty, row: None, shape: None }
    }
}

/// Where control goes after a statement.
enum Flow {
    Next,
    Exit(Option<String>),
    Continue(Option<String>),
    Return(Datum),
    /// A trigger function's RETURN of a row (None: NULL).
    ReturnRow(Option<Vec<Datum>>),
}

struct Frame {
    f: Rc<Function>,
    vals: Vec<Val>,
    /// The session's backend pid (its NOTICEs are kept under it, [`take_notices`]).
    pid: i32,
    /// The errors the handlers being run caught, innermost last (`RAISE;`, GET STACKED).
    caught: Vec<SqlError>,
    row_count: i64,
    /// `function f(integer)` or `inline_code_block` (CONTEXT).
    name: String,
    ret: SqlType,
    /// A set-returning function's rows so far (RETURN NEXT / QUERY).
    rows: Vec<Datum>,
    setof: bool,
    /// The OUT parameters' types (a row is then a record of their variables).
    out_types: Vec<SqlType>,
}

/// Appends CONTEXT line `line` to `e`'s.
fn with_context(mut e: SqlError, line: String) -> SqlError {
    let c = match e.context_text() {
        Some(c) => format!("{c}\n{line}"),
        None => line,
    };
    e = e.context(c);
    e
}

/// The bind state of the session running `txn` (search path, settings, pid), as a statement
/// it sent would be bound with.
fn bind_as_session(txn: &Txn) {
    crate::relation_lock::bind_as(Some(txn.id));
    crate::settings::bind_with(txn.settings.clone());
    crate::schema::use_search_path(&search_path_of(txn));
    crate::catalog::use_binding_pid(txn.session_pid);
}

/// Binds `sql` with parameters of types `types` and runs it in `txn`; the result's columns
/// with it. Derived relations of the statement that called the function are kept aside
/// while it runs. An error's position is taken out (it would point into the body's statement,
/// not the client's).
async fn run_sql(
    txn: &mut Txn,
    sql: &str,
    types: &[SqlType],
    params: &[Datum],
    expr: Option<&str>,
) -> Result<(QueryResult, Vec<crate::bind::OutputColumn>)> {
    // PostgreSQL's CONTEXT names an expression (`SQL expression "..."`) when the error came
    // while it was planned (constant folding included) or run by the executor, not when a
    // simple expression's evaluation raised it (a function it called has its own lines).
    let named = |mut e: SqlError, name: bool| {
        e.position = None;
        match expr {
            Some(w) if name => with_context(e, format!("SQL expression \"{w}\"")),
            _ => e,
        }
    };
    txn.check_cancel()?;
    let oids: Vec<u32> = types.iter().map(|t| if *t == SqlType::Unknown { 0 } else { t.oid() }).collect();
    let prepared = match cached_plan(txn, sql, &oids) {
        Some(p) => p,
        None => {
            bind_as_session(txn);
            let p = Rc::new(crate::bind::prepare(sql, &oids).map_err(|e| named(e, true))?);
            pend(txn.session_pid, crate::bind::take_parse_notices());
            keep_plan(txn, sql, oids, p.clone());
            p
        }
    };
    let simple = matches!(&prepared.plan, crate::bind::Plan::Select(s) if s.table.is_none() && s.join.is_none());
    let saved = std::mem::take(&mut txn.relations);
    let r = Box::pin(crate::exec::execute(&prepared.plan, params, txn)).await;
    txn.relations = saved;
    let r = r.map_err(|e| {
        let name = !simple && e.context_text().is_none();
        named(e, name)
    })?;
    Ok((r, prepared.columns.clone()))
}

/// A statement's plan cache key: its text, parameter types, the session's pid and search path.
type PlanKey = (String, Vec<u32>, i32, String);

thread_local! {
    /// The plans of PL/pgSQL's statements, bound once and run again while the catalog and the
    /// settings they read stay as they were (PostgreSQL's plpgsql caches its plans per
    /// session too), with the catalog version they were bound at.
    static PLANS: RefCell<HashMap<PlanKey, (u64, Rc<crate::bind::Prepared>)>> = RefCell::new(HashMap::new());
}

/// The most plans [`PLANS`] keeps (it is emptied past that).
const MAX_PLANS: usize = 2048;

fn search_path_of(txn: &Txn) -> String {
    txn.settings
        .iter()
        .find(|(k, _)| *k == "search_path")
        .map_or_else(|| crate::schema::DEFAULT_SEARCH_PATH.to_string(), |(_, v)| v.clone())
}

/// `sql`'s plan bound before, when nothing it depends on changed since.
fn cached_plan(txn: &Txn, sql: &str, oids: &[u32]) -> Option<Rc<crate::bind::Prepared>> {
    let key = (sql.to_string(), oids.to_vec(), txn.session_pid, search_path_of(txn));
    let (version, p) = PLANS.with(|c| c.borrow().get(&key).cloned())?;
    let fresh = version == orbit_engine::table::catalog_version()
        && !crate::relation_lock::stale(&p.relations, Some(txn.id))
        && !crate::settings::changed(&p.settings, &txn.settings);
    fresh.then_some(p)
}

fn keep_plan(txn: &Txn, sql: &str, oids: Vec<u32>, p: Rc<crate::bind::Prepared>) {
    let key = (sql.to_string(), oids, txn.session_pid, search_path_of(txn));
    let version = orbit_engine::table::catalog_version();
    PLANS.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= MAX_PLANS {
            c.clear();
        }
        c.insert(key, (version, p));
    });
}

/// The declared type `text` names (`int`, `t.c%TYPE`, `t%ROWTYPE`), resolved as a statement
/// would resolve it.
async fn resolve_type(txn: &mut Txn, text: &str, rowtype: bool) -> Result<Resolved> {
    let version = orbit_engine::table::catalog_version();
    let key = format!("{}{text}", if rowtype { "r:" } else { "t:" });
    let cached = TYPES.with(|t| {
        let mut t = t.borrow_mut();
        if t.0 != version {
            *t = (version, HashMap::new());
        }
        t.1.get(&key).cloned()
    });
    if let Some(r) = cached {
        return Ok(r);
    }
    let r = if rowtype {
        let (_, cols) = run_sql(txn, &format!("SELECT * FROM {text} LIMIT 0"), &[], &[], None).await?;
        Resolved::Row(Rc::new(cols.into_iter().map(|c| (c.name, c.ty)).collect()))
    } else if let Some(base) = text.strip_suffix("%TYPE").or_else(|| text.strip_suffix("%type")) {
        let base = base.trim();
        let (rel, col) = base.rsplit_once('.').ok_or_else(|| {
            SqlError::new(code::SYNTAX_ERROR, format!("syntax error at or near \"%TYPE\" (of \"{base}\")"))
        })?;
        let (_, cols) = run_sql(txn, &format!("SELECT {col} FROM {rel} LIMIT 0"), &[], &[], None).await?;
        Resolved::Scalar(cols.first().map_or(SqlType::Unknown, |c| c.ty))
    } else {
        let (_, cols) = run_sql(txn, &format!("SELECT NULL::{text}"), &[], &[], None).await?;
        Resolved::Scalar(cols.first().map_or(SqlType::Unknown, |c| c.ty))
    };
    TYPES.with(|t| {
        let mut t = t.borrow_mut();
        if t.1.len() > 4096 {
            t.1.clear();
        }
        t.1.insert(key, r.clone());
    });
    Ok(r)
}

/// `d` of type `from` as a value of type `to` (an assignment's cast).
fn cast(d: Datum, from: SqlType, to: SqlType) -> Result<Datum> {
    if from == to || to == SqlType::Unknown || d.is_null() {
        return Ok(d);
    }
    let cx = Ctx { row: &[], params: &[], aggs: &[] };
    let text = crate::types::to_text(&d);
    match expr::eval(&Expr::Cast(Box::new(Expr::Const(d, from)), to, false), &cx) {
        Ok(v) => Ok(v),
        // No cast between the types: PL/pgSQL assigns through the value's text form, as
        // PostgreSQL's exec_cast_value falls back to I/O conversion.
        Err(e) => match text {
            // (its own error when the text is no value of the type)
            Some(t) if from != SqlType::Text => {
                expr::eval(&Expr::Cast(Box::new(Expr::Const(Datum::Text(t), SqlType::Text)), to, false), &cx)
            }
            _ => Err(e),
        },
    }
}

/// The number a command tag ends with (`INSERT 0 3`: 3).
fn tag_count(r: &QueryResult) -> i64 {
    if r.tag.starts_with("SELECT") || r.tag.is_empty() {
        return r.rows.len() as i64;
    }
    r.tag.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(r.rows.len() as i64)
}

/// A SQLSTATE as a `&'static str` (RAISE's ERRCODE may name any): the known ones, else each
/// new one kept once.
fn static_state(s: &str) -> Result<&'static str> {
    static SEEN: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    if s.len() != 5 || !s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
        return Err(SqlError::new(code::SYNTAX_ERROR, format!("invalid SQLSTATE code \"{s}\"")));
    }
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(x) = seen.iter().find(|x| **x == s) {
        return Ok(x);
    }
    if seen.len() >= 4096 {
        return Ok("P0001");
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    seen.push(leaked);
    Ok(leaked)
}

fn errcode_of(v: &str) -> Result<&'static str> {
    match condition_state(&v.to_ascii_lowercase()) {
        Some(s) => Ok(s),
        None if v.len() == 5 => static_state(v),
        None => Err(SqlError::new(code::UNDEFINED_OBJECT, format!("unrecognized exception condition \"{v}\""))),
    }
}

/// The text a value prints as in RAISE and string building (`<NULL>` for NULL, as RAISE
/// prints it).
fn shown(d: &Datum) -> String {
    crate::types::to_text(d).unwrap_or_else(|| "<NULL>".into())
}

/// Whether handler condition `c` catches `e` (OTHERS catches all but cancels and assertion
/// failures, as in PostgreSQL).
fn catches(c: &Condition, e: &SqlError) -> bool {
    match c {
        Condition::Others => e.code != "57014" && e.code != "P0004",
        Condition::State(s) if s.ends_with("000") => e.code.get(..2) == s.get(..2),
        Condition::State(s) => e.code == s,
    }
}

/// The body of `f` as read (cached per thread).
fn body_of(body: &str, params: &[(String, SqlType)], name: &str, trigger: bool) -> Result<Rc<Function>> {
    body_of_outs(body, params, &[], name, trigger)
}

/// [`body_of`] of a function with OUT parameters `outs`.
fn body_of_outs(
    body: &str,
    params: &[(String, SqlType)],
    outs: &[(String, SqlType)],
    name: &str,
    trigger: bool,
) -> Result<Rc<Function>> {
    let mut names: Vec<String> = params.iter().map(|p| p.0.clone()).collect();
    if trigger {
        names.push("\u{1}trigger".into());
    }
    let mut oids: Vec<u32> = params.iter().map(|p| p.1.oid()).collect();
    for (n, t) in outs {
        names.push(format!("\u{1}out {n}"));
        oids.push(t.oid());
    }
    let key = (body.to_string(), oids, names);
    if let Some(f) = BODIES.with(|b| b.borrow().get(&key).cloned()) {
        return Ok(f);
    }
    let f = Rc::new(super::parse_with_outs(body, params, outs, name, trigger)?);
    BODIES.with(|b| {
        let mut b = b.borrow_mut();
        if b.len() > 1024 {
            b.clear();
        }
        b.insert(key, f.clone());
    });
    Ok(f)
}

/// Keeps the call depth while a call runs.
struct Depth;

impl Depth {
    fn enter() -> Result<Depth> {
        let d = DEPTH.with(|d| {
            d.set(d.get() + 1);
            d.get()
        });
        let guard = Depth;
        if d > MAX_CALL_DEPTH {
            return Err(SqlError::new("54001", "stack depth limit exceeded").hint(
                "Increase the configuration parameter \"max_stack_depth\" (currently 2048kB), after ensuring the platform's stack depth limit is adequate.",
            ));
        }
        Ok(guard)
    }
}

impl Drop for Depth {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// The type of one row of PL/pgSQL function `f`'s result: a record of its OUT parameters,
/// or its return type.
pub fn row_type(f: &SqlFunction) -> Result<SqlType> {
    if f.out.is_empty() {
        return Ok(f.ret);
    }
    // Named by its OUT parameters (an anonymous record's fields would be f1, f2, ...), so
    // FROM expands it into columns of those names; it prints as `record`.
    Ok(SqlType::Composite(crate::composites::shape("record", f.out.clone())?))
}

/// The OUT (and INOUT) parameters of `f` whose values it returns.
fn outputs(f: &SqlFunction) -> Vec<(String, SqlType)> {
    match &f.single_out {
        Some(n) => vec![(n.clone(), f.ret)],
        None => f.out.clone(),
    }
}

thread_local! {
    /// How many unnamed portals OPEN has named (`<unnamed portal n>`) on this shard.
    static UNNAMED_PORTALS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The most rows a set-returning PL/pgSQL function may return to one call.
const MAX_ROWS: usize = 10_000_000;

/// `f`'s name as CONTEXT lines write it (format_procedure's form: no space after the commas),
/// kept per thread while the catalog stays as it was (by search path: names outside it are
/// qualified).
fn context_name(f: &SqlFunction) -> String {
    type Names = (u64, HashMap<(u32, Vec<String>), String>);
    thread_local! {
        static NAMES: RefCell<Names> = RefCell::new((0, HashMap::new()));
    }
    let named = || f.signature().replace(", ", ",");
    if f.oid == 0 {
        return named();
    }
    let version = orbit_engine::table::catalog_version();
    NAMES.with(|n| {
        let mut n = n.borrow_mut();
        if n.0 != version || n.1.len() >= 1024 {
            *n = (version, HashMap::new());
        }
        n.1.entry((f.oid, crate::schema::path())).or_insert_with(named).clone()
    })
}

/// Calls PL/pgSQL function `f` with `args` (already of its parameters' types): its value; with
/// `as_rows` (and for a set-returning function) an array of its rows.
pub async fn call(txn: &mut Txn, f: &SqlFunction, args: Vec<Datum>, as_rows: bool) -> Result<Datum> {
    let row_ty = row_type(f)?;
    let rows_of = |rows: Vec<Datum>| Datum::Array(Box::new(orbit_engine::table::ArrayValue::from_items(row_ty, rows)));
    if f.strict && args.iter().any(Datum::is_null) {
        return Ok(if f.setof || as_rows { rows_of(Vec::new()) } else { Datum::Null });
    }
    let _depth = Depth::enter()?;
    let params: Vec<(String, SqlType)> = f.args.iter().map(|a| (a.name.clone(), a.ty)).collect();
    let body = body_of_outs(&f.body, &params, &outputs(f), crate::schema::relname(&f.name), false)?;
    let mut frame = Frame::new(body.clone(), txn, context_name(f), f.ret);
    frame.setof = f.setof;
    frame.out_types = f.out.iter().map(|c| c.1).collect();
    for (i, (a, d)) in f.args.iter().zip(args).enumerate() {
        frame.vals[i] = Val { d, ty: a.ty, row: None, shape: None };
    }
    let flow = frame.block(txn, &body.block).await?;
    if f.setof {
        return Ok(rows_of(std::mem::take(&mut frame.rows)));
    }
    let v = match flow {
        _ if !body.outs.is_empty() => frame.out_record()?,
        Flow::Return(d) => d,
        Flow::ReturnRow(_) => return Err(SqlError::internal("a row returned by a function that is no trigger")),
        _ if f.ret == SqlType::Void => Datum::Null,
        _ => {
            return Err(with_context(
                SqlError::new("2F005", "control reached end of function without RETURN"),
                format!("PL/pgSQL function {}", context_name(f)),
            ))
        }
    };
    Ok(if as_rows { rows_of(vec![v]) } else { v })
}

/// One firing of a trigger: what its function's TG_ variables, NEW and OLD hold.
pub struct Firing<'a> {
    pub name: &'a str,
    /// `BEFORE` or `AFTER`.
    pub when: &'a str,
    /// `ROW` or `STATEMENT`.
    pub level: &'a str,
    /// `INSERT`, `UPDATE` or `DELETE`.
    pub op: &'a str,
    /// The table's catalog name.
    pub table: &'a str,
    pub relid: u32,
    pub args: &'a [String],
    /// The table's columns (NEW's and OLD's fields).
    pub columns: Rc<Vec<(String, SqlType)>>,
    pub new: Option<Vec<Datum>>,
    pub old: Option<Vec<Datum>>,
}

/// Runs trigger function `f` for `firing`: the row it returned (None for NULL).
pub async fn fire(txn: &mut Txn, f: &SqlFunction, firing: &Firing<'_>) -> Result<Option<Vec<Datum>>> {
    let body = body_of(&f.body, &[], crate::schema::relname(&f.name), true)?;
    let name = context_name(f);
    match fire_body(txn, body, name.clone(), firing, SqlType::Void).await? {
        Flow::ReturnRow(row) => Ok(row),
        Flow::Return(_) => Ok(None),
        _ => Err(with_context(
            SqlError::new("2F005", "control reached end of trigger procedure without RETURN"),
            format!("PL/pgSQL function {name}"),
        )),
    }
}

/// A trigger's WHEN condition `cond` for `firing`.
pub async fn when(txn: &mut Txn, cond: &str, firing: &Firing<'_>) -> Result<bool> {
    let body = body_of(&format!("BEGIN RETURN ({cond}); END"), &[], "trigger_when", true)?;
    match fire_body(txn, body, "trigger_when".into(), firing, SqlType::Bool).await? {
        Flow::Return(Datum::Bool(b)) => Ok(b),
        _ => Ok(false),
    }
}

/// Runs a trigger function's (or WHEN condition's) `body` with `firing`'s variables; `ret`
/// `void` for a trigger function, whose RETURN gives a row.
async fn fire_body(txn: &mut Txn, body: Rc<Function>, name: String, firing: &Firing<'_>, ret: SqlType) -> Result<Flow> {
    let _depth = Depth::enter()?;
    let mut frame = Frame::new(body.clone(), txn, name, ret);
    let names: Rc<Vec<String>> = Rc::new(firing.columns.iter().map(|c| c.0.clone()).collect());
    let types: Rc<Vec<SqlType>> = Rc::new(firing.columns.iter().map(|c| c.1).collect());
    let record = |row: &Option<Vec<Datum>>| Val {
        d: Datum::Null,
        ty: SqlType::Unknown,
        row: row.as_ref().map(|vals| RowVal { names: names.clone(), types: types.clone(), vals: vals.clone() }),
        shape: Some(firing.columns.clone()),
    };
    let (schema, relname) = crate::schema::split(firing.table);
    let text = |s: &str, ty: SqlType| Val { d: Datum::Text(s.to_string()), ty, row: None, shape: None };
    let argv = Datum::Array(Box::new(orbit_engine::table::ArrayValue {
        elem: SqlType::Text,
        dims: if firing.args.is_empty() {
            vec![]
        } else {
            vec![orbit_engine::table::ArrayDim { len: firing.args.len() as u32, lower: 0 }]
        },
        items: firing.args.iter().map(|a| Datum::Text(a.clone())).collect(),
    }));
    let oid = orbit_engine::table::OidKind::Oid;
    let values = [
        record(&firing.new),
        record(&firing.old),
        text(firing.name, SqlType::Name),
        text(firing.when, SqlType::Text),
        text(firing.level, SqlType::Text),
        text(firing.op, SqlType::Text),
        Val { d: Datum::Oid(oid, firing.relid), ty: SqlType::Oid(oid), row: None, shape: None },
        text(relname, SqlType::Name),
        text(relname, SqlType::Name),
        text(schema, SqlType::Name),
        Val { d: Datum::Int4(firing.args.len() as i32), ty: SqlType::Int4, row: None, shape: None },
        Val { d: argv, ty: SqlType::Text.array_of().unwrap_or(SqlType::Text), row: None, shape: None },
    ];
    for (i, v) in values.into_iter().enumerate() {
        frame.vals[body.found + 1 + i] = v;
    }
    frame.block(txn, &body.block).await
}

/// Runs `DO` block `body`.
pub async fn do_block(txn: &mut Txn, body: &str) -> Result<()> {
    let _depth = Depth::enter()?;
    let f = body_of(body, &[], "inline_code_block", false)?;
    let mut frame = Frame::new(f.clone(), txn, "inline_code_block".into(), SqlType::Void);
    frame.block(txn, &f.block).await?;
    Ok(())
}

impl Frame {
    /// A frame of `f`'s variables, all NULL but FOUND (false).
    fn new(f: Rc<Function>, txn: &Txn, name: String, ret: SqlType) -> Frame {
        let mut vals: Vec<Val> = f.vars.iter().map(|_| Val::null(SqlType::Unknown)).collect();
        vals[f.found] = Val { d: Datum::Bool(false), ty: SqlType::Bool, row: None, shape: None };
        Frame {
            vals,
            f,
            pid: txn.session_pid,
            caught: Vec::new(),
            row_count: 0,
            name,
            ret,
            rows: Vec::new(),
            setof: false,
            out_types: Vec::new(),
        }
    }

    fn context(&self, e: SqlError, line: u32, what: &str) -> SqlError {
        with_context(e, format!("PL/pgSQL function {} line {line} at {what}", self.name))
    }

    /// The parameters `s` reads: their values and types.
    fn params_of(&self, s: &Sql) -> Result<(Vec<Datum>, Vec<SqlType>)> {
        let mut vals = Vec::with_capacity(s.refs.len());
        let mut types = Vec::with_capacity(s.refs.len());
        for r in &s.refs {
            match r {
                Ref::Var(id) => {
                    let v = &self.vals[*id];
                    if v.row.is_some() || v.shape.is_some() || self.f.vars[*id].ty == VarType::Record {
                        // A record variable as a value: a record of its fields (NULL when
                        // no row is assigned), typed by a shape of their names.
                        let fields: Vec<(String, SqlType)> = match (&v.row, &v.shape) {
                            (Some(r), _) => r.names.iter().cloned().zip(r.types.iter().copied()).collect(),
                            (None, Some(shape)) => shape.to_vec(),
                            (None, None) => {
                                return Err(SqlError::unsupported(format!(
                                    "record \"{}\" is not assigned yet",
                                    self.f.vars[*id].name
                                )))
                            }
                        };
                        let ty = SqlType::Composite(crate::composites::shape("record", fields)?);
                        vals.push(v.row.as_ref().map_or(Datum::Null, |r| Datum::Record(Box::new(r.vals.clone()))));
                        types.push(ty);
                        continue;
                    }
                    vals.push(v.d.clone());
                    types.push(v.ty);
                }
                Ref::Field(id, field) => {
                    let (d, t) = self.field(*id, field)?;
                    vals.push(d);
                    types.push(t);
                }
            }
        }
        Ok((vals, types))
    }

    fn field(&self, id: usize, field: &str) -> Result<(Datum, SqlType)> {
        let name = &self.f.vars[id].name;
        let v = &self.vals[id];
        match (&v.row, &v.shape) {
            (Some(r), _) => match r.names.iter().position(|n| n == field) {
                Some(i) => Ok((r.vals[i].clone(), r.types[i])),
                None => {
                    Err(SqlError::new(code::UNDEFINED_COLUMN, format!("record \"{name}\" has no field \"{field}\"")))
                }
            },
            (None, Some(shape)) => match shape.iter().find(|(n, _)| n == field) {
                Some((_, t)) => Ok((Datum::Null, *t)),
                None => {
                    Err(SqlError::new(code::UNDEFINED_COLUMN, format!("record \"{name}\" has no field \"{field}\"")))
                }
            },
            (None, None) => Err(SqlError::new("55000", format!("record \"{name}\" is not assigned yet"))
                .detail("The tuple structure of a not-yet-assigned record is indeterminate.")),
        }
    }

    /// Runs `s` (a query or statement): its result and columns.
    async fn query(&mut self, txn: &mut Txn, s: &Sql) -> Result<(QueryResult, Vec<crate::bind::OutputColumn>)> {
        self.run(txn, s, None).await
    }

    /// Runs `s`; `expr` is its written text when it is an expression (CONTEXT).
    async fn run(
        &mut self,
        txn: &mut Txn,
        s: &Sql,
        expr: Option<&str>,
    ) -> Result<(QueryResult, Vec<crate::bind::OutputColumn>)> {
        let (vals, types) = self.params_of(s)?;
        let (mut r, cols) = run_sql(txn, &s.text, &types, &vals, expr).await?;
        pend(self.pid, std::mem::take(&mut r.notices));
        Ok((r, cols))
    }

    /// The value of expression `s` (`SELECT expr`: one column, at most one row).
    async fn value(&mut self, txn: &mut Txn, s: &Sql) -> Result<(Datum, SqlType)> {
        let (r, cols) = self.run(txn, s, Some(&s.written)).await?;
        if cols.len() != 1 {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                format!("query \"{}\" returned {} columns", s.text.trim(), cols.len()),
            ));
        }
        if r.rows.len() > 1 {
            return Err(SqlError::new("21000", format!("query \"{}\" returned more than one row", s.text.trim())));
        }
        let d = r.rows.into_iter().next().and_then(|r| r.into_iter().next()).unwrap_or(Datum::Null);
        Ok((d, cols[0].ty))
    }

    async fn condition(&mut self, txn: &mut Txn, s: &Sql) -> Result<bool> {
        let (d, t) = self.value(txn, s).await?;
        Ok(matches!(cast(d, t, SqlType::Bool)?, Datum::Bool(true)))
    }

    async fn int_value(&mut self, txn: &mut Txn, s: &Sql) -> Result<Option<i64>> {
        let (d, t) = self.value(txn, s).await?;
        Ok(match cast(d, t, SqlType::Int8)? {
            Datum::Int8(i) => Some(i),
            _ => None,
        })
    }

    /// Gives variable `id` its initial value (its DEFAULT, else NULL) on entering its block.
    async fn init_var(&mut self, txn: &mut Txn, id: usize) -> Result<()> {
        let var = self.f.vars[id].clone();
        let (ty, shape) = match &var.ty {
            VarType::Known(t) => (*t, None),
            VarType::Record => (SqlType::Unknown, None),
            VarType::Written(text) => match resolve_type(txn, text, false).await? {
                Resolved::Scalar(t) => (t, None),
                Resolved::Row(cols) => (SqlType::Unknown, Some(cols)),
            },
            VarType::RowType(table) => match resolve_type(txn, table, true).await? {
                Resolved::Row(cols) => (SqlType::Unknown, Some(cols)),
                Resolved::Scalar(t) => (t, None),
            },
        };
        self.vals[id] = Val { d: Datum::Null, ty, row: None, shape };
        // A bound cursor's variable starts as its own name (the portal OPEN names).
        if self.f.cursors.iter().any(|c| c.var == id) {
            self.vals[id].d = Datum::Text(var.name.clone());
        }
        if let Some(d) = &var.default {
            let (v, from) = self.value(txn, d).await?;
            self.assign(&Target::Var(id), v, from)?;
        } else if var.not_null {
            return Err(SqlError::new(
                "22004",
                format!("null value cannot be assigned to variable \"{}\" declared NOT NULL", var.name),
            ));
        }
        Ok(())
    }

    fn assign(&mut self, target: &Target, d: Datum, from: SqlType) -> Result<()> {
        match target {
            Target::Var(id) => {
                let var = &self.f.vars[*id];
                if var.ty == VarType::Record || self.vals[*id].shape.is_some() {
                    // A row value (a record, or a value of a composite type) assigned whole:
                    // its fields, by position into a `t%ROWTYPE`'s columns.
                    let fields = match (&d, from) {
                        (Datum::Null, _) => None,
                        (Datum::Record(_), SqlType::Composite(oid)) => Some(crate::composites::fields_of(oid)?),
                        // PostgreSQL reads another value through the record type's input.
                        _ if var.ty == VarType::Record => {
                            return Err(SqlError::unsupported("input of anonymous composite types is not implemented"))
                        }
                        _ => {
                            let text = crate::types::to_text(&d).unwrap_or_default();
                            return Err(SqlError::new(
                                code::INVALID_TEXT_REPRESENTATION,
                                format!("malformed record literal: \"{text}\""),
                            )
                            .detail("Missing left parenthesis."));
                        }
                    };
                    let (Datum::Record(vals), Some(fields)) = (d, fields) else {
                        self.vals[*id].row = None;
                        return Ok(());
                    };
                    let cols: Vec<crate::bind::OutputColumn> = fields
                        .iter()
                        .map(|f| crate::bind::OutputColumn { name: f.name.clone(), ty: f.ty, table_oid: 0, column: 0 })
                        .collect();
                    return self.assign_row(std::slice::from_ref(target), &cols, Some(*vals));
                }
                // A variable of no type yet (CASE's subject) takes the value's.
                let to = if self.vals[*id].ty == SqlType::Unknown { from } else { self.vals[*id].ty };
                let v = cast(d, from, to)?;
                if v.is_null() && var.not_null {
                    return Err(SqlError::new(
                        "22004",
                        format!("null value cannot be assigned to variable \"{}\" declared NOT NULL", var.name),
                    ));
                }
                self.vals[*id].d = v;
                self.vals[*id].ty = to;
            }
            Target::Field(id, field) => {
                let (_, t) = self.field(*id, field)?;
                let v = cast(d, from, t)?;
                let val = &mut self.vals[*id];
                if val.row.is_none() {
                    if let Some(shape) = &val.shape {
                        val.row = Some(RowVal {
                            names: Rc::new(shape.iter().map(|c| c.0.clone()).collect()),
                            types: Rc::new(shape.iter().map(|c| c.1).collect()),
                            vals: vec![Datum::Null; shape.len()],
                        });
                    }
                }
                if let Some(r) = &mut val.row {
                    if let Some(i) = r.names.iter().position(|n| n == field) {
                        r.vals[i] = v;
                    }
                }
            }
        }
        Ok(())
    }

    /// Puts `row` (None: no row) of columns `cols` into `targets`: a record variable takes
    /// the whole row, else each target a column.
    fn assign_row(
        &mut self,
        targets: &[Target],
        cols: &[crate::bind::OutputColumn],
        row: Option<Vec<Datum>>,
    ) -> Result<()> {
        if let [Target::Var(id)] = targets {
            let var = &self.f.vars[*id];
            if var.ty == VarType::Record || self.vals[*id].shape.is_some() {
                let shape = self.vals[*id].shape.clone();
                self.vals[*id].row = match (row, shape) {
                    (None, _) => None,
                    (Some(vals), Some(shape)) => {
                        // A `t%ROWTYPE` keeps its columns: values by position, cast.
                        let mut out = Vec::with_capacity(shape.len());
                        for (i, (_, t)) in shape.iter().enumerate() {
                            let from = cols.get(i).map_or(*t, |c| c.ty);
                            out.push(cast(vals.get(i).cloned().unwrap_or(Datum::Null), from, *t)?);
                        }
                        Some(RowVal {
                            names: Rc::new(shape.iter().map(|c| c.0.clone()).collect()),
                            types: Rc::new(shape.iter().map(|c| c.1).collect()),
                            vals: out,
                        })
                    }
                    (Some(vals), None) => Some(RowVal {
                        names: Rc::new(cols.iter().map(|c| c.name.clone()).collect()),
                        types: Rc::new(cols.iter().map(|c| c.ty).collect()),
                        vals,
                    }),
                };
                return Ok(());
            }
        }
        let row = row.unwrap_or_default();
        for (i, t) in targets.iter().enumerate() {
            let from = cols.get(i).map_or(SqlType::Unknown, |c| c.ty);
            self.assign(t, row.get(i).cloned().unwrap_or(Datum::Null), from)?;
        }
        Ok(())
    }

    /// The portal a cursor variable names: its value.
    fn portal(&self, var: usize) -> Result<String> {
        match &self.vals[var].d {
            Datum::Text(s) => Ok(s.clone()),
            _ => Err(SqlError::new("22004", format!("cursor variable \"{}\" is null", self.f.vars[var].name))),
        }
    }

    /// OPEN: the rows of the cursor's query kept in the session's cursors (as SQL's DECLARE
    /// keeps them) under its portal name, which the variable then holds (an unbound one with
    /// no name yet gets `<unnamed portal n>`).
    async fn open_cursor(
        &mut self,
        txn: &mut Txn,
        var: usize,
        scroll: Option<bool>,
        source: &super::OpenSource,
    ) -> Result<()> {
        let name = match &self.vals[var].d {
            Datum::Text(s) => s.clone(),
            _ => UNNAMED_PORTALS.with(|n| {
                n.set(n.get() + 1);
                format!("<unnamed portal {}>", n.get())
            }),
        };
        if txn.cursors.borrow().contains(&name) {
            return Err(SqlError::new("42P03", format!("cursor \"{name}\" already in use")));
        }
        let (r, columns, statement) = match source {
            super::OpenSource::Bound(args) => {
                let f = self.f.clone();
                let decl = f
                    .cursors
                    .iter()
                    .find(|c| c.var == var)
                    .ok_or_else(|| SqlError::internal("an unbound cursor opened as a bound one"))?;
                for (a, &id) in args.iter().zip(&decl.args) {
                    let (v, t) = self.value(txn, a).await?;
                    self.assign(&Target::Var(id), v, t)?;
                }
                let (r, cols) = self.query(txn, &decl.query).await?;
                (r, cols, decl.query.written.clone())
            }
            super::OpenSource::Query(q) => {
                let (r, cols) = self.query(txn, q).await?;
                (r, cols, q.written.clone())
            }
            super::OpenSource::Dynamic(text, using) => {
                let (r, cols) = self.dynamic(txn, text, using).await?;
                (r, cols, text.written.clone())
            }
        };
        let scroll = scroll.or_else(|| self.f.cursors.iter().find(|c| c.var == var).and_then(|c| c.scroll));
        let d = crate::cursors::Declare {
            name: name.clone(),
            scroll,
            hold: false,
            binary: false,
            statement,
            columns,
            updatable: crate::cursors::Updatable::No { locked: false },
        };
        let limit = txn.memory().limit();
        let (id, savepoints) = (txn.id, txn.savepoint_count());
        txn.cursors.borrow_mut().declare(&d, r.rows, id, savepoints, limit)?;
        self.vals[var].d = Datum::Text(name);
        Ok(())
    }

    /// FETCH (`into` Some) or MOVE: whether a row was there (FOUND).
    async fn fetch_cursor(
        &mut self,
        txn: &mut Txn,
        var: usize,
        dir: super::FetchDirection,
        count: Option<&Sql>,
        into: Option<&[Target]>,
    ) -> Result<bool> {
        use super::FetchDirection as D;
        use crate::cursors::FetchOp;
        let portal = self.portal(var)?;
        let n = match count {
            Some(c) => {
                let (v, t) = self.value(txn, c).await?;
                cast(v, t, SqlType::Int8)?.as_i64().unwrap_or(0)
            }
            None => 1,
        };
        let op = match dir {
            D::Next => FetchOp::Forward(1),
            D::Prior => FetchOp::Backward(1),
            D::First => FetchOp::Absolute(1),
            D::Last => FetchOp::Absolute(-1),
            D::Absolute => FetchOp::Absolute(n),
            D::Relative => FetchOp::Relative(n),
            D::Forward => FetchOp::Forward(n),
            D::Backward => FetchOp::Backward(n),
            D::ForwardAll => FetchOp::Forward(crate::cursors::ALL),
            D::BackwardAll => FetchOp::Backward(crate::cursors::ALL),
        };
        let Some(targets) = into else {
            let moved = txn.cursors.borrow_mut().fetch(&portal, op, None)?;
            return Ok(moved > 0);
        };
        if matches!(op, FetchOp::Forward(k) | FetchOp::Backward(k) if k != 1) {
            return Err(SqlError::new(code::SYNTAX_ERROR, "FETCH statement cannot return multiple rows"));
        }
        let columns = txn.cursors.borrow().get(&portal).map(|c| c.columns.clone());
        let mut rows = Vec::new();
        txn.cursors.borrow_mut().fetch(&portal, op, Some(&mut rows))?;
        let row = rows.into_iter().next();
        let found = row.is_some();
        self.assign_row(targets, &columns.unwrap_or_default(), row)?;
        Ok(found)
    }

    fn set_found(&mut self, found: bool) {
        let id = self.f.found;
        self.vals[id].d = Datum::Bool(found);
    }

    fn block<'a>(&'a mut self, txn: &'a mut Txn, b: &'a Block) -> Fut<'a, Flow> {
        Box::pin(async move {
            if b.handlers.is_empty() {
                return self.block_body(txn, b).await;
            }
            // A block with handlers is a subtransaction: an error it catches takes back what
            // the block changed.
            let sp = format!(
                "\u{1}plpgsql {}",
                SAVEPOINTS.with(|c| {
                    c.set(c.get() + 1);
                    c.get()
                })
            );
            txn.savepoint(&sp);
            match self.block_body(txn, b).await {
                Ok(flow) => {
                    txn.release(&sp)?;
                    Ok(flow)
                }
                Err(e) => {
                    let Some(h) = b.handlers.iter().find(|h| h.conditions.iter().any(|c| catches(c, &e))) else {
                        txn.release(&sp)?;
                        return Err(e);
                    };
                    txn.rollback_to(&sp).await?;
                    txn.release(&sp)?;
                    // The handler's SQLSTATE and SQLERRM are the two variables after the
                    // block's last (see the parser): found by name in the handler's scope.
                    self.set_handler_vars(h, &e);
                    self.caught.push(e);
                    let r = self.stmts(txn, &h.body).await;
                    self.caught.pop();
                    r
                }
            }
        })
    }

    /// Sets the `sqlstate` / `sqlerrm` variables a handler's body reads.
    fn set_handler_vars(&mut self, h: &super::Handler, e: &SqlError) {
        let mut ids: Vec<usize> = Vec::new();
        for s in &h.body {
            collect_refs(s, &mut ids);
        }
        for id in ids {
            match self.f.vars[id].name.as_str() {
                "sqlstate" => {
                    self.vals[id] =
                        Val { d: Datum::Text(e.code.to_string()), ty: SqlType::Text, row: None, shape: None }
                }
                "sqlerrm" => {
                    self.vals[id] = Val { d: Datum::Text(e.message.clone()), ty: SqlType::Text, row: None, shape: None }
                }
                _ => {}
            }
        }
    }

    async fn block_body(&mut self, txn: &mut Txn, b: &Block) -> Result<Flow> {
        for &id in &b.vars {
            let line = self.f.vars[id].default.as_ref().map_or(b.line, |d| d.line);
            self.init_var(txn, id).await.map_err(|e| {
                with_context(
                    e,
                    format!(
                        "PL/pgSQL function {} line {line} during statement block local variable initialization",
                        self.name
                    ),
                )
            })?;
        }
        match self.stmts(txn, &b.body).await? {
            Flow::Exit(Some(l)) if b.label.as_deref() == Some(l.as_str()) => Ok(Flow::Next),
            flow => Ok(flow),
        }
    }

    fn stmts<'a>(&'a mut self, txn: &'a mut Txn, body: &'a [Stmt]) -> Fut<'a, Flow> {
        Box::pin(async move {
            for s in body {
                match self.stmt(txn, s).await? {
                    Flow::Next => {}
                    other => return Ok(other),
                }
            }
            Ok(Flow::Next)
        })
    }

    /// A loop body's flow: whether the loop goes on (None) or ends with this flow.
    fn after_body(flow: Flow, label: &Option<String>) -> Option<Flow> {
        match flow {
            Flow::Next => None,
            Flow::Continue(None) => None,
            Flow::Continue(Some(l)) if label.as_deref() == Some(l.as_str()) => None,
            Flow::Exit(None) => Some(Flow::Next),
            Flow::Exit(Some(l)) if label.as_deref() == Some(l.as_str()) => Some(Flow::Next),
            other => Some(other),
        }
    }

    async fn stmt(&mut self, txn: &mut Txn, s: &Stmt) -> Result<Flow> {
        txn.check_cancel()?;
        match s {
            Stmt::Block(b) => self.block(txn, b).await,
            Stmt::Open { var, scroll, source, line } => {
                self.open_cursor(txn, *var, *scroll, source).await.map_err(|e| self.context(e, *line, "OPEN"))?;
                Ok(Flow::Next)
            }
            Stmt::Fetch { var, op, count, into, line } => {
                let what = if into.is_some() { "FETCH" } else { "MOVE" };
                let found = self
                    .fetch_cursor(txn, *var, *op, count.as_ref(), into.as_deref())
                    .await
                    .map_err(|e| self.context(e, *line, what))?;
                self.set_found(found);
                Ok(Flow::Next)
            }
            Stmt::Close { var, line } => {
                let r = self.portal(*var).and_then(|p| txn.cursors.borrow_mut().close(Some(&p)));
                r.map_err(|e| self.context(e, *line, "CLOSE"))?;
                Ok(Flow::Next)
            }
            Stmt::ForCursor { label, target, var, args, body, line } => {
                let what = "FOR over cursor";
                let source = super::OpenSource::Bound(args.clone());
                // A variable with no name gets one for the loop, and is NULL again after it.
                let unnamed = self.vals[*var].d.is_null();
                self.open_cursor(txn, *var, None, &source).await.map_err(|e| self.context(e, *line, what))?;
                let portal = self.portal(*var)?;
                let mut found = false;
                let mut flow = Flow::Next;
                loop {
                    let more = self
                        .fetch_cursor(txn, *var, super::FetchDirection::Next, None, Some(std::slice::from_ref(target)))
                        .await
                        .map_err(|e| self.context(e, *line, what))?;
                    if !more {
                        break;
                    }
                    found = true;
                    let f = self.stmts(txn, body).await?;
                    if let Some(f) = Self::after_body(f, label) {
                        flow = f;
                        break;
                    }
                }
                txn.cursors.borrow_mut().close(Some(&portal)).map_err(|e| self.context(e, *line, what))?;
                if unnamed {
                    self.vals[*var].d = Datum::Null;
                }
                self.set_found(found);
                Ok(flow)
            }
            Stmt::Null => Ok(Flow::Next),
            Stmt::Assign { target, value } => {
                let r: Result<()> = async {
                    let (d, t) = self.value(txn, value).await?;
                    self.assign(target, d, t)
                }
                .await;
                r.map_err(|e| self.context(e, value.line, "assignment"))?;
                Ok(Flow::Next)
            }
            Stmt::If { arms, otherwise, line } => {
                for (cond, body) in arms {
                    if self.condition(txn, cond).await.map_err(|e| self.context(e, *line, "IF"))? {
                        return self.stmts(txn, body).await;
                    }
                }
                self.stmts(txn, otherwise).await
            }
            Stmt::Case { subject, arms, otherwise, line } => {
                if let Some((s, h)) = subject {
                    let (d, t) = self.value(txn, s).await.map_err(|e| self.context(e, *line, "CASE"))?;
                    self.vals[*h] = Val { d, ty: t, row: None, shape: None };
                }
                for (cond, body) in arms {
                    if self.condition(txn, cond).await.map_err(|e| self.context(e, *line, "CASE"))? {
                        return self.stmts(txn, body).await;
                    }
                }
                match otherwise {
                    Some(body) => self.stmts(txn, body).await,
                    None => Err(self.context(
                        SqlError::new("20000", "case not found").hint("CASE statement is missing ELSE part."),
                        *line,
                        "CASE",
                    )),
                }
            }
            Stmt::Loop { label, body, .. } => loop {
                let flow = self.stmts(txn, body).await?;
                if let Some(f) = Self::after_body(flow, label) {
                    return Ok(f);
                }
            },
            Stmt::While { label, cond, body, line } => {
                while self.condition(txn, cond).await.map_err(|e| self.context(e, *line, "WHILE"))? {
                    let flow = self.stmts(txn, body).await?;
                    if let Some(f) = Self::after_body(flow, label) {
                        return Ok(f);
                    }
                }
                Ok(Flow::Next)
            }
            Stmt::ForInt { label, var, reverse, lo, hi, step, body, line } => {
                let what = "FOR with integer loop variable";
                let null_bound =
                    |which: &str| SqlError::new("22004", format!("{which} bound of FOR loop cannot be null"));
                let lo_v = self.int_value(txn, lo).await.map_err(|e| self.context(e, *line, what))?;
                let lo_v = lo_v.ok_or_else(|| self.context(null_bound("lower"), *line, what))?;
                let hi_v = self.int_value(txn, hi).await.map_err(|e| self.context(e, *line, what))?;
                let hi_v = hi_v.ok_or_else(|| self.context(null_bound("upper"), *line, what))?;
                let step_v = match step {
                    Some(s) => {
                        let v = self.int_value(txn, s).await.map_err(|e| self.context(e, *line, what))?;
                        let v = v.ok_or_else(|| {
                            self.context(SqlError::new("22004", "BY value of FOR loop cannot be null"), *line, what)
                        })?;
                        if v <= 0 {
                            return Err(self.context(
                                SqlError::new("22023", "BY value of FOR loop must be greater than zero"),
                                *line,
                                what,
                            ));
                        }
                        v
                    }
                    None => 1,
                };
                let mut i = lo_v;
                let mut found = false;
                while (!reverse && i <= hi_v) || (*reverse && i >= hi_v) {
                    found = true;
                    let iv = i32::try_from(i)
                        .map_err(|_| self.context(SqlError::new("22003", "integer out of range"), *line, what))?;
                    self.vals[*var] = Val { d: Datum::Int4(iv), ty: SqlType::Int4, row: None, shape: None };
                    let flow = self.stmts(txn, body).await?;
                    if let Some(f) = Self::after_body(flow, label) {
                        self.set_found(true);
                        return Ok(f);
                    }
                    i = if *reverse { i - step_v } else { i + step_v };
                }
                self.set_found(found);
                Ok(Flow::Next)
            }
            Stmt::ForQuery { label, targets, query, dynamic, body, line } => {
                let what = if dynamic.is_some() { "FOR over EXECUTE statement" } else { "FOR over SELECT rows" };
                let (r, cols) = match dynamic {
                    Some(using) => self.dynamic(txn, query, using).await,
                    None => self.query(txn, query).await,
                }
                .map_err(|e| self.context(e, *line, what))?;
                let mut found = false;
                for row in r.rows {
                    found = true;
                    self.assign_row(targets, &cols, Some(row)).map_err(|e| self.context(e, *line, what))?;
                    let flow = self.stmts(txn, body).await?;
                    if let Some(f) = Self::after_body(flow, label) {
                        self.set_found(true);
                        return Ok(f);
                    }
                }
                self.set_found(found);
                Ok(Flow::Next)
            }
            Stmt::Foreach { label, target, slice, array, body, line } => {
                let what = "FOREACH over array";
                if *slice > 0 {
                    return Err(self.context(
                        SqlError::unsupported("FOREACH ... SLICE is not supported yet"),
                        *line,
                        what,
                    ));
                }
                let (d, t) = self.value(txn, array).await.map_err(|e| self.context(e, *line, what))?;
                let items = match d {
                    Datum::Array(a) => a.items,
                    Datum::Null => {
                        return Err(self.context(
                            SqlError::new("22004", "FOREACH expression must not be null"),
                            *line,
                            what,
                        ))
                    }
                    _ => {
                        return Err(self.context(
                            SqlError::new(
                                "42804",
                                format!("FOREACH expression must yield an array, not type {}", t.name()),
                            ),
                            *line,
                            what,
                        ))
                    }
                };
                let elem = t.elem().unwrap_or(SqlType::Unknown);
                for item in items {
                    self.assign(target, item, elem).map_err(|e| self.context(e, *line, what))?;
                    let flow = self.stmts(txn, body).await?;
                    if let Some(f) = Self::after_body(flow, label) {
                        return Ok(f);
                    }
                }
                Ok(Flow::Next)
            }
            Stmt::Exit { again, label, cond, line } => {
                if let Some(c) = cond {
                    let what = if *again { "CONTINUE" } else { "EXIT" };
                    if !self.condition(txn, c).await.map_err(|e| self.context(e, *line, what))? {
                        return Ok(Flow::Next);
                    }
                }
                Ok(if *again { Flow::Continue(label.clone()) } else { Flow::Exit(label.clone()) })
            }
            Stmt::Return { value, line } => {
                let Some(v) = value else {
                    return Ok(Flow::Return(Datum::Null));
                };
                if self.f.trigger && self.ret == SqlType::Void {
                    return self.return_row(txn, v).await.map_err(|e| self.context(e, *line, "RETURN"));
                }
                if self.ret == SqlType::Void {
                    return Err(self.context(
                        SqlError::new(code::SYNTAX_ERROR, "RETURN cannot have a parameter in function returning void"),
                        *line,
                        "RETURN",
                    ));
                }
                let (d, t) = self.value(txn, v).await.map_err(|e| self.context(e, *line, "RETURN"))?;
                if matches!(self.ret, SqlType::Composite(_)) && !matches!(t, SqlType::Composite(_)) && !d.is_null() {
                    return Err(self.context(
                        SqlError::new(
                            "42804",
                            "cannot return non-composite value from function returning composite type",
                        ),
                        *line,
                        "RETURN",
                    ));
                }
                let d = cast(d, t, self.ret).map_err(|e| self.context(e, *line, "RETURN"))?;
                Ok(Flow::Return(d))
            }
            Stmt::ReturnNext { value, line } => {
                let what = "RETURN NEXT";
                if !self.setof {
                    return Err(self.context(
                        SqlError::new("42804", "cannot use RETURN NEXT in a non-SETOF function"),
                        *line,
                        what,
                    ));
                }
                let row = match value {
                    None => self.out_record().map_err(|e| self.context(e, *line, what))?,
                    Some(v) => {
                        let (d, t) = self.value(txn, v).await.map_err(|e| self.context(e, *line, what))?;
                        cast(d, t, self.ret).map_err(|e| self.context(e, *line, what))?
                    }
                };
                self.push_row(row).map_err(|e| self.context(e, *line, what))?;
                Ok(Flow::Next)
            }
            Stmt::ReturnQuery { query, dynamic, line } => {
                let what = "RETURN QUERY";
                if !self.setof {
                    return Err(self.context(
                        SqlError::new("42804", "cannot use RETURN QUERY in a non-SETOF function"),
                        *line,
                        what,
                    ));
                }
                let (r, cols) = match dynamic {
                    Some(using) => self.dynamic(txn, query, using).await,
                    None => self.query(txn, query).await,
                }
                .map_err(|e| self.sql_context(e, query, what))?;
                let want = if self.out_types.is_empty() { 1 } else { self.out_types.len() };
                if cols.len() != want {
                    return Err(self.context(
                        SqlError::new("42804", "structure of query does not match function result type").detail(
                            format!(
                                "Number of returned columns ({}) does not match expected column count ({want}).",
                                cols.len()
                            ),
                        ),
                        *line,
                        what,
                    ));
                }
                let n = r.rows.len();
                for row in r.rows {
                    let v = if self.out_types.is_empty() {
                        cast(row.into_iter().next().unwrap_or(Datum::Null), cols[0].ty, self.ret)
                    } else {
                        let mut out = Vec::with_capacity(row.len());
                        for ((d, c), to) in row.into_iter().zip(&cols).zip(&self.out_types) {
                            out.push(cast(d, c.ty, *to)?);
                        }
                        Ok(Datum::Record(Box::new(out)))
                    }
                    .map_err(|e| self.context(e, *line, what))?;
                    self.push_row(v).map_err(|e| self.context(e, *line, what))?;
                }
                self.row_count = n as i64;
                self.set_found(n > 0);
                Ok(Flow::Next)
            }
            Stmt::Raise { level, condition, message, args, options, line } => {
                let e = self.raise(txn, *level, condition, message, args, options).await;
                match e {
                    Ok(Some(notice)) => {
                        pend(self.pid, [notice]);
                        Ok(Flow::Next)
                    }
                    Ok(None) => Ok(Flow::Next),
                    Err(e) => Err(self.context(e, *line, "RAISE")),
                }
            }
            Stmt::Reraise { line } => match self.caught.last() {
                Some(e) => Err(e.clone()),
                None => Err(self.context(
                    SqlError::new("0Z002", "RAISE without parameters cannot be used outside an exception handler"),
                    *line,
                    "RAISE",
                )),
            },
            Stmt::Perform { query } => {
                let (r, _) = self.query(txn, query).await.map_err(|e| self.sql_context(e, query, "PERFORM"))?;
                let n = r.rows.len();
                self.row_count = n as i64;
                self.set_found(n > 0);
                Ok(Flow::Next)
            }
            Stmt::Exec { sql, into } => {
                let (r, cols) = self.query(txn, sql).await.map_err(|e| self.sql_context(e, sql, "SQL statement"))?;
                self.after_statement(r, &cols, into.as_ref(), sql)
                    .map_err(|e| self.context(e, sql.line, "SQL statement"))?;
                Ok(Flow::Next)
            }
            Stmt::Dynamic { text, into, using, line } => {
                let (r, cols) = self.dynamic(txn, text, using).await.map_err(|e| self.context(e, *line, "EXECUTE"))?;
                self.after_statement(r, &cols, into.as_ref(), text).map_err(|e| self.context(e, *line, "EXECUTE"))?;
                Ok(Flow::Next)
            }
            Stmt::GetDiagnostics { stacked, items, line } => {
                for (target, item) in items {
                    let (d, t) = match (*stacked, item.as_str()) {
                        (false, "row_count") => (Datum::Int8(self.row_count), SqlType::Int8),
                        (false, "pg_context") => (
                            Datum::Text(format!("PL/pgSQL function {} line {line} at GET DIAGNOSTICS", self.name)),
                            SqlType::Text,
                        ),
                        (true, _) => {
                            let Some(e) = self.caught.last() else {
                                return Err(self.context(
                                    SqlError::new(
                                        "0Z002",
                                        "GET STACKED DIAGNOSTICS cannot be used outside an exception handler",
                                    ),
                                    *line,
                                    "GET STACKED DIAGNOSTICS",
                                ));
                            };
                            let f = e.fields.as_deref();
                            let text = match item.as_str() {
                                "returned_sqlstate" => Some(e.code.to_string()),
                                "message_text" => Some(e.message.clone()),
                                "pg_exception_detail" => e.detail.clone(),
                                "pg_exception_hint" => e.hint.clone(),
                                "pg_exception_context" => e.context_text().map(str::to_string),
                                "column_name" => f.and_then(|f| f.column.clone()),
                                "constraint_name" => f.and_then(|f| f.constraint.clone()),
                                "table_name" => f.and_then(|f| f.table.clone()),
                                "schema_name" => f.and_then(|f| f.schema.clone()),
                                _ => {
                                    return Err(SqlError::new(
                                        code::SYNTAX_ERROR,
                                        format!("unrecognized GET DIAGNOSTICS item \"{item}\""),
                                    ))
                                }
                            };
                            (Some(text.unwrap_or_default()).map_or(Datum::Null, Datum::Text), SqlType::Text)
                        }
                        _ => {
                            return Err(SqlError::new(
                                code::SYNTAX_ERROR,
                                format!("unrecognized GET DIAGNOSTICS item \"{item}\""),
                            ))
                        }
                    };
                    self.assign(target, d, t).map_err(|e| self.context(e, *line, "GET DIAGNOSTICS"))?;
                }
                Ok(Flow::Next)
            }
            Stmt::Assert { cond, message, line } => {
                let enabled = crate::settings::peek_value("plpgsql.check_asserts").is_none_or(|v| v != "off");
                if !enabled {
                    return Ok(Flow::Next);
                }
                let (d, t) = self.value(txn, cond).await.map_err(|e| self.context(e, *line, "ASSERT"))?;
                if matches!(cast(d, t, SqlType::Bool), Ok(Datum::Bool(true))) {
                    return Ok(Flow::Next);
                }
                let msg = match message {
                    Some(m) => {
                        let (d, _) = self.value(txn, m).await.map_err(|e| self.context(e, *line, "ASSERT"))?;
                        shown(&d)
                    }
                    None => "assertion failed".into(),
                };
                Err(self.context(SqlError::new("P0004", msg), *line, "ASSERT"))
            }
        }
    }

    /// A trigger function's `RETURN NEW | OLD | record | NULL`: the row, cast to NEW's
    /// columns.
    async fn return_row(&mut self, txn: &mut Txn, v: &Sql) -> Result<Flow> {
        let new = self.f.found + 1;
        let shape = self.vals[new].shape.clone().unwrap_or_default();
        if let ([Ref::Var(id)], "SELECT $1") = (v.refs.as_slice(), v.text.trim()) {
            let val = &self.vals[*id];
            if val.row.is_some() || val.shape.is_some() || self.f.vars[*id].ty == VarType::Record {
                let Some(row) = &val.row else { return Ok(Flow::ReturnRow(None)) };
                if row.vals.len() != shape.len() {
                    return Err(SqlError::new(
                        "42804",
                        "returned row structure does not match the structure of the triggering table",
                    )
                    .detail("Number of returned columns does not match expected column count."));
                }
                let mut out = Vec::with_capacity(shape.len());
                for ((d, from), (_, to)) in row.vals.iter().zip(row.types.iter()).zip(shape.iter()) {
                    out.push(cast(d.clone(), *from, *to)?);
                }
                return Ok(Flow::ReturnRow(Some(out)));
            }
        }
        let (d, _) = self.value(txn, v).await?;
        if d.is_null() {
            return Ok(Flow::ReturnRow(None));
        }
        Err(SqlError::new("42804", "cannot return non-composite value from function returning composite type"))
    }

    /// The record of the OUT parameters' variables (one OUT parameter: its value).
    fn out_record(&self) -> Result<Datum> {
        if self.f.outs.is_empty() {
            return Err(SqlError::new(code::SYNTAX_ERROR, "RETURN NEXT must have a parameter"));
        }
        if let [id] = self.f.outs[..] {
            return Ok(self.vals[id].d.clone());
        }
        Ok(Datum::Record(Box::new(self.f.outs.iter().map(|&id| self.vals[id].d.clone()).collect())))
    }

    fn push_row(&mut self, row: Datum) -> Result<()> {
        if self.rows.len() >= MAX_ROWS {
            return Err(SqlError::new(
                "54000",
                format!("a set-returning PL/pgSQL function may return at most {MAX_ROWS} rows"),
            ));
        }
        self.rows.push(row);
        Ok(())
    }

    /// CONTEXT of an error in SQL statement `s`: the statement's text, then the line.
    fn sql_context(&self, e: SqlError, s: &Sql, what: &str) -> SqlError {
        // An error a called function raised has its own lines already; PostgreSQL names
        // the statement first.
        let e = with_context(e, format!("SQL statement \"{}\"", s.written_statement(what)));
        self.context(e, s.line, what)
    }

    /// FOUND, ROW_COUNT and the INTO targets after SQL statement `sql` ran.
    fn after_statement(
        &mut self,
        r: QueryResult,
        cols: &[crate::bind::OutputColumn],
        into: Option<&Into>,
        sql: &Sql,
    ) -> Result<()> {
        let n = tag_count(&r);
        self.row_count = n;
        let Some(into) = into else {
            self.set_found(n > 0);
            return Ok(());
        };
        let returning = !r.tag.starts_with("SELECT") && !r.tag.is_empty();
        if r.rows.len() > 1 && (into.strict || returning) {
            return Err(SqlError::new("P0003", "query returned more than one row")
                .hint("Make sure the query returns a single row, or use LIMIT 1."));
        }
        if r.rows.is_empty() && into.strict {
            return Err(SqlError::new("P0002", "query returned no rows"));
        }
        let _ = sql;
        let found = !r.rows.is_empty();
        let row = r.rows.into_iter().next();
        self.assign_row(&into.targets, cols, row)?;
        self.set_found(found);
        Ok(())
    }

    /// `EXECUTE text USING args`: the text's statement, bound with the arguments as `$n`.
    async fn dynamic(
        &mut self,
        txn: &mut Txn,
        text: &Sql,
        using: &[Sql],
    ) -> Result<(QueryResult, Vec<crate::bind::OutputColumn>)> {
        let (d, _) = self.value(txn, text).await?;
        let Datum::Text(sql) = d else {
            return Err(SqlError::new("22004", "query string argument of EXECUTE is null"));
        };
        let mut vals = Vec::new();
        let mut types = Vec::new();
        for u in using {
            let (d, t) = self.value(txn, u).await?;
            vals.push(d);
            types.push(t);
        }
        let (mut r, cols) = run_sql(txn, &sql, &types, &vals, None).await?;
        pend(self.pid, std::mem::take(&mut r.notices));
        Ok((r, cols))
    }

    /// RAISE: a notice to send (None when below the level sent), or the error raised.
    async fn raise(
        &mut self,
        txn: &mut Txn,
        level: Level,
        condition: &Option<String>,
        message: &Option<String>,
        args: &[Sql],
        options: &[(String, Sql)],
    ) -> Result<Option<SqlError>> {
        let mut values = Vec::new();
        for a in args {
            values.push(self.value(txn, a).await?.0);
        }
        let mut text = match message {
            Some(m) => {
                let mut out = String::new();
                let mut next = values.iter();
                let mut chars = m.chars().peekable();
                while let Some(c) = chars.next() {
                    if c == '%' {
                        if chars.peek() == Some(&'%') {
                            chars.next();
                            out.push('%');
                        } else {
                            out.push_str(&next.next().map(shown).unwrap_or_default());
                        }
                    } else {
                        out.push(c);
                    }
                }
                Some(out)
            }
            None => None,
        };
        let mut errcode: Option<&'static str> = match condition {
            Some(c) => Some(errcode_of(c)?),
            None => None,
        };
        let (mut detail, mut hint) = (None, None);
        let mut fields = crate::error::ErrorFields::default();
        for (name, e) in options {
            let (d, _) = self.value(txn, e).await?;
            let v = match d {
                Datum::Null => return Err(SqlError::new("22004", "RAISE statement option cannot be null")),
                d => shown(&d),
            };
            match name.as_str() {
                "message" => {
                    if text.is_some() {
                        return Err(SqlError::new(code::SYNTAX_ERROR, "RAISE option already specified: MESSAGE"));
                    }
                    text = Some(v)
                }
                "detail" => detail = Some(v),
                "hint" => hint = Some(v),
                "errcode" => errcode = Some(errcode_of(&v)?),
                "column" => fields.column = Some(v),
                "constraint" => fields.constraint = Some(v),
                "table" => fields.table = Some(v),
                "schema" => fields.schema = Some(v),
                _ => {}
            }
        }
        // A condition with no message: its name is the message, as PostgreSQL's.
        let text = text
            .or_else(|| condition.clone())
            .unwrap_or_else(|| errcode.map_or_else(|| "unrecognized exception condition".into(), |c| c.to_string()));
        let code = errcode.unwrap_or(match level {
            Level::Exception => "P0001",
            Level::Warning => "01000",
            _ => "00000",
        });
        let mut e = SqlError::new(code, text);
        e.detail = detail;
        e.hint = hint;
        if fields != crate::error::ErrorFields::default() {
            e.fields = Some(Box::new(fields));
        }
        if level == Level::Exception {
            return Err(e);
        }
        let severity = match level {
            Level::Debug | Level::Log => return Ok(None),
            Level::Info => "INFO",
            Level::Notice => "NOTICE",
            _ => "WARNING",
        };
        Ok(Some(e.severity(severity)))
    }
}

impl Sql {
    /// The statement as PostgreSQL's CONTEXT quotes it (PERFORM's `SELECT ...`).
    fn written_statement(&self, what: &str) -> String {
        if what == "PERFORM" {
            format!("SELECT {}", self.written)
        } else {
            self.written.clone()
        }
    }
}

/// The variables statement `s` (and those inside it) reads or writes.
fn collect_refs(s: &Stmt, out: &mut Vec<usize>) {
    let sql = |q: &Sql, out: &mut Vec<usize>| {
        for r in &q.refs {
            match r {
                Ref::Var(id) | Ref::Field(id, _) => out.push(*id),
            }
        }
    };
    let target = |t: &Target, out: &mut Vec<usize>| match t {
        Target::Var(id) | Target::Field(id, _) => out.push(*id),
    };
    match s {
        Stmt::Open { var, source, .. } => {
            out.push(*var);
            match source {
                super::OpenSource::Bound(args) => args.iter().for_each(|a| sql(a, out)),
                super::OpenSource::Query(q) => sql(q, out),
                super::OpenSource::Dynamic(t, using) => {
                    sql(t, out);
                    using.iter().for_each(|u| sql(u, out));
                }
            }
        }
        Stmt::Fetch { var, count, into, .. } => {
            out.push(*var);
            count.iter().for_each(|c| sql(c, out));
            into.iter().flatten().for_each(|t| target(t, out));
        }
        Stmt::Close { var, .. } => out.push(*var),
        Stmt::ForCursor { target: t, var, args, body, .. } => {
            out.push(*var);
            target(t, out);
            args.iter().for_each(|a| sql(a, out));
            body.iter().for_each(|s| collect_refs(s, out));
        }
        Stmt::Block(b) => {
            for s in &b.body {
                collect_refs(s, out);
            }
            for h in &b.handlers {
                for s in &h.body {
                    collect_refs(s, out);
                }
            }
        }
        Stmt::Assign { target: t, value } => {
            target(t, out);
            sql(value, out);
        }
        Stmt::If { arms, otherwise, .. } => {
            for (c, b) in arms {
                sql(c, out);
                b.iter().for_each(|s| collect_refs(s, out));
            }
            otherwise.iter().for_each(|s| collect_refs(s, out));
        }
        Stmt::Case { subject, arms, otherwise, .. } => {
            if let Some((s, _)) = subject {
                sql(s, out);
            }
            for (c, b) in arms {
                sql(c, out);
                b.iter().for_each(|s| collect_refs(s, out));
            }
            otherwise.iter().flatten().for_each(|s| collect_refs(s, out));
        }
        Stmt::Loop { body, .. } => body.iter().for_each(|s| collect_refs(s, out)),
        Stmt::While { cond, body, .. } => {
            sql(cond, out);
            body.iter().for_each(|s| collect_refs(s, out));
        }
        Stmt::ForInt { lo, hi, step, body, .. } => {
            sql(lo, out);
            sql(hi, out);
            if let Some(s) = step {
                sql(s, out);
            }
            body.iter().for_each(|s| collect_refs(s, out));
        }
        Stmt::ForQuery { query, dynamic, body, .. } => {
            sql(query, out);
            dynamic.iter().flatten().for_each(|s| sql(s, out));
            body.iter().for_each(|s| collect_refs(s, out));
        }
        Stmt::Foreach { array, body, .. } => {
            sql(array, out);
            body.iter().for_each(|s| collect_refs(s, out));
        }
        Stmt::Exit { cond, .. } => cond.iter().for_each(|c| sql(c, out)),
        Stmt::Return { value, .. } | Stmt::ReturnNext { value, .. } => value.iter().for_each(|c| sql(c, out)),
        Stmt::ReturnQuery { query, dynamic, .. } => {
            sql(query, out);
            dynamic.iter().flatten().for_each(|s| sql(s, out));
        }
        Stmt::Raise { args, options, .. } => {
            args.iter().for_each(|a| sql(a, out));
            options.iter().for_each(|(_, a)| sql(a, out));
        }
        Stmt::Perform { query } => sql(query, out),
        Stmt::Exec { sql: q, into } => {
            sql(q, out);
            into.iter().flat_map(|i| &i.targets).for_each(|t| target(t, out));
        }
        Stmt::Dynamic { text, into, using, .. } => {
            sql(text, out);
            using.iter().for_each(|u| sql(u, out));
            into.iter().flat_map(|i| &i.targets).for_each(|t| target(t, out));
        }
        Stmt::GetDiagnostics { items, .. } => items.iter().for_each(|(t, _)| target(t, out)),
        Stmt::Assert { cond, message, .. } => {
            sql(cond, out);
            message.iter().for_each(|m| sql(m, out));
        }
        Stmt::Reraise { .. } | Stmt::Null => {}
    }
}
