//! Typed log records and their flatbuffers bodies (schema: engine/schema/log.fbs). The
//! [`Encoder`] reuses one builder, so appending a record allocates nothing in steady state;
//! [`decode`] verifies the flatbuffer before reading it (bodies come from disk).

use super::fb;
use super::frame::Kind;
use crate::keyspace::Entry;
use crate::table::in_doubt::{PartTable, PreparedPart};
use crate::table::{
    CheckDef, ColumnDef, Datum, FkAction, ForeignKeyDef, Identity, IndexDef, IndexExpr, Interval, MatView, OidKind,
    PartitionOf, Row, SqlType, TableDef, ViewCheck,
};
use crate::value::{HashValue, ListValue, SetValue, StrValue, Value, ZSet};
use crate::{Error, Result};
use bytes::Bytes;
use flatbuffers::{FlatBufferBuilder, ForwardsUOffset, Vector, WIPOffset};
use std::borrow::Cow;

/// First record of every log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHeader {
    pub shard: u32,
    pub shards: u32,
    pub epoch: u64,
    pub created_ms: u64,
}

/// First record of a snapshot: it holds the state after log record `covers_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotBegin {
    pub shard: u32,
    pub shards: u32,
    pub epoch: u64,
    pub covers_seq: u64,
    pub created_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A Redis command as executed (or as rewritten for the log), with the clock it ran with.
    RedisCommand {
        db: usize,
        now_ms: u64,
        argv: Vec<Bytes>,
    },
    /// A whole entry.
    RedisPut {
        db: usize,
        key: Bytes,
        value: Value,
        expire_at_ms: Option<u64>,
    },
    RedisDelete {
        db: usize,
        key: Bytes,
    },
    LogHeader(LogHeader),
    SnapshotBegin(SnapshotBegin),
    SnapshotEnd {
        keys: u64,
    },
    /// CREATE TABLE applied on this shard under catalog generation `generation`.
    TableCreate {
        generation: u64,
        def: TableDef,
    },
    /// DROP TABLE applied on this shard (or, in a snapshot, a dropped name's generation).
    TableDrop {
        generation: u64,
        name: String,
    },
    /// A row inserted or replaced in `table` (at the encoded primary key of the row).
    RowPut {
        table: String,
        row: Row,
    },
    /// The row at encoded primary key `key` deleted from `table`.
    RowDelete {
        table: String,
        key: Vec<u8>,
    },
    /// The staging table `staging` (built by ALTER TABLE ... ADD PRIMARY KEY under
    /// `generation`) replaces the table it was built for ([`crate::table::staging_target`]).
    /// Its body is a `TableDrop` table (generation and the staging name).
    TableSwap {
        generation: u64,
        staging: String,
    },
    /// A participant's part of a transaction spanning shards, logged before the decision and
    /// not applied (two-phase commit; [`crate::table::in_doubt`]).
    TxnPrepare {
        txid: u64,
        part: PreparedPart,
    },
    /// The coordinator's COMMIT decision for `txid`.
    TxnCommit {
        txid: u64,
    },
    /// This participant applied (`commit`) or dropped its prepared part of `txid`.
    TxnResolve {
        txid: u64,
        commit: bool,
    },
    /// ALTER TABLE `name` RENAME TO `new_name` under `generation`.
    TableRename {
        generation: u64,
        name: String,
        new_name: String,
    },
}

impl Record {
    pub fn kind(&self) -> Kind {
        match self {
            Record::RedisCommand { .. } => Kind::RedisCommand,
            Record::RedisPut { .. } => Kind::RedisPut,
            Record::RedisDelete { .. } => Kind::RedisDelete,
            Record::LogHeader(_) => Kind::LogHeader,
            Record::SnapshotBegin(_) => Kind::SnapshotBegin,
            Record::SnapshotEnd { .. } => Kind::SnapshotEnd,
            Record::TableCreate { .. } => Kind::TableCreate,
            Record::TableDrop { .. } => Kind::TableDrop,
            Record::RowPut { .. } => Kind::RowPut,
            Record::RowDelete { .. } => Kind::RowDelete,
            Record::TableSwap { .. } => Kind::TableSwap,
            Record::TxnPrepare { .. } => Kind::TxnPrepare,
            Record::TxnCommit { .. } => Kind::TxnCommit,
            Record::TxnResolve { .. } => Kind::TxnResolve,
            Record::TableRename { .. } => Kind::TableRename,
        }
    }
}

/// Builds record bodies.
pub struct Encoder {
    fbb: FlatBufferBuilder<'static>,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder::new()
    }
}

type Blobs<'a> = WIPOffset<Vector<'a, ForwardsUOffset<fb::Blob<'a>>>>;

fn blobs<'a, 'b>(fbb: &mut FlatBufferBuilder<'a>, items: impl Iterator<Item = &'b [u8]>) -> Blobs<'a> {
    let offs: Vec<_> = items
        .map(|b| {
            let data = fbb.create_vector(b);
            fb::Blob::create(fbb, &fb::BlobArgs { data: Some(data) })
        })
        .collect();
    fbb.create_vector(&offs)
}

const CELL_NULL: u8 = 0;
const CELL_BOOL: u8 = 1;
const CELL_INT2: u8 = 2;
const CELL_INT4: u8 = 3;
const CELL_INT8: u8 = 4;
const CELL_FLOAT4: u8 = 5;
const CELL_FLOAT8: u8 = 6;
const CELL_TEXT: u8 = 7;
const CELL_BYTEA: u8 = 8;
const CELL_BPCHAR: u8 = 9;
const CELL_TIMESTAMP: u8 = 10;
const CELL_TIMESTAMPTZ: u8 = 11;
const CELL_DATE: u8 = 12;
const CELL_TIME: u8 = 13;
/// Microseconds in `i`; months and days as two big-endian i32 in `b`.
const CELL_INTERVAL: u8 = 14;
const CELL_UUID: u8 = 15;
const CELL_JSON: u8 = 16;
const CELL_JSONB: u8 = 17;
/// A numeric's text (as PostgreSQL prints it) in `b`.
const CELL_NUMERIC: u8 = 18;
/// An array in `b`, as [`crate::table::array::encode_cell`] writes it.
const CELL_ARRAY: u8 = 19;
/// An `oid` or OID alias value: the value in `i`, the [`OidKind`] tag in `b` (one byte).
const CELL_OID: u8 = 20;
/// An enum value: its type OID in `i`, its sort position in `f` (logs before enums never hold
/// one).
const CELL_ENUM: u8 = 21;
/// A timetz: microseconds since midnight in `i`, the offset (seconds east) as a big-endian i32
/// in `b`.
const CELL_TIMETZ: u8 = 22;
/// A record (a composite type's value): its field count in `i`, the fields in `b` as
/// [`record_bytes`] writes them.
const CELL_RECORD: u8 = 23;

