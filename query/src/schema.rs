//! Schemas (`CREATE SCHEMA`, PostgreSQL's namespaces) and how names find them: the session's
//! `search_path`, qualified names, and where CREATE puts a new relation.
//!
//! A schema is a catalog entry like a table's: a column-less [`TableDef`] under the name
//! `\u{2}<schema>` ([`MARK`]: a control character no unquoted name holds), created and dropped
//! through the same `TableCreate` / `TableDrop` log records, snapshots and re-sharding as
//! every table, with its OID from the catalog generation. A relation in schema `s` is the
//! catalog entry `s.<name>`; one in `public` keeps its bare name, so every record written
//! before schemas existed reads as before (docs/ARCHITECTURE.md, item 21).
//!
//! The binder resolves names synchronously against the local shard's catalog copy, so the
//! session's search path is handed to it in a thread-local ([`use_search_path`]) just before a
//! statement is bound (the connection does it; binding never yields), and set again before
//! every poll of the statement's run ([`with_search_path`]).

use crate::error::{code, Result, SqlError};
use orbit_engine::table::TableDef;
use std::cell::RefCell;
use std::sync::Arc;

/// The first character of a schema's catalog entry.
pub const MARK: char = '\u{2}';
pub const PUBLIC: &str = "public";
pub const PUBLIC_OID: u32 = 2200;
pub const PG_CATALOG_OID: u32 = 11;
pub const INFORMATION_SCHEMA_OID: u32 = 13000;
/// pg_database_owner, which owns `public` in PostgreSQL 15.
pub const DATABASE_OWNER_OID: u32 = 6171;
/// The session user (the one role; `"$user"` in the search path).
pub const USER: &str = "postgres";
/// The schemas every database has, which CREATE SCHEMA cannot make and DROP SCHEMA cannot drop.
pub const BUILT_IN: [(u32, &str); 3] =
    [(PG_CATALOG_OID, "pg_catalog"), (PUBLIC_OID, PUBLIC), (INFORMATION_SCHEMA_OID, "information_schema")];

thread_local! {
    /// The search path of the statement being bound on this thread (see the module comment).
    /// With its entries parsed once (`$user` expanded), as [`path`] reads them on every name.
    static SEARCH_PATH: RefCell<(String, Vec<String>)> =
        RefCell::new((DEFAULT_SEARCH_PATH.to_string(), entries(DEFAULT_SEARCH_PATH)));
}

pub const DEFAULT_SEARCH_PATH: &str = "\"$user\", public";

/// Sets the search path the next statements bound on this thread resolve names with (the
/// value as SHOW prints it).
pub fn use_search_path(value: &str) {
    SEARCH_PATH.with(|p| {
        if p.borrow().0 != value {
            *p.borrow_mut() = (value.to_string(), entries(value));
        }
    });
}

/// A catalog entry of this shard's copy (None also where the shard's state is borrowed
/// further up the stack, as while an expression is evaluated on a shard).
fn def(name: &str) -> Option<Arc<TableDef>> {
    orbit_shards::state::try_with_shard(|s| s.tables.def(name)).flatten()
}

/// Runs `fut` with `path` as the search path: set before each poll, so code a statement runs
/// between its awaits resolves names with its session's path even when other sessions on this
/// thread ran (and set theirs) while it waited.
pub async fn with_search_path<F: std::future::Future>(path: &str, pid: i32, fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        use_search_path(path);
        // The session's temporary schema is found by its pid.
        crate::catalog::use_binding_pid(pid);
        fut.as_mut().poll(cx)
    })
    .await
}

/// The catalog entry of schema `name`.
pub fn entry(name: &str) -> String {
    format!("{MARK}{name}")
}

/// Whether a catalog name is a schema's entry.
pub fn is_entry(name: &str) -> bool {
    name.starts_with(MARK)
}

/// The catalog name of relation `rel` in schema `schema`.
pub fn qualify(schema: &str, rel: &str) -> String {
    if schema == PUBLIC {
        rel.to_string()
    } else {
        format!("{schema}.{rel}")
    }
}

/// A relation's catalog name as (schema, name in the schema).
pub fn split(name: &str) -> (&str, &str) {
    match name.split_once('.') {
        Some((s, r)) if !is_entry(name) => (s, r),
        _ => (PUBLIC, name),
    }
}

/// The name of a relation within its schema (what pg_class.relname holds).
pub fn relname(name: &str) -> &str {
    split(name).1
}

/// A relation's catalog name as a client writes it qualified: `s.t` (`public.t` for public).
pub fn qualified_display(name: &str) -> String {
    let (s, r) = split(name);
    format!("{s}.{r}")
}

