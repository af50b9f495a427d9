//! CREATE INDEX's per-key options: ASC/DESC and NULLS FIRST/LAST (PostgreSQL's pg_index
//! indoption bits) and the btree operator class. Orbit keeps an index's entries in one order
//! and no read walks an index in order, so both are what the catalog reports (pg_index,
//! pg_get_indexdef, psql's `\d`, pg_dump) and change no lookup: every btree operator class
//! Orbit takes orders its type as the default one does (text compares by bytes, so
//! `text_pattern_ops` is the C-collation order the default already is). Django makes a
//! `varchar_pattern_ops` index for every indexed `CharField`.

use crate::error::{code, Result, SqlError};
use orbit_engine::table::{IndexDef, SqlType};
use sqlparser::ast;

/// A key's indoption bits: DESC sets [`IndexDef::DESC`]; NULLS FIRST, written or implied by
/// DESC, sets [`IndexDef::NULLS_FIRST`].
pub fn key_option(o: &ast::OrderByOptions) -> Result<u16> {
    let desc = match &o.sort {
        None | Some(ast::OrderBySort::Asc) => false,
        Some(ast::OrderBySort::Desc) => true,
        // PostgreSQL's index_elem has no USING (its grammar stops there).
        Some(ast::OrderBySort::Using(_)) => return Err(SqlError::syntax("USING")),
    };
    let nulls_first = o.nulls_first.unwrap_or(desc);
    Ok(if desc { IndexDef::DESC } else { 0 } | if nulls_first { IndexDef::NULLS_FIRST } else { 0 })
}

/// The text pg_get_indexdef puts after a key for its indoption bits.
pub fn option_text(bits: u16) -> &'static str {
    let desc = bits & IndexDef::DESC != 0;
    match (desc, bits & IndexDef::NULLS_FIRST != 0) {
        (false, false) | (true, true) => {
            if desc {
                " DESC"
            } else {
                ""
            }
        }
        (false, true) => " NULLS FIRST",
        (true, false) => " DESC NULLS LAST",
    }
}

/// The operator class named for a key of type `ty`: its OID, or 0 for none named or the
/// type's default (kept as 0, as "default", so that it follows the column's type).
pub fn opclass(name: Option<&ast::ObjectName>, ty: SqlType) -> Result<u32> {
    let Some(name) = name else { return Ok(0) };
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(crate::bind::fold_ident).collect();
    let n = match parts.as_slice() {
        [n] => n.as_str(),
        [schema, n] if schema == "pg_catalog" => n.as_str(),
        [schema, _] => {
            return Err(SqlError::new(code::UNDEFINED_OBJECT, format!("schema \"{schema}\" does not exist")))
        }
        _ => return Err(SqlError::syntax(&name.to_string())),
    };
    let Some((oid, input)) = crate::catalog_objects::opclass_named(n) else {
        return Err(SqlError::new(
            code::UNDEFINED_OBJECT,
            format!("operator class \"{n}\" does not exist for access method \"btree\""),
        ));
    };
    if !binary_coercible(ty, input) {
        return Err(SqlError::new(
            code::DATATYPE_MISMATCH,
            format!("operator class \"{n}\" does not accept data type {}", type_name(ty)),
        ));
    }
    Ok(if crate::catalog_objects::default_opclass(ty) == oid as i64 { 0 } else { oid })
}

/// Whether a value of `ty` is taken as the operator class's input type `input` without a
/// conversion (PostgreSQL's IsBinaryCoercible, for the types Orbit has).
fn binary_coercible(ty: SqlType, input: i64) -> bool {
    const TEXT: i64 = 25;
    const BPCHAR: i64 = 1042;
    const ANYARRAY: i64 = 2277;
    match ty {
        SqlType::Text | SqlType::Varchar(_) => input == TEXT || input == BPCHAR,
        SqlType::Array(_) => input == ANYARRAY,
        SqlType::Oid(_) => input == 26,
        t => t.oid() as i64 == input,
    }
}

/// The text pg_get_indexdef puts after a key for its operator class (empty: the default).
pub fn opclass_text(oid: u32) -> String {
    if oid == 0 {
        return String::new();
    }
    crate::catalog_objects::opclass_name(oid).map_or_else(String::new, |n| format!(" {n}"))
}

/// format_type_be's name of `ty` (no type modifier), as PostgreSQL's messages print it.
fn type_name(ty: SqlType) -> String {
    match ty {
        SqlType::Array(_) => crate::catalog::literal_type_name(ty),
        _ => crate::catalog::standard_type_name(ty),
    }
}
