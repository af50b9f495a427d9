//! Composite types (`CREATE TYPE name AS (field type, ...)`, PostgreSQL's rowtypes.c): their
//! catalog entries, and their values' text form (record_in, record_out).
//!
//! A composite type is a catalog entry like an enum's ([`crate::catalog_types`]): a
//! [`TableDef`] named `\u{5}<type>` ([`MARK`]) on every shard whose columns are the type's
//! fields, created and dropped through the same log records, snapshots and DDL steps as a
//! table. Its type OID is the entry's first relation OID with
//! [`orbit_engine::table::COMPOSITE_BIT`] set, so that a column's type, stored as an OID, says
//! it is a composite type (`SqlType::Composite`) and not an enum.
//!
//! A value is `Datum::Record(fields)`, the fields' values in the type's order, each of its
//! field's type. It is stored, keyed and compared field by field (a NULL field equal to a NULL
//! and after every value, as record_eq and record_cmp have it). Anonymous records (`ROW(1,
//! 'a')`) and tables' row types (`SELECT t FROM t`) are record shapes ([`shape`]): interned
//! per process, never stored.

use crate::catalog_types;
use crate::error::{code, Result, SqlError};
use orbit_engine::table::{ColumnDef, Datum, SqlType, TableDef, COMPOSITE_BIT, RECORD_BIT};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

/// The first character of a composite type's catalog entry.
pub const MARK: char = '\u{5}';

/// PostgreSQL's MaxTupleAttributeNumber-like bound on a type's fields (its MaxHeapAttributeNumber).
pub const MAX_FIELDS: usize = 1600;

/// A composite type as its catalog entry holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CompositeType {
    pub oid: u32,
    /// Its catalog name (`s.pair`, or `pair` in public).
    pub name: String,
    /// Its fields: name and type (no defaults or constraints: PostgreSQL's have none).
    pub fields: Vec<ColumnDef>,
}

impl CompositeType {
    /// The type a catalog entry describes (None for another entry).
    pub fn of_def(def: &TableDef) -> Option<CompositeType> {
        let name = def.name.strip_prefix(MARK)?;
        let oid = catalog_types::type_oid(def)? | COMPOSITE_BIT;
        Some(CompositeType { oid, name: name.to_string(), fields: def.columns.clone() })
    }

    /// Its catalog entry (the relation OID is given when it is created).
    pub fn to_def(&self) -> TableDef {
        TableDef {
            name: entry(&self.name),
            columns: self.fields.clone(),
            pk_name: self.oid.to_string(),
            ..TableDef::default_empty()
        }
    }

    /// The index of field `name`.
    pub fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }
}

/// The catalog entry of composite type `name` (its catalog name).
pub fn entry(name: &str) -> String {
    catalog_types::entry::<CompositeType>(name)
}

/// Whether a catalog name is a composite type's entry.
pub fn is_entry(name: &str) -> bool {
    catalog_types::is_entry::<CompositeType>(name)
}

thread_local! {
    static CACHE: catalog_types::Cache<CompositeType, ()> = RefCell::new(HashMap::new());
}

/// Where composite types are found ([`catalog_types::Registry`]).
static TYPES: catalog_types::Registry<CompositeType, ()> = catalog_types::Registry::new(&CACHE, 1024);

impl catalog_types::CatalogType for CompositeType {
    const MARK: char = MARK;

    fn of_def(def: &TableDef) -> Option<CompositeType> {
        CompositeType::of_def(def)
    }

    fn oid(&self) -> u32 {
        self.oid
    }
}

/// Composite type `oid` (from the local catalog copy, or the last definition any thread read;
/// a record shape from [`shape`]'s interner).
pub fn by_oid(oid: u32) -> Option<Arc<CompositeType>> {
    if oid & RECORD_BIT != 0 {
        return shape_by_oid(oid);
    }
    TYPES.by_oid(oid)
}

/// The most record shapes one process interns ([`shape`]); past it, 54000.
pub const MAX_SHAPES: usize = 100_000;

/// The name an anonymous record's shape has (no table's catalog name is empty); its type
/// prints as `record`.
pub const ANONYMOUS: &str = "";

/// Record types no catalog entry holds, interned by their shape (name and fields): anonymous
/// records (`ROW(1, 'a')`, named [`ANONYMOUS`], fields `f1`, `f2`, ...) and tables' row types
/// (`SELECT t FROM t`, named for the table, fields its columns). Interned once per process
/// and never forgotten, so a shape's OID is the same on every shard thread for the process's
/// life; it is never stored (a column may not be of such a type).
#[derive(Default)]
struct Shapes {
    by_shape: HashMap<(String, Vec<(String, SqlType)>), u32>,
    all: Vec<Arc<CompositeType>>,
}

