//! The binder: parses SQL with sqlparser (PostgreSQL dialect) and turns each statement into a
//! [`Plan`] with every name resolved against the catalog of the local shard and every
//! expression typed, PostgreSQL's way: untyped literals and parameters take the type their
//! context needs, operators promote integers to floats, and what PostgreSQL rejects gets its
//! SQLSTATE and message (<https://www.postgresql.org/docs/15/typeconv.html>).

use crate::error::{code, Result, SqlError};
use crate::expr::{AggFunc, AggOrder, AggSpec, ArithOp, CmpOp, Ctx, Expr, Func};
use crate::types::{self, CastContext};
use orbit_engine::table::{ColumnDef, Datum, OidKind, SqlType, TableDef};
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::sync::Arc;

/// A sqlparser visitor's `pre_visit_query` / `post_visit_query` counting how many subqueries
/// deep it is (its `depth` field); `mut` for a `VisitorMut`.
macro_rules! subquery_depth {
    () => {
        fn pre_visit_query(&mut self, _: &sqlparser::ast::Query) -> std::ops::ControlFlow<()> {
            self.depth += 1;
            std::ops::ControlFlow::Continue(())
        }

        fn post_visit_query(&mut self, _: &sqlparser::ast::Query) -> std::ops::ControlFlow<()> {
            self.depth -= 1;
            std::ops::ControlFlow::Continue(())
        }
    };
    (mut) => {
        fn pre_visit_query(&mut self, _: &mut sqlparser::ast::Query) -> std::ops::ControlFlow<()> {
            self.depth += 1;
            std::ops::ControlFlow::Continue(())
        }

        fn post_visit_query(&mut self, _: &mut sqlparser::ast::Query) -> std::ops::ControlFlow<()> {
            self.depth -= 1;
            std::ops::ControlFlow::Continue(())
        }
    };
}

mod alter_column;
mod alter_sequence;
mod alter_type;
pub use alter_column::AlterColumn;
pub use alter_sequence::AlterSequence;
pub use alter_type::Retype;
mod arrays;
mod comment;
mod composites;
mod conflict_target;
mod constraints;
mod create_type;
mod ctas_columns;
mod cursors;
mod domain;
pub(crate) use domain::{domain_oid, value_keyword_text};
mod drop_key;
mod error_position;
mod float_output;
mod foreign_keys;
mod from_scalar;
mod functions;
mod generated;
mod grouping;
pub(crate) mod index_exprs;
mod json_ops;
mod lateral;
mod literals;
mod lock;
mod long_names;
mod sql_functions;
pub use long_names::{take_notices as take_parse_notices, MAX_IDENTIFIER_LENGTH};
mod array_assign;
mod create_like;
pub mod locking;
pub mod matviews;
pub mod merge;
mod modify_join;
mod nested_join;
pub mod notify;
mod numeric_junk;
mod ordered_set;
mod parse_cache;
mod partitions;
mod prepare;
mod privileges;
mod recursion_check;
pub mod reindex;
mod rename;
mod row_compare;
pub(crate) mod schema;
mod schema_elements;
pub mod set_config;
mod sizes;
mod srf;
mod sublink_levels;
mod subquery;
mod temporal;
mod text_math;
pub mod triggers;
mod type_call;
mod updatable_views;
mod view_text;
pub(crate) use subquery::markers_printed;
pub(crate) use updatable_views::view_updatable_columns;
mod utility;
mod views;
mod whole_row;
mod window;
pub use constraints::bind_check;
pub(crate) use constraints::check_columns;
pub(crate) use constraints::index_owner;
pub use generated::{fill_generated, GeneratedColumns};
pub use index_exprs::bind_index;
pub(crate) use index_exprs::{key_text, pg_text, pretty_text};
pub use prepare::explain_execute;
pub use prepare::{bind_prepared_again, execute_args, Discard};
use temporal::{datetime_common, is_temporal};

/// A column of a statement's result (RowDescription).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputColumn {
    pub name: String,
    pub ty: SqlType,
    /// OID of the table the column comes from, else 0.
    pub table_oid: u32,
    /// Its attribute number (1-based), else 0.
    pub column: i16,
}

#[derive(Debug, Clone)]
pub enum SortSource {
    /// An output column.
    Output(usize),
    /// An expression over the input row.
    Input(Expr),
}

#[derive(Debug, Clone)]
pub struct SortKey {
    pub source: SortSource,
    pub desc: bool,
    pub nulls_first: bool,
}

/// `SELECT DISTINCT`: which output rows count as duplicates (all but the first are dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distinct {
    None,
    /// Rows equal in every column.
    All,
    /// `DISTINCT ON (...)`: rows equal in the first n sort keys (the binder puts the
    /// DISTINCT ON expressions there).
    On(usize),
}

#[derive(Debug, Clone)]
pub struct SelectPlan {
    /// `FOR UPDATE [NOWAIT | SKIP LOCKED]`: the rows it returns are locked for the transaction
    /// first, waiting for (or failing on, or skipping) rows other transactions hold.
    pub for_update: Option<crate::txn::RowLocking>,
    /// Over a join: the tables whose rows the locking clauses lock ([`locking`]).
    pub lock_targets: Vec<locking::LockTarget>,
    /// FROM with several tables (then `table` is None): the rows are joined first.
    pub join: Option<Box<crate::join::JoinPlan>>,
    pub table: Option<Arc<TableDef>>,
    pub filter: Option<Expr>,
    /// Primary-key values when the filter pins one row: the scan goes to one shard.
    pub key: Option<Vec<Expr>>,
    pub aggs: Vec<AggSpec>,
    /// GROUP BY, HAVING or an aggregate: rows are grouped ([`crate::group`]) and the select
    /// list, HAVING and ORDER BY read the group (`Column(k)` is the k-th GROUP BY value).
    pub grouped: bool,
    /// The GROUP BY expressions, over the input row.
    pub group_by: Vec<Expr>,
    /// GROUPING SETS, ROLLUP, CUBE: the GROUP BY expressions of each set (empty: one set of
    /// all). A group's values are then followed by the number of its set.
    pub grouping_sets: Vec<Vec<usize>>,
    /// How many of the last GROUP BY expressions are columns the grouped primary keys
    /// determine (PostgreSQL's functional dependency): carried with each group for the select
    /// list, not hashed nor compared.
    pub group_dependent: usize,
    pub having: Option<Expr>,
    pub distinct: Distinct,
    /// Whether GROUP BY and DISTINCT hash or sort (`enable_hashagg` when bound).
    pub group_strategy: crate::group::Strategy,
    /// `enable_seqscan` / `enable_indexscan` when bound, for the read of `table`.
    pub paths: crate::exec::index_scan::Paths,
    pub projection: Vec<Expr>,
    pub order_by: Vec<SortKey>,
    pub limit: Option<Expr>,
    /// `FETCH FIRST n ROWS WITH TIES`: LIMIT also keeps the rows after the n-th that tie with
    /// it in ORDER BY.
    pub limit_ties: bool,
    pub offset: Option<Expr>,
    /// Window function calls ([`crate::window`]): call k's value is `Agg(aggs.len() + k)`.
    pub windows: Vec<crate::window::WindowCall>,
    /// Set-returning calls of the select list and ORDER BY ([`crate::srf`]): call k's value is
    /// `Agg(aggs.len() + k)` (never with window calls).
    pub srfs: Vec<crate::srf::SrfCall>,
}

impl SelectPlan {
    /// `SELECT <projection> FROM table`: every row, nothing grouped, sorted or limited (the
    /// caller sets what else it needs).
    pub fn reading(table: Arc<TableDef>, projection: Vec<Expr>) -> SelectPlan {
        SelectPlan {
            for_update: None,
            lock_targets: vec![],
            join: None,
            table: Some(table),
            filter: None,
            key: None,
            aggs: vec![],
            grouped: false,
            group_by: vec![],
            having: None,
            distinct: Distinct::None,
            group_strategy: crate::group::Strategy::Hash,
            paths: crate::exec::index_scan::Paths::ALL,
            projection,
            order_by: vec![],
            limit: None,
            limit_ties: false,
            offset: None,
            grouping_sets: vec![],
            group_dependent: 0,
            windows: vec![],
            srfs: vec![],
        }
    }
}

