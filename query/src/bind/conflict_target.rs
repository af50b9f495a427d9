//! `INSERT ... ON CONFLICT ((lower(x)), a) ...`: expression keys in an ON CONFLICT target, which
//! PostgreSQL infers an expression unique index from (as it infers a column index from
//! columns). sqlparser's grammar takes only column names there, so before parsing each key
//! that is not a plain name becomes a marker: a quoted name holding [`MARK`] and the key's SQL
//! text ([`target_syntax`]); binding reads the expression back ([`marked_expr`]) and matches the
//! target against each unique index's keys, columns and expressions alike, in any order.

use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::Token;

/// The first character of a marker name (never in a name a client writes: PostgreSQL's names
/// cannot hold control characters typed this way).
const MARK: char = '\u{1}';

/// At `tokens[i]` = `ON`: `ON CONFLICT (keys)` with each key that is not a lone name written as
/// a marker; the text up to after the `)` and the index of the token after it. None when the
/// keys are all names (nothing to rewrite) or this is no conflict target.
pub(super) fn target_syntax(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    let word = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    let solid: Vec<usize> =
        (i + 1..tokens.len()).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).take(2).collect();
    let [c, open] = solid[..] else { return None };
    if !word(&tokens[i], Keyword::ON) || !word(&tokens[c], Keyword::CONFLICT) || tokens[open] != Token::LParen {
        return None;
    }
    // The keys, split at the commas outside parentheses.
    let mut keys: Vec<Vec<&Token>> = vec![Vec::new()];
    let mut depth = 0usize;
    let mut j = open + 1;
    let close = loop {
        let t = tokens.get(j)?;
        match t {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => break j,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => {
                keys.push(Vec::new());
                j += 1;
                continue;
            }
            _ => {}
        }
        if let Some(k) = keys.last_mut() {
            k.push(t);
        }
        j += 1;
    };
    let lone_name = |k: &[&Token]| {
        let solid: Vec<&&Token> = k.iter().filter(|t| !matches!(t, Token::Whitespace(_))).collect();
        matches!(solid[..], [Token::Word(_)])
    };
    if keys.iter().all(|k| lone_name(k)) {
        return None;
    }
    let written: Vec<String> = keys
        .iter()
        .map(|k| {
            let text: String = k.iter().map(|t| t.to_string()).collect();
            if lone_name(k) {
                text
            } else {
                format!("\"{MARK}{}\"", text.trim().replace('"', "\"\""))
            }
        })
        .collect();
    let head: String = tokens[i..=open].iter().map(|t| t.to_string()).collect();
    Some((format!("{head}{})", written.join(",")), close + 1))
}

/// The expression a marker name in an ON CONFLICT target stands for (None: a column name).
pub(super) fn marked_expr(name: &ast::Ident) -> Option<Result<ast::Expr, crate::error::SqlError>> {
    let text = name.value.strip_prefix(MARK)?;
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let parsed = sqlparser::parser::Parser::new(&dialect)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| crate::error::SqlError::syntax(&e.to_string()));
    Some(parsed)
}

/// `index`'s expression keys, bound, in the form [`marked_expr`]'s are compared in (sorted).
pub(super) fn expression_keys(
    table: &orbit_engine::table::TableDef,
    index: &orbit_engine::table::IndexDef,
) -> crate::error::Result<Vec<String>> {
    if index.exprs.is_empty() {
        return Ok(Vec::new());
    }
    let b = crate::index::bound_index(table, index)?;
    let mut keys: Vec<String> = b.0.iter().map(|e| format!("{e:?}")).collect();
    keys.sort_unstable();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn rewrite(sql: &str) -> Option<String> {
        let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().unwrap();
        let i = tokens.iter().position(|t| matches!(t, Token::Word(w) if w.keyword == Keyword::ON))?;
        target_syntax(&tokens, i).map(|(text, end)| {
            let rest: String = tokens[end..].iter().map(|t| t.to_string()).collect();
            format!("{text}{rest}")
        })
    }

    #[test]
    fn expression_keys_become_marker_names() {
        assert_eq!(rewrite("ON CONFLICT (a, b) DO NOTHING"), None);
        assert_eq!(
            rewrite("ON CONFLICT ((lower(x)), a) DO NOTHING").as_deref(),
            Some("ON CONFLICT (\"\u{1}(lower(x))\", a) DO NOTHING")
        );
        assert_eq!(
            rewrite(r#"ON CONFLICT (f("Q", 'a,b')) WHERE c DO NOTHING"#).as_deref(),
            Some("ON CONFLICT (\"\u{1}f(\"\"Q\"\", 'a,b')\") WHERE c DO NOTHING")
        );
        let id = ast::Ident::with_quote('"', "\u{1}(lower(x))");
        assert_eq!(marked_expr(&id).unwrap().unwrap().to_string(), "(lower(x))");
        assert!(marked_expr(&ast::Ident::new("a")).is_none());
    }
}
