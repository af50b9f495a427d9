//! Relations that are not stored tables, and subqueries in expressions: derived tables
//! (`FROM (SELECT ...) AS s`), VALUES, set operations (UNION/INTERSECT/EXCEPT [ALL]), WITH
//! [RECURSIVE] queries, `generate_series()` in FROM, and `(SELECT ...)`, `EXISTS`, `IN`,
//! `op ANY/ALL` in expressions.
//!
//! A relation the binder builds is a [`Derived`]: a table definition whose name starts with
//! `"\0rel"` (so [`is_derived`] tells it from a stored table) and a [`Source`] that computes its
//! rows. When the statement runs ([`run`]), each one is materialised on the coordinating shard
//! and registered in the transaction under that name; [`crate::exec::scan`] then reads the rows
//! from there, so joins, WHERE, grouping, ORDER BY and LIMIT treat it as any table. Every
//! materialisation is charged to the statement's memory account ([`crate::memory`]; 53200 past
//! `orbit.query_memory_limit`), a set operation's hash sets and a recursive query's working
//! tables too; a recursive query's iterations are bounded ([`MAX_ITERATIONS`], 54000) and a
//! cancel request or `statement_timeout` stops set operations and recursion.
//!
//! Subqueries in expressions are [`SubLink`]s. The binder puts a placeholder parameter
//! `Param(LINK_BASE + id)` where the subquery's value goes. A subquery that reads no column of
//! an enclosing query runs once before the statement (PostgreSQL's InitPlan) and its value is
//! put into the plan as a constant (an `IN`/`ANY`/`ALL` one as the list of its values), so the
//! filters shipped to the shards stay plain expressions. A correlated one (it reads columns of
//! the enclosing query: `Param(OUTER_BASE + ref)` inside it) runs per row of the enclosing query
//! on the coordinating shard ([`Source::Correlated`]), once per distinct set of the outer values
//! it reads (memoised, the memo bounded), and its value becomes an extra column of the row.

use crate::bind::{Plan, SelectPlan, SortSource};
use crate::error::{Result, SqlError};
use crate::expr::{self, ArithOp, CmpOp, Ctx, Expr};
use crate::txn::Txn;
use orbit_engine::table::{ColumnDef, Datum, Row, SqlType, TableDef};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// Iterations of one WITH RECURSIVE query before it fails with 54000 (PostgreSQL has no such
/// bound and would run until memory or disk runs out).
pub const MAX_ITERATIONS: usize = 1_000_000;
/// Results of a correlated subquery kept for reuse (values over all remembered outer keys);
/// past it the memo is emptied and starts again.
const MEMO_ROWS: usize = 1_000_000;
/// `Param(LINK_BASE + n)`: the value of sublink n (a placeholder until the statement runs).
pub const LINK_BASE: usize = 1 << 24;
/// `Param(OUTER_BASE + n)`: outer reference n (a column of an enclosing query).
pub const OUTER_BASE: usize = 1 << 26;

const PREFIX: &str = "\0rel";

/// A relation whose rows are computed when the statement runs.
#[derive(Debug, Clone)]
pub struct Derived {
    /// Named `"\0rel<n>"`: the key its rows are registered under.
    pub def: Arc<TableDef>,
    /// What EXPLAIN calls it (the alias or CTE name).
    pub label: String,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Intersect,
    Except,
}

impl SetOp {
    pub fn name(self) -> &'static str {
        match self {
            SetOp::Union => "UNION",
            SetOp::Intersect => "INTERSECT",
            SetOp::Except => "EXCEPT",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Source {
    /// A bound query (SELECT, or a [`Plan::Query`]): its result rows.
    Query(Box<Plan>),
    /// `VALUES (...), (...)`: expressions that read no row.
    Values(Vec<Vec<Expr>>),
    SetOp {
        op: SetOp,
        all: bool,
        left: Box<Source>,
        right: Box<Source>,
        /// Hashed or sorted (`enable_hashagg` when bound: [`crate::group::Strategy::set_op`]).
        strategy: crate::group::Strategy,
    },
    /// The rows of a source through expressions over them (casts to a set operation's types).
    Project(Box<Source>, Vec<Expr>),
    /// `WITH RECURSIVE`: `base`, then `step` over the rows the last round added (registered
    /// under the CTE's own name while it runs) until a round adds none.
    Recursive {
        name: String,
        base: Box<Source>,
        step: Box<Source>,
        all: bool,
        /// Rows enough for the statement: the recursion stops once it has them (see
        /// `bind::subquery::stop_recursion_early`); None runs it to the end.
        enough: Option<u64>,
        /// Whether the query it belongs to reads it once, outside itself (so a cap on the
        /// rows its reader needs is a cap on its own).
        once: bool,
    },
    /// `generate_series(start, stop [, step])` over integers or numeric.
    Series {
        args: Vec<Expr>,
        ty: SqlType,
        /// `WITH ORDINALITY`: each row followed by its number (int8, from 1).
        ordinality: bool,
    },
    /// `unnest(array)`: one row per element.
    Unnest {
        arg: Expr,
        ordinality: bool,
        /// `pg_options_to_table(text[])`: each `name=value` element as two columns.
        split_options: bool,
        /// An array of a composite type: each element's fields as this many columns (a NULL
        /// element a row of NULLs), as PostgreSQL expands a function's composite result.
        fields: Option<usize>,
    },
    /// `unnest(a, b, ...)` in FROM and json[b]_each: row i holds element i of each array
    /// (NULL past an array's end), as many rows as the longest array.
    Zip { args: Vec<Expr>, ordinality: bool },
    /// `ROWS FROM (f(...), ...)`: each function's rows (each part `width` columns wide) side by
    /// side, a shorter one's missing rows NULLs.
    RowsFrom { parts: Vec<(Source, usize)>, ordinality: bool },
    /// The FROM rows of a SELECT with correlated subqueries, each row followed by the values of
    /// `links`; WHERE (which may read them) is applied here.
    Correlated(Box<Correlated>),
    /// The FROM items up to a LATERAL one, that one computed per left row ([`crate::lateral`]).
    Lateral(Box<crate::lateral::Lateral>),
}

#[derive(Debug, Clone)]
pub struct Correlated {
    pub table: Option<Arc<TableDef>>,
    pub join: Option<Box<crate::join::JoinPlan>>,
    /// Width of the FROM row (the links' values follow it).
    pub width: usize,
    pub filter: Option<Expr>,
    pub links: Vec<SubLink>,
    /// Decorrelated EXISTS/IN parts of WHERE ([`crate::semi_join`]), applied to the FROM rows
    /// first, in order.
    pub semi: Vec<crate::semi_join::SemiJoin>,
}

#[derive(Debug, Clone)]
pub enum LinkKind {
    /// `(SELECT x ...)`: its one value, NULL without rows, 21000 with several.
    Scalar,
    /// `EXISTS (SELECT ...)`.
    Exists,
    /// `ARRAY(SELECT x ...)`: the values of every row, in order, as a one-dimensional array
    /// (empty without rows).
    Array,
    /// `x op ANY (SELECT ...)` (IN is `= ANY`): the comparison with the placeholder on the right,
    /// as bound (casts included).
    Any(Expr),
    /// `x op ALL (SELECT ...)`.
    All(Expr),
    /// `(x1, ..., xn) IN (SELECT y1, ..., yn ...)` (bound so only as an AND-ed part of a
    /// SELECT's WHERE, where [`crate::semi_join`] can make it a semi or anti join): the element
    /// comparisons `xk = <placeholder>`, as bound (casts included); the placeholder in the k-th
    /// stands for the subquery's k-th column.
    AnyRow(Vec<Expr>),
    /// UPDATE/DELETE with correlated subqueries: the plan returns the key (`key` over the
    /// target row) of every row that passes WHERE, then the values of the subqueries the SET
    /// list and RETURNING read; this link's placeholder becomes `key IN (those keys)` and
    /// `outputs` (placeholder ids and types) become lookups by key.
    Keyed { key: Expr, outputs: Vec<(usize, SqlType)> },
}

/// A subquery in an expression.
#[derive(Debug, Clone)]
pub struct SubLink {
    pub id: usize,
    pub kind: LinkKind,
    pub plan: Box<Plan>,
    /// The type of the placeholder (bool for EXISTS, ANY, ALL).
    pub ty: SqlType,
    /// Outer references it reads: (reference number, the column in the enclosing row).
    pub captures: Vec<(usize, Expr)>,
}

/// A statement with relations or subqueries: `ctes` are materialised first, then the
/// uncorrelated `links` run and their values go into `inputs` and `body`, then `inputs` are
/// materialised, then `body` runs.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    pub ctes: Vec<Derived>,
    pub links: Vec<SubLink>,
    pub inputs: Vec<Derived>,
    pub body: Plan,
}

impl QueryPlan {
    /// Whether the statement returns rows (a SELECT, or DML with RETURNING).
    pub fn returns_rows(&self) -> bool {
        match &self.body {
            Plan::Select(_) | Plan::Show(_) | Plan::Explain { .. } => true,
            Plan::Insert { returning, .. } | Plan::Update { returning, .. } | Plan::Delete { returning, .. } => {
                returning.is_some()
            }
            Plan::Query(q) => q.returns_rows(),
            _ => false,
        }
    }
}

/// Materialised relations of the running statements of a transaction, by name.
#[derive(Debug, Default)]
pub struct Registry(RefCell<HashMap<String, Rc<Vec<Row>>>>);

/// Whether `def` is a relation computed by the statement (not a stored table).
pub fn is_derived(def: &TableDef) -> bool {
    def.name.starts_with(PREFIX)
}

/// The definition of a derived relation number `n` with these columns. It has no primary key,
/// so its rows carry a (NULL) row id after the columns as a stored table's would.
pub fn derived_def(n: usize, columns: Vec<ColumnDef>) -> TableDef {
    let mut def = TableDef::default_empty();
    def.name = format!("{PREFIX}{n}");
    def.columns = columns;
    def
}

/// The rows of derived relation `table` that pass `filter` (with made-up keys: their order).
pub(crate) fn scan(
    txn: &Txn,
    table: &TableDef,
    filter: Option<&Expr>,
    params: &[Datum],
) -> Result<Vec<(Vec<u8>, Row)>> {
    let rows = txn
        .relations
        .0
        .borrow()
        .get(&table.name)
        .cloned()
        .ok_or_else(|| SqlError::internal("a derived relation was read before it was computed"))?;
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if crate::exec::matches(filter, r, params)? {
            out.push(((i as u64).to_be_bytes().to_vec(), r.clone()));
        }
    }
    Ok(out)
}

