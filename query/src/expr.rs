//! Bound expressions and their evaluation. Expressions are plain data (`Send`), so a filter is
//! shipped to the shards with the scan and evaluated there. NULL follows SQL's three-valued
//! logic: comparisons and arithmetic with NULL give NULL, `AND`/`OR` follow the truth tables.

use crate::error::{code, Result, SqlError};
use crate::types;
use orbit_engine::table::{Datum, SqlType};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CmpOp {
    /// Whether the comparison holds for operands that compare as `o`.
    pub fn holds(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::NotEq => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::LtEq => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::GtEq => o != Ordering::Less,
        }
    }

    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::LtEq => CmpOp::GtEq,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::GtEq => CmpOp::LtEq,
            other => other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Lower,
    Upper,
    Length,
    Abs,
    Version,
    CurrentDatabase,
    CurrentUser,
    /// now(), CURRENT_TIMESTAMP, transaction_timestamp(): the transaction's start (timestamptz).
    Now,
    /// statement_timestamp(): the statement's start.
    StatementTimestamp,
    /// clock_timestamp(): the time when it is called.
    ClockTimestamp,
    /// LOCALTIMESTAMP (timestamp).
    LocalTimestamp,
    /// CURRENT_DATE.
    CurrentDate,
    /// LOCALTIME (time).
    LocalTime,
    /// date_part(unit, value) and EXTRACT(unit FROM value).
    DatePart,
    /// date_trunc(unit, value).
    DateTrunc,
    GenRandomUuid,
    /// The uuid-ossp extension's functions ([`crate::uuid_ossp`]).
    Uuid(crate::uuid_ossp::UuidFn),
    /// random(): a float8 in [0, 1), new for every call.
    Random,
    /// The other date/time functions (strict: NULL in, NULL out).
    Temporal(TemporalFn),
    /// `json -> key|index`; `->>` when true.
    JsonGet(bool),
}

/// Date/time functions evaluated by [`crate::datetime`], arguments coerced by the binder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemporalFn {
    /// age(timestamp[tz], timestamp[tz]) -> interval.
    Age,
    /// to_timestamp(float8) -> timestamptz.
    ToTimestamp,
    /// make_date(int4, int4, int4) -> date.
    MakeDate,
    /// to_date(text, format) -> date and to_timestamp(text, format) -> timestamptz
    /// ([`crate::to_timestamp`]).
    ToDateFormat,
    ToTimestampFormat,
    /// date_bin(interval, timestamp[tz], timestamp[tz]) -> the source's type.
    DateBin,
    /// make_time(int4 hour, int4 min, float8 sec) -> time.
    MakeTime,
    /// make_timestamp(int4 year, month, mday, hour, min, float8 sec) -> timestamp.
    MakeTimestamp,
    /// make_interval(int4 years, months, weeks, days, hours, mins, float8 secs) -> interval.
    MakeInterval,
    /// isfinite(date|timestamp|timestamptz|interval) -> bool.
    IsFinite,
    JustifyDays,
    JustifyHours,
    JustifyInterval,
    /// timestamp(p) / time(p) / interval(p): rounds to p fractional digits (p < 6).
    Round(u8),
    /// to_char(timestamp|timestamptz|interval, text) -> text.
    ToChar,
    /// A timestamptz read as local time in a zone (the session's, or AT TIME ZONE's), the zone's
    /// name the last argument ([`crate::zone`]).
    Zoned(ZoneOp),
    /// interval -> text in an IntervalStyle other than `postgres` (the session's).
    IntervalText(crate::datetime::IntervalStyle),
    /// text -> interval in IntervalStyle `sql_standard` (a leading minus applies to all fields).
    IntervalParse(crate::datetime::IntervalStyle),
    /// A cast to `interval <fields>` (`::interval day to minute`): the fields right of the
    /// range's last dropped (the typmod's range bits, [`crate::datetime::interval_in`]).
    IntervalRange(u16),
    /// make_timestamptz's zone read per row as parse_sane_timezone reads it (`'+2'` east), to
    /// the name a [`TemporalFn::Zoned`] call resolves ([`crate::zone::sane_zone_name`]).
    SaneZone,
    /// interval_hash(interval) -> int4.
    IntervalHash,
    /// timetz AT TIME ZONE an interval or fixed offset (timetz_izone): the same instant there.
    TimeTzAt,
}

/// What a [`TemporalFn::Zoned`] call does in its zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneOp {
    /// timestamptz -> timestamp: the local time there (AT TIME ZONE of a timestamptz, casts).
    ToLocal,
    /// timestamp -> timestamptz: the instant of that local time there.
    FromLocal,
    /// timestamptz -> text, with the offset there.
    Text,
    /// timestamptz -> its JSON string's text (ISO 8601, `2024-01-02T03:04:05-05:00`).
    JsonText,
    /// text -> timestamptz: a text without a zone is local time there.
    Parse,
    /// timestamptz + interval (true: minus): months and days move the local time.
    AddInterval(bool),
    /// date_part(unit, timestamptz).
    Part,
    /// date_trunc(unit, timestamptz).
    Trunc,
    /// to_char(timestamptz, format).
    ToChar,
    /// time, timestamptz or text -> timetz: the offset there (time_timetz, timestamptz_timetz,
    /// timetz_in in the session's zone).
    TimeTz,
    /// timetz AT TIME ZONE a named zone (timetz_zone): at the offset the zone has at the
    /// transaction's start (the second argument).
    TimeTzAt,
}

impl Func {
    /// Whether the function reads the statement clock.
    fn reads_clock(self) -> bool {
        matches!(
            self,
            Func::Now
                | Func::StatementTimestamp
                | Func::ClockTimestamp
                | Func::LocalTimestamp
                | Func::CurrentDate
                | Func::LocalTime
        )
    }

    /// Whether two calls with the same arguments may differ within a statement (so constant
    /// folding at bind time must leave the call alone).
    fn is_volatile(self) -> bool {
        self.reads_clock()
            || matches!(self, Func::GenRandomUuid | Func::Random)
            || matches!(self, Func::Uuid(u) if u.is_volatile())
    }
}

/// The statement's parameters with the transaction's and the statement's start times after
/// them: the time functions (now(), CURRENT_DATE, statement_timestamp(), ...) read them there,
/// so every row of every statement of a transaction, on every shard, sees the same time, as in
/// PostgreSQL.
pub fn with_clock(params: &[Datum], started_us: i64, statement_us: i64) -> Vec<Datum> {
    let mut v = Vec::with_capacity(params.len() + 2);
    v.extend_from_slice(params);
    v.push(Datum::TimestampTz(started_us));
    v.push(Datum::TimestampTz(statement_us));
    v
}

