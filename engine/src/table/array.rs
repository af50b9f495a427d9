//! SQL arrays: the array type of a scalar element type ([`ArrayType`], PostgreSQL's `_int4`
//! and friends, with their OIDs) and array values ([`ArrayValue`]: dimensions with lower
//! bounds, elements in row-major order, NULL elements allowed), plus the byte form a table
//! cell keeps an array in (log records and snapshots).
//!
//! Cell bytes: element type OID (u32), element typmod (i32), dimension count (u8), per
//! dimension its length (u32) and lower bound (i32), then per element a flag byte (0 NULL,
//! 1 value) and the value: integers, dates, times and timestamps as i64 (a timetz's
//! offset after its time as i32), floats as f64 bits,
//! bool as one byte, interval as months, days (i32) and microseconds (i64), uuid as 16 bytes,
//! everything else as a u32 length and its bytes (text, json, numeric text, bytea). All
//! big-endian; a record (a composite type's element) as its field count (u32) and then its
//! fields as a record cell holds them, with a length.

use super::{Datum, Interval, SqlType};

/// PostgreSQL's limit on dimensions (MAXDIM).
pub const MAX_DIMS: usize = 6;

/// An array type: its element type, kept as the element's OID and typmod so the type stays
/// `Copy` (a `varchar(10)[]` column keeps its element length, as `atttypmod` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayType {
    elem_oid: u32,
    typmod: i32,
}

/// (element OID, array OID) for every element type with an array type here.
const ARRAY_OIDS: [(u32, u32); 29] = [
    (16, 1000),   // bool
    (17, 1001),   // bytea
    (18, 1002),   // "char"
    (19, 1003),   // name
    (20, 1016),   // int8
    (21, 1005),   // int2
    (23, 1007),   // int4
    (25, 1009),   // text
    (700, 1021),  // float4
    (701, 1022),  // float8
    (1042, 1014), // bpchar
    (1043, 1015), // varchar
    (1700, 1231), // numeric
    (114, 199),   // json
    (1082, 1182), // date
    (1083, 1183), // time
    (1266, 1270), // timetz
    (1114, 1115), // timestamp
    (1184, 1185), // timestamptz
    (1186, 1187), // interval
    (2950, 2951), // uuid
    (3802, 3807), // jsonb
    (4072, 4073), // jsonpath
    (26, 1028),   // oid
    (2205, 2210), // regclass
    (2206, 2211), // regtype
    (4089, 4090), // regnamespace
    (24, 1008),   // regproc
    (2202, 2207), // regprocedure
];

impl ArrayType {
    /// The array type of `elem` (None for `unknown` and for arrays: an array of arrays is a
    /// multi-dimensional array of the same type).
    /// Arrays of a composite type's records are stored like any array; arrays of anonymous
    /// records (`ARRAY[ROW(1, 2)]`) and tables' rows are values a statement computes only (the
    /// query engine lets no column be of such a type).
    pub fn of(elem: SqlType) -> Option<ArrayType> {
        if matches!(elem, SqlType::Array(_) | SqlType::Unknown) {
            return None;
        }
        // A record type by its own OID (its shape), not `record`'s.
        let elem_oid = if let SqlType::Composite(oid) = elem { oid } else { elem.oid() };
        Some(ArrayType { elem_oid, typmod: elem.modifier() })
    }

    /// The array type of the element type with OID `elem_oid`, without a typmod (a constant's
    /// form of [`ArrayType::of`]; the OID must be one of an element type with an array type).
    pub const fn of_oid(elem_oid: u32) -> ArrayType {
        ArrayType { elem_oid, typmod: -1 }
    }

    /// PostgreSQL's int2vector (pg_index.indkey, indoption): an int2 array subscripted from 0
    /// that clients see as type 22 and read as text (`1 2`), which its values print as
    /// (`crate::table` arrays of int2 from 0 print so). Marked by an element typmod no type has.
    pub const fn int2vector() -> ArrayType {
        ArrayType { elem_oid: 21, typmod: INT2VECTOR_MARK }
    }

