//! `ALTER SEQUENCE [IF EXISTS] name [OWNED BY table.column | OWNED BY NONE] [RESTART [[WITH] n]]
//! [INCREMENT [BY] n] [[NO] MINVALUE ...] [[NO] MAXVALUE ...] [START [WITH] n] [CACHE n] [[NO]
//! CYCLE] [AS type]` and the `SEQUENCE NAME` option of `ALTER TABLE ... ALTER COLUMN ... ADD GENERATED ... AS
//! IDENTITY (...)`, both of which pg_dump writes and sqlparser has no grammar for
//! (<https://www.postgresql.org/docs/15/sql-altersequence.html>).
//!
//! Before parsing, such a statement is rewritten by tokens ([`alter_syntax`]):
//! - `ALTER SEQUENCE [IF EXISTS] name opts` becomes `CREATE SEQUENCE "<mark>".name opts`, where
//!   the marker name ([`MARK`] + `alter sequence`, then `if exists` and `restart[=n]` when
//!   given) carries what CREATE SEQUENCE's grammar has no room for; binding reads it back
//!   ([`Binder::alter_sequence`]);
//! - in `ALTER TABLE ... ALTER [COLUMN] col ADD GENERATED ... AS IDENTITY (SEQUENCE NAME s ...)`
//!   the column's name becomes a marker holding the column and `s` as written, and the option
//!   goes ([`identity_column`] reads them back);
//! - `ALTER TABLE ... ALTER [COLUMN] col DROP EXPRESSION [IF EXISTS]` becomes `... ALTER COLUMN
//!   <marker> DROP DEFAULT` (`bind/generated.rs`, [`super::generated::drop_expression_syntax`]);
//! - an ALTER TABLE / ALTER INDEX action PostgreSQL has and Orbit has not built, which
//!   sqlparser cannot parse (pg_dump's `ALTER COLUMN c SET STATISTICS n`, `CLUSTER ON i`, ...),
//!   becomes a marker SET whose binding is 0A000 naming it ([`NOT_SUPPORTED`]), not a syntax
//!   error.

use super::*;
use sqlparser::tokenizer::Token;

/// The first character of a marker name (a control character: no name a client types holds
/// one unquoted, and PostgreSQL's identifiers never need it).
pub(super) const MARK: char = '\u{1}';
const ALTER_SEQUENCE: &str = "alter sequence";
const IDENTITY: &str = "identity";

pub(super) fn bare(t: Option<&Token>, w: &str) -> bool {
    matches!(t, Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w))
}

