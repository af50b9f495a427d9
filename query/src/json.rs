//! json and jsonb: a small JSON parser with PostgreSQL's rules and errors (json keeps the text
//! as written; jsonb keeps the text PostgreSQL prints for it: keys ordered shortest first then
//! bytewise, the last of duplicate keys kept, `", "` and `": "` separators, numbers as
//! PostgreSQL's numeric prints them), and the `->` / `->>` operators.

use crate::error::{code, Result, SqlError};

/// Nesting deeper than this is refused (PostgreSQL stops at its stack depth limit).
const MAX_DEPTH: usize = 1000;

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

/// PostgreSQL's error for text that is not JSON (`upto`: where the bad token ends; PostgreSQL
/// shows the input up to there as CONTEXT, which this error has no field for).
fn invalid(_s: &str, detail: String, _upto: usize) -> SqlError {
    SqlError::new(code::INVALID_TEXT_REPRESENTATION, "invalid input syntax for type json").detail(detail)
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
                                    .detail("\\u0000 cannot be converted to text."));
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

fn write_string(out: &mut String, s: &str) {
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
        assert!(parse_json(r#""\u0000""#).is_ok());
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
