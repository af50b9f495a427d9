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
//! HASH partitions' constraint is `satisfies_hash_partition(...)` with PostgreSQL's hash
//! functions ([`hash`]).
//!
//! Not built (0A000): HASH on key types whose hash function is not ported, ATTACH/DETACH of a
//! partitioned table, other ALTER TABLE forms of either, column definitions of their own on a
//! partition, and indexes on a partition.

use crate::error::{code, SqlError};
use orbit_engine::table::{SqlType, TableDef};
use sqlparser::ast;
use std::sync::Arc;

/// A partitioned table's strategy (pg_partitioned_table.partstrat).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strategy {
    Range,
    List,
    Hash,
}

impl Strategy {
    pub(crate) fn letter(self) -> char {
        match self {
            Strategy::Range => 'r',
            Strategy::List => 'l',
            Strategy::Hash => 'h',
        }
    }
}

/// A partitioned table's key: its strategy and its elements, each as SQL text over the table's
/// columns the way pg_get_partkeydef prints it: a column's name (quoted where needed), a
/// function call (`lower(a)`), or another expression in parentheses (`((b + 0))`).
#[derive(Clone, Debug)]
pub(crate) struct Key {
    pub(crate) strategy: Strategy,
    pub(crate) columns: Vec<String>,
}

/// The column a key element names, when it is a plain column.
pub(crate) fn key_column(element: &str) -> Option<String> {
    match crate::bind::parse_expr_text(element).ok()? {
        ast::Expr::Identifier(id) => Some(crate::bind::fold_ident(&id)),
        _ => None,
    }
}

/// A key element as PostgreSQL names it in a row's DETAIL: a column's name, an expression
/// deparsed (`(b + 0)`, `lower(a)`).
pub(crate) fn key_shown(element: &str) -> String {
    if let Some(c) = key_column(element) {
        return c;
    }
    match element.strip_prefix('(').and_then(|e| e.strip_suffix(')')) {
        Some(inner) if inner.starts_with('(') => inner.to_string(),
        _ => element.to_string(),
    }
}

impl Key {
    /// As pg_get_partkeydef prints it.
    pub(crate) fn text(&self) -> String {
        let cols: Vec<String> = self.columns.clone();
        let s = match self.strategy {
            Strategy::Range => "RANGE",
            Strategy::List => "LIST",
            Strategy::Hash => "HASH",
        };
        format!("{s} ({})", cols.join(", "))
    }

