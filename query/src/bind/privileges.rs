//! has_table_privilege and its kin (`has_schema_privilege`, `has_database_privilege`,
//! `has_column_privilege`, `has_any_column_privilege`, `has_sequence_privilege`,
//! `has_type_privilege`), which tools
//! ask before they list objects. Orbit has one role, `postgres`, a superuser, so the answer is
//! true for every object that exists — PostgreSQL's answer for a superuser. What PostgreSQL
//! checks is checked as there: the privilege names (22023 "unrecognized privilege type"), the
//! role (42704), a named object (42P01 / 3F000 / 3D000, by the regclass and regnamespace
//! casts); an OID no object has gives NULL. has_column_privilege checks the column as
//! PostgreSQL's convert_column_name: a name the relation lacks is 42703 (checked when binding,
//! where relation and column are literals), a column number it lacks gives NULL. Bound as the
//! expression PostgreSQL's
//! answer is: `CASE WHEN <object> IS NULL THEN NULL ELSE true END` over the object's cast, or a
//! lookup of the OID in its catalog.

use super::{Binder, Scope};
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use sqlparser::ast;

/// The privileges each function takes.
fn privileges(function: &str) -> Option<&'static [&'static str]> {
    Some(match function {
        "has_table_privilege" => &["select", "insert", "update", "delete", "truncate", "references", "trigger"],
        "has_sequence_privilege" => &["usage", "select", "update"],
        "has_column_privilege" | "has_any_column_privilege" => &["select", "insert", "update", "references"],
        "has_schema_privilege" => &["create", "usage"],
        "has_database_privilege" => &["create", "connect", "temporary", "temp"],
        "has_type_privilege" => &["usage"],
        _ => return None,
    })
}

fn string_literal(e: &ast::Expr) -> Option<&str> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::EscapedStringLiteral(s) => Some(s),
            _ => None,
        },
        ast::Expr::Nested(inner) => string_literal(inner),
        _ => None,
    }
}

impl Binder<'_> {
    /// A has_*_privilege call; None for any other function.
    pub(super) fn privilege_call(
        &mut self,
        name: &str,
        f: &ast::Function,
        scope: Option<&Scope>,
    ) -> Result<Option<Expr>> {
        let Some(allowed) = privileges(name) else { return Ok(None) };
        let Some(mut args) = super::plain_args(f) else { return Ok(None) };
        let objects = if name == "has_column_privilege" { 2 } else { 1 };
        let types = |b: &mut Self, args: &[&ast::Expr]| -> Result<Vec<orbit_engine::table::SqlType>> {
            args.iter().map(|a| b.expr(a, scope).map(|e| e.ty())).collect()
        };
        if args.len() != objects + 1 && args.len() != objects + 2 {
            let t = types(self, &args)?;
            return Err(super::no_function(name, &t));
        }
        // [role,] object(s), privilege.
        if args.len() == objects + 2 {
            let role = args.remove(0);
            match string_literal(role) {
                Some(r) if r == crate::schema::USER || r.eq_ignore_ascii_case("public") => {}
                Some(r) => return Err(SqlError::new(code::UNDEFINED_OBJECT, format!("role \"{r}\" does not exist"))),
                None => {
                    self.expr(role, scope)?;
                }
            }
        }
        let privilege = args.pop().expect("counted");
        if let Some(p) = string_literal(privilege) {
            for item in p.split(',') {
                let item = item.trim().to_lowercase();
                let item = item.strip_suffix(" with grant option").map_or(item.as_str(), str::trim);
                if !allowed.contains(&item) {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        format!(
                            "unrecognized privilege type: \"{}\"",
                            p.split(',')
                                .find(|x| !allowed.contains(&x.trim().to_lowercase().as_str()))
                                .unwrap_or(p)
                                .trim()
                        ),
                    ));
                }
            }
        } else {
            self.expr(privilege, scope)?;
        }
        let object = args[0];
        let bound = self.expr(object, scope)?;
        let by_oid = bound.ty().is_integer() || matches!(bound.ty(), orbit_engine::table::SqlType::Oid(_));
        if name == "has_column_privilege" {
            return self.column_privilege(object, args[1], by_oid, scope).map(Some);
        }
        let (catalog, cast) = match name {
            "has_schema_privilege" => ("pg_namespace", "regnamespace"),
            "has_database_privilege" => ("pg_database", ""),
            "has_type_privilege" => ("pg_type", "regtype"),
            _ => ("pg_class", "regclass"),
        };
        let sql = if by_oid {
            format!("(SELECT true FROM pg_catalog.{catalog} WHERE oid = ({object}))")
        } else if name == "has_database_privilege" {
            if let Some(db) = string_literal(object) {
                if db != "postgres" {
                    return Err(SqlError::new("3D000", format!("database \"{db}\" does not exist")));
                }
            }
            format!("CASE WHEN ({object}) IS NULL THEN NULL ELSE true END")
        } else {
            format!("CASE WHEN ({object})::{cast} IS NULL THEN NULL ELSE true END")
        };
        self.bind_text(&sql, "privilege check", scope).map(Some)
    }
}

