//! Binding of the json/jsonb operators `#>`, `#>>`, `?`, `?|`, `?&`, `@>`, `<@`, `-`, `#-`,
//! `||` and the functions jsonb_set, jsonb_insert, jsonb_pretty, json[b]_typeof,
//! json[b]_array_length, json[b]_strip_nulls and json[b]_extract_path[_text] (evaluated by
//! [`crate::json::ops`]), with PostgreSQL's operand types and errors.

use super::{no_function, op_error, Binder};
use crate::error::{code, Result, SqlError};
use crate::expr::Expr;
use crate::json::ops::JsonOpFn;
use crate::json::path_eval::PathFn;
use crate::relation::Source;
use crate::scalar::Builtin;
use crate::types::CastContext;
use orbit_engine::table::{ColumnDef, Datum, SqlType};
use sqlparser::ast::BinaryOperator as B;

fn is_json(t: SqlType) -> bool {
    matches!(t, SqlType::Json | SqlType::Jsonb)
}

fn text_array() -> SqlType {
    SqlType::Text.array_of().expect("text[]")
}

fn call(f: JsonOpFn, args: Vec<Expr>, ty: SqlType) -> Expr {
    Expr::Call(Builtin::JsonOp(f), args, ty)
}

impl Binder<'_> {
    /// `l op r` when it is a json operator (None: not one of them, or not over json).
    pub(super) fn json_binary(&mut self, op: &B, l: Expr, r: Expr) -> Result<Option<Expr>> {
        let (lt, rt) = (l.ty(), r.ty());
        let jsonb_pair = |op: &B| matches!(op, B::AtArrow | B::ArrowAt | B::StringConcat);
        // `'{"a":1}' @> j` with an untyped left side reads it as jsonb too.
        let applies = match op {
            B::HashArrow | B::HashLongArrow | B::Question | B::QuestionPipe | B::QuestionAnd | B::HashMinus => {
                is_json(lt)
            }
            B::Minus => lt == SqlType::Jsonb,
            // json has no @> / <@ (PostgreSQL: operator does not exist); json || text is text's.
            B::AtArrow | B::ArrowAt if lt == SqlType::Json => true,
            // jsonb @? jsonpath, jsonb @@ jsonpath (PostgreSQL has no other @? / @@ over json
            // types; its other @@ are text search's).
            B::AtQuestion | B::AtAt => true,
            _ if jsonb_pair(op) => lt == SqlType::Jsonb || (lt == SqlType::Unknown && rt == SqlType::Jsonb),
            _ => false,
        };
        if !applies {
            return Ok(None);
        }
        let sym = op.to_string();
        let err = move || op_error(lt, &sym, rt);
        let jsonb_only = |b: &mut Binder, e: Expr| b.coerce(e, SqlType::Jsonb, CastContext::Implicit, |_| err());
        Ok(Some(match op {
            B::HashArrow | B::HashLongArrow => {
                let as_text = matches!(op, B::HashLongArrow);
                let r = self.coerce(r, text_array(), CastContext::Implicit, |_| err())?;
                let ty = if as_text { SqlType::Text } else { lt };
                call(JsonOpFn::PathGet { as_text }, vec![l, r], ty)
            }
            B::AtQuestion | B::AtAt => {
                let l = jsonb_only(self, l)?;
                let r = self.coerce(r, SqlType::JsonPath, CastContext::Implicit, |_| err())?;
                let f = if matches!(op, B::AtQuestion) { PathFn::Exists } else { PathFn::Match };
                call(JsonOpFn::Path(f), vec![l, r], SqlType::Bool)
            }
            _ if lt != SqlType::Jsonb && !(lt == SqlType::Unknown && jsonb_pair(op)) => return Err(err()),
            B::Question => {
                let r = self.coerce(r, SqlType::Text, CastContext::Implicit, |_| err())?;
                call(JsonOpFn::Exists, vec![l, r], SqlType::Bool)
            }
            B::QuestionPipe | B::QuestionAnd => {
                let r = self.coerce(r, text_array(), CastContext::Implicit, |_| err())?;
                let f = if matches!(op, B::QuestionPipe) { JsonOpFn::ExistsAny } else { JsonOpFn::ExistsAll };
                call(f, vec![l, r], SqlType::Bool)
            }
            B::AtArrow | B::ArrowAt => {
                let (l, r) = (jsonb_only(self, l)?, jsonb_only(self, r)?);
                let args = if matches!(op, B::AtArrow) { vec![l, r] } else { vec![r, l] };
                call(JsonOpFn::Contains, args, SqlType::Bool)
            }
            B::StringConcat => {
                let (l, r) = (jsonb_only(self, l)?, jsonb_only(self, r)?);
                call(JsonOpFn::Concat, vec![l, r], SqlType::Jsonb)
            }
            B::Minus => {
                let r = match rt {
                    SqlType::Int2 | SqlType::Int4 => self.coerce(r, SqlType::Int4, CastContext::Implicit, |_| err())?,
                    SqlType::Unknown => self.coerce(r, SqlType::Text, CastContext::Implicit, |_| err())?,
                    t if t.is_string() => self.coerce(r, SqlType::Text, CastContext::Implicit, |_| err())?,
                    _ => return Err(err()),
                };
                call(JsonOpFn::Delete, vec![l, r], SqlType::Jsonb)
            }
            B::HashMinus => {
                let r = self.coerce(r, text_array(), CastContext::Implicit, |_| err())?;
                call(JsonOpFn::DeletePath, vec![l, r], SqlType::Jsonb)
            }
            _ => return Ok(None),
        }))
    }

    /// The json functions of this module (None: `name` is none of them).
    pub(super) fn json_function(&mut self, name: &str, bound: &mut Vec<Expr>) -> Result<Option<Expr>> {
        let types: Vec<SqlType> = bound.iter().map(|b| b.ty()).collect();
        let nf = || no_function(name, &types);
        let first_json = |want_jsonb: bool| match types.first() {
            Some(SqlType::Jsonb) => want_jsonb,
            Some(SqlType::Json) => !want_jsonb,
            Some(SqlType::Unknown) => true,
            _ => false,
        };
        let jsonb = name.starts_with("jsonb");
        let doc_ty = if jsonb { SqlType::Jsonb } else { SqlType::Json };
        let e = match name {
            // In a select list: the record (a composite value) populate_record makes of the
            // object, its missing keys the base's fields.
            "json_populate_record" | "jsonb_populate_record" if bound.len() == 2 => {
                let doc = bound.pop().expect("two arguments");
                let base = bound.pop().expect("two arguments");
                let oid = match base.ty() {
                    SqlType::Composite(oid) if !crate::composites::is_anonymous(oid) => oid,
                    _ => {
                        return Err(SqlError::new(
                            code::FEATURE_NOT_SUPPORTED,
                            format!("could not determine row type for result of {name}"),
                        )
                        .hint("Provide a non-null record argument, or call the function in the FROM clause using a column definition list."))
                    }
                };
                let doc = self.coerce(doc, doc_ty, CastContext::Implicit, |_| nf())?;
                let ty = SqlType::Composite(oid);
                let key = Expr::Const(Datum::Text(String::new()), SqlType::Text);
                call(JsonOpFn::Populate { ty }, vec![doc, key, base], ty)
            }
            _ if path_function(name).is_some_and(|f| f != PathFn::Query) => {
                let f = path_function(name).expect("checked");
                let args = self.path_args(name, std::mem::take(bound))?;
                let ty = if matches!(f, PathFn::Exists | PathFn::Match) { SqlType::Bool } else { SqlType::Jsonb };
                call(JsonOpFn::Path(f), args, ty)
            }
            "jsonb_set" | "jsonb_insert" if (3..=4).contains(&bound.len()) && first_json(true) => {
                let mut args = Vec::with_capacity(4);
                let mut it = std::mem::take(bound).into_iter();
                let doc = it.next().expect("3 or 4");
                args.push(self.coerce(doc, SqlType::Jsonb, CastContext::Implicit, |_| nf())?);
                let path = it.next().expect("3 or 4");
                args.push(self.coerce(path, text_array(), CastContext::Implicit, |_| nf())?);
                let new = it.next().expect("3 or 4");
                args.push(self.coerce(new, SqlType::Jsonb, CastContext::Implicit, |_| nf())?);
                let flag = match it.next() {
                    Some(b) => self.coerce(b, SqlType::Bool, CastContext::Implicit, |_| nf())?,
                    // jsonb_set's create_if_missing defaults to true, jsonb_insert's insert_after to false.
                    None => Expr::Const(Datum::Bool(name == "jsonb_set"), SqlType::Bool),
                };
                args.push(flag);
                let f = if name == "jsonb_set" { JsonOpFn::Set } else { JsonOpFn::Insert };
                call(f, args, SqlType::Jsonb)
            }
            // The functions behind jsonb's operators (pg_operator's oprcode), by name.
            "jsonb_contains" | "jsonb_contained" | "jsonb_exists" | "jsonb_exists_any" | "jsonb_exists_all"
            | "jsonb_delete" | "jsonb_delete_path" | "jsonb_concat"
                if bound.len() == 2 && first_json(true) =>
            {
                let mut it = std::mem::take(bound).into_iter();
                let doc = self.coerce(it.next().expect("two"), SqlType::Jsonb, CastContext::Implicit, |_| nf())?;
                let other = it.next().expect("two");
                let ot = other.ty();
                let want = match name {
                    "jsonb_contains" | "jsonb_contained" | "jsonb_concat" => SqlType::Jsonb,
                    "jsonb_exists" => SqlType::Text,
                    "jsonb_delete" if matches!(ot, SqlType::Int2 | SqlType::Int4) => SqlType::Int4,
                    "jsonb_delete" => SqlType::Text,
                    _ => text_array(),
                };
                let takes = ot == SqlType::Unknown
                    || ot == want
                    || (want == SqlType::Text && ot.is_string())
                    || (want == SqlType::Int4 && ot == SqlType::Int2);
                if !takes {
                    return Err(nf());
                }
                let other = self.coerce(other, want, CastContext::Implicit, |_| nf())?;
                match name {
                    "jsonb_contains" => call(JsonOpFn::Contains, vec![doc, other], SqlType::Bool),
                    "jsonb_contained" => call(JsonOpFn::Contains, vec![other, doc], SqlType::Bool),
                    "jsonb_exists" => call(JsonOpFn::Exists, vec![doc, other], SqlType::Bool),
                    "jsonb_exists_any" => call(JsonOpFn::ExistsAny, vec![doc, other], SqlType::Bool),
                    "jsonb_exists_all" => call(JsonOpFn::ExistsAll, vec![doc, other], SqlType::Bool),
                    "jsonb_delete" => call(JsonOpFn::Delete, vec![doc, other], SqlType::Jsonb),
                    "jsonb_delete_path" => call(JsonOpFn::DeletePath, vec![doc, other], SqlType::Jsonb),
                    _ => call(JsonOpFn::Concat, vec![doc, other], SqlType::Jsonb),
                }
            }
            "json_object" | "jsonb_object"
                if (1..=2).contains(&bound.len())
                    && types.iter().all(|t| *t == SqlType::Unknown || *t == text_array()) =>
            {
                let mut args = Vec::with_capacity(2);
                for b in std::mem::take(bound) {
                    args.push(self.coerce(b, text_array(), CastContext::Implicit, |_| nf())?);
                }
                call(JsonOpFn::ObjectFromArrays { jsonb }, args, doc_ty)
            }
            "jsonb_pretty" if bound.len() == 1 && first_json(true) => {
                let d = self.coerce(bound.remove(0), SqlType::Jsonb, CastContext::Implicit, |_| nf())?;
                call(JsonOpFn::Pretty, vec![d], SqlType::Text)
            }
            "json_typeof" | "jsonb_typeof" | "json_array_length" | "jsonb_array_length" | "json_strip_nulls"
            | "jsonb_strip_nulls"
                if bound.len() == 1 && first_json(jsonb) =>
            {
                let d = self.coerce(bound.remove(0), doc_ty, CastContext::Implicit, |_| nf())?;
                let (f, ty) = if name.ends_with("typeof") {
                    (JsonOpFn::Typeof, SqlType::Text)
                } else if name.ends_with("array_length") {
                    (JsonOpFn::ArrayLength, SqlType::Int4)
                } else {
                    (JsonOpFn::StripNulls, doc_ty)
                };
                call(f, vec![d], ty)
            }
            "json_extract_path" | "jsonb_extract_path" | "json_extract_path_text" | "jsonb_extract_path_text"
                if !bound.is_empty() && first_json(jsonb) =>
            {
                let mut it = std::mem::take(bound).into_iter();
                let doc = self.coerce(it.next().expect("non-empty"), doc_ty, CastContext::Implicit, |_| nf())?;
                let mut keys = Vec::new();
                for k in it {
                    if !(k.ty().is_string() || k.ty() == SqlType::Unknown) {
                        return Err(nf());
                    }
                    keys.push(self.coerce(k, SqlType::Text, CastContext::Implicit, |_| nf())?);
                }
                // VARIADIC text[]: the keys as one array.
                let path =
                    Expr::Call(Builtin::Array(crate::array::ArrayFn::Construct(SqlType::Text)), keys, text_array());
                let as_text = name.ends_with("_text");
                let ty = if as_text { SqlType::Text } else { doc_ty };
                call(JsonOpFn::PathGet { as_text }, vec![doc, path], ty)
            }
            _ => return Ok(None),
        };
        Ok(Some(e))
    }
}

