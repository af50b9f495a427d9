//! Evaluation of SQL/JSON paths ([`super::path`]) over jsonb values, as PostgreSQL 15's
//! jsonpath_exec.c does it: lax mode (the default) wraps and unwraps arrays and ignores
//! structural errors, strict mode raises them (22033, 22039, 2203A, 2203C, ... with
//! PostgreSQL's texts); `silent` turns the errors PostgreSQL's RETURN_ERROR suppresses into "no
//! result". Numbers are numeric ([`crate::numeric::Num`]), so arithmetic has numeric's scales.
//! Also jsonb_path_exists / _match / _query / _query_array / _query_first and the `@?` / `@@`
//! operators ([`PathFn`]).
//!
//! Bounds: a path nests at most [`super::path::MAX_PATH_DEPTH`] levels and a document 256, and
//! the evaluator counts its recursion ([`MAX_EVAL_DEPTH`]) and measures its stack
//! ([`super::path::STACK_BUDGET_BYTES`]), 54001 past either, so a hostile path cannot overflow
//! a shard's stack. One call's work is polynomial in the document's size (`.**` visits each
//! value once per level) and its copies are bounded ([`MAX_COPIED_BYTES`]); a call checks no
//! cancel request (scalar evaluation reaches none; the row loops around it do).
//! `.datetime()` is not built (0A000).

use super::path::{BinOp, Item, JsonPath, Kind, Method, UnOp, LAST, REGEX_DOTALL, REGEX_ICASE, REGEX_MLINE};
use super::path::{REGEX_QUOTE, REGEX_WSPACE};
use super::{cmp_number, parse, write_jsonb, Node, Value};
use crate::error::{code, Result, SqlError};
use crate::numeric::Num;
use orbit_engine::table::{ArrayValue, Datum, SqlType};
use std::cmp::Ordering;

/// Recursion of one evaluation past which it fails with 54001 (items nest at most
/// MAX_PATH_DEPTH deep and documents 256 deep); the stack budget
/// ([`super::path::STACK_BUDGET_BYTES`]) usually stops it first in an unoptimized build, where
/// an accessor's frames take about 9 KiB.
pub const MAX_EVAL_DEPTH: usize = 1024;

/// The bytes of values one evaluation may copy into its item lists (the items it returns, the
/// operands of its predicates and arithmetic): past it the call fails with 54000. `.**` over
/// `.**` copies each value once per level above it, so a small path can ask for many times
/// its document's size; PostgreSQL fails such a call when memory runs out.
pub const MAX_COPIED_BYTES: usize = (1 << 30) - 1;

/// The estimated bytes of a copied value.
fn value_bytes(v: &Value) -> usize {
    16 + match v {
        Value::Null | Value::Bool(_) => 0,
        Value::Number(s) | Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(|n| value_bytes(&n.value)).sum(),
        Value::Object(fields) => fields.iter().map(|(k, n)| 16 + k.len() + value_bytes(&n.value)).sum(),
    }
}

/// The SQL-callable functions and operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathFn {
    /// jsonb_path_exists(target, path [, vars, silent]) -> bool; `jsonb @? jsonpath`.
    Exists,
    /// jsonb_path_match(...) -> bool; `jsonb @@ jsonpath`.
    Match,
    /// jsonb_path_query(...): the items as a jsonb[] (unnested into rows).
    Query,
    /// jsonb_path_query_array(...) -> jsonb.
    QueryArray,
    /// jsonb_path_query_first(...) -> jsonb.
    QueryFirst,
}

