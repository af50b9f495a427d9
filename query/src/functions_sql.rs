//! SQL-language functions (`CREATE FUNCTION ... LANGUAGE sql`, PostgreSQL's xfunc-sql): their
//! catalog entries, found by name and argument types as PostgreSQL's function look-up finds
//! them, and their pg_proc rows.
//!
//! A function is a catalog entry as a domain or an enum type is ([`crate::catalog_types`]): a
//! [`TableDef`] named `\u{8}<name>(<argument type OIDs>)` ([`MARK`]) on every shard, created,
//! swapped (CREATE OR REPLACE) and dropped through the same log records, snapshots, DDL steps
//! and ROLLBACK undo as a table (`exec/functions.rs`). Its columns are the arguments (named
//! `in:<name>`, the DEFAULT's SQL text as the column's default), then the result: one `ret:`
//! column holding the return type (none for a set of rows: `record`), and for `RETURNS TABLE (...)` / `RETURNS SETOF <table>` one
//! `out:<name>` column per result column. Its one CHECK named [`BODY`] holds the body's SQL
//! text (prosrc); the CHECK named [`FLAGS`] holds `<volatility><strict><setof>` (`v0 1`-like
//! letters: provolatile, then `1`/`0`). `pk_name` holds the function's OID once a definition
//! has been swapped in (empty: the entry's relation OID is the function's).
//!
//! A call is bound by inlining the body (`bind/sql_functions.rs`): nothing here runs per row.

use crate::catalog_types;
use orbit_engine::table::{CheckDef, ColumnDef, Datum, SqlType, TableDef};
use std::cell::RefCell;
use std::sync::Arc;

/// The first character of a function's catalog entry.
pub const MARK: char = '\u{8}';

/// The CHECK holding the body's text.
pub const BODY: &str = "body";
/// The CHECK holding volatility, strictness and whether it returns a set.
pub const FLAGS: &str = "flags";

/// The CHECK holding COST, ROWS and LEAKPROOF (`<cost> <rows> <0|1>`) when any is not the
/// default.
pub const OPTIONS: &str = "options";

/// A function's COST, ROWS and LEAKPROOF.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Options {
    /// procost (None: the default, 100).
    pub cost: Option<f32>,
    /// prorows (None: the default, 1000 for a set-returning function, else 0).
    pub rows: Option<f32>,
    pub leakproof: bool,
}

impl Options {
    pub fn cost(&self) -> f32 {
        self.cost.unwrap_or(100.0)
    }

    pub fn rows(&self, setof: bool) -> f32 {
        self.rows.unwrap_or(if setof { 1000.0 } else { 0.0 })
    }
}

/// PostgreSQL's OID of language `sql` (pg_language).
pub const LANG_SQL: u32 = 14;

/// Whether a catalog name is a function's entry.
pub fn is_entry(name: &str) -> bool {
    name.starts_with(MARK)
}

/// One argument.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// Its name ("" when it has none).
    pub name: String,
    pub ty: SqlType,
    /// Its DEFAULT as SQL text.
    pub default: Option<String>,
}

/// A SQL function as its catalog entry holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlFunction {
    pub oid: u32,
    /// Its catalog name (`s.f`, or `f` in public).
    pub name: String,
    pub args: Vec<Arg>,
    /// The return type (for a set of rows of several columns, [`SqlType::Unknown`]: `record`).
    pub ret: SqlType,
    /// `RETURNS TABLE (...)` / `RETURNS SETOF <table>`: the result's columns.
    pub out: Vec<(String, SqlType)>,
    /// `RETURNS SETOF` (or TABLE).
    pub setof: bool,
    /// provolatile: `i`, `s` or `v`.
    pub volatility: char,
    pub strict: bool,
    /// The body's SQL text (prosrc).
    pub body: String,
    /// The relation OID of the entry it was read from (0 for one not read from the catalog).
    pub rel_oid: u32,
    /// `RETURNS [SETOF] record` without OUT parameters: each call says the columns, by a
    /// column definition list in FROM (`f() AS t(a int, b text)`); in a select list the
    /// body's row as an anonymous record. `ret` is then `unknown`.
    pub record: bool,
    /// `LANGUAGE plpgsql` ([`crate::plpgsql`]): called, not inlined (a fifth FLAGS letter
    /// `p`).
    pub plpgsql: bool,
    /// `RETURNS trigger` (a sixth FLAGS letter `t`): called only by triggers
    /// ([`crate::triggers`]); `ret` is then `void`.
    pub trigger: bool,
    /// A PL/pgSQL function's one OUT (or INOUT) parameter, whose value it returns (`ret` its
    /// type; a column `one:<name>`). Several are `out`.
    pub single_out: Option<String>,
    /// A procedure (`CREATE PROCEDURE`, run by CALL; prokind `p`, a seventh FLAGS letter `c`):
    /// `ret` is `void`, or its OUT parameters give CALL's one row.
    pub procedure: bool,
    /// COST, ROWS and [NOT] LEAKPROOF (procost, prorows, proleakproof): kept for pg_proc in
    /// the CHECK named [`OPTIONS`] when not the defaults; Orbit's planner does not read them.
    pub options: Options,
}

