//! The json/jsonb operators and functions beyond `->`/`->>`: paths (`#>`, `#>>`,
//! json[b]_extract_path[_text]), key existence (`?`, `?|`, `?&`), containment (`@>`, `<@`),
//! deletion (`-` of a key or an index, `#-` of a path), concatenation (`||`), `jsonb_set`,
//! `jsonb_insert`, `jsonb_pretty`, `json[b]_typeof`, `json[b]_array_length` and
//! `json[b]_strip_nulls`, with PostgreSQL 15's results and errors (jsonfuncs.c, jsonb_op.c,
//! jsonb_util.c). Values come and go as the stored texts (json as written, jsonb normalized).

use super::{cmp_value, normalize, parse, write_jsonb, Node, Value};
use crate::error::{code, Result, SqlError};
use orbit_engine::table::{ArrayValue, Datum, SqlType};
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonOpFn {
    /// (doc, text[] path) -> json[b] / text (`as_text`).
    PathGet {
        as_text: bool,
    },
    /// (jsonb, text) -> bool.
    Exists,
    /// (jsonb, text[]) -> bool: any / all of the keys.
    ExistsAny,
    ExistsAll,
    /// (jsonb, jsonb) -> bool: the first contains the second.
    Contains,
    /// (json[b]) -> text.
    Typeof,
    /// (json[b]) -> int4.
    ArrayLength,
    /// (json[b]) -> json[b].
    StripNulls,
    /// (jsonb) -> text.
    Pretty,
    /// (jsonb, text | int4) -> jsonb.
    Delete,
    /// (jsonb, text[]) -> jsonb.
    DeletePath,
    /// (jsonb, jsonb) -> jsonb.
    Concat,
    /// (jsonb, text[] path, jsonb value, bool create_missing) -> jsonb.
    Set,
    /// (jsonb, text[] path, jsonb value, bool insert_after) -> jsonb.
    Insert,
    /// (json[b]) -> the array's elements as an array (json[b][], or text[] `as_text`): what
    /// json[b]_array_elements[_text] returns a row of each.
    Elements {
        as_text: bool,
    },
    /// (json[b]) -> text[]: json[b]_object_keys.
    ObjectKeys,
    /// (json[b]) -> the object's keys (text[]) or values (json[b][] or text[] `as_text`):
    /// json[b]_each[_text]'s two columns.
    EachKeys {
        as_text: bool,
    },
    EachValues {
        as_text: bool,
    },
    /// The SQL/JSON path functions and operators ([`super::path_eval`]).
    Path(super::path_eval::PathFn),
    /// (json[b], text key) -> one column of json[b]_to_record / json[b]_populate_record
    /// (`set` false: the object's one row) or of their recordset forms (`set`: a row per object
    /// of the array): the key's value in each, as json[b] (JSON null too), NULL where the
    /// object lacks the key; [`JsonOpFn::Populate`] reads each.
    RecordField {
        set: bool,
    },
    /// (json[b] value or NULL, text key, fallback) -> the value populate_record makes of a
    /// key's JSON value for a column of type `ty` (jsonfuncs.c's populate_record_field): NULL
    /// for JSON null, the fallback (a populate_record base record's field) for a missing key.
    Populate {
        ty: SqlType,
    },
    /// (jsonb, jsonb value, subscript...) -> jsonb: `UPDATE ... SET j['a'][0] = value`, each
    /// subscript an int4 or a text (jsonb_subscript_assign: missing keys and containers
    /// created, arrays filled with nulls up to the index, a NULL document started as the
    /// container the first subscript's type implies).
    SubscriptAssign,
    /// (text[]) or (text[] keys, text[] values) -> json / jsonb (`jsonb`): json_object and
    /// jsonb_object, every value a string.
    ObjectFromArrays {
        jsonb: bool,
    },
}

fn jsonb_of(v: Value) -> String {
    let mut out = String::new();
    write_jsonb(&mut out, normalize(v));
    out
}

fn text_of(d: &Datum) -> &str {
    match d {
        Datum::Json(s) | Datum::Jsonb(s) | Datum::Text(s) | Datum::Bpchar(s) => s,
        _ => "",
    }
}

fn node(v: Value) -> Node {
    Node { value: v, start: 0, end: 0 }
}

/// A text[] argument's elements (NULL elements as None).
fn path_of(d: &Datum) -> Vec<Option<String>> {
    match d {
        Datum::Array(a) => a.items.iter().map(|x| x.as_str().map(str::to_string)).collect(),
        _ => vec![],
    }
}

fn index_of(len: usize, key: &str) -> Option<usize> {
    let i: i64 = key.trim().parse().ok()?;
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// The value at `path` under `root` (None when a step finds nothing).
fn find<'a>(root: &'a Node, path: &[Option<String>]) -> Option<&'a Node> {
    let mut at = root;
    for step in path {
        let step = step.as_deref()?;
        at = match &at.value {
            Value::Object(fields) => fields.iter().rev().find(|(k, _)| k == step).map(|(_, n)| n)?,
            Value::Array(items) => items.get(index_of(items.len(), step)?)?,
            _ => return None,
        };
    }
    Some(at)
}

