//! json and jsonb: a small JSON parser with PostgreSQL's rules and errors (json keeps the text
//! as written; jsonb keeps the text PostgreSQL prints for it: keys ordered shortest first then
//! bytewise, the last of duplicate keys kept, `", "` and `": "` separators, numbers as
//! PostgreSQL's numeric prints them), and the `->` / `->>` operators.

use crate::error::{code, Result, SqlError};
use std::cmp::Ordering;

pub mod ops;
pub mod path;
pub mod path_eval;

/// Nesting deeper than this is refused with 54001, as PostgreSQL refuses at its stack depth
/// limit (which allows thousands of levels): parsing, normalizing and printing recurse, and 256
/// levels fit in 1 MiB of stack in an unoptimized build (a shard thread has 2 MiB).
const MAX_DEPTH: usize = 256;

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Bool(bool),
    /// As written.
    Number(String),
    /// Unescaped.
    String(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

/// A value and where its text is in the input (json's operators return that text).
#[derive(Debug, Clone, PartialEq)]
struct Node {
    value: Value,
    start: usize,
    end: usize,
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    at: usize,
    /// jsonb refuses `\u0000` (it cannot be text).
    jsonb: bool,
}

/// PostgreSQL's error for text that is not JSON, with its CONTEXT: the line of the input up
/// to the end of the bad token (`upto`), at most 49 bytes of it, `...` where it was cut.
fn invalid(s: &str, detail: String, upto: usize) -> SqlError {
    SqlError::new(code::INVALID_TEXT_REPRESENTATION, "invalid input syntax for type json")
        .detail(detail)
        .context(json_context(s, upto))
}

fn json_context(s: &str, upto: usize) -> String {
    let mut upto = upto.min(s.len());
    while !s.is_char_boundary(upto) {
        upto += 1;
    }
    let line = 1 + s[..upto].bytes().filter(|&b| b == b'\n').count();
    let line_start = s[..upto].rfind('\n').map_or(0, |i| i + 1);
    let mut start = line_start.max(upto.saturating_sub(49));
    while !s.is_char_boundary(start) {
        start += 1;
    }
    let prefix = if start > line_start { "..." } else { "" };
    let suffix = if upto < s.len() && !matches!(s.as_bytes()[upto], b'\n' | b'\r') { "..." } else { "" };
    format!("JSON data, line {line}: {prefix}{}{suffix}", &s[start..upto])
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.at < self.b.len() && matches!(self.b[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
    }

    /// The token starting here, for error details (PostgreSQL's lexer token).
    fn token_end(&self) -> usize {
        let mut e = self.at;
        if e < self.b.len() && b"{}[],:".contains(&self.b[e]) {
            return e + 1;
        }
        while e < self.b.len() && !b" \t\n\r{}[],:\"".contains(&self.b[e]) {
            e += 1;
        }
        e.max(self.at + 1).min(self.b.len())
    }

    fn err_token(&self) -> SqlError {
        if self.at >= self.b.len() {
            return invalid(self.s, "The input string ended unexpectedly.".into(), self.b.len());
        }
        let e = self.token_end();
        let tok = self.s.get(self.at..e).unwrap_or("");
        invalid(self.s, format!("Token \"{tok}\" is invalid."), e)
    }

    fn expected(&self, what: &str) -> SqlError {
        if self.at >= self.b.len() {
            return invalid(self.s, "The input string ended unexpectedly.".into(), self.b.len());
        }
        let e = self.token_end();
        let tok = self.s.get(self.at..e).unwrap_or("");
        // The lexer fails first on what is no JSON token at all.
        let is_token = tok.starts_with('"')
            || matches!(tok, "{" | "}" | "[" | "]" | "," | ":" | "true" | "false" | "null")
            || is_number(tok);
        if !is_token {
            return self.err_token();
        }
        invalid(self.s, format!("Expected {what}, but found \"{tok}\"."), e)
    }

    fn value(&mut self, depth: usize) -> Result<Node> {
        if depth > MAX_DEPTH {
            return Err(SqlError::new("54001", "stack depth limit exceeded"));
        }
        self.ws();
        let start = self.at;
        let Some(&c) = self.b.get(self.at) else { return Err(self.err_token()) };
        let value = match c {
            b'{' => {
                self.at += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.b.get(self.at) == Some(&b'}') {
                    self.at += 1;
                } else {
                    loop {
                        self.ws();
                        if self.b.get(self.at) != Some(&b'"') {
                            return Err(self.expected("string"));
                        }
                        let k = self.string()?;
                        self.ws();
                        if self.b.get(self.at) != Some(&b':') {
                            return Err(self.expected("\":\""));
                        }
                        self.at += 1;
                        let v = self.value(depth + 1)?;
                        fields.push((k, v));
                        self.ws();
                        match self.b.get(self.at) {
                            Some(b',') => self.at += 1,
                            Some(b'}') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(self.expected("\",\" or \"}\"")),
                        }
                    }
                }
                Value::Object(fields)
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.at) == Some(&b']') {
                    self.at += 1;
                } else {
                    loop {
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        match self.b.get(self.at) {
                            Some(b',') => self.at += 1,
                            Some(b']') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(self.expected("\",\" or \"]\"")),
                        }
                    }
                }
                Value::Array(items)
            }
            b'"' => Value::String(self.string()?),
            _ => {
                let e = self.token_end();
                let tok = &self.s[self.at..e];
                let v = match tok {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    t if is_number(t) => Value::Number(t.to_string()),
                    _ => return Err(self.err_token()),
                };
                self.at = e;
                v
            }
        };
        Ok(Node { value, start, end: self.at })
    }

    /// A string token (at its opening quote), unescaped.
    fn string(&mut self) -> Result<String> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let Some(&c) = self.b.get(self.at) else {
                return Err(invalid(self.s, "The input string ended unexpectedly.".into(), self.b.len()));
            };
            match c {
                b'"' => {
                    self.at += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let esc = self.b.get(self.at + 1).copied();
                    self.at += 2;
                    match esc {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let cp = self.hex4()?;
                            let ch = if (0xD800..0xDC00).contains(&cp) {
                                // A high surrogate must be followed by a low one.
                                if self.b.get(self.at) != Some(&b'\\') || self.b.get(self.at + 1) != Some(&b'u') {
                                    return Err(
                                        self.unicode_err("Unicode high surrogate must not follow a high surrogate.")
                                    );
                                }
                                self.at += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.unicode_err("Unicode low surrogate must follow a high surrogate."));
                                }
                                char::from_u32(0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00))
                            } else if (0xDC00..0xE000).contains(&cp) {
                                return Err(self.unicode_err("Unicode low surrogate must follow a high surrogate."));
                            } else {
                                char::from_u32(cp)
                            };
                            if cp == 0 && self.jsonb {
                                return Err(SqlError::new("22P05", "unsupported Unicode escape sequence")
                                    .detail("\\u0000 cannot be converted to text.")
                                    .context(json_context(self.s, self.at)));
                            }
                            out.push(ch.unwrap_or('\u{fffd}'));
                        }
                        _ => {
                            let e = (self.at).min(self.b.len());
                            let seq = self.s.get(self.at - 2..e).unwrap_or("\\");
                            return Err(invalid(self.s, format!("Escape sequence \"{seq}\" is invalid."), e));
                        }
                    }
                }
                c if c < 0x20 => {
                    let e = self.at + 1;
                    return Err(invalid(
                        self.s,
                        "Character with value 0x".to_string() + &format!("{c:02x} must be escaped."),
                        e,
                    ));
                }
                _ => {
                    // Copy a run of plain characters (the input is UTF-8: cut at ASCII only).
                    let start = self.at;
                    while self.at < self.b.len() && !matches!(self.b[self.at], b'"' | b'\\') && self.b[self.at] >= 0x20
                    {
                        self.at += 1;
                    }
                    out.push_str(&self.s[start..self.at]);
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let h = self.s.get(self.at..self.at + 4).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some(h) = h else {
            return Err(invalid(self.s, "\"\\u\" must be followed by four hexadecimal digits.".into(), self.at));
        };
        self.at += 4;
        Ok(u32::from_str_radix(h, 16).unwrap_or(0))
    }

    fn unicode_err(&self, detail: &str) -> SqlError {
        invalid(self.s, detail.into(), self.at)
    }
}

