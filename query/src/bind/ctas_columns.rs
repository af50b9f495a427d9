//! `CREATE TABLE name (col, ...) AS query`: the column-name list PostgreSQL's grammar takes and
//! sqlparser's does not. [`syntax`] rewrites it by tokens into `CREATE TABLE name AS SELECT *
//! FROM (query) AS <mark>(col, ...)`: a derived table's column aliases rename the first
//! columns and keep the rest, as the list does; more names than columns is PostgreSQL's
//! 42601 "too many column names were specified" ([`MARK`]'s alias says so when bound).

use sqlparser::tokenizer::Token;

/// The alias of the derived table the query becomes (a control character starts it: no name
/// a client writes).
pub(super) const MARK: &str = "\u{1}ctas";

fn word(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// The index in `solid` (the non-whitespace tokens' indexes) of the statement's end from
/// `from` on: the first `;` or end of input outside parentheses (`solid.len()` if none).
pub(super) fn statement_end(tokens: &[Token], solid: &[usize], from: usize) -> usize {
    let mut end = from;
    let mut depth = 0i32;
    while let Some(&j) = solid.get(end) {
        match tokens[j] {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::SemiColon | Token::EOF if depth == 0 => break,
            _ => {}
        }
        end += 1;
    }
    end
}

/// The statement starting at token `i` (a CREATE) rewritten, and the index after it; None if
/// it is not a CREATE TABLE with a bare column-name list and AS.
pub(super) fn syntax(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    let solid: Vec<usize> = (i..tokens.len()).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).collect();
    let mut k = 1; // past CREATE
    while matches!(
        solid.get(k).and_then(|&j| word(&tokens[j])).as_deref(),
        Some("TEMP" | "TEMPORARY" | "UNLOGGED" | "LOCAL" | "GLOBAL")
    ) {
        k += 1;
    }
    if word(&tokens[*solid.get(k)?]).as_deref() != Some("TABLE") {
        return None;
    }
    k += 1;
    // IF NOT EXISTS, then the name (dotted words), up to the list's parenthesis.
    while !matches!(tokens[*solid.get(k)?], Token::LParen) {
        match &tokens[solid[k]] {
            Token::Word(_) | Token::Period => k += 1,
            _ => return None,
        }
    }
    let open = solid[k];
    // The list: names separated by commas, nothing else.
    let mut names = Vec::new();
    k += 1;
    loop {
        let Token::Word(w) = &tokens[*solid.get(k)?] else { return None };
        names.push(tokens[solid[k]].to_string());
        let _ = w;
        k += 1;
        match tokens[*solid.get(k)?] {
            Token::Comma => k += 1,
            Token::RParen => break,
            _ => return None,
        }
    }
    let close = solid[k];
    // Options before AS (WITH (...), ON COMMIT ..., TABLESPACE ...), then AS at depth 0.
    let mut depth = 0i32;
    k += 1;
    let as_at = loop {
        let j = *solid.get(k)?;
        match &tokens[j] {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::SemiColon => return None,
            t if depth == 0 && word(t).as_deref() == Some("AS") => break k,
            _ => {}
        }
        k += 1;
    };
    if word(&tokens[*solid.get(as_at + 1)?]).as_deref() == Some("EXECUTE") {
        return None;
    }
    // The query runs to the statement's end; WITH [NO] DATA stays after it.
    let end = statement_end(tokens, &solid, as_at + 1);
    let kw = |n: usize| solid.get(n).and_then(|&j| word(&tokens[j]));
    let mut query_end = end;
    if end >= as_at + 3 && kw(end - 1).as_deref() == Some("DATA") {
        if kw(end - 2).as_deref() == Some("WITH") {
            query_end = end - 2;
        } else if end >= as_at + 4 && kw(end - 2).as_deref() == Some("NO") && kw(end - 3).as_deref() == Some("WITH") {
            query_end = end - 3;
        }
    }
    let text = |from: usize, to: usize| tokens[from..to].iter().map(|t| t.to_string()).collect::<String>();
    let stop = solid.get(end).copied().unwrap_or(tokens.len());
    let query_stop = solid.get(query_end).copied().unwrap_or(tokens.len());
    let out = format!(
        "{} {} AS SELECT * FROM ({}) AS \"{MARK}\"({}) {}",
        text(i, open),
        text(close + 1, solid[as_at]),
        text(solid[as_at + 1], query_stop),
        names.join(", "),
        text(query_stop, stop),
    );
    Some((out, stop))
}
