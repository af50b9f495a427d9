//! PostgreSQL 15's string functions beyond [`crate::scalar`]'s: regexp_replace, regexp_match, regexp_count,
//! regexp_instr, regexp_like, regexp_split_to_array, SUBSTRING's pattern forms, chr,
//! initcap, md5, octet_length, bit_length, encode/decode, translate, quote_literal,
//! quote_nullable, to_hex, format, overlay and similar_to_escape (what `SIMILAR TO` matches
//! with), with PostgreSQL's results and errors
//! (<https://www.postgresql.org/docs/15/functions-string.html>,
//! <https://www.postgresql.org/docs/15/functions-matching.html>).
//! The binder (`bind/functions.rs`) has coerced the arguments to the types each variant lists.

use crate::error::{Result, SqlError};
use crate::regex_pattern::Pattern;
use orbit_engine::table::{ArrayValue, Datum, SqlType};

/// The largest text a function may build: PostgreSQL's MaxAllocSize (1 GB - 1).
const MAX_TEXT_BYTES: usize = (1 << 30) - 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFn {
    /// (text, pattern, replacement [, flags]) -> text.
    RegexpReplace,
    /// (text, pattern, replacement, start int4 [, n int4 [, flags]]) -> text: from the
    /// start'th character, the nth match (all when n is 0; the first when n is not given).
    RegexpReplaceAt,
    /// (text, pattern [, flags]) -> text[]: the first match's groups (the whole match when
    /// the pattern has none); NULL when nothing matches.
    RegexpMatch,
    /// text -> text.
    Initcap,
    /// text or bytea -> text (hex digest).
    Md5,
    /// text or bytea -> int4.
    OctetLength,
    BitLength,
    /// (bytea, format) -> text.
    Encode,
    /// (text, format) -> bytea.
    Decode,
    /// `bytea || bytea` (PostgreSQL's byteacat).
    ByteaCat,
    /// (text, from, to) -> text.
    Translate,
    /// text -> text (not strict: NULL gives 'NULL' for quote_nullable).
    QuoteLiteral,
    QuoteNullable,
    /// int4 or int8 -> text (two's complement for negatives).
    ToHex,
    /// (format text, any values as text ...) -> text; not strict. Each value comes with its
    /// text form (NULL stays NULL).
    Format,
    /// (text, placing text, from int4 [, for int4]) -> text.
    Overlay,
    /// (pattern [, escape]) -> the regular expression a SQL `SIMILAR TO` pattern means.
    SimilarEscape,
    /// `substring(text FROM pattern)` -> text: the part the first parenthesized subexpression
    /// matched (the whole match when there is none); NULL when nothing matches.
    RegexpSubstr,
    /// `substring(text FROM pattern FOR escape)` -> text: of a SQL regular expression, the part
    /// between its escape-double-quote separators (the whole match without them).
    SimilarSubstr,
    /// (text, pattern [, start int4 [, flags]]) -> int4: how many times it matches.
    RegexpCount,
    /// (text, pattern [, start, n, endoption int4 [, flags [, subexpr int4]]]) -> int4: where
    /// the nth match (or its subexpression) starts, or ends when endoption is 1; 0 for none.
    RegexpInstr,
    /// (text, pattern [, flags]) -> bool.
    RegexpLike,
    /// (text, pattern [, flags]) -> text[]: the parts between the matches.
    RegexpSplit,
    /// The same for regexp_split_to_table, whose rows they are (its errors name it).
    RegexpSplitRows,
    /// int4 -> text: the character of that code point.
    Chr,
    /// text -> int4: the code point of the first character (0 for an empty string).
    Ascii,
    /// bytea -> bytea: the SHA-2 digest of that many bits (224, 256, 384, 512).
    Sha(u16),
    /// (bytea, n int4) -> int4: the nth byte (from 0).
    GetByte,
    /// (bytea, n int4, value int4) -> bytea: the nth byte set to the value's low 8 bits.
    SetByte,
    /// (numeric, format) -> text: to_char of a number ([`crate::to_char_num`]).
    NumToChar,
    /// (text, format) -> numeric: to_number ([`crate::to_char_num::to_number`]).
    ToNumber,
    /// bytea or bytea[] -> text in `bytea_output = escape` (the session's, when the statement
    /// was bound): what a cast to text, `||`, format() and JSON print then.
    ByteaEscape,
    /// bytea[] -> text[]: each element so (array_to_string's elements in `escape`).
    ByteaEscapeItems,
    /// (text, pattern [, start int4 [, n int4 [, flags [, subexpr int4]]]]) -> text:
    /// regexp_substr, the nth match from the start'th character (or its subexpression); NULL
    /// when there is none.
    RegexpNth,
    /// (text, pattern [, flags]) -> the rows of regexp_matches as one array whose items are
    /// text[] values (each match's groups, or the whole match when the pattern has none):
    /// every match with `g`, else the first. Only [`crate::srf`]'s unnest reads it.
    RegexpMatches,
    /// text -> text: unistr's escapes decoded ([`crate::unicode_escapes::unistr`]).
    Unistr,
    /// concat(VARIADIC array) -> text: its elements' text forms; NULL for a NULL array.
    VariadicConcat,
    /// concat_ws(sep, VARIADIC array) -> text; NULL for a NULL separator or array.
    VariadicConcatWs,
    /// format(fmt, VARIADIC array) -> text: the elements are the values (none for a NULL
    /// array).
    VariadicFormat,
    /// The bytea functions of [`crate::bytea_fns`].
    Bytea(crate::bytea_fns::ByteaFn),
}

