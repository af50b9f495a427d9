//! PostgreSQL 15's math functions and operators beyond [`crate::scalar`]'s: pi, cbrt (`||/`),
//! degrees, radians, the trigonometric functions (also in degrees: sind ... atan2d, exact at the
//! angles float.c makes exact) and the hyperbolic ones, gcd, lcm, div, scale, min_scale,
//! trim_scale, factorial, numeric_inc, float4send/float8send, width_bucket and the
//! integer bitwise operators (`&`, `|`, `#`, `~`, `<<`, `>>`), with PostgreSQL's results and
//! errors (<https://www.postgresql.org/docs/15/functions-math.html>). The binder has coerced
//! the arguments to the types each variant lists.

use crate::error::{code, Result, SqlError};
use orbit_engine::table::Datum;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathFn {
    /// () -> float8.
    Pi,
    /// float8 -> float8.
    Cbrt,
    Degrees,
    Radians,
    Sin,
    Cos,
    Tan,
    Cot,
    Asin,
    Acos,
    Atan,
    /// (float8, float8) -> float8.
    Atan2,
    /// Two integers of one type (int4 or int8) or two numerics -> that type.
    Gcd,
    Lcm,
    /// (numeric, numeric) -> numeric: the truncated quotient.
    Div,
    /// numeric -> int4: the digits after the decimal point.
    Scale,
    /// (float8 operand, float8 low, float8 high, int4 count) -> int4.
    WidthBucket,
    /// Two integers of one type (int2, int4, int8); shifts take an int4 count.
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    /// One integer.
    BitNot,
    /// float8 -> float8: the hyperbolic functions and their inverses.
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    /// float8 -> float8: the trigonometric functions in degrees.
    Sind,
    Cosd,
    Tand,
    Cotd,
    Asind,
    Acosd,
    Atand,
    /// (float8, float8) -> float8.
    Atan2d,
    /// numeric -> int4: the scale without trailing fraction zeros (NULL for NaN, ±Infinity).
    MinScale,
    /// numeric -> numeric: the value at its min_scale.
    TrimScale,
    /// numeric -> numeric: the value plus one.
    NumericInc,
    /// int8 -> numeric.
    Factorial,
    /// float4 -> bytea, float8 -> bytea: the binary send form (IEEE bits, big-endian).
    Float4Send,
    Float8Send,
    /// numeric -> numeric: log(x) and log10(x), PostgreSQL's SQL functions
    /// `select pg_catalog.log(10, $1)`, whose errors name them in a CONTEXT line.
    LogSql,
    Log10Sql,
    /// (float8[3], float8) -> float8[3]: float8_accum, the variance aggregates' step.
    Float8Accum,
    /// (float8[6], float8 Y, float8 X) -> float8[6]: float8_regr_accum.
    Float8RegrAccum,
    /// (float8[3], float8[3]) -> float8[3]: float8_combine.
    Float8Combine,
    /// (float8[6], float8[6]) -> float8[6]: float8_regr_combine.
    Float8RegrCombine,
    /// (anyelement, anyarray) -> int4: width_bucket over sorted thresholds.
    WidthBucketArray,
    /// float4, float8 or an array of them -> text, printed with `extra_float_digits` at this
    /// value (0 or below: `%.*g` with FLT_DIG/DBL_DIG plus it).
    FloatText(i8),
}

impl MathFn {
    pub fn strict(self) -> bool {
        true
    }
}

