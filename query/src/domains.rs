//! Domains (`CREATE DOMAIN name AS type [DEFAULT e] [constraints]`, PostgreSQL's
//! sql-createdomain): their catalog entries, the checks of a value against a domain, and their
//! pg_type / pg_constraint rows.
//!
//! A domain is a catalog entry as an enum type is ([`crate::enums`]): a [`TableDef`] named
//! `\u{7}<domain>` ([`MARK`]) on every shard, created, swapped (ALTER DOMAIN) and dropped through
//! the same log records, snapshots and DDL steps as a table. Its one column `value` holds the
//! base type (with its typmod), `not_null` (typnotnull), the DEFAULT's SQL text and, for a domain
//! over a domain, the parent's type OID (`ColumnDef::domain`); its `checks` are the domain's
//! CHECK constraints over `VALUE`. `pk_name` holds the domain's type OID once a definition has
//! been swapped in (empty: the entry's relation OID is the type's), as enums keep theirs.
//!
//! A column of a domain type has the base type as its `ty` — so every operator, function,
//! index and wire format sees the base type, as PostgreSQL's do — and the domain's OID in
//! `ColumnDef::domain`; every row written is checked against the domains of its columns
//! ([`check`] from `exec::check_not_null`), and a cast to a domain checks its value
//! (`Builtin::DomainCheck`). The bound CHECK expressions are cached per thread, keyed by the
//! type OID and checked against the entry's relation OID (a new definition has a new one).

use crate::catalog_types;
use crate::error::{code, Result, SqlError};
use crate::expr::{self, Ctx, Expr};
use orbit_engine::table::{CheckDef, ColumnDef, Datum, SqlType, TableDef};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// The first character of a domain's catalog entry.
pub const MARK: char = '\u{7}';

/// The name of the entry's one column (what `VALUE` binds to).
pub const VALUE: &str = "value";

/// PostgreSQL's domain_in and domain_recv (a domain's typinput and typreceive).
const DOMAIN_IN: u32 = 2597;
const DOMAIN_RECV: u32 = 2598;

/// The catalog entry of domain `name` (its catalog name).
pub fn entry(name: &str) -> String {
    catalog_types::entry::<Domain>(name)
}

/// Whether a catalog name is a domain's entry.
pub fn is_entry(name: &str) -> bool {
    catalog_types::is_entry::<Domain>(name)
}

/// A domain as its catalog entry holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    pub oid: u32,
    /// Its catalog name (`s.d`, or `d` in public).
    pub name: String,
    /// The base type, with its typmod (typbasetype, typtypmod); for a domain over a domain,
    /// the underlying base type.
    pub base: SqlType,
    /// The domain this one is over (0: over `base` itself).
    pub parent: u32,
    pub not_null: bool,
    /// The DEFAULT as SQL text (typdefault).
    pub default: Option<String>,
    /// CHECK constraints over VALUE, as SQL text.
    pub checks: Vec<CheckDef>,
    /// The relation OID of the entry it was read from (0 for one not read from the catalog).
    pub rel_oid: u32,
}

impl Domain {
    /// The domain a catalog entry describes (None for another entry).
    pub fn of_def(def: &TableDef) -> Option<Domain> {
        let name = def.name.strip_prefix(MARK)?;
        let oid = catalog_types::type_oid(def)?;
        let [c] = def.columns.as_slice() else { return None };
        Some(Domain {
            oid,
            name: name.to_string(),
            base: c.ty,
            parent: c.domain,
            not_null: c.not_null,
            default: c.default_expr.clone(),
            checks: def.checks.clone(),
            rel_oid: def.oid,
        })
    }

    /// Its catalog entry (the relation OID is given when it is created).
    pub fn to_def(&self) -> TableDef {
        let column = ColumnDef {
            not_null: self.not_null,
            default_expr: self.default.clone(),
            domain: self.parent,
            ..ColumnDef::new(VALUE, self.base)
        };
        TableDef {
            name: entry(&self.name),
            columns: vec![column],
            pk_name: if self.oid == 0 { String::new() } else { self.oid.to_string() },
            checks: self.checks.clone(),
            ..TableDef::default_empty()
        }
    }

    /// The one-column table its CHECK expressions are bound over (`VALUE` its column).
    pub fn value_table(&self) -> TableDef {
        TableDef {
            name: self.name.clone(),
            columns: vec![ColumnDef::new(VALUE, self.base)],
            ..TableDef::default_empty()
        }
    }

