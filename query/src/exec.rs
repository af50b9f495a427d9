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

use crate::bind::{OnConflict, Plan, SelectPlan, ViewCheckExpr};
use crate::error::{code, Result, SqlError};
use crate::expr::{self, Ctx, Expr};
use crate::txn::{sql_db, SnapshotCheck, Txn};
use crate::types;
use orbit_engine::table::{key, Datum, Row, TableDef};
use orbit_shards::rowlock::Owner;
use orbit_shards::tables as shard_tables;
use orbit_shards::tx::{Intent, Mode};
use orbit_shards::wal::Ticket;
use orbit_shards::{mesh, state, wal, ShardId};
use std::sync::Arc;

mod add_key;
mod alter_column;
mod alter_type;
mod catalog_types;
mod comment;
mod composite_types;
pub(crate) mod ddl_journal;
mod domains;
mod drop_key;
mod enum_types;
mod extensions;
mod functions;
pub(crate) mod index_scan;
mod indexes;
mod lock_rows;
mod matviews;
mod merge;
mod modify_join;
mod rename;
mod schema;
mod triggers;
pub(crate) mod undo;
mod upsert;
mod utility;
pub(crate) mod views;
pub(crate) use utility::release_altering;
pub use utility::{copy_insert, copy_out, copy_out_values, copy_statement_triggers};

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

/// Waits until shard 0's record of a CREATE, DROP or RENAME of `relation` is on disk (synced,
/// whatever `--fsync` says) before any other shard applies it. Shard 0's catalog is the
/// decision: recovery brings the other shards to it (`Tables::catalog_fixes`), so none may
/// hold a change shard 0 could still lose — a DROP another shard made durable first would
/// come back as an empty table there.
///
/// `ORBIT_CRASH_AFTER_CATALOG_OWNER=<relation>` in the server's environment aborts the process
/// here for that relation: how the crash tests stop a statement between the shards.
pub(crate) async fn owner_decided(ticket: Option<Ticket>, relation: &str) -> Result<()> {
    if let Some(t) = ticket {
        wal::wait_synced(t).await.map_err(io_error)?;
    }
    if std::env::var_os("ORBIT_CRASH_AFTER_CATALOG_OWNER").is_some_and(|v| v == relation) {
        tracing::error!(relation, "ORBIT_CRASH_AFTER_CATALOG_OWNER: aborting between the shards");
        std::process::abort();
    }
    Ok(())
}

/// `ORBIT_CRASH_AT=<point>` in the server's environment aborts the process at that point of a
/// DDL statement that changes a table in several steps (`guard-saved`, `rekey-index-dropped`,
/// `rekey-rewritten`, `rekey-index-built`, `ddl-done`), or between a sequence's row and its
/// catalog entry (`sequence-row-written`, `sequence-row-dropped`): how the crash tests stop one
/// between its steps. Unset (always, outside those tests), it does nothing.
pub(crate) fn crash_point(point: &str) {
    if std::env::var_os("ORBIT_CRASH_AT").is_some_and(|v| v == point) {
        tracing::error!(point, "ORBIT_CRASH_AT: aborting between the steps of a DDL statement");
        std::process::abort();
    }
}

pub(crate) fn gone(e: orbit_shards::Error) -> SqlError {
    SqlError::new(code::CONNECTION_EXCEPTION, format!("shard unavailable: {e}"))
}

pub(crate) fn no_table(name: &str) -> SqlError {
    SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{name}\" does not exist"))
}

/// Runs `plan` inside `txn` (the caller commits or rolls it back). DDL applies at once.
pub async fn execute(plan: &Plan, params: &[Datum], txn: &mut Txn) -> Result<QueryResult> {
    // A cancel request or statement_timeout takes effect at the statement's lock waits and
    // shard hops, and here at its start and end (before an autocommit commits).
    txn.check_cancel()?;
    if !matches!(
        plan,
        Plan::Empty
            | Plan::Begin { .. }
            | Plan::Commit { .. }
            | Plan::Rollback { .. }
            | Plan::Savepoint(_)
            | Plan::ReleaseSavepoint(_)
            | Plan::RollbackTo(_)
            | Plan::Deallocate(_)
            | Plan::Prepare { .. }
            | Plan::Execute { .. }
            | Plan::Discard(_)
            | Plan::Set { .. }
            | Plan::Sets(_)
            | Plan::LockTables(_)
            | Plan::Reset(_)
            | Plan::Show(_)
            | Plan::SetConfig(_)
            | Plan::Listen(_)
            | Plan::Unlisten(_)
            | Plan::Notify { .. }
            | Plan::ListeningChannels
            | Plan::Fetch { .. }
            | Plan::CloseCursor(_)
    ) {
        txn.begin_statement().await?;
        txn.queried = true;
    }
    refuse_if_read_only(plan, txn)?;
    let creates = undo::creates(plan).await?;
    // DDL that changes a table in several steps (a re-key that rebuilds its indexes) keeps a
    // durable copy of what it changes first: an error or a crash before it ends puts it back.
    let guarded = ddl_journal::guarded_tables(plan);
    if !guarded.is_empty() {
        Box::pin(ddl_journal::guard(txn, &guarded)).await?;
    }
    let r = run_and_journal(plan, params, txn, creates).await;
    if !guarded.is_empty() {
        return Box::pin(ddl_journal::settle_guard(txn, r)).await;
    }
    r
}

/// [`execute`]'s statement and the journal rows of what it created or replaced in a block.
async fn run_and_journal(
    plan: &Plan,
    params: &[Datum],
    txn: &mut Txn,
    creates: Option<(String, u8)>,
) -> Result<QueryResult> {
    let r = execute_plan(plan, params, txn).await?;
    undo::follow(&mut txn.created);
    if let Some((name, kind)) = creates {
        txn.created.extend(undo::created(name, kind).await?);
    }
    ddl_journal::sync(txn).await?;
    txn.check_cancel()?;
    Ok(r)
}

