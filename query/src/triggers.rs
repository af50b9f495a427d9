//! Triggers (`CREATE TRIGGER ... EXECUTE FUNCTION f(args)`, PostgreSQL's trigger.c): row-
//! and statement-level, BEFORE and AFTER, on INSERT, UPDATE [OF columns] and DELETE of a
//! table, with a WHEN condition; their functions are PL/pgSQL `RETURNS trigger` functions
//! ([`crate::plpgsql::fire`]).
//!
//! A trigger is a catalog entry as a function is ([`crate::catalog_types`]): a [`TableDef`]
//! named `\u{b}<table>\u{1f}<trigger>` on every shard, created and dropped through the same
//! log records, DDL steps and ROLLBACK undo (`exec/triggers.rs`); its one CHECK [`DEF`] holds
//! what it does ([`Trigger::to_def`]). DROP TABLE drops its table's triggers.
//!
//! Every write fires them on the coordinator, which holds each changed row: INSERT (VALUES,
//! a query, ON CONFLICT: BEFORE INSERT on each proposed row, then DO UPDATE's BEFORE UPDATE on
//! each row it updates, and both kinds' statement triggers), UPDATE and DELETE (WHERE, WHERE
//! CURRENT OF, FROM / USING), MERGE (the triggers of each action a clause takes, row by row in
//! the source's order), COPY FROM (statement triggers around the whole COPY, row triggers per
//! batch) and foreign key actions (the child's triggers, its statement triggers once per
//! action where PostgreSQL's RI queries fire them once per referenced row). BEFORE ROW
//! triggers run on each row before its generated columns and checks (a NULL result skips the
//! row, a changed NEW is what is written), AFTER ROW triggers on each written row once all
//! are written (PostgreSQL queues them to the statement's end too), in the order of the rows;
//! statement triggers once before and once after. Triggers of one event and timing fire in
//! name order. RENAME and SET SCHEMA of a table move its triggers; ALTER TRIGGER renames one.
//! ALTER TABLE ... ENABLE [ALWAYS | REPLICA] / DISABLE TRIGGER sets pg_trigger.tgenabled,
//! which `session_replication_role` is checked against as PostgreSQL does; `ALL` names the
//! same triggers as `USER` (Orbit's foreign keys are not triggers and stay checked).
//! information_schema.triggers lists them. RENAME COLUMN renames the column in UPDATE OF and
//! WHEN; DROP COLUMN of a column a trigger names is 2BP01 (CASCADE drops the trigger).
//!
//! A view takes statement triggers and INSTEAD OF row triggers: an INSERT, UPDATE or DELETE
//! of a view with INSTEAD OF triggers of its event hands each row (INSERT's computed rows;
//! UPDATE's and DELETE's the view's rows WHERE picks, its query run now, with UPDATE's new
//! values) to them instead of writing through the view ([`Fired::instead_rows`]): the rows
//! they return are the statement's count and what RETURNING reads. TRUNCATE fires its own
//! statement triggers (before any table is emptied, after all are), not DELETE's. Not built:
//! transition tables (REFERENCING), constraint triggers, triggers on partitioned tables,
//! UPDATE ... FROM / DELETE ... USING / WHERE CURRENT OF on a view with INSTEAD OF triggers.

use crate::error::{Result, SqlError};
use crate::txn::Txn;
use orbit_engine::table::{CheckDef, Datum, Row, SqlType, TableDef};
use std::rc::Rc;
use std::sync::Arc;

/// The first character of a trigger's catalog entry.
pub const MARK: char = '\u{b}';

/// Between the table's and the trigger's names in the entry's name (not `\u{1}`, which
/// marks what DROP hides until COMMIT).
const SEP: char = '\u{1f}';

/// The CHECK holding the trigger's definition.
pub const DEF: &str = "trigger";

/// pg_type's OID of `trigger` (a function's result type).
pub const TRIGGER_TYPE_OID: u32 = 2279;

