//! Running COPY's rows, VACUUM/ANALYZE and ALTER TABLE ... ADD PRIMARY KEY over the shards.
//!
//! COPY FROM inserts through the same path as INSERT ([`super::insert_rows_with`]), one batch
//! at a time, into one transaction. ALTER TABLE ... ADD PRIMARY KEY re-keys a table: its rows are built into a staging
//! table (`<table>\0<generation>`, [`orbit_engine::table::staging_name`]) on the shards their
//! new keys hash to, and once every shard's staging rows are durable, shard 0 logs the swap
//! (the commit point), then every other shard does; start-up recovery settles a swap a crash
//! interrupted by shard 0's catalog (docs/ARCHITECTURE.md, "ALTER TABLE").

use super::undo::{Created, ShardRows};
use super::{durable, gone, io_error, no_table, scan, QueryResult};
use crate::copy::{CopyPlan, CopySource};
use crate::error::{code, Result, SqlError};
use crate::txn::Txn;
use crate::types;
use orbit_engine::table::{staging_name, Datum, Row, TableDef};
use orbit_shards::rowlock::Owner;
use orbit_shards::tables as shard_tables;
use orbit_shards::wal::Ticket;
use orbit_shards::{mesh, state};
use std::sync::Arc;

/// An encoded primary key (or index entry key).
type Key = Vec<u8>;

/// Rows of staging data sent to a shard in one hop.
const REKEY_BATCH_ROWS: usize = 10_000;

/// Appends a row id to each row of a table without a primary key (nothing otherwise). One
/// row takes an id from the local shard (no hop); more are spread over every shard, each
/// handing out ids that hash to itself.
pub(super) async fn with_row_ids(table: &Arc<TableDef>, mut rows: Vec<Row>) -> Result<Vec<Row>> {
    if !table.has_row_id() || rows.is_empty() {
        return Ok(rows);
    }
    let ids = take_row_ids(&table.name, rows.len()).await?;
    for (row, id) in rows.iter_mut().zip(ids) {
        row.push(Datum::Int8(id));
    }
    Ok(rows)
}

/// `total` new row ids from table `name`'s shards (one from the local shard, no hop).
async fn take_row_ids(name: &str, total: usize) -> Result<Vec<i64>> {
    let name = name.to_string();
    if total == 1 {
        return state::with_shard(|s| shard_tables::take_row_ids(s, &name, 1)).ok_or_else(|| no_table(&name));
    }
    let table = name.clone();
    let parts = mesh::run_on_all(move |s| {
        let n = s.count;
        let share = total / n + usize::from(s.id < total % n);
        shard_tables::take_row_ids(s, &table, share)
    })
    .await
    .map_err(gone)?;
    let mut ids = Vec::with_capacity(total);
    for p in parts {
        ids.extend(p.ok_or_else(|| no_table(&name))?);
    }
    Ok(ids)
}

/// A table losing its primary key (`def` has none, `table` had one): a new row id for each
/// key the rows have now, committed or in the transaction's write set (a committed row and
/// the transaction's version of it keep sharing one key). None for any other rewrite.
async fn new_row_ids(
    table: &TableDef,
    def: &TableDef,
    rows: &[(Vec<u8>, Row)],
    own: &std::collections::BTreeMap<Vec<u8>, Option<Row>>,
) -> Result<Option<std::collections::HashMap<Vec<u8>, Datum>>> {
    if table.has_row_id() || !def.has_row_id() {
        return Ok(None);
    }
    let mut keys: Vec<&Vec<u8>> = rows.iter().map(|(k, _)| k).chain(own.keys()).collect();
    keys.sort();
    keys.dedup();
    let ids = if keys.is_empty() { Vec::new() } else { take_row_ids(&table.name, keys.len()).await? };
    Ok(Some(keys.into_iter().cloned().zip(ids.into_iter().map(Datum::Int8)).collect()))
}

