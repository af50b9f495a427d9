//! A SELECT's locking clauses, `FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE [OF name [, ...]]
//! [NOWAIT | SKIP LOCKED]`, as PostgreSQL's transformLockingClause reads them: a clause with OF
//! applies to the FROM items it names (by alias when they have one; 42P01 for a name not in
//! FROM), one without OF to every table of the FROM clause; a table several clauses reach
//! takes the strongest mode, NOWAIT if any of them says so, else SKIP LOCKED if any does.
//!
//! Over one table the rows are locked as [`crate::exec`]'s `lock_rows` does; over a join each
//! locked table's rows are, through their keys ([`LockTarget`]). A locked table must be a
//! stored one (0A000 for a derived table, a function or a view in FROM), and not on the
//! nullable side of an outer join (PostgreSQL's 0A000).

use super::{Binder, JoinScope, Result};
use crate::error::{code, SqlError};
use crate::txn::{LockWait, RowLocking};
use orbit_engine::table::{SqlType, TableDef};
use orbit_shards::rowlock::LockMode;
use sqlparser::ast;
use sqlparser::tokenizer::Token;
use std::sync::Arc;

/// One clause as written: its locking, and the FROM item it names with OF (and where).
pub(super) struct Clause {
    locking: RowLocking,
    of: Option<(String, Option<usize>)>,
}

/// A table of a join whose rows a locking clause locks: the columns of the combined row that
/// hold its key (its primary key's, or its row id), and how they are locked.
#[derive(Debug, Clone)]
pub struct LockTarget {
    pub def: Arc<TableDef>,
    pub key: Vec<(usize, SqlType)>,
    pub locking: RowLocking,
}

fn name_of(mode: LockMode) -> &'static str {
    match mode {
        LockMode::Exclusive => "FOR UPDATE",
        _ => "FOR SHARE",
    }
}

/// The strongest of `clauses` (None when there is none).
fn combined<'a>(clauses: impl Iterator<Item = &'a Clause>) -> Option<RowLocking> {
    clauses.map(|c| c.locking).reduce(|a, b| {
        let mode = if a.mode == LockMode::Exclusive || b.mode == LockMode::Exclusive {
            LockMode::Exclusive
        } else {
            LockMode::Share
        };
        let wait = if a.wait == LockWait::NoWait || b.wait == LockWait::NoWait {
            LockWait::NoWait
        } else if a.wait == LockWait::SkipLocked || b.wait == LockWait::SkipLocked {
            LockWait::SkipLocked
        } else {
            LockWait::Wait
        };
        RowLocking { wait, mode, clause: name_of(mode) }
    })
}

impl Binder<'_> {
    /// The query's locking clauses, and the locking of the whole statement (the strongest;
    /// None: no clause).
    pub(super) fn locking_clauses(&self, locks: &[ast::LockClause]) -> Result<(Vec<Clause>, Option<RowLocking>)> {
        let mut out = Vec::with_capacity(locks.len());
        for l in locks {
            let mode = match l.lock_type {
                ast::LockType::Update => LockMode::Exclusive,
                ast::LockType::Share => LockMode::Share,
            };
            let wait = match l.nonblock {
                None => LockWait::Wait,
                Some(ast::NonBlock::Nowait) => LockWait::NoWait,
                Some(ast::NonBlock::SkipLocked) => LockWait::SkipLocked,
            };
            let locking = RowLocking { wait, mode, clause: name_of(mode) };
            let of = match &l.of {
                None => None,
                Some(n) => match n.0.as_slice() {
                    [p] => {
                        let id = p.as_ident().ok_or_else(|| SqlError::syntax(&n.to_string()))?;
                        Some((super::fold(id), self.pos(&id.span)))
                    }
                    _ => {
                        return Err(SqlError::new(
                            code::SYNTAX_ERROR,
                            format!("{} must specify unqualified relation names", locking.clause),
                        )
                        .at(n
                            .0
                            .first()
                            .and_then(|p| p.as_ident())
                            .and_then(|i| self.pos(&i.span))))
                    }
                },
            };
            out.push(Clause { locking, of });
        }
        let all = combined(out.iter());
        Ok((out, all))
    }
}

fn not_in_from(c: &Clause) -> SqlError {
    let (name, pos) = c.of.clone().unwrap_or_default();
    SqlError::new(
        code::UNDEFINED_TABLE,
        format!("relation \"{name}\" in {} clause not found in FROM clause", c.locking.clause),
    )
    .at(pos)
}

/// Over one FROM item named `alias` (or none): its locking (each OF must name it).
pub(super) fn one_table(clauses: &[Clause], alias: Option<&str>) -> Result<Option<RowLocking>> {
    if let Some(c) = clauses.iter().find(|c| c.of.as_ref().is_some_and(|(n, _)| Some(n.as_str()) != alias)) {
        return Err(not_in_from(c));
    }
    Ok(combined(clauses.iter()))
}

