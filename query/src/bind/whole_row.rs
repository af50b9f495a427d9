//! Whole-row references: a FROM item's name where a value goes (`SELECT t FROM t`, `SELECT b
//! FROM a JOIN b ON ...`, `b.*::text`, `count(b)`), and row constructors as values. As the
//! argument of to_json / to_jsonb / row_to_json a whole row is bound to [`JsonFn::Record`] over
//! the FROM item's columns, which writes the row as PostgreSQL writes a record
//! (`{"id":1,"name":"x"}`); anywhere else to [`Builtin::WholeRow`], a record of the item's row
//! type: the table's (or view's) own, named for it, or an anonymous record's for a derived
//! table (record shapes: [`crate::composites::shape`]). It is NULL only for an outer join's
//! missing side, which a join's table's primary key column (or row id) tells ([`ItemRow`]). `t IS [NOT] NULL` tests each
//! column, as PostgreSQL tests a row ([`Binder::row_fields`]). A whole-row reference to an
//! enclosing query's FROM item (`SELECT (SELECT t) FROM t`) is an outer reference to that
//! record, computed over the enclosing row (`subquery.rs` `column_or_outer`). `ROW(1, 'a')` is
//! an anonymous record (fields `f1`, `f2`, ...).

use super::{fold, Binder, Scope};
use crate::composites;
use crate::error::Result;
use crate::expr::Expr;
use crate::json_build::{JsonFn, Missing};
use crate::scalar::Builtin;
use orbit_engine::table::{Datum, SqlType};
use sqlparser::ast;

impl Binder<'_> {
    /// `to_json(t)`, `to_jsonb(t)` or `row_to_json(t)` where `t` names a FROM item and no
    /// column: the record built from its columns; None for any other call.
    pub(super) fn whole_row_json(
        &mut self,
        name: &str,
        f: &ast::Function,
        scope: Option<&Scope>,
    ) -> Result<Option<Expr>> {
        let jsonb = match name {
            "to_json" | "row_to_json" => false,
            "to_jsonb" => true,
            _ => return Ok(None),
        };
        let ast::FunctionArguments::List(l) = &f.args else { return Ok(None) };
        if l.duplicate_treatment.is_some() || !l.clauses.is_empty() {
            return Ok(None);
        }
        let arg = |i: usize| match l.args.get(i) {
            Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))) => Some(e),
            _ => None,
        };
        let Some(e) = arg(0) else { return Ok(None) };
        let is_row = match e {
            ast::Expr::Identifier(id) => whole_row_columns(scope, &fold(id)).is_some(),
            e => super::row_compare::row_elements(e).is_some(),
        };
        if !is_row {
            return Ok(None);
        }
        // row_to_json(record, pretty): the fields one to a line when pretty is true.
        let pretty = match (name, l.args.len(), arg(1)) {
            (_, 1, _) => false,
            ("row_to_json", 2, Some(p)) => match self.expr(p, scope)? {
                Expr::Const(Datum::Bool(b), _) => b,
                Expr::Const(Datum::Null, _) => return Ok(Some(Expr::Const(Datum::Null, SqlType::Json))),
                e if matches!(e.ty(), SqlType::Unknown) => {
                    match self.coerce(e, SqlType::Bool, super::CastContext::Implicit, |_| {
                        crate::error::SqlError::internal("pretty")
                    })? {
                        Expr::Const(Datum::Bool(b), _) => b,
                        _ => return Ok(None),
                    }
                }
                _ => {
                    return Err(crate::error::SqlError::unsupported(
                        "row_to_json(record, pretty) with a pretty flag that is not a constant is not supported",
                    ))
                }
            },
            _ => return Ok(None),
        };
        // A row constructor's fields are f1, f2, ... (an anonymous record's column names).
        if let Some(items) = super::row_compare::row_elements(e) {
            let mut args = Vec::with_capacity(items.len() * 2);
            for (i, x) in items.iter().enumerate() {
                args.push(Expr::Const(Datum::Text(format!("f{}", i + 1)), SqlType::Text));
                let v = self.expr(x, scope)?;
                let v = if v.ty() == SqlType::Unknown {
                    self.coerce(v, SqlType::Text, super::CastContext::Implicit, |_| {
                        crate::error::SqlError::internal("row field")
                    })?
                } else {
                    v
                };
                args.push(super::temporal::shown_in_zone(v, true));
            }
            let f = JsonFn::Record { jsonb, pretty, missing: Missing::Never };
            return Ok(Some(Expr::Call(Builtin::Json(f), args, f.ty())));
        }
        let ast::Expr::Identifier(id) = e else { return Ok(None) };
        Ok(whole_row_record(scope, &fold(id), jsonb).map(|r| match r {
            Expr::Call(Builtin::Json(JsonFn::Record { jsonb, missing, .. }), args, ty) => {
                Expr::Call(Builtin::Json(JsonFn::Record { jsonb, pretty, missing }), args, ty)
            }
            other => other,
        }))
    }
}