/// The like_regex pattern compiled with its flags (PostgreSQL compiles it when the path is read,
/// so a bad pattern or the `x` flag fails the input).
pub fn like_regex(pattern: &str, flags: u8) -> Result<regex::Regex> {
    if flags & REGEX_QUOTE != 0 {
        return crate::scalar::compiled(&regex::escape(pattern), flags & REGEX_ICASE != 0);
    }
    if flags & REGEX_WSPACE != 0 {
        return Err(SqlError::unsupported("XQuery \"x\" flag (expanded regular expressions) is not implemented"));
    }
    // POSIX's default is dot-all; PostgreSQL sets REG_NLSTOP unless `s`, REG_NLANCH with `m`.
    let mut p = String::new();
    if flags & REGEX_DOTALL != 0 {
        p.push_str("(?s)");
    }
    if flags & REGEX_MLINE != 0 {
        p.push_str("(?m)");
    }
    p.push_str(pattern);
    crate::scalar::compiled(&p, flags & REGEX_ICASE != 0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Res {
    Ok,
    NotFound,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pb {
    True,
    False,
    Unknown,
}

type Out<'f> = Option<&'f mut Vec<Value>>;

struct Cx<'a> {
    lax: bool,
    ignore_structural: bool,
    throw: bool,
    root: &'a Value,
    /// The vars object (None: the operators, which pass no vars).
    vars: Option<&'a Value>,
    innermost_array_size: i64,
    depth: usize,
    /// Bytes copied into item lists so far ([`MAX_COPIED_BYTES`]).
    copied: usize,
    stack: super::path::StackBase,
    /// The object keyvalue() ids count from, and its number (PostgreSQL's baseObject).
    base: Option<*const Value>,
    base_id: i64,
    last_generated_id: i64,
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Array(_) | Value::Object(_))
}

fn num(text: &str) -> Result<Num> {
    Num::parse(text)
}

fn number(n: Num) -> Value {
    Value::Number(n.to_text())
}

fn children(v: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match v {
        Value::Array(items) => Box::new(items.iter().map(|n| &n.value)),
        Value::Object(fields) => Box::new(fields.iter().map(|(_, n)| &n.value)),
        _ => Box::new(std::iter::empty()),
    }
}

fn node(v: Value) -> Node {
    Node { value: v, start: 0, end: 0 }
}

impl<'a> Cx<'a> {
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_EVAL_DEPTH {
            return Err(SqlError::new("54001", "stack depth limit exceeded"));
        }
        self.stack.check()
    }

    /// Counts a copy of `v` into an item list against [`MAX_COPIED_BYTES`].
    fn keep(&mut self, v: &Value) -> Result<()> {
        self.copied = self.copied.saturating_add(value_bytes(v));
        if self.copied > MAX_COPIED_BYTES {
            return Err(SqlError::new(
                code::PROGRAM_LIMIT_EXCEEDED,
                "jsonpath evaluation copied more than 1 GB of values",
            ));
        }
        Ok(())
    }

    /// RETURN_ERROR: the error, or a silent failure.
    fn fail(&self, code: &'static str, message: String) -> Result<Res> {
        if self.throw {
            Err(SqlError::new(code, message))
        } else {
            Ok(Res::Error)
        }
    }

    fn item(&mut self, jsp: &Item, jb: &Value, cur: &Value, found: Out) -> Result<Res> {
        let lax = self.lax;
        self.item_opt(jsp, jb, cur, found, lax)
    }

    /// executeNextItem: the item after `jsp` on `v`, or `v` itself as a result.
    fn next(&mut self, jsp: &Item, v: &Value, cur: &Value, found: Out) -> Result<Res> {
        match &jsp.next {
            Some(n) => self.item(n, v, cur, found),
            None => {
                if let Some(f) = found {
                    self.keep(v)?;
                    f.push(v.clone());
                }
                Ok(Res::Ok)
            }
        }
    }

    fn item_opt(&mut self, jsp: &Item, jb: &Value, cur: &Value, found: Out, unwrap: bool) -> Result<Res> {
        self.enter()?;
        let r = self.item_inner(jsp, jb, cur, found, unwrap);
        self.depth -= 1;
        r
    }

    fn item_inner(&mut self, jsp: &Item, jb: &Value, cur: &Value, mut found: Out, unwrap: bool) -> Result<Res> {
        let mut res = Res::NotFound;
        match &jsp.kind {
            Kind::Binary(op, ..) if !matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod) => {
                let st = self.bool_item(jsp, jb, cur)?;
                return self.append_bool(jsp, st, cur, found);
            }
            Kind::Unary(UnOp::Not | UnOp::IsUnknown | UnOp::Exists, _) | Kind::LikeRegex { .. } => {
                let st = self.bool_item(jsp, jb, cur)?;
                return self.append_bool(jsp, st, cur, found);
            }
            Kind::Key(key) => match jb {
                Value::Object(fields) => match fields.iter().find(|(k, _)| k == key) {
                    Some((_, v)) => res = self.next(jsp, &v.value, cur, found)?,
                    None if !self.ignore_structural => {
                        return self.fail("2203A", format!("JSON object does not contain key \"{key}\""));
                    }
                    None => {}
                },
                Value::Array(_) if unwrap => return self.unwrap_target_array(Some(jsp), jb, cur, found, false),
                _ if !self.ignore_structural => {
                    return self.fail("2203A", "jsonpath member accessor can only be applied to an object".into());
                }
                _ => {}
            },
            Kind::Root => {
                let root = self.root;
                let saved = (self.base, self.base_id);
                self.base = is_container(root).then_some(root as *const Value);
                self.base_id = 0;
                res = self.next(jsp, root, cur, found)?;
                (self.base, self.base_id) = saved;
            }
            Kind::Current => res = self.next(jsp, cur, cur, found)?,
            Kind::AnyArray => match jb {
                Value::Array(_) => {
                    let lax = self.lax;
                    res = self.unwrap_target_array(jsp.next.as_deref(), jb, cur, found, lax)?;
                }
                _ if self.lax => res = self.next(jsp, jb, cur, found)?,
                _ if !self.ignore_structural => {
                    return self
                        .fail("22039", "jsonpath wildcard array accessor can only be applied to an array".into());
                }
                _ => {}
            },
            Kind::IndexArray(subs) => return self.index_array(jsp, subs, jb, cur, found),
            Kind::Last => {
                if self.innermost_array_size < 0 {
                    return Err(SqlError::internal("evaluating jsonpath LAST outside of array subscript"));
                }
                if jsp.next.is_none() && found.is_none() {
                    return Ok(Res::Ok);
                }
                let last = number(Num::from_i64(self.innermost_array_size - 1));
                res = self.next(jsp, &last, cur, found)?;
            }
            Kind::AnyKey => match jb {
                Value::Object(_) => {
                    let lax = self.lax;
                    return self.any_item(jsp.next.as_deref(), jb, cur, found, 1, 1, 1, false, lax);
                }
                Value::Array(_) if unwrap => return self.unwrap_target_array(Some(jsp), jb, cur, found, false),
                _ if !self.ignore_structural => {
                    return self
                        .fail("2203C", "jsonpath wildcard member accessor can only be applied to an object".into());
                }
                _ => {}
            },
            Kind::Binary(op, l, r) => return self.binary_arith(jsp, *op, l, r, jb, cur, found),
            Kind::Unary(op @ (UnOp::Plus | UnOp::Minus), a) => return self.unary_arith(jsp, *op, a, jb, cur, found),
            Kind::Unary(UnOp::Filter, pred) => {
                if unwrap && matches!(jb, Value::Array(_)) {
                    return self.unwrap_target_array(Some(jsp), jb, cur, found, false);
                }
                let st = self.bool_item(pred, jb, jb)?;
                res = if st != Pb::True { Res::NotFound } else { self.next(jsp, jb, cur, found)? };
            }
            Kind::Any { first, last } => {
                if *first == 0 {
                    let saved = self.ignore_structural;
                    self.ignore_structural = true;
                    res = self.next(jsp, jb, cur, found.as_deref_mut())?;
                    self.ignore_structural = saved;
                    if res == Res::Ok && found.is_none() {
                        return Ok(res);
                    }
                }
                if is_container(jb) {
                    let lax = self.lax;
                    res = self.any_item(jsp.next.as_deref(), jb, cur, found, 1, *first, *last, true, lax)?;
                }
            }
            Kind::Null | Kind::Bool(_) | Kind::Numeric(_) | Kind::String(_) | Kind::Variable(_) => {
                if jsp.next.is_none() && found.is_none() && !matches!(jsp.kind, Kind::Variable(_)) {
                    return Ok(Res::Ok);
                }
                let saved = (self.base, self.base_id);
                let owned;
                let v: &Value = match &jsp.kind {
                    // The variable itself (its address gives keyvalue() its id).
                    Kind::Variable(name) => self.variable(name)?,
                    Kind::Null => {
                        owned = Value::Null;
                        &owned
                    }
                    Kind::Bool(b) => {
                        owned = Value::Bool(*b);
                        &owned
                    }
                    Kind::Numeric(n) => {
                        owned = Value::Number(n.clone());
                        &owned
                    }
                    Kind::String(s) => {
                        owned = Value::String(s.clone());
                        &owned
                    }
                    _ => return Err(SqlError::internal("not a literal")),
                };
                res = self.next(jsp, v, cur, found)?;
                (self.base, self.base_id) = saved;
            }
            Kind::Method(
                Method::Type | Method::Size | Method::Abs | Method::Floor | Method::Ceiling | Method::Double,
            ) => return self.method(jsp, jb, cur, found, unwrap),
            Kind::Datetime(_) => {
                return Err(SqlError::unsupported("jsonpath item method .datetime() is not supported"));
            }
            Kind::Method(Method::KeyValue) => {
                if unwrap && matches!(jb, Value::Array(_)) {
                    return self.unwrap_target_array(Some(jsp), jb, cur, found, false);
                }
                return self.keyvalue(jsp, jb, cur, found);
            }
        }
        Ok(res)
    }

    /// The `[...]` accessor (split from `item_inner` to keep that recursive frame small).
    fn index_array(
        &mut self,
        jsp: &Item,
        subs: &[(Item, Option<Item>)],
        jb: &Value,
        cur: &Value,
        mut found: Out,
    ) -> Result<Res> {
        let mut res = Res::NotFound;
        let items: Option<&Vec<Node>> = match jb {
            Value::Array(items) => Some(items),
            _ => None,
        };
        if items.is_none() && !self.lax {
            if !self.ignore_structural {
                return self.fail("22039", "jsonpath array accessor can only be applied to an array".into());
            }
            return Ok(res);
        }
        let saved_size = self.innermost_array_size;
        let size = items.map_or(1, |i| i.len() as i64);
        self.innermost_array_size = size;
        for (from, to) in subs {
            let index_from = match self.array_index(from, jb, cur)? {
                Ok(i) => i,
                Err(r) => {
                    res = r;
                    break;
                }
            };
            let index_to = match to {
                Some(to) => match self.array_index(to, jb, cur)? {
                    Ok(i) => i,
                    Err(r) => {
                        res = r;
                        break;
                    }
                },
                None => index_from,
            };
            if !self.ignore_structural && (index_from < 0 || index_from > index_to || index_to >= size) {
                self.innermost_array_size = saved_size;
                return self.fail("22033", "jsonpath array subscript is out of bounds".into());
            }
            let index_from = index_from.max(0);
            let index_to = index_to.min(size - 1);
            res = Res::NotFound;
            for index in index_from..=index_to {
                let v = match items {
                    None => jb,
                    Some(items) => match items.get(index as usize) {
                        Some(n) => &n.value,
                        None => continue,
                    },
                };
                if jsp.next.is_none() && found.is_none() {
                    self.innermost_array_size = saved_size;
                    return Ok(Res::Ok);
                }
                res = self.next(jsp, v, cur, found.as_deref_mut())?;
                if res == Res::Error || (res == Res::Ok && found.is_none()) {
                    break;
                }
            }
            if res == Res::Error || (res == Res::Ok && found.is_none()) {
                break;
            }
        }
        self.innermost_array_size = saved_size;
        Ok(res)
    }

    /// The item methods but keyvalue() (split from `item_inner` to keep that frame small).
    fn method(&mut self, jsp: &Item, jb: &Value, cur: &Value, found: Out, unwrap: bool) -> Result<Res> {
        let res = Res::NotFound;
        Ok(match &jsp.kind {
            Kind::Method(Method::Type) => {
                let v = Value::String(super::ops::typeof_name(jb).to_string());
                self.next(jsp, &v, cur, found)?
            }
            Kind::Method(Method::Size) => {
                let size = match jb {
                    Value::Array(items) => items.len() as i64,
                    _ if !self.lax => {
                        if !self.ignore_structural {
                            return self
                                .fail("22039", "jsonpath item method .size() can only be applied to an array".into());
                        }
                        return Ok(res);
                    }
                    _ => 1,
                };
                self.next(jsp, &number(Num::from_i64(size)), cur, found)?
            }
            Kind::Method(m @ (Method::Abs | Method::Floor | Method::Ceiling)) => {
                if unwrap && matches!(jb, Value::Array(_)) {
                    return self.unwrap_target_array(Some(jsp), jb, cur, found, false);
                }
                let Value::Number(n) = jb else {
                    return self.fail(
                        "22036",
                        format!("jsonpath item method .{}() can only be applied to a numeric value", m.name()),
                    );
                };
                let n = num(n)?;
                let v = match m {
                    Method::Abs => n.abs(),
                    Method::Floor => n.ceil(false),
                    _ => n.ceil(true),
                };
                if jsp.next.is_none() && found.is_none() {
                    return Ok(Res::Ok);
                }
                self.next(jsp, &number(v), cur, found)?
            }
            Kind::Method(Method::Double) => {
                if unwrap && matches!(jb, Value::Array(_)) {
                    return self.unwrap_target_array(Some(jsp), jb, cur, found, false);
                }
                let v = match jb {
                    Value::Number(n) => {
                        let f = num(n)?.to_f64();
                        if !f.is_finite() {
                            return self.fail(
                                "22036",
                                "numeric argument of jsonpath item method .double() is out of range for type double precision"
                                    .into(),
                            );
                        }
                        jb.clone()
                    }
                    Value::String(s) => {
                        let f = match crate::types::parse_text(SqlType::Float8, s) {
                            Ok(Datum::Float8(f)) if f.is_finite() => f,
                            _ => {
                                return self.fail(
                                    "22036",
                                    "string argument of jsonpath item method .double() is not a valid representation of a double precision number"
                                        .into(),
                                )
                            }
                        };
                        number(Num::from_f64(f, 15))
                    }
                    _ => {
                        return self.fail(
                            "22036",
                            "jsonpath item method .double() can only be applied to a string or numeric value".into(),
                        )
                    }
                };
                self.next(jsp, &v, cur, found)?
            }
            _ => return Err(SqlError::internal("not an item method")),
        })
    }

    /// A variable's value from the vars object (PostgreSQL 15: JSON null when there is no vars
    /// object, as for the operators).
    fn variable(&mut self, name: &str) -> Result<&'a Value> {
        const NULL: &Value = &Value::Null;
        let Some(vars) = self.vars else { return Ok(NULL) };
        let Value::Object(fields) = vars else { return Ok(NULL) };
        match fields.iter().find(|(k, _)| k == name) {
            Some((_, v)) => {
                self.base = Some(vars as *const Value);
                self.base_id = 1;
                Ok(&v.value)
            }
            None => Err(SqlError::new(code::UNDEFINED_OBJECT, format!("could not find jsonpath variable \"{name}\""))),
        }
    }

    fn unwrap_target_array(
        &mut self,
        jsp: Option<&Item>,
        jb: &Value,
        cur: &Value,
        found: Out,
        unwrap_elements: bool,
    ) -> Result<Res> {
        self.any_item(jsp, jb, cur, found, 1, 1, 1, false, unwrap_elements)
    }

    /// executeAnyItem: the values of container `jbc` at levels `first..=last` below it.
    #[allow(clippy::too_many_arguments)]
    fn any_item(
        &mut self,
        jsp: Option<&Item>,
        jbc: &Value,
        cur: &Value,
        mut found: Out,
        level: u32,
        first: u32,
        last: u32,
        ignore_structural: bool,
        unwrap_next: bool,
    ) -> Result<Res> {
        let mut res = Res::NotFound;
        if level > last {
            return Ok(res);
        }
        self.enter()?;
        for v in children(jbc) {
            if level >= first || (first == LAST && last == LAST && !is_container(v)) {
                if let Some(j) = jsp {
                    let saved = self.ignore_structural;
                    if ignore_structural {
                        self.ignore_structural = true;
                    }
                    let r = self.item_opt(j, v, cur, found.as_deref_mut(), unwrap_next);
                    self.ignore_structural = saved;
                    res = r?;
                    if res == Res::Error || (res == Res::Ok && found.is_none()) {
                        break;
                    }
                } else if let Some(f) = found.as_deref_mut() {
                    self.keep(v)?;
                    f.push(v.clone());
                } else {
                    self.depth -= 1;
                    return Ok(Res::Ok);
                }
            }
            if level < last && is_container(v) {
                res = self.any_item(
                    jsp,
                    v,
                    cur,
                    found.as_deref_mut(),
                    level + 1,
                    first,
                    last,
                    ignore_structural,
                    unwrap_next,
                )?;
                if res == Res::Error || (res == Res::Ok && found.is_none()) {
                    break;
                }
            }
        }
        self.depth -= 1;
        Ok(res)
    }

    /// getArrayIndex: Ok(index) or Err(the failed result).
    fn array_index(&mut self, jsp: &Item, jb: &Value, cur: &Value) -> Result<std::result::Result<i64, Res>> {
        let mut found = Vec::new();
        let res = self.item(jsp, jb, cur, Some(&mut found))?;
        if res == Res::Error {
            return Ok(Err(res));
        }
        let n = match found.as_slice() {
            [Value::Number(n)] => num(n)?,
            _ => return self.fail("22033", "jsonpath array subscript is not a single numeric value".into()).map(Err),
        };
        match n.trunc(0).to_int("integer", i32::MIN as i64, i32::MAX as i64) {
            Ok(i) => Ok(Ok(i)),
            Err(_) => self.fail("22033", "jsonpath array subscript is out of integer range".into()).map(Err),
        }
    }

    fn append_bool(&mut self, jsp: &Item, st: Pb, cur: &Value, found: Out) -> Result<Res> {
        if found.is_none() && jsp.next.is_none() {
            return Ok(Res::Ok);
        }
        let v = match st {
            Pb::Unknown => Value::Null,
            b => Value::Bool(b == Pb::True),
        };
        self.next(jsp, &v, cur, found)
    }

    /// executeItemOptUnwrapResult: the items, arrays among them unwrapped in lax mode.
    fn unwrapped_result(
        &mut self,
        jsp: &Item,
        jb: &Value,
        cur: &Value,
        unwrap: bool,
        found: &mut Vec<Value>,
    ) -> Result<Res> {
        if unwrap && self.lax {
            let mut seq = Vec::new();
            let res = self.item(jsp, jb, cur, Some(&mut seq))?;
            if res == Res::Error {
                return Ok(res);
            }
            for v in seq {
                match v {
                    Value::Array(items) => found.extend(items.into_iter().map(|n| n.value)),
                    v => found.push(v),
                }
            }
            return Ok(Res::Ok);
        }
        self.item(jsp, jb, cur, Some(found))
    }

    fn unwrapped_result_no_throw(
        &mut self,
        jsp: &Item,
        jb: &Value,
        cur: &Value,
        unwrap: bool,
        found: &mut Vec<Value>,
    ) -> Result<Res> {
        let saved = self.throw;
        self.throw = false;
        let r = self.unwrapped_result(jsp, jb, cur, unwrap, found);
        self.throw = saved;
        r
    }

    fn bool_item(&mut self, jsp: &Item, jb: &Value, cur: &Value) -> Result<Pb> {
        self.enter()?;
        let r = self.bool_inner(jsp, jb, cur);
        self.depth -= 1;
        r
    }

    fn bool_inner(&mut self, jsp: &Item, jb: &Value, cur: &Value) -> Result<Pb> {
        match &jsp.kind {
            Kind::Binary(BinOp::And, l, r) => {
                let a = self.bool_item(l, jb, cur)?;
                if a == Pb::False {
                    return Ok(Pb::False);
                }
                let b = self.bool_item(r, jb, cur)?;
                Ok(if b == Pb::True { a } else { b })
            }
            Kind::Binary(BinOp::Or, l, r) => {
                let a = self.bool_item(l, jb, cur)?;
                if a == Pb::True {
                    return Ok(Pb::True);
                }
                let b = self.bool_item(r, jb, cur)?;
                Ok(if b == Pb::False { a } else { b })
            }
            Kind::Unary(UnOp::Not, a) => Ok(match self.bool_item(a, jb, cur)? {
                Pb::Unknown => Pb::Unknown,
                Pb::True => Pb::False,
                Pb::False => Pb::True,
            }),
            Kind::Unary(UnOp::IsUnknown, a) => {
                Ok(if self.bool_item(a, jb, cur)? == Pb::Unknown { Pb::True } else { Pb::False })
            }
            Kind::Binary(op @ BinOp::StartsWith, l, r) => self.predicate(*op, l, Some(r), jb, cur, false, None),
            Kind::Binary(op, l, r) => self.predicate(*op, l, Some(r), jb, cur, true, None),
            Kind::LikeRegex { expr, pattern, flags } => {
                let re = like_regex(pattern, *flags)?;
                self.predicate(BinOp::StartsWith, expr, None, jb, cur, false, Some(&re))
            }
            Kind::Unary(UnOp::Exists, a) => {
                let mut vals = Vec::new();
                if !self.lax {
                    let res = self.unwrapped_result_no_throw(a, jb, cur, false, &mut vals)?;
                    if res == Res::Error {
                        return Ok(Pb::Unknown);
                    }
                    return Ok(if vals.is_empty() { Pb::False } else { Pb::True });
                }
                let saved = self.throw;
                self.throw = false;
                let res = self.item(a, jb, cur, None);
                self.throw = saved;
                Ok(match res? {
                    Res::Error => Pb::Unknown,
                    Res::Ok => Pb::True,
                    Res::NotFound => Pb::False,
                })
            }
            _ => Err(SqlError::internal("invalid boolean jsonpath item")),
        }
    }

    /// executePredicate: `op` (a comparison or starts with; like_regex when `re`) over every
    /// pair of the operands' items.
    #[allow(clippy::too_many_arguments)]
    fn predicate(
        &mut self,
        op: BinOp,
        l: &Item,
        r: Option<&Item>,
        jb: &Value,
        cur: &Value,
        unwrap_right: bool,
        re: Option<&regex::Regex>,
    ) -> Result<Pb> {
        let mut lseq = Vec::new();
        if self.unwrapped_result_no_throw(l, jb, cur, true, &mut lseq)? == Res::Error {
            return Ok(Pb::Unknown);
        }
        let mut rseq = Vec::new();
        if let Some(r) = r {
            if self.unwrapped_result_no_throw(r, jb, cur, unwrap_right, &mut rseq)? == Res::Error {
                return Ok(Pb::Unknown);
            }
        }
        let (mut error, mut found) = (false, false);
        let single = [Value::Null];
        let rights: &[Value] = if r.is_some() { &rseq } else { &single };
        for lv in &lseq {
            for rv in rights {
                let res = match re {
                    Some(re) => match lv {
                        Value::String(s) => {
                            if re.is_match(s) {
                                Pb::True
                            } else {
                                Pb::False
                            }
                        }
                        _ => Pb::Unknown,
                    },
                    None if op == BinOp::StartsWith => match (lv, rv) {
                        (Value::String(w), Value::String(i)) => {
                            if w.starts_with(i.as_str()) {
                                Pb::True
                            } else {
                                Pb::False
                            }
                        }
                        _ => Pb::Unknown,
                    },
                    None => compare(op, lv, rv),
                };
                match res {
                    Pb::Unknown => {
                        if !self.lax {
                            return Ok(Pb::Unknown);
                        }
                        error = true;
                    }
                    Pb::True => {
                        if self.lax {
                            return Ok(Pb::True);
                        }
                        found = true;
                    }
                    Pb::False => {}
                }
            }
        }
        Ok(if found {
            Pb::True
        } else if error {
            Pb::Unknown
        } else {
            Pb::False
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn binary_arith(
        &mut self,
        jsp: &Item,
        op: BinOp,
        l: &Item,
        r: &Item,
        jb: &Value,
        cur: &Value,
        found: Out,
    ) -> Result<Res> {
        let mut lseq = Vec::new();
        let res = self.unwrapped_result(l, jb, cur, true, &mut lseq)?;
        if res == Res::Error {
            return Ok(res);
        }
        let mut rseq = Vec::new();
        let res = self.unwrapped_result(r, jb, cur, true, &mut rseq)?;
        if res == Res::Error {
            return Ok(res);
        }
        let name = op.name();
        let lv = match lseq.as_slice() {
            [Value::Number(n)] => num(n)?,
            _ => {
                return self
                    .fail("22038", format!("left operand of jsonpath operator {name} is not a single numeric value"))
            }
        };
        let rv = match rseq.as_slice() {
            [Value::Number(n)] => num(n)?,
            _ => {
                return self
                    .fail("22038", format!("right operand of jsonpath operator {name} is not a single numeric value"))
            }
        };
        let v = match op {
            BinOp::Add => lv.add(&rv),
            BinOp::Sub => lv.sub(&rv),
            BinOp::Mul => lv.mul(&rv),
            BinOp::Div => lv.div(&rv),
            _ => lv.rem(&rv),
        };
        let v = match v {
            Ok(v) => v,
            Err(e) if self.throw => return Err(e),
            Err(_) => return Ok(Res::Error),
        };
        if jsp.next.is_none() && found.is_none() {
            return Ok(Res::Ok);
        }
        self.next(jsp, &number(v), cur, found)
    }

    fn unary_arith(&mut self, jsp: &Item, op: UnOp, a: &Item, jb: &Value, cur: &Value, mut found: Out) -> Result<Res> {
        let mut seq = Vec::new();
        let res = self.unwrapped_result(a, jb, cur, true, &mut seq)?;
        if res == Res::Error {
            return Ok(res);
        }
        let mut out = Res::NotFound;
        let has_next = jsp.next.is_some();
        for v in seq {
            let n = match &v {
                Value::Number(n) => {
                    if found.is_none() && !has_next {
                        return Ok(Res::Ok);
                    }
                    num(n)?
                }
                _ => {
                    if found.is_none() && !has_next {
                        continue;
                    }
                    let sign = if op == UnOp::Plus { "+" } else { "-" };
                    return self
                        .fail("2203B", format!("operand of unary jsonpath operator {sign} is not a numeric value"));
                }
            };
            let n = if op == UnOp::Minus { n.neg() } else { n };
            let r = self.next(jsp, &number(n), cur, found.as_deref_mut())?;
            if r == Res::Error {
                return Ok(r);
            }
            if r == Res::Ok {
                if found.is_none() {
                    return Ok(Res::Ok);
                }
                out = Res::Ok;
            }
        }
        Ok(out)
    }

    /// executeKeyValueMethod: `{"id": ..., "key": ..., "value": ...}` per member.
    fn keyvalue(&mut self, jsp: &Item, jb: &Value, cur: &Value, mut found: Out) -> Result<Res> {
        let Value::Object(fields) = jb else {
            return self.fail("2203C", "jsonpath item method .keyvalue() can only be applied to an object".into());
        };
        if fields.is_empty() {
            return Ok(Res::NotFound);
        }
        // The id: the object's byte offset inside its base object's jsonb form, plus ten
        // billion times the base object's number (0 the document, 1 the vars, then each object
        // keyvalue() made).
        let offset = match self.base {
            // SAFETY: `base` points at the document, the vars or a generated object, all of which
            // outlive the evaluation steps that see it (it is reset when they end).
            Some(b) => container_offset(unsafe { &*b }, jb).unwrap_or(0),
            None => 0,
        };
        let id = offset as i64 + self.base_id * 10_000_000_000;
        let mut res = Res::NotFound;
        for (k, v) in fields {
            let obj = Value::Object(vec![
                ("id".to_string(), node(number(Num::from_i64(id)))),
                ("key".to_string(), node(Value::String(k.clone()))),
                ("value".to_string(), node(v.value.clone())),
            ]);
            let saved = (self.base, self.base_id);
            self.base = Some(&obj as *const Value);
            self.base_id = self.last_generated_id;
            self.last_generated_id += 1;
            let r = self.next(jsp, &obj, cur, found.as_deref_mut());
            (self.base, self.base_id) = saved;
            res = r?;
            if res == Res::Error {
                return Ok(res);
            }
            if res == Res::Ok && found.is_none() {
                break;
            }
        }
        Ok(res)
    }
}

/// compareItems.
fn compare(op: BinOp, a: &Value, b: &Value) -> Pb {
    let cmp = match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) | (_, Value::Null) => {
            return if op == BinOp::NotEqual { Pb::True } else { Pb::False };
        }
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => cmp_number(x, y),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => return Pb::Unknown,
    };
    let r = match op {
        BinOp::Equal => cmp.is_eq(),
        BinOp::NotEqual => cmp.is_ne(),
        BinOp::Less => cmp.is_lt(),
        BinOp::Greater => cmp.is_gt(),
        BinOp::LessOrEqual => cmp.is_le(),
        _ => cmp.is_ge(),
    };
    if r {
        Pb::True
    } else {
        Pb::False
    }
}