/// A value as a cell's fields: tag, integer, float and bytes.
fn parts(d: &Datum) -> (u8, i64, f64, Option<Cow<'_, [u8]>>) {
    fn bytes(b: &[u8]) -> Option<Cow<'_, [u8]>> {
        Some(Cow::Borrowed(b))
    }
    fn owned<'a>(b: Vec<u8>) -> Option<Cow<'a, [u8]>> {
        Some(Cow::Owned(b))
    }
    match d {
        Datum::Null => (CELL_NULL, 0, 0.0, None),
        Datum::Bool(b) => (CELL_BOOL, *b as i64, 0.0, None),
        Datum::Int2(v) => (CELL_INT2, *v as i64, 0.0, None),
        Datum::Int4(v) => (CELL_INT4, *v as i64, 0.0, None),
        Datum::Int8(v) => (CELL_INT8, *v, 0.0, None),
        Datum::Float4(v) => (CELL_FLOAT4, 0, *v as f64, None),
        Datum::Float8(v) => (CELL_FLOAT8, 0, *v, None),
        Datum::Text(t) => (CELL_TEXT, 0, 0.0, bytes(t.as_bytes())),
        Datum::Bytea(b) => (CELL_BYTEA, 0, 0.0, bytes(b)),
        Datum::Bpchar(t) => (CELL_BPCHAR, 0, 0.0, bytes(t.as_bytes())),
        Datum::Timestamp(v) => (CELL_TIMESTAMP, *v, 0.0, None),
        Datum::TimestampTz(v) => (CELL_TIMESTAMPTZ, *v, 0.0, None),
        Datum::Date(v) => (CELL_DATE, *v as i64, 0.0, None),
        Datum::Time(v) => (CELL_TIME, *v, 0.0, None),
        Datum::TimeTz(t, east) => (CELL_TIMETZ, *t, 0.0, owned(east.to_be_bytes().to_vec())),
        Datum::Interval(iv) => {
            let mut md = Vec::with_capacity(8);
            md.extend_from_slice(&iv.months.to_be_bytes());
            md.extend_from_slice(&iv.days.to_be_bytes());
            (CELL_INTERVAL, iv.micros, 0.0, owned(md))
        }
        Datum::Uuid(u) => (CELL_UUID, 0, 0.0, bytes(u)),
        Datum::Json(t) => (CELL_JSON, 0, 0.0, bytes(t.as_bytes())),
        Datum::Jsonb(t) => (CELL_JSONB, 0, 0.0, bytes(t.as_bytes())),
        Datum::Numeric(t) => (CELL_NUMERIC, 0, 0.0, bytes(t.as_bytes())),
        Datum::Array(a) => {
            let mut b = Vec::new();
            crate::table::array::encode_cell(a, &mut b);
            (CELL_ARRAY, 0, 0.0, owned(b))
        }
        Datum::Oid(k, v) => (CELL_OID, *v as i64, 0.0, owned(vec![k.tag()])),
        Datum::Enum(t, pos) => (CELL_ENUM, *t as i64, *pos as f64, None),
        Datum::Record(fields) => (CELL_RECORD, fields.len() as i64, 0.0, owned(record_bytes(fields))),
    }
}

/// A record's fields, each as its cell's fields: the tag, the integer and the float's bits
/// (big-endian), then the bytes' length (u32, big-endian; u32::MAX for none) and the bytes.
pub(crate) fn record_bytes(fields: &[Datum]) -> Vec<u8> {
    let mut out = Vec::new();
    for d in fields {
        let (tag, i, f, b) = parts(d);
        out.push(tag);
        out.extend_from_slice(&i.to_be_bytes());
        out.extend_from_slice(&f.to_bits().to_be_bytes());
        match b {
            Some(b) => {
                out.extend_from_slice(&(b.len() as u32).to_be_bytes());
                out.extend_from_slice(&b);
            }
            None => out.extend_from_slice(&u32::MAX.to_be_bytes()),
        }
    }
    out
}

/// The fields [`record_bytes`] wrote (`n` of them).
pub(crate) fn record_of(n: i64, mut b: &[u8]) -> Result<Datum> {
    let bad = || corrupt("bad record cell");
    let mut fields = Vec::with_capacity(n.clamp(0, 1600) as usize);
    let mut take = |n: usize| -> Result<&[u8]> {
        if b.len() < n {
            return Err(bad());
        }
        let (h, t) = b.split_at(n);
        b = t;
        Ok(h)
    };
    for _ in 0..n {
        let tag = take(1)?[0];
        let i = i64::from_be_bytes(take(8)?.try_into().map_err(|_| bad())?);
        let f = f64::from_bits(u64::from_be_bytes(take(8)?.try_into().map_err(|_| bad())?));
        let len = u32::from_be_bytes(take(4)?.try_into().map_err(|_| bad())?);
        let bytes = if len == u32::MAX { None } else { Some(take(len as usize)?) };
        fields.push(datum_from(tag, i, f, bytes)?);
    }
    Ok(Datum::Record(Box::new(fields)))
}

fn cell<'a>(fbb: &mut FlatBufferBuilder<'a>, d: &Datum) -> WIPOffset<fb::Cell<'a>> {
    let (tag, i, f, b) = parts(d);
    let b = b.map(|b| fbb.create_vector(&b));
    fb::Cell::create(fbb, &fb::CellArgs { tag, i, f, b })
}

type Cells<'a> = WIPOffset<Vector<'a, ForwardsUOffset<fb::Cell<'a>>>>;

fn cells<'a>(fbb: &mut FlatBufferBuilder<'a>, row: &[Datum]) -> Cells<'a> {
    let offs: Vec<_> = row.iter().map(|d| cell(fbb, d)).collect();
    fbb.create_vector(&offs)
}

fn datum_of(c: fb::Cell<'_>) -> Result<Datum> {
    datum_from(c.tag(), c.i(), c.f(), c.b().map(|b| b.bytes()))
}

/// The value of a cell's fields ([`parts`]).
fn datum_from(tag: u8, i: i64, f: f64, b: Option<&[u8]>) -> Result<Datum> {
    let int = |lo: i64, hi: i64| {
        let v = i;
        if v < lo || v > hi {
            return Err(corrupt("integer cell out of its type's range"));
        }
        Ok(v)
    };
    let bytes = || b.map(<[u8]>::to_vec).unwrap_or_default();
    let text = || String::from_utf8(bytes()).map_err(|_| corrupt("text cell is not UTF-8"));
    Ok(match tag {
        CELL_NULL => Datum::Null,
        CELL_BOOL => Datum::Bool(int(0, 1)? == 1),
        CELL_INT2 => Datum::Int2(int(i16::MIN as i64, i16::MAX as i64)? as i16),
        CELL_INT4 => Datum::Int4(int(i32::MIN as i64, i32::MAX as i64)? as i32),
        CELL_INT8 => Datum::Int8(i),
        CELL_FLOAT4 => Datum::Float4(f as f32),
        CELL_FLOAT8 => Datum::Float8(f),
        CELL_TEXT => Datum::Text(String::from_utf8(bytes()).map_err(|_| corrupt("text cell is not UTF-8"))?),
        CELL_BYTEA => Datum::Bytea(bytes()),
        CELL_BPCHAR => Datum::Bpchar(text()?),
        CELL_TIMESTAMP => Datum::Timestamp(i),
        CELL_TIMESTAMPTZ => Datum::TimestampTz(i),
        CELL_DATE => Datum::Date(int(i32::MIN as i64, i32::MAX as i64)? as i32),
        CELL_TIME => Datum::Time(int(0, 86_400_000_000)?),
        CELL_TIMETZ => {
            let east: [u8; 4] = bytes().try_into().map_err(|_| corrupt("timetz cell without its offset"))?;
            Datum::TimeTz(int(0, 86_400_000_000)?, i32::from_be_bytes(east))
        }
        CELL_INTERVAL => {
            let md: [u8; 8] = bytes().try_into().map_err(|_| corrupt("interval cell without months and days"))?;
            let months = i32::from_be_bytes([md[0], md[1], md[2], md[3]]);
            let days = i32::from_be_bytes([md[4], md[5], md[6], md[7]]);
            Datum::Interval(Interval { months, days, micros: i })
        }
        CELL_UUID => Datum::Uuid(bytes().try_into().map_err(|_| corrupt("uuid cell is not 16 bytes"))?),
        CELL_JSON => Datum::Json(text()?),
        CELL_JSONB => Datum::Jsonb(text()?),
        CELL_NUMERIC => Datum::Numeric(text()?),
        CELL_ARRAY => Datum::Array(Box::new(
            b.and_then(crate::table::array::decode_cell).ok_or_else(|| corrupt("bad array cell"))?,
        )),
        CELL_OID => {
            let kind = match bytes()[..] {
                [t] => OidKind::from_tag(t),
                _ => None,
            };
            Datum::Oid(kind.ok_or_else(|| corrupt("bad oid cell kind"))?, int(0, u32::MAX as i64)? as u32)
        }
        CELL_ENUM => Datum::Enum(int(0, u32::MAX as i64)? as u32, f as f32),
        CELL_RECORD => record_of(i, b.unwrap_or_default())?,
        t => return Err(Error::Corrupt(format!("unknown cell tag {t}"))),
    })
}

