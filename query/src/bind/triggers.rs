//! Binds CREATE TRIGGER and DROP TRIGGER ([`crate::triggers`]).
//!
//! sqlparser reads a trigger function's arguments as parameter declarations (`f('x')` fails),
//! so a `CREATE [OR REPLACE] TRIGGER` statement is written as a marker SET holding its text
//! by tokens before parsing ([`create_trigger_syntax`]) and read here with PostgreSQL's grammar
//! (CreateTrigStmt) over PL/pgSQL's scanner.

use super::{fold, Plan};
use crate::error::{code, Result, SqlError};
use crate::plpgsql::scan::{tokens, Tok, Token};
use crate::triggers::{Trigger, DELETE, INSERT, TRUNCATE, UPDATE};
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// The marker SET a CREATE TRIGGER is written as.
pub(super) const MARKER: &str = "\"orbit trigger\"";

/// CREATE / DROP TRIGGER as bound.
#[derive(Debug, Clone)]
pub enum TriggerPlan {
    Create {
        t: Trigger,
        or_replace: bool,
    },
    /// The entry to drop (None: IF EXISTS found none), with the NOTICE then.
    Drop {
        entry: Option<String>,
        notice: Option<String>,
    },
    /// ALTER TABLE ... ENABLE [ALWAYS | REPLICA] / DISABLE TRIGGER: the entries and their new
    /// pg_trigger.tgenabled.
    Enable {
        entries: Vec<String>,
        state: char,
    },
    /// ALTER TRIGGER ... RENAME TO: the entry and its new name.
    Rename {
        entry: String,
        new_entry: String,
    },
}

/// `sql` with each CREATE [OR REPLACE] [CONSTRAINT] TRIGGER statement written as the marker
/// SET holding its text; None when it has none.
pub(super) fn create_trigger_syntax(sql: &str) -> Option<String> {
    crate::plpgsql::scan::rewrite_creates(sql, "trigger", |t, i, j| {
        // The statement, up to its `;` outside parentheses.
        let mut depth = 0i32;
        let mut end = t.len();
        for (k, x) in t.iter().enumerate().skip(j) {
            if x.is_op("(") {
                depth += 1;
            } else if x.is_op(")") {
                depth -= 1;
            } else if x.is_op(";") && depth == 0 {
                end = k;
                break;
            }
        }
        let text = &sql[t[i].start..t[end - 1].end];
        Some(crate::plpgsql::scan::Edit {
            from: t[i].start,
            to: t[end - 1].end,
            with: format!("SET {MARKER} TO '{}'", text.replace('\'', "''")),
            next: end,
        })
    })
}

fn syntax_at(text: &str, t: Option<&Token>) -> SqlError {
    match t {
        Some(t) => SqlError::new(code::SYNTAX_ERROR, format!("syntax error at or near \"{}\"", &text[t.start..t.end])),
        None => SqlError::new(code::SYNTAX_ERROR, "syntax error at end of input"),
    }
}

struct P<'a> {
    text: &'a str,
    t: Vec<Token>,
    i: usize,
}

impl P<'_> {
    fn at(&self, kw: &str) -> bool {
        self.t.get(self.i).is_some_and(|t| t.is(kw))
    }

    fn eat(&mut self, kw: &str) -> bool {
        let yes = self.at(kw);
        self.i += yes as usize;
        yes
    }

    fn expect(&mut self, kw: &str) -> Result<()> {
        if self.eat(kw) {
            Ok(())
        } else {
            Err(syntax_at(self.text, self.t.get(self.i)))
        }
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let yes = self.t.get(self.i).is_some_and(|t| t.is_op(op));
        self.i += yes as usize;
        yes
    }

    fn name(&mut self) -> Result<String> {
        match self.t.get(self.i).and_then(Token::word) {
            Some(w) => {
                self.i += 1;
                Ok(w.to_string())
            }
            None => Err(syntax_at(self.text, self.t.get(self.i))),
        }
    }

    /// A possibly qualified name's text as written (`s.t`, `"T"`).
    fn object_text(&mut self) -> Result<String> {
        let start = self.t.get(self.i).map(|t| t.start).ok_or_else(|| syntax_at(self.text, None))?;
        self.name()?;
        while self.t.get(self.i).is_some_and(|t| t.is_op(".")) {
            self.i += 1;
            self.name()?;
        }
        Ok(self.text[start..self.t[self.i - 1].end].to_string())
    }
}

