//! Binds CREATE TYPE ... AS ENUM, ALTER TYPE and DROP TYPE ([`crate::enums::EnumPlan`]),
//! CREATE TYPE ... AS (fields) and DROP TYPE of composite types
//! ([`crate::composites::CompositePlan`]), and resolves a type name to an enum or composite
//! type for [`super::sql_type`].

use super::{fold, Plan};
use crate::composites::CompositePlan;
use crate::enums::EnumPlan;
use crate::error::{code, Result, SqlError};
use orbit_engine::table::ColumnDef;
use sqlparser::ast;

/// The catalog name and the name as written of a type name (`s.mood` / `mood`), resolved
/// along the search path for an existing type; None when no enum type has that name.
fn existing(name: &ast::ObjectName) -> Result<(Option<String>, String)> {
    let parts = parts(name)?;
    let shown = parts.join(".");
    Ok((crate::enums::resolve(&parts).map(|t| t.name.clone()), shown))
}

fn parts(name: &ast::ObjectName) -> Result<Vec<String>> {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
    if parts.len() != name.0.len() || parts.is_empty() {
        return Err(SqlError::syntax(&name.to_string()));
    }
    if parts.len() > 2 {
        return Err(SqlError::new(
            code::FEATURE_NOT_SUPPORTED,
            format!("cross-database references are not implemented: {name}"),
        ));
    }
    Ok(parts)
}

fn undefined(shown: &str) -> SqlError {
    SqlError::new(code::UNDEFINED_OBJECT, format!("type \"{shown}\" does not exist"))
}

/// A label as written: a string literal (sqlparser hands it over as a quoted identifier).
fn label(id: &ast::Ident) -> Result<String> {
    if id.quote_style != Some('\'') {
        return Err(SqlError::syntax(&id.value));
    }
    crate::enums::check_label(&id.value)?;
    Ok(id.value.clone())
}

/// Whether the name is a built-in type's (`CREATE TYPE text AS ENUM` in pg_catalog exists).
fn built_in(parts: &[String]) -> bool {
    let n = match parts {
        [s, n] if s == "pg_catalog" => n,
        [n] => n,
        _ => return false,
    };
    let t = ast::DataType::Custom(ast::ObjectName::from(vec![ast::Ident::new(n.clone())]), vec![]);
    matches!(super::sql_type(&t), Ok(t) if !matches!(t, orbit_engine::table::SqlType::Enum(_) | orbit_engine::table::SqlType::Composite(_)))
}

pub(super) fn create(
    sql: &str,
    name: &ast::ObjectName,
    repr: Option<&ast::UserDefinedTypeRepresentation>,
) -> Result<Plan> {
    let p = parts(name)?;
    let catalog_name = super::new_object_name(sql, name)?;
    let (schema, rel) = crate::schema::split(&catalog_name);
    if crate::enums::lookup_name(&catalog_name).is_some()
        || crate::domains::lookup_name(&catalog_name).is_some()
        || crate::composites::lookup_name(&catalog_name).is_some()
        || (schema == crate::schema::PUBLIC && built_in(&p))
    {
        return Err(SqlError::new("42710", format!("type \"{rel}\" already exists")));
    }
    match repr {
        Some(ast::UserDefinedTypeRepresentation::Enum { labels }) => {
            let labels = labels.iter().map(label).collect::<Result<Vec<_>>>()?;
            Ok(Plan::EnumType(EnumPlan::Create { name: catalog_name, labels }))
        }
        Some(ast::UserDefinedTypeRepresentation::Composite { attributes }) => {
            let fields = composite_fields(attributes)?;
            Ok(Plan::CompositeType(CompositePlan::Create { name: catalog_name, fields }))
        }
        _ => Err(SqlError::unsupported(
            "CREATE TYPE is only supported for enum types (AS ENUM) and composite types (AS (...))",
        )),
    }
}