impl TextFn {
    pub fn strict(self) -> bool {
        !matches!(self, TextFn::QuoteNullable | TextFn::Format | TextFn::VariadicFormat)
    }
}

fn text(d: &Datum) -> &str {
    match d {
        Datum::Text(s) | Datum::Bpchar(s) => s,
        _ => "",
    }
}

pub(crate) fn bytes(d: &Datum) -> &[u8] {
    match d {
        Datum::Bytea(b) => b,
        Datum::Text(s) | Datum::Bpchar(s) => s.as_bytes(),
        _ => &[],
    }
}

pub(crate) fn int(d: &Datum) -> i64 {
    d.as_i64().unwrap_or_default()
}

fn invalid(msg: impl Into<String>) -> SqlError {
    SqlError::new("22023", msg)
}

fn too_large() -> SqlError {
    SqlError::new("54000", "requested length too large")
}

pub fn call(f: TextFn, args: Vec<Datum>) -> Result<Datum> {
    if f.strict() && args.iter().any(Datum::is_null) {
        return Ok(Datum::Null);
    }
    let a = |i: usize| args.get(i).unwrap_or(&Datum::Null);
    Ok(match f {
        TextFn::Bytea(b) => crate::bytea_fns::call(b, &args)?,
        TextFn::VariadicConcat | TextFn::VariadicConcatWs | TextFn::VariadicFormat => {
            let items: Vec<Datum> = match args.last() {
                Some(Datum::Array(arr)) => arr
                    .items
                    .iter()
                    .map(|d| if d.is_null() { Datum::Null } else { Datum::Text(types_to_text(d)) })
                    .collect(),
                _ => vec![],
            };
            match f {
                TextFn::VariadicFormat => match a(0) {
                    Datum::Null => Datum::Null,
                    fmt => Datum::Text(format(text(fmt), &items)?),
                },
                _ => {
                    let sep = if f == TextFn::VariadicConcat { "" } else { text(a(0)) };
                    let parts: Vec<&str> = items.iter().filter(|d| !d.is_null()).map(text).collect();
                    Datum::Text(parts.join(sep))
                }
            }
        }
        TextFn::Unistr => Datum::Text(crate::unicode_escapes::unistr(text(a(0)))?),
        TextFn::RegexpNth => {
            let src = text(a(0));
            let from = start_byte(src, args.get(2))?;
            let nth = match args.get(3) {
                Some(d) if int(d) <= 0 => {
                    return Err(invalid(format!("invalid value for parameter \"n\": {}", int(d))))
                }
                Some(d) => int(d) as usize,
                None => 1,
            };
            let sub = match args.get(5) {
                Some(d) if int(d) < 0 => {
                    return Err(invalid(format!("invalid value for parameter \"subexpr\": {}", int(d))))
                }
                Some(d) => int(d) as usize,
                None => 0,
            };
            let flags = no_global(args.get(4), "regexp_substr")?;
            let re = compile(text(a(1)), &flags)?;
            let found = matches(&re, src, from, false)?;
            let Some(&(so, _)) = found.get(nth - 1) else { return Ok(Datum::Null) };
            let Some(caps) = re.captures_at(src, so)? else { return Ok(Datum::Null) };
            match caps.get(sub) {
                Some(m) => Datum::Text(m.as_str().to_string()),
                None => Datum::Null,
            }
        }
        TextFn::RegexpMatches => {
            let flags = parse_flags(args.get(2).map(text).unwrap_or(""), true)?;
            let re = compile(text(a(1)), &flags)?;
            let src = text(a(0));
            let mut found = matches(&re, src, 0, false)?;
            if !flags.global {
                found.truncate(1);
            }
            let text_array = SqlType::Text.array_of().unwrap_or(SqlType::Text);
            let mut rows = Vec::with_capacity(found.len());
            let mut size = 0usize;
            for (so, _) in found {
                let Some(caps) = re.captures_at(src, so)? else { continue };
                let items: Vec<Datum> = if caps.len() == 1 {
                    vec![Datum::Text(caps.whole().to_string())]
                } else {
                    (1..caps.len())
                        .map(|i| caps.get(i).map_or(Datum::Null, |m| Datum::Text(m.as_str().into())))
                        .collect()
                };
                size += items.iter().map(|d| text(d).len() + 8).sum::<usize>();
                if size > MAX_TEXT_BYTES {
                    return Err(too_large());
                }
                rows.push(Datum::Array(Box::new(ArrayValue::from_items(SqlType::Text, items))));
            }
            Datum::Array(Box::new(ArrayValue::from_items(text_array, rows)))
        }
        TextFn::RegexpReplace => {
            let given = args.get(3).map(text).unwrap_or("");
            // A fourth argument that looks like a number was most likely meant as the start
            // (an untyped literal resolves to this form).
            if let Some(c) = given.chars().next().filter(char::is_ascii_digit) {
                return Err(invalid(format!("invalid regular expression option: \"{c}\"")).hint(
                    "If you meant to use regexp_replace() with a start parameter, cast the fourth argument to integer explicitly.",
                ));
            }
            let flags = parse_flags(given, true)?;
            let re = compile(text(a(1)), &flags)?;
            Datum::Text(regexp_replace(&re, text(a(0)), text(a(2)), 0, if flags.global { 0 } else { 1 })?)
        }
        TextFn::RegexpReplaceAt => {
            let start = int(a(3));
            if start <= 0 {
                return Err(invalid(format!("invalid value for parameter \"start\": {start}")));
            }
            let nth = match args.get(4) {
                Some(n) if int(n) < 0 => return Err(invalid(format!("invalid value for parameter \"n\": {}", int(n)))),
                Some(n) => int(n) as usize,
                None => 1,
            };
            let flags = parse_flags(args.get(5).map(text).unwrap_or(""), true)?;
            let re = compile(text(a(1)), &flags)?;
            let src = text(a(0));
            // The character position as a byte offset (past the end: nothing to replace).
            let byte = src.char_indices().nth(start as usize - 1).map_or(src.len() + 1, |(b, _)| b);
            if byte > src.len() {
                return Ok(Datum::Text(src.to_string()));
            }
            Datum::Text(regexp_replace(&re, src, text(a(2)), byte, nth)?)
        }
        TextFn::RegexpMatch => {
            let flags = parse_flags(args.get(2).map(text).unwrap_or(""), true)?;
            if flags.global {
                return Err(invalid("regexp_match() does not support the \"global\" option")
                    .hint("Use the regexp_matches function instead."));
            }
            let re = compile(text(a(1)), &flags)?;
            let Some(caps) = re.captures(text(a(0)))? else { return Ok(Datum::Null) };
            let items: Vec<Datum> = if caps.len() == 1 {
                vec![Datum::Text(caps.whole().to_string())]
            } else {
                (1..caps.len()).map(|i| caps.get(i).map_or(Datum::Null, |m| Datum::Text(m.as_str().into()))).collect()
            };
            Datum::Array(Box::new(ArrayValue::from_items(SqlType::Text, items)))
        }
        TextFn::Initcap => Datum::Text(initcap(text(a(0)))),
        TextFn::Md5 => {
            use md5::Digest;
            Datum::Text(hex(&md5::Md5::digest(bytes(a(0)))))
        }
        TextFn::OctetLength => Datum::Int4(bytes(a(0)).len() as i32),
        TextFn::BitLength => Datum::Int4((bytes(a(0)).len() as i32).wrapping_mul(8)),
        TextFn::Encode => Datum::Text(encode(bytes(a(0)), text(a(1)))?),
        TextFn::Decode => Datum::Bytea(decode(text(a(0)), text(a(1)))?),
        TextFn::ByteaCat => Datum::Bytea([bytes(a(0)), bytes(a(1))].concat()),
        TextFn::Translate => Datum::Text(translate(text(a(0)), text(a(1)), text(a(2)))),
        TextFn::QuoteLiteral => Datum::Text(quote_literal(text(a(0)))),
        TextFn::QuoteNullable => match a(0) {
            Datum::Null => Datum::Text("NULL".into()),
            d => Datum::Text(quote_literal(text(d))),
        },
        TextFn::ToHex => match a(0) {
            Datum::Int4(v) => Datum::Text(format!("{:x}", *v as u32)),
            d => Datum::Text(format!("{:x}", int(d) as u64)),
        },
        TextFn::Format => match a(0) {
            Datum::Null => Datum::Null,
            fmt => Datum::Text(format(text(fmt), &args[1..])?),
        },
        TextFn::Overlay => {
            let s: Vec<char> = text(a(0)).chars().collect();
            let placing = text(a(1));
            let start = int(a(2));
            let count = match args.get(3) {
                Some(n) => int(n),
                None => placing.chars().count() as i64,
            };
            // PostgreSQL: substr(s, 1, start - 1) || placing || substr(s, start + count).
            let after = start
                .checked_add(count)
                .ok_or_else(|| SqlError::new(crate::error::code::NUMERIC_VALUE_OUT_OF_RANGE, "integer out of range"))?;
            if start - 1 < 0 {
                return Err(SqlError::new("22011", "negative substring length not allowed"));
            }
            let head = (start - 1).min(s.len() as i64) as usize;
            let tail_from = (after.max(1) - 1).min(s.len() as i64) as usize;
            let mut out: String = s[..head].iter().collect();
            out.push_str(placing);
            out.extend(&s[tail_from..]);
            Datum::Text(out)
        }
        TextFn::RegexpSubstr | TextFn::SimilarSubstr => {
            let re = match f {
                TextFn::RegexpSubstr => compile(text(a(1)), &Flags::default())?,
                // PostgreSQL 15's substring(text, text, text) is a SQL function over
                // similar_to_escape: its errors say so.
                _ => {
                    let pattern = similar_escape(text(a(1)), Some(text(a(2))))
                        .map_err(|e| e.context("SQL function \"substring\" statement 1"))?;
                    compile(&lazy_first_part(&pattern), &Flags::default())?
                }
            };
            let Some(caps) = re.captures(text(a(0)))? else { return Ok(Datum::Null) };
            match caps.len() {
                1 => Datum::Text(caps.whole().to_string()),
                _ => caps.get(1).map_or(Datum::Null, |m| Datum::Text(m.as_str().into())),
            }
        }
        TextFn::RegexpCount => {
            let flags = no_global(args.get(3), "regexp_count")?;
            let re = compile(text(a(1)), &flags)?;
            let src = text(a(0));
            let from = start_byte(src, args.get(2))?;
            Datum::Int4(matches(&re, src, from, false)?.len() as i32)
        }
        TextFn::RegexpInstr => {
            let src = text(a(0));
            let from = start_byte(src, args.get(2))?;
            let positive = |i: usize, name: &str, min: i64| -> Result<i64> {
                match args.get(i) {
                    None => Ok(min.max(1)),
                    Some(d) if int(d) < min => {
                        Err(invalid(format!("invalid value for parameter \"{name}\": {}", int(d))))
                    }
                    Some(d) => Ok(int(d)),
                }
            };
            let nth = positive(3, "n", 1)?;
            let end = match args.get(4) {
                None => false,
                Some(d) if matches!(int(d), 0 | 1) => int(d) == 1,
                Some(d) => return Err(invalid(format!("invalid value for parameter \"endoption\": {}", int(d)))),
            };
            let flags = no_global(args.get(5), "regexp_instr")?;
            let sub = match args.get(6) {
                None => 0,
                Some(d) if int(d) < 0 => {
                    return Err(invalid(format!("invalid value for parameter \"subexpr\": {}", int(d))))
                }
                Some(d) => int(d) as usize,
            };
            let re = compile(text(a(1)), &flags)?;
            let found = matches(&re, src, from, false)?;
            let Some(&(so, _)) = found.get(nth as usize - 1) else { return Ok(Datum::Int4(0)) };
            let Some(caps) = re.captures_at(src, so)? else { return Ok(Datum::Int4(0)) };
            let Some(m) = caps.get(sub) else { return Ok(Datum::Int4(0)) };
            let at = if end { m.end() } else { m.start() };
            Datum::Int4(src[..at].chars().count() as i32 + 1)
        }
        TextFn::RegexpLike => {
            let flags = no_global(args.get(2), "regexp_like")?;
            Datum::Bool(compile(text(a(1)), &flags)?.is_match(text(a(0)))?)
        }
        TextFn::RegexpSplit | TextFn::RegexpSplitRows => {
            let name = if f == TextFn::RegexpSplit { "regexp_split_to_array" } else { "regexp_split_to_table" };
            let flags = no_global(args.get(2), name)?;
            let re = compile(text(a(1)), &flags)?;
            let src = text(a(0));
            let mut parts = Vec::new();
            let mut last = 0;
            for (so, eo) in matches(&re, src, 0, true)? {
                parts.push(Datum::Text(src[last..so].to_string()));
                last = eo;
            }
            parts.push(Datum::Text(src[last..].to_string()));
            Datum::Array(Box::new(ArrayValue::from_items(SqlType::Text, parts)))
        }
        TextFn::Ascii => Datum::Int4(text(a(0)).chars().next().map_or(0, |c| c as i32)),
        TextFn::ByteaEscapeItems => match a(0) {
            Datum::Array(arr) => {
                let mut arr = (**arr).clone();
                for item in &mut arr.items {
                    if let Datum::Bytea(b) = item {
                        *item = Datum::Text(crate::types::bytea_escape(b));
                    }
                }
                arr.elem = SqlType::Text;
                Datum::Array(Box::new(arr))
            }
            other => other.clone(),
        },
        TextFn::ByteaEscape => {
            let style = crate::types::TextStyle { bytea_escape: true, ..Default::default() };
            Datum::Text(crate::types::to_text_in(a(0), &style).unwrap_or_default())
        }
        TextFn::Chr => {
            let n = int(a(0));
            let limit = |m: String| SqlError::new(crate::error::code::PROGRAM_LIMIT_EXCEEDED, m);
            if n < 0 {
                return Err(invalid("character number must be positive"));
            }
            if n == 0 {
                return Err(limit("null character not permitted".into()));
            }
            if n > 0x10ffff {
                return Err(limit(format!("requested character too large for encoding: {n}")));
            }
            let c = char::from_u32(n as u32)
                .ok_or_else(|| limit(format!("requested character not valid for encoding: {n}")))?;
            Datum::Text(c.to_string())
        }
        TextFn::Sha(bits) => {
            use sha2::Digest;
            let b = bytes(a(0));
            Datum::Bytea(match bits {
                224 => sha2::Sha224::digest(b).to_vec(),
                256 => sha2::Sha256::digest(b).to_vec(),
                384 => sha2::Sha384::digest(b).to_vec(),
                _ => sha2::Sha512::digest(b).to_vec(),
            })
        }
        TextFn::GetByte | TextFn::SetByte => {
            let mut b = bytes(a(0)).to_vec();
            let n = int(a(1));
            if n < 0 || n as usize >= b.len() {
                let last = b.len() as i64 - 1;
                return Err(SqlError::new("2202E", format!("index {n} out of valid range, 0..{last}")));
            }
            if f == TextFn::GetByte {
                Datum::Int4(b[n as usize] as i32)
            } else {
                b[n as usize] = int(a(2)) as u8;
                Datum::Bytea(b)
            }
        }
        TextFn::ToNumber => match crate::to_char_num::to_number(text(a(0)), text(a(1)))? {
            Some(n) => Datum::Numeric(n),
            None => Datum::Null,
        },
        TextFn::NumToChar => Datum::Text(crate::to_char_num::to_char(a(0), text(a(1)))?),
        TextFn::SimilarEscape => {
            let esc = match args.get(1) {
                Some(e) => Some(text(e)),
                None => Some("\\"),
            };
            Datum::Text(similar_escape(text(a(0)), esc)?)
        }
    })
}

