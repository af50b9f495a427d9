//! C's `strtod`/`strtold` and `printf("%.17Lf")`, reproduced exactly, for the floats Redis reads
//! and prints. Redis parses most floats with `strtod` (a double) but INCRBYFLOAT, HINCRBYFLOAT
//! and blocking timeouts with `strtold`: on x86-64 an x87 80-bit long double (64-bit significand,
//! exponents to ±16383). INCRBYFLOAT results are printed with `%.17Lf`, so `0.1 + 0.2` is
//! `0.3` there but `10.5 - 2.25` may be `8.25000000000000000001`-like; to give the same replies
//! Orbit does that arithmetic in software. Values are exact (significand, exponent) pairs and
//! every operation rounds to nearest, ties to even, as the FPU does by default.

use std::cmp::Ordering;

/// C's `isspace` in the C locale.
#[inline]
pub fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The bytes a C function sees: up to the first NUL.
#[inline]
pub fn c_str(s: &[u8]) -> &[u8] {
    &s[..memchr::memchr(0, s).unwrap_or(s.len())]
}

// ---------------------------------------------------------------------------------------------
// A small unsigned big integer (little-endian u32 limbs), enough for exact conversions.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u128(mut v: u128) -> Big {
        let mut b = Big(Vec::with_capacity(4));
        while v != 0 {
            b.0.push(v as u32);
            v >>= 32;
        }
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|&l| l == 0)
    }

    /// Bit length (0 for zero).
    fn bits(&self) -> u64 {
        for (i, &l) in self.0.iter().enumerate().rev() {
            if l != 0 {
                return i as u64 * 32 + (32 - l.leading_zeros()) as u64;
            }
        }
        0
    }

    fn bit(&self, i: u64) -> bool {
        let limb = (i / 32) as usize;
        limb < self.0.len() && self.0[limb] >> (i % 32) & 1 == 1
    }

    /// Whether any bit below position `i` is set.
    fn any_below(&self, i: u64) -> bool {
        let full = ((i / 32) as usize).min(self.0.len());
        if self.0[..full].iter().any(|&l| l != 0) {
            return true;
        }
        let rem = i % 32;
        full < self.0.len() && rem > 0 && self.0[full] & ((1u32 << rem) - 1) != 0
    }

    /// `(self >> n)` truncated to 128 bits.
    fn shr_u128(&self, n: u64) -> u128 {
        let mut v: u128 = 0;
        for k in 0..128u64 {
            if self.bit(n + k) {
                v |= 1 << k;
            }
        }
        v
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry: u64 = 0;
        for l in self.0.iter_mut() {
            let v = *l as u64 * m as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = a as u64;
        for l in self.0.iter_mut() {
            if carry == 0 {
                return;
            }
            let v = *l as u64 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
    }

    /// Divides in place by `d`, returning the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem: u64 = 0;
        for l in self.0.iter_mut().rev() {
            let v = (rem << 32) | *l as u64;
            *l = (v / d as u64) as u32;
            rem = v % d as u64;
        }
        self.trim();
        rem as u32
    }

    fn shl(&self, n: u64) -> Big {
        let limbs = (n / 32) as usize;
        let bits = (n % 32) as u32;
        let mut out = vec![0u32; limbs];
        if bits == 0 {
            out.extend_from_slice(&self.0);
        } else {
            let mut carry = 0u32;
            for &l in &self.0 {
                out.push((l << bits) | carry);
                carry = l >> (32 - bits);
            }
            out.push(carry);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn shr1(&mut self) {
        let mut carry = 0u32;
        for l in self.0.iter_mut().rev() {
            let next = *l & 1;
            *l = (*l >> 1) | (carry << 31);
            carry = next;
        }
        self.trim();
    }

    fn cmp(&self, other: &Big) -> Ordering {
        let (a, b) = (self.bits(), other.bits());
        if a != b {
            return a.cmp(&b);
        }
        let n = self.0.len().max(other.0.len());
        for i in (0..n).rev() {
            let x = self.0.get(i).copied().unwrap_or(0);
            let y = other.0.get(i).copied().unwrap_or(0);
            if x != y {
                return x.cmp(&y);
            }
        }
        Ordering::Equal
    }

    /// `self -= other` (requires `self >= other`).
    fn sub_assign(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let y = other.0.get(i).copied().unwrap_or(0) as i64;
            let mut v = self.0[i] as i64 - y - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            self.0[i] = v as u32;
        }
        debug_assert_eq!(borrow, 0);
        self.trim();
    }

    fn pow10(n: u64) -> Big {
        let mut b = Big(vec![1]);
        let mut left = n;
        while left >= 9 {
            b.mul_small(1_000_000_000);
            left -= 9;
        }
        for _ in 0..left {
            b.mul_small(10);
        }
        b
    }

    /// `(num / den, num % den != 0)` when the quotient is known to be below 2^128.
    fn div_u128(num: &Big, den: &Big) -> (u128, bool) {
        let mut r = num.clone();
        let top = num.bits().saturating_sub(den.bits());
        debug_assert!(top < 128);
        let mut d = den.shl(top);
        let mut q: u128 = 0;
        for i in (0..=top).rev() {
            if r.cmp(&d) != Ordering::Less {
                r.sub_assign(&d);
                q |= 1 << i;
            }
            d.shr1();
        }
        (q, !r.is_zero())
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut v = self.clone();
        let mut chunks = Vec::new();
        while !v.is_zero() {
            chunks.push(v.div_small(1_000_000_000));
        }
        let mut s = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:09}"));
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Rounding an exact value to a binary format.

/// A binary floating-point format: significand bits, the exponent of the smallest subnormal's
/// last bit, and the largest exponent of a leading bit.
#[derive(Clone, Copy)]
struct Format {
    precision: u32,
    min_lsb_exp: i64,
    max_exp: i64,
}

const DOUBLE: Format = Format { precision: 53, min_lsb_exp: -1074, max_exp: 1023 };
const LONG_DOUBLE: Format = Format { precision: 64, min_lsb_exp: -16445, max_exp: 16383 };

/// The magnitude of a rounded value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Rounded {
    Zero,
    /// `mant * 2^exp`, `mant != 0`.
    Finite {
        mant: u64,
        exp: i64,
    },
    Overflow,
}

/// Rounds `q * 2^e2` (plus a nonzero fraction below its last bit when `sticky`) to `fmt`,
/// to nearest with ties to even.
fn round(q: &Big, e2: i64, sticky: bool, fmt: Format) -> Rounded {
    let len = q.bits() as i64;
    if len == 0 {
        return Rounded::Zero;
    }
    let p = fmt.precision as i64;
    let mut t = (e2 + len - p).max(fmt.min_lsb_exp);
    let mant: u64;
    if t <= e2 {
        // Exact: every bit fits.
        mant = (q.shr_u128(0) as u64) << (e2 - t);
    } else {
        let k = (t - e2) as u64;
        if k > len as u64 {
            // Below half of the smallest step.
            return Rounded::Zero;
        }
        let mut m = q.shr_u128(k);
        let half = q.bit(k - 1);
        let rest = sticky || q.any_below(k - 1);
        if half && (rest || m & 1 == 1) {
            m += 1;
            if m == 1 << p {
                // Carried past the precision: one bit more of exponent.
                m = 1 << (p - 1);
                t += 1;
            }
        }
        if m == 0 {
            return Rounded::Zero;
        }
        mant = m as u64;
    }
    let lead = t + 63 - mant.leading_zeros() as i64;
    if lead > fmt.max_exp {
        return Rounded::Overflow;
    }
    Rounded::Finite { mant, exp: t }
}

// ---------------------------------------------------------------------------------------------
// Scanning what strtod accepts.

/// The number a `strtod` call reads, before rounding.
#[derive(Debug)]
enum Scanned {
    /// No conversion (`endptr == nptr`).
    None,
    Nan,
    Inf {
        neg: bool,
    },
    /// `digits * 10^exp10` (digits as ASCII, leading zeros possibly included).
    Decimal {
        neg: bool,
        digits: Vec<u8>,
        exp10: i64,
        text_start: usize,
    },
    /// `mant * 2^exp2`.
    Hex {
        neg: bool,
        mant: Big,
        exp2: i64,
    },
}

/// Reads an optionally signed run of decimal digits as an exponent (saturating far beyond any
/// float's range); (value, bytes) or None if there is no digit.
fn scan_exponent(s: &[u8]) -> Option<(i64, usize)> {
    let mut k = 0;
    let neg = match s.first() {
        Some(b'-') => {
            k = 1;
            true
        }
        Some(b'+') => {
            k = 1;
            false
        }
        _ => false,
    };
    if !s.get(k).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut e: i64 = 0;
    while k < s.len() && s[k].is_ascii_digit() {
        e = (e * 10 + (s[k] - b'0') as i64).min(1 << 40);
        k += 1;
    }
    Some((if neg { -e } else { e }, k))
}

/// glibc's `strtod` grammar in the C locale over a C string: leading spaces, a sign,
/// `inf`/`infinity`, `nan[(chars)]`, hex floats (`0x1.8p3`), decimals with an exponent.
/// Returns what was read and how many bytes.
fn scan(s: &[u8]) -> (Scanned, usize) {
    let s = c_str(s);
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let rest = &s[i..];
    let starts = |w: &[u8]| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w);
    if starts(b"inf") {
        let n = if starts(b"infinity") { 8 } else { 3 };
        return (Scanned::Inf { neg }, i + n);
    }
    if starts(b"nan") {
        let mut n = 3;
        if rest.get(3) == Some(&b'(') {
            let mut j = 4;
            while j < rest.len() && (rest[j].is_ascii_alphanumeric() || rest[j] == b'_') {
                j += 1;
            }
            if rest.get(j) == Some(&b')') {
                n = j + 1;
            }
        }
        return (Scanned::Nan, i + n);
    }
    if rest.len() >= 2 && rest[0] == b'0' && (rest[1] | 0x20) == b'x' {
        let h = &rest[2..];
        let mut j = 0;
        let mut mant = Big::default();
        let mut exp2: i64 = 0;
        let mut any = false;
        while j < h.len() && h[j].is_ascii_hexdigit() {
            mant.mul_small(16);
            mant.add_small((h[j] as char).to_digit(16).unwrap_or(0));
            any = true;
            j += 1;
        }
        if j < h.len() && h[j] == b'.' {
            let mut k = j + 1;
            let mut frac = false;
            while k < h.len() && h[k].is_ascii_hexdigit() {
                mant.mul_small(16);
                mant.add_small((h[k] as char).to_digit(16).unwrap_or(0));
                exp2 -= 4;
                frac = true;
                k += 1;
            }
            if any || frac {
                j = k;
                any = true;
            }
        }
        if !any {
            // "0x" without hex digits: only the "0" converts.
            return (Scanned::Decimal { neg, digits: b"0".to_vec(), exp10: 0, text_start: i }, i + 1);
        }
        if j < h.len() && (h[j] | 0x20) == b'p' {
            if let Some((e, n)) = scan_exponent(&h[j + 1..]) {
                exp2 += e;
                j += 1 + n;
            }
        }
        mant.trim();
        return (Scanned::Hex { neg, mant, exp2 }, i + 2 + j);
    }
    let mut j = 0;
    let mut digits = Vec::new();
    let mut exp10: i64 = 0;
    while j < rest.len() && rest[j].is_ascii_digit() {
        digits.push(rest[j]);
        j += 1;
    }
    if j < rest.len() && rest[j] == b'.' {
        let mut k = j + 1;
        let before = digits.len();
        while k < rest.len() && rest[k].is_ascii_digit() {
            digits.push(rest[k]);
            exp10 -= 1;
            k += 1;
        }
        if before > 0 || digits.len() > before {
            j = k;
        }
    }
    if digits.is_empty() {
        return (Scanned::None, 0);
    }
    if j < rest.len() && (rest[j] | 0x20) == b'e' {
        if let Some((e, n)) = scan_exponent(&rest[j + 1..]) {
            exp10 += e;
            j += 1 + n;
        }
    }
    (Scanned::Decimal { neg, digits, exp10, text_start: i }, i + j)
}

