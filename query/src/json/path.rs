//! The `jsonpath` type: PostgreSQL 15's SQL/JSON path language read into a tree
//! ([`JsonPath`]) and printed back in the form PostgreSQL's jsonpath_out prints
//! (`$.a[*] ? (@ > 1)` is `$."a"[*]?(@ > 1)`). The lexer, grammar and printer follow
//! PostgreSQL 15's jsonpath_scan.l, jsonpath_gram.y and jsonpath.c, with their errors (42601
//! `syntax error at or near "..." of jsonpath input`, naming the token the way PostgreSQL's
//! scanner reports it). A value of the type is its printed text (`Datum::Text`), read again by
//! the evaluator ([`super::path_eval`]).
//!
//! Docs: <https://www.postgresql.org/docs/15/datatype-json.html#DATATYPE-JSONPATH> and
//! <https://www.postgresql.org/docs/15/functions-json.html#FUNCTIONS-SQLJSON-PATH>.

use crate::error::{code, Result, SqlError};
use crate::numeric::Num;

/// Nesting (parentheses, filters, subscripts, unary operators) deeper than this is refused
/// with 54001. PostgreSQL's limit is its stack depth (thousands of levels); paths written by
/// hand or by ORMs nest a few levels.
pub const MAX_PATH_DEPTH: usize = 64;

/// Accessors in one chain (`$.a.b[0]...`) past this are refused with 54001 (printing and
/// dropping recurse along a chain).
pub const MAX_CHAIN: usize = 256;

/// The stack one parse or one evaluation may use below where it started, as PostgreSQL's
/// check_stack_depth measures it (54001 past it): a shard thread has 2 MiB, and an unoptimized
/// build's parser takes about 25 KiB per level of parentheses, its evaluator about 9 KiB per
/// accessor, so the nesting limits above alone would not keep it inside.
pub const STACK_BUDGET_BYTES: usize = 768 << 10;

/// Where a parse or evaluation started on the stack.
pub(crate) struct StackBase(usize);

impl StackBase {
    #[inline(never)]
    pub(crate) fn here() -> StackBase {
        let probe = 0u8;
        StackBase(std::hint::black_box(&probe) as *const u8 as usize)
    }

    /// 54001 once the stack has grown [`STACK_BUDGET_BYTES`] past the start.
    #[inline(never)]
    pub(crate) fn check(&self) -> Result<()> {
        let probe = 0u8;
        let here = std::hint::black_box(&probe) as *const u8 as usize;
        if self.0.abs_diff(here) > STACK_BUDGET_BYTES {
            return Err(SqlError::new("54001", "stack depth limit exceeded"));
        }
        Ok(())
    }
}

/// A parsed path: the mode and the expression.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    /// `lax` (the default) or `strict`.
    pub lax: bool,
    pub expr: Item,
}

/// One item and the accessor that follows it (PostgreSQL's `next` chain).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub kind: Kind,
    pub next: Option<Box<Item>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    And,
    Or,
    Equal,
    NotEqual,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    StartsWith,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Not,
    IsUnknown,
    Exists,
    Plus,
    Minus,
    Filter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Type,
    Size,
    Abs,
    Floor,
    Ceiling,
    Double,
    KeyValue,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Type => "type",
            Method::Size => "size",
            Method::Abs => "abs",
            Method::Floor => "floor",
            Method::Ceiling => "ceiling",
            Method::Double => "double",
            Method::KeyValue => "keyvalue",
        }
    }
}

/// like_regex flags (PostgreSQL's JSP_REGEX_*).
pub const REGEX_ICASE: u8 = 1;
pub const REGEX_DOTALL: u8 = 2;
pub const REGEX_MLINE: u8 = 4;
pub const REGEX_WSPACE: u8 = 8;
pub const REGEX_QUOTE: u8 = 16;

/// `.**{last}`'s bound.
pub const LAST: u32 = u32::MAX;

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    /// numeric_out's text.
    Numeric(String),
    String(String),
    Variable(String),
    Root,
    Current,
    Last,
    Binary(BinOp, Box<Item>, Box<Item>),
    Unary(UnOp, Box<Item>),
    LikeRegex {
        expr: Box<Item>,
        pattern: String,
        flags: u8,
    },
    Key(String),
    AnyKey,
    AnyArray,
    /// Subscripts: `from` or `from to to`.
    IndexArray(Vec<(Item, Option<Item>)>),
    /// `.**{first to last}` ([`LAST`] for `last`).
    Any {
        first: u32,
        last: u32,
    },
    Method(Method),
    Datetime(Option<String>),
}

impl BinOp {
    /// jspOperationName.
    pub fn name(self) -> &'static str {
        match self {
            BinOp::And => "&&",
            BinOp::Or => "||",
            BinOp::Equal => "==",
            BinOp::NotEqual => "!=",
            BinOp::Less => "<",
            BinOp::Greater => ">",
            BinOp::LessOrEqual => "<=",
            BinOp::GreaterOrEqual => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::StartsWith => "starts with",
        }
    }
}

impl Item {
    fn new(kind: Kind) -> Item {
        Item { kind, next: None }
    }

    /// Appends `step` at the end of this item's chain.
    fn push(&mut self, step: Item) {
        let mut at = self;
        while at.next.is_some() {
            at = at.next.as_mut().expect("checked");
        }
        at.next = Some(Box::new(step));
    }
}

// ---------------------------------------------------------------------------------------------
// Lexer (jsonpath_scan.l)

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A quoted string.
    Str(String),
    /// `$name` or `$"name"`.
    Var(String),
    Int(String),
    Num(String),
    /// An unquoted word (keyword or identifier), unescaped.
    Word(String),
    /// A special character or operator.
    Op(&'static str),
    End,
}

struct Token {
    tok: Tok,
    /// The text PostgreSQL's error names (`yytext`); None: "at end of jsonpath input".
    shown: Option<String>,
}