/// The flags of a function that finds matches one at a time (`g` is refused as PostgreSQL
/// refuses it).
fn no_global(flags: Option<&Datum>, function: &str) -> Result<Flags> {
    let f = parse_flags(flags.map(text).unwrap_or(""), true)?;
    if f.global {
        return Err(invalid(format!("{function}() does not support the \"global\" option")));
    }
    Ok(f)
}

/// A regexp function's `start` argument (a 1-based character position, 1 when not given) as a
/// byte offset into `src` (its length when past the end).
fn start_byte(src: &str, start: Option<&Datum>) -> Result<usize> {
    let start = start.map_or(1, int);
    if start <= 0 {
        return Err(invalid(format!("invalid value for parameter \"start\": {start}")));
    }
    Ok(src.char_indices().nth(start as usize - 1).map_or(src.len(), |(b, _)| b))
}

/// The matches of `re` in `src` from byte `from` on, as byte ranges, found as PostgreSQL's
/// setup_regexp_matches finds them: the next search starts where a match ends (one character
/// later after an empty one). `split`: its `ignore_degenerate`, which drops empty matches at the
/// start or the end of the string and right after the previous match.
fn matches(re: &Pattern, src: &str, from: usize, split: bool) -> Result<Vec<(usize, usize)>> {
    let mut out = Vec::new();
    let (mut at, mut prev_end) = (from, from);
    while at <= src.len() {
        let Some((so, eo)) = re.find_at(src, at)? else { break };
        if !split || (so < src.len() && eo > prev_end) {
            out.push((so, eo));
        }
        prev_end = eo;
        at = if so == eo { eo + src[eo..].chars().next().map_or(1, char::len_utf8) } else { eo };
    }
    Ok(out)
}