fn register(txn: &Txn, def: &TableDef, mut rows: Vec<Row>, names: &mut Vec<String>) {
    let width = def.row_len();
    for r in &mut rows {
        r.resize(width, Datum::Null);
    }
    txn.relations.0.borrow_mut().insert(def.name.clone(), Rc::new(rows));
    names.push(def.name.clone());
}

fn unregister(txn: &Txn, names: &[String]) {
    let mut m = txn.relations.0.borrow_mut();
    for n in names {
        m.remove(n);
    }
}

/// Runs a [`QueryPlan`]: see its doc.
pub async fn run(txn: &mut Txn, q: &QueryPlan, params: &[Datum]) -> Result<crate::exec::QueryResult> {
    let mut names = Vec::new();
    let r = run_registered(txn, q, params, &mut names).await;
    unregister(txn, &names);
    r
}

async fn run_registered(
    txn: &mut Txn,
    q: &QueryPlan,
    params: &[Datum],
    names: &mut Vec<String>,
) -> Result<crate::exec::QueryResult> {
    for c in &q.ctes {
        let rows = materialise(txn, &c.source, &c.def, params).await?;
        register(txn, &c.def, rows, names);
    }
    let mut values: HashMap<usize, Expr> = HashMap::new();
    for l in &q.links {
        let rows = if values.is_empty() {
            run_plan(txn, &l.plan, params).await?
        } else {
            // A later subquery may read an earlier one's value.
            let mut plan = (*l.plan).clone();
            map_plan(&mut plan, &mut substitute(&values))?;
            run_plan(txn, &plan, params).await?
        };
        if let LinkKind::Keyed { key, outputs } = &l.kind {
            keyed_values(l.id, key, outputs, rows, &mut values);
            continue;
        }
        values.insert(l.id, link_value(l, rows)?);
    }
    let substituted;
    let (inputs, body) = if values.is_empty() {
        (&q.inputs, &q.body)
    } else {
        let mut inputs = q.inputs.clone();
        let mut body = q.body.clone();
        let mut f = substitute(&values);
        for d in &mut inputs {
            map_source(&mut d.source, &mut f)?;
        }
        map_plan(&mut body, &mut f)?;
        substituted = (inputs, body);
        (&substituted.0, &substituted.1)
    };
    for d in inputs {
        let rows = materialise(txn, &d.source, &d.def, params).await?;
        register(txn, &d.def, rows, names);
    }
    Box::pin(crate::exec::execute(body, params, txn)).await
}