/// PostgreSQL's cbrt() is glibc's (`sysdeps/ieee754/dbl-64/s_cbrt.c`), whose last digit can
/// differ from a correctly rounded one (cbrt(27) is 3.0000000000000004): the same steps give
/// the same digits.
// The constants as glibc writes them.
#[allow(clippy::excessive_precision)]
fn glibc_cbrt(x: f64) -> f64 {
    const CBRT2: f64 = 1.2599210498948731648;
    const SQR_CBRT2: f64 = 1.5874010519681994748;
    const FACTOR: [f64; 5] = [1.0 / SQR_CBRT2, 1.0 / CBRT2, 1.0, CBRT2, SQR_CBRT2];
    if x == 0.0 || !x.is_finite() {
        return x + x;
    }
    let (xm, xe) = frexp(x.abs());
    let u = 0.354895765043919860
        + ((1.50819193781584896
            + ((-2.11499494167371287
                + ((2.44693122563534430
                    + ((-1.83469277483613086 + (0.784932344976639262 - 0.145263899385486377 * xm) * xm) * xm))
                    * xm))
                * xm))
            * xm);
    let t2 = u * u * u;
    let ym = u * (t2 + 2.0 * xm) / (2.0 * t2 + xm) * FACTOR[(2 + xe % 3) as usize];
    ldexp(if x > 0.0 { ym } else { -ym }, xe / 3)
}

/// C's frexp for a finite non-zero value: a mantissa in [0.5, 1) and the power of two.
fn frexp(x: f64) -> (f64, i32) {
    let (x, bias) = if x.abs() < f64::MIN_POSITIVE { (x * 2f64.powi(54), -54) } else { (x, 0) };
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let mant = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (mant, exp - 1022 + bias)
}

fn ldexp(x: f64, n: i32) -> f64 {
    // In two steps so that 2^n stays a normal number.
    let half = n / 2;
    x * 2f64.powi(half) * 2f64.powi(n - half)
}

fn float(d: &Datum) -> f64 {
    d.as_f64().unwrap_or_default()
}

/// glibc's inverse hyperbolic functions, which PostgreSQL calls: Rust's own `f64::asinh`,
/// `acosh` and `atanh` are other formulas whose last digit can differ.
mod libm {
    extern "C" {
        fn asinh(x: f64) -> f64;
        fn acosh(x: f64) -> f64;
        fn atanh(x: f64) -> f64;
    }
    pub fn c_asinh(x: f64) -> f64 {
        // SAFETY: a pure C function of one double, from the libm std links on this target.
        unsafe { asinh(x) }
    }
    pub fn c_acosh(x: f64) -> f64 {
        // SAFETY: as above.
        unsafe { acosh(x) }
    }
    pub fn c_atanh(x: f64) -> f64 {
        // SAFETY: as above.
        unsafe { atanh(x) }
    }
}

/// float.c's degree-based trigonometry: the scaling constants computed at run time from the
/// same library calls, so that sind(30), cosd(60), tand(45), asind(0.5), atand(1), ... are
/// exact (`init_degree_constants`).
mod degrees {
    const RADIANS_PER_DEGREE: f64 = 0.017_453_292_519_943_295;

    /// Values the compiler must not fold at build time (float.c's volatile `degree_c_*`).
    fn opaque(x: f64) -> f64 {
        std::hint::black_box(x)
    }

    fn sin_30() -> f64 {
        (opaque(30.0) * RADIANS_PER_DEGREE).sin()
    }
    fn one_minus_cos_60() -> f64 {
        1.0 - (opaque(60.0) * RADIANS_PER_DEGREE).cos()
    }
    fn asin_0_5() -> f64 {
        opaque(0.5).asin()
    }
    fn acos_0_5() -> f64 {
        opaque(0.5).acos()
    }
    pub fn atan_1_0() -> f64 {
        opaque(1.0).atan()
    }
    fn tan_45() -> f64 {
        sind_q1(opaque(45.0)) / cosd_q1(opaque(45.0))
    }
    fn cot_45() -> f64 {
        cosd_q1(opaque(45.0)) / sind_q1(opaque(45.0))
    }

