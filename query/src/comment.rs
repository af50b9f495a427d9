//! Comments (`COMMENT ON`, <https://www.postgresql.org/docs/15/sql-comment.html>): what
//! pg_description and pg_shdescription hold, and obj_description / col_description /
//! shobj_description and psql's `\d+` read.
//!
//! A comment is a catalog entry like a schema's or a sequence's: a column-less [`TableDef`]
//! named [`MARK`] + kind + [`MARK`] + the object's name (+ [`MARK`] + a column's or
//! constraint's name), whose `pk_name` holds the text. So it is created and dropped through the
//! same `TableCreate` / `TableDrop` log records (no new record: older logs read as before),
//! snapshots and re-sharding as every table, decided on shard 0 and copied to every shard's
//! catalog, and undone by ROLLBACK with the transaction's other DDL.
//!
//! Comments are keyed by name, not OID: Orbit gives a table a new OID when ALTER TABLE or
//! CREATE INDEX changes it, and the comment must stay. The object's OID is looked up when
//! pg_description is read; a comment whose object is gone is not listed, and is dropped after
//! the next DDL commits ([`sweep`]) and at start-up. An empty entry overrides one of initdb's
//! built-in comments (the public schema's, the database's) that `IS NULL` removed.

use orbit_engine::table::{Datum, TableDef};
use std::sync::Arc;

/// The first character of a comment's catalog entry, and the separator inside it.
pub const MARK: char = '\u{4}';

pub const PG_CLASS: i64 = 1259;
pub const PG_CONSTRAINT: i64 = 2606;
pub const PG_NAMESPACE: i64 = 2615;
pub const PG_DATABASE: i64 = 1262;
pub const PG_TYPE: i64 = 1247;
pub const PG_EXTENSION: i64 = 3079;
/// Database postgres's OID.
const DATABASE_OID: i64 = 5;

/// What a comment is on (names as the catalog keeps them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// A table, view, index or sequence (its catalog name).
    Relation(String),
    /// A column of a table or view.
    Column(String, String),
    /// A constraint of a table.
    Constraint(String, String),
    Schema(String),
    Database(String),
    /// A domain or an enum type (its catalog name).
    Type(String),
    /// An installed extension.
    Extension(String),
}

/// COMMENT ON object IS text (None, or '': remove it).
#[derive(Debug, Clone)]
pub struct CommentPlan {
    pub object: Object,
    pub text: Option<String>,
}

/// The catalog entry of a comment on `o`.
pub fn entry(o: &Object) -> String {
    match o {
        Object::Relation(r) => format!("{MARK}r{MARK}{r}"),
        Object::Column(r, c) => format!("{MARK}c{MARK}{r}{MARK}{c}"),
        Object::Constraint(r, c) => format!("{MARK}k{MARK}{r}{MARK}{c}"),
        Object::Schema(s) => format!("{MARK}n{MARK}{s}"),
        Object::Database(d) => format!("{MARK}d{MARK}{d}"),
        Object::Type(t) => format!("{MARK}t{MARK}{t}"),
        Object::Extension(x) => format!("{MARK}x{MARK}{x}"),
    }
}

/// Whether a catalog name is a comment's entry.
pub fn is_entry(name: &str) -> bool {
    name.starts_with(MARK)
}

/// The object of a comment's entry (None: not one, or one a transaction's DDL hid).
pub fn object_of(name: &str) -> Option<Object> {
    if name.contains(crate::exec::undo::HIDDEN) {
        return None;
    }
    let rest = name.strip_prefix(MARK)?;
    let mut parts = rest.splitn(3, MARK);
    let (kind, first, second) = (parts.next()?, parts.next()?, parts.next());
    Some(match (kind, second) {
        ("r", None) => Object::Relation(first.into()),
        ("c", Some(c)) => Object::Column(first.into(), c.into()),
        ("k", Some(c)) => Object::Constraint(first.into(), c.into()),
        ("n", None) => Object::Schema(first.into()),
        ("d", None) => Object::Database(first.into()),
        ("t", None) => Object::Type(first.into()),
        ("x", None) => Object::Extension(first.into()),
        _ => return None,
    })
}

