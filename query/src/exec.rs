//! Runs bound plans over the shards. Rows of a table live on the shard its encoded primary key
//! hashes to ([`shard_of_key`]); a statement that pins the key runs on that shard only, any
//! other scans every shard (filter and partial aggregates there) and merges on the
//! coordinating shard (sort, limit, projection). DDL runs on the catalog owner (shard 0) first,
//! which serializes it, then on every other shard.
//!
//! Not yet transactional: a statement's changes on several shards are not applied atomically
//! with respect to concurrent statements. A failed multi-row INSERT undoes what it applied.
//!
//! Durable: every change goes through [`orbit_shards::tables`], which logs it on the shard
//! that applies it; a statement returns only once the records it wrote on every shard it
//! touched are durable per `--fsync` ([`durable`]).

use crate::bind::{Plan, SelectPlan, SortSource};
use crate::error::{code, Result, SqlError};
use crate::expr::{self, AggState, Ctx, Expr};
use crate::types;
use orbit_engine::table::{key, Datum, Row, TableDef};
use orbit_shards::tables::{self as shard_tables, RowError};
use orbit_shards::wal::Ticket;
use orbit_shards::{mesh, state, wal, ShardId};
use std::cmp::Ordering;
use std::sync::Arc;

mod utility;
pub use utility::{copy_insert, copy_out};

/// A statement's outcome: rows (for SELECT and RETURNING), the command tag and any notices.
#[derive(Debug, Default)]
pub struct QueryResult {
    pub rows: Vec<Row>,
    pub tag: String,
    pub notices: Vec<SqlError>,
}

/// The shard that holds a row with this encoded primary key: CRC16 of the key modulo the
/// 16384 slots, then modulo the shard count (Redis Cluster's slot hash, without hash tags).
pub fn shard_of_key(key: &[u8], shards: usize) -> ShardId {
    orbit_shards::route::shard_for_row(key, shards)
}

fn io_error(e: impl std::fmt::Display) -> SqlError {
    SqlError::new(code::IO_ERROR, format!("could not write to the log: {e}"))
}

/// Waits until the records behind `tickets` are durable (the statement's reply waits for this).
async fn durable(tickets: Vec<Ticket>) -> Result<()> {
    wal::wait_all(tickets).await.map_err(io_error)
}

fn gone(e: orbit_shards::Error) -> SqlError {
    SqlError::new(code::CONNECTION_EXCEPTION, format!("shard unavailable: {e}"))
}

fn no_table(name: &str) -> SqlError {
    SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{name}\" does not exist"))
}

pub async fn execute(plan: &Plan, params: &[Datum]) -> Result<QueryResult> {
    match plan {
        Plan::Empty | Plan::Begin | Plan::Commit | Plan::Rollback | Plan::Deallocate(_) | Plan::Show(_) => {
            Ok(QueryResult::default())
        }
        Plan::CreateTable { def, if_not_exists } => create_table(def.clone(), *if_not_exists).await,
        Plan::DropTable { names, if_exists } => drop_tables(names, *if_exists).await,
        Plan::Select(s) => select(s, params).await,
        Plan::Insert { table, rows, returning } => insert(table, rows, returning.as_deref(), params).await,
        Plan::Update { table, filter, key, sets, returning } => {
            update(table, filter.as_ref(), key.as_deref(), sets, returning.as_deref(), params).await
        }
        Plan::Delete { table, filter, key, returning } => {
            delete(table, filter.as_ref(), key.as_deref(), returning.as_deref(), params).await
        }
        Plan::Copy(_) => Err(SqlError::internal("COPY runs through the connection's copy sub-protocol")),
        Plan::Maintenance { analyze, tables, tag, .. } => utility::maintenance(*analyze, tables, tag).await,
        Plan::AddPrimaryKey { table, columns, name } => utility::add_primary_key(table, columns, name).await,
        Plan::Truncate(tables) => {
            for t in tables {
                delete(t, None, None, None, params).await?;
            }
            Ok(QueryResult { tag: "TRUNCATE TABLE".into(), ..Default::default() })
        }
    }
}

fn notice(code: &'static str, msg: String) -> SqlError {
    SqlError::new(code, msg)
}

