//! CREATE [OR REPLACE] VIEW and DROP VIEW (see `bind/views.rs`), and the views that depend on a
//! relation (DROP TABLE and DROP VIEW refuse to leave a view reading a dropped relation, or take
//! it along with CASCADE, as PostgreSQL's dependency check does).

use super::{create_table, drop_relations, notice, QueryResult};
use crate::error::{code, Result, SqlError};
use orbit_engine::table::TableDef;
use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::Arc;

/// What a relation is, in PostgreSQL's messages.
pub(super) fn kind(def: &TableDef) -> &'static str {
    if def.partition_of.is_some() {
        "table"
    } else if def.view.is_some() {
        "view"
    } else if def.matview.is_some() {
        "materialized view"
    } else {
        "table"
    }
}

fn type_name(def: &TableDef, i: usize) -> String {
    def.columns[i].ty.name()
}

pub(super) async fn create_view(
    def: &TableDef,
    or_replace: bool,
    pending: Option<orbit_shards::rowlock::Owner>,
) -> Result<QueryResult> {
    let done = QueryResult { tag: "CREATE VIEW".into(), ..Default::default() };
    let taken = || {
        SqlError::new(
            code::DUPLICATE_TABLE,
            format!("relation \"{}\" already exists", crate::schema::relname(&def.name)),
        )
    };
    if crate::sequence::exists(&def.name).await? {
        return Err(taken());
    }
    let Some(old) = crate::bind::lookup_table(&def.name) else {
        return super::create_table_as(def.clone(), false, pending).await.map(|_| done);
    };
    if !or_replace {
        return Err(taken());
    }
    if old.view.is_none() {
        return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{}\" is not a view", def.name)));
    }
    // OR REPLACE keeps the old columns, in place, with their names and types; it may add more.
    if def.columns.len() < old.columns.len() {
        return Err(SqlError::new("42P16", "cannot drop columns from view"));
    }
    for (i, (o, n)) in old.columns.iter().zip(&def.columns).enumerate() {
        if o.name != n.name {
            return Err(SqlError::new(
                "42P16",
                format!("cannot change name of view column \"{}\" to \"{}\"", o.name, n.name),
            )
            .hint("Use ALTER VIEW ... RENAME COLUMN ... to change name of view column instead."));
        }
        // Record shapes are `record` to PostgreSQL (and in the log: a restart reads one back
        // as GENERIC_RECORD), however their fields differ.
        let records = o.ty.oid() == orbit_engine::table::RECORD_OID && n.ty.oid() == orbit_engine::table::RECORD_OID;
        if o.ty != n.ty && !records {
            return Err(SqlError::new(
                "42P16",
                format!(
                    "cannot change data type of view column \"{}\" from {} to {}",
                    o.name,
                    type_name(&old, i),
                    type_name(def, i)
                ),
            ));
        }
    }
    // Dropped and created again under a new catalog generation (the views that read it keep
    // reading it by name).
    drop_relations(std::slice::from_ref(&def.name)).await?;
    create_table(def.clone(), false).await.map(|_| done)
}

/// PostgreSQL's NOTICE for a view made temporary by what it reads.
pub(crate) fn temporary_view_notice(view: &str) -> SqlError {
    SqlError::new("00000", format!("view \"{view}\" will be a temporary view"))
}

/// The relations a view's (or materialized view's) query names (by name; a WITH query's name
/// counts too, harmlessly).
pub(crate) fn reads(def: &TableDef) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(text) = def.view.as_ref().or(def.matview.as_ref().map(|m| &m.query)) else { return out };
    let Ok(stmts) = crate::bind::parse(text) else { return out };
    for s in &stmts {
        let _ = sqlparser::ast::visit_relations(s, |name| {
            // The catalog name: `s.t` for a relation of schema s (an unqualified name as the
            // search path finds it now).
            let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(crate::bind::fold_ident).collect();
            match parts.as_slice() {
                [t] => {
                    out.insert(crate::schema::resolve_unqualified(t).unwrap_or_else(|_| t.clone()));
                }
                [.., s, t] => {
                    out.insert(crate::schema::qualify(s, t));
                }
                [] => {}
            }
            ControlFlow::<()>::Continue(())
        });
    }
    out
}