fn parse_object_name(text: &str) -> Result<ast::ObjectName> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_object_name(false))
        .map_err(|e| SqlError::new(code::SYNTAX_ERROR, e.to_string()))
}

impl super::Binder<'_> {
    /// A CREATE TRIGGER marker's statement.
    pub(super) fn create_trigger(&mut self, values: &[ast::Expr]) -> Result<Plan> {
        let text = match values {
            [ast::Expr::Value(v)] => match &v.value {
                ast::Value::SingleQuotedString(s) => s.clone(),
                _ => return Err(SqlError::internal("a CREATE TRIGGER marker without its text")),
            },
            _ => return Err(SqlError::internal("a CREATE TRIGGER marker without its text")),
        };
        let mut p = P { t: tokens(&text)?, text: &text, i: 0 };
        p.expect("create")?;
        let or_replace = p.eat("or");
        if or_replace {
            p.expect("replace")?;
        }
        if p.eat("constraint") {
            return Err(SqlError::unsupported("constraint triggers are not supported yet"));
        }
        p.expect("trigger")?;
        let name = p.name()?;
        let mut instead = false;
        let before = if p.eat("before") {
            true
        } else if p.eat("after") {
            false
        } else if p.eat("instead") {
            p.expect("of")?;
            instead = true;
            false
        } else {
            return Err(syntax_at(&text, p.t.get(p.i)));
        };
        let mut events = 0u8;
        let mut columns = Vec::new();
        loop {
            if p.eat("insert") {
                events |= INSERT;
            } else if p.eat("delete") {
                events |= DELETE;
            } else if p.eat("update") {
                events |= UPDATE;
                if p.eat("of") {
                    loop {
                        columns.push(p.name()?);
                        if !p.eat_op(",") {
                            break;
                        }
                    }
                }
            } else if p.eat("truncate") {
                events |= TRUNCATE;
            } else {
                return Err(syntax_at(&text, p.t.get(p.i)));
            }
            if !p.eat("or") {
                break;
            }
        }
        p.expect("on")?;
        let table_text = p.object_text()?;
        if p.at("referencing") {
            return Err(SqlError::unsupported("transition tables (REFERENCING) are not supported yet"));
        }
        let mut row = false;
        if p.eat("for") {
            p.eat("each");
            if p.eat("row") {
                row = true;
            } else {
                p.expect("statement")?;
            }
        }
        let mut when = None;
        if p.eat("when") {
            if !p.eat_op("(") {
                return Err(syntax_at(&text, p.t.get(p.i)));
            }
            let start = p.i;
            let mut depth = 1;
            while p.i < p.t.len() {
                if p.t[p.i].is_op("(") {
                    depth += 1;
                } else if p.t[p.i].is_op(")") {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                p.i += 1;
            }
            if p.i >= p.t.len() || p.i == start {
                return Err(syntax_at(&text, p.t.get(p.i)));
            }
            // NEW and OLD as PostgreSQL prints them (lower case).
            let mut w = String::new();
            let mut last = p.t[start].start;
            for t in &p.t[start..p.i] {
                w.push_str(&text[last..t.start]);
                let raw = &text[t.start..t.end];
                w.push_str(&if t.is("new") || t.is("old") { raw.to_lowercase() } else { raw.to_string() });
                last = t.end;
            }
            when = Some(w);
            p.i += 1;
        }
        p.expect("execute")?;
        if !(p.eat("function") || p.eat("procedure")) {
            return Err(syntax_at(&text, p.t.get(p.i)));
        }
        let func_text = p.object_text()?;
        if !p.eat_op("(") {
            return Err(syntax_at(&text, p.t.get(p.i)));
        }
        let mut args = Vec::new();
        if !p.eat_op(")") {
            loop {
                let t = p.t.get(p.i).cloned().ok_or_else(|| syntax_at(&text, None))?;
                let raw = &text[t.start..t.end];
                let arg = match &t.tok {
                    Tok::Literal => crate::plpgsql::literal_text(raw).unwrap_or_else(|| raw.to_string()),
                    Tok::Word { text: w, .. } => w.clone(),
                    Tok::Op(o) if o == "-" => {
                        p.i += 1;
                        let n = p.t.get(p.i).ok_or_else(|| syntax_at(&text, None))?;
                        format!("-{}", &text[n.start..n.end])
                    }
                    _ => return Err(syntax_at(&text, Some(&t))),
                };
                args.push(arg);
                p.i += 1;
                if p.eat_op(")") {
                    break;
                }
                if !p.eat_op(",") {
                    return Err(syntax_at(&text, p.t.get(p.i)));
                }
            }
        }
        if p.i < p.t.len() {
            return Err(syntax_at(&text, p.t.get(p.i)));
        }
        // The table, or a view (INSTEAD OF row triggers and statement triggers).
        let table = super::object_name(self.sql, &parse_object_name(&table_text)?)?;
        let def = super::lookup_table(&table).ok_or_else(|| {
            SqlError::new(
                code::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", crate::schema::relname(&table)),
            )
        })?;
        let relname = crate::schema::relname(&table).to_string();
        let view = def.view.is_some() && def.partition_of.is_none();
        if def.matview.is_some() {
            return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("relation \"{relname}\" cannot have triggers"))
                .detail("This operation is not supported for materialized views."));
        }
        if view && !instead && row {
            return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{relname}\" is a view"))
                .detail("Views cannot have row-level BEFORE or AFTER triggers."));
        }
        if view && events & TRUNCATE != 0 {
            return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{relname}\" is a view"))
                .detail("Views cannot have TRUNCATE triggers."));
        }
        if !view && instead {
            return Err(SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{relname}\" is a table"))
                .detail("Tables cannot have INSTEAD OF triggers."));
        }
        if row && events & TRUNCATE != 0 {
            return Err(SqlError::new(code::FEATURE_NOT_SUPPORTED, "TRUNCATE FOR EACH ROW triggers are not supported"));
        }
        if instead {
            let refuse = |m: &str| Err(SqlError::new(code::FEATURE_NOT_SUPPORTED, m.to_string()));
            if !row {
                return refuse("INSTEAD OF triggers must be FOR EACH ROW");
            }
            if when.is_some() {
                return refuse("INSTEAD OF triggers cannot have WHEN conditions");
            }
            if !columns.is_empty() {
                return refuse("INSTEAD OF triggers cannot have column lists");
            }
        }
        if def.index_of.is_some() || def.partition_key.is_some() || def.partition_of.is_some() {
            return Err(SqlError::unsupported(format!(
                "triggers on \"{relname}\" (an index, a partitioned table or a partition) are not supported yet"
            )));
        }
        for c in &columns {
            if !def.columns.iter().any(|x| &x.name == c) {
                return Err(SqlError::new(
                    code::UNDEFINED_COLUMN,
                    format!("column \"{c}\" of relation \"{relname}\" does not exist"),
                ));
            }
        }
        // The function: `RETURNS trigger`, no arguments.
        let fname = parse_object_name(&func_text)?;
        let parts: Vec<String> = fname.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
        let f = crate::functions_sql::resolve(&parts).into_iter().find(|f| f.args.is_empty()).ok_or_else(|| {
            SqlError::new(code::UNDEFINED_FUNCTION, format!("function {}() does not exist", parts.join(".")))
        })?;
        if !f.trigger {
            return Err(SqlError::new(
                "42P17",
                format!("function {} must return type trigger", crate::schema::relname(&f.name)),
            ));
        }
        if let Some(w) = &when {
            if !row && (w.to_ascii_lowercase().contains("new.") || w.to_ascii_lowercase().contains("old.")) {
                return Err(SqlError::new(
                    "42P17",
                    "statement trigger's WHEN condition cannot reference column values",
                ));
            }
            crate::plpgsql::parse(&format!("BEGIN RETURN ({w}); END"), &[], "trigger_when", true)?;
        }
        if !or_replace && super::lookup_table(&Trigger::entry_name(&table, &name)).is_some() {
            return Err(SqlError::new(
                code::DUPLICATE_OBJECT,
                format!("trigger \"{name}\" for relation \"{relname}\" already exists"),
            ));
        }
        let t = Trigger {
            oid: 0,
            name,
            table,
            before,
            instead,
            events,
            row,
            function: f.oid,
            columns,
            when,
            args,
            enabled: 'O',
        };
        Ok(Plan::Trigger(TriggerPlan::Create { t, or_replace }))
    }

    /// The catalog name of the table a trigger statement names (42P01 if none).
    fn trigger_table(&self, table_name: &ast::ObjectName) -> Result<String> {
        let table = super::object_name(self.sql, table_name)?;
        if super::lookup_table(&table).is_none() {
            return Err(SqlError::new(
                code::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", crate::schema::relname(&table)),
            ));
        }
        Ok(table)
    }

    /// `ALTER TABLE t ENABLE [ALWAYS | REPLICA] | DISABLE TRIGGER name | ALL | USER` (`state`
    /// the new pg_trigger.tgenabled). ALL and USER name the same triggers: Orbit's foreign keys
    /// are not triggers, and stay checked.
    pub(super) fn trigger_enabled(
        &mut self,
        table_name: &ast::ObjectName,
        name: &ast::Ident,
        state: char,
    ) -> Result<Plan> {
        let table = self.trigger_table(table_name)?;
        let entries: Vec<String> = if name.quote_style.is_none()
            && (name.value.eq_ignore_ascii_case("all") || name.value.eq_ignore_ascii_case("user"))
        {
            crate::triggers::of_table(&table).iter().map(|t| Trigger::entry_name(&table, &t.name)).collect()
        } else {
            let name = fold(name);
            let entry = Trigger::entry_name(&table, &name);
            if super::lookup_table(&entry).is_none() {
                return Err(SqlError::new(
                    code::UNDEFINED_OBJECT,
                    format!("trigger \"{name}\" for table \"{}\" does not exist", crate::schema::relname(&table)),
                ));
            }
            vec![entry]
        };
        Ok(Plan::Trigger(TriggerPlan::Enable { entries, state }))
    }

    /// `ALTER TRIGGER name ON table RENAME TO new_name`.
    pub(super) fn alter_trigger(&mut self, a: &ast::AlterTrigger) -> Result<Plan> {
        let ast::AlterTriggerOperation::Rename { new_name } = &a.operation else {
            return Err(SqlError::unsupported("ALTER TRIGGER ... DEPENDS ON EXTENSION is not supported"));
        };
        let table = self.trigger_table(&a.table_name)?;
        let relname = crate::schema::relname(&table).to_string();
        let (name, new_name) = (fold(&a.name), fold(new_name));
        let entry = Trigger::entry_name(&table, &name);
        let new_entry = Trigger::entry_name(&table, &new_name);
        if super::lookup_table(&new_entry).is_some() {
            return Err(SqlError::new(
                "42710",
                format!("trigger \"{new_name}\" for relation \"{relname}\" already exists"),
            ));
        }
        if super::lookup_table(&entry).is_none() {
            return Err(SqlError::new(
                code::UNDEFINED_OBJECT,
                format!("trigger \"{name}\" for table \"{relname}\" does not exist"),
            ));
        }
        Ok(Plan::Trigger(TriggerPlan::Rename { entry, new_entry }))
    }

    /// `DROP TRIGGER [IF EXISTS] name ON table`.
    pub(super) fn drop_trigger(&mut self, d: &ast::DropTrigger) -> Result<Plan> {
        let name = match d.trigger_name.0.as_slice() {
            [p] => p.as_ident().map(fold).ok_or_else(|| SqlError::syntax(&d.trigger_name.to_string()))?,
            _ => return Err(SqlError::syntax(&d.trigger_name.to_string())),
        };
        let Some(table_name) = &d.table_name else { return Err(SqlError::syntax(&d.trigger_name.to_string())) };
        let table = match super::object_name(self.sql, table_name) {
            Ok(t) if super::lookup_table(&t).is_some() => t,
            Ok(_) | Err(_) if d.if_exists => {
                let shown = table_name.to_string();
                return Ok(Plan::Trigger(TriggerPlan::Drop {
                    entry: None,
                    notice: Some(format!("relation \"{shown}\" does not exist, skipping")),
                }));
            }
            Ok(t) => {
                return Err(SqlError::new(
                    code::UNDEFINED_TABLE,
                    format!("relation \"{}\" does not exist", crate::schema::relname(&t)),
                ))
            }
            Err(e) => return Err(e),
        };
        let relname = crate::schema::relname(&table).to_string();
        let entry = Trigger::entry_name(&table, &name);
        if super::lookup_table(&entry).is_none() {
            if d.if_exists {
                return Ok(Plan::Trigger(TriggerPlan::Drop {
                    entry: None,
                    notice: Some(format!("trigger \"{name}\" for relation \"{relname}\" does not exist, skipping")),
                }));
            }
            return Err(SqlError::new(
                code::UNDEFINED_OBJECT,
                format!("trigger \"{name}\" for table \"{relname}\" does not exist"),
            ));
        }
        Ok(Plan::Trigger(TriggerPlan::Drop { entry: Some(entry), notice: None }))
    }
}