fn same_scalar(a: &Value, b: &Value) -> bool {
    cmp_value(a, b) == Ordering::Equal
}

/// jsonb containment (PostgreSQL's JsonbDeepContains).
fn contains(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(fa), Value::Object(fb)) => fb.iter().all(|(k, nb)| {
            fa.iter().rev().find(|(ka, _)| ka == k).is_some_and(|(_, na)| match (&na.value, &nb.value) {
                (Value::Object(_), Value::Object(_)) | (Value::Array(_), Value::Array(_)) => {
                    contains(&na.value, &nb.value)
                }
                (x, y) => !matches!(x, Value::Object(_) | Value::Array(_)) && same_scalar(x, y),
            })
        }),
        (Value::Array(ia), Value::Array(ib)) => ib.iter().all(|nb| match &nb.value {
            Value::Object(_) | Value::Array(_) => ia.iter().any(|na| {
                std::mem::discriminant(&na.value) == std::mem::discriminant(&nb.value) && contains(&na.value, &nb.value)
            }),
            y => {
                ia.iter().any(|na| !matches!(na.value, Value::Object(_) | Value::Array(_)) && same_scalar(&na.value, y))
            }
        }),
        // A top-level array contains a scalar that is one of its elements.
        (Value::Array(ia), y) if !matches!(y, Value::Object(_)) => {
            ia.iter().any(|na| !matches!(na.value, Value::Object(_) | Value::Array(_)) && same_scalar(&na.value, y))
        }
        (x, y) => {
            !matches!(x, Value::Object(_) | Value::Array(_))
                && !matches!(y, Value::Object(_) | Value::Array(_))
                && same_scalar(x, y)
        }
    }
}

fn has_key(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(fields) => fields.iter().any(|(k, _)| k == key),
        Value::Array(items) => items.iter().any(|n| matches!(&n.value, Value::String(s) if s == key)),
        Value::String(s) => s == key,
        _ => false,
    }
}

/// A JSON value's type as json[b]_typeof and jsonpath's `.type()` name it.
pub(super) fn typeof_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .filter(|(_, n)| n.value != Value::Null)
                .map(|(k, n)| (k, node(strip_nulls(n.value))))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(|n| node(strip_nulls(n.value))).collect()),
        v => v,
    }
}

/// json's strip_nulls keeps the text's layout only for what it does not touch: written back
/// compactly, as PostgreSQL's json_strip_nulls writes it (`{"a":1,"b":[2,null]}`).
fn write_compact(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n),
        Value::String(s) => super::write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, n) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_compact(out, &n.value);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (k, n)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                super::write_string(out, k);
                out.push(':');
                write_compact(out, &n.value);
            }
            out.push('}');
        }
    }
}

/// jsonb_pretty's layout: four spaces per level, `"k": v`, empty containers as `[]` / `{}`.
fn write_pretty(out: &mut String, v: &Value, level: usize) {
    let pad = |out: &mut String, l: usize| out.push_str(&"    ".repeat(l));
    match v {
        Value::Array(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, n) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                pad(out, level + 1);
                write_pretty(out, &n.value, level + 1);
            }
            out.push('\n');
            pad(out, level);
            out.push(']');
        }
        Value::Object(fields) if !fields.is_empty() => {
            out.push_str("{\n");
            for (i, (k, n)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                pad(out, level + 1);
                super::write_string(out, k);
                out.push_str(": ");
                write_pretty(out, &n.value, level + 1);
            }
            out.push('\n');
            pad(out, level);
            out.push('}');
        }
        v => write_jsonb(out, v.clone()),
    }
}

fn scalar_error(what: &str) -> SqlError {
    SqlError::new(code::INVALID_PARAMETER_VALUE, format!("cannot {what} scalar"))
}

