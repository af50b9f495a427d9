//! Binds CREATE / DROP / ALTER SCHEMA ([`crate::schema::SchemaPlan`]) and checks the parts of
//! relation names (what [`super::object_name`] hands to [`crate::schema`]).

use super::fold;
use crate::error::{code, Result, SqlError};
use crate::schema::SchemaPlan;
use sqlparser::ast;

/// A relation's name within its schema: a dot in it would read as a schema's (the catalog
/// name of a relation in schema `s` is `s.name`), so such quoted names are refused.
pub(crate) fn relation_part(name: &str) -> Result<String> {
    if name.contains('.') || crate::schema::is_entry(name) {
        return Err(SqlError::unsupported(format!("relation names containing \".\" are not supported: \"{name}\"")));
    }
    Ok(name.to_string())
}

/// A schema name: one identifier (`db.schema` is a cross-database reference).
fn schema_name(name: &ast::ObjectName) -> Result<String> {
    let parts: Vec<&ast::Ident> = name.0.iter().filter_map(|p| p.as_ident()).collect();
    match parts.as_slice() {
        [one] if parts.len() == name.0.len() => Ok(fold(one)),
        [_, _, ..] => {
            Err(SqlError::new(code::SYNTAX_ERROR, format!("improper qualified name (too many dotted names): {name}")))
        }
        _ => Err(SqlError::syntax(&name.to_string())),
    }
}

/// A role named by AUTHORIZATION / OWNER TO: only the session user exists.
fn role(id: &ast::Ident) -> Result<String> {
    let n = fold(id);
    let n = match n.as_str() {
        "current_user" | "current_role" | "session_user" if id.quote_style.is_none() => crate::schema::USER.into(),
        _ => n,
    };
    if n != crate::schema::USER {
        return Err(SqlError::new(code::UNDEFINED_OBJECT, format!("role \"{n}\" does not exist")));
    }
    Ok(n)
}

pub(super) fn bind(stmt: &ast::Statement) -> Result<SchemaPlan> {
    use ast::Statement as S;
    match stmt {
        S::CreateSchema { schema_name, or_replace, if_not_exists, with, options, default_collate_spec, clone } => {
            if *or_replace || with.is_some() || options.is_some() || default_collate_spec.is_some() || clone.is_some() {
                return Err(SqlError::syntax(&stmt.to_string()));
            }
            let name = match schema_name {
                ast::SchemaName::Simple(n) => schema_name_of(n)?,
                ast::SchemaName::UnnamedAuthorization(r) => role(r)?,
                ast::SchemaName::NamedAuthorization(n, r) => {
                    role(r)?;
                    schema_name_of(n)?
                }
            };
            crate::schema::check_new_name(&name)?;
            Ok(SchemaPlan::Create { name, if_not_exists: *if_not_exists })
        }
        S::Drop {
            object_type: ast::ObjectType::Schema,
            if_exists,
            names,
            cascade,
            purge: false,
            temporary: false,
            ..
        } => {
            let names = names.iter().map(schema_name).collect::<Result<Vec<_>>>()?;
            Ok(SchemaPlan::Drop { names, if_exists: *if_exists, cascade: *cascade })
        }
        S::AlterSchema(a) if !a.if_exists => {
            let name = schema_name(&a.name)?;
            match a.operations.as_slice() {
                [ast::AlterSchemaOperation::Rename { name: to }] => {
                    let new_name = schema_name(to)?;
                    crate::schema::check_new_name(&new_name)?;
                    Ok(SchemaPlan::Rename { name, new_name })
                }
                _ => Err(SqlError::unsupported(format!("{stmt} is not supported yet"))),
            }
        }
        _ => Err(SqlError::syntax(&stmt.to_string())),
    }
}

/// CREATE SCHEMA's name (PostgreSQL refuses a qualified one with its own message).
fn schema_name_of(n: &ast::ObjectName) -> Result<String> {
    if n.0.len() > 1 {
        return Err(SqlError::new(
            code::FEATURE_NOT_SUPPORTED,
            format!("CREATE SCHEMA ... cross-database references are not implemented: {n}"),
        ));
    }
    schema_name(n)
}

/// `current_schema()` and `current_schemas(implicit)`: the search path as it resolves now
/// (folded when the statement is bound, as the binder resolves table names then too).
pub(super) fn function(
    name: &str,
    args: Vec<crate::expr::Expr>,
    types: &[orbit_engine::table::SqlType],
) -> Result<crate::expr::Expr> {
    use crate::expr::Expr;
    use orbit_engine::table::array::ArrayValue;
    use orbit_engine::table::{Datum, SqlType};
    match (name, args.as_slice()) {
        ("current_schema", []) => {
            Ok(Expr::Const(crate::schema::current().map_or(Datum::Null, Datum::Text), SqlType::Text))
        }
        ("current_schemas", [Expr::Const(Datum::Bool(implicit), SqlType::Bool)]) => {
            let items = crate::schema::current_schemas(*implicit).into_iter().map(Datum::Text).collect();
            let ty = SqlType::Text.array_of().unwrap_or(SqlType::Text);
            Ok(Expr::Const(Datum::Array(Box::new(ArrayValue::from_items(SqlType::Text, items))), ty))
        }
        ("current_schemas", [_]) if types == [SqlType::Bool] => {
            Err(SqlError::unsupported("current_schemas() of a value that is not a constant is not supported"))
        }
        _ => Err(super::no_function(name, types)),
    }
}

impl super::Binder<'_> {
    /// `obj_description(oid, catalog)`: the comments PostgreSQL's initdb gives its schemas
    /// (psql's `\dn+` reads them); Orbit has no COMMENT ON, so every other object has none.
    pub(super) fn obj_description(
        &mut self,
        args: Vec<crate::expr::Expr>,
        types: &[orbit_engine::table::SqlType],
    ) -> Result<crate::expr::Expr> {
        use crate::expr::{CmpOp, Expr};
        use crate::types::CastContext;
        use orbit_engine::table::{Datum, SqlType};
        let [oid, catalog]: [Expr; 2] = args.try_into().map_err(|_| super::no_function("obj_description", types))?;
        let oid =
            self.coerce(oid, SqlType::Int8, CastContext::Implicit, |_| super::no_function("obj_description", types))?;
        let catalog = self
            .coerce(catalog, SqlType::Text, CastContext::Implicit, |_| super::no_function("obj_description", types))?;
        let text = |s: &str| Expr::Const(Datum::Text(s.to_string()), SqlType::Text);
        let is = |n: i64, c: &str| {
            Expr::And(
                Box::new(Expr::Cmp(
                    CmpOp::Eq,
                    Box::new(oid.clone()),
                    Box::new(Expr::Const(Datum::Int8(n), SqlType::Int8)),
                )),
                Box::new(Expr::Cmp(CmpOp::Eq, Box::new(catalog.clone()), Box::new(text(c)))),
            )
        };
        Ok(Expr::Case(
            vec![
                (is(crate::schema::PUBLIC_OID as i64, "pg_namespace"), text("standard public schema")),
                (is(crate::schema::PG_CATALOG_OID as i64, "pg_namespace"), text("system catalog schema")),
            ],
            None,
            SqlType::Text,
        ))
    }
}