/// Replaces sublink placeholders by their values.
fn substitute(values: &HashMap<usize, Expr>) -> impl FnMut(&mut Expr) -> Result<bool> + '_ {
    move |e: &mut Expr| {
        if let Expr::Param(i, _) = e {
            if let Some(v) = i.checked_sub(LINK_BASE).and_then(|id| values.get(&id)) {
                *e = v.clone();
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// The values of a [`LinkKind::Keyed`] link: its own placeholder (the rows to change) and its
/// outputs' (lookups by key).
fn keyed_values(
    id: usize,
    key: &Expr,
    outputs: &[(usize, SqlType)],
    rows: Vec<Row>,
    values: &mut HashMap<usize, Expr>,
) {
    let mut keys = std::collections::HashSet::new();
    let mut maps: Vec<HashMap<crate::group::KeyPart, Datum>> = outputs.iter().map(|_| HashMap::new()).collect();
    for r in rows {
        let mut it = r.into_iter();
        let k = crate::group::key_part(&it.next().unwrap_or(Datum::Null));
        for (m, v) in maps.iter_mut().zip(it) {
            m.insert(k.clone(), v);
        }
        keys.insert(k);
    }
    let filter = if keys.is_empty() {
        Expr::Const(Datum::Bool(false), SqlType::Bool)
    } else {
        Expr::InSet(Box::new(key.clone()), Arc::new(ValueSet { keys, has_null: false }), false)
    };
    values.insert(id, filter);
    for ((out, ty), map) in outputs.iter().zip(maps) {
        values.insert(*out, Expr::Lookup(Box::new(key.clone()), Arc::new(ValueMap { map }), *ty));
    }
}

/// A correlated subquery's value per row of an UPDATE or DELETE, by the row's key.
pub struct ValueMap {
    map: HashMap<crate::group::KeyPart, Datum>,
}

impl std::fmt::Debug for ValueMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValueMap({} keys)", self.map.len())
    }
}

impl ValueMap {
    /// The value for the row with key `k` (NULL for a row that was not there).
    pub fn get(&self, k: &Datum) -> Datum {
        self.map.get(&crate::group::key_part(k)).cloned().unwrap_or(Datum::Null)
    }
}

/// The rows of a subquery. What it charged to the statement's memory is given back once it
/// is done: the caller charges the rows it keeps (a correlated subquery runs once per outer
/// row, and its rows do not pile up).
pub(crate) async fn run_plan(txn: &mut Txn, plan: &Plan, params: &[Datum]) -> Result<Vec<Row>> {
    let memory = txn.memory();
    let mark = memory.mark();
    let r = Box::pin(crate::exec::execute(plan, params, txn)).await;
    memory.release_to(mark);
    Ok(r?.rows)
}

/// What a sublink's placeholder becomes, given the rows its subquery returned.
fn link_value(l: &SubLink, rows: Vec<Row>) -> Result<Expr> {
    Ok(match &l.kind {
        LinkKind::Scalar => match rows.len() {
            0 => Expr::Const(Datum::Null, l.ty),
            1 => Expr::Const(rows.into_iter().next().and_then(|r| r.into_iter().next()).unwrap_or(Datum::Null), l.ty),
            _ => return Err(SqlError::new("21000", "more than one row returned by a subquery used as an expression")),
        },
        LinkKind::Exists => Expr::Const(Datum::Bool(!rows.is_empty()), SqlType::Bool),
        LinkKind::Array => {
            let items: Vec<Datum> = rows.into_iter().map(|r| r.into_iter().next().unwrap_or(Datum::Null)).collect();
            let elem = l.ty.elem().unwrap_or(SqlType::Text);
            Expr::Const(Datum::Array(Box::new(orbit_engine::table::ArrayValue::from_items(elem, items))), l.ty)
        }
        LinkKind::Keyed { .. } => return Err(SqlError::internal("a keyed subquery per row")),
        LinkKind::AnyRow(tests) => {
            // PostgreSQL's row comparison: true if the row equals one of the subquery's rows,
            // else NULL if a comparison was NULL, else false: the OR over the distinct rows of
            // the AND of the element equalities (three-valued, so NULLs come out as that).
            let mut seen = std::collections::HashSet::new();
            let mut alts = Vec::new();
            for r in rows {
                if !seen.insert(crate::group::key_of(&r)) {
                    continue;
                }
                let mut parts = Vec::with_capacity(tests.len());
                for (k, t) in tests.iter().enumerate() {
                    let v = r.get(k).cloned().unwrap_or(Datum::Null);
                    parts.push(with_link_value(t, l.id, &v)?);
                }
                alts.push(balanced(parts, true));
            }
            balanced(alts, false)
        }
        LinkKind::Any(template) | LinkKind::All(template) => {
            let any = matches!(l.kind, LinkKind::Any(_));
            let Expr::Cmp(op, x, rhs) = template else {
                // `x ~~ ANY (SELECT ...)`, `x ~ ALL (...)`: the test of each distinct value,
                // OR-ed (AND-ed for ALL).
                let mut seen = std::collections::HashSet::new();
                let mut tests = Vec::new();
                for r in rows {
                    let v = r.into_iter().next().unwrap_or(Datum::Null);
                    if !seen.insert(crate::group::key_of(std::slice::from_ref(&v))) {
                        continue;
                    }
                    tests.push(with_link_value(template, l.id, &v)?);
                }
                return Ok(balanced(tests, !any));
            };
            // Each distinct value of the subquery, converted as the comparison needs.
            let mut seen = std::collections::HashSet::new();
            let mut items = Vec::new();
            for r in rows {
                let v = r.into_iter().next().unwrap_or(Datum::Null);
                let e = with_link_value(rhs, l.id, &v)?;
                let c = expr::eval(&e, &Ctx { row: &[], params: &[], aggs: &[] })?;
                if seen.insert(crate::group::key_of(std::slice::from_ref(&c))) {
                    items.push(Expr::Const(c, rhs.ty()));
                }
            }
            let hashable = matches!(
                rhs.ty(),
                SqlType::Bool
                    | SqlType::Int2
                    | SqlType::Int4
                    | SqlType::Int8
                    | SqlType::Float4
                    | SqlType::Float8
                    | SqlType::Numeric(_)
                    | SqlType::Text
                    | SqlType::Varchar(_)
                    | SqlType::Bpchar(_)
                    | SqlType::Bytea
                    | SqlType::Date
                    | SqlType::Timestamp(_)
                    | SqlType::TimestampTz(_)
                    | SqlType::Time(_)
                    | SqlType::Uuid
            );
            match (op, any) {
                // x = ANY (empty) is false even for a NULL x (x <> ALL (empty) true).
                (CmpOp::Eq, true) | (CmpOp::NotEq, false) if items.is_empty() => {
                    Expr::Const(Datum::Bool(!any), SqlType::Bool)
                }
                (CmpOp::Eq, true) | (CmpOp::NotEq, false) if hashable && items.len() > HASH_FROM => {
                    Expr::InSet(x.clone(), Arc::new(ValueSet::new(&items)), !any)
                }
                (CmpOp::Eq, true) => Expr::InList(x.clone(), items, false),
                (CmpOp::NotEq, false) => Expr::InList(x.clone(), items, true),
                _ => {
                    let cmps: Vec<Expr> = items.into_iter().map(|c| Expr::Cmp(*op, x.clone(), Box::new(c))).collect();
                    balanced(cmps, !any)
                }
            }
        }
    })
}

/// `e` with sublink `id`'s placeholder replaced by one of its subquery's values.
fn with_link_value(e: &Expr, id: usize, v: &Datum) -> Result<Expr> {
    let mut e = e.clone();
    walk(&mut e, &mut |x: &mut Expr| -> Result<bool> {
        if let Expr::Param(i, t) = x {
            if *i == LINK_BASE + id {
                *x = Expr::Const(v.clone(), *t);
                return Ok(true);
            }
        }
        Ok(false)
    })?;
    Ok(e)
}

/// IN lists longer than this are hashed ([`ValueSet`]).
const HASH_FROM: usize = 16;

/// The values of an `IN (subquery)`, hashed by GROUP BY's equality (which is `=` for the types
/// it is used with: the binder coerced both sides to one type).
pub struct ValueSet {
    keys: std::collections::HashSet<crate::group::KeyPart>,
    has_null: bool,
}

impl std::fmt::Debug for ValueSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ValueSet({} values{})", self.keys.len(), if self.has_null { " and NULL" } else { "" })
    }
}

impl ValueSet {
    fn new(items: &[Expr]) -> ValueSet {
        let mut s = ValueSet { keys: Default::default(), has_null: false };
        for i in items {
            match i {
                Expr::Const(Datum::Null, _) => s.has_null = true,
                Expr::Const(d, _) => {
                    s.keys.insert(crate::group::key_part(d));
                }
                _ => {}
            }
        }
        s
    }

    /// `v = ANY (values)`: true, false, or None (NULL) when `v` is NULL or the values hold a
    /// NULL and none equals `v`. (The set is never empty here.)
    pub fn contains(&self, v: &Datum) -> Option<bool> {
        if v.is_null() {
            return None;
        }
        if self.keys.contains(&crate::group::key_part(v)) {
            return Some(true);
        }
        if self.has_null {
            None
        } else {
            Some(false)
        }
    }
}

/// `a OR b OR ...` (or AND) as a balanced tree, so evaluation recursion stays shallow.
fn balanced(mut items: Vec<Expr>, and: bool) -> Expr {
    if items.is_empty() {
        return Expr::Const(Datum::Bool(and), SqlType::Bool);
    }
    if items.len() == 1 {
        return items.pop().unwrap_or(Expr::Const(Datum::Null, SqlType::Bool));
    }
    let right = items.split_off(items.len() / 2);
    let (l, r) = (Box::new(balanced(items, and)), Box::new(balanced(right, and)));
    if and {
        Expr::And(l, r)
    } else {
        Expr::Or(l, r)
    }
}

/// The rows of `source` (without the row-id slot).
pub(crate) async fn materialise(txn: &mut Txn, source: &Source, def: &TableDef, params: &[Datum]) -> Result<Vec<Row>> {
    let memory = txn.memory();
    let mark = memory.mark();
    let rows = Box::pin(materialise_inner(txn, source, def, params)).await;
    // The rows are held until the statement ends (registered under the relation's name);
    // what building them took is given back.
    memory.release_to(mark);
    let rows = rows?;
    let mut held = crate::memory::Held::new(memory, "materialized subquery or CTE");
    held.rows(&rows)?;
    held.keep();
    Ok(rows)
}