/// The events (pg_trigger.tgtype's bits).
pub const INSERT: u8 = 1 << 2;
pub const DELETE: u8 = 1 << 3;
pub const UPDATE: u8 = 1 << 4;
pub const TRUNCATE: u8 = 1 << 5;

/// Whether a catalog name is a trigger's entry.
pub fn is_entry(name: &str) -> bool {
    name.starts_with(MARK)
}

/// One trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub oid: u32,
    pub name: String,
    /// Its table's catalog name.
    pub table: String,
    /// BEFORE (else AFTER, or INSTEAD OF when `instead`).
    pub before: bool,
    /// INSTEAD OF (a view's row trigger, run in place of the write).
    pub instead: bool,
    /// INSERT | UPDATE | DELETE bits.
    pub events: u8,
    /// FOR EACH ROW (else STATEMENT).
    pub row: bool,
    /// The function's OID.
    pub function: u32,
    /// `UPDATE OF` columns.
    pub columns: Vec<String>,
    /// The WHEN condition's text.
    pub when: Option<String>,
    pub args: Vec<String>,
    /// pg_trigger.tgenabled: 'O' fires in origin (default) sessions, 'R' in replica ones
    /// (session_replication_role), 'A' always, 'D' never (ALTER TABLE ... ENABLE / DISABLE).
    pub enabled: char,
}

impl Trigger {
    /// The catalog entry's name of trigger `name` on `table`.
    pub fn entry_name(table: &str, name: &str) -> String {
        format!("{MARK}{table}{SEP}{name}")
    }

    /// The trigger a catalog entry describes.
    pub fn of_def(def: &TableDef) -> Option<Trigger> {
        let rest = def.name.strip_prefix(MARK)?;
        let (table, name) = rest.split_once(SEP)?;
        let text = &def.checks.iter().find(|c| c.name == DEF)?.expr;
        let f: Vec<&str> = text.split('\u{1}').collect();
        let [before, events, row, function, columns, when, args, rest @ ..] = f.as_slice() else { return None };
        let list = |s: &str| if s.is_empty() { Vec::new() } else { s.split('\u{2}').map(str::to_string).collect() };
        Some(Trigger {
            oid: crate::catalog_types::type_oid(def)?,
            name: name.to_string(),
            table: table.to_string(),
            before: *before == "b",
            instead: *before == "i",
            events: events.parse().ok()?,
            row: *row == "r",
            function: function.parse().ok()?,
            columns: list(columns),
            when: when.strip_prefix('w').map(str::to_string),
            args: list(args),
            enabled: rest.first().and_then(|e| e.chars().next()).unwrap_or('O'),
        })
    }

    /// Its catalog entry (the relation OID is given when it is created).
    pub fn to_def(&self) -> TableDef {
        let text = [
            if self.instead {
                "i"
            } else if self.before {
                "b"
            } else {
                "a"
            }
            .to_string(),
            self.events.to_string(),
            if self.row { "r" } else { "s" }.to_string(),
            self.function.to_string(),
            self.columns.join("\u{2}"),
            self.when.as_ref().map_or(String::new(), |w| format!("w{w}")),
            self.args.join("\u{2}"),
            self.enabled.to_string(),
        ]
        .join("\u{1}");
        TableDef {
            name: Self::entry_name(&self.table, &self.name),
            columns: vec![],
            pk_name: if self.oid == 0 { String::new() } else { self.oid.to_string() },
            checks: vec![CheckDef::new(DEF, text)],
            ..TableDef::default_empty()
        }
    }

