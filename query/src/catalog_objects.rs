//! System views over objects Orbit has fewer details of than PostgreSQL: pg_index's
//! per-column arrays (indcollation, indclass, indoption), the btree operator classes
//! (pg_opclass), pg_tablespace, pg_sequence, and pg_depend's rows for sequences owned by a column (the only
//! dependencies Orbit records). Rows are built as [`crate::catalog::rows`] builds the others.

use crate::error::Result;
use orbit_engine::table::{ArrayValue, ColumnDef, Datum, Identity, IndexDef, Row, SqlType, TableDef};
use std::sync::Arc;

/// pg_class's OID, the classid/refclassid of a relation's pg_depend rows.
const PG_CLASS_OID: i64 = 1259;
const BTREE_AM_OID: i64 = 403;
const PG_CATALOG_NS: i64 = 11;

/// PostgreSQL 15's btree operator classes of the types Orbit has: (OID, name, input type,
/// default, family). `varchar_ops` and the `*_pattern_ops` are the non-default ones.
const OPCLASSES: &[(i64, &str, i64, bool, i64)] = &[
    (1978, "int4_ops", 23, true, 1976),
    (1979, "int2_ops", 21, true, 1976),
    (1981, "oid_ops", 26, true, 1989),
    (3122, "date_ops", 1082, true, 434),
    (3123, "float8_ops", 701, true, 1970),
    (3124, "int8_ops", 20, true, 1976),
    (3125, "numeric_ops", 1700, true, 1988),
    (3126, "text_ops", 25, true, 1994),
    (3127, "timestamptz_ops", 1184, true, 434),
    (3128, "timestamp_ops", 1114, true, 434),
    (4217, "text_pattern_ops", 25, false, 2095),
    (4218, "varchar_pattern_ops", 25, false, 2095),
    (4219, "bpchar_pattern_ops", 1042, false, 2097),
    (10000, "array_ops", 2277, true, 397),
    (10003, "bool_ops", 16, true, 424),
    (10004, "bpchar_ops", 1042, true, 426),
    (10006, "bytea_ops", 17, true, 428),
    (10012, "float4_ops", 700, true, 1970),
    (10022, "interval_ops", 1186, true, 1982),
    (10038, "time_ops", 1083, true, 1996),
    (10041, "timetz_ops", 1266, true, 2000),
    (10044, "varchar_ops", 25, false, 1994),
    (10065, "uuid_ops", 2950, true, 2968),
    (10088, "jsonb_ops", 3802, true, 4033),
];

/// The default btree operator class of a column type (varchar and the OID aliases use their
/// base type's; 0 for a type without one).
pub(crate) fn default_opclass(t: SqlType) -> i64 {
    let input = match t {
        SqlType::Varchar(_) => 25,
        SqlType::Array(_) => 2277,
        SqlType::Oid(_) => 26,
        t => t.oid() as i64,
    };
    OPCLASSES.iter().find(|o| o.2 == input && o.3).map_or(0, |o| o.0)
}

/// The btree operator class of this name: its OID and input type.
pub(crate) fn opclass_named(name: &str) -> Option<(u32, i64)> {
    OPCLASSES.iter().find(|o| o.1 == name).map(|o| (o.0 as u32, o.2))
}

/// The name of the btree operator class with this OID.
pub(crate) fn opclass_name(oid: u32) -> Option<&'static str> {
    OPCLASSES.iter().find(|o| o.0 == oid as i64).map(|o| o.1)
}

fn oid_array(items: Vec<i64>) -> Datum {
    let items = items.into_iter().map(Datum::Int8).collect();
    Datum::Array(Box::new(ArrayValue::from_items(SqlType::Int8, items)))
}

/// pg_index's columns after indkey for a primary key on `cols` of `t`: indisexclusion,
/// indcheckxmin, indisready, indislive, indcollation, indclass, indoption (every key
/// ascending, NULLs last: 0; as int2vector's text, `0 0`, which SQLAlchemy splits) and
/// indexprs.
pub(crate) fn index_columns(t: &TableDef, cols: &[usize]) -> Vec<Datum> {
    let types: Vec<SqlType> = cols.iter().filter_map(|&i| t.columns.get(i)).map(|c| c.ty).collect();
    index_columns_typed(&types, None)
}

/// [`index_columns`] for an index whose keys have `types`, with `ix`'s operator classes and
/// indoption bits (None: a primary key's, all defaults); indexprs NULL: the caller sets it
/// for an expression index.
pub(crate) fn index_columns_typed(types: &[SqlType], ix: Option<&IndexDef>) -> Vec<Datum> {
    let options = (0..types.len()).map(|i| ix.map_or(0, |x| x.option(i)) as i16).collect();
    let opclass = |i: usize, t: SqlType| match ix.map_or(0, |x| x.opclass(i)) {
        0 => default_opclass(t),
        oid => oid as i64,
    };
    vec![
        Datum::Bool(false),
        Datum::Bool(false),
        Datum::Bool(true),
        Datum::Bool(true),
        oid_array(types.iter().map(|t| crate::catalog::collation_of(*t)).collect()),
        oid_array(types.iter().enumerate().map(|(i, t)| opclass(i, *t)).collect()),
        crate::catalog::indkey(options),
        Datum::Null,
    ]
}

