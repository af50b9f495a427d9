//! The batch (vectorized) path of a shard's scan: the columns a filter or an aggregate reads are
//! gathered from up to [`BATCH_ROWS`] rows into typed vectors (i64, f64, scaled i128 numerics,
//! bools, borrowed strings; a null bitmap each), and expressions run over whole vectors in
//! loops over the batch, a filter giving a selection vector (the positions whose value is true).
//!
//! Whether a statement takes this path is decided once, when its filter and aggregates are
//! compiled ([`Filter::compile`], [`Aggregation::compile`]): anything outside what is here
//! (other types, functions, CASE, subqueries, DISTINCT aggregates, ...) leaves the whole
//! statement to the row path ([`crate::expr::eval`]). Results are the row path's: the same
//! three-valued logic, the same short-circuits (`a AND b` computes `b` only where `a` is not
//! false, so an error there is raised only where the row path raises it), the same errors and
//! numeric scales. A numeric that does not fit [`Small`] (more than 36 digits, NaN, infinity)
//! or an i128 overflow turns that batch's vector into datums computed by the row path's
//! functions ([`Data::Datums`]): slower, same answers.

use crate::bind::SelectPlan;
use crate::error::{code, Result, SqlError};
use crate::expr::{self, AggFunc, AggSpec, AggState, ArithOp, CmpOp, Expr};
use crate::numeric::{Small, Sum};
use crate::types;
use orbit_engine::table::{Datum, SqlType};
use std::cmp::Ordering;
use std::collections::HashMap;

/// Rows per batch: small enough that a batch's vectors stay in the CPU caches.
pub const BATCH_ROWS: usize = 1024;

/// Which rows of a vector are NULL: one bit per row; empty when none is.
#[derive(Debug, Clone, Default)]
struct Nulls(Vec<u64>);

impl Nulls {
    fn get(&self, i: usize) -> bool {
        self.0.get(i >> 6).is_some_and(|w| (w >> (i & 63)) & 1 == 1)
    }

    fn set(&mut self, i: usize, len: usize) {
        if self.0.is_empty() {
            self.0 = vec![0; len.div_ceil(64)];
        }
        self.0[i >> 6] |= 1 << (i & 63);
    }

    fn any(&self) -> bool {
        self.0.iter().any(|w| *w != 0)
    }

    /// NULL where either is.
    fn or(&self, o: &Nulls) -> Nulls {
        match (self.0.is_empty(), o.0.is_empty()) {
            (true, _) => o.clone(),
            (_, true) => self.clone(),
            _ => Nulls(self.0.iter().zip(&o.0).map(|(a, b)| a | b).collect()),
        }
    }
}

/// A vector's values. Slots of NULL rows hold a placeholder (0, false, "").
#[derive(Debug, Clone)]
enum Data<'a> {
    /// int2/int4/int8, date (days), time, timestamp and timestamptz (microseconds).
    Int(Vec<i64>),
    /// float4 (exactly) and float8.
    Float(Vec<f64>),
    /// numerics as `v / 10^s`.
    Num(Vec<i128>, Vec<u32>),
    Bool(Vec<bool>),
    /// text, varchar and character(n) (as stored: padded).
    Text(Vec<&'a str>),
    /// numerics outside [`Small`]: the row path's values.
    Datums(Vec<Datum>),
}

/// One expression's values over a batch, of SQL type `ty`.
#[derive(Debug, Clone)]
struct Vector<'a> {
    ty: SqlType,
    data: Data<'a>,
    nulls: Nulls,
}

/// How the batch path holds a type's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Num,
    Bool,
    Text,
}

fn kind(ty: SqlType) -> Option<Kind> {
    Some(match ty {
        SqlType::Int2
        | SqlType::Int4
        | SqlType::Int8
        | SqlType::Date
        | SqlType::Time(_)
        | SqlType::Timestamp(_)
        | SqlType::TimestampTz(_) => Kind::Int,
        SqlType::Float4 | SqlType::Float8 => Kind::Float,
        SqlType::Numeric(_) => Kind::Num,
        SqlType::Bool => Kind::Bool,
        SqlType::Text | SqlType::Varchar(_) | SqlType::Bpchar(_) => Kind::Text,
        _ => return None,
    })
}

/// The integer a datum of type `ty` holds, as [`Data::Int`] keeps it.
fn int_of(d: &Datum, ty: SqlType) -> Option<i64> {
    match (d, ty) {
        (Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_), SqlType::Int2 | SqlType::Int4 | SqlType::Int8) => d.as_i64(),
        (Datum::Date(v), SqlType::Date) => Some(*v as i64),
        (Datum::Time(v), SqlType::Time(_)) => Some(*v),
        (Datum::Timestamp(v), SqlType::Timestamp(_)) | (Datum::TimestampTz(v), SqlType::TimestampTz(_)) => Some(*v),
        _ => None,
    }
}

fn text_of(d: &Datum, ty: SqlType) -> Option<&str> {
    match (d, ty) {
        (Datum::Text(s), SqlType::Text | SqlType::Varchar(_)) | (Datum::Bpchar(s), SqlType::Bpchar(_)) => Some(s),
        _ => None,
    }
}

/// Whether a constant datum fits type `ty` as the batch path reads it.
fn fits(d: &Datum, ty: SqlType) -> bool {
    d.is_null()
        || match kind(ty) {
            Some(Kind::Int) => int_of(d, ty).is_some(),
            Some(Kind::Float) => matches!(d, Datum::Float4(_) | Datum::Float8(_)),
            Some(Kind::Num) => matches!(d, Datum::Numeric(_)),
            Some(Kind::Bool) => matches!(d, Datum::Bool(_)),
            Some(Kind::Text) => text_of(d, ty).is_some(),
            None => false,
        }
}

impl<'a> Vector<'a> {
    /// A constant repeated `n` times (checked by [`fits`] when compiled).
    fn constant(d: &'a Datum, ty: SqlType, n: usize) -> Result<Vector<'a>> {
        let mut nulls = Nulls::default();
        if d.is_null() {
            for i in 0..n {
                nulls.set(i, n);
            }
        }
        let bad = || SqlError::internal(format!("batch constant {d:?} of type {ty:?}"));
        let data = match kind(ty).ok_or_else(bad)? {
            Kind::Int => Data::Int(vec![if d.is_null() { 0 } else { int_of(d, ty).ok_or_else(bad)? }; n]),
            Kind::Float => Data::Float(vec![d.as_f64().unwrap_or_default(); n]),
            Kind::Num => match d {
                Datum::Null => Data::Num(vec![0; n], vec![0; n]),
                Datum::Numeric(t) => match Small::parse(t) {
                    Some(x) => Data::Num(vec![x.v; n], vec![x.s; n]),
                    None => Data::Datums(vec![d.clone(); n]),
                },
                _ => return Err(bad()),
            },
            Kind::Bool => Data::Bool(vec![matches!(d, Datum::Bool(true)); n]),
            Kind::Text => Data::Text(vec![if d.is_null() { "" } else { text_of(d, ty).ok_or_else(bad)? }; n]),
        };
        Ok(Vector { ty, data, nulls })
    }

    fn len(&self) -> usize {
        match &self.data {
            Data::Int(v) => v.len(),
            Data::Float(v) => v.len(),
            Data::Num(v, _) => v.len(),
            Data::Bool(v) => v.len(),
            Data::Text(v) => v.len(),
            Data::Datums(v) => v.len(),
        }
    }

    /// The value at `i` as the row path has it.
    fn datum(&self, i: usize) -> Datum {
        if self.nulls.get(i) {
            return Datum::Null;
        }
        match &self.data {
            Data::Int(v) => match self.ty {
                SqlType::Int2 => Datum::Int2(v[i] as i16),
                SqlType::Int4 => Datum::Int4(v[i] as i32),
                SqlType::Date => Datum::Date(v[i] as i32),
                SqlType::Time(_) => Datum::Time(v[i]),
                SqlType::Timestamp(_) => Datum::Timestamp(v[i]),
                SqlType::TimestampTz(_) => Datum::TimestampTz(v[i]),
                _ => Datum::Int8(v[i]),
            },
            Data::Float(v) if self.ty == SqlType::Float4 => Datum::Float4(v[i] as f32),
            Data::Float(v) => Datum::Float8(v[i]),
            Data::Num(v, s) => Datum::Numeric(Small { v: v[i], s: s[i] }.to_text()),
            Data::Bool(v) => Datum::Bool(v[i]),
            Data::Text(v) if matches!(self.ty, SqlType::Bpchar(_)) => Datum::Bpchar(v[i].to_string()),
            Data::Text(v) => Datum::Text(v[i].to_string()),
            Data::Datums(v) => v[i].clone(),
        }
    }

    /// The same values as datums (the numeric slow path).
    fn into_datums(self) -> Vector<'a> {
        if matches!(self.data, Data::Datums(_)) {
            return self;
        }
        let d = (0..self.len()).map(|i| self.datum(i)).collect();
        Vector { ty: self.ty, data: Data::Datums(d), nulls: self.nulls }
    }

    /// Integers of an int vector (int2/4/8 widened), or f64s of an int or float vector.
    fn ints(&self) -> &[i64] {
        match &self.data {
            Data::Int(v) => v,
            _ => &[],
        }
    }

    fn bools(&self) -> &[bool] {
        match &self.data {
            Data::Bool(v) => v,
            _ => &[],
        }
    }
}

