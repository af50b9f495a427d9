//! information_schema's constraint views as PostgreSQL 15 defines them
//! (<https://www.postgresql.org/docs/15/information-schema.html>): table_constraints,
//! key_column_usage, referential_constraints, constraint_column_usage and check_constraints,
//! over the PRIMARY KEY, UNIQUE, FOREIGN KEY and CHECK constraints of the user tables, plus the
//! NOT NULL "CHECK" constraints PostgreSQL 15 lists (named `<namespace oid>_<table oid>_<attnum>_not_null`).
//! The view definitions live in [`crate::catalog`]'s list; the rows are built here from this
//! shard's catalog copy when a statement reads them. ORMs (Django, Rails, Hibernate) and tools
//! (DBeaver) read these to learn keys and references.

use crate::catalog::user_tables;
use orbit_engine::table::{Datum, FkAction, ForeignKeyDef, Row, TableDef};

/// information_schema.table_constraints.
pub(crate) const TABLE_CONSTRAINTS_OID: u32 = 12020;
/// information_schema.key_column_usage.
pub(crate) const KEY_COLUMN_USAGE_OID: u32 = 12021;
/// information_schema.referential_constraints.
pub(crate) const REFERENTIAL_CONSTRAINTS_OID: u32 = 12022;
/// information_schema.constraint_column_usage.
pub(crate) const CONSTRAINT_COLUMN_USAGE_OID: u32 = 12023;
/// information_schema.check_constraints.
pub(crate) const CHECK_CONSTRAINTS_OID: u32 = 12024;

/// The catalog (database) name every view reports, as information_schema.tables does.
const CATALOG: &str = "postgres";

/// What a constraint is.
enum Kind<'a> {
    PrimaryKey,
    Unique,
    ForeignKey(&'a ForeignKeyDef),
    /// A CHECK constraint and its `CHECK (...)` definition.
    Check(String),
    /// A NOT NULL column (PostgreSQL 15 lists these as CHECK constraints).
    NotNull,
}

/// One constraint of a user table.
struct Constraint<'a> {
    table: &'a TableDef,
    name: String,
    kind: Kind<'a>,
    /// The table's columns it is on (a CHECK: the columns its expression reads).
    columns: Vec<usize>,
}

impl Constraint<'_> {
    fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::PrimaryKey => "PRIMARY KEY",
            Kind::Unique => "UNIQUE",
            Kind::ForeignKey(_) => "FOREIGN KEY",
            Kind::Check(_) | Kind::NotNull => "CHECK",
        }
    }

    fn schema(&self) -> &str {
        crate::schema::split(&self.table.name).0
    }
}

fn text(s: &str) -> Datum {
    Datum::Text(s.to_string())
}

fn yes_no(b: bool) -> Datum {
    text(if b { "YES" } else { "NO" })
}

/// The constraints of `t` in pg_constraint's terms, NOT NULL columns after them.
fn constraints_of(t: &TableDef) -> Vec<Constraint<'_>> {
    let mut out = Vec::new();
    if t.view.is_some() {
        return out;
    }
    if !t.has_row_id() {
        let name = crate::schema::relname(&t.pk_name).to_string();
        out.push(Constraint { table: t, name, kind: Kind::PrimaryKey, columns: t.pk.clone() });
    }
    for ix in t.indexes.iter().filter(|x| x.constraint) {
        let name = crate::schema::relname(&ix.name).to_string();
        out.push(Constraint { table: t, name, kind: Kind::Unique, columns: ix.columns.clone() });
    }
    for c in &t.checks {
        let names = crate::bind::check_columns(&c.expr);
        let columns = t.columns.iter().enumerate().filter(|(_, col)| names.contains(&col.name)).map(|(i, _)| i);
        let def = format!("CHECK (({}))", c.expr);
        out.push(Constraint { table: t, name: c.name.clone(), kind: Kind::Check(def), columns: columns.collect() });
    }
    for fk in &t.foreign_keys {
        out.push(Constraint {
            table: t,
            name: fk.name.clone(),
            kind: Kind::ForeignKey(fk),
            columns: fk.columns.clone(),
        });
    }
    let ns = crate::schema::namespace_of(&t.name);
    for (i, c) in t.columns.iter().enumerate() {
        if c.not_null || t.pk.contains(&i) {
            let name = format!("{ns}_{}_{}_not_null", t.oid, i + 1);
            out.push(Constraint { table: t, name, kind: Kind::NotNull, columns: vec![i] });
        }
    }
    out
}

/// The referenced table of `fk` and the name of its constraint (primary key or UNIQUE) whose
/// index the foreign key uses, with that constraint's columns.
fn referenced(fk: &ForeignKeyDef) -> Option<(std::sync::Arc<TableDef>, String, Vec<usize>)> {
    let parent = crate::bind::lookup_table(&fk.parent)?;
    let mut want = fk.parent_columns.clone();
    want.sort_unstable();
    let same = |cols: &[usize]| {
        let mut c = cols.to_vec();
        c.sort_unstable();
        c == want
    };
    let (name, cols) = if !parent.pk.is_empty() && same(&parent.pk) {
        (crate::schema::relname(&parent.pk_name).to_string(), parent.pk.clone())
    } else {
        let ix = parent.indexes.iter().find(|x| x.unique && x.constraint && same(&x.columns))?;
        (crate::schema::relname(&ix.name).to_string(), ix.columns.clone())
    };
    Some((parent, name, cols))
}