/// The SQL/JSON path function `name` is (the `_tz` variants are the same: `.datetime()`,
/// where they differ, is not built).
fn path_function(name: &str) -> Option<PathFn> {
    Some(match name.strip_suffix("_tz").unwrap_or(name) {
        "jsonb_path_exists" => PathFn::Exists,
        "jsonb_path_match" => PathFn::Match,
        "jsonb_path_query" => PathFn::Query,
        "jsonb_path_query_array" => PathFn::QueryArray,
        "jsonb_path_query_first" => PathFn::QueryFirst,
        _ => return None,
    })
}

impl Binder<'_> {
    /// A path function's arguments (target jsonb, path jsonpath, vars jsonb DEFAULT '{}',
    /// silent bool DEFAULT false), the defaults filled in.
    fn path_args(&mut self, name: &str, bound: Vec<Expr>) -> Result<Vec<Expr>> {
        let types: Vec<SqlType> = bound.iter().map(|b| b.ty()).collect();
        let nf = || no_function(name, &types);
        if !(2..=4).contains(&bound.len()) {
            return Err(nf());
        }
        let want = [SqlType::Jsonb, SqlType::JsonPath, SqlType::Jsonb, SqlType::Bool];
        let mut args = Vec::with_capacity(4);
        for (e, ty) in bound.into_iter().zip(want) {
            if e.ty() != ty && e.ty() != SqlType::Unknown {
                return Err(nf());
            }
            args.push(self.coerce(e, ty, CastContext::Implicit, |_| nf())?);
        }
        if args.len() < 3 {
            args.push(Expr::Const(Datum::Jsonb("{}".into()), SqlType::Jsonb));
        }
        if args.len() < 4 {
            args.push(Expr::Const(Datum::Bool(false), SqlType::Bool));
        }
        Ok(args)
    }
}