/// Inserts one batch of COPY FROM rows (full rows, NOT NULL already checked) into `txn`'s
/// write set, through INSERT's path, firing the table's row-level INSERT triggers; how many
/// were inserted (a BEFORE ROW trigger may skip some). Columns in `defaults` (left out of COPY's column list,
/// with a DEFAULT expression) are computed per row first. On a taken key (23505) the error
/// comes with the index of the row that hit it (a key twice in the batch: its second row), for
/// the CONTEXT's line.
pub async fn copy_insert(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    mut rows: Vec<Row>,
    defaults: &[usize],
) -> std::result::Result<usize, (SqlError, Option<usize>)> {
    txn.check_writable("COPY FROM").map_err(|e| (e, None))?;
    // Into a partition or partitioned table: the root's storage takes the rows, each checked
    // to belong there (`crate::partitions`).
    let (table, checks) = crate::bind::copy_target(table).map_err(|e| (e, None))?;
    let table = &table;
    if crate::catalog::is_view(table) {
        return Err((crate::catalog::read_only(table), None));
    }
    let generated = crate::bind::GeneratedColumns::of(table).map_err(|e| (e, None))?;
    let fired = crate::triggers::Fired::of(table, crate::triggers::Op::Insert, &[]).filter(|f| f.has_row_triggers());
    // Each row's place in the batch (for the CONTEXT line of an error), past rows a BEFORE ROW
    // trigger skipped.
    let mut at: Vec<usize> = (0..rows.len()).collect();
    if !defaults.is_empty() {
        let exprs = defaults
            .iter()
            .map(|&i| crate::bind::bind_default(&table.columns[i]))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| (e, None))?;
        let mut per_row = vec![exprs; rows.len()];
        if per_row.first().is_some_and(|r| crate::sequence::any_uses(r)) {
            crate::sequence::resolve(txn, &mut per_row, &[]).await.map_err(|e| (e, None))?;
        }
        for (n, (row, exprs)) in rows.iter_mut().zip(per_row).enumerate() {
            for (&i, e) in defaults.iter().zip(exprs) {
                row[i] = crate::expr::eval(&e, &crate::expr::Ctx { row: &[], params: &[], aggs: &[] })
                    .map_err(|e| (e, Some(n)))?;
            }
        }
    }
    if let Some(f) = &fired {
        // BEFORE ROW triggers see each row with its defaults, and may change or skip it.
        let kept = f.before_rows(txn, rows.into_iter().map(|r| (None, r)).collect()).await.map_err(|e| (e, None))?;
        let mut still = Vec::with_capacity(kept.len());
        rows = Vec::with_capacity(kept.len());
        for (n, r) in at.into_iter().zip(kept) {
            if let Some(r) = r {
                still.push(n);
                rows.push(r);
            }
        }
        at = still;
    }
    if !defaults.is_empty() || fired.is_some() || table.columns.iter().any(|c| c.generated.is_some()) {
        // Generated columns are computed (and the row checked again with them).
        for (row, &n) in rows.iter_mut().zip(&at) {
            generated.fill(row).map_err(|e| (e, Some(n)))?;
            super::check_not_null(table, row).map_err(|e| (e, Some(n)))?;
        }
    }
    if !checks.is_empty() {
        let written = super::Written { returning: None, checks: &checks };
        for (row, &n) in rows.iter().zip(&at) {
            if let Some(e) = written.refused(table, std::slice::from_ref(row), &[]).map_err(|e| (e, Some(n)))? {
                return Err((e, Some(n)));
            }
        }
    }
    // The key values of each row, kept to find the row a 23505 names.
    let keys: Vec<Vec<Datum>> = if table.has_row_id() {
        Vec::new()
    } else {
        rows.iter().map(|r| table.pk.iter().map(|&i| r[i].clone()).collect()).collect()
    };
    let rows = with_row_ids(table, rows).await.map_err(|e| (e, None))?;
    let count = rows.len();
    let written = if fired.is_some() { rows.clone() } else { Vec::new() };
    super::insert_rows_with(txn, table, rows, true).await.map_err(|e| {
        if e.code != code::UNIQUE_VIOLATION {
            return (e, None);
        }
        let detail = e.detail.clone().unwrap_or_default();
        let named: Vec<usize> = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| {
                let vals: Vec<String> = k.iter().map(|d| types::to_text(d).unwrap_or_else(|| "null".into())).collect();
                detail.contains(&format!("=({}) ", vals.join(", ")))
            })
            .map(|(i, _)| i)
            .collect();
        let n = named.get(1).or(named.first()).copied();
        (e, n.and_then(|n| at.get(n).copied()))
    })?;
    if let Some(f) = &fired {
        let pairs: Vec<(Option<&Row>, Option<&Row>)> = written.iter().map(|r| (None, Some(r))).collect();
        f.after_rows(txn, &pairs).await.map_err(|e| (e, None))?;
    }
    Ok(count)
}

/// COPY FROM's statement-level INSERT triggers (`before`: before its first row, else after
/// its last).
pub async fn copy_statement_triggers(txn: &mut Txn, table: &Arc<TableDef>, before: bool) -> Result<()> {
    let (table, _) = crate::bind::copy_target(table)?;
    if let Some(f) = crate::triggers::Fired::of(&table, crate::triggers::Op::Insert, &[]) {
        f.statement(txn, before).await?;
    }
    Ok(())
}

/// The rows COPY TO writes, as the text of each copied column (None: NULL).
pub async fn copy_out(txn: &mut Txn, plan: &CopyPlan) -> Result<Vec<Vec<Option<String>>>> {
    let rows = copy_out_values(txn, plan).await?;
    let style = types::TextStyle::of_settings(&txn.settings);
    Ok(rows.iter().map(|row| crate::copy::texts(row, &style)).collect())
}

/// The rows COPY TO sends, as values in COPY's column order (the binary format encodes them
/// itself).
pub async fn copy_out_values(txn: &mut Txn, plan: &CopyPlan) -> Result<Vec<Row>> {
    match &plan.source {
        CopySource::Table { table, .. } if table.partition_key.is_some() => Err(SqlError::new(
            code::WRONG_OBJECT_TYPE,
            format!("cannot copy from partitioned table \"{}\"", crate::schema::relname(&table.name)),
        )
        .hint("Try the COPY (SELECT ...) TO variant.")),
        CopySource::Table { table, columns } if table.partition_of.is_some() => {
            // A partition's rows: its root's within its partition constraint.
            let (root, checks) = crate::bind::copy_target(table)?;
            let rows = scan(txn, &root, None, None, &[]).await?;
            let mut out = Vec::new();
            for (_, r) in rows {
                let mut inside = true;
                for c in checks.iter().filter(|c| matches!(c.kind, crate::bind::CheckKind::Partition)) {
                    let cx = crate::expr::Ctx { row: &r, params: &[], aggs: &[] };
                    inside &= crate::expr::truth(crate::expr::eval(&c.cond, &cx)?) == Some(true);
                }
                if inside {
                    out.push(columns.iter().map(|&i| r[i].clone()).collect());
                }
            }
            Ok(out)
        }
        CopySource::Table { table, columns } => {
            let rows = scan(txn, table, None, None, &[]).await?;
            Ok(rows.into_iter().map(|(_, r)| columns.iter().map(|&i| r[i].clone()).collect()).collect())
        }
        CopySource::Query(q) => Ok(Box::pin(super::execute(q, &[], txn)).await?.rows),
    }
}

