//! `MERGE INTO target USING source ON cond WHEN [NOT] MATCHED [AND cond] THEN ...`
//! (<https://www.postgresql.org/docs/15/sql-merge.html>; PostgreSQL 15's, so no RETURNING and no
//! `NOT MATCHED BY SOURCE`).
//!
//! The source and the target are bound as one join (`source LEFT JOIN target ON cond`, or an
//! inner join when no clause is NOT MATCHED); a joined row holds the target's stored row at
//! [`MergePlan::target_at`], and one whose target key slots are NULL found no target row. The WHEN clauses read that row: MATCHED ones both sides, NOT
//! MATCHED ones the source alone (the target is in the statement but out of their reach, as
//! PostgreSQL's parse_merge.c makes it, with its errors). `exec/merge.rs` runs it.

use super::{is_default_keyword, Binder, Plan, Scope};
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use crate::OutputColumn;
use orbit_engine::table::TableDef;
use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::Token;
use std::sync::Arc;

/// A bound MERGE.
#[derive(Debug, Clone)]
pub struct MergePlan {
    pub table: Arc<TableDef>,
    /// Where the target's row starts in a joined row.
    pub target_at: usize,
    /// The source joined with the target (`source LEFT JOIN target ON cond` when a clause is
    /// NOT MATCHED, an inner join otherwise).
    pub join: crate::join::JoinPlan,
    /// The join condition over a joined row: a target row another transaction changed before
    /// this one locked it is matched again by it (PostgreSQL's EvalPlanQual re-check). None
    /// when it holds subqueries (then the row stays matched).
    pub on: Option<Expr>,
    pub clauses: Vec<WhenClause>,
}

#[derive(Debug, Clone)]
pub struct WhenClause {
    pub matched: bool,
    pub condition: Option<Expr>,
    pub action: Action,
}

#[derive(Debug, Clone)]
pub enum Action {
    /// UPDATE SET: (target column, value over the joined row).
    Update(Vec<(usize, Expr)>),
    Delete,
    /// INSERT: one value per target column over the joined row (DEFAULTs filled in).
    Insert(Vec<Expr>),
    Nothing,
}

impl MergePlan {
    /// Whether any clause writes (a MERGE of DO NOTHING clauses alone runs in a read-only
    /// transaction, as PostgreSQL's asks for no write permission then).
    pub fn writes(&self) -> bool {
        self.clauses.iter().any(|c| !matches!(c.action, Action::Nothing))
    }
}

/// The name a FROM item is known by in the statement (its alias, or a table's own name).
fn item_name(f: &ast::TableFactor) -> Option<String> {
    match f {
        ast::TableFactor::Table { alias: Some(a), .. }
        | ast::TableFactor::Derived { alias: Some(a), .. }
        | ast::TableFactor::Function { alias: Some(a), .. }
        | ast::TableFactor::TableFunction { alias: Some(a), .. }
        | ast::TableFactor::UNNEST { alias: Some(a), .. } => Some(super::fold(&a.name)),
        ast::TableFactor::Table { name, .. } => name.0.last().and_then(|p| p.as_ident()).map(super::fold),
        _ => None,
    }
}

/// `MERGE INTO t USING a [INNER | LEFT | ...] JOIN b ON x ON cond WHEN ...` at `tokens[i]`
/// (the MERGE): the text up to the statement's own ON with the source join parenthesized, and
/// the index of that ON. The statement's ON is the last one at depth 0 before the first WHEN.
pub(super) fn source_join_syntax(tokens: &[Token], i: usize) -> Option<(String, usize)> {
    let word = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k && w.quote_style.is_none());
    let mut depth = 0i32;
    let (mut using, mut on, mut joins) = (None, None, false);
    for (j, t) in tokens.iter().enumerate().skip(i + 1) {
        match t {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::SemiColon if depth == 0 => return None,
            _ if depth != 0 => {}
            _ if using.is_none() && word(t, Keyword::USING) => using = Some(j),
            _ if using.is_none() => {}
            _ if word(t, Keyword::WHEN) => break,
            _ if word(t, Keyword::ON) => on = Some(j),
            _ if word(t, Keyword::JOIN) => joins = true,
            _ => {}
        }
    }
    let (using, on) = (using?, on?);
    if !joins {
        return None;
    }
    let mut text = String::new();
    for t in &tokens[i..=using] {
        text.push_str(&t.to_string());
    }
    text.push_str(" (");
    for t in &tokens[using + 1..on] {
        text.push_str(&t.to_string());
    }
    text.push_str(") ");
    Some((text, on))
}

fn refused(name: &str, what: &str) -> SqlError {
    SqlError::new(code::FEATURE_NOT_SUPPORTED, format!("cannot execute MERGE on relation \"{name}\""))
        .detail(format!("This operation is not supported for {what}."))
}

