//! DECLARE ... CURSOR, FETCH, MOVE and CLOSE bound ([`crate::cursors`] runs them).
//! sqlparser's FETCH wants a direction and FROM/IN, which PostgreSQL's grammar leaves
//! optional (`FETCH c`, `FETCH FORWARD FROM c`, `FETCH -1 IN c`), and it has no MOVE: a query
//! string holding one of them alone is read here from sqlparser's tokens ([`marker`]) into the
//! FETCH statement sqlparser would have made, a MOVE marked by an INTO target no FETCH can
//! name ([`MOVE_MARK`]).

use super::{fold, Binder, Plan};
use crate::cursors::{Declare, FetchOp, Updatable, ALL};
use crate::error::{Result, SqlError};
use crate::expr::Expr;
use orbit_engine::table::SqlType;
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

/// The INTO "table" of a FETCH that stands for MOVE (a NUL byte: no name holds one).
const MOVE_MARK: &str = "\0move";

/// A FETCH statement for a query string that is one FETCH or MOVE and nothing else (None: not
/// one, or not one PostgreSQL's grammar takes: sqlparser then reports the error).
pub(super) fn marker(sql: &str) -> Option<ast::Statement> {
    let head = sql.trim_start();
    let word: String = head.chars().take(5).collect::<String>().to_ascii_lowercase();
    if !(word.starts_with("fetch") || word.starts_with("move")) {
        return None;
    }
    let toks = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize().ok()?;
    let mut toks: Vec<Token> = toks.into_iter().filter(|t| !matches!(t, Token::Whitespace(_) | Token::EOF)).collect();
    while toks.last() == Some(&Token::SemiColon) {
        toks.pop();
    }
    let keyword = |t: Option<&Token>| match t {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    };
    let is_move = match keyword(toks.first())?.as_str() {
        "FETCH" => false,
        "MOVE" => true,
        _ => return None,
    };
    let mut i = 1;
    // A signed integer at `i`.
    let number = |i: &mut usize| -> Option<i64> {
        let (sign, at) = match toks.get(*i) {
            Some(Token::Minus) => (-1, *i + 1),
            Some(Token::Plus) => (1, *i + 1),
            _ => (1, *i),
        };
        match toks.get(at) {
            Some(Token::Number(n, _)) => {
                *i = at + 1;
                n.parse::<i64>().ok().map(|v| sign * v)
            }
            _ => None,
        }
    };
    let op = match keyword(toks.get(i)).as_deref() {
        Some("NEXT") => {
            i += 1;
            FetchOp::Forward(1)
        }
        Some("PRIOR") => {
            i += 1;
            FetchOp::Backward(1)
        }
        Some("FIRST") => {
            i += 1;
            FetchOp::Absolute(1)
        }
        Some("LAST") => {
            i += 1;
            FetchOp::Absolute(-1)
        }
        Some("ABSOLUTE") => {
            i += 1;
            FetchOp::Absolute(number(&mut i)?)
        }
        Some("RELATIVE") => {
            i += 1;
            FetchOp::Relative(number(&mut i)?)
        }
        Some("ALL") => {
            i += 1;
            FetchOp::Forward(ALL)
        }
        Some(w @ ("FORWARD" | "BACKWARD")) => {
            let forward = w == "FORWARD";
            i += 1;
            let n = if keyword(toks.get(i)).as_deref() == Some("ALL") {
                i += 1;
                ALL
            } else {
                number(&mut i).unwrap_or(1)
            };
            if forward {
                FetchOp::Forward(n)
            } else {
                FetchOp::Backward(n)
            }
        }
        _ => match number(&mut i) {
            Some(n) => FetchOp::Forward(n),
            None => FetchOp::Forward(1),
        },
    };
    if matches!(keyword(toks.get(i)).as_deref(), Some("FROM" | "IN")) {
        i += 1;
    }
    let Some(Token::Word(name)) = toks.get(i) else { return None };
    if i + 1 != toks.len() {
        return None;
    }
    let value = |n: i64| ast::ValueWithSpan {
        value: ast::Value::Number(n.to_string(), false),
        span: sqlparser::tokenizer::Span::empty(),
    };
    let direction = match op {
        FetchOp::Forward(ALL) => ast::FetchDirection::ForwardAll,
        FetchOp::Backward(ALL) => ast::FetchDirection::BackwardAll,
        FetchOp::Forward(n) => ast::FetchDirection::Forward { limit: Some(value(n)) },
        FetchOp::Backward(n) => ast::FetchDirection::Backward { limit: Some(value(n)) },
        FetchOp::Absolute(n) => ast::FetchDirection::Absolute { limit: value(n) },
        FetchOp::Relative(n) => ast::FetchDirection::Relative { limit: value(n) },
    };
    Some(ast::Statement::Fetch {
        name: ast::Ident {
            value: name.value.clone(),
            quote_style: name.quote_style,
            span: sqlparser::tokenizer::Span::empty(),
        },
        direction,
        position: ast::FetchPosition::From,
        into: is_move.then(|| ast::ObjectName::from(vec![ast::Ident::new(MOVE_MARK)])),
    })
}