impl SqlFunction {
    /// The entry's name: the function's catalog name and its argument types.
    pub fn entry_name(name: &str, types: &[SqlType]) -> String {
        let oids: Vec<String> = types.iter().map(|t| t.oid().to_string()).collect();
        format!("{MARK}{name}({})", oids.join(","))
    }

    /// The function a catalog entry describes (None for another entry).
    pub fn of_def(def: &TableDef) -> Option<SqlFunction> {
        let rest = def.name.strip_prefix(MARK)?;
        let name = &rest[..rest.find('(')?];
        let oid = catalog_types::type_oid(def)?;
        let mut f = SqlFunction {
            oid,
            name: name.to_string(),
            args: Vec::new(),
            ret: SqlType::Unknown,
            out: Vec::new(),
            setof: false,
            volatility: 'v',
            strict: false,
            body: String::new(),
            rel_oid: def.oid,
            record: false,
            plpgsql: false,
            trigger: false,
            single_out: None,
            procedure: false,
            options: Options::default(),
        };
        for c in &def.columns {
            if let Some(n) = c.name.strip_prefix("in:") {
                f.args.push(Arg { name: n.to_string(), ty: c.ty, default: c.default_expr.clone() });
            } else if let Some(n) = c.name.strip_prefix("out:") {
                f.out.push((n.to_string(), c.ty));
            } else if c.name == "ret:" {
                f.ret = c.ty;
            } else if let Some(n) = c.name.strip_prefix("one:") {
                f.single_out = Some(n.to_string());
            }
        }
        for c in &def.checks {
            if c.name == BODY {
                f.body = c.expr.clone();
            } else if c.name == FLAGS {
                let b = c.expr.as_bytes();
                f.volatility = b.first().map_or('v', |&x| x as char);
                f.strict = b.get(1) == Some(&b'1');
                f.setof = b.get(2) == Some(&b'1');
                f.record = b.get(3) == Some(&b'r');
                f.plpgsql = b.get(4) == Some(&b'p');
                f.trigger = b.get(5) == Some(&b't');
                f.procedure = b.get(6) == Some(&b'c');
            } else if c.name == OPTIONS {
                let mut parts = c.expr.split(' ');
                let mut number = || parts.next().and_then(|x| x.parse::<f32>().ok()).filter(|v| *v > 0.0);
                f.options.cost = number();
                f.options.rows = number();
                f.options.leakproof = c.expr.ends_with(" 1");
            }
        }
        Some(f)
    }