// ---------------------------------------------------------------------------------------------
// keyvalue() ids: where a container lies in PostgreSQL's binary jsonb form (jsonb_util.c's
// convertJsonbValue): a container is a 4-byte header and a 4-byte JEntry per element (two per
// object member: keys, then values), then the keys' bytes and the values' data in order;
// numerics and nested containers are aligned to 4 bytes.

fn align4(n: u64) -> u64 {
    (n + 3) & !3
}

/// The bytes of a numeric in jsonb: its varlena form as numeric_in makes it (4-byte length,
/// a 2-byte short header or a 4-byte long one, then 2 bytes per base-10000 digit).
fn numeric_bytes(text: &str) -> u64 {
    let t = text.trim_start_matches('-');
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let int = int.trim_start_matches('0');
    let int_groups = int.len().div_ceil(4);
    let frac_groups = frac.len().div_ceil(4);
    let mut digits = "0".repeat(int_groups * 4 - int.len());
    digits.push_str(int);
    digits.push_str(frac);
    digits.push_str(&"0".repeat(frac_groups * 4 - frac.len()));
    let groups: Vec<&str> = (0..digits.len() / 4).map(|i| &digits[i * 4..i * 4 + 4]).collect();
    let mut weight = int_groups as i64 - 1;
    let mut lo = 0;
    let mut hi = groups.len();
    while lo < hi && groups[lo] == "0000" {
        lo += 1;
        weight -= 1;
    }
    while hi > lo && groups[hi - 1] == "0000" {
        hi -= 1;
    }
    let n = (hi - lo) as u64;
    if n == 0 {
        weight = 0;
    }
    let short = frac.len() <= 63 && (-64..=63).contains(&weight);
    4 + if short { 2 } else { 4 } + 2 * n
}