static SHAPES: std::sync::Mutex<Option<Shapes>> = std::sync::Mutex::new(None);

thread_local! {
    /// This thread's copy of the shapes it has seen: the interner's lock is taken once per
    /// shape and thread, not per value.
    static SEEN_SHAPES: RefCell<HashMap<u32, Arc<CompositeType>>> = RefCell::new(HashMap::new());
}

/// The OID of the record shape named `name` ([`ANONYMOUS`] or a table's catalog name) with
/// `fields`, interned on first use; 54000 past [`MAX_SHAPES`].
pub fn shape(name: &str, fields: Vec<(String, SqlType)>) -> Result<u32> {
    let key = (name.to_string(), fields);
    let mut guard = SHAPES.lock().unwrap_or_else(|p| p.into_inner());
    let shapes = guard.get_or_insert_with(Shapes::default);
    if let Some(&oid) = shapes.by_shape.get(&key) {
        return Ok(oid);
    }
    // The last index is GENERIC_RECORD's.
    if shapes.all.len() >= MAX_SHAPES.min(0x1FFF_FFFF) {
        return Err(SqlError::new(
            code::PROGRAM_LIMIT_EXCEEDED,
            format!("too many distinct record types (at most {MAX_SHAPES} per server process)"),
        ));
    }
    let oid = COMPOSITE_BIT | RECORD_BIT | shapes.all.len() as u32;
    let fields = key.1.iter().map(|(n, t)| ColumnDef::new(n.clone(), *t)).collect();
    shapes.all.push(Arc::new(CompositeType { oid, name: key.0.clone(), fields }));
    shapes.by_shape.insert(key, oid);
    Ok(oid)
}

/// An anonymous record's shape: fields `f1`, `f2`, ... of `types`.
pub fn anonymous(types: &[SqlType]) -> Result<u32> {
    shape(ANONYMOUS, types.iter().enumerate().map(|(i, t)| (format!("f{}", i + 1), *t)).collect())
}

/// Whether `oid` is an anonymous record's shape (not a table's row type or a catalog type).
pub fn is_anonymous(oid: u32) -> bool {
    oid & RECORD_BIT != 0 && by_oid(oid).is_some_and(|t| t.name == ANONYMOUS)
}

/// Whether `ty` is an anonymous record type.
pub fn is_anonymous_type(ty: SqlType) -> bool {
    matches!(ty, SqlType::Composite(oid) if is_anonymous(oid))
}

fn shape_by_oid(oid: u32) -> Option<Arc<CompositeType>> {
    if oid == orbit_engine::table::GENERIC_RECORD {
        return Some(Arc::new(CompositeType { oid, name: ANONYMOUS.to_string(), fields: Vec::new() }));
    }
    if let Some(t) = SEEN_SHAPES.with(|s| s.borrow().get(&oid).cloned()) {
        return Some(t);
    }
    let i = (oid & !(COMPOSITE_BIT | RECORD_BIT)) as usize;
    let t = SHAPES.lock().unwrap_or_else(|p| p.into_inner()).as_ref()?.all.get(i).cloned()?;
    SEEN_SHAPES.with(|s| s.borrow_mut().insert(oid, t.clone()));
    Some(t)
}

/// The composite type of catalog name `name`, as the binder sees the catalog.
pub fn lookup_name(name: &str) -> Option<Arc<CompositeType>> {
    TYPES.lookup_name(name)
}

/// The composite type a (possibly schema-qualified) type name names, along the search path.
pub fn resolve(parts: &[String]) -> Option<Arc<CompositeType>> {
    TYPES.resolve(parts)
}

/// Every composite type in this shard's catalog copy, in OID order.
pub fn all() -> Vec<Arc<CompositeType>> {
    TYPES.all_seen_by(None)
}

/// The type name messages and format_type print (`record` for an anonymous record).
fn type_name(oid: u32) -> Option<String> {
    by_oid(oid).map(|t| if t.name == ANONYMOUS { "record".to_string() } else { crate::enums::display_name(&t.name) })
}

/// Lets the engine name composite types (called with [`crate::enums::install`]).
pub fn install() {
    let _ = orbit_engine::table::COMPOSITE_TYPE_NAME.set(type_name);
}

/// The fields of composite type `oid`, or PostgreSQL's cache lookup error.
pub fn fields_of(oid: u32) -> Result<Vec<ColumnDef>> {
    by_oid(oid)
        .map(|t| t.fields.clone())
        .ok_or_else(|| SqlError::new(code::UNDEFINED_OBJECT, format!("cache lookup failed for type {oid}")))
}

