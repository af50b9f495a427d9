//! PostgreSQL 15's bytea functions beyond `||`, encode/decode, get_byte/set_byte and the
//! digests ([`crate::text_fns`]): substr/substring, btrim/ltrim/rtrim, overlay, get_bit/set_bit,
//! bit_count and `[NOT] LIKE` on bytea, with PostgreSQL's results and errors (varlena.c's
//! bytea_substring, byteatrim, byteaoverlay, byteaGetBit, byteaSetBit, bytea_bit_count and
//! like.c's bytealike, <https://www.postgresql.org/docs/15/functions-binarystring.html>).
//! The binder (`bind/functions.rs`, `bind.rs` for LIKE) has coerced the arguments to the
//! types each variant lists.

use crate::error::{code, Result, SqlError};
use crate::text_fns::{bytes, int};
use orbit_engine::table::Datum;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteaFn {
    /// (bytea, start int4 [, count int4]) -> bytea.
    Substr,
    /// (bytea, set bytea) -> bytea: the bytes of the set cut from the start, the end or both.
    Trim { start: bool, end: bool },
    /// (bytea, placing bytea, from int4 [, for int4]) -> bytea.
    Overlay,
    /// (bytea, n int8) -> int4: bit n (bit n % 8 of byte n / 8, from the low bit).
    GetBit,
    /// (bytea, n int8, value int4) -> bytea.
    SetBit,
    /// bytea -> int8: how many bits are set.
    BitCount,
    /// (bytea, pattern bytea [, escape bytea]) -> bool: `[NOT] LIKE`, byte by byte.
    Like { negated: bool },
}

fn negative_length() -> SqlError {
    SqlError::new("22011", "negative substring length not allowed")
}

/// bytea_substring: the bytes at 1-based positions `start` .. `start + count` (to the end when
/// `count` is None or the sum overflows int4), clipped to the value.
fn substring(b: &[u8], start: i64, count: Option<i64>) -> Result<Vec<u8>> {
    let end = match count {
        Some(n) if n < 0 => return Err(negative_length()),
        Some(n) => i32::try_from(start + n).ok().map(i64::from),
        None => None,
    };
    let from = (start.max(1) - 1).min(b.len() as i64) as usize;
    let to = match end {
        Some(e) if e <= 1 => return Ok(Vec::new()),
        Some(e) => ((e - 1).min(b.len() as i64) as usize).max(from),
        None => b.len(),
    };
    Ok(b[from..to].to_vec())
}