/// Over a join: the tables the clauses lock, each with its key's columns in the combined row.
pub(super) fn join_targets(
    clauses: &[Clause],
    js: &JoinScope,
    plan: &crate::join::JoinPlan,
) -> Result<Vec<LockTarget>> {
    if let Some(c) =
        clauses.iter().find(|c| c.of.as_ref().is_some_and(|(n, _)| !js.tables.iter().any(|(_, a, _)| a == n)))
    {
        return Err(not_in_from(c));
    }
    let mut targets = Vec::new();
    for (def, alias, off) in &js.tables {
        let applying: Vec<&Clause> = clauses.iter().filter(|c| c.of.as_ref().is_none_or(|(n, _)| n == alias)).collect();
        let Some(locking) = combined(applying.iter().copied()) else { continue };
        let stored = !crate::relation::is_derived(def)
            && crate::bind::lookup_table(&def.name).is_some_and(|d| d.oid == def.oid && d.view.is_none());
        if def.matview.is_some() {
            return Err(SqlError::new(
                crate::error::code::WRONG_OBJECT_TYPE,
                format!("cannot lock rows in materialized view \"{}\"", crate::schema::relname(&def.name)),
            ));
        }
        if !stored {
            return Err(SqlError::unsupported(format!(
                "{} of \"{alias}\", which is not a stored table, is not supported yet",
                locking.clause
            )));
        }
        // Its place among the join's inputs, and whether an outer join may pad it with NULLs.
        let mut at = 0;
        let index = plan.inputs.iter().position(|d| {
            let here = at;
            at += d.row_len();
            here == *off && d.name == def.name
        });
        let Some(i) = index else {
            return Err(SqlError::unsupported(format!(
                "{} of \"{alias}\" inside a parenthesized join is not supported yet",
                locking.clause
            )));
        };
        use crate::join::JoinKind as K;
        let nullable = plan.steps.iter().enumerate().any(|(s, step)| match step.kind {
            K::Left => i == s + 1,
            K::Right => i <= s,
            K::Full => i <= s + 1,
            K::Inner | K::Cross => false,
        });
        if nullable {
            return Err(SqlError::unsupported(format!(
                "{} cannot be applied to the nullable side of an outer join",
                locking.clause
            )));
        }
        let key: Vec<(usize, SqlType)> = if def.has_row_id() {
            vec![(off + def.columns.len(), SqlType::Int8)]
        } else {
            def.pk.iter().map(|&c| (off + c, def.columns[c].ty)).collect()
        };
        targets.push(LockTarget { def: def.clone(), key, locking });
    }
    Ok(targets)
}

/// `FOR <mode> OF a, b, ... [NOWAIT | SKIP LOCKED]` (sqlparser reads one name after OF) as one
/// clause per name, `FOR <mode> OF a [..] FOR <mode> OF b [..]`, which PostgreSQL reads the
/// same. `mode_end`: the index after the clause's mode words; `mode`: those words as they are
/// to be written. Returns the text and the index after the clause; None when OF does not list
/// several names.
pub(super) fn of_list_syntax(tokens: &[Token], mode_end: usize, mode: &str) -> Option<(String, usize)> {
    use sqlparser::keywords::Keyword;
    let significant = |j: usize| (j..tokens.len()).find(|&k| !matches!(tokens[k], Token::Whitespace(_)));
    let word = |j: usize, k: Keyword| matches!(&tokens[j], Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    let mut j = significant(mode_end)?;
    if !word(j, Keyword::OF) {
        return None;
    }
    // Names: words joined by dots, separated by commas.
    let mut names = vec![String::new()];
    j = significant(j + 1)?;
    loop {
        match &tokens[j] {
            Token::Word(w)
                if w.quote_style.is_some()
                    || !matches!(
                        w.keyword,
                        Keyword::NOWAIT
                            | Keyword::SKIP
                            | Keyword::FOR
                            | Keyword::LIMIT
                            | Keyword::OFFSET
                            | Keyword::FETCH
                    ) =>
            {
                names.last_mut()?.push_str(&tokens[j].to_string())
            }
            Token::Period => names.last_mut()?.push('.'),
            Token::Comma => names.push(String::new()),
            _ => break,
        }
        match significant(j + 1) {
            Some(k) => j = k,
            None => {
                j = tokens.len();
                break;
            }
        }
    }
    if names.len() < 2 || names.iter().any(String::is_empty) {
        return None;
    }
    // NOWAIT or SKIP LOCKED, repeated for each name.
    let mut tail = String::new();
    if j < tokens.len() && word(j, Keyword::NOWAIT) {
        tail = " NOWAIT".into();
        j += 1;
    } else if j < tokens.len() && word(j, Keyword::SKIP) {
        let locked = significant(j + 1).filter(|&k| word(k, Keyword::LOCKED))?;
        tail = " SKIP LOCKED".into();
        j = locked + 1;
    }
    let text = names.iter().map(|n| format!("FOR {mode} OF {n}{tail}")).collect::<Vec<_>>().join(" ");
    Some((text, j))
}