/// `path` under `v` set (or inserted) to `new`, PostgreSQL's setPath: a missing last key of an
/// object is added when `create`; an array index past either end adds at that end when
/// `create`; a missing step before the last leaves `v` as it is.
fn set_path(
    v: &mut Value,
    path: &[Option<String>],
    level: usize,
    new: &Value,
    create: bool,
    insert: Option<bool>,
) -> Result<()> {
    let Some((first, rest)) = path.split_first() else { return Ok(()) };
    let Some(step) = first.as_deref() else {
        return Err(SqlError::new("22004", format!("path element at position {} is null", level + 1)));
    };
    match v {
        Value::Object(fields) => {
            match fields.iter().position(|(k, _)| k == step) {
                Some(i) if rest.is_empty() => {
                    if insert.is_some() {
                        return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "cannot replace existing key")
                            .hint("Try using the function jsonb_set to replace key value."));
                    }
                    fields[i].1 = node(new.clone());
                }
                Some(i) => set_path(&mut fields[i].1.value, rest, level + 1, new, create, insert)?,
                None if rest.is_empty() && (create || insert.is_some()) => {
                    fields.push((step.to_string(), node(new.clone())))
                }
                None => {}
            }
            Ok(())
        }
        Value::Array(items) => {
            let (idx, len) = (array_step(step, level, items.len())?, items.len() as i64);
            if rest.is_empty() {
                match insert {
                    Some(after) => {
                        let at = if idx < 0 {
                            0
                        } else if idx >= len {
                            len as usize
                        } else {
                            idx as usize + after as usize
                        };
                        items.insert(at, node(new.clone()));
                    }
                    None if (0..len).contains(&idx) => items[idx as usize] = node(new.clone()),
                    None if create && idx < 0 => items.insert(0, node(new.clone())),
                    None if create => items.push(node(new.clone())),
                    None => {}
                }
                return Ok(());
            }
            if (0..len).contains(&idx) {
                set_path(&mut items[idx as usize].value, rest, level + 1, new, create, insert)?;
            }
            Ok(())
        }
        // A scalar below the top: the path goes nowhere, the document stays as it is.
        _ if level > 0 => Ok(()),
        _ => Err(scalar_error("set path in")),
    }
}

/// A path step into an array: its index counted from the end when negative (it may still be
/// out of range), or PostgreSQL's 22P02 for a step that is not an integer.
fn array_step(step: &str, level: usize, len: usize) -> Result<i64> {
    let Ok(i) = step.trim().parse::<i64>() else {
        return Err(SqlError::new(
            code::INVALID_TEXT_REPRESENTATION,
            format!("path element at position {} is not an integer: \"{step}\"", level + 1),
        ));
    };
    Ok(if i < 0 { len as i64 + i } else { i })
}