    /// The name messages print: bare when the search path finds it.
    pub fn shown(&self) -> String {
        crate::enums::display_name(&self.name)
    }
}

/// A domain's constraints bound for checking values.
struct Bound {
    shown: String,
    parent: u32,
    not_null: bool,
    /// In name order, as PostgreSQL checks a domain's constraints.
    checks: Vec<(String, Expr)>,
}

thread_local! {
    /// Domains read, each with its bound constraints once a value was checked against it.
    static CACHE: catalog_types::Cache<Domain, Rc<Bound>> = RefCell::new(HashMap::new());
}

/// The most domains a thread keeps bound.
const MAX_CACHED: usize = 1024;

/// Where domains are found ([`catalog_types::Registry`]).
static DOMAINS: catalog_types::Registry<Domain, Rc<Bound>> = catalog_types::Registry::new(&CACHE, MAX_CACHED);

impl catalog_types::CatalogType for Domain {
    const MARK: char = MARK;

    fn of_def(def: &TableDef) -> Option<Domain> {
        Domain::of_def(def)
    }

    fn oid(&self) -> u32 {
        self.oid
    }
}

/// Domain `oid`: from the local shard's catalog copy, or where that is borrowed further up,
/// from the process-wide copy every look-up refreshes.
pub fn by_oid(oid: u32) -> Option<Arc<Domain>> {
    DOMAINS.by_oid(oid)
}

/// The domain of catalog name `name`, as the binder sees the catalog.
pub fn lookup_name(name: &str) -> Option<Arc<Domain>> {
    DOMAINS.lookup_name(name)
}

/// The domain a (possibly schema-qualified) type name names, along the search path.
pub fn resolve(parts: &[String]) -> Option<Arc<Domain>> {
    DOMAINS.resolve(parts)
}

/// Binds a domain's CHECK expression over VALUE.
pub fn bind_check(d: &Domain, c: &CheckDef) -> Result<Expr> {
    crate::bind::bind_check(&d.value_table(), c)
}

fn bound(oid: u32) -> Result<Rc<Bound>> {
    let d = by_oid(oid).ok_or_else(|| missing(oid))?;
    if let Some(b) = DOMAINS.extra(oid, d.rel_oid) {
        return Ok(b);
    }
    let mut checks = Vec::with_capacity(d.checks.len());
    for c in &d.checks {
        checks.push((c.name.clone(), bind_check(&d, c)?));
    }
    checks.sort_by(|a, b| a.0.cmp(&b.0));
    let b = Rc::new(Bound { shown: d.shown(), parent: d.parent, not_null: d.not_null, checks });
    DOMAINS.cache(&entry(&d.name), d.rel_oid, d.clone(), Some(b.clone()));
    Ok(b)
}

fn missing(oid: u32) -> SqlError {
    SqlError::new(code::UNDEFINED_OBJECT, format!("cache lookup failed for type {oid}"))
}

/// Checks `v` against domain `oid` (the domains it is over first, as PostgreSQL walks the
/// chain): NULL under NOT NULL is 23502, a CHECK that is false 23514 (NULL passes a CHECK).
pub fn check(oid: u32, v: &Datum) -> Result<()> {
    let b = bound(oid)?;
    check_as(&b, &b.shown, v, 0)
}

/// [`check`] of domain `b`, its errors naming the domain the value was cast to (`shown`).
fn check_as(b: &Bound, shown: &str, v: &Datum, depth: usize) -> Result<()> {
    if b.parent != 0 && depth < 64 {
        check_as(&*bound(b.parent)?, shown, v, depth + 1)?;
    }
    if b.not_null && v.is_null() {
        return Err(SqlError::new(code::NOT_NULL_VIOLATION, format!("domain {shown} does not allow null values")));
    }
    for (name, e) in &b.checks {
        let r = expr::eval(e, &Ctx { row: std::slice::from_ref(v), params: &[], aggs: &[] })?;
        if expr::truth(r) == Some(false) {
            return Err(violation(shown, name));
        }
    }
    Ok(())
}

/// PostgreSQL's 23514 for a value a domain's CHECK refuses.
pub fn violation(shown: &str, constraint: &str) -> SqlError {
    SqlError::new(code::CHECK_VIOLATION, format!("value for domain {shown} violates check constraint \"{constraint}\""))
        .on_constraint(constraint)
}