    fn sind_0_to_30(x: f64) -> f64 {
        let sin_x = opaque((x * RADIANS_PER_DEGREE).sin());
        (sin_x / sin_30()) / 2.0
    }
    fn cosd_0_to_60(x: f64) -> f64 {
        let one_minus_cos_x = opaque(1.0 - (x * RADIANS_PER_DEGREE).cos());
        1.0 - (one_minus_cos_x / one_minus_cos_60()) / 2.0
    }
    pub fn sind_q1(x: f64) -> f64 {
        if x <= 30.0 {
            sind_0_to_30(x)
        } else {
            cosd_0_to_60(90.0 - x)
        }
    }
    pub fn cosd_q1(x: f64) -> f64 {
        if x <= 60.0 {
            cosd_0_to_60(x)
        } else {
            sind_0_to_30(90.0 - x)
        }
    }
    pub fn asind_q1(x: f64) -> f64 {
        if x <= 0.5 {
            (opaque(x.asin()) / asin_0_5()) * 30.0
        } else {
            90.0 - (opaque(x.acos()) / acos_0_5()) * 60.0
        }
    }
    pub fn acosd_q1(x: f64) -> f64 {
        if x <= 0.5 {
            90.0 - (opaque(x.asin()) / asin_0_5()) * 30.0
        } else {
            (opaque(x.acos()) / acos_0_5()) * 60.0
        }
    }

    /// The argument reduced to [0, 90] degrees and the result's sign, as dsind, dcosd,
    /// dtand and dcotd reduce it: `odd` says whether f(-x) = -f(x), `mirror` whether
    /// f(180 - x) = -f(x).
    fn reduce(x: f64, odd: bool, mirror: bool) -> (f64, f64) {
        let mut x = x % 360.0;
        let mut sign = 1.0;
        if x < 0.0 {
            x = -x;
            if odd {
                sign = -sign;
            }
        }
        if x > 180.0 {
            x = 360.0 - x;
            if odd {
                sign = -sign;
            }
        }
        if x > 90.0 {
            x = 180.0 - x;
            if mirror {
                sign = -sign;
            }
        }
        (x, sign)
    }

    pub fn sind(x: f64) -> f64 {
        let (x, sign) = reduce(x, true, false);
        sign * sind_q1(x)
    }
    pub fn cosd(x: f64) -> f64 {
        let (x, sign) = reduce(x, false, true);
        sign * cosd_q1(x)
    }
    pub fn tand(x: f64) -> f64 {
        let (x, sign) = reduce(x, true, true);
        let tan_x = opaque(sind_q1(x) / cosd_q1(x));
        // Minus zero is shown as zero.
        sign * (tan_x / tan_45()) + 0.0
    }
    pub fn cotd(x: f64) -> f64 {
        let (x, sign) = reduce(x, true, true);
        let cot_x = opaque(cosd_q1(x) / sind_q1(x));
        sign * (cot_x / cot_45()) + 0.0
    }
}

fn out_of_range_input() -> SqlError {
    SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "input is out of range")
}

fn overflow() -> SqlError {
    SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow")
}

/// An integer result of the first argument's type.
fn same_int(like: &Datum, v: i64) -> Datum {
    match like {
        Datum::Int2(_) => Datum::Int2(v as i16),
        Datum::Int4(_) => Datum::Int4(v as i32),
        _ => Datum::Int8(v),
    }
}

fn int_range_error(like: &Datum) -> SqlError {
    let what = match like {
        Datum::Int2(_) => "smallint",
        Datum::Int4(_) => "integer",
        _ => "bigint",
    };
    SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, format!("{what} out of range"))
}

