//! PostgreSQL's `numeric`: arbitrary precision decimals with a display scale, NaN and
//! ±Infinity, computed as PostgreSQL's numeric.c computes them.
//!
//! A finite value is an integer `v` and a scale `s` (the value is `v / 10^s`); the scale is
//! PostgreSQL's `dscale`, the number of digits printed after the point, so `1.50` keeps its
//! two. Results take PostgreSQL's scales: `+`/`-` the larger input scale, `*` the sum,
//! `/` the scale `select_div_scale` picks (at least 16 significant digits), `%` the larger input
//! scale, `sqrt` at least 16 significant digits; rounding is half away from zero. Every result
//! here is the exact result rounded to that scale, which is what PostgreSQL's algorithms give.
//!
//! In a [`Datum`] a numeric is its text (`Datum::Numeric`, as `numeric_out` prints it), so the
//! engine can store, key and log it without arithmetic.

use crate::error::{code, Result, SqlError};
use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};
use orbit_engine::table::Datum;
use std::cmp::Ordering;

/// Digits before the decimal point PostgreSQL can hold (NUMERIC_WEIGHT_MAX + 1 base-10000 digits).
const MAX_INT_DIGITS: usize = 131_072;
/// NUMERIC_DSCALE_MAX.
const MAX_DSCALE: u32 = 16_383;
/// NUMERIC_MAX_DISPLAY_SCALE: the most digits a division or square root computes.
const MAX_DISPLAY_SCALE: i64 = 1000;
/// NUMERIC_MIN_SIG_DIGITS.
const MIN_SIG_DIGITS: i64 = 16;
/// NUMERIC_MAX_PRECISION: the largest typmod precision (and scale magnitude).
pub const MAX_PRECISION: i64 = 1000;
/// PostgreSQL's literals for log10(e) and ln(10) in numeric.c: its scale estimates truncate
/// these products, so they must be the same doubles, not the exact constants.
#[allow(clippy::approx_constant)]
const PG_LOG10_E: f64 = 0.434294481903252;
#[allow(clippy::approx_constant)]
const PG_LN_10: f64 = 2.302585092994046;
/// NUMERIC_MAX_RESULT_SCALE: the bound of exp()'s and power()'s estimates.
const MAX_RESULT_SCALE: i64 = 2000;

#[derive(Debug, Clone, PartialEq)]
pub enum Num {
    NaN,
    /// Infinity; -Infinity when true.
    Inf(bool),
    /// `v / 10^scale`.
    Fin(BigInt, u32),
}

fn pow10(n: u32) -> BigInt {
    BigInt::from(10u32).pow(n)
}

fn overflow() -> SqlError {
    SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "value overflows numeric format")
}

fn invalid(s: &str) -> SqlError {
    SqlError::new(code::INVALID_TEXT_REPRESENTATION, format!("invalid input syntax for type numeric: \"{s}\""))
}

impl Num {
    pub fn zero() -> Num {
        Num::Fin(BigInt::zero(), 0)
    }

    pub fn from_i64(v: i64) -> Num {
        Num::Fin(BigInt::from(v), 0)
    }

    /// PostgreSQL's numeric_in (without a typmod).
    pub fn parse(s: &str) -> Result<Num> {
        let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
        let special = t.to_ascii_lowercase();
        match special.as_str() {
            "nan" => return Ok(Num::NaN),
            "infinity" | "+infinity" | "inf" | "+inf" => return Ok(Num::Inf(false)),
            "-infinity" | "-inf" => return Ok(Num::Inf(true)),
            _ => {}
        }
        let b = t.as_bytes();
        let mut i = 0;
        let mut neg = false;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            neg = b[i] == b'-';
            i += 1;
        }
        let mut digits = String::new();
        let mut frac: i64 = 0;
        let mut seen_point = false;
        let mut any = false;
        while i < b.len() {
            match b[i] {
                c @ b'0'..=b'9' => {
                    digits.push(c as char);
                    any = true;
                    if seen_point {
                        frac += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => break,
            }
            i += 1;
        }
        if !any {
            return Err(invalid(s));
        }
        let mut exp: i64 = 0;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            let start = i;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            let ds = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if ds == i {
                return Err(invalid(s));
            }
            // As set_var_from_str: an exponent past INT_MAX / 2 overflows.
            exp = t[start..i].parse::<i64>().unwrap_or(i64::MAX);
            if exp.abs() >= (i32::MAX / 2) as i64 {
                return Err(overflow());
            }
        }
        if i != b.len() {
            return Err(invalid(s));
        }
        let mut v: BigInt = if digits.len() <= SMALL_DIGITS {
            BigInt::from(digits.parse::<i128>().map_err(|_| invalid(s))?)
        } else {
            digits.parse().map_err(|_| invalid(s))?
        };
        if neg {
            v = -v;
        }
        let dscale = (frac - exp).max(0);
        if dscale > MAX_DSCALE as i64 {
            return Err(overflow());
        }
        let significant = digits.trim_start_matches('0').len() as i64;
        if !v.is_zero() && significant - frac + exp > MAX_INT_DIGITS as i64 {
            return Err(overflow());
        }
        // v * 10^(exp - frac) with dscale digits after the point.
        let shift = dscale - frac + exp;
        if shift > 0 && !v.is_zero() {
            v *= pow10(shift as u32);
        }
        let n = Num::Fin(v, dscale as u32);
        n.check()?;
        Ok(n)
    }

    /// Errors for values PostgreSQL cannot store.
    fn check(&self) -> Result<()> {
        if let Num::Fin(v, s) = self {
            if *s > MAX_DSCALE {
                return Err(overflow());
            }
            // Below 435,000 bits a value has fewer than MAX_INT_DIGITS digits: no need to
            // print it to count them.
            if v.bits() > 435_000 && int_digits(v, *s) > MAX_INT_DIGITS as i64 {
                return Err(overflow());
            }
        }
        Ok(())
    }

    /// PostgreSQL's numeric_out.
    pub fn to_text(&self) -> String {
        match self {
            Num::NaN => "NaN".into(),
            Num::Inf(false) => "Infinity".into(),
            Num::Inf(true) => "-Infinity".into(),
            Num::Fin(v, s) => {
                if let Some(x) = v.to_i128() {
                    return Small { v: x, s: *s }.to_text();
                }
                let mut d = v.magnitude().to_string();
                let s = *s as usize;
                if d.len() <= s {
                    d = format!("{}{d}", "0".repeat(s + 1 - d.len()));
                }
                let (int, frac) = d.split_at(d.len() - s);
                let sign = if v.is_negative() { "-" } else { "" };
                if s == 0 {
                    format!("{sign}{int}")
                } else {
                    format!("{sign}{int}.{frac}")
                }
            }
        }
    }