/// Whether the query of view (or materialized view) `def` names column `cn` (a word of its
/// text: conservative, the name may be another relation's column) or, with `star`, selects `*`
/// (a view depends on every column its `*` expanded to; a rename does not break it).
pub(crate) fn names_column(def: &TableDef, cn: &str, star: bool) -> bool {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let Some(text) = def.view.as_ref().or(def.matview.as_ref().map(|m| &m.query)) else { return false };
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, text).tokenize() else { return true };
    let tokens: Vec<&Token> = tokens.iter().filter(|t| !matches!(t, Token::Whitespace(_))).collect();
    tokens.iter().enumerate().any(|(i, t)| match t {
        Token::Word(w) if w.quote_style.is_some() => w.value == cn,
        Token::Word(w) => w.value.to_lowercase() == cn,
        // `SELECT *`, `, *`, `t.*` (not a product: `b * 2`).
        Token::Mul if star => match i.checked_sub(1).map(|p| tokens[p]) {
            Some(Token::Comma | Token::Period) => true,
            Some(Token::Word(w)) => ["select", "distinct", "all"].contains(&w.value.to_lowercase().as_str()),
            _ => false,
        },
        _ => false,
    })
}

/// The views and materialized views whose queries read table `table` directly and name its
/// column `cn` (with `star`: or select `*`), oldest first (by OID, as PostgreSQL lists them).
pub(crate) fn column_readers(table: &str, cn: &str, star: bool) -> Vec<Arc<TableDef>> {
    let mut out: Vec<Arc<TableDef>> = crate::catalog::user_tables()
        .into_iter()
        .filter(|v| (v.view.is_some() || v.matview.is_some()) && !v.name.contains(super::undo::HIDDEN))
        // A partition follows its root's columns (`Plan::RefreshPartitions`).
        .filter(|v| v.partition_of.is_none())
        .filter(|v| reads(v).contains(table) && names_column(v, cn, star))
        .collect();
    out.sort_by_key(|v| v.oid);
    out
}

/// The query of view (or materialized view) `def` with table `old` (a catalog name) named
/// `new`: each FROM item naming it is written as the new name, keeping the old one as its
/// alias when it had none (so `t.col` still reads it), as PostgreSQL's views follow a rename
/// (they hold the table's OID). None when the text does not parse as one query.
pub(crate) fn with_relation_renamed(def: &TableDef, old: &str, new: &str) -> Option<String> {
    use sqlparser::ast::{Ident, ObjectName, ObjectNamePart, Statement, TableAlias, TableFactor, VisitMut, VisitorMut};
    let text = def.view.as_ref().or(def.matview.as_ref().map(|m| &m.query))?;
    let mut stmts = crate::bind::parse(text).ok()?;
    let [Statement::Query(_)] = stmts.as_slice() else { return None };
    // WITH queries' names: a FROM item naming one is not the table.
    let mut ctes: BTreeSet<String> = BTreeSet::new();
    let _ = sqlparser::ast::visit_statements(&stmts, |s| {
        if let Statement::Query(q) = s {
            for c in q.with.iter().flat_map(|w| &w.cte_tables) {
                ctes.insert(crate::bind::fold_ident(&c.alias.name));
            }
        }
        ControlFlow::<()>::Continue(())
    });
    struct Renamer<'a> {
        old: &'a str,
        new: &'a str,
        ctes: BTreeSet<String>,
    }
    impl VisitorMut for Renamer<'_> {
        type Break = ();
        fn pre_visit_table_factor(&mut self, f: &mut TableFactor) -> ControlFlow<()> {
            let TableFactor::Table { name, alias, .. } = f else { return ControlFlow::Continue(()) };
            let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(crate::bind::fold_ident).collect();
            let full = match parts.as_slice() {
                [t] if self.ctes.contains(t) => return ControlFlow::Continue(()),
                [t] => crate::schema::resolve_unqualified(t).unwrap_or_else(|_| t.clone()),
                [.., s, t] => crate::schema::qualify(s, t),
                [] => return ControlFlow::Continue(()),
            };
            if full != self.old {
                return ControlFlow::Continue(());
            }
            let id = |s: &str| {
                let plain = s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if plain {
                    Ident::new(s)
                } else {
                    Ident::with_quote('"', s)
                }
            };
            let (schema, rel) = crate::schema::split(self.new);
            let written = if self.new.contains('.') || parts.len() > 1 {
                vec![ObjectNamePart::Identifier(id(schema)), ObjectNamePart::Identifier(id(rel))]
            } else {
                vec![ObjectNamePart::Identifier(id(rel))]
            };
            if alias.is_none() {
                let was = parts.last().cloned().unwrap_or_default();
                *alias = Some(TableAlias { explicit: true, name: id(&was), columns: Vec::new(), at: None });
            }
            *name = ObjectName(written);
            ControlFlow::Continue(())
        }
    }
    let mut r = Renamer { old, new, ctes };
    let _ = stmts.visit(&mut r);
    match stmts.as_slice() {
        [Statement::Query(q)] => Some(q.to_string()),
        _ => None,
    }
}

