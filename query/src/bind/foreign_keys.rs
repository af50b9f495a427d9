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
/// Whether a referencing column of type `a` can reference one of type `b`, as PostgreSQL's
/// ATAddForeignKeyConstraint decides: both in one btree operator family (the integer types,
/// the float types, the string types, date and the timestamps), or `a` cast implicitly to `b`
/// (`int` referencing `numeric`; not `numeric` referencing `bigint`).
fn comparable(a: SqlType, b: SqlType) -> bool {
    let family = |t: SqlType| {
        if t.is_integer() {
            Some(0)
        } else if t.is_float() {
            Some(1)
        } else if t.is_string() {
            Some(2)
        } else if t.is_datetime() {
            Some(3)
        } else {
            None
        }
    };
    a == b
        || family(a).is_some_and(|f| family(b) == Some(f))
        || crate::types::can_cast(a, b, crate::types::CastContext::Implicit)
}

/// ALTER COLUMN ... TYPE of column `i` of `def` (from `old` to `ty`, converted by `using` if
/// given) where a foreign key uses it, on either side: the new type must be comparable with
/// the other side's (PostgreSQL's 42804 when it is not, as its re-made constraint says). The
/// rows are not checked again, so only conversions that keep every value as it compares are
/// built: among the integer types, or among text and varchar, by the plain (assignment) cast
/// — `USING col` or `USING col::type` at most, as Django's AutoField -> BigAutoField sends it;
/// others are 0A000.
pub(super) fn check_retype(
    def: &TableDef,
    i: usize,
    ty: SqlType,
    old: SqlType,
    using: Option<&ast::Expr>,
) -> Result<()> {
    // (constraint, referencing column, referenced column, referencing type, referenced type)
    let mut uses: Vec<(String, String, String, SqlType, SqlType)> = Vec::new();
    for f in &def.foreign_keys {
        for (&c, &p) in f.columns.iter().zip(&f.parent_columns) {
            // This table's own column referencing the one altered.
            if f.parent == def.name && p == i && c != i {
                uses.push((
                    f.name.clone(),
                    def.columns[c].name.clone(),
                    def.columns[p].name.clone(),
                    def.columns[c].ty,
                    ty,
                ));
                continue;
            }
            if c != i {
                continue;
            }
            // The referenced table (this one, for a self-reference, with its new type).
            let parent = if f.parent == def.name {
                Some(std::sync::Arc::new(def.clone()))
            } else {
                super::lookup_table(&f.parent)
            };
            let Some(parent) = parent else { continue };
            let pty = if f.parent == def.name && p == i { ty } else { parent.columns[p].ty };
            uses.push((f.name.clone(), def.columns[c].name.clone(), parent.columns[p].name.clone(), ty, pty));
        }
    }
    for t in crate::catalog::user_tables() {
        if t.name == def.name {
            continue;
        }
        for f in t.foreign_keys.iter().filter(|f| f.parent == def.name) {
            for (&c, &p) in f.columns.iter().zip(&f.parent_columns) {
                if p == i {
                    let (cn, pn) = (t.columns[c].name.clone(), def.columns[p].name.clone());
                    uses.push((f.name.clone(), cn, pn, t.columns[c].ty, ty));
                }
            }
        }
    }
    if uses.is_empty() {
        return Ok(());
    }
    for (name, cn, pn, ct, pt) in &uses {
        if !comparable(*ct, *pt) {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!("foreign key constraint \"{name}\" cannot be implemented"),
            )
            .detail(format!(
                "Key columns \"{cn}\" and \"{pn}\" are of incompatible types: {} and {}.",
                crate::viewdef::strip_typmod(*ct).name(),
                crate::viewdef::strip_typmod(*pt).name()
            )));
        }
    }
    let family = |t: SqlType| match t {
        SqlType::Int2 | SqlType::Int4 | SqlType::Int8 => Some(0),
        SqlType::Text | SqlType::Varchar(_) => Some(1),
        _ => None,
    };
    let column = def.columns[i].name.as_str();
    let plain_using = match using {
        None => true,
        Some(e) => {
            let mut e = e;
            while let ast::Expr::Nested(inner) = e {
                e = inner;
            }
            let is_column = |e: &ast::Expr| matches!(e, ast::Expr::Identifier(id) if fold(id) == column);
            is_column(e) || matches!(e, ast::Expr::Cast { expr, .. } if is_column(expr))
        }
    };
    if family(old).is_none() || family(old) != family(ty) || !plain_using {
        return Err(SqlError::unsupported(
            "ALTER COLUMN ... TYPE of a column in a foreign key is supported among the integer types and among text and varchar, by a plain cast",
        ));
    }
    Ok(())
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
        // [NOT] DEFERRABLE [INITIALLY {DEFERRED | IMMEDIATE}]: INITIALLY DEFERRED alone makes
        // the constraint DEFERRABLE, as in PostgreSQL.
        let (mut deferrable, mut initially_deferred) = (false, false);
        if let Some(c) = &fk.characteristics {
            if c.enforced.is_some() {
                return Err(SqlError::unsupported("ENFORCED / NOT ENFORCED is not supported"));
            }
            initially_deferred = matches!(c.initially, Some(ast::DeferrableInitial::Deferred));
            if c.deferrable == Some(false) && initially_deferred {
                return Err(SqlError::new(
                    code::SYNTAX_ERROR,
                    "constraint declared INITIALLY DEFERRED must be DEFERRABLE",
                ));
            }
            deferrable = c.deferrable == Some(true) || initially_deferred;
        }
        let match_full = match fk.match_kind {
            None | Some(ast::ConstraintReferenceMatchKind::Simple) => false,
            Some(ast::ConstraintReferenceMatchKind::Partial) => {
                return Err(SqlError::unsupported("MATCH PARTIAL not yet implemented"))
            }
            Some(ast::ConstraintReferenceMatchKind::Full) => true,
        };
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
        // A temporary table referencing itself by its bare name: pg_temp is searched first, so
        // the name is the table being created (which no search finds yet).
        let temp_self = match fk.foreign_table.0.as_slice() {
            [one] => {
                one.as_ident().is_some_and(|id| fold(id) == crate::schema::relname(&def.name))
                    && crate::temp_tables::is_temp_schema(crate::schema::split(&def.name).0)
            }
            _ => false,
        };
        let parent = if pname == def.name || temp_self {
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
        super::generated::check_foreign_key(def, &columns, action(fk.on_update), action(fk.on_delete))?;
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
                    crate::viewdef::strip_typmod(ct).name(),
                    crate::viewdef::strip_typmod(pt).name()
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
            deferrable,
            initially_deferred,
            match_full,
            not_valid: false,
        })
    }
}