async fn materialise_inner(txn: &mut Txn, source: &Source, def: &TableDef, params: &[Datum]) -> Result<Vec<Row>> {
    Ok(match source {
        Source::Query(plan) => run_plan(txn, plan, params).await?,
        Source::Values(rows) => {
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(
                    r.iter().map(|e| expr::eval(e, &Ctx { row: &[], params, aggs: &[] })).collect::<Result<Row>>()?,
                );
            }
            out
        }
        Source::Project(input, exprs) => {
            let rows = materialise(txn, input, def, params).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(
                    exprs.iter().map(|e| expr::eval(e, &Ctx { row: r, params, aggs: &[] })).collect::<Result<Row>>()?,
                );
            }
            out
        }
        Source::SetOp { op, all, left, right, strategy } => {
            let l = materialise(txn, left, def, params).await?;
            let r = materialise(txn, right, def, params).await?;
            if *strategy == crate::group::Strategy::Sort && !(*op == SetOp::Union && *all) {
                sorted_set_op(txn, *op, *all, l, r).await?
            } else {
                set_op(txn, *op, *all, l, r).await?
            }
        }
        Source::Recursive { name, base, step, all, enough, .. } => {
            recursive(txn, name, (base, step), *all, *enough, def, params).await?
        }
        Source::Series { args, ty, ordinality } => {
            let mut held = crate::memory::Held::new(txn.memory(), "generate_series");
            numbered(series(args, *ty, params, &mut held)?, *ordinality)
        }
        Source::Unnest { arg, ordinality, split_options, fields } => {
            // A PL/pgSQL function's rows (`crate::plpgsql`): the call made here, on the
            // coordinator.
            let mut resolved = vec![vec![arg.clone()]];
            if crate::plpgsql::any_calls(&resolved[0]) {
                crate::plpgsql::resolve_rows(txn, &mut resolved, params).await?;
            }
            let arg = &resolved[0][0];
            match expr::eval(arg, &Ctx { row: &[], params, aggs: &[] })? {
                Datum::Array(a) if *split_options => a.items.into_iter().map(option_columns).collect(),
                Datum::Array(a) if fields.is_some() => {
                    let n = fields.unwrap_or_default();
                    let rows = a.items.into_iter().map(|d| match d {
                        Datum::Record(f) => *f,
                        _ => vec![Datum::Null; n],
                    });
                    numbered(rows.collect(), *ordinality)
                }
                Datum::Array(a) => numbered(a.items.into_iter().map(|d| vec![d]).collect(), *ordinality),
                _ => vec![],
            }
        }
        Source::Zip { args, ordinality } => {
            let cx = Ctx { row: &[], params, aggs: &[] };
            let mut columns = Vec::with_capacity(args.len());
            for a in args {
                columns.push(match expr::eval(a, &cx)? {
                    Datum::Array(a) => a.items,
                    _ => vec![],
                });
            }
            let n = columns.iter().map(Vec::len).max().unwrap_or(0);
            let mut held = crate::memory::Held::new(txn.memory(), "unnest");
            let mut rows = Vec::with_capacity(n);
            for i in 0..n {
                let row: Row = columns
                    .iter_mut()
                    .map(|c| c.get_mut(i).map_or(Datum::Null, |d| std::mem::replace(d, Datum::Null)))
                    .collect();
                held.add(crate::memory::row_bytes(&row))?;
                rows.push(row);
            }
            held.keep();
            numbered(rows, *ordinality)
        }
        Source::RowsFrom { parts, ordinality } => {
            let mut each = Vec::with_capacity(parts.len());
            for (part, _) in parts {
                each.push(Box::pin(materialise_inner(txn, part, def, params)).await?.into_iter());
            }
            let n = each.iter().map(|rows| rows.len()).max().unwrap_or(0);
            let mut rows = Vec::with_capacity(n);
            for _ in 0..n {
                let mut row: Row = Vec::with_capacity(def.columns.len());
                for (part, (_, width)) in each.iter_mut().zip(parts) {
                    match part.next() {
                        Some(r) => row.extend(r),
                        None => row.extend(std::iter::repeat_n(Datum::Null, *width)),
                    }
                }
                rows.push(row);
            }
            numbered(rows, *ordinality)
        }
        Source::Correlated(c) => correlated(txn, c, params).await?,
        Source::Lateral(l) => crate::lateral::rows(txn, l, params).await?,
    })
}

/// One `name=value` option as pg_options_to_table's row (name, value): split at the first
/// `=`, the value NULL without one.
fn option_columns(d: Datum) -> Row {
    match d {
        Datum::Text(s) => match s.split_once('=') {
            Some((k, v)) => vec![Datum::Text(k.to_string()), Datum::Text(v.to_string())],
            None => vec![Datum::Text(s), Datum::Null],
        },
        _ => vec![Datum::Null, Datum::Null],
    }
}

/// UNION/INTERSECT/EXCEPT [ALL] by sorting (`enable_hashagg = off`; PostgreSQL's Unique over a
/// Sort for UNION, a sorted SetOp for the others): both inputs' rows sorted together by every
/// column (ascending, NULLs last), each run of equal rows counted per side and emitted as the
/// operation keeps it, so the result comes in that order. The sort is charged as a sort
/// (`work_mem`); a cancel request or `statement_timeout` stops it.
async fn sorted_set_op(txn: &Txn, op: SetOp, all: bool, l: Vec<Row>, r: Vec<Row>) -> Result<Vec<Row>> {
    const NULL: &Datum = &Datum::Null;
    let mut ticker = crate::memory::Ticker::new(txn);
    let left = l.len();
    let mut rows = l;
    rows.extend(r);
    let width = rows.first().map_or(0, Vec::len);
    let keys =
        crate::sort_key::SortKeys::new(rows.len(), &vec![(false, false); width], |i, k| rows[i].get(k).unwrap_or(NULL));
    let mut held = crate::memory::Held::sort(txn.memory(), "sort");
    held.add(keys.bytes())?;
    let perm = keys.order(&mut ticker).await?;
    drop(keys);
    let same = |a: &Row, b: &Row| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| crate::group_key::same(x, y));
    let mut slots: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < perm.len() {
        // One run of equal rows: how many from each side.
        let first = perm[i];
        let mut j = i + 1;
        while j < perm.len() && slots[perm[j]].as_ref().zip(slots[first].as_ref()).is_some_and(|(a, b)| same(a, b)) {
            j += 1;
        }
        ticker.tick(j - i).await?;
        let from_left = perm[i..j].iter().filter(|&&p| p < left).count();
        let from_right = (j - i) - from_left;
        let copies = match (op, all) {
            (SetOp::Union, _) => 1,
            (SetOp::Intersect, false) => usize::from(from_left > 0 && from_right > 0),
            (SetOp::Intersect, true) => from_left.min(from_right),
            (SetOp::Except, false) => usize::from(from_left > 0 && from_right == 0),
            (SetOp::Except, true) => from_left.saturating_sub(from_right),
        };
        // The left input's rows first (a UNION's first row of the run), as PostgreSQL emits.
        let mut run: Vec<usize> = perm[i..j].to_vec();
        run.sort_by_key(|&p| p >= left);
        for &p in run.iter().take(copies) {
            if let Some(row) = slots[p].take() {
                out.push(row);
            }
        }
        i = j;
    }
    Ok(out)
}

/// UNION/INTERSECT/EXCEPT [ALL] of two materialised inputs. Its hash sets are charged to the
/// statement's memory while it runs; a cancel request or `statement_timeout` stops it.
async fn set_op(txn: &Txn, op: SetOp, all: bool, l: Vec<Row>, r: Vec<Row>) -> Result<Vec<Row>> {
    use crate::group::key_of;
    let mut held = crate::memory::Held::hash(txn.memory(), "set operation");
    let mut ticker = crate::memory::Ticker::new(txn);
    // A hash set's entry: the row's key parts, as much again as the row.
    let entry = |row: &[Datum]| crate::memory::row_bytes(row) + crate::memory::ENTRY_OVERHEAD;
    Ok(match (op, all) {
        (SetOp::Union, true) => {
            let mut l = l;
            l.extend(r);
            l
        }
        (SetOp::Union, false) => {
            let mut seen = std::collections::HashSet::new();
            let mut out = Vec::new();
            for row in l.into_iter().chain(r) {
                ticker.tick(1).await?;
                if seen.insert(key_of(&row)) {
                    held.add(entry(&row))?;
                    out.push(row);
                }
            }
            out
        }
        (SetOp::Intersect | SetOp::Except, _) => {
            let mut counts: HashMap<Vec<crate::group::KeyPart>, usize> = HashMap::new();
            for row in &r {
                ticker.tick(1).await?;
                let n = counts.entry(key_of(row)).or_default();
                if *n == 0 {
                    held.add(entry(row))?;
                }
                *n += 1;
            }
            let mut out = Vec::new();
            let mut emitted = std::collections::HashSet::new();
            for row in l {
                ticker.tick(1).await?;
                let k = key_of(&row);
                let n = counts.get(&k).copied().unwrap_or(0);
                let keep = match (op, all) {
                    (SetOp::Intersect, true) => {
                        // min(left count, right count) copies.
                        if n > 0 {
                            counts.insert(k, n - 1);
                            true
                        } else {
                            false
                        }
                    }
                    (SetOp::Intersect, false) => n > 0 && emitted.insert(k),
                    (_, true) => {
                        // left count - right count copies.
                        if n > 0 {
                            counts.insert(k, n - 1);
                            false
                        } else {
                            true
                        }
                    }
                    (_, false) => n == 0 && emitted.insert(k),
                };
                if keep && !all {
                    // Its key went into `emitted`.
                    held.add(entry(&row))?;
                }
                if keep {
                    out.push(row);
                }
            }
            out
        }
    })
}

