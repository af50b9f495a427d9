//! Arrays: PostgreSQL's text form (`array_in`/`array_out`: `{1,2,NULL}`, quoted elements,
//! `[0:1]={...}` for lower bounds other than 1), binary form (`array_recv`/`array_send`: the
//! dimension count, a has-NULLs flag, the element OID, each dimension's length and lower
//! bound, then each element as a length (-1 for NULL) and its binary form), comparison
//! (`array_cmp`: element by element, NULL elements after values, then the element count, the
//! dimensions and lower bounds), casts element by element, and the array operators and
//! functions of PostgreSQL 15 (<https://www.postgresql.org/docs/15/functions-array.html>).

use crate::error::{code, Result, SqlError};
use crate::expr::{compare as compare_datum, CmpOp};
use crate::types;
use orbit_engine::table::array::MAX_DIMS;
use orbit_engine::table::{ArrayDim, ArrayValue, Datum, SqlType};
use std::cmp::Ordering;

/// PostgreSQL's MaxArraySize: the most elements an array may have.
pub const MAX_ITEMS: usize = (1 << 30) / 8 - 1;

fn malformed(s: &str, detail: impl Into<String>) -> SqlError {
    SqlError::new(code::INVALID_TEXT_REPRESENTATION, format!("malformed array literal: \"{s}\"")).detail(detail)
}

fn too_many() -> SqlError {
    SqlError::new("54000", format!("array size exceeds the maximum allowed ({MAX_ITEMS})"))
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}')
}

/// One element as read: its text (escapes removed) and whether it was quoted (a quoted
/// `"NULL"` is the string, not NULL).
enum Item {
    Value(String, bool),
    Sub(Vec<Item>),
}

struct Parser<'a> {
    src: &'a str,
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    count: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.chars.peek().is_some_and(|c| is_space(*c)) {
            self.chars.next();
        }
    }

    fn unexpected(&self, c: char) -> SqlError {
        malformed(self.src, format!("Unexpected \"{c}\" character."))
    }

    fn eof(&self) -> SqlError {
        malformed(self.src, "Unexpected end of input.")
    }

    /// After the opening brace: the items up to the closing one.
    fn list(&mut self, depth: usize) -> Result<Vec<Item>> {
        if depth > MAX_DIMS {
            return Err(SqlError::new(
                "54000",
                format!("number of array dimensions ({}) exceeds the maximum allowed ({MAX_DIMS})", depth),
            ));
        }
        let mut items = Vec::new();
        self.skip_space();
        if self.chars.peek() == Some(&'}') {
            self.chars.next();
            return Ok(items);
        }
        loop {
            self.skip_space();
            match self.chars.peek().copied() {
                None => return Err(self.eof()),
                Some('{') => {
                    self.chars.next();
                    items.push(Item::Sub(self.list(depth + 1)?));
                }
                Some(c @ ('}' | ',')) => return Err(self.unexpected(c)),
                Some(_) => items.push(self.element()?),
            }
            self.count += 1;
            if self.count > MAX_ITEMS {
                return Err(too_many());
            }
            self.skip_space();
            match self.chars.next() {
                Some(',') => continue,
                Some('}') => return Ok(items),
                Some(c) => return Err(self.unexpected(c)),
                None => return Err(self.eof()),
            }
        }
    }

    fn element(&mut self) -> Result<Item> {
        let mut s = String::new();
        let mut quoted = false;
        // Trailing unquoted, unescaped spaces are not part of the element.
        let mut keep = 0;
        loop {
            match self.chars.peek().copied() {
                None => return Err(self.eof()),
                Some('"') => {
                    self.chars.next();
                    quoted = true;
                    loop {
                        match self.chars.next() {
                            None => return Err(self.eof()),
                            Some('"') => break,
                            Some('\\') => s.push(self.chars.next().ok_or_else(|| self.eof())?),
                            Some(c) => s.push(c),
                        }
                    }
                    keep = s.len();
                }
                Some('\\') => {
                    self.chars.next();
                    s.push(self.chars.next().ok_or_else(|| self.eof())?);
                    keep = s.len();
                }
                Some(',' | '}') => break,
                Some(c @ '{') => return Err(self.unexpected(c)),
                Some(c) => {
                    self.chars.next();
                    s.push(c);
                    if !is_space(c) {
                        keep = s.len();
                    }
                }
            }
        }
        s.truncate(keep);
        Ok(Item::Value(s, quoted))
    }
}

/// Reads `[lo:hi][lo:hi]=` before the braces.
fn parse_dims(src: &str, s: &str) -> Result<(Vec<ArrayDim>, usize)> {
    let mut dims = Vec::new();
    let mut rest = s;
    loop {
        let t = rest.trim_start_matches(is_space);
        let Some(body) = t.strip_prefix('[') else { break };
        let end = body.find(']').ok_or_else(|| malformed(src, "Missing \"]\" after array dimensions."))?;
        let spec = &body[..end];
        let (lo, hi) = match spec.split_once(':') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => ("1", spec.trim()),
        };
        let lo: i32 =
            lo.parse().map_err(|_| malformed(src, "\"[\" must introduce explicitly-specified array dimensions."))?;
        let hi: i32 = hi.parse().map_err(|_| malformed(src, "Missing array dimension value."))?;
        if hi < lo {
            return Err(SqlError::new(
                code::INVALID_TEXT_REPRESENTATION,
                "upper bound cannot be less than lower bound",
            ));
        }
        let len = (hi as i64 - lo as i64 + 1) as u32;
        dims.push(ArrayDim { len, lower: lo });
        rest = &body[end + 1..];
        if dims.len() > MAX_DIMS {
            return Err(SqlError::new(
                "54000",
                format!("number of array dimensions ({}) exceeds the maximum allowed ({MAX_DIMS})", dims.len()),
            ));
        }
    }
    if dims.is_empty() {
        return Ok((dims, 0));
    }
    let t = rest.trim_start_matches(is_space);
    let Some(t) = t.strip_prefix('=') else {
        return Err(malformed(src, "Missing \"=\" after array dimensions."));
    };
    Ok((dims, s.len() - t.len()))
}