fn delete_path(v: &mut Value, path: &[Option<String>], level: usize) -> Result<()> {
    let Some((first, rest)) = path.split_first() else { return Ok(()) };
    let Some(step) = first.as_deref() else { return Ok(()) };
    match v {
        Value::Object(fields) => {
            if let Some(i) = fields.iter().position(|(k, _)| k == step) {
                if rest.is_empty() {
                    fields.remove(i);
                } else {
                    delete_path(&mut fields[i].1.value, rest, level + 1)?;
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            let (idx, len) = (array_step(step, level, items.len())?, items.len() as i64);
            if (0..len).contains(&idx) {
                if rest.is_empty() {
                    items.remove(idx as usize);
                } else {
                    delete_path(&mut items[idx as usize].value, rest, level + 1)?;
                }
            }
            Ok(())
        }
        _ if level > 0 => Ok(()),
        _ => Err(scalar_error("delete path in")),
    }
}

/// Applies `f`; `ty` is the type of the first argument (json or jsonb).
pub fn call(f: JsonOpFn, args: Vec<Datum>) -> Result<Datum> {
    if let JsonOpFn::RecordField { set } = f {
        return record_field(set, &args);
    }
    if let JsonOpFn::Populate { ty } = f {
        return populate(ty, &args);
    }
    if f == JsonOpFn::SubscriptAssign {
        return subscript_assign(&args);
    }
    if let JsonOpFn::ObjectFromArrays { jsonb } = f {
        return object_from_arrays(jsonb, &args);
    }
    if args.iter().any(Datum::is_null) {
        return Ok(Datum::Null);
    }
    if let JsonOpFn::Path(p) = f {
        return super::path_eval::call(p, &args);
    }
    let a0 = args.first().unwrap_or(&Datum::Null);
    if matches!(
        f,
        JsonOpFn::Elements { .. } | JsonOpFn::ObjectKeys | JsonOpFn::EachKeys { .. } | JsonOpFn::EachValues { .. }
    ) {
        return set_parts(f, a0);
    }
    let jsonb = !matches!(a0, Datum::Json(_));
    let root = parse(text_of(a0), jsonb)?;
    let wrap = |s: String| if jsonb { Datum::Jsonb(s) } else { Datum::Json(s) };
    Ok(match f {
        JsonOpFn::PathGet { as_text } => {
            let path = path_of(&args[1]);
            let Some(n) = find(&root, &path) else { return Ok(Datum::Null) };
            match (&n.value, as_text) {
                (Value::Null, true) => Datum::Null,
                (Value::String(s), true) => Datum::Text(s.clone()),
                (v, true) if jsonb => Datum::Text(jsonb_of(v.clone())),
                (_, true) if path.is_empty() => Datum::Text(text_of(a0).to_string()),
                (_, true) => Datum::Text(text_of(a0)[n.start..n.end].to_string()),
                (v, false) if jsonb => Datum::Jsonb(jsonb_of(v.clone())),
                (_, false) if path.is_empty() => wrap(text_of(a0).to_string()),
                (_, false) => Datum::Json(text_of(a0)[n.start..n.end].to_string()),
            }
        }
        JsonOpFn::Exists => Datum::Bool(has_key(&root.value, text_of(&args[1]))),
        JsonOpFn::ExistsAny | JsonOpFn::ExistsAll => {
            let keys: Vec<String> = path_of(&args[1]).into_iter().flatten().collect();
            let hit = |k: &String| has_key(&root.value, k);
            Datum::Bool(if f == JsonOpFn::ExistsAny { keys.iter().any(hit) } else { keys.iter().all(hit) })
        }
        JsonOpFn::Contains => {
            let other = parse(text_of(&args[1]), true)?;
            Datum::Bool(contains(&root.value, &other.value))
        }
        JsonOpFn::Typeof => Datum::Text(typeof_name(&root.value).to_string()),
        JsonOpFn::ArrayLength => match &root.value {
            Value::Array(items) => Datum::Int4(items.len() as i32),
            Value::Object(_) => {
                return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "cannot get array length of a non-array"))
            }
            _ => return Err(SqlError::new(code::INVALID_PARAMETER_VALUE, "cannot get array length of a scalar")),
        },
        JsonOpFn::StripNulls => {
            let v = strip_nulls(root.value);
            if jsonb {
                Datum::Jsonb(jsonb_of(v))
            } else {
                let mut out = String::new();
                write_compact(&mut out, &v);
                Datum::Json(out)
            }
        }
        JsonOpFn::Pretty => {
            let mut out = String::new();
            write_pretty(&mut out, &normalize(root.value), 0);
            Datum::Text(out)
        }
        JsonOpFn::Delete => {
            let mut v = root.value;
            match (&mut v, &args[1]) {
                (Value::Object(fields), Datum::Text(k)) => fields.retain(|(name, _)| name != k),
                (Value::Array(items), Datum::Text(k)) => {
                    items.retain(|n| !matches!(&n.value, Value::String(s) if s == k))
                }
                (Value::Array(items), d) => {
                    let i = d.as_i64().unwrap_or(0);
                    let len = items.len() as i64;
                    let idx = if i < 0 { len + i } else { i };
                    if (0..len).contains(&idx) {
                        items.remove(idx as usize);
                    }
                }
                (Value::Object(_), _) => {
                    return Err(SqlError::new(
                        code::INVALID_PARAMETER_VALUE,
                        "cannot delete from object using integer index",
                    ))
                }
                _ => return Err(scalar_error("delete from")),
            }
            Datum::Jsonb(jsonb_of(v))
        }
        JsonOpFn::DeletePath => {
            let mut v = root.value;
            if matches!(v, Value::Object(_) | Value::Array(_)) {
                delete_path(&mut v, &path_of(&args[1]), 0)?;
            } else {
                return Err(scalar_error("delete path in"));
            }
            Datum::Jsonb(jsonb_of(v))
        }
        JsonOpFn::Concat => {
            let other = parse(text_of(&args[1]), true)?.value;
            let items = |v: Value| match v {
                Value::Array(items) => items,
                v => vec![node(v)],
            };
            let v = match (root.value, other) {
                (Value::Object(mut a), Value::Object(b)) => {
                    for (k, n) in b {
                        a.retain(|(name, _)| *name != k);
                        a.push((k, n));
                    }
                    Value::Object(a)
                }
                (a, b) => {
                    let mut all = items(a);
                    all.extend(items(b));
                    Value::Array(all)
                }
            };
            Datum::Jsonb(jsonb_of(v))
        }
        JsonOpFn::RecordField { set } => return record_field(set, &args),
        JsonOpFn::Populate { ty } => return populate(ty, &args),
        JsonOpFn::SubscriptAssign => return subscript_assign(&args),
        JsonOpFn::ObjectFromArrays { jsonb } => return object_from_arrays(jsonb, &args),
        JsonOpFn::Path(_)
        | JsonOpFn::Elements { .. }
        | JsonOpFn::ObjectKeys
        | JsonOpFn::EachKeys { .. }
        | JsonOpFn::EachValues { .. } => return set_parts(f, a0),
        JsonOpFn::Set | JsonOpFn::Insert => {
            let path = path_of(&args[1]);
            let new = parse(text_of(&args[2]), true)?.value;
            let flag = matches!(args.get(3), Some(Datum::Bool(true)));
            let mut v = root.value;
            if !matches!(v, Value::Object(_) | Value::Array(_)) {
                return Err(scalar_error("set path in"));
            }
            if let Some(p) = path.iter().position(Option::is_none) {
                return Err(SqlError::new("22004", format!("path element at position {} is null", p + 1)));
            }
            let insert = (f == JsonOpFn::Insert).then_some(flag);
            set_path(&mut v, &path, 0, &new, f == JsonOpFn::Set && flag, insert)?;
            Datum::Jsonb(jsonb_of(v))
        }
    })
}

