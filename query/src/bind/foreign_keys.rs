//! FOREIGN KEY constraints: CREATE TABLE's `REFERENCES` column constraint and `FOREIGN KEY`
//! table constraint, and ALTER TABLE ... ADD FOREIGN KEY, bound to [`ForeignKeyDef`]s with
//! PostgreSQL's names and errors. Checking rows and the referential actions are
//! [`crate::foreign_key`]'s.

use super::constraints::make_object_name;
use super::{fold, Binder};
use crate::error::{code, Result, SqlError};
use orbit_engine::table::{FkAction, ForeignKeyDef, SqlType, TableDef};
use sqlparser::ast;

/// PostgreSQL's SQLSTATE for a referenced key without a matching unique constraint.
const INVALID_FOREIGN_KEY: &str = "42830";

fn action(a: Option<ast::ReferentialAction>) -> FkAction {
    match a {
        None | Some(ast::ReferentialAction::NoAction) => FkAction::NoAction,
        Some(ast::ReferentialAction::Restrict) => FkAction::Restrict,
        Some(ast::ReferentialAction::Cascade) => FkAction::Cascade,
        Some(ast::ReferentialAction::SetNull) => FkAction::SetNull,
        Some(ast::ReferentialAction::SetDefault) => FkAction::SetDefault,
    }
}

/// Whether values of `a` and `b` compare with each other (PostgreSQL needs an equality
/// operator between the two types).
fn comparable(a: SqlType, b: SqlType) -> bool {
    (a.is_numeric() && b.is_numeric())
        || (a.is_string() && b.is_string())
        || (a.is_datetime() && b.is_datetime())
        || a == b
}

/// Every name a constraint of `def` has (an FK's name may be none of these).
fn constraint_names(def: &TableDef) -> Vec<String> {
    let mut names: Vec<String> = def.checks.iter().map(|c| c.name.clone()).collect();
    names.extend(def.foreign_keys.iter().map(|f| f.name.clone()));
    names.extend(def.indexes.iter().map(|x| crate::schema::relname(&x.name).to_string()));
    if !def.pk.is_empty() {
        names.push(def.pk_name.clone());
    }
    names
}

impl Binder<'_> {
    /// Adds FOREIGN KEY constraints to `def` (its columns, primary key and UNIQUE constraints
    /// set). A column's `REFERENCES` comes with its one column in `columns`.
    pub(super) fn add_foreign_keys(&mut self, def: &mut TableDef, fks: Vec<ast::ForeignKeyConstraint>) -> Result<()> {
        for fk in fks {
            let bound = self.foreign_key(def, &fk)?;
            def.foreign_keys.push(bound);
        }
        Ok(())
    }

    fn foreign_key(&mut self, def: &TableDef, fk: &ast::ForeignKeyConstraint) -> Result<ForeignKeyDef> {
        if let Some(c) = &fk.characteristics {
            if c.deferrable == Some(true) || matches!(c.initially, Some(ast::DeferrableInitial::Deferred)) {
                return Err(SqlError::unsupported("DEFERRABLE foreign key constraints are not supported yet"));
            }
        }
        match fk.match_kind {
            None | Some(ast::ConstraintReferenceMatchKind::Simple) => {}
            Some(ast::ConstraintReferenceMatchKind::Partial) => {
                return Err(SqlError::unsupported("MATCH PARTIAL not yet implemented"))
            }
            Some(ast::ConstraintReferenceMatchKind::Full) => {
                return Err(SqlError::unsupported("MATCH FULL is not supported yet"))
            }
        }
        let not_found = |cn: &str| {
            SqlError::new(
                code::UNDEFINED_COLUMN,
                format!("column \"{cn}\" referenced in foreign key constraint does not exist"),
            )
        };
        let mut columns = Vec::new();
        for id in &fk.columns {
            let cn = fold(id);
            let i = def.columns.iter().position(|c| c.name == cn).ok_or_else(|| not_found(&cn))?;
            columns.push(i);
        }
        let pname = self.relation_name(&fk.foreign_table)?;
        let parent = if pname == def.name {
            def.clone()
        } else {
            let p = super::lookup_table(&pname)
                .ok_or_else(|| SqlError::new(code::UNDEFINED_TABLE, format!("relation \"{pname}\" does not exist")))?;
            if p.view.is_some() || p.index_of.is_some() || crate::catalog::is_view(&p) {
                return Err(SqlError::new(
                    code::WRONG_OBJECT_TYPE,
                    format!("referenced relation \"{}\" is not a table", crate::schema::relname(&pname)),
                ));
            }
            (*p).clone()
        };
        let prel = crate::schema::relname(&parent.name).to_string();
        let parent_columns = if fk.referred_columns.is_empty() {
            if parent.pk.is_empty() {
                return Err(SqlError::new(
                    code::UNDEFINED_OBJECT,
                    format!("there is no primary key for referenced table \"{prel}\""),
                ));
            }
            parent.pk.clone()
        } else {
            let mut out = Vec::new();
            for id in &fk.referred_columns {
                let cn = fold(id);
                out.push(parent.columns.iter().position(|c| c.name == cn).ok_or_else(|| not_found(&cn))?);
            }
            out
        };
        if columns.len() != parent_columns.len() {
            return Err(SqlError::new(
                INVALID_FOREIGN_KEY,
                "number of referencing and referenced columns for foreign key disagree",
            ));
        }
        let mut wanted = parent_columns.clone();
        wanted.sort_unstable();
        let same = |cols: &[usize]| {
            let mut c = cols.to_vec();
            c.sort_unstable();
            c == wanted
        };
        if !same(&parent.pk) && !parent.indexes.iter().any(|x| x.unique && x.constraint && same(&x.columns)) {
            return Err(SqlError::new(
                INVALID_FOREIGN_KEY,
                format!("there is no unique constraint matching given keys for referenced table \"{prel}\""),
            ));
        }
        let name = match fk.name.as_ref().map(fold) {
            Some(n) => {
                if constraint_names(def).contains(&n) {
                    return Err(SqlError::new(
                        code::DUPLICATE_OBJECT,
                        format!(
                            "constraint \"{n}\" for relation \"{}\" already exists",
                            crate::schema::relname(&def.name)
                        ),
                    ));
                }
                n
            }
            None => {
                let cols: Vec<&str> = columns.iter().map(|&i| def.columns[i].name.as_str()).collect();
                let taken = constraint_names(def);
                let rel = crate::schema::relname(&def.name);
                let mut pass = 0;
                loop {
                    let label = if pass == 0 { "fkey".to_string() } else { format!("fkey{pass}") };
                    let n = make_object_name(rel, Some(&cols.join("_")), &label);
                    if !taken.contains(&n) {
                        break n;
                    }
                    pass += 1;
                }
            }
        };
        for (&c, &p) in columns.iter().zip(&parent_columns) {
            let (ct, pt) = (def.columns[c].ty, parent.columns[p].ty);
            if !comparable(ct, pt) {
                return Err(SqlError::new(
                    code::DATATYPE_MISMATCH,
                    format!("foreign key constraint \"{name}\" cannot be implemented"),
                )
                .detail(format!(
                    "Key columns \"{}\" and \"{}\" are of incompatible types: {} and {}.",
                    def.columns[c].name,
                    parent.columns[p].name,
                    ct.name(),
                    pt.name()
                )));
            }
        }
        Ok(ForeignKeyDef {
            name,
            columns,
            parent: parent.name.clone(),
            parent_columns,
            on_delete: action(fk.on_delete),
            on_update: action(fk.on_update),
        })
    }
}