/// The offset of container `target` (by address) inside container `base`.
fn container_offset(base: &Value, target: &Value) -> Option<u64> {
    fn walk(v: &Value, start: u64, target: *const Value) -> (u64, Option<u64>) {
        if std::ptr::eq(v, target) {
            return (start, Some(start));
        }
        let mut off = start + 4;
        let values: Vec<&Value> = match v {
            Value::Array(items) => {
                off += 4 * items.len() as u64;
                items.iter().map(|n| &n.value).collect()
            }
            Value::Object(fields) => {
                off += 8 * fields.len() as u64;
                off += fields.iter().map(|(k, _)| k.len() as u64).sum::<u64>();
                fields.iter().map(|(_, n)| &n.value).collect()
            }
            _ => return (start, None),
        };
        for c in values {
            match c {
                Value::String(s) => off += s.len() as u64,
                Value::Number(t) => off = align4(off) + numeric_bytes(t),
                Value::Null | Value::Bool(_) => {}
                Value::Array(_) | Value::Object(_) => {
                    let (end, f) = walk(c, align4(off), target);
                    if f.is_some() {
                        return (end, f);
                    }
                    off = end;
                }
            }
        }
        (off, None)
    }
    walk(base, 0, target).1
}

// ---------------------------------------------------------------------------------------------
// The SQL functions.