/// VACUUM and ANALYZE. Orbit keeps no dead rows (an UPDATE replaces the row in place, a DELETE
/// removes it), so VACUUM has nothing to reclaim and VACUUM FULL nothing to compact. ANALYZE
/// (and VACUUM ANALYZE) counts each shard's rows into `Table::analyzed_rows` (pg_class.reltuples
/// sums them) and collects the planner's statistics ([`crate::stats`]): every shard reads its
/// part of each table once, the coordinator merges what they found, and the result is installed
/// on every shard, where statements are planned. `columns` lists, per table, the columns named
/// (empty: all of them).
pub(super) async fn maintenance(
    analyze: bool,
    tables: &[Arc<TableDef>],
    columns: &[Vec<usize>],
    tag: &str,
    statistics_target: usize,
) -> Result<QueryResult> {
    if analyze {
        let names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
        mesh::run_on_all(move |s| {
            let all: Vec<String> = if names.is_empty() {
                s.tables.names().filter(|n| orbit_engine::table::staging_target(n).is_none()).cloned().collect()
            } else {
                names.clone()
            };
            for n in all {
                if let Some(t) = s.tables.get_mut(&n) {
                    t.analyzed_rows = Some(t.len() as u64);
                }
            }
        })
        .await
        .map_err(gone)?;
        // Every user table when none is named (index and staging tables have no statistics);
        // then the statistics of tables no longer there are dropped too.
        let everything = tables.is_empty();
        let targets: Vec<(Arc<TableDef>, Vec<usize>)> = if everything {
            crate::catalog::user_tables().into_iter().filter(|d| d.view.is_none()).map(|d| (d, Vec::new())).collect()
        } else {
            tables.iter().cloned().zip(columns.iter().cloned().chain(std::iter::repeat(Vec::new()))).collect()
        };
        let live: Option<std::collections::HashSet<u32>> =
            everything.then(|| targets.iter().map(|(d, _)| d.oid).collect());
        for (def, listed) in targets {
            analyze_table(&def, listed, live.as_ref(), statistics_target).await?;
        }
    }
    Ok(QueryResult { tag: tag.into(), ..Default::default() })
}

/// ANALYZE of one table: collected per shard, merged here, installed on every shard.
async fn analyze_table(
    def: &Arc<TableDef>,
    listed: Vec<usize>,
    live: Option<&std::collections::HashSet<u32>>,
    target: usize,
) -> Result<()> {
    let cols: Vec<usize> = if listed.is_empty() { (0..def.columns.len()).collect() } else { listed };
    let (name, oid) = (def.name.clone(), def.oid);
    let cols_there = cols.clone();
    let parts = mesh::run_on_all(move |s| {
        let seed = (oid as u64) << 16 | s.id as u64;
        s.tables.get(&name).filter(|t| t.def.oid == oid).map(|t| crate::stats::collect(t, &cols_there, seed, target))
    })
    .await
    .map_err(gone)?;
    // A shard where the table is gone or was replaced: it was dropped or rewritten meanwhile.
    let Some(parts) = parts.into_iter().collect::<Option<Vec<_>>>() else {
        return Ok(());
    };
    let old = crate::stats::of(def);
    let merged = Arc::new(crate::stats::merge(def, &cols, parts, old.as_deref(), target));
    let live = live.cloned();
    mesh::run_on_all(move |_| crate::stats::install(oid, merged.clone(), live.as_ref())).await.map_err(gone)?;
    Ok(())
}

/// Every committed row of `table` as the latest commits left it: not as a REPEATABLE READ
/// snapshot sees it (rows committed since must not be lost by a rebuild) and without the
/// transaction's own changes (they stay in its write set until COMMIT). What DDL that rebuilds
/// a table reads, once other writers are held off.
pub(super) async fn committed_rows(txn: &Txn, table: &Arc<TableDef>) -> Result<Vec<(Vec<u8>, Row)>> {
    let (name, oid) = (table.name.clone(), table.oid);
    let parts = super::on_every_shard_at(None, move |s| {
        let t = s.tables.get(&name).filter(|t| t.def.oid == oid).ok_or_else(|| no_table(&name))?;
        let rows = t.scan_at(None).map_err(super::too_old)?;
        Ok::<_, SqlError>(rows.map(|(k, r)| (k.clone(), r.clone())).collect::<Vec<_>>())
    })
    .await?;
    let mut all = Vec::new();
    for part in parts {
        all.extend(part?);
    }
    let mut held = crate::memory::Held::new(txn.memory(), "rows from shards");
    held.add(all.iter().map(|(k, r)| k.len() + crate::memory::row_bytes(r)).sum())?;
    held.keep();
    Ok(all)
}

/// The rows of `table` the transaction sees, given its `committed` rows and its `own`
/// changes (key -> row, None: deleted): what a rebuild validates.
pub(super) fn visible<'a>(
    committed: &'a [(Vec<u8>, Row)],
    own: &'a std::collections::BTreeMap<Vec<u8>, Option<Row>>,
) -> impl Iterator<Item = &'a Row> {
    let kept = committed.iter().filter(|(k, _)| !own.contains_key(k)).map(|(_, r)| r);
    kept.chain(own.values().flatten())
}

/// ALTER TABLE t ADD [CONSTRAINT name] PRIMARY KEY (columns). DDL applies at once, as
/// CREATE and DROP do (not transactional). Writers are locked out first ([`set_altering`]),
/// so no transaction's rows can land in the old table after it was read; the re-keyed table
/// gets a new OID.
pub(super) async fn add_primary_key(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    pk: &[usize],
    pk_name: &str,
) -> Result<(QueryResult, Vec<Created>)> {
    if !table.indexes.is_empty() {
        // Index entries point at rows by primary key: every index is built again.
        return super::add_key::with_indexes(txn, table, pk, pk_name).await;
    }
    let (_, n) = state::local();
    // No other transaction may write the table from here on: new row locks on it are refused,
    // and the re-key waits for the locks already held (their commits apply first).
    set_altering(table, true, txn).await?;
    let r = rekey(txn, table, pk, pk_name, n, holder(txn)).await;
    if r.is_err() {
        release_unless_held(txn, table).await;
    }
    r
}

