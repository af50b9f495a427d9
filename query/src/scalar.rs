//! Scalar functions beyond the few in [`crate::expr`]: math (round, ceil, floor, trunc, sign,
//! sqrt, power, mod, greatest, least) and text (substr, position, replace, trims, pads,
//! concat, left/right, repeat, reverse, split_part, starts_with) plus nullif, each with
//! PostgreSQL 15's results and errors (<https://www.postgresql.org/docs/15/functions.html>).
//! The binder ([`crate::bind`]) has already coerced the arguments to the types listed in
//! [`Builtin`]'s docs; text positions and lengths count characters, not bytes.

use crate::error::{code, Result, SqlError};
use crate::expr::compare;
use crate::types;
use orbit_engine::table::Datum;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `text ~ pattern` (and `~*`, case-insensitive): a POSIX-style regular expression as the
    /// `regex` crate reads it (PostgreSQL's ARE syntax for the common cases).
    RegexMatch,
    RegexMatchCi,
    /// pg_table_is_visible(oid): whether the relation is found by its bare name (the search
    /// path is pg_catalog, public: information_schema's views are not).
    TableIsVisible,
    /// pg_is_other_temp_schema(oid): whether the schema is another session's temporary one.
    IsOtherTempSchema,
    /// pg_function_is_visible, pg_get_function_result/_arguments/_identity_arguments,
    /// pg_get_functiondef of a SQL function's OID ([`crate::functions_sql::info`]).
    FunctionInfo(crate::functions_sql::InfoFn),
    /// pg_get_userbyid(oid): the role's name (only the bootstrap superuser, OID 10, exists).
    UserById,
    /// to_regclass(text), to_regtype(text), to_regnamespace(text): the name's OID, NULL when
    /// nothing has that name.
    ToReg(orbit_engine::table::OidKind),
    /// nextval(sequence), currval(sequence), setval(sequence, value [, is_called]): replaced by
    /// their values before a row is evaluated ([`crate::sequence::resolve`]).
    NextVal,
    CurrVal,
    SetVal,
    /// pg_sleep, pg_sleep_for, pg_sleep_until: replaced by their void value after sleeping,
    /// before a row is evaluated ([`crate::sleep::resolve`]).
    Sleep(crate::sleep::SleepFn),
    /// The advisory lock functions: replaced by their values, the locks taken or released,
    /// before a row is evaluated ([`crate::advisory::resolve`]).
    Advisory(crate::advisory::AdvisoryFn),
    /// pg_get_triggerdef(oid [, pretty]) ([`crate::triggers::definition_of`]).
    TriggerDef,
    /// A call of PL/pgSQL function `.0` (its OID): replaced by its value on the coordinator
    /// before a row is evaluated ([`crate::plpgsql`]).
    /// `.1`: its rows as an array (a set-returning or OUT-parameter function in FROM).
    PlCall(u32, bool),
    /// enum_range(lo, hi) of enum type `.0`: the labels from lo to hi (a NULL bound open).
    EnumRange(u32),
    /// A cast to domain `oid`: the value, checked against the domain ([`crate::domains`]).
    DomainCheck(u32),
    /// A row constructor as a value of composite type `.0`: the arguments, already of its
    /// fields' types, as its fields ([`crate::composites`]).
    MakeRecord(u32),
    /// A FROM item's whole row as a value of its row type `.0` (`SELECT t FROM t`): the
    /// record of its columns, NULL when each is NULL (the missing side of an outer join, which
    /// Orbit's rows cannot tell from a row of NULLs); also a record-returning call's row in a
    /// select list, NULL past its last row.
    WholeRow(u32),
    /// A join's table's whole row as a value of its row type `.0`: the first argument a
    /// primary key column (NULL only where an outer join left the table's row out: the
    /// record is NULL then), the rest the record's fields.
    KeyedRow(u32),
    /// A record converted to anonymous record type `.0`, each field cast to its field's type
    /// ([`crate::bind`]'s common record type of VALUES rows and UNION columns).
    RecordCast(orbit_engine::table::SqlType),
    /// Field `.0` of a composite value (`(x).f`); NULL for a NULL value.
    RecordField(usize),
    /// The composite value of the first argument (of a type with `.1` fields) with field `.0`
    /// set to the second (`SET col.f = x`, PostgreSQL's FieldStore); a NULL value is a
    /// record of NULL fields first.
    RecordSet(u32, u32),
    /// Any number of values of one type; NULLs are ignored.
    Greatest,
    Least,
    /// float8 -> float8 (round half to even, as rint()).
    Round,
    Ceil,
    Floor,
    Trunc,
    Sign,
    Sqrt,
    /// (float8, float8) -> float8.
    Power,
    /// exp, ln, log10 (`log` with one argument): float8 -> float8, or numeric -> numeric.
    Exp,
    Ln,
    Log10,
    /// log(base, x): numeric only.
    Log,
    /// Two integers of one type.
    Mod,
    /// (text, int4 [, int4]).
    Substr,
    /// (text, text) -> int4: where the second occurs in the first (`strpos` order).
    Strpos,
    Replace,
    /// (text [, text]): trim the characters of the second (default a space).
    Btrim,
    Ltrim,
    Rtrim,
    /// (text, int4 [, text]).
    Lpad,
    Rpad,
    /// Any values, as text; NULLs are skipped.
    Concat,
    /// (text separator, any values...).
    ConcatWs,
    Left,
    Right,
    Repeat,
    Reverse,
    SplitPart,
    StartsWith,
    /// Two values of one type: NULL when equal, else the first.
    Nullif,
    /// The array functions and operators ([`crate::array`]).
    Array(crate::array::ArrayFn),
    /// format_type(type oid, typmod): the type's SQL name as PostgreSQL's format_type()
    /// writes it (`character varying(20)`, `integer[]`; `???` for an OID with no type here).
    FormatType,
    /// pg_get_constraintdef(oid [, pretty]), pg_get_indexdef(oid [, column, pretty]) and
    /// pg_get_expr(text, relation [, pretty]) over Orbit's catalog ([`crate::catalog`]).
    ConstraintDef,
    IndexDef,
    GetExpr,
    /// pg_relation_is_publishable(regclass): whether a relation is a user table.
    RelationIsPublishable,
    /// pg_get_partkeydef(oid): a partitioned table's key (`crate::partitions`), else NULL.
    PartKeyDef,
    /// pg_get_partition_constraintdef(oid): a partition's constraint, else NULL.
    PartConstraintDef,
    /// satisfies_hash_partition(parent, modulus, remainder, key values...): whether the
    /// values hash into that partition, as PostgreSQL hashes them (`crate::partitions::hash`).
    SatisfiesHashPartition,
    /// like_escape(pattern, escape): the pattern with `escape` turned into backslash escapes
    /// (what `LIKE pattern ESCAPE escape` matches with).
    LikeEscape,
    /// The JSON-building functions ([`crate::json_build`]).
    Json(crate::json_build::JsonFn),
    /// Catalog functions of [`crate::catalog_fns`] (pg_get_serial_sequence, ...).
    Catalog(crate::catalog_fns::CatalogFn),
    /// The final step of an ordered-set aggregate ([`crate::ordered_set`]).
    OrderedSet(crate::ordered_set::OrderedSetFn),
    /// The json operators and functions of [`crate::json::ops`].
    JsonOp(crate::json::ops::JsonOpFn),
    /// The object size functions ([`crate::catalog_sizes`]): read the sizes gathered when the
    /// statement started, so never folded at bind time.
    Size(crate::catalog_sizes::SizeFn),
    /// pg_size_pretty(bigint) and pg_size_pretty(numeric).
    SizePretty,
    /// pg_tablespace_location(oid).
    TablespaceLocation,
    /// The string functions of [`crate::text_fns`] (regexp_replace, format, encode, ...).
    Text(crate::text_fns::TextFn),
    /// The math functions and operators of [`crate::math_fns`] (trigonometry, gcd, bitwise, ...).
    Math(crate::math_fns::MathFn),
}