/// A LIKE pattern by its shape: the common ones match without the general matcher.
#[derive(Debug, Clone)]
enum Pattern {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(Box<memchr::memmem::Finder<'static>>),
    /// Literal runs between `%`s: the first starts the text, the last ends it, the ones
    /// between are found in order (as [`expr::like`] matches them).
    Runs(String, Vec<memchr::memmem::Finder<'static>>, String),
    /// Anything with `_` or an escape: [`expr::like`].
    General(String),
}

impl Pattern {
    fn of(p: &str) -> Pattern {
        if p.contains(['_', '\\']) {
            return Pattern::General(p.to_string());
        }
        let lead = p.len() - p.trim_start_matches('%').len();
        let rest = &p[lead..];
        let trail = rest.len() - rest.trim_end_matches('%').len();
        let mid = &rest[..rest.len() - trail];
        if mid.contains('%') {
            let mut runs: Vec<&str> = p.split('%').collect();
            let (first, last) = (runs.remove(0), runs.pop().unwrap_or_default());
            let finders = runs.iter().filter(|r| !r.is_empty()).map(|r| memchr::memmem::Finder::new(r).into_owned());
            return Pattern::Runs(first.to_string(), finders.collect(), last.to_string());
        }
        let finder = memchr::memmem::Finder::new(mid).into_owned();
        let mid = mid.to_string();
        match (lead > 0, trail > 0) {
            (true, true) => Pattern::Contains(Box::new(finder)),
            (true, false) => Pattern::Suffix(mid),
            (false, true) => Pattern::Prefix(mid),
            (false, false) => Pattern::Exact(mid),
        }
    }

    fn matches(&self, s: &str) -> Result<bool> {
        // Literal runs match bytewise as they match by characters: UTF-8 is self-synchronizing.
        Ok(match self {
            Pattern::Exact(m) => s == m,
            Pattern::Prefix(m) => s.starts_with(m.as_str()),
            Pattern::Suffix(m) => s.ends_with(m.as_str()),
            Pattern::Contains(m) => m.find(s.as_bytes()).is_some(),
            Pattern::Runs(first, mid, last) => {
                if s.len() < first.len() + last.len() || !s.starts_with(first.as_str()) || !s.ends_with(last.as_str()) {
                    return Ok(false);
                }
                let (mut at, end) = (first.len(), s.len() - last.len());
                for f in mid {
                    match f.find(&s.as_bytes()[at..end]) {
                        Some(i) => at += i + f.needle().len(),
                        None => return Ok(false),
                    }
                }
                true
            }
            Pattern::General(p) => expr::like(s, p)?,
        })
    }
}

/// An expression the batch path runs (parameters already replaced by their values).
#[derive(Debug, Clone)]
enum VExpr {
    Col(usize, SqlType),
    Const(Datum, SqlType),
    Arith(ArithOp, Box<VExpr>, Box<VExpr>, SqlType),
    Neg(Box<VExpr>, SqlType),
    Cmp(CmpOp, Box<VExpr>, Box<VExpr>),
    And(Box<VExpr>, Box<VExpr>),
    Or(Box<VExpr>, Box<VExpr>),
    Not(Box<VExpr>),
    IsNull(Box<VExpr>, bool),
    IsBool(Box<VExpr>, bool, bool),
    /// (text, pattern, negated); a NULL pattern is compiled to a NULL constant.
    Like(Box<VExpr>, Pattern, bool),
    Cast(Box<VExpr>, SqlType),
}

impl VExpr {
    fn ty(&self) -> SqlType {
        match self {
            VExpr::Col(_, t) | VExpr::Const(_, t) | VExpr::Arith(.., t) | VExpr::Neg(_, t) | VExpr::Cast(_, t) => *t,
            _ => SqlType::Bool,
        }
    }

    fn columns(&self, out: &mut Vec<(usize, SqlType)>) {
        match self {
            VExpr::Col(i, t) => {
                if !out.iter().any(|(c, _)| c == i) {
                    out.push((*i, *t));
                }
            }
            VExpr::Const(..) => {}
            VExpr::Arith(_, a, b, _) | VExpr::Cmp(_, a, b) | VExpr::And(a, b) | VExpr::Or(a, b) => {
                a.columns(out);
                b.columns(out)
            }
            VExpr::Neg(a, _)
            | VExpr::Not(a)
            | VExpr::IsNull(a, _)
            | VExpr::IsBool(a, ..)
            | VExpr::Like(a, ..)
            | VExpr::Cast(a, _) => a.columns(out),
        }
    }
}

/// Whether `compare` orders values of these two types as the batch path does.
fn comparable(a: SqlType, b: SqlType) -> bool {
    match (kind(a), kind(b)) {
        (Some(Kind::Int), Some(Kind::Int)) => (a.is_integer() && b.is_integer()) || a == b,
        (Some(Kind::Float), Some(Kind::Float)) | (Some(Kind::Num), Some(Kind::Num)) => true,
        (Some(Kind::Bool), Some(Kind::Bool)) => true,
        (Some(Kind::Text), Some(Kind::Text)) => matches!(a, SqlType::Bpchar(_)) == matches!(b, SqlType::Bpchar(_)),
        _ => false,
    }
}

/// Compiles a bound expression for the batch path; None if any part of it is not supported.
fn compile(e: &Expr, params: &[Datum]) -> Option<VExpr> {
    let b = |x: &Expr| compile(x, params).map(Box::new);
    Some(match e {
        Expr::Column(i, ty) => {
            kind(*ty)?;
            VExpr::Col(*i, *ty)
        }
        Expr::Const(d, ty) if kind(*ty).is_some() && fits(d, *ty) => VExpr::Const(d.clone(), *ty),
        Expr::Param(i, ty) => {
            let d = params.get(*i).cloned().unwrap_or(Datum::Null);
            if kind(*ty).is_none() || !fits(&d, *ty) {
                return None;
            }
            VExpr::Const(d, *ty)
        }
        Expr::Arith(op, x, y, ty) => {
            let (tx, ty_) = (x.ty(), y.ty());
            let ok = if ty.is_integer() {
                tx.is_integer() && ty_.is_integer()
            } else if ty.is_decimal() {
                [tx, ty_].iter().all(|t| t.is_integer() || t.is_decimal())
            } else if ty.is_float() {
                *op != ArithOp::Mod && [tx, ty_].iter().all(|t| t.is_integer() || t.is_float())
            } else {
                false
            };
            if !ok {
                return None;
            }
            VExpr::Arith(*op, b(x)?, b(y)?, *ty)
        }
        Expr::Neg(x, ty) if x.ty() == *ty && (ty.is_integer() || ty.is_float() || ty.is_decimal()) => {
            VExpr::Neg(b(x)?, *ty)
        }
        Expr::Cmp(op, x, y) => cmp(*op, compile(x, params)?, compile(y, params)?)?,
        Expr::And(x, y) if x.ty() == SqlType::Bool && y.ty() == SqlType::Bool => VExpr::And(b(x)?, b(y)?),
        Expr::Or(x, y) if x.ty() == SqlType::Bool && y.ty() == SqlType::Bool => VExpr::Or(b(x)?, b(y)?),
        Expr::Not(x) if x.ty() == SqlType::Bool => VExpr::Not(b(x)?),
        Expr::IsNull(x, negated) => VExpr::IsNull(b(x)?, *negated),
        Expr::IsBool(x, value, negated) if x.ty() == SqlType::Bool => VExpr::IsBool(b(x)?, *value, *negated),
        Expr::InList(x, list, negated) => {
            // `x IN (a, b)` is `x = a OR x = b` in three-valued logic; the items must be
            // constants (so no item's error is skipped or raised out of turn).
            let x = compile(x, params)?;
            let mut any: Option<VExpr> = None;
            for item in list {
                let item = compile(item, params)?;
                if !matches!(item, VExpr::Const(..)) {
                    return None;
                }
                let eq = cmp(CmpOp::Eq, x.clone(), item)?;
                any = Some(match any {
                    None => eq,
                    Some(a) => VExpr::Or(Box::new(a), Box::new(eq)),
                });
            }
            let any = any?;
            if *negated {
                VExpr::Not(Box::new(any))
            } else {
                any
            }
        }
        Expr::Like(x, p, negated, false) if kind(x.ty()) == Some(Kind::Text) => {
            let x = compile(x, params)?;
            match compile(p, params)? {
                VExpr::Const(Datum::Null, _) => VExpr::Const(Datum::Null, SqlType::Bool),
                VExpr::Const(Datum::Text(p), _) => VExpr::Like(Box::new(x), Pattern::of(&p), *negated),
                _ => return None,
            }
        }
        Expr::Cast(x, to, _) if castable(x.ty(), *to) => VExpr::Cast(b(x)?, *to),
        _ => return None,
    })
}

/// A comparison, operands brought to one kind as [`expr::compare`] compares them: an integer
/// against a numeric as a numeric, against a float as a float.
fn cmp(op: CmpOp, x: VExpr, y: VExpr) -> Option<VExpr> {
    let (tx, ty) = (x.ty(), y.ty());
    // An integer constant is widened once here, not per row (`l_quantity >= 1`).
    let widen = |e: VExpr, other: SqlType| match (kind(other), &e) {
        (Some(Kind::Num), VExpr::Const(d, t)) if t.is_integer() && !d.is_null() => {
            Some(VExpr::Const(Datum::Numeric(d.as_i64()?.to_string()), SqlType::NUMERIC))
        }
        (Some(Kind::Float), VExpr::Const(d, t)) if t.is_integer() && !d.is_null() => {
            Some(VExpr::Const(Datum::Float8(d.as_i64()? as f64), SqlType::Float8))
        }
        (Some(Kind::Num), _) if e.ty().is_integer() => Some(VExpr::Cast(Box::new(e), SqlType::NUMERIC)),
        (Some(Kind::Float), _) if e.ty().is_integer() => Some(VExpr::Cast(Box::new(e), SqlType::Float8)),
        _ => Some(e),
    };
    let (x, y) = (widen(x, ty)?, widen(y, tx)?);
    if !comparable(x.ty(), y.ty()) {
        return None;
    }
    Some(VExpr::Cmp(op, Box::new(x), Box::new(y)))
}

/// The casts the batch path does ([`types::cast`]'s results for these types).
fn castable(from: SqlType, to: SqlType) -> bool {
    use SqlType::*;
    match (from, to) {
        (a, b) if a.is_integer() && b.is_integer() => true,
        (a, Float4 | Float8) if a.is_integer() || a.is_float() => true,
        (a, Numeric(None)) if a.is_integer() => true,
        // (To a type without a precision: the batch path does not round.)
        (Date | Timestamp(_) | TimestampTz(_), Timestamp(None) | TimestampTz(None)) => true,
        (Text | Varchar(_) | Bpchar(_), Text | Varchar(None)) => true,
        _ => false,
    }
}

/// A column's vector and which of its positions are filled.
type Gathered<'a> = (Vector<'a>, Vec<bool>);

/// One batch of rows and the columns read from it so far. A column is gathered lazily, only at
/// the positions an expression asks for: a filter's later conjuncts read their columns only
/// for the rows the earlier ones let through (as the row path reads them).
struct Batch<'a> {
    rows: Vec<&'a [Datum]>,
    len: usize,
    /// Per column: its type, and once read its vector and which positions are filled.
    cols: Vec<(usize, SqlType, std::cell::RefCell<Option<Gathered<'a>>>)>,
    /// A value was not of its column's type: the caller takes the row path.
    mismatch: std::cell::Cell<bool>,
}

impl<'a> Batch<'a> {
    fn new(rows: &[&'a [Datum]], cols: &[(usize, SqlType)]) -> Batch<'a> {
        let cols = cols.iter().map(|&(c, ty)| (c, ty, std::cell::RefCell::new(None))).collect();
        Batch { rows: rows.to_vec(), len: rows.len(), cols, mismatch: std::cell::Cell::new(false) }
    }

    /// Column `c`'s values at the positions of `sel` (other slots hold placeholders).
    fn column(&self, c: usize, sel: &[u32]) -> Result<Vector<'a>> {
        self.with_column(c, sel, |v| v.clone())
    }

    /// `f` of column `c`'s values, filled at the positions of `sel` (read in place: no copy of
    /// the vector).
    fn with_column<R>(&self, c: usize, sel: &[u32], f: impl FnOnce(&Vector<'a>) -> R) -> Result<R> {
        let Some((_, ty, cell)) = self.cols.iter().find(|(i, ..)| *i == c) else {
            return Err(SqlError::internal("batch column not gathered"));
        };
        let mut cell = cell.borrow_mut();
        let (v, filled) = cell.get_or_insert_with(|| (Vector::empty(*ty, self.len), vec![false; self.len]));
        for &p in sel {
            let p = p as usize;
            if filled[p] {
                continue;
            }
            const NULL: &Datum = &Datum::Null;
            let d: &'a Datum = self.rows[p].get(c).unwrap_or(NULL);
            if v.put(p, d).is_none() {
                self.mismatch.set(true);
                return Err(SqlError::internal("batch value not of its column's type"));
            }
            filled[p] = true;
        }
        Ok(f(v))
    }
}

impl<'a> Vector<'a> {
    /// A vector of `n` placeholders of type `ty` (a kind the batch path holds).
    fn empty(ty: SqlType, n: usize) -> Vector<'a> {
        let data = match kind(ty) {
            Some(Kind::Int) => Data::Int(vec![0; n]),
            Some(Kind::Float) => Data::Float(vec![0.0; n]),
            Some(Kind::Num) => Data::Num(vec![0; n], vec![0; n]),
            Some(Kind::Bool) => Data::Bool(vec![false; n]),
            _ => Data::Text(vec![""; n]),
        };
        Vector { ty, data, nulls: Nulls::default() }
    }

    /// Sets slot `i` to a column value; None when it is not of the vector's type. A numeric
    /// outside [`Small`] turns the vector into datums.
    fn put(&mut self, i: usize, d: &'a Datum) -> Option<()> {
        let n = self.len();
        if d.is_null() {
            self.nulls.set(i, n);
            return Some(());
        }
        let ty = self.ty;
        match &mut self.data {
            Data::Int(x) => x[i] = int_of(d, ty)?,
            Data::Float(x) => {
                x[i] = match d {
                    Datum::Float4(f) => *f as f64,
                    Datum::Float8(f) => *f,
                    _ => return None,
                }
            }
            Data::Num(x, s) => {
                let Datum::Numeric(t) = d else { return None };
                match Small::parse(t) {
                    Some(m) => {
                        x[i] = m.v;
                        s[i] = m.s;
                    }
                    None => {
                        let all = std::mem::replace(self, Vector::empty(ty, 0)).into_datums();
                        *self = all;
                        return self.put(i, d);
                    }
                }
            }
            Data::Datums(x) => {
                if !matches!(d, Datum::Numeric(_)) {
                    return None;
                }
                x[i] = d.clone();
            }
            Data::Bool(x) => {
                let Datum::Bool(b) = d else { return None };
                x[i] = *b;
            }
            Data::Text(x) => x[i] = text_of(d, ty)?,
        }
        Some(())
    }
}

/// The first position of `sel` (in order) that is not NULL and where `bad` holds.
fn first_bad(sel: &[u32], nulls: &Nulls, bad: impl Fn(usize) -> bool) -> Option<usize> {
    sel.iter().map(|&p| p as usize).find(|&p| !nulls.get(p) && bad(p))
}

fn int_name(ty: SqlType) -> &'static str {
    match ty {
        SqlType::Int2 => "smallint",
        SqlType::Int4 => "integer",
        _ => "bigint",
    }
}

fn int_range(ty: SqlType) -> (i64, i64) {
    match ty {
        SqlType::Int2 => (i16::MIN as i64, i16::MAX as i64),
        SqlType::Int4 => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    }
}

/// PostgreSQL's float checks (utils/float.h) for one operation: 0 fine, 1 overflow, 2
/// underflow, 3 division by zero; the result rounded to float4 when `f4`.
#[inline]
fn float_op(op: ArithOp, x: f64, y: f64, f4: bool) -> (f64, u8) {
    // float8_div: NaN divided by zero is NaN, not an error.
    if op == ArithOp::Div && y == 0.0 && !x.is_nan() {
        return (0.0, 3);
    }
    let r = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        _ => x / y,
    };
    let r = if f4 { r as f32 as f64 } else { r };
    let (inf, zero) = (r.is_infinite(), r == 0.0);
    let (overflow, underflow) = match op {
        ArithOp::Mul => (inf && x.is_finite() && y.is_finite(), zero && x != 0.0 && y != 0.0),
        ArithOp::Div => (inf && x.is_finite(), zero && x != 0.0 && !y.is_infinite()),
        _ => (inf && x.is_finite() && y.is_finite(), false),
    };
    (
        r,
        if overflow {
            1
        } else if underflow {
            2
        } else {
            0
        },
    )
}

