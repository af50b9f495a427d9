//! SQL values and their types: the PostgreSQL types this slice supports, with the type OIDs,
//! sizes and names PostgreSQL reports (`pg_type`).

use super::array::{ArrayType, ArrayValue};

/// A SQL type. `Unknown` is the type of an untyped literal or parameter before it is resolved
/// (PostgreSQL's `unknown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Text,
    /// `varchar(n)`; `None` is unbounded `varchar`.
    Varchar(Option<u32>),
    /// `character(n)` (`bpchar`): blank-padded to `n`; `None` is unbounded `bpchar`.
    Bpchar(Option<u32>),
    Bytea,
    /// `name` (OID 19): the catalogs' identifier type. Its values are `Datum::Text` of at most
    /// [`NAME_MAX_BYTES`] bytes (input longer is cut at a character boundary, as PostgreSQL's
    /// `namein` cuts it); it compares, sorts and prints as text (C collation, as in PostgreSQL).
    Name,
    /// `timestamp(p) [without time zone]`: `p` fractional digits of seconds kept (0 to 6);
    /// `None` is plain `timestamp` (all six). The precision is the typmod: it never changes
    /// the type's identity (OID, operators, functions, wire formats), only what a value
    /// written into a column of the type is rounded to.
    Timestamp(Option<u8>),
    /// `timestamp(p) with time zone` (`timestamptz`), the precision as for `Timestamp`.
    TimestampTz(Option<u8>),
    Date,
    /// `time(p) [without time zone]`, the precision as for `Timestamp`.
    Time(Option<u8>),
    /// `time(p) with time zone` (`timetz`), the precision as for `Timestamp`.
    TimeTz(Option<u8>),
    /// `interval(p)`, the precision as for `Timestamp` (field restrictions such as `interval
    /// year` are not kept: the binder refuses them).
    Interval(Option<u8>),
    Uuid,
    Json,
    Jsonb,
    /// `jsonpath` (OID 4072): an SQL/JSON path; its values are `Datum::Text` holding the path as
    /// PostgreSQL prints it (the query engine reads and evaluates it).
    JsonPath,
    Unknown,
    /// `numeric(precision, scale)`; `None` is unconstrained `numeric`.
    Numeric(Option<(u16, i16)>),
    /// An array of a scalar type (any number of dimensions, as in PostgreSQL).
    Array(ArrayType),
    /// PostgreSQL's one-byte internal `"char"` (the catalogs' `relkind`, `contype`, ...). Its
    /// values are `Datum::Text` in their text form: empty for the zero byte, the character for
    /// 1 to 127, `\ooo` (octal) for 128 to 255, as PostgreSQL 15 prints them.
    Char,
    /// `oid` or one of its alias types (`regclass`, `regtype`, ...): an object identifier.
    Oid(OidKind),
    /// The pseudo-type `void`: only a function's result (pg_sleep), never a column's. Its value
    /// is an empty `Datum::Text`: empty in text form, zero bytes in binary form.
    Void,
    /// A user-defined enum type (CREATE TYPE ... AS ENUM), by its type OID (at least
    /// [`FIRST_USER_OID`], below [`ENUM_ARRAY_BIT`]); its labels live in the query engine's
    /// catalog (`orbit_query::enums`).
    Enum(u32),
    /// A user-defined composite type (CREATE TYPE ... AS (fields)), by its type OID; its
    /// fields live in the query engine's catalog (`orbit_query::composites`).
    Composite(u32),
}

/// The most bytes a `name` holds (PostgreSQL's NAMEDATALEN - 1).
pub const NAME_MAX_BYTES: usize = 63;

/// An interval typmod's range for "all fields" (PostgreSQL's INTERVAL_FULL_RANGE).
pub const INTERVAL_FULL_RANGE: i32 = 0x7fff;

/// The first OID of user-defined objects (PostgreSQL's FirstNormalObjectId).
pub const FIRST_USER_OID: u32 = 16384;