/// The columns of the FROM item `alias` names in `scope` (with their names), when `alias` is
/// no column's name there (a column of that name wins, as in PostgreSQL).
pub(super) fn whole_row_columns(scope: Option<&Scope>, alias: &str) -> Option<Vec<(String, Expr)>> {
    item_columns(scope, alias, false)
}

/// [`whole_row_columns`]; with `star` (written `alias.*`) also where a column has that name.
/// Whether `scope` has a FROM item named `alias` (for `alias.*`).
pub(super) fn scope_has_item(scope: &Scope, alias: &str) -> bool {
    item_columns(Some(scope), alias, true).is_some()
}

pub(super) fn item_columns(scope: Option<&Scope>, alias: &str, star: bool) -> Option<Vec<(String, Expr)>> {
    item_row(scope, alias, star).map(|r| r.columns)
}

/// A FROM item's row as a whole-row reference reads it.
pub(super) struct ItemRow {
    /// Its row type's name: a table's or view's catalog name, or [`composites::ANONYMOUS`].
    name: String,
    columns: Vec<(String, Expr)>,
    /// Whether the row is there: always (the item is the FROM clause's only one), or where a
    /// primary key column is not NULL (a table of a join, which an outer join may leave
    /// out); None where nothing tells, and a row of NULLs is taken for a missing one.
    present: Option<Expr>,
}

/// [`item_columns`], with the name of the item's row type: the catalog name of the table or
/// view it reads, [`composites::ANONYMOUS`] for a derived table or a join's USING alias.
pub(super) fn item_row(scope: Option<&Scope>, alias: &str, star: bool) -> Option<ItemRow> {
    let scope = scope?;
    let always = Expr::Const(Datum::Bool(true), SqlType::Bool);
    let (def, off) = match &scope.joined {
        None => {
            if scope.alias != alias || (!star && scope.def.columns.iter().any(|c| c.name == alias)) {
                return None;
            }
            (scope.def, 0)
        }
        Some(js) => {
            if let Some((_, cols)) = js.using_aliases.iter().find(|(a, _)| a == alias) {
                return Some(ItemRow { name: composites::ANONYMOUS.to_string(), columns: cols.clone(), present: None });
            }
            let named_column = js.merged.iter().any(|(n, _)| *n == alias)
                || js.tables.iter().any(|(d, _, _)| d.columns.iter().any(|c| c.name == alias));
            let (def, _, off) = js.tables.iter().find(|(_, a, _)| *a == alias)?;
            if named_column && !star {
                return None;
            }
            (def.as_ref(), *off)
        }
    };
    let columns = crate::catalog_star::star_columns(def)
        .into_iter()
        .map(|i| (def.columns[i].name.clone(), Expr::Column(off + i, def.columns[i].ty)))
        .collect();
    let relation = def.oid != 0 && super::lookup_table(&def.name).is_some_and(|d| d.oid == def.oid);
    let name = if relation { def.name.clone() } else { composites::ANONYMOUS.to_string() };
    // A join's table without a primary key: its hidden row id, in the slot after its columns.
    let row_id = off + def.columns.len();
    let present = match (&scope.joined, def.pk.first()) {
        (None, _) => Some(always),
        (Some(_), Some(&k)) if relation => Some(Expr::Column(off + k, def.columns[k].ty)),
        (Some(_), None) if relation && scope.def.columns.get(row_id).is_some_and(|c| c.name == "\0rowid") => {
            Some(Expr::Column(row_id, SqlType::Int8))
        }
        _ => None,
    };
    Some(ItemRow { name, columns, present })
}