fn syntax(message: &str, shown: Option<&str>) -> SqlError {
    match shown {
        None | Some("") => SqlError::new(code::SYNTAX_ERROR, format!("{message} at end of jsonpath input")),
        Some(t) => SqlError::new(code::SYNTAX_ERROR, format!("{message} at or near \"{t}\" of jsonpath input")),
    }
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

fn is_special(c: u8) -> bool {
    b"?%$.[]{}()|&!=<>@#,*:-+/\\\" \t\n\r\x0c".contains(&c)
}

/// "other": what continues a word (not special, not blank).
fn is_other(c: u8) -> bool {
    !is_special(c)
}

struct Lexer<'a> {
    s: &'a str,
    b: &'a [u8],
    at: usize,
}

impl Lexer<'_> {
    /// Reads one backslash escape (at the backslash) into `out`.
    fn escape(&mut self, out: &mut String) -> Result<()> {
        let start = self.at;
        let Some(&c) = self.b.get(self.at + 1) else {
            return Err(syntax("unexpected end after backslash", Some("\\")));
        };
        self.at += 2;
        match c {
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'v' => out.push('\u{b}'),
            b'x' => {
                let hex = |i: usize| self.b.get(i).filter(|c| c.is_ascii_hexdigit()).is_some();
                if hex(self.at) && hex(self.at + 1) {
                    let v = u8::from_str_radix(&self.s[self.at..self.at + 2], 16).unwrap_or(0);
                    self.at += 2;
                    if v == 0 {
                        return Err(SqlError::new("22P05", "unsupported Unicode escape sequence"));
                    }
                    out.push(char::from(v));
                } else {
                    let mut e = self.at;
                    while e < self.b.len() && e < self.at + 1 && self.b[e].is_ascii_hexdigit() {
                        e += 1;
                    }
                    return Err(syntax("invalid hex character sequence", Some(&self.s[start..e])));
                }
            }
            b'u' => {
                // A run of \uXXXX / \u{X...} escapes: surrogate pairs combine.
                self.at = start;
                let mut high: Option<u32> = None;
                while self.b.get(self.at) == Some(&b'\\') && self.b.get(self.at + 1) == Some(&b'u') {
                    let esc_start = self.at;
                    self.at += 2;
                    let cp = if self.b.get(self.at) == Some(&b'{') {
                        let d0 = self.at + 1;
                        let mut e = d0;
                        while e < self.b.len() && e < d0 + 6 && self.b[e].is_ascii_hexdigit() {
                            e += 1;
                        }
                        if e == d0 || self.b.get(e) != Some(&b'}') {
                            return Err(syntax("invalid unicode sequence", Some(&self.s[esc_start..e])));
                        }
                        self.at = e + 1;
                        u32::from_str_radix(&self.s[d0..e], 16).unwrap_or(0)
                    } else {
                        let d0 = self.at;
                        let mut e = d0;
                        while e < self.b.len() && e < d0 + 4 && self.b[e].is_ascii_hexdigit() {
                            e += 1;
                        }
                        if e < d0 + 4 {
                            return Err(syntax("invalid unicode sequence", Some(&self.s[esc_start..e])));
                        }
                        self.at = e;
                        u32::from_str_radix(&self.s[d0..e], 16).unwrap_or(0)
                    };
                    // PostgreSQL's addUnicode / addUnicodeChar checks, in its order.
                    let bad = |detail: &str| {
                        SqlError::new(code::INVALID_TEXT_REPRESENTATION, "invalid input syntax for type jsonpath")
                            .detail(detail)
                    };
                    const LOW_FIRST: &str = "Unicode low surrogate must follow a high surrogate.";
                    if cp > 0x10FFFF {
                        return Err(SqlError::new(code::SYNTAX_ERROR, "invalid Unicode code point"));
                    }
                    if (0xD800..0xDC00).contains(&cp) {
                        if high.is_some() {
                            return Err(bad("Unicode high surrogate must not follow a high surrogate."));
                        }
                        high = Some(cp);
                        continue;
                    }
                    let cp = if (0xDC00..0xE000).contains(&cp) {
                        let Some(h) = high.take() else { return Err(bad(LOW_FIRST)) };
                        0x10000 + ((h - 0xD800) << 10) + (cp - 0xDC00)
                    } else if high.is_some() {
                        return Err(bad(LOW_FIRST));
                    } else {
                        cp
                    };
                    if cp == 0 {
                        return Err(SqlError::new("22P05", "unsupported Unicode escape sequence"));
                    }
                    out.push(char::from_u32(cp).ok_or_else(|| bad(LOW_FIRST))?);
                }
                if high.is_some() {
                    return Err(SqlError::new(
                        code::INVALID_TEXT_REPRESENTATION,
                        "invalid input syntax for type jsonpath",
                    )
                    .detail("Unicode low surrogate must follow a high surrogate."));
                }
            }
            _ => {
                // Any other escaped character is itself (a whole UTF-8 character).
                let ch = self.s[start + 1..].chars().next().unwrap_or('\\');
                self.at = start + 1 + ch.len_utf8();
                out.push(ch);
            }
        }
        Ok(())
    }

    /// A quoted string's text (at the opening quote), unescaped.
    fn quoted(&mut self) -> Result<String> {
        self.at += 1;
        let mut out = String::new();
        loop {
            match self.b.get(self.at) {
                None => return Err(syntax("unexpected end of quoted string", None)),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => self.escape(&mut out)?,
                Some(_) => {
                    let start = self.at;
                    while self.at < self.b.len() && !matches!(self.b[self.at], b'"' | b'\\') {
                        self.at += 1;
                    }
                    out.push_str(&self.s[start..self.at]);
                }
            }
        }
    }

    fn skip_blanks_and_comments(&mut self) -> Result<()> {
        loop {
            while self.at < self.b.len() && is_blank(self.b[self.at]) {
                self.at += 1;
            }
            if self.b[self.at..].starts_with(b"/*") {
                match self.s[self.at + 2..].find("*/") {
                    Some(e) => self.at += 2 + e + 2,
                    None => return Err(syntax("unexpected end of comment", None)),
                }
            } else {
                return Ok(());
            }
        }
    }

    fn next(&mut self) -> Result<Token> {
        self.skip_blanks_and_comments()?;
        let start = self.at;
        let Some(&c) = self.b.get(self.at) else { return Ok(Token { tok: Tok::End, shown: None }) };
        let plain = |tok: Tok, s: &str| Token { tok, shown: Some(s.to_string()) };
        // Two-character operators first.
        for op in ["&&", "||", "**", "<=", "==", "<>", "!=", ">="] {
            if self.b[self.at..].starts_with(op.as_bytes()) {
                self.at += 2;
                let op = if op == "<>" { "!=" } else { op };
                return Ok(plain(Tok::Op(op), &self.s[start..self.at]));
            }
        }
        if c.is_ascii_digit() || (c == b'.' && self.b.get(self.at + 1).is_some_and(u8::is_ascii_digit)) {
            // Flex takes the longest match: a run of "other" characters longer than the numeric
            // literal (with its one junk character) is a word (`12abc`, `0x10`, `1_000`).
            let other_len = self.b[self.at..].iter().take_while(|&&c| is_other(c)).count();
            if other_len <= self.number_len() {
                return self.number();
            }
        }
        match c {
            b'"' => {
                let s = self.quoted()?;
                return Ok(plain(Tok::Str(s), "\""));
            }
            b'$' => {
                self.at += 1;
                if self.b.get(self.at) == Some(&b'"') {
                    let s = self.quoted()?;
                    return Ok(plain(Tok::Var(s), "\""));
                }
                let ws = self.at;
                while self.at < self.b.len() && is_other(self.b[self.at]) {
                    self.at += 1;
                }
                if self.at > ws {
                    let name = self.s[ws..self.at].to_string();
                    return Ok(plain(Tok::Var(name), &self.s[start..self.at]));
                }
                return Ok(plain(Tok::Op("$"), "$"));
            }
            b'\\' => {}
            c if is_special(c) => {
                self.at += 1;
                let op: &'static str = match c {
                    b'?' => "?",
                    b'%' => "%",
                    b'.' => ".",
                    b'[' => "[",
                    b']' => "]",
                    b'{' => "{",
                    b'}' => "}",
                    b'(' => "(",
                    b')' => ")",
                    b'|' => "|",
                    b'&' => "&",
                    b'!' => "!",
                    b'=' => "=",
                    b'<' => "<",
                    b'>' => ">",
                    b'@' => "@",
                    b'#' => "#",
                    b',' => ",",
                    b'*' => "*",
                    b':' => ":",
                    b'-' => "-",
                    b'+' => "+",
                    _ => "/",
                };
                return Ok(plain(Tok::Op(op), op));
            }
            _ => {}
        }
        // A word: "other" characters and backslash escapes.
        let mut word = String::new();
        loop {
            match self.b.get(self.at) {
                Some(b'\\') => self.escape(&mut word)?,
                Some(&c) if is_other(c) => {
                    let s = self.at;
                    while self.at < self.b.len() && is_other(self.b[self.at]) {
                        self.at += 1;
                    }
                    let _ = c;
                    word.push_str(&self.s[s..self.at]);
                }
                _ => break,
            }
        }
        // A comment right after a word swallows the word (PostgreSQL's `<xnq>\/\*` rule starts
        // the comment without returning it).
        if self.b[self.at..].starts_with(b"/*") {
            return self.next();
        }
        // PostgreSQL's scanner names what ends the word: the blanks after it, or nothing
        // (at end) when the input or a special character follows.
        let mut e = self.at;
        while e < self.b.len() && is_blank(self.b[e]) {
            e += 1;
        }
        let shown = (e > self.at).then(|| self.s[self.at..e].to_string());
        Ok(Token { tok: Tok::Word(word), shown })
    }

    /// How many bytes the numeric rules match here (a literal, its one junk character, or
    /// realfail's `1e+`).
    fn number_len(&self) -> usize {
        let mut probe = Lexer { s: self.s, b: self.b, at: self.at };
        match probe.number() {
            Ok(_) => probe.at - self.at,
            Err(e) => e.message.split('"').nth(1).map_or(0, str::len),
        }
    }

    /// A numeric literal (PostgreSQL 15's integer, decimal and real, and their junk errors).
    fn number(&mut self) -> Result<Token> {
        let b = self.b;
        let start = self.at;
        let mut i = self.at;
        let digits = |i: &mut usize| {
            let s = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i - s
        };
        let mut is_int = true;
        // integer: 0 | [1-9][0-9]*
        if b[i] == b'0' {
            i += 1;
        } else if b[i] != b'.' {
            digits(&mut i);
        }
        if i < b.len() && b[i] == b'.' && (i > start || b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            is_int = false;
            i += 1;
            digits(&mut i);
        }
        let mut real = false;
        if i < b.len() && matches!(b[i], b'e' | b'E') {
            let mut j = i + 1;
            let signed = j < b.len() && matches!(b[j], b'+' | b'-');
            if signed {
                j += 1;
            }
            if digits(&mut j) > 0 {
                i = j;
                real = true;
            } else if signed {
                return Err(syntax("invalid numeric literal", Some(&self.s[start..j])));
            }
        }
        if i < b.len() && is_other(b[i]) {
            // One more character than the literal: PostgreSQL's {integer}{other} rules.
            let ch = self.s[i..].chars().next().map_or(1, char::len_utf8);
            return Err(syntax("trailing junk after numeric literal", Some(&self.s[start..i + ch])));
        }
        self.at = i;
        let text = &self.s[start..i];
        let shown = Some(text.to_string());
        if is_int && !real {
            return Ok(Token { tok: Tok::Int(text.to_string()), shown });
        }
        Ok(Token { tok: Tok::Num(text.to_string()), shown })
    }
}

