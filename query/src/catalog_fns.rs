//! Catalog functions drivers and psql call: `pg_get_serial_sequence(table, column)`,
//! `pg_collation_is_visible(oid)`, `pg_type_is_visible(oid)`, `pg_get_viewdef(view [, pretty])`, `quote_ident(text)` and
//! `current_setting(name)` of fixed parameters (a session parameter named by a constant binds
//! to the session's value: `bind/functions.rs`),
//! over this shard's copy of the catalog ([`crate::catalog`]).
//! (<https://www.postgresql.org/docs/15/functions-info.html>)

use crate::error::{code, Result, SqlError};
use orbit_engine::table::{Datum, OidKind, TableDef};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogFn {
    /// pg_get_serial_sequence(text, text): the sequence a SERIAL or identity column uses,
    /// schema-qualified (`public.t_id_seq`); NULL for a column without one.
    SerialSequence,
    /// pg_collation_is_visible(oid): Orbit's collations are all in pg_catalog, always visible.
    CollationIsVisible,
    /// pg_type_is_visible(oid): Orbit's types are all in pg_catalog (NULL for an OID no type has).
    TypeIsVisible,
    /// pg_get_viewdef(oid [, pretty]): a view's query as PostgreSQL prints it back
    /// ([`crate::viewdef`]), or the SQL text Orbit keeps where that printer stops.
    ViewDef,
    /// quote_ident(text).
    QuoteIdent,
    /// current_setting(name [, missing_ok]) of the parameters in [`FIXED_SETTINGS`].
    CurrentSetting,
    /// acldefault("char", oid): an object kind's default privileges
    /// ([`crate::catalog_dump::acldefault`]).
    AclDefault,
    /// set_config(name, value, is_local) for each row of a query: refused when it runs (the
    /// session's parameters are the connection's; `SELECT set_config(...)` alone is a SET).
    SetConfigPerRow,
    /// pg_encoding_to_char(int): an encoding's name.
    EncodingName,
}

/// The parameters current_setting() reads: those whose value no session can change in Orbit
/// (SET refuses other values), and default_table_access_method (Orbit's tables are all of one
/// kind, pg_am's heap). The others' values are the session's, kept with the connection: they
/// are refused (0A000) rather than answered with a default (SHOW reads them).
const FIXED_SETTINGS: &[(&str, &str)] = &[
    ("default_table_access_method", "heap"),
    ("in_hot_standby", "off"),
    ("integer_datetimes", "on"),
    ("IntervalStyle", "postgres"),
    ("is_superuser", "on"),
    ("lc_collate", "C.UTF-8"),
    ("lc_ctype", "C.UTF-8"),
    ("server_encoding", "UTF8"),
    ("server_version", "15.0"),
    ("server_version_num", "150000"),
    ("max_identifier_length", "63"),
    ("max_index_keys", "32"),
    ("standard_conforming_strings", "on"),
];

impl CatalogFn {
    pub fn strict(self) -> bool {
        self != CatalogFn::SetConfigPerRow
    }
}

fn text(d: &Datum) -> &str {
    match d {
        Datum::Text(s) => s,
        _ => "",
    }
}

/// The user table (or view) with this OID.
fn table_by_oid(oid: u32) -> Option<Arc<TableDef>> {
    crate::catalog::user_tables().into_iter().find(|t| t.oid == oid)
}

/// The sequence a column's DEFAULT takes values from (`nextval('s')`), as its catalog name.
pub(crate) fn column_sequence(c: &orbit_engine::table::ColumnDef) -> Option<String> {
    let seq = c.default_expr.as_deref()?.strip_prefix("nextval('")?.strip_suffix("')")?;
    Some(seq.replace("''", "'"))
}

/// A relation's name qualified by its schema, each part quoted as needed.
fn qualified(name: &str) -> String {
    let (schema, rel) = crate::schema::split(name);
    format!("{}.{}", crate::regtypes::quote_ident(schema), crate::regtypes::quote_ident(rel))
}

