//! Enum types (`CREATE TYPE name AS ENUM (labels)`, PostgreSQL's datatype-enum): their catalog
//! entries, labels and sort positions, input and output, and their pg_type / pg_enum rows.
//!
//! An enum type is a catalog entry like a schema's or a sequence's: a column-less-looking
//! [`TableDef`] named `\u{6}<type>` ([`MARK`]; `<type>` is the catalog name, `s.mood` in schema
//! `s`, bare in public) on every shard, created, swapped and dropped through the same log
//! records, snapshots and DDL steps as a table (shard 0 deciding). Its "columns" are the labels
//! in sort order, each with its `pg_enum.enumsortorder` as a `real` default; `pk_name` holds the
//! type's OID, taken from a catalog generation when the type is created and kept across ALTER
//! TYPE (which swaps in a new definition with a new relation OID).
//!
//! A value is `Datum::Enum(type OID, sort position)`: it compares, sorts, groups, hashes and
//! keys by the position alone, so no executor step looks the catalog up per row. Positions
//! never change once given (ADD VALUE ... BEFORE/AFTER takes the midpoint of its neighbours, as
//! PostgreSQL does with its float4 sort orders; RENAME VALUE keeps it), so values in the log and
//! keys in indexes stay valid. Only printing a value (and reading a label) needs the labels:
//! [`by_oid`] reads them from the local shard's catalog copy (a per-thread cache checked by the
//! entry's relation OID), or, where the shard's state is borrowed further up (an expression
//! evaluated inside a shard step), from a process-wide copy every successful look-up refreshes
//! (the [`crate::catalog_types`] registry domains share).

use crate::catalog_types;
use crate::error::{code, Result, SqlError};
use orbit_engine::table::{ColumnDef, Datum, SqlType, TableDef};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// The first character of an enum type's catalog entry.
pub const MARK: char = '\u{6}';

/// PostgreSQL's NAMEDATALEN - 1: the longest label (and name).
const MAX_LABEL: usize = 63;

/// The catalog entry of enum type `name` (its catalog name).
pub fn entry(name: &str) -> String {
    catalog_types::entry::<EnumType>(name)
}

/// Whether a catalog name is an enum type's entry.
pub fn is_entry(name: &str) -> bool {
    catalog_types::is_entry::<EnumType>(name)
}

/// One label of an enum type.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub name: String,
    /// `pg_enum.enumsortorder`.
    pub pos: f32,
}

/// An enum type as its catalog entry holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumType {
    pub oid: u32,
    /// Its catalog name (`s.mood`, or `mood` in public).
    pub name: String,
    /// In sort order.
    pub labels: Vec<Label>,
}

