//! Extensions (`CREATE EXTENSION`, `DROP EXTENSION`, pg_extension). Orbit provides one:
//! `uuid-ossp` (version 1.1), whose functions — uuid_generate_v1, _v1mc, _v3, _v4, _v5,
//! uuid_nil and uuid_ns_dns/_url/_oid/_x500 — are built in (`bind/functions.rs`) and callable
//! once the extension is created, from the schema it was created in, as in PostgreSQL. Any
//! other extension is not available (0A000).
//!
//! An extension is a catalog entry as an enum type is ([`crate::catalog_types`]): a
//! [`TableDef`] named `\u{9}<extension>` ([`MARK`]) on every shard, created and dropped through
//! the same log records, DDL steps, ROLLBACK undo and crash journal (`exec/extensions.rs`); its
//! columns `schema` and `version` hold those as their defaults' text.

use crate::error::{Result, SqlError};
use orbit_engine::table::{ColumnDef, Datum, SqlType, TableDef};

/// The first character of an extension's catalog entry.
pub const MARK: char = '\u{9}';

/// Whether a catalog name is an extension's entry.
pub fn is_entry(name: &str) -> bool {
    name.starts_with(MARK)
}

/// The extensions Orbit has: (name, default version, comment, its functions).
const AVAILABLE: &[(&str, &str, &str, &[&str])] = &[(
    "uuid-ossp",
    "1.1",
    "generate universally unique identifiers (UUIDs)",
    &[
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v3",
        "uuid_generate_v4",
        "uuid_generate_v5",
        "uuid_nil",
        "uuid_ns_dns",
        "uuid_ns_oid",
        "uuid_ns_url",
        "uuid_ns_x500",
    ],
)];

/// An installed extension.
#[derive(Debug, Clone, PartialEq)]
pub struct Extension {
    pub oid: u32,
    pub name: String,
    /// The schema its objects live in.
    pub schema: String,
    pub version: String,
}

impl crate::catalog_types::CatalogType for Extension {
    const MARK: char = MARK;

    fn of_def(def: &TableDef) -> Option<Extension> {
        Extension::of_def(def)
    }

    fn oid(&self) -> u32 {
        self.oid
    }
}

impl Extension {
    /// The extension a catalog entry describes (None for another entry).
    pub fn of_def(def: &TableDef) -> Option<Extension> {
        let name = def.name.strip_prefix(MARK)?;
        let text = |col: &str| match def.column(col).map(|i| &def.columns[i].default) {
            Some(Datum::Text(s)) => Some(s.clone()),
            _ => None,
        };
        Some(Extension {
            oid: crate::catalog_types::type_oid(def)?,
            name: name.to_string(),
            schema: text("schema")?,
            version: text("version")?,
        })
    }

    /// Its catalog entry (the relation OID is given when it is created).
    pub fn to_def(&self) -> TableDef {
        let column = |name: &str, value: &str| ColumnDef {
            default: Datum::Text(value.to_string()),
            ..ColumnDef::new(name.to_string(), SqlType::Text)
        };
        TableDef {
            name: format!("{MARK}{}", self.name),
            columns: vec![column("schema", &self.schema), column("version", &self.version)],
            pk_name: self.oid.to_string(),
            ..TableDef::default_empty()
        }
    }

    /// Its description (pg_description's, as the extension's control file gives it).
    pub fn comment(&self) -> Option<&'static str> {
        AVAILABLE.iter().find(|a| a.0 == self.name).map(|a| a.2)
    }
}

/// CREATE / DROP EXTENSION, bound.
#[derive(Debug, Clone)]
pub enum ExtensionPlan {
    Create { name: String, if_not_exists: bool, schema: String, version: String },
    Drop { names: Vec<String>, if_exists: bool, cascade: bool },
}

/// Extension `name` as installed (the local catalog copy, as the binder sees it).
pub fn installed(name: &str) -> Option<Extension> {
    crate::bind::lookup_table(&format!("{MARK}{name}")).and_then(|d| Extension::of_def(&d))
}

/// Every installed extension, by OID.
pub fn all() -> Vec<Extension> {
    let mut out: Vec<Extension> = orbit_shards::state::with_shard(|s| {
        s.tables.names().filter(|n| is_entry(n)).filter_map(|n| s.tables.def(n)).collect::<Vec<_>>()
    })
    .iter()
    .filter(|d| !d.name.contains(crate::exec::undo::HIDDEN))
    .filter_map(|d| Extension::of_def(d))
    .collect();
    out.sort_by_key(|e| e.oid);
    out
}

/// The available extension `name`: its default version; PostgreSQL 15's error for one that
/// is not there.
pub fn available(name: &str) -> Result<&'static str> {
    match AVAILABLE.iter().find(|a| a.0 == name) {
        Some(a) => Ok(a.1),
        None => Err(SqlError::unsupported(format!(
            "extension \"{name}\" is not available: Orbit provides {}",
            AVAILABLE.iter().map(|a| format!("\"{}\"", a.0)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Whether `function` is an extension's, and then whether a call of it (unqualified, or
/// qualified with `schema`) reaches it: its extension installed, in that schema or (unqualified)
/// one on the search path.
pub fn function_callable(function: &str, schema: Option<&str>) -> Option<bool> {
    let (ext, ..) = AVAILABLE.iter().map(|a| (a.0, a.3)).find(|(_, fns)| fns.contains(&function))?;
    let Some(e) = installed(ext) else { return Some(false) };
    Some(match schema {
        Some(s) => s == e.schema,
        None => crate::schema::path().contains(&e.schema),
    })
}

/// DROP EXTENSION's refusal when objects use its functions (PostgreSQL's 2BP01, with the
/// dependent objects in the DETAIL): column DEFAULTs, views and SQL functions naming one.
pub fn dependents(ext: &Extension) -> Vec<String> {
    let Some((_, _, _, fns)) = AVAILABLE.iter().find(|a| a.0 == ext.name) else { return Vec::new() };
    let names = |text: &str| {
        let lower = text.to_lowercase();
        fns.iter().filter(|f| lower.contains(&format!("{f}("))).map(|f| f.to_string()).collect::<Vec<String>>()
    };
    let mut out = Vec::new();
    for t in crate::catalog::user_tables() {
        let shown = crate::schema::shown(&t.name);
        if let Some(q) = t.view.as_deref().or(t.matview.as_ref().map(|m| m.query.as_str())) {
            for f in names(q) {
                let kind = if t.view.is_some() { "view" } else { "materialized view" };
                out.push(format!("{kind} {shown} depends on function {f}()"));
            }
            continue;
        }
        for c in &t.columns {
            for f in c.default_expr.as_deref().map(names).unwrap_or_default() {
                out.push(format!("default value for column {} of table {shown} depends on function {f}()", c.name));
            }
        }
    }
    out
}