fn clock(f: Func, cx: &Ctx) -> Result<Datum> {
    let [.., Datum::TimestampTz(now), Datum::TimestampTz(statement)] = cx.params else {
        // Column defaults are computed once, at CREATE TABLE: no clock there.
        return Err(SqlError::unsupported("the current time is not available here (in a column default, say)"));
    };
    let now = *now;
    Ok(match f {
        Func::Now => Datum::TimestampTz(now),
        Func::StatementTimestamp => Datum::TimestampTz(*statement),
        Func::ClockTimestamp => Datum::TimestampTz(crate::datetime::now_us()),
        Func::LocalTimestamp => Datum::Timestamp(now),
        Func::CurrentDate => Datum::Date(crate::datetime::ts_to_date(now)),
        _ => Datum::Time(now.rem_euclid(crate::datetime::USECS_PER_DAY)),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    CountStar,
    Count,
    Sum,
    Min,
    Max,
    Avg,
    /// `string_agg(text, delimiter)`.
    StringAgg,
    /// `array_agg(value)`: NULLs included.
    ArrayAgg,
    /// `bool_and` and its SQL-standard spelling `every`.
    BoolAnd,
    BoolOr,
    /// bit_and, bit_or, bit_xor of int2, int4 or int8 (the result has the input's type).
    BitAnd,
    BitOr,
    BitXor,
    /// var_samp/variance, var_pop, stddev_samp/stddev, stddev_pop.
    Variance {
        sample: bool,
        sqrt: bool,
    },
    /// The two-argument float8 aggregates of Y and X (corr, covar_*, regr_*): Y is the
    /// spec's `arg`, X its `delim`.
    Regr(Regr),
}

/// corr, covar_pop, covar_samp and the regr_* aggregates: one state (PostgreSQL's
/// float8_regr_accum), each its own final function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regr {
    Corr,
    CovarPop,
    CovarSamp,
    AvgX,
    AvgY,
    Count,
    Intercept,
    R2,
    Slope,
    Sxx,
    Sxy,
    Syy,
}

impl Regr {
    pub fn named(name: &str) -> Option<Regr> {
        Some(match name {
            "corr" => Regr::Corr,
            "covar_pop" => Regr::CovarPop,
            "covar_samp" => Regr::CovarSamp,
            "regr_avgx" => Regr::AvgX,
            "regr_avgy" => Regr::AvgY,
            "regr_count" => Regr::Count,
            "regr_intercept" => Regr::Intercept,
            "regr_r2" => Regr::R2,
            "regr_slope" => Regr::Slope,
            "regr_sxx" => Regr::Sxx,
            "regr_sxy" => Regr::Sxy,
            "regr_syy" => Regr::Syy,
            _ => return None,
        })
    }

    /// The final functions (float8_corr, float8_regr_slope, ...) over the state
    /// [N, Sx, Sxx, Sy, Syy, Sxy]; regr_count is the count of rows with both values.
    fn finish(self, [n, sx, sxx, sy, syy, sxy]: [f64; 6]) -> Datum {
        if self == Regr::Count {
            return Datum::Int8(n as i64);
        }
        if n < 1.0 || (self == Regr::CovarSamp && n < 2.0) {
            return Datum::Null;
        }
        let v = match self {
            Regr::Sxx => sxx,
            Regr::Syy => syy,
            Regr::Sxy => sxy,
            Regr::AvgX => sx / n,
            Regr::AvgY => sy / n,
            Regr::CovarPop => sxy / n,
            Regr::CovarSamp => sxy / (n - 1.0),
            // Per the standard, NULL for horizontal and vertical lines.
            Regr::Corr if sxx == 0.0 || syy == 0.0 => return Datum::Null,
            Regr::Corr => sxy / (sxx * syy).sqrt(),
            Regr::R2 | Regr::Slope | Regr::Intercept if sxx == 0.0 => return Datum::Null,
            Regr::R2 if syy == 0.0 => 1.0,
            Regr::R2 => (sxy * sxy) / (sxx * syy),
            Regr::Slope => sxy / sxx,
            Regr::Intercept => (sy - sx * sxy / sxx) / n,
            Regr::Count => unreachable!("handled above"),
        };
        Datum::Float8(v)
    }
}

fn overflow() -> SqlError {
    SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow")
}

/// float8_accum: one value into [N, Sx, Sxx] (Youngs-Cramer).
pub(crate) fn float8_accum(t: &mut [f64; 3], x: f64) -> Result<()> {
    let [old_n, old_sx, _] = *t;
    let [mut n, mut sx, mut sxx] = *t;
    n += 1.0;
    sx += x;
    if old_n > 0.0 {
        let tmp = x * n - sx;
        sxx += tmp * tmp / (n * old_n);
        if sx.is_infinite() || sxx.is_infinite() {
            if !old_sx.is_infinite() && !x.is_infinite() {
                return Err(overflow());
            }
            sxx = f64::NAN;
        }
    } else if x.is_nan() || x.is_infinite() {
        sxx = f64::NAN;
    }
    *t = [n, sx, sxx];
    Ok(())
}

/// float8_combine: two partial [N, Sx, Sxx] states into one.
pub(crate) fn float8_combine(a: &mut [f64; 3], b: [f64; 3]) -> Result<()> {
    let [n1, sx1, sxx1] = *a;
    let [n2, sx2, sxx2] = b;
    if n1 == 0.0 {
        *a = b;
    } else if n2 != 0.0 {
        let n = n1 + n2;
        let t = sx1 / n1 - sx2 / n2;
        let sxx = sxx1 + sxx2 + n1 * n2 * t * t / n;
        if sxx.is_infinite() && !sxx1.is_infinite() && !sxx2.is_infinite() {
            return Err(overflow());
        }
        *a = [n, sx1 + sx2, sxx];
    }
    Ok(())
}

/// float8_regr_accum: one (Y, X) pair into [N, Sx, Sxx, Sy, Syy, Sxy] (Youngs-Cramer).
pub(crate) fn regr_accum(t: &mut [f64; 6], y: f64, x: f64) -> Result<()> {
    let [old_n, old_sx, _, old_sy, _, _] = *t;
    let [mut n, mut sx, mut sxx, mut sy, mut syy, mut sxy] = *t;
    n += 1.0;
    sx += x;
    sy += y;
    if old_n > 0.0 {
        let tmp_x = x * n - sx;
        let tmp_y = y * n - sy;
        let scale = 1.0 / (n * old_n);
        sxx += tmp_x * tmp_x * scale;
        syy += tmp_y * tmp_y * scale;
        sxy += tmp_x * tmp_y * scale;
        // An overflow only when finite inputs give infinite results; Sxx, Syy and Sxy are NaN
        // (not infinite) where an input is infinite.
        if sx.is_infinite() || sxx.is_infinite() || sy.is_infinite() || syy.is_infinite() || sxy.is_infinite() {
            let finite_x = !old_sx.is_infinite() && !x.is_infinite();
            let finite_y = !old_sy.is_infinite() && !y.is_infinite();
            if ((sx.is_infinite() || sxx.is_infinite()) && finite_x)
                || ((sy.is_infinite() || syy.is_infinite()) && finite_y)
                || (sxy.is_infinite() && finite_x && finite_y)
            {
                return Err(overflow());
            }
            for v in [&mut sxx, &mut syy, &mut sxy] {
                if v.is_infinite() {
                    *v = f64::NAN;
                }
            }
        }
    } else {
        // A first input that is Inf or NaN makes the dependent sums NaN (not a variance of 0).
        if x.is_nan() || x.is_infinite() {
            (sxx, sxy) = (f64::NAN, f64::NAN);
        }
        if y.is_nan() || y.is_infinite() {
            (syy, sxy) = (f64::NAN, f64::NAN);
        }
    }
    *t = [n, sx, sxx, sy, syy, sxy];
    Ok(())
}

/// float8_pl: a sum of finite values that overflows is an error.
fn float_plus(a: f64, b: f64) -> Result<f64> {
    let r = a + b;
    if r.is_infinite() && !a.is_infinite() && !b.is_infinite() {
        return Err(overflow());
    }
    Ok(r)
}

/// float8_regr_combine: two partial states (one per shard) into one.
pub(crate) fn regr_combine(a: &mut [f64; 6], b: [f64; 6]) -> Result<()> {
    let [n1, sx1, sxx1, sy1, syy1, sxy1] = *a;
    let [n2, sx2, sxx2, sy2, syy2, sxy2] = b;
    if n1 == 0.0 {
        *a = b;
        return Ok(());
    }
    if n2 == 0.0 {
        return Ok(());
    }
    let n = n1 + n2;
    let sx = float_plus(sx1, sx2)?;
    let tmp1 = sx1 / n1 - sx2 / n2;
    let sxx = sxx1 + sxx2 + n1 * n2 * tmp1 * tmp1 / n;
    if sxx.is_infinite() && !sxx1.is_infinite() && !sxx2.is_infinite() {
        return Err(overflow());
    }
    let sy = float_plus(sy1, sy2)?;
    let tmp2 = sy1 / n1 - sy2 / n2;
    let syy = syy1 + syy2 + n1 * n2 * tmp2 * tmp2 / n;
    if syy.is_infinite() && !syy1.is_infinite() && !syy2.is_infinite() {
        return Err(overflow());
    }
    let sxy = sxy1 + sxy2 + n1 * n2 * tmp1 * tmp2 / n;
    if sxy.is_infinite() && !sxy1.is_infinite() && !sxy2.is_infinite() {
        return Err(overflow());
    }
    *a = [n, sx, sxx, sy, syy, sxy];
    Ok(())
}

/// An aggregate call: computed as partial states on every shard and merged on the coordinator
/// (per group with GROUP BY, see [`crate::group`]).
#[derive(Debug, Clone)]
pub struct AggSpec {
    pub func: AggFunc,
    pub arg: Option<Expr>,
    pub ty: SqlType,
    /// `agg(DISTINCT ...)`: duplicate argument values count once.
    pub distinct: bool,
    /// string_agg's delimiter.
    pub delim: Option<Expr>,
    /// `agg(... ORDER BY ...)`: the order the values are fed in.
    pub order_by: Vec<AggOrder>,
    /// `agg(...) FILTER (WHERE cond)`: only rows where cond is true are fed in.
    pub filter: Option<Expr>,
}

/// One `ORDER BY` key inside an aggregate call.
#[derive(Debug, Clone)]
pub struct AggOrder {
    pub expr: Expr,
    pub desc: bool,
    pub nulls_first: bool,
}

#[derive(Debug, Clone)]
pub enum Expr {
    Const(Datum, SqlType),
    /// A column of the input row.
    Column(usize, SqlType),
    /// A parameter (`$n`, 0-based here).
    Param(usize, SqlType),
    Arith(ArithOp, Box<Expr>, Box<Expr>, SqlType),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    Concat(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>, SqlType),
    IsNull(Box<Expr>, bool),
    /// `IS [NOT] TRUE/FALSE`: (expr, value, negated).
    IsBool(Box<Expr>, bool, bool),
    InList(Box<Expr>, Vec<Expr>, bool),
    /// `x [NOT] IN` a subquery's values, hashed ([`crate::relation::ValueSet`]).
    InSet(Box<Expr>, std::sync::Arc<crate::relation::ValueSet>, bool),
    /// The value a correlated subquery had for the row with this key ([`crate::relation::ValueMap`]).
    Lookup(Box<Expr>, std::sync::Arc<crate::relation::ValueMap>, SqlType),
    /// (expr, pattern, negated, case-insensitive)
    Like(Box<Expr>, Box<Expr>, bool, bool),
    /// (expr, target type, explicit)
    Cast(Box<Expr>, SqlType, bool),
    Coalesce(Vec<Expr>, SqlType),
    Func(Func, Vec<Expr>, SqlType),
    /// The result of aggregate number `n`.
    Agg(usize, SqlType),
    /// `CASE WHEN cond THEN result ... [ELSE result] END` (the binder turns `CASE x WHEN v` into
    /// `WHEN x = v`).
    Case(Vec<(Expr, Expr)>, Option<Box<Expr>>, SqlType),
    /// A scalar function of [`crate::scalar`].
    Call(crate::scalar::Builtin, Vec<Expr>, SqlType),
}

impl Expr {
    pub fn ty(&self) -> SqlType {
        match self {
            Expr::Const(_, t) | Expr::Column(_, t) | Expr::Param(_, t) | Expr::Arith(.., t) => *t,
            Expr::Neg(_, t) | Expr::Cast(_, t, _) | Expr::Coalesce(_, t) | Expr::Func(_, _, t) | Expr::Agg(_, t) => *t,
            Expr::Case(.., t) | Expr::Call(_, _, t) | Expr::Lookup(.., t) => *t,
            Expr::Concat(..) => SqlType::Text,
            _ => SqlType::Bool,
        }
    }

    /// Whether the expression reads no column (a constant or parameter, possibly cast).
    pub fn is_row_independent(&self) -> bool {
        match self {
            Expr::Const(..) | Expr::Param(..) => true,
            Expr::Cast(e, ..) => e.is_row_independent(),
            _ => false,
        }
    }

    /// Calls `f` on every column index the expression reads outside aggregates.
    pub fn visit_columns(&self, f: &mut dyn FnMut(usize)) {
        match self {
            Expr::Column(i, _) => f(*i),
            Expr::Const(..) | Expr::Param(..) | Expr::Agg(..) => {}
            Expr::Arith(_, a, b, _) | Expr::Cmp(_, a, b) | Expr::Concat(a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                a.visit_columns(f);
                b.visit_columns(f)
            }
            Expr::Like(a, b, ..) => {
                a.visit_columns(f);
                b.visit_columns(f)
            }
            Expr::Not(a) | Expr::Neg(a, _) | Expr::IsNull(a, _) | Expr::IsBool(a, ..) | Expr::Cast(a, ..) => {
                a.visit_columns(f)
            }
            Expr::InList(a, l, _) => {
                a.visit_columns(f);
                l.iter().for_each(|e| e.visit_columns(f))
            }
            Expr::InSet(a, ..) | Expr::Lookup(a, ..) => a.visit_columns(f),
            Expr::Coalesce(l, _) | Expr::Func(_, l, _) | Expr::Call(_, l, _) => {
                l.iter().for_each(|e| e.visit_columns(f))
            }
            Expr::Case(whens, otherwise, _) => {
                otherwise.iter().for_each(|e| e.visit_columns(f));
                for (w, t) in whens {
                    w.visit_columns(f);
                    t.visit_columns(f);
                }
            }
        }
    }
}

/// What [`Expr::try_map_calls`] calls: a builtin and its arguments, to a replacement or None.
pub type CallMapper<'a> = dyn FnMut(crate::scalar::Builtin, &[Expr]) -> Result<Option<Expr>> + 'a;

impl Expr {
    /// The direct sub-expressions, in evaluation order.
    pub(crate) fn children_mut(&mut self) -> Vec<&mut Expr> {
        match self {
            Expr::Const(..) | Expr::Column(..) | Expr::Param(..) | Expr::Agg(..) => vec![],
            Expr::Arith(_, a, b, _)
            | Expr::Cmp(_, a, b)
            | Expr::Concat(a, b)
            | Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Like(a, b, ..) => vec![&mut **a, &mut **b],
            Expr::Not(a) | Expr::Neg(a, _) | Expr::IsNull(a, _) | Expr::IsBool(a, ..) | Expr::Cast(a, ..) => {
                vec![&mut **a]
            }
            Expr::InList(a, l, _) => std::iter::once(&mut **a).chain(l.iter_mut()).collect(),
            Expr::InSet(a, ..) | Expr::Lookup(a, ..) => vec![&mut **a],
            Expr::Coalesce(l, _) | Expr::Func(_, l, _) | Expr::Call(_, l, _) => l.iter_mut().collect(),
            Expr::Case(whens, otherwise, _) => {
                let mut v: Vec<&mut Expr> = Vec::new();
                for (w, t) in whens.iter_mut() {
                    v.push(w);
                    v.push(t);
                }
                v.extend(otherwise.iter_mut().map(|b| &mut **b));
                v
            }
        }
    }

    /// Calls `f` on this expression and every sub-expression, parents first.
    pub fn visit(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Const(..) | Expr::Column(..) | Expr::Param(..) | Expr::Agg(..) => {}
            Expr::Arith(_, a, b, _)
            | Expr::Cmp(_, a, b)
            | Expr::Concat(a, b)
            | Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Like(a, b, ..) => {
                a.visit(f);
                b.visit(f)
            }
            Expr::Not(a) | Expr::Neg(a, _) | Expr::IsNull(a, _) | Expr::IsBool(a, ..) | Expr::Cast(a, ..) => a.visit(f),
            Expr::InList(a, l, _) => {
                a.visit(f);
                l.iter().for_each(|e| e.visit(f))
            }
            Expr::InSet(a, ..) | Expr::Lookup(a, ..) => a.visit(f),
            Expr::Coalesce(l, _) | Expr::Func(_, l, _) | Expr::Call(_, l, _) => l.iter().for_each(|e| e.visit(f)),
            Expr::Case(whens, otherwise, _) => {
                for (w, t) in whens {
                    w.visit(f);
                    t.visit(f);
                }
                otherwise.iter().for_each(|e| e.visit(f));
            }
        }
    }

    /// Replaces each call of a [`crate::scalar::Builtin`] for which `f` returns a value,
    /// evaluating arguments first (left to right).
    pub fn try_map_calls(&mut self, f: &mut CallMapper) -> Result<()> {
        for c in self.children_mut() {
            c.try_map_calls(f)?;
        }
        if let Expr::Call(b, args, _) = self {
            if let Some(v) = f(*b, args)? {
                *self = v;
            }
        }
        Ok(())
    }
}