/// A numeric literal's value as numeric_out prints it.
fn numeric_text(lit: &str) -> Result<String> {
    // numeric_in reads `1.`, `.1` and `1.e5`; Num::parse wants digits on both sides.
    let (mant, exp) = match lit.find(['e', 'E']) {
        Some(i) => (&lit[..i], &lit[i..]),
        None => (lit, ""),
    };
    let mant = mant.strip_suffix('.').unwrap_or(mant);
    let mant = if mant.starts_with('.') { format!("0{mant}") } else { mant.to_string() };
    Ok(Num::parse(&format!("{mant}{exp}"))?.to_text())
}

// ---------------------------------------------------------------------------------------------
// Parser (jsonpath_gram.y)

struct Parser<'a> {
    lex: Lexer<'a>,
    tok: Token,
    depth: usize,
    stack: StackBase,
}

fn keyword(w: &str) -> Option<&'static str> {
    const KEYWORDS: [&str; 22] = [
        "abs",
        "ceiling",
        "datetime",
        "double",
        "exists",
        "false",
        "flag",
        "floor",
        "is",
        "keyvalue",
        "last",
        "lax",
        "like_regex",
        "null",
        "size",
        "starts",
        "strict",
        "to",
        "true",
        "type",
        "unknown",
        "with",
    ];
    KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(w)).copied()
}