/// The options of a regexp function's flags argument (PostgreSQL's parse_re_flags).
#[derive(Default)]
struct Flags {
    global: bool,
    ci: bool,
    /// Newline-sensitive: `.` and bracket expressions stop at newlines, `^`/`$` match at them.
    newline: bool,
    expanded: bool,
    literal: bool,
}

fn parse_flags(s: &str, allow_global: bool) -> Result<Flags> {
    let mut f = Flags::default();
    for c in s.chars() {
        match c {
            'g' if allow_global => f.global = true,
            'i' => f.ci = true,
            'c' => f.ci = false,
            'n' | 'm' => f.newline = true,
            's' => f.newline = false,
            'x' => f.expanded = true,
            't' => f.expanded = false,
            'q' => f.literal = true,
            'b' | 'e' | 'p' | 'w' => {
                return Err(SqlError::unsupported(format!("regular expression option \"{c}\" is not supported")))
            }
            _ => return Err(invalid(format!("invalid regular expression option: \"{c}\""))),
        }
    }
    Ok(f)
}

/// The pattern under the flags, as the `regex` crate's inline options say them: PostgreSQL's
/// `.` matches a newline unless the match is newline-sensitive.
fn compile(pattern: &str, f: &Flags) -> Result<Pattern> {
    let body = if f.literal { regex::escape(pattern) } else { pattern.to_string() };
    let mut opts = String::from("(?");
    opts.push(if f.newline { 'm' } else { 's' });
    if f.ci {
        opts.push('i');
    }
    if f.expanded && !f.literal {
        opts.push('x');
    }
    opts.push(')');
    crate::regex_pattern::compile(&(opts + &body))
}