/// A composite type's fields: names folded, each given once, of a type a column can have.
fn composite_fields(attributes: &[ast::UserDefinedTypeCompositeAttributeDef]) -> Result<Vec<ColumnDef>> {
    if attributes.len() > crate::composites::MAX_FIELDS {
        return Err(SqlError::new(
            "54011",
            format!("tables can have at most {} columns", crate::composites::MAX_FIELDS),
        ));
    }
    let mut fields: Vec<ColumnDef> = Vec::with_capacity(attributes.len());
    for a in attributes {
        let name = fold(&a.name);
        if fields.iter().any(|f| f.name == name) {
            return Err(SqlError::new("42701", format!("column \"{name}\" specified more than once")));
        }
        if let Some(c) = &a.collation {
            super::bytewise_collation(c)?;
        }
        let ty = super::column_type(&a.data_type, &name)?;
        let mut field = ColumnDef::new(name, ty);
        // A field of a domain keeps it (its constraints are checked where a value of the
        // type is made from its fields' texts: json[b]_populate_record).
        field.domain = super::domain_oid(&a.data_type)?.unwrap_or(0);
        fields.push(field);
    }
    Ok(fields)
}

pub(super) fn drop(names: &[ast::ObjectName], if_exists: bool, cascade: bool) -> Result<Plan> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let composite: Vec<Option<String>> = names
        .iter()
        .map(|n| parts(n).ok().and_then(|p| crate::composites::resolve(&p)).map(|t| t.name.clone()))
        .collect();
    if composite.iter().any(Option::is_some) {
        if cascade {
            return Err(SqlError::unsupported("DROP TYPE ... CASCADE of a composite type is not supported yet"));
        }
        for (n, found) in names.iter().zip(composite) {
            match (found, existing(n)?) {
                (Some(c), _) => out.push(c),
                (None, (Some(_), _)) => {
                    return Err(SqlError::unsupported(
                        "DROP TYPE of composite and enum types together is not supported yet",
                    ))
                }
                (None, (None, shown)) if if_exists => skipped.push(shown),
                (None, (None, shown)) => return Err(undefined(&shown)),
            }
        }
        return Ok(Plan::CompositeType(CompositePlan::Drop { names: out, skipped }));
    }
    for n in names {
        match existing(n)? {
            (Some(c), _) => out.push(c),
            (None, shown) if if_exists => skipped.push(shown),
            (None, shown) => return Err(undefined(&shown)),
        }
    }
    Ok(Plan::EnumType(EnumPlan::Drop { names: out, skipped, cascade }))
}

pub(super) fn alter(at: &ast::AlterType) -> Result<Plan> {
    let (found, shown) = existing(&at.name)?;
    let name = found.ok_or_else(|| undefined(&shown))?;
    Ok(Plan::EnumType(match &at.operation {
        ast::AlterTypeOperation::AddValue(a) => EnumPlan::AddValue {
            name,
            label: label(&a.value)?,
            if_not_exists: a.if_not_exists,
            neighbour: match &a.position {
                None => None,
                Some(ast::AlterTypeAddValuePosition::Before(n)) => Some((label(n)?, true)),
                Some(ast::AlterTypeAddValuePosition::After(n)) => Some((label(n)?, false)),
            },
        },
        ast::AlterTypeOperation::RenameValue(r) => {
            EnumPlan::RenameValue { name, from: label(&r.from)?, to: label(&r.to)? }
        }
        ast::AlterTypeOperation::Rename(r) => {
            let new = fold(&r.new_name);
            let (schema, _) = crate::schema::split(&name);
            let new_name = crate::schema::qualify(schema, &new);
            if crate::enums::lookup_name(&new_name).is_some() {
                return Err(SqlError::new("42710", format!("type \"{new}\" already exists")));
            }
            EnumPlan::Rename { name, new_name }
        }
    }))
}