/// Rounds `digits * 10^exp10` to `fmt`.
fn round_decimal(digits: &[u8], exp10: i64, fmt: Format) -> Rounded {
    let sig: &[u8] = {
        let first = digits.iter().position(|&d| d != b'0').unwrap_or(digits.len());
        &digits[first..]
    };
    if sig.is_empty() {
        return Rounded::Zero;
    }
    // Trailing zeros only scale.
    let last = sig.iter().rposition(|&d| d != b'0').unwrap_or(0);
    let exp10 = exp10 + (sig.len() - 1 - last) as i64;
    let sig = &sig[..=last];
    // Decimal magnitude: the value lies in [10^(m-1), 10^m).
    let m = sig.len() as i64 + exp10;
    if m > 4945 {
        return Rounded::Overflow;
    }
    if m < -4960 {
        return Rounded::Zero;
    }
    let mut d = Big::default();
    for &c in sig {
        d.mul_small(10);
        d.add_small((c - b'0') as u32);
    }
    if exp10 >= 0 {
        let mut n = Big::pow10(exp10 as u64);
        // n *= d
        let mut acc = Big::default();
        for (i, &limb) in d.0.iter().enumerate() {
            let mut part = n.clone();
            part.mul_small(limb);
            let part = part.shl(32 * i as u64);
            acc = add_big(&acc, &part);
        }
        n = acc;
        return round(&n, 0, false, fmt);
    }
    let den = Big::pow10((-exp10) as u64);
    // Enough quotient bits for the precision plus guard bits.
    let want = fmt.precision as i64 + 3;
    let s = (want + den.bits() as i64 - d.bits() as i64).max(0) as u64;
    let num = d.shl(s);
    let (q, inexact) = Big::div_u128(&num, &den);
    round(&Big::from_u128(q), -(s as i64), inexact, fmt)
}