/// The bit that makes an enum type's OID its array type's OID (`mood[]` is `oid(mood) |
/// ENUM_ARRAY_BIT`): catalog generations, which give user OIDs, never come near it.
pub const ENUM_ARRAY_BIT: u32 = 0x8000_0000;

/// The bit every composite type's OID has (its catalog entry's relation OID with this bit
/// set): a column's type, stored as an OID, then says which kind of user type it is.
pub const COMPOSITE_BIT: u32 = 0x4000_0000;

/// The bit, beside [`COMPOSITE_BIT`], of the OIDs of record types no catalog entry holds: an
/// anonymous record's (`ROW(1, 'a')`) and a table's row type (`SELECT t FROM t`). The query
/// engine interns each such shape once per process (`orbit_query::composites::shape`); its
/// OID is never stored in a catalog, and on the wire it is `record` (2249).
pub const RECORD_BIT: u32 = 0x2000_0000;

/// PostgreSQL's pseudo-type `record`.
pub const RECORD_OID: u32 = 2249;

/// `record` of no known fields: what a stored type that was a record shape reads back as (a
/// view's column of `ROW(...)`, whose definition the log keeps with the type `record`, 2249;
/// the view's query, bound again, gives its values their shapes).
pub const GENERIC_RECORD: u32 = COMPOSITE_BIT | RECORD_BIT | 0x1FFF_FFFF;

/// The name of composite type `oid` as `format_type` prints it, set by the query engine;
/// before it is set, `record <oid>`.
pub static COMPOSITE_TYPE_NAME: std::sync::OnceLock<fn(u32) -> Option<String>> = std::sync::OnceLock::new();

/// The name of enum type `oid` as `format_type` prints it, set by the query engine (which keeps
/// the catalog of enum types); before it is set, `enum <oid>`.
pub static ENUM_TYPE_NAME: std::sync::OnceLock<fn(u32) -> Option<String>> = std::sync::OnceLock::new();

/// `oid` and the OID alias types: one unsigned 32-bit value each, told apart by how they are
/// read and printed (an alias type reads and prints the object's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OidKind {
    Oid,
    RegClass,
    RegType,
    RegNamespace,
    RegProc,
    /// `regprocedure`: a function with its argument types (`array_in(cstring,oid,integer)`).
    RegProcedure,
}

impl OidKind {
    /// The type's name (`pg_type.typname`, also what `format_type` prints).
    pub fn name(self) -> &'static str {
        match self {
            OidKind::Oid => "oid",
            OidKind::RegClass => "regclass",
            OidKind::RegType => "regtype",
            OidKind::RegNamespace => "regnamespace",
            OidKind::RegProc => "regproc",
            OidKind::RegProcedure => "regprocedure",
        }
    }

    /// The type's OID in `pg_type`.
    pub fn oid(self) -> u32 {
        match self {
            OidKind::Oid => 26,
            OidKind::RegClass => 2205,
            OidKind::RegType => 2206,
            OidKind::RegNamespace => 4089,
            OidKind::RegProc => 24,
            OidKind::RegProcedure => 2202,
        }
    }

    pub const ALL: [OidKind; 6] = [
        OidKind::Oid,
        OidKind::RegClass,
        OidKind::RegType,
        OidKind::RegNamespace,
        OidKind::RegProc,
        OidKind::RegProcedure,
    ];

    /// A small number for the log's cell form (stable: never renumber).
    pub fn tag(self) -> u8 {
        match self {
            OidKind::Oid => 0,
            OidKind::RegClass => 1,
            OidKind::RegType => 2,
            OidKind::RegNamespace => 3,
            OidKind::RegProc => 4,
            OidKind::RegProcedure => 5,
        }
    }

    pub fn from_tag(t: u8) -> Option<OidKind> {
        OidKind::ALL.into_iter().find(|k| k.tag() == t)
    }
}