/// JSON's number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
fn is_number(t: &str) -> bool {
    let b = t.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let run = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    let int_start = i;
    let n = run(&mut i);
    if n == 0 || (n > 1 && b[int_start] == b'0') {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if run(&mut i) == 0 {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if run(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn parse(s: &str, jsonb: bool) -> Result<Node> {
    let mut p = Parser { s, b: s.as_bytes(), at: 0, jsonb };
    let n = p.value(0)?;
    p.ws();
    if p.at < p.b.len() {
        return Err(p.expected("end of input"));
    }
    Ok(n)
}

/// Checks a json text; the value keeps the text as written.
pub fn parse_json(s: &str) -> Result<String> {
    parse(s, false)?;
    Ok(s.to_string())
}

/// Reads a jsonb text into the text PostgreSQL prints for it.
pub fn parse_jsonb(s: &str) -> Result<String> {
    let n = parse(s, true)?;
    let mut out = String::with_capacity(s.len());
    write_jsonb(&mut out, normalize(n.value));
    Ok(out)
}

/// jsonb's object form: the last of duplicate keys, keys ordered shortest first, then bytewise.
fn normalize(v: Value) -> Value {
    match v {
        Value::Object(fields) => {
            let mut fields: Vec<(String, Node)> =
                fields.into_iter().map(|(k, n)| (k, Node { value: normalize(n.value), ..n })).collect();
            // Stable sort, then keep the last of each run of equal keys.
            fields.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.as_bytes().cmp(b.0.as_bytes())));
            let mut out: Vec<(String, Node)> = Vec::with_capacity(fields.len());
            for f in fields {
                match out.last_mut() {
                    Some(last) if last.0 == f.0 => *last = f,
                    _ => out.push(f),
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|n| Node { value: normalize(n.value), ..n }).collect())
        }
        v => v,
    }
}

/// A string as a JSON string literal (json.c's `escape_json`).
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON number as PostgreSQL's numeric prints it (jsonb stores numbers as numeric).
fn numeric(n: &str) -> String {
    let (neg, digits) = match n.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, n),
    };
    let t = crate::bind::numeric_text(digits);
    if neg && t.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        format!("-{t}")
    } else {
        t
    }
}