/// The schemas made by CREATE SCHEMA, from a shard's catalog: (name, definition) in name order
/// (a schema a transaction's DROP SCHEMA hid is not listed).
pub fn created_in(tables: &orbit_engine::table::Tables) -> Vec<(String, Arc<TableDef>)> {
    tables
        .names()
        .filter(|n| is_entry(n) && !n.contains(crate::exec::undo::HIDDEN))
        .filter_map(|n| Some((n[MARK.len_utf8()..].to_string(), tables.def(n)?)))
        .collect()
}

/// Every schema with its OID and owner's OID: the built-in ones, then those CREATE SCHEMA made,
/// as this shard's catalog copy has them.
pub fn all() -> Vec<(u32, String, u32)> {
    let mut out: Vec<(u32, String, u32)> = BUILT_IN
        .iter()
        .map(|(oid, n)| (*oid, n.to_string(), if *n == PUBLIC { DATABASE_OWNER_OID } else { 10 }))
        .collect();
    let made = orbit_shards::state::try_with_shard(|s| created_in(&s.tables)).unwrap_or_default();
    out.extend(made.into_iter().map(|(n, d)| (d.oid, n, 10)));
    out
}

/// A schema's OID, if it exists.
pub fn oid_of(name: &str) -> Option<u32> {
    if let Some((oid, _)) = BUILT_IN.iter().find(|(_, n)| *n == name) {
        return Some(*oid);
    }
    def(&entry(name)).map(|d| d.oid)
}

/// A schema's name from its OID.
pub fn name_of(oid: u32) -> Option<String> {
    all().into_iter().find(|(o, _, _)| *o == oid).map(|(_, n, _)| n)
}

pub fn exists(name: &str) -> bool {
    oid_of(name).is_some()
}

/// The OID of the schema a relation's catalog name is in (public's for a schema that is gone).
pub fn namespace_of(name: &str) -> u32 {
    oid_of(split(name).0).unwrap_or(PUBLIC_OID)
}

/// The search path's entries as written (`"$user"` still unexpanded), unquoted.
pub fn parse_list(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut name = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        name.push('"');
                    }
                    '"' => break,
                    c => name.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                name.push(c.to_ascii_lowercase());
                chars.next();
            }
            name = name.trim_end().to_string();
        }
        if !name.is_empty() {
            out.push(name);
        }
        while chars.peek().is_some_and(|c| *c != ',') {
            chars.next();
        }
        if chars.next().is_none() {
            return out;
        }
    }
}

/// The schemas of the search path that exist, in order (`$user` is the session user's
/// schema), without the implicit pg_catalog.
pub fn path() -> Vec<String> {
    SEARCH_PATH.with(|p| {
        let mut out: Vec<String> = Vec::new();
        for n in &p.borrow().1 {
            if exists(n) && !out.contains(n) {
                out.push(n.clone());
            }
        }
        out
    })
}

/// The schemas searched for a relation's unqualified name: the session's temporary schema
/// first (where `pg_temp` is listed, else before the rest, as PostgreSQL searches it), then
/// [`path`]'s.
pub fn relation_path() -> Vec<String> {
    let mut out = path();
    if let Some(temp) = crate::temp_tables::current() {
        let at = SEARCH_PATH.with(|p| {
            let p = p.borrow();
            let listed: Vec<&String> = p.1.iter().filter(|n| *n == "pg_temp" || exists(n)).collect();
            listed.iter().position(|n| *n == "pg_temp").map(|i| listed[..i].iter().filter(|n| **n != "pg_temp").count())
        });
        out.insert(at.unwrap_or(0).min(out.len()), temp);
    }
    out
}

/// A search path's entries, `$user` expanded (whether each schema exists is asked at each use).
fn entries(raw: &str) -> Vec<String> {
    parse_list(raw).into_iter().map(|n| if n == "$user" { USER.to_string() } else { n }).collect()
}

/// `current_schema()`: the first schema of the path that exists.
pub fn current() -> Option<String> {
    path().into_iter().find(|s| s != "pg_catalog")
}

/// `current_schemas(implicit)`: the path's existing schemas, with pg_catalog first when
/// `implicit` and it is not listed.
pub fn current_schemas(implicit: bool) -> Vec<String> {
    let mut p = path();
    if implicit && !p.iter().any(|s| s == "pg_catalog") {
        p.insert(0, "pg_catalog".into());
    }
    p
}

/// Where an unqualified CREATE puts its relation: the first existing schema of the path.
pub fn creation_schema() -> Result<String> {
    current().ok_or_else(|| SqlError::new("3F000", "no schema has been selected to create in"))
}

/// An unqualified relation name being looked up: the catalog name of the first relation of
/// that name along the search path. If there is none: the bare name when that names nothing
/// either (so "does not exist" errors print it as PostgreSQL does), else (public holds one but
/// is off the path) the name CREATE would give it.
pub fn resolve_unqualified(rel: &str) -> Result<String> {
    let path = relation_path();
    for s in &path {
        let full = qualify(s, rel);
        if def(&full).is_some() {
            return Ok(full);
        }
    }
    if def(rel).is_none() {
        return Ok(rel.to_string());
    }
    match path.first() {
        Some(s) => Ok(qualify(s, rel)),
        None => Err(SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{rel}\" does not exist"))),
    }
}