impl SqlType {
    /// Unconstrained `numeric` (the type of decimal literals and numeric results).
    pub const NUMERIC: SqlType = SqlType::Numeric(None);
    /// `timestamp` without a precision (as every computed timestamp is).
    pub const TIMESTAMP: SqlType = SqlType::Timestamp(None);
    /// `timestamptz` without a precision.
    pub const TIMESTAMPTZ: SqlType = SqlType::TimestampTz(None);
    /// `time` without a precision.
    pub const TIME: SqlType = SqlType::Time(None);
    /// `timetz` without a precision.
    pub const TIMETZ: SqlType = SqlType::TimeTz(None);
    /// `interval` without a precision.
    pub const INTERVAL: SqlType = SqlType::Interval(None);

    /// Whether this is a record type no catalog entry holds ([`RECORD_BIT`]): one that may
    /// not be a column's.
    pub fn is_transient_record(self) -> bool {
        matches!(self, SqlType::Composite(oid) if oid & RECORD_BIT != 0)
    }

    /// Whether this is `numeric`, with or without a precision and scale.
    pub fn is_decimal(self) -> bool {
        matches!(self, SqlType::Numeric(_))
    }

    /// The type's OID in PostgreSQL's `pg_type`.
    pub fn oid(self) -> u32 {
        match self {
            SqlType::Bool => 16,
            SqlType::Bytea => 17,
            SqlType::Char => 18,
            SqlType::Name => 19,
            SqlType::Int8 => 20,
            SqlType::Int2 => 21,
            SqlType::Int4 => 23,
            SqlType::Text => 25,
            SqlType::Float4 => 700,
            SqlType::Float8 => 701,
            SqlType::Unknown => 705,
            SqlType::Bpchar(_) => 1042,
            SqlType::Varchar(_) => 1043,
            SqlType::Numeric(_) => 1700,
            SqlType::Json => 114,
            SqlType::Date => 1082,
            SqlType::Time(_) => 1083,
            SqlType::TimeTz(_) => 1266,
            SqlType::Timestamp(_) => 1114,
            SqlType::TimestampTz(_) => 1184,
            SqlType::Interval(_) => 1186,
            SqlType::Uuid => 2950,
            SqlType::Jsonb => 3802,
            SqlType::JsonPath => 4072,
            SqlType::Array(a) => a.oid(),
            SqlType::Oid(k) => k.oid(),
            SqlType::Void => 2278,
            SqlType::Composite(oid) if oid & RECORD_BIT != 0 => RECORD_OID,
            SqlType::Enum(oid) | SqlType::Composite(oid) => oid,
        }
    }

    /// The array type whose elements are of this type (None where there is none).
    pub fn array_of(self) -> Option<SqlType> {
        ArrayType::of(self).map(SqlType::Array)
    }

    /// The element type of an array type.
    pub fn elem(self) -> Option<SqlType> {
        match self {
            SqlType::Array(a) => Some(a.elem()),
            _ => None,
        }
    }

    /// The type with typmod `m` (`atttypmod`, as [`SqlType::modifier`] gives it): lengths of
    /// varchar and character, precision and scale of numeric, an array's element typmod.
    pub fn with_modifier(self, m: i32) -> SqlType {
        match self {
            SqlType::Varchar(_) if m >= 4 => SqlType::Varchar(Some((m - 4) as u32)),
            SqlType::Bpchar(_) if m >= 4 => SqlType::Bpchar(Some((m - 4) as u32)),
            // ((precision << 16) | (scale & 0x7ff)) + 4, the scale an 11-bit two's complement.
            SqlType::Numeric(_) if m >= 4 => {
                let m = m - 4;
                let scale = ((m & 0x7ff) << 21) >> 21;
                SqlType::Numeric(Some(((m >> 16) as u16, scale as i16)))
            }
            // A column's precision is 0 to 6; format_type prints any other it is given (as
            // PostgreSQL's typmodout functions do), rounding takes it as 6.
            SqlType::Timestamp(_) if (0..=255).contains(&m) => SqlType::Timestamp(Some(m as u8)),
            SqlType::TimestampTz(_) if (0..=255).contains(&m) => SqlType::TimestampTz(Some(m as u8)),
            SqlType::Time(_) if (0..=255).contains(&m) => SqlType::Time(Some(m as u8)),
            SqlType::TimeTz(_) if (0..=255).contains(&m) => SqlType::TimeTz(Some(m as u8)),
            // INTERVAL_TYPMOD(precision, range): the range (fields) in the high 16 bits, all
            // fields (0x7fff) the only one kept; the precision in the low 16, 0xffff for none.
            SqlType::Interval(_) if m >= 0 && m >> 16 == INTERVAL_FULL_RANGE && (0..=255).contains(&(m & 0xffff)) => {
                SqlType::Interval(Some((m & 0xffff) as u8))
            }
            SqlType::Array(a) => SqlType::Array(a.with_typmod(m)),
            t => t,
        }
    }