impl Parser<'_> {
    fn bump(&mut self) -> Result<()> {
        self.tok = self.lex.next()?;
        Ok(())
    }

    fn error(&self) -> SqlError {
        syntax("syntax error", self.tok.shown.as_deref())
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.tok.tok, Tok::Op(o) if o == op)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.tok.tok, Tok::Word(w) if keyword(w) == Some(kw))
    }

    fn expect_op(&mut self, op: &str) -> Result<()> {
        if !self.is_op(op) {
            return Err(self.error());
        }
        self.bump()
    }

    fn expect_kw(&mut self, kw: &str) -> Result<()> {
        if !self.is_kw(kw) {
            return Err(self.error());
        }
        self.bump()
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_PATH_DEPTH {
            return Err(SqlError::new("54001", "stack depth limit exceeded"));
        }
        self.stack.check()
    }

    /// expr_or_predicate: (item, is a predicate).
    fn or_level(&mut self) -> Result<(Item, bool)> {
        let (mut l, mut lp) = self.and_level()?;
        while self.is_op("||") {
            if !lp {
                return Err(self.error());
            }
            self.bump()?;
            let (r, rp) = self.and_level()?;
            if !rp {
                return Err(self.error());
            }
            l = Item::new(Kind::Binary(BinOp::Or, Box::new(l), Box::new(r)));
            lp = true;
        }
        Ok((l, lp))
    }

    fn and_level(&mut self) -> Result<(Item, bool)> {
        let (mut l, mut lp) = self.not_level()?;
        while self.is_op("&&") {
            if !lp {
                return Err(self.error());
            }
            self.bump()?;
            let (r, rp) = self.not_level()?;
            if !rp {
                return Err(self.error());
            }
            l = Item::new(Kind::Binary(BinOp::And, Box::new(l), Box::new(r)));
            lp = true;
        }
        Ok((l, lp))
    }

    fn not_level(&mut self) -> Result<(Item, bool)> {
        if self.is_op("!") {
            self.bump()?;
            self.enter()?;
            let arg = self.delimited_predicate()?;
            self.depth -= 1;
            return Ok((Item::new(Kind::Unary(UnOp::Not, Box::new(arg))), true));
        }
        self.comparison()
    }

    /// `( predicate )` or `exists ( expr )`.
    fn delimited_predicate(&mut self) -> Result<Item> {
        if self.is_kw("exists") {
            return self.exists();
        }
        self.expect_op("(")?;
        let (p, is_pred) = self.or_level()?;
        if !is_pred {
            return Err(self.error());
        }
        self.expect_op(")")?;
        Ok(p)
    }

    fn exists(&mut self) -> Result<Item> {
        self.bump()?;
        self.expect_op("(")?;
        self.enter()?;
        let (e, is_pred) = self.additive()?;
        if is_pred {
            return Err(self.error());
        }
        self.depth -= 1;
        self.expect_op(")")?;
        Ok(Item::new(Kind::Unary(UnOp::Exists, Box::new(e))))
    }

    fn comparison(&mut self) -> Result<(Item, bool)> {
        if self.is_kw("exists") {
            return Ok((self.exists()?, true));
        }
        let (l, lp) = self.additive()?;
        if lp {
            return Ok((l, true));
        }
        let cmp = match &self.tok.tok {
            Tok::Op("==") => Some(BinOp::Equal),
            Tok::Op("!=") => Some(BinOp::NotEqual),
            Tok::Op("<") => Some(BinOp::Less),
            Tok::Op(">") => Some(BinOp::Greater),
            Tok::Op("<=") => Some(BinOp::LessOrEqual),
            Tok::Op(">=") => Some(BinOp::GreaterOrEqual),
            _ => None,
        };
        if let Some(op) = cmp {
            self.bump()?;
            let (r, rp) = self.additive()?;
            if rp {
                return Err(self.error());
            }
            return Ok((Item::new(Kind::Binary(op, Box::new(l), Box::new(r))), true));
        }
        if self.is_kw("starts") {
            self.bump()?;
            self.expect_kw("with")?;
            let initial = match &self.tok.tok {
                Tok::Str(s) => Item::new(Kind::String(s.clone())),
                Tok::Var(v) => Item::new(Kind::Variable(v.clone())),
                _ => return Err(self.error()),
            };
            self.bump()?;
            return Ok((Item::new(Kind::Binary(BinOp::StartsWith, Box::new(l), Box::new(initial))), true));
        }
        if self.is_kw("like_regex") {
            self.bump()?;
            let Tok::Str(pattern) = &self.tok.tok else { return Err(self.error()) };
            let pattern = pattern.clone();
            self.bump()?;
            let mut flags = 0u8;
            if self.is_kw("flag") {
                self.bump()?;
                let Tok::Str(f) = &self.tok.tok else { return Err(self.error()) };
                for ch in f.chars() {
                    flags |= match ch {
                        'i' => REGEX_ICASE,
                        's' => REGEX_DOTALL,
                        'm' => REGEX_MLINE,
                        'x' => REGEX_WSPACE,
                        'q' => REGEX_QUOTE,
                        other => {
                            return Err(SqlError::new(code::SYNTAX_ERROR, "invalid input syntax for type jsonpath")
                                .detail(format!("unrecognized flag character \"{other}\" in LIKE_REGEX predicate")))
                        }
                    };
                }
                self.bump()?;
            }
            // The pattern is checked when the path is read, as PostgreSQL compiles it then.
            super::path_eval::like_regex(&pattern, flags)?;
            return Ok((Item::new(Kind::LikeRegex { expr: Box::new(l), pattern, flags }), true));
        }
        Ok((l, false))
    }

    fn additive(&mut self) -> Result<(Item, bool)> {
        let (mut l, lp) = self.multiplicative()?;
        if lp {
            return Ok((l, true));
        }
        loop {
            let op = match self.tok.tok {
                Tok::Op("+") => BinOp::Add,
                Tok::Op("-") => BinOp::Sub,
                _ => return Ok((l, false)),
            };
            self.bump()?;
            let (r, rp) = self.multiplicative()?;
            if rp {
                return Err(self.error());
            }
            l = Item::new(Kind::Binary(op, Box::new(l), Box::new(r)));
        }
    }

    fn multiplicative(&mut self) -> Result<(Item, bool)> {
        let (mut l, lp) = self.unary()?;
        if lp {
            return Ok((l, true));
        }
        loop {
            let op = match self.tok.tok {
                Tok::Op("*") => BinOp::Mul,
                Tok::Op("/") => BinOp::Div,
                Tok::Op("%") => BinOp::Mod,
                _ => return Ok((l, false)),
            };
            self.bump()?;
            let (r, rp) = self.unary()?;
            if rp {
                return Err(self.error());
            }
            l = Item::new(Kind::Binary(op, Box::new(l), Box::new(r)));
        }
    }

    fn unary(&mut self) -> Result<(Item, bool)> {
        let op = match self.tok.tok {
            Tok::Op("+") => UnOp::Plus,
            Tok::Op("-") => UnOp::Minus,
            _ => return self.accessor_expr(),
        };
        self.bump()?;
        self.enter()?;
        let (a, ap) = self.unary()?;
        self.depth -= 1;
        if ap {
            return Err(self.error());
        }
        // makeItemUnary: a sign on a numeric literal is folded into it.
        if a.next.is_none() {
            if let Kind::Numeric(n) = &a.kind {
                if op == UnOp::Plus {
                    return Ok((a, false));
                }
                let v = Num::parse(n)?.neg().to_text();
                return Ok((Item::new(Kind::Numeric(v)), false));
            }
        }
        Ok((Item::new(Kind::Unary(op, Box::new(a))), false))
    }

    fn accessor_expr(&mut self) -> Result<(Item, bool)> {
        let (mut head, mut is_pred) = match &self.tok.tok {
            Tok::Op("(") => {
                self.bump()?;
                self.enter()?;
                let (e, p) = self.or_level()?;
                self.depth -= 1;
                self.expect_op(")")?;
                if p && self.is_kw("is") {
                    self.bump()?;
                    self.expect_kw("unknown")?;
                    (Item::new(Kind::Unary(UnOp::IsUnknown, Box::new(e))), true)
                } else {
                    (e, p)
                }
            }
            _ => (self.primary()?, false),
        };
        let mut steps = 0usize;
        while let Some(step) = self.accessor_op()? {
            steps += 1;
            if steps > MAX_CHAIN {
                return Err(SqlError::new("54001", "stack depth limit exceeded"));
            }
            head.push(step);
            is_pred = false;
        }
        Ok((head, is_pred))
    }

    fn primary(&mut self) -> Result<Item> {
        let kind = match &self.tok.tok {
            Tok::Str(s) => Kind::String(s.clone()),
            Tok::Var(v) => Kind::Variable(v.clone()),
            Tok::Int(n) | Tok::Num(n) => Kind::Numeric(numeric_text(n)?),
            Tok::Op("$") => Kind::Root,
            Tok::Op("@") => Kind::Current,
            Tok::Word(w) => match keyword(w) {
                Some("null") => Kind::Null,
                Some("true") => Kind::Bool(true),
                Some("false") => Kind::Bool(false),
                Some("last") => Kind::Last,
                _ => return Err(self.error()),
            },
            _ => return Err(self.error()),
        };
        self.bump()?;
        Ok(Item::new(kind))
    }

    /// One accessor_op, or None when the next token starts none.
    fn accessor_op(&mut self) -> Result<Option<Item>> {
        if self.is_op("?") {
            self.bump()?;
            self.expect_op("(")?;
            self.enter()?;
            let (p, is_pred) = self.or_level()?;
            if !is_pred {
                return Err(self.error());
            }
            self.depth -= 1;
            self.expect_op(")")?;
            return Ok(Some(Item::new(Kind::Unary(UnOp::Filter, Box::new(p)))));
        }
        if self.is_op("[") {
            self.bump()?;
            if self.is_op("*") {
                self.bump()?;
                self.expect_op("]")?;
                return Ok(Some(Item::new(Kind::AnyArray)));
            }
            let mut subs = Vec::new();
            self.enter()?;
            loop {
                let (from, fp) = self.additive()?;
                if fp {
                    return Err(self.error());
                }
                let to = if self.is_kw("to") {
                    self.bump()?;
                    let (to, tp) = self.additive()?;
                    if tp {
                        return Err(self.error());
                    }
                    Some(to)
                } else {
                    None
                };
                subs.push((from, to));
                if self.is_op(",") {
                    self.bump()?;
                    continue;
                }
                break;
            }
            self.depth -= 1;
            self.expect_op("]")?;
            return Ok(Some(Item::new(Kind::IndexArray(subs))));
        }
        if !self.is_op(".") {
            return Ok(None);
        }
        self.bump()?;
        let kind = match &self.tok.tok {
            Tok::Op("*") => {
                self.bump()?;
                Kind::AnyKey
            }
            Tok::Op("**") => {
                self.bump()?;
                if self.is_op("{") {
                    self.bump()?;
                    let first = self.any_level()?;
                    let last = if self.is_kw("to") {
                        self.bump()?;
                        self.any_level()?
                    } else {
                        first
                    };
                    self.expect_op("}")?;
                    Kind::Any { first, last }
                } else {
                    Kind::Any { first: 0, last: LAST }
                }
            }
            Tok::Str(s) => {
                let k = s.clone();
                self.bump()?;
                Kind::Key(k)
            }
            Tok::Word(w) => {
                let w = w.clone();
                let kw = keyword(&w);
                self.bump()?;
                let method = match kw {
                    Some("abs") => Some(Method::Abs),
                    Some("size") => Some(Method::Size),
                    Some("type") => Some(Method::Type),
                    Some("floor") => Some(Method::Floor),
                    Some("double") => Some(Method::Double),
                    Some("ceiling") => Some(Method::Ceiling),
                    Some("keyvalue") => Some(Method::KeyValue),
                    _ => None,
                };
                if kw == Some("datetime") && self.is_op("(") {
                    self.bump()?;
                    let template = match &self.tok.tok {
                        Tok::Str(s) => {
                            let s = s.clone();
                            self.bump()?;
                            Some(s)
                        }
                        _ => None,
                    };
                    self.expect_op(")")?;
                    Kind::Datetime(template)
                } else if let (Some(m), true) = (method, self.is_op("(")) {
                    self.bump()?;
                    self.expect_op(")")?;
                    Kind::Method(m)
                } else {
                    Kind::Key(w)
                }
            }
            _ => return Err(self.error()),
        };
        Ok(Some(Item::new(kind)))
    }

    fn any_level(&mut self) -> Result<u32> {
        let v = match &self.tok.tok {
            Tok::Int(n) => {
                let v: i32 = n.parse().map_err(|_| {
                    SqlError::new(
                        code::NUMERIC_VALUE_OUT_OF_RANGE,
                        format!("value \"{n}\" is out of range for type integer"),
                    )
                })?;
                v as u32
            }
            Tok::Word(w) if keyword(w) == Some("last") => LAST,
            _ => return Err(self.error()),
        };
        self.bump()?;
        Ok(v)
    }
}