/// The DEFAULT a column of domain `oid` takes when it has none of its own: the domain's, or
/// the one of the domain it is over.
pub fn default_of(oid: u32) -> Option<String> {
    let mut at = oid;
    for _ in 0..64 {
        let d = by_oid(at)?;
        if d.default.is_some() {
            return d.default.clone();
        }
        if d.parent == 0 {
            return None;
        }
        at = d.parent;
    }
    None
}

/// The domain's chain of names, innermost last, for messages.
pub fn type_name(oid: u32) -> Option<String> {
    by_oid(oid).map(|d| d.shown())
}

/// Every domain of this shard's catalog copy, in OID order; those another open block created
/// are left out for transaction `me`.
pub fn all_seen_by(me: Option<orbit_shards::rowlock::Owner>) -> Vec<Arc<Domain>> {
    DOMAINS.all_seen_by(me)
}

/// Columns (table catalog name, column index) whose type is domain `oid`.
pub fn dependent_columns(oid: u32) -> Vec<(Arc<TableDef>, usize)> {
    let mut tables = crate::catalog::user_tables();
    tables.sort_by_key(|d| d.oid);
    let mut out = Vec::new();
    for d in tables.iter().filter(|d| d.view.is_none()) {
        for (i, c) in d.columns.iter().enumerate() {
            if c.domain == oid {
                out.push((d.clone(), i));
            }
        }
    }
    out
}

/// Domains over domain `oid`.
pub fn dependent_domains(oid: u32) -> Vec<Arc<Domain>> {
    all_seen_by(None).into_iter().filter(|d| d.parent == oid).collect()
}

/// What depends on a catalog type (a domain's or an enum's, [`dependents`] and
/// [`crate::enums::dependents`]), in the order PostgreSQL's DROP lists it.
pub enum Dependent {
    Domain(Arc<Domain>),
    Column(Arc<TableDef>, usize),
}

impl Dependent {
    /// The object as PostgreSQL's dependency messages name it: `type d`, `column c of table t`.
    pub fn describe(&self) -> String {
        match self {
            Dependent::Domain(d) => format!("type {}", d.shown()),
            Dependent::Column(t, i) => format!("column {} of table {}", t.columns[*i].name, table_shown(&t.name)),
        }
    }

    /// The type it depends on directly, named for messages: the domain it is over or has as
    /// its column's type, else the base type, `base` (shown as written for a column or
    /// domain of the base type's array type, `base[]`).
    pub fn depends_on(&self, base: &str) -> String {
        let over = |oid: u32| by_oid(oid).map_or_else(String::new, |d| d.shown());
        match self {
            Dependent::Domain(d) if d.parent != 0 => over(d.parent),
            Dependent::Domain(d) if matches!(d.base, SqlType::Array(_)) => format!("{base}[]"),
            Dependent::Domain(_) => base.to_string(),
            Dependent::Column(t, i) if t.columns[*i].domain != 0 => over(t.columns[*i].domain),
            Dependent::Column(t, i) if matches!(t.columns[*i].ty, SqlType::Array(_)) => format!("{base}[]"),
            Dependent::Column(..) => base.to_string(),
        }
    }
}

/// A table as PostgreSQL's object descriptions name it.
pub fn table_shown(name: &str) -> String {
    if crate::schema::is_visible(name) {
        crate::schema::relname(name).to_string()
    } else {
        crate::schema::qualified_display(name)
    }
}

pub fn dependents(oid: u32) -> Vec<Dependent> {
    let mut out = Vec::new();
    collect_dependents(oid, &mut out, 0);
    out
}

fn collect_dependents(oid: u32, out: &mut Vec<Dependent>, depth: usize) {
    if depth > 64 {
        return;
    }
    for d in dependent_domains(oid) {
        let sub = d.oid;
        out.push(Dependent::Domain(d));
        collect_dependents(sub, out, depth + 1);
    }
    out.extend(dependent_columns(oid).into_iter().map(|(t, i)| Dependent::Column(t, i)));
}

/// The OID of a domain's CHECK constraint `k` (pg_constraint.oid), stable while the domain
/// keeps its OID and the constraint its place.
pub fn constraint_oid(d: &Domain, k: usize) -> i64 {
    DOMAIN_CONSTRAINT_OID_BASE + d.oid as i64 * 64 + k as i64
}

const DOMAIN_CONSTRAINT_OID_BASE: i64 = 3_000_000_000_000;