fn float_error(e: u8) -> SqlError {
    match e {
        3 => SqlError::division_by_zero(),
        2 => SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: underflow"),
        _ => SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow"),
    }
}

/// Float order as [`expr::compare`]: NaN above everything and equal to itself, -0 = 0.
#[inline]
fn cmp_f64(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
    }
}

/// Numeric order of `a / 10^sa` and `b / 10^sb`.
#[inline]
fn cmp_num(a: i128, sa: u32, b: i128, sb: u32) -> Ordering {
    if sa == sb {
        return a.cmp(&b);
    }
    let up = |v: i128, by: u32| 10i128.checked_pow(by).and_then(|p| v.checked_mul(p));
    let (x, y) = if sa < sb { (up(a, sb - sa), Some(b)) } else { (Some(a), up(b, sa - sb)) };
    match (x, y) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => Small { v: a, s: sa }.num().order(&Small { v: b, s: sb }.num()),
    }
}

fn bool_vector<'a>(v: Vec<bool>, nulls: Nulls) -> Vector<'a> {
    Vector { ty: SqlType::Bool, data: Data::Bool(v), nulls }
}

/// Evaluates `e` over the batch. Only the positions in `sel` (ascending) are computed as the
/// row path would (errors are raised only for them); the other slots hold whatever is cheap.
fn eval<'a>(e: &'a VExpr, b: &Batch<'a>, sel: &[u32]) -> Result<Vector<'a>> {
    let n = b.len;
    Ok(match e {
        VExpr::Col(c, _) => b.column(*c, sel)?,
        VExpr::Const(d, ty) => Vector::constant(d, *ty, n)?,
        VExpr::Arith(op, x, y, ty) => arith(*op, eval(x, b, sel)?, eval(y, b, sel)?, *ty, sel)?,
        VExpr::Neg(x, ty) => {
            let v = eval(x, b, sel)?;
            match v.data {
                Data::Float(f) => Vector { ty: *ty, data: Data::Float(f.iter().map(|x| -x).collect()), nulls: v.nulls },
                // 0 - x, as the row path computes it (integer overflow, numeric scale).
                _ => {
                    let data = match kind(*ty) {
                        Some(Kind::Num) => Data::Num(vec![0; n], vec![0; n]),
                        _ => Data::Int(vec![0; n]),
                    };
                    arith(ArithOp::Sub, Vector { ty: *ty, data, nulls: Nulls::default() }, v, *ty, sel)?
                }
            }
        }
        VExpr::Cmp(op, x, y) => compare(*op, x, y, b, sel)?,
        VExpr::And(x, y) | VExpr::Or(x, y) => {
            let or = matches!(e, VExpr::Or(..));
            let a = eval(x, b, sel)?;
            let av = a.bools();
            // The right side runs only where the left one does not decide.
            let rest: Vec<u32> =
                sel.iter().copied().filter(|&p| a.nulls.get(p as usize) || av[p as usize] != or).collect();
            let c = eval(y, b, &rest)?;
            let cv = c.bools();
            let mut out = vec![false; n];
            let mut nulls = Nulls::default();
            for &p in sel {
                let p = p as usize;
                let (an, cn) = (a.nulls.get(p), c.nulls.get(p));
                if (!an && av[p] == or) || (!cn && cv[p] == or) {
                    out[p] = or;
                } else if an || cn {
                    nulls.set(p, n);
                } else {
                    out[p] = !or;
                }
            }
            bool_vector(out, nulls)
        }
        VExpr::Not(x) => {
            let v = eval(x, b, sel)?;
            bool_vector(v.bools().iter().map(|x| !x).collect(), v.nulls)
        }
        VExpr::IsNull(x, negated) => {
            let v = eval(x, b, sel)?;
            bool_vector((0..n).map(|i| v.nulls.get(i) != *negated).collect(), Nulls::default())
        }
        VExpr::IsBool(x, value, negated) => {
            let v = eval(x, b, sel)?;
            let bv = v.bools();
            bool_vector((0..n).map(|i| (!v.nulls.get(i) && bv[i] == *value) != *negated).collect(), Nulls::default())
        }
        VExpr::Like(x, pat, negated) => {
            let v = eval(x, b, sel)?;
            let Data::Text(s) = &v.data else { return Err(SqlError::internal("LIKE over a non-text vector")) };
            let mut out = vec![false; n];
            for &p in sel {
                let p = p as usize;
                if !v.nulls.get(p) {
                    out[p] = pat.matches(s[p])? != *negated;
                }
            }
            bool_vector(out, v.nulls)
        }
        VExpr::Cast(x, to) => cast(eval(x, b, sel)?, *to, sel)?,
    })
}

/// `x op y` over int vectors: overflow anywhere is checked only where it counts.
fn int_loop(x: &[i64], y: &[i64], f: impl Fn(i64, i64) -> (i64, bool), lo: i64, hi: i64) -> (Vec<i64>, bool) {
    let mut out = vec![0i64; x.len()];
    let mut bad = false;
    for ((o, &a), &b) in out.iter_mut().zip(x).zip(y) {
        let (r, over) = f(a, b);
        *o = r;
        bad |= over | (r < lo) | (r > hi);
    }
    (out, bad)
}

/// The values of an int or float vector as f64 (how `as_f64` reads them).
fn floats(v: &Vector) -> Vec<f64> {
    match &v.data {
        Data::Float(f) => f.clone(),
        Data::Int(i) => i.iter().map(|&x| x as f64).collect(),
        _ => vec![0.0; v.len()],
    }
}

/// Numeric parts of an int or numeric vector; None for datums.
fn smalls(v: &Vector) -> Option<(Vec<i128>, Vec<u32>)> {
    match &v.data {
        Data::Num(x, s) => Some((x.clone(), s.clone())),
        Data::Int(i) => Some((i.iter().map(|&x| x as i128).collect(), vec![0; i.len()])),
        _ => None,
    }
}