    pub fn from_oid(oid: u32) -> Option<SqlType> {
        Some(match oid {
            16 => SqlType::Bool,
            17 => SqlType::Bytea,
            18 => SqlType::Char,
            19 => SqlType::Name,
            20 => SqlType::Int8,
            21 => SqlType::Int2,
            23 => SqlType::Int4,
            25 => SqlType::Text,
            700 => SqlType::Float4,
            701 => SqlType::Float8,
            705 => SqlType::Unknown,
            1042 => SqlType::Bpchar(None),
            1043 => SqlType::Varchar(None),
            1700 => SqlType::NUMERIC,
            114 => SqlType::Json,
            1082 => SqlType::Date,
            1083 => SqlType::TIME,
            1266 => SqlType::TIMETZ,
            1114 => SqlType::TIMESTAMP,
            1184 => SqlType::TIMESTAMPTZ,
            1186 => SqlType::INTERVAL,
            2950 => SqlType::Uuid,
            3802 => SqlType::Jsonb,
            4072 => SqlType::JsonPath,
            26 => SqlType::Oid(OidKind::Oid),
            2205 => SqlType::Oid(OidKind::RegClass),
            2206 => SqlType::Oid(OidKind::RegType),
            4089 => SqlType::Oid(OidKind::RegNamespace),
            24 => SqlType::Oid(OidKind::RegProc),
            2202 => SqlType::Oid(OidKind::RegProcedure),
            2278 => SqlType::Void,
            RECORD_OID => SqlType::Composite(GENERIC_RECORD),
            super::array::RECORD_ARRAY_OID => return SqlType::Composite(GENERIC_RECORD).array_of(),
            // User-defined types: composite types by their bit, enums the other user OIDs below
            // the array bit.
            o if (COMPOSITE_BIT..ENUM_ARRAY_BIT).contains(&o) => SqlType::Composite(o),
            o if (FIRST_USER_OID..COMPOSITE_BIT).contains(&o) => SqlType::Enum(o),
            _ => {
                let elem = SqlType::from_oid(super::array::elem_oid(oid)?)?;
                return elem.array_of();
            }
        })
    }

    /// `pg_type.typlen`: bytes of a fixed-size type, -1 for variable length.
    pub fn size(self) -> i16 {
        match self {
            SqlType::Bool | SqlType::Char => 1,
            SqlType::Int2 => 2,
            SqlType::Int4 | SqlType::Float4 | SqlType::Date | SqlType::Oid(_) | SqlType::Enum(_) => 4,
            SqlType::Int8 | SqlType::Float8 | SqlType::Timestamp(_) | SqlType::TimestampTz(_) | SqlType::Time(_) => 8,
            SqlType::TimeTz(_) => 12,
            SqlType::Interval(_) | SqlType::Uuid => 16,
            SqlType::Name => 64,
            SqlType::Unknown => -2,
            _ => -1,
        }
    }