/// Enum or composite type `name` as a column or cast type, or the row type of the table or
/// view it names (None when it names none of them).
pub(super) fn resolve_type(name: &ast::ObjectName) -> Option<orbit_engine::table::SqlType> {
    use orbit_engine::table::SqlType;
    let parts = parts(name).ok()?;
    crate::enums::resolve(&parts)
        .map(|t| SqlType::Enum(t.oid))
        .or_else(|| crate::composites::resolve(&parts).map(|t| SqlType::Composite(t.oid)))
        .or_else(|| table_row_type(&parts))
}

/// The row type of the table or view `parts` names (`'(1,x)'::t`, `row(1, 'x')::t`): a record
/// shape named for it, its fields the columns `SELECT *` reads.
fn table_row_type(parts: &[String]) -> Option<orbit_engine::table::SqlType> {
    // Off a shard thread (a type name read without a catalog) no table has a name.
    orbit_shards::state::try_with_shard(|_| ())?;
    let name = match parts {
        [rel] => crate::schema::resolve_unqualified(rel).ok()?,
        [schema, rel] => crate::schema::resolve_qualified(schema, rel).ok()?,
        _ => return None,
    };
    let def = super::lookup_table(&name)?;
    let fields = crate::catalog_star::star_columns(&def)
        .into_iter()
        .map(|i| (def.columns[i].name.clone(), def.columns[i].ty))
        .collect();
    crate::composites::shape(&def.name, fields).ok().map(orbit_engine::table::SqlType::Composite)
}

/// The enum type of enum_first / enum_last / enum_range arguments (`anyenum`: one enum type,
/// an untyped literal taking it).
pub(super) fn enum_call(types: &[orbit_engine::table::SqlType]) -> Option<u32> {
    use orbit_engine::table::SqlType;
    let mut found = None;
    for t in types {
        match t {
            SqlType::Enum(o) if found.is_none_or(|f| f == *o) => found = Some(*o),
            SqlType::Unknown => {}
            _ => return None,
        }
    }
    found.filter(|_| (1..=2).contains(&types.len()))
}

/// enum_first(x), enum_last(x), enum_range(x): values of the argument's type alone, known
/// when the statement is bound (as PostgreSQL's functions ignore the value); enum_range(lo,
/// hi) reads its bounds per row.
pub(super) fn bind_call(
    name: &str,
    args: Vec<crate::expr::Expr>,
    types: &[orbit_engine::table::SqlType],
) -> Result<crate::expr::Expr> {
    use crate::expr::Expr;
    use orbit_engine::table::{Datum, SqlType};
    let oid = enum_call(types).ok_or_else(|| SqlError::internal("enum function without an enum argument"))?;
    let t = crate::enums::by_oid(oid).ok_or_else(|| SqlError::internal("enum type vanished while binding"))?;
    let ty = SqlType::Enum(oid);
    let array = ty.array_of().unwrap_or(SqlType::Text);
    Ok(match (name, args.len()) {
        ("enum_first", 1) => Expr::Const(crate::enums::first(&t)?, ty),
        ("enum_last", 1) => Expr::Const(crate::enums::last(&t)?, ty),
        ("enum_range", 1) => Expr::Const(crate::enums::range(&t, None, None)?, array),
        ("enum_range", 2) => {
            let args = args
                .into_iter()
                .map(|a| match a {
                    Expr::Const(Datum::Null, _) => Ok(Expr::Const(Datum::Null, ty)),
                    Expr::Const(Datum::Text(s), SqlType::Unknown) => Ok(Expr::Const(t.value(&s)?, ty)),
                    other => Ok(other),
                })
                .collect::<Result<Vec<_>>>()?;
            Expr::Call(crate::scalar::Builtin::EnumRange(oid), args, array)
        }
        _ => {
            let shown: Vec<String> = types.iter().map(|t| t.name()).collect();
            return Err(SqlError::new(
                code::UNDEFINED_FUNCTION,
                format!("function {name}({}) does not exist", shown.join(", ")),
            )
            .hint(
                "No function matches the given name and argument types. You might need to add explicit type casts.",
            ));
        }
    })
}