impl Binder<'_> {
    /// has_column_privilege([role,] relation, column, privilege) past the role and privilege
    /// checks: true where the relation has the column, NULL where the relation (an OID) or
    /// the column number is not there, and 42703 for a column name the relation lacks
    /// (PostgreSQL's convert_column_name; `column "c" of relation "t" does not exist`).
    fn column_privilege(
        &mut self,
        object: &ast::Expr,
        column: &ast::Expr,
        by_oid: bool,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        let col_ty = self.expr(column, scope)?.ty();
        let by_number = col_ty.is_integer();
        if let (Some(rel), Some(col)) = (string_literal(object), string_literal(column)) {
            let oid = crate::regtypes::parse(orbit_engine::table::OidKind::RegClass, rel)?;
            if let Some((relname, columns)) = crate::catalog::relation_columns(oid) {
                if !columns.iter().any(|c| c == col) {
                    return Err(SqlError::new(
                        code::UNDEFINED_COLUMN,
                        format!("column \"{col}\" of relation \"{relname}\" does not exist"),
                    ));
                }
                return self.bind_text("true", "privilege check", scope);
            }
        }
        let relation = if by_oid { format!("({object})::oid") } else { format!("({object})::regclass") };
        let test = if by_number { "attnum" } else { "attname" };
        let cast = if by_number { "::int2" } else { "::text" };
        let sql = format!(
            "(SELECT true FROM pg_catalog.pg_attribute WHERE attrelid = {relation} AND {test} = ({column}){cast} \
             AND NOT attisdropped)"
        );
        self.bind_text(&sql, "privilege check", scope)
    }
}

impl Binder<'_> {
    /// obj_description(oid [, catalog]), col_description(table, column) and
    /// shobj_description(oid, catalog): the comment pg_description (pg_shdescription) holds for
    /// the object, as PostgreSQL's SQL functions read it ([`crate::comment`]); None for any
    /// other function.
    pub(super) fn description_call(
        &mut self,
        name: &str,
        f: &ast::Function,
        scope: Option<&Scope>,
    ) -> Result<Option<Expr>> {
        if !matches!(name, "obj_description" | "col_description" | "shobj_description") {
            return Ok(None);
        }
        let ast::FunctionArguments::List(l) = &f.args else { return Ok(None) };
        let args: Vec<String> = l.args.iter().map(ToString::to_string).collect();
        let sql = match args.as_slice() {
            [o, n] if name == "col_description" => format!(
                "(SELECT description FROM pg_catalog.pg_description WHERE objoid = ({o})::oid AND classoid = 1259 \
                 AND objsubid = ({n})::int4)"
            ),
            [o, c] if name == "shobj_description" => format!(
                "(SELECT description FROM pg_catalog.pg_shdescription WHERE objoid = ({o})::oid AND classoid = \
                 (SELECT oid FROM pg_catalog.pg_class WHERE relname = ({c})::text AND relnamespace = 11))"
            ),
            _ if name != "obj_description" => return Ok(None),
            [o] => format!(
                "(SELECT description FROM pg_catalog.pg_description WHERE objoid = ({o})::oid AND objsubid = 0 LIMIT 1)"
            ),
            [o, c] => format!(
                "(SELECT description FROM pg_catalog.pg_description WHERE objoid = ({o})::oid AND classoid = \
                 (SELECT oid FROM pg_catalog.pg_class WHERE relname = ({c})::text AND relnamespace = 11) AND objsubid = 0)"
            ),
            _ => return Ok(None),
        };
        self.bind_text(&sql, "obj_description", scope).map(Some)
    }
}

impl Binder<'_> {
    /// num_nulls(VARIADIC "any") / num_nonnulls: how many arguments are (not) NULL, bound as
    /// the sum of `CASE WHEN arg IS NULL ...`; None for any other function.
    pub(super) fn count_nulls_call(
        &mut self,
        name: &str,
        f: &ast::Function,
        scope: Option<&Scope>,
    ) -> Result<Option<Expr>> {
        let test = match name {
            "num_nulls" => "IS NULL",
            "num_nonnulls" => "IS NOT NULL",
            _ => return Ok(None),
        };
        let ast::FunctionArguments::List(l) = &f.args else { return Ok(None) };
        if l.args.is_empty() {
            return Err(super::no_function(name, &[]));
        }
        let terms: Vec<String> = l.args.iter().map(|a| format!("CASE WHEN ({a}) {test} THEN 1 ELSE 0 END")).collect();
        let sql = format!("({})", terms.join(" + "));
        self.bind_text(&sql, name, scope).map(Some)
    }
}

impl Binder<'_> {
    /// `num_nulls(VARIADIC a)` / `num_nonnulls(VARIADIC a)`: the array's elements counted
    /// (NULL for a NULL array), as PostgreSQL counts them at run time.
    pub(super) fn variadic_count_nulls(
        &mut self,
        name: &str,
        array: &ast::Expr,
        scope: Option<&Scope>,
    ) -> Result<Expr> {
        let ty = self.expr(array, scope)?.ty();
        if !matches!(ty, orbit_engine::table::SqlType::Array(_)) {
            let at = self.pos(&sqlparser::ast::Spanned::span(array));
            return Err(SqlError::new(code::DATATYPE_MISMATCH, "VARIADIC argument must be an array").at(at));
        }
        let test = if name == "num_nulls" { "IS NULL" } else { "IS NOT NULL" };
        let sql = format!(
            "CASE WHEN ({array}) IS NULL THEN NULL ELSE (SELECT count(*)::int4 FROM unnest({array}) AS v(x) WHERE x {test}) END"
        );
        self.bind_text(&sql, name, scope)
    }

    /// Binds `sql`, an expression these functions are defined as (PostgreSQL's own SQL
    /// definitions of them), written with the call's arguments.
    fn bind_text(&mut self, sql: &str, function: &str, scope: Option<&Scope>) -> Result<Expr> {
        let e = sqlparser::parser::Parser::new(&sqlparser::dialect::PostgreSqlDialect {})
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_expr())
            .map_err(|e| SqlError::internal(format!("{function}: {e}")))?;
        self.expr(&e, scope)
    }
}