/// A path function's arguments in PostgreSQL's order when some are named (`target`, `path`,
/// `vars`, `silent`; `silent => true` alone gives vars its default `'{}'`). None: `name` is no
/// path function or no argument is named.
pub(super) fn path_positional<'a>(
    name: &str,
    args: &'a [sqlparser::ast::FunctionArg],
    type_of: &mut dyn FnMut(&sqlparser::ast::Expr) -> Result<SqlType>,
) -> Result<Option<Vec<&'a sqlparser::ast::Expr>>> {
    use sqlparser::ast;
    static DEFAULT_VARS: std::sync::OnceLock<ast::Expr> = std::sync::OnceLock::new();
    let named = super::temporal::named_argument;
    if path_function(name).is_none() || !args.iter().any(|a| named(a).is_some()) {
        return Ok(None);
    }
    let mut slots: [Option<&'a ast::Expr>; 4] = [None; 4];
    let mut positional = 0;
    for a in args {
        match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) if positional < 4 => {
                slots[positional] = Some(e);
                positional += 1;
            }
            a if named(a).is_some() => {
                let (n, e) = named(a).expect("checked");
                let at = match n.as_str() {
                    "target" => 0,
                    "path" => 1,
                    "vars" => 2,
                    "silent" => 3,
                    _ => {
                        // PostgreSQL's message lists the call's arguments as written.
                        let mut shown = Vec::with_capacity(args.len());
                        for a in args {
                            match a {
                                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                                    shown.push(type_of(e)?.name())
                                }
                                a => match named(a) {
                                    Some((n, e)) => shown.push(format!("{n} => {}", type_of(e)?.name())),
                                    None => shown.push("*".into()),
                                },
                            }
                        }
                        return Err(SqlError::new(
                            crate::error::code::UNDEFINED_FUNCTION,
                            format!("function {name}({}) does not exist", shown.join(", ")),
                        )
                        .hint("No function matches the given name and argument types. You might need to add explicit type casts."));
                    }
                };
                if slots[at].is_some() {
                    return Err(SqlError::new(
                        crate::error::code::SYNTAX_ERROR,
                        format!("argument name \"{n}\" used more than once"),
                    ));
                }
                slots[at] = Some(e);
            }
            _ => return Err(SqlError::unsupported(format!("this form of {name}() is not supported"))),
        }
    }
    if slots[3].is_some() && slots[2].is_none() {
        slots[2] = Some(DEFAULT_VARS.get_or_init(|| ast::Expr::Cast {
            kind: ast::CastKind::DoubleColon,
            expr: Box::new(ast::Expr::Value(ast::Value::SingleQuotedString("{}".into()).with_empty_span())),
            data_type: ast::DataType::JSONB,
            format: None,
        }));
    }
    let n = slots.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
    let mut out = Vec::with_capacity(n);
    for s in &slots[..n] {
        match s {
            Some(e) => out.push(*e),
            None => return Err(no_function(name, &[])),
        }
    }
    Ok(Some(out))
}