impl Builtin {
    /// Whether any NULL argument makes the result NULL without calling the function.
    pub fn is_sequence(self) -> bool {
        matches!(self, Builtin::NextVal | Builtin::CurrVal | Builtin::SetVal)
    }

    /// Whether the function reads what the shards hold now (a size): not folded at bind time.
    pub fn reads_shards(self) -> bool {
        matches!(self, Builtin::Size(_))
    }

    fn strict(self) -> bool {
        if let Builtin::Array(f) = self {
            return f.strict();
        }
        if let Builtin::Json(f) = self {
            return f.strict();
        }
        if let Builtin::Catalog(f) = self {
            return f.strict();
        }
        if let Builtin::Text(f) = self {
            return f.strict();
        }
        if let Builtin::Math(f) = self {
            return f.strict();
        }
        if let Builtin::OrderedSet(_) = self {
            // A NULL fraction inside an array of them gives a NULL element, not a NULL array.
            return false;
        }
        // json[b]_to_record(NULL) is a row of NULLs; `SET j['a'] = x` of a NULL j an object.
        if let Builtin::JsonOp(
            crate::json::ops::JsonOpFn::RecordField { .. }
            | crate::json::ops::JsonOpFn::Populate { .. }
            | crate::json::ops::JsonOpFn::SubscriptAssign
            | crate::json::ops::JsonOpFn::ObjectFromArrays { .. },
        ) = self
        {
            return false;
        }
        !matches!(
            self,
            Builtin::Greatest
                | Builtin::Least
                | Builtin::Concat
                | Builtin::ConcatWs
                | Builtin::Nullif
                | Builtin::FormatType
                | Builtin::EnumRange(_)
                | Builtin::DomainCheck(_)
                | Builtin::MakeRecord(_)
                | Builtin::WholeRow(_)
                | Builtin::KeyedRow(_)
                | Builtin::RecordSet(..)
                // A NULL key value is left out of the row's hash.
                | Builtin::SatisfiesHashPartition
        )
    }
}

