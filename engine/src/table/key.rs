//! Primary-key encoding: a byte string whose byte order is the order of the key values, so a
//! partition's rows sit in key order in a B-tree, and whose bytes are hashed to pick the shard.
//! Integers of every width encode alike (as i64), and so do floats (as f64), so a key compared
//! with a literal of another width finds the same row and the same shard.
//!
//! Per column: a tag byte, then the value: integers as big-endian i64 with the sign bit
//! flipped; floats as the big-endian IEEE bits, sign-flipped (negative: all bits inverted), with
//! -0 stored as 0 and every NaN as one NaN (sorting after +Infinity, as PostgreSQL does); text
//! and bytea with 0x00 escaped as 0x00 0xFF and ended by 0x00 0x01 (character(n) without its trailing spaces); bool as 0 or 1; dates,
//! times and timestamps as integers (their day or microsecond counts); intervals as their span
//! in microseconds (i128, sign-flipped, big-endian); uuids as their 16 bytes; json and jsonb as
//! text (jsonb's normalized text: equal values are equal keys, the order is the text's);
//! numerics by value (1.0 and 1.00 are one key): a class byte (-Infinity, negative, zero,
//! positive, Infinity, NaN), then for a nonzero value its decimal exponent and significant
//! digits without trailing zeros, all inverted when negative (see `encode_numeric`); arrays
//! in PostgreSQL's array order: each element after a 0x02 byte (a NULL element as 0x03, so it
//! sorts after every value, as array_cmp has it), ended by 0x01 (a prefix sorts first), then
//! the dimension count and each dimension's length and lower bound; records (composite
//! values) field by field as array elements are (a NULL field after every value, as
//! record_cmp orders them), ended by 0x01.

use super::Datum;

const TAG_NULL: u8 = 0x01;
const TAG_BOOL: u8 = 0x02;
const TAG_INT: u8 = 0x03;
const TAG_FLOAT: u8 = 0x04;
const TAG_BYTES: u8 = 0x05;
const TAG_INTERVAL: u8 = 0x06;
const TAG_UUID: u8 = 0x07;
const TAG_NUMERIC: u8 = 0x08;
const TAG_ARRAY: u8 = 0x09;
const TAG_ENUM: u8 = 0x0A;
const TAG_RECORD: u8 = 0x0B;

pub fn encode<'a>(values: impl Iterator<Item = &'a Datum>) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    for v in values {
        encode_one(&mut out, v);
    }
    out
}

fn encode_one(out: &mut Vec<u8>, v: &Datum) {
    match v {
        Datum::Null => out.push(TAG_NULL),
        Datum::Bool(b) => {
            out.push(TAG_BOOL);
            out.push(*b as u8);
        }
        Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_) => encode_int(out, v.as_i64().unwrap_or_default()),
        // Date/time values are counts (of days or microseconds), ordered as integers.
        Datum::Date(d) => encode_int(out, *d as i64),
        Datum::Oid(_, v) => encode_int(out, *v as i64),
        Datum::Timestamp(t) | Datum::TimestampTz(t) | Datum::Time(t) => encode_int(out, *t),
        // A timetz as PostgreSQL's timetz_cmp orders it: by the instant in UTC, then by the zone
        // (west first); equal only when both parts are.
        Datum::TimeTz(t, east) => {
            encode_int(out, t - *east as i64 * 1_000_000);
            encode_int(out, -(*east as i64));
        }
        // Intervals are equal when their spans are (a month is 30 days): '1 mon' = '30 days'.
        Datum::Interval(iv) => {
            let span = (iv.months as i128 * 30 + iv.days as i128) * 86_400_000_000 + iv.micros as i128;
            out.push(TAG_INTERVAL);
            out.extend_from_slice(&((span as u128) ^ (1 << 127)).to_be_bytes());
        }
        // An enum value by its sort position (a float's order-preserving bits).
        Datum::Enum(_, pos) => {
            let bits = pos.to_bits();
            let ordered = if bits >> 31 == 1 { !bits } else { bits ^ (1 << 31) };
            out.push(TAG_ENUM);
            out.extend_from_slice(&ordered.to_be_bytes());
        }
        Datum::Uuid(u) => {
            out.push(TAG_UUID);
            out.extend_from_slice(u);
        }
        Datum::Json(s) | Datum::Jsonb(s) => encode_bytes(out, s.as_bytes()),
        Datum::Float4(_) | Datum::Float8(_) => {
            let f = v.as_f64().unwrap_or_default();
            let f = if f == 0.0 {
                0.0
            } else if f.is_nan() {
                f64::NAN
            } else {
                f
            };
            let bits = f.to_bits();
            let ordered = if bits >> 63 == 1 { !bits } else { bits ^ (1 << 63) };
            out.push(TAG_FLOAT);
            out.extend_from_slice(&ordered.to_be_bytes());
        }
        Datum::Text(s) => encode_bytes(out, s.as_bytes()),
        // Trailing spaces are insignificant in character(n): 'a' and 'a  ' are one key.
        Datum::Bpchar(s) => encode_bytes(out, s.trim_end_matches(' ').as_bytes()),
        Datum::Bytea(b) => encode_bytes(out, b),
        Datum::Numeric(s) => encode_numeric(out, s),
        Datum::Array(a) => {
            out.push(TAG_ARRAY);
            encode_elements(out, &a.items);
            out.push(a.dims.len() as u8);
            for d in &a.dims {
                out.extend_from_slice(&d.len.to_be_bytes());
                out.extend_from_slice(&((d.lower as u32) ^ (1 << 31)).to_be_bytes());
            }
        }
        Datum::Record(fields) => {
            out.push(TAG_RECORD);
            encode_elements(out, fields);
        }
    }
}