/// A whole-row reference as a JSON object (to_json(t), json_agg(t)), or None when `alias`
/// names no FROM item of `scope` (or names a column).
pub(super) fn whole_row_record(scope: Option<&Scope>, alias: &str, jsonb: bool) -> Option<Expr> {
    let row = item_row(scope, alias, false)?;
    let mut args = Vec::with_capacity(row.columns.len() * 2 + 1);
    let missing = match row.present {
        Some(Expr::Const(..)) => Missing::Never,
        Some(key) => {
            args.push(key);
            Missing::Key
        }
        None => Missing::AllNull,
    };
    for (n, e) in row.columns {
        args.push(Expr::Const(Datum::Text(n), SqlType::Text));
        args.push(super::temporal::shown_in_zone(e, true));
    }
    let f = JsonFn::Record { jsonb, pretty: false, missing };
    Some(Expr::Call(Builtin::Json(f), args, f.ty()))
}

/// A whole-row reference outside to_json: a record of the item's row type
/// ([`Builtin::WholeRow`]), or None when `alias` names no FROM item of `scope` (or names a
/// column).
pub(super) fn whole_row_value(scope: Option<&Scope>, alias: &str) -> Result<Option<Expr>> {
    item_row(scope, alias, false).map(whole_row).transpose()
}

/// `alias.*` as a value: its whole row, also where a column is named `alias` (the `.*` says
/// the FROM item), or None when `alias` names no FROM item of `scope`.
pub(super) fn star_value(scope: Option<&Scope>, alias: &str) -> Result<Option<Expr>> {
    item_row(scope, alias, true).map(whole_row).transpose()
}

fn whole_row(row: ItemRow) -> Result<Expr> {
    let shape = row.columns.iter().map(|(n, e)| (n.clone(), e.ty())).collect();
    let oid = composites::shape(&row.name, shape)?;
    let fields: Vec<Expr> = row.columns.into_iter().map(|(_, e)| e).collect();
    Ok(match row.present {
        Some(Expr::Const(..)) => Expr::Call(Builtin::MakeRecord(oid), fields, SqlType::Composite(oid)),
        Some(key) => {
            let args = std::iter::once(key).chain(fields).collect();
            Expr::Call(Builtin::KeyedRow(oid), args, SqlType::Composite(oid))
        }
        None => Expr::Call(Builtin::WholeRow(oid), fields, SqlType::Composite(oid)),
    })
}

impl Binder<'_> {
    /// The fields of `e` bound, when it is a row: a row constructor, or a whole-row reference
    /// to a FROM item of `scope` (None for anything else).
    pub(super) fn row_fields(&mut self, e: &ast::Expr, scope: Option<&Scope>) -> Result<Option<Vec<Expr>>> {
        if let Some(items) = super::row_compare::row_elements(e) {
            return items.iter().map(|x| self.expr(x, scope)).collect::<Result<Vec<_>>>().map(Some);
        }
        Ok(match e {
            ast::Expr::Nested(inner) => return self.row_fields(inner, scope),
            ast::Expr::Identifier(id) => match whole_row_columns(scope, &fold(id)) {
                Some(c) => Some(c.into_iter().map(|(_, x)| x).collect()),
                // An enclosing level's FROM item, unless a column of this level has the name.
                None if self.column(scope, None, id).is_err() => self.outer_row_fields(&fold(id)),
                None => None,
            },
            // `(t.*)`, as `t.* IS [NOT] NULL` is written for the parser ([`star_cast_syntax`]).
            ast::Expr::QualifiedWildcard(n, _) => match n.0.as_slice() {
                [part] => part
                    .as_ident()
                    .and_then(|id| item_columns(scope, &fold(id), true))
                    .map(|c| c.into_iter().map(|(_, x)| x).collect()),
                _ => None,
            },
            _ => None,
        })
    }

    /// A row constructor as a value (`ROW(1, 'x')`, `(a, b)`; comparisons of rows are rewritten
    /// before binding, `bind/row_compare.rs`): an anonymous record, its fields `f1`, `f2`, ...
    /// of its arguments' types (an untyped literal's or NULL's `unknown`). A cast or an
    /// assignment to a composite type takes its fields instead (`bind/composites.rs`).
    pub(super) fn row_value(&mut self, items: &[&ast::Expr], scope: Option<&Scope>) -> Result<Expr> {
        let mut args = Vec::with_capacity(items.len());
        for e in items {
            // `t.*` inside ROW(...) is t's columns, each a field (PostgreSQL expands it).
            if let ast::Expr::QualifiedWildcard(n, _) = e {
                if let [part] = n.0.as_slice() {
                    if let Some(cols) = part.as_ident().and_then(|id| item_columns(scope, &fold(id), true)) {
                        args.extend(cols.into_iter().map(|(_, x)| x));
                        continue;
                    }
                }
            }
            // An untyped literal or NULL stays untyped (PostgreSQL's `unknown` field): a cast
            // or assignment to a composite type reads it as its field's type, a common record
            // type (VALUES, UNION) gives it the other rows' field type.
            let x = self.expr(e, scope)?;
            args.push(x);
        }
        // PostgreSQL's MaxTupleAttributeNumber.
        if args.len() > 1664 {
            return Err(crate::error::SqlError::new(
                crate::error::code::PROGRAM_LIMIT_EXCEEDED,
                "ROW expressions can have at most 1664 entries",
            ));
        }
        let types: Vec<SqlType> = args.iter().map(Expr::ty).collect();
        let oid = composites::anonymous(&types)?;
        Ok(Expr::Call(Builtin::MakeRecord(oid), args, SqlType::Composite(oid)))
    }
}