/// The checks PostgreSQL makes as it flattens the parsed path: `@` only inside a filter,
/// `last` only inside a subscript.
fn check(item: &Item, nesting: usize, in_subscript: bool) -> Result<()> {
    let mut at = Some(item);
    while let Some(i) = at {
        match &i.kind {
            Kind::Binary(_, l, r) => {
                check(l, nesting, in_subscript)?;
                check(r, nesting, in_subscript)?;
            }
            Kind::LikeRegex { expr, .. } => check(expr, nesting, in_subscript)?,
            Kind::Unary(op, a) => check(a, nesting + usize::from(*op == UnOp::Filter), in_subscript)?,
            Kind::Current if nesting == 0 => {
                return Err(SqlError::new(code::SYNTAX_ERROR, "@ is not allowed in root expressions"))
            }
            Kind::Last if !in_subscript => {
                return Err(SqlError::new(code::SYNTAX_ERROR, "LAST is allowed only in array subscripts"))
            }
            Kind::IndexArray(subs) => {
                for (from, to) in subs {
                    check(from, nesting, true)?;
                    if let Some(to) = to {
                        check(to, nesting, true)?;
                    }
                }
            }
            _ => {}
        }
        at = i.next.as_deref();
    }
    Ok(())
}

/// Reads a jsonpath text (jsonpath_in).
pub fn parse(s: &str) -> Result<JsonPath> {
    let mut lex = Lexer { s, b: s.as_bytes(), at: 0 };
    let tok = lex.next()?;
    let mut p = Parser { lex, tok, depth: 0, stack: StackBase::here() };
    if p.tok.tok == Tok::End {
        return Err(SqlError::invalid_text("jsonpath", s));
    }
    let mut lax = true;
    if p.is_kw("strict") || p.is_kw("lax") {
        lax = p.is_kw("lax");
        p.bump()?;
    }
    let (expr, _) = p.or_level()?;
    if p.tok.tok != Tok::End {
        return Err(p.error());
    }
    check(&expr, 0, false)?;
    Ok(JsonPath { lax, expr })
}