fn row_of<'a>(v: Option<Vector<'a, ForwardsUOffset<fb::Cell<'a>>>>) -> Result<Row> {
    v.into_iter().flat_map(|v| v.iter()).map(datum_of).collect()
}

/// The column type stored as (PostgreSQL type OID, `atttypmod`).
fn sql_type(oid: u32, modifier: i32) -> Result<SqlType> {
    match SqlType::from_oid(oid) {
        Some(SqlType::Varchar(_)) if modifier >= 4 => Ok(SqlType::Varchar(Some((modifier - 4) as u32))),
        Some(SqlType::Bpchar(_)) if modifier >= 4 => Ok(SqlType::Bpchar(Some((modifier - 4) as u32))),
        // ((precision << 16) | (scale & 0x7ff)) + 4, the scale an 11-bit two's complement.
        Some(SqlType::Numeric(_)) if modifier >= 4 => {
            let m = modifier - 4;
            let scale = ((m & 0x7ff) << 21) >> 21;
            Ok(SqlType::Numeric(Some(((m >> 16) as u16, scale as i16))))
        }
        Some(SqlType::Unknown) | None => Err(Error::Corrupt(format!("column of unsupported type OID {oid}"))),
        // An array column's typmod is its element's; timestamp(p), time(p) and interval(p)
        // keep their precision there (logs written before it was kept say -1: none).
        Some(t) => Ok(t.with_modifier(modifier)),
    }
}

fn name_of(s: Option<&str>, what: &str) -> Result<String> {
    s.map(str::to_string).ok_or_else(|| Error::Corrupt(format!("{what} without a name")))
}

