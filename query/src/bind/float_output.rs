//! A float (or float array) cast to a string type in a session whose `extra_float_digits` is 0
//! or below: float8out/float4out print `%.*g` with DBL_DIG/FLT_DIG plus the setting there, not
//! the shortest exact form, so the cast goes through [`MathFn::FloatText`] (the setting noted:
//! a prepared statement binds again when it changes).

use crate::expr::Expr;
use crate::math_fns::MathFn;
use crate::scalar::Builtin;
use orbit_engine::table::SqlType;

/// `e` printed as text with the session's float digits, or `e` back when the setting is 1 to
/// 3 or the cast is not of floats to a string type.
pub(super) fn float_digits_cast(e: Expr, from: SqlType, to: SqlType) -> std::result::Result<Expr, Expr> {
    let string = matches!(to, SqlType::Text | SqlType::Varchar(_) | SqlType::Bpchar(_));
    let float = |t: SqlType| matches!(t, SqlType::Float4 | SqlType::Float8);
    let floats = float(from) || matches!(from, SqlType::Array(a) if float(a.elem()));
    if !string || !floats {
        return Err(e);
    }
    let digits = crate::settings::bound_value("extra_float_digits").and_then(|v| v.parse::<i8>().ok());
    match digits {
        Some(n) if n <= 0 => Ok(Expr::Call(Builtin::Math(MathFn::FloatText(n)), vec![e], SqlType::Text)),
        _ => Err(e),
    }
}