/// The most parsed paths a shard keeps ([`parse_cached`]).
const MAX_CACHED_PATHS: usize = 256;

thread_local! {
    /// Paths this shard parsed, by their text (a value of the type is its printed text, so a
    /// path applied to every row of a table is parsed once); bounded, cleared when full.
    static PARSED: std::cell::RefCell<std::collections::HashMap<String, std::rc::Rc<JsonPath>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// [`parse`], through this shard's cache of parsed paths.
pub fn parse_cached(s: &str) -> Result<std::rc::Rc<JsonPath>> {
    if let Some(p) = PARSED.with(|c| c.borrow().get(s).cloned()) {
        return Ok(p);
    }
    let p = std::rc::Rc::new(parse(s)?);
    PARSED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= MAX_CACHED_PATHS {
            c.clear();
        }
        c.insert(s.to_string(), p.clone());
    });
    Ok(p)
}

/// Reads a jsonpath text into the text PostgreSQL prints for it.
pub fn normalize(s: &str) -> Result<String> {
    Ok(parse(s)?.to_string())
}

// ---------------------------------------------------------------------------------------------
// Printer (jsonpath.c's printJsonPathItem)

fn priority(item: &Item) -> u8 {
    match &item.kind {
        Kind::Binary(op, ..) => match op {
            BinOp::Or => 0,
            BinOp::And => 1,
            BinOp::Add | BinOp::Sub => 3,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 4,
            _ => 2,
        },
        Kind::Unary(UnOp::Plus | UnOp::Minus, _) => 5,
        _ => 6,
    }
}