/// PostgreSQL's replace_text_regexp: the matches from byte `start` on, all of them when
/// `nth` is 0, else only the nth. In the replacement `\1`..`\9` are the groups, `\&` the
/// whole match, `\\` a backslash; any other backslash is copied as it is.
fn regexp_replace(re: &Pattern, src: &str, repl: &str, start: usize, nth: usize) -> Result<String> {
    let mut out = String::with_capacity(src.len());
    let mut last = 0;
    let mut at = start;
    let mut seen = 0;
    while at <= src.len() {
        let Some(caps) = re.captures_at(src, at)? else { break };
        let Some(m) = caps.get(0) else { break };
        // An empty match moves the search on by one character.
        at = if m.end() > m.start() {
            m.end()
        } else {
            m.end() + src[m.end()..].chars().next().map_or(1, char::len_utf8)
        };
        seen += 1;
        if nth != 0 && seen != nth {
            continue;
        }
        out.push_str(&src[last..m.start()]);
        let mut it = repl.chars().peekable();
        while let Some(c) = it.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match it.peek().copied() {
                Some(d @ '1'..='9') => {
                    it.next();
                    let n = d as usize - '0' as usize;
                    out.push_str(caps.get(n).map_or("", |g| g.as_str()));
                }
                Some('&') => {
                    it.next();
                    out.push_str(m.as_str());
                }
                Some('\\') => {
                    it.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            }
        }
        if out.len() > MAX_TEXT_BYTES {
            return Err(too_large());
        }
        last = m.end();
        if nth != 0 {
            break;
        }
    }
    out.push_str(&src[last..]);
    Ok(out)
}