/// What `WHERE CURRENT OF` may change through a cursor over `plan` (`locked`: it has FOR
/// UPDATE/SHARE). A plain scan of one table — filtered and limited, sorted only when its rows
/// are locked (PostgreSQL's Sort node hides the scan's position; LockRows keeps each row's) —
/// gets its rows' keys added after its output columns ([`Updatable::Scan`]).
fn keep_keys(plan: &mut Plan, locked: bool) -> Updatable {
    let Plan::Select(s) = plan else { return Updatable::No { locked } };
    let simple = s.join.is_none()
        && !s.grouped
        && s.aggs.is_empty()
        && s.distinct == super::Distinct::None
        && s.windows.is_empty()
        && s.srfs.is_empty()
        && (s.order_by.is_empty() || locked);
    let Some(def) = s.table.clone().filter(|d| simple && d.view.is_none() && d.index_of.is_none()) else {
        return Updatable::No { locked };
    };
    let keys: Vec<Expr> = if def.has_row_id() {
        vec![Expr::Column(def.columns.len(), SqlType::Int8)]
    } else {
        def.pk.iter().map(|&i| Expr::Column(i, def.columns[i].ty)).collect()
    };
    let hidden = keys.len();
    s.projection.extend(keys);
    Updatable::Scan { table: def.name.clone(), oid: def.oid, locked, hidden }
}

/// The cursor `WHERE CURRENT OF` names, if `selection` (an UPDATE's or DELETE's WHERE) is
/// the marker [`current_of_syntax`] wrote for it.
pub(super) fn current_of(selection: Option<&ast::Expr>) -> Option<String> {
    let ast::Expr::Function(f) = selection? else { return None };
    if f.name.to_string() != CURRENT_OF_MARK {
        return None;
    }
    let ast::FunctionArguments::List(l) = &f.args else { return None };
    match l.args.as_slice() {
        [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Identifier(id)))] => Some(fold(id)),
        _ => None,
    }
}

/// The function name `WHERE CURRENT OF c` becomes (a control character starts it: no name a
/// client writes).
const CURRENT_OF_MARK: &str = "\"\u{2}current_of\"";

/// `WHERE CURRENT OF name` at token `i` of an UPDATE or DELETE, which sqlparser's grammar
/// lacks, as `WHERE <mark>(name)` ([`current_of`] reads it back), and the index after it. Only
/// where PostgreSQL's grammar has it: the statement's WHERE, followed by RETURNING or its end.
pub(super) fn current_of_syntax(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    let next = |from: usize| (from..tokens.len()).find(|&j| !matches!(tokens[j], Token::Whitespace(_)));
    let word = |j: usize, w: &str| matches!(&tokens[j], Token::Word(t) if t.quote_style.is_none() && t.value.eq_ignore_ascii_case(w));
    if !word(i, "WHERE") {
        return None;
    }
    let current = next(i + 1).filter(|&j| word(j, "CURRENT"))?;
    let of = next(current + 1).filter(|&j| word(j, "OF"))?;
    let name = next(of + 1)?;
    let Token::Word(_) = &tokens[name] else { return None };
    match next(name + 1) {
        None => {}
        Some(j) if matches!(tokens[j], Token::SemiColon | Token::EOF) || word(j, "RETURNING") => {}
        Some(_) => return None,
    }
    Some((format!("WHERE {CURRENT_OF_MARK}({})", tokens[name]), name + 1))
}