/// What depends on composite type `oid`, as DROP TYPE's DETAIL lists it (PostgreSQL's order:
/// by the dependent's OID): other composite types' fields and tables' columns, each with
/// whether it is of the type's array type (which PostgreSQL names as what it depends on).
pub fn dependents(oid: u32) -> Vec<(u32, String, bool)> {
    let of_type = |t: SqlType| {
        if t == SqlType::Composite(oid) {
            Some(false)
        } else {
            (t.elem() == Some(SqlType::Composite(oid))).then_some(true)
        }
    };
    let mut found = Vec::new();
    for t in all() {
        for f in &t.fields {
            if let Some(array) = of_type(f.ty) {
                found.push((t.oid & !COMPOSITE_BIT, format!("column {} of composite type {}", f.name, t.name), array));
            }
        }
    }
    for t in crate::catalog::user_tables().iter().filter(|d| d.view.is_none() && d.partition_of.is_none()) {
        for c in &t.columns {
            if let Some(array) = of_type(c.ty) {
                found.push((t.oid, format!("column {} of table {}", c.name, crate::schema::shown(&t.name)), array));
            }
        }
    }
    found.sort_by_key(|(oid, ..)| *oid);
    found
}

/// A record's fields cast to the fields of record type `to` (as many: the binder checked),
/// nested records too.
pub fn cast_fields(fields: &[Datum], to: SqlType) -> Result<Datum> {
    let SqlType::Composite(oid) = to else { return Err(SqlError::internal("record cast to a non-record")) };
    let types = fields_of(oid)?;
    let mut out = Vec::with_capacity(fields.len());
    for (d, f) in fields.iter().zip(&types) {
        out.push(match (d, f.ty) {
            (Datum::Null, _) => Datum::Null,
            (Datum::Record(inner), t @ SqlType::Composite(_)) => cast_fields(inner, t)?,
            (d, t) => crate::types::cast(d.clone(), t, false)?,
        });
    }
    Ok(Datum::Record(Box::new(out)))
}

/// record_out: `(f1,f2,...)`, a NULL field empty, a field quoted (`"` and `\` doubled inside)
/// when it is empty or holds a quote, backslash, parenthesis, comma or white space.
pub fn record_out(fields: &[Datum], text: impl Fn(&Datum) -> Option<String>) -> String {
    let mut out = String::from("(");
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Some(s) = text(f) else { continue };
        // C's isspace: the vertical tab too, which char::is_ascii_whitespace leaves out.
        let quote = s.is_empty()
            || s.chars()
                .any(|c| matches!(c, '"' | '\\' | '(' | ')' | ',' | ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'));
        if !quote {
            out.push_str(&s);
            continue;
        }
        out.push('"');
        for c in s.chars() {
            if c == '"' || c == '\\' {
                out.push(c);
            }
            out.push(c);
        }
        out.push('"');
    }
    out.push(')');
    out
}

/// record_in: the value of composite type `oid` written as `s`, each field's text read by
/// `field` (its type's input function); PostgreSQL's 22P02 `malformed record literal` with
/// its DETAIL for text that is not one.
pub fn record_in(oid: u32, s: &str, field: impl Fn(SqlType, &str) -> Result<Datum>) -> Result<Datum> {
    let types: Vec<SqlType> = fields_of(oid)?.iter().map(|f| f.ty).collect();
    parse_record(&types, s, field)
}

/// [`record_in`] of a record whose fields are of `types`.
fn parse_record(types: &[SqlType], s: &str, field: impl Fn(SqlType, &str) -> Result<Datum>) -> Result<Datum> {
    let malformed = |detail: &str| {
        SqlError::new(code::INVALID_TEXT_REPRESENTATION, format!("malformed record literal: \"{s}\""))
            .detail(detail.to_string())
    };
    let mut chars = s.trim_start_matches(|c: char| c.is_ascii_whitespace()).chars().peekable();
    if chars.next() != Some('(') {
        return Err(malformed("Missing left parenthesis."));
    }
    let mut values = Vec::with_capacity(types.len());
    for (i, ty) in types.iter().enumerate() {
        // Empty and unquoted: NULL.
        if matches!(chars.peek(), Some(',') | Some(')')) {
            values.push(Datum::Null);
        } else {
            let mut text = String::new();
            let mut quoted = false;
            loop {
                match chars.peek().copied() {
                    None => return Err(malformed("Unexpected end of input.")),
                    Some(',') | Some(')') if !quoted => break,
                    Some('"') => {
                        chars.next();
                        if !quoted {
                            quoted = true;
                        } else if chars.peek() == Some(&'"') {
                            // A doubled quote inside quotes is one quote.
                            chars.next();
                            text.push('"');
                        } else {
                            quoted = false;
                        }
                    }
                    Some('\\') => {
                        chars.next();
                        match chars.next() {
                            Some(c) => text.push(c),
                            None => return Err(malformed("Unexpected end of input.")),
                        }
                    }
                    Some(c) => {
                        chars.next();
                        text.push(c);
                    }
                }
            }
            values.push(field(*ty, &text)?);
        }
        match chars.next() {
            Some(',') if i + 1 < types.len() => {}
            Some(',') => return Err(malformed("Too many columns.")),
            Some(')') if i + 1 == types.len() => {}
            Some(')') => return Err(malformed("Too few columns.")),
            _ => return Err(malformed("Unexpected end of input.")),
        }
    }
    if types.is_empty() && chars.next() != Some(')') {
        return Err(malformed("Too many columns."));
    }
    if chars.any(|c| !c.is_ascii_whitespace()) {
        return Err(malformed("Junk after right parenthesis."));
    }
    Ok(Datum::Record(Box::new(values)))
}

/// record_send: the field count, then each field's type OID and its binary form (length -1
/// for NULL). `types` are the fields' types where the type is known; otherwise each field's
/// OID is its value's own type's.
pub fn record_send(types: Option<&[SqlType]>, fields: &[Datum]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(fields.len() as i32).to_be_bytes());
    for (i, f) in fields.iter().enumerate() {
        let ty = types.and_then(|t| t.get(i).copied()).unwrap_or_else(|| value_type(f));
        out.extend_from_slice(&ty.oid().to_be_bytes());
        match crate::types::to_binary_as(ty, f) {
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(&b);
            }
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }
    out
}