async fn recursive(
    txn: &mut Txn,
    name: &str,
    (base, step): (&Source, &Source),
    all: bool,
    enough: Option<u64>,
    def: &TableDef,
    params: &[Datum],
) -> Result<Vec<Row>> {
    let done = |rows: &[Row]| enough.is_some_and(|n| rows.len() as u64 >= n);
    use crate::group::key_of;
    // The result, the working table (a copy of the last iteration's rows) and the UNION's
    // hash set, charged to the statement's memory as they grow.
    let memory = txn.memory();
    let mut held = crate::memory::Held::new(memory.clone(), "recursive query");
    let mut working_held = crate::memory::Held::new(memory.clone(), "recursive query working table");
    let entry = |row: &[Datum]| if all { 0 } else { crate::memory::row_bytes(row) + crate::memory::ENTRY_OVERHEAD };
    let mut seen = std::collections::HashSet::new();
    let mut result: Vec<Row> = Vec::new();
    let mut working: Vec<Row> = Vec::new();
    for row in materialise(txn, base, def, params).await? {
        if all || seen.insert(key_of(&row)) {
            working_held.row(&row)?;
            held.add(entry(&row))?;
            working.push(row.clone());
            result.push(row);
        }
    }
    let mut iterations = 0usize;
    let mut names = Vec::new();
    while !working.is_empty() && !done(&result) {
        iterations += 1;
        // Each iteration may run on the coordinator alone: a cancel request or
        // statement_timeout stops the recursion here.
        if let Err(e) = txn.check_cancel() {
            unregister(txn, &names);
            return Err(e);
        }
        if iterations > MAX_ITERATIONS {
            unregister(txn, &names);
            return Err(SqlError::new(
                "54000",
                format!("recursive query \"{name}\" ran more than {MAX_ITERATIONS} iterations"),
            )
            .detail("Orbit bounds the iterations of WITH RECURSIVE; PostgreSQL would run on."));
        }
        register(txn, def, std::mem::take(&mut working), &mut names);
        // The step's rows are charged as this query's (below), not as a subquery's.
        let mark = memory.mark();
        let produced = materialise(txn, step, def, params).await;
        memory.release_to(mark);
        unregister(txn, &names);
        names.clear();
        // The last working table is gone; the new one takes its place.
        let previous = working_held;
        working_held = crate::memory::Held::new(memory.clone(), "recursive query working table");
        for row in produced? {
            if all || seen.insert(key_of(&row)) {
                working_held.row(&row)?;
                held.row(&row)?;
                held.add(entry(&row))?;
                working.push(row.clone());
                result.push(row);
            }
        }
        drop(previous);
    }
    Ok(result)
}

/// `WITH ORDINALITY`: each row followed by its number, from 1.
fn numbered(mut rows: Vec<Row>, ordinality: bool) -> Vec<Row> {
    if ordinality {
        for (n, r) in rows.iter_mut().enumerate() {
            r.push(Datum::Int8(n as i64 + 1));
        }
    }
    rows
}

/// `generate_series(...)`'s rows, each charged to `held` as it is made.
pub(crate) fn series(args: &[Expr], ty: SqlType, params: &[Datum], held: &mut crate::memory::Held) -> Result<Vec<Row>> {
    let cx = Ctx { row: &[], params, aggs: &[] };
    let vals = args.iter().map(|e| expr::eval(e, &cx)).collect::<Result<Vec<_>>>()?;
    if vals.iter().any(|v| v.is_null()) {
        return Ok(vec![]);
    }
    let zero_step = || SqlError::new("22023", "step size cannot equal zero");
    let mut out = Vec::new();
    if ty.is_integer() {
        let get = |i: usize, default: i64| vals.get(i).map_or(Some(default), |d| d.as_i64());
        let (Some(start), Some(stop), Some(step)) = (get(0, 0), get(1, 0), get(2, 1)) else {
            return Err(SqlError::internal("generate_series over non-integers"));
        };
        if step == 0 {
            return Err(zero_step());
        }
        let (mut cur, stop, step) = (start as i128, stop as i128, step as i128);
        while (step > 0 && cur <= stop) || (step < 0 && cur >= stop) {
            let row = vec![match ty {
                SqlType::Int8 => Datum::Int8(cur as i64),
                _ => Datum::Int4(cur as i32),
            }];
            held.row(&row)?;
            out.push(row);
            cur += step;
        }
        return Ok(out);
    }
    // numeric, or timestamps by an interval: start + step until past stop, with the type's
    // own arithmetic and comparison.
    let start = vals[0].clone();
    let stop = vals[1].clone();
    let step = vals.get(2).cloned().unwrap_or_else(|| Datum::Numeric("1".into()));
    let (zero, step_ty) = match step {
        Datum::Interval(_) => {
            (Datum::Interval(orbit_engine::table::Interval { months: 0, days: 0, micros: 0 }), SqlType::INTERVAL)
        }
        _ => (Datum::Numeric("0".into()), ty),
    };
    // NaN or infinite bounds or step: PostgreSQL refuses them (generate_series_step_numeric,
    // in this order, before the zero step).
    for (v, what) in [(&start, "start value"), (&stop, "stop value"), (&step, "step size")] {
        if let Datum::Numeric(s) = v {
            let special = match s.as_str() {
                "NaN" => "NaN",
                "Infinity" | "-Infinity" => "infinity",
                _ => continue,
            };
            return Err(SqlError::new("22023", format!("{what} cannot be {special}")));
        }
    }
    let sign = expr::compare(&step, &zero);
    if sign == Some(std::cmp::Ordering::Equal) {
        return Err(zero_step());
    }
    let up = sign == Some(std::cmp::Ordering::Greater);
    // timestamptz steps move the local time in the session's zone when the binder gave one.
    let zone = match (ty, vals.get(3)) {
        (SqlType::TimestampTz(_), Some(Datum::Text(z))) => Some(crate::zone::resolve(z)?),
        _ => None,
    };
    let mut cur = start;
    loop {
        let c = expr::compare(&cur, &stop);
        let go = if up { c != Some(std::cmp::Ordering::Greater) } else { c != Some(std::cmp::Ordering::Less) };
        if !go || c.is_none() {
            break;
        }
        let row = vec![cur.clone()];
        held.row(&row)?;
        out.push(row);
        if let (Some(tz), Datum::TimestampTz(t), Datum::Interval(iv)) = (&zone, &cur, &step) {
            cur = Datum::TimestampTz(crate::datetime::tstz_plus_interval(*t, iv, tz)?);
            continue;
        }
        let next = expr::eval(
            &Expr::Arith(
                ArithOp::Add,
                Box::new(Expr::Const(cur, ty)),
                Box::new(Expr::Const(step.clone(), step_ty)),
                ty,
            ),
            &Ctx { row: &[], params: &[], aggs: &[] },
        );
        cur = match next {
            // A numeric step past numeric's format is past any stop value: PostgreSQL's
            // NumericVar counter is never checked, so the series just ends.
            Err(e) if e.code == crate::error::code::NUMERIC_VALUE_OUT_OF_RANGE && ty.is_decimal() => break,
            next => next?,
        };
    }
    Ok(out)
}