/// Parses an array's text form with elements of type `elem` (PostgreSQL's `array_in`).
pub fn parse_text(elem: SqlType, src: &str) -> Result<ArrayValue> {
    parse_text_by(elem, src, &|s| types::parse_text(elem, s))
}

/// [`parse_text`] with each element's text read by `parse` (a session's style:
/// [`types::parse_text_in`]).
pub fn parse_text_by(elem: SqlType, src: &str, parse: &dyn Fn(&str) -> Result<Datum>) -> Result<ArrayValue> {
    let (given, at) = parse_dims(src, src)?;
    let body = src[at..].trim_start_matches(is_space);
    let Some(inner) = body.strip_prefix('{') else {
        return Err(malformed(src, "Array value must start with \"{\" or dimension information."));
    };
    let mut p = Parser { src, chars: inner.chars().peekable(), count: 0 };
    let items = p.list(1)?;
    p.skip_space();
    if p.chars.next().is_some() {
        return Err(malformed(src, "Junk after closing right brace."));
    }
    // The shape: every list at one depth has the same length, and values sit only at the
    // deepest level.
    let mut lens: Vec<u32> = Vec::new();
    fn shape(items: &[Item], depth: usize, lens: &mut Vec<u32>, src: &str) -> Result<()> {
        let mismatch = || malformed(src, "Multidimensional arrays must have sub-arrays with matching dimensions.");
        if lens.len() == depth {
            lens.push(items.len() as u32);
        } else if lens[depth] != items.len() as u32 {
            return Err(mismatch());
        }
        let subs = items.iter().filter(|i| matches!(i, Item::Sub(_))).count();
        if subs != 0 && subs != items.len() {
            return Err(mismatch());
        }
        for i in items {
            if let Item::Sub(s) = i {
                shape(s, depth + 1, lens, src)?;
            } else if depth + 1 < lens.len() {
                return Err(mismatch());
            }
        }
        Ok(())
    }
    shape(&items, 0, &mut lens, src)?;
    let mut values = Vec::new();
    fn flatten(items: Vec<Item>, parse: &dyn Fn(&str) -> Result<Datum>, out: &mut Vec<Datum>) -> Result<()> {
        for i in items {
            match i {
                Item::Sub(s) => flatten(s, parse, out)?,
                Item::Value(s, false) if s.eq_ignore_ascii_case("NULL") => out.push(Datum::Null),
                Item::Value(s, _) => out.push(parse(&s)?),
            }
        }
        Ok(())
    }
    flatten(items, parse, &mut values)?;
    if values.is_empty() {
        // `{}` (or `{{}}`): an empty array has no dimensions.
        if lens.len() > 1 || lens.first().is_some_and(|l| *l != 0) {
            return Err(malformed(src, "Multidimensional arrays must have sub-arrays with matching dimensions."));
        }
        return Ok(ArrayValue::empty(elem));
    }
    let dims = if given.is_empty() {
        lens.iter().map(|&len| ArrayDim { len, lower: 1 }).collect()
    } else {
        let matches = given.len() == lens.len() && given.iter().zip(&lens).all(|(d, l)| d.len == *l);
        if !matches {
            return Err(malformed(src, "Specified array dimensions do not match array contents."));
        }
        given
    };
    Ok(ArrayValue { elem, dims, items: values })
}

/// Whether an element's text needs double quotes in an array's text form.
fn needs_quotes(s: &str) -> bool {
    s.is_empty()
        || s.eq_ignore_ascii_case("NULL")
        || s.chars().any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || is_space(c))
}