impl Binder<'_> {
    pub(super) fn merge(&mut self, m: &ast::Merge) -> Result<(Plan, Vec<OutputColumn>)> {
        // Other dialects' parts sqlparser reads: not PostgreSQL's grammar.
        if m.output.is_some() {
            // PostgreSQL 15 has no RETURNING on MERGE: its error names the word as written.
            let lower = self.sql.to_ascii_lowercase();
            let at = lower.rfind("returning").or_else(|| lower.rfind("output"));
            let near = at.map_or("RETURNING", |i| {
                let len = if lower[i..].starts_with("returning") { 9 } else { 6 };
                &self.sql[i..i + len]
            });
            return Err(SqlError::syntax(near).at(at.map(|i| self.sql[..i].chars().count() + 1)));
        }
        if !m.optimizer_hints.is_empty() {
            return Err(SqlError::syntax("/*+"));
        }
        for c in &m.clauses {
            match (&c.clause_kind, &c.action) {
                (ast::MergeClauseKind::NotMatchedBySource | ast::MergeClauseKind::NotMatchedByTarget, _) => {
                    return Err(SqlError::syntax("BY"))
                }
                (_, ast::MergeAction::Insert(i)) if i.insert_predicate.is_some() => {
                    return Err(SqlError::syntax("WHERE"))
                }
                (_, ast::MergeAction::Insert(ast::MergeInsertExpr { kind: ast::MergeInsertKind::Wildcard, .. })) => {
                    return Err(SqlError::syntax("*"))
                }
                (_, ast::MergeAction::Insert(ast::MergeInsertExpr { kind: ast::MergeInsertKind::Row, .. })) => {
                    return Err(SqlError::syntax("ROW"))
                }
                (_, ast::MergeAction::Update(u)) if u.update_predicate.is_some() || u.delete_predicate.is_some() => {
                    return Err(SqlError::syntax("WHERE"))
                }
                (_, ast::MergeAction::Update(ast::MergeUpdateExpr { kind: ast::MergeUpdateKind::Wildcard, .. })) => {
                    return Err(SqlError::syntax("*"))
                }
                _ => {}
            }
        }
        // A clause without a condition ends its kind's list (parse_merge.c's check).
        let mut terminal = [false, false];
        for c in &m.clauses {
            let kind = matches!(c.clause_kind, ast::MergeClauseKind::Matched) as usize;
            if terminal[kind] {
                return Err(SqlError::new(
                    code::SYNTAX_ERROR,
                    "unreachable WHEN clause specified after unconditional WHEN clause",
                ));
            }
            terminal[kind] |= c.predicate.is_none();
        }
        let ast::TableFactor::Table { name, args: None, .. } = &m.table else {
            return Err(SqlError::syntax(&m.table.to_string()));
        };
        // The target: a stored table (views and materialized views refused by PostgreSQL's
        // text; a missing one is 42P01 as anywhere).
        if let Some(def) = self.relation_name(name).ok().and_then(|n| super::lookup_table(&n)) {
            // Its writes would need the partition routing checks INSERT and UPDATE bind.
            if def.partition_key.is_some() || def.partition_of.is_some() {
                return Err(crate::partitions::unsupported("MERGE into a partitioned table or a partition"));
            }
            if def.view.is_some() || crate::catalog::is_view(&def) {
                return Err(refused(crate::schema::relname(&def.name), "views"));
            }
            if def.matview.is_some() {
                return Err(refused(crate::schema::relname(&def.name), "materialized views"));
            }
        }
        let target_name = Some(self.resolve_table(name)?.0);
        if let (Some(t), Some(s)) = (item_name(&m.table), item_name(&m.source)) {
            if t == s {
                return Err(SqlError::new("42712", format!("name \"{t}\" specified more than once"))
                    .detail("The name is used both as MERGE target table and data source."));
            }
        }
        let not_matched = m.clauses.iter().any(|c| !matches!(c.clause_kind, ast::MergeClauseKind::Matched));
        let constraint = ast::JoinConstraint::On(m.on.as_ref().clone());
        let join_operator = match not_matched {
            true => ast::JoinOperator::LeftOuter(constraint),
            false => ast::JoinOperator::Inner(constraint),
        };
        // `source LEFT JOIN target`: the planner's outer joins look the nullable side up by
        // key or index (an upsert of a few rows reads a few target rows, not the table).
        let twj = ast::TableWithJoins {
            relation: m.source.clone(),
            joins: vec![ast::Join { relation: m.table.clone(), global: false, join_operator }],
        };
        let (join, combined, js) = self.bind_join(std::slice::from_ref(&twj))?;
        // The target is the last relation the join added.
        let Some((table, _, target_at)) = js.tables.last().cloned() else {
            return Err(SqlError::internal("MERGE without its target"));
        };
        if Some(&table.name) != target_name.as_ref() || target_at + table.row_len() > combined.columns.len() {
            return Err(SqlError::internal("MERGE's target is not the join's last relation"));
        }
        let scope = Scope { def: &combined, alias: String::new(), joined: Some(js.clone()) };
        // ON once more, for the re-check of a row changed under the statement.
        let at = self.sub.collected();
        let on = self.condition(&m.on, Some(&scope), "JOIN/ON")?;
        let on = if self.sub.collected() == at {
            Some(on)
        } else {
            self.sub.forget_since(at);
            None
        };
        // NOT MATCHED clauses see the source alone.
        let mut source_js = js;
        if let Some((tdef, talias, _)) = source_js.tables.pop() {
            source_js.unreachable.push((talias, tdef));
        }
        let source_scope = Scope { def: &combined, alias: String::new(), joined: Some(source_js) };
        let mut clauses = Vec::with_capacity(m.clauses.len());
        for c in &m.clauses {
            let matched = matches!(c.clause_kind, ast::MergeClauseKind::Matched);
            let scope = if matched { &scope } else { &source_scope };
            let condition = match &c.predicate {
                Some(p) => Some(self.when_condition(p, scope)?),
                None => None,
            };
            let action = match &c.action {
                ast::MergeAction::DoNothing { .. } => Action::Nothing,
                ast::MergeAction::Delete { .. } => Action::Delete,
                ast::MergeAction::Update(ast::MergeUpdateExpr { kind: ast::MergeUpdateKind::Set(sets), .. }) => {
                    Action::Update(self.assignments(&table, sets, scope)?)
                }
                ast::MergeAction::Insert(i) => Action::Insert(self.merge_insert(&table, i, scope)?),
                _ => return Err(SqlError::internal("a MERGE action refused above")),
            };
            clauses.push(WhenClause { matched, condition, action });
        }
        let plan = MergePlan { table, target_at, join, on, clauses };
        Ok((Plan::Merge(Box::new(plan)), vec![]))
    }

    /// `WHEN ... AND condition`: no aggregates or window functions, as PostgreSQL says.
    fn when_condition(&mut self, p: &ast::Expr, scope: &Scope) -> Result<Expr> {
        let outer = self.window.banned_in("MERGE WHEN conditions");
        let banned = std::mem::replace(&mut self.aggs_banned_in, "MERGE WHEN conditions");
        let b = self.condition(p, Some(scope), "WHEN");
        self.aggs_banned_in = banned;
        self.window.ban(outer);
        b
    }

    /// `INSERT [(columns)] VALUES (...)` of a NOT MATCHED clause: the target's row over the
    /// joined row, DEFAULTs where no value is given (also for `DEFAULT` and a short VALUES
    /// list without columns, as INSERT's).
    fn merge_insert(&mut self, def: &Arc<TableDef>, i: &ast::MergeInsertExpr, scope: &Scope) -> Result<Vec<Expr>> {
        let ast::MergeInsertKind::Values(values) = &i.kind else {
            return Err(SqlError::internal("a MERGE INSERT form refused above"));
        };
        let [row] = values.rows.as_slice() else {
            return Err(SqlError::syntax(","));
        };
        let exprs = &row.content;
        let targets: Vec<usize> = if i.columns.is_empty() {
            (0..def.columns.len()).collect()
        } else {
            let mut t = Vec::with_capacity(i.columns.len());
            for c in &i.columns {
                let id = match c.0.as_slice() {
                    [p] => p.as_ident().ok_or_else(|| SqlError::syntax(&c.to_string()))?,
                    _ => return Err(SqlError::unsupported("MERGE INSERT into a subscript or field is not supported")),
                };
                let cn = super::fold(id);
                let at = def.column(&cn).ok_or_else(|| {
                    SqlError::new(
                        code::UNDEFINED_COLUMN,
                        format!("column \"{cn}\" of relation \"{}\" does not exist", crate::schema::relname(&def.name)),
                    )
                    .at(self.pos(&id.span))
                })?;
                if t.contains(&at) {
                    return Err(SqlError::new(
                        code::DUPLICATE_COLUMN,
                        format!("column \"{cn}\" specified more than once"),
                    )
                    .at(self.pos(&id.span)));
                }
                t.push(at);
            }
            t
        };
        if exprs.len() > targets.len() {
            return Err(SqlError::new(code::SYNTAX_ERROR, "INSERT has more expressions than target columns"));
        }
        if exprs.len() < targets.len() && !i.columns.is_empty() {
            return Err(SqlError::new(code::SYNTAX_ERROR, "INSERT has more target columns than expressions"));
        }
        let outer = self.window.banned_in("VALUES");
        let banned = std::mem::replace(&mut self.aggs_banned_in, "VALUES");
        let values = self.merge_values(def, exprs, &targets, scope);
        self.aggs_banned_in = banned;
        self.window.ban(outer);
        values
    }

    fn merge_values(
        &mut self,
        def: &Arc<TableDef>,
        exprs: &[ast::Expr],
        targets: &[usize],
        scope: &Scope,
    ) -> Result<Vec<Expr>> {
        let mut row: Vec<Option<Expr>> = vec![None; def.columns.len()];
        let mut given = Vec::new();
        for (e, &i) in exprs.iter().zip(targets) {
            if is_default_keyword(e) {
                continue;
            }
            given.push(i);
            let b = self.expr(e, Some(scope))?;
            row[i] = Some(self.assign(b, &def.columns[i]).map_err(|err| self.at_literal(err, e))?);
        }
        self.check_identity(def, &given)?;
        let mut full = Vec::with_capacity(row.len());
        for (i, v) in row.into_iter().enumerate() {
            full.push(match v {
                Some(v) => v,
                None => self.default_of(&def.columns[i])?,
            });
        }
        Ok(full)
    }
}