/// A partition DDL's checks: each query must find no row, else its error (SQLSTATE, message).
async fn partition_checks(
    checks: &[(String, &'static str, String)],
    session: &(i32, String),
    txn: &mut Txn,
) -> Result<()> {
    for (sql, code, message) in checks {
        if !run_step(sql, session, &[], txn).await?.rows.is_empty() {
            return Err(SqlError::new(code, message.clone()));
        }
    }
    Ok(())
}

/// In a transaction block, a change to a partition hierarchy (a partition created, attached,
/// detached or dropped) holds its root as ALTER TABLE holds a table: other transactions'
/// statements naming it, or a partition of it, wait until the block ends (their routing
/// checks and partition constraints would otherwise see its uncommitted partitions).
async fn hold_partition_root(def: &TableDef, txn: &mut Txn) -> Result<()> {
    if txn.alone {
        return Ok(());
    }
    let root = crate::partitions::root(&Arc::new(def.clone()));
    if root.partition_key.is_none() {
        return Ok(());
    }
    txn.holds_tables = true;
    utility::set_altering(&root, true, txn).await
}

/// 25006 for DDL in a read-only transaction (a plain function: this async one is polled in
/// deep recursion, where every byte of its frame counts in a debug build).
#[inline(never)]
fn refuse_if_read_only(plan: &Plan, txn: &Txn) -> Result<()> {
    match writing_command(plan) {
        Some(what) if txn.read_only => txn.check_writable(what),
        _ => Ok(()),
    }
}

/// The command a read-only transaction refuses, named as PostgreSQL names it (25006): DDL.
/// The statements that write rows check for themselves when they write (INSERT, UPDATE,
/// DELETE, COPY FROM, TRUNCATE, SELECT FOR UPDATE/SHARE, nextval, setval).
fn writing_command(plan: &Plan) -> Option<&'static str> {
    use crate::schema::SchemaPlan;
    Some(match plan {
        Plan::CreateTable { .. } => "CREATE TABLE",
        Plan::CreateSequence { .. } => "CREATE SEQUENCE",
        Plan::DropSequence { .. } => "DROP SEQUENCE",
        Plan::DropTable { matview: true, .. } => "DROP MATERIALIZED VIEW",
        Plan::DropTable { .. } => "DROP TABLE",
        Plan::RefreshMatview(_) => "REFRESH MATERIALIZED VIEW",
        Plan::CreateView { .. } => "CREATE VIEW",
        Plan::CreatePartition { .. } => "CREATE TABLE",
        Plan::PartitionChecks { .. } | Plan::RefreshPartitions { .. } => "ALTER TABLE",
        Plan::DropView { .. } => "DROP VIEW",
        Plan::CreateIndex { .. } => "CREATE INDEX",
        Plan::DropIndex { .. } => "DROP INDEX",
        Plan::Schema(SchemaPlan::Create { .. }) => "CREATE SCHEMA",
        Plan::Schema(SchemaPlan::Drop { .. }) => "DROP SCHEMA",
        Plan::Schema(SchemaPlan::Rename { .. }) => "ALTER SCHEMA",
        Plan::EnumType(crate::enums::EnumPlan::Create { .. }) => "CREATE TYPE",
        Plan::EnumType(crate::enums::EnumPlan::Drop { .. }) => "DROP TYPE",
        Plan::EnumType(_) => "ALTER TYPE",
        Plan::CompositeType(crate::composites::CompositePlan::Create { .. }) => "CREATE TYPE",
        Plan::CompositeType(crate::composites::CompositePlan::Drop { .. }) => "DROP TYPE",
        Plan::Domain(crate::domains::DomainPlan::Create(_)) => "CREATE DOMAIN",
        Plan::Domain(crate::domains::DomainPlan::Drop { .. }) => "DROP DOMAIN",
        Plan::Domain(_) => "ALTER DOMAIN",
        Plan::Function(crate::functions_sql::FunctionPlan::Create { .. }) => "CREATE FUNCTION",
        Plan::Function(crate::functions_sql::FunctionPlan::Drop { procedures: true, .. }) => "DROP PROCEDURE",
        Plan::Function(crate::functions_sql::FunctionPlan::Drop { .. }) => "DROP FUNCTION",
        Plan::Do { .. } => "DO",
        Plan::Trigger(crate::bind::triggers::TriggerPlan::Create { .. }) => "CREATE TRIGGER",
        Plan::Trigger(crate::bind::triggers::TriggerPlan::Drop { .. }) => "DROP TRIGGER",
        Plan::Extension(crate::extensions::ExtensionPlan::Create { .. }) => "CREATE EXTENSION",
        Plan::Extension(crate::extensions::ExtensionPlan::Drop { .. }) => "DROP EXTENSION",
        Plan::RenameTable { tag, .. } | Plan::RenameSequence { tag, .. } | Plan::Redefine { tag, .. } => tag,
        Plan::Reindex(_) => "REINDEX",
        Plan::SetSchema { tag, .. } => tag,
        Plan::DropUniqueConstraint { .. }
        | Plan::DropKeyCascade { .. }
        | Plan::AddPrimaryKey { .. }
        | Plan::AlterColumn(_)
        | Plan::RewriteTable { .. } => "ALTER TABLE",
        Plan::AlterSequence(_) => "ALTER SEQUENCE",
        Plan::Comment(_) => "COMMENT",
        // ALTER TABLE IF EXISTS of a missing table: refused before it finds nothing.
        Plan::Skipped { tag, .. }
            if tag.starts_with("ALTER") || tag.starts_with("DROP") || tag.starts_with("CREATE") =>
        {
            tag
        }
        _ => return None,
    })
}

async fn execute_plan(plan: &Plan, params: &[Datum], txn: &mut Txn) -> Result<QueryResult> {
    // A nested query's plan runs inside its reader's (a CTE, a subquery in FROM).
    crate::stack_depth::check()?;
    // The transaction's and the statement's clocks ride after the parameters (see
    // expr::with_clock).
    // A transaction of one statement starts with it (PostgreSQL's xact and statement start
    // timestamps are then one value).
    let statement_us = if txn.alone { txn.started_us } else { crate::datetime::now_us() };
    let params = &expr::with_clock(params, txn.started_us, statement_us);
    // Queries, which nest (a CTE's or a FROM subquery's plan runs inside its reader's), run
    // from here; every other plan from a boxed future of its own: an unoptimized build gives
    // one poll frame room for every arm's future at once (450 KiB for the whole match), which
    // each nested level would otherwise take again.
    match plan {
        Plan::Select(s)
            if s.for_update.is_none()
                && (crate::plpgsql::any_calls(&s.projection)
                    || s.filter.as_ref().is_some_and(|f| crate::plpgsql::any_calls(std::slice::from_ref(f)))
                    || s.srfs.iter().any(|c| crate::plpgsql::any_calls(&c.args))) =>
        {
            Box::pin(crate::plpgsql::select_per_row(txn, s, params)).await
        }
        Plan::Select(s) if s.for_update.is_none() => select(txn, s, params).await,
        Plan::Query(q) => crate::relation::run(txn, q, params).await,
        _ => Box::pin(execute_statement(plan, params, txn)).await,
    }
}

/// [`execute_plan`] of the plans other than queries; `params` carry the clocks.
async fn execute_statement(plan: &Plan, params: &[Datum], txn: &mut Txn) -> Result<QueryResult> {
    match plan {
        Plan::Empty
        | Plan::Begin { .. }
        | Plan::Commit { .. }
        | Plan::Rollback { .. }
        | Plan::Savepoint(_)
        | Plan::ReleaseSavepoint(_)
        | Plan::RollbackTo(_)
        | Plan::Deallocate(_)
        | Plan::Prepare { .. }
        | Plan::Execute { .. }
        | Plan::Discard(_)
        | Plan::Set { .. }
        | Plan::Sets(_)
        | Plan::LockTables(_)
        | Plan::Reset(_)
        | Plan::Show(_)
        | Plan::SetConfig(_)
        | Plan::Listen(_)
        | Plan::Unlisten(_)
        | Plan::Notify { .. }
        | Plan::ListeningChannels => Ok(QueryResult::default()),
        Plan::CreateTable { def, if_not_exists, sequences, on_commit } => {
            if on_commit.is_some() {
                crate::temp_tables::ensure_schema(txn, crate::schema::split(&def.name).0).await?;
            }
            // In a block, other transactions do not see the table until COMMIT.
            txn.holds_tables |= !txn.alone;
            let r = create_table_with(def, *if_not_exists, sequences, utility::holder(txn)).await?;
            if let (Some(action), Some(made)) = (on_commit, crate::bind::lookup_table(&def.name)) {
                crate::temp_tables::note_on_commit(&def.name, made.oid, *action);
            }
            Ok(r)
        }
        Plan::CreateSequence { def, if_not_exists } => {
            if crate::temp_tables::is_temp_relation(&def.name) {
                crate::temp_tables::ensure_schema(txn, crate::schema::split(&def.name).0).await?;
            }
            let notices = crate::sequence::create(def, *if_not_exists, utility::holder(txn)).await?;
            txn.holds_tables |= !txn.alone;
            Ok(QueryResult { tag: "CREATE SEQUENCE".into(), notices, ..Default::default() })
        }
        Plan::DropSequence { names, if_exists, cascade } => {
            let mut r = QueryResult { tag: "DROP SEQUENCE".into(), ..Default::default() };
            // PostgreSQL checks every name before dropping any.
            for n in names {
                if !crate::sequence::exists_for(n, txn.id).await? {
                    if !if_exists {
                        return Err(SqlError::new(
                            code::UNDEFINED_TABLE,
                            format!("sequence \"{}\" does not exist", crate::schema::relname(n)),
                        ));
                    }
                    r.notices.push(notice(
                        "00000",
                        format!("sequence \"{}\" does not exist, skipping", crate::schema::relname(n)),
                    ));
                    continue;
                }
                // A column DEFAULT calling nextval on it depends on it (2BP01), as in
                // PostgreSQL; CASCADE, which would drop those defaults, is not built.
                let users = crate::sequence::defaults_using(n);
                if !users.is_empty() {
                    let seq = crate::schema::relname(n);
                    if *cascade {
                        return Err(SqlError::unsupported(format!(
                            "DROP SEQUENCE ... CASCADE of a sequence a column default uses ({}) is not supported",
                            users[0]
                        )));
                    }
                    let details: Vec<String> = users.iter().map(|u| format!("{u} depends on sequence {seq}")).collect();
                    return Err(SqlError::new(
                        "2BP01",
                        format!("cannot drop sequence {seq} because other objects depend on it"),
                    )
                    .detail(details.join("\n"))
                    .hint("Use DROP ... CASCADE to drop the dependent objects too."));
                }
            }
            let mut kept = Vec::new();
            if !txn.alone {
                for n in names {
                    kept.extend(crate::sequence::row_of(n).await?.map(|row| undo::Created::DroppedSequence { row }));
                }
            }
            crate::sequence::drop(names).await?;
            undo::keep(txn, kept)?;
            Ok(r)
        }
        Plan::DropTable { names, if_exists, cascade, matview, partition_rows, session } => {
            let mut notices = Vec::new();
            if let Some((rewrites, mut dropped)) =
                crate::foreign_key::drop_cascade(names, *if_exists).filter(|_| *cascade)
            {
                // The other tables' foreign keys that reference them go first (ROLLBACK puts
                // them back as it does an ALTER TABLE's), and the views that read them.
                for (child, def) in &rewrites {
                    txn.holds_tables |= !txn.alone;
                    let (_, kept) =
                        utility::rewrite_columns(txn, child, def, &crate::bind::ColumnChange::Rename).await?;
                    undo::keep(txn, kept)?;
                }
                let deps = views::dependents(names);
                if let Some(first) = deps.iter().map(|v| v.oid).min() {
                    let lines = deps
                        .iter()
                        .map(|v| format!("drop cascades to {} {}", views::kind(v), crate::schema::shown(&v.name)))
                        .collect();
                    dropped.push((first, lines));
                    // Hidden until COMMIT as the tables are (ROLLBACK gives them back, a
                    // materialized view's rows and indexes too).
                    let going: Vec<Arc<TableDef>> = deps.iter().rev().cloned().collect();
                    triggers::drop_of_tables(txn, &going).await?;
                    undo::drop_at_commit(txn, &going).await?;
                }
                notices.extend(crate::foreign_key::cascade_notice(dropped));
            }
            let (mut r, present) = check_drop_tables(names, *if_exists, Some(*matview)).await?;
            r.notices.splice(0..0, notices);
            // A partition's rows are in its root, which stays.
            if !partition_rows.is_empty() {
                for d in present.iter().filter(|d| d.partition_of.is_some()) {
                    hold_partition_root(d, txn).await?;
                }
            }
            for sql in partition_rows {
                run_step(sql, session, &[], txn).await?;
            }
            triggers::drop_of_tables(txn, &present).await?;
            undo::drop_at_commit(txn, &present).await?;
            Ok(r)
        }
        Plan::CreateView { def, or_replace, made_temp } => {
            if crate::temp_tables::is_temp_relation(&def.name) {
                crate::temp_tables::ensure_schema(txn, crate::schema::split(&def.name).0).await?;
            }
            // OR REPLACE of a view: ROLLBACK puts the old one back.
            let old = crate::bind::lookup_table(&def.name).filter(|d| *or_replace && d.view.is_some());
            txn.holds_tables |= !txn.alone;
            let mut r = views::create_view(def, *or_replace, utility::holder(txn)).await?;
            if *made_temp {
                r.notices.push(views::temporary_view_notice(crate::schema::split(&def.name).1));
            }
            let old = old.map(|d| undo::Created::Dropped { def: Box::new((*d).clone()), rows: Vec::new() });
            undo::keep(txn, old.into_iter().collect())?;
            Ok(r)
        }
        Plan::CreatePartition { def, checks, session } => {
            partition_checks(checks, session, txn).await?;
            txn.holds_tables |= !txn.alone;
            hold_partition_root(def, txn).await?;
            let mut r = views::create_view(def, false, utility::holder(txn)).await?;
            r.tag = "CREATE TABLE".into();
            Ok(r)
        }
        Plan::RefreshPartitions { inner, root } => {
            let r = Box::pin(execute_plan(inner, params, txn)).await?;
            let Some(root) = crate::bind::lookup_table(root) else { return Ok(r) };
            for d in crate::partitions::descendants(&root.name) {
                let columns: Vec<orbit_engine::table::ColumnDef> = root
                    .columns
                    .iter()
                    .map(|c| orbit_engine::table::ColumnDef {
                        identity: orbit_engine::table::Identity::No,
                        ..c.clone()
                    })
                    .collect();
                if columns == d.columns {
                    continue;
                }
                // Dropped and created again, as CREATE OR REPLACE VIEW replaces a view; ROLLBACK
                // puts the old definition back.
                txn.holds_tables |= !txn.alone;
                let new = TableDef { columns, ..(*d).clone() };
                crate::exec::drop_relations(std::slice::from_ref(&d.name)).await?;
                create_table(new, false).await?;
                undo::keep(txn, vec![undo::Created::Dropped { def: Box::new((*d).clone()), rows: Vec::new() }])?;
            }
            Ok(r)
        }
        Plan::PartitionChecks { checks, session, hold } => {
            if let Some(root) = hold.as_deref().and_then(crate::bind::lookup_table) {
                hold_partition_root(&root, txn).await?;
            }
            partition_checks(checks, session, txn).await?;
            Ok(QueryResult { tag: "ALTER TABLE".into(), ..Default::default() })
        }
        Plan::DropView { names, if_exists, cascade } => {
            // Hidden until COMMIT as DROP TABLE's tables are: what reads them first (a
            // materialized view with its rows and indexes), then the views named.
            let (r, present, mut going) = views::check_drop_views(names, *if_exists, *cascade)?;
            going.extend(present.iter().filter_map(|n| crate::bind::lookup_table(n)));
            if !going.is_empty() {
                triggers::drop_of_tables(txn, &going).await?;
                undo::drop_at_commit(txn, &going).await?;
            }
            Ok(r)
        }
        Plan::Insert { table, .. } | Plan::Update { table, .. } | Plan::Delete { table, .. }
            if crate::catalog::is_view(table) =>
        {
            Err(crate::catalog::read_only(table))
        }
        // A partition holds no rows of its own: writes reach its root through it as through a
        // view (`crate::partitions`); a statement that did not is refused, not written aside.
        Plan::Insert { table, .. } | Plan::Update { table, .. } | Plan::Delete { table, .. }
            if table.partition_of.is_some() =>
        {
            Err(crate::partitions::unsupported("this statement on a partition"))
        }
        Plan::Insert { table, .. } | Plan::Update { table, .. } | Plan::Delete { table, .. }
            if table.matview.is_some() && txn.writing_matview.as_deref() != Some(&table.name) =>
        {
            Err(crate::bind::matviews::cannot_change(table))
        }
        Plan::RefreshMatview(refresh) => {
            txn.holds_tables |= !txn.alone;
            matviews::refresh(txn, refresh).await
        }
        Plan::Truncate(tables, ..) if tables.iter().any(|t| crate::catalog::is_view(t)) => {
            Err(crate::catalog::read_only(tables.iter().find(|t| crate::catalog::is_view(t)).expect("found")))
        }
        Plan::Explain { inner, lines, analyze, redraw, format } => {
            let mut lines = lines.clone();
            if *analyze {
                let started = std::time::Instant::now();
                // The executor notes the rows of the plan's inputs and join steps meanwhile.
                let watch = crate::explain::Watch::start(inner);
                let r = Box::pin(execute(inner, params, txn)).await?;
                let actuals = watch.finish();
                let n = if r.rows.is_empty() {
                    r.tag.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0)
                } else {
                    r.rows.len()
                };
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                match redraw {
                    Some(d) => lines = crate::explain::analyzed_lines(inner, d, &actuals, n as u64, ms)?,
                    None => {
                        if let Some(first) = lines.first_mut() {
                            first.push_str(&format!("  (actual rows={n})"));
                        }
                        lines.push(format!("Execution Time: {ms:.3} ms"));
                    }
                }
            }
            let json = *format == crate::explain::Format::Json;
            let rows: Vec<Row> =
                lines.into_iter().map(|l| vec![if json { Datum::Json(l) } else { Datum::Text(l) }]).collect();
            Ok(QueryResult { rows, tag: "EXPLAIN".into(), notices: vec![] })
        }
        // (Without FOR UPDATE / SHARE it ran in execute_plan.)
        Plan::Select(s) => lock_rows::select_for_update(txn, s, params).await,
        Plan::Query(_) => Err(SqlError::internal("a query runs from execute_plan")),
        Plan::Insert { table, rows, select: source, on_conflict, returning, checks }
            if rows.iter().any(|r| crate::plpgsql::any_calls(r)) =>
        {
            // VALUES calling PL/pgSQL functions: the calls made first, row by row.
            let mut rows = rows.clone();
            crate::plpgsql::resolve_rows(txn, &mut rows, params).await?;
            let plan = Plan::Insert {
                table: table.clone(),
                rows,
                select: source.clone(),
                on_conflict: on_conflict.clone(),
                returning: returning.clone(),
                checks: checks.clone(),
            };
            Box::pin(execute_statement(&plan, params, txn)).await
        }
        Plan::Trigger(p) => triggers::run(txn, p).await,
        Plan::Do { body } => {
            crate::plpgsql::do_block(txn, body).await?;
            Ok(QueryResult { tag: "DO".into(), ..Default::default() })
        }
        Plan::Call { query, outputs } => {
            let r = Box::pin(execute(query, params, txn)).await?;
            let value = r.rows.into_iter().next().and_then(|row| row.into_iter().next()).unwrap_or(Datum::Null);
            // The procedure's OUT parameters: one row of them.
            let rows = match (outputs, value) {
                (0, _) => vec![],
                (1, v) => vec![vec![v]],
                (n, Datum::Record(fields)) => vec![fields.into_iter().take(*n).collect()],
                (n, _) => vec![vec![Datum::Null; *n]],
            };
            Ok(QueryResult { rows, tag: "CALL".into(), notices: vec![] })
        }
        Plan::Insert { table, rows, select: source, on_conflict, returning, checks } => {
            let source = source.as_deref().map(|(q, row)| (q, row.as_slice()));
            let written = Written { returning: returning.as_deref(), checks };
            insert(txn, table, rows, source, on_conflict.as_ref(), written, params).await
        }
        Plan::Update { table, filter, key, sets, returning, join: None, current_of, checks } => {
            let rows = match current_of {
                Some(c) => Rows::Current(c, txn.cursors.borrow().current_of(c, table)?),
                None => Rows::Filter(filter.as_ref(), key.as_deref()),
            };
            update(txn, table, rows, sets, Written { returning: returning.as_deref(), checks }, params).await
        }
        Plan::Update { table, filter, sets, returning, join: Some(join), checks, .. } => {
            let written = Written { returning: returning.as_deref(), checks };
            modify_join::update_from(txn, table, join, filter.as_ref(), sets, written, params).await
        }
        Plan::Delete { table, filter, key, returning, join: None, current_of } => {
            let rows = match current_of {
                Some(c) => Rows::Current(c, txn.cursors.borrow().current_of(c, table)?),
                None => Rows::Filter(filter.as_ref(), key.as_deref()),
            };
            delete(txn, table, rows, returning.as_deref(), params).await
        }
        Plan::Merge(m) => merge::merge(txn, m, params).await,
        Plan::Delete { table, filter, returning, join: Some(join), .. } => {
            modify_join::delete_using(txn, table, join, filter.as_ref(), returning.as_deref(), params).await
        }
        Plan::Skipped { tag, notice } => {
            // A notice's first line is its message, the rest its DETAIL.
            let notices = match notice.split_once('\n') {
                _ if notice.is_empty() => vec![],
                Some((message, detail)) => vec![SqlError::new("00000", message.to_string()).detail(detail.to_string())],
                None => vec![SqlError::new("00000", notice.clone())],
            };
            Ok(QueryResult { tag: tag.to_string(), notices, ..Default::default() })
        }
        Plan::SetConstraints { names, deferred } => {
            let mut r = QueryResult { tag: "SET CONSTRAINTS".into(), ..Default::default() };
            if txn.alone {
                r.notices.push(SqlError::new(
                    code::NO_ACTIVE_SQL_TRANSACTION,
                    "SET CONSTRAINTS can only be used in transaction blocks",
                ));
            }
            crate::foreign_key::set_constraints(txn, names.as_deref(), *deferred).await?;
            Ok(r)
        }
        Plan::Copy(_) => Err(SqlError::internal("COPY runs through the connection's copy sub-protocol")),
        Plan::ExplainExecute { .. } => Err(SqlError::internal("EXPLAIN EXECUTE runs through the connection")),
        Plan::Maintenance { analyze, tables, columns, tag, statistics_target, .. } => {
            utility::maintenance(*analyze, tables, columns, tag, *statistics_target).await
        }
        Plan::CreateIndex { table, index, if_not_exists, .. } => {
            txn.holds_tables |= !txn.alone;
            let mut r = indexes::create_index(txn, table, index, *if_not_exists).await?;
            // ALTER TABLE ... ADD CONSTRAINT ... UNIQUE builds its index the same way.
            if index.constraint {
                r.tag = "ALTER TABLE".into();
            }
            Ok(r)
        }
        Plan::DropIndex { names, if_exists } => {
            txn.holds_tables |= !txn.alone;
            let (r, kept) = indexes::drop_index(txn, names, *if_exists).await?;
            undo::keep(txn, kept)?;
            Ok(r)
        }
        Plan::DropUniqueConstraint { table, name } => {
            txn.holds_tables |= !txn.alone;
            let mut kept: Vec<undo::Created> =
                indexes::remove_from_table(txn, table, name).await?.into_iter().collect();
            kept.extend(indexes::drop_kept(txn, name).await?);
            txn.forget_writes(name);
            undo::keep(txn, kept)?;
            Ok(QueryResult { tag: "ALTER TABLE".into(), ..Default::default() })
        }
        Plan::Schema(p) => schema::run(txn, p).await,
        Plan::Comment(p) => comment::run(txn, p).await,
        Plan::DeclareCursor { declare, query } => {
            // Outside a block a cursor without HOLD would close as its DECLARE commits.
            if txn.alone && !declare.hold {
                return Err(SqlError::new("25P01", "DECLARE CURSOR can only be used in transaction blocks"));
            }
            let r = Box::pin(execute_plan(query, params, txn)).await?;
            let limit = txn.memory().limit();
            let (id, savepoints) = (txn.id, txn.savepoint_count());
            txn.cursors.borrow_mut().declare(declare, r.rows, id, savepoints, limit)?;
            Ok(QueryResult { tag: "DECLARE CURSOR".into(), notices: r.notices, ..Default::default() })
        }
        Plan::Fetch { name, op, is_move } => {
            let mut rows = Vec::new();
            let n = txn.cursors.borrow_mut().fetch(name, *op, (!is_move).then_some(&mut rows))?;
            let tag = format!("{} {n}", if *is_move { "MOVE" } else { "FETCH" });
            Ok(QueryResult { rows, tag, ..Default::default() })
        }
        Plan::CloseCursor(name) => {
            txn.cursors.borrow_mut().close(name.as_deref())?;
            Ok(QueryResult {
                tag: if name.is_some() { "CLOSE CURSOR" } else { "CLOSE CURSOR ALL" }.into(),
                ..Default::default()
            })
        }
        // A block's ALTER marks the type's entry as its own until it ends (`utility::holder`):
        // the end must release it, or every later use of the type waits for a transaction
        // that is gone.
        Plan::EnumType(p) => {
            txn.holds_tables |= !txn.alone;
            enum_types::run(txn, p).await
        }
        Plan::CompositeType(p) => {
            txn.holds_tables |= !txn.alone;
            composite_types::run(txn, p).await
        }
        Plan::Domain(p) => {
            txn.holds_tables |= !txn.alone;
            domains::run(txn, p).await
        }
        Plan::Function(p) => {
            txn.holds_tables |= !txn.alone;
            functions::run(txn, p).await
        }
        Plan::Extension(p) => {
            txn.holds_tables |= !txn.alone;
            extensions::run(txn, p).await
        }
        Plan::RenameSequence { name, new_name, tag } => {
            txn.holds_tables |= !txn.alone;
            rename::rename_sequence(txn, name, new_name).await?;
            undo::keep(txn, vec![undo::Created::SequenceRenamed { from: name.clone(), to: new_name.clone() }])?;
            Ok(QueryResult { tag: tag.to_string(), ..Default::default() })
        }
        Plan::RenameTable { table, new_name, tag } => {
            txn.holds_tables |= !txn.alone;
            let mut r = match crate::bind::index_owner(table) {
                Some(base) => rename::rename_index(txn, &base, table, new_name).await?,
                None => {
                    let r = rename::rename_table(txn, table, new_name).await?;
                    triggers::rename_of_table(txn, &table.name, new_name).await?;
                    r
                }
            };
            r.tag = tag.to_string();
            // ROLLBACK renames it back (before it drops what was created under the old name).
            let renamed = undo::Created::Renamed { from: table.name.clone(), to: new_name.clone(), oid: table.oid };
            undo::keep(txn, vec![renamed])?;
            Ok(r)
        }
        Plan::SetSchema { renames, tag } => {
            txn.holds_tables |= !txn.alone;
            // The relation first, then its indexes (each under its table's new name); ROLLBACK
            // takes them back newest first.
            for (k, (def, new_name)) in renames.iter().enumerate() {
                let now = crate::bind::lookup_table(&def.name).filter(|d| d.oid == def.oid);
                let Some(now) = now else {
                    return Err(SqlError::new(
                        code::UNDEFINED_TABLE,
                        format!("relation \"{}\" does not exist", def.name),
                    ));
                };
                match crate::bind::index_owner(&now).filter(|_| k > 0) {
                    Some(base) => rename::rename_index(txn, &base, &now, new_name).await?,
                    None => {
                        let r = rename::rename_table(txn, &now, new_name).await?;
                        triggers::rename_of_table(txn, &now.name, new_name).await?;
                        r
                    }
                };
                let renamed = undo::Created::Renamed { from: now.name.clone(), to: new_name.clone(), oid: now.oid };
                undo::keep(txn, vec![renamed])?;
            }
            Ok(QueryResult { tag: tag.to_string(), ..Default::default() })
        }
        Plan::Reindex(p) => {
            txn.holds_tables |= !txn.alone;
            indexes::reindex(txn, p).await
        }
        Plan::Redefine { table, def, tag } => {
            txn.holds_tables |= !txn.alone;
            let kept: Vec<undo::Created> =
                indexes::swap_definition(txn, table, def.clone()).await?.into_iter().collect();
            undo::keep(txn, kept)?;
            Ok(QueryResult { tag: tag.to_string(), ..Default::default() })
        }
        Plan::Steps { first, rest, select_tag, session } => {
            // The steps run as a block's statements: each one's undo is kept, so an error in a
            // later one takes the earlier ones back with the transaction.
            let alone = std::mem::replace(&mut txn.alone, false);
            let r = steps(first, rest, *select_tag, session, params, txn).await;
            txn.alone = alone;
            r
        }
        Plan::DropKeyCascade { children, lines, then } => {
            txn.holds_tables |= !txn.alone;
            let notice = utility::drop_foreign_keys(txn, children, lines).await?;
            let mut r = Box::pin(execute_plan(then, params, txn)).await?;
            r.notices.extend(notice);
            Ok(r)
        }
        Plan::AlterColumn(ac) => {
            txn.holds_tables |= !txn.alone;
            alter_column::alter_column(txn, ac).await
        }
        Plan::AlterSequence(a) => alter_column::alter_sequence(txn, a).await,
        Plan::AddPrimaryKey { table, columns, name } => {
            txn.holds_tables |= !txn.alone;
            let (r, kept) = utility::add_primary_key(txn, table, columns, name).await?;
            undo::keep(txn, kept)?;
            Ok(r)
        }
        Plan::RewriteTable { table, def, change } => {
            txn.holds_tables |= !txn.alone;
            crate::foreign_key::validate_new(txn, table, def).await?;
            let (mut r, kept) = if drop_key::drops_key_with_indexes(table, def) {
                drop_key::rewrite(txn, table, def, change).await?
            } else {
                utility::rewrite_columns(txn, table, def, change).await?
            };
            undo::keep(txn, kept)?;
            // RENAME COLUMN: the views reading the column get their queries written again, the
            // triggers naming it name the new name.
            if let crate::bind::ColumnChange::RenameInViews(views) = change {
                rename::follow_in_views(txn, views.clone()).await?;
            }
            if matches!(change, crate::bind::ColumnChange::Rename | crate::bind::ColumnChange::RenameInViews(_)) {
                for (o, n) in table.columns.iter().zip(&def.columns) {
                    if o.name != n.name {
                        triggers::rename_column(txn, &table.name, &o.name, &n.name).await?;
                    }
                }
            }
            // DROP COLUMN of a referenced table: the references' column numbers follow (with
            // CASCADE, those on the column go).
            if let crate::bind::ColumnChange::Drop(i) = change {
                let (children, lines) = crate::foreign_key::after_drop_column(table, *i);
                r.notices.extend(crate::foreign_key::cascade_notice(lines));
                for (child, new) in children {
                    let (_, kept) =
                        utility::rewrite_columns(txn, &child, &new, &crate::bind::ColumnChange::Rename).await?;
                    undo::keep(txn, kept)?;
                }
            }
            Ok(r)
        }
        Plan::Truncate(tables, cascaded, restart) => {
            txn.check_writable("TRUNCATE TABLE")?;
            let order = crate::foreign_key::truncate_order(tables)?;
            // TRUNCATE fires its own statement triggers, before any table is emptied and
            // after all are; no DELETE trigger.
            let fired: Vec<crate::triggers::Fired> = order
                .iter()
                .filter_map(|t| crate::triggers::Fired::of(t, crate::triggers::Op::Truncate, &[]))
                .collect();
            for f in &fired {
                f.statement(txn, true).await?;
            }
            for t in &order {
                delete_rows(txn, t, Rows::Filter(None, None), None, params, false).await?;
            }
            for f in &fired {
                f.statement(txn, false).await?;
            }
            if *restart {
                // As ALTER SEQUENCE ... RESTART of each owned sequence: undone by ROLLBACK.
                for t in tables {
                    for name in crate::sequence::owned_by_table(&t.name).await? {
                        let changes = crate::sequence::SeqChanges::default();
                        let row = crate::sequence::alter(&name, changes, Some(None), Some(txn.id)).await?;
                        undo::keep(txn, vec![undo::Created::DroppedSequence { row }])?;
                    }
                }
            }
            let notices =
                cascaded.iter().map(|n| notice("00000", format!("truncate cascades to table \"{n}\""))).collect();
            Ok(QueryResult { tag: "TRUNCATE TABLE".into(), notices, ..Default::default() })
        }
    }
}