/// An array's text form (PostgreSQL's `array_out`).
pub fn to_text(a: &ArrayValue) -> String {
    // PostgreSQL's int2vector (pg_index.indkey, which pg_dump parses) is an int2 array
    // subscripted from 0 that prints its numbers separated by spaces; Orbit has no int2vector
    // type, so such an array prints that way (a user's int2 array from 0 prints so too).
    if let ([d], SqlType::Int2) = (a.dims.as_slice(), a.elem) {
        if d.lower == 0 && a.items.iter().all(|i| !i.is_null()) {
            let nums: Vec<String> = a.items.iter().filter_map(crate::types::to_text).collect();
            return nums.join(" ");
        }
    }
    let mut out = String::new();
    if a.dims.iter().any(|d| d.lower != 1) {
        for d in &a.dims {
            out.push_str(&format!("[{}:{}]", d.lower, d.lower as i64 + d.len as i64 - 1));
        }
        out.push('=');
    }
    if a.items.is_empty() {
        out.push_str("{}");
        return out;
    }
    let lens: Vec<usize> = a.dims.iter().map(|d| d.len as usize).collect();
    let mut idx = 0;
    fn write(out: &mut String, a: &ArrayValue, lens: &[usize], idx: &mut usize) {
        out.push('{');
        for i in 0..lens[0] {
            if i > 0 {
                out.push(',');
            }
            if lens.len() > 1 {
                write(out, a, &lens[1..], idx);
                continue;
            }
            match a.items.get(*idx).and_then(types::to_text) {
                None => out.push_str("NULL"),
                Some(s) if needs_quotes(&s) => {
                    out.push('"');
                    for c in s.chars() {
                        if c == '"' || c == '\\' {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                    out.push('"');
                }
                Some(s) => out.push_str(&s),
            }
            *idx += 1;
        }
        out.push('}');
    }
    write(&mut out, a, &lens, &mut idx);
    out
}

/// An array's binary form (PostgreSQL's `array_send`).
pub fn to_binary(a: &ArrayValue) -> Vec<u8> {
    let mut b = Vec::with_capacity(12 + a.dims.len() * 8 + a.items.len() * 8);
    b.extend_from_slice(&(a.dims.len() as i32).to_be_bytes());
    b.extend_from_slice(&(a.items.iter().any(Datum::is_null) as i32).to_be_bytes());
    b.extend_from_slice(&a.elem.oid().to_be_bytes());
    for d in &a.dims {
        b.extend_from_slice(&(d.len as i32).to_be_bytes());
        b.extend_from_slice(&d.lower.to_be_bytes());
    }
    for d in &a.items {
        match types::to_binary_as(a.elem, d) {
            None => b.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(v) => {
                b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                b.extend_from_slice(&v);
            }
        }
    }
    b
}

/// Reads an array's binary form with elements of type `elem` (PostgreSQL's `array_recv`); `n`
/// is the 1-based parameter number for the error message.
pub fn from_binary(elem: SqlType, b: &[u8], n: usize) -> Result<ArrayValue> {
    let bad = || {
        SqlError::new(
            code::INVALID_BINARY_REPRESENTATION,
            format!("incorrect binary data format in bind parameter {n}"),
        )
    };
    let mut at = 0usize;
    fn i32_at(b: &[u8], at: &mut usize, bad: impl Fn() -> SqlError) -> Result<i32> {
        let v = b.get(*at..*at + 4).ok_or_else(bad)?;
        *at += 4;
        Ok(i32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    }
    let ndims = i32_at(b, &mut at, bad)?;
    let flags = i32_at(b, &mut at, bad)?;
    let oid = i32_at(b, &mut at, bad)? as u32;
    if !(0..=MAX_DIMS as i32).contains(&ndims) {
        return Err(SqlError::new(
            code::INVALID_BINARY_REPRESENTATION,
            format!("invalid number of dimensions: {ndims}"),
        ));
    }
    if flags != 0 && flags != 1 {
        return Err(SqlError::new(code::INVALID_BINARY_REPRESENTATION, "invalid array flags"));
    }
    if oid != elem.oid() {
        return Err(SqlError::new(code::DATATYPE_MISMATCH, "wrong element type"));
    }
    let mut dims = Vec::with_capacity(ndims as usize);
    let mut count: u64 = 1;
    for _ in 0..ndims {
        let len = i32_at(b, &mut at, bad)?;
        let lower = i32_at(b, &mut at, bad)?;
        if len < 0 || (lower as i64 + len as i64 - 1) > i32::MAX as i64 {
            return Err(SqlError::new("54000", "array size exceeds the maximum allowed"));
        }
        count = count.saturating_mul(len as u64);
        dims.push(ArrayDim { len: len as u32, lower });
    }
    if ndims == 0 || count == 0 {
        return Ok(ArrayValue::empty(elem));
    }
    // Each element takes at least its 4-byte length: more than the bytes can hold is bad.
    if count > MAX_ITEMS as u64 || count > (b.len().saturating_sub(at) / 4) as u64 {
        return Err(bad());
    }
    let mut items = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let len = i32_at(b, &mut at, bad)?;
        if len == -1 {
            items.push(Datum::Null);
            continue;
        }
        if len < 0 {
            return Err(bad());
        }
        let v = b.get(at..at + len as usize).ok_or_else(bad)?;
        at += len as usize;
        items.push(types::from_binary(elem, v, n)?);
    }
    if at != b.len() {
        return Err(bad());
    }
    Ok(ArrayValue { elem, dims, items })
}

/// PostgreSQL's array order (`array_cmp`): elements in storage order (two NULLs equal, a NULL
/// after any value), then the element count, the dimension count, the lengths and the lower
/// bounds. Equal arrays (`array_eq`) are those this calls equal.
pub fn compare(a: &ArrayValue, b: &ArrayValue) -> Ordering {
    for (x, y) in a.items.iter().zip(&b.items) {
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => compare_datum(x, y).unwrap_or(Ordering::Equal),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.items.len().cmp(&b.items.len()).then(a.dims.len().cmp(&b.dims.len())).then_with(|| {
        for (x, y) in a.dims.iter().zip(&b.dims) {
            let o = x.len.cmp(&y.len).then(x.lower.cmp(&y.lower));
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    })
}

/// Casts every element to `to` (array to array casts go element by element).
pub fn cast(a: ArrayValue, to: SqlType, explicit: bool) -> Result<ArrayValue> {
    let items = a.items.into_iter().map(|d| types::cast(d, to, explicit)).collect::<Result<Vec<_>>>()?;
    Ok(ArrayValue { elem: to, dims: a.dims, items })
}

/// The array functions and operators, evaluated by [`call`]. The binder has coerced the
/// arguments: arrays to one array type, elements to its element type, positions to int4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayFn {
    /// `ARRAY[...]` with elements of this type (arrays for a multi-dimensional one).
    Construct(SqlType),
    /// `a[i][j]...`: one int4 per subscript after the array.
    Subscript,
    /// `a[lo:hi]` on the first dimension; each bound given or not (then only the array and
    /// the given bounds are arguments).
    Slice(bool, bool),
    /// `x op ANY (array)` (false) or `x op ALL (array)` (true).
    Quantified(CmpOp, bool),
    /// `x ~ ANY (patterns)` and the other regular expression operators with ANY / ALL, or
    /// (`like`) `x ~~ ANY (patterns)`, PostgreSQL's `x LIKE ANY (...)`, and the other LIKE ones.
    QuantifiedRegex {
        like: bool,
        ci: bool,
        negated: bool,
        all: bool,
    },
    /// `@>`, `<@`, `&&`.
    Contains,
    ContainedBy,
    Overlaps,
    /// array_cat / `array || array`, with the element type.
    Cat(SqlType),
    /// array_append / `array || element`.
    Append(SqlType),
    /// array_prepend / `element || array`.
    Prepend(SqlType),
    /// array_length(a, dim), array_upper, array_lower (int4 dims).
    Length,
    Upper,
    Lower,
    Ndims,
    Dims,
    Cardinality,
    /// array_position(a, x [, start]).
    Position,
    /// array_positions(a, x).
    Positions,
    /// array_remove(a, x).
    Remove,
    /// array_replace(a, from, to).
    Replace,
    /// array_to_string(a, delimiter [, null text]).
    ToString,
    /// string_to_array(text, delimiter [, null text]).
    FromString,
    /// `UPDATE ... SET a[i] = x`: the array (of this element type) with element i set
    /// (array, i, x).
    Assign(SqlType),
    /// `UPDATE ... SET a[lo:hi] = xs`: the array with elements lo..hi set from xs.
    AssignSlice(SqlType),
}

impl ArrayFn {
    /// Whether a NULL argument makes the result NULL without calling the function.
    pub fn strict(self) -> bool {
        !matches!(
            self,
            ArrayFn::Construct(_)
                | ArrayFn::Quantified(..)
                | ArrayFn::QuantifiedRegex { .. }
                | ArrayFn::Cat(_)
                | ArrayFn::Append(_)
                | ArrayFn::Prepend(_)
                | ArrayFn::Position
                | ArrayFn::Positions
                | ArrayFn::Remove
                | ArrayFn::Replace
                | ArrayFn::ToString
                | ArrayFn::FromString
                | ArrayFn::Assign(_)
                | ArrayFn::AssignSlice(_)
        )
    }
}

fn arr(d: &Datum) -> Option<&ArrayValue> {
    match d {
        Datum::Array(a) => Some(a),
        _ => None,
    }
}

fn int(d: Option<&Datum>) -> Option<i64> {
    d.and_then(Datum::as_i64)
}

fn datum(a: ArrayValue) -> Datum {
    Datum::Array(Box::new(a))
}

/// Values are "not distinct" (array_position, array_remove and @> compare this way: NULL
/// matches NULL for the first two).
fn same(a: &Datum, b: &Datum) -> bool {
    match (a.is_null(), b.is_null()) {
        (true, true) => true,
        (false, false) => compare_datum(a, b) == Some(Ordering::Equal),
        _ => false,
    }
}

fn one_dim_only(what: &str) -> SqlError {
    SqlError::new(code::FEATURE_NOT_SUPPORTED, format!("{what} for multidimensional arrays is not supported"))
}

fn bounded(items: &[Datum]) -> Result<()> {
    if items.len() > MAX_ITEMS {
        return Err(too_many());
    }
    Ok(())
}

/// `ARRAY[...]`: scalars make a one-dimensional array; arrays (all of one shape) make one
/// more dimension (PostgreSQL's ExecEvalArrayExpr).
fn construct(elem: SqlType, args: Vec<Datum>) -> Result<Datum> {
    let SqlType::Array(inner) = elem else {
        bounded(&args)?;
        return Ok(datum(ArrayValue::from_items(elem, args)));
    };
    let mut shape: Option<Vec<ArrayDim>> = None;
    let mut items = Vec::new();
    let mut subs = 0u32;
    for a in args {
        let Datum::Array(a) = a else {
            // NULL sub-arrays are skipped, as PostgreSQL does.
            continue;
        };
        if a.items.is_empty() {
            continue;
        }
        match &shape {
            None => shape = Some(a.dims.clone()),
            Some(s) if *s == a.dims => {}
            Some(_) => {
                return Err(SqlError::new(
                    "2202E",
                    "multidimensional arrays must have array expressions with matching dimensions",
                ))
            }
        }
        subs += 1;
        items.extend(a.items);
        bounded(&items)?;
    }
    let Some(shape) = shape else { return Ok(datum(ArrayValue::empty(inner.elem()))) };
    if shape.len() + 1 > MAX_DIMS {
        return Err(SqlError::new(
            "54000",
            format!("number of array dimensions ({}) exceeds the maximum allowed ({MAX_DIMS})", shape.len() + 1),
        ));
    }
    let mut dims = vec![ArrayDim { len: subs, lower: 1 }];
    dims.extend(shape);
    Ok(datum(ArrayValue { elem: inner.elem(), dims, items }))
}

/// The element at 1-based... subscripts (as the dimensions' lower bounds say); NULL outside.
fn subscript(a: &ArrayValue, idx: &[i64]) -> Datum {
    if idx.len() != a.dims.len() {
        return Datum::Null;
    }
    let mut offset: u64 = 0;
    for (d, &i) in a.dims.iter().zip(idx) {
        let rel = i - d.lower as i64;
        if rel < 0 || rel >= d.len as i64 {
            return Datum::Null;
        }
        offset = offset * d.len as u64 + rel as u64;
    }
    a.items.get(offset as usize).cloned().unwrap_or(Datum::Null)
}

/// A subscript of an assignment: PostgreSQL's 22004 for NULL.
fn assigned_index(d: Option<&Datum>) -> Result<i64> {
    d.and_then(Datum::as_i64).ok_or_else(|| SqlError::new("22004", "array subscript in assignment must not be null"))
}

/// `a[i] = x` (array_set_element for one dimension): a NULL or empty array becomes `[i:i]={x}`;
/// an index outside the bounds extends the array with NULLs to reach it.
fn assign(elem: SqlType, a: &Datum, idx: Option<&Datum>, x: Datum) -> Result<Datum> {
    let i = assigned_index(idx)?;
    let Some(a) = arr(a).filter(|a| !a.items.is_empty()) else {
        let i = i32::try_from(i).map_err(|_| SqlError::new("22003", "array size exceeds the maximum allowed"))?;
        return Ok(datum(ArrayValue { elem, dims: vec![ArrayDim { len: 1, lower: i }], items: vec![x] }));
    };
    if a.dims.len() != 1 {
        return Err(SqlError::new("2202E", "wrong number of array subscripts"));
    }
    let (lower, len) = (a.dims[0].lower as i64, a.dims[0].len as i64);
    let new_lower = lower.min(i);
    let new_upper = (lower + len - 1).max(i);
    let n = usize::try_from(new_upper - new_lower + 1).map_err(|_| too_many())?;
    if n > MAX_ITEMS {
        return Err(too_many());
    }
    let mut items = vec![Datum::Null; n];
    let before = (lower - new_lower) as usize;
    items[before..before + a.items.len()].clone_from_slice(&a.items);
    items[(i - new_lower) as usize] = x;
    let lower = i32::try_from(new_lower).map_err(|_| too_many())?;
    Ok(datum(ArrayValue { elem, dims: vec![ArrayDim { len: n as u32, lower }], items }))
}

/// `a[lo:hi] = xs` (array_set_slice for one dimension): elements lo..hi take xs's first ones
/// (2202E when it has fewer); a NULL or empty array becomes `[lo:hi]={...}`; past the bounds the
/// array is extended with NULLs.
fn assign_slice(elem: SqlType, a: &Datum, lo: Option<&Datum>, hi: Option<&Datum>, xs: Option<&Datum>) -> Result<Datum> {
    let (lo, hi) = (assigned_index(lo)?, assigned_index(hi)?);
    let Some(src) = xs.and_then(arr) else {
        // A NULL source leaves the array as it was, as PostgreSQL does.
        return Ok(a.clone());
    };
    if hi < lo {
        return Err(SqlError::new("2202E", "upper bound cannot be less than lower bound"));
    }
    let want = usize::try_from(hi - lo + 1).map_err(|_| too_many())?;
    if src.items.len() < want {
        return Err(SqlError::new("2202E", "source array too small"));
    }
    let (mut lower, mut items) = match arr(a).filter(|a| !a.items.is_empty()) {
        None => (lo, Vec::new()),
        Some(a) if a.dims.len() != 1 => {
            return Err(SqlError::new("2202E", "wrong number of array subscripts"));
        }
        Some(a) => (a.dims[0].lower as i64, a.items.clone()),
    };
    let upper = if items.is_empty() { hi } else { (lower + items.len() as i64 - 1).max(hi) };
    let new_lower = lower.min(lo);
    let n = usize::try_from(upper - new_lower + 1).map_err(|_| too_many())?;
    if n > MAX_ITEMS {
        return Err(too_many());
    }
    let mut out = vec![Datum::Null; n];
    if !items.is_empty() {
        let before = (lower - new_lower) as usize;
        out[before..before + items.len()].clone_from_slice(&items);
    }
    lower = new_lower;
    let start = (lo - lower) as usize;
    out[start..start + want].clone_from_slice(&src.items[..want]);
    items = out;
    let lower = i32::try_from(lower).map_err(|_| too_many())?;
    Ok(datum(ArrayValue { elem, dims: vec![ArrayDim { len: items.len() as u32, lower }], items }))
}

/// `a[lo:hi]` on the first dimension (the others whole); the result's bounds start at 1.
fn slice(a: &ArrayValue, lo: Option<i64>, hi: Option<i64>) -> Datum {
    let Some(first) = a.dims.first() else { return datum(ArrayValue::empty(a.elem)) };
    let lo = lo.unwrap_or(first.lower as i64).max(first.lower as i64);
    let hi = hi.unwrap_or(first.lower as i64 + first.len as i64 - 1).min(first.lower as i64 + first.len as i64 - 1);
    if lo > hi {
        return datum(ArrayValue::empty(a.elem));
    }
    let inner: usize = a.dims[1..].iter().map(|d| d.len as usize).product();
    let start = (lo - first.lower as i64) as usize * inner;
    let n = (hi - lo + 1) as usize;
    let items = a.items[start..start + n * inner].to_vec();
    let mut dims = vec![ArrayDim { len: n as u32, lower: 1 }];
    dims.extend(a.dims[1..].iter().map(|d| ArrayDim { len: d.len, lower: d.lower }));
    datum(ArrayValue { elem: a.elem, dims, items })
}

/// `x op ANY/ALL (array)` (PostgreSQL's ExecEvalScalarArrayOp): an empty array gives false
/// for ANY and true for ALL even when x is NULL; else NULL x or a NULL comparison with no
/// deciding one gives NULL.
fn quantified(op: CmpOp, all: bool, x: &Datum, a: &Datum) -> Datum {
    let Some(a) = arr(a) else { return Datum::Null };
    if a.items.is_empty() {
        return Datum::Bool(all);
    }
    if x.is_null() {
        return Datum::Null;
    }
    let mut saw_null = false;
    for item in &a.items {
        match compare_datum(x, item) {
            None => saw_null = true,
            Some(o) => {
                let holds = op.holds(o);
                if holds != all {
                    return Datum::Bool(!all);
                }
            }
        }
    }
    if saw_null {
        Datum::Null
    } else {
        Datum::Bool(all)
    }
}

/// `x ~ ANY / ALL (patterns)` (`ci`: `~*`; `negated`: `!~`, `!~*`): as [`quantified`], each
/// element's match through the shard's regex cache.
fn quantified_regex(like: bool, ci: bool, negated: bool, all: bool, x: &Datum, a: &Datum) -> Result<Datum> {
    let Some(a) = arr(a) else { return Ok(Datum::Null) };
    if a.items.is_empty() {
        return Ok(Datum::Bool(all));
    }
    // character(n) matches LIKE patterns with its padding (bpcharlike).
    let (Datum::Text(s) | Datum::Bpchar(s)) = x else { return Ok(Datum::Null) };
    let folded = if like && ci { Some(s.to_lowercase()) } else { None };
    let mut saw_null = false;
    for item in &a.items {
        let Datum::Text(p) = item else {
            saw_null = true;
            continue;
        };
        let matched = match &folded {
            Some(s) => crate::expr::like(s, &p.to_lowercase())?,
            None if like => crate::expr::like(s, p)?,
            None => crate::scalar::regex_match(s, p, ci)?,
        };
        if (matched != negated) != all {
            return Ok(Datum::Bool(!all));
        }
    }
    Ok(if saw_null { Datum::Null } else { Datum::Bool(all) })
}

/// Whether every non-NULL... element of `a` is in `b` (array_contain_compare: a NULL element
/// matches nothing).
fn contained(a: &ArrayValue, b: &ArrayValue) -> bool {
    a.items.iter().all(|x| !x.is_null() && b.items.iter().any(|y| compare_datum(x, y) == Some(Ordering::Equal)))
}

fn concat(elem: SqlType, a: Option<&ArrayValue>, b: Option<&ArrayValue>) -> Result<Datum> {
    let (a, b) = match (a, b) {
        (None, None) => return Ok(Datum::Null),
        (Some(a), None) => return Ok(datum(a.clone())),
        (None, Some(b)) => return Ok(datum(b.clone())),
        (Some(a), Some(b)) => (a, b),
    };
    if a.items.is_empty() {
        return Ok(datum(ArrayValue { elem, ..b.clone() }));
    }
    if b.items.is_empty() {
        return Ok(datum(ArrayValue { elem, ..a.clone() }));
    }
    let mut items = a.items.clone();
    items.extend(b.items.iter().cloned());
    bounded(&items)?;
    let (na, nb) = (a.dims.len(), b.dims.len());
    let dims = if na == nb {
        // Same dimensions below the first: the first dimensions add up.
        if a.dims[1..].iter().map(|d| d.len).ne(b.dims[1..].iter().map(|d| d.len)) {
            return Err(SqlError::new("2202E", "cannot concatenate incompatible arrays")
                .detail("Arrays with differing element dimensions are not compatible for concatenation."));
        }
        let mut dims = a.dims.clone();
        dims[0].len += b.dims[0].len;
        dims
    } else if na == nb + 1 && a.dims[1..].iter().map(|d| d.len).eq(b.dims.iter().map(|d| d.len)) {
        let mut dims = a.dims.clone();
        dims[0].len += 1;
        dims
    } else if nb == na + 1 && b.dims[1..].iter().map(|d| d.len).eq(a.dims.iter().map(|d| d.len)) {
        let mut dims = b.dims.clone();
        dims[0].len += 1;
        dims
    } else {
        return Err(SqlError::new("2202E", "cannot concatenate incompatible arrays")
            .detail(format!("Arrays of {na} and {nb} dimensions are not compatible for concatenation.")));
    };
    Ok(datum(ArrayValue { elem, dims, items }))
}

/// array_agg's result of type `ty` over `items`: scalars make a one-dimensional array;
/// arrays (of one shape, none NULL or empty) are stacked into one more dimension
/// (PostgreSQL's array_agg_array_transfn).
pub fn aggregate(ty: SqlType, of_arrays: bool, items: Vec<Datum>) -> Result<Datum> {
    let Some(elem) = ty.elem() else { return Err(SqlError::internal("array_agg type")) };
    if !of_arrays {
        return Ok(datum(ArrayValue::from_items(elem, items)));
    }
    let mut shape: Option<Vec<ArrayDim>> = None;
    let mut out = Vec::new();
    let n = items.len();
    for d in items {
        let Datum::Array(a) = d else {
            return Err(SqlError::new("22004", "cannot accumulate null arrays"));
        };
        if a.items.is_empty() {
            return Err(SqlError::new("2202E", "cannot accumulate empty arrays"));
        }
        match &shape {
            None => {
                if a.dims.len() + 1 > MAX_DIMS {
                    return Err(SqlError::new(
                        "54000",
                        format!(
                            "number of array dimensions ({}) exceeds the maximum allowed ({MAX_DIMS})",
                            a.dims.len() + 1
                        ),
                    ));
                }
                shape = Some(a.dims.clone())
            }
            Some(s) if s.iter().map(|d| d.len).eq(a.dims.iter().map(|d| d.len)) => {}
            Some(_) => return Err(SqlError::new("2202E", "cannot accumulate arrays of different dimensionality")),
        }
        out.extend(a.items);
        bounded(&out)?;
    }
    let mut dims = vec![ArrayDim { len: n as u32, lower: 1 }];
    dims.extend(shape.unwrap_or_default());
    Ok(datum(ArrayValue { elem, dims, items: out }))
}

/// Evaluates an array function (NULL arguments of strict ones are handled by the caller).
pub fn call(f: ArrayFn, args: Vec<Datum>) -> Result<Datum> {
    if f.strict() && args.iter().any(Datum::is_null) {
        return Ok(Datum::Null);
    }
    let a0 = args.first().unwrap_or(&Datum::Null);
    let a1 = args.get(1).unwrap_or(&Datum::Null);
    Ok(match f {
        ArrayFn::Construct(elem) => return construct(elem, args),
        ArrayFn::Assign(elem) => return assign(elem, a0, args.get(1), args.get(2).cloned().unwrap_or(Datum::Null)),
        ArrayFn::AssignSlice(elem) => return assign_slice(elem, a0, args.get(1), args.get(2), args.get(3)),
        ArrayFn::Subscript => {
            let Some(a) = arr(a0) else { return Ok(Datum::Null) };
            let idx: Vec<i64> = args[1..].iter().filter_map(Datum::as_i64).collect();
            subscript(a, &idx)
        }
        ArrayFn::Slice(has_lo, has_hi) => {
            let Some(a) = arr(a0) else { return Ok(Datum::Null) };
            let mut rest = args[1..].iter();
            let lo = if has_lo { rest.next().and_then(Datum::as_i64) } else { None };
            let hi = if has_hi { rest.next().and_then(Datum::as_i64) } else { None };
            slice(a, lo, hi)
        }
        ArrayFn::Quantified(op, all) => quantified(op, all, a0, a1),
        ArrayFn::QuantifiedRegex { like, ci, negated, all } => quantified_regex(like, ci, negated, all, a0, a1)?,
        ArrayFn::Contains | ArrayFn::ContainedBy | ArrayFn::Overlaps => {
            let (Some(a), Some(b)) = (arr(a0), arr(a1)) else { return Ok(Datum::Null) };
            Datum::Bool(match f {
                ArrayFn::Contains => contained(b, a),
                ArrayFn::ContainedBy => contained(a, b),
                _ => a
                    .items
                    .iter()
                    .any(|x| !x.is_null() && b.items.iter().any(|y| compare_datum(x, y) == Some(Ordering::Equal))),
            })
        }
        ArrayFn::Cat(elem) => return concat(elem, arr(a0), arr(a1)),
        ArrayFn::Append(elem) | ArrayFn::Prepend(elem) => {
            let (a, x) = if matches!(f, ArrayFn::Append(_)) { (a0, a1) } else { (a1, a0) };
            let mut out = match arr(a) {
                Some(a) => a.clone(),
                None => ArrayValue::empty(elem),
            };
            if out.dims.len() > 1 {
                return Err(SqlError::new("22000", "argument must be empty or one-dimensional array"));
            }
            match out.dims.first_mut() {
                None => out = ArrayValue::from_items(elem, vec![x.clone()]),
                Some(d) => {
                    d.len += 1;
                    if matches!(f, ArrayFn::Append(_)) {
                        out.items.push(x.clone());
                    } else {
                        // The lower bound stays (array_prepend readjusts it to the input's).
                        out.items.insert(0, x.clone());
                    }
                    bounded(&out.items)?;
                }
            }
            datum(out)
        }
        ArrayFn::Length | ArrayFn::Upper | ArrayFn::Lower => {
            let Some(a) = arr(a0) else { return Ok(Datum::Null) };
            let dim = int(args.get(1)).unwrap_or(0);
            if dim < 1 || dim as usize > a.dims.len() {
                return Ok(Datum::Null);
            }
            let d = a.dims[dim as usize - 1];
            Datum::Int4(match f {
                ArrayFn::Length => d.len as i32,
                ArrayFn::Lower => d.lower,
                _ => (d.lower as i64 + d.len as i64 - 1) as i32,
            })
        }
        ArrayFn::Ndims => match arr(a0) {
            Some(a) if !a.dims.is_empty() => Datum::Int4(a.dims.len() as i32),
            _ => Datum::Null,
        },
        ArrayFn::Dims => match arr(a0) {
            Some(a) if !a.dims.is_empty() => Datum::Text(
                a.dims.iter().map(|d| format!("[{}:{}]", d.lower, d.lower as i64 + d.len as i64 - 1)).collect(),
            ),
            _ => Datum::Null,
        },
        ArrayFn::Cardinality => Datum::Int4(arr(a0).map_or(0, |a| a.items.len() as i32)),
        ArrayFn::Position | ArrayFn::Positions => {
            let Some(a) = arr(a0) else { return Ok(Datum::Null) };
            if a.dims.len() > 1 {
                return Err(SqlError::new(
                    code::FEATURE_NOT_SUPPORTED,
                    "searching for elements in multidimensional arrays is not supported",
                ));
            }
            let lower = a.dims.first().map_or(1, |d| d.lower as i64);
            let start = match args.get(2) {
                Some(Datum::Null) => return Err(SqlError::new("22004", "initial position must not be null")),
                Some(d) => d.as_i64().unwrap_or(lower),
                None => lower,
            };
            let found = a
                .items
                .iter()
                .enumerate()
                .map(|(i, v)| (i as i64 + lower, v))
                .filter(|(p, v)| *p >= start && same(v, a1));
            if f == ArrayFn::Position {
                found.map(|(p, _)| Datum::Int4(p as i32)).next().unwrap_or(Datum::Null)
            } else {
                let items: Vec<Datum> = found.map(|(p, _)| Datum::Int4(p as i32)).collect();
                datum(ArrayValue::from_items(SqlType::Int4, items))
            }
        }
        ArrayFn::Remove | ArrayFn::Replace => {
            let Some(a) = arr(a0) else { return Ok(Datum::Null) };
            if a.dims.len() > 1 && f == ArrayFn::Remove {
                return Err(one_dim_only("removing elements"));
            }
            let a2 = args.get(2).unwrap_or(&Datum::Null);
            if f == ArrayFn::Replace {
                let items = a.items.iter().map(|v| if same(v, a1) { a2.clone() } else { v.clone() }).collect();
                return Ok(datum(ArrayValue { elem: a.elem, dims: a.dims.clone(), items }));
            }
            let items: Vec<Datum> = a.items.iter().filter(|v| !same(v, a1)).cloned().collect();
            if items.len() == a.items.len() {
                return Ok(datum(a.clone()));
            }
            datum(ArrayValue::from_items(a.elem, items))
        }
        ArrayFn::ToString => {
            let (Some(a), Datum::Text(delim)) = (arr(a0), a1) else { return Ok(Datum::Null) };
            let null_text = args.get(2).and_then(Datum::as_str);
            let mut out = String::new();
            let mut first = true;
            for v in &a.items {
                let t = match types::to_text(v) {
                    Some(t) => t,
                    None => match null_text {
                        Some(n) => n.to_string(),
                        None => continue,
                    },
                };
                if !first {
                    out.push_str(delim);
                }
                first = false;
                out.push_str(&t);
                if out.len() > (1 << 30) {
                    return Err(SqlError::new("54000", "requested length too large"));
                }
            }
            Datum::Text(out)
        }
        ArrayFn::FromString => {
            let Datum::Text(s) = a0 else { return Ok(Datum::Null) };
            let null_text = args.get(2).and_then(Datum::as_str);
            let parts: Vec<String> = match a1 {
                _ if s.is_empty() => vec![],
                // A NULL delimiter splits into characters; an empty one keeps the whole text.
                Datum::Null => s.chars().map(String::from).collect(),
                Datum::Text(d) if d.is_empty() => vec![s.clone()],
                Datum::Text(d) => s.split(d.as_str()).map(str::to_string).collect(),
                _ => return Ok(Datum::Null),
            };
            let items: Vec<Datum> = parts
                .into_iter()
                .map(|p| if Some(p.as_str()) == null_text { Datum::Null } else { Datum::Text(p) })
                .collect();
            bounded(&items)?;
            datum(ArrayValue::from_items(SqlType::Text, items))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(ty: SqlType, s: &str) -> String {
        to_text(&parse_text(ty, s).expect(s))
    }

    #[test]
    fn text_form_as_postgresql() {
        assert_eq!(text(SqlType::Int4, "{1, 2 ,NULL}"), "{1,2,NULL}");
        assert_eq!(text(SqlType::Int4, " { } "), "{}");
        assert_eq!(
            text(SqlType::Text, r#"{a,"b c","",null,"NULL","x\"y",\,}"#),
            r#"{a,"b c","",NULL,"NULL","x\"y",","}"#
        );
        assert_eq!(text(SqlType::Int4, "{{1,2},{3,4}}"), "{{1,2},{3,4}}");
        assert_eq!(text(SqlType::Int4, "[0:1]={5,6}"), "[0:1]={5,6}");
        assert_eq!(text(SqlType::Text, "{  a b  }"), "{\"a b\"}");
        for bad in ["", "1", "{1", "{{1},2}", "{{1},{2,3}}", "{1}x", "{,}", "[1:2]={1}"] {
            let e = parse_text(SqlType::Int4, bad).expect_err(bad);
            assert_eq!(e.code, code::INVALID_TEXT_REPRESENTATION, "{bad}");
        }
    }

    #[test]
    fn binary_form_reads_back() {
        let a = parse_text(SqlType::Text, "{a,NULL,\"\"}").expect("parses");
        let b = to_binary(&a);
        assert_eq!(&b[..12], &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 25]);
        assert_eq!(from_binary(SqlType::Text, &b, 1).expect("reads"), a);
        assert!(from_binary(SqlType::Int4, &b, 1).is_err());
        for cut in 0..b.len() {
            assert!(from_binary(SqlType::Text, &b[..cut], 1).is_err());
        }
    }

    #[test]
    fn order_as_array_cmp() {
        let p = |s: &str| parse_text(SqlType::Int4, s).expect(s);
        let order = ["{}", "{1}", "{1,2}", "{1,NULL}", "{2}"];
        for w in order.windows(2) {
            assert_eq!(compare(&p(w[0]), &p(w[1])), Ordering::Less, "{w:?}");
        }
        assert_eq!(compare(&p("{1,NULL}"), &p("{1,NULL}")), Ordering::Equal);
    }
}