    pub fn from_datum(d: &Datum) -> Option<Num> {
        match d {
            Datum::Numeric(s) => Num::parse(s).ok(),
            Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_) => d.as_i64().map(Num::from_i64),
            _ => None,
        }
    }

    pub fn into_datum(self) -> Datum {
        Datum::Numeric(self.to_text())
    }

    fn is_zero(&self) -> bool {
        matches!(self, Num::Fin(v, _) if v.is_zero())
    }

    fn is_neg(&self) -> bool {
        match self {
            Num::Inf(n) => *n,
            Num::Fin(v, _) => v.is_negative(),
            Num::NaN => false,
        }
    }

    /// PostgreSQL's numeric comparison: NaN equals NaN and sorts above everything.
    pub fn order(&self, o: &Num) -> Ordering {
        let rank = |n: &Num| match n {
            Num::Inf(true) => 0,
            Num::Fin(..) => 1,
            Num::Inf(false) => 2,
            Num::NaN => 3,
        };
        match (self, o) {
            (Num::Fin(a, sa), Num::Fin(b, sb)) => {
                let (a, b) = align(a, *sa, b, *sb);
                a.cmp(&b)
            }
            _ => rank(self).cmp(&rank(o)),
        }
    }

    pub fn neg(&self) -> Num {
        match self {
            Num::NaN => Num::NaN,
            Num::Inf(n) => Num::Inf(!n),
            Num::Fin(v, s) => Num::Fin(-v, *s),
        }
    }

    pub fn add(&self, o: &Num) -> Result<Num> {
        let r = self.add_unchecked(o);
        r.check()?;
        Ok(r)
    }

    pub fn sub(&self, o: &Num) -> Result<Num> {
        self.add(&o.neg())
    }

    pub fn mul(&self, o: &Num) -> Result<Num> {
        let r = match (self, o) {
            (Num::NaN, _) | (_, Num::NaN) => Num::NaN,
            (Num::Inf(_), x) | (x, Num::Inf(_)) if x.is_zero() => Num::NaN,
            (Num::Inf(_), _) | (_, Num::Inf(_)) => Num::Inf(self.is_neg() != o.is_neg()),
            // numeric_mul rounds a product past NUMERIC_DSCALE_MAX digits to it.
            (Num::Fin(a, sa), Num::Fin(b, sb)) if sa + sb > MAX_DSCALE => {
                Num::Fin(round_to(&(a * b), i64::from(sa + sb), i64::from(MAX_DSCALE), true), MAX_DSCALE)
            }
            (Num::Fin(a, sa), Num::Fin(b, sb)) => Num::Fin(a * b, sa + sb),
        };
        r.check()?;
        Ok(r)
    }

    pub fn div(&self, o: &Num) -> Result<Num> {
        let r = match (self, o) {
            (Num::NaN, _) | (_, Num::NaN) => Num::NaN,
            (Num::Inf(_), Num::Inf(_)) => Num::NaN,
            (Num::Inf(_), x) if x.is_zero() => return Err(SqlError::division_by_zero()),
            (Num::Inf(a), b) => Num::Inf(*a != b.is_neg()),
            (Num::Fin(..), Num::Inf(_)) => Num::zero(),
            (Num::Fin(..), x) if x.is_zero() => return Err(SqlError::division_by_zero()),
            (Num::Fin(a, sa), Num::Fin(b, sb)) => {
                let rscale = div_scale(a, *sa, b, *sb);
                Num::Fin(div_round(a, *sa, b, *sb, rscale), rscale)
            }
        };
        r.check()?;
        Ok(r)
    }

    /// `%`: the remainder of the truncated quotient, with the larger input scale.
    pub fn rem(&self, o: &Num) -> Result<Num> {
        Ok(match (self, o) {
            (Num::NaN, _) | (_, Num::NaN) => Num::NaN,
            (Num::Inf(_), x) if x.is_zero() => return Err(SqlError::division_by_zero()),
            (Num::Inf(_), _) => Num::NaN,
            (Num::Fin(..), Num::Inf(_)) => self.clone(),
            (Num::Fin(..), x) if x.is_zero() => return Err(SqlError::division_by_zero()),
            (Num::Fin(a, sa), Num::Fin(b, sb)) => {
                let (x, y) = align(a, *sa, b, *sb);
                // Rust's % truncates toward zero, as PostgreSQL's mod_var does.
                Num::Fin(x % y, (*sa).max(*sb))
            }
        })
    }

    pub fn abs(&self) -> Num {
        match self {
            Num::Inf(_) => Num::Inf(false),
            Num::Fin(v, s) => Num::Fin(v.abs(), *s),
            Num::NaN => Num::NaN,
        }
    }

    /// round(n, s): half away from zero; the result shows max(s, 0) digits after the point.
    pub fn round(&self, scale: i64) -> Num {
        self.rescale(scale, true)
    }

    pub fn trunc(&self, scale: i64) -> Num {
        self.rescale(scale, false)
    }

    /// The scale limited as numeric_round / numeric_trunc limit it (down to all of the
    /// 131072 integer digits and one more for round, up to NUMERIC_DSCALE_MAX); a value
    /// whose every digit is lost is 0 without computing the power of ten.
    fn rescale(&self, scale: i64, round: bool) -> Num {
        let Num::Fin(v, s) = self else { return self.clone() };
        let lowest = -(MAX_INT_DIGITS as i64) - i64::from(round);
        let scale = scale.clamp(lowest, MAX_DSCALE as i64);
        // |x| < 10^int_digits <= 10^(-scale - 1): below half a unit of the last place kept.
        if v.is_zero() || int_digits(v, *s) < -scale {
            return Num::Fin(BigInt::zero(), scale.max(0) as u32);
        }
        let r = round_to(v, *s as i64, scale, round);
        Num::Fin(r, scale.max(0) as u32)
    }

    /// The value when it fits numeric's format, else 22003 `value overflows numeric format`
    /// (a round() that carried into a 131073rd digit).
    pub fn checked(self) -> Result<Num> {
        self.check()?;
        Ok(self)
    }

    /// The value without its trailing fraction zeros (trim_scale; min_scale is its scale).
    pub fn trimmed(&self) -> Num {
        let Num::Fin(v, s) = self else { return self.clone() };
        if v.is_zero() {
            return Num::zero();
        }
        let (mut v, mut s) = (v.clone(), *s);
        let ten = BigInt::from(10);
        while s > 0 {
            let (q, r) = v.div_rem(&ten);
            if !r.is_zero() {
                break;
            }
            v = q;
            s -= 1;
        }
        Num::Fin(v, s)
    }

    /// factorial(n) as numeric_fac computes it: 1 below 2, 22003 past 32177 (the result would
    /// not fit), 22003 for a negative n.
    pub fn factorial(n: i64) -> Result<Num> {
        if n < 0 {
            return Err(SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "factorial of a negative number is undefined"));
        }
        if n > 32177 {
            return Err(overflow());
        }
        // The product of lo..=hi, halves multiplied together (a balanced tree of products).
        fn product(lo: u64, hi: u64) -> BigInt {
            if hi - lo < 8 {
                return (lo..=hi).fold(BigInt::from(1), |acc, k| acc * k);
            }
            let mid = lo + (hi - lo) / 2;
            product(lo, mid) * product(mid + 1, hi)
        }
        let v = if n < 2 { BigInt::from(1) } else { product(2, n as u64) };
        Num::Fin(v, 0).checked()
    }

    /// `+` for an aggregate's running state (sum, sum of squares): no format check, as
    /// PostgreSQL's NumericVar accumulators have none; the final result is checked.
    pub fn add_unchecked(&self, o: &Num) -> Num {
        match (self, o) {
            (Num::NaN, _) | (_, Num::NaN) => Num::NaN,
            (Num::Inf(a), Num::Inf(b)) if a != b => Num::NaN,
            (Num::Inf(a), _) | (_, Num::Inf(a)) => Num::Inf(*a),
            (Num::Fin(a, sa), Num::Fin(b, sb)) => {
                let (x, y) = align(a, *sa, b, *sb);
                Num::Fin(x + y, (*sa).max(*sb))
            }
        }
    }

    /// `*` for an aggregate's running state (a square), unchecked as [`Num::add_unchecked`].
    pub fn mul_unchecked(&self, o: &Num) -> Num {
        match (self, o) {
            (Num::NaN, _) | (_, Num::NaN) => Num::NaN,
            (Num::Inf(_), x) | (x, Num::Inf(_)) if x.is_zero() => Num::NaN,
            (Num::Inf(_), _) | (_, Num::Inf(_)) => Num::Inf(self.is_neg() != o.is_neg()),
            (Num::Fin(a, sa), Num::Fin(b, sb)) => Num::Fin(a * b, sa + sb),
        }
    }

    pub fn ceil(&self, up: bool) -> Num {
        let Num::Fin(v, s) = self else { return self.clone() };
        let d = pow10(*s);
        let (q, r) = v.div_mod_floor(&d);
        Num::Fin(if up && !r.is_zero() { q + 1 } else { q }, 0)
    }

    pub fn sign(&self) -> Num {
        match self {
            Num::NaN => Num::NaN,
            Num::Inf(n) => Num::from_i64(if *n { -1 } else { 1 }),
            Num::Fin(v, _) => Num::from_i64(match v.sign() {
                Sign::Minus => -1,
                Sign::NoSign => 0,
                Sign::Plus => 1,
            }),
        }
    }

    pub fn sqrt(&self) -> Result<Num> {
        let neg_err = || SqlError::new("2201F", "cannot take square root of a negative number");
        Ok(match self {
            Num::NaN => Num::NaN,
            Num::Inf(true) => return Err(neg_err()),
            Num::Inf(false) => Num::Inf(false),
            Num::Fin(v, _) if v.is_negative() => return Err(neg_err()),
            Num::Fin(v, s) => {
                let weight = if v.is_zero() { 0 } else { weight_first(v, *s).0 };
                let sweight = (weight + 1) * 4 / 2 - 1;
                let rscale = (MIN_SIG_DIGITS - sweight).max(*s as i64).clamp(0, MAX_DISPLAY_SCALE);
                // floor(sqrt(v / 10^s) * 10^k) for k > rscale, then rounded to rscale.
                let mut k = rscale + 1;
                if 2 * k < *s as i64 {
                    k = (*s as i64 + 1) / 2;
                }
                let x = v * pow10((2 * k - *s as i64) as u32);
                let root = x.sqrt();
                Num::Fin(round_to(&root, k, rscale, true), rscale as u32)
            }
        })
    }

    /// power(numeric, numeric) for integer exponents (PostgreSQL's power_var_int: the result
    /// shows max(16, the base's scale) digits after the point) and the special values; a
    /// non-integer exponent of a positive base is not supported (0A000).
    pub fn power(&self, e: &Num) -> Result<Num> {
        let undefined = || SqlError::new("2201F", "zero raised to a negative power is undefined");
        let complex =
            || SqlError::new("2201F", "a negative number raised to a non-integer power yields a complex result");
        let one = Num::from_i64(1);
        let int_exp = match e {
            Num::Fin(v, s) => {
                let (q, r) = v.div_rem(&pow10(*s));
                r.is_zero().then_some(q)
            }
            _ => None,
        };
        // NaN ^ 0 = 1 and 1 ^ NaN = 1 (POSIX pow); other NaN inputs give NaN.
        if matches!(self, Num::NaN) {
            return Ok(if e.is_zero() { one } else { Num::NaN });
        }
        if matches!(e, Num::NaN) {
            return Ok(if self.order(&one) == Ordering::Equal { one } else { Num::NaN });
        }
        let sign_e = match e {
            Num::Inf(n) => {
                if *n {
                    -1
                } else {
                    1
                }
            }
            Num::Fin(v, _) => v.sign() as i32 - 1,
            Num::NaN => 0,
        };
        if let Num::Inf(neg_base) = self {
            if *neg_base && matches!(e, Num::Fin(..)) && int_exp.is_none() {
                return Err(complex());
            }
            return Ok(match sign_e {
                0 => one,
                s if s < 0 => Num::zero(),
                _ if *neg_base && int_exp.as_ref().is_some_and(|q| q.is_odd()) => Num::Inf(true),
                _ => Num::Inf(false),
            });
        }
        let Num::Fin(bv, bs) = self else { return Ok(Num::NaN) };
        if bv.is_zero() && sign_e < 0 {
            return Err(undefined());
        }
        if let Num::Inf(neg_exp) = e {
            // |base| > 1 grows without bound toward +Infinity, |base| < 1 shrinks to 0.
            let mag = self.abs().order(&one);
            return Ok(match (mag, *neg_exp) {
                (Ordering::Equal, _) => one,
                (Ordering::Greater, false) | (Ordering::Less, true) => Num::Inf(false),
                _ => Num::zero(),
            });
        }
        let n = match &int_exp {
            Some(q) => q.to_i32(),
            None if bv.is_negative() => return Err(complex()),
            None => None,
        };
        let Some(n) = n else {
            return self.power_general(e, int_exp.is_some_and(|q| q.is_odd()));
        };
        let rscale = (MIN_SIG_DIGITS.max(*bs as i64)).clamp(0, MAX_DISPLAY_SCALE);
        let r = rscale as u32;
        let zero = || Num::Fin(BigInt::zero(), r);
        match n {
            0 => return Ok(Num::Fin(pow10(r), r)),
            1 => return Ok(self.round(rscale)),
            -1 => return Ok(Num::Fin(div_round(&BigInt::from(1), 0, bv, *bs, r), r)),
            _ if bv.is_zero() => return Ok(zero()),
            _ => {}
        }
        // log10 of the result, from the base's leading digits.
        let digits = bv.magnitude().to_string();
        let lead: f64 = digits[..digits.len().min(17)].parse().unwrap_or(1.0);
        let log_base = lead.log10() + (digits.len() as f64 - digits.len().min(17) as f64) - *bs as f64;
        let f = n as f64 * log_base;
        if f > (MAX_INT_DIGITS + 4) as f64 {
            return Err(overflow());
        }
        if f + 1.0 < -(rscale as f64) || f + 1.0 < -(MAX_DISPLAY_SCALE as f64) {
            return Ok(zero());
        }
        let m = n.unsigned_abs();
        let neg = bv.is_negative() && m % 2 == 1;
        // |base|^|n| as (mantissa, scale): exact while it stays small, else kept to enough
        // significant digits (16 past the result's scale) as PostgreSQL's loop does.
        let (p, ps) = if digits.len() as u64 * m as u64 <= 100_000 {
            (BigInt::from_biguint(Sign::Plus, bv.magnitude().pow(m)), *bs as i64 * m as i64)
        } else {
            let keep = (rscale + f.abs() as i64 + 2 * (m as f64).log10() as i64 + 24) as usize;
            approx_pow(&BigInt::from_biguint(Sign::Plus, bv.magnitude().clone()), *bs as i64, m, keep)
        };
        let mag = if n > 0 {
            if !p.is_zero() && p.magnitude().to_string().len() as i64 - ps > MAX_INT_DIGITS as i64 {
                return Err(overflow());
            }
            round_to(&p, ps, rscale, true)
        } else if ps >= 0 {
            div_round(&BigInt::from(1), 0, &p, ps as u32, r)
        } else {
            div_round(&pow10((-ps) as u32), 0, &p, 0, r)
        };
        let res = Num::Fin(if neg { -mag } else { mag }, r);
        res.check()?;
        Ok(res)
    }

    /// power_var's general path (an exponent that is not an integer or beyond int4):
    /// e^(exp * ln|base|), its scale chosen from a low-precision estimate as PostgreSQL does.
    fn power_general(&self, e: &Num, odd: bool) -> Result<Num> {
        let (Num::Fin(bv, bs), Num::Fin(ev, es)) = (self, e) else { return Ok(Num::NaN) };
        if bv.is_zero() {
            return Ok(Num::Fin(BigInt::zero(), MIN_SIG_DIGITS as u32));
        }
        let base = BigInt::from_biguint(Sign::Plus, bv.magnitude().clone());
        let ln_dweight = estimate_ln_dweight(&base, *bs);
        // ln(base) to about 8 significant digits, times the exponent, as PostgreSQL rounds them.
        let local = (8 - ln_dweight).max(0);
        let ln_base = round_to(&ln_fixed(&base, *bs, local as u32 + 4), local + 4, local, true);
        let ln_num = round_to(&(&ln_base * ev), local + *es as i64, local, true);
        let val = Num::Fin(ln_num, local as u32).to_f64();
        if val.abs() > 3.01 * MAX_RESULT_SCALE as f64 {
            if val > 0.0 {
                return Err(overflow());
            }
            return Ok(Num::Fin(BigInt::zero(), MAX_DISPLAY_SCALE as u32));
        }
        let val = (val * PG_LOG10_E) as i64;
        let rscale = (MIN_SIG_DIGITS - val).max(*bs as i64).max(*es as i64).clamp(0, MAX_DISPLAY_SCALE);
        // exp * ln|base| exactly enough that e^it rounds right at rscale.
        let exp_digits = int_digits(ev, *es).max(1);
        let w = (rscale + val.max(0) + exp_digits + 12).max(20) as u32;
        let y = &ln_fixed(&base, *bs, w) * ev;
        let r = exp_round(&y, w + *es, rscale)?;
        let v = if odd && bv.is_negative() { -r } else { r };
        Ok(Num::Fin(v, rscale as u32))
    }

    /// exp(numeric) with PostgreSQL's result scale (16 significant digits at least).
    pub fn exp(&self) -> Result<Num> {
        let Num::Fin(v, s) = self else {
            return Ok(match self {
                Num::Inf(true) => Num::zero(),
                other => other.clone(),
            });
        };
        let val = (self.to_f64() * PG_LOG10_E).clamp(-(MAX_RESULT_SCALE as f64), MAX_RESULT_SCALE as f64);
        let rscale = (MIN_SIG_DIGITS - val as i64).max(*s as i64).clamp(0, MAX_DISPLAY_SCALE);
        Ok(Num::Fin(exp_round(v, *s, rscale)?, rscale as u32))
    }

    /// ln(numeric) with PostgreSQL's result scale.
    pub fn ln(&self) -> Result<Num> {
        match self {
            Num::NaN | Num::Inf(false) => Ok(self.clone()),
            Num::Inf(true) => Err(log_negative()),
            Num::Fin(v, _) if v.is_zero() => Err(log_zero()),
            Num::Fin(v, _) if v.is_negative() => Err(log_negative()),
            Num::Fin(v, s) => {
                let rscale = (MIN_SIG_DIGITS - estimate_ln_dweight(v, *s)).max(*s as i64).clamp(0, MAX_DISPLAY_SCALE);
                let l = ln_fixed(v, *s, rscale as u32 + 6);
                Ok(Num::Fin(round_to(&l, rscale + 6, rscale, true), rscale as u32))
            }
        }
    }

    /// log(base, num) as PostgreSQL's log_var: ln(num) / ln(base) with its own scale.
    pub fn log(&self, num: &Num) -> Result<Num> {
        let (b, x) = (self, num);
        if matches!(b, Num::NaN) || matches!(x, Num::NaN) {
            return Ok(Num::NaN);
        }
        for a in [b, x] {
            if a.is_neg() {
                return Err(log_negative());
            }
            if a.is_zero() {
                return Err(log_zero());
            }
        }
        match (b, x) {
            (Num::Inf(_), Num::Inf(_)) => return Ok(Num::NaN),
            (_, Num::Inf(_)) => return Ok(Num::Inf(false)),
            (Num::Inf(_), _) => return Ok(Num::zero()),
            _ => {}
        }
        let (Num::Fin(bv, bs), Num::Fin(xv, xs)) = (b, x) else { return Ok(Num::NaN) };
        let (bd, xd) = (estimate_ln_dweight(bv, *bs), estimate_ln_dweight(xv, *xs));
        let rd = xd - bd;
        let rscale = (MIN_SIG_DIGITS - rd).max(*bs as i64).max(*xs as i64).clamp(0, MAX_DISPLAY_SCALE);
        let w = (rscale + rd.max(0) - bd.min(0) + 12).max(20) as u32;
        let lb = ln_fixed(bv, *bs, w);
        if lb.is_zero() {
            return Err(SqlError::division_by_zero());
        }
        let lx = ln_fixed(xv, *xs, w);
        Ok(Num::Fin(div_round(&lx, w, &lb, w, rscale as u32), rscale as u32))
    }

    /// The value as PostgreSQL's float8 input reads the printed numeric.
    pub fn to_f64(&self) -> f64 {
        match self {
            Num::NaN => f64::NAN,
            Num::Inf(n) => {
                if *n {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                }
            }
            Num::Fin(..) => self.to_text().parse().unwrap_or(f64::NAN),
        }
    }

    /// float8 -> numeric: the value printed with 15 significant digits (`%.15g`), then read.
    pub fn from_f64(f: f64, digits: usize) -> Num {
        if f.is_nan() {
            return Num::NaN;
        }
        if f.is_infinite() {
            return Num::Inf(f < 0.0);
        }
        let text = format!("{:.*e}", digits - 1, f);
        // "1.50000000000000e3": strip the mantissa's trailing zeros as %g does.
        let (m, e) = text.split_once('e').unwrap_or((&text, "0"));
        let m = if m.contains('.') { m.trim_end_matches('0').trim_end_matches('.') } else { m };
        Num::parse(&format!("{m}e{e}")).unwrap_or(Num::NaN)
    }

    /// numeric -> integer: rounded half away from zero; None when out of `lo..=hi`.
    pub fn to_int(&self, name: &str, lo: i64, hi: i64) -> Result<i64> {
        match self {
            Num::NaN => Err(SqlError::unsupported(format!("cannot convert NaN to {name}"))),
            Num::Inf(_) => Err(SqlError::unsupported(format!("cannot convert infinity to {name}"))),
            Num::Fin(v, s) => {
                let r = round_to(v, *s as i64, 0, true);
                r.to_i64().filter(|x| (lo..=hi).contains(x)).ok_or_else(|| SqlError::out_of_range(name))
            }
        }
    }

    /// PostgreSQL's apply_typmod for `numeric(precision, scale)`.
    pub fn apply_typmod(self, precision: u16, scale: i16) -> Result<Num> {
        let (p, s) = (precision as i64, scale as i64);
        let maxdigits = p - s;
        match self {
            Num::NaN => Ok(Num::NaN),
            Num::Inf(_) => Err(SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "numeric field overflow")
                .detail(format!("A field with precision {p}, scale {s} cannot hold an infinite value."))),
            n => {
                let r = n.round(s);
                if let Num::Fin(v, sc) = &r {
                    if !v.is_zero() && int_digits(v, *sc) > maxdigits {
                        let bound = if maxdigits != 0 { format!("10^{maxdigits}") } else { "1".into() };
                        return Err(SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "numeric field overflow").detail(
                            format!(
                            "A field with precision {p}, scale {s} must round to an absolute value less than {bound}."
                        ),
                        ));
                    }
                }
                Ok(r)
            }
        }
    }

    /// PostgreSQL's numeric_send: ndigits, weight, sign, dscale, then base-10000 digits.
    pub fn to_binary(&self) -> Vec<u8> {
        let (sign, dscale, weight, digits): (u16, u16, i16, Vec<u16>) = match self {
            // PostgreSQL sends the dscale bits its header holds: 32 for the infinities.
            Num::NaN => (0xC000, 0, 0, vec![]),
            Num::Inf(false) => (0xD000, 32, 0, vec![]),
            Num::Inf(true) => (0xF000, 32, 0, vec![]),
            Num::Fin(v, s) => {
                let groups = (*s as usize).div_ceil(4);
                let w = v.magnitude() * num_bigint::BigUint::from(10u32).pow(groups as u32 * 4 - *s);
                // Base-10000 digits from the decimal text, four digits at a time.
                let text = if w.is_zero() { String::new() } else { w.to_string() };
                let pad = (4 - text.len() % 4) % 4;
                let text = format!("{}{text}", "0".repeat(pad));
                let mut ds: Vec<u16> =
                    text.as_bytes().chunks(4).map(|c| c.iter().fold(0u16, |n, d| n * 10 + (d - b'0') as u16)).collect();
                let weight = ds.len() as i64 - groups as i64 - 1;
                while ds.last() == Some(&0) {
                    ds.pop();
                }
                let sign = if v.is_negative() { 0x4000 } else { 0 };
                let weight = if ds.is_empty() { 0 } else { weight as i16 };
                (sign, *s as u16, weight, ds)
            }
        };
        let mut out = Vec::with_capacity(8 + 2 * digits.len());
        out.extend_from_slice(&(digits.len() as u16).to_be_bytes());
        out.extend_from_slice(&weight.to_be_bytes());
        out.extend_from_slice(&sign.to_be_bytes());
        out.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out
    }

    /// PostgreSQL's numeric_recv.
    pub fn from_binary(b: &[u8]) -> Result<Num> {
        let bad = |m: &str| SqlError::new(code::INVALID_BINARY_REPRESENTATION, m.to_string());
        let u16_at = |i: usize| -> Result<u16> {
            b.get(i..i + 2)
                .map(|x| u16::from_be_bytes([x[0], x[1]]))
                .ok_or_else(|| bad("insufficient data left in message"))
        };
        let ndigits = u16_at(0)? as usize;
        let weight = u16_at(2)? as i16 as i64;
        let sign = u16_at(4)?;
        let dscale = u16_at(6)?;
        match sign {
            0xC000 => return Ok(Num::NaN),
            0xD000 => return Ok(Num::Inf(false)),
            0xF000 => return Ok(Num::Inf(true)),
            0 | 0x4000 => {}
            _ => return Err(bad("invalid sign in external \"numeric\" value")),
        }
        if dscale & 0x3FFF != dscale {
            return Err(bad("invalid scale in external \"numeric\" value"));
        }
        let mut v = BigInt::zero();
        for i in 0..ndigits {
            let d = u16_at(8 + 2 * i)?;
            if d >= 10_000 {
                return Err(bad("invalid digit in external \"numeric\" value"));
            }
            v = v * 10_000u32 + d;
        }
        if b.len() != 8 + 2 * ndigits {
            return Err(bad("incorrect binary data format"));
        }
        // v * 10000^(weight + 1 - ndigits), truncated to dscale digits.
        let exp10 = 4 * (weight + 1 - ndigits as i64);
        if exp10 > (MAX_INT_DIGITS + 8) as i64 {
            return Err(overflow());
        }
        // v * 10^exp10 at scale dscale, digits past it cut off.
        let v = round_to(&v, -exp10, dscale as i64, false);
        let mut n = Num::Fin(if sign == 0x4000 { -v } else { v }, dscale as u32);
        if n.is_zero() {
            n = Num::Fin(BigInt::zero(), dscale as u32);
        }
        n.check()?;
        Ok(n)
    }
}