pub fn call(f: MathFn, args: Vec<Datum>) -> Result<Datum> {
    if f.strict() && args.iter().any(Datum::is_null) {
        return Ok(Datum::Null);
    }
    let a = |i: usize| args.get(i).unwrap_or(&Datum::Null);
    let x = || float(a(0));
    // sin, cos, tan and cot: infinite inputs have no value.
    let trig = |g: fn(f64) -> f64| -> Result<Datum> {
        let v = x();
        if v.is_infinite() {
            return Err(out_of_range_input());
        }
        Ok(Datum::Float8(g(v)))
    };
    Ok(match f {
        MathFn::Pi => Datum::Float8(std::f64::consts::PI),
        MathFn::Cbrt => Datum::Float8(glibc_cbrt(x())),
        MathFn::Degrees | MathFn::Radians => {
            let r = if f == MathFn::Degrees { x().to_degrees() } else { x().to_radians() };
            if r.is_infinite() && x().is_finite() {
                return Err(overflow());
            }
            Datum::Float8(r)
        }
        MathFn::Sin => trig(f64::sin)?,
        MathFn::Cos => trig(f64::cos)?,
        MathFn::Tan => trig(f64::tan)?,
        MathFn::Cot => trig(|v| 1.0 / v.tan())?,
        MathFn::Asin | MathFn::Acos => {
            let v = x();
            if v.is_nan() {
                return Ok(Datum::Float8(v));
            }
            if !(-1.0..=1.0).contains(&v) {
                return Err(out_of_range_input());
            }
            Datum::Float8(if f == MathFn::Asin { v.asin() } else { v.acos() })
        }
        MathFn::Atan => Datum::Float8(x().atan()),
        MathFn::Atan2 => Datum::Float8(x().atan2(float(a(1)))),
        MathFn::Gcd | MathFn::Lcm if matches!(a(0), Datum::Numeric(_)) => numeric_gcd(f == MathFn::Lcm, a(0), a(1))?,
        MathFn::Gcd | MathFn::Lcm => {
            let (p, q) = (a(0).as_i64().unwrap_or(0), a(1).as_i64().unwrap_or(0));
            let (lo, hi) = match a(0) {
                Datum::Int4(_) => (i32::MIN as i64, i32::MAX as i64),
                _ => (i64::MIN, i64::MAX),
            };
            let g = gcd(p as i128, q as i128);
            let r = if f == MathFn::Gcd {
                g
            } else if p == 0 || q == 0 {
                0
            } else {
                (p as i128 / g * q as i128).abs()
            };
            if r < lo as i128 || r > hi as i128 {
                return Err(int_range_error(a(0)));
            }
            same_int(a(0), r as i64)
        }
        MathFn::Div => {
            use crate::numeric::{of, Num};
            let (p, q) = (of(a(0))?, of(a(1))?);
            if !matches!((&p, &q), (Num::Fin(..), Num::Fin(..))) {
                // NaN, ±Infinity (but 0 for a finite value over an infinite one), and the
                // division's own errors, as numeric_div_trunc.
                return Ok(p.div(&q)?.trunc(0).into_datum());
            }
            // The quotient of what is left after the remainder is exact.
            let exact = p.sub(&p.rem(&q)?)?;
            exact.div(&q)?.trunc(0).into_datum()
        }
        MathFn::Scale => match a(0) {
            Datum::Numeric(s) if s.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-') => {
                Datum::Int4(s.split_once('.').map_or(0, |(_, frac)| frac.len() as i32))
            }
            // NaN and the infinities have no scale.
            _ => Datum::Null,
        },
        MathFn::WidthBucket => width_bucket(x(), float(a(1)), float(a(2)), a(3).as_i64().unwrap_or(0))?,
        MathFn::BitAnd | MathFn::BitOr | MathFn::BitXor => {
            let (p, q) = (a(0).as_i64().unwrap_or(0), a(1).as_i64().unwrap_or(0));
            same_int(
                a(0),
                match f {
                    MathFn::BitAnd => p & q,
                    MathFn::BitOr => p | q,
                    _ => p ^ q,
                },
            )
        }
        // PostgreSQL shifts in C: int2 and int4 as 32-bit ints, int8 as 64-bit; the count
        // taken modulo the width as the hardware does.
        MathFn::Shl | MathFn::Shr => {
            let (p, n) = (a(0).as_i64().unwrap_or(0), a(1).as_i64().unwrap_or(0) as u32);
            let left = f == MathFn::Shl;
            match a(0) {
                Datum::Int8(_) => Datum::Int8(if left { p.wrapping_shl(n) } else { p.wrapping_shr(n) }),
                d => {
                    let v = p as i32;
                    same_int(d, i64::from(if left { v.wrapping_shl(n) } else { v.wrapping_shr(n) }))
                }
            }
        }
        MathFn::BitNot => same_int(a(0), !a(0).as_i64().unwrap_or(0)),
        MathFn::Sinh => Datum::Float8(x().sinh()),
        MathFn::Cosh => Datum::Float8(x().cosh()),
        MathFn::Tanh => Datum::Float8(x().tanh()),
        MathFn::Asinh => Datum::Float8(libm::c_asinh(x())),
        MathFn::Acosh => {
            // NaN passes: only a value below 1 is out of range.
            if x() < 1.0 {
                return Err(out_of_range_input());
            }
            Datum::Float8(libm::c_acosh(x()))
        }
        MathFn::Atanh => {
            let v = x();
            if !(-1.0..=1.0).contains(&v) && !v.is_nan() {
                return Err(out_of_range_input());
            }
            Datum::Float8(match v {
                -1.0 => f64::NEG_INFINITY,
                1.0 => f64::INFINITY,
                _ => libm::c_atanh(v),
            })
        }
        MathFn::Sind | MathFn::Cosd | MathFn::Tand | MathFn::Cotd => {
            let v = x();
            if v.is_nan() {
                return Ok(Datum::Float8(v));
            }
            if v.is_infinite() {
                return Err(out_of_range_input());
            }
            Datum::Float8(match f {
                MathFn::Sind => degrees::sind(v),
                MathFn::Cosd => degrees::cosd(v),
                MathFn::Tand => degrees::tand(v),
                _ => degrees::cotd(v),
            })
        }
        MathFn::Asind | MathFn::Acosd => {
            let v = x();
            if v.is_nan() {
                return Ok(Datum::Float8(v));
            }
            if !(-1.0..=1.0).contains(&v) {
                return Err(out_of_range_input());
            }
            Datum::Float8(match (f == MathFn::Asind, v >= 0.0) {
                (true, true) => degrees::asind_q1(v),
                (true, false) => -degrees::asind_q1(-v),
                (false, true) => degrees::acosd_q1(v),
                (false, false) => 90.0 + degrees::asind_q1(-v),
            })
        }
        MathFn::Atand => {
            let v = x();
            if v.is_nan() {
                return Ok(Datum::Float8(v));
            }
            Datum::Float8((std::hint::black_box(v.atan()) / degrees::atan_1_0()) * 45.0)
        }
        MathFn::Atan2d => {
            let (y, z) = (x(), float(a(1)));
            if y.is_nan() || z.is_nan() {
                return Ok(Datum::Float8(f64::NAN));
            }
            Datum::Float8((std::hint::black_box(y.atan2(z)) / degrees::atan_1_0()) * 45.0)
        }
        MathFn::MinScale | MathFn::TrimScale => {
            use crate::numeric::{of, Num};
            let n = of(a(0))?;
            match (f, n.trimmed()) {
                (MathFn::MinScale, Num::Fin(_, s)) => Datum::Int4(s as i32),
                (MathFn::MinScale, _) => Datum::Null,
                (_, t) => t.into_datum(),
            }
        }
        MathFn::NumericInc => crate::numeric::of(a(0))?.add(&crate::numeric::Num::from_i64(1))?.into_datum(),
        MathFn::Factorial => crate::numeric::Num::factorial(a(0).as_i64().unwrap_or(0))?.into_datum(),
        MathFn::Float4Send => match a(0) {
            Datum::Float4(v) => Datum::Bytea(v.to_bits().to_be_bytes().to_vec()),
            d => Datum::Bytea((float(d) as f32).to_bits().to_be_bytes().to_vec()),
        },
        MathFn::Float8Send => Datum::Bytea(x().to_bits().to_be_bytes().to_vec()),
        MathFn::Float8Accum | MathFn::Float8Combine => {
            let caller = if f == MathFn::Float8Accum { "float8_accum" } else { "float8_combine" };
            let mut t: [f64; 3] = float8_state(a(0), caller)?;
            if f == MathFn::Float8Accum {
                crate::expr::float8_accum(&mut t, float(a(1)))?;
            } else {
                crate::expr::float8_combine(&mut t, float8_state(a(1), caller)?)?;
            }
            float8_array(&t)
        }
        MathFn::Float8RegrAccum | MathFn::Float8RegrCombine => {
            let caller = if f == MathFn::Float8RegrAccum { "float8_regr_accum" } else { "float8_regr_combine" };
            let mut t: [f64; 6] = float8_state(a(0), caller)?;
            if f == MathFn::Float8RegrAccum {
                crate::expr::regr_accum(&mut t, float(a(1)), float(a(2)))?;
            } else {
                crate::expr::regr_combine(&mut t, float8_state(a(1), caller)?)?;
            }
            float8_array(&t)
        }
        MathFn::WidthBucketArray => width_bucket_array(a(0), a(1))?,
        MathFn::FloatText(n) => {
            let style = crate::types::TextStyle { float_digits: Some(i32::from(n)), ..Default::default() };
            crate::types::to_text_in(a(0), &style).map_or(Datum::Null, Datum::Text)
        }
        MathFn::LogSql | MathFn::Log10Sql => {
            let name = if f == MathFn::LogSql { "log" } else { "log10" };
            crate::numeric::Num::from_i64(10)
                .log(&crate::numeric::of(a(0))?)
                .map_err(|e| e.context(format!("SQL function \"{name}\" statement 1")))?
                .into_datum()
        }
    })
}