fn add_big(a: &Big, b: &Big) -> Big {
    let n = a.0.len().max(b.0.len());
    let mut out = Vec::with_capacity(n + 1);
    let mut carry = 0u64;
    for i in 0..n {
        let v = a.0.get(i).copied().unwrap_or(0) as u64 + b.0.get(i).copied().unwrap_or(0) as u64 + carry;
        out.push(v as u32);
        carry = v >> 32;
    }
    if carry != 0 {
        out.push(carry as u32);
    }
    let mut r = Big(out);
    r.trim();
    r
}

// ---------------------------------------------------------------------------------------------
// Doubles

/// What C's `strtod` makes of a buffer (read as a C string: up to its first NUL).
#[derive(Debug, Clone, Copy)]
pub struct Strtod {
    pub value: f64,
    /// Bytes consumed; 0 when nothing converted.
    pub consumed: usize,
    /// `errno == ERANGE` with an infinite or zero result (overflow, underflow to zero).
    pub range_error: bool,
}

fn to_f64(neg: bool, r: Rounded) -> (f64, bool) {
    let sign = |v: f64| if neg { -v } else { v };
    match r {
        Rounded::Zero => (sign(0.0), true),
        Rounded::Overflow => (sign(f64::INFINITY), true),
        Rounded::Finite { mant, exp } => {
            // mant < 2^53 and the value is representable: build the bits directly.
            let lead = 63 - mant.leading_zeros() as i64;
            let bits = if exp + lead < -1022 {
                // Subnormal: exp == -1074.
                mant
            } else {
                let shift = 52 - lead;
                let m = mant << shift;
                let e = exp - shift + 52 + 1023;
                ((e as u64) << 52) | (m & ((1 << 52) - 1))
            };
            (sign(f64::from_bits(bits)), false)
        }
    }
}