    /// `atttypmod`: `n + 4` for `varchar(n)` and `character(n)`, `(p << 16 | s & 0x7ff) + 4` for
    /// `numeric(p, s)`, `p` for `timestamp(p)`, `timestamptz(p)` and `time(p)`, `0x7fff << 16 |
    /// p` for `interval(p)`, else -1.
    pub fn modifier(self) -> i32 {
        match self {
            SqlType::Varchar(Some(n)) | SqlType::Bpchar(Some(n)) => n as i32 + 4,
            SqlType::Numeric(Some((p, s))) => ((p as i32) << 16 | (s as i32 & 0x7ff)) + 4,
            SqlType::Timestamp(Some(p))
            | SqlType::TimestampTz(Some(p))
            | SqlType::Time(Some(p))
            | SqlType::TimeTz(Some(p)) => p as i32,
            SqlType::Interval(Some(p)) => INTERVAL_FULL_RANGE << 16 | p as i32,
            SqlType::Array(a) => a.typmod(),
            _ => -1,
        }
    }

    /// The name PostgreSQL uses in messages (`format_type`).
    pub fn name(self) -> String {
        match self {
            SqlType::Bool => "boolean".into(),
            SqlType::Int2 => "smallint".into(),
            SqlType::Int4 => "integer".into(),
            SqlType::Int8 => "bigint".into(),
            SqlType::Float4 => "real".into(),
            SqlType::Float8 => "double precision".into(),
            SqlType::Text => "text".into(),
            SqlType::Varchar(None) => "character varying".into(),
            SqlType::Varchar(Some(n)) => format!("character varying({n})"),
            SqlType::Bpchar(None) => "character".into(),
            SqlType::Bpchar(Some(n)) => format!("character({n})"),
            SqlType::Bytea => "bytea".into(),
            SqlType::Char => "\"char\"".into(),
            SqlType::Name => "name".into(),
            SqlType::Timestamp(None) => "timestamp without time zone".into(),
            SqlType::Timestamp(Some(p)) => format!("timestamp({p}) without time zone"),
            SqlType::TimestampTz(None) => "timestamp with time zone".into(),
            SqlType::TimestampTz(Some(p)) => format!("timestamp({p}) with time zone"),
            SqlType::Date => "date".into(),
            SqlType::Time(None) => "time without time zone".into(),
            SqlType::Time(Some(p)) => format!("time({p}) without time zone"),
            SqlType::TimeTz(None) => "time with time zone".into(),
            SqlType::TimeTz(Some(p)) => format!("time({p}) with time zone"),
            SqlType::Interval(None) => "interval".into(),
            SqlType::Interval(Some(p)) => format!("interval({p})"),
            SqlType::Uuid => "uuid".into(),
            SqlType::Json => "json".into(),
            SqlType::Jsonb => "jsonb".into(),
            SqlType::JsonPath => "jsonpath".into(),
            SqlType::Unknown => "unknown".into(),
            SqlType::Numeric(None) => "numeric".into(),
            SqlType::Numeric(Some((p, s))) => format!("numeric({p},{s})"),
            SqlType::Array(a) if a.is_int2vector() => "int2vector".into(),
            SqlType::Array(a) => format!("{}[]", a.elem().name()),
            SqlType::Oid(k) => k.name().into(),
            SqlType::Void => "void".into(),
            SqlType::Enum(oid) => ENUM_TYPE_NAME.get().and_then(|f| f(oid)).unwrap_or_else(|| format!("enum {oid}")),
            SqlType::Composite(oid) => {
                COMPOSITE_TYPE_NAME.get().and_then(|f| f(oid)).unwrap_or_else(|| format!("record {oid}"))
            }
        }
    }

    pub fn is_integer(self) -> bool {
        matches!(self, SqlType::Int2 | SqlType::Int4 | SqlType::Int8)
    }

    pub fn is_float(self) -> bool {
        matches!(self, SqlType::Float4 | SqlType::Float8)
    }

    pub fn is_numeric(self) -> bool {
        self.is_integer() || self.is_float() || self.is_decimal()
    }

