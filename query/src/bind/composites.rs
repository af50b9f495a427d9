//! Composite values in expressions ([`crate::composites`]): field selection (`(x).f`,
//! `(x).f.g`) and a row constructor cast or assigned to a composite type (`ROW(1, 'a')::pair`,
//! `INSERT ... VALUES (ROW(1, 'a'))` into a column of the type), each field coerced to its
//! field's type as PostgreSQL's coerce_record_to_complex coerces it.

use super::{fold, Binder, CastContext, Scope};
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use crate::scalar::Builtin;
use orbit_engine::table::SqlType;
use sqlparser::ast;

impl Binder<'_> {
    /// `(root).f...` where `root` is of a composite type: its fields, field by field; None
    /// where `root` is not of a composite type (or the chain holds more than field names).
    pub(super) fn composite_field(
        &mut self,
        root: &ast::Expr,
        chain: &[ast::AccessExpr],
        scope: Option<&Scope>,
    ) -> Result<Option<Expr>> {
        let names: Option<Vec<String>> = chain
            .iter()
            .map(|a| match a {
                ast::AccessExpr::Dot(ast::Expr::Identifier(id)) => Some(fold(id)),
                _ => None,
            })
            .collect();
        let Some(names) = names else { return Ok(None) };
        let mut e = self.expr(root, scope)?;
        if !matches!(e.ty(), SqlType::Composite(_)) {
            return Ok(None);
        }
        for name in names {
            let SqlType::Composite(oid) = e.ty() else {
                return Err(SqlError::new(
                    code::WRONG_OBJECT_TYPE,
                    format!("column notation .{name} applied to type {}, which is not a composite type", e.ty().name()),
                ));
            };
            let fields = crate::composites::fields_of(oid)?;
            let Some(i) = fields.iter().position(|f| f.name == name) else {
                let message = if crate::composites::is_anonymous(oid) {
                    format!("could not identify column \"{name}\" in record data type")
                } else {
                    format!("column \"{name}\" not found in data type {}", e.ty().name())
                };
                return Err(SqlError::new(code::UNDEFINED_COLUMN, message));
            };
            e = super::whole_row::field_of(&e, i, fields[i].ty);
        }
        Ok(Some(e))
    }

    /// A row constructor's fields (`args`) as a value of composite type `to`: as many as the
    /// type has, each coerced to its field's type in context `ctx`.
    pub(super) fn row_to_composite(&mut self, args: Vec<Expr>, to: SqlType, ctx: CastContext) -> Result<Expr> {
        let SqlType::Composite(oid) = to else { return Err(SqlError::internal("row to a type that is not composite")) };
        let fields = crate::composites::fields_of(oid)?;
        let cannot =
            |detail: String| SqlError::new("42846", format!("cannot cast type record to {}", to.name())).detail(detail);
        if args.len() != fields.len() {
            let which = if args.len() < fields.len() { "few" } else { "many" };
            return Err(cannot(format!("Input has too {which} columns.")));
        }
        let mut out = Vec::with_capacity(args.len());
        for (i, (a, f)) in args.into_iter().zip(&fields).enumerate() {
            let from = a.ty();
            out.push(self.coerce(a, f.ty, ctx, |_| {
                cannot(format!("Cannot cast type {} to {} in column {}.", from.name(), f.ty.name(), i + 1))
            })?);
        }
        Ok(Expr::Call(Builtin::MakeRecord(oid), out, to))
    }

    /// `base` (a value of column `column`, or what earlier assignments made of it) with the
    /// field at `path` set to `value`, coerced to the field's type by assignment: PostgreSQL's
    /// FieldStore for `UPDATE ... SET col.f.g = x` and `INSERT INTO t (col.f) ...`.
    pub(super) fn field_assignment(&mut self, column: &str, base: Expr, path: &[String], value: Expr) -> Result<Expr> {
        let ty = base.ty();
        let Some((name, rest)) = path.split_first() else { return Ok(value) };
        let SqlType::Composite(oid) = ty else {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "cannot assign to field \"{name}\" of column \"{column}\" because its type {} is not a composite type",
                    super::base(ty).name()
                ),
            ));
        };
        let fields = crate::composites::fields_of(oid)?;
        let Some(i) = fields.iter().position(|f| &f.name == name) else {
            return Err(SqlError::new(
                code::UNDEFINED_COLUMN,
                format!(
                    "cannot assign to field \"{name}\" of column \"{column}\" because there is no such column in data type {}",
                    ty.name()
                ),
            ));
        };
        let field_ty = fields[i].ty;
        let inner = if rest.is_empty() {
            let from = value.ty();
            self.coerce(value, field_ty, CastContext::Assignment, |_| {
                SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!(
                        "subfield \"{name}\" is of type {} but expression is of type {}",
                        field_ty.name(),
                        from.name()
                    ),
                )
                .hint("You will need to rewrite or cast the expression.")
            })?
        } else {
            let current = Expr::Call(Builtin::RecordField(i), vec![base.clone()], field_ty);
            self.field_assignment(column, current, rest, value)?
        };
        Ok(Expr::Call(Builtin::RecordSet(i as u32, fields.len() as u32), vec![base, inner], ty))
    }
}