/// [`Plan::Steps`]: the first plan, then each later statement bound (against the catalog the
/// steps before left) and run.
async fn steps(
    first: &Plan,
    rest: &[String],
    select_tag: bool,
    session: &(i32, String),
    params: &[Datum],
    txn: &mut Txn,
) -> Result<QueryResult> {
    let r = Box::pin(execute(first, params, txn)).await?;
    // CREATE TABLE IF NOT EXISTS found the table: nothing of the later steps is its.
    let found = matches!(first, Plan::CreateTable { if_not_exists: true, .. })
        && r.notices.iter().any(|n| n.code == code::DUPLICATE_TABLE);
    if found && !select_tag {
        return Ok(r);
    }
    // CREATE MATERIALIZED VIEW: its INSERT is the one write of it besides REFRESH.
    let matview = match first {
        Plan::CreateTable { def, .. } if def.matview.is_some() => Some(def.name.clone()),
        _ => None,
    };
    if select_tag && (!r.notices.is_empty() || rest.is_empty()) {
        // CREATE TABLE IF NOT EXISTS ... AS found the table, or WITH NO DATA: nothing is
        // inserted.
        let tag = if matview.is_some() { "CREATE MATERIALIZED VIEW" } else { "CREATE TABLE AS" };
        return Ok(QueryResult { tag: tag.into(), ..r });
    }
    let writing = std::mem::replace(&mut txn.writing_matview, matview);
    let r = steps_rest(r, rest, select_tag, session, params, txn).await;
    txn.writing_matview = writing;
    r
}

/// The later steps of [`steps`] (`r`: the first one's result).
async fn steps_rest(
    mut r: QueryResult,
    rest: &[String],
    select_tag: bool,
    session: &(i32, String),
    params: &[Datum],
    txn: &mut Txn,
) -> Result<QueryResult> {
    for sql in rest {
        let more = run_step(sql, session, params, txn).await?;
        r.notices.extend(more.notices);
        if select_tag {
            r.tag = format!("SELECT {}", more.tag.rsplit(' ').next().unwrap_or("0"));
        }
    }
    Ok(r)
}

/// One step of a statement that runs others (`Plan::Steps`, REFRESH MATERIALIZED VIEW): `sql`
/// bound as the statement's `session` (binding does not yield: no other session of the shard
/// binds in between), then run in its transaction.
pub(super) async fn run_step(
    sql: &str,
    session: &(i32, String),
    params: &[Datum],
    txn: &mut Txn,
) -> Result<QueryResult> {
    crate::relation_lock::bind_as(Some(txn.id));
    crate::settings::bind_with(txn.settings.clone());
    crate::schema::use_search_path(&session.1);
    crate::catalog::use_binding_pid(session.0);
    let step = crate::bind::prepare(sql, &[])?;
    Box::pin(execute(&step.plan, params, txn)).await
}

fn notice(code: &'static str, msg: String) -> SqlError {
    SqlError::new(code, msg)
}