/// Marks `table` as being altered by transaction `txn` (or no longer) on every shard; when
/// marking, waits until no other transaction holds a row lock on it (a cancel request,
/// `statement_timeout` or a deadlock ends the wait, as a row lock wait's). Another
/// transaction's mark (an ALTER in a block that has not ended) is 55P03: statements wait for
/// such a mark before they run ([`crate::relation_lock`]), so meeting one here is a race with
/// an ALTER that began after this statement was bound.
pub(super) async fn set_altering(table: &Arc<TableDef>, on: bool, txn: &Txn) -> Result<()> {
    let (name, oid, me) = (table.name.clone(), table.oid, txn.id);
    let held = || SqlError::new("55P03", format!("could not obtain lock on relation \"{}\"", table.name));
    let started = std::time::Instant::now();
    let every = crate::txn::Cancel::deadlock_timeout(txn.cancel.as_deref());
    let mut next_check = started + every;
    let mut was_mine = None;
    let mut published = false;
    let r = loop {
        // Shard 0 (the catalog's owner) decides between concurrent ALTERs; the rest follow.
        let n = name.clone();
        let first = mesh::run_on(0, move |s| {
            let Some(t) = s.tables.get_mut(&n).filter(|t| t.def.oid == oid) else { return Ok((false, Vec::new())) };
            if t.altering.is_some_and(|o| o != me) {
                return Err(());
            }
            let mine = t.altering == Some(me);
            t.altering = on.then_some(me);
            Ok((mine, if on { s.row_locks.table_holders(oid, me) } else { Vec::new() }))
        })
        .await
        .map_err(gone)?;
        let mut holders = match first {
            Ok((mine, h)) => {
                was_mine.get_or_insert(mine);
                h
            }
            Err(()) if on => return Err(held()),
            Err(()) => return Ok(()),
        };
        let n = name.clone();
        let busy = mesh::run_on_all(move |s| {
            if s.id == 0 {
                return Vec::new();
            }
            if let Some(t) = s.tables.get_mut(&n).filter(|t| t.def.oid == oid) {
                if t.altering.is_none_or(|o| o == me) {
                    t.altering = on.then_some(me);
                }
            }
            if on {
                s.row_locks.table_holders(oid, me)
            } else {
                Vec::new()
            }
        })
        .await
        .map_err(gone)?;
        for h in busy.into_iter().flatten() {
            if !holders.contains(&h) {
                holders.push(h);
            }
        }
        if holders.is_empty() {
            break Ok(());
        }
        // Waiting for the transactions that hold rows of the table: published for the
        // deadlock check (one of them may wait for this transaction's other holds).
        state::with_shard(|s| s.row_locks.note_other_waits(me, &holders));
        published = true;
        if let Err(e) = txn.check_cancel() {
            break Err(e);
        }
        if std::time::Instant::now() >= next_check {
            next_check = std::time::Instant::now() + every;
            if let Some(e) = crate::relation_lock::deadlock(me, holders[0]).await {
                break Err(e);
            }
        }
        orbit_shards::rt::sleep(std::time::Duration::from_millis(5)).await;
    };
    if published {
        state::with_shard(|s| s.row_locks.note_other_waits(me, &[]));
    }
    if r.is_err() && was_mine == Some(false) {
        // Given up: the mark goes (one an earlier statement of the block set stays).
        let n = name.clone();
        let _ = mesh::run_on_all(move |s| {
            if let Some(t) = s.tables.get_mut(&n).filter(|t| t.def.oid == oid && t.altering == Some(me)) {
                t.altering = None;
            }
        })
        .await;
    }
    r
}

/// After a failed ALTER: the table is free for other writers again, unless the statement is
/// part of a block, which holds it to its end (an earlier ALTER of the block may have replaced
/// it, and ROLLBACK puts back the rows it kept: no other writer may have changed them since).
pub(super) async fn release_unless_held(txn: &Txn, table: &Arc<TableDef>) {
    if holder(txn).is_none() {
        let _ = set_altering(table, false, txn).await;
    }
}

/// At the end of transaction `me`: the tables its ALTERs held are free for other writers.
pub(crate) async fn release_altering(me: orbit_shards::rowlock::Owner) {
    let _ = mesh::run_on_all(move |s| {
        let held: Vec<String> =
            s.tables.names().filter(|n| s.tables.get(n).is_some_and(|t| t.altering == Some(me))).cloned().collect();
        for n in held {
            if let Some(t) = s.tables.get_mut(&n) {
                t.altering = None;
            }
        }
        // What it created is there for every transaction now (or gone, after ROLLBACK).
        let created: Vec<String> =
            s.tables.names().filter(|n| s.tables.get(n).is_some_and(|t| t.created_by == Some(me))).cloned().collect();
        for n in created {
            if let Some(t) = s.tables.get_mut(&n) {
                t.created_by = None;
            }
        }
        crate::sequence::forget_created(me);
    })
    .await;
}

/// ADD/DROP/RENAME COLUMN: every row rewritten under the new definition `def` (a new column's
/// DEFAULT computed per row), through the same staging table and swap as a re-key, so a crash
/// leaves the old table or the new one.
pub(super) async fn rewrite_columns(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    def: &TableDef,
    change: &crate::bind::ColumnChange,
) -> Result<(QueryResult, Vec<Created>)> {
    let hold = holder(txn);
    rewrite_columns_held(txn, table, def, change, hold).await
}