/// glibc's `strtod` over a C string (up to its first NUL).
pub fn strtod(s: &[u8]) -> Strtod {
    let (sc, consumed) = scan(s);
    let (value, range_error) = match sc {
        Scanned::None => (0.0, false),
        Scanned::Nan => (f64::NAN, false),
        Scanned::Inf { neg } => (if neg { f64::NEG_INFINITY } else { f64::INFINITY }, false),
        Scanned::Decimal { neg, digits, exp10, text_start } => {
            // Rust's parser is correctly rounded like glibc's; it reads the scanned text.
            let text = &c_str(s)[text_start..consumed];
            let nonzero = digits.iter().any(|&d| d != b'0');
            match std::str::from_utf8(text).ok().and_then(|t| t.parse::<f64>().ok()) {
                Some(v) => {
                    let v = if neg { -v } else { v };
                    (v, v.is_infinite() || (v == 0.0 && nonzero))
                }
                None => to_f64(neg, round_decimal(&digits, exp10, DOUBLE)),
            }
        }
        Scanned::Hex { neg, mant, exp2 } => match round(&mant, exp2, false, DOUBLE) {
            Rounded::Zero if mant.is_zero() => (if neg { -0.0 } else { 0.0 }, false),
            r => to_f64(neg, r),
        },
    };
    Strtod { value, consumed, range_error }
}

/// Redis's `string2d` (`getDoubleFromObject`): the whole argument is a float, with no leading
/// space, no overflow or underflow to zero, and no NaN.
pub fn string2d(s: &[u8]) -> Option<f64> {
    if s.is_empty() || is_c_space(s[0]) {
        return None;
    }
    let r = strtod(s);
    if r.consumed != s.len() || r.range_error || r.value.is_nan() {
        return None;
    }
    Some(r.value)
}