fn set_error(msg: String) -> SqlError {
    SqlError::new(code::INVALID_PARAMETER_VALUE, msg)
}

/// A value as the set-returning functions return it: json[b], or text (`as_text`: a string
/// unescaped, JSON null as NULL).
fn member(doc: &str, n: &Node, jsonb: bool, as_text: bool) -> Datum {
    match (&n.value, as_text) {
        (Value::Null, true) => Datum::Null,
        (Value::String(s), true) => Datum::Text(s.clone()),
        (v, true) if jsonb => Datum::Text(jsonb_of(v.clone())),
        (_, true) => Datum::Text(doc[n.start..n.end].to_string()),
        (v, false) if jsonb => Datum::Jsonb(jsonb_of(v.clone())),
        (_, false) => Datum::Json(doc[n.start..n.end].to_string()),
    }
}

/// The arrays behind the json set-returning functions ([`JsonOpFn::Elements`],
/// [`JsonOpFn::ObjectKeys`], [`JsonOpFn::EachKeys`], [`JsonOpFn::EachValues`]).
fn set_parts(f: JsonOpFn, a0: &Datum) -> Result<Datum> {
    let jsonb = !matches!(a0, Datum::Json(_));
    let doc = text_of(a0);
    // jsonb's members come from its normalized form, json's as written (duplicates kept).
    let root = if jsonb { node(normalize(parse(doc, true)?.value)) } else { parse(doc, false)? };
    let p = if jsonb { "jsonb" } else { "json" };
    let kind = |v: &Value| match v {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        _ => "scalar",
    };
    let elem_ty = |as_text: bool| match (as_text, jsonb) {
        (true, _) => SqlType::Text,
        (false, true) => SqlType::Jsonb,
        (false, false) => SqlType::Json,
    };
    let array = |ty: SqlType, items: Vec<Datum>| Datum::Array(Box::new(ArrayValue::from_items(ty, items)));
    match f {
        JsonOpFn::Elements { as_text } => {
            let Value::Array(items) = &root.value else {
                let sfx = if as_text { "_text" } else { "" };
                return Err(set_error(match (jsonb, kind(&root.value)) {
                    (true, "object") => "cannot extract elements from an object".into(),
                    (true, _) => "cannot extract elements from a scalar".into(),
                    (false, "object") => format!("cannot call json_array_elements{sfx} on a non-array"),
                    (false, _) => format!("cannot call json_array_elements{sfx} on a scalar"),
                }));
            };
            Ok(array(elem_ty(as_text), items.iter().map(|n| member(doc, n, jsonb, as_text)).collect()))
        }
        JsonOpFn::ObjectKeys => {
            let Value::Object(fields) = &root.value else {
                let what = if kind(&root.value) == "array" { "an array" } else { "a scalar" };
                return Err(set_error(format!("cannot call {p}_object_keys on {what}")));
            };
            Ok(array(SqlType::Text, fields.iter().map(|(k, _)| Datum::Text(k.clone())).collect()))
        }
        JsonOpFn::EachKeys { as_text } | JsonOpFn::EachValues { as_text } => {
            let Value::Object(fields) = &root.value else {
                let sfx = if as_text { "_text" } else { "" };
                return Err(set_error(match (jsonb, kind(&root.value)) {
                    (true, _) => format!("cannot call jsonb_each{sfx} on a non-object"),
                    (false, "array") => "cannot deconstruct an array as an object".into(),
                    (false, _) => "cannot deconstruct a scalar".into(),
                }));
            };
            Ok(if matches!(f, JsonOpFn::EachKeys { .. }) {
                array(SqlType::Text, fields.iter().map(|(k, _)| Datum::Text(k.clone())).collect())
            } else {
                array(elem_ty(as_text), fields.iter().map(|(_, n)| member(doc, n, jsonb, as_text)).collect())
            })
        }
        _ => Err(SqlError::internal("not a json set function")),
    }
}