/// Upper case at the start of each run of letters and digits, lower case elsewhere.
fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        if in_word {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        in_word = c.is_alphanumeric();
    }
    out
}

fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn unrecognized_encoding(name: &str) -> SqlError {
    invalid(format!("unrecognized encoding: \"{name}\""))
}

/// encode(bytea, format): PostgreSQL's `src/backend/utils/adt/encode.c`.
fn encode(b: &[u8], format: &str) -> Result<String> {
    if b.len().saturating_mul(4) > MAX_TEXT_BYTES {
        return Err(too_large());
    }
    Ok(match format.to_ascii_lowercase().as_str() {
        "hex" => hex(b),
        "base64" => {
            let mut out = String::with_capacity(b.len() * 4 / 3 + 4);
            let mut line = 0;
            for chunk in b.chunks(3) {
                // A line break after every 76 characters, as pg_base64_encode writes them.
                if line >= 76 {
                    out.push('\n');
                    line = 0;
                }
                let n = chunk.iter().fold(0u32, |acc, &x| (acc << 8) | x as u32) << (8 * (3 - chunk.len()));
                for i in 0..4 {
                    if i <= chunk.len() {
                        out.push(BASE64[((n >> (18 - 6 * i)) & 63) as usize] as char);
                    } else {
                        out.push('=');
                    }
                }
                line += 4;
            }
            out
        }
        "escape" => {
            let mut out = String::with_capacity(b.len());
            for &x in b {
                if x == 0 || x >= 0x80 {
                    out.push_str(&format!("\\{x:03o}"));
                } else if x == b'\\' {
                    out.push_str("\\\\");
                } else {
                    out.push(x as char);
                }
            }
            out
        }
        _ => return Err(unrecognized_encoding(format)),
    })
}

/// decode(text, format): the inverse of [`encode`]; whitespace between hex and base64 digits
/// is skipped.
fn decode(s: &str, format: &str) -> Result<Vec<u8>> {
    let src = s.as_bytes();
    Ok(match format.to_ascii_lowercase().as_str() {
        "hex" => {
            let mut out = Vec::with_capacity(src.len() / 2);
            let mut i = 0;
            let digit = |c: u8, at: usize| -> Result<u8> {
                (c as char).to_digit(16).map(|d| d as u8).ok_or_else(|| {
                    let ch = s[at..].chars().next().unwrap_or(' ');
                    invalid(format!("invalid hexadecimal digit: \"{ch}\""))
                })
            };
            while i < src.len() {
                let c = src[i];
                if matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                    i += 1;
                    continue;
                }
                let hi = digit(c, i)?;
                let Some(&lo) = src.get(i + 1) else {
                    return Err(invalid("invalid hexadecimal data: odd number of digits"));
                };
                out.push((hi << 4) | digit(lo, i + 1)?);
                i += 2;
            }
            out
        }
        "base64" => {
            let mut out = Vec::with_capacity(src.len() * 3 / 4);
            let (mut acc, mut bits, mut pad) = (0u32, 0, 0);
            for (i, &c) in src.iter().enumerate() {
                if matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                    continue;
                }
                if c == b'=' {
                    pad += 1;
                    continue;
                }
                let v = match BASE64.iter().position(|&x| x == c) {
                    Some(v) if pad == 0 => v as u32,
                    Some(_) => return Err(invalid("invalid base64 end sequence")),
                    None => {
                        let ch = s[i..].chars().next().unwrap_or(' ');
                        return Err(invalid(format!("invalid symbol \"{ch}\" found while decoding base64 sequence")));
                    }
                };
                acc = (acc << 6) | v;
                bits += 6;
                if bits >= 8 {
                    bits -= 8;
                    out.push((acc >> bits) as u8);
                    acc &= (1 << bits) - 1;
                }
            }
            // What is left must be the zero bits of a quantum padded to 4 characters.
            if bits >= 6 || (bits > 0 && pad == 0) {
                return Err(invalid("invalid base64 end sequence")
                    .hint("Input data is missing padding, is truncated, or is otherwise corrupted."));
            }
            out
        }
        "escape" => {
            let mut out = Vec::with_capacity(src.len());
            let mut i = 0;
            while i < src.len() {
                if src[i] != b'\\' {
                    out.push(src[i]);
                    i += 1;
                } else if src.get(i + 1) == Some(&b'\\') {
                    out.push(b'\\');
                    i += 2;
                } else if src.len() >= i + 4
                    && (b'0'..=b'3').contains(&src[i + 1])
                    && (b'0'..=b'7').contains(&src[i + 2])
                    && (b'0'..=b'7').contains(&src[i + 3])
                {
                    out.push(((src[i + 1] - b'0') << 6) | ((src[i + 2] - b'0') << 3) | (src[i + 3] - b'0'));
                    i += 4;
                } else {
                    return Err(SqlError::new("22P02", "invalid input syntax for type bytea"));
                }
            }
            out
        }
        _ => return Err(unrecognized_encoding(format)),
    })
}