thread_local! {
    /// Compiled patterns of this shard, by (pattern, case-insensitive); bounded.
    static REGEXES: std::cell::RefCell<std::collections::HashMap<(String, bool), regex::Regex>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The most compiled patterns a shard keeps.
const MAX_CACHED_REGEXES: usize = 256;

pub(crate) fn regex_match(s: &str, pattern: &str, ci: bool) -> Result<bool> {
    match compiled(pattern, ci) {
        Ok(re) => Ok(re.is_match(s)),
        // Back references: the backtracking engine (crate::regex_pattern).
        Err(e) if e.message.contains("backreferences are not supported") => {
            let p = if ci { format!("(?i){pattern}") } else { pattern.to_string() };
            crate::regex_pattern::compile(&p)?.is_match(s)
        }
        Err(e) => Err(e),
    }
}

/// The compiled pattern (from this shard's bounded cache).
pub(crate) fn compiled(pattern: &str, ci: bool) -> Result<regex::Regex> {
    REGEXES.with(|cache| {
        let mut cache = cache.borrow_mut();
        let key = (pattern.to_string(), ci);
        if !cache.contains_key(&key) {
            let re =
                regex::RegexBuilder::new(pattern).case_insensitive(ci).size_limit(1 << 20).build().map_err(|e| {
                    SqlError::new("2201B", format!("invalid regular expression: {}", regex_error_text(&e)))
                })?;
            if cache.len() >= MAX_CACHED_REGEXES {
                cache.clear();
            }
            cache.insert(key.clone(), re);
        }
        cache.get(&key).cloned().ok_or_else(|| SqlError::internal("regex cache"))
    })
}

/// A pattern's compile error in PostgreSQL's words (regerror's texts) where the two engines
/// mean the same thing; the `regex` crate's own text otherwise.
fn regex_error_text(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().last().unwrap_or("");
    let pg = [
        ("unclosed group", "parentheses () not balanced"),
        ("unopened group", "parentheses () not balanced"),
        ("unclosed character class", "brackets [] not balanced"),
        ("invalid repetition count range", "invalid repetition count(s)"),
        ("repetition quantifier expects a valid decimal", "invalid repetition count(s)"),
        ("repetition operator missing expression", "quantifier operand invalid"),
        ("invalid character class range", "invalid character range"),
        ("incomplete escape sequence", "invalid escape \\ sequence"),
    ];
    match pg.iter().find(|(ours, _)| last.contains(ours)) {
        Some((_, theirs)) => theirs.to_string(),
        None => last.to_string(),
    }
}

/// The largest text a function may build: PostgreSQL's MaxAllocSize (1 GB - 1).
const MAX_TEXT_BYTES: usize = (1 << 30) - 1;

fn too_large() -> SqlError {
    SqlError::new("54000", "requested length too large")
}

fn text(d: &Datum) -> &str {
    match d {
        Datum::Text(s) => s,
        _ => "",
    }
}

fn int(d: &Datum) -> i64 {
    d.as_i64().unwrap_or_default()
}

fn float(d: &Datum) -> f64 {
    d.as_f64().unwrap_or_default()
}

fn out_of_range(what: &str) -> SqlError {
    SqlError::new(code::NUMERIC_VALUE_OUT_OF_RANGE, format!("value out of range: {what}"))
}

fn invalid_power(msg: &str) -> SqlError {
    SqlError::new("2201F", msg)
}

/// The numeric versions of the math functions (the binder picks them for a numeric first
/// argument); None for a function without one.
fn numeric_call(f: Builtin, args: &[Datum]) -> Result<Option<Datum>> {
    use crate::numeric::of;
    let x = of(&args[0])?;
    let scale = || args.get(1).and_then(Datum::as_i64).unwrap_or(0);
    Ok(Some(
        match f {
            Builtin::Round => x.round(scale()).checked()?,
            Builtin::Trunc => x.trunc(scale()).checked()?,
            Builtin::Ceil => x.ceil(true),
            Builtin::Floor => x.ceil(false),
            Builtin::Sign => x.sign(),
            Builtin::Sqrt => x.sqrt()?,
            Builtin::Mod => x.rem(&of(args.get(1).unwrap_or(&Datum::Null))?)?,
            Builtin::Power => x.power(&of(args.get(1).unwrap_or(&Datum::Null))?)?,
            Builtin::Exp => x.exp()?,
            Builtin::Ln => x.ln()?,
            Builtin::Log10 => crate::numeric::Num::from_i64(10).log(&x)?,
            Builtin::Log => x.log(&of(args.get(1).unwrap_or(&Datum::Null))?)?,
            _ => return Ok(None),
        }
        .into_datum(),
    ))
}

pub fn call(f: Builtin, args: Vec<Datum>) -> Result<Datum> {
    if f.strict() && args.iter().any(|a| a.is_null()) {
        return Ok(Datum::Null);
    }
    match f {
        Builtin::MakeRecord(_) => return Ok(Datum::Record(Box::new(args))),
        Builtin::WholeRow(_) if args.iter().all(Datum::is_null) => return Ok(Datum::Null),
        Builtin::WholeRow(_) => return Ok(Datum::Record(Box::new(args))),
        Builtin::KeyedRow(_) if args.first().is_none_or(Datum::is_null) => return Ok(Datum::Null),
        Builtin::KeyedRow(_) => return Ok(Datum::Record(Box::new(args.into_iter().skip(1).collect()))),
        _ => {}
    }
    if let Builtin::Array(f) = f {
        return crate::array::call(f, args);
    }
    if let Builtin::Json(f) = f {
        return crate::json_build::call(f, args);
    }
    if let Builtin::Catalog(f) = f {
        return crate::catalog_fns::call(f, args);
    }
    if let Builtin::OrderedSet(f) = f {
        return crate::ordered_set::call(f, args);
    }
    if let Builtin::JsonOp(f) = f {
        return crate::json::ops::call(f, args);
    }
    if let Builtin::Size(f) = f {
        return crate::catalog_sizes::call(f, args);
    }
    if let Builtin::Text(f) = f {
        return crate::text_fns::call(f, args);
    }
    if let Builtin::Math(f) = f {
        return crate::math_fns::call(f, args);
    }
    let a = |i: usize| args.get(i).unwrap_or(&Datum::Null);
    if let Datum::Numeric(_) = a(0) {
        if let Some(d) = numeric_call(f, &args)? {
            return Ok(d);
        }
    }
    Ok(match f {
        Builtin::Sleep(_) => return Err(crate::sleep::not_here()),
        Builtin::PlCall(oid, _) => return Err(crate::plpgsql::not_here(oid)),
        Builtin::Advisory(_) => return Err(crate::advisory::not_here()),
        Builtin::NextVal | Builtin::CurrVal | Builtin::SetVal => return Err(crate::sequence::not_here()),
        Builtin::RegexMatch | Builtin::RegexMatchCi => {
            Datum::Bool(regex_match(text(a(0)), text(a(1)), f == Builtin::RegexMatchCi)?)
        }
        Builtin::MakeRecord(_) | Builtin::WholeRow(_) | Builtin::KeyedRow(_) => {
            return Err(SqlError::internal("a record is made above"))
        }
        Builtin::RecordSet(i, n) => {
            let mut fields = match a(0) {
                Datum::Record(fields) => fields.clone(),
                _ => Box::new(vec![Datum::Null; n as usize]),
            };
            match fields.get_mut(i as usize) {
                Some(f) => *f = a(1).clone(),
                None => return Err(SqlError::internal("field assignment past a record's fields")),
            }
            Datum::Record(fields)
        }
        Builtin::RecordCast(to) => match a(0) {
            Datum::Record(fields) => crate::composites::cast_fields(fields, to)?,
            other => other.clone(),
        },
        Builtin::RecordField(i) => match a(0) {
            Datum::Record(fields) => fields.get(i).cloned().unwrap_or(Datum::Null),
            _ => return Err(SqlError::internal("field selection of a value that is not a record")),
        },
        Builtin::DomainCheck(oid) => {
            crate::domains::check(oid, a(0))?;
            a(0).clone()
        }
        Builtin::EnumRange(oid) => {
            let t = crate::enums::by_oid(oid)
                .ok_or_else(|| SqlError::new(code::UNDEFINED_OBJECT, format!("cache lookup failed for type {oid}")))?;
            let pos = |d: &Datum| match d {
                Datum::Enum(_, p) => Some(*p),
                _ => None,
            };
            crate::enums::range(&t, pos(a(0)), pos(a(1)))?
        }
        Builtin::TableIsVisible => match a(0).as_i64().and_then(|v| u32::try_from(v).ok()) {
            Some(oid) => Datum::Bool(crate::regtypes::relation_is_visible(oid)),
            None => Datum::Null,
        },
        Builtin::FunctionInfo(kind) => crate::functions_sql::info(kind, a(0).as_i64()),
        Builtin::TriggerDef => crate::triggers::definition_of(a(0).as_i64(), matches!(a(1), Datum::Bool(true))),
        Builtin::IsOtherTempSchema => match a(0).as_i64() {
            Some(oid) => Datum::Bool(crate::temp_tables::is_other_temp_schema(oid)),
            None => Datum::Null,
        },
        Builtin::SatisfiesHashPartition => {
            let (Some(m), Some(r)) = (a(1).as_i64(), a(2).as_i64()) else { return Ok(Datum::Null) };
            if m <= 0 {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    "modulus for hash partition must be an integer value greater than zero",
                ));
            }
            if r < 0 {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    "remainder for hash partition must be an integer value greater than or equal to zero",
                ));
            }
            if r >= m {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    "remainder for hash partition must be less than modulus",
                ));
            }
            let values: Vec<Datum> = (3..args.len()).map(|i| a(i).clone()).collect();
            match crate::partitions::hash::satisfies(m, r, &values) {
                Some(b) => Datum::Bool(b),
                None => return Err(crate::partitions::unsupported("hashing a value of this type for partitions")),
            }
        }
        Builtin::PartConstraintDef => {
            let oid = a(0).as_i64().and_then(|v| u32::try_from(v).ok());
            match oid.and_then(crate::partitions::by_oid) {
                Some(d) => crate::partitions::constraint_display(&d).map_or(Datum::Null, Datum::Text),
                None => Datum::Null,
            }
        }
        Builtin::PartKeyDef => {
            let oid = a(0).as_i64().and_then(|v| u32::try_from(v).ok());
            oid.and_then(crate::partitions::by_oid)
                .and_then(|d| d.partition_key.clone())
                .map_or(Datum::Null, Datum::Text)
        }
        Builtin::RelationIsPublishable => {
            let oid = a(0).as_i64().and_then(|v| u32::try_from(v).ok());
            oid.and_then(crate::regtypes::relation_is_publishable).map_or(Datum::Null, Datum::Bool)
        }
        Builtin::ToReg(kind) => match crate::regtypes::to_reg(kind, text(a(0)))? {
            Some(oid) => Datum::Oid(kind, oid),
            None => Datum::Null,
        },
        Builtin::UserById => match a(0).as_i64() {
            Some(10) => Datum::Text("postgres".into()),
            // pg_database_owner: the owner of schema public.
            Some(6171) => Datum::Text("pg_database_owner".into()),
            Some(n) => Datum::Text(format!("unknown (OID={n})")),
            None => Datum::Null,
        },
        Builtin::Greatest | Builtin::Least => {
            let mut best: Option<&Datum> = None;
            for v in args.iter().filter(|v| !v.is_null()) {
                let better = match best {
                    None => true,
                    Some(b) => {
                        let o = compare(v, b);
                        (f == Builtin::Greatest && o == Some(Ordering::Greater))
                            || (f == Builtin::Least && o == Some(Ordering::Less))
                    }
                };
                if better {
                    best = Some(v);
                }
            }
            best.cloned().unwrap_or(Datum::Null)
        }
        Builtin::Round => Datum::Float8(float(a(0)).round_ties_even()),
        Builtin::Ceil => Datum::Float8(float(a(0)).ceil()),
        Builtin::Floor => Datum::Float8(float(a(0)).floor()),
        Builtin::Trunc => Datum::Float8(float(a(0)).trunc()),
        Builtin::Sign => {
            let x = float(a(0));
            Datum::Float8(if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            })
        }
        Builtin::Sqrt => {
            let x = float(a(0));
            if x < 0.0 {
                return Err(invalid_power("cannot take square root of a negative number"));
            }
            Datum::Float8(x.sqrt())
        }
        Builtin::Power => power(float(a(0)), float(a(1)))?,
        Builtin::Exp => {
            let (x, r) = (float(a(0)), float(a(0)).exp());
            if r.is_infinite() && x.is_finite() {
                return Err(out_of_range("overflow"));
            }
            if r == 0.0 && x.is_finite() {
                return Err(out_of_range("underflow"));
            }
            Datum::Float8(r)
        }
        Builtin::Ln | Builtin::Log10 => {
            let x = float(a(0));
            if x == 0.0 {
                return Err(SqlError::new("2201E", "cannot take logarithm of zero"));
            }
            if x < 0.0 {
                return Err(SqlError::new("2201E", "cannot take logarithm of a negative number"));
            }
            Datum::Float8(if f == Builtin::Ln { x.ln() } else { x.log10() })
        }
        Builtin::Log => return Err(SqlError::internal("log(base, x) of a non-numeric")),
        Builtin::Mod => {
            let (x, y) = (int(a(0)), int(a(1)));
            if y == 0 {
                return Err(SqlError::division_by_zero());
            }
            // i64::MIN % -1 overflows in Rust; the result is 0 in PostgreSQL.
            let r = x.checked_rem(y).unwrap_or(0);
            match a(0) {
                Datum::Int2(_) => Datum::Int2(r as i16),
                Datum::Int4(_) => Datum::Int4(r as i32),
                _ => Datum::Int8(r),
            }
        }
        Builtin::Substr => {
            let s = text(a(0));
            let start = int(a(1));
            let end = match args.get(2) {
                Some(n) => {
                    let n = int(n);
                    if n < 0 {
                        return Err(SqlError::new("22011", "negative substring length not allowed"));
                    }
                    Some(start.saturating_add(n))
                }
                None => None,
            };
            // Characters at 1-based positions start .. end (exclusive), clipped to the text.
            let from = (start.max(1) - 1) as usize;
            let count = match end {
                Some(e) if e <= 1 => 0,
                Some(e) => ((e - 1) as usize).saturating_sub(from),
                None => usize::MAX,
            };
            Datum::Text(s.chars().skip(from).take(count).collect())
        }
        Builtin::Strpos => {
            let (s, sub) = (text(a(0)), text(a(1)));
            match s.find(sub) {
                Some(byte) => Datum::Int4(s[..byte].chars().count() as i32 + 1),
                None => Datum::Int4(0),
            }
        }
        Builtin::Replace => {
            let (s, from, to) = (text(a(0)), text(a(1)), text(a(2)));
            if from.is_empty() {
                Datum::Text(s.to_string())
            } else {
                let hits = s.matches(from).count();
                if s.len() - hits * from.len() + hits * to.len() > MAX_TEXT_BYTES {
                    return Err(too_large());
                }
                Datum::Text(s.replace(from, to))
            }
        }
        Builtin::Btrim | Builtin::Ltrim | Builtin::Rtrim => {
            let s = text(a(0));
            let set: Vec<char> = match args.get(1) {
                Some(c) => text(c).chars().collect(),
                None => vec![' '],
            };
            let s = if f != Builtin::Rtrim { s.trim_start_matches(set.as_slice()) } else { s };
            let s = if f != Builtin::Ltrim { s.trim_end_matches(set.as_slice()) } else { s };
            Datum::Text(s.to_string())
        }
        Builtin::Lpad | Builtin::Rpad => {
            let s = text(a(0));
            let len = int(a(1)).max(0) as usize;
            let fill: Vec<char> = match args.get(2) {
                Some(c) => text(c).chars().collect(),
                None => vec![' '],
            };
            let chars: Vec<char> = s.chars().collect();
            if chars.len() >= len || fill.is_empty() {
                Datum::Text(chars.iter().take(len).collect())
            } else {
                // Four bytes is the most a character takes in UTF-8.
                if len.saturating_mul(4) > MAX_TEXT_BYTES {
                    return Err(too_large());
                }
                let pad: String = fill.iter().cycle().take(len - chars.len()).collect();
                if f == Builtin::Lpad {
                    Datum::Text(pad + s)
                } else {
                    Datum::Text(s.to_string() + &pad)
                }
            }
        }
        Builtin::Concat => {
            let mut out = String::new();
            for v in &args {
                if let Some(t) = types::to_text(v) {
                    if out.len() + t.len() > MAX_TEXT_BYTES {
                        return Err(too_large());
                    }
                    out.push_str(&t);
                }
            }
            Datum::Text(out)
        }
        Builtin::ConcatWs => {
            let Some(sep) = types::to_text(a(0)) else { return Ok(Datum::Null) };
            let mut out = String::new();
            let mut first = true;
            for v in &args[1..] {
                if let Some(t) = types::to_text(v) {
                    if out.len() + sep.len() + t.len() > MAX_TEXT_BYTES {
                        return Err(too_large());
                    }
                    if !first {
                        out.push_str(&sep);
                    }
                    out.push_str(&t);
                    first = false;
                }
            }
            Datum::Text(out)
        }
        Builtin::Left | Builtin::Right => {
            let chars: Vec<char> = text(a(0)).chars().collect();
            let n = int(a(1));
            let len = chars.len() as i64;
            // A negative n counts from the other end: all but the last (first) |n|.
            let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
            let part = if f == Builtin::Left { &chars[..keep] } else { &chars[chars.len() - keep..] };
            Datum::Text(part.iter().collect())
        }
        Builtin::Repeat => {
            let s = text(a(0));
            let n = int(a(1)).max(0) as usize;
            if s.len().saturating_mul(n) > MAX_TEXT_BYTES {
                return Err(too_large());
            }
            Datum::Text(s.repeat(n))
        }
        Builtin::Reverse => Datum::Text(text(a(0)).chars().rev().collect()),
        Builtin::SplitPart => {
            let (s, delim, n) = (text(a(0)), text(a(1)), int(a(2)));
            if n == 0 {
                return Err(SqlError::new("22023", "field position must not be zero"));
            }
            let fields: Vec<&str> = if s.is_empty() {
                vec![]
            } else if delim.is_empty() {
                vec![s]
            } else {
                s.split(delim).collect()
            };
            let idx = if n > 0 { n - 1 } else { fields.len() as i64 + n };
            let field = usize::try_from(idx).ok().and_then(|i| fields.get(i)).copied().unwrap_or("");
            Datum::Text(field.to_string())
        }
        Builtin::StartsWith => Datum::Bool(text(a(0)).starts_with(text(a(1)))),
        Builtin::LikeEscape => Datum::Text(like_escape(text(a(0)), text(a(1)))?),
        Builtin::Nullif => match (a(0), a(1)) {
            (x, y) if compare(x, y) == Some(Ordering::Equal) => Datum::Null,
            (x, _) => x.clone(),
        },
        Builtin::Array(_)
        | Builtin::Json(_)
        | Builtin::Catalog(_)
        | Builtin::OrderedSet(_)
        | Builtin::JsonOp(_)
        | Builtin::Size(_)
        | Builtin::Text(_)
        | Builtin::Math(_) => return Err(SqlError::internal("function dispatched above")),
        Builtin::SizePretty => match a(0) {
            Datum::Numeric(_) => match crate::numeric::Num::from_datum(a(0)) {
                Some(n) => Datum::Text(crate::catalog_sizes::size_pretty_numeric(&n)),
                None => Datum::Null,
            },
            d => d.as_i64().map_or(Datum::Null, |v| Datum::Text(crate::catalog_sizes::size_pretty(v))),
        },
        Builtin::TablespaceLocation => crate::catalog_sizes::tablespace_location(a(0)),
        Builtin::ConstraintDef => {
            let pretty = a(1) == &Datum::Bool(true);
            crate::catalog::constraint_def(a(0).as_i64().unwrap_or(0), pretty).map_or(Datum::Null, Datum::Text)
        }
        Builtin::IndexDef => {
            let pretty = a(2) == &Datum::Bool(true);
            crate::catalog::index_def(a(0).as_i64().unwrap_or(0), a(1).as_i64().unwrap_or(0), pretty)
                .map_or(Datum::Null, Datum::Text)
        }
        // Orbit keeps expressions as their SQL text: that text is the expression.
        // An index's predicate or expressions (pg_index.indpred/indexprs), printed pretty.
        Builtin::GetExpr => match (a(0), a(2)) {
            (Datum::Text(t), Datum::Bool(true)) => Datum::Text(crate::bind::pretty_text(t)),
            (v, _) => v.clone(),
        },
        Builtin::FormatType => {
            use orbit_engine::table::SqlType;
            let Some(oid) = a(0).as_i64() else { return Ok(Datum::Null) };
            if let Some(d) = u32::try_from(oid).ok().and_then(crate::domains::by_oid) {
                return Ok(Datum::Text(d.shown()));
            }
            let known = |t: &SqlType| match t.elem().unwrap_or(*t) {
                SqlType::Enum(o) => crate::enums::by_oid(o).is_some(),
                _ => true,
            };
            let Some(t) = u32::try_from(oid).ok().and_then(SqlType::from_oid).filter(known) else {
                return Ok(Datum::Text("???".into()));
            };
            Datum::Text(match (t, a(1).as_i64()) {
                // A typmod of -1 given for bpchar names the type itself; none given, the SQL name.
                (SqlType::Bpchar(_), Some(m)) if m < 4 => "bpchar".into(),
                (t, Some(m)) => t.with_modifier(i32::try_from(m).unwrap_or(-1)).name(),
                (t, None) => t.name(),
            })
        }
    })
}