/// What an expression reads: the input row, the statement's parameters and, after
/// aggregation, the aggregate results.
pub struct Ctx<'a> {
    pub row: &'a [Datum],
    pub params: &'a [Datum],
    pub aggs: &'a [Datum],
}

/// An operand's value, borrowed where it already is (a column, constant, parameter or
/// aggregate: no copy of a text or numeric per row), computed otherwise.
pub(crate) fn operand<'a>(e: &'a Expr, cx: &Ctx<'a>) -> Result<std::borrow::Cow<'a, Datum>> {
    use std::borrow::Cow;
    const NULL: &Datum = &Datum::Null;
    Ok(match e {
        Expr::Const(d, _) => Cow::Borrowed(d),
        Expr::Column(i, _) => Cow::Borrowed(cx.row.get(*i).unwrap_or(NULL)),
        Expr::Param(i, _) => Cow::Borrowed(cx.params.get(*i).unwrap_or(NULL)),
        Expr::Agg(i, _) => Cow::Borrowed(cx.aggs.get(*i).unwrap_or(NULL)),
        _ => Cow::Owned(eval(e, cx)?),
    })
}

pub fn eval(e: &Expr, cx: &Ctx) -> Result<Datum> {
    Ok(match e {
        Expr::Const(d, _) => d.clone(),
        Expr::Column(i, _) => cx.row.get(*i).cloned().unwrap_or(Datum::Null),
        Expr::Param(i, _) => cx.params.get(*i).cloned().unwrap_or(Datum::Null),
        Expr::Agg(i, _) => cx.aggs.get(*i).cloned().unwrap_or(Datum::Null),
        // Everything else may recurse.
        _ if crate::stack_depth::check().is_err() => return Err(crate::stack_depth::exceeded()),
        Expr::Arith(op, a, b, ty) => {
            let (a, b) = (operand(a, cx)?, operand(b, cx)?);
            if a.is_null() || b.is_null() {
                Datum::Null
            } else {
                arith(*op, &a, &b, *ty)?
            }
        }
        Expr::Neg(a, ty) => match eval(a, cx)? {
            Datum::Null => Datum::Null,
            Datum::Interval(iv) => Datum::Interval(crate::datetime::interval_neg(&iv)?),
            // Not 0 - x: -(0.0) is -0 in PostgreSQL.
            Datum::Float4(x) => Datum::Float4(-x),
            Datum::Float8(x) => Datum::Float8(-x),
            v => arith(ArithOp::Sub, &zero(*ty), &v, *ty)?,
        },
        Expr::Cmp(op, a, b) => {
            let (a, b) = (operand(a, cx)?, operand(b, cx)?);
            match compare(&a, &b) {
                None => Datum::Null,
                Some(o) => Datum::Bool(op.holds(o)),
            }
        }
        Expr::Concat(a, b) => {
            let (a, b) = (eval(a, cx)?, eval(b, cx)?);
            match (types::cast_text(&a), types::cast_text(&b)) {
                (Some(a), Some(b)) => Datum::Text(a + &b),
                _ => Datum::Null,
            }
        }
        Expr::And(a, b) => {
            let a = truth(eval(a, cx)?);
            if a == Some(false) {
                return Ok(Datum::Bool(false));
            }
            match (a, truth(eval(b, cx)?)) {
                (_, Some(false)) => Datum::Bool(false),
                (Some(true), Some(true)) => Datum::Bool(true),
                _ => Datum::Null,
            }
        }
        Expr::Or(a, b) => {
            let a = truth(eval(a, cx)?);
            if a == Some(true) {
                return Ok(Datum::Bool(true));
            }
            match (a, truth(eval(b, cx)?)) {
                (_, Some(true)) => Datum::Bool(true),
                (Some(false), Some(false)) => Datum::Bool(false),
                _ => Datum::Null,
            }
        }
        Expr::Not(a) => match truth(eval(a, cx)?) {
            Some(v) => Datum::Bool(!v),
            None => Datum::Null,
        },
        // A record is NULL when every field is, NOT NULL when none is (PostgreSQL's row test).
        Expr::IsNull(a, negated) => Datum::Bool(match eval(a, cx)? {
            Datum::Record(f) if *negated => f.iter().all(|d| !d.is_null()),
            Datum::Record(f) => f.iter().all(Datum::is_null),
            v => v.is_null() != *negated,
        }),
        Expr::IsBool(a, value, negated) => Datum::Bool((truth(eval(a, cx)?) == Some(*value)) != *negated),
        Expr::InList(a, list, negated) => {
            let v = eval(a, cx)?;
            let mut saw_null = v.is_null();
            let mut found = false;
            if !v.is_null() {
                for item in list {
                    match compare(&v, &eval(item, cx)?) {
                        Some(Ordering::Equal) => {
                            found = true;
                            break;
                        }
                        None => saw_null = true,
                        _ => {}
                    }
                }
            }
            if found {
                Datum::Bool(!negated)
            } else if saw_null {
                Datum::Null
            } else {
                Datum::Bool(*negated)
            }
        }
        Expr::InSet(a, set, negated) => match set.contains(&eval(a, cx)?) {
            Some(found) => Datum::Bool(found != *negated),
            None => Datum::Null,
        },
        Expr::Lookup(a, map, _) => map.get(&eval(a, cx)?),
        Expr::Like(a, p, negated, ci) => {
            let (a, p) = (eval(a, cx)?, eval(p, cx)?);
            match (a, p) {
                (Datum::Text(s) | Datum::Bpchar(s), Datum::Text(p)) => {
                    let m = if *ci { like(&s.to_lowercase(), &p.to_lowercase())? } else { like(&s, &p)? };
                    Datum::Bool(m != *negated)
                }
                _ => Datum::Null,
            }
        }
        Expr::Cast(a, to, explicit) if a.ty() == SqlType::Char => types::cast_char(eval(a, cx)?, *to, *explicit)?,
        Expr::Cast(a, to, explicit) => types::cast(eval(a, cx)?, *to, *explicit)?,
        Expr::Coalesce(list, _) => {
            for item in list {
                let v = eval(item, cx)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Datum::Null
        }
        Expr::Func(f, _, _) if f.reads_clock() => clock(*f, cx)?,
        Expr::Func(f, args, _) => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(a, cx)?);
            }
            func(*f, vals)?
        }
        Expr::Case(whens, otherwise, _) => {
            for (w, then) in whens {
                if truth(eval(w, cx)?) == Some(true) {
                    return eval(then, cx);
                }
            }
            match otherwise {
                Some(e) => eval(e, cx)?,
                None => Datum::Null,
            }
        }
        Expr::Call(f, args, _) => {
            let mut vals = Vec::with_capacity(args.len());
            for a in args {
                vals.push(eval(a, cx)?);
            }
            crate::scalar::call(*f, vals)?
        }
    })
}