/// The json set-returning functions: json[b]_array_elements[_text], json[b]_object_keys,
/// json[b]_each[_text], jsonb_path_query[_tz].
pub(super) fn is_json_set(name: &str) -> bool {
    path_function(name) == Some(PathFn::Query)
        || matches!(
            name,
            "json_array_elements"
                | "jsonb_array_elements"
                | "json_array_elements_text"
                | "jsonb_array_elements_text"
                | "json_object_keys"
                | "jsonb_object_keys"
                | "json_each"
                | "jsonb_each"
                | "json_each_text"
                | "jsonb_each_text"
        )
}

/// A FROM function's output column computed as an array (one element per row): the array,
/// the column's default name (empty: the alias's or the function's) and its type.
pub(super) type ArrayColumn = (Expr, &'static str, SqlType);

impl Binder<'_> {
    /// A json set-returning call's rows as arrays, one per output column, with the columns'
    /// names and types (the elements or keys; json[b]_each's keys and values). None: `name`
    /// is not one.
    pub(super) fn json_set_arrays(
        &mut self,
        name: &str,
        args: &[sqlparser::ast::FunctionArg],
        scope: Option<&super::Scope>,
    ) -> Result<Option<Vec<ArrayColumn>>> {
        use sqlparser::ast;
        if !is_json_set(name) {
            return Ok(None);
        }
        if path_function(name) == Some(PathFn::Query) {
            let mut bound = Vec::with_capacity(args.len());
            let positional = path_positional(name, args, &mut |e| self.expr(e, scope).map(|x| x.ty()))?;
            if let Some(exprs) = positional {
                for e in exprs {
                    bound.push(self.expr(e, scope)?);
                }
            } else {
                for a in args {
                    match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => bound.push(self.expr(e, scope)?),
                        _ => return Err(SqlError::unsupported(format!("this form of {name}() is not supported"))),
                    }
                }
            }
            let args = self.path_args(name, bound)?;
            let arr = SqlType::Jsonb.array_of().expect("jsonb[]");
            return Ok(Some(vec![(call(JsonOpFn::Path(PathFn::Query), args, arr), "", SqlType::Jsonb)]));
        }
        let jsonb = name.starts_with("jsonb");
        let doc_ty = if jsonb { SqlType::Jsonb } else { SqlType::Json };
        let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))] = args else {
            return Err(no_function(name, &[]));
        };
        let x = self.expr(e, scope)?;
        let t = x.ty();
        if t != doc_ty && t != SqlType::Unknown {
            return Err(no_function(name, &[t]));
        }
        let x = self.coerce(x, doc_ty, CastContext::Implicit, |_| no_function(name, &[t]))?;
        let as_text = name.ends_with("_text");
        let member = if as_text { SqlType::Text } else { doc_ty };
        let arr = |ty: SqlType| ty.array_of().expect("array type");
        Ok(Some(if name.ends_with("object_keys") {
            vec![(call(JsonOpFn::ObjectKeys, vec![x], arr(SqlType::Text)), "", SqlType::Text)]
        } else if name.contains("_each") {
            vec![
                (call(JsonOpFn::EachKeys { as_text }, vec![x.clone()], arr(SqlType::Text)), "key", SqlType::Text),
                (call(JsonOpFn::EachValues { as_text }, vec![x], arr(member)), "value", member),
            ]
        } else {
            vec![(call(JsonOpFn::Elements { as_text }, vec![x], arr(member)), "value", member)]
        }))
    }
}

