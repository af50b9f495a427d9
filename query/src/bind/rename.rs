//! `ALTER {TABLE | INDEX | VIEW | SEQUENCE} [IF EXISTS] name RENAME TO new`, `ALTER {TABLE |
//! VIEW} [IF EXISTS] name SET SCHEMA s` and `ALTER TABLE [IF EXISTS] t RENAME CONSTRAINT c TO
//! d`, checked as PostgreSQL checks them (42P01 for a missing relation, 42P07 for a name any
//! relation has, 42501 for a system catalog, 42704 for a missing constraint, 42710 for a
//! constraint name the table has, 42809 for ALTER VIEW / SEQUENCE of another kind).
//!
//! As in PostgreSQL, ALTER TABLE and ALTER INDEX rename any relation (a table, a view, an
//! index, a primary key's index, a sequence); ALTER VIEW only a view, ALTER SEQUENCE only a
//! sequence. sqlparser has no IF EXISTS after ALTER INDEX and no ALTER SEQUENCE ... RENAME:
//! [`kind_syntax`] rewrites those to ALTER TABLE with a marker naming the statement as the
//! name's first part ([`Binder::rename_table`] reads it).
//!
//! A sequence's rename moves its row and rewrites the DEFAULTs that call it
//! (`exec/rename.rs`, [`crate::sequence::rename`]).
//!
//! Renaming an index renames its table and, in the same log record, the entry of its table's
//! definition (`Tables::rename`); a primary key's index (which has no table of its own: the
//! table's rows are its entries) and a CHECK or FOREIGN KEY constraint are renamed by a new
//! definition of their table. A UNIQUE or PRIMARY KEY constraint and its index are one name.

use super::alter_sequence::{bare, quoted, MARK};
use super::{fold, Binder, Plan};
use crate::error::{code, Result, SqlError};
use orbit_engine::table::TableDef;
use sqlparser::ast;
use sqlparser::tokenizer::Token;
use std::sync::Arc;

/// `solid` (the indexes of a statement's non-whitespace tokens, up to `end`) as `ALTER INDEX
/// IF EXISTS name RENAME TO new`, `ALTER SEQUENCE [IF EXISTS] name RENAME TO new` or `ALTER
/// {TABLE | VIEW} [IF EXISTS] name SET SCHEMA s`: that statement as `ALTER TABLE IF EXISTS
/// "<MARK>index".name RENAME TO new` (`"<MARK>sequence"`) or `ALTER TABLE [IF EXISTS] "<MARK>set
/// schema".name RENAME TO s`; None for any other statement.
pub(super) fn kind_syntax(tokens: &[Token], solid: &[usize], end: usize) -> Option<String> {
    let at = |k: usize| solid.get(k).map(|&j| &tokens[j]);
    let index = bare(at(1), "INDEX");
    let sequence = bare(at(1), "SEQUENCE");
    if !(index || sequence || bare(at(1), "TABLE") || bare(at(1), "VIEW")) {
        return None;
    }
    let if_exists = bare(at(2), "IF") && bare(at(3), "EXISTS");
    let mut k = if if_exists { 4 } else { 2 };
    let name_start = k;
    if !matches!(at(k), Some(Token::Word(_))) {
        return None;
    }
    while at(k + 1) == Some(&Token::Period) && matches!(at(k + 2), Some(Token::Word(_))) {
        k += 2;
    }
    k += 1;
    let name_end = solid.get(k).copied()?;
    let text = |from: usize, to: usize| -> String { tokens[from..to].iter().map(|t| t.to_string()).collect() };
    let last_word = matches!(at(k + 2), Some(Token::Word(_))) && k + 3 == solid.len();
    let rename_to = bare(at(k), "RENAME") && bare(at(k + 1), "TO") && last_word;
    let what = if index && if_exists && rename_to {
        "index"
    } else if sequence && rename_to {
        "sequence"
    } else if !index && !sequence && bare(at(k), "SET") && bare(at(k + 1), "SCHEMA") && last_word {
        "set schema"
    } else {
        return None;
    };
    let mark = quoted(&format!("{MARK}{what}"));
    Some(format!(
        "ALTER TABLE {}{mark}.{} RENAME TO {}",
        if if_exists { "IF EXISTS " } else { "" },
        text(solid[name_start], name_end),
        text(solid[k + 2], end)
    ))
}

/// The statement a rename's name says it came from ([`kind_syntax`]), and the name without
/// its marker.
fn statement_kind(name: &ast::ObjectName) -> (&'static str, ast::ObjectName) {
    let first = name.0.first().and_then(|p| p.as_ident()).map(|i| i.value.as_str());
    let kind = match first.and_then(|f| f.strip_prefix(MARK)) {
        Some("index") => "ALTER INDEX",
        Some("sequence") => "ALTER SEQUENCE",
        Some("set schema") => "SET SCHEMA",
        _ => return ("ALTER TABLE", name.clone()),
    };
    (kind, ast::ObjectName(name.0[1..].to_vec()))
}