/// initdb's comment on the object, which pg_description / pg_shdescription list unless a
/// COMMENT ON replaced or removed it.
pub fn built_in(o: &Object) -> Option<&'static str> {
    match o {
        Object::Schema(s) if s == crate::schema::PUBLIC => Some("standard public schema"),
        Object::Database(d) if d == "postgres" => Some("default administrative connection database"),
        // CREATE EXTENSION's comment, from the extension's control file.
        Object::Extension(x) => crate::extensions::installed(x).and_then(|e| e.comment()),
        _ => None,
    }
}

/// The comments in this shard's catalog copy: (object, text; empty: a built-in one removed).
pub fn stored() -> Vec<(Object, String)> {
    orbit_shards::state::try_with_shard(|s| {
        s.tables
            .names()
            .filter(|n| is_entry(n))
            .filter_map(|n| Some((object_of(n)?, s.tables.def(n)?.pk_name.clone())))
            .collect::<Vec<_>>()
    })
    .unwrap_or_default()
}

/// The user tables and views of this shard's catalog by catalog name.
fn table(tables: &[Arc<TableDef>], name: &str) -> Option<Arc<TableDef>> {
    tables.iter().find(|t| t.name == name).cloned()
}

/// The object's (objoid, classoid, objsubid) as pg_description names it, if it exists now.
fn address(o: &Object, tables: &[Arc<TableDef>], relations: &[(u32, u32, String, char)]) -> Option<(i64, i64, i32)> {
    match o {
        Object::Relation(r) => {
            let (ns, rel) = (crate::schema::namespace_of(r), crate::schema::relname(r));
            let (oid, ..) = relations.iter().find(|(_, n, name, _)| *n == ns && name == rel)?;
            Some((*oid as i64, PG_CLASS, 0))
        }
        Object::Column(r, c) => {
            let t = table(tables, r)?;
            let at = t.columns.iter().position(|col| col.name == *c)?;
            Some((t.oid as i64, PG_CLASS, at as i32 + 1))
        }
        Object::Constraint(r, c) => {
            let t = table(tables, r)?;
            let (oid, ..) = crate::catalog::constraints_of(&t).into_iter().find(|k| k.1 == *c)?;
            Some((oid, PG_CONSTRAINT, 0))
        }
        Object::Schema(s) => Some((crate::schema::oid_of(s)? as i64, PG_NAMESPACE, 0)),
        Object::Database(d) => (d == "postgres").then_some((DATABASE_OID, PG_DATABASE, 0)),
        Object::Type(t) => {
            let oid = crate::domains::lookup_name(t)
                .map(|d| d.oid)
                .or_else(|| crate::enums::lookup_name(t).map(|e| e.oid))?;
            Some((oid as i64, PG_TYPE, 0))
        }
        Object::Extension(x) => Some((crate::extensions::installed(x)?.oid as i64, PG_EXTENSION, 0)),
    }
}

/// pg_description's rows: (objoid, classoid, objsubid, description), built-in comments
/// first unless replaced; a comment whose object is gone is left out.
pub fn description_rows() -> Vec<Vec<Datum>> {
    let stored = stored();
    let tables = crate::catalog::user_tables();
    let sequences = orbit_shards::state::try_with_shard(|s| crate::sequence::entries_in(&s.tables)).unwrap_or_default();
    let relations = crate::catalog::relations(&tables, &sequences);
    let mut out = Vec::new();
    let public = Object::Schema(crate::schema::PUBLIC.into());
    if !stored.iter().any(|(o, _)| *o == public) {
        let text = built_in(&public).unwrap_or_default();
        out.push(row(crate::schema::PUBLIC_OID as i64, PG_NAMESPACE, 0, text));
    }
    // The installed extensions' own comments, unless COMMENT ON replaced or removed them.
    for e in crate::extensions::all() {
        let o = Object::Extension(e.name.clone());
        if let (false, Some(text)) = (stored.iter().any(|(s, _)| *s == o), e.comment()) {
            out.push(row(e.oid as i64, PG_EXTENSION, 0, text));
        }
    }
    for (o, text) in &stored {
        if text.is_empty() || matches!(o, Object::Database(_)) {
            continue;
        }
        if let Some((oid, class, sub)) = address(o, &tables, &relations) {
            out.push(row(oid, class, sub, text));
        }
    }
    out
}

fn row(oid: i64, class: i64, sub: i32, text: &str) -> Vec<Datum> {
    vec![Datum::Int8(oid), Datum::Int8(class), Datum::Int4(sub), Datum::Text(text.into())]
}