    /// Its catalog entry (the relation OID is given when it is created).
    pub fn to_def(&self) -> TableDef {
        let mut columns: Vec<ColumnDef> = self
            .args
            .iter()
            .map(|a| ColumnDef { default_expr: a.default.clone(), ..ColumnDef::new(format!("in:{}", a.name), a.ty) })
            .collect();
        // A set of rows has no return type of its own (`record`, which no column can hold).
        if !self.returns_rows() {
            columns.push(ColumnDef::new("ret:", self.ret));
        }
        columns.extend(self.out.iter().map(|(n, t)| ColumnDef::new(format!("out:{n}"), *t)));
        if let Some(n) = &self.single_out {
            columns.push(ColumnDef::new(format!("one:{n}"), self.ret));
        }
        // Letters by position, `-` for one not set (trailing ones left out).
        let letter = |on: bool, c: char| if on { c } else { '-' };
        let mut flags = format!(
            "{}{}{}{}{}{}{}",
            self.volatility,
            self.strict as u8,
            self.setof as u8,
            letter(self.record, 'r'),
            letter(self.plpgsql, 'p'),
            letter(self.trigger, 't'),
            letter(self.procedure, 'c'),
        );
        while flags.ends_with('-') {
            flags.pop();
        }
        let mut checks = vec![CheckDef::new(BODY, self.body.clone()), CheckDef::new(FLAGS, flags)];
        if self.options != Options::default() {
            let o = &self.options;
            let number = |v: Option<f32>| v.map_or_else(|| "0".to_string(), |v| v.to_string());
            let expr = format!("{} {} {}", number(o.cost), number(o.rows), o.leakproof as u8);
            checks.push(CheckDef::new(OPTIONS, expr));
        }
        TableDef {
            name: Self::entry_name(&self.name, &self.arg_types()),
            columns,
            pk_name: if self.oid == 0 { String::new() } else { self.oid.to_string() },
            checks,
            ..TableDef::default_empty()
        }
    }

    pub fn arg_types(&self) -> Vec<SqlType> {
        self.args.iter().map(|a| a.ty).collect()
    }

    /// How many arguments a call must give (those without DEFAULT before the last one).
    pub fn required(&self) -> usize {
        self.args.iter().rposition(|a| a.default.is_none()).map_or(0, |i| i + 1)
    }

    /// `name(type, ...)` as PostgreSQL's messages print a function (bare name when visible).
    pub fn signature(&self) -> String {
        let types: Vec<String> = self.args.iter().map(|a| crate::bind::type_display(a.ty)).collect();
        format!("{}({})", crate::enums::display_name(&self.name), types.join(", "))
    }

    /// Whether it returns rows of several columns (TABLE, SETOF a table).
    pub fn returns_rows(&self) -> bool {
        !self.out.is_empty()
    }
}

/// CREATE / DROP FUNCTION as bound.
#[derive(Debug, Clone)]
pub enum FunctionPlan {
    /// `CREATE [OR REPLACE] FUNCTION`: the function (its OID unset).
    Create { f: SqlFunction, or_replace: bool },
    /// `DROP FUNCTION` (or `procedures`: DROP PROCEDURE): the entries of the functions found,
    /// and the NOTICEs of those IF EXISTS skipped.
    Drop { entries: Vec<String>, skipped: Vec<String>, procedures: bool },
}

/// The functions of catalog name `name` (every overload), as the binder sees the catalog
/// (not another open block's creations), in OID order.
pub fn by_name(name: &str) -> Vec<Arc<SqlFunction>> {
    let mut out: Vec<Arc<SqlFunction>> = crate::catalog_types::bound_with_prefix(&format!("{MARK}{name}("))
        .iter()
        .filter_map(|d| SqlFunction::of_def(d).map(Arc::new))
        .collect();
    out.sort_by_key(|f| f.oid);
    out
}

/// The functions a (possibly schema-qualified) name names: those of the first schema along
/// the search path that has any (PostgreSQL looks in every schema of the path and prefers the
/// earlier one among equally good candidates; functions living in one schema each is the
/// common case this keeps).
pub fn resolve(parts: &[String]) -> Vec<Arc<SqlFunction>> {
    match parts {
        [f] => {
            let mut out = Vec::new();
            for s in crate::schema::path() {
                out.extend(by_name(&crate::schema::qualify(&s, f)));
            }
            out
        }
        [schema, f] => by_name(&crate::schema::qualify(schema, f)),
        _ => Vec::new(),
    }
}

/// Every function in this shard's catalog copy, in OID order; those another open block created
/// are left out for transaction `me` (pg_proc's rows).
pub fn all_seen_by(me: Option<orbit_shards::rowlock::Owner>) -> Vec<Arc<SqlFunction>> {
    let mut out: Vec<Arc<SqlFunction>> = orbit_shards::state::with_shard(|s| {
        let prefix = MARK.to_string();
        s.tables
            .names_from(&prefix)
            .take_while(|n| is_entry(n))
            .filter(|n| !n.contains(crate::exec::undo::HIDDEN))
            .filter(|n| me.is_none_or(|me| s.tables.get(n).is_none_or(|t| t.created_by.is_none_or(|o| o == me))))
            .filter_map(|n| s.tables.def(n))
            .filter_map(|d| SqlFunction::of_def(&d).map(Arc::new))
            .collect()
    });
    out.sort_by_key(|f| f.oid);
    out
}