fn db_u16(db: usize) -> u16 {
    u16::try_from(db).expect("db index fits u16")
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder { fbb: FlatBufferBuilder::with_capacity(1024) }
    }

    fn start(&mut self) -> &mut FlatBufferBuilder<'static> {
        // A builder that once held a huge record gives its memory back.
        if self.fbb.unfinished_data().len() > 4 << 20 {
            self.fbb = FlatBufferBuilder::with_capacity(1024);
        }
        self.fbb.reset();
        &mut self.fbb
    }

    pub fn command(&mut self, db: usize, now_ms: u64, argv: &[Bytes]) -> &[u8] {
        let fbb = self.start();
        let argv = blobs(fbb, argv.iter().map(|a| &a[..]));
        let r = fb::RedisCommand::create(fbb, &fb::RedisCommandArgs { db: db_u16(db), now_ms, argv: Some(argv) });
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn put(&mut self, db: usize, key: &[u8], value: &Value, expire_at_ms: Option<u64>) -> &[u8] {
        let fbb = self.start();
        let key = fbb.create_vector(key);
        let (value_type, value) = match value {
            Value::Str(s) => {
                let data = fbb.create_vector(&s[..]);
                (
                    fb::Value::StringValue,
                    fb::StringValue::create(fbb, &fb::StringValueArgs { data: Some(data) }).as_union_value(),
                )
            }
            Value::Hash(h) => {
                let fields = blobs(fbb, h.keys().map(|k| &k[..]));
                let values = blobs(fbb, h.values().map(|v| &v[..]));
                let args = fb::HashValueArgs { fields: Some(fields), values: Some(values) };
                (fb::Value::HashValue, fb::HashValue::create(fbb, &args).as_union_value())
            }
            Value::List(l) => {
                let items = blobs(fbb, l.iter().map(|v| &v[..]));
                (
                    fb::Value::ListValue,
                    fb::ListValue::create(fbb, &fb::ListValueArgs { items: Some(items) }).as_union_value(),
                )
            }
            Value::Set(s) => {
                let members = blobs(fbb, s.iter().map(|v| &v[..]));
                (
                    fb::Value::SetValue,
                    fb::SetValue::create(fbb, &fb::SetValueArgs { members: Some(members) }).as_union_value(),
                )
            }
            Value::ZSet(z) => {
                let members = blobs(fbb, z.entries().map(|(m, _)| &m[..]));
                let scores: Vec<f64> = z.entries().map(|(_, s)| s).collect();
                let scores = fbb.create_vector(&scores);
                let args = fb::ZSetValueArgs { members: Some(members), scores: Some(scores) };
                (fb::Value::ZSetValue, fb::ZSetValue::create(fbb, &args).as_union_value())
            }
        };
        let args = fb::RedisPutArgs {
            db: db_u16(db),
            key: Some(key),
            value_type,
            value: Some(value),
            expire_at_ms: expire_at_ms.unwrap_or(0),
        };
        let r = fb::RedisPut::create(fbb, &args);
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn put_entry(&mut self, db: usize, key: &[u8], e: &Entry) -> &[u8] {
        self.put(db, key, &e.value, e.expire_at_ms)
    }

    pub fn delete(&mut self, db: usize, key: &[u8]) -> &[u8] {
        let fbb = self.start();
        let key = fbb.create_vector(key);
        let r = fb::RedisDelete::create(fbb, &fb::RedisDeleteArgs { db: db_u16(db), key: Some(key) });
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn log_header(&mut self, h: &LogHeader) -> &[u8] {
        let fbb = self.start();
        let args = fb::LogHeaderArgs { shard: h.shard, shards: h.shards, epoch: h.epoch, created_ms: h.created_ms };
        let r = fb::LogHeader::create(fbb, &args);
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn snapshot_begin(&mut self, s: &SnapshotBegin) -> &[u8] {
        let fbb = self.start();
        let args = fb::SnapshotBeginArgs {
            shard: s.shard,
            shards: s.shards,
            epoch: s.epoch,
            covers_seq: s.covers_seq,
            created_ms: s.created_ms,
        };
        let r = fb::SnapshotBegin::create(fbb, &args);
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn snapshot_end(&mut self, keys: u64) -> &[u8] {
        let fbb = self.start();
        let r = fb::SnapshotEnd::create(fbb, &fb::SnapshotEndArgs { keys });
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn table_create(&mut self, generation: u64, def: &TableDef) -> &[u8] {
        let fbb = self.start();
        let cols: Vec<_> = def
            .columns
            .iter()
            .map(|c| {
                let name = fbb.create_string(&c.name);
                let default_value = Some(cell(fbb, &c.default));
                let default_expr = c.default_expr.as_deref().map(|e| fbb.create_string(e));
                let generated_expr = c.generated.as_deref().map(|e| fbb.create_string(e));
                let args = fb::ColumnArgs {
                    name: Some(name),
                    type_oid: c.ty.oid(),
                    type_mod: c.ty.modifier(),
                    not_null: c.not_null,
                    default_value,
                    default_expr,
                    identity: c.identity.code(),
                    generated_expr,
                    domain_oid: c.domain,
                };
                fb::Column::create(fbb, &args)
            })
            .collect();
        let columns = fbb.create_vector(&cols);
        let pk: Vec<u16> = def.pk.iter().map(|&i| u16::try_from(i).expect("column index fits u16")).collect();
        let pk = fbb.create_vector(&pk);
        let name = fbb.create_string(&def.name);
        let pk_name = fbb.create_string(&def.pk_name);
        let checks: Vec<_> = def
            .checks
            .iter()
            .map(|c| {
                let name = fbb.create_string(&c.name);
                let expr = fbb.create_string(&c.expr);
                fb::Check::create(fbb, &fb::CheckArgs { name: Some(name), expr: Some(expr), not_valid: c.not_valid })
            })
            .collect();
        let checks = (!checks.is_empty()).then(|| fbb.create_vector(&checks));
        let indexes: Vec<_> = def
            .indexes
            .iter()
            .map(|x| {
                let name = fbb.create_string(&x.name);
                let cols: Vec<u16> =
                    x.columns.iter().map(|&i| u16::try_from(i).expect("column index fits u16")).collect();
                let columns = fbb.create_vector(&cols);
                let exprs: Vec<_> = x
                    .exprs
                    .iter()
                    .map(|e| {
                        let expr = fbb.create_string(&e.expr);
                        let name = fbb.create_string(&e.name);
                        let args = fb::IndexExprArgs {
                            expr: Some(expr),
                            name: Some(name),
                            type_oid: e.ty.oid(),
                            type_mod: e.ty.modifier(),
                        };
                        fb::IndexExpr::create(fbb, &args)
                    })
                    .collect();
                let exprs = (!exprs.is_empty()).then(|| fbb.create_vector(&exprs));
                let predicate = x.predicate.as_deref().map(|p| fbb.create_string(p));
                let include: Vec<u16> =
                    x.include.iter().map(|&i| u16::try_from(i).expect("column index fits u16")).collect();
                let include = (!include.is_empty()).then(|| fbb.create_vector(&include));
                let options = x.options.iter().any(|&o| o != 0).then(|| fbb.create_vector(&x.options));
                let opclasses = x.opclasses.iter().any(|&o| o != 0).then(|| fbb.create_vector(&x.opclasses));
                fb::Index::create(
                    fbb,
                    &fb::IndexArgs {
                        name: Some(name),
                        columns: Some(columns),
                        unique: x.unique,
                        constraint: x.constraint,
                        exprs,
                        predicate,
                        include,
                        nulls_not_distinct: x.nulls_not_distinct,
                        options,
                        opclasses,
                    },
                )
            })
            .collect();
        let indexes = (!indexes.is_empty()).then(|| fbb.create_vector(&indexes));
        let index_of = def.index_of.as_deref().map(|n| fbb.create_string(n));
        let view = def.view.as_deref().map(|q| fbb.create_string(q));
        let matview = def.matview.as_ref().map(|m| fbb.create_string(&m.query));
        let partition_key = def.partition_key.as_deref().map(|k| fbb.create_string(k));
        let partition_bound = def.partition_of.as_ref().map(|p| fbb.create_string(&p.bound));
        let partition_parent = def.partition_of.as_ref().map(|p| fbb.create_string(&p.parent));
        let fks: Vec<_> = def
            .foreign_keys
            .iter()
            .map(|fk| {
                let name = fbb.create_string(&fk.name);
                let cols: Vec<u16> =
                    fk.columns.iter().map(|&i| u16::try_from(i).expect("column index fits u16")).collect();
                let columns = fbb.create_vector(&cols);
                let parent = fbb.create_string(&fk.parent);
                let pcols: Vec<u16> =
                    fk.parent_columns.iter().map(|&i| u16::try_from(i).expect("column index fits u16")).collect();
                let parent_columns = fbb.create_vector(&pcols);
                fb::ForeignKey::create(
                    fbb,
                    &fb::ForeignKeyArgs {
                        name: Some(name),
                        columns: Some(columns),
                        parent: Some(parent),
                        parent_columns: Some(parent_columns),
                        on_delete: fk.on_delete.code(),
                        on_update: fk.on_update.code(),
                        flags: fk.flags(),
                    },
                )
            })
            .collect();
        let foreign_keys = (!fks.is_empty()).then(|| fbb.create_vector(&fks));
        let reloptions: Vec<_> = def.reloptions.iter().map(|o| fbb.create_string(o)).collect();
        let reloptions = (!reloptions.is_empty()).then(|| fbb.create_vector(&reloptions));
        let args = fb::TableCreateArgs {
            generation,
            name: Some(name),
            oid: def.oid,
            pk_name: Some(pk_name),
            columns: Some(columns),
            pk: Some(pk),
            checks,
            indexes,
            index_of,
            view,
            foreign_keys,
            view_check: ViewCheck::code(def.view_check),
            matview,
            matview_unpopulated: def.matview.as_ref().is_some_and(|m| !m.populated),
            partition_key,
            partition_parent,
            partition_bound,
            reloptions,
        };
        let r = fb::TableCreate::create(fbb, &args);
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn table_drop(&mut self, generation: u64, name: &str) -> &[u8] {
        let fbb = self.start();
        let name = fbb.create_string(name);
        let r = fb::TableDrop::create(fbb, &fb::TableDropArgs { generation, name: Some(name) });
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    /// A [`Record::TableSwap`] (same body layout as a table drop).
    pub fn table_swap(&mut self, generation: u64, staging: &str) -> &[u8] {
        self.table_drop(generation, staging)
    }

    pub fn table_rename(&mut self, generation: u64, name: &str, new_name: &str) -> &[u8] {
        let fbb = self.start();
        let name = fbb.create_string(name);
        let new_name = fbb.create_string(new_name);
        let r = fb::TableRename::create(
            fbb,
            &fb::TableRenameArgs { generation, name: Some(name), new_name: Some(new_name) },
        );
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn row_put(&mut self, table: &str, row: &[Datum]) -> &[u8] {
        let fbb = self.start();
        let row = cells(fbb, row);
        let table_name = fbb.create_string(table);
        let r = fb::RowPut::create(fbb, &fb::RowPutArgs { table_name: Some(table_name), row: Some(row) });
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    pub fn row_delete(&mut self, table: &str, key: &[u8]) -> &[u8] {
        let fbb = self.start();
        let key = fbb.create_vector(key);
        let table_name = fbb.create_string(table);
        let r = fb::RowDelete::create(fbb, &fb::RowDeleteArgs { table_name: Some(table_name), key: Some(key) });
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    /// A participant's prepared part of transaction `txid` (two-phase commit).
    pub fn txn_prepare(&mut self, txid: u64, part: &PreparedPart) -> &[u8] {
        let fbb = self.start();
        let tables: Vec<_> = part
            .tables
            .iter()
            .map(|t| {
                let rows: Vec<_> = t
                    .rows
                    .iter()
                    .map(|(k, r)| {
                        let key = Some(fbb.create_vector(k));
                        let row = r.as_ref().map(|r| cells(fbb, r));
                        fb::PartRow::create(fbb, &fb::PartRowArgs { key, row, deleted: r.is_none() })
                    })
                    .collect();
                let rows = Some(fbb.create_vector(&rows));
                let table_name = Some(fbb.create_string(&t.table));
                fb::PartTable::create(fbb, &fb::PartTableArgs { table_name, oid: t.oid, rows })
            })
            .collect();
        let tables = Some(fbb.create_vector(&tables));
        let args = fb::TxnPrepareArgs { txid, coordinator: part.coordinator, tables };
        let r = fb::TxnPrepare::create(fbb, &args);
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    /// A [`Record::TxnCommit`] (`commit` true) or [`Record::TxnResolve`] body.
    pub fn txn_decision(&mut self, txid: u64, commit: bool) -> &[u8] {
        let fbb = self.start();
        let r = fb::TxnDecision::create(fbb, &fb::TxnDecisionArgs { txid, commit });
        fbb.finish_minimal(r);
        self.fbb.finished_data()
    }

    /// The body of any record.
    pub fn encode(&mut self, rec: &Record) -> &[u8] {
        match rec {
            Record::RedisCommand { db, now_ms, argv } => self.command(*db, *now_ms, argv),
            Record::RedisPut { db, key, value, expire_at_ms } => self.put(*db, key, value, *expire_at_ms),
            Record::RedisDelete { db, key } => self.delete(*db, key),
            Record::LogHeader(h) => self.log_header(h),
            Record::SnapshotBegin(s) => self.snapshot_begin(s),
            Record::SnapshotEnd { keys } => self.snapshot_end(*keys),
            Record::TableCreate { generation, def } => self.table_create(*generation, def),
            Record::TableDrop { generation, name } => self.table_drop(*generation, name),
            Record::RowPut { table, row } => self.row_put(table, row),
            Record::RowDelete { table, key } => self.row_delete(table, key),
            Record::TableSwap { generation, staging } => self.table_swap(*generation, staging),
            Record::TxnPrepare { txid, part } => self.txn_prepare(*txid, part),
            Record::TxnCommit { txid } => self.txn_decision(*txid, true),
            Record::TxnResolve { txid, commit } => self.txn_decision(*txid, *commit),
            Record::TableRename { generation, name, new_name } => self.table_rename(*generation, name, new_name),
        }
    }
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(what.to_string())
}

fn verifier_opts() -> flatbuffers::VerifierOptions {
    // Bodies are CRC-checked before they get here; the limits only need to admit the largest
    // legitimate record (a collection of many millions of elements).
    flatbuffers::VerifierOptions {
        max_depth: 64,
        max_tables: usize::MAX,
        max_apparent_size: usize::MAX,
        ignore_missing_null_terminator: true,
    }
}

fn root<'a, T: flatbuffers::Follow<'a> + flatbuffers::Verifiable + 'a>(body: &'a [u8]) -> Result<T::Inner> {
    flatbuffers::root_with_opts::<T>(&verifier_opts(), body)
        .map_err(|e| Error::Corrupt(format!("bad record body: {e}")))
}

fn blob_list<'a>(v: Option<Vector<'a, ForwardsUOffset<fb::Blob<'a>>>>) -> impl Iterator<Item = Bytes> + 'a {
    v.into_iter().flat_map(|v| v.iter()).map(|b| Bytes::copy_from_slice(b.data().map(|d| d.bytes()).unwrap_or(&[])))
}

fn db_of(db: u16) -> Result<usize> {
    let db = db as usize;
    if db >= crate::keyspace::DATABASES {
        return Err(Error::Corrupt(format!("db index {db} out of range")));
    }
    Ok(db)
}

/// Decodes a record body of the given kind.
pub fn decode(kind: Kind, body: &[u8]) -> Result<Record> {
    Ok(match kind {
        Kind::RedisCommand => {
            let r = root::<fb::RedisCommand>(body)?;
            let argv: Vec<Bytes> = blob_list(r.argv()).collect();
            if argv.is_empty() {
                return Err(corrupt("command record without arguments"));
            }
            Record::RedisCommand { db: db_of(r.db())?, now_ms: r.now_ms(), argv }
        }
        Kind::RedisPut => {
            let r = root::<fb::RedisPut>(body)?;
            let key = Bytes::copy_from_slice(r.key().ok_or_else(|| corrupt("put without key"))?.bytes());
            let value = match r.value_type() {
                fb::Value::StringValue => {
                    let v = r.value_as_string_value().ok_or_else(|| corrupt("put without value"))?;
                    Value::Str(StrValue::new(v.data().map(|d| d.bytes().to_vec()).unwrap_or_default()))
                }
                fb::Value::HashValue => {
                    let v = r.value_as_hash_value().ok_or_else(|| corrupt("put without value"))?;
                    let n = v.fields().map(|f| f.len()).unwrap_or(0);
                    if n != v.values().map(|f| f.len()).unwrap_or(0) {
                        return Err(corrupt("hash with unequal field and value counts"));
                    }
                    let mut h = HashValue::default();
                    h.reserve(n);
                    for (f, val) in blob_list(v.fields()).zip(blob_list(v.values())) {
                        h.insert(f, val);
                    }
                    Value::Hash(h)
                }
                fb::Value::ListValue => {
                    let v = r.value_as_list_value().ok_or_else(|| corrupt("put without value"))?;
                    Value::List(blob_list(v.items()).collect::<ListValue>())
                }
                fb::Value::SetValue => {
                    let v = r.value_as_set_value().ok_or_else(|| corrupt("put without value"))?;
                    let n = v.members().map(|m| m.len()).unwrap_or(0);
                    let mut s = SetValue::with_capacity(n);
                    for m in blob_list(v.members()) {
                        s.add(m);
                    }
                    Value::Set(s)
                }
                fb::Value::ZSetValue => {
                    let v = r.value_as_zset_value().ok_or_else(|| corrupt("put without value"))?;
                    let scores: Vec<f64> = v.scores().map(|s| s.iter().collect()).unwrap_or_default();
                    let members: Vec<Bytes> = blob_list(v.members()).collect();
                    if members.len() != scores.len() || scores.iter().any(|s| s.is_nan()) {
                        return Err(corrupt("sorted set with bad scores"));
                    }
                    Value::ZSet(Box::new(ZSet::from_entries(members.into_iter().zip(scores).collect())))
                }
                other => return Err(Error::Corrupt(format!("unknown value type {}", other.0))),
            };
            let expire_at_ms = Some(r.expire_at_ms()).filter(|&t| t != 0);
            Record::RedisPut { db: db_of(r.db())?, key, value, expire_at_ms }
        }
        Kind::RedisDelete => {
            let r = root::<fb::RedisDelete>(body)?;
            let key = Bytes::copy_from_slice(r.key().ok_or_else(|| corrupt("delete without key"))?.bytes());
            Record::RedisDelete { db: db_of(r.db())?, key }
        }
        Kind::LogHeader => {
            let r = root::<fb::LogHeader>(body)?;
            Record::LogHeader(LogHeader {
                shard: r.shard(),
                shards: r.shards(),
                epoch: r.epoch(),
                created_ms: r.created_ms(),
            })
        }
        Kind::SnapshotBegin => {
            let r = root::<fb::SnapshotBegin>(body)?;
            Record::SnapshotBegin(SnapshotBegin {
                shard: r.shard(),
                shards: r.shards(),
                epoch: r.epoch(),
                covers_seq: r.covers_seq(),
                created_ms: r.created_ms(),
            })
        }
        Kind::SnapshotEnd => Record::SnapshotEnd { keys: root::<fb::SnapshotEnd>(body)?.keys() },
        Kind::TableCreate => {
            let r = root::<fb::TableCreate>(body)?;
            let mut columns = Vec::new();
            for c in r.columns().into_iter().flat_map(|v| v.iter()) {
                columns.push(ColumnDef {
                    name: name_of(c.name(), "column")?,
                    ty: sql_type(c.type_oid(), c.type_mod())?,
                    not_null: c.not_null(),
                    default: c.default_value().map(datum_of).transpose()?.unwrap_or(Datum::Null),
                    default_expr: c.default_expr().map(str::to_string),
                    identity: Identity::from_code(c.identity()),
                    generated: c.generated_expr().map(str::to_string),
                    domain: c.domain_oid(),
                });
            }
            let pk: Vec<usize> = r.pk().into_iter().flat_map(|v| v.iter()).map(|i| i as usize).collect();
            // An empty key: the table has no primary key and keys rows by a hidden row id.
            if pk.iter().any(|&i| i >= columns.len()) {
                return Err(corrupt("table definition with a bad primary key"));
            }
            let mut checks = Vec::new();
            for c in r.checks().into_iter().flat_map(|v| v.iter()) {
                checks.push(CheckDef {
                    name: name_of(c.name(), "check constraint")?,
                    expr: c.expr().ok_or_else(|| corrupt("check constraint without an expression"))?.to_string(),
                    not_valid: c.not_valid(),
                });
            }
            let mut indexes = Vec::new();
            for x in r.indexes().into_iter().flat_map(|v| v.iter()) {
                let cols: Vec<usize> = x.columns().into_iter().flat_map(|v| v.iter()).map(|i| i as usize).collect();
                let mut exprs = Vec::new();
                for e in x.exprs().into_iter().flat_map(|v| v.iter()) {
                    exprs.push(IndexExpr {
                        expr: e.expr().ok_or_else(|| corrupt("index expression without its text"))?.to_string(),
                        name: name_of(e.name(), "index expression")?,
                        ty: sql_type(e.type_oid(), e.type_mod())?,
                    });
                }
                let include: Vec<usize> = x.include().into_iter().flat_map(|v| v.iter()).map(|i| i as usize).collect();
                let n_exprs = cols.iter().filter(|&&i| i == IndexDef::EXPR).count();
                if cols.is_empty()
                    || n_exprs != exprs.len()
                    || cols.iter().any(|&i| i >= columns.len() && i != IndexDef::EXPR)
                    || include.iter().any(|&i| i >= columns.len())
                {
                    return Err(corrupt("index definition with a bad column"));
                }
                indexes.push(IndexDef {
                    name: name_of(x.name(), "index")?,
                    columns: cols,
                    unique: x.unique(),
                    constraint: x.constraint(),
                    exprs,
                    predicate: x.predicate().map(str::to_string),
                    include,
                    nulls_not_distinct: x.nulls_not_distinct(),
                    options: x.options().into_iter().flat_map(|v| v.iter()).collect(),
                    opclasses: x.opclasses().into_iter().flat_map(|v| v.iter()).collect(),
                });
            }
            let mut foreign_keys = Vec::new();
            for fk in r.foreign_keys().into_iter().flat_map(|v| v.iter()) {
                let cols: Vec<usize> = fk.columns().into_iter().flat_map(|v| v.iter()).map(|i| i as usize).collect();
                let pcols: Vec<usize> =
                    fk.parent_columns().into_iter().flat_map(|v| v.iter()).map(|i| i as usize).collect();
                if cols.is_empty() || cols.len() != pcols.len() || cols.iter().any(|&i| i >= columns.len()) {
                    return Err(corrupt("foreign key definition with a bad column"));
                }
                let action = |c: u8| FkAction::from_code(c).ok_or_else(|| corrupt("foreign key with a bad action"));
                let mut def = ForeignKeyDef {
                    name: name_of(fk.name(), "foreign key")?,
                    columns: cols,
                    parent: name_of(fk.parent(), "foreign key's table")?,
                    parent_columns: pcols,
                    on_delete: action(fk.on_delete())?,
                    on_update: action(fk.on_update())?,
                    deferrable: false,
                    initially_deferred: false,
                    match_full: false,
                    not_valid: false,
                };
                def.set_flags(fk.flags());
                foreign_keys.push(def);
            }
            let def = TableDef {
                name: name_of(r.name(), "table")?,
                columns,
                pk,
                pk_name: r.pk_name().unwrap_or_default().to_string(),
                oid: r.oid(),
                checks,
                indexes,
                index_of: r.index_of().map(str::to_string),
                view: r.view().map(str::to_string),
                view_check: ViewCheck::from_code(r.view_check()),
                foreign_keys,
                matview: r.matview().map(|q| MatView { query: q.to_string(), populated: !r.matview_unpopulated() }),
                partition_key: r.partition_key().map(str::to_string),
                partition_of: r.partition_bound().map(|b| {
                    Box::new(PartitionOf {
                        parent: r.partition_parent().unwrap_or_default().to_string(),
                        bound: b.to_string(),
                    })
                }),
                reloptions: r.reloptions().into_iter().flat_map(|v| v.iter()).map(str::to_string).collect(),
            };
            Record::TableCreate { generation: r.generation(), def }
        }
        Kind::TableDrop => {
            let r = root::<fb::TableDrop>(body)?;
            Record::TableDrop { generation: r.generation(), name: name_of(r.name(), "table drop")? }
        }
        Kind::TableSwap => {
            let r = root::<fb::TableDrop>(body)?;
            let staging = name_of(r.name(), "table swap")?;
            if crate::table::staging_target(&staging).is_none() {
                return Err(corrupt("table swap of a table that is not a staging table"));
            }
            Record::TableSwap { generation: r.generation(), staging }
        }
        Kind::TableRename => {
            let r = root::<fb::TableRename>(body)?;
            Record::TableRename {
                generation: r.generation(),
                name: name_of(r.name(), "table rename")?,
                new_name: name_of(r.new_name(), "table rename")?,
            }
        }
        Kind::RowPut => {
            let r = root::<fb::RowPut>(body)?;
            Record::RowPut { table: name_of(r.table_name(), "row")?, row: row_of(r.row())? }
        }
        Kind::RowDelete => {
            let r = root::<fb::RowDelete>(body)?;
            let key = r.key().ok_or_else(|| corrupt("row delete without key"))?.bytes().to_vec();
            Record::RowDelete { table: name_of(r.table_name(), "row delete")?, key }
        }
        Kind::TxnPrepare => {
            let r = root::<fb::TxnPrepare>(body)?;
            let mut tables = Vec::new();
            for t in r.tables().into_iter().flat_map(|v| v.iter()) {
                let mut rows = Vec::new();
                for pr in t.rows().into_iter().flat_map(|v| v.iter()) {
                    let key = pr.key().ok_or_else(|| corrupt("prepared row without key"))?.bytes().to_vec();
                    let row = if pr.deleted() { None } else { Some(row_of(pr.row())?) };
                    rows.push((key, row));
                }
                tables.push(PartTable { table: name_of(t.table_name(), "prepared part")?, oid: t.oid(), rows });
            }
            Record::TxnPrepare { txid: r.txid(), part: PreparedPart { coordinator: r.coordinator(), tables } }
        }
        Kind::TxnCommit => {
            let r = root::<fb::TxnDecision>(body)?;
            if !r.commit() {
                return Err(corrupt("decision record that is not a commit"));
            }
            Record::TxnCommit { txid: r.txid() }
        }
        Kind::TxnResolve => {
            let r = root::<fb::TxnDecision>(body)?;
            Record::TxnResolve { txid: r.txid(), commit: r.commit() }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn records() -> Vec<Record> {
        let mut h = HashValue::default();
        h.insert(b("f1"), b("v1"));
        h.insert(b("f2"), b(""));
        let mut s = SetValue::default();
        s.add(b("a"));
        s.add(b("b"));
        let z = ZSet::from_entries(vec![(b("x"), 1.5), (b("y"), -2.0), (b("z"), f64::INFINITY)]);
        vec![
            Record::LogHeader(LogHeader { shard: 1, shards: 4, epoch: 3, created_ms: 17 }),
            Record::RedisCommand {
                db: 3,
                now_ms: 1_700_000_000_123,
                argv: vec![b("SET"), b("k"), Bytes::from(vec![0u8, 255, 13, 10])],
            },
            Record::RedisPut {
                db: 0,
                key: b("s"),
                value: Value::Str(StrValue::new(b"hello".to_vec())),
                expire_at_ms: Some(99),
            },
            Record::RedisPut { db: 15, key: b("h"), value: Value::Hash(h), expire_at_ms: None },
            Record::RedisPut {
                db: 1,
                key: b("l"),
                value: Value::List([b("1"), b("2")].into_iter().collect()),
                expire_at_ms: None,
            },
            Record::RedisPut { db: 2, key: b("set"), value: Value::Set(s), expire_at_ms: None },
            Record::RedisPut { db: 2, key: b("z"), value: Value::ZSet(Box::new(z)), expire_at_ms: Some(5) },
            Record::RedisPut { db: 2, key: b(""), value: Value::Str(StrValue::new(Vec::new())), expire_at_ms: None },
            Record::RedisDelete { db: 7, key: b("gone") },
            Record::SnapshotBegin(SnapshotBegin { shard: 0, shards: 1, epoch: 0, covers_seq: 1234, created_ms: 5 }),
            Record::SnapshotEnd { keys: 42 },
            Record::TableCreate { generation: 7, def: table_def() },
            Record::TableCreate {
                generation: 9,
                def: TableDef {
                    name: "v".into(),
                    columns: vec![ColumnDef::new("id", SqlType::Int4)],
                    oid: 16400,
                    view: Some("SELECT id FROM t WHERE id > 0".into()),
                    view_check: Some(ViewCheck::Cascaded),
                    ..TableDef::default_empty()
                },
            },
            Record::TableDrop { generation: 8, name: "gone".into() },
            Record::RowPut {
                table: "t".into(),
                row: vec![
                    Datum::Int4(-3),
                    Datum::Text("h\u{e9}llo\0".into()),
                    Datum::Null,
                    Datum::Bool(true),
                    Datum::Int2(i16::MIN),
                    Datum::Int8(i64::MAX),
                    Datum::Float4(1.5),
                    Datum::Float8(f64::NEG_INFINITY),
                    Datum::Bytea(vec![0, 255]),
                    Datum::Bpchar("ab   ".into()),
                    Datum::Timestamp(i64::MIN),
                    Datum::TimestampTz(757_382_400_123_456),
                    Datum::Date(-730_000),
                    Datum::Time(86_400_000_000),
                    Datum::TimeTz(45_000_000_000, -34_200),
                    Datum::Interval(Interval { months: -14, days: 3, micros: -1 }),
                    Datum::Uuid([7; 16]),
                    Datum::Json("{\"b\": 1, \"a\": [true]}".into()),
                    Datum::Jsonb("{\"a\": [true], \"b\": 1}".into()),
                    Datum::Numeric("-12.50".into()),
                    Datum::Oid(OidKind::RegClass, u32::MAX),
                    // A composite value: fields of several kinds, a NULL, a nested record.
                    Datum::Record(Box::new(vec![
                        Datum::Int4(-7),
                        Datum::Null,
                        Datum::Text("a \"b\"".into()),
                        Datum::Interval(Interval { months: 1, days: -2, micros: 3 }),
                        Datum::Record(Box::new(vec![Datum::Numeric("1.50".into()), Datum::Bool(true)])),
                        Datum::Record(Box::default()),
                    ])),
                ],
            },
            Record::RowPut { table: "t".into(), row: vec![] },
            Record::RowDelete { table: "t".into(), key: vec![3, 0, 1] },
            Record::TableSwap { generation: 9, staging: crate::table::staging_name("t", 9) },
            Record::TxnPrepare {
                txid: 1 << 40,
                part: PreparedPart {
                    coordinator: 3,
                    tables: vec![
                        PartTable {
                            table: "t".into(),
                            oid: 16391,
                            rows: vec![
                                (vec![1, 2], Some(vec![Datum::Int4(1), Datum::Null])),
                                (vec![3], None),
                                (vec![], Some(vec![])),
                            ],
                        },
                        PartTable { table: "u".into(), oid: 7, rows: vec![] },
                    ],
                },
            },
            Record::TxnCommit { txid: 5 },
            Record::TxnResolve { txid: 5, commit: true },
            Record::TxnResolve { txid: 6, commit: false },
            Record::TableRename { generation: 10, name: "t".into(), new_name: "u".into() },
        ]
    }

    fn table_def() -> TableDef {
        let col = |name: &str, ty, not_null, default| ColumnDef { not_null, default, ..ColumnDef::new(name, ty) };
        TableDef {
            name: "t".into(),
            columns: vec![
                col("id", SqlType::Int4, true, Datum::Null),
                col("name", SqlType::Varchar(Some(20)), false, Datum::Text("x".into())),
                col("v", SqlType::Varchar(None), false, Datum::Null),
                col("b", SqlType::Bool, false, Datum::Bool(false)),
                col("s", SqlType::Int2, false, Datum::Null),
                col("l", SqlType::Int8, true, Datum::Int8(-1)),
                col("f", SqlType::Float4, false, Datum::Float4(0.25)),
                col("d", SqlType::Float8, false, Datum::Null),
                col("raw", SqlType::Bytea, false, Datum::Null),
                col("txt", SqlType::Text, false, Datum::Null),
                col("c", SqlType::Bpchar(Some(84)), false, Datum::Bpchar("x".into())),
                col("cu", SqlType::Bpchar(None), false, Datum::Null),
                col("ts", SqlType::Timestamp(Some(3)), false, Datum::Timestamp(0)),
                col("tz", SqlType::TIMESTAMPTZ, false, Datum::Null),
                col("tz0", SqlType::TimestampTz(Some(0)), false, Datum::Null),
                col("dt", SqlType::Date, false, Datum::Date(1)),
                col("tm", SqlType::Time(Some(6)), false, Datum::Null),
                col("ttz", SqlType::TimeTz(Some(2)), false, Datum::Null),
                col(
                    "iv",
                    SqlType::Interval(Some(2)),
                    false,
                    Datum::Interval(Interval { months: 1, days: 2, micros: 3 }),
                ),
                col("iv0", SqlType::INTERVAL, false, Datum::Null),
                col("tsa", SqlType::Timestamp(Some(1)).array_of().expect("array"), false, Datum::Null),
                col("u", SqlType::Uuid, false, Datum::Null),
                col("j", SqlType::Json, false, Datum::Null),
                col("jb", SqlType::Jsonb, false, Datum::Null),
                col("n", SqlType::Numeric(Some((10, -2))), false, Datum::Null),
                col("n2", SqlType::NUMERIC, false, Datum::Null),
                ColumnDef { generated: Some("id * 2".into()), ..ColumnDef::new("g", SqlType::Int4) },
            ],
            pk: vec![1, 0],
            pk_name: "t_pkey".into(),
            oid: 16391,
            checks: vec![CheckDef { not_valid: true, ..CheckDef::new("t_l_check", "l > 0") }],
            indexes: vec![
                IndexDef::on_columns("t_name_key".into(), vec![1, 2], true, true),
                IndexDef {
                    name: "t_lower_idx".into(),
                    columns: vec![IndexDef::EXPR, 0],
                    unique: true,
                    constraint: false,
                    exprs: vec![IndexExpr { expr: "lower(name)".into(), name: "lower".into(), ty: SqlType::Text }],
                    predicate: Some("id > 0".into()),
                    include: vec![2],
                    nulls_not_distinct: true,
                    options: vec![IndexDef::DESC | IndexDef::NULLS_FIRST, 0],
                    opclasses: vec![4217, 0],
                },
            ],
            index_of: None,
            view: None,
            view_check: None,
            matview: Some(MatView { query: "SELECT a FROM t".into(), populated: false }),
            partition_key: Some("RANGE (id, l)".into()),
            partition_of: Some(Box::new(PartitionOf {
                parent: "s.p".into(),
                bound: "FOR VALUES FROM (1, MINVALUE) TO (5, 0)".into(),
            })),
            foreign_keys: vec![ForeignKeyDef {
                name: "t_s_fkey".into(),
                columns: vec![4],
                parent: "p".into(),
                parent_columns: vec![0],
                on_delete: FkAction::Cascade,
                on_update: FkAction::SetNull,
                deferrable: true,
                initially_deferred: true,
                match_full: true,
                not_valid: false,
            }],
            reloptions: vec!["fillfactor=70".into(), "autovacuum_enabled=off".into()],
        }
    }

    #[test]
    fn table_records_reject_bad_contents() {
        let mut enc = Encoder::new();
        let mut def = table_def();
        def.pk = vec![def.columns.len()];
        let body = enc.table_create(1, &def).to_vec();
        assert!(decode(Kind::TableCreate, &body).is_err());
        // No primary key: rows are keyed by a hidden row id.
        def.pk = vec![];
        let body = enc.table_create(1, &def).to_vec();
        assert!(matches!(decode(Kind::TableCreate, &body), Ok(Record::TableCreate { def, .. }) if def.has_row_id()));
        let body = enc.table_swap(3, "t").to_vec();
        assert!(decode(Kind::TableSwap, &body).is_err());
        // Text that is not UTF-8, written as a raw cell.
        let mut fbb = FlatBufferBuilder::new();
        let b = fbb.create_vector(&[0xffu8, 0xfe]);
        let c = fb::Cell::create(&mut fbb, &fb::CellArgs { tag: CELL_TEXT, i: 0, f: 0.0, b: Some(b) });
        let row = fbb.create_vector(&[c]);
        let name = fbb.create_string("t");
        let r = fb::RowPut::create(&mut fbb, &fb::RowPutArgs { table_name: Some(name), row: Some(row) });
        fbb.finish_minimal(r);
        assert!(decode(Kind::RowPut, fbb.finished_data()).is_err());
    }

    /// A column written before `generated_expr` existed has no such field in its table (a
    /// flatbuffers field absent from the vtable): it reads as no generation expression.
    #[test]
    fn columns_without_a_generation_expression_read_as_ordinary() {
        let mut fbb = flatbuffers::FlatBufferBuilder::new();
        let name = fbb.create_string("a");
        let mut col = fb::ColumnBuilder::new(&mut fbb);
        col.add_name(name);
        col.add_type_oid(23);
        let col = col.finish();
        fbb.finish_minimal(col);
        let bytes = fbb.finished_data();
        let back = flatbuffers::root::<fb::Column>(bytes).unwrap();
        assert_eq!(back.generated_expr(), None);
        // And a table whose columns have none round-trips with none.
        let mut def = table_def();
        def.columns.iter_mut().for_each(|c| c.generated = None);
        let body = Encoder::new().table_create(1, &def).to_vec();
        let Ok(Record::TableCreate { def: back, .. }) = decode(Kind::TableCreate, &body) else { panic!() };
        assert!(back.columns.iter().all(|c| c.generated.is_none()));
    }

    #[test]
    fn bodies_round_trip() {
        let mut enc = Encoder::new();
        for r in records() {
            let body = enc.encode(&r).to_vec();
            let back = decode(r.kind(), &body).unwrap();
            assert_eq!(back, r);
        }
    }

    #[test]
    fn framed_records_round_trip() {
        let mut enc = Encoder::new();
        let mut buf = Vec::new();
        let recs = records();
        for (i, r) in recs.iter().enumerate() {
            let body = enc.encode(r).to_vec();
            super::super::frame::encode(&mut buf, r.kind(), 1 + i as u64, &body);
        }
        let mut back = Vec::new();
        let end = super::super::frame::scan(&buf, Some(1), |f| {
            back.push(decode(f.kind, f.body)?);
            Ok::<_, Error>(())
        })
        .unwrap();
        assert_eq!(end.offset(), buf.len());
        assert_eq!(back, recs);
    }

    #[test]
    fn garbage_bodies_are_errors_not_panics() {
        let kinds = [
            Kind::RedisCommand,
            Kind::RedisPut,
            Kind::RedisDelete,
            Kind::LogHeader,
            Kind::SnapshotBegin,
            Kind::SnapshotEnd,
            Kind::TableCreate,
            Kind::TableDrop,
            Kind::RowPut,
            Kind::RowDelete,
            Kind::TableSwap,
            Kind::TxnPrepare,
            Kind::TxnCommit,
            Kind::TxnResolve,
            Kind::TableRename,
        ];
        let mut enc = Encoder::new();
        let recs = records();
        let goods = [
            enc.encode(&recs[6]).to_vec(),
            enc.encode(&recs[11]).to_vec(),
            enc.encode(&recs[13]).to_vec(),
            enc.encode(&recs[17]).to_vec(),
        ];
        for (k, good) in kinds.into_iter().flat_map(|k| goods.iter().map(move |g| (k, g))) {
            for n in 0..good.len() {
                let _ = decode(k, &good[..n]);
                let mut g = good.clone();
                g[n] ^= 0xFF;
                let _ = decode(k, &g);
            }
        }
    }
}
