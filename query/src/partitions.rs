//! Declarative partitioning (CREATE TABLE ... PARTITION BY / PARTITION OF).
//!
//! Orbit spreads every table's rows over the shards by key already, so a PostgreSQL partition
//! is a logical slice here, not a storage unit: the root of a partition hierarchy (the
//! partitioned table no other is a partition of) holds every row of the hierarchy in its own
//! storage, and a partition is a relation whose rows are the root's rows that satisfy its
//! partition constraint — its bound AND-ed with its ancestors' (PostgreSQL's
//! get_qual_from_partbound / generate_partition_qual). A partition's definition is a view over
//! the root (`TableDef::view`, text computed by [`query_text`] each time it is read, since a
//! DEFAULT partition's constraint changes as its siblings come and go) plus its place in the
//! hierarchy (`TableDef::partition_of`), so reading it, and writing through it as an
//! automatically updatable view (`bind/updatable_views.rs`), need nothing else; writing
//! through it checks its partition constraint (23514 `new row for relation "c" violates
//! partition constraint`), and every row written to a partitioned table is checked to have a
//! leaf to go to ([`routing_checks`], 23514 `no partition of relation "p" found for row`).
//! An UPDATE that moves a row to another partition therefore moves nothing in storage.
//!
//! Not built (0A000): HASH partitioning, partition keys that are expressions, ATTACH/DETACH
//! PARTITION, column definitions of their own on a partition, and indexes on a partition.

use crate::error::{code, SqlError};
use orbit_engine::table::TableDef;
use sqlparser::ast;
use std::sync::Arc;

/// A partitioned table's strategy (pg_partitioned_table.partstrat).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strategy {
    Range,
    List,
}

impl Strategy {
    pub(crate) fn letter(self) -> char {
        match self {
            Strategy::Range => 'r',
            Strategy::List => 'l',
        }
    }
}

/// A partitioned table's key: its strategy and its columns (names).
#[derive(Clone, Debug)]
pub(crate) struct Key {
    pub(crate) strategy: Strategy,
    pub(crate) columns: Vec<String>,
}

impl Key {
    /// As pg_get_partkeydef prints it.
    pub(crate) fn text(&self) -> String {
        let cols: Vec<String> = self.columns.iter().map(|c| crate::regtypes::quote_ident(c)).collect();
        let s = match self.strategy {
            Strategy::Range => "RANGE",
            Strategy::List => "LIST",
        };
        format!("{s} ({})", cols.join(", "))
    }