/// The FROM rows of a SELECT with correlated subqueries, with the subqueries' values appended
/// and WHERE applied (see [`Correlated`]).
async fn correlated(txn: &mut Txn, c: &Correlated, params: &[Datum]) -> Result<Vec<Row>> {
    let plain = plain_filter(c);
    // Semi and anti joins that run on the shards, with the scan ([`crate::dist_semi`]).
    let (input, on_shards) = match crate::dist_semi::scan(txn, c, plain.as_ref(), params).await? {
        Some(done) => done,
        None => {
            let input: Vec<Row> = match (&c.table, &c.join) {
                (Some(t), _) => {
                    crate::exec::scan(txn, t, plain.as_ref(), None, params).await?.into_iter().map(|(_, r)| r).collect()
                }
                (None, Some(j)) => crate::join::rows_where(txn, j, plain.as_ref(), params).await?,
                (None, None) => vec![vec![]],
            };
            (input, vec![false; c.semi.len()])
        }
    };
    let rest: Vec<&crate::semi_join::SemiJoin> =
        c.semi.iter().zip(on_shards).filter(|(_, done)| !done).map(|(sj, _)| sj).collect();
    let input = crate::semi_join::apply(txn, rest, input, params).await?;
    if c.links.is_empty() {
        // No part of WHERE reads a subquery value: it was all checked with the scan.
        return Ok(input);
    }
    // Which links WHERE reads: computed before it; the others only for rows that pass.
    let mut in_filter = vec![false; c.links.len()];
    if let Some(f) = &c.filter {
        f.visit_columns(&mut |i| {
            if i >= c.width && i - c.width < in_filter.len() {
                in_filter[i - c.width] = true;
            }
        });
    }
    let mut memos: Vec<Memo> =
        c.links.iter().map(|l| Memo { decorrelated: decorrelate(l), ..Default::default() }).collect();
    let mut out = Vec::new();
    for mut row in input {
        row.resize(c.width + c.links.len(), Datum::Null);
        for (k, l) in c.links.iter().enumerate() {
            if in_filter[k] {
                row[c.width + k] = link_for_row(txn, l, &mut memos[k], &row, params).await?;
            }
        }
        if !crate::exec::matches(c.filter.as_ref(), &row, params)? {
            continue;
        }
        for (k, l) in c.links.iter().enumerate() {
            if !in_filter[k] {
                row[c.width + k] = link_for_row(txn, l, &mut memos[k], &row, params).await?;
            }
        }
        out.push(row);
    }
    Ok(out)
}

/// The parts of a [`Correlated`]'s WHERE that read no subquery value: they filter the FROM rows
/// first (on the shards, and inside the join); the whole WHERE is checked again after.
pub(crate) fn plain_filter(c: &Correlated) -> Option<Expr> {
    c.filter.as_ref().and_then(|f| {
        let mut parts = Vec::new();
        crate::join::conjuncts(f, &mut parts);
        let kept: Vec<Expr> = parts
            .into_iter()
            .filter(|p| {
                let mut reads_link = false;
                p.visit_columns(&mut |i| reads_link |= i >= c.width);
                !reads_link
            })
            .collect();
        kept.into_iter().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)))
    })
}

/// A correlated sublink's values by the outer values it reads, with the rows behind them.
#[derive(Default)]
struct Memo {
    values: HashMap<Vec<crate::group::KeyPart>, Expr>,
    rows: usize,
    /// The subquery run once for every outer row ([`decorrelate`]), and its values once known.
    decorrelated: Option<Decorrelated>,
    table: Option<(HashMap<Vec<crate::group::KeyPart>, Datum>, Datum)>,
    /// With a residual condition: the subquery's rows (the columns it reads) per key.
    groups: Option<HashMap<Vec<crate::group::KeyPart>, Vec<Row>>>,
}

/// A correlated subquery that can run once for all outer rows: a scalar aggregate
/// `(SELECT agg(...) FROM ... WHERE inner.c = outer.x AND <no outer columns>)` becomes the same
/// aggregate grouped by the inner columns (its value for an outer row is its group's, or the
/// aggregate over no rows), `EXISTS (...)` with such equalities the distinct values of those
/// columns.
struct Decorrelated {
    plan: Plan,
    /// For each key column, the outer value it equals: an expression over the captures (the
    /// outer values the subquery reads, as a row).
    keys: Vec<Expr>,
    exists: bool,
    /// EXISTS only: the other conditions that read outer values (`inner.b <> outer.b`), over
    /// the captures followed by the inner row's columns after the keys. The subquery's rows are
    /// then kept per key, and an outer row's EXISTS is whether one of its key's rows passes.
    residual: Option<Expr>,
}

/// Whether a correlated subquery runs once for all outer rows ([`Decorrelated`]).
pub(crate) fn runs_once(l: &SubLink) -> bool {
    decorrelate(l).is_some()
}