/// An array's elements or a record's fields: each value after 0x02, a NULL as 0x03 (after
/// every value), ended by 0x01 (a prefix sorts first).
fn encode_elements(out: &mut Vec<u8>, items: &[Datum]) {
    for d in items {
        if d.is_null() {
            out.push(0x03);
        } else {
            out.push(0x02);
            encode_one(out, d);
        }
    }
    out.push(0x01);
}

/// A numeric's text (as PostgreSQL prints it) as an order-preserving key: value x = 0.d1d2... *
/// 10^e with d1 != 0 encodes as class, e (i32, sign-flipped, big-endian) and the digits d+1
/// ended by 0 (so a prefix sorts first); a negative value inverts e and the digit bytes and
/// ends with 0xFF, so larger magnitudes sort first.
fn encode_numeric(out: &mut Vec<u8>, s: &str) {
    out.push(TAG_NUMERIC);
    match s {
        "NaN" => return out.push(6),
        "Infinity" => return out.push(5),
        "-Infinity" => return out.push(1),
        _ => {}
    }
    let (neg, mag) = match s.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, s),
    };
    let (int, frac) = mag.split_once('.').unwrap_or((mag, ""));
    let int = int.trim_start_matches('0');
    let all: Vec<u8> = int.bytes().chain(frac.bytes()).filter(u8::is_ascii_digit).collect();
    let Some(first) = all.iter().position(|&d| d != b'0') else { return out.push(3) };
    let last = all.iter().rposition(|&d| d != b'0').unwrap_or(first);
    let exp = int.len() as i64 - first as i64;
    let exp = exp.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    let e = (exp as u32) ^ (1 << 31);
    out.push(if neg { 2 } else { 4 });
    let flip = |b: u8| if neg { !b } else { b };
    out.extend(e.to_be_bytes().map(flip));
    out.extend(all[first..=last].iter().map(|&d| flip(d - b'0' + 1)));
    out.push(flip(0));
}

fn encode_int(out: &mut Vec<u8>, i: i64) {
    out.push(TAG_INT);
    out.extend_from_slice(&((i as u64) ^ (1 << 63)).to_be_bytes());
}

fn encode_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.push(TAG_BYTES);
    for &c in b {
        out.push(c);
        if c == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(v: Datum) -> Vec<u8> {
        encode(std::iter::once(&v))
    }

    #[test]
    fn order_is_value_order() {
        let ints = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for w in ints.windows(2) {
            assert!(k(Datum::Int8(w[0])) < k(Datum::Int8(w[1])));
        }
        let floats = [f64::NEG_INFINITY, -2.5, -0.0, 1e-300, 3.0, f64::INFINITY, f64::NAN];
        for w in floats.windows(2) {
            assert!(k(Datum::Float8(w[0])) <= k(Datum::Float8(w[1])), "{w:?}");
        }
        assert!(k(Datum::Text("a".into())) < k(Datum::Text("a\0".into())));
        assert!(k(Datum::Text("a\0".into())) < k(Datum::Text("ab".into())));
        let ab = encode([Datum::Text("a".into()), Datum::Text("b".into())].iter());
        let a_b = encode([Datum::Text("ab".into()), Datum::Text("".into())].iter());
        assert_ne!(ab, a_b);
    }

    #[test]
    fn widths_encode_alike() {
        assert_eq!(k(Datum::Int2(5)), k(Datum::Int8(5)));
        assert_eq!(k(Datum::Float4(0.5)), k(Datum::Float8(0.5)));
        assert_eq!(k(Datum::Float8(-0.0)), k(Datum::Float8(0.0)));
        assert_eq!(k(Datum::Bpchar("ab  ".into())), k(Datum::Bpchar("ab".into())));
        let iv = |months, days, micros| Datum::Interval(crate::table::Interval { months, days, micros });
        assert_eq!(k(iv(1, 0, 0)), k(iv(0, 30, 0)));
        assert!(k(iv(0, -1, 0)) < k(iv(0, 0, -1)) && k(iv(0, 0, -1)) < k(iv(0, 0, 0)));
        assert!(k(Datum::Timestamp(-5)) < k(Datum::Timestamp(3)));
    }

    #[test]
    fn arrays_key_in_array_order() {
        use crate::table::{ArrayValue, SqlType};
        let a = |v: Vec<Option<i32>>| {
            let items = v.into_iter().map(|x| x.map(Datum::Int4).unwrap_or(Datum::Null)).collect();
            k(Datum::Array(Box::new(ArrayValue::from_items(SqlType::Int4, items))))
        };
        let order = [vec![], vec![Some(1)], vec![Some(1), Some(2)], vec![Some(1), None], vec![Some(2)]];
        for w in order.windows(2) {
            assert!(a(w[0].clone()) < a(w[1].clone()), "{w:?}");
        }
    }

    #[test]
    fn numerics_key_by_value() {
        let n = |s: &str| k(Datum::Numeric(s.into()));
        assert_eq!(n("1.0"), n("1.00"));
        assert_eq!(n("1"), n("1.000"));
        assert_eq!(n("0.000"), n("0"));
        let order = [
            "-Infinity",
            "-1000",
            "-999.5",
            "-1.25",
            "-1.2",
            "-1",
            "-0.05",
            "0",
            "0.0012",
            "0.05",
            "0.5",
            "1",
            "1.2",
            "1.25",
            "9",
            "10",
            "10.5",
            "1000",
            "Infinity",
            "NaN",
        ];
        for w in order.windows(2) {
            assert!(n(w[0]) < n(w[1]), "{w:?}");
        }
    }
}