fn serial_sequence(table: &str, column: &str) -> Result<Datum> {
    let oid = crate::regtypes::parse(OidKind::RegClass, table)?;
    let Some(t) = table_by_oid(oid) else {
        // An index, sequence or system view: no columns with sequences.
        return Err(SqlError::new(
            code::UNDEFINED_COLUMN,
            format!(
                "column \"{column}\" of relation \"{}\" does not exist",
                crate::regtypes::format(OidKind::RegClass, oid)
            ),
        ));
    };
    let Some(c) = t.columns.iter().find(|c| c.name == column) else {
        return Err(SqlError::new(
            code::UNDEFINED_COLUMN,
            format!("column \"{column}\" of relation \"{}\" does not exist", crate::schema::relname(&t.name)),
        ));
    };
    // PostgreSQL answers for the sequence the column owns (SERIAL, identity, OWNED BY). Which
    // sequences a table owns is kept with the sequences, on other shards: here a `nextval`
    // default's sequence is taken to be the column's own (differs for a DEFAULT nextval('s')
    // written by hand, where PostgreSQL answers NULL).
    Ok(column_sequence(c).map_or(Datum::Null, |seq| Datum::Text(qualified(&seq))))
}

pub fn call(f: CatalogFn, args: Vec<Datum>) -> Result<Datum> {
    if f.strict() && args.iter().any(Datum::is_null) {
        return Ok(Datum::Null);
    }
    let a = |i: usize| args.get(i).unwrap_or(&Datum::Null);
    Ok(match f {
        CatalogFn::SerialSequence => serial_sequence(text(a(0)), text(a(1)))?,
        CatalogFn::CollationIsVisible => Datum::Bool(true),
        CatalogFn::TypeIsVisible => {
            let oid = a(0).as_i64().and_then(|v| u32::try_from(v).ok());
            // A domain or enum type: whether the search path finds it by its bare name.
            let user_type = oid.and_then(|o| {
                crate::domains::by_oid(o)
                    .map(|d| d.name.clone())
                    .or_else(|| crate::enums::by_oid(o).map(|e| e.name.clone()))
            });
            if let Some(name) = user_type {
                return Ok(Datum::Bool(crate::enums::display_name(&name) == crate::schema::relname(&name)));
            }
            match oid.and_then(orbit_engine::table::SqlType::from_oid) {
                Some(_) => Datum::Bool(true),
                None => Datum::Null,
            }
        }
        CatalogFn::ViewDef => {
            let oid = a(0).as_i64().and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
            match table_by_oid(oid) {
                Some(t) => match t.view.as_ref().or(t.matview.as_ref().map(|m| &m.query)) {
                    // PostgreSQL's text for the queries crate::viewdef prints, else the text kept.
                    Some(sql) => {
                        let names: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
                        let pretty = matches!(a(1), Datum::Bool(true));
                        Datum::Text(
                            crate::viewdef::deparse(sql, &names, pretty)
                                .unwrap_or_else(|| crate::catalog_dump::view_text(sql)),
                        )
                    }
                    None => Datum::Null,
                },
                None => Datum::Null,
            }
        }
        CatalogFn::QuoteIdent => Datum::Text(crate::regtypes::quote_ident(text(a(0)))),
        CatalogFn::EncodingName => Datum::Text(
            match a(0).as_i64() {
                Some(0) => "SQL_ASCII",
                Some(6) => "UTF8",
                Some(8) => "LATIN1",
                Some(n) if (0..=41).contains(&n) => {
                    return Err(SqlError::unsupported(format!("pg_encoding_to_char({n}): Orbit knows only UTF8")))
                }
                _ => "",
            }
            .to_string(),
        ),
        CatalogFn::SetConfigPerRow => {
            return Err(SqlError::unsupported(
                "set_config() is supported only alone: SELECT set_config('name', 'value', is_local)",
            ))
        }
        CatalogFn::AclDefault => crate::catalog_dump::acldefault(text(a(0)), a(1).as_i64().unwrap_or(0)),
        CatalogFn::CurrentSetting => {
            let name = text(a(0));
            match FIXED_SETTINGS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
                Some((_, v)) => Datum::Text(v.to_string()),
                None if crate::settings::canonical(name).is_none() => {
                    return Err(SqlError::new(
                        code::UNDEFINED_OBJECT,
                        format!("unrecognized configuration parameter \"{name}\""),
                    ))
                }
                // A name that is not a constant: the session's values are not here.
                None => {
                    return Err(SqlError::unsupported(format!(
                        "current_setting('{name}') is not supported here (SHOW {name} is)"
                    )))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_settings_are_the_parameters_defaults() {
        for (name, value) in super::FIXED_SETTINGS {
            if let Some(d) = crate::settings::default_value(name) {
                assert_eq!(d, *value, "{name}");
            }
        }
    }
}