/// CREATE TABLE with the sequences of its SERIAL/IDENTITY columns (created first; dropped
/// again if the table is not created). A sequence's name cannot be a table's.
async fn create_table_with(
    def: &orbit_engine::table::TableDef,
    if_not_exists: bool,
    sequences: &[crate::sequence::SeqDef],
    pending: Option<Owner>,
) -> Result<QueryResult> {
    if crate::sequence::exists(&def.name).await? {
        if if_not_exists {
            let mut r = QueryResult { tag: "CREATE TABLE".into(), ..Default::default() };
            r.notices.push(notice(
                code::DUPLICATE_TABLE,
                format!("relation \"{}\" already exists, skipping", crate::schema::relname(&def.name)),
            ));
            return Ok(r);
        }
        return Err(SqlError::new(
            code::DUPLICATE_TABLE,
            format!("relation \"{}\" already exists", crate::schema::relname(&def.name)),
        ));
    }
    if crate::bind::lookup_table(&def.name).is_some() {
        return create_table_as(def.clone(), if_not_exists, pending).await;
    }
    // Its indexes' tables first: a crash before the table leaves indexes of no table (DROP
    // INDEX removes them), never a table without its indexes.
    let mut indexes = Vec::new();
    for ix in &def.indexes {
        if let Err(e) = create_table_as(def.index_table(ix), false, pending).await {
            drop_relations(&indexes).await?;
            return Err(e);
        }
        indexes.push(ix.name.clone());
    }
    let r = create_table_and_sequences(def, if_not_exists, sequences, pending).await;
    if !matches!(&r, Ok(r) if r.notices.is_empty()) {
        drop_relations(&indexes).await?;
    }
    r
}

async fn create_table_and_sequences(
    def: &orbit_engine::table::TableDef,
    if_not_exists: bool,
    sequences: &[crate::sequence::SeqDef],
    pending: Option<Owner>,
) -> Result<QueryResult> {
    if sequences.is_empty() {
        return create_table_as(def.clone(), if_not_exists, pending).await;
    }
    let mut made = Vec::new();
    for seq in sequences {
        if let Err(e) = crate::sequence::create(seq, false, pending).await {
            crate::sequence::drop(&made).await?;
            return Err(e);
        }
        made.push(seq.name.clone());
    }
    match create_table_as(def.clone(), if_not_exists, pending).await {
        Ok(r) if r.notices.is_empty() => Ok(r),
        other => {
            crate::sequence::drop(&made).await?;
            other
        }
    }
}

pub(crate) async fn create_table(def: orbit_engine::table::TableDef, if_not_exists: bool) -> Result<QueryResult> {
    create_table_as(def, if_not_exists, None).await
}

/// CREATE TABLE of a relation that, with `pending`, that open block's transaction alone sees
/// until it ends ([`crate::relation_lock`]; marked in the same step as the create on each shard).
pub(crate) async fn create_table_as(
    mut def: orbit_engine::table::TableDef,
    if_not_exists: bool,
    pending: Option<Owner>,
) -> Result<QueryResult> {
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
        mark_created(s, &d.name, pending);
        Ok(Some((d, generation, ticket)))
    })
    .await
    .map_err(gone)??;
    let Some((arc, generation, ticket0)) = created else {
        if if_not_exists {
            let mut r = QueryResult { tag: "CREATE TABLE".into(), ..Default::default() };
            r.notices.push(notice(
                code::DUPLICATE_TABLE,
                format!("relation \"{}\" already exists, skipping", crate::schema::relname(&name)),
            ));
            return Ok(r);
        }
        return Err(SqlError::new(
            code::DUPLICATE_TABLE,
            format!("relation \"{}\" already exists", crate::schema::relname(&name)),
        ));
    };
    def.oid = arc.oid;
    owner_decided(ticket0, &arc.name).await?;
    let tickets = mesh::run_on_all(move |s| {
        if s.id != 0 {
            let ticket = shard_tables::create(s, arc.clone(), generation).1;
            mark_created(s, &arc.name, pending);
            return ticket;
        }
        None
    })
    .await
    .map_err(gone)?;
    durable(tickets.into_iter().flatten().collect()).await?;
    Ok(QueryResult { tag: "CREATE TABLE".into(), ..Default::default() })
}

/// Marks table `name` as created by the open block `pending` (if any).
fn mark_created(s: &mut orbit_shards::state::Shard, name: &str, pending: Option<Owner>) {
    if let (Some(o), Some(t)) = (pending, s.tables.get_mut(name)) {
        t.created_by = Some(o);
    }
}

/// DROP TABLE at once (the undo of a CREATE TABLE).
async fn drop_tables(names: &[String], if_exists: bool) -> Result<QueryResult> {
    let (r, present) = check_drop_tables(names, if_exists, Some(false)).await?;
    drop_tables_now(&present).await?;
    Ok(r)
}

/// PostgreSQL's checks of DROP TABLE, every name before dropping any: the reply (with its
/// notices) and the tables to drop.
/// `matview`: DROP MATERIALIZED VIEW's (of materialized views only: Some(true)), DROP TABLE's
/// (Some(false)) or either (None: DROP SCHEMA ... CASCADE).
async fn check_drop_tables(
    names: &[String],
    if_exists: bool,
    matview: Option<bool>,
) -> Result<(QueryResult, Vec<Arc<TableDef>>)> {
    let what = if matview == Some(true) { "materialized view" } else { "table" };
    let tag = if matview == Some(true) { "DROP MATERIALIZED VIEW" } else { "DROP TABLE" };
    let mut r = QueryResult { tag: tag.into(), ..Default::default() };
    // PostgreSQL checks every name before dropping any.
    let list = names.to_vec();
    let found: Vec<Option<Arc<TableDef>>> =
        mesh::run_on(0, move |s| list.iter().map(|n| s.tables.def(n)).collect()).await.map_err(gone)?;
    let mut missing = Vec::new();
    for (name, def) in names.iter().zip(&found) {
        match def {
            None => missing.push(name.clone()),
            Some(d)
                if d.index_of.is_some()
                    || (d.view.is_some() && d.partition_of.is_none())
                    || matview.is_some_and(|m| d.matview.is_some() != m) =>
            {
                let hint = if d.index_of.is_some() {
                    "Use DROP INDEX to remove an index."
                } else if d.view.is_some() {
                    "Use DROP VIEW to remove a view."
                } else if d.matview.is_some() {
                    "Use DROP MATERIALIZED VIEW to remove a materialized view."
                } else {
                    "Use DROP TABLE to remove a table."
                };
                return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{name}\" is not a {what}")).hint(hint));
            }
            Some(_) => {}
        }
    }
    if let Some(m) = missing.first() {
        if !if_exists {
            return Err(SqlError::new(
                code::UNDEFINED_TABLE,
                format!("{what} \"{}\" does not exist", crate::schema::relname(m)),
            ));
        }
        for m in &missing {
            r.notices
                .push(notice("00000", format!("{what} \"{}\" does not exist, skipping", crate::schema::relname(m))));
        }
    }
    let present: Vec<String> = names.iter().filter(|n| !missing.contains(n)).cloned().collect();
    if !present.is_empty() {
        views::check_dependents(what, &present, false, &mut r)?;
    }
    let defs: Vec<Arc<TableDef>> = found.into_iter().flatten().filter(|d| present.contains(&d.name)).collect();
    crate::foreign_key::check_drop(&defs)?;
    Ok((r, defs))
}

/// Drops tables, their indexes and their sequences, durably.
pub(crate) async fn drop_tables_now(tables: &[Arc<TableDef>]) -> Result<()> {
    let names: Vec<String> = tables.iter().map(|d| d.name.clone()).collect();
    let indexes: Vec<String> = tables.iter().flat_map(|d| d.indexes.iter().map(|x| x.name.clone())).collect();
    drop_relations(&names).await?;
    // Then the tables' indexes (a crash in between leaves indexes of no table: DROP INDEX
    // removes them).
    drop_relations(&indexes).await?;
    for name in &names {
        crate::sequence::drop_owned(name).await?;
    }
    Ok(())
}