/// The catalog functions that read a SQL function by OID (psql's `\\df`, pg_dump).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoFn {
    /// pg_function_is_visible(oid)
    Visible,
    /// pg_get_function_result(oid)
    Result,
    /// pg_get_function_arguments(oid)
    Arguments,
    /// pg_get_function_identity_arguments(oid)
    IdentityArguments,
    /// pg_get_functiondef(oid)
    Def,
}

thread_local! {
    /// The functions the last look-up by OID saw, with the catalog version it read them at:
    /// read again once the catalog changed, and used as they are by threads whose shard state
    /// is borrowed further up when a row is evaluated.
    static LAST: RefCell<(Option<u64>, Vec<Arc<SqlFunction>>)> = const { RefCell::new((None, Vec::new())) };
}

/// Function `oid` in the local shard's catalog copy.
pub fn by_oid(oid: u32) -> Option<Arc<SqlFunction>> {
    let version = orbit_engine::table::catalog_version();
    let find = |all: &[Arc<SqlFunction>]| all.iter().find(|f| f.oid == oid).cloned();
    if let Some(f) = LAST.with(|l| {
        let l = l.borrow();
        (l.0 == Some(version)).then(|| find(&l.1))
    }) {
        return f;
    }
    let found = crate::catalog_types::local_with_prefix(&MARK.to_string())
        .map(|defs| defs.iter().filter_map(|d| SqlFunction::of_def(d).map(Arc::new)).collect::<Vec<_>>());
    LAST.with(|l| {
        let mut l = l.borrow_mut();
        if let Some(all) = found {
            *l = (Some(version), all);
        }
        find(&l.1)
    })
}

fn type_name(t: SqlType) -> String {
    crate::bind::type_display(t)
}

/// `name type [DEFAULT expr], ...` as pg_get_function_arguments prints the input parameters.
fn arguments(f: &SqlFunction, defaults: bool) -> String {
    let one = |a: &Arg| {
        let mut s = if a.name.is_empty() { type_name(a.ty) } else { format!("{} {}", a.name, type_name(a.ty)) };
        if let (true, Some(d)) = (defaults, &a.default) {
            s.push_str(&format!(" DEFAULT {d}"));
        }
        s
    };
    // An INOUT parameter is an argument whose name is an output's; one OUT parameter follows.
    let inout = |a: &Arg| {
        !a.name.is_empty() && (f.single_out.as_deref() == Some(&a.name) || f.out.iter().any(|o| o.0 == a.name))
    };
    let mut all: Vec<String> =
        f.args.iter().map(|a| if inout(a) { format!("INOUT {}", one(a)) } else { one(a) }).collect();
    if let Some(n) = f.single_out.as_ref().filter(|n| !f.args.iter().any(|a| &a.name == *n)) {
        all.push(format!("OUT {n} {}", type_name(f.ret)));
    }
    all.join(", ")
}

/// The result as pg_get_function_result prints it.
fn result(f: &SqlFunction) -> String {
    if f.returns_rows() {
        let cols: Vec<String> = f.out.iter().map(|(n, t)| format!("{n} {}", type_name(*t))).collect();
        format!("TABLE({})", cols.join(", "))
    } else {
        let ty = if f.record {
            "record".to_string()
        } else if f.trigger {
            "trigger".to_string()
        } else {
            type_name(f.ret)
        };
        if f.setof {
            format!("SETOF {ty}")
        } else {
            ty
        }
    }
}

