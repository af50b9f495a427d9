//! Typed values of the Redis keyspace. Collections hold [`Bytes`] elements so that replies can
//! hand them out without copying. Hashes and sets are insertion-ordered hash maps
//! ([`indexmap`]): O(1) random access for SPOP/SRANDMEMBER/HRANDFIELD and a stable cursor for
//! HSCAN/SSCAN (see [`crate::keyspace::scan_positions`]).

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use std::collections::VecDeque;

pub type FastBuild = std::hash::BuildHasherDefault<rustc_hash::FxHasher>;
pub type HashValue = IndexMap<Bytes, Bytes, FastBuild>;
pub type SetValue = IndexSet<Bytes, FastBuild>;
pub type ListValue = VecDeque<Bytes>;

pub use crate::redis::zset::ZSet;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Vec<u8>),
    Hash(HashValue),
    List(ListValue),
    Set(SetValue),
    ZSet(ZSet),
}

impl Value {
    /// The name `TYPE` replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The encoding `OBJECT ENCODING` replies with, following Redis 7.0's default thresholds.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => {
                if s.len() <= 20 && parse_i64_strict(s).is_some() {
                    "int"
                } else if s.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::Hash(h) => {
                if h.len() <= 128 && h.iter().all(|(k, v)| k.len() <= 64 && v.len() <= 64) {
                    "listpack"
                } else {
                    "hashtable"
                }
            }
            Value::List(_) => "quicklist",
            Value::Set(s) => {
                if s.len() <= 512 && s.iter().all(|m| parse_i64_strict(m).is_some()) {
                    "intset"
                } else {
                    "hashtable"
                }
            }
            Value::ZSet(z) => {
                if z.len() <= 128 && z.max_member_len() <= 64 {
                    "listpack"
                } else {
                    "skiplist"
                }
            }
        }
    }

    /// True for a collection with no elements (Redis deletes such keys).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::Hash(h) => h.is_empty(),
            Value::List(l) => l.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.len() == 0,
        }
    }

    /// An estimate of the heap bytes this value holds, for eviction and `MEMORY USAGE`.
    pub fn mem_bytes(&self) -> usize {
        const ELEM: usize = 48;
        match self {
            Value::Str(s) => s.capacity(),
            Value::Hash(h) => h.iter().map(|(k, v)| k.len() + v.len() + 2 * ELEM).sum(),
            Value::List(l) => l.iter().map(|e| e.len() + ELEM).sum(),
            Value::Set(s) => s.iter().map(|e| e.len() + ELEM).sum(),
            Value::ZSet(z) => z.mem_bytes(),
        }
    }
}

/// Parses a decimal integer the way Redis's `string2ll` does: no spaces, no leading `+`,
/// no leading zeros (except `0` itself), `-0` rejected, within i64.
pub fn parse_i64_strict(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() {
        return None;
    }
    if digits[0] == b'0' {
        return if digits.len() == 1 && !neg { Some(0) } else { None };
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Parses a float the way Redis's `string2ld`/`strtod` checks do: the whole string must be a
/// number, no spaces; `inf`/`-inf` accepted; NaN rejected.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 5120 {
        return None;
    }
    if s[0].is_ascii_whitespace() || s[s.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let t = std::str::from_utf8(s).ok()?;
    let lower = t.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // Rust accepts forms C's strtod does too (digits, '.', exponent); reject the words
            // Rust knows but Redis treats differently.
            if lower.contains("nan") || lower.contains("inf") {
                return None;
            }
            if lower.starts_with("0x") || lower.starts_with("-0x") || lower.starts_with("+0x") {
                return None;
            }
            t.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// Formats a double as C's `%.17g` does (Redis 7.0's reply format for doubles in RESP2).
pub fn fmt_g17(d: f64) -> String {
    fmt_g(d, 17)
}

/// C's `%.<prec>g`.
pub fn fmt_g(d: f64, prec: usize) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let prec = prec.max(1);
    // Scientific form with prec significant digits tells the exponent after rounding.
    let sci = format!("{:.*e}", prec - 1, d);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mant = trim_fraction_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", mant, sign, exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        let fixed = format!("{:.*}", decimals, d);
        trim_fraction_zeros(&fixed).to_string()
    }
}

fn trim_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Formats the result of INCRBYFLOAT/HINCRBYFLOAT as Redis's `ld2string(.., LD_STR_HUMAN)` does
/// (`%.17Lf`, trailing zeros removed). Redis computes in `long double`; Orbit computes in f64
/// and prints 17 significant digits, falling back to 15 where the last two are binary noise.
pub fn fmt_human(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let exact = fmt_g(d, 17);
    let short = fmt_g(d, 15);
    let s = if short.parse::<f64>().ok() == Some(d) || exact.len() > short.len() + 1 {
        short
    } else {
        exact
    };
    if s.contains('e') {
        // %Lf never uses exponents: expand.
        let v: f64 = s.parse().unwrap_or(d);
        let fixed = format!("{:.17}", v);
        return trim_fraction_zeros(&fixed).to_string();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64_strict(b"0"), Some(0));
        assert_eq!(parse_i64_strict(b"-1"), Some(-1));
        assert_eq!(parse_i64_strict(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_strict(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64_strict(b"9223372036854775808"), None);
        assert_eq!(parse_i64_strict(b"01"), None);
        assert_eq!(parse_i64_strict(b"-0"), None);
        assert_eq!(parse_i64_strict(b"+1"), None);
        assert_eq!(parse_i64_strict(b" 1"), None);
        assert_eq!(parse_i64_strict(b""), None);
    }

    #[test]
    fn g17_matches_c() {
        assert_eq!(fmt_g17(1.5), "1.5");
        assert_eq!(fmt_g17(1.1), "1.1000000000000001");
        assert_eq!(fmt_g17(100.0), "100");
        assert_eq!(fmt_g17(1e20), "1e+20");
        assert_eq!(fmt_g17(0.0001), "0.0001");
        assert_eq!(fmt_g17(0.00001), "1.0000000000000001e-05");
        assert_eq!(fmt_g17(-2.0), "-2");
        assert_eq!(fmt_g17(f64::INFINITY), "inf");
    }

    #[test]
    fn human_floats() {
        assert_eq!(fmt_human(10.5 + 0.1), "10.6");
        assert_eq!(fmt_human(0.1 + 0.2), "0.3");
        assert_eq!(fmt_human(3.0), "3");
        assert_eq!(fmt_human(5.0e3), "5000");
    }

    #[test]
    fn floats_parse_like_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"abc"), None);
        assert_eq!(parse_f64(b""), None);
    }
}