/// The table whose primary key's index is named `name` (a relation's full name), if any.
pub(super) fn primary_key_named(name: &str) -> Option<Arc<TableDef>> {
    let (schema, rel) = crate::schema::split(name);
    crate::catalog::user_tables().into_iter().find(|t| {
        !t.pk.is_empty() && crate::schema::split(&t.name).0 == schema && crate::schema::relname(&t.pk_name) == rel
    })
}

/// The sequence a relation name (its folded parts) names, by the search path when
/// unqualified, if it is one.
fn sequence_named(parts: &[String]) -> Option<String> {
    let full = match parts {
        [n] => crate::schema::resolve_unqualified_sequence(n).ok()?,
        [s, n] => crate::schema::qualify(s, n),
        _ => return None,
    };
    super::lookup_table(&crate::sequence::entry(&full)).map(|_| full)
}

/// A new name as PostgreSQL's grammar has it there: a bare identifier (no schema).
fn bare_name(new_name: &ast::ObjectName) -> Result<String> {
    let [part] = new_name.0.as_slice() else { return Err(SqlError::syntax(".")) };
    let Some(id) = part.as_ident() else { return Err(SqlError::syntax(&new_name.to_string())) };
    super::schema::relation_part(&fold(id))
}

pub(super) fn missing(parts: &[String]) -> SqlError {
    SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{}\" does not exist", parts.join(".")))
}

fn relation_exists(name: &str) -> SqlError {
    SqlError::new(code::DUPLICATE_TABLE, format!("relation \"{}\" already exists", crate::schema::relname(name)))
}