/// executeJsonPath: runs `path` over `doc`; `found` collects the items (None: only whether
/// there are any). Returns the result code.
fn execute(path: &JsonPath, doc: &Value, vars: Option<&Value>, throw: bool, found: Out) -> Result<Res> {
    if let Some(v) = vars {
        if !matches!(v, Value::Object(_)) {
            return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "\"vars\" argument is not an object")
                .detail("Jsonpath parameters should be encoded as key-value pairs of \"vars\" object."));
        }
    }
    let mut cx = Cx {
        lax: path.lax,
        ignore_structural: path.lax,
        throw,
        root: doc,
        vars,
        innermost_array_size: -1,
        depth: 0,
        copied: 0,
        stack: super::path::StackBase::here(),
        base: None,
        base_id: 0,
        last_generated_id: if vars.is_some() { 2 } else { 1 },
    };
    if !path.lax && found.is_none() {
        let mut vals = Vec::new();
        let res = cx.item(&path.expr, doc, doc, Some(&mut vals))?;
        if res == Res::Error {
            return Ok(res);
        }
        return Ok(if vals.is_empty() { Res::NotFound } else { Res::Ok });
    }
    cx.item(&path.expr, doc, doc, found)
}

fn jsonb_text(v: Value) -> String {
    let mut out = String::new();
    write_jsonb(&mut out, v);
    out
}