/// [`JsonOpFn::RecordField`]: the values of key `args[1]` in the object `args[0]` (one) or in
/// each object of the array `args[0]` (`set`), as jsonfuncs.c's populate_record_worker and
/// populate_recordset_worker read them (the last of duplicate keys; a missing key NULL).
fn record_field(set: bool, args: &[Datum]) -> Result<Datum> {
    let a0 = args.first().unwrap_or(&Datum::Null);
    let key = text_of(args.get(1).unwrap_or(&Datum::Null));
    let jsonb = !matches!(a0, Datum::Json(_));
    let elem_ty = if jsonb { SqlType::Jsonb } else { SqlType::Json };
    let array = |items: Vec<Datum>| Ok(Datum::Array(Box::new(ArrayValue::from_items(elem_ty, items))));
    // json[b]_to_record(NULL) is one row of NULLs, json[b]_to_recordset(NULL) none.
    if a0.is_null() {
        return array(if set { Vec::new() } else { vec![Datum::Null] });
    }
    let doc = text_of(a0);
    let root = parse(doc, jsonb)?;
    let p = if jsonb { "jsonb" } else { "json" };
    let value = |fields: &[(String, Node)]| -> Datum {
        fields.iter().rev().find(|(k, _)| k == key).map_or(Datum::Null, |(_, n)| member(doc, n, jsonb, false))
    };
    match (&root.value, set) {
        (Value::Object(fields), false) => array(vec![value(fields)]),
        (Value::Array(_), false) => Err(set_error("cannot call populate_composite on an array".into())),
        (_, false) => Err(set_error("cannot call populate_composite on a scalar".into())),
        (Value::Array(items), true) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Value::Object(fields) = &item.value else {
                    return Err(set_error(format!("argument of {p}_to_recordset must be an array of objects")));
                };
                out.push(value(fields));
            }
            array(out)
        }
        (_, true) => Err(set_error(format!("cannot call {p}_to_recordset on a non-array"))),
    }
}

/// Where a value being populated is, for the HINT of an error about it.
#[derive(Clone, Copy)]
struct Place<'a> {
    key: &'a str,
}

impl Place<'_> {
    fn hint(&self, elements: &[usize]) -> String {
        if elements.is_empty() {
            format!("See the value of key \"{}\".", self.key)
        } else {
            let at: String = elements.iter().map(|i| format!("[{i}]")).collect();
            format!("See the array element {at} of key \"{}\".", self.key)
        }
    }
}

/// [`JsonOpFn::Populate`].
fn populate(ty: SqlType, args: &[Datum]) -> Result<Datum> {
    let value = args.first().unwrap_or(&Datum::Null);
    if value.is_null() {
        return Ok(args.get(2).cloned().unwrap_or(Datum::Null));
    }
    let jsonb = matches!(value, Datum::Jsonb(_));
    let doc = text_of(value);
    let node = parse(doc, jsonb)?;
    let place = Place { key: text_of(args.get(1).unwrap_or(&Datum::Null)) };
    populate_node(ty, doc, &node, jsonb, place, &mut Vec::new(), args.get(2))
}

/// A JSON value as a value of type `ty` (populate_record_field): a string read by the type's
/// input, another scalar's JSON text likewise; an array into an array type (its nesting the
/// dimensions), an object into a composite type's fields (a field the object lacks is the
/// `base` record's, when there is one); json/jsonb the value itself.
fn populate_node(
    ty: SqlType,
    doc: &str,
    n: &Node,
    jsonb: bool,
    place: Place,
    at: &mut Vec<usize>,
    base: Option<&Datum>,
) -> Result<Datum> {
    let text = || if jsonb { jsonb_of(n.value.clone()) } else { doc[n.start..n.end].to_string() };
    Ok(match (&n.value, ty) {
        (Value::Null, _) => Datum::Null,
        (_, SqlType::Json) => Datum::Json(doc[n.start..n.end].to_string()),
        (_, SqlType::Jsonb) => Datum::Jsonb(jsonb_of(n.value.clone())),
        (Value::Array(_), SqlType::Array(a)) => populate_array(a.elem(), doc, n, jsonb, place, at)?,
        (Value::String(s), SqlType::Array(_) | SqlType::Composite(_)) => crate::types::parse_text(ty, s)?,
        (_, SqlType::Array(_)) => {
            return Err(SqlError::new(code::INVALID_TEXT_REPRESENTATION, "expected JSON array").hint(place.hint(at)))
        }
        (Value::Object(fields), SqlType::Composite(oid)) => {
            let mut out = Vec::new();
            for (i, f) in crate::composites::fields_of(oid)?.into_iter().enumerate() {
                let base = match base {
                    Some(Datum::Record(b)) => b.get(i),
                    _ => None,
                };
                let value = match fields.iter().rev().find(|(k, _)| *k == f.name) {
                    Some((_, v)) => populate_node(f.ty, doc, v, jsonb, Place { key: &f.name }, &mut Vec::new(), base)?,
                    None => base.cloned().unwrap_or(Datum::Null),
                };
                if f.domain != 0 {
                    crate::domains::check(f.domain, &value)?;
                }
                out.push(value);
            }
            Datum::Record(Box::new(out))
        }
        (Value::Array(_), SqlType::Composite(_)) => {
            return Err(set_error("cannot call populate_composite on an array".into()))
        }
        (_, SqlType::Composite(_)) => return Err(set_error("cannot call populate_composite on a scalar".into())),
        (Value::String(s), _) => crate::types::parse_text(ty, s)?,
        _ => crate::types::parse_text(ty, &text())?,
    })
}