    /// BEFORE, AFTER or INSTEAD OF.
    pub fn timing(&self) -> &'static str {
        if self.instead {
            "INSTEAD OF"
        } else if self.before {
            "BEFORE"
        } else {
            "AFTER"
        }
    }

    /// pg_trigger.tgtype: ROW (1), BEFORE (2), the event bits and INSTEAD (64).
    pub fn tgtype(&self) -> i16 {
        (self.row as i16) | ((self.before as i16) << 1) | self.events as i16 | ((self.instead as i16) << 6)
    }

    /// The WHEN condition as PostgreSQL prints it (every operation in parentheses, or with
    /// `pretty` only those precedence needs).
    pub fn when_text(&self, pretty: bool) -> Option<String> {
        let w = self.when.as_ref()?;
        Some(match crate::bind::lookup_table(&self.table) {
            Some(def) => crate::bind::index_exprs::pg_text(&def, w, pretty),
            None => w.clone(),
        })
    }

    /// pg_get_triggerdef's text (`pretty`: the table's name unqualified where the search path
    /// finds it, the WHEN condition in one pair of parentheses).
    pub fn definition(&self, pretty: bool) -> String {
        let mut events = Vec::new();
        if self.events & INSERT != 0 {
            events.push("INSERT".to_string());
        }
        if self.events & DELETE != 0 {
            events.push("DELETE".to_string());
        }
        if self.events & UPDATE != 0 {
            let cols: Vec<String> = self.columns.iter().map(|c| crate::regtypes::quote_ident(c)).collect();
            events.push(if cols.is_empty() { "UPDATE".into() } else { format!("UPDATE OF {}", cols.join(", ")) });
        }
        if self.events & TRUNCATE != 0 {
            events.push("TRUNCATE".to_string());
        }
        let func = crate::functions_sql::by_oid(self.function).map_or_else(
            || self.function.to_string(),
            |f| {
                let (schema, name) = crate::schema::split(&f.name);
                if crate::schema::path().iter().any(|s| s == schema) {
                    crate::regtypes::quote_ident(name)
                } else {
                    format!("{}.{}", crate::regtypes::quote_ident(schema), crate::regtypes::quote_ident(name))
                }
            },
        );
        let args: Vec<String> = self.args.iter().map(|a| format!("'{}'", a.replace('\'', "''"))).collect();
        let (schema, relname) = crate::schema::split(&self.table);
        let table = if pretty {
            crate::schema::shown(&self.table)
        } else {
            format!("{}.{}", crate::regtypes::quote_ident(schema), crate::regtypes::quote_ident(relname))
        };
        let mut out = format!(
            "CREATE TRIGGER {} {} {} ON {table} FOR EACH {}",
            crate::regtypes::quote_ident(&self.name),
            self.timing(),
            events.join(" OR "),
            if self.row { "ROW" } else { "STATEMENT" }
        );
        if let Some(w) = self.when_text(pretty) {
            out.push_str(&format!(" WHEN ({w})"));
        }
        out.push_str(&format!(" EXECUTE FUNCTION {func}({})", args.join(", ")));
        out
    }
}

/// The triggers of table `table` (its catalog name), as the local catalog copy has them, in
/// name order.
pub fn of_table(table: &str) -> Vec<Arc<Trigger>> {
    if !any_triggers().0 {
        return Vec::new();
    }
    crate::catalog_types::bound_with_prefix(&format!("{MARK}{table}{SEP}"))
        .iter()
        .filter_map(|d| Trigger::of_def(d).map(Arc::new))
        .collect()
}

/// Every trigger in the local catalog copy (pg_trigger's rows), in OID order.
pub fn all() -> Vec<Arc<Trigger>> {
    let mut out: Vec<Arc<Trigger>> = crate::catalog_types::local_with_prefix(&MARK.to_string())
        .unwrap_or_default()
        .iter()
        .filter_map(|d| Trigger::of_def(d).map(Arc::new))
        .collect();
    out.sort_by_key(|t| t.oid);
    out
}

