//! Binds the object size functions and pg_size_pretty ([`crate::catalog_sizes`]), and the
//! database-level functions psql's `\l+` calls: pg_encoding_to_char, has_database_privilege,
//! pg_tablespace_location (shobj_description: `privileges.rs`, over pg_shdescription).

use super::{no_function, Binder};
use crate::catalog_sizes::SizeFn;
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use crate::scalar::Builtin;
use crate::types::CastContext;
use orbit_engine::table::{Datum, OidKind, SqlType};

/// The functions bound here.
pub(super) fn is_size_function(name: &str) -> bool {
    matches!(
        name,
        "pg_relation_size"
            | "pg_table_size"
            | "pg_indexes_size"
            | "pg_total_relation_size"
            | "pg_database_size"
            | "pg_size_pretty"
            | "pg_tablespace_location"
            | "pg_encoding_to_char"
            | "has_database_privilege"
    )
}

/// PostgreSQL's encodings by number (pg_encoding_to_char; "" for another number).
const ENCODINGS: &[&str] = &[
    "SQL_ASCII",
    "EUC_JP",
    "EUC_CN",
    "EUC_KR",
    "EUC_TW",
    "EUC_JIS_2004",
    "UTF8",
    "MULE_INTERNAL",
    "LATIN1",
    "LATIN2",
    "LATIN3",
    "LATIN4",
    "LATIN5",
    "LATIN6",
    "LATIN7",
    "LATIN8",
    "LATIN9",
    "LATIN10",
    "WIN1256",
    "WIN1258",
    "WIN866",
    "WIN874",
    "KOI8R",
    "WIN1251",
    "WIN1252",
    "ISO_8859_5",
    "ISO_8859_6",
    "ISO_8859_7",
    "ISO_8859_8",
    "WIN1250",
    "WIN1253",
    "WIN1254",
    "WIN1255",
    "WIN1257",
    "KOI8U",
    "SJIS",
    "BIG5",
    "GBK",
    "UHC",
    "GB18030",
    "JOHAB",
    "SHIFT_JIS_2004",
];

/// The privileges a database has (has_database_privilege's second argument).
const DATABASE_PRIVILEGES: &[&str] = &["create", "connect", "temporary", "temp"];