/// [`rewrite_columns`], the new table held against other writers by `hold` (a statement that
/// goes on changing it: [`super::drop_key`]).
pub(super) async fn rewrite_columns_held(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    def: &TableDef,
    change: &crate::bind::ColumnChange,
    hold: Option<Owner>,
) -> Result<(QueryResult, Vec<Created>)> {
    use crate::bind::ColumnChange;
    let (_, n) = state::local();
    set_altering(table, true, txn).await?;
    let r = async {
        let rows = committed_rows(txn, table).await?;
        let mut undo = kept(txn, table, &rows, n);
        // The transaction's own changes to the table are rewritten the same way and stay in
        // its write set; only the rows it sees are validated.
        let own = txn.overlay_rows(table);
        let committed = rows.len();
        let rows: Vec<(Vec<u8>, Row)> =
            rows.into_iter().chain(own.iter().filter_map(|(k, r)| r.clone().map(|r| (k.clone(), r)))).collect();
        let defaults: Option<Vec<crate::expr::Expr>> = match change {
            ColumnChange::Add(e) => {
                let mut per_row = vec![vec![e.clone()]; rows.len()];
                if crate::sequence::any_uses(std::slice::from_ref(e)) {
                    crate::sequence::resolve(txn, &mut per_row, &[]).await?;
                }
                Some(per_row.into_iter().flatten().collect())
            }
            _ => None,
        };
        // CHECK constraints being added are checked on every row (PostgreSQL's validation).
        let new_checks = match change {
            // A column of a new type: every CHECK holds over the converted rows.
            ColumnChange::Retype(..) => def
                .checks
                .iter()
                .map(|c| crate::bind::bind_check(def, c).map(|e| (c, e)))
                .collect::<Result<Vec<_>>>()?,
            // Not the ones added NOT VALID (VALIDATE CONSTRAINT checks them later).
            ColumnChange::Check => def
                .checks
                .iter()
                .filter(|c| !c.not_valid && !table.checks.contains(c))
                .map(|c| crate::bind::bind_check(def, c).map(|e| (c, e)))
                .collect::<Result<Vec<_>>>()?,
            _ => Vec::new(),
        };
        // DROP of the primary key (or of one of its columns): rows are keyed by row ids now.
        let ids = new_row_ids(table, def, &rows, &own).await?;
        let new_key = |old: &Vec<u8>| match &ids {
            Some(ids) => orbit_engine::table::key::encode(ids.get(old).into_iter()),
            None => old.clone(),
        };
        let mut per_shard: Vec<Vec<(Vec<u8>, Row)>> = vec![Vec::new(); n];
        // A retyped key column moves every key: the deletes follow their rows' new keys (below).
        let rekeyed = matches!(change, ColumnChange::Retype(c, _) if def.pk.contains(c));
        let mut rewritten_own: std::collections::BTreeMap<Vec<u8>, Option<Row>> =
            own.iter().filter(|(_, r)| r.is_none() && !rekeyed).map(|(k, _)| (new_key(k), None)).collect();
        let mut new_keys: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
        let width = table.columns.len();
        // A new column's default may read the clock (`DEFAULT now()`): the transaction's time
        // for every row, as PostgreSQL computes it once per statement.
        let clock = crate::expr::with_clock(&[], txn.started_us, crate::datetime::now_us());
        for (k, (old_key, mut row)) in rows.into_iter().enumerate() {
            // A committed row the transaction changed or deleted is rewritten, not validated.
            let seen = k >= committed || !own.contains_key(&old_key);
            match change {
                ColumnChange::Add(_) => {
                    let e = defaults
                        .as_ref()
                        .and_then(|d| d.get(k))
                        .cloned()
                        .unwrap_or(crate::expr::Expr::Const(Datum::Null, orbit_engine::table::SqlType::Text));
                    // (A generated column's expression reads the row's other columns.)
                    let v = crate::expr::eval(&e, &crate::expr::Ctx { row: &row, params: &clock, aggs: &[] })?;
                    let col = def.columns.last().expect("a column was added");
                    if v.is_null() && col.not_null && seen {
                        return Err(SqlError::new(
                            code::NOT_NULL_VIOLATION,
                            format!("column \"{}\" of relation \"{}\" contains null values", col.name, table.name),
                        )
                        .on_table(&table.name)
                        .on_column(&col.name));
                    }
                    // Before the hidden row id, if the table has one.
                    row.insert(width, v);
                }
                ColumnChange::Drop(i) => {
                    row.remove(*i);
                }
                ColumnChange::Rename | ColumnChange::RenameInViews(_) => {}
                ColumnChange::Retype(c, conv) => {
                    let v = crate::expr::eval(conv, &crate::expr::Ctx { row: &row, params: &clock, aggs: &[] });
                    row[*c] = match v {
                        Ok(v) => v,
                        Err(e) if seen => return Err(e),
                        // A version the transaction replaced: never read again.
                        Err(_) => Datum::Null,
                    };
                    for (c, e) in &new_checks {
                        let v = crate::expr::eval(e, &crate::expr::Ctx { row: &row, params: &[], aggs: &[] })?;
                        if crate::expr::truth(v) == Some(false) && seen {
                            return Err(SqlError::new(
                                code::CHECK_VIOLATION,
                                format!(
                                    "check constraint \"{}\" of relation \"{}\" is violated by some row",
                                    c.name,
                                    crate::schema::relname(&table.name)
                                ),
                            )
                            .on_table(&table.name)
                            .on_constraint(&c.name));
                        }
                    }
                }
                ColumnChange::Check => {
                    for (c, e) in &new_checks {
                        let v = crate::expr::eval(e, &crate::expr::Ctx { row: &row, params: &[], aggs: &[] })?;
                        if crate::expr::truth(v) == Some(false) && seen {
                            return Err(SqlError::new(
                                code::CHECK_VIOLATION,
                                format!(
                                    "check constraint \"{}\" of relation \"{}\" is violated by some row",
                                    c.name, table.name
                                ),
                            )
                            .on_table(&table.name)
                            .on_constraint(&c.name));
                        }
                    }
                }
            }
            if let Some(id) = ids.as_ref().and_then(|ids| ids.get(&old_key)) {
                row.push(id.clone());
            }
            let key = def.key_of(&row);
            if rekeyed && k < committed && matches!(own.get(&old_key), Some(None)) {
                rewritten_own.insert(key.clone(), None);
            }
            // Two old keys that convert to one new key (1.2 and 1.4 as integers): PostgreSQL's
            // rebuild of the primary key index fails.
            if rekeyed && seen && !new_keys.insert(key.clone()) {
                let cols: Vec<&str> = def.pk.iter().map(|&i| def.columns[i].name.as_str()).collect();
                let vals: Vec<String> =
                    def.pk.iter().map(|&i| crate::types::to_text(&row[i]).unwrap_or_else(|| "null".into())).collect();
                return Err(SqlError::new(
                    code::UNIQUE_VIOLATION,
                    format!("could not create unique index \"{}\"", def.pk_name),
                )
                .detail(format!("Key ({})=({}) is duplicated.", cols.join(", "), vals.join(", ")))
                .on_table(&table.name)
                .on_constraint(&def.pk_name));
            }
            if k < committed {
                per_shard[super::shard_of_key(&key, n)].push((key, row));
            } else {
                rewritten_own.insert(key, Some(row));
            }
        }
        let r = stage_and_swap(table, def.clone(), per_shard, hold).await?;
        carry_writes(txn, table, rewritten_own).await?;
        // Indexes on a dropped column went with it (at COMMIT, when ROLLBACK may bring the
        // column back).
        let gone: Vec<String> = table
            .indexes
            .iter()
            .filter(|x| !def.indexes.iter().any(|y| y.name == x.name))
            .map(|x| x.name.clone())
            .collect();
        if undo.is_empty() {
            super::drop_relations(&gone).await?;
        } else if !gone.is_empty() {
            undo.push(Created::DropAtCommit { names: gone });
        }
        Ok((r, undo))
    }
    .await;
    if r.is_err() {
        release_unless_held(txn, table).await;
    }
    r
}