/// pg_get_constraintdef of a domain's constraint: `CHECK (VALUE > 0)` (PostgreSQL prints
/// VALUE in capitals; Orbit keeps the text as written, with `value` replaced).
pub fn constraint_def(oid: i64, pretty: bool) -> Option<String> {
    for d in all_seen_by(None) {
        for (k, c) in d.checks.iter().enumerate() {
            if constraint_oid(&d, k) == oid {
                let e = crate::bind::value_keyword_text(&c.expr);
                let not_valid = if c.not_valid { " NOT VALID" } else { "" };
                return Some(if pretty {
                    format!("CHECK ({e}){not_valid}")
                } else {
                    format!("CHECK (({e})){not_valid}")
                });
            }
        }
    }
    None
}

/// pg_constraint's rows of the domains transaction `me` sees (CHECK constraints only: a
/// domain's NOT NULL is typnotnull in PostgreSQL 15), in pg_constraint's column order.
pub(crate) fn pg_constraint_rows(me: orbit_shards::rowlock::Owner) -> Vec<Vec<Datum>> {
    let text = |s: &str| Datum::Text(s.to_string());
    let mut out = Vec::new();
    for d in all_seen_by(Some(me)) {
        for (k, c) in d.checks.iter().enumerate() {
            let e = crate::bind::value_keyword_text(&c.expr);
            out.push(vec![
                Datum::Int8(constraint_oid(&d, k)),
                text(&c.name),
                Datum::Int8(crate::schema::namespace_of(&d.name) as i64),
                text("c"),
                Datum::Bool(false),
                Datum::Bool(false),
                Datum::Bool(!c.not_valid),
                Datum::Int8(0),
                Datum::Int8(0),
                Datum::Int8(0),
                text(" "),
                text(" "),
                text(" "),
                Datum::Null,
                Datum::Null,
                Datum::Int8(0),
                Datum::Int8(d.oid as i64),
                Datum::Int4(0),
                Datum::Bool(false),
                Datum::Null,
                Datum::Null,
                Datum::Null,
                Datum::Null,
                Datum::Null,
                text(&format!("({e})")),
            ]);
        }
    }
    out
}

/// pg_type's rows of the domains transaction `me` sees: each the base type's row with the
/// domain's name, namespace, typtype 'd', typbasetype, typtypmod, typnotnull and typdefault
/// (`base_row` gives a built-in type's row in pg_type's column order).
pub(crate) fn pg_type_rows(
    me: orbit_shards::rowlock::Owner,
    base_row: impl Fn(SqlType) -> Vec<Datum>,
) -> Vec<Vec<Datum>> {
    use orbit_engine::table::OidKind;
    let mut out = Vec::new();
    for d in all_seen_by(Some(me)) {
        let mut r = base_row(d.base);
        if r.len() < 29 {
            continue;
        }
        r[0] = Datum::Int8(d.oid as i64);
        r[1] = Datum::Text(crate::schema::relname(&d.name).to_string());
        r[2] = Datum::Int8(crate::schema::namespace_of(&d.name) as i64);
        r[4] = Datum::Text("d".into());
        r[6] = Datum::Oid(OidKind::Oid, 0);
        r[7] = Datum::Int8(0);
        r[8] = Datum::Oid(OidKind::Oid, if d.parent != 0 { d.parent } else { d.base.oid() });
        r[14] = Datum::Bool(d.not_null);
        r[15] = Datum::Int4(if d.parent != 0 { -1 } else { d.base.modifier() });
        // typdefault as PostgreSQL deparses it (a string literal with its type).
        let column = ColumnDef { default_expr: d.default.clone(), ..ColumnDef::new(VALUE, d.base) };
        let default = d.default.as_ref().and_then(|_| crate::catalog::default_text(&column));
        r[17] = default.clone().map_or(Datum::Null, Datum::Text);
        // typdefaultbin: the expression's text (pg_get_expr prints it; pg_dump reads it).
        r[28] = default.map_or(Datum::Null, Datum::Text);
        r[18] = Datum::Bool(false);
        r[20] = Datum::Oid(OidKind::RegProc, DOMAIN_IN);
        r[22] = Datum::Oid(OidKind::RegProc, DOMAIN_RECV);
        r[25] = Datum::Oid(OidKind::RegProc, 0);
        r[26] = Datum::Oid(OidKind::RegProc, 0);
        out.push(r);
    }
    out
}