    /// Read back from [`Key::text`].
    pub(crate) fn parse(text: &str) -> Option<Key> {
        let (s, rest) = text.split_once(' ')?;
        let strategy = match s {
            "RANGE" => Strategy::Range,
            "LIST" => Strategy::List,
            _ => return None,
        };
        let stmts =
            crate::bind::parse(&format!("SELECT {}", rest.trim().strip_prefix('(')?.strip_suffix(')')?)).ok()?;
        let [ast::Statement::Query(q)] = stmts.as_slice() else { return None };
        let ast::SetExpr::Select(sel) = q.body.as_ref() else { return None };
        let columns = sel
            .projection
            .iter()
            .map(|i| match i {
                ast::SelectItem::UnnamedExpr(ast::Expr::Identifier(id)) => Some(crate::bind::fold_ident(id)),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Key { strategy, columns })
    }
}

/// The key of a partitioned table; None for anything else.
pub(crate) fn key(def: &TableDef) -> Option<Key> {
    Key::parse(def.partition_key.as_deref()?)
}

/// A relation by OID from this shard's catalog copy.
pub(crate) fn by_oid(oid: u32) -> Option<Arc<TableDef>> {
    crate::catalog::user_tables().into_iter().find(|t| t.oid == oid)
}

/// The partitions of the table named `parent`, oldest first.
pub(crate) fn children(parent: &str) -> Vec<Arc<TableDef>> {
    children_in(&crate::catalog::user_tables(), parent)
}

fn children_in(tables: &[Arc<TableDef>], parent: &str) -> Vec<Arc<TableDef>> {
    let mut out: Vec<Arc<TableDef>> =
        tables.iter().filter(|t| t.partition_of.as_ref().is_some_and(|p| p.parent == parent)).cloned().collect();
    out.sort_by_key(|t| t.oid);
    out
}

/// Every partition under `name`, at any depth (children before their own partitions).
pub(crate) fn descendants(name: &str) -> Vec<Arc<TableDef>> {
    let tables = crate::catalog::user_tables();
    let mut out = Vec::new();
    let mut queue = vec![name.to_string()];
    while let Some(o) = queue.pop() {
        for c in children_in(&tables, &o) {
            queue.push(c.name.clone());
            out.push(c);
        }
    }
    out
}

/// The partitioned table a partition belongs to.
pub(crate) fn parent(def: &TableDef) -> Option<Arc<TableDef>> {
    crate::bind::lookup_table(&def.partition_of.as_ref()?.parent)
}

/// The root of `def`'s hierarchy: the table that holds its rows (itself when no partition).
pub(crate) fn root(def: &Arc<TableDef>) -> Arc<TableDef> {
    let mut at = def.clone();
    for _ in 0..64 {
        match parent(&at) {
            Some(p) => at = p,
            None => break,
        }
    }
    at
}

/// A relation's name as SQL text (schema-qualified, quoted where needed).
pub(crate) fn sql_name(name: &str) -> String {
    let (schema, rel) = crate::schema::split(name);
    format!("{}.{}", crate::regtypes::quote_ident(schema), crate::regtypes::quote_ident(rel))
}

/// A partition bound's text (`FOR VALUES ...` or `DEFAULT`) read back.
pub(crate) fn parse_bound(bound: &str) -> Option<ast::ForValues> {
    let stmts = crate::bind::parse(&format!("CREATE TABLE x PARTITION OF y {bound}")).ok()?;
    let [ast::Statement::CreateTable(ct)] = stmts.as_slice() else { return None };
    ct.for_values.clone()
}

/// `child`'s own bound as a condition over the key columns of `parent` (unqualified names),
/// as PostgreSQL's get_qual_for_range / get_qual_for_list make it: key columns NOT NULL and
/// the row between the bounds (lexicographically over several columns), or in the list; a
/// DEFAULT partition's is no sibling's.
fn bound_condition(parent: &TableDef, child: &TableDef, siblings: &[Arc<TableDef>]) -> String {
    let Some(key) = key(parent) else { return "false".into() };
    let Some(of) = &child.partition_of else { return "false".into() };
    let Some(bound) = parse_bound(&of.bound) else { return "false".into() };
    let col = |name: &str| crate::regtypes::quote_ident(name);
    let ty = |name: &str| parent.columns.iter().find(|c| c.name == name).map(|c| c.ty.name());
    let typed = |name: &str, v: &ast::Expr| match ty(name) {
        Some(t) => format!("CAST({v} AS {t})"),
        None => v.to_string(),
    };
    match bound {
        ast::ForValues::Default => {
            let others: Vec<String> = siblings
                .iter()
                .filter(|s| s.oid != child.oid && s.partition_of.as_ref().is_some_and(|p| p.bound != "DEFAULT"))
                .map(|s| format!("({})", bound_condition(parent, s, &[])))
                .collect();
            if others.is_empty() {
                "true".into()
            } else {
                format!("NOT ({})", others.join(" OR "))
            }
        }
        ast::ForValues::In(values) => {
            let k = &key.columns[0];
            let has_null =
                values.iter().any(|v| matches!(v, ast::Expr::Value(x) if matches!(x.value, ast::Value::Null)));
            let listed: Vec<String> = values
                .iter()
                .filter(|v| !matches!(v, ast::Expr::Value(x) if matches!(x.value, ast::Value::Null)))
                .map(|v| typed(k, v))
                .collect();
            let in_list = format!("{} IN ({})", col(k), listed.join(", "));
            match (has_null, listed.is_empty()) {
                (true, true) => format!("{} IS NULL", col(k)),
                (true, false) => format!("({} IS NULL OR {in_list})", col(k)),
                (false, _) => format!("({} IS NOT NULL AND {in_list})", col(k)),
            }
        }
        ast::ForValues::From { from, to } => {
            let mut parts: Vec<String> = key.columns.iter().map(|c| format!("{} IS NOT NULL", col(c))).collect();
            for (values, lower) in [(&from, true), (&to, false)] {
                // The finite prefix, and what follows it (MINVALUE / MAXVALUE or nothing).
                let n = values.iter().take_while(|v| matches!(v, ast::PartitionBoundValue::Expr(_))).count();
                let next = values.get(n);
                let inclusive = match (lower, next) {
                    (true, None | Some(ast::PartitionBoundValue::MinValue)) => true,
                    (true, _) => false,
                    (false, Some(ast::PartitionBoundValue::MaxValue)) => true,
                    (false, _) => false,
                };
                if n == 0 {
                    // Unbounded on this side, or nothing fits.
                    if !inclusive {
                        parts.push("false".into());
                    }
                    continue;
                }
                let keys: Vec<String> = key.columns[..n].iter().map(|c| col(c)).collect();
                let vals: Vec<String> = values[..n]
                    .iter()
                    .zip(&key.columns)
                    .map(|(v, c)| match v {
                        ast::PartitionBoundValue::Expr(e) => typed(c, e),
                        _ => unreachable!("finite prefix"),
                    })
                    .collect();
                let op = match (lower, inclusive) {
                    (true, true) => ">=",
                    (true, false) => ">",
                    (false, true) => "<=",
                    (false, false) => "<",
                };
                if n == 1 {
                    parts.push(format!("{} {op} {}", keys[0], vals[0]));
                } else {
                    parts.push(format!("({}) {op} ({})", keys.join(", "), vals.join(", ")));
                }
            }
            format!("({})", parts.join(" AND "))
        }
        ast::ForValues::With { .. } => "false".into(),
    }
}

/// `child`'s own bound (not DEFAULT) as a condition over `parent`'s key columns.
pub(crate) fn bound_condition_of(parent: &TableDef, child: &TableDef) -> String {
    bound_condition(parent, child, &[])
}

/// `def`'s partition constraint relative to `upto` (an ancestor, or the root when None): its
/// bound AND-ed with those of its ancestors below `upto`. None for no partition.
pub(crate) fn constraint_upto(def: &TableDef, upto: Option<&str>) -> Option<String> {
    def.partition_of.as_ref()?;
    let tables = crate::catalog::user_tables();
    let mut parts = Vec::new();
    let mut at = Arc::new(def.clone());
    for _ in 0..64 {
        let Some(of) = &at.partition_of else { break };
        if Some(at.name.as_str()) == upto {
            break;
        }
        let Some(p) = tables.iter().find(|t| t.name == of.parent).cloned() else { break };
        let siblings = children_in(&tables, &p.name);
        parts.push(bound_condition(&p, &at, &siblings));
        at = p;
    }
    if parts.is_empty() {
        return None;
    }
    parts.reverse();
    Some(parts.join(" AND "))
}

/// The query a partition reads: its root's rows that satisfy its partition constraint, with
/// its columns (those of the root). None for no partition.
pub(crate) fn query_text(def: &TableDef) -> Option<String> {
    let cond = constraint_upto(def, None)?;
    let root = root(&Arc::new(def.clone()));
    let cols: Vec<String> = def.columns.iter().map(|c| crate::regtypes::quote_ident(&c.name)).collect();
    Some(format!("SELECT {} FROM {} WHERE {cond}", cols.join(", "), sql_name(&root.name)))
}

/// A row check on a write to a partitioned table: `cond` must be true for a row, else 23514
/// `no partition of relation "<table>" found for row` with the key of `key_columns`.
pub(crate) struct Routing {
    pub(crate) table: String,
    pub(crate) cond: String,
    pub(crate) key_columns: Vec<String>,
}

/// The checks that every row written to partitioned table `def` has a leaf partition: for
/// `def` and each partitioned partition under it, a row in its slice must be in one of its
/// partitions' (none needed where it has a DEFAULT partition), in PostgreSQL's routing order
/// (a level's failure is reported before the levels below).
pub(crate) fn routing_checks(def: &TableDef) -> Vec<Routing> {
    if def.partition_key.is_none() {
        return Vec::new();
    }
    let tables = crate::catalog::user_tables();
    let mut out = Vec::new();
    let mut queue = vec![Arc::new(def.clone())];
    while !queue.is_empty() {
        let at = queue.remove(0);
        let Some(key) = key(&at) else { continue };
        let kids = children_in(&tables, &at.name);
        let has_default = kids.iter().any(|k| k.partition_of.as_ref().is_some_and(|p| p.bound == "DEFAULT"));
        if !has_default {
            let any: Vec<String> = kids.iter().map(|k| format!("({})", bound_condition(&at, k, &kids))).collect();
            let inside = if at.name == def.name { None } else { constraint_upto(&at, Some(&def.name)) };
            let any = if any.is_empty() { "false".to_string() } else { any.join(" OR ") };
            let cond = match inside {
                Some(i) => format!("NOT ({i}) OR {any}"),
                None => any,
            };
            out.push(Routing { table: crate::schema::relname(&at.name).to_string(), cond, key_columns: key.columns });
        }
        queue.extend(kids.into_iter().filter(|k| k.partition_key.is_some()));
    }
    out
}

/// DROP TABLE's names with the partitions of the partitioned tables named added (before
/// them: PostgreSQL drops a partitioned table's partitions with it), and the DELETEs that take
/// the rows of each partition dropped without its root out of the root (a partition under
/// another dropped one needs none of its own).
pub(crate) fn drop_list(names: Vec<String>) -> (Vec<String>, Vec<String>) {
    let mut out: Vec<String> = Vec::new();
    let mut deletes = Vec::new();
    let defs: Vec<Option<Arc<TableDef>>> = names.iter().map(|n| crate::bind::lookup_table(n)).collect();
    for (n, d) in names.iter().zip(&defs) {
        if let Some(d) = d.as_ref().filter(|d| d.partition_key.is_some()) {
            for c in descendants(&d.name).into_iter().rev() {
                if !out.contains(&c.name) && !names.contains(&c.name) {
                    out.push(c.name.clone());
                }
            }
        }
        if !out.contains(n) {
            out.push(n.clone());
        }
    }
    for d in defs.iter().flatten() {
        // An ancestor dropped too takes these rows with it (or deletes them itself).
        let covered = has_ancestor_in(d, &out);
        if d.partition_of.is_some() && !covered {
            deletes.push(format!("DELETE FROM {}", sql_name(&d.name)));
        }
    }
    (out, deletes)
}

/// Whether one of `def`'s ancestors is among `names`.
pub(crate) fn has_ancestor_in(def: &TableDef, names: &[String]) -> bool {
    let mut above = def.partition_of.as_ref().map(|p| p.parent.clone());
    for _ in 0..64 {
        let Some(o) = above else { return false };
        if names.contains(&o) {
            return true;
        }
        above = crate::bind::lookup_table(&o).and_then(|p| p.partition_of.as_ref().map(|x| x.parent.clone()));
    }
    false
}

/// 0A000 for what partitioned tables and partitions do not take yet.
pub(crate) fn unsupported(what: &str) -> SqlError {
    SqlError::new(code::FEATURE_NOT_SUPPORTED, format!("{what} is not supported yet"))
}