fn translate(s: &str, from: &str, to: &str) -> String {
    let from: Vec<char> = from.chars().collect();
    let to: Vec<char> = to.chars().collect();
    s.chars()
        .filter_map(|c| match from.iter().position(|&f| f == c) {
            Some(i) => to.get(i).copied(),
            None => Some(c),
        })
        .collect()
}

/// PostgreSQL's quote_literal: quotes doubled; with a backslash, an E'' string with the
/// backslashes doubled.
pub(crate) fn quote_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    if s.contains('\\') {
        out.push('E');
    }
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// format(fmt, args...): `%[position$][-][width]type` with types s, I, L and `%%`
/// (PostgreSQL's text_format).
fn format(fmt: &str, args: &[Datum]) -> Result<String> {
    let unterminated = || invalid("unterminated format() type specifier").hint("For a single \"%\" use \"%%\".");
    let too_few = || invalid("too few arguments for format()");
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::with_capacity(fmt.len());
    let mut next_arg = 0usize;
    let mut i = 0;
    // A decimal number at chars[i..]; None when there is none.
    let number = |i: &mut usize| -> Result<Option<usize>> {
        let start = *i;
        let mut v: usize = 0;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(chars[*i] as usize - '0' as usize))
                .filter(|v| *v <= i32::MAX as usize)
                .ok_or_else(|| invalid("number is out of range"))?;
            *i += 1;
        }
        Ok((*i > start).then_some(v))
    };
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        if i >= chars.len() {
            return Err(unterminated());
        }
        if chars[i] == '%' {
            out.push('%');
            i += 1;
            continue;
        }
        // [position$]
        let mut position = None;
        let save = i;
        if let Some(n) = number(&mut i)? {
            if i < chars.len() && chars[i] == '$' {
                if n == 0 {
                    return Err(invalid("format specifies argument 0, but arguments are numbered from 1"));
                }
                position = Some(n);
                i += 1;
            } else {
                i = save;
            }
        }
        // [-][width] or *
        let mut left = false;
        if i < chars.len() && chars[i] == '-' {
            left = true;
            i += 1;
        }
        let mut width = None;
        if i < chars.len() && chars[i] == '*' {
            i += 1;
            // The width from an argument: `*` (the next one) or `*n$`.
            let mut wpos = None;
            let save = i;
            if let Some(n) = number(&mut i)? {
                if i < chars.len() && chars[i] == '$' {
                    if n == 0 {
                        return Err(invalid("format specifies argument 0, but arguments are numbered from 1"));
                    }
                    wpos = Some(n);
                    i += 1;
                } else {
                    i = save;
                }
            }
            // The value comes after the width's argument (text_format: `arg = widthpos`).
            let idx = match wpos {
                Some(n) => {
                    next_arg = n;
                    n - 1
                }
                None => {
                    next_arg += 1;
                    next_arg - 1
                }
            };
            let w = args.get(idx).ok_or_else(too_few)?;
            let w = match w {
                Datum::Null => 0,
                d => match types_to_text(d).trim().parse::<i64>() {
                    Ok(v) => v,
                    Err(_) => {
                        return Err(SqlError::new(
                            "22P02",
                            format!("invalid input syntax for type integer: \"{}\"", types_to_text(d)),
                        ))
                    }
                },
            };
            if w < 0 {
                left = true;
            }
            width = Some(w.unsigned_abs() as usize);
        } else if let Some(w) = number(&mut i)? {
            width = Some(w);
        }
        if i >= chars.len() {
            return Err(unterminated());
        }
        let kind = chars[i];
        i += 1;
        if !matches!(kind, 's' | 'I' | 'L') {
            return Err(invalid(format!("unrecognized format() type specifier \"{kind}\""))
                .hint("For a single \"%\" use \"%%\"."));
        }
        let idx = match position {
            Some(n) => n - 1,
            None => next_arg,
        };
        next_arg = idx + 1;
        let v = args.get(idx).ok_or_else(too_few)?;
        let piece = match (kind, v) {
            ('s', Datum::Null) => String::new(),
            ('s', d) => types_to_text(d),
            ('I', Datum::Null) => {
                return Err(SqlError::new("22004", "null values cannot be formatted as an SQL identifier"))
            }
            ('I', d) => crate::regtypes::quote_ident(&types_to_text(d)),
            (_, Datum::Null) => "NULL".to_string(),
            (_, d) => quote_literal(&types_to_text(d)),
        };
        let len = piece.chars().count();
        let pad = width.unwrap_or(0).saturating_sub(len);
        if out.len() + piece.len() + pad > MAX_TEXT_BYTES {
            return Err(too_large());
        }
        if !left {
            out.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(&piece);
        if left {
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
    Ok(out)
}

fn types_to_text(d: &Datum) -> String {
    crate::types::to_text(d).unwrap_or_default()
}

/// [`similar_escape`]'s regex with the quantifiers of the part before the first separator
/// made lazy: PostgreSQL's engine matches that part as little as possible (its `{1,1}?` makes
/// the whole part non-greedy), where the `regex` crate's leftmost-first `{1,1}?` still lets
/// a greedy `a*` inside take what it can.
fn lazy_first_part(re: &str) -> String {
    let Some(end) = re.find("){1,1}?(") else { return re.to_string() };
    let (head, tail) = re.split_at(end);
    let mut out = String::with_capacity(re.len() + 8);
    let mut it = head.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = it.next() {
        out.push(c);
        if c == '\\' {
            if let Some(n) = it.next() {
                out.push(n);
            }
            continue;
        }
        if in_class {
            // A `]` right after `[` or `[^` is a member, not the end.
            if c == ']' && !class_start {
                in_class = false;
            }
            class_start = c == '^' && class_start;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                class_start = true;
            }
            '(' if it.peek() == Some(&'?') => {
                out.extend(it.next());
            }
            '*' | '+' | '?' | '}' => {
                if it.peek() == Some(&'?') {
                    out.extend(it.next());
                } else {
                    out.push('?');
                }
            }
            _ => {}
        }
    }
    out.push_str(tail);
    out
}