pub(crate) fn opclass_rows() -> Vec<Row> {
    OPCLASSES
        .iter()
        .map(|&(oid, name, input, default, family)| {
            vec![
                Datum::Int8(oid),
                Datum::Int8(BTREE_AM_OID),
                Datum::Text(name.to_string()),
                Datum::Int8(PG_CATALOG_NS),
                Datum::Int8(10),
                Datum::Int8(family),
                Datum::Int8(input),
                Datum::Bool(default),
                Datum::Int8(0),
            ]
        })
        .collect()
}

/// pg_tablespace: initdb's two tablespaces (every table is in the default one).
pub(crate) fn tablespace_rows() -> Vec<Row> {
    [(1663, "pg_default"), (1664, "pg_global")]
        .into_iter()
        .map(|(oid, name)| vec![Datum::Int8(oid), Datum::Text(name.into()), Datum::Int8(10), Datum::Null, Datum::Null])
        .collect()
}

/// The column of `t` whose DEFAULT takes values from sequence `seq` (SERIAL, identity).
fn owning_column<'a>(t: &'a TableDef, seq: &str) -> Option<(usize, &'a ColumnDef)> {
    t.columns.iter().enumerate().find(|(_, c)| crate::catalog_fns::column_sequence(c).as_deref() == Some(seq))
}

/// A sequence row's name and owning table, with the owning column if the table has one.
fn owner_of<'a>(row: &Row, tables: &'a [Arc<TableDef>]) -> (String, Option<(&'a TableDef, usize, &'a ColumnDef)>) {
    let name = match &row[0] {
        Datum::Text(n) => n.clone(),
        _ => String::new(),
    };
    let owner = match &row[8] {
        Datum::Text(t) => tables.iter().find(|d| d.name == *t),
        _ => None,
    };
    let col = owner.and_then(|t| owning_column(t, &name).map(|(i, c)| (t.as_ref(), i, c)));
    (name, col)
}

/// A sequence's type: its column's for a SERIAL or identity column's; else the type whose
/// range its bounds span (Orbit keeps no type for CREATE SEQUENCE ... AS: a bigint sequence
/// with MAXVALUE 32767 reads as smallint).
fn sequence_type(row: &Row, col: Option<&ColumnDef>) -> SqlType {
    if let Some(c) = col.filter(|c| c.ty.is_integer()) {
        return c.ty;
    }
    let (min, max) = (row[2].as_i64().unwrap_or(1), row[3].as_i64().unwrap_or(i64::MAX));
    if max == i16::MAX as i64 || min == i16::MIN as i64 {
        SqlType::Int2
    } else if max == i32::MAX as i64 || min == i32::MIN as i64 {
        SqlType::Int4
    } else {
        SqlType::Int8
    }
}

/// The type of the sequence of this row of the sequence table (pg_sequences.data_type,
/// information_schema.sequences), given the user tables that may own it.
pub(crate) fn sequence_type_of(row: &Row, tables: &[Arc<TableDef>]) -> SqlType {
    let (_, owner) = owner_of(row, tables);
    sequence_type(row, owner.map(|o| o.2))
}

/// Whether the sequence of this row of the sequence table is an identity column's
/// (information_schema.sequences leaves those out, as PostgreSQL's does).
pub(crate) fn is_identity_sequence(row: &Row, tables: &[Arc<TableDef>]) -> bool {
    owner_of(row, tables).1.is_some_and(|o| o.2.identity != Identity::No)
}

/// pg_sequence: every sequence (cache 1: Orbit hands out values from the sequence's shard).
pub(crate) async fn sequence_rows(me: orbit_shards::rowlock::Owner) -> Result<Vec<Row>> {
    let tables = crate::catalog::user_tables();
    Ok(crate::catalog::sequence_rows_seen_by(Some(me))
        .await?
        .into_iter()
        .map(|r| {
            let (name, owner) = owner_of(&r, &tables);
            let ty = sequence_type(&r, owner.map(|o| o.2));
            vec![
                Datum::Int8(crate::catalog::sequence_oid(&name)),
                Datum::Int8(ty.oid() as i64),
                r[4].clone(),
                r[1].clone(),
                r[3].clone(),
                r[2].clone(),
                Datum::Int8(1),
                r[5].clone(),
            ]
        })
        .collect())
}

/// pg_depend: a sequence owned by a column depends on it, automatically for SERIAL ('a'),
/// internally for an identity column ('i').
pub(crate) async fn depend_rows(me: orbit_shards::rowlock::Owner) -> Result<Vec<Row>> {
    let tables = crate::catalog::user_tables();
    Ok(crate::catalog::sequence_rows_seen_by(Some(me))
        .await?
        .into_iter()
        .filter_map(|r| {
            let (name, owner) = owner_of(&r, &tables);
            let (t, i, c) = owner?;
            Some(vec![
                Datum::Int8(PG_CLASS_OID),
                Datum::Int8(crate::catalog::sequence_oid(&name)),
                Datum::Int4(0),
                Datum::Int8(PG_CLASS_OID),
                Datum::Int8(t.oid as i64),
                Datum::Int4(i as i32 + 1),
                Datum::Text(if c.identity == Identity::No { "a" } else { "i" }.to_string()),
            ])
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_opclasses_are_postgresqls() {
        assert_eq!(default_opclass(SqlType::Int4), 1978);
        assert_eq!(default_opclass(SqlType::Varchar(Some(5))), 3126);
        assert_eq!(default_opclass(SqlType::Text), 3126);
        assert_eq!(default_opclass(SqlType::Json), 0);
    }
}