/// pg_get_functiondef's text.
fn definition(f: &SqlFunction) -> String {
    let (schema, name) = crate::schema::split(&f.name);
    let mut out = format!(
        "CREATE OR REPLACE FUNCTION {}.{}({})\n RETURNS {}\n LANGUAGE {}\n",
        crate::regtypes::quote_ident(schema),
        crate::regtypes::quote_ident(name),
        arguments(f, true),
        result(f),
        if f.plpgsql { "plpgsql" } else { "sql" }
    );
    let mut traits: Vec<String> = Vec::new();
    match f.volatility {
        'i' => traits.push("IMMUTABLE".into()),
        's' => traits.push("STABLE".into()),
        _ => {}
    }
    if f.strict {
        traits.push("STRICT".into());
    }
    if f.options.leakproof {
        traits.push("LEAKPROOF".into());
    }
    if f.options.cost() != 100.0 {
        traits.push(format!("COST {}", printf_g(f.options.cost())));
    }
    let rows = f.options.rows(f.setof);
    if rows > 0.0 && rows != 1000.0 {
        traits.push(format!("ROWS {}", printf_g(rows)));
    }
    if !traits.is_empty() {
        out.push_str(&format!(" {}\n", traits.join(" ")));
    }
    out.push_str(&format!("AS $function${}$function$\n", f.body));
    out
}

/// `v` as C's `%g` prints it (six significant digits; an exponent below -4 or from 6 on in
/// scientific notation), as pg_get_functiondef prints COST and ROWS.
pub fn printf_g(v: f32) -> String {
    let v = v as f64;
    if v == 0.0 || !v.is_finite() {
        return v.to_string();
    }
    let exp = v.abs().log10().floor() as i32;
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if !(-4..6).contains(&exp) {
        let mantissa = trim(format!("{:.5}", v / 10f64.powi(exp)));
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        trim(format!("{:.*}", (5 - exp).max(0) as usize, v))
    }
}

/// What catalog function `kind` says of function `oid` (NULL for an OID no SQL function has).
pub fn info(kind: InfoFn, oid: Option<i64>) -> Datum {
    let Some(f) = oid.and_then(|o| u32::try_from(o).ok()).and_then(by_oid) else { return Datum::Null };
    match kind {
        InfoFn::Visible => {
            let (schema, _) = crate::schema::split(&f.name);
            let parts = [crate::schema::relname(&f.name).to_string()];
            // Found by its bare name: the first schema along the path with that name and
            // argument types is its own.
            let first = resolve(&parts).into_iter().find(|g| g.arg_types() == f.arg_types());
            Datum::Bool(first.is_some_and(|g| g.oid == f.oid) && crate::schema::path().iter().any(|s| s == schema))
        }
        // A procedure has no result type.
        InfoFn::Result if f.procedure => Datum::Null,
        InfoFn::Result => Datum::Text(result(&f)),
        InfoFn::Arguments => Datum::Text(arguments(&f, true)),
        InfoFn::IdentityArguments => Datum::Text(arguments(&f, false)),
        InfoFn::Def => Datum::Text(definition(&f)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_round_trips() {
        let f = SqlFunction {
            oid: 0,
            name: "s.add".into(),
            args: vec![
                Arg { name: "a".into(), ty: SqlType::Int4, default: None },
                Arg { name: "".into(), ty: SqlType::Text, default: Some("'x'".into()) },
            ],
            ret: SqlType::Unknown,
            out: vec![("c".into(), SqlType::Int8)],
            setof: true,
            volatility: 'i',
            strict: true,
            body: "SELECT $1".into(),
            rel_oid: 0,
            record: false,
            plpgsql: false,
            trigger: false,
            single_out: None,
            procedure: false,
            options: Options { cost: Some(0.5), rows: Some(20.0), leakproof: true },
        };
        let mut def = f.to_def();
        assert_eq!(def.name, "\u{8}s.add(23,25)");
        def.oid = 77;
        let back = SqlFunction::of_def(&def).unwrap();
        assert_eq!(back, SqlFunction { oid: 77, rel_oid: 77, ..f.clone() });
        assert_eq!(back.required(), 1);
        let r = SqlFunction { out: vec![], record: true, ..f.clone() };
        let mut def = r.to_def();
        def.oid = 78;
        assert_eq!(SqlFunction::of_def(&def).unwrap(), SqlFunction { oid: 78, rel_oid: 78, ..r });
        let p =
            SqlFunction { plpgsql: true, trigger: true, ret: SqlType::Void, out: vec![], setof: false, ..f.clone() };
        let mut def = p.to_def();
        def.oid = 79;
        assert_eq!(SqlFunction::of_def(&def).unwrap(), SqlFunction { oid: 79, rel_oid: 79, ..p });
    }
}