/// The type a value is of when nothing else says (a field of a record whose type is unknown).
fn value_type(d: &Datum) -> SqlType {
    match d {
        Datum::Bool(_) => SqlType::Bool,
        Datum::Int2(_) => SqlType::Int2,
        Datum::Int4(_) => SqlType::Int4,
        Datum::Int8(_) => SqlType::Int8,
        Datum::Float4(_) => SqlType::Float4,
        Datum::Float8(_) => SqlType::Float8,
        Datum::Bpchar(_) => SqlType::Bpchar(None),
        Datum::Bytea(_) => SqlType::Bytea,
        Datum::Timestamp(_) => SqlType::TIMESTAMP,
        Datum::TimestampTz(_) => SqlType::TIMESTAMPTZ,
        Datum::Date(_) => SqlType::Date,
        Datum::Time(_) => SqlType::TIME,
        Datum::TimeTz(..) => SqlType::TIMETZ,
        Datum::Interval(_) => SqlType::INTERVAL,
        Datum::Uuid(_) => SqlType::Uuid,
        Datum::Json(_) => SqlType::Json,
        Datum::Jsonb(_) => SqlType::Jsonb,
        Datum::Numeric(_) => SqlType::NUMERIC,
        Datum::Array(a) => a.elem.array_of().unwrap_or(SqlType::Text),
        Datum::Oid(k, _) => SqlType::Oid(*k),
        Datum::Enum(t, _) => SqlType::Enum(*t),
        Datum::Null | Datum::Text(_) | Datum::Record(_) => SqlType::Text,
    }
}

/// record_recv of a bind parameter of composite type `oid` (`n` its 1-based number): the
/// form [`record_send`] writes, each field's OID the type's.
pub fn record_recv(oid: u32, b: &[u8], n: usize) -> Result<Datum> {
    let types = fields_of(oid)?;
    let bad = || {
        SqlError::new(
            code::INVALID_BINARY_REPRESENTATION,
            format!("incorrect binary data format in bind parameter {n}"),
        )
    };
    let mut rest = b;
    let mut take = |k: usize| -> Result<&[u8]> {
        if rest.len() < k {
            return Err(bad());
        }
        let (h, t) = rest.split_at(k);
        rest = t;
        Ok(h)
    };
    let int = |b: &[u8]| i32::from_be_bytes(b.try_into().unwrap_or_default());
    let count = int(take(4)?);
    if count != types.len() as i32 {
        return Err(SqlError::new(
            code::DATATYPE_MISMATCH,
            format!("wrong number of columns: {count}, expected {}", types.len()),
        ));
    }
    let mut values = Vec::with_capacity(types.len());
    for f in &types {
        let field_oid = int(take(4)?) as u32;
        if field_oid != f.ty.oid() {
            return Err(SqlError::new(
                code::DATATYPE_MISMATCH,
                format!(
                    "binary data has type {field_oid} ({}) instead of expected {} in record column {}",
                    SqlType::from_oid(field_oid).map_or_else(|| "unknown".to_string(), SqlType::name),
                    f.ty.name(),
                    values.len() + 1
                ),
            ));
        }
        let len = int(take(4)?);
        values.push(if len < 0 { Datum::Null } else { crate::types::from_binary(f.ty, take(len as usize)?, n)? });
    }
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok(Datum::Record(Box::new(values)))
}