/// Digits before the decimal point of a nonzero v / 10^s (floor(log10|x|) + 1, possibly <= 0).
fn int_digits(v: &BigInt, s: u32) -> i64 {
    v.magnitude().to_string().len() as i64 - s as i64
}

/// Two scaled integers brought to the larger scale.
fn align(a: &BigInt, sa: u32, b: &BigInt, sb: u32) -> (BigInt, BigInt) {
    match sa.cmp(&sb) {
        Ordering::Equal => (a.clone(), b.clone()),
        Ordering::Less => (a * pow10(sb - sa), b.clone()),
        Ordering::Greater => (a.clone(), b * pow10(sa - sb)),
    }
}

/// v / 10^s rescaled to scale t (t may be negative: the result is then a multiple of 10^-t,
/// still at scale max(t, 0)), rounding half away from zero or truncating.
fn round_to(v: &BigInt, s: i64, t: i64, round: bool) -> BigInt {
    if t >= s {
        return v * pow10((t - s) as u32);
    }
    let d = pow10((s - t) as u32);
    let (mut q, r) = v.magnitude().div_rem(d.magnitude());
    if round && (r * 2u32) >= *d.magnitude() {
        q += 1u32;
    }
    let mut q = BigInt::from_biguint(if v.is_negative() { Sign::Minus } else { Sign::Plus }, q);
    if t < 0 {
        q *= pow10((-t) as u32);
    }
    q
}

