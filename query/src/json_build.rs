//! Building JSON from SQL values: `to_json`/`to_jsonb`, `json_build_object`/`json_build_array`
//! (and their jsonb forms), and the aggregates `json_agg`/`jsonb_agg` and
//! `json_object_agg`/`jsonb_object_agg`, printed as PostgreSQL 15 prints them
//! (<https://www.postgresql.org/docs/15/functions-json.html>; `src/backend/utils/adt/json.c`).
//!
//! A value becomes JSON by its type, as json.c's `datum_to_json` does: numbers as written
//! (NaN and the infinities quoted), booleans as `true`/`false`, json and jsonb embedded, arrays
//! as (nested) JSON arrays without spaces, date and timestamps in ISO 8601 (`2020-01-01T10:00:00`,
//! `+00:00` offsets), anything else as its text output, quoted. The jsonb forms build the json
//! text and read it as jsonb (which orders keys and keeps the last of duplicates).
//!
//! The aggregates are array_agg over each value's JSON text ([`JsonFn::Item`] or
//! [`JsonFn::Pair`]) under a final step ([`JsonFn::AggArray`], [`JsonFn::AggObject`]) that joins
//! them: `[1, 2]` and `{ "a" : 1, "b" : 2 }`; no rows give NULL. A whole-row reference
//! (`to_json(t)`, `row_to_json(t)`) is bound to [`JsonFn::Record`] over the row's columns.

use crate::error::{Result, SqlError};
use orbit_engine::table::{ArrayValue, Datum, SqlType};

/// The largest JSON text a function builds: PostgreSQL's MaxAllocSize (1 GB - 1).
const MAX_JSON_BYTES: usize = (1 << 30) - 1;

/// When [`JsonFn::Record`] is NULL: never (a row constructor, the FROM clause's one item),
/// where its first argument (a primary key column of a join's table) is NULL, or where every
/// value is NULL (a join's item nothing else tells the absence of).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Missing {
    Never,
    Key,
    AllNull,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonFn {
    /// to_json(any) / to_jsonb(any).
    To { jsonb: bool },
    /// json_build_object(key, value, ...) / jsonb_build_object.
    BuildObject { jsonb: bool },
    /// json_build_array(any, ...) / jsonb_build_array.
    BuildArray { jsonb: bool },
    /// `json_build_object(VARIADIC array)` and the other three: the array's elements (of every
    /// dimension, in order) are the arguments; a NULL array gives NULL.
    Variadic { object: bool, jsonb: bool },
    /// One aggregate input as JSON text, NULL as `null` (json_agg's step).
    Item,
    /// One key/value aggregate input as `"key" : value` (json_object_agg's step).
    Pair,
    /// json_agg's / jsonb_agg's final step over the items' texts. `nested`: the items are
    /// arrays or records, which json_agg separates with a line break too (`[[1], \n [2]]`).
    AggArray { jsonb: bool, nested: bool },
    /// json_object_agg's / jsonb_object_agg's final step over the pairs' texts.
    AggObject { jsonb: bool },
    /// to_json / to_jsonb / row_to_json of a whole-row reference (`to_json(t)`) or a row
    /// constructor: alternating column names and values, written as PostgreSQL writes a
    /// record, `{"a":1,"b":"x"}`, or NULL as `missing` says (the missing side of an outer
    /// join). `pretty`: row_to_json's line feeds between fields.
    Record { jsonb: bool, pretty: bool, missing: Missing },
    /// array_to_json(anyarray [, pretty]): `pretty` puts a line feed between the elements of
    /// the first dimension.
    ArrayToJson,
    /// A whole-row reference anywhere else (`SELECT t FROM t`, `t.*::text`, `count(t)`): the
    /// columns' values as PostgreSQL's record_out writes them, `(1,"a b",)`; NULL when every
    /// value is NULL (the missing side of an outer join).
    RecordText,
    /// A row constructor's value (`ROW(1, 'a b')`, `(1, 2)` in the select list): the record's
    /// text as [`JsonFn::RecordText`] writes it, also when every value is NULL (`(,)`).
    RowText,
}

impl JsonFn {
    /// Whether a NULL argument gives NULL without a call.
    pub fn strict(self) -> bool {
        matches!(
            self,
            JsonFn::To { .. }
                | JsonFn::AggArray { .. }
                | JsonFn::AggObject { .. }
                | JsonFn::Variadic { .. }
                | JsonFn::ArrayToJson
        )
    }