/// Drops the relations (tables, indexes' tables) of these names on every shard, durably;
/// names that do not exist are skipped.
pub(crate) async fn drop_relations(names: &[String]) -> Result<()> {
    let mut tickets = Vec::new();
    for name in names {
        let n = name.clone();
        let dropped = mesh::run_on(0, move |s| {
            shard_tables::writable(s).map_err(io_error)?;
            let g = s.tables.next_generation();
            let (dropped, ticket) = shard_tables::drop_table(s, &n, g);
            Ok::<_, SqlError>((dropped.then_some(g), ticket))
        })
        .await
        .map_err(gone)??;
        let Some(generation) = dropped.0 else {
            tickets.extend(dropped.1);
            continue;
        };
        owner_decided(dropped.1, name).await?;
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
    durable(tickets).await
}

fn ctx<'a>(row: &'a [Datum], params: &'a [Datum]) -> Ctx<'a> {
    Ctx { row, params, aggs: &[] }
}

pub(crate) fn matches(filter: Option<&Expr>, row: &[Datum], params: &[Datum]) -> Result<bool> {
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

/// Reads on every shard as the snapshot at `at` sees them (they need no intents: a snapshot never
/// sees part of a commit), or at one moment of the cross-shard order ([`on_every_shard`]).
pub(crate) async fn on_every_shard_at<R, F>(at: Option<u64>, f: F) -> Result<Vec<R>>
where
    R: Send + 'static,
    F: Fn(&mut orbit_shards::state::Shard) -> R + Send + Clone + 'static,
{
    match at {
        Some(_) => mesh::run_on_all(f).await.map_err(gone),
        None => on_every_shard(f).await,
    }
}

/// The error of a read at a snapshot whose row versions are gone.
pub(crate) fn too_old(_: orbit_engine::table::mvcc::TooOld) -> SqlError {
    SqlError::new("72000", "snapshot too old")
}

/// Runs `f` on every shard at one moment of the cross-shard order: with shared intents on every
/// shard when there are several, so that no commit spanning shards is seen in part.
pub(crate) async fn on_every_shard<R, F>(f: F) -> Result<Vec<R>>
where
    R: Send + 'static,
    F: Fn(&mut orbit_shards::state::Shard) -> R + Send + Clone + 'static,
{
    let (_, n) = state::local();
    if n == 1 {
        return mesh::run_on_all(f).await.map_err(gone);
    }
    let intents = (0..n)
        .map(|s| {
            let mut i = Intent::default();
            i.whole(Mode::Shared);
            (s, i.seal())
        })
        .collect();
    let held = orbit_shards::tx::acquire(intents).await.map_err(gone)?;
    let r = mesh::run_on_all(f).await.map_err(gone);
    held.release().await;
    r
}

/// The committed row at `key` of `table` if it passes `filter`, as the snapshot at `at` sees it
/// (None: the latest): one step on its shard, unless a commit spanning shards holds the row
/// (then after it; a snapshot read needs no wait).
pub(crate) async fn read_key(
    table: &Arc<TableDef>,
    k: Vec<u8>,
    filter: Option<&Expr>,
    params: &[Datum],
    at: Option<u64>,
) -> Result<Option<Row>> {
    let (_, n) = state::local();
    let shard = shard_of_key(&k, n);
    let key_copy = k.clone();
    let (name, oid) = (table.name.clone(), table.oid);
    let filter = filter.cloned();
    let params = params.to_vec();
    let read = move |s: &mut orbit_shards::state::Shard, check: bool| {
        if check && at.is_none() && s.tx.blocks(false, std::iter::once((sql_db(oid), k.as_slice()))) {
            return Ok(Err(()));
        }
        let t = s.tables.get(&name).ok_or_else(|| no_table(&name))?;
        match t.get_at(&k, at).map_err(too_old)? {
            Some(row) if matches(filter.as_ref(), row, &params)? => Ok(Ok(Some(row.clone()))),
            _ => Ok(Ok(None)),
        }
    };
    let first = read.clone();
    match mesh::run_on(shard, move |s| first(s, true)).await.map_err(gone)?? {
        Ok(r) => Ok(r),
        Err(()) => {
            let mut i = Intent::default();
            i.add_key(sql_db(table.oid), &key_copy, Mode::Shared);
            let held = orbit_shards::tx::acquire(vec![(shard, i.seal())]).await.map_err(gone)?;
            let r = mesh::run_on(shard, move |s| read(s, false)).await.map_err(gone);
            held.release().await;
            Ok(r??.unwrap_or(None))
        }
    }
}

/// Rows (with their keys) of `table` that pass `filter` as this transaction sees them: the
/// committed rows (from one shard when `key` pins the row, else from every shard) overlaid
/// with the transaction's own changes.
pub(crate) async fn scan(
    txn: &Txn,
    table: &Arc<TableDef>,
    filter: Option<&Expr>,
    key: Option<&[Expr]>,
    params: &[Datum],
) -> Result<Vec<(Vec<u8>, Row)>> {
    scan_columns(txn, table, filter, key, params, None).await
}

/// [`scan`] as a sequential scan: every shard's whole part read, whatever key or index could
/// serve the filter (`enable_indexscan = off`, [`index_scan::Paths`]).
pub(crate) async fn seq_scan(
    txn: &Txn,
    table: &Arc<TableDef>,
    filter: Option<&Expr>,
    params: &[Datum],
) -> Result<Vec<(Vec<u8>, Row)>> {
    let rows = scan_whole_rows(txn, table, filter, Read::Whole, params, None, None).await?;
    let mut held = crate::memory::Held::new(txn.memory(), "rows from shards");
    held.add(rows.iter().map(|(k, r)| k.len() + crate::memory::row_bytes(r)).sum())?;
    held.keep();
    Ok(rows)
}

/// [`scan`], each row cut to the columns `cols` (in that order; None: all of them) where it is
/// read: the filter sees whole rows, the shards send only those columns (a join's scans ask for
/// the columns the rest of its plan reads, [`crate::join`]).
pub(crate) async fn scan_columns(
    txn: &Txn,
    table: &Arc<TableDef>,
    filter: Option<&Expr>,
    key: Option<&[Expr]>,
    params: &[Datum],
    cols: Option<Arc<[usize]>>,
) -> Result<Vec<(Vec<u8>, Row)>> {
    scan_reduced(txn, table, filter, key, params, cols, None).await
}

/// [`scan_columns`], the shards sending only the rows whose join keys are in `reduce` (a join's
/// key reduction, [`crate::join`]; rows read another way come back all).
pub(crate) async fn scan_reduced(
    txn: &Txn,
    table: &Arc<TableDef>,
    filter: Option<&Expr>,
    key: Option<&[Expr]>,
    params: &[Datum],
    cols: Option<Arc<[usize]>>,
    reduce: Option<Arc<crate::join_key::Reduce>>,
) -> Result<Vec<(Vec<u8>, Row)>> {
    let rows = scan_rows(txn, table, filter, key, params, cols, reduce).await?;
    // The rows the shards sent back are held here until the statement has used them.
    let mut held = crate::memory::Held::new(txn.memory(), "rows from shards");
    held.add(rows.iter().map(|(k, r)| k.len() + crate::memory::row_bytes(r)).sum())?;
    held.keep();
    Ok(rows)
}

/// `row` cut to the columns `cols` (None: all of them).
pub(crate) fn narrow(row: &[Datum], cols: Option<&[usize]>) -> Row {
    match cols {
        Some(cols) => cols.iter().map(|&c| row.get(c).cloned().unwrap_or(Datum::Null)).collect(),
        None => row.to_vec(),
    }
}

async fn scan_rows(
    txn: &Txn,
    table: &Arc<TableDef>,
    filter: Option<&Expr>,
    key: Option<&[Expr]>,
    params: &[Datum],
    cols: Option<Arc<[usize]>>,
    reduce: Option<Arc<crate::join_key::Reduce>>,
) -> Result<Vec<(Vec<u8>, Row)>> {
    let other_path = crate::relation::is_derived(table)
        || crate::catalog::is_view(table)
        || key.is_some()
        || filter.is_some_and(|f| index_scan::choose(table, f).is_some());
    if other_path {
        let rows = scan_whole_rows(txn, table, filter, Read::of(key), params, None, None).await?;
        return Ok(match cols {
            Some(c) => rows.into_iter().map(|(k, r)| (k, narrow(&r, Some(&c)))).collect(),
            None => rows,
        });
    }
    scan_whole_rows(txn, table, filter, Read::of(key), params, cols, reduce).await
}

/// How [`scan_whole_rows`] reads a stored table.
#[derive(Clone, Copy)]
enum Read<'a> {
    /// The one row whose primary key these values make.
    Key(&'a [Expr]),
    /// Through an index or a primary-key range where one serves the filter, else whole.
    Best,
    /// Every shard's whole part (a sequential scan).
    Whole,
}

impl<'a> Read<'a> {
    fn of(key: Option<&'a [Expr]>) -> Read<'a> {
        key.map_or(Read::Best, Read::Key)
    }
}

async fn scan_whole_rows(
    txn: &Txn,
    table: &Arc<TableDef>,
    filter: Option<&Expr>,
    read: Read<'_>,
    params: &[Datum],
    cols: Option<Arc<[usize]>>,
    reduce: Option<Arc<crate::join_key::Reduce>>,
) -> Result<Vec<(Vec<u8>, Row)>> {
    let index_paths = !matches!(read, Read::Whole);
    if crate::relation::is_derived(table) {
        return crate::relation::scan(txn, table, filter, params);
    }
    if crate::catalog::is_view(table) {
        let mut out = Vec::new();
        for (i, row) in crate::catalog::rows(table, txn).await?.into_iter().enumerate() {
            if matches(filter, &row, params)? {
                out.push(((i as u64).to_be_bytes().to_vec(), row));
            }
        }
        return Ok(out);
    }
    if let Read::Key(key) = read {
        let Some(k) = eval_key(key, params)? else { return Ok(vec![]) };
        if let Some(own) = txn.own(table, &k) {
            return Ok(match own {
                Some(row) if matches(filter, row, params)? => vec![(k, row.clone())],
                _ => vec![],
            });
        }
        let at = txn.read_at();
        txn.note_read(table, || crate::serializable::Read::Key(k.clone()));
        return Ok(read_key(table, k.clone(), filter, params, at).await?.map(|r| (k, r)).into_iter().collect());
    }
    if let Some(f) = filter.filter(|_| index_paths) {
        if let Some(access) = index_scan::choose(table, f) {
            return index_scan::rows(txn, table, &access, f, params).await;
        }
    }
    // Equalities on the leading primary-key columns read that key range on every shard, not
    // every row (rows hash by their whole key, so every shard has some).
    let range = if index_paths { key_range(table, filter, params)? } else { None };
    let name = table.name.clone();
    let f = filter.cloned();
    let p = params.to_vec();
    let at = txn.read_at();
    txn.note_read(table, || match &range {
        Some((lo, hi)) => crate::serializable::Read::Range(lo.clone(), hi.clone()),
        None => crate::serializable::Read::Table,
    });
    // Each shard stops once its part alone would be past the statement's memory bound.
    let (used, limit) = (txn.memory().used(), txn.memory().limit());
    let sent = cols.clone();
    let parts = on_every_shard_at(at, move |s| {
        let t = s.tables.get(&name).ok_or_else(|| no_table(&name))?;
        let mut out = Vec::new();
        let mut bytes = used;
        let keep = |k: &Vec<u8>, row: &Row| {
            if reduce.as_ref().is_some_and(|r| !r.contains(row)) {
                return Ok(());
            }
            let row = narrow(row, sent.as_deref());
            let size = k.len() + crate::memory::row_bytes(&row);
            bytes += size;
            if bytes > limit {
                return Err(crate::memory::out_of_memory("rows from shards", size, bytes - size, limit));
            }
            out.push((k.clone(), row));
            Ok(())
        };
        // The batch path when it runs the whole filter (crate::vector); else row at a time.
        each_row(t, f.as_ref(), &p, at, range.as_ref(), keep)?;
        Ok::<_, SqlError>(out)
    })
    .await?;
    txn.check_cancel()?;
    let mut all = Vec::new();
    for part in parts {
        all.extend(part?);
    }
    if let Some(w) = txn.overlay(table) {
        all.retain(|(k, _)| !w.rows.contains_key(k));
        for (k, r) in &w.rows {
            if let Some(r) = r {
                if matches(filter, r, params)? {
                    all.push((k.clone(), narrow(r, cols.as_deref())));
                }
            }
        }
    }
    Ok(all)
}

/// Whether `table`'s rows with `filter` are read by scanning every shard's part (no derived
/// table or view, no key or index serving the filter): then a join step can run on the shards
/// ([`crate::dist_join`]).
pub(crate) fn scanned_on_shards(table: &TableDef, filter: Option<&Expr>) -> bool {
    !crate::relation::is_derived(table)
        && !crate::catalog::is_view(table)
        && filter.is_none_or(|f| crate::bind::pk_lookup(f, table).is_none() && index_scan::choose(table, f).is_none())
}

/// A range of encoded primary keys: from the first (included) to the second (excluded; None:
/// to the end).
pub(crate) type KeyRange = (Vec<u8>, Option<Vec<u8>>);

/// Whether [`key_range`] finds a range for `filter` on `table` (EXPLAIN's question: the values
/// are not evaluated).
pub(crate) fn key_range_applies(table: &TableDef, filter: &Expr) -> bool {
    if table.has_row_id() || table.pk.is_empty() {
        return false;
    }
    let eq = crate::bind::equalities(filter, table);
    let pinned = table.pk.iter().take_while(|c| eq.iter().any(|(i, _)| i == *c)).count();
    pinned > 0
        || table.pk.get(pinned).is_some_and(|&next| {
            let (lower, upper) = index_scan::column_bounds(filter, table, next);
            lower.is_some() || upper.is_some()
        })
}

/// The range of keys `filter` confines `table`'s rows to, if any: equalities on its leading
/// primary-key columns, then a range (`<`, `<=`, `>`, `>=`, BETWEEN) on the next one. Rows
/// hash over the shards by their whole key, so each shard reads that range of its part (in key
/// order) rather than every row; the whole filter is still checked on each row read.
pub(crate) fn key_range(table: &TableDef, filter: Option<&Expr>, params: &[Datum]) -> Result<Option<KeyRange>> {
    let Some(f) = filter else { return Ok(None) };
    if table.has_row_id() {
        return Ok(None);
    }
    let prefix = key_prefix(table, f, params)?;
    let pinned = prefix.as_ref().map_or(0, |p| p.1);
    let (lower, upper) = match table.pk.get(pinned) {
        Some(&next) => index_scan::column_bounds(f, table, next),
        None => (None, None),
    };
    if prefix.is_none() && lower.is_none() && upper.is_none() {
        return Ok(None);
    }
    let cx = Ctx { row: &[], params, aggs: &[] };
    let bound = |b: &index_scan::KeyBound| -> Result<Option<(Datum, bool)>> {
        b.as_ref().map(|(e, inclusive)| expr::eval(e, &cx).map(|v| (v, *inclusive))).transpose()
    };
    let (lower, upper) = (bound(&lower)?, bound(&upper)?);
    let prefix = prefix.map(|p| p.0).unwrap_or_default();
    if lower.iter().chain(upper.iter()).any(|b| b.0.is_null()) {
        // `key < NULL` matches nothing: an empty range.
        return Ok(Some((prefix.clone(), Some(prefix))));
    }
    Ok(Some(match index_scan::key_bounds(&prefix, lower.as_ref(), upper.as_ref()) {
        Some(r) => r,
        None => (prefix.clone(), Some(prefix)),
    }))
}

/// Calls `keep` with each row of this shard's part of `t` that passes `filter`, as the snapshot
/// `at` sees it, within the key `range` (from [`key_prefix`]) if any.
pub(crate) fn each_row(
    t: &orbit_engine::table::Table,
    filter: Option<&Expr>,
    params: &[Datum],
    at: Option<u64>,
    range: Option<&KeyRange>,
    mut keep: impl FnMut(&Vec<u8>, &Row) -> Result<()>,
) -> Result<()> {
    let rows = match range {
        Some((lo, hi)) => t.range_at(
            std::ops::Bound::Included(lo.as_slice()),
            hi.as_deref().map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
            at,
        ),
        None => t.scan_at(at),
    };
    let rows = rows.map_err(too_old)?;
    match filter.and_then(|f| crate::vector::Filter::compile(f, params)) {
        Some(vf) => vf.scan(rows, params, &mut keep),
        None => {
            for (k, row) in rows {
                if matches(filter, row, params)? {
                    keep(k, row)?;
                }
            }
            Ok(())
        }
    }
}

/// Notes a SERIALIZABLE transaction's read of `table` by a scan of every shard's part (of the
/// key `range`, if any), as [`scan`] notes its own.
pub(crate) fn note_scan(txn: &Txn, table: &TableDef, range: Option<&KeyRange>) {
    txn.note_read(table, || match range {
        Some((lo, hi)) => crate::serializable::Read::Range(lo.clone(), hi.clone()),
        None => crate::serializable::Read::Table,
    });
}

/// A broadcast join step's table side ([`crate::dist_join::Probe`]): every shard hashes the
/// rows so far and sends back each of its rows of `table` that passes `filter` and matches
/// some, as the transaction sees them (the rows it wrote itself are probed here, in place of
/// the shards' versions). Also the rows that passed `filter` (EXPLAIN ANALYZE's rows for the
/// table). Each shard stops once its part would be past the statement's memory bound (53200).
pub(crate) async fn broadcast_scan(
    txn: &Txn,
    table: &Arc<TableDef>,
    filter: Option<&Expr>,
    probe: Arc<crate::dist_join::Probe>,
) -> Result<(Vec<crate::dist_join::Matched>, usize)> {
    let params = probe.params.clone();
    let range = key_range(table, filter, &params)?;
    note_scan(txn, table, range.as_ref());
    let own = txn.overlay(table);
    let with_keys = own.is_some();
    let name = table.name.clone();
    let f = filter.cloned();
    let at = txn.read_at();
    let (used, limit) = (txn.memory().used(), txn.memory().limit());
    let shipped = probe.clone();
    let parts = on_every_shard_at(at, move |s| {
        let t = s.tables.get(&name).ok_or_else(|| no_table(&name))?;
        let probe = &shipped;
        let index = probe.index();
        let mut bytes = used + index.bytes();
        if bytes > limit {
            return Err(crate::memory::out_of_memory("broadcast join build table", index.bytes(), used, limit));
        }
        let (mut out, mut checked, mut scratch) = (Vec::new(), 0usize, Vec::new());
        each_row(t, f.as_ref(), &probe.params, at, range.as_ref(), |k, row| {
            checked += 1;
            if let Some((row, with)) = probe.probe(&index, row, &mut scratch)? {
                let size = crate::memory::row_bytes(&row) + with.len() * 4 + if with_keys { k.len() } else { 0 };
                bytes += size;
                if bytes > limit {
                    return Err(crate::memory::out_of_memory("broadcast join", size, bytes - size, limit));
                }
                out.push(crate::dist_join::Matched { key: with_keys.then(|| k.clone()), row, with });
            }
            Ok(())
        })?;
        Ok::<_, SqlError>((out, checked))
    })
    .await?;
    txn.check_cancel()?;
    let (mut all, mut checked) = (Vec::new(), 0);
    for part in parts {
        let (rows, n) = part?;
        all.extend(rows);
        checked += n;
    }
    if let Some(w) = own {
        all.retain(|m| m.key.as_ref().is_none_or(|k| !w.rows.contains_key(k)));
        let index = probe.index();
        let mut scratch = Vec::new();
        for r in w.rows.values().flatten() {
            if matches(filter, r, &params)? {
                checked += 1;
                if let Some((row, with)) = probe.probe(&index, r, &mut scratch)? {
                    all.push(crate::dist_join::Matched { key: None, row, with });
                }
            }
        }
    }
    let mut held = crate::memory::Held::new(txn.memory(), "rows from shards");
    held.add(all.iter().map(|m| crate::memory::row_bytes(&m.row) + m.with.len() * 4).sum())?;
    held.keep();
    Ok((all, checked))
}

/// A co-located join step ([`crate::dist_join::CoJoin`]): every shard joins its rows of `left`
/// and `right` (each passing its own conditions, as the snapshot sees them) and sends back the
/// joined pairs, each side cut to its columns. Also each side's rows that passed their
/// conditions. Not for a transaction with rows of its own in either table.
pub(crate) async fn colocated_scan(
    txn: &Txn,
    left: &Arc<TableDef>,
    right: &Arc<TableDef>,
    co: Arc<crate::dist_join::CoJoin>,
) -> Result<(Vec<(Row, Row)>, [usize; 2])> {
    let ranges =
        [key_range(left, co.filters[0].as_ref(), &co.params)?, key_range(right, co.filters[1].as_ref(), &co.params)?];
    note_scan(txn, left, ranges[0].as_ref());
    note_scan(txn, right, ranges[1].as_ref());
    let names = [left.name.clone(), right.name.clone()];
    let at = txn.read_at();
    // SERIALIZABLE: what the step read, as a scan notes it.
    for (table, range) in [(left, &ranges[0]), (right, &ranges[1])] {
        txn.note_read(table, || match range {
            Some((lo, hi)) => crate::serializable::Read::Range(lo.clone(), hi.clone()),
            None => crate::serializable::Read::Table,
        });
    }
    let (used, limit) = (txn.memory().used(), txn.memory().limit());
    let shipped = co.clone();
    let parts = on_every_shard_at(at, move |s| {
        let co = &shipped;
        let [l, r] = [0, 1].map(|i| s.tables.get(&names[i]).ok_or_else(|| no_table(&names[i])));
        let (l, r) = (l?, r?);
        if let Some(kind) = co.merge {
            let each = |t: &orbit_engine::table::Table,
                        i: usize,
                        cols: Option<&[usize]>,
                        keep: &mut dyn FnMut(Row) -> Result<()>| {
                each_row(t, co.filters[i].as_ref(), &co.params, at, ranges[i].as_ref(), |_, row| {
                    keep(narrow(row, cols))
                })
            };
            return crate::merge_join::on_shard(co, kind, used, limit, |i, cols, keep| {
                each(if i == 0 { l } else { r }, i, cols, keep)
            });
        }
        let mut bytes = used;
        let mut lefts: Vec<Row> = Vec::new();
        each_row(l, co.filters[0].as_ref(), &co.params, at, ranges[0].as_ref(), |_, row| {
            let row = narrow(row, co.cols[0].as_deref());
            let size = crate::memory::row_bytes(&row);
            bytes += size;
            if bytes > limit {
                return Err(crate::memory::out_of_memory("co-located join", size, bytes - size, limit));
            }
            lefts.push(row);
            Ok(())
        })?;
        let index = crate::join_key::Buckets::build(&lefts, &co.left_keys);
        bytes += index.bytes();
        let (mut out, mut checked, mut scratch) = (Vec::new(), 0usize, Vec::new());
        each_row(r, co.filters[1].as_ref(), &co.params, at, ranges[1].as_ref(), |_, row| {
            checked += 1;
            if let Some((cut, with)) = co.probe(&lefts, &index, row, &mut scratch)? {
                for i in with {
                    let size = crate::memory::row_bytes(&lefts[i]) + crate::memory::row_bytes(&cut);
                    bytes += size;
                    if bytes > limit {
                        return Err(crate::memory::out_of_memory("co-located join", size, bytes - size, limit));
                    }
                    out.push((lefts[i].clone(), cut.clone()));
                }
            }
            Ok(())
        })?;
        Ok::<_, SqlError>((out, [lefts.len(), checked]))
    })
    .await?;
    txn.check_cancel()?;
    let (mut all, mut checked) = (Vec::new(), [0, 0]);
    for part in parts {
        let (rows, n) = part?;
        all.extend(rows);
        checked[0] += n[0];
        checked[1] += n[1];
    }
    let mut held = crate::memory::Held::new(txn.memory(), "rows from shards");
    held.add(all.iter().map(|(a, b)| crate::memory::row_bytes(a) + crate::memory::row_bytes(b)).sum())?;
    held.keep();
    Ok((all, checked))
}

/// The encoded leading primary-key values `filter` pins (`l_orderkey = $1` on lineitem's
/// `(l_orderkey, l_linenumber)`): every row the filter can match has a key starting with them.
/// None for a table with one key column or a row id, or when no leading column is pinned (or
/// one is pinned to NULL, which matches nothing: the full scan finds nothing either).
/// The encoded values the equalities of `filter` give `table`'s leading primary-key columns,
/// and how many columns they pin (None: not the first; a NULL matches nothing, also None).
fn key_prefix(table: &TableDef, filter: &Expr, params: &[Datum]) -> Result<Option<(Vec<u8>, usize)>> {
    if table.has_row_id() {
        return Ok(None);
    }
    let eq = crate::bind::equalities(filter, table);
    let cx = Ctx { row: &[], params, aggs: &[] };
    let mut vals = Vec::new();
    for c in &table.pk {
        let Some((_, v)) = eq.iter().find(|(i, _)| i == c) else { break };
        let d = expr::eval(v, &cx)?;
        if d.is_null() {
            return Ok(None);
        }
        vals.push(d);
    }
    Ok((!vals.is_empty()).then(|| (key::encode(vals.iter()), vals.len())))
}

/// A query with FROM whose select list calls nextval, currval or setval: the sequences live on
/// their own shards, so a call is no value a shard can compute in the row. The query runs with
/// each such select-list item's row-reading parts (the largest sub-expressions that read the
/// row and call no sequence function) as extra output columns; then, on the coordinator, the
/// calls of every output row are given their values in row order (one batch per sequence, as
/// an INSERT's rows are, [`crate::sequence::resolve`]) and the items are computed over those
/// columns. PostgreSQL computes the select list as each row is scanned; here only the rows
/// the query returns (after ORDER BY, OFFSET and LIMIT) take values. A call in WHERE, HAVING,
/// ORDER BY, DISTINCT or beside a set-returning function stays refused.
/// `p` with each select-list item that `calls` (a call the coordinator makes: nextval, a
/// PL/pgSQL function) replaced by NULL and the largest sub-expressions of it that read the
/// row and make no such call appended as extra output columns; and those items (position,
/// expression over the extra columns).
pub(crate) fn split_calls(p: &SelectPlan, calls: &dyn Fn(&Expr) -> bool) -> (SelectPlan, Vec<(usize, Expr)>) {
    fn split(e: &mut Expr, extra: &mut Vec<Expr>, base: usize, calls: &dyn Fn(&Expr) -> bool) {
        if !calls(e) {
            let mut reads = false;
            e.visit(&mut |x| reads |= matches!(x, Expr::Column(..) | Expr::Agg(..)));
            if reads {
                let column = Expr::Column(base + extra.len(), e.ty());
                extra.push(std::mem::replace(e, column));
            }
            return;
        }
        for c in e.children_mut() {
            split(c, extra, base, calls);
        }
    }
    let width = p.projection.len();
    let mut q = p.clone();
    let mut extra = Vec::new();
    let mut templates = Vec::new();
    for (i, item) in q.projection.iter_mut().enumerate() {
        if calls(item) {
            let mut t = item.clone();
            split(&mut t, &mut extra, width, calls);
            templates.push((i, t));
            *item = Expr::Const(Datum::Null, item.ty());
        }
    }
    q.projection.extend(extra);
    (q, templates)
}

/// `e` (a [`split_calls`] item) with an output row's extra columns' values in place: a call's
/// arguments may read them (`setval('s', a * 1000)`).
pub(crate) fn with_values(e: &mut Expr, row: &[Datum]) {
    if let Expr::Column(k, ty) = e {
        *e = Expr::Const(row.get(*k).cloned().unwrap_or(Datum::Null), *ty);
        return;
    }
    for c in e.children_mut() {
        with_values(c, row);
    }
}

async fn sequence_per_row(txn: &Txn, p: &SelectPlan, params: &[Datum]) -> Result<QueryResult> {
    let uses = |e: &Expr| crate::sequence::any_uses(std::slice::from_ref(e));
    let sorted_by_call = p.order_by.iter().any(|k| match &k.source {
        crate::bind::SortSource::Output(i) => p.projection.get(*i).is_some_and(uses),
        crate::bind::SortSource::Input(e) => uses(e),
    });
    if p.filter.as_ref().is_some_and(uses)
        || p.having.as_ref().is_some_and(uses)
        || sorted_by_call
        || p.distinct != crate::bind::Distinct::None
        || !p.srfs.is_empty()
    {
        return Err(crate::sequence::not_here());
    }
    let width = p.projection.len();
    let (q, templates) = split_calls(p, &uses);
    let mut r = Box::pin(select(txn, &q, params)).await?;
    let mut per_row: Vec<Vec<Expr>> = r
        .rows
        .iter()
        .map(|row| {
            templates
                .iter()
                .map(|(_, t)| {
                    let mut t = t.clone();
                    with_values(&mut t, row);
                    t
                })
                .collect()
        })
        .collect();
    crate::sequence::resolve(txn, &mut per_row, params).await?;
    for (row, exprs) in r.rows.iter_mut().zip(per_row) {
        for ((i, _), e) in templates.iter().zip(exprs) {
            row[*i] = expr::eval(&e, &ctx(&[], params))?;
        }
        row.truncate(width);
    }
    Ok(r)
}

/// A SELECT's rows (`params` carry the clocks), for a caller that made the select list's
/// coordinator calls itself ([`crate::plpgsql::select_per_row`]).
pub(crate) async fn select_plain(txn: &Txn, p: &SelectPlan, params: &[Datum]) -> Result<QueryResult> {
    select(txn, p, params).await
}

async fn select(txn: &Txn, p: &SelectPlan, params: &[Datum]) -> Result<QueryResult> {
    let limit = count(p.limit.as_ref(), params, "LIMIT", code::INVALID_ROW_COUNT_IN_LIMIT_CLAUSE)?;
    let offset = count(p.offset.as_ref(), params, "OFFSET", code::INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE)?;
    if p.limit_ties && p.limit.is_some() && limit.is_none() {
        return Err(SqlError::new(
            code::INVALID_ROW_COUNT_IN_LIMIT_CLAUSE,
            "row count cannot be null in FETCH FIRST ... WITH TIES clause",
        ));
    }
    if limit == Some(0) {
        // PostgreSQL's Limit node asks its input for nothing: no row is read or computed, so
        // nothing below can fail.
        return Ok(QueryResult { tag: "SELECT 0".into(), ..Default::default() });
    }
    if crate::advisory::any_uses(&p.projection) {
        if p.table.is_some() || p.join.is_some() || p.grouped || p.filter.is_some() || !p.windows.is_empty() {
            return Err(crate::advisory::not_here());
        }
        let mut q = p.clone();
        let notices = crate::advisory::resolve(txn, &mut q.projection, params).await?;
        let mut r = Box::pin(select(txn, &q, params)).await?;
        r.notices.extend(notices);
        return Ok(r);
    }
    if crate::sleep::any_uses(&p.projection) {
        if p.table.is_some() || p.join.is_some() || p.grouped || p.filter.is_some() || !p.windows.is_empty() {
            return Err(crate::sleep::not_here());
        }
        let mut q = p.clone();
        crate::sleep::resolve(txn, &mut q.projection, params).await?;
        return Box::pin(select(txn, &q, params)).await;
    }
    if crate::sequence::any_uses(&p.projection)
        || p.filter.as_ref().is_some_and(|f| crate::sequence::any_uses(std::slice::from_ref(f)))
    {
        if p.table.is_some() || p.join.is_some() || p.grouped || p.filter.is_some() {
            return sequence_per_row(txn, p, params).await;
        }
        let mut rows = vec![p.projection.clone()];
        crate::sequence::resolve(txn, &mut rows, params).await?;
        let mut q = p.clone();
        q.projection = rows.pop().unwrap_or_default();
        return Box::pin(select(txn, &q, params)).await;
    }
    if p.grouped {
        return crate::group::select(txn, p, params, limit, offset).await;
    }
    let mut kept = None;
    let input: Vec<Row> = match &p.table {
        None if p.join.is_some() => {
            let (joined, q) = joined_rows(txn, p, params).await?;
            kept = q;
            let mut held = crate::memory::Held::new(txn.memory(), "join");
            let rows = joined.rows(&mut held)?;
            held.keep();
            rows
        }
        None => {
            let empty: Row = vec![];
            if matches(p.filter.as_ref(), &empty, params)? {
                vec![empty]
            } else {
                vec![]
            }
        }
        Some(t) if !p.paths.use_index() => {
            seq_scan(txn, t, p.filter.as_ref(), params).await?.into_iter().map(|(_, r)| r).collect()
        }
        Some(t) => {
            scan(txn, t, p.filter.as_ref(), p.key.as_deref(), params).await?.into_iter().map(|(_, r)| r).collect()
        }
    };
    crate::explain::note_rows(p as *const SelectPlan as usize, input.len());
    let p = kept.as_ref().unwrap_or(p);
    if !p.windows.is_empty() {
        let mut held = crate::memory::Held::new(txn.memory(), crate::group::output_operator(p));
        let input = input.into_iter().map(|r| (r, vec![])).collect();
        let out = crate::window::project(txn, p, input, params, &mut held).await?;
        let rows = crate::group::finish(txn, out, p, limit, offset).await?;
        held.keep();
        return Ok(QueryResult { tag: format!("SELECT {}", rows.len()), rows, notices: vec![] });
    }
    finish_select(txn, p, &input, params, limit, offset).await
}

/// A plain SELECT's result from its input rows: each projected with its ORDER BY values, then
/// sorted, made DISTINCT and cut to OFFSET/LIMIT. The output rows are charged to the statement's
/// memory.
pub(crate) async fn finish_select(
    txn: &Txn,
    p: &SelectPlan,
    input: &[Row],
    params: &[Datum],
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<QueryResult> {
    let mut held = crate::memory::Held::new(txn.memory(), crate::group::output_operator(p));
    let mut out: Vec<(Vec<Datum>, Row)> = Vec::with_capacity(input.len());
    for row in input {
        crate::srf::project(p, &ctx(row, params), &mut out, &mut held)?;
    }
    let rows = crate::group::finish(txn, out, p, limit, offset).await?;
    held.keep();
    Ok(QueryResult { tag: format!("SELECT {}", rows.len()), rows, notices: vec![] })
}

/// A join's rows that pass WHERE, with only the columns the rest of the SELECT reads (the
/// shards do not send the others), each table's side by side; and, when that is narrower than
/// the combined row, the SELECT reading them there ([`crate::join::kept_columns`]), to run
/// instead of `p` over these rows.
pub(crate) async fn joined_rows(
    txn: &Txn,
    p: &SelectPlan,
    params: &[Datum],
) -> Result<(crate::joined::Joined, Option<SelectPlan>)> {
    let width = p.join.as_ref().map_or(0, |j| j.inputs.iter().map(|t| t.row_len()).sum());
    let Some(j) = &p.join else { return Ok((crate::joined::Joined::built(vec![], width), None)) };
    let needed = crate::join::columns_read(p, width);
    let (rows, map) = crate::join::rows_where_reading(txn, j, p.filter.as_ref(), params, Some(&needed)).await?;
    Ok((rows, map.map(|m| crate::join::kept_columns(p, &m))))
}

pub(crate) fn count(e: Option<&Expr>, params: &[Datum], what: &str, code: &'static str) -> Result<Option<i64>> {
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

/// Checks NOT NULL, then the CHECK constraints, on a full row, with PostgreSQL's messages and
/// DETAIL.
pub(crate) fn check_not_null(table: &TableDef, row: &[Datum]) -> Result<()> {
    check_row_except(table, row, &[])
}

/// [`check_not_null`] of a COPY probe row whose `computed` columns hold placeholders for the
/// DEFAULTs computed when it is inserted (their domains are checked then).
pub(crate) fn check_row_except(table: &TableDef, row: &[Datum], computed: &[usize]) -> Result<()> {
    // A column's domain checks its value first, as PostgreSQL's coercion to it does.
    for (i, (c, v)) in table.columns.iter().zip(row).enumerate() {
        if c.domain != 0 && !computed.contains(&i) {
            crate::domains::check(c.domain, v)?;
        }
    }
    for (c, v) in table.columns.iter().zip(row) {
        if c.not_null && v.is_null() {
            return Err(SqlError::new(
                code::NOT_NULL_VIOLATION,
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    c.name,
                    crate::schema::relname(&table.name)
                ),
            )
            .detail(format!("Failing row contains {}.", row_text(&row[..table.columns.len().min(row.len())])))
            .on_table(&table.name)
            .on_column(&c.name));
        }
    }
    crate::index::check_row(table, row)
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
    .on_table(&table.name)
    .on_constraint(&table.pk_name)
}

/// What an INSERT or UPDATE computes over each row it writes: RETURNING, and the check
/// options of the views it went through.
#[derive(Clone, Copy)]
pub(crate) struct Written<'a> {
    pub(crate) returning: Option<&'a [Expr]>,
    pub(crate) checks: &'a [ViewCheckExpr],
}

impl Written<'_> {
    /// The first of `rows` (as RETURNING reads them: the table's columns first) that a view's
    /// check option refuses, as PostgreSQL's 44000 (each row's checks in order, the innermost
    /// view's first; NULL fails); None if every row passes. PostgreSQL checks a row once it
    /// is in the table and its indexes, so the caller raises it after writing the rows (a
    /// duplicate key is reported first), and the statement fails with it.
    fn refused(&self, table: &TableDef, rows: &[Row], params: &[Datum]) -> Result<Option<SqlError>> {
        if self.checks.is_empty() {
            return Ok(None);
        }
        for r in rows {
            for c in self.checks {
                if expr::truth(expr::eval(&c.cond, &ctx(r, params))?) != Some(true) {
                    let failing =
                        || format!("Failing row contains {}.", row_text(&r[..table.columns.len().min(r.len())]));
                    return Ok(Some(match &c.kind {
                        crate::bind::CheckKind::View => SqlError::new(
                            code::WITH_CHECK_OPTION_VIOLATION,
                            format!("new row violates check option for view \"{}\"", c.view),
                        )
                        .detail(failing()),
                        crate::bind::CheckKind::Partition => SqlError::new(
                            code::CHECK_VIOLATION,
                            format!("new row for relation \"{}\" violates partition constraint", c.view),
                        )
                        .detail(failing()),
                        crate::bind::CheckKind::Routing { columns, key } => {
                            let values = key
                                .iter()
                                .map(|k| {
                                    expr::eval(k, &ctx(r, params))
                                        .map(|d| types::to_text(&d).unwrap_or_else(|| "null".into()))
                                })
                                .collect::<Result<Vec<_>>>()?;
                            SqlError::new(
                                code::CHECK_VIOLATION,
                                format!("no partition of relation \"{}\" found for row", c.view),
                            )
                            .detail(format!(
                                "Partition key of the failing row contains ({}) = ({}).",
                                columns.join(", "),
                                values.join(", ")
                            ))
                        }
                    }));
                }
            }
        }
        Ok(None)
    }
}

fn returning_rows(returning: Option<&[Expr]>, rows: &[Row], params: &[Datum]) -> Result<Vec<Row>> {
    let Some(ret) = returning else { return Ok(vec![]) };
    rows.iter().map(|r| ret.iter().map(|e| expr::eval(e, &ctx(r, params))).collect()).collect()
}

async fn insert(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    rows: &[Vec<Expr>],
    source: Option<(&SelectPlan, &[Expr])>,
    on_conflict: Option<&OnConflict>,
    written: Written<'_>,
    params: &[Datum],
) -> Result<QueryResult> {
    txn.check_writable("INSERT")?;
    let resolved;
    let rows = if rows.iter().any(|r| crate::sequence::any_uses(r)) {
        // The other values first: one that fails (`'x'::int`, 32769 into a smallint) fails
        // before any sequence advances, as PostgreSQL folds constants before it runs the
        // INSERT.
        let mut copy = rows.to_vec();
        for e in copy.iter_mut().flatten() {
            if !crate::sequence::any_uses(std::slice::from_ref(e)) {
                *e = Expr::Const(expr::eval(e, &ctx(&[], params))?, e.ty());
            }
        }
        crate::sequence::resolve(txn, &mut copy, params).await?;
        resolved = copy;
        &resolved[..]
    } else {
        rows
    };
    let generated = crate::bind::GeneratedColumns::of(table)?;
    let fired = crate::triggers::Fired::of(table, crate::triggers::Op::Insert, &[]);
    // DO UPDATE fires the UPDATE triggers too (their statement-level ones whether or not a row
    // conflicts, as PostgreSQL does).
    let fired_update = match on_conflict {
        Some(OnConflict::Update { sets, .. }) => {
            let set: Vec<usize> = sets.iter().map(|(i, _)| *i).collect();
            crate::triggers::Fired::of(table, crate::triggers::Op::Update, &set)
        }
        _ => None,
    };
    if let Some(f) = &fired {
        f.statement(txn, true).await?;
    }
    if let Some(f) = &fired_update {
        f.statement(txn, true).await?;
    }
    let mut raw = Vec::with_capacity(rows.len());
    for r in rows {
        raw.push(r.iter().map(|e| expr::eval(e, &ctx(&[], params))).collect::<Result<Vec<_>>>()?);
    }
    if let Some((query, row)) = source {
        raw.extend(source_rows(txn, query, row, params).await?);
    }
    let row_triggers = fired.as_ref().filter(|f| f.has_row_triggers());
    if let Some(f) = row_triggers {
        // BEFORE ROW triggers may change each row or skip it.
        let kept = f.before_rows(txn, raw.into_iter().map(|r| (None, r)).collect()).await?;
        raw = kept.into_iter().flatten().collect();
    }
    if crate::triggers::is_view(table) {
        // A view's INSTEAD OF triggers do the insert: their rows are what it returns.
        let f = fired.as_ref().ok_or_else(|| SqlError::internal("a view insert without INSTEAD OF triggers"))?;
        let done: Vec<Row> =
            f.instead_rows(txn, raw.into_iter().map(|r| (None, r)).collect()).await?.into_iter().flatten().collect();
        let out = returning_rows(written.returning, &done, params)?;
        f.statement(txn, false).await?;
        return Ok(QueryResult { rows: out, tag: format!("INSERT 0 {}", done.len()), notices: vec![] });
    }
    let mut full = raw;
    for row in &mut full {
        generated.fill(row)?;
        check_not_null(table, row)?;
    }
    // A table without a primary key keys its rows by a hidden row id (never in conflict).
    let full = utility::with_row_ids(table, full).await?;
    let written_rows: Vec<(Option<Row>, Row)>;
    let result = if let Some(oc) = on_conflict {
        let triggers = upsert::Triggers {
            update: fired_update.as_ref().filter(|f| f.has_row_triggers()),
            after: row_triggers.is_some() || fired_update.as_ref().is_some_and(|f| f.has_row_triggers()),
        };
        let (result, events) = upsert::upsert(txn, table, full, oc, written, params, triggers).await?;
        written_rows = events;
        result
    } else {
        let refused = written.refused(table, &full, params)?;
        let out = returning_rows(written.returning, &full, params)?;
        let n = full.len();
        written_rows = if row_triggers.is_some() { full.iter().map(|r| (None, r.clone())).collect() } else { vec![] };
        insert_rows_with(txn, table, full, true).await?;
        if let Some(e) = refused {
            return Err(e);
        }
        QueryResult { rows: out, tag: format!("INSERT 0 {n}"), notices: vec![] }
    };
    // AFTER ROW triggers in the order the rows were written (an upsert's updates fire UPDATE's).
    for (old, new) in &written_rows {
        let f = if old.is_some() { &fired_update } else { &fired };
        if let Some(f) = f {
            f.after_rows(txn, &[(old.as_ref(), Some(new))]).await?;
        }
    }
    if let Some(f) = &fired_update {
        f.statement(txn, false).await?;
    }
    if let Some(f) = &fired {
        f.statement(txn, false).await?;
    }
    Ok(result)
}

/// INSERT ... SELECT's rows: the query's, each made a row of the table by `row` (its
/// sequence calls given values, one batch per sequence).
async fn source_rows(txn: &mut Txn, query: &SelectPlan, row: &[Expr], params: &[Datum]) -> Result<Vec<Row>> {
    let outs = select(txn, query, params).await?.rows;
    let templates = if crate::sequence::any_uses(row) {
        let mut t = vec![row.to_vec(); outs.len()];
        crate::sequence::resolve(txn, &mut t, params).await?;
        Some(t)
    } else {
        None
    };
    let mut rows = Vec::with_capacity(outs.len());
    for (n, out) in outs.into_iter().enumerate() {
        let row = templates.as_ref().map_or(row, |t| &t[n][..]);
        rows.push(row.iter().map(|e| expr::eval(e, &ctx(&out, params))).collect::<Result<Vec<_>>>()?);
    }
    Ok(rows)
}

/// Inserts rows into the transaction's write set: each key locked first, then checked free
/// (committed and in this transaction), a taken key failing with PostgreSQL's 23505.
pub(crate) async fn insert_rows(txn: &mut Txn, table: &Arc<TableDef>, rows: Vec<Row>) -> Result<()> {
    insert_rows_with(txn, table, rows, false).await
}

/// [`insert_rows`]; `fresh_ids`: the rows of a table without a primary key carry row ids just
/// handed out ([`utility::with_row_ids`]), unique across shards and above every id a shard
/// holds, so no committed row and no other transaction can have their keys: instead of one
/// row lock per row (a COPY's million), one row per shard is locked, which is what makes the
/// transaction a writer of the table there (an ALTER of it waits for the transaction, and one
/// under way refuses it with 55P03, as for any row lock).
pub(crate) async fn insert_rows_with(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    rows: Vec<Row>,
    fresh_ids: bool,
) -> Result<()> {
    if fresh_ids && table.has_row_id() {
        let keyed: Vec<(Vec<u8>, Row)> = rows.into_iter().map(|r| (table.key_of(&r), r)).collect();
        let (_, n) = orbit_shards::state::local();
        let mut one_per_shard: std::collections::BTreeMap<usize, Vec<u8>> = std::collections::BTreeMap::new();
        for (k, _) in &keyed {
            one_per_shard.entry(shard_of_key(k, n)).or_insert_with(|| k.clone());
        }
        let committed = txn.lock(table, one_per_shard.into_values().collect()).await?;
        debug_assert!(committed.iter().all(Option::is_none), "a fresh row id is taken");
        return write_inserted(txn, table, keyed).await;
    }
    let mut keyed = Vec::with_capacity(rows.len());
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    // The keys to lock, and where each one's row is in `keyed` (in order).
    let mut to_lock = Vec::new();
    let mut lock_at = Vec::new();
    for row in rows {
        let k = table.key_of(&row);
        if !seen.insert(k.clone()) {
            return Err(duplicate(table, &row));
        }
        match txn.own(table, &k) {
            Some(Some(_)) => return Err(duplicate(table, &row)),
            Some(None) => {}
            None => {
                to_lock.push(k.clone());
                lock_at.push(keyed.len());
            }
        }
        keyed.push((k, row));
    }
    drop(seen);
    let committed = txn.lock(table, to_lock).await?;
    if let Some((&at, _)) = lock_at.iter().zip(&committed).find(|(_, r)| r.is_some()) {
        return Err(duplicate(table, &keyed[at].1));
    }
    write_inserted(txn, table, keyed).await
}

/// The rows of an insert, their keys locked and free: index entries, the write set, foreign
/// keys.
async fn write_inserted(txn: &mut Txn, table: &Arc<TableDef>, keyed: Vec<(Vec<u8>, Row)>) -> Result<()> {
    if !table.indexes.is_empty() {
        let changes: Vec<crate::index::RowChange> = keyed.iter().map(|(_, r)| (None, Some(r))).collect();
        crate::index::maintain(txn, table, &changes).await?;
    }
    let written: Vec<Row> =
        if table.foreign_keys.is_empty() { Vec::new() } else { keyed.iter().map(|(_, r)| r.clone()).collect() };
    txn.write_rows(table, keyed.into_iter().map(|(k, row)| (k, Some(row))))?;
    crate::foreign_key::after_insert(txn, table, &written).await
}

/// Which rows an UPDATE or DELETE (without FROM or USING) changes.
enum Rows<'a> {
    /// Those `filter` lets through (all: None), looked up by key when `key` pins one.
    Filter(Option<&'a Expr>, Option<&'a [Expr]>),
    /// `WHERE CURRENT OF cursor`: the row the cursor is on (its position and encoded key,
    /// [`crate::cursors::Cursors::current_of`]), as it is now; none if it was deleted.
    Current(&'a str, (Vec<u8>, usize)),
}

/// The rows of `table` that `rows` names, locked for this transaction, as they are once
/// locked: a row another transaction changed meanwhile is re-read and re-checked against the
/// filter, one it deleted is skipped (PostgreSQL's READ COMMITTED re-check).
async fn rows_to_change(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    rows: &Rows<'_>,
    params: &[Datum],
) -> Result<Vec<(Vec<u8>, Row)>> {
    let (filter, candidates): (Option<&Expr>, Vec<Vec<u8>>) = match *rows {
        Rows::Current(_, (ref k, _)) => (None, vec![k.clone()]),
        Rows::Filter(filter, Some(key)) => {
            let Some(k) = eval_key(key, params)? else { return Ok(vec![]) };
            (filter, vec![k])
        }
        Rows::Filter(filter, None) => {
            // A filter calling PL/pgSQL functions is checked here, row by row (the shards
            // cannot make the calls): the shards return every row.
            let on_shards = filter.filter(|f| !crate::plpgsql::any_calls(std::slice::from_ref(*f)));
            (filter, scan(txn, table, on_shards, None, params).await?.into_iter().map(|(k, _)| k).collect())
        }
    };
    // Decided once for the statement, not per row.
    let calling = filter.filter(|f| crate::plpgsql::any_calls(std::slice::from_ref(*f)));
    let mut out = Vec::with_capacity(candidates.len());
    let mut to_lock = Vec::new();
    let mut own_calling = Vec::new();
    for k in candidates {
        match txn.own(table, &k) {
            Some(Some(row)) if calling.is_some() => own_calling.push((k, row.clone())),
            Some(Some(row)) => {
                if matches(filter, row, params)? {
                    out.push((k, row.clone()));
                }
            }
            Some(None) => {}
            None => to_lock.push(k),
        }
    }
    if let Some(f) = calling {
        for (k, row) in own_calling {
            if matches_calling(txn, f, &row, params).await? {
                out.push((k, row));
            }
        }
    }
    let latest = txn.lock_changing(table, to_lock.clone(), SnapshotCheck::Changed).await?;
    for (k, row) in to_lock.into_iter().zip(latest) {
        let Some(row) = row else { continue };
        let kept = match calling {
            Some(f) => matches_calling(txn, f, &row, params).await?,
            None => matches(filter, &row, params)?,
        };
        if kept {
            out.push((k, row));
        }
    }
    Ok(out)
}

/// Whether `row` passes `filter`, an UPDATE's or DELETE's filter calling PL/pgSQL functions:
/// the calls made first over the row ([`crate::plpgsql::resolve_rows`]).
async fn matches_calling(txn: &mut Txn, f: &Expr, row: &[Datum], params: &[Datum]) -> Result<bool> {
    let mut e = vec![vec![f.clone()]];
    with_values(&mut e[0][0], row);
    crate::plpgsql::resolve_rows(txn, &mut e, params).await?;
    matches(Some(&e[0][0]), row, params)
}

/// The rows of view `table` that `rows` picks (its query run now), each with an empty key: an
/// UPDATE or DELETE of the view hands them to its INSTEAD OF triggers.
async fn view_rows(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    rows: &Rows<'_>,
    params: &[Datum],
) -> Result<Vec<(Vec<u8>, Row)>> {
    let Rows::Filter(filter, _) = *rows else {
        return Err(SqlError::unsupported("WHERE CURRENT OF on a view is not supported"));
    };
    let (schema, name) = crate::schema::split(&table.name);
    let sql = format!("SELECT * FROM {}.{}", crate::regtypes::quote_ident(schema), crate::regtypes::quote_ident(name));
    let plan = crate::bind::prepare(&sql, &[])?;
    let all = Box::pin(execute(&plan.plan, &[], txn)).await?.rows;
    let mut out = Vec::with_capacity(all.len());
    for r in all {
        if matches(filter, &r, params)? {
            out.push((Vec::new(), r));
        }
    }
    Ok(out)
}

async fn update(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    rows: Rows<'_>,
    sets: &[(usize, Expr)],
    written: Written<'_>,
    params: &[Datum],
) -> Result<QueryResult> {
    txn.check_writable("UPDATE")?;
    let set_columns: Vec<usize> = sets.iter().map(|(i, _)| *i).collect();
    let fired = crate::triggers::Fired::of(table, crate::triggers::Op::Update, &set_columns);
    if let Some(f) = &fired {
        f.statement(txn, true).await?;
    }
    let mut matched = if crate::triggers::is_view(table) {
        view_rows(txn, table, &rows, params).await?
    } else {
        rows_to_change(txn, table, &rows, params).await?
    };
    let set_exprs: Vec<Expr> = sets.iter().map(|(_, e)| e.clone()).collect();
    let per_row = if crate::sequence::any_uses(&set_exprs) || crate::plpgsql::any_calls(&set_exprs) {
        let mut t = vec![set_exprs; matched.len()];
        crate::sequence::resolve(txn, &mut t, params).await?;
        if crate::plpgsql::any_calls(&t[0]) {
            // PL/pgSQL calls (`SET v = f(v)`): made row by row over each row as it was.
            for (exprs, (_, old)) in t.iter_mut().zip(&matched) {
                for e in exprs.iter_mut() {
                    with_values(e, old);
                }
            }
            crate::plpgsql::resolve_rows(txn, &mut t, params).await?;
        }
        Some(t)
    } else {
        None
    };
    // Compute every new row first: an error leaves the write set untouched.
    let generated = crate::bind::GeneratedColumns::of(table)?;
    let mut changes = Vec::with_capacity(matched.len());
    let row_triggers = fired.as_ref().filter(|f| f.has_row_triggers());
    let mut computed = Vec::with_capacity(matched.len());
    for (n, (k, old)) in matched.iter().enumerate() {
        let cx = ctx(old, params);
        let mut new = old.clone();
        for (j, (i, e)) in sets.iter().enumerate() {
            let e = per_row.as_ref().map_or(e, |t| &t[n][j]);
            new[*i] = expr::eval(e, &cx)?;
        }
        if row_triggers.is_some() {
            computed.push((Some(old.clone()), new));
            continue;
        }
        generated.fill(&mut new)?;
        check_not_null(table, &new)?;
        let nk = table.key_of(&new);
        changes.push((k.clone(), nk, new));
    }
    if crate::triggers::is_view(table) {
        // A view's INSTEAD OF triggers do the update: their rows are what it returns.
        let f = fired.as_ref().ok_or_else(|| SqlError::internal("a view update without INSTEAD OF triggers"))?;
        let done: Vec<Row> = f.instead_rows(txn, computed).await?.into_iter().flatten().collect();
        let out = returning_rows(written.returning, &done, params)?;
        f.statement(txn, false).await?;
        return Ok(QueryResult { rows: out, tag: format!("UPDATE {}", done.len()), notices: vec![] });
    }
    if let Some(f) = row_triggers {
        // BEFORE ROW triggers may change each new row or skip it.
        let kept = f.before_rows(txn, computed).await?;
        let mut still = Vec::with_capacity(kept.len());
        for ((k, old), new) in matched.into_iter().zip(kept) {
            let Some(mut new) = new else { continue };
            generated.fill(&mut new)?;
            check_not_null(table, &new)?;
            let nk = table.key_of(&new);
            changes.push((k.clone(), nk, new));
            still.push((k, old));
        }
        matched = still;
    }
    let new_rows: Vec<Row> = changes.iter().map(|c| c.2.clone()).collect();
    let refused = written.refused(table, &new_rows, params)?;
    let out = returning_rows(written.returning, &new_rows, params)?;
    let count = changes.len();
    let moved = match (&rows, changes.as_slice()) {
        (Rows::Current(name, (_, at)), [(k, nk, _)]) if k != nk => Some((*name, *at, nk.clone())),
        _ => None,
    };
    let old: Vec<&Row> = matched.iter().map(|(_, r)| r).collect();
    write_updates(txn, table, &old, changes).await?;
    if let Some(e) = refused {
        return Err(e);
    }
    if let Some((name, at, to)) = moved {
        txn.cursors.borrow_mut().moved(name, at, to);
    }
    if let Some(f) = &fired {
        let pairs: Vec<(Option<&Row>, Option<&Row>)> =
            matched.iter().zip(&new_rows).map(|((_, o), n)| (Some(o), Some(n))).collect();
        f.after_rows(txn, &pairs).await?;
        f.statement(txn, false).await?;
    }
    Ok(QueryResult { rows: out, tag: format!("UPDATE {count}"), notices: vec![] })
}

/// Writes updated rows: (old key, new key, new row) each, `old` the rows they replace.
pub(crate) async fn write_updates(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    old: &[&Row],
    changes: Vec<(Vec<u8>, Vec<u8>, Row)>,
) -> Result<()> {
    // Rows whose key changes move: no new key may be taken by a row this statement does not
    // also move away (checked for the statement as a whole, as a deferred constraint would).
    let moved_from: std::collections::HashSet<Vec<u8>> =
        changes.iter().filter(|(k, nk, _)| k != nk).map(|(k, _, _)| k.clone()).collect();
    let mut seen = std::collections::HashSet::new();
    let mut probe = Vec::new();
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
        match txn.own(table, nk) {
            Some(Some(_)) => return Err(duplicate(table, row)),
            Some(None) => {}
            None => probe.push((nk.clone(), row.clone())),
        }
    }
    let committed = txn.lock(table, probe.iter().map(|(k, _)| k.clone()).collect()).await?;
    if let Some(((_, row), _)) = probe.iter().zip(&committed).find(|(_, c)| c.is_some()) {
        return Err(duplicate(table, row));
    }
    if !table.indexes.is_empty() {
        let index_changes: Vec<crate::index::RowChange> =
            old.iter().zip(&changes).map(|(old, (_, _, new))| (Some(*old), Some(new))).collect();
        crate::index::maintain(txn, table, &index_changes).await?;
    }
    for (k, nk, _) in &changes {
        if k != nk {
            txn.write(table, k.clone(), None)?;
        }
    }
    let fk = crate::foreign_key::involved(table);
    let (old_rows, new_rows): (Vec<Row>, Vec<Row>) = if fk {
        (old.iter().map(|r| (*r).clone()).collect(), changes.iter().map(|c| c.2.clone()).collect())
    } else {
        (Vec::new(), Vec::new())
    };
    for (_, nk, row) in changes {
        txn.write(table, nk, Some(row))?;
    }
    if fk {
        crate::foreign_key::after_update(txn, table, &old_rows, &new_rows).await?;
    }
    Ok(())
}

async fn delete(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    rows: Rows<'_>,
    returning: Option<&[Expr]>,
    params: &[Datum],
) -> Result<QueryResult> {
    delete_rows(txn, table, rows, returning, params, true).await
}

/// DELETE's rows; `fire`: whether DELETE's triggers fire (TRUNCATE's rows fire none).
async fn delete_rows(
    txn: &mut Txn,
    table: &Arc<TableDef>,
    rows: Rows<'_>,
    returning: Option<&[Expr]>,
    params: &[Datum],
    fire: bool,
) -> Result<QueryResult> {
    txn.check_writable("DELETE")?;
    let fired = if fire { crate::triggers::Fired::of(table, crate::triggers::Op::Delete, &[]) } else { None };
    if let Some(f) = &fired {
        f.statement(txn, true).await?;
    }
    if crate::triggers::is_view(table) {
        // A view's INSTEAD OF triggers do the delete; RETURNING reads the rows they deleted.
        let f = fired.as_ref().ok_or_else(|| SqlError::internal("a view delete without INSTEAD OF triggers"))?;
        let old: Vec<Row> = view_rows(txn, table, &rows, params).await?.into_iter().map(|(_, r)| r).collect();
        let kept = f.instead_rows(txn, old.iter().map(|r| (Some(r.clone()), r.clone())).collect()).await?;
        let done: Vec<Row> = old.into_iter().zip(kept).filter(|(_, k)| k.is_some()).map(|(r, _)| r).collect();
        let out = returning_rows(returning, &done, params)?;
        f.statement(txn, false).await?;
        return Ok(QueryResult { rows: out, tag: format!("DELETE {}", done.len()), notices: vec![] });
    }
    let mut matched = rows_to_change(txn, table, &rows, params).await?;
    if let Some(f) = fired.as_ref().filter(|f| f.has_row_triggers()) {
        // BEFORE ROW triggers may skip a row (NULL).
        let kept = f.before_rows(txn, matched.iter().map(|(_, r)| (Some(r.clone()), r.clone())).collect()).await?;
        matched = matched.into_iter().zip(kept).filter(|(_, k)| k.is_some()).map(|(m, _)| m).collect();
    }
    let rows: Vec<Row> = matched.iter().map(|(_, r)| r.clone()).collect();
    let out = returning_rows(returning, &rows, params)?;
    let count = matched.len();
    if !table.indexes.is_empty() {
        let changes: Vec<crate::index::RowChange> = matched.iter().map(|(_, r)| (Some(r), None)).collect();
        crate::index::maintain(txn, table, &changes).await?;
    }
    for (k, _) in matched {
        txn.write(table, k, None)?;
    }
    crate::foreign_key::after_delete(txn, table, &rows).await?;
    if let Some(f) = &fired {
        let pairs: Vec<(Option<&Row>, Option<&Row>)> = rows.iter().map(|r| (Some(r), None)).collect();
        f.after_rows(txn, &pairs).await?;
        f.statement(txn, false).await?;
    }
    Ok(QueryResult { rows: out, tag: format!("DELETE {count}"), notices: vec![] })
}