/// pg_type's rows of the composite types (typtype 'c', category 'C', record_in / record_out /
/// record_recv / record_send) and of their array types (`_pair`). Orbit keeps no pg_class
/// entry for them (`typrelid` 0).
pub(crate) fn pg_type_rows(me: orbit_shards::rowlock::Owner) -> Vec<Vec<Datum>> {
    use crate::enums::{user_type_row, UserTypeRow};
    use orbit_engine::table::OidKind;
    let proc = |o: u32| Datum::Oid(OidKind::RegProc, o);
    let text = |s: &str| Datum::Text(s.to_string());
    let mut out = Vec::new();
    for t in TYPES.all_seen_by(Some(me)).iter() {
        let ns = crate::schema::namespace_of(&t.name) as i64;
        let rel = crate::schema::relname(&t.name);
        let array = SqlType::Composite(t.oid).array_of().map_or(0, |a| a.oid()) as i64;
        let row = |oid: i64, name: String, typtype: &str, cat: &str, elem: i64, arr: i64| {
            user_type_row(UserTypeRow { oid, name, ns, len: -1, typtype, cat, elem, arr })
        };
        let mut c = row(t.oid as i64, rel.to_string(), "c", "C", 0, array);
        c.push(proc(0));
        c.extend([2290, 2291, 2402, 2403, 0, 0, 0].map(proc));
        c.extend([text("d"), Datum::Null]);
        out.push(c);
        out.push(crate::enums::array_type_row(row(array, format!("_{rel}"), "b", "A", t.oid as i64, 0), "d"));
    }
    out
}

/// A statement on composite types, bound by [`crate::bind::create_type`] and run by
/// [`crate::exec::composite_types`].
#[derive(Debug, Clone)]
pub enum CompositePlan {
    /// `CREATE TYPE name AS (fields)`.
    Create { name: String, fields: Vec<ColumnDef> },
    /// `DROP TYPE [IF EXISTS] names`: the types found, and the names skipped.
    Drop { names: Vec<String>, skipped: Vec<String> },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(d: &Datum) -> Option<String> {
        crate::types::to_text(d)
    }

    #[test]
    fn record_out_quotes_as_postgresql_does() {
        let r = [Datum::Int4(1), Datum::Text("a b".into()), Datum::Null, Datum::Text(String::new())];
        assert_eq!(record_out(&r, text), r#"(1,"a b",,"")"#);
        let r = [Datum::Text(r#"say "hi"\"#.into()), Datum::Text("(x,y)".into())];
        assert_eq!(record_out(&r, text), r#"("say ""hi""\\","(x,y)")"#);
    }

    #[test]
    fn record_in_reads_what_record_out_writes_and_refuses_the_rest() {
        let types = [SqlType::Int4, SqlType::Text, SqlType::Text];
        let read = |s: &str| parse_record(&types, s, crate::types::parse_text);
        let r = read(r#" (1,"a ""b"", \\c",)"#).unwrap();
        let Datum::Record(f) = &r else { panic!("{r:?}") };
        assert_eq!(**f, vec![Datum::Int4(1), Datum::Text(r#"a "b", \c"#.into()), Datum::Null]);
        assert_eq!(record_out(f, text), r#"(1,"a ""b"", \\c",)"#);
        assert_eq!(
            read(r#"(2,"",x y)"#).unwrap(),
            Datum::Record(Box::new(vec![Datum::Int4(2), Datum::Text(String::new()), Datum::Text("x y".into()),]))
        );
        for (bad, detail) in [
            ("1,2,3", "Missing left parenthesis."),
            ("(1,2)", "Too few columns."),
            ("(1,2,3,4)", "Too many columns."),
            ("(1,2,3) x", "Junk after right parenthesis."),
            ("(1,2,3", "Unexpected end of input."),
        ] {
            let e = read(bad).unwrap_err();
            assert_eq!((e.code, e.detail.as_deref()), ("22P02", Some(detail)), "{bad}");
            assert_eq!(e.message, format!("malformed record literal: \"{bad}\""));
        }
        assert_eq!(read("(x,a,b)").unwrap_err().code, "22P02");
    }
}