/// The views that read `names`, and the views that read those, in the order they were found
/// (each after one it reads; drop them in reverse). From this shard's copy of the catalog.
pub(crate) fn dependents(names: &[String]) -> Vec<Arc<TableDef>> {
    let views: Vec<Arc<TableDef>> = orbit_shards::state::with_shard(|s| {
        // Views a transaction's DROP hid are gone already.
        s.tables
            .names()
            .filter(|n| !n.contains(super::undo::HIDDEN))
            .filter_map(|n| s.tables.def(n))
            // A partition reads its root's rows, but goes with it (DROP TABLE names it).
            .filter(|d| (d.view.is_some() && d.partition_of.is_none()) || d.matview.is_some())
            .collect()
    });
    let mut found: Vec<Arc<TableDef>> = Vec::new();
    let mut frontier: Vec<String> = names.to_vec();
    while let Some(n) = frontier.pop() {
        for v in &views {
            if !names.contains(&v.name) && !found.iter().any(|f| f.name == v.name) && reads(v).contains(&n) {
                found.push(v.clone());
                frontier.push(v.name.clone());
            }
        }
    }
    found
}

/// Without CASCADE, PostgreSQL's 2BP01 when views read what is dropped; with it, the NOTICEs and
/// the views to drop first.
pub(super) fn check_dependents(
    what: &str,
    names: &[String],
    cascade: bool,
    r: &mut QueryResult,
) -> Result<Vec<String>> {
    let deps = dependents(names);
    if deps.is_empty() {
        return Ok(Vec::new());
    }
    let shown = crate::schema::shown;
    if !cascade {
        // Each view with what it reads: a dropped relation, or a view found before it.
        let details: Vec<String> = deps
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let read = reads(v);
                match names.iter().find(|n| read.contains(*n)) {
                    Some(n) => format!("{} {} depends on {what} {}", kind(v), shown(&v.name), shown(n)),
                    None => {
                        let via = deps[..i].iter().find(|d| read.contains(&d.name));
                        let (via_kind, via) = via.map_or(("view", String::new()), |d| (kind(d), shown(&d.name)));
                        format!("{} {} depends on {via_kind} {via}", kind(v), shown(&v.name))
                    }
                }
            })
            .collect();
        return Err(SqlError::new(
            "2BP01",
            format!("cannot drop {what} {} because other objects depend on it", shown(&names[0])),
        )
        .detail(details.join("\n"))
        .hint("Use DROP ... CASCADE to drop the dependent objects too."));
    }
    // Dropped last-found first: a view goes before the views it reads.
    let names: Vec<String> = deps.iter().rev().map(|v| v.name.clone()).collect();
    if let [one] = deps.as_slice() {
        r.notices.push(notice("00000", format!("drop cascades to {} {}", kind(one), shown(&one.name))));
    } else {
        let list: Vec<String> =
            deps.iter().map(|v| format!("drop cascades to {} {}", kind(v), shown(&v.name))).collect();
        r.notices
            .push(notice("00000", format!("drop cascades to {} other objects", names.len())).detail(list.join("\n")));
    }
    Ok(names)
}