/// information_schema.referential_constraints' words for an action.
fn rule(a: FkAction) -> &'static str {
    match a {
        FkAction::NoAction => "NO ACTION",
        FkAction::Restrict => "RESTRICT",
        FkAction::Cascade => "CASCADE",
        FkAction::SetNull => "SET NULL",
        FkAction::SetDefault => "SET DEFAULT",
    }
}

/// The rows of the information_schema view with OID `oid`, if it is one of these.
pub(crate) fn rows(oid: u32) -> Option<Vec<Row>> {
    let tables = user_tables();
    let all: Vec<Constraint<'_>> = tables.iter().flat_map(|t| constraints_of(t)).collect();
    let mut out = Vec::new();
    match oid {
        TABLE_CONSTRAINTS_OID => {
            for c in &all {
                let (deferrable, deferred) = match c.kind {
                    Kind::ForeignKey(fk) => (fk.deferrable, fk.initially_deferred),
                    _ => (false, false),
                };
                let (schema, table) = crate::schema::split(&c.table.name);
                out.push(vec![
                    text(CATALOG),
                    text(schema),
                    text(&c.name),
                    text(CATALOG),
                    text(schema),
                    text(table),
                    text(c.type_name()),
                    yes_no(deferrable),
                    yes_no(deferred),
                    yes_no(true),
                    // PostgreSQL 15's NULLS [NOT] DISTINCT, for UNIQUE only.
                    if matches!(c.kind, Kind::Unique) { yes_no(true) } else { Datum::Null },
                ]);
            }
        }
        KEY_COLUMN_USAGE_OID => {
            for c in &all {
                let positions: Vec<Option<usize>> = match c.kind {
                    Kind::PrimaryKey | Kind::Unique => vec![None; c.columns.len()],
                    Kind::ForeignKey(fk) => {
                        let idx = referenced(fk).map(|r| r.2).unwrap_or_default();
                        fk.parent_columns.iter().map(|p| idx.iter().position(|i| i == p).map(|n| n + 1)).collect()
                    }
                    Kind::Check(_) | Kind::NotNull => continue,
                };
                let (schema, table) = crate::schema::split(&c.table.name);
                for (n, (&col, pos)) in c.columns.iter().zip(positions).enumerate() {
                    out.push(vec![
                        text(CATALOG),
                        text(schema),
                        text(&c.name),
                        text(CATALOG),
                        text(schema),
                        text(table),
                        text(&c.table.columns[col].name),
                        Datum::Int4(n as i32 + 1),
                        pos.map_or(Datum::Null, |p| Datum::Int4(p as i32)),
                    ]);
                }
            }
        }
        REFERENTIAL_CONSTRAINTS_OID => {
            for c in &all {
                let Kind::ForeignKey(fk) = c.kind else { continue };
                let unique = referenced(fk);
                let uschema = unique.as_ref().map(|(p, _, _)| text(crate::schema::split(&p.name).0));
                out.push(vec![
                    text(CATALOG),
                    text(c.schema()),
                    text(&c.name),
                    if unique.is_some() { text(CATALOG) } else { Datum::Null },
                    uschema.unwrap_or(Datum::Null),
                    unique.as_ref().map_or(Datum::Null, |(_, n, _)| text(n)),
                    text(if fk.match_full { "FULL" } else { "NONE" }),
                    text(rule(fk.on_update)),
                    text(rule(fk.on_delete)),
                ]);
            }
        }
        CONSTRAINT_COLUMN_USAGE_OID => {
            for c in &all {
                // A foreign key uses the referenced table's columns; the others their own.
                let (table, cols): (&TableDef, Vec<usize>) = match c.kind {
                    Kind::NotNull => continue,
                    Kind::ForeignKey(fk) => {
                        let Some(parent) = tables.iter().find(|p| p.name == fk.parent) else { continue };
                        (parent, fk.parent_columns.clone())
                    }
                    _ => (c.table, c.columns.clone()),
                };
                let (schema, tname) = crate::schema::split(&table.name);
                let mut cols = cols;
                cols.sort_unstable();
                cols.dedup();
                for col in cols {
                    out.push(vec![
                        text(CATALOG),
                        text(schema),
                        text(tname),
                        text(&table.columns[col].name),
                        text(CATALOG),
                        text(c.schema()),
                        text(&c.name),
                    ]);
                }
            }
        }
        CHECK_CONSTRAINTS_OID => {
            for c in &all {
                let clause = match &c.kind {
                    // substring(pg_get_constraintdef(oid) from 7): `((expr))`.
                    Kind::Check(def) => def.get(6..).unwrap_or_default().to_string(),
                    Kind::NotNull => format!("{} IS NOT NULL", c.table.columns[c.columns[0]].name),
                    _ => continue,
                };
                out.push(vec![text(CATALOG), text(c.schema()), text(&c.name), Datum::Text(clause)]);
            }
        }
        _ => return None,
    }
    Some(out)
}