/// json[b]_to_record[set] (FROM functions returning `record`, whose columns the column
/// definition list names and types) and json[b]_populate_record[set] (whose columns are the
/// base argument's composite type's fields).
pub(super) fn is_to_record(name: &str) -> bool {
    matches!(
        name,
        "json_to_record"
            | "jsonb_to_record"
            | "json_to_recordset"
            | "jsonb_to_recordset"
            | "json_populate_record"
            | "jsonb_populate_record"
            | "json_populate_recordset"
            | "jsonb_populate_recordset"
    )
}

impl Binder<'_> {
    /// `json[b]_to_record[set](doc) AS alias(col type, ...)` and
    /// `json[b]_populate_record[set](base, doc)` in FROM: the columns, and the rows as one
    /// array per column of each object's value of the column's key (a row per object: the one
    /// object, or each of the array's), each made a value of the column's type as PostgreSQL's
    /// populate_record_field does ([`JsonOpFn::Populate`]), a key the object lacks the base
    /// record's field (NULL for to_record), a domain's constraints checked. to_record requires
    /// a column definition list, as PostgreSQL requires it of a function returning `record`.
    pub(super) fn json_record_relation(
        &mut self,
        name: &str,
        at: Option<usize>,
        args: &[sqlparser::ast::FunctionArg],
        alias: Option<&sqlparser::ast::TableAlias>,
        ordinality: bool,
    ) -> Result<(Vec<ColumnDef>, Source)> {
        use sqlparser::ast;
        let jsonb = name.starts_with("jsonb");
        let set = name.ends_with("recordset");
        let populate = name.contains("populate");
        let doc_ty = if jsonb { SqlType::Jsonb } else { SqlType::Json };
        let mut bound = Vec::with_capacity(args.len());
        for a in args {
            let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) = a else {
                return Err(SqlError::unsupported(format!("named arguments of {name}() are not supported")));
            };
            bound.push(self.expr(e, None)?);
        }
        let types: Vec<SqlType> = bound.iter().map(Expr::ty).collect();
        let (base, doc) = match (populate, bound.len()) {
            (true, 2) => {
                let doc = bound.pop().expect("two arguments");
                (bound.pop(), doc)
            }
            (false, 1) => (None, bound.pop().expect("one argument")),
            _ => return Err(no_function(name, &types)),
        };
        let doc = self.coerce(doc, doc_ty, CastContext::Implicit, |_| no_function(name, &types))?;
        // The columns: the base's type's fields, or the column definition list's.
        let mut columns: Vec<ColumnDef> = Vec::new();
        match &base {
            Some(b) => {
                let SqlType::Composite(oid) = b.ty() else {
                    if b.ty() == SqlType::Unknown {
                        return Err(SqlError::new(
                            code::DATATYPE_MISMATCH,
                            "could not determine polymorphic type because input has type unknown",
                        ));
                    }
                    return Err(SqlError::new(
                        code::DATATYPE_MISMATCH,
                        "first argument of json_populate_record must be a row type",
                    ));
                };
                if crate::composites::is_anonymous(oid) {
                    return Err(SqlError::new(
                        code::FEATURE_NOT_SUPPORTED,
                        format!("{name}() of an anonymous record is not supported"),
                    ));
                }
                columns = crate::composites::fields_of(oid)?;
                let listed = super::subquery::alias_columns(alias, columns.len() + usize::from(ordinality), "table")?;
                for (c, n) in columns.iter_mut().zip(&listed) {
                    c.name = n.clone();
                }
            }
            None => {
                let defined: Vec<&ast::DataType> =
                    alias.map_or(Vec::new(), |a| a.columns.iter().filter_map(|c| c.data_type.as_ref()).collect());
                if defined.is_empty() || alias.is_some_and(|a| defined.len() != a.columns.len()) {
                    return Err(SqlError::new(
                        code::SYNTAX_ERROR,
                        "a column definition list is required for functions returning \"record\"",
                    )
                    .at(at));
                }
                if ordinality {
                    return Err(SqlError::syntax("WITH"));
                }
                for c in alias.map_or(&[][..], |a| a.columns.as_slice()) {
                    if let Some(dt) = &c.data_type {
                        columns.push(ColumnDef::new(super::fold(&c.name), super::sql_type(dt)?));
                    }
                }
            }
        }
        // The key of a field is its name in the type; a renamed column still reads it.
        let keys: Vec<String> = match &base {
            Some(b) => match b.ty() {
                SqlType::Composite(oid) => crate::composites::fields_of(oid)?.into_iter().map(|f| f.name).collect(),
                _ => Vec::new(),
            },
            None => columns.iter().map(|c| c.name.clone()).collect(),
        };
        let members = SqlType::Array(orbit_engine::table::ArrayType::of_oid(doc_ty.oid()));
        let mut arrays = Vec::with_capacity(columns.len());
        let mut values = Vec::with_capacity(columns.len() + 1);
        for (i, (c, key)) in columns.iter().zip(&keys).enumerate() {
            let key = Expr::Const(Datum::Text(key.clone()), SqlType::Text);
            arrays.push(call(JsonOpFn::RecordField { set }, vec![doc.clone(), key.clone()], members));
            let fallback = match &base {
                Some(b) => Expr::Call(crate::scalar::Builtin::RecordField(i), vec![b.clone()], c.ty),
                None => Expr::Const(Datum::Null, c.ty),
            };
            let value = call(JsonOpFn::Populate { ty: c.ty }, vec![Expr::Column(i, doc_ty), key, fallback], c.ty);
            values.push(if c.domain != 0 {
                Expr::Call(crate::scalar::Builtin::DomainCheck(c.domain), vec![value], c.ty)
            } else {
                value
            });
        }
        if ordinality {
            values.push(Expr::Column(columns.len(), SqlType::Int8));
        }
        let zip = Source::Zip { args: arrays, ordinality };
        Ok((columns, Source::Project(Box::new(zip), values)))
    }
}