    /// The result type.
    pub fn ty(self) -> SqlType {
        match self {
            JsonFn::To { jsonb: true }
            | JsonFn::BuildObject { jsonb: true }
            | JsonFn::BuildArray { jsonb: true }
            | JsonFn::Variadic { jsonb: true, .. }
            | JsonFn::AggArray { jsonb: true, .. }
            | JsonFn::AggObject { jsonb: true }
            | JsonFn::Record { jsonb: true, .. } => SqlType::Jsonb,
            JsonFn::Item | JsonFn::Pair | JsonFn::RecordText | JsonFn::RowText => SqlType::Text,
            _ => SqlType::Json,
        }
    }
}

fn invalid(msg: impl Into<String>) -> SqlError {
    SqlError::new("22023", msg)
}

fn too_large() -> SqlError {
    SqlError::new("54000", "out of memory").detail("Cannot enlarge string buffer.")
}

fn push_bounded(out: &mut String, s: &str) -> Result<()> {
    if out.len() + s.len() > MAX_JSON_BYTES {
        return Err(too_large());
    }
    out.push_str(s);
    Ok(())
}

/// Whether a number's text output is a JSON number (not NaN or an infinity).
fn is_json_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    s.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
}

/// A timestamp's text in ISO 8601 as json.c's `JsonEncodeDateTime` writes it: `T` between
/// date and time, the offset with its minutes (`+00:00`).
pub(crate) fn iso_timestamp(text: &str, tz: bool) -> String {
    if text.ends_with("infinity") {
        return text.to_string();
    }
    let mut s = text.replacen(' ', "T", 1);
    if tz {
        // The offset is the last `+hh[:mm[:ss]]` or `-hh...` after the time.
        if let Some(at) = s.rfind(['+', '-']).filter(|&at| at > 10) {
            if !s[at..].contains(':') {
                s.push_str(":00");
            }
        }
    }
    s
}

/// Appends a value as JSON. `key`: as an object key (only scalars; always a string).
fn write(out: &mut String, d: &Datum) -> Result<()> {
    match d {
        Datum::Null => out.push_str("null"),
        Datum::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Datum::Int2(_) | Datum::Int4(_) | Datum::Int8(_) | Datum::Float4(_) | Datum::Float8(_) | Datum::Numeric(_) => {
            let t = crate::types::to_text(d).unwrap_or_default();
            if is_json_number(&t) {
                out.push_str(&t);
            } else {
                crate::json::write_string(out, &t);
            }
        }
        Datum::Json(s) | Datum::Jsonb(s) => push_bounded(out, s)?,
        Datum::Timestamp(t) => {
            crate::json::write_string(out, &iso_timestamp(&crate::datetime::format_timestamp(*t, false), false))
        }
        Datum::TimestampTz(t) => {
            crate::json::write_string(out, &iso_timestamp(&crate::datetime::format_timestamp(*t, true), true))
        }
        Datum::Array(a) => write_array(out, a)?,
        other => crate::json::write_string(out, &crate::types::to_text(other).unwrap_or_default()),
    }
    if out.len() > MAX_JSON_BYTES {
        return Err(too_large());
    }
    Ok(())
}

/// An array as json.c's `array_to_json` writes it: nested by dimension, no spaces.
fn write_array(out: &mut String, a: &ArrayValue) -> Result<()> {
    write_array_sep(out, a, ",")
}

/// [`write_array`] with `sep` between the first dimension's elements (array_to_json's pretty
/// form: `",\n "`; inner dimensions always `,`).
fn write_array_sep(out: &mut String, a: &ArrayValue, sep: &str) -> Result<()> {
    if a.dims.is_empty() {
        out.push_str("[]");
        return Ok(());
    }
    let lens: Vec<usize> = a.dims.iter().map(|d| d.len as usize).collect();
    let mut next = 0;
    write_dim(out, a, &lens, &mut next, sep)
}

fn write_dim(out: &mut String, a: &ArrayValue, lens: &[usize], next: &mut usize, sep: &str) -> Result<()> {
    out.push('[');
    for i in 0..lens[0] {
        if i > 0 {
            out.push_str(sep);
        }
        if lens.len() > 1 {
            write_dim(out, a, &lens[1..], next, ",")?;
        } else {
            write(out, a.items.get(*next).unwrap_or(&Datum::Null))?;
            *next += 1;
        }
    }
    out.push(']');
    Ok(())
}