fn decorrelate(l: &SubLink) -> Option<Decorrelated> {
    use crate::bind::Distinct;
    let exists = match l.kind {
        LinkKind::Scalar => false,
        LinkKind::Exists => true,
        _ => return None,
    };
    let Plan::Select(sp) = l.plan.as_ref() else { return None };
    if sp.for_update.is_some()
        || (sp.limit.is_some() && !(exists && crate::semi_join::exists_limit_ignored(sp)))
        || sp.offset.is_some()
        || !matches!(sp.distinct, Distinct::None)
        || sp.having.is_some()
        || !sp.group_by.is_empty()
        || !sp.grouping_sets.is_empty()
        || !sp.windows.is_empty()
        || !sp.order_by.is_empty()
        || exists == sp.grouped
        || (!exists && sp.projection.len() != 1)
    {
        return None;
    }
    let is_outer = |e: &Expr| {
        let mut found = false;
        e.visit(&mut |x| {
            if matches!(x, Expr::Param(i, _) if *i >= OUTER_BASE) {
                found = true;
            }
        });
        found
    };
    if sp.projection.iter().any(is_outer)
        || sp.aggs.iter().any(|a| {
            a.arg.iter().chain(a.filter.iter()).chain(a.delim.iter()).any(is_outer)
                || a.order_by.iter().any(|o| is_outer(&o.expr))
        })
        || sp.join.as_ref().is_some_and(|j| j.steps.iter().any(|s| s.on.as_ref().is_some_and(is_outer)))
    {
        return None;
    }
    fn split<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
        if let Expr::And(a, b) = e {
            split(a, out);
            split(b, out);
        } else {
            out.push(e);
        }
    }
    let mut conj = Vec::new();
    if let Some(f) = &sp.filter {
        split(f, &mut conj);
    }
    let same_key = |a: SqlType, b: SqlType| {
        (a.is_integer() && b.is_integer())
            || (matches!(a, SqlType::Text | SqlType::Varchar(_)) && matches!(b, SqlType::Text | SqlType::Varchar(_)))
            || (a.same_key_type(b)
                && !matches!(
                    a,
                    SqlType::Interval(_) | SqlType::Json | SqlType::Jsonb | SqlType::Float4 | SqlType::Float8
                ))
    };
    let inner = |e: &Expr| match e {
        Expr::Column(..) => Some(e.clone()),
        Expr::Cast(c, to, _) if matches!(c.as_ref(), Expr::Column(_, t) if t.is_integer()) && to.is_integer() => {
            Some((**c).clone())
        }
        _ => None,
    };
    // An expression of outer values only: rewritten over the captures.
    let outer = |e: &Expr| -> Option<Expr> {
        let mut inner_column = false;
        e.visit(&mut |x| inner_column |= matches!(x, Expr::Column(..) | Expr::Agg(..)));
        if inner_column {
            return None;
        }
        let mut e = e.clone();
        let mut ok = true;
        let _ = walk(&mut e, &mut |x: &mut Expr| {
            if let Expr::Param(i, t) = x {
                if *i >= OUTER_BASE {
                    match l.captures.iter().position(|(id, _)| *id == *i - OUTER_BASE) {
                        Some(p) => *x = Expr::Column(p, *t),
                        None => ok = false,
                    }
                    return Ok(true);
                }
            }
            Ok(false)
        });
        ok.then_some(e)
    };
    let (mut keys, mut refs, mut rest, mut residual) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let equality = |c: &Expr| -> Option<(Expr, Expr)> {
        let Expr::Cmp(CmpOp::Eq, a, b) = c else { return None };
        let (col, o) = match (inner(a), outer(b)) {
            (Some(col), Some(o)) => (col, o),
            _ => (inner(b)?, outer(a)?),
        };
        same_key(col.ty(), o.ty()).then_some((col, o))
    };
    for c in conj {
        if !is_outer(c) {
            rest.push(c.clone());
            continue;
        }
        match equality(c) {
            Some((col, o)) => {
                refs.push(o);
                keys.push(col);
            }
            None if exists => residual.push(c.clone()),
            None => return None,
        }
    }
    if keys.is_empty() {
        return None;
    }
    let mut p = (**sp).clone();
    p.filter = rest.into_iter().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)));
    p.key = None;
    (p.limit, p.limit_ties) = (None, false);
    if exists && !residual.is_empty() {
        // The inner columns the residual reads follow the keys in each row; the residual is
        // rewritten over the captures followed by those columns.
        let mut cols: Vec<(usize, SqlType)> = Vec::new();
        for r in &residual {
            r.visit(&mut |x| {
                if let Expr::Column(i, t) = x {
                    if !cols.iter().any(|(c, _)| c == i) {
                        cols.push((*i, *t));
                    }
                }
            });
        }
        let captured = l.captures.len();
        let mut rewritten = residual.into_iter().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)))?;
        let mut ok = true;
        let _ = walk(&mut rewritten, &mut |x: &mut Expr| match x {
            Expr::Param(i, t) if *i >= OUTER_BASE => {
                match l.captures.iter().position(|(id, _)| *id == *i - OUTER_BASE) {
                    Some(pos) => *x = Expr::Column(pos, *t),
                    None => ok = false,
                }
                Ok(true)
            }
            Expr::Column(i, t) => {
                let j = cols.iter().position(|(c, _)| c == i).unwrap_or(0);
                *x = Expr::Column(captured + j, *t);
                Ok(true)
            }
            _ => Ok(false),
        });
        if !ok {
            return None;
        }
        p.projection = keys.iter().cloned().chain(cols.iter().map(|&(i, t)| Expr::Column(i, t))).collect();
        return Some(Decorrelated { plan: Plan::Select(Box::new(p)), keys: refs, exists, residual: Some(rewritten) });
    }
    if exists {
        p.projection = keys;
        p.distinct = Distinct::All;
    } else {
        let mut projection: Vec<Expr> = keys.iter().enumerate().map(|(k, e)| Expr::Column(k, e.ty())).collect();
        projection.push(p.projection[0].clone());
        p.projection = projection;
        p.group_by = keys;
    }
    Some(Decorrelated { plan: Plan::Select(Box::new(p)), keys: refs, exists, residual: None })
}

/// The subquery's values for every outer key ([`Decorrelated`]), and its value for an outer
/// key with no rows.
async fn decorrelated_table(
    txn: &mut Txn,
    l: &SubLink,
    d: &Decorrelated,
    params: &[Datum],
) -> Result<(HashMap<Vec<crate::group::KeyPart>, Datum>, Datum)> {
    let n = d.keys.len();
    let mut map = HashMap::new();
    for r in run_plan(txn, &d.plan, params).await? {
        let value = if d.exists { Datum::Bool(true) } else { r.get(n).cloned().unwrap_or(Datum::Null) };
        map.insert(crate::group::key_of(&r[..n.min(r.len())]), value);
    }
    let empty = if d.exists {
        Datum::Bool(false)
    } else {
        // The aggregate over no rows (count: 0, others NULL): the subquery with NULL outer values.
        let mut plan = (*l.plan).clone();
        map_plan(&mut plan, &mut |e: &mut Expr| {
            if let Expr::Param(i, t) = e {
                if *i >= OUTER_BASE {
                    *e = Expr::Const(Datum::Null, *t);
                    return Ok(true);
                }
            }
            Ok(false)
        })?;
        let rows = run_plan(txn, &plan, params).await?;
        match link_value(l, rows)? {
            Expr::Const(d, _) => d,
            _ => Datum::Null,
        }
    };
    Ok((map, empty))
}

async fn link_for_row(txn: &mut Txn, l: &SubLink, memo: &mut Memo, row: &[Datum], params: &[Datum]) -> Result<Datum> {
    let cx = Ctx { row, params, aggs: &[] };
    let outer: Vec<Datum> = l.captures.iter().map(|(_, e)| expr::eval(e, &cx)).collect::<Result<_>>()?;
    if let Some(d) = memo.decorrelated.as_ref().filter(|d| d.residual.is_some()) {
        if memo.groups.is_none() {
            let n = d.keys.len();
            let mut groups: HashMap<Vec<crate::group::KeyPart>, Vec<Row>> = HashMap::new();
            for r in run_plan(txn, &d.plan, params).await? {
                let k = crate::group::key_of(&r[..n.min(r.len())]);
                groups.entry(k).or_default().push(r[n.min(r.len())..].to_vec());
            }
            memo.groups = Some(groups);
        }
        let ocx = Ctx { row: &outer, params, aggs: &[] };
        let key: Vec<Datum> = d.keys.iter().map(|e| expr::eval(e, &ocx)).collect::<Result<_>>()?;
        if key.iter().any(Datum::is_null) {
            return Ok(Datum::Bool(false));
        }
        let residual = d.residual.as_ref().ok_or_else(|| SqlError::internal("no residual"))?;
        let mut found = false;
        if let Some(rows) = memo.groups.as_ref().and_then(|g| g.get(&crate::group::key_of(&key))) {
            let mut both = outer.clone();
            for r in rows {
                both.truncate(outer.len());
                both.extend_from_slice(r);
                if expr::truth(expr::eval(residual, &Ctx { row: &both, params, aggs: &[] })?) == Some(true) {
                    found = true;
                    break;
                }
            }
        }
        return Ok(Datum::Bool(found));
    }
    if let Some(d) = &memo.decorrelated {
        if memo.table.is_none() {
            memo.table = Some(decorrelated_table(txn, l, d, params).await?);
        }
        let Some((map, empty)) = &memo.table else { return Err(SqlError::internal("no decorrelated table")) };
        let ocx = Ctx { row: &outer, params, aggs: &[] };
        let key: Vec<Datum> = d.keys.iter().map(|e| expr::eval(e, &ocx)).collect::<Result<_>>()?;
        // `inner.c = NULL` matches no row.
        if key.iter().any(Datum::is_null) {
            return Ok(empty.clone());
        }
        return Ok(map.get(&crate::group::key_of(&key)).cloned().unwrap_or_else(|| empty.clone()));
    }
    let key = crate::group::key_of(&outer);
    let value = match memo.values.get(&key) {
        Some(v) => v.clone(),
        None => {
            let mut plan = (*l.plan).clone();
            map_plan(&mut plan, &mut |e| Ok(put_outer(e, &l.captures, &outer)))?;
            let rows = run_plan(txn, &plan, params).await?;
            let n = rows.len().max(1);
            let v = link_value(l, rows)?;
            if memo.rows + n > MEMO_ROWS {
                memo.values.clear();
                memo.rows = 0;
            }
            memo.rows += n;
            memo.values.insert(key, v.clone());
            v
        }
    };
    expr::eval(&value, &cx)
}

/// Calls `f` on `e` and its sub-expressions, parents first; `f` returns true when it replaced
/// the expression (its parts are then not visited).
pub(crate) fn walk(e: &mut Expr, f: &mut dyn FnMut(&mut Expr) -> Result<bool>) -> Result<()> {
    if f(e)? {
        return Ok(());
    }
    for c in e.children_mut() {
        walk(c, f)?;
    }
    Ok(())
}