/// PostgreSQL's like_escape (`src/backend/utils/adt/like_match.c` do_like_escape): an empty
/// escape turns escaping off (backslashes doubled); one character `e` becomes the escape.
pub(crate) fn like_escape(pattern: &str, esc: &str) -> Result<String> {
    let mut chars = esc.chars();
    let (e, more) = (chars.next(), chars.next());
    if more.is_some() {
        return Err(
            SqlError::new("22025", "invalid escape string").hint("Escape string must be empty or one character.")
        );
    }
    let mut out = String::with_capacity(pattern.len() + 2);
    let Some(e) = e else {
        return Ok(pattern.replace('\\', "\\\\"));
    };
    if e == '\\' {
        return Ok(pattern.to_string());
    }
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        if c == e {
            // The escaped character, backslash-escaped (an escape at the end stays, and fails
            // as LIKE's own does).
            out.push('\\');
            if let Some(n) = it.next() {
                out.push(n);
            }
        } else if c == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// PostgreSQL's dpow: errors for 0 to a negative power and a negative base with a fractional
/// exponent; overflow and underflow checked as for the arithmetic operators.
fn power(x: f64, y: f64) -> Result<Datum> {
    if x == 0.0 && y < 0.0 {
        return Err(invalid_power("zero raised to a negative power is undefined"));
    }
    if x < 0.0 && y.is_finite() && y.floor() != y {
        return Err(invalid_power("a negative number raised to a non-integer power yields a complex result"));
    }
    let r = x.powf(y);
    if r.is_infinite() && x.is_finite() && y.is_finite() {
        return Err(out_of_range("overflow"));
    }
    if r == 0.0 && x != 0.0 && x.is_finite() && y.is_finite() {
        return Err(out_of_range("underflow"));
    }
    Ok(Datum::Float8(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Datum {
        Datum::Text(s.into())
    }

    #[test]
    fn substr_clips_like_postgresql() {
        let sub = |s, from, n: Option<i32>| {
            let mut args = vec![t(s), Datum::Int4(from)];
            args.extend(n.map(Datum::Int4));
            call(Builtin::Substr, args).unwrap()
        };
        assert_eq!(sub("hello", 2, Some(3)), t("ell"));
        assert_eq!(sub("hello", 0, Some(3)), t("he"));
        assert_eq!(sub("hello", -5, Some(3)), t(""));
        assert_eq!(sub("hello", 4, None), t("lo"));
        assert_eq!(sub("hello", 9, Some(2)), t(""));
        assert_eq!(call(Builtin::Substr, vec![t("x"), Datum::Int4(1), Datum::Int4(-1)]).unwrap_err().code, "22011");
    }

    #[test]
    fn pads_trims_and_parts() {
        let pad = |f, s, n, fill: &str| call(f, vec![t(s), Datum::Int4(n), t(fill)]).unwrap();
        assert_eq!(pad(Builtin::Lpad, "hi", 5, "xy"), t("xyxhi"));
        assert_eq!(pad(Builtin::Rpad, "hello", 3, "x"), t("hel"));
        assert_eq!(pad(Builtin::Lpad, "hi", 5, ""), t("hi"));
        assert_eq!(call(Builtin::Btrim, vec![t("xxhixx"), t("x")]).unwrap(), t("hi"));
        assert_eq!(call(Builtin::Ltrim, vec![t("  hi ")]).unwrap(), t("hi "));
        let part = |s, d, n| call(Builtin::SplitPart, vec![t(s), t(d), Datum::Int4(n)]).unwrap();
        assert_eq!(part("a,b,c", ",", 2), t("b"));
        assert_eq!(part("a,b,c", ",", -1), t("c"));
        assert_eq!(part("a,b,c", ",", 4), t(""));
        assert_eq!(part("abc", "", 1), t("abc"));
        assert_eq!(call(Builtin::Left, vec![t("hello"), Datum::Int4(-2)]).unwrap(), t("hel"));
        assert_eq!(call(Builtin::Right, vec![t("hello"), Datum::Int4(2)]).unwrap(), t("lo"));
    }

    #[test]
    fn bounded_results() {
        let r = call(Builtin::Repeat, vec![t("ab"), Datum::Int4(i32::MAX)]);
        assert_eq!(r.unwrap_err().code, "54000");
        let r = call(Builtin::Lpad, vec![t("a"), Datum::Int4(i32::MAX), t("x")]);
        assert_eq!(r.unwrap_err().code, "54000");
    }

    #[test]
    fn math_as_postgresql() {
        assert_eq!(call(Builtin::Round, vec![Datum::Float8(2.5)]).unwrap(), Datum::Float8(2.0));
        assert_eq!(call(Builtin::Power, vec![Datum::Float8(0.0), Datum::Float8(-1.0)]).unwrap_err().code, "2201F");
        assert_eq!(call(Builtin::Power, vec![Datum::Float8(10.0), Datum::Float8(400.0)]).unwrap_err().code, "22003");
        assert_eq!(call(Builtin::Mod, vec![Datum::Int4(-7), Datum::Int4(3)]).unwrap(), Datum::Int4(-1));
        let g = call(Builtin::Greatest, vec![Datum::Int4(1), Datum::Null, Datum::Int4(3)]).unwrap();
        assert_eq!(g, Datum::Int4(3));
    }
}