// ---------------------------------------------------------------------------------------------
// Long doubles

/// An x87 80-bit extended-precision value (normalized: equal values compare equal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LongDouble {
    neg: bool,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Zero,
    /// `mant * 2^exp`, `mant != 0`.
    Finite {
        mant: u64,
        exp: i64,
    },
    Inf,
    Nan,
}

/// Redis's `MAX_LONG_DOUBLE_CHARS`: `string2ld` rejects strings this long or longer.
pub const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble { neg: false, kind: Kind::Zero };

    fn from_rounded(neg: bool, r: Rounded) -> LongDouble {
        let kind = match r {
            Rounded::Zero => Kind::Zero,
            Rounded::Finite { mant, exp } => Kind::Finite { mant, exp },
            Rounded::Overflow => Kind::Inf,
        };
        LongDouble { neg, kind }
    }

    /// Exactly `v` (every i64 fits in 64 significand bits).
    pub fn from_i64(v: i64) -> LongDouble {
        if v == 0 {
            return LongDouble::ZERO;
        }
        LongDouble::from_rounded(v < 0, round(&Big::from_u128(v.unsigned_abs() as u128), 0, false, LONG_DOUBLE))
    }

    pub fn is_nan(&self) -> bool {
        self.kind == Kind::Nan
    }

    pub fn is_infinite(&self) -> bool {
        self.kind == Kind::Inf
    }

    /// `self + other`, rounded.
    fn sum(self, other: LongDouble) -> LongDouble {
        match (self.kind, other.kind) {
            (Kind::Nan, _) | (_, Kind::Nan) => LongDouble { neg: false, kind: Kind::Nan },
            (Kind::Inf, Kind::Inf) if self.neg != other.neg => LongDouble { neg: false, kind: Kind::Nan },
            (Kind::Inf, _) => self,
            (_, Kind::Inf) => other,
            (Kind::Zero, Kind::Zero) => LongDouble { neg: self.neg && other.neg, kind: Kind::Zero },
            (Kind::Zero, _) => other,
            (_, Kind::Zero) => self,
            (Kind::Finite { mant: ma, exp: ea }, Kind::Finite { mant: mb, exp: eb }) => {
                // Put the larger exponent first; keep 62 guard bits below the significand, with
                // a sticky bit for anything shifted out.
                let ((ma, ea, na), (mb, eb, nb)) = if ea >= eb {
                    ((ma, ea, self.neg), (mb, eb, other.neg))
                } else {
                    ((mb, eb, other.neg), (ma, ea, self.neg))
                };
                let a = (ma as u128) << 62;
                let shift = (ea - eb) as u64;
                let full = (mb as u128) << 62;
                let b = if shift >= 127 {
                    (full != 0) as u128
                } else {
                    let kept = full >> shift;
                    kept | ((kept << shift != full) as u128)
                };
                let e2 = ea - 62;
                let (mag, neg) = if na == nb {
                    (a + b, na)
                } else if a >= b {
                    (a - b, na)
                } else {
                    (b - a, nb)
                };
                if mag == 0 {
                    // x + (-x) is +0 when rounding to nearest.
                    return LongDouble::ZERO;
                }
                LongDouble::from_rounded(neg, round(&Big::from_u128(mag), e2, false, LONG_DOUBLE))
            }
        }
    }

    /// `self * k`, rounded (`k` a small exact integer such as 1000).
    pub fn mul_u64(self, k: u64) -> LongDouble {
        match self.kind {
            Kind::Finite { mant, exp } if k != 0 => {
                let p = mant as u128 * k as u128;
                LongDouble::from_rounded(self.neg, round(&Big::from_u128(p), exp, false, LONG_DOUBLE))
            }
            Kind::Finite { .. } => LongDouble { neg: self.neg, kind: Kind::Zero },
            _ => self,
        }
    }

    /// `(long long) ceill(self)` as x86-64 computes it: out of range (and NaN) gives the
    /// "integer indefinite" `LLONG_MIN`.
    pub fn ceil_to_i64(self) -> i64 {
        match self.kind {
            Kind::Zero => 0,
            Kind::Nan | Kind::Inf => i64::MIN,
            Kind::Finite { mant, exp } => {
                let lead = exp + 63 - mant.leading_zeros() as i64;
                if lead >= 63 {
                    // |v| >= 2^63: only -2^63 itself fits.
                    return i64::MIN;
                }
                let (int, frac) = if exp >= 0 {
                    ((mant as u128) << exp, false)
                } else if exp <= -64 {
                    (0, true)
                } else {
                    let k = (-exp) as u32;
                    ((mant >> k) as u128, mant & ((1u64 << k) - 1) != 0)
                };
                let int = int as i128;
                let v = if self.neg { -int } else { int + frac as i128 };
                i64::try_from(v).unwrap_or(i64::MIN)
            }
        }
    }

    /// `printf("%.17Lf")`.
    fn fixed17(self) -> String {
        let sign = if self.neg { "-" } else { "" };
        let (mant, exp) = match self.kind {
            Kind::Nan => return if self.neg { "-nan".into() } else { "nan".into() },
            Kind::Inf => return format!("{sign}inf"),
            Kind::Zero => return format!("{sign}0.00000000000000000"),
            Kind::Finite { mant, exp } => (mant, exp),
        };
        let m = Big::from_u128(mant as u128);
        let (mut int, frac) = if exp >= 0 {
            (m.shl(exp as u64), 0u64)
        } else {
            let k = (-exp) as u64;
            let int = Big::from_u128(if k >= 64 { 0 } else { (mant >> k) as u128 });
            // The fraction f / 2^k, times 10^17, rounded half to even.
            let f = if k >= 64 { m.clone() } else { Big::from_u128((mant & ((1u64 << k) - 1)) as u128) };
            let mut scaled = f;
            scaled.mul_small(100_000_000);
            scaled.mul_small(1_000_000_000);
            let mut q = scaled.shr_u128(k) as u64;
            let half = k > 0 && scaled.bit(k - 1);
            let rest = k > 1 && scaled.any_below(k - 1);
            if half && (rest || q & 1 == 1) {
                q += 1;
            }
            (int, q)
        };
        let mut frac = frac;
        if frac >= 100_000_000_000_000_000 {
            frac -= 100_000_000_000_000_000;
            int.add_small(1);
        }
        format!("{sign}{}.{frac:017}", int.to_decimal())
    }

    /// Redis's `ld2string(.., LD_STR_HUMAN)`: `%.17Lf` with trailing zeros (and a trailing dot)
    /// removed, and `-0` written `0`.
    pub fn to_human(self) -> String {
        if self.is_infinite() {
            return if self.neg { "-inf".into() } else { "inf".into() };
        }
        let mut s = self.fixed17();
        if s.contains('.') {
            let t = s.trim_end_matches('0').trim_end_matches('.').len();
            s.truncate(t);
        }
        if s == "-0" {
            s = "0".into();
        }
        s
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    /// Rounded to nearest, ties to even, as the x87 FPU adds.
    fn add(self, other: LongDouble) -> LongDouble {
        self.sum(other)
    }
}