/// An aggregate's float8[] transition state of `N` values, as check_float8_array requires it
/// (one dimension, N elements, no NULL); else its internal error.
fn float8_state<const N: usize>(d: &Datum, caller: &str) -> Result<[f64; N]> {
    let bad = || SqlError::internal(format!("{caller}: expected {N}-element float8 array"));
    let Datum::Array(arr) = d else { return Err(bad()) };
    if arr.dims.len() != 1 || arr.items.len() != N {
        return Err(bad());
    }
    let mut out = [0.0; N];
    for (o, item) in out.iter_mut().zip(&arr.items) {
        *o = match item {
            Datum::Float8(v) => *v,
            _ => return Err(bad()),
        };
    }
    Ok(out)
}

fn float8_array(t: &[f64]) -> Datum {
    let items = t.iter().map(|v| Datum::Float8(*v)).collect();
    Datum::Array(Box::new(orbit_engine::table::ArrayValue::from_items(orbit_engine::table::SqlType::Float8, items)))
}

/// width_bucket(operand, thresholds): how many thresholds are at or below the operand, by
/// binary search over the (sorted) array as width_bucket_array does — the rightmost of equal
/// thresholds, NaN above every float.
fn width_bucket_array(operand: &Datum, thresholds: &Datum) -> Result<Datum> {
    let Datum::Array(arr) = thresholds else { return Err(SqlError::internal("width_bucket of a non-array")) };
    if arr.dims.len() > 1 {
        return Err(SqlError::new("2202E", "thresholds must be one-dimensional array"));
    }
    if arr.items.iter().any(Datum::is_null) {
        return Err(SqlError::new("22004", "thresholds array must not contain NULLs"));
    }
    let (mut left, mut right) = (0usize, arr.items.len());
    while left < right {
        let mid = (left + right) / 2;
        if crate::expr::compare(operand, &arr.items[mid]) == Some(std::cmp::Ordering::Less) {
            right = mid;
        } else {
            left = mid + 1;
        }
    }
    i32::try_from(left)
        .map(Datum::Int4)
        .map_err(|_| SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range"))
}

/// gcd and lcm of numerics (PostgreSQL's numeric_gcd/numeric_lcm): Euclid's algorithm on
/// the exact values, the result at the larger input scale; NaN when either is not finite.
fn numeric_gcd(lcm: bool, a: &Datum, b: &Datum) -> Result<Datum> {
    use crate::numeric::{of, Num};
    use std::cmp::Ordering;
    let (x, y) = (of(a)?, of(b)?);
    let scale = match (&x, &y) {
        (Num::Fin(_, s1), Num::Fin(_, s2)) => i64::from(*s1.max(s2)),
        _ => return Ok(Num::NaN.into_datum()),
    };
    let zero = Num::zero();
    let is_zero = |n: &Num| n.order(&zero) == Ordering::Equal;
    let (mut p, mut q) = (x.abs(), y.abs());
    while !is_zero(&q) {
        let r = p.rem(&q)?;
        (p, q) = (q, r);
    }
    let r = if !lcm {
        p
    } else if is_zero(&x) || is_zero(&y) {
        zero
    } else {
        x.abs().div(&p)?.mul(&y.abs())?
    };
    Ok(r.round(scale).into_datum())
}

fn gcd(mut p: i128, mut q: i128) -> i128 {
    while q != 0 {
        (p, q) = (q, p % q);
    }
    p.abs()
}

fn bucket_error(msg: &str) -> SqlError {
    SqlError::new("2201G", msg)
}

/// PostgreSQL's width_bucket_float8.
fn width_bucket(operand: f64, b1: f64, b2: f64, count: i64) -> Result<Datum> {
    if count <= 0 {
        return Err(bucket_error("count must be greater than zero"));
    }
    if operand.is_nan() || b1.is_nan() || b2.is_nan() {
        return Err(bucket_error("operand, lower bound, and upper bound cannot be NaN"));
    }
    if b1.is_infinite() || b2.is_infinite() {
        return Err(bucket_error("lower and upper bounds must be finite"));
    }
    let c = count as f64;
    let inner = |num: f64, den: f64, halves: (f64, f64)| -> i64 {
        let r = if (den).is_finite() { c * (num / den) } else { c * (halves.0 / halves.1) };
        // Roundoff can put the operand in the bucket past the last.
        (r as i64).min(count - 1) + 1
    };
    let r = if b1 < b2 {
        if operand < b1 {
            0
        } else if operand >= b2 {
            count + 1
        } else {
            inner(operand - b1, b2 - b1, (operand / 2.0 - b1 / 2.0, b2 / 2.0 - b1 / 2.0))
        }
    } else if b1 > b2 {
        if operand > b1 {
            0
        } else if operand <= b2 {
            count + 1
        } else {
            inner(b1 - operand, b1 - b2, (b1 / 2.0 - operand / 2.0, b1 / 2.0 - b2 / 2.0))
        }
    } else {
        return Err(bucket_error("lower bound cannot equal upper bound"));
    };
    i32::try_from(r)
        .map(Datum::Int4)
        .map_err(|_| SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcd_lcm_and_ranges() {
        assert_eq!(call(MathFn::Gcd, vec![Datum::Int4(12), Datum::Int4(-18)]).unwrap(), Datum::Int4(6));
        assert_eq!(call(MathFn::Lcm, vec![Datum::Int8(4), Datum::Int8(6)]).unwrap(), Datum::Int8(12));
        let e = call(MathFn::Gcd, vec![Datum::Int4(i32::MIN), Datum::Int4(0)]).unwrap_err();
        assert_eq!(e.code, "22003");
    }

    #[test]
    fn buckets_and_shifts() {
        let wb = |o, lo, hi, n| {
            call(MathFn::WidthBucket, vec![Datum::Float8(o), Datum::Float8(lo), Datum::Float8(hi), Datum::Int4(n)])
        };
        assert_eq!(wb(5.35, 0.024, 10.06, 5).unwrap(), Datum::Int4(3));
        assert_eq!(wb(-1.0, 0.0, 10.0, 5).unwrap(), Datum::Int4(0));
        assert_eq!(wb(10.0, 0.0, 10.0, 5).unwrap(), Datum::Int4(6));
        assert_eq!(wb(1.0, 1.0, 1.0, 5).unwrap_err().code, "2201G");
        assert_eq!(call(MathFn::Shl, vec![Datum::Int4(1), Datum::Int4(33)]).unwrap(), Datum::Int4(2));
        assert_eq!(call(MathFn::BitNot, vec![Datum::Int2(0)]).unwrap(), Datum::Int2(-1));
    }

    #[test]
    fn degree_trigonometry_is_exact_where_postgresql_is() {
        let f = |m: MathFn, v: f64| match call(m, vec![Datum::Float8(v)]).unwrap() {
            Datum::Float8(r) => r,
            d => panic!("{d:?}"),
        };
        assert_eq!(f(MathFn::Sind, 30.0), 0.5);
        assert_eq!(f(MathFn::Sind, 210.0), -0.5);
        assert_eq!(f(MathFn::Cosd, 60.0), 0.5);
        assert_eq!(f(MathFn::Cosd, 240.0), -0.5);
        assert_eq!(f(MathFn::Tand, 45.0), 1.0);
        assert_eq!(f(MathFn::Tand, 90.0), f64::INFINITY);
        assert!(f(MathFn::Cotd, 270.0).is_sign_positive());
        assert_eq!(f(MathFn::Asind, 0.5), 30.0);
        assert_eq!(f(MathFn::Acosd, -0.5), 120.0);
        assert_eq!(f(MathFn::Atand, 1.0), 45.0);
        assert_eq!(f(MathFn::Atand, f64::NEG_INFINITY), -90.0);
        assert_eq!(f(MathFn::Sinh, 1.0), 1.1752011936438014);
        assert_eq!(f(MathFn::Asinh, 1.0), 0.881373587019543);
        assert_eq!(f(MathFn::Atanh, 1.0), f64::INFINITY);
        assert_eq!(call(MathFn::Sind, vec![Datum::Float8(f64::INFINITY)]).unwrap_err().code, "22003");
        assert_eq!(call(MathFn::Acosh, vec![Datum::Float8(0.5)]).unwrap_err().code, "22003");
        let d2 = call(MathFn::Atan2d, vec![Datum::Float8(-10.0), Datum::Float8(0.0)]).unwrap();
        assert_eq!(d2, Datum::Float8(-90.0));
    }

    #[test]
    fn numeric_scale_functions_and_factorial() {
        let n = |s: &str| Datum::Numeric(s.into());
        assert_eq!(call(MathFn::TrimScale, vec![n("1.1234500")]).unwrap(), n("1.12345"));
        assert_eq!(call(MathFn::TrimScale, vec![n("-13.000")]).unwrap(), n("-13"));
        assert_eq!(call(MathFn::MinScale, vec![n("1.1000")]).unwrap(), Datum::Int4(1));
        assert_eq!(call(MathFn::MinScale, vec![n("NaN")]).unwrap(), Datum::Null);
        assert_eq!(call(MathFn::Factorial, vec![Datum::Int8(15)]).unwrap(), n("1307674368000"));
        assert_eq!(call(MathFn::Factorial, vec![Datum::Int8(0)]).unwrap(), n("1"));
        assert_eq!(call(MathFn::Factorial, vec![Datum::Int8(32178)]).unwrap_err().code, "22003");
        assert_eq!(call(MathFn::NumericInc, vec![n("-7.777")]).unwrap(), n("-6.777"));
        let wb = |op: Datum, items: Vec<Datum>| {
            let arr = orbit_engine::table::ArrayValue::from_items(orbit_engine::table::SqlType::Int4, items);
            call(MathFn::WidthBucketArray, vec![op, Datum::Array(Box::new(arr))])
        };
        let th = || vec![Datum::Int4(1), Datum::Int4(3), Datum::Int4(5), Datum::Int4(10)];
        assert_eq!(wb(Datum::Int4(0), th()).unwrap(), Datum::Int4(0));
        assert_eq!(wb(Datum::Int4(5), th()).unwrap(), Datum::Int4(3));
        assert_eq!(wb(Datum::Int4(11), th()).unwrap(), Datum::Int4(4));
        assert_eq!(wb(Datum::Int4(1), vec![Datum::Int4(1), Datum::Null]).unwrap_err().code, "22004");
    }

    #[test]
    fn cbrt_as_glibc() {
        assert_eq!(glibc_cbrt(27.0), 3.0000000000000004);
        assert_eq!(glibc_cbrt(-8.0), -2.0);
        assert_eq!(glibc_cbrt(0.0), 0.0);
    }
}