/// A JSON array as an array of `elem` (populate_array): nested arrays are further dimensions,
/// every sub-array of a dimension as long as the first, every leaf at the same depth.
fn populate_array(elem: SqlType, doc: &str, n: &Node, jsonb: bool, place: Place, at: &mut Vec<usize>) -> Result<Datum> {
    struct Walk<'a> {
        elem: SqlType,
        doc: &'a str,
        jsonb: bool,
        place: Place<'a>,
        dims: Vec<usize>,
        /// The number of dimensions, known from the first leaf.
        ndims: Option<usize>,
        items: Vec<Datum>,
    }
    fn malformed() -> SqlError {
        SqlError::new(code::INVALID_TEXT_REPRESENTATION, "malformed JSON array")
            .detail("Multidimensional arrays must have sub-arrays with matching dimensions.")
    }
    impl Walk<'_> {
        fn array(&mut self, n: &Node, depth: usize, at: &mut Vec<usize>) -> Result<()> {
            let Value::Array(elems) = &n.value else { return Err(SqlError::internal("populate_array")) };
            match self.dims.get(depth) {
                None => self.dims.push(elems.len()),
                Some(&len) if len != elems.len() => return Err(malformed()),
                Some(_) => {}
            }
            for (i, e) in elems.iter().enumerate() {
                at.push(i);
                // An array inside an array of json / jsonb is an element.
                let nested = matches!(e.value, Value::Array(_)) && !matches!(self.elem, SqlType::Json | SqlType::Jsonb);
                match self.ndims {
                    None if nested => self.array(e, depth + 1, at)?,
                    None => {
                        self.ndims = Some(depth + 1);
                        self.leaf(e, at)?;
                    }
                    Some(d) if depth + 1 < d => {
                        if !nested {
                            return Err(SqlError::new(code::INVALID_TEXT_REPRESENTATION, "expected JSON array")
                                .hint(self.place.hint(at)));
                        }
                        self.array(e, depth + 1, at)?;
                    }
                    Some(_) if nested => return Err(malformed()),
                    Some(_) => self.leaf(e, at)?,
                }
                at.pop();
            }
            Ok(())
        }

        fn leaf(&mut self, e: &Node, at: &mut Vec<usize>) -> Result<()> {
            let v = populate_node(self.elem, self.doc, e, self.jsonb, self.place, at, None)?;
            self.items.push(v);
            Ok(())
        }
    }
    let mut w = Walk { elem, doc, jsonb, place, dims: Vec::new(), ndims: None, items: Vec::new() };
    w.array(n, 0, at)?;
    if w.items.is_empty() {
        return Ok(Datum::Array(Box::new(ArrayValue::empty(elem))));
    }
    let dims = w.dims.iter().map(|&len| orbit_engine::table::ArrayDim { len: len as u32, lower: 1 }).collect();
    Ok(Datum::Array(Box::new(ArrayValue { elem, dims, items: w.items })))
}

/// [`JsonOpFn::SubscriptAssign`]: setPath with PostgreSQL 14's JB_PATH_CREATE |
/// JB_PATH_FILL_GAPS | JB_PATH_CONSISTENT_POSITION, as jsonb_subscript_assign calls it.
fn subscript_assign(args: &[Datum]) -> Result<Datum> {
    let (doc, value, subscripts) = match args {
        [doc, value, subscripts @ ..] if !subscripts.is_empty() => (doc, value, subscripts),
        _ => return Err(SqlError::internal("jsonb subscript assignment")),
    };
    if subscripts.iter().any(Datum::is_null) {
        return Err(SqlError::new("22004", "jsonb subscript in assignment must not be null"));
    }
    let path: Vec<String> = subscripts
        .iter()
        .map(|d| match d {
            Datum::Text(s) => s.clone(),
            d => d.as_i64().map_or_else(String::new, |i| i.to_string()),
        })
        .collect();
    let new = match value {
        Datum::Null => Value::Null,
        d => parse(text_of(d), true)?.value,
    };
    let mut root = match doc {
        Datum::Null if matches!(subscripts[0], Datum::Text(_)) => Value::Object(Vec::new()),
        Datum::Null => Value::Array(Vec::new()),
        d => parse(text_of(d), true)?.value,
    };
    assign_path(&mut root, &path, 0, new)?;
    Ok(Datum::Jsonb(jsonb_of(root)))
}

fn scalar_in_path() -> SqlError {
    SqlError::new(code::INVALID_PARAMETER_VALUE, "cannot replace existing key")
        .detail("The path assumes key is a composite object, but it is a scalar value.")
}