/// The truth value of a boolean datum (None for NULL).
/// PostgreSQL's constant folding at plan time (eval_const_expressions): every subexpression
/// that reads no column, parameter or aggregate is computed once, here, so its error (1 / 0,
/// an overflow) is the statement's error even when no row would reach it; AND and OR drop
/// constant arms that decide nothing and become the constant one that decides (`x AND false`
/// is false, `x OR true` is true, without computing x).
pub fn fold(e: Expr) -> Result<Expr> {
    let b = |e: Box<Expr>| fold(*e).map(Box::new);
    let v = |l: Vec<Expr>| l.into_iter().map(fold).collect::<Result<Vec<_>>>();
    let e = match e {
        Expr::Const(..) | Expr::Column(..) | Expr::Param(..) | Expr::Agg(..) => return Ok(e),
        // Left to right, stopping at a deciding constant (PostgreSQL's simplify_and_arguments
        // returns there, before it folds the operands after it).
        Expr::And(x, y) => return fold_and_or(*x, *y, false),
        Expr::Or(x, y) => return fold_and_or(*x, *y, true),
        Expr::Arith(op, x, y, t) => Expr::Arith(op, b(x)?, b(y)?, t),
        Expr::Cmp(op, x, y) => Expr::Cmp(op, b(x)?, b(y)?),
        Expr::Concat(x, y) => Expr::Concat(b(x)?, b(y)?),
        Expr::Not(x) => Expr::Not(b(x)?),
        Expr::Neg(x, t) => Expr::Neg(b(x)?, t),
        Expr::IsNull(x, n) => Expr::IsNull(b(x)?, n),
        Expr::IsBool(x, val, n) => Expr::IsBool(b(x)?, val, n),
        Expr::InList(x, l, n) => Expr::InList(b(x)?, v(l)?, n),
        Expr::InSet(x, s, n) => Expr::InSet(b(x)?, s, n),
        Expr::Lookup(x, m, t) => Expr::Lookup(b(x)?, m, t),
        Expr::Like(x, p, n, ci) => Expr::Like(b(x)?, b(p)?, n, ci),
        Expr::Cast(x, t, explicit) => Expr::Cast(b(x)?, t, explicit),
        // In order: NULL constants drop out, a non-NULL constant ends the list (what follows it is
        // not folded), as in PostgreSQL.
        Expr::Coalesce(l, t) => {
            let mut kept = Vec::with_capacity(l.len());
            for a in l {
                match fold(a)? {
                    Expr::Const(Datum::Null, _) => {}
                    Expr::Const(d, _) if kept.is_empty() => return Ok(Expr::Const(d, t)),
                    c @ Expr::Const(..) => {
                        kept.push(c);
                        break;
                    }
                    a => kept.push(a),
                }
            }
            if kept.is_empty() {
                return Ok(Expr::Const(Datum::Null, t));
            }
            Expr::Coalesce(kept, t)
        }
        Expr::Func(f, l, t) => Expr::Func(f, v(l)?, t),
        Expr::Call(f, l, t) => Expr::Call(f, v(l)?, t),
        Expr::Case(whens, otherwise, t) => return fold_case(whens, otherwise, t),
    };
    let constant = match &e {
        Expr::Arith(_, x, y, _) | Expr::Cmp(_, x, y) | Expr::Concat(x, y) | Expr::Like(x, y, ..) => {
            is_const(x) && is_const(y)
        }
        Expr::Not(x) | Expr::Neg(x, _) | Expr::IsNull(x, _) | Expr::IsBool(x, ..) | Expr::Cast(x, ..) => is_const(x),
        Expr::InList(x, l, _) => is_const(x) && l.iter().all(is_const),
        Expr::Func(f, _, _) if f.is_volatile() => false,
        Expr::Call(f, _, _)
            if f.is_sequence()
                || f.reads_shards()
                || matches!(
                    f,
                    crate::scalar::Builtin::Sleep(_)
                        | crate::scalar::Builtin::Advisory(_)
                        | crate::scalar::Builtin::PlCall(..)
                        // Stable, as in PostgreSQL: a custom parameter the session lacks when
                        // a statement is prepared is an error when it runs, not when prepared.
                        | crate::scalar::Builtin::Catalog(crate::catalog_fns::CatalogFn::CurrentSetting)
                        // An anonymous row constructor stays one: a cast or an assignment to a
                        // composite type takes its fields (`bind/composites.rs`).
                        | crate::scalar::Builtin::MakeRecord(_)
                ) =>
        {
            false
        }
        Expr::Coalesce(l, _) | Expr::Func(_, l, _) | Expr::Call(_, l, _) => l.iter().all(is_const),
        _ => false,
    };
    if !constant {
        return Ok(e);
    }
    let ty = e.ty();
    Ok(Expr::Const(eval(&e, &Ctx { row: &[], params: &[], aggs: &[] })?, ty))
}

/// CASE as PostgreSQL's eval_const_expressions simplifies it: every part is folded (so a
/// constant error in any arm is raised), except that an arm whose condition folds to false or
/// NULL is dropped unfolded and a condition that folds to true ends the CASE there (its result
/// becomes the ELSE; later arms are not looked at).
fn fold_case(whens: Vec<(Expr, Expr)>, otherwise: Option<Box<Expr>>, t: SqlType) -> Result<Expr> {
    let mut kept = Vec::with_capacity(whens.len());
    let mut otherwise = otherwise;
    let mut decided = false;
    for (w, then) in whens {
        let w = fold(w)?;
        match &w {
            Expr::Const(d, _) if truth(d.clone()) != Some(true) => continue,
            Expr::Const(..) => {
                otherwise = Some(Box::new(fold(then)?));
                decided = true;
                break;
            }
            _ => {}
        }
        kept.push((w, fold(then)?));
    }
    let otherwise = match otherwise {
        Some(e) if decided => Some(e),
        Some(e) => Some(Box::new(fold(*e)?)),
        None => None,
    };
    if kept.is_empty() {
        return Ok(match otherwise {
            Some(e) => *e,
            None => Expr::Const(Datum::Null, t),
        });
    }
    // Every condition left is not a constant: nothing more folds.
    Ok(Expr::Case(kept, otherwise, t))
}

fn is_const(e: &Expr) -> bool {
    matches!(e, Expr::Const(..))
}

fn fold_and_or(x: Expr, y: Expr, or: bool) -> Result<Expr> {
    let x = fold(x)?;
    if matches!(x, Expr::Const(Datum::Bool(k), _) if k == or) {
        return Ok(x);
    }
    Ok(and_or(Box::new(x), Box::new(fold(y)?), or))
}

/// AND (`or` false) or OR (`or` true) of two folded operands.
fn and_or(x: Box<Expr>, y: Box<Expr>, or: bool) -> Expr {
    let known = |e: &Expr| match e {
        Expr::Const(d, _) => Some(truth(d.clone())),
        _ => None,
    };
    match (known(&x), known(&y)) {
        // The deciding constant: false for AND, true for OR.
        (Some(Some(k)), _) | (_, Some(Some(k))) if k == or => Expr::Const(Datum::Bool(or), SqlType::Bool),
        // The neutral constant drops out.
        (Some(Some(_)), _) => *y,
        (_, Some(Some(_))) => *x,
        (Some(None), Some(None)) => Expr::Const(Datum::Null, SqlType::Bool),
        _ if or => Expr::Or(x, y),
        _ => Expr::And(x, y),
    }
}

pub fn truth(d: Datum) -> Option<bool> {
    match d {
        Datum::Bool(b) => Some(b),
        _ => None,
    }
}

fn zero(ty: SqlType) -> Datum {
    match ty {
        SqlType::Int2 => Datum::Int2(0),
        SqlType::Int4 => Datum::Int4(0),
        SqlType::Int8 => Datum::Int8(0),
        SqlType::Float4 => Datum::Float4(0.0),
        SqlType::Numeric(_) => Datum::Numeric("0".into()),
        _ => Datum::Float8(0.0),
    }
}

fn arith(op: ArithOp, a: &Datum, b: &Datum, ty: SqlType) -> Result<Datum> {
    if let Some(d) = crate::datetime::arith(op, a, b)? {
        return Ok(d);
    }
    if ty.is_decimal() {
        return crate::numeric::arith(op, a, b);
    }
    if ty.is_integer() {
        let (x, y) = (a.as_i64().unwrap_or_default(), b.as_i64().unwrap_or_default());
        let name = match ty {
            SqlType::Int2 => "smallint",
            SqlType::Int4 => "integer",
            _ => "bigint",
        };
        let r = match op {
            ArithOp::Add => x.checked_add(y),
            ArithOp::Sub => x.checked_sub(y),
            ArithOp::Mul => x.checked_mul(y),
            ArithOp::Div | ArithOp::Mod if y == 0 => return Err(SqlError::division_by_zero()),
            ArithOp::Div => x.checked_div(y),
            // i64::MIN % -1 overflows in Rust; the result is 0 in PostgreSQL.
            ArithOp::Mod => Some(x.checked_rem(y).unwrap_or(0)),
        }
        .ok_or_else(|| SqlError::out_of_range(name))?;
        return match ty {
            SqlType::Int2 => i16::try_from(r).map(Datum::Int2).map_err(|_| SqlError::out_of_range(name)),
            SqlType::Int4 => i32::try_from(r).map(Datum::Int4).map_err(|_| SqlError::out_of_range(name)),
            _ => Ok(Datum::Int8(r)),
        };
    }
    let (x, y) = (a.as_f64().unwrap_or_default(), b.as_f64().unwrap_or_default());
    let r = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        // float8_div: NaN divided by zero is NaN.
        ArithOp::Div if y == 0.0 && !x.is_nan() => return Err(SqlError::division_by_zero()),
        ArithOp::Div => x / y,
        ArithOp::Mod => return Err(SqlError::internal("float modulo")),
    };
    // PostgreSQL's checks (utils/float.h): a product or quotient that became 0 from operands
    // that could not give 0 underflowed; an infinite result from finite operands overflowed.
    let checks = |r_inf: bool, r_zero: bool| match op {
        ArithOp::Mul => (r_inf && x.is_finite() && y.is_finite(), r_zero && x != 0.0 && y != 0.0),
        ArithOp::Div => (r_inf && x.is_finite(), r_zero && x != 0.0 && !y.is_infinite()),
        _ => (r_inf && x.is_finite() && y.is_finite(), false),
    };
    let (overflow, underflow) = checks(r.is_infinite(), r == 0.0);
    if ty == SqlType::Float4 {
        let f = r as f32;
        let (overflow, underflow) = checks(f.is_infinite(), f == 0.0);
        if overflow {
            return Err(SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow"));
        }
        if underflow {
            return Err(SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: underflow"));
        }
        return Ok(Datum::Float4(f));
    }
    if overflow {
        return Err(SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow"));
    }
    if underflow {
        return Err(SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: underflow"));
    }
    Ok(Datum::Float8(r))
}

/// SQL comparison of two values of comparable types; None when either is NULL. Floats order
/// NaN above every other value and equal to itself, as PostgreSQL does; text compares by
/// bytes (the C collation).
pub fn compare(a: &Datum, b: &Datum) -> Option<Ordering> {
    Some(match (a, b) {
        (Datum::Null, _) | (_, Datum::Null) => return None,
        (Datum::Bool(x), Datum::Bool(y)) => x.cmp(y),
        (Datum::Text(x), Datum::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Datum::Bpchar(x), Datum::Bpchar(y)) => types::bpchar_text(x).as_bytes().cmp(types::bpchar_text(y).as_bytes()),
        (Datum::Bytea(x), Datum::Bytea(y)) => x.cmp(y),
        (Datum::Timestamp(x), Datum::Timestamp(y))
        | (Datum::TimestampTz(x), Datum::TimestampTz(y))
        | (Datum::Time(x), Datum::Time(y)) => x.cmp(y),
        (Datum::Date(x), Datum::Date(y)) => x.cmp(y),
        (Datum::TimeTz(x, a), Datum::TimeTz(y, b)) => crate::datetime::timetz::cmp((*x, *a), (*y, *b)),
        (Datum::Interval(x), Datum::Interval(y)) => {
            crate::datetime::interval_span(x).cmp(&crate::datetime::interval_span(y))
        }
        (Datum::Uuid(x), Datum::Uuid(y)) => x.cmp(y),
        (Datum::Oid(_, x), Datum::Oid(_, y)) => x.cmp(y),
        // Enum values by their sort positions (never NaN).
        (Datum::Enum(_, x), Datum::Enum(_, y)) => x.total_cmp(y),
        (Datum::Jsonb(x), Datum::Jsonb(y)) => crate::json::compare_jsonb(x, y),
        (Datum::Array(x), Datum::Array(y)) => crate::array::compare(x, y),
        // record_cmp: field by field, a NULL field equal to a NULL and after every value.
        (Datum::Record(x), Datum::Record(y)) => {
            for (a, b) in x.iter().zip(y.iter()) {
                let o = match (a.is_null(), b.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    _ => compare(a, b)?,
                };
                if o != Ordering::Equal {
                    return Some(o);
                }
            }
            x.len().cmp(&y.len())
        }
        (Datum::Numeric(_), Datum::Numeric(_) | Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_))
        | (Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_), Datum::Numeric(_)) => crate::numeric::compare(a, b)?,
        _ => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => {
                let (x, y) = (a.as_f64()?, b.as_f64()?);
                match (x.is_nan(), y.is_nan()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => Ordering::Greater,
                    (false, true) => Ordering::Less,
                    _ => x.partial_cmp(&y)?,
                }
            }
        },
    })
}