thread_local! {
    /// The triggers the last look-up saw, for threads whose shard state is borrowed further
    /// up when a row is evaluated.
    static LAST: std::cell::RefCell<Vec<Arc<Trigger>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// pg_get_triggerdef(oid [, pretty]): NULL for an OID no trigger has.
pub fn definition_of(oid: Option<i64>, pretty: bool) -> Datum {
    let all = match orbit_shards::state::try_with_shard(|_| ()) {
        Some(()) => {
            let all = all();
            LAST.with(|l| *l.borrow_mut() = all.clone());
            all
        }
        None => LAST.with(|l| l.borrow().clone()),
    };
    match all.iter().find(|t| Some(t.oid as i64) == oid) {
        Some(t) => Datum::Text(t.definition(pretty)),
        None => Datum::Null,
    }
}

/// pg_trigger's rows.
pub fn catalog_rows() -> Vec<Row> {
    all()
        .iter()
        .map(|t| {
            let table = crate::bind::lookup_table(&t.table);
            let attrs: Vec<Datum> = t
                .columns
                .iter()
                .filter_map(|c| table.as_ref()?.columns.iter().position(|x| &x.name == c))
                .map(|i| Datum::Int2(i as i16 + 1))
                .collect();
            let mut args = Vec::new();
            for a in &t.args {
                args.extend_from_slice(a.as_bytes());
                args.push(0);
            }
            vec![
                Datum::Int8(t.oid as i64),
                Datum::Int8(table.map_or(0, |d| d.oid as i64)),
                Datum::Int8(0),
                Datum::Text(t.name.clone()),
                Datum::Text(t.enabled.to_string()),
                Datum::Bool(false),
                Datum::Int2(t.tgtype()),
                Datum::Int8(0),
                Datum::Int8(0),
                Datum::Int8(0),
                Datum::Bool(false),
                Datum::Bool(false),
                Datum::Int2(t.args.len() as i16),
                crate::stats::value_array(&attrs),
                Datum::Bytea(args),
                Datum::Null,
                Datum::Null,
                Datum::Null,
                Datum::Int8(2620),
                Datum::Int8(t.function as i64),
            ]
        })
        .collect()
}

/// information_schema.triggers: a row per trigger and event (INSERT, DELETE, UPDATE), with
/// its place among the triggers of its table, event, level and timing (action_order, by
/// name), its WHEN condition and its EXECUTE FUNCTION clause as pg_get_triggerdef prints them.
pub fn information_schema_rows() -> Vec<Row> {
    let text = |s: &str| Datum::Text(s.to_string());
    let all = all();
    let mut out = Vec::new();
    for t in &all {
        let (schema, table) = crate::schema::split(&t.table);
        // (TRUNCATE triggers are not listed: the SQL standard has none.)
        for (bit, event) in [(INSERT, "INSERT"), (DELETE, "DELETE"), (UPDATE, "UPDATE")] {
            if t.events & bit == 0 {
                continue;
            }
            let order = 1 + all
                .iter()
                .filter(|o| {
                    o.table == t.table
                        && o.events & bit != 0
                        && o.row == t.row
                        && o.before == t.before
                        && o.instead == t.instead
                        && o.name < t.name
                })
                .count();
            let def = t.definition(false);
            let statement = def.find(" EXECUTE FUNCTION ").map_or(String::new(), |at| def[at + 1..].to_string());
            out.push(vec![
                text("postgres"),
                text(schema),
                text(&t.name),
                text(event),
                text("postgres"),
                text(schema),
                text(table),
                Datum::Int4(order as i32),
                t.when_text(false).map_or(Datum::Null, Datum::Text),
                Datum::Text(statement),
                text(if t.row { "ROW" } else { "STATEMENT" }),
                text(t.timing()),
                Datum::Null,
                Datum::Null,
                Datum::Null,
                Datum::Null,
                Datum::Null,
            ]);
        }
    }
    out
}

/// The triggers of `table` (by name) that name column `column`: in UPDATE OF, or as
/// `NEW.column` / `OLD.column` in WHEN (PostgreSQL's dependencies on the column).
pub fn column_users(table: &str, column: &str) -> Vec<String> {
    let names = |w: &str| {
        let Ok(t) = crate::plpgsql::scan::tokens(w) else { return false };
        t.windows(3).any(|x| (x[0].is("new") || x[0].is("old")) && x[1].is_op(".") && x[2].word() == Some(column))
    };
    of_table(table)
        .iter()
        .filter(|t| t.columns.iter().any(|c| c == column) || t.when.as_deref().is_some_and(names))
        .map(|t| t.name.clone())
        .collect()
}

/// Whether `table` is a user's view (INSTEAD OF triggers write through it).
pub fn is_view(table: &TableDef) -> bool {
    table.view.is_some() && table.partition_of.is_none() && table.matview.is_none()
}

/// Whether view `table` has INSTEAD OF triggers of `op` (then the write runs them instead of
/// going through to the view's base relation).
pub fn has_instead(table: &TableDef, op: Op) -> bool {
    any_instead() && is_view(table) && of_table(&table.name).iter().any(|t| t.instead && t.events & op.bit() != 0)
}

/// Whether any trigger, and any INSTEAD OF trigger, exists in the local catalog copy (a
/// superset of what the binder sees; both true where it cannot be read now): a statement
/// looks its table's up only then. Kept per thread while the catalog stays as it was.
fn any_triggers() -> (bool, bool) {
    thread_local! {
        static ANY: std::cell::Cell<Option<(u64, (bool, bool))>> = const { std::cell::Cell::new(None) };
    }
    let version = orbit_engine::table::catalog_version();
    if let Some((at, any)) = ANY.with(|a| a.get()) {
        if at == version {
            return any;
        }
    }
    let Some(defs) = crate::catalog_types::local_with_prefix(&MARK.to_string()) else { return (true, true) };
    let any = (!defs.is_empty(), defs.iter().filter_map(|d| Trigger::of_def(d)).any(|t| t.instead));
    ANY.with(|a| a.set(Some((version, any))));
    any
}

/// Whether any INSTEAD OF trigger may exist (see [`any_triggers`]).
pub fn any_instead() -> bool {
    any_triggers().1
}

/// Which triggers a statement fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
    Delete,
    Truncate,
}