/// The base-10000 weight of a nonzero v / 10^s and its first base-10000 digit.
fn weight_first(v: &BigInt, s: u32) -> (i64, BigInt) {
    let p = int_digits(v, s) - 1; // 10^p <= |x| < 10^(p+1)
    let w = p.div_euclid(4);
    let e = s as i64 + 4 * w;
    let mag = BigInt::from_biguint(Sign::Plus, v.magnitude().clone());
    let first = if e >= 0 { mag / pow10(e as u32) } else { mag * pow10((-e) as u32) };
    (w, first)
}

/// x^m for x = v / 10^s, keeping about `keep` significant digits of each product (truncated):
/// the result as (mantissa, scale).
fn approx_pow(v: &BigInt, s: i64, m: u32, keep: usize) -> (BigInt, i64) {
    let cut = |(x, sc): (BigInt, i64)| -> (BigInt, i64) {
        let len = x.magnitude().to_string().len();
        if len > keep {
            let drop = (len - keep) as u32;
            (x / pow10(drop), sc - drop as i64)
        } else {
            (x, sc)
        }
    };
    let mut base = cut((v.clone(), s));
    let mut acc = (BigInt::from(1), 0i64);
    let mut e = m;
    while e > 0 {
        if e & 1 == 1 {
            acc = cut((&acc.0 * &base.0, acc.1 + base.1));
        }
        e >>= 1;
        if e > 0 {
            base = cut((&base.0 * &base.0, base.1 * 2));
        }
    }
    acc
}