/// glibc's `strtold` over a C string: (value, bytes consumed, ERANGE with an infinite or zero
/// result).
pub fn strtold(s: &[u8]) -> (LongDouble, usize, bool) {
    let (sc, consumed) = scan(s);
    match sc {
        Scanned::None => (LongDouble::ZERO, 0, false),
        Scanned::Nan => (LongDouble { neg: false, kind: Kind::Nan }, consumed, false),
        Scanned::Inf { neg } => (LongDouble { neg, kind: Kind::Inf }, consumed, false),
        Scanned::Decimal { neg, digits, exp10, .. } => {
            let nonzero = digits.iter().any(|&d| d != b'0');
            let r = round_decimal(&digits, exp10, LONG_DOUBLE);
            let range = matches!(r, Rounded::Overflow) || (r == Rounded::Zero && nonzero);
            (LongDouble::from_rounded(neg, r), consumed, range)
        }
        Scanned::Hex { neg, mant, exp2 } => {
            let r = round(&mant, exp2, false, LONG_DOUBLE);
            let range = matches!(r, Rounded::Overflow) || (r == Rounded::Zero && !mant.is_zero());
            (LongDouble::from_rounded(neg, r), consumed, range)
        }
    }
}

/// Redis's `string2ld`: shorter than `MAX_LONG_DOUBLE_CHARS`, no leading space, the whole
/// string a number (a NUL inside ends `strtold` early: rejected), no overflow or underflow to
/// zero, no NaN.
pub fn string2ld(s: &[u8]) -> Option<LongDouble> {
    if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS || is_c_space(s[0]) {
        return None;
    }
    let (v, consumed, range) = strtold(s);
    if consumed != s.len() || range || v.is_nan() {
        return None;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ld(s: &str) -> LongDouble {
        string2ld(s.as_bytes()).unwrap_or_else(|| panic!("{s} should parse"))
    }

    fn incr(a: &str, b: &str) -> String {
        (ld(a) + ld(b)).to_human()
    }

    #[test]
    fn doubles_parse_like_strtod() {
        assert_eq!(string2d(b"1.5"), Some(1.5));
        assert_eq!(string2d(b"0x10"), Some(16.0));
        assert_eq!(string2d(b"0x1.8p1"), Some(3.0));
        assert_eq!(string2d(b"-0x.8"), Some(-0.5));
        assert_eq!(string2d(b"1e400"), None);
        assert_eq!(string2d(b"1e-400"), None);
        assert_eq!(string2d(b"1e-310"), Some(1e-310));
        assert_eq!(string2d(b"inf"), Some(f64::INFINITY));
        assert_eq!(string2d(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(string2d(b"nan"), None);
        assert_eq!(string2d(b" 1"), None);
        assert_eq!(string2d(b"1 "), None);
        assert_eq!(string2d(b"0x"), None);
        assert_eq!(string2d(b"1e"), None);
        assert_eq!(string2d(b"."), None);
        assert_eq!(string2d(b"5."), Some(5.0));
        assert_eq!(string2d(b"1\x00"), None);
        assert_eq!(string2d(b"0x1p-1074"), Some(f64::from_bits(1)));
        assert_eq!(string2d(b"0x1.fffffffffffff8p0"), Some(2.0));
        assert_eq!(strtod(b"0x1234567890abcdef1234p-10").value, 0x1234567890abcdef1234u128 as f64 / 1024.0);
    }

    #[test]
    fn long_doubles_parse_like_strtold() {
        assert!(string2ld(b"1e400").is_some());
        assert!(string2ld(b"1e5000").is_none());
        assert!(string2ld(b"1e-400").is_some());
        assert!(string2ld(b"1e-4940").is_some(), "subnormal long doubles are accepted");
        assert!(string2ld(b"1e-5000").is_none());
        assert_eq!(string2ld(b"1\x00junk"), None);
        assert_eq!(string2ld(b"+1"), Some(LongDouble::from_i64(1)));
        assert!(string2ld(b"").is_none());
        assert!(string2ld(b" 1").is_none());
        assert_eq!(string2ld(b"0x10"), Some(LongDouble::from_i64(16)));
    }

    #[test]
    fn incrbyfloat_matches_redis() {
        // Replies of redis-server 7.0 (x86-64) to INCRBYFLOAT.
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("313.14", "-2.25"), "310.89000000000000001");
        assert_eq!(incr("589", "0.1"), "589.09999999999999998");
        assert_eq!(incr("9223372036854775807", "-1e3"), "9223372036854774807");
        assert_eq!(incr("-9223372036854775808", "3"), "-9223372036854775805");
        assert_eq!(incr("9223372036854775807", "3"), "9223372036854775810");
        assert_eq!(incr("1", "1e-400"), "1");
        assert_eq!(incr("3", "-3"), "0");
        assert_eq!(incr("-0.5", "0.5"), "0");
        assert_eq!(incr("0", "5.0e3"), "5000");
        assert!(incr("0", "1e400").starts_with("10000000000000000000281880683947586514586453433629"));
        assert!((ld("1.7976931348623157e308") + ld("0")).to_human().starts_with("17976931348623156999592104677410443404838644694432917848531442076517662852312439635470186860838708556442879341942552068930870836345113605535789727802647761707349897768628839483561816329404559443492953"));
    }

    #[test]
    fn timeouts_ceil_like_redis() {
        let ms = |s: &str| ld(s).mul_u64(1000).ceil_to_i64();
        assert_eq!(ms("0.0001"), 1);
        assert_eq!(ms("-0.0001"), 0);
        assert_eq!(ms("-0.001"), 0, "redis-server blocks forever on BLPOP k -0.001");
        assert_eq!(ms("-0.0010001"), -1);
        assert_eq!(ms("1.5"), 1500);
        assert_eq!(ms("1e400"), i64::MIN);
        assert_eq!(ms("inf"), i64::MIN);
    }
}