fn print(out: &mut String, v: &Item, in_key: bool, brackets: bool) {
    match &v.kind {
        Kind::Null => out.push_str("null"),
        Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Kind::Numeric(n) => {
            if v.next.is_some() {
                out.push('(');
            }
            out.push_str(n);
            if v.next.is_some() {
                out.push(')');
            }
        }
        Kind::String(s) => super::write_string(out, s),
        Kind::Variable(name) => {
            out.push('$');
            super::write_string(out, name);
        }
        Kind::Root => out.push('$'),
        Kind::Current => out.push('@'),
        Kind::Last => out.push_str("last"),
        Kind::Binary(op, l, r) => {
            if brackets {
                out.push('(');
            }
            let p = priority(v);
            print(out, l, false, priority(l) <= p);
            out.push(' ');
            out.push_str(op.name());
            out.push(' ');
            print(out, r, false, priority(r) <= p);
            if brackets {
                out.push(')');
            }
        }
        Kind::LikeRegex { expr, pattern, flags } => {
            if brackets {
                out.push('(');
            }
            print(out, expr, false, priority(expr) <= priority(v));
            out.push_str(" like_regex ");
            super::write_string(out, pattern);
            if *flags != 0 {
                out.push_str(" flag \"");
                for (bit, c) in [
                    (REGEX_ICASE, 'i'),
                    (REGEX_DOTALL, 's'),
                    (REGEX_MLINE, 'm'),
                    (REGEX_WSPACE, 'x'),
                    (REGEX_QUOTE, 'q'),
                ] {
                    if flags & bit != 0 {
                        out.push(c);
                    }
                }
                out.push('"');
            }
            if brackets {
                out.push(')');
            }
        }
        Kind::Unary(op @ (UnOp::Plus | UnOp::Minus), a) => {
            if brackets {
                out.push('(');
            }
            out.push(if *op == UnOp::Plus { '+' } else { '-' });
            print(out, a, false, priority(a) <= priority(v));
            if brackets {
                out.push(')');
            }
        }
        Kind::Unary(UnOp::Filter, a) => {
            out.push_str("?(");
            print(out, a, false, false);
            out.push(')');
        }
        Kind::Unary(UnOp::Not, a) => {
            out.push_str("!(");
            print(out, a, false, false);
            out.push(')');
        }
        Kind::Unary(UnOp::IsUnknown, a) => {
            out.push('(');
            print(out, a, false, false);
            out.push_str(") is unknown");
        }
        Kind::Unary(UnOp::Exists, a) => {
            out.push_str("exists (");
            print(out, a, false, false);
            out.push(')');
        }
        Kind::Key(k) => {
            if in_key {
                out.push('.');
            }
            super::write_string(out, k);
        }
        Kind::AnyKey => {
            if in_key {
                out.push('.');
            }
            out.push('*');
        }
        Kind::AnyArray => out.push_str("[*]"),
        Kind::IndexArray(subs) => {
            out.push('[');
            for (i, (from, to)) in subs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                print(out, from, false, false);
                if let Some(to) = to {
                    out.push_str(" to ");
                    print(out, to, false, false);
                }
            }
            out.push(']');
        }
        Kind::Any { first, last } => {
            if in_key {
                out.push('.');
            }
            let lv = |n: u32| if n == LAST { "last".to_string() } else { n.to_string() };
            if *first == 0 && *last == LAST {
                out.push_str("**");
            } else if first == last {
                out.push_str(&format!("**{{{}}}", lv(*first)));
            } else {
                out.push_str(&format!("**{{{} to {}}}", lv(*first), lv(*last)));
            }
        }
        Kind::Method(m) => {
            out.push('.');
            out.push_str(m.name());
            out.push_str("()");
        }
        Kind::Datetime(template) => {
            out.push_str(".datetime(");
            if let Some(t) = template {
                super::write_string(out, t);
            }
            out.push(')');
        }
    }
    if let Some(next) = &v.next {
        print(out, next, true, true);
    }
}