    /// Whether this is [`ArrayType::int2vector`].
    pub fn is_int2vector(self) -> bool {
        self.elem_oid == 21 && self.typmod == INT2VECTOR_MARK
    }

    /// The element type.
    pub fn elem(self) -> SqlType {
        SqlType::from_oid(self.elem_oid).unwrap_or(SqlType::Text).with_modifier(self.typmod)
    }

    /// The array type's OID (`pg_type.typarray` of the element; 22 for int2vector).
    pub fn oid(self) -> u32 {
        if self.is_int2vector() {
            return 22;
        }
        // An anonymous record's or a table row's array: `record[]` (`_record`).
        if self.elem_oid & super::datum::RECORD_BIT != 0 && self.elem_oid & super::datum::COMPOSITE_BIT != 0 {
            return RECORD_ARRAY_OID;
        }
        array_oid(self.elem_oid).unwrap_or(0)
    }

    /// The same array type with the element typmod `m` (as a column's `atttypmod` gives it).
    pub fn with_typmod(self, m: i32) -> ArrayType {
        ArrayType { typmod: m, ..self }
    }

    pub fn typmod(self) -> i32 {
        if self.is_int2vector() {
            return -1;
        }
        self.typmod
    }
}

/// PostgreSQL's `record[]` (`_record`).
pub const RECORD_ARRAY_OID: u32 = 2287;

/// [`ArrayType::int2vector`]'s element typmod.
const INT2VECTOR_MARK: i32 = -22;

/// The array type OID of an element type OID.
pub fn array_oid(elem_oid: u32) -> Option<u32> {
    if (super::datum::FIRST_USER_OID..super::datum::ENUM_ARRAY_BIT).contains(&elem_oid) {
        return Some(elem_oid | super::datum::ENUM_ARRAY_BIT);
    }
    ARRAY_OIDS.iter().find(|(e, _)| *e == elem_oid).map(|(_, a)| *a)
}

/// The element type OID of an array type OID.
pub fn elem_oid(array_oid: u32) -> Option<u32> {
    let user = array_oid & !super::datum::ENUM_ARRAY_BIT;
    if array_oid & super::datum::ENUM_ARRAY_BIT != 0 && user >= super::datum::FIRST_USER_OID {
        return Some(user);
    }
    ARRAY_OIDS.iter().find(|(_, a)| *a == array_oid).map(|(e, _)| *e)
}

/// One dimension of an array: its length and lower bound (1 unless written otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArrayDim {
    pub len: u32,
    pub lower: i32,
}

/// An array value. An empty array has no dimensions; otherwise `items` holds the product of
/// the dimension lengths, in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayValue {
    pub elem: SqlType,
    pub dims: Vec<ArrayDim>,
    pub items: Vec<Datum>,
}

impl ArrayValue {
    /// A one-dimensional array from 1 (empty when `items` is).
    pub fn from_items(elem: SqlType, items: Vec<Datum>) -> ArrayValue {
        let dims = if items.is_empty() { vec![] } else { vec![ArrayDim { len: items.len() as u32, lower: 1 }] };
        ArrayValue { elem, dims, items }
    }

    pub fn empty(elem: SqlType) -> ArrayValue {
        ArrayValue { elem, dims: vec![], items: vec![] }
    }