impl Binder<'_> {
    /// The plan of `ALTER {TABLE | INDEX | VIEW} at RENAME TO new_name` (`at` has that one
    /// operation).
    pub(super) fn rename_table(&mut self, at: &ast::AlterTable, new_name: &ast::ObjectName) -> Result<Plan> {
        let (tag, name) = statement_kind(&at.name);
        if tag == "SET SCHEMA" {
            return self.set_schema(&name, at.if_exists, new_name, None);
        }
        self.rename_relation(tag, &name, at.if_exists, new_name)
    }

    /// `ALTER {TABLE | VIEW} [IF EXISTS] name SET SCHEMA schema`: the relation and its indexes
    /// renamed into `schema` (the sequences it owns stay in theirs).
    /// `only`: ALTER VIEW's or ALTER MATERIALIZED VIEW's tag, which moves a relation of that
    /// kind only.
    fn set_schema(
        &mut self,
        name: &ast::ObjectName,
        if_exists: bool,
        schema: &ast::ObjectName,
        only: Option<&'static str>,
    ) -> Result<Plan> {
        let schema = bare_name(schema)?;
        let tag = only.unwrap_or("ALTER TABLE");
        let tname = self.relation_name(name)?;
        let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
        let found = super::lookup_table(&tname);
        if found.as_ref().is_some_and(|d| d.partition_key.is_some() || d.partition_of.is_some()) {
            return Err(crate::partitions::unsupported("SET SCHEMA of a partitioned table or a partition"));
        }
        let Some(def) = found else {
            if if_exists {
                return Ok(Plan::Skipped {
                    tag,
                    notice: format!("relation \"{}\" does not exist, skipping", parts.join(".")),
                });
            }
            return Err(missing(&parts));
        };
        let wrong = match only {
            Some("ALTER VIEW") => def.view.is_none().then_some("view"),
            Some(_) => def.matview.is_none().then_some("materialized view"),
            None => None,
        };
        if let Some(kind) = wrong {
            return Err(SqlError::new(
                code::WRONG_OBJECT_TYPE,
                format!("\"{}\" is not a {kind}", crate::schema::relname(&tname)),
            ));
        }
        if def.index_of.is_some() {
            return Err(SqlError::new(
                code::WRONG_OBJECT_TYPE,
                format!("cannot change schema of index \"{}\"", crate::schema::relname(&tname)),
            )
            .hint("Change the schema of the table instead."));
        }
        if !crate::schema::exists(&schema) {
            return Err(SqlError::new("3F000", format!("schema \"{schema}\" does not exist")));
        }
        let from = crate::schema::split(&tname).0;
        if crate::temp_tables::is_temp_schema(&schema) || crate::temp_tables::is_temp_schema(from) {
            return Err(SqlError::unsupported("cannot move objects into or out of temporary schemas"));
        }
        if matches!(schema.as_str(), "pg_catalog" | "information_schema") {
            return Err(SqlError::unsupported(format!("ALTER TABLE ... SET SCHEMA {schema} is not supported yet")));
        }
        let rel = crate::schema::relname(&tname);
        let new_name = crate::schema::qualify(&schema, rel);
        if from == schema {
            return Ok(Plan::SetSchema { renames: Vec::new(), tag });
        }
        if super::lookup_table(&new_name).is_some() || primary_key_named(&new_name).is_some() {
            return Err(SqlError::new(
                code::DUPLICATE_TABLE,
                format!("relation \"{rel}\" already exists in schema \"{schema}\""),
            ));
        }
        let mut renames = vec![(def.clone(), new_name)];
        for x in &def.indexes {
            let Some(index) = super::lookup_table(&x.name) else { continue };
            renames.push((index, crate::schema::qualify(&schema, crate::schema::relname(&x.name))));
        }
        Ok(Plan::SetSchema { renames, tag })
    }

    /// `ALTER INDEX | VIEW` (`tag`) `name RENAME TO new_name` as sqlparser parses them.
    pub(super) fn rename_statement(&mut self, stmt: &ast::Statement) -> Option<Result<Plan>> {
        match stmt {
            ast::Statement::AlterIndex { name, operation: ast::AlterIndexOperation::RenameIndex { index_name } } => {
                Some(self.rename_relation("ALTER INDEX", name, false, index_name))
            }
            ast::Statement::AlterView(ast::AlterView {
                materialized,
                name,
                if_exists,
                operation: ast::AlterViewOperation::RenameTo { new_name },
            }) => {
                let tag = if *materialized { "ALTER MATERIALIZED VIEW" } else { "ALTER VIEW" };
                Some(self.rename_relation(tag, name, *if_exists, new_name))
            }
            ast::Statement::AlterView(ast::AlterView {
                materialized,
                name,
                if_exists,
                operation: ast::AlterViewOperation::SetSchema { schema_name },
            }) => {
                let tag = if *materialized { "ALTER MATERIALIZED VIEW" } else { "ALTER VIEW" };
                Some(self.set_schema(name, *if_exists, schema_name, Some(tag)))
            }
            _ => None,
        }
    }

    fn rename_relation(
        &mut self,
        tag: &'static str,
        name: &ast::ObjectName,
        if_exists: bool,
        new_name: &ast::ObjectName,
    ) -> Result<Plan> {
        let new_name = bare_name(new_name)?;
        let name = name.clone();
        let tname = self.relation_name(&name)?;
        let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
        let found = super::lookup_table(&tname);
        // Partitions name their parent (`crate::partitions`).
        if found.as_ref().is_some_and(|d| d.partition_key.is_some() || d.partition_of.is_some()) {
            return Err(crate::partitions::unsupported("renaming a partitioned table or a partition"));
        }
        let pk_of = found.is_none().then(|| primary_key_named(&tname)).flatten();
        let sequence = if found.is_none() && pk_of.is_none() { sequence_named(&parts) } else { None };
        let not_a = |kind: &str| {
            SqlError::new(code::WRONG_OBJECT_TYPE, format!("\"{}\" is not a {kind}", crate::schema::relname(&tname)))
        };
        if let Some(seq) = sequence {
            if tag == "ALTER VIEW" || tag == "ALTER MATERIALIZED VIEW" {
                return Err(not_a(if tag == "ALTER VIEW" { "view" } else { "materialized view" }));
            }
            let new_name = crate::schema::qualify(crate::schema::split(&seq).0, &new_name);
            if super::lookup_table(&new_name).is_some()
                || primary_key_named(&new_name).is_some()
                || super::lookup_table(&crate::sequence::entry(&new_name)).is_some()
            {
                return Err(relation_exists(&new_name));
            }
            return Ok(Plan::RenameSequence { name: seq, new_name, tag });
        }
        if tag == "ALTER SEQUENCE" && (found.is_some() || pk_of.is_some()) {
            return Err(not_a("sequence"));
        }
        if tag == "ALTER MATERIALIZED VIEW" && (found.is_none() && pk_of.is_some()) {
            return Err(not_a("materialized view"));
        }
        if found.is_none() && pk_of.is_none() && crate::catalog::resolve(&parts).is_none() {
            if if_exists {
                return Ok(Plan::Skipped {
                    tag,
                    notice: format!("relation \"{}\" does not exist, skipping", parts.join(".")),
                });
            }
            // PostgreSQL's ALTER statements point at no position for it.
            return Err(missing(&parts));
        }
        let is_view = found.as_ref().is_some_and(|d| d.view.is_some());
        if tag == "ALTER VIEW" && !is_view {
            return Err(not_a("view"));
        }
        if tag == "ALTER SEQUENCE" {
            return Err(not_a("sequence"));
        }
        if tag == "ALTER MATERIALIZED VIEW" && found.as_ref().is_none_or(|d| d.matview.is_none()) {
            return Err(not_a("materialized view"));
        }
        // The relation stays in its schema.
        let new_name = crate::schema::qualify(crate::schema::split(&tname).0, &new_name);
        if primary_key_named(&new_name).is_some() || super::lookup_table(&crate::sequence::entry(&new_name)).is_some() {
            return Err(relation_exists(&new_name));
        }
        if let Some(table) = pk_of {
            return self.rename_primary_key(table, new_name, tag);
        }
        if let Some(def) = found.filter(|d| d.view.is_some() || d.index_of.is_some()) {
            return Ok(Plan::RenameTable { table: def, new_name, tag });
        }
        let (tname, table) = self.resolve_table_to(&name, "alter")?;
        if crate::catalog::is_view(&table) {
            return Err(SqlError::new(
                code::INSUFFICIENT_PRIVILEGE,
                format!("permission denied: \"{tname}\" is a system catalog"),
            ));
        }
        Ok(Plan::RenameTable { table, new_name, tag })
    }

    /// A primary key's index (and constraint) renamed: a new definition of its table.
    fn rename_primary_key(&self, table: Arc<TableDef>, new_name: String, tag: &'static str) -> Result<Plan> {
        if super::lookup_table(&new_name).is_some() || primary_key_named(&new_name).is_some() {
            return Err(relation_exists(&new_name));
        }
        let mut def = (*table).clone();
        def.pk_name = crate::schema::relname(&new_name).to_string();
        Ok(Plan::Redefine { table, def, tag })
    }

    /// `ALTER TABLE [IF EXISTS] t RENAME CONSTRAINT old TO new`.
    pub(super) fn rename_constraint(
        &mut self,
        at: &ast::AlterTable,
        old: &ast::Ident,
        new: &ast::Ident,
    ) -> Result<Plan> {
        let tname = self.relation_name(&at.name)?;
        if super::lookup_table(&tname).is_none() {
            let parts: Vec<String> = at.name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect();
            if at.if_exists {
                return Ok(Plan::Skipped {
                    tag: "ALTER TABLE",
                    notice: format!("relation \"{}\" does not exist, skipping", parts.join(".")),
                });
            }
            if crate::catalog::resolve(&parts).is_none() {
                return Err(missing(&parts));
            }
        }
        let (tname, table) = self.resolve_table_to(&at.name, "alter")?;
        if crate::catalog::is_view(&table) {
            return Err(crate::catalog::read_only(&table));
        }
        let (old, new) = (fold(old), fold(new));
        let rel = crate::schema::relname(&tname);
        let schema = crate::schema::split(&tname).0;
        let has_pk = !table.pk.is_empty() && table.pk_name == old;
        let index = table.indexes.iter().find(|x| x.constraint && crate::schema::relname(&x.name) == old);
        let check = table.checks.iter().any(|c| c.name == old);
        let fk = table.foreign_keys.iter().any(|f| f.name == old);
        if !(has_pk || index.is_some() || check || fk) {
            return Err(SqlError::new(
                code::UNDEFINED_OBJECT,
                format!("constraint \"{old}\" for table \"{rel}\" does not exist"),
            ));
        }
        let taken = (!table.pk.is_empty() && table.pk_name == new)
            || table.indexes.iter().any(|x| x.constraint && crate::schema::relname(&x.name) == new)
            || table.checks.iter().any(|c| c.name == new)
            || table.foreign_keys.iter().any(|f| f.name == new);
        if taken {
            return Err(SqlError::new(
                code::DUPLICATE_OBJECT,
                format!("constraint \"{new}\" for relation \"{rel}\" already exists"),
            ));
        }
        let new_full = crate::schema::qualify(schema, &new);
        if has_pk {
            return self.rename_primary_key(table, new_full, "ALTER TABLE");
        }
        if let Some(x) = index {
            let index = super::lookup_table(&x.name).ok_or_else(|| {
                SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{}\" does not exist", x.name))
            })?;
            return Ok(Plan::RenameTable { table: index, new_name: new_full, tag: "ALTER TABLE" });
        }
        let mut def = (*table).clone();
        for c in def.checks.iter_mut().filter(|c| c.name == old) {
            c.name = new.clone();
        }
        for f in def.foreign_keys.iter_mut().filter(|f| f.name == old) {
            f.name = new.clone();
        }
        Ok(Plan::Redefine { table, def, tag: "ALTER TABLE" })
    }
}