fn assign_path(v: &mut Value, path: &[String], level: usize, new: Value) -> Result<()> {
    let Some((step, rest)) = path.split_first() else {
        *v = new;
        return Ok(());
    };
    match v {
        Value::Object(fields) => match fields.iter().rposition(|(k, _)| k == step) {
            Some(i) => assign_path(&mut fields[i].1.value, rest, level + 1, new),
            None => {
                fields.push((step.clone(), node(created(rest, level + 1, new)?)));
                Ok(())
            }
        },
        Value::Array(items) => {
            let len = items.len() as i64;
            let i = array_step(step, level, items.len())?;
            if i < 0 {
                let written = step.trim().parse::<i64>().unwrap_or(i);
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    format!("path element at position {} is out of range: {written}", level + 1),
                ));
            }
            if i < len {
                return assign_path(&mut items[i as usize].value, rest, level + 1, new);
            }
            while (items.len() as i64) < i {
                items.push(node(Value::Null));
            }
            items.push(node(created(rest, level + 1, new)?));
            Ok(())
        }
        _ => Err(scalar_in_path()),
    }
}

/// The value a missing step leads to: `new` at the end of the path, else the container the
/// next step implies (an array for an integer, filled with nulls up to it; an object for a
/// key), holding the rest (push_path).
fn created(rest: &[String], level: usize, new: Value) -> Result<Value> {
    let Some((step, more)) = rest.split_first() else { return Ok(new) };
    match step.trim().parse::<i64>() {
        Ok(i) if i < 0 => Err(SqlError::new(
            code::INVALID_PARAMETER_VALUE,
            format!("path element at position {} is out of range: {i}", level + 1),
        )),
        Ok(i) => {
            let mut items: Vec<Node> = (0..i).map(|_| node(Value::Null)).collect();
            items.push(node(created(more, level + 1, new)?));
            Ok(Value::Array(items))
        }
        Err(_) => Ok(Value::Object(vec![(step.clone(), node(created(more, level + 1, new)?))])),
    }
}

/// [`JsonOpFn::ObjectFromArrays`]: json_object(text[]) of alternating keys and values, flat or
/// as a two-column array, or json_object(keys, values) (jsonfuncs.c's json_object and
/// json_object_two_arg; NULL for a NULL argument).
fn object_from_arrays(jsonb: bool, args: &[Datum]) -> Result<Datum> {
    let subscript_error = |m: &str| SqlError::new("2202E", m.to_string());
    let arr = |d: &Datum| match d {
        Datum::Array(a) => Some(a.as_ref().clone()),
        _ => None,
    };
    let pairs: Vec<(Datum, Datum)> = match args {
        [one] => {
            let Some(a) = arr(one) else { return Ok(Datum::Null) };
            match a.dims.len() {
                0 => Vec::new(),
                1 if a.items.len() % 2 != 0 => return Err(subscript_error("array must have even number of elements")),
                1 => a.items.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect(),
                2 if a.dims[1].len != 2 => return Err(subscript_error("array must have two columns")),
                2 => a.items.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect(),
                _ => return Err(subscript_error("wrong number of array subscripts")),
            }
        }
        [keys, values] => {
            let (Some(k), Some(v)) = (arr(keys), arr(values)) else { return Ok(Datum::Null) };
            if k.dims.len() > 1 || v.dims.len() > 1 {
                return Err(subscript_error("wrong number of array subscripts"));
            }
            if k.items.len() != v.items.len() {
                return Err(subscript_error("mismatched array dimensions"));
            }
            k.items.into_iter().zip(v.items).collect()
        }
        _ => return Err(SqlError::internal("json_object arguments")),
    };
    let mut fields: Vec<(String, Node)> = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        let Datum::Text(k) = k else {
            return Err(SqlError::new("22004", "null value not allowed for object key"));
        };
        let v = match v {
            Datum::Text(s) => Value::String(s),
            _ => Value::Null,
        };
        fields.push((k, node(v)));
    }
    if jsonb {
        return Ok(Datum::Jsonb(jsonb_of(Value::Object(fields))));
    }
    // json_object's own layout: `{"a" : "1", "b" : null}`.
    let mut out = String::from("{");
    for (i, (k, n)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        super::write_string(&mut out, k);
        out.push_str(" : ");
        match &n.value {
            Value::String(s) => super::write_string(&mut out, s),
            _ => out.push_str("null"),
        }
    }
    out.push('}');
    Ok(Datum::Json(out))
}

/// A jsonb value cast to a number or boolean (PostgreSQL's jsonb_int4 and friends): a number
/// as a numeric (the caller casts it on), a boolean as bool; anything else is 22023
/// `cannot cast jsonb <kind> to type <type_name>`.
pub fn jsonb_scalar(doc: &str, want_bool: bool, type_name: &str) -> Result<Datum> {
    let root = parse(doc, true)?;
    match (&root.value, want_bool) {
        (Value::Number(n), false) => Ok(Datum::Numeric(super::numeric(n))),
        (Value::Bool(b), true) => Ok(Datum::Bool(*b)),
        (v, _) => {
            let kind = match v {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(_) => "numeric",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            };
            Err(SqlError::new(code::INVALID_PARAMETER_VALUE, format!("cannot cast jsonb {kind} to type {type_name}")))
        }
    }
}