async fn create_table(mut def: orbit_engine::table::TableDef, if_not_exists: bool) -> Result<QueryResult> {
    let name = def.name.clone();
    // Shard 0 owns the catalog: it decides, and hands out the generation (and OID).
    let d = def.clone();
    let created = mesh::run_on(0, move |s| {
        if s.tables.get(&d.name).is_some() {
            return Ok(None);
        }
        shard_tables::writable(s).map_err(io_error)?;
        let generation = s.tables.next_generation();
        let mut d = d;
        d.oid = 16384 + generation as u32;
        let d = Arc::new(d);
        let (_, ticket) = shard_tables::create(s, d.clone(), generation);
        Ok(Some((d, generation, ticket)))
    })
    .await
    .map_err(gone)??;
    let Some((arc, generation, ticket0)) = created else {
        if if_not_exists {
            let mut r = QueryResult { tag: "CREATE TABLE".into(), ..Default::default() };
            r.notices.push(notice(code::DUPLICATE_TABLE, format!("relation \"{name}\" already exists, skipping")));
            return Ok(r);
        }
        return Err(SqlError::new(code::DUPLICATE_TABLE, format!("relation \"{name}\" already exists")));
    };
    def.oid = arc.oid;
    let tickets = mesh::run_on_all(move |s| {
        if s.id != 0 {
            return shard_tables::create(s, arc.clone(), generation).1;
        }
        None
    })
    .await
    .map_err(gone)?;
    durable(tickets.into_iter().flatten().chain(ticket0).collect()).await?;
    Ok(QueryResult { tag: "CREATE TABLE".into(), ..Default::default() })
}

async fn drop_tables(names: &[String], if_exists: bool) -> Result<QueryResult> {
    let mut r = QueryResult { tag: "DROP TABLE".into(), ..Default::default() };
    // PostgreSQL checks every name before dropping any.
    let list = names.to_vec();
    let missing: Vec<String> =
        mesh::run_on(0, move |s| list.into_iter().filter(|n| s.tables.get(n).is_none()).collect())
            .await
            .map_err(gone)?;
    if let Some(m) = missing.first() {
        if !if_exists {
            return Err(SqlError::new(code::UNDEFINED_TABLE, format!("table \"{m}\" does not exist")));
        }
        for m in &missing {
            r.notices.push(notice("00000", format!("table \"{m}\" does not exist, skipping")));
        }
    }
    let mut tickets = Vec::new();
    for name in names.iter().filter(|n| !missing.contains(n)) {
        let n = name.clone();
        let dropped = mesh::run_on(0, move |s| {
            shard_tables::writable(s).map_err(io_error)?;
            let g = s.tables.next_generation();
            let (dropped, ticket) = shard_tables::drop_table(s, &n, g);
            Ok::<_, SqlError>((dropped.then_some(g), ticket))
        })
        .await
        .map_err(gone)??;
        tickets.extend(dropped.1);
        let Some(generation) = dropped.0 else { continue };
        let n = name.clone();
        let more = mesh::run_on_all(move |s| {
            if s.id != 0 {
                return shard_tables::drop_table(s, &n, generation).1;
            }
            None
        })
        .await
        .map_err(gone)?;
        tickets.extend(more.into_iter().flatten());
    }
    durable(tickets).await?;
    Ok(r)
}

fn ctx<'a>(row: &'a [Datum], params: &'a [Datum]) -> Ctx<'a> {
    Ctx { row, params, aggs: &[] }
}

fn matches(filter: Option<&Expr>, row: &[Datum], params: &[Datum]) -> Result<bool> {
    match filter {
        None => Ok(true),
        Some(f) => Ok(expr::truth(expr::eval(f, &ctx(row, params))?) == Some(true)),
    }
}

/// The encoded primary key a `key` expression list evaluates to; None if a value is NULL (then
/// `pk = NULL` matches no row).
fn eval_key(key: &[Expr], params: &[Datum]) -> Result<Option<Vec<u8>>> {
    let vals = key.iter().map(|e| expr::eval(e, &ctx(&[], params))).collect::<Result<Vec<_>>>()?;
    if vals.iter().any(|v| v.is_null()) {
        return Ok(None);
    }
    Ok(Some(key::encode(vals.iter())))
}