impl Op {
    fn bit(self) -> u8 {
        match self {
            Op::Insert => INSERT,
            Op::Update => UPDATE,
            Op::Delete => DELETE,
            Op::Truncate => TRUNCATE,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Op::Insert => "INSERT",
            Op::Update => "UPDATE",
            Op::Delete => "DELETE",
            Op::Truncate => "TRUNCATE",
        }
    }
}

/// The triggers a statement of `op` on `table` fires; `set` the columns an UPDATE assigns.
pub struct Fired {
    table: Arc<TableDef>,
    op: Op,
    triggers: Vec<Arc<Trigger>>,
    columns: Rc<Vec<(String, SqlType)>>,
}

impl Fired {
    /// The triggers of `table` for `op` (None when it has none: nothing to do per row).
    pub fn of(table: &Arc<TableDef>, op: Op, set: &[usize]) -> Option<Fired> {
        let triggers: Vec<Arc<Trigger>> = of_table(&table.name)
            .into_iter()
            .filter(|t| t.events & op.bit() != 0 && t.enabled != 'D')
            .filter(|t| {
                op != Op::Update
                    || t.columns.is_empty()
                    || t.columns.iter().any(|c| set.iter().any(|&i| table.columns.get(i).is_some_and(|x| &x.name == c)))
            })
            .collect();
        if triggers.is_empty() {
            return None;
        }
        let columns = Rc::new(table.columns.iter().map(|c| (c.name.clone(), c.ty)).collect());
        Some(Fired { table: table.clone(), op, triggers, columns })
    }

    /// Whether any row-level trigger fires.
    pub fn has_row_triggers(&self) -> bool {
        self.triggers.iter().any(|t| t.row)
    }