fn arith<'a>(op: ArithOp, a: Vector<'a>, b: Vector<'a>, ty: SqlType, sel: &[u32]) -> Result<Vector<'a>> {
    let n = a.len();
    let nulls = a.nulls.or(&b.nulls);
    if ty.is_integer() {
        let (x, y) = (a.ints(), b.ints());
        let (lo, hi) = int_range(ty);
        let out = match op {
            ArithOp::Add | ArithOp::Sub | ArithOp::Mul => {
                // One loop per operator, so each is a plain loop the compiler vectorizes.
                let (out, bad) = match op {
                    ArithOp::Add => int_loop(x, y, i64::overflowing_add, lo, hi),
                    ArithOp::Sub => int_loop(x, y, i64::overflowing_sub, lo, hi),
                    _ => int_loop(x, y, i64::overflowing_mul, lo, hi),
                };
                let over = |p: usize| match op {
                    ArithOp::Add => x[p].overflowing_add(y[p]).1,
                    ArithOp::Sub => x[p].overflowing_sub(y[p]).1,
                    _ => x[p].overflowing_mul(y[p]).1,
                };
                if bad && first_bad(sel, &nulls, |p| out[p] < lo || out[p] > hi || over(p)).is_some() {
                    return Err(SqlError::out_of_range(int_name(ty)));
                }
                out
            }
            ArithOp::Div | ArithOp::Mod => {
                let mut out = vec![0i64; n];
                for &p in sel {
                    let p = p as usize;
                    if nulls.get(p) {
                        continue;
                    }
                    if y[p] == 0 {
                        return Err(SqlError::division_by_zero());
                    }
                    let r = match op {
                        ArithOp::Div => x[p].checked_div(y[p]),
                        // i64::MIN % -1 is 0 in PostgreSQL.
                        _ => Some(x[p].checked_rem(y[p]).unwrap_or(0)),
                    };
                    match r {
                        Some(r) if (lo..=hi).contains(&r) => out[p] = r,
                        _ => return Err(SqlError::out_of_range(int_name(ty))),
                    }
                }
                out
            }
        };
        return Ok(Vector { ty, data: Data::Int(out), nulls });
    }
    if ty.is_float() {
        let (x, y) = (floats(&a), floats(&b));
        let f4 = ty == SqlType::Float4;
        let mut out = vec![0.0; n];
        let mut bad = false;
        for ((o, &u), &v) in out.iter_mut().zip(&x).zip(&y) {
            let (r, e) = float_op(op, u, v, f4);
            *o = r;
            bad |= e != 0;
        }
        if bad {
            if let Some(p) = first_bad(sel, &nulls, |p| float_op(op, x[p], y[p], f4).1 != 0) {
                return Err(float_error(float_op(op, x[p], y[p], f4).1));
            }
        }
        return Ok(Vector { ty, data: Data::Float(out), nulls });
    }
    // numeric: i128 where the values fit (numeric::arith's own fast path), else the row
    // path's function over datums for this batch.
    if let (Some((x, sx)), Some((y, sy)), ArithOp::Add | ArithOp::Sub | ArithOp::Mul) = (smalls(&a), smalls(&b), op) {
        let (mut v, mut s) = (vec![0i128; n], vec![0u32; n]);
        let mut bad = false;
        for i in 0..n {
            let (l, r) = (Small { v: x[i], s: sx[i] }, Small { v: y[i], s: sy[i] });
            let res = match op {
                ArithOp::Add => l.add(r),
                ArithOp::Sub => r.v.checked_neg().and_then(|nv| l.add(Small { v: nv, s: r.s })),
                _ => l.mul(r),
            };
            match res {
                Some(r) => {
                    v[i] = r.v;
                    s[i] = r.s;
                }
                None => bad = true,
            }
        }
        let overflowed = |p: usize| {
            let (l, r) = (Small { v: x[p], s: sx[p] }, Small { v: y[p], s: sy[p] });
            match op {
                ArithOp::Add => l.add(r).is_none(),
                ArithOp::Sub => r.v.checked_neg().and_then(|nv| l.add(Small { v: nv, s: r.s })).is_none(),
                _ => l.mul(r).is_none(),
            }
        };
        if !bad || first_bad(sel, &nulls, overflowed).is_none() {
            return Ok(Vector { ty, data: Data::Num(v, s), nulls });
        }
    }
    let (a, b) = (a.into_datums(), b.into_datums());
    let (Data::Datums(x), Data::Datums(y)) = (&a.data, &b.data) else {
        return Err(SqlError::internal("numeric batch without datums"));
    };
    let mut out = vec![Datum::Null; n];
    for &p in sel {
        let p = p as usize;
        if !nulls.get(p) {
            out[p] = crate::numeric::arith(op, &x[p], &y[p])?;
        }
    }
    Ok(Vector { ty, data: Data::Datums(out), nulls })
}

/// `x op y` for ordered values, one loop per operator.
fn ord_loop<T: Copy>(op: CmpOp, x: &[T], y: &[T], ord: impl Fn(T, T) -> Ordering) -> Vec<bool> {
    let run = |t: fn(Ordering) -> bool| x.iter().zip(y).map(|(&a, &b)| t(ord(a, b))).collect();
    match op {
        CmpOp::Eq => run(|o| o == Ordering::Equal),
        CmpOp::NotEq => run(|o| o != Ordering::Equal),
        CmpOp::Lt => run(|o| o == Ordering::Less),
        CmpOp::LtEq => run(|o| o != Ordering::Greater),
        CmpOp::Gt => run(|o| o == Ordering::Greater),
        CmpOp::GtEq => run(|o| o != Ordering::Less),
    }
}

/// Integer comparisons as plain loops the compiler vectorizes.
fn int_cmp(op: CmpOp, x: &[i64], y: &[i64]) -> Vec<bool> {
    let run = |t: fn(&i64, &i64) -> bool| x.iter().zip(y).map(|(a, b)| t(a, b)).collect();
    match op {
        CmpOp::Eq => run(i64::eq),
        CmpOp::NotEq => run(i64::ne),
        CmpOp::Lt => run(i64::lt),
        CmpOp::LtEq => run(i64::le),
        CmpOp::Gt => run(i64::gt),
        CmpOp::GtEq => run(i64::ge),
    }
}

/// `column op constant` (either way round) over the positions of `sel` alone, the column read
/// in place and the constant not repeated into a vector: the common filter shape
/// (`l_shipmode = 'AIR'`, `l_quantity >= 1`, an IN list's items). None where the values are not
/// of a shape it compares (a NULL constant, numerics outside [`Small`]): the general path then.
fn compare_const<'a>(op: CmpOp, x: &'a VExpr, y: &'a VExpr, b: &Batch<'a>, sel: &[u32]) -> Result<Option<Vector<'a>>> {
    let (c, k, kty, op) = match (x, y) {
        (VExpr::Col(c, _), VExpr::Const(k, t)) => (*c, k, *t, op),
        (VExpr::Const(k, t), VExpr::Col(c, _)) => (*c, k, *t, op.flipped()),
        _ => return Ok(None),
    };
    if k.is_null() {
        return Ok(None);
    }
    let n = b.len;
    b.with_column(c, sel, |v| {
        let mut out = vec![false; n];
        let mut each = |ord: &dyn Fn(usize) -> Ordering| {
            for &p in sel {
                let p = p as usize;
                out[p] = op.holds(ord(p));
            }
        };
        match &v.data {
            Data::Int(a) => {
                let k = int_of(k, kty)?;
                each(&|p| a[p].cmp(&k));
            }
            Data::Float(a) => {
                let k = match k {
                    Datum::Float4(f) => *f as f64,
                    Datum::Float8(f) => *f,
                    _ => return None,
                };
                each(&|p| cmp_f64(a[p], k));
            }
            Data::Num(a, sa) => {
                let Datum::Numeric(t) = k else { return None };
                let k = Small::parse(t)?;
                each(&|p| cmp_num(a[p], sa[p], k.v, k.s));
            }
            Data::Bool(a) => {
                let Datum::Bool(k) = k else { return None };
                each(&|p| a[p].cmp(k));
            }
            Data::Text(a) if matches!(v.ty, SqlType::Bpchar(_)) => {
                let k = types::bpchar_text(text_of(k, kty)?).as_bytes();
                each(&|p| types::bpchar_text(a[p]).as_bytes().cmp(k));
            }
            Data::Text(a) => {
                let k = text_of(k, kty)?.as_bytes();
                each(&|p| a[p].as_bytes().cmp(k));
            }
            Data::Datums(_) => return None,
        }
        Some(bool_vector(out, v.nulls.clone()))
    })
}

/// `column op column` of two distinct columns held as integers (dates, timestamps too) or
/// numerics, over the positions of `sel` alone with both columns read in place (TPC-H Q21's
/// `l_receiptdate > l_commitdate`). None for other shapes.
fn compare_cols<'a>(op: CmpOp, x: &'a VExpr, y: &'a VExpr, b: &Batch<'a>, sel: &[u32]) -> Result<Option<Vector<'a>>> {
    let (VExpr::Col(c, _), VExpr::Col(d, _)) = (x, y) else { return Ok(None) };
    if c == d {
        return Ok(None);
    }
    let n = b.len;
    b.with_column(*c, sel, |l| {
        b.with_column(*d, sel, |r| {
            let mut out = vec![false; n];
            match (&l.data, &r.data) {
                (Data::Int(a), Data::Int(e)) => {
                    for &p in sel {
                        let p = p as usize;
                        out[p] = op.holds(a[p].cmp(&e[p]));
                    }
                }
                (Data::Num(a, sa), Data::Num(e, se)) => {
                    for &p in sel {
                        let p = p as usize;
                        out[p] = op.holds(cmp_num(a[p], sa[p], e[p], se[p]));
                    }
                }
                _ => return None,
            }
            Some(bool_vector(out, l.nulls.or(&r.nulls)))
        })
    })?
}