/// Rows (with their keys) of `table` that pass `filter`, from one shard when `key` pins the
/// row, else from every shard.
async fn scan(
    table: &Arc<TableDef>,
    filter: Option<&Expr>,
    key: Option<&[Expr]>,
    params: &[Datum],
) -> Result<Vec<(Vec<u8>, Row)>> {
    let (_, n) = state::local();
    let name = table.name.clone();
    let filter = filter.cloned();
    let params = params.to_vec();
    if let Some(key) = key {
        let Some(k) = eval_key(key, &params)? else { return Ok(vec![]) };
        return mesh::run_on(shard_of_key(&k, n), move |s| {
            let t = s.tables.get(&name).ok_or_else(|| no_table(&name))?;
            match t.get(&k) {
                Some(row) if matches(filter.as_ref(), row, &params)? => Ok(vec![(k.clone(), row.clone())]),
                _ => Ok(vec![]),
            }
        })
        .await
        .map_err(gone)?;
    }
    let parts = mesh::run_on_all(move |s| {
        let t = s.tables.get(&name).ok_or_else(|| no_table(&name))?;
        let mut out = Vec::new();
        for (k, row) in t.scan() {
            if matches(filter.as_ref(), row, &params)? {
                out.push((k.clone(), row.clone()));
            }
        }
        Ok::<_, SqlError>(out)
    })
    .await
    .map_err(gone)?;
    let mut all = Vec::new();
    for p in parts {
        all.extend(p?);
    }
    Ok(all)
}