/// An unqualified sequence name: the first schema along the path (the session's temporary
/// one first) with a sequence of that name (its catalog entry, [`crate::sequence::entry`]),
/// else as [`resolve_unqualified`] names it.
pub fn resolve_unqualified_sequence(rel: &str) -> Result<String> {
    for s in relation_path() {
        let full = qualify(&s, rel);
        if def(&crate::sequence::entry(&full)).is_some() {
            return Ok(full);
        }
    }
    resolve_unqualified(rel)
}

/// An unqualified name CREATE gives a new relation: in the first existing schema of the path.
pub fn create_unqualified(rel: &str) -> Result<String> {
    Ok(qualify(&creation_schema()?, rel))
}

/// A name qualified by schema `schema`: its catalog name, or 3F000 when the schema does not
/// exist. The system schemas hold no user relations.
pub fn resolve_qualified(schema: &str, rel: &str) -> Result<String> {
    if schema == "pg_temp" {
        // The session's own temporary schema (none yet: nothing is in it).
        return match crate::temp_tables::current() {
            Some(temp) => Ok(qualify(&temp, rel)),
            None => Err(SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{schema}.{rel}\" does not exist"))),
        };
    }
    if matches!(schema, "pg_catalog" | "information_schema") {
        return Err(SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{schema}.{rel}\" does not exist")));
    }
    if !exists(schema) {
        return Err(SqlError::new("3F000", format!("schema \"{schema}\" does not exist")));
    }
    Ok(qualify(schema, rel))
}

/// Whether a user relation is found by its bare name (pg_table_is_visible): its schema is on
/// the path and no schema before it has a relation of that name.
/// A relation as PostgreSQL's object descriptions name it: bare when the search path finds it
/// so, else qualified by its schema.
pub fn shown(name: &str) -> String {
    if is_visible(name) {
        relname(name).to_string()
    } else {
        qualified_display(name)
    }
}

pub fn is_visible(name: &str) -> bool {
    let (schema, rel) = split(name);
    for s in relation_path() {
        if s == schema {
            return true;
        }
        if def(&qualify(&s, rel)).is_some() {
            return false;
        }
    }
    false
}

/// A name CREATE SCHEMA may use: not empty, no dot (a relation's catalog name is
/// `schema.name`), not `pg_`-prefixed (42939, as PostgreSQL reserves it).
pub fn check_new_name(name: &str) -> Result<()> {
    if name.starts_with("pg_") {
        return Err(SqlError::new("42939", format!("unacceptable schema name \"{name}\""))
            .detail("The prefix \"pg_\" is reserved for system schemas."));
    }
    if name.contains('.') || name.contains(MARK) || name.contains(crate::exec::undo::HIDDEN) {
        return Err(SqlError::unsupported(format!("schema names containing \".\" are not supported: \"{name}\"")));
    }
    Ok(())
}

/// A schema statement, bound ([`crate::bind::schema`]) and run by [`crate::exec::schema`].
#[derive(Debug, Clone)]
pub enum SchemaPlan {
    /// `CREATE SCHEMA [IF NOT EXISTS] name [AUTHORIZATION role]`.
    Create { name: String, if_not_exists: bool },
    /// `DROP SCHEMA [IF EXISTS] names [CASCADE | RESTRICT]`.
    Drop { names: Vec<String>, if_exists: bool, cascade: bool },
    /// `ALTER SCHEMA name RENAME TO new_name`.
    Rename { name: String, new_name: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_and_qualify() {
        assert_eq!(qualify("public", "t"), "t");
        assert_eq!(qualify("s", "t"), "s.t");
        assert_eq!(split("s.t"), ("s", "t"));
        assert_eq!(split("t"), ("public", "t"));
        assert_eq!(split("\u{2}s"), ("public", "\u{2}s"));
        assert_eq!(qualified_display("t"), "public.t");
    }

    #[test]
    fn search_path_lists_parse_as_postgresql_writes_them() {
        assert_eq!(parse_list("\"$user\", public"), vec!["$user", "public"]);
        assert_eq!(parse_list("s, \"a b\", \"X\""), vec!["s", "a b", "X"]);
        assert_eq!(parse_list("A ,b"), vec!["a", "b"]);
        assert_eq!(parse_list(""), Vec::<String>::new());
        assert_eq!(parse_list("\"x\"\"y\""), vec!["x\"y"]);
    }

    #[test]
    fn reserved_names() {
        assert_eq!(check_new_name("pg_x").unwrap_err().code, "42939");
        assert_eq!(check_new_name("a.b").unwrap_err().code, "0A000");
        assert!(check_new_name("s").is_ok());
    }
}