    /// `date`, `timestamp` and `timestamptz`: the types PostgreSQL compares with each other.
    pub fn is_datetime(self) -> bool {
        matches!(self, SqlType::Date | SqlType::Timestamp(_) | SqlType::TimestampTz(_))
    }

    /// The fractional-second precision of `timestamp(p)`, `timestamptz(p)`, `time(p)` and
    /// `interval(p)` (None: the type has none, or is another type).
    pub fn precision(self) -> Option<u8> {
        match self {
            SqlType::Timestamp(p)
            | SqlType::TimestampTz(p)
            | SqlType::Time(p)
            | SqlType::TimeTz(p)
            | SqlType::Interval(p) => p,
            _ => None,
        }
    }

    /// The type without its typmod (`timestamp(3)` is `timestamp`, `varchar(10)` is
    /// `varchar`, `numeric(5,2)` is `numeric`; an array's element loses its typmod): the type
    /// an expression computed from a value of this type has in PostgreSQL.
    pub fn base(self) -> SqlType {
        match self {
            SqlType::Timestamp(_) => SqlType::TIMESTAMP,
            SqlType::TimestampTz(_) => SqlType::TIMESTAMPTZ,
            SqlType::Time(_) => SqlType::TIME,
            SqlType::TimeTz(_) => SqlType::TIMETZ,
            SqlType::Interval(_) => SqlType::INTERVAL,
            SqlType::Varchar(_) => SqlType::Varchar(None),
            SqlType::Bpchar(_) => SqlType::Bpchar(None),
            SqlType::Numeric(_) => SqlType::NUMERIC,
            SqlType::Array(a) => SqlType::Array(a.with_typmod(-1)),
            t => t,
        }
    }

    /// Whether `self` and `other` are the same type apart from their typmods (PostgreSQL
    /// compares type OIDs where it picks operators and functions).
    pub fn same_base(self, other: SqlType) -> bool {
        self.base() == other.base()
    }

    /// Whether equal values of the two types are equal keys (encode alike): the same type, or
    /// one date/time type with two precisions (a precision only rounds what is written; not so
    /// a numeric's scale or char(n)'s padding, which show in the stored value).
    pub fn same_key_type(self, other: SqlType) -> bool {
        self == other
            || (matches!(
                self,
                SqlType::Timestamp(_)
                    | SqlType::TimestampTz(_)
                    | SqlType::Time(_)
                    | SqlType::TimeTz(_)
                    | SqlType::Interval(_)
            ) && self.same_base(other))
    }

    pub fn is_string(self) -> bool {
        matches!(self, SqlType::Text | SqlType::Varchar(_) | SqlType::Bpchar(_) | SqlType::Name)
    }
}

/// A SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Datum {
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Float4(f32),
    Float8(f64),
    Text(String),
    /// A `character(n)` value as stored: padded with spaces to `n`. Trailing spaces do not
    /// count when it is compared, measured or cast to text.
    Bpchar(String),
    Bytea(Vec<u8>),
    /// Microseconds since 2000-01-01 00:00; i64::MIN and i64::MAX are -infinity and infinity.
    Timestamp(i64),
    /// The same count for an instant in UTC.
    TimestampTz(i64),
    /// Days since 2000-01-01; i32::MIN and i32::MAX are -infinity and infinity.
    Date(i32),
    /// Microseconds since midnight (0 to 24:00:00 inclusive).
    Time(i64),
    /// A `timetz`: microseconds since midnight (as `Time`) and the zone's offset in seconds
    /// east of UTC (PostgreSQL keeps seconds west; the wire form is converted).
    TimeTz(i64, i32),
    Interval(Interval),
    Uuid([u8; 16]),
    /// A `json` value: the text as written (checked to be JSON).
    Json(String),
    /// A `jsonb` value: the normalized text PostgreSQL prints for it.
    Jsonb(String),
    /// A `numeric` value: its text as PostgreSQL prints it (`1.50`, `NaN`, `-Infinity`); the
    /// query engine computes with it (orbit_query::numeric).
    Numeric(String),
    /// An array (boxed: arrays are rare next to scalars, and this keeps `Datum` small).
    Array(Box<ArrayValue>),
    /// An `oid` or OID alias value.
    Oid(OidKind, u32),
    /// A value of enum type `.0`: its label's sort position (`pg_enum.enumsortorder`), which
    /// orders it (values compare, sort, group and key by it alone, with no catalog look-up);
    /// the label is looked up by position only to print it. Positions never change once given
    /// (ADD VALUE puts a new one between two others, RENAME VALUE keeps it), so stored values
    /// and index keys stay valid.
    Enum(u32, f32),
    /// A value of a composite type: its fields' values, in the type's order.
    Record(Box<Vec<Datum>>),
}