fn write_jsonb(out: &mut String, v: Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&numeric(&n)),
        Value::String(s) => write_string(out, &s),
        Value::Array(items) => {
            out.push('[');
            for (i, n) in items.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_jsonb(out, n.value);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (k, n)) in fields.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(out, &k);
                out.push_str(": ");
                write_jsonb(out, n.value);
            }
            out.push('}');
        }
    }
}

/// jsonb's order (PostgreSQL's compareJsonbContainers): by type first (null < string <
/// number < boolean < array < object; a top-level scalar is a one-element array that sorts
/// before an array of one element); arrays by length,
/// then element by element; objects by number of pairs, then key and value in stored order
/// (shorter keys first); numbers by value (`1.0` equals `1`); strings bytewise (the C
/// collation). `a` and `b` are stored jsonb texts.
pub fn compare_jsonb(a: &str, b: &str) -> Ordering {
    match (parse(a, true), parse(b, true)) {
        (Ok(x), Ok(y)) => {
            let scalar = |v: &Value| !matches!(v, Value::Array(_) | Value::Object(_));
            match (scalar(&x.value), scalar(&y.value), &x.value, &y.value) {
                // A top-level scalar is stored as a one-element "raw scalar" array: against an
                // array it compares by element count, then sorts first; objects are above both.
                (true, false, _, Value::Array(items)) => 1.cmp(&items.len()).then(Ordering::Less),
                (false, true, Value::Array(items), _) => items.len().cmp(&1).then(Ordering::Greater),
                _ => cmp_value(&x.value, &y.value),
            }
        }
        _ => a.as_bytes().cmp(b.as_bytes()),
    }
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::String(_) => 1,
        Value::Number(_) => 2,
        Value::Bool(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

fn cmp_value(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Number(x), Value::Number(y)) => cmp_number(x, y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter().zip(y).map(|(p, q)| cmp_value(&p.value, &q.value)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
        }),
        (Value::Object(x), Value::Object(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y)
                .map(|((k1, v1), (k2, v2))| {
                    k1.as_bytes().cmp(k2.as_bytes()).then_with(|| cmp_value(&v1.value, &v2.value))
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

/// Compares two JSON number texts by value, exactly.
fn cmp_number(a: &str, b: &str) -> Ordering {
    // (negative, significant digits, position of the decimal point relative to them).
    let decompose = |t: &str| -> (bool, Vec<u8>, i64) {
        let (neg, t) = match t.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, t),
        };
        let (mant, exp) = match t.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
            None => (t, 0),
        };
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
        let mut point = int.len() as i64 + exp;
        while digits.first() == Some(&b'0') {
            digits.remove(0);
            point -= 1;
        }
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        if digits.is_empty() {
            return (false, digits, 0);
        }
        (neg, digits, point)
    };
    let (na, da, pa) = decompose(a);
    let (nb, db, pb) = decompose(b);
    let sign = |n: bool, d: &Vec<u8>| {
        if d.is_empty() {
            0
        } else if n {
            -1
        } else {
            1
        }
    };
    let (sa, sb) = (sign(na, &da), sign(nb, &db));
    if sa != sb || sa == 0 {
        return sa.cmp(&sb);
    }
    let magnitude = pa.cmp(&pb).then_with(|| da.cmp(&db));
    if sa < 0 {
        magnitude.reverse()
    } else {
        magnitude
    }
}

/// What `->` / `->>` select: an object's field or an array's element (negative counts from
/// the end).
pub enum Path<'a> {
    Key(&'a str),
    Index(i64),
}

/// `doc -> path` (`as_text`: `->>`). `doc` is a stored json or jsonb text; the result is the
/// selected value's text (json: as written in `doc`; jsonb: normalized), or None when there is
/// no such field or element (and, for `->>`, when the value is JSON null).
pub fn get(doc: &str, path: Path, as_text: bool, jsonb: bool) -> Result<Option<String>> {
    let root = parse(doc, jsonb)?;
    let found = match (&root.value, path) {
        // json keeps duplicate keys; its `->` returns the last, as jsonb keeps the last.
        (Value::Object(fields), Path::Key(k)) => fields.iter().rev().find(|(name, _)| name == k).map(|(_, n)| n),
        (Value::Array(items), Path::Index(i)) => {
            let len = items.len() as i64;
            let i = if i < 0 { len + i } else { i };
            if (0..len).contains(&i) {
                items.get(i as usize)
            } else {
                None
            }
        }
        _ => None,
    };
    let Some(n) = found else { return Ok(None) };
    Ok(match (&n.value, as_text) {
        (Value::Null, true) => None,
        (Value::String(s), true) => Some(s.clone()),
        _ if jsonb => {
            let mut out = String::new();
            write_jsonb(&mut out, normalize(n.value.clone()));
            Some(out)
        }
        _ => Some(doc[n.start..n.end].to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonb_prints_as_postgresql() {
        // From PostgreSQL 15.
        assert_eq!(parse_jsonb(r#"{"a":1,"a":2}"#).unwrap(), r#"{"a": 2}"#);
        assert_eq!(
            parse_jsonb(r#"{"bb":1,"a":{"c" : [1,2.50,1e2,-0, 1E-2, "x\u00e9\n/"]}}"#).unwrap(),
            r#"{"a": {"c": [1, 2.50, 100, 0, 0.01, "xé\n/"]}, "bb": 1}"#
        );
        assert_eq!(parse_json(" [1,  2] ").unwrap(), " [1,  2] ");
    }

    #[test]
    fn bad_json_is_an_error_as_in_postgresql() {
        for (input, detail) in [
            ("01", "Token \"01\" is invalid."),
            (r#"{"a" 1}"#, "Expected \":\", but found \"1\"."),
            (r#"{"a": 1"#, "The input string ended unexpectedly."),
            ("x", "Token \"x\" is invalid."),
            ("{bad", "Token \"bad\" is invalid."),
        ] {
            let e = parse_json(input).unwrap_err();
            assert_eq!((e.code, e.message.as_str()), ("22P02", "invalid input syntax for type json"), "{input}");
            assert_eq!(e.detail.as_deref(), Some(detail), "{input}");
        }
        assert_eq!(parse_jsonb(r#""\u0000""#).unwrap_err().code, "22P05");
        let ctx = |s: &str| parse_json(s).unwrap_err().context_text().unwrap_or_default().to_string();
        assert_eq!(ctx(r#"{"a" 1}"#), r#"JSON data, line 1: {"a" 1..."#);
        assert_eq!(ctx("{"), "JSON data, line 1: {");
        assert_eq!(ctx("[1,\n2,\nx]"), "JSON data, line 3: x...");
        let long = format!("[{}x]", "1,".repeat(40));
        assert_eq!(ctx(&long), format!("JSON data, line 1: ...{}x...", &"1,".repeat(40)[32..]));
        assert_eq!(parse_jsonb(r#""\u0000""#).unwrap_err().context_text(), Some(r#"JSON data, line 1: "\u0000..."#));
        assert!(parse_json(r#""\u0000""#).is_ok());
    }

    #[test]
    fn deep_nesting_is_bounded_and_fits_a_small_stack() {
        // Shard threads have the default 2 MiB stack; the deepest accepted document must fit
        // in half of that, parsed, normalized and printed, in an unoptimized build (1,000
        // levels did not).
        let ok = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(|| {
                let deep = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
                parse_jsonb(&deep).map(|t| t.len()) == Ok(2 * MAX_DEPTH)
                    && get(&deep, Path::Index(0), true, true).is_ok()
            })
            .expect("thread")
            .join()
            .expect("no stack overflow");
        assert!(ok);
        let deeper = format!("{}{}", "[".repeat(MAX_DEPTH + 2), "]".repeat(MAX_DEPTH + 2));
        assert_eq!(parse_json(&deeper).unwrap_err().code, "54001");
    }

    #[test]
    fn jsonb_orders_as_postgresql() {
        // From PostgreSQL 15: each pair is (smaller, larger), or equal when marked.
        let j = |s: &str| parse_jsonb(s).unwrap();
        let lt = |a: &str, b: &str| compare_jsonb(&j(a), &j(b)) == Ordering::Less;
        assert_eq!(compare_jsonb(&j("1.0"), &j("1")), Ordering::Equal);
        assert_eq!(compare_jsonb(&j("[1e2]"), &j("[100.00]")), Ordering::Equal);
        assert!(lt(r#"{"a":1}"#, r#"{"a":1, "b":2}"#));
        assert!(lt("[1,2]", "{}"));
        assert!(lt("null", r#""a""#));
        assert!(lt(r#""b""#, "1"));
        assert!(lt("1", "true"));
        assert!(lt("[3]", "[1,2]"));
        assert!(lt(r#""ab""#, r#""b""#));
        assert!(lt(r#"{"aa":1}"#, r#"{"b":1}"#));
        assert!(lt("[]", "true") && lt("true", "[false]") && lt("1", "[1, 2]") && lt("[1, 2]", "{}"));
        assert!(lt("-2", "-1.5") && lt("-0.001", "0") && lt("9.99", "10") && lt("1e-3", "0.0011"));
    }

    #[test]
    fn arrows_select_fields_and_elements() {
        let g = |d: &str, p, t, b| get(d, p, t, b).unwrap();
        assert_eq!(g(r#"{"a":1,"a":2}"#, Path::Key("a"), false, false).as_deref(), Some("2"));
        assert_eq!(g("[1,  2]", Path::Index(1), false, false).as_deref(), Some("2"));
        assert_eq!(g("[1, 2, 3]", Path::Index(-1), false, true).as_deref(), Some("3"));
        assert_eq!(g(r#"{"a":"x"}"#, Path::Key("a"), true, false).as_deref(), Some("x"));
        assert_eq!(g(r#"{"a": null}"#, Path::Key("a"), true, true), None);
        assert_eq!(g(r#"{"a": [1, 2]}"#, Path::Key("a"), true, true).as_deref(), Some("[1, 2]"));
        assert_eq!(g(r#"{"a": [1,2]}"#, Path::Key("a"), false, false).as_deref(), Some("[1,2]"));
        assert_eq!(g(r#"{"a": 1}"#, Path::Key("b"), false, true), None);
    }
}