#[derive(Debug, Clone)]
pub enum Plan {
    /// An empty query string.
    Empty,
    /// DECLARE ... CURSOR FOR query ([`crate::cursors`]).
    DeclareCursor {
        declare: Box<crate::cursors::Declare>,
        query: Box<Plan>,
    },
    /// FETCH (or MOVE) on a cursor.
    Fetch {
        name: String,
        op: crate::cursors::FetchOp,
        is_move: bool,
    },
    /// CLOSE name (None: CLOSE ALL).
    CloseCursor(Option<String>),
    CreateTable {
        def: TableDef,
        if_not_exists: bool,
        /// The sequences of its SERIAL and IDENTITY columns, created with it.
        sequences: Vec<crate::sequence::SeqDef>,
        /// A temporary table's ON COMMIT (None: not temporary).
        on_commit: Option<crate::temp_tables::OnCommit>,
    },
    /// CREATE TABLE ... PARTITION OF (`crate::partitions`): the partition's definition, after
    /// the checks of [`Plan::PartitionChecks`]'s form (a row of the parent's DEFAULT partition
    /// the new bound would take).
    CreatePartition {
        def: TableDef,
        checks: Vec<(String, &'static str, String)>,
        session: (i32, String),
    },
    /// An ALTER TABLE of a partitioned table's columns (`inner`), then every partition of
    /// `root` redefined with its columns (`crate::partitions`).
    RefreshPartitions {
        inner: Box<Plan>,
        root: String,
    },
    /// ALTER TABLE ... ATTACH / DETACH PARTITION's checks before its steps (`bind/partitions.rs`):
    /// each query must find no row, else its error (SQLSTATE, message).
    PartitionChecks {
        checks: Vec<(String, &'static str, String)>,
        session: (i32, String),
        /// The partitioned table whose hierarchy changes (held to the block's end).
        hold: Option<String>,
    },
    CreateSequence {
        def: crate::sequence::SeqDef,
        if_not_exists: bool,
    },
    /// EXPLAIN [ANALYZE]: the lines of `inner`'s plan; with ANALYZE `inner` runs too.
    Explain {
        inner: Box<Plan>,
        lines: Vec<String>,
        analyze: bool,
        /// With ANALYZE: what redrawing the plan with the actual rows needs.
        redraw: Option<Box<crate::explain::Redraw>>,
        /// FORMAT: JSON's document is a `json` value, the others text.
        format: crate::explain::Format,
    },
    DropSequence {
        names: Vec<String>,
        if_exists: bool,
        /// CASCADE: column defaults that call nextval on them are dropped too.
        cascade: bool,
    },
    DropTable {
        names: Vec<String>,
        if_exists: bool,
        /// CASCADE: the foreign keys of other tables that reference them are dropped first.
        cascade: bool,
        /// DROP MATERIALIZED VIEW (of materialized views only).
        matview: bool,
        /// The DELETEs of the rows of the partitions dropped without their root
        /// (`crate::partitions::drop_list`), run as the statement's steps before the drop.
        partition_rows: Vec<String>,
        session: (i32, String),
    },
    /// REFRESH MATERIALIZED VIEW (`bind/matviews.rs`).
    RefreshMatview(Box<matviews::Refresh>),
    Insert {
        table: Arc<TableDef>,
        /// The rows of VALUES (or DEFAULT VALUES): one expression per column of the table.
        rows: Vec<Vec<Expr>>,
        /// INSERT ... SELECT: the query, and per column of the table an expression over a row
        /// of its output (rows is empty then).
        select: Option<Box<(SelectPlan, Vec<Expr>)>>,
        on_conflict: Option<OnConflict>,
        returning: Option<Vec<Expr>>,
        /// The check options of the views it goes through, innermost first.
        checks: Vec<ViewCheckExpr>,
    },
    Select(Box<SelectPlan>),
    /// MERGE ([`merge`]).
    Merge(Box<merge::MergePlan>),
    /// A query with derived relations, CTEs or subqueries in expressions ([`crate::relation`]).
    Query(Box<crate::relation::QueryPlan>),
    Update {
        table: Arc<TableDef>,
        filter: Option<Expr>,
        key: Option<Vec<Expr>>,
        sets: Vec<(usize, Expr)>,
        returning: Option<Vec<Expr>>,
        /// `UPDATE ... FROM`: the target joined with the FROM tables (target first); filter,
        /// sets and returning then read the joined row.
        join: Option<Box<crate::join::JoinPlan>>,
        /// `WHERE CURRENT OF cursor` (filter and key None): the row the cursor is on.
        current_of: Option<String>,
        /// As Insert's (over the joined row with `join`).
        checks: Vec<ViewCheckExpr>,
    },
    Delete {
        table: Arc<TableDef>,
        filter: Option<Expr>,
        key: Option<Vec<Expr>>,
        returning: Option<Vec<Expr>>,
        /// `DELETE ... USING`: as Update's.
        join: Option<Box<crate::join::JoinPlan>>,
        /// As Update's.
        current_of: Option<String>,
    },
    /// `CREATE [OR REPLACE] VIEW` ([`views`]): the view's catalog entry.
    CreateView {
        def: TableDef,
        or_replace: bool,
        /// The view was not written TEMP but reads a temporary relation, so it is one
        /// (PostgreSQL's NOTICE "view ... will be a temporary view").
        made_temp: bool,
    },
    /// `DROP VIEW [IF EXISTS] names [CASCADE]`.
    DropView {
        names: Vec<String>,
        if_exists: bool,
        cascade: bool,
    },
    /// `BEGIN` / `START TRANSACTION` (read_only: `READ ONLY` / `READ WRITE`, None: the
    /// session's default_transaction_read_only; isolation: `ISOLATION LEVEL`).
    Begin {
        read_only: Option<bool>,
        /// `[NOT] DEFERRABLE`; None: the session's default_transaction_deferrable.
        deferrable: Option<bool>,
        /// Written `START TRANSACTION` (its command tag), not `BEGIN`.
        start: bool,
        isolation: Option<crate::txn::Isolation>,
    },
    /// COMMIT [AND [NO] CHAIN]: with `chain`, a new block with the same modes starts at once.
    Commit {
        chain: bool,
    },
    /// ROLLBACK [AND [NO] CHAIN].
    Rollback {
        chain: bool,
    },
    Savepoint(String),
    ReleaseSavepoint(String),
    RollbackTo(String),
    /// `DEALLOCATE name` (None: `DEALLOCATE ALL`): handled by the connection.
    Deallocate(Option<String>),
    /// `PREPARE name [(types)] AS statement` ([`prepare`]): the statement bound; the
    /// connection keeps it.
    Prepare {
        name: String,
        statement: Box<Prepared>,
    },
    /// `EXECUTE name [(args)]`: the connection finds the statement and binds the arguments
    /// ([`execute_args`]).
    Execute {
        name: String,
        args: Vec<ast::Expr>,
    },
    /// `DISCARD ALL | PLANS | SEQUENCES | TEMP`: the connection's state.
    Discard(Discard),
    /// `SET [LOCAL] name = value` (value None: `DEFAULT`), checked by [`crate::settings`]; the
    /// connection holds the values.
    Set {
        name: &'static str,
        value: Option<String>,
        local: bool,
    },
    /// Several SETs of one statement (`SET TRANSACTION ISOLATION LEVEL ..., READ ONLY`), each
    /// a [`Plan::Set`], applied in order.
    Sets(Vec<Plan>),
    /// `LOCK TABLE ... IN ACCESS SHARE MODE` (`bind/lock.rs`): the tables, held by the block
    /// against other sessions' DDL until it ends (the connection does it).
    LockTables(Vec<String>),
    /// `RESET name` / `RESET ALL` (None).
    Reset(Option<&'static str>),
    /// `SHOW name` (its canonical spelling; None: `SHOW ALL`): the connection holds the values.
    Show(Option<&'static str>),
    /// `SELECT set_config(name, value, is_local) [, ...]` ([`set_config`]): a SET (SET LOCAL)
    /// per call, answered with the values set; the connection checks each name and value as
    /// it runs them (they may be parameters).
    SetConfig(Vec<set_config::Call>),
    /// `LISTEN channel`: the session listens once its transaction commits ([`notify`]).
    Listen(String),
    /// `UNLISTEN channel` / `UNLISTEN *` (None), once the transaction commits.
    Unlisten(Option<String>),
    /// `NOTIFY channel [, payload]` (`row`: false) or `SELECT pg_notify(channel, payload)
    /// [, ...]` (one row of void values): each (channel, payload), constants or parameters,
    /// sent to the listening sessions when the transaction commits.
    Notify {
        calls: Vec<[Expr; 2]>,
        row: bool,
    },
    /// `SELECT * FROM pg_listening_channels()`: the session's channels.
    ListeningChannels,
    /// `TRUNCATE [TABLE] t [, ...] [RESTART IDENTITY] [CASCADE]`: every row of each table
    /// deleted (and logged as such); the tables CASCADE added, named in NOTICEs; whether the
    /// sequences the tables own start over.
    Truncate(Vec<Arc<TableDef>>, Vec<String>, bool),
    /// `COPY ... FROM STDIN` / `COPY ... TO STDOUT`: run by the connection (the copy
    /// sub-protocol), rows through [`crate::exec::copy_insert`] / [`crate::exec::copy_out`].
    Copy(Box<crate::copy::CopyPlan>),
    /// VACUUM / ANALYZE of `tables` (every table when empty); `tag` is the command tag.
    Maintenance {
        vacuum: bool,
        analyze: bool,
        tables: Vec<Arc<TableDef>>,
        /// Per table, the columns listed for ANALYZE (empty: every column).
        columns: Vec<Vec<usize>>,
        tag: &'static str,
        /// `default_statistics_target` when bound: most common values and histogram buckets
        /// ANALYZE keeps per column, and 300 times it rows sampled per table.
        statistics_target: usize,
    },
    /// `EXPLAIN [ANALYZE] EXECUTE name (args)`: the connection finds the statement and binds
    /// `explain` over its query with the arguments in place of the parameters
    /// ([`prepare::explain_execute`]), as PostgreSQL's custom plan shows them.
    ExplainExecute {
        name: String,
        args: Vec<ast::Expr>,
        explain: Box<ast::Statement>,
    },
    /// `SET CONSTRAINTS {ALL | name, ...} {DEFERRED | IMMEDIATE}` (names as written, folded;
    /// None: ALL).
    SetConstraints {
        names: Option<Vec<String>>,
        deferred: bool,
    },
    /// A statement with nothing to do (`ALTER TABLE IF EXISTS` of a missing table): its tag
    /// and the notice PostgreSQL sends (a second line on is the notice's DETAIL). Also the
    /// first of [`Plan::Steps`] whose notice comes first (DROP COLUMN ... CASCADE of a column
    /// generated columns read).
    Skipped {
        tag: &'static str,
        notice: String,
    },
    /// `CREATE [UNIQUE] INDEX`: the index built from the table's rows, then added to its
    /// definition.
    CreateIndex {
        table: Arc<TableDef>,
        index: orbit_engine::table::IndexDef,
        if_not_exists: bool,
        /// CONCURRENTLY: refused inside a transaction block (25001), as PostgreSQL refuses it;
        /// otherwise built as any CREATE INDEX is (writers of the table wait for it).
        concurrently: bool,
    },
    /// `ALTER TABLE t DROP CONSTRAINT name` of a UNIQUE constraint: its index goes.
    DropUniqueConstraint {
        table: Arc<TableDef>,
        name: String,
    },
    /// `DROP INDEX [IF EXISTS] name, ...`.
    DropIndex {
        names: Vec<String>,
        if_exists: bool,
    },
    /// CREATE / DROP / ALTER SCHEMA.
    Schema(crate::schema::SchemaPlan),
    /// COMMENT ON.
    Comment(crate::comment::CommentPlan),
    /// CREATE / ALTER / DROP TYPE of an enum type (`bind/create_type.rs`, `exec/enum_types.rs`).
    EnumType(crate::enums::EnumPlan),
    /// CREATE / DROP TYPE of a composite type (`bind/create_type.rs`, `exec/composite_types.rs`).
    CompositeType(crate::composites::CompositePlan),
    /// CREATE / DROP EXTENSION.
    Extension(crate::extensions::ExtensionPlan),
    /// CREATE / ALTER / DROP DOMAIN (`bind/domain.rs`, `exec/domains.rs`).
    Domain(crate::domains::DomainPlan),
    /// CREATE [OR REPLACE] / DROP FUNCTION of a SQL function (`bind/sql_functions.rs`,
    /// `exec/functions.rs`).
    Function(crate::functions_sql::FunctionPlan),
    /// `DO 'body'`: a PL/pgSQL block run once ([`crate::plpgsql::do_block`]).
    Do {
        body: String,
    },
    /// `CALL p(args)`: the query `SELECT p(args)` whose one value is the procedure's result
    /// (`outputs` of them: none, its one OUT parameter's, or a record of several).
    Call {
        query: Box<Plan>,
        outputs: usize,
    },
    /// CREATE / DROP TRIGGER (`bind/triggers.rs`, `exec/triggers.rs`).
    Trigger(triggers::TriggerPlan),
    /// `ALTER {TABLE | INDEX | VIEW} t RENAME TO new_name` (`tag`: which) of a table, view or
    /// index (`bind/rename.rs`).
    RenameTable {
        table: Arc<TableDef>,
        new_name: String,
        tag: &'static str,
    },
    /// `ALTER {SEQUENCE | TABLE | INDEX} s RENAME TO new_name` of a sequence (`bind/rename.rs`;
    /// both names catalog names).
    RenameSequence {
        name: String,
        new_name: String,
        tag: &'static str,
    },
    /// `ALTER {TABLE | VIEW} ... SET SCHEMA`: the relation, then its indexes, renamed into the
    /// schema (`bind/rename.rs`).
    SetSchema {
        renames: Vec<(Arc<TableDef>, String)>,
        tag: &'static str,
    },
    /// REINDEX (`bind/reindex.rs`).
    Reindex(Box<reindex::ReindexPlan>),
    /// A new definition of `table` that leaves its columns, key and rows as they are (a
    /// constraint or primary key index renamed: `bind/rename.rs`).
    Redefine {
        table: Arc<TableDef>,
        def: TableDef,
        tag: &'static str,
    },
    /// `ALTER TABLE t action, action, ...` and CREATE TABLE ... AS: the first statement's plan,
    /// then each later one's text (`ALTER TABLE t action`, `INSERT INTO t query`), bound and run
    /// in turn once the ones before it changed the catalog; all of them or none (the steps run
    /// as a block's statements do, undone together on an error).
    Steps {
        first: Box<Plan>,
        rest: Vec<String>,
        /// CREATE TABLE ... AS (the first step creates, the next fills): tagged `SELECT n`, and
        /// nothing filled when IF NOT EXISTS found the table.
        select_tag: bool,
        /// The session the statement was bound for (its backend pid and search_path): the
        /// later steps bind as it, whatever other sessions of the shard bound meanwhile.
        session: (i32, String),
    },
    /// `ALTER TABLE t DROP CONSTRAINT key CASCADE`: the other tables' foreign keys that use
    /// the key go first (`children`: each table and its new definition; `lines`: the NOTICE's,
    /// by table OID), then `then` drops the key.
    DropKeyCascade {
        children: Vec<(Arc<TableDef>, TableDef)>,
        lines: Vec<(u32, Vec<String>)>,
        then: Box<Plan>,
    },
    /// `ALTER TABLE t ADD [CONSTRAINT name] PRIMARY KEY (columns)`: the table re-keyed.
    AddPrimaryKey {
        table: Arc<TableDef>,
        columns: Vec<usize>,
        name: String,
    },
    /// `ALTER TABLE t ADD COLUMN / DROP COLUMN / RENAME COLUMN`: the table rewritten under its
    /// new definition `def`.
    RewriteTable {
        table: Arc<TableDef>,
        def: TableDef,
        change: ColumnChange,
    },
    /// `ALTER TABLE t ALTER COLUMN c ...` (`bind/alter_column.rs`).
    AlterColumn(Box<alter_column::AlterColumn>),
    /// `ALTER SEQUENCE s ...` (`bind/alter_sequence.rs`).
    AlterSequence(alter_sequence::AlterSequence),
}

/// How ALTER TABLE changes a table's rows.
#[derive(Debug, Clone)]
pub enum ColumnChange {
    /// A new last column: its DEFAULT computed for every row (NULL without one).
    Add(Expr),
    /// The column at this index removed.
    Drop(usize),
    /// Rows unchanged (a column renamed, a constraint dropped).
    Rename,
    /// A column renamed that views or materialized views read: rows unchanged, and each of
    /// them gets the query text given (`bind/view_text.rs`).
    RenameInViews(Vec<(Arc<TableDef>, String)>),
    /// Rows unchanged, checked against the CHECK constraints the new definition adds.
    Check,
    /// ALTER COLUMN ... TYPE: the column at this index takes the value of the expression over
    /// the old row (`bind/alter_type.rs`); rows are checked against every CHECK constraint.
    Retype(usize, Expr),
}

/// A view's WITH CHECK OPTION on an INSERT or UPDATE through it (`bind/updatable_views.rs`):
/// every row the statement writes must make `cond` (over the row, as RETURNING reads it)
/// true, else 44000 naming `view` (PostgreSQL's ExecWithCheckOptions; NULL fails too).
#[derive(Debug, Clone)]
pub struct ViewCheckExpr {
    pub view: String,
    pub cond: Expr,
    pub kind: CheckKind,
}

/// What a [`ViewCheckExpr`] refusing a row means.
#[derive(Debug, Clone)]
pub enum CheckKind {
    /// A view's WITH CHECK OPTION (44000).
    View,
    /// A partition's constraint, written through the partition (23514).
    Partition,
    /// A partitioned table with no partition for the row (23514), naming the key's columns
    /// and their expressions over the row.
    Routing { columns: Vec<String>, key: Vec<Expr> },
}

/// An expression's SQL text parsed (PostgreSQL dialect).
pub(crate) fn parse_expr_text(text: &str) -> Result<ast::Expr> {
    sql_functions::parse_expr(text)
}

/// The system column `tableoid` of a user table's rows: its OID, or for a partitioned table the
/// OID of the leaf partition each row is in (None: the scope is no user table, such as a
/// derived table).
fn table_oid(s: &Scope) -> Result<Option<Expr>> {
    let Some(def) = lookup_table(&s.def.name).filter(|d| d.oid == s.def.oid && d.oid != 0) else {
        return Ok(None);
    };
    if def.view.is_some() || def.index_of.is_some() {
        return Ok(None);
    }
    let oid = |o: u32| format!("CAST({o} AS oid)");
    let text = if def.partition_key.is_some() {
        let leaves: Vec<Arc<TableDef>> =
            crate::partitions::descendants(&def.name).into_iter().filter(|d| d.partition_key.is_none()).collect();
        let arms: Vec<String> = leaves
            .iter()
            .filter_map(|l| Some(format!("WHEN {} THEN {}", crate::partitions::constraint_upto(l, None)?, oid(l.oid))))
            .collect();
        if arms.is_empty() {
            oid(def.oid)
        } else {
            format!("CASE {} ELSE {} END", arms.join(" "), oid(def.oid))
        }
    } else {
        oid(def.oid)
    };
    let mut b = Binder::detached("tableoid");
    let scope = Scope { def: s.def, alias: s.alias.clone(), joined: None };
    b.expr(&sql_functions::parse_expr(&text)?, Some(&scope)).map(Some)
}

/// COPY FROM into `table`: the table whose storage takes the rows (a partition's root) and the
/// checks of each row (a partition's constraint, then the routing checks of a partitioned
/// table), bound over the root's rows.
pub fn copy_target(table: &Arc<TableDef>) -> Result<(Arc<TableDef>, Vec<ViewCheckExpr>)> {
    if table.partition_key.is_none() && table.partition_of.is_none() {
        return Ok((table.clone(), Vec::new()));
    }
    let root = crate::partitions::root(table);
    let mut b = Binder::detached("COPY");
    let scope = Scope { def: &root, alias: crate::schema::relname(&root.name).to_string(), joined: None };
    let mut out = Vec::new();
    if let Some(cond) = crate::partitions::constraint_upto(table, None) {
        let cond = b.condition(&sql_functions::parse_expr(&cond)?, Some(&scope), "WHERE")?;
        let view = crate::schema::relname(&table.name).to_string();
        out.push(ViewCheckExpr { view, cond, kind: CheckKind::Partition });
    }
    out.extend(b.routing(table, &scope)?);
    Ok((root, out))
}

/// `ON CONFLICT`: what a proposed row that collides with an existing one does.
#[derive(Debug, Clone)]
pub enum OnConflict {
    /// `DO NOTHING`: on the arbiter named, or (None) on the primary key and every unique index.
    Nothing(Option<Arbiter>),
    /// `DO UPDATE SET ... [WHERE ...]` on the arbiter: expressions over the existing row
    /// followed by the proposed one (`EXCLUDED`), i.e. column `n + i` is `EXCLUDED`'s column i.
    Update { arbiter: Arbiter, sets: Vec<(usize, Expr)>, filter: Option<Expr> },
}

/// The unique index whose collision ON CONFLICT handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arbiter {
    PrimaryKey,
    /// The table's unique index at this position of its `indexes`.
    Index(usize),
}

/// A bound statement: its plan, result columns and parameter types.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub plan: Plan,
    pub columns: Vec<OutputColumn>,
    pub param_types: Vec<SqlType>,
    /// The relation names binding looked up, with the OID each had (0: none)
    /// ([`crate::relation_lock`]: what another block's DDL makes the statement wait for, and
    /// when a prepared statement must be bound again).
    pub relations: Vec<(String, u32)>,
    /// The session parameters binding read (`current_setting`), with their values then: the
    /// statement is bound again when one changes ([`crate::settings::changed`]).
    pub settings: crate::settings::Read,
    /// Whether it calls a size function (pg_table_size, ...): the sizes are gathered from the
    /// shards before it runs ([`crate::catalog_sizes::with_sizes`]).
    pub reads_sizes: bool,
}

/// What an INSERT target column names below the column: an array element or slice
/// (`a[i]`), or a field of a composite value (`c.f.g`).
#[derive(Clone)]
enum Indirection {
    Subscript(Vec<ast::Expr>),
    Fields(Vec<String>),
}

/// Parses a query string into its statements. A syntax error anywhere rejects the whole
/// string, as in PostgreSQL (it parses a simple Query message whole before running any of it).
pub fn parse(sql: &str) -> Result<Vec<ast::Statement>> {
    parse_cache::parse(sql, parse_text)
}

/// [`parse`] without the cache of statement shapes.
fn parse_text(sql: &str) -> Result<Vec<ast::Statement>> {
    long_names::clear_notices();
    // Names longer than 63 bytes are cut first, as PostgreSQL's scanner cuts them.
    let truncated = long_names::truncate(sql);
    let sql = truncated.as_deref().unwrap_or(sql);
    // U& literals, E'' literals' Unicode escapes and continued literals, as PostgreSQL's
    // scanner reads them (same lines and columns for the rest, so positions are the client's).
    let as_sent = sql;
    let literals = literals::rewrite(sql)?;
    let sql = literals.as_deref().unwrap_or(sql);
    // A number run into an identifier (`123abc`): PostgreSQL's scanner refuses it.
    if let Some(e) = numeric_junk::check(sql) {
        return Err(e);
    }
    // COPY, VACUUM and ANALYZE alone in the string: PostgreSQL's grammar for them, not
    // sqlparser's (see `utility`); FETCH and MOVE likewise (see `cursors`).
    if let Some(marker) = utility::marker(sql).or_else(|| cursors::marker(sql)) {
        return Ok(vec![marker]);
    }
    // CREATE / ALTER / DROP DOMAIN: PostgreSQL's grammar for them, not sqlparser's (see
    // `bind/domain.rs`).
    let rewritten = domain::domain_syntax(sql);
    let sql = rewritten.as_deref().unwrap_or(sql);
    // `x ISNULL`: PostgreSQL's postfix operator, which sqlparser reads as an alias.
    let rewritten_isnull = isnull_syntax(sql);
    let sql = rewritten_isnull.as_deref().unwrap_or(sql);
    // DO blocks: a marker SET holding the block (see `do_syntax`).
    let rewritten_do = do_syntax(sql);
    let sql = rewritten_do.as_deref().unwrap_or(sql);
    // CREATE TRIGGER: a marker SET holding the statement (see `bind/triggers.rs`).
    let rewritten_trigger = triggers::create_trigger_syntax(sql);
    let sql = rewritten_trigger.as_deref().unwrap_or(sql);
    // CREATE PROCEDURE: a function returning the procedure marker type (see
    // `bind/sql_functions.rs`).
    let rewritten_procedure = sql_functions::procedure_syntax(sql);
    let sql = rewritten_procedure.as_deref().unwrap_or(sql);
    let e = match Parser::parse_sql(&PostgreSqlDialect {}, sql) {
        Ok(mut stmts) => {
            crate::stack_depth::check_statements(&mut stmts)?;
            if stmts.iter().any(|s| !no_snapshot(transaction_modes_of(s))) {
                // ISOLATION LEVEL SNAPSHOT is sqlparser's (T-SQL's), not PostgreSQL's; here it
                // is only the marker DEFERRABLE is rewritten into
                // (`serializable::deferrable_syntax`).
                return Err(snapshot_syntax_error(sql));
            }
            return Ok(stmts);
        }
        Err(e) => e,
    };
    // Syntax PostgreSQL takes and sqlparser does not: parse it rewritten.
    // CREATE FUNCTION's COST / ROWS / LEAKPROOF (`sql_functions::options_syntax`), GROUP BY's
    // forms (`grouping::syntax`), ROWS FROM and WITH queries' SEARCH / CYCLE
    // clauses first (markers `subquery::rows_from` and `subquery::search_cycle` read), then
    // the rest.
    let options = sql_functions::options_syntax(sql);
    let sql_fo = options.as_deref().unwrap_or(sql);
    let grouping = grouping::syntax(sql_fo).or(options);
    let sql_gs = grouping.as_deref().unwrap_or(sql);
    let rows_from = subquery::rows_from_syntax(sql_gs).or(grouping);
    let sql_rf = rows_from.as_deref().unwrap_or(sql);
    let search_cycle = subquery::search_cycle_syntax(sql_rf).or(rows_from);
    let sql_sc = search_cycle.as_deref().unwrap_or(sql);
    let rewritten = postgres_only_syntax(sql_sc).or_else(|| crate::serializable::deferrable_syntax(sql_sc));
    if let Some(q) = rewritten.or(search_cycle) {
        if let Ok(mut stmts) = Parser::parse_sql(&PostgreSqlDialect {}, &q) {
            crate::stack_depth::check_statements(&mut stmts)?;
            return Ok(stmts);
        }
    }
    let refused = generated::by_default_refused(sql).or_else(|| cursors::current_of_refused(sql));
    let shown = if literals.is_some() { as_sent } else { sql };
    Err(refused.unwrap_or_else(|| syntax_error(shown, &e.to_string())))
}

/// `sql` with PostgreSQL's postfix `ISNULL` (a word not after AS or a dot, not before a
/// parenthesis) written `IS NULL`; None when it has none.
fn isnull_syntax(sql: &str) -> Option<String> {
    if !sql.as_bytes().windows(6).any(|w| w.eq_ignore_ascii_case(b"isnull")) {
        return None;
    }
    let t = crate::plpgsql::scan::tokens(sql).ok()?;
    let mut out = String::with_capacity(sql.len() + 8);
    let mut copied = 0;
    for (i, tok) in t.iter().enumerate() {
        let after_as = i > 0 && (t[i - 1].is("as") || t[i - 1].is_op("."));
        let call = t.get(i + 1).is_some_and(|n| n.is_op("("));
        if tok.is("isnull") && i > 0 && !after_as && !call {
            out.push_str(&sql[copied..tok.start]);
            out.push_str("IS NULL");
            copied = tok.end;
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

/// The marker SET a `DO` block is written as ([`do_syntax`]).
const DO_MARKER: &str = "\"orbit do\"";

/// `sql` with each `DO [LANGUAGE l] 'body' [LANGUAGE l]` statement written as a marker SET
/// holding the language and the body (sqlparser has no DO); None when it has none.
fn do_syntax(sql: &str) -> Option<String> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    if !sql.as_bytes().windows(2).any(|w| w.eq_ignore_ascii_case(b"do")) {
        return None;
    }
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().ok()?;
    let solid: Vec<_> = tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).collect();
    // Byte offsets of each line's start: a token's location is its line and character column.
    let line_starts: Vec<usize> = std::iter::once(0).chain(sql.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let offset = |line: u64, column: u64| -> Option<usize> {
        let start = *line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let skip = usize::try_from(column).ok()?.checked_sub(1)?;
        Some(sql[start..].char_indices().nth(skip).map_or(sql.len(), |(i, _)| start + i))
    };
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    let mut at_start = true;
    let mut i = 0;
    while i < solid.len() {
        let t = &solid[i].token;
        let is_do = matches!(t, Token::Word(w) if w.keyword == Keyword::DO && w.quote_style.is_none());
        if at_start && is_do {
            let mut j = i + 1;
            let mut language = "plpgsql".to_string();
            let mut body = None;
            loop {
                match solid.get(j).map(|t| &t.token) {
                    Some(Token::Word(w)) if w.keyword == Keyword::LANGUAGE && w.quote_style.is_none() => {
                        let Some(Token::Word(l)) = solid.get(j + 1).map(|t| &t.token) else { return None };
                        language = if l.quote_style.is_some() { l.value.clone() } else { l.value.to_lowercase() };
                        j += 2;
                    }
                    Some(Token::SingleQuotedString(b)) | Some(Token::EscapedStringLiteral(b)) if body.is_none() => {
                        body = Some(b.clone());
                        j += 1;
                    }
                    Some(Token::DollarQuotedString(d)) if body.is_none() => {
                        body = Some(d.value.clone());
                        j += 1;
                    }
                    _ => break,
                }
            }
            let body = body?;
            if !matches!(solid.get(j).map(|t| &t.token), None | Some(Token::SemiColon)) {
                return None;
            }
            let from = offset(solid[i].span.start.line, solid[i].span.start.column)?;
            let to = offset(solid[j - 1].span.end.line, solid[j - 1].span.end.column)?;
            out.push_str(&sql[copied..from]);
            let value = format!("{language}\u{1}{body}").replace('\'', "''");
            out.push_str(&format!("SET {DO_MARKER} TO '{value}'"));
            copied = to;
            at_start = false;
            i = j;
            continue;
        }
        at_start = matches!(t, Token::SemiColon);
        i += 1;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

/// A bound `DO` marker ([`do_syntax`]): the block in plpgsql, else PostgreSQL's errors.
fn do_plan(values: &[ast::Expr]) -> Result<Plan> {
    let text = match values {
        [ast::Expr::Value(v)] => match &v.value {
            ast::Value::SingleQuotedString(s) => s.clone(),
            _ => return Err(SqlError::internal("a DO marker without its text")),
        },
        _ => return Err(SqlError::internal("a DO marker without its text")),
    };
    let (language, body) = text.split_once('\u{1}').unwrap_or(("plpgsql", &text));
    match language {
        "plpgsql" => {
            crate::plpgsql::parse(body, &[], "inline_code_block", false)?;
            Ok(Plan::Do { body: body.to_string() })
        }
        "sql" | "c" | "internal" => {
            Err(SqlError::unsupported(format!("language \"{language}\" does not support inline code execution")))
        }
        l => Err(SqlError::new(code::UNDEFINED_OBJECT, format!("language \"{l}\" does not exist"))),
    }
}

/// The transaction modes a BEGIN / START TRANSACTION / SET TRANSACTION lists (none for others).
fn transaction_modes_of(s: &ast::Statement) -> &[ast::TransactionMode] {
    match s {
        ast::Statement::StartTransaction { modes, .. } => modes,
        ast::Statement::Set(ast::Set::SetTransaction { modes, .. }) => modes,
        _ => &[],
    }
}

fn no_snapshot(modes: &[ast::TransactionMode]) -> bool {
    !modes.iter().any(|m| matches!(m, ast::TransactionMode::IsolationLevel(ast::TransactionIsolationLevel::Snapshot)))
}

/// PostgreSQL's syntax error at a written `SNAPSHOT` isolation level.
fn snapshot_syntax_error(sql: &str) -> SqlError {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().unwrap_or_default();
    let at = tokens.iter().find(|t| matches!(&t.token, Token::Word(w) if w.keyword == Keyword::SNAPSHOT));
    match at {
        Some(t) => {
            SqlError::syntax(&t.token.to_string()).at(char_position(sql, t.span.start.line, t.span.start.column))
        }
        None => SqlError::syntax("SNAPSHOT"),
    }
}

/// The function name BETWEEN SYMMETRIC's low bound is wrapped in (a control character starts
/// it: no name a client writes).
const SYMMETRIC_MARK: &str = "\"\u{1}symmetric\"";

/// `sql` rewritten where PostgreSQL's grammar takes what sqlparser's does not, by tokens (so
/// never inside a literal or a quoted name); None if nothing needed it:
/// - `CREATE TABLE t (a, b) AS query` becomes `CREATE TABLE t AS SELECT * FROM (query) AS
///   <mark>(a, b)` (`ctas_columns::syntax`);
/// - `CREATE VIEW ... AS query WITH [LOCAL | CASCADED] CHECK OPTION` becomes `CREATE VIEW ...
///   WITH (check_option = local | cascaded) AS query` (`views::check_option_syntax`);
/// - `BETWEEN ASYMMETRIC` becomes `BETWEEN`, and `BETWEEN SYMMETRIC a AND b` becomes
///   `BETWEEN <mark>(a) AND b` ([`SYMMETRIC_MARK`]), which binds to either order of the bounds;
/// - the keyword TABLE starting a statement becomes `SELECT * FROM`;
/// - `FOR NO KEY UPDATE` becomes `FOR UPDATE` and `FOR KEY SHARE` becomes `FOR SHARE`: Orbit's
///   row locks have two modes, so these take the stricter of them (PostgreSQL lets a KEY SHARE
///   and a NO KEY UPDATE lock of one row pass each other; here they conflict);
/// - a window frame's `EXCLUDE ...` becomes a marker `window::exclusion_syntax` describes, and
///   a frame bound `'...'::type PRECEDING` becomes `('...'::type) PRECEDING`
///   (`window::frame_literal_syntax`);
/// - `SET CONSTRAINTS ...` becomes a marker SET (`foreign_keys::set_constraints_syntax`);
/// - `t.*::type` becomes `(t.*)::type` and `t.* IS` becomes `(t.*) IS` (`whole_row::star_cast_syntax`);
/// - a select item `(x).*` becomes a marker call the select list expands into x's fields
///   (`whole_row::field_star_syntax`);
/// - `ON CONFLICT ((expr), ...)` keys become marker names (`conflict_target::target_syntax`);
/// - an UPDATE's or DELETE's `WHERE CURRENT OF cursor` becomes a marker call
///   (`cursors::current_of_syntax`);
/// - `SUBSTRING(s SIMILAR p ESCAPE e)` becomes `SUBSTRING(s FROM p FOR e)`
///   (`text_math::substring_similar_syntax`);
/// - a call's last argument `VARIADIC a` becomes a marker call (`text_math::variadic_syntax`);
/// - `LIKE ALL (...)` / `LIKE SOME (...)` get doubled parentheses (`quantifier_call`);
/// - INSERT's subscripted target columns `(a[1], b[1:2])` become marked names
///   (`array_assign::insert_columns_syntax`);
/// - REINDEX becomes a marker SET holding its text (`reindex::syntax`);
/// - CREATE SCHEMA with elements becomes a marker SET holding their texts
///   (`schema_elements::syntax`);
/// - CREATE TABLE's `LIKE source ...` elements become marked columns (`create_like::syntax`).
fn postgres_only_syntax(sql: &str) -> Option<String> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    // Literals and quoted names as written (not unescaped), so that written back by
    // `to_string` they read the same (`'O''Hara'` stays one literal in the other statements of
    // the text); the tokenizer unescapes `E'...'` always, so those are escaped again.
    let tokens: Vec<Token> = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .with_unescape(false)
        .tokenize()
        .ok()?
        .into_iter()
        .map(|t| match t {
            Token::EscapedStringLiteral(s) => Token::EscapedStringLiteral(s.replace('\\', "\\\\").replace('\'', "\\'")),
            t => t,
        })
        .collect();
    // Window frames' EXCLUDE clauses (bind/window.rs).
    let (tokens, mut found) = window::exclusion_syntax(&tokens).map_or((tokens, false), |t| (t, true));
    let (tokens, found_frame) = window::frame_literal_syntax(&tokens).map_or((tokens, false), |t| (t, true));
    found |= found_frame;
    let word = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    // The next non-whitespace tokens after index `i`.
    let next = |i: usize, n: usize| -> Vec<usize> {
        (i + 1..tokens.len()).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).take(n).collect()
    };
    let mut out = String::with_capacity(sql.len() + 16);
    let mut at_start = true;
    // Whether the statement at hand is an UPDATE or DELETE (PREPARE's and EXPLAIN's too).
    let (mut modifies, mut explain) = (false, false);
    // The `)` after which another `)` is written (`x LIKE ALL ((...))`, below).
    let mut closers: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        // `x [NOT] LIKE | ILIKE ALL | SOME (SELECT ...)`: sqlparser reads `ALL (...)` after
        // LIKE as a call of a function named all, whose argument list takes no query; doubled
        // parentheses make the query one parenthesized argument (`quantifier_call`).
        if word(t, Keyword::LIKE) || word(t, Keyword::ILIKE) {
            let n = next(i, 2);
            if n.len() == 2
                && (word(&tokens[n[0]], Keyword::ALL) || word(&tokens[n[0]], Keyword::SOME))
                && tokens[n[1]] == Token::LParen
            {
                let mut depth = 0i32;
                let close = (n[1]..tokens.len()).find(|&k| {
                    match tokens[k] {
                        Token::LParen => depth += 1,
                        Token::RParen => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                });
                if let Some(close) = close {
                    for t in &tokens[i..=n[1]] {
                        out.push_str(&t.to_string());
                    }
                    out.push('(');
                    closers.push(close);
                    (found, at_start, i) = (true, false, n[1] + 1);
                    continue;
                }
            }
        }
        if let Token::Word(w) = t {
            if at_start {
                (modifies, explain) = (false, w.keyword == Keyword::EXPLAIN);
            }
            let after_as =
                out.trim_end().rsplit(char::is_whitespace).next().is_some_and(|p| p.eq_ignore_ascii_case("AS"));
            if (at_start || after_as || explain) && w.quote_style.is_none() {
                modifies |= matches!(w.keyword, Keyword::UPDATE | Keyword::DELETE);
            }
        }
        if modifies && word(t, Keyword::WHERE) {
            if let Some((text, end)) = cursors::current_of_syntax(&tokens, i) {
                out.push_str(&text);
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        // MERGE's `WHEN NOT MATCHED THEN INSERT DEFAULT VALUES`: a VALUES list of one DEFAULT,
        // the rest of the row taking theirs as a short VALUES list does (`bind/merge.rs`).
        if !at_start && word(t, Keyword::INSERT) {
            let n = next(i, 2);
            if n.len() == 2 && word(&tokens[n[0]], Keyword::DEFAULT) && word(&tokens[n[1]], Keyword::VALUES) {
                out.push_str("INSERT VALUES (DEFAULT)");
                (found, i) = (true, n[1] + 1);
                continue;
            }
        }
        // MERGE ... USING a JOIN b ON ... ON cond: the source a join (PostgreSQL's table_ref),
        // which sqlparser takes only parenthesized.
        if at_start && word(t, Keyword::MERGE) {
            if let Some((text, end)) = merge::source_join_syntax(&tokens, i) {
                out.push_str(&text);
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        if at_start && word(t, Keyword::TABLE) {
            out.push_str("SELECT * FROM");
            (found, at_start, i) = (true, false, i + 1);
            continue;
        }
        // `SET [SESSION | LOCAL] ROLE TO | = x` is the parameter `role` (sqlparser's SET ROLE
        // takes the name right after ROLE).
        if at_start && word(t, Keyword::SET) {
            let n = next(i, 3);
            let mut k = 0;
            if n.first().is_some_and(|&j| word(&tokens[j], Keyword::SESSION) || word(&tokens[j], Keyword::LOCAL)) {
                k = 1;
            }
            let role = n.get(k).is_some_and(|&j| word(&tokens[j], Keyword::ROLE));
            let to = n.get(k + 1).is_some_and(|&j| word(&tokens[j], Keyword::TO) || tokens[j] == Token::Eq);
            if role && to {
                let at = n[k];
                for t in &tokens[i..at] {
                    out.push_str(&t.to_string());
                }
                out.push_str("\"role\"");
                (found, at_start, i) = (true, false, at + 1);
                continue;
            }
        }
        if at_start && word(t, Keyword::CREATE) {
            if let Some((text, end)) = create_like::syntax(&tokens, i) {
                out.push_str(&text);
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        if at_start && word(t, Keyword::CREATE) {
            if let Some((text, end)) = schema_elements::syntax(&tokens, i) {
                out.push_str(&text);
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        if at_start && word(t, Keyword::REINDEX) {
            if let Some((text, end)) = reindex::syntax(&tokens, i) {
                out.push_str(&text);
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        if at_start && word(t, Keyword::ALTER) {
            if let Some((text, end)) = alter_sequence::alter_syntax(&tokens, i) {
                out.push_str(&text);
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        if at_start && word(t, Keyword::CREATE) {
            if let Some((text, end)) = ctas_columns::syntax(&tokens, i)
                .or_else(|| views::recursive_view_syntax(&tokens, i))
                .or_else(|| views::check_option_syntax(&tokens, i))
                .or_else(|| matviews::data_syntax(&tokens, i))
            {
                out.push_str(&text);
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        if at_start && word(t, Keyword::COMMENT) {
            if let Some((text, end)) = comment::constraint_syntax(&tokens, i) {
                out.push_str(&text);
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        if !at_start && word(t, Keyword::INTO) {
            if let Some((text, end)) = array_assign::insert_columns_syntax(&tokens, i) {
                out.push_str(&text);
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        if !at_start && word(t, Keyword::SET) {
            if let Some((text, end)) = array_assign::set_syntax(&tokens, i) {
                out.push_str(&text);
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        if at_start && word(t, Keyword::SET) {
            if let Some((text, end)) = foreign_keys::set_constraints_syntax(&tokens, i) {
                out.push_str(&text);
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        if let Some((text, end)) = text_math::variadic_syntax(&tokens, i) {
            out.push_str(&text);
            (found, at_start, i) = (true, false, end);
            continue;
        }
        if let Some((text, end)) = text_math::substring_similar_syntax(&tokens, i) {
            out.push_str(&text);
            (found, at_start, i) = (true, false, end);
            continue;
        }
        if let Some((text, end)) = whole_row::star_cast_syntax(&tokens, i) {
            out.push_str(&text);
            (found, at_start, i) = (true, false, end);
            continue;
        }
        if let Some((text, end)) = whole_row::field_star_syntax(&tokens, i) {
            out.push_str(&text);
            (found, at_start, i) = (true, false, end);
            continue;
        }
        if word(t, Keyword::BETWEEN) {
            let after = next(i, 1);
            let modifier = after.first().and_then(|&j| match &tokens[j] {
                Token::Word(w) if w.quote_style.is_none() => Some((j, w.value.to_ascii_uppercase())),
                _ => None,
            });
            match modifier {
                Some((j, m)) if m == "ASYMMETRIC" => {
                    out.push_str("BETWEEN");
                    (found, at_start, i) = (true, false, j + 1);
                    continue;
                }
                Some((j, m)) if m == "SYMMETRIC" => {
                    // The low bound ends at the first AND outside parentheses (a b_expr).
                    let mut depth = 0i32;
                    let mut k = j + 1;
                    while k < tokens.len() {
                        match &tokens[k] {
                            Token::LParen | Token::LBracket => depth += 1,
                            Token::RParen | Token::RBracket => depth -= 1,
                            t if depth == 0 && word(t, Keyword::AND) => break,
                            _ => {}
                        }
                        k += 1;
                    }
                    if k < tokens.len() {
                        out.push_str(&format!("BETWEEN {SYMMETRIC_MARK}("));
                        for t in &tokens[j + 1..k] {
                            out.push_str(&t.to_string());
                        }
                        out.push_str(") ");
                        (found, at_start, i) = (true, false, k);
                        continue;
                    }
                }
                _ => {}
            }
        }
        if word(t, Keyword::ON) {
            if let Some((text, end)) = conflict_target::target_syntax(&tokens, i) {
                out.push_str(&text);
                (found, at_start, i) = (true, false, end);
                continue;
            }
        }
        // `x OPERATOR(pg_catalog.=) ANY (...)` (pg_dump's and psql's patterns): the operator
        // itself, which sqlparser reads before ANY/ALL (it does not after OPERATOR(...)).
        if word(t, Keyword::OPERATOR) {
            let after = next(i, 6);
            let tok = |k: usize| after.get(k).map(|&j| &tokens[j]);
            let qualified = matches!(tok(1), Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("pg_catalog"))
                && matches!(tok(2), Some(Token::Period));
            let (op, close) = if qualified { (3, 4) } else { (1, 2) };
            if matches!(tok(0), Some(Token::LParen))
                && matches!(tok(close), Some(Token::RParen))
                && tok(close + 1)
                    .is_some_and(|t| word(t, Keyword::ANY) || word(t, Keyword::ALL) || word(t, Keyword::SOME))
            {
                if let Some(o) = tok(op) {
                    out.push_str(&format!(" {o} "));
                    (found, at_start, i) = (true, false, after[close] + 1);
                    continue;
                }
            }
        }
        if word(t, Keyword::FOR) {
            let after = next(i, 3);
            let is = |k: usize, kw: Keyword| after.get(k).is_some_and(|&j| word(&tokens[j], kw));
            // (mode, index after its words, whether they are written otherwise)
            let mode = if is(0, Keyword::NO) && is(1, Keyword::KEY) && is(2, Keyword::UPDATE) {
                Some(("UPDATE", after[2] + 1, true))
            } else if is(0, Keyword::KEY) && is(1, Keyword::SHARE) {
                Some(("SHARE", after[1] + 1, true))
            } else if is(0, Keyword::UPDATE) {
                Some(("UPDATE", after[0] + 1, false))
            } else if is(0, Keyword::SHARE) {
                Some(("SHARE", after[0] + 1, false))
            } else {
                None
            };
            if let Some((mode, end, rewritten)) = mode {
                if let Some((text, after_clause)) = locking::of_list_syntax(&tokens, end, mode) {
                    out.push_str(&text);
                    (found, at_start, i) = (true, false, after_clause);
                    continue;
                }
                if rewritten {
                    out.push_str(&format!("FOR {mode}"));
                    (found, at_start, i) = (true, false, end);
                    continue;
                }
            }
        }
        match t {
            Token::Whitespace(_) => {}
            Token::SemiColon => at_start = true,
            _ => at_start = false,
        }
        out.push_str(&t.to_string());
        if closers.contains(&i) {
            out.push(')');
        }
        i += 1;
    }
    found.then_some(out)
}

/// Parses and binds a query that must hold at most one statement (the extended protocol's
/// Parse message). `param_oids` are the parameter types the client gave (0: infer).
pub fn prepare(sql: &str, param_oids: &[u32]) -> Result<Prepared> {
    let stmts = parse(sql)?;
    match stmts.len() {
        0 => Ok(Prepared {
            plan: Plan::Empty,
            columns: vec![],
            param_types: given_types(param_oids)?,
            relations: Vec::new(),
            settings: Vec::new(),
            reads_sizes: false,
        }),
        1 => bind(sql, &stmts[0], param_oids),
        _ => Err(SqlError::new(code::SYNTAX_ERROR, "cannot insert multiple commands into a prepared statement")),
    }
}

/// The session being bound, for statements bound later on its behalf ([`Plan::Steps`]).
pub(crate) fn binding_session() -> (i32, String) {
    let path = crate::settings::peek_value("search_path").unwrap_or_else(|| crate::schema::DEFAULT_SEARCH_PATH.into());
    (crate::catalog::binding_pid(), path)
}

/// A SELECT ... INTO's target and the query without it (None: no INTO).
fn select_into(q: &ast::Query) -> Option<(ast::SelectInto, ast::Query)> {
    let ast::SetExpr::Select(sel) = q.body.as_ref() else { return None };
    let into = sel.into.clone()?;
    let mut query = q.clone();
    if let ast::SetExpr::Select(sel) = query.body.as_mut() {
        sel.into = None;
    }
    Some((into, query))
}

/// Parses every statement of a simple query; each is bound just before it runs (so a table
/// created by one is seen by the next).
pub fn prepare_all(sql: &str) -> Result<Vec<ast::Statement>> {
    parse(sql)
}

fn given_types(oids: &[u32]) -> Result<Vec<SqlType>> {
    oids.iter()
        .map(|&o| {
            if o == 0 {
                Ok(SqlType::Unknown)
            } else {
                SqlType::from_oid(o).ok_or_else(|| {
                    SqlError::new(code::UNDEFINED_OBJECT, format!("type with OID {o} is not supported yet"))
                })
            }
        })
        .collect()
}

/// Turns sqlparser's "Expected: ..., found: TOKEN at Line: l, Column: c" into PostgreSQL's
/// `syntax error at or near "TOKEN"` with the position of the token.
fn syntax_error(sql: &str, msg: &str) -> SqlError {
    let found = msg.split_once("found: ").map(|(_, r)| r);
    let (token, loc) = match found {
        Some(r) => match r.rsplit_once(" at Line: ") {
            Some((t, loc)) => (t.to_string(), Some(loc.to_string())),
            None => (r.to_string(), None),
        },
        None => (String::new(), msg.rsplit_once(" at Line: ").map(|(_, l)| l.to_string())),
    };
    let position = loc.and_then(|l| {
        let (line, col) = l.split_once(", Column: ")?;
        char_position(sql, line.trim().parse().ok()?, col.trim().parse().ok()?)
    });
    if token == "EOF" {
        let end = sql.trim_end_matches(|c: char| c.is_whitespace() || c == ';').chars().count() + 1;
        return SqlError::new(code::SYNTAX_ERROR, "syntax error at end of input").at(Some(end));
    }
    if token.is_empty() && msg.contains("Unterminated string literal") {
        // PostgreSQL's lexer names the rest of the input from the opening quote.
        let rest: String = sql.chars().skip(position.unwrap_or(1).saturating_sub(1)).collect();
        return SqlError::new(code::SYNTAX_ERROR, format!("unterminated quoted string at or near \"{rest}\""))
            .at(position);
    }
    if token.is_empty() && msg.contains(" merge clause") {
        // sqlparser's "INSERT is not allowed in a MATCHED merge clause": PostgreSQL's grammar
        // fails at the action's word.
        let near = msg.trim_start_matches("sql parser error: ");
        let word = near.split_whitespace().next().unwrap_or_default();
        return SqlError::syntax(word).at(position);
    }
    if token.is_empty() {
        let near = msg.trim_start_matches("sql parser error: ");
        return SqlError::new(code::SYNTAX_ERROR, format!("syntax error: {near}")).at(position);
    }
    SqlError::syntax(&token).at(position)
}

/// The 1-based character position of (line, column), both 1-based.
fn char_position(sql: &str, line: u64, col: u64) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let mut pos = 0usize;
    for (i, l) in sql.split('\n').enumerate() {
        if i as u64 + 1 == line {
            return Some(pos + col as usize);
        }
        pos += l.chars().count() + 1;
    }
    None
}

fn span_position(sql: &str, span: &sqlparser::tokenizer::Span) -> Option<usize> {
    char_position(sql, span.start.line, span.start.column)
}

/// A column's DEFAULT bound on its own (COPY's columns left out of its column list).
pub fn bind_default(col: &ColumnDef) -> Result<Expr> {
    Binder::detached("DEFAULT expressions").default_of(col)
}

/// Binds one statement.
pub fn bind(sql: &str, stmt: &ast::Statement, param_oids: &[u32]) -> Result<Prepared> {
    crate::enums::install();
    crate::composites::install();
    let _recording = crate::relation_lock::Recording::start();
    let mut b = Binder {
        sql,
        params: given_types(param_oids)?,
        aggs: Vec::new(),
        allow_aggs: false,
        aggs_banned_in: "WHERE",
        in_agg: false,
        expr_depth: 0,
        excluded: None,
        sub: Default::default(),
        window: Default::default(),
        grouping_calls: Vec::new(),
        srf: Default::default(),
        modify_target: false,
    };
    let (plan, mut columns) = b.statement(stmt).map_err(|e| error_position::locate_literal(sql, stmt, e))?;
    let plan = b.finish_statement(plan)?;
    // A parameter below the highest one used that the statement never names and the client
    // gave no type: PostgreSQL cannot type it.
    if let Some(i) = b.params.iter().position(|t| *t == SqlType::Unknown) {
        let mut used = std::collections::HashSet::new();
        let _ = ast::visit_expressions(stmt, |e| {
            if let ast::Expr::Value(v) = e {
                if let ast::Value::Placeholder(p) = &v.value {
                    used.extend(p.trim_start_matches('$').parse::<usize>().ok());
                }
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        if let Some(n) = (i + 1..=b.params.len()).find(|n| b.params[n - 1] == SqlType::Unknown && !used.contains(n)) {
            return Err(SqlError::new("42P18", format!("could not determine data type of parameter ${n}")));
        }
    }
    // Parameters nothing typed are text, as PostgreSQL resolves `unknown`.
    for p in &mut b.params {
        if *p == SqlType::Unknown {
            *p = SqlType::Text;
        }
    }
    for c in &mut columns {
        if c.ty == SqlType::Unknown {
            c.ty = SqlType::Text;
        }
    }
    Ok(Prepared {
        plan,
        columns,
        param_types: b.params,
        relations: crate::relation_lock::recorded(),
        settings: crate::settings::read_by_bind(),
        reads_sizes: crate::catalog_sizes::used(),
    })
}

/// The table an expression can read, with the name it is known by in the statement.
struct Scope<'a> {
    def: &'a TableDef,
    alias: String,
    /// A FROM clause with several tables: `def` is then their columns end to end.
    joined: Option<JoinScope>,
}

/// The tables of a join as names resolve against them.
#[derive(Debug, Clone, Default)]
struct JoinScope {
    /// (table, alias, offset of its first column in the combined row).
    tables: Vec<(Arc<TableDef>, String, usize)>,
    /// USING/NATURAL columns: an unqualified name stands for this expression (the left
    /// column, the right one for RIGHT JOIN, COALESCE of both for FULL JOIN)...
    merged: Vec<(String, Expr)>,
    /// ...and the joined columns behind it are not found by that name unqualified.
    hidden: Vec<usize>,
    /// Tables inside a parenthesized join with an alias (`bind/nested_join.rs`): in the
    /// statement, but no name reaches them (PostgreSQL's errors with their hints).
    unreachable: Vec<(String, Arc<TableDef>)>,
    /// `JOIN ... USING (cols) AS alias`: the alias names the merged columns alone.
    using_aliases: Vec<(String, Vec<(String, Expr)>)>,
}

/// The state of a join being bound: its plan, combined row and names.
struct JoinBuild {
    plan: crate::join::JoinPlan,
    combined: TableDef,
    js: JoinScope,
}

impl JoinBuild {
    /// Adds a FROM item's relation to the join: its row goes after the others', names reach
    /// it through `item`'s entries (one for a table; the tables inside a parenthesized join).
    /// Returns the offset of its row.
    fn add(&mut self, item: FromItem) -> Result<usize> {
        for (_, alias, _) in item.tables.iter().filter(|(_, a, _)| !a.starts_with('\0')) {
            if self.js.tables.iter().any(|(_, a, _)| a == alias) {
                return Err(SqlError::new("42712", format!("table name \"{alias}\" specified more than once")));
            }
        }
        let off = self.combined.columns.len();
        self.combined.columns.extend(item.def.columns.iter().cloned());
        if item.def.has_row_id() {
            // The hidden row id: a slot no name reaches.
            self.combined.columns.push(ColumnDef::new("\0rowid", SqlType::Int8));
        }
        self.js.tables.extend(item.tables.into_iter().map(|(d, a, o)| (d, a, off + o)));
        self.js.hidden.extend(item.hidden.into_iter().map(|h| off + h));
        self.js.unreachable.extend(item.unreachable);
        self.plan.inputs.push(item.def);
        Ok(off)
    }
}

/// A join's kind and constraint.
fn join_kind(j: &ast::Join) -> Result<(crate::join::JoinKind, &ast::JoinConstraint)> {
    use crate::join::JoinKind;
    use ast::JoinOperator as J;
    Ok(match &j.join_operator {
        J::Join(c) | J::Inner(c) => (JoinKind::Inner, c),
        J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c),
        J::Right(c) | J::RightOuter(c) => (JoinKind::Right, c),
        J::FullOuter(c) => (JoinKind::Full, c),
        J::CrossJoin(c) => (JoinKind::Cross, c),
        _ => return Err(SqlError::unsupported("this kind of join is not supported")),
    })
}

/// Equalities of `on` (AND-ed) between a column of the join so far (below `left_width`) and
/// one of the item joined next: the step's hash keys (the item's column counted from its row).
fn hash_keys(on: &Expr, left_width: usize) -> Vec<(usize, usize)> {
    let mut eq = Vec::new();
    let mut conj = Vec::new();
    fn walk<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
        if let Expr::And(a, b) = e {
            walk(a, out);
            walk(b, out);
        } else {
            out.push(e);
        }
    }
    walk(on, &mut conj);
    let same_kind = |a: SqlType, b: SqlType| {
        (a.is_integer() && b.is_integer()) || (a.is_string() && b.is_string()) || a.same_key_type(b)
    };
    for c in conj {
        if let Expr::Cmp(CmpOp::Eq, a, b) = c {
            if let (Expr::Column(x, tx), Expr::Column(y, ty)) = (a.as_ref(), b.as_ref()) {
                let (l, r) = if *x < left_width && *y >= left_width { (x, y) } else { (y, x) };
                if *l < left_width
                    && *r >= left_width
                    && same_kind(*tx, *ty)
                    && *tx != SqlType::Float4
                    && *tx != SqlType::Float8
                {
                    eq.push((*l, *r - left_width));
                }
            }
        }
    }
    eq
}

/// A FROM item of a join as [`Binder::bind_join`] adds it: its relation and the entries names
/// reach it by.
struct FromItem {
    def: Arc<TableDef>,
    tables: Vec<(Arc<TableDef>, String, usize)>,
    hidden: Vec<usize>,
    unreachable: Vec<(String, Arc<TableDef>)>,
    /// (name, position in `def`) of the columns USING and NATURAL match.
    visible: Vec<(String, usize)>,
}

impl FromItem {
    fn table(def: Arc<TableDef>, alias: String) -> FromItem {
        let visible = def.columns.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
        FromItem { def: def.clone(), tables: vec![(def, alias, 0)], hidden: vec![], unreachable: vec![], visible }
    }

    fn nested(n: nested_join::NestedJoin) -> FromItem {
        FromItem { def: n.def, tables: n.tables, hidden: n.hidden, unreachable: n.unreachable, visible: n.visible }
    }
}

/// PostgreSQL's first OID for user objects (`FirstNormalObjectId`): below it, Orbit's system
/// views, whose column numbers are not PostgreSQL's.
const FIRST_USER_OID: u32 = 16384;

/// The (table OID, attribute number) an output expression reads, where it is a column of a
/// user relation in `scope`, or of a derived relation whose column is one (`origins`).
fn column_origin(
    e: &Expr,
    scope: &Scope,
    origins: &std::collections::HashMap<String, Vec<(u32, i16)>>,
) -> Option<(u32, i16)> {
    let Expr::Column(i, _) = e else { return None };
    let (def, at) = match &scope.joined {
        None => (scope.def, *i),
        Some(js) => js
            .tables
            .iter()
            .find(|(d, _, off)| *i >= *off && *i < off + d.columns.len())
            .map(|(d, _, off)| (&**d, i - off))?,
    };
    if def.oid == 0 {
        return origins.get(&def.name).and_then(|o| o.get(at)).copied().filter(|o| o.0 != 0);
    }
    if def.oid < FIRST_USER_OID || def.index_of.is_some() || at >= def.columns.len() {
        return None;
    }
    Some((def.oid, i16::try_from(at + 1).ok()?))
}

struct Binder<'s> {
    sql: &'s str,
    params: Vec<SqlType>,
    aggs: Vec<AggSpec>,
    allow_aggs: bool,
    /// The clause named when an aggregate is not allowed.
    aggs_banned_in: &'static str,
    /// Binding an aggregate's argument (where another aggregate is a nesting error).
    in_agg: bool,
    /// How deep in [`Binder::expr`] calls we are (constants are folded at depth 0).
    expr_depth: u32,
    /// While binding ON CONFLICT DO UPDATE: the table `EXCLUDED` names (its columns follow the
    /// target row's).
    excluded: Option<Arc<TableDef>>,
    /// Subqueries and computed relations ([`subquery`]).
    sub: subquery::State,
    /// The window functions of the SELECT being bound ([`window`]).
    window: window::WindowState,
    /// The arguments of the `grouping()` calls of the SELECT being bound.
    grouping_calls: Vec<Vec<Expr>>,
    /// The set-returning calls of the SELECT being bound ([`srf`]).
    srf: srf::SrfState,
    /// Binding UPDATE ... FROM / DELETE ... USING: the first FROM item is the target, which
    /// the others may not read ([`lateral`]).
    modify_target: bool,
}

impl Binder<'static> {
    /// A binder for an expression kept in the catalog (a DEFAULT, a CHECK), outside any
    /// statement; `aggs_banned_in` names the clause in the error for an aggregate.
    fn detached(aggs_banned_in: &'static str) -> Binder<'static> {
        Binder {
            sql: "",
            params: Vec::new(),
            aggs: Vec::new(),
            allow_aggs: false,
            aggs_banned_in,
            in_agg: false,
            expr_depth: 0,
            excluded: None,
            sub: Default::default(),
            window: Default::default(),
            grouping_calls: Vec::new(),
            srf: Default::default(),
            modify_target: false,
        }
    }
}

/// An identifier as PostgreSQL folds it (for the executor's use).
pub(crate) fn fold_ident(id: &ast::Ident) -> String {
    fold(id)
}

fn fold(id: &ast::Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        // PostgreSQL folds ASCII letters only (in a multi-byte encoding such as UTF-8).
        id.value.to_ascii_lowercase()
    }
}

/// A NULL constant as PostgreSQL's exprIsNullConstant sees one (parentheses are no node).
fn is_null_constant(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Nested(inner) => is_null_constant(inner),
        ast::Expr::Value(v) => matches!(v.value, ast::Value::Null),
        _ => false,
    }
}

/// Whether `left = right` is `IS NULL` under the session's transform_null_equals. Not noted
/// for re-binding: as in PostgreSQL, a statement prepared under one setting keeps its meaning.
fn null_equals(left: &ast::Expr, right: &ast::Expr) -> bool {
    (is_null_constant(left) || is_null_constant(right))
        && crate::settings::peek_value("transform_null_equals").as_deref() == Some("on")
}

/// `SET ROLE name | NONE` and `SET SESSION AUTHORIZATION name` (`canon`: `role` or
/// `session_authorization`). Orbit has one role, the session's user (`postgres`), so only that
/// name (or NONE for the role) is a role to become; another is PostgreSQL's error for a role
/// that does not exist. Becoming it changes nothing else: it already is the current user.
fn role_setting(canon: &'static str, value: &str, local: bool) -> Result<Plan> {
    let user = crate::settings::peek_value("session_authorization").unwrap_or_else(|| "postgres".into());
    let value = crate::settings::role_value(canon, value, &user)?;
    Ok(Plan::Set { name: canon, value: Some(value), local })
}

/// The regular expression and LIKE operators (`~`, `!~*`, `~~`, `!~~*`, ...).
pub(super) fn is_text_match(op: &ast::BinaryOperator) -> bool {
    use ast::BinaryOperator as B;
    matches!(
        op,
        B::PGRegexMatch
            | B::PGRegexIMatch
            | B::PGRegexNotMatch
            | B::PGRegexNotIMatch
            | B::PGLikeMatch
            | B::PGILikeMatch
            | B::PGNotLikeMatch
            | B::PGNotILikeMatch
    )
}

/// `COLLATE name`: Orbit compares text bytewise, which is the C collation (the database's
/// default, C.UTF-8), so those names are accepted (and change nothing); others are not there.
fn bytewise_collation(collation: &ast::ObjectName) -> Result<()> {
    let name = collation.0.last().and_then(|p| p.as_ident()).map(|i| i.value.clone()).unwrap_or_default();
    if !matches!(name.as_str(), "default" | "C" | "POSIX" | "C.UTF-8" | "ucs_basic") {
        return Err(SqlError::new(
            code::UNDEFINED_OBJECT,
            format!("collation \"{name}\" for encoding \"UTF8\" does not exist"),
        ));
    }
    Ok(())
}

/// A column's `COLLATE name` (CREATE TABLE, ADD COLUMN): of a type with collations and a
/// name [`bytewise_collation`] takes; nothing to keep, as every text column compares so.
/// Errors point at the word COLLATE, as PostgreSQL's do.
pub(super) fn column_collation(sql: &str, ty: SqlType, name: &ast::ObjectName) -> Result<()> {
    let at = || {
        let start = span_position(sql, &sqlparser::ast::Spanned::span(name))?;
        let before: String = sql.chars().take(start.saturating_sub(1)).collect::<String>().to_lowercase();
        Some(before.rfind("collate").map_or(start, |b| before[..b].chars().count() + 1))
    };
    if !(ty.is_string() || matches!(ty, SqlType::Array(a) if a.elem().is_string())) {
        return Err(SqlError::new(
            code::DATATYPE_MISMATCH,
            format!("collations are not supported by type {}", ty.name()),
        )
        .at(at()));
    }
    bytewise_collation(name).map_err(|e| e.at(at()))
}

/// `CREATE EXTENSION [IF NOT EXISTS] name [WITH] [SCHEMA s] [VERSION v] [CASCADE]`: an
/// extension Orbit has, in schema `s` (else the current one), at its one version.
fn extension_create(ce: &ast::CreateExtension) -> Result<Plan> {
    let name = fold(&ce.name);
    let default_version = crate::extensions::available(&name)?;
    let version = match &ce.version {
        Some(v) if v.value != default_version => {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                format!("extension \"{name}\" has no installation script nor update path for version \"{}\"", v.value),
            ))
        }
        _ => default_version.to_string(),
    };
    let schema = match &ce.schema {
        Some(s) => {
            let s = fold(s);
            if !crate::schema::exists(&s) {
                return Err(SqlError::new("3F000", format!("schema \"{s}\" does not exist")));
            }
            s
        }
        None => crate::schema::creation_schema()?,
    };
    Ok(Plan::Extension(crate::extensions::ExtensionPlan::Create {
        name,
        if_not_exists: ce.if_not_exists,
        schema,
        version,
    }))
}

/// PostgreSQL's operator for `[NOT] LIKE` / `[NOT] ILIKE`.
fn like_operator(ci: bool, negated: bool) -> ast::BinaryOperator {
    use ast::BinaryOperator as B;
    match (ci, negated) {
        (false, false) => B::PGLikeMatch,
        (false, true) => B::PGNotLikeMatch,
        (true, false) => B::PGILikeMatch,
        (true, true) => B::PGNotILikeMatch,
    }
}

/// `ALL (x)` / `SOME (x)` after LIKE, which sqlparser reads as a call of a function named all
/// or some (both reserved words in PostgreSQL, so no user function is meant): whether ALL,
/// and the operand (a subquery as `Expr::Subquery`).
fn quantifier_call(e: &ast::Expr) -> Option<(bool, ast::Expr)> {
    let ast::Expr::Function(f) = e else { return None };
    let [part] = f.name.0.as_slice() else { return None };
    let ident = part.as_ident()?;
    if ident.quote_style.is_some() || f.over.is_some() || f.filter.is_some() || !f.within_group.is_empty() {
        return None;
    }
    let all = match ident.value.to_ascii_lowercase().as_str() {
        "all" => true,
        "some" => false,
        _ => return None,
    };
    match &f.args {
        ast::FunctionArguments::Subquery(q) => Some((all, ast::Expr::Subquery(q.clone()))),
        ast::FunctionArguments::List(l) if l.duplicate_treatment.is_none() && l.clauses.is_empty() => {
            match l.args.as_slice() {
                [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x))] => Some((all, x.clone())),
                _ => None,
            }
        }
        _ => None,
    }
}

/// 0A000 for a statement Orbit has not built, named by its first two words.
fn not_supported(stmt: &ast::Statement) -> SqlError {
    let text = stmt.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    SqlError::unsupported(format!("{} is not supported yet", words.join(" ").to_uppercase()))
}

fn object_name(sql: &str, name: &ast::ObjectName) -> Result<String> {
    let parts: Vec<&ast::Ident> = name.0.iter().filter_map(|p| p.as_ident()).collect();
    if parts.len() != name.0.len() || parts.is_empty() {
        return Err(SqlError::syntax(&name.to_string()));
    }
    match parts.as_slice() {
        [t] => {
            let rel = schema::relation_part(&fold(t))?;
            crate::schema::resolve_unqualified(&rel).map_err(|e| e.at(span_position(sql, &t.span)))
        }
        [s, t] => {
            let rel = schema::relation_part(&fold(t))?;
            crate::schema::resolve_qualified(&fold(s), &rel).map_err(|e| match e.code {
                "3F000" => e.at(span_position(sql, &s.span)),
                _ => e,
            })
        }
        _ => Err(SqlError::new(
            code::FEATURE_NOT_SUPPORTED,
            format!("cross-database references are not implemented: {name}"),
        )),
    }
}

/// UPDATE's `SET (a, b) = (x, y)` / `= ROW(x, y)` as `a = x, b = y`, and `SET (a, b) =
/// (SELECT p, q ...)` as `a = (SELECT c1 FROM (SELECT p, q ...) AS r(c1, c2))`, `b = (SELECT c2
/// ...)`: the subquery's k-th column for the k-th target (no row sets NULLs; several rows are
/// 21000, as PostgreSQL's MULTIEXPR sublink; the subquery runs once per target column). A plain
/// assignment stays as it is.
fn expand_tuple_assignments(assignments: &[ast::Assignment]) -> Result<Vec<ast::Assignment>> {
    let mut out = Vec::with_capacity(assignments.len());
    for a in assignments {
        let ast::AssignmentTarget::Tuple(names) = &a.target else {
            out.push(a.clone());
            continue;
        };
        let mismatch = || SqlError::new(code::SYNTAX_ERROR, "number of columns does not match number of values");
        let values: Vec<ast::Expr> = match &a.value {
            ast::Expr::Tuple(items) => items.clone(),
            ast::Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("row") => match &f.args {
                ast::FunctionArguments::List(l) => l
                    .args
                    .iter()
                    .map(|arg| match arg {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Ok(e.clone()),
                        _ => Err(mismatch()),
                    })
                    .collect::<Result<_>>()?,
                _ => Vec::new(),
            },
            ast::Expr::Subquery(q) => {
                // A select list of another length (before its `*`s are known) is 42601 here,
                // as PostgreSQL's.
                if let ast::SetExpr::Select(sel) = q.body.as_ref() {
                    let star = sel
                        .projection
                        .iter()
                        .any(|i| matches!(i, ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..)));
                    if !star && sel.projection.len() != names.len() {
                        return Err(mismatch());
                    }
                }
                let cols: Vec<String> = (1..=names.len()).map(|k| format!("\u{1}c{k}")).collect();
                (0..names.len())
                    .map(|k| {
                        let template = format!(
                            "SELECT \"{}\" FROM (SELECT 1) AS \"\u{1}row\"({})",
                            cols[k],
                            cols.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
                        );
                        let mut parsed = parse(&template)?;
                        let Some(ast::Statement::Query(mut outer)) = parsed.pop() else {
                            return Err(SqlError::internal("a multiple-column assignment's subquery"));
                        };
                        if let ast::SetExpr::Select(sel) = outer.body.as_mut() {
                            if let Some(ast::TableFactor::Derived { subquery, .. }) =
                                sel.from.first_mut().map(|f| &mut f.relation)
                            {
                                *subquery = q.clone();
                            }
                        }
                        Ok(ast::Expr::Subquery(outer))
                    })
                    .collect::<Result<_>>()?
            }
            _ => {
                return Err(SqlError::new(
                    code::FEATURE_NOT_SUPPORTED,
                    "source for a multiple-column UPDATE item must be a sub-SELECT or ROW() expression",
                ))
            }
        };
        if values.len() != names.len() {
            return Err(mismatch());
        }
        for (n, v) in names.iter().zip(values) {
            out.push(ast::Assignment { target: ast::AssignmentTarget::ColumnName(n.clone()), value: v });
        }
    }
    Ok(out)
}

/// Whether an ORDER BY item sorts descending: DESC, or `USING >` (`USING <` is ASC). Only the
/// btree ordering operators `<` and `>` (also as `OPERATOR(pg_catalog.>)`) order, as in
/// PostgreSQL (42809 for any other).
pub(crate) fn sort_desc(options: &ast::OrderByOptions) -> Result<bool> {
    match &options.sort {
        None | Some(ast::OrderBySort::Asc) => Ok(false),
        Some(ast::OrderBySort::Desc) => Ok(true),
        Some(ast::OrderBySort::Using(op)) => {
            let last = op.0.last().and_then(|p| p.as_ident()).map_or_else(|| op.to_string(), |i| i.value.clone());
            match last.as_str() {
                "<" => Ok(false),
                ">" => Ok(true),
                other => Err(SqlError::new(
                    code::WRONG_OBJECT_TYPE,
                    format!("operator {other} is not a valid ordering operator"),
                )
                .hint("Ordering operators must be \"<\" or \">\" members of btree operator families.")),
            }
        }
    }
}

/// The range-table name `t.*` or `s.t.*` names: the table's name or alias, without a schema (a
/// FROM item is known by its name within its schema, as a column reference's qualifier is).
fn star_qualifier(name: &ast::ObjectName) -> Result<String> {
    let parts: Vec<&ast::Ident> = name.0.iter().filter_map(|p| p.as_ident()).collect();
    match parts.as_slice() {
        [t] | [_, t] if parts.len() == name.0.len() => Ok(fold(t)),
        [_, _, _] => Err(SqlError::new(
            code::FEATURE_NOT_SUPPORTED,
            format!("cross-database references are not implemented: {name}"),
        )),
        _ => Err(SqlError::syntax(&name.to_string())),
    }
}

/// The catalog name a CREATE gives the relation `name` (an unqualified one goes to the search
/// path's first existing schema).
pub(super) fn new_object_name(sql: &str, name: &ast::ObjectName) -> Result<String> {
    match name.0.as_slice() {
        [part] => {
            let Some(t) = part.as_ident() else { return Err(SqlError::syntax(&name.to_string())) };
            let rel = schema::relation_part(&fold(t))?;
            crate::schema::create_unqualified(&rel).map_err(|e| e.at(span_position(sql, &t.span)))
        }
        _ => object_name(sql, name),
    }
}

/// Looks a table up in the local shard's copy of the catalog.
/// While a statement is being bound, a table another open block created is not there, and
/// the name is noted for [`crate::relation_lock`].
pub(crate) fn lookup_table(name: &str) -> Option<Arc<TableDef>> {
    crate::relation_lock::lookup(name).map(view_text::as_renamed)
}

pub fn sql_type(dt: &ast::DataType) -> Result<SqlType> {
    use ast::DataType as D;
    Ok(match dt {
        D::Int2(_) | D::SmallInt(_) => SqlType::Int2,
        D::Int(_) | D::Int4(_) | D::Integer(_) => SqlType::Int4,
        D::Int8(_) | D::BigInt(_) => SqlType::Int8,
        D::Float4 | D::Real => SqlType::Float4,
        D::Float8 | D::DoublePrecision | D::Double(ast::ExactNumberInfo::None) => SqlType::Float8,
        D::Float(info) => match info {
            ast::ExactNumberInfo::Precision(p) | ast::ExactNumberInfo::PrecisionAndScale(p, _) if *p <= 24 => {
                SqlType::Float4
            }
            _ => SqlType::Float8,
        },
        D::Bool | D::Boolean => SqlType::Bool,
        D::Numeric(info) | D::Decimal(info) | D::Dec(info) => match info {
            ast::ExactNumberInfo::None => SqlType::NUMERIC,
            ast::ExactNumberInfo::Precision(p) => SqlType::Numeric(Some(crate::numeric::typmod(*p, None)?)),
            ast::ExactNumberInfo::PrecisionAndScale(p, s) => {
                SqlType::Numeric(Some(crate::numeric::typmod(*p, Some(*s))?))
            }
        },
        D::Text => SqlType::Text,
        D::Varchar(len) | D::CharacterVarying(len) => match len {
            None => SqlType::Varchar(None),
            Some(ast::CharacterLength::IntegerLength { length, .. }) => {
                if *length == 0 || *length > 10_485_760 {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        if *length == 0 {
                            "length for type varchar must be at least 1".to_string()
                        } else {
                            "length for type varchar cannot exceed 10485760".to_string()
                        },
                    ));
                }
                SqlType::Varchar(Some(*length as u32))
            }
            Some(ast::CharacterLength::Max) => return Err(SqlError::syntax("MAX")),
        },
        // `char` alone is `char(1)`; `bpchar` alone is unbounded.
        D::Char(len) | D::Character(len) => match len {
            None => SqlType::Bpchar(Some(1)),
            Some(ast::CharacterLength::IntegerLength { length, .. }) => SqlType::Bpchar(Some(char_length(*length)?)),
            Some(ast::CharacterLength::Max) => return Err(SqlError::syntax("MAX")),
        },
        D::Custom(name, mods) if mods.len() == 1 && name.to_string().eq_ignore_ascii_case("bpchar") => {
            let m = mods[0].to_string();
            let n: u64 = m.parse().map_err(|_| SqlError::syntax(&m))?;
            SqlType::Bpchar(Some(char_length(n)?))
        }
        D::Bytea => SqlType::Bytea,
        // timestamp(p), time(p), interval(p): p fractional digits, at most 6 (the typmod).
        D::Timestamp(p, ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone) => {
            SqlType::Timestamp(temporal::precision(*p, "TIMESTAMP", "")?)
        }
        D::Timestamp(p, ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz) => {
            SqlType::TimestampTz(temporal::precision(*p, "TIMESTAMP", " WITH TIME ZONE")?)
        }
        D::Date => SqlType::Date,
        D::Time(p, ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone) => {
            SqlType::Time(temporal::precision(*p, "TIME", "")?)
        }
        D::Time(p, ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz) => {
            SqlType::TimeTz(temporal::precision(*p, "TIME", " WITH TIME ZONE")?)
        }
        D::Interval { fields: None, precision: p } => SqlType::Interval(temporal::precision(*p, "INTERVAL", "")?),
        D::Interval { fields: Some(f), .. } => {
            return Err(SqlError::unsupported(format!(
                "interval field restrictions (INTERVAL {f}) are not supported yet"
            )))
        }
        D::Uuid => SqlType::Uuid,
        D::JSON => SqlType::Json,
        D::JSONB => SqlType::Jsonb,
        D::Regclass => SqlType::Oid(OidKind::RegClass),
        // `t[]`, `t[n]`, `t ARRAY`: the size is not kept, as in PostgreSQL; `t[][]` is `t[]`.
        D::Array(ast::ArrayElemTypeDef::SquareBracket(t, _) | ast::ArrayElemTypeDef::Qualified(t, _)) => {
            if domain::domain_of(t)?.is_some() {
                return Err(SqlError::unsupported("arrays of domains are not supported yet"));
            }
            let elem = sql_type(t)?;
            match elem {
                SqlType::Array(_) => elem,
                e => e.array_of().ok_or_else(|| {
                    SqlError::new(
                        code::UNDEFINED_OBJECT,
                        format!("could not find array type for data type {}", e.name()),
                    )
                })?,
            }
        }
        D::Custom(name, mods) if mods.is_empty() => {
            let n = name.to_string().to_lowercase();
            // Built-in types live in pg_catalog; `_t` is the array type of `t` (pg_type's name).
            let n = n.strip_prefix("pg_catalog.").unwrap_or(&n).to_string();
            if let Some(elem) = n.strip_prefix('_') {
                let elem = sql_type(&D::Custom(ast::ObjectName::from(vec![ast::Ident::new(elem)]), vec![])).ok();
                if let Some(a) = elem.filter(|e| !matches!(e, SqlType::Array(_))).and_then(|e| e.array_of()) {
                    return Ok(a);
                }
            }
            match n.as_str() {
                "text" => SqlType::Text,
                // A cursor's portal name (PL/pgSQL's cursor variables): text here (PostgreSQL's
                // refcursor is a type of its own, OID 1790, with text's I/O).
                "refcursor" => SqlType::Text,
                "bytea" => SqlType::Bytea,
                "date" => SqlType::Date,
                "timestamp" => SqlType::TIMESTAMP,
                "time" => SqlType::TIME,
                "timetz" => SqlType::TIMETZ,
                "int2" => SqlType::Int2,
                "int4" => SqlType::Int4,
                "int8" => SqlType::Int8,
                "float4" => SqlType::Float4,
                "float8" => SqlType::Float8,
                "bool" => SqlType::Bool,
                "varchar" => SqlType::Varchar(None),
                "bpchar" => SqlType::Bpchar(None),
                "timestamptz" => SqlType::TIMESTAMPTZ,
                "uuid" => SqlType::Uuid,
                "json" => SqlType::Json,
                "jsonb" => SqlType::Jsonb,
                "jsonpath" => SqlType::JsonPath,
                "interval" => SqlType::INTERVAL,
                "numeric" | "decimal" => SqlType::NUMERIC,
                "oid" => SqlType::Oid(OidKind::Oid),
                "regclass" => SqlType::Oid(OidKind::RegClass),
                "regtype" => SqlType::Oid(OidKind::RegType),
                "regnamespace" => SqlType::Oid(OidKind::RegNamespace),
                "regproc" => SqlType::Oid(OidKind::RegProc),
                "regprocedure" => SqlType::Oid(OidKind::RegProcedure),
                "\"char\"" => SqlType::Char,
                "name" => SqlType::Name,
                _ => match create_type::resolve_type(name).or_else(|| domain::resolve_type(name)) {
                    Some(t) => t,
                    None => return Err(SqlError::new(code::UNDEFINED_OBJECT, format!("type \"{n}\" does not exist"))),
                },
            }
        }
        other => {
            return Err(SqlError::unsupported(format!(
                "type {} is not supported yet",
                other.to_string().to_lowercase()
            )))
        }
    })
}

/// The type of column `column` (or a composite type's field, a domain's base type, written
/// `dt`): [`sql_type`], refusing the pseudo-type `record` as PostgreSQL does, and a table's
/// row type, which Orbit keeps in no catalog (so no column may be of it).
pub(super) fn column_type(dt: &ast::DataType, column: &str) -> Result<SqlType> {
    let written = dt.to_string().to_ascii_lowercase();
    if written == "record" || written == "record[]" || written == "_record" {
        return Err(pseudo_type_column(column, &written.replace("_record", "record[]")));
    }
    let t = sql_type(dt)?;
    if t.is_transient_record() {
        return Err(SqlError::unsupported(format!(
            "column \"{column}\" is of the row type of table {}: columns of a table's row type are not supported",
            t.name()
        )));
    }
    if let Some(elem) = t.elem() {
        if elem.is_transient_record() {
            return Err(SqlError::unsupported(format!(
                "column \"{column}\" is of type {}: columns of a table's row type are not supported",
                t.name()
            )));
        }
    }
    Ok(t)
}

/// PostgreSQL's 42P16 for a column of a pseudo-type (`record`, `record[]`).
fn pseudo_type_column(column: &str, ty: &str) -> SqlError {
    SqlError::new(code::INVALID_TABLE_DEFINITION, format!("column \"{column}\" has pseudo-type {ty}"))
}

/// A query's output column becoming a relation's (CREATE TABLE AS, CREATE VIEW): 42P16 where
/// it is an anonymous record or an array of them, a pseudo-type no relation's column has.
fn no_pseudo_type_column(column: &str, ty: SqlType) -> Result<()> {
    if crate::composites::is_anonymous_type(ty.elem().unwrap_or(ty)) {
        return Err(pseudo_type_column(column, &ty.name()));
    }
    Ok(())
}

/// A time and a timetz (either order): they meet as timetz, the implicit cast's direction.
fn time_and_timetz(a: SqlType, b: SqlType) -> bool {
    matches!((a, b), (SqlType::Time(_), SqlType::TimeTz(_)) | (SqlType::TimeTz(_), SqlType::Time(_)))
}

/// Functions whose only signatures take text where a `"char"` argument is given (it casts to
/// text implicitly).
const CHAR_AS_TEXT_FUNCTIONS: &[&str] = &[
    "lower",
    "upper",
    "initcap",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "bit_length",
    "ascii",
    "btrim",
    "ltrim",
    "rtrim",
    "left",
    "right",
    "lpad",
    "rpad",
    "repeat",
    "replace",
    "reverse",
    "split_part",
    "strpos",
    "substr",
    "substring",
    "md5",
    "translate",
    "starts_with",
    "regexp_replace",
    "regexp_match",
    "regexp_matches",
    "quote_ident",
];

/// The length of `character(n)`, checked as PostgreSQL checks it.
fn char_length(n: u64) -> Result<u32> {
    if n == 0 {
        return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "length for type char must be at least 1"));
    }
    if n > 10_485_760 {
        return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "length for type char cannot exceed 10485760"));
    }
    Ok(n as u32)
}

/// The name PostgreSQL gives a cast's result column: `pg_type.typname`, an array's its
/// element's.
fn type_column_name(t: SqlType) -> String {
    match t {
        SqlType::Array(a) => type_column_name(a.elem()),
        t => crate::catalog::type_name(t),
    }
}

/// The name PostgreSQL gives an expression's result column.
fn column_name(e: &ast::Expr) -> String {
    named(e).map(|(n, _)| n).unwrap_or_else(|| "?column?".into())
}

/// PostgreSQL's FigureColname: a name and its strength (2: a column or function name, 1: a
/// type name from a cast, `bool` or `case`, which an outer cast's type name replaces).
fn named(e: &ast::Expr) -> Option<(String, u8)> {
    match e {
        ast::Expr::Identifier(id) => Some((fold(id), 2)),
        ast::Expr::CompoundIdentifier(ids) => ids.last().map(|id| (fold(id), 2)),
        // `t.*` as a value (a whole row): named by the table, as FigureColname does.
        ast::Expr::QualifiedWildcard(n, _) => n.0.last().and_then(|p| p.as_ident()).map(|id| (fold(id), 2)),
        ast::Expr::Function(f) => Some((f.name.0.last().and_then(|p| p.as_ident()).map(fold).unwrap_or_default(), 2)),
        ast::Expr::Cast { expr, data_type, .. } => match named(expr) {
            Some((n, 2)) => Some((n, 2)),
            // A domain names the column itself (its typname).
            inner => match domain::domain_of(data_type).ok().flatten() {
                Some(d) => Some((crate::schema::relname(&d.name).to_string(), 1)),
                None if data_type.to_string().eq_ignore_ascii_case("record") => Some(("record".to_string(), 1)),
                None => {
                    sql_type(&temporal::split_precision(data_type).0).ok().map(|t| (type_column_name(t), 1)).or(inner)
                }
            },
        },
        ast::Expr::Nested(e) => named(e),
        // A field selection is named by its field, a subscript by what it subscripts.
        ast::Expr::CompoundFieldAccess { root, access_chain } => match access_chain.last() {
            Some(ast::AccessExpr::Dot(ast::Expr::Identifier(id))) => Some((fold(id), 2)),
            Some(ast::AccessExpr::Subscript(_)) => named(root),
            _ => None,
        },
        ast::Expr::Value(v) if matches!(v.value, ast::Value::Boolean(_)) => Some(("bool".into(), 1)),
        ast::Expr::Array(_) => Some(("array".into(), 2)),
        ast::Expr::Tuple(_) => Some(("row".into(), 2)),
        ast::Expr::Case { .. } => Some(("case".into(), 1)),
        ast::Expr::TypedString(ts) => sql_type(&ts.data_type).ok().map(|t| (type_column_name(t), 1)),
        ast::Expr::Interval(_) => Some(("interval".into(), 1)),
        ast::Expr::Extract { .. } => Some(("extract".into(), 2)),
        ast::Expr::AtTimeZone { .. } => Some(("timezone".into(), 2)),
        ast::Expr::Ceil { .. } => Some(("ceil".into(), 2)),
        ast::Expr::Floor { .. } => Some(("floor".into(), 2)),
        ast::Expr::Position { .. } => Some(("position".into(), 2)),
        ast::Expr::Substring { shorthand: true, .. } => Some(("substr".into(), 2)),
        ast::Expr::Substring { .. } => Some(("substring".into(), 2)),
        ast::Expr::Trim { trim_where: Some(ast::TrimWhereField::Leading), .. } => Some(("ltrim".into(), 2)),
        ast::Expr::Trim { trim_where: Some(ast::TrimWhereField::Trailing), .. } => Some(("rtrim".into(), 2)),
        ast::Expr::Trim { .. } => Some(("btrim".into(), 2)),
        ast::Expr::Exists { .. } => Some(("exists".into(), 2)),
        ast::Expr::Subquery(q) => subquery::first_column_name(q).map(|n| (n, 2)),
        _ => None,
    }
}

/// A type as function errors name it (without its modifier).
pub(crate) fn type_display(t: SqlType) -> String {
    base(t).name()
}

/// A type without its modifier, as operator and function errors name it.
fn base(t: SqlType) -> SqlType {
    match t {
        SqlType::Varchar(_) => SqlType::Varchar(None),
        SqlType::Bpchar(_) => SqlType::Bpchar(None),
        SqlType::Numeric(_) => SqlType::NUMERIC,
        t if t.precision().is_some() => t.base(),
        t => t,
    }
}

fn op_error(l: SqlType, op: &str, r: SqlType) -> SqlError {
    SqlError::new(
        code::UNDEFINED_FUNCTION,
        format!("operator does not exist: {} {op} {}", base(l).name(), base(r).name()),
    )
    .hint("No operator matches the given name and argument types. You might need to add explicit type casts.")
}

/// Type of `a op b` for arithmetic on numbers.
fn promote(a: SqlType, b: SqlType) -> SqlType {
    use SqlType::*;
    match (a, b) {
        (Float8, _) | (_, Float8) => Float8,
        (Float4, Float4) => Float4,
        (Float4, _) | (_, Float4) => Float8,
        (Numeric(_), _) | (_, Numeric(_)) => SqlType::NUMERIC,
        (Int8, _) | (_, Int8) => Int8,
        (Int4, _) | (_, Int4) => Int4,
        _ => Int2,
    }
}

impl Binder<'_> {
    fn pos(&self, span: &sqlparser::tokenizer::Span) -> Option<usize> {
        span_position(self.sql, span)
    }

    fn statement(&mut self, stmt: &ast::Statement) -> Result<(Plan, Vec<OutputColumn>)> {
        use ast::Statement as S;
        match stmt {
            S::Query(q) => match self.set_config(q).or_else(|| self.notify_query(q)) {
                Some(p) => p,
                None => match select_into(q) {
                    // SELECT ... INTO name: CREATE TABLE name AS the query without INTO.
                    Some((into, query)) => Ok((self.select_into_table(into, &query)?, vec![])),
                    None => self.query(q),
                },
            },
            S::CreateTable(ct) => Ok((self.create_table(ct)?, vec![])),
            S::CreateView(cv) if cv.materialized => Ok((self.create_matview(cv)?, vec![])),
            S::CreateView(cv) => Ok((self.create_view(cv)?, vec![])),
            S::RefreshMaterializedView(r) => Ok((self.refresh_matview(r)?, vec![])),
            S::AlterSchema(a) if matches!(a.operations.as_slice(), [ast::AlterSchemaOperation::OwnerTo { .. }]) => {
                Ok((lock::schema_owner(a)?, vec![]))
            }
            S::CreateSchema { .. } | S::AlterSchema(_) | S::Drop { object_type: ast::ObjectType::Schema, .. } => {
                Ok((Plan::Schema(schema::bind(stmt)?), vec![]))
            }
            S::CreateExtension(ce) => Ok((extension_create(ce)?, vec![])),
            S::DropExtension(de) => {
                let cascade = matches!(de.cascade_or_restrict, Some(ast::ReferentialAction::Cascade));
                let names = de.names.iter().map(fold).collect();
                Ok((
                    Plan::Extension(crate::extensions::ExtensionPlan::Drop { names, if_exists: de.if_exists, cascade }),
                    vec![],
                ))
            }
            S::CreateType { name, representation } => {
                Ok((create_type::create(self.sql, name, representation.as_ref())?, vec![]))
            }
            S::Drop { object_type: ast::ObjectType::Type, if_exists, names, cascade, .. } => {
                Ok((create_type::drop(names, *if_exists, *cascade)?, vec![]))
            }
            S::AlterType(at) => Ok((create_type::alter(at)?, vec![])),
            S::CreateFunction(cf) => Ok((self.create_function(cf)?, vec![])),
            S::DropFunction(df) => Ok((self.drop_function(df)?, vec![])),
            S::DropProcedure { if_exists, proc_desc, drop_behavior } => {
                let df = ast::DropFunction {
                    if_exists: *if_exists,
                    func_desc: proc_desc.clone(),
                    drop_behavior: *drop_behavior,
                };
                Ok((self.drop_routines(&df, true)?, vec![]))
            }
            S::Call(f) => self.call_procedure(f),
            S::AlterFunction(af) => Ok((self.alter_function(af)?, vec![])),
            S::Drop { object_type: ast::ObjectType::View, if_exists, names, cascade, .. } => {
                let names = names.iter().map(|n| self.relation_name(n)).collect::<Result<Vec<_>>>()?;
                Ok((views::drop_view(names, *if_exists, *cascade), vec![]))
            }
            S::Drop {
                object_type: object_type @ (ast::ObjectType::Table | ast::ObjectType::MaterializedView),
                if_exists,
                names,
                cascade,
                ..
            } => {
                let mut kept = Vec::with_capacity(names.len());
                for n in names {
                    match object_name(self.sql, n) {
                        Ok(name) => kept.push(name),
                        // IF EXISTS skips a name in a schema that does not exist, as PostgreSQL
                        // does (with a notice).
                        Err(e) if *if_exists && e.code == "3F000" => {}
                        Err(e) => return Err(e),
                    }
                }
                let matview = *object_type == ast::ObjectType::MaterializedView;
                let (names, partition_rows) =
                    if matview { (kept, Vec::new()) } else { crate::partitions::drop_list(kept) };
                let session = binding_session();
                Ok((
                    Plan::DropTable {
                        names,
                        if_exists: *if_exists,
                        cascade: *cascade,
                        matview,
                        partition_rows,
                        session,
                    },
                    vec![],
                ))
            }
            S::Drop { object_type: ast::ObjectType::Index, if_exists, names, cascade, .. } => {
                Ok((constraints::drop_index(self.sql, names, *if_exists, *cascade)?, vec![]))
            }
            S::CreateIndex(ci) => Ok((self.create_index(ci)?, vec![])),
            S::Insert(ins) => self.insert(ins),
            S::Update(up) => self.update(up),
            S::Delete(del) => self.delete(del),
            S::Merge(m) => self.merge(m),
            S::Truncate(t) => self.truncate(t),
            S::Copy { .. } => Ok((self.copy_statement()?, vec![])),
            S::Vacuum(_) => Ok((self.maintenance_statement(true, stmt)?, vec![])),
            S::Analyze(_) => Ok((self.maintenance_statement(false, stmt)?, vec![])),
            S::AlterTable(at) => Ok((self.alter_table(at)?, vec![])),
            S::AlterIndex { .. } | S::AlterView(_) => match self.rename_statement(stmt) {
                Some(plan) => Ok((plan?, vec![])),
                None => Err(not_supported(stmt)),
            },
            S::Lock(l) => Ok((self.lock_tables(l)?, vec![])),
            S::StartTransaction { modes, statements, begin, .. } if statements.is_empty() => {
                let (read_only, isolation, deferrable) = transaction_modes(modes)?;
                Ok((Plan::Begin { read_only, isolation, deferrable, start: !*begin }, vec![]))
            }
            S::Set(ast::Set::SetTransaction { modes, snapshot: None, session }) => {
                // SET TRANSACTION is SET LOCAL of transaction_isolation / transaction_read_only;
                // SET SESSION CHARACTERISTICS AS TRANSACTION sets their defaults.
                let (read_only, isolation, deferrable) = transaction_modes(modes)?;
                let (iso_name, ro_name, deferrable_name) = if *session {
                    ("default_transaction_isolation", "default_transaction_read_only", "default_transaction_deferrable")
                } else {
                    ("transaction_isolation", "transaction_read_only", "transaction_deferrable")
                };
                // Each mode is applied as its own SET, in the order PostgreSQL applies them
                // (isolation level first); several modes are a list of SETs.
                let mut sets = Vec::new();
                if let Some(i) = isolation {
                    sets.push((iso_name, i.name()));
                }
                if let Some(ro) = read_only {
                    sets.push((ro_name, if ro { "on" } else { "off" }));
                }
                if let Some(d) = deferrable {
                    sets.push((deferrable_name, if d { "on" } else { "off" }));
                }
                let mut plans = Vec::new();
                for (name, value) in sets {
                    let value = match *session {
                        true => crate::settings::set_value(name, &[value.to_string()])?.1,
                        false => value.to_string(),
                    };
                    plans.push(Plan::Set { name, value: Some(value), local: !*session });
                }
                match plans.len() {
                    1 => Ok((plans.remove(0), vec![])),
                    _ => Ok((Plan::Sets(plans), vec![])),
                }
            }
            S::Set(ast::Set::SingleAssignment { variable, values, .. })
                if variable.to_string() == alter_sequence::NOT_SUPPORTED =>
            {
                Ok((self.not_built(values)?, vec![]))
            }
            S::Set(ast::Set::SingleAssignment { variable, values, .. })
                if variable.to_string() == schema_elements::MARKER =>
            {
                Ok((self.create_schema_elements(values)?, vec![]))
            }
            S::Set(ast::Set::SingleAssignment { variable, values, .. }) if variable.to_string() == reindex::MARKER => {
                Ok((self.reindex(values)?, vec![]))
            }
            S::Set(ast::Set::SingleAssignment { variable, values, .. }) if variable.to_string() == DO_MARKER => {
                Ok((do_plan(values)?, vec![]))
            }
            S::Set(ast::Set::SingleAssignment { variable, values, .. }) if variable.to_string() == triggers::MARKER => {
                Ok((self.create_trigger(values)?, vec![]))
            }
            S::DropTrigger(d) => Ok((self.drop_trigger(d)?, vec![])),
            S::AlterTrigger(a) => Ok((self.alter_trigger(a)?, vec![])),
            S::Set(ast::Set::SingleAssignment { variable, values, .. }) if variable.to_string() == domain::MARKER => {
                Ok((domain::bind(values)?, vec![]))
            }
            S::Set(ast::Set::SingleAssignment { variable, values, .. })
                if variable.to_string() == foreign_keys::SET_CONSTRAINTS =>
            {
                Ok((foreign_keys::set_constraints(values)?, vec![]))
            }
            S::Set(ast::Set::SingleAssignment { scope, variable, values, .. }) => {
                // A quoted name is the parameter of that name (`SET "role" TO x`).
                let parts: Option<Vec<&str>> =
                    variable.0.iter().map(|p| p.as_ident().map(|i| i.value.as_str())).collect();
                let name = parts.map_or_else(|| variable.to_string(), |p| p.join("."));
                let local = matches!(scope, Some(ast::ContextModifier::Local));
                let vals = values.iter().map(set_word).collect::<Result<Vec<_>>>()?;
                if matches!(vals.as_slice(), [v] if v.is_none()) {
                    let canon = setting_to_reset(&name)?;
                    return Ok((Plan::Set { name: canon, value: None, local }, vec![]));
                }
                let vals: Vec<String> = vals.into_iter().map(|v| v.unwrap_or_else(|| "default".into())).collect();
                let (canon, value) = crate::settings::set_value(&name, &vals)?;
                if matches!(canon, "role" | "session_authorization") {
                    return Ok((role_setting(canon, &value, local)?, vec![]));
                }
                Ok((Plan::Set { name: canon, value: Some(value), local }, vec![]))
            }
            S::Set(ast::Set::SetRole { context_modifier, role_name }) => {
                let local = matches!(context_modifier, Some(ast::ContextModifier::Local));
                let value = role_name.as_ref().map_or_else(|| "none".to_string(), fold);
                Ok((role_setting("role", &value, local)?, vec![]))
            }
            S::Set(ast::Set::SetSessionAuthorization(p)) => {
                let local = matches!(p.scope, ast::ContextModifier::Local);
                match &p.kind {
                    ast::SetSessionAuthorizationParamKind::Default => {
                        Ok((Plan::Set { name: "session_authorization", value: None, local }, vec![]))
                    }
                    ast::SetSessionAuthorizationParamKind::User(u) => {
                        Ok((role_setting("session_authorization", &fold(u), local)?, vec![]))
                    }
                }
            }
            S::Set(ast::Set::SetTimeZone { local, value }) => {
                let v = set_word(value)?;
                let value = match v {
                    None => None,
                    Some(v) if v.eq_ignore_ascii_case("local") => None,
                    Some(v) => Some(crate::settings::set_value("TimeZone", &[v])?.1),
                };
                Ok((Plan::Set { name: "TimeZone", value, local: *local }, vec![]))
            }
            S::Reset(r) => match &r.reset {
                ast::Reset::ALL => Ok((Plan::Reset(None), vec![])),
                ast::Reset::ConfigurationParameter(n) => {
                    let name = n.to_string();
                    Ok((Plan::Reset(Some(setting_to_reset(&name)?)), vec![]))
                }
                ast::Reset::SessionAuthorization => Ok((Plan::Reset(Some("session_authorization")), vec![])),
            },
            S::CreateSequence { name, sequence_options, .. } if alter_sequence::is_alter(name) => {
                Ok((self.alter_sequence(name, sequence_options)?, vec![]))
            }
            S::CreateSequence { temporary, if_not_exists, name, sequence_options } => {
                let n = match crate::temp_tables::new_relation(name, *temporary)? {
                    Some(n) => n,
                    None => new_object_name(self.sql, name)?,
                };
                let def = self.sequence_def(&n, sequence_options, SqlType::Int8)?;
                Ok((Plan::CreateSequence { def, if_not_exists: *if_not_exists }, vec![]))
            }
            S::Drop { object_type: ast::ObjectType::Sequence, if_exists, names, cascade, .. } => {
                let names = names
                    .iter()
                    .map(|n| match n.0.iter().map(|p| p.as_ident()).collect::<Option<Vec<_>>>().as_deref() {
                        Some([id]) => crate::schema::resolve_unqualified_sequence(&schema::relation_part(&fold(id))?),
                        _ => object_name(self.sql, n),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok((Plan::DropSequence { names, if_exists: *if_exists, cascade: *cascade }, vec![]))
            }
            S::Explain { statement, analyze, options, format, .. } => {
                let mut analyze = *analyze;
                let mut opts = crate::explain::Options::default();
                let format_name = |f: &str| -> Result<crate::explain::Format> {
                    use crate::explain::Format;
                    match f {
                        "text" => Ok(Format::Text),
                        "json" => Ok(Format::Json),
                        "yaml" => Ok(Format::Yaml),
                        "xml" => Err(SqlError::unsupported(format!(
                            "EXPLAIN (FORMAT {}) is not supported yet",
                            f.to_uppercase()
                        ))),
                        other => Err(SqlError::new(
                            code::INVALID_PARAMETER_VALUE,
                            format!("unrecognized value for EXPLAIN option \"format\": \"{other}\""),
                        )),
                    }
                };
                // `EXPLAIN FORMAT JSON ...` without parentheses is MySQL's: PostgreSQL's grammar
                // takes only ANALYZE and VERBOSE bare.
                if format.is_some() {
                    return Err(SqlError::syntax("FORMAT"));
                }
                for o in options.iter().flatten() {
                    let name = fold(&o.name);
                    let on = match &o.arg {
                        None => true,
                        Some(a) => !matches!(a.to_string().to_ascii_lowercase().as_str(), "false" | "off" | "0"),
                    };
                    match name.as_str() {
                        "analyze" => analyze = on,
                        "costs" => opts.costs = on,
                        // Display options: Orbit prints no buffers or per-node timings.
                        "verbose" | "buffers" | "timing" | "summary" | "settings" | "wal" => {}
                        "format" => {
                            let f = o.arg.as_ref().map(|a| a.to_string().to_ascii_lowercase()).unwrap_or_default();
                            opts.format = format_name(f.trim_matches('\''))?;
                        }
                        other => {
                            return Err(SqlError::new(
                                code::SYNTAX_ERROR,
                                format!("unrecognized EXPLAIN option \"{other}\""),
                            ))
                        }
                    }
                }
                if let S::Execute { .. } = statement.as_ref() {
                    let Plan::Execute { name, args } = self.session_statement(statement)? else {
                        return Err(SqlError::internal("EXECUTE bound to another plan"));
                    };
                    let col = OutputColumn { name: "QUERY PLAN".into(), ty: SqlType::Text, table_oid: 0, column: 0 };
                    return Ok((Plan::ExplainExecute { name, args, explain: Box::new(stmt.clone()) }, vec![col]));
                }
                // CREATE TABLE AS / CREATE MATERIALIZED VIEW: the plan of the query (nothing is
                // created; ANALYZE, which PostgreSQL runs the creation for, is not built).
                let ctas = match statement.as_ref() {
                    S::CreateTable(ct) => ct.query.clone(),
                    S::CreateView(cv) if cv.materialized => Some(cv.query.clone()),
                    _ => None,
                };
                let query_of_ctas = ctas.map(S::Query);
                let statement = match &query_of_ctas {
                    Some(_) if analyze => {
                        return Err(SqlError::unsupported(
                            "EXPLAIN ANALYZE of CREATE TABLE AS or CREATE MATERIALIZED VIEW is not supported yet",
                        ))
                    }
                    Some(q) => q,
                    None => statement.as_ref(),
                };
                let (inner, _) = self.statement(statement)?;
                let (_, shards) = orbit_shards::state::local();
                let lines = crate::explain::lines(&inner, &crate::explain::Texts::of(statement), shards, opts)?;
                let ty = if opts.format == crate::explain::Format::Json { SqlType::Json } else { SqlType::Text };
                let col = OutputColumn { name: "QUERY PLAN".into(), ty, table_oid: 0, column: 0 };
                let redraw = analyze.then(|| {
                    Box::new(crate::explain::Redraw { texts: crate::explain::Texts::of(statement), shards, opts })
                });
                Ok((Plan::Explain { inner: Box::new(inner), lines, analyze, redraw, format: opts.format }, vec![col]))
            }
            S::Savepoint { name } => Ok((Plan::Savepoint(fold(name)), vec![])),
            S::ReleaseSavepoint { name } => Ok((Plan::ReleaseSavepoint(fold(name)), vec![])),
            S::Rollback { chain: false, savepoint: Some(name) } => Ok((Plan::RollbackTo(fold(name)), vec![])),
            S::ShowVariable { variable } => {
                let name = variable.iter().map(|i| i.value.as_str()).collect::<Vec<_>>().join(".");
                // gram.y's VariableShowStmt: the SQL-standard spellings of three parameters.
                let words: Vec<String> = variable.iter().map(|i| i.value.to_ascii_lowercase()).collect();
                let unquoted = variable.iter().all(|i| i.quote_style.is_none());
                let name = match (unquoted, words.join(" ").as_str()) {
                    (true, "transaction isolation level") => "transaction_isolation".to_string(),
                    (true, "time zone") => "timezone".to_string(),
                    (true, "session authorization") => "session_authorization".to_string(),
                    _ => name,
                };
                let text =
                    |name: &str| OutputColumn { name: name.to_string(), ty: SqlType::Text, table_oid: 0, column: 0 };
                if name.eq_ignore_ascii_case("all") {
                    return Ok((Plan::Show(None), vec![text("name"), text("setting"), text("description")]));
                }
                let unrecognized = || {
                    SqlError::new(code::UNDEFINED_OBJECT, format!("unrecognized configuration parameter \"{name}\""))
                };
                match crate::settings::canonical(&name) {
                    Some(canon) => Ok((Plan::Show(Some(canon)), vec![text(canon)])),
                    // A custom parameter the session has made (noted: the statement binds
                    // again if the session had not).
                    None => {
                        crate::settings::bound_value(&name).ok_or_else(unrecognized)?;
                        let canon = crate::settings::custom(&name).map_err(|_| unrecognized())?;
                        Ok((Plan::Show(Some(canon)), vec![text(canon)]))
                    }
                }
            }
            S::Deallocate { name, .. } => {
                let n = fold(name);
                Ok((Plan::Deallocate(if n == "all" && name.quote_style.is_none() { None } else { Some(n) }), vec![]))
            }
            S::Prepare { .. } | S::Execute { .. } | S::Discard { .. } => Ok((self.session_statement(stmt)?, vec![])),
            S::LISTEN { .. } | S::UNLISTEN { .. } | S::NOTIFY { .. } => {
                Ok((self.notify_statement(stmt).ok_or_else(|| not_supported(stmt))?, vec![]))
            }
            S::Comment { object_type, object_name, comment, if_exists } => {
                Ok((self.comment(object_type, object_name, comment, *if_exists)?, vec![]))
            }
            S::Declare { stmts, .. } => Ok((self.declare(stmts)?, vec![])),
            S::Fetch { name, direction, into, .. } => Ok((self.fetch(name, direction, into.as_ref())?, vec![])),
            S::Close { cursor } => Ok((self.close_cursor(cursor)?, vec![])),
            S::Commit { chain, .. } => Ok((Plan::Commit { chain: *chain }, vec![])),
            S::Rollback { chain, savepoint: None } => Ok((Plan::Rollback { chain: *chain }, vec![])),
            other => Err(not_supported(other)),
        }
    }

    /// `CREATE TABLE name [(columns)] AS query` (and SELECT ... INTO name): a table with the
    /// query's result columns (their names, or the ones listed; an untyped literal's column is
    /// text, as PostgreSQL makes it), filled with the query's rows by an INSERT bound once the
    /// table exists. The command tag is `SELECT n`.
    fn create_table_as(&mut self, ct: &ast::CreateTable, q: &ast::Query) -> Result<Plan> {
        let listed: Vec<String> = ct.columns.iter().map(|c| fold(&c.name)).collect();
        // WITH NO DATA: the table alone, the query not run.
        let no_data = ct.with_data.as_ref().is_some_and(|w| !w.data);
        self.table_as(&ct.name, &listed, q, ct.if_not_exists, ct.temporary, ct.on_commit, no_data)
    }

    /// CREATE TABLE `name` (`listed` names its first columns) AS `q`: the table of the query's
    /// result columns, then (unless `no_data`) `INSERT INTO name q`, bound once the table exists
    /// (CREATE MATERIALIZED VIEW too, `bind/matviews.rs`).
    #[allow(clippy::too_many_arguments)]
    fn table_as(
        &mut self,
        name: &ast::ObjectName,
        listed: &[String],
        q: &ast::Query,
        if_not_exists: bool,
        temporary: bool,
        on_commit: Option<ast::OnCommit>,
        no_data: bool,
    ) -> Result<Plan> {
        new_object_name(self.sql, name)?;
        let (_, cols) = self.query(q)?;
        if listed.len() > cols.len() {
            return Err(SqlError::new(code::SYNTAX_ERROR, "too many column names were specified"));
        }
        let mut defs: Vec<String> = Vec::with_capacity(cols.len());
        let mut names: Vec<String> = Vec::with_capacity(cols.len());
        for (i, c) in cols.iter().enumerate() {
            let name = listed.get(i).cloned().unwrap_or_else(|| c.name.clone());
            if names.contains(&name) {
                return Err(SqlError::new(
                    code::DUPLICATE_COLUMN,
                    format!("column \"{name}\" specified more than once"),
                ));
            }
            let ty = if c.ty == SqlType::Unknown { SqlType::Text } else { c.ty };
            no_pseudo_type_column(&name, ty)?;
            // A column read from a column of a domain keeps the domain, as in PostgreSQL.
            let ty_name = domain::of_origin(c.table_oid, c.column).unwrap_or_else(|| ty.name());
            defs.push(format!("{} {}", ast::Ident::with_quote('"', name.clone()), ty_name));
            names.push(name);
        }
        let create = format!(
            "CREATE {}TABLE {}{} ({}){}",
            if temporary { "TEMPORARY " } else { "" },
            if if_not_exists { "IF NOT EXISTS " } else { "" },
            name,
            defs.join(", "),
            on_commit.map_or(String::new(), |o| format!(" {}", crate::temp_tables::on_commit_sql(o)))
        );
        let stmts = parse(&create)?;
        let [ast::Statement::CreateTable(plain)] = stmts.as_slice() else {
            return Err(SqlError::internal("CREATE TABLE AS"));
        };
        let create = self.create_table(plain)?;
        // The INSERT binds once the table exists (it is not in the catalog before).
        Ok(Plan::Steps {
            session: binding_session(),
            first: Box::new(create),
            rest: if no_data { Vec::new() } else { vec![format!("INSERT INTO {name} {q}")] },
            select_tag: true,
        })
    }

    /// SELECT ... INTO [TABLE] name: PostgreSQL's older spelling of CREATE TABLE AS.
    fn select_into_table(&mut self, into: ast::SelectInto, q: &ast::Query) -> Result<Plan> {
        if into.unlogged {
            return Err(SqlError::unsupported("SELECT INTO an UNLOGGED table is not supported"));
        }
        let [ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_)] = into.targets.as_slice() else {
            return Err(SqlError::syntax("INTO"));
        };
        let sql = format!("CREATE {}TABLE {} AS {q}", if into.temporary { "TEMPORARY " } else { "" }, into.targets[0]);
        let stmts = parse(&sql)?;
        let [ast::Statement::CreateTable(ct)] = stmts.as_slice() else {
            return Err(SqlError::internal("SELECT INTO"));
        };
        self.create_table(ct)
    }

    fn create_table(&mut self, ct: &ast::CreateTable) -> Result<Plan> {
        if ct.columns.iter().any(|c| c.name.value.starts_with(create_like::MARK)) {
            return self.create_table_like(ct);
        }
        // `(LIKE source [INCLUDING | EXCLUDING DEFAULTS])` alone, which sqlparser reads itself.
        if let Some(ast::CreateTableLikeKind::Parenthesized(like)) = &ct.like {
            return self.create_table_like(&create_like::marked(ct, like));
        }
        if let (Some(q), None) = (&ct.query, &ct.like) {
            return self.create_table_as(ct, q);
        }
        let (name, on_commit) = match crate::temp_tables::new_name(ct)? {
            Some(temp) => temp,
            None => (new_object_name(self.sql, &ct.name)?, None),
        };
        if ct.query.is_some() || ct.like.is_some() {
            return Err(SqlError::unsupported("this form of CREATE TABLE is not supported yet"));
        }
        // Table inheritance and declarative partitioning are not built: refused, not ignored.
        if ct.inherits.is_some() {
            return Err(SqlError::unsupported("table inheritance (CREATE TABLE ... INHERITS) is not supported yet"));
        }
        if ct.partition_of.is_some() {
            if on_commit.is_some() || crate::temp_tables::is_temp_relation(&name) {
                return Err(crate::partitions::unsupported("a temporary partition"));
            }
            return self.create_partition(ct, name);
        }
        if ct.for_values.is_some() {
            return Err(SqlError::syntax("FOR"));
        }
        let reloptions = self.storage_parameters(&ct.table_options)?;
        let mut columns: Vec<ColumnDef> = Vec::new();
        let mut sequences: Vec<crate::sequence::SeqDef> = Vec::new();
        let mut pk: Option<(Vec<usize>, Option<String>)> = None;
        let mut checks: Vec<(Option<String>, ast::Expr)> = Vec::new();
        let mut uniques: Vec<(Option<String>, Vec<usize>)> = Vec::new();
        let mut fks: Vec<ast::ForeignKeyConstraint> = Vec::new();
        let multiple_pk = |name: &str| {
            SqlError::new(
                code::INVALID_TABLE_DEFINITION,
                format!("multiple primary keys for table \"{name}\" are not allowed"),
            )
        };
        for (i, c) in ct.columns.iter().enumerate() {
            let cname = fold(&c.name);
            if columns.iter().any(|x| x.name == cname) {
                return Err(SqlError::new(
                    code::DUPLICATE_COLUMN,
                    format!("column \"{cname}\" specified more than once"),
                ));
            }
            let serial = serial_type(&c.data_type);
            let ty = match serial {
                Some(t) => t,
                None => column_type(&c.data_type, &cname)?,
            };
            let mut col = ColumnDef::new(cname.clone(), ty);
            col.domain = domain::domain_of(&c.data_type)?.map_or(0, |d| d.oid);
            // PostgreSQL's ChooseRelationName: both parts chopped to fit 63 bytes, a number
            // added while the name is taken.
            let seq_name = || constraints::choose_name(&name, Some(&cname), "seq", crate::regtypes::relation_named);
            if serial.is_some() {
                let mut seq = crate::sequence::SeqDef::new(&seq_name(), ty, 1);
                seq.owned_by = Some(name.clone());
                col.not_null = true;
                col.default_expr = Some(crate::sequence::nextval_default(&seq.name));
                sequences.push(seq);
            }
            for opt in &c.options {
                match &opt.option {
                    ast::ColumnOption::NotNull => col.not_null = true,
                    ast::ColumnOption::Null => {}
                    ast::ColumnOption::Generated {
                        generated_as: g @ (ast::GeneratedAs::Always | ast::GeneratedAs::ByDefault),
                        sequence_options,
                        generation_expr: None,
                        ..
                    } => {
                        if col.generated.is_some() {
                            return Err(generated::both_identity(&cname, crate::schema::relname(&name)));
                        }
                        if !ty.is_integer() {
                            return Err(SqlError::new(
                                code::INVALID_PARAMETER_VALUE,
                                "identity column type must be smallint, integer, or bigint",
                            ));
                        }
                        if col.default_expr.is_some() || col.identity != orbit_engine::table::Identity::No {
                            return Err(SqlError::new(
                                code::SYNTAX_ERROR,
                                format!("multiple default values specified for column \"{cname}\" of table \"{name}\""),
                            ));
                        }
                        let mut seq = self.sequence_def(&seq_name(), sequence_options.as_deref().unwrap_or(&[]), ty)?;
                        seq.owned_by = Some(name.clone());
                        col.not_null = true;
                        col.identity = if matches!(g, ast::GeneratedAs::Always) {
                            orbit_engine::table::Identity::Always
                        } else {
                            orbit_engine::table::Identity::ByDefault
                        };
                        col.default_expr = Some(crate::sequence::nextval_default(&seq.name));
                        sequences.push(seq);
                    }
                    ast::ColumnOption::Generated {
                        generated_as,
                        generation_expr: Some(e),
                        generation_expr_mode,
                        ..
                    } => {
                        self.generated_option(&mut col, generated_as, e, generation_expr_mode.as_ref(), &name)?;
                    }
                    ast::ColumnOption::Default(_) if col.generated.is_some() => {
                        return Err(generated::both_default(&cname, crate::schema::relname(&name)));
                    }
                    ast::ColumnOption::Default(_) if col.default_expr.is_some() => {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            format!("multiple default values specified for column \"{cname}\" of table \"{name}\""),
                        ));
                    }
                    ast::ColumnOption::Default(e) => {
                        // Bound (literals converted) but not computed: it is computed at INSERT, so
                        // 1 / 0 or a value too long for the column fails there, as in PostgreSQL.
                        self.expr_depth += 1;
                        let checked = self.expr(e, None).and_then(|bound| {
                            self.coerce(bound, ty, CastContext::Assignment, |from| {
                                SqlError::new(
                                    code::DATATYPE_MISMATCH,
                                    format!(
                                        "column \"{cname}\" is of type {} but default expression is of type {}",
                                        ty.name(),
                                        from.name()
                                    ),
                                )
                                .hint("You will need to rewrite or cast the expression.")
                            })
                        });
                        self.expr_depth -= 1;
                        match checked {
                            Ok(_) => {}
                            Err(err) if err.code == code::STRING_DATA_RIGHT_TRUNCATION => {}
                            Err(err) => return Err(err),
                        }
                        if !self.params.is_empty() {
                            return Err(SqlError::new(code::SYNTAX_ERROR, "there is no parameter $1"));
                        }
                        // Kept as text and computed at every INSERT, as PostgreSQL does.
                        col.default_expr = Some(alter_column::default_text(e, ty));
                    }
                    ast::ColumnOption::PrimaryKey(_) => {
                        if pk.is_some() {
                            return Err(multiple_pk(&name));
                        }
                        pk = Some((vec![i], opt.name.as_ref().map(fold)));
                    }
                    ast::ColumnOption::Check(cc) => {
                        checks.push((opt.name.as_ref().or(cc.name.as_ref()).map(fold), (*cc.expr).clone()));
                    }
                    ast::ColumnOption::Unique(uc) if uc.characteristics.is_none() => {
                        uniques.push((opt.name.as_ref().or(uc.name.as_ref()).map(fold), vec![i]));
                    }
                    ast::ColumnOption::ForeignKey(fk) => {
                        let name = opt.name.clone().or_else(|| fk.name.clone());
                        let columns = vec![c.name.clone()];
                        fks.push(ast::ForeignKeyConstraint { name, columns, ..fk.clone() });
                    }
                    // A column's COLLATE of the C collation (or the default, which is it) is how
                    // every text column compares already; the name is not kept.
                    ast::ColumnOption::Collation(n) => column_collation(self.sql, ty, n)?,
                    _ => {
                        return Err(SqlError::unsupported(format!(
                            "column constraint {} is not supported yet",
                            opt.option.to_string().to_uppercase()
                        )))
                    }
                }
            }
            columns.push(col);
        }
        for tc in &ct.constraints {
            match tc {
                ast::TableConstraint::PrimaryKey(p) => {
                    if pk.is_some() {
                        return Err(multiple_pk(&name));
                    }
                    let mut idx = Vec::new();
                    for ic in &p.columns {
                        let ast::Expr::Identifier(id) = &ic.column.expr else {
                            return Err(SqlError::syntax(&ic.column.expr.to_string()));
                        };
                        let cn = fold(id);
                        let i = columns.iter().position(|c| c.name == cn).ok_or_else(|| {
                            SqlError::new(
                                code::UNDEFINED_COLUMN,
                                format!("column \"{cn}\" named in key does not exist"),
                            )
                            .at(self.pos(&id.span))
                        })?;
                        if idx.contains(&i) {
                            return Err(SqlError::new(
                                code::DUPLICATE_COLUMN,
                                format!("column \"{cn}\" appears twice in primary key constraint"),
                            ));
                        }
                        idx.push(i);
                    }
                    pk = Some((idx, p.name.as_ref().map(fold)));
                }
                ast::TableConstraint::Check(cc) => checks.push((cc.name.as_ref().map(fold), (*cc.expr).clone())),
                ast::TableConstraint::ForeignKey(fk) => fks.push(fk.clone()),
                ast::TableConstraint::Unique(uc) if uc.characteristics.is_none() && uc.include.is_empty() => {
                    let idx = self.key_columns(&uc.columns, &columns, "named in key")?;
                    uniques.push((uc.name.as_ref().map(fold), idx));
                }
                other => {
                    return Err(SqlError::unsupported(format!(
                        "table constraint {} is not supported yet",
                        other.to_string().split_whitespace().next().unwrap_or("").to_uppercase()
                    )))
                }
            }
        }
        // Without a primary key, rows are keyed by a hidden row id (`TableDef::has_row_id`).
        let (pk, pk_name) = match pk {
            Some((pk, pk_name)) => {
                for &i in &pk {
                    columns[i].not_null = true;
                }
                (
                    pk,
                    pk_name
                        .unwrap_or_else(|| constraints::make_object_name(crate::schema::relname(&name), None, "pkey")),
                )
            }
            None => (Vec::new(), String::new()),
        };
        let mut def = TableDef { name, columns, pk, pk_name, reloptions, ..TableDef::default_empty() };
        self.check_generated(&def)?;
        self.add_constraints(&mut def, checks, uniques)?;
        self.add_foreign_keys(&mut def, fks)?;
        crate::temp_tables::check_foreign_keys(&def)?;
        if let Some(by) = &ct.partition_by {
            if on_commit.is_some() || crate::temp_tables::is_temp_relation(&def.name) {
                return Err(crate::partitions::unsupported("a temporary partitioned table"));
            }
            def.partition_key = Some(self.partition_key(by, &def)?.text());
        }
        Ok(Plan::CreateTable { def, if_not_exists: ct.if_not_exists, sequences, on_commit })
    }

    /// The name of a table a statement reads or writes. PostgreSQL looks such a name up with
    /// a missing schema allowed, so an unknown schema is 42P01 naming the relation (CREATE and
    /// DROP say 3F000, through [`object_name`]).
    fn relation_name(&self, name: &ast::ObjectName) -> Result<String> {
        object_name(self.sql, name).map_err(|e| {
            if e.code != "3F000" {
                return e;
            }
            let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
            let span = name.0.first().and_then(|p| p.as_ident()).map(|i| i.span);
            SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{}\" does not exist", parts.join(".")))
                .at(span.and_then(|s| self.pos(&s)))
        })
    }

    /// A table by name (its folded name and definition), or PostgreSQL's 42P01 at the name;
    /// another session's temporary table is 0A000 (PostgreSQL lets only DROP reach it).
    fn resolve_table(&self, name: &ast::ObjectName) -> Result<(String, Arc<TableDef>)> {
        self.resolve_table_to(name, "access")
    }

    /// [`Binder::resolve_table`] for a statement that would `verb` the table ("alter",
    /// "truncate", "create indexes on"): PostgreSQL's message for another session's temporary
    /// table names it.
    fn resolve_table_to(&self, name: &ast::ObjectName, verb: &str) -> Result<(String, Arc<TableDef>)> {
        let (tname, def) = self.resolve_table_any(name)?;
        // A partition's rows are its root's (`crate::partitions`): TRUNCATE deletes them; other
        // statements that would change a partition's own definition are not built.
        let statement = if verb.starts_with("alter") { "ALTER TABLE" } else { "CREATE INDEX" };
        if def.partition_of.is_some() && !matches!(verb, "truncate" | "access") {
            return Err(crate::partitions::unsupported(&format!("{statement} on a partition")));
        }
        // The root's indexes are the hierarchy's.
        let root_index = matches!(verb, "create indexes on" | "alter constraints of" | "alter columns of")
            && def.partition_of.is_none();
        if def.partition_key.is_some() && !matches!(verb, "truncate" | "access") && !root_index {
            return Err(crate::partitions::unsupported(&format!("{statement} on a partitioned table")));
        }
        let schema = crate::schema::split(&tname).0;
        if crate::temp_tables::is_temp_schema(schema) && crate::temp_tables::current().as_deref() != Some(schema) {
            let verb = if verb.starts_with("alter") { "alter" } else { verb };
            return Err(SqlError::unsupported(format!("cannot {verb} temporary tables of other sessions")));
        }
        Ok((tname, def))
    }

    fn resolve_table_any(&self, name: &ast::ObjectName) -> Result<(String, Arc<TableDef>)> {
        let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
        if let Some(def) = crate::catalog::resolve(&parts) {
            return Ok((def.name.clone(), def));
        }
        let tname = self.relation_name(name)?;
        // PostgreSQL points at the name's start (its schema, when qualified).
        let span = name.0.first().and_then(|p| p.as_ident()).map(|i| i.span);
        // As written (qualified or not) when missing; its name in its schema otherwise.
        let def = lookup_table(&tname).ok_or_else(|| {
            SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{}\" does not exist", parts.join(".")))
                .at(span.and_then(|s| self.pos(&s)))
        })?;
        self.note_relation(name, &tname);
        let rel = crate::schema::relname(&tname);
        if def.index_of.is_some() {
            return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{rel}\" is an index"))
                .at(span.and_then(|s| self.pos(&s))));
        }
        if def.view.is_some() && def.partition_of.is_none() {
            return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{rel}\" is not a table"))
                .detail("This operation is not supported for views."));
        }
        Ok((tname, def))
    }

    /// The view `name` names when it has INSTEAD OF triggers of `op`.
    fn instead_of_target(&self, name: &ast::ObjectName, op: crate::triggers::Op) -> Option<Arc<TableDef>> {
        if !crate::triggers::any_instead() {
            return None;
        }
        let def = lookup_table(&self.relation_name(name).ok()?)?;
        crate::triggers::has_instead(&def, op).then_some(def)
    }

    /// An UPDATE's or DELETE's target when it is a view with INSTEAD OF triggers of `op`: its
    /// definition and the name the statement knows it by.
    fn instead_of(
        &self,
        twj: &ast::TableWithJoins,
        op: crate::triggers::Op,
    ) -> Result<Option<(Arc<TableDef>, String)>> {
        let ast::TableFactor::Table { name, alias, .. } = &twj.relation else { return Ok(None) };
        let Some(def) = self.instead_of_target(name, op) else { return Ok(None) };
        if !twj.joins.is_empty() {
            return Err(SqlError::unsupported("joins in UPDATE and DELETE are not supported yet"));
        }
        let alias = alias.as_ref().map_or_else(|| crate::schema::relname(&def.name).to_string(), |a| fold(&a.name));
        Ok(Some((def, alias)))
    }

    /// One table of UPDATE/DELETE/a single-table FROM (joins go through [`Binder::bind_join`]).
    fn table_ref(&mut self, twj: &ast::TableWithJoins) -> Result<(Arc<TableDef>, String)> {
        if !twj.joins.is_empty() {
            return Err(SqlError::unsupported("joins in UPDATE and DELETE are not supported yet"));
        }
        self.relation(&twj.relation)
    }

    /// A query whose body is a SELECT (WITH is bound by [`Binder::query`]).
    fn select_query(&mut self, q: &ast::Query) -> Result<(Plan, Vec<OutputColumn>)> {
        // Set-returning calls in GROUP BY or window definitions run below them (bind/srf.rs).
        if let Some(q) = srf::grouped_srfs(q) {
            return self.select_query(&q);
        }
        if let Some(q) = self.sql_functions_in_from(q)? {
            return self.select_query(&q);
        }
        if let Some(q) = from_scalar::rewritten(q) {
            return self.select_query(&q);
        }
        let keep_unknown = std::mem::take(&mut self.sub.keep_unknown);
        let (lock_clauses, mut for_update) = self.locking_clauses(&q.locks)?;
        let ast::SetExpr::Select(sel) = q.body.as_ref() else {
            return Err(SqlError::unsupported("only SELECT ... is supported as a query yet"));
        };
        // Other dialects' clauses sqlparser reads but PostgreSQL has not: refused as PostgreSQL's
        // grammar refuses them, never ignored.
        if let Some(top) = &sel.top {
            let word = match &top.quantity {
                Some(ast::TopQuantity::Constant(n)) => n.to_string(),
                Some(ast::TopQuantity::Expr(_)) => "(".to_string(),
                None => "TOP".to_string(),
            };
            return Err(SqlError::syntax(&word));
        }
        if sel.qualify.is_some() {
            return Err(SqlError::syntax("QUALIFY"));
        }
        if sel.into.is_some() {
            return Err(SqlError::new(code::SYNTAX_ERROR, "SELECT ... INTO is not allowed here"));
        }
        let group_items = match &sel.group_by {
            ast::GroupByExpr::Expressions(e, m) if m.is_empty() => e.as_slice(),
            _ => return Err(SqlError::unsupported("GROUP BY ALL and GROUP BY modifiers are not supported")),
        };
        let outer_window = self.window_begin(&sel.named_window)?;
        let outer_grouping = std::mem::take(&mut self.grouping_calls);
        let outer_srf = std::mem::take(&mut self.srf);
        let joining = sel.from.len() > 1
            || sel
                .from
                .iter()
                .any(|t| !t.joins.is_empty() || matches!(t.relation, ast::TableFactor::NestedJoin { .. }));
        let (table, join, combined, join_scope) = if joining {
            self.srf.ban(Some("JOIN conditions"));
            let (plan, combined, js) = self.bind_join(&sel.from)?;
            (None, Some(Box::new(plan)), Some(combined), Some(js))
        } else {
            let table = match sel.from.as_slice() {
                [] => None,
                [one] => Some(self.table_ref(one)?),
                _ => None,
            };
            (table, None, None, None)
        };
        let lock_targets = match (&table, &join, &join_scope) {
            _ if lock_clauses.is_empty() => vec![],
            (None, Some(j), Some(js)) => locking::join_targets(&lock_clauses, js, j)?,
            (t, ..) => {
                for_update = locking::one_table(&lock_clauses, t.as_ref().map(|(_, a)| a.as_str()))?;
                vec![]
            }
        };
        let scope = match (&table, &combined) {
            (Some((d, a)), _) => Some(Scope { def: d, alias: a.clone(), joined: None }),
            (None, Some(c)) => Some(Scope { def: c, alias: String::new(), joined: join_scope.clone() }),
            _ => None,
        };
        self.window.ban("WHERE");
        self.srf.ban(Some("WHERE"));
        let filter = match &sel.selection {
            Some(w) => Some(self.select_where(w, scope.as_ref())?),
            None => None,
        };
        // Projection (aggregates allowed here).
        self.allow_aggs = true;
        self.window.allow();
        self.srf.allow();
        let mut projection = Vec::new();
        let mut columns = Vec::new();
        for item in &sel.projection {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    if let Some(fields) = self.field_star(e, scope.as_ref())? {
                        for (name, b) in fields {
                            columns.push(self.output(&b, name, scope.as_ref()));
                            projection.push(b);
                        }
                        continue;
                    }
                    let b = self.expr(e, scope.as_ref())?;
                    columns.push(self.output(&b, column_name(e), scope.as_ref()));
                    projection.push(b);
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    let b = self.expr(expr, scope.as_ref())?;
                    columns.push(self.output(&b, fold(alias), scope.as_ref()));
                    projection.push(b);
                }
                ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                    // `t.*` of an enclosing query's FROM item (a subquery's, a LATERAL one's):
                    // its columns as outer references.
                    if let ast::SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(n), _) =
                        item
                    {
                        let q = star_qualifier(n)?;
                        if !scope.as_ref().is_some_and(|s| whole_row::scope_has_item(s, &q)) {
                            if let Some(cols) = self.outer_item_columns(&q, true) {
                                self.note_star(item, cols.iter().map(|(name, _)| (q.clone(), name.clone())).collect());
                                for (name, e) in cols {
                                    columns.push(self.output(&e, name, scope.as_ref()));
                                    projection.push(e);
                                }
                                continue;
                            }
                        }
                    }
                    let Some(s) = scope.as_ref() else {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            "SELECT * with no tables specified is not valid",
                        ));
                    };
                    if let Some(js) = &s.joined {
                        let cols = self.join_wildcard(js, item)?;
                        if self.sub.star_log.is_some() {
                            let names = view_text::join_star_names(js, item, &cols);
                            self.note_star(item, names);
                        }
                        for (name, e) in cols {
                            columns.push(self.output(&e, name, scope.as_ref()));
                            projection.push(e);
                        }
                        continue;
                    }
                    if let ast::SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(n), _) =
                        item
                    {
                        let q = star_qualifier(n)?;
                        if q != s.alias {
                            return Err(SqlError::new(
                                code::UNDEFINED_TABLE,
                                format!("missing FROM-clause entry for table \"{q}\""),
                            ));
                        }
                    }
                    let star = crate::catalog_star::star_columns(s.def);
                    let names = star.iter().map(|&i| (s.alias.clone(), s.def.columns[i].name.clone())).collect();
                    self.note_star(item, names);
                    for i in star {
                        let c = &s.def.columns[i];
                        let e = Expr::Column(i, c.ty);
                        columns.push(self.output(&e, c.name.clone(), scope.as_ref()));
                        projection.push(e);
                    }
                }
                _ => return Err(SqlError::unsupported("this select list item is not supported yet")),
            }
        }
        self.window.ban("HAVING");
        self.srf.ban(Some("HAVING"));
        let mut having = match &sel.having {
            Some(h) => {
                let b = self.expr(h, scope.as_ref())?;
                Some(self.bool_arg(b, "HAVING")?)
            }
            None => None,
        };
        // ORDER BY: an output column number, an output column name, or an input expression
        // (aggregates allowed: they make the query grouped).
        let mut order_by = Vec::new();
        self.window.allow();
        self.srf.allow();
        if let Some(ob) = &q.order_by {
            let ast::OrderByKind::Expressions(list) = &ob.kind else {
                return Err(SqlError::unsupported("ORDER BY ALL is not supported"));
            };
            for o in list {
                let source = self.sort_source(&o.expr, &projection, &columns, scope.as_ref(), "ORDER BY")?;
                let desc = sort_desc(&o.options)?;
                let nulls_first = o.options.nulls_first.unwrap_or(desc);
                order_by.push(SortKey { source, desc, nulls_first });
            }
        }
        self.window_check_named(scope.as_ref())?;
        self.allow_aggs = false;
        self.window.ban("GROUP BY");
        self.srf.ban(None);
        self.srf_group_by_check(group_items, &projection, &columns)?;
        let (group_by, grouping_sets, group_dependent) =
            self.group_by(group_items, &projection, &columns, scope.as_ref())?;
        if group_by.iter().any(crate::srf::has_srf) {
            return Err(SqlError::unsupported("set-returning functions in GROUP BY are not supported"));
        }
        let grouped = !group_by.is_empty()
            || !self.aggs.is_empty()
            || having.is_some()
            || !self.grouping_calls.is_empty()
            || !grouping_sets.is_empty();
        if grouped {
            // Over the groups now: a column outside GROUP BY and aggregates is an error (in
            // the order PostgreSQL checks: select list, ORDER BY, HAVING).
            let regroup = |e: &Expr| {
                crate::group::regroup(e, &group_by).map_err(|i| match scope.as_ref() {
                    Some(Scope { joined: Some(js), .. }) => {
                        let (t, alias, off) = js
                            .tables
                            .iter()
                            .rev()
                            .find(|(_, _, off)| *off <= i)
                            .cloned()
                            .unwrap_or_else(|| (Arc::new(TableDef::default_empty()), String::new(), 0));
                        match t.columns.get(i - off) {
                            Some(c) => crate::group::ungrouped(nested_join::display_alias(&alias), &c.name),
                            None => SqlError::internal("column outside the join"),
                        }
                    }
                    Some(s) => crate::group::ungrouped(&s.alias, &s.def.columns[i].name),
                    None => SqlError::internal("column without a table"),
                })
            };
            let grouping_values = self.grouping_values(&group_by, &grouping_sets)?;
            for e in &mut projection {
                *e = regroup(e)?;
            }
            for k in &mut order_by {
                if let SortSource::Input(e) = &k.source {
                    k.source = SortSource::Input(regroup(e)?);
                }
            }
            if let Some(h) = &having {
                having = Some(regroup(h)?);
            }
            self.window.map_calls(&mut |e| regroup(e))?;
            self.regroup_sublinks(&projection, having.as_ref(), &order_by, &group_by, scope.as_ref())?;
            for c in &mut self.srf.calls {
                for a in &mut c.args {
                    *a = regroup(a)?;
                }
            }
            let mut exprs: Vec<&mut Expr> = projection.iter_mut().collect();
            exprs.extend(having.iter_mut());
            exprs.extend(order_by.iter_mut().filter_map(|k| match &mut k.source {
                SortSource::Input(e) => Some(e),
                SortSource::Output(_) => None,
            }));
            self.grouping_finish(grouping_values, &mut exprs)?;
        }
        // An ORDER BY expression that is a select-list item sorts by that output column.
        for k in &mut order_by {
            if let SortSource::Input(e) = &k.source {
                let text = format!("{e:?}");
                if let Some(i) = projection.iter().position(|p| format!("{p:?}") == text) {
                    k.source = SortSource::Output(i);
                }
            }
        }
        let distinct = match &sel.distinct {
            None | Some(ast::Distinct::All) => Distinct::None,
            Some(ast::Distinct::Distinct) => {
                if order_by.iter().any(|k| matches!(k.source, SortSource::Input(_))) {
                    return Err(SqlError::new(
                        code::INVALID_COLUMN_REFERENCE,
                        "for SELECT DISTINCT, ORDER BY expressions must appear in select list",
                    ));
                }
                Distinct::All
            }
            Some(ast::Distinct::On(list)) => {
                self.distinct_on(list, &mut order_by, &projection, &columns, scope.as_ref(), grouped, &group_by)?
            }
        };
        self.window.ban("LIMIT");
        let (mut limit, mut offset) = (None, None);
        match &q.limit_clause {
            None => {}
            Some(ast::LimitClause::LimitOffset { limit: l, offset: o, limit_by }) if limit_by.is_empty() => {
                if let Some(l) = l {
                    self.srf.ban(Some("LIMIT"));
                    limit = Some(self.count_expr(l, "LIMIT")?);
                }
                if let Some(o) = o {
                    self.srf.ban(Some("OFFSET"));
                    offset = Some(self.count_expr(&o.value, "OFFSET")?);
                }
            }
            Some(_) => return Err(SqlError::syntax(",")),
        }
        let mut limit_ties = false;
        if let Some(f) = &q.fetch {
            self.srf.ban(Some("LIMIT"));
            (limit, limit_ties) = self.fetch_clause(f, limit.is_some(), !order_by.is_empty())?;
        }
        if limit_ties && for_update.is_some() {
            return Err(SqlError::unsupported("FETCH ... WITH TIES with FOR UPDATE/SHARE is not supported yet"));
        }
        for e in projection.iter_mut().filter(|_| !keep_unknown) {
            if e.ty() == SqlType::Unknown {
                *e = self.coerce(e.clone(), SqlType::Text, CastContext::Implicit, |_| SqlError::internal("unknown"))?;
            }
        }
        // The access-path switches, for a stored table's read (not a derived table's or a
        // system view's, which have no other path).
        let paths = match &table {
            Some((def, _)) if !crate::relation::is_derived(def) && !crate::catalog::is_view(def) => {
                crate::exec::index_scan::Paths::bound()
            }
            _ => crate::exec::index_scan::Paths::ALL,
        };
        let key = match (&table, &filter) {
            (Some((def, _)), Some(f)) if !grouped && paths.use_index() => pk_lookup(f, def),
            _ => None,
        };
        if for_update.is_some() {
            let refused = if !group_by.is_empty() {
                Some("GROUP BY clause")
            } else if grouped {
                Some("aggregate functions")
            } else if !matches!(distinct, Distinct::None) {
                Some("DISTINCT clause")
            } else {
                None
            };
            if let Some(what) = refused {
                let clause = for_update.map_or("FOR UPDATE", |l| l.clause);
                return Err(SqlError::new(code::FEATURE_NOT_SUPPORTED, format!("{clause} is not allowed with {what}")));
            }
            if self.window.any() {
                return Err(SqlError::unsupported("FOR UPDATE is not allowed with window functions"));
            }
        }
        let order_exprs = order_by.iter_mut().filter_map(|k| match &mut k.source {
            SortSource::Input(e) => Some(e),
            SortSource::Output(_) => None,
        });
        let windows = self.window_end(outer_window, projection.iter_mut().chain(order_exprs));
        self.grouping_calls = outer_grouping;
        let order_exprs = order_by.iter_mut().filter_map(|k| match &mut k.source {
            SortSource::Input(e) => Some(e),
            SortSource::Output(_) => None,
        });
        let srfs =
            self.srf_end(outer_srf, &windows, for_update.map(|l| l.clause), projection.iter_mut().chain(order_exprs))?;
        let group_strategy = crate::group::Strategy::bound(&group_by, &grouping_sets, distinct, &projection);
        let plan = SelectPlan {
            group_strategy,
            paths,
            for_update,
            lock_targets,
            join,
            table: table.map(|(d, _)| d),
            filter,
            key,
            aggs: std::mem::take(&mut self.aggs),
            grouped,
            group_by,
            grouping_sets,
            group_dependent,
            having,
            distinct,
            projection,
            order_by,
            limit,
            limit_ties,
            offset,
            windows,
            srfs,
        };
        Ok((Plan::Select(Box::new(plan)), columns))
    }

    /// `FETCH {FIRST | NEXT} [n] {ROW | ROWS} {ONLY | WITH TIES}` (SQL's LIMIT; n defaults to
    /// 1): the LIMIT it sets and whether it keeps ties. `has_limit`: a LIMIT clause came too,
    /// which PostgreSQL's grammar refuses.
    pub(crate) fn fetch_clause(
        &mut self,
        f: &ast::Fetch,
        has_limit: bool,
        ordered: bool,
    ) -> Result<(Option<Expr>, bool)> {
        if has_limit {
            return Err(SqlError::syntax("FETCH"));
        }
        if f.percent {
            return Err(SqlError::syntax("PERCENT"));
        }
        if f.with_ties && !ordered {
            return Err(SqlError::new(code::SYNTAX_ERROR, "WITH TIES cannot be specified without ORDER BY clause"));
        }
        let n = match &f.quantity {
            Some(e) => self.count_expr(e, "LIMIT")?,
            None => Expr::Const(Datum::Int8(1), SqlType::Int8),
        };
        Ok((Some(n), f.with_ties))
    }

    /// A plain table in FROM, with the name it is known by.
    fn relation(&mut self, f: &ast::TableFactor) -> Result<(Arc<TableDef>, String)> {
        if let Some(r) = self.special_relation(f)? {
            return Ok(r);
        }
        match f {
            ast::TableFactor::Table { name, alias, args: None, .. } => {
                let (tname, def) = match self.resolve_table(name) {
                    Ok(found) => found,
                    // A sequence reads as a one-row relation (crate::catalog_dump).
                    Err(e) if e.code == code::UNDEFINED_TABLE => {
                        let Ok(tname) = self.relation_name(name) else { return Err(e) };
                        // An unqualified name: the first sequence of that name on the path.
                        let tname = match name.0.as_slice() {
                            [_] => crate::schema::resolve_unqualified_sequence(&tname).unwrap_or(tname),
                            _ => tname,
                        };
                        match crate::catalog_dump::sequence_relation(&tname) {
                            Some(def) => {
                                self.note_relation(name, &tname);
                                (tname, def)
                            }
                            None => {
                                crate::catalog_dump::note_missing_relation(&tname);
                                return Err(e);
                            }
                        }
                    }
                    Err(e) => return Err(e),
                };
                self.check_not_modified(&tname)?;
                let def = match alias {
                    Some(a) if !a.columns.is_empty() => Arc::new(subquery::renamed(&def, a)?),
                    _ => def,
                };
                let alias = match alias {
                    Some(a) => fold(&a.name),
                    None => crate::schema::relname(&tname).to_string(),
                };
                Ok((def, alias))
            }
            _ => Err(SqlError::unsupported("only plain tables are supported in FROM yet")),
        }
    }

    /// A FROM clause of several tables (`a JOIN b ON ...`, `a, b`, USING, NATURAL, parenthesized
    /// joins): the join plan, the combined table definition names resolve against, and the
    /// join's scope.
    fn bind_join(&mut self, from: &[ast::TableWithJoins]) -> Result<(crate::join::JoinPlan, TableDef, JoinScope)> {
        use crate::join::{JoinKind, JoinPlan, JoinStep};
        // The planner switch is read when the statement is bound, as PostgreSQL plans with it.
        let merge_enabled = crate::settings::bound_value("enable_mergejoin").is_none_or(|v| v == "on");
        let mut st = JoinBuild {
            plan: JoinPlan {
                inputs: Vec::new(),
                steps: Vec::new(),
                merge_enabled,
                methods: crate::index_join::Methods::bound(),
            },
            combined: TableDef::default_empty(),
            js: JoinScope::default(),
        };
        // When every join is INNER or CROSS, a parenthesized join of them is joined table by
        // table like the others (the planner orders them all); otherwise each parenthesized
        // join right of another item is computed as one relation (`bind/nested_join.rs`).
        let flatten = from.iter().all(nested_join::all_inner);
        for (n, twj) in from.iter().enumerate() {
            // A RIGHT or FULL JOIN in a FROM item after a comma: PostgreSQL reads `a, b RIGHT
            // JOIN c` as `a, (b RIGHT JOIN c)` (the joins are bound left-deep over every item so
            // far, which would be `(a, b) RIGHT JOIN c`).
            let after_comma_outer = n > 0
                && twj.joins.iter().any(|j| {
                    matches!(
                        j.join_operator,
                        ast::JoinOperator::Right(_)
                            | ast::JoinOperator::RightOuter(_)
                            | ast::JoinOperator::FullOuter(_)
                    )
                });
            if after_comma_outer {
                let (nested, lateral) = self.nested_join(twj, None, Some((&st.combined, &st.js)))?;
                st.add(FromItem::nested(nested))?;
                let step = JoinStep { kind: JoinKind::Cross, on: None, eq: Vec::new() };
                self.join_step(&mut st.plan, &st.js, step, lateral)?;
            } else if n == 0 {
                self.join_leftmost(&mut st, twj, flatten)?;
            } else {
                self.join_one(&mut st, JoinKind::Cross, &ast::JoinConstraint::None, &twj.relation, 0, flatten)?;
                for j in &twj.joins {
                    let (kind, constraint) = join_kind(j)?;
                    self.join_one(&mut st, kind, constraint, &j.relation, 0, flatten)?;
                }
            }
        }
        Ok((st.plan, st.combined, st.js))
    }

    /// The first FROM item and its joins. A parenthesized join first (no alias) is the same
    /// join written without the parentheses: its tables are joined first, left-deep.
    fn join_leftmost(&mut self, st: &mut JoinBuild, twj: &ast::TableWithJoins, flatten: bool) -> Result<()> {
        match nested_join::nested(&twj.relation)? {
            Some((inner, None)) => self.join_leftmost(st, inner, flatten)?,
            _ => {
                let (item, _) = self.bind_join_item(&twj.relation, None)?;
                st.add(item)?;
            }
        }
        for j in &twj.joins {
            let (kind, constraint) = join_kind(j)?;
            self.join_one(st, kind, constraint, &j.relation, 0, flatten)?;
        }
        Ok(())
    }

    /// The items of a parenthesized inner join, joined one by one onto the join so far; their
    /// ON conditions see only the items from `boundary` (a column offset) on.
    fn join_flat(&mut self, st: &mut JoinBuild, twj: &ast::TableWithJoins, boundary: usize) -> Result<()> {
        use crate::join::JoinKind;
        match nested_join::nested(&twj.relation)? {
            Some((inner, None)) => self.join_flat(st, inner, boundary)?,
            _ => self.join_one(st, JoinKind::Cross, &ast::JoinConstraint::None, &twj.relation, boundary, true)?,
        }
        for j in &twj.joins {
            let (kind, constraint) = join_kind(j)?;
            self.join_one(st, kind, constraint, &j.relation, boundary, true)?;
        }
        Ok(())
    }

    /// An ON condition over the join so far; with a `boundary`, only the items from that column
    /// offset on are in scope (those before it are PostgreSQL's "cannot be referenced from this
    /// part of the query").
    fn join_condition(&mut self, st: &JoinBuild, e: &ast::Expr, boundary: usize) -> Result<Expr> {
        if boundary == 0 {
            let scope = Scope { def: &st.combined, alias: String::new(), joined: Some(st.js.clone()) };
            return self.condition(e, Some(&scope), "JOIN/ON");
        }
        let inside = JoinScope {
            tables: st.js.tables.iter().filter(|(_, _, off)| *off >= boundary).cloned().collect(),
            merged: Vec::new(),
            hidden: st.js.hidden.iter().copied().filter(|h| *h >= boundary).collect(),
            unreachable: st.js.unreachable.clone(),
            using_aliases: Vec::new(),
        };
        let outside = JoinScope {
            tables: st.js.tables.iter().filter(|(_, _, off)| *off < boundary).cloned().collect(),
            merged: st.js.merged.clone(),
            hidden: st.js.hidden.iter().copied().filter(|h| *h < boundary).collect(),
            unreachable: Vec::new(),
            using_aliases: st.js.using_aliases.clone(),
        };
        self.push_from_frame(&st.combined, &outside, true);
        let scope = Scope { def: &st.combined, alias: String::new(), joined: Some(inside) };
        let bound = self.condition(e, Some(&scope), "JOIN/ON");
        self.pop_from_frame();
        bound
    }

    /// Joins one FROM item onto the join so far (`boundary`: see [`Binder::join_flat`]).
    fn join_one(
        &mut self,
        st: &mut JoinBuild,
        kind: crate::join::JoinKind,
        constraint: &ast::JoinConstraint,
        relation: &ast::TableFactor,
        boundary: usize,
        flatten: bool,
    ) -> Result<()> {
        use crate::join::{JoinKind, JoinStep};
        let inner_step = matches!(
            (kind, constraint),
            (JoinKind::Inner, ast::JoinConstraint::On(_)) | (JoinKind::Cross, ast::JoinConstraint::None)
        );
        if flatten && inner_step {
            if let Ok(Some((inner, None))) = nested_join::nested(relation) {
                if nested_join::flattenable(inner) {
                    let start = st.combined.columns.len();
                    self.join_flat(st, inner, start)?;
                    if let ast::JoinConstraint::On(e) = constraint {
                        // The parenthesized join's own ON: a condition of its last step.
                        let cond = self.join_condition(st, e, boundary)?;
                        let last_width = st.plan.inputs.last().map_or(0, |d| d.row_len());
                        let left_width = st.combined.columns.len() - last_width;
                        let Some(step) = st.plan.steps.last_mut() else {
                            return Err(SqlError::internal("a parenthesized join without steps"));
                        };
                        step.eq.extend(hash_keys(&cond, left_width));
                        step.on = Some(match step.on.take() {
                            Some(o) => Expr::And(Box::new(o), Box::new(cond)),
                            None => cond,
                        });
                        step.kind = JoinKind::Inner;
                    }
                    return Ok(());
                }
            }
        }
        let (ritem, lateral) = self.bind_join_item(relation, Some((&st.combined, &st.js)))?;
        let left_width = st.combined.columns.len();
        let left_tables = st.js.tables.clone();
        // The right item's columns as USING and NATURAL see them: (name, position, type).
        let right_visible: Vec<(String, usize, SqlType)> =
            ritem.visible.iter().map(|(n, i)| (n.clone(), *i, ritem.def.columns[*i].ty)).collect();
        let left_names: Vec<String> = nested_join::star(&st.js).into_iter().map(|(n, _)| n).collect();
        let roff = st.add(ritem)?;
        let using: Vec<String> = match constraint {
            ast::JoinConstraint::Using(cols) | ast::JoinConstraint::UsingAlias(cols, _) => cols
                .iter()
                .map(|c| {
                    c.0.last().and_then(|p| p.as_ident()).map(fold).ok_or_else(|| SqlError::syntax(&c.to_string()))
                })
                .collect::<Result<_>>()?,
            ast::JoinConstraint::Natural => {
                // The common names in the left side's order, each once.
                let mut common: Vec<String> = Vec::new();
                for name in &left_names {
                    if right_visible.iter().any(|(r, _, _)| r == name) && !common.contains(name) {
                        common.push(name.clone());
                    }
                }
                common
            }
            _ => Vec::new(),
        };
        let mut on: Option<Expr> = match constraint {
            ast::JoinConstraint::On(e) => Some(self.join_condition(st, e, boundary)?),
            ast::JoinConstraint::None if kind != JoinKind::Cross => {
                return Err(SqlError::new(code::SYNTAX_ERROR, "syntax error at end of input"));
            }
            _ => None,
        };
        let mut merged = Vec::new();
        for name in &using {
            // The left side must have the column exactly once (among the tables so far).
            let hits: Vec<(usize, SqlType)> = left_tables
                .iter()
                .filter_map(|(d, _, off)| d.column(name).map(|i| (off + i, d.columns[i].ty)))
                .filter(|(i, _)| !st.js.hidden.contains(i))
                .collect();
            let merged_left = st.js.merged.iter().find(|(n, _)| n == name).map(|(_, e)| e.clone());
            let left = match (merged_left, hits.as_slice()) {
                (Some(e), _) => e,
                (None, [(i, ty)]) => Expr::Column(*i, *ty),
                (None, []) => {
                    return Err(SqlError::new(
                        code::UNDEFINED_COLUMN,
                        format!("column \"{name}\" specified in USING clause does not exist in left table"),
                    ))
                }
                (None, _) => {
                    return Err(SqlError::new(
                        "42702",
                        format!("common column name \"{name}\" appears more than once in left table"),
                    ))
                }
            };
            let right_hits: Vec<&(String, usize, SqlType)> =
                right_visible.iter().filter(|(n, _, _)| n == name).collect();
            let (ri, rty) = match right_hits.as_slice() {
                [(_, ri, rty)] => (*ri, *rty),
                [] => {
                    return Err(SqlError::new(
                        code::UNDEFINED_COLUMN,
                        format!("column \"{name}\" specified in USING clause does not exist in right table"),
                    ))
                }
                _ => {
                    return Err(SqlError::new(
                        "42702",
                        format!("common column name \"{name}\" appears more than once in right table"),
                    ))
                }
            };
            let right = Expr::Column(roff + ri, rty);
            let eq = self.compare(CmpOp::Eq, left.clone(), right.clone())?;
            on = Some(match on {
                Some(o) => Expr::And(Box::new(o), Box::new(eq)),
                None => eq,
            });
            let ty = left.ty();
            let stands_for = match kind {
                JoinKind::Right => right.clone(),
                JoinKind::Full => Expr::Coalesce(vec![left.clone(), right.clone()], ty),
                _ => left.clone(),
            };
            if let Expr::Column(i, _) = left {
                st.js.hidden.push(i);
            }
            st.js.hidden.push(roff + ri);
            merged.push((name.clone(), stands_for));
        }
        // The join's merged columns come first, then the left side's (PostgreSQL's
        // column order for `*`).
        if let ast::JoinConstraint::UsingAlias(_, alias) = constraint {
            // The alias names the merged columns alone (PostgreSQL 14's join_using_alias).
            let a = fold(alias);
            if st.js.tables.iter().any(|(_, t, _)| *t == a) || st.js.using_aliases.iter().any(|(t, _)| *t == a) {
                return Err(SqlError::new("42712", format!("table name \"{a}\" specified more than once")));
            }
            st.js.using_aliases.push((a, merged.clone()));
        }
        st.js.merged.retain(|(n, _)| !using.contains(n));
        merged.append(&mut st.js.merged);
        st.js.merged = merged;
        // Equalities between a column so far and one of this table: hash keys.
        let eq = on.as_ref().map_or_else(Vec::new, |o| hash_keys(o, left_width));
        self.join_step(&mut st.plan, &st.js, JoinStep { kind, on, eq }, lateral)
    }
    /// A FROM item of a join (a parenthesized join too), with its LATERAL part.
    fn bind_join_item(
        &mut self,
        f: &ast::TableFactor,
        left: Option<(&TableDef, &JoinScope)>,
    ) -> Result<(FromItem, Option<lateral::LateralItem>)> {
        if let Some((twj, alias)) = nested_join::nested(f)? {
            let (nested, lateral) = self.nested_join(twj, alias, left)?;
            return Ok((FromItem::nested(nested), lateral));
        }
        let (def, alias, lateral) = self.bind_from_item(f, left)?;
        Ok((FromItem::table(def, alias), lateral))
    }

    /// A column name in a join's scope: qualified by a table's alias, or unqualified and found
    /// in exactly one table (42702 when in several; a USING column stands for its merged value).
    fn join_column(&self, js: &JoinScope, qualifier: Option<&ast::Ident>, id: &ast::Ident) -> Result<Expr> {
        let name = fold(id);
        let pos = self.pos(&qualifier.map(|q| q.span).unwrap_or(id.span));
        if let Some(q) = qualifier {
            let qn = fold(q);
            if let Some((_, cols)) = js.using_aliases.iter().find(|(a, _)| *a == qn) {
                return match cols.iter().find(|(n, _)| *n == name) {
                    Some((_, e)) => Ok(e.clone()),
                    None => {
                        Err(SqlError::new(code::UNDEFINED_COLUMN, format!("column {qn}.{name} does not exist")).at(pos))
                    }
                };
            }
            let Some((def, _, off)) = js.tables.iter().find(|(_, a, _)| *a == qn) else {
                if let Some(e) = nested_join::unreachable_table(js, &qn) {
                    return Err(e.at(pos));
                }
                if let Some((_, a, _)) = js.tables.iter().find(|(d, _, _)| d.name == qn) {
                    return Err(SqlError::new(
                        code::UNDEFINED_TABLE,
                        format!("invalid reference to FROM-clause entry for table \"{qn}\""),
                    )
                    .hint(format!("Perhaps you meant to reference the table alias \"{a}\"."))
                    .at(pos));
                }
                return Err(SqlError::new(
                    code::UNDEFINED_TABLE,
                    format!("missing FROM-clause entry for table \"{qn}\""),
                )
                .at(pos));
            };
            // An aliased join may have a name twice (`(a JOIN b ON ...) AS j`, `j.id`).
            let mut found = def.columns.iter().enumerate().filter(|(_, c)| c.name == name);
            return match (found.next(), found.next()) {
                (Some((i, c)), None) => {
                    view_text::note_column(def, i, id);
                    Ok(Expr::Column(off + i, c.ty))
                }
                (Some(_), Some(_)) => {
                    Err(SqlError::new("42702", format!("column reference \"{name}\" is ambiguous")).at(pos))
                }
                (None, _) => {
                    Err(SqlError::new(code::UNDEFINED_COLUMN, format!("column {qn}.{name} does not exist")).at(pos))
                }
            };
        }
        if let Some((_, e)) = js.merged.iter().find(|(n, _)| *n == name) {
            return Ok(e.clone());
        }
        let hits: Vec<(&TableDef, usize, Expr)> = js
            .tables
            .iter()
            .flat_map(|(d, _, off)| {
                d.columns.iter().enumerate().filter(|(_, c)| c.name == name).map(move |(i, c)| (&**d, i, off + i, c.ty))
            })
            .filter(|(_, _, k, _)| !js.hidden.contains(k))
            .map(|(d, i, k, t)| (d, i, Expr::Column(k, t)))
            .collect();
        match hits.as_slice() {
            [(d, i, one)] => {
                view_text::note_column(d, *i, id);
                Ok(one.clone())
            }
            [] => Err(nested_join::unreachable_column(js, &name)
                .unwrap_or_else(|| SqlError::new(code::UNDEFINED_COLUMN, format!("column \"{name}\" does not exist")))
                .at(pos)),
            _ => Err(SqlError::new("42702", format!("column reference \"{name}\" is ambiguous")).at(pos)),
        }
    }

    /// `*` over a join (USING columns once, first, as PostgreSQL lists them) or `t.*`.
    fn join_wildcard(&self, js: &JoinScope, item: &ast::SelectItem) -> Result<Vec<(String, Expr)>> {
        if let ast::SelectItem::QualifiedWildcard(ast::SelectItemQualifiedWildcardKind::ObjectName(n), _) = item {
            let q = star_qualifier(n)?;
            if let Some((_, cols)) = js.using_aliases.iter().find(|(a, _)| *a == q) {
                return Ok(cols.clone());
            }
            let Some((def, _, off)) = js.tables.iter().find(|(_, a, _)| *a == q) else {
                if let Some(e) = nested_join::unreachable_table(js, &q) {
                    return Err(e);
                }
                return Err(SqlError::new(
                    code::UNDEFINED_TABLE,
                    format!("missing FROM-clause entry for table \"{q}\""),
                ));
            };
            return Ok(crate::catalog_star::star_columns(def)
                .into_iter()
                .map(|i| (def.columns[i].name.clone(), Expr::Column(off + i, def.columns[i].ty)))
                .collect());
        }
        Ok(nested_join::star(js))
    }

    /// An output column; one that is a plain column of a user table (or view) named in
    /// `scope`, directly or through a derived table or WITH query, carries the table's OID
    /// and attribute number, which RowDescription reports (PostgreSQL's
    /// `resorigtbl`/`resorigcol`). Drivers look them up: pgjdbc's ResultSetMetaData reads
    /// nullability, autoincrement and table name from pg_attribute by them. Columns of
    /// system views report 0.
    fn output(&self, e: &Expr, name: String, scope: Option<&Scope>) -> OutputColumn {
        let (table_oid, column) = scope.and_then(|s| column_origin(e, s, &self.sub.origins)).unwrap_or((0, 0));
        OutputColumn { name, ty: e.ty(), table_oid, column }
    }

    fn count_expr(&mut self, e: &ast::Expr, what: &str) -> Result<Expr> {
        if let ast::Expr::Value(v) = e {
            if matches!(v.value, ast::Value::Null) {
                return Ok(Expr::Const(Datum::Null, SqlType::Int8));
            }
        }
        let b = self.expr(e, None)?;
        self.coerce(b, SqlType::Int8, CastContext::Implicit, |from| {
            SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("argument of {what} must be type bigint, not type {}", from.name()),
            )
        })
    }

    fn insert(&mut self, ins: &ast::Insert) -> Result<(Plan, Vec<OutputColumn>)> {
        let ast::TableObject::TableName(name) = &ins.table else {
            return Err(SqlError::unsupported("INSERT INTO a table function is not supported"));
        };
        let pending = std::mem::take(&mut self.sub.view_checks);
        let instead = self.instead_of_target(name, crate::triggers::Op::Insert);
        // A view has no unique index: ON CONFLICT DO NOTHING without a target is moot, one
        // with a target names none (PostgreSQL's 42P10).
        let ins = match (&instead, &ins.on) {
            (Some(_), Some(ast::OnInsert::OnConflict(oc))) => {
                if oc.conflict_target.is_some() || !matches!(oc.action, ast::OnConflictAction::DoNothing) {
                    return Err(SqlError::new(
                        "42P10",
                        "there is no unique or exclusion constraint matching the ON CONFLICT specification",
                    ));
                }
                &ast::Insert { on: None, ..ins.clone() }
            }
            _ => ins,
        };
        if instead.is_none() {
            if let Some((through, checks)) = self.insert_through_view(ins, &pending)? {
                self.sub.view_checks = checks;
                return self.through_view(name, |b| b.insert(&through));
            }
        }
        let (tname, def) = match instead {
            Some(def) => (def.name.clone(), def),
            None => self.resolve_table(name)?,
        };
        let alias = ins.table_alias.as_ref().map(|a| fold(&a.alias)).unwrap_or_else(|| tname.clone());
        let checks = self.view_checks(&pending, &Scope { def: &def, alias: alias.clone(), joined: None })?;
        let on_conflict = match &ins.on {
            None => None,
            Some(ast::OnInsert::OnConflict(oc)) => Some(self.on_conflict(oc, &def, &alias)?),
            Some(_) => return Err(SqlError::syntax("ON")),
        };
        // The target columns, and for each its subscript when it is `a[i]` or `a[lo:hi]`
        // (`array_assign::insert_columns_syntax`): a column may be named more than once only
        // so, as in PostgreSQL.
        // (or its field path when it is `col.f.g`, assigning a field of a composite column).
        let mut subscripts: Vec<Option<Indirection>> = Vec::new();
        let targets: Vec<usize> = if ins.columns.is_empty() {
            (0..def.columns.len()).collect()
        } else {
            let mut t = Vec::new();
            for c in &ins.columns {
                let parts = c.0.iter().map(|p| p.as_ident()).collect::<Option<Vec<_>>>();
                let parts = parts.filter(|p| !p.is_empty()).ok_or_else(|| SqlError::syntax(&c.to_string()))?;
                let id = parts[0];
                let (cn, subscript) = match array_assign::subscripted_target(&id.value) {
                    Some(target) => {
                        let target = target?;
                        (target.column, Some(Indirection::Subscript(target.subscripts)))
                    }
                    None if parts.len() > 1 => {
                        (fold(id), Some(Indirection::Fields(parts[1..].iter().map(|p| fold(p)).collect())))
                    }
                    None => (fold(id), None),
                };
                let i = def.column(&cn).ok_or_else(|| {
                    SqlError::new(
                        code::UNDEFINED_COLUMN,
                        format!("column \"{cn}\" of relation \"{tname}\" does not exist"),
                    )
                    .at(self.pos(&id.span))
                })?;
                let again = t.iter().zip(&subscripts).any(|(&j, s)| j == i && (s.is_none() || subscript.is_none()));
                if again {
                    return Err(SqlError::new(
                        code::DUPLICATE_COLUMN,
                        format!("column \"{cn}\" specified more than once"),
                    )
                    .at(self.pos(&id.span)));
                }
                t.push(i);
                subscripts.push(subscript);
            }
            t
        };
        subscripts.resize(targets.len(), None);
        let Some(source) = &ins.source else {
            // INSERT ... DEFAULT VALUES: one row of defaults.
            let row = def.columns.iter().map(|c| self.default_of(c)).collect::<Result<Vec<_>>>()?;
            let (returning, columns) = self.returning(ins.returning.as_deref(), &def, &alias)?;
            let plan = Plan::Insert { table: def, rows: vec![row], select: None, on_conflict, returning, checks };
            return Ok((plan, columns));
        };
        let ast::SetExpr::Values(values) = source.body.as_ref() else {
            let (plan, out) = self.query(source)?;
            let query = Box::new(self.as_select(plan, &out)?);
            if out.len() > targets.len() {
                return Err(SqlError::new(code::SYNTAX_ERROR, "INSERT has more expressions than target columns"));
            }
            if out.len() < targets.len() && !ins.columns.is_empty() {
                return Err(SqlError::new(code::SYNTAX_ERROR, "INSERT has more target columns than expressions"));
            }
            let given: Vec<usize> = targets.iter().take(out.len()).copied().collect();
            self.check_identity(&def, &given)?;
            let mut values: Vec<Option<Expr>> = vec![None; def.columns.len()];
            for (j, &i) in given.iter().enumerate() {
                let value = Expr::Column(j, out[j].ty);
                values[i] = Some(match &subscripts[j] {
                    Some(s) => self.insert_subscripted(&def, i, values[i].take(), s, value)?,
                    None => self.assign(value, &def.columns[i])?,
                });
            }
            let mut row = Vec::with_capacity(def.columns.len());
            for (v, c) in values.into_iter().zip(def.columns.iter()) {
                row.push(match v {
                    Some(v) => v,
                    None => self.default_of(c)?,
                });
            }
            let (returning, columns) = self.returning(ins.returning.as_deref(), &def, &alias)?;
            let select = Some(Box::new((*query, row)));
            return Ok((Plan::Insert { table: def, rows: vec![], select, on_conflict, returning, checks }, columns));
        };
        if source.order_by.is_some() || source.limit_clause.is_some() {
            return Err(SqlError::unsupported("ORDER BY/LIMIT on VALUES is not supported yet"));
        }
        if values.rows.iter().any(|r| r.content.len() != values.rows[0].content.len()) {
            return Err(SqlError::new(code::SYNTAX_ERROR, "VALUES lists must all be the same length"));
        }
        let mut rows = Vec::with_capacity(values.rows.len());
        // Each column's DEFAULT is bound once, when a row first needs it.
        let mut defaults: Vec<Option<Expr>> = vec![None; def.columns.len()];
        for r in &values.rows {
            let exprs = &r.content;
            if exprs.len() > targets.len() {
                return Err(SqlError::new(code::SYNTAX_ERROR, "INSERT has more expressions than target columns"));
            }
            // Without a column list, VALUES may stop short: the rest take their defaults.
            if exprs.len() < targets.len() && !ins.columns.is_empty() {
                return Err(SqlError::new(code::SYNTAX_ERROR, "INSERT has more target columns than expressions"));
            }
            let mut row: Vec<Option<Expr>> = vec![None; def.columns.len()];
            let mut given = Vec::new();
            for ((e, &i), subscript) in exprs.iter().zip(&targets).zip(&subscripts) {
                if let Some(s) = subscript {
                    if is_default_keyword(e) {
                        let what = match s {
                            Indirection::Subscript(_) => "an array element",
                            Indirection::Fields(_) => "a subfield",
                        };
                        return Err(SqlError::new(
                            code::FEATURE_NOT_SUPPORTED,
                            format!("cannot set {what} to DEFAULT"),
                        ));
                    }
                    given.push(i);
                    let value = self.expr(e, None)?;
                    row[i] = Some(self.insert_subscripted(&def, i, row[i].take(), s, value)?);
                    continue;
                }
                if is_default_keyword(e) {
                    continue;
                }
                given.push(i);
                let b = self.expr(e, None)?;
                // A literal that is no value of the column's type: the error points at it.
                row[i] = Some(self.assign(b, &def.columns[i]).map_err(|err| self.at_literal(err, e))?);
            }
            self.check_identity(&def, &given)?;
            let mut full = Vec::with_capacity(row.len());
            for (i, v) in row.into_iter().enumerate() {
                full.push(match v {
                    Some(v) => v,
                    None => {
                        if defaults[i].is_none() {
                            defaults[i] = Some(self.default_of(&def.columns[i])?);
                        }
                        defaults[i].clone().unwrap_or(Expr::Const(Datum::Null, def.columns[i].ty))
                    }
                });
            }
            rows.push(full);
        }
        let (returning, columns) = self.returning(ins.returning.as_deref(), &def, &alias)?;
        Ok((Plan::Insert { table: def, rows, select: None, on_conflict, returning, checks }, columns))
    }

    /// INSERT's value for a subscripted target `column[subscript]` or a field `column.f`:
    /// assigned into what the column's earlier targets made of it (`so_far`), or into a NULL
    /// of its type (not its DEFAULT), as PostgreSQL's INSERT does.
    fn insert_subscripted(
        &mut self,
        def: &TableDef,
        column: usize,
        so_far: Option<Expr>,
        target: &Indirection,
        value: Expr,
    ) -> Result<Expr> {
        let c = &def.columns[column];
        let base = so_far.unwrap_or(Expr::Const(Datum::Null, c.ty));
        match target {
            Indirection::Subscript(subscript) => {
                let mut bound = Vec::with_capacity(subscript.len());
                for x in subscript {
                    bound.push(self.expr(x, None)?);
                }
                self.subscripted_assignment(&c.name, base, bound, value)
            }
            Indirection::Fields(path) => self.field_assignment(&c.name, base, path, value),
        }
    }

    /// An explicit value for a `GENERATED ALWAYS AS IDENTITY` column is refused (428C9).
    fn check_identity(&self, def: &TableDef, given: &[usize]) -> Result<()> {
        for &i in given {
            let c = &def.columns[i];
            if c.generated.is_some() {
                return Err(generated::explicit_value(&c.name));
            }
            if c.identity == orbit_engine::table::Identity::Always {
                return Err(SqlError::new(
                    "428C9",
                    format!("cannot insert a non-DEFAULT value into column \"{}\"", c.name),
                )
                .detail(format!("Column \"{}\" is an identity column defined as GENERATED ALWAYS.", c.name))
                .hint("Use OVERRIDING SYSTEM VALUE to override."));
            }
        }
        Ok(())
    }

    /// A constant integer of a sequence option.
    fn seq_int(&mut self, e: &ast::Expr) -> Result<i64> {
        let b = self.expr(e, None)?;
        let v = crate::expr::eval(&b, &Ctx { row: &[], params: &[], aggs: &[] })?;
        v.as_i64().ok_or_else(|| SqlError::syntax(&e.to_string()))
    }

    /// `CREATE SEQUENCE` options (also those of an IDENTITY column), with PostgreSQL's defaults.
    fn sequence_def(
        &mut self,
        name: &str,
        opts: &[ast::SequenceOptions],
        default_ty: SqlType,
    ) -> Result<crate::sequence::SeqDef> {
        use ast::SequenceOptions as O;
        let mut ty = default_ty;
        let mut inc = 1;
        let (mut min, mut max, mut start, mut cycle, mut owned) = (None, None, None, false, None);
        for o in opts {
            match o {
                O::DataType(dt) => {
                    ty = sql_type(dt)?;
                    if !ty.is_integer() {
                        return Err(SqlError::new(
                            code::INVALID_PARAMETER_VALUE,
                            "sequence type must be smallint, integer, or bigint",
                        ));
                    }
                }
                O::IncrementBy(e, _) => inc = self.seq_int(e)?,
                O::MinValue(Some(e)) => min = Some(self.seq_int(e)?),
                O::MaxValue(Some(e)) => max = Some(self.seq_int(e)?),
                O::MinValue(None) | O::MaxValue(None) => {}
                O::StartWith(e, _) => start = Some(self.seq_int(e)?),
                O::Cache(e) => {
                    // Values are handed out per statement, not cached per session: CACHE only
                    // changes performance in PostgreSQL, so any valid value is accepted.
                    let c = self.seq_int(e)?;
                    if c < 1 {
                        return Err(SqlError::new(
                            code::INVALID_PARAMETER_VALUE,
                            format!("CACHE ({c}) must be greater than zero"),
                        ));
                    }
                }
                // The flag is `NO`: `Cycle(true)` is NO CYCLE.
                O::Cycle(no) => cycle = !*no,
                O::OwnedBy(Some(obj)) => {
                    let parts: Vec<String> = obj.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
                    if parts.len() < 2 {
                        return Err(SqlError::new(code::SYNTAX_ERROR, "invalid OWNED BY option")
                            .hint("Specify OWNED BY table.column or OWNED BY NONE."));
                    }
                    let table = parts[parts.len() - 2].clone();
                    let def = lookup_table(&table).ok_or_else(|| {
                        SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{table}\" does not exist"))
                    })?;
                    if def.column(&parts[parts.len() - 1]).is_none() {
                        return Err(SqlError::new(
                            code::UNDEFINED_COLUMN,
                            format!("column \"{}\" of relation \"{table}\" does not exist", parts[parts.len() - 1]),
                        ));
                    }
                    owned = Some(table);
                }
                O::OwnedBy(None) => owned = None,
            }
        }
        if inc == 0 {
            return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "INCREMENT must not be zero"));
        }
        let mut def = crate::sequence::SeqDef::new(name, ty, inc);
        let (tmin, tmax) = match ty {
            SqlType::Int2 => (i16::MIN as i64, i16::MAX as i64),
            SqlType::Int4 => (i32::MIN as i64, i32::MAX as i64),
            _ => (i64::MIN, i64::MAX),
        };
        for (v, what) in [(min, "MINVALUE"), (max, "MAXVALUE")] {
            if let Some(v) = v {
                if v < tmin || v > tmax {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!("{what} ({v}) is out of range for sequence data type {}", ty.name()),
                    ));
                }
            }
        }
        if let Some(m) = min {
            def.min = m;
        }
        if let Some(m) = max {
            def.max = m;
        }
        def.start = start.unwrap_or(if inc > 0 { def.min } else { def.max });
        def.cycle = cycle;
        def.owned_by = owned;
        Ok(def)
    }

    /// A column's DEFAULT as an expression for INSERT (its text bound now), or its constant.
    fn default_of(&mut self, col: &ColumnDef) -> Result<Expr> {
        // A column of a domain without a DEFAULT of its own takes the domain's.
        let of_domain = match (&col.default_expr, col.domain) {
            (None, d) if d != 0 && col.default.is_null() => crate::domains::default_of(d),
            _ => None,
        };
        let Some(text) = col.default_expr.as_ref().or(of_domain.as_ref()) else {
            return Ok(Expr::Const(col.default.clone(), col.ty));
        };
        let dialect = sqlparser::dialect::PostgreSqlDialect {};
        let parsed =
            sqlparser::parser::Parser::new(&dialect).try_with_sql(text).and_then(|mut p| p.parse_expr()).map_err(
                |e| SqlError::internal(format!("stored DEFAULT of column \"{}\" does not parse: {e}", col.name)),
            )?;
        let bound = self.expr(&parsed, None)?;
        self.assign(bound, col)
    }

    /// `ON CONFLICT [target] DO NOTHING | DO UPDATE SET ... [WHERE ...]`, with PostgreSQL's
    /// errors for a target that is not the primary key.
    fn on_conflict(&mut self, oc: &ast::OnConflict, def: &Arc<TableDef>, alias: &str) -> Result<OnConflict> {
        let no_match = || {
            SqlError::new(
                code::INVALID_COLUMN_REFERENCE,
                "there is no unique or exclusion constraint matching the ON CONFLICT specification",
            )
        };
        let arbiter = match &oc.conflict_target {
            None => None,
            Some(ast::ConflictTarget::Columns { columns, predicate }) => {
                let mut idx = Vec::new();
                // Expression keys (`ON CONFLICT ((lower(x)))`), bound over the table.
                let mut keys: Vec<String> = Vec::new();
                for c in columns {
                    if let Some(e) = conflict_target::marked_expr(c) {
                        let scope = Scope { def, alias: alias.to_string(), joined: None };
                        keys.push(format!("{:?}", self.expr(&e?, Some(&scope))?));
                        continue;
                    }
                    let n = fold(c);
                    let i = def.column(&n).ok_or_else(|| {
                        SqlError::new(code::UNDEFINED_COLUMN, format!("column \"{n}\" does not exist"))
                            .at(self.pos(&c.span))
                    })?;
                    idx.push(i);
                }
                idx.sort_unstable();
                idx.dedup();
                // `ON CONFLICT (cols) WHERE pred` infers a partial unique index whose predicate
                // pred implies (crate::index::implied_by).
                let pred = match predicate {
                    Some(p) => {
                        let scope = Scope { def, alias: alias.to_string(), joined: None };
                        Some(self.condition(p, Some(&scope), "WHERE")?)
                    }
                    None => None,
                };
                let sorted = |cols: &[usize]| {
                    let mut c = cols.to_vec();
                    c.sort_unstable();
                    c
                };
                keys.sort_unstable();
                if !def.pk.is_empty() && sorted(&def.pk) == idx && keys.is_empty() {
                    Some(Arbiter::PrimaryKey)
                } else {
                    let mut found = None;
                    for (i, x) in def.indexes.iter().enumerate() {
                        let plain: Vec<usize> =
                            x.columns.iter().copied().filter(|&c| c != orbit_engine::table::IndexDef::EXPR).collect();
                        if x.unique
                            && sorted(&plain) == idx
                            && conflict_target::expression_keys(def, x)? == keys
                            && crate::index::implied_by(def, x, pred.as_ref())?
                        {
                            found = Some(i);
                            break;
                        }
                    }
                    Some(Arbiter::Index(found.ok_or_else(no_match)?))
                }
            }
            Some(ast::ConflictTarget::OnConstraint(name)) => {
                let n = name.0.last().and_then(|p| p.as_ident()).map(fold).unwrap_or_default();
                if !def.pk.is_empty() && n == def.pk_name {
                    Some(Arbiter::PrimaryKey)
                } else if let Some(i) = def.indexes.iter().position(|x| x.constraint && x.name == n) {
                    Some(Arbiter::Index(i))
                } else {
                    return Err(SqlError::new(
                        code::UNDEFINED_OBJECT,
                        format!("constraint \"{n}\" for table \"{}\" does not exist", def.name),
                    ));
                }
            }
        };
        let ast::OnConflictAction::DoUpdate(du) = &oc.action else { return Ok(OnConflict::Nothing(arbiter)) };
        let Some(arbiter) = arbiter else {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                "ON CONFLICT DO UPDATE requires inference specification or constraint name",
            )
            .hint("For example, ON CONFLICT (column_name)."));
        };
        self.excluded = Some(def.clone());
        let scope = Scope { def, alias: alias.to_string(), joined: None };
        let r = (|| {
            let sets = self.assignments(def, &du.assignments, &scope)?;
            if let Some((i, _)) = sets.iter().find(|(i, _)| def.pk.contains(i)) {
                return Err(SqlError::unsupported(format!(
                    "ON CONFLICT DO UPDATE of a primary key column (\"{}\") is not supported yet",
                    def.columns[*i].name
                )));
            }
            let filter = match &du.selection {
                Some(w) => Some(self.condition(w, Some(&scope), "WHERE")?),
                None => None,
            };
            Ok(OnConflict::Update { arbiter, sets, filter })
        })();
        self.excluded = None;
        r
    }

    /// Coerces a value for a column by assignment, with PostgreSQL's error when it cannot.
    fn assign(&mut self, e: Expr, col: &ColumnDef) -> Result<Expr> {
        let (name, ty) = (col.name.clone(), col.ty);
        let e = self.coerce(e, ty, CastContext::Assignment, |from| {
            SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("column \"{name}\" is of type {} but expression is of type {}", ty.name(), from.name()),
            )
            .hint("You will need to rewrite or cast the expression.")
        })?;
        // varchar(n) from another string type still needs its length checked.
        match (ty, &e) {
            (SqlType::Varchar(Some(_)), Expr::Cast(..) | Expr::Const(..)) => Ok(e),
            (SqlType::Varchar(Some(_)), _) => Ok(Expr::Cast(Box::new(e), ty, false)),
            _ => Ok(e),
        }
    }

    fn returning(
        &mut self,
        items: Option<&[ast::SelectItem]>,
        def: &Arc<TableDef>,
        alias: &str,
    ) -> Result<(Option<Vec<Expr>>, Vec<OutputColumn>)> {
        let Some(items) = items else { return Ok((None, vec![])) };
        let scope = Scope { def, alias: alias.to_string(), joined: None };
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        for item in items {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    let b = self.expr(e, Some(&scope))?;
                    cols.push(self.output(&b, column_name(e), Some(&scope)));
                    exprs.push(b);
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    let b = self.expr(expr, Some(&scope))?;
                    cols.push(self.output(&b, fold(alias), Some(&scope)));
                    exprs.push(b);
                }
                ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                    for (i, c) in def.columns.iter().enumerate() {
                        let e = Expr::Column(i, c.ty);
                        cols.push(self.output(&e, c.name.clone(), Some(&scope)));
                        exprs.push(e);
                    }
                }
                _ => return Err(SqlError::unsupported("this RETURNING item is not supported yet")),
            }
        }
        for (e, c) in exprs.iter_mut().zip(cols.iter_mut()) {
            if e.ty() == SqlType::Unknown {
                *e = self.coerce(e.clone(), SqlType::Text, CastContext::Implicit, |_| SqlError::internal("unknown"))?;
                c.ty = SqlType::Text;
            }
        }
        Ok((Some(exprs), cols))
    }

    /// The check options of the views an INSERT or UPDATE went through, bound over the rows it
    /// writes as RETURNING reads them (`scope`). A WHERE with a subquery is not checked here
    /// (its subqueries would be computed over the rows as they were): refused.
    fn view_checks(
        &mut self,
        pending: &[updatable_views::ViewCheckClause],
        scope: &Scope,
    ) -> Result<Vec<ViewCheckExpr>> {
        let mut out = Vec::with_capacity(pending.len());
        for c in pending {
            let Some(cond) = &c.cond else { continue };
            if constraints::has_subquery(cond) {
                return Err(SqlError::unsupported(format!(
                    "WITH CHECK OPTION of view \"{}\", whose WHERE has a subquery, is not supported yet",
                    c.view
                )));
            }
            let cond = self.condition(cond, Some(scope), "WHERE")?;
            let kind = if c.partition { CheckKind::Partition } else { CheckKind::View };
            out.push(ViewCheckExpr { view: c.view.clone(), cond, kind });
        }
        // A row written to a partitioned table needs a partition to be in.
        out.extend(self.routing(scope.def, scope)?);
        Ok(out)
    }

    /// The routing checks of a write to partitioned table `def` (none for another), bound over
    /// `scope` (the root's rows).
    fn routing(&mut self, def: &TableDef, scope: &Scope) -> Result<Vec<ViewCheckExpr>> {
        let mut out = Vec::new();
        for r in crate::partitions::routing_checks(def) {
            let cond = self.condition(&sql_functions::parse_expr(&r.cond)?, Some(scope), "WHERE")?;
            let key = r
                .key_columns
                .iter()
                .map(|c| self.expr(&sql_functions::parse_expr(c)?, Some(scope)))
                .collect::<Result<Vec<_>>>()?;
            let columns = r.key_columns.iter().map(|c| crate::partitions::key_shown(c)).collect();
            out.push(ViewCheckExpr { view: r.table, cond, kind: CheckKind::Routing { columns, key } });
        }
        Ok(out)
    }

    fn update(&mut self, up: &ast::Update) -> Result<(Plan, Vec<OutputColumn>)> {
        let pending = std::mem::take(&mut self.sub.view_checks);
        if let Some((def, alias)) = self.instead_of(&up.table, crate::triggers::Op::Update)? {
            // A view with INSTEAD OF UPDATE triggers: its rows that WHERE picks, each with its
            // new values, go to the triggers.
            if up.from.is_some() || cursors::current_of(up.selection.as_ref()).is_some() {
                return Err(SqlError::unsupported(
                    "UPDATE ... FROM or WHERE CURRENT OF on a view with INSTEAD OF triggers is not supported",
                ));
            }
            let scope = Scope { def: &def, alias: alias.clone(), joined: None };
            let sets = self.assignments(&def, &up.assignments, &scope)?;
            let filter = up.selection.as_ref().map(|w| self.condition(w, Some(&scope), "WHERE")).transpose()?;
            let (returning, columns) = self.returning(up.returning.as_deref(), &def, &alias)?;
            let plan = Plan::Update {
                table: def,
                filter,
                key: None,
                sets,
                returning,
                join: None,
                current_of: None,
                checks: vec![],
            };
            return Ok((plan, columns));
        }
        if let Some((through, checks)) = self.update_through_view(up, &pending)? {
            if let ast::TableFactor::Table { name, .. } = &up.table.relation {
                self.sub.view_checks = checks;
                return self.through_view(name, |b| b.update(&through));
            }
        }
        let current_of = cursors::current_of(up.selection.as_ref());
        match &up.from {
            Some(ast::UpdateTableFromKind::BeforeSet(f) | ast::UpdateTableFromKind::AfterSet(f)) => {
                if current_of.is_some() {
                    return Err(SqlError::unsupported("UPDATE ... FROM ... WHERE CURRENT OF is not supported"));
                }
                return self.update_from(up, f, &pending);
            }
            None => {}
        }
        let (def, alias) = self.table_ref(&up.table)?;
        let scope = Scope { def: &def, alias: alias.clone(), joined: None };
        let sets = self.assignments(&def, &up.assignments, &scope)?;
        let filter = match &up.selection {
            Some(_) if current_of.is_some() => None,
            Some(w) => Some(self.condition(w, Some(&scope), "WHERE")?),
            None => None,
        };
        let key = filter.as_ref().and_then(|f| pk_lookup(f, &def));
        let (returning, columns) = self.returning(up.returning.as_deref(), &def, &alias)?;
        let checks = self.view_checks(&pending, &scope)?;
        Ok((Plan::Update { table: def, filter, key, sets, returning, join: None, current_of, checks }, columns))
    }

    /// `SET col = expr, ...` of UPDATE and ON CONFLICT DO UPDATE.
    fn assignments(
        &mut self,
        def: &Arc<TableDef>,
        assignments: &[ast::Assignment],
        scope: &Scope,
    ) -> Result<Vec<(usize, Expr)>> {
        let outer = self.window.banned_in("UPDATE");
        let banned = std::mem::replace(&mut self.aggs_banned_in, "UPDATE");
        let sets = self.assignment_list(def, assignments, scope);
        self.aggs_banned_in = banned;
        self.window.ban(outer);
        sets
    }

    fn assignment_list(
        &mut self,
        def: &Arc<TableDef>,
        assignments: &[ast::Assignment],
        scope: &Scope,
    ) -> Result<Vec<(usize, Expr)>> {
        let mut sets: Vec<(usize, Expr)> = Vec::new();
        // The columns whose fields the list assigns (`SET c.f = ...`): several of those compose.
        let mut by_field: Vec<usize> = Vec::new();
        let assignments = expand_tuple_assignments(assignments)?;
        for a in &assignments {
            let ast::AssignmentTarget::ColumnName(n) = &a.target else {
                return Err(SqlError::internal("a multiple-column assignment left"));
            };
            let id = n.0.first().and_then(|p| p.as_ident()).ok_or_else(|| SqlError::syntax(&n.to_string()))?;
            let cn = fold(id);
            let i = def.column(&cn).ok_or_else(|| {
                SqlError::new(
                    code::UNDEFINED_COLUMN,
                    format!("column \"{cn}\" of relation \"{}\" does not exist", def.name),
                )
                .at(self.pos(&id.span))
            })?;
            // `SET a.b = ...` assigns field b of column a (PostgreSQL's composite types), not
            // column b of table a.
            let path = n.0[1..].iter().map(|p| p.as_ident().map(fold)).collect::<Option<Vec<String>>>();
            let path = path.ok_or_else(|| SqlError::syntax(&n.to_string()))?;
            if !path.is_empty() {
                if def.columns[i].generated.is_some() {
                    return Err(generated::updated_value(&cn));
                }
                if is_default_keyword(&a.value) {
                    return Err(SqlError::new(code::FEATURE_NOT_SUPPORTED, "cannot set a subfield to DEFAULT"));
                }
                let earlier = sets.iter().position(|(j, _)| *j == i);
                let current = match earlier {
                    Some(k) if by_field.contains(&i) => {
                        std::mem::replace(&mut sets[k].1, Expr::Const(Datum::Null, SqlType::Unknown))
                    }
                    Some(_) => {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            format!("multiple assignments to same column \"{cn}\""),
                        ))
                    }
                    // The row's value, named through the target's alias (UPDATE ... FROM may
                    // have a column of that name too).
                    None => {
                        let alias = ast::Ident::with_quote('"', scope.alias.clone());
                        self.expr(&ast::Expr::CompoundIdentifier(vec![alias, id.clone()]), Some(scope))?
                    }
                };
                let value = self.expr(&a.value, Some(scope))?;
                let set = self.field_assignment(&cn, current, &path, value).map_err(|e| e.at(self.pos(&id.span)))?;
                match earlier {
                    Some(k) => sets[k].1 = set,
                    None => {
                        sets.push((i, set));
                        by_field.push(i);
                    }
                }
                continue;
            }
            if sets.iter().any(|(j, _)| *j == i) {
                return Err(SqlError::new(code::SYNTAX_ERROR, format!("multiple assignments to same column \"{cn}\"")));
            }
            let value = if is_default_keyword(&a.value) {
                self.default_of(&def.columns[i])?
            } else if def.columns[i].generated.is_some() {
                return Err(generated::updated_value(&cn));
            } else {
                let b = self.expr(&a.value, Some(scope))?;
                self.assign(b, &def.columns[i])?
            };
            sets.push((i, value));
        }
        Ok(sets)
    }

    fn truncate(&mut self, t: &ast::Truncate) -> Result<(Plan, Vec<OutputColumn>)> {
        let cascade = matches!(t.cascade, Some(ast::CascadeOption::Cascade));
        if t.partitions.is_some() || t.if_exists {
            return Err(SqlError::unsupported("TRUNCATE options are not supported yet"));
        }
        // RESTART IDENTITY: the sequences the tables own start over (CONTINUE IDENTITY, the
        // default, leaves them).
        let restart = matches!(t.identity, Some(ast::TruncateIdentityOption::Restart));
        let mut defs: Vec<Arc<TableDef>> = Vec::new();
        for target in &t.table_names {
            let (tname, def) = self.resolve_table_to(&target.name, "truncate")?;
            if def.matview.is_some() {
                return Err(SqlError::new(
                    code::WRONG_OBJECT_TYPE,
                    format!("\"{}\" is not a table", crate::schema::relname(&tname)),
                ));
            }
            if !defs.iter().any(|d| d.name == def.name) {
                defs.push(def);
            }
        }
        let cascaded = if cascade { crate::foreign_key::truncate_cascade(&mut defs) } else { Vec::new() };
        // A partition's rows are its root's that fit it: deleted from the root, unless the
        // root (or a partition above it) is truncated too.
        let names: Vec<String> = defs.iter().map(|d| d.name.clone()).collect();
        let deletes = crate::partitions::row_deletes(defs.iter(), &names);
        defs.retain(|d| d.partition_of.is_none());
        if !deletes.is_empty() {
            return Ok((
                Plan::Steps {
                    first: Box::new(Plan::Truncate(defs, cascaded, restart)),
                    rest: deletes,
                    select_tag: false,
                    session: binding_session(),
                },
                vec![],
            ));
        }
        Ok((Plan::Truncate(defs, cascaded, restart), vec![]))
    }

    fn delete(&mut self, del: &ast::Delete) -> Result<(Plan, Vec<OutputColumn>)> {
        if !del.tables.is_empty() {
            return Err(SqlError::unsupported("DELETE from several tables is not supported"));
        }
        let tables = match &del.from {
            ast::FromTable::WithFromKeyword(t) => t,
            ast::FromTable::WithoutKeyword(_) => return Err(SqlError::syntax("DELETE")),
        };
        let [twj] = tables.as_slice() else {
            return Err(SqlError::unsupported("DELETE from several tables is not supported"));
        };
        if let Some((def, alias)) = self.instead_of(twj, crate::triggers::Op::Delete)? {
            // A view with INSTEAD OF DELETE triggers: its rows that WHERE picks go to them.
            if del.using.is_some() || cursors::current_of(del.selection.as_ref()).is_some() {
                return Err(SqlError::unsupported(
                    "DELETE ... USING or WHERE CURRENT OF on a view with INSTEAD OF triggers is not supported",
                ));
            }
            let scope = Scope { def: &def, alias: alias.clone(), joined: None };
            let filter = del.selection.as_ref().map(|w| self.condition(w, Some(&scope), "WHERE")).transpose()?;
            let (returning, columns) = self.returning(del.returning.as_deref(), &def, &alias)?;
            return Ok((
                Plan::Delete { table: def, filter, key: None, returning, join: None, current_of: None },
                columns,
            ));
        }
        if let Some(through) = self.delete_through_view(del)? {
            if let ast::TableFactor::Table { name, .. } = &twj.relation {
                return self.through_view(name, |b| b.delete(&through));
            }
        }
        let current_of = cursors::current_of(del.selection.as_ref());
        if let Some(using) = &del.using {
            if current_of.is_some() {
                return Err(SqlError::unsupported("DELETE ... USING ... WHERE CURRENT OF is not supported"));
            }
            return self.delete_using(twj, using, del.selection.as_ref(), del.returning.as_deref());
        }
        let (def, alias) = self.table_ref(twj)?;
        let scope = Scope { def: &def, alias: alias.clone(), joined: None };
        let filter = match &del.selection {
            Some(_) if current_of.is_some() => None,
            Some(w) => Some(self.condition(w, Some(&scope), "WHERE")?),
            None => None,
        };
        let key = filter.as_ref().and_then(|f| pk_lookup(f, &def));
        let (returning, columns) = self.returning(del.returning.as_deref(), &def, &alias)?;
        Ok((Plan::Delete { table: def, filter, key, returning, join: None, current_of }, columns))
    }

    /// A SELECT's WHERE: its top-level AND-ed `row [NOT] IN (SELECT ...)` parts bind as row
    /// sublinks ([`relation::LinkKind::AnyRow`]), which the planner makes semi and anti joins.
    fn select_where(&mut self, e: &ast::Expr, scope: Option<&Scope>) -> Result<Expr> {
        let mark = self.sub.row_in_filter.len();
        row_compare::top_row_ins(e, &mut self.sub.row_in_filter);
        let r = self.bound_condition(e, scope, "WHERE");
        self.sub.row_in_filter.truncate(mark);
        r
    }

    /// A boolean condition (WHERE): PostgreSQL's 42804 when it is not boolean.
    fn condition(&mut self, e: &ast::Expr, scope: Option<&Scope>, what: &str) -> Result<Expr> {
        // A row IN (SELECT ...) AND-ed at the top of a filter: true alone matters there.
        let rewritten = match what {
            "WHERE" | "JOIN/ON" => row_compare::filter_in_subqueries(e).transpose()?,
            _ => None,
        };
        let e = rewritten.as_ref().unwrap_or(e);
        self.bound_condition(e, scope, what)
    }

    fn bound_condition(&mut self, e: &ast::Expr, scope: Option<&Scope>, what: &str) -> Result<Expr> {
        let saved = self.allow_aggs;
        self.allow_aggs = false;
        let b = self.expr(e, scope);
        self.allow_aggs = saved;
        self.bool_arg(b?, what)
    }

    fn bool_arg(&mut self, e: Expr, what: &str) -> Result<Expr> {
        self.coerce(e, SqlType::Bool, CastContext::Implicit, |from| {
            SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("argument of {what} must be type boolean, not type {}", from.name()),
            )
        })
    }

    /// Makes `e` of type `to` in context `ctx`: untyped literals are parsed as `to`, untyped
    /// parameters take the type, other types are cast where allowed; `err` builds the error
    /// otherwise.
    /// A cast that reads local time in the session's zone (timestamptz to and from text,
    /// timestamp, date and time), when the zone is not UTC: the conversion to apply, whose
    /// result is `to` or a type that casts on to it as before.
    fn zoned_cast(&self, from: SqlType, to: SqlType) -> Option<impl FnOnce(Expr) -> Expr> {
        use crate::expr::ZoneOp;
        use SqlType::*;
        let string = |t: SqlType| matches!(t, Text | Varchar(_) | Bpchar(_));
        let (op, ty) = match (from, to) {
            (TimestampTz(_), t) if string(t) => (ZoneOp::Text, Text),
            (TimestampTz(_), Timestamp(_) | Date | Time(_)) => (ZoneOp::ToLocal, SqlType::TIMESTAMP),
            (Timestamp(_) | Date, TimestampTz(_)) => (ZoneOp::FromLocal, SqlType::TIMESTAMPTZ),
            (f, TimestampTz(_)) if string(f) => (ZoneOp::Parse, SqlType::TIMESTAMPTZ),
            // A time, timestamptz or text becomes a timetz with the zone's offset there.
            (Time(_) | TimestampTz(_), TimeTz(_)) => (ZoneOp::TimeTz, SqlType::TIMETZ),
            (f, TimeTz(_)) if string(f) => (ZoneOp::TimeTz, SqlType::TIMETZ),
            _ => return None,
        };
        let zone = temporal::session_zone()?;
        Some(move |e: Expr| {
            let e = match (from, op) {
                (Date, _) => Expr::Cast(Box::new(e), SqlType::TIMESTAMP, false),
                (Bpchar(_), _) | (Varchar(_), _) => Expr::Cast(Box::new(e), Text, false),
                _ => e,
            };
            temporal::zoned(op, vec![e], zone, ty)
        })
    }

    fn coerce(
        &mut self,
        e: Expr,
        to: SqlType,
        ctx: CastContext,
        err: impl FnOnce(SqlType) -> SqlError,
    ) -> Result<Expr> {
        let from = e.ty();
        if from == to {
            return Ok(e);
        }
        match e {
            // An untyped NULL takes any type; a typed one (NULL::int) is cast like any value.
            Expr::Const(Datum::Null, SqlType::Unknown) => return Ok(Expr::Const(Datum::Null, to)),
            // PostgreSQL reads the literal without the length limit, then applies it as the
            // context says: an explicit cast truncates, an assignment fails with 22001.
            Expr::Const(Datum::Text(s), SqlType::Unknown)
                if matches!(to, SqlType::Varchar(Some(_)) | SqlType::Bpchar(Some(_))) =>
            {
                return Ok(Expr::Const(types::cast(Datum::Text(s), to, ctx == CastContext::Explicit)?, to));
            }
            Expr::Const(Datum::Text(s), SqlType::Unknown) => {
                // A timestamptz literal without an offset is local time in the session's zone;
                // an interval literal reads a leading minus as its IntervalStyle says (read
                // once, as PostgreSQL parses a literal once).
                let d = if types::styled(to) {
                    types::parse_text_in(to, &s, &crate::zone::style_for_literal()?)?
                } else {
                    types::parse_text(to, &s)?
                };
                return Ok(Expr::Const(d, to));
            }
            Expr::Param(i, SqlType::Unknown) => {
                if let Some(p) = self.params.get_mut(i) {
                    *p = to;
                }
                return Ok(Expr::Param(i, to));
            }
            // A row constructor (an anonymous record) to a composite type: its fields, each to
            // its field's type (PostgreSQL's coerce_record_to_complex).
            Expr::Call(crate::scalar::Builtin::MakeRecord(oid), args, _)
                if matches!(to, SqlType::Composite(_)) && crate::composites::is_anonymous(oid) =>
            {
                return self.row_to_composite(args, to, ctx);
            }
            // One anonymous record to another of as many fields (a UNION's or VALUES' common
            // record type): each field cast to its new type.
            Expr::Call(..) | Expr::Column(..) | Expr::Param(..) | Expr::Const(..)
                if composites::record_cast_allowed(from, to) =>
            {
                return Ok(Expr::Call(crate::scalar::Builtin::RecordCast(to), vec![e], to));
            }
            // A record built here to a string type: its text, each field printed in the
            // session's style (time zone, IntervalStyle, bytea_output) first.
            Expr::Call(
                f @ (crate::scalar::Builtin::MakeRecord(_)
                | crate::scalar::Builtin::WholeRow(_)
                | crate::scalar::Builtin::KeyedRow(_)),
                mut args,
                _,
            ) if to.is_string() => {
                use crate::json_build::JsonFn;
                let text =
                    if matches!(f, crate::scalar::Builtin::WholeRow(_)) { JsonFn::RecordText } else { JsonFn::RowText };
                // A join's table's row: NULL where its key is (an outer join left it out).
                let key = matches!(f, crate::scalar::Builtin::KeyedRow(_)).then(|| args.remove(0));
                let args = args.into_iter().map(|a| temporal::shown_in_zone(a, false)).collect();
                let mut e = Expr::Call(crate::scalar::Builtin::Json(text), args, SqlType::Text);
                if let Some(k) = key {
                    let missing = Expr::IsNull(Box::new(k), false);
                    e = Expr::Case(
                        vec![(missing, Expr::Const(Datum::Null, SqlType::Text))],
                        Some(Box::new(e)),
                        SqlType::Text,
                    );
                }
                return if to == SqlType::Text { Ok(e) } else { self.coerce(e, to, ctx, err) };
            }
            _ => {}
        }
        // A numeric(p, s) value is a numeric: kept as it is (a column stays the column GROUP BY
        // names); so is a timestamp(p), time(p) or interval(p) value of its type without one.
        if from.is_decimal() && to == SqlType::NUMERIC
            || from.precision().is_some() && to.precision().is_none() && from.same_base(to)
        {
            return Ok(e);
        }
        if types::can_cast(from, to, ctx) {
            if temporal::bytea_output_cast(from, to) {
                let e = temporal::bytea_escaped(e).unwrap_or_else(|e| e);
                return if e.ty() == to { Ok(e) } else { self.coerce(e, to, ctx, err) };
            }
            let e = match float_output::float_digits_cast(e, from, to) {
                Ok(e) => return if e.ty() == to { Ok(e) } else { self.coerce(e, to, ctx, err) },
                Err(e) => e,
            };
            if let Some(styled) = temporal::interval_style_cast(from, to) {
                let e = styled(e);
                return if e.ty() == to { Ok(e) } else { self.coerce(e, to, ctx, err) };
            }
            if let Some(zoned) = self.zoned_cast(from, to) {
                let e = zoned(e);
                return if e.ty() == to { Ok(e) } else { self.coerce(e, to, ctx, err) };
            }
            // varchar -> text, text -> unbounded varchar and character(n) -> unbounded bpchar
            // need no conversion.
            if matches!(from, SqlType::Text | SqlType::Varchar(_))
                && matches!(to, SqlType::Text | SqlType::Varchar(None))
                || matches!(from, SqlType::Bpchar(_)) && to == SqlType::Bpchar(None)
            {
                return Ok(retype(e, to));
            }
            return Ok(Expr::Cast(Box::new(e), to, ctx == CastContext::Explicit));
        }
        Err(err(from))
    }

    fn param(&mut self, p: &str, span: &sqlparser::tokenizer::Span) -> Result<Expr> {
        let n: usize = p.trim_start_matches('$').parse().map_err(|_| SqlError::syntax(p).at(self.pos(span)))?;
        if n == 0 || n > 65535 {
            return Err(SqlError::new(code::UNDEFINED_OBJECT, format!("there is no parameter ${n}")).at(self.pos(span)));
        }
        if self.params.len() < n {
            self.params.resize(n, SqlType::Unknown);
        }
        Ok(Expr::Param(n - 1, self.params[n - 1]))
    }

    fn column(&self, scope: Option<&Scope>, qualifier: Option<&ast::Ident>, id: &ast::Ident) -> Result<Expr> {
        if let Some(js) = scope.and_then(|s| s.joined.as_ref()) {
            if !(qualifier.is_some_and(|q| fold(q) == "excluded") && self.excluded.is_some()) {
                return self.join_column(js, qualifier, id);
            }
        }
        let name = fold(id);
        if let (Some(q), Some(ex)) = (qualifier, &self.excluded) {
            if fold(q) == "excluded" {
                return match ex.column(&name) {
                    Some(i) => Ok(Expr::Column(ex.columns.len() + i, ex.columns[i].ty)),
                    None => {
                        Err(SqlError::new(code::UNDEFINED_COLUMN, format!("column excluded.{name} does not exist"))
                            .at(self.pos(&id.span)))
                    }
                };
            }
        }
        if let Some(q) = qualifier {
            let qn = fold(q);
            match scope {
                Some(s) if s.alias == qn => {}
                Some(s) if s.def.name == qn => {
                    return Err(SqlError::new(
                        code::UNDEFINED_TABLE,
                        format!("invalid reference to FROM-clause entry for table \"{qn}\""),
                    )
                    .hint(format!("Perhaps you meant to reference the table alias \"{}\".", s.alias))
                    .at(self.pos(&q.span)))
                }
                _ => {
                    return Err(SqlError::new(
                        code::UNDEFINED_TABLE,
                        format!("missing FROM-clause entry for table \"{qn}\""),
                    )
                    .at(self.pos(&q.span)))
                }
            }
        }
        if let Some(s) = scope {
            if let Some(i) = s.def.column(&name) {
                view_text::note_column(s.def, i, id);
                return Ok(Expr::Column(i, s.def.columns[i].ty));
            }
            if name == "tableoid" {
                if let Some(e) = table_oid(s)? {
                    return Ok(e);
                }
            }
        }
        let full = match qualifier {
            Some(q) => format!("{}.{name}", fold(q)),
            None => name,
        };
        Err(SqlError::new(code::UNDEFINED_COLUMN, format!("column {} does not exist", quote_column(&full)))
            .at(self.pos(&qualifier.map(|q| q.span).unwrap_or(id.span))))
    }

    /// Binds an expression and, at the outermost call, folds its constant parts as PostgreSQL's
    /// planner does: once over the whole tree, so AND/OR can stop at a deciding constant before
    /// the operands after it are folded.
    fn expr(&mut self, e: &ast::Expr, scope: Option<&Scope>) -> Result<Expr> {
        self.expr_depth += 1;
        let b = self.expr_node(e, scope);
        self.expr_depth -= 1;
        let b = if self.expr_depth == 0 { b.and_then(crate::expr::fold) } else { b };
        b.map_err(|err| self.locate(e, err))
    }

    fn expr_node(&mut self, e: &ast::Expr, scope: Option<&Scope>) -> Result<Expr> {
        crate::stack_depth::check()?;
        // Operators and parentheses, which nest deepest (a chain of operators is a tree as
        // deep as it is long), recurse without the frame of the match over every other
        // expression: an unoptimized build gives that one room for all its arms (60 KiB).
        match e {
            ast::Expr::BinaryOp { .. } => self.binary_op(e, scope),
            ast::Expr::Nested(inner) => self.expr(inner, scope),
            _ => self.expr_other(e, scope),
        }
    }

    fn binary_op(&mut self, e: &ast::Expr, scope: Option<&Scope>) -> Result<Expr> {
        use ast::Expr as E;
        Ok(match e {
            E::BinaryOp { left, op: ast::BinaryOperator::PGCustomBinaryOperator(parts), right }
                if parts.len() <= 2 && (parts.len() == 1 || parts[0] == "pg_catalog") =>
            {
                // OPERATOR(pg_catalog.op): the built-in operator of that name.
                use ast::BinaryOperator as B;
                let op = match parts.last().map(String::as_str) {
                    Some("~") => B::PGRegexMatch,
                    Some("~*") => B::PGRegexIMatch,
                    Some("!~") => B::PGRegexNotMatch,
                    Some("!~*") => B::PGRegexNotIMatch,
                    Some("~~") => B::PGLikeMatch,
                    Some("~~*") => B::PGILikeMatch,
                    Some("!~~") => B::PGNotLikeMatch,
                    Some("!~~*") => B::PGNotILikeMatch,
                    Some("=") => B::Eq,
                    Some("<>") | Some("!=") => B::NotEq,
                    Some("<") => B::Lt,
                    Some("<=") => B::LtEq,
                    Some(">") => B::Gt,
                    Some(">=") => B::GtEq,
                    Some("+") => B::Plus,
                    Some("-") => B::Minus,
                    Some("*") => B::Multiply,
                    Some("/") => B::Divide,
                    Some("||") => B::StringConcat,
                    Some("@>") => B::AtArrow,
                    Some("<@") => B::ArrowAt,
                    Some("&&") => B::PGOverlap,
                    Some(other) => {
                        return Err(SqlError::new(
                            code::UNDEFINED_FUNCTION,
                            format!("operator does not exist: {other}"),
                        ))
                    }
                    None => return Err(SqlError::syntax("OPERATOR")),
                };
                self.binary(left, &op, right, scope)?
            }
            // `j->-1`, `a=-1`: PostgreSQL's lexer ends a multi-character operator before a
            // trailing `+`/`-` unless it holds one of ~ ! @ # % ^ & | ` ?, so the sign belongs
            // to the right operand; sqlparser read one operator.
            E::BinaryOp { left, op: ast::BinaryOperator::Custom(sym), right }
                if sym.len() > 1
                    && (sym.ends_with('-') || sym.ends_with('+'))
                    && !sym.contains(['~', '!', '@', '#', '%', '^', '&', '|', '`', '?']) =>
            {
                let (head, sign) = sym.split_at(sym.len() - 1);
                let parsed = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
                    .try_with_sql(&format!("a {head} b"))
                    .and_then(|mut p| p.parse_expr());
                let Ok(E::BinaryOp { op, .. }) = parsed else {
                    return Err(SqlError::syntax(sym));
                };
                let unary = if sign == "-" { ast::UnaryOperator::Minus } else { ast::UnaryOperator::Plus };
                let signed = E::UnaryOp { op: unary, expr: right.clone() };
                self.expr(&E::BinaryOp { left: left.clone(), op, right: Box::new(signed) }, scope)?
            }
            E::BinaryOp { left, op: ast::BinaryOperator::Eq, right } if null_equals(left, right) => {
                // transform_null_equals: `x = NULL` is `x IS NULL`, as PostgreSQL's
                // transformAExprOp makes it (for a bare NULL constant on either side).
                let other = if is_null_constant(left) { right } else { left };
                self.expr(&E::IsNull(other.clone()), scope)?
            }
            E::BinaryOp { left, op, right } => match row_compare::comparison(left, op, right) {
                Some(rewritten) => self.expr(&rewritten?, scope)?,
                None => self.binary(left, op, right, scope)?,
            },
            _ => return Err(SqlError::internal("binary_op of another expression")),
        })
    }

    fn expr_other(&mut self, e: &ast::Expr, scope: Option<&Scope>) -> Result<Expr> {
        use ast::Expr as E;
        Ok(match e {
            // CURRENT_SCHEMA is a reserved word: the function, never a column.
            E::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("current_schema") => {
                schema::function("current_schema", vec![], &[])?
            }
            E::Identifier(id) => self.column_or_outer(scope, None, id)?,
            E::CompoundIdentifier(ids) => match ids.as_slice() {
                [t, c] => self.column_or_outer(scope, Some(t), c)?,
                // schema.table.column: FROM names a table by its name within its schema.
                [_, t, c] => self.column_or_outer(scope, Some(t), c)?,
                _ => return Err(SqlError::unsupported(format!("reference {e} is not supported"))),
            },
            E::Value(v) => self.value(&v.value, &v.span)?,
            E::QualifiedWildcard(name, _) => match whole_row::qualified_star(scope, name) {
                Ok(e) => e,
                Err(err) => self.outer_qualified_star(name).ok_or(err)??,
            },
            E::UnaryOp { op, expr } => match op {
                ast::UnaryOperator::Not => {
                    let b = self.expr(expr, scope)?;
                    Expr::Not(Box::new(self.bool_arg(b, "NOT")?))
                }
                ast::UnaryOperator::Minus => {
                    if let E::Value(v) = expr.as_ref() {
                        if let ast::Value::Number(n, _) = &v.value {
                            return self.number(&format!("-{n}"));
                        }
                    }
                    let b = self.expr(expr, scope)?;
                    let b = if b.ty() == SqlType::Unknown {
                        self.coerce(b, SqlType::Float8, CastContext::Implicit, |_| SqlError::internal("unknown"))?
                    } else {
                        b
                    };
                    let t = b.ty();
                    if matches!(t, SqlType::Interval(_)) {
                        return Ok(Expr::Neg(Box::new(b), t.base()));
                    }
                    if !t.is_numeric() {
                        return Err(SqlError::new(code::UNDEFINED_FUNCTION, format!("operator does not exist: - {}", t.name()))
                            .hint("No operator matches the given name and argument type. You might need to add an explicit type cast."));
                    }
                    Expr::Neg(Box::new(b), base(t))
                }
                ast::UnaryOperator::Plus => self.expr(expr, scope)?,
                ast::UnaryOperator::PGAbs
                | ast::UnaryOperator::PGSquareRoot
                | ast::UnaryOperator::PGCubeRoot
                | ast::UnaryOperator::BitwiseNot => self.math_prefix(op, expr, scope)?,
                other => return Err(SqlError::unsupported(format!("operator {other} is not supported yet"))),
            },
            E::IsDistinctFrom(a, b) | E::IsNotDistinctFrom(a, b) => {
                // The rewrite reads each operand up to three times: not for a volatile one.
                if calls_volatile(a) || calls_volatile(b) {
                    return Err(SqlError::unsupported(
                        "IS [NOT] DISTINCT FROM of a volatile function's result is not supported yet",
                    ));
                }
                let distinct = matches!(e, E::IsDistinctFrom(..));
                self.expr(&row_compare::distinct_from(a, b, distinct)?, scope)?
            }
            E::In { expr, target: ast::InTarget::List(list), negated, .. }
                if row_compare::in_list(expr, list, *negated).is_some() =>
            {
                let rewritten = row_compare::in_list(expr, list, *negated).expect("checked");
                self.expr(&rewritten?, scope)?
            }
            E::Collate { expr, collation } => {
                bytewise_collation(collation)?;
                let e = self.expr(expr, scope)?;
                if !(e.ty().is_string() || e.ty() == SqlType::Unknown) {
                    return Err(SqlError::new(
                        code::DATATYPE_MISMATCH,
                        format!("collations are not supported by type {}", e.ty().name()),
                    ));
                }
                e
            }
            // A row (a row constructor, a whole-row reference) is NULL when every field is, NOT
            // NULL when none is (both can be false; both are true of a row without fields).
            E::IsNull(a) | E::IsNotNull(a) => {
                let negated = matches!(e, E::IsNotNull(_));
                match self.row_fields(a, scope)? {
                    Some(fields) => {
                        let tests = fields.into_iter().map(|x| Expr::IsNull(Box::new(x), negated));
                        tests
                            .reduce(|acc, t| Expr::And(Box::new(acc), Box::new(t)))
                            .unwrap_or(Expr::Const(Datum::Bool(true), SqlType::Bool))
                    }
                    None => Expr::IsNull(Box::new(self.expr(a, scope)?), negated),
                }
            }
            E::IsUnknown(a) | E::IsNotUnknown(a) => {
                // IS [NOT] UNKNOWN is IS [NOT] NULL on a boolean.
                let negated = matches!(e, E::IsNotUnknown(_));
                let b = self.expr(a, scope)?;
                let what = if negated { "IS NOT UNKNOWN" } else { "IS UNKNOWN" };
                Expr::IsNull(Box::new(self.bool_arg(b, what)?), negated)
            }
            E::IsTrue(a) | E::IsNotTrue(a) | E::IsFalse(a) | E::IsNotFalse(a) => {
                let value = matches!(e, E::IsTrue(_) | E::IsNotTrue(_));
                let negated = matches!(e, E::IsNotTrue(_) | E::IsNotFalse(_));
                let b = self.expr(a, scope)?;
                let what = format!("IS {}{}", if negated { "NOT " } else { "" }, if value { "TRUE" } else { "FALSE" });
                Expr::IsBool(Box::new(self.bool_arg(b, &what)?), value, negated)
            }
            E::In { expr, target: ast::InTarget::List(list), negated, .. } => {
                let mut items = vec![self.expr(expr, scope)?];
                for i in list {
                    items.push(self.expr(i, scope)?);
                }
                let ty = self.common_type(&items, "IN")?;
                let mut items = items
                    .into_iter()
                    .map(|i| self.coerce(i, ty, CastContext::Implicit, |f| op_error(f, "=", ty)))
                    .collect::<Result<Vec<_>>>()?;
                let first = items.remove(0);
                Expr::InList(Box::new(first), items, *negated)
            }
            E::Between { expr, negated, low, high } => {
                let v = self.expr(expr, scope)?;
                // BETWEEN SYMMETRIC (its low bound wrapped by `postgres_only_syntax`): the bounds
                // in either order, as PostgreSQL expands it.
                let symmetric = match low.as_ref() {
                    E::Function(f) if f.name.to_string() == SYMMETRIC_MARK => match &f.args {
                        ast::FunctionArguments::List(l) => match l.args.as_slice() {
                            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(inner))] => Some(inner),
                            _ => None,
                        },
                        _ => None,
                    },
                    _ => None,
                };
                let lo = self.expr(symmetric.unwrap_or(low), scope)?;
                let hi = self.expr(high, scope)?;
                let ge = self.compare(CmpOp::GtEq, v.clone(), lo.clone())?;
                let le = self.compare(CmpOp::LtEq, v.clone(), hi.clone())?;
                let mut both = Expr::And(Box::new(ge), Box::new(le));
                if symmetric.is_some() {
                    let ge = self.compare(CmpOp::GtEq, v.clone(), hi)?;
                    let le = self.compare(CmpOp::LtEq, v, lo)?;
                    both = Expr::Or(Box::new(both), Box::new(Expr::And(Box::new(ge), Box::new(le))));
                }
                if *negated {
                    Expr::Not(Box::new(both))
                } else {
                    both
                }
            }
            // `x [NOT] LIKE ANY (ARRAY[p1, p2, ...])`: the OR of the LIKEs, as ANY over a
            // constant array is (NULL when none matches and one is NULL).
            E::Like { negated, any: true, expr, pattern, escape_char }
            | E::ILike { negated, any: true, expr, pattern, escape_char } => {
                let mut p = pattern.as_ref();
                while let E::Nested(inner) = p {
                    p = inner;
                }
                let ci = matches!(e, E::ILike { .. });
                // PostgreSQL's grammar has no ESCAPE after `LIKE ANY (...)`.
                if let Some(esc) = escape_char {
                    let at = span_position(self.sql, &sqlparser::ast::Spanned::span(esc.as_ref()));
                    return Err(SqlError::syntax(&esc.to_string()).at(at));
                }
                let E::Array(arr) = p else {
                    // `x LIKE ANY (array)` / `(SELECT ...)`: PostgreSQL's `x ~~ ANY (...)`.
                    let any = E::AnyOp {
                        left: expr.clone(),
                        compare_op: like_operator(ci, *negated),
                        right: Box::new(p.clone()),
                        is_some: false,
                    };
                    return self.expr(&any, scope);
                };
                // Over ARRAY[p1, p2, ...]: the OR of the LIKEs, each pattern bound against
                // the left side's type; a left side no LIKE takes is refused as the array's
                // element type (text for literals), as `x ~~ ANY (text[])` is.
                let lt = self.expr(expr, scope)?.ty();
                if !(lt.is_string() || matches!(lt, SqlType::Unknown | SqlType::Bytea)) {
                    let elem = match self.expr(p, scope)?.ty() {
                        SqlType::Array(at) if at.elem() != SqlType::Unknown => at.elem(),
                        _ => SqlType::Text,
                    };
                    let name = like_operator(ci, *negated).to_string();
                    return Err(self.locate(e, op_error(lt, &name, elem)));
                }
                let one = |pat: &ast::Expr| {
                    let (expr, pattern, escape_char) = (expr.clone(), Box::new(pat.clone()), escape_char.clone());
                    if ci {
                        E::ILike { negated: *negated, any: false, expr, pattern, escape_char }
                    } else {
                        E::Like { negated: *negated, any: false, expr, pattern, escape_char }
                    }
                };
                let mut out: Option<Expr> = None;
                for pat in &arr.elem {
                    let b = self.expr(&one(pat), scope)?;
                    out = Some(match out {
                        None => b,
                        Some(acc) => Expr::Or(Box::new(acc), Box::new(b)),
                    });
                }
                out.unwrap_or(Expr::Const(Datum::Bool(false), SqlType::Bool))
            }
            E::Like { negated, any: false, expr, pattern, escape_char }
            | E::ILike { negated, any: false, expr, pattern, escape_char } => {
                let ci = matches!(e, E::ILike { .. });
                // `x LIKE ALL (...)` / `SOME (...)`: sqlparser reads a call of a function
                // named all or some; PostgreSQL's `x ~~ ALL (...)`.
                if let Some((all, right)) = quantifier_call(pattern) {
                    if escape_char.is_some() {
                        return Err(SqlError::syntax("ESCAPE"));
                    }
                    let (left, compare_op) = (expr.clone(), like_operator(ci, *negated));
                    let q = if all {
                        E::AllOp { left, compare_op, right: Box::new(right) }
                    } else {
                        E::AnyOp { left, compare_op, right: Box::new(right), is_some: true }
                    };
                    return self.expr(&q, scope);
                }
                let a = self.expr(expr, scope)?;
                let p = self.expr(pattern, scope)?;
                self.like_expr(a, p, ci, *negated, escape_char.as_deref(), scope)?
            }
            E::Cast { kind, expr, data_type, format: None } => {
                if matches!(kind, ast::CastKind::TryCast | ast::CastKind::SafeCast) {
                    return Err(SqlError::unsupported("TRY_CAST is not supported"));
                }
                // timestamp(p), time(p), interval(p): the cast rounds to p digits (the type's
                // typmod, as PostgreSQL's length-coercion casts).
                if let ast::DataType::Interval { fields: Some(f), precision } = data_type {
                    return self.interval_fields_cast(expr, f, *precision, scope);
                }
                // `x::record`: a record stays what it is; an untyped literal cannot be read as
                // an anonymous record (PostgreSQL's 0A000); nothing else is a record.
                if data_type.to_string().eq_ignore_ascii_case("record") {
                    let b = self.expr(expr, scope)?;
                    return match b.ty() {
                        SqlType::Composite(_) => Ok(b),
                        SqlType::Unknown if matches!(b, Expr::Const(Datum::Null, _)) => {
                            let oid = orbit_engine::table::GENERIC_RECORD;
                            Ok(Expr::Const(Datum::Null, SqlType::Composite(oid)))
                        }
                        SqlType::Unknown => {
                            let at = self.pos(&sqlparser::ast::Spanned::span(expr.as_ref()));
                            Err(SqlError::unsupported("input of anonymous composite types is not implemented").at(at))
                        }
                        t => Err(SqlError::new("42846", format!("cannot cast type {} to record", t.base().name()))),
                    };
                }
                let domain = domain::domain_of(data_type)?;
                let to = sql_type(data_type)?;
                if let E::Array(a) = expr.as_ref() {
                    if a.elem.is_empty() {
                        return self.empty_array(to);
                    }
                }
                let b = self.expr(expr, scope)?;
                let from = b.ty();
                let b = self
                    .coerce(b, to, CastContext::Explicit, |f| {
                        // (format_type_be: the types without their typmods.)
                        SqlError::new("42846", format!("cannot cast type {} to {}", f.base().name(), to.base().name()))
                    })
                    .map_err(|e| self.at_literal(e, expr))?;
                // timestamp(3) cast to timestamp: the value as it is, of the type without a
                // precision (a cast that changes nothing, over a column GROUP BY still finds).
                let b =
                    if b.ty() != to && to.precision().is_none() && b.ty().same_base(to) && b.ty().precision().is_some()
                    {
                        match b {
                            Expr::Const(d, _) => Expr::Const(d, to),
                            b => Expr::Cast(Box::new(b), to, false),
                        }
                    } else {
                        b
                    };
                // A literal cast to varchar(n) truncates explicitly.
                let b = match (&b, to) {
                    (Expr::Const(Datum::Text(s), _), SqlType::Varchar(n)) if from == SqlType::Unknown => {
                        Expr::Const(Datum::Text(types::fit_varchar(s.clone(), n, true)?), to)
                    }
                    _ => b,
                };
                // A cast to a domain checks the value against it.
                match domain {
                    Some(d) => Expr::Call(crate::scalar::Builtin::DomainCheck(d.oid), vec![b], to),
                    None => b,
                }
            }
            E::Function(f) => self.function(f, scope)?,
            E::Array(a) => self.array_constructor(a, scope)?,
            E::Tuple(items) => self.row_value(&items.iter().collect::<Vec<_>>(), scope)?,
            E::CompoundFieldAccess { root, access_chain } => match self.srf_record_field(root, access_chain, scope)? {
                Some(x) => x,
                None => match self.composite_field(root, access_chain, scope)? {
                    Some(x) => x,
                    None => self.subscript(root, access_chain, scope)?,
                },
            },
            // `(a, b) op ANY | ALL (SELECT x, y ...)`: row comparisons with each row.
            E::AnyOp { left, compare_op, right, .. } | E::AllOp { left, compare_op, right }
                if matches!(right.as_ref(), E::Subquery(q)
                    if row_compare::quantified_subquery(left, compare_op, q, matches!(e, E::AllOp { .. })).is_some()) =>
            {
                let E::Subquery(q) = right.as_ref() else { return Err(SqlError::internal("checked")) };
                let all = matches!(e, E::AllOp { .. });
                let rewritten = row_compare::quantified_subquery(left, compare_op, q, all).expect("checked");
                self.expr(&rewritten?, scope)?
            }
            E::AnyOp { right, .. } | E::AllOp { right, .. } if matches!(right.as_ref(), E::Subquery(_)) => {
                self.sublink(e, scope)?
            }
            E::AnyOp { left, compare_op, right, .. } => self.quantified(left, compare_op, right, false, scope)?,
            E::AllOp { left, compare_op, right } => self.quantified(left, compare_op, right, true, scope)?,
            E::TypedString(ts) => self.typed_string(ts)?,
            E::Interval(iv) => self.interval_literal(iv)?,
            E::Extract { field, expr, .. } => self.extract(field, expr, scope)?,
            E::AtTimeZone { timestamp, time_zone } => self.at_time_zone(timestamp, time_zone, scope)?,
            E::Case { operand, conditions, else_result, .. } => {
                let b = self.case(operand.as_deref(), conditions, else_result.as_deref(), scope)?;
                self.srf_refused_in(&b, "CASE")?;
                b
            }
            E::Overlay { expr, overlay_what, overlay_from, overlay_for } => {
                self.overlay([expr, overlay_what, overlay_from], overlay_for.as_deref(), scope)?
            }
            E::SimilarTo { negated, expr, pattern, escape_char } => {
                self.similar_to(expr, pattern, escape_char.as_deref(), *negated, scope)?
            }
            E::Ceil { .. } | E::Floor { .. } | E::Position { .. } | E::Substring { .. } | E::Trim { .. } => {
                self.special_function(e, scope)?
            }
            E::In { target: ast::InTarget::Subquery(_), .. }
                if self.sub.row_in_filter.contains(&(e as *const ast::Expr as usize)) =>
            {
                self.sublink(e, scope)?
            }
            E::In { expr, target: ast::InTarget::Subquery(q), negated, .. }
                if row_compare::in_subquery(expr, q, *negated, false).is_some() =>
            {
                let rewritten = row_compare::in_subquery(expr, q, *negated, false).expect("checked");
                self.expr(&rewritten?, scope)?
            }
            E::Subquery(_) | E::Exists { .. } | E::In { target: ast::InTarget::Subquery(_), .. } => {
                self.sublink(e, scope)?
            }
            other => {
                return Err(SqlError::unsupported(format!("expression {other} is not supported yet")));
            }
        })
    }

    fn value(&mut self, v: &ast::Value, span: &sqlparser::tokenizer::Span) -> Result<Expr> {
        use ast::Value as V;
        Ok(match v {
            V::Number(n, _) => self.number(n)?,
            V::SingleQuotedString(s)
            | V::EscapedStringLiteral(s)
            | V::UnicodeStringLiteral(s)
            | V::DollarQuotedString(ast::DollarQuotedString { value: s, .. }) => {
                Expr::Const(Datum::Text(s.clone()), SqlType::Unknown)
            }
            V::Boolean(b) => Expr::Const(Datum::Bool(*b), SqlType::Bool),
            V::Null => Expr::Const(Datum::Null, SqlType::Unknown),
            V::Placeholder(p) => self.param(p, span)?,
            other => return Err(SqlError::unsupported(format!("literal {other} is not supported yet"))),
        })
    }

    fn number(&mut self, n: &str) -> Result<Expr> {
        if n.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            if let Ok(v) = n.parse::<i32>() {
                return Ok(Expr::Const(Datum::Int4(v), SqlType::Int4));
            }
            if let Ok(v) = n.parse::<i64>() {
                return Ok(Expr::Const(Datum::Int8(v), SqlType::Int8));
            }
        }
        Ok(Expr::Const(crate::numeric::Num::parse(n)?.into_datum(), SqlType::NUMERIC))
    }

    /// The type every expression of a list is coerced to (PostgreSQL's `select_common_type`,
    /// for the types supported here).
    fn common_type(&self, items: &[Expr], what: &str) -> Result<SqlType> {
        let known: Vec<SqlType> = items.iter().map(|e| e.ty()).filter(|t| *t != SqlType::Unknown).collect();
        let Some(&first) = known.first() else { return Ok(SqlType::Text) };
        let mut ty = first;
        for &t in &known[1..] {
            ty = if ty == t {
                ty
            } else if ty.is_numeric() && t.is_numeric() {
                promote(ty, t)
            } else if base(ty) == base(t) {
                base(ty)
            } else if ty.is_datetime() && t.is_datetime() {
                datetime_common(ty, t)
            } else if time_and_timetz(ty, t) {
                SqlType::TIMETZ
            } else if ty.is_string() && t.is_string() {
                SqlType::Text
            } else if let Some(a) = arrays::common(ty, t) {
                a
            } else if let Some(r) = composites::common_record(ty, t, |a, b| self.common_type(&[a, b], what).ok())? {
                r
            } else if matches!(
                (ty, t),
                (SqlType::Oid(_), SqlType::Int8 | SqlType::Oid(_)) | (SqlType::Int8, SqlType::Oid(_))
            ) {
                // The catalogs' oid columns are int8 here: with an OID alias they make an oid,
                // as PostgreSQL's oid column and the alias do.
                SqlType::Oid(OidKind::Oid)
            } else {
                return Err(SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!("{what} types {} and {} cannot be matched", ty.name(), t.name()),
                ));
            };
        }
        // An untyped value among them (a NULL, a literal) has no precision or length: nor has
        // the result, as PostgreSQL's select_common_typmod gives it.
        if known.len() < items.len() {
            if ty.precision().is_some() {
                return Ok(ty.base());
            }
            if matches!(ty, SqlType::Varchar(Some(_)) | SqlType::Bpchar(Some(_)) | SqlType::Numeric(Some(_))) {
                return Ok(base(ty));
            }
        }
        Ok(ty)
    }

    /// An untyped parameter compared with a system view's int8 column is an `oid`: such
    /// columns are oid in PostgreSQL (Orbit shows them as int8), and drivers send an oid there
    /// (tokio-postgres's type lookup, `WHERE t.oid = $1`, binds a u32 only to an oid).
    fn system_oid_param(&mut self, e: Expr, other: &Expr, scope: &Scope) -> Expr {
        let Expr::Param(i, SqlType::Unknown) = e else { return e };
        let Expr::Column(c, SqlType::Int8) = other else { return e };
        let def = match &scope.joined {
            None => Some(scope.def),
            Some(js) => {
                js.tables.iter().find(|(d, _, off)| *c >= *off && *c < off + d.columns.len()).map(|(d, ..)| &**d)
            }
        };
        if !def.is_some_and(|d| d.oid != 0 && d.oid < FIRST_USER_OID && d.index_of.is_none()) {
            return e;
        }
        let oid = SqlType::Oid(OidKind::Oid);
        if let Some(p) = self.params.get_mut(i) {
            *p = oid;
        }
        Expr::Param(i, oid)
    }

    fn compare(&mut self, op: CmpOp, l: Expr, r: Expr) -> Result<Expr> {
        let sym = match op {
            CmpOp::Eq => "=",
            CmpOp::NotEq => "<>",
            CmpOp::Lt => "<",
            CmpOp::LtEq => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtEq => ">=",
        };
        let (lt, rt) = (l.ty(), r.ty());
        let ty = match (lt, rt) {
            // json and jsonpath have no comparison operators.
            (SqlType::Json | SqlType::JsonPath, _) | (_, SqlType::Json | SqlType::JsonPath) => {
                return Err(op_error(lt, sym, rt))
            }
            (SqlType::Unknown, SqlType::Unknown) => SqlType::Text,
            // A literal compared with a string column is read without the column's length.
            // So is one compared with a timestamp(p), time(p) or interval(p): the operator
            // takes the type without its precision (the literal is not rounded).
            (SqlType::Unknown, t) | (t, SqlType::Unknown) if t.is_string() || t.precision().is_some() => base(t),
            (SqlType::Unknown, t) | (t, SqlType::Unknown) => t,
            (a, b) if a.is_numeric() && b.is_numeric() => promote(a, b),
            (SqlType::Bpchar(_), SqlType::Bpchar(_)) => SqlType::Bpchar(None),
            (a, b) if a.is_datetime() && b.is_datetime() => datetime_common(a, b),
            (a, b) if time_and_timetz(a, b) => SqlType::TIMETZ,
            (a, b) if a.is_string() && b.is_string() => SqlType::Text,
            // "char" with a string: as text ("char" casts to text implicitly).
            (SqlType::Char, b) | (b, SqlType::Char) if b.is_string() => SqlType::Text,
            // OIDs compare as oid (oideq), an integer side cast to oid.
            (SqlType::Oid(_), SqlType::Oid(_))
            | (SqlType::Oid(_), SqlType::Int2 | SqlType::Int4 | SqlType::Int8)
            | (SqlType::Int2 | SqlType::Int4 | SqlType::Int8, SqlType::Oid(_)) => SqlType::Oid(OidKind::Oid),
            (a, b) if a == b => a,
            (a, b) if (a.precision().is_some() || b.precision().is_some()) && base(a) == base(b) => base(a),
            (a @ SqlType::Array(_), b @ SqlType::Array(_)) => arrays::same(a, b).ok_or_else(|| op_error(a, sym, b))?,
            // Two records of different types (record_eq, record_lt, ...): compared field by
            // field as they are.
            (a @ SqlType::Composite(_), b @ SqlType::Composite(_)) => {
                composites::comparable_records(a, b)?;
                return Ok(Expr::Cmp(op, Box::new(l), Box::new(r)));
            }
            (a, b) => return Err(op_error(a, sym, b)),
        };
        // Keep a column on one side with its own type where the other side is a literal or a
        // parameter of the same kind, so a primary-key lookup sees `column = value`: integers
        // of two widths compare as integers (PostgreSQL's int48eq and the like; keys encode
        // every width alike), so `int4_key = $1::int8` stays a key lookup.
        let column_and_value = |a: &Expr, b: &Expr| matches!(a, Expr::Column(..)) && b.is_row_independent();
        if lt.is_integer() && rt.is_integer() && lt != rt && (column_and_value(&l, &r) || column_and_value(&r, &l)) {
            return Ok(Expr::Cmp(op, Box::new(l), Box::new(r)));
        }
        let l = self.coerce(l, ty, CastContext::Implicit, |_| op_error(lt, sym, rt))?;
        let r = self.coerce(r, ty, CastContext::Implicit, |_| op_error(lt, sym, rt))?;
        Ok(Expr::Cmp(op, Box::new(l), Box::new(r)))
    }

    /// `a ~ b`, `a ~~* b`, ...: the regular expression and LIKE operators over bound operands
    /// (also each element's test of `a op ANY (SELECT ...)`), those [`is_text_match`] names.
    pub(super) fn text_match(
        &mut self,
        op: &ast::BinaryOperator,
        l: Expr,
        r: Expr,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        use ast::BinaryOperator as B;
        match op {
            B::PGRegexMatch | B::PGRegexIMatch | B::PGRegexNotMatch | B::PGRegexNotIMatch => {
                let sym = op.to_string();
                let (lt, rt) = (l.ty(), r.ty());
                let stringy = |t: SqlType| t.is_string() || t == SqlType::Unknown;
                if !stringy(lt) || !stringy(rt) {
                    return Err(op_error(lt, &sym, rt));
                }
                let l = self.coerce(l, SqlType::Text, CastContext::Implicit, |_| op_error(lt, &sym, rt))?;
                let r = self.coerce(r, SqlType::Text, CastContext::Implicit, |_| op_error(lt, &sym, rt))?;
                let f = if matches!(op, B::PGRegexIMatch | B::PGRegexNotIMatch) {
                    crate::scalar::Builtin::RegexMatchCi
                } else {
                    crate::scalar::Builtin::RegexMatch
                };
                let m = Expr::Call(f, vec![l, r], SqlType::Bool);
                Ok(if matches!(op, B::PGRegexNotMatch | B::PGRegexNotIMatch) { Expr::Not(Box::new(m)) } else { m })
            }
            B::PGLikeMatch | B::PGILikeMatch | B::PGNotLikeMatch | B::PGNotILikeMatch => {
                let ci = matches!(op, B::PGILikeMatch | B::PGNotILikeMatch);
                let negated = matches!(op, B::PGNotLikeMatch | B::PGNotILikeMatch);
                self.like_expr(l, r, ci, negated, None, scope)
            }
            other => Err(SqlError::internal(format!("{other} is no text match operator"))),
        }
    }

    /// `a [NOT] LIKE p [ESCAPE e]` / ILIKE (PostgreSQL's `~~`, `!~~`, `~~*`, `!~~*`).
    pub(super) fn like_expr(
        &mut self,
        a: Expr,
        p: Expr,
        ci: bool,
        negated: bool,
        escape_char: Option<&ast::Expr>,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        let opname = match (ci, negated) {
            (false, false) => "~~",
            (false, true) => "!~~",
            (true, false) => "~~*",
            (true, true) => "!~~*",
        };
        let (at, pt) = (a.ty(), p.ty());
        if at == SqlType::Bytea && !ci {
            return self.bytea_like(a, p, escape_char, negated, scope);
        }
        // character(n) matches with its padding (bpcharlike).
        let a = if matches!(at, SqlType::Bpchar(_)) {
            a
        } else {
            self.coerce(a, SqlType::Text, CastContext::Implicit, |_| op_error(at, opname, pt))?
        };
        let p = self.coerce(p, SqlType::Text, CastContext::Implicit, |_| op_error(at, opname, pt))?;
        // `ESCAPE e` is PostgreSQL's like_escape(pattern, e): the pattern rewritten to
        // backslash escapes.
        let p = match escape_char {
            Some(esc) => {
                let e = self.expr(esc, scope)?;
                let et = e.ty();
                let e = self.coerce(e, SqlType::Text, CastContext::Implicit, |_| {
                    no_function("like_escape", &[SqlType::Text, et])
                })?;
                Expr::Call(crate::scalar::Builtin::LikeEscape, vec![p, e], SqlType::Text)
            }
            None => p,
        };
        Ok(Expr::Like(Box::new(a), Box::new(p), negated, ci))
    }

    fn binary(
        &mut self,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        use ast::BinaryOperator as B;
        let l = self.expr(left, scope)?;
        let r = self.expr(right, scope)?;
        let cmp = |op| Some(op);
        let c = match op {
            B::Eq => cmp(CmpOp::Eq),
            B::NotEq => cmp(CmpOp::NotEq),
            B::Lt => cmp(CmpOp::Lt),
            B::LtEq => cmp(CmpOp::LtEq),
            B::Gt => cmp(CmpOp::Gt),
            B::GtEq => cmp(CmpOp::GtEq),
            _ => None,
        };
        if let Some(c) = c {
            let (l, r) = match scope {
                Some(scope) => {
                    let l = self.system_oid_param(l, &r, scope);
                    let r = self.system_oid_param(r, &l, scope);
                    (l, r)
                }
                None => (l, r),
            };
            return self.compare(c, l, r);
        }
        let (l, r) = match op {
            B::HashArrow
            | B::HashLongArrow
            | B::Question
            | B::QuestionPipe
            | B::QuestionAnd
            | B::HashMinus
            | B::AtArrow
            | B::ArrowAt
            | B::StringConcat
            | B::Minus
            | B::AtQuestion
            | B::AtAt
                if matches!(l.ty(), SqlType::Json | SqlType::Jsonb)
                    || matches!(r.ty(), SqlType::Jsonb | SqlType::JsonPath)
                    // PostgreSQL's only @? is jsonb @? jsonpath, and it reads `'...' @@ '...'` as
                    // jsonb @@ jsonpath too.
                    || matches!(op, B::AtQuestion)
                    || (matches!(op, B::AtAt) && l.ty() == SqlType::Unknown && r.ty() == SqlType::Unknown) =>
            {
                if let Some(e) = self.json_binary(op, l.clone(), r.clone())? {
                    return Ok(e);
                }
                (l, r)
            }
            _ => (l, r),
        };
        if Self::is_array_op(op, &l, &r) {
            return self.array_binary(op, l, r);
        }
        if is_text_match(op) {
            return self.text_match(op, l, r, scope);
        }
        match op {
            B::And | B::Or => {
                let what = if *op == B::And { "AND" } else { "OR" };
                let l = self.bool_arg(l, what)?;
                let r = self.bool_arg(r, what)?;
                Ok(if *op == B::And { Expr::And(Box::new(l), Box::new(r)) } else { Expr::Or(Box::new(l), Box::new(r)) })
            }
            B::StringConcat => {
                let (lt, rt) = (l.ty(), r.ty());
                let stringy = |t: SqlType| t.is_string() || t == SqlType::Unknown;
                // bytea || bytea (an untyped literal beside a bytea is read as one); text ||
                // bytea is text || anynonarray, the bytea's text form (handled below).
                let bytea_or_unknown = |t: SqlType| matches!(t, SqlType::Bytea | SqlType::Unknown);
                if (lt == SqlType::Bytea || rt == SqlType::Bytea) && bytea_or_unknown(lt) && bytea_or_unknown(rt) {
                    let l = self.coerce(l, SqlType::Bytea, CastContext::Implicit, |_| op_error(lt, "||", rt))?;
                    let r = self.coerce(r, SqlType::Bytea, CastContext::Implicit, |_| op_error(lt, "||", rt))?;
                    return Ok(Expr::Call(
                        crate::scalar::Builtin::Text(crate::text_fns::TextFn::ByteaCat),
                        vec![l, r],
                        SqlType::Bytea,
                    ));
                }
                if !(stringy(lt) || stringy(rt)) {
                    return Err(op_error(lt, "||", rt));
                }
                let l = if lt == SqlType::Unknown || matches!(lt, SqlType::Bpchar(_)) {
                    self.coerce(l, SqlType::Text, CastContext::Implicit, |_| op_error(lt, "||", rt))?
                } else {
                    l
                };
                let r = if rt == SqlType::Unknown || matches!(rt, SqlType::Bpchar(_)) {
                    self.coerce(r, SqlType::Text, CastContext::Implicit, |_| op_error(lt, "||", rt))?
                } else {
                    r
                };
                let (l, r) = (temporal::shown_in_zone(l, false), temporal::shown_in_zone(r, false));
                // A float operand prints as its cast to text would (extra_float_digits).
                let l = float_output::float_digits_cast(l, lt, SqlType::Text).unwrap_or_else(|e| e);
                let r = float_output::float_digits_cast(r, rt, SqlType::Text).unwrap_or_else(|e| e);
                Ok(Expr::Concat(Box::new(l), Box::new(r)))
            }
            B::Plus | B::Minus | B::Multiply | B::Divide | B::Modulo => {
                let (aop, sym) = match op {
                    B::Plus => (ArithOp::Add, "+"),
                    B::Minus => (ArithOp::Sub, "-"),
                    B::Multiply => (ArithOp::Mul, "*"),
                    B::Divide => (ArithOp::Div, "/"),
                    _ => (ArithOp::Mod, "%"),
                };
                let (lt, rt) = (l.ty(), r.ty());
                if is_temporal(lt) || is_temporal(rt) {
                    return self.datetime_arith(aop, sym, l, r);
                }
                let ty = match (lt, rt) {
                    (SqlType::Unknown, SqlType::Unknown) => {
                        return Err(SqlError::new("42725", format!("operator is not unique: unknown {sym} unknown"))
                            .hint(
                            "Could not choose a best candidate operator. You might need to add explicit type casts.",
                        ))
                    }
                    (SqlType::Unknown, t) | (t, SqlType::Unknown) if t.is_numeric() => t,
                    (a, b) if a.is_numeric() && b.is_numeric() => promote(a, b),
                    (a, b) => return Err(op_error(a, sym, b)),
                };
                // Results are plain numeric: a column's precision and scale do not carry over.
                let ty = base(ty);
                if aop == ArithOp::Mod && ty.is_float() {
                    return Err(op_error(lt, sym, rt));
                }
                let l = self.coerce(l, ty, CastContext::Implicit, |_| op_error(lt, sym, rt))?;
                let r = self.coerce(r, ty, CastContext::Implicit, |_| op_error(lt, sym, rt))?;
                Ok(Expr::Arith(aop, Box::new(l), Box::new(r), ty))
            }
            B::Arrow => self.json_arrow(false, l, r),
            B::LongArrow => self.json_arrow(true, l, r),
            B::PGExp
            | B::BitwiseAnd
            | B::BitwiseOr
            | B::PGBitwiseXor
            | B::PGBitwiseShiftLeft
            | B::PGBitwiseShiftRight => match self.math_operator(op, l, r)? {
                Some(e) => Ok(e),
                None => Err(SqlError::internal("math operator")),
            },
            other => Err(SqlError::unsupported(format!("operator {other} is not supported yet"))),
        }
    }

    fn function(&mut self, f: &ast::Function, scope: Option<&Scope>) -> Result<Expr> {
        // ROW(t.*, x): t's columns are fields of the row, each one (not t's record).
        if f.name.0.len() == 1 && f.name.to_string().eq_ignore_ascii_case("row") {
            if let Some(args) = whole_row::row_star_args(f) {
                let refs: Vec<&ast::Expr> = args.iter().collect();
                return self.row_value(&refs, scope);
            }
        }
        if let Some(g) = whole_row::star_arguments(f) {
            return self.function(&g, scope);
        }
        let name = f.name.0.last().and_then(|p| p.as_ident()).map(fold).unwrap_or_default();
        // `"orbit plpgsql rows"(f(...))`: a PL/pgSQL function's rows as an array.
        if let Some(e) = self.plpgsql_rows(f, scope)? {
            return Ok(e);
        }
        // A SQL function (CREATE FUNCTION) of that name, inlined.
        if let Some(e) = self.sql_function_call(f, scope)? {
            return Ok(e);
        }
        // An extension's function (uuid-ossp's), there once the extension is created.
        if let Some(e) = self.extension_call(f, &name, scope)? {
            return Ok(e);
        }
        // `VARIADIC array` as the last argument, before anything reads the arguments.
        if let Some(e) = self.variadic_call(&name, f, scope)? {
            return Ok(e);
        }
        // rank(a) WITHIN GROUP (...) and the other hypothetical-set aggregates share their
        // names with window functions.
        let hypothetical = !f.within_group.is_empty() && f.over.is_none();
        if f.over.is_some() || (crate::window::is_window_only(&name) && !self.window.aggregate && !hypothetical) {
            return self.window_call(f, &name, scope);
        }
        if name == "grouping" {
            return self.grouping_call(f, scope);
        }
        if (name == array_assign::ELEM_MARK || name == array_assign::SLICE_MARK || name == array_assign::PATH_MARK)
            && f.name.0.len() == 1
        {
            return self.array_assign_call(f, &name, scope);
        }
        if name == "row" && f.name.0.len() == 1 {
            if let Some(args) = plain_args(f) {
                return self.row_value(&args, scope);
            }
        }
        if srf::is_srf(&name) {
            return self.srf_call(f, &name, scope);
        }
        if let Some(e) = self.whole_row_json(&name, f, scope)? {
            return Ok(e);
        }
        if let Some(e) = self.type_call(f, &name, scope)? {
            return Ok(e);
        }
        if let Some(e) = self.privilege_call(&name, f, scope)? {
            return Ok(e);
        }
        if let Some(e) = self.description_call(&name, f, scope)? {
            return Ok(e);
        }
        if let Some(e) = self.count_nulls_call(&name, f, scope)? {
            return Ok(e);
        }
        if !f.within_group.is_empty() {
            return self.ordered_set_call(f, &name, scope);
        }
        // An aggregate with OVER: aggregates may be in its arguments.
        let window_agg = std::mem::take(&mut self.window.aggregate);
        let mut within: &[ast::OrderByExpr] = &[];
        let (args, star, distinct) = match &f.args {
            ast::FunctionArguments::None => (vec![], false, false),
            ast::FunctionArguments::List(l) => {
                for c in &l.clauses {
                    match c {
                        ast::FunctionArgumentClause::OrderBy(list) => within = list,
                        _ => return Err(SqlError::unsupported("this clause in function arguments is not supported")),
                    }
                }
                let distinct = matches!(l.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct));
                let mut star = false;
                let mut args = Vec::new();
                let mut type_of = |e: &ast::Expr| self.expr(e, scope).map(|x| x.ty());
                let positional = match json_ops::path_positional(&name, &l.args, &mut type_of)? {
                    Some(p) => Some(p),
                    None => temporal::named_positional(&name, &l.args, &mut type_of)?,
                };
                for a in if positional.is_none() { &l.args[..] } else { &[] } {
                    match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => args.push(e),
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                        _ => return Err(SqlError::unsupported("named function arguments are not supported yet")),
                    }
                }
                if let Some(p) = positional {
                    args = p;
                }
                (args, star, distinct)
            }
            ast::FunctionArguments::Subquery(_) if name == "array" => {
                return self.sublink(&ast::Expr::Function(f.clone()), scope)
            }
            ast::FunctionArguments::Subquery(_) => {
                return Err(SqlError::unsupported("subqueries are not supported yet"))
            }
        };
        let agg = match name.as_str() {
            "count" => Some(if star { AggFunc::CountStar } else { AggFunc::Count }),
            "sum" => Some(AggFunc::Sum),
            "min" => Some(AggFunc::Min),
            "max" => Some(AggFunc::Max),
            "avg" => Some(AggFunc::Avg),
            "string_agg" => Some(AggFunc::StringAgg),
            "array_agg" => Some(AggFunc::ArrayAgg),
            // array_agg over each input's JSON text, joined by a final step (crate::json_build).
            "json_agg" | "jsonb_agg" | "json_object_agg" | "jsonb_object_agg" => Some(AggFunc::ArrayAgg),
            "bool_and" | "every" => Some(AggFunc::BoolAnd),
            "bool_or" => Some(AggFunc::BoolOr),
            "bit_and" => Some(AggFunc::BitAnd),
            "bit_or" => Some(AggFunc::BitOr),
            "bit_xor" => Some(AggFunc::BitXor),
            "var_samp" | "variance" => Some(AggFunc::Variance { sample: true, sqrt: false }),
            "var_pop" => Some(AggFunc::Variance { sample: false, sqrt: false }),
            "stddev_samp" | "stddev" => Some(AggFunc::Variance { sample: true, sqrt: true }),
            "stddev_pop" => Some(AggFunc::Variance { sample: false, sqrt: true }),
            n => crate::expr::Regr::named(n).map(AggFunc::Regr),
        };
        if let Some(func) = agg {
            if !window_agg {
                if let Some(e) = self.outer_level_aggregate(f, scope)? {
                    return Ok(e);
                }
            }
            // PostgreSQL points at the call (its name).
            let at = f.name.0.first().and_then(|p| p.as_ident()).and_then(|i| self.pos(&i.span));
            if self.in_agg {
                return Err(SqlError::new(code::GROUPING_ERROR, "aggregate function calls cannot be nested").at(at));
            }
            if !self.allow_aggs {
                return Err(SqlError::new(
                    code::GROUPING_ERROR,
                    format!("aggregate functions are not allowed in {}", self.aggs_banned_in),
                )
                .at(at));
            }
            if star && func != AggFunc::CountStar {
                return Err(SqlError::syntax("*"));
            }
            // The arguments and ORDER BY live in the aggregate's spec, outside the tree folded
            // at the top: fold them here.
            self.in_agg = !window_agg;
            let bound =
                args.iter().map(|a| self.expr(a, scope).and_then(crate::expr::fold)).collect::<Result<Vec<_>>>();
            self.in_agg = false;
            let mut bound = bound?;
            // json[b]_agg(DISTINCT x): distinct JSON texts, in x's order (PostgreSQL sorts
            // the values to remove duplicates).
            let json_inputs = if distinct { bound.clone() } else { Vec::new() };
            let json_agg = self.json_aggregate(&name, &mut bound, &args, scope)?;
            let mut written: Vec<String> = bound.iter().map(|a| format!("{a:?}")).collect();
            if json_agg.is_some() {
                written.extend(json_inputs.iter().map(|a| format!("{a:?}")));
            }
            let mut bytea_agg = false;
            let (arg, delim) = match (func, bound.len()) {
                (AggFunc::CountStar, 0) => (None, None),
                // string_agg(bytea, bytea): the bytes' hex texts joined and decoded (hex text
                // concatenates as the bytes do; NULLs are skipped the same way).
                (AggFunc::StringAgg, 2)
                    if bound[0].ty() == SqlType::Bytea
                        && matches!(bound[1].ty(), SqlType::Bytea | SqlType::Unknown) =>
                {
                    let types: Vec<SqlType> = bound.iter().map(|b| b.ty()).collect();
                    let hex = |e: Expr| {
                        Expr::Call(
                            crate::scalar::Builtin::Text(crate::text_fns::TextFn::Encode),
                            vec![e, Expr::Const(Datum::Text("hex".into()), SqlType::Text)],
                            SqlType::Text,
                        )
                    };
                    let d = bound.pop().map(|d| {
                        self.coerce(d, SqlType::Bytea, CastContext::Implicit, |_| no_function(&name, &types)).map(hex)
                    });
                    let v = bound.pop().map(hex);
                    bytea_agg = true;
                    (v, d.transpose()?)
                }
                (AggFunc::StringAgg, 2) => {
                    let types: Vec<SqlType> = bound.iter().map(|b| b.ty()).collect();
                    let text = |t: SqlType| t.is_string() || t == SqlType::Unknown;
                    if !types.iter().all(|t| text(*t)) {
                        return Err(no_function(&name, &types));
                    }
                    let d = bound
                        .pop()
                        .map(|d| self.coerce(d, SqlType::Text, CastContext::Implicit, |_| no_function(&name, &types)));
                    let v = bound
                        .pop()
                        .map(|v| self.coerce(v, SqlType::Text, CastContext::Implicit, |_| no_function(&name, &types)));
                    (v.transpose()?, d.transpose()?)
                }
                (AggFunc::StringAgg, _) => {
                    return Err(no_function(&name, &bound.iter().map(|b| b.ty()).collect::<Vec<_>>()))
                }
                // (float8, float8): Y, then X.
                (AggFunc::Regr(_), 2) => {
                    let types: Vec<SqlType> = bound.iter().map(|b| b.ty()).collect();
                    let x = bound.pop().map(|x| {
                        self.coerce(x, SqlType::Float8, CastContext::Implicit, |_| no_function(&name, &types))
                    });
                    let y = bound.pop().map(|y| {
                        self.coerce(y, SqlType::Float8, CastContext::Implicit, |_| no_function(&name, &types))
                    });
                    (y.transpose()?, x.transpose()?)
                }
                (AggFunc::Regr(_), _) => {
                    return Err(no_function(&name, &bound.iter().map(|b| b.ty()).collect::<Vec<_>>()))
                }
                (_, 1) => (bound.pop(), None),
                _ => return Err(no_function(&name, &bound.iter().map(|b| b.ty()).collect::<Vec<_>>())),
            };
            let mut order_by = Vec::with_capacity(within.len());
            for o in within {
                self.in_agg = true;
                let e = self.expr(&o.expr, scope).and_then(crate::expr::fold);
                self.in_agg = false;
                let e = e?;
                // With DISTINCT each ORDER BY item must be one of the arguments (as written).
                if distinct && !written.contains(&format!("{e:?}")) {
                    return Err(SqlError::new(
                        code::INVALID_COLUMN_REFERENCE,
                        "in an aggregate with DISTINCT, ORDER BY expressions must appear in argument list",
                    ));
                }
                let e = if e.ty() == SqlType::Unknown {
                    self.coerce(e, SqlType::Text, CastContext::Implicit, |_| SqlError::internal("unknown"))?
                } else {
                    e
                };
                let desc = sort_desc(&o.options)?;
                let nulls_first = o.options.nulls_first.unwrap_or(desc);
                order_by.push(AggOrder { expr: e, desc, nulls_first });
            }
            if json_agg.is_some() && distinct && order_by.is_empty() {
                order_by =
                    json_inputs.into_iter().map(|expr| AggOrder { expr, desc: false, nulls_first: false }).collect();
            }
            let argty = arg.as_ref().map(|a| a.ty()).unwrap_or(SqlType::Int8);
            if matches!(func, AggFunc::Sum | AggFunc::Avg) && argty == SqlType::Unknown {
                return Err(SqlError::new("42725", format!("function {name}(unknown) is not unique"))
                    .hint("Could not choose a best candidate function. You might need to add explicit type casts."));
            }
            let ty = match func {
                AggFunc::CountStar | AggFunc::Count => SqlType::Int8,
                AggFunc::Sum => match argty {
                    SqlType::Int2 | SqlType::Int4 => SqlType::Int8,
                    SqlType::Float4 => SqlType::Float4,
                    SqlType::Float8 => SqlType::Float8,
                    SqlType::Int8 | SqlType::Numeric(_) => SqlType::NUMERIC,
                    SqlType::Interval(_) => SqlType::INTERVAL,
                    t => return Err(no_function(&name, &[t])),
                },
                AggFunc::Avg => match argty {
                    SqlType::Float4 | SqlType::Float8 => SqlType::Float8,
                    SqlType::Interval(_) => SqlType::INTERVAL,
                    t if t.is_integer() || t.is_decimal() => SqlType::NUMERIC,
                    t => return Err(no_function(&name, &[t])),
                },
                // variance and stddev: float8 of floats, numeric of integers and numerics.
                // An untyped literal takes the preferred numeric type, float8.
                AggFunc::Variance { .. } => match argty {
                    SqlType::Float4 | SqlType::Float8 | SqlType::Unknown => SqlType::Float8,
                    t if t.is_integer() || t.is_decimal() => SqlType::NUMERIC,
                    t => return Err(no_function(&name, &[t])),
                },
                AggFunc::StringAgg => SqlType::Text,
                AggFunc::Regr(crate::expr::Regr::Count) => SqlType::Int8,
                AggFunc::Regr(_) => SqlType::Float8,
                // Of arrays: an array of one more dimension, of the same type.
                AggFunc::ArrayAgg => match argty {
                    SqlType::Unknown => {
                        return Err(SqlError::new("42725", format!("function {name}(unknown) is not unique")).hint(
                            "Could not choose a best candidate function. You might need to add explicit type casts.",
                        ))
                    }
                    t @ SqlType::Array(_) => t,
                    t => t.array_of().ok_or_else(|| no_function(&name, &[t]))?,
                },
                AggFunc::BoolAnd | AggFunc::BoolOr => match argty {
                    SqlType::Bool | SqlType::Unknown => SqlType::Bool,
                    t => return Err(no_function(&name, &[t])),
                },
                // (PostgreSQL's bit versions, of type bit, are not here.)
                AggFunc::BitAnd | AggFunc::BitOr | AggFunc::BitXor => match argty {
                    t @ (SqlType::Int2 | SqlType::Int4 | SqlType::Int8) => t,
                    SqlType::Unknown => return Err(temporal::not_unique_function(&name, &[SqlType::Unknown])),
                    t => return Err(no_function(&name, &[t])),
                },
                // No sum or avg takes text, so an untyped literal matches none best.
                AggFunc::Min | AggFunc::Max => match argty {
                    // No min/max takes "char": text's, by the implicit cast.
                    SqlType::Unknown | SqlType::Char => SqlType::Text,
                    // PostgreSQL has no min/max over boolean or bytea.
                    t @ (SqlType::Bool | SqlType::Bytea | SqlType::Uuid | SqlType::Json | SqlType::Jsonb) => {
                        return Err(no_function(&name, &[t]))
                    }
                    // The result of min(timestamp(3)) is a timestamp (no typmod).
                    t if t.precision().is_some() => t.base(),
                    t => t,
                },
            };
            let arg = match arg {
                Some(a) if a.ty() == SqlType::Unknown && matches!(ty, SqlType::Bool | SqlType::Float8) => {
                    Some(self.coerce(a, ty, CastContext::Implicit, |_| SqlError::internal("unknown"))?)
                }
                Some(a) if a.ty() == SqlType::Unknown || a.ty() == SqlType::Char && ty == SqlType::Text => {
                    Some(self.coerce(a, SqlType::Text, CastContext::Implicit, |_| SqlError::internal("unknown"))?)
                }
                a => a,
            };
            // FILTER (WHERE ...): over the input row, no aggregates in it.
            let filter = match &f.filter {
                Some(cond) => {
                    let (saved, banned, nested) = (self.allow_aggs, self.aggs_banned_in, self.in_agg);
                    self.allow_aggs = false;
                    self.aggs_banned_in = "FILTER";
                    self.in_agg = false;
                    let b = self.expr(cond, scope).and_then(crate::expr::fold);
                    (self.allow_aggs, self.aggs_banned_in, self.in_agg) = (saved, banned, nested);
                    Some(self.bool_arg(b?, "FILTER")?)
                }
                None => None,
            };
            self.aggs.push(AggSpec { func, arg, ty, distinct, delim, order_by, filter });
            let agg = Expr::Agg(self.aggs.len() - 1, ty);
            if bytea_agg {
                return Ok(Expr::Call(
                    crate::scalar::Builtin::Text(crate::text_fns::TextFn::Decode),
                    vec![agg, Expr::Const(Datum::Text("hex".into()), SqlType::Text)],
                    SqlType::Bytea,
                ));
            }
            return Ok(match json_agg {
                Some(f) => Expr::Call(crate::scalar::Builtin::Json(f), vec![agg], f.ty()),
                None => agg,
            });
        }
        if star {
            return Err(SqlError::syntax(&name));
        }
        if distinct || !within.is_empty() || f.filter.is_some() {
            let what = if distinct {
                "DISTINCT"
            } else if within.is_empty() {
                "FILTER"
            } else {
                "ORDER BY"
            };
            return Err(SqlError::new("42809", format!("{what} specified, but {name} is not an aggregate function")));
        }
        let mut bound = Vec::new();
        let builds_json = matches!(
            name.as_str(),
            "json_build_object" | "jsonb_build_object" | "json_build_array" | "jsonb_build_array"
        );
        for a in &args {
            // A whole-row argument of json[b]_build_* is a JSON object, as to_json(t) is.
            if let (true, ast::Expr::Identifier(id)) = (builds_json, a) {
                if let Some(record) = whole_row::whole_row_record(scope, &fold(id), name.starts_with("jsonb")) {
                    bound.push(record);
                    continue;
                }
            }
            bound.push(self.expr(a, scope)?);
        }
        if let Some(e) = self.datetime_function(&name, f, &mut bound)? {
            return Ok(e);
        }
        if let Some(e) = self.json_function(&name, &mut bound)? {
            return Ok(e);
        }
        // The string functions have text parameters only: a "char" argument casts to text
        // (implicitly, as in PostgreSQL); the functions over any type (pg_typeof, format, ...)
        // see its own type.
        if CHAR_AS_TEXT_FUNCTIONS.contains(&name.as_str()) {
            for b in bound.iter_mut().filter(|b| b.ty() == SqlType::Char) {
                *b = Expr::Cast(
                    Box::new(std::mem::replace(b, Expr::Const(Datum::Null, SqlType::Text))),
                    SqlType::Text,
                    false,
                );
            }
        }
        let types: Vec<SqlType> = bound.iter().map(|b| b.ty()).collect();
        let one_text = |b: &mut Binder, mut bound: Vec<Expr>| -> Result<Vec<Expr>> {
            if bound.len() != 1 || !(types[0].is_string() || types[0] == SqlType::Unknown) {
                return Err(no_function(&name, &types));
            }
            let e = bound.remove(0);
            Ok(vec![b.coerce(e, SqlType::Text, CastContext::Implicit, |_| no_function(&name, &types))?])
        };
        Ok(match name.as_str() {
            "lower" => Expr::Func(Func::Lower, one_text(self, bound)?, SqlType::Text),
            "upper" => Expr::Func(Func::Upper, one_text(self, bound)?, SqlType::Text),
            "length" | "char_length" | "character_length" if types == [SqlType::Bytea] && name == "length" => {
                Expr::Func(Func::Length, bound, SqlType::Int4)
            }
            "length" | "char_length" | "character_length" => {
                Expr::Func(Func::Length, one_text(self, bound)?, SqlType::Int4)
            }
            "abs" if types.len() == 1 && types[0].is_numeric() => Expr::Func(Func::Abs, bound, base(types[0])),
            "coalesce" => {
                if bound.is_empty() {
                    return Err(SqlError::syntax(")"));
                }
                let ty = self.common_type(&bound, "COALESCE")?;
                let items = bound
                    .into_iter()
                    .map(|i| {
                        let it = i.ty();
                        self.coerce(i, ty, CastContext::Implicit, |_| {
                            SqlError::new(
                                code::DATATYPE_MISMATCH,
                                format!("COALESCE types {} and {} cannot be matched", ty.name(), it.name()),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let b = Expr::Coalesce(items, ty);
                self.srf_refused_in(&b, "COALESCE")?;
                b
            }
            // Its argument's type, known here (PostgreSQL's planner folds it the same way).
            "pg_typeof" if types.len() == 1 => {
                let t = SqlType::Oid(orbit_engine::table::OidKind::RegType);
                // A cast to a domain, or a column of one, is of the domain's type (expressions
                // carry the base type).
                let column_domain = |i: usize| scope.and_then(|s| s.def.columns.get(i)).map_or(0, |c| c.domain);
                let oid = match bound.first() {
                    Some(Expr::Call(crate::scalar::Builtin::DomainCheck(d), ..)) => *d,
                    Some(Expr::Column(i, _)) if column_domain(*i) != 0 => column_domain(*i),
                    // A table's row type by its shape (regtype prints the table's name).
                    _ => match types[0] {
                        SqlType::Composite(o) if !crate::composites::is_anonymous(o) => o,
                        t => t.oid(),
                    },
                };
                Expr::Const(Datum::Oid(orbit_engine::table::OidKind::RegType, oid), t)
            }
            "enum_first" | "enum_last" | "enum_range" if create_type::enum_call(&types).is_some() => {
                create_type::bind_call(&name, bound, &types)?
            }
            "version" if bound.is_empty() => Expr::Func(Func::Version, vec![], SqlType::Text),
            // psql's catalog queries: every relation Orbit has is on the search path, and the
            // only role is the bootstrap superuser (OID 10).
            "pg_table_is_visible"
                if types.len() == 1 && (types[0].is_integer() || matches!(types[0], SqlType::Oid(_))) =>
            {
                Expr::Call(crate::scalar::Builtin::TableIsVisible, bound, SqlType::Bool)
            }
            "pg_is_other_temp_schema"
                if types.len() == 1 && (types[0].is_integer() || matches!(types[0], SqlType::Oid(_))) =>
            {
                Expr::Call(crate::scalar::Builtin::IsOtherTempSchema, bound, SqlType::Bool)
            }
            "pg_my_temp_schema" if types.is_empty() => {
                let oid = crate::temp_tables::my_temp_schema_oid() as u32;
                Expr::Const(
                    Datum::Oid(orbit_engine::table::OidKind::Oid, oid),
                    SqlType::Oid(orbit_engine::table::OidKind::Oid),
                )
            }
            "format_type"
                if types.len() == 2
                    && types.iter().all(|t| t.is_integer() || matches!(t, SqlType::Unknown | SqlType::Oid(_))) =>
            {
                let mut it = bound.into_iter();
                let mut args = Vec::with_capacity(2);
                for (a, to) in it.by_ref().zip([SqlType::Int8, SqlType::Int4]) {
                    // An oid (`'t'::regtype::oid`) is the number it holds.
                    let a = if matches!(a.ty(), SqlType::Oid(_)) { Expr::Cast(Box::new(a), to, true) } else { a };
                    args.push(self.coerce(a, to, CastContext::Implicit, |_| no_function(&name, &types))?);
                }
                Expr::Call(crate::scalar::Builtin::FormatType, args, SqlType::Text)
            }
            "pg_get_constraintdef" | "pg_get_indexdef" | "pg_get_expr" => {
                let (sig, f): (&[SqlType], _) = match name.as_str() {
                    "pg_get_constraintdef" => (&[SqlType::Int8, SqlType::Bool], crate::scalar::Builtin::ConstraintDef),
                    "pg_get_indexdef" => {
                        (&[SqlType::Int8, SqlType::Int4, SqlType::Bool], crate::scalar::Builtin::IndexDef)
                    }
                    _ => (&[SqlType::Text, SqlType::Int8, SqlType::Bool], crate::scalar::Builtin::GetExpr),
                };
                // (oid [, pretty]), (oid [, column, pretty]), (expr, relation [, pretty]).
                let arities: &[usize] = match f {
                    crate::scalar::Builtin::ConstraintDef => &[1, 2],
                    crate::scalar::Builtin::IndexDef => &[1, 3],
                    _ => &[2, 3],
                };
                if !arities.contains(&bound.len()) {
                    return Err(no_function(&name, &types));
                }
                let mut args = Vec::with_capacity(bound.len());
                for (a, to) in bound.into_iter().zip(sig) {
                    // An OID alias (`'i'::regclass`) is an oid, as the functions take.
                    let how = match a.ty() {
                        SqlType::Oid(_) => CastContext::Explicit,
                        _ => CastContext::Implicit,
                    };
                    args.push(self.coerce(a, *to, how, |_| no_function(&name, &types))?);
                }
                Expr::Call(f, args, SqlType::Text)
            }
            "satisfies_hash_partition" if types.len() >= 4 => {
                let mut args = Vec::with_capacity(bound.len());
                for (i, a) in bound.into_iter().enumerate() {
                    let to = match i {
                        0 => SqlType::Oid(OidKind::Oid),
                        1 | 2 => SqlType::Int4,
                        _ => {
                            args.push(a);
                            continue;
                        }
                    };
                    args.push(self.coerce(a, to, CastContext::Implicit, |_| no_function(&name, &types))?);
                }
                Expr::Call(crate::scalar::Builtin::SatisfiesHashPartition, args, SqlType::Bool)
            }
            "pg_get_partkeydef" | "pg_get_partition_constraintdef" if types.len() == 1 => {
                let arg = bound.into_iter().next().ok_or_else(|| no_function(&name, &types))?;
                let to = SqlType::Oid(OidKind::Oid);
                let arg = self.coerce(arg, to, CastContext::Implicit, |_| no_function(&name, &types))?;
                let f = if name == "pg_get_partkeydef" {
                    crate::scalar::Builtin::PartKeyDef
                } else {
                    crate::scalar::Builtin::PartConstraintDef
                };
                Expr::Call(f, vec![arg], SqlType::Text)
            }
            "pg_relation_is_publishable" if types.len() == 1 => {
                let arg = bound.into_iter().next().ok_or_else(|| no_function(&name, &types))?;
                let to = SqlType::Oid(OidKind::RegClass);
                let arg = self.coerce(arg, to, CastContext::Implicit, |_| no_function(&name, &types))?;
                Expr::Call(crate::scalar::Builtin::RelationIsPublishable, vec![arg], SqlType::Bool)
            }
            // pg_proc lists the SQL functions CREATE FUNCTION made (Orbit's built-in ones are
            // not catalog objects): these read NULL for every other OID, as PostgreSQL's do for
            // an OID no function has (psql's `\df`).
            "pg_function_is_visible"
            | "pg_get_function_result"
            | "pg_get_function_arguments"
            | "pg_get_function_identity_arguments"
            | "pg_get_functiondef"
                if types.len() == 1 =>
            {
                use crate::functions_sql::InfoFn;
                let (kind, ty) = match name.as_str() {
                    "pg_function_is_visible" => (InfoFn::Visible, SqlType::Bool),
                    "pg_get_function_result" => (InfoFn::Result, SqlType::Text),
                    "pg_get_function_arguments" => (InfoFn::Arguments, SqlType::Text),
                    "pg_get_function_identity_arguments" => (InfoFn::IdentityArguments, SqlType::Text),
                    _ => (InfoFn::Def, SqlType::Text),
                };
                let arg = bound.into_iter().next().ok_or_else(|| no_function(&name, &types))?;
                let arg = self
                    .coerce(arg, SqlType::Oid(OidKind::Oid), CastContext::Implicit, |_| no_function(&name, &types))?;
                Expr::Call(crate::scalar::Builtin::FunctionInfo(kind), vec![arg], ty)
            }
            "pg_get_triggerdef" if matches!(bound.len(), 1 | 2) => {
                let sig = [SqlType::Oid(OidKind::Oid), SqlType::Bool];
                let mut args = Vec::new();
                for (a, to) in bound.into_iter().zip(sig) {
                    args.push(self.coerce(a, to, CastContext::Implicit, |_| no_function(&name, &types))?);
                }
                Expr::Call(crate::scalar::Builtin::TriggerDef, args, SqlType::Text)
            }
            // Orbit has no extended statistics objects: for every object this reads NULL, as
            // PostgreSQL's does for objects without them. (The description functions:
            // bind/privileges.rs.)
            "pg_get_statisticsobjdef_columns"
            // A SQL function's body is kept as its text (prosrc), never as a parsed
            // SQL-standard body: NULL, as PostgreSQL's for such a function.
            | "pg_get_function_sqlbody" => {
                let sig: &[SqlType] = &[SqlType::Oid(OidKind::Oid)];
                if bound.len() != sig.len() {
                    return Err(no_function(&name, &types));
                }
                for (a, to) in bound.into_iter().zip(sig) {
                    self.coerce(a, *to, CastContext::Implicit, |_| no_function(&name, &types))?;
                }
                Expr::Const(Datum::Null, SqlType::Text)
            }
            "to_regclass" | "to_regtype" | "to_regnamespace" if types.len() == 1 => {
                use orbit_engine::table::OidKind;
                let kind = match name.as_str() {
                    "to_regclass" => OidKind::RegClass,
                    "to_regtype" => OidKind::RegType,
                    _ => OidKind::RegNamespace,
                };
                let arg = bound.into_iter().next().ok_or_else(|| no_function(&name, &types))?;
                let arg = self.coerce(arg, SqlType::Text, CastContext::Implicit, |_| no_function(&name, &types))?;
                Expr::Call(crate::scalar::Builtin::ToReg(kind), vec![arg], SqlType::Oid(kind))
            }
            "pg_backend_pid" if types.is_empty() => {
                Expr::Const(Datum::Int4(crate::catalog::binding_pid()), SqlType::Int4)
            }
            "pg_get_userbyid" if types.len() == 1 && types[0].is_integer() => {
                Expr::Call(crate::scalar::Builtin::UserById, bound, SqlType::Text)
            }
            "current_schema" | "current_schemas" => schema::function(&name, bound, &types)?,
            "obj_description" if bound.len() == 2 => self.obj_description(bound, &types)?,
            "current_database" if bound.is_empty() => Expr::Func(Func::CurrentDatabase, vec![], SqlType::Text),
            n if sizes::is_size_function(n) => self.size_function(n, bound, &types)?,
            // pg_encoding_to_char(int): Orbit's one encoding, UTF8 (6); other numbers as
            // PostgreSQL names them would need its table of encodings: '' (its answer for an
            // invalid one) only for a number no encoding has.
            "pg_encoding_to_char" if types.len() == 1 && types[0].is_integer() => {
                let arg = bound.into_iter().next().ok_or_else(|| no_function(&name, &types))?;
                let arg = self.coerce(arg, SqlType::Int4, CastContext::Implicit, |_| no_function(&name, &types))?;
                Expr::Call(
                    crate::scalar::Builtin::Catalog(crate::catalog_fns::CatalogFn::EncodingName),
                    vec![arg],
                    SqlType::Text,
                )
            }
            // A serving Orbit is never a standby replaying a primary's log.
            "pg_is_in_recovery" if bound.is_empty() => Expr::Const(Datum::Bool(false), SqlType::Bool),
            // Orbit compiles nothing: it answers as a PostgreSQL built without LLVM
            // (crate::settings, `jit`).
            "pg_jit_available" if bound.is_empty() => Expr::Const(Datum::Bool(false), SqlType::Bool),
            "current_user" | "session_user" | "user" if matches!(f.args, ast::FunctionArguments::None) => {
                Expr::Func(Func::CurrentUser, vec![], SqlType::Text)
            }
            _ => return self.scalar_function(&name, bound, &types),
        })
    }
}

impl Binder<'_> {
    /// A call of an extension's function ([`crate::extensions`]): 42883 unless the extension
    /// is installed in the schema the call names (or one on the search path); None for a
    /// function of no extension.
    fn extension_call(&mut self, f: &ast::Function, name: &str, scope: Option<&Scope>) -> Result<Option<Expr>> {
        let qualifier = match f.name.0.as_slice() {
            [_] => None,
            [s, _] => s.as_ident().map(fold),
            _ => return Ok(None),
        };
        let Some(callable) = crate::extensions::function_callable(name, qualifier.as_deref()) else {
            return Ok(None);
        };
        let Some(u) = crate::uuid_ossp::UuidFn::of_name(name) else { return Ok(None) };
        let args = plain_args(f).unwrap_or_default();
        let mut bound = Vec::with_capacity(args.len());
        for a in &args {
            bound.push(self.expr(a, scope)?);
        }
        let types: Vec<SqlType> = bound.iter().map(|b| b.ty()).collect();
        let shown = match &qualifier {
            Some(q) => format!("{q}.{name}"),
            None => name.to_string(),
        };
        let at = f.name.0.first().and_then(|p| p.as_ident()).and_then(|i| self.pos(&i.span));
        let missing = || no_function(&shown, &types).at(at);
        if !callable || bound.len() != u.arity() || plain_args(f).is_none() {
            return Err(missing());
        }
        if u.arity() == 2 {
            let mut it = bound.into_iter();
            let (ns, text) = (it.next().expect("two"), it.next().expect("two"));
            let ns_ok = matches!(types[0], SqlType::Uuid | SqlType::Unknown);
            let text_ok = types[1].is_string() || types[1] == SqlType::Unknown;
            if !ns_ok || !text_ok {
                return Err(missing());
            }
            let ns = self.coerce(ns, SqlType::Uuid, types::CastContext::Implicit, |_| missing())?;
            let text = self.coerce(text, SqlType::Text, types::CastContext::Implicit, |_| missing())?;
            return Ok(Some(Expr::Func(Func::Uuid(u), vec![ns, text], SqlType::Uuid)));
        }
        Ok(Some(Expr::Func(Func::Uuid(u), vec![], SqlType::Uuid)))
    }
}

/// Whether `e` calls a volatile function (one that may answer differently each call).
fn calls_volatile(e: &ast::Expr) -> bool {
    const VOLATILE: &[&str] = &[
        "nextval",
        "setval",
        "random",
        "gen_random_uuid",
        "clock_timestamp",
        "timeofday",
        "set_config",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
    ];
    let mut found = false;
    let _ = ast::visit_expressions(e, |x| {
        if let ast::Expr::Function(f) = x {
            let name = f.name.0.last().map(|p| p.to_string().to_ascii_lowercase()).unwrap_or_default();
            found |= VOLATILE.contains(&name.as_str());
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    found
}

/// A call's arguments when they are all plain expressions (no names, `*`, DISTINCT, ORDER BY
/// or other clauses); None otherwise.
fn plain_args(f: &ast::Function) -> Option<Vec<&ast::Expr>> {
    let ast::FunctionArguments::List(l) = &f.args else { return None };
    if !l.clauses.is_empty() || l.duplicate_treatment.is_some() {
        return None;
    }
    l.args
        .iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

fn no_function(name: &str, types: &[SqlType]) -> SqlError {
    let args: Vec<String> = types.iter().map(|t| base(*t).name()).collect();
    SqlError::new(code::UNDEFINED_FUNCTION, format!("function {name}({}) does not exist", args.join(", ")))
        .hint("No function matches the given name and argument types. You might need to add explicit type casts.")
}

/// A numeric literal as PostgreSQL's numeric prints it: positional, with as many fraction
/// digits as the literal's scale (`1e2` is 100, `.5` is 0.5, `1.50` is 1.50, `1.5e-1` is
/// 0.15). A literal that does not parse, or has an exponent past 1000, is kept as written.
pub(crate) fn numeric_text(n: &str) -> String {
    let (mantissa, exp) = match n.split_once(['e', 'E']) {
        Some((m, e)) => match e.parse::<i64>() {
            Ok(e) if e.abs() <= 1000 => (m, e),
            _ => return n.to_string(),
        },
        None => (n, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit())) {
        return n.to_string();
    }
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + exp;
    let scale = (frac.len() as i64 - exp).max(0) as usize;
    let (whole, fraction) = if point <= 0 {
        (String::new(), format!("{}{digits}", "0".repeat((-point) as usize)))
    } else if point as usize >= digits.len() {
        (format!("{digits}{}", "0".repeat(point as usize - digits.len())), String::new())
    } else {
        (digits[..point as usize].to_string(), digits[point as usize..].to_string())
    };
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let mut fraction = fraction;
    fraction.truncate(scale);
    while fraction.len() < scale {
        fraction.push('0');
    }
    if scale == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// PostgreSQL quotes a column name in messages as `"x"`, and a qualified one as `t.x`.
fn quote_column(name: &str) -> String {
    if name.contains('.') {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

fn retype(e: Expr, to: SqlType) -> Expr {
    match e {
        Expr::Column(i, _) => Expr::Column(i, to),
        Expr::Const(d, _) => Expr::Const(d, to),
        Expr::Param(i, _) => Expr::Param(i, to),
        other => Expr::Cast(Box::new(other), to, false),
    }
}

/// SERIAL types: the integer type behind them.
fn serial_type(dt: &ast::DataType) -> Option<SqlType> {
    let ast::DataType::Custom(name, mods) = dt else { return None };
    if !mods.is_empty() {
        return None;
    }
    match name.to_string().to_ascii_lowercase().as_str() {
        "serial" | "serial4" => Some(SqlType::Int4),
        "bigserial" | "serial8" => Some(SqlType::Int8),
        "smallserial" | "serial2" => Some(SqlType::Int2),
        _ => None,
    }
}

/// A transaction's modes: READ ONLY / READ WRITE, and the isolation level (READ UNCOMMITTED
/// runs as READ COMMITTED, as in PostgreSQL, under its own name; SERIALIZABLE:
/// `crate::serializable`).
/// A modes list's access mode, isolation level and DEFERRABLE (one SNAPSHOT marker each
/// `DEFERRABLE`, two each `NOT DEFERRABLE`: `serializable::deferrable_syntax`), each None where
/// not given; the last of a kind wins, as in PostgreSQL (for DEFERRABLE only when the list
/// does not name both DEFERRABLE and NOT DEFERRABLE one right after the other).
type Modes = (Option<bool>, Option<crate::txn::Isolation>, Option<bool>);

fn transaction_modes(modes: &[ast::TransactionMode]) -> Result<Modes> {
    use crate::txn::Isolation;
    let (mut read_only, mut isolation, mut deferrable) = (None, None, None);
    let mut markers = modes.iter().peekable();
    let snapshot = |m: &ast::TransactionMode| {
        matches!(m, ast::TransactionMode::IsolationLevel(ast::TransactionIsolationLevel::Snapshot))
    };
    while let Some(m) = markers.next() {
        if snapshot(m) {
            let negated = markers.next_if(|m| snapshot(m)).is_some();
            deferrable = Some(!negated);
            continue;
        }
        match m {
            ast::TransactionMode::AccessMode(a) => read_only = Some(matches!(a, ast::TransactionAccessMode::ReadOnly)),
            ast::TransactionMode::IsolationLevel(l) => {
                isolation = Some(match l {
                    ast::TransactionIsolationLevel::ReadCommitted => Isolation::ReadCommitted,
                    ast::TransactionIsolationLevel::ReadUncommitted => Isolation::ReadUncommitted,
                    ast::TransactionIsolationLevel::RepeatableRead => Isolation::RepeatableRead,
                    ast::TransactionIsolationLevel::Serializable => Isolation::Serializable,
                    l => {
                        return Err(SqlError::unsupported(format!(
                            "isolation level {l} is not supported (PostgreSQL's four levels are)"
                        )))
                    }
                })
            }
        }
    }
    Ok((read_only, isolation, deferrable))
}

/// One word of a SET value as PostgreSQL reads it: a string, a number, or a name (folded to
/// lower case unless quoted); None for `DEFAULT`.
/// The parameter `RESET name` / `SET name TO DEFAULT` sets back (a custom one is made empty,
/// as PostgreSQL makes its placeholder).
fn setting_to_reset(name: &str) -> Result<&'static str> {
    match crate::settings::canonical(name) {
        Some(canon) => {
            crate::settings::check_resettable(canon)?;
            Ok(canon)
        }
        None => crate::settings::custom(name),
    }
}

fn set_word(e: &ast::Expr) -> Result<Option<String>> {
    use ast::Value as V;
    Ok(Some(match e {
        ast::Expr::Value(v) => match &v.value {
            V::SingleQuotedString(t) | V::EscapedStringLiteral(t) => t.clone(),
            V::Number(n, _) => n.to_string(),
            V::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
            other => other.to_string(),
        },
        ast::Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default") => {
            return Ok(None)
        }
        ast::Expr::Identifier(id) => fold(id),
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => match set_word(expr)? {
            Some(w) => format!("-{w}"),
            None => return Err(SqlError::syntax("DEFAULT")),
        },
        other => return Err(SqlError::syntax(&other.to_string())),
    }))
}

fn is_default_keyword(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
}

/// If `filter` pins every primary-key column to a value that does not depend on the row
/// (`id = 5 AND ...`), those values in key order: the statement then touches one shard. Only
/// when the value's type is of the column's kind (an integer column compared with an integer),
/// so that the encoded key equals the stored one.
pub fn pk_lookup(filter: &Expr, def: &TableDef) -> Option<Vec<Expr>> {
    if def.pk.is_empty() {
        // Keyed by a hidden row id no filter can name.
        return None;
    }
    let eq = equalities(filter, def);
    def.pk.iter().map(|col| eq.iter().find(|(c, _)| c == col).map(|(_, v)| v.clone())).collect()
}

/// The `column = value` conjuncts of a filter whose value does not depend on the row and
/// encodes as the column's values do (a key or index lookup can use them): (column, value).
pub fn equalities(filter: &Expr, def: &TableDef) -> Vec<(usize, Expr)> {
    let mut conj = Vec::new();
    fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        match e {
            Expr::And(a, b) => {
                walk(a, out);
                walk(b, out)
            }
            other => out.push(other),
        }
    }
    walk(filter, &mut conj);
    let same_kind = |a: SqlType, b: SqlType| {
        (a.is_integer() && b.is_integer())
            || (a.is_float() && b.is_float())
            || (a.is_string() && b.is_string())
            || a == b
    };
    conj.iter()
        .filter_map(|c| match c {
            Expr::Cmp(CmpOp::Eq, a, b) => match (a.as_ref(), b.as_ref()) {
                (Expr::Column(i, _), v) | (v, Expr::Column(i, _))
                    if v.is_row_independent() && def.columns.get(*i).is_some_and(|c| same_kind(v.ty(), c.ty)) =>
                {
                    Some((*i, v.clone()))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::numeric_text;

    #[test]
    fn numeric_literals_print_as_postgresql_numeric() {
        // From PostgreSQL 15: SELECT 1e2, .5, 1., 1.50, 1.5e-1, 1.50e1, 0.000, 12e-5, 007.10;
        for (lit, want) in [
            ("1e2", "100"),
            (".5", "0.5"),
            ("1.", "1"),
            ("1.50", "1.50"),
            ("1.5e-1", "0.15"),
            ("1.50e1", "15.0"),
            ("0.000", "0.000"),
            ("12e-5", "0.00012"),
            ("007.10", "7.10"),
            ("1E+3", "1000"),
        ] {
            assert_eq!(numeric_text(lit), want, "{lit}");
        }
        assert_eq!(numeric_text("1e5000"), "1e5000");
    }
}