fn compare<'a>(op: CmpOp, x: &'a VExpr, y: &'a VExpr, b: &Batch<'a>, sel: &[u32]) -> Result<Vector<'a>> {
    if let Some(v) = compare_const(op, x, y, b, sel)? {
        return Ok(v);
    }
    if let Some(v) = compare_cols(op, x, y, b, sel)? {
        return Ok(v);
    }
    let (l, r) = (eval(x, b, sel)?, eval(y, b, sel)?);
    let nulls = l.nulls.or(&r.nulls);
    let out = match (&l.data, &r.data) {
        (Data::Int(a), Data::Int(c)) => int_cmp(op, a, c),
        (Data::Float(a), Data::Float(c)) => ord_loop(op, a, c, cmp_f64),
        (Data::Bool(a), Data::Bool(c)) => ord_loop(op, a, c, |p: bool, q: bool| p.cmp(&q)),
        (Data::Num(a, sa), Data::Num(c, sc)) => {
            let o: Vec<Ordering> = (0..a.len()).map(|i| cmp_num(a[i], sa[i], c[i], sc[i])).collect();
            o.into_iter().map(|o| op.holds(o)).collect()
        }
        (Data::Text(a), Data::Text(c)) if matches!(l.ty, SqlType::Bpchar(_)) => {
            ord_loop(op, a, c, |p: &str, q: &str| {
                types::bpchar_text(p).as_bytes().cmp(types::bpchar_text(q).as_bytes())
            })
        }
        (Data::Text(a), Data::Text(c)) => ord_loop(op, a, c, |p: &str, q: &str| p.as_bytes().cmp(q.as_bytes())),
        _ => {
            // Numerics as datums: the row path's comparison.
            let (l, r) = (l.into_datums(), r.into_datums());
            let (Data::Datums(a), Data::Datums(c)) = (&l.data, &r.data) else {
                return Err(SqlError::internal("comparison of unlike batch vectors"));
            };
            let mut out = vec![false; a.len()];
            for &p in sel {
                let p = p as usize;
                if let Some(o) = expr::compare(&a[p], &c[p]) {
                    out[p] = op.holds(o);
                }
            }
            out
        }
    };
    Ok(bool_vector(out, nulls))
}

fn cast<'a>(v: Vector<'a>, to: SqlType, sel: &[u32]) -> Result<Vector<'a>> {
    let from = v.ty;
    let nulls = v.nulls;
    let data = match v.data {
        Data::Int(x) if from.is_integer() && to.is_integer() => {
            let (lo, hi) = int_range(to);
            if first_bad(sel, &nulls, |p| x[p] < lo || x[p] > hi).is_some() {
                return Err(SqlError::out_of_range(int_name(to)));
            }
            Data::Int(x)
        }
        Data::Int(x) if from.is_integer() && to == SqlType::Float4 => {
            Data::Float(x.iter().map(|&i| i as f64 as f32 as f64).collect())
        }
        Data::Int(x) if from.is_integer() && to == SqlType::Float8 => {
            Data::Float(x.iter().map(|&i| i as f64).collect())
        }
        Data::Int(x) if from.is_integer() => Data::Num(x.iter().map(|&i| i as i128).collect(), vec![0; x.len()]),
        Data::Int(x) if from == SqlType::Date => {
            let mut out = vec![0i64; x.len()];
            for &p in sel {
                let p = p as usize;
                if !nulls.get(p) {
                    out[p] = crate::datetime::date_to_ts(x[p] as i32)?;
                }
            }
            Data::Int(out)
        }
        Data::Int(x) => Data::Int(x),
        Data::Float(x) if to == SqlType::Float4 && from == SqlType::Float8 => {
            // dtof's checks, for the first row that fails either, as the row path meets it.
            let overflow = |p: usize| x[p].is_finite() && (x[p] as f32).is_infinite();
            let underflow = |p: usize| x[p] != 0.0 && x[p] as f32 == 0.0;
            if let Some(p) = first_bad(sel, &nulls, |p| overflow(p) || underflow(p)) {
                let what = if overflow(p) { "overflow" } else { "underflow" };
                return Err(SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, format!("value out of range: {what}")));
            }
            Data::Float(x.iter().map(|&f| f as f32 as f64).collect())
        }
        Data::Float(x) => Data::Float(x),
        Data::Text(x) if matches!(from, SqlType::Bpchar(_)) => {
            Data::Text(x.into_iter().map(types::bpchar_text).collect())
        }
        Data::Text(x) => Data::Text(x),
        _ => return Err(SqlError::internal(format!("batch cast from {from:?} to {to:?}"))),
    };
    Ok(Vector { ty: to, data, nulls })
}

/// The positions of `sel` where `e` is true. `a AND b` computes `b` only where `a` is true or
/// NULL (where the row path computes it).
fn positions<'a>(e: &'a VExpr, b: &Batch<'a>, sel: &[u32]) -> Result<Vec<u32>> {
    if let VExpr::And(x, y) = e {
        let v = eval(x, b, sel)?;
        let bv = v.bools();
        let rest: Vec<u32> = sel.iter().copied().filter(|&p| v.nulls.get(p as usize) || bv[p as usize]).collect();
        let mut t = positions(y, b, &rest)?;
        if v.nulls.any() {
            t.retain(|&p| !v.nulls.get(p as usize));
        }
        return Ok(t);
    }
    let v = eval(e, b, sel)?;
    let bv = v.bools();
    Ok(sel.iter().copied().filter(|&p| bv[p as usize] && !v.nulls.get(p as usize)).collect())
}

/// Whether the batch path is on: it is unless the server was started with `ORBIT_VECTORIZE=0`
/// (to measure it against the row path).
pub fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("ORBIT_VECTORIZE").map_or(true, |v| v != "0"))
}

/// A WHERE clause compiled for the batch path.
#[derive(Debug)]
pub struct Filter {
    expr: VExpr,
    cols: Vec<(usize, SqlType)>,
    /// The bound filter, for a batch whose values are not of their columns' types.
    source: Expr,
}

impl Filter {
    /// None when the filter has a part the batch path does not run (or the path is off).
    pub fn compile(e: &Expr, params: &[Datum]) -> Option<Filter> {
        if !enabled() {
            return None;
        }
        let expr = compile(e, params)?;
        if expr.ty() != SqlType::Bool {
            return None;
        }
        let mut cols = Vec::new();
        expr.columns(&mut cols);
        Some(Filter { expr, cols, source: e.clone() })
    }

    /// The positions of the rows of a batch that pass.
    fn select<'a>(&'a self, rows: &[&'a [Datum]], params: &[Datum]) -> Result<Vec<u32>> {
        let b = Batch::new(rows, &self.cols);
        let all: Vec<u32> = (0..rows.len() as u32).collect();
        match positions(&self.expr, &b, &all) {
            Err(_) if b.mismatch.get() => {
                let mut out = Vec::new();
                for (i, r) in rows.iter().enumerate() {
                    if crate::exec::matches(Some(&self.source), r, params)? {
                        out.push(i as u32);
                    }
                }
                Ok(out)
            }
            r => r,
        }
    }

    /// Feeds the rows that pass to `keep`, in order, a batch at a time.
    pub fn scan<'a, K: 'a>(
        &'a self,
        rows: impl Iterator<Item = (&'a K, &'a Vec<Datum>)>,
        params: &[Datum],
        mut keep: impl FnMut(&'a K, &'a Vec<Datum>) -> Result<()>,
    ) -> Result<()> {
        let mut batch: Vec<(&'a K, &'a Vec<Datum>)> = Vec::with_capacity(BATCH_ROWS);
        let mut rows = rows.peekable();
        while rows.peek().is_some() {
            batch.clear();
            batch.extend(rows.by_ref().take(BATCH_ROWS));
            let refs: Vec<&'a [Datum]> = batch.iter().map(|(_, r)| r.as_slice()).collect();
            for p in self.select(&refs, params)? {
                let (k, r) = batch[p as usize];
                keep(k, r)?;
            }
        }
        Ok(())
    }
}

/// A GROUP BY value as the shard's hash table compares it: the equality of
/// [`crate::group::key_part`] (NULLs one group, -0 = 0, NaNs equal, character(n) without its
/// trailing spaces).
#[derive(Debug, Clone, PartialEq)]
enum KeyVal {
    Null,
    Int(i64),
    Float(u64),
    Bool(bool),
    Text(String),
}

fn float_key(f: f64) -> u64 {
    if f.is_nan() {
        f64::NAN.to_bits()
    } else if f == 0.0 {
        0
    } else {
        f.to_bits()
    }
}

fn key_text<'s>(v: &Vector, s: &'s str) -> &'s str {
    if matches!(v.ty, SqlType::Bpchar(_)) {
        types::bpchar_text(s)
    } else {
        s
    }
}

fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

/// The hash of row `p`'s GROUP BY values.
fn key_hash(keys: &[Vector], p: usize) -> u64 {
    let mut h = 0u64;
    for v in keys {
        if v.nulls.get(p) {
            h = mix(h, 0x9e37_79b9);
            continue;
        }
        h = match &v.data {
            Data::Int(x) => mix(h, x[p] as u64),
            Data::Float(x) => mix(h, float_key(x[p])),
            Data::Bool(x) => mix(h, x[p] as u64 + 1),
            Data::Text(x) => {
                let mut h = mix(h, 0x7f);
                for c in key_text(v, x[p]).as_bytes().chunks(8) {
                    let mut w = [0u8; 8];
                    w[..c.len()].copy_from_slice(c);
                    h = mix(h, u64::from_le_bytes(w));
                }
                h
            }
            _ => h,
        };
    }
    h
}

fn key_val(v: &Vector, p: usize) -> KeyVal {
    if v.nulls.get(p) {
        return KeyVal::Null;
    }
    match &v.data {
        Data::Int(x) => KeyVal::Int(x[p]),
        Data::Float(x) => KeyVal::Float(float_key(x[p])),
        Data::Bool(x) => KeyVal::Bool(x[p]),
        Data::Text(x) => KeyVal::Text(key_text(v, x[p]).to_string()),
        _ => KeyVal::Null,
    }
}

fn key_eq(keys: &[Vector], p: usize, stored: &[KeyVal]) -> bool {
    keys.iter().zip(stored).all(|(v, k)| match (k, v.nulls.get(p), &v.data) {
        (KeyVal::Null, null, _) => null,
        (_, true, _) => false,
        (KeyVal::Int(a), _, Data::Int(x)) => *a == x[p],
        (KeyVal::Float(a), _, Data::Float(x)) => *a == float_key(x[p]),
        (KeyVal::Bool(a), _, Data::Bool(x)) => *a == x[p],
        (KeyVal::Text(a), _, Data::Text(x)) => a.as_str() == key_text(v, x[p]),
        _ => false,
    })
}

/// How one aggregate accumulates (the [`AggState`] its spec starts with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AccKind {
    CountStar,
    Count,
    SumInt,
    SumFloat,
    SumNumeric,
    Min,
    Max,
}

/// One aggregate's states for every group, column-wise.
#[derive(Debug)]
enum AccCol {
    Count(Vec<i64>),
    SumInt(Vec<i64>, Vec<bool>),
    SumFloat(Vec<f64>, Vec<i64>),
    SumNumeric(Vec<Sum>),
    /// min/max: the state, and per batch the position of each group's best value so far.
    Extreme(Vec<AggState>, Vec<u32>),
}

impl AccCol {
    fn new(k: AccKind) -> AccCol {
        match k {
            AccKind::CountStar | AccKind::Count => AccCol::Count(Vec::new()),
            AccKind::SumInt => AccCol::SumInt(Vec::new(), Vec::new()),
            AccKind::SumFloat => AccCol::SumFloat(Vec::new(), Vec::new()),
            AccKind::SumNumeric => AccCol::SumNumeric(Vec::new()),
            AccKind::Min | AccKind::Max => AccCol::Extreme(Vec::new(), Vec::new()),
        }
    }