fn log_negative() -> SqlError {
    SqlError::new("2201E", "cannot take logarithm of a negative number")
}

fn log_zero() -> SqlError {
    SqlError::new("2201E", "cannot take logarithm of zero")
}

/// PostgreSQL's estimate_ln_dweight: the decimal weight of ln(x) for x = v / 10^s > 0, from
/// x - 1 between 0.9 and 1.1, else from the first two base-10000 digits in floating point.
fn estimate_ln_dweight(v: &BigInt, s: u32) -> i64 {
    if !v.is_positive() {
        return 0;
    }
    // x, 0.9, 1.1 and 1 at scale s + 1 (so 0.9 and 1.1 are exact).
    let unit = pow10(s + 1);
    let x = v * 10u32;
    if x >= &unit * 9u32 / 10u32 && x <= &unit * 11u32 / 10u32 {
        let t = &x - &unit;
        return if t.is_zero() { 0 } else { int_digits(&t, s + 1) - 1 };
    }
    let (w, first) = weight_first(v, s);
    let first = first.to_f64().unwrap_or(1.0);
    // The second base-10000 digit, and whether any digit follows the first.
    let e = s as i64 + 4 * (w - 1);
    let mag = BigInt::from_biguint(Sign::Plus, v.magnitude().clone());
    let (upto2, exact) = if e >= 0 {
        let (q, r) = mag.div_rem(&pow10(e as u32));
        (q, r.is_zero())
    } else {
        (mag * pow10((-e) as u32), true)
    };
    let second = (&upto2 % 10_000u32).to_f64().unwrap_or(0.0);
    let more = !(exact && second == 0.0);
    let (digits, dweight) = if more { (first * 10_000.0 + second, (w - 1) * 4) } else { (first, w * 4) };
    let ln = digits.ln() + dweight as f64 * PG_LN_10;
    ln.abs().log10() as i64
}