async fn select(p: &SelectPlan, params: &[Datum]) -> Result<QueryResult> {
    let limit = count(p.limit.as_ref(), params, "LIMIT", code::INVALID_ROW_COUNT_IN_LIMIT_CLAUSE)?;
    let offset = count(p.offset.as_ref(), params, "OFFSET", code::INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE)?;
    if limit == Some(0) {
        // PostgreSQL's Limit node asks its input for nothing: no row is read or computed, so
        // nothing below can fail.
        return Ok(QueryResult { tag: "SELECT 0".into(), ..Default::default() });
    }
    if !p.aggs.is_empty() {
        let aggs = aggregate(p, params).await?;
        let cx = Ctx { row: &[], params, aggs: &aggs };
        let mut rows = Vec::new();
        let filter_ok = p.table.is_some()
            || p.filter
                .as_ref()
                .map_or(Ok(true), |f| Ok::<_, SqlError>(expr::truth(expr::eval(f, &cx)?) == Some(true)))?;
        if filter_ok {
            rows.push(p.projection.iter().map(|e| expr::eval(e, &cx)).collect::<Result<Vec<_>>>()?);
        }
        let rows: Vec<Row> = rows
            .into_iter()
            .skip(offset.unwrap_or(0) as usize)
            .take(limit.map_or(usize::MAX, |l| l as usize))
            .collect();
        return Ok(QueryResult { tag: format!("SELECT {}", rows.len()), rows, notices: vec![] });
    }
    let input: Vec<Row> = match &p.table {
        None => {
            let empty: Row = vec![];
            if matches(p.filter.as_ref(), &empty, params)? {
                vec![empty]
            } else {
                vec![]
            }
        }
        Some(t) => scan(t, p.filter.as_ref(), p.key.as_deref(), params).await?.into_iter().map(|(_, r)| r).collect(),
    };
    let mut out: Vec<(Vec<Datum>, Row)> = Vec::with_capacity(input.len());
    for row in &input {
        let cx = ctx(row, params);
        let projected = p.projection.iter().map(|e| expr::eval(e, &cx)).collect::<Result<Vec<_>>>()?;
        let mut keys = Vec::with_capacity(p.order_by.len());
        for k in &p.order_by {
            keys.push(match &k.source {
                SortSource::Output(i) => projected[*i].clone(),
                SortSource::Input(e) => expr::eval(e, &cx)?,
            });
        }
        out.push((keys, projected));
    }
    if !p.order_by.is_empty() {
        out.sort_by(|a, b| {
            for (i, k) in p.order_by.iter().enumerate() {
                let (x, y) = (&a.0[i], &b.0[i]);
                let o = match (x.is_null(), y.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => {
                        if k.nulls_first {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (false, true) => {
                        if k.nulls_first {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    _ => {
                        let o = expr::compare(x, y).unwrap_or(Ordering::Equal);
                        if k.desc {
                            o.reverse()
                        } else {
                            o
                        }
                    }
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    let rows: Vec<Row> = out
        .into_iter()
        .skip(offset.unwrap_or(0) as usize)
        .take(limit.map_or(usize::MAX, |l| l as usize))
        .map(|(_, r)| r)
        .collect();
    Ok(QueryResult { tag: format!("SELECT {}", rows.len()), rows, notices: vec![] })
}

fn count(e: Option<&Expr>, params: &[Datum], what: &str, code: &'static str) -> Result<Option<i64>> {
    let Some(e) = e else { return Ok(None) };
    match expr::eval(e, &ctx(&[], params))? {
        Datum::Null => Ok(None),
        d => {
            let v = d.as_i64().unwrap_or_default();
            if v < 0 {
                return Err(SqlError::new(code, format!("{what} must not be negative")));
            }
            Ok(Some(v))
        }
    }
}

/// Aggregates without GROUP BY: partial states on every shard, merged here.
async fn aggregate(p: &SelectPlan, params: &[Datum]) -> Result<Vec<Datum>> {
    let specs = p.aggs.clone();
    let mut states: Vec<AggState> = specs.iter().map(AggState::new).collect();
    let Some(table) = &p.table else {
        // No FROM: one empty input row.
        for (st, spec) in states.iter_mut().zip(&specs) {
            let v = match &spec.arg {
                Some(a) => expr::eval(a, &ctx(&[], params))?,
                None => Datum::Null,
            };
            st.update(spec, v)?;
        }
        return Ok(states.into_iter().zip(&specs).map(|(s, spec)| s.finish(spec)).collect());
    };
    let name = table.name.clone();
    let filter = p.filter.clone();
    let params_v = params.to_vec();
    let specs_c = specs.clone();
    let parts = mesh::run_on_all(move |s| {
        let t = s.tables.get(&name).ok_or_else(|| no_table(&name))?;
        let mut states: Vec<AggState> = specs_c.iter().map(AggState::new).collect();
        for (_, row) in t.scan() {
            if !matches(filter.as_ref(), row, &params_v)? {
                continue;
            }
            for (st, spec) in states.iter_mut().zip(&specs_c) {
                let v = match &spec.arg {
                    Some(a) => expr::eval(a, &ctx(row, &params_v))?,
                    None => Datum::Null,
                };
                st.update(spec, v)?;
            }
        }
        Ok::<_, SqlError>(states)
    })
    .await
    .map_err(gone)?;
    for part in parts {
        for ((st, spec), other) in states.iter_mut().zip(&specs).zip(part?) {
            st.merge(spec, other)?;
        }
    }
    Ok(states.into_iter().zip(&specs).map(|(s, spec)| s.finish(spec)).collect())
}

/// Checks NOT NULL on a full row, with PostgreSQL's message and DETAIL.
pub(crate) fn check_not_null(table: &TableDef, row: &[Datum]) -> Result<()> {
    for (c, v) in table.columns.iter().zip(row) {
        if c.not_null && v.is_null() {
            return Err(SqlError::new(
                code::NOT_NULL_VIOLATION,
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    c.name, table.name
                ),
            )
            .detail(format!("Failing row contains {}.", row_text(&row[..table.columns.len().min(row.len())]))));
        }
    }
    Ok(())
}

fn row_text(row: &[Datum]) -> String {
    let vals: Vec<String> = row.iter().map(|d| types::to_text(d).unwrap_or_else(|| "null".into())).collect();
    format!("({})", vals.join(", "))
}

fn duplicate(table: &TableDef, row: &[Datum]) -> SqlError {
    let cols: Vec<&str> = table.pk.iter().map(|&i| table.columns[i].name.as_str()).collect();
    let vals: Vec<String> =
        table.pk.iter().map(|&i| types::to_text(&row[i]).unwrap_or_else(|| "null".into())).collect();
    SqlError::new(
        code::UNIQUE_VIOLATION,
        format!("duplicate key value violates unique constraint \"{}\"", table.pk_name),
    )
    .detail(format!("Key ({})=({}) already exists.", cols.join(", "), vals.join(", ")))
}

fn returning_rows(returning: Option<&[Expr]>, rows: &[Row], params: &[Datum]) -> Result<Vec<Row>> {
    let Some(ret) = returning else { return Ok(vec![]) };
    rows.iter().map(|r| ret.iter().map(|e| expr::eval(e, &ctx(r, params))).collect()).collect()
}

async fn insert(
    table: &Arc<TableDef>,
    rows: &[Vec<Expr>],
    returning: Option<&[Expr]>,
    params: &[Datum],
) -> Result<QueryResult> {
    let mut full = Vec::with_capacity(rows.len());
    for r in rows {
        let row = r.iter().map(|e| expr::eval(e, &ctx(&[], params))).collect::<Result<Vec<_>>>()?;
        check_not_null(table, &row)?;
        full.push(row);
    }
    let out = returning_rows(returning, &full, params)?;
    let n = full.len();
    let full = utility::with_row_ids(table, full).await?;
    insert_checked(table, full).await?;
    Ok(QueryResult { rows: out, tag: format!("INSERT 0 {n}"), notices: vec![] })
}

/// Inserts rows, turning a taken key into PostgreSQL's 23505 error naming that key.
async fn insert_checked(table: &Arc<TableDef>, rows: Vec<Row>) -> Result<()> {
    let (_, n) = state::local();
    let mut per_shard: Vec<Vec<(Vec<u8>, Row)>> = vec![Vec::new(); n];
    for row in rows {
        let k = table.key_of(&row);
        per_shard[shard_of_key(&k, n)].push((k, row));
    }
    let futs = per_shard.into_iter().enumerate().filter(|(_, r)| !r.is_empty()).map(|(shard, part)| {
        let name = table.name.clone();
        async move {
            let keys: Vec<Vec<u8>> = part.iter().map(|(k, _)| k.clone()).collect();
            let r = mesh::run_on(shard, move |s| -> std::result::Result<Option<Ticket>, (RowError, Option<Row>)> {
                let rows_by_key: Vec<(Vec<u8>, Row)> = part.iter().map(|(k, r)| (k.clone(), r.clone())).collect();
                shard_tables::insert_all(s, &name, part).map_err(|e| {
                    let row = match &e {
                        RowError::Duplicate(dup) => rows_by_key.into_iter().find(|(k, _)| k == dup).map(|(_, r)| r),
                        _ => None,
                    };
                    (e, row)
                })
            })
            .await;
            (shard, keys, r)
        }
    });
    let results = futures::future::join_all(futs).await;
    let mut err = None;
    let mut applied = Vec::new();
    let mut tickets = Vec::new();
    for (shard, keys, r) in results {
        match r {
            Ok(Ok(ticket)) => {
                tickets.extend(ticket);
                applied.push((shard, keys));
            }
            Ok(Err((RowError::Duplicate(_), Some(row)))) => {
                err.get_or_insert(duplicate(table, &row));
            }
            Ok(Err((RowError::Unwritable(e), _))) => {
                err.get_or_insert(io_error(e));
            }
            Ok(Err(_)) => {
                err.get_or_insert(no_table(&table.name));
            }
            Err(e) => {
                err.get_or_insert(gone(e));
            }
        }
    }
    let Some(err) = err else { return durable(tickets).await };
    for (shard, keys) in applied {
        let name = table.name.clone();
        if let Ok((_, ticket)) = mesh::run_on(shard, move |s| shard_tables::delete(s, &name, &keys)).await {
            tickets.extend(ticket);
        }
    }
    // The undo is durable before the error goes out, so a restart cannot bring the rows back.
    durable(tickets).await?;
    Err(err)
}

async fn update(
    table: &Arc<TableDef>,
    filter: Option<&Expr>,
    key: Option<&[Expr]>,
    sets: &[(usize, Expr)],
    returning: Option<&[Expr]>,
    params: &[Datum],
) -> Result<QueryResult> {
    let (_, n) = state::local();
    let matched = scan(table, filter, key, params).await?;
    // Compute every new row first: an error leaves the table untouched.
    let mut changes = Vec::with_capacity(matched.len());
    for (k, old) in &matched {
        let cx = ctx(old, params);
        let mut new = old.clone();
        for (i, e) in sets {
            new[*i] = expr::eval(e, &cx)?;
        }
        check_not_null(table, &new)?;
        let nk = table.key_of(&new);
        changes.push((k.clone(), nk, new));
    }
    let out = returning_rows(returning, &changes.iter().map(|c| c.2.clone()).collect::<Vec<_>>(), params)?;
    let count = changes.len();
    // Rows whose key changes move: check first that no new key is taken by a row this
    // statement does not also move away.
    let moved_from: std::collections::HashSet<Vec<u8>> =
        changes.iter().filter(|(k, nk, _)| k != nk).map(|(k, _, _)| k.clone()).collect();
    let mut seen = std::collections::HashSet::new();
    for (k, nk, row) in &changes {
        if k == nk {
            continue;
        }
        if !seen.insert(nk.clone()) {
            return Err(duplicate(table, row));
        }
        if moved_from.contains(nk) {
            continue;
        }
        let name = table.name.clone();
        let probe = nk.clone();
        let taken = mesh::run_on(shard_of_key(nk, n), move |s| s.tables.get(&name).is_some_and(|t| t.contains(&probe)))
            .await
            .map_err(gone)?;
        if taken {
            return Err(duplicate(table, row));
        }
    }
    // Apply: deletes of moved rows first, then puts.
    let mut per_shard_del: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
    let mut per_shard_put: Vec<Vec<(Vec<u8>, Row)>> = vec![Vec::new(); n];
    for (k, nk, row) in changes {
        if k != nk {
            per_shard_del[shard_of_key(&k, n)].push(k);
        }
        per_shard_put[shard_of_key(&nk, n)].push((nk, row));
    }
    let mut tickets = Vec::new();
    for (shard, dels) in per_shard_del.into_iter().enumerate().filter(|(_, d)| !d.is_empty()) {
        let name = table.name.clone();
        let r = mesh::run_on(shard, move |s| {
            shard_tables::writable(s)?;
            Ok::<_, String>(shard_tables::delete(s, &name, &dels).1)
        })
        .await
        .map_err(gone)?
        .map_err(io_error)?;
        tickets.extend(r);
    }
    for (shard, puts) in per_shard_put.into_iter().enumerate().filter(|(_, p)| !p.is_empty()) {
        let name = table.name.clone();
        let r = mesh::run_on(shard, move |s| shard_tables::put(s, &name, puts)).await.map_err(gone)?;
        match r {
            Ok(t) => tickets.extend(t),
            Err(RowError::Unwritable(e)) => return Err(io_error(e)),
            Err(_) => {}
        }
    }
    durable(tickets).await?;
    Ok(QueryResult { rows: out, tag: format!("UPDATE {count}"), notices: vec![] })
}

async fn delete(
    table: &Arc<TableDef>,
    filter: Option<&Expr>,
    key: Option<&[Expr]>,
    returning: Option<&[Expr]>,
    params: &[Datum],
) -> Result<QueryResult> {
    let (_, n) = state::local();
    let matched = scan(table, filter, key, params).await?;
    let rows: Vec<Row> = matched.iter().map(|(_, r)| r.clone()).collect();
    let out = returning_rows(returning, &rows, params)?;
    let mut per_shard: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
    for (k, _) in matched {
        per_shard[shard_of_key(&k, n)].push(k);
    }
    let mut count = 0usize;
    let mut tickets = Vec::new();
    for (shard, keys) in per_shard.into_iter().enumerate().filter(|(_, k)| !k.is_empty()) {
        let name = table.name.clone();
        let (n, ticket) = mesh::run_on(shard, move |s| {
            shard_tables::writable(s)?;
            Ok::<_, String>(shard_tables::delete(s, &name, &keys))
        })
        .await
        .map_err(gone)?
        .map_err(io_error)?;
        count += n;
        tickets.extend(ticket);
    }
    durable(tickets).await?;
    Ok(QueryResult { rows: out, tag: format!("DELETE {count}"), notices: vec![] })
}