    /// Read back from [`Key::text`].
    pub(crate) fn parse(text: &str) -> Option<Key> {
        let (s, rest) = text.split_once(' ')?;
        let strategy = match s {
            "RANGE" => Strategy::Range,
            "LIST" => Strategy::List,
            "HASH" => Strategy::Hash,
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
                ast::SelectItem::UnnamedExpr(e) => Some(e.to_string()),
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
    // A key element is SQL text already; a column's type casts the bound values (an
    // expression's values were cast when the bound was made, and print as its type reads).
    let col = |element: &str| element.to_string();
    let ty = |element: &str| {
        let name = key_column(element)?;
        parent.columns.iter().find(|c| c.name == name).map(|c| c.ty.name())
    };
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
        ast::ForValues::With { modulus, remainder } => {
            let cols: Vec<String> = key.columns.iter().map(|c| col(c)).collect();
            format!("satisfies_hash_partition(0, {modulus}, {remainder}, {})", cols.join(", "))
        }
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

/// A partition's constraint as pg_get_partition_constraintdef prints it (psql's `\d+`): the
/// levels' conditions top-down, each value with its type as PostgreSQL labels constants. A
/// range over several columns is shown as the row comparison Orbit checks, not PostgreSQL's
/// expansion of it.
pub(crate) fn constraint_display(def: &TableDef) -> Option<String> {
    def.partition_of.as_ref()?;
    let tables = crate::catalog::user_tables();
    let mut levels = Vec::new();
    let mut at = Arc::new(def.clone());
    for _ in 0..64 {
        let Some(of) = &at.partition_of else { break };
        let Some(p) = tables.iter().find(|t| t.name == of.parent).cloned() else { break };
        levels.push((p.clone(), at.clone()));
        at = p;
    }
    levels.reverse();
    let mut parts = Vec::new();
    for (p, c) in &levels {
        parts.extend(display_parts(p, c, &children_in(&tables, &p.name)));
    }
    Some(if parts.len() == 1 { parts.remove(0) } else { format!("({})", parts.join(" AND ")) })
}

/// A bound value (as the bound's text keeps it) labelled with its type as PostgreSQL prints a
/// constant: an integer bare, anything else quoted with `::type`.
fn labelled(value: &ast::Expr, ty: Option<SqlType>) -> String {
    let text = value.to_string();
    let raw = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')).map(|t| t.replace("''", "'"));
    match ty {
        Some(SqlType::Int4) if raw.is_none() => text,
        Some(t) => {
            let name = t.name();
            let name = name.split('(').next().unwrap_or(&name).to_string();
            format!("'{}'::{name}", raw.unwrap_or(text).replace('\'', "''"))
        }
        None => text,
    }
}

/// One level's conditions for [`constraint_display`].
fn display_parts(parent: &TableDef, child: &TableDef, siblings: &[Arc<TableDef>]) -> Vec<String> {
    let Some(key) = key(parent) else { return Vec::new() };
    let Some(bound) = child.partition_of.as_ref().and_then(|o| parse_bound(&o.bound)) else { return Vec::new() };
    let shown: Vec<String> = key.columns.iter().map(|c| key_shown(c)).collect();
    let ty = |i: usize| {
        let name = key_column(&key.columns[i])?;
        parent.columns.iter().find(|c| c.name == name).map(|c| c.ty)
    };
    let not_null = |i: usize| format!("({} IS NOT NULL)", shown[i]);
    let list = |values: &[&ast::Expr]| {
        let items: Vec<String> = values.iter().map(|v| labelled(v, ty(0))).collect();
        match items.as_slice() {
            [one] => format!("({} = {one})", shown[0]),
            _ => format!("({} = ANY (ARRAY[{}]))", shown[0], items.join(", ")),
        }
    };
    let is_null = |v: &ast::Expr| matches!(v, ast::Expr::Value(x) if matches!(x.value, ast::Value::Null));
    let range = |from: &[ast::PartitionBoundValue], to: &[ast::PartitionBoundValue]| -> Vec<String> {
        let mut out = Vec::new();
        for (values, lower) in [(from, true), (to, false)] {
            match values {
                [ast::PartitionBoundValue::Expr(v)] => {
                    let op = if lower { ">=" } else { "<" };
                    out.push(format!("({} {op} {})", shown[0], labelled(v, ty(0))));
                }
                [_] => {}
                _ => {
                    let n = values.iter().take_while(|v| matches!(v, ast::PartitionBoundValue::Expr(_))).count();
                    if n > 0 {
                        let vals: Vec<String> = values[..n]
                            .iter()
                            .enumerate()
                            .filter_map(|(i, v)| match v {
                                ast::PartitionBoundValue::Expr(e) => Some(labelled(e, ty(i))),
                                _ => None,
                            })
                            .collect();
                        let op = match (lower, values.get(n)) {
                            (true, None | Some(ast::PartitionBoundValue::MinValue)) => ">=",
                            (true, _) => ">",
                            (false, Some(ast::PartitionBoundValue::MaxValue)) => "<=",
                            (false, _) => "<",
                        };
                        out.push(format!("(ROW({}) {op} ROW({}))", shown[..n].join(", "), vals.join(", ")));
                    }
                }
            }
        }
        out
    };
    match bound {
        ast::ForValues::From { from, to } => {
            let mut out: Vec<String> = (0..shown.len()).map(not_null).collect();
            out.extend(range(&from, &to));
            out
        }
        ast::ForValues::In(values) => {
            let listed: Vec<&ast::Expr> = values.iter().filter(|v| !is_null(v)).collect();
            match (values.iter().any(is_null), listed.is_empty()) {
                (true, true) => vec![format!("({} IS NULL)", shown[0])],
                (true, false) => vec![format!("(({} IS NULL) OR {})", shown[0], list(&listed))],
                (false, _) => vec![not_null(0), list(&listed)],
            }
        }
        ast::ForValues::With { modulus, remainder } => {
            let oid = crate::bind::lookup_table(&parent.name).map_or(0, |p| p.oid);
            vec![format!("satisfies_hash_partition('{oid}'::oid, {modulus}, {remainder}, {})", shown.join(", "))]
        }
        ast::ForValues::Default => {
            let others: Vec<ast::ForValues> = siblings
                .iter()
                .filter(|s| s.oid != child.oid)
                .filter_map(|s| parse_bound(&s.partition_of.as_ref()?.bound))
                .filter(|b| !matches!(b, ast::ForValues::Default))
                .collect();
            if others.is_empty() {
                return Vec::new();
            }
            // PostgreSQL lists the siblings' bounds in order (a number by value, a string by text).
            let order = |e: &ast::Expr| {
                let t = e.to_string();
                let raw = t.trim_matches('\'').to_string();
                (raw.parse::<f64>().ok().map(ordered), raw)
            };
            fn ordered(f: f64) -> i64 {
                let b = f.to_bits() as i64;
                if b < 0 {
                    b ^ i64::MAX
                } else {
                    b
                }
            }
            let lower = |b: &ast::ForValues| match b {
                ast::ForValues::From { from, .. } => match from.first() {
                    Some(ast::PartitionBoundValue::Expr(e)) => (1, order(e)),
                    Some(ast::PartitionBoundValue::MaxValue) => (2, (None, String::new())),
                    _ => (0, (None, String::new())),
                },
                _ => (0, (None, String::new())),
            };
            let mut others = others;
            others.sort_by_key(|b| lower(b));
            let inner = match key.strategy {
                Strategy::List => {
                    let mut values: Vec<ast::Expr> = others
                        .iter()
                        .flat_map(|b| match b {
                            ast::ForValues::In(v) => v.clone(),
                            _ => Vec::new(),
                        })
                        .collect();
                    values.sort_by_key(|v| order(v));
                    let listed: Vec<&ast::Expr> = values.iter().filter(|v| !is_null(v)).collect();
                    if values.iter().any(is_null) {
                        format!("(({} IS NULL) OR {})", shown[0], list(&listed))
                    } else {
                        format!("({} AND {})", not_null(0), list(&listed))
                    }
                }
                _ => {
                    let ors: Vec<String> = others
                        .iter()
                        .filter_map(|b| match b {
                            ast::ForValues::From { from, to } => {
                                let r = range(from, to);
                                Some(if r.len() == 1 { r[0].clone() } else { format!("({})", r.join(" AND ")) })
                            }
                            _ => None,
                        })
                        .collect();
                    let ors = if ors.len() == 1 { ors[0].clone() } else { format!("({})", ors.join(" OR ")) };
                    let nn: Vec<String> = (0..shown.len()).map(not_null).collect();
                    format!("({} AND {ors})", nn.join(" AND "))
                }
            };
            vec![format!("(NOT {inner})")]
        }
    }
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
    /// The key's elements (SQL text), as [`Key::columns`].
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
    let deletes = row_deletes(defs.iter().flatten(), &out);
    (out, deletes)
}

/// The DELETEs that take the rows of the partitions among `defs` out of their root, for a
/// statement that removes the relations `going` (DROP) or their rows (TRUNCATE): none for a
/// partition one of whose ancestors goes too (its rows go with that one).
pub(crate) fn row_deletes<'a>(defs: impl Iterator<Item = &'a Arc<TableDef>>, going: &[String]) -> Vec<String> {
    defs.filter(|d| d.partition_of.is_some() && !has_ancestor_in(d, going))
        .map(|d| format!("DELETE FROM {}", sql_name(&d.name)))
        .collect()
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

/// PostgreSQL's partition hashing (partbounds.c compute_partition_hash_value): each non-NULL
/// key value hashed by its type's extended hash function with HASH_PARTITION_SEED, combined by
/// hash_combine64; a row is in partition (modulus, remainder) when the result modulo the
/// modulus is the remainder. The hash functions are hashfn.c's (Bob Jenkins' lookup3, as
/// PostgreSQL adapted it, little-endian), so rows land in the partitions PostgreSQL puts them.
pub(crate) mod hash {
    use orbit_engine::table::{Datum, SqlType};

    const SEED: u64 = 0x7A5B22367996DCFD;

    /// Whether partitions may be hashed on a column of this type here.
    pub(crate) fn supported(t: SqlType) -> bool {
        matches!(
            t,
            SqlType::Bool
                | SqlType::Int2
                | SqlType::Int4
                | SqlType::Int8
                | SqlType::Text
                | SqlType::Varchar(_)
                | SqlType::Bpchar(_)
                | SqlType::Date
                | SqlType::Timestamp(_)
                | SqlType::TimestampTz(_)
                | SqlType::Uuid
        )
    }

    fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
        *a = a.wrapping_sub(*c);
        *a ^= c.rotate_left(4);
        *c = c.wrapping_add(*b);
        *b = b.wrapping_sub(*a);
        *b ^= a.rotate_left(6);
        *a = a.wrapping_add(*c);
        *c = c.wrapping_sub(*b);
        *c ^= b.rotate_left(8);
        *b = b.wrapping_add(*a);
        *a = a.wrapping_sub(*c);
        *a ^= c.rotate_left(16);
        *c = c.wrapping_add(*b);
        *b = b.wrapping_sub(*a);
        *b ^= a.rotate_left(19);
        *a = a.wrapping_add(*c);
        *c = c.wrapping_sub(*b);
        *c ^= b.rotate_left(4);
        *b = b.wrapping_add(*a);
    }

    fn last(a: &mut u32, b: &mut u32, c: &mut u32) {
        *c ^= *b;
        *c = c.wrapping_sub(b.rotate_left(14));
        *a ^= *c;
        *a = a.wrapping_sub(c.rotate_left(11));
        *b ^= *a;
        *b = b.wrapping_sub(a.rotate_left(25));
        *c ^= *b;
        *c = c.wrapping_sub(b.rotate_left(16));
        *a ^= *c;
        *a = a.wrapping_sub(c.rotate_left(4));
        *b ^= *a;
        *b = b.wrapping_sub(a.rotate_left(14));
        *c ^= *b;
        *c = c.wrapping_sub(b.rotate_left(24));
    }

    fn seeded(len: u32, seed: u64) -> (u32, u32, u32) {
        let init = 0x9e3779b9u32.wrapping_add(len).wrapping_add(3923095);
        let (mut a, mut b, mut c) = (init, init, init);
        if seed != 0 {
            a = a.wrapping_add((seed >> 32) as u32);
            b = b.wrapping_add(seed as u32);
            mix(&mut a, &mut b, &mut c);
        }
        (a, b, c)
    }

    /// hashfn.c's hash_bytes_uint32_extended.
    pub(crate) fn uint32(k: u32, seed: u64) -> u64 {
        let (mut a, mut b, mut c) = seeded(4, seed);
        a = a.wrapping_add(k);
        last(&mut a, &mut b, &mut c);
        ((b as u64) << 32) | c as u64
    }

    /// hashfn.c's hash_bytes_extended.
    pub(crate) fn bytes(k: &[u8], seed: u64) -> u64 {
        let (mut a, mut b, mut c) = seeded(k.len() as u32, seed);
        let word = |w: &[u8]| w.iter().enumerate().fold(0u32, |acc, (i, &x)| acc.wrapping_add((x as u32) << (8 * i)));
        let mut rest = k;
        while rest.len() >= 12 {
            a = a.wrapping_add(word(&rest[0..4]));
            b = b.wrapping_add(word(&rest[4..8]));
            c = c.wrapping_add(word(&rest[8..12]));
            mix(&mut a, &mut b, &mut c);
            rest = &rest[12..];
        }
        // The last 11 bytes: the lowest byte of c is the length's.
        a = a.wrapping_add(word(&rest[..rest.len().min(4)]));
        if rest.len() > 4 {
            b = b.wrapping_add(word(&rest[4..rest.len().min(8)]));
        }
        if rest.len() > 8 {
            c = c.wrapping_add(word(&rest[8..]) << 8);
        }
        last(&mut a, &mut b, &mut c);
        ((b as u64) << 32) | c as u64
    }

    fn int8(v: i64, seed: u64) -> u64 {
        let lo = v as u32;
        let hi = (v >> 32) as u32;
        uint32(if v >= 0 { lo ^ hi } else { lo ^ !hi }, seed)
    }

    /// A value's extended hash as its type's hash opclass computes it (None: a type not
    /// hashed here).
    pub(crate) fn value(d: &Datum, seed: u64) -> Option<u64> {
        Some(match d {
            Datum::Bool(b) => uint32(*b as u32, seed),
            Datum::Int2(v) => uint32(*v as i32 as u32, seed),
            Datum::Int4(v) | Datum::Date(v) => uint32(*v as u32, seed),
            Datum::Int8(v) | Datum::Timestamp(v) | Datum::TimestampTz(v) => int8(*v, seed),
            Datum::Text(s) => bytes(s.as_bytes(), seed),
            Datum::Bpchar(s) => bytes(s.trim_end_matches(' ').as_bytes(), seed),
            Datum::Uuid(u) => bytes(u, seed),
            _ => return None,
        })
    }

    /// satisfies_hash_partition's test of a row's key values.
    pub(crate) fn satisfies(modulus: i64, remainder: i64, values: &[Datum]) -> Option<bool> {
        let mut row: u64 = 0;
        for v in values {
            if matches!(v, Datum::Null) {
                continue;
            }
            let h = value(v, SEED)?;
            row ^= h.wrapping_add(0x49a0f4dd15e5a8e3).wrapping_add(row << 54).wrapping_add(row >> 7);
        }
        (modulus > 0).then(|| row % modulus as u64 == remainder as u64)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Values PostgreSQL 15's hashint4extended / hashint8extended / hashtextextended /
        /// hashint2extended / hashcharextended return.
        #[test]
        fn hashes_as_postgresql() {
            assert_eq!(uint32(0, 0) as i64, 4154612158245552303);
            assert_eq!(value(&Datum::Int4(1), SEED).unwrap() as i64, 5968994663651403477);
            assert_eq!(value(&Datum::Int4(-5), SEED).unwrap() as i64, 5466844944386338076);
            assert_eq!(value(&Datum::Int8(5000000000), SEED).unwrap() as i64, -2799505259769899283);
            assert_eq!(value(&Datum::Int8(-3), SEED).unwrap() as i64, 656044135061257817);
            assert_eq!(value(&Datum::Text(String::new()), SEED).unwrap() as i64, -5700645584453517373);
            assert_eq!(value(&Datum::Text("abc".into()), SEED).unwrap() as i64, 3628778498291917250);
            let long = Datum::Text("hello world, partitions!".into());
            assert_eq!(value(&long, SEED).unwrap() as i64, -3666144358096887241);
            assert_eq!(value(&Datum::Text("twelve bytes".into()), SEED).unwrap() as i64, 1551002018851372083);
            assert_eq!(value(&Datum::Int2(7), SEED).unwrap() as i64, 1708571371176205364);
            assert_eq!(uint32(b'a' as u32, 0) as i64, -6420269537691555209);
        }

        /// The partitions PostgreSQL 15 put rows (a int, b text) in, hashed on (a, b) modulo 3.
        #[test]
        fn rows_land_where_postgresql_puts_them() {
            let want =
                [(1, 0), (2, 1), (3, 1), (4, 1), (5, 0), (6, 2), (7, 0), (8, 0), (9, 2), (10, 2), (11, 2), (12, 2)];
            for (a, part) in want {
                let row = [Datum::Int4(a), Datum::Text(format!("v{a}"))];
                assert_eq!(satisfies(3, part, &row), Some(true), "row {a}");
            }
            assert_eq!(satisfies(3, 2, &[Datum::Int4(5), Datum::Null]), Some(true));
            assert_eq!(satisfies(3, 1, &[Datum::Null, Datum::Text("x".into())]), Some(true));
            assert_eq!(satisfies(3, 0, &[Datum::Null, Datum::Null]), Some(true));
        }
    }
}

/// 0A000 for what partitioned tables and partitions do not take yet.
pub(crate) fn unsupported(what: &str) -> SqlError {
    SqlError::new(code::FEATURE_NOT_SUPPORTED, format!("{what} is not supported yet"))
}