/// Fixed point: `a * b` for values scaled by 10^w (truncated).
fn fx_mul(a: &BigInt, b: &BigInt, w: u32) -> BigInt {
    a * b / pow10(w)
}

/// 2 * atanh(z) = ln((1 + z) / (1 - z)) for a fixed-point z with |z| <= 1/3.
fn two_atanh(z: &BigInt, w: u32) -> BigInt {
    let z2 = fx_mul(z, z, w);
    let mut term = z.clone();
    let mut sum = z.clone();
    let mut n = 1u32;
    loop {
        term = fx_mul(&term, &z2, w);
        n += 2;
        let t = &term / n;
        if t.is_zero() {
            break;
        }
        sum += t;
    }
    sum * 2
}

/// ln(v / 10^s) for v > 0 as a fixed-point value with w digits after the point (accurate to a
/// few units in the last place): x = m * 10^e with 1 <= m < 10, m = 2^k * y with y near 1,
/// ln x = 2 atanh((y - 1) / (y + 1)) + k ln 2 + e ln 10.
fn ln_fixed(v: &BigInt, s: u32, w: u32) -> BigInt {
    let e = int_digits(v, s) - 1;
    let g = w + 12 + e.unsigned_abs().max(1).ilog10();
    let one = pow10(g);
    // m at scale g: v / 10^(s + e), and s + e is v's digit count less one.
    let shift = g as i64 - (s as i64 + e);
    let m = if shift >= 0 { v * pow10(shift as u32) } else { v / pow10((-shift) as u32) };
    let k: u32 = if m < &one * 3u32 / 2u32 {
        0
    } else if m < &one * 3u32 {
        1
    } else if m < &one * 6u32 {
        2
    } else {
        3
    };
    let y = m >> k as usize;
    let z = (&y - &one) * &one / (&y + &one);
    let ln2 = two_atanh(&(&one / 3u32), g);
    let ln10 = &ln2 * 3u32 + two_atanh(&(&one / 9u32), g);
    let total = two_atanh(&z, g) + ln2 * k + ln10 * e;
    total / pow10(g - w)
}

/// e^(y / 10^w) rounded to `rscale` digits (an integer at that scale), as PostgreSQL's exp_var:
/// 22003 past e^6000, 0 below e^-6000.
fn exp_round(y: &BigInt, w: u32, rscale: i64) -> Result<BigInt> {
    let val = Num::Fin(y.clone(), w).to_f64();
    if val.abs() >= 3.0 * MAX_RESULT_SCALE as f64 {
        if val > 0.0 {
            return Err(overflow());
        }
        return Ok(BigInt::zero());
    }
    let dweight = (val.abs() * PG_LOG10_E) as i64;
    // Halve |y| k times to at most 0.01, sum the Taylor series, square back k times.
    let mut k = 0u32;
    let mut h = val.abs();
    while h > 0.01 {
        h /= 2.0;
        k += 1;
    }
    let g = (rscale.max(0) + dweight + (k as f64 * std::f64::consts::LOG10_2) as i64 + 12) as u32;
    let one = pow10(g);
    let ya = BigInt::from_biguint(Sign::Plus, y.magnitude().clone());
    let x = (if g >= w { ya * pow10(g - w) } else { ya / pow10(w - g) }) >> k as usize;
    let mut sum = &one + &x;
    let mut term = x.clone();
    let mut n = 1u32;
    loop {
        n += 1;
        term = fx_mul(&term, &x, g) / n;
        if term.is_zero() {
            break;
        }
        sum += &term;
    }
    for _ in 0..k {
        sum = fx_mul(&sum, &sum, g);
    }
    // e^-|y| = 1 / e^|y|.
    if y.is_negative() {
        return Ok(div_round(&BigInt::from(1), 0, &sum, g, rscale as u32));
    }
    Ok(round_to(&sum, g as i64, rscale, true))
}

/// PostgreSQL's select_div_scale.
fn div_scale(a: &BigInt, sa: u32, b: &BigInt, sb: u32) -> u32 {
    let (w1, f1) = if a.is_zero() { (0, BigInt::zero()) } else { weight_first(a, sa) };
    let (w2, f2) = if b.is_zero() { (0, BigInt::zero()) } else { weight_first(b, sb) };
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    let rscale = (MIN_SIG_DIGITS - qweight * 4).max(sa as i64).max(sb as i64).clamp(0, MAX_DISPLAY_SCALE);
    rscale as u32
}

/// (a / 10^sa) / (b / 10^sb) at scale r, rounded half away from zero.
fn div_round(a: &BigInt, sa: u32, b: &BigInt, sb: u32, r: u32) -> BigInt {
    // a * 10^(r + sb - sa) / b, with one more digit kept for rounding.
    let e = r as i64 + 1 + sb as i64 - sa as i64;
    let (num, den) = if e >= 0 { (a * pow10(e as u32), b.clone()) } else { (a.clone(), b * pow10((-e) as u32)) };
    let q = &num / &den; // truncates toward zero
    round_to(&q, r as i64 + 1, r as i64, true)
}

/// Digits a [`Small`] takes from a text (10^36 < 2^127: no overflow while parsing).
const SMALL_DIGITS: usize = 36;

/// A finite numeric that fits an i128: `v / 10^s` — the fast path for the common case
/// (prices, quantities) that adds and multiplies without big integers. Every operation is
/// checked: None means "take the general path".
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Small {
    pub(crate) v: i128,
    pub(crate) s: u32,
}

impl Small {
    /// An integer datum, or a numeric's text as numeric_out prints it (`-123.450`; never an
    /// exponent) of at most [`SMALL_DIGITS`] digits.
    fn of(d: &Datum) -> Option<Small> {
        match d {
            Datum::Numeric(t) => Small::parse(t),
            Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_) => Some(Small { v: d.as_i64()? as i128, s: 0 }),
            _ => None,
        }
    }

    pub(crate) fn parse(t: &str) -> Option<Small> {
        let b = t.as_bytes();
        let (neg, b) = match b.first() {
            Some(b'-') => (true, &b[1..]),
            _ => (false, b),
        };
        if b.is_empty() || b.len() > SMALL_DIGITS + 1 {
            return None;
        }
        let (mut v, mut s, mut point) = (0i128, 0u32, false);
        for &c in b {
            match c {
                b'0'..=b'9' => {
                    v = v * 10 + (c - b'0') as i128;
                    s += point as u32;
                }
                b'.' if !point => point = true,
                _ => return None,
            }
        }
        Some(Small { v: if neg { -v } else { v }, s })
    }

    /// `self` brought to scale `s` (at least its own).
    fn at(self, s: u32) -> Option<i128> {
        self.v.checked_mul(10i128.checked_pow(s - self.s)?)
    }

    pub(crate) fn add(self, o: Small) -> Option<Small> {
        let s = self.s.max(o.s);
        Some(Small { v: self.at(s)?.checked_add(o.at(s)?)?, s })
    }

    pub(crate) fn mul(self, o: Small) -> Option<Small> {
        Some(Small { v: self.v.checked_mul(o.v)?, s: self.s + o.s })
    }

    /// numeric_out's text, as [`Num::to_text`] prints it.
    pub(crate) fn to_text(self) -> String {
        let digits = self.v.unsigned_abs().to_string();
        let s = self.s as usize;
        let mut out = String::with_capacity(digits.len() + s + 3);
        if self.v < 0 {
            out.push('-');
        }
        if s == 0 {
            out.push_str(&digits);
        } else if digits.len() > s {
            let (int, frac) = digits.split_at(digits.len() - s);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', s - digits.len()));
            out.push_str(&digits);
        }
        out
    }

    pub(crate) fn num(self) -> Num {
        Num::Fin(BigInt::from(self.v), self.s)
    }
}