/// SQL LIKE with `%`, `_` and backslash as the escape character.
/// lower()/upper() as PostgreSQL does them under a libc locale (towlower/towupper): Unicode's
/// simple, one character to one character mappings. Rust's are the full ones; where those give
/// several characters, the simple mapping is the first of them for lowercase (only 'İ' -> 'i'
/// plus a combining dot) and none for uppercase (upper('ß') stays 'ß', not 'SS').
fn case_map<I: Iterator<Item = char> + ExactSizeIterator>(s: &str, f: fn(char) -> I, first_of_many: bool) -> String {
    s.chars()
        .map(|c| {
            let mut m = f(c);
            match (m.len(), m.next()) {
                (1, Some(u)) => u,
                (_, Some(u)) if first_of_many => u,
                _ => c,
            }
        })
        .collect()
}

pub fn like(s: &str, p: &str) -> Result<bool> {
    if !p.contains(['_', '\\']) {
        return Ok(like_segments(s, p));
    }
    let s: Vec<char> = s.chars().collect();
    let mut pat = Vec::new();
    let mut it = p.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(e) => pat.push((e, false)),
                None => {
                    // PostgreSQL raises this only when matching reaches the escape with text
                    // left over; otherwise the pattern just does not match.
                    pat.extend([('_', true), ('%', true)]);
                    if like_chars(&s, &pat) {
                        return Err(SqlError::new(
                            code::INVALID_ESCAPE_SEQUENCE,
                            "LIKE pattern must not end with escape character",
                        ));
                    }
                    return Ok(false);
                }
            },
            '%' | '_' => pat.push((c, true)),
            _ => pat.push((c, false)),
        }
    }
    Ok(like_chars(&s, &pat))
}

/// LIKE with a pattern of literal runs between `%`s (no `_`, no escape), on bytes: the first
/// run must start `s`, the last end it, and each one between is found leftmost after the one
/// before (leftmost is never worse for the runs after it). UTF-8 is self-synchronizing, so a
/// byte match of a literal run is a match by characters.
fn like_segments(s: &str, p: &str) -> bool {
    let mut runs = p.split('%');
    let first = runs.next().unwrap_or("");
    let Some(last) = runs.next_back() else { return s == first };
    if s.len() < first.len() + last.len() || !s.starts_with(first) || !s.ends_with(last) {
        return false;
    }
    let (mut at, end) = (first.len(), s.len() - last.len());
    for run in runs.filter(|r| !r.is_empty()) {
        match memchr::memmem::find(&s.as_bytes()[at..end], run.as_bytes()) {
            Some(i) => at += i + run.len(),
            None => return false,
        }
    }
    true
}