/// PostgreSQL 15's similar_escape_internal: a SQL regular expression (`%`, `_`, `|`, `*`,
/// `+`, `?`, `{}`, `()`, `[]`) as a POSIX one anchored at both ends. `esc` None: no escape
/// character.
pub(crate) fn similar_escape(pat: &str, esc: Option<&str>) -> Result<String> {
    let e = match esc {
        None | Some("") => None,
        Some(s) => {
            let mut it = s.chars();
            let c = it.next();
            if it.next().is_some() {
                return Err(SqlError::new("22025", "invalid escape string")
                    .hint("Escape string must be empty or one character."));
            }
            c
        }
    };
    let mut out = String::with_capacity(pat.len() + 10);
    out.push_str("^(?:");
    let (mut after_escape, mut in_class, mut quotes) = (false, false, 0);
    for c in pat.chars() {
        if after_escape {
            if c == '"' && !in_class {
                quotes += 1;
                match quotes {
                    1 => out.push_str("){1,1}?("),
                    2 => out.push_str("){1,1}(?:"),
                    _ => {
                        return Err(SqlError::new(
                            "2200C",
                            "SQL regular expression may not contain more than two escape-double-quote separators",
                        ))
                    }
                }
            } else {
                out.push('\\');
                out.push(c);
            }
            after_escape = false;
        } else if Some(c) == e {
            after_escape = true;
        } else if in_class {
            if c == '\\' {
                out.push('\\');
            }
            out.push(c);
            if c == ']' {
                in_class = false;
            }
        } else if c == '[' {
            out.push(c);
            in_class = true;
        } else if c == '%' {
            out.push_str(".*");
        } else if c == '_' {
            out.push('.');
        } else if c == '(' {
            out.push_str("(?:");
        } else if matches!(c, '\\' | '.' | '^' | '$') {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out.push_str(")$");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Datum {
        Datum::Text(s.into())
    }

    #[test]
    fn replace_with_backrefs() {
        let r = call(TextFn::RegexpReplace, vec![t("foobarbaz"), t("b(..)"), t("X\\1Y"), t("g")]).unwrap();
        assert_eq!(r, t("fooXarYXazY"));
        let r = call(TextFn::RegexpReplace, vec![t("Hello"), t("l"), t("[\\&]")]).unwrap();
        assert_eq!(r, t("He[l]lo"));
        assert_eq!(call(TextFn::RegexpReplace, vec![t("a"), t("a"), t("b"), t("z")]).unwrap_err().code, "22023");
    }

    #[test]
    fn encodings_round_trip() {
        for b in [&b""[..], b"a", b"ab", b"abc", b"\x00\xff\\x"] {
            for f in ["hex", "base64", "escape"] {
                let e = encode(b, f).unwrap();
                assert_eq!(decode(&e, f).unwrap(), b, "{f} {e}");
            }
        }
        assert_eq!(encode(b"abc", "base64").unwrap(), "YWJj");
        assert_eq!(decode("YQ", "base64").unwrap_err().code, "22023");
    }

    #[test]
    fn format_specifiers() {
        let f = |fmt, args: Vec<Datum>| format(fmt, &args);
        assert_eq!(f("%s-%2$s-%1$s", vec![t("a"), t("b")]).unwrap(), "a-b-a");
        assert_eq!(f("[%5s|%-5s]", vec![t("a"), t("b")]).unwrap(), "[    a|b    ]");
        assert_eq!(f("%I %L %L", vec![t("Foo"), t("it's"), Datum::Null]).unwrap(), "\"Foo\" 'it''s' NULL");
        assert_eq!(f("%s %s", vec![t("a")]).unwrap_err().code, "22023");
    }

    #[test]
    fn similar_substring_first_part_is_lazy() {
        let re = similar_escape("a*#\"%#\"g*", Some("#")).unwrap();
        assert_eq!(lazy_first_part(&re), "^(?:a*?){1,1}?(.*){1,1}(?:g*)$");
        let re = similar_escape("[*]+#\"x#\"", Some("#")).unwrap();
        assert_eq!(lazy_first_part(&re), "^(?:[*]+?){1,1}?(x){1,1}(?:)$");
    }

    #[test]
    fn similar_to_regex() {
        assert_eq!(similar_escape("a%b_(c|d)", Some("\\")).unwrap(), "^(?:a.*b.(?:c|d))$");
        assert_eq!(similar_escape("a\\%", Some("\\")).unwrap(), "^(?:a\\%)$");
    }
}