/// pg_shdescription's rows: (objoid, classoid, description) — the database's comment.
pub fn shdescription_rows() -> Vec<Vec<Datum>> {
    let db = Object::Database("postgres".into());
    let text = match stored().into_iter().find(|(o, _)| *o == db) {
        Some((_, t)) => t,
        None => built_in(&db).unwrap_or_default().to_string(),
    };
    if text.is_empty() {
        return Vec::new();
    }
    vec![vec![Datum::Int8(DATABASE_OID), Datum::Int8(PG_DATABASE), Datum::Text(text)]]
}

/// Whether the object of a comment still exists in a shard's catalog (also hidden by an open
/// block's DROP, which a ROLLBACK may bring back; or created by an open block).
fn object_exists(tables: &orbit_engine::table::Tables, o: &Object) -> bool {
    let hidden = crate::exec::undo::HIDDEN;
    let def = |name: &str| {
        tables.def(name).or_else(|| {
            let prefix = format!("{name}{hidden}");
            tables.names().find(|n| n.starts_with(&prefix)).and_then(|n| tables.def(n))
        })
    };
    match o {
        Object::Relation(r) => {
            let (schema, rel) = crate::schema::split(r);
            def(r).is_some()
                || def(&crate::sequence::entry(r)).is_some()
                || tables.names().filter_map(|n| tables.def(n)).any(|d| {
                    d.index_of.is_none()
                        && !d.has_row_id()
                        && crate::schema::split(&d.name).0 == schema
                        && crate::schema::relname(&d.pk_name) == rel
                })
        }
        Object::Column(r, c) => def(r).is_some_and(|d| d.columns.iter().any(|col| col.name == *c)),
        // Its constraints are listed outside the shard's borrow ([`sweep`]).
        Object::Constraint(r, _) => def(r).is_some(),
        Object::Schema(s) => s == crate::schema::PUBLIC || def(&crate::schema::entry(s)).is_some(),
        Object::Database(_) => true,
        Object::Type(t) => def(&crate::domains::entry(t)).is_some() || def(&crate::enums::entry(t)).is_some(),
        Object::Extension(x) => def(&format!("{}{x}", crate::extensions::MARK)).is_some(),
    }
}

thread_local! {
    /// The catalog generation this shard's last [`sweep`] saw.
    static SWEPT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Drops the comments whose objects are gone (durably, on every shard) — after a commit, when
/// DDL changed the catalog since the last sweep on this shard, and at start-up. The DROP of
/// an object thus takes its comments with it.
pub async fn sweep() {
    let Some((generation, orphans)) = orbit_shards::state::try_with_shard(|s| {
        let generation = s.tables.generation_seen();
        if SWEPT.with(|g| g.get()) == generation {
            return (generation, (Vec::new(), Vec::new()));
        }
        let mut orphans = Vec::new();
        let mut constraints = Vec::new();
        for n in s.tables.names().filter(|n| is_entry(n)) {
            let Some(o) = object_of(n) else { continue };
            if !object_exists(&s.tables, &o) {
                orphans.push(n.clone());
            } else if let Object::Constraint(r, c) = o {
                constraints.push((n.clone(), s.tables.def(&r), c));
            }
        }
        (generation, (orphans, constraints))
    }) else {
        return;
    };
    let (mut orphans, constraints) = orphans;
    for (n, def, c) in constraints {
        if def.is_some_and(|d| !crate::catalog::constraints_of(&d).iter().any(|k| k.1 == c)) {
            orphans.push(n);
        }
    }
    SWEPT.with(|g| g.set(generation));
    if orphans.is_empty() {
        return;
    }
    if let Err(e) = crate::exec::drop_relations(&orphans).await {
        tracing::warn!(error = %e.message, "cannot drop the comments of dropped objects");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_name_their_objects() {
        for o in [
            Object::Relation("s.t".into()),
            Object::Column("t".into(), "a.b".into()),
            Object::Constraint("t".into(), "t_pkey".into()),
            Object::Schema("s".into()),
            Object::Database("postgres".into()),
        ] {
            assert!(is_entry(&entry(&o)));
            assert_eq!(object_of(&entry(&o)), Some(o));
        }
        assert_eq!(object_of(&format!("{}{}7", entry(&Object::Schema("s".into())), crate::exec::undo::HIDDEN)), None);
        assert_eq!(object_of("t"), None);
    }
}