    /// Whether the dimensions account for exactly the elements there are.
    pub fn is_consistent(&self) -> bool {
        let n = self.dims.iter().try_fold(1u64, |acc, d| acc.checked_mul(d.len as u64));
        self.dims.len() <= MAX_DIMS
            && match n {
                Some(n) if self.dims.is_empty() => self.items.is_empty() && n == 1,
                Some(n) => n == self.items.len() as u64 && n > 0,
                None => false,
            }
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

/// The cell bytes of an array (see the module doc).
pub fn encode_cell(a: &ArrayValue, out: &mut Vec<u8>) {
    let t = ArrayType::of(a.elem).unwrap_or(ArrayType { elem_oid: 25, typmod: -1 });
    out.extend_from_slice(&t.elem_oid.to_be_bytes());
    out.extend_from_slice(&t.typmod.to_be_bytes());
    out.push(a.dims.len() as u8);
    for d in &a.dims {
        out.extend_from_slice(&d.len.to_be_bytes());
        out.extend_from_slice(&d.lower.to_be_bytes());
    }
    for d in &a.items {
        if d.is_null() {
            out.push(0);
            continue;
        }
        out.push(1);
        match d {
            Datum::Bool(b) => out.push(*b as u8),
            Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_) => {
                out.extend_from_slice(&d.as_i64().unwrap_or_default().to_be_bytes())
            }
            Datum::Date(v) => out.extend_from_slice(&(*v as i64).to_be_bytes()),
            Datum::Oid(_, v) => out.extend_from_slice(&(*v as i64).to_be_bytes()),
            Datum::Timestamp(v) | Datum::TimestampTz(v) | Datum::Time(v) => out.extend_from_slice(&v.to_be_bytes()),
            Datum::TimeTz(t, east) => {
                out.extend_from_slice(&t.to_be_bytes());
                out.extend_from_slice(&east.to_be_bytes());
            }
            Datum::Float4(v) => out.extend_from_slice(&(*v as f64).to_bits().to_be_bytes()),
            Datum::Float8(v) => out.extend_from_slice(&v.to_bits().to_be_bytes()),
            Datum::Interval(iv) => {
                out.extend_from_slice(&iv.months.to_be_bytes());
                out.extend_from_slice(&iv.days.to_be_bytes());
                out.extend_from_slice(&iv.micros.to_be_bytes());
            }
            Datum::Uuid(u) => out.extend_from_slice(u),
            // An enum element: its sort position (the type is the array's element type).
            Datum::Enum(_, pos) => out.extend_from_slice(&pos.to_bits().to_be_bytes()),
            Datum::Text(s) | Datum::Bpchar(s) | Datum::Json(s) | Datum::Jsonb(s) | Datum::Numeric(s) => {
                put_bytes(out, s.as_bytes())
            }
            Datum::Bytea(b) => put_bytes(out, b),
            // A record (an element of a composite type's array): its field count, then its
            // fields as a record cell holds them (`log/record.rs`).
            Datum::Record(fields) => {
                out.extend_from_slice(&(fields.len() as u32).to_be_bytes());
                put_bytes(out, &crate::log::record::record_bytes(fields));
            }
            // Arrays hold no arrays (the binder flattens them into dimensions).
            Datum::Null | Datum::Array(_) => put_bytes(out, b""),
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Some(h)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes)
    }
    fn i32(&mut self) -> Option<i32> {
        self.take(4).and_then(|b| b.try_into().ok()).map(i32::from_be_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8).and_then(|b| b.try_into().ok()).map(i64::from_be_bytes)
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn text(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
}

/// Reads cell bytes written by [`encode_cell`]; None when they are not a well-formed array
/// (the caller reports the corrupt record).
pub fn decode_cell(b: &[u8]) -> Option<ArrayValue> {
    let mut r = Reader { b };
    let elem_oid = r.u32()?;
    let typmod = r.i32()?;
    let elem = SqlType::from_oid(elem_oid)?.with_modifier(typmod);
    array_oid(elem_oid)?;
    let ndims = r.u8()? as usize;
    if ndims > MAX_DIMS {
        return None;
    }
    let mut dims = Vec::with_capacity(ndims);
    for _ in 0..ndims {
        dims.push(ArrayDim { len: r.u32()?, lower: r.i32()? });
    }
    let n = dims.iter().try_fold(1u64, |acc, d| acc.checked_mul(d.len as u64))?;
    let n = if dims.is_empty() { 0 } else { n };
    // Every element takes at least its flag byte: a count beyond the bytes left is corrupt.
    if n > r.b.len() as u64 {
        return None;
    }
    let mut items = Vec::with_capacity(n as usize);
    for _ in 0..n {
        if r.u8()? == 0 {
            items.push(Datum::Null);
            continue;
        }
        items.push(match elem {
            SqlType::Bool => Datum::Bool(r.u8()? != 0),
            SqlType::Int2 => Datum::Int2(i16::try_from(r.i64()?).ok()?),
            SqlType::Int4 => Datum::Int4(i32::try_from(r.i64()?).ok()?),
            SqlType::Int8 => Datum::Int8(r.i64()?),
            SqlType::Date => Datum::Date(i32::try_from(r.i64()?).ok()?),
            SqlType::Oid(k) => Datum::Oid(k, u32::try_from(r.i64()?).ok()?),
            SqlType::Timestamp(_) => Datum::Timestamp(r.i64()?),
            SqlType::TimestampTz(_) => Datum::TimestampTz(r.i64()?),
            SqlType::Time(_) => Datum::Time(r.i64()?),
            SqlType::TimeTz(_) => Datum::TimeTz(r.i64()?, r.i32()?),
            SqlType::Float4 => Datum::Float4(f64::from_bits(r.i64()? as u64) as f32),
            SqlType::Float8 => Datum::Float8(f64::from_bits(r.i64()? as u64)),
            SqlType::Interval(_) => Datum::Interval(Interval { months: r.i32()?, days: r.i32()?, micros: r.i64()? }),
            SqlType::Uuid => Datum::Uuid(r.take(16)?.try_into().ok()?),
            SqlType::Bytea => Datum::Bytea(r.bytes()?.to_vec()),
            SqlType::Bpchar(_) => Datum::Bpchar(r.text()?),
            SqlType::Json => Datum::Json(r.text()?),
            SqlType::Jsonb => Datum::Jsonb(r.text()?),
            SqlType::Numeric(_) => Datum::Numeric(r.text()?),
            SqlType::Enum(oid) => Datum::Enum(oid, f32::from_bits(r.u32()?)),
            SqlType::Composite(_) => {
                let n = r.u32()?;
                crate::log::record::record_of(n as i64, r.bytes()?).ok()?
            }
            _ => Datum::Text(r.text()?),
        });
    }
    if !r.b.is_empty() {
        return None;
    }
    let a = ArrayValue { elem, dims, items };
    a.is_consistent().then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_back() {
        let vals = vec![
            ArrayValue::from_items(SqlType::Int4, vec![Datum::Int4(1), Datum::Null, Datum::Int4(-7)]),
            ArrayValue::empty(SqlType::Text),
            ArrayValue {
                elem: SqlType::Varchar(Some(5)),
                dims: vec![ArrayDim { len: 2, lower: 0 }, ArrayDim { len: 1, lower: 1 }],
                items: vec![Datum::Text("a,b".into()), Datum::Text(String::new())],
            },
            ArrayValue::from_items(
                SqlType::INTERVAL,
                vec![Datum::Interval(Interval { months: 1, days: -2, micros: 3 })],
            ),
            ArrayValue::from_items(SqlType::Float8, vec![Datum::Float8(-0.5), Datum::Float8(f64::NAN)]),
            // A composite type's records, one nested, one NULL.
            ArrayValue::from_items(
                SqlType::Composite(super::super::COMPOSITE_BIT | 16400),
                vec![
                    Datum::Record(Box::new(vec![Datum::Int4(1), Datum::Text("a b".into())])),
                    Datum::Null,
                    Datum::Record(Box::new(vec![Datum::Null, Datum::Record(Box::new(vec![Datum::Bool(true)]))])),
                ],
            ),
        ];
        for v in vals {
            let mut b = Vec::new();
            encode_cell(&v, &mut b);
            let back = decode_cell(&b).expect("decodes");
            assert_eq!(format!("{back:?}"), format!("{v:?}"));
            // Any cut is refused, never a panic.
            for cut in 0..b.len() {
                assert!(decode_cell(&b[..cut]).is_none() || cut == b.len());
            }
        }
    }

    #[test]
    fn type_oids() {
        let t = ArrayType::of(SqlType::Varchar(Some(10))).expect("array type");
        assert_eq!(t.oid(), 1015);
        assert_eq!(t.elem(), SqlType::Varchar(Some(10)));
        assert_eq!(ArrayType::of(SqlType::Int4).map(ArrayType::oid), Some(1007));
        assert_eq!(elem_oid(1009), Some(25));
    }
}