/// Matches `s` against a parsed pattern: (char, true) is a wildcard `%` or `_`.
fn like_chars(s: &[char], pat: &[(char, bool)]) -> bool {
    // Iterative matcher with backtracking on the last '%'.
    let (mut si, mut pi) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while si < s.len() {
        if pi < pat.len() && (pat[pi] == ('_', true) || (!pat[pi].1 && pat[pi].0 == s[si])) {
            si += 1;
            pi += 1;
        } else if pi < pat.len() && pat[pi] == ('%', true) {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < pat.len() && pat[pi] == ('%', true) {
        pi += 1;
    }
    pi == pat.len()
}

fn func(f: Func, args: Vec<Datum>) -> Result<Datum> {
    use crate::datetime as dt;
    if matches!(f, Func::DatePart | Func::DateTrunc | Func::JsonGet(_)) {
        let mut it = args.into_iter();
        let (a, b) = (it.next().unwrap_or(Datum::Null), it.next().unwrap_or(Datum::Null));
        return Ok(match (f, a, b) {
            (_, Datum::Null, _) | (_, _, Datum::Null) => Datum::Null,
            (Func::DatePart, Datum::Text(u), v) => match v {
                Datum::Timestamp(t) => dt::ts_part(&u, t, false)?,
                Datum::TimestampTz(t) => dt::ts_part(&u, t, true)?,
                Datum::Date(d) => dt::date_part(&u, d)?,
                Datum::Time(t) => dt::time_part(&u, t)?,
                Datum::TimeTz(t, east) => dt::timetz::part(&u, t, east)?,
                Datum::Interval(iv) => dt::interval_part(&u, &iv)?,
                other => return Err(SqlError::internal(format!("date_part of {other:?}"))),
            },
            (Func::DateTrunc, Datum::Text(u), v) => match v {
                Datum::Timestamp(t) => Datum::Timestamp(dt::ts_trunc(&u, t, false)?),
                Datum::TimestampTz(t) => Datum::TimestampTz(dt::ts_trunc(&u, t, true)?),
                Datum::Interval(iv) => Datum::Interval(dt::interval_trunc(&u, &iv)?),
                other => return Err(SqlError::internal(format!("date_trunc of {other:?}"))),
            },
            (Func::JsonGet(as_text), doc @ (Datum::Json(_) | Datum::Jsonb(_)), key) => {
                let jsonb = matches!(doc, Datum::Jsonb(_));
                let text = doc.as_json().unwrap_or_default();
                let path = match &key {
                    Datum::Text(k) => crate::json::Path::Key(k),
                    k => crate::json::Path::Index(k.as_i64().unwrap_or_default()),
                };
                match crate::json::get(text, path, as_text, jsonb)? {
                    None => Datum::Null,
                    Some(s) if as_text => Datum::Text(s),
                    Some(s) if jsonb => Datum::Jsonb(s),
                    Some(s) => Datum::Json(s),
                }
            }
            (f, a, b) => return Err(SqlError::internal(format!("{f:?} of {a:?}, {b:?}"))),
        });
    }
    if let Func::Temporal(t) = f {
        if args.iter().any(Datum::is_null) {
            return Ok(Datum::Null);
        }
        return temporal(t, &args);
    }
    if let Func::Uuid(u) = f {
        return Ok(crate::uuid_ossp::call(u, &args));
    }
    let first = args.into_iter().next().unwrap_or(Datum::Null);
    Ok(match f {
        Func::Temporal(_) => return Err(SqlError::internal("function evaluated out of place")),
        Func::GenRandomUuid => Datum::Uuid(types::random_uuid()),
        Func::Uuid(_) => return Err(SqlError::internal("function evaluated out of place")),
        Func::Random => Datum::Float8(rand::random::<f64>()),
        Func::Now
        | Func::StatementTimestamp
        | Func::ClockTimestamp
        | Func::LocalTimestamp
        | Func::CurrentDate
        | Func::LocalTime
        | Func::DatePart
        | Func::DateTrunc
        | Func::JsonGet(_) => return Err(SqlError::internal("function evaluated out of place")),
        Func::Version => Datum::Text(format!(
            "PostgreSQL 15.0 (Orbit {}) on x86_64-pc-linux-gnu, compiled by rustc, 64-bit",
            env!("CARGO_PKG_VERSION")
        )),
        Func::CurrentDatabase => Datum::Text("postgres".into()),
        Func::CurrentUser => Datum::Text("postgres".into()),
        Func::Lower => match first {
            Datum::Text(s) => Datum::Text(case_map(&s, char::to_lowercase, true)),
            _ => Datum::Null,
        },
        Func::Upper => match first {
            Datum::Text(s) => Datum::Text(case_map(&s, char::to_uppercase, false)),
            _ => Datum::Null,
        },
        Func::Length => match first {
            Datum::Text(s) => Datum::Int4(s.chars().count() as i32),
            Datum::Bpchar(s) => Datum::Int4(types::bpchar_text(&s).chars().count() as i32),
            Datum::Bytea(b) => Datum::Int4(b.len() as i32),
            _ => Datum::Null,
        },
        Func::Abs => match first {
            Datum::Int2(v) => Datum::Int2(v.checked_abs().ok_or_else(|| SqlError::out_of_range("smallint"))?),
            Datum::Int4(v) => Datum::Int4(v.checked_abs().ok_or_else(|| SqlError::out_of_range("integer"))?),
            Datum::Int8(v) => Datum::Int8(v.checked_abs().ok_or_else(|| SqlError::out_of_range("bigint"))?),
            Datum::Float4(v) => Datum::Float4(v.abs()),
            Datum::Float8(v) => Datum::Float8(v.abs()),
            Datum::Numeric(_) => crate::numeric::of(&first)?.abs().into_datum(),
            _ => Datum::Null,
        },
    })
}

fn ts_us(d: &Datum) -> Option<i64> {
    match d {
        Datum::Timestamp(v) | Datum::TimestampTz(v) => Some(*v),
        _ => None,
    }
}

fn temporal(t: TemporalFn, args: &[Datum]) -> Result<Datum> {
    use crate::datetime as dt;
    let bad = || SqlError::internal(format!("{t:?} of {args:?}"));
    let int = |i: usize| args.get(i).and_then(Datum::as_i64).ok_or_else(bad);
    Ok(match (t, args) {
        (TemporalFn::Age, [Datum::Timestamp(a), Datum::Timestamp(b)])
        | (TemporalFn::Age, [Datum::TimestampTz(a), Datum::TimestampTz(b)]) => Datum::Interval(dt::age(*a, *b)?),
        (TemporalFn::ToTimestamp, [v]) => Datum::TimestampTz(dt::to_timestamp(v.as_f64().ok_or_else(bad)?)?),
        (TemporalFn::MakeDate, [_, _, _]) => Datum::Date(dt::make_date(int(0)?, int(1)?, int(2)?)?),
        (TemporalFn::ToDateFormat, [Datum::Text(v), Datum::Text(f)]) => {
            Datum::Date(crate::to_timestamp::to_date(v, f)?)
        }
        (TemporalFn::ToTimestampFormat, [Datum::Text(v), Datum::Text(f)]) => {
            Datum::TimestampTz(crate::to_timestamp::to_timestamp(v, f)?)
        }
        (TemporalFn::DateBin, [Datum::Interval(stride), src, origin]) => {
            let (Some(x), Some(o)) = (ts_us(src), ts_us(origin)) else { return Err(bad()) };
            let r = dt::date_bin(stride, x, o)?;
            if matches!(src, Datum::TimestampTz(_)) {
                Datum::TimestampTz(r)
            } else {
                Datum::Timestamp(r)
            }
        }
        (TemporalFn::MakeTime, [_, _, Datum::Float8(s)]) => Datum::Time(dt::make_time(int(0)?, int(1)?, *s)?),
        (TemporalFn::MakeTimestamp, [_, _, _, _, _, Datum::Float8(s)]) => {
            Datum::Timestamp(dt::make_timestamp(int(0)?, int(1)?, int(2)?, int(3)?, int(4)?, *s)?)
        }
        (TemporalFn::MakeInterval, [_, _, _, _, _, _, Datum::Float8(s)]) => {
            let i = |n: usize| int(n).map(|v| v as i32);
            Datum::Interval(dt::make_interval(i(0)?, i(1)?, i(2)?, i(3)?, i(4)?, i(5)?, *s)?)
        }
        (TemporalFn::IsFinite, [v]) => Datum::Bool(match v {
            Datum::Date(d) => *d != dt::DATE_NOBEGIN && *d != dt::DATE_NOEND,
            Datum::Timestamp(x) | Datum::TimestampTz(x) => dt::is_finite_ts(*x),
            _ => true,
        }),
        (TemporalFn::JustifyDays, [Datum::Interval(iv)]) => Datum::Interval(dt::justify_days(iv)?),
        (TemporalFn::JustifyHours, [Datum::Interval(iv)]) => Datum::Interval(dt::justify_hours(iv)?),
        (TemporalFn::JustifyInterval, [Datum::Interval(iv)]) => Datum::Interval(dt::justify_interval(iv)?),
        (TemporalFn::ToChar, [v, Datum::Text(fmt)]) => {
            use crate::to_char::{to_char, Value};
            let v = match v {
                Datum::Timestamp(t) | Datum::TimestampTz(t) if !dt::is_finite_ts(*t) => return Ok(Datum::Null),
                Datum::Timestamp(t) => Value::Timestamp { f: dt::ts_fields(*t), tz: None },
                Datum::TimestampTz(t) => {
                    Value::Timestamp { f: dt::ts_fields(*t), tz: Some(crate::to_char::Shown::utc()) }
                }
                Datum::Interval(iv) => Value::Interval(*iv),
                _ => return Err(bad()),
            };
            Datum::Text(to_char(&v, fmt)?)
        }
        (TemporalFn::Zoned(op), [.., Datum::Text(zone)]) => zoned(op, &args[..args.len() - 1], zone)?,
        (TemporalFn::IntervalText(style), [Datum::Interval(iv)]) => Datum::Text(dt::format_interval_as(iv, style)),
        (TemporalFn::IntervalParse(style), [Datum::Text(s)]) => Datum::Interval(dt::parse_interval_in(s, style)?),
        (TemporalFn::SaneZone, [Datum::Text(z)]) => Datum::Text(crate::zone::sane_zone_name(z)?),
        (TemporalFn::IntervalHash, [Datum::Interval(iv)]) => Datum::Int4(dt::interval_hash(iv)),
        (TemporalFn::TimeTzAt, [Datum::TimeTz(t, east), Datum::Interval(iv)]) => {
            dt::timetz::at_offset(*t, *east, dt::timetz::interval_zone(iv)?)
        }
        (TemporalFn::IntervalRange(range), [Datum::Interval(iv)]) => {
            Datum::Interval(dt::interval_in::restrict(*iv, range))
        }
        (TemporalFn::Round(p), [v]) => match v {
            Datum::Timestamp(x) if dt::is_finite_ts(*x) => Datum::Timestamp(dt::round_us(*x, p)),
            Datum::TimestampTz(x) if dt::is_finite_ts(*x) => Datum::TimestampTz(dt::round_us(*x, p)),
            Datum::Time(x) => Datum::Time(dt::round_us(*x, p)),
            Datum::TimeTz(x, east) => Datum::TimeTz(dt::round_us(*x, p), *east),
            Datum::Interval(iv) => {
                Datum::Interval(orbit_engine::table::Interval { micros: dt::round_us(iv.micros, p), ..*iv })
            }
            other => other.clone(),
        },
        _ => return Err(bad()),
    })
}

/// A [`TemporalFn::Zoned`] call: `args` without the zone's name.
fn zoned(op: ZoneOp, args: &[Datum], zone: &str) -> Result<Datum> {
    use crate::datetime as dt;
    use crate::zone;
    // AT TIME ZONE a dynamic abbreviation (`MSK`): the offset the abbreviation had then, as
    // PostgreSQL's DetermineTimeZoneAbbrevOffset[TS] finds it.
    if let Some((tz, abbrev)) = zone::dynamic_abbreviation(zone) {
        match (op, args) {
            (ZoneOp::ToLocal, [Datum::TimestampTz(t)]) if dt::is_finite_ts(*t) => {
                let east = zone::abbrev_offset_east_at(&tz, abbrev, *t);
                return Ok(Datum::Timestamp(t + east * dt::USECS_PER_SEC));
            }
            (ZoneOp::FromLocal, [Datum::Timestamp(t)]) if dt::is_finite_ts(*t) => {
                let east = zone::abbrev_offset_east(&tz, abbrev, *t);
                return Ok(Datum::TimestampTz(t - east * dt::USECS_PER_SEC));
            }
            (ZoneOp::TimeTzAt, [Datum::TimeTz(t, east), Datum::TimestampTz(now)]) => {
                return Ok(dt::timetz::at_offset(*t, *east, zone::abbrev_offset_east_at(&tz, abbrev, *now)));
            }
            _ => {}
        }
    }
    let tz = zone::resolve(zone)?;
    let bad = || SqlError::internal(format!("{op:?} of {args:?}"));
    Ok(match (op, args) {
        (ZoneOp::ToLocal, [Datum::TimestampTz(t)]) => Datum::Timestamp(zone::to_local(&tz, *t)),
        (ZoneOp::FromLocal, [Datum::Timestamp(t)]) => Datum::TimestampTz(zone::from_local(&tz, *t)),
        (ZoneOp::Text, [Datum::TimestampTz(t)]) => Datum::Text(dt::format_timestamptz(*t, Some(&tz))),
        (ZoneOp::JsonText, [Datum::TimestampTz(t)]) => {
            Datum::Text(crate::json_build::iso_timestamp(&dt::format_timestamptz(*t, Some(&tz)), true))
        }
        (ZoneOp::Parse, [Datum::Text(s)]) => {
            Datum::TimestampTz(dt::parse_timestamp_in(s, dt::Kind::TimestampTz, Some(&tz))?)
        }
        (ZoneOp::AddInterval(minus), [Datum::TimestampTz(t), Datum::Interval(iv)]) => {
            let iv = if minus { dt::interval_neg(iv)? } else { *iv };
            Datum::TimestampTz(dt::tstz_plus_interval(*t, &iv, &tz)?)
        }
        (ZoneOp::Part, [Datum::Text(u), Datum::TimestampTz(t)]) => dt::tstz_part(u, *t, &tz)?,
        (ZoneOp::TimeTz, [Datum::Time(t)]) => dt::timetz::of_time(*t, &tz),
        (ZoneOp::TimeTz, [Datum::TimestampTz(t)]) => dt::timetz::of_timestamptz(*t, &tz)?,
        (ZoneOp::TimeTz, [Datum::Text(s)]) => {
            let (t, east) = dt::timetz::parse(s, Some(&tz))?;
            Datum::TimeTz(t, east)
        }
        (ZoneOp::TimeTzAt, [Datum::TimeTz(t, east), Datum::TimestampTz(now)]) => {
            dt::timetz::at_offset(*t, *east, zone::offset_east(&tz, *now))
        }
        (ZoneOp::Trunc, [Datum::Text(u), Datum::TimestampTz(t)]) => Datum::TimestampTz(dt::tstz_trunc(u, *t, &tz)?),
        (ZoneOp::ToChar, [Datum::TimestampTz(t), Datum::Text(fmt)]) => {
            if !dt::is_finite_ts(*t) {
                return Ok(Datum::Null);
            }
            let shown =
                crate::to_char::Shown { east_s: zone::offset_east(&tz, *t), abbrev: zone::abbreviation(&tz, *t) };
            let v = crate::to_char::Value::Timestamp { f: dt::ts_fields(zone::to_local(&tz, *t)), tz: Some(shown) };
            Datum::Text(crate::to_char::to_char(&v, fmt)?)
        }
        _ => return Err(bad()),
    })
}

/// Appends `delim` and `v` to string_agg's text, within PostgreSQL's limit for a string
/// buffer (1 GB - 1 bytes; its error is 54000 with this message and detail).
fn append_bounded(text: &mut String, delim: &str, v: &str) -> Result<()> {
    const MAX_BYTES: usize = (1 << 30) - 1;
    let more = delim.len() + v.len();
    if text.len() + more > MAX_BYTES {
        return Err(SqlError::new("54000", "out of memory")
            .detail(format!("Cannot enlarge string buffer containing {} bytes by {more} more bytes.", text.len())));
    }
    text.push_str(delim);
    text.push_str(v);
    Ok(())
}

/// A partial or final aggregate state.
#[derive(Debug, Clone)]
pub enum AggState {
    Count(i64),
    /// Integer sum (sum of int2/int4 is bigint) and whether any row was seen.
    SumInt(i64, bool),
    /// Float sum and row count (for avg).
    SumFloat(f64, i64),
    /// Exact sum and count of integers or numerics, for sum and avg returning numeric.
    SumNumeric(crate::numeric::Sum),
    /// variance/stddev of floats: PostgreSQL's float8_accum state (N, Sx, Sxx; Youngs-Cramer).
    VarFloat(f64, f64, f64),
    /// variance/stddev of integers and numerics: count, sum and sum of squares, exact.
    VarNumeric(i64, crate::numeric::Num, crate::numeric::Num),
    Extreme(Datum),
    /// bool_and / bool_or so far (None: no non-NULL input yet).
    Bool(Option<bool>),
    /// bit_and / bit_or / bit_xor so far (None: no non-NULL input yet).
    Bits(Option<i64>),
    /// string_agg so far: the delimiter that came with the first value (put between this and
    /// an earlier part when partial states merge), and the text.
    Text(Option<(Option<String>, String)>),
    /// array_agg's values so far (None: no row yet).
    Items(Option<Vec<Datum>>),
    /// corr, covar_* and regr_*: float8_regr_accum's [N, Sx, Sxx, Sy, Syy, Sxy].
    Regr([f64; 6]),
    /// sum and avg of intervals: the sum (each field checked) and the row count.
    SumInterval(orbit_engine::table::Interval, i64),
}

impl AggState {
    pub fn new(spec: &AggSpec) -> AggState {
        match spec.func {
            AggFunc::CountStar | AggFunc::Count => AggState::Count(0),
            AggFunc::Sum if spec.ty == SqlType::Int8 => AggState::SumInt(0, false),
            AggFunc::Sum | AggFunc::Avg if spec.ty.is_decimal() => AggState::SumNumeric(Default::default()),
            AggFunc::Variance { .. } if spec.ty.is_decimal() => {
                AggState::VarNumeric(0, crate::numeric::Num::zero(), crate::numeric::Num::zero())
            }
            AggFunc::Variance { .. } => AggState::VarFloat(0.0, 0.0, 0.0),
            AggFunc::Sum | AggFunc::Avg if matches!(spec.ty, SqlType::Interval(_)) => {
                AggState::SumInterval(orbit_engine::table::Interval { months: 0, days: 0, micros: 0 }, 0)
            }
            AggFunc::Sum | AggFunc::Avg => AggState::SumFloat(0.0, 0),
            AggFunc::Min | AggFunc::Max => AggState::Extreme(Datum::Null),
            AggFunc::BoolAnd | AggFunc::BoolOr => AggState::Bool(None),
            AggFunc::BitAnd | AggFunc::BitOr | AggFunc::BitXor => AggState::Bits(None),
            AggFunc::StringAgg => AggState::Text(None),
            AggFunc::ArrayAgg => AggState::Items(None),
            AggFunc::Regr(_) => AggState::Regr([0.0; 6]),
        }
    }

    /// A step of an aggregate with a second input (`spec.delim`): string_agg's delimiter, or
    /// X of the regression aggregates (strict: a row with a NULL Y or X is skipped); the
    /// others take `v` alone.
    pub fn update_two(&mut self, spec: &AggSpec, v: Datum, second: Datum) -> Result<()> {
        match self {
            AggState::Text(_) => self.update_text(v, second),
            AggState::Regr(t) => match (v.as_f64(), second.as_f64()) {
                (Some(y), Some(x)) if !v.is_null() && !second.is_null() => regr_accum(t, y, x),
                _ => Ok(()),
            },
            _ => self.update(spec, v),
        }
    }

    /// string_agg's step: a NULL value is skipped, a NULL delimiter adds nothing.
    pub fn update_text(&mut self, v: Datum, delim: Datum) -> Result<()> {
        let (Datum::Text(v), AggState::Text(state)) = (v, &mut *self) else { return Ok(()) };
        let delim = match delim {
            Datum::Text(d) => Some(d),
            _ => None,
        };
        match state {
            None => *state = Some((delim, v)),
            Some((_, text)) => append_bounded(text, delim.as_deref().unwrap_or(""), &v)?,
        }
        Ok(())
    }

    /// [`AggState::update`] from a borrowed value: the states that only read it (counts,
    /// numeric sums, min/max until a new extreme) take no copy of a text or numeric per row.
    pub fn update_ref(&mut self, spec: &AggSpec, v: &Datum) -> Result<()> {
        match self {
            AggState::Count(n) if spec.func == AggFunc::CountStar || !v.is_null() => *n += 1,
            AggState::SumNumeric(sum) if !v.is_null() => sum.add_datum(v)?,
            AggState::Extreme(cur) if !v.is_null() => {
                let replace = match compare(v, cur) {
                    None => true,
                    Some(o) => {
                        (spec.func == AggFunc::Min && o == Ordering::Less)
                            || (spec.func == AggFunc::Max && o == Ordering::Greater)
                    }
                };
                if replace {
                    *cur = v.clone();
                }
            }
            _ => self.update(spec, v.clone())?,
        }
        Ok(())
    }

    pub fn update(&mut self, spec: &AggSpec, v: Datum) -> Result<()> {
        if !matches!(spec.func, AggFunc::CountStar | AggFunc::ArrayAgg) && v.is_null() {
            return Ok(());
        }
        match self {
            AggState::Items(items) => {
                let items = items.get_or_insert_with(Vec::new);
                if items.len() >= crate::array::MAX_ITEMS {
                    return Err(SqlError::new(code::PROGRAM_LIMIT_EXCEEDED, "array size exceeds the maximum allowed"));
                }
                items.push(v);
            }
            AggState::Count(n) => *n += 1,
            AggState::SumInt(s, seen) => {
                *s = s.checked_add(v.as_i64().unwrap_or_default()).ok_or_else(|| SqlError::out_of_range("bigint"))?;
                *seen = true;
            }
            AggState::SumFloat(s, n) => {
                *s += v.as_f64().unwrap_or_default();
                *n += 1;
            }
            AggState::SumNumeric(sum) => sum.add_datum(&v)?,
            AggState::VarNumeric(n, sx, sxx) => {
                let x = crate::numeric::of(&v)?;
                // Unchecked, as PostgreSQL's accumulators: a sum of squares past numeric's
                // format can still give a variance inside it.
                *sxx = sxx.add_unchecked(&x.mul_unchecked(&x));
                *sx = sx.add_unchecked(&x);
                *n += 1;
            }
            AggState::VarFloat(n, sx, sxx) => {
                let mut t = [*n, *sx, *sxx];
                float8_accum(&mut t, v.as_f64().unwrap_or_default())?;
                [*n, *sx, *sxx] = t;
            }
            AggState::Extreme(cur) => {
                let replace = match compare(&v, cur) {
                    None => true,
                    Some(o) => {
                        (spec.func == AggFunc::Min && o == Ordering::Less)
                            || (spec.func == AggFunc::Max && o == Ordering::Greater)
                    }
                };
                if replace {
                    *cur = v;
                }
            }
            AggState::Bool(cur) => {
                let v = truth(v).unwrap_or_default();
                *cur = Some(match (*cur, spec.func) {
                    (None, _) => v,
                    (Some(c), AggFunc::BoolOr) => c || v,
                    (Some(c), _) => c && v,
                });
            }
            AggState::Bits(cur) => {
                let v = v.as_i64().unwrap_or_default();
                *cur = Some(match (*cur, spec.func) {
                    (None, _) => v,
                    (Some(c), AggFunc::BitAnd) => c & v,
                    (Some(c), AggFunc::BitOr) => c | v,
                    (Some(c), _) => c ^ v,
                });
            }
            AggState::Text(_) => self.update_text(v, Datum::Null)?,
            AggState::Regr(_) => return Err(SqlError::internal("a regression aggregate takes two inputs")),
            AggState::SumInterval(sum, n) => {
                if let Datum::Interval(iv) = v {
                    *sum = crate::datetime::interval_add(sum, &iv)?;
                    *n += 1;
                }
            }
        }
        Ok(())
    }

    pub fn merge(&mut self, spec: &AggSpec, other: AggState) -> Result<()> {
        match (self, other) {
            (AggState::Count(a), AggState::Count(b)) => *a += b,
            (AggState::SumInt(a, sa), AggState::SumInt(b, sb)) => {
                *a = a.checked_add(b).ok_or_else(|| SqlError::out_of_range("bigint"))?;
                *sa |= sb;
            }
            (AggState::SumFloat(a, na), AggState::SumFloat(b, nb)) => {
                *a += b;
                *na += nb;
            }
            (AggState::SumNumeric(a), AggState::SumNumeric(b)) => a.merge(b)?,
            (AggState::VarNumeric(n1, sx1, sxx1), AggState::VarNumeric(n2, sx2, sxx2)) => {
                *n1 += n2;
                *sx1 = sx1.add_unchecked(&sx2);
                *sxx1 = sxx1.add_unchecked(&sxx2);
            }
            (AggState::VarFloat(n1, sx1, sxx1), AggState::VarFloat(n2, sx2, sxx2)) => {
                let mut t = [*n1, *sx1, *sxx1];
                float8_combine(&mut t, [n2, sx2, sxx2])?;
                [*n1, *sx1, *sxx1] = t;
            }
            (me @ AggState::Extreme(_), AggState::Extreme(v)) => me.update(spec, v)?,
            (me @ AggState::Bits(_), AggState::Bits(b)) => {
                if let Some(b) = b {
                    me.update(spec, Datum::Int8(b))?
                }
            }
            (me @ AggState::Bool(_), AggState::Bool(b)) => {
                if let Some(b) = b {
                    me.update(spec, Datum::Bool(b))?
                }
            }
            (AggState::Text(a), AggState::Text(b)) => match (a.as_mut(), b) {
                (_, None) => {}
                (None, b) => *a = b,
                (Some((_, text)), Some((delim, more))) => append_bounded(text, delim.as_deref().unwrap_or(""), &more)?,
            },
            (AggState::Items(a), AggState::Items(b)) => match (a.as_mut(), b) {
                (_, None) => {}
                (None, b) => *a = b,
                (Some(items), Some(more)) => {
                    if items.len() + more.len() > crate::array::MAX_ITEMS {
                        return Err(SqlError::new(
                            code::PROGRAM_LIMIT_EXCEEDED,
                            "array size exceeds the maximum allowed",
                        ));
                    }
                    items.extend(more)
                }
            },
            (AggState::Regr(a), AggState::Regr(b)) => regr_combine(a, b)?,
            (AggState::SumInterval(a, na), AggState::SumInterval(b, nb)) => {
                *a = crate::datetime::interval_add(a, &b)?;
                *na += nb;
            }
            _ => return Err(SqlError::internal("aggregate states do not match")),
        }
        Ok(())
    }

    pub fn finish(self, spec: &AggSpec) -> Result<Datum> {
        Ok(match self {
            AggState::Count(n) => Datum::Int8(n),
            AggState::SumInt(s, seen) => {
                if seen {
                    Datum::Int8(s)
                } else {
                    Datum::Null
                }
            }
            AggState::SumInterval(_, 0) => Datum::Null,
            AggState::SumInterval(sum, n) if spec.func == AggFunc::Avg => {
                Datum::Interval(crate::datetime::interval_div(&sum, n as f64)?)
            }
            AggState::SumInterval(sum, _) => Datum::Interval(sum),
            AggState::SumFloat(_, 0) => Datum::Null,
            AggState::SumFloat(s, n) => match (spec.func, spec.ty) {
                (AggFunc::Avg, _) => Datum::Float8(s / n as f64),
                (_, SqlType::Float4) => Datum::Float4(s as f32),
                _ => Datum::Float8(s),
            },
            AggState::Extreme(v) => v,
            AggState::Bool(b) => b.map_or(Datum::Null, Datum::Bool),
            AggState::Bits(b) => match (b, spec.ty) {
                (None, _) => Datum::Null,
                (Some(b), SqlType::Int2) => Datum::Int2(b as i16),
                (Some(b), SqlType::Int4) => Datum::Int4(b as i32),
                (Some(b), _) => Datum::Int8(b),
            },
            AggState::Text(t) => t.map_or(Datum::Null, |(_, text)| Datum::Text(text)),
            AggState::Items(None) => Datum::Null,
            AggState::Items(Some(items)) => {
                let arg_is_array = spec.arg.as_ref().is_some_and(|a| matches!(a.ty(), SqlType::Array(_)));
                crate::array::aggregate(spec.ty, arg_is_array, items)?
            }
            AggState::SumNumeric(sum) if spec.func == AggFunc::Avg => sum.avg()?,
            AggState::SumNumeric(sum) => sum.sum()?,
            AggState::VarNumeric(n, sx, sxx) => {
                let AggFunc::Variance { sample, sqrt } = spec.func else { return Ok(Datum::Null) };
                crate::numeric::variance(n, &sx, &sxx, sample, sqrt)?
            }
            AggState::Regr(t) => {
                let AggFunc::Regr(f) = spec.func else { return Ok(Datum::Null) };
                f.finish(t)
            }
            AggState::VarFloat(n, _, sxx) => {
                // float8_var_samp/var_pop and the stddevs.
                let AggFunc::Variance { sample, sqrt } = spec.func else { return Ok(Datum::Null) };
                if n == 0.0 || (sample && n <= 1.0) {
                    return Ok(Datum::Null);
                }
                let v = if sxx <= 0.0 { 0.0 } else { sxx / if sample { n - 1.0 } else { n } };
                Datum::Float8(if sqrt { v.sqrt() } else { v })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_states_merge_as_one_pass() {
        // y = 2x + 1 exactly: slope 2, intercept 1, a perfect fit.
        let points: Vec<(f64, f64)> = (0..10).map(|i| (2.0 * i as f64 + 1.0, i as f64)).collect();
        let mut one = [0.0; 6];
        for &(y, x) in &points {
            regr_accum(&mut one, y, x).unwrap();
        }
        let (mut left, mut right) = ([0.0; 6], [0.0; 6]);
        for (i, &(y, x)) in points.iter().enumerate() {
            regr_accum(if i % 2 == 0 { &mut left } else { &mut right }, y, x).unwrap();
        }
        regr_combine(&mut left, right).unwrap();
        regr_combine(&mut left, [0.0; 6]).unwrap();
        for t in [one, left] {
            assert_eq!(Regr::Slope.finish(t), Datum::Float8(2.0));
            assert_eq!(Regr::Intercept.finish(t), Datum::Float8(1.0));
            assert_eq!(Regr::R2.finish(t), Datum::Float8(1.0));
            assert_eq!(Regr::Corr.finish(t), Datum::Float8(1.0));
            assert_eq!(Regr::Count.finish(t), Datum::Int8(10));
            assert_eq!(Regr::AvgX.finish(t), Datum::Float8(4.5));
        }
        // No rows: NULL, and a count of 0; one row: no sample covariance.
        assert_eq!(Regr::Corr.finish([0.0; 6]), Datum::Null);
        assert_eq!(Regr::Count.finish([0.0; 6]), Datum::Int8(0));
        let mut single = [0.0; 6];
        regr_accum(&mut single, 1.0, 2.0).unwrap();
        assert_eq!(Regr::CovarSamp.finish(single), Datum::Null);
        assert_eq!(Regr::CovarPop.finish(single), Datum::Float8(0.0));
        // Finite inputs whose sums overflow: 22003.
        let mut big = [0.0; 6];
        regr_accum(&mut big, 1.0, 1e308).unwrap();
        assert_eq!(regr_accum(&mut big, 1.0, 1e308).unwrap_err().code, code::NUMERIC_VALUE_OUT_OF_RANGE);
    }

    #[test]
    fn like_patterns() {
        assert!(like("hello", "h%o").unwrap());
        assert!(like("hello", "h_llo").unwrap());
        assert!(!like("hello", "h_lo").unwrap());
        assert!(like("a%b", "a\\%b").unwrap());
        assert!(!like("axb", "a\\%b").unwrap());
        assert!(like("", "%").unwrap());
        assert!(like("abcabc", "%abc").unwrap());
        for (s, p, m) in [
            ("special requests", "%special%requests%", true),
            ("requests special", "%special%requests%", false),
            ("abc", "a%c", true),
            ("ac", "a%c", true),
            ("a", "a%a", false),
            ("aa", "a%a", true),
            ("aba", "a%b%a", true),
            ("ab", "a%b%a", false),
            ("héllo wörld", "h%ö%d", true),
            ("xyz", "x%%z", true),
            ("", "", true),
            ("a", "", false),
        ] {
            assert_eq!(like(s, p).unwrap(), m, "{s} LIKE {p}");
            let pat: Vec<(char, bool)> = p.chars().map(|c| (c, c == '%')).collect();
            assert_eq!(like_chars(&s.chars().collect::<Vec<_>>(), &pat), m, "{s} LIKE {p} by characters");
        }
        // As in PostgreSQL 15: the trailing escape is an error only when matching reaches it
        // with text left ('x' LIKE 'x\' is false, 'xy' LIKE 'x\' and 'a' LIKE '%\' fail).
        assert!(!like("x", "x\\").unwrap());
        assert!(!like("", "\\").unwrap());
        assert!(like("xy", "x\\").is_err());
        assert!(like("a", "%\\").is_err());
        assert!(!like("b", "a\\").unwrap());
    }

    #[test]
    fn float_underflow_and_negative_zero_as_postgresql() {
        let f8 = |v: f64| Datum::Float8(v);
        let mul = |a, b| arith(ArithOp::Mul, &f8(a), &f8(b), SqlType::Float8);
        assert_eq!(mul(-1.0, 0.0).unwrap(), f8(-0.0));
        assert!(matches!(mul(-1.0, 0.0).unwrap(), Datum::Float8(z) if z.is_sign_negative()));
        assert_eq!(mul(1e-300, 1e-300).unwrap_err().message, "value out of range: underflow");
        assert_eq!(arith(ArithOp::Div, &f8(1.0), &f8(f64::INFINITY), SqlType::Float8).unwrap(), f8(0.0));
        let f4 = arith(ArithOp::Mul, &Datum::Float4(1e-30), &Datum::Float4(1e-30), SqlType::Float4);
        assert_eq!(f4.unwrap_err().message, "value out of range: underflow");
    }

    #[test]
    fn constant_folding_as_postgresql_planner() {
        let i = |v: i32| Box::new(Expr::Const(Datum::Int4(v), SqlType::Int4));
        let b = |v: bool| Box::new(Expr::Const(Datum::Bool(v), SqlType::Bool));
        let col = || Box::new(Expr::Column(0, SqlType::Bool));
        let div0 =
            || Box::new(Expr::Cmp(CmpOp::Eq, Box::new(Expr::Arith(ArithOp::Div, i(1), i(0), SqlType::Int4)), i(1)));
        // A constant subexpression is computed once, its error raised even beside a column.
        let e = Expr::And(col(), div0());
        assert_eq!(fold(e).unwrap_err().code, "22012");
        // `false AND ...` stops before folding what follows; `... AND false` does not.
        assert!(matches!(fold(Expr::And(b(false), div0())).unwrap(), Expr::Const(Datum::Bool(false), _)));
        assert_eq!(fold(Expr::And(div0(), b(false))).unwrap_err().code, "22012");
        // Deciding and neutral constants.
        assert!(matches!(fold(Expr::Or(col(), b(true))).unwrap(), Expr::Const(Datum::Bool(true), _)));
        assert!(matches!(fold(Expr::And(col(), b(true))).unwrap(), Expr::Column(0, _)));
        assert!(matches!(
            fold(Expr::Arith(ArithOp::Add, i(1), i(2), SqlType::Int4)).unwrap(),
            Expr::Const(Datum::Int4(3), _)
        ));
        // Parameters are not constants at bind time.
        let p = Expr::Arith(ArithOp::Add, Box::new(Expr::Param(0, SqlType::Int4)), i(1), SqlType::Int4);
        assert!(matches!(fold(p).unwrap(), Expr::Arith(..)));
    }

    #[test]
    fn case_mapping_is_one_character_at_a_time() {
        assert_eq!(case_map("straße", char::to_uppercase, false), "STRAßE");
        assert_eq!(case_map("ÀÉÎ", char::to_lowercase, true), "àéî");
        assert_eq!(case_map("İx", char::to_lowercase, true), "ix");
    }

    #[test]
    fn three_valued_logic() {
        let n = || Box::new(Expr::Const(Datum::Null, SqlType::Bool));
        let t = || Box::new(Expr::Const(Datum::Bool(true), SqlType::Bool));
        let f = || Box::new(Expr::Const(Datum::Bool(false), SqlType::Bool));
        let cx = Ctx { row: &[], params: &[], aggs: &[] };
        assert_eq!(eval(&Expr::And(n(), f()), &cx).unwrap(), Datum::Bool(false));
        assert_eq!(eval(&Expr::And(n(), t()), &cx).unwrap(), Datum::Null);
        assert_eq!(eval(&Expr::Or(n(), t()), &cx).unwrap(), Datum::Bool(true));
        assert_eq!(eval(&Expr::Or(n(), f()), &cx).unwrap(), Datum::Null);
        assert_eq!(eval(&Expr::Not(n()), &cx).unwrap(), Datum::Null);
        let one = Expr::Const(Datum::Int4(1), SqlType::Int4);
        let list = vec![Expr::Const(Datum::Int4(2), SqlType::Int4), Expr::Const(Datum::Null, SqlType::Int4)];
        assert_eq!(eval(&Expr::InList(Box::new(one), list, false), &cx).unwrap(), Datum::Null);
    }
}