/// A quoted identifier holding `text` (its `"` doubled).
pub(super) fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// At `tokens[i]` = `ALTER` starting a statement: the statement rewritten as the module's doc
/// says, and the index of the token that ends it (its `;`, or the end); None when it is no
/// ALTER SEQUENCE and no ALTER TABLE with an identity's SEQUENCE NAME.
pub(super) fn alter_syntax(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    if !bare(tokens.get(i), "ALTER") {
        return None;
    }
    // The statement's tokens without whitespace, with their indexes.
    let mut depth = 0usize;
    let mut end = tokens.len();
    for (j, t) in tokens.iter().enumerate().skip(i) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::SemiColon if depth == 0 => {
                end = j;
                break;
            }
            _ => {}
        }
    }
    let solid: Vec<usize> = (i..end).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).collect();
    let at = |k: usize| solid.get(k).map(|&j| &tokens[j]);
    let text = |from: usize, to: usize| -> String { tokens[from..to].iter().map(|t| t.to_string()).collect() };
    if let Some(out) = super::rename::kind_syntax(tokens, &solid, end) {
        return Some((out, end));
    }
    if bare(at(1), "SEQUENCE") {
        let mut mark = format!("{MARK}{ALTER_SEQUENCE}");
        let mut k = 2;
        if bare(at(2), "IF") && bare(at(3), "EXISTS") {
            mark.push_str(&format!("{MARK}if exists"));
            k = 4;
        }
        let name_start = *solid.get(k)?;
        // RESTART [[WITH] n] goes into the marker; the other options stay.
        let mut body = String::new();
        let mut from = name_start;
        let mut r = k;
        while r < solid.len() {
            if bare(at(r), "RESTART") {
                body.push_str(&text(from, solid[r]));
                let mut next = r + 1;
                if bare(at(next), "WITH") {
                    next += 1;
                }
                let number = |t: Option<&Token>| match t {
                    Some(Token::Number(n, _)) => Some(n.clone()),
                    _ => None,
                };
                let value = match (at(next), number(at(next + 1))) {
                    (Some(Token::Minus), Some(n)) => Some(format!("-{n}")),
                    (Some(Token::Plus), Some(n)) => Some(n),
                    (t, _) => number(t),
                };
                let width = match (at(next), &value) {
                    (Some(Token::Minus | Token::Plus), Some(_)) => 2,
                    (_, Some(_)) => 1,
                    _ => 0,
                };
                if value.is_none() && next != r + 1 {
                    return None; // WITH without a number: a syntax error, reported as written
                }
                mark.push_str(&format!("{MARK}restart"));
                if let Some(v) = &value {
                    mark.push_str(&format!("={v}"));
                }
                r = next + width;
                from = solid.get(r).copied().unwrap_or(end);
                continue;
            }
            r += 1;
        }
        body.push_str(&text(from, end));
        return Some((format!("CREATE SEQUENCE {}.{body}", quoted(&mark)), end));
    }
    if let Some(out) = super::generated::drop_expression_syntax(tokens, i, &solid, end) {
        return Some((out, end));
    }
    if let Some(what) = not_built(&tokens[i..end]) {
        return Some((format!("SET {NOT_SUPPORTED} TO '{}'", what.replace('\'', "''")), end));
    }
    if !bare(at(1), "TABLE") {
        return None;
    }
    // ALTER TABLE ... ALTER [COLUMN] col ADD GENERATED ... AS IDENTITY ( ... SEQUENCE NAME s ... )
    let add = (0..solid.len()).find(|&k| bare(at(k), "ADD") && bare(at(k + 1), "GENERATED"))?;
    let col = if bare(at(add.checked_sub(2)?), "COLUMN") || bare(at(add.checked_sub(2)?), "ALTER") {
        add - 1
    } else {
        return None;
    };
    let open = (add..solid.len()).find(|&k| bare(at(k), "IDENTITY"))? + 1;
    if at(open) != Some(&Token::LParen) {
        return None;
    }
    let seq = (open..solid.len()).find(|&k| bare(at(k), "SEQUENCE") && bare(at(k + 1), "NAME"))?;
    // The sequence's name: words joined by periods.
    let mut last = seq + 2;
    if !matches!(at(last), Some(Token::Word(_))) {
        return None;
    }
    while at(last + 1) == Some(&Token::Period) && matches!(at(last + 2), Some(Token::Word(_))) {
        last += 2;
    }
    let seq_text = text(solid[seq + 2], solid[last] + 1);
    let col_text = tokens[solid[col]].to_string();
    let mark = format!("{MARK}{IDENTITY}{MARK}{col_text}{MARK}{seq_text}");
    let mut out = text(i, solid[col]);
    out.push_str(&quoted(&mark));
    out.push_str(&text(solid[col] + 1, solid[seq]));
    out.push_str(&text(solid[last] + 1, end));
    Some((out, end))
}

/// The variable of the SET statement a statement Orbit has not built is rewritten to (its value:
/// what it is), bound to 0A000 ([`Binder::not_built`]).
pub(super) const NOT_SUPPORTED: &str = "\"orbit not supported\"";

/// ALTER TABLE / ALTER INDEX actions PostgreSQL has (pg_dump writes some of them: SET STATISTICS,
/// SET STORAGE, CLUSTER ON, ...) that sqlparser cannot parse and Orbit has not built: what the
/// statement is, for a 0A000 "... is not supported yet" in place of a syntax error. None for
/// anything else (a statement that is wrong stays a syntax error).
fn not_built(toks: &[Token]) -> Option<String> {
    let solid: Vec<&Token> = toks.iter().filter(|t| !matches!(t, Token::Whitespace(_))).collect();
    let at = |k: usize| solid.get(k).copied();
    let kind = if bare(at(1), "TABLE") {
        "TABLE"
    } else if bare(at(1), "INDEX") {
        "INDEX"
    } else {
        return None;
    };
    let mut k = 2;
    if bare(at(k), "IF") && bare(at(k + 1), "EXISTS") {
        k += 2;
    }
    if bare(at(k), "ONLY") {
        k += 1;
    }
    if !matches!(at(k), Some(Token::Word(_))) {
        return None;
    }
    while at(k + 1) == Some(&Token::Period) && matches!(at(k + 2), Some(Token::Word(_))) {
        k += 2;
    }
    k += 1;
    if at(k) == Some(&Token::Mul) {
        k += 1;
    }
    let word = |k: usize| match at(k) {
        Some(Token::Word(w)) if w.quote_style.is_none() => w.value.to_uppercase(),
        Some(Token::LParen) => "(...)".to_string(),
        _ => String::new(),
    };
    let mut what = format!("ALTER {kind} ...");
    if bare(at(k), "ALTER") {
        k += 1;
        if bare(at(k), "COLUMN") {
            k += 1;
        }
        k += 1; // the column
        let action = format!("{} {}", word(k), word(k + 1));
        const COLUMN_ACTIONS: &[&str] = &[
            "SET STATISTICS",
            "SET STORAGE",
            "SET COMPRESSION",
            "DROP IDENTITY",
            "SET GENERATED",
            "SET (...)",
            "RESET (...)",
            "DROP EXPRESSION",
            "SET INCREMENT",
            "SET START",
            "SET MINVALUE",
            "SET MAXVALUE",
            "SET NO",
            "SET CYCLE",
            "SET CACHE",
        ];
        let known = COLUMN_ACTIONS.contains(&action.as_str()) || word(k) == "RESTART";
        if !known {
            return None;
        }
        let action = if word(k) == "RESTART" { "RESTART".to_string() } else { action };
        what.push_str(&format!(" ALTER COLUMN ... {action}"));
    } else {
        let action = format!("{} {}", word(k), word(k + 1));
        const TABLE_ACTIONS: &[&str] = &[
            "CLUSTER ON",
            "SET WITHOUT",
            "SET (...)",
            "RESET (...)",
            "SET TABLESPACE",
            "SET LOGGED",
            "SET UNLOGGED",
            "SET ACCESS",
            "DEPENDS ON",
            "NO DEPENDS",
        ];
        // A table's SET (...) / RESET (...) of storage parameters is built (`utility.rs`
        // `alter_storage`); an index's is not.
        let built = kind == "TABLE" && (action == "SET (...)" || action == "RESET (...)");
        if !TABLE_ACTIONS.contains(&action.as_str()) || built {
            return None;
        }
        what.push_str(&format!(" {action}"));
    }
    Some(what)
}