/// A PostgreSQL interval: months, days and microseconds are kept apart, because a month has
/// no fixed number of days and a day no fixed number of hours across time zone changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

impl Datum {
    /// About how many bytes the value takes in memory, its own slot included (for the bounds
    /// on what one transaction may hold).
    pub fn memory(&self) -> usize {
        std::mem::size_of::<Datum>()
            + match self {
                Datum::Text(s) | Datum::Bpchar(s) | Datum::Json(s) | Datum::Jsonb(s) | Datum::Numeric(s) => {
                    s.capacity()
                }
                Datum::Bytea(b) => b.capacity(),
                Datum::Array(a) => {
                    std::mem::size_of::<super::ArrayValue>()
                        + a.dims.len() * std::mem::size_of::<super::ArrayDim>()
                        + a.items.iter().map(Datum::memory).sum::<usize>()
                }
                Datum::Record(fields) => fields.iter().map(Datum::memory).sum::<usize>(),
                _ => 0,
            }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    /// The value of an integer datum, widened.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Datum::Int2(v) => Some(v as i64),
            Datum::Int4(v) => Some(v as i64),
            Datum::Int8(v) => Some(v),
            Datum::Oid(_, v) => Some(v as i64),
            _ => None,
        }
    }

    /// The value of a numeric datum as a double.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Datum::Float4(v) => Some(v as f64),
            Datum::Float8(v) => Some(v),
            Datum::Numeric(ref s) => s.parse().ok(),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// The text of a json or jsonb value.
    pub fn as_json(&self) -> Option<&str> {
        match self {
            Datum::Json(s) | Datum::Jsonb(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Datum::Text(s) | Datum::Bpchar(s) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precisions_are_typmods_and_keep_the_type() {
        let cases = [
            (SqlType::Timestamp(Some(3)), 3, "timestamp(3) without time zone"),
            (SqlType::TimestampTz(Some(0)), 0, "timestamp(0) with time zone"),
            (SqlType::Time(Some(6)), 6, "time(6) without time zone"),
            (SqlType::Interval(Some(1)), 2_147_418_113, "interval(1)"),
            (SqlType::TIMESTAMP, -1, "timestamp without time zone"),
            (SqlType::INTERVAL, -1, "interval"),
        ];
        for (t, m, name) in cases {
            assert_eq!(t.modifier(), m, "{name}");
            assert_eq!(t.name(), name);
            assert_eq!(SqlType::from_oid(t.oid()).map(|b| b.with_modifier(m)), Some(t), "{name}");
            assert_eq!(t.oid(), t.base().oid());
            assert!(t.same_base(t.base()));
        }
        // A typmod no precision has (an interval's field restriction) reads as none.
        assert_eq!(SqlType::INTERVAL.with_modifier(2 << 16 | 3), SqlType::INTERVAL);
        assert_eq!(SqlType::TIMESTAMP.with_modifier(-1), SqlType::TIMESTAMP);
        // An array keeps its element's precision.
        let a = SqlType::Timestamp(Some(2)).array_of().expect("array");
        assert_eq!(a.modifier(), 2);
        assert_eq!(a.elem(), Some(SqlType::Timestamp(Some(2))));
        assert_eq!(a.name(), "timestamp(2) without time zone[]");
    }
}