impl Binder<'_> {
    pub(super) fn size_function(&mut self, name: &str, args: Vec<Expr>, types: &[SqlType]) -> Result<Expr> {
        let text = |s: &str| Expr::Const(Datum::Text(s.to_string()), SqlType::Text);
        match name {
            "pg_size_pretty" => {
                let [arg]: [Expr; 1] = args.try_into().map_err(|_| no_function(name, types))?;
                // Only bigint and numeric: smaller integers and untyped literals fit both
                // (PostgreSQL's "is not unique").
                return match arg.ty() {
                    SqlType::Int8 | SqlType::Numeric(_) => {
                        Ok(Expr::Call(Builtin::SizePretty, vec![arg], SqlType::Text))
                    }
                    SqlType::Int2 | SqlType::Int4 | SqlType::Unknown => Err(SqlError::new(
                        "42725",
                        format!("function {name}({}) is not unique", super::base(types[0]).name()),
                    )
                    .hint("Could not choose a best candidate function. You might need to add explicit type casts.")),
                    _ => Err(no_function(name, types)),
                };
            }
            "pg_database_size" => {
                let [arg]: [Expr; 1] = args.try_into().map_err(|_| no_function(name, types))?;
                let (f, arg) = match arg.ty() {
                    t if t.is_string() || t == SqlType::Unknown => (
                        SizeFn::DatabaseByName,
                        self.coerce(arg, SqlType::Text, CastContext::Implicit, |_| no_function(name, types))?,
                    ),
                    SqlType::Oid(_) => (SizeFn::DatabaseByOid, arg),
                    t if t.is_integer() => (SizeFn::DatabaseByOid, arg),
                    _ => return Err(no_function(name, types)),
                };
                crate::catalog_sizes::note_used();
                return Ok(Expr::Call(Builtin::Size(f), vec![arg], SqlType::Int8));
            }
            "pg_tablespace_location" => {
                let [arg]: [Expr; 1] = args.try_into().map_err(|_| no_function(name, types))?;
                let arg = self.oid_argument(arg, name, types)?;
                return Ok(Expr::Call(Builtin::TablespaceLocation, vec![arg], SqlType::Text));
            }
            "pg_encoding_to_char" => {
                let [arg]: [Expr; 1] = args.try_into().map_err(|_| no_function(name, types))?;
                let arg = self.coerce(arg, SqlType::Int4, CastContext::Implicit, |_| no_function(name, types))?;
                let map = ENCODINGS.iter().enumerate().map(|(i, e)| (Datum::Int4(i as i32), text(e))).collect();
                return Ok(Expr::Coalesce(vec![self.lookup(arg, map), text("")], SqlType::Text));
            }
            "has_database_privilege" => {
                // (database, privilege): the one role is a superuser, with every privilege on
                // the one database.
                let [db, privilege]: [Expr; 2] = args.try_into().map_err(|_| no_function(name, types))?;
                let db = self.coerce(db, SqlType::Text, CastContext::Implicit, |_| no_function(name, types))?;
                let privilege =
                    self.coerce(privilege, SqlType::Text, CastContext::Implicit, |_| no_function(name, types))?;
                if let Expr::Const(Datum::Text(p), _) = &privilege {
                    check_privileges(p)?;
                }
                // An unknown database fails as pg_database_size does.
                let size = Expr::Call(Builtin::Size(SizeFn::DatabaseByName), vec![db], SqlType::Int8);
                crate::catalog_sizes::note_used();
                return Ok(Expr::IsNull(Box::new(size), true));
            }
            _ => {}
        }
        // The relation size functions: (regclass) and pg_relation_size(regclass, fork text).
        let f = match name {
            "pg_relation_size" => SizeFn::Relation,
            "pg_table_size" => SizeFn::Table,
            "pg_indexes_size" => SizeFn::Indexes,
            _ => SizeFn::Total,
        };
        let arity_ok = args.len() == 1 || (f == SizeFn::Relation && args.len() == 2);
        if !arity_ok {
            return Err(no_function(name, types));
        }
        let mut out = Vec::with_capacity(args.len());
        for (i, a) in args.into_iter().enumerate() {
            out.push(if i == 0 {
                self.regclass_argument(a, name, types)?
            } else {
                if !(a.ty().is_string() || a.ty() == SqlType::Unknown) {
                    return Err(no_function(name, types));
                }
                self.coerce(a, SqlType::Text, CastContext::Implicit, |_| no_function(name, types))?
            });
        }
        crate::catalog_sizes::note_used();
        Ok(Expr::Call(Builtin::Size(f), out, SqlType::Int8))
    }

    /// A regclass argument: an OID alias or integer as it is, an untyped literal or a text
    /// read as a relation's name (42P01 for none; text casts to regclass implicitly in
    /// PostgreSQL).
    fn regclass_argument(&mut self, a: Expr, name: &str, types: &[SqlType]) -> Result<Expr> {
        match a.ty() {
            SqlType::Oid(_) => Ok(a),
            t if t.is_integer() => self.coerce(a, SqlType::Int8, CastContext::Implicit, |_| no_function(name, types)),
            t if t == SqlType::Unknown || t.is_string() => {
                let regclass = SqlType::Oid(OidKind::RegClass);
                self.coerce(a, regclass, CastContext::Explicit, |_| no_function(name, types))
            }
            _ => Err(no_function(name, types)),
        }
    }

    /// An oid argument (an integer, an OID alias or an untyped literal) as int8.
    fn oid_argument(&mut self, a: Expr, name: &str, types: &[SqlType]) -> Result<Expr> {
        match a.ty() {
            SqlType::Oid(_) => self.coerce(a, SqlType::Int8, CastContext::Explicit, |_| no_function(name, types)),
            t if t.is_integer() || t == SqlType::Unknown => {
                self.coerce(a, SqlType::Int8, CastContext::Implicit, |_| no_function(name, types))
            }
            _ => Err(no_function(name, types)),
        }
    }

    fn lookup(&mut self, e: Expr, map: Vec<(Datum, Expr)>) -> Expr {
        let whens = map
            .into_iter()
            .map(|(k, v)| {
                let ty = e.ty();
                (Expr::Cmp(crate::expr::CmpOp::Eq, Box::new(e.clone()), Box::new(Expr::Const(k, ty))), v)
            })
            .collect();
        Expr::Case(whens, None, SqlType::Text)
    }
}

/// has_database_privilege's privilege list: names separated by commas, each optionally
/// `WITH GRANT OPTION`, case and surrounding spaces ignored (22023 for another).
fn check_privileges(list: &str) -> Result<()> {
    for item in list.split(',') {
        let item = item.trim();
        let lower = item.to_ascii_lowercase();
        let word = lower.strip_suffix("with grant option").map(str::trim_end).unwrap_or(&lower);
        if !DATABASE_PRIVILEGES.contains(&word) {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                format!("unrecognized privilege type: \"{item}\""),
            ));
        }
    }
    Ok(())
}