    async fn run(
        &self,
        txn: &mut Txn,
        t: &Trigger,
        new: Option<Vec<Datum>>,
        old: Option<Vec<Datum>>,
    ) -> Result<Option<Vec<Datum>>> {
        // 'O' fires unless the session is a replica, 'R' only then, 'A' always.
        let replica = txn.settings.iter().any(|(k, v)| *k == "session_replication_role" && v == "replica");
        if (t.enabled == 'O' && replica) || (t.enabled == 'R' && !replica) {
            return Ok(if t.row { new.or(old) } else { None });
        }
        let f = crate::functions_sql::by_oid(t.function)
            .ok_or_else(|| SqlError::new("42883", format!("function with OID {} does not exist", t.function)))?;
        let firing = crate::plpgsql::Firing {
            name: &t.name,
            when: t.timing(),
            level: if t.row { "ROW" } else { "STATEMENT" },
            op: self.op.name(),
            table: &self.table.name,
            relid: self.table.oid,
            args: &t.args,
            columns: self.columns.clone(),
            new,
            old,
        };
        if let Some(w) = &t.when {
            if !crate::plpgsql::when(txn, w, &firing).await? {
                return Ok(firing.new.or(firing.old));
            }
        }
        crate::plpgsql::fire(txn, &f, &firing).await
    }

    /// The statement-level triggers of one timing.
    pub async fn statement(&self, txn: &mut Txn, before: bool) -> Result<()> {
        for t in self.triggers.iter().filter(|t| !t.row && t.before == before) {
            self.run(txn, t, None, None).await?;
        }
        Ok(())
    }

    /// BEFORE ROW triggers over `rows` (old, new): the new rows to write in their place (None:
    /// a trigger returned NULL, the row is skipped). A row's hidden parts past the table's
    /// columns (a row id) stay as they were.
    pub async fn before_rows(&self, txn: &mut Txn, rows: Vec<(Option<Row>, Row)>) -> Result<Vec<Option<Row>>> {
        self.rows_in_turn(txn, rows, false).await
    }

    /// INSTEAD OF triggers over a view's rows (old, new; a DELETE's new is its old): the rows
    /// done (None: a trigger returned NULL, the row does not count), each the NEW the last
    /// trigger returned (a DELETE's: its old row).
    pub async fn instead_rows(&self, txn: &mut Txn, rows: Vec<(Option<Row>, Row)>) -> Result<Vec<Option<Row>>> {
        self.rows_in_turn(txn, rows, true).await
    }

    /// The BEFORE ROW (or `instead`: INSTEAD OF) triggers over each row in turn, each given
    /// the NEW the one before returned.
    async fn rows_in_turn(
        &self,
        txn: &mut Txn,
        rows: Vec<(Option<Row>, Row)>,
        instead: bool,
    ) -> Result<Vec<Option<Row>>> {
        let width = self.table.columns.len();
        let mut out = Vec::with_capacity(rows.len());
        'rows: for (old, new) in rows {
            let mut current = new;
            for t in self.triggers.iter().filter(|t| t.row && if instead { t.instead } else { t.before }) {
                let n = (self.op != Op::Delete).then(|| current[..width.min(current.len())].to_vec());
                let o = old.as_ref().map(|r| r[..width.min(r.len())].to_vec());
                match self.run(txn, t, n, o).await? {
                    None => {
                        out.push(None);
                        continue 'rows;
                    }
                    Some(vals) if self.op != Op::Delete => {
                        for (i, v) in vals.into_iter().enumerate().take(width) {
                            current[i] = v;
                        }
                    }
                    Some(_) => {}
                }
            }
            out.push(Some(current));
        }
        Ok(out)
    }

    /// AFTER ROW triggers over the written rows (old, new).
    pub async fn after_rows(&self, txn: &mut Txn, rows: &[(Option<&Row>, Option<&Row>)]) -> Result<()> {
        let width = self.table.columns.len();
        let cut = |r: &Option<&Row>| r.map(|r| r[..width.min(r.len())].to_vec());
        for (old, new) in rows {
            for t in self.triggers.iter().filter(|t| t.row && !t.before && !t.instead) {
                self.run(txn, t, cut(new), cut(old)).await?;
            }
        }
        Ok(())
    }
}
