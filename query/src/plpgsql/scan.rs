//! PL/pgSQL's tokens, as `pl_scanner.c` reads a function body: words (keywords and names,
//! `"quoted"` ones kept as written), literals (strings of every quoting, numbers), `$n`
//! parameters and punctuation, each with its byte range in the body, so statements and
//! expressions are cut out of the body's own text. Comments and whitespace are skipped.

use crate::error::{code, Result, SqlError};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A name or keyword: folded to lower case unless quoted.
    Word { text: String, quoted: bool },
    /// A string or number literal.
    Literal,
    /// `$n`.
    Param(usize),
    /// Punctuation and operators (`;`, `(`, `:=`, `..`, `<<`, `+`, ...).
    Op(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

impl Token {
    /// Whether it is the unquoted keyword `kw` (lower case).
    pub fn is(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Word { text, quoted: false } if text == kw)
    }

    pub fn is_op(&self, op: &str) -> bool {
        matches!(&self.tok, Tok::Op(o) if o == op)
    }

    /// The name it is (quoted or not).
    pub fn word(&self) -> Option<&str> {
        match &self.tok {
            Tok::Word { text, .. } => Some(text),
            _ => None,
        }
    }
}

fn unterminated(what: &str) -> SqlError {
    SqlError::new(code::SYNTAX_ERROR, format!("unterminated {what}"))
}

const OP_CHARS: &[u8] = b"+-*/<>=~!@#%^&|`?";