pub(super) async fn drop_views(names: &[String], if_exists: bool, cascade: bool) -> Result<QueryResult> {
    let (r, present, cascaded) = check_drop_views(names, if_exists, cascade)?;
    let cascaded: Vec<String> = cascaded.iter().map(|d| d.name.clone()).collect();
    drop_relations(&cascaded).await?;
    drop_relations(&present).await?;
    Ok(r)
}

/// DROP VIEW's checks of `names`, every name before dropping any: the reply (with its
/// notices), the views named that exist, and (CASCADE) what reads them, in the order to drop
/// them (each before what it reads).
pub(super) fn check_drop_views(
    names: &[String],
    if_exists: bool,
    cascade: bool,
) -> Result<(QueryResult, Vec<String>, Vec<Arc<TableDef>>)> {
    let mut r = QueryResult { tag: "DROP VIEW".into(), ..Default::default() };
    let mut present = Vec::new();
    for n in names {
        match crate::bind::lookup_table(n) {
            Some(d) if d.view.is_some() && d.partition_of.is_none() => present.push(n.clone()),
            Some(d) if d.index_of.is_none() => {
                return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{n}\" is not a {}", "view"))
                    .hint(format!("Use DROP {} to remove a {}.", kind(&d).to_uppercase(), kind(&d))))
            }
            Some(_) => {
                return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{n}\" is not a view"))
                    .hint("Use DROP INDEX to remove an index."))
            }
            None if if_exists => r
                .notices
                .push(notice("00000", format!("view \"{}\" does not exist, skipping", crate::schema::relname(n)))),
            None => {
                return Err(SqlError::new(
                    code::UNDEFINED_TABLE,
                    format!("view \"{}\" does not exist", crate::schema::relname(n)),
                ))
            }
        }
    }
    if present.is_empty() {
        return Ok((r, present, Vec::new()));
    }
    let cascaded = check_dependents("view", &present, cascade, &mut r)?;
    let cascaded = cascaded.iter().filter_map(|n| crate::bind::lookup_table(n)).collect();
    Ok((r, present, cascaded))
}

#[cfg(test)]
mod tests {
    use super::names_column;
    use orbit_engine::table::TableDef;

    fn view(sql: &str) -> TableDef {
        TableDef { view: Some(sql.into()), ..TableDef::default_empty() }
    }

    #[test]
    fn a_view_uses_a_column_it_names_or_its_star() {
        assert!(names_column(&view("SELECT a FROM h"), "a", true));
        assert!(names_column(&view("SELECT * FROM h"), "a", true));
        assert!(names_column(&view("SELECT h.* FROM h"), "a", true));
        assert!(!names_column(&view("SELECT b FROM h"), "a", true));
        assert!(!names_column(&view("SELECT count(*) FROM h"), "a", true));
        assert!(!names_column(&view("SELECT b * 2 FROM h"), "a", true));
        assert!(names_column(&view("SELECT \"A\" FROM h"), "A", true));
        // A rename does not break a view's `*`.
        assert!(!names_column(&view("SELECT * FROM h"), "a", false));
        assert!(names_column(&view("SELECT a FROM h"), "a", false));
    }
}