pub fn call(f: ByteaFn, args: &[Datum]) -> Result<Datum> {
    if args.iter().any(Datum::is_null) {
        return Ok(Datum::Null);
    }
    let a = |i: usize| args.get(i).unwrap_or(&Datum::Null);
    Ok(match f {
        ByteaFn::Substr => Datum::Bytea(substring(bytes(a(0)), int(a(1)), args.get(2).map(int))?),
        ByteaFn::Trim { start, end } => {
            let (mut b, set) = (bytes(a(0)), bytes(a(1)));
            if start {
                while let [first, rest @ ..] = b {
                    if !set.contains(first) {
                        break;
                    }
                    b = rest;
                }
            }
            if end {
                while let [rest @ .., last] = b {
                    if !set.contains(last) {
                        break;
                    }
                    b = rest;
                }
            }
            Datum::Bytea(b.to_vec())
        }
        ByteaFn::Overlay => {
            let (b, placing) = (bytes(a(0)), bytes(a(1)));
            let start = int(a(2));
            let count = args.get(3).map_or(placing.len() as i64, int);
            // The spec defines OVERLAY by SUBSTRING: a start before 1 is a negative length.
            if start <= 0 {
                return Err(negative_length());
            }
            let after = i32::try_from(start + count)
                .map_err(|_| SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range"))?;
            let mut out = substring(b, 1, Some(start - 1))?;
            out.extend_from_slice(placing);
            out.extend(substring(b, i64::from(after), None)?);
            Datum::Bytea(out)
        }
        ByteaFn::GetBit | ByteaFn::SetBit => {
            let mut b = bytes(a(0)).to_vec();
            let n = int(a(1));
            let bits = b.len() as i64 * 8;
            if n < 0 || n >= bits {
                return Err(SqlError::new("2202E", format!("index {n} out of valid range, 0..{}", bits - 1)));
            }
            let (byte, bit) = ((n / 8) as usize, n % 8);
            if f == ByteaFn::GetBit {
                Datum::Int4(i32::from((b[byte] >> bit) & 1))
            } else {
                let v = int(a(2));
                if v != 0 && v != 1 {
                    return Err(SqlError::new("22023", "new bit must be 0 or 1"));
                }
                b[byte] = (b[byte] & !(1 << bit)) | ((v as u8) << bit);
                Datum::Bytea(b)
            }
        }
        ByteaFn::BitCount => Datum::Int8(bytes(a(0)).iter().map(|x| i64::from(x.count_ones())).sum()),
        ByteaFn::Like { negated } => {
            // Each byte as the character of that code point, so the text matcher compares
            // byte for byte (and `_` is one byte).
            let chars = |b: &[u8]| b.iter().map(|&x| char::from(x)).collect::<String>();
            let (s, mut p) = (chars(bytes(a(0))), chars(bytes(a(1))));
            if let Some(e) = args.get(2) {
                p = crate::scalar::like_escape(&p, &chars(bytes(e)))?;
            }
            Datum::Bool(crate::expr::like(&s, &p)? != negated)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &[u8]) -> Datum {
        Datum::Bytea(s.to_vec())
    }

    #[test]
    fn substrings_clip_as_postgres() {
        let s = |start, count| substring(b"string", start, count).unwrap();
        assert_eq!(s(2, Some(2_147_483_646)), b"tring");
        assert_eq!(s(-10, Some(2_147_483_646)), b"string");
        assert_eq!(s(-1, Some(5)), b"str");
        assert_eq!(s(99, None), b"");
        assert_eq!(substring(b"x", -10, Some(-2_147_483_646)).unwrap_err().code, "22011");
    }

    #[test]
    fn bits_and_trims() {
        let v = b(b"\x12\x34\x56\x78\x90\xab\xcd\xef\x00");
        assert_eq!(call(ByteaFn::GetBit, &[v.clone(), Datum::Int8(43)]).unwrap(), Datum::Int4(1));
        assert_eq!(
            call(ByteaFn::SetBit, &[v.clone(), Datum::Int8(43), Datum::Int4(0)]).unwrap(),
            b(b"\x12\x34\x56\x78\x90\xa3\xcd\xef\x00")
        );
        assert_eq!(
            call(ByteaFn::GetBit, &[v, Datum::Int8(99)]).unwrap_err().message,
            "index 99 out of valid range, 0..71"
        );
        let t = call(ByteaFn::Trim { start: true, end: false }, &[b(b"\0Tom\0"), b(b"\0")]).unwrap();
        assert_eq!(t, b(b"Tom\0"));
        assert_eq!(call(ByteaFn::BitCount, &[b(b"\x12\x34\x56\x78\x90")]).unwrap(), Datum::Int8(15));
    }

    #[test]
    fn like_on_bytes() {
        let like = |s: &[u8], p: &[u8]| call(ByteaFn::Like { negated: false }, &[b(s), b(p)]).unwrap();
        assert_eq!(like(b"abc", b"_b_"), Datum::Bool(true));
        assert_eq!(like(b"\xff\x00", b"__"), Datum::Bool(true));
        let esc = call(ByteaFn::Like { negated: false }, &[b(b"a_c"), b(b"a$__"), b(b"$")]).unwrap();
        assert_eq!(esc, Datum::Bool(true));
    }
}