/// The tokens of `text`.
pub(crate) fn tokens(text: &str) -> Result<Vec<Token>> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0usize;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            if depth > 0 {
                return Err(unterminated("/* comment"));
            }
            continue;
        }
        // E'...', B'...', X'...', N'...', U&'...' and plain '...'.
        let prefix = match c {
            b'e' | b'E' | b'b' | b'B' | b'x' | b'X' | b'n' | b'N' if b.get(i + 1) == Some(&b'\'') => 1,
            b'u' | b'U' if b.get(i + 1) == Some(&b'&') && b.get(i + 2) == Some(&b'\'') => 2,
            _ => 0,
        };
        if c == b'\'' || prefix > 0 {
            let escapes = matches!(c, b'e' | b'E') && prefix == 1;
            i += prefix + 1;
            loop {
                match b.get(i) {
                    None => return Err(unterminated("quoted string")),
                    Some(b'\\') if escapes => i += 2,
                    Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            out.push(Token { tok: Tok::Literal, start, end: i });
            continue;
        }
        if c == b'"' {
            i += 1;
            let mut name = String::new();
            loop {
                match b.get(i) {
                    None => return Err(unterminated("quoted identifier")),
                    Some(b'"') if b.get(i + 1) == Some(&b'"') => {
                        name.push('"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => {
                        let ch = text[i..].chars().next().unwrap_or(' ');
                        name.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push(Token { tok: Tok::Word { text: name, quoted: true }, start, end: i });
            continue;
        }
        if c == b'$' {
            if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n = text[start + 1..i].parse().unwrap_or(0);
                out.push(Token { tok: Tok::Param(n), start, end: i });
                continue;
            }
            // $tag$ ... $tag$
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
                j += 1;
            }
            if b.get(j) == Some(&b'$') {
                let tag = &text[i..=j];
                let Some(close) = text[j + 1..].find(tag) else { return Err(unterminated("dollar-quoted string")) };
                i = j + 1 + close + tag.len();
                out.push(Token { tok: Tok::Literal, start, end: i });
                continue;
            }
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            // A fraction, but not the `..` of a FOR loop's range.
            if b.get(i) == Some(&b'.') && b.get(i + 1) != Some(&b'.') {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if matches!(b.get(i), Some(b'e' | b'E'))
                && (b.get(i + 1).is_some_and(u8::is_ascii_digit)
                    || (matches!(b.get(i + 1), Some(b'+' | b'-')) && b.get(i + 2).is_some_and(u8::is_ascii_digit)))
            {
                i += 2;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            out.push(Token { tok: Tok::Literal, start, end: i });
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80) {
                i += 1;
            }
            let text = text[start..i].to_lowercase();
            out.push(Token { tok: Tok::Word { text, quoted: false }, start, end: i });
            continue;
        }
        let two = &b[i..(i + 2).min(b.len())];
        let op = match two {
            b":=" | b".." | b"::" | b"=>" => {
                i += 2;
                text[start..i].to_string()
            }
            // `x=-1`: the assignment's `=` alone.
            _ if c == b'=' => {
                i += 1;
                "=".to_string()
            }
            _ if OP_CHARS.contains(&c) => {
                while i < b.len() && OP_CHARS.contains(&b[i]) {
                    // `a<-1`-like runs are one operator in SQL too; `--` starts a comment.
                    if b[i] == b'-' && b.get(i + 1) == Some(&b'-') {
                        break;
                    }
                    i += 1;
                }
                text[start..i].to_string()
            }
            _ => {
                i += text[i..].chars().next().map_or(1, char::len_utf8);
                text[start..i].to_string()
            }
        };
        out.push(Token { tok: Tok::Op(op), start, end: i });
    }
    Ok(out)
}

/// An edit of one statement [`rewrite_creates`] makes: the bytes `from..to` of the text
/// replaced by `with`, the scan going on at token `next`.
pub(crate) struct Edit {
    pub from: usize,
    pub to: usize,
    pub with: String,
    pub next: usize,
}

/// `sql` with each statement `CREATE [OR REPLACE] [CONSTRAINT] <kind> ...` edited by `edit`
/// (given the tokens, the position of CREATE and that of `kind`'s word; None leaves the
/// statement as it is);
/// None when no statement was edited (or `sql` does not scan). How the token rewrites before
/// sqlparser reads a text (CREATE TRIGGER, CREATE PROCEDURE) find their statements.
pub(crate) fn rewrite_creates(
    sql: &str,
    kind: &str,
    mut edit: impl FnMut(&[Token], usize, usize) -> Option<Edit>,
) -> Option<String> {
    if !sql.as_bytes().windows(kind.len()).any(|w| w.eq_ignore_ascii_case(kind.as_bytes())) {
        return None;
    }
    let t = tokens(sql).ok()?;
    let mut out = String::with_capacity(sql.len() + 32);
    let mut copied = 0;
    let mut at_start = true;
    let mut i = 0;
    while i < t.len() {
        if at_start && t[i].is("create") {
            let mut j = i + 1;
            if t.get(j).is_some_and(|x| x.is("or")) && t.get(j + 1).is_some_and(|x| x.is("replace")) {
                j += 2;
            }
            if kind == "trigger" && t.get(j).is_some_and(|x| x.is("constraint")) {
                j += 1;
            }
            if t.get(j).is_some_and(|x| x.is(kind)) {
                if let Some(e) = edit(&t, i, j) {
                    out.push_str(&sql[copied..e.from]);
                    out.push_str(&e.with);
                    copied = e.to;
                    i = e.next;
                    at_start = false;
                    continue;
                }
            }
        }
        at_start = t[i].is_op(";");
        i += 1;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&sql[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ranges_params_and_quotes() {
        let t = tokens("FOR i IN 1..$1 LOOP x := 'a''b' || $q$;$q$; -- c\n \"My Var\" := 2.5; END").unwrap();
        let kinds: Vec<String> = t
            .iter()
            .map(|t| match &t.tok {
                Tok::Word { text, .. } => text.clone(),
                Tok::Literal => "L".into(),
                Tok::Param(n) => format!("${n}"),
                Tok::Op(o) => o.clone(),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "for", "i", "in", "L", "..", "$1", "loop", "x", ":=", "L", "||", "L", ";", "My Var", ":=", "L", ";",
                "end"
            ]
        );
    }
}