/// ROW(...)'s arguments when one is `t.*`, each `t.*` as an expression ([`Binder::row_value`]
/// expands it into t's columns); None when there is none (or an argument of another form).
pub(super) fn row_star_args(f: &ast::Function) -> Option<Vec<ast::Expr>> {
    let ast::FunctionArguments::List(l) = &f.args else { return None };
    if l.duplicate_treatment.is_some() || !l.clauses.is_empty() {
        return None;
    }
    let mut star = false;
    let args = l
        .args
        .iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) => Some(x.clone()),
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::QualifiedWildcard(n)) => {
                star = true;
                Some(ast::Expr::QualifiedWildcard(
                    n.clone(),
                    sqlparser::ast::helpers::attached_token::AttachedToken::empty(),
                ))
            }
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    star.then_some(args)
}

/// `f` with each argument `t.*` written `t`, the whole row of `t`, as PostgreSQL reads it
/// (`count(t.*)` counts the rows where `t` is not NULL-extended); None when it has none.
pub(super) fn star_arguments(f: &ast::Function) -> Option<ast::Function> {
    let ast::FunctionArguments::List(l) = &f.args else { return None };
    let star = |a: &ast::FunctionArg| match a {
        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::QualifiedWildcard(n)) => match n.0.as_slice() {
            [part] => part.as_ident().cloned(),
            _ => None,
        },
        _ => None,
    };
    if !l.args.iter().any(|a| star(a).is_some()) {
        return None;
    }
    let mut g = f.clone();
    if let ast::FunctionArguments::List(l) = &mut g.args {
        for a in &mut l.args {
            if let Some(id) = star(a) {
                *a = ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(ast::Expr::Identifier(id)));
            }
        }
    }
    Some(g)
}

/// `t.*` where a value goes (`t.*::text`, `(t.*)`): the whole row of `t`.
pub(super) fn qualified_star(scope: Option<&Scope>, name: &ast::ObjectName) -> Result<Expr> {
    let alias = match name.0.as_slice() {
        [part] => part.as_ident().map(fold),
        _ => None,
    };
    let found = match alias.as_deref() {
        Some(a) => star_value(scope, a)?,
        None => None,
    };
    found.ok_or_else(|| {
        crate::error::SqlError::new(
            crate::error::code::UNDEFINED_TABLE,
            format!("missing FROM-clause entry for table \"{}\"", alias.unwrap_or_else(|| name.to_string())),
        )
    })
}

/// At `tokens[i]`: `t.*::` or `t.* IS` (sqlparser takes `t.*` only as a whole select item)
/// written as `(t.*)::` / `(t.*) IS`, and the index of the `::` or IS token; None elsewhere.
pub(super) fn star_cast_syntax(tokens: &[sqlparser::tokenizer::Token], i: usize) -> Option<(String, usize)> {
    use sqlparser::tokenizer::Token;
    let Token::Word(_) = tokens.get(i)? else { return None };
    let solid: Vec<usize> =
        (i + 1..tokens.len()).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).take(3).collect();
    let [dot, star, cast] = solid[..] else { return None };
    let is = matches!(&tokens[cast], Token::Word(w) if w.keyword == sqlparser::keywords::Keyword::IS);
    if tokens[dot] != Token::Period || tokens[star] != Token::Mul || (tokens[cast] != Token::DoubleColon && !is) {
        return None;
    }
    // Not a qualified name's last part (`s.t.*::text` is left to the parser's error).
    if i > 0 && tokens[i - 1] == Token::Period {
        return None;
    }
    Some((format!("({}.*)", tokens[i]), cast))
}