/// What ROLLBACK needs to put `table` back as it was (its definition and `rows`), unless the
/// statement commits alone.
fn kept(txn: &Txn, table: &Arc<TableDef>, rows: &[(Vec<u8>, Row)], n: usize) -> Vec<Created> {
    if !keeps_undo(txn) {
        return Vec::new();
    }
    let mut per_shard: ShardRows = vec![Vec::new(); n];
    for (k, row) in rows {
        per_shard[super::shard_of_key(k, n)].push((k.clone(), row.clone()));
    }
    vec![Created::Replaced { name: table.name.clone(), oid: 0, old: Box::new((**table).clone()), rows: per_shard }]
}

/// The re-key of [`add_primary_key`]; `hold`: the transaction that keeps other writers off the
/// re-keyed table.
pub(super) async fn rekey(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    pk: &[usize],
    pk_name: &str,
    n: usize,
    hold: Option<Owner>,
) -> Result<(QueryResult, Vec<Created>)> {
    let rows = committed_rows(txn, table).await?;
    let undo = kept(txn, table, &rows, n);
    let own = txn.overlay_rows(table);
    let mut def = (**table).clone();
    def.pk = pk.to_vec();
    def.pk_name = pk_name.to_string();
    for &c in pk {
        def.columns[c].not_null = true;
    }
    let rekeyed = |mut row: Row| {
        row.truncate(def.columns.len());
        (def.key_of(&row), row)
    };
    super::add_key::check_new_key(table, &def, visible(&rows, &own), pk_name)?;
    // The new table holds the committed rows under their new keys (moved, not copied; without
    // changes of the transaction's own they were just checked free of duplicate keys); the
    // transaction's changes follow them in its write set.
    let (committed, deletes) = if own.is_empty() {
        (rows.into_iter().map(|(_, r)| rekeyed(r)).collect(), Vec::new())
    } else {
        let items = rows.into_iter().map(|(k, r)| {
            let (key, row) = rekeyed(r);
            (key, row, own.contains_key(&k))
        });
        one_per_key(items.collect())
    };
    let mut rewritten_own: std::collections::BTreeMap<Vec<u8>, Option<Row>> =
        deletes.into_iter().map(|k| (k, None)).collect();
    for r in own.values().flatten() {
        let (k, row) = rekeyed(r.clone());
        rewritten_own.insert(k, Some(row));
    }
    let mut per_shard: Vec<Vec<(Vec<u8>, Row)>> = vec![Vec::new(); n];
    for (k, row) in committed {
        per_shard[super::shard_of_key(&k, n)].push((k, row));
    }
    let r = stage_and_swap(table, def, per_shard, hold).await?;
    carry_writes(txn, table, rewritten_own).await?;
    Ok((r, undo))
}

/// Committed rows (or index entries) under their new keys, each marked if the transaction
/// changed or deleted it: one per key for the rebuilt relation — the one the transaction left
/// alone if any (the rows it sees have no duplicates: that was checked), else any — and the
/// keys whose row the transaction changed, which its write set must delete at COMMIT. Several
/// committed rows share a key only when the transaction removed the duplicates before the
/// DDL (`UPDATE` then `ADD PRIMARY KEY`); until COMMIT other sessions see one of them.
pub(super) fn one_per_key(items: Vec<(Vec<u8>, Row, bool)>) -> (Vec<(Vec<u8>, Row)>, Vec<Key>) {
    // A permutation is sorted (16-byte entries: each key's first 8 bytes as an integer and its
    // position), not the items themselves; items with the same key and flag are
    // interchangeable ("else any"): an unstable sort.
    let mut order: Vec<(u64, usize)> = items.iter().enumerate().map(|(i, it)| (key_prefix(&it.0), i)).collect();
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| items[a.1].0.cmp(&items[b.1].0)).then(items[a.1].2.cmp(&items[b.1].2))
    });
    let mut slots: Vec<Option<(Vec<u8>, Row, bool)>> = items.into_iter().map(Some).collect();
    let mut out: Vec<(Vec<u8>, Row)> = Vec::with_capacity(slots.len());
    let mut deletes = Vec::new();
    for (_, i) in order {
        let Some((k, r, changed)) = slots[i].take() else { continue };
        // The first of a key is kept (a row the transaction left alone before a changed one).
        if out.last().is_some_and(|(last, _)| *last == k) {
            continue;
        }
        if changed {
            deletes.push(k.clone());
        }
        out.push((k, r));
    }
    (out, deletes)
}

/// Encoded keys in their byte order, most decided by their first 8 bytes as one integer (a
/// key shorter than 8 bytes padded with zeros, which keeps the order: equal prefixes fall back
/// to the bytes) rather than a `memcmp` call per comparison.
fn key_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    key_prefix(a).cmp(&key_prefix(b)).then_with(|| a.cmp(b))
}

/// A key's first 8 bytes as a big-endian integer, zero-padded ([`key_order`]).
fn key_prefix(k: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    let n = k.len().min(8);
    buf[..n].copy_from_slice(&k[..n]);
    u64::from_be_bytes(buf)
}

/// A rebuilt relation's rows under their keys, and the keys the transaction's write set must
/// delete ([`one_per_key`]).
pub(super) type Rebuilt = (Vec<(Vec<u8>, Row)>, Vec<Key>);

