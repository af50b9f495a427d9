//! Argument parsing shared by the command families, with Redis's error texts.

use crate::redis::float::string2ld;
use crate::reply::{errors, Reply};
use crate::value::{parse_f64, parse_i64_strict};

/// Case-insensitive comparison of an argument with an ASCII keyword.
#[inline]
pub fn is(arg: &[u8], kw: &str) -> bool {
    arg.eq_ignore_ascii_case(kw.as_bytes())
}

/// An integer argument, or `ERR value is not an integer or out of range`.
pub fn int(arg: &[u8]) -> Result<i64, Reply> {
    parse_i64_strict(arg).ok_or_else(|| Reply::err(errors::NOT_INTEGER))
}

/// A float argument, or `ERR value is not a valid float`.
pub fn float(arg: &[u8]) -> Result<f64, Reply> {
    parse_f64(arg).ok_or_else(|| Reply::err(errors::NOT_FLOAT))
}

/// A non-negative integer (COUNT-like arguments), as Redis's `getPositiveLongFromObjectOrReply`
/// reads it: anything else, not a number at all included, is "must be positive".
pub fn positive(arg: &[u8]) -> Result<i64, Reply> {
    match parse_i64_strict(arg) {
        Some(v) if v >= 0 => Ok(v),
        _ => Err(Reply::err(errors::POSITIVE)),
    }
}

/// A database index for SELECT/MOVE/SWAPDB/COPY DB.
pub fn db_index(arg: &[u8]) -> Result<usize, Reply> {
    let v = parse_i64_strict(arg).ok_or_else(|| Reply::err(errors::NOT_INTEGER))?;
    if v < 0 || v >= crate::keyspace::DATABASES as i64 {
        return Err(Reply::err(errors::DB_INDEX));
    }
    Ok(v as usize)
}

/// A timeout in seconds for blocking commands, in milliseconds from now; 0 = forever.
///
/// As Redis 7.0's `getTimeoutFromObjectOrReply`: the seconds are a C `long double`, times 1000
/// rounded up to a `long long` (so `0.0001` is 1 ms, and anything in `(-0.001, 0]` is 0, i.e.
/// forever; a value past the range of `long long` turns into `LLONG_MIN`, hence "negative").
/// A deadline past `LLONG_MAX` wraps in Redis and never fires: forever here.
pub fn timeout_ms(arg: &[u8]) -> Result<u64, Reply> {
    let v = string2ld(arg).ok_or_else(|| Reply::err("ERR timeout is not a float or out of range"))?;
    let ms = v.mul_u64(1000).ceil_to_i64();
    if ms < 0 {
        return Err(Reply::err("ERR timeout is negative"));
    }
    if ms > i64::MAX - crate::keyspace::now_ms() as i64 {
        return Ok(0);
    }
    Ok(ms as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_as_redis_reads_them() {
        assert_eq!(timeout_ms(b"1.5"), Ok(1500));
        assert_eq!(timeout_ms(b"0.0001"), Ok(1));
        assert_eq!(timeout_ms(b"-0.0001"), Ok(0));
        assert_eq!(timeout_ms(b"0x10"), Ok(16000));
        assert_eq!(timeout_ms(b"-1"), Err(Reply::err("ERR timeout is negative")));
        assert_eq!(timeout_ms(b"1e400"), Err(Reply::err("ERR timeout is negative")));
        assert_eq!(timeout_ms(b"inf"), Err(Reply::err("ERR timeout is negative")));
        assert_eq!(timeout_ms(b"9223372036854775"), Ok(0));
        assert_eq!(timeout_ms(b"abc"), Err(Reply::err("ERR timeout is not a float or out of range")));
        assert_eq!(timeout_ms(b"nan"), Err(Reply::err("ERR timeout is not a float or out of range")));
    }
}