impl std::fmt::Display for JsonPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        if !self.lax {
            out.push_str("strict ");
        }
        print(&mut out, &self.expr, false, true);
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_postgresql() {
        // Each pair: input, PostgreSQL 15's jsonpath_out.
        for (input, printed) in [
            ("$.a[*] ? (@ > 1)", "$.\"a\"[*]?(@ > 1)"),
            ("1 + 2 + 3", "((1 + 2) + 3)"),
            ("1 + (2 + 3)", "(1 + (2 + 3))"),
            ("1 * 2 + 4 % -3 != false", "(1 * 2 + 4 % -3 != false)"),
            ("$ == 1", "($ == 1)"),
            ("(1).type()", "(1).type()"),
            ("(1 + 2).type()", "(1 + 2).type()"),
            ("$.a/+-1", "($.\"a\" / -1)"),
            ("$ ? (1 + 2 == 3).a", "$?(1 + 2 == 3).\"a\""),
            ("$.size", "$.\"size\""),
            ("$.Size()", "$.size()"),
            ("STRICT $.a", "strict $.\"a\""),
            ("lax $.a", "$.\"a\""),
            ("$var", "$\"var\""),
            ("$\"var x\"", "$\"var x\""),
            ("$.**{2 to last}", "$.**{2 to last}"),
            ("$.**{last}", "$.**{last}"),
            ("$.**{1}", "$.**{1}"),
            ("$.** ? (@ == 1)", "$.**?(@ == 1)"),
            ("$[1, 2 to 3, last]", "$[1,2 to 3,last]"),
            ("$.a ? (@ like_regex \"^a\" flag \"mqsi\")", "$.\"a\"?(@ like_regex \"^a\" flag \"ismq\")"),
            ("$.a ? (@ starts with \"x\")", "$.\"a\"?(@ starts with \"x\")"),
            ("$ ? ((@ > 1) is unknown)", "$?((@ > 1) is unknown)"),
            ("$ ? (!(@ > 1))", "$?(!(@ > 1))"),
            ("$ ? (exists (@.a))", "$?(exists (@.\"a\"))"),
            ("$.datetime(\"HH24\")", "$.datetime(\"HH24\")"),
            (".1", "0.1"),
            ("1.", "1"),
            ("0.0010", "0.0010"),
            ("1e3", "1000"),
            ("1.0e-2", "0.010"),
            ("- $.a", "(-$.\"a\")"),
            ("-(1+2)", "(-(1 + 2))"),
            ("-(-1)", "1"),
            ("-(1).a", "(-(1).\"a\")"),
            ("+$", "(+$)"),
            ("1 - -1", "(1 - -1)"),
            ("$ ? (@ == \"a\\nb\\u0041\")", "$?(@ == \"a\\nbA\")"),
            ("$ ? (@.a == 1 && @.b == 2 || !(@.c == 3))", "$?(@.\"a\" == 1 && @.\"b\" == 2 || !(@.\"c\" == 3))"),
            ("$ ? ((1 + 2).type() == \"number\")", "$?(1 + 2.type() == \"number\")"),
            ("$ ? (-(@.a) > 1)", "$?(-@.\"a\" > 1)"),
            ("$ == 1 && $ == 2", "($ == 1 && $ == 2)"),
            ("$ like_regex \"a\"", "($ like_regex \"a\")"),
            ("exists($)", "exists ($)"),
            ("($ > 1).type()", "($ > 1).type()"),
            ("$.a /* c */ .b", "$.\"a\".\"b\""),
            ("$.a\\u0062", "$.\"ab\""),
            ("\"a\\x41\\u{1F600}\\t\"", "\"aA😀\\t\""),
            ("$ ? (@ == \"\\uD83D\\uDE00\")", "$?(@ == \"😀\")"),
            ("$ ? ((@ > 1) is unknown).a", "$?((@ > 1) is unknown).\"a\""),
        ] {
            assert_eq!(normalize(input).unwrap(), printed, "{input}");
            // The printed form reads back to itself (but for PostgreSQL's own slip: a
            // parenthesized expression with an accessor inside a filter loses its parentheses).
            if !printed.contains("2.type") {
                assert_eq!(normalize(printed).unwrap(), printed, "{printed}");
            }
        }
    }

    #[test]
    fn errors_as_postgresql() {
        for (input, code, message) in [
            ("1.type()", "42601", "trailing junk after numeric literal at or near \"1.t\" of jsonpath input"),
            ("00", "42601", "trailing junk after numeric literal at or near \"00\" of jsonpath input"),
            ("$.1a", "42601", "trailing junk after numeric literal at or near \".1a\" of jsonpath input"),
            ("$.1", "42601", "syntax error at or near \".1\" of jsonpath input"),
            ("@", "42601", "@ is not allowed in root expressions"),
            ("last", "42601", "LAST is allowed only in array subscripts"),
            ("$.a && $.b", "42601", "syntax error at or near \"&&\" of jsonpath input"),
            ("$ = 1", "42601", "syntax error at or near \"=\" of jsonpath input"),
            ("$.a ? (", "42601", "syntax error at end of jsonpath input"),
            ("$$", "42601", "syntax error at or near \"$\" of jsonpath input"),
            ("$ abc", "42601", "syntax error at end of jsonpath input"),
            ("$ abc ", "42601", "syntax error at or near \" \" of jsonpath input"),
            ("$ \"x\"", "42601", "syntax error at or near \"\"\" of jsonpath input"),
            ("$ 1.5", "42601", "syntax error at or near \"1.5\" of jsonpath input"),
            ("$ ? (@ == 1 || @)", "42601", "syntax error at or near \")\" of jsonpath input"),
            ("$ ? (@ > 1 > 2)", "42601", "syntax error at or near \">\" of jsonpath input"),
            ("($ > 1) + 1", "42601", "syntax error at or near \"+\" of jsonpath input"),
            ("1 == (2 > 1)", "42601", "syntax error at end of jsonpath input"),
            ("$ $x", "42601", "syntax error at or near \"$x\" of jsonpath input"),
            ("$[1 2]", "42601", "syntax error at or near \"2\" of jsonpath input"),
            ("\"ab", "42601", "unexpected end of quoted string at end of jsonpath input"),
            ("$ ? (@ starts with 1)", "42601", "syntax error at or near \"1\" of jsonpath input"),
            ("$.**{-1}", "42601", "syntax error at or near \"-\" of jsonpath input"),
            ("$.a /* c ", "42601", "unexpected end of comment at end of jsonpath input"),
            ("\"\\u12\"", "42601", "invalid unicode sequence at or near \"\\u12\" of jsonpath input"),
            ("\"\\x4\"", "42601", "invalid hex character sequence at or near \"\\x4\" of jsonpath input"),
            ("\"\\u0000\"", "22P05", "unsupported Unicode escape sequence"),
            ("$.**{2147483648}", "22003", "value \"2147483648\" is out of range for type integer"),
            ("", "22P02", "invalid input syntax for type jsonpath: \"\""),
            ("strict", "42601", "syntax error at end of jsonpath input"),
            ("$ ? (@ like_regex \"a\" flag \"z\")", "42601", "invalid input syntax for type jsonpath"),
            // Flex's longest match: a longer word beats a number with its junk character.
            ("12abc", "42601", "syntax error at end of jsonpath input"),
            ("0x10", "42601", "syntax error at end of jsonpath input"),
            ("0x", "42601", "trailing junk after numeric literal at or near \"0x\" of jsonpath input"),
            ("1e5x", "42601", "trailing junk after numeric literal at or near \"1e5x\" of jsonpath input"),
            ("1e+x", "42601", "invalid numeric literal at or near \"1e+\" of jsonpath input"),
            // A comment right after a word swallows the word, as PostgreSQL's scanner does.
            ("$.a/**/.b", "42601", "syntax error at or near \".\" of jsonpath input"),
            ("a/**/", "22P02", "invalid input syntax for type jsonpath: \"a/**/\""),
            ("$ ? (exists (@ == 1))", "42601", "syntax error at or near \"==\" of jsonpath input"),
            ("\"\\u{110000}\"", "42601", "invalid Unicode code point"),
            ("\"\\uD800\"", "22P02", "invalid input syntax for type jsonpath"),
        ] {
            let e = normalize(input).unwrap_err();
            assert_eq!((e.code, e.message.as_str()), (code, message), "{input}");
        }
    }

    #[test]
    fn deepest_paths_fit_a_small_stack() {
        let ok = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(|| {
                // Within the limits: parsed, or refused with 54001, never a stack overflow.
                let n = MAX_PATH_DEPTH;
                let parens = format!("{}1{}", "(".repeat(n), ")".repeat(n));
                let minus = format!("{}1", "-(".repeat(n / 2)) + &")".repeat(n / 2);
                let filters = format!("${}", "?(@ == 1".repeat(n)) + &")".repeat(n);
                let chain = format!("${}", ".a".repeat(MAX_CHAIN));
                let shallow = format!("{}1{}", "(".repeat(8), ")".repeat(8));
                normalize(&chain).is_ok()
                    && normalize(&shallow).is_ok()
                    && [parens, minus, filters]
                        .iter()
                        .all(|p| normalize(p).map_or_else(|e| e.code == "54001", |_| true))
            })
            .expect("thread")
            .join()
            .expect("no stack overflow");
        assert!(ok);
    }

    #[test]
    fn deep_paths_are_refused() {
        let deep = format!("{}1{}", "(".repeat(1000), ")".repeat(1000));
        assert_eq!(normalize(&deep).unwrap_err().code, "54001");
        let long = format!("${}", ".a".repeat(MAX_CHAIN + 1));
        assert_eq!(normalize(&long).unwrap_err().code, "54001");
        let ok = format!("${}", ".a".repeat(MAX_CHAIN));
        assert!(normalize(&ok).is_ok());
    }
}