    fn push_group(&mut self) {
        match self {
            AccCol::Count(c) => c.push(0),
            AccCol::SumInt(s, seen) => {
                s.push(0);
                seen.push(false);
            }
            AccCol::SumFloat(s, n) => {
                s.push(0.0);
                n.push(0);
            }
            AccCol::SumNumeric(s) => s.push(Sum::new()),
            AccCol::Extreme(st, best) => {
                st.push(AggState::Extreme(Datum::Null));
                best.push(u32::MAX);
            }
        }
    }

    fn state(&mut self, g: usize) -> AggState {
        match self {
            AccCol::Count(c) => AggState::Count(c[g]),
            AccCol::SumInt(s, seen) => AggState::SumInt(s[g], seen[g]),
            AccCol::SumFloat(s, n) => AggState::SumFloat(s[g], n[g]),
            AccCol::SumNumeric(s) => AggState::SumNumeric(std::mem::take(&mut s[g])),
            AccCol::Extreme(st, _) => std::mem::replace(&mut st[g], AggState::Count(0)),
        }
    }

    /// Adds the values at `sel` (the row at `sel[j]` belongs to group `gids[j]`).
    fn update(&mut self, kind: AccKind, spec: &AggSpec, v: Option<&Vector>, sel: &[u32], gids: &[u32]) -> Result<()> {
        let rows = sel.iter().zip(gids).map(|(&p, &g)| (p as usize, g as usize));
        let Some(v) = v else {
            // count(*).
            if let AccCol::Count(c) = self {
                for &g in gids {
                    c[g as usize] += 1;
                }
            }
            return Ok(());
        };
        let valid = |p: usize| !v.nulls.get(p);
        match (self, &v.data) {
            (AccCol::Count(c), _) => {
                if v.nulls.any() {
                    for (p, g) in rows {
                        c[g] += valid(p) as i64;
                    }
                } else {
                    for &g in gids {
                        c[g as usize] += 1;
                    }
                }
            }
            (AccCol::SumInt(s, seen), Data::Int(x)) => {
                for (p, g) in rows.filter(|&(p, _)| valid(p)) {
                    s[g] = s[g].checked_add(x[p]).ok_or_else(|| SqlError::out_of_range("bigint"))?;
                    seen[g] = true;
                }
            }
            (AccCol::SumFloat(s, n), Data::Float(x)) => {
                for (p, g) in rows.filter(|&(p, _)| valid(p)) {
                    s[g] += x[p];
                    n[g] += 1;
                }
            }
            (AccCol::SumNumeric(s), Data::Num(x, sc)) => {
                for (p, g) in rows.filter(|&(p, _)| valid(p)) {
                    s[g].add_small(Small { v: x[p], s: sc[p] })?;
                    s[g].count += 1;
                }
            }
            (AccCol::SumNumeric(s), Data::Int(x)) => {
                for (p, g) in rows.filter(|&(p, _)| valid(p)) {
                    s[g].add_small(Small { v: x[p] as i128, s: 0 })?;
                    s[g].count += 1;
                }
            }
            (AccCol::SumNumeric(s), Data::Datums(x)) => {
                for (p, g) in rows.filter(|&(p, _)| valid(p)) {
                    s[g].add_datum(&x[p])?;
                }
            }
            (AccCol::Extreme(st, best), data) => {
                // The best position of each group within the batch (the first of equal ones,
                // as the row path keeps the first), then one update of the state per group.
                let min = kind == AccKind::Min;
                let better = |p: usize, q: usize| -> bool {
                    let o = match data {
                        Data::Int(x) => x[p].cmp(&x[q]),
                        Data::Float(x) => cmp_f64(x[p], x[q]),
                        Data::Num(x, s) => cmp_num(x[p], s[p], x[q], s[q]),
                        Data::Bool(x) => x[p].cmp(&x[q]),
                        Data::Text(x) => key_text(v, x[p]).as_bytes().cmp(key_text(v, x[q]).as_bytes()),
                        Data::Datums(x) => expr::compare(&x[p], &x[q]).unwrap_or(Ordering::Equal),
                    };
                    if min {
                        o == Ordering::Less
                    } else {
                        o == Ordering::Greater
                    }
                };
                let mut touched = Vec::new();
                for (p, g) in rows.filter(|&(p, _)| valid(p)) {
                    match best[g] {
                        u32::MAX => {
                            best[g] = p as u32;
                            touched.push(g);
                        }
                        q if better(p, q as usize) => best[g] = p as u32,
                        _ => {}
                    }
                }
                for g in touched {
                    st[g].update_ref(spec, &v.datum(best[g] as usize))?;
                    best[g] = u32::MAX;
                }
            }
            (_, d) => return Err(SqlError::internal(format!("aggregate over a batch of {d:?}"))),
        }
        Ok(())
    }
}

/// The partial aggregation a shard does for a grouped SELECT, compiled for the batch path.
#[derive(Debug)]
pub struct Aggregation {
    filter: Option<Filter>,
    keys: Vec<VExpr>,
    aggs: Vec<(AccKind, Option<VExpr>, AggSpec)>,
    cols: Vec<(usize, SqlType)>,
}

/// A shard's groups: their GROUP BY values and aggregate states (as [`crate::group`] merges them).
pub type PartialGroups = Vec<(Vec<Datum>, Vec<AggState>)>;

impl Aggregation {
    /// None when some part of the plan is not for the batch path: grouping sets, an aggregate
    /// other than count/sum/avg/min/max or with DISTINCT, ORDER BY or FILTER, a numeric GROUP
    /// BY value, an expression it does not run.
    pub fn compile(p: &SelectPlan, params: &[Datum]) -> Option<Aggregation> {
        if !p.grouping_sets.is_empty() || p.join.is_some() {
            return None;
        }
        Aggregation::of(p.filter.as_ref(), &p.group_by, &p.aggs, params)
    }

    fn of(filter: Option<&Expr>, group_by: &[Expr], specs: &[AggSpec], params: &[Datum]) -> Option<Aggregation> {
        if !enabled() {
            return None;
        }
        let filter = match filter {
            Some(f) => Some(Filter::compile(f, params)?),
            None => None,
        };
        let mut keys = Vec::new();
        for g in group_by {
            let k = compile(g, params)?;
            if !matches!(kind(k.ty()), Some(Kind::Int | Kind::Float | Kind::Bool | Kind::Text)) {
                return None;
            }
            keys.push(k);
        }
        let mut aggs = Vec::new();
        for spec in specs {
            if spec.distinct || !spec.order_by.is_empty() || spec.filter.is_some() || spec.delim.is_some() {
                return None;
            }
            let arg = match &spec.arg {
                Some(a) => Some(compile(a, params)?),
                None => None,
            };
            let at = arg.as_ref().map(VExpr::ty);
            let k = match (spec.func, AggState::new(spec), at) {
                (AggFunc::CountStar, _, None) => AccKind::CountStar,
                (AggFunc::Count, _, Some(_)) => AccKind::Count,
                (AggFunc::Sum, AggState::SumInt(..), Some(t)) if t.is_integer() => AccKind::SumInt,
                (AggFunc::Sum | AggFunc::Avg, AggState::SumFloat(..), Some(t)) if t.is_float() => AccKind::SumFloat,
                (AggFunc::Sum | AggFunc::Avg, AggState::SumNumeric(..), Some(t))
                    if t.is_integer() || t.is_decimal() =>
                {
                    AccKind::SumNumeric
                }
                (AggFunc::Min, AggState::Extreme(_), Some(_)) => AccKind::Min,
                (AggFunc::Max, AggState::Extreme(_), Some(_)) => AccKind::Max,
                _ => return None,
            };
            aggs.push((k, arg, spec.clone()));
        }
        let mut cols = filter.as_ref().map(|f| f.cols.clone()).unwrap_or_default();
        for e in keys.iter().chain(aggs.iter().filter_map(|(_, a, _)| a.as_ref())) {
            e.columns(&mut cols);
        }
        Some(Aggregation { filter, keys, aggs, cols })
    }