/// Whether values of record types `a` and `b` compare (PostgreSQL's record_cmp): as many
/// fields, each pair of one type (a length or precision aside); 42804 otherwise.
pub(super) fn comparable_records(a: SqlType, b: SqlType) -> Result<()> {
    let (SqlType::Composite(x), SqlType::Composite(y)) = (a, b) else {
        return Err(SqlError::internal("records compared"));
    };
    let (fa, fb) = (crate::composites::fields_of(x)?, crate::composites::fields_of(y)?);
    if fa.len() != fb.len() {
        return Err(SqlError::new(
            code::DATATYPE_MISMATCH,
            "cannot compare record types with different numbers of columns",
        ));
    }
    for (i, (p, q)) in fa.iter().zip(&fb).enumerate() {
        if p.ty == SqlType::Unknown && q.ty == SqlType::Unknown {
            return Err(SqlError::new(
                code::UNDEFINED_FUNCTION,
                "could not identify a comparison function for type unknown",
            ));
        }
        if super::base(p.ty) != super::base(q.ty) {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "cannot compare dissimilar column types {} and {} at record column {}",
                    super::base(p.ty).name(),
                    super::base(q.ty).name(),
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// The common type of two anonymous record types of as many fields (VALUES rows, a UNION's
/// columns: PostgreSQL's `record` for both): each field the common type of the two fields
/// (`common`, an untyped NULL field taking the other's type); None where either is not an
/// anonymous record, or the fields do not match.
pub(super) fn common_record(
    a: SqlType,
    b: SqlType,
    common: impl Fn(Expr, Expr) -> Option<SqlType>,
) -> Result<Option<SqlType>> {
    let (SqlType::Composite(x), SqlType::Composite(y)) = (a, b) else { return Ok(None) };
    if !crate::composites::is_anonymous(x) || !crate::composites::is_anonymous(y) {
        return Ok(None);
    }
    let (fa, fb) = (crate::composites::fields_of(x)?, crate::composites::fields_of(y)?);
    if fa.len() != fb.len() {
        return Ok(None);
    }
    let mut types = Vec::with_capacity(fa.len());
    for (p, q) in fa.iter().zip(&fb) {
        let null = |t: SqlType| Expr::Const(orbit_engine::table::Datum::Null, t);
        match common(null(p.ty), null(q.ty)) {
            Some(t) => types.push(t),
            None => return Ok(None),
        }
    }
    crate::composites::anonymous(&types).map(|oid| Some(SqlType::Composite(oid)))
}

/// Whether a value of anonymous record type `from` converts to anonymous record type `to`
/// field by field ([`Builtin::RecordCast`]): as many fields, each field's cast implicit.
pub(super) fn record_cast_allowed(from: SqlType, to: SqlType) -> bool {
    let (SqlType::Composite(x), SqlType::Composite(y)) = (from, to) else { return false };
    if x == y || !crate::composites::is_anonymous(x) || !crate::composites::is_anonymous(y) {
        return false;
    }
    let (Ok(fa), Ok(fb)) = (crate::composites::fields_of(x), crate::composites::fields_of(y)) else {
        return false;
    };
    fa.len() == fb.len()
        && fa.iter().zip(&fb).all(|(p, q)| {
            p.ty == q.ty
                || p.ty == SqlType::Unknown
                || crate::types::can_cast(p.ty, q.ty, CastContext::Implicit)
                || record_cast_allowed(p.ty, q.ty)
        })
}