/// `index`'s entries over `table`'s committed `rows`, one per key as [`one_per_key`] keeps
/// them, and the keys of the entries of rows the transaction changed (`own`), which its write
/// set must delete. A unique index is first checked over the rows the transaction sees:
/// PostgreSQL's 23505 `could not create unique index`.
pub(super) fn index_entries(
    table: &TableDef,
    index: &orbit_engine::table::IndexDef,
    rows: &[(Vec<u8>, Row)],
    own: &std::collections::BTreeMap<Vec<u8>, Option<Row>>,
) -> Result<Rebuilt> {
    if index.unique {
        let seen: Vec<&Row> = visible(rows, own).collect();
        let mut entries: Vec<(Vec<u8>, usize)> = Vec::with_capacity(seen.len());
        for (i, r) in seen.iter().enumerate() {
            if let Some((k, _)) = crate::index::entry(table, index, r)? {
                entries.push((k, i));
            }
        }
        entries.sort_unstable_by(|a, b| key_order(&a.0, &b.0));
        if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(crate::index::duplicate(table, index, seen[w[0].1], false));
        }
    }
    let mut items = Vec::with_capacity(rows.len());
    for (k, r) in rows.iter() {
        if let Some((e, row)) = crate::index::entry(table, index, r)? {
            items.push((e, row, own.contains_key(k)));
        }
    }
    Ok(one_per_key(items))
}

/// After a rebuild swapped a new definition in for `table`: the transaction's changes to it
/// (`rows`, rewritten for the new definition) move to the new table in its write set. The row
/// ids its new rows took stay taken in the new table (which counts only the rows it holds), so
/// the transaction's next rows get others.
pub(super) async fn carry_writes(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    rows: std::collections::BTreeMap<Vec<u8>, Option<Row>>,
) -> Result<()> {
    if rows.is_empty() && txn.overlay(table).is_none() {
        return Ok(());
    }
    let now = crate::bind::lookup_table(&table.name).ok_or_else(|| no_table(&table.name))?;
    let width = now.columns.len();
    let top = rows.values().flatten().filter_map(|r| r.get(width).and_then(Datum::as_i64)).max();
    txn.rewrite_writes(&table.name, &now, rows)?;
    if let Some(top) = top.filter(|_| now.has_row_id()) {
        let (name, oid) = (now.name.clone(), now.oid);
        mesh::run_on_all(move |s| {
            if let Some(t) = s.tables.get_mut(&name).filter(|t| t.def.oid == oid) {
                t.reserve_row_ids_below(top.saturating_add(1));
            }
        })
        .await
        .map_err(gone)?;
    }
    Ok(())
}

/// Builds `def`'s rows (already placed per shard) into a staging table and swaps it in for
/// `table`: shard 0's swap record is the commit point.
async fn stage_and_swap(
    table: &Arc<TableDef>,
    def: TableDef,
    per_shard: Vec<Vec<(Vec<u8>, Row)>>,
    hold: Option<Owner>,
) -> Result<QueryResult> {
    stage_and_swap_as(&table.name, Some(table), def, per_shard, hold).await
}

/// The transaction that goes on holding what its ALTER swapped in: one that outlives the
/// statement, or a statement alone that holds its tables to its end (one changing a table in
/// several steps, whose guard copy must see no other writer before its COMMIT:
/// [`super::ddl_journal::guard`]).
pub(super) fn holder(txn: &Txn) -> Option<Owner> {
    (!txn.alone || txn.holds_tables).then_some(txn.id)
}

/// Whether what a statement replaces is kept for ROLLBACK (not when it commits alone).
pub(super) fn keeps_undo(txn: &Txn) -> bool {
    !txn.alone
}

/// Marks the table just swapped in as altered by `hold` (in the swap's own step, so no other
/// writer gets in between).
fn hold_table(s: &mut orbit_shards::state::Shard, name: &str, hold: Option<Owner>) {
    if let (Some(o), Some(t)) = (hold, s.tables.get_mut(name)) {
        t.altering = Some(o);
    }
}

/// [`stage_and_swap`] for the relation `name`: `expect` is its definition as read (None: it
/// must not exist yet, and the swap creates it). `hold`: the transaction that keeps other
/// writers off the new table until it ends.
pub(super) async fn stage_and_swap_as(
    name: &str,
    expect: Option<&Arc<TableDef>>,
    def: TableDef,
    per_shard: Vec<Vec<(Vec<u8>, Row)>>,
    hold: Option<Owner>,
) -> Result<QueryResult> {
    swap_in_def(name, expect, def, per_shard, hold, false).await
}

/// Swaps in a new definition for `table` that changes only its indexes (CREATE/DROP INDEX),
/// constraints' names or columns' DEFAULTs (nothing its rows' encoding depends on): as
/// [`stage_and_swap_as`], but the staging table carries no rows and the swap keeps the table's
/// own ([`orbit_engine::table::redefine_name`]), so none is copied.
pub(super) async fn redefine(table: &Arc<TableDef>, def: TableDef, hold: Option<Owner>) -> Result<QueryResult> {
    let without_defaults = |d: &TableDef| {
        let mut c = d.columns.clone();
        c.iter_mut().for_each(|c| c.default_expr = None);
        c
    };
    debug_assert!(without_defaults(table) == without_defaults(&def) && table.pk == def.pk);
    swap_in_def(&table.name, Some(table), def, Vec::new(), hold, true).await
}