/// A marker column name of [`alter_syntax`]: the column as written and the sequence's name.
pub(super) fn identity_column(id: &ast::Ident) -> Option<(ast::Ident, ast::ObjectName)> {
    let rest = id.value.strip_prefix(MARK)?.strip_prefix(IDENTITY)?.strip_prefix(MARK)?;
    let (col, seq) = rest.split_once(MARK)?;
    let dialect = sqlparser::dialect::PostgreSqlDialect {};
    let col = sqlparser::parser::Parser::new(&dialect).try_with_sql(col).ok()?.parse_identifier().ok()?;
    let seq = sqlparser::parser::Parser::new(&dialect).try_with_sql(seq).ok()?.parse_object_name(false).ok()?;
    Some((col, seq))
}

/// What a marker sequence name of [`alter_syntax`] says: IF EXISTS, RESTART [WITH n].
struct AlterMark {
    if_exists: bool,
    restart: Option<Option<i64>>,
}

fn alter_mark(part: &ast::ObjectNamePart) -> Option<AlterMark> {
    let id = part.as_ident()?;
    let rest = id.value.strip_prefix(MARK)?.strip_prefix(ALTER_SEQUENCE)?;
    let mut m = AlterMark { if_exists: false, restart: None };
    for piece in rest.split(MARK).skip(1) {
        match piece.split_once('=') {
            None if piece == "if exists" => m.if_exists = true,
            None if piece == "restart" => m.restart = Some(None),
            Some(("restart", v)) => m.restart = Some(Some(v.parse().ok()?)),
            _ => return None,
        }
    }
    Some(m)
}

/// Whether a CREATE SEQUENCE statement is a rewritten ALTER SEQUENCE.
pub(super) fn is_alter(name: &ast::ObjectName) -> bool {
    name.0.first().and_then(alter_mark).is_some()
}

/// `ALTER SEQUENCE` as bound: the options it changes (checked against the sequence when it
/// runs: the sequence's row lives on the shard its name hashes to).
#[derive(Debug, Clone)]
pub struct AlterSequence {
    pub name: String,
    pub if_exists: bool,
    /// OWNED BY: Some(None) for NONE, else the table (the column's: its DEFAULT names the
    /// sequence, [`crate::catalog_fns::column_sequence`]).
    pub owned_by: Option<Option<String>>,
    /// RESTART [WITH n] (None: the sequence's START value).
    pub restart: Option<Option<i64>>,
    /// INCREMENT, MINVALUE, MAXVALUE, START, CYCLE.
    pub options: crate::sequence::SeqChanges,
}