fn walk_opt(e: &mut Option<Expr>, f: &mut dyn FnMut(&mut Expr) -> Result<bool>) -> Result<()> {
    match e {
        Some(e) => walk(e, f),
        None => Ok(()),
    }
}

fn walk_all(es: &mut [Expr], f: &mut dyn FnMut(&mut Expr) -> Result<bool>) -> Result<()> {
    es.iter_mut().try_for_each(|e| walk(e, f))
}

/// Applies `f` (as [`walk`]) to every expression of a SELECT.
pub(crate) fn map_select(p: &mut SelectPlan, f: &mut dyn FnMut(&mut Expr) -> Result<bool>) -> Result<()> {
    walk_opt(&mut p.filter, f)?;
    if let Some(k) = &mut p.key {
        walk_all(k, f)?;
    }
    for a in &mut p.aggs {
        walk_opt(&mut a.arg, f)?;
        walk_opt(&mut a.delim, f)?;
        walk_opt(&mut a.filter, f)?;
        for o in &mut a.order_by {
            walk(&mut o.expr, f)?;
        }
    }
    walk_all(&mut p.group_by, f)?;
    walk_opt(&mut p.having, f)?;
    walk_all(&mut p.projection, f)?;
    for c in &mut p.srfs {
        walk_all(&mut c.args, f)?;
    }
    for k in &mut p.order_by {
        if let SortSource::Input(e) = &mut k.source {
            walk(e, f)?;
        }
    }
    walk_opt(&mut p.limit, f)?;
    walk_opt(&mut p.offset, f)?;
    if let Some(j) = &mut p.join {
        for s in &mut j.steps {
            walk_opt(&mut s.on, f)?;
        }
    }
    for w in &mut p.windows {
        walk_all(&mut w.args, f)?;
        walk_all(&mut w.partition_by, f)?;
        for o in &mut w.order_by {
            walk(&mut o.expr, f)?;
        }
        if let crate::window::WinFunc::Agg(spec) = &mut w.func {
            walk_opt(&mut spec.arg, f)?;
            walk_opt(&mut spec.delim, f)?;
            walk_opt(&mut spec.filter, f)?;
        }
    }
    Ok(())
}

/// Applies `f` to every expression of a plan, nested plans included.
pub(crate) fn map_plan(plan: &mut Plan, f: &mut dyn FnMut(&mut Expr) -> Result<bool>) -> Result<()> {
    match plan {
        Plan::Select(p) => map_select(p, f),
        Plan::Query(q) => {
            for d in q.ctes.iter_mut().chain(q.inputs.iter_mut()) {
                map_source(&mut d.source, f)?;
            }
            for l in &mut q.links {
                map_link(l, f)?;
            }
            map_plan(&mut q.body, f)
        }
        Plan::Insert { rows, select, on_conflict, returning, checks, .. } => {
            for r in rows {
                walk_all(r, f)?;
            }
            for c in checks {
                walk(&mut c.cond, f)?;
            }
            if let Some(s) = select {
                map_select(&mut s.0, f)?;
                walk_all(&mut s.1, f)?;
            }
            if let Some(crate::bind::OnConflict::Update { sets, filter, .. }) = on_conflict {
                for (_, e) in sets {
                    walk(e, f)?;
                }
                walk_opt(filter, f)?;
            }
            match returning {
                Some(r) => walk_all(r, f),
                None => Ok(()),
            }
        }
        Plan::Update { filter, key, sets, returning, join, checks, .. } => {
            walk_opt(filter, f)?;
            for c in checks {
                walk(&mut c.cond, f)?;
            }
            for s in join.iter_mut().flat_map(|j| j.steps.iter_mut()) {
                walk_opt(&mut s.on, f)?;
            }
            if let Some(k) = key {
                walk_all(k, f)?;
            }
            for (_, e) in sets {
                walk(e, f)?;
            }
            match returning {
                Some(r) => walk_all(r, f),
                None => Ok(()),
            }
        }
        Plan::Delete { filter, key, returning, join, .. } => {
            walk_opt(filter, f)?;
            for s in join.iter_mut().flat_map(|j| j.steps.iter_mut()) {
                walk_opt(&mut s.on, f)?;
            }
            if let Some(k) = key {
                walk_all(k, f)?;
            }
            match returning {
                Some(r) => walk_all(r, f),
                None => Ok(()),
            }
        }
        Plan::Merge(m) => {
            for s in &mut m.join.steps {
                walk_opt(&mut s.on, f)?;
            }
            walk_opt(&mut m.on, f)?;
            for c in &mut m.clauses {
                walk_opt(&mut c.condition, f)?;
                match &mut c.action {
                    crate::bind::merge::Action::Update(sets) => {
                        for (_, e) in sets {
                            walk(e, f)?;
                        }
                    }
                    crate::bind::merge::Action::Insert(values) => walk_all(values, f)?,
                    crate::bind::merge::Action::Delete | crate::bind::merge::Action::Nothing => {}
                }
            }
            Ok(())
        }
        Plan::Explain { inner, .. } => map_plan(inner, f),
        _ => Ok(()),
    }
}

fn map_link(l: &mut SubLink, f: &mut dyn FnMut(&mut Expr) -> Result<bool>) -> Result<()> {
    map_plan(&mut l.plan, f)?;
    match &mut l.kind {
        LinkKind::Any(t) | LinkKind::All(t) | LinkKind::Keyed { key: t, .. } => walk(t, f)?,
        LinkKind::AnyRow(ts) => walk_all(ts, f)?,
        LinkKind::Scalar | LinkKind::Exists | LinkKind::Array => {}
    }
    for (_, e) in &mut l.captures {
        walk(e, f)?;
    }
    Ok(())
}

pub(crate) fn map_source(s: &mut Source, f: &mut dyn FnMut(&mut Expr) -> Result<bool>) -> Result<()> {
    match s {
        Source::Query(p) => map_plan(p, f),
        Source::Values(rows) => rows.iter_mut().try_for_each(|r| walk_all(r, f)),
        Source::SetOp { left, right, .. } => {
            map_source(left, f)?;
            map_source(right, f)
        }
        Source::Project(input, exprs) => {
            map_source(input, f)?;
            walk_all(exprs, f)
        }
        Source::Recursive { base, step, .. } => {
            map_source(base, f)?;
            map_source(step, f)
        }
        Source::Series { args, .. } => walk_all(args, f),
        Source::Unnest { arg, .. } => walk(arg, f),
        Source::Zip { args, .. } => walk_all(args, f),
        Source::RowsFrom { parts, .. } => parts.iter_mut().try_for_each(|(p, _)| map_source(p, f)),
        Source::Correlated(c) => {
            walk_opt(&mut c.filter, f)?;
            if let Some(j) = &mut c.join {
                for s in &mut j.steps {
                    walk_opt(&mut s.on, f)?;
                }
            }
            c.semi.iter_mut().try_for_each(|j| crate::semi_join::map(j, f))?;
            c.links.iter_mut().try_for_each(|l| map_link(l, f))
        }
        Source::Lateral(l) => crate::lateral::map(l, f),
    }
}

/// Whether `e` reads sublink placeholder `id`.
pub(crate) fn reads_link(e: &Expr, id: usize) -> bool {
    let mut found = false;
    e.visit(&mut |x| {
        if matches!(x, Expr::Param(i, _) if *i == LINK_BASE + id) {
            found = true;
        }
    });
    found
}

/// Replaces an outer reference among `captures` (reference number, the outer column) by its
/// value in `outer` (one per capture); whether `e` was one.
pub(crate) fn put_outer(e: &mut Expr, captures: &[(usize, Expr)], outer: &[Datum]) -> bool {
    if let Expr::Param(i, _) = e {
        if let Some(n) = i.checked_sub(OUTER_BASE) {
            if let Some(k) = captures.iter().position(|(r, _)| *r == n) {
                *e = Expr::Const(outer[k].clone(), captures[k].1.ty());
                return true;
            }
        }
    }
    false
}