/// One call: (jsonb, jsonpath [, vars jsonb, silent bool]); the operators pass two arguments
/// (no vars, silent).
pub fn call(f: PathFn, args: &[Datum]) -> Result<Datum> {
    let text = |d: &Datum| match d {
        Datum::Jsonb(s) | Datum::Json(s) | Datum::Text(s) => s.clone(),
        _ => String::new(),
    };
    let doc = parse(&text(&args[0]), true)?;
    let path = super::path::parse_cached(&text(&args[1]))?;
    let vars_node = match args.get(2) {
        Some(v) => Some(parse(&text(v), true)?),
        None => None,
    };
    let silent = match args.get(3) {
        Some(Datum::Bool(b)) => *b,
        _ => args.len() < 4,
    };
    let vars = vars_node.as_ref().map(|n| &n.value);
    let throw = !silent;
    Ok(match f {
        PathFn::Exists => match execute(&path, &doc.value, vars, throw, None)? {
            Res::Error => Datum::Null,
            r => Datum::Bool(r == Res::Ok),
        },
        PathFn::Match => {
            let mut found = Vec::new();
            execute(&path, &doc.value, vars, throw, Some(&mut found))?;
            match found.as_slice() {
                [Value::Bool(b)] => Datum::Bool(*b),
                [Value::Null] => Datum::Null,
                _ if throw => {
                    return Err(SqlError::new("22038", "single boolean result is expected"));
                }
                _ => Datum::Null,
            }
        }
        PathFn::Query | PathFn::QueryArray | PathFn::QueryFirst => {
            let mut found = Vec::new();
            execute(&path, &doc.value, vars, throw, Some(&mut found))?;
            match f {
                PathFn::Query => {
                    let items: Vec<Datum> = found.into_iter().map(|v| Datum::Jsonb(jsonb_text(v))).collect();
                    Datum::Array(Box::new(ArrayValue::from_items(SqlType::Jsonb, items)))
                }
                PathFn::QueryArray => Datum::Jsonb(jsonb_text(Value::Array(found.into_iter().map(node).collect()))),
                _ => found.into_iter().next().map_or(Datum::Null, |v| Datum::Jsonb(jsonb_text(v))),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(doc: &str, path: &str) -> Vec<String> {
        let doc = super::super::parse_jsonb(doc).unwrap();
        let d = call(PathFn::Query, &[Datum::Jsonb(doc), Datum::Text(path.into())]).unwrap();
        let Datum::Array(a) = d else { panic!("{d:?}") };
        a.items
            .iter()
            .map(|x| match x {
                Datum::Jsonb(s) => s.clone(),
                _ => "NULL".to_string(),
            })
            .collect()
    }

    #[test]
    fn queries_as_postgresql() {
        assert_eq!(q(r#"{"a":[1,2,3]}"#, "$.a[*] ? (@ > 1)"), ["2", "3"]);
        assert_eq!(q(r#"{"a":[1,2,3]}"#, "$.a"), ["[1, 2, 3]"]);
        assert_eq!(q(r#"{"a":[1,2,3]}"#, "$.a[last]"), ["3"]);
        assert_eq!(q(r#"{"a":[1,2,3]}"#, "$.a[0 to 1]"), ["1", "2"]);
        assert_eq!(q(r#"{"a":[1,2,3]}"#, "$.a.size()"), ["3"]);
        assert_eq!(q(r#"{"a":1.5}"#, "$.a + 1"), ["2.5"]);
        assert_eq!(q(r#"{"a":{"b":1}}"#, "$.**"), [r#"{"a": {"b": 1}}"#, r#"{"b": 1}"#, "1"]);
        assert_eq!(q(r#"{"a":{"b":1}}"#, "$.keyvalue()"), [r#"{"id": 0, "key": "a", "value": {"b": 1}}"#]);
        assert_eq!(q("[1, \"a\", null]", "$[*].type()"), ["\"number\"", "\"string\"", "\"null\""]);
        assert_eq!(q("{}", "lax $.a"), Vec::<String>::new());
        let strict = call(
            PathFn::Query,
            &[
                Datum::Jsonb("{}".into()),
                Datum::Text("strict $.a".into()),
                Datum::Jsonb("{}".into()),
                Datum::Bool(false),
            ],
        );
        assert_eq!(strict.unwrap_err().message, "JSON object does not contain key \"a\"");
    }

    #[test]
    fn deep_documents_and_paths_fit_a_small_stack() {
        let ok = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(|| {
                let deep = format!("{}1{}", "[".repeat(256), "]".repeat(256));
                let all = q(&deep, "$.**").len() == 257 && q(&deep, "strict $.**{last}").len() == 1;
                // Deep paths: a result or 54001, never a stack overflow.
                let ok = |p: &str| {
                    let doc = super::super::parse_jsonb(&deep).unwrap();
                    match call(PathFn::Query, &[Datum::Jsonb(doc), Datum::Text(p.into())]) {
                        Ok(_) => true,
                        Err(e) => e.code == "54001",
                    }
                };
                let n = super::super::path::MAX_PATH_DEPTH;
                let filters = format!("$.**{}", "?(exists(@[0]".repeat(n / 3)) + &"))".repeat(n / 3);
                let minus = format!("{}$.**", "-(".repeat(n / 2)) + &")".repeat(n / 2);
                let chain = format!("${}", "[0]".repeat(super::super::path::MAX_CHAIN));
                all && ok(&filters) && ok(&minus) && ok(&chain)
            })
            .expect("thread")
            .join()
            .expect("no stack overflow");
        assert!(ok);
    }

    #[test]
    fn copies_are_bounded() {
        let doc = Value::Array(vec![node(Value::String("x".repeat(100)))]);
        let mut cx = Cx {
            lax: true,
            ignore_structural: true,
            throw: true,
            root: &doc,
            vars: None,
            innermost_array_size: -1,
            depth: 0,
            copied: MAX_COPIED_BYTES - 200,
            stack: super::super::path::StackBase::here(),
            base: None,
            base_id: 0,
            last_generated_id: 1,
        };
        let path = super::super::path::parse("$[*]").unwrap();
        let mut found = Vec::new();
        assert!(cx.item(&path.expr, &doc, &doc, Some(&mut found)).is_ok());
        let e = cx.item(&path.expr, &doc, &doc, Some(&mut found)).unwrap_err();
        assert_eq!(e.code, "54000");
    }

    #[test]
    fn keyvalue_ids_are_postgresql_offsets() {
        // From PostgreSQL 15.
        let r = q(r#"{"a": 1, "b": {"c": [1, {"d": 2}]}}"#, r#"$.** ? (@.type() == "object").keyvalue()"#);
        let ids: Vec<&str> = r.iter().map(|s| s.split(',').next().unwrap_or("")).collect();
        assert_eq!(ids, [r#"{"id": 0"#, r#"{"id": 0"#, r#"{"id": 32"#, r#"{"id": 68"#, r#"{"id": 68"#]);
        let r = q(
            r#"[{"a":1.5},{"bb":"xyz", "c":{"e":12345678.123}}, {"z":{}}, {"q":1e-200, "r":{"s":null}}]"#,
            r#"$.** ? (@.type() == "object").keyvalue()"#,
        );
        let ids: Vec<&str> = r.iter().map(|s| s.split(',').next().unwrap_or("")).collect();
        let want = [20, 48, 48, 104, 124, 124, 20, 48, 48, 72, 104, 124, 124, 160].map(|i| format!("{{\"id\": {i}"));
        assert_eq!(ids, want);
    }
}