/// The numeric of an integer or numeric datum.
pub fn of(d: &Datum) -> Result<Num> {
    Num::from_datum(d).ok_or_else(|| SqlError::internal(format!("not a numeric: {d:?}")))
}

/// The arithmetic operators on numeric datums.
pub fn arith(op: crate::expr::ArithOp, a: &Datum, b: &Datum) -> Result<Datum> {
    use crate::expr::ArithOp;
    // Values of up to 36 digits add, subtract and multiply exactly in i128 (the same result
    // and scale as below, without big integers); anything else, or an overflow, takes the
    // general path.
    if let (Some(x), Some(y)) = (Small::of(a), Small::of(b)) {
        let r = match op {
            ArithOp::Add => x.add(y),
            ArithOp::Sub => x.add(Small { v: -y.v, s: y.s }),
            ArithOp::Mul => x.mul(y),
            ArithOp::Div | ArithOp::Mod => None,
        };
        if let Some(r) = r {
            return Ok(Datum::Numeric(r.to_text()));
        }
    }
    let (x, y) = (of(a)?, of(b)?);
    Ok(match op {
        ArithOp::Add => x.add(&y)?,
        ArithOp::Sub => x.sub(&y)?,
        ArithOp::Mul => x.mul(&y)?,
        ArithOp::Div => x.div(&y)?,
        ArithOp::Mod => x.rem(&y)?,
    }
    .into_datum())
}

/// Orders two numerics' texts (or integers) as PostgreSQL orders the values.
pub fn compare(a: &Datum, b: &Datum) -> Option<Ordering> {
    if let (Datum::Numeric(x), Datum::Numeric(y)) = (a, b) {
        return Some(compare_text(x, y));
    }
    Some(Num::from_datum(a)?.order(&Num::from_datum(b)?))
}

/// A finite numeric text's integer digits and its fraction digits without trailing zeros.
fn split_digits(s: &str) -> (&str, &str) {
    let m = s.trim_start_matches('-');
    let (i, f) = m.split_once('.').unwrap_or((m, ""));
    (i, f.trim_end_matches('0'))
}

/// Orders two numeric texts as numeric_out prints them (no leading zeros, no "-0") without
/// reading them into numbers: sorts are dominated by comparisons.
fn compare_text(a: &str, b: &str) -> Ordering {
    let rank = |s: &str| match s {
        "-Infinity" => 0,
        "Infinity" => 3,
        "NaN" => 4,
        _ if s.starts_with('-') => 1,
        _ => 2,
    };
    let (ra, rb) = (rank(a), rank(b));
    if ra != rb || ra == 0 || ra >= 3 {
        return ra.cmp(&rb);
    }
    let ((ai, af), (bi, bf)) = (split_digits(a), split_digits(b));
    let mag = ai.len().cmp(&bi.len()).then_with(|| ai.cmp(bi)).then_with(|| af.cmp(bf));
    if ra == 1 {
        mag.reverse()
    } else {
        mag
    }
}

/// `numeric(p, s)` and `numeric(p)` checked as PostgreSQL's numerictypmodin checks them.
pub fn typmod(precision: u64, scale: Option<i64>) -> Result<(u16, i16)> {
    if !(1..=MAX_PRECISION as u64).contains(&precision) {
        return Err(SqlError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("NUMERIC precision {precision} must be between 1 and {MAX_PRECISION}"),
        ));
    }
    let scale = scale.unwrap_or(0);
    if !(-MAX_PRECISION..=MAX_PRECISION).contains(&scale) {
        return Err(SqlError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("NUMERIC scale {scale} must be between -{MAX_PRECISION} and {MAX_PRECISION}"),
        ));
    }
    Ok((precision as u16, scale as i16))
}

/// PostgreSQL's numeric_stddev_internal: NULL without inputs (or with one, for the sample
/// versions), NaN when any input was NaN or infinite, else (N sumX2 - sumX^2) / (N (N - 1))
/// (or N^2) at select_div_scale's scale, and its square root at that scale for stddev.
pub fn variance(n: i64, sum: &Num, sum2: &Num, sample: bool, sqrt: bool) -> Result<Datum> {
    if n == 0 || (sample && n <= 1) {
        return Ok(Datum::Null);
    }
    let (Num::Fin(sx, ss), Num::Fin(sxx, sss)) = (sum, sum2) else { return Ok(Num::NaN.into_datum()) };
    let nn = BigInt::from(n);
    // N * sumX2 - sumX^2, exact, at scale 2 * scale(sumX) (sumX2 has the same scale).
    let (a, b) = align(&(&nn * sxx), *sss, &(sx * sx), 2 * ss);
    let num = a - b;
    let num_scale = (*sss).max(2 * ss);
    if !num.is_positive() {
        return Ok(Num::zero().into_datum());
    }
    let den = if sample { &nn * (&nn - 1) } else { &nn * &nn };
    let rscale = div_scale(&num, num_scale, &den, 0);
    let var = div_round(&num, num_scale, &den, 0, rscale);
    if !sqrt {
        return Ok(Num::Fin(var, rscale).into_datum());
    }
    // sqrt_var at the same scale: the root truncated past it, then rounded.
    let k = rscale as i64 + 1;
    let x = &var * pow10((2 * k - rscale as i64) as u32);
    Ok(Num::Fin(round_to(&x.sqrt(), k, rscale as i64, true), rscale).into_datum())
}

/// Sums for sum() and avg() over numerics: exact, so partial states merge in any order. The
/// value is `total + small`: inputs that fit add into `small` (an i128), which spills into the
/// big-integer `total` when it would overflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Sum {
    total: Num,
    small: Small,
    pub count: i64,
}

impl Sum {
    pub fn new() -> Sum {
        Sum { total: Num::zero(), small: Small { v: 0, s: 0 }, count: 0 }
    }

    /// Adds an integer or numeric datum.
    pub fn add_datum(&mut self, d: &Datum) -> Result<()> {
        match Small::of(d) {
            Some(x) => self.add_small(x)?,
            None => self.total = self.total.add(&of(d)?)?,
        }
        self.count += 1;
        Ok(())
    }

    pub(crate) fn add_small(&mut self, x: Small) -> Result<()> {
        match self.small.add(x) {
            Some(r) => self.small = r,
            None => {
                self.total = self.total.add(&self.small.num())?;
                self.small = x;
            }
        }
        Ok(())
    }

    pub fn add(&mut self, v: &Num) -> Result<()> {
        self.total = self.total.add(v)?;
        self.count += 1;
        Ok(())
    }

    pub fn merge(&mut self, o: Sum) -> Result<()> {
        self.total = self.total.add(&o.total)?;
        self.add_small(o.small)?;
        self.count += o.count;
        Ok(())
    }

    /// The exact sum.
    pub fn total(&self) -> Result<Num> {
        self.total.add(&self.small.num())
    }

    pub fn sum(&self) -> Result<Datum> {
        if self.count == 0 {
            return Ok(Datum::Null);
        }
        Ok(self.total()?.into_datum())
    }