/// The name of the call `(x).*` is written as for the parser ([`field_star_syntax`]): a
/// control character starts it, so no client writes it.
pub(super) const FIELD_STAR: &str = "\u{1}fields";

/// At `tokens[i]`, a select item `(x).*` (after SELECT, DISTINCT, ALL or a comma): written
/// `"<FIELD_STAR>"(x)`, which the select list expands into x's fields, and the index after
/// the `*`; None elsewhere. sqlparser's PostgreSQL dialect does not read `(x).*`.
pub(super) fn field_star_syntax(tokens: &[sqlparser::tokenizer::Token], i: usize) -> Option<(String, usize)> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::Token;
    if tokens.get(i)? != &Token::LParen {
        return None;
    }
    let before = (0..i).rev().find(|&j| !matches!(tokens[j], Token::Whitespace(_)))?;
    let starts_item = match &tokens[before] {
        Token::Comma => true,
        Token::Word(w) => matches!(w.keyword, Keyword::SELECT | Keyword::DISTINCT | Keyword::ALL),
        _ => false,
    };
    if !starts_item {
        return None;
    }
    let mut depth = 0usize;
    let close = (i..tokens.len()).find(|&j| {
        match tokens[j] {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            _ => {}
        }
        depth == 0
    })?;
    let solid: Vec<usize> =
        (close + 1..tokens.len()).filter(|&j| !matches!(tokens[j], Token::Whitespace(_))).take(2).collect();
    let [dot, star] = solid[..] else { return None };
    if tokens[dot] != Token::Period || tokens[star] != Token::Mul {
        return None;
    }
    let inner: String = tokens[i + 1..close].iter().map(ToString::to_string).collect();
    Some((format!("\"{FIELD_STAR}\"({inner})"), star + 1))
}

impl Binder<'_> {
    /// A select item `(x).*` ([`field_star_syntax`]): x's fields, each named for its field, x
    /// bound once; None for any other item. 42809 where x is not of a composite type.
    pub(super) fn field_star(&mut self, e: &ast::Expr, scope: Option<&Scope>) -> Result<Option<Vec<(String, Expr)>>> {
        let ast::Expr::Function(f) = e else { return Ok(None) };
        let [part] = f.name.0.as_slice() else { return Ok(None) };
        if part.as_ident().is_none_or(|id| id.value != FIELD_STAR) {
            return Ok(None);
        }
        let ast::FunctionArguments::List(l) = &f.args else { return Ok(None) };
        let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arg))] = l.args.as_slice() else {
            return Ok(None);
        };
        let x = self.expr(arg, scope)?;
        let SqlType::Composite(oid) = x.ty() else {
            return Err(crate::error::SqlError::new(
                crate::error::code::WRONG_OBJECT_TYPE,
                format!("type {} is not composite", x.ty().name()),
            ));
        };
        let fields = composites::fields_of(oid)?;
        Ok(Some(fields.into_iter().enumerate().map(|(i, fd)| (fd.name, field_of(&x, i, fd.ty))).collect()))
    }
}

/// Field `i` (of type `ty`) of record `x`: the argument itself where `x` is a row built here
/// (`(t).a` is t's column a, as PostgreSQL's parser makes it), else a field selection.
pub(super) fn field_of(x: &Expr, i: usize, ty: SqlType) -> Expr {
    match x {
        Expr::Call(Builtin::WholeRow(_) | Builtin::MakeRecord(_), args, _) if args.len() > i && args[i].ty() == ty => {
            args[i].clone()
        }
        Expr::Call(Builtin::KeyedRow(_), args, _) if args.len() > i + 1 && args[i + 1].ty() == ty => {
            args[i + 1].clone()
        }
        _ => Expr::Call(Builtin::RecordField(i), vec![x.clone()], ty),
    }
}