/// An object key: a scalar's text (json.c refuses arrays, composites and JSON as keys).
fn write_key(out: &mut String, d: &Datum, position: usize) -> Result<()> {
    match d {
        Datum::Null => Err(invalid(format!("argument {position} cannot be null")).hint("Object keys should be text.")),
        Datum::Array(_) | Datum::Json(_) | Datum::Jsonb(_) => {
            Err(invalid("key value must be scalar, not array, composite, or json"))
        }
        d => {
            // A key is the value's JSON form as a string (timestamps in ISO 8601).
            let mut v = String::new();
            write(&mut v, d)?;
            match v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(_) => out.push_str(&v),
                None => crate::json::write_string(out, &v),
            }
            Ok(())
        }
    }
}

fn finish(text: String, jsonb: bool) -> Result<Datum> {
    Ok(if jsonb { Datum::Jsonb(crate::json::parse_jsonb(&text)?) } else { Datum::Json(text) })
}

fn items(d: &Datum) -> impl Iterator<Item = &str> {
    let list = match d {
        Datum::Array(a) => a.items.as_slice(),
        _ => &[],
    };
    list.iter().map(|i| match i {
        Datum::Text(s) | Datum::Json(s) => s.as_str(),
        _ => "null",
    })
}

pub fn call(f: JsonFn, args: Vec<Datum>) -> Result<Datum> {
    if f.strict() && args.iter().any(Datum::is_null) {
        return Ok(Datum::Null);
    }
    let mut out = String::new();
    match f {
        JsonFn::Variadic { object, jsonb } => {
            let items = match args.into_iter().next() {
                Some(Datum::Array(a)) => a.items,
                _ => return Err(SqlError::internal("VARIADIC of a non-array")),
            };
            let f = if object { JsonFn::BuildObject { jsonb } } else { JsonFn::BuildArray { jsonb } };
            call(f, items)
        }
        JsonFn::To { jsonb } => {
            write(&mut out, args.first().unwrap_or(&Datum::Null))?;
            finish(out, jsonb)
        }
        JsonFn::BuildObject { jsonb } => {
            if !args.len().is_multiple_of(2) {
                let name = if jsonb { "jsonb_build_object" } else { "json_build_object" };
                return Err(invalid("argument list must have even number of elements")
                    .hint(format!("The arguments of {name}() must consist of alternating keys and values.")));
            }
            out.push('{');
            for (i, pair) in args.chunks(2).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_key(&mut out, &pair[0], 2 * i + 1)?;
                out.push_str(" : ");
                write(&mut out, &pair[1])?;
            }
            out.push('}');
            finish(out, jsonb)
        }
        JsonFn::ArrayToJson => {
            let pretty = matches!(args.get(1), Some(Datum::Bool(true)));
            match args.first() {
                Some(Datum::Array(a)) => write_array_sep(&mut out, a, if pretty { ",\n " } else { "," })?,
                _ => return Err(SqlError::internal("array_to_json of a non-array")),
            }
            Ok(Datum::Json(out))
        }
        JsonFn::Record { jsonb, pretty, missing } => {
            // The missing side of an outer join is a NULL record.
            let args = match missing {
                Missing::Never => &args[..],
                Missing::AllNull if args.chunks(2).all(|p| p.get(1).is_none_or(Datum::is_null)) => {
                    return Ok(Datum::Null)
                }
                Missing::AllNull => &args[..],
                Missing::Key if args.first().is_none_or(Datum::is_null) => return Ok(Datum::Null),
                Missing::Key => &args[1..],
            };
            out.push('{');
            for (i, pair) in args.chunks(2).enumerate() {
                if i > 0 {
                    out.push_str(if pretty { ",\n " } else { "," });
                }
                write_key(&mut out, &pair[0], 2 * i + 1)?;
                out.push(':');
                write(&mut out, pair.get(1).unwrap_or(&Datum::Null))?;
            }
            out.push('}');
            finish(out, jsonb)
        }
        JsonFn::RecordText | JsonFn::RowText => {
            if f == JsonFn::RecordText && args.iter().all(Datum::is_null) {
                return Ok(Datum::Null);
            }
            let out = crate::composites::record_out(&args, crate::types::to_text);
            if out.len() > MAX_JSON_BYTES {
                return Err(too_large());
            }
            Ok(Datum::Text(out))
        }
        JsonFn::BuildArray { jsonb } => {
            out.push('[');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(&mut out, a)?;
            }
            out.push(']');
            finish(out, jsonb)
        }
        JsonFn::Item => {
            write(&mut out, args.first().unwrap_or(&Datum::Null))?;
            Ok(Datum::Text(out))
        }
        JsonFn::Pair => {
            match args.first().unwrap_or(&Datum::Null) {
                Datum::Null => return Err(invalid("field name must not be null")),
                k => write_key(&mut out, k, 1)?,
            }
            out.push_str(" : ");
            write(&mut out, args.get(1).unwrap_or(&Datum::Null))?;
            Ok(Datum::Text(out))
        }
        JsonFn::AggArray { jsonb, nested } => {
            out.push('[');
            for (i, item) in items(&args[0]).enumerate() {
                if i > 0 {
                    // PostgreSQL's json_agg_transfn: the break goes before a non-NULL array or
                    // record only.
                    out.push_str(if nested && !jsonb && item != "null" { ", \n " } else { ", " });
                }
                push_bounded(&mut out, item)?;
            }
            out.push(']');
            finish(out, jsonb)
        }
        JsonFn::AggObject { jsonb } => {
            out.push_str("{ ");
            for (i, pair) in items(&args[0]).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_bounded(&mut out, pair)?;
            }
            out.push_str(" }");
            finish(out, jsonb)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Datum {
        Datum::Text(s.into())
    }

    #[test]
    fn record_text_quotes_as_record_out() {
        let r = call(JsonFn::RecordText, vec![Datum::Int4(1), text(""), text("a b"), text("q\"\\"), Datum::Null]);
        assert_eq!(r.unwrap(), text(r#"(1,"","a b","q""\\",)"#));
        assert_eq!(call(JsonFn::RecordText, vec![Datum::Null, Datum::Null]).unwrap(), Datum::Null);
        assert_eq!(call(JsonFn::RecordText, vec![text("x,y"), text("(")]).unwrap(), text(r#"("x,y","(")"#));
    }

    #[test]
    fn builds_as_postgresql_prints() {
        let obj = call(JsonFn::BuildObject { jsonb: false }, vec![text("a"), Datum::Int4(1), text("b"), Datum::Null]);
        assert_eq!(obj.unwrap(), Datum::Json(r#"{"a" : 1, "b" : null}"#.into()));
        let obj = call(JsonFn::BuildObject { jsonb: true }, vec![text("bb"), Datum::Bool(true), text("a"), text("x")]);
        assert_eq!(obj.unwrap(), Datum::Jsonb(r#"{"a": "x", "bb": true}"#.into()));
        let arr = ArrayValue::from_items(SqlType::Int4, vec![Datum::Int4(1), Datum::Null]);
        let a = call(JsonFn::BuildArray { jsonb: false }, vec![Datum::Array(Box::new(arr)), Datum::Float8(f64::NAN)]);
        assert_eq!(a.unwrap(), Datum::Json(r#"[[1,null], "NaN"]"#.into()));
        assert_eq!(call(JsonFn::To { jsonb: false }, vec![text("a\"\n")]).unwrap(), Datum::Json(r#""a\"\n""#.into()));
    }

    #[test]
    fn refuses_what_postgresql_refuses() {
        let odd = call(JsonFn::BuildObject { jsonb: false }, vec![text("a")]).unwrap_err();
        assert_eq!(odd.code, "22023");
        let null_key = call(JsonFn::BuildObject { jsonb: false }, vec![Datum::Null, Datum::Int4(1)]).unwrap_err();
        assert_eq!(null_key.message, "argument 1 cannot be null");
        assert_eq!(
            call(JsonFn::Pair, vec![Datum::Null, Datum::Int4(1)]).unwrap_err().message,
            "field name must not be null"
        );
    }

    #[test]
    fn timestamps_are_iso_8601() {
        assert_eq!(iso_timestamp("2020-01-01 10:00:00+00", true), "2020-01-01T10:00:00+00:00");
        assert_eq!(iso_timestamp("2020-01-01 10:00:00.5+05:30", true), "2020-01-01T10:00:00.5+05:30");
        assert_eq!(iso_timestamp("2020-01-01 10:00:00", false), "2020-01-01T10:00:00");
    }
}
