//! Argument parsing shared by the command families, with Redis's error texts.

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

/// A non-negative integer (COUNT-like arguments), or Redis's "must be positive" error.
pub fn positive(arg: &[u8]) -> Result<i64, Reply> {
    let v = int(arg)?;
    if v < 0 {
        return Err(Reply::err(errors::POSITIVE));
    }
    Ok(v)
}

/// A database index for SELECT/MOVE/SWAPDB/COPY DB.
pub fn db_index(arg: &[u8]) -> Result<usize, Reply> {
    let v = parse_i64_strict(arg).ok_or_else(|| Reply::err(errors::NOT_INTEGER))?;
    if v < 0 || v >= crate::keyspace::DATABASES as i64 {
        return Err(Reply::err(errors::DB_INDEX));
    }
    Ok(v as usize)
}

/// A timeout in seconds for blocking commands (may be fractional), in milliseconds; 0 = forever.
pub fn timeout_ms(arg: &[u8]) -> Result<u64, Reply> {
    let v = parse_f64(arg).ok_or_else(|| Reply::err("ERR timeout is not a float or out of range"))?;
    if v < 0.0 {
        return Err(Reply::err("ERR timeout is negative"));
    }
    if !v.is_finite() || v * 1000.0 > i64::MAX as f64 / 2.0 {
        return Err(Reply::err("ERR timeout is out of range"));
    }
    Ok((v * 1000.0).round() as u64)
}