    pub fn avg(&self) -> Result<Datum> {
        if self.count == 0 {
            return Ok(Datum::Null);
        }
        Ok(self.total()?.div(&Num::from_i64(self.count))?.into_datum())
    }
}

impl Default for Sum {
    fn default() -> Sum {
        Sum::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Num {
        Num::parse(s).unwrap()
    }

    fn t(x: Result<Num>) -> String {
        x.unwrap().to_text()
    }

    /// numeric_out over big integers only (the general path's printing).
    fn big_text(x: &Num) -> String {
        let Num::Fin(v, s) = x else { return x.to_text() };
        let mut d = v.magnitude().to_string();
        let s = *s as usize;
        if d.len() <= s {
            d = format!("{}{d}", "0".repeat(s + 1 - d.len()));
        }
        let (int, frac) = d.split_at(d.len() - s);
        let sign = if v.is_negative() { "-" } else { "" };
        if s == 0 {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac}")
        }
    }

    #[test]
    fn small_path_matches_the_general_path() {
        use crate::expr::ArithOp;
        let texts = [
            "0",
            "0.00",
            "1",
            "-1",
            "0.05",
            "-0.05",
            "123.450",
            "-99.9",
            "1000000",
            "0.000001",
            "99999999999999999999999999999999999",
            "-12345678901234567890.123456789012345",
            "170141183460469231731687303715884105727",
            "5e-3",
        ];
        let mut data: Vec<Datum> = texts.iter().map(|t| n(t).into_datum()).collect();
        data.extend([Datum::Int4(7), Datum::Int8(i64::MIN), Datum::Int2(-3), Datum::Int8(i64::MAX)]);
        for a in &data {
            for b in &data {
                for op in [ArithOp::Add, ArithOp::Sub, ArithOp::Mul] {
                    let (x, y) = (of(a).unwrap(), of(b).unwrap());
                    let general = match op {
                        ArithOp::Add => x.add(&y),
                        ArithOp::Sub => x.sub(&y),
                        _ => x.mul(&y),
                    }
                    .unwrap();
                    let fast = arith(op, a, b).unwrap();
                    assert_eq!(fast, Datum::Numeric(big_text(&general)), "{a:?} {op:?} {b:?}");
                }
            }
        }
        // Sums spill from i128 into big integers and back without losing a digit.
        let mut sum = Sum::new();
        let mut exact = Num::zero();
        for d in data.iter().chain(&data).chain(&data) {
            sum.add_datum(d).unwrap();
            exact = exact.add(&of(d).unwrap()).unwrap();
        }
        assert_eq!(sum.sum().unwrap(), Datum::Numeric(big_text(&exact)));
        assert_eq!(sum.count, 3 * data.len() as i64);
    }

    #[test]
    fn text_keeps_scale() {
        assert_eq!(n("1.50").to_text(), "1.50");
        assert_eq!(n(" -0.000 ").to_text(), "0.000");
        assert_eq!(n("1e3").to_text(), "1000");
        assert_eq!(n("1.5e-3").to_text(), "0.0015");
        assert_eq!(n(".5").to_text(), "0.5");
        assert_eq!(n("5.").to_text(), "5");
        assert_eq!(n("-inf").to_text(), "-Infinity");
        assert!(Num::parse("1e").is_err());
        assert!(Num::parse("abc").is_err());
        assert!(Num::parse(".").is_err());
        assert_eq!(n("0.000e99999").to_text(), "0");
        assert_eq!(Num::parse("0e-20000").unwrap_err().code, "22003");
        assert_eq!(Num::parse("1e2000000000").unwrap_err().code, "22003");
        assert_eq!(Num::parse("1e131072").unwrap_err().code, "22003");
        assert!(Num::parse("1e131071").is_ok());
    }

    #[test]
    fn arithmetic_matches_postgresql() {
        // From PostgreSQL 15.
        assert_eq!(t(n("1").div(&n("3"))), "0.33333333333333333333");
        assert_eq!(t(n("7.0").div(&n("2"))), "3.5000000000000000");
        assert_eq!(t(n("10").div(&n("4"))), "2.5000000000000000");
        assert_eq!(t(n("1.10").mul(&n("2.5"))), "2.750");
        assert_eq!(t(n("5.5").rem(&n("2"))), "1.5");
        assert_eq!(t(n("-5.5").rem(&n("2"))), "-1.5");
        assert_eq!(n("2.5").round(0).to_text(), "3");
        assert_eq!(n("-2.5").round(0).to_text(), "-3");
        assert_eq!(n("1234.5678").round(-2).to_text(), "1200");
        assert_eq!(n("1.5").round(3).to_text(), "1.500");
        assert_eq!(n("-1.5").ceil(true).to_text(), "-1");
        assert_eq!(n("-1.5").ceil(false).to_text(), "-2");
        assert_eq!(t(n("2").sqrt()), "1.414213562373095");
        assert_eq!(t(n("100").sqrt()), "10.000000000000000");
        assert_eq!(t(n("Infinity").sub(&n("Infinity"))), "NaN");
        assert_eq!(n("NaN").order(&n("Infinity")), Ordering::Greater);
        assert_eq!(n("1.0").order(&n("1.00")), Ordering::Equal);
        let sorted = [
            "-Infinity",
            "-100",
            "-99.5",
            "-1.25",
            "-1.2",
            "0.00",
            "0.0012",
            "0.5",
            "1",
            "1.000",
            "9",
            "10.01",
            "Infinity",
            "NaN",
        ];
        for x in sorted {
            for y in sorted {
                assert_eq!(compare_text(x, y), n(x).order(&n(y)), "{x} vs {y}");
            }
        }
    }

    #[test]
    fn transcendental_functions_match_postgresql() {
        // From PostgreSQL 15.
        assert_eq!(t(n("1.0").exp()), "2.7182818284590452");
        assert_eq!(t(n("-1").exp()), "0.3678794411714423");
        assert_eq!(t(n("2.0").ln()), "0.6931471805599453");
        assert_eq!(t(n("1.0000000001").ln()), "0.00000000009999999999500000");
        assert_eq!(t(n("2.0").log(&n("8"))), "3.0000000000000000");
        assert_eq!(t(n("1.5").log(&n("7.25"))), "4.8857507816384516");
        assert_eq!(t(n("1.5").power(&n("2.5"))), "2.7556759606310754");
        assert_eq!(t(n("0.5").power(&n("-3.25"))), "9.5136569200217685");
        assert_eq!(t(n("1.0001").power(&n("10000"))), "2.7181459268252249");
        assert_eq!(n("0").ln().unwrap_err().code, "2201E");
        assert_eq!(n("1").log(&n("10")).unwrap_err().code, "22012");
        assert_eq!(n("7000.0").exp().unwrap_err().code, "22003");
    }

    #[test]
    fn typmod_rounds_and_overflows() {
        assert_eq!(n("1.005").apply_typmod(5, 2).unwrap().to_text(), "1.01");
        let e = n("1000").apply_typmod(5, 2).unwrap_err();
        assert_eq!(e.message, "numeric field overflow");
        assert_eq!(n("1234").apply_typmod(2, -2).unwrap().to_text(), "1200");
    }

    #[test]
    fn binary_round_trips() {
        for s in ["0", "0.00", "1.50", "-12345.6789", "10000", "0.0001", "123456789012345678901234567890.5", "NaN"] {
            let v = n(s);
            assert_eq!(Num::from_binary(&v.to_binary()).unwrap().to_text(), s, "{s}");
        }
        // 1.5: one digit group before the point, one after: [2, 0, 0, 1 | 1, 5000].
        assert_eq!(n("1.5").to_binary(), vec![0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88]);
    }
}