/// PostgreSQL's syntax error for `WHERE CURRENT OF name` followed by more than RETURNING (its
/// grammar takes the cursor's name alone): at the token after the name.
pub(super) fn current_of_refused(sql: &str) -> Option<SqlError> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location().ok()?;
    let seen: Vec<&sqlparser::tokenizer::TokenWithSpan> =
        tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).collect();
    let word =
        |t: &Token, w: &str| matches!(t, Token::Word(x) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    seen.windows(5).find_map(|w| {
        let after = &w[4].token;
        (word(&w[0].token, "WHERE")
            && word(&w[1].token, "CURRENT")
            && word(&w[2].token, "OF")
            && matches!(w[3].token, Token::Word(_))
            && !matches!(after, Token::SemiColon | Token::EOF)
            && !word(after, "RETURNING"))
        .then(|| {
            SqlError::syntax(&after.to_string()).at(super::char_position(
                sql,
                w[4].span.start.line,
                w[4].span.start.column,
            ))
        })
    })
}

fn count(v: &ast::ValueWithSpan) -> Result<i64> {
    match &v.value {
        ast::Value::Number(n, _) => n.parse::<i64>().map_err(|_| SqlError::syntax(n)),
        other => Err(SqlError::syntax(&other.to_string())),
    }
}

impl Binder<'_> {
    /// FETCH or MOVE.
    pub(super) fn fetch(
        &mut self,
        name: &ast::Ident,
        direction: &ast::FetchDirection,
        into: Option<&ast::ObjectName>,
    ) -> Result<Plan> {
        use ast::FetchDirection as D;
        let is_move = match into {
            None => false,
            Some(o) if o.to_string().contains(MOVE_MARK) => true,
            Some(_) => return Err(SqlError::syntax("INTO")),
        };
        let op = match direction {
            D::Count { limit } => FetchOp::Forward(count(limit)?),
            D::Next => FetchOp::Forward(1),
            D::Prior => FetchOp::Backward(1),
            D::First => FetchOp::Absolute(1),
            D::Last => FetchOp::Absolute(-1),
            D::Absolute { limit } => FetchOp::Absolute(count(limit)?),
            D::Relative { limit } => FetchOp::Relative(count(limit)?),
            D::All | D::ForwardAll => FetchOp::Forward(ALL),
            D::Forward { limit } => FetchOp::Forward(limit.as_ref().map(count).transpose()?.unwrap_or(1)),
            D::Backward { limit } => FetchOp::Backward(limit.as_ref().map(count).transpose()?.unwrap_or(1)),
            D::BackwardAll => FetchOp::Backward(ALL),
        };
        Ok(Plan::Fetch { name: fold(name), op, is_move })
    }

    /// DECLARE name [BINARY] [ASENSITIVE | INSENSITIVE] [[NO] SCROLL] CURSOR [{WITH | WITHOUT}
    /// HOLD] FOR query.
    pub(super) fn declare(&mut self, stmts: &[ast::Declare]) -> Result<Plan> {
        let [d] = stmts else { return Err(SqlError::syntax(",")) };
        let ([name], Some(ast::DeclareType::Cursor), Some(query), None, None) =
            (d.names.as_slice(), &d.declare_type, &d.for_query, &d.data_type, &d.assignment)
        else {
            return Err(SqlError::syntax("DECLARE"));
        };
        // ASENSITIVE (PostgreSQL's default) and INSENSITIVE (what every cursor here is) are both
        // taken.
        let hold = d.hold == Some(true);
        let locks = !query.locks.is_empty();
        if locks && hold {
            return Err(SqlError::unsupported("DECLARE CURSOR WITH HOLD ... FOR UPDATE is not supported")
                .detail("Holdable cursors must be READ ONLY."));
        }
        if locks && d.scroll == Some(true) {
            return Err(SqlError::unsupported("DECLARE SCROLL CURSOR ... FOR UPDATE is not supported")
                .detail("Scrollable cursors must be READ ONLY."));
        }
        let (mut plan, columns) = self.query(query)?;
        let updatable = keep_keys(&mut plan, locks);
        let declare = Declare {
            name: fold(name),
            scroll: d.scroll,
            hold,
            binary: d.binary == Some(true),
            statement: self.sql.to_string(),
            columns,
            updatable,
        };
        Ok(Plan::DeclareCursor { declare: Box::new(declare), query: Box::new(plan) })
    }

    /// CLOSE name | CLOSE ALL.
    pub(super) fn close_cursor(&mut self, cursor: &ast::CloseCursor) -> Result<Plan> {
        Ok(Plan::CloseCursor(match cursor {
            ast::CloseCursor::All => None,
            ast::CloseCursor::Specific { name } => Some(fold(name)),
        }))
    }
}