/// The variable of the SET statement `SET CONSTRAINTS` is rewritten to (sqlparser has no
/// grammar for it): `SET "orbit set constraints" TO 'deferred' | 'immediate' [, 'name' ...]`.
pub(super) const SET_CONSTRAINTS: &str = "\"orbit set constraints\"";

/// `SET CONSTRAINTS {ALL | name [, ...]} {DEFERRED | IMMEDIATE}` starting at token `i` (the SET)
/// as the marker SET statement, and the index of the token after it; None if the tokens are
/// not that statement.
pub(super) fn set_constraints_syntax(tokens: &[sqlparser::tokenizer::Token], i: usize) -> Option<(String, usize)> {
    use sqlparser::tokenizer::Token;
    let mut j = i + 1;
    let skip = |j: &mut usize| {
        while matches!(tokens.get(*j), Some(Token::Whitespace(_))) {
            *j += 1;
        }
    };
    let bare = |t: Option<&Token>, w: &str| matches!(t, Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    skip(&mut j);
    if !bare(tokens.get(j), "CONSTRAINTS") {
        return None;
    }
    j += 1;
    skip(&mut j);
    let mut names: Vec<String> = Vec::new();
    if bare(tokens.get(j), "ALL") {
        j += 1;
    } else {
        loop {
            let mut parts = Vec::new();
            loop {
                match tokens.get(j) {
                    Some(Token::Word(w)) => {
                        parts.push(if w.quote_style.is_some() { w.value.clone() } else { w.value.to_ascii_lowercase() })
                    }
                    _ => return None,
                }
                j += 1;
                if matches!(tokens.get(j), Some(Token::Period)) {
                    j += 1;
                    continue;
                }
                break;
            }
            names.push(parts.join("."));
            skip(&mut j);
            if matches!(tokens.get(j), Some(Token::Comma)) {
                j += 1;
                skip(&mut j);
                continue;
            }
            break;
        }
    }
    skip(&mut j);
    let mode = if bare(tokens.get(j), "DEFERRED") {
        "deferred"
    } else if bare(tokens.get(j), "IMMEDIATE") {
        "immediate"
    } else {
        return None;
    };
    j += 1;
    skip(&mut j);
    if !matches!(tokens.get(j), None | Some(Token::SemiColon) | Some(Token::EOF)) {
        return None;
    }
    let mut text = format!("SET {SET_CONSTRAINTS} TO '{mode}'");
    for n in names {
        text.push_str(&format!(", '{}'", n.replace('\'', "''")));
    }
    Some((text, j))
}

/// The plan of the marker SET [`set_constraints_syntax`] wrote.
pub(super) fn set_constraints(values: &[ast::Expr]) -> Result<super::Plan> {
    let words: Vec<String> = values
        .iter()
        .map(|v| match v {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::SingleQuotedString(s) => Ok(s.clone()),
                _ => Err(SqlError::internal("bad SET CONSTRAINTS marker")),
            },
            _ => Err(SqlError::internal("bad SET CONSTRAINTS marker")),
        })
        .collect::<Result<_>>()?;
    let Some((mode, names)) = words.split_first() else {
        return Err(SqlError::internal("bad SET CONSTRAINTS marker"));
    };
    Ok(super::Plan::SetConstraints { names: (!names.is_empty()).then(|| names.to_vec()), deferred: mode == "deferred" })
}