async fn swap_in_def(
    name: &str,
    expect: Option<&Arc<TableDef>>,
    def: TableDef,
    per_shard: Vec<Vec<(Vec<u8>, Row)>>,
    hold: Option<Owner>,
    keep_rows: bool,
) -> Result<QueryResult> {
    // The staging table, created on shard 0 first under a fresh generation, unless the table
    // changed since it was read.
    let expect = expect.cloned();
    let target = name.to_string();
    let staged = def.clone();
    let created = mesh::run_on(0, move |s| {
        shard_tables::writable(s).map_err(io_error)?;
        match (s.tables.def(&target), &expect) {
            (Some(d), Some(e)) if *d == **e => {}
            (None, None) => {}
            (Some(_), None) => {
                return Err(SqlError::new(code::DUPLICATE_TABLE, format!("relation \"{target}\" already exists")))
            }
            _ => return Err(no_table(&target)),
        }
        let generation = s.tables.next_generation();
        let mut d = staged;
        d.name = if keep_rows {
            orbit_engine::table::redefine_name(&target, generation)
        } else {
            staging_name(&target, generation)
        };
        d.oid = 16384 + generation as u32;
        let d = Arc::new(d);
        let (_, ticket) = shard_tables::create(s, d.clone(), generation);
        Ok((d, generation, ticket))
    })
    .await
    .map_err(gone)??;
    let (staging, generation, ticket0) = created;
    let r = build_staging(&staging, generation, per_shard, ticket0).await;
    if let Err(e) = r {
        abandon(&staging.name).await;
        return Err(e);
    }
    // Commit point: shard 0's swap record.
    let (sname, target) = (staging.name.clone(), name.to_string());
    let (swapped, ticket) = mesh::run_on(0, move |s| {
        let r = shard_tables::swap_in(s, &sname, generation);
        hold_table(s, &target, hold);
        r
    })
    .await
    .map_err(gone)?;
    if !swapped {
        durable(ticket.into_iter().collect()).await?;
        return Err(no_table(name));
    }
    super::owner_decided(ticket, name).await?;
    let (sname, target) = (staging.name.clone(), name.to_string());
    let tickets = mesh::run_on_all(move |s| {
        if s.id == 0 {
            return None;
        }
        let ticket = shard_tables::swap_in(s, &sname, generation).1;
        hold_table(s, &target, hold);
        ticket
    })
    .await
    .map_err(gone)?;
    durable(tickets.into_iter().flatten().collect()).await?;
    Ok(QueryResult { tag: "ALTER TABLE".into(), ..Default::default() })
}

/// Creates the staging table on the other shards and fills every shard's part; durable.
async fn build_staging(
    staging: &Arc<TableDef>,
    generation: u64,
    per_shard: Vec<Vec<(Vec<u8>, Row)>>,
    ticket0: Option<Ticket>,
) -> Result<()> {
    let d = staging.clone();
    let created = mesh::run_on_all(move |s| {
        if s.id == 0 {
            return Ok(None);
        }
        shard_tables::writable(s)?;
        Ok::<_, String>(shard_tables::create(s, d.clone(), generation).1)
    })
    .await
    .map_err(gone)?;
    let mut tickets: Vec<Ticket> = ticket0.into_iter().collect();
    for t in created {
        tickets.extend(t.map_err(io_error)?);
    }
    for (shard, part) in per_shard.into_iter().enumerate() {
        // Batches taken from the front in order (split_off would move the rest each time).
        let mut part = part.into_iter().peekable();
        while part.peek().is_some() {
            let name = staging.name.clone();
            let batch: Vec<(Vec<u8>, Row)> = part.by_ref().take(REKEY_BATCH_ROWS).collect();
            let r = mesh::run_on(shard, move |s| shard_tables::insert_all(s, &name, batch)).await.map_err(gone)?;
            match r {
                Ok(t) => tickets.extend(t),
                Err(shard_tables::RowError::Unwritable(e)) => return Err(io_error(e)),
                Err(_) => return Err(SqlError::internal("staging table lost while re-keying")),
            }
        }
    }
    durable(tickets).await
}

/// Drops a staging table everywhere after a failed ALTER (recovery would drop it too).
async fn abandon(staging: &str) {
    let name = staging.to_string();
    let Ok(generation) = mesh::run_on(0, |s| s.tables.next_generation()).await else { return };
    let r = mesh::run_on_all(move |s| shard_tables::drop_table(s, &name, generation).1).await;
    if let Ok(tickets) = r {
        let _ = durable(tickets.into_iter().flatten().collect()).await;
    }
}

/// DROP CONSTRAINT ... CASCADE of a key: the other tables' foreign keys that use it go (each
/// table rewritten under its new definition, undone by ROLLBACK); PostgreSQL's NOTICE.
pub(super) async fn drop_foreign_keys(
    txn: &mut Txn,
    children: &[(Arc<TableDef>, TableDef)],
    lines: &crate::foreign_key::CascadeLines,
) -> Result<Option<SqlError>> {
    for (child, def) in children {
        let (_, kept) = rewrite_columns(txn, child, def, &crate::bind::ColumnChange::Rename).await?;
        super::undo::keep(txn, kept)?;
    }
    Ok(crate::foreign_key::cascade_notice(lines.clone()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_per_key_keeps_the_unchanged_row_of_a_key() {
        use orbit_engine::table::Datum;
        let item = |k: &[u8], v: i64, changed: bool| (k.to_vec(), vec![Datum::Int8(v)], changed);
        let (rows, deletes) = super::one_per_key(vec![
            item(b"b", 1, true),
            item(b"a", 2, false),
            item(b"b", 3, false),
            item(b"c", 4, true),
            item(b"a", 5, true),
            item(&[0x61, 0, 0, 0, 0, 0, 0, 0, 1], 6, false),
        ]);
        let got: Vec<(Vec<u8>, i64)> = rows
            .into_iter()
            .map(|(k, r)| {
                (
                    k,
                    match r[0] {
                        Datum::Int8(v) => v,
                        _ => -1,
                    },
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![(b"a".to_vec(), 2), (vec![0x61, 0, 0, 0, 0, 0, 0, 0, 1], 6), (b"b".to_vec(), 3), (b"c".to_vec(), 4)]
        );
        assert_eq!(deletes, vec![b"c".to_vec()]);
    }

    #[test]
    fn key_order_is_byte_order() {
        let keys: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0, 0],
            vec![1],
            vec![0x61],
            vec![0x61, 0],
            vec![0x61, 5],
            vec![0x61, 0, 0, 0, 0, 0, 0, 0, 0],
            vec![0x61, 0, 0, 0, 0, 0, 0, 0, 1],
            vec![0x61, 0, 0, 0, 0, 0, 0, 1],
            vec![0xff; 9],
            vec![0xff; 8],
            vec![0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            vec![0x80, 1, 2, 3, 4, 5, 6, 7, 8],
        ];
        for a in &keys {
            for b in &keys {
                assert_eq!(super::key_order(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }
}