impl EnumType {
    /// The type a catalog entry describes (None for another entry).
    pub fn of_def(def: &TableDef) -> Option<EnumType> {
        let name = def.name.strip_prefix(MARK)?;
        let oid = catalog_types::type_oid(def)?;
        let labels = def
            .columns
            .iter()
            .map(|c| match c.default {
                Datum::Float4(pos) => Some(Label { name: c.name.clone(), pos }),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(EnumType { oid, name: name.to_string(), labels })
    }

    /// Its catalog entry (the relation OID is given when it is created).
    pub fn to_def(&self) -> TableDef {
        let columns = self
            .labels
            .iter()
            .map(|l| ColumnDef { default: Datum::Float4(l.pos), ..ColumnDef::new(l.name.clone(), SqlType::Float4) })
            .collect();
        TableDef { name: entry(&self.name), columns, pk_name: self.oid.to_string(), ..TableDef::default_empty() }
    }

    /// The label at sort position `pos`.
    pub fn label(&self, pos: f32) -> Option<&str> {
        self.labels.iter().find(|l| l.pos == pos).map(|l| l.name.as_str())
    }

    /// The sort position of `label`.
    pub fn position(&self, label: &str) -> Option<f32> {
        self.labels.iter().find(|l| l.name == label).map(|l| l.pos)
    }

    /// The value of `label`, or PostgreSQL's 22P02 (55P04 for a label an open transaction
    /// added: [`safe`]).
    pub fn value(&self, label: &str) -> Result<Datum> {
        match self.position(label) {
            Some(pos) => safe(self, pos),
            None => Err(SqlError::new(
                code::INVALID_TEXT_REPRESENTATION,
                format!("invalid input value for enum {}: \"{label}\"", display_name(&self.name)),
            )),
        }
    }

    /// The value OID PostgreSQL's pg_enum would give the label at index `i` (Orbit keeps no
    /// per-label OID: the type's OID times 1000 plus the label's creation rank would not
    /// survive ADD VALUE BEFORE; the position's rank in sort order is stable enough for
    /// `pg_enum.oid`, which no client joins on).
    pub fn label_oid(&self, i: usize) -> u32 {
        self.oid.wrapping_mul(1000).wrapping_add(i as u32 + 1)
    }
}

/// A type's name as messages and format_type print it: bare when the search path finds it.
pub fn display_name(name: &str) -> String {
    if visible(name) {
        crate::schema::relname(name).to_string()
    } else {
        crate::schema::qualified_display(name)
    }
}

/// Whether the search path finds the type by its bare name first.
fn visible(name: &str) -> bool {
    let (schema, rel) = crate::schema::split(name);
    for s in crate::schema::path() {
        if s == schema {
            return true;
        }
        let other = crate::schema::qualify(&s, rel);
        if lookup_name(&other).is_some() || crate::domains::lookup_name(&other).is_some() {
            return false;
        }
    }
    false
}

thread_local! {
    static CACHE: catalog_types::Cache<EnumType, ()> = RefCell::new(HashMap::new());
}

/// Where enum types are found ([`catalog_types::Registry`]).
static TYPES: catalog_types::Registry<EnumType, ()> = catalog_types::Registry::new(&CACHE, 1024);

impl catalog_types::CatalogType for EnumType {
    const MARK: char = MARK;

    fn of_def(def: &TableDef) -> Option<EnumType> {
        EnumType::of_def(def)
    }

    fn oid(&self) -> u32 {
        self.oid
    }
}

/// Enum type `oid` (from the local catalog copy, or the last definition any thread read).
pub fn by_oid(oid: u32) -> Option<Arc<EnumType>> {
    TYPES.by_oid(oid)
}

/// The enum type of catalog name `name` (as the binder sees the catalog: not another open
/// block's creation).
pub fn lookup_name(name: &str) -> Option<Arc<EnumType>> {
    TYPES.lookup_name(name)
}

/// The enum type a (possibly schema-qualified) type name names, along the search path; None
/// when there is none.
pub fn resolve(parts: &[String]) -> Option<Arc<EnumType>> {
    TYPES.resolve(parts)
}

/// The type name engine messages print (`SqlType::name`).
fn type_name(oid: u32) -> Option<String> {
    by_oid(oid).map(|t| display_name(&t.name))
}

/// Lets the engine name enum types (called once at start-up and by every binder entry).
pub fn install() {
    let _ = orbit_engine::table::ENUM_TYPE_NAME.set(type_name);
}

/// A label's text read as a value of enum type `oid` (enum_in).
pub fn parse(oid: u32, s: &str) -> Result<Datum> {
    match by_oid(oid) {
        Some(t) => t.value(s),
        None => Err(missing_oid(oid)),
    }
}

fn missing_oid(oid: u32) -> SqlError {
    SqlError::new(code::UNDEFINED_OBJECT, format!("cache lookup failed for type {oid}"))
}

/// The label of a value (enum_out; also its binary form, enum_send).
pub fn label(oid: u32, pos: f32) -> String {
    by_oid(oid).and_then(|t| t.label(pos).map(str::to_string)).unwrap_or_else(|| format!("{pos}"))
}

/// Checks a new label (PostgreSQL: over 63 bytes is 42602).
pub fn check_label(label: &str) -> Result<()> {
    if label.len() > MAX_LABEL {
        return Err(SqlError::new("42602", format!("invalid enum label \"{label}\""))
            .detail(format!("Labels must be {MAX_LABEL} bytes or less.")));
    }
    Ok(())
}

/// Every enum type of this shard's catalog copy (for pg_type, pg_enum and DROP SCHEMA), in
/// OID order; those another open block created are left out for transaction `me`.
pub fn all_seen_by(me: Option<orbit_shards::rowlock::Owner>) -> Vec<Arc<EnumType>> {
    TYPES.all_seen_by(me)
}

/// The first and last values (enum_first, enum_last) and all values (enum_range) of a type;
/// a label an open transaction added among them is 55P04, as PostgreSQL checks each value
/// these functions return.
pub fn first(t: &EnumType) -> Result<Datum> {
    t.labels.first().map_or(Ok(Datum::Null), |l| safe(t, l.pos))
}

pub fn last(t: &EnumType) -> Result<Datum> {
    t.labels.last().map_or(Ok(Datum::Null), |l| safe(t, l.pos))
}

/// enum_range(lo, hi): the values from `lo` to `hi` in order (NULL bounds are open); empty
/// when `lo` sorts after `hi`.
pub fn range(t: &EnumType, lo: Option<f32>, hi: Option<f32>) -> Result<Datum> {
    let items: Vec<Datum> = t
        .labels
        .iter()
        .filter(|l| lo.is_none_or(|lo| l.pos >= lo) && hi.is_none_or(|hi| l.pos <= hi))
        .map(|l| safe(t, l.pos))
        .collect::<Result<_>>()?;
    Ok(Datum::Array(Box::new(orbit_engine::table::ArrayValue::from_items(SqlType::Enum(t.oid), items))))
}

/// Labels `ALTER TYPE ... ADD VALUE` added in a transaction block still open: (type OID, the
/// label's sort position's bits, the transaction). PostgreSQL refuses to make a value of such
/// a label until the block commits (check_safe_enum_use: an index could otherwise hold a value
/// whose label a ROLLBACK removes), also for a type created in the same block (PostgreSQL 15;
/// the labels CREATE TYPE gave are safe). Process-wide, as a value may be read on any shard;
/// few entries, each gone when its transaction ends ([`transaction_ended`]).
static UNCOMMITTED: RwLock<Vec<(u32, u32, orbit_shards::rowlock::Owner)>> = RwLock::new(Vec::new());

/// How many entries [`UNCOMMITTED`] holds: reading a label takes no lock while it is 0.
static UNCOMMITTED_N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Transaction `txn` (in a block) added the label at `pos` to type `oid`.
pub fn added_in_block(oid: u32, pos: f32, txn: orbit_shards::rowlock::Owner) {
    if let Ok(mut u) = UNCOMMITTED.write() {
        u.push((oid, pos.to_bits(), txn));
        UNCOMMITTED_N.store(u.len(), std::sync::atomic::Ordering::Release);
    }
}

/// Transaction `txn` committed or rolled back: the labels it added are safe (or gone).
pub fn transaction_ended(txn: orbit_shards::rowlock::Owner) {
    if UNCOMMITTED_N.load(std::sync::atomic::Ordering::Acquire) == 0 {
        return;
    }
    if let Ok(mut u) = UNCOMMITTED.write() {
        u.retain(|e| e.2 != txn);
        UNCOMMITTED_N.store(u.len(), std::sync::atomic::Ordering::Release);
    }
}

/// The value at `pos` of type `t`, or PostgreSQL's 55P04 when an open block added its label.
fn safe(t: &EnumType, pos: f32) -> Result<Datum> {
    if UNCOMMITTED_N.load(std::sync::atomic::Ordering::Acquire) != 0 {
        let unsafe_use = UNCOMMITTED.read().is_ok_and(|u| u.iter().any(|e| e.0 == t.oid && e.1 == pos.to_bits()));
        if unsafe_use {
            return Err(SqlError::new(
                "55P04",
                format!(
                    "unsafe use of new value \"{}\" of enum type {}",
                    t.label(pos).unwrap_or(""),
                    display_name(&t.name)
                ),
            )
            .hint("New enum values must be committed before they can be used."));
        }
    }
    Ok(Datum::Enum(t.oid, pos))
}

/// The sort position ALTER TYPE ... ADD VALUE gives a new label (PostgreSQL's AddEnumLabel):
/// after the last label 1 more than its position (1 for an empty type), before the first 1
/// less, between two neighbours their float4 midpoint. None when the neighbours are too
/// close for a midpoint (PostgreSQL renumbers the type's labels then; Orbit would have to
/// rewrite every stored value, so it refuses).
pub fn new_position(t: &EnumType, neighbour: Option<(&str, bool)>) -> Result<Option<f32>> {
    let Some((n, before)) = neighbour else {
        return Ok(Some(t.labels.last().map_or(1.0, |l| l.pos + 1.0)));
    };
    let i = t.labels.iter().position(|l| l.name == n).ok_or_else(|| {
        SqlError::new(code::INVALID_PARAMETER_VALUE, format!("\"{n}\" is not an existing enum label"))
    })?;
    let (lo, hi) = if before {
        (i.checked_sub(1).map(|j| t.labels[j].pos), Some(t.labels[i].pos))
    } else {
        (Some(t.labels[i].pos), t.labels.get(i + 1).map(|l| l.pos))
    };
    Ok(match (lo, hi) {
        (None, Some(hi)) => Some(hi - 1.0),
        (Some(lo), None) => Some(lo + 1.0),
        (Some(lo), Some(hi)) => {
            let mid = (lo + hi) / 2.0;
            (mid > lo && mid < hi).then_some(mid)
        }
        (None, None) => Some(1.0),
    })
}

/// What depends on enum `oid`, in the order PostgreSQL's DROP TYPE lists it (its pg_depend
/// entries in the order they were made, each followed by what depends on that): first what
/// uses its array type (columns of it, domains over it), then the columns of the type itself
/// and the domains over it, by the OID of their table or domain, each domain followed by its
/// own dependents. A column of a domain over the type depends on the domain, not on the type.
pub fn dependents(oid: u32) -> Vec<crate::domains::Dependent> {
    use crate::domains::{self, Dependent};
    let is_type = |t: SqlType| t == SqlType::Enum(oid);
    let is_array = |t: SqlType| matches!(t, SqlType::Array(a) if a.elem() == SqlType::Enum(oid));
    let mut tables = crate::catalog::user_tables();
    tables.sort_by_key(|d| d.oid);
    // (array type's dependents?, the OID that orders it, the dependents)
    let mut found: Vec<(bool, u32, Vec<Dependent>)> = Vec::new();
    for t in tables.iter().filter(|d| d.view.is_none()) {
        for (i, c) in t.columns.iter().enumerate() {
            if c.domain == 0 && (is_type(c.ty) || is_array(c.ty)) {
                found.push((!is_array(c.ty), t.oid, vec![Dependent::Column(t.clone(), i)]));
            }
        }
    }
    for d in domains::all_seen_by(None) {
        if d.parent == 0 && (is_type(d.base) || is_array(d.base)) {
            let mut chain = vec![Dependent::Domain(d.clone())];
            chain.extend(domains::dependents(d.oid));
            found.push((!is_array(d.base), d.oid, chain));
        }
    }
    found.sort_by_key(|(direct, at, _)| (*direct, *at));
    found.into_iter().flat_map(|(_, _, deps)| deps).collect()
}

/// A statement on enum types, bound by [`crate::bind::create_type`] and run by
/// [`crate::exec::enum_types`].
#[derive(Debug, Clone)]
pub enum EnumPlan {
    /// `CREATE TYPE name AS ENUM (labels)`.
    Create { name: String, labels: Vec<String> },
    /// `DROP TYPE [IF EXISTS] names [CASCADE | RESTRICT]`: the types found, and the names IF
    /// EXISTS skips (a notice each).
    Drop { names: Vec<String>, skipped: Vec<String>, cascade: bool },
    /// `ALTER TYPE name ADD VALUE [IF NOT EXISTS] label [BEFORE | AFTER neighbour]`
    /// (`before`: true for BEFORE).
    AddValue { name: String, label: String, if_not_exists: bool, neighbour: Option<(String, bool)> },
    /// `ALTER TYPE name RENAME VALUE from TO to`.
    RenameValue { name: String, from: String, to: String },
    /// `ALTER TYPE name RENAME TO new_name` (`new_name` a catalog name in the same schema).
    Rename { name: String, new_name: String },
}

/// pg_type's rows of the enum types transaction `me` sees: each type (typtype 'e', category
/// 'E', enum_in/enum_out/enum_recv/enum_send) and its array type `_name`, in pg_type's column
/// order (`crate::catalog`).
pub(crate) fn pg_type_rows(me: orbit_shards::rowlock::Owner) -> Vec<Vec<Datum>> {
    use orbit_engine::table::OidKind;
    let text = |s: &str| Datum::Text(s.to_string());
    let proc = |o: u32| Datum::Oid(OidKind::RegProc, o);
    let mut out = Vec::new();
    for t in all_seen_by(Some(me)) {
        let ns = crate::schema::namespace_of(&t.name) as i64;
        let rel = crate::schema::relname(&t.name);
        let array = SqlType::Enum(t.oid).array_of().map_or(0, |a| a.oid()) as i64;
        let row = |oid: i64, name: String, len: i16, typtype: &str, cat: &str, elem: i64, arr: i64| {
            user_type_row(UserTypeRow { oid, name, ns, len, typtype, cat, elem, arr })
        };
        let mut e = row(t.oid as i64, rel.to_string(), 4, "e", "E", 0, array);
        e.push(proc(0));
        e.extend([3504, 3505, 3532, 3533, 0, 0, 0].map(proc));
        e.extend([text("i"), Datum::Null]);
        out.push(e);
        out.push(array_type_row(row(array, format!("_{rel}"), -1, "b", "A", t.oid as i64, 0), "i"));
    }
    out
}

/// A user type's array type's pg_type row (`_<type>`), from its row up to `typsubscript`:
/// array_subscript_handler, array_in/out/recv/send, array_typanalyze, alignment `align`.
pub(crate) fn array_type_row(mut row: Vec<Datum>, align: &str) -> Vec<Datum> {
    use crate::catalog_builtin::{ARRAY_IO, ARRAY_SUBSCRIPT, ARRAY_TYPANALYZE};
    let proc = |o: u32| Datum::Oid(orbit_engine::table::OidKind::RegProc, o);
    row.push(proc(ARRAY_SUBSCRIPT));
    let [i, o, r, s] = ARRAY_IO;
    row.extend([i, o, r, s, 0, 0, ARRAY_TYPANALYZE].map(proc));
    row.extend([Datum::Text(align.to_string()), Datum::Null]);
    row
}

/// What a user-defined type's pg_type row says besides its I/O functions.
pub(crate) struct UserTypeRow<'a> {
    pub oid: i64,
    pub name: String,
    pub ns: i64,
    pub len: i16,
    pub typtype: &'a str,
    pub cat: &'a str,
    pub elem: i64,
    pub arr: i64,
}

/// A user-defined type's pg_type row up to `typsubscript` (the caller adds its functions,
/// `typalign` and `typdefaultbin`), in pg_type's column order (`crate::catalog`).
pub(crate) fn user_type_row(t: UserTypeRow) -> Vec<Datum> {
    use orbit_engine::table::OidKind;
    let text = |s: &str| Datum::Text(s.to_string());
    vec![
        Datum::Int8(t.oid),
        Datum::Text(t.name),
        Datum::Int8(t.ns),
        Datum::Int2(t.len),
        text(t.typtype),
        text(t.cat),
        Datum::Oid(OidKind::Oid, t.elem as u32),
        Datum::Int8(t.arr),
        Datum::Oid(OidKind::Oid, 0),
        Datum::Oid(OidKind::Oid, 0),
        Datum::Int8(0),
        text(if t.len > 0 { "p" } else { "x" }),
        text(","),
        Datum::Bool(t.len > 0),
        Datum::Bool(false),
        Datum::Int4(-1),
        Datum::Int4(0),
        Datum::Null,
        Datum::Bool(false),
    ]
}

/// pg_enum's rows (oid, enumtypid, enumsortorder, enumlabel) of the types transaction `me`
/// sees.
pub(crate) fn pg_enum_rows(me: orbit_shards::rowlock::Owner) -> Vec<Vec<Datum>> {
    let mut out = Vec::new();
    for t in all_seen_by(Some(me)) {
        for (i, l) in t.labels.iter().enumerate() {
            out.push(vec![
                Datum::Int8(t.label_oid(i) as i64),
                Datum::Int8(t.oid as i64),
                Datum::Float4(l.pos),
                Datum::Text(l.name.clone()),
            ]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mood() -> EnumType {
        EnumType {
            oid: 16400,
            name: "mood".into(),
            labels: vec![Label { name: "sad".into(), pos: 1.0 }, Label { name: "ok".into(), pos: 2.0 }],
        }
    }

    #[test]
    fn entry_reads_back() {
        let t = mood();
        assert_eq!(EnumType::of_def(&t.to_def()), Some(t));
    }

    #[test]
    fn new_positions_as_postgresql() {
        let t = mood();
        assert_eq!(new_position(&t, None).unwrap(), Some(3.0));
        assert_eq!(new_position(&t, Some(("sad", true))).unwrap(), Some(0.0));
        assert_eq!(new_position(&t, Some(("sad", false))).unwrap(), Some(1.5));
        assert_eq!(new_position(&t, Some(("ok", false))).unwrap(), Some(3.0));
        assert!(new_position(&t, Some(("x", false))).is_err());
        let close = EnumType {
            labels: vec![
                Label { name: "a".into(), pos: 1.0 },
                Label { name: "b".into(), pos: f32::from_bits(1.0f32.to_bits() + 1) },
            ],
            ..mood()
        };
        assert_eq!(new_position(&close, Some(("a", false))).unwrap(), None);
    }
}