/// information_schema.domains' rows (or with `constraints`, domain_constraints') of the
/// domains transaction `me` sees; the type's details as information_schema.columns gives them
/// for a column of the base type (`crate::catalog::column_details`).
pub(crate) fn information_schema_rows(me: orbit_shards::rowlock::Owner, constraints: bool) -> Vec<Vec<Datum>> {
    let text = |s: &str| Datum::Text(s.to_string());
    let mut out = Vec::new();
    for d in all_seen_by(Some(me)) {
        let (schema, rel) = crate::schema::split(&d.name);
        if constraints {
            let mut names: Vec<&str> = d.checks.iter().map(|c| c.name.as_str()).collect();
            names.sort_unstable();
            for n in names {
                out.push(vec![
                    text("postgres"),
                    text(schema),
                    text(n),
                    text("postgres"),
                    text(schema),
                    text(rel),
                    text("NO"),
                    text("NO"),
                ]);
            }
            continue;
        }
        let t = d.value_table();
        // octets, precision, radix, scale, datetime precision, interval type and precision,
        // character set and collation (6), domain (3), udt catalog, schema, name, ...
        let c = crate::catalog::column_details(&t, 0, &[]);
        // Over another domain, PostgreSQL's view gives no lengths or precisions.
        let at = |k: usize| match (d.parent, k) {
            (0, _) | (_, 16..) => c.get(k).cloned().unwrap_or(Datum::Null),
            _ => Datum::Null,
        };
        let data_type = match (d.parent, d.base) {
            (0, SqlType::Array(_)) => "ARRAY".to_string(),
            (0, b) => crate::catalog::standard_type_name(b),
            _ => "USER-DEFINED".to_string(),
        };
        let max_length = match d.base {
            SqlType::Varchar(Some(n)) | SqlType::Bpchar(Some(n)) if d.parent == 0 => Datum::Int4(n as i32),
            _ => Datum::Null,
        };
        let mut row = vec![text("postgres"), text(schema), text(rel), text(&data_type), max_length, at(0)];
        row.extend((0..6).map(|_| Datum::Null));
        row.extend([at(1), at(2), at(3), at(4), Datum::Null, Datum::Null]);
        let column = ColumnDef { default_expr: d.default.clone(), ..ColumnDef::new(VALUE, d.base) };
        row.push(
            d.default.as_ref().and_then(|_| crate::catalog::default_text(&column)).map_or(Datum::Null, Datum::Text),
        );
        // udt_*: the base type, or the domain it is over.
        match d.parent {
            0 => row.extend([at(16), at(17), at(18)]),
            p => {
                let (ps, pn) = by_oid(p).map_or((String::new(), String::new()), |p| {
                    let (s, n) = crate::schema::split(&p.name);
                    (s.to_string(), n.to_string())
                });
                row.extend([text("postgres"), text(&ps), text(&pn)]);
            }
        }
        row.extend((0..4).map(|_| Datum::Null));
        row.push(text("1"));
        out.push(row);
    }
    out
}

/// A statement on domains, bound by `bind/domain.rs` and run by `exec/domains.rs`.
#[derive(Debug, Clone)]
pub enum DomainPlan {
    /// `CREATE DOMAIN`: the new domain (OID 0 until created).
    Create(Domain),
    /// `DROP DOMAIN [IF EXISTS] names [CASCADE | RESTRICT]`: the domains found, and the names
    /// IF EXISTS skips (a notice each).
    Drop { names: Vec<String>, skipped: Vec<String>, cascade: bool },
    /// Every other `ALTER DOMAIN name ...`: the domain's new definition (`check`: a CHECK
    /// constraint the existing column values must pass; `not_null`: they must not be NULL);
    /// `notice`: what PostgreSQL says instead of doing anything (DROP CONSTRAINT IF EXISTS of
    /// a missing one).
    Alter { name: String, new: Box<Domain>, check: Option<CheckDef>, not_null: bool, notice: Option<String> },
    /// `ALTER DOMAIN name RENAME TO new_name` (a catalog name in the same schema).
    Rename { name: String, new_name: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_reads_back() {
        let d = Domain {
            oid: 16500,
            name: "posint".into(),
            base: SqlType::Int4,
            parent: 0,
            not_null: true,
            default: Some("1".into()),
            checks: vec![CheckDef::new("posint_check", "value > 0")],
            rel_oid: 0,
        };
        let mut def = d.to_def();
        def.oid = 17000;
        assert_eq!(Domain::of_def(&def), Some(Domain { rel_oid: 17000, ..d }));
    }
}