impl Binder<'_> {
    /// A statement [`alter_syntax`] found Orbit has not built: 0A000 naming it.
    pub(super) fn not_built(&self, values: &[ast::Expr]) -> Result<Plan> {
        let what = match values {
            [ast::Expr::Value(v)] => match &v.value {
                ast::Value::SingleQuotedString(s) => s.clone(),
                other => other.to_string(),
            },
            _ => String::from("this statement"),
        };
        Err(SqlError::unsupported(format!("{what} is not supported yet")))
    }

    /// A rewritten `ALTER SEQUENCE` (see [`alter_syntax`]).
    pub(super) fn alter_sequence(&mut self, name: &ast::ObjectName, opts: &[ast::SequenceOptions]) -> Result<Plan> {
        let mark = name.0.first().and_then(alter_mark).ok_or_else(|| SqlError::syntax("SEQUENCE"))?;
        let real = ast::ObjectName(name.0[1..].to_vec());
        let seq = match object_name(self.sql, &real) {
            Ok(n) => n,
            Err(e) if e.code == "3F000" && mark.if_exists => {
                return Ok(Plan::Skipped {
                    tag: "ALTER SEQUENCE",
                    notice: format!("relation \"{real}\" does not exist, skipping"),
                })
            }
            Err(e) => return Err(e),
        };
        let mut alter = AlterSequence {
            name: seq.clone(),
            if_exists: mark.if_exists,
            owned_by: None,
            restart: mark.restart,
            options: Default::default(),
        };
        if let Some(t) = lookup_table(&seq) {
            // A table, view or index by that name: not a sequence (PostgreSQL's 42809).
            return Err(SqlError::new(
                code::WRONG_OBJECT_TYPE,
                format!("\"{}\" is not a sequence", crate::schema::relname(&t.name)),
            ));
        }
        for o in opts {
            match o {
                ast::SequenceOptions::OwnedBy(None) => alter.owned_by = Some(None),
                ast::SequenceOptions::OwnedBy(Some(obj)) => {
                    let parts: Vec<&ast::Ident> = obj.0.iter().filter_map(|p| p.as_ident()).collect();
                    let Some((col, table)) = parts.split_last().filter(|(_, t)| !t.is_empty()) else {
                        return Err(SqlError::new(code::SYNTAX_ERROR, "invalid OWNED BY option")
                            .hint("Specify OWNED BY table.column or OWNED BY NONE."));
                    };
                    let tname =
                        ast::ObjectName(table.iter().map(|i| ast::ObjectNamePart::Identifier((*i).clone())).collect());
                    let (tname, def) = self.resolve_table(&tname)?;
                    if def.view.is_some() || def.index_of.is_some() {
                        return Err(SqlError::new(
                            "55000",
                            format!("sequence cannot be owned by relation \"{}\"", crate::schema::relname(&tname)),
                        )
                        .detail(format!(
                            "\"{}\" is {}.",
                            crate::schema::relname(&tname),
                            if def.view.is_some() { "a view" } else { "an index" }
                        )));
                    }
                    if crate::schema::split(&tname).0 != crate::schema::split(&seq).0 {
                        return Err(SqlError::new("55000", "sequence must be in same schema as table it is linked to"));
                    }
                    let cn = fold(col);
                    if def.column(&cn).is_none() {
                        return Err(SqlError::new(
                            code::UNDEFINED_COLUMN,
                            format!(
                                "column \"{cn}\" of relation \"{}\" does not exist",
                                crate::schema::relname(&tname)
                            ),
                        ));
                    }
                    alter.owned_by = Some(Some(tname));
                }
                ast::SequenceOptions::IncrementBy(e, _) => {
                    let v = self.seq_int(e)?;
                    if v == 0 {
                        return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "INCREMENT must not be zero"));
                    }
                    alter.options.increment = Some(v);
                }
                ast::SequenceOptions::MinValue(e) => {
                    alter.options.min = Some(e.as_ref().map(|e| self.seq_int(e)).transpose()?)
                }
                ast::SequenceOptions::MaxValue(e) => {
                    alter.options.max = Some(e.as_ref().map(|e| self.seq_int(e)).transpose()?)
                }
                ast::SequenceOptions::StartWith(e, _) => alter.options.start = Some(self.seq_int(e)?),
                // The flag is `NO`: `Cycle(true)` is NO CYCLE.
                ast::SequenceOptions::Cycle(no) => alter.options.cycle = Some(!*no),
                ast::SequenceOptions::Cache(e) => {
                    // Values are handed out per statement, not cached per session: any valid
                    // CACHE is taken and changes nothing (as CREATE SEQUENCE's).
                    let c = self.seq_int(e)?;
                    if c < 1 {
                        return Err(SqlError::new(
                            code::INVALID_PARAMETER_VALUE,
                            format!("CACHE ({c}) must be greater than zero"),
                        ));
                    }
                }
                ast::SequenceOptions::DataType(dt) => {
                    alter.options.as_type = Some(match sql_type(dt)? {
                        SqlType::Int2 => i16::MAX as i64,
                        SqlType::Int4 => i32::MAX as i64,
                        SqlType::Int8 => i64::MAX,
                        _ => {
                            return Err(SqlError::new(
                                code::INVALID_PARAMETER_VALUE,
                                "sequence type must be smallint, integer, or bigint",
                            ))
                        }
                    });
                }
            }
        }
        Ok(Plan::AlterSequence(alter))
    }
}