    /// Groups and aggregates `rows`; None when a value is not of its column's type (the caller
    /// takes the row path for the whole scan).
    pub fn run<'a>(&'a self, rows: impl Iterator<Item = &'a Vec<Datum>>) -> Result<Option<PartialGroups>> {
        let mut vals: Vec<Vec<Datum>> = Vec::new();
        let mut stored: Vec<Vec<KeyVal>> = Vec::new();
        // Hash -> first group with it; `next` chains groups whose hashes collide.
        let mut index: HashMap<u64, u32> = HashMap::new();
        let mut next: Vec<u32> = Vec::new();
        let mut accs: Vec<AccCol> = self.aggs.iter().map(|(k, ..)| AccCol::new(*k)).collect();
        let mut batch: Vec<&'a [Datum]> = Vec::with_capacity(BATCH_ROWS);
        let mut rows = rows.peekable();
        let mut gids: Vec<u32> = Vec::with_capacity(BATCH_ROWS);
        while rows.peek().is_some() {
            batch.clear();
            batch.extend(rows.by_ref().take(BATCH_ROWS).map(|r| r.as_slice()));
            let b = Batch::new(&batch, &self.cols);
            match self.batch(&b, &mut vals, &mut stored, &mut index, &mut next, &mut accs, &mut gids) {
                Err(_) if b.mismatch.get() => return Ok(None),
                r => r?,
            }
        }
        let mut out = Vec::with_capacity(vals.len());
        for (g, v) in vals.into_iter().enumerate() {
            out.push((v, accs.iter_mut().map(|a| a.state(g)).collect()));
        }
        Ok(Some(out))
    }

    /// Groups and aggregates one batch.
    #[allow(clippy::too_many_arguments)]
    fn batch<'a>(
        &'a self,
        b: &Batch<'a>,
        vals: &mut Vec<Vec<Datum>>,
        stored: &mut Vec<Vec<KeyVal>>,
        index: &mut HashMap<u64, u32>,
        next: &mut Vec<u32>,
        accs: &mut [AccCol],
        gids: &mut Vec<u32>,
    ) -> Result<()> {
        {
            let all: Vec<u32> = (0..b.len as u32).collect();
            let sel = match &self.filter {
                Some(f) => positions(&f.expr, b, &all)?,
                None => all,
            };
            if sel.is_empty() {
                return Ok(());
            }
            let keys = self.keys.iter().map(|k| eval(k, b, &sel)).collect::<Result<Vec<_>>>()?;
            gids.clear();
            if keys.is_empty() {
                if vals.is_empty() {
                    vals.push(Vec::new());
                    stored.push(Vec::new());
                    accs.iter_mut().for_each(AccCol::push_group);
                }
                gids.resize(sel.len(), 0);
            } else {
                for &p in &sel {
                    let p = p as usize;
                    let h = key_hash(&keys, p);
                    let mut g = index.get(&h).copied().unwrap_or(u32::MAX);
                    while g != u32::MAX && !key_eq(&keys, p, &stored[g as usize]) {
                        g = next[g as usize];
                    }
                    if g == u32::MAX {
                        g = vals.len() as u32;
                        vals.push(keys.iter().map(|k| k.datum(p)).collect());
                        stored.push(keys.iter().map(|k| key_val(k, p)).collect());
                        next.push(index.insert(h, g).unwrap_or(u32::MAX));
                        accs.iter_mut().for_each(AccCol::push_group);
                    }
                    gids.push(g);
                }
            }
            for ((kind, arg, spec), acc) in self.aggs.iter().zip(accs.iter_mut()) {
                let v = match arg {
                    Some(a) => Some(eval(a, b, &sel)?),
                    None => None,
                };
                acc.update(*kind, spec, v.as_ref(), &sel, gids)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, Rng, SeedableRng};

    const INT4: usize = 0;

    #[test]
    fn like_patterns_match_as_the_general_matcher() {
        let texts = ["", "a", "ab", "aba", "abc", "special requests", "requests special", "x%y", "héllo wörld"];
        let patterns = ["", "%", "%%", "a", "a%", "%a", "%b%", "a%a", "a%b%a", "%special%requests%", "h%ö%d", "a%c"];
        for p in patterns {
            let pat = Pattern::of(p);
            for s in texts {
                assert_eq!(pat.matches(s).unwrap(), expr::like(s, p).unwrap(), "{s:?} LIKE {p:?}");
            }
        }
    }
    const INT8: usize = 1;
    const FLOAT8: usize = 2;
    const NUM: usize = 3;
    const TEXT: usize = 4;
    const BPCHAR: usize = 5;
    const BOOL: usize = 6;
    const DATE: usize = 7;
    const INT2: usize = 8;
    const NUM2: usize = 9;
    const TYPES: [SqlType; 10] = [
        SqlType::Int4,
        SqlType::Int8,
        SqlType::Float8,
        SqlType::NUMERIC,
        SqlType::Text,
        SqlType::Bpchar(Some(3)),
        SqlType::Bool,
        SqlType::Date,
        SqlType::Int2,
        SqlType::Numeric(Some((15, 2))),
    ];

    fn pick<T: Clone>(rng: &mut SmallRng, v: &[T]) -> T {
        v[rng.gen_range(0..v.len())].clone()
    }

    /// Rows with NULLs and edge values in every column.
    fn rows(n: usize, seed: u64) -> Vec<Vec<Datum>> {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let (ri, rl, rd) = (rng.gen_range(-50..50), rng.gen_range(-50..50), rng.gen_range(0..10000));
                let mut r = vec![
                    Datum::Int4(pick(&mut rng, &[0, 1, -1, 7, i32::MAX, i32::MIN, 100_000, ri])),
                    Datum::Int8(pick(&mut rng, &[0, 3, -3, i64::MAX, i64::MIN, 1 << 40, rl])),
                    Datum::Float8(pick(
                        &mut rng,
                        &[0.0, -0.0, 1.5, -2.25, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e308, 1e-300, 3.0],
                    )),
                    Datum::Numeric(
                        pick(
                            &mut rng,
                            &[
                                "0",
                                "-0.50",
                                "123.45",
                                "1.0",
                                "1.00",
                                "99999999999999999999999999999999999.9",
                                "1234567890123456789012345678901234567890",
                                "NaN",
                                "-7",
                            ],
                        )
                        .to_string(),
                    ),
                    Datum::Text(pick(&mut rng, &["", "abc", "ab", "xabcx", "ab%c", "é", "ABC", "b"]).to_string()),
                    Datum::Bpchar(pick(&mut rng, &["a  ", "ab ", "abc", "   "]).to_string()),
                    Datum::Bool(rng.gen()),
                    Datum::Date(pick(&mut rng, &[0, -1, 8000, 9000, rd])),
                    Datum::Int2(pick(&mut rng, &[0, 1, -1, i16::MAX, i16::MIN, 300])),
                    Datum::Numeric(pick(&mut rng, &["0.04", "0.10", "17.00", "-3.50", "0.00"]).to_string()),
                ];
                for d in r.iter_mut() {
                    if rng.gen_ratio(1, 8) {
                        *d = Datum::Null;
                    }
                }
                r
            })
            .collect()
    }

    fn col(i: usize) -> Box<Expr> {
        Box::new(Expr::Column(i, TYPES[i]))
    }

    fn k(d: Datum, t: SqlType) -> Box<Expr> {
        Box::new(Expr::Const(d, t))
    }

    fn num(s: &str) -> Box<Expr> {
        k(Datum::Numeric(s.into()), SqlType::NUMERIC)
    }

    fn int(v: i32) -> Box<Expr> {
        k(Datum::Int4(v), SqlType::Int4)
    }

    fn cmp(op: CmpOp, a: Box<Expr>, b: Box<Expr>) -> Box<Expr> {
        Box::new(Expr::Cmp(op, a, b))
    }

    fn ar(op: ArithOp, a: Box<Expr>, b: Box<Expr>, t: SqlType) -> Box<Expr> {
        Box::new(Expr::Arith(op, a, b, t))
    }

    fn cast(a: Box<Expr>, t: SqlType) -> Box<Expr> {
        Box::new(Expr::Cast(a, t, false))
    }

    fn text(s: &str) -> Box<Expr> {
        k(Datum::Text(s.into()), SqlType::Text)
    }

    /// Expressions over every supported operator (values, not only filters).
    fn exprs() -> Vec<Expr> {
        use ArithOp::*;
        use CmpOp::*;
        let f8 = SqlType::Float8;
        let v: Vec<Expr> = vec![
            *ar(Add, col(INT4), col(INT4), SqlType::Int4),
            *ar(Sub, col(INT4), int(1), SqlType::Int4),
            *ar(Mul, col(INT8), col(INT8), SqlType::Int8),
            *ar(Div, col(INT8), cast(col(INT4), SqlType::Int8), SqlType::Int8),
            *ar(Mod, col(INT4), int(7), SqlType::Int4),
            *ar(Add, col(INT2), col(INT2), SqlType::Int2),
            *ar(Div, col(INT2), k(Datum::Int2(-1), SqlType::Int2), SqlType::Int2),
            *ar(Mul, col(FLOAT8), col(FLOAT8), f8),
            *ar(Div, col(FLOAT8), col(FLOAT8), f8),
            *ar(Sub, col(FLOAT8), cast(col(INT4), f8), f8),
            *ar(Add, cast(col(FLOAT8), SqlType::Float4), k(Datum::Float4(1.5), SqlType::Float4), SqlType::Float4),
            *ar(Mul, col(NUM), col(NUM), SqlType::NUMERIC),
            *ar(Sub, num("1"), col(NUM2), SqlType::NUMERIC),
            *ar(
                Mul,
                ar(Mul, col(NUM2), ar(Sub, num("1"), col(NUM2), SqlType::NUMERIC), SqlType::NUMERIC),
                ar(Add, num("1"), col(NUM), SqlType::NUMERIC),
                SqlType::NUMERIC,
            ),
            *ar(Div, col(NUM), col(NUM2), SqlType::NUMERIC),
            *ar(Add, col(NUM), cast(col(INT8), SqlType::NUMERIC), SqlType::NUMERIC),
            *ar(Mul, col(NUM), col(INT4), SqlType::NUMERIC),
            Expr::Neg(col(INT4), SqlType::Int4),
            Expr::Neg(col(FLOAT8), f8),
            Expr::Neg(col(NUM), SqlType::NUMERIC),
            *cmp(Lt, col(INT4), int(7)),
            *cmp(GtEq, col(INT8), cast(col(INT4), SqlType::Int8)),
            *cmp(Eq, col(FLOAT8), k(Datum::Float8(0.0), f8)),
            *cmp(Gt, col(FLOAT8), k(Datum::Float8(1.0), f8)),
            *cmp(Lt, col(FLOAT8), k(Datum::Float8(f64::NAN), f8)),
            *cmp(LtEq, col(NUM), num("1.0")),
            *cmp(Eq, col(NUM), col(NUM2)),
            *cmp(NotEq, col(NUM2), num("0.1")),
            *cmp(Lt, col(NUM), cast(col(INT4), SqlType::NUMERIC)),
            *cmp(Eq, col(TEXT), text("abc")),
            *cmp(Lt, col(TEXT), text("ab")),
            *cmp(Eq, col(BPCHAR), k(Datum::Bpchar("a".into()), SqlType::Bpchar(None))),
            *cmp(Eq, cast(col(BPCHAR), SqlType::Text), text("ab")),
            *cmp(Eq, col(BOOL), k(Datum::Bool(true), SqlType::Bool)),
            *cmp(Lt, col(DATE), k(Datum::Date(8500), SqlType::Date)),
            *cmp(
                LtEq,
                cast(col(DATE), SqlType::TIMESTAMP),
                k(Datum::Timestamp(8500 * 86_400_000_000), SqlType::TIMESTAMP),
            ),
            Expr::And(cmp(Lt, col(INT4), int(10)), cmp(Gt, col(FLOAT8), k(Datum::Float8(0.0), f8))),
            Expr::Or(cmp(Lt, col(INT4), int(10)), col(BOOL)),
            Expr::Not(col(BOOL)),
            // The right side runs only where the left one does not decide: no division by zero.
            Expr::And(cmp(NotEq, col(INT4), int(0)), cmp(Gt, ar(Div, int(100), col(INT4), SqlType::Int4), int(1))),
            Expr::Or(cmp(Eq, col(INT4), int(0)), cmp(Gt, ar(Div, int(100), col(INT4), SqlType::Int4), int(1))),
            Expr::IsNull(col(NUM), false),
            Expr::IsNull(col(TEXT), true),
            Expr::IsBool(col(BOOL), true, false),
            Expr::IsBool(col(BOOL), false, true),
            Expr::InList(col(INT4), vec![*int(0), *int(7), *int(-1)], false),
            Expr::InList(col(INT4), vec![*int(0), Expr::Const(Datum::Null, SqlType::Int4)], true),
            Expr::InList(col(TEXT), vec![*text("abc"), *text("")], false),
            Expr::Like(col(TEXT), text("ab%"), false, false),
            Expr::Like(col(TEXT), text("%c"), false, false),
            Expr::Like(col(TEXT), text("%bc%"), true, false),
            Expr::Like(col(TEXT), text("a_c"), false, false),
            Expr::Like(col(TEXT), text(""), false, false),
            Expr::Like(col(TEXT), text("ab\\%%"), false, false),
            Expr::Like(col(BPCHAR), text("a%"), false, false),
            Expr::Like(col(BPCHAR), text("%a"), false, false),
            Expr::Like(col(TEXT), k(Datum::Null, SqlType::Text), false, false),
            Expr::And(cmp(GtEq, col(NUM2), num("0.05")), cmp(LtEq, col(NUM2), num("0.10"))),
            *cast(col(INT4), SqlType::Int2),
            *cast(col(INT8), SqlType::Int4),
            *cast(col(FLOAT8), SqlType::Float4),
            *cmp(Lt, col(INT4), Box::new(Expr::Param(0, SqlType::Int4))),
        ];
        v
    }

    fn show(r: &Result<Datum>) -> String {
        match r {
            Ok(d) => format!("{d:?}"),
            Err(e) => format!("error {} {}", e.code, e.message),
        }
    }

    const PARAMS: &[Datum] = &[Datum::Int4(3)];

    #[test]
    fn batch_values_and_filters_match_the_row_path() {
        for seed in 0..6 {
            let rows = rows(2500, seed);
            let refs: Vec<&[Datum]> = rows.iter().map(|r| r.as_slice()).collect();
            for e in exprs() {
                let v = compile(&e, PARAMS).unwrap_or_else(|| panic!("not compiled: {e:?}"));
                let mut cols = Vec::new();
                v.columns(&mut cols);
                for chunk in refs.chunks(BATCH_ROWS) {
                    let cx = |r| expr::Ctx { row: r, params: PARAMS, aggs: &[] };
                    let row: Vec<Result<Datum>> = chunk.iter().map(|r| expr::eval(&e, &cx(r))).collect();
                    let b = Batch::new(chunk, &cols);
                    let all: Vec<u32> = (0..chunk.len() as u32).collect();
                    let batch = eval(&v, &b, &all);
                    match (row.iter().find(|r| r.is_err()), &batch) {
                        (Some(first), Err(_)) => {
                            assert_eq!(show(first), show(&batch.map(|_| Datum::Null)), "{e:?}");
                            continue;
                        }
                        (None, Ok(vec)) => {
                            for (i, r) in row.iter().enumerate() {
                                assert_eq!(show(r), show(&Ok(vec.datum(i))), "row {:?} of {e:?}", chunk[i]);
                            }
                        }
                        (first, _) => panic!("{e:?}: row path {:?}, batch {:?}", first.map(show), batch.err()),
                    }
                    if v.ty() == SqlType::Bool {
                        let f = Filter::compile(&e, PARAMS).expect("filter");
                        let want: Vec<u32> = (0..chunk.len() as u32)
                            .filter(|&i| matches!(row[i as usize], Ok(Datum::Bool(true))))
                            .collect();
                        assert_eq!(f.select(chunk, PARAMS).unwrap(), want, "{e:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn what_the_batch_path_does_not_run_is_left_to_the_row_path() {
        let t = SqlType::Text;
        let concat = Expr::Cmp(CmpOp::Eq, Box::new(Expr::Concat(col(TEXT), text("x"))), text("abcx"));
        assert!(compile(&concat, &[]).is_none());
        assert!(compile(&Expr::Like(col(TEXT), text("A%"), false, true), &[]).is_none());
        assert!(compile(&Expr::Func(expr::Func::Lower, vec![*col(TEXT)], t), &[]).is_none());
        // An IN list with a column among the items.
        assert!(compile(&Expr::InList(col(INT4), vec![*col(INT4)], false), &[]).is_none());
        // A text column compared with a character(n) value.
        assert!(compile(&Expr::Cmp(CmpOp::Eq, col(TEXT), col(BPCHAR)), &[]).is_none());
        // A parameter whose value is not of its type.
        let p = Expr::Cmp(CmpOp::Lt, col(INT4), Box::new(Expr::Param(0, SqlType::Int4)));
        assert!(compile(&p, &[Datum::Text("1".into())]).is_none());
    }

    #[test]
    fn a_value_not_of_its_column_type_takes_the_row_path() {
        let rows: Vec<Vec<Datum>> = vec![vec![Datum::Int4(1)], vec![Datum::Text("x".into())], vec![Datum::Int4(9)]];
        let refs: Vec<&[Datum]> = rows.iter().map(|r| r.as_slice()).collect();
        let e = *cmp(CmpOp::Lt, col(INT4), int(7));
        let f = Filter::compile(&e, &[]).unwrap();
        assert_eq!(f.select(&refs, &[]).unwrap(), vec![0]);
        let s = spec(AggFunc::CountStar, None, SqlType::Int8);
        let a = Aggregation::of(Some(&e), &[], std::slice::from_ref(&s), &[]).unwrap();
        assert!(a.run(rows.iter()).unwrap().is_none());
    }

    #[test]
    fn like_pattern_shapes() {
        assert!(matches!(Pattern::of("ab%"), Pattern::Prefix(p) if p == "ab"));
        assert!(matches!(Pattern::of("%ab"), Pattern::Suffix(p) if p == "ab"));
        assert!(matches!(Pattern::of("%%ab%"), Pattern::Contains(p) if p.needle() == b"ab"));
        assert!(matches!(Pattern::of("ab"), Pattern::Exact(p) if p == "ab"));
        assert!(matches!(Pattern::of("%"), Pattern::Suffix(p) if p.is_empty()));
        assert!(matches!(Pattern::of("a%b"), Pattern::Runs(..)));
        assert!(matches!(Pattern::of("a_"), Pattern::General(_)));
    }

    fn spec(func: AggFunc, arg: Option<Expr>, ty: SqlType) -> AggSpec {
        AggSpec { func, arg, ty, distinct: false, delim: None, order_by: vec![], filter: None }
    }

    /// The row path's partial aggregation (group.rs's `Groups::add_row`), for comparison.
    fn row_groups(rows: &[Vec<Datum>], filter: Option<&Expr>, keys: &[Expr], specs: &[AggSpec]) -> PartialGroups {
        let mut index = HashMap::new();
        let mut out: PartialGroups = Vec::new();
        for r in rows {
            let cx = expr::Ctx { row: r, params: &[], aggs: &[] };
            if let Some(f) = filter {
                if expr::truth(expr::eval(f, &cx).unwrap()) != Some(true) {
                    continue;
                }
            }
            let vals: Vec<Datum> = keys.iter().map(|k| expr::eval(k, &cx).unwrap()).collect();
            let g = *index.entry(crate::group::key_of(&vals)).or_insert_with(|| {
                out.push((vals.clone(), specs.iter().map(AggState::new).collect()));
                out.len() - 1
            });
            for (st, spec) in out[g].1.iter_mut().zip(specs) {
                let v = spec.arg.as_ref().map_or(Datum::Null, |a| expr::eval(a, &cx).unwrap());
                st.update_ref(spec, &v).unwrap();
            }
        }
        out
    }

    fn finished(groups: PartialGroups, specs: &[AggSpec]) -> Vec<String> {
        groups
            .into_iter()
            .map(|(vals, states)| {
                let fin: Vec<String> = states.into_iter().zip(specs).map(|(s, spec)| show(&s.finish(spec))).collect();
                format!("{vals:?} {fin:?}")
            })
            .collect()
    }

    #[test]
    fn batch_aggregates_match_the_row_path() {
        use AggFunc::*;
        let n = SqlType::NUMERIC;
        let disc = *ar(ArithOp::Mul, col(NUM2), ar(ArithOp::Sub, num("1"), col(NUM2), n), n);
        let specs = vec![
            spec(CountStar, None, SqlType::Int8),
            spec(Count, Some(*col(NUM)), SqlType::Int8),
            spec(Sum, Some(*col(INT4)), SqlType::Int8),
            spec(Sum, Some(*col(INT8)), n),
            spec(Sum, Some(*col(FLOAT8)), SqlType::Float8),
            spec(Avg, Some(*col(FLOAT8)), SqlType::Float8),
            spec(Sum, Some(*col(NUM)), n),
            spec(Avg, Some(*col(NUM2)), n),
            spec(Avg, Some(*col(INT2)), n),
            spec(Sum, Some(disc), n),
            spec(Min, Some(*col(TEXT)), SqlType::Text),
            spec(Max, Some(*col(BPCHAR)), SqlType::Bpchar(Some(3))),
            spec(Min, Some(*col(FLOAT8)), SqlType::Float8),
            spec(Max, Some(*col(FLOAT8)), SqlType::Float8),
            spec(Max, Some(*col(NUM)), n),
            spec(Min, Some(*col(NUM2)), n),
            spec(Max, Some(*col(DATE)), SqlType::Date),
        ];
        let filters = [None, Some(*cmp(CmpOp::Lt, col(INT4), int(10)))];
        let keys: Vec<Vec<Expr>> = vec![
            vec![],
            vec![*col(BPCHAR)],
            vec![*col(BOOL), *col(TEXT)],
            vec![*col(FLOAT8)],
            vec![*col(INT2), *col(DATE)],
        ];
        for seed in 10..13 {
            let rows = rows(3000, seed);
            for f in &filters {
                for k in &keys {
                    let a = Aggregation::of(f.as_ref(), k, &specs, &[]).expect("compiled");
                    let got = a.run(rows.iter()).unwrap().expect("typed rows");
                    let want = row_groups(&rows, f.as_ref(), k, &specs);
                    assert_eq!(finished(got, &specs), finished(want, &specs), "keys {k:?} filter {f:?}");
                }
            }
        }
        // No row passes: no group (the coordinator adds the empty one).
        let none = Some(*cmp(CmpOp::Lt, col(INT4), int(i32::MIN)));
        let a = Aggregation::of(none.as_ref(), &[], &specs, &[]).unwrap();
        assert!(a.run(rows(100, 1).iter()).unwrap().unwrap().is_empty());
    }

    #[test]
    fn batch_sum_overflow_is_postgresql_error() {
        let rows: Vec<Vec<Datum>> = (0..3000).map(|_| vec![Datum::Int8(i64::MAX / 1000)]).collect();
        let e = Expr::Column(0, SqlType::Int8);
        let s = spec(AggFunc::Sum, Some(e.clone()), SqlType::NUMERIC);
        let a = Aggregation::of(None, &[], std::slice::from_ref(&s), &[]).unwrap();
        assert!(a.run(rows.iter()).unwrap().is_some());
        let small: Vec<Vec<Datum>> = (0..3000).map(|_| vec![Datum::Int4(i32::MAX)]).collect();
        let e = Expr::Column(0, SqlType::Int4);
        let add = Expr::Arith(ArithOp::Add, Box::new(e.clone()), Box::new(e), SqlType::Int4);
        let s = spec(AggFunc::Sum, Some(add), SqlType::Int8);
        let a = Aggregation::of(None, &[], std::slice::from_ref(&s), &[]).unwrap();
        let err = a.run(small.iter()).unwrap_err();
        assert_eq!((err.code, err.message.as_str()), ("22003", "integer out of range"));
    }
}
